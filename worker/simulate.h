/* simulate.h: the simulated annotator of `juror bot --simulate`: answers derived from a record's
 * suggestions or a gold metadata value, with known error, edit and discard rates. Pure logic: no
 * I/O, no clock. */
#ifndef JUROR_SIMULATE_H
#define JUROR_SIMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"

/*
 * A simulated annotator answers each record the way a person of known
 * quality would, so that campaigns with a known ground truth and known
 * annotator quality can be generated for demos, tests and benchmarks:
 *
 *  1. It decides the *true* answer to each question: for the first
 *     label_selection or rating question, the record's metadata property
 *     `gold` when the spec names one and the record has a value that is one
 *     of the question's labels / ratings; otherwise, for every question, the
 *     record's suggestion when it is a valid answer; otherwise a default:
 *     the first label, the lower middle of the sorted rating values, the
 *     first label alone (multi-label), the values in settings order
 *     (ranking), no spans (span), and for text
 *     "Simulated answer to QUESTION for record ID.".
 *  2. With probability `error`, a label, rating, multi-label or ranking
 *     answer is replaced by a *different* valid answer: another label or
 *     rating (uniformly among the others), a set with one label toggled (a
 *     different non-empty set), or a ranking with two neighbouring ranks
 *     swapped. Text and span answers are never "wrong".
 *  3. With probability `edit`, a text answer taken from a suggestion is
 *     edited: one to three of its words are replaced by other words, or a
 *     sentence is appended (half the time each); the result always differs
 *     from the suggestion and stays within 65536 bytes of valid UTF-8.
 *  4. With probability `discard` the whole record is discarded instead, and
 *     the record takes a think time drawn uniformly from think_min_ms ..
 *     think_max_ms.
 *
 * Every answer is valid for its question (SPEC.md section 9.6), and every
 * question is answered (required or not) unless that is impossible: a span
 * question whose text field the record lacks is left out when optional and
 * makes the record fail (JURY_EINVAL) when required.
 *
 * Randomness comes from a PRNG seeded per record from the spec's seed and
 * the record's id (juror_sim_rng_record), so a record's answer depends only
 * on (seed, settings, record): the same in every run, whatever the order in
 * which records arrive or how they are split among bots. The draws of one
 * record are made in a fixed order: discard, think time, then for each
 * question in settings order its error draw (label, rating, multi-label,
 * ranking) or edit draw (text), then that answer's own choices.
 */

/* What `--simulate SPEC` says. Fill with juror_sim_spec_parse, or zero it (all rates 0, no gold).
 */
typedef struct {
    double error;          /* probability of a wrong answer per question, 0..1 */
    double discard;        /* probability of discarding a record, 0..1 */
    double edit;           /* probability of editing a suggested text answer, 0..1 */
    uint32_t think_min_ms; /* think time per record, uniform within min..max ms */
    uint32_t think_max_ms; /* at least think_min_ms; at most JUROR_SIM_THINK_MAX_MS */
    char gold[201];        /* metadata property holding the true answer; "" for none */
    uint64_t seed;         /* PRNG seed; meaningful when has_seed */
    bool has_seed;         /* false: the caller picks a seed (juror_sim_seed_of_name) */
} juror_sim_spec_t;

/* The longest think time a spec may ask for (10 minutes, in ms). */
#define JUROR_SIM_THINK_MAX_MS 600000u

/*
 * Parses SPEC: comma-separated key=value items, each key at most once:
 *   error=P, discard=P, edit=P  probabilities, decimal numbers within 0..1
 *   think=MS or think=MIN..MAX  think time in ms per record (0..600000)
 *   gold=NAME                   a metadata property name (1..200 of a-z 0-9 _ -)
 *   seed=N                      an unsigned 64-bit decimal integer
 * An empty SPEC means every default (all rates 0, think 0, no gold, no seed).
 * Returns JURY_OK and fills *out; or JURY_EINVAL with a message naming the
 * item and the rule in err (at most errcap bytes, always NUL-terminated when
 * errcap > 0), e.g. "error=1.5: must be a probability within 0..1";
 * *out is then unspecified. spec is borrowed.
 */
JURY_MUST_CHECK jury_err juror_sim_spec_parse(juror_sim_spec_t *out, const char *spec, char *err,
                                              size_t errcap);

/* A seed derived from an annotator name (64-bit FNV-1a), for runs that are reproducible per
 * annotator. */
uint64_t juror_sim_seed_of_name(const char *name);

/* The PRNG state (xoshiro256**). Plain data: copy it freely. */
typedef struct {
    uint64_t s[4]; /* never all zero */
} juror_sim_rng_t;

/* Seeds rng from seed (through splitmix64, so any seed, 0 included, is fine). */
void juror_sim_rng_seed(juror_sim_rng_t *rng, uint64_t seed);

/* Seeds rng for one record: from seed and the record's id (NUL-terminated, borrowed). */
void juror_sim_rng_record(juror_sim_rng_t *rng, uint64_t seed, const char *record_id);

/* The next 64 random bits. */
uint64_t juror_sim_rng_next(juror_sim_rng_t *rng);

/* A uniform integer within 0..n-1 (n >= 1; unbiased). */
uint64_t juror_sim_rng_below(juror_sim_rng_t *rng, uint64_t n);

/* A uniform double within [0, 1), with 53 random bits. */
double juror_sim_rng_unit(juror_sim_rng_t *rng);

/* One dataset's questions, compiled from its settings for answering records. */
typedef struct juror_sim juror_sim_t;

/*
 * Compiles settings_json (the settings as juror_settings gives them: the
 * shape of `jury dataset show`, labels and ranking values as a list or a
 * {value: title} object) with spec. Returns JURY_OK and a new simulator in
 * *out, which the caller owns and destroys; or JURY_EINVAL (settings that
 * are not such an object, or a required question of a type this simulator
 * does not know: the message says which) or JURY_ENOMEM, with a message in
 * err. Questions of unknown types that are not required are skipped.
 * settings_json and spec are borrowed for the call (the spec is copied).
 */
JURY_MUST_CHECK jury_err juror_sim_new(juror_sim_t **out, const char *settings_json,
                                       const juror_sim_spec_t *spec, char *err, size_t errcap);

/* Destroys *self_p and sets it to NULL. Accepts NULL; safe twice. */
void juror_sim_destroy(juror_sim_t **self_p);

/* The question that takes its true answer from the gold property, or NULL (no gold in the spec, or
 * no label/rating question). Borrowed. */
const char *juror_sim_gold_question(const juror_sim_t *sim);

/* Whether the settings list the gold property among the metadata annotators see (the simulator sees
 * nothing else). */
bool juror_sim_gold_visible(const juror_sim_t *sim);

/* One record's simulated answer. */
typedef struct {
    bool discard;      /* discard the record (values_json is then NULL) */
    uint32_t think_ms; /* how long the annotator thinks before answering */
    char *values_json; /* compact JSON values by question name (owned; see _clear) */
    uint32_t wrong;    /* questions answered wrongly on purpose (error draws that hit) */
    uint32_t edited;   /* text answers edited from their suggestion */
    bool gold_used;    /* the gold question's true answer came from the gold property */
} juror_sim_answer_t;

/*
 * Answers one record. record_json is one record as juror_fetch gives it
 * ({"id", "fields", "suggestions", "metadata", ...}); rng is the PRNG to
 * draw from (normally seeded by juror_sim_rng_record) and is advanced.
 * Returns JURY_OK and fills *out (which the caller clears with
 * juror_sim_answer_clear); JURY_EINVAL when the record is not an object
 * with a string id and a fields object, or a required question cannot be
 * answered validly (the message in err says why); JURY_ENOMEM. On failure
 * *out holds nothing to free.
 */
JURY_MUST_CHECK jury_err juror_sim_answer(const juror_sim_t *sim, const char *record_json,
                                          juror_sim_rng_t *rng, juror_sim_answer_t *out, char *err,
                                          size_t errcap);

/* Frees what *a holds and zeroes it. Accepts NULL; safe twice. */
void juror_sim_answer_clear(juror_sim_answer_t *a);

#endif
