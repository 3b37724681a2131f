/* test_agreement.c: agreement measures against published worked examples, hand cases and edge
 * cases. */
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

#include "agreement.h"

/* ---------------------------------------------------------------------------------------------
 * Reading the reference data ($JURY_SHARED_DATA/agreement/, see its README.md)
 * ------------------------------------------------------------------------------------------- */

#define MAXF 64   /* fields per row */
#define MAXR 256  /* rows per file */
#define MAXV 4096 /* ratings per data set */

/* A whitespace/tab separated file: rows of fields (pointers into buf). */
typedef struct {
    char *buf;           /* the file's bytes, owned */
    size_t nrows;        /* rows read */
    size_t nf[MAXR];     /* fields per row */
    char *f[MAXR][MAXF]; /* fields */
} table_t;

static void table_read(table_t *t, const char *name)
{
    const char *dir = getenv("JURY_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/agreement/%s", dir ? dir : "../shared/data", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s (is JURY_SHARED_DATA set?)", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    t->buf = malloc((size_t)len + 1);
    assert_non_null(t->buf);
    assert_int_equal(fread(t->buf, 1, (size_t)len, fp), (size_t)len);
    t->buf[len] = '\0';
    fclose(fp);
    t->nrows = 0;
    char *save = NULL;
    for (char *line = strtok_r(t->buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        assert_true(t->nrows < MAXR);
        size_t n = 0;
        char *s2 = NULL;
        for (char *fld = strtok_r(line, " \t", &s2); fld; fld = strtok_r(NULL, " \t", &s2)) {
            assert_true(n < MAXF);
            t->f[t->nrows][n++] = fld;
        }
        if (n > 0)
            t->nf[t->nrows++] = n;
    }
}

/* Ratings with dense indices, plus the category names and numbers behind them. */
typedef struct {
    jury_rating_t r[MAXV];  /* the ratings */
    size_t n;               /* ratings */
    uint32_t nunits;        /* units */
    uint32_t ncoders;       /* coders */
    uint32_t k;             /* categories */
    char *cat[MAXV];        /* category names, sorted (numerically when all are numbers) */
    double num[MAXV];       /* category numbers (0 when not numeric) */
    char *unit_name[MAXV];  /* unit names in order of appearance */
    char *coder_name[MAXV]; /* coder names in order of appearance */
} data_t;

static uint32_t intern(char **names, uint32_t *n, char *s)
{
    for (uint32_t i = 0; i < *n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    names[*n] = s;
    return (*n)++;
}

static bool all_numeric;

static int cmp_cat(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    if (all_numeric) {
        double p = strtod(x, NULL), q = strtod(y, NULL);
        return (p > q) - (p < q);
    }
    return strcmp(x, y);
}

/* Raw (unit, coder, value-name) triples are in d->r with value = index into names; sorts the
 * categories and rewrites values to sorted indices. */
static void finish_categories(data_t *d, char **names, uint32_t nnames)
{
    all_numeric = true;
    for (uint32_t i = 0; i < nnames; i++) {
        char *end;
        strtod(names[i], &end);
        if (*end)
            all_numeric = false;
    }
    memcpy(d->cat, names, nnames * sizeof(char *));
    qsort(d->cat, nnames, sizeof(char *), cmp_cat);
    d->k = nnames;
    for (uint32_t i = 0; i < nnames; i++)
        d->num[i] = all_numeric ? strtod(d->cat[i], NULL) : 0;
    for (size_t i = 0; i < d->n; i++) {
        const char *name = names[d->r[i].value];
        uint32_t j = 0;
        while (strcmp(d->cat[j], name) != 0)
            j++;
        d->r[i].value = j;
    }
}

/* A reliability data matrix: header row of unit names, then one row per coder ("*" = missing). */
static void load_coder_rows(data_t *d, table_t *t, const char *file)
{
    static char *names[MAXV];
    uint32_t nnames = 0;
    memset(d, 0, sizeof(*d));
    table_read(t, file);
    d->nunits = (uint32_t)t->nf[0] - 1;
    for (uint32_t u = 0; u < d->nunits; u++)
        d->unit_name[u] = t->f[0][u + 1];
    for (size_t row = 1; row < t->nrows; row++) {
        uint32_t c = intern(d->coder_name, &d->ncoders, t->f[row][0]);
        for (uint32_t u = 0; u + 1 < t->nf[row]; u++) {
            char *v = t->f[row][u + 1];
            if (strcmp(v, "*") == 0)
                continue;
            jury_rating_t r = {u, c, intern(names, &nnames, v)};
            d->r[d->n++] = r;
        }
    }
    finish_categories(d, names, nnames);
}

/* A subject-per-row matrix: header, then "subject v1 v2 ..." (rater j = column j). */
static void load_subject_rows(data_t *d, table_t *t, const char *file)
{
    static char *names[MAXV];
    uint32_t nnames = 0;
    memset(d, 0, sizeof(*d));
    table_read(t, file);
    d->ncoders = (uint32_t)t->nf[0] - 1;
    for (size_t row = 1; row < t->nrows; row++) {
        uint32_t u = d->nunits++;
        for (uint32_t c = 0; c + 1 < t->nf[row]; c++) {
            jury_rating_t r = {u, c, intern(names, &nnames, t->f[row][c + 1])};
            d->r[d->n++] = r;
        }
    }
    finish_categories(d, names, nnames);
}

/* Triples "coder item label", with or without a header line. */
static void load_triples(data_t *d, table_t *t, const char *file, bool header)
{
    static char *names[MAXV];
    uint32_t nnames = 0;
    memset(d, 0, sizeof(*d));
    table_read(t, file);
    for (size_t row = header ? 1 : 0; row < t->nrows; row++) {
        assert_int_equal(t->nf[row], 3);
        jury_rating_t r = {intern(d->unit_name, &d->nunits, t->f[row][1]),
                           intern(d->coder_name, &d->ncoders, t->f[row][0]),
                           intern(names, &nnames, t->f[row][2])};
        d->r[d->n++] = r;
    }
    finish_categories(d, names, nnames);
}

/* A contingency or count matrix: header, then "name c1 c2 ..."; the first ncols numbers. */
static size_t load_counts(table_t *t, const char *file, size_t ncols, double *cells)
{
    table_read(t, file);
    size_t rows = 0;
    for (size_t row = 1; row < t->nrows; row++, rows++)
        for (size_t j = 0; j < ncols; j++)
            cells[rows * ncols + j] = strtod(t->f[row][j + 1], NULL);
    return rows;
}

static table_t tbl;
static data_t dat;

/* Asserts v rounds to want at the published number of decimal places. */
static void assert_digits(jury_measure_t m, double want, int places)
{
    assert_true(m.ok);
    assert_null(m.note);
    double tol = 0.5 * pow(10.0, -places) + 1e-12;
    if (fabs(m.value - want) > tol)
        fail_msg("got %.10f, published %.*f", m.value, places, want);
}

static void assert_close(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.15g, want %.15g (tolerance %g)", got, want, tol);
}

static void assert_absent(jury_measure_t m, const char *note)
{
    assert_false(m.ok);
    assert_true(m.value == 0.0);
    assert_non_null(m.note);
    assert_string_equal(m.note, note);
}

static jury_measure_t alpha_of(const data_t *d, jury_alpha_level_t level)
{
    jury_measure_t m;
    assert_int_equal(jury_alpha(d->r, d->n, d->nunits, d->k, level, d->num, &m), JURY_OK);
    return m;
}

/* ---------------------------------------------------------------------------------------------
 * Krippendorff's alpha: published values
 * ------------------------------------------------------------------------------------------- */

/*
 * Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Section C
 * (4 observers, 12 units, missing values, unit 12 unpairable): nominal 0.743 =
 * 1 - 312/1216, ordinal 0.815, interval 0.849, ratio 0.797.
 */
static void test_kripp_2011_C(void **state)
{
    (void)state;
    load_coder_rows(&dat, &tbl, "krippendorff2011_C_4obs_12units.tsv");
    assert_int_equal(dat.k, 5);
    assert_int_equal(dat.nunits, 12);
    jury_measure_t nom = alpha_of(&dat, JURY_ALPHA_NOMINAL);
    assert_digits(nom, 0.743, 3);
    assert_close(nom.value, 1.0 - 312.0 / 1216.0, 1e-12);
    assert_digits(alpha_of(&dat, JURY_ALPHA_ORDINAL), 0.815, 3);
    assert_digits(alpha_of(&dat, JURY_ALPHA_INTERVAL), 0.849, 3);
    assert_digits(alpha_of(&dat, JURY_ALPHA_RATIO), 0.797, 3);

    /* The same paper's coincidence matrix (times 3) and its marginals 9, 13, 10, 5, 3 (n = 40). */
    static const double want3[25] = {21, 4, 1, 1, 0, 4,  30, 4, 1, 0, 1, 4, 24,
                                     1,  0, 1, 1, 1, 12, 0,  0, 0, 0, 0, 9};
    jury_coincidence_t *c = jury_coincidence_new(dat.k);
    assert_non_null(c);
    assert_int_equal(jury_coincidence_add_ratings(c, dat.r, dat.n, dat.nunits), JURY_OK);
    const double *o = jury_coincidence_matrix(c);
    for (int i = 0; i < 25; i++)
        assert_close(o[i] * 3.0, want3[i], 1e-12);
    assert_close(jury_coincidence_total(c), 40.0, 1e-12);
    jury_coincidence_destroy(&c);
    free(tbl.buf);
}

/* Krippendorff (2011), section A: two observers, binary, 10 units: alpha 0.095. */
static void test_kripp_2011_A(void **state)
{
    (void)state;
    load_coder_rows(&dat, &tbl, "krippendorff2011_A_binary_2obs.tsv");
    assert_digits(alpha_of(&dat, JURY_ALPHA_NOMINAL), 0.095, 3);
    free(tbl.buf);
}

/* Krippendorff (2011), section B: two observers, nominal a-e. No value is published; 0.691964 is
 * the reference data's independent computation (expected_values.json, computed_check). */
static void test_kripp_2011_B(void **state)
{
    (void)state;
    load_coder_rows(&dat, &tbl, "krippendorff2011_B_nominal_2obs.tsv");
    assert_digits(alpha_of(&dat, JURY_ALPHA_NOMINAL), 0.691964, 6);
    free(tbl.buf);
}

/* Wikipedia "Krippendorff's alpha", computational example (3 coders x 15 units, units 2 and 14
 * empty): nominal 0.691358, interval 0.810845 (also fast-krippendorff's tests). */
static void test_kripp_wikipedia(void **state)
{
    (void)state;
    load_coder_rows(&dat, &tbl, "wikipedia_kripp_3coders_15units.tsv");
    assert_int_equal(dat.nunits, 15);
    assert_digits(alpha_of(&dat, JURY_ALPHA_NOMINAL), 0.691358, 6);
    assert_digits(alpha_of(&dat, JURY_ALPHA_INTERVAL), 0.810845, 6);
    /* Not published; the reference data's independent computation (computed_check). */
    assert_digits(alpha_of(&dat, JURY_ALPHA_ORDINAL), 0.806721, 6);
    assert_digits(alpha_of(&dat, JURY_ALPHA_RATIO), 0.808944, 6);
    free(tbl.buf);
}

/* NLTK nltk/test/unit/test_disagreement.py test_easy: nominal alpha -0.3333333; dress3 has one
 * rating and must be ignored. */
static void test_kripp_nltk_easy(void **state)
{
    (void)state;
    load_triples(&dat, &tbl, "nltk_test_easy_triples.tsv", true);
    assert_digits(alpha_of(&dat, JURY_ALPHA_NOMINAL), -0.3333333, 7);
    free(tbl.buf);
}

/* Input order does not matter: the reversed C data gives the same alphas (exercising the
 * internal counting sort), to rounding. */
static void test_alpha_unsorted_input(void **state)
{
    (void)state;
    load_coder_rows(&dat, &tbl, "krippendorff2011_C_4obs_12units.tsv");
    jury_measure_t want[4], got[4];
    for (int l = 0; l < 4; l++)
        want[l] = alpha_of(&dat, (jury_alpha_level_t)l);
    for (size_t i = 0; i < dat.n / 2; i++) {
        jury_rating_t t = dat.r[i];
        dat.r[i] = dat.r[dat.n - 1 - i];
        dat.r[dat.n - 1 - i] = t;
    }
    for (int l = 0; l < 4; l++) {
        got[l] = alpha_of(&dat, (jury_alpha_level_t)l);
        assert_close(got[l].value, want[l].value, 1e-12);
    }
    free(tbl.buf);
}

/* ---------------------------------------------------------------------------------------------
 * The coincidence matrix as the live coordinator uses it
 * ------------------------------------------------------------------------------------------- */

/* Units added one at a time, in two halves merged, or after remove and re-add: all the same. */
static void test_coincidence_additive(void **state)
{
    (void)state;
    /* Krippendorff (2011) C, unit by unit (category index = value - 1; unit 12 unpairable). */
    static const uint32_t units[12][4] = {{0, 0, 0},    {1, 1, 2, 1}, {2, 2, 2, 2}, {2, 2, 2, 2},
                                          {1, 1, 1, 1}, {0, 1, 2, 3}, {3, 3, 3, 3}, {0, 0, 1, 0},
                                          {1, 1, 1, 1}, {4, 4, 4},    {0, 0},       {2}};
    static const size_t m[12] = {3, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2, 1};
    jury_coincidence_t *all = jury_coincidence_new(5), *h1 = jury_coincidence_new(5),
                       *h2 = jury_coincidence_new(5);
    assert_non_null(all);
    assert_non_null(h1);
    assert_non_null(h2);
    assert_int_equal(jury_coincidence_k(all), 5);
    for (int u = 0; u < 12; u++) {
        assert_int_equal(jury_coincidence_add_unit(all, units[u], m[u]), JURY_OK);
        assert_int_equal(jury_coincidence_add_unit(u % 2 ? h1 : h2, units[u], m[u]), JURY_OK);
    }
    jury_measure_t a =
        jury_alpha_from_coincidence(jury_coincidence_matrix(all), 5, JURY_ALPHA_NOMINAL, NULL);
    assert_close(a.value, 1.0 - 312.0 / 1216.0, 1e-12);
    assert_int_equal(jury_coincidence_merge(h1, h2), JURY_OK);
    for (int i = 0; i < 25; i++)
        assert_close(jury_coincidence_matrix(h1)[i], jury_coincidence_matrix(all)[i], 1e-12);

    /* An edited record: remove its old values, add the new ones, then undo. */
    static const uint32_t edited[4] = {1, 1, 1, 1};
    assert_int_equal(jury_coincidence_remove_unit(all, units[5], 4), JURY_OK);
    assert_int_equal(jury_coincidence_add_unit(all, edited, 4), JURY_OK);
    assert_true(
        jury_alpha_from_coincidence(jury_coincidence_matrix(all), 5, JURY_ALPHA_NOMINAL, NULL)
            .value > a.value);
    assert_int_equal(jury_coincidence_remove_unit(all, edited, 4), JURY_OK);
    assert_int_equal(jury_coincidence_add_unit(all, units[5], 4), JURY_OK);
    assert_close(
        jury_alpha_from_coincidence(jury_coincidence_matrix(all), 5, JURY_ALPHA_NOMINAL, NULL)
            .value,
        a.value, 1e-12);

    /* Persistence: the raw matrix loads into a fresh object and gives the same alpha at every
     * level (numeric NULL: the category index is the value, a constant shift of 1..5). */
    jury_coincidence_t *back = jury_coincidence_new(5);
    assert_int_equal(jury_coincidence_load(back, jury_coincidence_matrix(all)), JURY_OK);
    for (int l = 0; l < 3; l++)
        assert_close(jury_alpha_from_coincidence(jury_coincidence_matrix(back), 5,
                                                 (jury_alpha_level_t)l, NULL)
                         .value,
                     jury_alpha_from_coincidence(jury_coincidence_matrix(all), 5,
                                                 (jury_alpha_level_t)l, NULL)
                         .value,
                     1e-12);
    double bad[25] = {0};
    bad[3] = -1;
    assert_int_equal(jury_coincidence_load(back, bad), JURY_EINVAL);
    bad[3] = NAN;
    assert_int_equal(jury_coincidence_load(back, bad), JURY_EINVAL);

    /* Errors leave the matrix alone; k mismatch refuses to merge. */
    static const uint32_t out_of_range[2] = {0, 5};
    assert_int_equal(jury_coincidence_add_unit(all, out_of_range, 2), JURY_EINVAL);
    jury_coincidence_t *other = jury_coincidence_new(4);
    assert_int_equal(jury_coincidence_merge(all, other), JURY_EINVAL);
    assert_null(jury_coincidence_new(0));

    jury_coincidence_clear(back);
    assert_close(jury_coincidence_total(back), 0, 0);
    assert_absent(
        jury_alpha_from_coincidence(jury_coincidence_matrix(back), 5, JURY_ALPHA_NOMINAL, NULL),
        JURY_NOTE_NO_PAIRABLE);

    jury_coincidence_destroy(&all);
    jury_coincidence_destroy(&all); /* safe twice */
    jury_coincidence_destroy(NULL);
    jury_coincidence_destroy(&h1);
    jury_coincidence_destroy(&h2);
    jury_coincidence_destroy(&back);
    jury_coincidence_destroy(&other);
}

/* A unit with more than 64 distinct values takes the pairwise path; the matrix must match the
 * same unit's pairs counted by hand: o[c][d] = 1/(m - 1) for each ordered pair. */
static void test_coincidence_many_distinct(void **state)
{
    (void)state;
    enum { M = 80 };
    uint32_t v[M];
    for (uint32_t i = 0; i < M; i++)
        v[i] = i;
    jury_coincidence_t *c = jury_coincidence_new(M);
    assert_int_equal(jury_coincidence_add_unit(c, v, M), JURY_OK);
    const double *o = jury_coincidence_matrix(c);
    assert_close(o[0], 0, 0);
    assert_close(o[1], 1.0 / (M - 1), 1e-15);
    assert_close(jury_coincidence_total(c), M, 1e-9);
    jury_coincidence_destroy(&c);
}

/* ---------------------------------------------------------------------------------------------
 * Bootstrap
 * ------------------------------------------------------------------------------------------- */

static void test_alpha_bootstrap(void **state)
{
    (void)state;
    load_coder_rows(&dat, &tbl, "wikipedia_kripp_3coders_15units.tsv");
    jury_measure_t point = alpha_of(&dat, JURY_ALPHA_INTERVAL);
    jury_interval_t a, b, c;
    assert_int_equal(jury_alpha_bootstrap(dat.r, dat.n, dat.nunits, dat.k, JURY_ALPHA_INTERVAL,
                                          dat.num, 2000, 0.95, 42, &a),
                     JURY_OK);
    assert_int_equal(jury_alpha_bootstrap(dat.r, dat.n, dat.nunits, dat.k, JURY_ALPHA_INTERVAL,
                                          dat.num, 2000, 0.95, 42, &b),
                     JURY_OK);
    assert_int_equal(jury_alpha_bootstrap(dat.r, dat.n, dat.nunits, dat.k, JURY_ALPHA_INTERVAL,
                                          dat.num, 2000, 0.95, 43, &c),
                     JURY_OK);
    assert_true(a.ok);
    assert_null(a.note);
    /* Same seed, same interval to the bit; another seed, another interval. */
    assert_true(a.low == b.low && a.high == b.high && a.replicates == b.replicates);
    assert_true(a.low != c.low || a.high != c.high);
    /* The interval the single stream of draws gave before the bootstrap ran on threads (printed
     * with %a then): the replicates come from the same draws now. */
    assert_true(a.low == 0x1.ae18fbf409265p-2 && a.high == 1.0 && a.replicates == 2000);
    /* Nor does the number of threads: replicate t starts t x units draws into the seed's stream
     * wherever it runs. */
    for (unsigned t = 1; t <= 8; t++) {
        assert_int_equal(jury_alpha_bootstrap_threads(dat.r, dat.n, dat.nunits, dat.k,
                                                      JURY_ALPHA_INTERVAL, dat.num, 2000, 0.95, 42,
                                                      t, &b),
                         JURY_OK);
        assert_true(a.low == b.low && a.high == b.high && a.replicates == b.replicates);
    }
    assert_int_equal(jury_alpha_bootstrap_threads(dat.r, dat.n, dat.nunits, dat.k,
                                                  JURY_ALPHA_INTERVAL, dat.num, 2000, 0.95, 42, 9,
                                                  &b),
                     JURY_EINVAL);
    /* The order of the ratings does not matter either. */
    for (size_t i = 0; i < dat.n / 2; i++) {
        jury_rating_t t = dat.r[i];
        dat.r[i] = dat.r[dat.n - 1 - i];
        dat.r[dat.n - 1 - i] = t;
    }
    assert_int_equal(jury_alpha_bootstrap(dat.r, dat.n, dat.nunits, dat.k, JURY_ALPHA_INTERVAL,
                                          dat.num, 2000, 0.95, 42, &b),
                     JURY_OK);
    assert_true(a.low == b.low && a.high == b.high);
    assert_true(a.low < point.value && point.value < a.high);
    assert_true(a.low >= -1.0 && a.high <= 1.0);
    assert_true(a.replicates > 1900 && a.replicates <= 2000);
    /* A narrower confidence gives a nested interval on the same replicates. */
    assert_int_equal(jury_alpha_bootstrap(dat.r, dat.n, dat.nunits, dat.k, JURY_ALPHA_INTERVAL,
                                          dat.num, 2000, 0.5, 42, &b),
                     JURY_OK);
    assert_true(a.low <= b.low && b.high <= a.high);
    assert_int_equal(jury_alpha_bootstrap(dat.r, dat.n, dat.nunits, dat.k, JURY_ALPHA_INTERVAL,
                                          dat.num, 0, 0.95, 42, &b),
                     JURY_EINVAL);
    assert_int_equal(jury_alpha_bootstrap(dat.r, dat.n, dat.nunits, dat.k, JURY_ALPHA_INTERVAL,
                                          dat.num, 10, 1.0, 42, &b),
                     JURY_EINVAL);

    /* Every unit alike (two coders split 0/1, plus one unpairable unit): every replicate is the
     * data itself, so the interval collapses onto the point estimate. */
    static const jury_rating_t alike[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 0}, {1, 1, 1},
                                          {2, 1, 0}, {2, 0, 1}, {3, 0, 1}};
    jury_measure_t alike_point;
    assert_int_equal(jury_alpha(alike, 7, 4, 2, JURY_ALPHA_NOMINAL, NULL, &alike_point), JURY_OK);
    assert_int_equal(
        jury_alpha_bootstrap(alike, 7, 4, 2, JURY_ALPHA_NOMINAL, NULL, 50, 0.95, 7, &b), JURY_OK);
    assert_true(b.ok);
    assert_int_equal(b.replicates, 50);
    assert_close(b.low, alike_point.value, 1e-12);
    assert_close(b.high, alike_point.value, 1e-12);

    /* No variation: no interval, with the point estimate's note. */
    static const jury_rating_t same[4] = {{0, 0, 1}, {0, 1, 1}, {1, 0, 1}, {1, 1, 1}};
    assert_int_equal(
        jury_alpha_bootstrap(same, 4, 2, 3, JURY_ALPHA_NOMINAL, NULL, 100, 0.95, 1, &b), JURY_OK);
    assert_false(b.ok);
    assert_string_equal(b.note, JURY_NOTE_NO_VARIATION);
    free(tbl.buf);
}

/* ---------------------------------------------------------------------------------------------
 * Alpha with distances; MASI, Kendall tau, edit distance
 * ------------------------------------------------------------------------------------------- */

static jury_err nominal_fn(uint32_t a, uint32_t b, void *arg, double *out)
{
    (void)arg;
    *out = a != b;
    return JURY_OK;
}

static jury_err interval_fn(uint32_t a, uint32_t b, void *arg, double *out)
{
    const double *num = arg;
    *out = (num[a] - num[b]) * (num[a] - num[b]);
    return JURY_OK;
}

static jury_err failing_fn(uint32_t a, uint32_t b, void *arg, double *out)
{
    (void)a, (void)b, (void)arg, (void)out;
    return JURY_EINTERNAL;
}

/* Generic alpha with the nominal and interval distances reproduces Krippendorff (2011) C. */
static void test_alpha_distance_matches_levels(void **state)
{
    (void)state;
    load_coder_rows(&dat, &tbl, "krippendorff2011_C_4obs_12units.tsv");
    uint32_t values[MAXV], counts[64] = {0};
    size_t at = 0;
    for (uint32_t u = 0; u < dat.nunits; u++)
        for (size_t i = 0; i < dat.n; i++)
            if (dat.r[i].unit == u) {
                values[at++] = dat.r[i].value;
                counts[u]++;
            }
    jury_measure_t m;
    assert_int_equal(jury_alpha_distance(values, counts, dat.nunits, dat.k, nominal_fn, NULL, &m),
                     JURY_OK);
    assert_close(m.value, 1.0 - 312.0 / 1216.0, 1e-12);
    assert_int_equal(
        jury_alpha_distance(values, counts, dat.nunits, dat.k, interval_fn, dat.num, &m), JURY_OK);
    assert_digits(m, 0.849, 3);
    assert_close(m.value, alpha_of(&dat, JURY_ALPHA_INTERVAL).value, 1e-12);
    assert_int_equal(jury_alpha_distance(values, counts, dat.nunits, dat.k, failing_fn, NULL, &m),
                     JURY_EINTERNAL);
    values[0] = dat.k;
    assert_int_equal(jury_alpha_distance(values, counts, dat.nunits, dat.k, nominal_fn, NULL, &m),
                     JURY_EINVAL);
    free(tbl.buf);
}

/* MASI (Passonneau 2006): identical 0; subset 1 - J * 2/3; overlap 1 - J * 1/3; disjoint 1. */
static void test_masi(void **state)
{
    (void)state;
    static const uint32_t s12[] = {1, 2}, s1[] = {1}, s23[] = {2, 3}, s45[] = {4, 5},
                          s123[] = {1, 2, 3};
    jury_labelset_t a12 = {s12, 2}, b12 = {s12, 2}, a1 = {s1, 1}, a23 = {s23, 2}, a45 = {s45, 2},
                    a123 = {s123, 3}, empty = {NULL, 0};
    assert_close(jury_distance_masi(&a12, &b12), 0.0, 0);
    /* {1} in {1,2}: J = 1/2, M = 2/3. */
    assert_close(jury_distance_masi(&a1, &a12), 1.0 - 0.5 * 2.0 / 3.0, 1e-15);
    assert_close(jury_distance_masi(&a12, &a1), 1.0 - 0.5 * 2.0 / 3.0, 1e-15);
    /* {1,2} in {1,2,3}: J = 2/3, M = 2/3. */
    assert_close(jury_distance_masi(&a12, &a123), 1.0 - 4.0 / 9.0, 1e-15);
    /* {1,2} and {2,3} overlap, neither contains the other: J = 1/3, M = 1/3. */
    assert_close(jury_distance_masi(&a12, &a23), 1.0 - 1.0 / 9.0, 1e-15);
    assert_close(jury_distance_masi(&a12, &a45), 1.0, 0);
    assert_close(jury_distance_masi(&empty, &empty), 0.0, 0);
    assert_close(jury_distance_masi(&empty, &a12), 1.0, 0);

    /* Alpha over multi-label answers: items 0..3 are the sets above. */
    jury_labelset_t items[4] = {a12, a1, a23, a45};
    static const uint32_t values[] = {0, 0, 1, 0, 1, 2, 3, 3, 3};
    static const uint32_t counts[] = {2, 2, 2, 3};
    jury_measure_t m;
    assert_int_equal(jury_alpha_distance(values, counts, 4, 4, jury_distance_masi_fn, items, &m),
                     JURY_OK);
    /* By hand: units 0 and 3 agree; unit 1 pairs items 0-1, unit 2 items 1-2 (m = 2, so each
     * unordered pair weighs 2 / (m - 1) = 2); n = 9 values with item frequencies 3, 2, 1, 3. */
    double d01 = 2.0 / 3.0, d02 = 8.0 / 9.0, d03 = 1, d12 = 1, d13 = 1, d23 = 1;
    double n = 9, dobs = 2 * d01 + 2 * d12;
    double f0 = 3, f1 = 2, f2 = 1, f3 = 3;
    double dexp = 2 * (f0 * f1 * d01 + f0 * f2 * d02 + f0 * f3 * d03 + f1 * f2 * d12 +
                       f1 * f3 * d13 + f2 * f3 * d23);
    assert_close(m.value, 1.0 - (n - 1) * dobs / dexp, 1e-12);
}

/* Kendall tau distance: discordant pairs / (n(n-1)/2); a pair tied in one ranking only counts
 * 1/2 (Fagin, Kumar, Mahdian, Sivakumar, Vee 2006). */
static void test_kendall_tau(void **state)
{
    (void)state;
    static const uint32_t id[] = {0, 1, 2, 3}, rev[] = {3, 2, 1, 0}, swap[] = {1, 0, 2, 3},
                          tie[] = {0, 0, 1, 2}, far[] = {3, 1, 2, 0};
    jury_ranking_t a = {id, 4}, r = {rev, 4}, s = {swap, 4}, t = {tie, 4}, f = {far, 4};
    assert_close(jury_distance_kendall_tau(&a, &a), 0.0, 0);
    assert_close(jury_distance_kendall_tau(&a, &r), 1.0, 0);
    assert_close(jury_distance_kendall_tau(&a, &s), 1.0 / 6.0, 1e-15);
    assert_close(jury_distance_kendall_tau(&s, &a), 1.0 / 6.0, 1e-15);
    assert_close(jury_distance_kendall_tau(&a, &t), 0.5 / 6.0, 1e-15);
    /* Swapping the first and last of 4 reverses 5 of 6 pairs. */
    assert_close(jury_distance_kendall_tau(&a, &f), 5.0 / 6.0, 1e-15);
    jury_ranking_t one = {id, 1};
    assert_close(jury_distance_kendall_tau(&one, &one), 0.0, 0);
}

static double edit(const char *a, const char *b)
{
    jury_text_t ta = {a, strlen(a)}, tb = {b, strlen(b)};
    double d = -1;
    assert_int_equal(jury_distance_edit(&ta, &tb, &d), JURY_OK);
    return d;
}

/* Normalised Levenshtein over code points: lev / max(len). */
static void test_edit_distance(void **state)
{
    (void)state;
    assert_close(edit("kitten", "sitting"), 3.0 / 7.0, 1e-15);
    assert_close(edit("", ""), 0.0, 0);
    assert_close(edit("", "x"), 1.0, 0);
    assert_close(edit("abc", "abc"), 0.0, 0);
    /* Multi-byte UTF-8: one code point each, not bytes (bytes would give 2/5). */
    assert_close(edit("caf\xc3\xa9", "cafe"), 1.0 / 4.0, 1e-15);
    assert_close(edit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xe6\x97\xa5\xe6\x9c\xac"),
                 1.0 / 3.0, 1e-15); /* 日本語 / 日本 */
    assert_close(edit("a\xf0\x9f\x98\x80"
                      "b",
                      "ab"),
                 1.0 / 3.0, 1e-15);                                     /* a😀b / ab */
    assert_close(edit("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x81"), 1.0, 0); /* 😀 / 😁 */
    /* Invalid bytes are one symbol each and never fail. */
    assert_close(edit("\xff\xfe", "\xff"), 0.5, 1e-15);
    assert_close(edit("\xc3", "\xc3\xa9"), 1.0, 0);
    /* Long texts take the allocating path. */
    char a[1201], b[1201];
    memset(a, 'a', 1200);
    memcpy(b, a, 1200);
    a[1200] = b[1200] = '\0';
    b[600] = 'b';
    assert_close(edit(a, b), 1.0 / 1200.0, 1e-15);

    /* Alpha over texts: two units, one exact agreement and one near miss. */
    jury_text_t items[3] = {{"yes", 3}, {"yes!", 4}, {"no", 2}};
    static const uint32_t values[] = {0, 0, 0, 1, 2, 2};
    static const uint32_t counts[] = {2, 2, 2};
    jury_measure_t m;
    assert_int_equal(jury_alpha_distance(values, counts, 3, 3, jury_distance_edit_fn, items, &m),
                     JURY_OK);
    assert_true(m.ok && m.value > 0.5 && m.value < 1.0);
}

/* Rankings through alpha: identical rankings everywhere but one unit. */
static void test_alpha_kendall(void **state)
{
    (void)state;
    static const uint32_t r0[] = {0, 1, 2}, r1[] = {2, 1, 0}, r2[] = {1, 0, 2};
    jury_ranking_t items[3] = {{r0, 3}, {r1, 3}, {r2, 3}};
    static const uint32_t values[] = {0, 0, 1, 1, 0, 2};
    static const uint32_t counts[] = {2, 2, 2};
    jury_measure_t m;
    assert_int_equal(
        jury_alpha_distance(values, counts, 3, 3, jury_distance_kendall_tau_fn, items, &m),
        JURY_OK);
    /* n = 6, freq 3/2/1; D_o sum = 2 d(0,2) = 2/3; D_e sum = 2(3*2*1 + 3*1/3 + 2*1*2/3). */
    double dexp = 2.0 * (6.0 * 1.0 + 3.0 * (1.0 / 3.0) + 2.0 * (2.0 / 3.0));
    assert_close(m.value, 1.0 - 5.0 * (2.0 / 3.0) / dexp, 1e-12);
}

/* ---------------------------------------------------------------------------------------------
 * Fleiss
 * ------------------------------------------------------------------------------------------- */

/* Wikipedia "Fleiss' kappa" worked example (10 subjects, 14 raters, 5 categories): kappa 0.210,
 * P-bar 0.378, P_e 0.213 (statsmodels test_inter_rater.py uses the same table). */
static void test_fleiss_wikipedia(void **state)
{
    (void)state;
    double cells[50];
    uint32_t counts[50];
    assert_int_equal(load_counts(&tbl, "fleiss_wikipedia_10subj_14raters_counts.tsv", 5, cells),
                     10);
    for (int i = 0; i < 50; i++)
        counts[i] = (uint32_t)cells[i];
    jury_fleiss_t f = jury_fleiss_kappa(counts, 10, 5);
    assert_digits(f.kappa, 0.210, 3);
    assert_close(f.p_bar, 0.378, 0.0005);
    assert_close(f.p_e, 0.213, 0.0005);
    assert_int_equal(f.units, 10);
    assert_int_equal(f.categories, 5);
    free(tbl.buf);
}

/* Fleiss (1971) psychiatric diagnoses, 30 patients x 6 raters (R irr kappam.fleiss(diagnoses),
 * as quoted in statsmodels test_fleiss_kappa_irr): 0.4302445. Category totals 26 26 30 55 43. */
static void test_fleiss_1971(void **state)
{
    (void)state;
    load_subject_rows(&dat, &tbl, "fleiss1971_diagnoses_30subj_6raters.tsv");
    assert_int_equal(dat.nunits, 30);
    assert_int_equal(dat.k, 5);
    jury_fleiss_t f;
    assert_int_equal(jury_fleiss_kappa_ratings(dat.r, dat.n, dat.nunits, dat.k, &f), JURY_OK);
    assert_digits(f.kappa, 0.4302445, 7);
    /* The count-table form agrees. */
    uint32_t counts[30 * 5] = {0};
    for (size_t i = 0; i < dat.n; i++)
        counts[dat.r[i].unit * 5 + dat.r[i].value]++;
    static const uint32_t totals[5] = {26, 26, 30, 55, 43};
    for (int j = 0; j < 5; j++) {
        uint32_t s = 0;
        for (int u = 0; u < 30; u++)
            s += counts[u * 5 + j];
        assert_int_equal(s, totals[j]);
    }
    jury_fleiss_t g = jury_fleiss_kappa(counts, 30, 5);
    assert_close(g.kappa.value, f.kappa.value, 1e-12);
    assert_close(g.p_bar, f.p_bar, 1e-12);
    free(tbl.buf);
}

/* Varying numbers of raters: P_u over each record's own pairs; equal counts reduce to Fleiss. */
static void test_fleiss_varying(void **state)
{
    (void)state;
    /* Unit 0: 3 raters a a b (P = 1/3); unit 1: 2 raters b b (P = 1); unit 2: one rater (out). */
    static const uint32_t counts[] = {2, 1, 0, 2, 0, 1};
    jury_fleiss_t f = jury_fleiss_kappa(counts, 3, 2);
    assert_int_equal(f.units, 2);
    assert_close(f.p_bar, (1.0 / 3.0 + 1.0) / 2.0, 1e-15);
    /* p_a = 2/5, p_b = 3/5 over the pairable records. */
    assert_close(f.p_e, 0.16 + 0.36, 1e-15);
    assert_close(f.kappa.value, (2.0 / 3.0 - 0.52) / 0.48, 1e-12);
    assert_int_equal(f.categories, 2);
    assert_close(f.s.value, (2.0 / 3.0 - 0.5) / 0.5, 1e-12);
}

/* ---------------------------------------------------------------------------------------------
 * Cohen
 * ------------------------------------------------------------------------------------------- */

/* SAS documentation (PROC FREQ agreement example, 3x3 table, N = 19), as quoted by statsmodels
 * test_inter_rater.py: kappa 0.4842, linear-weighted 0.4701. */
static void test_cohen_sas(void **state)
{
    (void)state;
    double t[9];
    assert_int_equal(load_counts(&tbl, "cohen_sas_table10_3x3_contingency.tsv", 3, t), 3);
    assert_digits(jury_cohen_kappa(t, 3, JURY_KAPPA_UNWEIGHTED), 0.4842, 4);
    assert_digits(jury_cohen_kappa(t, 3, JURY_KAPPA_LINEAR), 0.4701, 4);
    free(tbl.buf);
}

/* Wikipedia "Cohen's kappa": 20/5/10/15 -> p_o 0.7, p_e 0.5, kappa 0.4. */
static void test_cohen_wikipedia(void **state)
{
    (void)state;
    double t[4];
    assert_int_equal(load_counts(&tbl, "cohen_wikipedia_2x2_contingency.tsv", 2, t), 2);
    jury_measure_t k = jury_cohen_kappa(t, 2, JURY_KAPPA_UNWEIGHTED);
    assert_digits(k, 0.4, 1);
    assert_close(k.value, 0.4, 1e-12);
    free(tbl.buf);
}

/* R irr data(anxiety), kappa2(anxiety[, 2:3]) with weights "unweighted", "equal", "squared"
 * (R output quoted in statsmodels test_cohens_kappa_irr): -0.006289308, 0.1459075, 0.2520325.
 * Raters 2 and 3 never use 5, so the weighted kappas use ranks over {1, 2, 3, 4, 6}. */
static void test_cohen_irr_anxiety(void **state)
{
    (void)state;
    load_subject_rows(&dat, &tbl, "irr_anxiety_20subj_3raters.tsv");
    assert_int_equal(dat.k, 6); /* rater 1 uses 5 */
    double t[36];
    assert_int_equal(jury_cohen_table(dat.r, dat.n, dat.nunits, dat.k, 1, 2, t), JURY_OK);
    assert_digits(jury_cohen_kappa(t, 6, JURY_KAPPA_UNWEIGHTED), -0.006289308, 9);
    assert_digits(jury_cohen_kappa(t, 6, JURY_KAPPA_LINEAR), 0.1459075, 7);
    assert_digits(jury_cohen_kappa(t, 6, JURY_KAPPA_QUADRATIC), 0.2520325, 7);

    /* All pairs from triples: (0,1), (0,2), (1,2), each sharing all 20 records. */
    jury_cohen_pair_t *pairs = NULL;
    size_t np = 0;
    assert_int_equal(jury_cohen_pairs(dat.r, dat.n, dat.nunits, dat.ncoders, dat.k, &pairs, &np),
                     JURY_OK);
    assert_int_equal(np, 3);
    assert_int_equal(pairs[2].a, 1);
    assert_int_equal(pairs[2].b, 2);
    assert_int_equal(pairs[2].shared, 20);
    assert_digits(pairs[2].kappa, -0.006289308, 9);
    assert_digits(pairs[2].kappa_linear, 0.1459075, 7);
    assert_digits(pairs[2].kappa_quadratic, 0.2520325, 7);
    for (size_t i = 0; i < np; i++) {
        double tt[36];
        assert_int_equal(
            jury_cohen_table(dat.r, dat.n, dat.nunits, dat.k, pairs[i].a, pairs[i].b, tt), JURY_OK);
        assert_close(pairs[i].kappa.value, jury_cohen_kappa(tt, 6, JURY_KAPPA_UNWEIGHTED).value,
                     1e-12);
        assert_close(pairs[i].kappa_linear.value, jury_cohen_kappa(tt, 6, JURY_KAPPA_LINEAR).value,
                     1e-12);
    }
    free(pairs);
    free(tbl.buf);
}

/* NLTK's Artstein & Poesio (2008) example (nltk/metrics/agreement.py doctest): average observed
 * agreement 0.88, S 0.82, pi 0.79953; pi is Fleiss' kappa with two coders. */
static void test_artstein_poesio(void **state)
{
    (void)state;
    load_triples(&dat, &tbl, "nltk_artstein_poesio_example.txt", false);
    assert_int_equal(dat.ncoders, 2);
    assert_int_equal(dat.nunits, 100);
    jury_measure_t pa;
    assert_int_equal(jury_percent_agreement(dat.r, dat.n, dat.nunits, &pa), JURY_OK);
    assert_digits(pa, 0.88, 2);
    jury_fleiss_t f;
    assert_int_equal(jury_fleiss_kappa_ratings(dat.r, dat.n, dat.nunits, dat.k, &f), JURY_OK);
    assert_digits(f.s, 0.82, 2);
    assert_digits(f.kappa, 0.79953, 5);
    /* Computed checks (expected_values.json): Cohen 0.801325, alpha 0.800535. */
    jury_cohen_pair_t *pairs = NULL;
    size_t np = 0;
    assert_int_equal(jury_cohen_pairs(dat.r, dat.n, dat.nunits, dat.ncoders, dat.k, &pairs, &np),
                     JURY_OK);
    assert_int_equal(np, 1);
    assert_digits(pairs[0].kappa, 0.801325, 6);
    assert_close(pairs[0].agreement, 0.88, 1e-12);
    free(pairs);
    assert_digits(alpha_of(&dat, JURY_ALPHA_NOMINAL), 0.800535, 6);
    free(tbl.buf);
}

/* ---------------------------------------------------------------------------------------------
 * Per record, per annotator
 * ------------------------------------------------------------------------------------------- */

/* Four records: a a b | a a | b | c d; annotators 0..3. */
static const jury_rating_t small[] = {{0, 0, 0}, {0, 1, 0}, {0, 2, 1}, {1, 0, 0},
                                      {1, 3, 0}, {2, 1, 1}, {3, 2, 2}, {3, 3, 3}};

static void test_record_and_percent(void **state)
{
    (void)state;
    static const uint32_t aab[] = {0, 0, 1};
    assert_close(jury_record_agreement(aab, 3).value, 1.0 / 3.0, 1e-15);
    assert_absent(jury_record_agreement(aab, 1), JURY_NOTE_FEW_RESPONSES);
    jury_measure_t per[4];
    assert_int_equal(jury_record_agreements(small, 8, 4, per), JURY_OK);
    assert_close(per[0].value, 1.0 / 3.0, 1e-15);
    assert_close(per[1].value, 1.0, 0);
    assert_absent(per[2], JURY_NOTE_FEW_RESPONSES);
    assert_close(per[3].value, 0.0, 0);
    jury_measure_t pa;
    assert_int_equal(jury_percent_agreement(small, 8, 4, &pa), JURY_OK);
    assert_close(pa.value, (1.0 / 3.0 + 1.0 + 0.0) / 3.0, 1e-15);
}

static void test_annotator_stats(void **state)
{
    (void)state;
    jury_annotator_stats_t s[5];
    assert_int_equal(jury_annotator_stats(small, 8, 4, 5, s), JURY_OK);
    /* Annotator 0: record 0 (a, with a and b: 1 of 2), record 1 (a, with a: 1 of 1). Majority
     * of record 0 is a, of record 1 a; record 3 ties (c vs d) and is not counted. */
    assert_int_equal(s[0].responses, 2);
    assert_int_equal(s[0].pairs, 3);
    assert_close(s[0].with_others.value, 2.0 / 3.0, 1e-15);
    assert_int_equal(s[0].consensus_records, 2);
    assert_close(s[0].with_consensus.value, 1.0, 0);
    /* Annotator 1: record 0 (a: 1 of 2) and record 2 alone (no pair). */
    assert_int_equal(s[1].responses, 2);
    assert_int_equal(s[1].pairs, 2);
    assert_close(s[1].with_others.value, 0.5, 0);
    assert_int_equal(s[1].consensus_records, 1);
    /* Annotator 2: record 0 (b: 0 of 2, against the majority), record 3 (tie). */
    assert_close(s[2].with_others.value, 0.0, 0);
    assert_int_equal(s[2].consensus_records, 1);
    assert_close(s[2].with_consensus.value, 0.0, 0);
    /* Annotator 3: record 1 (agrees) and record 3 (tie: not counted). */
    assert_close(s[3].with_others.value, 0.5, 0);
    assert_int_equal(s[3].consensus_records, 1);
    assert_close(s[3].with_consensus.value, 1.0, 0);
    /* Annotator 4 answered nothing. */
    assert_int_equal(s[4].responses, 0);
    assert_absent(s[4].with_others, JURY_NOTE_NO_SHARED);
    assert_absent(s[4].with_consensus, JURY_NOTE_NO_CONSENSUS);
}

/* ---------------------------------------------------------------------------------------------
 * Spans
 * ------------------------------------------------------------------------------------------- */

static double f1(const jury_span_t *a, size_t na, const jury_span_t *b, size_t nb)
{
    jury_measure_t m;
    assert_int_equal(jury_span_f1(a, na, b, nb, &m), JURY_OK);
    assert_true(m.ok);
    return m.value;
}

static void test_span_f1(void **state)
{
    (void)state;
    static const jury_span_t a[] = {{0, 10, 0}}, b[] = {{5, 15, 0}}, c[] = {{0, 10, 1}},
                             overlapping[] = {{5, 10, 0}, {0, 10, 0}, {3, 3, 0}},
                             two[] = {{0, 4, 0}, {20, 30, 1}}, two_b[] = {{2, 4, 0}, {20, 25, 1}};
    assert_close(f1(a, 1, a, 1), 1.0, 0);
    assert_close(f1(a, 1, b, 1), 0.5, 1e-15);       /* 5 shared of 10 + 10 */
    assert_close(f1(a, 1, c, 1), 0.0, 0);           /* same characters, different labels */
    assert_close(f1(a, 1, overlapping, 3), 1.0, 0); /* a set's own overlaps count once */
    assert_close(f1(two, 2, two_b, 2), 2.0 * 7.0 / 21.0, 1e-15);
    assert_close(f1(two_b, 2, two, 2), 2.0 * 7.0 / 21.0, 1e-15);
    assert_close(f1(NULL, 0, NULL, 0), 1.0, 0); /* both marked nothing: full agreement */
    assert_close(f1(a, 1, NULL, 0), 0.0, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Too little data: absent values with notes, never NaN; bad input: errors, never crashes
 * ------------------------------------------------------------------------------------------- */

static void test_too_little_data(void **state)
{
    (void)state;
    jury_measure_t m;
    /* One annotator. */
    static const jury_rating_t one[] = {{0, 7, 0}, {1, 7, 1}, {2, 7, 0}};
    assert_int_equal(jury_alpha(one, 3, 3, 2, JURY_ALPHA_NOMINAL, NULL, &m), JURY_OK);
    assert_absent(m, JURY_NOTE_ONE_ANNOTATOR);
    jury_cohen_pair_t *pairs = (jury_cohen_pair_t *)1;
    size_t np = 99;
    assert_int_equal(jury_cohen_pairs(one, 3, 3, 8, 2, &pairs, &np), JURY_OK);
    assert_null(pairs);
    assert_int_equal(np, 0);
    /* Several annotators, but never two on the same record. */
    static const jury_rating_t apart[] = {{0, 0, 0}, {1, 1, 1}, {2, 2, 0}};
    assert_int_equal(jury_alpha(apart, 3, 3, 2, JURY_ALPHA_NOMINAL, NULL, &m), JURY_OK);
    assert_absent(m, JURY_NOTE_NO_PAIRABLE);
    assert_int_equal(jury_percent_agreement(apart, 3, 3, &m), JURY_OK);
    assert_absent(m, JURY_NOTE_NO_PAIRABLE);
    jury_fleiss_t f;
    assert_int_equal(jury_fleiss_kappa_ratings(apart, 3, 3, 2, &f), JURY_OK);
    assert_absent(f.kappa, JURY_NOTE_NO_PAIRABLE);
    assert_absent(f.s, JURY_NOTE_NO_PAIRABLE);
    assert_int_equal(jury_alpha(NULL, 0, 0, 2, JURY_ALPHA_NOMINAL, NULL, &m), JURY_OK);
    assert_absent(m, JURY_NOTE_NO_PAIRABLE);
    /* Two annotators sharing a single record: no Cohen pair (needs 2). */
    static const jury_rating_t once[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 1}};
    assert_int_equal(jury_cohen_pairs(once, 3, 2, 2, 2, &pairs, &np), JURY_OK);
    assert_int_equal(np, 0);
    /* No variation: everyone always says the same. */
    static const jury_rating_t same[] = {{0, 0, 1}, {0, 1, 1}, {1, 0, 1}, {1, 1, 1}};
    for (int l = 0; l < 4; l++) {
        assert_int_equal(jury_alpha(same, 4, 2, 3, (jury_alpha_level_t)l, NULL, &m), JURY_OK);
        assert_absent(m, JURY_NOTE_NO_VARIATION);
    }
    assert_int_equal(jury_fleiss_kappa_ratings(same, 4, 2, 3, &f), JURY_OK);
    assert_absent(f.kappa, JURY_NOTE_NO_VARIATION);
    assert_absent(f.s, JURY_NOTE_NO_VARIATION);
    assert_close(f.p_bar, 1.0, 0);
    assert_int_equal(jury_cohen_pairs(same, 4, 2, 2, 3, &pairs, &np), JURY_OK);
    assert_int_equal(np, 1);
    assert_absent(pairs[0].kappa, JURY_NOTE_NO_VARIATION);
    assert_absent(pairs[0].kappa_linear, JURY_NOTE_NO_VARIATION);
    assert_absent(pairs[0].kappa_quadratic, JURY_NOTE_NO_VARIATION);
    assert_close(pairs[0].agreement, 1.0, 0);
    free(pairs);
    static const double zeros[4] = {0};
    assert_absent(jury_cohen_kappa(zeros, 2, JURY_KAPPA_UNWEIGHTED), JURY_NOTE_NO_SHARED);
    /* Interval alpha with two categories of the same number has no variation either. */
    static const double flat[3] = {2.0, 2.0, 2.0};
    static const jury_rating_t mixed[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 2}, {1, 1, 2}};
    assert_int_equal(jury_alpha(mixed, 4, 2, 3, JURY_ALPHA_INTERVAL, flat, &m), JURY_OK);
    assert_absent(m, JURY_NOTE_NO_VARIATION);
    /* Distance alpha: nothing pairable; all items identical. */
    static const uint32_t vals[] = {0, 1, 1};
    static const uint32_t cnt1[] = {1, 1, 1}, cnt2[] = {1, 2};
    assert_int_equal(jury_alpha_distance(vals, cnt1, 3, 2, nominal_fn, NULL, &m), JURY_OK);
    assert_absent(m, JURY_NOTE_NO_PAIRABLE);
    assert_int_equal(jury_alpha_distance(vals, cnt2, 2, 2, nominal_fn, NULL, &m), JURY_OK);
    assert_absent(m, JURY_NOTE_NO_VARIATION);
}

static void test_bad_input(void **state)
{
    (void)state;
    jury_measure_t m;
    jury_fleiss_t f;
    jury_annotator_stats_t s[4];
    jury_cohen_pair_t *pairs = NULL;
    size_t np = 0;
    double table[4];
    static const jury_rating_t unit_oob[] = {{5, 0, 0}, {0, 1, 0}};
    static const jury_rating_t value_oob[] = {{0, 0, 2}, {0, 1, 0}};
    static const jury_rating_t coder_oob[] = {{0, 9, 0}, {0, 1, 0}};
    static const jury_rating_t twice[] = {{0, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    assert_int_equal(jury_alpha(unit_oob, 2, 2, 2, JURY_ALPHA_NOMINAL, NULL, &m), JURY_EINVAL);
    assert_int_equal(jury_alpha(value_oob, 2, 2, 2, JURY_ALPHA_NOMINAL, NULL, &m), JURY_EINVAL);
    assert_int_equal(jury_alpha(value_oob, 2, 2, 0, JURY_ALPHA_NOMINAL, NULL, &m), JURY_EINVAL);
    assert_int_equal(jury_fleiss_kappa_ratings(value_oob, 2, 2, 2, &f), JURY_EINVAL);
    assert_int_equal(jury_cohen_pairs(coder_oob, 2, 2, 4, 2, &pairs, &np), JURY_EINVAL);
    assert_int_equal(jury_cohen_pairs(twice, 3, 1, 4, 2, &pairs, &np), JURY_EINVAL);
    assert_int_equal(jury_annotator_stats(twice, 3, 1, 4, s), JURY_EINVAL);
    assert_int_equal(jury_annotator_stats(coder_oob, 2, 2, 4, s), JURY_EINVAL);
    assert_int_equal(jury_cohen_table(twice, 3, 1, 2, 0, 1, table), JURY_EINVAL);
    assert_int_equal(jury_cohen_table(twice, 3, 1, 2, 1, 1, table), JURY_EINVAL);
    assert_int_equal(jury_record_agreements(unit_oob, 2, 2, &m), JURY_EINVAL);
    assert_int_equal(jury_percent_agreement(unit_oob, 2, 2, &m), JURY_EINVAL);
    jury_coincidence_t *c = jury_coincidence_new(2);
    assert_int_equal(jury_coincidence_add_ratings(c, value_oob, 2, 2), JURY_EINVAL);
    assert_close(jury_coincidence_total(c), 0, 0);
    jury_coincidence_destroy(&c);
}

/* ---------------------------------------------------------------------------------------------
 * Edit distance against a plain dynamic programme
 * ------------------------------------------------------------------------------------------- */

/* splitmix64: a fixed seed gives the same pairs on every run. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)((rng_next(s) >> 32) % n);
}

/*
 * Reference decoder, written from the table of well-formed UTF-8 byte
 * sequences in the Unicode Standard (ch. 3, table 3-7) rather than from the
 * library's code: a well-formed sequence is one code point, any other byte is
 * the symbol 0x110000 + byte on its own. Returns the number of symbols.
 */
static size_t ref_decode(const unsigned char *s, size_t len, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i], k = 0, lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            k = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        bool ok = c < 0x80 || (k > 0 && i + k < len);
        for (unsigned t = 1; ok && t <= k; t++) {
            unsigned cb = s[i + t];
            ok = t == 1 ? cb >= lo && cb <= hi : cb >= 0x80 && cb <= 0xBF;
        }
        if (!ok) {
            out[n++] = 0x110000u + c;
            i++;
            continue;
        }
        uint32_t cp = k == 0 ? c : c & (0x3Fu >> k);
        for (unsigned t = 1; t <= k; t++)
            cp = (cp << 6) | (s[i + t] & 0x3Fu);
        out[n++] = cp;
        i += k + 1;
    }
    return n;
}

/* The textbook Levenshtein table, one row at a time, normalised as jury_distance_edit is. */
static double ref_edit(const char *a, size_t alen, const char *b, size_t blen)
{
    uint32_t *x = malloc((alen + 1) * sizeof(uint32_t)), *y = malloc((blen + 1) * sizeof(uint32_t));
    assert_non_null(x);
    assert_non_null(y);
    size_t la = ref_decode((const unsigned char *)a, alen, x);
    size_t lb = ref_decode((const unsigned char *)b, blen, y);
    size_t *row = malloc((lb + 1) * sizeof(size_t));
    assert_non_null(row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (x[i - 1] != y[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t longer = la > lb ? la : lb;
    double d = longer ? (double)row[lb] / (double)longer : 0.0;
    free(x);
    free(y);
    free(row);
    return d;
}

/* Appends the UTF-8 encoding of code point cp (not a surrogate, at most U+10FFFF) to s. */
static size_t put_utf8(char *s, uint32_t cp)
{
    unsigned char *u = (unsigned char *)s;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | (cp >> 18));
    u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Most bytes one generated symbol takes (a 4-byte code point). */
#define SYM_MAX 4
/* Most symbols in a generated text. */
#define TEXT_MAX 300
/* Most symbols in a generated long text. */
#define LONG_MAX_SYMS 1100
/* Number of elements of an array. */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One generated symbol: its bytes (an invalid byte is a symbol of length 1). */
typedef struct {
    char b[SYM_MAX]; /* bytes */
    size_t n;        /* how many */
} sym_t;

/* A random symbol: ASCII, a 2-, 3- or 4-byte code point, or a byte that is not UTF-8. */
static sym_t random_sym(uint64_t *rng)
{
    static const unsigned char bad[] = {0x80, 0xBF, 0xC0, 0xC1, 0xC3, 0xE2, 0xED,
                                        0xF0, 0xF4, 0xF5, 0xF8, 0xFE, 0xFF};
    sym_t s;
    uint32_t cp;
    switch (rng_below(rng, 5)) {
    case 0:
        /* Printable mostly, control characters (NUL too) now and then. */
        s.n = put_utf8(s.b, rng_below(rng, 8) ? 0x20 + rng_below(rng, 0x60) : rng_below(rng, 0x20));
        return s;
    case 1:
        s.n = put_utf8(s.b, 0x80 + rng_below(rng, 0x800 - 0x80));
        return s;
    case 2:
        do
            cp = 0x800 + rng_below(rng, 0x10000 - 0x800);
        while (cp >= 0xD800 && cp <= 0xDFFF);
        s.n = put_utf8(s.b, cp);
        return s;
    case 3:
        s.n = put_utf8(s.b, 0x10000 + rng_below(rng, 0x110000 - 0x10000));
        return s;
    default:
        /* Lone leads, stray continuations and never-valid bytes; neighbours may still
         * combine with them, which the reference decoder judges from the bytes alone. */
        s.b[0] = (char)bad[rng_below(rng, sizeof(bad))];
        s.n = 1;
        return s;
    }
}

/* Writes the symbols of seq (n indices into alphabet) to out; returns the byte length. */
static size_t put_syms(char *out, const sym_t *alphabet, const uint32_t *seq, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + len, alphabet[seq[i]].b, alphabet[seq[i]].n);
        len += alphabet[seq[i]].n;
    }
    return len;
}

/* Asserts jury_distance_edit(a, b) and (b, a) equal the reference exactly. */
static void check_edit(const char *a, size_t alen, const char *b, size_t blen, const char *what,
                       size_t i)
{
    double want = ref_edit(a, alen, b, blen), got = -1, back = -1;
    jury_text_t ta = {a, alen}, tb = {b, blen};
    assert_int_equal(jury_distance_edit(&ta, &tb, &got), JURY_OK);
    assert_int_equal(jury_distance_edit(&tb, &ta, &back), JURY_OK);
    if (got != want || back != want)
        fail_msg("%s #%zu (%zu and %zu bytes): got %.17g and %.17g, want %.17g", what, i, alen,
                 blen, got, back, want);
}

/*
 * Compares `pairs` random pairs of lo..hi symbols (hi <= LONG_MAX_SYMS)
 * exactly with the reference, from seed. Alphabets cycle through 2 to 4
 * symbols (many matches, long runs of equal cells) drawn from ASCII, 2-, 3-
 * and 4-byte code points and invalid bytes; 2 to 4 ASCII letters; 64 such
 * mixed symbols; 27 ASCII ones. The second text of a pair is either unrelated
 * or the first after random edits, so that common prefixes and suffixes are
 * stripped and distances are small.
 */
static void random_pairs(uint64_t seed, size_t pairs, size_t lo, size_t hi, const char *what)
{
    uint64_t rng = seed;
    sym_t alphabet[64];
    uint32_t *sa = malloc(hi * sizeof(uint32_t)), *sb = malloc(hi * sizeof(uint32_t));
    char *a = malloc(hi * SYM_MAX), *b = malloc(hi * SYM_MAX);
    assert_true(sa && sb && a && b);
    for (size_t i = 0; i < pairs; i++) {
        uint32_t mode = i % 4, k = mode < 2 ? 2 + rng_below(&rng, 3) : mode == 2 ? 64 : 27;
        for (uint32_t s = 0; s < k; s++) {
            if (mode % 2 == 0)
                alphabet[s] = random_sym(&rng);
            else
                alphabet[s].n = put_utf8(alphabet[s].b, s == 26 ? ' ' : 'a' + s);
        }
        size_t na = lo + rng_below(&rng, (uint32_t)(hi - lo + 1)), nb = 0;
        for (size_t j = 0; j < na; j++)
            sa[j] = rng_below(&rng, k);
        if (rng_below(&rng, 2) == 0) {
            nb = lo + rng_below(&rng, (uint32_t)(hi - lo + 1));
            for (size_t j = 0; j < nb; j++)
                sb[j] = rng_below(&rng, k);
        } else {
            /* Copy a with edits: each symbol is kept, substituted, deleted or followed by an
             * insertion, the edit rate itself random (0 to 25%). */
            uint32_t rate = rng_below(&rng, 26);
            for (size_t j = 0; j < na && nb < hi; j++) {
                uint32_t r = rng_below(&rng, 100);
                if (r >= rate)
                    sb[nb++] = sa[j];
                else if (r % 3 == 0)
                    sb[nb++] = rng_below(&rng, k);
                else if (r % 3 == 2 && nb + 2 <= hi) {
                    sb[nb++] = sa[j];
                    sb[nb++] = rng_below(&rng, k);
                }
            }
        }
        size_t alen = put_syms(a, alphabet, sa, na), blen = put_syms(b, alphabet, sb, nb);
        check_edit(a, alen, b, blen, what, i);
    }
    free(sa);
    free(sb);
    free(a);
    free(b);
}

/* 24,000 random pairs of 0..300 symbols: one 64-row block up to several, on the stack and off. */
static void test_edit_distance_random(void **state)
{
    (void)state;
    random_pairs(20240611, 24000, 0, TEXT_MAX, "random pair");
}

/* 240 random pairs of 257..1100 symbols: patterns of several strips of 4 blocks, the last
 * strip 1 to 4 blocks high. */
static void test_edit_distance_long(void **state)
{
    (void)state;
    random_pairs(1999, 240, 257, LONG_MAX_SYMS, "long pair");
}

/* A text of n symbols of alphabet (k symbols) whose first and last are `edge`. */
static size_t edge_text(char *out, const sym_t *alphabet, uint32_t k, size_t n, uint32_t edge,
                        uint64_t *rng)
{
    uint32_t seq[TEXT_MAX];
    for (size_t j = 0; j < n; j++)
        seq[j] = j == 0 || j + 1 == n ? edge : rng_below(rng, k);
    return put_syms(out, alphabet, seq, n);
}

/*
 * The block boundaries of the bit-parallel algorithm: patterns of exactly 63,
 * 64, 65, 128 and 129 symbols (texts starting and ending differently, so that
 * nothing is stripped), against texts of the same length, one more, 300 and
 * none; plus both empty, one empty and a few exact values.
 */
static void test_edit_distance_edges(void **state)
{
    (void)state;
    static const size_t lens[] = {63, 64, 65, 128, 129};
    uint64_t rng = 7;
    sym_t alphabet[6];
    char *a = malloc(TEXT_MAX * SYM_MAX), *b = malloc(TEXT_MAX * SYM_MAX);
    assert_non_null(a);
    assert_non_null(b);

    /* Both empty (also with a NULL pointer), one empty. */
    jury_text_t none = {NULL, 0}, empty = {"", 0}, x = {"x", 1}, wide = {"\xe6\x97\xa5", 3};
    double d = -1;
    assert_int_equal(jury_distance_edit(&none, &empty, &d), JURY_OK);
    assert_true(d == 0.0);
    assert_int_equal(jury_distance_edit(&none, &x, &d), JURY_OK);
    assert_true(d == 1.0);
    assert_int_equal(jury_distance_edit(&wide, &empty, &d), JURY_OK);
    assert_true(d == 1.0);

    for (size_t round = 0; round < 40; round++) {
        /* Even rounds: ASCII; odd rounds: mixed widths and a byte that is never UTF-8, none of
         * which can merge with a neighbour. */
        static const char *const mixed[6] = {"\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
                                             "a",        "\xff",         "\xd0\x96"};
        for (uint32_t s = 0; s < 6; s++) {
            const char *sym = mixed[(s + round) % 6];
            if (round % 2 == 0)
                alphabet[s].n = put_utf8(alphabet[s].b, 'a' + s);
            else
                memcpy(alphabet[s].b, sym, alphabet[s].n = strlen(sym));
        }
        uint32_t k = round % 4 < 2 ? 2 : 4;
        for (size_t i = 0; i < COUNT(lens); i++) {
            size_t m = lens[i];
            size_t alen = edge_text(a, alphabet, k, m, 4, &rng);
            size_t others[] = {m, m + 1, TEXT_MAX, 0, m - 1};
            for (size_t o = 0; o < COUNT(others); o++) {
                size_t blen = edge_text(b, alphabet, k, others[o], 5, &rng);
                check_edit(a, alen, b, blen, "edge pair", m * 10 + o);
            }
        }
    }

    /* Exact values at the boundaries: nothing in common, and one symbol more. */
    for (size_t i = 0; i < COUNT(lens); i++) {
        size_t m = lens[i];
        memset(a, 'a', m + 1);
        memset(b, 'b', m);
        jury_text_t ta = {a, m}, tb = {b, m}, ta1 = {a, m + 1};
        assert_int_equal(jury_distance_edit(&ta, &tb, &d), JURY_OK);
        assert_true(d == 1.0);
        assert_int_equal(jury_distance_edit(&ta1, &ta, &d), JURY_OK);
        assert_true(d == 1.0 / (double)(m + 1));
    }
    free(a);
    free(b);
}

/* The exact distance of a and b (NUL-terminated) both ways, also checked against the reference. */
static double edit_both(const char *a, const char *b)
{
    check_edit(a, strlen(a), b, strlen(b), "boundary pair", 0);
    return edit(a, b);
}

/*
 * Texts whose common bytes end or start inside a symbol: the shared prefix
 * and suffix are stripped as bytes, and the place where they stop must move
 * to where a symbol starts in both texts, under the rule that splits invalid
 * bytes into symbols of their own.
 */
static void test_edit_distance_boundaries(void **state)
{
    (void)state;
    /* é (C3 A9) against Ã (C3 83): the common prefix x C3 ends inside both. */
    assert_true(edit_both("x\xc3\xa9y", "x\xc3\x83y") == 1.0 / 3.0);
    /* é against © (C2 A9): the common suffix A9 z starts inside both. */
    assert_true(edit_both("\xc3\xa9z", "\xc2\xa9z") == 1.0 / 2.0);
    /* — (E2 80 94) against “ (E2 80 9C): two common bytes, one symbol each. */
    assert_true(edit_both("\xe2\x80\x94", "\xe2\x80\x9c") == 1.0);
    /* a — against a E2 80 cut short: the prefix a E2 80 ends inside the dash only; the
     * truncated sequence is two invalid bytes, two symbols. */
    assert_true(edit_both("a\xe2\x80\x94", "a\xe2\x80") == 2.0 / 3.0);
    /* ab C3 (invalid at the end) against ab é. */
    assert_true(edit_both("ab\xc3", "ab\xc3\xa9") == 1.0 / 3.0);
    /* A stray A9 against é before a common abc: the common suffix A9 abc starts a symbol in
     * the first text only. */
    assert_true(edit_both("\xa9"
                          "abc",
                          "\xc3\xa9"
                          "abc") == 1.0 / 4.0);
    /* A surrogate's encoding (ED A0 80) is three invalid bytes: the prefix stays whole. */
    assert_true(edit_both("\xed\xa0\x80x", "\xed\xa0\x80y") == 1.0 / 4.0);
    /* U+0800 (E0 A0 80) against the overlong E0 80 80 (three invalid bytes). */
    assert_true(edit_both("\xe0\xa0\x80", "\xe0\x80\x80") == 1.0);
    /* U+10FFFF (F4 8F BF BF) against F4 90 80 80, above U+10FFFF: four invalid bytes. */
    assert_true(edit_both("q\xf4\x8f\xbf\xbf", "q\xf4\x90\x80\x80") == 4.0 / 5.0);
    /* 😀 cut after 3 bytes, then ASCII, against 😀 then the same ASCII: the stray F0 9F 98
     * are three symbols, the suffix "ok" is shared. */
    assert_true(edit_both("\xf0\x9f\x98ok", "\xf0\x9f\x98\x80ok") == 3.0 / 5.0);
    /* A sentence appended, and a word replaced, in a text with accents at the seams. */
    assert_true(edit_both("caf\xc3\xa9", "caf\xc3\xa9 na\xc3\xafve") == 6.0 / 10.0);
    assert_true(edit_both("un caf\xc3\xa9 chaud", "un th\xc3\xa9 chaud") == 3.0 / 13.0);
}

/*
 * Every pair of texts of up to 4 bytes drawn from a, two continuation bytes
 * and three lead bytes (C3, E0, F0): well-formed 2-, 3- and 4-byte sequences
 * (C3 80, E0 A0 80, F0 A0 80 80), overlong and truncated ones and stray
 * continuations, against the reference.
 */
static void test_edit_distance_short_bytes(void **state)
{
    (void)state;
    static const char bytes[] = {'a', '\x80', '\xa0', '\xc3', '\xe0', '\xf0'};
    enum { NB = sizeof(bytes), MAXLEN = 4, NTEXTS = 1 + 6 + 36 + 216 + 1296 };
    static char texts[NTEXTS][MAXLEN];
    static size_t lens[NTEXTS];
    size_t nt = 0;
    for (size_t len = 0; len <= MAXLEN; len++) {
        size_t count = 1;
        for (size_t k = 0; k < len; k++)
            count *= NB;
        for (size_t v = 0; v < count; v++, nt++) {
            size_t x = v;
            for (size_t k = 0; k < len; k++, x /= NB)
                texts[nt][k] = bytes[x % NB];
            lens[nt] = len;
        }
    }
    assert_int_equal(nt, NTEXTS);
    for (size_t i = 0; i < nt; i++)
        for (size_t j = i + 1; j < nt; j++)
            check_edit(texts[i], lens[i], texts[j], lens[j], "short pair", i * NTEXTS + j);
}

/* Pieces that make the seams of shared text hard: code points sharing lead or last bytes,
 * sequences cut short, stray continuations, overlongs, surrogates, ASCII. */
static const char *const seam_pieces[] = {"\xc3\xa9",
                                          "\xc3\x83",
                                          "\xc2\xa9",
                                          "\xc3",
                                          "\xa9",
                                          "\x83",
                                          "\xe2\x80\x94",
                                          "\xe2\x80\x9c",
                                          "\xe2\x80",
                                          "\xe2",
                                          "\x80",
                                          "\xe6\x97\xa5",
                                          "\xf0\x9f\x98\x80",
                                          "\xf0\x9f\x98\x81",
                                          "\xf0\x9f\x98",
                                          "\xf0\x9f",
                                          "\xf0",
                                          "\xed\xa0\x80",
                                          "\xe0\x80\x80",
                                          "\xe0\xa0\x80",
                                          "\xf4\x90\x80\x80",
                                          "\xf4\x8f\xbf\xbf",
                                          "\xc2\x80",
                                          "\xff",
                                          "a",
                                          "e",
                                          " ",
                                          "the ",
                                          "word ",
                                          "caf\xc3\xa9 "};

/* Appends n random pieces to out at *len: seam pieces, or with ascii only its ASCII words. */
static void put_pieces(char *out, size_t *len, size_t n, bool ascii, uint64_t *rng)
{
    static const size_t first_ascii = 24, ascii_words = 4;
    for (size_t i = 0; i < n; i++) {
        size_t k = ascii ? first_ascii + rng_below(rng, (uint32_t)ascii_words)
                         : rng_below(rng, (uint32_t)COUNT(seam_pieces));
        size_t l = strlen(seam_pieces[k]);
        memcpy(out + *len, seam_pieces[k], l);
        *len += l;
    }
}

/*
 * Pairs that share a long prefix and suffix, as corrections of one draft do:
 * a = P Ma S and b = P Mb S, with short middles (nothing, a word, a few
 * pieces, a sentence appended when S is empty, or the other text's middle
 * with one piece more) and the seams made of pieces that merge with their
 * neighbours in one text and not the other. Each of P, Ma, Mb and S is ASCII
 * or made of seam pieces, so that the middles take both the ASCII and the
 * decoding path.
 */
static void test_edit_distance_shared_draft(void **state)
{
    (void)state;
    uint64_t rng = 42;
    enum { PIECES = 60, PIECE_MAX = 5 };
    char *a = malloc(4 * PIECES * PIECE_MAX), *b = malloc(4 * PIECES * PIECE_MAX);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < 20000; i++) {
        uint32_t kind = rng_below(&rng, 5), flags = rng_below(&rng, 16);
        size_t alen = 0, blen = 0, plen, np = rng_below(&rng, PIECES), ns = rng_below(&rng, PIECES);
        put_pieces(a, &alen, np, flags & 1, &rng);
        memcpy(b, a, alen);
        blen = plen = alen;
        size_t na = kind == 0 ? 0 : rng_below(&rng, kind == 4 ? PIECES : 6);
        put_pieces(a, &alen, na, flags & 2, &rng);
        if (kind == 1) {
            /* The same middle with one piece more, at its end. */
            memcpy(b + blen, a + plen, alen - plen);
            blen += alen - plen;
            put_pieces(b, &blen, 1, flags & 4, &rng);
        } else {
            put_pieces(b, &blen, rng_below(&rng, kind == 4 ? PIECES : 6), flags & 4, &rng);
        }
        if (kind != 3) {
            /* Kind 3 appends to a draft: nothing after the middles. */
            size_t slen = 0;
            char *s = a + alen;
            put_pieces(s, &slen, ns, flags & 8, &rng);
            memcpy(b + blen, s, slen);
            alen += slen;
            blen += slen;
        }
        check_edit(a, alen, b, blen, "shared draft pair", i);
    }
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kripp_2011_C),
        cmocka_unit_test(test_kripp_2011_A),
        cmocka_unit_test(test_kripp_2011_B),
        cmocka_unit_test(test_kripp_wikipedia),
        cmocka_unit_test(test_kripp_nltk_easy),
        cmocka_unit_test(test_alpha_unsorted_input),
        cmocka_unit_test(test_coincidence_additive),
        cmocka_unit_test(test_coincidence_many_distinct),
        cmocka_unit_test(test_alpha_bootstrap),
        cmocka_unit_test(test_alpha_distance_matches_levels),
        cmocka_unit_test(test_masi),
        cmocka_unit_test(test_kendall_tau),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_edit_distance_random),
        cmocka_unit_test(test_edit_distance_long),
        cmocka_unit_test(test_edit_distance_edges),
        cmocka_unit_test(test_edit_distance_boundaries),
        cmocka_unit_test(test_edit_distance_short_bytes),
        cmocka_unit_test(test_edit_distance_shared_draft),
        cmocka_unit_test(test_alpha_kendall),
        cmocka_unit_test(test_fleiss_wikipedia),
        cmocka_unit_test(test_fleiss_1971),
        cmocka_unit_test(test_fleiss_varying),
        cmocka_unit_test(test_cohen_sas),
        cmocka_unit_test(test_cohen_wikipedia),
        cmocka_unit_test(test_cohen_irr_anxiety),
        cmocka_unit_test(test_artstein_poesio),
        cmocka_unit_test(test_record_and_percent),
        cmocka_unit_test(test_annotator_stats),
        cmocka_unit_test(test_span_f1),
        cmocka_unit_test(test_too_little_data),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
