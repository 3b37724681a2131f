/* juror.h: libjuror, the client library that connects an annotation frontend to a jury coordinator.
 */
#ifndef JUROR_H
#define JUROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"

/*
 * A juror is one annotator working on one dataset through one coordinator
 * (protocol/SPEC.md). The frontend deals in records and answers as JSON
 * text; the juror does what the protocol asks behind the scenes:
 *
 *  - heartbeats, sent while any call waits and from juror_tick;
 *  - reconnecting with backoff (0.5 s doubling to 30 s, each delay jittered
 *    down by up to half) when the coordinator stops answering for 3 heartbeat
 *    intervals or says goodbye, and at once when it answers ENOSESSION (it
 *    restarted or forgot the connection); every attempt opens a new socket and
 *    a new session as the same annotator;
 *  - keeping every response until the coordinator acknowledges it, and
 *    sending unacknowledged ones again after a reconnect (safe: a response is
 *    unique per record and annotator, and an identical resubmit is accepted).
 *
 * Every call blocks until it is answered or opts.timeout_ms passes. For an
 * event loop (a terminal UI waiting on the keyboard, a web server), poll
 * juror_fd() for reading together with your own descriptors, at most
 * juror_timeout_ms() long, and call juror_tick() when it is readable or the
 * time is up: that keeps the session alive while nobody calls anything else.
 *
 * A juror belongs to one thread. Errors are jury_err codes (jury_err.h);
 * juror_error() gives the last one's message, e.g. the coordinator's reason
 * "/values/quality: 9 is not one of the rating values 1, 2, 3, 4, 5".
 *
 * Some refusals are final: the coordinator no longer knows the dataset (a
 * reconnect's hello gets ENOTFOUND), refuses the names (EINVAL), speaks
 * another protocol version (EVERSION), sent the juror away for malformed
 * messages (goodbye EPROTO), or refuses this annotator access (EPERM: its
 * key is unknown or disabled, it may not work on the dataset, or its access
 * was withdrawn during the session; but not the EPERM that answers a review
 * call of an annotator who may not review). Then the juror stops trying and
 * every call returns that code; destroy it.
 *
 * Security (SPEC section 10): a coordinator serves CURVE unless it runs
 * with --insecure. Give the juror the annotator's key file (key_file, as
 * `jury annotator add` writes it: it names the annotator, holds its keypair
 * and the coordinator's public key, and usually the endpoint), or the three
 * keys in memory; the connection is then encrypted and the coordinator
 * knows the annotator by its key. Without keys the juror speaks plaintext,
 * which only an --insecure coordinator accepts.
 */
typedef struct juror juror_t;

/* How to connect. Zero-initialise, then set what you need. */
typedef struct {
    const char *endpoint;  /* coordinator, e.g. "tcp://127.0.0.1:5555" (required unless the key
                              file names one; when given it overrides the key file's) */
    const char *dataset;   /* dataset name (required) */
    const char *annotator; /* annotator name (required unless key_file; with key_file it must be
                              NULL or the key file's name) */
    const char *agent; /* client software for the coordinator's logs; NULL: "libjuror/VERSION" */
    int timeout_ms;    /* longest a call waits for an answer, across reconnects; 0: 30000 */
    int heartbeat_ms;  /* heartbeat before the welcome says otherwise; 0: 1000 */
    unsigned seed;     /* seed of the reconnect jitter; 0: from the clock */
    /* CURVE from a key file (`jury annotator add`), read once by juror_connect; a file that its
     * group or others may read is refused (EPERM). NULL: see the keys below. */
    const char *key_file;
    /* CURVE from keys in memory, 32 bytes each, all three or none (and not with key_file); the
     * juror copies them, the secret into guarded memory (sodium_malloc) that it wipes when
     * destroyed. None and no key_file: plaintext. */
    const unsigned char *server_key; /* the coordinator's public key */
    const unsigned char *public_key; /* the annotator's public key */
    const unsigned char *secret_key; /* the annotator's secret key */
    /* Gateway (SPEC section 10.4): act for `annotator`, who does not own the key, with that
     * person's web token ("NAME:SECRET", from `jury annotator add --web-token`), which the
     * coordinator checks. The key (key_file or in memory) must then be a gateway's, and annotator
     * is required and names the person. NULL: the juror acts as the key's owner. */
    const char *web_token;
} juror_opts_t;

/* libjuror's version, "MAJOR.MINOR.PATCH". */
const char *juror_version(void);

/*
 * Connects and opens a session (hello, welcome). Blocks until the welcome
 * arrives or opts->timeout_ms passes; a coordinator that is not up yet, or
 * answers EBUSY, is retried with backoff within that time. Returns JURY_OK
 * and a new juror in *out, which the caller owns and must destroy. Errors:
 * JURY_EINVAL (missing options, names over 200 bytes or not UTF-8, an
 * endpoint ZeroMQ cannot parse, names the coordinator refuses, a key file
 * that is not an annotator's or names another annotator, keys given
 * halfway), JURY_ENOTFOUND (no such dataset, or no such key file),
 * JURY_EPERM (the coordinator refused the key or the dataset, or the key
 * file's mode lets others read it), JURY_EIO (no answer in time),
 * JURY_EPROTO / JURY_EVERSION (the coordinator refused the hello), JURY_ENOMEM.
 * On failure *out is untouched and, when errmsg is not NULL, the reason is
 * written there (at most errcap bytes, NUL-terminated): the coordinator's own
 * reason when it refused, e.g. "hello: dataset: no dataset 'x' in this store".
 * opts and its strings are borrowed for the call (the juror keeps copies).
 */
JURY_MUST_CHECK jury_err juror_connect(juror_t **out, const juror_opts_t *opts, char *errmsg,
                                       size_t errcap);

/*
 * Says bye (the coordinator releases this annotator's leases), closes the
 * connection, frees everything and sets *self_p to NULL. Responses still
 * unacknowledged are lost: call juror_flush first to wait for them.
 * Accepts NULL; safe twice.
 */
void juror_destroy(juror_t **self_p);

/*
 * For a SIGINT or SIGTERM handler (async-signal-safe: it only sets a flag):
 * from now on no call waits more than 2 s for its answer, the call in
 * progress included, which then fails as a timeout does (JURY_EIO, the
 * error naming the 2,000 ms). With a live coordinator, calls still get their
 * answers, so a program can finish what it has in hand (submit, release,
 * juror_flush) and stop within seconds even when the coordinator is gone.
 * There is no undoing it. Accepts NULL.
 */
void juror_interrupt(juror_t *j);

/*
 * The dataset's settings as annotators see them, as JSON text (the shape of
 * `jury dataset show`: guidelines, fields, questions, visible metadata,
 * distribution). Borrowed: valid until the juror is destroyed.
 */
const char *juror_settings(const juror_t *j);

/* The session's dataset and annotator names, the coordinator's endpoint, and the lease length in
 * seconds. Borrowed. */
const char *juror_dataset(const juror_t *j);
const char *juror_annotator(const juror_t *j);
const char *juror_endpoint(const juror_t *j);

/* Whether the connection uses CURVE (encrypted, the annotator known by its key). */
bool juror_secure(const juror_t *j);
uint32_t juror_lease_seconds(const juror_t *j);

/* How far the annotator and the dataset are, as the coordinator last said (welcome, batch). */
typedef struct {
    bool known;         /* the coordinator has said; false with an older coordinator */
    uint64_t submitted; /* this annotator's submitted responses in the dataset */
    uint64_t completed; /* the dataset's completed records */
    uint64_t records;   /* the dataset's records */
} juror_progress_t;

/* Stores in *out the progress of the last welcome or batch, plus the responses this juror has
 * had acknowledged as submitted since (so it stays current between fetches). */
void juror_progress(const juror_t *j, juror_progress_t *out);

/* Response statuses, as in the protocol. */
typedef enum {
    JUROR_SUBMITTED = 0, /* final answer */
    JUROR_DISCARDED = 1, /* skip: this annotator will not see the record again */
    JUROR_DRAFT = 2      /* work in progress; extends the lease */
} juror_status;

/* "submitted", "discarded", "draft"; NULL when out of range. */
const char *juror_status_name(juror_status status);

/* Parses a status name. Returns false when name is not one of the three. */
bool juror_status_parse(const char *name, juror_status *out);

/*
 * Asks for up to n (1..100) leased records. On success stores in *records_json
 * a JSON array, which the caller frees with free(), of objects
 *   {"id": "...", "fields": {...}, "suggestions": {...}, "metadata": {...},
 *    "lease_expires": "2026-11-27T23:59:59.123Z", "draft": {...} or null}
 * and their number in *count (0: nothing is available for this annotator
 * now). lease_expires is ISO 8601 UTC with milliseconds, by the coordinator's
 * clock; metadata holds only what annotators may see; draft is this
 * annotator's saved draft values. After a reconnect, records still leased to
 * this annotator come first. A record JSON cannot hold (a string with a NUL
 * byte) is released and left out, noted in juror_error. A fetch is sent again
 * on a new session when the connection is lost meanwhile; a batch that arrives
 * after its fetch gave up is released. Errors: JURY_EINVAL (n out of range),
 * JURY_EIO (no answer in time), JURY_EPROTO (the reply is malformed), or the
 * coordinator's error code (see juror_error).
 */
JURY_MUST_CHECK jury_err juror_fetch(juror_t *j, uint32_t n, char **records_json, size_t *count);

/*
 * Sends one response to record `record` and waits for its acknowledgement:
 * JURY_OK means it is on the coordinator's disk. values_json is a JSON
 * object of answers by question name (NULL or "{}" is fine for a discard; a
 * draft may be partial; NULL for the others means "{}"). When the response
 * is a draft, *lease_expires_ms (if not NULL) receives the extended lease, ms
 * since the Unix epoch; it is 0 for the other statuses. Strings are borrowed
 * for the call. Resubmitting the same final response is accepted (JURY_OK).
 * Errors: the coordinator's per-response code — JURY_EINVAL (the values
 * break the dataset's rules), JURY_ENOTLEASED, JURY_ENOTFOUND, JURY_EEXIST —
 * with its reason in juror_error; these drop the response. JURY_EINVAL also
 * for a record id that is not 1..500 bytes of UTF-8 or a bad status;
 * JURY_EPROTO (values_json is not a JSON object, or breaks a wire rule: a key
 * given twice, invalid UTF-8, nesting deeper than 29) and JURY_ETOOBIG (values
 * over a wire limit), refused before sending. Passing coordinator faults —
 * JURY_EINTERNAL, JURY_EFULL, JURY_EBUSY, JURY_ENOMEM, or a code this build
 * does not know (reported as JURY_EINTERNAL) — and JURY_EIO (no
 * acknowledgement in time) keep the response: it is sent again by later calls
 * and juror_tick (after a pause, or at once on a reconnect or juror_flush)
 * until it is acknowledged or refused.
 */
JURY_MUST_CHECK jury_err juror_submit(juror_t *j, const char *record, juror_status status,
                                      const char *values_json, int64_t *lease_expires_ms);

/*
 * Gives leased records back without answering. ids has count (1..100)
 * entries. Returns JURY_OK when every one was released; otherwise the first
 * failure's code (JURY_ENOTLEASED, JURY_ENOTFOUND) with its reason in
 * juror_error — the others were still released.
 */
JURY_MUST_CHECK jury_err juror_release(juror_t *j, const char *const *ids, size_t count);

/*
 * The session's role as the last welcome gave it: "annotator", "reviewer" or "admin" (or a newer
 * role, at most 32 bytes: treat one you do not know like "annotator"); "" when that welcome did
 * not say (coordinators before review). Each reconnect's welcome replaces it. Offer review to
 * "reviewer" and "admin"; juror_review_fetch answers JURY_EPERM to the others. Borrowed: valid
 * until the next call on j. "" for NULL.
 */
const char *juror_role(const juror_t *j);

/*
 * Review (SPEC.md 9.7). Asks for up to n (1..100) records of the dataset that
 * wait for a reviewer, review-leased to this annotator (for lease_seconds;
 * juror_release gives them back), who must have the reviewer or admin role.
 * On success *records_json (caller frees with free()) is a JSON array of
 * objects shaped like juror_fetch's records without "draft", plus
 *   "why": ["contested", "rejected"] (one or both; a newer coordinator may
 *          add other words),
 *   "reason": the consolidation's rejection reason or null,
 *   "unified": {question: value} from the last consolidation, or null,
 *   "responses": [{"annotator": "...", "status": "submitted"|"discarded",
 *                  "values": {...} or null, "updated": ISO 8601 UTC with ms}]
 * in this key order, e.g.
 *   [{"id":"r1","fields":{"text":"one"},"suggestions":{},"metadata":{},
 *     "lease_expires":"2026-01-01T00:00:00.000Z","why":["contested"],
 *     "reason":null,"unified":null,"responses":[{"annotator":"alice",
 *     "status":"submitted","values":{"label":"pos"},
 *     "updated":"2025-12-31T23:50:00.123Z"}]}]
 * and *count their number (0: nothing waits now). Errors as juror_fetch, and
 * JURY_EPERM when the annotator may not review (the coordinator's reason in
 * juror_error): unlike an EPERM for anything else this one is not final, the
 * session goes on. Records JSON cannot hold and a review_batch that arrives
 * after its call gave up are released, as for juror_fetch.
 */
JURY_MUST_CHECK jury_err juror_review_fetch(juror_t *j, uint32_t n, char **records_json,
                                            size_t *count);

/*
 * Sends a reviewer's final decision on record and waits until the coordinator
 * has it on disk (JURY_OK): accept true with values_json (a JSON object
 * answering every required question, as a submitted response; a ranking
 * without ties), or accept false to keep the record out of the final datasets
 * (values_json is then ignored and may be NULL). note (NULL or "" for none,
 * at most 1024 bytes of UTF-8) is kept with the decision. Strings are
 * borrowed for the call. Unlike juror_submit nothing is kept after the call
 * returns: the decision is sent again only within the call, on a new session
 * when the connection is lost (or the coordinator answers ENOSESSION or says
 * goodbye) before its acknowledgement, until opts.timeout_ms; the coordinator
 * acknowledges an identical decision again (SPEC.md 9.7), so calling again
 * with the same arguments after JURY_EIO or a passing fault is safe.
 * Errors: the coordinator's code with its reason in juror_error —
 * JURY_EINVAL (the values break the dataset's rules; names the question),
 * JURY_ENOTLEASED (review-leased to another reviewer, or no longer waiting),
 * JURY_EEXIST (decided otherwise already), JURY_ENOTFOUND, JURY_EPERM (may not
 * review; not final, the session goes on), JURY_EPROTO, or a passing fault
 * (JURY_EINTERNAL, JURY_EFULL, JURY_EBUSY; an unknown code is EINTERNAL).
 * Refused before sending: JURY_EINVAL (a record id that is not 1..500 bytes
 * of UTF-8, accept without values_json, a note that is not UTF-8),
 * JURY_EPROTO (values_json not a JSON object, or breaking a wire rule as for
 * juror_submit), JURY_ETOOBIG (a note over 1024 bytes, values over a wire
 * limit). JURY_EIO: no acknowledgement in time; it may or may not be stored.
 */
JURY_MUST_CHECK jury_err juror_review_submit(juror_t *j, const char *record, bool accept,
                                             const char *values_json, const char *note);

/*
 * Sends every kept response now and waits until each is acknowledged or
 * refused. Returns JURY_OK when all were acknowledged; the first refusal
 * (JURY_ENOTLEASED, JURY_EEXIST, ...) since the last juror_flush among
 * responses whose juror_submit did not report it (it had returned JURY_EIO or
 * a passing fault), with "record 'ID': reason" in juror_error — refused
 * responses are dropped; JURY_EIO when some are still unacknowledged after
 * opts.timeout_ms (they stay kept); or a final error (see above).
 */
JURY_MUST_CHECK jury_err juror_flush(juror_t *j);

/* Responses kept: submitted but neither acknowledged nor refused yet. */
size_t juror_pending(const juror_t *j);

/*
 * For event loops: a file descriptor that becomes readable when the juror
 * has something to do (ZeroMQ's ZMQ_FD: edge-triggered, so always call
 * juror_tick when it fires). Each reconnect opens a new socket, so the
 * descriptor changes: ask for it again before every poll. -1 while
 * reconnecting between sockets: then rely on juror_timeout_ms. Borrowed:
 * never read, write or close it.
 */
int juror_fd(const juror_t *j);

/*
 * Milliseconds until juror_tick must run next (heartbeat, liveness check,
 * resend or reconnect due); 0: now, also when messages are already waiting
 * (which an edge-triggered descriptor would not report again).
 */
int juror_timeout_ms(const juror_t *j);

/*
 * Does what is due without blocking: reads what arrived (heartbeats,
 * acknowledgements, goodbye), sends a heartbeat, reconnects, resends
 * unacknowledged responses. Returns JURY_OK while the session is up,
 * JURY_EIO while it is not (the juror keeps trying), or a final error.
 * Does not reset juror_error, which keeps what happened in the background
 * (a goodbye, a reconnect, an ignored malformed message).
 */
JURY_MUST_CHECK jury_err juror_tick(juror_t *j);

/* Whether the session is up now (false while reconnecting). */
bool juror_connected(const juror_t *j);

/*
 * The message of the last error; "" when none. juror_fetch, juror_submit,
 * juror_release, juror_flush, juror_review_fetch and juror_review_submit
 * reset it when they start; a successful juror_connect leaves it "".
 * Borrowed until the next call.
 */
const char *juror_error(const juror_t *j);

#endif
