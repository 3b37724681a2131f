/* serve.h: `jury serve`: the coordinator's event loop: one ROUTER socket, every LMDB write, all
 * datasets of a store. */
#ifndef JURY_SERVE_H
#define JURY_SERVE_H

#include <signal.h>
#include <stdbool.h>

#include "jury_err.h"
#include "jury_log.h"
#include "jury_store.h"

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
} jury_serve_opts_t;

/*
 * Serves the store until *opts->stop becomes non-zero: binds a ROUTER
 * socket, answers workers per protocol/SPEC.md, assigns records with leases,
 * and commits every response before acknowledging it (all submits of one
 * loop turn in one transaction). On stop it answers nothing new, says
 * goodbye to every session and returns JURY_OK. Writes a live status file
 * (serve.status) into the store directory each second for `jury status`.
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
