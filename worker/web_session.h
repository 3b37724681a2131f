/* web_session.h: the pure part of `juror web`: secrets, web sessions with their records, the
 * failed-login limit and the checks on names, addresses, origins and roles. No sockets, no HTTP. */
#ifndef JUROR_WEB_SESSION_H
#define JUROR_WEB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "jury_err.h"

/*
 * `juror web` (worker/WEB.md) keeps here whatever it can decide without a
 * network, so that a test drives it with plain strings and clock values:
 *
 *  - secrets: 32 random bytes as base64url without padding (launch tokens,
 *    session cookies, CSRF tokens) and their hashes;
 *  - a table of web sessions, found by the hash of their cookie (the cookie
 *    itself is never stored) and ended when idle too long; each holds its
 *    CSRF token, an owner pointer the caller chooses (the annotator's
 *    coordinator session) and a queue of up to JUROR_WEB_QUEUE_MAX leased
 *    records, oldest first;
 *  - a limit of failed logins per client address;
 *  - small checks: gateway login names, --listen addresses, Origin against
 *    Host, the question a coordinator's refusal names, and whether a role is
 *    offered review.
 *
 * Clocks are milliseconds passed in by the caller: monotonic ones for idle
 * times and the login limit, the Unix epoch for leases. Nothing here is
 * thread-safe; the web server uses it from its one thread.
 */

/* Characters of a secret as base64url without padding: 32 bytes make 43. */
#define JUROR_WEB_SECRET_LEN 43
/* Bytes to hold a secret's text with its NUL. */
#define JUROR_WEB_SECRET_SIZE (JUROR_WEB_SECRET_LEN + 1)
/* Bytes of a secret's hash (crypto_generichash's default). */
#define JUROR_WEB_HASH_BYTES 32
/* The most leased records one web session holds. */
#define JUROR_WEB_QUEUE_MAX 5
/* Failed logins one client address may make in a minute; the next ones get 429. */
#define JUROR_WEB_LOGIN_FAILS_MAX 10
/* The longest annotator name at a gateway login, in bytes. */
#define JUROR_WEB_NAME_MAX 200

/*
 * Writes 32 fresh random bytes (libsodium's randombytes_buf) as base64url
 * without padding into out: JUROR_WEB_SECRET_LEN characters and a NUL.
 * libsodium must have been initialised (sodium_init).
 */
void juror_web_secret_new(char out[JUROR_WEB_SECRET_SIZE]);

/* Stores in out the hash (crypto_generichash, 32 bytes) of the len bytes of text. */
void juror_web_hash(const char *text, size_t len, unsigned char out[JUROR_WEB_HASH_BYTES]);

/*
 * Whether text (len bytes) is the secret whose hash is `hash`. Hashes are
 * compared in constant time (sodium_memcmp), so the time taken says nothing
 * about how much of a guess was right.
 */
bool juror_web_secret_matches(const char *text, size_t len,
                              const unsigned char hash[JUROR_WEB_HASH_BYTES]);

/* ---------------------------------------------------------------------------------------------
 * Web sessions.
 */

/* A table of web sessions. */
typedef struct juror_web_sessions juror_web_sessions_t;
/* One web session: a browser logged in. Owned by its table. */
typedef struct juror_web_session juror_web_session_t;

/*
 * A new, empty table for at most max sessions (1..1000000), each ended when
 * unused for idle_ms (> 0). Returns NULL when out of memory or when an
 * argument is out of range. Caller owns the result and must destroy it.
 */
juror_web_sessions_t *juror_web_sessions_new(size_t max, int64_t idle_ms);

/* Frees the table with every session in it and its records (the owners are the caller's and are
 * not touched), and sets *self_p to NULL. Accepts NULL; safe twice. */
void juror_web_sessions_destroy(juror_web_sessions_t **self_p);

/*
 * Opens a session for owner (any pointer the caller chooses; not NULL),
 * last used at now_ms. Writes its cookie value (a fresh secret) into cookie:
 * this is the only time the value exists, the table keeps its hash. Returns
 * JURY_OK with the session in *out (owned by the table; valid until it is
 * closed or the table destroyed), JURY_ELIMIT when the table holds its
 * maximum, JURY_EINVAL for a NULL argument, or JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_web_sessions_open(juror_web_sessions_t *t, void *owner,
                                                 int64_t now_ms, char cookie[JUROR_WEB_SECRET_SIZE],
                                                 juror_web_session_t **out);

/*
 * The session whose cookie value is cookie (NUL-terminated, any length), or
 * NULL when there is none or it was unused for longer than the table's idle
 * time at now_ms. A session found counts as used at now_ms. The comparison
 * is of hashes, in constant time. Borrowed.
 */
juror_web_session_t *juror_web_sessions_find(juror_web_sessions_t *t, const char *cookie,
                                             int64_t now_ms);

/* Ends *s_p: frees it and its records and sets *s_p to NULL. Accepts NULL. */
void juror_web_sessions_close(juror_web_sessions_t *t, juror_web_session_t **s_p);

/* Sessions in the table. */
size_t juror_web_sessions_count(const juror_web_sessions_t *t);

/*
 * Walks the table: the session after prev (NULL: the first), or NULL at the
 * end; with owner not NULL only that owner's sessions. Do not close the
 * session returned before taking the next; to close many, take the first
 * again after each close.
 */
juror_web_session_t *juror_web_sessions_next(const juror_web_sessions_t *t,
                                             const juror_web_session_t *prev, const void *owner);

/* A session unused for longer than the table's idle time at now_ms (to be closed), or NULL. */
juror_web_session_t *juror_web_sessions_idle(const juror_web_sessions_t *t, int64_t now_ms);

/* The owner given at open. */
void *juror_web_session_owner(const juror_web_session_t *s);

/* The session's CSRF token (JUROR_WEB_SECRET_LEN characters). Borrowed: valid while s is open. */
const char *juror_web_session_csrf(const juror_web_session_t *s);

/* Whether header (the request's X-CSRF-Token, NULL when absent) is s's CSRF token; compared in
 * constant time. */
bool juror_web_session_csrf_ok(const juror_web_session_t *s, const char *header);

/* ---- the records leased to a session, oldest first ---- */

/* Records queued. */
size_t juror_web_session_queued(const juror_web_session_t *s);

/* The i-th record queued (0: the oldest, the one to show), or NULL past the end. Borrowed: valid
 * until the queue changes. */
const cJSON *juror_web_session_record(const juror_web_session_t *s, size_t i);

/* The id of the i-th record queued, or NULL past the end. Borrowed as above. */
const char *juror_web_session_record_id(const juror_web_session_t *s, size_t i);

/* Whether a record of that id is queued. */
bool juror_web_session_has(const juror_web_session_t *s, const char *id);

/*
 * Appends *record_p, a record object as juror_fetch lists them (it must have
 * a string "id"), taking ownership on success and setting *record_p to NULL.
 * Returns JURY_OK, JURY_EINVAL (not an object with a string id), JURY_EEXIST
 * (that id is queued already) or JURY_ELIMIT (JUROR_WEB_QUEUE_MAX queued).
 */
JURY_MUST_CHECK jury_err juror_web_session_push(juror_web_session_t *s, cJSON **record_p);

/* Removes and frees the record of that id. Returns whether one was queued. */
bool juror_web_session_drop(juror_web_session_t *s, const char *id);

/*
 * Keeps a draft on the queued record of that id: its "draft" becomes a copy
 * of values (an object; NULL: null) and, when lease_expires_ms > 0, its
 * "lease_expires" that time as ISO 8601 UTC with milliseconds. Returns
 * JURY_OK, JURY_ENOTFOUND (no such record queued) or JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_web_session_draft(juror_web_session_t *s, const char *id,
                                                 const cJSON *values, int64_t lease_expires_ms);

/*
 * Drops (and frees) the records whose "lease_expires" lies before now_ms
 * (ms since the Unix epoch): the coordinator has taken them back, an answer
 * would be refused. A record without a readable lease_expires stays.
 * Returns how many were dropped.
 */
size_t juror_web_session_drop_expired(juror_web_session_t *s, int64_t now_ms);

/* ---------------------------------------------------------------------------------------------
 * Failed logins per client address.
 */

/* A record of recent failed logins by address. */
typedef struct juror_web_limiter juror_web_limiter_t;

/* A new, empty record remembering up to slots (1..1000000) addresses; when it is full, the one
 * least recently failed is forgotten. NULL when out of memory. Caller owns and destroys it. */
juror_web_limiter_t *juror_web_limiter_new(size_t slots);

/* Frees the record and sets *self_p to NULL. Accepts NULL; safe twice. */
void juror_web_limiter_destroy(juror_web_limiter_t **self_p);

/* Whether addr (any string naming the client; at most 63 bytes are compared) has made
 * JUROR_WEB_LOGIN_FAILS_MAX failed logins within the minute up to now_ms. */
bool juror_web_limiter_blocked(const juror_web_limiter_t *l, const char *addr, int64_t now_ms);

/* Counts one failed login of addr at now_ms. A minute after the first failure of a run the count
 * starts again. */
void juror_web_limiter_failed(juror_web_limiter_t *l, const char *addr, int64_t now_ms);

/* ---------------------------------------------------------------------------------------------
 * Checks.
 */

/*
 * Whether name (len bytes) may name an annotator at a gateway login:
 * 1..JUROR_WEB_NAME_MAX bytes of [A-Za-z0-9_.-], not starting with '.' or '-'.
 */
bool juror_web_name_ok(const char *name, size_t len);

/*
 * Parses a --listen value: "A.B.C.D:PORT" or "[IPv6]:PORT", PORT 0..65535
 * (0: any free port). On success fills *addr and *addr_len and returns
 * JURY_OK; otherwise JURY_EINVAL with the reason in why (at most cap bytes).
 */
JURY_MUST_CHECK jury_err juror_web_listen_parse(const char *text, struct sockaddr_storage *addr,
                                                socklen_t *addr_len, char *why, size_t cap);

/*
 * Whether a request's Origin header names the host its Host header names.
 * No Origin (NULL) is fine: browsers send one with every cross-origin
 * request and every POST. An Origin of "null", without a scheme, or with a
 * Host missing is refused. Host names compare without regard to case; a
 * port the scheme implies (80 for http, 443 for https) may be left out on
 * either side.
 */
bool juror_web_origin_ok(const char *origin, const char *host);

/*
 * Whether to offer review (SPEC.md 9.7) to a session whose role, as juror_role gives it, is role:
 * true for "reviewer" and "admin"; false for "annotator", for "" (a coordinator before review),
 * for NULL and for any other word (a role added later counts as "annotator", SPEC.md 6.2). This
 * only decides what the page shows: the coordinator checks the role at every review call.
 */
bool juror_web_role_reviews(const char *role);

/*
 * Finds the question a coordinator's refusal of an answer is about: the
 * member after "values/" in the JSON pointer that starts its reason, as in
 * "/values/quality: 9 is not one of the rating values 1, 2, 3, 4, 5" or
 * "submit: responses[0].values/quality: ..." ("~1" and "~0" decoded).
 * Writes it into out (at most cap bytes, NUL-terminated) and returns true,
 * or returns false when the reason names no question ("/values: must be an
 * object ...") or it does not fit.
 */
bool juror_web_question(const char *reason, char *out, size_t cap);

/* Formats ms since the Unix epoch as ISO 8601 UTC with milliseconds, "2026-11-27T23:59:59.123Z",
 * into out (at most cap bytes). */
void juror_web_iso8601(int64_t ms, char *out, size_t cap);

/* Parses ISO 8601 UTC as juror_fetch gives lease_expires ("2026-11-27T23:59:59.123Z"; the
 * fraction may have 0..9 digits) into ms since the Unix epoch. Returns false when it is not. */
bool juror_web_iso8601_parse(const char *text, int64_t *ms);

#endif
