/* metrics.c: the metrics registry (atomic counters, a snapshot of gauges swapped in once a tick),
 * its Prometheus text rendering, and the libmicrohttpd server that serves it. */
#include "metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "jury_log.h"

/* Records statuses of jury_records, in the order they render. */
#define RECORD_STATUSES 5
/* The HTTP server's bounds: connections at once, and seconds one may sit idle. */
#define HTTP_CONNECTIONS 64
#define HTTP_IDLE_S      10

/* jury_commit_seconds's bucket bounds: in nanoseconds to compare, as text for the le label. */
static const uint64_t s_bound_ns[JURY_METRICS_COMMIT_BUCKETS] = {
    500000,   1000000,   2500000,   5000000,   10000000,  25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000};
static const char *const s_bound_text[JURY_METRICS_COMMIT_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1"};

static const char *const s_auth_names[JURY_METRICS_AUTH_COUNT] = {
    "unknown_key", "disabled", "malformed", "store_error", "hello_denied"};

static const char *const s_record_names[RECORD_STATUSES] = {"pending", "completed", "discarded",
                                                            "contested", "gold"};

struct jury_metrics_dataset {
    char *name;                                        /* the dataset's name (owned) */
    _Atomic uint64_t responses[JURY_RESPONSE_NSTATUS]; /* stored responses by status */
    struct jury_metrics_dataset *next;                 /* the registry's list, oldest first */
};

/* A dataset in a snapshot. */
typedef struct {
    size_t name;                       /* its name: an offset into the snapshot's names */
    uint64_t leases;                   /* leases active */
    uint64_t records[RECORD_STATUSES]; /* records by status, in s_record_names's order */
} snap_dataset_t;

/* A question's live alpha in a snapshot. */
typedef struct {
    size_t dataset;  /* the dataset's name: an offset into the snapshot's names */
    size_t question; /* the question's name: an offset into names */
    double alpha;    /* its alpha */
} snap_alpha_t;

/* The gauges of one tick. Its arrays keep their memory from one snapshot to the next. */
typedef struct {
    uint64_t workers;        /* sessions open */
    snap_dataset_t *ds;      /* datasets (owned) */
    size_t nds, capds;       /* used and allocated */
    snap_alpha_t *alpha;     /* alphas (owned) */
    size_t nalpha, capalpha; /* used and allocated */
    char *names;             /* NUL-terminated names, one after the other (owned) */
    size_t nnames, capnames; /* bytes used and allocated */
    bool failed;             /* memory ran out while it was made: publish drops it */
} snapshot_t;

struct jury_metrics {
    char *version;  /* jury_build_info's version (owned) */
    double started; /* process_start_time_seconds */
    /* jury_commit_seconds: per bucket (not cumulative; the last is over the last bound) */
    _Atomic uint64_t commit_bucket[JURY_METRICS_COMMIT_BUCKETS + 1];
    _Atomic uint64_t commit_sum_ns;                 /* the sum of the commits observed */
    _Atomic uint64_t commit_failures;               /* jury_commit_failures_total */
    _Atomic uint64_t auth[JURY_METRICS_AUTH_COUNT]; /* jury_auth_failures_total by reason */
    pthread_mutex_t mu;                             /* guards datasets' list and live */
    jury_metrics_dataset_t *datasets;               /* dataset handles, oldest first (owned) */
    jury_metrics_dataset_t **tail;                  /* where the next handle goes */
    snapshot_t snaps[2];                            /* the two snapshots live and staging use */
    snapshot_t *live;                               /* the one rendered (under mu) */
    snapshot_t *staging;                            /* the one the publishing thread makes */
    struct MHD_Daemon *mhd;                         /* the HTTP server, or NULL */
    uint16_t port;                                  /* the port it listens on */
    char mhd_error[256];                            /* microhttpd's last message */
};

/* ---- the registry ------------------------------------------------------------------------- */

jury_err jury_metrics_new(jury_metrics_t **out, const char *version)
{
    if (!out || !version)
        return JURY_EINVAL;
    *out = NULL;
    jury_metrics_t *m = calloc(1, sizeof *m);
    if (!m)
        return JURY_ENOMEM;
    if (!(m->version = strdup(version)) || pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->version);
        free(m);
        return JURY_ENOMEM;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Milliseconds are plenty, and they render short. */
    m->started = (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
    for (size_t i = 0; i < sizeof m->commit_bucket / sizeof m->commit_bucket[0]; i++)
        atomic_init(&m->commit_bucket[i], 0);
    atomic_init(&m->commit_sum_ns, 0);
    atomic_init(&m->commit_failures, 0);
    for (size_t i = 0; i < JURY_METRICS_AUTH_COUNT; i++)
        atomic_init(&m->auth[i], 0);
    m->tail = &m->datasets;
    m->live = &m->snaps[0];
    m->staging = &m->snaps[1];
    *out = m;
    return JURY_OK;
}

static void s_snapshot_free(snapshot_t *s)
{
    free(s->ds);
    free(s->alpha);
    free(s->names);
}

void jury_metrics_destroy(jury_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jury_metrics_t *m = *self_p;
    if (m->mhd)
        MHD_stop_daemon(m->mhd);
    while (m->datasets) {
        jury_metrics_dataset_t *d = m->datasets;
        m->datasets = d->next;
        free(d->name);
        free(d);
    }
    s_snapshot_free(&m->snaps[0]);
    s_snapshot_free(&m->snaps[1]);
    pthread_mutex_destroy(&m->mu);
    free(m->version);
    free(m);
    *self_p = NULL;
}

/* ---- hot path ----------------------------------------------------------------------------- */

uint64_t jury_metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void jury_metrics_commit(jury_metrics_t *m, uint64_t ns, bool ok)
{
    if (!m)
        return;
    if (!ok) {
        atomic_fetch_add_explicit(&m->commit_failures, 1, memory_order_relaxed);
        return;
    }
    size_t b = 0;
    while (b < JURY_METRICS_COMMIT_BUCKETS && ns > s_bound_ns[b])
        b++;
    atomic_fetch_add_explicit(&m->commit_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->commit_sum_ns, ns, memory_order_relaxed);
}

void jury_metrics_auth_failure(jury_metrics_t *m, jury_metrics_auth reason)
{
    if (m && (unsigned)reason < JURY_METRICS_AUTH_COUNT)
        atomic_fetch_add_explicit(&m->auth[reason], 1, memory_order_relaxed);
}

jury_metrics_dataset_t *jury_metrics_dataset(jury_metrics_t *m, const char *name)
{
    if (!m || !name)
        return NULL;
    pthread_mutex_lock(&m->mu);
    jury_metrics_dataset_t *d = m->datasets;
    while (d && strcmp(d->name, name) != 0)
        d = d->next;
    if (!d && (d = calloc(1, sizeof *d)) != NULL) {
        if (!(d->name = strdup(name))) {
            free(d);
            d = NULL;
        } else {
            for (size_t i = 0; i < JURY_RESPONSE_NSTATUS; i++)
                atomic_init(&d->responses[i], 0);
            *m->tail = d;
            m->tail = &d->next;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return d;
}

void jury_metrics_responses(jury_metrics_dataset_t *d, jury_response_status status, uint64_t n)
{
    if (d && (unsigned)status < JURY_RESPONSE_NSTATUS)
        atomic_fetch_add_explicit(&d->responses[status], n, memory_order_relaxed);
}

/* ---- the snapshot ------------------------------------------------------------------------- */

/* Copies name into the staging snapshot's names; its offset goes to *at. False when out of
 * memory (the snapshot is marked failed). */
static bool s_name(snapshot_t *s, const char *name, size_t *at)
{
    size_t n = strlen(name) + 1;
    if (s->capnames - s->nnames < n) {
        size_t ncap = s->capnames ? s->capnames : 256;
        while (ncap - s->nnames < n)
            ncap *= 2;
        char *v = realloc(s->names, ncap);
        if (!v) {
            s->failed = true;
            return false;
        }
        s->names = v;
        s->capnames = ncap;
    }
    memcpy(s->names + s->nnames, name, n);
    *at = s->nnames;
    s->nnames += n;
    return true;
}

/* Makes room for one more entry of size bytes in *arr (n used, *cap allocated). */
static bool s_room(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *v = realloc(*arr, ncap * size);
    if (!v)
        return false;
    *arr = v;
    *cap = ncap;
    return true;
}

void jury_metrics_snapshot_begin(jury_metrics_t *m)
{
    if (!m)
        return;
    snapshot_t *s = m->staging;
    s->workers = 0;
    s->nds = s->nalpha = s->nnames = 0;
    s->failed = false;
}

void jury_metrics_snapshot_workers(jury_metrics_t *m, uint64_t connected)
{
    if (m)
        m->staging->workers = connected;
}

void jury_metrics_snapshot_dataset(jury_metrics_t *m, const char *dataset, uint64_t leases,
                                   const jury_counts_t *counts)
{
    if (!m || !dataset || !counts)
        return;
    snapshot_t *s = m->staging;
    size_t name;
    if (!s_room((void **)&s->ds, s->nds, &s->capds, sizeof *s->ds)) {
        s->failed = true;
        return;
    }
    if (!s_name(s, dataset, &name))
        return;
    snap_dataset_t *d = &s->ds[s->nds++];
    uint64_t settled = counts->completed + counts->discarded;
    d->name = name;
    d->leases = leases;
    d->records[0] = counts->records > settled ? counts->records - settled : 0;
    d->records[1] = counts->completed;
    d->records[2] = counts->discarded;
    d->records[3] = counts->contested;
    d->records[4] = counts->gold;
}

void jury_metrics_snapshot_alpha(jury_metrics_t *m, const char *dataset, const char *question,
                                 double alpha)
{
    if (!m || !dataset || !question)
        return;
    snapshot_t *s = m->staging;
    size_t dn, qn;
    if (!s_room((void **)&s->alpha, s->nalpha, &s->capalpha, sizeof *s->alpha)) {
        s->failed = true;
        return;
    }
    if (!s_name(s, dataset, &dn) || !s_name(s, question, &qn))
        return;
    s->alpha[s->nalpha++] = (snap_alpha_t){.dataset = dn, .question = qn, .alpha = alpha};
}

void jury_metrics_snapshot_publish(jury_metrics_t *m)
{
    if (!m)
        return;
    if (m->staging->failed) {
        jury_log(JURY_LOG_WARN, "metrics: out of memory making a snapshot; the last one stays");
        return;
    }
    pthread_mutex_lock(&m->mu);
    snapshot_t *s = m->live;
    m->live = m->staging;
    m->staging = s;
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ---------------------------------------------------------------------------- */

/* Writes v: a whole number as an integer, another as the shortest decimal that reads back as v;
 * NaN and the infinities as the format spells them. */
static void s_number(FILE *f, double v)
{
    if (isnan(v)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "+Inf" : "-Inf", f);
        return;
    }
    char buf[40];
    /* Counts (and other whole numbers) as integers, never in exponent form. */
    if (v == floor(v) && fabs(v) < 1e15) {
        fprintf(f, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

/* Writes a label value with '\\', '"' and newline escaped, as the text format asks. */
static void s_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '"')
            fputs("\\\"", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

/* Writes the HELP and TYPE lines of a metric family (help's '\\' and newlines escaped). */
static void s_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s ", name);
    for (; *help; help++) {
        if (*help == '\\')
            fputs("\\\\", f);
        else if (*help == '\n')
            fputs("\\n", f);
        else
            fputc(*help, f);
    }
    fprintf(f, "\n# TYPE %s %s\n", name, type);
}

/* Writes one sample: name, then label pairs (name, value strings; n of them), then the value. */
static void s_sample(FILE *f, const char *name, double value, size_t n, ...)
{
    fputs(name, f);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        const char *v = va_arg(ap, const char *);
        fprintf(f, "%s%s=\"", i ? "," : "{", k);
        s_label(f, v);
        fputc('"', f);
    }
    va_end(ap);
    fputs(n ? "} " : " ", f);
    s_number(f, value);
    fputc('\n', f);
}

static uint64_t s_load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

jury_err jury_metrics_render(jury_metrics_t *m, char **out, size_t *len)
{
    if (!m || !out || !len)
        return JURY_EINVAL;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return JURY_ENOMEM;
    s_family(f, "jury_build_info", "gauge", "The version of jury serving; always 1.");
    s_sample(f, "jury_build_info", 1, 1, "version", m->version);
    s_family(f, "process_start_time_seconds", "gauge",
             "When jury serve started, in seconds since the Unix epoch.");
    s_sample(f, "process_start_time_seconds", m->started, 0);

    pthread_mutex_lock(&m->mu);
    const snapshot_t *s = m->live;
    s_family(f, "jury_workers_connected", "gauge",
             "Worker sessions open: connections that said hello and have not left.");
    s_sample(f, "jury_workers_connected", (double)s->workers, 0);
    s_family(f, "jury_leases_active", "gauge", "Records leased to annotators now, by dataset.");
    for (size_t i = 0; i < s->nds; i++)
        s_sample(f, "jury_leases_active", (double)s->ds[i].leases, 1, "dataset",
                 s->names + s->ds[i].name);
    s_family(f, "jury_records", "gauge",
             "Records by dataset and status: pending + completed + discarded are all the "
             "dataset's records; contested ones are among the completed; gold records are apart.");
    for (size_t i = 0; i < s->nds; i++)
        for (size_t k = 0; k < RECORD_STATUSES; k++)
            s_sample(f, "jury_records", (double)s->ds[i].records[k], 2, "dataset",
                     s->names + s->ds[i].name, "status", s_record_names[k]);
    s_family(f, "jury_agreement_alpha", "gauge",
             "Live Krippendorff's alpha of a label or rating question over completed records.");
    for (size_t i = 0; i < s->nalpha; i++)
        s_sample(f, "jury_agreement_alpha", s->alpha[i].alpha, 2, "dataset",
                 s->names + s->alpha[i].dataset, "question", s->names + s->alpha[i].question);
    s_family(f, "jury_responses_total", "counter",
             "Responses stored since jury serve started, by dataset and status.");
    for (jury_metrics_dataset_t *d = m->datasets; d; d = d->next)
        for (int st = 0; st < JURY_RESPONSE_NSTATUS; st++)
            s_sample(f, "jury_responses_total", (double)s_load(&d->responses[st]), 2, "dataset",
                     d->name, "status", jury_response_status_name((jury_response_status)st));
    pthread_mutex_unlock(&m->mu);

    /* The count and the +Inf bucket are the buckets' sum, so that they agree whatever commits
     * land while this reads. */
    s_family(f, "jury_commit_seconds", "histogram",
             "Time to commit one loop turn's responses in one transaction, fsync included.");
    uint64_t cum = 0;
    for (size_t b = 0; b < JURY_METRICS_COMMIT_BUCKETS; b++) {
        cum += s_load(&m->commit_bucket[b]);
        s_sample(f, "jury_commit_seconds_bucket", (double)cum, 1, "le", s_bound_text[b]);
    }
    cum += s_load(&m->commit_bucket[JURY_METRICS_COMMIT_BUCKETS]);
    s_sample(f, "jury_commit_seconds_bucket", (double)cum, 1, "le", "+Inf");
    s_sample(f, "jury_commit_seconds_sum", (double)s_load(&m->commit_sum_ns) / 1e9, 0);
    s_sample(f, "jury_commit_seconds_count", (double)cum, 0);
    s_family(f, "jury_commit_failures_total", "counter",
             "Group commits that failed: none of their responses was stored, and their workers "
             "were told to send them again.");
    s_sample(f, "jury_commit_failures_total", (double)s_load(&m->commit_failures), 0);
    s_family(f, "jury_auth_failures_total", "counter",
             "Connections (CURVE handshakes) and sessions (hello) refused, by reason.");
    for (size_t r = 0; r < JURY_METRICS_AUTH_COUNT; r++)
        s_sample(f, "jury_auth_failures_total", (double)s_load(&m->auth[r]), 1, "reason",
                 s_auth_names[r]);
    if (fclose(f) != 0) {
        free(buf);
        return JURY_ENOMEM;
    }
    *out = buf;
    *len = size;
    return JURY_OK;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static bool s_port(const char *text, uint16_t *port)
{
    size_t n = strspn(text, "0123456789");
    if (n == 0 || n > 5 || text[n])
        return false;
    unsigned long v = strtoul(text, NULL, 10);
    if (v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

jury_err jury_metrics_addr_parse(const char *text, struct sockaddr_storage *addr,
                                 socklen_t *addr_len, char *why, size_t cap)
{
    if (!text || !addr || !addr_len) {
        snprintf(why, cap, "no address given");
        return JURY_EINVAL;
    }
    memset(addr, 0, sizeof *addr);
    char host[64];
    const char *port_text;
    uint16_t port;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        size_t n = close ? (size_t)(close - text - 1) : 0;
        if (!close || close[1] != ':' || n == 0 || n >= sizeof host) {
            snprintf(why, cap, "'%.100s' is not [IPv6]:PORT (e.g. [::1]:9464)", text);
            return JURY_EINVAL;
        }
        memcpy(host, text + 1, n);
        host[n] = '\0';
        port_text = close + 2;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            snprintf(why, cap, "'%.100s': '%s' is not an IPv6 address", text, host);
            return JURY_EINVAL;
        }
        if (!s_port(port_text, &port)) {
            snprintf(why, cap, "'%.100s': the port must be a number 0..65535", text);
            return JURY_EINVAL;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *addr_len = sizeof *a6;
        return JURY_OK;
    }
    const char *colon = strrchr(text, ':');
    size_t n = colon ? (size_t)(colon - text) : 0;
    if (!colon || n == 0) {
        snprintf(why, cap, "'%.100s' is not ADDRESS:PORT (e.g. 127.0.0.1:9464)", text);
        return JURY_EINVAL;
    }
    if (n >= sizeof host || memchr(text, ':', n)) {
        snprintf(why, cap, "'%.100s': write an IPv6 address in brackets, e.g. [::1]:9464", text);
        return JURY_EINVAL;
    }
    memcpy(host, text, n);
    host[n] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        snprintf(why, cap, "'%.100s': '%s' is not an IPv4 address (A.B.C.D) or localhost", text,
                 host);
        return JURY_EINVAL;
    }
    if (!s_port(colon + 1, &port)) {
        snprintf(why, cap, "'%.100s': the port must be a number 0..65535", text);
        return JURY_EINVAL;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *addr_len = sizeof *a4;
    return JURY_OK;
}

/* Queues a reply of len bytes at body; mode says whether microhttpd copies or frees it. */
static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                               void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    bool ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES &&
              MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES;
    if (ok && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") == MHD_YES;
    enum MHD_Result ret = ok ? MHD_queue_response(c, status, r) : MHD_NO;
    MHD_destroy_response(r);
    return ret;
}

/* Answers every request on its first call, before any body is read: /metrics to GET and HEAD. */
static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)req_cls;
    jury_metrics_t *m = cls;
    static const char not_allowed[] = "only GET and HEAD\n";
    static const char not_found[] = "not found: the metrics are at /metrics\n";
    static const char failed[] = "out of memory\n";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                       (void *)not_allowed, sizeof not_allowed - 1, MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/metrics") != 0)
        return s_reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", (void *)not_found,
                       sizeof not_found - 1, MHD_RESPMEM_PERSISTENT);
    char *text;
    size_t len;
    if (jury_metrics_render(m, &text, &len) != JURY_OK)
        return s_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                       (void *)failed, sizeof failed - 1, MHD_RESPMEM_PERSISTENT);
    return s_reply(c, MHD_HTTP_OK, JURY_METRICS_CONTENT_TYPE, text, len, MHD_RESPMEM_MUST_FREE);
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* microhttpd's logger: keeps the last message, for a failure to start. */
static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    jury_metrics_t *m = cls;
    vsnprintf(m->mhd_error, sizeof m->mhd_error, fmt, ap);
    size_t n = strlen(m->mhd_error);
    while (n > 0 && (m->mhd_error[n - 1] == '\n' || m->mhd_error[n - 1] == '\r'))
        m->mhd_error[--n] = '\0';
}

jury_err jury_metrics_listen(jury_metrics_t *m, const char *addr_text, char *why, size_t cap)
{
    if (!m || !addr_text) {
        snprintf(why, cap, "no address given");
        return JURY_EINVAL;
    }
    if (m->mhd) {
        snprintf(why, cap, "already serving metrics on port %u", m->port);
        return JURY_EBUSY;
    }
    struct sockaddr_storage addr;
    socklen_t addr_len;
    jury_err err = jury_metrics_addr_parse(addr_text, &addr, &addr_len, why, cap);
    if (err != JURY_OK)
        return err;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The server's thread inherits this mask: with every signal blocked there, SIGTERM and
     * SIGINT go to the serve loop's thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->mhd_error[0] = '\0';
    /* The port goes in twice: microhttpd binds the address but names this port in messages. */
    uint16_t port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                     : ((struct sockaddr_in *)&addr)->sin_port);
    m->mhd = MHD_start_daemon(
        flags, port, NULL, NULL, s_access, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)HTTP_IDLE_S, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, m, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->mhd) {
        snprintf(why, cap, "cannot serve HTTP on %.100s: %s", addr_text,
                 m->mhd_error[0] ? m->mhd_error : "microhttpd failed to start");
        return JURY_EINVAL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
    m->port = di ? di->port : 0;
    return JURY_OK;
}

uint16_t jury_metrics_port(const jury_metrics_t *m)
{
    return m && m->mhd ? m->port : 0;
}
