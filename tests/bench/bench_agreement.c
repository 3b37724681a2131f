/* bench_agreement.c: the agreement benchmark: alpha, Fleiss and all pairwise kappas over 1M
 * records. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "bench_util.h"

/* The target: alpha + Fleiss + all pairwise kappas of one label question, one core. */
#define TARGET_S 1.0

static const char s_usage[] =
    "usage: bench_agreement [--records N] [--annotators A] [--responses M] [--categories K]\n"
    "                       [--runs R] [--replicates B]\n"
    "\n"
    "Generates N records, each answered by M distinct annotators out of A (label\n"
    "question with K categories; each annotator gives the record's true label with\n"
    "their own accuracy, else a random one; deterministic), and times every\n"
    "agreement measure R times on one core. Prints every run and the medians.\n"
    "\n"
    "options:\n"
    "  --records N      records (default 1000000)\n"
    "  --annotators A   annotators (default 50)\n"
    "  --responses M    responses per record (default 3)\n"
    "  --categories K   categories (default 5)\n"
    "  --runs R         runs of each measurement, 1 to 99 (default 3)\n"
    "  --replicates B   bootstrap replicates (default 100; 0 skips the bootstrap)\n";

/* What one measurement run does; returns 0 or -1 after printing why. */
typedef int (*bench_fn)(void);

static jury_rating_t *s_r;        /* the ratings, sorted by record */
static jury_rating_t *s_shuffled; /* the same ratings in random order */
static size_t s_n;                /* ratings */
static uint32_t s_units, s_coders, s_k, s_replicates;
static double s_numeric[256];  /* category numbers for interval alpha */
static volatile double s_sink; /* keeps results alive */

static int fail(const char *what, jury_err rc)
{
    fprintf(stderr, "bench_agreement: %s: error %d\n", what, (int)rc);
    return -1;
}

static int b_alpha_nominal(void)
{
    jury_measure_t m;
    jury_err rc = jury_alpha(s_r, s_n, s_units, s_k, JURY_ALPHA_NOMINAL, NULL, &m);
    s_sink = m.value;
    return rc == JURY_OK ? 0 : fail("jury_alpha", rc);
}

static int b_alpha_unsorted(void)
{
    jury_measure_t m;
    jury_err rc = jury_alpha(s_shuffled, s_n, s_units, s_k, JURY_ALPHA_NOMINAL, NULL, &m);
    s_sink = m.value;
    return rc == JURY_OK ? 0 : fail("jury_alpha", rc);
}

static int b_alpha_interval(void)
{
    jury_measure_t m;
    jury_err rc = jury_alpha(s_r, s_n, s_units, s_k, JURY_ALPHA_INTERVAL, s_numeric, &m);
    s_sink = m.value;
    return rc == JURY_OK ? 0 : fail("jury_alpha", rc);
}

static int b_fleiss(void)
{
    jury_fleiss_t f;
    jury_err rc = jury_fleiss_kappa_ratings(s_r, s_n, s_units, s_k, &f);
    s_sink = f.kappa.value;
    return rc == JURY_OK ? 0 : fail("jury_fleiss_kappa_ratings", rc);
}

static int b_cohen_pairs(void)
{
    jury_cohen_pair_t *pairs = NULL;
    size_t np = 0;
    jury_err rc = jury_cohen_pairs(s_r, s_n, s_units, s_coders, s_k, &pairs, &np);
    s_sink = np ? pairs[0].kappa.value : 0;
    free(pairs);
    return rc == JURY_OK ? 0 : fail("jury_cohen_pairs", rc);
}

static int b_percent(void)
{
    jury_measure_t m;
    jury_err rc = jury_percent_agreement(s_r, s_n, s_units, &m);
    s_sink = m.value;
    return rc == JURY_OK ? 0 : fail("jury_percent_agreement", rc);
}

static int b_annotators(void)
{
    jury_annotator_stats_t *st = malloc(s_coders * sizeof(*st));
    if (!st)
        return fail("malloc", JURY_ENOMEM);
    jury_err rc = jury_annotator_stats(s_r, s_n, s_units, s_coders, st);
    s_sink = st[0].with_others.value;
    free(st);
    return rc == JURY_OK ? 0 : fail("jury_annotator_stats", rc);
}

/* The live coordinator's path: one jury_coincidence_add_unit per completed record. */
static int b_live(void)
{
    jury_coincidence_t *c = jury_coincidence_new(s_k);
    if (!c)
        return fail("jury_coincidence_new", JURY_ENOMEM);
    uint32_t vals[64];
    size_t i = 0;
    while (i < s_n) {
        size_t m = 0;
        uint32_t u = s_r[i].unit;
        while (i < s_n && s_r[i].unit == u && m < 64)
            vals[m++] = s_r[i++].value;
        jury_err rc = jury_coincidence_add_unit(c, vals, m);
        if (rc != JURY_OK) {
            jury_coincidence_destroy(&c);
            return fail("jury_coincidence_add_unit", rc);
        }
    }
    s_sink = jury_alpha_from_coincidence(jury_coincidence_matrix(c), s_k, JURY_ALPHA_NOMINAL, NULL)
                 .value;
    jury_coincidence_destroy(&c);
    return 0;
}

static int b_bootstrap(void)
{
    jury_interval_t ci;
    jury_err rc = jury_alpha_bootstrap(s_r, s_n, s_units, s_k, JURY_ALPHA_NOMINAL, NULL,
                                       s_replicates, 0.95, 1, &ci);
    s_sink = ci.low;
    return rc == JURY_OK ? 0 : fail("jury_alpha_bootstrap", rc);
}

/* Runs fn `runs` times, prints each run and the median; returns the median or -1. */
static double s_measure(const char *name, bench_fn fn, int runs)
{
    double t[BENCH_RUNS_MAX];
    printf("%-44s", name);
    for (int i = 0; i < runs; i++) {
        double t0 = bench_now();
        if (fn() != 0)
            return -1;
        t[i] = bench_now() - t0;
        printf(" %8.3f", t[i]);
    }
    double med = bench_median(t, runs);
    printf("   median %8.3f s\n", med);
    fflush(stdout);
    return med;
}

int main(int argc, char **argv)
{
    long records = 1000000, annotators = 50, responses = 3, categories = 5, runs = 3,
         replicates = 100;
    static const struct option opts[] = {{"records", required_argument, NULL, 'n'},
                                         {"annotators", required_argument, NULL, 'a'},
                                         {"responses", required_argument, NULL, 'm'},
                                         {"categories", required_argument, NULL, 'k'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {"replicates", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            records = strtol(optarg, NULL, 10);
            break;
        case 'a':
            annotators = strtol(optarg, NULL, 10);
            break;
        case 'm':
            responses = strtol(optarg, NULL, 10);
            break;
        case 'k':
            categories = strtol(optarg, NULL, 10);
            break;
        case 'r':
            runs = strtol(optarg, NULL, 10);
            break;
        case 'b':
            replicates = strtol(optarg, NULL, 10);
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        default:
            fputs(s_usage, stderr);
            return 2;
        }
    }
    if (records < 1 || records > 100000000 || annotators < 1 || annotators > 1000000 ||
        responses < 1 || responses > 64 || responses > annotators || categories < 1 ||
        categories > 256 || runs < 1 || runs > BENCH_RUNS_MAX || replicates < 0 ||
        replicates > 100000) {
        fputs(s_usage, stderr);
        return 2;
    }
    s_units = (uint32_t)records;
    s_coders = (uint32_t)annotators;
    s_k = (uint32_t)categories;
    s_replicates = (uint32_t)replicates;
    s_n = (size_t)records * (size_t)responses;
    s_r = malloc(s_n * sizeof(jury_rating_t));
    s_shuffled = malloc(s_n * sizeof(jury_rating_t));
    double *acc = malloc((size_t)annotators * sizeof(double));
    if (!s_r || !s_shuffled || !acc) {
        fprintf(stderr, "bench_agreement: out of memory\n");
        return 1;
    }
    bench_rng_t rng = {0x9E3779B97F4A7C15ULL};
    for (long c = 0; c < annotators; c++)
        acc[c] = 0.4 + 0.5 * (double)bench_below(&rng, 1000) / 1000.0;
    for (uint32_t j = 0; j < s_k; j++)
        s_numeric[j] = 1.0 + j;
    size_t at = 0;
    for (uint32_t u = 0; u < s_units; u++) {
        uint32_t truth = bench_below(&rng, s_k);
        size_t first = at;
        while (at - first < (size_t)responses) {
            uint32_t c = bench_below(&rng, s_coders);
            bool dup = false;
            for (size_t i = first; i < at; i++)
                dup |= s_r[i].coder == c;
            if (dup)
                continue;
            bool right = bench_below(&rng, 1000) < (uint32_t)(acc[c] * 1000);
            jury_rating_t r = {u, c, right ? truth : bench_below(&rng, s_k)};
            s_r[at++] = r;
        }
    }
    memcpy(s_shuffled, s_r, s_n * sizeof(jury_rating_t));
    for (size_t i = s_n - 1; i > 0; i--) {
        size_t j = (size_t)(bench_rand(&rng) % (i + 1));
        jury_rating_t t = s_shuffled[i];
        s_shuffled[i] = s_shuffled[j];
        s_shuffled[j] = t;
    }

    bench_print_machine();
    printf("libraries: none (coordinator/agreement.c is plain C11 + libm)\n");
    char b1[32], b2[32];
    printf("data: %s records x %ld responses = %s ratings, %ld annotators, %ld categories; %ld "
           "runs, seconds\n\n",
           bench_thousands(b1, sizeof(b1), (uint64_t)records), responses,
           bench_thousands(b2, sizeof(b2), (uint64_t)s_n), annotators, categories, runs);

    int r = (int)runs;
    double a = s_measure("alpha nominal (ratings sorted by record)", b_alpha_nominal, r);
    double f = a < 0 ? -1 : s_measure("Fleiss kappa", b_fleiss, r);
    double p = f < 0 ? -1 : s_measure("Cohen kappa, all pairs (3 weightings)", b_cohen_pairs, r);
    if (a < 0 || f < 0 || p < 0)
        return 1;
    if (s_measure("alpha nominal (ratings in random order)", b_alpha_unsorted, r) < 0 ||
        s_measure("alpha interval", b_alpha_interval, r) < 0 ||
        s_measure("percent agreement", b_percent, r) < 0 ||
        s_measure("per-annotator statistics", b_annotators, r) < 0 ||
        s_measure("live: coincidence add_unit per record + alpha", b_live, r) < 0)
        return 1;
    if (replicates > 0) {
        char name[64];
        snprintf(name, sizeof(name), "alpha bootstrap CI (%ld replicates)", replicates);
        if (s_measure(name, b_bootstrap, r) < 0)
            return 1;
    }
    double total = a + f + p;
    printf("\nalpha + Fleiss + all pairwise kappas: %.3f s (target < %.1f s): %s\n", total,
           TARGET_S, total < TARGET_S ? "met" : "NOT met");
    free(s_r);
    free(s_shuffled);
    free(acc);
    return 0;
}
