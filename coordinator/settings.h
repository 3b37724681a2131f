/* settings.h: dataset settings (fields, questions, metadata, distribution, consolidation) parsed
 * and checked by Argilla's rules, and record validation against them. Pure logic, no I/O. */
#ifndef JURY_SETTINGS_H
#define JURY_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jury_err.h"

/* Parsed, validated dataset settings. Immutable once parsed. */
typedef struct jury_settings jury_settings_t;

/* What annotators read. */
typedef enum {
    JURY_FIELD_TEXT = 0, /* a string */
    JURY_FIELD_CHAT = 1  /* a list of {"role", "content"} turns */
} jury_field_type;

/* What annotators answer; the names are Argilla's. */
typedef enum {
    JURY_QUESTION_TEXT = 0,                  /* "text": free text */
    JURY_QUESTION_RATING = 1,                /* "rating": one integer of `values` */
    JURY_QUESTION_LABEL_SELECTION = 2,       /* "label_selection": one label */
    JURY_QUESTION_MULTI_LABEL_SELECTION = 3, /* "multi_label_selection": a set of labels */
    JURY_QUESTION_RANKING = 4,               /* "ranking": `values` ordered best first */
    JURY_QUESTION_SPAN = 5                   /* "span": labelled character ranges of a text field */
} jury_question_type;

/* Metadata property kinds. */
typedef enum {
    JURY_METADATA_TERMS = 0,   /* a string (or list of strings), optionally from `options` */
    JURY_METADATA_INTEGER = 1, /* an integer within optional min/max */
    JURY_METADATA_FLOAT = 2    /* a number within optional min/max */
} jury_metadata_type;

/* Which pending records annotators get first (distribution.order). */
typedef enum {
    JURY_ORDER_COMPLETE_FIRST = 0, /* "complete_first": records with submitted responses first */
    JURY_ORDER_RANDOM = 1          /* "random": each annotator in an order of its own */
} jury_order;

/* Longest accepted name of a dataset, field, question, metadata property or annotator, in bytes. */
#define JURY_SETTINGS_NAME_MAX 200

/* Most fields, most questions and most metadata properties one dataset may declare (each). */
#define JURY_SETTINGS_ITEMS_MAX 250

/* Longest accepted string record id, in bytes: the store indexes ids as LMDB
 * keys, which are at most 511 bytes (store/jury_store.h, JURY_STORE_EXTID_MAX). */
#define JURY_SETTINGS_ID_MAX 500

/* Longest accepted text answer (suggestion or response), in bytes. */
#define JURY_SETTINGS_TEXT_MAX 65536

/*
 * Parses the settings JSON document in the len bytes at json (need not be
 * NUL-terminated) and checks every rule of the settings format (README,
 * "Dataset settings"). On success stores a new settings object in *out and
 * returns JURY_OK; the caller owns it and must destroy it.
 *
 * On failure returns JURY_EINVAL (a broken rule, bad JSON or invalid UTF-8)
 * or JURY_ENOMEM, leaves *out untouched, and writes a one-line message to err
 * (at most errlen bytes, always NUL-terminated when errlen > 0) of the form
 * "<JSON pointer>: <rule>", e.g.
 * "/questions/1/values: rating values must be 2 to 11 unique integers within 0..10".
 * The caller prefixes the file name.
 */
JURY_MUST_CHECK jury_err jury_settings_parse(jury_settings_t **out, const char *json, size_t len,
                                             char *err, size_t errlen);

/* Destroys *self_p and sets it to NULL. Accepts NULL and an already-NULL *self_p. */
void jury_settings_destroy(jury_settings_t **self_p);

/*
 * Returns the settings as normalised JSON text: every default filled in
 * (titles, required, use_markdown, labels as a {value: title} object, every
 * question's consolidation method, ...), keys in a fixed order, so that
 * parsing the result gives equal settings and printing it again gives the
 * same text. pretty selects indented output. Returns NULL when out of
 * memory. The caller owns the string and frees it with free().
 */
char *jury_settings_to_json(const jury_settings_t *s, bool pretty);

/* floor(distribution.min_submitted): the fewest submitted responses that complete a record
 * (>= 1). Records get this many or one more: see jury_settings_record_target. */
uint32_t jury_settings_min_submitted(const jury_settings_t *s);

/* distribution.min_submitted exactly as given (1..1000, default 1): the mean number of
 * submitted responses per record, which may be fractional (1.5). */
double jury_settings_overlap(const jury_settings_t *s);

/*
 * The number of submitted responses that completes the record with external
 * id ext_id (the len bytes at ext_id, need not be NUL-terminated; NULL when
 * len is 0): floor(N) + 1 for a share of the records equal to the fractional
 * part of N = distribution.min_submitted, and floor(N) for the rest. An
 * integer N gives N for every record.
 *
 * The choice is a pure function of the id's bytes, the same on every run and
 * machine, so a frontend or tool can reproduce it:
 *
 *     h = fmix64(FNV-1a-64(id))   FNV-1a: offset basis 0xcbf29ce484222325,
 *                                 prime 0x100000001b3, one byte at a time
 *     u = (h >> 11) * 2^-53       a number in [0, 1), exact in a double
 *     target = floor(N) + (u < N - floor(N) ? 1 : 0)
 *
 * where fmix64 is MurmurHash3's finaliser: k ^= k >> 33;
 * k *= 0xff51afd7ed558ccd; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53;
 * k ^= k >> 33 (all mod 2^64). FNV-1a alone mixes the last bytes of an id
 * too little into its top bits for ids like "rec-1", "rec-2", ... to split
 * evenly. Pass the id exactly as the store keys it (a string id's bytes, an
 * integer id in decimal). ext_id is borrowed.
 */
uint32_t jury_settings_record_target(const jury_settings_t *s, const char *ext_id, size_t len);

/* distribution.max_discards (1..1000, default 3): a record discarded this many times is set
 * aside. */
uint32_t jury_settings_max_discards(const jury_settings_t *s);

/* distribution.order (default JURY_ORDER_COMPLETE_FIRST). */
jury_order jury_settings_order(const jury_settings_t *s);

/* distribution.lease_seconds (5..86400, default 600): how long an annotator holds a record. */
uint32_t jury_settings_lease_seconds(const jury_settings_t *s);

/*
 * Gold records (records imported with "gold": {question: value}, known answers): they are mixed
 * into each annotator's records at distribution.gold_rate (0..0.5, 0 when absent), every one of
 * an annotator's first distribution.onboarding records is gold (0..1000), and an annotator whose
 * accuracy on gold answers falls below distribution.pause_below.accuracy (0 when absent: never)
 * after at least pause_below.after_gold gold answers (default 20) is paused on the dataset.
 */
double jury_settings_gold_rate(const jury_settings_t *s);
uint32_t jury_settings_onboarding(const jury_settings_t *s);
double jury_settings_pause_accuracy(const jury_settings_t *s);
uint32_t jury_settings_pause_after(const jury_settings_t *s);

/* distribution.max_records_per_annotator (1..1e9; 0 when absent: no quota): the most records one
 * annotator may answer (submitted or discarded) in the dataset; leases held count toward it. */
uint32_t jury_settings_max_records_per_annotator(const jury_settings_t *s);

/*
 * Dynamic overlap (distribution.max_submitted and distribution.until): when a record reaches its
 * target of submitted responses and its agreement on the until question (the share of agreeing
 * pairs of responses, jury_record_agreement) is below until.agreement, its target rises by one,
 * up to max_submitted; a record at max_submitted that still falls short is completed and marked
 * contested. max_submitted is 0 and the question NULL when the overlap is fixed. The question is
 * a label_selection or rating question; max_submitted is at least every record's first target.
 * Borrowed from s.
 */
uint32_t jury_settings_max_submitted(const jury_settings_t *s);
const char *jury_settings_until_question(const jury_settings_t *s);
double jury_settings_until_agreement(const jury_settings_t *s);

/*
 * The posterior rule of dynamic overlap, instead of agreement: distribution.until.confidence
 * (0.5..0.999; 0 when the rule is agreement) is the one-coin Dawid-Skene posterior probability of
 * the record's most likely answer that it needs (jury_posterior_confidence), each annotator taken
 * to be right with their gold accuracy on the question once they have JURY_CONSOLIDATE_GOLD_MIN
 * gold answers (Laplace-smoothed: (right + 1) / (answered + 2)), else with
 * distribution.until.prior_accuracy (0.5..0.999, default 0.7).
 */
double jury_settings_until_confidence(const jury_settings_t *s);
double jury_settings_until_prior_accuracy(const jury_settings_t *s);

/* Number of fields; field names and types by index 0 .. count-1. Strings are borrowed from s. */
size_t jury_settings_field_count(const jury_settings_t *s);
const char *jury_settings_field_name(const jury_settings_t *s, size_t i);
jury_field_type jury_settings_field_type(const jury_settings_t *s, size_t i);

/* Number of questions; their names, types and required flags by index. Strings are borrowed from s.
 */
size_t jury_settings_question_count(const jury_settings_t *s);
const char *jury_settings_question_name(const jury_settings_t *s, size_t i);
jury_question_type jury_settings_question_type(const jury_settings_t *s, size_t i);
bool jury_settings_question_required(const jury_settings_t *s, size_t i);

/* Index of the question called name, or -1 if there is none. */
int jury_settings_question_index(const jury_settings_t *s, const char *name);

/* Index of the field called name, or -1 if there is none. */
int jury_settings_field_index(const jury_settings_t *s, const char *name);

/* Whether field i must be present (and not null) in every record. */
bool jury_settings_field_required(const jury_settings_t *s, size_t i);

/* Number of metadata properties; their names and kinds by index. Strings are borrowed from s. */
size_t jury_settings_metadata_count(const jury_settings_t *s);
const char *jury_settings_metadata_name(const jury_settings_t *s, size_t i);
jury_metadata_type jury_settings_metadata_type(const jury_settings_t *s, size_t i);

/* allow_extra_metadata: whether records may carry metadata keys that are not declared. */
bool jury_settings_allow_extra_metadata(const jury_settings_t *s);

/* The guidelines markdown, or NULL when the settings have none. Borrowed from s. */
const char *jury_settings_guidelines(const jury_settings_t *s);

/*
 * Checks one record, parsed from a JSONL line, against the settings:
 * the shape {"id", "fields", "metadata", "suggestions", "responses"} (only
 * "fields" is required; unknown top-level keys are rejected, except "status",
 * "unified", "decision", "reason", "meta", "reviewed_by", "reviewed_ms" and
 * "review_note", which `jury export --format records` adds and which are ignored whatever their
 * values, so that an export imports into a new dataset; any key given twice is rejected), every
 * required field present and of its type, no unknown field, metadata within its property, every
 * suggestion a valid value for its question (with "score" in 0..1 and "agent" a string when
 * present), and every response a valid value given by a valid annotator name in "user_id", each
 * annotator answering every required question. String contents are assumed to be valid UTF-8
 * already (the importer checks the whole line first).
 *
 * Returns JURY_OK, or JURY_EINVAL with "<JSON pointer>: <reason>" in err,
 * e.g. "/fields/instruction: field \"instruction\" is required by the dataset settings".
 * record is borrowed.
 */
JURY_MUST_CHECK jury_err jury_settings_check_record(const jury_settings_t *s, const cJSON *record,
                                                    char *err, size_t errlen);

/*
 * Checks that value is a valid answer to question q (0 .. question_count-1),
 * as a suggestion or a response: for span questions, field_text (the text of
 * the question's field, may be NULL when unknown) bounds the offsets, which
 * count Unicode code points. Text answers are 1 to JURY_SETTINGS_TEXT_MAX
 * bytes. A ranking lists every value once, best first; when the question has
 * allow_ties, an item may instead be a list of 2 or more values that share a
 * rank: ["b", ["a", "c"]].
 *
 * Returns JURY_OK, or JURY_EINVAL with a reason in err (without a JSON
 * pointer; a reason about one item of the value starts with it, as in
 * "item 1: ties are not allowed by this question (allow_ties is false)").
 * value and field_text are borrowed.
 */
JURY_MUST_CHECK jury_err jury_settings_check_value(const jury_settings_t *s, size_t q,
                                                   const cJSON *value, const char *field_text,
                                                   char *err, size_t errlen);

/*
 * Checks the answers of one worker's response to one record: values is the
 * {question name: value} object. Every key names a question; every non-null
 * value passes jury_settings_check_value for its question; a null value is
 * the same as an absent one. When submitted, every required question has a
 * value; a draft (submitted false) may be partial. fields is the record's
 * "fields" object: span answers are bounded by the text of their question's
 * field, which must then be present. fields may be NULL, and then span
 * offsets are checked without the text's length. String contents are assumed
 * to be valid UTF-8 already. Allocates nothing.
 *
 * Returns JURY_OK, or JURY_EINVAL with "<JSON pointer>: <reason>" in err,
 * pointers starting at /values, e.g.
 * "/values/quality: question \"quality\" is required in a submitted response".
 * values and fields are borrowed.
 */
JURY_MUST_CHECK jury_err jury_settings_check_answers(const jury_settings_t *s, const cJSON *values,
                                                     bool submitted, const cJSON *fields, char *err,
                                                     size_t errlen);

/*
 * Checks a dataset or annotator name: 1 to JURY_SETTINGS_NAME_MAX bytes of
 * ASCII letters, digits, '_', '-' and '.', not starting with '.' or '-'.
 * Returns true when valid.
 */
bool jury_settings_name_valid(const char *name);

/* ---- consolidation ------------------------------------------------------------------------- */

/* A consolidation method (README, "Consolidation"). Which apply to which question type:
 *   label_selection        majority (default), weighted, dawid_skene, disagreement
 *   multi_label_selection  majority (default), dawid_skene
 *   rating                 mean (default), median, majority, min, max
 *   ranking                borda (default), majority
 *   text                   medoid (default), best_annotator
 *   span                   majority (default) */
typedef enum {
    JURY_METHOD_MAJORITY = 0,
    JURY_METHOD_WEIGHTED = 1,
    JURY_METHOD_DAWID_SKENE = 2,
    JURY_METHOD_DISAGREEMENT = 3,
    JURY_METHOD_MEAN = 4,
    JURY_METHOD_MEDIAN = 5,
    JURY_METHOD_MIN = 6,
    JURY_METHOD_MAX = 7,
    JURY_METHOD_BORDA = 8,
    JURY_METHOD_MEDOID = 9,
    JURY_METHOD_BEST_ANNOTATOR = 10,
    JURY_METHOD_COUNT = 11 /* number of methods */
} jury_method;

/* The method's name as written in settings ("dawid_skene"); NULL when out of range. Static. */
const char *jury_method_name(jury_method m);

/* The default method of a question type (majority, majority, mean, borda, medoid, majority). */
jury_method jury_method_default(jury_question_type t);

/*
 * Parses a method name for a question of type t into *out. Returns false when
 * name is not a method or does not apply to t. jury_method_choices(t) is the
 * comma-separated list of the names that apply ("mean, median, majority, min,
 * max"), static, for messages.
 */
bool jury_method_parse(jury_question_type t, const char *name, jury_method *out);
const char *jury_method_choices(jury_question_type t);

/* The method of question q: consolidation.methods[name] or the type's default
 * (JURY_METHOD_MAJORITY when q is out of range). */
jury_method jury_settings_method(const jury_settings_t *s, size_t q);

/* A kind of acceptance rule (consolidation.accept). */
typedef enum {
    JURY_RULE_MIN_AGREEMENT = 0, /* the record's agreement on the question >= threshold (0..1) */
    JURY_RULE_MIN_VALUE = 1,     /* rating questions: the unified rating >= threshold */
    JURY_RULE_MAX_VALUE = 2,     /* rating questions: the unified rating <= threshold */
    JURY_RULE_REQUIRE = 3        /* label_selection: the unified label is one of `labels` */
} jury_rule_kind;

/* One acceptance rule. Borrowed from the settings. */
typedef struct {
    jury_rule_kind kind;    /* what it checks */
    size_t question;        /* the question's index */
    double threshold;       /* MIN_AGREEMENT, MIN_VALUE, MAX_VALUE; 0 for REQUIRE */
    const uint32_t *labels; /* REQUIRE: accepted label indices (indices into the question's
                               options), ascending */
    size_t nlabels;         /* REQUIRE: how many (>= 1); 0 for other kinds */
} jury_rule_t;

/*
 * The acceptance rules of consolidation.accept, in the order of the
 * settings' normalised JSON (min_agreement, min_value, max_value, require;
 * within each, question order). A record is accepted when it is completed and
 * every rule holds. Rules are checked when the settings are parsed: the
 * question exists, the kind applies to its type (min_agreement to every type),
 * thresholds are numbers (0..1 for agreement; for ratings from the lowest to
 * the highest of the question's values, fractions allowed since a mean may be
 * fractional), required labels are options of the question, each once
 * ("/consolidation/accept/min_value/label: min_value applies to rating
 * questions, and \"label\" is a label_selection"). jury_settings_rule
 * returns NULL when i >= the count.
 */
size_t jury_settings_rule_count(const jury_settings_t *s);
const jury_rule_t *jury_settings_rule(const jury_settings_t *s, size_t i);

/* The options of a label_selection, multi_label_selection, ranking or span question (their values
 * in settings order), count in *n; NULL with *n = 0 for other types and when q is out of range.
 * Borrowed from s. */
const char *const *jury_settings_question_options(const jury_settings_t *s, size_t q, size_t *n);

/* A rating question's allowed values ascending (whatever their order in the settings), count in
 * *n; NULL with *n = 0 for other types and when q is out of range. Borrowed from s. */
const double *jury_settings_rating_values(const jury_settings_t *s, size_t q, size_t *n);

/* The name of the field a span question marks (its "field"); NULL for other types and when q is
 * out of range. Borrowed from s. */
const char *jury_settings_span_field(const jury_settings_t *s, size_t q);

/*
 * Whether settings b may replace settings a of an existing dataset (`jury
 * dataset update`): everything but the guidelines and the consolidation
 * section must be equal (fields, questions, metadata, distribution,
 * allow_extra_metadata), since records and responses were checked against
 * them. Compares the normalised JSON (jury_settings_to_json) of each of those
 * sections. Returns true, or false with the first differing section in err
 * ("/questions differ: only guidelines and consolidation may change"), or
 * "out of memory". a and b are borrowed.
 */
bool jury_settings_compatible(const jury_settings_t *a, const jury_settings_t *b, char *err,
                              size_t errlen);

#endif
