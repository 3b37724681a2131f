/* jury_store.h: jury's LMDB store: datasets, records, responses, annotators and counters, and their
 * transactions; reviews, backups and the consistency check. */
#ifndef JURY_STORE_H
#define JURY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"

/*
 * One store is one LMDB environment in one directory, holding any number of
 * datasets. Every write happens inside a write transaction; any number of
 * readers, in this process or others (`jury status` while `jury serve`
 * writes), see consistent snapshots and never block the writer.
 *
 * Values handed out by the store (payloads, names, settings text) are
 * borrowed from LMDB's memory map: they stay valid until the end of the
 * transaction they were read in, and must never be written to.
 */
typedef struct jury_store jury_store_t;

/* A read or write transaction on a store. Belongs to the thread that began it. */
typedef struct jury_txn jury_txn_t;

/* The store layout version this build reads and writes. */
#define JURY_STORE_SCHEMA 1

/* Longest external record id, in bytes (LMDB keys are at most 511 bytes). */
#define JURY_STORE_EXTID_MAX 500

/* Longest dataset or annotator name, in bytes. */
#define JURY_STORE_NAME_MAX 200

/* Options for jury_store_open. Zero-initialise, then set what you need. */
typedef struct {
    bool read_only;    /* open for reading only; the store must exist */
    bool create;       /* create the directory and an empty store if missing */
    size_t map_size;   /* initial map size in bytes; 0 picks the default (1 GiB) */
    size_t map_growth; /* bytes added when the map fills; 0 doubles the map */
    size_t map_max;    /* the map never grows past this many bytes (writes then fail with
                          JURY_EFULL); 0: no limit but the address space */
} jury_store_opts_t;

/*
 * Opens (and with opts->create, creates) the store in directory dir.
 * opts may be NULL for defaults (read-write, must exist).
 *
 * Returns JURY_OK and a new store in *out, which the caller owns and must
 * destroy. Errors: JURY_ENOTFOUND (no store there and create not set),
 * JURY_EPERM (the directory or its files cannot be written, or read),
 * JURY_EVERSION (the store has another schema version: a newer one is logged
 * as "store DIR was written by a newer jury (store schema N; this jury reads
 * 1): upgrade jury"; jury_store_schema_of tells which version it is; nothing
 * is written to such a store), JURY_ECORRUPT (the recorded schema version is
 * not a version), JURY_EINVAL (dir is not a directory or not an LMDB store),
 * JURY_EIO, JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_store_open(jury_store_t **out, const char *dir,
                                         const jury_store_opts_t *opts);

/* Closes the store and sets *self_p to NULL. Accepts NULL and is safe twice. No transaction may be
 * open. */
void jury_store_destroy(jury_store_t **self_p);

/* The directory the store was opened from. Borrowed; valid while the store is open. */
const char *jury_store_dir(const jury_store_t *store);

/* Current map size in bytes (grows on demand). */
size_t jury_store_map_size(const jury_store_t *store);

/* Bytes of the data file in use (pages written so far). */
size_t jury_store_used_bytes(jury_store_t *store);

/*
 * Makes sure at least `bytes` more can be written without the map filling,
 * growing it now if needed. Call with no transaction open, before a large
 * write (an import), so that it does not have to start over. Errors:
 * JURY_EFULL (the map cannot grow), JURY_EBUSY (a transaction is open).
 */
JURY_MUST_CHECK jury_err jury_store_reserve(jury_store_t *store, size_t bytes);

/*
 * Begins a read-only transaction. The caller owns *out and must end it with
 * jury_txn_abort. Keep read transactions short: a reader pins the pages it
 * sees, and the writer cannot reuse them while it lives.
 */
JURY_MUST_CHECK jury_err jury_store_read(jury_store_t *store, jury_txn_t **out);

/*
 * The body of a write transaction. Return JURY_OK to commit; anything else
 * aborts and is returned by jury_store_write. A body must be restartable: when
 * the map fills (a store function returns JURY_EFULL), the transaction is
 * aborted, the map grows, and the body runs again from the start.
 */
typedef jury_err (*jury_store_write_fn)(jury_txn_t *txn, void *arg);

/*
 * Runs fn(txn, arg) inside one write transaction and commits it. On a full
 * map, aborts, grows the map and runs fn again, until it fits or the map
 * cannot grow (JURY_EFULL: at opts.map_max, or the address space). A disk
 * that is full (ENOSPC, EDQUOT, or EFBIG past the process's file size limit)
 * also gives JURY_EFULL, at once and without growing the map; nothing of the
 * transaction is stored, the store stays sound, and a later write succeeds
 * once there is room again. Returns fn's error, or the commit's.
 */
JURY_MUST_CHECK jury_err jury_store_write(jury_store_t *store, jury_store_write_fn fn, void *arg);

/*
 * Bulk writes of data that can be computed again (consolidation decisions):
 * with durable false, commits of this store handle no longer wait for the
 * disk (LMDB's MDB_NOSYNC; a crash may lose the last commits but never
 * corrupts the store); jury_store_sync then flushes everything once and
 * makes commits durable again. Errors: JURY_EIO.
 */
JURY_MUST_CHECK jury_err jury_store_set_durable(jury_store_t *store, bool durable);
JURY_MUST_CHECK jury_err jury_store_sync(jury_store_t *store);

/* Aborts a transaction and sets *txn_p to NULL. Accepts NULL; safe twice. Ends read transactions
 * too. */
void jury_txn_abort(jury_txn_t **txn_p);

/* ---- datasets ---------------------------------------------------------- */

/* A dataset as stored. Pointers are borrowed from the transaction it was read in. */
typedef struct {
    uint32_t id;          /* internal id, never reused */
    const char *name;     /* NUL-terminated copy valid until the transaction ends */
    const char *settings; /* normalised settings JSON (not NUL-terminated) */
    size_t settings_len;  /* bytes at settings */
    int64_t created_ms;   /* creation time, milliseconds since the Unix epoch */
} jury_dataset_t;

/*
 * Creates a dataset called name with the given settings JSON text (stored as
 * is; the caller validates it). Stores the new id in *id_out when not NULL.
 * Errors: JURY_EEXIST, JURY_EINVAL (empty or too long name), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_dataset_create(jury_txn_t *txn, const char *name,
                                                   const char *settings, size_t settings_len,
                                                   uint32_t *id_out);

/* Looks up a dataset by name into *out. Errors: JURY_ENOTFOUND. */
JURY_MUST_CHECK jury_err jury_store_dataset_get(jury_txn_t *txn, const char *name,
                                                jury_dataset_t *out);

/* Looks up a dataset by id into *out. Errors: JURY_ENOTFOUND. */
JURY_MUST_CHECK jury_err jury_store_dataset_get_id(jury_txn_t *txn, uint32_t id,
                                                   jury_dataset_t *out);

/*
 * Calls fn for each dataset in name order. fn returns JURY_OK to go on;
 * anything else stops the walk and is returned. ds is valid during the call.
 */
JURY_MUST_CHECK jury_err jury_store_dataset_each(
    jury_txn_t *txn, jury_err (*fn)(const jury_dataset_t *ds, void *arg), void *arg);

/*
 * Deletes a dataset with all its records, responses, counters, agreement
 * state, decisions, consolidation summary and grants (bumping the access
 * version when it had grants). Errors: JURY_ENOTFOUND.
 */
JURY_MUST_CHECK jury_err jury_store_dataset_delete(jury_txn_t *txn, const char *name);

/* ---- records ------------------------------------------------------------- */

/* Whether a record still needs responses. */
typedef enum {
    JURY_RECORD_PENDING = 0,   /* fewer submitted responses than its target */
    JURY_RECORD_COMPLETED = 1, /* at least `target` submitted responses */
    JURY_RECORD_DISCARDED = 2  /* set aside: discarded max_discards times, not completed */
} jury_record_status;

/* Name of a record status as in JSON ("pending", "completed", "discarded"); NULL if out of range.
 */
const char *jury_record_status_name(jury_record_status status);

/* The small, often-updated part of a record, kept apart from its payload. */
typedef struct {
    jury_record_status status; /* derived from the counts, see jury_store_response_put */
    uint32_t target;    /* submitted responses that complete it (min_submitted when imported) */
    uint32_t submitted; /* responses with status submitted */
    uint32_t discarded; /* responses with status discarded */
    uint32_t draft;     /* responses with status draft */
    bool contested;     /* dynamic overlap reached its maximum without the agreement it asks */
    bool gold;          /* a gold record: known answers, never completed (target
                           JURY_STORE_GOLD_TARGET) */
} jury_record_state_t;

/* Record ids carry their dataset: id = dataset << 40 | sequence (1-based). */
#define JURY_RECORD_SEQ_BITS 40

/* The dataset a record id belongs to. */
static inline uint32_t jury_record_dataset(uint64_t rid)
{
    return (uint32_t)(rid >> JURY_RECORD_SEQ_BITS);
}

/*
 * Inserts or updates the record with external id ext_id (ext_len bytes) in
 * dataset ds. A new record gets the next id, the given payload (opaque bytes,
 * the encoded record) and state {pending, target}; an existing one gets the
 * new payload and keeps its id, state and responses. Stores the id in
 * *rid_out and whether it was new in *created when those are not NULL.
 * Errors: JURY_ENOTFOUND (no dataset ds), JURY_EINVAL (empty ext_id, or
 * target 0), JURY_ETOOBIG (ext_id over JURY_STORE_EXTID_MAX), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_record_put(jury_txn_t *txn, uint32_t ds, const char *ext_id,
                                               size_t ext_len, const void *payload,
                                               size_t payload_len, uint32_t target,
                                               uint64_t *rid_out, bool *created);

/* The target of a gold record: every annotator may answer it once, and it never completes. */
#define JURY_STORE_GOLD_TARGET UINT32_MAX

/*
 * Marks record rid as a gold record (its payload holds known answers): it no longer counts among
 * the dataset's records but among its gold records, its target becomes JURY_STORE_GOLD_TARGET and
 * its status pending. Marking a gold record again changes nothing. Errors: JURY_ENOTFOUND,
 * JURY_EPERM (read transaction), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_record_mark_gold(jury_txn_t *txn, uint64_t rid);

/*
 * Sets record rid's target of submitted responses (dynamic overlap raises it) and, when contested,
 * marks it contested (a mark that stays). Its status follows: a completed record whose target
 * rises above its submitted responses is pending again, and the dataset's completed counter
 * follows; a record set aside stays set aside. Stores the new state in *state_out when not NULL.
 * Errors: JURY_ENOTFOUND, JURY_EINVAL (target 0), JURY_EPERM (read transaction), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_record_set_target(jury_txn_t *txn, uint64_t rid,
                                                      uint32_t target, bool contested,
                                                      jury_record_state_t *state_out);

/* Finds the id of the record with external id ext_id in dataset ds. Errors: JURY_ENOTFOUND. */
JURY_MUST_CHECK jury_err jury_store_record_find(jury_txn_t *txn, uint32_t ds, const char *ext_id,
                                                size_t ext_len, uint64_t *rid_out);

/*
 * Reads record rid: its payload (borrowed until the transaction ends; either
 * pointer may be NULL) and its state (when state is not NULL).
 * Errors: JURY_ENOTFOUND.
 */
JURY_MUST_CHECK jury_err jury_store_record_get(jury_txn_t *txn, uint64_t rid, const void **payload,
                                               size_t *payload_len, jury_record_state_t *state);

/*
 * Calls fn for each record of dataset ds whose id is greater than after_rid
 * (0 for all), in id order, with its state. fn returns JURY_OK to go on;
 * anything else stops the walk and is returned. The coordinator uses it to
 * load a dataset and to pick up records imported while it runs.
 */
JURY_MUST_CHECK jury_err jury_store_record_each(
    jury_txn_t *txn, uint32_t ds, uint64_t after_rid,
    jury_err (*fn)(uint64_t rid, const jury_record_state_t *st, void *arg), void *arg);

/* ---- annotators ---------------------------------------------------------- */

/*
 * Finds the annotator called name, creating it (without a key) if unknown.
 * Stores its id (>= 1) in *id_out and whether it was created in *created when
 * not NULL. Errors: JURY_EINVAL (empty or too long name), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_annotator_ensure(jury_txn_t *txn, const char *name,
                                                     uint32_t *id_out, bool *created);

/* Finds an annotator's id by name. Errors: JURY_ENOTFOUND. */
JURY_MUST_CHECK jury_err jury_store_annotator_find(jury_txn_t *txn, const char *name,
                                                   uint32_t *id_out);

/* Finds an annotator's name by id (NUL-terminated, borrowed until the transaction ends). */
JURY_MUST_CHECK jury_err jury_store_annotator_name(jury_txn_t *txn, uint32_t id,
                                                   const char **name_out);

/* ---- responses ----------------------------------------------------------- */

/* Argilla's response statuses. */
typedef enum {
    JURY_RESPONSE_SUBMITTED = 0, /* a final answer; counts toward the record's target */
    JURY_RESPONSE_DISCARDED = 1, /* the annotator skipped the record */
    JURY_RESPONSE_DRAFT = 2,     /* saved but not final */
    JURY_RESPONSE_NSTATUS = 3    /* number of statuses */
} jury_response_status;

/* Name of a status as in JSON ("submitted", "discarded", "draft"); NULL if out of range. */
const char *jury_response_status_name(jury_response_status status);

/* A stored response. values is borrowed until the transaction ends. */
typedef struct {
    uint32_t annotator;          /* annotator id */
    jury_response_status status; /* its status */
    int64_t updated_ms;          /* last change, ms since the Unix epoch */
    const void *values;          /* encoded answers (opaque bytes) */
    size_t values_len;           /* bytes at values */
} jury_response_t;

/*
 * Stores the response of annotator to record rid (one per pair: a second put
 * replaces the first), updating the record's state and the dataset's and
 * annotator's counters in the same transaction, so that a record turns
 * completed in the very transaction of its last needed response. The
 * record's status becomes: completed when submitted >= target; else
 * discarded (set aside) when max_discards > 0 and discarded >= max_discards;
 * else pending. The new state is stored in *state_out when not NULL.
 * Errors: JURY_ENOTFOUND (no such record or annotator), JURY_EINVAL (bad
 * status), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_response_put(jury_txn_t *txn, uint64_t rid, uint32_t annotator,
                                                 jury_response_status status, const void *values,
                                                 size_t values_len, int64_t updated_ms,
                                                 uint32_t max_discards,
                                                 jury_record_state_t *state_out);

/* Reads the response of annotator to record rid into *out. Errors: JURY_ENOTFOUND. */
JURY_MUST_CHECK jury_err jury_store_response_get(jury_txn_t *txn, uint64_t rid, uint32_t annotator,
                                                 jury_response_t *out);

/*
 * Calls fn for each response to record rid, in annotator id order. fn returns
 * JURY_OK to go on; anything else stops and is returned.
 */
JURY_MUST_CHECK jury_err jury_store_response_each(
    jury_txn_t *txn, uint64_t rid, jury_err (*fn)(const jury_response_t *r, void *arg), void *arg);

/* ---- agreement ----------------------------------------------------------- */

/*
 * The coordinator's running agreement state of one question of dataset ds
 * (for example a coincidence matrix, which adds up over records): opaque
 * bytes to the store, written in the same transaction as the response that
 * changed it. get borrows *state until the transaction ends.
 * Errors: JURY_EINVAL (empty or too long question name), JURY_ENOTFOUND (get: none yet).
 */
JURY_MUST_CHECK jury_err jury_store_agreement_put(jury_txn_t *txn, uint32_t ds,
                                                  const char *question, const void *state,
                                                  size_t len);
JURY_MUST_CHECK jury_err jury_store_agreement_get(jury_txn_t *txn, uint32_t ds,
                                                  const char *question, const void **state,
                                                  size_t *len);

/* A completed record's agreement (mean pairwise agreement of its responses, 0..1). get:
 * JURY_ENOTFOUND when none. */
JURY_MUST_CHECK jury_err jury_store_record_agreement_put(jury_txn_t *txn, uint64_t rid,
                                                         double agreement);
JURY_MUST_CHECK jury_err jury_store_record_agreement_get(jury_txn_t *txn, uint64_t rid,
                                                         double *agreement);

/* ---- counters ------------------------------------------------------------ */

/* Counters of one dataset, or of one annotator within a dataset. */
typedef struct {
    uint64_t records;   /* records in the dataset (dataset row only) */
    uint64_t completed; /* completed records (dataset row only) */
    uint64_t discarded; /* records set aside (dataset row only) */
    uint64_t contested; /* records completed at max_submitted without the agreement asked */
    uint64_t gold;      /* gold records (dataset row only; not counted in records) */
    uint64_t responses[JURY_RESPONSE_NSTATUS]; /* responses by status */
} jury_counts_t;

/* Reads dataset ds's counters. Errors: JURY_ENOTFOUND (no such dataset). */
JURY_MUST_CHECK jury_err jury_store_dataset_counts(jury_txn_t *txn, uint32_t ds,
                                                   jury_counts_t *out);

/* Reads annotator's counters within dataset ds into *out (zeros when it has no responses there;
 * records, completed and discarded are 0: they belong to the dataset row). */
JURY_MUST_CHECK jury_err jury_store_annotator_counts(jury_txn_t *txn, uint32_t ds,
                                                     uint32_t annotator, jury_counts_t *out);

/*
 * Calls fn for each annotator with responses in dataset ds, in annotator id
 * order, with the annotator's counters. name is borrowed for the call.
 */
JURY_MUST_CHECK jury_err jury_store_annotator_counts_each(
    jury_txn_t *txn, uint32_t ds,
    jury_err (*fn)(uint32_t annotator, const char *name, const jury_counts_t *c, void *arg),
    void *arg);

/* ---- consolidation --------------------------------------------------------------------------- */

/*
 * The consolidation decision of record rid (opaque bytes to the store: the
 * coordinator's encoded decision), one per record; a second put replaces
 * the first. put does not check that rid names a record. Putting many
 * decisions in increasing rid order within one transaction is the fast
 * path (they are appended to the table); any order is correct. blob must
 * not point into the store's map. get borrows *blob until the transaction
 * ends. Deleting a dataset deletes its decisions. A store written before
 * decisions existed, opened read-only, has none. Errors: JURY_ENOTFOUND
 * (get: none), JURY_EINVAL (put: NULL blob with len > 0), JURY_EPERM (put in
 * a read transaction), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_decision_put(jury_txn_t *txn, uint64_t rid, const void *blob,
                                                 size_t len);
JURY_MUST_CHECK jury_err jury_store_decision_get(jury_txn_t *txn, uint64_t rid, const void **blob,
                                                 size_t *len);

/* Deletes every decision of dataset ds (none is fine). Errors: JURY_EPERM (read transaction),
 * JURY_EFULL. */
JURY_MUST_CHECK jury_err jury_store_decision_clear(jury_txn_t *txn, uint32_t ds);

/* The dataset-level outcome of the last consolidation of ds (opaque bytes; the coordinator's
 * JSON summary), one per dataset. Same rules as the decisions. */
JURY_MUST_CHECK jury_err jury_store_consolidation_put(jury_txn_t *txn, uint32_t ds,
                                                      const void *blob, size_t len);
JURY_MUST_CHECK jury_err jury_store_consolidation_get(jury_txn_t *txn, uint32_t ds,
                                                      const void **blob, size_t *len);

/*
 * Replaces the settings text of dataset ds (the caller has checked that the
 * new settings are compatible with the records and responses stored) with
 * len bytes at settings, copied; the dataset keeps its id, name and creation
 * time. settings may be borrowed from this transaction (a jury_dataset_t).
 * Errors: JURY_ENOTFOUND, JURY_EINVAL (NULL settings with len > 0),
 * JURY_EPERM (read transaction), JURY_ENOMEM, JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_dataset_set_settings(jury_txn_t *txn, uint32_t ds,
                                                         const char *settings, size_t len);

/* ---- reviews --------------------------------------------------------------------------------- */

/*
 * A reviewer's final decision on record rid (opaque bytes to the store: the
 * coordinator's encoded review, coordinator/review.h), one per record; a
 * second put replaces the first. Unlike decisions, reviews are what people
 * decided: jury_store_decision_clear leaves them, and only deleting the
 * dataset deletes them. put does not check that rid names a record. get
 * borrows *blob until the transaction ends. A store written before reviews
 * existed has none. Errors: JURY_ENOTFOUND (get: none), JURY_EINVAL (put: NULL
 * blob with len > 0), JURY_EPERM (put in a read transaction), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_review_put(jury_txn_t *txn, uint64_t rid, const void *blob,
                                               size_t len);
JURY_MUST_CHECK jury_err jury_store_review_get(jury_txn_t *txn, uint64_t rid, const void **blob,
                                               size_t *len);

/* Calls fn for each review of dataset ds in record id order; blob is borrowed for the call. fn
 * returns JURY_OK to go on; anything else stops the walk and is returned. */
JURY_MUST_CHECK jury_err jury_store_review_each(jury_txn_t *txn, uint32_t ds,
                                                jury_err (*fn)(uint64_t rid, const void *blob,
                                                               size_t len, void *arg),
                                                void *arg);

/* Why a record waits for a reviewer (flags of the review queue). */
#define JURY_REVIEW_CONTESTED 0x01u /* dynamic overlap reached max_submitted without agreement */
#define JURY_REVIEW_REJECTED  0x02u /* the last consolidation rejected it */

/*
 * The review queue: the records of each dataset that wait for a reviewer,
 * with why (JURY_REVIEW_* flags). set stores why for record rid, replacing
 * what was there; why 0 takes the record out of the queue (absent is fine).
 * set does not check that rid names a record. get stores a record's flags in
 * *why (0 when not queued). jury_store_decision_clear leaves the queue;
 * deleting the dataset empties its part. A store written before the queue
 * existed has an empty one. Errors: JURY_EINVAL (set: why over 0xff, flags
 * this store cannot hold), JURY_EPERM (set in a read transaction),
 * JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_review_queue_set(jury_txn_t *txn, uint64_t rid, unsigned why);
JURY_MUST_CHECK jury_err jury_store_review_queue_get(jury_txn_t *txn, uint64_t rid, unsigned *why);

/* Calls fn for each queued record of dataset ds whose id is greater than after_rid (0 for all), in
 * id order, with its flags. fn returns JURY_OK to go on; anything else stops the walk and is
 * returned. Costs one cursor step per queued record, never a scan of the dataset. */
JURY_MUST_CHECK jury_err
jury_store_review_queue_each(jury_txn_t *txn, uint32_t ds, uint64_t after_rid,
                             jury_err (*fn)(uint64_t rid, unsigned why, void *arg), void *arg);

/* Counts the queued records of dataset ds into *out. Errors: none beyond the store's own. */
JURY_MUST_CHECK jury_err jury_store_review_queue_count(jury_txn_t *txn, uint32_t ds, uint64_t *out);

/* ---- annotator access ------------------------------------------------------------------------ */

/* What an annotator may do. */
typedef enum {
    JURY_ROLE_ANNOTATOR = 0, /* answers records of granted datasets */
    JURY_ROLE_REVIEWER = 1,  /* also reviews contested records (granted datasets) */
    JURY_ROLE_ADMIN = 2,     /* every dataset */
    JURY_ROLE_GATEWAY = 3    /* a web gateway acting for annotators after checking their token */
} jury_role;

/* "annotator", "reviewer", "admin", "gateway"; NULL when out of range. Parse: false if unknown. */
const char *jury_role_name(jury_role r);
bool jury_role_parse(const char *name, jury_role *out);

/* An annotator as stored. name is borrowed until the transaction ends. */
typedef struct {
    uint32_t id;                  /* annotator id (>= 1) */
    const char *name;             /* NUL-terminated, borrowed */
    jury_role role;               /* role (JURY_ROLE_ANNOTATOR for annotators created by imports) */
    bool disabled;                /* disabled annotators are refused at once */
    bool has_key;                 /* a CURVE public key is registered */
    unsigned char public_key[32]; /* the key when has_key */
    int64_t created_ms;           /* creation time */
    int64_t changed_ms;           /* last change of role, state, key, web token or grants */
    bool has_web_token;           /* a web token is registered (gateway logins) */
    unsigned char web_token_hash[32]; /* the token's hash when has_web_token (the token itself is
                                         never stored) */
} jury_annotator_t;

/* Reads annotator id (or the one called name) into *out. Errors: JURY_ENOTFOUND. Annotators
 * written by older builds read as active annotators without a key. */
JURY_MUST_CHECK jury_err jury_store_annotator_get(jury_txn_t *txn, uint32_t id,
                                                  jury_annotator_t *out);
JURY_MUST_CHECK jury_err jury_store_annotator_get_by_name(jury_txn_t *txn, const char *name,
                                                          jury_annotator_t *out);

/* Calls fn for every annotator in id order. */
JURY_MUST_CHECK jury_err jury_store_annotator_each(
    jury_txn_t *txn, jury_err (*fn)(const jury_annotator_t *a, void *arg), void *arg);

/*
 * Changes of an annotator; each that changes something stamps changed_ms and
 * bumps the store's access version (below); setting what is already there
 * changes nothing. set_key registers public_key (32 bytes; NULL removes the
 * key), replacing the annotator's previous key, and indexes it, so that
 * jury_store_annotator_find_key finds the annotator by key and no longer by
 * the old one; a key held by another annotator gives JURY_EEXIST. Errors:
 * JURY_ENOTFOUND, JURY_EEXIST, JURY_EINVAL (role out of range), JURY_EPERM
 * (read transaction), JURY_EFULL.
 */
JURY_MUST_CHECK jury_err jury_store_annotator_set_key(jury_txn_t *txn, uint32_t id,
                                                      const unsigned char *public_key);
JURY_MUST_CHECK jury_err jury_store_annotator_set_role(jury_txn_t *txn, uint32_t id,
                                                       jury_role role);
JURY_MUST_CHECK jury_err jury_store_annotator_set_disabled(jury_txn_t *txn, uint32_t id,
                                                           bool disabled);

/* Registers the hash (32 bytes; the coordinator's choice of hash) of the annotator's web token,
 * replacing the previous one; NULL removes it. Stamps changed_ms and bumps the access version
 * like the changes above. Errors: JURY_ENOTFOUND, JURY_EPERM (read transaction), JURY_EFULL. */
JURY_MUST_CHECK jury_err jury_store_annotator_set_web_token(jury_txn_t *txn, uint32_t id,
                                                            const unsigned char *hash);

/* The annotator whose registered key is public_key (32 bytes), disabled or not (the caller
 * checks). Errors: JURY_ENOTFOUND. */
JURY_MUST_CHECK jury_err jury_store_annotator_find_key(jury_txn_t *txn,
                                                       const unsigned char *public_key,
                                                       uint32_t *id_out);

/* Grants or revokes dataset ds to annotator id (idempotent; a grant or revoke that changes
 * something stamps the annotator's changed_ms and bumps the access version). grant: errors
 * JURY_ENOTFOUND (no such annotator or dataset); revoke: JURY_ENOTFOUND (no such annotator).
 * granted: whether id may work on ds by grant (roles are the caller's business). A store written
 * before grants existed, opened read-only, has none. */
JURY_MUST_CHECK jury_err jury_store_grant(jury_txn_t *txn, uint32_t id, uint32_t ds);
JURY_MUST_CHECK jury_err jury_store_revoke(jury_txn_t *txn, uint32_t id, uint32_t ds);
JURY_MUST_CHECK jury_err jury_store_granted(jury_txn_t *txn, uint32_t id, uint32_t ds,
                                            bool *granted);

/* Calls fn for each dataset id granted to annotator id, ascending. */
JURY_MUST_CHECK jury_err jury_store_grants_each(jury_txn_t *txn, uint32_t id,
                                                jury_err (*fn)(uint32_t ds, void *arg), void *arg);

/*
 * Gold answers: per dataset, annotator and question, how many of the annotator's answers to gold
 * records were checked and how many were right. add counts one (correct or not) and stores the
 * new totals in *answered and *right (either may be NULL). each calls fn for every row of ds in
 * (annotator id, question) order; question is borrowed for the call. Deleting the dataset deletes
 * its rows. Errors: JURY_EINVAL (question empty or over JURY_STORE_NAME_MAX), JURY_EPERM (add in a
 * read transaction), JURY_EFULL, JURY_ECORRUPT.
 */
JURY_MUST_CHECK jury_err jury_store_gold_add(jury_txn_t *txn, uint32_t ds, uint32_t annotator,
                                             const char *question, bool correct, uint64_t *answered,
                                             uint64_t *right);
/* One row: annotator's gold answers to question in ds into *answered and *right (0 and 0 when the
 * annotator has none). Errors: JURY_EINVAL (question empty or too long), JURY_ECORRUPT. */
JURY_MUST_CHECK jury_err jury_store_gold_get(jury_txn_t *txn, uint32_t ds, uint32_t annotator,
                                             const char *question, uint64_t *answered,
                                             uint64_t *right);
JURY_MUST_CHECK jury_err jury_store_gold_each(jury_txn_t *txn, uint32_t ds,
                                              jury_err (*fn)(uint32_t annotator,
                                                             const char *question,
                                                             uint64_t answered, uint64_t correct,
                                                             void *arg),
                                              void *arg);

/*
 * Pausing: annotator may not work on dataset ds until resumed (`jury annotator pause|resume`,
 * and automatic pauses for low quality). The mark holds the time it was set (ms since the epoch)
 * and a reason of at most JURY_STORE_PAUSE_REASON_MAX bytes (copied). set replaces an existing
 * mark; clear removes it (*was, when not NULL, says whether there was one). Both bump the access
 * version, so that a coordinator cuts or lets in the annotator's sessions. get borrows *reason
 * (not NUL-terminated, *reason_len bytes) until the transaction ends. Deleting the dataset
 * deletes its marks. Errors: JURY_ENOTFOUND (set: no such annotator or dataset; get: not
 * paused), JURY_EINVAL (reason too long), JURY_EPERM (read transaction), JURY_EFULL.
 */
#define JURY_STORE_PAUSE_REASON_MAX 1000
JURY_MUST_CHECK jury_err jury_store_pause_set(jury_txn_t *txn, uint32_t ds, uint32_t annotator,
                                              const char *reason, int64_t since_ms);
JURY_MUST_CHECK jury_err jury_store_pause_clear(jury_txn_t *txn, uint32_t ds, uint32_t annotator,
                                                bool *was);
JURY_MUST_CHECK jury_err jury_store_pause_get(jury_txn_t *txn, uint32_t ds, uint32_t annotator,
                                              int64_t *since_ms, const char **reason,
                                              size_t *reason_len);

/* A counter that grows with every change of any annotator's key, role, state or grants (0 in a
 * store that never had one), so a coordinator can notice access changes with one read. */
JURY_MUST_CHECK jury_err jury_store_access_version(jury_txn_t *txn, uint64_t *out);

/* ---- backup, schema version and consistency check ------------------------------------------ */

/*
 * Writes a consistent, compacted copy of the store (one read snapshot, LMDB's
 * MDB_CP_COMPACT: free pages left out) into a new directory dest, as
 * dest/data.mdb: a store that jury_store_open opens like the original. Other
 * processes may go on writing meanwhile (a running `jury serve`): the copy
 * holds every transaction committed before it started and none after, and
 * blocks no writer. Only the LMDB data is copied; other files of the store
 * directory (the coordinator's keypair, the audit log) are not.
 *
 * The copy is written into a new sibling directory ".NAME.tmp-XXXXXX" next
 * to dest (mode 0700; data.mdb mode 0600), flushed to the disk, and only then
 * renamed to dest, so that dest never holds part of a copy; a crash or kill
 * meanwhile leaves only that sibling, which may be deleted. An existing dest
 * (a file, or a directory) is refused unless force; with force, dest is
 * replaced in one rename (renameat2 RENAME_EXCHANGE where the file system
 * has it) and the old one is deleted, but only if it is a file, an empty
 * directory or an earlier backup (a directory holding data.mdb), and never
 * when it is, or holds, the store directory or one of the store's files.
 * The parent directory of dest must exist.
 *
 * On failure a message naming the path and the reason (e.g. "/b/x exists
 * already; --force replaces it") goes to why (whylen bytes, NUL-terminated;
 * why may be NULL). Errors: JURY_EINVAL (dest empty, too long, "." or "..", a
 * directory of other files, or the store's own), JURY_EEXIST (dest exists
 * and force is false, or appeared meanwhile), JURY_ENOTFOUND (dest's parent
 * directory does not exist), JURY_EPERM (cannot write there), JURY_EIO (a
 * write failed: a full disk), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_store_backup(jury_store_t *store, const char *dest, bool force,
                                           char *why, size_t whylen);

/*
 * Reads the schema version recorded in the store in dir into *version,
 * without opening the store for use: tells a caller whom jury_store_open
 * refused with JURY_EVERSION whether the store is newer or older than
 * JURY_STORE_SCHEMA. Errors: JURY_ENOTFOUND (no store there), JURY_EINVAL
 * (not a directory, or not an LMDB store), JURY_ECORRUPT (the version is not
 * a version), JURY_EPERM, JURY_EIO.
 */
JURY_MUST_CHECK jury_err jury_store_schema_of(const char *dir, uint32_t *version);

/* What jury_store_check found. */
typedef struct {
    uint64_t problems;  /* problems found, all of them (reported or not) */
    uint64_t records;   /* records of the dataset walked, gold records included */
    uint64_t gold;      /* of which gold records */
    uint64_t responses; /* responses to the dataset's records (and to records that are gone) */
} jury_store_check_t;

/*
 * Verifies dataset ds inside txn (a read transaction: one consistent
 * snapshot, also of a store that `jury serve` writes; it stays open for the
 * whole walk, one pass over the dataset's records, responses, external ids,
 * counters, reviews and review queue). Checks that:
 *   - every response belongs to an existing record of ds and an existing
 *     annotator;
 *   - each record has a payload and a state, and its state counts (submitted,
 *     discarded, draft) match its responses;
 *   - its status agrees with them and its target: completed exactly when its
 *     submitted responses reach the target, set aside only with a discarded
 *     response; a gold record has the gold target and is never completed;
 *   - no record other than a gold one has more submitted responses than its
 *     target (`jury import` raises the target of a record imported with more
 *     pre-existing responses to their number);
 *   - the external-id index and the records agree both ways: every entry names
 *     an existing record of ds, every record is named by exactly one entry;
 *   - the dataset's counters (records, completed, set aside, contested, gold,
 *     responses by status, next record sequence) and each annotator's
 *     (responses by status) match what the records and responses say;
 *   - every review queue entry and every review names an existing record of ds.
 * Each problem is counted in out->problems; the first max_reports of them (0:
 * all) are also passed to report (may be NULL) as one line without a newline,
 * naming the record (`record "EXT_ID"`, or `record #SEQ` when no external id
 * names it), the annotator or the counter and what is wrong, e.g.
 *   record "r17": its state counts 2 submitted responses; it has 3
 *   dataset counters: 5 records; the records say 6
 *   annotator "ana": counters say 3 submitted responses; the responses say 4
 * problem is borrowed for the call. Returns JURY_OK when the walk ran, with or
 * without problems. Errors: JURY_ENOTFOUND (no dataset ds), JURY_ENOMEM (a
 * byte per record sequence and 40 bytes per annotator are needed), JURY_EIO.
 */
JURY_MUST_CHECK jury_err jury_store_check(jury_txn_t *txn, uint32_t ds, uint64_t max_reports,
                                          void (*report)(const char *problem, void *arg), void *arg,
                                          jury_store_check_t *out);

#endif
