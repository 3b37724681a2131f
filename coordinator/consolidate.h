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

/*
 * Gold answers needed before an annotator's gold accuracy on a question replaces what the votes
 * say about them. Below 10 the accuracy is too coarse to trust over the agreement of a whole
 * dataset: its standard error at a true accuracy of 0.8 is sqrt(0.8 x 0.2 / 10) = 0.13 at 10
 * answers and 0.18 at 5, and one lucky or unlucky answer moves it by a tenth or more.
 */
#define JURY_CONSOLIDATE_GOLD_MIN 10

/*
 * Each annotator's answers to gold records (known answers) on the question being consolidated:
 * answered[c] were checked, correct[c] <= answered[c] of them right. Both arrays have ncoders
 * entries and are borrowed for the call. Only coders with answered[c] >= JURY_CONSOLIDATE_GOLD_MIN
 * are affected; the others are treated as without gold.
 */
typedef struct {
    const uint64_t *answered; /* ncoders entries: gold answers checked */
    const uint64_t *correct;  /* ncoders entries: of them right */
} jury_gold_t;

/*
 * The gold accuracy that gold gives coder c (correct / answered) into *acc and true, or false
 * when gold is NULL or c has fewer than JURY_CONSOLIDATE_GOLD_MIN gold answers (*acc untouched).
 */
bool jury_consolidate_gold_accuracy(const jury_gold_t *gold, uint32_t c, double *acc);

/*
 * The Dawid-Skene posterior of one record's true category under the one-coin
 * model (each annotator j right with probability accuracy[j], wrong answers
 * spread evenly over the other k - 1 categories; uniform prior over the k
 * categories): the E step of Dawid and Skene (1979) with those confusion
 * matrices. answers[j] is annotator j's category (0..k-1), for n answers.
 * Returns the largest posterior probability, and its category in *best when
 * best is not NULL (the lowest index on a tie); 1/k when n is 0. Accuracies
 * are clamped to [0.001, 0.999]. k must be at least 2; an answer out of range
 * is skipped.
 */
double jury_posterior_confidence(const uint32_t *answers, const double *accuracy, size_t n,
                                 uint32_t k, uint32_t *best);

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

/*
 * jury_consolidate_weighted with gold: an annotator with at least JURY_CONSOLIDATE_GOLD_MIN gold
 * answers to the question weighs their gold accuracy (correct / answered) instead of their
 * agreement with the majority; the others weigh as above. The majority pass and the tie rules are
 * unchanged. gold may be NULL: then this is jury_consolidate_weighted exactly. Errors also:
 * JURY_EINVAL when gold is given with a NULL array or some correct[c] > answered[c].
 */
JURY_MUST_CHECK jury_err jury_consolidate_weighted_gold(const jury_rating_t *ratings, size_t n,
                                                        uint32_t nunits, uint32_t ncoders,
                                                        uint32_t k, const jury_tiebreak_t *tiebreak,
                                                        const jury_gold_t *gold, jury_choice_t *out,
                                                        double *weights);

/* ---------------------------------------------------------------------------------------------
 * Dawid-Skene
 * ------------------------------------------------------------------------------------------- */

/* EM settings; zero fields take the defaults. */
typedef struct {
    uint32_t max_iter;       /* iteration cap; 0 means 100 */
    double tol;              /* stop when |log-likelihood change| < tol; 0 means 1e-6 */
    const jury_gold_t *gold; /* gold answers as a prior on the confusion matrices; NULL: none */
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
 * With opts->gold, each coder c with at least JURY_CONSOLIDATE_GOLD_MIN gold answers (g
 * answered, r right) has a Dirichlet prior on its confusion rows, i.e. every M step adds
 * pseudo-counts before normalising: r / k to each diagonal entry and (g - r) / (k (k - 1)) to
 * each off-diagonal one (k >= 2). This is the coder's gold answers counted as answers to units
 * whose true class is known, spread evenly over the k classes and the wrong answers evenly over
 * the other classes, since only the totals are kept. It shapes the first confusion estimate and
 * keeps weighing on every later one (an initialisation alone is forgotten after a few
 * iterations); the marginals do not see it (gold records are not drawn from the dataset). The
 * result's log_likelihood stays that of the answers alone. Errors also: JURY_EINVAL as in
 * jury_consolidate_weighted_gold.
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

/* ---------------------------------------------------------------------------------------------
 * One record at a time: multi-label, ranking, text, span
 *
 * These take the m answers one record received for one question, in a fixed
 * order (the store's: annotator id order), and an optional reliability per
 * answer: rel[i] is the reliability of the annotator who gave answer i
 * (larger is more reliable; NULL when unknown). Ties that reliability cannot
 * break go to the first answer in the given order, unless said otherwise.
 * Inputs are borrowed for the call; nothing is kept. m may be 0: the result
 * then has ok = false and note JURY_NOTE_NO_ANSWERS (a result set then has 0
 * entries; a ranking is not written). out->nanswers is m. None of them
 * allocates for m <= 16 answers, n <= 64 items, k <= 256 labels and 256
 * spans in all (jury_distance_edit does for texts over 256 code points).
 * ------------------------------------------------------------------------------------------- */

/*
 * Per-label majority of multi-label answers over labels 0..k-1: a label is in
 * the result when more than half of the m answers hold it; when exactly half
 * do, it is in the result only if suggestion (may be NULL) holds it. The
 * result's labels are written ascending to out_labels (k entries, the
 * caller's) and their number to *out_n; an empty set is a valid result.
 * out->value is unused (0); out->support is the mean, over the labels in the
 * union of all answers, of the share of answers that agree with the result on
 * that label (1 when the union is empty). out->decided_by is
 * JURY_DECIDED_SUGGESTION when a suggestion is given and some label stood at
 * exactly half (the suggestion settled it, in or out), else
 * JURY_DECIDED_VOTE. Errors: JURY_EINVAL (a label >= k, an answer or the
 * suggestion not sorted ascending and unique, NULL out or out_n, NULL answers
 * where m > 0, NULL out_labels where m > 0 and k > 0), JURY_ENOMEM (k > 256
 * only).
 */
JURY_MUST_CHECK jury_err jury_consolidate_multi_label(const jury_labelset_t *answers, size_t m,
                                                      uint32_t k, const jury_labelset_t *suggestion,
                                                      uint32_t *out_labels, size_t *out_n,
                                                      jury_choice_t *out);

/* How a ranking question consolidates. */
typedef enum {
    JURY_RANKING_BORDA = 0,   /* items ordered by mean rank */
    JURY_RANKING_MAJORITY = 1 /* the most frequent whole ranking */
} jury_ranking_method_t;

/*
 * Consolidates m rankings of the same n items (jury_ranking_t: rank[i] is the
 * rank of item i, 0 best, equal ranks tie; every answer must have exactly n
 * ranks). The result is a strict ranking written to out_rank (n entries, the
 * caller's): out_rank[i] in 0..n-1, all distinct.
 *
 * BORDA: items sorted by their mean rank over the answers, smaller first;
 * items with equal mean ranks (equal rank sums, which is exact) are ordered
 * by the suggestion's ranks when suggestion (may be NULL) ranks them
 * differently, else by item index. out->support is Kendall's W-like
 * concordance: 1 - the mean normalised Kendall tau distance
 * (jury_distance_kendall_tau) between the result and each answer.
 * out->decided_by: JURY_DECIDED_VOTE when no two mean ranks are equal, else
 * the weakest rule some pair of equal means needed: JURY_DECIDED_LABEL_ORDER
 * (item index) if any, else JURY_DECIDED_SUGGESTION.
 * MAJORITY: the answer given most often (answers with equal rank arrays are
 * the same answer); among equally frequent answers the suggestion if it is
 * one of them (JURY_DECIDED_SUGGESTION), else, with rel, the one whose most
 * reliable annotator is more reliable than that of every other
 * (JURY_DECIDED_RELIABILITY), else the one given first
 * (JURY_DECIDED_LABEL_ORDER; when that maximum is shared, the first among
 * those sharing it, as in jury_tiebreak_t). A chosen answer with ties among
 * its ranks is made strict by item index within each tie. out->support is
 * the chosen answer's share of the m answers.
 * Errors: JURY_EINVAL (n == 0 or over 65535, an answer or the suggestion of
 * another length or with a rank >= n, NULL out_rank or out, NULL answers
 * where m > 0, unknown method), JURY_ENOMEM (n > 64 or m > 16 only).
 */
JURY_MUST_CHECK jury_err jury_consolidate_ranking(jury_ranking_method_t method,
                                                  const jury_ranking_t *answers, size_t m,
                                                  uint32_t n, const jury_ranking_t *suggestion,
                                                  const double *rel, uint32_t *out_rank,
                                                  jury_choice_t *out);

/* How a text question consolidates. */
typedef enum {
    JURY_TEXT_MEDOID = 0,        /* the answer most similar to the others */
    JURY_TEXT_BEST_ANNOTATOR = 1 /* the answer of the most reliable annotator */
} jury_text_method_t;

/*
 * Chooses one of m text answers; out->value is its index 0..m-1.
 * MEDOID: the answer with the highest mean similarity (1 - jury_distance_edit)
 * to the other answers; equal means (within 1e-9) go to the more reliable
 * annotator, then to the first. Byte-identical answers are compared once.
 * out->support is the chosen answer's mean similarity (1 when m == 1).
 * BEST_ANNOTATOR: the answer of the annotator with the largest rel (the first
 * on equal rel or when rel is NULL); out->support is its mean similarity to
 * the others as for MEDOID.
 * out->decided_by: byte-identical answers are one text, so a tie between
 * them decides nothing: JURY_DECIDED_VOTE when the answers hold one text or,
 * for MEDOID, when one text has the best mean; else JURY_DECIDED_RELIABILITY
 * when rel picked a text that no other text matches in rel, else
 * JURY_DECIDED_LABEL_ORDER.
 * Errors: JURY_EINVAL (unknown method, NULL out, NULL answers where m > 0,
 * a NULL text with len > 0), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_consolidate_text(jury_text_method_t method,
                                               const jury_text_t *answers, size_t m,
                                               const double *rel, jury_choice_t *out);

/*
 * The two halves of jury_consolidate_text, for callers that compute the
 * similarities once and choose later (after reliabilities are known).
 * _similarity writes to means[i] (m entries, the caller's) answer i's mean
 * similarity to the m - 1 others (1 when m == 1); errors as
 * jury_consolidate_text. _choose applies the method's rule to answers with
 * those means (answers are only compared for byte identity); errors also
 * JURY_EINVAL for a non-finite mean.
 */
JURY_MUST_CHECK jury_err jury_consolidate_text_similarity(const jury_text_t *answers, size_t m,
                                                          double *means);
JURY_MUST_CHECK jury_err jury_consolidate_text_choose(jury_text_method_t method,
                                                      const jury_text_t *answers,
                                                      const double *means, size_t m,
                                                      const double *rel, jury_choice_t *out);

/*
 * Span majority: the spans (same start, end and label) that more than half of
 * the m answers marked. answers[i] holds nspans[i] spans (any order; a span
 * repeated within one answer counts once). The result is written to out
 * (capacity out_cap entries, the caller's) sorted by start, then end, then
 * label, and its length to *out_n. out_choice->support is the share of the
 * union of all answers' distinct spans that made the majority (1 when no
 * answer marked anything); decided_by is JURY_DECIDED_VOTE. Errors:
 * JURY_EINVAL (NULL out_n or out_choice, NULL arrays where counts are
 * non-zero), JURY_ETOOBIG (more result spans than out_cap; nothing is
 * written. The result can be larger than every single answer, e.g. {a, b},
 * {b, c}, {a, c} give {a, b, c}, but never exceeds (nspans[0] + ... +
 * nspans[m-1]) / (m / 2 + 1), so an out_cap of the total never fails),
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_consolidate_span(const jury_span_t *const *answers,
                                               const size_t *nspans, size_t m, jury_span_t *out,
                                               size_t out_cap, size_t *out_n,
                                               jury_choice_t *out_choice);

#endif
