/* serve.c: the coordinator loop: sessions over one ROUTER socket, leases from sched, responses and
 * reviewers' decisions committed in one transaction per loop turn. */
#include "serve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <msgpack.h>
#include <sodium.h>
#include <zmq.h>

#include "audit.h"
#include "decision.h"
#include "jury_jsonpack.h"
#include "jury_keys.h"
#include "jury_proto.h"
#include "jury_utf8.h"
#include "consolidate.h"
#include "live_agreement.h"
#include "review.h"
#include "sched.h"
#include "settings.h"

/* Messages taken from the socket in one loop turn (one transaction). */
#define TURN_MAX 512
/* Connections sent away that are remembered at once; when full, the ban nearest its end goes. */
#define BANS_MAX 256
/* Slots the abuse window is cut into: violations are counted per slot, so the count covers
 * between (ABUSE_SLOTS - 1) / ABUSE_SLOTS of the window and all of it, never more. */
#define ABUSE_SLOTS 10
/* Slack for CURVE's framing of a message (command name, nonce, flags, MAC: 33 bytes), so that
 * ZMQ_MAXMSGSIZE counts about the same bytes as the limit it enforces. */
#define CURVE_OVERHEAD 64
/* Timer period: heartbeats, liveness, lease expiry, new records, status file. */
#define TICK_MS         100
#define POLL_RECORDS_MS 500
#define STATUS_MS       1000
/* Audit lines the loop writes per second at most (refused keys, denied hellos, cut sessions); the
 * rest are counted and summed up in one line, so that a flood cannot fill the disk. */
#define AUDIT_PER_SECOND 20
/* The ZAP endpoint libzmq asks (ZeroMQ RFC 27), and the metadata property that carries the
 * authenticated key to each message. */
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define KEY_PROPERTY "X-Jury-Key"
/* Slots of the per-turn index of accepted responses (a power of two, > 2x the most ops a turn
 * holds). */
#define OP_INDEX_SIZE (1u << 17)

/* ---- clocks and logs ------------------------------------------------------ */

static int64_t s_mono_ms(void)
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

static jury_log_level s_level = JURY_LOG_INFO;

/* One logfmt line: ts=... level=... event=NAME then the caller's key=value pairs. */
static void s_event(jury_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_event(jury_log_level level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > s_level)
        return;
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, names[level], event);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

/* Writes a logfmt-safe value: quoted, with quotes, backslashes and controls escaped, cut at 120
 * bytes. */
static const char *s_q(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < n && i < 120 && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            buf[o++] = '\\', buf[o++] = (char)c;
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* A question whose agreement is tracked live (label_selection, rating). */
typedef struct {
    char *name;               /* question name (owned) */
    jury_alpha_level_t level; /* nominal for labels, interval for ratings */
    uint32_t k;               /* categories */
    char **labels;            /* labels: the values in category order (owned); NULL for ratings */
    double *numeric; /* each category's number (ratings ascending; labels 0..k-1) (owned) */
} tracked_t;

/* ---- datasets ------------------------------------------------------------- */

/* A record review-leased to a reviewer (SPEC 9.7): apart from the schedule's answering leases. */
typedef struct {
    uint64_t rid;       /* the record */
    uint32_t annotator; /* the reviewer holding it */
    int64_t expires;    /* monotonic ms the lease ends */
} rlease_t;

typedef struct dataset {
    char *name;                /* dataset name (owned) */
    uint32_t id;               /* store id */
    jury_settings_t *settings; /* parsed settings (owned) */
    jury_sched_t *sched;       /* assignment state (owned) */
    char *welcome;             /* settings as annotators see them, msgpack (owned) */
    size_t welcome_len;        /* bytes at welcome */
    char **visible;            /* metadata names annotators may see (owned) */
    size_t nvisible;           /* entries in visible */
    bool has_span;             /* a span question exists: answers need the record's fields */
    tracked_t *tracked;        /* questions with live agreement (owned) */
    size_t ntracked;           /* entries in tracked */
    int until;                 /* dynamic overlap: the until question's index in tracked, or -1 */
    uint32_t max_submitted;    /* dynamic overlap: the most submitted responses a record gets */
    double until_agreement;    /* dynamic overlap: the agreement a record needs */
    rlease_t *rleases;         /* review leases, in record id order (owned) */
    jury_metrics_dataset_t *metrics; /* its counters in the metrics registry, or NULL */
    size_t nrleases;                 /* entries in rleases */
    size_t caprleases;               /* entries allocated */
    struct dataset *next;            /* list */
} dataset_t;

/* ---- sessions ------------------------------------------------------------- */

/*
 * A session_t is a connection's record: it is made by the first message of a connection (with
 * ds NULL until hello succeeds) and kept across bye and a cut, so that the rate bucket and the
 * counts of malformed messages and violations belong to the connection, not to one session. It
 * goes when the connection falls silent, is taken over, or is sent away.
 */
typedef struct {
    unsigned char peer[256];            /* ROUTER routing id */
    size_t peer_len;                    /* bytes in peer */
    dataset_t *ds;                      /* dataset after hello, else NULL */
    uint32_t annotator;                 /* annotator id after hello */
    char name[JURY_PROTO_NAME_MAX + 1]; /* annotator name */
    int64_t last_heard;                 /* monotonic ms of the last message from the peer */
    int64_t last_sent;                  /* monotonic ms of the last message to the peer */
    uint32_t bad;                       /* malformed messages so far */
    unsigned char key[JURY_KEY_BYTES];  /* CURVE: the key the connection authenticated with */
    uint32_t keyholder;                 /* CURVE: the key's owner (the annotator, or a gateway) */
    bool via_token;                     /* a gateway opened it with the annotator's web token */
    unsigned char token_hash[JURY_KEY_BYTES]; /* via_token: the hash of that token */
    bool cut;                                 /* its access was withdrawn: requests get EPERM */
    double tokens;                 /* rate limit: messages it may send now (token bucket) */
    int64_t refilled;              /* monotonic ms the bucket was last topped up */
    uint32_t strikes[ABUSE_SLOTS]; /* limit violations per slot of the abuse window */
    int64_t strike_slot;           /* the slot (monotonic ms / slot length) counted last */
} session_t;

typedef struct {
    unsigned char peer[256]; /* banned routing id */
    size_t peer_len;         /* bytes */
    int64_t until;           /* monotonic ms */
} ban_t;

/* One received message: the peer, its body, and who sent it (CURVE). */
typedef struct {
    unsigned char peer[256];            /* routing id */
    size_t peer_len;                    /* bytes */
    zmq_msg_t body;                     /* frame */
    bool extra_frames;                  /* the peer sent more than one frame */
    char user[JURY_PROTO_NAME_MAX + 1]; /* CURVE: the annotator the ZAP handler admitted */
    unsigned char key[JURY_KEY_BYTES];  /* CURVE: the key it authenticated with */
} inmsg_t;

/* A response or a reviewer's decision accepted in this turn, to be written before it is
 * acknowledged. */
typedef struct {
    uint64_t rid;                /* record */
    uint32_t annotator;          /* who; 0 for a review (its key in the turn's index) */
    jury_response_status status; /* what */
    size_t off, len;             /* its values in the turn's values buffer */
    uint32_t max_discards;       /* the dataset's */
    jury_record_state_t state;   /* the record's state after the write */
    dataset_t *ds;               /* its dataset */
    uint32_t slot;               /* its slot in the turn's index */
    bool reopened;               /* dynamic overlap raised the record's target at the commit */
    bool paused;                 /* its gold answers paused the annotator at the commit */
    bool review;                 /* a reviewer's decision: off/len hold its stored form */
    bool accept;                 /* review: the record is accepted */
    uint32_t reviewer;           /* review: the reviewer's annotator id */
    size_t text_off;             /* review: "NAME\0RECORD\0" in the values buffer */
} op_t;

/* A reply waiting for the turn's commit. */
typedef struct {
    unsigned char peer[256]; /* to whom */
    size_t peer_len;         /* bytes */
    char *data;              /* message (owned) */
    size_t len;              /* bytes */
    bool is_submit;          /* replaced by an error when the commit fails */
    bool has_req;            /* the request's id, for that error */
    uint64_t req;
} reply_t;

typedef struct {
    jury_store_t *store;         /* the store */
    const jury_serve_opts_t *o;  /* options */
    void *zctx, *sock;           /* ZeroMQ */
    bool curve;                  /* CURVE with the ZAP handler, else plaintext (--insecure) */
    void *zap;                   /* the ZAP handler's REP socket (CURVE only) */
    uint64_t access_version;     /* the store's access version the sessions were checked against */
    bool access_known;           /* access_version was read */
    int64_t audit_window;        /* monotonic ms the current second of audit lines began */
    unsigned audit_count;        /* audit lines in that second */
    unsigned long audit_dropped; /* audit lines left out since the last summary */
    dataset_t *datasets;         /* loaded datasets */
    session_t *sessions;         /* connections (with their sessions), see session_t */
    size_t nsessions, capsessions;
    /* sessions by routing id: open addressing with linear probing, slot = session index + 1 (0:
     * empty), capacity a power of two at least twice nsessions; hashed with a random SipHash key
     * (crypto_shorthash), since a client may choose its routing id. */
    uint32_t *peer_slots;
    size_t peer_cap;
    unsigned char peer_key[crypto_shorthash_KEYBYTES];
    ban_t bans[BANS_MAX]; /* peers sent away */
    size_t nbans;
    jury_serve_opts_t lim; /* the options with every limit resolved (defaults filled in) */
    int64_t slot_ms;       /* length of one slot of the abuse window */
    op_t ops[TURN_MAX * JURY_PROTO_BATCH_MAX]; /* this turn's writes */
    size_t nops;
    uint32_t op_index[OP_INDEX_SIZE]; /* (record, annotator) -> op number + 1, this turn */
    msgpack_sbuffer values;           /* this turn's response values */
    reply_t replies[TURN_MAX];        /* this turn's replies */
    size_t nreplies;
    int64_t now;            /* monotonic ms of this turn */
    int64_t wall;           /* wall-clock ms of this turn */
    char status_path[4096]; /* serve.status */
    int64_t started_wall;   /* start time */
    bool store_full;        /* the last group commit failed (a full disk, an I/O error) */
    int64_t write_retry_at; /* while store_full: monotonic ms before which writes are refused */
    int64_t write_backoff;  /* while store_full: ms until the next try, doubling up to 5 s */
} server_t;

/* First and longest pause between group commits tried on a store whose last commit failed. */
#define WRITE_BACKOFF_MIN_MS 250
#define WRITE_BACKOFF_MAX_MS 5000

/* Converts a monotonic deadline to wall-clock milliseconds for the wire. */
static int64_t s_to_wall(const server_t *sv, int64_t mono)
{
    return sv->wall + (mono - sv->now);
}

static void s_hex(char *out, size_t cap, const unsigned char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
    out[o] = '\0';
}

static size_t s_peer_home(const server_t *sv, const unsigned char *peer, size_t len)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, peer, len, sv->peer_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (sv->peer_cap - 1);
}

/* The slot of the index that holds session i (which must be in it). */
static size_t s_peer_slot_of(const server_t *sv, size_t i)
{
    size_t mask = sv->peer_cap - 1;
    size_t k = s_peer_home(sv, sv->sessions[i].peer, sv->sessions[i].peer_len);
    while (sv->peer_slots[k] != i + 1)
        k = (k + 1) & mask;
    return k;
}

/* Puts session i into the index, which has room. */
static void s_peer_put(server_t *sv, size_t i)
{
    size_t mask = sv->peer_cap - 1;
    size_t k = s_peer_home(sv, sv->sessions[i].peer, sv->sessions[i].peer_len);
    while (sv->peer_slots[k])
        k = (k + 1) & mask;
    sv->peer_slots[k] = (uint32_t)(i + 1);
}

/* Takes session i out of the index, shifting back the entries probed past its slot. */
static void s_peer_remove(server_t *sv, size_t i)
{
    size_t mask = sv->peer_cap - 1;
    size_t hole = s_peer_slot_of(sv, i);
    sv->peer_slots[hole] = 0;
    for (size_t j = (hole + 1) & mask; sv->peer_slots[j]; j = (j + 1) & mask) {
        const session_t *o = &sv->sessions[sv->peer_slots[j] - 1];
        size_t home = s_peer_home(sv, o->peer, o->peer_len);
        /* The entry stays when its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            sv->peer_slots[hole] = sv->peer_slots[j];
            sv->peer_slots[j] = 0;
            hole = j;
        }
    }
}

static session_t *s_session(server_t *sv, const unsigned char *peer, size_t len)
{
    if (sv->peer_cap == 0)
        return NULL;
    size_t mask = sv->peer_cap - 1;
    for (size_t k = s_peer_home(sv, peer, len); sv->peer_slots[k]; k = (k + 1) & mask) {
        session_t *s = &sv->sessions[sv->peer_slots[k] - 1];
        if (s->peer_len == len && memcmp(s->peer, peer, len) == 0)
            return s;
    }
    return NULL;
}

static session_t *s_session_new(server_t *sv, const unsigned char *peer, size_t len)
{
    if (sv->nsessions == sv->capsessions) {
        size_t ncap = sv->capsessions ? sv->capsessions * 2 : 64;
        session_t *v = realloc(sv->sessions, ncap * sizeof *v);
        if (!v)
            return NULL;
        sv->sessions = v;
        sv->capsessions = ncap;
    }
    if (2 * (sv->nsessions + 1) > sv->peer_cap) {
        size_t ncap = sv->peer_cap ? 2 * sv->peer_cap : 128;
        uint32_t *slots = calloc(ncap, sizeof *slots);
        if (!slots)
            return NULL;
        free(sv->peer_slots);
        sv->peer_slots = slots;
        sv->peer_cap = ncap;
        for (size_t i = 0; i < sv->nsessions; i++)
            s_peer_put(sv, i);
    }
    session_t *s = &sv->sessions[sv->nsessions++];
    memset(s, 0, sizeof *s);
    memcpy(s->peer, peer, len);
    s->peer_len = len;
    s->last_heard = s->last_sent = sv->now;
    s->tokens = sv->lim.burst;
    s->refilled = sv->now;
    s_peer_put(sv, sv->nsessions - 1);
    return s;
}

/* Forgets session s: the last session takes its place (in the array and in the index). */
static void s_session_drop(server_t *sv, session_t *s)
{
    size_t i = (size_t)(s - sv->sessions), last = sv->nsessions - 1;
    s_peer_remove(sv, i);
    if (i != last) {
        sv->peer_slots[s_peer_slot_of(sv, last)] = (uint32_t)(i + 1);
        sv->sessions[i] = sv->sessions[last];
    }
    sv->nsessions--;
}

/* Whether another live session speaks for the same annotator on the same dataset. */
static bool s_other_session(const server_t *sv, const session_t *me)
{
    for (size_t i = 0; i < sv->nsessions; i++) {
        const session_t *o = &sv->sessions[i];
        if (o != me && o->ds == me->ds && o->ds && o->annotator == me->annotator)
            return true;
    }
    return false;
}

/* Defined with the review leases, below. */
static size_t s_rlease_sweep(dataset_t *ds, uint32_t annotator, bool expired, int64_t now,
                             void (*on_end)(const dataset_t *ds, const rlease_t *l));

/*
 * Ends the session on connection s, if any: releases its annotator's leases (answering and review
 * leases) unless another session holds them, and logs it. The connection's record stays (see
 * session_t). Returns the answering leases released.
 */
static size_t s_session_stop(server_t *sv, session_t *s, const char *why)
{
    size_t released = 0;
    if (s->ds) {
        char hex[80], q[300];
        s_hex(hex, sizeof hex, s->peer, s->peer_len);
        if (!s_other_session(sv, s)) {
            released = jury_sched_release_annotator(s->ds->sched, s->annotator);
            s_rlease_sweep(s->ds, s->annotator, false, sv->now, NULL);
        }
        s_event(JURY_LOG_INFO, "disconnect",
                "peer=%s annotator=%s dataset=%s reason=%s released=%zu", hex, s->name, s->ds->name,
                s_q(q, sizeof q, why, strlen(why)), released);
        s->ds = NULL;
    }
    return released;
}

/* Ends the session (s_session_stop) and forgets the connection: s is gone afterwards. */
static void s_session_end(server_t *sv, session_t *s, const char *why)
{
    s_session_stop(sv, s, why);
    s_session_drop(sv, s);
}

/* Ignores everything peer sends for JURY_SERVE_BAN_MS; when the list is full, the ban nearest its
 * end makes room. */
static void s_ban(server_t *sv, const unsigned char *peer, size_t len)
{
    ban_t *b = NULL;
    if (sv->nbans < BANS_MAX) {
        b = &sv->bans[sv->nbans++];
    } else {
        b = &sv->bans[0];
        for (size_t i = 1; i < sv->nbans; i++)
            if (sv->bans[i].until < b->until)
                b = &sv->bans[i];
    }
    memcpy(b->peer, peer, len);
    b->peer_len = len;
    b->until = sv->now + JURY_SERVE_BAN_MS;
}

static bool s_banned(server_t *sv, const unsigned char *peer, size_t len)
{
    for (size_t i = 0; i < sv->nbans; i++) {
        if (sv->bans[i].until <= sv->now) {
            sv->bans[i--] = sv->bans[--sv->nbans];
            continue;
        }
        if (sv->bans[i].peer_len == len && memcmp(sv->bans[i].peer, peer, len) == 0)
            return true;
    }
    return false;
}

/* ---- sending -------------------------------------------------------------- */

static void s_send_now(server_t *sv, const unsigned char *peer, size_t peer_len, const void *data,
                       size_t len)
{
    /* ROUTER_MANDATORY makes an unknown or full peer an error instead of a
     * silent drop; either way the message is lost and the peer will time out. */
    if (zmq_send(sv->sock, peer, peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sv->sock, data, len, ZMQ_DONTWAIT) < 0) {
        char hex[80];
        s_hex(hex, sizeof hex, peer, peer_len);
        s_event(JURY_LOG_DEBUG, "send_failed", "peer=%s error=\"%s\"", hex, zmq_strerror(errno));
        return;
    }
    session_t *s = s_session(sv, peer, peer_len);
    if (s)
        s->last_sent = sv->now;
}

/* Queues a reply for after the commit. Takes the buffer's data (the buffer is reset). */
static void s_queue(server_t *sv, const unsigned char *peer, size_t peer_len, msgpack_sbuffer *buf,
                    bool is_submit, bool has_req, uint64_t req)
{
    if (sv->nreplies == TURN_MAX) {
        msgpack_sbuffer_destroy(buf);
        msgpack_sbuffer_init(buf);
        return;
    }
    reply_t *r = &sv->replies[sv->nreplies++];
    memcpy(r->peer, peer, peer_len);
    r->peer_len = peer_len;
    r->len = buf->size;
    r->data = msgpack_sbuffer_release(buf);
    r->is_submit = is_submit;
    r->has_req = has_req;
    r->req = req;
}

static void s_queue_error(server_t *sv, const unsigned char *peer, size_t peer_len, bool has_req,
                          uint64_t req, jury_err code, const char *reason)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    if (jury_proto_encode_error(&buf, has_req, req, jury_errname(code), reason) == JURY_OK)
        s_queue(sv, peer, peer_len, &buf, false, has_req, req);
    msgpack_sbuffer_destroy(&buf);
}

static void s_goodbye(server_t *sv, const unsigned char *peer, size_t peer_len, jury_err code,
                      const char *reason)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    if (jury_proto_encode_goodbye(&buf, jury_errname(code), reason) == JURY_OK)
        s_send_now(sv, peer, peer_len, buf.data, buf.size);
    msgpack_sbuffer_destroy(&buf);
}

/* Writes the summary of audit lines left out in the last second, if any. */
static void s_audit_flush(server_t *sv)
{
    if (sv->now - sv->audit_window < 1000)
        return;
    sv->audit_window = sv->now;
    sv->audit_count = 0;
    if (sv->audit_dropped == 0)
        return;
    char n[32];
    snprintf(n, sizeof n, "%lu", sv->audit_dropped);
    sv->audit_dropped = 0;
    if (jury_audit_append(jury_store_dir(sv->store), "audit.dropped", "lines", n, "by", "serve",
                          NULL) != JURY_OK)
        s_event(JURY_LOG_WARN, "audit_failed", "event=audit.dropped error=\"%s\"", strerror(errno));
}

/*
 * Appends one line to the store's audit log (coordinator/audit.h: key, value pairs ended by
 * NULL), at most AUDIT_PER_SECOND a second: a peer that fails on purpose must not fill the disk.
 * A failure to write is logged; serving goes on.
 */
static void s_audit(server_t *sv, const char *event, ...) __attribute__((sentinel));

static void s_audit(server_t *sv, const char *event, ...)
{
    s_audit_flush(sv);
    if (++sv->audit_count > AUDIT_PER_SECOND) {
        sv->audit_dropped++;
        return;
    }
    va_list ap;
    va_start(ap, event);
    jury_err err = jury_audit_vappend(jury_store_dir(sv->store), event, ap);
    va_end(ap);
    if (err != JURY_OK)
        s_event(JURY_LOG_WARN, "audit_failed", "event=%s error=\"%s\"", event,
                err == JURY_EIO ? strerror(errno) : jury_strerror(err));
}

/* ---- limits ------------------------------------------------------------------ */

/*
 * Rate limit: takes one message from connection s's token bucket (max_rate tokens a second, at
 * most burst of them saved up). False when the bucket is empty: the message is over the rate.
 */
static bool s_rate_ok(server_t *sv, session_t *s)
{
    int64_t elapsed = sv->now - s->refilled;
    if (elapsed > 0) {
        s->tokens += (double)elapsed * sv->lim.max_rate / 1000.0;
        if (s->tokens > sv->lim.burst)
            s->tokens = sv->lim.burst;
        s->refilled = sv->now;
    }
    if (s->tokens < 1.0)
        return false;
    s->tokens -= 1.0;
    return true;
}

/*
 * Counts one limit violation of connection s (what: which limit, for the log). At abuse_max
 * violations within abuse_window_ms the connection is sent away: goodbye ELIMIT, its session ends
 * and its leases are released, everything it sends for JURY_SERVE_BAN_MS is dropped, and the audit
 * log gets an abuse.disconnect line naming the annotator (who: the session's, or the key's).
 * Returns true when it was sent away; s is gone then.
 */
static bool s_violation(server_t *sv, session_t *s, const char *who, const char *what)
{
    char hex[80], q[300];
    s_hex(hex, sizeof hex, s->peer, s->peer_len);
    int64_t slot = sv->now / sv->slot_ms;
    if (slot - s->strike_slot >= ABUSE_SLOTS)
        memset(s->strikes, 0, sizeof s->strikes);
    else
        for (int64_t k = s->strike_slot + 1; k <= slot; k++)
            s->strikes[k % ABUSE_SLOTS] = 0;
    s->strike_slot = slot;
    s->strikes[slot % ABUSE_SLOTS]++;
    uint32_t total = 0;
    for (int k = 0; k < ABUSE_SLOTS; k++)
        total += s->strikes[k];
    s_event(JURY_LOG_WARN, "limit_exceeded", "peer=%s annotator=%s limit=%s violations=%u", hex,
            who, s_q(q, sizeof q, what, strlen(what)), total);
    if (total < sv->lim.abuse_max)
        return false;
    char reason[300], dataset[JURY_PROTO_NAME_MAX + 1], n[32];
    snprintf(reason, sizeof reason, "%u limit violations within %u s; the last: %s", total,
             (sv->lim.abuse_window_ms + 999) / 1000, what);
    snprintf(dataset, sizeof dataset, "%s", s->ds ? s->ds->name : "");
    char goodbye[400];
    snprintf(goodbye, sizeof goodbye,
             "too many requests over this coordinator's limits (%s); this connection is ignored "
             "for %d s",
             reason, JURY_SERVE_BAN_MS / 1000);
    s_goodbye(sv, s->peer, s->peer_len, JURY_ELIMIT, goodbye);
    s_ban(sv, s->peer, s->peer_len);
    size_t released = s_session_stop(sv, s, "abuse");
    s_event(JURY_LOG_WARN, "abuse_disconnect",
            "peer=%s annotator=%s dataset=%s reason=%s released=%zu seconds=%d", hex, who, dataset,
            s_q(q, sizeof q, reason, strlen(reason)), released, JURY_SERVE_BAN_MS / 1000);
    snprintf(n, sizeof n, "%zu", released);
    s_audit(sv, "abuse.disconnect", "annotator", who, "dataset", dataset, "peer", hex, "reason",
            reason, "released", n, "by", "serve", NULL);
    s_session_drop(sv, s);
    return true;
}

/* Steps over the msgpack string header at p[*o] (len bytes in all); its length goes to *n. */
static bool s_peek_str(const unsigned char *p, size_t len, size_t *o, size_t *n)
{
    if (*o >= len)
        return false;
    unsigned char b = p[*o];
    size_t h;
    if ((b & 0xe0) == 0xa0)
        h = 1, *n = b & 0x1f;
    else if (b == 0xd9 && *o + 2 <= len)
        h = 2, *n = p[*o + 1];
    else if (b == 0xda && *o + 3 <= len)
        h = 3, *n = (size_t)p[*o + 1] << 8 | p[*o + 2];
    else if (b == 0xdb && *o + 5 <= len)
        h = 5,
        *n = (size_t)p[*o + 1] << 24 | (size_t)p[*o + 2] << 16 | (size_t)p[*o + 3] << 8 | p[*o + 4];
    else
        return false;
    if (*n > len - *o - h)
        return false;
    *o += h;
    return true;
}

/*
 * Reads "cmd" and "req" from the first entries of a frame's body map without reading the rest,
 * for a frame that is refused unread (over a limit): so that the error can carry the request's id
 * and heartbeats and byes get no reply. Steps over scalar values only and gives up at anything
 * else. *cmd is JURY_CMD_COUNT when it was not found.
 */
static void s_peek(const void *frame, size_t len, jury_cmd *cmd, bool *has_req, uint64_t *req)
{
    const unsigned char *p = frame;
    *cmd = JURY_CMD_COUNT;
    *has_req = false;
    *req = 0;
    size_t o = 1, entries;
    if (len < 1)
        return;
    if ((p[0] & 0xf0) == 0x80)
        entries = p[0] & 0x0f;
    else if (p[0] == 0xde && len >= 3)
        entries = (size_t)p[1] << 8 | p[2], o = 3;
    else if (p[0] == 0xdf && len >= 5)
        entries = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4], o = 5;
    else
        return;
    for (size_t i = 0; i < entries && i < 8; i++) {
        size_t kl, vl;
        if (!s_peek_str(p, len, &o, &kl) || o + kl >= len)
            return;
        const unsigned char *key = p + o;
        o += kl;
        unsigned char b = p[o];
        bool is_req = kl == 3 && memcmp(key, "req", 3) == 0;
        bool is_cmd = kl == 3 && memcmp(key, "cmd", 3) == 0;
        if (is_cmd) {
            size_t at = o;
            if (!s_peek_str(p, len, &at, &vl))
                return;
            for (int c = 0; c < JURY_CMD_COUNT; c++) {
                const char *name = jury_proto_cmd_name((jury_cmd)c);
                if (strlen(name) == vl && memcmp(name, p + at, vl) == 0)
                    *cmd = (jury_cmd)c;
            }
        }
        /* The value's size, for scalars. */
        size_t size;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            size = 1;
        else if (b == 0xcc || b == 0xd0)
            size = 2;
        else if (b == 0xcd || b == 0xd1)
            size = 3;
        else if (b == 0xce || b == 0xd2 || b == 0xca)
            size = 5;
        else if (b == 0xcf || b == 0xd3 || b == 0xcb)
            size = 9;
        else if ((b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb) {
            size_t at = o;
            if (!s_peek_str(p, len, &at, &vl))
                return;
            size = at - o + vl;
        } else {
            return;
        }
        if (size > len - o)
            return;
        if (is_req && (b <= 0x7f || (b >= 0xcc && b <= 0xcf))) {
            uint64_t v = b <= 0x7f ? b : 0;
            for (size_t k = 1; k < size; k++)
                v = v << 8 | p[o + k];
            if (v <= JURY_PROTO_REQ_MAX) {
                *has_req = true;
                *req = v;
            }
        }
        o += size;
    }
}

/* ---- loading datasets ------------------------------------------------------- */

typedef struct {
    server_t *sv;
    dataset_t *ds;
    jury_txn_t *txn;
    uint32_t responded[256];
    size_t nresponded;
    jury_err err;
} load_ctx_t;

static jury_err s_collect_responded(const jury_response_t *r, void *arg)
{
    load_ctx_t *l = arg;
    if ((r->status == JURY_RESPONSE_SUBMITTED || r->status == JURY_RESPONSE_DISCARDED) &&
        l->nresponded < sizeof l->responded / sizeof l->responded[0])
        l->responded[l->nresponded++] = r->annotator;
    return JURY_OK;
}

static jury_err s_load_record(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    load_ctx_t *l = arg;
    uint64_t seq = rid & ((UINT64_C(1) << JURY_RECORD_SEQ_BITS) - 1);
    bool done = st->status != JURY_RECORD_PENDING && !st->gold;
    l->nresponded = 0;
    jury_err err;
    if (!done && (st->submitted || st->discarded) &&
        (err = jury_store_response_each(l->txn, rid, s_collect_responded, l)) != JURY_OK)
        return err;
    if (st->gold)
        return jury_sched_add_gold(l->ds->sched, seq, l->responded, l->nresponded);
    return jury_sched_add(l->ds->sched, seq, st->target, st->submitted, st->discarded, done,
                          l->responded, l->nresponded);
}

/* Gives the schedule each annotator's count of answered records (the per-annotator quota). */
static jury_err s_load_answered(uint32_t annotator, const char *name, const jury_counts_t *c,
                                void *arg)
{
    (void)name;
    return jury_sched_set_answered(arg, annotator,
                                   c->responses[JURY_RESPONSE_SUBMITTED] +
                                       c->responses[JURY_RESPONSE_DISCARDED]);
}

/* Adds the dataset's records with ids above what the scheduler has (all, the first time). */
static jury_err s_load_records(server_t *sv, dataset_t *ds, jury_txn_t *txn, size_t *added)
{
    uint64_t before = jury_sched_last_seq(ds->sched);
    uint64_t after = ((uint64_t)ds->id << JURY_RECORD_SEQ_BITS) | before;
    load_ctx_t l = {.sv = sv, .ds = ds, .txn = txn};
    jury_err err = jury_store_record_each(txn, ds->id, after, s_load_record, &l);
    /* A fresh schedule learns what each annotator answered before (a load, a rebuild). */
    if (err == JURY_OK && before == 0 && jury_settings_max_records_per_annotator(ds->settings))
        err = jury_store_annotator_counts_each(txn, ds->id, s_load_answered, ds->sched);
    if (added)
        *added = (size_t)(jury_sched_last_seq(ds->sched) - before);
    return err;
}

static void s_dataset_free(dataset_t *ds)
{
    if (!ds)
        return;
    free(ds->name);
    jury_settings_destroy(&ds->settings);
    jury_sched_destroy(&ds->sched);
    free(ds->welcome);
    for (size_t i = 0; i < ds->nvisible; i++)
        free(ds->visible[i]);
    free(ds->visible);
    for (size_t i = 0; i < ds->ntracked; i++) {
        free(ds->tracked[i].name);
        for (uint32_t c = 0; ds->tracked[i].labels && c < ds->tracked[i].k; c++)
            free(ds->tracked[i].labels[c]);
        free(ds->tracked[i].labels);
        free(ds->tracked[i].numeric);
    }
    free(ds->tracked);
    free(ds->rleases);
    free(ds);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Finds the questions tracked live and their categories, from the normalised settings. */
static jury_err s_dataset_tracking(dataset_t *ds, const cJSON *root)
{
    const cJSON *questions = cJSON_GetObjectItemCaseSensitive(root, "questions");
    size_t n = (size_t)cJSON_GetArraySize(questions);
    if (!(ds->tracked = calloc(n ? n : 1, sizeof *ds->tracked)))
        return JURY_ENOMEM;
    const cJSON *q;
    cJSON_ArrayForEach(q, questions)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(q, "type");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(q, "name");
        bool label = cJSON_IsString(type) && strcmp(type->valuestring, "label_selection") == 0;
        bool rating = cJSON_IsString(type) && strcmp(type->valuestring, "rating") == 0;
        if ((!label && !rating) || !cJSON_IsString(name))
            continue;
        const cJSON *cats = cJSON_GetObjectItemCaseSensitive(q, label ? "labels" : "values");
        uint32_t k = (uint32_t)cJSON_GetArraySize(cats);
        if (k == 0)
            continue;
        tracked_t *t = &ds->tracked[ds->ntracked];
        t->level = label ? JURY_ALPHA_NOMINAL : JURY_ALPHA_INTERVAL;
        t->k = k;
        if (!(t->name = strdup(name->valuestring)) || !(t->numeric = calloc(k, sizeof(double))) ||
            (label && !(t->labels = calloc(k, sizeof(char *))))) {
            ds->ntracked++; /* so that s_dataset_free frees what was made */
            return JURY_ENOMEM;
        }
        ds->ntracked++;
        uint32_t c = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, cats)
        {
            /* Normalised labels are a {value: title} object: the keys are the values. */
            if (label && !(t->labels[c] = strdup(v->string)))
                return JURY_ENOMEM;
            t->numeric[c] = label ? c : v->valuedouble;
            c++;
        }
        if (rating)
            qsort(t->numeric, k, sizeof(double), s_cmp_double);
    }
    /* Dynamic overlap waits for agreement on a tracked question (the settings insist on it). */
    ds->until = -1;
    const char *uq = ds->settings ? jury_settings_until_question(ds->settings) : NULL;
    for (size_t i = 0; uq && i < ds->ntracked; i++)
        if (strcmp(ds->tracked[i].name, uq) == 0)
            ds->until = (int)i;
    ds->max_submitted = ds->settings ? jury_settings_max_submitted(ds->settings) : 0;
    ds->until_agreement = ds->settings ? jury_settings_until_agreement(ds->settings) : 0;
    return JURY_OK;
}

/* Builds what annotators see of the settings: everything but hidden metadata properties. */
static jury_err s_dataset_welcome(dataset_t *ds, const char *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return JURY_ECORRUPT;
    jury_err terr = s_dataset_tracking(ds, root);
    if (terr != JURY_OK) {
        cJSON_Delete(root);
        return terr;
    }
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    size_t n = (size_t)cJSON_GetArraySize(meta);
    ds->visible = calloc(n ? n : 1, sizeof *ds->visible);
    jury_err err = ds->visible ? JURY_OK : JURY_ENOMEM;
    for (int i = (int)n - 1; i >= 0 && err == JURY_OK; i--) {
        cJSON *m = cJSON_GetArrayItem(meta, i);
        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "visible_for_annotators"))) {
            cJSON_DeleteItemFromArray(meta, i);
            continue;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        if (cJSON_IsString(name) && !(ds->visible[ds->nvisible++] = strdup(name->valuestring)))
            err = JURY_ENOMEM;
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    if (err == JURY_OK && jury_jsonpack_pack(&pk, root) != 0)
        err = JURY_ENOMEM;
    cJSON_Delete(root);
    if (err != JURY_OK) {
        msgpack_sbuffer_destroy(&buf);
        return err;
    }
    ds->welcome_len = buf.size;
    ds->welcome = msgpack_sbuffer_release(&buf);
    return JURY_OK;
}

/* Finds the dataset called name, loading it (settings and every record) on first use. */
static jury_err s_dataset(server_t *sv, const char *name, dataset_t **out)
{
    for (dataset_t *d = sv->datasets; d; d = d->next)
        if (strcmp(d->name, name) == 0) {
            *out = d;
            return JURY_OK;
        }
    jury_txn_t *txn;
    jury_err err = jury_store_read(sv->store, &txn);
    if (err != JURY_OK)
        return err;
    jury_dataset_t info;
    dataset_t *ds = NULL;
    if ((err = jury_store_dataset_get(txn, name, &info)) != JURY_OK)
        goto done;
    err = JURY_ENOMEM;
    if (!(ds = calloc(1, sizeof *ds)) || !(ds->name = strdup(name)))
        goto done;
    ds->id = info.id;
    char why[256];
    if ((err = jury_settings_parse(&ds->settings, info.settings, info.settings_len, why,
                                   sizeof why)) != JURY_OK) {
        jury_log(JURY_LOG_ERROR, "dataset %s: stored settings do not parse: %s", name, why);
        err = JURY_ECORRUPT;
        goto done;
    }
    for (size_t q = 0; q < jury_settings_question_count(ds->settings); q++)
        ds->has_span |= jury_settings_question_type(ds->settings, q) == JURY_QUESTION_SPAN;
    jury_sched_opts_t so = {
        .max_discards = jury_settings_max_discards(ds->settings),
        .random_order = jury_settings_order(ds->settings) == JURY_ORDER_RANDOM,
        .seed = ds->id,
        .lease_ms = (int64_t)jury_settings_lease_seconds(ds->settings) * 1000,
        .max_per_annotator = jury_settings_max_records_per_annotator(ds->settings),
        .gold_rate = jury_settings_gold_rate(ds->settings),
        .onboarding = jury_settings_onboarding(ds->settings),
    };
    err = JURY_ENOMEM;
    if (!(ds->sched = jury_sched_new(&so)))
        goto done;
    if ((err = s_dataset_welcome(ds, info.settings, info.settings_len)) != JURY_OK)
        goto done;
    size_t n = 0;
    if ((err = s_load_records(sv, ds, txn, &n)) != JURY_OK)
        goto done;
    s_event(JURY_LOG_INFO, "dataset_loaded", "dataset=%s records=%zu open=%zu", name, n,
            jury_sched_open(ds->sched));
    ds->metrics = jury_metrics_dataset(sv->o->metrics, name);
    ds->next = sv->datasets;
    sv->datasets = ds;
    *out = ds;
    ds = NULL;
done:
    jury_txn_abort(&txn);
    s_dataset_free(ds);
    return err;
}

/* ---- review leases ------------------------------------------------------------ */

/* The index in ds->rleases where record rid's lease is, or would go. */
static size_t s_rlease_at(const dataset_t *ds, uint64_t rid)
{
    size_t lo = 0, hi = ds->nrleases;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ds->rleases[mid].rid < rid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Record rid's review lease on ds, or NULL when it has none that lasts past now. Borrowed until
 * the next change of the leases. */
static const rlease_t *s_rlease(const dataset_t *ds, uint64_t rid, int64_t now)
{
    size_t i = s_rlease_at(ds, rid);
    if (i < ds->nrleases && ds->rleases[i].rid == rid && ds->rleases[i].expires > now)
        return &ds->rleases[i];
    return NULL;
}

/* Review-leases record rid to annotator until expires (monotonic ms), replacing any lease it had.
 * Errors: JURY_ENOMEM. */
static jury_err s_rlease_set(dataset_t *ds, uint64_t rid, uint32_t annotator, int64_t expires)
{
    size_t i = s_rlease_at(ds, rid);
    if (i == ds->nrleases || ds->rleases[i].rid != rid) {
        if (ds->nrleases == ds->caprleases) {
            size_t ncap = ds->caprleases ? ds->caprleases * 2 : 16;
            rlease_t *v = realloc(ds->rleases, ncap * sizeof *v);
            if (!v)
                return JURY_ENOMEM;
            ds->rleases = v;
            ds->caprleases = ncap;
        }
        memmove(&ds->rleases[i + 1], &ds->rleases[i], (ds->nrleases - i) * sizeof *ds->rleases);
        ds->nrleases++;
    }
    ds->rleases[i] = (rlease_t){.rid = rid, .annotator = annotator, .expires = expires};
    return JURY_OK;
}

/* Ends record rid's review lease when annotator holds it (any holder when annotator is 0).
 * Returns whether there was one (an expired one not yet swept counts as none). */
static bool s_rlease_drop(dataset_t *ds, uint64_t rid, uint32_t annotator, int64_t now)
{
    size_t i = s_rlease_at(ds, rid);
    if (i == ds->nrleases || ds->rleases[i].rid != rid ||
        (annotator && ds->rleases[i].annotator != annotator))
        return false;
    bool live = ds->rleases[i].expires > now;
    memmove(&ds->rleases[i], &ds->rleases[i + 1], (ds->nrleases - i - 1) * sizeof *ds->rleases);
    ds->nrleases--;
    return live;
}

/* Ends the review leases on ds that annotator holds (every one when annotator is 0), or those
 * that ended by now (expired true); calls on_end for each of the latter. Returns how many
 * ended. */
static size_t s_rlease_sweep(dataset_t *ds, uint32_t annotator, bool expired, int64_t now,
                             void (*on_end)(const dataset_t *ds, const rlease_t *l))
{
    size_t o = 0, n = 0;
    for (size_t i = 0; i < ds->nrleases; i++) {
        const rlease_t *l = &ds->rleases[i];
        bool end = expired ? l->expires <= now : (!annotator || l->annotator == annotator);
        if (!end) {
            ds->rleases[o++] = *l;
            continue;
        }
        n++;
        if (on_end)
            on_end(ds, l);
    }
    ds->nrleases = o;
    return n;
}

/* Rebuilds a dataset's assignment state from the store (after a failed commit). */
static void s_dataset_reload(server_t *sv, dataset_t *ds)
{
    jury_sched_opts_t so = {
        .max_discards = jury_settings_max_discards(ds->settings),
        .random_order = jury_settings_order(ds->settings) == JURY_ORDER_RANDOM,
        .seed = ds->id,
        .lease_ms = (int64_t)jury_settings_lease_seconds(ds->settings) * 1000,
        .max_per_annotator = jury_settings_max_records_per_annotator(ds->settings),
        .gold_rate = jury_settings_gold_rate(ds->settings),
        .onboarding = jury_settings_onboarding(ds->settings),
    };
    jury_sched_t *fresh = jury_sched_new(&so);
    jury_txn_t *txn;
    if (!fresh || jury_store_read(sv->store, &txn) != JURY_OK) {
        jury_sched_destroy(&fresh);
        return;
    }
    jury_sched_t *old = ds->sched;
    ds->sched = fresh;
    if (s_load_records(sv, ds, txn, NULL) == JURY_OK) {
        jury_sched_destroy(&old);
    } else {
        ds->sched = old;
        jury_sched_destroy(&fresh);
    }
    jury_txn_abort(&txn);
    /* Leases were lost with the old state: sessions fetch again. */
}

/* ---- requests ------------------------------------------------------------- */

typedef struct {
    const char *name; /* annotator name */
    uint32_t id;      /* its id, out */
} ensure_arg_t;

static jury_err s_ensure_body(jury_txn_t *txn, void *arg)
{
    ensure_arg_t *a = arg;
    return jury_store_annotator_ensure(txn, a->name, &a->id, NULL);
}

/* Who a hello acts for, once allowed. */
typedef struct {
    uint32_t id;                              /* the session's annotator */
    uint32_t keyholder;                       /* the key's owner: id, or the gateway acting */
    bool via_token;                           /* a gateway acting with the annotator's web token */
    unsigned char token_hash[JURY_KEY_BYTES]; /* that token's hash */
} hello_who_t;

/* Whether annotator a may open a session on dataset (dataset_ok: the name had no NUL byte); on
 * refusal *code and reason say why. Admins may open any dataset; others need a grant. */
static bool s_dataset_allowed(jury_txn_t *txn, const jury_annotator_t *a, const char *dataset,
                              bool dataset_ok, jury_err *code, char *reason, size_t cap)
{
    if (a->role == JURY_ROLE_ADMIN)
        return true;
    jury_dataset_t info;
    bool granted = false;
    jury_err err = dataset_ok ? jury_store_dataset_get(txn, dataset, &info) : JURY_ENOTFOUND;
    if (err == JURY_OK)
        err = jury_store_granted(txn, a->id, info.id, &granted);
    if (err == JURY_OK && granted)
        return true;
    if (err == JURY_OK || err == JURY_ENOTFOUND) {
        snprintf(reason, cap, "hello: dataset: '%s' is not open to %s", dataset, a->name);
    } else {
        *code = err;
        snprintf(reason, cap, "hello: the coordinator cannot read the annotator's access");
    }
    return false;
}

/*
 * Checks a web token for annotator (SPEC 10.4): the annotator exists, is not a gateway, holds a
 * web token whose hash is the token's, and the token names it. Every way of failing gets the same
 * words, so that a wrong token tells nothing about who exists; a disabled annotator is said to be
 * disabled only to a holder of its valid token. On success *a is the annotator and hash the
 * token's hash.
 */
static bool s_token_ok(jury_txn_t *txn, const char *annotator, jury_str_t token,
                       jury_annotator_t *a, unsigned char hash[JURY_KEY_BYTES], jury_err *code,
                       char *reason, size_t cap)
{
    jury_web_token_hash(token.ptr, token.len, hash);
    size_t nlen = jury_web_token_name_len(token.ptr, token.len);
    jury_err err = jury_store_annotator_get_by_name(txn, annotator, a);
    if (err != JURY_OK && err != JURY_ENOTFOUND) {
        *code = err;
        snprintf(reason, cap, "hello: the coordinator cannot read the annotator");
        return false;
    }
    if (err == JURY_ENOTFOUND || nlen != strlen(annotator) ||
        memcmp(token.ptr, annotator, nlen) != 0 || a->role == JURY_ROLE_GATEWAY ||
        !a->has_web_token || sodium_memcmp(a->web_token_hash, hash, JURY_KEY_BYTES) != 0) {
        snprintf(reason, cap, "hello: token: not a valid web token for %s", annotator);
        return false;
    }
    if (a->disabled) {
        snprintf(reason, cap, "hello: annotator %s is disabled", annotator);
        return false;
    }
    return true;
}

/*
 * Whether this hello may open a session as `annotator` on `dataset` (dataset_ok: the name had no
 * NUL byte). With CURVE the connection's key decides: its owner acts for itself, or, when the key
 * is a gateway's and the hello carries a web token, for the token's annotator. Without CURVE only
 * a token is checked (when given). Reads the store afresh, so that a key replaced or an annotator
 * disabled since the handshake is refused. On success *who says who; on refusal *code
 * (JURY_EPERM, or a store error) and reason say why. A dataset that does not exist and one not
 * granted get the same words, so that refusals tell nothing about other datasets; admins may open
 * any dataset (an unknown one then gets ENOTFOUND from the loader).
 */
static bool s_hello_allowed(server_t *sv, const inmsg_t *in, const char *annotator,
                            jury_str_t token, const char *dataset, bool dataset_ok,
                            hello_who_t *who, jury_err *code, char *reason, size_t cap)
{
    *code = JURY_EPERM;
    memset(who, 0, sizeof *who);
    if (sv->curve && token.len == 0 && strcmp(annotator, in->user) != 0) {
        snprintf(reason, cap,
                 "hello: annotator: this connection's key belongs to %s; it cannot open a "
                 "session as %s",
                 in->user, annotator);
        return false;
    }
    jury_txn_t *txn;
    jury_err err = jury_store_read(sv->store, &txn);
    if (err != JURY_OK) {
        *code = err;
        snprintf(reason, cap, "hello: the coordinator cannot read its store");
        return false;
    }
    jury_annotator_t k, a;
    bool ok = false;
    if (!sv->curve) {
        /* Plaintext trusts names; a token, when given, is still checked. */
        ok = s_token_ok(txn, annotator, token, &a, who->token_hash, code, reason, cap);
        who->id = who->keyholder = a.id;
        who->via_token = ok;
    } else if ((err = jury_store_annotator_find_key(txn, in->key, &who->keyholder)) != JURY_OK ||
               (err = jury_store_annotator_get(txn, who->keyholder, &k)) != JURY_OK) {
        if (err != JURY_ENOTFOUND)
            *code = err;
        snprintf(reason, cap,
                 err == JURY_ENOTFOUND ? "hello: this key is no longer registered"
                                       : "hello: the coordinator cannot read the annotator");
    } else if (k.disabled) {
        snprintf(reason, cap, "hello: annotator %s is disabled", k.name);
    } else if (token.len == 0 && strcmp(k.name, annotator) != 0) {
        snprintf(reason, cap, "hello: this key no longer belongs to %s", annotator);
    } else if (token.len == 0 && k.role == JURY_ROLE_GATEWAY) {
        snprintf(reason, cap,
                 "hello: %s is a gateway: it opens sessions only for annotators, with their web "
                 "token",
                 k.name);
    } else if (token.len == 0) {
        who->id = who->keyholder;
        ok = s_dataset_allowed(txn, &k, dataset, dataset_ok, code, reason, cap);
    } else if (k.role != JURY_ROLE_GATEWAY) {
        snprintf(reason, cap,
                 "hello: token: only a gateway's key may act for an annotator with a web token, "
                 "and %s is not a gateway",
                 k.name);
    } else if (s_token_ok(txn, annotator, token, &a, who->token_hash, code, reason, cap)) {
        who->id = a.id;
        who->via_token = true;
        ok = s_dataset_allowed(txn, &a, dataset, dataset_ok, code, reason, cap);
    }
    jury_txn_abort(&txn);
    return ok;
}

/* The progress of annotator on ds (SPEC 6.2) as txn sees it (NULL: a read transaction of its
 * own); not present when the counters cannot be read. */
static void s_progress(server_t *sv, jury_txn_t *txn, const dataset_t *ds, uint32_t annotator,
                       jury_proto_progress_t *p)
{
    jury_txn_t *own = NULL;
    jury_counts_t dc, ac;
    memset(p, 0, sizeof *p);
    if (!txn && jury_store_read(sv->store, &own) != JURY_OK)
        return;
    jury_txn_t *t = txn ? txn : own;
    if (jury_store_dataset_counts(t, ds->id, &dc) == JURY_OK &&
        jury_store_annotator_counts(t, ds->id, annotator, &ac) == JURY_OK) {
        p->present = true;
        p->records = dc.records;
        p->completed = dc.completed;
        p->submitted = ac.responses[JURY_RESPONSE_SUBMITTED];
    }
    jury_txn_abort(&own);
}

/*
 * Whether annotator (called name) is paused on ds, as txn sees it (NULL: a read transaction of
 * its own); when so, why says so for the annotator. A store that cannot be read counts as not
 * paused here: the access check that follows every change reads it again.
 */
static bool s_paused(server_t *sv, jury_txn_t *txn, const dataset_t *ds, uint32_t annotator,
                     const char *name, char *why, size_t cap)
{
    jury_txn_t *own = NULL;
    if (!txn && jury_store_read(sv->store, &own) != JURY_OK)
        return false;
    const char *reason;
    size_t len;
    bool paused =
        jury_store_pause_get(txn ? txn : own, ds->id, annotator, NULL, &reason, &len) == JURY_OK;
    if (paused)
        snprintf(why, cap,
                 "hello: %s is paused on dataset %s: %.*s (`jury annotator resume %s %s` lets "
                 "them back)",
                 name, ds->name, (int)(len > 600 ? 600 : len), reason, name, ds->name);
    jury_txn_abort(&own);
    return paused;
}

/* The role of annotator as txn sees it (NULL: a read transaction of its own); JURY_ROLE_ANNOTATOR
 * when it cannot be read. */
static jury_role s_role(server_t *sv, jury_txn_t *txn, uint32_t annotator)
{
    jury_txn_t *own = NULL;
    if (!txn && jury_store_read(sv->store, &own) != JURY_OK)
        return JURY_ROLE_ANNOTATOR;
    jury_annotator_t a;
    jury_role role = jury_store_annotator_get(txn ? txn : own, annotator, &a) == JURY_OK
                         ? a.role
                         : JURY_ROLE_ANNOTATOR;
    jury_txn_abort(&own);
    return role;
}

static void s_hello(server_t *sv, const inmsg_t *in, const jury_msg_t *m)
{
    const unsigned char *peer = in->peer;
    size_t plen = in->peer_len;
    char annotator[JURY_PROTO_NAME_MAX + 1], dataset[JURY_PROTO_NAME_MAX + 1], reason[512];
    snprintf(annotator, sizeof annotator, "%.*s", (int)m->u.hello.annotator.len,
             m->u.hello.annotator.ptr);
    snprintf(dataset, sizeof dataset, "%.*s", (int)m->u.hello.dataset.len, m->u.hello.dataset.ptr);
    if (strlen(annotator) != m->u.hello.annotator.len || !jury_settings_name_valid(annotator)) {
        s_queue_error(sv, peer, plen, true, m->req, JURY_EINVAL,
                      "hello: annotator: use 1 to 200 letters, digits, '_', '-' or '.', not "
                      "starting with '.' or '-'");
        return;
    }
    bool dataset_ok = strlen(dataset) == m->u.hello.dataset.len;
    ensure_arg_t a = {annotator, 0};
    hello_who_t who = {0};
    jury_err err;
    /* With CURVE the key decides who this is and where it may go, before anything is loaded (and
     * a web token, from a gateway, whom it acts for). */
    if ((sv->curve || m->u.hello.token.len > 0) &&
        !s_hello_allowed(sv, in, annotator, m->u.hello.token, dataset, dataset_ok, &who, &err,
                         reason, sizeof reason)) {
        s_queue_error(sv, peer, plen, true, m->req, err, reason);
        if (err == JURY_EPERM) {
            jury_metrics_auth_failure(sv->o->metrics, JURY_METRICS_AUTH_HELLO_DENIED);
            char hex[80], q[600];
            const char *by = sv->curve ? in->user : annotator;
            s_hex(hex, sizeof hex, peer, plen);
            s_event(JURY_LOG_WARN, "hello_denied", "peer=%s annotator=%s reason=%s", hex, by,
                    s_q(q, sizeof q, reason, strlen(reason)));
            s_audit(sv, "hello.denied", "annotator", by, "claimed", annotator, "dataset", dataset,
                    "token", m->u.hello.token.len > 0 ? "yes" : "no", "reason", reason, "by",
                    "serve", NULL);
        }
        return;
    }
    a.id = who.id;
    dataset_t *ds = NULL;
    err = dataset_ok ? s_dataset(sv, dataset, &ds) : JURY_ENOTFOUND;
    if (err != JURY_OK) {
        snprintf(reason, sizeof reason,
                 err == JURY_ENOTFOUND ? "hello: dataset: no dataset '%s' in this store"
                                       : "hello: dataset: '%s' cannot be loaded",
                 dataset);
        s_queue_error(sv, peer, plen, true, m->req, err == JURY_ENOTFOUND ? err : JURY_EINTERNAL,
                      reason);
        return;
    }
    if (!sv->curve && !who.via_token) {
        /* Plaintext: the name is taken as given; its first hello creates the annotator, in a
         * small transaction of its own. */
        jury_txn_t *txn;
        if ((err = jury_store_read(sv->store, &txn)) == JURY_OK) {
            err = jury_store_annotator_find(txn, annotator, &a.id);
            jury_txn_abort(&txn);
        }
        if (err == JURY_ENOTFOUND)
            err = jury_store_write(sv->store, s_ensure_body, &a);
        if (err != JURY_OK) {
            s_queue_error(sv, peer, plen, true, m->req, err, "hello: cannot record the annotator");
            return;
        }
    }

    /* A paused annotator is told why and gets no session. */
    if (s_paused(sv, NULL, ds, a.id, annotator, reason, sizeof reason)) {
        s_queue_error(sv, peer, plen, true, m->req, JURY_EPERM, reason);
        jury_metrics_auth_failure(sv->o->metrics, JURY_METRICS_AUTH_HELLO_DENIED);
        s_audit(sv, "hello.denied", "annotator", annotator, "dataset", dataset, "reason", reason,
                "by", "serve", NULL);
        return;
    }

    /* The same annotator on the same dataset over another connection: this
     * hello takes the session over, and the leases stay with the annotator. */
    for (size_t i = 0; i < sv->nsessions; i++) {
        session_t *o = &sv->sessions[i];
        if (o->ds == ds && o->annotator == a.id &&
            !(o->peer_len == plen && memcmp(o->peer, peer, plen) == 0)) {
            char ohex[80];
            s_hex(ohex, sizeof ohex, o->peer, o->peer_len);
            s_goodbye(sv, o->peer, o->peer_len, JURY_EBUSY,
                      "another connection opened a session for this annotator and dataset");
            s_event(JURY_LOG_INFO, "disconnect",
                    "peer=%s annotator=%s dataset=%s reason=\"taken over\" released=0", ohex,
                    o->name, ds->name);
            s_session_drop(sv, o);
            i--;
        }
    }
    session_t *s = s_session(sv, peer, plen);
    if (!s && !(s = s_session_new(sv, peer, plen))) {
        s_queue_error(sv, peer, plen, true, m->req, JURY_ENOMEM, "hello: out of memory");
        return;
    }
    s->ds = ds;
    s->annotator = a.id;
    s->cut = false;
    memcpy(s->key, in->key, sizeof s->key);
    s->keyholder = who.keyholder;
    s->via_token = who.via_token;
    memcpy(s->token_hash, who.token_hash, sizeof s->token_hash);
    snprintf(s->name, sizeof s->name, "%s", annotator);
    /* Leases the annotator still holds (a reconnect) come back with its next fetch. */
    jury_sched_redeliver(ds->sched, a.id);

    char hex[80], q[300];
    s_hex(hex, sizeof hex, peer, plen);
    s_event(JURY_LOG_INFO, "connect", "peer=%s annotator=%s dataset=%s agent=%s leases=%zu", hex,
            annotator, dataset, s_q(q, sizeof q, m->u.hello.agent.ptr, m->u.hello.agent.len),
            jury_sched_annotator_leases(ds->sched, a.id));

    jury_proto_progress_t progress;
    s_progress(sv, NULL, ds, a.id, &progress);
    /* What the annotator may do (SPEC 6.2); a session a gateway opened has the person's role. */
    const char *role = jury_role_name(s_role(sv, NULL, a.id));
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_WELCOME, true, m->req, progress.present ? 8 : 7);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "dataset");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, ds->name);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "annotator");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, annotator);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "settings");
    rc = rc ? rc : msgpack_sbuffer_write(&buf, ds->welcome, ds->welcome_len);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "heartbeat_ms");
    rc = rc ? rc : msgpack_pack_uint32(&pk, (uint32_t)sv->o->heartbeat_ms);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "lease_seconds");
    rc = rc ? rc : msgpack_pack_uint32(&pk, jury_settings_lease_seconds(ds->settings));
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "batch_max");
    rc = rc ? rc : msgpack_pack_uint32(&pk, sv->lim.batch_max);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "role");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, role ? role : "annotator");
    if (rc == 0 && progress.present)
        rc = jury_proto_pack_progress(&pk, &progress);
    if (rc == 0)
        s_queue(sv, peer, plen, &buf, false, true, m->req);
    msgpack_sbuffer_destroy(&buf);
}

/*
 * Starts the map of one record as batch and review_batch show it (SPEC 6.4, 6.13): a map header of
 * 5 + extra entries, then the stored payload reshaped for annotators (id, fields, suggestions,
 * the metadata annotators may see) and lease_expires (expires, monotonic ms). The caller packs
 * the `extra` entries after. Returns 0, or -1 when the record cannot be read, or a packer error.
 */
static int s_pack_record_head(server_t *sv, msgpack_packer *pk, const dataset_t *ds,
                              jury_txn_t *txn, uint64_t rid, int64_t expires, uint32_t extra)
{
    const void *payload;
    size_t len;
    if (jury_store_record_get(txn, rid, &payload, &len, NULL) != JURY_OK)
        return -1;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_object o;
    int rc = -1;
    if (msgpack_unpack(payload, len, NULL, &zone, &o) != MSGPACK_UNPACK_SUCCESS ||
        o.type != MSGPACK_OBJECT_MAP)
        goto done;
    const msgpack_object *id = NULL, *fields = NULL, *sugg = NULL, *meta = NULL;
    for (uint32_t i = 0; i < o.via.map.size; i++) {
        const msgpack_object_kv *kv = &o.via.map.ptr[i];
        const char *k = kv->key.via.str.ptr;
        uint32_t kl = kv->key.via.str.size;
        if (kl == 2 && memcmp(k, "id", 2) == 0)
            id = &kv->val;
        else if (kl == 6 && memcmp(k, "fields", 6) == 0)
            fields = &kv->val;
        else if (kl == 11 && memcmp(k, "suggestions", 11) == 0)
            sugg = &kv->val;
        else if (kl == 8 && memcmp(k, "metadata", 8) == 0)
            meta = &kv->val;
    }
    if (!id || !fields)
        goto done;
    rc = msgpack_pack_map(pk, 5 + extra);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "id");
    rc = rc ? rc : msgpack_pack_object(pk, *id);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "fields");
    rc = rc ? rc : msgpack_pack_object(pk, *fields);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "suggestions");
    rc = rc ? rc : sugg ? msgpack_pack_object(pk, *sugg) : msgpack_pack_map(pk, 0);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "metadata");
    /* Only the metadata properties annotators may see. */
    uint32_t nvis = 0;
    if (meta && meta->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < meta->via.map.size; i++)
            for (size_t v = 0; v < ds->nvisible; v++)
                if (meta->via.map.ptr[i].key.via.str.size == strlen(ds->visible[v]) &&
                    memcmp(meta->via.map.ptr[i].key.via.str.ptr, ds->visible[v],
                           strlen(ds->visible[v])) == 0) {
                    nvis++;
                    break;
                }
    rc = rc ? rc : msgpack_pack_map(pk, nvis);
    if (meta && meta->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < meta->via.map.size && rc == 0; i++)
            for (size_t v = 0; v < ds->nvisible; v++)
                if (meta->via.map.ptr[i].key.via.str.size == strlen(ds->visible[v]) &&
                    memcmp(meta->via.map.ptr[i].key.via.str.ptr, ds->visible[v],
                           strlen(ds->visible[v])) == 0) {
                    rc = msgpack_pack_object(pk, meta->via.map.ptr[i].key);
                    rc = rc ? rc : msgpack_pack_object(pk, meta->via.map.ptr[i].val);
                    break;
                }
    rc = rc ? rc : jury_proto_pack_cstr(pk, "lease_expires");
    rc = rc ? rc : msgpack_pack_int64(pk, s_to_wall(sv, expires));
done:
    msgpack_zone_destroy(&zone);
    return rc;
}

/* Packs one record of a batch: s_pack_record_head and annotator's draft, if any. */
static int s_pack_record(server_t *sv, msgpack_packer *pk, msgpack_sbuffer *buf, dataset_t *ds,
                         jury_txn_t *txn, uint64_t rid, uint32_t annotator, int64_t expires)
{
    jury_response_t draft;
    bool has_draft = jury_store_response_get(txn, rid, annotator, &draft) == JURY_OK &&
                     draft.status == JURY_RESPONSE_DRAFT && draft.values_len > 0;
    int rc = s_pack_record_head(sv, pk, ds, txn, rid, expires, 1);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "draft");
    if (rc == 0)
        rc = has_draft ? msgpack_sbuffer_write(buf, draft.values, draft.values_len)
                       : msgpack_pack_nil(pk);
    return rc;
}

/* Leases the annotator holds, over every dataset. */
static size_t s_leases_held(const server_t *sv, uint32_t annotator)
{
    size_t held = 0;
    for (const dataset_t *d = sv->datasets; d; d = d->next)
        held += jury_sched_annotator_leases(d->sched, annotator);
    return held;
}

/* Room for the records of one batch: the frame limit less its header (v, cmd, req, progress,
 * "records" and the array's header take well under 512 bytes). */
#define BATCH_FRAME_ROOM (JURY_PROTO_FRAME_MAX - 512)

/* Packs into buf a reply cmd for request req whose "records" are the first k of the records packed
 * one after another in recs (ends[i]: where record i ends), after progress when present. */
static int s_pack_batch(msgpack_sbuffer *buf, jury_cmd cmd, uint64_t req,
                        const jury_proto_progress_t *progress, const msgpack_sbuffer *recs,
                        const size_t *ends, size_t k)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    bool with = progress && progress->present;
    int rc = jury_proto_pack_header(&pk, cmd, true, req, with ? 2 : 1);
    rc = rc ? rc : with ? jury_proto_pack_progress(&pk, progress) : 0;
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "records");
    rc = rc ? rc : msgpack_pack_array(&pk, (uint32_t)k);
    rc = rc ? rc : k ? msgpack_sbuffer_write(buf, recs->data, ends[k - 1]) : 0;
    return rc;
}

/* Why a record that cannot be sent was left out of a batch: its id, size and reason. */
typedef struct {
    char id[JURY_PROTO_ID_MAX + 1];
    size_t bytes;
    char why[200];
} unsendable_t;

/*
 * Whether the record packed in recs from start can go in a batch by itself: within the frame's
 * room and the protocol's limits (SPEC 4: a string of more than 1 MiB cannot be sent). When not,
 * fills *u (the record's id, its size and the reason) for the caller to log.
 */
static bool s_record_sendable(const msgpack_sbuffer *recs, size_t start, unsendable_t *u)
{
    const char *data = recs->data + start;
    size_t len = recs->size - start;
    if (len > BATCH_FRAME_ROOM)
        snprintf(u->why, sizeof u->why, "more than one frame holds");
    else if (jury_proto_check(data, len, u->why, sizeof u->why) == JURY_OK)
        return true;
    u->bytes = len;
    snprintf(u->id, sizeof u->id, "?");
    /* The record's id is the value of its first key (s_pack_record_head). */
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object o;
    if (msgpack_unpack(data, len, NULL, &zone, &o) == MSGPACK_UNPACK_SUCCESS &&
        o.type == MSGPACK_OBJECT_MAP && o.via.map.size > 0 &&
        o.via.map.ptr[0].val.type == MSGPACK_OBJECT_STR &&
        o.via.map.ptr[0].val.via.str.size <= JURY_PROTO_ID_MAX)
        snprintf(u->id, sizeof u->id, "%.*s", (int)o.via.map.ptr[0].val.via.str.size,
                 o.via.map.ptr[0].val.via.str.ptr);
    msgpack_zone_destroy(&zone);
    return false;
}

/* Where a record packed into a batch's records went (s_batch_fit). */
typedef enum { FIT_ADDED, FIT_UNSENDABLE, FIT_FULL } fit_t;

/* Keeps the record packed into recs from start when it can be sent and fits the frame with those
 * before it (its end goes to ends[(*k)++]); otherwise drops it from recs and says why: it cannot
 * be sent at all (*u says why, for the caller to log), or the frame is full. */
static fit_t s_batch_fit(msgpack_sbuffer *recs, size_t start, size_t *ends, size_t *k,
                         unsendable_t *u)
{
    fit_t f = !s_record_sendable(recs, start, u) ? FIT_UNSENDABLE
              : recs->size > BATCH_FRAME_ROOM    ? FIT_FULL
                                                 : FIT_ADDED;
    if (f == FIT_ADDED)
        ends[(*k)++] = recs->size;
    else
        recs->size = start;
    return f;
}

/*
 * fetch: leases to the session's annotator up to min(n, batch_max) records (no more than its
 * lease allowance) and answers with batch. Records stop where the next would take the frame over
 * the protocol's limits (SPEC 6.3); the leases of those not sent are given back at once, and a
 * record too big for a frame by itself is logged.
 */
static void s_fetch(server_t *sv, session_t *s, jury_txn_t *txn, const jury_msg_t *m)
{
    uint64_t seqs[JURY_PROTO_BATCH_MAX];
    int64_t expires[JURY_PROTO_BATCH_MAX];
    dataset_t *ds = s->ds;
    size_t want = m->u.fetch.n < sv->lim.batch_max ? m->u.fetch.n : sv->lim.batch_max;
    size_t held = s_leases_held(sv, s->annotator);
    size_t before = jury_sched_annotator_leases(ds->sched, s->annotator);
    size_t n = jury_sched_fetch(ds->sched, s->annotator, want, sv->now, seqs, expires);
    /* Leases held from before a reconnect come first and add nothing; the new ones, last, may
     * not take the annotator over max_leases: those over it are given back at once. */
    size_t fresh = jury_sched_annotator_leases(ds->sched, s->annotator) - before;
    size_t room = held < sv->lim.max_leases ? sv->lim.max_leases - held : 0;
    if (fresh > room) {
        for (size_t i = n - (fresh - room); i < n; i++)
            jury_sched_release(ds->sched, s->annotator, seqs[i]);
        n -= fresh - room;
    }
    if (n == 0 && room == 0) {
        char reason[300];
        snprintf(reason, sizeof reason,
                 "fetch: %s holds %zu leases, the most this coordinator allows; submit or release "
                 "some first",
                 s->name, held);
        s_queue_error(sv, s->peer, s->peer_len, true, m->req, JURY_ELIMIT, reason);
        s_violation(sv, s, s->name, "leases held");
        return;
    }
    /* Each record is packed on its own, so that the batch can stop at the frame's limits. */
    msgpack_sbuffer recs, buf;
    msgpack_sbuffer_init(&recs);
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &recs, msgpack_sbuffer_write);
    size_t ends[JURY_PROTO_BATCH_MAX], k = 0;
    bool sent[JURY_PROTO_BATCH_MAX] = {false};
    unsendable_t u;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint64_t rid = ((uint64_t)ds->id << JURY_RECORD_SEQ_BITS) | seqs[i];
        size_t start = recs.size;
        rc = s_pack_record(sv, &pk, &recs, ds, txn, rid, s->annotator, expires[i]);
        fit_t f = rc == 0 ? s_batch_fit(&recs, start, ends, &k, &u) : FIT_FULL;
        if (f == FIT_UNSENDABLE)
            s_event(JURY_LOG_WARN, "record_too_big",
                    "dataset=%s record=\"%s\" bytes=%zu reason=\"%s\"", ds->name, u.id, u.bytes,
                    u.why);
        if (f == FIT_FULL)
            break;
        sent[i] = f == FIT_ADDED;
    }
    jury_proto_progress_t progress;
    s_progress(sv, txn, ds, s->annotator, &progress);
    /* The object limit too (SPEC 4): the receiver checks the frame as a whole. */
    while (rc == 0 &&
           (rc = s_pack_batch(&buf, JURY_CMD_BATCH, m->req, &progress, &recs, ends, k)) == 0 &&
           k > 0 && jury_proto_check(buf.data, buf.size, NULL, 0) != JURY_OK) {
        k--;
        for (size_t i = n; i-- > 0;)
            if (sent[i]) {
                sent[i] = false;
                break;
            }
    }
    /* Give back the leases of the records not sent (all of them on a failure): the worker never
     * learns of them. */
    for (size_t i = 0; i < n; i++)
        if (rc != 0 || !sent[i])
            jury_sched_release(ds->sched, s->annotator, seqs[i]);
    if (rc != 0)
        s_queue_error(sv, s->peer, s->peer_len, true, m->req, JURY_EINTERNAL,
                      "fetch: a record could not be read");
    else
        s_queue(sv, s->peer, s->peer_len, &buf, false, true, m->req);
    msgpack_sbuffer_destroy(&recs);
    msgpack_sbuffer_destroy(&buf);
}

/* Packs one result entry. */
static int s_pack_result(msgpack_packer *pk, jury_str_t record, jury_err err, const char *reason,
                         int64_t lease_expires)
{
    int rc = msgpack_pack_map(pk, err == JURY_OK ? (lease_expires ? 3 : 2) : 4);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "record");
    rc = rc ? rc : jury_proto_pack_str(pk, record.ptr, record.len);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "ok");
    rc = rc ? rc : (err == JURY_OK ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    if (err == JURY_OK && lease_expires) {
        rc = rc ? rc : jury_proto_pack_cstr(pk, "lease_expires");
        rc = rc ? rc : msgpack_pack_int64(pk, lease_expires);
    } else if (err != JURY_OK) {
        rc = rc ? rc : jury_proto_pack_cstr(pk, "code");
        rc = rc ? rc : jury_proto_pack_cstr(pk, jury_errname(err));
        rc = rc ? rc : jury_proto_pack_cstr(pk, "reason");
        rc = rc ? rc : jury_proto_pack_cstr(pk, reason);
    }
    return rc;
}

static jury_response_status s_status(jury_proto_status st)
{
    return st == JURY_PROTO_SUBMITTED   ? JURY_RESPONSE_SUBMITTED
           : st == JURY_PROTO_DISCARDED ? JURY_RESPONSE_DISCARDED
                                        : JURY_RESPONSE_DRAFT;
}

/* Reads the record's fields as JSON, for span answers. Caller deletes. */
static cJSON *s_record_fields(jury_txn_t *txn, uint64_t rid)
{
    const void *payload;
    size_t len;
    if (jury_store_record_get(txn, rid, &payload, &len, NULL) != JURY_OK)
        return NULL;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_object o;
    cJSON *out = NULL;
    if (msgpack_unpack(payload, len, NULL, &zone, &o) == MSGPACK_UNPACK_SUCCESS &&
        o.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < o.via.map.size; i++)
            if (o.via.map.ptr[i].key.via.str.size == 6 &&
                memcmp(o.via.map.ptr[i].key.via.str.ptr, "fields", 6) == 0)
                out = jury_jsonpack_to_json(&o.via.map.ptr[i].val);
    msgpack_zone_destroy(&zone);
    return out;
}

/* Whether two msgpack objects mean the same answer: maps compare as sets of
 * key/value pairs (SPEC 9.2 says "same values": key order is the sender's
 * business), integers by value whether signed or not. */
static bool s_obj_equal(const msgpack_object *a, const msgpack_object *b)
{
    bool ai =
        a->type == MSGPACK_OBJECT_POSITIVE_INTEGER || a->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    bool bi =
        b->type == MSGPACK_OBJECT_POSITIVE_INTEGER || b->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    if (ai || bi)
        return ai && bi && a->type == b->type && a->via.u64 == b->via.u64;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MSGPACK_OBJECT_MAP:
        if (a->via.map.size != b->via.map.size)
            return false;
        for (uint32_t i = 0; i < a->via.map.size; i++) {
            const msgpack_object_kv *x = &a->via.map.ptr[i];
            uint32_t j = 0;
            while (j < b->via.map.size && !s_obj_equal(&x->key, &b->via.map.ptr[j].key))
                j++;
            if (j == b->via.map.size || !s_obj_equal(&x->val, &b->via.map.ptr[j].val))
                return false;
        }
        return true;
    case MSGPACK_OBJECT_ARRAY:
        if (a->via.array.size != b->via.array.size)
            return false;
        for (uint32_t i = 0; i < a->via.array.size; i++)
            if (!s_obj_equal(&a->via.array.ptr[i], &b->via.array.ptr[i]))
                return false;
        return true;
    default:
        return msgpack_object_equal(*a, *b);
    }
}

/* Whether two encoded values (as stored) are the same answers. */
static bool s_same_values(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen == blen && memcmp(a, b, alen) == 0)
        return true;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_object x, y;
    bool same = msgpack_unpack(a, alen, NULL, &zone, &x) == MSGPACK_UNPACK_SUCCESS &&
                msgpack_unpack(b, blen, NULL, &zone, &y) == MSGPACK_UNPACK_SUCCESS &&
                s_obj_equal(&x, &y);
    msgpack_zone_destroy(&zone);
    return same;
}

/* The slot of (rid, annotator) in this turn's index: linear probing over a multiplicative hash. */
static uint32_t s_op_slot(const server_t *sv, uint64_t rid, uint32_t annotator)
{
    uint64_t h =
        (rid * UINT64_C(0x9e3779b97f4a7c15)) ^ ((uint64_t)annotator * UINT64_C(0xc2b2ae3d27d4eb4f));
    uint32_t slot = (uint32_t)(h >> 47) & (OP_INDEX_SIZE - 1);
    for (;;) {
        uint32_t k = sv->op_index[slot];
        if (!k || (sv->ops[k - 1].rid == rid && sv->ops[k - 1].annotator == annotator))
            return slot;
        slot = (slot + 1) & (OP_INDEX_SIZE - 1);
    }
}

/* Decides one response of a submit; on acceptance queues its write and applies it to the schedule.
 */
static jury_err s_submit_one(server_t *sv, session_t *s, jury_txn_t *txn,
                             const jury_proto_response_t *r, char *reason, size_t cap,
                             int64_t *lease_expires)
{
    dataset_t *ds = s->ds;
    uint64_t rid;
    jury_err err = jury_store_record_find(txn, ds->id, r->record.ptr, r->record.len, &rid);
    if (err != JURY_OK) {
        snprintf(reason, cap, "no record '%.*s' in dataset %s", (int)r->record.len, r->record.ptr,
                 ds->name);
        return JURY_ENOTFOUND;
    }
    uint64_t seq = rid & ((UINT64_C(1) << JURY_RECORD_SEQ_BITS) - 1);
    jury_response_status status = s_status(r->status);

    /* Pack the values now: the idempotency check compares bytes. */
    size_t off = sv->values.size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sv->values, msgpack_sbuffer_write);
    if ((r->values ? msgpack_pack_object(&pk, *r->values) : msgpack_pack_map(&pk, 0)) != 0) {
        snprintf(reason, cap, "out of memory");
        return JURY_ENOMEM;
    }
    size_t len = sv->values.size - off;
    if (len > sv->lim.max_response_bytes) {
        sv->values.size = off;
        snprintf(reason, cap,
                 "record '%.*s': values of %zu bytes are over this coordinator's limit of %zu "
                 "bytes per response",
                 (int)r->record.len, r->record.ptr, len, sv->lim.max_response_bytes);
        return JURY_ETOOBIG;
    }

    /* The same response twice in one turn: the first is not on disk yet, so
     * look among this turn's accepted responses before the store. */
    uint32_t slot = s_op_slot(sv, rid, s->annotator);
    if (sv->op_index[slot]) {
        const op_t *first = &sv->ops[sv->op_index[slot] - 1];
        if (first->status != JURY_RESPONSE_DRAFT) {
            bool same =
                first->status == status &&
                s_same_values(sv->values.data + first->off, first->len, sv->values.data + off, len);
            sv->values.size = off;
            if (same)
                return JURY_OK;
            snprintf(reason, cap,
                     "record '%.*s' was already %s by %s; a final response cannot change",
                     (int)r->record.len, r->record.ptr, jury_response_status_name(first->status),
                     s->name);
            return JURY_EEXIST;
        }
    }
    jury_response_t prev;
    if (jury_store_response_get(txn, rid, s->annotator, &prev) == JURY_OK &&
        prev.status != JURY_RESPONSE_DRAFT) {
        sv->values.size = off;
        /* A resubmit after a lost acknowledgement is the same response: fine. */
        if (prev.status == status &&
            s_same_values(prev.values, prev.values_len, sv->values.data + off, len))
            return JURY_OK;
        snprintf(reason, cap, "record '%.*s' was already %s by %s; a final response cannot change",
                 (int)r->record.len, r->record.ptr, jury_response_status_name(prev.status),
                 s->name);
        return JURY_EEXIST;
    }
    /* A response sent again on a new session may have lost its lease with a restart: it is
     * leased anew below, after its values pass, if the record could be handed out to this
     * annotator now (SPEC 9.3). */
    bool claim = false;
    if ((err = jury_sched_check(ds->sched, s->annotator, seq, sv->now)) != JURY_OK) {
        claim = err == JURY_ENOTLEASED && r->reclaim;
        if (!claim) {
            sv->values.size = off;
            snprintf(reason, cap,
                     "record '%.*s' is not leased to %s (never fetched, released, expired, "
                     "or finished by others)",
                     (int)r->record.len, r->record.ptr, s->name);
            return JURY_ENOTLEASED;
        }
    }
    if (status != JURY_RESPONSE_DISCARDED || r->values) {
        cJSON *values = r->values ? jury_jsonpack_to_json(r->values) : NULL;
        cJSON *fields = ds->has_span ? s_record_fields(txn, rid) : NULL;
        char why[400];
        err = values ? jury_settings_check_answers(ds->settings, values,
                                                   status == JURY_RESPONSE_SUBMITTED, fields, why,
                                                   sizeof why)
                     : JURY_EINVAL;
        if (!values)
            snprintf(why, sizeof why, "/values: must be a map of question names to answers");
        cJSON_Delete(values);
        cJSON_Delete(fields);
        if (err != JURY_OK) {
            sv->values.size = off;
            snprintf(reason, cap, "%s", why);
            return err;
        }
    }
    int64_t claimed;
    if (claim && (s_leases_held(sv, s->annotator) >= sv->lim.max_leases ||
                  jury_sched_claim(ds->sched, s->annotator, seq, sv->now, &claimed) != JURY_OK)) {
        sv->values.size = off;
        snprintf(reason, cap,
                 "record '%.*s' is not leased to %s and cannot be leased again (answered by "
                 "enough others, leased to them, set aside, or over the lease limit)",
                 (int)r->record.len, r->record.ptr, s->name);
        return JURY_ENOTLEASED;
    }
    if (claim)
        s_event(JURY_LOG_INFO, "reclaimed", "annotator=%s dataset=%s record=%.*s", s->name,
                ds->name, (int)r->record.len, r->record.ptr);
    sv->op_index[slot] = (uint32_t)sv->nops + 1; /* a later one replaces an earlier draft */
    op_t *op = &sv->ops[sv->nops++];
    *op = (op_t){.rid = rid,
                 .annotator = s->annotator,
                 .status = status,
                 .off = off,
                 .len = len,
                 .max_discards = jury_settings_max_discards(ds->settings),
                 .ds = ds,
                 .slot = slot};
    if (status == JURY_RESPONSE_SUBMITTED)
        jury_sched_submitted(ds->sched, s->annotator, seq);
    else if (status == JURY_RESPONSE_DISCARDED)
        jury_sched_discarded(ds->sched, s->annotator, seq);
    else
        *lease_expires = s_to_wall(sv, jury_sched_draft(ds->sched, s->annotator, seq, sv->now));
    return JURY_OK;
}

/*
 * Whether requests that write must be refused now because the store's last commit failed (a
 * full disk) and its next try is not due: then the request gets EFULL at once, without
 * touching any schedule, and the worker sends it again later (SPEC 7). Reads go on as usual.
 */
static bool s_writes_refused(server_t *sv, const session_t *s, const jury_msg_t *m)
{
    if (!sv->store_full || sv->now >= sv->write_retry_at)
        return false;
    s_queue_error(sv, s->peer, s->peer_len, true, m->req, JURY_EFULL,
                  "the coordinator cannot store anything now (its disk is full); nothing was "
                  "stored: send it again later");
    return true;
}

static void s_submit(server_t *sv, session_t *s, jury_txn_t *txn, const jury_msg_t *m)
{
    if (s_writes_refused(sv, s, m))
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_RESULTS, true, m->req, 1);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "results");
    rc = rc ? rc : msgpack_pack_array(&pk, m->u.submit.count);
    bool too_big = false;
    for (uint32_t i = 0; i < m->u.submit.count && rc == 0; i++) {
        char reason[512] = "";
        int64_t lease = 0;
        jury_err err =
            s_submit_one(sv, s, txn, &m->u.submit.items[i], reason, sizeof reason, &lease);
        too_big |= err == JURY_ETOOBIG;
        if (err != JURY_OK) {
            char hex[80], q[600];
            s_hex(hex, sizeof hex, s->peer, s->peer_len);
            s_event(JURY_LOG_DEBUG, "response_refused", "peer=%s annotator=%s code=%s reason=%s",
                    hex, s->name, jury_errname(err), s_q(q, sizeof q, reason, strlen(reason)));
        }
        rc = s_pack_result(&pk, m->u.submit.items[i].record, err, reason, lease);
    }
    if (rc == 0)
        s_queue(sv, s->peer, s->peer_len, &buf, true, true, m->req);
    msgpack_sbuffer_destroy(&buf);
    /* One violation per request, however many of its responses were too big. */
    if (too_big)
        s_violation(sv, s, s->name, "response size");
}

static void s_release(server_t *sv, session_t *s, jury_txn_t *txn, const jury_msg_t *m)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_RESULTS, true, m->req, 1);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "results");
    rc = rc ? rc : msgpack_pack_array(&pk, m->u.release.count);
    for (uint32_t i = 0; i < m->u.release.count && rc == 0; i++) {
        jury_str_t id = m->u.release.records[i];
        uint64_t rid;
        char reason[512] = "";
        jury_err err = jury_store_record_find(txn, s->ds->id, id.ptr, id.len, &rid);
        if (err != JURY_OK) {
            snprintf(reason, sizeof reason, "no record '%.*s' in dataset %s", (int)id.len, id.ptr,
                     s->ds->name);
            err = JURY_ENOTFOUND;
        } else {
            /* Both kinds of lease go: answering (the schedule's) and review (SPEC 9.7). */
            bool leased = jury_sched_release(s->ds->sched, s->annotator,
                                             rid & ((UINT64_C(1) << JURY_RECORD_SEQ_BITS) - 1));
            leased |= s_rlease_drop(s->ds, rid, s->annotator, sv->now);
            if (!leased) {
                snprintf(reason, sizeof reason, "record '%.*s' is not leased to %s", (int)id.len,
                         id.ptr, s->name);
                err = JURY_ENOTLEASED;
            }
        }
        rc = s_pack_result(&pk, id, err, reason, 0);
    }
    if (rc == 0)
        s_queue(sv, s->peer, s->peer_len, &buf, false, true, m->req);
    msgpack_sbuffer_destroy(&buf);
}

/* ---- review (SPEC 6.12-6.14, 9.7) ----------------------------------------- */

/*
 * Whether s's annotator may review: the reviewer or admin role, as txn sees it now (a role changed
 * since hello counts at once; hello checked the dataset). Otherwise queues an error for request
 * m: EPERM naming the annotator and the role needed, or the store's error.
 */
static bool s_may_review(server_t *sv, session_t *s, jury_txn_t *txn, const jury_msg_t *m)
{
    jury_annotator_t a;
    char reason[400];
    jury_err err = jury_store_annotator_get(txn, s->annotator, &a);
    if (err == JURY_OK && (a.role == JURY_ROLE_REVIEWER || a.role == JURY_ROLE_ADMIN))
        return true;
    if (err == JURY_OK || err == JURY_ENOTFOUND) {
        snprintf(reason, sizeof reason,
                 "%s: %s has the role %s; reviewing needs the role reviewer or admin",
                 jury_proto_cmd_name(m->cmd), s->name,
                 err == JURY_OK ? jury_role_name(a.role) : "annotator");
        err = JURY_EPERM;
    } else {
        snprintf(reason, sizeof reason, "%s: the coordinator cannot read the annotator",
                 jury_proto_cmd_name(m->cmd));
    }
    s_queue_error(sv, s->peer, s->peer_len, true, m->req, err, reason);
    return false;
}

/* The queued records a review_fetch picks (s_review_pick). */
typedef struct {
    server_t *sv;                       /* the server */
    const dataset_t *ds;                /* the session's dataset */
    jury_txn_t *txn;                    /* the turn's read transaction */
    uint32_t annotator;                 /* the reviewer */
    size_t want;                        /* how many at most */
    size_t n;                           /* picked so far */
    uint64_t rid[JURY_PROTO_BATCH_MAX]; /* the records picked, in id order */
    unsigned why[JURY_PROTO_BATCH_MAX]; /* their JURY_REVIEW_* flags */
} review_pick_t;

/* One queued record: picked unless another reviewer holds it, it was decided in this turn, or a
 * review of it is stored (the queue entry is then stale). Returns JURY_ELIMIT, which stops the
 * walk, once enough are picked. */
static jury_err s_review_pick(uint64_t rid, unsigned why, void *arg)
{
    review_pick_t *w = arg;
    const rlease_t *l = s_rlease(w->ds, rid, w->sv->now);
    if ((l && l->annotator != w->annotator) || w->sv->op_index[s_op_slot(w->sv, rid, 0)] ||
        !(why & (JURY_REVIEW_CONTESTED | JURY_REVIEW_REJECTED)))
        return JURY_OK;
    const void *blob;
    size_t len;
    jury_err err = jury_store_review_get(w->txn, rid, &blob, &len);
    if (err == JURY_OK)
        return JURY_OK; /* decided: the queue entry is stale */
    if (err != JURY_ENOTFOUND)
        return err;
    w->rid[w->n] = rid;
    w->why[w->n++] = why;
    return w->n == w->want ? JURY_ELIMIT : JURY_OK;
}

/* A record's submitted and discarded responses (s_review_response); values borrowed from the
 * transaction. */
typedef struct {
    jury_response_t *r; /* the responses (owned), in annotator id order */
    size_t n, cap;      /* used and allocated */
} review_responses_t;

static jury_err s_review_response(const jury_response_t *r, void *arg)
{
    review_responses_t *a = arg;
    if (r->status == JURY_RESPONSE_DRAFT)
        return JURY_OK;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 8;
        jury_response_t *v = realloc(a->r, ncap * sizeof *v);
        if (!v)
            return JURY_ENOMEM;
        a->r = v;
        a->cap = ncap;
    }
    a->r[a->n++] = *r;
    return JURY_OK;
}

/* The longest prefix of the len bytes of valid UTF-8 at s that holds at most max bytes and ends
 * between characters. */
static size_t s_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/*
 * Packs one record of a review_batch (SPEC 6.13): the record as in batch (s_pack_record_head)
 * with why (from the queue's flags), the reason and unified values of its stored consolidation
 * decision when there is one, and its submitted and discarded responses with their annotators'
 * names. Returns 0, -1 when something cannot be read, or a packer error.
 */
static int s_pack_review_record(server_t *sv, msgpack_packer *pk, msgpack_sbuffer *buf,
                                const dataset_t *ds, jury_txn_t *txn, uint64_t rid, unsigned why,
                                int64_t expires)
{
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    jury_decision_t d;
    const void *blob;
    size_t len, reason_len = 0;
    bool decided = jury_store_decision_get(txn, rid, &blob, &len) == JURY_OK &&
                   jury_decision_decode(blob, len, &zone, &d) == JURY_OK;
    /* A reason over the wire's limit is cut between characters; one that is not UTF-8 (it never
     * should be) is left out rather than making the batch unreadable. */
    bool has_reason =
        decided && d.reason &&
        jury_utf8_valid(d.reason,
                        reason_len = s_utf8_prefix(d.reason, d.reason_len, JURY_PROTO_REASON_MAX),
                        NULL);
    bool has_unified =
        decided && d.kind != JURY_DECISION_PENDING && d.unified.type == MSGPACK_OBJECT_MAP;
    review_responses_t resp = {0};
    int rc = jury_store_response_each(txn, rid, s_review_response, &resp) == JURY_OK ? 0 : -1;
    rc = rc ? rc : s_pack_record_head(sv, pk, ds, txn, rid, expires, 2 + has_reason + has_unified);
    bool contested = why & JURY_REVIEW_CONTESTED, rejected = why & JURY_REVIEW_REJECTED;
    rc = rc ? rc : jury_proto_pack_cstr(pk, "why");
    rc = rc ? rc : msgpack_pack_array(pk, (uint32_t)contested + (uint32_t)rejected);
    rc = rc ? rc : contested ? jury_proto_pack_cstr(pk, "contested") : 0;
    rc = rc ? rc : rejected ? jury_proto_pack_cstr(pk, "rejected") : 0;
    if (has_reason) {
        rc = rc ? rc : jury_proto_pack_cstr(pk, "reason");
        rc = rc ? rc : jury_proto_pack_str(pk, d.reason, reason_len);
    }
    if (has_unified) {
        rc = rc ? rc : jury_proto_pack_cstr(pk, "unified");
        rc = rc ? rc : msgpack_pack_object(pk, d.unified);
    }
    rc = rc ? rc : jury_proto_pack_cstr(pk, "responses");
    rc = rc ? rc : msgpack_pack_array(pk, (uint32_t)resp.n);
    for (size_t i = 0; i < resp.n && rc == 0; i++) {
        const jury_response_t *r = &resp.r[i];
        const char *name;
        if (jury_store_annotator_name(txn, r->annotator, &name) != JURY_OK) {
            rc = -1;
            break;
        }
        rc = msgpack_pack_map(pk, 4);
        rc = rc ? rc : jury_proto_pack_cstr(pk, "annotator");
        rc = rc ? rc : jury_proto_pack_cstr(pk, name);
        rc = rc ? rc : jury_proto_pack_cstr(pk, "status");
        rc = rc ? rc : jury_proto_pack_cstr(pk, jury_response_status_name(r->status));
        rc = rc ? rc : jury_proto_pack_cstr(pk, "values");
        /* The values as they were stored (a map; a discard without values stores an empty one). */
        if (rc == 0)
            rc = r->values_len ? msgpack_sbuffer_write(buf, r->values, r->values_len)
                               : msgpack_pack_nil(pk);
        rc = rc ? rc : jury_proto_pack_cstr(pk, "updated_ms");
        rc = rc ? rc : msgpack_pack_int64(pk, r->updated_ms);
    }
    free(resp.r);
    msgpack_zone_destroy(&zone);
    return rc;
}

/* Packs a review_batch answering req with the first k records of recs (ends[i]: where record i
 * ends) into buf, which is cleared first. Returns 0 or a packer error. */
/*
 * review_fetch: review-leases to the session's reviewer up to min(n, batch_max) records of the
 * review queue, in record id order, skipping those review-leased to another reviewer (its own
 * come again, their leases renewed), and answers with review_batch. Records stop where the next
 * would take the frame over the protocol's limits; a record too big for a frame by itself is
 * left in the queue (and logged).
 */
static void s_review_fetch(server_t *sv, session_t *s, jury_txn_t *txn, const jury_msg_t *m)
{
    if (!s_may_review(sv, s, txn, m))
        return;
    dataset_t *ds = s->ds;
    review_pick_t pick = {.sv = sv, .ds = ds, .txn = txn, .annotator = s->annotator};
    review_pick_t *w = &pick;
    w->want = m->u.fetch.n < sv->lim.batch_max ? m->u.fetch.n : sv->lim.batch_max;
    jury_err err = jury_store_review_queue_each(txn, ds->id, 0, s_review_pick, w);
    if (err != JURY_OK && err != JURY_ELIMIT) {
        s_event(JURY_LOG_ERROR, "review_queue_failed", "dataset=%s error=\"%s\"", ds->name,
                jury_strerror(err));
        s_queue_error(sv, s->peer, s->peer_len, true, m->req, JURY_EINTERNAL,
                      "review_fetch: the review queue cannot be read");
        return;
    }
    int64_t expires = sv->now + (int64_t)jury_settings_lease_seconds(ds->settings) * 1000;
    /* Each record is packed on its own, so that the batch can stop at the frame's limits. */
    msgpack_sbuffer recs, buf;
    msgpack_sbuffer_init(&recs);
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &recs, msgpack_sbuffer_write);
    size_t ends[JURY_PROTO_BATCH_MAX], k = 0;
    uint64_t took[JURY_PROTO_BATCH_MAX];
    unsendable_t u;
    int rc = 0;
    for (size_t i = 0; i < w->n && rc == 0; i++) {
        size_t start = recs.size;
        rc = s_pack_review_record(sv, &pk, &recs, ds, txn, w->rid[i], w->why[i], expires);
        fit_t f = rc == 0 ? s_batch_fit(&recs, start, ends, &k, &u) : FIT_FULL;
        if (f == FIT_UNSENDABLE)
            s_event(JURY_LOG_WARN, "review_record_too_big",
                    "dataset=%s record=\"%s\" bytes=%zu reason=\"%s\"", ds->name, u.id, u.bytes,
                    u.why);
        if (f == FIT_FULL)
            break;
        if (f == FIT_ADDED)
            took[k - 1] = w->rid[i];
    }
    /* The object limit too (SPEC 4): the receiver checks the frame as a whole. */
    while (rc == 0 &&
           (rc = s_pack_batch(&buf, JURY_CMD_REVIEW_BATCH, m->req, NULL, &recs, ends, k)) == 0 &&
           k > 0 && jury_proto_check(buf.data, buf.size, NULL, 0) != JURY_OK)
        k--;
    for (size_t i = 0; i < k && rc == 0; i++)
        if (s_rlease_set(ds, took[i], s->annotator, expires) != JURY_OK) {
            for (size_t j = 0; j < i; j++)
                s_rlease_drop(ds, took[j], s->annotator, sv->now);
            rc = -1;
        }
    if (rc != 0)
        s_queue_error(sv, s->peer, s->peer_len, true, m->req, JURY_EINTERNAL,
                      "review_fetch: the records could not be read or leased");
    else
        s_queue(sv, s->peer, s->peer_len, &buf, false, true, m->req);
    msgpack_sbuffer_destroy(&recs);
    msgpack_sbuffer_destroy(&buf);
}

/* The value of question name in map values, or NULL when absent. */
static const msgpack_object *s_map_get(const msgpack_object *values, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < values->via.map.size; i++) {
        const msgpack_object *k = &values->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, name, n) == 0)
            return &values->via.map.ptr[i].val;
    }
    return NULL;
}

/*
 * Checks the values of a reviewer's decision on record rid (SPEC 6.14): an accepted decision's as
 * a submitted response's (every required question answered), and a ranking without ties, since
 * they are the record's final answers; a rejected decision's, when it has some, as a draft's. On
 * refusal, JURY_EINVAL with the reason naming the question.
 */
static jury_err s_review_values(const dataset_t *ds, jury_txn_t *txn, uint64_t rid,
                                const jury_proto_decision_t *d, char *reason, size_t cap)
{
    if (!d->values)
        return JURY_OK;
    cJSON *values = jury_jsonpack_to_json(d->values);
    cJSON *fields = ds->has_span ? s_record_fields(txn, rid) : NULL;
    char why[400];
    jury_err err = values ? jury_settings_check_answers(ds->settings, values, d->accept, fields,
                                                        why, sizeof why)
                          : JURY_EINVAL;
    if (!values)
        snprintf(why, sizeof why, "/values: must be a map of question names to answers");
    cJSON_Delete(values);
    cJSON_Delete(fields);
    if (err != JURY_OK) {
        snprintf(reason, cap, "%s", why);
        return err;
    }
    for (size_t q = 0; d->accept && q < jury_settings_question_count(ds->settings); q++) {
        if (jury_settings_question_type(ds->settings, q) != JURY_QUESTION_RANKING)
            continue;
        const char *name = jury_settings_question_name(ds->settings, q);
        const msgpack_object *v = s_map_get(d->values, name);
        /* The settings' check allowed ties (allow_ties); a final ranking orders every value. */
        for (uint32_t i = 0; v && v->type == MSGPACK_OBJECT_ARRAY && i < v->via.array.size; i++)
            if (v->via.array.ptr[i].type == MSGPACK_OBJECT_ARRAY) {
                snprintf(reason, cap,
                         "/values/%s: item %u: a reviewer's ranking has no ties; give each value "
                         "its own rank",
                         name, i);
                return JURY_EINVAL;
            }
    }
    return JURY_OK;
}

/* Decides one decision of a review_submit; on acceptance queues its write (an op with annotator
 * 0 in the turn's index) and ends the record's review lease. */
static jury_err s_review_one(server_t *sv, session_t *s, jury_txn_t *txn,
                             const jury_proto_decision_t *d, char *reason, size_t cap)
{
    dataset_t *ds = s->ds;
    int idl = (int)d->record.len;
    const char *idp = d->record.ptr;
    uint64_t rid;
    if (jury_store_record_find(txn, ds->id, idp, d->record.len, &rid) != JURY_OK) {
        snprintf(reason, cap, "no record '%.*s' in dataset %s", idl, idp, ds->name);
        return JURY_ENOTFOUND;
    }
    /* A decision sent again after a lost acknowledgement is the one stored: fine; another one on
     * a decided record is not. This turn's decisions are not on disk yet: they come first. */
    uint32_t slot = s_op_slot(sv, rid, 0);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    jury_review_t prev;
    const char *by = "another reviewer";
    bool decided = false;
    jury_err err = JURY_OK;
    if (sv->op_index[slot]) {
        const op_t *first = &sv->ops[sv->op_index[slot] - 1];
        err = jury_review_decode(sv->values.data + first->off, first->len, &zone, &prev);
        by = sv->values.data + first->text_off;
        decided = true;
    } else {
        const void *blob;
        size_t len;
        if ((err = jury_store_review_get(txn, rid, &blob, &len)) == JURY_OK) {
            err = jury_review_decode(blob, len, &zone, &prev);
            decided = true;
            const char *name;
            if (err == JURY_OK && jury_store_annotator_name(txn, prev.reviewer, &name) == JURY_OK)
                by = name;
        } else if (err == JURY_ENOTFOUND) {
            err = JURY_OK;
        }
    }
    if (err != JURY_OK) {
        msgpack_zone_destroy(&zone);
        snprintf(reason, cap, "record '%.*s': its stored review cannot be read", idl, idp);
        return JURY_EINTERNAL;
    }
    if (decided) {
        bool same =
            jury_review_same(&prev, s->annotator, d->accept, d->values, d->note.ptr, d->note.len);
        bool accepted = prev.accept;
        msgpack_zone_destroy(&zone);
        if (same)
            return JURY_OK;
        snprintf(reason, cap,
                 "record '%.*s' was already %s by reviewer %s; a decision cannot change", idl, idp,
                 accepted ? "accepted" : "rejected", by);
        return JURY_EEXIST;
    }
    msgpack_zone_destroy(&zone);
    /* SPEC 9.7: review-leased to this reviewer, or leased to nobody and still waiting. */
    const rlease_t *l = s_rlease(ds, rid, sv->now);
    if (l && l->annotator != s->annotator) {
        snprintf(reason, cap, "record '%.*s' is review-leased to another reviewer", idl, idp);
        return JURY_ENOTLEASED;
    }
    unsigned why = 0;
    if (!l && (err = jury_store_review_queue_get(txn, rid, &why)) != JURY_OK) {
        snprintf(reason, cap, "record '%.*s': the review queue cannot be read", idl, idp);
        return JURY_EINTERNAL;
    }
    if (!l && !why) {
        snprintf(reason, cap,
                 "record '%.*s' is not review-leased to %s and does not wait for a reviewer", idl,
                 idp, s->name);
        return JURY_ENOTLEASED;
    }
    /* The values' size, as a response's (SPEC 4), then their rules. */
    size_t off = sv->values.size;
    if (d->values) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sv->values, msgpack_sbuffer_write);
        int rc = msgpack_pack_object(&pk, *d->values);
        size_t len = sv->values.size - off;
        sv->values.size = off;
        if (rc != 0) {
            snprintf(reason, cap, "out of memory");
            return JURY_ENOMEM;
        }
        if (len > sv->lim.max_response_bytes) {
            snprintf(reason, cap,
                     "record '%.*s': values of %zu bytes are over this coordinator's limit of %zu "
                     "bytes per response",
                     idl, idp, len, sv->lim.max_response_bytes);
            return JURY_ETOOBIG;
        }
    }
    if ((err = s_review_values(ds, txn, rid, d, reason, cap)) != JURY_OK)
        return err;
    /* The stored form, then "NAME\0RECORD\0" for the write and the log line after the commit. */
    if (jury_review_encode(&sv->values, s->annotator, sv->wall, d->accept, d->values, d->note.ptr,
                           d->note.len) != JURY_OK) {
        sv->values.size = off;
        snprintf(reason, cap, "out of memory");
        return JURY_ENOMEM;
    }
    size_t len = sv->values.size - off, text_off = sv->values.size;
    if (msgpack_sbuffer_write(&sv->values, s->name, strlen(s->name) + 1) != 0 ||
        msgpack_sbuffer_write(&sv->values, idp, d->record.len) != 0 ||
        msgpack_sbuffer_write(&sv->values, "", 1) != 0) {
        sv->values.size = off;
        snprintf(reason, cap, "out of memory");
        return JURY_ENOMEM;
    }
    sv->op_index[slot] = (uint32_t)sv->nops + 1;
    sv->ops[sv->nops++] = (op_t){.rid = rid,
                                 .annotator = 0,
                                 .off = off,
                                 .len = len,
                                 .ds = ds,
                                 .slot = slot,
                                 .review = true,
                                 .accept = d->accept,
                                 .reviewer = s->annotator,
                                 .text_off = text_off};
    s_rlease_drop(ds, rid, 0, sv->now);
    return JURY_OK;
}

/* review_submit: one result per decision, sent after the turn's commit (SPEC 6.14). */
static void s_review_submit(server_t *sv, session_t *s, jury_txn_t *txn, const jury_msg_t *m)
{
    if (!s_may_review(sv, s, txn, m) || s_writes_refused(sv, s, m))
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_RESULTS, true, m->req, 1);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "results");
    rc = rc ? rc : msgpack_pack_array(&pk, m->u.review_submit.count);
    bool too_big = false;
    for (uint32_t i = 0; i < m->u.review_submit.count && rc == 0; i++) {
        const jury_proto_decision_t *d = &m->u.review_submit.items[i];
        char reason[512] = "";
        jury_err err = s_review_one(sv, s, txn, d, reason, sizeof reason);
        too_big |= err == JURY_ETOOBIG;
        if (err != JURY_OK) {
            char hex[80], q[600];
            s_hex(hex, sizeof hex, s->peer, s->peer_len);
            s_event(JURY_LOG_DEBUG, "decision_refused", "peer=%s annotator=%s code=%s reason=%s",
                    hex, s->name, jury_errname(err), s_q(q, sizeof q, reason, strlen(reason)));
        }
        rc = s_pack_result(&pk, d->record, err, reason, 0);
    }
    if (rc == 0)
        s_queue(sv, s->peer, s->peer_len, &buf, true, true, m->req);
    msgpack_sbuffer_destroy(&buf);
    if (too_big)
        s_violation(sv, s, s->name, "response size");
}

/* ---- one loop turn -------------------------------------------------------- */

static void s_bad(server_t *sv, const unsigned char *peer, size_t plen, const jury_msg_t *m,
                  bool cmd_known, jury_err err, const char *why)
{
    char hex[80], q[600];
    s_hex(hex, sizeof hex, peer, plen);
    s_event(JURY_LOG_WARN, "bad_message", "peer=%s code=%s reason=%s", hex, jury_errname(err),
            s_q(q, sizeof q, why, strlen(why)));
    /* Heartbeats and byes get no reply, even when malformed. */
    if (!cmd_known || (m->cmd != JURY_CMD_HEARTBEAT && m->cmd != JURY_CMD_BYE))
        s_queue_error(sv, peer, plen, m->has_req, m->req, err, why);
    session_t *s = s_session(sv, peer, plen);
    if (!s && !(s = s_session_new(sv, peer, plen)))
        return;
    s->last_heard = sv->now; /* any message is a sign of life (SPEC 8) */
    if (++s->bad >= sv->lim.max_malformed) {
        s_goodbye(sv, peer, plen, JURY_EPROTO, "too many malformed messages");
        s_event(JURY_LOG_WARN, "peer_banned", "peer=%s seconds=%d", hex, JURY_SERVE_BAN_MS / 1000);
        s_ban(sv, peer, plen);
        s_session_end(sv, s, "too many malformed messages");
    }
}

/*
 * The limits checked before a message is read: its size and the connection's rate. A message over
 * one is answered (unless it is a heartbeat or bye) with ETOOBIG or ELIMIT, without being read, and
 * counts as a violation. Returns false when the message must go no further.
 */
static bool s_admit(server_t *sv, session_t *s, inmsg_t *in)
{
    size_t len = zmq_msg_size(&in->body);
    bool too_big = len > sv->lim.max_message_bytes;
    if (!too_big && s_rate_ok(sv, s))
        return true;
    jury_cmd cmd;
    bool has_req;
    uint64_t req;
    s_peek(zmq_msg_data(&in->body), len, &cmd, &has_req, &req);
    char reason[300];
    if (too_big)
        snprintf(reason, sizeof reason,
                 "a message of %zu bytes is over this coordinator's limit of %zu bytes; send "
                 "smaller messages",
                 len, sv->lim.max_message_bytes);
    else
        snprintf(reason, sizeof reason,
                 "too many messages: a connection may send %u a second (%u at once); slow down",
                 sv->lim.max_rate, sv->lim.burst);
    if (cmd != JURY_CMD_HEARTBEAT && cmd != JURY_CMD_BYE)
        s_queue_error(sv, in->peer, in->peer_len, has_req, req,
                      too_big ? JURY_ETOOBIG : JURY_ELIMIT, reason);
    s_violation(sv, s, s->ds ? s->name : in->user,
                too_big ? "message size" : "messages per second");
    return false;
}

static void s_handle(server_t *sv, inmsg_t *in, jury_txn_t *txn, msgpack_zone *zone)
{
    jury_msg_t m;
    memset(&m, 0, sizeof m);
    m.cmd = JURY_CMD_COUNT;
    char why[512] = "";
    /* Sent away earlier in this turn: the rest of what it sent goes unread too. */
    if (s_banned(sv, in->peer, in->peer_len))
        return;
    /* Every connection gets its record with its first message: limits count per connection. */
    session_t *s = s_session(sv, in->peer, in->peer_len);
    if (!s)
        s = s_session_new(sv, in->peer, in->peer_len);
    if (s) {
        s->last_heard = sv->now; /* any message is a sign of life (SPEC 8) */
        if (!s_admit(sv, s, in))
            return;
    }
    if (in->extra_frames) {
        s_bad(sv, in->peer, in->peer_len, &m, false, JURY_EPROTO,
              "a message is one frame; send the msgpack body alone");
        return;
    }
    jury_err err = jury_proto_decode(zmq_msg_data(&in->body), zmq_msg_size(&in->body), zone, &m,
                                     why, sizeof why);
    bool cmd_known = m.cmd < JURY_CMD_COUNT;
    if (err != JURY_OK) {
        s_bad(sv, in->peer, in->peer_len, &m, cmd_known, err, why);
        return;
    }
    switch (m.cmd) {
    case JURY_CMD_HELLO:
        if (s && s->ds) {
            s_queue_error(sv, in->peer, in->peer_len, true, m.req, JURY_EPROTO,
                          "hello: this connection has a session already; send bye first");
            return;
        }
        s_hello(sv, in, &m);
        return;
    case JURY_CMD_HEARTBEAT:
        return;
    case JURY_CMD_BYE:
        /* The connection's record stays: its counts are not reset by saying bye. */
        if (s)
            s_session_stop(sv, s, "bye");
        return;
    case JURY_CMD_FETCH:
    case JURY_CMD_SUBMIT:
    case JURY_CMD_RELEASE:
    case JURY_CMD_REVIEW_FETCH:
    case JURY_CMD_REVIEW_SUBMIT:
        break;
    default:
        s_bad(sv, in->peer, in->peer_len, &m, cmd_known, JURY_EPROTO,
              "only a coordinator sends this command");
        return;
    }
    if (s && s->cut) {
        /* The session was cut when its access was withdrawn; the CURVE connection itself stays
         * up, so the refusal is ours to make, for as long as the peer talks. */
        s_queue_error(sv, in->peer, in->peer_len, true, m.req, JURY_EPERM,
                      "this connection's access was withdrawn; its session was ended");
        return;
    }
    if (!s || !s->ds) {
        s_queue_error(sv, in->peer, in->peer_len, true, m.req, JURY_ENOSESSION,
                      "no session on this connection: send hello first");
        return;
    }
    if (m.cmd == JURY_CMD_FETCH)
        s_fetch(sv, s, txn, &m);
    else if (m.cmd == JURY_CMD_SUBMIT)
        s_submit(sv, s, txn, &m);
    else if (m.cmd == JURY_CMD_REVIEW_FETCH)
        s_review_fetch(sv, s, txn, &m);
    else if (m.cmd == JURY_CMD_REVIEW_SUBMIT)
        s_review_submit(sv, s, txn, &m);
    else
        s_release(sv, s, txn, &m);
}

/* The category of a value for a tracked question, or -1 when it has none. */
static int s_category(const tracked_t *t, const msgpack_object *v)
{
    for (uint32_t c = 0; c < t->k; c++) {
        if (t->labels) {
            if (v->type == MSGPACK_OBJECT_STR && v->via.str.size == strlen(t->labels[c]) &&
                memcmp(v->via.str.ptr, t->labels[c], v->via.str.size) == 0)
                return (int)c;
        } else if ((v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                    (double)v->via.u64 == t->numeric[c]) ||
                   (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
                    (double)v->via.i64 == t->numeric[c])) {
            return (int)c;
        }
    }
    return -1;
}

/* The submitted answers of one record, gathered per tracked question. */
typedef struct {
    const dataset_t *ds; /* the dataset */
    uint32_t *vals;      /* ntracked x cap category indices */
    uint32_t *who;       /* ntracked x cap: the annotator of each of vals */
    size_t *m;           /* per tracked question: how many */
    size_t cap;          /* room per question */
} gather_t;

static jury_err s_gather(const jury_response_t *r, void *arg)
{
    gather_t *g = arg;
    if (r->status != JURY_RESPONSE_SUBMITTED)
        return JURY_OK;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object o;
    if (msgpack_unpack(r->values, r->values_len, NULL, &zone, &o) == MSGPACK_UNPACK_SUCCESS &&
        o.type == MSGPACK_OBJECT_MAP)
        for (size_t t = 0; t < g->ds->ntracked; t++) {
            const tracked_t *tq = &g->ds->tracked[t];
            for (uint32_t i = 0; i < o.via.map.size; i++) {
                const msgpack_object *key = &o.via.map.ptr[i].key;
                if (key->type != MSGPACK_OBJECT_STR || key->via.str.size != strlen(tq->name) ||
                    memcmp(key->via.str.ptr, tq->name, key->via.str.size) != 0)
                    continue;
                int c = s_category(tq, &o.via.map.ptr[i].val);
                if (c >= 0 && g->m[t] < g->cap) {
                    g->who[t * g->cap + g->m[t]] = r->annotator;
                    g->vals[t * g->cap + g->m[t]++] = (uint32_t)c;
                }
                break;
            }
        }
    msgpack_zone_destroy(&zone);
    return JURY_OK;
}

/* Gathers the submitted answers of op's record per tracked question; the caller frees g->vals and
 * g->m. */
static jury_err s_gather_record(jury_txn_t *txn, const op_t *op, gather_t *g)
{
    const dataset_t *ds = op->ds;
    *g = (gather_t){.ds = ds, .cap = op->state.submitted ? op->state.submitted : 1};
    g->vals = calloc(ds->ntracked * g->cap, sizeof *g->vals);
    g->who = calloc(ds->ntracked * g->cap, sizeof *g->who);
    g->m = calloc(ds->ntracked ? ds->ntracked : 1, sizeof *g->m);
    return g->vals && g->who && g->m ? jury_store_response_each(txn, op->rid, s_gather, g)
                                     : JURY_ENOMEM;
}

/*
 * A record just completed: adds its answers to each tracked question's
 * coincidence matrix and stores its own agreement, in the transaction that
 * completed it. Reads the state from the store every time, so that a retried
 * transaction (the map grew) never counts a record twice.
 */
static jury_err s_track_completion(jury_txn_t *txn, const op_t *op, const gather_t *g)
{
    const dataset_t *ds = op->ds;
    jury_err err = JURY_OK;
    double sum = 0;
    int counted = 0;
    for (size_t t = 0; t < ds->ntracked && err == JURY_OK; t++) {
        const tracked_t *tq = &ds->tracked[t];
        if (g->m[t] < 2)
            continue;
        jury_coincidence_t *c = jury_coincidence_new(tq->k);
        void *blob = malloc(jury_live_size(tq->k));
        const void *old;
        size_t oldlen;
        uint64_t records = 0;
        if (!c || !blob) {
            err = JURY_ENOMEM;
        } else if (jury_store_agreement_get(txn, ds->id, tq->name, &old, &oldlen) == JURY_OK) {
            jury_live_state_t st;
            if ((err = jury_live_decode(old, oldlen, &st)) == JURY_OK) {
                err = st.k == tq->k ? jury_coincidence_load(c, st.matrix) : JURY_ECORRUPT;
                records = st.records;
                jury_live_free(&st);
            }
        }
        if (err == JURY_OK)
            err = jury_coincidence_add_unit(c, &g->vals[t * g->cap], g->m[t]);
        if (err == JURY_OK) {
            jury_live_encode(blob, tq->k, tq->level, records + 1, tq->numeric,
                             jury_coincidence_matrix(c));
            err = jury_store_agreement_put(txn, ds->id, tq->name, blob, jury_live_size(tq->k));
        }
        jury_measure_t a = jury_record_agreement(&g->vals[t * g->cap], g->m[t]);
        if (a.ok)
            sum += a.value, counted++;
        jury_coincidence_destroy(&c);
        free(blob);
    }
    if (err == JURY_OK && counted)
        err = jury_store_record_agreement_put(txn, op->rid, sum / counted);
    return err;
}

/* A record contested at max_submitted waits for a reviewer (SPEC 9.7): JURY_REVIEW_CONTESTED joins
 * its flags in the review queue, unless a reviewer has decided it already. */
static jury_err s_queue_contested(jury_txn_t *txn, uint64_t rid)
{
    const void *blob;
    size_t len;
    unsigned why;
    jury_err err = jury_store_review_get(txn, rid, &blob, &len);
    if (err != JURY_ENOTFOUND)
        return err;
    if ((err = jury_store_review_queue_get(txn, rid, &why)) != JURY_OK)
        return err;
    return jury_store_review_queue_set(txn, rid, why | JURY_REVIEW_CONTESTED);
}

/*
 * A record reached its target. With dynamic overlap it is done only when its agreement on the
 * until question reaches the threshold: otherwise its target rises by one (it is pending again,
 * op->reopened), or, at max_submitted, it is completed and marked contested. A completed record's
 * answers join the live agreement (s_track_completion) once, when it is done for good.
 */
/*
 * The posterior rule of dynamic overlap (settings.h, jury_settings_until_confidence): whether the
 * one-coin Dawid-Skene posterior of the most likely answer to tracked question u, from the
 * record's answers g, reaches the confidence asked. Each annotator counts with their gold accuracy
 * on the question, read in this transaction, once they have JURY_CONSOLIDATE_GOLD_MIN gold
 * answers (Laplace-smoothed), else with the prior accuracy. No answer never meets the rule.
 */
static jury_err s_confident(jury_txn_t *txn, const dataset_t *ds, size_t u, const gather_t *g,
                            bool *met)
{
    const tracked_t *tq = &ds->tracked[u];
    size_t n = g->m[u];
    *met = false;
    if (n == 0)
        return JURY_OK;
    double *acc = malloc(n * sizeof *acc);
    if (!acc)
        return JURY_ENOMEM;
    double prior = jury_settings_until_prior_accuracy(ds->settings);
    jury_err err = JURY_OK;
    for (size_t j = 0; j < n && err == JURY_OK; j++) {
        uint64_t answered, right;
        err = jury_store_gold_get(txn, ds->id, g->who[u * g->cap + j], tq->name, &answered, &right);
        acc[j] = answered >= JURY_CONSOLIDATE_GOLD_MIN
                     ? ((double)right + 1.0) / ((double)answered + 2.0)
                     : prior;
    }
    if (err == JURY_OK)
        *met = jury_posterior_confidence(&g->vals[u * g->cap], acc, n, tq->k, NULL) >=
               jury_settings_until_confidence(ds->settings);
    free(acc);
    return err;
}

static jury_err s_on_target(jury_txn_t *txn, op_t *op)
{
    const dataset_t *ds = op->ds;
    if (ds->ntracked == 0)
        return JURY_OK;
    gather_t g;
    jury_err err = s_gather_record(txn, op, &g);
    if (err == JURY_OK && ds->until >= 0) {
        size_t u = (size_t)ds->until;
        bool met;
        if (jury_settings_until_confidence(ds->settings) > 0) {
            err = s_confident(txn, ds, u, &g, &met);
        } else {
            jury_measure_t a = jury_record_agreement(&g.vals[u * g.cap], g.m[u]);
            /* Fewer than two answers to the question (it is optional) never meet the rule. */
            met = a.ok && a.value >= ds->until_agreement;
        }
        if (err == JURY_OK && !met) {
            bool more = op->state.target < ds->max_submitted;
            err = jury_store_record_set_target(txn, op->rid, op->state.target + (more ? 1 : 0),
                                               !more, &op->state);
            op->reopened = more;
            if (err == JURY_OK && !more)
                err = s_queue_contested(txn, op->rid);
        }
    }
    if (err == JURY_OK && !op->reopened)
        err = s_track_completion(txn, op, &g);
    free(g.vals);
    free(g.who);
    free(g.m);
    return err;
}

/* Whether two answers are the same for a question of type t: multi-label and span answers are
 * sets (any order), the others compare as they are (s_obj_equal). */
static bool s_same_answer(jury_question_type t, const msgpack_object *a, const msgpack_object *b)
{
    if ((t != JURY_QUESTION_MULTI_LABEL_SELECTION && t != JURY_QUESTION_SPAN) ||
        a->type != MSGPACK_OBJECT_ARRAY || b->type != MSGPACK_OBJECT_ARRAY)
        return s_obj_equal(a, b);
    if (a->via.array.size != b->via.array.size)
        return false;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        bool found = false;
        for (uint32_t j = 0; j < b->via.array.size && !found; j++)
            found = s_obj_equal(&a->via.array.ptr[i], &b->via.array.ptr[j]);
        if (!found)
            return false;
    }
    return true;
}

/*
 * A submitted answer to a gold record: each question the record knows the answer to is scored,
 * right or wrong (unanswered is wrong), into the annotator's gold counts. When the dataset pauses
 * annotators below an accuracy and this one, after enough gold answers to a question, is below it,
 * it is paused on the dataset in this same transaction (the access check then cuts its session).
 */
static jury_err s_score_gold(server_t *sv, jury_txn_t *txn, op_t *op)
{
    const dataset_t *ds = op->ds;
    const void *payload;
    size_t len;
    jury_err err = jury_store_record_get(txn, op->rid, &payload, &len, NULL);
    if (err != JURY_OK)
        return err;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_object rec, ans;
    const msgpack_object *gold = NULL;
    if (msgpack_unpack(payload, len, NULL, &zone, &rec) != MSGPACK_UNPACK_SUCCESS ||
        rec.type != MSGPACK_OBJECT_MAP ||
        msgpack_unpack(sv->values.data + op->off, op->len, NULL, &zone, &ans) !=
            MSGPACK_UNPACK_SUCCESS ||
        ans.type != MSGPACK_OBJECT_MAP) {
        msgpack_zone_destroy(&zone);
        return JURY_ECORRUPT;
    }
    for (uint32_t i = 0; i < rec.via.map.size; i++)
        if (rec.via.map.ptr[i].key.via.str.size == 4 &&
            memcmp(rec.via.map.ptr[i].key.via.str.ptr, "gold", 4) == 0)
            gold = &rec.via.map.ptr[i].val;
    double bar = jury_settings_pause_accuracy(ds->settings);
    uint32_t after = jury_settings_pause_after(ds->settings);
    char reason[300] = "";
    for (uint32_t g = 0;
         gold && gold->type == MSGPACK_OBJECT_MAP && g < gold->via.map.size && err == JURY_OK;
         g++) {
        const msgpack_object *q = &gold->via.map.ptr[g].key;
        char name[JURY_STORE_NAME_MAX + 1];
        if (q->type != MSGPACK_OBJECT_STR || q->via.str.size > JURY_STORE_NAME_MAX)
            continue;
        snprintf(name, sizeof name, "%.*s", (int)q->via.str.size, q->via.str.ptr);
        int qi = jury_settings_question_index(ds->settings, name);
        if (qi < 0)
            continue;
        bool right = false;
        for (uint32_t i = 0; i < ans.via.map.size; i++)
            if (s_obj_equal(&ans.via.map.ptr[i].key, q))
                right = s_same_answer(jury_settings_question_type(ds->settings, (size_t)qi),
                                      &gold->via.map.ptr[g].val, &ans.via.map.ptr[i].val);
        uint64_t answered, correct;
        err = jury_store_gold_add(txn, ds->id, op->annotator, name, right, &answered, &correct);
        if (err == JURY_OK && bar > 0 && answered >= after && !*reason &&
            (double)correct < bar * (double)answered)
            snprintf(reason, sizeof reason,
                     "gold accuracy on %s is %.2f (%llu of %llu right), below the %.2f this "
                     "dataset asks",
                     name, (double)correct / (double)answered, (unsigned long long)correct,
                     (unsigned long long)answered, bar);
    }
    msgpack_zone_destroy(&zone);
    if (err == JURY_OK && *reason &&
        jury_store_pause_get(txn, ds->id, op->annotator, NULL, NULL, NULL) == JURY_ENOTFOUND) {
        err = jury_store_pause_set(txn, ds->id, op->annotator, reason, sv->wall);
        op->paused = err == JURY_OK;
    }
    return err;
}

/*
 * Writes a reviewer's decision (op->review) in the turn's transaction: the review itself, the
 * record out of the review queue, and the consolidation decision the review makes
 * (jury_review_decision), which carries over the agreement of the decision it replaces.
 */
static jury_err s_write_review(server_t *sv, jury_txn_t *txn, const op_t *op)
{
    const void *blob = sv->values.data + op->off;
    const char *name = sv->values.data + op->text_off;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_sbuffer dec;
    msgpack_sbuffer_init(&dec);
    jury_review_t r;
    jury_record_state_t st;
    jury_decision_t old;
    const void *oldblob;
    size_t oldlen;
    const msgpack_object *agreement = NULL;
    jury_err err = jury_review_decode(blob, op->len, &zone, &r);
    if (err == JURY_OK)
        err = jury_store_record_get(txn, op->rid, NULL, NULL, &st);
    if (err == JURY_OK) {
        jury_err derr = jury_store_decision_get(txn, op->rid, &oldblob, &oldlen);
        /* An old decision that does not decode has no agreement to give: it is replaced. */
        if (derr == JURY_OK && jury_decision_decode(oldblob, oldlen, &zone, &old) == JURY_OK)
            agreement = &old.agreement;
        else if (derr != JURY_OK && derr != JURY_ENOTFOUND)
            err = derr;
    }
    /* Made before anything is written: the old decision is borrowed from the map. An agreement
     * it cannot carry is dropped rather than failing every response of the turn. */
    if (err == JURY_OK &&
        (err = jury_review_decision(&dec, &r, name, st.submitted, agreement)) == JURY_EINVAL &&
        agreement) {
        msgpack_sbuffer_clear(&dec);
        err = jury_review_decision(&dec, &r, name, st.submitted, NULL);
    }
    if (err == JURY_OK)
        err = jury_store_review_put(txn, op->rid, blob, op->len);
    if (err == JURY_OK)
        err = jury_store_review_queue_set(txn, op->rid, 0);
    if (err == JURY_OK)
        err = jury_store_decision_put(txn, op->rid, dec.data, dec.size);
    msgpack_sbuffer_destroy(&dec);
    msgpack_zone_destroy(&zone);
    return err;
}

static jury_err s_write_body(jury_txn_t *txn, void *arg)
{
    server_t *sv = arg;
    for (size_t i = 0; i < sv->nops; i++) {
        op_t *op = &sv->ops[i];
        if (op->review) {
            jury_err err = s_write_review(sv, txn, op);
            if (err != JURY_OK)
                return err;
            continue;
        }
        jury_err err = jury_store_response_put(txn, op->rid, op->annotator, op->status,
                                               sv->values.data + op->off, op->len, sv->wall,
                                               op->max_discards, &op->state);
        op->reopened = op->paused = false; /* a retried body decides again */
        if (err != JURY_OK)
            return err;
        if (op->status == JURY_RESPONSE_SUBMITTED && op->state.gold &&
            (err = s_score_gold(sv, txn, op)) != JURY_OK)
            return err;
        /* This response brought the record to its target: done, or (dynamic overlap) one more. */
        if (op->status == JURY_RESPONSE_SUBMITTED && op->state.status == JURY_RECORD_COMPLETED &&
            op->state.submitted == op->state.target && (err = s_on_target(txn, op)) != JURY_OK)
            return err;
    }
    return JURY_OK;
}

/*
 * CURVE: reads who sent a message from the properties the ZAP handler gave its connection
 * (User-Id: the annotator; KEY_PROPERTY: the key in Z85). False when they are missing, which
 * only a connection the handler never admitted could produce: such messages are dropped.
 */
static bool s_sender(inmsg_t *m)
{
    const char *user = zmq_msg_gets(&m->body, "User-Id");
    const char *key = zmq_msg_gets(&m->body, KEY_PROPERTY);
    if (!user || !*user || strlen(user) > JURY_PROTO_NAME_MAX || !key ||
        !jury_key_from_z85(key, m->key))
        return false;
    snprintf(m->user, sizeof m->user, "%s", user);
    return true;
}

/*
 * After the commit: op's gold answers paused its annotator on the dataset. Its sessions there
 * are cut at once (leases released, goodbye EPERM with the reason), rather than at the next
 * access check, and the pause is audited.
 */
static void s_session_cut(server_t *sv, session_t *s, const char *why);

static void s_paused_now(server_t *sv, const op_t *op)
{
    char why[700] = "paused on the dataset for its gold answers";
    jury_txn_t *txn;
    if (jury_store_read(sv->store, &txn) == JURY_OK) {
        const char *reason;
        size_t len;
        if (jury_store_pause_get(txn, op->ds->id, op->annotator, NULL, &reason, &len) == JURY_OK)
            snprintf(why, sizeof why, "the annotator was paused on the dataset: %.*s",
                     (int)(len > 600 ? 600 : len), reason);
        jury_txn_abort(&txn);
    }
    const char *name = NULL;
    for (size_t i = 0; i < sv->nsessions; i++) {
        session_t *s = &sv->sessions[i];
        if (s->ds == op->ds && s->annotator == op->annotator) {
            name = s->name;
            s_audit(sv, "annotator.pause", "annotator", s->name, "dataset", op->ds->name, "reason",
                    why, "by", "serve", NULL);
            s_session_cut(sv, s, why);
        }
    }
    s_event(JURY_LOG_WARN, "annotator_paused", "dataset=%s annotator=%s reason=gold", op->ds->name,
            name ? name : "?");
}

/* Collects the annotators who submitted or discarded a record. */
typedef struct {
    uint32_t *ids; /* annotator ids (owned) */
    size_t n, cap; /* used and allocated */
} responders_t;

static jury_err s_responder(const jury_response_t *r, void *arg)
{
    responders_t *a = arg;
    if (r->status == JURY_RESPONSE_DRAFT)
        return JURY_OK;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 8;
        uint32_t *v = realloc(a->ids, ncap * sizeof *v);
        if (!v)
            return JURY_ENOMEM;
        a->ids = v;
        a->cap = ncap;
    }
    a->ids[a->n++] = r->annotator;
    return JURY_OK;
}

/*
 * After the commit: dynamic overlap raised op's record's target, so the schedule opens it again
 * for annotators who have not answered it. When that fails (memory, a store read) the dataset's
 * schedule is rebuilt from the store, which has it right.
 */
static void s_reopen(server_t *sv, const op_t *op)
{
    responders_t who = {0};
    jury_txn_t *txn;
    jury_err err = jury_store_read(sv->store, &txn);
    if (err == JURY_OK) {
        err = jury_store_response_each(txn, op->rid, s_responder, &who);
        jury_txn_abort(&txn);
    }
    uint64_t seq = op->rid & ((UINT64_C(1) << JURY_RECORD_SEQ_BITS) - 1);
    if (err == JURY_OK)
        err = jury_sched_reopen(op->ds->sched, seq, op->state.target, op->state.submitted, who.ids,
                                who.n);
    free(who.ids);
    if (err != JURY_OK) {
        s_event(JURY_LOG_WARN, "reopen_failed", "dataset=%s record=%llu error=\"%s\"", op->ds->name,
                (unsigned long long)op->rid, jury_strerror(err));
        s_dataset_reload(sv, op->ds);
        return;
    }
    s_event(JURY_LOG_INFO, "record_reopened", "dataset=%s record=%llu submitted=%u target=%u",
            op->ds->name, (unsigned long long)op->rid, op->state.submitted, op->state.target);
}

/* Receives what is waiting (at most TURN_MAX messages), answers it, commits, then replies. */
static void s_turn(server_t *sv)
{
    static inmsg_t in[TURN_MAX];
    size_t n = 0;
    while (n < TURN_MAX) {
        zmq_msg_t id;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, sv->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            break;
        }
        inmsg_t *m = &in[n];
        m->peer_len = zmq_msg_size(&id) < sizeof m->peer ? zmq_msg_size(&id) : sizeof m->peer;
        memcpy(m->peer, zmq_msg_data(&id), m->peer_len);
        zmq_msg_close(&id);
        zmq_msg_init(&m->body);
        m->extra_frames = false;
        m->user[0] = '\0';
        if (zmq_msg_recv(&m->body, sv->sock, 0) < 0) {
            zmq_msg_close(&m->body);
            continue;
        }
        while (zmq_msg_more(&m->body) || m->extra_frames) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            int r = zmq_msg_recv(&extra, sv->sock, 0);
            bool more = r >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            m->extra_frames = true;
            if (!more)
                break;
        }
        if (s_banned(sv, m->peer, m->peer_len) || (sv->curve && !s_sender(m))) {
            zmq_msg_close(&m->body);
            continue;
        }
        n++;
    }
    if (n == 0)
        return;
    sv->now = s_mono_ms();
    sv->wall = s_wall_ms();
    sv->nops = 0;
    sv->nreplies = 0;
    sv->values.size = 0;

    jury_txn_t *txn = NULL;
    jury_err err = jury_store_read(sv->store, &txn);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 8192);
    for (size_t i = 0; i < n; i++) {
        if (err == JURY_OK) {
            s_handle(sv, &in[i], txn, &zone);
        } else {
            /* Answer requests only (SPEC 5: heartbeats and byes never get a
             * reply), with their req when it can be read. */
            jury_msg_t m;
            memset(&m, 0, sizeof m);
            m.cmd = JURY_CMD_COUNT;
            char why[64];
            /* Whether or not it decodes, cmd and req are set when readable. */
            jury_err derr = jury_proto_decode(zmq_msg_data(&in[i].body), zmq_msg_size(&in[i].body),
                                              &zone, &m, why, sizeof why);
            (void)derr;
            if (m.cmd != JURY_CMD_HEARTBEAT && m.cmd != JURY_CMD_BYE)
                s_queue_error(sv, in[i].peer, in[i].peer_len, m.has_req, m.req, err,
                              "the coordinator cannot read its store");
        }
        msgpack_zone_clear(&zone);
        zmq_msg_close(&in[i].body);
    }
    msgpack_zone_destroy(&zone);
    jury_txn_abort(&txn);

    /* Group commit: every response of this turn in one transaction, before any acknowledgement. */
    jury_err werr = JURY_OK;
    if (sv->nops) {
        uint64_t t0 = jury_metrics_now_ns();
        werr = jury_store_write(sv->store, s_write_body, sv);
        jury_metrics_commit(sv->o->metrics, jury_metrics_now_ns() - t0, werr == JURY_OK);
        if (werr == JURY_OK && sv->store_full) {
            sv->store_full = false;
            s_event(JURY_LOG_INFO, "store_writable", "responses=%zu", sv->nops);
        }
    }
    if (werr != JURY_OK) {
        s_event(JURY_LOG_ERROR, "commit_failed", "responses=%zu error=\"%s\"", sv->nops,
                jury_strerror(werr));
        /* Until a later commit succeeds, writes are refused at once between tries, which come
         * further apart each time: a full disk must not cost a schedule rebuild every turn. */
        sv->write_backoff = sv->store_full ? sv->write_backoff * 2 : WRITE_BACKOFF_MIN_MS;
        if (sv->write_backoff > WRITE_BACKOFF_MAX_MS)
            sv->write_backoff = WRITE_BACKOFF_MAX_MS;
        sv->write_retry_at = sv->now + sv->write_backoff;
        if (!sv->store_full)
            s_event(JURY_LOG_ERROR, "store_full", "error=\"%s\" retry_ms=%lld", jury_strerror(werr),
                    (long long)sv->write_backoff);
        sv->store_full = true;
        /* Reviews touch no schedule: only datasets with responses are rebuilt. */
        for (dataset_t *d = sv->datasets; d; d = d->next)
            for (size_t i = 0; i < sv->nops; i++)
                if (sv->ops[i].ds == d && !sv->ops[i].review) {
                    s_dataset_reload(sv, d);
                    break;
                }
    } else {
        for (size_t i = 0; i < sv->nops; i++) {
            op_t *op = &sv->ops[i];
            if (op->review) {
                const char *name = sv->values.data + op->text_off;
                const char *record = name + strlen(name) + 1;
                char q[300];
                s_event(JURY_LOG_INFO, "reviewed", "annotator=%s dataset=%s record=%s accept=%s",
                        name, op->ds->name, s_q(q, sizeof q, record, strlen(record)),
                        op->accept ? "true" : "false");
                continue;
            }
            jury_metrics_responses(op->ds->metrics, op->status, 1);
            if (op->paused)
                s_paused_now(sv, op);
            if (op->reopened)
                s_reopen(sv, op);
            else if (op->state.status == JURY_RECORD_COMPLETED &&
                     op->status == JURY_RESPONSE_SUBMITTED &&
                     op->state.submitted == op->state.target)
                s_event(JURY_LOG_INFO, "record_completed",
                        "dataset=%s record=%llu submitted=%u contested=%s", op->ds->name,
                        (unsigned long long)op->rid, op->state.submitted,
                        op->state.contested ? "true" : "false");
            else if (op->state.status == JURY_RECORD_DISCARDED &&
                     op->status == JURY_RESPONSE_DISCARDED)
                s_event(JURY_LOG_INFO, "record_set_aside", "dataset=%s record=%llu discards=%u",
                        op->ds->name, (unsigned long long)op->rid, op->state.discarded);
        }
    }
    /* Empty the slots this turn used: cheaper than clearing the whole index. */
    for (size_t i = 0; i < sv->nops; i++)
        sv->op_index[sv->ops[i].slot] = 0;
    for (size_t i = 0; i < sv->nreplies; i++) {
        reply_t *r = &sv->replies[i];
        if (werr != JURY_OK && r->is_submit) {
            msgpack_sbuffer buf;
            msgpack_sbuffer_init(&buf);
            if (jury_proto_encode_error(&buf, r->has_req, r->req, jury_errname(werr),
                                        "the responses could not be stored; nothing was "
                                        "stored, send them again") == JURY_OK)
                s_send_now(sv, r->peer, r->peer_len, buf.data, buf.size);
            msgpack_sbuffer_destroy(&buf);
        } else {
            s_send_now(sv, r->peer, r->peer_len, r->data, r->len);
        }
        free(r->data);
    }
    sv->nreplies = 0;
}

/* ---- timers ----------------------------------------------------------------- */

static void s_on_expired(uint32_t annotator, uint64_t seq, void *arg)
{
    dataset_t *ds = arg;
    s_event(JURY_LOG_INFO, "lease_expired", "dataset=%s annotator_id=%u record_seq=%llu", ds->name,
            annotator, (unsigned long long)seq);
}

static void s_on_review_expired(const dataset_t *ds, const rlease_t *l)
{
    s_event(JURY_LOG_INFO, "review_lease_expired", "dataset=%s annotator_id=%u record=%llu",
            ds->name, l->annotator, (unsigned long long)l->rid);
}

/*
 * Cuts a session whose annotator lost access to its dataset: releases all the annotator's leases
 * there at once, review leases too (the records go back to pending), says goodbye EPERM, and keeps
 * the connection marked, so that its later requests get EPERM. Logged and audited.
 */
static void s_session_cut(server_t *sv, session_t *s, const char *why)
{
    size_t released = jury_sched_release_annotator(s->ds->sched, s->annotator);
    s_rlease_sweep(s->ds, s->annotator, false, sv->now, NULL);
    char hex[80], q[300], reason[300], n[32];
    snprintf(reason, sizeof reason, "access withdrawn: %s", why);
    s_goodbye(sv, s->peer, s->peer_len, JURY_EPERM, reason);
    s_hex(hex, sizeof hex, s->peer, s->peer_len);
    s_event(JURY_LOG_WARN, "session_cut", "peer=%s annotator=%s dataset=%s reason=%s released=%zu",
            hex, s->name, s->ds->name, s_q(q, sizeof q, why, strlen(why)), released);
    snprintf(n, sizeof n, "%zu", released);
    s_audit(sv, "session.cut", "annotator", s->name, "dataset", s->ds->name, "reason", why,
            "released", n, "by", "serve", NULL);
    s->ds = NULL;
    s->cut = true;
}

/*
 * The store's access version changed: checks every session's annotator again (still there,
 * enabled, with the key the connection authenticated with, and granted the dataset unless an
 * admin) and cuts those no longer allowed. Returns false when the store could not be read, so
 * that the check runs again on the next poll rather than cutting on a read error.
 */
static bool s_recheck_access(server_t *sv, jury_txn_t *txn)
{
    for (size_t i = 0; i < sv->nsessions; i++) {
        session_t *s = &sv->sessions[i];
        if (!s->ds)
            continue;
        /* A pause applies in every mode. */
        const char *reason;
        size_t len;
        jury_err perr = jury_store_pause_get(txn, s->ds->id, s->annotator, NULL, &reason, &len);
        if (perr == JURY_OK) {
            char why[700];
            snprintf(why, sizeof why, "the annotator was paused on the dataset: %.*s",
                     (int)(len > 600 ? 600 : len), reason);
            s_session_cut(sv, s, why);
            continue;
        }
        if (perr != JURY_ENOTFOUND)
            return false;
        /* Plaintext trusts names: only sessions a web token opened are checked again. */
        if (!sv->curve && !s->via_token)
            continue;
        jury_annotator_t a, k;
        bool granted = false;
        const char *why = NULL;
        jury_err err = jury_store_annotator_get(txn, s->annotator, &a);
        jury_err kerr = sv->curve ? jury_store_annotator_get(txn, s->keyholder, &k) : JURY_OK;
        if ((err != JURY_OK && err != JURY_ENOTFOUND) ||
            (kerr != JURY_OK && kerr != JURY_ENOTFOUND))
            return false;
        if (err == JURY_ENOTFOUND)
            why = "the annotator was removed";
        else if (a.disabled)
            why = "the annotator was disabled";
        else if (sv->curve && kerr == JURY_ENOTFOUND)
            why = s->via_token ? "the gateway was removed" : "the annotator was removed";
        else if (sv->curve && s->via_token && k.disabled)
            why = "the gateway was disabled";
        else if (sv->curve &&
                 (!k.has_key || sodium_memcmp(k.public_key, s->key, sizeof s->key) != 0))
            why = s->via_token ? "the gateway's key was replaced"
                               : "the annotator's key was replaced";
        else if (sv->curve && s->via_token && k.role != JURY_ROLE_GATEWAY)
            why = "the key is no longer a gateway's";
        else if (s->via_token && (!a.has_web_token || sodium_memcmp(a.web_token_hash, s->token_hash,
                                                                    sizeof s->token_hash) != 0))
            why = "the annotator's web token was revoked or replaced";
        else if (sv->curve && a.role != JURY_ROLE_ADMIN) {
            if ((err = jury_store_granted(txn, s->annotator, s->ds->id, &granted)) != JURY_OK)
                return false;
            if (!granted)
                why = "the dataset is no longer granted to the annotator";
        }
        if (why)
            s_session_cut(sv, s, why);
    }
    return true;
}

/* Sessions open (connections that said hello and have not left). */
static size_t s_live_sessions(const server_t *sv)
{
    size_t n = 0;
    for (size_t i = 0; i < sv->nsessions; i++)
        n += sv->sessions[i].ds != NULL;
    return n;
}

/* Publishes the gauges of the metrics registry: connected workers, and per loaded dataset its
 * leases, its records by status and the live alpha of each tracked question. */
static void s_metrics_snapshot(server_t *sv)
{
    jury_metrics_t *m = sv->o->metrics;
    jury_txn_t *txn;
    if (jury_store_read(sv->store, &txn) != JURY_OK)
        return; /* the last snapshot stays */
    jury_metrics_snapshot_begin(m);
    jury_metrics_snapshot_workers(m, s_live_sessions(sv));
    for (dataset_t *d = sv->datasets; d; d = d->next) {
        jury_counts_t c;
        if (jury_store_dataset_counts(txn, d->id, &c) != JURY_OK)
            continue;
        jury_metrics_snapshot_dataset(m, d->name, jury_sched_leases(d->sched), &c);
        for (size_t q = 0; q < d->ntracked; q++) {
            const void *blob;
            size_t len;
            jury_live_state_t st;
            memset(&st, 0, sizeof st);
            if (jury_store_agreement_get(txn, d->id, d->tracked[q].name, &blob, &len) != JURY_OK ||
                jury_live_decode(blob, len, &st) != JURY_OK) {
                jury_live_free(&st);
                continue;
            }
            jury_measure_t a = jury_live_alpha(&st);
            if (a.ok)
                jury_metrics_snapshot_alpha(m, d->name, d->tracked[q].name, a.value);
            jury_live_free(&st);
        }
    }
    jury_txn_abort(&txn);
    jury_metrics_snapshot_publish(m);
}

/* Room kept free in the store's map. LMDB can grow a map only while no transaction is open, and
 * small writes made inside a turn's read transaction (a plaintext hello recording its annotator)
 * could not: the map is grown ahead, between turns, when less than this is left. */
#define MAP_HEADROOM ((size_t)64 << 20)

static void s_tick(server_t *sv, bool poll_records, bool write_status)
{
    sv->now = s_mono_ms();
    sv->wall = s_wall_ms();
    if (write_status)
        if (jury_store_reserve(sv->store, MAP_HEADROOM) != JURY_OK) {
            /* Nothing to do: a write that does not fit fails with EFULL and says so. */
        }
    int64_t dead_after = 3 * (int64_t)sv->o->heartbeat_ms;
    for (size_t i = 0; i < sv->nsessions;) {
        session_t *s = &sv->sessions[i];
        if (sv->now - s->last_heard > dead_after) {
            s_session_end(sv, s, "heartbeat timeout");
            continue; /* the last session moved into slot i */
        }
        if (s->ds && sv->now - s->last_sent >= sv->o->heartbeat_ms) {
            msgpack_sbuffer buf;
            msgpack_sbuffer_init(&buf);
            if (jury_proto_encode_heartbeat(&buf) == JURY_OK)
                s_send_now(sv, s->peer, s->peer_len, buf.data, buf.size);
            msgpack_sbuffer_destroy(&buf);
        }
        i++;
    }
    for (dataset_t *d = sv->datasets; d; d = d->next) {
        jury_sched_expire(d->sched, sv->now, s_on_expired, d);
        s_rlease_sweep(d, 0, true, sv->now, s_on_review_expired);
    }
    s_audit_flush(sv);

    if (poll_records) {
        /* Records imported while we run: pick up ids above the last one we know. */
        jury_txn_t *txn;
        if (jury_store_read(sv->store, &txn) == JURY_OK) {
            for (dataset_t **dp = &sv->datasets; *dp;) {
                dataset_t *d = *dp;
                size_t added = 0;
                jury_dataset_t info;
                if (jury_store_dataset_get(txn, d->name, &info) != JURY_OK || info.id != d->id) {
                    /* Deleted under us (`jury dataset delete`): its sessions end. */
                    for (size_t i = 0; i < sv->nsessions;) {
                        session_t *ss = &sv->sessions[i];
                        if (ss->ds != d) {
                            i++;
                            continue;
                        }
                        s_goodbye(sv, ss->peer, ss->peer_len, JURY_ENOTFOUND,
                                  "the dataset was deleted");
                        ss->ds = NULL; /* its leases go with the dataset */
                        s_session_end(sv, ss, "dataset deleted");
                    }
                    s_event(JURY_LOG_INFO, "dataset_deleted", "dataset=%s", d->name);
                    *dp = d->next;
                    s_dataset_free(d);
                    continue;
                }
                dp = &d->next;
                if (s_load_records(sv, d, txn, &added) == JURY_OK && added)
                    s_event(JURY_LOG_INFO, "records_added", "dataset=%s records=%zu", d->name,
                            added);
            }
            /* Access changes (`jury annotator disable|rotate|revoke ...`): one read tells. */
            uint64_t version;
            if (jury_store_access_version(txn, &version) == JURY_OK &&
                (!sv->access_known || version != sv->access_version) && s_recheck_access(sv, txn)) {
                sv->access_version = version;
                sv->access_known = true;
            }
            jury_txn_abort(&txn);
        }
    }
    if (write_status && sv->o->metrics)
        s_metrics_snapshot(sv);
    if (write_status) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", sv->status_path);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f,
                    "{\"pid\": %ld, \"bind\": \"%s\", \"started_ms\": %lld, \"updated_ms\": %lld, "
                    "\"sessions\": %zu, \"datasets\": {",
                    (long)getpid(), sv->o->bind, (long long)sv->started_wall, (long long)sv->wall,
                    s_live_sessions(sv));
            int k = 0;
            for (dataset_t *d = sv->datasets; d; d = d->next) {
                fprintf(f, "%s\"%s\": {\"leases\": %zu, \"open\": %zu, \"annotators\": [",
                        k++ ? ", " : "", d->name, jury_sched_leases(d->sched),
                        jury_sched_open(d->sched));
                int a = 0;
                for (size_t i = 0; i < sv->nsessions; i++)
                    if (sv->sessions[i].ds == d)
                        fprintf(f, "%s\"%s\"", a++ ? ", " : "", sv->sessions[i].name);
                fprintf(f, "]}");
            }
            fprintf(f, "}}\n");
            if (fclose(f) == 0)
                rename(tmp, sv->status_path);
        }
    }
}

/* ---- authentication (ZAP, ZeroMQ RFC 27) ------------------------------------ */

/* Frames of a ZAP request kept (version, id, domain, address, routing id, mechanism, key). */
#define ZAP_FRAMES 7

/* Sends one ZAP reply: version, request id, status code and text, user id, metadata. */
static void s_zap_reply(server_t *sv, zmq_msg_t *reqid, const char *code, const char *text,
                        const char *user, const void *meta, size_t metalen)
{
    if (zmq_send(sv->zap, "1.0", 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(sv->zap, reqid ? zmq_msg_data(reqid) : "", reqid ? zmq_msg_size(reqid) : 0,
                 ZMQ_SNDMORE) < 0 ||
        zmq_send(sv->zap, code, strlen(code), ZMQ_SNDMORE) < 0 ||
        zmq_send(sv->zap, text, strlen(text), ZMQ_SNDMORE) < 0 ||
        zmq_send(sv->zap, user, strlen(user), ZMQ_SNDMORE) < 0 ||
        zmq_send(sv->zap, meta, metalen, 0) < 0)
        s_event(JURY_LOG_ERROR, "zap_reply_failed", "error=\"%s\"", zmq_strerror(errno));
}

/* Whether frame f holds exactly the bytes of the C string s. */
static bool s_frame_is(zmq_msg_t *f, const char *s)
{
    return zmq_msg_size(f) == strlen(s) && memcmp(zmq_msg_data(f), s, strlen(s)) == 0;
}

/*
 * Answers one ZAP request: a CURVE key registered to an enabled annotator gets 200 with the
 * annotator's name as User-Id and the key (Z85) as the KEY_PROPERTY metadata property, which
 * libzmq then attaches to every message of that connection. Anything else gets 400 (500 when the
 * store cannot be read) and an audit line naming the first 8 characters of the key and the
 * peer's address; the peer's connection is closed by libzmq and it learns nothing more.
 */
static void s_zap_answer(server_t *sv, zmq_msg_t *f, size_t nf)
{
    char ip[64] = "", z85[JURY_KEY_Z85 + 1] = "", first8[9] = "",
         name[JURY_PROTO_NAME_MAX + 1] = "";
    const char *why = NULL, *code = "400";
    if (nf >= 4)
        snprintf(ip, sizeof ip, "%.*s", (int)zmq_msg_size(&f[3]),
                 (const char *)zmq_msg_data(&f[3]));
    if (nf < 6 || !s_frame_is(&f[0], "1.0")) {
        why = "malformed ZAP request";
    } else if (!s_frame_is(&f[5], "CURVE") || nf < 7 || zmq_msg_size(&f[6]) != JURY_KEY_BYTES) {
        why = "not a CURVE key";
    } else {
        jury_key_to_z85(zmq_msg_data(&f[6]), z85);
        memcpy(first8, z85, 8);
        jury_txn_t *txn;
        jury_annotator_t a;
        uint32_t id;
        jury_err err = jury_store_read(sv->store, &txn);
        if (err == JURY_OK) {
            if ((err = jury_store_annotator_find_key(txn, zmq_msg_data(&f[6]), &id)) == JURY_OK &&
                (err = jury_store_annotator_get(txn, id, &a)) == JURY_OK) {
                snprintf(name, sizeof name, "%s", a.name);
                if (a.disabled)
                    why = "annotator disabled";
            }
            jury_txn_abort(&txn);
        }
        if (err == JURY_ENOTFOUND) {
            why = "unknown key";
        } else if (err != JURY_OK) {
            why = "the store cannot be read";
            code = "500";
        }
    }
    if (!why) {
        unsigned char meta[1 + sizeof KEY_PROPERTY - 1 + 4 + JURY_KEY_Z85];
        size_t o = 0, kl = sizeof KEY_PROPERTY - 1;
        meta[o++] = (unsigned char)kl;
        memcpy(meta + o, KEY_PROPERTY, kl);
        o += kl;
        meta[o++] = 0, meta[o++] = 0, meta[o++] = 0, meta[o++] = JURY_KEY_Z85;
        memcpy(meta + o, z85, JURY_KEY_Z85);
        o += JURY_KEY_Z85;
        s_zap_reply(sv, &f[1], "200", "OK", name, meta, o);
        s_event(JURY_LOG_DEBUG, "auth_ok", "annotator=%s key=%s ip=%s", name, first8, ip);
        return;
    }
    s_zap_reply(sv, nf >= 2 ? &f[1] : NULL, code, why, "", "", 0);
    jury_metrics_auth_failure(
        sv->o->metrics, code[0] == '5'                           ? JURY_METRICS_AUTH_STORE_ERROR
                        : strcmp(why, "unknown key") == 0        ? JURY_METRICS_AUTH_UNKNOWN_KEY
                        : strcmp(why, "annotator disabled") == 0 ? JURY_METRICS_AUTH_DISABLED
                                                                 : JURY_METRICS_AUTH_MALFORMED);
    s_event(JURY_LOG_WARN, "auth_failed", "key=%s ip=%s reason=\"%s\"%s%s", first8, ip, why,
            name[0] ? " annotator=" : "", name);
    if (name[0])
        s_audit(sv, "auth.fail", "key", first8, "ip", ip, "reason", why, "annotator", name, "by",
                "serve", NULL);
    else
        s_audit(sv, "auth.fail", "key", first8, "ip", ip, "reason", why, "by", "serve", NULL);
}

/* Answers every ZAP request waiting on the handler's socket. */
static void s_zap(server_t *sv)
{
    for (;;) {
        zmq_msg_t f[ZAP_FRAMES];
        size_t nf = 0, total = 0;
        bool more = true;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            /* The first frame tells whether a request waits; the rest of it is there already. */
            if (zmq_msg_recv(&part, sv->zap, total == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&part);
                break;
            }
            more = zmq_msg_more(&part);
            total++;
            if (nf < ZAP_FRAMES) {
                zmq_msg_init(&f[nf]);
                zmq_msg_move(&f[nf++], &part);
            }
            zmq_msg_close(&part);
        }
        if (total == 0)
            return;
        sv->now = s_mono_ms();
        s_zap_answer(sv, f, total > ZAP_FRAMES ? 0 : nf);
        for (size_t i = 0; i < nf; i++)
            zmq_msg_close(&f[i]);
    }
}

/* ---- run -------------------------------------------------------------------- */

bool jury_serve_endpoint_is_local(const char *endpoint)
{
    if (!endpoint)
        return false;
    if ((strncmp(endpoint, "ipc://", 6) == 0 && endpoint[6]) ||
        (strncmp(endpoint, "inproc://", 9) == 0 && endpoint[9]))
        return true;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    static const char *const hosts[] = {"127.0.0.1:", "[::1]:", "localhost:"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t n = strlen(hosts[i]);
        if (strncmp(endpoint + 6, hosts[i], n) != 0)
            continue;
        const char *port = endpoint + 6 + n;
        if (strcmp(port, "*") == 0)
            return true;
        size_t digits = strspn(port, "0123456789");
        return digits >= 1 && digits <= 5 && port[digits] == '\0';
    }
    return false;
}

/* Fills in the default of every limit left 0; keeps the rest within what the protocol allows. */
static void s_limits(jury_serve_opts_t *l)
{
    if (!l->max_message_bytes || l->max_message_bytes > JURY_PROTO_FRAME_MAX)
        l->max_message_bytes =
            l->max_message_bytes ? JURY_PROTO_FRAME_MAX : JURY_SERVE_MAX_MESSAGE_BYTES;
    if (!l->batch_max || l->batch_max > JURY_PROTO_BATCH_MAX)
        l->batch_max = JURY_PROTO_BATCH_MAX;
    if (!l->max_leases)
        l->max_leases = JURY_SERVE_MAX_LEASES;
    if (!l->max_response_bytes)
        l->max_response_bytes = JURY_SERVE_MAX_RESPONSE_BYTES;
    if (!l->max_rate)
        l->max_rate = JURY_SERVE_MAX_RATE;
    if (!l->burst)
        l->burst = JURY_SERVE_BURST;
    if (!l->abuse_max)
        l->abuse_max = JURY_SERVE_ABUSE_MAX;
    if (!l->abuse_window_ms)
        l->abuse_window_ms = JURY_SERVE_ABUSE_WINDOW_MS;
    if (!l->max_malformed)
        l->max_malformed = JURY_SERVE_MAX_MALFORMED;
}

jury_err jury_serve_run(jury_store_t *store, const jury_serve_opts_t *opts)
{
    s_level = opts->log_level;
    server_t *sv = calloc(1, sizeof *sv);
    if (!sv)
        return JURY_ENOMEM;
    sv->store = store;
    sv->o = opts;
    sv->lim = *opts;
    s_limits(&sv->lim);
    sv->slot_ms = sv->lim.abuse_window_ms / ABUSE_SLOTS ? sv->lim.abuse_window_ms / ABUSE_SLOTS : 1;
    sv->started_wall = s_wall_ms();
    crypto_shorthash_keygen(sv->peer_key);
    msgpack_sbuffer_init(&sv->values);
    snprintf(sv->status_path, sizeof sv->status_path, "%s/%s", jury_store_dir(store),
             JURY_SERVE_STATUS_FILE);
    jury_err err = JURY_OK;
    sv->curve = opts->secret_key != NULL;
    if (!sv->curve && !opts->insecure) {
        jury_log(JURY_LOG_ERROR, "no CURVE secret key, and plaintext was not asked for");
        err = JURY_EINVAL;
        goto done;
    }
    if (sv->curve && !zmq_has("curve")) {
        jury_log(JURY_LOG_ERROR, "this libzmq was built without CURVE security");
        err = JURY_EINVAL;
        goto done;
    }
    sv->zctx = zmq_ctx_new();
    sv->sock = sv->zctx ? zmq_socket(sv->zctx, ZMQ_ROUTER) : NULL;
    if (!sv->sock) {
        err = JURY_ENOMEM;
        goto done;
    }
    int one = 1, linger = 1000;
    /* Frames up to twice the limit are read and refused with ETOOBIG, so that the worker learns
     * why; ZeroMQ drops the connection of a larger one before it is read into memory. */
    int64_t maxmsg = (int64_t)(2 * sv->lim.max_message_bytes + CURVE_OVERHEAD);
    zmq_setsockopt(sv->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(sv->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(sv->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (strchr(opts->bind, '['))
        zmq_setsockopt(sv->sock, ZMQ_IPV6, &one, sizeof one);
    if (sv->curve) {
        /* The handler is bound before the socket listens and closed after it: libzmq admits
         * CURVE clients without asking when no handler is there. */
        int zero = 0;
        sv->zap = zmq_socket(sv->zctx, ZMQ_REP);
        if (!sv->zap) {
            err = JURY_ENOMEM;
            goto done;
        }
        zmq_setsockopt(sv->zap, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_bind(sv->zap, ZAP_ENDPOINT) != 0) {
            jury_log(JURY_LOG_ERROR, "cannot bind the ZAP handler: %s", zmq_strerror(errno));
            err = JURY_EINVAL;
            goto done;
        }
        /* libzmq copies the key; ours stays in the caller's guarded memory. */
        if (zmq_setsockopt(sv->sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(sv->sock, ZMQ_CURVE_SECRETKEY, opts->secret_key, JURY_KEY_BYTES) != 0 ||
            zmq_setsockopt(sv->sock, ZMQ_ZAP_DOMAIN, "jury", 4) != 0) {
            jury_log(JURY_LOG_ERROR, "cannot make the socket a CURVE server: %s",
                     zmq_strerror(errno));
            err = JURY_EINVAL;
            goto done;
        }
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
        zmq_setsockopt(sv->sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one);
#endif
    }
    /* libzmq takes a name in a bind endpoint for a network interface, not a host: "localhost"
     * is bound as the loopback address it means. */
    char bind[1024];
    if (strncmp(opts->bind, "tcp://localhost:", 16) == 0)
        snprintf(bind, sizeof bind, "tcp://127.0.0.1:%s", opts->bind + 16);
    else
        snprintf(bind, sizeof bind, "%s", opts->bind);
    if (zmq_bind(sv->sock, bind) != 0) {
        jury_log(JURY_LOG_ERROR, "cannot bind %s: %s", opts->bind, zmq_strerror(errno));
        err = JURY_EINVAL;
        goto done;
    }
    char pub[JURY_KEY_Z85 + 1] = "";
    if (opts->public_key)
        jury_key_to_z85(opts->public_key, pub);
    s_event(JURY_LOG_INFO, "listening", "bind=%s store=%s pid=%ld security=%s%s%s", opts->bind,
            jury_store_dir(store), (long)getpid(), sv->curve ? "curve" : "insecure",
            pub[0] ? " public_key=" : "", pub);
    int64_t last_tick = 0, last_poll = 0, last_status = 0;
    while (!*opts->stop) {
        int64_t now = s_mono_ms();
        long timeout = (long)(last_tick + TICK_MS - now);
        zmq_pollitem_t items[2] = {{.socket = sv->sock, .events = ZMQ_POLLIN},
                                   {.socket = sv->zap, .events = ZMQ_POLLIN}};
        int rc = zmq_poll(items, sv->curve ? 2 : 1, timeout > 0 ? timeout : 0);
        if (rc < 0 && errno != EINTR) {
            jury_log(JURY_LOG_ERROR, "zmq_poll: %s", zmq_strerror(errno));
            err = JURY_EIO;
            break;
        }
        if (*opts->stop)
            break;
        /* Handshakes first: a client admitted now may have its hello in this turn. */
        if (rc > 0 && sv->curve && (items[1].revents & ZMQ_POLLIN))
            s_zap(sv);
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            s_turn(sv);
        now = s_mono_ms();
        if (now - last_tick >= TICK_MS) {
            bool poll = now - last_poll >= POLL_RECORDS_MS, status = now - last_status >= STATUS_MS;
            s_tick(sv, poll, status);
            last_tick = now;
            if (poll)
                last_poll = now;
            if (status)
                last_status = now;
        }
    }
    /* Stopping: every committed response was acknowledged in its turn; tell the rest to go. */
    sv->now = s_mono_ms();
    while (sv->nsessions > 0) {
        session_t *s = &sv->sessions[sv->nsessions - 1];
        s_goodbye(sv, s->peer, s->peer_len, JURY_EBUSY, "the coordinator is shutting down");
        s_session_end(sv, s, "coordinator shutdown");
    }
    unlink(sv->status_path);
    s_event(JURY_LOG_INFO, "stopped", "pid=%ld", (long)getpid());
done:
    if (sv->sock)
        zmq_close(sv->sock);
    if (sv->zap)
        zmq_close(sv->zap);
    if (sv->zctx)
        zmq_ctx_term(sv->zctx);
    while (sv->datasets) {
        dataset_t *d = sv->datasets;
        sv->datasets = d->next;
        s_dataset_free(d);
    }
    free(sv->sessions);
    free(sv->peer_slots);
    msgpack_sbuffer_destroy(&sv->values);
    free(sv);
    return err;
}
