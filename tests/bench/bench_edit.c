/* bench_edit.c: the edit distance benchmark: jury_distance_edit against the plain DP it replaced.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "bench_util.h"

static const char s_usage[] =
    "usage: bench_edit [--pairs N] [--length L] [--edits P] [--runs R]\n"
    "\n"
    "Generates N pairs of English-like texts of L code points (a few words carry\n"
    "accents, dashes and curly quotes), the second text of each pair being the\n"
    "first after P% random single code point substitutions, insertions and\n"
    "deletions (deterministic). Checks that jury_distance_edit and the plain\n"
    "dynamic programme it replaced agree on every pair, then times both over all\n"
    "pairs R times on one core and prints nanoseconds per pair.\n"
    "\n"
    "options:\n"
    "  --pairs N    pairs (default 2000)\n"
    "  --length L   code points per text, 1 to 100000 (default 200)\n"
    "  --edits P    edits as a percentage of L, 0 to 100 (default 10)\n"
    "  --runs R     runs of each measurement, 1 to 99 (default 9)\n";

/* Words the texts are made of; the last few are not ASCII. */
static const char *const s_words[] = {"the",          "of",
                                      "and",          "to",
                                      "in",           "is",
                                      "that",         "it",
                                      "was",          "for",
                                      "on",           "are",
                                      "as",           "with",
                                      "his",          "they",
                                      "at",           "be",
                                      "this",         "from",
                                      "have",         "or",
                                      "by",           "one",
                                      "had",          "not",
                                      "but",          "what",
                                      "all",          "were",
                                      "when",         "we",
                                      "there",        "can",
                                      "an",           "your",
                                      "which",        "their",
                                      "said",         "if",
                                      "do",           "will",
                                      "each",         "about",
                                      "how",          "up",
                                      "out",          "them",
                                      "then",         "she",
                                      "many",         "some",
                                      "so",           "these",
                                      "would",        "other",
                                      "into",         "has",
                                      "more",         "her",
                                      "two",          "like",
                                      "him",          "see",
                                      "time",         "could",
                                      "no",           "make",
                                      "than",         "first",
                                      "been",         "its",
                                      "who",          "now",
                                      "people",       "my",
                                      "made",         "over",
                                      "did",          "down",
                                      "only",         "way",
                                      "find",         "use",
                                      "may",          "water",
                                      "long",         "little",
                                      "very",         "after",
                                      "words",        "called",
                                      "just",         "where",
                                      "most",         "know",
                                      "answer",       "model",
                                      "because",      "question",
                                      "response",     "helpful",
                                      "correct",      "explanation",
                                      "example",      "annotator",
                                      "label",        "caf\xc3\xa9",
                                      "na\xc3\xafve", "r\xc3\xa9sum\xc3\xa9",
                                      "\xe2\x80\x94", "\xe2\x80\x9cquoted\xe2\x80\x9d"};
/* Words from this index on are the non-ASCII ones, drawn less often. */
#define S_FIRST_WIDE 107

/* What the timed loops share. */
static jury_text_t *s_a, *s_b; /* the pairs */
static size_t s_npairs;        /* how many */
static volatile double s_sink; /* keeps results alive */

/* ---- the plain dynamic programme jury_distance_edit used before, kept as the baseline ---- */

/* The decoder as it was: counts when out is NULL. */
static size_t s_old_decode(const unsigned char *s, size_t len, uint32_t *out)
{
    size_t n = 0, i = 0;
    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp;
        size_t need;
        if (c < 0x80) {
            cp = c;
            need = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            cp = c & 0x1F;
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F;
            need = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07;
            need = 3;
        } else {
            cp = 0x110000u + c;
            need = 0;
        }
        bool ok = i + need < len || need == 0;
        for (size_t t = 1; ok && t <= need; t++) {
            if ((s[i + t] & 0xC0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (s[i + t] & 0x3F);
        }
        if (ok && need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (ok && need == 3 && (cp < 0x10000 || cp > 0x10FFFF))
            ok = false;
        if (!ok) {
            cp = 0x110000u + c;
            need = 0;
        }
        if (out)
            out[n] = cp;
        n++;
        i += need + 1;
    }
    return n;
}

/* The O(la x lb) Levenshtein programme, one row at a time, as it was. */
static int s_old_edit(const jury_text_t *a, const jury_text_t *b, double *out)
{
    const unsigned char *sa = (const unsigned char *)a->s, *sb = (const unsigned char *)b->s;
    size_t la = s_old_decode(sa, a->len, NULL), lb = s_old_decode(sb, b->len, NULL);
    if (la == 0 && lb == 0) {
        *out = 0.0;
        return 0;
    }
    if (la == 0 || lb == 0) {
        *out = 1.0;
        return 0;
    }
    uint32_t stack[3 * 256 + 1];
    uint32_t *heap = NULL, *ca = stack;
    if (la > 256 || lb > 256) {
        heap = malloc((la + 2 * lb + 1) * sizeof(uint32_t));
        if (!heap)
            return -1;
        ca = heap;
    }
    uint32_t *cb = ca + la, *row = cb + lb;
    s_old_decode(sa, a->len, ca);
    s_old_decode(sb, b->len, cb);
    for (size_t j = 0; j <= lb; j++)
        row[j] = (uint32_t)j;
    for (size_t i = 1; i <= la; i++) {
        uint32_t diag = row[0];
        row[0] = (uint32_t)i;
        for (size_t j = 1; j <= lb; j++) {
            uint32_t up = row[j];
            uint32_t best = diag + (ca[i - 1] != cb[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    *out = (double)row[lb] / (double)(la > lb ? la : lb);
    free(heap);
    return 0;
}

/* ---- texts ---- */

/* Appends cp's UTF-8 bytes to out; returns how many. */
static size_t s_put_utf8(char *out, uint32_t cp)
{
    unsigned char *u = (unsigned char *)out;
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

/* Fills cps with n code points of sentences made of s_words. */
static void s_sentences(bench_rng_t *r, uint32_t *cps, size_t n)
{
    size_t at = 0;
    bool start = true;
    while (at < n) {
        uint32_t w = bench_below(r, 40) == 0
                         ? S_FIRST_WIDE + bench_below(r, BENCH_COUNT(s_words) - S_FIRST_WIDE)
                         : bench_below(r, S_FIRST_WIDE);
        jury_text_t word = {s_words[w], strlen(s_words[w])};
        uint32_t tmp[32];
        size_t k = s_old_decode((const unsigned char *)word.s, word.len, tmp);
        for (size_t i = 0; i < k && at < n; i++)
            cps[at++] = start && i == 0 && tmp[i] >= 'a' && tmp[i] <= 'z' ? tmp[i] - 32 : tmp[i];
        start = false;
        uint32_t p = bench_below(r, 12);
        if (p == 0 && at < n) {
            cps[at++] = '.';
            start = true;
        } else if (p == 1 && at < n)
            cps[at++] = ',';
        if (at < n)
            cps[at++] = ' ';
    }
}

/* Encodes n code points as a new NUL-terminated string (caller frees) into *t. */
static int s_encode(const uint32_t *cps, size_t n, jury_text_t *t)
{
    char *s = malloc(4 * n + 1);
    if (!s)
        return -1;
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += s_put_utf8(s + len, cps[i]);
    s[len] = '\0';
    t->s = s;
    t->len = len;
    return 0;
}

/* A random lower-case letter or, now and then, a space. */
static uint32_t s_letter(bench_rng_t *r)
{
    uint32_t c = bench_below(r, 28);
    return c < 26 ? 'a' + c : ' ';
}

/*
 * Copies n code points of src to dst with `edits` random single code point
 * edits (a third each substitutions, insertions, deletions); returns the new
 * length. dst holds n + edits.
 */
static size_t s_mutate(bench_rng_t *r, const uint32_t *src, size_t n, size_t edits, uint32_t *dst)
{
    size_t len = n;
    memcpy(dst, src, n * sizeof(uint32_t));
    for (size_t e = 0; e < edits; e++) {
        uint32_t kind = bench_below(r, 3);
        size_t at = len ? bench_below(r, (uint32_t)len) : 0;
        if (kind == 0 && len > 0)
            dst[at] = s_letter(r);
        else if (kind == 1 || len == 0) {
            memmove(dst + at + 1, dst + at, (len - at) * sizeof(uint32_t));
            dst[at] = s_letter(r);
            len++;
        } else {
            memmove(dst + at, dst + at + 1, (len - at - 1) * sizeof(uint32_t));
            len--;
        }
    }
    return len;
}

/* ---- timing ---- */

typedef int (*edit_fn)(const jury_text_t *a, const jury_text_t *b, double *out);

static int s_new_edit(const jury_text_t *a, const jury_text_t *b, double *out)
{
    return jury_distance_edit(a, b, out) == JURY_OK ? 0 : -1;
}

/* Seconds to compute every pair's distance with fn, or -1 when fn fails. */
static double s_time_all(edit_fn fn)
{
    double sum = 0, t0 = bench_now();
    for (size_t i = 0; i < s_npairs; i++) {
        double d;
        if (fn(&s_a[i], &s_b[i], &d) != 0)
            return -1;
        sum += d;
    }
    double t = bench_now() - t0;
    s_sink = sum;
    return t;
}

int main(int argc, char **argv)
{
    long pairs = 2000, length = 200, edits = 10, runs = 9;
    static const struct option opts[] = {
        {"pairs", required_argument, NULL, 'n'}, {"length", required_argument, NULL, 'l'},
        {"edits", required_argument, NULL, 'e'}, {"runs", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'n':
            bad = bench_int_arg("bench_edit", "pairs", optarg, 1, 10000000, &pairs);
            break;
        case 'l':
            bad = bench_int_arg("bench_edit", "length", optarg, 1, 100000, &length);
            break;
        case 'e':
            bad = bench_int_arg("bench_edit", "edits", optarg, 0, 100, &edits);
            break;
        case 'r':
            bad = bench_int_arg("bench_edit", "runs", optarg, 1, BENCH_RUNS_MAX, &runs);
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        default:
            fputs(s_usage, stderr);
            return 2;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        fputs(s_usage, stderr);
        return 2;
    }

    size_t n = (size_t)length, nedits = ((size_t)length * (size_t)edits + 50) / 100;
    s_npairs = (size_t)pairs;
    s_a = calloc(s_npairs, sizeof(jury_text_t));
    s_b = calloc(s_npairs, sizeof(jury_text_t));
    uint32_t *ca = malloc(n * sizeof(uint32_t)), *cb = malloc((n + nedits) * sizeof(uint32_t));
    if (!s_a || !s_b || !ca || !cb) {
        fprintf(stderr, "bench_edit: out of memory\n");
        return 1;
    }
    bench_rng_t rng = {0x5DEECE66DULL};
    size_t bytes = 0;
    for (size_t i = 0; i < s_npairs; i++) {
        s_sentences(&rng, ca, n);
        size_t nb = s_mutate(&rng, ca, n, nedits, cb);
        if (s_encode(ca, n, &s_a[i]) != 0 || s_encode(cb, nb, &s_b[i]) != 0) {
            fprintf(stderr, "bench_edit: out of memory\n");
            return 1;
        }
        bytes += s_a[i].len + s_b[i].len;
    }
    free(ca);
    free(cb);

    /* Same answers, to the last bit, before any timing. */
    double mean = 0;
    for (size_t i = 0; i < s_npairs; i++) {
        double o = -1, w = -2;
        if (s_old_edit(&s_a[i], &s_b[i], &o) != 0 || s_new_edit(&s_a[i], &s_b[i], &w) != 0) {
            fprintf(stderr, "bench_edit: out of memory\n");
            return 1;
        }
        if (o != w) {
            fprintf(stderr, "bench_edit: pair %zu: DP gives %.17g, jury_distance_edit %.17g\n", i,
                    o, w);
            return 1;
        }
        mean += w;
    }
    mean /= (double)s_npairs;

    bench_print_machine();
    printf("libraries: none (coordinator/agreement.c is plain C11)\n");
    char b1[32];
    printf("data: %s pairs of %ld code points (%.1f bytes per text), %zu edits per pair (%ld%%), "
           "mean normalised distance %.4f; %ld runs, ns per pair\n\n",
           bench_thousands(b1, sizeof(b1), (uint64_t)s_npairs), length,
           (double)bytes / (2.0 * (double)s_npairs), nedits, edits, mean, runs);

    double t_old[BENCH_RUNS_MAX], t_new[BENCH_RUNS_MAX];
    for (int r = 0; r < (int)runs; r++) {
        /* Interleaved, so that a slow spell of the machine hits both alike. */
        t_old[r] = s_time_all(s_old_edit);
        t_new[r] = s_time_all(s_new_edit);
        if (t_old[r] < 0 || t_new[r] < 0) {
            fprintf(stderr, "bench_edit: out of memory\n");
            return 1;
        }
        t_old[r] *= 1e9 / (double)s_npairs;
        t_new[r] *= 1e9 / (double)s_npairs;
    }
    const char *names[2] = {"plain DP (before)", "bit-parallel jury_distance_edit"};
    double *ts[2] = {t_old, t_new};
    for (int k = 0; k < 2; k++) {
        printf("%-32s", names[k]);
        for (int r = 0; r < (int)runs; r++)
            printf(" %9.0f", ts[k][r]);
        printf("   median %9.0f  min %9.0f  max %9.0f\n", bench_median(ts[k], (int)runs),
               bench_min(ts[k], (int)runs), bench_max(ts[k], (int)runs));
    }
    printf("\nspeed-up (medians): %.1fx\n",
           bench_median(t_old, (int)runs) / bench_median(t_new, (int)runs));
    for (size_t i = 0; i < s_npairs; i++) {
        free((char *)s_a[i].s);
        free((char *)s_b[i].s);
    }
    free(s_a);
    free(s_b);
    return 0;
}
