/* test_metrics.c: the metrics registry and its HTTP server: a known population scraped over a real
 * socket, every line checked by a strict parser of the Prometheus text format 0.0.4, exact lines;
 * 404, 405 and HEAD; snapshots; addresses; and a real `jury serve --metrics`. */
#include "testutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <threads.h>
#include <time.h>

#include <cmocka.h>

#include "metrics.h"

/* ---- an HTTP client over a real socket ----------------------------------------------------- */

/* A reply: status code, the headers' text, the body. */
typedef struct {
    int status;    /* HTTP status code */
    char *headers; /* the header lines, "\r\n" between (owned) */
    char *body;    /* the body (owned, NUL-terminated) */
    size_t len;    /* bytes in body */
} reply_t;

static void reply_free(reply_t *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Sends `METHOD PATH HTTP/1.1` to 127.0.0.1:port and reads the whole reply (the connection
 * closes after it). */
static reply_t http(uint16_t port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    bool post = strcmp(method, "POST") == 0; /* a POST carries a small body */
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n%s", method,
                     path, post ? "Content-Length: 3\r\n" : "", post ? "abc" : "");
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_true(poll(&p, 1, 5000) == 1); /* a reply within 5 s */
        if (cap - len < 4096)
            buf = realloc(buf, cap *= 2);
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    reply_t r = {0};
    char *end = strstr(buf, "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d ", &r.status), 1);
    r.headers = strndup(buf, (size_t)(end - buf));
    r.len = len - (size_t)(end + 4 - buf);
    r.body = malloc(r.len + 1);
    memcpy(r.body, end + 4, r.len);
    r.body[r.len] = '\0';
    free(buf);
    return r;
}

/* The value of header name (case-insensitive) in r, copied into out; false when absent. */
static bool header(const reply_t *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->headers, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e ? e - v : (ptrdiff_t)strlen(v)), v);
            return true;
        }
    }
    return false;
}

/* ---- a strict parser of the text format (version 0.0.4) ------------------------------------- */

/* Everything the parser keeps of a scrape. */
typedef struct {
    char **lines;      /* every line, in order (owned) */
    size_t nlines;     /* how many */
    char *series[512]; /* name{labels} of every sample seen, for the duplicate check (owned) */
    size_t nseries;    /* how many */
} scrape_t;

static void scrape_free(scrape_t *s)
{
    for (size_t i = 0; i < s->nlines; i++)
        free(s->lines[i]);
    free(s->lines);
    for (size_t i = 0; i < s->nseries; i++)
        free(s->series[i]);
    memset(s, 0, sizeof *s);
}

static bool name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == ':';
}

/* Reads a metric name at *p into out; fails the test unless there is one. */
static void parse_name(const char **p, char *out, size_t cap, size_t line)
{
    size_t n = 0;
    if (!name_start(**p))
        fail_msg("line %zu: a metric name must start with a letter, '_' or ':'", line);
    while (name_char(**p) && n + 1 < cap)
        out[n++] = *(*p)++;
    out[n] = '\0';
}

/* Reads a sample value (a Go float: NaN, +Inf, -Inf or a decimal) from *p to the end of the line.
 */
static double parse_value(const char *p, size_t line)
{
    if (strcmp(p, "NaN") == 0)
        return NAN;
    if (strcmp(p, "+Inf") == 0)
        return INFINITY;
    if (strcmp(p, "-Inf") == 0)
        return -INFINITY;
    char *end;
    if (!*p || isspace((unsigned char)*p))
        fail_msg("line %zu: no value", line);
    double v = strtod(p, &end);
    if (*end)
        fail_msg("line %zu: '%s' is not a value (and timestamps are not expected)", line, p);
    if (isnan(v) || isinf(v))
        fail_msg("line %zu: '%s': NaN and infinities are spelt NaN, +Inf, -Inf", line, p);
    return v;
}

/* The family a sample belongs to: its name, or for a histogram's series the name they extend. */
static void family_of(const char *sample, const char *current, const char *type, char *out,
                      size_t cap)
{
    snprintf(out, cap, "%s", sample);
    if (strcmp(type, "histogram") != 0)
        return;
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(sample), k = strlen(suffixes[i]);
        if (n > k && strcmp(sample + n - k, suffixes[i]) == 0 &&
            strncmp(sample, current, n - k) == 0 && current[n - k] == '\0') {
            snprintf(out, cap, "%.*s", (int)(n - k), sample);
            return;
        }
    }
}

/*
 * Parses a whole scrape, failing the test at the first line that breaks the format: every line
 * is "# HELP name text", "# TYPE name type" or a sample "name{label="value",...} value"; HELP,
 * then TYPE, then the samples of a family, each family once and together; label names and
 * escapes (\\ \" \n) as the format allows, no duplicate series, counters named *_total and never
 * negative, histogram buckets with ascending le ending at +Inf, cumulative counts, and _count
 * equal to the +Inf bucket. Keeps every line for exact comparison.
 */
static scrape_t parse_scrape(const char *body, size_t len)
{
    scrape_t s = {0};
    assert_true(len > 0);
    assert_int_equal(body[len - 1], '\n');
    assert_int_equal(strlen(body), len); /* no NUL inside */
    char families[64][128];
    size_t nfamilies = 0;
    char family[128] = "", type[32] = "", help_of[128] = "";
    double last_le = -INFINITY, last_bucket = 0, inf_bucket = -1;
    bool saw_count = false;
    size_t line = 0;
    for (const char *p = body; p < body + len;) {
        const char *eol = strchr(p, '\n');
        char *text = strndup(p, (size_t)(eol - p));
        p = eol + 1;
        line++;
        s.lines = realloc(s.lines, (s.nlines + 1) * sizeof *s.lines);
        s.lines[s.nlines++] = text;
        if (!*text)
            fail_msg("line %zu: empty", line);
        if (strchr(text, '\r'))
            fail_msg("line %zu: a carriage return", line);
        if (text[0] == '#') {
            char name[128];
            const char *q = text + 1;
            bool is_help = strncmp(q, " HELP ", 6) == 0, is_type = strncmp(q, " TYPE ", 6) == 0;
            if (!is_help && !is_type)
                fail_msg("line %zu: a comment that is neither HELP nor TYPE: %s", line, text);
            q += 6;
            parse_name(&q, name, sizeof name, line);
            if (*q != ' ')
                fail_msg("line %zu: a blank must follow the name", line);
            q++;
            if (is_help) {
                for (size_t i = 0; i < nfamilies; i++)
                    if (strcmp(families[i], name) == 0)
                        fail_msg("line %zu: %s's HELP again", line, name);
                for (const char *e = q; *e; e++)
                    if (*e == '\\' && e[1] != '\\' && e[1] != 'n')
                        fail_msg("line %zu: HELP escapes only \\\\ and \\n", line);
                    else if (*e == '\\')
                        e++;
                if (!*q)
                    fail_msg("line %zu: an empty HELP", line);
                if (family[0] && strcmp(type, "histogram") == 0 && !saw_count)
                    fail_msg("line %zu: histogram %s has no _count", line, family);
                snprintf(help_of, sizeof help_of, "%s", name);
                snprintf(families[nfamilies++], sizeof families[0], "%s", name);
                snprintf(family, sizeof family, "%s", name);
                type[0] = '\0';
            } else {
                if (strcmp(help_of, name) != 0 || type[0])
                    fail_msg("line %zu: TYPE of %s must follow its HELP, once", line, name);
                if (strcmp(q, "counter") != 0 && strcmp(q, "gauge") != 0 &&
                    strcmp(q, "histogram") != 0)
                    fail_msg("line %zu: type '%s' (this exporter has counters, gauges and "
                             "histograms)",
                             line, q);
                if (strcmp(q, "counter") == 0 &&
                    (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total") != 0))
                    fail_msg("line %zu: counter %s is not named *_total", line, name);
                snprintf(type, sizeof type, "%s", q);
                last_le = -INFINITY, last_bucket = 0, inf_bucket = -1, saw_count = false;
            }
            continue;
        }
        /* A sample. */
        const char *q = text;
        char name[128], fam[128], series[2048], le[512] = "";
        parse_name(&q, name, sizeof name, line);
        if (!type[0])
            fail_msg("line %zu: sample %s before its family's TYPE", line, name);
        family_of(name, family, type, fam, sizeof fam);
        if (strcmp(fam, family) != 0)
            fail_msg("line %zu: sample %s outside its family (now %s)", line, name, family);
        size_t sl = (size_t)snprintf(series, sizeof series, "%s", name);
        if (*q == '{') {
            q++;
            char prev[64] = "";
            for (bool first = true; *q != '}'; first = false) {
                if (!first) {
                    if (*q != ',')
                        fail_msg("line %zu: ',' or '}' expected after a label", line);
                    q++;
                }
                char label[64];
                size_t n = 0;
                if (!isalpha((unsigned char)*q) && *q != '_')
                    fail_msg("line %zu: a label name must start with a letter or '_'", line);
                while ((isalnum((unsigned char)*q) || *q == '_') && n + 1 < sizeof label)
                    label[n++] = *q++;
                label[n] = '\0';
                if (strncmp(label, "__", 2) == 0)
                    fail_msg("line %zu: label names starting with __ are reserved", line);
                if (strcmp(label, prev) == 0)
                    fail_msg("line %zu: label %s twice", line, label);
                snprintf(prev, sizeof prev, "%s", label);
                if (q[0] != '=' || q[1] != '"')
                    fail_msg("line %zu: label %s: =\" expected", line, label);
                q += 2;
                char value[512];
                size_t vn = 0;
                for (; *q != '"'; q++) {
                    if (!*q)
                        fail_msg("line %zu: label %s: no closing '\"'", line, label);
                    if (vn + 1 >= sizeof value)
                        fail_msg("line %zu: label %s: a value over %zu bytes", line, label,
                                 sizeof value);
                    if (*q == '\\') {
                        q++;
                        if (*q != '\\' && *q != '"' && *q != 'n')
                            fail_msg("line %zu: label %s: escapes are \\\\, \\\" and \\n", line,
                                     label);
                        value[vn++] = *q == 'n' ? '\n' : *q;
                    } else {
                        value[vn++] = *q;
                    }
                }
                value[vn] = '\0';
                q++;
                if (strcmp(label, "le") == 0)
                    snprintf(le, sizeof le, "%s", value);
                sl += (size_t)snprintf(series + sl, sizeof series - sl, "%s%s=%s",
                                       first ? "{" : ",", label, value);
            }
            q++;
            sl += (size_t)snprintf(series + sl, sizeof series - sl, "}");
        }
        if (*q != ' ')
            fail_msg("line %zu: one blank before the value", line);
        double v = parse_value(q + 1, line);
        for (size_t i = 0; i < s.nseries; i++)
            if (strcmp(s.series[i], series) == 0)
                fail_msg("line %zu: series %s twice", line, series);
        s.series[s.nseries++] = strdup(series);
        if (strcmp(type, "counter") == 0 && !(v >= 0))
            fail_msg("line %zu: a counter below 0", line);
        if (strcmp(type, "histogram") == 0) {
            size_t n = strlen(name);
            if (n > 7 && strcmp(name + n - 7, "_bucket") == 0) {
                if (!le[0])
                    fail_msg("line %zu: a bucket without le", line);
                if (inf_bucket >= 0)
                    fail_msg("line %zu: a bucket after +Inf", line);
                double bound = parse_value(le, line);
                if (!(bound > last_le) || v < last_bucket)
                    fail_msg("line %zu: buckets must ascend in le and in count", line);
                last_le = bound, last_bucket = v;
                if (isinf(bound))
                    inf_bucket = v;
            } else if (n > 6 && strcmp(name + n - 6, "_count") == 0) {
                if (inf_bucket < 0 || v != inf_bucket)
                    fail_msg("line %zu: _count must equal the +Inf bucket", line);
                saw_count = true;
            } else if (inf_bucket < 0) {
                fail_msg("line %zu: _sum before the buckets end at +Inf", line);
            }
        }
    }
    if (strcmp(type, "histogram") == 0 && !saw_count)
        fail_msg("histogram %s has no _count", family);
    return s;
}

/* Finds the line that starts with prefix; NULL when none. */
static const char *line_starting(const scrape_t *s, const char *prefix)
{
    for (size_t i = 0; i < s->nlines; i++)
        if (strncmp(s->lines[i], prefix, strlen(prefix)) == 0)
            return s->lines[i];
    return NULL;
}

/* ---- a known population --------------------------------------------------------------------- */

/* The exact scrape of populate()'s registry, but for process_start_time_seconds's value. */
static const char *const s_expected[] = {
    "# HELP jury_build_info The version of jury serving; always 1.",
    "# TYPE jury_build_info gauge",
    "jury_build_info{version=\"9.8.7-test\"} 1",
    "# HELP process_start_time_seconds When jury serve started, in seconds since the Unix "
    "epoch.",
    "# TYPE process_start_time_seconds gauge",
    "process_start_time_seconds *",
    "# HELP jury_workers_connected Worker sessions open: connections that said hello and have "
    "not left.",
    "# TYPE jury_workers_connected gauge",
    "jury_workers_connected 3",
    "# HELP jury_leases_active Records leased to annotators now, by dataset.",
    "# TYPE jury_leases_active gauge",
    "jury_leases_active{dataset=\"support\"} 4",
    "jury_leases_active{dataset=\"rte\"} 0",
    "# HELP jury_records Records by dataset and status: pending + completed + discarded are all "
    "the dataset's records; contested ones are among the completed; gold records are apart.",
    "# TYPE jury_records gauge",
    "jury_records{dataset=\"support\",status=\"pending\"} 4",
    "jury_records{dataset=\"support\",status=\"completed\"} 5",
    "jury_records{dataset=\"support\",status=\"discarded\"} 1",
    "jury_records{dataset=\"support\",status=\"contested\"} 2",
    "jury_records{dataset=\"support\",status=\"gold\"} 3",
    "jury_records{dataset=\"rte\",status=\"pending\"} 800",
    "jury_records{dataset=\"rte\",status=\"completed\"} 0",
    "jury_records{dataset=\"rte\",status=\"discarded\"} 0",
    "jury_records{dataset=\"rte\",status=\"contested\"} 0",
    "jury_records{dataset=\"rte\",status=\"gold\"} 0",
    "# HELP jury_agreement_alpha Live Krippendorff's alpha of a label or rating question over "
    "completed records.",
    "# TYPE jury_agreement_alpha gauge",
    "jury_agreement_alpha{dataset=\"support\",question=\"label\"} 0.8125",
    "jury_agreement_alpha{dataset=\"rte\",question=\"odd \\\"q\\\"\\\\ \\n end\"} 0.1",
    "jury_agreement_alpha{dataset=\"rte\",question=\"rating\"} NaN",
    "# HELP jury_responses_total Responses stored since jury serve started, by dataset and "
    "status.",
    "# TYPE jury_responses_total counter",
    "jury_responses_total{dataset=\"support\",status=\"submitted\"} 7",
    "jury_responses_total{dataset=\"support\",status=\"discarded\"} 2",
    "jury_responses_total{dataset=\"support\",status=\"draft\"} 1",
    "jury_responses_total{dataset=\"rte\",status=\"submitted\"} 3",
    "jury_responses_total{dataset=\"rte\",status=\"discarded\"} 0",
    "jury_responses_total{dataset=\"rte\",status=\"draft\"} 0",
    "# HELP jury_commit_seconds Time to commit one loop turn's responses in one transaction, "
    "fsync included.",
    "# TYPE jury_commit_seconds histogram",
    "jury_commit_seconds_bucket{le=\"0.0005\"} 2",
    "jury_commit_seconds_bucket{le=\"0.001\"} 3",
    "jury_commit_seconds_bucket{le=\"0.0025\"} 3",
    "jury_commit_seconds_bucket{le=\"0.005\"} 3",
    "jury_commit_seconds_bucket{le=\"0.01\"} 3",
    "jury_commit_seconds_bucket{le=\"0.025\"} 3",
    "jury_commit_seconds_bucket{le=\"0.05\"} 4",
    "jury_commit_seconds_bucket{le=\"0.1\"} 4",
    "jury_commit_seconds_bucket{le=\"0.25\"} 4",
    "jury_commit_seconds_bucket{le=\"0.5\"} 4",
    "jury_commit_seconds_bucket{le=\"1\"} 4",
    "jury_commit_seconds_bucket{le=\"+Inf\"} 5",
    "jury_commit_seconds_sum 2.0319",
    "jury_commit_seconds_count 5",
    "# HELP jury_commit_failures_total Group commits that failed: none of their responses was "
    "stored, and their workers were told to send them again.",
    "# TYPE jury_commit_failures_total counter",
    "jury_commit_failures_total 1",
    "# HELP jury_auth_failures_total Connections (CURVE handshakes) and sessions (hello) refused, "
    "by reason.",
    "# TYPE jury_auth_failures_total counter",
    "jury_auth_failures_total{reason=\"unknown_key\"} 2",
    "jury_auth_failures_total{reason=\"disabled\"} 0",
    "jury_auth_failures_total{reason=\"malformed\"} 0",
    "jury_auth_failures_total{reason=\"store_error\"} 0",
    "jury_auth_failures_total{reason=\"hello_denied\"} 1",
};

#define NEXPECTED (sizeof s_expected / sizeof s_expected[0])

/* Gives m the population s_expected shows. */
static void populate(jury_metrics_t *m)
{
    /* Handles in the order datasets load; asking again gives the same handle. */
    jury_metrics_dataset_t *support = jury_metrics_dataset(m, "support");
    jury_metrics_dataset_t *rte = jury_metrics_dataset(m, "rte");
    assert_non_null(support);
    assert_ptr_equal(jury_metrics_dataset(m, "support"), support);
    jury_metrics_responses(support, JURY_RESPONSE_SUBMITTED, 7);
    jury_metrics_responses(support, JURY_RESPONSE_DISCARDED, 2);
    jury_metrics_responses(support, JURY_RESPONSE_DRAFT, 1);
    jury_metrics_responses(rte, JURY_RESPONSE_SUBMITTED, 1);
    jury_metrics_responses(rte, JURY_RESPONSE_SUBMITTED, 2);
    jury_metrics_responses(rte, JURY_RESPONSE_NSTATUS, 5); /* out of range: ignored */
    jury_metrics_responses(NULL, JURY_RESPONSE_SUBMITTED, 5);
    /* Bounds are inclusive: 0.5 ms lands in le="0.0005". 2 s is over every bound. */
    jury_metrics_commit(m, 400000, true);
    jury_metrics_commit(m, 500000, true);
    jury_metrics_commit(m, 1000000, true);
    jury_metrics_commit(m, 30000000, true);
    jury_metrics_commit(m, 2000000000, true);
    jury_metrics_commit(m, 7000000, false); /* a failure counts apart */
    jury_metrics_auth_failure(m, JURY_METRICS_AUTH_UNKNOWN_KEY);
    jury_metrics_auth_failure(m, JURY_METRICS_AUTH_UNKNOWN_KEY);
    jury_metrics_auth_failure(m, JURY_METRICS_AUTH_HELLO_DENIED);
    jury_metrics_auth_failure(m, JURY_METRICS_AUTH_COUNT); /* ignored */

    /* A first snapshot, replaced by the second. */
    jury_counts_t c = {.records = 1};
    jury_metrics_snapshot_begin(m);
    jury_metrics_snapshot_workers(m, 9);
    jury_metrics_snapshot_dataset(m, "gone", 1, &c);
    jury_metrics_snapshot_publish(m);

    jury_metrics_snapshot_begin(m);
    jury_metrics_snapshot_workers(m, 3);
    c = (jury_counts_t){.records = 10, .completed = 5, .discarded = 1, .contested = 2, .gold = 3};
    jury_metrics_snapshot_dataset(m, "support", 4, &c);
    c = (jury_counts_t){.records = 800};
    jury_metrics_snapshot_dataset(m, "rte", 0, &c);
    jury_metrics_snapshot_alpha(m, "support", "label", 0.8125);
    jury_metrics_snapshot_alpha(m, "rte", "odd \"q\"\\ \n end", 0.1);
    jury_metrics_snapshot_alpha(m, "rte", "rating", NAN);
    jury_metrics_snapshot_publish(m);

    /* One being made is not seen until it is published. */
    jury_metrics_snapshot_begin(m);
    jury_metrics_snapshot_workers(m, 1000);
}

/* Checks a scrape's lines against s_expected; the start time is between before and after. */
static void assert_expected(const scrape_t *s, double before, double after)
{
    for (size_t i = 0; i < s->nlines && i < NEXPECTED; i++) {
        size_t n = strlen(s_expected[i]);
        if (s_expected[i][n - 1] == '*') {
            assert_memory_equal(s->lines[i], s_expected[i], n - 1);
            double t = parse_value(s->lines[i] + n - 1, i + 1);
            assert_true(t >= before && t <= after);
        } else {
            assert_string_equal(s->lines[i], s_expected[i]);
        }
    }
    assert_int_equal(s->nlines, NEXPECTED);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* The known population, scraped over HTTP from the server on a port the system picked. */
static void test_scrape_known_population(void **state)
{
    (void)state;
    double before = floor(now_s() * 1000) / 1000;
    jury_metrics_t *m = NULL;
    assert_int_equal(jury_metrics_new(&m, "9.8.7-test"), JURY_OK);
    double after = now_s();
    populate(m);
    assert_int_equal(jury_metrics_port(m), 0);
    char why[512];
    assert_int_equal(jury_metrics_listen(m, "127.0.0.1:0", why, sizeof why), JURY_OK);
    uint16_t port = jury_metrics_port(m);
    assert_true(port > 0);

    reply_t r = http(port, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    char ctype[128];
    assert_true(header(&r, "Content-Type", ctype, sizeof ctype));
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    scrape_t s = parse_scrape(r.body, r.len);
    assert_expected(&s, before, after);
    scrape_free(&s);
    reply_free(&r);

    /* A query string changes nothing; render gives the same text as the server. */
    r = http(port, "GET", "/metrics?x=1");
    assert_int_equal(r.status, 200);
    char *text;
    size_t len;
    assert_int_equal(jury_metrics_render(m, &text, &len), JURY_OK);
    assert_int_equal(len, r.len);
    assert_string_equal(text, r.body);
    free(text);
    reply_free(&r);

    /* Listening twice is refused. */
    assert_int_equal(jury_metrics_listen(m, "127.0.0.1:0", why, sizeof why), JURY_EBUSY);
    jury_metrics_destroy(&m);
    assert_null(m);
    jury_metrics_destroy(&m);
}

/* Other paths get 404, other methods 405 with Allow; HEAD gets the headers without the body. */
static void test_http_paths_and_methods(void **state)
{
    (void)state;
    jury_metrics_t *m = NULL;
    char why[512], value[128];
    assert_int_equal(jury_metrics_new(&m, "1"), JURY_OK);
    assert_int_equal(jury_metrics_listen(m, "127.0.0.1:0", why, sizeof why), JURY_OK);
    uint16_t port = jury_metrics_port(m);
    static const char *const missing[] = {"/", "/metrics/", "/metricsx", "/favicon.ico",
                                          "/METRICS"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        reply_t r = http(port, "GET", missing[i]);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.body, "not found: the metrics are at /metrics\n");
        reply_free(&r);
    }
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        reply_t r = http(port, methods[i], "/metrics");
        assert_int_equal(r.status, 405);
        assert_true(header(&r, "Allow", value, sizeof value));
        assert_string_equal(value, "GET, HEAD");
        assert_string_equal(r.body, "only GET and HEAD\n");
        reply_free(&r);
    }
    reply_t r = http(port, "HEAD", "/metrics");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_true(header(&r, "Content-Type", value, sizeof value));
    assert_string_equal(value, JURY_METRICS_CONTENT_TYPE);
    reply_free(&r);
    jury_metrics_destroy(&m);
}

/* An empty registry: no snapshot yet, every counter 0; NULL registries and handles do nothing. */
static void test_empty_and_null(void **state)
{
    (void)state;
    jury_metrics_t *m = NULL;
    assert_int_equal(jury_metrics_new(&m, "0.1.0"), JURY_OK);
    char *text;
    size_t len;
    assert_int_equal(jury_metrics_render(m, &text, &len), JURY_OK);
    scrape_t s = parse_scrape(text, len);
    assert_string_equal(line_starting(&s, "jury_workers_connected "), "jury_workers_connected 0");
    assert_null(line_starting(&s, "jury_leases_active{"));
    assert_null(line_starting(&s, "jury_responses_total{"));
    assert_string_equal(line_starting(&s, "jury_commit_seconds_count "),
                        "jury_commit_seconds_count 0");
    assert_string_equal(line_starting(&s, "jury_commit_seconds_sum "), "jury_commit_seconds_sum 0");
    assert_string_equal(line_starting(&s, "jury_auth_failures_total{reason=\"disabled\"}"),
                        "jury_auth_failures_total{reason=\"disabled\"} 0");
    scrape_free(&s);
    free(text);
    jury_metrics_destroy(&m);

    jury_counts_t c = {0};
    jury_metrics_commit(NULL, 1, true);
    jury_metrics_auth_failure(NULL, JURY_METRICS_AUTH_DISABLED);
    assert_null(jury_metrics_dataset(NULL, "x"));
    jury_metrics_snapshot_begin(NULL);
    jury_metrics_snapshot_workers(NULL, 1);
    jury_metrics_snapshot_dataset(NULL, "x", 1, &c);
    jury_metrics_snapshot_alpha(NULL, "x", "q", 1);
    jury_metrics_snapshot_publish(NULL);
    assert_int_equal(jury_metrics_port(NULL), 0);
    assert_int_equal(jury_metrics_new(&m, NULL), JURY_EINVAL);
}

/* Addresses: what parses and the exact reasons for what does not. */
static void test_addresses(void **state)
{
    (void)state;
    struct sockaddr_storage a;
    socklen_t len;
    char why[256];
    assert_int_equal(jury_metrics_addr_parse("127.0.0.1:9464", &a, &len, why, sizeof why), JURY_OK);
    assert_int_equal(a.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a)->sin_port), 9464);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(jury_metrics_addr_parse("localhost:0", &a, &len, why, sizeof why), JURY_OK);
    assert_int_equal(ntohl(((struct sockaddr_in *)&a)->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(jury_metrics_addr_parse("[::1]:65535", &a, &len, why, sizeof why), JURY_OK);
    assert_int_equal(a.ss_family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&a)->sin6_port), 65535);
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"9464", "'9464' is not ADDRESS:PORT (e.g. 127.0.0.1:9464)"},
        {":9464", "':9464' is not ADDRESS:PORT (e.g. 127.0.0.1:9464)"},
        {"127.0.0.1:", "'127.0.0.1:': the port must be a number 0..65535"},
        {"127.0.0.1:65536", "'127.0.0.1:65536': the port must be a number 0..65535"},
        {"127.0.0.1:-1", "'127.0.0.1:-1': the port must be a number 0..65535"},
        {"example.org:80", "'example.org:80': 'example.org' is not an IPv4 address (A.B.C.D) or "
                           "localhost"},
        {"::1:9464", "'::1:9464': write an IPv6 address in brackets, e.g. [::1]:9464"},
        {"[::1]9464", "'[::1]9464' is not [IPv6]:PORT (e.g. [::1]:9464)"},
        {"[zz]:1", "'[zz]:1': 'zz' is not an IPv6 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(jury_metrics_addr_parse(bad[i].text, &a, &len, why, sizeof why),
                         JURY_EINVAL);
        assert_string_equal(why, bad[i].why);
    }
}

/* A port that is taken is refused with microhttpd's reason. */
static void test_port_in_use(void **state)
{
    (void)state;
    jury_metrics_t *a = NULL, *b = NULL;
    char why[512], addr[64], want[128];
    assert_int_equal(jury_metrics_new(&a, "1"), JURY_OK);
    assert_int_equal(jury_metrics_new(&b, "1"), JURY_OK);
    assert_int_equal(jury_metrics_listen(a, "127.0.0.1:0", why, sizeof why), JURY_OK);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", jury_metrics_port(a));
    assert_int_equal(jury_metrics_listen(b, addr, why, sizeof why), JURY_EINVAL);
    snprintf(want, sizeof want, "cannot serve HTTP on %s: ", addr);
    assert_memory_equal(why, want, strlen(want));
    assert_int_equal(jury_metrics_port(b), 0);
    jury_metrics_destroy(&a);
    jury_metrics_destroy(&b);
}

/* Commits counted by another thread while scrapes run: every scrape parses, and its histogram
 * agrees with itself (the parser checks _count against +Inf); the last one sees them all. */
static int s_committer(void *arg)
{
    jury_metrics_t *m = arg;
    for (uint64_t i = 0; i < 200000; i++)
        jury_metrics_commit(m, (i % 13) * 100000, true);
    return 0;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    jury_metrics_t *m = NULL;
    char why[512];
    assert_int_equal(jury_metrics_new(&m, "1"), JURY_OK);
    assert_int_equal(jury_metrics_listen(m, "127.0.0.1:0", why, sizeof why), JURY_OK);
    /* C11 threads: <pthread.h> would find coordinator/sched.h for <sched.h> on this include path.
     */
    thrd_t t;
    assert_int_equal(thrd_create(&t, s_committer, m), thrd_success);
    jury_counts_t c = {.records = 5};
    for (int i = 0; i < 20; i++) {
        jury_metrics_snapshot_begin(m);
        jury_metrics_snapshot_workers(m, (uint64_t)i);
        jury_metrics_snapshot_dataset(m, "d", (uint64_t)i, &c);
        jury_metrics_snapshot_publish(m);
        reply_t r = http(jury_metrics_port(m), "GET", "/metrics");
        assert_int_equal(r.status, 200);
        scrape_t s = parse_scrape(r.body, r.len);
        char want[64];
        snprintf(want, sizeof want, "jury_workers_connected %d", i);
        assert_string_equal(line_starting(&s, "jury_workers_connected "), want);
        scrape_free(&s);
        reply_free(&r);
    }
    thrd_join(t, NULL);
    reply_t r = http(jury_metrics_port(m), "GET", "/metrics");
    scrape_t s = parse_scrape(r.body, r.len);
    assert_string_equal(line_starting(&s, "jury_commit_seconds_count "),
                        "jury_commit_seconds_count 200000");
    scrape_free(&s);
    reply_free(&r);
    jury_metrics_destroy(&m);
}

/* ---- the real `jury serve --metrics` -------------------------------------------------------- */

/* Starts argv with stderr on a pipe; *err_fd gets the pipe's reading end. */
static pid_t spawn(char *const argv[], int *err_fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0), dup2(devnull, 1), dup2(p[1], 2);
        close(p[0]), close(p[1]), close(devnull);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *err_fd = p[0];
    return pid;
}

/* Reads fd into buf (cap bytes) until it holds needle; fails after 10 s or at end of file. */
static void read_until(int fd, char *buf, size_t cap, const char *needle)
{
    size_t len = strlen(buf);
    time_t deadline = time(NULL) + 10;
    while (!strstr(buf, needle)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (time(NULL) > deadline || poll(&p, 1, 1000) < 0)
            fail_msg("no '%s' from jury serve; it wrote:\n%s", needle, buf);
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            fail_msg("jury serve ended without '%s'; it wrote:\n%s", needle, buf);
        len += (size_t)n;
        buf[len] = '\0';
    }
}

static void test_jury_serve_metrics(void **state)
{
    (void)state;
    const char *jury = tu_env("JURY_BIN"), *src = tu_env("JURY_SOURCE_DIR");
    char dir[512], store[600], settings[600], endpoint[700];
    tu_tmpdir(dir, sizeof dir);
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(settings, sizeof settings, "%s/ops/examples/support-sft.settings.json", src);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/serve.sock", dir);
    char *create[] = {(char *)jury, "--store",    store,    "dataset", "create",
                      "support",    "--settings", settings, NULL};
    tu_result_t r = tu_run(create, NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);
    char *version[] = {(char *)jury, "--version", NULL};
    r = tu_run(version, NULL);
    assert_int_equal(r.status, 0);
    char build_info[128];
    snprintf(build_info, sizeof build_info, "jury_build_info{version=\"%.*s\"} 1",
             (int)strcspn(r.out + 5, "\n"), r.out + 5);
    tu_result_free(&r);

    char *serve[] = {(char *)jury, "--store", store,       "serve",       "--insecure",
                     "--bind",     endpoint,  "--metrics", "127.0.0.1:0", NULL};
    int fd;
    pid_t pid = spawn(serve, &fd);
    static char log[65536];
    log[0] = '\0';
    read_until(fd, log, sizeof log, "event=listening");
    const char *url = strstr(log, "event=metrics_listening metrics=http://127.0.0.1:");
    assert_non_null(url);
    unsigned port =
        (unsigned)atoi(url + strlen("event=metrics_listening metrics=http://127.0.0.1:"));
    assert_true(port > 0 && port < 65536);

    reply_t h = http((uint16_t)port, "GET", "/metrics");
    assert_int_equal(h.status, 200);
    scrape_t s = parse_scrape(h.body, h.len);
    assert_string_equal(line_starting(&s, "jury_build_info"), build_info);
    assert_non_null(line_starting(&s, "# TYPE jury_commit_seconds histogram"));
    scrape_free(&s);
    reply_free(&h);

    kill(pid, SIGTERM);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(fd);

    /* An address that does not parse stops it before it serves: exit 2 and the reason. */
    char *bad[] = {(char *)jury, "--store", store,       "serve", "--insecure",
                   "--bind",     endpoint,  "--metrics", "9464",  NULL};
    r = tu_run(bad, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "jury: serve: --metrics: '9464' is not ADDRESS:PORT (e.g. "
                               "127.0.0.1:9464)\n");
    tu_result_free(&r);
    tu_rmrf(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrape_known_population),
        cmocka_unit_test(test_http_paths_and_methods),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_jury_serve_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
