/* test_consolidate.c: consolidation methods on hand cases, the Dawid & Skene (1979) anaesthesia
 * data and the Snow et al. (2008) crowd sets ($JURY_SHARED_DATA/crowd/, see its README.md). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consolidate.h"

/* ---------------------------------------------------------------------------------------------
 * Reading the crowd data
 * ------------------------------------------------------------------------------------------- */

#define MAXN  16384 /* answers per data set */
#define MAXID 1024  /* distinct ids per column */

/* Distinct strings in order of first appearance. */
typedef struct {
    size_t n;
    char *s[MAXID];
} ids_t;

static uint32_t ids_get(ids_t *t, const char *s)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->s[i], s) == 0)
            return (uint32_t)i;
    assert_true(t->n < MAXID);
    t->s[t->n] = strdup(s);
    assert_non_null(t->s[t->n]);
    return (uint32_t)t->n++;
}

static void ids_free(ids_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    t->n = 0;
}

/* A crowd data set: answers with dense indices, and gold per unit when the file has it. */
typedef struct {
    jury_rating_t r[MAXN];
    size_t n;
    ids_t units, coders;
    uint32_t k;
    uint32_t gold[MAXID]; /* category index; UINT32_MAX when unknown */
} crowd_t;

/*
 * Reads a TSV under crowd/ with a header line. Columns: unit, coder, value and gold (-1 for
 * none). Values (and gold) are small non-negative integers; category index = value - vmin.
 */
static void crowd_read(crowd_t *c, const char *name, int cu, int cc, int cv, int cg, int vmin)
{
    const char *dir = getenv("JURY_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/crowd/%s", dir ? dir : "../shared/data", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s (is JURY_SHARED_DATA set?)", path);
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < MAXID; i++)
        c->gold[i] = UINT32_MAX;
    char line[4096];
    bool header = true;
    while (fgets(line, sizeof(line), fp)) {
        if (header) {
            header = false;
            continue;
        }
        char *f[16];
        int nf = 0;
        for (char *save = NULL, *tok = strtok_r(line, "\t\r\n", &save); tok && nf < 16;
             tok = strtok_r(NULL, "\t\r\n", &save))
            f[nf++] = tok;
        if (nf == 0)
            continue;
        assert_true(nf > cu && nf > cc && nf > cv && nf > cg);
        assert_true(c->n < MAXN);
        jury_rating_t *r = &c->r[c->n++];
        r->unit = ids_get(&c->units, f[cu]);
        r->coder = ids_get(&c->coders, f[cc]);
        int v = atoi(f[cv]) - vmin;
        assert_true(v >= 0 && v < 16);
        r->value = (uint32_t)v;
        if ((uint32_t)v + 1 > c->k)
            c->k = (uint32_t)v + 1;
        if (cg >= 0) {
            int g = atoi(f[cg]) - vmin;
            assert_true(g >= 0 && g < 16);
            c->gold[r->unit] = (uint32_t)g;
        }
    }
    fclose(fp);
}

static void crowd_free(crowd_t *c)
{
    ids_free(&c->units);
    ids_free(&c->coders);
}

/* Majority-vote accuracy against gold with ties credited 1/(number tied), as the baselines. */
static double mv_accuracy_credited(const crowd_t *c)
{
    double acc = 0;
    for (size_t u = 0; u < c->units.n; u++) {
        uint32_t cnt[16] = {0}, best = 0, ntied = 0;
        for (size_t i = 0; i < c->n; i++)
            if (c->r[i].unit == u)
                cnt[c->r[i].value]++;
        for (uint32_t v = 0; v < c->k; v++)
            if (cnt[v] > best)
                best = cnt[v];
        for (uint32_t v = 0; v < c->k; v++)
            ntied += cnt[v] == best;
        if (cnt[c->gold[u]] == best)
            acc += 1.0 / ntied;
    }
    return acc / (double)c->units.n;
}

static double choice_accuracy(const crowd_t *c, const jury_choice_t *ch)
{
    size_t hit = 0;
    for (size_t u = 0; u < c->units.n; u++)
        hit += ch[u].ok && ch[u].value == c->gold[u];
    return (double)hit / (double)c->units.n;
}

/* ---------------------------------------------------------------------------------------------
 * Dawid-Skene on the 1979 anaesthesia data
 * ------------------------------------------------------------------------------------------- */

/* expected_ds_em.json's argmax_class_per_patient, patients 1..45, classes 1..4. */
static const uint32_t ds1979_argmax[45] = {1, 4, 2, 2, 2, 2, 1, 3, 2, 2, 4, 3, 1, 2, 1,
                                           1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 2, 1, 1, 1,
                                           1, 3, 1, 2, 2, 4, 2, 3, 3, 1, 1, 1, 2, 1, 2};

static void test_ds_anaesthesia(void **state)
{
    (void)state;
    static crowd_t c;
    crowd_read(&c, "dawid_skene_1979/anaesthesia_long.tsv", 0, 1, 3, -1, 1);
    assert_int_equal(c.n, 315);
    assert_int_equal(c.units.n, 45);
    assert_int_equal(c.coders.n, 5);
    assert_int_equal(c.k, 4);
    jury_ds_result_t *d = NULL;
    assert_int_equal(jury_consolidate_dawid_skene(c.r, c.n, 45, 5, 4, NULL, &d), JURY_OK);
    assert_non_null(d);
    const double marg[4] = {0.40, 0.42, 0.11, 0.07};
    for (int j = 0; j < 4; j++)
        assert_true(fabs(d->marginal[j] - marg[j]) < 5e-3); /* published to 2 decimals */
    assert_true(fabs(d->log_likelihood - -192.8909) < 1e-3);
    assert_true(d->converged);
    for (uint32_t u = 0; u < 45; u++) {
        /* patient ids appear in order 1..45 */
        assert_int_equal(atoi(c.units.s[u]), (int)u + 1);
        assert_true(d->choice[u].ok);
        assert_int_equal(d->choice[u].value + 1, ds1979_argmax[u]);
        assert_int_equal(d->choice[u].nanswers, 7);
    }
    /* Non-degenerate posteriors published in expected_ds_em.json (patients 7 and 38). */
    assert_true(fabs(d->posterior[6 * 4 + 0] - 0.981) < 2e-3);
    assert_true(fabs(d->posterior[37 * 4 + 2] - 0.9788) < 2e-3);
    /* Observer 1's confusion row for class 1: [0.89 0.11 0 0]. */
    assert_true(fabs(d->confusion[0] - 0.89) < 5e-3);
    assert_true(fabs(d->confusion[1] - 0.11) < 5e-3);
    for (uint32_t o = 0; o < 5; o++) {
        assert_true(d->accuracy[o].ok);
        assert_true(d->accuracy[o].value > 0.5 && d->accuracy[o].value <= 1.0);
    }
    /* The reference stopped after 15 iterations (tol 1e-5 on parameters): same path. */
    jury_ds_result_t *d15 = NULL;
    const jury_ds_opts_t o15 = {.max_iter = 15};
    assert_int_equal(jury_consolidate_dawid_skene(c.r, c.n, 45, 5, 4, &o15, &d15), JURY_OK);
    assert_int_equal(d15->iterations, 15);
    assert_false(d15->converged);
    assert_true(fabs(d15->log_likelihood - -192.890882351) < 1e-8);
    jury_ds_result_destroy(&d15);
    printf("# DS 1979: ll %.9f after %u iterations, marginals %.4f %.4f %.4f %.4f\n",
           d->log_likelihood, d->iterations, d->marginal[0], d->marginal[1], d->marginal[2],
           d->marginal[3]);
    jury_ds_result_destroy(&d);
    assert_null(d);
    jury_ds_result_destroy(&d); /* safe twice */
    crowd_free(&c);
}

/* DS beats majority vote on a Snow et al. set (ties credited 1/k for majority). */
static void s_snow(const char *name, int vmin, double min_ds, bool strictly_better)
{
    static crowd_t c;
    crowd_read(&c, name, 2, 1, 3, 4, vmin);
    uint32_t nu = (uint32_t)c.units.n, nc = (uint32_t)c.coders.n;
    jury_ds_result_t *d = NULL;
    assert_int_equal(jury_consolidate_dawid_skene(c.r, c.n, nu, nc, c.k, NULL, &d), JURY_OK);
    double ds = choice_accuracy(&c, d->choice);
    double mv = mv_accuracy_credited(&c);
    jury_choice_t *ch = calloc(nu, sizeof(*ch));
    assert_non_null(ch);
    assert_int_equal(jury_consolidate_majority(c.r, c.n, nu, nc, c.k, NULL, ch), JURY_OK);
    double mvf = choice_accuracy(&c, ch);
    assert_int_equal(jury_consolidate_weighted(c.r, c.n, nu, nc, c.k, NULL, ch, NULL), JURY_OK);
    double wv = choice_accuracy(&c, ch);
    printf("# %s: %u units, %u coders, k %u: MV(1/k) %.4f MV(first) %.4f weighted %.4f DS %.4f "
           "(%u iterations, ll %.4f)\n",
           name, nu, nc, c.k, mv, mvf, wv, ds, d->iterations, d->log_likelihood);
    assert_true(ds >= min_ds);
    if (strictly_better)
        assert_true(ds > mv);
    else
        assert_true(ds >= mv - 1e-12);
    free(ch);
    jury_ds_result_destroy(&d);
    crowd_free(&c);
}

static void test_ds_rte(void **state)
{
    (void)state;
    s_snow("snow2008/rte.standardized.tsv", 0, 0.92, true);
}

static void test_ds_temp(void **state)
{
    (void)state;
    s_snow("snow2008/temp.standardized.tsv", 1, 0.93, false);
}

static void test_ds_wsd(void **state)
{
    (void)state;
    s_snow("snow2008/wsd.standardized.tsv", 1, 0.98, false);
}

/* ---------------------------------------------------------------------------------------------
 * Hand cases
 * ------------------------------------------------------------------------------------------- */

static void test_majority_ties(void **state)
{
    (void)state;
    /* unit 0: 2 x value 1, 1 x value 0 -> 1 by vote.
     * unit 1: value 0 (coder 0) vs value 2 (coder 1): a tie.
     * unit 2: no answers.
     * unit 3: value 2 (coder 0) vs value 1 (coder 2): a tie. */
    const jury_rating_t r[] = {{0, 0, 1}, {0, 1, 1}, {0, 2, 0}, {1, 0, 0},
                               {1, 1, 2}, {3, 0, 2}, {3, 2, 1}};
    const size_t n = sizeof(r) / sizeof(r[0]);
    jury_choice_t ch[4];

    /* No tie information: first in label order. */
    assert_int_equal(jury_consolidate_majority(r, n, 4, 3, 3, NULL, ch), JURY_OK);
    assert_true(ch[0].ok);
    assert_int_equal(ch[0].value, 1);
    assert_int_equal(ch[0].decided_by, JURY_DECIDED_VOTE);
    assert_int_equal(ch[0].nanswers, 3);
    assert_true(fabs(ch[0].support - 2.0 / 3.0) < 1e-12);
    assert_int_equal(ch[1].value, 0);
    assert_int_equal(ch[1].decided_by, JURY_DECIDED_LABEL_ORDER);
    assert_false(ch[2].ok);
    assert_string_equal(ch[2].note, JURY_NOTE_NO_ANSWERS);
    assert_int_equal(ch[2].nanswers, 0);
    assert_int_equal(ch[3].value, 1);

    /* The suggestion wins a tie it is part of; a suggestion outside the tie is ignored. */
    const uint32_t sugg[4] = {0, 2, 1, 0};
    jury_tiebreak_t tb = {.suggestion = sugg, .reliability = NULL};
    assert_int_equal(jury_consolidate_majority(r, n, 4, 3, 3, &tb, ch), JURY_OK);
    assert_int_equal(ch[0].value, 1); /* no tie: the vote stands */
    assert_int_equal(ch[0].decided_by, JURY_DECIDED_VOTE);
    assert_int_equal(ch[1].value, 2);
    assert_int_equal(ch[1].decided_by, JURY_DECIDED_SUGGESTION);
    assert_false(ch[2].ok);
    assert_int_equal(ch[3].value, 1); /* suggestion 0 not tied: label order */
    assert_int_equal(ch[3].decided_by, JURY_DECIDED_LABEL_ORDER);

    /* Reliability: coder 0 most reliable, then 1, then 2. */
    const uint32_t nosugg[4] = {JURY_CONSOLIDATE_NONE, JURY_CONSOLIDATE_NONE, JURY_CONSOLIDATE_NONE,
                                JURY_CONSOLIDATE_NONE};
    const double rel[3] = {0.9, 0.5, 0.1};
    tb = (jury_tiebreak_t){.suggestion = nosugg, .reliability = rel};
    assert_int_equal(jury_consolidate_majority(r, n, 4, 3, 3, &tb, ch), JURY_OK);
    assert_int_equal(ch[1].value, 0);
    assert_int_equal(ch[1].decided_by, JURY_DECIDED_RELIABILITY);
    assert_int_equal(ch[3].value, 2); /* coder 0's answer beats label order */
    assert_int_equal(ch[3].decided_by, JURY_DECIDED_RELIABILITY);

    /* Suggestion beats reliability. */
    tb = (jury_tiebreak_t){.suggestion = sugg, .reliability = rel};
    assert_int_equal(jury_consolidate_majority(r, n, 4, 3, 3, &tb, ch), JURY_OK);
    assert_int_equal(ch[1].value, 2);
    assert_int_equal(ch[3].value, 2);

    /* Equal reliabilities fall back to label order. */
    const double same[3] = {0.5, 0.5, 0.5};
    tb = (jury_tiebreak_t){.suggestion = NULL, .reliability = same};
    assert_int_equal(jury_consolidate_majority(r, n, 4, 3, 3, &tb, ch), JURY_OK);
    assert_int_equal(ch[3].value, 1);
    assert_int_equal(ch[3].decided_by, JURY_DECIDED_LABEL_ORDER);

    /* Bad indices. */
    const jury_rating_t bad[] = {{0, 0, 3}};
    assert_int_equal(jury_consolidate_majority(bad, 1, 4, 3, 3, NULL, ch), JURY_EINVAL);
    const uint32_t badsugg[4] = {3, 0, 0, 0};
    tb = (jury_tiebreak_t){.suggestion = badsugg};
    assert_int_equal(jury_consolidate_majority(r, n, 4, 3, 3, &tb, ch), JURY_EINVAL);
}

static void test_weighted(void **state)
{
    (void)state;
    /*
     * Majority votes: unit 0 {c0=0 c1=0 c2=1} -> 0; unit 1 {c0=1 c1=1 c2=0} -> 1;
     * unit 2 {c0=0 c2=1 c3=1} -> 1; unit 3 {c0=1 c2=0 c3=0} -> 0; unit 4 {c0=1 c1=1 c3=0} -> 1;
     * unit 5 {c1=1 c2=0 c3=0} -> 0. Weights (share agreeing with those): c0 3/5 (units 0, 1, 4),
     * c1 3/4, c2 3/5 (units 2, 3, 5), c3 3/4.
     */
    const jury_rating_t r[] = {{0, 0, 0}, {0, 1, 0}, {0, 2, 1}, {1, 0, 1}, {1, 1, 1}, {1, 2, 0},
                               {2, 0, 0}, {2, 2, 1}, {2, 3, 1}, {3, 0, 1}, {3, 2, 0}, {3, 3, 0},
                               {4, 0, 1}, {4, 1, 1}, {4, 3, 0}, {5, 1, 1}, {5, 2, 0}, {5, 3, 0}};
    const size_t n = sizeof(r) / sizeof(r[0]);
    jury_choice_t mv[6], ch[6];
    double w[4];
    assert_int_equal(jury_consolidate_majority(r, n, 6, 4, 2, NULL, mv), JURY_OK);
    assert_int_equal(mv[5].value, 0);
    assert_int_equal(jury_consolidate_weighted(r, n, 6, 4, 2, NULL, ch, w), JURY_OK);
    assert_true(fabs(w[0] - 3.0 / 5.0) < 1e-12);
    assert_true(fabs(w[1] - 3.0 / 4.0) < 1e-12);
    assert_true(fabs(w[2] - 3.0 / 5.0) < 1e-12);
    assert_true(fabs(w[3] - 3.0 / 4.0) < 1e-12);
    /* unit 4: value 1 = 0.6 + 0.75 = 1.35 vs value 0 = 0.75 -> 1.
     * unit 5: value 1 = 0.75 vs value 0 = 0.6 + 0.75 = 1.35 -> 0.
     * unit 0: value 0 = 1.35 vs 0.6 -> 0. */
    assert_int_equal(ch[0].value, 0);
    assert_int_equal(ch[4].value, 1);
    assert_int_equal(ch[5].value, 0);
    assert_true(fabs(ch[4].support - 1.35 / 2.1) < 1e-12);
    /* A weighted tie: unit 0 of a two-coder set with equal weights -> suggestion. */
    const jury_rating_t t[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 0}, {1, 1, 1}};
    const uint32_t sugg[2] = {1, JURY_CONSOLIDATE_NONE};
    jury_tiebreak_t tb = {.suggestion = sugg};
    assert_int_equal(jury_consolidate_weighted(t, 4, 2, 2, 2, &tb, ch, w), JURY_OK);
    /* MV: unit 0 tie -> suggestion 1, unit 1 tie -> label order 0; so c0 agrees on unit 1
     * only and c1 on unit 0 only: weights 1/2 each, and both weighted votes tie again. */
    assert_true(fabs(w[0] - 0.5) < 1e-12 && fabs(w[1] - 0.5) < 1e-12);
    assert_int_equal(ch[0].value, 1);
    assert_int_equal(ch[0].decided_by, JURY_DECIDED_SUGGESTION);
    assert_int_equal(ch[1].value, 0);
    assert_int_equal(ch[1].decided_by, JURY_DECIDED_LABEL_ORDER);
    /* With reliabilities, coder 1's answer wins the majority tie of unit 1, so coder 1 agrees
     * with the majority everywhere (weight 1) and coder 0 nowhere (weight 0). */
    const double rel[2] = {0.2, 0.8};
    tb.reliability = rel;
    assert_int_equal(jury_consolidate_weighted(t, 4, 2, 2, 2, &tb, ch, w), JURY_OK);
    assert_true(w[0] == 0 && w[1] == 1);
    assert_int_equal(ch[0].value, 1);
    assert_int_equal(ch[1].value, 1);
    assert_int_equal(ch[1].decided_by, JURY_DECIDED_VOTE);
    assert_true(ch[1].support == 1);
}

static void test_rating(void **state)
{
    (void)state;
    const double vals[5] = {1, 2, 3, 4, 5}; /* index i is the value i + 1 */
    /* unit 0: {1, 2}        mean 1.5 -> 2 (halves up); median {1,2} -> 1 (lower)
     * unit 1: {1, 2, 4, 5}  mean 3 -> 3; median -> 2 (lower of 2 and 4)
     * unit 2: {2, 2, 5}     mean 3 -> 3; median 2; majority 2; min 2; max 5
     * unit 3: none
     * unit 4: {1, 1, 2}     mean 1.333 -> 1 */
    const jury_rating_t r[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 0}, {1, 1, 1}, {1, 2, 3}, {1, 3, 4},
                               {2, 0, 1}, {2, 1, 1}, {2, 2, 4}, {4, 0, 0}, {4, 1, 0}, {4, 2, 1}};
    const size_t n = sizeof(r) / sizeof(r[0]);
    jury_choice_t ch[5];

    assert_int_equal(jury_consolidate_rating(JURY_RATING_MEAN, r, n, 5, 4, vals, 5, NULL, ch),
                     JURY_OK);
    assert_int_equal(ch[0].value, 1);
    assert_true(fabs(ch[0].support - 1.5) < 1e-12);
    assert_int_equal(ch[1].value, 2);
    assert_int_equal(ch[2].value, 2);
    assert_false(ch[3].ok);
    assert_string_equal(ch[3].note, JURY_NOTE_NO_ANSWERS);
    assert_int_equal(ch[4].value, 0);

    assert_int_equal(jury_consolidate_rating(JURY_RATING_MEDIAN, r, n, 5, 4, vals, 5, NULL, ch),
                     JURY_OK);
    assert_int_equal(ch[0].value, 0);
    assert_int_equal(ch[1].value, 1);
    assert_int_equal(ch[2].value, 1);
    assert_false(ch[3].ok);
    assert_int_equal(ch[4].value, 0);

    assert_int_equal(jury_consolidate_rating(JURY_RATING_MAJORITY, r, n, 5, 4, vals, 5, NULL, ch),
                     JURY_OK);
    assert_int_equal(ch[0].value, 0); /* tie 1 vs 2: label order */
    assert_int_equal(ch[0].decided_by, JURY_DECIDED_LABEL_ORDER);
    assert_int_equal(ch[2].value, 1);
    assert_int_equal(ch[4].value, 0);

    assert_int_equal(jury_consolidate_rating(JURY_RATING_MIN, r, n, 5, 4, vals, 5, NULL, ch),
                     JURY_OK);
    assert_int_equal(ch[1].value, 0);
    assert_int_equal(ch[2].value, 1);
    assert_true(fabs(ch[2].support - 2.0 / 3.0) < 1e-12);
    assert_false(ch[3].ok);

    assert_int_equal(jury_consolidate_rating(JURY_RATING_MAX, r, n, 5, 4, vals, 5, NULL, ch),
                     JURY_OK);
    assert_int_equal(ch[1].value, 4);
    assert_int_equal(ch[2].value, 4);
    assert_int_equal(ch[4].value, 1);

    /* Allowed values {0, 5, 10}: {0, 10} has mean 5 -> 5; {0, 5} has mean 2.5, halfway -> 5. */
    const double uneven[3] = {0, 5, 10};
    const jury_rating_t q[] = {{0, 0, 0}, {0, 1, 2}, {1, 0, 0}, {1, 1, 1}};
    assert_int_equal(jury_consolidate_rating(JURY_RATING_MEAN, q, 4, 2, 2, uneven, 3, NULL, ch),
                     JURY_OK);
    assert_int_equal(ch[0].value, 1);
    assert_int_equal(ch[1].value, 1);
    /* Negative halves go up too: {-1, 0} on {-1, 0} mean -0.5 -> 0. */
    const double neg[2] = {-1, 0};
    const jury_rating_t s[] = {{0, 0, 0}, {0, 1, 1}};
    assert_int_equal(jury_consolidate_rating(JURY_RATING_MEAN, s, 2, 1, 2, neg, 2, NULL, ch),
                     JURY_OK);
    assert_int_equal(ch[0].value, 1);

    /* Values must increase. */
    const double down[2] = {2, 1};
    assert_int_equal(jury_consolidate_rating(JURY_RATING_MEAN, s, 2, 1, 2, down, 2, NULL, ch),
                     JURY_EINVAL);
}

static void test_ds_edges(void **state)
{
    (void)state;
    /* A unit without answers, a coder without answers, and repeated answers. */
    const jury_rating_t r[] = {{0, 0, 0}, {0, 0, 0}, {0, 1, 0}, {2, 0, 1}, {2, 1, 1}};
    jury_ds_result_t *d = NULL;
    assert_int_equal(jury_consolidate_dawid_skene(r, 5, 3, 3, 2, NULL, &d), JURY_OK);
    assert_true(d->choice[0].ok);
    assert_int_equal(d->choice[0].value, 0);
    assert_int_equal(d->choice[0].nanswers, 3);
    assert_false(d->choice[1].ok);
    assert_string_equal(d->choice[1].note, JURY_NOTE_NO_ANSWERS);
    assert_true(fabs(d->posterior[2] + d->posterior[3] - 1) < 1e-12);
    assert_int_equal(d->choice[2].value, 1);
    assert_false(d->accuracy[2].ok);
    assert_true(isfinite(d->log_likelihood));
    jury_ds_result_destroy(&d);
    /* No answers at all. */
    assert_int_equal(jury_consolidate_dawid_skene(NULL, 0, 2, 1, 2, NULL, &d), JURY_OK);
    assert_false(d->choice[0].ok);
    assert_true(d->log_likelihood == 0 && d->iterations == 0 && d->converged);
    jury_ds_result_destroy(&d);
    const jury_rating_t bad[] = {{0, 1, 0}};
    assert_int_equal(jury_consolidate_dawid_skene(bad, 1, 1, 1, 2, NULL, &d), JURY_EINVAL);
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_majority_ties),  cmocka_unit_test(test_weighted),
        cmocka_unit_test(test_rating),         cmocka_unit_test(test_ds_edges),
        cmocka_unit_test(test_ds_anaesthesia), cmocka_unit_test(test_ds_rte),
        cmocka_unit_test(test_ds_temp),        cmocka_unit_test(test_ds_wsd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
