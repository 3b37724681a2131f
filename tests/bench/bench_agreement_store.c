/* bench_agreement_store.c: the real `jury agreement --format json` on a 1M-record store. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <lmdb.h>
#include <msgpack.h>
#include <sodium.h>

#include "bench_util.h"
#include "import.h"
#include "jury_store.h"
#include "settings.h"

#ifndef JURY_BENCH_JURY
#define JURY_BENCH_JURY "jury"
#endif
#ifndef JURY_BENCH_AGREEMENT
#define JURY_BENCH_AGREEMENT "bench_agreement"
#endif

/* The target: the full JSON report of a dataset of 1M records x 3 responses. */
#define TARGET_S       5.0
#define TARGET_RECORDS 1000000.0
/* Work directory names stay short so that paths inside it fit PATH_CAP. */
#define DIR_CAP  1024
#define PATH_CAP (DIR_CAP + 64)
/* Most categories: the labels are the letters a .. z. */
#define CATEGORIES_MAX 26
/* Most responses per record. */
#define RESPONSES_MAX 32
/* The dataset every run reads. */
#define DATASET "bench"

static const char s_usage[] =
    "usage: bench_agreement_store [--records N] [--annotators A] [--responses M]\n"
    "                             [--categories K] [--error P] [--runs R] [--dir DIR]\n"
    "                             [--keep] [--jury PATH] [--no-maths]\n"
    "\n"
    "First runs bench_agreement (the agreement maths on plain arrays) with the same\n"
    "sizes. Then generates N JSONL records of one label_selection question with K\n"
    "labels, each with M submitted responses (\"responses\" in the record) from M\n"
    "distinct annotators out of A: every record has a true label and every\n"
    "annotator gives another label, chosen at random, P percent of the time\n"
    "(deterministic). Imports them into a fresh store (jury_import_file), then\n"
    "runs R times, interleaved, the real\n"
    "  jury --store DIR agreement bench --format json --out FILE\n"
    "the same with --bootstrap 1 (the default is 1,000 resamples), and, as the\n"
    "references, two full scans of the same store:\n"
    "  jury --store DIR dump bench > /dev/null\n"
    "and a cursor walk over every key and value of every table of the store with\n"
    "LMDB alone (in this process: the floor of any reader).\n"
    "Prints every run (wall time, CPU time, peak RSS), the medians and whether the\n"
    "report takes less than 5 s. Checks the report's counts and its alpha against\n"
    "the value the generator implies.\n"
    "\n"
    "options:\n"
    "  --records N      records (default 1000000)\n"
    "  --annotators A   annotators (default 50)\n"
    "  --responses M    submitted responses per record, 2 to 32 (default 3)\n"
    "  --categories K   labels, 2 to 26 (default 5)\n"
    "  --error P        percent of answers that are not the true label, 0 to 100\n"
    "                   (default 20)\n"
    "  --runs R         runs of each command, 1 to 99 (default 3)\n"
    "  --dir DIR        work directory (default: a new directory under /tmp)\n"
    "  --keep           keep the input file, the store and the reports\n"
    "  --jury PATH      the jury binary (default: $JURY_BIN, else the one built with this)\n"
    "  --no-maths       skip the bench_agreement part\n";

/* Pseudo-word material for the records' text: onset, nucleus and coda of a syllable. */
static const char *const s_onsets[] = {"b", "c", "d", "f", "g", "h",  "k",  "l",  "m",  "n", "p",
                                       "r", "s", "t", "v", "w", "st", "tr", "ch", "sh", "",  ""};
static const char *const s_nuclei[] = {"a", "e", "i", "o", "u", "ai", "ea", "ou"};
static const char *const s_codas[] = {"", "", "", "n", "r", "s", "t", "l", "nd", "ck"};

/* What is measured: the report, the report without its bootstrap, and two full scans. */
enum { M_AGREEMENT, M_NO_BOOTSTRAP, M_DUMP, M_SCAN, M_COUNT };

static const char *const s_metric_names[M_COUNT] = {
    "jury agreement --format json",
    "  the same with --bootstrap 1",
    "reference: jury dump > /dev/null",
    "reference: raw LMDB walk of the store",
};

typedef struct {
    uint64_t records; /* --records */
    int annotators;   /* --annotators */
    int responses;    /* --responses */
    int categories;   /* --categories */
    int error_pct;    /* --error */
    int runs;         /* --runs */
    const char *dir;  /* --dir, or NULL */
    bool keep;        /* --keep */
    const char *jury; /* --jury */
    bool maths;       /* not --no-maths */
} bench_args_t;

/* One run of one command. */
typedef struct {
    double wall;    /* wall time, seconds */
    double cpu;     /* user + system time of the process, seconds */
    double rss_mib; /* peak resident set of the process, MiB; 0 when not measured */
} bench_sample_t;

/* Keeps the raw walk's reads of the values from being optimised away. */
static volatile uint64_t s_sink;

/* ---- arguments ----------------------------------------------------------- */

/* Fills *a from the command line. Returns 0, 1 after printing the help, or 2 on bad usage. */
static int s_parse_args(int argc, char **argv, bench_args_t *a)
{
    static const struct option longopts[] = {{"records", required_argument, NULL, 'n'},
                                             {"annotators", required_argument, NULL, 'a'},
                                             {"responses", required_argument, NULL, 'm'},
                                             {"categories", required_argument, NULL, 'k'},
                                             {"error", required_argument, NULL, 'e'},
                                             {"runs", required_argument, NULL, 'r'},
                                             {"dir", required_argument, NULL, 'd'},
                                             {"keep", no_argument, NULL, 'K'},
                                             {"jury", required_argument, NULL, 'j'},
                                             {"no-maths", no_argument, NULL, 'M'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *env = getenv("JURY_BIN");
    *a = (bench_args_t){.records = 1000000,
                        .annotators = 50,
                        .responses = 3,
                        .categories = 5,
                        .error_pct = 20,
                        .runs = 3,
                        .jury = env && *env ? env : JURY_BENCH_JURY,
                        .maths = true};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (bench_int_arg("bench_agreement_store", "records", optarg, 1, 99999999, &v) != 0)
                return 2;
            a->records = (uint64_t)v;
            break;
        case 'a':
            if (bench_int_arg("bench_agreement_store", "annotators", optarg, 2, 9999, &v) != 0)
                return 2;
            a->annotators = (int)v;
            break;
        case 'm':
            if (bench_int_arg("bench_agreement_store", "responses", optarg, 2, RESPONSES_MAX, &v) !=
                0)
                return 2;
            a->responses = (int)v;
            break;
        case 'k':
            if (bench_int_arg("bench_agreement_store", "categories", optarg, 2, CATEGORIES_MAX,
                              &v) != 0)
                return 2;
            a->categories = (int)v;
            break;
        case 'e':
            if (bench_int_arg("bench_agreement_store", "error", optarg, 0, 100, &v) != 0)
                return 2;
            a->error_pct = (int)v;
            break;
        case 'r':
            if (bench_int_arg("bench_agreement_store", "runs", optarg, 1, BENCH_RUNS_MAX, &v) != 0)
                return 2;
            a->runs = (int)v;
            break;
        case 'd':
            a->dir = optarg;
            break;
        case 'K':
            a->keep = true;
            break;
        case 'j':
            a->jury = optarg;
            break;
        case 'M':
            a->maths = false;
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
    if (a->responses > a->annotators) {
        fprintf(stderr,
                "bench_agreement_store: --responses %d needs at least as many "
                "--annotators (%d)\n",
                a->responses, a->annotators);
        return 2;
    }
    return 0;
}

/* ---- processes ----------------------------------------------------------- */

/*
 * Runs argv (argv[0] a path) to completion with stdin from /dev/null, stdout
 * to out_fd (-1: /dev/null, -2: this process's stdout) and stderr appended to
 * log (NULL: this process's stderr). Fills *s with its wall time, CPU time and
 * peak RSS. Returns 0 when it exits 0, else -1 after printing why and its log.
 */
static int s_run(char *const argv[], int out_fd, const char *log, bench_sample_t *s)
{
    int lfd = -1;
    if (log && (lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0) {
        fprintf(stderr, "bench_agreement_store: %s: %s\n", log, strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        int nfd = open("/dev/null", O_RDWR);
        dup2(nfd, 0);
        if (out_fd != -2)
            dup2(out_fd >= 0 ? out_fd : nfd, 1);
        if (lfd >= 0)
            dup2(lfd, 2);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (lfd >= 0)
        close(lfd);
    if (pid < 0) {
        fprintf(stderr, "bench_agreement_store: fork: %s\n", strerror(errno));
        return -1;
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "bench_agreement_store: wait4: %s\n", strerror(errno));
            return -1;
        }
    }
    s->wall = bench_now() - t0;
    s->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    s->rss_mib = (double)ru.ru_maxrss / 1024.0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_agreement_store: %s %s failed (%s %d)%s%s\n", argv[0],
                argv[1] ? argv[1] : "", WIFEXITED(st) ? "exit" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), log ? "; its log " : "",
                log ? log : "");
        if (log)
            bench_print_log(log);
        return -1;
    }
    return 0;
}

/* ---- the input ------------------------------------------------------------ */

/* Appends a sentence of 8 to 23 pseudo-words to f. */
static void s_sentence(FILE *f, bench_rng_t *rng)
{
    uint32_t words = 8 + bench_below(rng, 16);
    for (uint32_t w = 0; w < words; w++) {
        if (w)
            fputc(' ', f);
        uint32_t syl = 1 + bench_below(rng, 3);
        for (uint32_t s = 0; s < syl; s++)
            fprintf(f, "%s%s%s", s_onsets[bench_below(rng, BENCH_COUNT(s_onsets))],
                    s_nuclei[bench_below(rng, BENCH_COUNT(s_nuclei))],
                    s_codas[bench_below(rng, BENCH_COUNT(s_codas))]);
    }
    fputc('.', f);
}

/*
 * Writes the records file at path: a.records lines, each with a text field
 * and a.responses submitted answers to "label" from distinct annotators.
 * Stores its size in *bytes. Returns 0 or -1 after printing why.
 */
static int s_generate(const char *path, const bench_args_t *a, uint64_t *bytes)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_agreement_store: %s: %s\n", path, strerror(errno));
        return -1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    bench_rng_t rng = {0x2545F4914F6CDD1DULL};
    uint32_t k = (uint32_t)a->categories, err_per_mille = (uint32_t)a->error_pct * 10;
    for (uint64_t i = 0; i < a->records; i++) {
        fprintf(f, "{\"id\":\"r%08llu\",\"fields\":{\"text\":\"", (unsigned long long)i + 1);
        s_sentence(f, &rng);
        fputs("\"},\"responses\":{\"label\":[", f);
        uint32_t truth = bench_below(&rng, k);
        uint32_t who[RESPONSES_MAX];
        for (int m = 0; m < a->responses; m++) {
            bool dup;
            do {
                who[m] = bench_below(&rng, (uint32_t)a->annotators);
                dup = false;
                for (int j = 0; j < m; j++)
                    dup |= who[j] == who[m];
            } while (dup);
            uint32_t label = truth;
            /* A wrong answer is one of the other k - 1 labels, each as likely. */
            if (bench_below(&rng, 1000) < err_per_mille)
                label = (truth + 1 + bench_below(&rng, k - 1)) % k;
            fprintf(f, "%s{\"value\":\"%c\",\"user_id\":\"annotator-%02u\"}", m ? "," : "",
                    'a' + (int)label, who[m] + 1);
        }
        fputs("]}}\n", f);
    }
    int rc = 0;
    /* Flush the input to disk now, or its writeback competes with the import. */
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "bench_agreement_store: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    long size = ftell(f);
    if (fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "bench_agreement_store: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    *bytes = size > 0 ? (uint64_t)size : 0;
    return rc;
}

/* ---- the store -------------------------------------------------------------- */

typedef struct {
    const char *settings; /* normalised settings JSON */
} bench_create_t;

static jury_err s_create_body(jury_txn_t *txn, void *arg)
{
    const bench_create_t *c = arg;
    return jury_store_dataset_create(txn, DATASET, c->settings, strlen(c->settings), NULL);
}

static void s_import_problem(uint64_t line_no, const char *reason, const char *line, size_t len,
                             void *arg)
{
    (void)line, (void)len;
    uint64_t *problems = arg;
    if ((*problems)++ < 5)
        fprintf(stderr, "bench_agreement_store: records.jsonl:%llu: %s\n",
                (unsigned long long)line_no, reason);
}

/*
 * Makes the store in dir: dataset DATASET with settings (normalised JSON) and
 * the records of input. Stores the import's wall time in *secs. Returns 0 or
 * -1 after printing why.
 */
static int s_make_store(const char *dir, const char *settings, const char *input,
                        const bench_args_t *a, double *secs)
{
    bench_remove_env(dir);
    jury_store_t *store = NULL;
    jury_store_opts_t opts = {.create = true};
    jury_err err = jury_store_open(&store, dir, &opts);
    if (err != JURY_OK) {
        fprintf(stderr, "bench_agreement_store: %s: %s\n", dir, jury_strerror(err));
        return -1;
    }
    bench_create_t create = {settings};
    if ((err = jury_store_write(store, s_create_body, &create)) != JURY_OK) {
        fprintf(stderr, "bench_agreement_store: %s: dataset create: %s\n", dir, jury_strerror(err));
        jury_store_destroy(&store);
        return -1;
    }
    uint64_t problems = 0;
    jury_import_opts_t iopts = {.problem = s_import_problem, .arg = &problems};
    jury_import_stats_t stats = {0};
    double t0 = bench_now();
    err = jury_import_file(store, DATASET, input, &iopts, &stats);
    *secs = bench_now() - t0;
    jury_store_destroy(&store);
    uint64_t want = a->records * (uint64_t)a->responses;
    if (err != JURY_OK || stats.created != a->records || stats.responses != want) {
        fprintf(stderr,
                "bench_agreement_store: import: %s (%llu records created of %llu, %llu "
                "responses of %llu, %llu lines rejected)\n",
                jury_strerror(err), (unsigned long long)stats.created,
                (unsigned long long)a->records, (unsigned long long)stats.responses,
                (unsigned long long)want, (unsigned long long)stats.rejected);
        return -1;
    }
    return 0;
}

/* Size of the file at path in bytes, 0 when it cannot be read. */
static uint64_t s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Reads the whole file at path into a NUL-terminated heap string (*len bytes), or NULL. */
static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n + 1)) != NULL) {
            if (fread(text, 1, (size_t)n, f) == (size_t)n) {
                text[n] = '\0';
                *len = (size_t)n;
            } else {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(f);
    return text;
}

/* The number at key of obj, or NAN when it is missing or null. */
static double s_num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : (double)NAN;
}

/*
 * Prints what the report at path says about the question and checks its
 * counts against the input, and its alpha against the value the generator
 * implies. Returns 0 or -1 after printing why.
 */
static int s_check_report(const char *path, const bench_args_t *a)
{
    size_t len = 0;
    char *text = s_slurp(path, &len);
    cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "questions"), "label");
    if (!cJSON_IsObject(q)) {
        fprintf(stderr, "bench_agreement_store: %s: no questions.label object\n", path);
        cJSON_Delete(root);
        return -1;
    }
    double alpha = s_num(q, "alpha"), fleiss = s_num(q, "fleiss_kappa");
    double pa = s_num(q, "percent_agreement");
    double records = s_num(q, "records"), responses = s_num(q, "responses");
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
    double lo = cJSON_GetArraySize(ci) == 2 ? cJSON_GetArrayItem(ci, 0)->valuedouble : NAN;
    double hi = cJSON_GetArraySize(ci) == 2 ? cJSON_GetArrayItem(ci, 1)->valuedouble : NAN;
    int pairs = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(q, "pairs"));
    int annotators = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(q, "annotators"));
    /*
     * Two answers agree with probability (1-e)^2 + e^2/(k-1); the labels are
     * uniform, so chance agreement is 1/k, and alpha is close to
     * (Po - 1/k) / (1 - 1/k) with millions of values.
     */
    double e = a->error_pct / 100.0, k = a->categories;
    double po = (1 - e) * (1 - e) + e * e / (k - 1);
    double expect = (po - 1 / k) / (1 - 1 / k);
    char b1[32], b2[32];
    printf("  report: alpha %.6f (95%% CI %.6f .. %.6f; the generator implies %.4f), Fleiss "
           "kappa %.6f,\n          percent agreement %.6f (implied %.4f), %s records, %s "
           "responses, %d pairs, %d annotators\n",
           alpha, lo, hi, expect, fleiss, pa, po,
           bench_thousands(b1, sizeof b1, (uint64_t)(records > 0 ? records : 0)),
           bench_thousands(b2, sizeof b2, (uint64_t)(responses > 0 ? responses : 0)), pairs,
           annotators);
    cJSON_Delete(root);
    uint64_t want = a->records * (uint64_t)a->responses;
    /* Sampling noise in alpha shrinks as 1/sqrt(records); 0.012 at 1M records. */
    double tolerance = 0.01 + 2 / sqrt((double)a->records);
    if (records != (double)a->records || responses != (double)want || annotators != a->annotators ||
        !(fabs(alpha - expect) < tolerance)) {
        fprintf(stderr, "bench_agreement_store: the report does not match the input\n");
        return -1;
    }
    return 0;
}

/* True when the files at p and q hold the same bytes. */
static bool s_same_file(const char *p, const char *q)
{
    size_t lp = 0, lq = 0;
    char *a = s_slurp(p, &lp), *b = s_slurp(q, &lq);
    bool same = a && b && lp == lq && memcmp(a, b, lp) == 0;
    free(a);
    free(b);
    return same;
}

/*
 * Walks every key and value of every named table of the LMDB environment in
 * dir in one read transaction, touching each value's bytes, and fills *s
 * (wall and CPU time; no RSS). Stores the entries seen in *entries. Returns 0
 * or -1 after printing why.
 */
static int s_scan(const char *dir, bench_sample_t *s, uint64_t *entries)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *names = NULL;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = bench_now();
    uint64_t count = 0, sum = 0;
    int rc = mdb_env_create(&env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(env, 256);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0640);
    if (rc == MDB_SUCCESS)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    MDB_dbi main_dbi;
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, main_dbi, &names);
    MDB_val name, v;
    /* The main table's keys are the names of the named tables. */
    for (int op = MDB_FIRST; rc == MDB_SUCCESS; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(names, &name, &v, (MDB_cursor_op)op)) != MDB_SUCCESS)
            break;
        char table[512];
        if (name.mv_size >= sizeof table)
            continue;
        memcpy(table, name.mv_data, name.mv_size);
        table[name.mv_size] = '\0';
        MDB_dbi dbi;
        MDB_cursor *cur;
        if ((rc = mdb_dbi_open(txn, table, 0, &dbi)) != MDB_SUCCESS ||
            (rc = mdb_cursor_open(txn, dbi, &cur)) != MDB_SUCCESS)
            break;
        MDB_val key, val;
        int crc;
        for (int cop = MDB_FIRST;
             (crc = mdb_cursor_get(cur, &key, &val, (MDB_cursor_op)cop)) == MDB_SUCCESS;
             cop = MDB_NEXT) {
            const unsigned char *b = val.mv_data;
            for (size_t i = 0; i < val.mv_size; i++)
                sum += b[i];
            count++;
        }
        mdb_cursor_close(cur);
        if (crc != MDB_NOTFOUND)
            rc = crc;
    }
    if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
    if (names)
        mdb_cursor_close(names);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    s->wall = bench_now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    s->cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
             (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
             (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
             (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    s->rss_mib = 0;
    s_sink = sum;
    *entries = count;
    if (rc != MDB_SUCCESS) {
        fprintf(stderr, "bench_agreement_store: raw LMDB walk of %s: %s\n", dir, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- report ------------------------------------------------------------------ */

static void s_print_libraries(void)
{
    printf("libraries: %s, cJSON %s, msgpack-c %s, libsodium %s\n", mdb_version(NULL, NULL, NULL),
           cJSON_Version(), msgpack_version(), sodium_version_string());
}

static void s_print_sample(const char *name, const bench_sample_t *s)
{
    printf("  %-38s %8.3f s wall, %8.3f s CPU", name, s->wall, s->cpu);
    if (s->rss_mib > 0)
        printf(", peak RSS %8.1f MiB", s->rss_mib);
    printf("\n");
}

static void s_print_summary(const bench_args_t *a, bench_sample_t res[M_COUNT][BENCH_RUNS_MAX])
{
    int r = a->runs;
    printf("\nsummary: medians of %d run%s (min .. max)\n", r, r == 1 ? "" : "s");
    printf("  %-38s %10s %18s %10s %10s\n", "", "wall s", "min .. max", "CPU s", "RSS MiB");
    double wall[M_COUNT][BENCH_RUNS_MAX];
    for (int m = 0; m < M_COUNT; m++) {
        double cpu[BENCH_RUNS_MAX], rss[BENCH_RUNS_MAX];
        for (int i = 0; i < r; i++) {
            wall[m][i] = res[m][i].wall;
            cpu[i] = res[m][i].cpu;
            rss[i] = res[m][i].rss_mib;
        }
        printf("  %-38s %10.3f %8.3f .. %7.3f %10.3f", s_metric_names[m], bench_median(wall[m], r),
               bench_min(wall[m], r), bench_max(wall[m], r), bench_median(cpu, r));
        if (bench_median(rss, r) > 0)
            printf(" %10.1f", bench_median(rss, r));
        printf("\n");
    }
    /* Ratios within each run pair measurements taken seconds apart. */
    double dump[BENCH_RUNS_MAX], scan[BENCH_RUNS_MAX], boot[BENCH_RUNS_MAX];
    for (int i = 0; i < r; i++) {
        dump[i] = wall[M_AGREEMENT][i] / wall[M_DUMP][i];
        scan[i] = wall[M_AGREEMENT][i] / wall[M_SCAN][i];
        boot[i] = wall[M_AGREEMENT][i] - wall[M_NO_BOOTSTRAP][i];
    }
    double med = bench_median(wall[M_AGREEMENT], r);
    char b1[32];
    printf("  agreement / dump: %.2fx, agreement / raw LMDB walk: %.1fx (medians of the ratios "
           "within each run)\n",
           bench_median(dump, r), bench_median(scan, r));
    printf("  the bootstrap's 999 extra resamples: %.3f s (median of the differences within each "
           "run)\n",
           bench_median(boot, r));
    printf(
        "  throughput: %s responses/s read and measured\n",
        bench_thousands(b1, sizeof b1, (uint64_t)((double)a->records * a->responses / med + 0.5)));
    /* The target is set for 1M records x 3: at another size, scale it. */
    double target = TARGET_S * ((double)a->records * a->responses) / (TARGET_RECORDS * 3.0);
    printf("  target: the full JSON report of %llu records x %d responses in < %.1f s (%.0f s for "
           "1,000,000 x 3, in proportion): %s (median %.3f s)\n",
           (unsigned long long)a->records, a->responses, target, TARGET_S,
           med < target ? "met" : "NOT met", med);
}

/* ---- main ----------------------------------------------------------------------- */

/* Runs bench_agreement with the sizes of a, its report going to stdout. Returns 0 or -1. */
static int s_run_maths(const bench_args_t *a)
{
    char n[32], an[32], m[32], k[32], r[32];
    snprintf(n, sizeof n, "%llu", (unsigned long long)a->records);
    snprintf(an, sizeof an, "%d", a->annotators);
    snprintf(m, sizeof m, "%d", a->responses);
    snprintf(k, sizeof k, "%d", a->categories);
    snprintf(r, sizeof r, "%d", a->runs);
    char *argv[] = {(char *)JURY_BENCH_AGREEMENT,
                    "--records",
                    n,
                    "--annotators",
                    an,
                    "--responses",
                    m,
                    "--categories",
                    k,
                    "--runs",
                    r,
                    NULL};
    printf("\n== the maths: %s (coordinator/agreement.h on plain arrays) ==\n",
           JURY_BENCH_AGREEMENT);
    bench_sample_t s;
    if (s_run(argv, -2, NULL, &s) != 0)
        return -1;
    printf("(bench_agreement: %.1f s wall in all)\n", s.wall);
    return 0;
}

int main(int argc, char **argv)
{
    bench_args_t a;
    int rc = s_parse_args(argc, argv, &a);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_agreement_store: libsodium failed to initialise\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    char dir[DIR_CAP];
    bool made_dir;
    if ((rc = bench_work_dir("bench_agreement_store", a.dir, "/tmp/jury-bench-XXXXXX", dir,
                             sizeof dir, &made_dir)) != 0)
        return rc;

    /* The dataset stores normalised settings, as `jury dataset create` does. */
    char settings_json[1024], labels[CATEGORIES_MAX * 6 + 1] = "";
    for (int i = 0; i < a.categories; i++)
        snprintf(labels + strlen(labels), sizeof labels - strlen(labels), "%s\"%c\"", i ? "," : "",
                 'a' + i);
    snprintf(settings_json, sizeof settings_json,
             "{\"fields\":[{\"name\":\"text\",\"type\":\"text\"}],"
             "\"questions\":[{\"name\":\"label\",\"type\":\"label_selection\",\"labels\":[%s]}],"
             "\"distribution\":{\"min_submitted\":%d}}",
             labels, a.responses);
    char why[512];
    jury_settings_t *settings = NULL;
    jury_err err =
        jury_settings_parse(&settings, settings_json, strlen(settings_json), why, sizeof why);
    if (err != JURY_OK) {
        fprintf(stderr, "bench_agreement_store: settings: %s\n",
                err == JURY_EINVAL ? why : jury_strerror(err));
        return 1;
    }
    char *normal = jury_settings_to_json(settings, false);
    jury_settings_destroy(&settings);
    static bench_sample_t res[M_COUNT][BENCH_RUNS_MAX];
    char input[PATH_CAP], store[PATH_CAP], log[PATH_CAP], report[BENCH_RUNS_MAX][PATH_CAP];
    snprintf(input, sizeof input, "%s/records.jsonl", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(log, sizeof log, "%s/jury.log", dir);
    char nb_report[PATH_CAP];
    snprintf(nb_report, sizeof nb_report, "%s/report-b1.json", dir);
    for (int i = 0; i < a.runs; i++)
        snprintf(report[i], sizeof report[i], "%s/report-%d.json", dir, i + 1);
    rc = 1;
    if (!normal) {
        fprintf(stderr, "bench_agreement_store: out of memory\n");
        goto done;
    }

    printf("jury agreement benchmark: %llu records x %d responses, %d annotators, %d labels, "
           "%d%% errors, %d run%s, in %s\n",
           (unsigned long long)a.records, a.responses, a.annotators, a.categories, a.error_pct,
           a.runs, a.runs == 1 ? "" : "s", dir);
    bench_print_machine();
    s_print_libraries();
    if (a.maths && s_run_maths(&a) != 0)
        goto done;

    printf("\n== the store: %s agreement (the real command) ==\n", a.jury);
    uint64_t bytes = 0;
    double t0 = bench_now();
    if (s_generate(input, &a, &bytes) != 0)
        goto done;
    char b1[32], b2[32];
    printf("input:     %s, %s bytes, %.1f bytes/record, generated in %.1f s\n", input,
           bench_thousands(b1, sizeof b1, bytes), (double)bytes / (double)a.records,
           bench_now() - t0);
    double import_s;
    if (s_make_store(store, normal, input, &a, &import_s) != 0)
        goto done;
    char data[PATH_CAP + 16];
    snprintf(data, sizeof data, "%s/data.mdb", store);
    uint64_t store_bytes = s_file_size(data);
    printf("store:     %s, imported in %.1f s (%s records/s), data.mdb %s bytes (%.0f "
           "bytes/record)\n",
           store, import_s,
           bench_thousands(b1, sizeof b1, (uint64_t)((double)a.records / import_s + 0.5)),
           bench_thousands(b2, sizeof b2, store_bytes), (double)store_bytes / (double)a.records);
    if (!a.keep)
        unlink(input);

    char *dump_argv[] = {(char *)a.jury, "--store", store, "dump", DATASET, NULL};
    char *nb_argv[] = {(char *)a.jury, "--store", store,     "agreement",   DATASET, "--format",
                       "json",         "--out",   nb_report, "--bootstrap", "1",     NULL};
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0) {
        fprintf(stderr, "bench_agreement_store: /dev/null: %s\n", strerror(errno));
        goto done;
    }
    /* Interleave the measurements so that each run's references see the same machine weather. */
    for (int run = 0; run < a.runs; run++) {
        printf("\nrun %d/%d\n", run + 1, a.runs);
        char *agree_argv[] = {(char *)a.jury, "--store", store,   "agreement", DATASET,
                              "--format",     "json",    "--out", report[run], NULL};
        if (s_run(agree_argv, -1, log, &res[M_AGREEMENT][run]) != 0)
            break;
        s_print_sample(s_metric_names[M_AGREEMENT], &res[M_AGREEMENT][run]);
        if (s_run(nb_argv, -1, log, &res[M_NO_BOOTSTRAP][run]) != 0)
            break;
        s_print_sample(s_metric_names[M_NO_BOOTSTRAP], &res[M_NO_BOOTSTRAP][run]);
        if (s_run(dump_argv, devnull, log, &res[M_DUMP][run]) != 0)
            break;
        s_print_sample(s_metric_names[M_DUMP], &res[M_DUMP][run]);
        uint64_t entries;
        if (s_scan(store, &res[M_SCAN][run], &entries) != 0)
            break;
        s_print_sample(s_metric_names[M_SCAN], &res[M_SCAN][run]);
        if (run == 0)
            printf("  raw LMDB walk: %s entries in all the tables\n",
                   bench_thousands(b2, sizeof b2, entries));
        if (run == 0) {
            printf("  report: %s bytes of JSON\n",
                   bench_thousands(b1, sizeof b1, s_file_size(report[0])));
            if (s_check_report(report[0], &a) != 0)
                break;
        } else if (!s_same_file(report[0], report[run])) {
            fprintf(stderr, "bench_agreement_store: %s differs from %s\n", report[run], report[0]);
            break;
        }
        if (run == a.runs - 1)
            rc = 0;
    }
    close(devnull);
    if (rc == 0) {
        if (a.runs > 1)
            printf("  the %d reports are identical\n", a.runs);
        s_print_summary(&a, res);
    }
done:
    if (!a.keep) {
        unlink(input);
        unlink(log);
        unlink(nb_report);
        for (int i = 0; i < a.runs; i++)
            unlink(report[i]);
        bench_remove_env(store);
        if (made_dir)
            rmdir(dir);
    } else {
        printf("kept: %s\n", dir);
    }
    free(normal);
    return rc;
}
