/* metrics.h: the coordinator's metrics: a registry the serve loop updates cheaply, rendered in
 * Prometheus text format 0.0.4 by an HTTP server (libmicrohttpd, a thread of its own) at /metrics.
 */
#ifndef JURY_METRICS_H
#define JURY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "jury_err.h"
#include "jury_store.h"

/*
 * The registry holds three kinds of numbers, each updated the cheapest way
 * its use allows:
 *
 *  - counters bumped in hot paths (responses stored, commit latencies, auth
 *    failures): lock-free atomic adds, callable from any thread;
 *  - gauges the serve loop knows at every tick (workers connected, leases,
 *    records by status, live alpha): written into a private snapshot
 *    (jury_metrics_snapshot_begin .. jury_metrics_snapshot_publish), which
 *    publish swaps in under a mutex, once per tick; one thread publishes;
 *  - constants: jury_build_info{version} and process_start_time_seconds.
 *
 * Every update function takes a NULL registry (or dataset handle) and then
 * does nothing, so the serve loop calls them unconditionally: without
 * `--metrics` opts->metrics is NULL.
 *
 * How serve.c uses it (sv->o->metrics is the registry, or NULL):
 *
 *     // loading a dataset (s_dataset): keep the handle in dataset_t
 *     ds->metrics = jury_metrics_dataset(sv->o->metrics, ds->name);
 *
 *     // the group commit (s_turn), around jury_store_write
 *     uint64_t t0 = jury_metrics_now_ns();
 *     werr = jury_store_write(sv->store, s_write_body, sv);
 *     jury_metrics_commit(sv->o->metrics, jury_metrics_now_ns() - t0, werr == JURY_OK);
 *     // after a successful commit, per op
 *     jury_metrics_responses(op->ds->metrics, op->status, 1);
 *
 *     // a refused key (s_zap_answer) or a refused hello (s_hello, EPERM)
 *     jury_metrics_auth_failure(sv->o->metrics, JURY_METRICS_AUTH_UNKNOWN_KEY);
 *
 *     // once a second (s_tick with write_status), in one read transaction
 *     jury_metrics_snapshot_begin(sv->o->metrics);
 *     jury_metrics_snapshot_workers(sv->o->metrics, s_live_sessions(sv));
 *     for each dataset d: jury_store_dataset_counts(txn, d->id, &c);
 *         jury_metrics_snapshot_dataset(sv->o->metrics, d->name, jury_sched_leases(d->sched), &c);
 *         for each tracked question with a stored state (jury_live_alpha ok):
 *             jury_metrics_snapshot_alpha(sv->o->metrics, d->name, question, alpha);
 *     jury_metrics_snapshot_publish(sv->o->metrics);
 *
 * The metrics (docs: README "Running as a service", ops/RUNBOOK.md):
 *
 *   jury_build_info{version}               gauge, always 1
 *   process_start_time_seconds             gauge, when the registry was made (Unix seconds)
 *   jury_workers_connected                 gauge, sessions open (snapshot)
 *   jury_leases_active{dataset}            gauge (snapshot)
 *   jury_records{dataset,status}           gauge, status pending|completed|discarded|contested|gold
 *                                          (snapshot; pending + completed + discarded = the
 *                                          dataset's records; contested are among the completed;
 *                                          gold records are apart)
 *   jury_agreement_alpha{dataset,question} gauge, live Krippendorff's alpha (snapshot)
 *   jury_responses_total{dataset,status}   counter, status submitted|discarded|draft
 *   jury_commit_seconds                    histogram of committed group commits, buckets
 *                                          0.0005 .. 1 s
 *   jury_commit_failures_total             counter, group commits that failed (nothing stored)
 *   jury_auth_failures_total{reason}       counter, reason unknown_key|disabled|malformed|
 *                                          store_error|hello_denied
 */
typedef struct jury_metrics jury_metrics_t;

/* One dataset's counters: a handle owned by the registry, valid until it is destroyed. */
typedef struct jury_metrics_dataset jury_metrics_dataset_t;

/* Why a connection or a session was refused: the reason label of jury_auth_failures_total. */
typedef enum {
    JURY_METRICS_AUTH_UNKNOWN_KEY = 0,  /* "unknown_key": a CURVE key no annotator holds */
    JURY_METRICS_AUTH_DISABLED = 1,     /* "disabled": the key of a disabled annotator */
    JURY_METRICS_AUTH_MALFORMED = 2,    /* "malformed": a malformed ZAP request, not a CURVE key */
    JURY_METRICS_AUTH_STORE_ERROR = 3,  /* "store_error": the store could not be read to decide */
    JURY_METRICS_AUTH_HELLO_DENIED = 4, /* "hello_denied": an admitted key's hello got EPERM */
    JURY_METRICS_AUTH_COUNT = 5         /* number of reasons */
} jury_metrics_auth;

/* Finite buckets of jury_commit_seconds: 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
 * 0.25, 0.5 and 1 s (then +Inf). */
#define JURY_METRICS_COMMIT_BUCKETS 11

/* The Content-Type of the rendered text. */
#define JURY_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Makes an empty registry (every counter 0, no snapshot yet: workers 0, no
 * datasets) whose jury_build_info carries version (copied) and whose
 * process_start_time_seconds is now. It serves nothing until
 * jury_metrics_listen. The caller owns *out and destroys it.
 * Errors: JURY_EINVAL (NULL out or version), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_metrics_new(jury_metrics_t **out, const char *version);

/* Stops the HTTP server if it runs (waiting for its thread), frees the registry and every dataset
 * handle, and sets *self_p to NULL. Accepts NULL; safe twice. No update may run concurrently. */
void jury_metrics_destroy(jury_metrics_t **self_p);

/* ---- hot path: lock-free, any thread, NULL-tolerant --------------------------------------- */

/* A monotonic clock in nanoseconds, for timing commits. */
uint64_t jury_metrics_now_ns(void);

/*
 * Counts one group commit that took ns nanoseconds: ok, into the
 * jury_commit_seconds histogram (a bucket's bound is inclusive); failed,
 * into jury_commit_failures_total only.
 */
void jury_metrics_commit(jury_metrics_t *m, uint64_t ns, bool ok);

/* Counts one refused connection or session; a reason out of range is ignored. */
void jury_metrics_auth_failure(jury_metrics_t *m, jury_metrics_auth reason);

/*
 * The handle of dataset name's counters, made on first use (name copied):
 * the same handle for the same name, for the registry's life, so that a
 * dataset deleted and made again continues its counters. Takes the mutex:
 * call it once per dataset (when it is loaded) and keep the handle. NULL
 * when m is NULL or memory ran out (updates on NULL do nothing).
 */
jury_metrics_dataset_t *jury_metrics_dataset(jury_metrics_t *m, const char *name);

/* Adds n stored responses of status (submitted, discarded, draft) to jury_responses_total. */
void jury_metrics_responses(jury_metrics_dataset_t *d, jury_response_status status, uint64_t n);

/* ---- the per-tick snapshot: one publishing thread, NULL-tolerant -------------------------- */

/*
 * Starts a new snapshot of the gauges (workers 0, no datasets, no alpha),
 * private to the publishing thread until jury_metrics_snapshot_publish.
 * Memory is reused from snapshot to snapshot: after the first few ticks a
 * snapshot allocates nothing.
 */
void jury_metrics_snapshot_begin(jury_metrics_t *m);

/* Sets jury_workers_connected in the snapshot being made. */
void jury_metrics_snapshot_workers(jury_metrics_t *m, uint64_t connected);

/*
 * Adds dataset (name copied) to the snapshot being made: leases active and
 * its records by status from the store's counters (counts borrowed for the
 * call; pending is records - completed - discarded). Datasets render in the
 * order they are added.
 */
void jury_metrics_snapshot_dataset(jury_metrics_t *m, const char *dataset, uint64_t leases,
                                   const jury_counts_t *counts);

/* Adds the live alpha of dataset's question (names copied) to the snapshot being made; NaN
 * renders as NaN (better: leave out a question whose alpha is not defined yet). */
void jury_metrics_snapshot_alpha(jury_metrics_t *m, const char *dataset, const char *question,
                                 double alpha);

/*
 * Makes the snapshot being made the one rendered, in one swap under the
 * mutex (which a scrape holds while it renders: publish waits for a render
 * in progress, a matter of microseconds per dataset). A snapshot that ran
 * out of memory is dropped: the last good one stays (and a warning is
 * logged).
 */
void jury_metrics_snapshot_publish(jury_metrics_t *m);

/* ---- output ----------------------------------------------------------------------------- */

/*
 * Renders every metric in Prometheus text format 0.0.4 (HELP and TYPE
 * lines, label values escaped) into a new NUL-terminated buffer *out of
 * *len bytes, which the caller frees. Any thread. Errors: JURY_EINVAL,
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_metrics_render(jury_metrics_t *m, char **out, size_t *len);

/*
 * Parses an HTTP listening address: A.B.C.D:PORT, [IPv6]:PORT or
 * localhost:PORT (127.0.0.1), PORT 0..65535 (0: any free port). On success
 * fills *addr and *addr_len. Errors: JURY_EINVAL with why saying what is
 * wrong, e.g. "'x:1' is not ADDRESS:PORT (e.g. 127.0.0.1:9464)".
 */
JURY_MUST_CHECK jury_err jury_metrics_addr_parse(const char *text, struct sockaddr_storage *addr,
                                                 socklen_t *addr_len, char *why, size_t cap);

/*
 * Serves the registry over HTTP at addr (jury_metrics_addr_parse) from a
 * thread of libmicrohttpd's: GET (or HEAD) /metrics gets the rendered text
 * (200, JURY_METRICS_CONTENT_TYPE); other paths get 404, other methods 405
 * with "Allow: GET, HEAD". The thread blocks every signal, so that SIGTERM
 * and SIGINT reach the serve loop. At most 64 connections, each idle for at
 * most 10 s. Errors: JURY_EINVAL (a bad address, or one that cannot be
 * bound: why says so), JURY_EBUSY (already listening), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_metrics_listen(jury_metrics_t *m, const char *addr, char *why,
                                             size_t cap);

/* The port jury_metrics_listen bound (the one picked for port 0), or 0 when not listening. */
uint16_t jury_metrics_port(const jury_metrics_t *m);

#endif
