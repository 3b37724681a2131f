/* agreement.h: inter-annotator agreement measures (Krippendorff's alpha, Fleiss, Cohen, percent
 * agreement, per-record and per-annotator agreement, span F1). Pure: no I/O, plain arrays. */
#ifndef JURY_AGREEMENT_H
#define JURY_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"

/*
 * Vocabulary. A *unit* is a record (one question of it), a *coder* an
 * annotator, a *value* one response. Callers map their ids to dense indices
 * before calling: units 0..nunits-1, coders 0..ncoders-1 and, for categorical
 * questions, categories 0..k-1. For ordered levels (ordinal, interval, ratio
 * and the weighted kappas) category indices MUST be sorted by their numeric
 * value, and `numeric[i]` gives category i's number.
 *
 * A unit is *pairable* when it has at least two values; other units take no
 * part in any measure (Krippendorff 2011).
 *
 * Every measure comes back as a jury_measure_t: when the data cannot define it
 * (one annotator, nothing pairable, no variation) `ok` is false, `value` is 0
 * and `note` says why. No function here ever returns NaN or infinity as a
 * measure. Notes are static strings (never free them); compare with strcmp
 * against the JURY_NOTE_* texts below if you need to branch on them.
 *
 * Functions that allocate scratch memory return a jury_err (JURY_ENOMEM,
 * JURY_EINVAL for an index out of range) and write the measure to an out
 * parameter, which is set on JURY_OK only. Functions that cannot fail return
 * the measure directly. All input arrays are borrowed for the call only.
 *
 * Cost: the categorical paths are O(ratings + pairs within units + k^2) with
 * flat arrays and a handful of allocations per call, never one per rating.
 * Ratings already sorted by unit skip an internal counting sort.
 */

/* Why a measure is absent. */
#define JURY_NOTE_NO_PAIRABLE   "no pairable records"
#define JURY_NOTE_NO_VARIATION  "no variation: every value is the same"
#define JURY_NOTE_ONE_ANNOTATOR "only one annotator"
#define JURY_NOTE_NO_SHARED     "no shared records"
#define JURY_NOTE_FEW_RESPONSES "fewer than 2 responses"
#define JURY_NOTE_NO_CONSENSUS  "no record with a majority answer"
#define JURY_NOTE_NO_REPLICATES "no bootstrap replicate defines the measure"
#define JURY_NOTE_OUT_OF_MEMORY "out of memory"

/* One measure: a value, or the reason there is none. */
typedef struct {
    bool ok;          /* true when value is defined */
    double value;     /* the measure when ok; 0 otherwise (never NaN) */
    const char *note; /* static reason when !ok; NULL when ok */
} jury_measure_t;

/* One response: annotator `coder` gave record `unit` the category `value`. */
typedef struct {
    uint32_t unit;  /* record index, < nunits */
    uint32_t coder; /* annotator index, < ncoders */
    uint32_t value; /* category index, < k */
} jury_rating_t;

/* Krippendorff's levels of measurement (the difference function delta). */
typedef enum {
    JURY_ALPHA_NOMINAL = 0,  /* delta = 0 if equal else 1 */
    JURY_ALPHA_ORDINAL = 1,  /* rank-based: (sum_{g=c..k} n_g - (n_c + n_k)/2)^2 */
    JURY_ALPHA_INTERVAL = 2, /* (v_c - v_k)^2 on numeric values */
    JURY_ALPHA_RATIO = 3     /* ((v_c - v_k) / (v_c + v_k))^2 on numeric values */
} jury_alpha_level_t;

/* Weights of Cohen's kappa for ordered categories (R irr kappa2's "unweighted", "equal",
 * "squared"). Weights use the ranks of the categories the two annotators actually used. */
typedef enum {
    JURY_KAPPA_UNWEIGHTED = 0, /* agreement only when equal */
    JURY_KAPPA_LINEAR = 1,     /* w = 1 - |i - j| / (q - 1) */
    JURY_KAPPA_QUADRATIC = 2   /* w = 1 - (i - j)^2 / (q - 1)^2 */
} jury_kappa_weights_t;

/* ---------------------------------------------------------------------------------------------
 * Krippendorff's alpha from a coincidence matrix
 * ------------------------------------------------------------------------------------------- */

/*
 * An additive coincidence matrix over k categories: k x k doubles, row-major,
 * o[c][k] = sum over units of (number of c-k pairs of values in the unit) /
 * (m_u - 1). Adding units in any order, or merging two matrices, gives the
 * same alpha. The live coordinator keeps one per question and adds each
 * completed record; persist it with jury_coincidence_matrix() and restore it
 * with jury_coincidence_load().
 */
typedef struct jury_coincidence jury_coincidence_t;

/* Creates an all-zero matrix over k >= 1 categories. Returns NULL when k is 0 or memory runs
 * out. The caller owns the result and destroys it with jury_coincidence_destroy(). */
jury_coincidence_t *jury_coincidence_new(uint32_t k);

/* Destroys *self_p and sets it to NULL. Accepts NULL and *self_p == NULL; safe twice. */
void jury_coincidence_destroy(jury_coincidence_t **self_p);

/* Number of categories k. */
uint32_t jury_coincidence_k(const jury_coincidence_t *c);

/*
 * Adds one unit's m values (category indices, any order, duplicates meaning
 * several annotators chose the same category). Units with m < 2 are not
 * pairable and leave the matrix unchanged. Costs O(m x distinct values +
 * distinct values^2), no allocation. values is borrowed. Errors: JURY_EINVAL if a value is >= k
 * (the matrix is then unchanged).
 */
JURY_MUST_CHECK jury_err jury_coincidence_add_unit(jury_coincidence_t *c, const uint32_t *values,
                                                   size_t m);

/* Subtracts a unit previously added with the same values (e.g. before re-adding it after an
 * edit). Same rules and errors as jury_coincidence_add_unit. */
JURY_MUST_CHECK jury_err jury_coincidence_remove_unit(jury_coincidence_t *c, const uint32_t *values,
                                                      size_t m);

/*
 * Adds every pairable unit of a set of ratings (coders are ignored). ratings
 * is borrowed. Errors: JURY_EINVAL (unit >= nunits or value >= k; the matrix
 * is then unchanged), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_coincidence_add_ratings(jury_coincidence_t *c,
                                                      const jury_rating_t *ratings, size_t n,
                                                      uint32_t nunits);

/* Adds src into dst. Errors: JURY_EINVAL when their k differ. */
JURY_MUST_CHECK jury_err jury_coincidence_merge(jury_coincidence_t *dst,
                                                const jury_coincidence_t *src);

/* Sets every cell to 0. */
void jury_coincidence_clear(jury_coincidence_t *c);

/* The raw k x k row-major matrix, for persistence or display. Borrowed: valid until c is
 * destroyed; changes with every add, remove, merge, load or clear. */
const double *jury_coincidence_matrix(const jury_coincidence_t *c);

/* Replaces the matrix with k x k doubles from a previous jury_coincidence_matrix() of the same k
 * (borrowed for the call). Errors: JURY_EINVAL if a cell is negative or not finite. */
JURY_MUST_CHECK jury_err jury_coincidence_load(jury_coincidence_t *c, const double *matrix);

/* Total pairable values n (the sum of all cells). */
double jury_coincidence_total(const jury_coincidence_t *c);

/*
 * Krippendorff's alpha = 1 - D_o / D_e from a k x k coincidence matrix
 * (borrowed) at the given level. numeric (k entries, borrowed) gives each
 * category's value for interval and ratio; NULL means the category index is
 * its value. Ordinal uses only the order of the indices. Absent with
 * JURY_NOTE_NO_PAIRABLE when the matrix is empty and JURY_NOTE_NO_VARIATION
 * when D_e = 0. Allocates only for k > 256 (then an allocation failure gives
 * JURY_NOTE_OUT_OF_MEMORY).
 */
jury_measure_t jury_alpha_from_coincidence(const double *matrix, uint32_t k,
                                           jury_alpha_level_t level, const double *numeric);

/*
 * Krippendorff's alpha of a set of ratings: the coincidence matrix of its
 * pairable units, then jury_alpha_from_coincidence. Also absent with
 * JURY_NOTE_ONE_ANNOTATOR when every rating has the same coder. Borrowed
 * inputs; *out is written on JURY_OK. Errors: JURY_EINVAL (an index out of
 * range), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_alpha(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                    uint32_t k, jury_alpha_level_t level, const double *numeric,
                                    jury_measure_t *out);

/* A bootstrap confidence interval, or the reason there is none. */
typedef struct {
    bool ok;             /* true when low and high are defined */
    double low;          /* lower bound */
    double high;         /* upper bound */
    uint32_t replicates; /* replicates that defined the measure (others had D_e = 0) */
    const char *note;    /* static reason when !ok; NULL when ok */
} jury_interval_t;

/*
 * Percentile bootstrap confidence interval of jury_alpha: `replicates`
 * resamples (with replacement) of the pairable units, each giving an alpha;
 * the interval is their (1-confidence)/2 and (1+confidence)/2 quantiles
 * (confidence in (0, 1), e.g. 0.95; interpolated as R's quantile type 7).
 * Deterministic for a given seed, whatever the order of ratings. Replicates
 * without variation are skipped. When the point estimate is absent, so is the
 * interval, with its note. Cost O(replicates x (pairable units + distinct
 * unit patterns + k^2)); about 3.5 ms per replicate for 1M records x 3.
 * Large ones run on one thread per CPU (at most 8, each with at least 2M
 * draws); the interval is the same, bit for bit, on any number of threads.
 * Errors: JURY_EINVAL (index out of range, replicates 0, confidence outside
 * (0, 1)), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_alpha_bootstrap(const jury_rating_t *ratings, size_t n,
                                              uint32_t nunits, uint32_t k, jury_alpha_level_t level,
                                              const double *numeric, uint32_t replicates,
                                              double confidence, uint64_t seed,
                                              jury_interval_t *out);

/* jury_alpha_bootstrap on `threads` threads (1..8, at most one per replicate; 0: as
 * jury_alpha_bootstrap chooses). */
JURY_MUST_CHECK jury_err jury_alpha_bootstrap_threads(const jury_rating_t *ratings, size_t n,
                                                      uint32_t nunits, uint32_t k,
                                                      jury_alpha_level_t level,
                                                      const double *numeric, uint32_t replicates,
                                                      double confidence, uint64_t seed,
                                                      unsigned threads, jury_interval_t *out);

/* ---------------------------------------------------------------------------------------------
 * Krippendorff's alpha with any distance (multi-label sets, rankings, texts)
 * ------------------------------------------------------------------------------------------- */

/*
 * A distance between items a and b (indices into the caller's table of
 * distinct items, passed as arg). It must be symmetric, >= 0 and finite, and
 * is never called with a == b (an item's distance to itself is 0). Writes the
 * distance to *out and returns JURY_OK, or returns an error that aborts the
 * computation and is passed on to the caller.
 */
typedef jury_err (*jury_distance_fn)(uint32_t a, uint32_t b, void *arg, double *out);

/*
 * Krippendorff's alpha with distance dist (delta = the distance itself; use a
 * squared distance for interval-like behaviour). values holds item indices (<
 * nitems) unit after unit; counts[u] is how many values unit u has (their sum
 * is the length of values). Deduplicate equal items to one index: cost is
 * O(sum m_u^2 + d^2) distance calls, d = distinct items in pairable units.
 * All inputs borrowed. Absent like jury_alpha (no pairable unit, D_e = 0).
 * Errors: JURY_EINVAL (index >= nitems, a negative or non-finite distance),
 * JURY_ENOMEM, or whatever dist returns.
 */
JURY_MUST_CHECK jury_err jury_alpha_distance(const uint32_t *values, const uint32_t *counts,
                                             uint32_t nunits, uint32_t nitems,
                                             jury_distance_fn dist, void *arg, jury_measure_t *out);

/* A multi-label answer: label indices sorted ascending without duplicates. */
typedef struct {
    const uint32_t *labels; /* sorted ascending, unique; may be NULL when n is 0 */
    size_t n;               /* number of labels */
} jury_labelset_t;

/* A ranking answer: rank[i] is the rank given to item i (0 = best; equal ranks are ties). */
typedef struct {
    const uint32_t *rank; /* one rank per ranked item */
    size_t n;             /* number of items; equal in both rankings compared */
} jury_ranking_t;

/* A text answer: UTF-8 bytes (invalid bytes count as one symbol each). */
typedef struct {
    const char *s; /* bytes, not necessarily NUL-terminated */
    size_t len;    /* length in bytes */
} jury_text_t;

/*
 * MASI distance (Passonneau 2006) = 1 - J * M, J = |A n B| / |A u B|, M = 1
 * when A = B, 2/3 when one contains the other, 1/3 when they overlap
 * otherwise, 0 when disjoint. Two empty sets are identical (0). Pure.
 */
double jury_distance_masi(const jury_labelset_t *a, const jury_labelset_t *b);

/*
 * Normalised Kendall tau distance between two rankings of the same n items:
 * discordant pairs / (n(n-1)/2), a pair tied in exactly one ranking counting
 * 1/2 (Fagin et al. 2006, p = 1/2). In [0, 1]; 0 when n < 2. Uses the shorter
 * n if they differ. O(n^2), no allocation.
 */
double jury_distance_kendall_tau(const jury_ranking_t *a, const jury_ranking_t *b);

/*
 * Normalised edit distance: Levenshtein distance over Unicode code points
 * divided by the longer length in code points; 0 for two empty texts. Writes
 * *out. Allocates only for texts over 256 code points. Errors: JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_distance_edit(const jury_text_t *a, const jury_text_t *b,
                                            double *out);

/* Ready-made jury_distance_fn callbacks: arg is the caller's item table, an array of
 * jury_labelset_t, jury_ranking_t or jury_text_t respectively, indexed by item. */
JURY_MUST_CHECK jury_err jury_distance_masi_fn(uint32_t a, uint32_t b, void *arg, double *out);
JURY_MUST_CHECK jury_err jury_distance_kendall_tau_fn(uint32_t a, uint32_t b, void *arg,
                                                      double *out);
JURY_MUST_CHECK jury_err jury_distance_edit_fn(uint32_t a, uint32_t b, void *arg, double *out);

/* ---------------------------------------------------------------------------------------------
 * Fleiss, Cohen, percent agreement
 * ------------------------------------------------------------------------------------------- */

/* Fleiss' kappa and its parts. */
typedef struct {
    jury_measure_t kappa; /* Fleiss' kappa (Scott's pi for two raters per record) */
    jury_measure_t s;     /* Bennett's S: (P-bar - 1/q) / (1 - 1/q), q = categories observed */
    double p_bar;         /* mean over pairable records of their pairwise agreement P_i */
    double p_e;           /* chance agreement sum_j p_j^2 */
    uint32_t units;       /* pairable records counted */
    uint32_t categories;  /* categories observed at least once in pairable records (q) */
} jury_fleiss_t;

/*
 * Fleiss' kappa from counts (nunits x k row-major, borrowed): counts[u*k + j]
 * raters put record u in category j. Records may have different numbers of
 * raters n_u (the usual generalisation): P_u = sum_j n_uj (n_uj - 1) / (n_u (n_u
 * - 1)) over records with n_u >= 2, P-bar their mean, p_j = sum_u n_uj / sum_u
 * n_u over the same records, P_e = sum_j p_j^2. With equal n_u this is Fleiss
 * (1971). Pure; cannot fail.
 */
jury_fleiss_t jury_fleiss_kappa(const uint32_t *counts, uint32_t nunits, uint32_t k);

/* jury_fleiss_kappa of a set of ratings (coders ignored) without building the nunits x k
 * table. Borrowed inputs; *out written on JURY_OK. Errors: JURY_EINVAL, JURY_ENOMEM. */
JURY_MUST_CHECK jury_err jury_fleiss_kappa_ratings(const jury_rating_t *ratings, size_t n,
                                                   uint32_t nunits, uint32_t k, jury_fleiss_t *out);

/*
 * Cohen's kappa of a k x k contingency table (row-major, borrowed; rows the
 * first annotator, columns the second; category indices in numeric order).
 * Categories used by neither annotator are dropped first (as R's irr kappa2
 * does), so linear and quadratic weights use ranks among used categories.
 * Absent with JURY_NOTE_NO_SHARED when the table is empty and
 * JURY_NOTE_NO_VARIATION when chance agreement is 1. Allocates only for k >
 * 256 (failure gives JURY_NOTE_OUT_OF_MEMORY).
 */
jury_measure_t jury_cohen_kappa(const double *table, uint32_t k, jury_kappa_weights_t weights);

/* Cohen's kappa between two annotators. */
typedef struct {
    uint32_t a;                     /* first annotator (a < b) */
    uint32_t b;                     /* second annotator */
    uint32_t shared;                /* records both answered */
    double agreement;               /* proportion of shared records with equal answers */
    double chance;                  /* unweighted chance agreement sum_c p_a(c) p_b(c) */
    jury_measure_t kappa;           /* unweighted */
    jury_measure_t kappa_linear;    /* linear weights (meaningful for ordered categories) */
    jury_measure_t kappa_quadratic; /* quadratic weights (meaningful for ordered categories) */
} jury_cohen_pair_t;

/*
 * Cohen's kappa for every pair of annotators who share at least 2 records,
 * sorted by (a, b). Each (unit, coder) may occur once. Writes a malloc'ed
 * array to *out and its length to *npairs (NULL and 0 when no pair
 * qualifies); the caller owns it and frees it with free(). Cost O(ratings +
 * pairs within units + distinct table cells). Errors: JURY_EINVAL (index out
 * of range, a coder rating a unit twice), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_cohen_pairs(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                          uint32_t ncoders, uint32_t k, jury_cohen_pair_t **out,
                                          size_t *npairs);

/*
 * Davies & Fleiss (1982) multi-rater kappa (NLTK's multi_kappa): (mean
 * agreement - mean chance) / (1 - mean chance) over the pairs of
 * jury_cohen_pairs (borrowed). Absent with JURY_NOTE_NO_SHARED when npairs is
 * 0 and JURY_NOTE_NO_VARIATION when the mean chance agreement is 1. Pure.
 */
jury_measure_t jury_multi_kappa(const jury_cohen_pair_t *pairs, size_t npairs);

/*
 * Fills table (k x k doubles, caller's) with the contingency table of
 * annotators a (rows) and b (columns) over the records both answered; pass it
 * to jury_cohen_kappa. Errors: JURY_EINVAL (index out of range, a == b, a
 * coder rating a unit twice), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_cohen_table(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                          uint32_t k, uint32_t a, uint32_t b, double *table);

/*
 * Agreement of one record's m responses (category indices, borrowed): the
 * proportion of pairs of responses that are equal. Absent with
 * JURY_NOTE_FEW_RESPONSES when m < 2. O(m^2), no allocation.
 */
jury_measure_t jury_record_agreement(const uint32_t *values, size_t m);

/* jury_record_agreement of every record: out has nunits entries (caller's). Errors:
 * JURY_EINVAL, JURY_ENOMEM. */
JURY_MUST_CHECK jury_err jury_record_agreements(const jury_rating_t *ratings, size_t n,
                                                uint32_t nunits, jury_measure_t *out);

/*
 * Percent agreement: the mean of jury_record_agreement over pairable records
 * (Fleiss' P-bar; with two annotators, the share of records they agree on).
 * Absent with JURY_NOTE_NO_PAIRABLE. Errors: JURY_EINVAL, JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_percent_agreement(const jury_rating_t *ratings, size_t n,
                                                uint32_t nunits, jury_measure_t *out);

/* ---------------------------------------------------------------------------------------------
 * Per annotator
 * ------------------------------------------------------------------------------------------- */

/* How one annotator agrees with the others. */
typedef struct {
    uint32_t responses;            /* ratings by this annotator */
    uint32_t pairs;                /* pairs with another annotator's response on the same record */
    jury_measure_t with_others;    /* share of those pairs with equal answers */
    uint32_t consensus_records;    /* records counted for with_consensus */
    jury_measure_t with_consensus; /* share of counted records where the answer is the majority */
} jury_annotator_stats_t;

/*
 * Per-annotator statistics; out has ncoders entries (caller's). The consensus
 * of a record is its strict majority-vote answer over all its responses
 * (including this annotator's) and is counted only for records with at least
 * 2 responses and a unique most frequent answer (ties are not counted).
 * Annotators without any pair get JURY_NOTE_NO_SHARED, without any counted
 * record JURY_NOTE_NO_CONSENSUS. Errors: JURY_EINVAL (index out of range, a
 * coder rating a unit twice), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_annotator_stats(const jury_rating_t *ratings, size_t n,
                                              uint32_t nunits, uint32_t ncoders,
                                              jury_annotator_stats_t *out);

/* ---------------------------------------------------------------------------------------------
 * Spans
 * ------------------------------------------------------------------------------------------- */

/* A labelled span [start, end) in characters (code points or bytes, the caller's choice). */
typedef struct {
    uint32_t start; /* first character */
    uint32_t end;   /* one past the last character; end <= start is an empty span */
    uint32_t label; /* span label index */
} jury_span_t;

/*
 * Character-level F1 between two span sets, label-aware: each set is the set
 * of (character, label) pairs its spans cover (overlapping spans within a set
 * count once); F1 = 2 |A n B| / (|A| + |B|). Two empty sets agree fully
 * (1.0). Symmetric. Inputs borrowed, any order. Errors: JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_span_f1(const jury_span_t *a, size_t na, const jury_span_t *b,
                                      size_t nb, jury_measure_t *out);

#endif
