/* bench_consolidate.c: real `jury consolidate` and `jury export --format sft` on 1M SFT records. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
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

/* The target: consolidating records at this rate or more, in bounded memory. */
#define TARGET_RATE 300000.0
/* Work directory names stay short so that paths inside it fit PATH_CAP. */
#define DIR_CAP  1024
#define PATH_CAP (DIR_CAP + 64)
/* Most responses per record. */
#define RESPONSES_MAX 32
/* The dataset every run reads. */
#define DATASET "sft"
/* The acceptance rule of the settings: agreement on "quality" of at least this. */
#define MIN_AGREEMENT 0.3
/* Most words of one generated text, and the longest rendered text in bytes. */
#define TOKENS_MAX 256
#define TEXT_CAP   4096
/* Decisions per write transaction of `jury consolidate` (S_BATCH_DEFAULT in consolidation.c):
 * the raw puts commit as often. */
#define PUT_BATCH 65536
/* Largest result a child process hands back (Linux pipes buffer 64 KiB). */
#define RESULT_MAX 16384
/* How often the RSS of a running child is sampled from /proc, nanoseconds. */
#define SAMPLE_NS 5000000L

static const char s_usage[] =
    "usage: bench_consolidate [--records N] [--annotators A] [--responses M] [--runs R]\n"
    "                         [--batch B] [--put-bytes P] [--dir DIR] [--keep] [--jury PATH]\n"
    "\n"
    "Builds a store with one dataset \"sft\" shaped like an SFT campaign: N completed\n"
    "records, each with a field \"instruction\" (an English-like prompt of 100 to 200\n"
    "characters), a suggestion for the text question \"response\" (a draft of about 200\n"
    "characters) and M submitted responses from M distinct annotators out of A. Each\n"
    "response returns the draft as it is (5 in 10), with 1 to 3 words replaced (3 in\n"
    "10) or with a sentence appended (2 in 10), and rates \"quality\" 1..5: the\n"
    "record's true value 7 times in 10, else a neighbour of it. The settings\n"
    "consolidate \"response\" by medoid and \"quality\" by mean, and\n"
    "accept a record when its agreement on \"quality\" is at least 0.3. The store is\n"
    "written with the store API (jury_store_record_put, jury_store_response_put) in\n"
    "write transactions of B records.\n"
    "\n"
    "Then runs R times, interleaved, the real\n"
    "  jury --store DIR consolidate sft --json\n"
    "  jury --store DIR export sft --format sft --out FILE\n"
    "each as a child process (wall time, CPU time and peak RSS from wait4; the peak\n"
    "anonymous and file-backed RSS sampled from /proc every 5 ms), and, as the\n"
    "references on the same machine, also in child processes:\n"
    "  a raw LMDB read-only cursor walk over the tables records and responses, touching\n"
    "  every byte of every value (the floor of reading the store), and\n"
    "  N raw LMDB puts of P-byte values with MDB_APPEND into a fresh environment,\n"
    "  committed every 65,536 as `jury consolidate` commits its decisions (the floor of\n"
    "  writing them).\n"
    "Checks every run: the accepted and rejected counts against those the generator\n"
    "implies, the lines exported, the first line's prompt, and that the exports are\n"
    "identical. Prints every run, the medians with min .. max, and the ratios.\n"
    "\n"
    "options:\n"
    "  --records N     records (default 1000000)\n"
    "  --annotators A  annotators in the pool (default 50)\n"
    "  --responses M   submitted responses per record, 2 to 32 (default 3)\n"
    "  --runs R        runs of each measurement, 1 to 99 (default 3)\n"
    "  --batch B       records per write transaction while building (default 100000)\n"
    "  --put-bytes P   value size of the raw puts, 8 to 4096 (default 100)\n"
    "  --dir DIR       work directory (default: a new directory under /tmp)\n"
    "  --keep          keep the store and the last export\n"
    "  --jury PATH     the jury binary (default: $JURY_BIN, else the one built with this)\n";

/* Words of the generated texts. */
static const char *const s_words[] = {
    "account", "address",   "advice",   "answer",     "apply",    "article",  "baking",   "balance",
    "battery", "become",    "before",   "better",     "between",  "bill",     "book",     "budget",
    "build",   "business",  "call",     "camera",     "cancel",   "career",   "change",   "charge",
    "check",   "child",     "choose",   "city",       "class",    "clean",    "client",   "climate",
    "code",    "coffee",    "common",   "company",    "compare",  "computer", "contract", "cost",
    "country", "course",    "create",   "customer",   "daily",    "data",     "delivery", "design",
    "develop", "device",    "diet",     "difference", "direct",   "doctor",   "early",    "easy",
    "energy",  "engine",    "evening",  "example",    "exercise", "explain",  "family",   "feature",
    "file",    "finance",   "first",    "focus",      "follow",   "friend",   "garden",   "general",
    "good",    "great",     "group",    "growth",     "health",   "history",  "home",     "hotel",
    "idea",    "important", "improve",  "include",    "income",   "interest", "internet", "issue",
    "job",     "journey",   "kitchen",  "language",   "large",    "learn",    "letter",   "library",
    "light",   "local",     "machine",  "manage",     "market",   "meeting",  "memory",   "method",
    "model",   "money",     "month",    "morning",    "music",    "network",  "number",   "office",
    "online",  "order",     "package",  "parent",     "payment",  "people",   "person",   "phone",
    "plan",    "plant",     "policy",   "power",      "practice", "price",    "problem",  "process",
    "product", "project",   "quality",  "question",   "quick",    "reason",   "recipe",   "record",
    "refund",  "remote",    "report",   "research",   "result",   "review",   "river",    "safety",
    "school",  "science",   "season",   "second",     "service",  "share",    "simple",   "skill",
    "small",   "software",  "solution", "sport",      "spring",   "story",    "student",  "study",
    "system",  "teacher",   "team",     "test",       "theory",   "ticket",   "time",     "today",
    "travel",  "update",    "user",     "value",      "water",    "weather",  "website",  "week",
    "window",  "winter",    "work",     "world",      "write",    "year",     "the",      "a",
    "of",      "and",       "to",       "in",         "for",      "with",     "on",       "your",
    "this",    "that",      "is",       "can",        "should",   "will",     "more",     "about",
    "when",    "how",       "it",
};

/* How the generated prompts begin. */
static const char *const s_openers[] = {
    "Explain how",     "Write a short note about", "Summarize",        "Describe how",
    "List three ways", "Give advice on",           "What is the best", "Compare",
    "How can I",       "Draft a reply about",      "Why does",         "Suggest a plan for",
};

/* The distribution of a record's true quality: cumulative percentages of ratings 1 .. 5. */
static const unsigned s_quality_cdf[5] = {5, 15, 40, 75, 100};

/* What is measured. */
enum { M_CONSOLIDATE, M_EXPORT, M_WALK, M_PUTS, M_COUNT };

static const char *const s_metric_names[M_COUNT] = {
    "jury consolidate",
    "jury export --format sft",
    "reference: raw LMDB walk",
    "reference: raw LMDB appends",
};

typedef struct {
    uint64_t records; /* --records */
    int annotators;   /* --annotators */
    int responses;    /* --responses */
    int runs;         /* --runs */
    uint64_t batch;   /* --batch */
    int put_bytes;    /* --put-bytes */
    const char *dir;  /* --dir, or NULL */
    bool keep;        /* --keep */
    const char *jury; /* --jury */
} bench_args_t;

/* One run of one measurement, in a child process. */
typedef struct {
    double wall;     /* wall time, seconds */
    double cpu;      /* user + system time of the process, seconds */
    double rss_mib;  /* peak resident set (wait4's ru_maxrss), MiB */
    double anon_mib; /* peak RssAnon sampled from /proc, MiB; 0 when never sampled */
    double file_mib; /* peak RssFile + RssShmem sampled from /proc (the LMDB map), MiB */
} bench_sample_t;

/* What a child walking tables reports back through its pipe. */
typedef struct {
    int rc;           /* MDB_SUCCESS or the LMDB error */
    uint64_t entries; /* key/value pairs seen */
    uint64_t bytes;   /* key and value bytes seen */
    uint64_t sum;     /* sum of the value bytes (so that reading them cannot be skipped) */
} walk_result_t;

/* ---- arguments ----------------------------------------------------------- */

/* Fills *a from the command line. Returns 0, 1 after printing the help, or 2 on bad usage. */
static int s_parse_args(int argc, char **argv, bench_args_t *a)
{
    static const struct option longopts[] = {{"records", required_argument, NULL, 'n'},
                                             {"annotators", required_argument, NULL, 'a'},
                                             {"responses", required_argument, NULL, 'm'},
                                             {"runs", required_argument, NULL, 'r'},
                                             {"batch", required_argument, NULL, 'b'},
                                             {"put-bytes", required_argument, NULL, 'p'},
                                             {"dir", required_argument, NULL, 'd'},
                                             {"keep", no_argument, NULL, 'K'},
                                             {"jury", required_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const char prog[] = "bench_consolidate";
    const char *env = getenv("JURY_BIN");
    *a = (bench_args_t){.records = 1000000,
                        .annotators = 50,
                        .responses = 3,
                        .runs = 3,
                        .batch = 100000,
                        .put_bytes = 100,
                        .jury = env && *env ? env : JURY_BENCH_JURY};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (bench_int_arg(prog, "records", optarg, 1, 99999999, &v) != 0)
                return 2;
            a->records = (uint64_t)v;
            break;
        case 'a':
            if (bench_int_arg(prog, "annotators", optarg, 2, 9999, &v) != 0)
                return 2;
            a->annotators = (int)v;
            break;
        case 'm':
            if (bench_int_arg(prog, "responses", optarg, 2, RESPONSES_MAX, &v) != 0)
                return 2;
            a->responses = (int)v;
            break;
        case 'r':
            if (bench_int_arg(prog, "runs", optarg, 1, BENCH_RUNS_MAX, &v) != 0)
                return 2;
            a->runs = (int)v;
            break;
        case 'b':
            if (bench_int_arg(prog, "batch", optarg, 1, 99999999, &v) != 0)
                return 2;
            a->batch = (uint64_t)v;
            break;
        case 'p':
            if (bench_int_arg(prog, "put-bytes", optarg, 8, 4096, &v) != 0)
                return 2;
            a->put_bytes = (int)v;
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
        fprintf(stderr, "%s: --responses %d needs at least as many --annotators (%d)\n", prog,
                a->responses, a->annotators);
        return 2;
    }
    return 0;
}

/* ---- processes ----------------------------------------------------------- */

/* The number of kB of "key: N kB" in /proc/PID/status, or -1 when absent (the process is gone). */
static long s_status_kb(pid_t pid, const char *key)
{
    char path[64], value[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    bench_proc_value(path, key, value, sizeof value);
    char *end;
    long kb = strtol(value, &end, 10);
    return end == value ? -1 : kb;
}

/*
 * Waits for child pid, started at t0 (bench_now), sampling its anonymous and
 * file-backed RSS every SAMPLE_NS meanwhile, and fills *s. Returns its wait
 * status, or -1 after printing why wait4 failed.
 */
static int s_wait(pid_t pid, double t0, bench_sample_t *s)
{
    int st;
    struct rusage ru;
    long anon = 0, file = 0;
    for (;;) {
        pid_t w = wait4(pid, &st, WNOHANG, &ru);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            fprintf(stderr, "bench_consolidate: wait4: %s\n", strerror(errno));
            return -1;
        }
        long a = s_status_kb(pid, "RssAnon"), f = s_status_kb(pid, "RssFile"),
             sh = s_status_kb(pid, "RssShmem");
        if (a > anon)
            anon = a;
        if (f >= 0 && f + (sh > 0 ? sh : 0) > file)
            file = f + (sh > 0 ? sh : 0);
        struct timespec ts = {0, SAMPLE_NS};
        nanosleep(&ts, NULL);
    }
    s->wall = bench_now() - t0;
    s->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    s->rss_mib = (double)ru.ru_maxrss / 1024.0;
    s->anon_mib = (double)anon / 1024.0;
    s->file_mib = (double)file / 1024.0;
    return st;
}

/*
 * Runs argv (argv[0] a path) to completion with stdin from /dev/null, stdout
 * to the file out (NULL: /dev/null) and stderr to the file errf, both
 * truncated first. Fills *s. Returns 0 when it exits 0, else -1 after
 * printing why and its standard error.
 */
static int s_run(char *const argv[], const char *out, const char *errf, bench_sample_t *s)
{
    int ofd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    int efd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (ofd < 0 || efd < 0) {
        fprintf(stderr, "bench_consolidate: %s: %s\n", ofd < 0 ? (out ? out : "/dev/null") : errf,
                strerror(errno));
        if (ofd >= 0)
            close(ofd);
        if (efd >= 0)
            close(efd);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        int nfd = open("/dev/null", O_RDONLY);
        dup2(nfd, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(ofd);
    close(efd);
    if (pid < 0) {
        fprintf(stderr, "bench_consolidate: fork: %s\n", strerror(errno));
        return -1;
    }
    int st = s_wait(pid, t0, s);
    if (st == -1)
        return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_consolidate: %s %s %s failed (%s %d); its standard error (%s):\n",
                argv[0], argv[3] ? argv[3] : "", argv[4] ? argv[4] : "",
                WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                errf);
        bench_print_log(errf);
        return -1;
    }
    return 0;
}

/*
 * Runs fn(arg, res) in a child process (so that its time and peak RSS are its
 * own, measured as those of the jury runs, and this process stays small),
 * the len bytes at res (at most RESULT_MAX) coming back through a pipe. Fills *s and res. Returns
 * 0, or -1 after printing why when the child fails or its result is missing.
 */
static int s_run_fn(const char *what, void (*fn)(const void *arg, void *res), const void *arg,
                    void *res, size_t len, bench_sample_t *s)
{
    int p[2];
    if (len > RESULT_MAX) {
        fprintf(stderr, "bench_consolidate: %s: result too large for the pipe\n", what);
        return -1;
    }
    if (pipe(p) != 0) {
        fprintf(stderr, "bench_consolidate: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        fn(arg, res);
        const char *b = res;
        size_t done = 0;
        while (done < len) {
            ssize_t n = write(p[1], b + done, len - done);
            if (n <= 0 && errno != EINTR)
                _exit(1);
            done += n > 0 ? (size_t)n : 0;
        }
        _exit(0);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        fprintf(stderr, "bench_consolidate: fork: %s\n", strerror(errno));
        return -1;
    }
    /* The result fits the pipe's buffer (len <= RESULT_MAX), so the child never waits for a reader
     * and this process samples its RSS until it exits. */
    int st = s_wait(pid, t0, s);
    char *b = res;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(p[0], b + got, len - got);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
        got += n > 0 ? (size_t)n : 0;
    }
    close(p[0]);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || got != len) {
        fprintf(stderr, "bench_consolidate: %s: the child process failed\n", what);
        return -1;
    }
    return 0;
}

/* Runs the walk or the puts fn in a child process; -1 after printing why when it fails. */
static int s_run_ref(const char *what, void (*fn)(const void *arg, void *res), const void *arg,
                     bench_sample_t *s, walk_result_t *res)
{
    *res = (walk_result_t){0};
    if (s_run_fn(what, fn, arg, res, sizeof *res, s) != 0)
        return -1;
    if (res->rc != MDB_SUCCESS) {
        fprintf(stderr, "bench_consolidate: %s: %s\n", what, mdb_strerror(res->rc));
        return -1;
    }
    return 0;
}

/* ---- the references ------------------------------------------------------- */

/* What s_walk reads: the store directory and the tables, NULL-terminated. */
typedef struct {
    const char *dir;           /* the store directory */
    const char *const *tables; /* names of the tables to walk, NULL-terminated */
} walk_arg_t;

/*
 * Child body: walks every key and value of the named tables of the LMDB
 * environment in arg->dir in one read-only transaction, adding up every byte
 * of every value.
 */
static void s_walk(const void *arg, void *out)
{
    const walk_arg_t *w = arg;
    walk_result_t *res = out;
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(env, 64);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(env, w->dir, MDB_RDONLY | MDB_NOTLS, 0640);
    if (rc == MDB_SUCCESS)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    uint64_t sum = 0;
    for (size_t t = 0; rc == MDB_SUCCESS && w->tables[t]; t++) {
        MDB_dbi dbi;
        MDB_cursor *cur;
        if ((rc = mdb_dbi_open(txn, w->tables[t], 0, &dbi)) != MDB_SUCCESS ||
            (rc = mdb_cursor_open(txn, dbi, &cur)) != MDB_SUCCESS)
            break;
        MDB_val key, val;
        for (MDB_cursor_op op = MDB_FIRST;
             (rc = mdb_cursor_get(cur, &key, &val, op)) == MDB_SUCCESS; op = MDB_NEXT) {
            const unsigned char *b = val.mv_data;
            for (size_t i = 0; i < val.mv_size; i++)
                sum += b[i];
            res->entries++;
            res->bytes += key.mv_size + val.mv_size;
        }
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND)
            rc = MDB_SUCCESS;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    res->sum = sum;
    res->rc = rc;
}

/* What s_puts writes: the environment directory, how many values and their size. */
typedef struct {
    const char *dir; /* the environment directory (made afresh) */
    uint64_t count;  /* puts */
    int bytes;       /* bytes of each value */
} puts_arg_t;

/*
 * Child body: count puts of `bytes`-byte values under increasing 8-byte keys
 * (record ids of dataset 1) with MDB_APPEND into a fresh environment, as
 * jury's store sets it up, committed every PUT_BATCH and at the end.
 */
static void s_puts(const void *arg, void *out)
{
    const puts_arg_t *p = arg;
    walk_result_t *res = out;
    MDB_env *env;
    MDB_dbi dbi;
    size_t mapsize = (size_t)p->count * ((size_t)p->bytes + 64) * 2 + ((size_t)64 << 20);
    if (bench_lmdb_fresh("bench_consolidate", "raw appends", p->dir, mapsize, "decisions", &env,
                         &dbi) != 0) {
        res->rc = EIO;
        return;
    }
    unsigned char value[4096], key[8];
    bench_rng_t rng = {0x9E3779B97F4A7C15ULL};
    for (int i = 0; i < p->bytes; i++)
        value[i] = (unsigned char)bench_rand(&rng);
    MDB_txn *txn = NULL;
    int rc = MDB_SUCCESS;
    for (uint64_t i = 0; i < p->count && rc == MDB_SUCCESS; i++) {
        if (!txn && (rc = mdb_txn_begin(env, NULL, 0, &txn)) != MDB_SUCCESS)
            break;
        bench_be(key, (1ULL << 40) | (i + 1), 8);
        /* Vary the value a little, as decisions differ. */
        bench_be(value, i, 8);
        MDB_val k = {8, key}, v = {(size_t)p->bytes, value};
        rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
        res->entries++;
        res->bytes += 8 + (uint64_t)p->bytes;
        if (rc == MDB_SUCCESS && (i + 1) % PUT_BATCH == 0) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
        }
    }
    if (rc == MDB_SUCCESS && txn) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    res->rc = rc;
}

/* ---- the text ----------------------------------------------------------------- */

/* One word of a generated text. */
typedef struct {
    uint16_t word; /* index into s_words */
    uint8_t cap;   /* starts a sentence: capitalised */
    uint8_t end;   /* ends a sentence: a full stop follows */
} tok_t;

/* A text as words, and its rendered length. */
typedef struct {
    tok_t t[TOKENS_MAX];
    size_t n;   /* words */
    size_t len; /* bytes when rendered */
} toks_t;

static size_t s_word_len[BENCH_COUNT(s_words)];

/* Appends a sentence of 5 to 14 words to x (as many as fit). */
static void s_sentence(toks_t *x, bench_rng_t *rng)
{
    uint32_t words = 5 + bench_below(rng, 10);
    for (uint32_t w = 0; w < words && x->n < TOKENS_MAX; w++) {
        tok_t *t = &x->t[x->n++];
        t->word = (uint16_t)bench_below(rng, (uint32_t)BENCH_COUNT(s_words));
        t->cap = w == 0;
        t->end = w + 1 == words || x->n == TOKENS_MAX;
        x->len += (x->n > 1) + s_word_len[t->word] + t->end;
    }
}

/* Renders x into out (TEXT_CAP bytes), NUL-terminated; returns its length. */
static size_t s_render(const toks_t *x, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < x->n && n + 32 < TEXT_CAP; i++) {
        const tok_t *t = &x->t[i];
        if (i)
            out[n++] = ' ';
        size_t l = s_word_len[t->word];
        memcpy(out + n, s_words[t->word], l);
        if (t->cap)
            out[n] = (char)(out[n] - 'a' + 'A');
        n += l;
        if (t->end)
            out[n++] = '.';
    }
    out[n] = '\0';
    return n;
}

/* Writes a prompt of 100 to 200 characters into out (TEXT_CAP bytes); returns its length. */
static size_t s_instruction(bench_rng_t *rng, char *out)
{
    size_t target = 100 + bench_below(rng, 101);
    int n = snprintf(out, TEXT_CAP, "%s", s_openers[bench_below(rng, BENCH_COUNT(s_openers))]);
    size_t len = (size_t)n;
    for (;;) {
        const char *w = s_words[bench_below(rng, (uint32_t)BENCH_COUNT(s_words))];
        size_t l = strlen(w);
        if (len + 1 + l + 1 > target && len >= 100)
            break;
        out[len++] = ' ';
        memcpy(out + len, w, l);
        len += l;
    }
    out[len++] = bench_below(rng, 2) ? '?' : '.';
    out[len] = '\0';
    return len;
}

/*
 * One annotator's answer to the draft: the draft itself half of the time,
 * else the draft with 1 to 3 words replaced (3 in 10) or with a sentence
 * appended (2 in 10).
 */
static void s_edit(const toks_t *draft, bench_rng_t *rng, toks_t *out)
{
    *out = *draft;
    uint32_t u = bench_below(rng, 10);
    if (u < 5)
        return;
    if (u < 8) {
        uint32_t k = 1 + bench_below(rng, 3);
        for (uint32_t i = 0; i < k; i++) {
            tok_t *t = &out->t[bench_below(rng, (uint32_t)out->n)];
            uint16_t w = (uint16_t)bench_below(rng, (uint32_t)BENCH_COUNT(s_words));
            out->len = out->len - s_word_len[t->word] + s_word_len[w];
            t->word = w;
        }
        return;
    }
    s_sentence(out, rng);
}

/* ---- the store -------------------------------------------------------------------- */

/* The state of building the store: one write transaction of records first .. first+count-1. */
typedef struct {
    const bench_args_t *a;           /* sizes */
    const jury_settings_t *settings; /* the dataset's settings */
    uint32_t ds;                     /* the dataset's id */
    uint32_t *annot;                 /* annotator ids by pool index */
    uint64_t first, count;           /* the records of this transaction (0-based) */
    bench_rng_t rng0;                /* the generator at the start of this transaction */
    bench_rng_t rng;                 /* the generator after it */
    int64_t now_ms;                  /* the responses' time */
    msgpack_sbuffer payload;         /* a record's payload */
    msgpack_sbuffer values;          /* a response's values */
    uint64_t rejected;               /* records of this transaction the acceptance rule rejects */
    uint64_t text_bytes;             /* bytes of the instruction, the draft and the answers */
    uint64_t first_accepted;         /* the first record the rule accepts; UINT64_MAX before it */
    char first_prompt[TEXT_CAP];     /* its instruction: the first line of the export */
} build_t;

static jury_err s_create_body(jury_txn_t *txn, void *arg)
{
    const char *settings = arg;
    return jury_store_dataset_create(txn, DATASET, settings, strlen(settings), NULL);
}

static jury_err s_annotators_body(jury_txn_t *txn, void *arg)
{
    build_t *b = arg;
    for (int i = 0; i < b->a->annotators; i++) {
        char name[32];
        snprintf(name, sizeof name, "annotator-%02d", i + 1);
        jury_err err = jury_store_annotator_ensure(txn, name, &b->annot[i], NULL);
        if (err != JURY_OK)
            return err;
    }
    return JURY_OK;
}

/* Puts one record and its responses; restartable as a whole transaction (see s_build_body). */
static jury_err s_build_record(build_t *b, jury_txn_t *txn, uint64_t i, bench_rng_t *rng)
{
    const bench_args_t *a = b->a;
    char ext[32], prompt[TEXT_CAP], text[TEXT_CAP];
    int ext_len = snprintf(ext, sizeof ext, "sft-%07llu", (unsigned long long)i + 1);
    size_t plen = s_instruction(rng, prompt);
    toks_t draft = {.n = 0}, answer;
    size_t want = 180 + bench_below(rng, 41);
    while (draft.len < want && draft.n < TOKENS_MAX - 16)
        s_sentence(&draft, rng);
    size_t dlen = s_render(&draft, text);
    b->text_bytes += plen + dlen;

    /* The payload is what `jury import` stores for the same JSON line. */
    cJSON *rec = cJSON_CreateObject(), *fields = cJSON_AddObjectToObject(rec, "fields");
    cJSON *sugg = cJSON_AddObjectToObject(rec, "suggestions");
    cJSON *resp = cJSON_AddObjectToObject(sugg, "response");
    cJSON_AddStringToObject(rec, "id", ext);
    cJSON_AddStringToObject(fields, "instruction", prompt);
    cJSON_AddStringToObject(resp, "value", text);
    cJSON_AddStringToObject(resp, "agent", "draft-model-v1");
    jury_err err = JURY_ENOMEM;
    if (fields && sugg && resp) {
        msgpack_sbuffer_clear(&b->payload);
        err = jury_import_encode_record(&b->payload, rec, ext, (size_t)ext_len);
    }
    /* Check a sample of the records as `jury import` checks every one. */
    char why[256];
    if (err == JURY_OK && i % 100000 == 0 &&
        jury_settings_check_record(b->settings, rec, why, sizeof why) != JURY_OK) {
        fprintf(stderr, "bench_consolidate: record %s: %s\n", ext, why);
        err = JURY_EINVAL;
    }
    cJSON_Delete(rec);
    if (err != JURY_OK)
        return err;
    uint32_t target = jury_settings_record_target(b->settings, ext, (size_t)ext_len);
    uint64_t rid;
    if ((err = jury_store_record_put(txn, b->ds, ext, (size_t)ext_len, b->payload.data,
                                     b->payload.size, target, &rid, NULL)) != JURY_OK)
        return err;

    /* M distinct annotators, in id order; a true quality and ratings near it. */
    uint32_t who[RESPONSES_MAX];
    for (int m = 0; m < a->responses; m++) {
        bool dup;
        do {
            who[m] = bench_below(rng, (uint32_t)a->annotators);
            dup = false;
            for (int j = 0; j < m; j++)
                dup |= who[j] == who[m];
        } while (dup);
    }
    for (int m = 1; m < a->responses; m++)
        for (int j = m; j > 0 && who[j - 1] > who[j]; j--) {
            uint32_t t = who[j];
            who[j] = who[j - 1];
            who[j - 1] = t;
        }
    unsigned u = bench_below(rng, 100), truth = 1;
    while (u >= s_quality_cdf[truth - 1])
        truth++;
    int rating[RESPONSES_MAX];
    for (int m = 0; m < a->responses; m++) {
        s_edit(&draft, rng, &answer);
        size_t alen = s_render(&answer, text);
        b->text_bytes += alen;
        int r = (int)truth;
        /* 7 in 10 give the true value, the others a neighbour. */
        if (bench_below(rng, 10) >= 7)
            r += (r == 1 || (r < 5 && bench_below(rng, 2))) ? 1 : -1;
        rating[m] = r;
        msgpack_sbuffer_clear(&b->values);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b->values, msgpack_sbuffer_write);
        int rc = msgpack_pack_map(&pk, 2);
        rc = rc ? rc : msgpack_pack_str_with_body(&pk, "response", 8);
        rc = rc ? rc : msgpack_pack_str_with_body(&pk, text, alen);
        rc = rc ? rc : msgpack_pack_str_with_body(&pk, "quality", 7);
        rc = rc ? rc : msgpack_pack_int(&pk, r);
        if (rc)
            return JURY_ENOMEM;
        if ((err = jury_store_response_put(txn, rid, b->annot[who[m]], JURY_RESPONSE_SUBMITTED,
                                           b->values.data, b->values.size, b->now_ms, 0, NULL)) !=
            JURY_OK)
            return err;
    }
    /* The rule rejects the record when the share of equal pairs of ratings is below it. */
    unsigned equal = 0, pairs = 0;
    for (int x = 0; x < a->responses; x++)
        for (int y = x + 1; y < a->responses; y++) {
            equal += rating[x] == rating[y];
            pairs++;
        }
    if ((double)equal / (double)pairs < MIN_AGREEMENT - 1e-9) {
        b->rejected++;
    } else if (b->first_accepted == UINT64_MAX) {
        b->first_accepted = i;
        memcpy(b->first_prompt, prompt, plen + 1);
    }
    return JURY_OK;
}

/* One write transaction of records; restartable: it starts from the generator state rng0. */
static jury_err s_build_body(jury_txn_t *txn, void *arg)
{
    build_t *b = arg;
    bench_rng_t rng = b->rng0;
    b->rejected = 0;
    b->text_bytes = 0;
    if (b->first_accepted != UINT64_MAX && b->first_accepted >= b->first)
        b->first_accepted = UINT64_MAX; /* a restart of the transaction that found it */
    for (uint64_t i = b->first; i < b->first + b->count; i++) {
        jury_err err = s_build_record(b, txn, i, &rng);
        if (err != JURY_OK)
            return err;
    }
    b->rng = rng;
    return JURY_OK;
}

/* The store's outcome, handed back by the child process that builds it: what the checks of the
 * runs need. */
typedef struct {
    int ok;                      /* the store was built */
    double secs;                 /* the build's wall time in the child */
    uint64_t rejected;           /* records the acceptance rule rejects */
    uint64_t text_bytes;         /* bytes of all the texts */
    char first_prompt[TEXT_CAP]; /* the instruction of the first record the rule accepts */
} built_t;

/*
 * Makes the store in dir: dataset DATASET with settings (normalised JSON) and
 * a->records records with their responses. Stores its wall time in *secs.
 * Returns 0 or -1 after printing why.
 */
static int s_make_store(const char *dir, const char *settings_json, const jury_settings_t *settings,
                        const bench_args_t *a, double *secs, built_t *out)
{
    bench_remove_env(dir);
    double t0 = bench_now();
    jury_store_t *store = NULL;
    jury_store_opts_t opts = {.create = true};
    jury_err err = jury_store_open(&store, dir, &opts);
    if (err != JURY_OK) {
        fprintf(stderr, "bench_consolidate: %s: %s\n", dir, jury_strerror(err));
        return -1;
    }
    uint32_t *annot = calloc((size_t)a->annotators, sizeof *annot);
    build_t *b = calloc(1, sizeof *b);
    if (!annot || !b) {
        free(annot);
        free(b);
        jury_store_destroy(&store);
        fprintf(stderr, "bench_consolidate: out of memory\n");
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *b = (build_t){.a = a,
                   .settings = settings,
                   .annot = annot,
                   .rng = {0x2545F4914F6CDD1DULL},
                   .first_accepted = UINT64_MAX,
                   .now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
    msgpack_sbuffer_init(&b->payload);
    msgpack_sbuffer_init(&b->values);
    jury_txn_t *txn = NULL;
    jury_dataset_t ds;
    const char *step = "reserve";
    /* About 1.5 KB a record with 3 responses: reserve the map once, not on the way. */
    size_t room = (size_t)a->records * (600 + 400 * (size_t)a->responses) + ((size_t)64 << 20);
    if ((err = jury_store_reserve(store, room)) != JURY_OK)
        goto fail;
    step = "dataset create";
    if ((err = jury_store_write(store, s_create_body, (void *)settings_json)) != JURY_OK)
        goto fail;
    step = "dataset get";
    if ((err = jury_store_read(store, &txn)) != JURY_OK ||
        (err = jury_store_dataset_get(txn, DATASET, &ds)) != JURY_OK)
        goto fail;
    b->ds = ds.id;
    jury_txn_abort(&txn);
    step = "annotators";
    if ((err = jury_store_write(store, s_annotators_body, b)) != JURY_OK)
        goto fail;
    step = "records";
    out->rejected = out->text_bytes = 0;
    for (uint64_t first = 0; first < a->records; first += a->batch) {
        b->first = first;
        b->count = a->records - first < a->batch ? a->records - first : a->batch;
        b->rng0 = b->rng;
        if ((err = jury_store_write(store, s_build_body, b)) != JURY_OK)
            goto fail;
        out->rejected += b->rejected;
        out->text_bytes += b->text_bytes;
    }
    memcpy(out->first_prompt, b->first_prompt, sizeof out->first_prompt);
    jury_counts_t counts;
    step = "counts";
    if ((err = jury_store_read(store, &txn)) != JURY_OK ||
        (err = jury_store_dataset_counts(txn, b->ds, &counts)) != JURY_OK)
        goto fail;
    jury_txn_abort(&txn);
    if (counts.records != a->records || counts.completed != a->records ||
        counts.responses[JURY_RESPONSE_SUBMITTED] != a->records * (uint64_t)a->responses) {
        fprintf(stderr,
                "bench_consolidate: the store holds %llu records, %llu completed, %llu "
                "responses\n",
                (unsigned long long)counts.records, (unsigned long long)counts.completed,
                (unsigned long long)counts.responses[JURY_RESPONSE_SUBMITTED]);
        err = JURY_EINTERNAL;
        goto fail;
    }
    *secs = bench_now() - t0;
    if (b->first_accepted == UINT64_MAX) {
        fprintf(stderr, "bench_consolidate: the rule rejects every record: nothing to export\n");
        err = JURY_EINVAL;
    }
fail:
    if (err != JURY_OK)
        fprintf(stderr, "bench_consolidate: %s: %s: %s\n", dir, step, jury_strerror(err));
    jury_txn_abort(&txn);
    jury_store_destroy(&store);
    msgpack_sbuffer_destroy(&b->payload);
    msgpack_sbuffer_destroy(&b->values);
    free(b);
    free(annot);
    return err == JURY_OK ? 0 : -1;
}

/* What the child process that builds the store needs. */
typedef struct {
    const char *dir;                 /* the store directory */
    const char *settings_json;       /* normalised settings */
    const jury_settings_t *settings; /* the same, parsed */
    const bench_args_t *a;           /* sizes */
} make_arg_t;

/* Child body: builds the store (its allocations and map pages stay out of this process). */
static void s_make_child(const void *arg, void *res)
{
    const make_arg_t *m = arg;
    built_t *out = res;
    out->ok = s_make_store(m->dir, m->settings_json, m->settings, m->a, &out->secs, out) == 0;
}

/* ---- checks -------------------------------------------------------------------------- */

/* Size of the file at path in bytes, 0 when it cannot be read. */
static uint64_t s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Reads the whole file at path into a NUL-terminated heap string, or NULL. */
static char *s_slurp(const char *path)
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
            } else {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(f);
    return text;
}

/* The number at key of obj, or -1 when it is missing. */
static double s_num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Checks the summary `jury consolidate --json` printed to path. Returns 0 or -1 after printing
 * why; *accepted gets the accepted count. */
static int s_check_consolidate(const char *path, const bench_args_t *a, const built_t *bt,
                               bool print, uint64_t *accepted)
{
    char *text = s_slurp(path);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    double records = s_num(o, "records"), acc = s_num(o, "accepted"), rej = s_num(o, "rejected"),
           pend = s_num(o, "pending");
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(o, "rejections");
    const cJSON *first = cJSON_GetArrayItem(reasons, 0);
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "reason"));
    char b1[32], b2[32], b3[32];
    if (print)
        printf("  consolidate: %s accepted, %s rejected (%s), %.0f pending\n",
               bench_thousands(b1, sizeof b1, (uint64_t)(acc > 0 ? acc : 0)),
               bench_thousands(b2, sizeof b2, (uint64_t)(rej > 0 ? rej : 0)),
               reason ? reason : "no reason", pend);
    cJSON_Delete(o);
    uint64_t want_rej = bt->rejected, want_acc = a->records - bt->rejected;
    if (records != (double)a->records || acc != (double)want_acc || rej != (double)want_rej ||
        pend != 0) {
        fprintf(stderr,
                "bench_consolidate: %s: expected %s accepted and %s rejected of %s records, "
                "0 pending\n",
                path, bench_thousands(b1, sizeof b1, want_acc),
                bench_thousands(b2, sizeof b2, want_rej),
                bench_thousands(b3, sizeof b3, a->records));
        return -1;
    }
    *accepted = want_acc;
    return 0;
}

/* FNV-1a 64 of the file at path; 0 when it cannot be read. */
static uint64_t s_file_hash(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static unsigned char buf[1 << 20];
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 0x100000001b3ULL;
    fclose(f);
    return h;
}

/*
 * Checks an export: its message on standard error (errf) counts `accepted`
 * lines, the file at out has as many, and its first line's prompt is record
 * 0's instruction. Returns 0 or -1 after printing why.
 */
static int s_check_export(const char *out, const char *errf, uint64_t accepted, const built_t *bt)
{
    char *msg = s_slurp(errf);
    const char *at = msg ? strstr(msg, "exported ") : NULL;
    unsigned long long lines = 0;
    if (!at || sscanf(at, "exported %llu lines", &lines) != 1 || lines != accepted) {
        fprintf(stderr, "bench_consolidate: export: expected %llu lines; it said: %s\n",
                (unsigned long long)accepted, msg ? msg : "(nothing)");
        free(msg);
        return -1;
    }
    free(msg);
    FILE *f = fopen(out, "rb");
    static char line[4 * TEXT_CAP];
    uint64_t n = 0;
    bool first_ok = false;
    while (f && fgets(line, sizeof line, f)) {
        if (n++ == 0) {
            cJSON *o = cJSON_Parse(line);
            const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "prompt"));
            const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "completion"));
            first_ok = p && c && strcmp(p, bt->first_prompt) == 0 && strlen(c) >= 100;
            cJSON_Delete(o);
        }
    }
    if (f)
        fclose(f);
    if (n != accepted || !first_ok) {
        fprintf(stderr,
                "bench_consolidate: %s: %llu lines (expected %llu); the first line %s the prompt "
                "of the first record\n",
                out, (unsigned long long)n, (unsigned long long)accepted,
                first_ok ? "has" : "does not have");
        return -1;
    }
    return 0;
}

/* ---- report ---------------------------------------------------------------------------- */

static void s_print_libraries(void)
{
    printf("libraries: %s, cJSON %s, msgpack-c %s, libsodium %s\n", mdb_version(NULL, NULL, NULL),
           cJSON_Version(), msgpack_version(), sodium_version_string());
}

/* Prints one run of measurement m over n items (records, or puts). */
static void s_print_sample(int m, const bench_sample_t *s, uint64_t n)
{
    char b1[32];
    printf("  %-28s %7.3f s wall, %7.3f s CPU, %10s /s, peak RSS %7.1f MiB (anon %6.1f, map "
           "%7.1f)\n",
           s_metric_names[m], s->wall, s->cpu,
           bench_thousands(b1, sizeof b1, (uint64_t)((double)n / s->wall + 0.5)), s->rss_mib,
           s->anon_mib, s->file_mib);
}

/* The per-run rates n / wall of measurement m, into rate. */
static void s_rates(bench_sample_t res[M_COUNT][BENCH_RUNS_MAX], int m, int runs, uint64_t n,
                    double *rate)
{
    for (int i = 0; i < runs; i++)
        rate[i] = (double)n / res[m][i].wall;
}

static void s_print_summary(const bench_args_t *a, bench_sample_t res[M_COUNT][BENCH_RUNS_MAX],
                            uint64_t walk_bytes)
{
    int r = a->runs;
    uint64_t n = a->records;
    char b1[32], b2[32], b3[32];
    printf("\nsummary: medians of %d run%s (min .. max); rates are records (or puts) per second "
           "of wall time\n",
           r, r == 1 ? "" : "s");
    printf("  %-34s %11s %25s %8s %8s %9s %8s\n", "", "rate /s", "min .. max", "wall s", "CPU s",
           "RSS MiB", "anon MiB");
    static const char *const labels[M_COUNT] = {
        "jury consolidate",
        "jury export --format sft",
        "ref: raw walk records+responses",
        "ref: raw MDB_APPEND puts",
    };
    double rate[M_COUNT][BENCH_RUNS_MAX];
    for (int m = 0; m < M_COUNT; m++) {
        double wall[BENCH_RUNS_MAX], cpu[BENCH_RUNS_MAX], rss[BENCH_RUNS_MAX], anon[BENCH_RUNS_MAX];
        s_rates(res, m, r, n, rate[m]);
        for (int i = 0; i < r; i++) {
            wall[i] = res[m][i].wall;
            cpu[i] = res[m][i].cpu;
            rss[i] = res[m][i].rss_mib;
            anon[i] = res[m][i].anon_mib;
        }
        printf("  %-34s %11s %12s .. %10s %8.3f %8.3f %9.1f %8.1f\n", labels[m],
               bench_thousands(b1, sizeof b1, (uint64_t)(bench_median(rate[m], r) + 0.5)),
               bench_thousands(b2, sizeof b2, (uint64_t)(bench_min(rate[m], r) + 0.5)),
               bench_thousands(b3, sizeof b3, (uint64_t)(bench_max(rate[m], r) + 0.5)),
               bench_median(wall, r), bench_median(cpu, r), bench_median(rss, r),
               bench_median(anon, r));
    }
    /* Consolidate then export, as a campaign's end runs them: records over the sum of the walls. */
    double both[BENCH_RUNS_MAX], rw[BENCH_RUNS_MAX], rp[BENCH_RUNS_MAX], ew[BENCH_RUNS_MAX];
    for (int i = 0; i < r; i++) {
        both[i] = (double)n / (res[M_CONSOLIDATE][i].wall + res[M_EXPORT][i].wall);
        /* Ratios within each run pair measurements taken seconds apart. */
        rw[i] = rate[M_CONSOLIDATE][i] / rate[M_WALK][i];
        rp[i] = rate[M_CONSOLIDATE][i] / rate[M_PUTS][i];
        ew[i] = rate[M_EXPORT][i] / rate[M_WALK][i];
    }
    printf("  %-34s %11s %12s .. %10s\n", "consolidate then export",
           bench_thousands(b1, sizeof b1, (uint64_t)(bench_median(both, r) + 0.5)),
           bench_thousands(b2, sizeof b2, (uint64_t)(bench_min(both, r) + 0.5)),
           bench_thousands(b3, sizeof b3, (uint64_t)(bench_max(both, r) + 0.5)));
    double walk_wall[BENCH_RUNS_MAX];
    for (int i = 0; i < r; i++)
        walk_wall[i] = res[M_WALK][i].wall;
    printf("\n  the raw walk reads %.1f MB (%.0f MB/s)\n", (double)walk_bytes / 1e6,
           (double)walk_bytes / 1e6 / bench_median(walk_wall, r));
    printf("  consolidate / raw walk:    %.3fx (one walk, then the records a tie sent back)\n",
           bench_median(rw, r));
    printf("  consolidate / raw appends: %.3fx\n", bench_median(rp, r));
    printf("  export / raw walk:         %.3fx (medians of the ratios within each run)\n",
           bench_median(ew, r));
    double med = bench_median(rate[M_CONSOLIDATE], r), bmed = bench_median(both, r);
    printf("  target: jury consolidate at %s records/s or more: %s (median %s records/s); "
           "consolidate + export: %s\n",
           bench_thousands(b1, sizeof b1, (uint64_t)TARGET_RATE),
           med >= TARGET_RATE ? "met" : "NOT met",
           bench_thousands(b2, sizeof b2, (uint64_t)(med + 0.5)),
           bmed >= TARGET_RATE ? "met too" : "below it");
}

/* ---- main -------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    bench_args_t a;
    int rc = s_parse_args(argc, argv, &a);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_consolidate: libsodium failed to initialise\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < BENCH_COUNT(s_words); i++)
        s_word_len[i] = strlen(s_words[i]);

    char dir[DIR_CAP];
    bool made_dir;
    if ((rc = bench_work_dir("bench_consolidate", a.dir, "/tmp/jury-bench-XXXXXX", dir, sizeof dir,
                             &made_dir)) != 0)
        return rc;

    /* The dataset stores normalised settings, as `jury dataset create` does. */
    char settings_json[1024];
    snprintf(settings_json, sizeof settings_json,
             "{\"fields\":[{\"name\":\"instruction\",\"type\":\"text\"}],"
             "\"questions\":[{\"name\":\"response\",\"type\":\"text\"},"
             "{\"name\":\"quality\",\"type\":\"rating\",\"values\":[1,2,3,4,5]}],"
             "\"distribution\":{\"min_submitted\":%d},"
             "\"consolidation\":{\"methods\":{\"response\":\"medoid\",\"quality\":\"mean\"},"
             "\"accept\":{\"min_agreement\":{\"quality\":%g}}}}",
             a.responses, MIN_AGREEMENT);
    char why[512];
    jury_settings_t *settings = NULL;
    jury_err err =
        jury_settings_parse(&settings, settings_json, strlen(settings_json), why, sizeof why);
    if (err != JURY_OK) {
        fprintf(stderr, "bench_consolidate: settings: %s\n",
                err == JURY_EINVAL ? why : jury_strerror(err));
        return 1;
    }
    char *normal = jury_settings_to_json(settings, false);
    static bench_sample_t res[M_COUNT][BENCH_RUNS_MAX];
    static built_t built;
    char store[PATH_CAP], summary[PATH_CAP], cerr[PATH_CAP], out[PATH_CAP], eerr[PATH_CAP],
        ref[PATH_CAP];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(summary, sizeof summary, "%s/consolidate.json", dir);
    snprintf(cerr, sizeof cerr, "%s/consolidate.err", dir);
    snprintf(out, sizeof out, "%s/sft.jsonl", dir);
    snprintf(eerr, sizeof eerr, "%s/export.err", dir);
    snprintf(ref, sizeof ref, "%s/ref-appends", dir);
    rc = 1;
    if (!normal) {
        fprintf(stderr, "bench_consolidate: out of memory\n");
        goto done;
    }

    printf("jury consolidate + export benchmark: %llu records x %d responses, %d annotators, "
           "%d run%s, in %s\n",
           (unsigned long long)a.records, a.responses, a.annotators, a.runs, a.runs == 1 ? "" : "s",
           dir);
    bench_print_machine();
    s_print_libraries();

    make_arg_t make = {store, normal, settings, &a};
    bench_sample_t bs;
    if (s_run_fn("build", s_make_child, &make, &built, sizeof built, &bs) != 0 || !built.ok)
        goto done;
    double build_s = built.secs;
    char data[PATH_CAP + 16], b1[32], b2[32], b3[32], b4[32];
    snprintf(data, sizeof data, "%s/data.mdb", store);
    uint64_t store_bytes = s_file_size(data);
    printf("store:     %s, built in %.1f s (%s records/s with their responses, store API, "
           "transactions of %s records),\n"
           "           data.mdb %s bytes (%.0f bytes/record; %.0f bytes of text/record), "
           "%s records the rule rejects\n"
           "           (the build: %.1f s CPU, peak RSS %.1f MiB)\n",
           store, build_s,
           bench_thousands(b1, sizeof b1, (uint64_t)((double)a.records / build_s + 0.5)),
           bench_thousands(b3, sizeof b3, a.batch), bench_thousands(b2, sizeof b2, store_bytes),
           (double)store_bytes / (double)a.records, (double)built.text_bytes / (double)a.records,
           bench_thousands(b4, sizeof b4, built.rejected), bs.cpu, bs.rss_mib);
    jury_settings_destroy(&settings);
    char self_rss[64];
    bench_proc_value("/proc/self/status", "VmRSS", self_rss, sizeof self_rss);
    printf("           (this process: %s resident; a child counts it in its peak RSS until it "
           "execs)\n",
           self_rss);

    static const char *const walk_tables[] = {"records", "responses", NULL};
    static const char *const dec_tables[] = {"decisions", NULL};
    walk_arg_t walk = {store, walk_tables}, dec_walk = {store, dec_tables};
    puts_arg_t puts = {ref, a.records, a.put_bytes};
    char *cons_argv[] = {(char *)a.jury, "--store", store, "consolidate", DATASET, "--json", NULL};
    char *exp_argv[] = {(char *)a.jury, "--store", store,   "export", DATASET,
                        "--format",     "sft",     "--out", out,      NULL};
    uint64_t walk_bytes = 0, first_hash = 0, accepted = 0;
    /* Interleave the measurements so that each run's references see the same machine weather. */
    for (int run = 0; run < a.runs; run++) {
        printf("\nrun %d/%d%s\n", run + 1, a.runs,
               run == 0 ? " (the first consolidate appends decisions; later ones replace them)"
                        : "");
        walk_result_t wr;
        if (s_run(cons_argv, summary, cerr, &res[M_CONSOLIDATE][run]) != 0)
            break;
        s_print_sample(M_CONSOLIDATE, &res[M_CONSOLIDATE][run], a.records);
        if (s_check_consolidate(summary, &a, &built, run == 0, &accepted) != 0)
            break;
        if (run == 0) {
            bench_sample_t s;
            if (s_run_ref("decisions walk", s_walk, &dec_walk, &s, &wr) != 0)
                break;
            printf("  decisions: %s stored, %.1f bytes each with its key\n",
                   bench_thousands(b1, sizeof b1, wr.entries),
                   wr.entries ? (double)wr.bytes / (double)wr.entries : 0.0);
        }
        unlink(out);
        if (s_run(exp_argv, NULL, eerr, &res[M_EXPORT][run]) != 0)
            break;
        s_print_sample(M_EXPORT, &res[M_EXPORT][run], a.records);
        uint64_t hash = s_file_hash(out);
        if (s_check_export(out, eerr, accepted, &built) != 0)
            break;
        if (run == 0) {
            first_hash = hash;
            printf("  export: %s lines, %s bytes\n", bench_thousands(b1, sizeof b1, accepted),
                   bench_thousands(b2, sizeof b2, s_file_size(out)));
        } else if (hash != first_hash) {
            fprintf(stderr, "bench_consolidate: the export of run %d differs from the first\n",
                    run + 1);
            break;
        }
        if (!a.keep || run + 1 < a.runs)
            unlink(out);
        if (s_run_ref("raw walk", s_walk, &walk, &res[M_WALK][run], &wr) != 0)
            break;
        s_print_sample(M_WALK, &res[M_WALK][run], a.records);
        if (run == 0)
            printf("  raw walk: %s entries, %s bytes of keys and values\n",
                   bench_thousands(b1, sizeof b1, wr.entries),
                   bench_thousands(b2, sizeof b2, wr.bytes));
        walk_bytes = wr.bytes;
        if (s_run_ref("raw appends", s_puts, &puts, &res[M_PUTS][run], &wr) != 0)
            break;
        s_print_sample(M_PUTS, &res[M_PUTS][run], a.records);
        bench_remove_env(ref);
        if (run == a.runs - 1)
            rc = 0;
    }
    if (rc == 0) {
        if (a.runs > 1)
            printf("  the %d exports are identical\n", a.runs);
        s_print_summary(&a, res, walk_bytes);
    }
done:
    bench_remove_env(ref);
    rmdir(ref);
    unlink(summary);
    unlink(cerr);
    unlink(eerr);
    if (!a.keep) {
        unlink(out);
        bench_remove_env(store);
        rmdir(store);
        if (made_dir)
            rmdir(dir);
    } else {
        printf("kept: %s\n", dir);
    }
    jury_settings_destroy(&settings);
    free(normal);
    return rc;
}
