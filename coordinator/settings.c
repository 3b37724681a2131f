/* settings.c: parses dataset settings by Argilla 2's rules and checks records against them. */
#include "settings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jury_utf8.h"

/* Limits taken from argilla-server's schemas (api/schemas/v1/questions.py and friends). */
#define S_TITLE_MAX         500  /* titles are 1..500 characters */
#define S_DESCRIPTION_MAX   1000 /* question descriptions are 1..1000 characters */
#define S_LABEL_VALUE_MAX   200  /* option values are 1..200 characters */
#define S_LABELS_MAX        500  /* label_selection_options_max_items and span_options_max_items */
#define S_RANKING_MAX       50   /* ranking questions take 2..50 values */
#define S_RATING_MAX        11   /* rating questions take 2..11 values within 0..10 */
#define S_VISIBLE_MIN       3    /* visible_options is null or at least 3 */
#define S_MIN_SUBMITTED_MAX 1000 /* distribution.min_submitted is 1..1000, fractions allowed */
#define S_MAX_DISCARDS_MAX  1000 /* distribution.max_discards is 1..1000 */
#define S_QUOTA_MAX         1000000000 /* distribution.max_records_per_annotator is 1..1e9 */
#define S_MAX_DISCARDS_DEF  3
#define S_LEASE_MIN         5 /* distribution.lease_seconds is 5 s .. one day */
#define S_LEASE_MAX         86400
#define S_LEASE_DEF         600

/* Integers are exact in a double up to 2^53 - 1: the range jury accepts for integer values. */
#define S_INT_SAFE 9007199254740991.0

/* Longest list of names or choices quoted in an error message, in bytes. */
#define S_LIST_MAX 400
/* Buffer for one user string quoted in an error message. */
#define S_QUOTE_MAX 100
/* Up to this many spans are sorted on the stack to find overlaps in O(n log n). */
#define S_SPANS_SORTED_MAX 256

/* Bitmap words for one flag per field, question or metadata property. */
#define S_ITEM_WORDS ((JURY_SETTINGS_ITEMS_MAX + 63) / 64)
/* Bitmap words for one flag per label. */
#define S_LABEL_WORDS ((S_LABELS_MAX + 63) / 64)

/* One choice of a label, multi-label, span or ranking question. */
typedef struct {
    char *value; /* what records and answers use */
    char *title; /* what annotators see */
} s_option;

/* One field of the settings. */
typedef struct {
    char *name;           /* unique name, Argilla's rule */
    char *title;          /* shown to annotators; defaults to name */
    jury_field_type type; /* text or chat */
    bool required;        /* records must carry a non-null value */
    bool use_markdown;    /* frontends render the value as markdown */
} s_field;

/* One question of the settings. */
typedef struct {
    char *name;                /* unique name, Argilla's rule */
    char *title;               /* shown to annotators; defaults to name */
    char *description;         /* help text, or NULL */
    char *choices;             /* the values or labels listed for error messages, or NULL */
    bool required;             /* every annotator who answers must answer this */
    jury_question_type type;   /* what kind of answer */
    bool use_markdown;         /* text: answers are markdown */
    int ratings[S_RATING_MAX]; /* rating: the values, in the given order */
    size_t rating_count;       /* rating: how many values */
    s_option *options;         /* labels or ranking values, in the given order */
    size_t option_count;       /* how many options */
    int visible_labels;        /* label, multi-label, span: labels shown before "more", 0 for all */
    bool order_by_suggestion;  /* multi-label: labels_order is "suggestion" */
    size_t span_field;         /* span: index of the text field it marks up */
    bool allow_overlapping;    /* span: spans may overlap */
    bool allow_ties;           /* ranking: an answer may rank 2+ values equal */
    const char **option_values;         /* the options' values (borrowed from options), or NULL */
    double rating_sorted[S_RATING_MAX]; /* rating: the values ascending */
    jury_method method;                 /* consolidation.methods, or the type's default */
    bool has_min_agreement;             /* accept.min_agreement names this question */
    double min_agreement;               /* its threshold, 0..1 */
    bool has_min_value;                 /* accept.min_value names this rating question */
    double min_value;                   /* its threshold, within the rating's values */
    bool has_max_value;                 /* accept.max_value names this rating question */
    double max_value;                   /* its threshold, within the rating's values */
    uint32_t *require;                  /* accept.require: label indices ascending, or NULL */
    size_t require_count;               /* how many */
} s_question;

/* One metadata property of the settings. */
typedef struct {
    char *name;              /* unique name, Argilla's rule */
    char *title;             /* shown to annotators; defaults to name */
    char *choices;           /* terms: options listed for error messages, or NULL */
    jury_metadata_type type; /* terms, integer or float */
    char **options;          /* terms: the allowed terms, or NULL for any */
    size_t option_count;     /* terms: how many options */
    bool has_min;            /* integer, float: min is set */
    bool has_max;            /* integer, float: max is set */
    double min;              /* integer, float: smallest allowed value */
    double max;              /* integer, float: largest allowed value */
    bool visible;            /* visible_for_annotators */
} s_meta;

struct jury_settings {
    char *guidelines;           /* markdown for annotators, or NULL */
    bool allow_extra_metadata;  /* records may carry undeclared metadata keys */
    double overlap;             /* distribution.min_submitted as given, 1..1000, maybe fractional */
    uint32_t min_submitted;     /* floor(overlap) */
    uint32_t max_discards;      /* distribution.max_discards */
    jury_order order;           /* distribution.order */
    uint32_t lease_seconds;     /* distribution.lease_seconds */
    uint32_t max_submitted;     /* distribution.max_submitted, 0 when the overlap is fixed */
    uint32_t max_per_annotator; /* distribution.max_records_per_annotator, 0: no quota */
    double gold_rate;           /* distribution.gold_rate, 0..0.5 */
    uint32_t onboarding;        /* distribution.onboarding: first records that are gold */
    double pause_accuracy;      /* distribution.pause_below.accuracy, 0: never pause */
    uint32_t pause_after;       /* distribution.pause_below.after_gold */
    char *until_question;       /* distribution.until.question (dynamic overlap), or NULL */
    double until_agreement;     /* distribution.until.agreement, 0..1 (agreement rule) */
    double until_confidence; /* distribution.until.confidence, 0.5..0.999 (posterior rule), or 0 */
    double until_prior;      /* distribution.until.prior_accuracy (posterior rule) */
    s_field *fields;         /* the fields, in the given order */
    size_t field_count;      /* how many fields */
    s_question *questions;   /* the questions, in the given order */
    size_t question_count;   /* how many questions */
    s_meta *metadata;        /* the metadata properties, in the given order */
    size_t metadata_count;   /* how many metadata properties */
    char *field_list;        /* "a, b" for error messages */
    char *question_list;     /* "a, b" for error messages */
    char *metadata_list;     /* "a, b" for error messages ("none" when empty) */
    jury_rule_t *rules;      /* consolidation.accept in normalised order, or NULL */
    size_t rule_count;       /* how many rules */
};

/* ---------------------------------------------------------------------------------------------
 * Error messages: "<JSON pointer>: <reason>", built only when something fails.
 */

/* Where a value sits in its document: a chain of stack frames from the value up to the root. */
typedef struct s_path {
    const struct s_path *up; /* the enclosing value, or NULL for a member of the root */
    const char *key;         /* member name, or NULL when index names an array element */
    size_t index;            /* array index when key is NULL */
} s_path;

/* Marks a message written without a JSON pointer (jury_settings_check_value). A path below it
 * names an element of the value instead: "item 1: ...", "item 1/0: ...". */
static const s_path s_bare;

/* Where messages go. */
typedef struct {
    char *buf;  /* caller's buffer, may be NULL */
    size_t cap; /* its size in bytes */
} s_err;

/* A bounded string builder; len always < cap when cap > 0. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
} s_out;

static void s_put(s_out *o, const char *p, size_t n)
{
    if (o->cap == 0)
        return;
    size_t room = o->cap - 1 - o->len;
    if (n > room)
        n = room;
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void s_puts(s_out *o, const char *p)
{
    s_put(o, p, strlen(p));
}

/* Drops a UTF-8 sequence cut short at the end of a full buffer. */
static void s_trim_utf8(s_out *o)
{
    if (o->cap == 0 || o->len + 1 < o->cap)
        return;
    size_t i = o->len;
    while (i > 0 && ((unsigned char)o->buf[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)o->buf[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (o->len - (i - 1) < want) {
        o->len = i - 1;
        o->buf[o->len] = '\0';
    }
}

/* Writes one byte of user text so that the message stays on one line. */
static void s_put_char_escaped(s_out *o, unsigned char c, bool json_quote)
{
    char tmp[8];
    if (c < 0x20 || c == 0x7F) {
        snprintf(tmp, sizeof tmp, "\\u%04x", c);
        s_puts(o, tmp);
    } else if (json_quote && (c == '"' || c == '\\')) {
        tmp[0] = '\\';
        tmp[1] = (char)c;
        s_put(o, tmp, 2);
    } else {
        tmp[0] = (char)c;
        s_put(o, tmp, 1);
    }
}

/* Writes the RFC 6901 pointer of at: '~' becomes "~0" and '/' becomes "~1" in member names.
 * Below s_bare the pointer is relative, without its leading '/'. */
static void s_put_path(s_out *o, const s_path *at)
{
    if (at->up != NULL && at->up != &s_bare)
        s_put_path(o, at->up);
    if (at->up != &s_bare)
        s_put(o, "/", 1);
    if (at->key == NULL) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%zu", at->index);
        s_puts(o, tmp);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)at->key; *p; p++) {
        if (*p == '~')
            s_put(o, "~0", 2);
        else if (*p == '/')
            s_put(o, "~1", 2);
        else
            s_put_char_escaped(o, *p, false);
    }
}

/* Whether at lies below s_bare, in a message without a JSON pointer. */
static bool s_below_bare(const s_path *at)
{
    while (at != NULL && at->up != &s_bare)
        at = at->up;
    return at != NULL;
}

/* Writes "<pointer of at>: <fmt ...>" into e and returns JURY_EINVAL. A NULL at is the root. */
__attribute__((format(printf, 3, 4))) static jury_err s_fail(const s_err *e, const s_path *at,
                                                             const char *fmt, ...)
{
    if (e->buf == NULL || e->cap == 0)
        return JURY_EINVAL;
    s_out o = {e->buf, e->cap, 0};
    e->buf[0] = '\0';
    if (at == NULL) {
        s_puts(&o, "/: ");
    } else if (at != &s_bare) {
        if (s_below_bare(at))
            s_puts(&o, "item ");
        s_put_path(&o, at);
        s_puts(&o, ": ");
    }
    if (o.len + 1 < o.cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o.buf + o.len, o.cap - o.len, fmt, ap);
        va_end(ap);
        o.len += strlen(o.buf + o.len);
    }
    s_trim_utf8(&o);
    return JURY_EINVAL;
}

static jury_err s_nomem(const s_err *e)
{
    if (e->buf != NULL && e->cap > 0)
        snprintf(e->buf, e->cap, "out of memory");
    return JURY_ENOMEM;
}

/* Quotes user text for a message: "text", escaped, cut to fit buf (at least 8 bytes) with
 * "..." before the closing quote. Works on whole characters so no UTF-8 sequence is split. */
static const char *s_quote(char *buf, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t len = 0;
    buf[len++] = '"';
    while (*p != '\0') {
        char tmp[8];
        size_t n = 1, adv = 1;
        if (*p < 0x20 || *p == 0x7F) {
            n = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p);
        } else if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            n = 2;
        } else if (*p < 0x80) {
            tmp[0] = (char)*p;
        } else {
            while (n < 4 && (p[n] & 0xC0) == 0x80)
                n++;
            memcpy(tmp, p, n);
            adv = n;
        }
        /* The last character needs room for itself, '"' and NUL; any other also for "...\"". */
        if (len + n + (p[adv] == '\0' ? 2 : 5) > cap) {
            memcpy(buf + len, "...", 3);
            len += 3;
            break;
        }
        memcpy(buf + len, tmp, n);
        len += n;
        p += adv;
    }
    buf[len++] = '"';
    buf[len] = '\0';
    return buf;
}

/* Formats a number of a message: integers without a fraction, others as %g. */
static const char *s_num(char *buf, size_t cap, double d)
{
    if (d >= -S_INT_SAFE && d <= S_INT_SAFE && (double)(long long)d == d)
        snprintf(buf, cap, "%lld", (long long)d);
    else
        snprintf(buf, cap, "%g", d);
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Small JSON helpers.
 */

/* True when v is an integer-valued number within lo..hi (both within +-2^53); stores it in *out. */
static bool s_int_in(const cJSON *v, double lo, double hi, long long *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi)) /* also false for NaN */
        return false;
    long long i = (long long)d;
    if ((double)i != d)
        return false;
    if (out != NULL)
        *out = i;
    return true;
}

/* The member called key of obj, or NULL when it is absent or JSON null. */
static const cJSON *s_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static const char *s_key(const cJSON *c)
{
    return c->string != NULL ? c->string : "";
}

static size_t s_chars(const char *s)
{
    return jury_utf8_codepoints(s, strlen(s));
}

static bool s_bit(const uint64_t *bits, size_t i)
{
    return (bits[i / 64] >> (i % 64)) & 1u;
}

static void s_set_bit(uint64_t *bits, size_t i)
{
    bits[i / 64] |= UINT64_C(1) << (i % 64);
}

/* Appends item to a message list "a, b" that stops with ", ..." once it would pass S_LIST_MAX. */
static void s_list_add(s_out *o, const char *item, bool *done)
{
    if (*done)
        return;
    size_t sep = o->len > 0 ? 2 : 0;
    if (o->len + sep + strlen(item) + 5 > S_LIST_MAX) {
        s_puts(o, o->len > 0 ? ", ..." : "...");
        *done = true;
        return;
    }
    if (sep)
        s_puts(o, ", ");
    s_puts(o, item);
}

/* ---------------------------------------------------------------------------------------------
 * Names.
 */

/* Argilla's rule for field, question and metadata names: ^(?=.*[a-z0-9])[a-z0-9_-]+$, 1..200 bytes.
 */
static bool s_argilla_name(const char *name)
{
    size_t n = strlen(name);
    bool alnum = false;
    if (n == 0 || n > JURY_SETTINGS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            alnum = true;
        else if (c != '_' && c != '-')
            return false;
    }
    return alnum;
}

bool jury_settings_name_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > JURY_SETTINGS_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Destruction and accessors.
 */

static void s_options_free(s_option *opts, size_t n)
{
    for (size_t i = 0; opts != NULL && i < n; i++) {
        free(opts[i].value);
        free(opts[i].title);
    }
    free(opts);
}

void jury_settings_destroy(jury_settings_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    jury_settings_t *s = *self_p;
    free(s->until_question);
    for (size_t i = 0; s->fields != NULL && i < s->field_count; i++) {
        free(s->fields[i].name);
        free(s->fields[i].title);
    }
    for (size_t i = 0; s->questions != NULL && i < s->question_count; i++) {
        s_question *q = &s->questions[i];
        free(q->name);
        free(q->title);
        free(q->description);
        free(q->choices);
        free(q->option_values);
        free(q->require);
        s_options_free(q->options, q->option_count);
    }
    for (size_t i = 0; s->metadata != NULL && i < s->metadata_count; i++) {
        s_meta *m = &s->metadata[i];
        free(m->name);
        free(m->title);
        free(m->choices);
        for (size_t k = 0; m->options != NULL && k < m->option_count; k++)
            free(m->options[k]);
        free(m->options);
    }
    free(s->fields);
    free(s->questions);
    free(s->metadata);
    free(s->guidelines);
    free(s->field_list);
    free(s->question_list);
    free(s->metadata_list);
    free(s->rules);
    free(s);
    *self_p = NULL;
}

uint32_t jury_settings_min_submitted(const jury_settings_t *s)
{
    return s->min_submitted;
}

double jury_settings_overlap(const jury_settings_t *s)
{
    return s->overlap;
}

uint32_t jury_settings_max_discards(const jury_settings_t *s)
{
    return s->max_discards;
}

jury_order jury_settings_order(const jury_settings_t *s)
{
    return s->order;
}

uint32_t jury_settings_lease_seconds(const jury_settings_t *s)
{
    return s->lease_seconds;
}

double jury_settings_gold_rate(const jury_settings_t *s)
{
    return s->gold_rate;
}

uint32_t jury_settings_onboarding(const jury_settings_t *s)
{
    return s->onboarding;
}

double jury_settings_pause_accuracy(const jury_settings_t *s)
{
    return s->pause_accuracy;
}

uint32_t jury_settings_pause_after(const jury_settings_t *s)
{
    return s->pause_after;
}

uint32_t jury_settings_max_records_per_annotator(const jury_settings_t *s)
{
    return s->max_per_annotator;
}

uint32_t jury_settings_max_submitted(const jury_settings_t *s)
{
    return s->max_submitted;
}

const char *jury_settings_until_question(const jury_settings_t *s)
{
    return s->until_question;
}

double jury_settings_until_confidence(const jury_settings_t *s)
{
    return s->until_confidence;
}

double jury_settings_until_prior_accuracy(const jury_settings_t *s)
{
    return s->until_prior;
}

double jury_settings_until_agreement(const jury_settings_t *s)
{
    return s->until_agreement;
}

/* 64-bit FNV-1a (Fowler, Noll and Vo; draft-eastlake-fnv): small, fixed and byte-order free, so
 * every machine and every run splits the records the same way. */
static uint64_t s_fnv1a64(const unsigned char *p, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* MurmurHash3's 64-bit finaliser (fmix64), a bijection. FNV-1a's last step multiplies by a prime
 * of 2^40 + 0x1b3, so ids that differ only in their last characters ("rec-1", "rec-2") differ
 * little in the top bits: alone it gave 4100 of "rec-0".."rec-9999" (not ~5000) a second
 * annotator at min_submitted 1.5, and 300 of "ticket-00000".."ticket-09999" (not ~1000) at 1.1. */
static uint64_t s_fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

uint32_t jury_settings_record_target(const jury_settings_t *s, const char *ext_id, size_t len)
{
    double frac = s->overlap - (double)s->min_submitted;
    if (frac <= 0.0 || (ext_id == NULL && len > 0))
        return s->min_submitted;
    uint64_t h = s_fmix64(s_fnv1a64((const unsigned char *)ext_id, len));
    /* The top 53 bits as a fraction in [0, 1): exact in a double, so the split is exact too. */
    double u = (double)(h >> 11) * 0x1.0p-53;
    return s->min_submitted + (u < frac ? 1u : 0u);
}

size_t jury_settings_field_count(const jury_settings_t *s)
{
    return s->field_count;
}

const char *jury_settings_field_name(const jury_settings_t *s, size_t i)
{
    return i < s->field_count ? s->fields[i].name : NULL;
}

jury_field_type jury_settings_field_type(const jury_settings_t *s, size_t i)
{
    return i < s->field_count ? s->fields[i].type : JURY_FIELD_TEXT;
}

bool jury_settings_field_required(const jury_settings_t *s, size_t i)
{
    return i < s->field_count && s->fields[i].required;
}

int jury_settings_field_index(const jury_settings_t *s, const char *name)
{
    for (size_t i = 0; name != NULL && i < s->field_count; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

size_t jury_settings_question_count(const jury_settings_t *s)
{
    return s->question_count;
}

const char *jury_settings_question_name(const jury_settings_t *s, size_t i)
{
    return i < s->question_count ? s->questions[i].name : NULL;
}

jury_question_type jury_settings_question_type(const jury_settings_t *s, size_t i)
{
    return i < s->question_count ? s->questions[i].type : JURY_QUESTION_TEXT;
}

bool jury_settings_question_required(const jury_settings_t *s, size_t i)
{
    return i < s->question_count && s->questions[i].required;
}

int jury_settings_question_index(const jury_settings_t *s, const char *name)
{
    for (size_t i = 0; name != NULL && i < s->question_count; i++)
        if (strcmp(s->questions[i].name, name) == 0)
            return (int)i;
    return -1;
}

size_t jury_settings_metadata_count(const jury_settings_t *s)
{
    return s->metadata_count;
}

const char *jury_settings_metadata_name(const jury_settings_t *s, size_t i)
{
    return i < s->metadata_count ? s->metadata[i].name : NULL;
}

jury_metadata_type jury_settings_metadata_type(const jury_settings_t *s, size_t i)
{
    return i < s->metadata_count ? s->metadata[i].type : JURY_METADATA_TERMS;
}

bool jury_settings_allow_extra_metadata(const jury_settings_t *s)
{
    return s->allow_extra_metadata;
}

const char *jury_settings_guidelines(const jury_settings_t *s)
{
    return s->guidelines;
}

/* ---------------------------------------------------------------------------------------------
 * Consolidation methods and acceptance rules.
 */

static const char *s_question_type_name(jury_question_type t)
{
    switch (t) {
    case JURY_QUESTION_TEXT:
        return "text";
    case JURY_QUESTION_RATING:
        return "rating";
    case JURY_QUESTION_LABEL_SELECTION:
        return "label_selection";
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
        return "multi_label_selection";
    case JURY_QUESTION_RANKING:
        return "ranking";
    case JURY_QUESTION_SPAN:
        return "span";
    }
    return "text";
}

static const char *const s_method_names[JURY_METHOD_COUNT] = {
    [JURY_METHOD_MAJORITY] = "majority",
    [JURY_METHOD_WEIGHTED] = "weighted",
    [JURY_METHOD_DAWID_SKENE] = "dawid_skene",
    [JURY_METHOD_DISAGREEMENT] = "disagreement",
    [JURY_METHOD_MEAN] = "mean",
    [JURY_METHOD_MEDIAN] = "median",
    [JURY_METHOD_MIN] = "min",
    [JURY_METHOD_MAX] = "max",
    [JURY_METHOD_BORDA] = "borda",
    [JURY_METHOD_MEDOID] = "medoid",
    [JURY_METHOD_BEST_ANNOTATOR] = "best_annotator"};

/* The methods that apply to one question type, the default first. */
typedef struct {
    const char *choices;    /* their names for messages, in this order */
    jury_method methods[5]; /* the methods */
    size_t count;           /* how many */
} s_type_methods;

static const s_type_methods s_methods_by_type[] = {
    [JURY_QUESTION_TEXT] = {"medoid, best_annotator",
                            {JURY_METHOD_MEDOID, JURY_METHOD_BEST_ANNOTATOR},
                            2},
    [JURY_QUESTION_RATING] = {"mean, median, majority, min, max",
                              {JURY_METHOD_MEAN, JURY_METHOD_MEDIAN, JURY_METHOD_MAJORITY,
                               JURY_METHOD_MIN, JURY_METHOD_MAX},
                              5},
    [JURY_QUESTION_LABEL_SELECTION] = {"majority, weighted, dawid_skene, disagreement",
                                       {JURY_METHOD_MAJORITY, JURY_METHOD_WEIGHTED,
                                        JURY_METHOD_DAWID_SKENE, JURY_METHOD_DISAGREEMENT},
                                       4},
    [JURY_QUESTION_MULTI_LABEL_SELECTION] = {"majority, dawid_skene",
                                             {JURY_METHOD_MAJORITY, JURY_METHOD_DAWID_SKENE},
                                             2},
    [JURY_QUESTION_RANKING] = {"borda, majority", {JURY_METHOD_BORDA, JURY_METHOD_MAJORITY}, 2},
    [JURY_QUESTION_SPAN] = {"majority", {JURY_METHOD_MAJORITY}, 1},
};

/* The methods of type t, or NULL when t is not a question type. */
static const s_type_methods *s_type_methods_of(jury_question_type t)
{
    size_t i = (size_t)t;
    return i < sizeof s_methods_by_type / sizeof s_methods_by_type[0] ? &s_methods_by_type[i]
                                                                      : NULL;
}

const char *jury_method_name(jury_method m)
{
    size_t i = (size_t)m;
    return i < JURY_METHOD_COUNT ? s_method_names[i] : NULL;
}

jury_method jury_method_default(jury_question_type t)
{
    const s_type_methods *tm = s_type_methods_of(t);
    return tm != NULL ? tm->methods[0] : JURY_METHOD_MAJORITY;
}

const char *jury_method_choices(jury_question_type t)
{
    const s_type_methods *tm = s_type_methods_of(t);
    return tm != NULL ? tm->choices : "";
}

bool jury_method_parse(jury_question_type t, const char *name, jury_method *out)
{
    const s_type_methods *tm = s_type_methods_of(t);
    for (size_t i = 0; tm != NULL && name != NULL && i < tm->count; i++) {
        if (strcmp(s_method_names[tm->methods[i]], name) == 0) {
            if (out != NULL)
                *out = tm->methods[i];
            return true;
        }
    }
    return false;
}

jury_method jury_settings_method(const jury_settings_t *s, size_t q)
{
    return q < s->question_count ? s->questions[q].method : JURY_METHOD_MAJORITY;
}

size_t jury_settings_rule_count(const jury_settings_t *s)
{
    return s->rule_count;
}

const jury_rule_t *jury_settings_rule(const jury_settings_t *s, size_t i)
{
    return i < s->rule_count ? &s->rules[i] : NULL;
}

const char *const *jury_settings_question_options(const jury_settings_t *s, size_t q, size_t *n)
{
    const s_question *qu = q < s->question_count ? &s->questions[q] : NULL;
    if (qu == NULL || qu->option_values == NULL) {
        *n = 0;
        return NULL;
    }
    *n = qu->option_count;
    return qu->option_values;
}

const double *jury_settings_rating_values(const jury_settings_t *s, size_t q, size_t *n)
{
    const s_question *qu = q < s->question_count ? &s->questions[q] : NULL;
    if (qu == NULL || qu->type != JURY_QUESTION_RATING) {
        *n = 0;
        return NULL;
    }
    *n = qu->rating_count;
    return qu->rating_sorted;
}

const char *jury_settings_span_field(const jury_settings_t *s, size_t q)
{
    const s_question *qu = q < s->question_count ? &s->questions[q] : NULL;
    if (qu == NULL || qu->type != JURY_QUESTION_SPAN)
        return NULL;
    return s->fields[qu->span_field].name;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing the settings document.
 */

/* Whether a sibling before k in its object has k's key (JSON allows repeated keys; jury never
 * accepts them: readers disagree on which one counts). */
static bool s_repeated(const cJSON *obj, const cJSON *k)
{
    for (const cJSON *d = obj->child; d != NULL && d != k; d = d->next)
        if (strcmp(s_key(d), s_key(k)) == 0)
            return true;
    return false;
}

/* Rejects keys of obj that are not in keys (NULL-terminated) and keys given twice. */
static jury_err s_only_keys(const s_err *e, const cJSON *obj, const s_path *at,
                            const char *const *keys, const char *what)
{
    char q[S_QUOTE_MAX];
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        const s_path here = {at, s_key(c), 0};
        bool known = false;
        for (size_t k = 0; keys[k] != NULL && !known; k++)
            known = strcmp(keys[k], s_key(c)) == 0;
        if (!known) {
            char list[S_LIST_MAX + 1];
            s_out o = {list, sizeof list, 0};
            bool done = false;
            list[0] = '\0';
            for (size_t k = 0; keys[k] != NULL; k++)
                s_list_add(&o, keys[k], &done);
            return s_fail(e, &here, "unknown key %s; %s has the keys %s",
                          s_quote(q, sizeof q, s_key(c)), what, list);
        }
        for (const cJSON *d = obj->child; d != c; d = d->next)
            if (strcmp(s_key(d), s_key(c)) == 0)
                return s_fail(e, &here, "duplicate key %s", s_quote(q, sizeof q, s_key(c)));
    }
    return JURY_OK;
}

/* Copies the optional string member key of obj into *out (NULL when absent or null), checking
 * that it has min_chars..max_chars characters (max_chars 0: no limit). */
static jury_err s_opt_string(const s_err *e, const cJSON *obj, const s_path *at, const char *key,
                             size_t min_chars, size_t max_chars, char **out)
{
    const s_path here = {at, key, 0};
    const cJSON *v = s_member(obj, key);
    *out = NULL;
    if (v == NULL)
        return JURY_OK;
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return s_fail(e, &here, "must be a string");
    size_t n = s_chars(v->valuestring);
    if (n < min_chars || (max_chars > 0 && n > max_chars))
        return s_fail(e, &here, "must be %zu to %zu characters long", min_chars, max_chars);
    if ((*out = strdup(v->valuestring)) == NULL)
        return s_nomem(e);
    return JURY_OK;
}

/* Reads the optional bool member key of obj into *out, or def when absent or null. */
static jury_err s_opt_bool(const s_err *e, const cJSON *obj, const s_path *at, const char *key,
                           bool def, bool *out)
{
    const s_path here = {at, key, 0};
    const cJSON *v = s_member(obj, key);
    *out = def;
    if (v == NULL)
        return JURY_OK;
    if (!cJSON_IsBool(v))
        return s_fail(e, &here, "must be true or false");
    *out = cJSON_IsTrue(v);
    return JURY_OK;
}

/* Reads the required string member "type" of obj. */
static jury_err s_type_string(const s_err *e, const cJSON *obj, const s_path *at, const char **out)
{
    const s_path here = {at, "type", 0};
    const cJSON *v = s_member(obj, "type");
    if (v == NULL)
        return s_fail(e, &here, "a \"type\" is required");
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return s_fail(e, &here, "must be a string");
    *out = v->valuestring;
    return JURY_OK;
}

/* Reads, checks and copies the name of item at; names are unique across fields, questions and
 * metadata, so it is compared with the nf fields, nq questions and nm metadata parsed so far. */
static jury_err s_name(const s_err *e, const jury_settings_t *s, const cJSON *obj, const s_path *at,
                       size_t nf, size_t nq, size_t nm, char **out)
{
    const s_path here = {at, "name", 0};
    const cJSON *v = s_member(obj, "name");
    char q[S_QUOTE_MAX];
    if (v == NULL)
        return s_fail(e, &here, "a \"name\" is required");
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return s_fail(e, &here, "must be a string");
    const char *name = v->valuestring;
    if (!s_argilla_name(name))
        return s_fail(e, &here,
                      "%s is not a valid name: names are 1 to %d characters of a-z, 0-9, '_' "
                      "and '-', with at least one letter or digit",
                      s_quote(q, sizeof q, name), JURY_SETTINGS_NAME_MAX);
    for (size_t i = 0; i < nf; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return s_fail(e, &here, "name \"%s\" is already used by /fields/%zu", name, i);
    for (size_t i = 0; i < nq; i++)
        if (strcmp(s->questions[i].name, name) == 0)
            return s_fail(e, &here, "name \"%s\" is already used by /questions/%zu", name, i);
    for (size_t i = 0; i < nm; i++)
        if (strcmp(s->metadata[i].name, name) == 0)
            return s_fail(e, &here, "name \"%s\" is already used by /metadata/%zu", name, i);
    if ((*out = strdup(name)) == NULL)
        return s_nomem(e);
    return JURY_OK;
}

/* Reads the optional title (default: the name) into *out. */
static jury_err s_title(const s_err *e, const cJSON *obj, const s_path *at, const char *name,
                        char **out)
{
    jury_err rc = s_opt_string(e, obj, at, "title", 1, S_TITLE_MAX, out);
    if (rc == JURY_OK && *out == NULL && (*out = strdup(name)) == NULL)
        return s_nomem(e);
    return rc;
}

/* Starts a message list in a new buffer of S_LIST_MAX + 1 bytes; NULL when out of memory. */
static char *s_list_new(s_out *o)
{
    char *buf = malloc(S_LIST_MAX + 1);
    if (buf != NULL)
        buf[0] = '\0';
    o->buf = buf;
    o->cap = buf != NULL ? S_LIST_MAX + 1 : 0;
    o->len = 0;
    return buf;
}

/* Builds the "a, b" lists of question and metadata names for messages. */
static bool s_name_lists(jury_settings_t *s)
{
    s_out o;
    bool done = false;
    if (s_list_new(&o) == NULL)
        return false;
    for (size_t i = 0; i < s->question_count; i++)
        s_list_add(&o, s->questions[i].name, &done);
    s->question_list = o.buf;
    done = false;
    if (s_list_new(&o) == NULL)
        return false;
    for (size_t i = 0; i < s->metadata_count; i++)
        s_list_add(&o, s->metadata[i].name, &done);
    if (s->metadata_count == 0)
        s_puts(&o, "none");
    s->metadata_list = o.buf;
    return true;
}

/* Builds "\"a\", \"b\"" from options for messages. */
static char *s_options_list(const s_option *opts, size_t n)
{
    s_out o;
    bool done = false;
    char q[S_QUOTE_MAX];
    if (s_list_new(&o) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s_list_add(&o, s_quote(q, sizeof q, opts[i].value), &done);
    return o.buf;
}

/* Parses labels or ranking values: a list of strings or a {value: title} object with
 * min..max unique entries. what names one entry ("label", "value"); rule is the message for a
 * wrong shape or count. */
static jury_err s_parse_options(const s_err *e, const cJSON *v, const s_path *at, size_t min,
                                size_t max, const char *what, const char *rule, s_option **out,
                                size_t *count)
{
    char q[S_QUOTE_MAX];
    *out = NULL;
    *count = 0;
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return s_fail(e, at, "%s", rule);
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n < min || n > max)
        return s_fail(e, at, "%s", rule);
    s_option *opts = calloc(n, sizeof *opts);
    if (opts == NULL)
        return s_nomem(e);
    bool is_list = cJSON_IsArray(v);
    size_t i = 0;
    jury_err rc = JURY_OK;
    for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
        const s_path here = {at, is_list ? NULL : s_key(c), i};
        const char *value = is_list ? c->valuestring : s_key(c);
        const char *title = c->valuestring;
        if (!cJSON_IsString(c) || c->valuestring == NULL) {
            rc = s_fail(e, &here, "must be a string");
            goto fail;
        }
        size_t vn = s_chars(value);
        if (vn < 1 || vn > S_LABEL_VALUE_MAX) {
            rc = s_fail(e, &here, "a %s must be 1 to %d characters long", what, S_LABEL_VALUE_MAX);
            goto fail;
        }
        size_t tn = s_chars(title);
        if (tn < 1 || tn > S_TITLE_MAX) {
            rc = s_fail(e, &here, "a %s title must be 1 to %d characters long", what, S_TITLE_MAX);
            goto fail;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(opts[k].value, value) == 0) {
                rc = s_fail(e, &here, "duplicate %s %s", what, s_quote(q, sizeof q, value));
                goto fail;
            }
        }
        opts[i].value = strdup(value);
        opts[i].title = strdup(title);
        if (opts[i].value == NULL || opts[i].title == NULL) {
            s_options_free(opts, i + 1);
            return s_nomem(e);
        }
    }
    *out = opts;
    *count = n;
    return JURY_OK;
fail:
    s_options_free(opts, i);
    return rc;
}

/* Reads visible_labels: null (0) or an integer from 3 to the number of labels. */
static jury_err s_visible_labels(const s_err *e, const cJSON *obj, const s_path *at, size_t labels,
                                 int *out)
{
    const s_path here = {at, "visible_labels", 0};
    const cJSON *v = s_member(obj, "visible_labels");
    long long n;
    *out = 0;
    if (v == NULL)
        return JURY_OK;
    if (!s_int_in(v, S_VISIBLE_MIN, (double)labels, &n))
        return s_fail(e, &here,
                      "visible_labels must be null or an integer from %d to the number of "
                      "labels (%zu)",
                      S_VISIBLE_MIN, labels);
    *out = (int)n;
    return JURY_OK;
}

static const char *const s_field_keys[] = {"name",     "title",        "type",
                                           "required", "use_markdown", NULL};

static jury_err s_parse_field(const s_err *e, jury_settings_t *s, const cJSON *v, const s_path *at,
                              size_t i)
{
    s_field *f = &s->fields[i];
    const char *type = NULL;
    char q[S_QUOTE_MAX];
    jury_err rc;
    if (!cJSON_IsObject(v))
        return s_fail(e, at, "a field must be an object");
    if ((rc = s_only_keys(e, v, at, s_field_keys, "a field")) != JURY_OK)
        return rc;
    if ((rc = s_name(e, s, v, at, i, 0, 0, &f->name)) != JURY_OK)
        return rc;
    if ((rc = s_type_string(e, v, at, &type)) != JURY_OK)
        return rc;
    const s_path type_at = {at, "type", 0};
    if (strcmp(type, "text") == 0)
        f->type = JURY_FIELD_TEXT;
    else if (strcmp(type, "chat") == 0)
        f->type = JURY_FIELD_CHAT;
    else if (strcmp(type, "image") == 0 || strcmp(type, "custom") == 0)
        return s_fail(e, &type_at,
                      "field type \"%s\" is unsupported; jury supports \"text\" and \"chat\"",
                      type);
    else
        return s_fail(e, &type_at, "unknown field type %s; expected \"text\" or \"chat\"",
                      s_quote(q, sizeof q, type));
    if ((rc = s_title(e, v, at, f->name, &f->title)) != JURY_OK)
        return rc;
    if ((rc = s_opt_bool(e, v, at, "required", true, &f->required)) != JURY_OK)
        return rc;
    return s_opt_bool(e, v, at, "use_markdown", false, &f->use_markdown);
}

static const char *const s_text_keys[] = {"name", "title",        "description", "required",
                                          "type", "use_markdown", NULL};
static const char *const s_rating_keys[] = {"name", "title",  "description", "required",
                                            "type", "values", NULL};
static const char *const s_label_keys[] = {"name", "title",  "description",    "required",
                                           "type", "labels", "visible_labels", NULL};
static const char *const s_multi_keys[] = {"name",           "title",        "description",
                                           "required",       "type",         "labels",
                                           "visible_labels", "labels_order", NULL};
static const char *const s_ranking_keys[] = {"name", "title",  "description", "required",
                                             "type", "values", "allow_ties",  NULL};
static const char *const s_span_keys[] = {
    "name",  "title",  "description",       "required",       "type",
    "field", "labels", "allow_overlapping", "visible_labels", NULL};

#define S_RATING_RULE "rating values must be 2 to 11 unique integers within 0..10"
#define S_LABELS_RULE "labels must be 2 to 500 unique strings, as a list or a {value: title} object"
#define S_SPAN_LABELS_RULE                                                                         \
    "labels must be 1 to 500 unique strings, as a list or a {value: title} object"
#define S_RANKING_RULE                                                                             \
    "ranking values must be 2 to 50 unique strings, as a list or a {value: title} object"

static jury_err s_parse_rating(const s_err *e, s_question *q, const cJSON *v, const s_path *at)
{
    const s_path here = {at, "values", 0};
    const cJSON *values = s_member(v, "values");
    if (!cJSON_IsArray(values))
        return s_fail(e, &here, S_RATING_RULE);
    size_t n = (size_t)cJSON_GetArraySize(values);
    if (n < 2 || n > S_RATING_MAX)
        return s_fail(e, &here, S_RATING_RULE);
    size_t i = 0;
    for (const cJSON *c = values->child; c != NULL; c = c->next, i++) {
        long long r;
        if (!s_int_in(c, 0, 10, &r))
            return s_fail(e, &here, S_RATING_RULE);
        for (size_t k = 0; k < i; k++)
            if (q->ratings[k] == (int)r)
                return s_fail(e, &here, S_RATING_RULE);
        q->ratings[i] = (int)r;
        /* Insertion into the ascending copy: at most 11 values. */
        size_t k = i;
        for (; k > 0 && q->rating_sorted[k - 1] > (double)r; k--)
            q->rating_sorted[k] = q->rating_sorted[k - 1];
        q->rating_sorted[k] = (double)r;
    }
    q->rating_count = n;
    s_out o;
    bool done = false;
    if ((q->choices = s_list_new(&o)) == NULL)
        return s_nomem(e);
    for (size_t k = 0; k < n; k++) {
        char num[16];
        snprintf(num, sizeof num, "%d", q->ratings[k]);
        s_list_add(&o, num, &done);
    }
    return JURY_OK;
}

static jury_err s_parse_span(const s_err *e, jury_settings_t *s, size_t qi, const cJSON *v,
                             const s_path *at)
{
    s_question *q = &s->questions[qi];
    const s_path here = {at, "field", 0};
    const cJSON *field = s_member(v, "field");
    char qb[S_QUOTE_MAX];
    if (field == NULL)
        return s_fail(e, &here, "a span question needs the \"field\" it marks up");
    if (!cJSON_IsString(field) || field->valuestring == NULL)
        return s_fail(e, &here, "must be a string");
    int fi = jury_settings_field_index(s, field->valuestring);
    if (fi < 0)
        return s_fail(e, &here, "unknown field %s; the dataset has fields: %s",
                      s_quote(qb, sizeof qb, field->valuestring), s->field_list);
    if (s->fields[fi].type != JURY_FIELD_TEXT)
        return s_fail(e, &here, "a span question needs a text field, and \"%s\" is a chat field",
                      s->fields[fi].name);
    /* Argilla allows one span question per field. */
    for (size_t k = 0; k < qi; k++)
        if (s->questions[k].type == JURY_QUESTION_SPAN && s->questions[k].span_field == (size_t)fi)
            return s_fail(e, &here, "field \"%s\" already has the span question \"%s\"",
                          s->fields[fi].name, s->questions[k].name);
    q->span_field = (size_t)fi;
    return s_opt_bool(e, v, at, "allow_overlapping", false, &q->allow_overlapping);
}

static jury_err s_parse_question(const s_err *e, jury_settings_t *s, const cJSON *v,
                                 const s_path *at, size_t i)
{
    s_question *q = &s->questions[i];
    const char *type = NULL;
    const char *const *keys;
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (!cJSON_IsObject(v))
        return s_fail(e, at, "a question must be an object");
    if ((rc = s_type_string(e, v, at, &type)) != JURY_OK)
        return rc;
    const s_path type_at = {at, "type", 0};
    if (strcmp(type, "text") == 0)
        q->type = JURY_QUESTION_TEXT, keys = s_text_keys;
    else if (strcmp(type, "rating") == 0)
        q->type = JURY_QUESTION_RATING, keys = s_rating_keys;
    else if (strcmp(type, "label_selection") == 0)
        q->type = JURY_QUESTION_LABEL_SELECTION, keys = s_label_keys;
    else if (strcmp(type, "multi_label_selection") == 0)
        q->type = JURY_QUESTION_MULTI_LABEL_SELECTION, keys = s_multi_keys;
    else if (strcmp(type, "ranking") == 0)
        q->type = JURY_QUESTION_RANKING, keys = s_ranking_keys;
    else if (strcmp(type, "span") == 0)
        q->type = JURY_QUESTION_SPAN, keys = s_span_keys;
    else
        return s_fail(e, &type_at,
                      "unknown question type %s; expected text, rating, label_selection, "
                      "multi_label_selection, ranking or span",
                      s_quote(qb, sizeof qb, type));
    char what[64];
    snprintf(what, sizeof what, "a %s question", type);
    if ((rc = s_only_keys(e, v, at, keys, what)) != JURY_OK)
        return rc;
    if ((rc = s_name(e, s, v, at, s->field_count, i, 0, &q->name)) != JURY_OK)
        return rc;
    if ((rc = s_title(e, v, at, q->name, &q->title)) != JURY_OK)
        return rc;
    if ((rc = s_opt_string(e, v, at, "description", 1, S_DESCRIPTION_MAX, &q->description)) !=
        JURY_OK)
        return rc;
    if ((rc = s_opt_bool(e, v, at, "required", true, &q->required)) != JURY_OK)
        return rc;

    const s_path labels_at = {at, "labels", 0};
    const s_path values_at = {at, "values", 0};
    switch (q->type) {
    case JURY_QUESTION_TEXT:
        return s_opt_bool(e, v, at, "use_markdown", false, &q->use_markdown);
    case JURY_QUESTION_RATING:
        return s_parse_rating(e, q, v, at);
    case JURY_QUESTION_RANKING:
        rc = s_parse_options(e, s_member(v, "values"), &values_at, 2, S_RANKING_MAX, "value",
                             S_RANKING_RULE, &q->options, &q->option_count);
        if (rc == JURY_OK)
            rc = s_opt_bool(e, v, at, "allow_ties", false, &q->allow_ties);
        break;
    case JURY_QUESTION_LABEL_SELECTION:
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
        rc = s_parse_options(e, s_member(v, "labels"), &labels_at, 2, S_LABELS_MAX, "label",
                             S_LABELS_RULE, &q->options, &q->option_count);
        if (rc == JURY_OK)
            rc = s_visible_labels(e, v, at, q->option_count, &q->visible_labels);
        if (rc == JURY_OK && q->type == JURY_QUESTION_MULTI_LABEL_SELECTION) {
            const s_path order_at = {at, "labels_order", 0};
            const cJSON *order = s_member(v, "labels_order");
            if (order != NULL &&
                !(cJSON_IsString(order) && (strcmp(order->valuestring, "natural") == 0 ||
                                            strcmp(order->valuestring, "suggestion") == 0)))
                return s_fail(e, &order_at, "labels_order must be \"natural\" or \"suggestion\"");
            q->order_by_suggestion = order != NULL && strcmp(order->valuestring, "suggestion") == 0;
        }
        break;
    case JURY_QUESTION_SPAN:
        rc = s_parse_span(e, s, i, v, at);
        if (rc == JURY_OK)
            rc = s_parse_options(e, s_member(v, "labels"), &labels_at, 1, S_LABELS_MAX, "label",
                                 S_SPAN_LABELS_RULE, &q->options, &q->option_count);
        if (rc == JURY_OK)
            rc = s_visible_labels(e, v, at, q->option_count, &q->visible_labels);
        break;
    }
    if (rc != JURY_OK)
        return rc;
    if ((q->choices = s_options_list(q->options, q->option_count)) == NULL)
        return s_nomem(e);
    if ((q->option_values = calloc(q->option_count, sizeof *q->option_values)) == NULL)
        return s_nomem(e);
    for (size_t k = 0; k < q->option_count; k++)
        q->option_values[k] = q->options[k].value;
    return JURY_OK;
}

static const char *const s_terms_keys[] = {
    "name", "title", "type", "options", "visible_for_annotators", NULL};
static const char *const s_range_keys[] = {
    "name", "title", "type", "min", "max", "visible_for_annotators", NULL};

static jury_err s_parse_terms(const s_err *e, s_meta *m, const cJSON *v, const s_path *at)
{
    const s_path here = {at, "options", 0};
    const cJSON *opts = s_member(v, "options");
    char qb[S_QUOTE_MAX];
    if (opts == NULL)
        return JURY_OK;
    if (!cJSON_IsArray(opts))
        return s_fail(e, &here, "options must be null or a list of strings");
    size_t n = (size_t)cJSON_GetArraySize(opts);
    if (n == 0)
        return s_fail(e, &here, "options must not be empty; use null to allow any term");
    if ((m->options = calloc(n, sizeof *m->options)) == NULL)
        return s_nomem(e);
    m->option_count = n;
    size_t i = 0;
    for (const cJSON *c = opts->child; c != NULL; c = c->next, i++) {
        const s_path item = {&here, NULL, i};
        if (!cJSON_IsString(c) || c->valuestring == NULL)
            return s_fail(e, &item, "must be a string");
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->options[k], c->valuestring) == 0)
                return s_fail(e, &item, "duplicate option %s",
                              s_quote(qb, sizeof qb, c->valuestring));
        if ((m->options[i] = strdup(c->valuestring)) == NULL)
            return s_nomem(e);
    }
    s_out o;
    bool done = false;
    if ((m->choices = s_list_new(&o)) == NULL)
        return s_nomem(e);
    for (size_t k = 0; k < n; k++)
        s_list_add(&o, s_quote(qb, sizeof qb, m->options[k]), &done);
    return JURY_OK;
}

static jury_err s_parse_bound(const s_err *e, const s_meta *m, const cJSON *v, const s_path *at,
                              const char *key, bool *has, double *out)
{
    const s_path here = {at, key, 0};
    const cJSON *b = s_member(v, key);
    *has = false;
    if (b == NULL)
        return JURY_OK;
    if (m->type == JURY_METADATA_INTEGER) {
        if (!s_int_in(b, -S_INT_SAFE, S_INT_SAFE, NULL))
            return s_fail(e, &here, "must be an integer (within +-(2^53 - 1))");
    } else if (!cJSON_IsNumber(b)) {
        return s_fail(e, &here, "must be a number");
    }
    *has = true;
    *out = b->valuedouble;
    return JURY_OK;
}

static jury_err s_parse_meta(const s_err *e, jury_settings_t *s, const cJSON *v, const s_path *at,
                             size_t i)
{
    s_meta *m = &s->metadata[i];
    const char *type = NULL;
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (!cJSON_IsObject(v))
        return s_fail(e, at, "a metadata property must be an object");
    if ((rc = s_type_string(e, v, at, &type)) != JURY_OK)
        return rc;
    const s_path type_at = {at, "type", 0};
    if (strcmp(type, "terms") == 0)
        m->type = JURY_METADATA_TERMS;
    else if (strcmp(type, "integer") == 0)
        m->type = JURY_METADATA_INTEGER;
    else if (strcmp(type, "float") == 0)
        m->type = JURY_METADATA_FLOAT;
    else
        return s_fail(e, &type_at,
                      "unknown metadata type %s; expected \"terms\", \"integer\" or \"float\"",
                      s_quote(qb, sizeof qb, type));
    char what[64];
    snprintf(what, sizeof what, "%s %s metadata property", type[0] == 'i' ? "an" : "a", type);
    rc = s_only_keys(e, v, at, m->type == JURY_METADATA_TERMS ? s_terms_keys : s_range_keys, what);
    if (rc != JURY_OK)
        return rc;
    if ((rc = s_name(e, s, v, at, s->field_count, s->question_count, i, &m->name)) != JURY_OK)
        return rc;
    if ((rc = s_title(e, v, at, m->name, &m->title)) != JURY_OK)
        return rc;
    if ((rc = s_opt_bool(e, v, at, "visible_for_annotators", true, &m->visible)) != JURY_OK)
        return rc;
    if (m->type == JURY_METADATA_TERMS)
        return s_parse_terms(e, m, v, at);
    if ((rc = s_parse_bound(e, m, v, at, "min", &m->has_min, &m->min)) != JURY_OK)
        return rc;
    if ((rc = s_parse_bound(e, m, v, at, "max", &m->has_max, &m->max)) != JURY_OK)
        return rc;
    if (m->has_min && m->has_max && m->min > m->max) {
        char a[32], b[32];
        return s_fail(e, at, "min (%s) must not be greater than max (%s)",
                      s_num(a, sizeof a, m->min), s_num(b, sizeof b, m->max));
    }
    return JURY_OK;
}

static const char *const s_distribution_keys[] = {
    "strategy",      "min_submitted", "max_discards", "order",
    "lease_seconds", "max_submitted", "until",        "max_records_per_annotator",
    "gold_rate",     "onboarding",    "pause_below",  NULL};
static const char *const s_pause_keys[] = {"accuracy", "after_gold", NULL};
static const char *const s_until_keys[] = {"question", "agreement", "confidence", "prior_accuracy",
                                           NULL};

/* Reads the optional integer member key of obj, lo..hi, into *out, or def when absent or null. */
static jury_err s_opt_uint(const s_err *e, const cJSON *obj, const s_path *at, const char *key,
                           uint32_t lo, uint32_t hi, uint32_t def, uint32_t *out)
{
    const s_path here = {at, key, 0};
    const cJSON *v = s_member(obj, key);
    long long n;
    *out = def;
    if (v == NULL)
        return JURY_OK;
    if (!s_int_in(v, lo, hi, &n))
        return s_fail(e, &here, "%s must be an integer from %u to %u", key, (unsigned)lo,
                      (unsigned)hi);
    *out = (uint32_t)n;
    return JURY_OK;
}

/* distribution.gold_rate, onboarding and pause_below: how gold records are mixed in and when an
 * annotator who misses them is paused. */
static jury_err s_parse_gold_rules(const s_err *e, jury_settings_t *s, const cJSON *v,
                                   const s_path *at)
{
    const cJSON *rate = s_member(v, "gold_rate"), *pause = s_member(v, "pause_below");
    const s_path rate_at = {at, "gold_rate", 0}, pause_at = {at, "pause_below", 0};
    jury_err rc;
    if (rate != NULL) {
        if (!cJSON_IsNumber(rate) || !(rate->valuedouble >= 0.0 && rate->valuedouble <= 0.5))
            return s_fail(e, &rate_at,
                          "gold_rate must be a number from 0 to 0.5: the share of each annotator's "
                          "records that are gold records");
        s->gold_rate = rate->valuedouble;
    }
    if ((rc = s_opt_uint(e, v, at, "onboarding", 0, 1000, 0, &s->onboarding)) != JURY_OK)
        return rc;
    if (pause == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(pause))
        return s_fail(e, &pause_at,
                      "pause_below must be an object like {\"accuracy\": 0.7, \"after_gold\": "
                      "20}");
    if ((rc = s_only_keys(e, pause, &pause_at, s_pause_keys, "distribution.pause_below")) !=
        JURY_OK)
        return rc;
    const cJSON *acc = s_member(pause, "accuracy");
    const s_path acc_at = {&pause_at, "accuracy", 0};
    if (!cJSON_IsNumber(acc) || !(acc->valuedouble > 0.0 && acc->valuedouble <= 1.0))
        return s_fail(e, &acc_at,
                      "accuracy must be a number above 0 and at most 1: the share of gold "
                      "answers an annotator must get right");
    s->pause_accuracy = acc->valuedouble;
    return s_opt_uint(e, pause, &pause_at, "after_gold", 1, 100000, 20, &s->pause_after);
}

static jury_err s_parse_distribution(const s_err *e, jury_settings_t *s, const cJSON *v)
{
    const s_path at = {NULL, "distribution", 0};
    const s_path strategy_at = {&at, "strategy", 0};
    const s_path min_at = {&at, "min_submitted", 0};
    const s_path order_at = {&at, "order", 0};
    jury_err rc;
    s->overlap = 1.0;
    s->min_submitted = 1;
    s->max_discards = S_MAX_DISCARDS_DEF;
    s->order = JURY_ORDER_COMPLETE_FIRST;
    s->lease_seconds = S_LEASE_DEF;
    if (v == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(v))
        return s_fail(e, &at,
                      "must be an object like {\"strategy\": \"overlap\", "
                      "\"min_submitted\": 1}");
    if ((rc = s_only_keys(e, v, &at, s_distribution_keys, "distribution")) != JURY_OK)
        return rc;
    const cJSON *strategy = s_member(v, "strategy");
    if (strategy != NULL &&
        !(cJSON_IsString(strategy) && strcmp(strategy->valuestring, "overlap") == 0))
        return s_fail(e, &strategy_at, "strategy must be \"overlap\"");
    const cJSON *min = s_member(v, "min_submitted");
    if (min != NULL) {
        /* A fraction splits the records between floor(N) and floor(N) + 1 annotators
         * (jury_settings_record_target). */
        if (!cJSON_IsNumber(min) ||
            !(min->valuedouble >= 1.0 && min->valuedouble <= S_MIN_SUBMITTED_MAX))
            return s_fail(e, &min_at,
                          "min_submitted must be a number from 1 to %d (a fraction such as 1.5 "
                          "gives half the records 2 annotators)",
                          S_MIN_SUBMITTED_MAX);
        s->overlap = min->valuedouble;
        s->min_submitted = (uint32_t)min->valuedouble; /* floor: the value is positive */
    }
    rc = s_opt_uint(e, v, &at, "max_discards", 1, S_MAX_DISCARDS_MAX, S_MAX_DISCARDS_DEF,
                    &s->max_discards);
    if (rc != JURY_OK)
        return rc;
    const cJSON *order = s_member(v, "order");
    if (order != NULL) {
        if (cJSON_IsString(order) && strcmp(order->valuestring, "complete_first") == 0)
            s->order = JURY_ORDER_COMPLETE_FIRST;
        else if (cJSON_IsString(order) && strcmp(order->valuestring, "random") == 0)
            s->order = JURY_ORDER_RANDOM;
        else
            return s_fail(e, &order_at, "order must be \"complete_first\" or \"random\"");
    }
    rc = s_opt_uint(e, v, &at, "lease_seconds", S_LEASE_MIN, S_LEASE_MAX, S_LEASE_DEF,
                    &s->lease_seconds);
    if (rc != JURY_OK)
        return rc;
    rc = s_opt_uint(e, v, &at, "max_records_per_annotator", 1, S_QUOTA_MAX, 0,
                    &s->max_per_annotator);
    if (rc != JURY_OK)
        return rc;
    if ((rc = s_parse_gold_rules(e, s, v, &at)) != JURY_OK)
        return rc;
    /* Dynamic overlap: max_submitted and until come together. The question is checked once the
     * questions are read (s_check_until). */
    const cJSON *max = s_member(v, "max_submitted"), *until = s_member(v, "until");
    const s_path max_at = {&at, "max_submitted", 0}, until_at = {&at, "until", 0};
    uint32_t least =
        s->overlap > (double)s->min_submitted ? s->min_submitted + 1 : s->min_submitted;
    if (max != NULL) {
        long long n;
        if (!s_int_in(max, 1, S_MIN_SUBMITTED_MAX, &n))
            return s_fail(e, &max_at, "max_submitted must be an integer from 1 to %d",
                          S_MIN_SUBMITTED_MAX);
        if ((uint32_t)n < least)
            return s_fail(e, &max_at,
                          "max_submitted (%lld) must not be below min_submitted (%u%s): it is the "
                          "most submitted responses a record may get",
                          n, least, least > s->min_submitted ? ", rounded up" : "");
        s->max_submitted = (uint32_t)n;
    }
    if (until == NULL && max == NULL)
        return JURY_OK;
    if (until == NULL)
        return s_fail(e, &max_at,
                      "max_submitted needs an until rule, like \"until\": {\"question\": "
                      "\"label\", \"agreement\": 0.8}: it says when a record needs no more "
                      "responses");
    if (max == NULL)
        return s_fail(e, &until_at,
                      "until needs max_submitted: the most responses a record may get");
    if (!cJSON_IsObject(until))
        return s_fail(e, &until_at,
                      "until must be an object like {\"question\": \"label\", \"agreement\": "
                      "0.8}");
    if ((rc = s_only_keys(e, until, &until_at, s_until_keys, "distribution.until")) != JURY_OK)
        return rc;
    const cJSON *q = s_member(until, "question"), *agr = s_member(until, "agreement"),
                *conf = s_member(until, "confidence"), *prior = s_member(until, "prior_accuracy");
    const s_path q_at = {&until_at, "question", 0}, agr_at = {&until_at, "agreement", 0},
                 conf_at = {&until_at, "confidence", 0},
                 prior_at = {&until_at, "prior_accuracy", 0};
    if (!cJSON_IsString(q))
        return s_fail(e, &q_at, "question must name a label_selection or rating question");
    if ((agr == NULL) == (conf == NULL))
        return s_fail(e, &until_at,
                      "until needs either agreement (the share of agreeing pairs of responses a "
                      "record needs) or confidence (the Dawid-Skene posterior of its most likely "
                      "answer), not %s",
                      agr ? "both" : "neither");
    if (agr != NULL) {
        if (!cJSON_IsNumber(agr) || !(agr->valuedouble >= 0.0 && agr->valuedouble <= 1.0))
            return s_fail(e, &agr_at,
                          "agreement must be a number from 0 to 1: the share of agreeing pairs of "
                          "responses a record needs");
        if (prior != NULL)
            return s_fail(e, &prior_at, "prior_accuracy goes with confidence, not with agreement");
        s->until_agreement = agr->valuedouble;
    } else {
        if (!cJSON_IsNumber(conf) || !(conf->valuedouble >= 0.5 && conf->valuedouble <= 0.999))
            return s_fail(e, &conf_at,
                          "confidence must be a number from 0.5 to 0.999: the posterior "
                          "probability of the most likely answer a record needs");
        s->until_confidence = conf->valuedouble;
        s->until_prior = 0.7;
        if (prior != NULL) {
            if (!cJSON_IsNumber(prior) ||
                !(prior->valuedouble >= 0.5 && prior->valuedouble <= 0.999))
                return s_fail(e, &prior_at,
                              "prior_accuracy must be a number from 0.5 to 0.999: how often an "
                              "annotator with too few gold answers is taken to be right");
            s->until_prior = prior->valuedouble;
        }
    }
    if ((s->until_question = strdup(q->valuestring)) == NULL)
        return s_nomem(e);
    return JURY_OK;
}

/* The question of distribution.until must exist and have a per-record agreement: label_selection
 * and rating questions, whose answers are categories (the coordinator tracks those live). */
static jury_err s_check_until(const s_err *e, const jury_settings_t *s)
{
    if (s->until_question == NULL)
        return JURY_OK;
    const s_path at = {NULL, "distribution", 0}, until_at = {&at, "until", 0};
    const s_path q_at = {&until_at, "question", 0};
    char qb[S_QUOTE_MAX];
    int qi = jury_settings_question_index(s, s->until_question);
    if (qi < 0)
        return s_fail(e, &q_at, "unknown question %s; the dataset has questions: %s",
                      s_quote(qb, sizeof qb, s->until_question), s->question_list);
    jury_question_type t = s->questions[qi].type;
    if (t != JURY_QUESTION_LABEL_SELECTION && t != JURY_QUESTION_RATING)
        return s_fail(e, &q_at,
                      "%s is a %s question, which has no per-record agreement to wait for; use a "
                      "label_selection or rating question",
                      s_quote(qb, sizeof qb, s->until_question), s_question_type_name(t));
    return JURY_OK;
}

/* Checks that v is a list of 1..JURY_SETTINGS_ITEMS_MAX entries (or absent/null when optional)
 * and allocates n zeroed items of size each in *items. */
static jury_err s_items(const s_err *e, const cJSON *v, const s_path *at, bool optional,
                        const char *one, const char *many, size_t size, void **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (v == NULL && optional)
        return JURY_OK;
    if (!cJSON_IsArray(v))
        return s_fail(e, at, "must be a list of %s", many);
    if (!optional && cJSON_GetArraySize(v) == 0)
        return s_fail(e, at, "the settings need at least one %s", one);
    size_t count = (size_t)cJSON_GetArraySize(v);
    if (count > JURY_SETTINGS_ITEMS_MAX)
        return s_fail(e, at, "at most %d %s are allowed", JURY_SETTINGS_ITEMS_MAX, many);
    if (count == 0)
        return JURY_OK;
    if ((*items = calloc(count, size)) == NULL)
        return s_nomem(e);
    *n = count;
    return JURY_OK;
}

/* Finds the question named by a key of suggestions, responses, answers or
 * consolidation. */
static jury_err s_question_of(const jury_settings_t *s, const cJSON *c, uint64_t *seen,
                              const s_err *e, const s_path *here, const s_question **out)
{
    char qb[S_QUOTE_MAX];
    int qi = jury_settings_question_index(s, s_key(c));
    if (qi < 0)
        return s_fail(e, here, "unknown question %s; the dataset has questions: %s",
                      s_quote(qb, sizeof qb, s_key(c)), s->question_list);
    if (s_bit(seen, (size_t)qi))
        return s_fail(e, here, "duplicate key \"%s\"", s->questions[qi].name);
    s_set_bit(seen, (size_t)qi);
    *out = &s->questions[qi];
    return JURY_OK;
}

/* The index of the option called value of q, or -1. */
static int s_option_find(const s_question *q, const char *value)
{
    for (size_t i = 0; i < q->option_count; i++)
        if (strcmp(q->options[i].value, value) == 0)
            return (int)i;
    return -1;
}

static const char *const s_consolidation_keys[] = {"methods", "accept", NULL};
static const char *const s_accept_keys[] = {"min_agreement", "min_value", "max_value", "require",
                                            NULL};

/* Reads consolidation.methods, {question: method}; the questions it leaves out (or gives null)
 * keep their type's default. */
static jury_err s_parse_methods(const s_err *e, jury_settings_t *s, const cJSON *v,
                                const s_path *at)
{
    uint64_t seen[S_ITEM_WORDS] = {0};
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (v == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(v))
        return s_fail(e, at, "must be an object of methods by question name");
    for (const cJSON *c = v->child; c != NULL; c = c->next) {
        const s_path here = {at, s_key(c), 0};
        const s_question *q = NULL;
        if ((rc = s_question_of(s, c, seen, e, &here, &q)) != JURY_OK)
            return rc;
        if (cJSON_IsNull(c))
            continue;
        const char *type = s_question_type_name(q->type);
        const char *choices = jury_method_choices(q->type);
        if (!cJSON_IsString(c) || c->valuestring == NULL)
            return s_fail(e, &here, "must be a method name; a %s question takes %s", type, choices);
        if (jury_method_parse(q->type, c->valuestring, &s->questions[q - s->questions].method))
            continue;
        bool known = false;
        for (size_t m = 0; m < JURY_METHOD_COUNT && !known; m++)
            known = strcmp(s_method_names[m], c->valuestring) == 0;
        if (!known)
            return s_fail(e, &here, "unknown method %s; a %s question takes %s",
                          s_quote(qb, sizeof qb, c->valuestring), type, choices);
        return s_fail(e, &here, "method \"%s\" does not apply to a %s question, which takes %s",
                      c->valuestring, type, choices);
    }
    return JURY_OK;
}

/* Reads one {question: number} map of consolidation.accept: min_agreement, min_value or
 * max_value (kind). */
static jury_err s_parse_thresholds(const s_err *e, jury_settings_t *s, const cJSON *accept,
                                   const s_path *accept_at, jury_rule_kind kind)
{
    const char *key = kind == JURY_RULE_MIN_AGREEMENT ? "min_agreement"
                      : kind == JURY_RULE_MIN_VALUE   ? "min_value"
                                                      : "max_value";
    const s_path at = {accept_at, key, 0};
    const cJSON *v = s_member(accept, key);
    uint64_t seen[S_ITEM_WORDS] = {0};
    char a[32], b[32];
    jury_err rc;
    if (v == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(v))
        return s_fail(e, &at, "must be an object of thresholds by question name");
    for (const cJSON *c = v->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        const s_question *found = NULL;
        if ((rc = s_question_of(s, c, seen, e, &here, &found)) != JURY_OK)
            return rc;
        if (cJSON_IsNull(c))
            continue;
        s_question *q = &s->questions[found - s->questions];
        double d = cJSON_IsNumber(c) ? c->valuedouble : 0.0;
        if (kind == JURY_RULE_MIN_AGREEMENT) {
            if (!cJSON_IsNumber(c) || !(d >= 0.0 && d <= 1.0))
                return s_fail(e, &here, "min_agreement must be a number from 0 to 1");
            q->has_min_agreement = true;
            q->min_agreement = d;
            continue;
        }
        if (q->type != JURY_QUESTION_RATING)
            return s_fail(e, &here, "%s applies to rating questions, and \"%s\" is a %s", key,
                          q->name, s_question_type_name(q->type));
        /* A unified rating may be fractional (mean), so a threshold may be too. */
        double lo = q->rating_sorted[0], hi = q->rating_sorted[q->rating_count - 1];
        if (!cJSON_IsNumber(c) || !(d >= lo && d <= hi))
            return s_fail(e, &here,
                          "%s must be a number from %s to %s, the question's lowest and "
                          "highest value",
                          key, s_num(a, sizeof a, lo), s_num(b, sizeof b, hi));
        if (kind == JURY_RULE_MIN_VALUE) {
            q->has_min_value = true;
            q->min_value = d;
        } else {
            q->has_max_value = true;
            q->max_value = d;
        }
    }
    return JURY_OK;
}

/* Reads consolidation.accept.require: {label_selection question: label or list of labels}. */
static jury_err s_parse_require(const s_err *e, jury_settings_t *s, const cJSON *accept,
                                const s_path *accept_at)
{
    const s_path at = {accept_at, "require", 0};
    const cJSON *v = s_member(accept, "require");
    uint64_t seen[S_ITEM_WORDS] = {0};
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (v == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(v))
        return s_fail(e, &at, "must be an object of accepted labels by question name");
    for (const cJSON *c = v->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        const s_question *found = NULL;
        if ((rc = s_question_of(s, c, seen, e, &here, &found)) != JURY_OK)
            return rc;
        if (cJSON_IsNull(c))
            continue;
        s_question *q = &s->questions[found - s->questions];
        if (q->type != JURY_QUESTION_LABEL_SELECTION)
            return s_fail(e, &here,
                          "require applies to label_selection questions, and \"%s\" is a %s",
                          q->name, s_question_type_name(q->type));
        bool list = cJSON_IsArray(c);
        if ((!list && !cJSON_IsString(c)) || (list && c->child == NULL))
            return s_fail(e, &here, "require must be a label or a non-empty list of labels from %s",
                          q->choices);
        uint64_t picked[S_LABEL_WORDS] = {0};
        size_t n = 0, i = 0;
        for (const cJSON *t = list ? c->child : c; t != NULL; t = list ? t->next : NULL, i++) {
            const s_path item = {&here, NULL, i};
            const s_path *where = list ? &item : &here;
            if (!cJSON_IsString(t) || t->valuestring == NULL)
                return s_fail(e, where, "must be a label string");
            int k = s_option_find(q, t->valuestring);
            if (k < 0)
                return s_fail(e, where, "%s is not one of the labels %s",
                              s_quote(qb, sizeof qb, t->valuestring), q->choices);
            if (s_bit(picked, (size_t)k))
                return s_fail(e, where, "label %s is given twice",
                              s_quote(qb, sizeof qb, t->valuestring));
            s_set_bit(picked, (size_t)k);
            n++;
        }
        if ((q->require = calloc(n, sizeof *q->require)) == NULL)
            return s_nomem(e);
        /* Option order, whatever order the labels were given in. */
        for (size_t k = 0; k < q->option_count; k++)
            if (s_bit(picked, k))
                q->require[q->require_count++] = (uint32_t)k;
    }
    return JURY_OK;
}

/* Lays out the rules in normalised order: by kind, then by question. */
static jury_err s_build_rules(const s_err *e, jury_settings_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->question_count; i++) {
        const s_question *q = &s->questions[i];
        n += (size_t)q->has_min_agreement + (size_t)q->has_min_value + (size_t)q->has_max_value +
             (size_t)(q->require != NULL);
    }
    if (n == 0)
        return JURY_OK;
    if ((s->rules = calloc(n, sizeof *s->rules)) == NULL)
        return s_nomem(e);
    for (int kind = JURY_RULE_MIN_AGREEMENT; kind <= JURY_RULE_REQUIRE; kind++) {
        for (size_t i = 0; i < s->question_count; i++) {
            const s_question *q = &s->questions[i];
            jury_rule_t r = {(jury_rule_kind)kind, i, 0.0, NULL, 0};
            if (kind == JURY_RULE_MIN_AGREEMENT && q->has_min_agreement)
                r.threshold = q->min_agreement;
            else if (kind == JURY_RULE_MIN_VALUE && q->has_min_value)
                r.threshold = q->min_value;
            else if (kind == JURY_RULE_MAX_VALUE && q->has_max_value)
                r.threshold = q->max_value;
            else if (kind == JURY_RULE_REQUIRE && q->require != NULL)
                r.labels = q->require, r.nlabels = q->require_count;
            else
                continue;
            s->rules[s->rule_count++] = r;
        }
    }
    return JURY_OK;
}

/* Reads the optional consolidation section; needs the questions and their name list. */
static jury_err s_parse_consolidation(const s_err *e, jury_settings_t *s, const cJSON *v)
{
    const s_path at = {NULL, "consolidation", 0};
    const s_path methods_at = {&at, "methods", 0};
    const s_path accept_at = {&at, "accept", 0};
    jury_err rc;
    for (size_t i = 0; i < s->question_count; i++)
        s->questions[i].method = jury_method_default(s->questions[i].type);
    if (v == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(v))
        return s_fail(e, &at, "must be an object like {\"methods\": {...}, \"accept\": {...}}");
    if ((rc = s_only_keys(e, v, &at, s_consolidation_keys, "consolidation")) != JURY_OK)
        return rc;
    if ((rc = s_parse_methods(e, s, s_member(v, "methods"), &methods_at)) != JURY_OK)
        return rc;
    const cJSON *accept = s_member(v, "accept");
    if (accept != NULL) {
        if (!cJSON_IsObject(accept))
            return s_fail(e, &accept_at,
                          "must be an object like {\"min_agreement\": {...}, \"require\": {...}}");
        if ((rc = s_only_keys(e, accept, &accept_at, s_accept_keys, "consolidation.accept")) !=
            JURY_OK)
            return rc;
        for (int kind = JURY_RULE_MIN_AGREEMENT; kind <= JURY_RULE_MAX_VALUE; kind++)
            if ((rc = s_parse_thresholds(e, s, accept, &accept_at, (jury_rule_kind)kind)) !=
                JURY_OK)
                return rc;
        if ((rc = s_parse_require(e, s, accept, &accept_at)) != JURY_OK)
            return rc;
    }
    return s_build_rules(e, s);
}

static const char *const s_settings_keys[] = {
    "guidelines",           "fields",       "questions",     "metadata",
    "allow_extra_metadata", "distribution", "consolidation", NULL};

static jury_err s_parse_doc(const s_err *e, jury_settings_t *s, const cJSON *doc)
{
    const s_path fields_at = {NULL, "fields", 0};
    const s_path questions_at = {NULL, "questions", 0};
    const s_path metadata_at = {NULL, "metadata", 0};
    jury_err rc;
    void *items;
    if (!cJSON_IsObject(doc))
        return s_fail(e, NULL, "settings must be a JSON object");
    if ((rc = s_only_keys(e, doc, NULL, s_settings_keys, "the settings document")) != JURY_OK)
        return rc;
    if ((rc = s_opt_string(e, doc, NULL, "guidelines", 0, 0, &s->guidelines)) != JURY_OK)
        return rc;
    /* Argilla 2's Settings(allow_extra_metadata=False): the SDK's docstring and its
     * "Dataset settings" guide both say "Defaults to False" (argilla/settings/_resource.py). */
    rc = s_opt_bool(e, doc, NULL, "allow_extra_metadata", false, &s->allow_extra_metadata);
    if (rc != JURY_OK)
        return rc;
    if ((rc = s_parse_distribution(e, s, s_member(doc, "distribution"))) != JURY_OK)
        return rc;

    const cJSON *fields = s_member(doc, "fields");
    rc = s_items(e, fields, &fields_at, false, "field", "fields", sizeof(s_field), &items,
                 &s->field_count);
    if (rc != JURY_OK)
        return rc;
    s->fields = items;
    size_t i = 0;
    for (const cJSON *c = fields->child; c != NULL; c = c->next, i++) {
        const s_path at = {&fields_at, NULL, i};
        if ((rc = s_parse_field(e, s, c, &at, i)) != JURY_OK)
            return rc;
    }

    /* Span questions name fields in their messages, so the field list is needed from here on. */
    s_out o;
    bool done = false;
    if ((s->field_list = s_list_new(&o)) == NULL)
        return s_nomem(e);
    for (i = 0; i < s->field_count; i++)
        s_list_add(&o, s->fields[i].name, &done);

    const cJSON *questions = s_member(doc, "questions");
    rc = s_items(e, questions, &questions_at, false, "question", "questions", sizeof(s_question),
                 &items, &s->question_count);
    if (rc != JURY_OK)
        return rc;
    s->questions = items;
    i = 0;
    bool any_required = false;
    for (const cJSON *c = questions->child; c != NULL; c = c->next, i++) {
        const s_path at = {&questions_at, NULL, i};
        if ((rc = s_parse_question(e, s, c, &at, i)) != JURY_OK)
            return rc;
        any_required |= s->questions[i].required;
    }
    if (!any_required)
        return s_fail(e, &questions_at, "at least one question must be required");

    const cJSON *metadata = s_member(doc, "metadata");
    rc = s_items(e, metadata, &metadata_at, true, "metadata property", "metadata properties",
                 sizeof(s_meta), &items, &s->metadata_count);
    if (rc != JURY_OK)
        return rc;
    s->metadata = items;
    i = 0;
    for (const cJSON *c = metadata ? metadata->child : NULL; c != NULL; c = c->next, i++) {
        const s_path at = {&metadata_at, NULL, i};
        if ((rc = s_parse_meta(e, s, c, &at, i)) != JURY_OK)
            return rc;
    }
    if (!s_name_lists(s))
        return s_nomem(e);
    /* Last: it names questions, and its messages list them. */
    if ((rc = s_check_until(e, s)) != JURY_OK)
        return rc;
    return s_parse_consolidation(e, s, s_member(doc, "consolidation"));
}

jury_err jury_settings_parse(jury_settings_t **out, const char *json, size_t len, char *err,
                             size_t errlen)
{
    const s_err e = {err, errlen};
    size_t bad;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL || (json == NULL && len > 0))
        return s_fail(&e, &s_bare, "jury_settings_parse: invalid arguments");
    if (!jury_utf8_valid(json, len, &bad))
        return s_fail(&e, NULL, "invalid UTF-8 at byte %zu", bad);
    if (len == 0)
        return s_fail(&e, NULL, "invalid JSON near byte 0: the document is empty");

    const char *end = json;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (doc == NULL)
        return s_fail(&e, NULL, "invalid JSON near byte %zu", (size_t)(end - json));
    size_t used = (size_t)(end - json);
    while (used < len &&
           (json[used] == ' ' || json[used] == '\t' || json[used] == '\n' || json[used] == '\r'))
        used++;
    if (used < len) {
        cJSON_Delete(doc);
        return s_fail(&e, NULL, "unexpected text after the JSON document at byte %zu", used);
    }

    jury_settings_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cJSON_Delete(doc);
        return s_nomem(&e);
    }
    jury_err rc = s_parse_doc(&e, s, doc);
    cJSON_Delete(doc);
    if (rc != JURY_OK) {
        jury_settings_destroy(&s);
        return rc;
    }
    *out = s;
    return JURY_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Normalised output.
 */

/* Adds an integer-valued number; beyond int's range cJSON would print 1e+15, so it is raw text. */
static cJSON *s_add_int(cJSON *obj, const char *key, double d)
{
    if (d >= -2147483648.0 && d <= 2147483647.0)
        return cJSON_AddNumberToObject(obj, key, d);
    char buf[32];
    snprintf(buf, sizeof buf, "%.0f", d);
    return cJSON_AddRawToObject(obj, key, buf);
}

/* Adds a number as the shortest text that reads back as the same double. cJSON's own printing
 * settles for 15 digits when they come within an epsilon, which would move a fractional
 * min_submitted by one ulp on each round trip. */
static cJSON *s_add_exact(cJSON *obj, const char *key, double d)
{
    char buf[32];
    if (d >= -S_INT_SAFE && d <= S_INT_SAFE && (double)(long long)d == d)
        return s_add_int(obj, key, d);
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return cJSON_AddRawToObject(obj, key, buf);
}

static cJSON *s_add_string_or_null(cJSON *obj, const char *key, const char *value)
{
    return value != NULL ? cJSON_AddStringToObject(obj, key, value)
                         : cJSON_AddNullToObject(obj, key);
}

static cJSON *s_add_options(cJSON *obj, const char *key, const s_option *opts, size_t n)
{
    cJSON *o = cJSON_AddObjectToObject(obj, key);
    for (size_t i = 0; o != NULL && i < n; i++)
        if (cJSON_AddStringToObject(o, opts[i].value, opts[i].title) == NULL)
            return NULL;
    return o;
}

static cJSON *s_add_visible(cJSON *obj, int visible)
{
    return visible > 0 ? cJSON_AddNumberToObject(obj, "visible_labels", visible)
                       : cJSON_AddNullToObject(obj, "visible_labels");
}

static bool s_question_json(const jury_settings_t *s, const s_question *q, cJSON *o)
{
    bool ok = cJSON_AddStringToObject(o, "name", q->name) &&
              cJSON_AddStringToObject(o, "title", q->title) &&
              s_add_string_or_null(o, "description", q->description) &&
              cJSON_AddBoolToObject(o, "required", q->required) &&
              cJSON_AddStringToObject(o, "type", s_question_type_name(q->type));
    if (!ok)
        return false;
    switch (q->type) {
    case JURY_QUESTION_TEXT:
        return cJSON_AddBoolToObject(o, "use_markdown", q->use_markdown) != NULL;
    case JURY_QUESTION_RATING: {
        cJSON *values = cJSON_CreateIntArray(q->ratings, (int)q->rating_count);
        if (values == NULL)
            return false;
        if (!cJSON_AddItemToObject(o, "values", values)) {
            cJSON_Delete(values);
            return false;
        }
        return true;
    }
    case JURY_QUESTION_LABEL_SELECTION:
        return s_add_options(o, "labels", q->options, q->option_count) &&
               s_add_visible(o, q->visible_labels);
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
        return s_add_options(o, "labels", q->options, q->option_count) &&
               s_add_visible(o, q->visible_labels) &&
               cJSON_AddStringToObject(o, "labels_order",
                                       q->order_by_suggestion ? "suggestion" : "natural");
    case JURY_QUESTION_RANKING:
        return s_add_options(o, "values", q->options, q->option_count) &&
               cJSON_AddBoolToObject(o, "allow_ties", q->allow_ties);
    case JURY_QUESTION_SPAN:
        return cJSON_AddStringToObject(o, "field", s->fields[q->span_field].name) &&
               s_add_options(o, "labels", q->options, q->option_count) &&
               cJSON_AddBoolToObject(o, "allow_overlapping", q->allow_overlapping) &&
               s_add_visible(o, q->visible_labels);
    }
    return false;
}

static bool s_meta_json(const s_meta *m, cJSON *o)
{
    static const char *const types[] = {"terms", "integer", "float"};
    bool ok = cJSON_AddStringToObject(o, "name", m->name) &&
              cJSON_AddStringToObject(o, "title", m->title) &&
              cJSON_AddStringToObject(o, "type", types[m->type]);
    if (!ok)
        return false;
    if (m->type == JURY_METADATA_TERMS) {
        if (m->options == NULL) {
            ok = cJSON_AddNullToObject(o, "options") != NULL;
        } else {
            cJSON *opts = cJSON_AddArrayToObject(o, "options");
            ok = opts != NULL;
            for (size_t k = 0; ok && k < m->option_count; k++) {
                cJSON *str = cJSON_CreateString(m->options[k]);
                ok = str != NULL && cJSON_AddItemToArray(opts, str);
                if (!ok)
                    cJSON_Delete(str);
            }
        }
    } else if (m->type == JURY_METADATA_INTEGER) {
        ok = (m->has_min ? s_add_int(o, "min", m->min) : cJSON_AddNullToObject(o, "min")) &&
             (m->has_max ? s_add_int(o, "max", m->max) : cJSON_AddNullToObject(o, "max"));
    } else {
        ok = (m->has_min ? cJSON_AddNumberToObject(o, "min", m->min)
                         : cJSON_AddNullToObject(o, "min")) &&
             (m->has_max ? cJSON_AddNumberToObject(o, "max", m->max)
                         : cJSON_AddNullToObject(o, "max"));
    }
    return ok && cJSON_AddBoolToObject(o, "visible_for_annotators", m->visible);
}

/* Adds {question: number} for the questions with has set, in question order. */
static bool s_thresholds_json(const jury_settings_t *s, cJSON *accept, jury_rule_kind kind)
{
    static const char *const keys[] = {"min_agreement", "min_value", "max_value"};
    cJSON *o = cJSON_AddObjectToObject(accept, keys[kind]);
    for (size_t i = 0; o != NULL && i < s->question_count; i++) {
        const s_question *q = &s->questions[i];
        bool has = kind == JURY_RULE_MIN_AGREEMENT ? q->has_min_agreement
                   : kind == JURY_RULE_MIN_VALUE   ? q->has_min_value
                                                   : q->has_max_value;
        double d = kind == JURY_RULE_MIN_AGREEMENT ? q->min_agreement
                   : kind == JURY_RULE_MIN_VALUE   ? q->min_value
                                                   : q->max_value;
        if (has && s_add_exact(o, q->name, d) == NULL)
            return false;
    }
    return o != NULL;
}

/* Adds the consolidation section: every question's method, and every accept map even when
 * empty, entries in question order and required labels in option order. */
static bool s_consolidation_json(const jury_settings_t *s, cJSON *doc)
{
    cJSON *c = NULL, *methods = NULL, *accept = NULL, *require = NULL;
    bool ok = (c = cJSON_AddObjectToObject(doc, "consolidation")) != NULL &&
              (methods = cJSON_AddObjectToObject(c, "methods")) != NULL &&
              (accept = cJSON_AddObjectToObject(c, "accept")) != NULL &&
              s_thresholds_json(s, accept, JURY_RULE_MIN_AGREEMENT) &&
              s_thresholds_json(s, accept, JURY_RULE_MIN_VALUE) &&
              s_thresholds_json(s, accept, JURY_RULE_MAX_VALUE) &&
              (require = cJSON_AddObjectToObject(accept, "require")) != NULL;
    for (size_t i = 0; ok && i < s->question_count; i++) {
        const s_question *q = &s->questions[i];
        ok = cJSON_AddStringToObject(methods, q->name, jury_method_name(q->method)) != NULL;
        if (!ok || q->require == NULL)
            continue;
        cJSON *labels = cJSON_AddArrayToObject(require, q->name);
        ok = labels != NULL;
        for (size_t k = 0; ok && k < q->require_count; k++) {
            cJSON *str = cJSON_CreateString(q->options[q->require[k]].value);
            ok = str != NULL && cJSON_AddItemToArray(labels, str);
            if (!ok)
                cJSON_Delete(str);
        }
    }
    return ok;
}

/* Adds distribution.pause_below. */
static bool s_pause_json(const jury_settings_t *s, cJSON *dist)
{
    cJSON *p = cJSON_AddObjectToObject(dist, "pause_below");
    return p != NULL && s_add_exact(p, "accuracy", s->pause_accuracy) &&
           cJSON_AddNumberToObject(p, "after_gold", s->pause_after);
}

/* Adds distribution.until (dynamic overlap). */
static bool s_until_json(const jury_settings_t *s, cJSON *dist)
{
    cJSON *u = cJSON_AddObjectToObject(dist, "until");
    if (u == NULL || !cJSON_AddStringToObject(u, "question", s->until_question))
        return false;
    if (s->until_confidence > 0)
        return s_add_exact(u, "confidence", s->until_confidence) &&
               s_add_exact(u, "prior_accuracy", s->until_prior);
    return s_add_exact(u, "agreement", s->until_agreement);
}

/* The normalised settings as a cJSON document, or NULL when out of memory. Caller deletes it. */
static cJSON *s_doc_json(const jury_settings_t *s)
{
    static const char *const field_types[] = {"text", "chat"};
    cJSON *doc = cJSON_CreateObject();
    cJSON *dist = NULL, *fields = NULL, *questions = NULL, *metadata = NULL;
    if (doc == NULL)
        return NULL;
    bool ok = s_add_string_or_null(doc, "guidelines", s->guidelines) &&
              cJSON_AddBoolToObject(doc, "allow_extra_metadata", s->allow_extra_metadata) &&
              (dist = cJSON_AddObjectToObject(doc, "distribution")) != NULL &&
              cJSON_AddStringToObject(dist, "strategy", "overlap") &&
              s_add_exact(dist, "min_submitted", s->overlap) &&
              cJSON_AddNumberToObject(dist, "max_discards", s->max_discards) &&
              cJSON_AddStringToObject(
                  dist, "order", s->order == JURY_ORDER_RANDOM ? "random" : "complete_first") &&
              cJSON_AddNumberToObject(dist, "lease_seconds", s->lease_seconds) &&
              (s->gold_rate == 0 || s_add_exact(dist, "gold_rate", s->gold_rate)) &&
              (s->onboarding == 0 || cJSON_AddNumberToObject(dist, "onboarding", s->onboarding)) &&
              (s->pause_accuracy == 0 || s_pause_json(s, dist)) &&
              (s->max_per_annotator == 0 ||
               cJSON_AddNumberToObject(dist, "max_records_per_annotator", s->max_per_annotator)) &&
              (s->max_submitted == 0 ||
               (cJSON_AddNumberToObject(dist, "max_submitted", s->max_submitted) &&
                s_until_json(s, dist))) &&
              (fields = cJSON_AddArrayToObject(doc, "fields")) != NULL &&
              (questions = cJSON_AddArrayToObject(doc, "questions")) != NULL &&
              (metadata = cJSON_AddArrayToObject(doc, "metadata")) != NULL;
    for (size_t i = 0; ok && i < s->field_count; i++) {
        const s_field *f = &s->fields[i];
        cJSON *o = cJSON_CreateObject();
        ok = o != NULL && cJSON_AddItemToArray(fields, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "name", f->name) &&
             cJSON_AddStringToObject(o, "title", f->title) &&
             cJSON_AddStringToObject(o, "type", field_types[f->type]) &&
             cJSON_AddBoolToObject(o, "required", f->required) &&
             cJSON_AddBoolToObject(o, "use_markdown", f->use_markdown);
    }
    for (size_t i = 0; ok && i < s->question_count; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o != NULL && cJSON_AddItemToArray(questions, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = s_question_json(s, &s->questions[i], o);
    }
    for (size_t i = 0; ok && i < s->metadata_count; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o != NULL && cJSON_AddItemToArray(metadata, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = s_meta_json(&s->metadata[i], o);
    }
    if (ok)
        ok = s_consolidation_json(s, doc);
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

char *jury_settings_to_json(const jury_settings_t *s, bool pretty)
{
    cJSON *doc = s_doc_json(s);
    if (doc == NULL)
        return NULL;
    char *text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

bool jury_settings_compatible(const jury_settings_t *a, const jury_settings_t *b, char *err,
                              size_t errlen)
{
    const s_err e = {err, errlen};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (a == NULL || b == NULL) {
        s_fail(&e, &s_bare, "jury_settings_compatible: invalid arguments");
        return false;
    }
    cJSON *da = s_doc_json(a), *db = s_doc_json(b);
    bool same = da != NULL && db != NULL;
    if (!same)
        s_nomem(&e);
    /* Both documents have the same sections in the same order; compare each one's text. */
    for (const cJSON *x = same ? da->child : NULL; x != NULL && same; x = x->next) {
        const char *key = s_key(x);
        if (strcmp(key, "guidelines") == 0 || strcmp(key, "consolidation") == 0)
            continue;
        char *ta = cJSON_PrintUnformatted(x);
        char *tb = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(db, key));
        if (ta == NULL || tb == NULL)
            s_nomem(&e);
        else if (strcmp(ta, tb) != 0)
            s_fail(&e, &s_bare, "/%s differ: only guidelines and consolidation may change", key);
        same = ta != NULL && tb != NULL && strcmp(ta, tb) == 0;
        free(ta);
        free(tb);
    }
    cJSON_Delete(da);
    cJSON_Delete(db);
    return same;
}

/* ---------------------------------------------------------------------------------------------
 * Answers (suggestion and response values). Nothing here allocates.
 */

/* One span, for the overlap check. */
typedef struct {
    long long start; /* first code point */
    long long end;   /* one past the last code point */
    size_t index;    /* position in the answer */
} s_span;

static int s_span_cmp(const void *a, const void *b)
{
    const s_span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static jury_err s_overlap(const s_err *e, const s_path *at, size_t a, size_t b)
{
    return s_fail(e, at, "spans %zu and %zu overlap, and the question does not allow overlapping",
                  a < b ? a : b, a < b ? b : a);
}

/* Reads start and end of a span item that s_check_span has already validated. */
static s_span s_span_of(const cJSON *item, size_t index)
{
    s_span sp = {(long long)cJSON_GetObjectItemCaseSensitive(item, "start")->valuedouble,
                 (long long)cJSON_GetObjectItemCaseSensitive(item, "end")->valuedouble, index};
    return sp;
}

/* Finds overlapping spans: sorted on the stack when few; otherwise a sweep when the answer is
 * already in start order (as frontends write it), and pairwise only as the last resort. */
static jury_err s_check_overlaps(const s_err *e, const s_path *at, const cJSON *v, size_t n)
{
    s_span spans[S_SPANS_SORTED_MAX];
    size_t i = 0;
    if (n <= S_SPANS_SORTED_MAX) {
        for (const cJSON *c = v->child; c != NULL; c = c->next, i++)
            spans[i] = s_span_of(c, i);
        qsort(spans, n, sizeof spans[0], s_span_cmp);
        for (size_t k = 1, reach = 0; k < n; k++) {
            if (spans[k].start < spans[reach].end)
                return s_overlap(e, at, spans[reach].index, spans[k].index);
            if (spans[k].end > spans[reach].end)
                reach = k;
        }
        return JURY_OK;
    }
    bool sorted = true;
    s_span prev = {0, 0, 0}, reach = {0, 0, 0};
    for (const cJSON *c = v->child; c != NULL && sorted; c = c->next, i++) {
        s_span cur = s_span_of(c, i);
        if (i > 0 && cur.start < prev.start)
            sorted = false;
        else if (i > 0 && cur.start < reach.end)
            return s_overlap(e, at, reach.index, cur.index);
        if (i == 0 || cur.end > reach.end)
            reach = cur;
        prev = cur;
    }
    if (sorted)
        return JURY_OK;
    i = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
        s_span x = s_span_of(c, i);
        size_t k = i + 1;
        for (const cJSON *d = c->next; d != NULL; d = d->next, k++) {
            s_span y = s_span_of(d, k);
            if (x.start < y.end && y.start < x.end)
                return s_overlap(e, at, i, k);
        }
    }
    return JURY_OK;
}

static jury_err s_check_span(const s_question *q, const cJSON *v, const char *text, const s_err *e,
                             const s_path *at)
{
    char qb[S_QUOTE_MAX];
    bool bounded = text != NULL;
    size_t len = bounded ? s_chars(text) : 0;
    size_t i = 0;
    if (!cJSON_IsArray(v))
        return s_fail(e, at,
                      "a span answer must be a list of {\"start\", \"end\", \"label\"} objects");
    for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
        long long start, end;
        if (!cJSON_IsObject(c))
            return s_fail(e, at, "span %zu must be an object with \"start\", \"end\" and \"label\"",
                          i);
        for (const cJSON *k = c->child; k != NULL; k = k->next) {
            const char *key = s_key(k);
            if (s_repeated(c, k))
                return s_fail(e, at, "span %zu has the key %s twice", i,
                              s_quote(qb, sizeof qb, key));
            if (strcmp(key, "start") != 0 && strcmp(key, "end") != 0 && strcmp(key, "label") != 0)
                return s_fail(e, at,
                              "span %zu has the unknown key %s; a span has \"start\", \"end\" "
                              "and \"label\"",
                              i, s_quote(qb, sizeof qb, key));
        }
        if (!s_int_in(cJSON_GetObjectItemCaseSensitive(c, "start"), 0, S_INT_SAFE, &start))
            return s_fail(e, at, "span %zu: start must be a non-negative integer", i);
        if (!s_int_in(cJSON_GetObjectItemCaseSensitive(c, "end"), 0, S_INT_SAFE, &end))
            return s_fail(e, at, "span %zu: end must be a non-negative integer", i);
        if (start >= end)
            return s_fail(e, at, "span %zu: start (%lld) must be less than end (%lld)", i, start,
                          end);
        if (bounded && (unsigned long long)end > len)
            return s_fail(e, at,
                          "span %zu: end (%lld) is beyond the end of the text (%zu characters)", i,
                          end, len);
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(c, "label");
        if (!cJSON_IsString(label) || label->valuestring == NULL)
            return s_fail(e, at, "span %zu: label must be a string", i);
        if (s_option_find(q, label->valuestring) < 0)
            return s_fail(e, at, "span %zu: %s is not one of the labels %s", i,
                          s_quote(qb, sizeof qb, label->valuestring), q->choices);
    }
    if (q->allow_overlapping || i < 2)
        return JURY_OK;
    return s_check_overlaps(e, at, v, i);
}

/* Marks the ranking value c as ranked, once. */
static jury_err s_rank_value(const s_question *q, const cJSON *c, uint64_t *seen, const s_err *e,
                             const s_path *at)
{
    char qb[S_QUOTE_MAX];
    int k = s_option_find(q, c->valuestring);
    if (k < 0)
        return s_fail(e, at, "%s is not one of the ranking values %s",
                      s_quote(qb, sizeof qb, c->valuestring), q->choices);
    if ((*seen >> k) & 1u)
        return s_fail(e, at, "value %s is ranked twice", s_quote(qb, sizeof qb, c->valuestring));
    *seen |= UINT64_C(1) << k;
    return JURY_OK;
}

/* A ranking lists every value once, best first; with allow_ties an item may be a list of 2 or
 * more values that share its rank. */
static jury_err s_check_ranking(const s_question *q, const cJSON *v, const s_err *e,
                                const s_path *at)
{
    _Static_assert(S_RANKING_MAX <= 64, "one bit per ranking value");
    uint64_t seen = 0;
    size_t i = 0, ranked = 0;
    jury_err rc;
    if (!cJSON_IsArray(v))
        return s_fail(e, at, "a ranking answer must be a list of all the values, best first");
    for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
        const s_path item = {at, NULL, i};
        if (cJSON_IsArray(c)) {
            if (!q->allow_ties)
                return s_fail(e, &item,
                              "ties are not allowed by this question (allow_ties is false)");
            if (c->child == NULL || c->child->next == NULL)
                return s_fail(e, &item, "a tie must be a list of 2 or more value strings");
            for (const cJSON *t = c->child; t != NULL; t = t->next, ranked++) {
                if (!cJSON_IsString(t) || t->valuestring == NULL)
                    return s_fail(e, &item, "a tie must be a list of 2 or more value strings");
                if ((rc = s_rank_value(q, t, &seen, e, at)) != JURY_OK)
                    return rc;
            }
            continue;
        }
        if (!cJSON_IsString(c) || c->valuestring == NULL)
            return s_fail(e, at,
                          q->allow_ties ? "item %zu must be a string or a list of tied strings"
                                        : "item %zu must be a string",
                          i);
        if ((rc = s_rank_value(q, c, &seen, e, at)) != JURY_OK)
            return rc;
        ranked++;
    }
    if (ranked != q->option_count)
        return s_fail(e, at, "a ranking must list all %zu values once, best first; got %zu",
                      q->option_count, ranked);
    return JURY_OK;
}

/* Checks value as an answer to q; text bounds span offsets when not NULL. */
static jury_err s_check_answer(const s_question *q, const cJSON *v, const char *text,
                               const s_err *e, const s_path *at)
{
    char qb[S_QUOTE_MAX];
    switch (q->type) {
    case JURY_QUESTION_TEXT: {
        if (!cJSON_IsString(v) || v->valuestring == NULL)
            return s_fail(e, at, "a text answer must be a string");
        if (v->valuestring[0] == '\0')
            return s_fail(e, at, "a text answer must not be empty");
        size_t n = strlen(v->valuestring);
        if (n > JURY_SETTINGS_TEXT_MAX)
            return s_fail(e, at, "a text answer must be at most %d bytes, and this one has %zu",
                          JURY_SETTINGS_TEXT_MAX, n);
        return JURY_OK;
    }

    case JURY_QUESTION_RATING: {
        long long r;
        if (!cJSON_IsNumber(v))
            return s_fail(e, at, "a rating must be an integer");
        if (s_int_in(v, 0, 10, &r))
            for (size_t i = 0; i < q->rating_count; i++)
                if (q->ratings[i] == r)
                    return JURY_OK;
        return s_fail(e, at, "%s is not one of the rating values %s",
                      s_num(qb, sizeof qb, v->valuedouble), q->choices);
    }

    case JURY_QUESTION_LABEL_SELECTION:
        if (!cJSON_IsString(v) || v->valuestring == NULL)
            return s_fail(e, at, "a label answer must be a string");
        if (s_option_find(q, v->valuestring) < 0)
            return s_fail(e, at, "%s is not one of the labels %s",
                          s_quote(qb, sizeof qb, v->valuestring), q->choices);
        return JURY_OK;

    case JURY_QUESTION_MULTI_LABEL_SELECTION: {
        uint64_t seen[S_LABEL_WORDS] = {0};
        size_t i = 0;
        if (!cJSON_IsArray(v))
            return s_fail(e, at, "a multi-label answer must be a list of labels");
        /* Argilla's server refuses an empty list ("multi label selection questions expects a
         * list of values, found empty list"), so an answer picks at least one label. */
        if (v->child == NULL)
            return s_fail(e, at, "a multi-label answer must have at least one label");
        for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
            if (!cJSON_IsString(c) || c->valuestring == NULL)
                return s_fail(e, at, "item %zu must be a label string", i);
            int k = s_option_find(q, c->valuestring);
            if (k < 0)
                return s_fail(e, at, "%s is not one of the labels %s",
                              s_quote(qb, sizeof qb, c->valuestring), q->choices);
            if (s_bit(seen, (size_t)k))
                return s_fail(e, at, "label %s is given twice",
                              s_quote(qb, sizeof qb, c->valuestring));
            s_set_bit(seen, (size_t)k);
        }
        return JURY_OK;
    }

    case JURY_QUESTION_RANKING:
        return s_check_ranking(q, v, e, at);

    case JURY_QUESTION_SPAN:
        return s_check_span(q, v, text, e, at);
    }
    return s_fail(e, at, "unknown question type");
}

jury_err jury_settings_check_value(const jury_settings_t *s, size_t q, const cJSON *value,
                                   const char *field_text, char *err, size_t errlen)
{
    const s_err e = {err, errlen};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (s == NULL || q >= s->question_count)
        return s_fail(&e, &s_bare, "jury_settings_check_value: no such question");
    if (value == NULL)
        return s_fail(&e, &s_bare, "a value is required");
    return s_check_answer(&s->questions[q], value, field_text, &e, &s_bare);
}

/* ---------------------------------------------------------------------------------------------
 * Records.
 */

static jury_err s_check_chat(const s_field *f, const cJSON *v, const s_err *e, const s_path *at)
{
    size_t i = 0;
    if (!cJSON_IsArray(v) || v->child == NULL)
        return s_fail(e, at,
                      "chat field \"%s\" must be a non-empty list of {\"role\", \"content\"} turns",
                      f->name);
    for (const cJSON *turn = v->child; turn != NULL; turn = turn->next, i++) {
        const s_path turn_at = {at, NULL, i};
        if (!cJSON_IsObject(turn))
            return s_fail(e, &turn_at,
                          "a chat turn must be an object with \"role\" and \"content\" strings");
        int roles = 0, contents = 0;
        for (const cJSON *c = turn->child; c != NULL; c = c->next) {
            const s_path key_at = {&turn_at, s_key(c), 0};
            bool role = strcmp(s_key(c), "role") == 0, content = strcmp(s_key(c), "content") == 0;
            if (!role && !content) {
                char qb[S_QUOTE_MAX];
                return s_fail(e, &key_at,
                              "unknown key %s; a chat turn has only \"role\" and \"content\"",
                              s_quote(qb, sizeof qb, s_key(c)));
            }
            if ((role ? ++roles : ++contents) > 1)
                return s_fail(e, &key_at, "duplicate key \"%s\"", s_key(c));
            if (!cJSON_IsString(c))
                return s_fail(e, &key_at, "must be a string");
        }
        const s_path role_at = {&turn_at, "role", 0};
        const s_path content_at = {&turn_at, "content", 0};
        if (roles == 0)
            return s_fail(e, &role_at, "a chat turn needs a \"role\"");
        if (contents == 0)
            return s_fail(e, &content_at, "a chat turn needs a \"content\"");
    }
    return JURY_OK;
}

static jury_err s_check_fields(const jury_settings_t *s, const cJSON *fields, const s_err *e)
{
    const s_path at = {NULL, "fields", 0};
    uint64_t seen[S_ITEM_WORDS] = {0};
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (fields == NULL)
        return s_fail(e, &at, "a record needs a \"fields\" object");
    if (!cJSON_IsObject(fields))
        return s_fail(e, &at, "must be an object of field values");
    for (const cJSON *c = fields->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        int fi = jury_settings_field_index(s, s_key(c));
        if (fi < 0)
            return s_fail(e, &here, "unknown field %s; the dataset has fields: %s",
                          s_quote(qb, sizeof qb, s_key(c)), s->field_list);
        if (s_bit(seen, (size_t)fi))
            return s_fail(e, &here, "duplicate key \"%s\"", s->fields[fi].name);
        s_set_bit(seen, (size_t)fi);
        const s_field *f = &s->fields[fi];
        if (cJSON_IsNull(c))
            continue; /* checked below when required */
        if (f->type == JURY_FIELD_TEXT && !cJSON_IsString(c))
            return s_fail(e, &here, "text field \"%s\" must be a string", f->name);
        if (f->type == JURY_FIELD_CHAT && (rc = s_check_chat(f, c, e, &here)) != JURY_OK)
            return rc;
    }
    for (size_t i = 0; i < s->field_count; i++) {
        const s_field *f = &s->fields[i];
        if (f->required && s_member(fields, f->name) == NULL) {
            const s_path here = {&at, f->name, 0};
            return s_fail(e, &here, "field \"%s\" is required by the dataset settings", f->name);
        }
    }
    return JURY_OK;
}

static jury_err s_check_metadata(const jury_settings_t *s, const cJSON *meta, const s_err *e)
{
    const s_path at = {NULL, "metadata", 0};
    uint64_t seen[S_ITEM_WORDS] = {0};
    char qb[S_QUOTE_MAX], a[32], b[32];
    if (meta == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(meta))
        return s_fail(e, &at, "must be an object of metadata values");
    for (const cJSON *c = meta->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        const s_meta *m = NULL;
        size_t mi = 0;
        for (; mi < s->metadata_count; mi++) {
            if (strcmp(s->metadata[mi].name, s_key(c)) == 0) {
                m = &s->metadata[mi];
                break;
            }
        }
        if (m == NULL) {
            if (s->allow_extra_metadata)
                continue;
            return s_fail(e, &here,
                          "unknown metadata property %s; the dataset has metadata: %s, and "
                          "allow_extra_metadata is false",
                          s_quote(qb, sizeof qb, s_key(c)), s->metadata_list);
        }
        if (s_bit(seen, mi))
            return s_fail(e, &here, "duplicate key \"%s\"", m->name);
        s_set_bit(seen, mi);
        if (cJSON_IsNull(c))
            continue; /* an unset value */
        switch (m->type) {
        case JURY_METADATA_TERMS: {
            bool list = cJSON_IsArray(c);
            if (!list && !cJSON_IsString(c))
                return s_fail(e, &here, "terms metadata must be a string or a list of strings");
            size_t i = 0;
            for (const cJSON *t = list ? c->child : c; t != NULL; t = list ? t->next : NULL, i++) {
                const s_path item = {&here, NULL, i};
                const s_path *where = list ? &item : &here;
                if (!cJSON_IsString(t) || t->valuestring == NULL)
                    return s_fail(e, where, "must be a string");
                if (m->options == NULL)
                    continue;
                size_t k = 0;
                while (k < m->option_count && strcmp(m->options[k], t->valuestring) != 0)
                    k++;
                if (k == m->option_count)
                    return s_fail(e, where, "%s is not one of the options %s",
                                  s_quote(qb, sizeof qb, t->valuestring), m->choices);
            }
            break;
        }
        case JURY_METADATA_INTEGER:
        case JURY_METADATA_FLOAT:
            if (m->type == JURY_METADATA_INTEGER && !s_int_in(c, -S_INT_SAFE, S_INT_SAFE, NULL))
                return s_fail(e, &here, "integer metadata must be an integer");
            if (m->type == JURY_METADATA_FLOAT && !cJSON_IsNumber(c))
                return s_fail(e, &here, "float metadata must be a number");
            if (m->has_min && c->valuedouble < m->min)
                return s_fail(e, &here, "%s is below the minimum %s",
                              s_num(a, sizeof a, c->valuedouble), s_num(b, sizeof b, m->min));
            if (m->has_max && c->valuedouble > m->max)
                return s_fail(e, &here, "%s is above the maximum %s",
                              s_num(a, sizeof a, c->valuedouble), s_num(b, sizeof b, m->max));
            break;
        }
    }
    return JURY_OK;
}

/* The record's text of a span question's field; a missing field is an error, as in Argilla. */
static jury_err s_span_text(const jury_settings_t *s, const s_question *q, const cJSON *fields,
                            const s_err *e, const s_path *at, const char **text)
{
    *text = NULL;
    if (q->type != JURY_QUESTION_SPAN)
        return JURY_OK;
    const char *name = s->fields[q->span_field].name;
    const cJSON *v = s_member(fields, name);
    if (!cJSON_IsString(v))
        return s_fail(e, at,
                      "span question \"%s\" needs the record's field \"%s\", which is missing",
                      q->name, name);
    *text = v->valuestring;
    return JURY_OK;
}

static bool s_score_ok(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0.0 && v->valuedouble <= 1.0;
}

/* A gold record's known answers: {question: value}, each a valid answer to its question. */
static jury_err s_check_gold(const jury_settings_t *s, const cJSON *gold, const cJSON *fields,
                             const s_err *e)
{
    const s_path at = {NULL, "gold", 0};
    uint64_t seen[S_ITEM_WORDS] = {0};
    jury_err rc;
    if (gold == NULL || cJSON_IsNull(gold))
        return JURY_OK;
    if (!cJSON_IsObject(gold) || gold->child == NULL)
        return s_fail(e, &at,
                      "gold must be an object of known answers by question name, like "
                      "{\"label\": \"pos\"}, with at least one question");
    for (const cJSON *c = gold->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        const s_question *q = NULL;
        const char *text = NULL;
        if ((rc = s_question_of(s, c, seen, e, &here, &q)) != JURY_OK)
            return rc;
        if (q->type == JURY_QUESTION_TEXT)
            return s_fail(e, &here,
                          "a text question has no single right answer; gold answers are for "
                          "rating, label, multi-label, ranking and span questions");
        if ((rc = s_span_text(s, q, fields, e, &here, &text)) != JURY_OK)
            return rc;
        if ((rc = s_check_answer(q, c, text, e, &here)) != JURY_OK)
            return rc;
    }
    return JURY_OK;
}

static jury_err s_check_suggestions(const jury_settings_t *s, const cJSON *sugg,
                                    const cJSON *fields, const s_err *e)
{
    const s_path at = {NULL, "suggestions", 0};
    uint64_t seen[S_ITEM_WORDS] = {0};
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (sugg == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(sugg))
        return s_fail(e, &at, "must be an object of suggestions by question name");
    for (const cJSON *c = sugg->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        const s_path value_at = {&here, "value", 0};
        const s_path score_at = {&here, "score", 0};
        const s_question *q = NULL;
        const char *text;
        if ((rc = s_question_of(s, c, seen, e, &here, &q)) != JURY_OK)
            return rc;
        if (!cJSON_IsObject(c))
            return s_fail(e, &here,
                          "a suggestion must be an object with \"value\" and optional \"score\", "
                          "\"agent\" and \"type\"");
        const cJSON *value = NULL, *score = NULL;
        for (const cJSON *k = c->child; k != NULL; k = k->next) {
            const s_path key_at = {&here, s_key(k), 0};
            const char *key = s_key(k);
            if (s_repeated(c, k))
                return s_fail(e, &key_at, "duplicate key %s", s_quote(qb, sizeof qb, key));
            if (strcmp(key, "value") == 0) {
                value = k;
            } else if (strcmp(key, "score") == 0) {
                score = k;
            } else if (strcmp(key, "agent") == 0) {
                if (!cJSON_IsNull(k) && !cJSON_IsString(k))
                    return s_fail(e, &key_at, "must be a string");
            } else if (strcmp(key, "type") == 0) {
                if (!cJSON_IsNull(k) &&
                    !(cJSON_IsString(k) && (strcmp(k->valuestring, "model") == 0 ||
                                            strcmp(k->valuestring, "human") == 0)))
                    return s_fail(e, &key_at, "type must be \"model\" or \"human\"");
            } else {
                return s_fail(e, &key_at,
                              "unknown key %s; a suggestion has \"value\", \"score\", \"agent\" "
                              "and \"type\"",
                              s_quote(qb, sizeof qb, key));
            }
        }
        if (value == NULL)
            return s_fail(e, &value_at, "a suggestion needs a \"value\"");
        if ((rc = s_span_text(s, q, fields, e, &value_at, &text)) != JURY_OK)
            return rc;
        if ((rc = s_check_answer(q, value, text, e, &value_at)) != JURY_OK)
            return rc;
        if (score == NULL || cJSON_IsNull(score))
            continue;
        /* Argilla: a list value takes a list of scores, one per item; a single value one score. */
        if (cJSON_IsArray(value)) {
            if (!cJSON_IsArray(score))
                return s_fail(e, &score_at,
                              "a suggestion whose value is a list needs a list of scores, one "
                              "per item");
            int nv = cJSON_GetArraySize(value), ns = cJSON_GetArraySize(score);
            if (nv != ns)
                return s_fail(e, &score_at, "%d scores for %d items; give one score per item", ns,
                              nv);
            size_t i = 0;
            for (const cJSON *k = score->child; k != NULL; k = k->next, i++) {
                const s_path item = {&score_at, NULL, i};
                if (!s_score_ok(k))
                    return s_fail(e, &item, "a score must be a number from 0 to 1");
            }
        } else if (!s_score_ok(score)) {
            return s_fail(e, &score_at, "a score must be a number from 0 to 1");
        }
    }
    return JURY_OK;
}

/* Whether the responses list of question q holds an answer by user. */
static bool s_answered(const cJSON *resp, const s_question *q, const char *user)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(resp, q->name);
    for (const cJSON *r = list ? list->child : NULL; r != NULL; r = r->next) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "user_id");
        if (strcmp(u->valuestring, user) == 0)
            return true;
    }
    return false;
}

static jury_err s_check_responses(const jury_settings_t *s, const cJSON *resp, const cJSON *fields,
                                  const s_err *e)
{
    const s_path at = {NULL, "responses", 0};
    uint64_t seen[S_ITEM_WORDS] = {0};
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (resp == NULL)
        return JURY_OK;
    if (!cJSON_IsObject(resp))
        return s_fail(e, &at, "must be an object of response lists by question name");
    for (const cJSON *c = resp->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        const s_question *q = NULL;
        const char *text;
        if ((rc = s_question_of(s, c, seen, e, &here, &q)) != JURY_OK)
            return rc;
        if (!cJSON_IsArray(c))
            return s_fail(e, &here, "responses must be a list of {\"value\", \"user_id\"} objects");
        size_t i = 0;
        for (const cJSON *r = c->child; r != NULL; r = r->next, i++) {
            const s_path item = {&here, NULL, i};
            const s_path user_at = {&item, "user_id", 0};
            const s_path value_at = {&item, "value", 0};
            if (!cJSON_IsObject(r))
                return s_fail(e, &item,
                              "a response must be an object with \"value\" and \"user_id\"");
            const cJSON *value = NULL, *user = NULL;
            for (const cJSON *k = r->child; k != NULL; k = k->next) {
                const s_path key_at = {&item, s_key(k), 0};
                if (s_repeated(r, k))
                    return s_fail(e, &key_at, "duplicate key %s", s_quote(qb, sizeof qb, s_key(k)));
                if (strcmp(s_key(k), "value") == 0)
                    value = k;
                else if (strcmp(s_key(k), "user_id") == 0)
                    user = k;
                else
                    return s_fail(e, &key_at,
                                  "unknown key %s; a response has \"value\" and \"user_id\"",
                                  s_quote(qb, sizeof qb, s_key(k)));
            }
            if (user == NULL)
                return s_fail(e, &user_at, "a response needs the annotator's name in \"user_id\"");
            if (!cJSON_IsString(user) || user->valuestring == NULL)
                return s_fail(e, &user_at, "must be a string");
            if (!jury_settings_name_valid(user->valuestring))
                return s_fail(e, &user_at,
                              "%s is not a valid annotator name: use 1 to %d ASCII letters, "
                              "digits, '_', '-' and '.', not starting with '.' or '-'",
                              s_quote(qb, sizeof qb, user->valuestring), JURY_SETTINGS_NAME_MAX);
            size_t k = 0;
            for (const cJSON *o = c->child; o != r; o = o->next, k++) {
                const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "user_id");
                if (strcmp(u->valuestring, user->valuestring) == 0)
                    return s_fail(e, &user_at,
                                  "annotator \"%s\" already answered this question in response %zu",
                                  user->valuestring, k);
            }
            if (value == NULL)
                return s_fail(e, &value_at, "a response needs a \"value\"");
            if ((rc = s_span_text(s, q, fields, e, &value_at, &text)) != JURY_OK)
                return rc;
            if ((rc = s_check_answer(q, value, text, e, &value_at)) != JURY_OK)
                return rc;
        }
    }
    /* Every annotator with a response answers every required question. All entries are valid
     * now, so user_id is a string everywhere. */
    for (const cJSON *c = resp->child; c != NULL; c = c->next) {
        for (const cJSON *r = c->child; r != NULL; r = r->next) {
            const char *user = cJSON_GetObjectItemCaseSensitive(r, "user_id")->valuestring;
            for (size_t qi = 0; qi < s->question_count; qi++) {
                const s_question *q = &s->questions[qi];
                if (!q->required || strcmp(q->name, s_key(c)) == 0 || s_answered(resp, q, user))
                    continue;
                const s_path here = {&at, q->name, 0};
                return s_fail(e, &here,
                              "annotator \"%s\" answered \"%s\" but not the required question "
                              "\"%s\"",
                              user, s_key(c), q->name);
            }
        }
    }
    return JURY_OK;
}

jury_err jury_settings_check_record(const jury_settings_t *s, const cJSON *record, char *err,
                                    size_t errlen)
{
    const s_err e = {err, errlen};
    char qb[S_QUOTE_MAX];
    jury_err rc;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (s == NULL || record == NULL)
        return s_fail(&e, &s_bare, "jury_settings_check_record: invalid arguments");
    if (!cJSON_IsObject(record))
        return s_fail(&e, NULL, "a record must be a JSON object");

    const cJSON *id = NULL, *fields = NULL, *meta = NULL, *sugg = NULL, *resp = NULL, *gold = NULL;
    /* What `jury export --format records` adds to a record; importing the export into a new
     * dataset ignores them, whatever their values. */
    static const char *const exported[] = {"status", "unified",     "decision",    "reason",
                                           "meta",   "reviewed_by", "reviewed_ms", "review_note"};
    const cJSON *ignored[sizeof exported / sizeof exported[0]] = {NULL};
    for (const cJSON *c = record->child; c != NULL; c = c->next) {
        const s_path here = {NULL, s_key(c), 0};
        const char *key = s_key(c);
        const cJSON **slot = strcmp(key, "id") == 0            ? &id
                             : strcmp(key, "fields") == 0      ? &fields
                             : strcmp(key, "metadata") == 0    ? &meta
                             : strcmp(key, "suggestions") == 0 ? &sugg
                             : strcmp(key, "responses") == 0   ? &resp
                             : strcmp(key, "gold") == 0        ? &gold
                                                               : NULL;
        for (size_t k = 0; slot == NULL && k < sizeof exported / sizeof exported[0]; k++)
            if (strcmp(key, exported[k]) == 0)
                slot = &ignored[k];
        if (slot == NULL)
            return s_fail(&e, &here,
                          "unknown key %s; a record has the keys id, fields, metadata, "
                          "suggestions, responses and gold",
                          s_quote(qb, sizeof qb, key));
        if (*slot != NULL)
            return s_fail(&e, &here, "duplicate key \"%s\"", key);
        *slot = c;
    }

    if (id != NULL) {
        const s_path here = {NULL, "id", 0};
        bool ok = cJSON_IsString(id) ? id->valuestring != NULL && id->valuestring[0] != '\0' &&
                                           strlen(id->valuestring) <= JURY_SETTINGS_ID_MAX
                                     : s_int_in(id, 0, S_INT_SAFE, NULL);
        if (!ok)
            return s_fail(&e, &here,
                          "an id must be a non-empty string of at most %d bytes or a "
                          "non-negative integer",
                          JURY_SETTINGS_ID_MAX);
    }
    if ((rc = s_check_fields(s, fields, &e)) != JURY_OK)
        return rc;
    if ((rc = s_check_metadata(s, meta, &e)) != JURY_OK)
        return rc;
    if ((rc = s_check_suggestions(s, sugg, fields, &e)) != JURY_OK)
        return rc;
    if ((rc = s_check_gold(s, gold, fields, &e)) != JURY_OK)
        return rc;
    return s_check_responses(s, resp, fields, &e);
}

/* ---------------------------------------------------------------------------------------------
 * Responses from workers. Nothing here allocates.
 */

jury_err jury_settings_check_answers(const jury_settings_t *s, const cJSON *values, bool submitted,
                                     const cJSON *fields, char *err, size_t errlen)
{
    const s_err e = {err, errlen};
    const s_path at = {NULL, "values", 0};
    uint64_t seen[S_ITEM_WORDS] = {0};
    jury_err rc;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (s == NULL)
        return s_fail(&e, &s_bare, "jury_settings_check_answers: invalid arguments");
    if (!cJSON_IsObject(values))
        return s_fail(&e, &at, "must be an object of answers by question name");
    for (const cJSON *c = values->child; c != NULL; c = c->next) {
        const s_path here = {&at, s_key(c), 0};
        const s_question *q = NULL;
        const char *text = NULL;
        if ((rc = s_question_of(s, c, seen, &e, &here, &q)) != JURY_OK)
            return rc;
        if (cJSON_IsNull(c))
            continue; /* not answered */
        /* Without the record's fields a span is checked for everything but the text's end. */
        if (fields != NULL && (rc = s_span_text(s, q, fields, &e, &here, &text)) != JURY_OK)
            return rc;
        if ((rc = s_check_answer(q, c, text, &e, &here)) != JURY_OK)
            return rc;
    }
    for (size_t qi = 0; submitted && qi < s->question_count; qi++) {
        const s_question *q = &s->questions[qi];
        if (q->required && s_member(values, q->name) == NULL) {
            const s_path here = {&at, q->name, 0};
            return s_fail(&e, &here, "question \"%s\" is required in a submitted response",
                          q->name);
        }
    }
    return JURY_OK;
}
