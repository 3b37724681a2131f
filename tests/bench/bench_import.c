/* bench_import.c: the import benchmark: ~1 KB JSONL records vs raw LMDB puts and cJSON parsing. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <lmdb.h>
#include <msgpack.h>
#include <sodium.h>

#include "bench_util.h"
#include "import.h"
#include "jury_store.h"
#include "settings.h"

#define LMDB_BATCH       10000
#define LINE_CAP         16384
#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define TARGET_RATE      200000.0
/* Longest work directory name; paths inside it add at most PATH_EXTRA bytes. */
#define DIR_CAP    1024
#define PATH_EXTRA 64

static const char s_usage[] =
    "usage: bench_import [--records N] [--runs R] [--dir DIR] [--keep]\n"
    "\n"
    "Generates N JSONL records of about 1 KB (deterministic), imports them R times\n"
    "into fresh stores, and measures in the same run, as references, raw LMDB puts\n"
    "of the same payload size (batched commits of 10,000 and one transaction) and\n"
    "cJSON parsing of the same lines. Prints every run and the medians.\n"
    "\n"
    "options:\n"
    "  --records N   records to generate (default 1000000)\n"
    "  --runs R      runs of each measurement, 1 to 99 (default 3)\n"
    "  --dir DIR     work directory (default: a new directory under /tmp)\n"
    "  --keep        keep the input file and the stores\n";

/* The dataset settings every run imports into (the example settings format). */
static const char s_settings[] =
    "{\"fields\":[{\"name\":\"instruction\",\"type\":\"text\"},"
    "{\"name\":\"context\",\"type\":\"text\",\"required\":false}],"
    "\"questions\":[{\"name\":\"response\",\"type\":\"text\"},"
    "{\"name\":\"quality\",\"type\":\"rating\",\"values\":[1,2,3,4,5]}],"
    "\"metadata\":[{\"name\":\"category\",\"type\":\"terms\","
    "\"options\":[\"billing\",\"shipping\",\"account\",\"technical\",\"other\"]}],"
    "\"distribution\":{\"min_submitted\":2}}";

static const char *const s_categories[] = {"billing", "shipping", "account", "technical", "other"};
static const char *const s_agents[] = {"llama-3.1-8b-instruct", "mistral-7b-v0.3", "qwen2-7b"};

/* Pseudo-word material: onset, nucleus and coda of a syllable. */
static const char *const s_onsets[] = {"b",  "c",  "d",  "f",  "g",  "h",  "j",  "k", "l",
                                       "m",  "n",  "p",  "r",  "s",  "t",  "v",  "w", "st",
                                       "tr", "pl", "ch", "sh", "th", "gr", "br", "",  ""};
static const char *const s_nuclei[] = {"a", "e", "i", "o", "u", "a", "e", "ai", "ea", "ou", "io"};
static const char *const s_codas[] = {"", "", "", "", "n", "r", "s", "t", "l", "nd", "ck", "m"};
/* Words with multi-byte UTF-8, so the validator sees more than ASCII. */
static const char *const s_utf8_words[] = {"café",  "naïve", "Zürich", "déjà", "résumé",
                                           "größe", "señal", "façade", "€",    "東京"};

/* What the benchmark measures, one rate per run each. */
enum { M_IMPORT, M_LMDB_BATCHED, M_LMDB_SINGLE, M_CJSON, M_COUNT };

static const char *const s_metric_names[M_COUNT] = {
    "import (jury_import_file)",
    "raw LMDB puts, commit/10k",
    "raw LMDB puts, one txn",
    "cJSON parse+delete",
};

typedef struct {
    uint64_t records; /* --records */
    int runs;         /* --runs */
    const char *dir;  /* --dir, or NULL for a fresh directory under /tmp */
    bool keep;        /* --keep */
} bench_args_t;

/* One JSONL line being built. */
typedef struct {
    char buf[LINE_CAP]; /* the text */
    size_t len;         /* bytes used */
} bench_line_t;

/* What the generator produced. */
typedef struct {
    uint64_t bytes;         /* file size */
    size_t line_min;        /* shortest line, newline included */
    size_t line_max;        /* longest line, newline included */
    uint64_t payload_bytes; /* sum of the records' msgpack payloads as the importer encodes them */
    double seconds;         /* generation time */
} bench_input_t;

/* Everything measured, by run. */
typedef struct {
    double rate[M_COUNT][BENCH_RUNS_MAX];    /* records or puts per second */
    double seconds[M_COUNT][BENCH_RUNS_MAX]; /* wall time */
    uint64_t store_used[BENCH_RUNS_MAX];     /* jury_store_used_bytes after the import */
    uint64_t store_file[BENCH_RUNS_MAX];     /* data.mdb st_size after the import */
    uint64_t lmdb_file[2][BENCH_RUNS_MAX];   /* data.mdb st_size of the raw LMDB runs */
} bench_results_t;

/* Progress shown on a terminal while an import runs. */
typedef struct {
    int run;      /* 1-based run number */
    int problems; /* invalid lines reported */
} bench_progress_t;

static bool s_tty;

/* ---- small helpers ----------------------------------------------------- */

static uint64_t s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void s_erase_line(void)
{
    if (s_tty)
        fprintf(stderr, "\r\033[K");
}

/* ---- machine ----------------------------------------------------------- */

/* Prints the "libraries:" line of the report, below bench_print_machine's line. */
static void s_print_libraries(void)
{
    printf("libraries: %s, cJSON %s, msgpack-c %s, libsodium %s\n", mdb_version(NULL, NULL, NULL),
           cJSON_Version(), msgpack_version(), sodium_version_string());
}

/* ---- the generator ----------------------------------------------------- */

static void s_put(bench_line_t *l, const char *s, size_t n)
{
    /* Text lengths are bounded by construction; running out is a bug here. */
    if (l->len + n >= LINE_CAP) {
        fprintf(stderr, "bench_import: generated line over %d bytes\n", LINE_CAP);
        abort();
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void s_puts(bench_line_t *l, const char *s)
{
    s_put(l, s, strlen(s));
}

static void s_word(bench_rng_t *r, bench_line_t *l, bool capital)
{
    if (bench_below(r, 40) == 0) {
        s_puts(l, s_utf8_words[bench_below(r, BENCH_COUNT(s_utf8_words))]);
        return;
    }
    bool quoted = bench_below(r, 60) == 0;
    if (quoted)
        s_puts(l, "\\\"");
    uint32_t w = bench_below(r, 10);
    int syllables = w < 4 ? 1 : w < 8 ? 2 : 3;
    size_t first = l->len;
    for (int i = 0; i < syllables; i++) {
        s_puts(l, s_onsets[bench_below(r, BENCH_COUNT(s_onsets))]);
        s_puts(l, s_nuclei[bench_below(r, BENCH_COUNT(s_nuclei))]);
        s_puts(l, s_codas[bench_below(r, BENCH_COUNT(s_codas))]);
    }
    if (capital && l->buf[first] >= 'a' && l->buf[first] <= 'z')
        l->buf[first] = (char)(l->buf[first] - 'a' + 'A');
    if (quoted)
        s_puts(l, "\\\"");
}

/* Appends JSON string content (already escaped) of about target bytes: sentences and paragraphs. */
static void s_text(bench_rng_t *r, bench_line_t *l, size_t target)
{
    size_t start = l->len;
    bool sentence_start = true;
    uint32_t left = 0; /* words left in this sentence */
    while (l->len - start < target) {
        if (sentence_start)
            left = 5 + bench_below(r, 12);
        s_word(r, l, sentence_start);
        sentence_start = false;
        left--;
        if (left == 0 || l->len - start >= target) {
            s_puts(l, bench_below(r, 5) == 0 ? "?" : ".");
            sentence_start = true;
            if (l->len - start < target)
                s_puts(l, bench_below(r, 6) == 0 ? "\\n\\n" : " ");
        } else {
            s_puts(l, bench_below(r, 10) == 0 ? ", " : " ");
        }
    }
}

/* A length around mean: mean * (0.8 .. 1.2). */
static size_t s_around(bench_rng_t *r, size_t mean)
{
    return mean * 8 / 10 + bench_below(r, (uint32_t)(mean * 4 / 10 + 1));
}

/* Builds record i (0-based) as one JSON line without its newline. */
static void s_record(bench_rng_t *r, uint64_t i, bench_line_t *l)
{
    char num[64];
    l->len = 0;
    snprintf(num, sizeof num, "{\"id\":\"rec-%08llu\",", (unsigned long long)(i + 1));
    s_puts(l, num);
    s_puts(l, "\"fields\":{\"instruction\":\"");
    s_text(r, l, s_around(r, 600));
    s_puts(l, "\"");
    if (bench_below(r, 2) == 0) {
        s_puts(l, ",\"context\":\"");
        s_text(r, l, s_around(r, 200));
        s_puts(l, "\"");
    }
    s_puts(l, "},\"metadata\":{\"category\":\"");
    s_puts(l, s_categories[bench_below(r, BENCH_COUNT(s_categories))]);
    s_puts(l, "\"},\"suggestions\":{\"response\":{\"value\":\"");
    s_text(r, l, s_around(r, 250));
    snprintf(num, sizeof num, "\",\"score\":%.2f,\"agent\":\"", 0.5 + bench_below(r, 50) / 100.0);
    s_puts(l, num);
    s_puts(l, s_agents[bench_below(r, BENCH_COUNT(s_agents))]);
    s_puts(l, "\"}}}");
}

/*
 * Writes n records to path and checks each against the settings, encoding it
 * as the importer does to learn the mean payload size. Returns 0 or -1 after
 * printing why.
 */
static int s_generate(const char *path, uint64_t n, const jury_settings_t *settings,
                      bench_input_t *in)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_import: %s: %s\n", path, strerror(errno));
        return -1;
    }
    static char fbuf[1 << 20];
    setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
    static bench_line_t line;
    bench_rng_t rng = {0x9E3779B97F4A7C15ULL};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    memset(in, 0, sizeof *in);
    in->line_min = SIZE_MAX;
    double t0 = bench_now();
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        s_record(&rng, i, &line);
        cJSON *rec = cJSON_ParseWithLength(line.buf, line.len);
        char why[512] = "not JSON";
        char ext[32];
        int ext_len = snprintf(ext, sizeof ext, "rec-%08llu", (unsigned long long)(i + 1));
        msgpack_sbuffer_clear(&sb);
        if (!rec || jury_settings_check_record(settings, rec, why, sizeof why) != JURY_OK) {
            fprintf(stderr, "bench_import: generated record %llu is invalid: %s\n",
                    (unsigned long long)(i + 1), why);
            rc = -1;
        } else if (jury_import_encode_record(&sb, rec, ext, (size_t)ext_len) != JURY_OK) {
            fprintf(stderr, "bench_import: out of memory\n");
            rc = -1;
        }
        cJSON_Delete(rec);
        in->payload_bytes += sb.size;
        line.buf[line.len++] = '\n';
        if (fwrite(line.buf, 1, line.len, f) != line.len) {
            fprintf(stderr, "bench_import: %s: %s\n", path, strerror(errno));
            rc = -1;
        }
        in->bytes += line.len;
        in->line_min = line.len < in->line_min ? line.len : in->line_min;
        in->line_max = line.len > in->line_max ? line.len : in->line_max;
        if (s_tty && i % 65536 == 0)
            fprintf(stderr, "\r  generating: %llu%%", (unsigned long long)(i * 100 / n));
    }
    /* Flush the input to disk now, or its writeback competes with the first run. */
    if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
        fprintf(stderr, "bench_import: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "bench_import: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    msgpack_sbuffer_destroy(&sb);
    s_erase_line();
    in->seconds = bench_now() - t0;
    return rc;
}

/* ---- the import -------------------------------------------------------- */

typedef struct {
    const char *settings; /* normalised settings JSON */
} bench_create_t;

static jury_err s_create_body(jury_txn_t *txn, void *arg)
{
    const bench_create_t *c = arg;
    return jury_store_dataset_create(txn, "bench", c->settings, strlen(c->settings), NULL);
}

static void s_import_problem(uint64_t line_no, const char *reason, const char *line, size_t len,
                             void *arg)
{
    (void)line, (void)len;
    bench_progress_t *p = arg;
    if (p->problems++ < 5)
        fprintf(stderr, "bench_import: records.jsonl:%llu: %s\n", (unsigned long long)line_no,
                reason);
}

static void s_import_progress(const jury_import_progress_t *pr, void *arg)
{
    const bench_progress_t *p = arg;
    if (s_tty && pr->total_bytes)
        fprintf(stderr, "\r  run %d: importing: %llu%%", p->run,
                (unsigned long long)(pr->bytes * 100 / pr->total_bytes));
}

/*
 * Imports input into a fresh store in dir and records the time and sizes of
 * run `run` (0-based). Returns 0 or -1 after printing why.
 */
static int s_import_run(const char *dir, const char *input, const char *settings, uint64_t n,
                        int run, bench_results_t *res)
{
    bench_remove_env(dir);
    jury_store_t *store = NULL;
    jury_store_opts_t opts = {.create = true};
    jury_err err = jury_store_open(&store, dir, &opts);
    if (err != JURY_OK) {
        fprintf(stderr, "bench_import: %s: %s\n", dir, jury_strerror(err));
        return -1;
    }
    bench_create_t create = {settings};
    if ((err = jury_store_write(store, s_create_body, &create)) != JURY_OK) {
        fprintf(stderr, "bench_import: %s: dataset create: %s\n", dir, jury_strerror(err));
        jury_store_destroy(&store);
        return -1;
    }
    bench_progress_t progress = {.run = run + 1};
    jury_import_opts_t iopts = {
        .problem = s_import_problem, .progress = s_import_progress, .arg = &progress};
    jury_import_stats_t stats;
    double t0 = bench_now();
    err = jury_import_file(store, "bench", input, &iopts, &stats);
    double secs = bench_now() - t0;
    s_erase_line();
    res->store_used[run] = jury_store_used_bytes(store);
    jury_store_destroy(&store);
    if (err != JURY_OK || stats.created != n) {
        fprintf(stderr, "bench_import: import: %s (%llu created of %llu, %llu rejected)\n",
                jury_strerror(err), (unsigned long long)stats.created, (unsigned long long)n,
                (unsigned long long)stats.rejected);
        return -1;
    }
    char path[DIR_CAP + 2 * PATH_EXTRA];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    res->store_file[run] = s_file_size(path);
    res->seconds[M_IMPORT][run] = secs;
    res->rate[M_IMPORT][run] = (double)n / secs;
    return 0;
}

/* ---- reference: raw LMDB ----------------------------------------------- */

/* Prints why an LMDB step of the reference run failed. */
static void s_mdb_fail(const char *what, int rc)
{
    fprintf(stderr, "bench_import: raw LMDB: %s: %s\n", what, mdb_strerror(rc));
}

/*
 * Puts n values of vsize bytes under sequential 8-byte big-endian keys into a
 * fresh environment in dir, committing every `batch` puts (0: one transaction).
 * The environment is set up as jury's store sets up its own: same flags, a
 * 1 GiB initial map grown before the writes by what the importer reserves
 * (reserve bytes). Stores the wall time of the writes in *secs.
 */
static int s_lmdb_run(const char *dir, uint64_t n, size_t vsize, uint64_t batch, size_t reserve,
                      const unsigned char *vbuf, double *secs, uint64_t *file_size)
{
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    if (bench_lmdb_fresh("bench_import", "raw LMDB", dir, DEFAULT_MAP_SIZE, "records", &env,
                         &dbi) != 0)
        return -1;
    int rc, result = -1;
    double t0 = bench_now();
    /* Grow the map as jury_store_reserve does: double it, or more if that is short. */
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(env, &info);
    mdb_env_stat(env, &st);
    size_t used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    if (used + reserve > info.me_mapsize) {
        size_t next = info.me_mapsize * 2 > used + reserve ? info.me_mapsize * 2 : used + reserve;
        if ((rc = mdb_env_set_mapsize(env, next)) != MDB_SUCCESS) {
            s_mdb_fail("grow map", rc);
            goto done;
        }
    }
    unsigned char k[8];
    MDB_val key = {.mv_size = 8, .mv_data = k}, val;
    for (uint64_t i = 0; i < n; i++) {
        if (!txn && (rc = mdb_txn_begin(env, NULL, 0, &txn)) != MDB_SUCCESS) {
            s_mdb_fail("begin", rc);
            goto done;
        }
        /* Keys as jury's record ids: dataset 1, sequence i + 1. */
        bench_be(k, (uint64_t)1 << JURY_RECORD_SEQ_BITS | (i + 1), 8);
        val.mv_size = vsize;
        val.mv_data = (void *)(vbuf + (i & 63));
        if ((rc = mdb_put(txn, dbi, &key, &val, 0)) != MDB_SUCCESS) {
            s_mdb_fail("put", rc);
            goto done;
        }
        if (batch && (i + 1) % batch == 0 &&
            bench_lmdb_commit("bench_import", "raw LMDB", &txn) != 0)
            goto done;
    }
    if (bench_lmdb_commit("bench_import", "raw LMDB", &txn) != 0)
        goto done;
    *secs = bench_now() - t0;
    result = 0;
done:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    char path[DIR_CAP + 2 * PATH_EXTRA];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    *file_size = s_file_size(path);
    return result;
}

/* ---- reference: cJSON -------------------------------------------------- */

/* Parses and frees every line of the mapped file. Returns the time; *failed counts lines that did
 * not parse. */
static double s_cjson_run(const char *map, size_t size, uint64_t *lines, uint64_t *failed)
{
    *lines = *failed = 0;
    double t0 = bench_now();
    const char *p = map, *end = map + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        cJSON *v = cJSON_ParseWithLength(p, len);
        *failed += v == NULL;
        cJSON_Delete(v);
        (*lines)++;
        p += len + 1;
    }
    return bench_now() - t0;
}

/* ---- main -------------------------------------------------------------- */

static int s_parse_args(int argc, char **argv, bench_args_t *a)
{
    static const struct option longopts[] = {
        {"records", required_argument, NULL, 'n'}, {"runs", required_argument, NULL, 'r'},
        {"dir", required_argument, NULL, 'd'},     {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    *a = (bench_args_t){.records = 1000000, .runs = 3};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'n':
            errno = 0;
            a->records = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-' || a->records == 0 || a->records > 99999999) {
                fprintf(stderr, "bench_import: --records: give 1 to 99999999\n");
                return 2;
            }
            break;
        case 'r':
            a->runs = (int)strtol(optarg, &end, 10);
            if (*end || a->runs < 1 || a->runs > BENCH_RUNS_MAX) {
                fprintf(stderr, "bench_import: --runs: give 1 to %d\n", BENCH_RUNS_MAX);
                return 2;
            }
            break;
        case 'd':
            a->dir = optarg;
            break;
        case 'k':
            a->keep = true;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 1;
        default:
            fputs(s_usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fputs(s_usage, stderr);
        return 2;
    }
    return 0;
}

static void s_print_run(const char *what, uint64_t n, double secs, const char *unit)
{
    char a[32], b[32];
    printf("  %-28s %s %s in %7.3f s = %11s %s/s\n", what, bench_thousands(a, sizeof a, n), unit,
           secs, bench_thousands(b, sizeof b, (uint64_t)(n / secs + 0.5)), unit);
}

static void s_print_summary(const bench_args_t *a, const bench_input_t *in, size_t vsize,
                            const bench_results_t *res)
{
    int r = a->runs;
    char b[6][32];
    printf("\nsummary: medians of %d run%s (min .. max), %s records of %.0f bytes, LMDB values "
           "of %zu bytes\n",
           r, r == 1 ? "" : "s", bench_thousands(b[0], sizeof b[0], a->records),
           (double)in->bytes / (double)a->records, vsize);
    printf("  %-28s %13s %13s %13s %12s %12s\n", "", "median/s", "min/s", "max/s", "import/ref",
           "per-run");
    double imp = bench_median(res->rate[M_IMPORT], r);
    for (int m = 0; m < M_COUNT; m++) {
        double med = bench_median(res->rate[m], r);
        printf("  %-28s %13s %13s %13s", s_metric_names[m],
               bench_thousands(b[0], sizeof b[0], (uint64_t)(med + 0.5)),
               bench_thousands(b[1], sizeof b[1], (uint64_t)(bench_min(res->rate[m], r) + 0.5)),
               bench_thousands(b[2], sizeof b[2], (uint64_t)(bench_max(res->rate[m], r) + 0.5)));
        if (m == M_IMPORT) {
            printf("\n");
            continue;
        }
        /* The ratio within each run pairs measurements taken minutes apart at most. */
        double ratio[BENCH_RUNS_MAX];
        for (int i = 0; i < r; i++)
            ratio[i] = res->rate[M_IMPORT][i] / res->rate[m][i];
        printf(" %12.3f %12.3f\n", imp / med, bench_median(ratio, r));
    }
    double used[BENCH_RUNS_MAX], file[BENCH_RUNS_MAX], lb[BENCH_RUNS_MAX], ls[BENCH_RUNS_MAX];
    for (int i = 0; i < r; i++) {
        used[i] = (double)res->store_used[i];
        file[i] = (double)res->store_file[i];
        lb[i] = (double)res->lmdb_file[0][i];
        ls[i] = (double)res->lmdb_file[1][i];
    }
    double mu = bench_median(used, r), mf = bench_median(file, r);
    printf("  import/ref: ratio of the medians; per-run: median of the ratios within each run\n");
    printf("  import input: %.1f MB/s of JSONL (median)\n",
           imp * (double)in->bytes / (double)a->records / 1e6);
    printf("  store size: %s bytes used (jury_store_used_bytes), data.mdb %s bytes, "
           "%.0f bytes/record, %.2fx the JSONL\n",
           bench_thousands(b[3], sizeof b[3], (uint64_t)mu),
           bench_thousands(b[4], sizeof b[4], (uint64_t)mf), mf / (double)a->records,
           mf / (double)in->bytes);
    printf("  raw LMDB data.mdb: %s bytes (commit/10k), %s bytes (one txn)\n",
           bench_thousands(b[3], sizeof b[3], (uint64_t)bench_median(lb, r)),
           bench_thousands(b[4], sizeof b[4], (uint64_t)bench_median(ls, r)));
    printf("  target: import >= %s records/s on a 2-core machine: %s (median %s records/s)\n",
           bench_thousands(b[5], sizeof b[5], (uint64_t)TARGET_RATE),
           imp >= TARGET_RATE ? "met" : "NOT met",
           bench_thousands(b[0], sizeof b[0], (uint64_t)(imp + 0.5)));
}

int main(int argc, char **argv)
{
    bench_args_t a;
    int rc = s_parse_args(argc, argv, &a);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_import: libsodium failed to initialise\n");
        return 1;
    }
    s_tty = isatty(STDERR_FILENO);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char dir[DIR_CAP];
    bool made_dir;
    if ((rc = bench_work_dir("bench_import", a.dir, "/tmp/jury-bench-XXXXXX", dir, sizeof dir,
                             &made_dir)) != 0)
        return rc;

    /* The dataset stores normalised settings, as `jury dataset create` does. */
    char why[512];
    jury_settings_t *settings = NULL;
    jury_err err = jury_settings_parse(&settings, s_settings, strlen(s_settings), why, sizeof why);
    if (err != JURY_OK) {
        fprintf(stderr, "bench_import: settings: %s\n",
                err == JURY_EINVAL ? why : jury_strerror(err));
        return 1;
    }
    char *normal = jury_settings_to_json(settings, false);
    static bench_results_t res;
    static unsigned char vbuf[LINE_CAP + 64];
    char input[DIR_CAP + PATH_EXTRA], path[DIR_CAP + PATH_EXTRA];
    snprintf(input, sizeof input, "%s/records.jsonl", dir);
    const char *map = MAP_FAILED;
    bench_input_t in = {0};
    rc = 1;
    if (!normal) {
        fprintf(stderr, "bench_import: out of memory\n");
        goto done;
    }

    printf("jury import benchmark: %llu records, %d run%s, in %s\n", (unsigned long long)a.records,
           a.runs, a.runs == 1 ? "" : "s", dir);
    bench_print_machine();
    s_print_libraries();
    if (s_generate(input, a.records, settings, &in) != 0)
        goto done;
    char b1[32], b2[32];
    size_t vsize = (size_t)((double)in.payload_bytes / (double)a.records + 0.5);
    printf("input:     %s, %s bytes, %.1f bytes/record (%zu .. %zu), generated and checked in "
           "%.1f s\n",
           input, bench_thousands(b1, sizeof b1, in.bytes), (double)in.bytes / (double)a.records,
           in.line_min, in.line_max, in.seconds);
    printf("payload:   %.1f bytes/record mean as msgpack (jury_import_encode_record), %s "
           "bytes in all\n",
           (double)in.payload_bytes / (double)a.records,
           bench_thousands(b2, sizeof b2, in.payload_bytes));
    bench_rng_t rng = {0xD1B54A32D192ED03ULL};
    for (size_t i = 0; i < sizeof vbuf; i++)
        vbuf[i] = (unsigned char)bench_rand(&rng);
    /* What jury_import_file reserves before its transaction, for the raw LMDB runs. */
    size_t reserve = 2 * (size_t)in.bytes + (16u << 20);

    int fd = open(input, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        map = mmap(NULL, in.bytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        close(fd);
    }
    if (map == MAP_FAILED) {
        fprintf(stderr, "bench_import: %s: %s\n", input, strerror(errno));
        goto done;
    }

    /* Interleave the measurements so that each run's references see the same machine weather. */
    for (int run = 0; run < a.runs; run++) {
        printf("\nrun %d/%d\n", run + 1, a.runs);
        snprintf(path, sizeof path, "%s/store-%d", dir, run + 1);
        if (s_import_run(path, input, normal, a.records, run, &res) != 0)
            goto done;
        s_print_run(s_metric_names[M_IMPORT], a.records, res.seconds[M_IMPORT][run], "records");
        printf("  %-28s %s bytes used (jury_store_used_bytes), data.mdb %s bytes\n",
               "store size:", bench_thousands(b1, sizeof b1, res.store_used[run]),
               bench_thousands(b2, sizeof b2, res.store_file[run]));
        if (!a.keep)
            bench_remove_env(path);

        for (int single = 0; single < 2; single++) {
            int m = single ? M_LMDB_SINGLE : M_LMDB_BATCHED;
            snprintf(path, sizeof path, "%s/lmdb-%s-%d", dir, single ? "single" : "batched",
                     run + 1);
            if (s_lmdb_run(path, a.records, vsize, single ? 0 : LMDB_BATCH, reserve, vbuf,
                           &res.seconds[m][run], &res.lmdb_file[single][run]) != 0)
                goto done;
            res.rate[m][run] = (double)a.records / res.seconds[m][run];
            s_print_run(s_metric_names[m], a.records, res.seconds[m][run], "puts");
            if (!a.keep)
                bench_remove_env(path);
        }

        uint64_t lines, failed;
        res.seconds[M_CJSON][run] = s_cjson_run(map, in.bytes, &lines, &failed);
        if (failed || lines != a.records) {
            fprintf(stderr, "bench_import: cJSON: %llu of %llu lines did not parse\n",
                    (unsigned long long)failed, (unsigned long long)lines);
            goto done;
        }
        res.rate[M_CJSON][run] = (double)a.records / res.seconds[M_CJSON][run];
        s_print_run(s_metric_names[M_CJSON], a.records, res.seconds[M_CJSON][run], "records");
    }
    s_print_summary(&a, &in, vsize, &res);
    rc = 0;
done:
    if (map != MAP_FAILED)
        munmap((void *)map, in.bytes);
    if (!a.keep) {
        unlink(input);
        for (int run = 0; run < a.runs; run++) {
            snprintf(path, sizeof path, "%s/store-%d", dir, run + 1);
            bench_remove_env(path);
            snprintf(path, sizeof path, "%s/lmdb-batched-%d", dir, run + 1);
            bench_remove_env(path);
            snprintf(path, sizeof path, "%s/lmdb-single-%d", dir, run + 1);
            bench_remove_env(path);
        }
        if (made_dir)
            rmdir(dir);
    } else {
        printf("kept: %s\n", dir);
    }
    free(normal);
    jury_settings_destroy(&settings);
    return rc;
}
