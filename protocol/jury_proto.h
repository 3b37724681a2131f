/* jury_proto.h: the jury wire protocol (SPEC.md): limits, strict decoding, encoding of bodies. */
#ifndef JURY_PROTO_H
#define JURY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "jury_err.h"

/*
 * Every message is one ZeroMQ frame holding one msgpack map with at least
 * "v" (the protocol version) and "cmd" (the command name). A worker's DEALER
 * sends the frame alone; the coordinator's ROUTER sees it behind the peer's
 * routing id and answers the same way. See protocol/SPEC.md.
 */

/* The protocol version this build speaks. An incompatible change bumps it. */
#define JURY_PROTO_VERSION 1

/* Largest frame either side accepts, in bytes. */
#define JURY_PROTO_FRAME_MAX ((size_t)8 << 20)
/* Most records per fetch/batch, responses per submit, ids per release. */
#define JURY_PROTO_BATCH_MAX 100
/* Deepest nesting of maps and arrays in a frame. */
#define JURY_PROTO_DEPTH_MAX 32
/* Most msgpack objects (of any kind, at any depth) in one frame. */
#define JURY_PROTO_OBJECTS_MAX 200000
/* Longest string anywhere in a frame, in bytes. */
#define JURY_PROTO_STR_MAX ((size_t)1 << 20)
/* Longest name (annotator, dataset) and record id, in bytes. */
#define JURY_PROTO_NAME_MAX 200
#define JURY_PROTO_ID_MAX   500
/* Longest web token in hello (a gateway acting for an annotator), in bytes. */
#define JURY_PROTO_TOKEN_MAX 512
/* Longest error reason, in bytes. */
#define JURY_PROTO_REASON_MAX 1024
/* Longest error code name ("ENOTLEASED"), in bytes; also the longest word of a review_batch
 * record's "why". */
#define JURY_PROTO_CODE_MAX 32
/* Longest role in welcome ("annotator", "reviewer", "admin", or a newer one), in bytes. */
#define JURY_PROTO_ROLE_MAX 32
/* Most words in a review_batch record's "why" ("contested", "rejected", or newer ones). */
#define JURY_PROTO_WHY_MAX 16
/* Largest request id: 2^53, so that every JavaScript or Lua number can hold it. */
#define JURY_PROTO_REQ_MAX ((uint64_t)1 << 53)

/* Commands: worker to coordinator first, then coordinator to worker; the review commands
 * (SPEC.md 9.7), added later, come last. */
typedef enum {
    JURY_CMD_HELLO = 0,          /* "hello": open a session for an annotator on a dataset */
    JURY_CMD_FETCH = 1,          /* "fetch": ask for up to n leased records */
    JURY_CMD_SUBMIT = 2,         /* "submit": one or more responses */
    JURY_CMD_RELEASE = 3,        /* "release": give leased records back */
    JURY_CMD_HEARTBEAT = 4,      /* "heartbeat": either direction, no reply */
    JURY_CMD_BYE = 5,            /* "bye": the worker leaves; its leases are released */
    JURY_CMD_WELCOME = 6,        /* "welcome": reply to hello, with the dataset's settings */
    JURY_CMD_BATCH = 7,          /* "batch": reply to fetch, leased records */
    JURY_CMD_RESULTS = 8,        /* "results": reply to submit and release, one result per item */
    JURY_CMD_ERROR = 9,          /* "error": a request failed as a whole */
    JURY_CMD_GOODBYE = 10,       /* "goodbye": the coordinator ends the session */
    JURY_CMD_REVIEW_FETCH = 11,  /* "review_fetch": a reviewer asks for records to review */
    JURY_CMD_REVIEW_BATCH = 12,  /* "review_batch": reply to review_fetch, with all responses */
    JURY_CMD_REVIEW_SUBMIT = 13, /* "review_submit": a reviewer's final decisions */
    JURY_CMD_COUNT = 14          /* number of commands */
} jury_cmd;

/* The wire name of cmd ("hello", ...), or NULL when out of range. */
const char *jury_proto_cmd_name(jury_cmd cmd);

/* Response statuses on the wire: "submitted", "discarded", "draft". */
typedef enum {
    JURY_PROTO_SUBMITTED = 0, /* final; counts toward the record's target */
    JURY_PROTO_DISCARDED = 1, /* skipped; the annotator will not see the record again */
    JURY_PROTO_DRAFT = 2      /* saved, not final; extends the lease */
} jury_proto_status;

/*
 * A string inside a decoded frame: not NUL-terminated, valid UTF-8, borrowed from the frame. In
 * a decoded field ptr is never NULL: an absent optional string is "" with len 0.
 */
typedef struct {
    const char *ptr; /* first byte */
    uint32_t len;    /* bytes */
} jury_str_t;

/* One response of a submit. */
typedef struct {
    jury_str_t record;            /* the record's external id */
    jury_proto_status status;     /* its status */
    const msgpack_object *values; /* map question -> value; NULL when absent (discards) */
    bool reclaim; /* sent again on a new session: the coordinator may have lost its lease */
} jury_proto_response_t;

/* One result of a submit or release. */
typedef struct {
    jury_str_t record;     /* the record's external id */
    bool ok;               /* accepted */
    jury_str_t code;       /* error code name when !ok ("ENOTLEASED", ...) */
    jury_str_t reason;     /* human-readable reason when !ok */
    int64_t lease_expires; /* accepted draft: the extended lease, ms since the epoch; else 0 */
} jury_proto_result_t;

/* One decision of a review_submit (SPEC.md 6.14). */
typedef struct {
    jury_str_t record;            /* the record's external id */
    bool accept;                  /* true: into the final datasets with values; false: left out */
    const msgpack_object *values; /* map question -> value, no key twice; NULL when absent (nil
                                     counts as absent). Decode refuses an accept without values
                                     and lets a rejection carry some */
    jury_str_t note;              /* optional note, len 0 when absent; at most
                                     JURY_PROTO_REASON_MAX bytes */
} jury_proto_decision_t;

/* How far an annotator and its dataset are (optional in welcome and batch). */
typedef struct {
    bool present;       /* the message carried "progress" */
    uint64_t submitted; /* the session's annotator's submitted responses in the dataset */
    uint64_t completed; /* the dataset's completed records */
    uint64_t records;   /* the dataset's records */
} jury_proto_progress_t;

/*
 * A decoded message. Strings borrow from the frame and msgpack_object pointers from the zone
 * passed to decode: keep both alive (and unchanged) while msg is in use.
 */
typedef struct {
    uint32_t version; /* "v" */
    jury_cmd cmd;     /* "cmd" */
    bool has_req;     /* "req" was present */
    uint64_t req;     /* "req": the request id a reply echoes */
    union {
        struct {
            jury_str_t annotator; /* who annotates (until CURVE: trusted as given) */
            jury_str_t dataset;   /* which dataset */
            jury_str_t agent;     /* optional client software name, len 0 when absent */
            jury_str_t token;     /* optional web token (a gateway acting for annotator), len 0
                                     when absent */
        } hello;
        struct {
            uint32_t n; /* 1..JURY_PROTO_BATCH_MAX */
        } fetch;        /* also review_fetch (same field, same limits) */
        struct {
            uint32_t count;                                    /* 1..JURY_PROTO_BATCH_MAX */
            jury_proto_decision_t items[JURY_PROTO_BATCH_MAX]; /* the decisions */
        } review_submit;
        struct {
            uint32_t count;                                    /* 1..JURY_PROTO_BATCH_MAX */
            jury_proto_response_t items[JURY_PROTO_BATCH_MAX]; /* the responses */
        } submit;
        struct {
            uint32_t count;                           /* 1..JURY_PROTO_BATCH_MAX */
            jury_str_t records[JURY_PROTO_BATCH_MAX]; /* external ids */
        } release;
        struct {
            jury_str_t dataset;             /* dataset name */
            jury_str_t annotator;           /* annotator name */
            const msgpack_object *settings; /* map: the settings annotators see */
            uint32_t heartbeat_ms;          /* heartbeat interval both sides keep */
            uint32_t lease_seconds;         /* lease length */
            uint32_t batch_max;             /* largest n a fetch may ask for */
            jury_proto_progress_t progress; /* optional progress */
            jury_str_t role; /* optional: "annotator", "reviewer", "admin" or a newer role (any
                                0..JURY_PROTO_ROLE_MAX bytes are accepted); len 0 when absent */
        } welcome;
        struct {
            /* array of 0..JURY_PROTO_BATCH_MAX record maps whose fields decode has checked:
             * batch (SPEC.md 6.4): id, fields, suggestions, metadata, lease_expires, draft;
             * review_batch (6.13): the same but draft, plus why (1..JURY_PROTO_WHY_MAX strings
             * of 1..JURY_PROTO_CODE_MAX bytes, unknown words allowed), reason, unified and
             * responses (each annotator, status "submitted" or "discarded", values, updated_ms) */
            const msgpack_object *records;
            jury_proto_progress_t progress; /* optional progress (batch only) */
        } batch;                            /* also review_batch */
        struct {
            uint32_t count;                                  /* 0..JURY_PROTO_BATCH_MAX */
            jury_proto_result_t items[JURY_PROTO_BATCH_MAX]; /* in request order */
        } results;
        struct {
            jury_str_t code;   /* error code name, e.g. "EPROTO" */
            jury_str_t reason; /* human-readable reason */
        } error;               /* also goodbye and bye (bye: code empty, reason optional) */
    } u;
} jury_msg_t;

/*
 * Checks that the len bytes at frame are exactly one well-formed msgpack
 * object within every limit above (size, depth, object count, string length,
 * and container counts that the remaining bytes can actually hold) and that
 * every string in it is valid UTF-8 — all before anything is unpacked, so a
 * hostile frame cannot make the decoder allocate. Map keys must be strings.
 * Returns JURY_OK; JURY_ETOOBIG when the frame is over JURY_PROTO_FRAME_MAX,
 * a string over JURY_PROTO_STR_MAX or the objects over JURY_PROTO_OBJECTS_MAX;
 * JURY_EPROTO for anything else (truncation, trailing bytes, nesting, bad
 * UTF-8, bin or ext objects, non-string keys). The reason (at most whylen
 * bytes, NUL-terminated; why may be NULL) names the byte offset, from 0, and
 * what is wrong there: "byte 17: string is not valid UTF-8". frame is borrowed.
 */
JURY_MUST_CHECK jury_err jury_proto_check(const void *frame, size_t len, char *why, size_t whylen);

/*
 * Checks (jury_proto_check) and decodes frame into *msg, unpacking into
 * zone (which the caller owns, initialises with msgpack_zone_init and
 * clears or destroys when done with msg). Checks the version, the command,
 * and every field's presence, type and limits as SPEC.md states them;
 * unknown keys are ignored (forward compatibility); a known key given twice
 * and a repeated key inside a response's or a decision's values are refused. Returns JURY_OK,
 * or JURY_EPROTO (malformed), JURY_ETOOBIG (over a frame limit, see
 * jury_proto_check), JURY_EVERSION (another protocol version; msg->version is
 * set), JURY_ENOMEM (the zone could not grow) with a reason in why (at most
 * whylen bytes, NUL-terminated; why may be NULL) that names the command and
 * the field: "submit: responses[3].status: must be ...". When the command
 * could be read, msg->cmd and msg->req/has_req are set even on failure, so
 * the reply can name the request; otherwise msg->cmd is JURY_CMD_COUNT.
 * frame is borrowed, but msg's strings point into it (see jury_msg_t).
 */
JURY_MUST_CHECK jury_err jury_proto_decode(const void *frame, size_t len, msgpack_zone *zone,
                                           jury_msg_t *msg, char *why, size_t whylen);

/*
 * Starts a message: packs a map header of 2 + (has_req ? 1 : 0) + extra
 * entries, then "v", "cmd" and (when has_req) "req". The caller then packs
 * exactly `extra` key/value pairs. Returns 0, or a msgpack packer error
 * (-1 also when cmd is out of range).
 */
int jury_proto_pack_header(msgpack_packer *pk, jury_cmd cmd, bool has_req, uint64_t req,
                           uint32_t extra);

/* Packs s (NUL-terminated, not NULL) as a msgpack string. Returns 0 or a packer error. */
int jury_proto_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs the n bytes at s (NULL when n is 0) as a msgpack string. Returns 0 or a packer error. */
int jury_proto_pack_str(msgpack_packer *pk, const char *s, size_t n);

/*
 * Complete messages for the simple commands, appended to buf (which the
 * caller owns). Each returns JURY_OK; JURY_EINVAL when an argument breaks the
 * limits decode enforces (a NULL or empty name, a name, id or code over its
 * limit or not UTF-8, n or count out of range, req over JURY_PROTO_REQ_MAX);
 * or JURY_ENOMEM. On failure buf is left as it was. Reasons are never refused:
 * NULL means empty, and a long or broken one is cut to its longest valid UTF-8
 * prefix of at most JURY_PROTO_REASON_MAX bytes. hello omits agent and bye
 * omits reason when NULL or empty. Strings are borrowed for the call.
 */
JURY_MUST_CHECK jury_err jury_proto_encode_hello(msgpack_sbuffer *buf, uint64_t req,
                                                 const char *annotator, const char *dataset,
                                                 const char *agent);
/* hello from a gateway acting for annotator with that annotator's web token (1..
 * JURY_PROTO_TOKEN_MAX bytes of UTF-8; NULL or empty: a plain hello). */
JURY_MUST_CHECK jury_err jury_proto_encode_hello_token(msgpack_sbuffer *buf, uint64_t req,
                                                       const char *annotator, const char *dataset,
                                                       const char *agent, const char *token);
/* Packs "progress" and its map (the caller counted the entry in its header). 0 or an error. */
int jury_proto_pack_progress(msgpack_packer *pk, const jury_proto_progress_t *p);
JURY_MUST_CHECK jury_err jury_proto_encode_fetch(msgpack_sbuffer *buf, uint64_t req, uint32_t n);
/* review_fetch (SPEC.md 6.12): n 1..JURY_PROTO_BATCH_MAX, as fetch. */
JURY_MUST_CHECK jury_err jury_proto_encode_review_fetch(msgpack_sbuffer *buf, uint64_t req,
                                                        uint32_t n);
JURY_MUST_CHECK jury_err jury_proto_encode_heartbeat(msgpack_sbuffer *buf);
JURY_MUST_CHECK jury_err jury_proto_encode_bye(msgpack_sbuffer *buf, const char *reason);
JURY_MUST_CHECK jury_err jury_proto_encode_error(msgpack_sbuffer *buf, bool has_req, uint64_t req,
                                                 const char *code, const char *reason);
JURY_MUST_CHECK jury_err jury_proto_encode_goodbye(msgpack_sbuffer *buf, const char *code,
                                                   const char *reason);
/* release: ids[i] of lens[i] bytes, count 1..JURY_PROTO_BATCH_MAX. */
JURY_MUST_CHECK jury_err jury_proto_encode_release(msgpack_sbuffer *buf, uint64_t req,
                                                   const char *const *ids, const size_t *lens,
                                                   uint32_t count);

#endif
