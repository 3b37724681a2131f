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

static void test_weighted_gold(void **state)
{
    (void)state;
    /* The 6-unit set of test_weighted, whose agreement weights are c0 3/5, c1 3/4, c2 3/5,
     * c3 3/4. */
    const jury_rating_t r[] = {{0, 0, 0}, {0, 1, 0}, {0, 2, 1}, {1, 0, 1}, {1, 1, 1}, {1, 2, 0},
                               {2, 0, 0}, {2, 2, 1}, {2, 3, 1}, {3, 0, 1}, {3, 2, 0}, {3, 3, 0},
                               {4, 0, 1}, {4, 1, 1}, {4, 3, 0}, {5, 1, 1}, {5, 2, 0}, {5, 3, 0}};
    const size_t n = sizeof(r) / sizeof(r[0]);
    jury_choice_t plain[6], ch[6];
    double wplain[4], w[4];
    assert_int_equal(jury_consolidate_weighted(r, n, 6, 4, 2, NULL, plain, wplain), JURY_OK);
    /* NULL gold is jury_consolidate_weighted exactly, and so is gold below the minimum. */
    assert_int_equal(jury_consolidate_weighted_gold(r, n, 6, 4, 2, NULL, NULL, ch, w), JURY_OK);
    assert_memory_equal(ch, plain, sizeof ch);
    assert_memory_equal(w, wplain, sizeof w);
    const uint64_t few[4] = {9, 9, 9, 0}, few_ok[4] = {9, 0, 5, 0};
    const jury_gold_t below = {few, few_ok};
    assert_int_equal(jury_consolidate_weighted_gold(r, n, 6, 4, 2, NULL, &below, ch, w), JURY_OK);
    assert_memory_equal(ch, plain, sizeof ch);
    assert_memory_equal(w, wplain, sizeof w);
    /*
     * Gold: c0 10 of 10 right (weight 1), c1 9 of 9 (under JURY_CONSOLIDATE_GOLD_MIN: keeps 3/4),
     * c2 4 of 20 (weight 0.2), c3 none (keeps 3/4). Weighted votes:
     *   unit 0 {c0=0 c1=0 c2=1}: 0 = 1.75, 1 = 0.2  -> 0
     *   unit 1 {c0=1 c1=1 c2=0}: 1 = 1.75, 0 = 0.2  -> 1
     *   unit 2 {c0=0 c2=1 c3=1}: 0 = 1,    1 = 0.95 -> 0 (without gold 0.6 vs 1.35 -> 1)
     *   unit 3 {c0=1 c2=0 c3=0}: 1 = 1,    0 = 0.95 -> 1 (without gold 0.6 vs 1.35 -> 0)
     *   unit 4 {c0=1 c1=1 c3=0}: 1 = 1.75, 0 = 0.75 -> 1
     *   unit 5 {c1=1 c2=0 c3=0}: 1 = 0.75, 0 = 0.95 -> 0
     */
    const uint64_t answered[4] = {10, 9, 20, 0}, correct[4] = {10, 9, 4, 0};
    const jury_gold_t gold = {answered, correct};
    double acc = -1;
    assert_true(jury_consolidate_gold_accuracy(&gold, 0, &acc) && acc == 1.0);
    assert_false(jury_consolidate_gold_accuracy(&gold, 1, &acc));
    assert_true(jury_consolidate_gold_accuracy(&gold, 2, &acc) && fabs(acc - 0.2) < 1e-15);
    assert_false(jury_consolidate_gold_accuracy(&gold, 3, &acc));
    assert_false(jury_consolidate_gold_accuracy(NULL, 0, &acc));
    assert_int_equal(jury_consolidate_weighted_gold(r, n, 6, 4, 2, NULL, &gold, ch, w), JURY_OK);
    assert_true(w[0] == 1.0);
    assert_true(fabs(w[1] - 3.0 / 4.0) < 1e-12);
    assert_true(fabs(w[2] - 0.2) < 1e-12);
    assert_true(fabs(w[3] - 3.0 / 4.0) < 1e-12);
    const uint32_t want[6] = {0, 1, 0, 1, 1, 0};
    for (int u = 0; u < 6; u++) {
        assert_true(ch[u].ok);
        assert_int_equal(ch[u].value, want[u]);
        assert_int_equal(ch[u].nanswers, 3);
        assert_int_equal(ch[u].decided_by, JURY_DECIDED_VOTE);
    }
    assert_int_equal(plain[2].value, 1);
    assert_int_equal(plain[3].value, 0);
    assert_true(fabs(ch[0].support - 1.75 / 1.95) < 1e-12);
    assert_true(fabs(ch[2].support - 1.0 / 1.95) < 1e-12);
    assert_true(fabs(ch[3].support - 1.0 / 1.95) < 1e-12);
    assert_true(fabs(ch[5].support - 0.95 / 1.7) < 1e-12);
    /* Bad gold: more right than answered, a missing array. */
    const uint64_t over[4] = {10, 0, 0, 0}, over_ok[4] = {11, 0, 0, 0};
    const jury_gold_t bad = {over, over_ok}, half = {answered, NULL};
    assert_int_equal(jury_consolidate_weighted_gold(r, n, 6, 4, 2, NULL, &bad, ch, w), JURY_EINVAL);
    assert_int_equal(jury_consolidate_weighted_gold(r, n, 6, 4, 2, NULL, &half, ch, w),
                     JURY_EINVAL);
}

static void test_ds_gold(void **state)
{
    (void)state;
    /*
     * Unit 0 {c0=0 c1=1}, unit 1 {c0=0 c1=0}; coder 2 answers nothing. One iteration by hand.
     * Start: posteriors (1/2, 1/2) and (1, 0). M step: marginals (3/4, 1/4); answer counts c0
     * rows [3/2 0] [1/2 0], c1 rows [1 1/2] [0 1/2].
     * Without gold: c1 rows [2/3 1/3] [0 1]; unit 0: class 0 = 3/4 x 1 x 1/3 = 1/4, class 1 =
     * 1/4 x 1 x 1 = 1/4, even (posteriors 1/2 and 1/2, up to rounding in the logs).
     * Gold c1 10 of 10 right adds 10/2 = 5 to each diagonal entry: rows [6 1/2] -> [12/13 1/13],
     * [0 11/2] -> [0 1]; unit 0: class 0 = 3/4 x 1/13, class 1 = 1/4 -> class 1, posterior
     * (1/4) / (3/52 + 13/52) = 13/16. Unit 1: class 0 = 3/4 x 12/13, class 1 = 0.
     * Log-likelihood log(3/52 + 13/52) + log(9/13) = log(36/169). c1's accuracy
     * (13/16 + 1) / 2 = 29/32. Coder 2 (gold 14 of 20, no answers) gets the prior alone: 14/2 = 7
     * on the diagonal, 6/2 = 3 off it: rows [0.7 0.3], [0.3 0.7].
     */
    const jury_rating_t r[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 0}, {1, 1, 0}};
    const uint64_t answered[3] = {0, 10, 20}, correct[3] = {0, 10, 14};
    const jury_gold_t gold = {answered, correct};
    jury_ds_result_t *d = NULL, *g = NULL;
    const jury_ds_opts_t one = {.max_iter = 1}, one_gold = {.max_iter = 1, .gold = &gold};
    assert_int_equal(jury_consolidate_dawid_skene(r, 4, 2, 3, 2, &one, &d), JURY_OK);
    assert_true(fabs(d->posterior[0] - 0.5) < 1e-12 && fabs(d->posterior[1] - 0.5) < 1e-12);
    assert_int_equal(jury_consolidate_dawid_skene(r, 4, 2, 3, 2, &one_gold, &g), JURY_OK);
    assert_int_equal(g->iterations, 1);
    assert_int_equal(g->choice[0].value, 1);
    assert_true(fabs(g->choice[0].support - 13.0 / 16.0) < 1e-12);
    assert_true(fabs(g->posterior[0] - 3.0 / 16.0) < 1e-12);
    assert_int_equal(g->choice[1].value, 0);
    assert_true(g->posterior[2] == 1.0 && g->posterior[3] == 0.0);
    assert_true(fabs(g->log_likelihood - log(36.0 / 169.0)) < 1e-12);
    const double *c1 = g->confusion + 4, *c2 = g->confusion + 8;
    assert_true(fabs(c1[0] - 12.0 / 13.0) < 1e-12 && fabs(c1[1] - 1.0 / 13.0) < 1e-12);
    assert_true(c1[2] == 0.0 && c1[3] == 1.0);
    assert_true(fabs(c2[0] - 0.7) < 1e-12 && fabs(c2[1] - 0.3) < 1e-12);
    assert_true(fabs(c2[2] - 0.3) < 1e-12 && fabs(c2[3] - 0.7) < 1e-12);
    assert_true(g->accuracy[1].ok && fabs(g->accuracy[1].value - 29.0 / 32.0) < 1e-12);
    assert_false(g->accuracy[2].ok);
    jury_ds_result_destroy(&d);
    jury_ds_result_destroy(&g);
    /* NULL gold in the options is the default run exactly. */
    const jury_ds_opts_t none = {.gold = NULL};
    assert_int_equal(jury_consolidate_dawid_skene(r, 4, 2, 3, 2, NULL, &d), JURY_OK);
    assert_int_equal(jury_consolidate_dawid_skene(r, 4, 2, 3, 2, &none, &g), JURY_OK);
    assert_memory_equal(d->posterior, g->posterior, 4 * sizeof(double));
    assert_memory_equal(d->confusion, g->confusion, 12 * sizeof(double));
    assert_true(d->log_likelihood == g->log_likelihood && d->iterations == g->iterations);
    jury_ds_result_destroy(&d);
    jury_ds_result_destroy(&g);
    /* Run to the end, the gold prior keeps unit 0 with the perfect coder. */
    const jury_ds_opts_t full = {.gold = &gold};
    assert_int_equal(jury_consolidate_dawid_skene(r, 4, 2, 3, 2, &full, &g), JURY_OK);
    assert_int_equal(g->choice[0].value, 1);
    assert_true(g->converged);
    jury_ds_result_destroy(&g);
    const uint64_t over_ok[3] = {1, 10, 14};
    const jury_gold_t bad = {answered, over_ok};
    const jury_ds_opts_t bad_opts = {.gold = &bad};
    assert_int_equal(jury_consolidate_dawid_skene(r, 4, 2, 3, 2, &bad_opts, &g), JURY_EINVAL);
    assert_null(g);
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

/* ---------------------------------------------------------------------------------------------
 * One record at a time
 * ------------------------------------------------------------------------------------------- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A choice that a failing call must leave as it was. */
static const jury_choice_t untouched = {.ok = true, .value = 77, .nanswers = 77, .support = 7};

static void assert_untouched(const jury_choice_t *c)
{
    assert_true(c->ok);
    assert_int_equal(c->value, 77);
    assert_int_equal(c->nanswers, 77);
    assert_true(c->support == 7);
}

static void test_multi_label(void **state)
{
    (void)state;
    /* Labels 0..4, four answers. Counts: label 0 x3, 1 x2, 2 x2, 3 x1, 4 x0. */
    const uint32_t a0[] = {0, 1}, a1[] = {0, 2}, a2[] = {0, 1, 3}, a3[] = {2};
    const jury_labelset_t ans[] = {{a0, 2}, {a1, 2}, {a2, 3}, {a3, 1}};
    uint32_t labels[5];
    size_t n = 99;
    jury_choice_t ch;

    /* Label 0 has 3 of 4 (more than half); labels 1 and 2 exactly half, out without suggestion.
     * Agreement with the result {0} over the union {0,1,2,3}: 3/4, 2/4, 2/4, 3/4; mean 10/16. */
    assert_int_equal(jury_consolidate_multi_label(ans, 4, 5, NULL, labels, &n, &ch), JURY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(labels[0], 0);
    assert_true(ch.ok);
    assert_null(ch.note);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.nanswers, 4);
    assert_true(fabs(ch.support - 10.0 / 16.0) < 1e-12);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);

    /* Suggestion {2, 4}: label 2 (exactly half) comes in, label 1 (half, not suggested) stays
     * out, label 4 (no votes) stays out. Result {0, 2}; a half label agrees 2/4 either way, so
     * the support is again 10/16. */
    const uint32_t sg[] = {2, 4};
    const jury_labelset_t sugg = {sg, 2};
    assert_int_equal(jury_consolidate_multi_label(ans, 4, 5, &sugg, labels, &n, &ch), JURY_OK);
    assert_int_equal(n, 2);
    assert_int_equal(labels[0], 0);
    assert_int_equal(labels[1], 2);
    assert_true(fabs(ch.support - 10.0 / 16.0) < 1e-12);
    assert_int_equal(ch.decided_by, JURY_DECIDED_SUGGESTION);

    /* Odd m: no label can sit at half, so a suggestion decides nothing. {0,1}, {1}, {1,2}:
     * label 1 x3 in, 0 and 2 x1 out; support (3/3 + 2/3 + 2/3) / 3 = 7/9. */
    const uint32_t b0[] = {0, 1}, b1[] = {1}, b2[] = {1, 2};
    const jury_labelset_t odd[] = {{b0, 2}, {b1, 1}, {b2, 2}};
    assert_int_equal(
        jury_consolidate_multi_label(odd, 3, 3, &(jury_labelset_t){sg, 1}, labels, &n, &ch),
        JURY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(labels[0], 1);
    assert_true(fabs(ch.support - 7.0 / 9.0) < 1e-12);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);

    /* Empty result: {0}, {1}, {2} give each label 1 of 3; every label out, each agreeing 2/3. */
    const uint32_t c0[] = {0}, c1[] = {1}, c2[] = {2};
    const jury_labelset_t apart[] = {{c0, 1}, {c1, 1}, {c2, 1}};
    assert_int_equal(jury_consolidate_multi_label(apart, 3, 3, NULL, labels, &n, &ch), JURY_OK);
    assert_int_equal(n, 0);
    assert_true(ch.ok);
    assert_true(fabs(ch.support - 2.0 / 3.0) < 1e-12);

    /* Nobody chose anything: empty result, empty union, support 1. */
    const jury_labelset_t none[] = {{NULL, 0}, {NULL, 0}};
    assert_int_equal(jury_consolidate_multi_label(none, 2, 3, NULL, labels, &n, &ch), JURY_OK);
    assert_int_equal(n, 0);
    assert_true(ch.ok && ch.support == 1);

    /* No answers. */
    n = 99;
    assert_int_equal(jury_consolidate_multi_label(NULL, 0, 5, NULL, NULL, &n, &ch), JURY_OK);
    assert_int_equal(n, 0);
    assert_false(ch.ok);
    assert_string_equal(ch.note, JURY_NOTE_NO_ANSWERS);
    assert_int_equal(ch.nanswers, 0);
    assert_true(ch.support == 0);
}

static void test_multi_label_einval(void **state)
{
    (void)state;
    const uint32_t ok[] = {0, 2}, big[] = {5}, down[] = {2, 1}, dup[] = {1, 1};
    const jury_labelset_t good[] = {{ok, 2}};
    uint32_t labels[5];
    size_t n = 99;
    jury_choice_t ch = untouched;
    const jury_labelset_t bad[] = {{big, 1}, {down, 2}, {dup, 2}, {NULL, 1}};
    for (size_t i = 0; i < NELEM(bad); i++) {
        assert_int_equal(jury_consolidate_multi_label(&bad[i], 1, 5, NULL, labels, &n, &ch),
                         JURY_EINVAL);
        assert_int_equal(jury_consolidate_multi_label(good, 1, 5, &bad[i], labels, &n, &ch),
                         JURY_EINVAL);
    }
    assert_int_equal(jury_consolidate_multi_label(NULL, 1, 5, NULL, labels, &n, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_multi_label(good, 1, 5, NULL, NULL, &n, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_multi_label(good, 1, 5, NULL, labels, NULL, &ch),
                     JURY_EINVAL);
    assert_int_equal(jury_consolidate_multi_label(good, 1, 5, NULL, labels, &n, NULL), JURY_EINVAL);
    /* k = 2: label 2 is out of range. */
    assert_int_equal(jury_consolidate_multi_label(good, 1, 2, NULL, labels, &n, &ch), JURY_EINVAL);
    assert_int_equal(n, 99);
    assert_untouched(&ch);
}

static void test_ranking_borda(void **state)
{
    (void)state;
    /* Rank sums: item 0: 0+1+0 = 1, item 1: 1+0+2 = 3, item 2: 2+3+1 = 6, item 3: 3+2+3 = 8;
     * all different, so the result is 0 < 1 < 2 < 3. Kendall tau distances of the result to
     * the answers: 0; 2/6 (pairs 0-1 and 2-3 swapped); 1/6 (pair 1-2). Support 1 - (3/6)/3. */
    const uint32_t r0[] = {0, 1, 2, 3}, r1[] = {1, 0, 3, 2}, r2[] = {0, 2, 1, 3};
    const jury_ranking_t ans[] = {{r0, 4}, {r1, 4}, {r2, 4}};
    uint32_t out[4];
    jury_choice_t ch;
    assert_int_equal(jury_consolidate_ranking(JURY_RANKING_BORDA, ans, 3, 4, NULL, NULL, out, &ch),
                     JURY_OK);
    assert_true(ch.ok);
    assert_int_equal(ch.nanswers, 3);
    assert_int_equal(ch.value, 0);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 2);
    assert_int_equal(out[3], 3);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(fabs(ch.support - 5.0 / 6.0) < 1e-12);

    /* Two opposite answers: every item sums to 2, a three-way tie. */
    const uint32_t f[] = {0, 1, 2}, b[] = {2, 1, 0};
    const jury_ranking_t opp[] = {{f, 3}, {b, 3}};
    /* By item index: result = f; tau 0 to f and 1 to b; support 1 - 1/2. */
    assert_int_equal(jury_consolidate_ranking(JURY_RANKING_BORDA, opp, 2, 3, NULL, NULL, out, &ch),
                     JURY_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 2);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);
    assert_true(fabs(ch.support - 0.5) < 1e-12);
    /* By the suggestion {2, 0, 1}: order item 1, item 2, item 0, i.e. ranks {2, 0, 1}. Tau to
     * f: pairs 0-1 and 0-2 reversed, 2/3; to b: pair 1-2 reversed, 1/3; support 1 - 1/2. */
    const uint32_t s1[] = {2, 0, 1};
    const jury_ranking_t sugg = {s1, 3};
    assert_int_equal(jury_consolidate_ranking(JURY_RANKING_BORDA, opp, 2, 3, &sugg, NULL, out, &ch),
                     JURY_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 1);
    assert_int_equal(ch.decided_by, JURY_DECIDED_SUGGESTION);
    assert_true(fabs(ch.support - 0.5) < 1e-12);
    /* A suggestion {0, 0, 1} puts item 2 last but ties items 0 and 1: index order there, so the
     * order is 0, 1, 2 and the weakest rule used is item order. */
    const uint32_t s2[] = {0, 0, 1};
    const jury_ranking_t half = {s2, 3};
    assert_int_equal(jury_consolidate_ranking(JURY_RANKING_BORDA, opp, 2, 3, &half, NULL, out, &ch),
                     JURY_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 2);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);

    /* Answers with ties: {0, 0, 2} and {1, 0, 0}. Sums 1, 0, 2: result ranks {1, 0, 2}.
     * Tau to {0,0,2}: pair 0-1 tied in the answer only, 1/2 of 3 pairs = 1/6. Tau to {1,0,0}:
     * pair 0-2 reversed (1) and pair 1-2 tied in the answer only (1/2): 1.5/3 = 1/2.
     * Support 1 - (1/6 + 1/2)/2 = 2/3. */
    const uint32_t t0[] = {0, 0, 2}, t1[] = {1, 0, 0};
    const jury_ranking_t tied[] = {{t0, 3}, {t1, 3}};
    assert_int_equal(jury_consolidate_ranking(JURY_RANKING_BORDA, tied, 2, 3, NULL, NULL, out, &ch),
                     JURY_OK);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 2);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(fabs(ch.support - 2.0 / 3.0) < 1e-12);

    /* No answers: not ok, and out_rank is not written. */
    out[0] = 9;
    assert_int_equal(jury_consolidate_ranking(JURY_RANKING_BORDA, NULL, 0, 3, NULL, NULL, out, &ch),
                     JURY_OK);
    assert_false(ch.ok);
    assert_string_equal(ch.note, JURY_NOTE_NO_ANSWERS);
    assert_int_equal(ch.nanswers, 0);
    assert_int_equal(out[0], 9);
}

static void test_ranking_majority(void **state)
{
    (void)state;
    /* A = {0,1,2} twice (answers 0 and 2), B = {2,1,0} twice (answers 1 and 3), C once (4):
     * A and B tie with 2 of 5 answers. */
    const uint32_t a[] = {0, 1, 2}, b[] = {2, 1, 0}, c[] = {1, 0, 2};
    const jury_ranking_t ans[] = {{a, 3}, {b, 3}, {a, 3}, {b, 3}, {c, 3}};
    uint32_t out[4];
    jury_choice_t ch;
    const jury_ranking_method_t MAJ = JURY_RANKING_MAJORITY;

    /* Nothing to break the tie: the one given first, A. */
    assert_int_equal(jury_consolidate_ranking(MAJ, ans, 5, 3, NULL, NULL, out, &ch), JURY_OK);
    assert_true(ch.ok);
    assert_int_equal(ch.nanswers, 5);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 2);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);
    assert_true(fabs(ch.support - 2.0 / 5.0) < 1e-12);

    /* The suggestion B is one of the tied answers; it wins even over reliability. */
    const jury_ranking_t sb = {b, 3}, sc = {c, 3};
    const double rel_a[] = {0.9, 0.1, 0.1, 0.1, 0.1};
    assert_int_equal(jury_consolidate_ranking(MAJ, ans, 5, 3, &sb, rel_a, out, &ch), JURY_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_SUGGESTION);
    assert_true(fabs(ch.support - 2.0 / 5.0) < 1e-12);

    /* The suggestion C is not tied: reliability decides. A's best annotator has 0.2 (answers 0
     * and 2), B's 0.9 (answers 1 and 3); C's 0.95 does not count, C is not tied. */
    const double rel_b[] = {0.1, 0.9, 0.2, 0.3, 0.95};
    assert_int_equal(jury_consolidate_ranking(MAJ, ans, 5, 3, &sc, rel_b, out, &ch), JURY_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_RELIABILITY);

    /* A and B share the top reliability 0.9: the first given, A. */
    const double rel_same[] = {0.9, 0.9, 0.1, 0.1, 0.1};
    assert_int_equal(jury_consolidate_ranking(MAJ, ans, 5, 3, NULL, rel_same, out, &ch), JURY_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[2], 2);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);

    /* A clear majority: B, B, A gives B with 2/3. */
    const jury_ranking_t clear[] = {{b, 3}, {b, 3}, {a, 3}};
    assert_int_equal(
        jury_consolidate_ranking(MAJ, clear, 3, 3, &(jury_ranking_t){a, 3}, NULL, out, &ch),
        JURY_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(fabs(ch.support - 2.0 / 3.0) < 1e-12);

    /* A chosen answer with ties: T = {1,0,1,0} twice against {0,1,2,3} once. Items 1 and 3
     * share rank 0 and take 0 and 1 by index; items 0 and 2 share rank 1 and take 2 and 3.
     * Result {2, 0, 3, 1}. Competition-style ranks {2,0,2,0} give the same. */
    const uint32_t t[] = {1, 0, 1, 0}, id[] = {0, 1, 2, 3}, tc[] = {2, 0, 2, 0};
    const jury_ranking_t withties[] = {{t, 4}, {id, 4}, {t, 4}};
    assert_int_equal(jury_consolidate_ranking(MAJ, withties, 3, 4, NULL, NULL, out, &ch), JURY_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 3);
    assert_int_equal(out[3], 1);
    assert_true(fabs(ch.support - 2.0 / 3.0) < 1e-12);
    const jury_ranking_t comp[] = {{tc, 4}};
    assert_int_equal(jury_consolidate_ranking(MAJ, comp, 1, 4, NULL, NULL, out, &ch), JURY_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 3);
    assert_int_equal(out[3], 1);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(ch.support == 1);

    /* No answers. */
    assert_int_equal(jury_consolidate_ranking(MAJ, NULL, 0, 3, NULL, NULL, out, &ch), JURY_OK);
    assert_false(ch.ok);
    assert_string_equal(ch.note, JURY_NOTE_NO_ANSWERS);
}

static void test_ranking_einval(void **state)
{
    (void)state;
    const uint32_t a[] = {0, 1, 2}, big[] = {0, 3, 1}, two[] = {0, 1};
    const jury_ranking_t good[] = {{a, 3}};
    const jury_ranking_t bad[] = {{big, 3}, {two, 2}, {NULL, 3}};
    uint32_t out[3] = {9, 9, 9};
    jury_choice_t ch = untouched;
    for (int meth = 0; meth < 2; meth++) {
        const jury_ranking_method_t mt = (jury_ranking_method_t)meth;
        for (size_t i = 0; i < NELEM(bad); i++) {
            assert_int_equal(jury_consolidate_ranking(mt, &bad[i], 1, 3, NULL, NULL, out, &ch),
                             JURY_EINVAL);
            assert_int_equal(jury_consolidate_ranking(mt, good, 1, 3, &bad[i], NULL, out, &ch),
                             JURY_EINVAL);
        }
        assert_int_equal(jury_consolidate_ranking(mt, good, 1, 0, NULL, NULL, out, &ch),
                         JURY_EINVAL);
        assert_int_equal(jury_consolidate_ranking(mt, good, 1, 65536, NULL, NULL, out, &ch),
                         JURY_EINVAL);
        assert_int_equal(jury_consolidate_ranking(mt, NULL, 1, 3, NULL, NULL, out, &ch),
                         JURY_EINVAL);
        assert_int_equal(jury_consolidate_ranking(mt, good, 1, 3, NULL, NULL, NULL, &ch),
                         JURY_EINVAL);
        assert_int_equal(jury_consolidate_ranking(mt, good, 1, 3, NULL, NULL, out, NULL),
                         JURY_EINVAL);
        /* n == 0 fails even without answers. */
        assert_int_equal(jury_consolidate_ranking(mt, NULL, 0, 0, NULL, NULL, out, &ch),
                         JURY_EINVAL);
    }
    assert_int_equal(
        jury_consolidate_ranking((jury_ranking_method_t)2, good, 1, 3, NULL, NULL, out, &ch),
        JURY_EINVAL);
    assert_int_equal(out[0], 9);
    assert_untouched(&ch);
}

static jury_text_t txt(const char *s)
{
    return (jury_text_t){s, strlen(s)};
}

static void test_text_medoid(void **state)
{
    (void)state;
    jury_choice_t ch;
    const jury_text_method_t MED = JURY_TEXT_MEDOID;
    /* Edit distances: abc-abd 1/3, abc-xyz 1, abd-xyz 1. Distance sums 4/3, 4/3, 2; mean
     * similarities 1 - (4/3)/2 = 1/3, 1/3, 0: "abc" and "abd" tie. */
    const jury_text_t t3[] = {txt("abc"), txt("abd"), txt("xyz")};
    assert_int_equal(jury_consolidate_text(MED, t3, 3, NULL, &ch), JURY_OK);
    assert_true(ch.ok);
    assert_int_equal(ch.nanswers, 3);
    assert_int_equal(ch.value, 0); /* the first */
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);
    assert_true(fabs(ch.support - 1.0 / 3.0) < 1e-12);
    /* The more reliable of the tied pair; "xyz" is more reliable still but not tied. */
    const double rel[] = {0.2, 0.8, 0.9};
    assert_int_equal(jury_consolidate_text(MED, t3, 3, rel, &ch), JURY_OK);
    assert_int_equal(ch.value, 1);
    assert_int_equal(ch.decided_by, JURY_DECIDED_RELIABILITY);
    assert_true(fabs(ch.support - 1.0 / 3.0) < 1e-12);
    /* Equal reliability among the tied: the first. */
    const double same[] = {0.5, 0.5, 0.9};
    assert_int_equal(jury_consolidate_text(MED, t3, 3, same, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);

    /* "cat" twice, "cart", "dog". Distances: cat-cart 1/4 (one insertion over 4), cat-dog 3/3,
     * cart-dog 4/4. Sums over the 4 answers: cat 0 + 1/4 + 1 = 5/4, cart 2/4 + 1 = 3/2, dog
     * 2 + 1 = 3. Mean similarity of cat 1 - (5/4)/3 = 7/12. The two cats tie with each other
     * only, which is no tie of texts. */
    const jury_text_t t4[] = {txt("cat"), txt("cat"), txt("cart"), txt("dog")};
    assert_int_equal(jury_consolidate_text(MED, t4, 4, NULL, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(fabs(ch.support - 7.0 / 12.0) < 1e-12);
    const double rel4[] = {0.1, 0.7, 0.9, 0.95};
    assert_int_equal(jury_consolidate_text(MED, t4, 4, rel4, &ch), JURY_OK);
    assert_int_equal(ch.value, 1); /* the more reliable of the two cats */
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(fabs(ch.support - 7.0 / 12.0) < 1e-12);

    /* Identical answers (the last without a terminating NUL in its bytes): similarity 1. */
    const char raw[] = {'s', 'a', 'm', 'e', 'X'};
    const jury_text_t ident[] = {txt("same"), txt("same"), {raw, 4}};
    assert_int_equal(jury_consolidate_text(MED, ident, 3, NULL, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(ch.support == 1);
    const double rel3[] = {0.0, 1.0, 0.5};
    assert_int_equal(jury_consolidate_text(MED, ident, 3, rel3, &ch), JURY_OK);
    assert_int_equal(ch.value, 1);

    /* Empty texts are texts: "", "", "a" -> "" has distances 0 and 1, mean similarity 1/2. */
    const jury_text_t empt[] = {{NULL, 0}, txt(""), txt("a")};
    assert_int_equal(jury_consolidate_text(MED, empt, 3, NULL, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_true(fabs(ch.support - 0.5) < 1e-12);

    /* Code points, not bytes: "héllo" vs "hello" is 1 substitution of 5 (similarity 4/5). */
    const jury_text_t utf[] = {txt("h\xc3\xa9llo"), txt("hello")};
    assert_int_equal(jury_consolidate_text(MED, utf, 2, NULL, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);
    assert_true(fabs(ch.support - 0.8) < 1e-12);

    /* m = 1 and m = 0. */
    assert_int_equal(jury_consolidate_text(MED, t3, 1, NULL, &ch), JURY_OK);
    assert_true(ch.ok);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.nanswers, 1);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(ch.support == 1);
    assert_int_equal(jury_consolidate_text(MED, NULL, 0, NULL, &ch), JURY_OK);
    assert_false(ch.ok);
    assert_string_equal(ch.note, JURY_NOTE_NO_ANSWERS);
    assert_int_equal(ch.nanswers, 0);
    assert_true(ch.support == 0);
}

static void test_text_best_annotator(void **state)
{
    (void)state;
    jury_choice_t ch;
    const jury_text_method_t BEST = JURY_TEXT_BEST_ANNOTATOR;
    /* As in test_text_medoid: mean similarities cat 7/12, cart 1/2, dog 0. */
    const jury_text_t t4[] = {txt("cat"), txt("cat"), txt("cart"), txt("dog")};
    const double rel[] = {0.1, 0.7, 0.9, 0.95};
    assert_int_equal(jury_consolidate_text(BEST, t4, 4, rel, &ch), JURY_OK);
    assert_true(ch.ok);
    assert_int_equal(ch.value, 3);
    assert_int_equal(ch.nanswers, 4);
    assert_int_equal(ch.decided_by, JURY_DECIDED_RELIABILITY);
    assert_true(fabs(ch.support - 0.0) < 1e-12);
    /* "cart": distances 1/4, 1/4, 1 -> 1 - (3/2)/3 = 1/2. */
    const double rel2[] = {0.1, 0.2, 0.9, 0.3};
    assert_int_equal(jury_consolidate_text(BEST, t4, 4, rel2, &ch), JURY_OK);
    assert_int_equal(ch.value, 2);
    assert_true(fabs(ch.support - 0.5) < 1e-12);
    /* Without rel: the first. */
    assert_int_equal(jury_consolidate_text(BEST, t4, 4, NULL, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);
    assert_true(fabs(ch.support - 7.0 / 12.0) < 1e-12);
    /* The top rel shared by "cat" (answer 0) and "cart": the first. */
    const double shared[] = {0.9, 0.1, 0.9, 0.2};
    assert_int_equal(jury_consolidate_text(BEST, t4, 4, shared, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_LABEL_ORDER);
    /* The top rel shared by the two cats only: still reliability's choice. */
    const double cats[] = {0.9, 0.9, 0.1, 0.2};
    assert_int_equal(jury_consolidate_text(BEST, t4, 4, cats, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_RELIABILITY);
    assert_true(fabs(ch.support - 7.0 / 12.0) < 1e-12);
    /* m = 1 and m = 0. */
    assert_int_equal(jury_consolidate_text(BEST, t4, 1, rel, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(ch.support == 1);
    assert_int_equal(jury_consolidate_text(BEST, NULL, 0, NULL, &ch), JURY_OK);
    assert_false(ch.ok);
    assert_string_equal(ch.note, JURY_NOTE_NO_ANSWERS);
}

static void test_text_einval(void **state)
{
    (void)state;
    const jury_text_t good[] = {txt("a"), txt("b")};
    const jury_text_t bad[] = {txt("a"), {NULL, 3}};
    jury_choice_t ch = untouched;
    for (int meth = 0; meth < 2; meth++) {
        const jury_text_method_t mt = (jury_text_method_t)meth;
        assert_int_equal(jury_consolidate_text(mt, NULL, 2, NULL, &ch), JURY_EINVAL);
        assert_int_equal(jury_consolidate_text(mt, bad, 2, NULL, &ch), JURY_EINVAL);
        assert_int_equal(jury_consolidate_text(mt, good, 2, NULL, NULL), JURY_EINVAL);
    }
    assert_int_equal(jury_consolidate_text((jury_text_method_t)2, good, 2, NULL, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_text((jury_text_method_t)2, NULL, 0, NULL, &ch), JURY_EINVAL);
    assert_untouched(&ch);
}

static void test_span(void **state)
{
    (void)state;
    /* Three answers. Distinct spans and who marked them: (0,5,1) answers 0 and 1 (answer 0
     * twice, counted once); (10,12,0) answers 0 and 2; (10,12,1) answer 1; (20,25,0) answer 2.
     * More than half of 3 is 2: result (0,5,1), (10,12,0); support 2 of a union of 4. */
    const jury_span_t a0[] = {{10, 12, 0}, {0, 5, 1}, {0, 5, 1}};
    const jury_span_t a1[] = {{0, 5, 1}, {10, 12, 1}};
    const jury_span_t a2[] = {{20, 25, 0}, {10, 12, 0}};
    const jury_span_t *ans[] = {a0, a1, a2};
    const size_t ns[] = {3, 2, 2};
    jury_span_t out[8];
    size_t n = 99;
    jury_choice_t ch;
    assert_int_equal(jury_consolidate_span(ans, ns, 3, out, 8, &n, &ch), JURY_OK);
    assert_int_equal(n, 2);
    assert_true(out[0].start == 0 && out[0].end == 5 && out[0].label == 1);
    assert_true(out[1].start == 10 && out[1].end == 12 && out[1].label == 0);
    assert_true(ch.ok);
    assert_int_equal(ch.nanswers, 3);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    assert_true(fabs(ch.support - 0.5) < 1e-12);

    /* out_cap 1 is too small; nothing is written. */
    jury_choice_t keep = untouched;
    out[0] = (jury_span_t){7, 7, 7};
    n = 99;
    assert_int_equal(jury_consolidate_span(ans, ns, 3, out, 1, &n, &keep), JURY_ETOOBIG);
    assert_int_equal(n, 99);
    assert_int_equal(out[0].start, 7);
    assert_untouched(&keep);

    /* Duplicates within an answer count once: (1,2,0) marked three times by answer 0 and once by
     * answer 1 has 2 voters of 4, not more than half. */
    const jury_span_t d0[] = {{1, 2, 0}, {1, 2, 0}, {1, 2, 0}}, d1[] = {{1, 2, 0}};
    const jury_span_t *dup[] = {d0, d1, NULL, NULL};
    const size_t nd[] = {3, 1, 0, 0};
    assert_int_equal(jury_consolidate_span(dup, nd, 4, out, 8, &n, &ch), JURY_OK);
    assert_int_equal(n, 0);
    assert_true(ch.ok && ch.support == 0);

    /* The result can outgrow every answer: {a,b}, {b,c}, {a,c} give a, b and c 2 of 3 votes
     * each. 3 > every nspans[i] = 2, but 3 <= (2+2+2) / (3/2 + 1) = 3. */
    const jury_span_t sa = {0, 1, 0}, sb = {1, 2, 0}, sc = {2, 3, 0};
    const jury_span_t c0[] = {sa, sb}, c1[] = {sc, sb}, c2[] = {sc, sa};
    const jury_span_t *cyc[] = {c0, c1, c2};
    const size_t nc[] = {2, 2, 2};
    assert_int_equal(jury_consolidate_span(cyc, nc, 3, out, 2, &n, &ch), JURY_ETOOBIG);
    assert_int_equal(jury_consolidate_span(cyc, nc, 3, out, 3, &n, &ch), JURY_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].start, 0);
    assert_int_equal(out[1].start, 1);
    assert_int_equal(out[2].start, 2);
    assert_true(ch.support == 1);

    /* One answer: all its distinct spans, sorted by start, end, label. */
    const jury_span_t one[] = {{5, 9, 0}, {0, 5, 1}, {0, 3, 2}, {0, 5, 0}, {0, 5, 1}};
    const jury_span_t *ans1[] = {one};
    const size_t n1[] = {5};
    assert_int_equal(jury_consolidate_span(ans1, n1, 1, out, 4, &n, &ch), JURY_OK);
    assert_int_equal(n, 4);
    assert_true(out[0].start == 0 && out[0].end == 3 && out[0].label == 2);
    assert_true(out[1].start == 0 && out[1].end == 5 && out[1].label == 0);
    assert_true(out[2].start == 0 && out[2].end == 5 && out[2].label == 1);
    assert_true(out[3].start == 5 && out[3].end == 9 && out[3].label == 0);
    assert_true(ch.support == 1);

    /* Nobody marked anything: empty, support 1; out may be NULL with out_cap 0. */
    const jury_span_t *empty[] = {NULL, NULL};
    const size_t n0[] = {0, 0};
    assert_int_equal(jury_consolidate_span(empty, n0, 2, NULL, 0, &n, &ch), JURY_OK);
    assert_int_equal(n, 0);
    assert_true(ch.ok && ch.support == 1);
    assert_int_equal(ch.nanswers, 2);

    /* No answers. */
    n = 99;
    assert_int_equal(jury_consolidate_span(NULL, NULL, 0, NULL, 0, &n, &ch), JURY_OK);
    assert_int_equal(n, 0);
    assert_false(ch.ok);
    assert_string_equal(ch.note, JURY_NOTE_NO_ANSWERS);
    assert_int_equal(ch.nanswers, 0);
}

static void test_span_einval(void **state)
{
    (void)state;
    const jury_span_t a0[] = {{0, 5, 1}};
    const jury_span_t *ans[] = {a0}, *nul[] = {NULL};
    const size_t ns[] = {1};
    jury_span_t out[2];
    size_t n = 99;
    jury_choice_t ch = untouched;
    assert_int_equal(jury_consolidate_span(NULL, ns, 1, out, 2, &n, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_span(ans, NULL, 1, out, 2, &n, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_span(nul, ns, 1, out, 2, &n, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_span(ans, ns, 1, NULL, 2, &n, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_span(ans, ns, 1, out, 2, NULL, &ch), JURY_EINVAL);
    assert_int_equal(jury_consolidate_span(ans, ns, 1, out, 2, &n, NULL), JURY_EINVAL);
    assert_int_equal(n, 99);
    assert_untouched(&ch);
}

/* Beyond the stack scratch (m > 16, n > 64 items, k > 256 labels, > 256 spans): the heap paths
 * give the same answers. */
static void test_per_record_large(void **state)
{
    (void)state;
    jury_choice_t ch;
    enum { M = 20, N = 100, K = 300 };

    /* Multi-label: 11 of 20 answers hold {5, 299}, the rest nothing: both labels in, each
     * agreeing 11/20. */
    static const uint32_t both[] = {5, 299};
    jury_labelset_t sets[M];
    for (int i = 0; i < M; i++)
        sets[i] = (jury_labelset_t){both, i < 11 ? 2 : 0};
    uint32_t labels[K];
    size_t nl = 0;
    assert_int_equal(jury_consolidate_multi_label(sets, M, K, NULL, labels, &nl, &ch), JURY_OK);
    assert_int_equal(nl, 2);
    assert_int_equal(labels[0], 5);
    assert_int_equal(labels[1], 299);
    assert_true(fabs(ch.support - 11.0 / 20.0) < 1e-12);

    /* Rankings of 100 items: 11 identity, 9 reversed. Borda: item i sums 11 i + 9 (99 - i),
     * increasing in i, so the identity; tau 0 to 11 answers and 1 to 9: support 11/20.
     * Majority: the identity with 11/20. */
    static uint32_t fwd[N], rev[N];
    for (uint32_t i = 0; i < N; i++) {
        fwd[i] = i;
        rev[i] = N - 1 - i;
    }
    jury_ranking_t rk[M];
    for (int i = 0; i < M; i++)
        rk[i] = (jury_ranking_t){i % 2 == 0 || i >= 18 ? fwd : rev, N};
    static uint32_t out[N];
    for (int meth = 0; meth < 2; meth++) {
        assert_int_equal(
            jury_consolidate_ranking((jury_ranking_method_t)meth, rk, M, N, NULL, NULL, out, &ch),
            JURY_OK);
        for (uint32_t i = 0; i < N; i++)
            assert_int_equal(out[i], i);
        assert_true(fabs(ch.support - 11.0 / 20.0) < 1e-12);
        assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);
    }

    /* Texts: 12 x "a", 8 x "b", distance 1. Sum for "a": 8; similarity 1 - 8/19. */
    jury_text_t tx[M];
    for (int i = 0; i < M; i++)
        tx[i] = txt(i % 5 < 3 ? "a" : "b");
    assert_int_equal(jury_consolidate_text(JURY_TEXT_MEDOID, tx, M, NULL, &ch), JURY_OK);
    assert_int_equal(ch.value, 0);
    assert_true(fabs(ch.support - 11.0 / 19.0) < 1e-12);
    assert_int_equal(ch.decided_by, JURY_DECIDED_VOTE);

    /* Spans: 3 answers of 100 spans each (one in reverse order), 300 in all; answer 2 marks
     * label 1, so the majority is the 100 spans of answers 0 and 1, of a union of 200. */
    static jury_span_t sp[3][N];
    for (uint32_t i = 0; i < N; i++) {
        sp[0][i] = (jury_span_t){i, i + 1, 0};
        sp[1][N - 1 - i] = (jury_span_t){i, i + 1, 0};
        sp[2][i] = (jury_span_t){i, i + 1, 1};
    }
    const jury_span_t *sans[] = {sp[0], sp[1], sp[2]};
    const size_t sn[] = {N, N, N};
    static jury_span_t sout[N];
    size_t n = 0;
    assert_int_equal(jury_consolidate_span(sans, sn, 3, sout, N, &n, &ch), JURY_OK);
    assert_int_equal(n, N);
    for (uint32_t i = 0; i < N; i++)
        assert_true(sout[i].start == i && sout[i].end == i + 1 && sout[i].label == 0);
    assert_true(fabs(ch.support - 0.5) < 1e-12);
}

/* The one-coin Dawid-Skene posterior, against values worked by hand: with accuracy 0.7 on two
 * labels, two agreeing answers give 0.49 / (0.49 + 0.09), three give 0.343 / (0.343 + 0.027), two
 * against one 0.147 / (0.147 + 0.063); three labels split evenly; an annotator known to be right
 * 95% of the time outweighs two at 0.6. */
/* |got - want| below 1e-12. */
#define s_near(got, want) assert_true(fabs((got) - (want)) < 1e-12)

static void test_posterior_confidence(void **state)
{
    (void)state;
    const uint32_t agree3[] = {1, 1, 1}, split[] = {0, 0, 1}, three[] = {0, 1, 2};
    const double a7[] = {0.7, 0.7, 0.7};
    uint32_t best = 9;
    s_near(jury_posterior_confidence(agree3, a7, 2, 2, &best), 0.49 / 0.58);
    assert_int_equal(best, 1);
    s_near(jury_posterior_confidence(agree3, a7, 3, 2, &best), 0.343 / 0.37);
    s_near(jury_posterior_confidence(split, a7, 3, 2, &best), 0.147 / 0.21);
    assert_int_equal(best, 0);
    /* k = 3: 0.7 vs (0.3 / 2) for each of the others, once each: a three-way tie. */
    s_near(jury_posterior_confidence(three, a7, 3, 3, &best), 1.0 / 3.0);
    assert_int_equal(best, 0);
    s_near(jury_posterior_confidence(three, a7, 0, 4, &best), 0.25);
    /* 0 (0.6), 0 (0.6), 1 (0.95): L(0) = 0.6 * 0.6 * 0.05, L(1) = 0.4 * 0.4 * 0.95. */
    const double mixed[] = {0.6, 0.6, 0.95};
    double l0 = 0.6 * 0.6 * 0.05, l1 = 0.4 * 0.4 * 0.95;
    s_near(jury_posterior_confidence(split, mixed, 3, 2, &best), l1 / (l0 + l1));
    assert_int_equal(best, 1);
    /* Out of range answers are skipped; accuracies are clamped. */
    const uint32_t odd[] = {7, 1};
    const double sure[] = {0.7, 1.0};
    s_near(jury_posterior_confidence(odd, sure, 2, 2, &best), 0.999);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_majority_ties),
        cmocka_unit_test(test_weighted),
        cmocka_unit_test(test_weighted_gold),
        cmocka_unit_test(test_ds_gold),
        cmocka_unit_test(test_rating),
        cmocka_unit_test(test_ds_edges),
        cmocka_unit_test(test_ds_anaesthesia),
        cmocka_unit_test(test_ds_rte),
        cmocka_unit_test(test_ds_temp),
        cmocka_unit_test(test_ds_wsd),
        cmocka_unit_test(test_multi_label),
        cmocka_unit_test(test_multi_label_einval),
        cmocka_unit_test(test_ranking_borda),
        cmocka_unit_test(test_ranking_majority),
        cmocka_unit_test(test_ranking_einval),
        cmocka_unit_test(test_text_medoid),
        cmocka_unit_test(test_text_best_annotator),
        cmocka_unit_test(test_text_einval),
        cmocka_unit_test(test_span),
        cmocka_unit_test(test_span_einval),
        cmocka_unit_test(test_per_record_large),
        cmocka_unit_test(test_posterior_confidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
