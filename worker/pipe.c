/* pipe.c: `juror pipe`: a frontend in any language drives a worker over JSON lines (PIPE.md). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "juror_cli.h"
#include "jury_utf8.h"

/* The longest request line, newline excluded: the same bound as an import line. */
#define S_LINE_MAX (16u * 1024u * 1024u)
/* How much one read() takes from stdin. */
#define S_READ_CHUNK (64u * 1024u)
/* The most records per fetch, responses per submit and ids per release (protocol/SPEC.md, 4). */
#define S_BATCH_MAX 100
/* The longest record id in bytes (protocol/SPEC.md, 4). */
#define S_RECORD_ID_MAX 500
/* The longest note of a review decision in bytes (protocol/SPEC.md, 6.14). */
#define S_NOTE_MAX 1024
/* How much of a request line -v -v echoes to stderr. */
#define S_LOG_LINE_MAX 300

static const char s_usage[] =
    "usage: juror pipe --dataset NAME (--key FILE | --annotator NAME) [--connect ENDPOINT]\n"
    "                  [--timeout-ms MS] [-v]\n"
    "\n"
    "Drives a worker from another program: reads one JSON request per line on standard\n"
    "input and writes one JSON reply per line on standard output, in order. Heartbeats,\n"
    "reconnects and resending unacknowledged answers happen behind the scenes, also while\n"
    "no request comes. The contract, with an example session, is worker/PIPE.md.\n"
    "\n"
    "requests (each may carry an \"id\", echoed in its reply):\n"
    "  {\"op\": \"settings\"}                          the dataset's settings\n"
    "  {\"op\": \"fetch\", \"n\": 10}                    lease up to n (1..100) records\n"
    "  {\"op\": \"submit\", \"record\": ID, \"status\": \"submitted\", \"values\": {...}}\n"
    "  {\"op\": \"submit\", \"responses\": [{\"record\": ID, \"status\": S, \"values\": {...}}, "
    "...]}\n"
    "  {\"op\": \"release\", \"records\": [ID, ...]}     give records back unanswered\n"
    "  {\"op\": \"review_fetch\", \"n\": 10}             lease up to n records waiting for a "
    "reviewer\n"
    "  {\"op\": \"review\", \"record\": ID, \"accept\": true, \"values\": {...}, \"note\": "
    "\"...\"}\n"
    "                                              a reviewer's final decision\n"
    "  {\"op\": \"flush\"}                             wait until every answer is acknowledged\n"
    "  {\"op\": \"ping\"}                              is the session up?\n"
    "  {\"op\": \"bye\"}                               flush, then exit (as end of input does)\n"
    "\n"
    "errors come back as {\"error\": {\"code\": \"EINVAL\", \"message\": \"...\"}}; the pipe stays "
    "usable.\n"
    "Standard output carries only replies; -v logs each request to standard error, -v -v\n"
    "its text too.\n"
    "\n"
    "exit codes: 0 after bye or end of input, 1 when the session cannot be opened or answers\n"
    "could not be delivered before exit, 2 bad usage\n";

/* The pipe's state: one juror, the frontend on stdin/stdout. */
typedef struct {
    juror_t *j;         /* the session (owned) */
    int verbose;        /* -v count */
    bool bye;           /* a bye request came: stop reading */
    bool out_broken;    /* stdout could not be written: the frontend is gone */
    bool undelivered;   /* the last flush failed: some answer may not have been stored */
    bool was_connected; /* the last state seen, to log changes at -v */
    jury_err last_tick; /* the last juror_tick result, to log changes at -v */
    unsigned long seq;  /* requests handled, for logs */
} s_pipe_t;

/* Why a request failed: a jury_err and a message for the frontend. */
typedef struct {
    jury_err code;      /* JURY_OK while nothing failed */
    char message[1024]; /* for people; names the key or the byte */
} s_fail_t;

static bool s_failf(s_fail_t *f, jury_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a failure; returns false so that checks can `return s_failf(...)`. */
static bool s_failf(s_fail_t *f, jury_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    f->code = code;
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return false;
}

/* Records a failure that libjuror reported: its code with juror_error's message. */
static void s_fail_juror(s_fail_t *f, const s_pipe_t *p, jury_err code)
{
    const char *why = juror_error(p->j);
    s_failf(f, code, "%s", why && *why ? why : jury_strerror(code));
}

static void s_log(const s_pipe_t *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "juror pipe: ..." to stderr when -v was given at least `level` times. */
static void s_log(const s_pipe_t *p, int level, const char *fmt, ...)
{
    if (p->verbose < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("juror pipe: ", stderr);
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

/* Formats ms since the Unix epoch as ISO 8601 UTC with milliseconds: "2026-11-27T23:59:59.123Z". */
static void s_iso8601(int64_t ms, char *out, size_t cap)
{
    int64_t secs = ms / 1000;
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, cap, "%" PRId64, ms);
        return;
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* A short description of a JSON value for messages: `a string`, `true`, `2.5`, ... */
static const char *s_describe(const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsTrue(v))
        return "true";
    if (cJSON_IsFalse(v))
        return "false";
    if (cJSON_IsNumber(v)) {
        snprintf(buf, cap, "%.15g", v->valuedouble);
        return buf;
    }
    return "an unknown value";
}

/* ---------------------------------------------------------------------------------------------
 * Checks on a parsed request.
 */

/* Orders object members by key, for the duplicate check. */
static int s_cmp_key(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

/* Appends "/" and key to the JSON pointer in path (escaping ~ and /), truncating quietly. */
static size_t s_path_push(char *path, size_t cap, size_t len, const char *key)
{
    if (len + 1 < cap)
        path[len++] = '/';
    for (const char *k = key; *k && len + 2 < cap; k++) {
        if (*k == '~' || *k == '/') {
            path[len++] = '~';
            path[len++] = *k == '~' ? '0' : '1';
        } else {
            path[len++] = *k;
        }
    }
    path[len < cap ? len : cap - 1] = '\0';
    return len;
}

/*
 * Checks what cJSON would otherwise let through silently, anywhere in v: a key
 * given twice in one object (cJSON keeps both, and the first would win) and a
 * number too large for a double (1e400 reads as infinity and would be printed
 * as null). Returns true when there is neither; otherwise fills f with the
 * JSON pointer of the place.
 */
static bool s_check_tree(const cJSON *v, char *path, size_t cap, size_t len, s_fail_t *f)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return true;
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    if (cJSON_IsObject(v) && n > 1) {
        const cJSON **keys = malloc(n * sizeof *keys);
        if (!keys)
            return s_failf(f, JURY_ENOMEM, "out of memory checking the request");
        size_t i = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            keys[i++] = c;
        qsort(keys, n, sizeof *keys, s_cmp_key);
        for (i = 1; i < n; i++) {
            if (strcmp(keys[i - 1]->string, keys[i]->string) == 0) {
                path[len < cap ? len : cap - 1] = '\0';
                if (len)
                    s_failf(f, JURY_EINVAL, "%s: duplicate key \"%.200s\"", path, keys[i]->string);
                else
                    s_failf(f, JURY_EINVAL, "duplicate key \"%.200s\"", keys[i]->string);
                free(keys);
                return false;
            }
        }
        free(keys);
    }
    size_t index = 0;
    for (const cJSON *c = v->child; c; c = c->next, index++) {
        char num[24];
        const char *key = c->string;
        if (cJSON_IsArray(v)) {
            snprintf(num, sizeof num, "%zu", index);
            key = num;
        }
        if (cJSON_IsNumber(c) && !isfinite(c->valuedouble)) {
            s_path_push(path, cap, len, key);
            return s_failf(f, JURY_EINVAL, "%s: number out of range", path);
        }
        if (!cJSON_IsObject(c) && !cJSON_IsArray(c))
            continue;
        size_t sub = s_path_push(path, cap, len, key);
        if (!s_check_tree(c, path, cap, sub, f))
            return false;
        path[len < cap ? len : cap - 1] = '\0';
    }
    return true;
}

/*
 * cJSON turns "\u0000" into a NUL byte, which would cut the string short
 * without a word. In a line that parsed, a backslash only occurs inside a
 * string, so escapes can be walked without tracking quotes. Returns the
 * offset of the first \u0000, or len when there is none.
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

/* Whether the line ends inside a string, object or array (for "truncated" messages). */
static bool s_unclosed(const char *s, size_t n)
{
    long depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return in_string || depth > 0;
}

static bool s_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Checks that every key of request `req` is "op", "id" or one of `keys` (NULL-terminated). */
static bool s_known_keys(const cJSON *req, const char *op, const char *const *keys, s_fail_t *f)
{
    for (const cJSON *c = req->child; c; c = c->next) {
        if (strcmp(c->string, "op") == 0 || strcmp(c->string, "id") == 0)
            continue;
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known = known || strcmp(c->string, keys[i]) == 0;
        if (known)
            continue;
        char takes[128] = "";
        size_t used = 0;
        for (size_t i = 0; keys[i] && used < sizeof takes; i++)
            used +=
                (size_t)snprintf(takes + used, sizeof takes - used, "%s%s", i ? ", " : "", keys[i]);
        return s_failf(f, JURY_EINVAL, "%s: unknown key \"%.200s\" (%s takes %s)", op, c->string,
                       op, keys[0] ? takes : "nothing but op and id");
    }
    return true;
}

/* Checks a record id: a string of 1..500 bytes. `where` names it in the message. */
static bool s_record_id(const cJSON *v, const char *where, s_fail_t *f)
{
    char buf[40];
    if (!cJSON_IsString(v))
        return s_failf(f, JURY_EINVAL, "%s: must be a record id (a string), got %s", where,
                       v ? s_describe(v, buf, sizeof buf) : "nothing");
    size_t n = strlen(v->valuestring);
    if (n == 0 || n > S_RECORD_ID_MAX)
        return s_failf(f, JURY_EINVAL, "%s: record ids are 1..%d bytes long, got %zu", where,
                       S_RECORD_ID_MAX, n);
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * The operations. Each fills `reply` (which may already hold "id") and returns true, or fills f
 * and returns false; then the caller sends an error reply instead.
 */

static bool s_op_settings(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {NULL};
    if (!s_known_keys(req, "settings", keys, f))
        return false;
    const char *text = juror_settings(p->j);
    cJSON *settings = text ? cJSON_Parse(text) : NULL;
    if (!cJSON_IsObject(settings)) {
        cJSON_Delete(settings);
        return s_failf(f, JURY_EINTERNAL, "settings: libjuror gave settings that are not JSON");
    }
    if (!cJSON_AddItemToObject(reply, "settings", settings)) {
        cJSON_Delete(settings);
        return s_failf(f, JURY_ENOMEM, "out of memory");
    }
    if (!cJSON_AddStringToObject(reply, "dataset", juror_dataset(p->j)) ||
        !cJSON_AddStringToObject(reply, "annotator", juror_annotator(p->j)) ||
        !cJSON_AddNumberToObject(reply, "lease_seconds", (double)juror_lease_seconds(p->j)) ||
        !cJSON_AddStringToObject(reply, "role", juror_role(p->j)))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    return true;
}

/* fetch and review_fetch: {n} -> {"records": [...]}, the records as libjuror gives them. */
static bool s_fetch_records(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f,
                            const char *op, bool review)
{
    static const char *const keys[] = {"n", NULL};
    if (!s_known_keys(req, op, keys, f))
        return false;
    uint32_t n = 10;
    const cJSON *nv = cJSON_GetObjectItemCaseSensitive(req, "n");
    if (nv && !cJSON_IsNull(nv)) {
        char buf[40];
        double d = cJSON_IsNumber(nv) ? nv->valuedouble : NAN;
        if (!(d >= 1 && d <= S_BATCH_MAX && d == floor(d)))
            return s_failf(f, JURY_EINVAL, "%s: n: must be an integer within 1..%d, got %s", op,
                           S_BATCH_MAX, s_describe(nv, buf, sizeof buf));
        n = (uint32_t)d;
    }
    char *records = NULL;
    size_t count = 0;
    jury_err rc = review ? juror_review_fetch(p->j, n, &records, &count)
                         : juror_fetch(p->j, n, &records, &count);
    if (rc != JURY_OK) {
        s_fail_juror(f, p, rc);
        return false;
    }
    /* Parsed again rather than pasted: a reply must be one line of JSON whatever libjuror wrote. */
    cJSON *list = records ? cJSON_Parse(records) : NULL;
    free(records);
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return s_failf(f, JURY_EINTERNAL, "%s: libjuror gave records that are not a JSON array",
                       op);
    }
    if ((size_t)cJSON_GetArraySize(list) != count)
        s_log(p, 1, "%s: libjuror counted %zu records but listed %d", op, count,
              cJSON_GetArraySize(list));
    if (!cJSON_AddItemToObject(reply, "records", list)) {
        cJSON_Delete(list);
        return s_failf(f, JURY_ENOMEM, "out of memory");
    }
    return true;
}

static bool s_op_fetch(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    return s_fetch_records(p, req, reply, f, "fetch", false);
}

static bool s_op_review_fetch(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    return s_fetch_records(p, req, reply, f, "review_fetch", true);
}

/*
 * review: {record, accept, values, note} -> {"ok": true} once the decision is on the
 * coordinator's disk. values is required when accept is true; with accept false it may be given
 * but is not sent (libjuror keeps a rejection without values). Nothing is held after the reply:
 * after EIO the frontend sends the same decision again, which the coordinator acknowledges again.
 */
static bool s_op_review(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {"record", "accept", "values", "note", NULL};
    if (!s_known_keys(req, "review", keys, f))
        return false;
    char buf[40];
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(req, "record");
    if (!s_record_id(record, "review: record", f))
        return false;
    const cJSON *accept = cJSON_GetObjectItemCaseSensitive(req, "accept");
    if (!cJSON_IsBool(accept))
        return s_failf(f, JURY_EINVAL,
                       "review: accept: must be true (the record goes into the final datasets "
                       "with values) or false (it stays out), got %s",
                       accept ? s_describe(accept, buf, sizeof buf) : "nothing");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(req, "values");
    if (cJSON_IsNull(values))
        values = NULL;
    if (values && !cJSON_IsObject(values))
        return s_failf(f, JURY_EINVAL,
                       "review: values: must be an object of answers by question name, got %s",
                       s_describe(values, buf, sizeof buf));
    if (cJSON_IsTrue(accept) && !values)
        return s_failf(f, JURY_EINVAL,
                       "review: values: required when accept is true (the final answers)");
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(req, "note");
    if (cJSON_IsNull(note))
        note = NULL;
    if (note && !cJSON_IsString(note))
        return s_failf(f, JURY_EINVAL, "review: note: must be a string, got %s",
                       s_describe(note, buf, sizeof buf));
    if (note && strlen(note->valuestring) > S_NOTE_MAX)
        return s_failf(f, JURY_EINVAL, "review: note: must be at most %d bytes, got %zu",
                       S_NOTE_MAX, strlen(note->valuestring));
    char *text = NULL;
    if (cJSON_IsTrue(accept) && !(text = cJSON_PrintUnformatted(values)))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    jury_err rc = juror_review_submit(p->j, record->valuestring, cJSON_IsTrue(accept), text,
                                      note ? note->valuestring : NULL);
    free(text);
    if (rc != JURY_OK) {
        s_fail_juror(f, p, rc);
        return false;
    }
    if (!cJSON_AddTrueToObject(reply, "ok"))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    return true;
}

/* One response of a submit, checked. Borrowed from the request. */
typedef struct {
    const char *record;  /* the record id */
    juror_status status; /* submitted unless the request says otherwise */
    const cJSON *values; /* the answers object, or NULL */
} s_response_t;

/* Checks one response (the request itself in the single form); `where` prefixes messages. */
static bool s_response(const cJSON *obj, const char *where, s_response_t *out, s_fail_t *f)
{
    char at[96], buf[40];
    snprintf(at, sizeof at, "%s: record", where);
    if (!s_record_id(cJSON_GetObjectItemCaseSensitive(obj, "record"), at, f))
        return false;
    out->record = cJSON_GetObjectItemCaseSensitive(obj, "record")->valuestring;
    out->status = JUROR_SUBMITTED;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (st && !cJSON_IsNull(st) &&
        (!cJSON_IsString(st) || !juror_status_parse(st->valuestring, &out->status)))
        return s_failf(
            f, JURY_EINVAL,
            "%s: status: must be \"submitted\", \"discarded\" or \"draft\", got %s%.40s%s", where,
            cJSON_IsString(st) ? "\"" : "",
            cJSON_IsString(st) ? st->valuestring : s_describe(st, buf, sizeof buf),
            cJSON_IsString(st) ? "\"" : "");
    out->values = cJSON_GetObjectItemCaseSensitive(obj, "values");
    if (cJSON_IsNull(out->values))
        out->values = NULL;
    if (out->values && !cJSON_IsObject(out->values))
        return s_failf(f, JURY_EINVAL,
                       "%s: values: must be an object of answers by question name, got %s", where,
                       s_describe(out->values, buf, sizeof buf));
    return true;
}

/*
 * Sends one checked response through libjuror and waits for its
 * acknowledgement. Returns JURY_OK, with the extended lease of a draft in
 * iso (ISO 8601; "" when there is none), or the error with f filled.
 */
static jury_err s_send_response(s_pipe_t *p, const s_response_t *r, char *iso, size_t cap,
                                s_fail_t *f)
{
    iso[0] = '\0';
    char *values = r->values ? cJSON_PrintUnformatted(r->values) : NULL;
    if (r->values && !values) {
        s_failf(f, JURY_ENOMEM, "out of memory");
        return JURY_ENOMEM;
    }
    int64_t lease_ms = 0;
    jury_err rc = juror_submit(p->j, r->record, r->status, values, &lease_ms);
    free(values);
    if (rc != JURY_OK) {
        s_fail_juror(f, p, rc);
        return rc;
    }
    if (r->status == JUROR_DRAFT && lease_ms > 0)
        s_iso8601(lease_ms, iso, cap);
    return JURY_OK;
}

/* Adds {"code", "message"} as "error" to obj. Returns false on allocation failure. */
static bool s_add_error(cJSON *obj, jury_err code, const char *message)
{
    cJSON *e = cJSON_AddObjectToObject(obj, "error");
    return e && cJSON_AddStringToObject(e, "code", jury_errname(code)) &&
           cJSON_AddStringToObject(e, "message", message);
}

/* The batch form: {"responses": [...]}, answered with {"results": [...]} in request order. */
static bool s_submit_batch(s_pipe_t *p, const cJSON *list, cJSON *reply, s_fail_t *f)
{
    char buf[40];
    if (!cJSON_IsArray(list))
        return s_failf(f, JURY_EINVAL, "submit: responses: must be an array of responses, got %s",
                       s_describe(list, buf, sizeof buf));
    int n = cJSON_GetArraySize(list);
    if (n < 1 || n > S_BATCH_MAX)
        return s_failf(f, JURY_EINVAL, "submit: responses: must hold 1..%d responses, got %d",
                       S_BATCH_MAX, n);
    s_response_t rs[S_BATCH_MAX];
    /* Every response is checked before any is sent, so a malformed batch changes nothing. */
    int i = 0;
    for (const cJSON *c = list->child; c; c = c->next, i++) {
        char where[64];
        snprintf(where, sizeof where, "submit: responses[%d]", i);
        if (!cJSON_IsObject(c))
            return s_failf(f, JURY_EINVAL, "%s: must be an object {record, status, values}, got %s",
                           where, s_describe(c, buf, sizeof buf));
        for (const cJSON *k = c->child; k; k = k->next)
            if (strcmp(k->string, "record") != 0 && strcmp(k->string, "status") != 0 &&
                strcmp(k->string, "values") != 0)
                return s_failf(f, JURY_EINVAL,
                               "%s: unknown key \"%.200s\" (a response takes record, status, "
                               "values)",
                               where, k->string);
        if (!s_response(c, where, &rs[i], f))
            return false;
    }
    cJSON *results = cJSON_AddArrayToObject(reply, "results");
    if (!results)
        return s_failf(f, JURY_ENOMEM, "out of memory");
    int stopped_at = -1; /* the response that timed out: later ones are not sent */
    for (i = 0; i < n; i++) {
        s_fail_t one = {JURY_OK, ""};
        char iso[64] = "";
        jury_err rc;
        if (stopped_at >= 0) {
            rc = JURY_EIO;
            snprintf(one.message, sizeof one.message,
                     "not sent: the coordinator did not acknowledge responses[%d] in time",
                     stopped_at);
        } else {
            rc = s_send_response(p, &rs[i], iso, sizeof iso, &one);
        }
        if (rc == JURY_ENOMEM)
            return s_failf(f, JURY_ENOMEM, "%s", one.message);
        if (rc == JURY_EIO && stopped_at < 0)
            stopped_at = i;
        cJSON *r = cJSON_CreateObject();
        if (!r)
            return s_failf(f, JURY_ENOMEM, "out of memory");
        cJSON_AddItemToArray(results, r);
        if (!cJSON_AddStringToObject(r, "record", rs[i].record) ||
            !cJSON_AddBoolToObject(r, "ok", rc == JURY_OK) ||
            (iso[0] && !cJSON_AddStringToObject(r, "lease_expires", iso)) ||
            (rc != JURY_OK && !s_add_error(r, rc, one.message)))
            return s_failf(f, JURY_ENOMEM, "out of memory");
    }
    return true;
}

static bool s_op_submit(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {"record", "status", "values", "responses", NULL};
    if (!s_known_keys(req, "submit", keys, f))
        return false;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(req, "responses");
    bool single = cJSON_GetObjectItemCaseSensitive(req, "record") ||
                  cJSON_GetObjectItemCaseSensitive(req, "status") ||
                  cJSON_GetObjectItemCaseSensitive(req, "values");
    if (list && single)
        return s_failf(f, JURY_EINVAL,
                       "submit: give either record, status and values (one response) or "
                       "responses (a batch), not both");
    if (list)
        return s_submit_batch(p, list, reply, f);
    s_response_t r;
    char iso[64];
    if (!s_response(req, "submit", &r, f) || s_send_response(p, &r, iso, sizeof iso, f) != JURY_OK)
        return false;
    if (!cJSON_AddTrueToObject(reply, "ok") ||
        (iso[0] && !cJSON_AddStringToObject(reply, "lease_expires", iso)))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    return true;
}

static bool s_op_release(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {"records", NULL};
    if (!s_known_keys(req, "release", keys, f))
        return false;
    char buf[40];
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(req, "records");
    if (!cJSON_IsArray(list))
        return s_failf(f, JURY_EINVAL, "release: records: must be an array of record ids, got %s",
                       list ? s_describe(list, buf, sizeof buf) : "nothing");
    int n = cJSON_GetArraySize(list);
    if (n < 1 || n > S_BATCH_MAX)
        return s_failf(f, JURY_EINVAL, "release: records: must hold 1..%d ids, got %d", S_BATCH_MAX,
                       n);
    const char *ids[S_BATCH_MAX];
    int i = 0;
    for (const cJSON *c = list->child; c; c = c->next, i++) {
        char where[48];
        snprintf(where, sizeof where, "release: records[%d]", i);
        if (!s_record_id(c, where, f))
            return false;
        ids[i] = c->valuestring;
    }
    jury_err rc = juror_release(p->j, ids, (size_t)n);
    if (rc != JURY_OK) {
        s_fail_juror(f, p, rc);
        return false;
    }
    if (!cJSON_AddNumberToObject(reply, "released", n))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    return true;
}

/*
 * Waits for every acknowledgement; shared by flush and bye. Besides EIO (still unacknowledged
 * when the time is up), libjuror reports here the first response that was refused after its
 * submit had already given up waiting (EIO), with that refusal's code.
 */
static bool s_flush(s_pipe_t *p, s_fail_t *f)
{
    jury_err rc = juror_flush(p->j);
    if (rc == JURY_OK)
        return true;
    const char *why = juror_error(p->j);
    if (!why || !*why)
        why = jury_strerror(rc);
    if (rc == JURY_EIO)
        return s_failf(f, rc, "%s (juror keeps sending them)", why);
    return s_failf(f, rc, "%s", why);
}

static bool s_op_flush(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {NULL};
    if (!s_known_keys(req, "flush", keys, f) || !s_flush(p, f))
        return false;
    if (!cJSON_AddTrueToObject(reply, "ok"))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    return true;
}

static bool s_op_ping(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {NULL};
    if (!s_known_keys(req, "ping", keys, f))
        return false;
    if (!cJSON_AddTrueToObject(reply, "pong") ||
        !cJSON_AddBoolToObject(reply, "connected", juror_connected(p->j)) ||
        !cJSON_AddNumberToObject(reply, "pending", (double)juror_pending(p->j)))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    return true;
}

static bool s_op_bye(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f)
{
    static const char *const keys[] = {NULL};
    if (!s_known_keys(req, "bye", keys, f))
        return false;
    /* Even when the flush fails, the frontend asked to stop: the pipe ends after this reply. */
    p->bye = true;
    if (!s_flush(p, f)) {
        p->undelivered = true;
        return false;
    }
    if (!cJSON_AddTrueToObject(reply, "ok"))
        return s_failf(f, JURY_ENOMEM, "out of memory");
    return true;
}

typedef bool (*s_op_fn)(s_pipe_t *p, const cJSON *req, cJSON *reply, s_fail_t *f);

static const struct {
    const char *name; /* the "op" value */
    s_op_fn fn;       /* what it does */
} s_ops[] = {
    {"settings", s_op_settings},
    {"fetch", s_op_fetch},
    {"submit", s_op_submit},
    {"release", s_op_release},
    {"review_fetch", s_op_review_fetch},
    {"review", s_op_review},
    {"flush", s_op_flush},
    {"ping", s_op_ping},
    {"bye", s_op_bye},
};

#define S_OP_NAMES "settings, fetch, submit, release, review_fetch, review, flush, ping, bye"

/* ---------------------------------------------------------------------------------------------
 * Replies.
 */

/* Writes one reply line and flushes. Sets out_broken when stdout is gone. */
static void s_write(s_pipe_t *p, const cJSON *reply)
{
    static const char nomem[] = "{\"error\":{\"code\":\"ENOMEM\",\"message\":\"out of memory "
                                "printing the reply\"}}";
    if (p->out_broken)
        return;
    char *text = cJSON_PrintUnformatted(reply);
    const char *line = text ? text : nomem;
    if (fputs(line, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
        juror_cli_error("pipe: cannot write a reply to standard output: %s", strerror(errno));
        p->out_broken = true;
    }
    free(text);
}

/* A new reply object holding a copy of the request's "id" when it has one (NULL: no memory). */
static cJSON *s_reply_new(const cJSON *id)
{
    cJSON *reply = cJSON_CreateObject();
    if (reply && id) {
        cJSON *copy = cJSON_Duplicate(id, true);
        if (!copy) {
            cJSON_Delete(reply);
            return NULL;
        }
        cJSON_AddItemToObject(reply, "id", copy);
    }
    return reply;
}

static void s_write_error(s_pipe_t *p, const cJSON *id, const s_fail_t *f)
{
    cJSON *reply = s_reply_new(id);
    if (!reply || !s_add_error(reply, f->code, f->message)) {
        cJSON_Delete(reply);
        reply = NULL; /* s_write prints the fixed ENOMEM line */
    }
    s_write(p, reply);
    cJSON_Delete(reply);
}

/* ---------------------------------------------------------------------------------------------
 * One request line.
 */

/* Parses and checks a line up to the request object; NULL with f filled when it is not one. */
static cJSON *s_parse(const char *line, size_t len, s_fail_t *f)
{
    size_t bad = 0;
    if (!jury_utf8_valid(line, len, &bad)) {
        s_failf(f, JURY_EPROTO, "byte %zu: invalid UTF-8", bad);
        return NULL;
    }
    const char *end = NULL;
    cJSON *req = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!req) {
        size_t at = end && end >= line && end <= line + len ? (size_t)(end - line) : 0;
        if (s_unclosed(line, len))
            s_failf(f, JURY_EPROTO, "byte %zu: truncated JSON: the line ends inside a value", len);
        else
            s_failf(f, JURY_EPROTO, "byte %zu: malformed JSON", at);
        return NULL;
    }
    size_t used = (size_t)(end - line);
    while (used < len && s_is_blank(line[used]))
        used++;
    if (used < len) {
        s_failf(f, JURY_EPROTO, "byte %zu: text after the JSON value (one request per line)", used);
        cJSON_Delete(req);
        return NULL;
    }
    size_t nul = s_find_nul_escape(line, len);
    if (nul < len) {
        s_failf(f, JURY_EPROTO, "byte %zu: \\u0000 in a string (strings must not hold NUL)", nul);
        cJSON_Delete(req);
        return NULL;
    }
    if (!cJSON_IsObject(req)) {
        char buf[40];
        s_failf(f, JURY_EPROTO, "a request must be a JSON object, got %s",
                s_describe(req, buf, sizeof buf));
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

/* Handles one non-blank request line: exactly one reply is written. */
static void s_handle_line(s_pipe_t *p, const char *line, size_t len)
{
    int64_t t0 = s_now_ms();
    unsigned long seq = ++p->seq;
    if (p->verbose >= 2)
        s_log(p, 2, "#%lu < %.*s%s", seq, (int)(len < S_LOG_LINE_MAX ? len : S_LOG_LINE_MAX), line,
              len > S_LOG_LINE_MAX ? "..." : "");
    s_fail_t f = {JURY_OK, ""};
    const char *opname = "?";
    cJSON *req = s_parse(line, len, &f);
    const cJSON *id = req ? cJSON_GetObjectItemCaseSensitive(req, "id") : NULL;
    cJSON *reply = NULL;
    if (req) {
        char path[256] = "";
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
        s_op_fn fn = NULL;
        if (!s_check_tree(req, path, sizeof path, 0, &f)) {
            /* f is filled */
        } else if (!op) {
            s_failf(&f, JURY_EINVAL, "missing \"op\": one of " S_OP_NAMES);
        } else if (!cJSON_IsString(op)) {
            char buf[40];
            s_failf(&f, JURY_EINVAL, "op: must be a string, one of " S_OP_NAMES ", got %s",
                    s_describe(op, buf, sizeof buf));
        } else {
            opname = op->valuestring;
            for (size_t i = 0; i < sizeof s_ops / sizeof s_ops[0] && !fn; i++)
                if (strcmp(s_ops[i].name, op->valuestring) == 0)
                    fn = s_ops[i].fn;
            if (!fn)
                s_failf(&f, JURY_EINVAL, "unknown op \"%.100s\": one of " S_OP_NAMES,
                        op->valuestring);
        }
        if (fn) {
            reply = s_reply_new(id);
            if (!reply)
                s_failf(&f, JURY_ENOMEM, "out of memory");
            else if (!fn(p, req, reply, &f) && f.code == JURY_OK)
                s_failf(&f, JURY_EINTERNAL, "%s failed without a reason", opname);
        }
    }
    if (f.code == JURY_OK)
        s_write(p, reply);
    else
        s_write_error(p, id, &f);
    if (f.code == JURY_OK)
        s_log(p, 1, "#%lu %s: ok (%" PRId64 " ms)", seq, opname, s_now_ms() - t0);
    else
        s_log(p, 1, "#%lu %s: %s: %s (%" PRId64 " ms)", seq, opname, jury_errname(f.code),
              f.message, s_now_ms() - t0);
    cJSON_Delete(reply);
    cJSON_Delete(req);
}

/* ---------------------------------------------------------------------------------------------
 * Reading stdin in lines, without stdio (stdin is polled together with the juror).
 */

typedef struct {
    char *buf;      /* bytes read; buf[start..len) not yet consumed */
    size_t start;   /* where the current line starts */
    size_t len;     /* bytes held */
    size_t cap;     /* bytes allocated */
    size_t scanned; /* buf[start..scanned) holds no newline */
    bool skipping;  /* in a line over S_LINE_MAX: its bytes are dropped up to its newline */
    bool eof;       /* stdin is at its end */
} s_input_t;

/* Reads what stdin has. Returns 1 (bytes or EOF noted), 0 (nothing now) or -1 (error, errno set).
 */
static int s_input_read(s_input_t *in)
{
    if (in->start > 0 && (in->start == in->len || in->cap - in->len < S_READ_CHUNK)) {
        memmove(in->buf, in->buf + in->start, in->len - in->start);
        in->len -= in->start;
        in->scanned -= in->start;
        in->start = 0;
    }
    if (in->cap - in->len < S_READ_CHUNK) {
        /* Never more than one line and one chunk: longer lines are dropped as they come. */
        size_t cap = in->cap ? in->cap * 2 : 2 * S_READ_CHUNK;
        if (cap > S_LINE_MAX + 2 * S_READ_CHUNK)
            cap = S_LINE_MAX + 2 * S_READ_CHUNK;
        if (cap - in->len < S_READ_CHUNK) {
            errno = ENOBUFS; /* cannot happen: the line limit keeps len small */
            return -1;
        }
        char *b = realloc(in->buf, cap);
        if (!b) {
            errno = ENOMEM;
            return -1;
        }
        in->buf = b;
        in->cap = cap;
    }
    ssize_t got = read(STDIN_FILENO, in->buf + in->len, in->cap - in->len);
    if (got < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    if (got == 0)
        in->eof = true;
    in->len += (size_t)got;
    return 1;
}

/*
 * Takes the next complete line (without its newline) from the buffer; at the
 * end of input also a last line without one. Returns true with *line and *n
 * set (*line NULL: the line was longer than S_LINE_MAX and dropped), or
 * false when no complete line is buffered. The line stays valid until the
 * next s_input_read.
 */
static bool s_input_line(s_input_t *in, const char **line, size_t *n)
{
    size_t from = in->scanned > in->start ? in->scanned : in->start;
    char *nl = from < in->len ? memchr(in->buf + from, '\n', in->len - from) : NULL;
    if (nl) {
        size_t at = (size_t)(nl - in->buf);
        *n = at - in->start;
        *line = in->skipping || *n > S_LINE_MAX ? NULL : in->buf + in->start;
        in->skipping = false;
        in->start = in->scanned = at + 1;
        return true;
    }
    in->scanned = in->len;
    if (!in->skipping && in->len - in->start > S_LINE_MAX)
        in->skipping = true;
    if (in->skipping) {
        in->start = in->scanned = in->len = 0;
        if (in->eof) {
            in->skipping = false;
            *line = NULL;
            *n = 0;
            return true;
        }
        return false;
    }
    if (in->eof && in->len > in->start) {
        *line = in->buf + in->start;
        *n = in->len - in->start;
        in->start = in->scanned = in->len;
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * The loop.
 */

/* Set by SIGINT or SIGTERM: stop reading, flush and leave as at the end of input. */
static volatile sig_atomic_t s_stop;
/* The juror the signal also hurries (juror_interrupt), while there is one. */
static juror_t *volatile s_stop_juror;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
    juror_interrupt(s_stop_juror);
}

static void s_handle_input_line(s_pipe_t *p, const char *line, size_t n)
{
    if (!line) {
        ++p->seq;
        s_fail_t f;
        s_failf(&f, JURY_ETOOBIG, "the line is longer than %u bytes (16 MiB); it was dropped",
                S_LINE_MAX);
        s_write_error(p, NULL, &f);
        s_log(p, 1, "#%lu ?: ETOOBIG: %s", p->seq, f.message);
        return;
    }
    size_t i = 0;
    while (i < n && s_is_blank(line[i]))
        i++;
    if (i == n)
        return; /* a blank line is not a request */
    s_handle_line(p, line, n);
}

/* Logs when the session goes down or comes back (at -v). */
static void s_watch_connection(s_pipe_t *p)
{
    bool up = juror_connected(p->j);
    if (up != p->was_connected)
        s_log(p, 1, up ? "session open again" : "coordinator unreachable; reconnecting");
    p->was_connected = up;
}

int juror_cmd_pipe(const juror_cli_t *cli, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(s_usage, stdout);
            return JUROR_EXIT_OK;
        }
        juror_cli_error("pipe: unexpected argument '%s' (see juror pipe --help)", argv[i]);
        return JUROR_EXIT_USAGE;
    }
    /* A frontend that stops reading must not kill us with SIGPIPE before the flush. */
    signal(SIGPIPE, SIG_IGN);
    /* SIGINT and SIGTERM end the pipe as the end of input does (flush, bye); a second one
     * kills at once (SA_RESETHAND). No SA_RESTART: poll must wake up to see the flag. */
    struct sigaction sa = {.sa_handler = s_on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    s_pipe_t p = {.verbose = cli->verbose};
    p.j = juror_cli_connect(cli);
    if (!p.j)
        return JUROR_EXIT_FAILURE;
    p.was_connected = true;
    s_stop_juror = p.j;
    if (s_stop) /* a signal before there was a juror to hurry */
        juror_interrupt(p.j);
    s_log(&p, 1, "session open on %s: dataset %s, annotator %s, leases of %" PRIu32 " s",
          juror_endpoint(p.j), juror_dataset(p.j), juror_annotator(p.j), juror_lease_seconds(p.j));

    s_input_t in = {0};
    int rc = JUROR_EXIT_OK;
    for (;;) {
        const char *line;
        size_t n;
        while (!p.bye && !p.out_broken && !s_stop && s_input_line(&in, &line, &n))
            s_handle_input_line(&p, line, n);
        if (p.bye || p.out_broken || in.eof || s_stop)
            break;
        /* Read what arrived and heartbeat; EIO only says the coordinator is away for now. */
        jury_err terr = juror_tick(p.j);
        if (terr != JURY_OK && terr != JURY_EIO && terr != p.last_tick)
            s_log(&p, 1, "tick: %s: %s", jury_errname(terr), juror_error(p.j));
        p.last_tick = terr;
        s_watch_connection(&p);
        int timeout = juror_timeout_ms(p.j);
        if (timeout < 0 || timeout > 1000)
            timeout = 1000;
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = juror_fd(p.j), .events = POLLIN}};
        if (poll(fds, 2, timeout) < 0) {
            if (errno == EINTR)
                continue; /* s_stop is checked at the top */
            juror_cli_error("pipe: poll: %s", strerror(errno));
            rc = JUROR_EXIT_FAILURE;
            break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
            if (s_input_read(&in) < 0) {
                juror_cli_error("pipe: reading standard input: %s", strerror(errno));
                rc = JUROR_EXIT_FAILURE;
                break;
            }
        }
    }
    free(in.buf);
    if (s_stop)
        s_log(&p, 1, "stopped by a signal");

    /* bye flushed already (and replied); end of input, a signal or a lost frontend flush here. */
    if (!p.bye) {
        s_fail_t f = {JURY_OK, ""};
        if (!s_flush(&p, &f)) {
            juror_cli_error("pipe: %s: %s", jury_errname(f.code), f.message);
            p.undelivered = true;
        }
    }
    if (juror_pending(p.j) > 0)
        juror_cli_error("pipe: %zu responses were never acknowledged and are lost",
                        juror_pending(p.j));
    if (p.undelivered || p.out_broken)
        rc = JUROR_EXIT_FAILURE;
    s_log(&p, 1, "%lu requests; bye", p.seq);
    s_stop_juror = NULL;
    juror_destroy(&p.j);
    return rc;
}
