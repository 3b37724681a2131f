/* bench_serve.c: benchmark of `jury serve`, plaintext and CURVE, with instant workers vs ZeroMQ
 * echo (plaintext and CURVE) and LMDB puts. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <lmdb.h>
#include <msgpack.h>
#include <sodium.h>
#include <zmq.h>

#include "bench_util.h"
#include "jury_keys.h"
#include "jury_proto.h"

#ifndef JURY_BENCH_JURY
#define JURY_BENCH_JURY "jury"
#endif

#define WORKERS_MAX 256
#define TARGET_RATE 100000.0
/* CURVE may cost at most half of the plaintext throughput: CURVE/plaintext >= this. */
#define TARGET_CURVE_RATIO 0.5
/* Work directory names stay short so that paths inside it fit PATH_CAP. */
#define DIR_CAP  1024
#define PATH_CAP (DIR_CAP + 64)
/* Mean length of a record's text, in bytes. */
#define TEXT_MEAN 200
/* Reference workloads. */
#define ECHO_BYTES   100
#define ECHO_WINDOW  16
#define LMDB_KEY     12
#define LMDB_VALUE   60
#define LMDB_BATCH   1000
#define LMDB_MAPSIZE ((size_t)1 << 30)
/* Submit requests one worker may have outstanding (pipelined: 2, else 1). */
#define INFLIGHT_MAX 2
/* Empty fetch back-off, ms: starts here and doubles up to EMPTY_MAX_MS. */
#define EMPTY_MIN_MS 1
#define EMPTY_MAX_MS 16

static const char s_usage[] =
    "usage: bench_serve [--records N] [--workers W] [--runs R] [--overlap K] [--batch B]\n"
    "                   [--no-pipeline] [--mode plain|curve|both] [--timeout S] [--dir DIR]\n"
    "                   [--keep] [--jury PATH] [--json FILE]\n"
    "\n"
    "Runs the real `jury serve` on a fresh store of N records (min_submitted K) and\n"
    "W worker connections over tcp loopback that answer every record instantly:\n"
    "fetch B, submit the B responses in one message, wait for the results. Measures\n"
    "durable (acknowledged) responses/s, ack latency (submit sent -> results received)\n"
    "and the coordinator's peak RSS, and in the same run, as references, a ZeroMQ\n"
    "DEALER/ROUTER echo (W dealers, 100-byte messages, 16 in flight each) and LMDB\n"
    "puts of N*K 60-byte values under 12-byte keys committed every 1,000.\n"
    "Both security modes in every run (--mode both): plaintext (`jury serve\n"
    "--insecure`) and CURVE (`jury keygen`, one annotator per worker made with\n"
    "`jury annotator add`, each worker connecting with its key file's keys), each\n"
    "with its echo reference (the echo over CURVE: one keypair per dealer, no ZAP).\n"
    "The modes alternate which goes first from run to run.\n"
    "Prints every run, the medians and the CURVE/plaintext ratios.\n"
    "\n"
    "options:\n"
    "  --records N    records (default 100000)\n"
    "  --workers W    worker connections, 1 to 256 (default 32)\n"
    "  --runs R       runs, 1 to 99 (default 3)\n"
    "  --overlap K    distribution.min_submitted, 1 to 32 and at most W (default 3)\n"
    "  --batch B      records per fetch and responses per submit, 1 to 100 (default 10)\n"
    "  --no-pipeline  send the next fetch only after the submit's results (default: with\n"
    "                 the submit, one fetch ahead)\n"
    "  --mode M       plain (--insecure), curve, or both (default both)\n"
    "  --timeout S    give up on a run after S seconds (default 600)\n"
    "  --dir DIR      work directory (default: a new directory under /tmp)\n"
    "  --keep         keep the stores and logs\n"
    "  --jury PATH    the jury binary (default: $JURY_BIN, else the one built with this)\n"
    "  --json FILE    also write the medians as JSON (ops/bench reads it)\n";

/* Text material: syllables for pseudo-words, and a few multi-byte words. */
static const char *const s_onsets[] = {"b", "c", "d", "f", "g", "h",  "k",  "l",  "m",  "n", "p",
                                       "r", "s", "t", "v", "w", "st", "tr", "ch", "sh", "",  ""};
static const char *const s_nuclei[] = {"a", "e", "i", "o", "u", "ai", "ea", "ou"};
static const char *const s_codas[] = {"", "", "", "n", "r", "s", "t", "l", "nd", "ck"};
static const char *const s_utf8_words[] = {"café", "naïve", "Zürich", "größe", "東京"};

/* Security modes: plaintext (`jury serve --insecure`) and CURVE. */
enum { MODE_PLAIN, MODE_CURVE, MODE_COUNT };

static const char *const s_mode_names[MODE_COUNT] = {"plaintext", "CURVE"};
/* Short names, for file names and --mode. */
static const char *const s_mode_tags[MODE_COUNT] = {"plain", "curve"};

/* What the benchmark measures, one rate per run each: serve and echo in each mode, then LMDB. */
enum { M_SERVE_PLAIN, M_SERVE_CURVE, M_ECHO_PLAIN, M_ECHO_CURVE, M_LMDB, M_COUNT };
#define M_SERVE(mode) (M_SERVE_PLAIN + (mode))
#define M_ECHO(mode)  (M_ECHO_PLAIN + (mode))

static const char *const s_metric_names[M_COUNT] = {
    "jury serve, plaintext", "jury serve, CURVE",      "ZeroMQ echo, plaintext",
    "ZeroMQ echo, CURVE",    "LMDB puts, commit/1000",
};
static const char *const s_metric_units[M_COUNT] = {"responses", "responses", "messages",
                                                    "messages", "puts"};

typedef struct {
    uint64_t records;      /* --records */
    int workers;           /* --workers */
    int runs;              /* --runs */
    int overlap;           /* --overlap */
    int batch;             /* --batch */
    bool pipeline;         /* not --no-pipeline */
    bool mode[MODE_COUNT]; /* --mode: the modes measured */
    int timeout_s;         /* --timeout */
    const char *dir;       /* --dir, or NULL */
    bool keep;             /* --keep */
    const char *jury;      /* --jury */
    const char *json;      /* --json, or NULL */
} bench_args_t;

/* What one `jury serve` run in one mode measured, besides its rate. */
typedef struct {
    double p50_ms, p99_ms; /* ack latency */
    double max_ms;         /* slowest ack */
    uint64_t rss_kb;       /* coordinator VmHWM */
    uint64_t anon_kb;      /* coordinator RssAnon at the end: heap and stacks */
    uint64_t file_kb;      /* coordinator RssFile at the end: mostly the LMDB map */
    double cpu_s;          /* coordinator user + system time during the measured part */
    double self_cpu_s;     /* this process's (the workers') CPU time during the measured part */
    uint64_t fetches;      /* fetch requests sent */
    uint64_t empty;        /* fetches answered with no records */
    uint64_t submits;      /* submit requests sent */
    uint64_t refused;      /* results with ok false */
    double setup_s;        /* dataset create + import */
    double keys_s;         /* CURVE: keygen + annotator add for every worker and the warm-up */
    double load_s;         /* first hello (the coordinator loads the dataset) */
    uint64_t stored;       /* submitted responses in the store afterwards (jury status) */
    uint64_t completed;    /* completed records in the store afterwards */
} serve_detail_t;

/* Everything measured in one run. */
typedef struct {
    double rate[M_COUNT];             /* per second; 0 when not measured */
    double seconds[M_COUNT];          /* wall time */
    uint64_t count[M_COUNT];          /* responses, echoed messages, puts */
    serve_detail_t serve[MODE_COUNT]; /* the serve runs' details */
    int first;                        /* the mode measured first in this run */
} bench_run_t;

/* ---- small helpers ------------------------------------------------------- */

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int s_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Prints the "libraries:" line of the report, below bench_print_machine's line. */
static void s_print_libraries(void)
{
    int zmaj, zmin, zpat;
    zmq_version(&zmaj, &zmin, &zpat);
    printf("libraries: ZeroMQ %d.%d.%d, %s, msgpack-c %s\n", zmaj, zmin, zpat,
           mdb_version(NULL, NULL, NULL), msgpack_version());
}

/* ---- processes ------------------------------------------------------------- */

/*
 * Starts argv[0] (a path) with stdin from /dev/null, stdout to out_fd (or
 * /dev/null when -1) and stderr appended to log. Returns the pid, or -1.
 */
static pid_t s_spawn(char *const argv[], int out_fd, const char *log)
{
    int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (lfd < 0) {
        fprintf(stderr, "bench_serve: %s: %s\n", log, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int nfd = open("/dev/null", O_RDWR);
        dup2(nfd, 0);
        dup2(out_fd >= 0 ? out_fd : nfd, 1);
        dup2(lfd, 2);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(lfd);
    if (pid < 0)
        fprintf(stderr, "bench_serve: fork: %s\n", strerror(errno));
    return pid;
}

/*
 * Runs argv to completion, its stdout into out (cap bytes, NUL-terminated;
 * out may be NULL to discard it). Returns 0 when it exits 0, else -1 after
 * printing its log.
 */
static int s_run(char *const argv[], const char *log, char *out, size_t cap)
{
    int fds[2] = {-1, -1};
    if (out && pipe(fds) != 0) {
        fprintf(stderr, "bench_serve: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = s_spawn(argv, out ? fds[1] : -1, log);
    if (out) {
        close(fds[1]);
        size_t len = 0;
        ssize_t r;
        while ((r = read(fds[0], out + len, cap - 1 - len)) > 0 || (r < 0 && errno == EINTR))
            len += r > 0 ? (size_t)r : 0;
        out[len] = '\0';
        close(fds[0]);
    }
    if (pid < 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_serve: %s %s failed (%s %d); its log %s:\n", argv[0],
                argv[3] ? argv[3] : "", WIFEXITED(st) ? "exit" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), log);
        bench_print_log(log);
        return -1;
    }
    return 0;
}

/* A memory figure of pid from /proc/PID/status ("VmHWM", "RssAnon", ...), in kB; 0 when unknown. */
static uint64_t s_status_kb(pid_t pid, const char *key)
{
    char path[64], v[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    bench_proc_value(path, key, v, sizeof v);
    return strtoull(v, NULL, 10);
}

/* User plus system CPU time of pid so far, in seconds; -1 when unknown. */
static double s_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces) start past the last ')'. */
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* A TCP port on 127.0.0.1 that was free a moment ago. Returns 0 on failure. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* ---- input ----------------------------------------------------------------- */

/* Appends a text of about TEXT_MEAN bytes (0.8 .. 1.2 of it) of sentences, JSON-safe. */
static size_t s_text(bench_rng_t *r, char *out)
{
    size_t target = TEXT_MEAN * 8 / 10 + bench_below(r, TEXT_MEAN * 4 / 10 + 1), o = 0;
    bool start = true;
    while (o < target) {
        if (bench_below(r, 30) == 0) {
            o += (size_t)sprintf(out + o, "%s",
                                 s_utf8_words[bench_below(r, BENCH_COUNT(s_utf8_words))]);
        } else {
            size_t first = o;
            for (uint32_t i = 0, n = 1 + bench_below(r, 3); i < n; i++)
                o += (size_t)sprintf(out + o, "%s%s%s",
                                     s_onsets[bench_below(r, BENCH_COUNT(s_onsets))],
                                     s_nuclei[bench_below(r, BENCH_COUNT(s_nuclei))],
                                     s_codas[bench_below(r, BENCH_COUNT(s_codas))]);
            if (start && out[first] >= 'a' && out[first] <= 'z')
                out[first] = (char)(out[first] - 'a' + 'A');
        }
        start = bench_below(r, 10) == 0;
        out[o++] = start ? '.' : ' ';
        if (start)
            out[o++] = ' ';
    }
    out[o] = '\0';
    return o;
}

/* Writes n records {"id": "r0000001", "fields": {"text": ...}} to path. Returns 0 or -1. */
static int s_generate(const char *path, uint64_t n, uint64_t *bytes)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_serve: %s: %s\n", path, strerror(errno));
        return -1;
    }
    bench_rng_t rng = {0x9E3779B97F4A7C15ULL};
    char text[TEXT_MEAN * 2 + 64];
    *bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        s_text(&rng, text);
        int len = fprintf(f, "{\"id\":\"r%07llu\",\"fields\":{\"text\":\"%s\"}}\n",
                          (unsigned long long)(i + 1), text);
        *bytes += len > 0 ? (uint64_t)len : 0;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_serve: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- workers ----------------------------------------------------------------- */

/* State shared by the workers of one run. */
typedef struct {
    const bench_args_t *a;     /* options */
    char endpoint[64];         /* the coordinator */
    void *zctx;                /* the workers' ZeroMQ context */
    pthread_barrier_t start;   /* every worker connected */
    atomic_uint_fast64_t acks; /* ok results so far, all workers */
    uint64_t target;           /* acks that complete the dataset: N * overlap */
    double deadline;           /* monotonic seconds */
    atomic_int refused_logged; /* refused results printed so far */
    atomic_bool failed;        /* a worker gave up: the others stop too */
    jury_keyfile_t *keys;      /* CURVE: worker i's key file is keys[i]; NULL in plaintext */
} bench_shared_t;

/* One outstanding submit. */
typedef struct {
    uint64_t req; /* its request id */
    double sent;  /* when it was sent */
    uint32_t n;   /* responses in it */
} inflight_t;

/* One worker thread. */
typedef struct {
    bench_shared_t *sh;  /* shared state */
    int index;           /* 0-based; the annotator is w%02d */
    pthread_t thread;    /* the thread */
    float *lat;          /* ack latencies, ms (owned) */
    size_t nlat, caplat; /* used, allocated */
    uint64_t fetches;    /* fetches sent */
    uint64_t empty;      /* empty batches received */
    uint64_t submits;    /* submits sent */
    uint64_t refused;    /* results with ok false */
    double first_hello;  /* when hello was sent */
    double last_ack;     /* when the last ok result arrived; 0 before */
    char err[512];       /* why it gave up, or "" */
} bench_worker_t;

/*
 * CURVE: makes sock a client of the coordinator named in the key file kf, with the annotator's
 * keypair from it; to be called before zmq_connect. Returns 0, or -1 with errno set.
 */
static int s_curve_client(void *sock, const jury_keyfile_t *kf)
{
    return zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, kf->coordinator_key, JURY_KEY_BYTES) != 0 ||
                   zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, kf->keys->public_key,
                                  JURY_KEY_BYTES) != 0 ||
                   zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kf->keys->secret_key,
                                  JURY_KEY_BYTES) != 0
               ? -1
               : 0;
}

static int s_worker_send(void *sock, const msgpack_sbuffer *b)
{
    return zmq_send(sock, b->data, b->size, 0) == (int)b->size ? 0 : -1;
}

static void s_worker_fail(bench_worker_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_worker_fail(bench_worker_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    atomic_store(&w->sh->failed, true);
}

static bool s_key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

/* Packs a submit of the k records of a batch, each answered {"label": "pos"}. */
static int s_pack_submit(msgpack_sbuffer *sb, uint64_t req, const msgpack_object *records)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_sbuffer_clear(sb);
    uint32_t k = records->via.array.size;
    int rc = jury_proto_pack_header(&pk, JURY_CMD_SUBMIT, true, req, 1);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "responses");
    rc = rc ? rc : msgpack_pack_array(&pk, k);
    for (uint32_t i = 0; i < k && rc == 0; i++) {
        const msgpack_object *r = &records->via.array.ptr[i];
        const msgpack_object *id = NULL;
        for (uint32_t j = 0; j < r->via.map.size; j++)
            if (s_key_is(&r->via.map.ptr[j].key, "id"))
                id = &r->via.map.ptr[j].val;
        if (!id)
            return -1; /* decode checked it is there */
        rc = msgpack_pack_map(&pk, 3);
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "record");
        rc = rc ? rc : jury_proto_pack_str(&pk, id->via.str.ptr, id->via.str.size);
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "status");
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "submitted");
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "values");
        rc = rc ? rc : msgpack_pack_map(&pk, 1);
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "label");
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "pos");
    }
    return rc;
}

static int s_add_latency(bench_worker_t *w, float ms, uint32_t n)
{
    if (w->nlat + n > w->caplat) {
        size_t cap = w->caplat ? w->caplat * 2 : 4096;
        while (cap < w->nlat + n)
            cap *= 2;
        float *v = realloc(w->lat, cap * sizeof *v);
        if (!v)
            return -1;
        w->lat = v;
        w->caplat = cap;
    }
    for (uint32_t i = 0; i < n; i++)
        w->lat[w->nlat++] = ms;
    return 0;
}

/*
 * One annotator: hello, then fetch / submit / results until the dataset is
 * complete. With pipelining, the next fetch goes out with each submit, so at
 * most one fetch and two submits are outstanding.
 */
static void *s_worker_main(void *arg)
{
    bench_worker_t *w = arg;
    bench_shared_t *sh = w->sh;
    const bench_args_t *a = sh->a;
    void *sock = zmq_socket(sh->zctx, ZMQ_DEALER);
    int zero = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 65536);
    jury_msg_t *m = malloc(sizeof *m);
    if (!sock || !m) {
        s_worker_fail(w, "out of memory");
        pthread_barrier_wait(&sh->start);
        goto done;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (sh->keys && s_curve_client(sock, &sh->keys[w->index - 1]) != 0)
        s_worker_fail(w, "CURVE keys: %s", zmq_strerror(errno));
    else if (zmq_connect(sock, sh->endpoint) != 0)
        s_worker_fail(w, "connect %s: %s", sh->endpoint, zmq_strerror(errno));
    pthread_barrier_wait(&sh->start);
    if (w->err[0])
        goto done;

    char annotator[16];
    snprintf(annotator, sizeof annotator, "w%02d", w->index);
    uint64_t req = 1, fetch_req = 0;
    inflight_t inflight[INFLIGHT_MAX];
    int ninflight = 0;
    bool welcomed = false, fetch_pending = false;
    int empty_streak = 0, backoff_ms = EMPTY_MIN_MS;
    double next_fetch = 0;
    w->first_hello = bench_now();
    if (jury_proto_encode_hello(&sb, req, annotator, "bench", "bench_serve/1") != JURY_OK ||
        s_worker_send(sock, &sb) != 0) {
        s_worker_fail(w, "hello: cannot send");
        goto done;
    }
    uint64_t hello_req = req++;
    for (;;) {
        double now = bench_now();
        if (atomic_load(&sh->failed)) {
            if (!w->err[0])
                snprintf(w->err, sizeof w->err, "stopped: another worker failed");
            break;
        }
        if (now > sh->deadline) {
            s_worker_fail(w, "timeout: %llu of %llu acks after %d s",
                          (unsigned long long)atomic_load(&sh->acks),
                          (unsigned long long)sh->target, a->timeout_s);
            break;
        }
        bool complete = atomic_load(&sh->acks) >= sh->target;
        if (welcomed && complete && empty_streak >= 2 && ninflight == 0 && !fetch_pending)
            break;
        /* Ask for more when the pipeline has room. */
        int room = a->pipeline ? INFLIGHT_MAX - 1 : 0;
        if (welcomed && !fetch_pending && ninflight <= room && now >= next_fetch) {
            msgpack_sbuffer_clear(&sb);
            if (jury_proto_encode_fetch(&sb, req, (uint32_t)a->batch) != JURY_OK ||
                s_worker_send(sock, &sb) != 0) {
                s_worker_fail(w, "fetch: cannot send");
                break;
            }
            fetch_req = req++;
            fetch_pending = true;
            w->fetches++;
        }
        long wait_ms = 100;
        if (welcomed && !fetch_pending && ninflight <= room) {
            wait_ms = (long)((next_fetch - now) * 1000) + 1;
            wait_ms = wait_ms < 0 ? 0 : wait_ms > 100 ? 100 : wait_ms;
        }
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, wait_ms);
        if (rc < 0 && errno != EINTR) {
            s_worker_fail(w, "zmq_poll: %s", zmq_strerror(errno));
            break;
        }
        if (rc <= 0)
            continue;
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sock, 0) < 0) {
            zmq_msg_close(&frame);
            continue;
        }
        double t = bench_now();
        char why[512];
        msgpack_zone_clear(&zone);
        jury_err err = jury_proto_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), &zone, m, why,
                                         sizeof why);
        if (err != JURY_OK) {
            s_worker_fail(w, "undecodable reply: %s: %s", jury_errname(err), why);
            zmq_msg_close(&frame);
            break;
        }
        bool stop = false;
        switch (m->cmd) {
        case JURY_CMD_HEARTBEAT:
            break;
        case JURY_CMD_WELCOME:
            if (m->req != hello_req) {
                s_worker_fail(w, "welcome for req %llu", (unsigned long long)m->req);
                stop = true;
            }
            welcomed = true;
            break;
        case JURY_CMD_BATCH: {
            const msgpack_object *recs = m->u.batch.records;
            if (!fetch_pending || m->req != fetch_req) {
                s_worker_fail(w, "batch for req %llu, expected %llu", (unsigned long long)m->req,
                              (unsigned long long)fetch_req);
                stop = true;
                break;
            }
            fetch_pending = false;
            if (recs->via.array.size == 0) {
                w->empty++;
                empty_streak++;
                next_fetch = t + backoff_ms / 1000.0;
                backoff_ms = backoff_ms * 2 > EMPTY_MAX_MS ? EMPTY_MAX_MS : backoff_ms * 2;
                break;
            }
            if (complete) {
                s_worker_fail(w, "fetch leased %u records after the dataset was complete",
                              recs->via.array.size);
                stop = true;
                break;
            }
            empty_streak = 0;
            backoff_ms = EMPTY_MIN_MS;
            next_fetch = 0;
            if (s_pack_submit(&sb, req, recs) != 0 || s_worker_send(sock, &sb) != 0) {
                s_worker_fail(w, "submit: cannot send");
                stop = true;
                break;
            }
            inflight[ninflight++] = (inflight_t){req++, bench_now(), recs->via.array.size};
            w->submits++;
            break;
        }
        case JURY_CMD_RESULTS: {
            int k = 0;
            while (k < ninflight && inflight[k].req != m->req)
                k++;
            if (k == ninflight || m->u.results.count != inflight[k].n) {
                s_worker_fail(w, "results for req %llu with %u items: not an outstanding submit",
                              (unsigned long long)m->req, m->u.results.count);
                stop = true;
                break;
            }
            uint32_t ok = 0;
            for (uint32_t i = 0; i < m->u.results.count; i++) {
                const jury_proto_result_t *r = &m->u.results.items[i];
                if (r->ok) {
                    ok++;
                    continue;
                }
                w->refused++;
                if (atomic_fetch_add(&sh->refused_logged, 1) < 5)
                    fprintf(stderr, "bench_serve: %s: record %.*s refused: %.*s: %.*s\n", annotator,
                            (int)r->record.len, r->record.ptr, (int)r->code.len, r->code.ptr,
                            (int)r->reason.len, r->reason.ptr);
            }
            if (s_add_latency(w, (float)((t - inflight[k].sent) * 1000), ok) != 0) {
                s_worker_fail(w, "out of memory");
                stop = true;
                break;
            }
            if (ok) {
                atomic_fetch_add(&sh->acks, ok);
                w->last_ack = t;
            }
            inflight[k] = inflight[--ninflight];
            break;
        }
        case JURY_CMD_ERROR:
        case JURY_CMD_GOODBYE:
            s_worker_fail(w, "%s (req %llu): %.*s: %.*s", jury_proto_cmd_name(m->cmd),
                          (unsigned long long)m->req, (int)m->u.error.code.len, m->u.error.code.ptr,
                          (int)m->u.error.reason.len, m->u.error.reason.ptr);
            stop = true;
            break;
        default:
            s_worker_fail(w, "unexpected %s", jury_proto_cmd_name(m->cmd));
            stop = true;
            break;
        }
        zmq_msg_close(&frame);
        if (stop)
            break;
    }
    if (!w->err[0]) {
        msgpack_sbuffer_clear(&sb);
        if (jury_proto_encode_bye(&sb, "benchmark done") == JURY_OK)
            (void)s_worker_send(sock, &sb);
    }
done:
    free(m);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
    if (sock)
        zmq_close(sock);
    return NULL;
}

/*
 * Opens a session for annotator "warmup" and closes it, so that the
 * coordinator has loaded the dataset before the measured part. Retries until
 * the coordinator answers (it may still be starting) or timeout_s passes.
 * With CURVE, kf is the warm-up annotator's key file (else NULL). Returns 0,
 * or -1 after printing why.
 */
static int s_warmup(void *zctx, const char *endpoint, const jury_keyfile_t *kf, pid_t serve,
                    int timeout_s, double *secs)
{
    void *sock = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0, rc = -1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 8192);
    jury_msg_t *m = malloc(sizeof *m);
    if (!sock || !m)
        goto done;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (kf && s_curve_client(sock, kf) != 0) {
        fprintf(stderr, "bench_serve: warm-up: CURVE keys: %s\n", zmq_strerror(errno));
        goto done;
    }
    if (zmq_connect(sock, endpoint) != 0) {
        fprintf(stderr, "bench_serve: connect %s: %s\n", endpoint, zmq_strerror(errno));
        goto done;
    }
    double t0 = bench_now();
    if (jury_proto_encode_hello(&sb, 1, "warmup", "bench", "bench_serve/1") != JURY_OK ||
        s_worker_send(sock, &sb) != 0)
        goto done;
    while (bench_now() - t0 < timeout_s) {
        int st;
        if (waitpid(serve, &st, WNOHANG) == serve) {
            fprintf(stderr, "bench_serve: jury serve exited before answering\n");
            goto done;
        }
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sock, 0) < 0) {
            zmq_msg_close(&frame);
            continue;
        }
        char why[256];
        msgpack_zone_clear(&zone);
        jury_err err = jury_proto_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), &zone, m, why,
                                         sizeof why);
        zmq_msg_close(&frame);
        if (err != JURY_OK || m->cmd == JURY_CMD_ERROR) {
            if (err == JURY_OK)
                snprintf(why, sizeof why, "refused by the coordinator: %.*s",
                         (int)m->u.error.reason.len, m->u.error.reason.ptr);
            fprintf(stderr, "bench_serve: warm-up hello: %s\n", why);
            goto done;
        }
        if (m->cmd == JURY_CMD_WELCOME) {
            *secs = bench_now() - t0;
            msgpack_sbuffer_clear(&sb);
            if (jury_proto_encode_bye(&sb, "warm-up done") == JURY_OK)
                (void)s_worker_send(sock, &sb);
            rc = 0;
            goto done;
        }
    }
    fprintf(stderr, "bench_serve: jury serve did not answer hello within %d s\n", timeout_s);
done:
    free(m);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
    if (sock)
        zmq_close(sock);
    return rc;
}

/* ---- one serve run ------------------------------------------------------------ */

/* Stops the coordinator with SIGTERM and waits up to 30 s. Returns its wait status or -1. */
static int s_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 3000; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        s_sleep_ms(10);
    }
    fprintf(stderr, "bench_serve: jury serve (pid %ld) ignored SIGTERM for 30 s; killing it\n",
            (long)pid);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    return -1;
}

/* Reads completed records and submitted responses of dataset bench from `jury status --json`. */
static int s_store_counts(const bench_args_t *a, const char *store, const char *log,
                          serve_detail_t *res)
{
    char *argv[] = {(char *)a->jury, "--store", (char *)store, "status", "bench", "--json", NULL};
    static char out[1 << 16];
    if (s_run(argv, log, out, sizeof out) != 0)
        return -1;
    cJSON *j = cJSON_Parse(out);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "completed");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "responses"), "submitted");
    int rc = -1;
    if (cJSON_IsNumber(c) && cJSON_IsNumber(s)) {
        res->completed = (uint64_t)c->valuedouble;
        res->stored = (uint64_t)s->valuedouble;
        rc = 0;
    } else {
        fprintf(stderr, "bench_serve: jury status --json: unexpected output: %.200s\n", out);
    }
    cJSON_Delete(j);
    return rc;
}

/* Sorted latency samples of all workers; caller frees. */
static float *s_gather_latencies(bench_worker_t *ws, int n, size_t *count)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += ws[i].nlat;
    float *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return NULL;
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        memcpy(all + o, ws[i].lat, ws[i].nlat * sizeof *all);
        o += ws[i].nlat;
    }
    qsort(all, total, sizeof *all, s_cmp_float);
    *count = total;
    return all;
}

static double s_percentile(const float *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* The store, key file directory and log of run `run` (0-based) in mode `mode`, each PATH_CAP bytes.
 */
static void s_run_paths(const char *dir, int run, int mode, char *store, char *keys, char *log)
{
    snprintf(store, PATH_CAP, "%s/store-%s-%d", dir, s_mode_tags[mode], run + 1);
    snprintf(keys, PATH_CAP, "%s/keys-%s-%d", dir, s_mode_tags[mode], run + 1);
    snprintf(log, PATH_CAP, "%s/jury-%s-%d.log", dir, s_mode_tags[mode], run + 1);
}

/* Annotator i of a CURVE run: w01 .. wW for the workers (i < workers), then "warmup". */
static void s_annotator_name(int i, int workers, char *out, size_t cap)
{
    if (i < workers)
        snprintf(out, cap, "w%02d", i + 1);
    else
        snprintf(out, cap, "warmup");
}

/*
 * Removes what a serve run in dir left: its store with the coordinator's key and the audit log,
 * the annotators' key files and, when with_log, its log. Missing files are no error.
 */
static void s_remove_run(const char *dir, int run, int mode, int workers, bool with_log)
{
    static const char *const extra[] = {"coordinator.key", "coordinator.pub", "audit.log"};
    char store[PATH_CAP], keys[PATH_CAP], log[PATH_CAP], path[PATH_CAP + 32], name[16];
    s_run_paths(dir, run, mode, store, keys, log);
    for (size_t i = 0; i < BENCH_COUNT(extra); i++) {
        snprintf(path, sizeof path, "%s/%s", store, extra[i]);
        unlink(path);
    }
    bench_remove_env(store);
    for (int i = 0; i <= workers; i++) {
        s_annotator_name(i, workers, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s.key", keys, name);
        unlink(path);
    }
    rmdir(keys);
    if (with_log)
        unlink(log);
}

/*
 * CURVE: `jury keygen` in store, then `jury annotator add` for every worker and the warm-up
 * annotator (granted dataset bench, key files in the directory keys), and reads the key files
 * back into kfs (workers + 1 of them). Returns 0 or -1 after printing why.
 */
static int s_make_keys(const bench_args_t *a, const char *store, const char *keys, const char *log,
                       jury_keyfile_t *kfs)
{
    char *keygen[] = {(char *)a->jury, "--store", (char *)store, "keygen", NULL};
    if (s_run(keygen, log, NULL, 0) != 0)
        return -1;
    if (mkdir(keys, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_serve: %s: %s\n", keys, strerror(errno));
        return -1;
    }
    for (int i = 0; i <= a->workers; i++) {
        char name[16], out[PATH_CAP + 32], why[PATH_CAP + 512];
        s_annotator_name(i, a->workers, name, sizeof name);
        snprintf(out, sizeof out, "%s/%s.key", keys, name);
        unlink(out);
        char *add[] = {(char *)a->jury, "--store", (char *)store, "annotator", "add", name,
                       "--datasets",    "bench",   "--out",       out,         NULL};
        if (s_run(add, log, NULL, 0) != 0)
            return -1;
        jury_err err = jury_keyfile_read(out, &kfs[i], why, sizeof why);
        if (err == JURY_OK && (!kfs[i].keys || !kfs[i].has_coordinator_key)) {
            snprintf(why, sizeof why, "%s: no secret key or no coordinator-key", out);
            err = JURY_EINVAL;
        }
        if (err != JURY_OK) {
            fprintf(stderr, "bench_serve: key file: %s\n", *why ? why : jury_strerror(err));
            return -1;
        }
    }
    return 0;
}

/*
 * Sets up a fresh store in dir with the real jury binary (in CURVE mode with
 * the coordinator's key and an annotator with a key file for every worker),
 * starts `jury serve` on it (with --insecure in plaintext mode), drives it
 * with the workers and stops it. Fills in the serve metric of mode and
 * run->serve[mode]. Returns 0 or -1.
 */
static int s_serve_run(const bench_args_t *a, const char *dir, int run, int mode,
                       const char *settings, const char *input, bench_run_t *out)
{
    char store[PATH_CAP], keys[PATH_CAP], log[PATH_CAP], bind[64];
    serve_detail_t *res = &out->serve[mode];
    int metric = M_SERVE(mode);
    bool curve = mode == MODE_CURVE;
    s_run_paths(dir, run, mode, store, keys, log);
    s_remove_run(dir, run, mode, a->workers, true);

    double t0 = bench_now();
    char *create[] = {(char *)a->jury, "--store",        store, "dataset", "create", "bench",
                      "--settings",    (char *)settings, NULL};
    char *import[] = {(char *)a->jury, "--store", store, "import", "bench", (char *)input, NULL};
    if (s_run(create, log, NULL, 0) != 0 || s_run(import, log, NULL, 0) != 0)
        return -1;
    res->setup_s = bench_now() - t0;
    jury_keyfile_t *kfs = NULL;
    if (curve) {
        t0 = bench_now();
        kfs = calloc((size_t)a->workers + 1, sizeof *kfs);
        if (!kfs) {
            fprintf(stderr, "bench_serve: out of memory\n");
            return -1;
        }
        if (s_make_keys(a, store, keys, log, kfs) != 0) {
            for (int i = 0; i <= a->workers; i++)
                jury_keyfile_clear(&kfs[i]);
            free(kfs);
            return -1;
        }
        res->keys_s = bench_now() - t0;
    }

    int port = s_free_port();
    pid_t pid = -1;
    if (!port)
        fprintf(stderr, "bench_serve: no free TCP port on 127.0.0.1\n");
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", port);
    /* CURVE is jury serve's default; plaintext needs --insecure (the last argument). */
    char *serve[] = {(char *)a->jury,
                     "--store",
                     store,
                     "serve",
                     "--bind",
                     bind,
                     "--log-level",
                     "warn",
                     curve ? NULL : (char *)"--insecure",
                     NULL};
    if (port)
        pid = s_spawn(serve, -1, log);
    if (pid < 0) {
        if (kfs)
            for (int i = 0; i <= a->workers; i++)
                jury_keyfile_clear(&kfs[i]);
        free(kfs);
        return -1;
    }

    int rc = -1;
    bench_shared_t *sh = calloc(1, sizeof *sh);
    bench_worker_t *ws = calloc((size_t)a->workers, sizeof *ws);
    int started = 0;
    float *lat = NULL;
    if (!sh || !ws) {
        fprintf(stderr, "bench_serve: out of memory\n");
        goto stop;
    }
    sh->a = a;
    sh->keys = kfs;
    snprintf(sh->endpoint, sizeof sh->endpoint, "%s", bind);
    sh->zctx = zmq_ctx_new();
    sh->target = a->records * (uint64_t)a->overlap;
    if (!sh->zctx ||
        s_warmup(sh->zctx, bind, kfs ? &kfs[a->workers] : NULL, pid, 60, &res->load_s) != 0)
        goto stop;
    pthread_barrier_init(&sh->start, NULL, (unsigned)a->workers + 1);
    sh->deadline = bench_now() + a->timeout_s;
    double cpu0 = s_cpu_seconds(pid), self0 = s_cpu_seconds(getpid());
    for (; started < a->workers; started++) {
        ws[started].sh = sh;
        ws[started].index = started + 1;
        if (pthread_create(&ws[started].thread, NULL, s_worker_main, &ws[started]) != 0) {
            fprintf(stderr, "bench_serve: pthread_create: %s\n", strerror(errno));
            break;
        }
    }
    if (started < a->workers) {
        /* The barrier cannot open: nobody started work yet, so just leave (the process exits). */
        fprintf(stderr, "bench_serve: started only %d of %d workers\n", started, a->workers);
        exit(1);
    }
    pthread_barrier_wait(&sh->start);
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    double cpu1 = s_cpu_seconds(pid), self1 = s_cpu_seconds(getpid());
    res->rss_kb = s_status_kb(pid, "VmHWM");
    res->anon_kb = s_status_kb(pid, "RssAnon");
    res->file_kb = s_status_kb(pid, "RssFile");
    res->cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    res->self_cpu_s = self0 >= 0 && self1 >= 0 ? self1 - self0 : -1;
    pthread_barrier_destroy(&sh->start);

    double first = 0, last = 0;
    uint64_t acks = 0;
    for (int i = 0; i < started; i++) {
        bench_worker_t *w = &ws[i];
        if (w->err[0] && strncmp(w->err, "stopped:", 8) != 0)
            fprintf(stderr, "bench_serve: %s: worker w%02d: %s\n", s_mode_names[mode], w->index,
                    w->err);
        first = i == 0 || w->first_hello < first ? w->first_hello : first;
        last = w->last_ack > last ? w->last_ack : last;
        acks += w->nlat;
        res->fetches += w->fetches;
        res->empty += w->empty;
        res->submits += w->submits;
        res->refused += w->refused;
    }
    if (atomic_load(&sh->failed))
        goto stop;
    size_t nlat = 0;
    if (!(lat = s_gather_latencies(ws, started, &nlat))) {
        fprintf(stderr, "bench_serve: out of memory\n");
        goto stop;
    }
    out->count[metric] = acks;
    out->seconds[metric] = last - first;
    out->rate[metric] = (double)acks / (last - first);
    res->p50_ms = s_percentile(lat, nlat, 0.50);
    res->p99_ms = s_percentile(lat, nlat, 0.99);
    res->max_ms = nlat ? lat[nlat - 1] : 0;
    rc = 0;
stop:;
    int st = s_stop(pid);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_serve: jury serve did not exit 0 on SIGTERM (%s %d); its log %s:\n",
                st != -1 && WIFEXITED(st) ? "exit" : "signal",
                st == -1        ? -1
                : WIFEXITED(st) ? WEXITSTATUS(st)
                                : WTERMSIG(st),
                log);
        bench_print_log(log);
        rc = -1;
    }
    if (sh && sh->zctx)
        zmq_ctx_term(sh->zctx);
    if (ws)
        for (int i = 0; i < a->workers; i++)
            free(ws[i].lat);
    free(ws);
    free(sh);
    free(lat);
    if (kfs)
        for (int i = 0; i <= a->workers; i++)
            jury_keyfile_clear(&kfs[i]);
    free(kfs);
    if (rc == 0 && s_store_counts(a, store, log, res) != 0)
        rc = -1;
    if (rc == 0 && (res->stored != out->count[metric] || res->completed != a->records)) {
        fprintf(stderr,
                "bench_serve: %s: the store holds %llu submitted responses and %llu completed "
                "records; %llu acknowledged, %llu records\n",
                s_mode_names[mode], (unsigned long long)res->stored,
                (unsigned long long)res->completed, (unsigned long long)out->count[metric],
                (unsigned long long)a->records);
        rc = -1;
    }
    return rc;
}

/* ---- reference: ZeroMQ echo --------------------------------------------------- */

typedef struct {
    void *sock;      /* the ROUTER, bound by main, handed over to the thread */
    uint64_t total;  /* messages to echo */
    uint64_t echoed; /* echoed */
} echo_router_t;

typedef struct {
    void *zctx;               /* dealers' context */
    const char *endpoint;     /* the ROUTER */
    pthread_barrier_t *start; /* all connected */
    uint64_t count;           /* round trips to make */
    double t_start, t_end;    /* first send, last receive */
    uint64_t received;        /* echoes received */
    pthread_t thread;         /* the thread */
    bool curve;               /* CURVE: connect with the keys below */
    char server_key[41];      /* CURVE: the ROUTER's public key, Z85 */
    char public_key[41];      /* CURVE: this dealer's keypair, Z85 */
    char secret_key[41];
} echo_dealer_t;

static void *s_echo_router_main(void *arg)
{
    echo_router_t *r = arg;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    while (r->echoed < r->total) {
        if (zmq_msg_recv(&id, r->sock, 0) < 0 || zmq_msg_recv(&body, r->sock, 0) < 0)
            break; /* RCVTIMEO: a dealer is gone */
        if (zmq_msg_send(&id, r->sock, ZMQ_SNDMORE) < 0 || zmq_msg_send(&body, r->sock, 0) < 0)
            break;
        r->echoed++;
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return NULL;
}

static void *s_echo_dealer_main(void *arg)
{
    echo_dealer_t *d = arg;
    void *sock = zmq_socket(d->zctx, ZMQ_DEALER);
    int zero = 0, tmo = 30000;
    char msg[ECHO_BYTES], in[ECHO_BYTES * 2];
    memset(msg, 'x', sizeof msg);
    if (sock) {
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
        if (d->curve) {
            zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, d->server_key, JURY_KEY_Z85);
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, d->public_key, JURY_KEY_Z85);
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, d->secret_key, JURY_KEY_Z85);
        }
        zmq_connect(sock, d->endpoint);
    }
    pthread_barrier_wait(d->start);
    if (!sock)
        return NULL;
    d->t_start = bench_now();
    uint64_t sent = 0;
    while (sent < d->count && sent < ECHO_WINDOW && zmq_send(sock, msg, sizeof msg, 0) >= 0)
        sent++;
    while (d->received < d->count) {
        if (zmq_recv(sock, in, sizeof in, 0) < 0)
            break;
        d->received++;
        if (sent < d->count && zmq_send(sock, msg, sizeof msg, 0) >= 0)
            sent++;
    }
    d->t_end = bench_now();
    zmq_close(sock);
    return NULL;
}

/*
 * W dealers echo total messages through one ROUTER thread (each in its own context, like jury);
 * with curve, over CURVE: a keypair for the ROUTER and one for each dealer, and no ZAP handler
 * (every client key is let in), so that what it adds is the handshake and the encryption.
 */
static int s_echo_run(int workers, uint64_t total, bool curve, double *secs, uint64_t *done)
{
    void *rctx = zmq_ctx_new(), *dctx = zmq_ctx_new();
    void *router = rctx ? zmq_socket(rctx, ZMQ_ROUTER) : NULL;
    echo_dealer_t *ds = calloc((size_t)workers, sizeof *ds);
    char endpoint[128];
    size_t elen = sizeof endpoint;
    int tmo = 30000, rc = -1;
    pthread_barrier_t start;
    if (!router || !dctx || !ds)
        goto done;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    char server_public[41], server_secret[41];
    if (curve) {
        int one = 1;
        if (zmq_curve_keypair(server_public, server_secret) != 0 ||
            zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, server_secret, JURY_KEY_Z85) != 0) {
            fprintf(stderr, "bench_serve: echo: CURVE server: %s\n", zmq_strerror(errno));
            goto done;
        }
    }
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &elen) != 0) {
        fprintf(stderr, "bench_serve: echo: bind: %s\n", zmq_strerror(errno));
        goto done;
    }
    uint64_t per = total / (uint64_t)workers;
    echo_router_t r = {.sock = router, .total = per * (uint64_t)workers};
    pthread_barrier_init(&start, NULL, (unsigned)workers);
    for (int i = 0; i < workers; i++) {
        ds[i] = (echo_dealer_t){
            .zctx = dctx, .endpoint = endpoint, .start = &start, .count = per, .curve = curve};
        if (curve) {
            memcpy(ds[i].server_key, server_public, sizeof server_public);
            if (zmq_curve_keypair(ds[i].public_key, ds[i].secret_key) != 0) {
                /* Only without CURVE support, which main checked: the dealers then time out. */
                fprintf(stderr, "bench_serve: echo: zmq_curve_keypair: %s\n", zmq_strerror(errno));
            }
        }
        pthread_create(&ds[i].thread, NULL, s_echo_dealer_main, &ds[i]);
    }
    pthread_t rt;
    pthread_create(&rt, NULL, s_echo_router_main, &r);
    double first = 0, last = 0;
    uint64_t received = 0;
    for (int i = 0; i < workers; i++) {
        pthread_join(ds[i].thread, NULL);
        first = i == 0 || ds[i].t_start < first ? ds[i].t_start : first;
        last = ds[i].t_end > last ? ds[i].t_end : last;
        received += ds[i].received;
    }
    pthread_join(rt, NULL);
    pthread_barrier_destroy(&start);
    if (received != r.total) {
        fprintf(stderr, "bench_serve: echo: %llu of %llu messages came back\n",
                (unsigned long long)received, (unsigned long long)r.total);
        goto done;
    }
    *secs = last - first;
    *done = received;
    rc = 0;
done:
    if (router)
        zmq_close(router);
    if (rctx)
        zmq_ctx_term(rctx);
    if (dctx)
        zmq_ctx_term(dctx);
    free(ds);
    return rc;
}

/* ---- reference: LMDB puts ------------------------------------------------------ */

/* Prints why an LMDB step of the reference run failed. */
static void s_mdb_fail(const char *what, int rc)
{
    fprintf(stderr, "bench_serve: LMDB: %s: %s\n", what, mdb_strerror(rc));
}

/*
 * Puts `records` * `overlap` values of LMDB_VALUE bytes under 12-byte keys
 * (record id, annotator: the shape of jury's response keys) into a fresh
 * environment, opened with the flags jury's store uses, committing every
 * LMDB_BATCH puts. Keys come record by record, as complete_first fills them.
 */
static int s_lmdb_run(const char *dir, uint64_t records, int overlap, double *secs, uint64_t *puts)
{
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    if (bench_lmdb_fresh("bench_serve", "LMDB", dir, LMDB_MAPSIZE, "responses", &env, &dbi) != 0)
        return -1;
    int rc, result = -1;
    unsigned char k[LMDB_KEY], v[LMDB_VALUE];
    memset(v, 0x5a, sizeof v);
    MDB_val key = {.mv_size = sizeof k, .mv_data = k}, val = {.mv_size = sizeof v, .mv_data = v};
    uint64_t n = 0;
    double t0 = bench_now();
    for (uint64_t i = 0; i < records; i++) {
        for (int j = 0; j < overlap; j++) {
            if (!txn && (rc = mdb_txn_begin(env, NULL, 0, &txn)) != MDB_SUCCESS) {
                s_mdb_fail("begin", rc);
                goto done;
            }
            bench_be(k, (uint64_t)1 << 40 | (i + 1), 8);
            bench_be(k + 8, (uint64_t)(2 + (i + (uint64_t)j) % 32), 4);
            bench_be(v, n, 8); /* a changing value, like a response's timestamp */
            if ((rc = mdb_put(txn, dbi, &key, &val, 0)) != MDB_SUCCESS) {
                s_mdb_fail("put", rc);
                goto done;
            }
            if (++n % LMDB_BATCH == 0 && bench_lmdb_commit("bench_serve", "LMDB", &txn) != 0)
                goto done;
        }
    }
    if (bench_lmdb_commit("bench_serve", "LMDB", &txn) != 0)
        goto done;
    *secs = bench_now() - t0;
    *puts = n;
    result = 0;
done:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return result;
}

/* ---- main ---------------------------------------------------------------------- */

static int s_parse_args(int argc, char **argv, bench_args_t *a)
{
    static const struct option longopts[] = {
        {"records", required_argument, NULL, 'n'}, {"workers", required_argument, NULL, 'w'},
        {"runs", required_argument, NULL, 'r'},    {"overlap", required_argument, NULL, 'o'},
        {"batch", required_argument, NULL, 'b'},   {"no-pipeline", no_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 't'}, {"dir", required_argument, NULL, 'd'},
        {"keep", no_argument, NULL, 'k'},          {"jury", required_argument, NULL, 'j'},
        {"mode", required_argument, NULL, 'm'},    {"json", required_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *env = getenv("JURY_BIN");
    *a = (bench_args_t){.records = 100000,
                        .workers = 32,
                        .runs = 3,
                        .overlap = 3,
                        .batch = 10,
                        .pipeline = true,
                        .mode = {true, true},
                        .timeout_s = 600,
                        .jury = env && *env ? env : JURY_BENCH_JURY};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (bench_int_arg("bench_serve", "records", optarg, 1, 99999999, &v) != 0)
                return 2;
            a->records = (uint64_t)v;
            break;
        case 'w':
            if (bench_int_arg("bench_serve", "workers", optarg, 1, WORKERS_MAX, &v) != 0)
                return 2;
            a->workers = (int)v;
            break;
        case 'r':
            if (bench_int_arg("bench_serve", "runs", optarg, 1, BENCH_RUNS_MAX, &v) != 0)
                return 2;
            a->runs = (int)v;
            break;
        case 'o':
            if (bench_int_arg("bench_serve", "overlap", optarg, 1, 32, &v) != 0)
                return 2;
            a->overlap = (int)v;
            break;
        case 'b':
            if (bench_int_arg("bench_serve", "batch", optarg, 1, JURY_PROTO_BATCH_MAX, &v) != 0)
                return 2;
            a->batch = (int)v;
            break;
        case 'P':
            a->pipeline = false;
            break;
        case 'm': {
            bool both = strcmp(optarg, "both") == 0;
            for (int k = 0; k < MODE_COUNT; k++)
                a->mode[k] = both || strcmp(optarg, s_mode_tags[k]) == 0;
            if (!a->mode[MODE_PLAIN] && !a->mode[MODE_CURVE]) {
                fprintf(stderr, "bench_serve: --mode: give plain, curve or both\n");
                return 2;
            }
            break;
        }
        case 't':
            if (bench_int_arg("bench_serve", "timeout", optarg, 1, 86400, &v) != 0)
                return 2;
            a->timeout_s = (int)v;
            break;
        case 'd':
            a->dir = optarg;
            break;
        case 'k':
            a->keep = true;
            break;
        case 'j':
            a->jury = optarg;
            break;
        case 'J':
            a->json = optarg;
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
    if (a->overlap > a->workers) {
        fprintf(stderr, "bench_serve: --overlap %d needs at least as many --workers\n", a->overlap);
        return 2;
    }
    if (a->mode[MODE_CURVE] && !zmq_has("curve")) {
        fprintf(stderr, "bench_serve: --mode %s: this libzmq has no CURVE support\n",
                a->mode[MODE_PLAIN] ? "both" : "curve");
        return 2;
    }
    if (access(a->jury, X_OK) != 0) {
        fprintf(stderr, "bench_serve: %s: %s (build the jury target, or pass --jury PATH)\n",
                a->jury, strerror(errno));
        return 2;
    }
    return 0;
}

static void s_print_rate(const char *what, uint64_t n, double secs, const char *unit)
{
    char x[32], y[32];
    printf("  %-27s %11s %-9s in %7.3f s = %9s %s/s\n", what, bench_thousands(x, sizeof x, n), unit,
           secs, bench_thousands(y, sizeof y, (uint64_t)((double)n / secs + 0.5)), unit);
}

static void s_print_run(const bench_args_t *a, const bench_run_t *r)
{
    char x[32], y[32], z[32], q[32];
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        if (!a->mode[mode])
            continue;
        const serve_detail_t *d = &r->serve[mode];
        int m = M_SERVE(mode);
        if (mode == MODE_CURVE)
            printf(
                "  %s: setup: dataset create + import %.2f s, keygen + %d x annotator add %.2f s; "
                "first hello (start-up, dataset load) %.3f s\n",
                s_mode_names[mode], d->setup_s, a->workers + 1, d->keys_s, d->load_s);
        else
            printf("  %s: setup: dataset create + import %.2f s; first hello (start-up, dataset "
                   "load) %.3f s\n",
                   s_mode_names[mode], d->setup_s, d->load_s);
        s_print_rate(s_metric_names[m], r->count[m], r->seconds[m], s_metric_units[m]);
        uint64_t requests = d->fetches + d->submits;
        printf(
            "    ack latency p50 %.2f ms, p99 %.2f ms, max %.1f ms; coordinator CPU %.2f s (%.0f%% "
            "of one core), workers CPU %.2f s (%.0f%%)\n",
            d->p50_ms, d->p99_ms, d->max_ms, d->cpu_s,
            d->cpu_s >= 0 ? 100.0 * d->cpu_s / r->seconds[m] : -1.0, d->self_cpu_s,
            d->self_cpu_s >= 0 ? 100.0 * d->self_cpu_s / r->seconds[m] : -1.0);
        printf(
            "    coordinator peak RSS %.1f MiB (VmHWM); at the end %.1f MiB anonymous + %.1f MiB "
            "file-backed (the LMDB map)\n",
            (double)d->rss_kb / 1024.0, (double)d->anon_kb / 1024.0, (double)d->file_kb / 1024.0);
        printf("    requests: %s fetches (%s empty), %s submits = %s requests/s; refused %llu; "
               "store: %llu submitted, %llu/%llu completed\n",
               bench_thousands(x, sizeof x, d->fetches), bench_thousands(y, sizeof y, d->empty),
               bench_thousands(z, sizeof z, d->submits),
               bench_thousands(q, sizeof q, (uint64_t)((double)requests / r->seconds[m] + 0.5)),
               (unsigned long long)d->refused, (unsigned long long)d->stored,
               (unsigned long long)d->completed, (unsigned long long)a->records);
    }
    for (int mode = 0; mode < MODE_COUNT; mode++)
        if (a->mode[mode])
            s_print_rate(s_metric_names[M_ECHO(mode)], r->count[M_ECHO(mode)],
                         r->seconds[M_ECHO(mode)], s_metric_units[M_ECHO(mode)]);
    s_print_rate(s_metric_names[M_LMDB], r->count[M_LMDB], r->seconds[M_LMDB],
                 s_metric_units[M_LMDB]);
}

/* The median, smallest and largest over the n runs of metric num's rate over metric den's. */
static void s_ratio_stats(const bench_run_t *res, int n, int num, int den, double *med, double *lo,
                          double *hi)
{
    double ratio[BENCH_RUNS_MAX];
    for (int i = 0; i < n; i++)
        ratio[i] = res[i].rate[num] / res[i].rate[den];
    *med = bench_median(ratio, n);
    *lo = bench_min(ratio, n);
    *hi = bench_max(ratio, n);
}

static void s_print_summary(const bench_args_t *a, const bench_run_t *res)
{
    int n = a->runs;
    bool both = a->mode[MODE_PLAIN] && a->mode[MODE_CURVE];
    char b[4][32];
    double v[M_COUNT][BENCH_RUNS_MAX], med[M_COUNT];
    for (int m = 0; m < M_COUNT; m++) {
        for (int i = 0; i < n; i++)
            v[m][i] = res[i].rate[m];
        med[m] = bench_median(v[m], n);
    }
    printf("\nsummary: medians of %d run%s (min .. max); %s records, N=%d, %d workers, batch %d, "
           "%s\n",
           n, n == 1 ? "" : "s", bench_thousands(b[0], sizeof b[0], a->records), a->overlap,
           a->workers, a->batch, a->pipeline ? "one fetch ahead" : "no pipelining");
    printf("  %-27s %10s %10s %10s %11s %10s\n", "", "median/s", "min/s", "max/s", "serve/ref",
           "per-run");
    /* The serve run LMDB is compared with: plaintext's when measured. */
    int lmdb_mode = a->mode[MODE_PLAIN] ? MODE_PLAIN : MODE_CURVE;
    for (int m = 0; m < M_COUNT; m++) {
        int mode = m == M_LMDB ? lmdb_mode : m >= M_ECHO_PLAIN ? m - M_ECHO_PLAIN : m;
        if (!a->mode[mode])
            continue;
        printf("  %-27s %10s %10s %10s", s_metric_names[m],
               bench_thousands(b[0], sizeof b[0], (uint64_t)(med[m] + 0.5)),
               bench_thousands(b[1], sizeof b[1], (uint64_t)(bench_min(v[m], n) + 0.5)),
               bench_thousands(b[2], sizeof b[2], (uint64_t)(bench_max(v[m], n) + 0.5)));
        if (m == M_SERVE_PLAIN || m == M_SERVE_CURVE) {
            printf("\n");
            continue;
        }
        double rmed, rlo, rhi;
        s_ratio_stats(res, n, M_SERVE(mode), m, &rmed, &rlo, &rhi);
        printf(" %11.3f %10.3f\n", med[M_SERVE(mode)] / med[m], rmed);
    }
    printf(
        "  serve/ref: ratio of the medians, jury serve in the reference's mode over the reference "
        "(LMDB: %s serve); per-run: median of the ratios within each run\n",
        s_mode_names[lmdb_mode]);
    if (both) {
        double smed, slo, shi, emed, elo, ehi;
        s_ratio_stats(res, n, M_SERVE_CURVE, M_SERVE_PLAIN, &smed, &slo, &shi);
        s_ratio_stats(res, n, M_ECHO_CURVE, M_ECHO_PLAIN, &emed, &elo, &ehi);
        printf("  CURVE/plaintext, ratio of the medians (per run: median, min .. max): jury serve "
               "%.3f (%.3f, %.3f .. %.3f); ZeroMQ echo %.3f (%.3f, %.3f .. %.3f)\n",
               med[M_SERVE_CURVE] / med[M_SERVE_PLAIN], smed, slo, shi,
               med[M_ECHO_CURVE] / med[M_ECHO_PLAIN], emed, elo, ehi);
    }
    printf("  ack latency (submit sent -> results received), median (min .. max) over runs:\n");
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        if (!a->mode[mode])
            continue;
        double p50[BENCH_RUNS_MAX], p99[BENCH_RUNS_MAX];
        for (int i = 0; i < n; i++) {
            p50[i] = res[i].serve[mode].p50_ms;
            p99[i] = res[i].serve[mode].p99_ms;
        }
        printf("    %-10s p50 %.2f ms (%.2f .. %.2f), p99 %.2f ms (%.2f .. %.2f)\n",
               s_mode_names[mode], bench_median(p50, n), bench_min(p50, n), bench_max(p50, n),
               bench_median(p99, n), bench_min(p99, n), bench_max(p99, n));
    }
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        if (!a->mode[mode])
            continue;
        int m = M_SERVE(mode);
        double rss[BENCH_RUNS_MAX], cpu[BENCH_RUNS_MAX], us[BENCH_RUNS_MAX], self[BENCH_RUNS_MAX],
            req[BENCH_RUNS_MAX], anon[BENCH_RUNS_MAX], file[BENCH_RUNS_MAX];
        for (int i = 0; i < n; i++) {
            const serve_detail_t *d = &res[i].serve[mode];
            rss[i] = (double)d->rss_kb / 1024.0;
            anon[i] = (double)d->anon_kb / 1024.0;
            file[i] = (double)d->file_kb / 1024.0;
            cpu[i] = 100.0 * d->cpu_s / res[i].seconds[m];
            us[i] = 1e6 * d->cpu_s / (double)res[i].count[m];
            self[i] = 100.0 * d->self_cpu_s / res[i].seconds[m];
            req[i] = (double)(d->fetches + d->submits) / res[i].seconds[m];
        }
        printf("  coordinator, %s: peak RSS %.1f MiB (%.1f .. %.1f; at the end %.1f anonymous + "
               "%.1f file-backed), CPU %.0f%% of one core (%.1f us/response), %s requests/s "
               "(fetch + submit); workers CPU %.0f%% of one core\n",
               s_mode_names[mode], bench_median(rss, n), bench_min(rss, n), bench_max(rss, n),
               bench_median(anon, n), bench_median(file, n), bench_median(cpu, n),
               bench_median(us, n),
               bench_thousands(b[0], sizeof b[0], (uint64_t)(bench_median(req, n) + 0.5)),
               bench_median(self, n));
    }
    printf("  the workers (this process) and the coordinator share the machine's %ld CPUs",
           sysconf(_SC_NPROCESSORS_ONLN));
    if (both)
        printf("; the mode measured first alternates from run to run");
    printf("\n  target: >= %s durable responses/s on a 2-core machine:",
           bench_thousands(b[0], sizeof b[0], (uint64_t)TARGET_RATE));
    for (int mode = 0, k = 0; mode < MODE_COUNT; mode++) {
        if (!a->mode[mode])
            continue;
        double serve = med[M_SERVE(mode)];
        printf("%s %s %s (median %s responses/s)", k++ ? "," : "", s_mode_names[mode],
               serve >= TARGET_RATE ? "met" : "NOT met",
               bench_thousands(b[1], sizeof b[1], (uint64_t)(serve + 0.5)));
    }
    printf("\n");
    if (both) {
        double ratio = med[M_SERVE_CURVE] / med[M_SERVE_PLAIN];
        printf("  target: CURVE costs at most half of the throughput (CURVE/plaintext >= %.2f): "
               "%s (%.3f)\n",
               TARGET_CURVE_RATIO, ratio >= TARGET_CURVE_RATIO ? "met" : "NOT met", ratio);
    }
}

/* Adds {"median", "min", "max"} of the n values at v to obj under name. */
static void s_json_stats(cJSON *obj, const char *name, const double *v, int n)
{
    cJSON *o = cJSON_AddObjectToObject(obj, name);
    cJSON_AddNumberToObject(o, "median", bench_median(v, n));
    cJSON_AddNumberToObject(o, "min", bench_min(v, n));
    cJSON_AddNumberToObject(o, "max", bench_max(v, n));
}

/* Writes the run's figures to a->json: the set-up, then per mode measured the serve rate, its
 * echo reference, the LMDB reference, ack latency and the coordinator's memory and CPU. */
static int s_write_json(const bench_args_t *a, const bench_run_t *res)
{
    int n = a->runs;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "records", (double)a->records);
    cJSON_AddNumberToObject(root, "workers", a->workers);
    cJSON_AddNumberToObject(root, "overlap", a->overlap);
    cJSON_AddNumberToObject(root, "batch", a->batch);
    cJSON_AddNumberToObject(root, "runs", n);
    cJSON_AddNumberToObject(root, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    double v[BENCH_RUNS_MAX];
    for (int i = 0; i < n; i++)
        v[i] = res[i].rate[M_LMDB];
    s_json_stats(root, "lmdb_puts_per_s", v, n);
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        if (!a->mode[mode])
            continue;
        cJSON *m = cJSON_AddObjectToObject(root, s_mode_tags[mode]);
        for (int i = 0; i < n; i++)
            v[i] = res[i].rate[M_SERVE(mode)];
        s_json_stats(m, "responses_per_s", v, n);
        for (int i = 0; i < n; i++)
            v[i] = res[i].rate[M_ECHO(mode)];
        s_json_stats(m, "echo_per_s", v, n);
        for (int i = 0; i < n; i++)
            v[i] = res[i].serve[mode].p50_ms;
        s_json_stats(m, "ack_p50_ms", v, n);
        for (int i = 0; i < n; i++)
            v[i] = res[i].serve[mode].p99_ms;
        s_json_stats(m, "ack_p99_ms", v, n);
        for (int i = 0; i < n; i++)
            v[i] = (double)res[i].serve[mode].rss_kb / 1024.0;
        s_json_stats(m, "peak_rss_mib", v, n);
        for (int i = 0; i < n; i++)
            v[i] = (double)res[i].serve[mode].anon_kb / 1024.0;
        s_json_stats(m, "anon_mib", v, n);
        for (int i = 0; i < n; i++)
            v[i] = 1e6 * res[i].serve[mode].cpu_s / (double)res[i].count[M_SERVE(mode)];
        s_json_stats(m, "cpu_us_per_response", v, n);
        for (int i = 0; i < n; i++)
            v[i] = (double)res[i].serve[mode].stored;
        s_json_stats(m, "stored", v, n);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = text ? fopen(a->json, "w") : NULL;
    int rc = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    if (rc != 0)
        fprintf(stderr, "bench_serve: %s: %s\n", a->json, strerror(errno));
    return rc;
}

static const char s_settings[] = "{\"fields\":[{\"name\":\"text\",\"type\":\"text\"}],"
                                 "\"questions\":[{\"name\":\"label\",\"type\":\"label_selection\","
                                 "\"labels\":[\"pos\",\"neg\",\"neutral\"]}],"
                                 "\"distribution\":{\"min_submitted\":%d}}\n";

int main(int argc, char **argv)
{
    bench_args_t a;
    int rc = s_parse_args(argc, argv, &a);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    /* jury_keyfile_read keeps the workers' secret keys in libsodium's guarded memory. */
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_serve: sodium_init failed\n");
        return 1;
    }

    char dir[DIR_CAP];
    bool made_dir;
    if ((rc = bench_work_dir("bench_serve", a.dir, "/tmp/jury-bench-serve-XXXXXX", dir, sizeof dir,
                             &made_dir)) != 0)
        return rc;
    char settings[PATH_CAP], input[PATH_CAP], path[PATH_CAP];
    snprintf(settings, sizeof settings, "%s/settings.json", dir);
    snprintf(input, sizeof input, "%s/records.jsonl", dir);
    static bench_run_t res[BENCH_RUNS_MAX];
    rc = 1;

    FILE *f = fopen(settings, "w");
    if (!f || fprintf(f, s_settings, a.overlap) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_serve: %s: %s\n", settings, strerror(errno));
        goto done;
    }
    printf("jury serve benchmark: %llu records, N=%d, %d workers, batch %d, %s, %d run%s, in %s\n",
           (unsigned long long)a.records, a.overlap, a.workers, a.batch,
           a.pipeline ? "one fetch ahead" : "no pipelining", a.runs, a.runs == 1 ? "" : "s", dir);
    bench_print_machine();
    s_print_libraries();
    printf("jury:      %s\n", a.jury);
    uint64_t bytes;
    if (s_generate(input, a.records, &bytes) != 0)
        goto done;
    printf("input:     %s, %.1f bytes/record\n", input, (double)bytes / (double)a.records);

    /* Interleave the measurements so that each run's references see the same machine weather;
     * with both modes, the one that goes first alternates from run to run. */
    for (int run = 0; run < a.runs; run++) {
        bench_run_t *r = &res[run];
        r->first = a.mode[MODE_PLAIN] ? (a.mode[MODE_CURVE] ? run % 2 : MODE_PLAIN) : MODE_CURVE;
        int order[MODE_COUNT] = {r->first, 1 - r->first};
        int nmodes = a.mode[MODE_PLAIN] && a.mode[MODE_CURVE] ? 2 : 1;
        if (nmodes == 2)
            printf("\nrun %d/%d (%s first)\n", run + 1, a.runs, s_mode_names[r->first]);
        else
            printf("\nrun %d/%d\n", run + 1, a.runs);
        for (int k = 0; k < nmodes; k++) {
            if (s_serve_run(&a, dir, run, order[k], settings, input, r) != 0)
                goto done;
            if (!a.keep)
                s_remove_run(dir, run, order[k], a.workers, false);
        }
        uint64_t total = a.records * (uint64_t)a.overlap;
        for (int k = 0; k < nmodes; k++) {
            int m = M_ECHO(order[k]);
            if (s_echo_run(a.workers, total, order[k] == MODE_CURVE, &r->seconds[m],
                           &r->count[m]) != 0)
                goto done;
            r->rate[m] = (double)r->count[m] / r->seconds[m];
        }
        snprintf(path, sizeof path, "%s/lmdb-%d", dir, run + 1);
        if (s_lmdb_run(path, a.records, a.overlap, &r->seconds[M_LMDB], &r->count[M_LMDB]) != 0)
            goto done;
        r->rate[M_LMDB] = (double)r->count[M_LMDB] / r->seconds[M_LMDB];
        if (!a.keep)
            bench_remove_env(path);
        s_print_run(&a, r);
    }
    s_print_summary(&a, res);
    rc = a.json && s_write_json(&a, res) != 0 ? 1 : 0;
done:
    if (!a.keep) {
        unlink(input);
        unlink(settings);
        for (int run = 0; run < a.runs; run++) {
            for (int mode = 0; mode < MODE_COUNT; mode++)
                s_remove_run(dir, run, mode, a.workers, rc == 0);
            snprintf(path, sizeof path, "%s/lmdb-%d", dir, run + 1);
            bench_remove_env(path);
        }
        if (made_dir && rc == 0)
            rmdir(dir);
        else if (rc != 0)
            fprintf(stderr, "bench_serve: logs kept in %s\n", dir);
    } else {
        printf("kept: %s\n", dir);
    }
    return rc;
}
