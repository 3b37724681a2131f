/* consolidate.h: turning several annotators' answers into one answer per record (majority,
 * Wawa-style weighted vote, Dawid-Skene EM; mean, median, majority, min, max for ratings). Pure:
 * no I/O, plain arrays. */
#ifndef JURY_CONSOLIDATE_H
#define JURY_CONSOLIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agreement.h" /* jury_rating_t, jury_measure_t */
#include "jury_err.h"

/*
 * Vocabulary as in agreement.h: a *unit* is a record (one question of it), a
 * *coder* an annotator, a *value* a category index 0..k-1. Answers come as
 * jury_rating_t {unit, coder, value}, in any order; the same coder may answer
 * the same unit several times (each answer counts).
 *
 * Every function returns a jury_err: JURY_EINVAL when an index is out of range
 * (unit >= nunits, coder >= ncoders, value >= k, a suggestion >= k) or a
 * required array is NULL, JURY_ENOMEM when scratch memory runs out. Outputs are
 * written on JURY_OK only. All input arrays are borrowed for the call only.
 *
 * A unit without answers is never an error: its jury_choice_t has ok = false
 * and note JURY_NOTE_NO_ANSWERS. No result ever holds NaN or infinity.
 */

/* Why a choice or an estimate is absent (static strings; compare with strcmp). */
#define JURY_NOTE_NO_ANSWERS "no answers"

/* "No suggestion for this unit" in jury_tiebreak_t.suggestion. */
#define JURY_CONSOLIDATE_NONE UINT32_MAX

/* What decided a choice. */
typedef enum {
    JURY_DECIDED_VOTE = 0,        /* the most (weighted) votes, or the largest posterior */
    JURY_DECIDED_SUGGESTION = 1,  /* a tie, broken in favour of the suggestion */
    JURY_DECIDED_RELIABILITY = 2, /* a tie, broken by the most reliable annotator's answer */
    JURY_DECIDED_LABEL_ORDER = 3, /* a tie, broken by taking the first value in label order */
    JURY_DECIDED_STATISTIC = 4    /* a rating statistic (mean, median, min, max) */
} jury_decided_t;

/* The consolidated answer of one unit. */
typedef struct {
    bool ok;           /* false when the unit has no answers */
    uint32_t value;    /* chosen category index when ok; 0 otherwise */
    uint32_t nanswers; /* answers the unit received */
    double support;    /* see each method; 0 when !ok (never NaN) */
    jury_decided_t decided_by;
    const char *note; /* static reason when !ok; NULL when ok */
} jury_choice_t;

/*
 * Tie rules shared by every vote (majority, weighted, rating majority). When
 * several values share the highest vote:
 *   1. the unit's suggestion wins if it is among the tied values;
 *   2. else, if reliability is given, the tied value whose most reliable
 *      annotator (largest reliability[coder] among those who gave it) is more
 *      reliable than that of every other tied value;
 *   3. else (or if that maximum is shared) the first of them in label order.
 * Both arrays are optional (NULL) and borrowed.
 */
typedef struct {
    const uint32_t *suggestion; /* nunits entries: a category index or JURY_CONSOLIDATE_NONE */
    const double *reliability;  /* ncoders entries: larger is more reliable */
} jury_tiebreak_t;

/* ---------------------------------------------------------------------------------------------
 * Labels
 * ------------------------------------------------------------------------------------------- */

/*
 * Majority vote. out[u].support is the share of the unit's answers that chose
 * out[u].value. tiebreak may be NULL. out has nunits entries, owned by the
 * caller.
 */
JURY_MUST_CHECK jury_err jury_consolidate_majority(const jury_rating_t *ratings, size_t n,
                                                   uint32_t nunits, uint32_t ncoders, uint32_t k,
                                                   const jury_tiebreak_t *tiebreak,
                                                   jury_choice_t *out);

/*
 * Weighted vote, as Wawa does: first a majority vote (same tie rules); each
 * annotator's weight is the share of their answers, on units that have a
 * majority answer, that equal it (0 for an annotator without answers); then
 * each unit takes the value with the largest sum of weights among the values it
 * received (sums equal within 1e-12 relative count as a tie; same tie rules).
 * out[u].support is the chosen value's share of the unit's total weight (0 when
 * every weight is 0). weights, when not NULL, receives the ncoders weights.
 * out (nunits) and weights (ncoders) are owned by the caller.
 */
JURY_MUST_CHECK jury_err jury_consolidate_weighted(const jury_rating_t *ratings, size_t n,
                                                   uint32_t nunits, uint32_t ncoders, uint32_t k,
                                                   const jury_tiebreak_t *tiebreak,
                                                   jury_choice_t *out, double *weights);

/* ---------------------------------------------------------------------------------------------
 * Dawid-Skene
 * ------------------------------------------------------------------------------------------- */

/* EM settings; zero fields take the defaults. */
typedef struct {
    uint32_t max_iter; /* iteration cap; 0 means 100 */
    double tol;        /* stop when |log-likelihood change| < tol; 0 means 1e-6 */
} jury_ds_opts_t;

/* The fitted model. Arrays are owned by the result; free it with jury_ds_result_destroy(). */
typedef struct {
    uint32_t nunits, ncoders, k;
    double *posterior;        /* nunits x k, row-major: P(true class | answers); a unit without
                                 answers gets the class marginals */
    double *marginal;         /* k: estimated class prevalences */
    double *confusion;        /* ncoders x k x k: [c][true][answer], rows sum to 1 (an all-zero
                                 row when the coder has no weight on that true class) */
    jury_measure_t *accuracy; /* ncoders: expected share of the coder's answers that equal the
                                 true class under the posteriors; !ok with JURY_NOTE_NO_ANSWERS
                                 for a coder without answers */
    jury_choice_t *choice;    /* nunits: the most likely class (first in label order on equal
                                 posteriors); support = its posterior */
    double log_likelihood;    /* final log-likelihood of the answers (no multinomial coefficient) */
    uint32_t iterations;      /* EM iterations run (one M step plus one E step each) */
    bool converged;           /* true when stopped by tol, false when by max_iter */
} jury_ds_result_t;

/*
 * Dawid & Skene (1979) EM, in the variant of the public implementations that
 * reproduce the paper's anaesthesia figures (dallascard/dawid_skene and its
 * derivatives): initialised with each unit's vote proportions (counts of each
 * value / answers); then each iteration runs an M step (class marginals = mean
 * posterior over units with answers; confusion rows = posterior-weighted answer
 * counts, normalised, no smoothing) and an E step (posteriors proportional to
 * marginal x product over answers of confusion entries), and computes the
 * log-likelihood sum over units of log sum_j marginal_j x product. Repeated
 * answers by one coder to one unit each enter the product. Deterministic.
 *
 * A unit whose answers are impossible under every class (a zero-probability
 * product, possible without smoothing) keeps its previous posterior and adds
 * nothing to the log-likelihood. Units without answers take no part. When no unit has answers,
 * no iteration runs: marginals and posteriors are all 0, the log-likelihood 0, converged true.
 *
 * On JURY_OK *out is a new result that the caller owns and destroys with
 * jury_ds_result_destroy(). opts may be NULL.
 */
JURY_MUST_CHECK jury_err jury_consolidate_dawid_skene(const jury_rating_t *ratings, size_t n,
                                                      uint32_t nunits, uint32_t ncoders, uint32_t k,
                                                      const jury_ds_opts_t *opts,
                                                      jury_ds_result_t **out);

/* Frees *self_p and its arrays and sets it to NULL. Accepts NULL and *self_p == NULL; safe
 * twice. */
void jury_ds_result_destroy(jury_ds_result_t **self_p);

/* ---------------------------------------------------------------------------------------------
 * Ratings
 * ------------------------------------------------------------------------------------------- */

/* How a rating question consolidates. */
typedef enum {
    JURY_RATING_MEAN = 0,     /* mean, rounded to the nearest allowed value; halfway goes up */
    JURY_RATING_MEDIAN = 1,   /* median; the lower of the two middle answers for an even count */
    JURY_RATING_MAJORITY = 2, /* most frequent value, with the tie rules above */
    JURY_RATING_MIN = 3,      /* smallest answer */
    JURY_RATING_MAX = 4       /* largest answer */
} jury_rating_method_t;

/*
 * Consolidates a rating question whose allowed values are values[0..k-1]
 * (numbers, strictly increasing; the rating's value field indexes them).
 *
 * MEAN: out[u].value is the allowed value nearest to the mean of the answers;
 * when the mean lies exactly halfway between two allowed values (within 1e-9),
 * the larger wins ("halves up"), e.g. answers {1, 2} on 1..5 give 2.
 * out[u].support is the unrounded mean.
 * MEDIAN: the answers sorted by value, the one at position (m - 1) / 2 (the
 * lower median for an even count m, so the result is always an allowed value),
 * e.g. {1, 2, 4, 5} gives 2. support is the share of answers equal to it.
 * MAJORITY: as jury_consolidate_majority (tiebreak may be NULL).
 * MIN, MAX: support is the share of answers equal to the result.
 *
 * tiebreak is used by MAJORITY only. out has nunits entries, owned by the
 * caller. Errors also: JURY_EINVAL when values are not strictly increasing or
 * not finite, or method is unknown.
 */
JURY_MUST_CHECK jury_err jury_consolidate_rating(jury_rating_method_t method,
                                                 const jury_rating_t *ratings, size_t n,
                                                 uint32_t nunits, uint32_t ncoders,
                                                 const double *values, uint32_t k,
                                                 const jury_tiebreak_t *tiebreak,
                                                 jury_choice_t *out);

#endif
