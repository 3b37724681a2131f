/* serve.h: `jury serve`: the coordinator's event loop: one ROUTER socket, every LMDB write, all
 * datasets of a store. */
#ifndef JURY_SERVE_H
#define JURY_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"
#include "jury_log.h"
#include "jury_store.h"
#include "metrics.h"

/* Options of jury_serve_run. */
typedef struct {
    const char *bind;            /* ZeroMQ endpoint to bind, e.g. "tcp://127.0.0.1:5555" */
    int heartbeat_ms;            /* heartbeat interval; a peer silent 3 intervals is dead */
    jury_log_level log_level;    /* session events at or above this level are logged */
    volatile sig_atomic_t *stop; /* set (by a signal handler) to stop; checked every turn */
    /* The coordinator's CURVE secret key (32 bytes, borrowed: keep it in sodium_malloc memory
     * and wipe it after jury_serve_run returns). NULL: plaintext, only with insecure. */
    const unsigned char *secret_key;
    const unsigned char *public_key; /* its public key (32 bytes, borrowed), for the log; or NULL */
    bool insecure; /* plaintext development mode: no keys, the identity comes from hello */
    /* Limits on what one connection may ask for (protocol/SPEC.md, section 4, "Limits of a
     * coordinator"). 0 takes the default below. */
    size_t max_message_bytes;  /* largest frame read; larger ones get ETOOBIG, and frames over
                                * twice this make ZeroMQ close the connection (ZMQ_MAXMSGSIZE) */
    uint32_t batch_max;        /* most records per fetch, sent in welcome (1..100) */
    uint32_t max_leases;       /* most leases one annotator holds, over every dataset */
    size_t max_response_bytes; /* largest response values (msgpack bytes) a submit may carry */
    uint32_t max_rate;         /* messages per second one connection may send, on average */
    uint32_t burst;            /* messages one connection may send at once (the bucket's size) */
    uint32_t abuse_max;        /* limit violations within abuse_window_ms that end the session */
    uint32_t abuse_window_ms;  /* the window abuse_max is counted over */
    uint32_t max_malformed;  /* unreadable messages a connection may send before it is sent away */
    jury_metrics_t *metrics; /* the registry to update (borrowed; coordinator/metrics.h), or NULL */
} jury_serve_opts_t;

/* The defaults of the limits in jury_serve_opts_t. */
#define JURY_SERVE_MAX_MESSAGE_BYTES  ((size_t)4 << 20)
#define JURY_SERVE_MAX_LEASES         1000u
#define JURY_SERVE_MAX_RESPONSE_BYTES ((size_t)1 << 20)
#define JURY_SERVE_MAX_RATE           2000u
#define JURY_SERVE_BURST              4000u
#define JURY_SERVE_ABUSE_MAX          100u
#define JURY_SERVE_ABUSE_WINDOW_MS    10000u
#define JURY_SERVE_MAX_MALFORMED      10u
/* How long a connection sent away (malformed messages, abuse) is ignored, in milliseconds. */
#define JURY_SERVE_BAN_MS 60000

/*
 * Serves the store until *opts->stop becomes non-zero: binds a ROUTER
 * socket, answers workers per protocol/SPEC.md, assigns records with leases,
 * and commits every response before acknowledging it (all submits of one
 * loop turn in one transaction). On stop it answers nothing new, says
 * goodbye to every session and returns JURY_OK. Writes a live status file
 * (serve.status) into the store directory each second for `jury status`.
 *
 * Review (SPEC 9.7): welcome says the session's role; a record that dynamic
 * overlap contests joins the store's review queue in the transaction that
 * contests it; reviewers and admins (their role read at each request) get
 * queued records with review leases, held in memory like answering leases,
 * and their decisions are committed with the turn's responses: the review,
 * the record out of the queue, and the consolidation decision it makes.
 *
 * With opts->secret_key the socket is a CURVE server and a ZAP handler
 * (ZeroMQ RFC 27, polled in the same loop) admits only the registered keys
 * of enabled annotators; each session runs as the key's annotator, only on
 * datasets granted to it (admins: every dataset), and sessions that lose
 * their access (disabled, key replaced, grant revoked: the store's access
 * version is read every 500 ms) are cut and their leases released. Refused
 * keys and cut sessions go to the audit log (STORE/audit.log). With
 * opts->insecure and no key, plaintext: hello names the annotator, nothing
 * is checked, and annotators are created on first hello.
 *
 * Limits (the opts fields after insecure; 0 takes the JURY_SERVE_ default):
 * a message over max_message_bytes gets ETOOBIG unread; one over the
 * connection's rate (a token bucket of burst messages refilled at max_rate a
 * second) gets ELIMIT unread; a fetch gets at most batch_max records and no
 * new lease beyond max_leases held by the annotator (ELIMIT when it gets
 * nothing for that reason); a response whose values are over
 * max_response_bytes gets ETOOBIG in its result. Each such refusal is a
 * violation; abuse_max of them within abuse_window_ms send the connection
 * away (goodbye ELIMIT, its session ended and leases released, everything
 * it sends ignored for JURY_SERVE_BAN_MS, an abuse.disconnect audit line),
 * as max_malformed unreadable messages do (goodbye EPROTO).
 *
 * Errors: JURY_EINVAL (the endpoint cannot be bound, this libzmq has no
 * CURVE, or neither secret_key nor insecure is set; logged with the
 * reason), JURY_ENOMEM, or a store error that stops the loop.
 */
JURY_MUST_CHECK jury_err jury_serve_run(jury_store_t *store, const jury_serve_opts_t *opts);

/*
 * Whether endpoint is only reachable from this machine, so that plaintext is
 * acceptable: tcp://127.0.0.1:PORT, tcp://[::1]:PORT, tcp://localhost:PORT
 * (PORT digits or '*'; jury_serve_run binds localhost as 127.0.0.1), ipc://...
 * and inproc://... Anything else (other addresses, interface names, '*',
 * other transports) is not.
 */
bool jury_serve_endpoint_is_local(const char *endpoint);

/* Name of the live status file inside a store directory. */
#define JURY_SERVE_STATUS_FILE "serve.status"

#endif
