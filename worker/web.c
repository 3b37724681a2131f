/* web.c: `juror web`: the browser frontend: an HTTP server (libmicrohttpd) serving the page and the
 * JSON API of WEB.md, for one annotator or as a gateway for many. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <sodium.h>

#include "juror_cli.h"
#include "jury_utf8.h"
#include "web_assets.h"
#include "web_session.h"

/* The largest request body. */
#define S_BODY_MAX (2u * 1024u * 1024u)
/* Bytes of an oversized body read and dropped before the connection is closed instead. */
#define S_DISCARD_MAX (16u * 1024u * 1024u)
/* How long a call to the coordinator waits when --timeout-ms is not given. */
#define S_TIMEOUT_MS 3000
/* The longest login token, in bytes. */
#define S_TOKEN_MAX 1024
/* The longest record id (protocol/SPEC.md, 4). */
#define S_RECORD_ID_MAX 500
/* The longest note of a reviewer's decision, in bytes (protocol/SPEC.md 6.14). */
#define S_NOTE_MAX 1024
/* Records /api/review/fetch asks for when the body does not say, and the most it may ask for
 * (protocol/SPEC.md 6.12). */
#define S_REVIEW_N     10
#define S_REVIEW_N_MAX 100
/* Client addresses the failed-login limit remembers. */
#define S_LOGIN_ADDRS 4096
/* Seconds an HTTP connection may stay idle before microhttpd closes it. */
#define S_CONN_IDLE_S 60
/* The longest the loop sleeps: idle web sessions are ended at this resolution. */
#define S_POLL_MAX_MS 1000
/* Defaults and ranges of the options. */
#define S_IDLE_MINUTES     60
#define S_IDLE_MINUTES_MAX 10080
#define S_MAX_SESSIONS     1000
#define S_MAX_SESSIONS_MAX 100000
#define S_LISTEN           "127.0.0.1:8080"

/* Every reply's headers besides Content-Type (WEB.md, "Sessions and request rules"). */
static const char *const s_security_headers[][2] = {
    {"Cache-Control", "no-store"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src "
     "'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
};

static const char s_usage[] =
    "usage: juror web --dataset NAME (--key FILE | --annotator NAME) [--connect ENDPOINT]\n"
    "                 [--listen ADDR:PORT] [--secure-cookie] [--idle-minutes N]\n"
    "                 [--timeout-ms MS] [-v]\n"
    "       juror web --gateway --key GATEWAY_KEY --dataset NAME [--connect ENDPOINT]\n"
    "                 [--listen ADDR:PORT] [--secure-cookie] [--idle-minutes N]\n"
    "                 [--max-sessions N] [--timeout-ms MS] [-v]\n"
    "\n"
    "Serves the annotation page to browsers over HTTP and keeps the coordinator\n"
    "session(s) behind it: heartbeats, reconnects, resending unacknowledged answers.\n"
    "The page and its JSON API are described in worker/WEB.md.\n"
    "\n"
    "For one annotator (the default) the session opens at start and one line on\n"
    "standard output gives the address to open, with a login token made at start:\n"
    "  juror web: serving dataset NAME as ANNOTATOR at http://ADDR:PORT/#token=...\n"
    "As a gateway (--gateway) it serves many annotators, each logging in with the\n"
    "personal web token of `jury annotator add NAME --web-token` (NAME:SECRET); --key\n"
    "is then the gateway's key file (an annotator with the gateway role).\n"
    "\n"
    "options:\n"
    "  --listen ADDR:PORT  where to serve HTTP: A.B.C.D:PORT or [IPv6]:PORT (default\n"
    "                      " S_LISTEN "; port 0 picks a free one, printed)\n"
    "  --gateway           serve many annotators with their web tokens (above)\n"
    "  --secure-cookie     mark the session cookie Secure (behind a TLS proxy)\n"
    "  --idle-minutes N    a web session unused this long ends (default 60, at most\n"
    "                      10080); at a gateway its coordinator session too\n"
    "  --max-sessions N    most web sessions at once (default 1000, at most 100000)\n"
    "  --timeout-ms MS     longest wait for the coordinator (default 3000 for the web)\n"
    "  -v, --verbose       log logins, logouts, ended sessions and the coordinator\n"
    "                      coming and going to standard error\n"
    "\n"
    "SIGINT or SIGTERM stops serving: answers not yet acknowledged are flushed, the\n"
    "coordinator sessions closed.\n"
    "\n"
    "exit codes: 0 after a signal, 1 when the session cannot be opened, the address\n"
    "cannot be served, or answers could not be delivered before exit, 2 bad usage\n";

/* One annotator's coordinator session, shared by that annotator's web sessions. */
typedef struct s_annotator {
    char *name;                                     /* the annotator (owned) */
    juror_t *j;                                     /* the coordinator session (owned); NULL once
                                                       a final error ended it (single mode) */
    unsigned char token_hash[JUROR_WEB_HASH_BYTES]; /* gateway: hash of the token that opened j */
    size_t refs;                                    /* web sessions using it */
    bool was_connected;                             /* the state last seen, to log changes */
    jury_err final;                                 /* the final error that ended j, or JURY_OK */
    char final_reason[512];                         /* its reason */
    struct s_annotator *next;                       /* the server's next annotator */
} s_annotator_t;

/* The server. */
typedef struct {
    juror_opts_t opts;                               /* how to connect (timeout filled in) */
    bool gateway;                                    /* --gateway */
    bool secure_cookie;                              /* --secure-cookie */
    int64_t idle_ms;                                 /* --idle-minutes in ms */
    size_t max_sessions;                             /* --max-sessions */
    int verbose;                                     /* -v count */
    struct MHD_Daemon *mhd;                          /* the HTTP server (owned) */
    juror_web_sessions_t *sessions;                  /* web sessions (owned) */
    juror_web_limiter_t *limiter;                    /* failed logins (owned) */
    unsigned char launch_hash[JUROR_WEB_HASH_BYTES]; /* single mode: the launch token's hash */
    s_annotator_t *annotators;                       /* coordinator sessions (owned) */
    struct pollfd *fds;                              /* poll's array (owned) */
    size_t fds_cap;                                  /* its room */
    char mhd_error[256];                             /* microhttpd's last message */
    bool undelivered;                                /* some answer was lost */
} s_web_t;

/* Why a request failed. */
typedef struct {
    unsigned status;    /* the HTTP status; 0 while nothing failed */
    const char *code;   /* the "error" member: "EAUTH", "EIO", ... (static) */
    char message[1024]; /* for people */
    char question[256]; /* the question the message concerns, or "" */
    bool kept;          /* an answer is kept and sent later ("kept": true) */
} s_fail_t;

/* One HTTP request in progress: microhttpd's per-request pointer. */
typedef struct {
    char *body;        /* the body read so far (owned) */
    size_t len;        /* its length */
    size_t cap;        /* its room */
    size_t discarded;  /* bytes of a refused body read and dropped */
    bool refused;      /* refused on its headers or size: the body is dropped, the answer is why */
    s_fail_t why;      /* when refused: the answer */
    const char *allow; /* when refused with 405: the methods the path takes */
} s_req_t;

/* One API call, as its handler sees it. */
typedef struct {
    struct MHD_Connection *c;     /* the connection */
    juror_web_session_t *session; /* the caller's web session, or NULL (login) */
    s_annotator_t *a;             /* the session's annotator, or NULL */
    const cJSON *body;            /* the body object (POST), or NULL */
    const char *addr;             /* the client's address, for logs */
    const char *limit_key;        /* the address the failed-login limit counts by */
    char cookie[160];             /* a Set-Cookie value for the reply, or "" */
} s_call_t;

typedef bool (*s_api_fn)(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f);

static bool s_failf(s_fail_t *f, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a failure; returns false so that handlers can `return s_failf(...)`. */
static bool s_failf(s_fail_t *f, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    f->status = status;
    f->code = code;
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return false;
}

static void s_log(const s_web_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "juror web: ..." to stderr when -v was given. */
static void s_log(const s_web_t *w, const char *fmt, ...)
{
    if (w->verbose < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("juror web: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------------
 * Replies. Every one carries the security headers.
 */

/* Queues a reply of len bytes. mode says whether microhttpd copies body. cookie: a Set-Cookie
 * value or NULL; allow: an Allow header or NULL. */
static enum MHD_Result s_send(struct MHD_Connection *c, unsigned status, const char *ctype,
                              const void *body, size_t len, enum MHD_ResponseMemoryMode mode,
                              const char *cookie, const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!r)
        return MHD_NO;
    bool ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES;
    for (size_t i = 0; ok && i < sizeof s_security_headers / sizeof s_security_headers[0]; i++)
        ok = MHD_add_response_header(r, s_security_headers[i][0], s_security_headers[i][1]) ==
             MHD_YES;
    if (ok && cookie && *cookie)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie) == MHD_YES;
    if (ok && allow)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) == MHD_YES;
    enum MHD_Result ret = ok ? MHD_queue_response(c, status, r) : MHD_NO;
    MHD_destroy_response(r);
    return ret;
}

/* Queues obj as a JSON reply. */
static enum MHD_Result s_send_json(struct MHD_Connection *c, unsigned status, const cJSON *obj,
                                   const char *cookie, const char *allow)
{
    static const char nomem[] = "{\"error\":\"EINTERNAL\",\"message\":\"out of memory\"}";
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    enum MHD_Result ret;
    if (!text)
        ret = s_send(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", nomem, sizeof nomem - 1,
                     MHD_RESPMEM_PERSISTENT, NULL, NULL);
    else
        ret = s_send(c, status, "application/json", text, strlen(text), MHD_RESPMEM_MUST_COPY,
                     cookie, allow);
    free(text);
    return ret;
}

/* Queues f as an error reply: {"error", "message"} plus "question" and "kept" when set; a 405 names
 * the methods allowed. */
static enum MHD_Result s_send_fail(struct MHD_Connection *c, const s_fail_t *f, const char *allow)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj && (!cJSON_AddStringToObject(obj, "error", f->code) ||
                !cJSON_AddStringToObject(obj, "message", f->message) ||
                (f->question[0] && !cJSON_AddStringToObject(obj, "question", f->question)) ||
                (f->kept && !cJSON_AddTrueToObject(obj, "kept")))) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    enum MHD_Result ret = s_send_json(c, f->status, obj, NULL,
                                      f->status == MHD_HTTP_METHOD_NOT_ALLOWED ? allow : NULL);
    cJSON_Delete(obj);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * Annotators and web sessions.
 */

/* Writes the Set-Cookie value that sets (value not NULL) or clears the session cookie. */
static void s_cookie(const s_web_t *w, const char *value, char *out, size_t cap)
{
    snprintf(out, cap, "jury_session=%s; HttpOnly; SameSite=Strict; Path=/%s%s", value ? value : "",
             value ? "" : "; Max-Age=0", w->secure_cookie ? "; Secure" : "");
}

/* Waits for the annotator's answers to be acknowledged, then closes its coordinator session. */
static void s_juror_close(s_web_t *w, s_annotator_t *a)
{
    if (!a->j)
        return;
    if (juror_pending(a->j) > 0) {
        jury_err err = juror_flush(a->j);
        if (err != JURY_OK) {
            juror_cli_error("web: %s: %zu answers were never acknowledged and are lost: %s",
                            a->name, juror_pending(a->j), juror_error(a->j));
            w->undelivered = true;
        }
    }
    juror_destroy(&a->j);
}

/* Unlinks a gateway annotator, closes its coordinator session and frees it. */
static void s_annotator_free(s_web_t *w, s_annotator_t *a)
{
    for (s_annotator_t **at = &w->annotators; *at; at = &(*at)->next) {
        if (*at == a) {
            *at = a->next;
            break;
        }
    }
    s_juror_close(w, a);
    free(a->name);
    sodium_memzero(a, sizeof *a);
    free(a);
}

/* A new annotator for juror j (taken on success), linked into the server; NULL when out of
 * memory. */
static s_annotator_t *s_annotator_new(s_web_t *w, const char *name, juror_t **j_p)
{
    s_annotator_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->name = strdup(name);
    if (!a->name) {
        free(a);
        return NULL;
    }
    a->j = *j_p;
    *j_p = NULL;
    a->was_connected = true;
    a->next = w->annotators;
    w->annotators = a;
    return a;
}

static s_annotator_t *s_annotator_find(const s_web_t *w, const char *name)
{
    for (s_annotator_t *a = w->annotators; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/*
 * Ends web session *s_p: gives its records back (when the coordinator session goes on for
 * others and is up; otherwise they go back with it, or when their leases run out), closes it and,
 * at a gateway, closes the coordinator session with the annotator's last web session.
 */
static void s_session_end(s_web_t *w, juror_web_session_t **s_p, const char *why)
{
    juror_web_session_t *s = *s_p;
    s_annotator_t *a = juror_web_session_owner(s);
    size_t n = juror_web_session_queued(s);
    bool last = a->refs <= 1;
    if (n > 0 && a->j && juror_connected(a->j) && (!w->gateway || !last)) {
        const char *ids[JUROR_WEB_QUEUE_MAX];
        for (size_t i = 0; i < n; i++)
            ids[i] = juror_web_session_record_id(s, i);
        jury_err err = juror_release(a->j, ids, n);
        if (err != JURY_OK)
            s_log(w, "%s: releasing %zu records: %s: %s", a->name, n, jury_errname(err),
                  juror_error(a->j));
    }
    juror_web_sessions_close(w->sessions, s_p);
    a->refs--;
    s_log(w, "web session of %s ended: %s", a->name, why);
    if (w->gateway && a->refs == 0) {
        s_log(w, "coordinator session of %s closed", a->name);
        s_annotator_free(w, a);
    }
}

/*
 * The coordinator refused a's session for good (token revoked, annotator disabled, dataset
 * withdrawn): every web session of a ends at once (their next request gets 401) and the
 * coordinator session is closed; a single annotator stays, refusing logins with the reason.
 */
static void s_annotator_final(s_web_t *w, s_annotator_t *a, jury_err err)
{
    snprintf(a->final_reason, sizeof a->final_reason, "%s",
             *juror_error(a->j) ? juror_error(a->j) : jury_strerror(err));
    a->final = err;
    if (w->gateway)
        s_log(w, "the coordinator ended the session of %s: %s: %s", a->name, jury_errname(err),
              a->final_reason);
    else
        juror_cli_error("web: the coordinator ended the session of %s for good: %s: %s", a->name,
                        jury_errname(err), a->final_reason);
    juror_web_session_t *s;
    while ((s = juror_web_sessions_next(w->sessions, NULL, a))) {
        juror_web_sessions_close(w->sessions, &s);
        a->refs--;
    }
    juror_destroy(&a->j);
    if (w->gateway)
        s_annotator_free(w, a);
}

/* ---------------------------------------------------------------------------------------------
 * Request checks.
 */

/* Fills f from what libjuror reported for a call on a's session. */
static bool s_fail_juror(s_fail_t *f, const s_annotator_t *a, jury_err err)
{
    const char *why = a->j && *juror_error(a->j) ? juror_error(a->j) : jury_strerror(err);
    switch (err) {
    case JURY_EINVAL:
        s_failf(f, MHD_HTTP_UNPROCESSABLE_CONTENT, "EINVAL", "%s", why);
        juror_web_question(why, f->question, sizeof f->question);
        return false;
    case JURY_ENOTLEASED:
    case JURY_EEXIST:
    case JURY_ENOTFOUND:
        return s_failf(f, MHD_HTTP_CONFLICT, jury_errname(err), "%s", why);
    case JURY_ETOOBIG:
        return s_failf(f, MHD_HTTP_CONTENT_TOO_LARGE, "ETOOBIG", "%s", why);
    case JURY_EPROTO:
        return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "%s", why);
    case JURY_ELIMIT:
        return s_failf(f, MHD_HTTP_TOO_MANY_REQUESTS, "ELIMIT", "%s", why);
    case JURY_EPERM:
        return s_failf(f, MHD_HTTP_FORBIDDEN, "EPERM", "%s", why);
    default:
        return s_failf(f, MHD_HTTP_SERVICE_UNAVAILABLE, "EIO", "%s", why);
    }
}

/* The client's address (for logs) and the key the failed-login limit counts it by: the address,
 * or for IPv6 its /64 network, which one holder usually has whole. */
static void s_client(struct MHD_Connection *c, char *addr, size_t cap, char *key, size_t kcap)
{
    snprintf(addr, cap, "?");
    snprintf(key, kcap, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
        if (inet_ntop(AF_INET, &a4->sin_addr, addr, (socklen_t)cap))
            snprintf(key, kcap, "%s", addr);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (inet_ntop(AF_INET6, &a6->sin6_addr, addr, (socklen_t)cap)) {
            struct in6_addr net = a6->sin6_addr;
            memset(net.s6_addr + 8, 0, 8);
            char text[INET6_ADDRSTRLEN];
            if (inet_ntop(AF_INET6, &net, text, sizeof text))
                snprintf(key, kcap, "%s/64", text);
        }
    }
}

/* Whether the request's Content-Type is JSON ("application/json", parameters allowed). */
static bool s_json_type(struct MHD_Connection *c)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/*
 * cJSON turns "\u0000" into a NUL byte, which would cut a string short without a word. In a body
 * that parsed, a backslash only occurs inside a string, so escapes can be walked without tracking
 * quotes. Returns the offset of the first \u0000, or len when there is none.
 */
static size_t s_find_nul_escape(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 6 <= len && memcmp(s + i + 2, "0000", 4) == 0)
            return i;
        i++; /* the escaped character */
    }
    return len;
}

/* Parses a request body into a JSON object; an empty body is {}. NULL with f filled when it is not
 * one. */
static cJSON *s_parse_body(const s_req_t *rq, s_fail_t *f)
{
    size_t len = rq->len;
    const char *text = rq->body ? rq->body : "";
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == len) {
        cJSON *empty = cJSON_CreateObject();
        if (!empty)
            s_failf(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "EINTERNAL", "out of memory");
        return empty;
    }
    size_t bad = 0;
    if (!jury_utf8_valid(text, len, &bad)) {
        s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "body: byte %zu: invalid UTF-8", bad);
        return NULL;
    }
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!v) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "body: byte %zu: malformed JSON", at);
        return NULL;
    }
    size_t used = (size_t)(end - text);
    while (used < len &&
           (text[used] == ' ' || text[used] == '\t' || text[used] == '\r' || text[used] == '\n'))
        used++;
    if (used < len) {
        s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "body: byte %zu: text after the JSON value",
                used);
        cJSON_Delete(v);
        return NULL;
    }
    size_t nul = s_find_nul_escape(text, len);
    if (nul < len) {
        s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                "body: byte %zu: \\u0000 in a string (strings must not hold NUL)", nul);
        cJSON_Delete(v);
        return NULL;
    }
    if (!cJSON_IsObject(v)) {
        s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "body: must be a JSON object");
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* Checks that body has only the members named in keys (NULL-terminated), each at most once. */
static bool s_members(const cJSON *body, const char *what, const char *const *keys, s_fail_t *f)
{
    for (const cJSON *c = body->child; c; c = c->next) {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(c->string, keys[i]) == 0;
        if (!known)
            return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "%s: unknown member \"%.100s\"", what,
                           c->string);
        for (const cJSON *d = c->next; d; d = d->next)
            if (strcmp(c->string, d->string) == 0)
                return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                               "%s: member \"%.100s\" given twice", what, c->string);
    }
    return true;
}

/* Takes member "record" of body: a record id of 1..500 bytes. */
static const char *s_record_member(const cJSON *body, const char *what, s_fail_t *f)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "record");
    if (!cJSON_IsString(v)) {
        s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "%s: record: must be a record id (a string)",
                what);
        return NULL;
    }
    size_t n = strlen(v->valuestring);
    if (n == 0 || n > S_RECORD_ID_MAX) {
        s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                "%s: record: record ids are 1..%d bytes long, got %zu", what, S_RECORD_ID_MAX, n);
        return NULL;
    }
    return v->valuestring;
}

/* Adds "progress" to obj when the coordinator has said. Returns false when out of memory. */
static bool s_add_progress(cJSON *obj, const s_annotator_t *a)
{
    juror_progress_t p;
    juror_progress(a->j, &p);
    if (!p.known)
        return true;
    cJSON *o = cJSON_AddObjectToObject(obj, "progress");
    return o && cJSON_AddNumberToObject(o, "submitted", (double)p.submitted) &&
           cJSON_AddNumberToObject(o, "completed", (double)p.completed) &&
           cJSON_AddNumberToObject(o, "records", (double)p.records);
}

static bool s_nomem(s_fail_t *f)
{
    return s_failf(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "EINTERNAL", "out of memory");
}

/* ---------------------------------------------------------------------------------------------
 * The API.
 */

/* Adds "role" (as the coordinator's last welcome said; "" from one before review) and "review"
 * (whether the page offers review). Returns false when out of memory. */
static bool s_add_role(cJSON *obj, const s_annotator_t *a)
{
    const char *role = juror_role(a->j);
    return cJSON_AddStringToObject(obj, "role", role) &&
           cJSON_AddBoolToObject(obj, "review", juror_web_role_reviews(role));
}

/* Adds what /api/login and /api/session both say. */
static bool s_add_identity(const s_web_t *w, const s_call_t *call, cJSON *reply)
{
    return cJSON_AddStringToObject(reply, "annotator", call->a->name) &&
           cJSON_AddStringToObject(reply, "dataset", w->opts.dataset) &&
           cJSON_AddStringToObject(reply, "mode", w->gateway ? "gateway" : "single") &&
           cJSON_AddStringToObject(reply, "csrf", juror_web_session_csrf(call->session)) &&
           s_add_role(reply, call->a);
}

/* A failed login: counted against the client's address. */
static bool s_login_refused(s_web_t *w, const s_call_t *call, s_fail_t *f, const char *who,
                            const char *why)
{
    juror_web_limiter_failed(w->limiter, call->limit_key, s_now_ms());
    s_log(w, "login failed%s%s from %s: %s", who ? " as " : "", who ? who : "", call->addr, why);
    return s_failf(f, MHD_HTTP_UNAUTHORIZED, "EAUTH", "%s", why);
}

/*
 * A gateway login with token "NAME:SECRET": the coordinator checks it when it opens NAME's
 * session (hello with the token). A second login of NAME with the same token shares the session
 * open for NAME; another token is checked with the coordinator, and when it is good it replaces
 * the session (the coordinator keeps one web token per annotator, so the old one is no longer
 * valid) and ends the web sessions opened with the old one. On success *out is the annotator.
 */
static bool s_gateway_login(s_web_t *w, s_call_t *call, const char *token, size_t len,
                            s_annotator_t **out, s_fail_t *f)
{
    const char *colon = memchr(token, ':', len);
    size_t nlen = colon ? (size_t)(colon - token) : 0;
    if (!colon || !juror_web_name_ok(token, nlen) || colon[1] == '\0')
        return s_login_refused(w, call, f, NULL,
                               "token: not a web token (NAME:SECRET, from `jury annotator add NAME "
                               "--web-token`)");
    char name[JUROR_WEB_NAME_MAX + 1];
    memcpy(name, token, nlen);
    name[nlen] = '\0';
    unsigned char hash[JUROR_WEB_HASH_BYTES];
    juror_web_hash(token, len, hash);
    s_annotator_t *a = s_annotator_find(w, name);
    if (a && a->j && sodium_memcmp(a->token_hash, hash, sizeof hash) == 0) {
        *out = a;
        return true;
    }
    juror_opts_t o = w->opts;
    o.annotator = name;
    o.web_token = token;
    juror_t *j = NULL;
    char why[700] = "";
    jury_err err = juror_connect(&j, &o, why, sizeof why);
    if (err != JURY_OK) {
        if (!*why)
            snprintf(why, sizeof why, "%s", jury_strerror(err));
        if (err == JURY_EPERM && strstr(why, "token"))
            return s_login_refused(w, call, f, name, why);
        s_log(w, "login refused as %s from %s: %s: %s", name, call->addr, jury_errname(err), why);
        if (err == JURY_EIO)
            return s_failf(f, MHD_HTTP_SERVICE_UNAVAILABLE, "EIO", "%s", why);
        if (err == JURY_ELIMIT || err == JURY_EBUSY)
            return s_failf(f, MHD_HTTP_TOO_MANY_REQUESTS, "ELIMIT", "%s", why);
        if (err == JURY_ENOMEM)
            return s_nomem(f);
        return s_failf(f, MHD_HTTP_FORBIDDEN, "EPERM", "%s", why);
    }
    if (a) {
        /* A new token for someone logged in with an older one. */
        s_log(w, "%s logged in with a new web token: the sessions of the old one end", name);
        juror_web_session_t *s;
        while ((s = juror_web_sessions_next(w->sessions, NULL, a))) {
            juror_web_sessions_close(w->sessions, &s);
            a->refs--;
        }
        s_juror_close(w, a);
        a->j = j;
        a->final = JURY_OK;
        a->was_connected = true;
    } else if (!(a = s_annotator_new(w, name, &j))) {
        juror_destroy(&j);
        return s_nomem(f);
    }
    memcpy(a->token_hash, hash, sizeof hash);
    s_log(w, "coordinator session of %s open", name);
    *out = a;
    return true;
}

static bool s_api_login(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {"token", NULL};
    if (!s_members(call->body, "login", keys, f))
        return false;
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(call->body, "token");
    if (!cJSON_IsString(tv))
        return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "login: token: must be a string");
    const char *token = tv->valuestring;
    size_t len = strlen(token);
    if (juror_web_limiter_blocked(w->limiter, call->limit_key, s_now_ms())) {
        s_log(w, "login refused from %s: too many failed logins", call->addr);
        return s_failf(f, MHD_HTTP_TOO_MANY_REQUESTS, "ELIMIT",
                       "too many failed logins from %s; wait a minute", call->addr);
    }
    if (len == 0 || len > S_TOKEN_MAX)
        return s_login_refused(w, call, f, NULL, "token: wrong token");
    /* The token is checked before the room for one more session, so that a wrong token always
     * gets 401 and counts against the address. */
    s_annotator_t *a = NULL;
    if (w->gateway) {
        if (!s_gateway_login(w, call, token, len, &a, f))
            return false;
    } else {
        if (!juror_web_secret_matches(token, len, w->launch_hash))
            return s_login_refused(w, call, f, NULL, "token: wrong token");
        a = w->annotators;
        if (!a->j)
            return s_failf(f, MHD_HTTP_FORBIDDEN, "EPERM", "%s", a->final_reason);
    }
    char cookie[JUROR_WEB_SECRET_SIZE];
    jury_err err = juror_web_sessions_open(w->sessions, a, s_now_ms(), cookie, &call->session);
    if (err != JURY_OK) {
        if (w->gateway && a->refs == 0)
            s_annotator_free(w, a);
        if (err == JURY_ENOMEM)
            return s_nomem(f);
        return s_failf(f, MHD_HTTP_TOO_MANY_REQUESTS, "ELIMIT",
                       "this server holds %zu web sessions, its most (--max-sessions); try again "
                       "later",
                       w->max_sessions);
    }
    a->refs++;
    call->a = a;
    s_cookie(w, cookie, call->cookie, sizeof call->cookie);
    sodium_memzero(cookie, sizeof cookie);
    s_log(w, "login ok: %s from %s (%zu web sessions)", a->name, call->addr, a->refs);
    return s_add_identity(w, call, reply) || s_nomem(f);
}

static bool s_api_logout(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    (void)reply;
    static const char *const keys[] = {NULL};
    if (!s_members(call->body, "logout", keys, f))
        return false;
    s_log(w, "logout: %s from %s", call->a->name, call->addr);
    s_session_end(w, &call->session, "logout");
    call->a = NULL;
    s_cookie(w, NULL, call->cookie, sizeof call->cookie);
    return true;
}

static bool s_api_session(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    const char *text = juror_settings(call->a->j);
    cJSON *settings = text ? cJSON_Parse(text) : NULL;
    if (!cJSON_IsObject(settings)) {
        cJSON_Delete(settings);
        return s_failf(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "EINTERNAL",
                       "the dataset's settings from libjuror are not a JSON object");
    }
    if (!s_add_identity(w, call, reply) || !cJSON_AddItemToObject(reply, "settings", settings)) {
        cJSON_Delete(settings);
        return s_nomem(f);
    }
    if (!cJSON_AddBoolToObject(reply, "connected", juror_connected(call->a->j)) ||
        !cJSON_AddNumberToObject(reply, "pending", (double)juror_pending(call->a->j)) ||
        !s_add_progress(reply, call->a))
        return s_nomem(f);
    return true;
}

static bool s_api_state(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    (void)w;
    if (!cJSON_AddBoolToObject(reply, "connected", juror_connected(call->a->j)) ||
        !cJSON_AddNumberToObject(reply, "pending", (double)juror_pending(call->a->j)) ||
        !s_add_progress(reply, call->a) || !s_add_role(reply, call->a))
        return s_nomem(f);
    return true;
}

/* Whether a record of that id is queued in any web session of annotator a. */
static bool s_queued_anywhere(const s_web_t *w, const s_annotator_t *a, const char *id)
{
    for (juror_web_session_t *s = juror_web_sessions_next(w->sessions, NULL, a); s;
         s = juror_web_sessions_next(w->sessions, s, a))
        if (juror_web_session_has(s, id))
            return true;
    return false;
}

/* Fetches records for an empty queue. */
static bool s_refill(s_web_t *w, s_call_t *call, s_fail_t *f)
{
    s_annotator_t *a = call->a;
    if (!juror_connected(a->j))
        return s_failf(f, MHD_HTTP_SERVICE_UNAVAILABLE, "EIO",
                       "the coordinator is not reachable now; the worker keeps trying");
    char *text = NULL;
    size_t count = 0;
    jury_err err = juror_fetch(a->j, JUROR_WEB_QUEUE_MAX, &text, &count);
    if (err != JURY_OK) {
        const char *why = *juror_error(a->j) ? juror_error(a->j) : jury_strerror(err);
        if (err == JURY_ELIMIT)
            return s_failf(f, MHD_HTTP_TOO_MANY_REQUESTS, "ELIMIT", "%s", why);
        if (err == JURY_EPERM)
            return s_failf(f, MHD_HTTP_FORBIDDEN, "EPERM", "%s", why);
        return s_failf(f, MHD_HTTP_SERVICE_UNAVAILABLE, "EIO", "%s", why);
    }
    cJSON *list = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return s_failf(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "EINTERNAL",
                       "the records from libjuror are not a JSON array");
    }
    cJSON *rec;
    while ((rec = cJSON_DetachItemFromArray(list, 0))) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
        /* After a reconnect the coordinator hands records still leased again first; those that
         * some web session holds stay where they are. */
        if (cJSON_IsString(id) && s_queued_anywhere(w, a, id->valuestring)) {
            cJSON_Delete(rec);
            continue;
        }
        if (juror_web_session_push(call->session, &rec) != JURY_OK) {
            s_log(w, "%s: a fetched record could not be queued", a->name);
            cJSON_Delete(rec);
        }
    }
    cJSON_Delete(list);
    return true;
}

static bool s_api_next(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {NULL};
    if (!s_members(call->body, "next", keys, f))
        return false;
    size_t gone = juror_web_session_drop_expired(call->session, s_wall_ms());
    if (gone > 0)
        s_log(w, "%s: %zu records dropped: their leases ran out", call->a->name, gone);
    if (juror_web_session_queued(call->session) == 0 && !s_refill(w, call, f))
        return false;
    size_t n = juror_web_session_queued(call->session);
    const cJSON *head = juror_web_session_record(call->session, 0);
    cJSON *record = head ? cJSON_Duplicate(head, true) : cJSON_CreateNull();
    if (!record)
        return s_nomem(f);
    if (!cJSON_AddItemToObject(reply, "record", record)) {
        cJSON_Delete(record);
        return s_nomem(f);
    }
    if (!cJSON_AddNumberToObject(reply, "remaining", n > 0 ? (double)(n - 1) : 0) ||
        !s_add_progress(reply, call->a))
        return s_nomem(f);
    return true;
}

static bool s_api_respond(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {"record", "status", "values", NULL};
    if (!s_members(call->body, "respond", keys, f))
        return false;
    const char *record = s_record_member(call->body, "respond", f);
    if (!record)
        return false;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(call->body, "status");
    juror_status status;
    if (!cJSON_IsString(sv) || !juror_status_parse(sv->valuestring, &status))
        return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                       "respond: status: must be \"submitted\", \"discarded\" or \"draft\"");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(call->body, "values");
    if (cJSON_IsNull(values))
        values = NULL;
    if (values && !cJSON_IsObject(values))
        return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                       "respond: values: must be an object of answers by question name");
    char *text = values ? cJSON_PrintUnformatted(values) : NULL;
    if (values && !text)
        return s_nomem(f);
    s_annotator_t *a = call->a;
    size_t pending = juror_pending(a->j);
    int64_t lease_ms = 0;
    jury_err err = juror_submit(a->j, record, status, text, &lease_ms);
    free(text);
    if (err == JURY_OK) {
        if (status == JUROR_DRAFT) {
            if (juror_web_session_draft(call->session, record, values, lease_ms) == JURY_ENOMEM)
                return s_nomem(f);
        } else {
            juror_web_session_drop(call->session, record);
        }
        if (!cJSON_AddTrueToObject(reply, "ok") ||
            !cJSON_AddStringToObject(reply, "status", juror_status_name(status)) ||
            (status == JUROR_DRAFT &&
             !cJSON_AddNumberToObject(reply, "lease_expires", (double)lease_ms)) ||
            !s_add_progress(reply, a))
            return s_nomem(f);
        return true;
    }
    s_fail_juror(f, a, err);
    if (f->status == MHD_HTTP_CONFLICT) {
        juror_web_session_drop(call->session, record);
    } else if (f->status == MHD_HTTP_SERVICE_UNAVAILABLE && juror_pending(a->j) > pending) {
        /* libjuror keeps the answer and sends it when the coordinator is back. A draft stays on
         * the page; a final answer is done with. */
        f->kept = true;
        if (status == JUROR_DRAFT) {
            if (juror_web_session_draft(call->session, record, values, 0) == JURY_ENOMEM)
                return s_nomem(f);
        } else {
            juror_web_session_drop(call->session, record);
        }
    }
    s_log(w, "%s: respond %s %s: %s: %s", a->name, record, juror_status_name(status), f->code,
          f->message);
    return false;
}

static bool s_api_release(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    (void)reply;
    static const char *const keys[] = {"record", NULL};
    if (!s_members(call->body, "release", keys, f))
        return false;
    const char *record = s_record_member(call->body, "release", f);
    if (!record)
        return false;
    /* Whatever the coordinator says, the page is leaving the record. */
    juror_web_session_drop(call->session, record);
    s_annotator_t *a = call->a;
    if (!juror_connected(a->j))
        return s_failf(f, MHD_HTTP_SERVICE_UNAVAILABLE, "EIO",
                       "the coordinator is not reachable now; the lease runs out by itself");
    jury_err err = juror_release(a->j, &record, 1);
    if (err != JURY_OK) {
        s_fail_juror(f, a, err);
        s_log(w, "%s: release %s: %s: %s", a->name, record, f->code, f->message);
        return false;
    }
    return true;
}

/*
 * Review (WEB.md, "POST /api/review/fetch"): the records waiting for a reviewer, review-leased to
 * this annotator by the coordinator. Nothing is kept here: records this annotator holds come again
 * from the coordinator (renewed), so the page asks again whenever it wants the list. The
 * coordinator, not the page or this server, decides who may review (EPERM, 403).
 */
static bool s_api_review_fetch(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {"n", NULL};
    if (!s_members(call->body, "review fetch", keys, f))
        return false;
    uint32_t n = S_REVIEW_N;
    const cJSON *nv = cJSON_GetObjectItemCaseSensitive(call->body, "n");
    if (nv && !cJSON_IsNull(nv)) {
        double d = cJSON_IsNumber(nv) ? nv->valuedouble : 0;
        if (!(d >= 1 && d <= S_REVIEW_N_MAX) || d != (double)(uint32_t)d)
            return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                           "review fetch: n: must be a whole number within 1..%d", S_REVIEW_N_MAX);
        n = (uint32_t)d;
    }
    s_annotator_t *a = call->a;
    if (!juror_connected(a->j))
        return s_failf(f, MHD_HTTP_SERVICE_UNAVAILABLE, "EIO",
                       "the coordinator is not reachable now; the worker keeps trying");
    char *text = NULL;
    size_t count = 0;
    jury_err err = juror_review_fetch(a->j, n, &text, &count);
    if (err != JURY_OK) {
        s_fail_juror(f, a, err);
        s_log(w, "%s: review fetch: %s: %s", a->name, f->code, f->message);
        return false;
    }
    cJSON *list = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return s_failf(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "EINTERNAL",
                       "the records to review from libjuror are not a JSON array");
    }
    if (!cJSON_AddItemToObject(reply, "records", list)) {
        cJSON_Delete(list);
        return s_nomem(f);
    }
    return true;
}

/*
 * A reviewer's final decision on one record (WEB.md, "POST /api/review"): sent at once and
 * answered when the coordinator has it on disk. Unlike an answer it is not kept when the
 * coordinator is away (503): the page sends it again, and an identical decision is acknowledged
 * again (SPEC.md 9.7).
 */
static bool s_api_review(s_web_t *w, s_call_t *call, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {"record", "accept", "values", "note", NULL};
    if (!s_members(call->body, "review", keys, f))
        return false;
    const char *record = s_record_member(call->body, "review", f);
    if (!record)
        return false;
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(call->body, "accept");
    if (!cJSON_IsBool(av))
        return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                       "review: accept: must be true (accept with values) or false (reject)");
    bool accept = cJSON_IsTrue(av);
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(call->body, "values");
    if (cJSON_IsNull(values))
        values = NULL;
    if (values && !cJSON_IsObject(values))
        return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                       "review: values: must be an object of answers by question name");
    if (accept && !values)
        return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                       "review: values: required to accept (the record's final answers)");
    const cJSON *nv = cJSON_GetObjectItemCaseSensitive(call->body, "note");
    const char *note = NULL;
    if (nv && !cJSON_IsNull(nv)) {
        if (!cJSON_IsString(nv))
            return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO", "review: note: must be a string");
        size_t len = strlen(nv->valuestring);
        if (len > S_NOTE_MAX)
            return s_failf(f, MHD_HTTP_BAD_REQUEST, "EPROTO",
                           "review: note: at most %d bytes, got %zu", S_NOTE_MAX, len);
        note = nv->valuestring;
    }
    s_annotator_t *a = call->a;
    if (!juror_connected(a->j))
        return s_failf(f, MHD_HTTP_SERVICE_UNAVAILABLE, "EIO",
                       "the coordinator is not reachable now; nothing was sent");
    /* A rejection's values are not sent: libjuror's review call takes values only to accept. */
    char *text = accept ? cJSON_PrintUnformatted(values) : NULL;
    if (accept && !text)
        return s_nomem(f);
    jury_err err = juror_review_submit(a->j, record, accept, text, note);
    free(text);
    if (err != JURY_OK) {
        s_fail_juror(f, a, err);
        s_log(w, "%s: review %s %s: %s: %s", a->name, record, accept ? "accept" : "reject", f->code,
              f->message);
        return false;
    }
    s_log(w, "%s: review %s %s: stored", a->name, record, accept ? "accepted" : "rejected");
    return cJSON_AddTrueToObject(reply, "ok") || s_nomem(f);
}

/* The API's routes. */
static const struct {
    const char *path;   /* the URL path */
    const char *method; /* the one method it takes */
    bool session;       /* needs a web session */
    bool csrf;          /* needs the session's X-CSRF-Token */
    s_api_fn fn;        /* what it does */
} s_routes[] = {
    {"/api/login", "POST", false, false, s_api_login},
    {"/api/logout", "POST", true, true, s_api_logout},
    {"/api/session", "GET", true, false, s_api_session},
    {"/api/state", "GET", true, false, s_api_state},
    {"/api/next", "POST", true, true, s_api_next},
    {"/api/respond", "POST", true, true, s_api_respond},
    {"/api/release", "POST", true, true, s_api_release},
    {"/api/review/fetch", "POST", true, true, s_api_review_fetch},
    {"/api/review", "POST", true, true, s_api_review},
};

#define S_NROUTES (sizeof s_routes / sizeof s_routes[0])

/* The page file served at path, or NULL. */
static const juror_web_asset_t *s_asset(const char *path)
{
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.htm") == 0)
        path = "/index.html";
    for (size_t i = 0; i < juror_web_asset_count; i++)
        if (strcmp(juror_web_assets[i].path, path) == 0)
            return &juror_web_assets[i];
    return NULL;
}

/* The route of path, or -1. */
static int s_route(const char *path)
{
    for (size_t i = 0; i < S_NROUTES; i++)
        if (strcmp(s_routes[i].path, path) == 0)
            return (int)i;
    return -1;
}

/* Finds the caller's web session (and checks the CSRF token when csrf). */
static bool s_authenticate(s_web_t *w, struct MHD_Connection *c, bool csrf,
                           juror_web_session_t **out, s_fail_t *f)
{
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "jury_session");
    juror_web_session_t *s =
        cookie ? juror_web_sessions_find(w->sessions, cookie, s_now_ms()) : NULL;
    if (!s)
        return s_failf(f, MHD_HTTP_UNAUTHORIZED, "EAUTH",
                       cookie ? "the session has ended; log in again" : "not logged in");
    if (csrf && !juror_web_session_csrf_ok(
                    s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token")))
        return s_failf(f, MHD_HTTP_FORBIDDEN, "ECSRF",
                       "the X-CSRF-Token header is missing or stale; reload the page");
    *out = s;
    return true;
}

/*
 * The checks that need only the request line and headers, made before a body is read: origin,
 * path and method, content type and the session. Returns true when the request may go on;
 * otherwise f says why and allow may name the methods of the path.
 */
static bool s_precheck(s_web_t *w, struct MHD_Connection *c, const char *url, const char *method,
                       const char **allow, s_fail_t *f)
{
    *allow = NULL;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!juror_web_origin_ok(origin, host))
        return s_failf(f, MHD_HTTP_FORBIDDEN, "EORIGIN",
                       "a cross-origin request: Origin %.200s is not this server (Host %.200s)",
                       origin, host ? host : "(none)");
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (s_asset(url)) {
        *allow = "GET, HEAD";
        return get || s_failf(f, MHD_HTTP_METHOD_NOT_ALLOWED, "EMETHOD",
                              "%.20s %.200s: the page takes GET", method, url);
    }
    int r = s_route(url);
    if (r < 0)
        return s_failf(f, MHD_HTTP_NOT_FOUND, "ENOTFOUND", "no such path: %.200s", url);
    *allow = s_routes[r].method;
    if (strcmp(method, s_routes[r].method) != 0)
        return s_failf(f, MHD_HTTP_METHOD_NOT_ALLOWED, "EMETHOD", "%.200s takes %s", url,
                       s_routes[r].method);
    if (strcmp(method, "POST") == 0 && !s_json_type(c))
        return s_failf(f, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "EMEDIA",
                       "the body must be JSON with Content-Type: application/json");
    juror_web_session_t *s;
    return !s_routes[r].session || s_authenticate(w, c, s_routes[r].csrf, &s, f);
}

/* Answers a request whose body (if any) has been read. */
static enum MHD_Result s_dispatch(s_web_t *w, struct MHD_Connection *c, const char *url,
                                  const char *method, s_req_t *rq)
{
    if (rq->refused)
        return s_send_fail(c, &rq->why, rq->allow);
    s_fail_t f = {0};
    const char *allow = NULL;
    /* The checks again: the session may have ended while the body came. */
    if (!s_precheck(w, c, url, method, &allow, &f))
        return s_send_fail(c, &f, allow);
    const juror_web_asset_t *asset = s_asset(url);
    if (asset)
        return s_send(c, MHD_HTTP_OK, asset->content_type, asset->bytes, asset->len,
                      MHD_RESPMEM_PERSISTENT, NULL, NULL);
    int r = s_route(url);
    s_call_t call = {.c = c};
    char addr[INET6_ADDRSTRLEN + 8], key[INET6_ADDRSTRLEN + 8];
    s_client(c, addr, sizeof addr, key, sizeof key);
    call.addr = addr;
    call.limit_key = key;
    if (s_routes[r].session) {
        if (!s_authenticate(w, c, s_routes[r].csrf, &call.session, &f))
            return s_send_fail(c, &f, NULL);
        call.a = juror_web_session_owner(call.session);
    }
    cJSON *body = NULL;
    if (strcmp(method, "POST") == 0 && !(body = s_parse_body(rq, &f)))
        return s_send_fail(c, &f, NULL);
    call.body = body;
    cJSON *reply = cJSON_CreateObject();
    enum MHD_Result ret;
    if (!reply) {
        s_nomem(&f);
        ret = s_send_fail(c, &f, NULL);
    } else if (!s_routes[r].fn(w, &call, reply, &f)) {
        if (f.status == 0)
            s_failf(&f, MHD_HTTP_INTERNAL_SERVER_ERROR, "EINTERNAL", "%s failed without a reason",
                    url);
        ret = s_send_fail(c, &f, NULL);
    } else {
        ret = s_send_json(c, MHD_HTTP_OK, reply, call.cookie, NULL);
    }
    sodium_memzero(call.cookie, sizeof call.cookie);
    cJSON_Delete(reply);
    cJSON_Delete(body);
    return ret;
}

/* Whether the client waits for "100 Continue" before it sends the body. */
static bool s_expects_continue(struct MHD_Connection *c)
{
    const char *e = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return e && strcasecmp(e, "100-continue") == 0;
}

/*
 * Refuses a request before (or while) its body comes, without keeping the body. A client that
 * waits for "100 Continue" gets the answer at once; any other is sending its body already, and
 * an answer now would close the connection under it (the reset can destroy the answer before the
 * client reads it), so its body is read and dropped and the answer goes at its end.
 */
static enum MHD_Result s_refuse(struct MHD_Connection *c, s_req_t *rq, bool early)
{
    if (early)
        return s_send_fail(c, &rq->why, rq->allow);
    rq->refused = true;
    free(rq->body);
    rq->body = NULL;
    rq->len = rq->cap = 0;
    return MHD_YES;
}

/* microhttpd's access handler: called once with the headers, then with each piece of the body,
 * then once more with none. */
static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    (void)version;
    s_web_t *w = cls;
    s_req_t *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        /* A POST is refused on its headers when its path, type, size or session is wrong, before
         * anything of its body is kept. Other requests are answered at their end. */
        if (strcmp(method, "POST") != 0)
            return MHD_YES;
        bool early = s_expects_continue(c);
        if (!s_precheck(w, c, url, method, &rq->allow, &rq->why))
            return s_refuse(c, rq, early);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
        if (announced > S_BODY_MAX) {
            s_failf(&rq->why, MHD_HTTP_CONTENT_TOO_LARGE, "ETOOBIG",
                    "the body is over %u bytes (2 MiB)", S_BODY_MAX);
            return s_refuse(c, rq, early || announced > S_DISCARD_MAX);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!rq->refused && n > S_BODY_MAX - rq->len) {
            s_failf(&rq->why, MHD_HTTP_CONTENT_TOO_LARGE, "ETOOBIG",
                    "the body is over %u bytes (2 MiB)", S_BODY_MAX);
            rq->allow = NULL;
            s_refuse(c, rq, false);
        }
        if (rq->refused) {
            /* A client that keeps sending is given up on. */
            rq->discarded += n;
            return rq->discarded > S_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 4096;
            while (cap < rq->len + n + 1)
                cap *= 2;
            char *b = realloc(rq->body, cap);
            if (!b)
                return MHD_NO;
            rq->body = b;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    return s_dispatch(w, c, url, method, rq);
}

/* microhttpd's request-completed callback: frees the request's state. */
static void s_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    s_req_t *rq = *con_cls;
    if (!rq)
        return;
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* microhttpd's logger: keeps the last message (for a failure to start) and prints it at -v -v. */
static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    s_web_t *w = cls;
    vsnprintf(w->mhd_error, sizeof w->mhd_error, fmt, ap);
    size_t n = strlen(w->mhd_error);
    while (n > 0 && (w->mhd_error[n - 1] == '\n' || w->mhd_error[n - 1] == '\r'))
        w->mhd_error[--n] = '\0';
    if (w->verbose >= 2)
        fprintf(stderr, "juror web: microhttpd: %s\n", w->mhd_error);
}

/* ---------------------------------------------------------------------------------------------
 * The loop.
 */

/* Set by SIGINT or SIGTERM: stop serving. */
static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Ticks every coordinator session: reads what arrived, heartbeats, reconnects; ends those the
 * coordinator refused for good. */
static void s_tick_all(s_web_t *w)
{
    s_annotator_t *a = w->annotators;
    while (a) {
        s_annotator_t *next = a->next;
        if (a->j) {
            jury_err err = juror_tick(a->j);
            bool up = juror_connected(a->j);
            if (up != a->was_connected)
                s_log(w, up ? "coordinator back for %s" : "coordinator lost for %s; reconnecting",
                      a->name);
            a->was_connected = up;
            if (err != JURY_OK && err != JURY_EIO)
                s_annotator_final(w, a, err);
        }
        a = next;
    }
}

/* Room for n descriptors in w->fds. */
static bool s_fds_room(s_web_t *w, size_t n)
{
    if (n <= w->fds_cap)
        return true;
    size_t cap = w->fds_cap ? w->fds_cap : 16;
    while (cap < n)
        cap *= 2;
    struct pollfd *p = realloc(w->fds, cap * sizeof *p);
    if (!p)
        return false;
    w->fds = p;
    w->fds_cap = cap;
    return true;
}

/* Serves until a signal. Returns false when the loop itself failed. */
static bool s_serve(s_web_t *w)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di) {
        juror_cli_error("web: microhttpd gives no epoll descriptor");
        return false;
    }
    int mhd_fd = di->epoll_fd;
    while (!s_stop) {
        juror_web_session_t *s;
        while ((s = juror_web_sessions_idle(w->sessions, s_now_ms())))
            s_session_end(w, &s, "idle");
        s_tick_all(w);

        size_t n = 1;
        for (const s_annotator_t *a = w->annotators; a; a = a->next)
            n++;
        if (!s_fds_room(w, n)) {
            juror_cli_error("web: out of memory");
            return false;
        }
        int timeout = S_POLL_MAX_MS;
        MHD_UNSIGNED_LONG_LONG mt;
        if (MHD_get_timeout(w->mhd, &mt) == MHD_YES && mt < (MHD_UNSIGNED_LONG_LONG)timeout)
            timeout = (int)mt;
        n = 0;
        w->fds[n++] = (struct pollfd){.fd = mhd_fd, .events = POLLIN};
        for (const s_annotator_t *a = w->annotators; a; a = a->next) {
            if (!a->j)
                continue;
            int t = juror_timeout_ms(a->j);
            if (t >= 0 && t < timeout)
                timeout = t;
            /* -1 while reconnecting: poll skips a negative descriptor. */
            w->fds[n++] = (struct pollfd){.fd = juror_fd(a->j), .events = POLLIN};
        }
        if (poll(w->fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            juror_cli_error("web: poll: %s", strerror(errno));
            return false;
        }
        if (s_stop)
            break;
        if (MHD_run(w->mhd) != MHD_YES)
            s_log(w, "microhttpd: %s", w->mhd_error);
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Options and start.
 */

/* Parses a whole number within lo..hi for option name; prints why and returns false otherwise. */
static bool s_number(const char *name, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        juror_cli_error("web: %s: '%s' is not a whole number within %ld..%ld", name, v, lo, hi);
        return false;
    }
    *out = n;
    return true;
}

/* Checks the gateway's key file before serving, so that a mistake shows at start rather than at
 * the first login: it must exist and be readable by its owner only. */
static bool s_check_key_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        juror_cli_error("web: --key %s: %s", path, strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        juror_cli_error("web: --key %s: not a file", path);
        return false;
    }
    if (st.st_mode & 077) {
        juror_cli_error("web: --key %s: its group or others may read it; chmod 600 it", path);
        return false;
    }
    return true;
}

/* Writes the URL host of the listening address ("127.0.0.1", "[::1]"). */
static void s_url_host(const struct sockaddr_storage *addr, char *out, size_t cap)
{
    char text[INET6_ADDRSTRLEN] = "?";
    if (addr->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr, text,
                  sizeof text);
        snprintf(out, cap, "[%s]", text);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)addr)->sin_addr, text,
                  sizeof text);
        snprintf(out, cap, "%s", text);
    }
}

/* Frees everything the server holds: stops HTTP, flushes and closes every coordinator session. */
static void s_shutdown(s_web_t *w)
{
    if (w->mhd)
        MHD_stop_daemon(w->mhd);
    w->mhd = NULL;
    juror_web_sessions_destroy(&w->sessions);
    while (w->annotators) {
        s_annotator_t *a = w->annotators;
        w->annotators = a->next;
        s_juror_close(w, a);
        free(a->name);
        free(a);
    }
    juror_web_limiter_destroy(&w->limiter);
    free(w->fds);
    w->fds = NULL;
    sodium_memzero(w->launch_hash, sizeof w->launch_hash);
}

int juror_cmd_web(const juror_cli_t *cli, int argc, char **argv)
{
    s_web_t w = {.opts = cli->opts, .verbose = cli->verbose};
    const char *listen = S_LISTEN;
    long idle_minutes = S_IDLE_MINUTES, max_sessions = S_MAX_SESSIONS;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = juror_cli_take(argc, argv, &i, "--listen", &missing))) {
            listen = v;
        } else if ((v = juror_cli_take(argc, argv, &i, "--idle-minutes", &missing))) {
            if (!s_number("--idle-minutes", v, 1, S_IDLE_MINUTES_MAX, &idle_minutes))
                return JUROR_EXIT_USAGE;
        } else if ((v = juror_cli_take(argc, argv, &i, "--max-sessions", &missing))) {
            if (!s_number("--max-sessions", v, 1, S_MAX_SESSIONS_MAX, &max_sessions))
                return JUROR_EXIT_USAGE;
        } else if (missing) {
            juror_cli_error("web: %s needs a value", argv[i]);
            return JUROR_EXIT_USAGE;
        } else if (strcmp(argv[i], "--gateway") == 0) {
            w.gateway = true;
        } else if (strcmp(argv[i], "--secure-cookie") == 0) {
            w.secure_cookie = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(s_usage, stdout);
            return JUROR_EXIT_OK;
        } else {
            juror_cli_error("web: unexpected argument '%s' (see juror web --help)", argv[i]);
            return JUROR_EXIT_USAGE;
        }
    }
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char why[300];
    if (juror_web_listen_parse(listen, &addr, &addr_len, why, sizeof why) != JURY_OK) {
        juror_cli_error("web: --listen: %s", why);
        return JUROR_EXIT_USAGE;
    }
    if (!w.opts.dataset) {
        juror_cli_error("web: --dataset NAME is required (see juror web --help)");
        return JUROR_EXIT_USAGE;
    }
    if (w.gateway && w.opts.annotator) {
        juror_cli_error("web: --annotator: not with --gateway (each login's token names its "
                        "annotator)");
        return JUROR_EXIT_USAGE;
    }
    if (w.gateway && !w.opts.key_file) {
        juror_cli_error("web: --gateway needs --key FILE, the gateway's key file");
        return JUROR_EXIT_USAGE;
    }
    if (!w.gateway && !w.opts.key_file && !w.opts.annotator) {
        juror_cli_error("web: --key FILE (or --annotator NAME) is required (see juror web "
                        "--help)");
        return JUROR_EXIT_USAGE;
    }
    if (w.opts.timeout_ms == 0)
        w.opts.timeout_ms = S_TIMEOUT_MS;
    if (!w.opts.endpoint && !w.opts.key_file)
        w.opts.endpoint = JUROR_CLI_ENDPOINT;
    w.idle_ms = (int64_t)idle_minutes * 60 * 1000;
    w.max_sessions = (size_t)max_sessions;

    signal(SIGPIPE, SIG_IGN);
    /* SIGINT and SIGTERM stop serving and flush; a second one kills at once (SA_RESETHAND). No
     * SA_RESTART: poll must wake up to see the flag. */
    struct sigaction sa = {.sa_handler = s_on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = JUROR_EXIT_FAILURE;
    char token[JUROR_WEB_SECRET_SIZE] = "";
    w.sessions = juror_web_sessions_new(w.max_sessions, w.idle_ms);
    w.limiter = juror_web_limiter_new(S_LOGIN_ADDRS);
    if (!w.sessions || !w.limiter) {
        juror_cli_error("web: out of memory");
        goto done;
    }
    if (w.gateway) {
        if (!s_check_key_file(w.opts.key_file))
            goto done;
    } else {
        juror_cli_t one = *cli;
        one.opts = w.opts;
        juror_t *j = juror_cli_connect(&one);
        if (!j)
            goto done;
        if (!s_annotator_new(&w, juror_annotator(j), &j)) {
            juror_destroy(&j);
            juror_cli_error("web: out of memory");
            goto done;
        }
        s_log(&w, "session open on %s: dataset %s, annotator %s", juror_endpoint(w.annotators->j),
              juror_dataset(w.annotators->j), w.annotators->name);
        juror_web_secret_new(token);
        juror_web_hash(token, strlen(token), w.launch_hash);
    }

    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    size_t conns = w.max_sessions * 2 + 16;
    if (conns > 4096)
        conns = 4096;
    w.mhd = MHD_start_daemon(flags, 0, NULL, NULL, s_access, &w, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, s_completed, &w,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)S_CONN_IDLE_S,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned int)conns,
                             MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, &w, MHD_OPTION_END);
    if (!w.mhd) {
        juror_cli_error("web: cannot serve HTTP on %s: %s", listen,
                        w.mhd_error[0] ? w.mhd_error : "microhttpd failed to start");
        goto done;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w.mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : 0;
    char host[INET6_ADDRSTRLEN + 2];
    s_url_host(&addr, host, sizeof host);
    if (w.gateway)
        printf("juror web: gateway for dataset %s at http://%s:%u/\n", w.opts.dataset, host, port);
    else
        printf("juror web: serving dataset %s as %s at http://%s:%u/#token=%s\n", w.opts.dataset,
               w.annotators->name, host, port, token);
    fflush(stdout);
    sodium_memzero(token, sizeof token);

    rc = s_serve(&w) ? JUROR_EXIT_OK : JUROR_EXIT_FAILURE;
    if (s_stop)
        s_log(&w, "stopped by a signal");
done:
    sodium_memzero(token, sizeof token);
    s_shutdown(&w);
    if (rc == JUROR_EXIT_OK && w.undelivered)
        rc = JUROR_EXIT_FAILURE;
    return rc;
}
