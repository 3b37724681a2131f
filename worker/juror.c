/* juror.c: libjuror: one annotator's session with a jury coordinator over one DEALER socket. */
#include "juror.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
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

#include "jury_jsonpack.h"
#include "jury_keys.h"
#include "jury_proto.h"
#include "jury_utf8.h"

#ifndef JUROR_VERSION
#define JUROR_VERSION "0.1.0"
#endif

/* Defaults of juror_opts_t. */
#define S_TIMEOUT_DEFAULT 30000
/* After juror_interrupt: the longest a call waits, ms (enough for a live coordinator's fsync). */
#define S_INTERRUPTED_WAIT  2000
#define S_HEARTBEAT_DEFAULT 1000
/* Reconnect backoff: 0.5 s doubling to 30 s, each delay jittered down to half. */
#define S_BACKOFF_MIN 500
#define S_BACKOFF_MAX 30000
/* Shortest wait for a welcome before the hello is tried again on a new socket. */
#define S_HELLO_WAIT_MIN 2000
/* A session that lived this long resets the backoff when it ends. */
#define S_STABLE_MS 10000
/* A submit unanswered this long (on a live session) is sent again: resubmits are safe. */
#define S_INFLIGHT_MS 10000
/* First delay before responses refused for a passing reason (EFULL, EBUSY...) are sent again. */
#define S_RESEND_MIN 1000
/* Bytes of responses packed into one submit frame, well under the 8 MiB frame limit. */
#define S_FRAME_BUDGET ((size_t)4 << 20)
/* A response's values sit at depth 4 of a submit frame (body, responses, response, values). */
#define S_VALUES_DEPTH (JURY_PROTO_DEPTH_MAX - 3)
/* Room for juror_error's message. */
#define S_ERROR_MAX 1400
/* Bytes of the CURVE keys a juror keeps: the coordinator's public key, ours, our secret key. */
#define S_CURVE_BYTES (3 * JURY_KEY_BYTES)
/* How often a hello in progress looks at the handshake's events. */
#define S_MONITOR_MS 100

/* Where the connection is. */
typedef enum {
    S_WAITING, /* no socket; the next attempt is due at `due` */
    S_HELLO,   /* hello sent on a fresh socket; the attempt gives up at `due` */
    S_UP,      /* the session is open */
    S_DEAD     /* refused for good (fatal): every call returns `fatal` */
} s_state;

/* A response kept until the coordinator acknowledges or refuses it. */
typedef struct {
    uint64_t id;         /* local id, so that juror_submit can follow it across resends */
    char *record;        /* record id (owned, NUL-terminated) */
    juror_status status; /* its status */
    char *values;        /* packed msgpack map (owned), or NULL: sent without values */
    size_t values_len;   /* bytes at values */
    uint64_t req;        /* req of the submit carrying it now; 0: to be sent */
    int64_t sent_at;     /* monotonic ms when it was last sent */
    uint64_t session;    /* session of the record's lease (reclaim when older than the current) */
    bool counts;         /* a first answer to a fetched record: adds to progress when stored */
} s_pending_t;

/* A record handed out by a fetch, and the session whose lease it came with. */
typedef struct {
    char *record;     /* record id (owned) */
    uint64_t session; /* juror session count at the fetch */
} s_fetched_t;

/* Most fetched records remembered; beyond it the oldest are forgotten (their responses then count
 * as given on the session that sends them, which only matters after a coordinator restart). */
#define S_FETCHED_MAX 4096

/* The blocking request in progress. */
typedef enum {
    S_CALL_NONE,
    S_CALL_FETCH,
    S_CALL_RELEASE,
    S_CALL_REVIEW_FETCH, /* juror_review_fetch */
    S_CALL_REVIEW_SUBMIT /* juror_review_submit */
} s_call_kind;

struct juror {
    char *endpoint;            /* coordinator endpoint (owned) */
    unsigned char *curve;      /* CURVE keys (S_CURVE_BYTES, sodium_malloc'd), NULL: plaintext */
    void *monitor;             /* PAIR socket receiving the socket's handshake events, or NULL */
    unsigned monitor_seq;      /* numbers the monitors' inproc endpoints */
    char *dataset;             /* dataset name (owned) */
    char *annotator;           /* annotator name (owned) */
    char *agent;               /* agent sent with hello (owned) */
    char *web_token;           /* gateway: the annotator's web token (sodium_malloc'd), else NULL */
    juror_progress_t progress; /* the last welcome's or batch's, plus submits acknowledged since */
    uint64_t sessions;         /* welcomes received: numbers the sessions */
    s_fetched_t *fetched;      /* records handed out and not answered yet, with their session */
    size_t nfetched, capfetched;        /* entries used and allocated */
    int timeout_ms;                     /* longest a call waits */
    volatile sig_atomic_t interrupted;  /* juror_interrupt was called (from a signal handler) */
    int waited_ms;                      /* what the last call could wait: timeout_ms or less */
    unsigned rng;                       /* rand_r state for the jitter */
    void *ctx;                          /* ZeroMQ context, one per juror */
    void *sock;                         /* the DEALER socket, NULL between attempts */
    s_state state;                      /* where the connection is */
    jury_err fatal;                     /* in S_DEAD: the error every call returns */
    int64_t due;                        /* S_WAITING: next attempt; S_HELLO: the attempt gives up */
    int attempts;                       /* reconnect attempts since the last stable session */
    int64_t up_since;                   /* monotonic ms the session opened */
    int64_t last_sent;                  /* monotonic ms of our last message */
    int64_t last_heard;                 /* monotonic ms of the coordinator's last message */
    uint64_t next_req;                  /* the next request id */
    uint64_t hello_req;                 /* req of the hello in S_HELLO */
    uint32_t heartbeat_ms;              /* heartbeat interval (the welcome's, once there is one) */
    uint32_t lease_seconds;             /* from the welcome */
    uint32_t batch_max;                 /* from the welcome */
    char *settings;                     /* the first welcome's settings as JSON (owned) */
    char role[JURY_PROTO_ROLE_MAX + 1]; /* the last welcome's role; "" when it had none */
    s_pending_t *pend;                  /* unacknowledged responses, in submission order (owned) */
    size_t npend, cappend;              /* entries used and allocated */
    uint64_t next_pend_id;              /* the next s_pending_t id */
    int64_t resend_at;                  /* when responses with req 0 may be sent again */
    int resend_delay;                   /* the next delay after a passing refusal */
    jury_err lost_err;                  /* first refusal nobody was told about, for juror_flush */
    char lost_reason[S_ERROR_MAX];      /* its reason */
    struct {
        s_call_kind kind;       /* what is being waited for */
        uint64_t req;           /* req of the request on this session; 0: to be sent */
        bool done;              /* the reply came */
        jury_err err;           /* its outcome */
        uint32_t n;             /* fetch, review_fetch: records wanted */
        const char *const *ids; /* release: ids (borrowed for the call) */
        size_t nids;            /* release: how many */
        char *json;             /* fetch, review_fetch: the records as JSON (owned until handed
                                   out) */
        size_t count;           /* fetch, review_fetch: how many */
        const char *record;     /* review_submit: the record id (borrowed for the call) */
        bool accept;            /* review_submit: accept or reject */
        char *values;           /* review_submit: packed values map (owned), NULL: none */
        size_t values_len;      /* review_submit: bytes at values */
        const char *note;       /* review_submit: note (borrowed), NULL or "": none */
    } call;
    struct {
        uint64_t id;           /* pending id juror_submit waits for; 0: none */
        bool done;             /* its result came */
        jury_err err;          /* the result */
        int64_t lease_expires; /* a draft's extended lease */
    } watch;
    char error[S_ERROR_MAX];        /* juror_error */
    char fatal_reason[S_ERROR_MAX]; /* in S_DEAD: what ended it, for every later call's error */
};

/* ---- small helpers ----------------------------------------------------------------------- */

static int64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_seterr(juror_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_seterr(juror_t *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof j->error, fmt, ap);
    va_end(ap);
}

/* Copies a wire string into a NUL-terminated buffer, cut to fit. */
static void s_copy(char *out, size_t cap, jury_str_t s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(out, s.ptr, n);
    out[n] = '\0';
}

/* The jury_err a wire code names; codes this build does not know count as EINTERNAL (SPEC 7). */
static jury_err s_code(jury_str_t code)
{
    for (int i = 1; i < JURY_ERR_COUNT; i++) {
        const char *name = jury_errname((jury_err)i);
        if (strlen(name) == code.len && memcmp(name, code.ptr, code.len) == 0)
            return (jury_err)i;
    }
    return JURY_EINTERNAL;
}

/* Whether a per-response refusal is final (drop the response) rather than passing (send again). */
static bool s_final_refusal(jury_err err)
{
    switch (err) {
    case JURY_EINVAL:
    case JURY_EEXIST:
    case JURY_ENOTLEASED:
    case JURY_ENOTFOUND:
    case JURY_EPROTO:
    case JURY_ETOOBIG:
    case JURY_EVERSION:
    case JURY_EPERM:
        return true;
    default:
        return false;
    }
}

/* A valid record id: 1..500 bytes of UTF-8. */
static bool s_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n >= 1 && n <= JURY_PROTO_ID_MAX && jury_utf8_valid(id, n, NULL);
}

/* Writes ms since the Unix epoch as ISO 8601 UTC with milliseconds; years are kept in 1..9999. */
static void s_iso8601(char *out, size_t cap, int64_t ms)
{
    const int64_t lo = INT64_C(-62135596800), hi = INT64_C(253402300799);
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0)
        rem += 1000, sec--;
    if (sec < lo)
        sec = lo, rem = 0;
    else if (sec > hi)
        sec = hi, rem = 999;
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, cap, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

/* The value under key in a msgpack map (string keys), or NULL. */
static const msgpack_object *s_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/* ---- sending ------------------------------------------------------------------------------ */

/* Sends one frame without blocking. Returns false when ZeroMQ would not take it. */
static bool s_send(juror_t *j, const void *data, size_t len)
{
    if (!j->sock || zmq_send(j->sock, data, len, ZMQ_DONTWAIT) < 0)
        return false;
    j->last_sent = s_now();
    return true;
}

static uint64_t s_req(juror_t *j)
{
    if (j->next_req > JURY_PROTO_REQ_MAX)
        j->next_req = 1;
    return j->next_req++;
}

/* Sends release for ids and forgets about it (records the frontend will never see). */
static void s_release_quietly(juror_t *j, const char *const *ids, const size_t *lens, uint32_t n)
{
    if (n == 0 || j->state != S_UP)
        return;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    if (jury_proto_encode_release(&buf, s_req(j), ids, lens, n) == JURY_OK)
        s_send(j, buf.data, buf.size);
    msgpack_sbuffer_destroy(&buf);
}

/* Packs a submit of the n responses at items. Returns 0 or a packer error. */
static int s_pack_submit(msgpack_sbuffer *buf, uint64_t req, s_pending_t *const *items, size_t n,
                         uint64_t session)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_SUBMIT, true, req, 1);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "responses");
    rc = rc ? rc : msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const s_pending_t *p = items[i];
        /* Given during an earlier session: the lease it answers may have died with the
         * coordinator (a restart), so ask for it back (SPEC 9.3). */
        bool reclaim = p->session != session;
        rc = msgpack_pack_map(&pk, (p->values ? 3 : 2) + (reclaim ? 1 : 0));
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "record");
        rc = rc ? rc : jury_proto_pack_cstr(&pk, p->record);
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "status");
        rc = rc ? rc : jury_proto_pack_cstr(&pk, juror_status_name(p->status));
        if (reclaim) {
            rc = rc ? rc : jury_proto_pack_cstr(&pk, "reclaim");
            rc = rc ? rc : msgpack_pack_true(&pk);
        }
        if (p->values) {
            rc = rc ? rc : jury_proto_pack_cstr(&pk, "values");
            rc = rc ? rc : msgpack_sbuffer_write(buf, p->values, p->values_len);
        }
    }
    return rc;
}

/* Packs the review_submit of the call in progress: one decision. Returns 0 or a packer error. */
static int s_pack_review_submit(msgpack_sbuffer *buf, uint64_t req, const juror_t *j)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    bool has_note = j->call.note && *j->call.note;
    int rc = jury_proto_pack_header(&pk, JURY_CMD_REVIEW_SUBMIT, true, req, 1);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "decisions");
    rc = rc ? rc : msgpack_pack_array(&pk, 1);
    rc = rc ? rc : msgpack_pack_map(&pk, 2 + (j->call.values ? 1 : 0) + (has_note ? 1 : 0));
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "record");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, j->call.record);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "accept");
    rc = rc ? rc : (j->call.accept ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
    if (j->call.values) {
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "values");
        rc = rc ? rc : msgpack_sbuffer_write(buf, j->call.values, j->call.values_len);
    }
    if (has_note) {
        rc = rc ? rc : jury_proto_pack_cstr(&pk, "note");
        rc = rc ? rc : jury_proto_pack_cstr(&pk, j->call.note);
    }
    return rc;
}

/* Marks p to be sent again later: after a passing refusal, or when sending failed. */
static void s_resend_later(juror_t *j, s_pending_t *p)
{
    p->req = 0;
    j->resend_at = s_now() + j->resend_delay;
}

/*
 * Sends every response not in flight (req 0), in order, in as few submits as the limits
 * allow (100 responses and S_FRAME_BUDGET bytes each).
 */
static void s_send_pending(juror_t *j)
{
    if (j->state != S_UP)
        return;
    s_pending_t *batch[JURY_PROTO_BATCH_MAX];
    size_t i = 0;
    bool backoff = false;
    while (i < j->npend) {
        size_t n = 0, bytes = 0;
        for (; i < j->npend && n < JURY_PROTO_BATCH_MAX; i++) {
            s_pending_t *p = &j->pend[i];
            if (p->req != 0)
                continue;
            size_t sz = strlen(p->record) + p->values_len + 32;
            if (n > 0 && bytes + sz > S_FRAME_BUDGET)
                break;
            batch[n++] = p;
            bytes += sz;
        }
        if (n == 0)
            break;
        uint64_t req = s_req(j);
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        bool sent =
            s_pack_submit(&buf, req, batch, n, j->sessions) == 0 && s_send(j, buf.data, buf.size);
        msgpack_sbuffer_destroy(&buf);
        int64_t now = s_now();
        for (size_t k = 0; k < n; k++) {
            batch[k]->req = sent ? req : 0;
            batch[k]->sent_at = now;
        }
        if (!sent) {
            backoff = true;
            break;
        }
    }
    if (backoff)
        j->resend_at = s_now() + j->resend_delay;
}

/* Sends the request of the call in progress, if it is not in flight on this session. */
static void s_send_call(juror_t *j)
{
    if (j->state != S_UP || j->call.kind == S_CALL_NONE || j->call.done || j->call.req != 0)
        return;
    uint64_t req = s_req(j);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    jury_err err;
    if (j->call.kind == S_CALL_FETCH) {
        err = jury_proto_encode_fetch(&buf, req, j->call.n);
    } else if (j->call.kind == S_CALL_REVIEW_FETCH) {
        err = jury_proto_encode_review_fetch(&buf, req, j->call.n);
    } else if (j->call.kind == S_CALL_REVIEW_SUBMIT) {
        err = s_pack_review_submit(&buf, req, j) == 0 ? JURY_OK : JURY_ENOMEM;
        if (err != JURY_OK)
            buf.size = 0;
    } else {
        size_t lens[JURY_PROTO_BATCH_MAX];
        for (size_t i = 0; i < j->call.nids; i++)
            lens[i] = strlen(j->call.ids[i]);
        err = jury_proto_encode_release(&buf, req, j->call.ids, lens, (uint32_t)j->call.nids);
    }
    if (err == JURY_OK) {
        /* A frame ZeroMQ would not take is as good as lost: the call times out. */
        s_send(j, buf.data, buf.size);
        j->call.req = req;
    } else {
        j->call.done = true;
        j->call.err = err;
        s_seterr(j, "cannot encode the request: %s", jury_strerror(err));
    }
    msgpack_sbuffer_destroy(&buf);
}

static void s_heartbeat(juror_t *j)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    if (jury_proto_encode_heartbeat(&buf) == JURY_OK && !s_send(j, buf.data, buf.size))
        j->last_sent = s_now(); /* a full pipe: do not retry at once */
    msgpack_sbuffer_destroy(&buf);
}

/* ---- connection states ------------------------------------------------------------------- */

static void s_close_socket(juror_t *j)
{
    if (j->monitor) {
        if (j->sock)
            zmq_socket_monitor(j->sock, NULL, 0);
        zmq_close(j->monitor);
        j->monitor = NULL;
    }
    if (j->sock) {
        int zero = 0;
        zmq_setsockopt(j->sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(j->sock);
        j->sock = NULL;
    }
}

/* The next reconnect delay: 0.5 s doubling to 30 s, jittered into [d/2, d]. */
static int64_t s_backoff(juror_t *j)
{
    int shift = j->attempts < 6 ? j->attempts : 6;
    int64_t d = (int64_t)S_BACKOFF_MIN << shift;
    if (d > S_BACKOFF_MAX)
        d = S_BACKOFF_MAX;
    j->attempts++;
    return d / 2 + (int64_t)(rand_r(&j->rng) % (unsigned)(d / 2 + 1));
}

/*
 * Leaves the session (or the attempt): closes the socket, so that the next one gets a new routing
 * id, and schedules a new hello (at once when immediate and this is the first attempt). What was
 * in flight is sent again on the next session.
 */
static void s_disconnect(juror_t *j, bool immediate)
{
    int64_t now = s_now();
    if (j->state == S_UP && now - j->up_since >= S_STABLE_MS)
        j->attempts = 0;
    s_close_socket(j);
    if (immediate && j->attempts == 0) {
        j->attempts++;
        j->due = now;
    } else {
        j->due = now + s_backoff(j);
    }
    j->state = S_WAITING;
    for (size_t i = 0; i < j->npend; i++)
        j->pend[i].req = 0;
    j->resend_at = 0;
    j->call.req = 0;
}

/* Stops for good: the coordinator refused this juror in a way retrying cannot fix. */
static void s_fatal(juror_t *j, jury_err err)
{
    s_close_socket(j);
    j->state = S_DEAD;
    j->fatal = err;
    /* Keep why (the goodbye's or refusal's reason, set just before) for every later call. */
    snprintf(j->fatal_reason, sizeof j->fatal_reason, "%s", j->error);
    if (j->call.kind != S_CALL_NONE && !j->call.done) {
        j->call.done = true;
        j->call.err = err;
    }
}

/*
 * Watches the new socket's handshakes, so that a coordinator refusing our key ends the attempt at
 * once rather than after the hello's wait. Without a monitor (it could not start) the hello
 * simply times out.
 */
static void s_monitor_start(juror_t *j)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://juror-monitor-%u", ++j->monitor_seq);
    if (zmq_socket_monitor(j->sock, ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        return;
    int zero = 0;
    j->monitor = zmq_socket(j->ctx, ZMQ_PAIR);
    if (j->monitor)
        zmq_setsockopt(j->monitor, ZMQ_LINGER, &zero, sizeof zero);
    if (!j->monitor || zmq_connect(j->monitor, ep) != 0) {
        zmq_socket_monitor(j->sock, NULL, 0);
        if (j->monitor)
            zmq_close(j->monitor);
        j->monitor = NULL;
    }
}

/* Reads the handshake events waiting on the monitor (two frames each: event and value, then the
 * endpoint). A key the coordinator refuses (ZAP status 400) is final. */
static void s_monitor_read(juror_t *j)
{
    while (j->monitor) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, j->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), sizeof event);
            memcpy(&value, (const char *)zmq_msg_data(&ev) + 2, sizeof value);
        }
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        while (more) {
            zmq_msg_t rest;
            zmq_msg_init(&rest);
            more = zmq_msg_recv(&rest, j->monitor, 0) >= 0 && zmq_msg_more(&rest);
            zmq_msg_close(&rest);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && value >= 400 && value < 500) {
            s_seterr(j,
                     "the coordinator at %s refused this key (CURVE authentication, status %u): "
                     "the annotator is unknown or disabled, or its key was replaced",
                     j->endpoint, (unsigned)value);
            s_fatal(j, JURY_EPERM);
            return;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            s_seterr(j, "the coordinator at %s could not check this key (status %u); trying again",
                     j->endpoint, (unsigned)value);
        else if (j->curve)
            s_seterr(j,
                     "the CURVE handshake with %s failed: is it the coordinator whose public key "
                     "the key file holds, serving CURVE (not --insecure)?",
                     j->endpoint);
        else
            s_seterr(j,
                     "the handshake with %s failed: the coordinator probably requires CURVE keys "
                     "(an annotator key file)",
                     j->endpoint);
    }
}

/* Opens a new socket and sends hello on it. */
static void s_attempt(juror_t *j)
{
    int64_t now = s_now();
    s_close_socket(j);
    j->sock = zmq_socket(j->ctx, ZMQ_DEALER);
    if (!j->sock) {
        s_seterr(j, "cannot open a ZeroMQ socket: %s", zmq_strerror(errno));
        j->state = S_WAITING;
        j->due = now + s_backoff(j);
        return;
    }
    int zero = 0;
    int64_t maxmsg = (int64_t)JURY_PROTO_FRAME_MAX;
    zmq_setsockopt(j->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(j->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (j->curve && (zmq_setsockopt(j->sock, ZMQ_CURVE_SERVERKEY, j->curve, JURY_KEY_BYTES) != 0 ||
                     zmq_setsockopt(j->sock, ZMQ_CURVE_PUBLICKEY, j->curve + JURY_KEY_BYTES,
                                    JURY_KEY_BYTES) != 0 ||
                     zmq_setsockopt(j->sock, ZMQ_CURVE_SECRETKEY, j->curve + 2 * JURY_KEY_BYTES,
                                    JURY_KEY_BYTES) != 0)) {
        s_seterr(j, "cannot set the CURVE keys: %s", zmq_strerror(errno));
        s_fatal(j, JURY_EINVAL);
        return;
    }
    s_monitor_start(j);
    if (zmq_connect(j->sock, j->endpoint) != 0) {
        s_seterr(j, "cannot connect to %s: %s", j->endpoint, zmq_strerror(errno));
        s_fatal(j, JURY_EINVAL);
        return;
    }
    /* Without ZMQ_IMMEDIATE the hello waits in the pipe until the TCP connection is up, so a
     * coordinator that starts during the attempt still gets it. */
    j->hello_req = s_req(j);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    if (jury_proto_encode_hello_token(&buf, j->hello_req, j->annotator, j->dataset, j->agent,
                                      j->web_token) == JURY_OK)
        s_send(j, buf.data, buf.size);
    msgpack_sbuffer_destroy(&buf);
    int64_t wait = 3 * (int64_t)j->heartbeat_ms;
    j->state = S_HELLO;
    j->due = now + (wait > S_HELLO_WAIT_MIN ? wait : S_HELLO_WAIT_MIN);
}

/* ---- receiving --------------------------------------------------------------------------- */

/* Decides one response: an acknowledgement, a refusal (final or passing). Index i into pend. */
static void s_resolve(juror_t *j, size_t i, bool ok, jury_err err, const char *reason,
                      int64_t lease_expires)
{
    s_pending_t *p = &j->pend[i];
    bool watched = j->watch.id == p->id && !j->watch.done;
    if (watched) {
        j->watch.done = true;
        j->watch.err = ok ? JURY_OK : err;
        j->watch.lease_expires = lease_expires;
        if (!ok)
            s_seterr(j, "%s", reason);
    }
    if (!ok && !s_final_refusal(err)) {
        /* Kept: sent again after a pause that grows while the refusals go on. */
        s_resend_later(j, p);
        j->resend_delay = j->resend_delay * 2 > S_BACKOFF_MAX ? S_BACKOFF_MAX : j->resend_delay * 2;
        if (!watched)
            s_seterr(j, "record '%s': %s: %s (kept; it will be sent again)", p->record,
                     jury_errname(err), reason);
        return;
    }
    if (ok)
        j->resend_delay = S_RESEND_MIN;
    if (ok && p->counts && j->progress.known)
        j->progress.submitted++;
    else if (!watched && j->lost_err == JURY_OK) {
        j->lost_err = err;
        /* Name the record unless the coordinator's reason already does. */
        char quoted[JURY_PROTO_ID_MAX + 3];
        snprintf(quoted, sizeof quoted, "'%s'", p->record);
        if (strstr(reason, quoted))
            snprintf(j->lost_reason, sizeof j->lost_reason, "%s", reason);
        else
            snprintf(j->lost_reason, sizeof j->lost_reason, "record '%s': %s", p->record, reason);
    }
    free(p->record);
    free(p->values);
    memmove(p, p + 1, (j->npend - i - 1) * sizeof *p);
    j->npend--;
}

/* results of a submit: one per response, in order. */
static void s_on_submit_results(juror_t *j, const jury_msg_t *m)
{
    for (uint32_t r = 0; r < m->u.results.count; r++) {
        const jury_proto_result_t *it = &m->u.results.items[r];
        for (size_t i = 0; i < j->npend; i++) {
            s_pending_t *p = &j->pend[i];
            if (p->req != m->req || strlen(p->record) != it->record.len ||
                memcmp(p->record, it->record.ptr, it->record.len) != 0)
                continue;
            char reason[JURY_PROTO_REASON_MAX + 1];
            s_copy(reason, sizeof reason, it->reason);
            s_resolve(j, i, it->ok, it->ok ? JURY_OK : s_code(it->code), reason, it->lease_expires);
            break;
        }
    }
    /* A response the coordinator did not mention is sent again. */
    for (size_t i = 0; i < j->npend; i++)
        if (j->pend[i].req == m->req)
            s_resend_later(j, &j->pend[i]);
}

/* An error for a submit as a whole. */
static void s_on_submit_error(juror_t *j, uint64_t req, jury_err err, const char *reason)
{
    for (size_t i = 0; i < j->npend;) {
        if (j->pend[i].req != req) {
            i++;
            continue;
        }
        size_t before = j->npend;
        s_resolve(j, i, false, err, reason, 0);
        if (j->npend == before)
            i++;
    }
}

/* Adds v to o under key, taking v (deleted when it cannot be added). False when v is NULL too. */
static bool s_add(cJSON *o, const char *key, cJSON *v)
{
    if (!v)
        return false;
    if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        return false;
    }
    return true;
}

/* A map as JSON, {} when absent or nil. */
static cJSON *s_map_json(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_MAP ? jury_jsonpack_to_json(o) : cJSON_CreateObject();
}

/* An int64 time field (ms since the epoch) as ISO 8601 UTC JSON; decode checked it is one. */
static cJSON *s_time_json(const msgpack_object *o)
{
    int64_t ms = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64
                 : o->via.u64 > (uint64_t)INT64_MAX         ? INT64_MAX
                                                            : (int64_t)o->via.u64;
    char when[64];
    s_iso8601(when, sizeof when, ms);
    return cJSON_CreateString(when);
}

/* A map as JSON, null when absent or nil. */
static cJSON *s_map_or_null(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_MAP ? jury_jsonpack_to_json(o) : cJSON_CreateNull();
}

/*
 * What a batch record and a review_batch record share, as the JSON object juror.h documents: id,
 * fields, suggestions, metadata, lease_expires. NULL when it cannot be made (a string JSON cannot
 * hold, out of memory).
 */
static cJSON *s_record_base_json(const msgpack_object *r)
{
    const msgpack_object *id = s_get(r, "id"), *fields = s_get(r, "fields"),
                         *lease = s_get(r, "lease_expires");
    if (!id || id->type != MSGPACK_OBJECT_STR || !fields || !lease)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o || !s_add(o, "id", jury_jsonpack_to_json(id)) ||
        !s_add(o, "fields", jury_jsonpack_to_json(fields)) ||
        !s_add(o, "suggestions", s_map_json(s_get(r, "suggestions"))) ||
        !s_add(o, "metadata", s_map_json(s_get(r, "metadata"))) ||
        !s_add(o, "lease_expires", s_time_json(lease))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Converts one batch record to the JSON object juror.h documents. NULL when it cannot be. */
static cJSON *s_record_json(const msgpack_object *r)
{
    cJSON *o = s_record_base_json(r);
    if (o && !s_add(o, "draft", s_map_or_null(s_get(r, "draft")))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* One response of a review_batch record as JSON: {annotator, status, values, updated}. */
static cJSON *s_review_response_json(const msgpack_object *r)
{
    const msgpack_object *annotator = s_get(r, "annotator"), *status = s_get(r, "status"),
                         *updated = s_get(r, "updated_ms");
    if (!annotator || !status || !updated)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o || !s_add(o, "annotator", jury_jsonpack_to_json(annotator)) ||
        !s_add(o, "status", jury_jsonpack_to_json(status)) ||
        !s_add(o, "values", s_map_or_null(s_get(r, "values"))) ||
        !s_add(o, "updated", s_time_json(updated))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Converts one review_batch record to the JSON object juror.h documents: a batch record without
 * draft, plus why, reason, unified and responses. NULL when it cannot be. */
static cJSON *s_review_record_json(const msgpack_object *r)
{
    const msgpack_object *why = s_get(r, "why"), *reason = s_get(r, "reason"),
                         *responses = s_get(r, "responses");
    if (!why || !responses || responses->type != MSGPACK_OBJECT_ARRAY)
        return NULL;
    cJSON *o = s_record_base_json(r), *list = NULL;
    if (!o || !s_add(o, "why", jury_jsonpack_to_json(why)) ||
        !s_add(o, "reason",
               reason && reason->type == MSGPACK_OBJECT_STR ? jury_jsonpack_to_json(reason)
                                                            : cJSON_CreateNull()) ||
        !s_add(o, "unified", s_map_or_null(s_get(r, "unified"))) ||
        !s_add(o, "responses", list = cJSON_CreateArray()))
        goto fail;
    for (uint32_t i = 0; i < responses->via.array.size; i++) {
        cJSON *resp = s_review_response_json(&responses->via.array.ptr[i]);
        if (!resp || !cJSON_AddItemToArray(list, resp)) {
            cJSON_Delete(resp);
            goto fail;
        }
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

/* Keeps the progress a welcome or batch carried. */
static void s_take_progress(juror_t *j, const jury_proto_progress_t *p)
{
    if (!p->present)
        return;
    j->progress.known = true;
    j->progress.submitted = p->submitted;
    j->progress.completed = p->completed;
    j->progress.records = p->records;
}

/* Remembers that record (len bytes) came with the current session's lease. */
static void s_fetched_add(juror_t *j, const char *record, size_t len)
{
    if (j->nfetched == S_FETCHED_MAX) {
        free(j->fetched[0].record);
        memmove(j->fetched, j->fetched + 1, (j->nfetched - 1) * sizeof *j->fetched);
        j->nfetched--;
    }
    if (j->nfetched == j->capfetched) {
        size_t ncap = j->capfetched ? j->capfetched * 2 : 64;
        s_fetched_t *v = realloc(j->fetched, ncap * sizeof *v);
        if (!v)
            return; /* forgetting is safe: see S_FETCHED_MAX */
        j->fetched = v;
        j->capfetched = ncap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, record, len);
    copy[len] = '\0';
    j->fetched[j->nfetched++] = (s_fetched_t){.record = copy, .session = j->sessions};
}

/* The session record was fetched in (the current one when unknown); forgets it when drop.
 * *found (may be NULL) tells whether it was known. */
static uint64_t s_fetched_session(juror_t *j, const char *record, bool drop, bool *found)
{
    if (found)
        *found = false;
    for (size_t i = 0; i < j->nfetched; i++)
        if (strcmp(j->fetched[i].record, record) == 0) {
            uint64_t session = j->fetched[i].session;
            if (found)
                *found = true;
            if (drop) {
                free(j->fetched[i].record);
                memmove(j->fetched + i, j->fetched + i + 1,
                        (j->nfetched - i - 1) * sizeof *j->fetched);
                j->nfetched--;
            }
            return session;
        }
    return j->sessions;
}

/*
 * batch or review_batch for the (review) fetch in progress: records to JSON. Records that JSON
 * cannot hold are released (release gives back review leases too, SPEC 9.7).
 */
static void s_on_batch(juror_t *j, const jury_msg_t *m)
{
    const msgpack_object *recs = m->u.batch.records;
    bool review = m->cmd == JURY_CMD_REVIEW_BATCH;
    if (!review)
        s_take_progress(j, &m->u.batch.progress);
    const char *bad[JURY_PROTO_BATCH_MAX];
    size_t badlen[JURY_PROTO_BATCH_MAX];
    uint32_t nbad = 0;
    cJSON *arr = cJSON_CreateArray();
    size_t count = 0;
    j->call.done = true;
    for (uint32_t i = 0; arr && i < recs->via.array.size; i++) {
        const msgpack_object *r = &recs->via.array.ptr[i];
        cJSON *o = review ? s_review_record_json(r) : s_record_json(r);
        if (o && cJSON_AddItemToArray(arr, o)) {
            const msgpack_object *id = s_get(r, "id");
            /* Only answering leases matter to a response's reclaim (SPEC 9.3). */
            if (!review && id && id->type == MSGPACK_OBJECT_STR)
                s_fetched_add(j, id->via.str.ptr, id->via.str.size);
            count++;
            continue;
        }
        cJSON_Delete(o);
        const msgpack_object *id = s_get(r, "id");
        if (id && id->type == MSGPACK_OBJECT_STR) {
            bad[nbad] = id->via.str.ptr;
            badlen[nbad++] = id->via.str.size;
            s_seterr(j, "record '%.*s' cannot be shown as JSON; released it", (int)id->via.str.size,
                     id->via.str.ptr);
        }
    }
    s_release_quietly(j, bad, badlen, nbad);
    char *json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    if (!json) {
        j->call.err = JURY_ENOMEM;
        s_seterr(j, "out of memory converting a batch of %u records", recs->via.array.size);
        return;
    }
    j->call.err = JURY_OK;
    j->call.json = json;
    j->call.count = count;
}

/* A batch or review_batch nobody waits for (its request timed out): give the records back at
 * once. */
static void s_on_stale_batch(juror_t *j, const jury_msg_t *m)
{
    const msgpack_object *recs = m->u.batch.records;
    const char *ids[JURY_PROTO_BATCH_MAX];
    size_t lens[JURY_PROTO_BATCH_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < recs->via.array.size && n < JURY_PROTO_BATCH_MAX; i++) {
        const msgpack_object *id = s_get(&recs->via.array.ptr[i], "id");
        if (id && id->type == MSGPACK_OBJECT_STR) {
            ids[n] = id->via.str.ptr;
            lens[n++] = id->via.str.size;
        }
    }
    s_release_quietly(j, ids, lens, n);
}

/* results for the release in progress: the first failure is the call's. */
static void s_on_release_results(juror_t *j, const jury_msg_t *m)
{
    j->call.done = true;
    j->call.err = JURY_OK;
    for (uint32_t i = 0; i < m->u.results.count; i++) {
        const jury_proto_result_t *it = &m->u.results.items[i];
        if (!it->ok) {
            j->call.err = s_code(it->code);
            char reason[JURY_PROTO_REASON_MAX + 1];
            s_copy(reason, sizeof reason, it->reason);
            s_seterr(j, "%s", reason);
            break;
        }
    }
}

/* results for the review_submit in progress: the one decision's outcome. */
static void s_on_review_results(juror_t *j, const jury_msg_t *m)
{
    j->call.done = true;
    size_t len = strlen(j->call.record);
    for (uint32_t i = 0; i < m->u.results.count; i++) {
        const jury_proto_result_t *it = &m->u.results.items[i];
        if (it->record.len != len || memcmp(it->record.ptr, j->call.record, len) != 0)
            continue;
        j->call.err = it->ok ? JURY_OK : s_code(it->code);
        if (!it->ok) {
            char reason[JURY_PROTO_REASON_MAX + 1];
            s_copy(reason, sizeof reason, it->reason);
            s_seterr(j, "%s", reason);
        }
        return;
    }
    j->call.err = JURY_EPROTO;
    s_seterr(j, "the coordinator's reply is malformed: results: no result for record '%s'",
             j->call.record);
}

static void s_on_welcome(juror_t *j, const jury_msg_t *m)
{
    if (!j->settings) {
        cJSON *s = jury_jsonpack_to_json(m->u.welcome.settings);
        j->settings = s ? cJSON_PrintUnformatted(s) : NULL;
        cJSON_Delete(s);
        if (!j->settings) {
            s_seterr(j, "welcome: the dataset's settings cannot be shown as JSON");
            s_fatal(j, JURY_EPROTO);
            return;
        }
    }
    int64_t now = s_now();
    j->state = S_UP;
    j->sessions++;
    j->up_since = j->last_heard = now;
    j->heartbeat_ms = m->u.welcome.heartbeat_ms;
    j->lease_seconds = m->u.welcome.lease_seconds;
    j->batch_max = m->u.welcome.batch_max;
    s_take_progress(j, &m->u.welcome.progress);
    s_copy(j->role, sizeof j->role, m->u.welcome.role);
    /* Whatever was unacknowledged goes again at once (SPEC 9.2): one submit per 100. */
    for (size_t i = 0; i < j->npend; i++)
        j->pend[i].req = 0;
    s_send_pending(j);
    s_send_call(j);
}

/* The coordinator refused our hello. */
static void s_on_hello_error(juror_t *j, jury_err err, const char *reason)
{
    s_seterr(j, "%s", reason);
    switch (err) {
    case JURY_ENOTFOUND:
    case JURY_EINVAL:
    case JURY_EPROTO:
    case JURY_ETOOBIG:
    case JURY_EVERSION:
    case JURY_EPERM:
        s_fatal(j, err);
        break;
    default: /* EBUSY, EINTERNAL, EFULL...: later, with backoff */
        s_disconnect(j, false);
        break;
    }
}

static void s_on_error(juror_t *j, const jury_msg_t *m)
{
    jury_err err = s_code(m->u.error.code);
    char reason[JURY_PROTO_REASON_MAX + 1];
    s_copy(reason, sizeof reason, m->u.error.reason);
    if (j->state == S_HELLO && (!m->has_req || m->req == j->hello_req)) {
        s_on_hello_error(j, err, reason);
        return;
    }
    if (j->state != S_UP)
        return;
    if (err == JURY_ENOSESSION) {
        /* The coordinator restarted or forgot us: a new session, at once (SPEC 7). */
        s_seterr(j, "the coordinator has no session for this connection (%s); opening a new one",
                 reason);
        s_disconnect(j, true);
        return;
    }
    bool call_waits = j->call.kind != S_CALL_NONE && !j->call.done && j->call.req != 0;
    bool review = j->call.kind == S_CALL_REVIEW_FETCH || j->call.kind == S_CALL_REVIEW_SUBMIT;
    if (err == JURY_EPERM && review && call_waits && m->has_req && m->req == j->call.req) {
        /* Not a reviewer (SPEC 6.12): the review call fails, the session goes on. */
        j->call.done = true;
        j->call.err = err;
        s_seterr(j, "%s", reason);
        return;
    }
    if (err == JURY_EVERSION || err == JURY_EPERM) {
        /* EPERM for a whole request: the session was cut (its goodbye went missing). */
        s_seterr(j, "%s", reason);
        s_fatal(j, err);
        return;
    }
    if (!m->has_req) {
        /* The coordinator could not tell which request it answers: fail the call in progress and
         * send in-flight responses again later (resubmits are safe). */
        s_seterr(j, "%s: %s", jury_errname(err), reason);
        if (call_waits) {
            j->call.done = true;
            j->call.err = err;
        }
        for (size_t i = 0; i < j->npend; i++) {
            if (j->pend[i].req != 0) {
                if (j->watch.id == j->pend[i].id && !j->watch.done) {
                    j->watch.done = true;
                    j->watch.err = err;
                }
                s_resend_later(j, &j->pend[i]);
            }
        }
        return;
    }
    if (call_waits && m->req == j->call.req) {
        j->call.done = true;
        j->call.err = err;
        s_seterr(j, "%s", reason);
        return;
    }
    s_on_submit_error(j, m->req, err, reason);
}

static void s_on_goodbye(juror_t *j, const jury_msg_t *m)
{
    jury_err err = s_code(m->u.error.code);
    char reason[JURY_PROTO_REASON_MAX + 1];
    s_copy(reason, sizeof reason, m->u.error.reason);
    s_seterr(j, "the coordinator ended the session: %s: %s", jury_errname(err), reason);
    if (err == JURY_EPROTO || err == JURY_EPERM) {
        /* Sent away for malformed messages, or this annotator's access was withdrawn: trying
         * again would only be refused again. */
        s_fatal(j, err);
        return;
    }
    s_disconnect(j, false);
}

/* Handles one frame from the coordinator. Nothing in it is trusted. */
static void s_handle(juror_t *j, const void *data, size_t len)
{
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 4096))
        return;
    jury_msg_t m;
    char why[512];
    jury_err err = jury_proto_decode(data, len, &zone, &m, why, sizeof why);
    if (err == JURY_EVERSION) {
        s_seterr(j, "the coordinator speaks another protocol version: %s", why);
        s_fatal(j, JURY_EVERSION);
        goto done;
    }
    if (err != JURY_OK) {
        /* A reply we wait for that cannot be read fails its request rather than time out;
         * responses it answered stay kept and go again later. Anything else is ignored. */
        bool answered = false;
        if (m.has_req && j->state == S_UP) {
            if (j->call.kind != S_CALL_NONE && !j->call.done && j->call.req == m.req) {
                j->call.done = true;
                j->call.err = JURY_EPROTO;
                answered = true;
            }
            for (size_t i = 0; i < j->npend; i++) {
                if (j->pend[i].req != m.req)
                    continue;
                if (j->watch.id == j->pend[i].id && !j->watch.done) {
                    j->watch.done = true;
                    j->watch.err = JURY_EPROTO;
                }
                s_resend_later(j, &j->pend[i]);
                answered = true;
            }
        }
        s_seterr(j, "%s: %s",
                 answered ? "the coordinator's reply is malformed"
                          : "ignored a malformed message from the coordinator",
                 why);
        goto done;
    }
    switch (m.cmd) {
    case JURY_CMD_HEARTBEAT:
        break;
    case JURY_CMD_WELCOME:
        if (j->state == S_HELLO && m.req == j->hello_req)
            s_on_welcome(j, &m);
        break;
    case JURY_CMD_BATCH:
        if (j->state != S_UP)
            break;
        if (j->call.kind == S_CALL_FETCH && !j->call.done && j->call.req == m.req)
            s_on_batch(j, &m);
        else
            s_on_stale_batch(j, &m);
        break;
    case JURY_CMD_REVIEW_BATCH:
        if (j->state != S_UP)
            break;
        if (j->call.kind == S_CALL_REVIEW_FETCH && !j->call.done && j->call.req == m.req)
            s_on_batch(j, &m);
        else
            s_on_stale_batch(j, &m);
        break;
    case JURY_CMD_RESULTS:
        if (j->state != S_UP)
            break;
        if (j->call.kind == S_CALL_RELEASE && !j->call.done && j->call.req == m.req)
            s_on_release_results(j, &m);
        else if (j->call.kind == S_CALL_REVIEW_SUBMIT && !j->call.done && j->call.req == m.req)
            s_on_review_results(j, &m);
        else
            s_on_submit_results(j, &m);
        break;
    case JURY_CMD_ERROR:
        s_on_error(j, &m);
        break;
    case JURY_CMD_GOODBYE:
        if (j->state == S_UP || j->state == S_HELLO)
            s_on_goodbye(j, &m);
        break;
    default:
        s_seterr(j, "ignored a '%s' message from the coordinator (a worker's command)",
                 jury_proto_cmd_name(m.cmd));
        break;
    }
done:
    msgpack_zone_destroy(&zone);
}

/* Reads and handles everything waiting on the socket (and its monitor). */
static void s_receive(juror_t *j)
{
    s_monitor_read(j);
    while (j->sock) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, j->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        bool multi = zmq_msg_more(&msg);
        j->last_heard = s_now();
        if (multi) {
            int more = 1;
            while (more) {
                zmq_msg_t extra;
                zmq_msg_init(&extra);
                more = zmq_msg_recv(&extra, j->sock, 0) >= 0 && zmq_msg_more(&extra);
                zmq_msg_close(&extra);
            }
            s_seterr(j, "ignored a multi-frame message from the coordinator");
        } else {
            s_handle(j, zmq_msg_data(&msg), zmq_msg_size(&msg));
        }
        zmq_msg_close(&msg);
    }
}

/* ---- timers ------------------------------------------------------------------------------ */

/* Does what is due now: attempts, liveness, resends, the call's request, heartbeats. */
static void s_service(juror_t *j)
{
    int64_t now = s_now();
    switch (j->state) {
    case S_WAITING:
        if (now >= j->due)
            s_attempt(j);
        break;
    case S_HELLO:
        if (now >= j->due) {
            s_seterr(j, "no answer to hello from %s within %lld ms; trying again", j->endpoint,
                     (long long)(now - j->last_sent));
            s_close_socket(j);
            j->state = S_WAITING;
            j->due = now + s_backoff(j);
        }
        break;
    case S_UP: {
        int64_t dead = 3 * (int64_t)j->heartbeat_ms;
        if (now - j->last_heard >= dead) {
            s_seterr(j, "no message from the coordinator for %lld ms (3 heartbeats); reconnecting",
                     (long long)(now - j->last_heard));
            s_disconnect(j, false);
            break;
        }
        bool unsent = false;
        for (size_t i = 0; i < j->npend; i++) {
            if (j->pend[i].req != 0 && now - j->pend[i].sent_at >= S_INFLIGHT_MS)
                j->pend[i].req = 0;
            unsent |= j->pend[i].req == 0;
        }
        if (unsent && now >= j->resend_at)
            s_send_pending(j);
        s_send_call(j);
        if (now - j->last_sent >= (int64_t)j->heartbeat_ms)
            s_heartbeat(j);
        break;
    }
    case S_DEAD:
        break;
    }
}

/* Monotonic ms when s_service next has something to do. */
static int64_t s_due(const juror_t *j)
{
    switch (j->state) {
    case S_WAITING:
        return j->due;
    case S_HELLO: {
        /* The monitor's descriptor is not juror_fd's: look at it now and then. */
        int64_t look = s_now() + S_MONITOR_MS;
        return j->monitor && look < j->due ? look : j->due;
    }
    case S_UP: {
        int64_t due = j->last_heard + 3 * (int64_t)j->heartbeat_ms;
        int64_t hb = j->last_sent + (int64_t)j->heartbeat_ms;
        if (hb < due)
            due = hb;
        for (size_t i = 0; i < j->npend; i++) {
            int64_t t = j->pend[i].req ? j->pend[i].sent_at + S_INFLIGHT_MS : j->resend_at;
            if (t < due)
                due = t;
        }
        if (j->call.kind != S_CALL_NONE && !j->call.done && j->call.req == 0)
            due = 0;
        return due;
    }
    default:
        return s_now() + 1000;
    }
}

/* Runs the juror until done(j) holds, it dies, or deadline (monotonic ms) passes (JURY_EIO); once
 * juror_interrupt was called, no later than S_INTERRUPTED_WAIT ms after it was noticed. What the
 * call could wait goes to j->waited_ms, for its error message. */
static jury_err s_run(juror_t *j, bool (*done)(const juror_t *), int64_t deadline)
{
    int64_t start = s_now();
    bool cut = false;
    j->waited_ms = (int)(deadline - start);
    for (;;) {
        s_receive(j);
        s_service(j);
        if (done(j))
            return JURY_OK;
        if (j->state == S_DEAD)
            return j->fatal;
        int64_t now = s_now();
        if (j->interrupted && !cut) {
            cut = true;
            if (deadline > now + S_INTERRUPTED_WAIT) {
                deadline = now + S_INTERRUPTED_WAIT;
                j->waited_ms = (int)(deadline - start);
            }
        }
        if (now >= deadline)
            return JURY_EIO;
        int64_t until = s_due(j);
        if (until > deadline)
            until = deadline;
        long wait = until > now ? (long)(until - now) : 0;
        if (j->sock) {
            zmq_pollitem_t items[2] = {{.socket = j->sock, .events = ZMQ_POLLIN},
                                       {.socket = j->monitor, .events = ZMQ_POLLIN}};
            zmq_poll(items, j->monitor ? 2 : 1, wait);
        } else if (wait > 0) {
            poll(NULL, 0, (int)wait);
        }
    }
}

static bool s_is_up(const juror_t *j)
{
    return j->state == S_UP;
}

static bool s_call_done(const juror_t *j)
{
    return j->call.done;
}

static bool s_watch_done(const juror_t *j)
{
    return j->watch.done;
}

static bool s_all_acknowledged(const juror_t *j)
{
    return j->npend == 0;
}

/* ---- public ------------------------------------------------------------------------------ */

const char *juror_version(void)
{
    return JUROR_VERSION;
}

static void s_free(juror_t *j)
{
    if (!j)
        return;
    s_close_socket(j);
    if (j->ctx)
        zmq_ctx_term(j->ctx);
    for (size_t i = 0; i < j->npend; i++) {
        free(j->pend[i].record);
        free(j->pend[i].values);
    }
    free(j->pend);
    for (size_t i = 0; i < j->nfetched; i++)
        free(j->fetched[i].record);
    free(j->fetched);
    free(j->call.json);
    free(j->call.values);
    free(j->settings);
    if (j->curve) {
        sodium_memzero(j->curve, S_CURVE_BYTES);
        sodium_free(j->curve);
    }
    free(j->endpoint);
    free(j->dataset);
    free(j->annotator);
    free(j->agent);
    if (j->web_token) {
        sodium_memzero(j->web_token, strlen(j->web_token));
        sodium_free(j->web_token);
    }
    free(j);
}

static void s_errmsg(char *errmsg, size_t errcap, const char *msg)
{
    if (errmsg && errcap)
        snprintf(errmsg, errcap, "%s", msg);
}

/*
 * Reads the CURVE keys opts asks for into new guarded memory (*curve: the coordinator's public
 * key, ours, our secret key; NULL for plaintext) and, from a key file, the annotator and endpoint
 * it names (into kf, which the caller clears). On failure nothing is left allocated.
 */
static jury_err s_load_keys(const juror_opts_t *opts, jury_keyfile_t *kf, unsigned char **curve,
                            char *errmsg, size_t errcap)
{
    *curve = NULL;
    bool raw = opts->server_key || opts->public_key || opts->secret_key;
    if (!raw && !opts->key_file)
        return JURY_OK;
    if (raw && (!opts->server_key || !opts->public_key || !opts->secret_key || opts->key_file)) {
        s_errmsg(errmsg, errcap,
                 "juror_connect: give server_key, public_key and secret_key together, or "
                 "key_file alone");
        return JURY_EINVAL;
    }
    if (sodium_init() < 0) {
        s_errmsg(errmsg, errcap, "juror_connect: libsodium cannot initialise");
        return JURY_EINTERNAL;
    }
    if (opts->key_file) {
        char why[600] = "";
        jury_err err = jury_keyfile_read(opts->key_file, kf, why, sizeof why);
        if (err != JURY_OK) {
            char msg[700];
            snprintf(msg, sizeof msg, "%s", *why ? why : jury_strerror(err));
            s_errmsg(errmsg, errcap, msg);
            return err;
        }
        if (!kf->keys || !kf->annotator[0] || !kf->has_coordinator_key) {
            char msg[700];
            snprintf(msg, sizeof msg,
                     "%s is not an annotator's key file: it needs annotator, secret-key and "
                     "coordinator-key (`jury annotator add` writes one)",
                     opts->key_file);
            s_errmsg(errmsg, errcap, msg);
            return JURY_EINVAL;
        }
        if (opts->annotator && !opts->web_token && strcmp(opts->annotator, kf->annotator) != 0) {
            char msg[700];
            snprintf(msg, sizeof msg, "%s is the key file of %s, not of %s", opts->key_file,
                     kf->annotator, opts->annotator);
            s_errmsg(errmsg, errcap, msg);
            return JURY_EINVAL;
        }
    }
    if (!(*curve = sodium_malloc(S_CURVE_BYTES))) {
        s_errmsg(errmsg, errcap, "out of memory");
        return JURY_ENOMEM;
    }
    const unsigned char *keys[3] = {opts->server_key, opts->public_key, opts->secret_key};
    if (opts->key_file)
        keys[0] = kf->coordinator_key, keys[1] = kf->keys->public_key,
        keys[2] = kf->keys->secret_key;
    for (int i = 0; i < 3; i++)
        memcpy(*curve + i * JURY_KEY_BYTES, keys[i], JURY_KEY_BYTES);
    return JURY_OK;
}

/* Wipes and frees CURVE keys from s_load_keys. */
static void s_curve_free(unsigned char **curve)
{
    if (*curve) {
        sodium_memzero(*curve, S_CURVE_BYTES);
        sodium_free(*curve);
        *curve = NULL;
    }
}

jury_err juror_connect(juror_t **out, const juror_opts_t *opts, char *errmsg, size_t errcap)
{
    if (!out || !opts) {
        s_errmsg(errmsg, errcap, "juror_connect: out and opts are required");
        return JURY_EINVAL;
    }
    jury_keyfile_t kf;
    memset(&kf, 0, sizeof kf);
    unsigned char *curve = NULL;
    jury_err err = s_load_keys(opts, &kf, &curve, errmsg, errcap);
    if (err != JURY_OK) {
        jury_keyfile_clear(&kf);
        return err;
    }
    /* What the caller gives wins over what the key file names. */
    const char *endpoint = opts->endpoint && *opts->endpoint ? opts->endpoint
                           : kf.endpoint[0]                  ? kf.endpoint
                                                             : NULL;
    const char *annotator = opts->annotator ? opts->annotator : kf.annotator;
    const char *agent = opts->agent ? opts->agent : "libjuror/" JUROR_VERSION;
    juror_t *j = NULL;
    err = JURY_EINVAL;
    if (!endpoint || !opts->dataset || !*annotator) {
        s_errmsg(errmsg, errcap,
                 opts->key_file && !endpoint
                     ? "juror_connect: the key file names no endpoint: give one"
                     : "juror_connect: endpoint, dataset and annotator (or a key file) are "
                       "required");
        goto fail;
    }
    if (opts->web_token &&
        (!opts->annotator || !*opts->web_token || strlen(opts->web_token) > JURY_PROTO_TOKEN_MAX ||
         !jury_utf8_valid(opts->web_token, strlen(opts->web_token), NULL))) {
        s_errmsg(errmsg, errcap,
                 "juror_connect: a web_token needs the annotator it belongs to, and must be 1 to "
                 "512 bytes of UTF-8");
        goto fail;
    }
    size_t dl = strlen(opts->dataset), al = strlen(annotator), gl = strlen(agent);
    if (dl < 1 || dl > JURY_PROTO_NAME_MAX || !jury_utf8_valid(opts->dataset, dl, NULL) || al < 1 ||
        al > JURY_PROTO_NAME_MAX || !jury_utf8_valid(annotator, al, NULL) ||
        gl > JURY_PROTO_NAME_MAX || !jury_utf8_valid(agent, gl, NULL)) {
        s_errmsg(errmsg, errcap,
                 "juror_connect: dataset and annotator must be 1 to 200 bytes and agent at most "
                 "200 bytes, of UTF-8");
        goto fail;
    }
    if (opts->timeout_ms < 0 || opts->heartbeat_ms < 0) {
        s_errmsg(errmsg, errcap, "juror_connect: timeout_ms and heartbeat_ms must not be negative");
        goto fail;
    }
    err = JURY_ENOMEM;
    if (!(j = calloc(1, sizeof *j))) {
        s_errmsg(errmsg, errcap, "out of memory");
        goto fail;
    }
    j->curve = curve;
    curve = NULL;
    j->endpoint = strdup(endpoint);
    j->dataset = strdup(opts->dataset);
    j->annotator = strdup(annotator);
    j->agent = strdup(agent);
    if (opts->web_token && (j->web_token = sodium_malloc(strlen(opts->web_token) + 1)))
        memcpy(j->web_token, opts->web_token, strlen(opts->web_token) + 1);
    j->ctx = zmq_ctx_new();
    jury_keyfile_clear(&kf);
    if (!j->endpoint || !j->dataset || !j->annotator || !j->agent || !j->ctx ||
        (opts->web_token && !j->web_token)) {
        s_free(j);
        s_errmsg(errmsg, errcap, "out of memory");
        return JURY_ENOMEM;
    }
    j->timeout_ms = opts->timeout_ms ? opts->timeout_ms : S_TIMEOUT_DEFAULT;
    j->heartbeat_ms = opts->heartbeat_ms ? (uint32_t)opts->heartbeat_ms : S_HEARTBEAT_DEFAULT;
    j->rng = opts->seed ? opts->seed : (unsigned)s_now() ^ ((unsigned)getpid() << 16);
    j->next_req = 1;
    j->next_pend_id = 1;
    j->resend_delay = S_RESEND_MIN;
    j->state = S_WAITING;
    j->due = s_now();

    err = s_run(j, s_is_up, s_now() + j->timeout_ms);
    if (err != JURY_OK) {
        if (err == JURY_EIO) {
            char msg[S_ERROR_MAX + 200];
            snprintf(msg, sizeof msg, "no welcome from %s within %d ms%s%s", j->endpoint,
                     j->waited_ms, j->error[0] ? ": " : "", j->error);
            s_errmsg(errmsg, errcap, msg);
        } else {
            s_errmsg(errmsg, errcap, j->error);
        }
        s_free(j);
        return err;
    }
    j->error[0] = '\0';
    *out = j;
    return JURY_OK;
fail:
    s_curve_free(&curve);
    jury_keyfile_clear(&kf);
    return err;
}

void juror_destroy(juror_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    juror_t *j = *self_p;
    if (j->sock && j->state == S_UP) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        if (jury_proto_encode_bye(&buf, "juror_destroy") == JURY_OK &&
            s_send(j, buf.data, buf.size)) {
            /* Give the bye a moment to leave, so the leases are released at once. */
            int linger = 500;
            zmq_setsockopt(j->sock, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close(j->sock);
            j->sock = NULL;
        }
        msgpack_sbuffer_destroy(&buf);
    }
    s_free(j);
    *self_p = NULL;
}

void juror_interrupt(juror_t *j)
{
    if (j)
        j->interrupted = 1;
}

const char *juror_settings(const juror_t *j)
{
    return j->settings;
}

const char *juror_dataset(const juror_t *j)
{
    return j->dataset;
}

const char *juror_annotator(const juror_t *j)
{
    return j->annotator;
}

const char *juror_endpoint(const juror_t *j)
{
    return j->endpoint;
}

bool juror_secure(const juror_t *j)
{
    return j->curve != NULL;
}

uint32_t juror_lease_seconds(const juror_t *j)
{
    return j->lease_seconds;
}

const char *juror_status_name(juror_status status)
{
    switch (status) {
    case JUROR_SUBMITTED:
        return "submitted";
    case JUROR_DISCARDED:
        return "discarded";
    case JUROR_DRAFT:
        return "draft";
    default:
        return NULL;
    }
}

bool juror_status_parse(const char *name, juror_status *out)
{
    for (int s = JUROR_SUBMITTED; s <= JUROR_DRAFT; s++) {
        if (name && strcmp(name, juror_status_name((juror_status)s)) == 0) {
            if (out)
                *out = (juror_status)s;
            return true;
        }
    }
    return false;
}

/* Starts a call: the error message is about this call from here on. */
static jury_err s_begin(juror_t *j)
{
    j->error[0] = '\0';
    if (j->state == S_DEAD) {
        s_seterr(j, "the coordinator refused this juror for good (%s%s%s); destroy it",
                 jury_errname(j->fatal), *j->fatal_reason ? ": " : "", j->fatal_reason);
        return j->fatal;
    }
    return JURY_OK;
}

/* juror_fetch and juror_review_fetch: kind is S_CALL_FETCH or S_CALL_REVIEW_FETCH, name the
 * request's name for messages. */
static jury_err s_fetch_call(juror_t *j, s_call_kind kind, const char *name, uint32_t n,
                             char **records_json, size_t *count)
{
    if (!j || !records_json || !count)
        return JURY_EINVAL;
    jury_err err = s_begin(j);
    if (err != JURY_OK)
        return err;
    if (n < 1 || n > JURY_PROTO_BATCH_MAX) {
        s_seterr(j, "%s: n must be 1 to %d, not %u", name, JURY_PROTO_BATCH_MAX, n);
        return JURY_EINVAL;
    }
    memset(&j->call, 0, sizeof j->call);
    j->call.kind = kind;
    j->call.n = n;
    err = s_run(j, s_call_done, s_now() + j->timeout_ms);
    if (err == JURY_OK)
        err = j->call.err;
    if (err == JURY_OK) {
        *records_json = j->call.json;
        *count = j->call.count;
        j->call.json = NULL;
    } else if (err == JURY_EIO) {
        s_seterr(j, "%s: no answer from %s within %d ms", name, j->endpoint, j->waited_ms);
    }
    free(j->call.json);
    memset(&j->call, 0, sizeof j->call);
    return err;
}

jury_err juror_fetch(juror_t *j, uint32_t n, char **records_json, size_t *count)
{
    return s_fetch_call(j, S_CALL_FETCH, "fetch", n, records_json, count);
}

jury_err juror_review_fetch(juror_t *j, uint32_t n, char **records_json, size_t *count)
{
    return s_fetch_call(j, S_CALL_REVIEW_FETCH, "review_fetch", n, records_json, count);
}

/* Checks a JSON value for what the wire refuses: duplicate keys and deep nesting. */
static int s_cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool s_json_wire_ok(const cJSON *v, int depth, char *why, size_t cap)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return true;
    if (depth > S_VALUES_DEPTH) {
        snprintf(why, cap, "values_json: nested deeper than %d levels", S_VALUES_DEPTH);
        return false;
    }
    if (cJSON_IsObject(v)) {
        /* Sort the keys and compare neighbours: a hostile object with many
         * keys must not cost the square of their number. */
        size_t n = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            n++;
        const char **keys = n ? malloc(n * sizeof *keys) : NULL;
        if (n && !keys) {
            snprintf(why, cap, "out of memory");
            return false;
        }
        size_t k = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            keys[k++] = c->string;
        if (n > 1)
            qsort(keys, n, sizeof *keys, s_cmp_key);
        for (k = 1; k < n; k++)
            if (strcmp(keys[k - 1], keys[k]) == 0) {
                snprintf(why, cap, "values_json: key \"%.200s\" given twice", keys[k]);
                free(keys);
                return false;
            }
        free(keys);
    }
    for (const cJSON *c = v->child; c; c = c->next)
        if (!s_json_wire_ok(c, depth + 1, why, cap))
            return false;
    return true;
}

/* Packs values_json (a JSON object) into *out (malloc'd). Returns JURY_OK or the reason. */
static jury_err s_pack_values(const char *values_json, char **out, size_t *len, char *why,
                              size_t cap)
{
    cJSON *v = cJSON_ParseWithOpts(values_json, NULL, true);
    if (!v || !cJSON_IsObject(v)) {
        snprintf(why, cap, "values_json: %s",
                 v ? "must be a JSON object of answers by question" : "not valid JSON");
        cJSON_Delete(v);
        return JURY_EPROTO;
    }
    if (!s_json_wire_ok(v, 1, why, cap)) {
        cJSON_Delete(v);
        return JURY_EPROTO;
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = jury_jsonpack_pack(&pk, v);
    cJSON_Delete(v);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&buf);
        snprintf(why, cap, "out of memory");
        return JURY_ENOMEM;
    }
    /* The coordinator checks every frame against the wire's limits; so do we, before it goes in
     * a submit with other responses that one bad value would sink. */
    char cwhy[256];
    jury_err err = buf.size > S_FRAME_BUDGET
                       ? JURY_ETOOBIG
                       : jury_proto_check(buf.data, buf.size, cwhy, sizeof cwhy);
    if (err != JURY_OK) {
        if (buf.size > S_FRAME_BUDGET)
            snprintf(why, cap, "values_json: %zu bytes packed; at most %zu fit in a frame",
                     buf.size, S_FRAME_BUDGET);
        else
            snprintf(why, cap, "values_json: %s", cwhy);
        msgpack_sbuffer_destroy(&buf);
        return err;
    }
    *len = buf.size;
    *out = msgpack_sbuffer_release(&buf);
    return JURY_OK;
}

jury_err juror_submit(juror_t *j, const char *record, juror_status status, const char *values_json,
                      int64_t *lease_expires_ms)
{
    if (!j)
        return JURY_EINVAL;
    jury_err err = s_begin(j);
    if (err != JURY_OK)
        return err;
    if (!s_id_ok(record)) {
        s_seterr(j, "submit: the record id must be 1 to %d bytes of UTF-8", JURY_PROTO_ID_MAX);
        return JURY_EINVAL;
    }
    if (!juror_status_name(status)) {
        s_seterr(j, "submit: status %d is not submitted, discarded or draft", (int)status);
        return JURY_EINVAL;
    }
    char *values = NULL;
    size_t values_len = 0;
    /* A discard needs no values; the others send an empty map for none. */
    if (values_json || status != JUROR_DISCARDED) {
        char why[400];
        err =
            s_pack_values(values_json ? values_json : "{}", &values, &values_len, why, sizeof why);
        if (err != JURY_OK) {
            s_seterr(j, "%s", why);
            return err;
        }
    }
    if (j->npend == j->cappend) {
        size_t ncap = j->cappend ? j->cappend * 2 : 16;
        s_pending_t *p = realloc(j->pend, ncap * sizeof *p);
        if (!p) {
            free(values);
            s_seterr(j, "out of memory");
            return JURY_ENOMEM;
        }
        j->pend = p;
        j->cappend = ncap;
    }
    char *rec = strdup(record);
    if (!rec) {
        free(values);
        s_seterr(j, "out of memory");
        return JURY_ENOMEM;
    }
    bool fetched;
    uint64_t session = s_fetched_session(j, rec, status != JUROR_DRAFT, &fetched);
    s_pending_t *p = &j->pend[j->npend++];
    *p = (s_pending_t){.id = j->next_pend_id++,
                       .record = rec,
                       .status = status,
                       .values = values,
                       .values_len = values_len,
                       .session = session,
                       .counts = fetched && status == JUROR_SUBMITTED};
    j->watch.id = p->id;
    j->watch.done = false;
    j->watch.err = JURY_OK;
    j->watch.lease_expires = 0;
    s_send_pending(j);
    err = s_run(j, s_watch_done, s_now() + j->timeout_ms);
    if (err == JURY_OK) {
        err = j->watch.err;
        if (err == JURY_OK && lease_expires_ms)
            *lease_expires_ms = j->watch.lease_expires;
    } else if (err == JURY_EIO) {
        s_seterr(j,
                 "submit: no acknowledgement for record '%s' within %d ms; it is kept and sent "
                 "again",
                 record, j->waited_ms);
    }
    j->watch.id = 0;
    return err;
}

jury_err juror_review_submit(juror_t *j, const char *record, bool accept, const char *values_json,
                             const char *note)
{
    if (!j)
        return JURY_EINVAL;
    jury_err err = s_begin(j);
    if (err != JURY_OK)
        return err;
    if (!s_id_ok(record)) {
        s_seterr(j, "review_submit: the record id must be 1 to %d bytes of UTF-8",
                 JURY_PROTO_ID_MAX);
        return JURY_EINVAL;
    }
    size_t note_len = note ? strlen(note) : 0;
    if (note_len > JURY_PROTO_REASON_MAX) {
        s_seterr(j, "review_submit: note: %zu bytes; at most %d fit", note_len,
                 JURY_PROTO_REASON_MAX);
        return JURY_ETOOBIG;
    }
    if (note_len && !jury_utf8_valid(note, note_len, NULL)) {
        s_seterr(j, "review_submit: note: not valid UTF-8");
        return JURY_EINVAL;
    }
    if (accept && !values_json) {
        s_seterr(j, "review_submit: accepting record '%s' needs values_json, the final answers",
                 record);
        return JURY_EINVAL;
    }
    char *values = NULL;
    size_t values_len = 0;
    /* A rejection keeps the record out of the final datasets: values would mean nothing. */
    if (accept) {
        char why[400];
        err = s_pack_values(values_json, &values, &values_len, why, sizeof why);
        if (err != JURY_OK) {
            s_seterr(j, "%s", why);
            return err;
        }
    }
    memset(&j->call, 0, sizeof j->call);
    j->call.kind = S_CALL_REVIEW_SUBMIT;
    j->call.record = record;
    j->call.accept = accept;
    j->call.values = values;
    j->call.values_len = values_len;
    j->call.note = note;
    /* On a new session (a lost connection, ENOSESSION, a goodbye) s_send_call sends the same
     * decision again: the coordinator acknowledges an identical decision again (SPEC 9.7). */
    err = s_run(j, s_call_done, s_now() + j->timeout_ms);
    if (err == JURY_OK)
        err = j->call.err;
    else if (err == JURY_EIO)
        s_seterr(j,
                 "review_submit: no acknowledgement for record '%s' within %d ms; it may or may "
                 "not be stored: send the same decision again",
                 record, j->waited_ms);
    free(j->call.values);
    memset(&j->call, 0, sizeof j->call);
    return err;
}

const char *juror_role(const juror_t *j)
{
    return j ? j->role : "";
}

jury_err juror_release(juror_t *j, const char *const *ids, size_t count)
{
    if (!j)
        return JURY_EINVAL;
    jury_err err = s_begin(j);
    if (err != JURY_OK)
        return err;
    if (!ids || count < 1 || count > JURY_PROTO_BATCH_MAX) {
        s_seterr(j, "release: give 1 to %d record ids", JURY_PROTO_BATCH_MAX);
        return JURY_EINVAL;
    }
    for (size_t i = 0; i < count; i++)
        if (!s_id_ok(ids[i])) {
            s_seterr(j, "release: ids[%zu]: a record id is 1 to %d bytes of UTF-8", i,
                     JURY_PROTO_ID_MAX);
            return JURY_EINVAL;
        }
    memset(&j->call, 0, sizeof j->call);
    j->call.kind = S_CALL_RELEASE;
    j->call.ids = ids;
    j->call.nids = count;
    err = s_run(j, s_call_done, s_now() + j->timeout_ms);
    if (err == JURY_OK)
        err = j->call.err;
    else if (err == JURY_EIO)
        s_seterr(j, "release: no answer from %s within %d ms", j->endpoint, j->waited_ms);
    for (size_t i = 0; err == JURY_OK && i < count; i++)
        (void)s_fetched_session(j, ids[i], true, NULL);
    memset(&j->call, 0, sizeof j->call);
    return err;
}

jury_err juror_flush(juror_t *j)
{
    if (!j)
        return JURY_EINVAL;
    jury_err err = s_begin(j);
    if (err != JURY_OK)
        return err;
    /* Waiting is the point: whatever waits for a resend goes now. */
    j->resend_at = 0;
    s_send_pending(j);
    err = s_run(j, s_all_acknowledged, s_now() + j->timeout_ms);
    if (err == JURY_EIO) {
        s_seterr(j, "flush: %zu responses still unacknowledged after %d ms", j->npend,
                 j->waited_ms);
        return err;
    }
    if (err != JURY_OK)
        return err;
    if (j->lost_err != JURY_OK) {
        err = j->lost_err;
        s_seterr(j, "%s", j->lost_reason);
        j->lost_err = JURY_OK;
        j->lost_reason[0] = '\0';
    }
    return err;
}

size_t juror_pending(const juror_t *j)
{
    return j ? j->npend : 0;
}

int juror_fd(const juror_t *j)
{
    if (!j || !j->sock)
        return -1;
    int fd = -1;
    size_t len = sizeof fd;
    if (zmq_getsockopt(j->sock, ZMQ_FD, &fd, &len) != 0)
        return -1;
    return fd;
}

int juror_timeout_ms(const juror_t *j)
{
    if (!j || j->state == S_DEAD)
        return 1000;
    if (j->sock) {
        /* ZMQ_FD is edge-triggered: a message already queued would never wake a poll. */
        int events = 0;
        size_t len = sizeof events;
        if (zmq_getsockopt(j->sock, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN))
            return 0;
    }
    int64_t d = s_due(j) - s_now();
    return d <= 0 ? 0 : d > INT_MAX ? INT_MAX : (int)d;
}

jury_err juror_tick(juror_t *j)
{
    if (!j)
        return JURY_EINVAL;
    s_receive(j);
    s_service(j);
    if (j->state == S_DEAD)
        return j->fatal;
    return j->state == S_UP ? JURY_OK : JURY_EIO;
}

bool juror_connected(const juror_t *j)
{
    return j && j->state == S_UP;
}

const char *juror_error(const juror_t *j)
{
    return j ? j->error : "";
}

void juror_progress(const juror_t *j, juror_progress_t *out)
{
    *out = j->progress;
}
