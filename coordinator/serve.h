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
} jury_serve_opts_t;

/*
 * Serves the store until *opts->stop becomes non-zero: binds a ROUTER
 * socket, answers workers per protocol/SPEC.md, assigns records with leases,
 * and commits every response before acknowledging it (all submits of one
 * loop turn in one transaction). On stop it answers nothing new, says
 * goodbye to every session and returns JURY_OK. Writes a live status file
 * (serve.status) into the store directory each second for `jury status`.
 * Errors: JURY_EINVAL (the endpoint cannot be bound; logged with the
 * reason), JURY_ENOMEM, or a store error that stops the loop.
 */
JURY_MUST_CHECK jury_err jury_serve_run(jury_store_t *store, const jury_serve_opts_t *opts);

/* Name of the live status file inside a store directory. */
#define JURY_SERVE_STATUS_FILE "serve.status"

#endif
