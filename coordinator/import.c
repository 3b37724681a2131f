/* import.c: JSONL record import: a bounded line reader, validation against the settings, msgpack
 * encoding, one write transaction. */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>

#include "jury_jsonpack.h"
#include "jury_log.h"
#include "jury_proto.h"
#include "jury_utf8.h"

_Static_assert(JURY_SETTINGS_ID_MAX <= JURY_STORE_EXTID_MAX,
               "every id the settings accept must fit the store's index");

#define READ_CHUNK ((size_t)1 << 20)
/* The most bytes a record may take encoded: what one batch frame (SPEC 4) carries with room for
 * the batch's header and the lease and draft keys the coordinator adds. */
#define RECORD_SENDABLE_MAX (JURY_PROTO_FRAME_MAX - 4096)
#define PROGRESS_EVERY      65536

/* ---- a line reader that never holds more than one line of 16 MiB -------- */

typedef struct {
    int fd;          /* input */
    char *buf;       /* buffered bytes */
    size_t cap;      /* bytes allocated at buf */
    size_t start;    /* first unread byte */
    size_t end;      /* one past the last buffered byte */
    bool eof;        /* read() returned 0 */
    uint64_t offset; /* bytes consumed (lines handed out) */
} reader_t;

typedef enum { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_ERROR } line_result;

/* Reads more input after the buffered bytes, compacting or growing the buffer. */
static int s_fill(reader_t *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < READ_CHUNK) {
        size_t ncap = r->cap ? r->cap * 2 : 4 * READ_CHUNK;
        char *nbuf = realloc(r->buf, ncap);
        if (!nbuf)
            return -1;
        r->buf = nbuf;
        r->cap = ncap;
    }
    ssize_t n;
    do
        n = read(r->fd, r->buf + r->end, r->cap - r->end);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if (n == 0)
        r->eof = true;
    r->end += (size_t)n;
    return 0;
}

/*
 * Hands out the next line (without its newline) in *line and *len, borrowed until
 * the next call. A line longer than JURY_IMPORT_LINE_MAX is skipped up to its
 * newline and reported as LINE_TOO_LONG, so memory stays bounded.
 */
static line_result s_next_line(reader_t *r, const char **line, size_t *len)
{
    size_t scanned = 0; /* bytes of the current line already searched */
    bool too_long = false;
    for (;;) {
        char *nl = r->end > r->start + scanned
                       ? memchr(r->buf + r->start + scanned, '\n', r->end - r->start - scanned)
                       : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start));
            too_long = too_long || n > JURY_IMPORT_LINE_MAX;
            *line = r->buf + r->start;
            *len = n;
            r->start += n + 1;
            r->offset += n + 1;
            return too_long ? LINE_TOO_LONG : LINE_OK;
        }
        scanned = r->end - r->start;
        if (r->eof) {
            if (scanned == 0 && !too_long)
                return LINE_EOF;
            *line = r->buf + r->start;
            *len = scanned;
            too_long = too_long || scanned > JURY_IMPORT_LINE_MAX;
            r->start = r->end;
            r->offset += scanned;
            return too_long ? LINE_TOO_LONG : LINE_OK;
        }
        if (scanned > JURY_IMPORT_LINE_MAX) {
            /* Drop what we have of the overlong line and keep looking for its end. */
            too_long = true;
            r->offset += scanned;
            r->start = r->end;
            scanned = 0;
        }
        if (s_fill(r) != 0)
            return LINE_ERROR;
    }
}

/* ---- encoding ---------------------------------------------------------- */

jury_err jury_import_encode_record(msgpack_sbuffer *buf, const cJSON *record, const char *ext_id,
                                   size_t ext_len)
{
    static const char *const parts[] = {"fields", "metadata", "suggestions", "gold"};
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    const cJSON *v[4];
    size_t n = 1;
    for (int i = 0; i < 4; i++) {
        v[i] = cJSON_GetObjectItemCaseSensitive(record, parts[i]);
        if (v[i] && cJSON_IsNull(v[i]))
            v[i] = NULL;
        n += v[i] != NULL;
    }
    int rc = msgpack_pack_map(&pk, n);
    rc = rc ? rc : msgpack_pack_str_with_body(&pk, "id", 2);
    rc = rc ? rc : msgpack_pack_str_with_body(&pk, ext_id, ext_len);
    for (int i = 0; i < 4 && rc == 0; i++) {
        if (!v[i])
            continue;
        rc = msgpack_pack_str_with_body(&pk, parts[i], strlen(parts[i]));
        rc = rc ? rc : jury_jsonpack_pack(&pk, v[i]);
    }
    return rc == 0 ? JURY_OK : JURY_ENOMEM;
}

/* ---- the import -------------------------------------------------------- */

/*
 * The import runs as a pipeline of two threads, so that parsing and writing
 * overlap on two cores: the reader thread reads lines, checks and encodes
 * them into batches; the thread that owns the write transaction only puts
 * them into the store (a transaction belongs to one thread).
 *
 * A batch holds entries of: u32 id length, id, u32 payload length, payload,
 * u32 target, u32 response count, then per response u32 annotator name
 * length, name, u32 values length, values (native byte order: the batch never
 * leaves the process).
 */
#define BATCH_RECORDS 512
#define QUEUE_BATCHES 4

typedef struct batch {
    char *data;         /* entries (owned) */
    size_t len, cap;    /* used and allocated bytes */
    uint32_t count;     /* entries */
    struct batch *next; /* queue link */
} batch_t;

typedef struct {
    const char *path;                /* input path, "-" for stdin */
    int fd;                          /* input */
    uint32_t ds;                     /* dataset id */
    const jury_settings_t *settings; /* parsed settings */
    const jury_import_opts_t *opts;  /* caller's options */
    jury_import_stats_t stats; /* this attempt's figures: lines and rejected by the reader, the rest
                                  by the writer */
    uint64_t reported;         /* problems already reported (lines), for retries */
    uint64_t total_bytes;      /* input size or 0 */
    msgpack_sbuffer buf;       /* reader's encoding scratch */
    int io_errno;              /* errno of a failed read */
    jury_err reader_err;       /* the reader thread's failure */
    atomic_uint_fast64_t written; /* records written so far, for progress */
    atomic_bool invalid_seen;     /* the reader has rejected a line */
    pthread_mutex_t mu;           /* guards the queue */
    pthread_cond_t changed;       /* the queue or the flags changed */
    batch_t *head, *tail;         /* full batches, oldest first */
    batch_t *free_list;           /* empty batches to reuse */
    int queued;                   /* batches in the queue */
    bool reader_done;             /* the reader has queued its last batch */
    bool abort;                   /* the writer failed: the reader stops */
} import_ctx_t;

static void s_problem(import_ctx_t *c, uint64_t line_no, const char *reason, const char *line,
                      size_t len)
{
    c->stats.rejected++;
    atomic_store(&c->invalid_seen, true);
    /* A retry after the map grew reads the file again: report each line once. */
    if (line_no <= c->reported)
        return;
    c->reported = line_no;
    if (c->opts->problem)
        c->opts->problem(line_no, reason, line, len, c->opts->arg);
}

/* The record's external id: "id" as given, an integer's decimal form, or a new UUID. */
static void s_ext_id(const cJSON *rec, char *out, size_t cap, size_t *len)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
    if (cJSON_IsString(id)) {
        *len = strlen(id->valuestring);
        memcpy(out, id->valuestring, *len < cap ? *len : cap);
        return;
    }
    if (cJSON_IsNumber(id)) {
        *len = (size_t)snprintf(out, cap, "%.0f", id->valuedouble);
        return;
    }
    unsigned char u[16];
    randombytes_buf(u, sizeof u);
    u[6] = (u[6] & 0x0f) | 0x40; /* version 4 */
    u[8] = (u[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    *len = (size_t)snprintf(out, cap,
                            "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                            u[11], u[12], u[13], u[14], u[15]);
}

/* ---- batches ---------------------------------------------------------------- */

static bool s_batch_put(batch_t *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t ncap = b->cap ? b->cap : 1 << 20;
        while (ncap - b->len < n)
            ncap *= 2;
        char *d = realloc(b->data, ncap);
        if (!d)
            return false;
        b->data = d;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

static bool s_batch_put_blob(batch_t *b, const void *p, size_t n)
{
    uint32_t n32 = (uint32_t)n;
    return s_batch_put(b, &n32, 4) && s_batch_put(b, p, n);
}

static bool s_batch_get_blob(const batch_t *b, size_t *off, const char **p, uint32_t *n)
{
    if (b->len - *off < 4)
        return false;
    memcpy(n, b->data + *off, 4);
    *off += 4;
    if (b->len - *off < *n)
        return false;
    *p = b->data + *off;
    *off += *n;
    return true;
}

static void s_batches_free(batch_t *b)
{
    while (b) {
        batch_t *next = b->next;
        free(b->data);
        free(b);
        b = next;
    }
}

/* Reader side: hands a full batch to the writer, waiting while the queue is full. */
static bool s_queue_push(import_ctx_t *c, batch_t *b)
{
    pthread_mutex_lock(&c->mu);
    while (c->queued >= QUEUE_BATCHES && !c->abort)
        pthread_cond_wait(&c->changed, &c->mu);
    bool ok = !c->abort;
    if (ok) {
        b->next = NULL;
        if (c->tail)
            c->tail->next = b;
        else
            c->head = b;
        c->tail = b;
        c->queued++;
    } else {
        b->next = c->free_list;
        c->free_list = b;
    }
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* Reader side: an empty batch, reused when possible. NULL when out of memory. */
static batch_t *s_batch_new(import_ctx_t *c)
{
    pthread_mutex_lock(&c->mu);
    batch_t *b = c->free_list;
    if (b)
        c->free_list = b->next;
    pthread_mutex_unlock(&c->mu);
    if (!b && !(b = calloc(1, sizeof *b)))
        return NULL;
    b->len = 0;
    b->count = 0;
    b->next = NULL;
    return b;
}

/* ---- the reader thread ------------------------------------------------------ */

/* Encodes a record's pre-existing responses into the batch: one per user_id, {question: value}. */
static jury_err s_encode_responses(import_ctx_t *c, batch_t *b, const cJSON *responses)
{
    /* The distinct annotators in first-seen order. */
    enum { MAX_USERS = 256 };
    const char *users[MAX_USERS];
    uint32_t nusers = 0;
    for (const cJSON *q = responses ? responses->child : NULL; q; q = q->next)
        for (const cJSON *r = q->child; r; r = r->next) {
            const char *u = cJSON_GetObjectItemCaseSensitive(r, "user_id")->valuestring;
            uint32_t i = 0;
            while (i < nusers && strcmp(users[i], u) != 0)
                i++;
            if (i == nusers) {
                if (nusers == MAX_USERS)
                    return JURY_ETOOBIG;
                users[nusers++] = u;
            }
        }
    if (!s_batch_put(b, &nusers, 4))
        return JURY_ENOMEM;
    for (uint32_t i = 0; i < nusers; i++) {
        size_t n = 0;
        for (const cJSON *q = responses->child; q; q = q->next)
            for (const cJSON *r = q->child; r; r = r->next)
                n += strcmp(cJSON_GetObjectItemCaseSensitive(r, "user_id")->valuestring,
                            users[i]) == 0;
        msgpack_sbuffer_clear(&c->buf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &c->buf, msgpack_sbuffer_write);
        int rc = msgpack_pack_map(&pk, n);
        for (const cJSON *q = responses->child; q && rc == 0; q = q->next)
            for (const cJSON *r = q->child; r && rc == 0; r = r->next) {
                if (strcmp(cJSON_GetObjectItemCaseSensitive(r, "user_id")->valuestring, users[i]) !=
                    0)
                    continue;
                rc = msgpack_pack_str_with_body(&pk, q->string, strlen(q->string));
                rc =
                    rc ? rc : jury_jsonpack_pack(&pk, cJSON_GetObjectItemCaseSensitive(r, "value"));
            }
        if (rc != 0 || !s_batch_put_blob(b, users[i], strlen(users[i])) ||
            !s_batch_put_blob(b, c->buf.data, c->buf.size))
            return JURY_ENOMEM;
    }
    return JURY_OK;
}

static void s_progress(import_ctx_t *c, const reader_t *r)
{
    if (!c->opts->progress)
        return;
    jury_import_progress_t p = {
        .lines = c->stats.lines,
        .bytes = r->offset,
        .total_bytes = c->total_bytes,
        .imported = atomic_load(&c->written),
        .rejected = c->stats.rejected,
    };
    c->opts->progress(&p, c->opts->arg);
}

/* True when JSON text ends inside a string, an object or an array: it was cut short. */
static bool s_unclosed(const char *s, size_t n)
{
    int depth = 0;
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

/* Checks one line and, when valid and encode is set, appends it to b. JURY_EINVAL after reporting
 * it. */
/* Finds under node (at path) a string longer than the protocol carries (SPEC 4: 1 MiB): writes
 * "PATH: ..." into reason and returns true. */
static bool s_long_string(const cJSON *node, const char *path, char *reason, size_t cap)
{
    if (node == NULL)
        return false;
    if (cJSON_IsString(node)) {
        size_t n = strlen(node->valuestring);
        if (n <= JURY_PROTO_STR_MAX)
            return false;
        snprintf(reason, cap,
                 "%s: a string of %zu bytes; annotators can be sent strings of at most %zu bytes "
                 "(protocol limit)",
                 path, n, JURY_PROTO_STR_MAX);
        return true;
    }
    char sub[400];
    size_t i = 0;
    for (const cJSON *c = node->child; c != NULL; c = c->next, i++) {
        if (c->string)
            snprintf(sub, sizeof sub, "%s/%s", path, c->string);
        else
            snprintf(sub, sizeof sub, "%s/%zu", path, i);
        if (s_long_string(c, sub, reason, cap))
            return true;
    }
    return false;
}

static jury_err s_import_line(import_ctx_t *c, batch_t *b, const char *line, size_t len,
                              bool encode)
{
    char reason[512];
    size_t bad;
    if (!jury_utf8_valid(line, len, &bad)) {
        snprintf(reason, sizeof reason, "invalid UTF-8 at byte %zu of the line", bad + 1);
        s_problem(c, c->stats.lines, reason, line, len);
        return JURY_EINVAL;
    }
    const char *end = NULL;
    cJSON *rec = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!rec) {
        size_t at = end && end >= line ? (size_t)(end - line) : 0;
        if (s_unclosed(line, len))
            snprintf(reason, sizeof reason, "truncated JSON: the line ends inside a value");
        else
            snprintf(reason, sizeof reason, "invalid JSON at byte %zu of the line", at + 1);
        s_problem(c, c->stats.lines, reason, line, len);
        return JURY_EINVAL;
    }
    /* One record per line: anything but blanks after it is an error. */
    size_t after = (size_t)(end - line);
    while (after < len && (line[after] == ' ' || line[after] == '\t' || line[after] == '\r'))
        after++;
    if (after < len) {
        snprintf(reason, sizeof reason,
                 "invalid JSON at byte %zu of the line: text after the record", after + 1);
        s_problem(c, c->stats.lines, reason, line, len);
        cJSON_Delete(rec);
        return JURY_EINVAL;
    }
    jury_err err;
    if (!cJSON_IsObject(rec)) {
        snprintf(reason, sizeof reason, "/: a record must be a JSON object");
        err = JURY_EINVAL;
    } else {
        err = jury_settings_check_record(c->settings, rec, reason, sizeof reason);
    }
    char ext[JURY_STORE_EXTID_MAX + 64];
    size_t ext_len = 0;
    if (err == JURY_OK) {
        s_ext_id(rec, ext, sizeof ext, &ext_len);
        if (ext_len > JURY_STORE_EXTID_MAX) {
            snprintf(reason, sizeof reason, "/id: ids are at most %d bytes long",
                     JURY_STORE_EXTID_MAX);
            err = JURY_EINVAL;
        }
    }
    /* What annotators are sent must fit the protocol: a record that could never be sent is
     * refused here, where the line can be named. */
    if (err == JURY_OK && (s_long_string(cJSON_GetObjectItemCaseSensitive(rec, "fields"), "/fields",
                                         reason, sizeof reason) ||
                           s_long_string(cJSON_GetObjectItemCaseSensitive(rec, "suggestions"),
                                         "/suggestions", reason, sizeof reason)))
        err = JURY_EINVAL;
    if (err == JURY_EINVAL)
        s_problem(c, c->stats.lines, reason, line, len);
    if (err != JURY_OK || !encode) {
        cJSON_Delete(rec);
        return err;
    }
    msgpack_sbuffer_clear(&c->buf);
    /* Target 0 in the batch marks a gold record (its known answers ride in the payload). */
    const cJSON *gold = cJSON_GetObjectItemCaseSensitive(rec, "gold");
    uint32_t target =
        gold && !cJSON_IsNull(gold) ? 0 : jury_settings_record_target(c->settings, ext, ext_len);
    err = jury_import_encode_record(&c->buf, rec, ext, ext_len);
    if (err == JURY_OK && c->buf.size > RECORD_SENDABLE_MAX) {
        snprintf(reason, sizeof reason,
                 "/: the record takes %zu bytes encoded; a record sent to annotators takes at most "
                 "%zu (one %zu MiB message)",
                 c->buf.size, RECORD_SENDABLE_MAX, JURY_PROTO_FRAME_MAX >> 20);
        s_problem(c, c->stats.lines, reason, line, len);
        cJSON_Delete(rec);
        return JURY_EINVAL;
    }
    if (err == JURY_OK &&
        (!s_batch_put_blob(b, ext, ext_len) || !s_batch_put_blob(b, c->buf.data, c->buf.size) ||
         !s_batch_put(b, &target, 4)))
        err = JURY_ENOMEM;
    if (err == JURY_OK) {
        const cJSON *responses = cJSON_GetObjectItemCaseSensitive(rec, "responses");
        err = s_encode_responses(c, b, cJSON_IsObject(responses) ? responses : NULL);
    }
    if (err == JURY_OK)
        b->count++;
    cJSON_Delete(rec);
    return err;
}

static bool s_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static void *s_reader(void *arg)
{
    import_ctx_t *c = arg;
    reader_t r = {.fd = c->fd};
    jury_err err = JURY_OK;
    bool encoding = true; /* until the first invalid line when all-or-nothing */
    batch_t *b = s_batch_new(c);
    const char *line;
    size_t len;
    line_result lr;
    if (!b)
        err = JURY_ENOMEM;
    while (err == JURY_OK && (lr = s_next_line(&r, &line, &len)) != LINE_EOF) {
        if (lr == LINE_ERROR) {
            c->io_errno = errno;
            err = JURY_EIO;
            break;
        }
        c->stats.lines++;
        if (lr == LINE_TOO_LONG) {
            char reason[128];
            snprintf(reason, sizeof reason, "line is longer than %zu MiB",
                     JURY_IMPORT_LINE_MAX >> 20);
            s_problem(c, c->stats.lines, reason, NULL, 0);
        } else if (!s_blank(line, len)) {
            err = s_import_line(c, b, line, len, encoding);
            if (err == JURY_EINVAL)
                err = JURY_OK; /* reported; go on to find the other problems */
        }
        if (c->stats.rejected && !c->opts->skip_invalid)
            encoding = false; /* nothing will be kept: only look for more problems */
        if (b->count == BATCH_RECORDS) {
            if (!s_queue_push(c, b)) {
                b = NULL;
                break; /* the writer failed */
            }
            if (!(b = s_batch_new(c)))
                err = JURY_ENOMEM;
        }
        if (c->stats.lines % PROGRESS_EVERY == 0)
            s_progress(c, &r);
    }
    if (b && b->count && err == JURY_OK)
        s_queue_push(c, b);
    else if (b)
        s_batches_free(b);
    s_progress(c, &r);
    free(r.buf);
    pthread_mutex_lock(&c->mu);
    c->reader_err = err;
    c->reader_done = true;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- the writer (the transaction's thread) ---------------------------------- */

static jury_err s_write_batch(import_ctx_t *c, jury_txn_t *txn, const batch_t *b, int64_t now)
{
    size_t off = 0;
    for (uint32_t k = 0; k < b->count; k++) {
        const char *ext, *payload, *name, *values;
        uint32_t ext_len, payload_len, target, nusers, name_len, values_len;
        if (!s_batch_get_blob(b, &off, &ext, &ext_len) ||
            !s_batch_get_blob(b, &off, &payload, &payload_len) || b->len - off < 8)
            return JURY_EINTERNAL;
        memcpy(&target, b->data + off, 4);
        memcpy(&nusers, b->data + off + 4, 4);
        off += 8;
        uint64_t rid;
        bool created;
        jury_err err =
            jury_store_record_put(txn, c->ds, ext, ext_len, payload, payload_len,
                                  target ? target : JURY_STORE_GOLD_TARGET, &rid, &created);
        if (err == JURY_OK && target == 0)
            err = jury_store_record_mark_gold(txn, rid);
        if (err != JURY_OK)
            return err;
        created ? c->stats.created++ : c->stats.updated++;
        jury_record_state_t st = {0};
        for (uint32_t u = 0; u < nusers; u++) {
            if (!s_batch_get_blob(b, &off, &name, &name_len) ||
                !s_batch_get_blob(b, &off, &values, &values_len))
                return JURY_EINTERNAL;
            char who[JURY_STORE_NAME_MAX + 1];
            snprintf(who, sizeof who, "%.*s", (int)name_len, name);
            uint32_t annotator;
            if ((err = jury_store_annotator_ensure(txn, who, &annotator, NULL)) != JURY_OK ||
                (err = jury_store_response_put(txn, rid, annotator, JURY_RESPONSE_SUBMITTED, values,
                                               values_len, now, 0, &st)) != JURY_OK)
                return err;
            c->stats.responses++;
        }
        /* A record imported with more answers than its target keeps them all: its target rises to
         * match, so that no record has more submitted responses than its target (jury check). */
        if (target && nusers && st.submitted > st.target &&
            (err = jury_store_record_set_target(txn, rid, st.submitted, st.contested, NULL)) !=
                JURY_OK)
            return err;
        atomic_fetch_add(&c->written, 1);
    }
    return JURY_OK;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The write transaction's body; restartable (it rewinds the input and starts a new reader). */
static jury_err s_import_body(jury_txn_t *txn, void *arg)
{
    import_ctx_t *c = arg;
    /* A second run (the map grew) starts from the top of the input. */
    if (lseek(c->fd, 0, SEEK_SET) != 0) {
        c->io_errno = errno;
        return JURY_EIO;
    }
    memset(&c->stats, 0, sizeof c->stats);
    atomic_store(&c->written, 0);
    atomic_store(&c->invalid_seen, false);
    c->reader_err = JURY_OK;
    c->reader_done = c->abort = false;
    c->head = c->tail = NULL;
    c->queued = 0;
    pthread_t reader;
    if (pthread_create(&reader, NULL, s_reader, c) != 0)
        return JURY_ENOMEM;
    int64_t now = s_now_ms();
    jury_err err = JURY_OK;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->head && !c->reader_done)
            pthread_cond_wait(&c->changed, &c->mu);
        batch_t *b = c->head;
        if (b) {
            c->head = b->next;
            if (!c->head)
                c->tail = NULL;
            c->queued--;
            pthread_cond_broadcast(&c->changed);
        }
        pthread_mutex_unlock(&c->mu);
        if (!b)
            break; /* the reader is done and everything is written */
        /* Without --skip-invalid one bad line dooms the import: stop writing then. */
        if (err == JURY_OK && (c->opts->skip_invalid || !atomic_load(&c->invalid_seen)))
            err = s_write_batch(c, txn, b, now);
        pthread_mutex_lock(&c->mu);
        b->next = c->free_list;
        c->free_list = b;
        if (err != JURY_OK) {
            c->abort = true;
            pthread_cond_broadcast(&c->changed);
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_join(reader, NULL);
    pthread_mutex_lock(&c->mu);
    s_batches_free(c->head);
    c->head = c->tail = NULL;
    pthread_mutex_unlock(&c->mu);
    if (err == JURY_OK)
        err = c->reader_err;
    if (err == JURY_OK && c->stats.rejected && !c->opts->skip_invalid)
        err = JURY_EINVAL;
    return err;
}

static jury_err s_spool_stdin(int *fd_out)
{
    FILE *f = tmpfile();
    if (!f)
        return JURY_EIO;
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (fwrite(chunk, 1, n, f) != n)
            break;
    if (ferror(stdin) || ferror(f) || fflush(f) != 0) {
        fclose(f);
        return JURY_EIO;
    }
    int fd = dup(fileno(f));
    fclose(f);
    if (fd < 0)
        return JURY_EIO;
    *fd_out = fd;
    return JURY_OK;
}

jury_err jury_import_file(jury_store_t *store, const char *dataset, const char *path,
                          const jury_import_opts_t *opts, jury_import_stats_t *stats)
{
    jury_import_opts_t defaults = {0};
    if (!opts)
        opts = &defaults;
    import_ctx_t c = {.path = path, .fd = -1, .opts = opts};
    jury_settings_t *settings = NULL;
    jury_err err;

    /* Read the settings in a short read transaction; they do not change under
     * us because only the writer may change them, and we are about to be it. */
    jury_txn_t *txn;
    if ((err = jury_store_read(store, &txn)) != JURY_OK)
        return err;
    jury_dataset_t ds;
    if ((err = jury_store_dataset_get(txn, dataset, &ds)) == JURY_OK) {
        char why[256];
        c.ds = ds.id;
        err = jury_settings_parse(&settings, ds.settings, ds.settings_len, why, sizeof why);
        if (err == JURY_EINVAL) {
            jury_log(JURY_LOG_ERROR, "dataset %s: stored settings do not parse: %s", dataset, why);
            err = JURY_ECORRUPT;
        }
    }
    jury_txn_abort(&txn);
    if (err != JURY_OK)
        return err;
    c.settings = settings;

    if (strcmp(path, "-") == 0) {
        /* Spool standard input to an unnamed file, so a retry can read it again. */
        if ((err = s_spool_stdin(&c.fd)) != JURY_OK) {
            c.io_errno = errno;
            goto done;
        }
    } else if ((c.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        c.io_errno = errno;
        err = JURY_EIO;
        goto done;
    }
    struct stat st;
    if (fstat(c.fd, &st) == 0 && S_ISREG(st.st_mode)) {
        c.total_bytes = (uint64_t)st.st_size;
        posix_fadvise(c.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        /* Grow the map before the transaction so it need not start over:
         * stored records take about as much room as their JSON, plus indexes. */
        if ((err = jury_store_reserve(store, 2 * (size_t)st.st_size + (16u << 20))) != JURY_OK)
            goto done;
    } else if (fstat(c.fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        c.io_errno = EISDIR;
        err = JURY_EIO;
        goto done;
    }
    msgpack_sbuffer_init(&c.buf);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.changed, NULL);
    err = jury_store_write(store, s_import_body, &c);
    s_batches_free(c.free_list);
    pthread_cond_destroy(&c.changed);
    pthread_mutex_destroy(&c.mu);
    msgpack_sbuffer_destroy(&c.buf);
done:
    if (c.fd >= 0)
        close(c.fd);
    if (stats)
        *stats = c.stats;
    jury_settings_destroy(&settings);
    if (err == JURY_EIO)
        errno = c.io_errno;
    return err;
}
