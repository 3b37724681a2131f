/* jury_store.c: the LMDB schema behind jury_store.h, its key encodings, its transactions, backups
 * and the consistency check. */
#define _GNU_SOURCE 1 /* renameat2: swap a finished backup in without a window */
#include "jury_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "jury_log.h"

/*
 * Layout. Integers in keys are big-endian so that LMDB's byte order is
 * numeric order and a dataset's rows form one contiguous range.
 *
 *   meta        "schema_version" -> be32; "next_dataset", "next_annotator" -> be32;
 *               "access_version" -> be64
 *   datasets    name NUL                 -> be32 id, be64 created_ms, settings JSON
 *   dataset_ids be32 id                  -> name NUL
 *   records     be64 rid                 -> payload (the encoded record)
 *   rstate      be64 rid                 -> u8 status, be32 target, submitted, discarded, draft
 *   extids      be32 ds, external id     -> be64 rid
 *   responses   be64 rid, be32 annotator -> u8 status, be64 updated_ms, values
 *   annotators  name NUL                 -> be32 id, be64 created_ms, u8 role, u8 flags,
 *                                           32-byte public key, be64 changed_ms,
 *                                           32-byte web token hash
 *               (flags: 1 disabled, 2 has a key, 4 has a web token; rows of the first build end
 *               after created_ms and read as enabled annotators without a key, rows of the
 *               second after changed_ms and read as without a web token)
 *   annot_ids   be32 id                  -> name NUL
 *   counters    be32 ds, be32 annotator  -> be64 x COUNTER_N (annotator 0: the whole dataset)
 *   agreement   be32 ds, question name   -> the coordinator's running agreement state (opaque)
 *   ragree      be64 rid                 -> be64 bits of a double (a completed record's agreement)
 *   decisions   be64 rid                 -> the coordinator's encoded decision (opaque)
 *   consolidation be32 ds                -> summary of the dataset's last consolidation (opaque)
 *   annotator_keys 32-byte public key    -> be32 annotator id
 *   grants      be32 annotator, be32 ds  -> empty
 *   paused      be32 ds, be32 annotator  -> be64 since_ms, reason (UTF-8, no NUL)
 *   gold        be32 ds, be32 annotator, question NUL -> be64 answered, be64 correct
 *   reviews     be64 rid                 -> the coordinator's encoded review (opaque)
 *   review_queue be64 rid                -> u8 why (JURY_REVIEW_* flags, never 0)
 *
 * Tables from agreement on were added by later builds of schema 1: a writer creates them when it
 * opens an older store, and a read-only open reads them as empty (absent[]).
 *
 * A record id is dataset << 40 | sequence, so one range scan walks a dataset.
 */
enum {
    DB_META,
    DB_DATASETS,
    DB_DATASET_IDS,
    DB_RECORDS,
    DB_RSTATE,
    DB_EXTIDS,
    DB_RESPONSES,
    DB_ANNOTATORS,
    DB_ANNOTATOR_IDS,
    DB_COUNTERS,
    DB_AGREEMENT,
    DB_RAGREE,
    DB_DECISIONS,
    DB_CONSOLIDATION,
    DB_ANNOTATOR_KEYS,
    DB_GRANTS,
    DB_PAUSED,
    DB_GOLD,
    DB_REVIEWS,
    DB_REVIEW_QUEUE,
    DB_COUNT
};

static const char *const s_db_names[DB_COUNT] = {
    "meta",      "datasets",  "dataset_ids", "records",       "rstate",
    "extids",    "responses", "annotators",  "annotator_ids", "counters",
    "agreement", "ragree",    "decisions",   "consolidation", "annotator_keys",
    "grants",    "paused",    "gold",        "reviews",       "review_queue",
};

/* Counter row slots. NEXT_SEQ is the dataset's next record sequence (dataset row only). */
enum {
    C_RECORDS,
    C_COMPLETED,
    C_SUBMITTED,
    C_DISCARDED,
    C_DRAFT,
    C_NEXT_SEQ,
    C_SET_ASIDE,
    C_CONTESTED,
    C_GOLD,
    COUNTER_N
};

#define RSTATE_LEN    17
#define RESPONSE_HDR  9
#define DATASET_HDR   12
#define ANNOTATOR_LEN 12 /* the first build's annotator row: id, created_ms */
#define ANNOTATOR_KEYED                                                                            \
    54                      /* the second build's row: ANNOTATOR_LEN, role, flags, key, changed_ms \
                             */
#define ANNOTATOR_ROW    86 /* ANNOTATOR_KEYED, web token hash */
#define A_DISABLED       1  /* annotator row flag: disabled */
#define A_HAS_KEY        2  /* annotator row flag: a public key is registered */
#define A_HAS_TOKEN      4  /* annotator row flag: a web token hash is registered */
#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define COUNTER_CACHE    32
#define WRITE_RETRIES    24

struct jury_store {
    MDB_env *env;          /* the LMDB environment */
    MDB_dbi dbi[DB_COUNT]; /* named databases, opened once */
    char *dir;             /* store directory (owned) */
    bool read_only;        /* opened with MDB_RDONLY */
    size_t map_growth;     /* bytes to add on a full map; 0 doubles */
    size_t map_max;        /* the map's limit; 0 for none */
    int open_txns;         /* transactions open now (the map may only grow at 0) */
    bool absent[DB_COUNT]; /* tables a read-only open found missing (added by a later build) */
};

/* A counter row held in the transaction until commit, so that a batch of
 * inserts rewrites each row once instead of once per record. */
typedef struct {
    uint32_t ds;           /* dataset id */
    uint32_t annotator;    /* annotator id, 0 for the dataset row */
    uint64_t v[COUNTER_N]; /* absolute values */
} counter_row_t;

struct jury_txn {
    jury_store_t *store;                /* owning store */
    MDB_txn *txn;                       /* the LMDB transaction */
    bool write;                         /* a write transaction */
    int ncache;                         /* rows in cache */
    counter_row_t cache[COUNTER_CACHE]; /* dirty counter rows */
    MDB_cursor *resp_cur;               /* read transactions: the responses cursor that
                                           jury_store_response_each keeps between calls */
    bool resp_next;                     /* resp_cur rests on the first response after the
                                           last record walked to its end */
    bool dec_known;                     /* dec_last is the decisions table's last key */
    uint64_t dec_last;                  /* largest decision key (0: empty), when dec_known */
};

/* ---- encoding ---------------------------------------------------------- */

static void s_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static uint32_t s_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void s_put64(unsigned char *p, uint64_t v)
{
    s_put32(p, (uint32_t)(v >> 32));
    s_put32(p + 4, (uint32_t)v);
}

static uint64_t s_get64(const unsigned char *p)
{
    return (uint64_t)s_get32(p) << 32 | s_get32(p + 4);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Set when an LMDB call of this thread failed because the disk is full: jury_store_write must not
 * answer that by growing the map. A transaction belongs to one thread, so this is per thread. */
static _Thread_local bool s_disk_full;

/* Translates an LMDB or errno code, logging the original where it is not routine. */
static jury_err s_err(int rc, const char *what)
{
    switch (rc) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        jury_log(JURY_LOG_ERROR, "store: %s: the disk is full: %s", what, mdb_strerror(rc));
        s_disk_full = true;
        return JURY_EFULL;
    case MDB_SUCCESS:
        return JURY_OK;
    case MDB_NOTFOUND:
        return JURY_ENOTFOUND;
    case MDB_KEYEXIST:
        return JURY_EEXIST;
    case MDB_MAP_FULL:
        return JURY_EFULL; /* jury_store_write grows the map and retries */
    case ENOMEM:
        jury_log(JURY_LOG_ERROR, "store: %s: %s", what, mdb_strerror(rc));
        return JURY_ENOMEM;
    case EACCES:
    case EPERM:
    case EROFS:
        jury_log(JURY_LOG_DEBUG, "store: %s: %s", what, mdb_strerror(rc));
        return JURY_EPERM;
    case MDB_TXN_FULL:
        jury_log(JURY_LOG_ERROR, "store: %s: %s", what, mdb_strerror(rc));
        return JURY_ETOOBIG;
    case MDB_VERSION_MISMATCH:
        jury_log(JURY_LOG_ERROR, "store: %s: %s", what, mdb_strerror(rc));
        return JURY_EVERSION;
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_BAD_VALSIZE:
        jury_log(JURY_LOG_ERROR, "store: %s: %s", what, mdb_strerror(rc));
        return rc == MDB_INVALID ? JURY_EINVAL : JURY_ECORRUPT;
    case MDB_READERS_FULL:
        jury_log(JURY_LOG_ERROR, "store: %s: %s", what, mdb_strerror(rc));
        return JURY_EBUSY;
    default:
        jury_log(JURY_LOG_ERROR, "store: %s: %s (%d)", what, mdb_strerror(rc), rc);
        return JURY_EIO;
    }
}

static MDB_val s_val(const void *p, size_t n)
{
    MDB_val v = {.mv_size = n, .mv_data = (void *)p};
    return v;
}

/* ---- open / close ------------------------------------------------------ */

/* Reads the schema version in the meta table: JURY_ENOTFOUND when none, JURY_ECORRUPT when it is
 * not 4 bytes. */
static jury_err s_schema_read(MDB_txn *txn, MDB_dbi meta, uint32_t *version)
{
    MDB_val key = s_val("schema_version", 14), val;
    int rc = mdb_get(txn, meta, &key, &val);
    if (rc != MDB_SUCCESS)
        return rc == MDB_NOTFOUND ? JURY_ENOTFOUND : s_err(rc, "read schema version");
    if (val.mv_size != 4)
        return JURY_ECORRUPT;
    *version = s_get32(val.mv_data);
    return JURY_OK;
}

/* Checks (with create, writes) the schema version, before any other table is touched: a store of
 * another schema may hold tables of other shapes. */
static jury_err s_schema_check(jury_store_t *s, MDB_txn *txn, bool create)
{
    uint32_t version = 0;
    jury_err err = s_schema_read(txn, s->dbi[DB_META], &version);
    if (err == JURY_ENOTFOUND && create) {
        unsigned char v[4];
        s_put32(v, JURY_STORE_SCHEMA);
        MDB_val key = s_val("schema_version", 14), val = s_val(v, 4);
        return s_err(mdb_put(txn, s->dbi[DB_META], &key, &val, 0), "write schema version");
    }
    if (err == JURY_ECORRUPT) {
        jury_log(JURY_LOG_ERROR, "store %s: the schema version is not a 4-byte number", s->dir);
        return JURY_ECORRUPT;
    }
    if (err != JURY_OK)
        return err;
    if (version > JURY_STORE_SCHEMA) {
        jury_log(JURY_LOG_ERROR,
                 "store %s was written by a newer jury (store schema %u; this jury reads %d): "
                 "upgrade jury",
                 s->dir, version, JURY_STORE_SCHEMA);
        return JURY_EVERSION;
    }
    if (version != JURY_STORE_SCHEMA) {
        jury_log(JURY_LOG_ERROR,
                 "store %s has store schema %u, which this jury (store schema %d) does not read",
                 s->dir, version, JURY_STORE_SCHEMA);
        return JURY_EVERSION;
    }
    return JURY_OK;
}

static jury_err s_open_dbs(jury_store_t *s, bool create)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "begin");
    jury_err err = JURY_OK;
    for (int i = 0; i < DB_COUNT; i++) {
        /* meta comes first and must exist unless we create the store; a
         * writer adds tables that a newer build of the same schema introduced. */
        bool make = create || (!s->read_only && i != DB_META);
        rc = mdb_dbi_open(txn, s_db_names[i], make ? MDB_CREATE : 0, &s->dbi[i]);
        if (rc == MDB_NOTFOUND && i >= DB_AGREEMENT) {
            /* A store from before these tables, opened read-only: they are empty. */
            s->absent[i] = true;
            continue;
        }
        if (rc == MDB_NOTFOUND) {
            /* An LMDB environment without jury's tables: empty or someone else's. */
            err = JURY_ENOTFOUND;
            goto fail;
        }
        if (rc != MDB_SUCCESS) {
            err = s_err(rc, "open table");
            goto fail;
        }
        if (i == DB_META && (err = s_schema_check(s, txn, create)) != JURY_OK)
            goto fail;
    }
    /* Committing (even a read transaction) keeps the table handles open. */
    if ((rc = mdb_txn_commit(txn)) != MDB_SUCCESS)
        return s_err(rc, "commit open");
    return JURY_OK;
fail:
    mdb_txn_abort(txn);
    return err;
}

jury_err jury_store_open(jury_store_t **out, const char *dir, const jury_store_opts_t *opts)
{
    jury_store_opts_t defaults = {0};
    if (!opts)
        opts = &defaults;
    if (!out || !dir || !*dir || (opts->read_only && opts->create))
        return JURY_EINVAL;

    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return s_err(errno, dir);
        if (!opts->create)
            return JURY_ENOTFOUND;
        if (mkdir(dir, 0750) != 0)
            return errno == ENOENT ? JURY_ENOTFOUND : s_err(errno, dir);
    } else if (!S_ISDIR(st.st_mode)) {
        return JURY_EINVAL;
    }
    if (!opts->read_only && access(dir, W_OK) != 0)
        return JURY_EPERM;

    jury_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return JURY_ENOMEM;
    s->read_only = opts->read_only;
    s->map_growth = opts->map_growth;
    s->map_max = opts->map_max;
    jury_err err = JURY_ENOMEM;
    if (!(s->dir = strdup(dir)))
        goto fail;
    int rc;
    if ((rc = mdb_env_create(&s->env)) != MDB_SUCCESS) {
        err = s_err(rc, "create environment");
        goto fail;
    }
    mdb_env_set_maxdbs(s->env, DB_COUNT);
    /* LMDB keeps the larger of this and the size recorded in the store. */
    size_t map_size = opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE;
    if (opts->map_max && map_size > opts->map_max)
        map_size = opts->map_max;
    mdb_env_set_mapsize(s->env, map_size);
    unsigned flags = MDB_NOTLS | (opts->read_only ? MDB_RDONLY : 0);
    if ((rc = mdb_env_open(s->env, dir, flags, 0640)) != MDB_SUCCESS) {
        err = rc == ENOENT ? JURY_ENOTFOUND : s_err(rc, dir);
        goto fail;
    }
    if ((err = s_open_dbs(s, opts->create)) != JURY_OK)
        goto fail;
    *out = s;
    return JURY_OK;
fail:
    jury_store_destroy(&s);
    return err;
}

void jury_store_destroy(jury_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jury_store_t *s = *self_p;
    if (s->env)
        mdb_env_close(s->env);
    free(s->dir);
    free(s);
    *self_p = NULL;
}

const char *jury_store_dir(const jury_store_t *store)
{
    return store->dir;
}

size_t jury_store_map_size(const jury_store_t *store)
{
    MDB_envinfo info;
    mdb_env_info(store->env, &info);
    return info.me_mapsize;
}

size_t jury_store_used_bytes(jury_store_t *store)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(store->env, &info);
    mdb_env_stat(store->env, &st);
    return (info.me_last_pgno + 1) * (size_t)st.ms_psize;
}

static jury_err s_grow(jury_store_t *s, size_t at_least)
{
    if (s->open_txns > 0)
        return JURY_EBUSY;
    size_t cur = jury_store_map_size(s);
    size_t next = s->map_growth ? cur + s->map_growth : cur * 2;
    if (next < at_least)
        next = at_least;
    if (s->map_max && next > s->map_max)
        next = s->map_max;
    if (next <= cur) {
        jury_log(JURY_LOG_ERROR, "store %s: the map is full at %zu MiB and may not grow%s", s->dir,
                 cur >> 20, s->map_max ? " (its limit, --map-max)" : "");
        return JURY_EFULL;
    }
    int rc = mdb_env_set_mapsize(s->env, next);
    if (rc != MDB_SUCCESS) {
        jury_log(JURY_LOG_ERROR, "store %s: cannot grow the map to %zu bytes: %s", s->dir, next,
                 mdb_strerror(rc));
        return JURY_EFULL;
    }
    jury_log(JURY_LOG_INFO, "store %s: map grown to %zu MiB", s->dir, next >> 20);
    return JURY_OK;
}

jury_err jury_store_set_durable(jury_store_t *store, bool durable)
{
    int rc = mdb_env_set_flags(store->env, MDB_NOSYNC, durable ? 0 : 1);
    return rc == MDB_SUCCESS ? JURY_OK : s_err(rc, "set sync mode");
}

jury_err jury_store_sync(jury_store_t *store)
{
    int rc = mdb_env_sync(store->env, 1);
    jury_err err = rc == MDB_SUCCESS ? JURY_OK : s_err(rc, "sync");
    jury_err err2 = jury_store_set_durable(store, true);
    return err != JURY_OK ? err : err2;
}

jury_err jury_store_reserve(jury_store_t *store, size_t bytes)
{
    if (store->open_txns > 0)
        return JURY_EBUSY;
    size_t used = jury_store_used_bytes(store);
    size_t cur = jury_store_map_size(store);
    if (used + bytes <= cur)
        return JURY_OK;
    return s_grow(store, used + bytes);
}

/* ---- transactions ------------------------------------------------------ */

static jury_err s_begin(jury_store_t *s, bool write, jury_txn_t **out)
{
    if (write && s->read_only)
        return JURY_EPERM;
    jury_txn_t *t = malloc(sizeof *t);
    if (!t)
        return JURY_ENOMEM;
    t->store = s;
    t->write = write;
    t->ncache = 0;
    t->resp_cur = NULL;
    t->resp_next = false;
    t->dec_known = false;
    t->dec_last = 0;
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size and try again. */
        mdb_env_set_mapsize(s->env, 0);
        rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    }
    if (rc != MDB_SUCCESS) {
        free(t);
        return s_err(rc, "begin transaction");
    }
    s->open_txns++;
    *out = t;
    return JURY_OK;
}

jury_err jury_store_read(jury_store_t *store, jury_txn_t **out)
{
    return s_begin(store, false, out);
}

void jury_txn_abort(jury_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    jury_txn_t *t = *txn_p;
    if (t->resp_cur)
        mdb_cursor_close(t->resp_cur);
    mdb_txn_abort(t->txn);
    t->store->open_txns--;
    free(t);
    *txn_p = NULL;
}

static jury_err s_counters_flush(jury_txn_t *t);

/* Least free space on the store's file system below which a failed write counts as a full disk. */
#define DISK_LOW_BYTES ((uint64_t)64 << 20)

/*
 * Whether a commit that failed with EIO failed for want of space. LMDB turns
 * a short write (the disk filled in the middle of it, or the file reached the
 * process's size limit) into EIO, so the cause is read off the file system:
 * less than DISK_LOW_BYTES free, or the data file within 1 MiB of RLIMIT_FSIZE.
 */
static bool s_space_short(const jury_store_t *s)
{
    struct statvfs vfs;
    if (statvfs(s->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < DISK_LOW_BYTES)
        return true;
    struct rlimit lim;
    char path[PATH_MAX];
    struct stat st;
    if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        snprintf(path, sizeof path, "%s/data.mdb", s->dir) < (int)sizeof path &&
        stat(path, &st) == 0 && (uint64_t)st.st_size + (1u << 20) >= (uint64_t)lim.rlim_cur)
        return true;
    return false;
}

static jury_err s_commit(jury_txn_t **txn_p)
{
    jury_txn_t *t = *txn_p;
    jury_err err = s_counters_flush(t);
    if (err != JURY_OK) {
        jury_txn_abort(txn_p);
        return err;
    }
    int rc = mdb_txn_commit(t->txn);
    jury_store_t *s = t->store;
    s->open_txns--;
    free(t);
    *txn_p = NULL;
    if (rc == EIO && s_space_short(s)) {
        jury_log(JURY_LOG_ERROR, "store %s: commit: the disk is full (a short write)", s->dir);
        s_disk_full = true;
        return JURY_EFULL;
    }
    return s_err(rc, "commit");
}

jury_err jury_store_write(jury_store_t *store, jury_store_write_fn fn, void *arg)
{
    for (int attempt = 0; attempt < WRITE_RETRIES; attempt++) {
        jury_txn_t *t;
        jury_err err = s_begin(store, true, &t);
        if (err != JURY_OK)
            return err;
        s_disk_full = false;
        err = fn(t, arg);
        if (err == JURY_OK)
            err = s_commit(&t);
        else
            jury_txn_abort(&t);
        if (err != JURY_EFULL || s_disk_full)
            return err; /* a full disk is not cured by a larger map */
        if ((err = s_grow(store, 0)) != JURY_OK)
            return err;
    }
    return JURY_EFULL;
}

/* ---- counters ---------------------------------------------------------- */

static void s_counter_key(unsigned char k[8], uint32_t ds, uint32_t annotator)
{
    s_put32(k, ds);
    s_put32(k + 4, annotator);
}

static jury_err s_counters_flush(jury_txn_t *t)
{
    for (int i = 0; i < t->ncache; i++) {
        unsigned char k[8], v[8 * COUNTER_N];
        s_counter_key(k, t->cache[i].ds, t->cache[i].annotator);
        for (int j = 0; j < COUNTER_N; j++)
            s_put64(v + 8 * j, t->cache[i].v[j]);
        MDB_val key = s_val(k, 8), val = s_val(v, sizeof v);
        int rc = mdb_put(t->txn, t->store->dbi[DB_COUNTERS], &key, &val, 0);
        if (rc != MDB_SUCCESS)
            return s_err(rc, "write counters");
    }
    t->ncache = 0;
    return JURY_OK;
}

static void s_counters_decode(const MDB_val *val, uint64_t v[COUNTER_N])
{
    memset(v, 0, sizeof(uint64_t) * COUNTER_N);
    size_t n = val->mv_size / 8 < COUNTER_N ? val->mv_size / 8 : COUNTER_N;
    for (size_t j = 0; j < n; j++)
        v[j] = s_get64((const unsigned char *)val->mv_data + 8 * j);
}

/* Returns the cached row (ds, annotator), loading it; NULL with *err set on failure. */
static counter_row_t *s_counter_row(jury_txn_t *t, uint32_t ds, uint32_t annotator, jury_err *err)
{
    for (int i = 0; i < t->ncache; i++)
        if (t->cache[i].ds == ds && t->cache[i].annotator == annotator)
            return &t->cache[i];
    if (t->ncache == COUNTER_CACHE && (*err = s_counters_flush(t)) != JURY_OK)
        return NULL;
    counter_row_t *row = &t->cache[t->ncache];
    unsigned char k[8];
    s_counter_key(k, ds, annotator);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(t->txn, t->store->dbi[DB_COUNTERS], &key, &val);
    if (rc == MDB_NOTFOUND) {
        memset(row->v, 0, sizeof row->v);
    } else if (rc != MDB_SUCCESS) {
        *err = s_err(rc, "read counters");
        return NULL;
    } else {
        s_counters_decode(&val, row->v);
    }
    row->ds = ds;
    row->annotator = annotator;
    t->ncache++;
    return row;
}

static void s_counts_from(const uint64_t v[COUNTER_N], jury_counts_t *out)
{
    out->records = v[C_RECORDS];
    out->completed = v[C_COMPLETED];
    out->discarded = v[C_SET_ASIDE];
    out->contested = v[C_CONTESTED];
    out->gold = v[C_GOLD];
    out->responses[JURY_RESPONSE_SUBMITTED] = v[C_SUBMITTED];
    out->responses[JURY_RESPONSE_DISCARDED] = v[C_DISCARDED];
    out->responses[JURY_RESPONSE_DRAFT] = v[C_DRAFT];
}

/* Reads a counter row, seeing this transaction's unflushed changes. */
static jury_err s_counts_read(jury_txn_t *t, uint32_t ds, uint32_t annotator, uint64_t v[COUNTER_N])
{
    for (int i = 0; i < t->ncache; i++)
        if (t->cache[i].ds == ds && t->cache[i].annotator == annotator) {
            memcpy(v, t->cache[i].v, sizeof(uint64_t) * COUNTER_N);
            return JURY_OK;
        }
    unsigned char k[8];
    s_counter_key(k, ds, annotator);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(t->txn, t->store->dbi[DB_COUNTERS], &key, &val);
    if (rc == MDB_NOTFOUND) {
        memset(v, 0, sizeof(uint64_t) * COUNTER_N);
        return JURY_OK;
    }
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read counters");
    s_counters_decode(&val, v);
    return JURY_OK;
}

/* ---- meta sequences ---------------------------------------------------- */

static jury_err s_next_id(jury_txn_t *t, const char *name, uint32_t *out)
{
    MDB_val key = s_val(name, strlen(name)), val;
    uint32_t next = 1;
    int rc = mdb_get(t->txn, t->store->dbi[DB_META], &key, &val);
    if (rc == MDB_SUCCESS && val.mv_size == 4)
        next = s_get32(val.mv_data);
    else if (rc != MDB_NOTFOUND)
        return rc == MDB_SUCCESS ? JURY_ECORRUPT : s_err(rc, name);
    if (next == UINT32_MAX || next >= (1u << (64 - JURY_RECORD_SEQ_BITS)))
        return JURY_EFULL;
    unsigned char v[4];
    s_put32(v, next + 1);
    val = s_val(v, 4);
    if ((rc = mdb_put(t->txn, t->store->dbi[DB_META], &key, &val, 0)) != MDB_SUCCESS)
        return s_err(rc, name);
    *out = next;
    return JURY_OK;
}

/* ---- datasets ---------------------------------------------------------- */

static jury_err s_need_write(const jury_txn_t *t)
{
    return t->write ? JURY_OK : JURY_EPERM;
}

static bool s_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= JURY_STORE_NAME_MAX;
}

static jury_err s_dataset_decode(const MDB_val *key, const MDB_val *val, jury_dataset_t *out)
{
    if (val->mv_size < DATASET_HDR || key->mv_size < 1 ||
        ((const char *)key->mv_data)[key->mv_size - 1] != '\0')
        return JURY_ECORRUPT;
    const unsigned char *p = val->mv_data;
    out->id = s_get32(p);
    out->created_ms = (int64_t)s_get64(p + 4);
    out->settings = (const char *)p + DATASET_HDR;
    out->settings_len = val->mv_size - DATASET_HDR;
    out->name = key->mv_data;
    return JURY_OK;
}

jury_err jury_store_dataset_create(jury_txn_t *txn, const char *name, const char *settings,
                                   size_t settings_len, uint32_t *id_out)
{
    jury_err err;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    if (!s_name_ok(name) || (!settings && settings_len))
        return JURY_EINVAL;
    MDB_val key = s_val(name, strlen(name) + 1), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_DATASETS], &key, &val);
    if (rc == MDB_SUCCESS)
        return JURY_EEXIST;
    if (rc != MDB_NOTFOUND)
        return s_err(rc, "read dataset");
    uint32_t id;
    if ((err = s_next_id(txn, "next_dataset", &id)) != JURY_OK)
        return err;
    /* MDB_RESERVE lets us write the header and settings straight into the map. */
    val.mv_size = DATASET_HDR + settings_len;
    rc = mdb_put(txn->txn, txn->store->dbi[DB_DATASETS], &key, &val, MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "write dataset");
    unsigned char *p = val.mv_data;
    s_put32(p, id);
    s_put64(p + 4, (uint64_t)s_now_ms());
    if (settings_len)
        memcpy(p + DATASET_HDR, settings, settings_len);

    unsigned char k[4];
    s_put32(k, id);
    MDB_val ikey = s_val(k, 4), ival = s_val(name, strlen(name) + 1);
    if ((rc = mdb_put(txn->txn, txn->store->dbi[DB_DATASET_IDS], &ikey, &ival, 0)) != MDB_SUCCESS)
        return s_err(rc, "write dataset id");
    if (id_out)
        *id_out = id;
    return JURY_OK;
}

jury_err jury_store_dataset_get(jury_txn_t *txn, const char *name, jury_dataset_t *out)
{
    if (!s_name_ok(name))
        return JURY_ENOTFOUND;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_DATASETS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    /* A cursor lookup returns the key as stored in the map, which gives a
     * NUL-terminated name that lives as long as the transaction. */
    MDB_val key = s_val(name, strlen(name) + 1), val;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
    jury_err err =
        rc == MDB_SUCCESS ? s_dataset_decode(&key, &val, out) : s_err(rc, "read dataset");
    mdb_cursor_close(cur);
    return err;
}

jury_err jury_store_dataset_get_id(jury_txn_t *txn, uint32_t id, jury_dataset_t *out)
{
    unsigned char k[4];
    s_put32(k, id);
    MDB_val key = s_val(k, 4), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_DATASET_IDS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read dataset id");
    if (val.mv_size < 2 || ((const char *)val.mv_data)[val.mv_size - 1] != '\0')
        return JURY_ECORRUPT;
    return jury_store_dataset_get(txn, val.mv_data, out);
}

jury_err jury_store_dataset_each(jury_txn_t *txn,
                                 jury_err (*fn)(const jury_dataset_t *ds, void *arg), void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_DATASETS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key, val;
    jury_err err = JURY_OK;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        jury_dataset_t ds;
        if ((err = s_dataset_decode(&key, &val, &ds)) != JURY_OK || (err = fn(&ds, arg)) != JURY_OK)
            break;
    }
    if (err == JURY_OK && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk datasets");
    mdb_cursor_close(cur);
    return err;
}

/* Deletes every key in db that starts with the prefix bytes. */
static jury_err s_delete_prefix(jury_txn_t *t, int db, const unsigned char *prefix, size_t n)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    for (;;) {
        /* Seek afresh after each delete rather than trust the cursor's
         * position past a deleted key at the end of a page. */
        MDB_val key = s_val(prefix, n), val;
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc != MDB_SUCCESS || key.mv_size < n || memcmp(key.mv_data, prefix, n) != 0)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? JURY_OK : s_err(rc, "delete range");
}

/* Deletes the decisions of dataset ds. */
static jury_err s_decisions_clear(jury_txn_t *t, uint32_t ds)
{
    /* Larger ids cannot own a record id; their truncated prefix would name another dataset. */
    if (ds >> (64 - JURY_RECORD_SEQ_BITS))
        return JURY_OK;
    t->dec_known = false;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[DB_DECISIONS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key, val;
    bool whole = false;
    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    if (rc == MDB_SUCCESS && key.mv_size == 8 && jury_record_dataset(s_get64(key.mv_data)) == ds) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
        whole = rc == MDB_SUCCESS && key.mv_size == 8 &&
                jury_record_dataset(s_get64(key.mv_data)) == ds;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        return JURY_OK; /* no decisions at all */
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read decisions");
    /* The usual case, one consolidated dataset, owns the whole table:
     * emptying it frees the pages without visiting millions of keys. */
    if (whole)
        return s_err(mdb_drop(t->txn, t->store->dbi[DB_DECISIONS], 0), "clear decisions");
    unsigned char k[8];
    s_put64(k, (uint64_t)ds << JURY_RECORD_SEQ_BITS);
    return s_delete_prefix(t, DB_DECISIONS, k, 3);
}

static jury_err s_grants_drop_dataset(jury_txn_t *t, uint32_t ds);

jury_err jury_store_dataset_delete(jury_txn_t *txn, const char *name)
{
    jury_err err;
    jury_dataset_t ds;
    if ((err = s_need_write(txn)) != JURY_OK ||
        (err = jury_store_dataset_get(txn, name, &ds)) != JURY_OK)
        return err;
    uint32_t id = ds.id;
    if ((err = s_counters_flush(txn)) != JURY_OK)
        return err;
    /* Record and response keys start with the big-endian record id, whose
     * top 24 bits are the dataset id (< 2^24): its first 3 bytes are the prefix. */
    unsigned char p32[4], p24[3];
    s_put32(p32, id);
    uint64_t base = (uint64_t)id << JURY_RECORD_SEQ_BITS;
    unsigned char b[8];
    s_put64(b, base);
    memcpy(p24, b, 3);
    if ((err = s_delete_prefix(txn, DB_RECORDS, p24, 3)) != JURY_OK ||
        (err = s_delete_prefix(txn, DB_RSTATE, p24, 3)) != JURY_OK ||
        (err = s_delete_prefix(txn, DB_RESPONSES, p24, 3)) != JURY_OK ||
        (err = s_delete_prefix(txn, DB_EXTIDS, p32, 4)) != JURY_OK ||
        (err = s_delete_prefix(txn, DB_COUNTERS, p32, 4)) != JURY_OK ||
        (err = s_delete_prefix(txn, DB_AGREEMENT, p32, 4)) != JURY_OK ||
        (err = s_delete_prefix(txn, DB_RAGREE, p24, 3)) != JURY_OK ||
        (err = s_decisions_clear(txn, id)) != JURY_OK ||
        (err = s_delete_prefix(txn, DB_CONSOLIDATION, p32, 4)) != JURY_OK ||
        (err = s_grants_drop_dataset(txn, id)) != JURY_OK ||
        (!txn->store->absent[DB_PAUSED] &&
         (err = s_delete_prefix(txn, DB_PAUSED, p32, 4)) != JURY_OK) ||
        (!txn->store->absent[DB_GOLD] &&
         (err = s_delete_prefix(txn, DB_GOLD, p32, 4)) != JURY_OK) ||
        (!txn->store->absent[DB_REVIEWS] &&
         (err = s_delete_prefix(txn, DB_REVIEWS, p24, 3)) != JURY_OK) ||
        (!txn->store->absent[DB_REVIEW_QUEUE] &&
         (err = s_delete_prefix(txn, DB_REVIEW_QUEUE, p24, 3)) != JURY_OK))
        return err;
    MDB_val key = s_val(name, strlen(name) + 1);
    int rc = mdb_del(txn->txn, txn->store->dbi[DB_DATASETS], &key, NULL);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "delete dataset");
    key = s_val(p32, 4);
    rc = mdb_del(txn->txn, txn->store->dbi[DB_DATASET_IDS], &key, NULL);
    return rc == MDB_NOTFOUND ? JURY_OK : s_err(rc, "delete dataset id");
}

/* ---- records ----------------------------------------------------------- */

#define RSTATE_CONTESTED 0x80 /* flag in the status byte: dynamic overlap ran out (contested) */
#define RSTATE_GOLD      0x40 /* flag in the status byte: a gold record (known answers) */
#define RSTATE_FLAGS     (RSTATE_CONTESTED | RSTATE_GOLD)

static void s_rstate_encode(unsigned char p[RSTATE_LEN], const jury_record_state_t *st)
{
    p[0] = (unsigned char)((unsigned)st->status | (st->contested ? RSTATE_CONTESTED : 0u) |
                           (st->gold ? RSTATE_GOLD : 0u));
    s_put32(p + 1, st->target);
    s_put32(p + 5, st->submitted);
    s_put32(p + 9, st->discarded);
    s_put32(p + 13, st->draft);
}

static jury_err s_rstate_decode(const MDB_val *val, jury_record_state_t *st)
{
    if (val->mv_size != RSTATE_LEN)
        return JURY_ECORRUPT;
    const unsigned char *p = val->mv_data;
    if ((p[0] & ~RSTATE_FLAGS) > JURY_RECORD_DISCARDED)
        return JURY_ECORRUPT;
    st->status = (jury_record_status)(p[0] & ~RSTATE_FLAGS);
    st->contested = (p[0] & RSTATE_CONTESTED) != 0;
    st->gold = (p[0] & RSTATE_GOLD) != 0;
    st->target = s_get32(p + 1);
    st->submitted = s_get32(p + 5);
    st->discarded = s_get32(p + 9);
    st->draft = s_get32(p + 13);
    return JURY_OK;
}

/*
 * Puts key/val into db. A new record's id is the largest of its dataset, and
 * usually of the whole table: then MDB_APPEND skips the search and fills
 * pages instead of splitting them in half. When a later dataset exists the
 * append is refused (MDB_KEYEXIST) and an ordinary put follows.
 */
static int s_put_maybe_append(jury_txn_t *t, int db, MDB_val *key, MDB_val *val, bool append)
{
    if (append) {
        MDB_val k = *key, v = *val;
        int rc = mdb_put(t->txn, t->store->dbi[db], &k, &v, MDB_APPEND);
        if (rc != MDB_KEYEXIST)
            return rc;
    }
    return mdb_put(t->txn, t->store->dbi[db], key, val, 0);
}

static jury_err s_rstate_write(jury_txn_t *t, uint64_t rid, const jury_record_state_t *st,
                               bool append)
{
    unsigned char k[8], v[RSTATE_LEN];
    s_put64(k, rid);
    s_rstate_encode(v, st);
    MDB_val key = s_val(k, 8), val = s_val(v, RSTATE_LEN);
    return s_err(s_put_maybe_append(t, DB_RSTATE, &key, &val, append), "write record state");
}

static jury_err s_rstate_put(jury_txn_t *t, uint64_t rid, const jury_record_state_t *st)
{
    return s_rstate_write(t, rid, st, false);
}

static jury_err s_rstate_get(jury_txn_t *t, uint64_t rid, jury_record_state_t *st)
{
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(t->txn, t->store->dbi[DB_RSTATE], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read record state");
    return s_rstate_decode(&val, st);
}

jury_err jury_store_record_find(jury_txn_t *txn, uint32_t ds, const char *ext_id, size_t ext_len,
                                uint64_t *rid_out)
{
    if (!ext_len || ext_len > JURY_STORE_EXTID_MAX)
        return JURY_ENOTFOUND;
    unsigned char k[4 + JURY_STORE_EXTID_MAX];
    s_put32(k, ds);
    memcpy(k + 4, ext_id, ext_len);
    MDB_val key = s_val(k, 4 + ext_len), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_EXTIDS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "find record");
    if (val.mv_size != 8)
        return JURY_ECORRUPT;
    *rid_out = s_get64(val.mv_data);
    return JURY_OK;
}

jury_err jury_store_record_put(jury_txn_t *txn, uint32_t ds, const char *ext_id, size_t ext_len,
                               const void *payload, size_t payload_len, uint32_t target,
                               uint64_t *rid_out, bool *created)
{
    jury_err err;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    if (!ext_len || !target || (!payload && payload_len))
        return JURY_EINVAL;
    if (ext_len > JURY_STORE_EXTID_MAX)
        return JURY_ETOOBIG;

    unsigned char k[4 + JURY_STORE_EXTID_MAX];
    s_put32(k, ds);
    memcpy(k + 4, ext_id, ext_len);
    MDB_val xkey = s_val(k, 4 + ext_len);
    counter_row_t *row = s_counter_row(txn, ds, 0, &err);
    if (!row)
        return err;
    if (row->v[C_NEXT_SEQ] == 0) {
        /* First record of this dataset in this store: check it exists. */
        jury_dataset_t d;
        if ((err = jury_store_dataset_get_id(txn, ds, &d)) != JURY_OK)
            return err;
        row->v[C_NEXT_SEQ] = 1;
    }
    uint64_t seq = row->v[C_NEXT_SEQ];
    if (seq >> JURY_RECORD_SEQ_BITS)
        return JURY_EFULL;
    /* Claim the next id for this external id in one step: when the id is
     * taken, LMDB hands back the record it names instead. */
    uint64_t rid = (uint64_t)ds << JURY_RECORD_SEQ_BITS | seq;
    unsigned char v[8];
    s_put64(v, rid);
    MDB_val xval = s_val(v, 8);
    int rc = mdb_put(txn->txn, txn->store->dbi[DB_EXTIDS], &xkey, &xval, MDB_NOOVERWRITE);
    bool is_new = rc == MDB_SUCCESS;
    if (rc == MDB_KEYEXIST) {
        if (xval.mv_size != 8)
            return JURY_ECORRUPT;
        rid = s_get64(xval.mv_data);
    } else if (rc != MDB_SUCCESS) {
        return s_err(rc, "write record index");
    } else {
        jury_record_state_t st = {.status = JURY_RECORD_PENDING, .target = target};
        if ((err = s_rstate_write(txn, rid, &st, true)) != JURY_OK)
            return err;
        row->v[C_NEXT_SEQ] = seq + 1;
        row->v[C_RECORDS]++;
    }

    unsigned char rk[8];
    s_put64(rk, rid);
    MDB_val key = s_val(rk, 8), val = s_val(payload, payload_len);
    if ((rc = s_put_maybe_append(txn, DB_RECORDS, &key, &val, is_new)) != MDB_SUCCESS)
        return s_err(rc, "write record");
    if (rid_out)
        *rid_out = rid;
    if (created)
        *created = is_new;
    return JURY_OK;
}

jury_err jury_store_record_get(jury_txn_t *txn, uint64_t rid, const void **payload,
                               size_t *payload_len, jury_record_state_t *state)
{
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_RECORDS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read record");
    if (payload)
        *payload = val.mv_data;
    if (payload_len)
        *payload_len = val.mv_size;
    return state ? s_rstate_get(txn, rid, state) : JURY_OK;
}

const char *jury_record_status_name(jury_record_status status)
{
    static const char *const names[] = {"pending", "completed", "discarded"};
    return (unsigned)status <= JURY_RECORD_DISCARDED ? names[status] : NULL;
}

jury_err jury_store_record_each(jury_txn_t *txn, uint32_t ds, uint64_t after_rid,
                                jury_err (*fn)(uint64_t rid, const jury_record_state_t *st,
                                               void *arg),
                                void *arg)
{
    uint64_t lo = (uint64_t)ds << JURY_RECORD_SEQ_BITS;
    uint64_t hi = lo | ((UINT64_C(1) << JURY_RECORD_SEQ_BITS) - 1);
    if (after_rid >= hi)
        return JURY_OK;
    uint64_t start = after_rid >= lo ? after_rid + 1 : lo;
    unsigned char k[8];
    s_put64(k, start);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_RSTATE], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 8), val;
    jury_err err = JURY_OK;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 8) {
            err = JURY_ECORRUPT;
            break;
        }
        uint64_t rid = s_get64(key.mv_data);
        if (rid > hi)
            break;
        jury_record_state_t st;
        if ((err = s_rstate_decode(&val, &st)) != JURY_OK || (err = fn(rid, &st, arg)) != JURY_OK)
            break;
    }
    mdb_cursor_close(cur);
    if (err == JURY_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk records");
    return err;
}

/* ---- annotators -------------------------------------------------------- */

static void s_annotator_encode(unsigned char v[ANNOTATOR_ROW], const jury_annotator_t *a)
{
    s_put32(v, a->id);
    s_put64(v + 4, (uint64_t)a->created_ms);
    v[12] = (unsigned char)a->role;
    v[13] = (unsigned char)((a->disabled ? A_DISABLED : 0) | (a->has_key ? A_HAS_KEY : 0));
    if (a->has_key)
        memcpy(v + 14, a->public_key, 32);
    else
        memset(v + 14, 0, 32);
    s_put64(v + 46, (uint64_t)a->changed_ms);
    v[13] |= a->has_web_token ? A_HAS_TOKEN : 0;
    if (a->has_web_token)
        memcpy(v + 54, a->web_token_hash, 32);
    else
        memset(v + 54, 0, 32);
}

/* Decodes an annotators row (name: the NUL-terminated key, borrowed). Rows of the first build
 * (ANNOTATOR_LEN bytes) read with the defaults; longer rows than ours come from a later build of
 * the same schema, which may only append. */
static jury_err s_annotator_decode(const char *name, const MDB_val *val, jury_annotator_t *out)
{
    const unsigned char *p = val->mv_data;
    if (val->mv_size != ANNOTATOR_LEN && val->mv_size < ANNOTATOR_KEYED)
        return JURY_ECORRUPT;
    memset(out, 0, sizeof *out);
    out->id = s_get32(p);
    out->name = name;
    out->created_ms = (int64_t)s_get64(p + 4);
    out->role = JURY_ROLE_ANNOTATOR;
    out->changed_ms = out->created_ms;
    if (val->mv_size == ANNOTATOR_LEN)
        return JURY_OK;
    if (p[12] > JURY_ROLE_GATEWAY)
        return JURY_ECORRUPT;
    out->role = (jury_role)p[12];
    out->disabled = (p[13] & A_DISABLED) != 0;
    out->has_key = (p[13] & A_HAS_KEY) != 0;
    if (out->has_key)
        memcpy(out->public_key, p + 14, 32);
    out->changed_ms = (int64_t)s_get64(p + 46);
    if (val->mv_size < ANNOTATOR_ROW)
        return JURY_OK;
    out->has_web_token = (p[13] & A_HAS_TOKEN) != 0;
    if (out->has_web_token)
        memcpy(out->web_token_hash, p + 54, 32);
    return JURY_OK;
}

jury_err jury_store_annotator_find(jury_txn_t *txn, const char *name, uint32_t *id_out)
{
    if (!s_name_ok(name))
        return JURY_ENOTFOUND;
    MDB_val key = s_val(name, strlen(name) + 1), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_ANNOTATORS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read annotator");
    if (val.mv_size < ANNOTATOR_LEN)
        return JURY_ECORRUPT;
    *id_out = s_get32(val.mv_data);
    return JURY_OK;
}

jury_err jury_store_annotator_ensure(jury_txn_t *txn, const char *name, uint32_t *id_out,
                                     bool *created)
{
    jury_err err;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    if (!s_name_ok(name))
        return JURY_EINVAL;
    uint32_t id;
    err = jury_store_annotator_find(txn, name, &id);
    if (err == JURY_OK) {
        if (id_out)
            *id_out = id;
        if (created)
            *created = false;
        return JURY_OK;
    }
    if (err != JURY_ENOTFOUND)
        return err;
    if ((err = s_next_id(txn, "next_annotator", &id)) != JURY_OK)
        return err;
    int64_t now = s_now_ms();
    jury_annotator_t a = {
        .id = id, .role = JURY_ROLE_ANNOTATOR, .created_ms = now, .changed_ms = now};
    unsigned char v[ANNOTATOR_ROW], k[4];
    s_annotator_encode(v, &a);
    MDB_val key = s_val(name, strlen(name) + 1), val = s_val(v, ANNOTATOR_ROW);
    int rc = mdb_put(txn->txn, txn->store->dbi[DB_ANNOTATORS], &key, &val, 0);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "write annotator");
    s_put32(k, id);
    MDB_val ikey = s_val(k, 4);
    if ((rc = mdb_put(txn->txn, txn->store->dbi[DB_ANNOTATOR_IDS], &ikey, &key, 0)) != MDB_SUCCESS)
        return s_err(rc, "write annotator id");
    if (id_out)
        *id_out = id;
    if (created)
        *created = true;
    return JURY_OK;
}

jury_err jury_store_annotator_name(jury_txn_t *txn, uint32_t id, const char **name_out)
{
    unsigned char k[4];
    s_put32(k, id);
    MDB_val key = s_val(k, 4), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_ANNOTATOR_IDS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read annotator id");
    if (val.mv_size < 2 || ((const char *)val.mv_data)[val.mv_size - 1] != '\0')
        return JURY_ECORRUPT;
    *name_out = val.mv_data;
    return JURY_OK;
}

/* ---- responses --------------------------------------------------------- */

const char *jury_response_status_name(jury_response_status status)
{
    static const char *const names[JURY_RESPONSE_NSTATUS] = {"submitted", "discarded", "draft"};
    return (unsigned)status < JURY_RESPONSE_NSTATUS ? names[status] : NULL;
}

static jury_err s_response_decode(const MDB_val *key, const MDB_val *val, jury_response_t *out)
{
    if (key->mv_size != 12 || val->mv_size < RESPONSE_HDR)
        return JURY_ECORRUPT;
    const unsigned char *p = val->mv_data;
    if (p[0] >= JURY_RESPONSE_NSTATUS)
        return JURY_ECORRUPT;
    out->annotator = s_get32((const unsigned char *)key->mv_data + 8);
    out->status = (jury_response_status)p[0];
    out->updated_ms = (int64_t)s_get64(p + 1);
    out->values = p + RESPONSE_HDR;
    out->values_len = val->mv_size - RESPONSE_HDR;
    return JURY_OK;
}

static uint32_t *s_state_slot(jury_record_state_t *st, jury_response_status s)
{
    return s == JURY_RESPONSE_SUBMITTED   ? &st->submitted
           : s == JURY_RESPONSE_DISCARDED ? &st->discarded
                                          : &st->draft;
}

jury_err jury_store_response_put(jury_txn_t *txn, uint64_t rid, uint32_t annotator,
                                 jury_response_status status, const void *values, size_t values_len,
                                 int64_t updated_ms, uint32_t max_discards,
                                 jury_record_state_t *state_out)
{
    jury_err err;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    if ((unsigned)status >= JURY_RESPONSE_NSTATUS || (!values && values_len))
        return JURY_EINVAL;
    jury_record_state_t st;
    if ((err = s_rstate_get(txn, rid, &st)) != JURY_OK)
        return err;
    const char *name;
    if ((err = jury_store_annotator_name(txn, annotator, &name)) != JURY_OK)
        return err;

    unsigned char k[12];
    s_put64(k, rid);
    s_put32(k + 8, annotator);
    MDB_val key = s_val(k, 12), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_RESPONSES], &key, &val);
    bool had = false;
    jury_response_status old = JURY_RESPONSE_SUBMITTED;
    if (rc == MDB_SUCCESS) {
        jury_response_t prev;
        if ((err = s_response_decode(&key, &val, &prev)) != JURY_OK)
            return err;
        had = true;
        old = prev.status;
    } else if (rc != MDB_NOTFOUND) {
        return s_err(rc, "read response");
    }

    val.mv_size = RESPONSE_HDR + values_len;
    if ((rc = mdb_put(txn->txn, txn->store->dbi[DB_RESPONSES], &key, &val, MDB_RESERVE)) !=
        MDB_SUCCESS)
        return s_err(rc, "write response");
    unsigned char *p = val.mv_data;
    p[0] = (unsigned char)status;
    s_put64(p + 1, (uint64_t)updated_ms);
    if (values_len)
        memcpy(p + RESPONSE_HDR, values, values_len);

    uint32_t ds = jury_record_dataset(rid);
    /* Make room for both rows first, so that loading the second cannot flush
     * the cache under the first. */
    if (txn->ncache > COUNTER_CACHE - 2 && (err = s_counters_flush(txn)) != JURY_OK)
        return err;
    counter_row_t *drow = s_counter_row(txn, ds, 0, &err);
    if (!drow)
        return err;
    counter_row_t *arow = s_counter_row(txn, ds, annotator, &err);
    if (!arow)
        return err;
    jury_record_status was = st.status;
    if (had) {
        (*s_state_slot(&st, old))--;
        drow->v[C_SUBMITTED + old]--;
        arow->v[C_SUBMITTED + old]--;
    }
    (*s_state_slot(&st, status))++;
    drow->v[C_SUBMITTED + status]++;
    arow->v[C_SUBMITTED + status]++;
    st.status = st.submitted >= st.target                      ? JURY_RECORD_COMPLETED
                : max_discards && st.discarded >= max_discards ? JURY_RECORD_DISCARDED
                                                               : JURY_RECORD_PENDING;
    if (st.status != was) {
        if (was == JURY_RECORD_COMPLETED)
            drow->v[C_COMPLETED]--;
        else if (was == JURY_RECORD_DISCARDED)
            drow->v[C_SET_ASIDE]--;
        if (st.status == JURY_RECORD_COMPLETED)
            drow->v[C_COMPLETED]++;
        else if (st.status == JURY_RECORD_DISCARDED)
            drow->v[C_SET_ASIDE]++;
    }
    if (state_out)
        *state_out = st;
    return s_rstate_put(txn, rid, &st);
}

jury_err jury_store_record_mark_gold(jury_txn_t *txn, uint64_t rid)
{
    jury_err err;
    jury_record_state_t st;
    if (!txn->write)
        return JURY_EPERM;
    if ((err = s_rstate_get(txn, rid, &st)) != JURY_OK)
        return err;
    if (st.gold)
        return JURY_OK;
    if (txn->ncache > COUNTER_CACHE - 1 && (err = s_counters_flush(txn)) != JURY_OK)
        return err;
    counter_row_t *drow = s_counter_row(txn, jury_record_dataset(rid), 0, &err);
    if (!drow)
        return err;
    /* A gold record is no record to complete: it leaves the count of records (and of completed
     * ones, should it have been one) for the count of gold records. */
    drow->v[C_RECORDS]--;
    if (st.status == JURY_RECORD_COMPLETED)
        drow->v[C_COMPLETED]--;
    else if (st.status == JURY_RECORD_DISCARDED)
        drow->v[C_SET_ASIDE]--;
    drow->v[C_GOLD]++;
    st.gold = true;
    st.target = JURY_STORE_GOLD_TARGET;
    st.status = JURY_RECORD_PENDING;
    return s_rstate_put(txn, rid, &st);
}

jury_err jury_store_record_set_target(jury_txn_t *txn, uint64_t rid, uint32_t target,
                                      bool contested, jury_record_state_t *state_out)
{
    jury_err err;
    jury_record_state_t st;
    if (!txn->write)
        return JURY_EPERM;
    if (target == 0)
        return JURY_EINVAL;
    if ((err = s_rstate_get(txn, rid, &st)) != JURY_OK)
        return err;
    if (txn->ncache > COUNTER_CACHE - 1 && (err = s_counters_flush(txn)) != JURY_OK)
        return err;
    counter_row_t *drow = s_counter_row(txn, jury_record_dataset(rid), 0, &err);
    if (!drow)
        return err;
    jury_record_status was = st.status;
    st.target = target;
    if (contested && !st.contested)
        drow->v[C_CONTESTED]++;
    st.contested = st.contested || contested;
    if (st.status != JURY_RECORD_DISCARDED)
        st.status = st.submitted >= st.target ? JURY_RECORD_COMPLETED : JURY_RECORD_PENDING;
    if (st.status != was)
        drow->v[C_COMPLETED] += st.status == JURY_RECORD_COMPLETED ? 1 : (uint64_t)-1;
    if (state_out)
        *state_out = st;
    return s_rstate_put(txn, rid, &st);
}

jury_err jury_store_response_get(jury_txn_t *txn, uint64_t rid, uint32_t annotator,
                                 jury_response_t *out)
{
    unsigned char k[12];
    s_put64(k, rid);
    s_put32(k + 8, annotator);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_RESPONSES], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 12), val;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
    jury_err err =
        rc == MDB_SUCCESS ? s_response_decode(&key, &val, out) : s_err(rc, "read response");
    mdb_cursor_close(cur);
    return err;
}

jury_err jury_store_response_each(jury_txn_t *txn, uint64_t rid,
                                  jury_err (*fn)(const jury_response_t *r, void *arg), void *arg)
{
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val;
    MDB_cursor *cur = txn->resp_cur;
    int rc;
    if (!cur) {
        rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_RESPONSES], &cur);
        if (rc != MDB_SUCCESS)
            return s_err(rc, "open cursor");
        /* A read transaction keeps its cursor: callers walking records in id order (export,
         * consolidation, reports) then find each record's responses where the last walk
         * stopped, without a search from the root. */
        if (!txn->write)
            txn->resp_cur = cur;
        rc = MDB_NOTFOUND;
    } else {
        rc = txn->resp_next ? mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT) : MDB_NOTFOUND;
    }
    txn->resp_next = false;
    if (rc != MDB_SUCCESS || key.mv_size != 12 || memcmp(key.mv_data, k, 8) != 0) {
        key = s_val(k, 8);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    }
    jury_err err = JURY_OK;
    for (; rc == MDB_SUCCESS && key.mv_size == 12 && memcmp(key.mv_data, k, 8) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        jury_response_t r;
        if ((err = s_response_decode(&key, &val, &r)) != JURY_OK || (err = fn(&r, arg)) != JURY_OK)
            break;
    }
    if (cur != txn->resp_cur)
        mdb_cursor_close(cur);
    else
        txn->resp_next = err == JURY_OK && rc == MDB_SUCCESS;
    if (err == JURY_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk responses");
    return err;
}

/* ---- agreement state ---------------------------------------------------- */

static jury_err s_agreement_key(unsigned char *k, size_t cap, uint32_t ds, const char *question,
                                size_t *len)
{
    size_t n = question ? strlen(question) : 0;
    if (n == 0 || 4 + n > cap)
        return JURY_EINVAL;
    s_put32(k, ds);
    memcpy(k + 4, question, n);
    *len = 4 + n;
    return JURY_OK;
}

jury_err jury_store_agreement_put(jury_txn_t *txn, uint32_t ds, const char *question,
                                  const void *state, size_t len)
{
    unsigned char k[4 + JURY_STORE_NAME_MAX];
    size_t kl;
    jury_err err;
    if ((err = s_need_write(txn)) != JURY_OK ||
        (err = s_agreement_key(k, sizeof k, ds, question, &kl)) != JURY_OK)
        return err;
    MDB_val key = s_val(k, kl), val = s_val(state, len);
    return s_err(mdb_put(txn->txn, txn->store->dbi[DB_AGREEMENT], &key, &val, 0),
                 "write agreement state");
}

jury_err jury_store_agreement_get(jury_txn_t *txn, uint32_t ds, const char *question,
                                  const void **state, size_t *len)
{
    unsigned char k[4 + JURY_STORE_NAME_MAX];
    size_t kl;
    jury_err err = s_agreement_key(k, sizeof k, ds, question, &kl);
    if (err != JURY_OK)
        return err == JURY_EINVAL ? JURY_ENOTFOUND : err;
    if (txn->store->absent[DB_AGREEMENT])
        return JURY_ENOTFOUND;
    MDB_val key = s_val(k, kl), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_AGREEMENT], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read agreement state");
    *state = val.mv_data;
    *len = val.mv_size;
    return JURY_OK;
}

jury_err jury_store_record_agreement_put(jury_txn_t *txn, uint64_t rid, double agreement)
{
    jury_err err = s_need_write(txn);
    if (err != JURY_OK)
        return err;
    unsigned char k[8], v[8];
    uint64_t bits;
    memcpy(&bits, &agreement, 8);
    s_put64(k, rid);
    s_put64(v, bits);
    MDB_val key = s_val(k, 8), val = s_val(v, 8);
    return s_err(mdb_put(txn->txn, txn->store->dbi[DB_RAGREE], &key, &val, 0),
                 "write record agreement");
}

jury_err jury_store_record_agreement_get(jury_txn_t *txn, uint64_t rid, double *agreement)
{
    unsigned char k[8];
    s_put64(k, rid);
    if (txn->store->absent[DB_RAGREE])
        return JURY_ENOTFOUND;
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_RAGREE], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read record agreement");
    if (val.mv_size != 8)
        return JURY_ECORRUPT;
    uint64_t bits = s_get64(val.mv_data);
    memcpy(agreement, &bits, 8);
    return JURY_OK;
}

/* ---- consolidation ----------------------------------------------------- */

jury_err jury_store_decision_put(jury_txn_t *txn, uint64_t rid, const void *blob, size_t len)
{
    jury_err err = s_need_write(txn);
    if (err != JURY_OK)
        return err;
    if (!blob && len)
        return JURY_EINVAL;
    MDB_dbi dbi = txn->store->dbi[DB_DECISIONS];
    int rc;
    if (!txn->dec_known) {
        /* Look the table's end up once per transaction, not once per put: a
         * re-run overwrites every decision, and a failed append would cost a
         * second descent each time. */
        MDB_cursor *cur;
        if ((rc = mdb_cursor_open(txn->txn, dbi, &cur)) != MDB_SUCCESS)
            return s_err(rc, "open cursor");
        MDB_val key, val;
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
        mdb_cursor_close(cur);
        if (rc == MDB_SUCCESS && key.mv_size != 8)
            return JURY_ECORRUPT;
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return s_err(rc, "read decisions");
        txn->dec_last = rc == MDB_SUCCESS ? s_get64(key.mv_data) : 0;
        txn->dec_known = true;
    }
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val = s_val(blob, len);
    /* Decisions are written in id order: past the table's last key they are
     * appended, which fills pages instead of splitting them. An overwrite or
     * an earlier dataset's decision is an ordinary put. */
    if ((rc = s_put_maybe_append(txn, DB_DECISIONS, &key, &val, rid > txn->dec_last)) !=
        MDB_SUCCESS)
        return s_err(rc, "write decision");
    if (rid > txn->dec_last)
        txn->dec_last = rid;
    return JURY_OK;
}

jury_err jury_store_decision_get(jury_txn_t *txn, uint64_t rid, const void **blob, size_t *len)
{
    if (txn->store->absent[DB_DECISIONS])
        return JURY_ENOTFOUND;
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_DECISIONS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read decision");
    *blob = val.mv_data;
    *len = val.mv_size;
    return JURY_OK;
}

jury_err jury_store_decision_clear(jury_txn_t *txn, uint32_t ds)
{
    jury_err err = s_need_write(txn);
    return err != JURY_OK ? err : s_decisions_clear(txn, ds);
}

jury_err jury_store_consolidation_put(jury_txn_t *txn, uint32_t ds, const void *blob, size_t len)
{
    jury_err err = s_need_write(txn);
    if (err != JURY_OK)
        return err;
    if (!blob && len)
        return JURY_EINVAL;
    unsigned char k[4];
    s_put32(k, ds);
    MDB_val key = s_val(k, 4), val = s_val(blob, len);
    return s_err(mdb_put(txn->txn, txn->store->dbi[DB_CONSOLIDATION], &key, &val, 0),
                 "write consolidation");
}

jury_err jury_store_consolidation_get(jury_txn_t *txn, uint32_t ds, const void **blob, size_t *len)
{
    if (txn->store->absent[DB_CONSOLIDATION])
        return JURY_ENOTFOUND;
    unsigned char k[4];
    s_put32(k, ds);
    MDB_val key = s_val(k, 4), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_CONSOLIDATION], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read consolidation");
    *blob = val.mv_data;
    *len = val.mv_size;
    return JURY_OK;
}

jury_err jury_store_dataset_set_settings(jury_txn_t *txn, uint32_t ds, const char *settings,
                                         size_t len)
{
    jury_err err;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    if ((!settings && len) || len > SIZE_MAX - DATASET_HDR)
        return JURY_EINVAL;
    jury_dataset_t d;
    if ((err = jury_store_dataset_get_id(txn, ds, &d)) != JURY_OK)
        return err;
    /* The name and the new settings may point into the map, even into the
     * row being replaced, which the put moves: build the row apart first. */
    char name[JURY_STORE_NAME_MAX + 1];
    size_t nl = strlen(d.name) + 1;
    if (nl > sizeof name)
        return JURY_ECORRUPT;
    memcpy(name, d.name, nl);
    unsigned char *row = malloc(DATASET_HDR + len);
    if (!row)
        return JURY_ENOMEM;
    s_put32(row, d.id);
    s_put64(row + 4, (uint64_t)d.created_ms);
    if (len)
        memcpy(row + DATASET_HDR, settings, len);
    MDB_val key = s_val(name, nl), val = s_val(row, DATASET_HDR + len);
    int rc = mdb_put(txn->txn, txn->store->dbi[DB_DATASETS], &key, &val, 0);
    free(row);
    return s_err(rc, "write dataset settings");
}

/* ---- reviews ------------------------------------------------------------ */

/* The key range [lo, hi] of dataset ds's record ids; false when ds cannot own record ids. */
static bool s_rid_range(uint32_t ds, uint64_t *lo, uint64_t *hi)
{
    if (ds >> (64 - JURY_RECORD_SEQ_BITS))
        return false;
    *lo = (uint64_t)ds << JURY_RECORD_SEQ_BITS;
    *hi = *lo | ((UINT64_C(1) << JURY_RECORD_SEQ_BITS) - 1);
    return true;
}

/*
 * Walks the rows of table db (keyed by be64 record id) of dataset ds whose id is greater than
 * after_rid, in id order, calling fn(rid, val, arg). A cursor walk over the dataset's key range:
 * one step per row of the dataset, never a scan of other datasets' rows.
 */
static jury_err s_rid_walk(jury_txn_t *t, int db, uint32_t ds, uint64_t after_rid,
                           jury_err (*fn)(uint64_t rid, const MDB_val *val, void *arg), void *arg)
{
    uint64_t lo, hi;
    if (t->store->absent[db] || !s_rid_range(ds, &lo, &hi) || after_rid >= hi)
        return JURY_OK;
    unsigned char k[8];
    s_put64(k, after_rid >= lo ? after_rid + 1 : lo);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[db], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 8), val;
    jury_err err = JURY_OK;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 8) {
            err = JURY_ECORRUPT;
            break;
        }
        uint64_t rid = s_get64(key.mv_data);
        if (rid > hi || (err = fn(rid, &val, arg)) != JURY_OK)
            break;
    }
    mdb_cursor_close(cur);
    if (err == JURY_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        err = s_err(rc, s_db_names[db]);
    return err;
}

jury_err jury_store_review_put(jury_txn_t *txn, uint64_t rid, const void *blob, size_t len)
{
    jury_err err = s_need_write(txn);
    if (err != JURY_OK)
        return err;
    if (!blob && len)
        return JURY_EINVAL;
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val = s_val(blob, len);
    return s_err(mdb_put(txn->txn, txn->store->dbi[DB_REVIEWS], &key, &val, 0), "write review");
}

jury_err jury_store_review_get(jury_txn_t *txn, uint64_t rid, const void **blob, size_t *len)
{
    if (txn->store->absent[DB_REVIEWS])
        return JURY_ENOTFOUND;
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_REVIEWS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read review");
    *blob = val.mv_data;
    *len = val.mv_size;
    return JURY_OK;
}

typedef struct {
    jury_err (*fn)(uint64_t rid, const void *blob, size_t len, void *arg); /* the caller's */
    void *arg;                                                             /* its argument */
} review_walk_t;

static jury_err s_review_step(uint64_t rid, const MDB_val *val, void *arg)
{
    review_walk_t *w = arg;
    return w->fn(rid, val->mv_data, val->mv_size, w->arg);
}

jury_err jury_store_review_each(jury_txn_t *txn, uint32_t ds,
                                jury_err (*fn)(uint64_t rid, const void *blob, size_t len,
                                               void *arg),
                                void *arg)
{
    review_walk_t w = {fn, arg};
    return s_rid_walk(txn, DB_REVIEWS, ds, 0, s_review_step, &w);
}

jury_err jury_store_review_queue_set(jury_txn_t *txn, uint64_t rid, unsigned why)
{
    jury_err err = s_need_write(txn);
    if (err != JURY_OK)
        return err;
    if (why > 0xffu)
        return JURY_EINVAL;
    unsigned char k[8], v[1] = {(unsigned char)why};
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val = s_val(v, 1);
    if (why == 0) {
        int rc = mdb_del(txn->txn, txn->store->dbi[DB_REVIEW_QUEUE], &key, NULL);
        return rc == MDB_NOTFOUND ? JURY_OK : s_err(rc, "delete review queue entry");
    }
    return s_err(mdb_put(txn->txn, txn->store->dbi[DB_REVIEW_QUEUE], &key, &val, 0),
                 "write review queue entry");
}

jury_err jury_store_review_queue_get(jury_txn_t *txn, uint64_t rid, unsigned *why)
{
    *why = 0;
    if (txn->store->absent[DB_REVIEW_QUEUE])
        return JURY_OK;
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_REVIEW_QUEUE], &key, &val);
    if (rc == MDB_NOTFOUND)
        return JURY_OK;
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read review queue entry");
    if (val.mv_size != 1)
        return JURY_ECORRUPT;
    *why = *(const unsigned char *)val.mv_data;
    return JURY_OK;
}

typedef struct {
    jury_err (*fn)(uint64_t rid, unsigned why, void *arg); /* the caller's, or NULL to count */
    void *arg;                                             /* its argument */
    uint64_t n;                                            /* entries seen */
} queue_walk_t;

static jury_err s_queue_step(uint64_t rid, const MDB_val *val, void *arg)
{
    queue_walk_t *w = arg;
    if (val->mv_size != 1)
        return JURY_ECORRUPT;
    w->n++;
    return w->fn ? w->fn(rid, *(const unsigned char *)val->mv_data, w->arg) : JURY_OK;
}

jury_err jury_store_review_queue_each(jury_txn_t *txn, uint32_t ds, uint64_t after_rid,
                                      jury_err (*fn)(uint64_t rid, unsigned why, void *arg),
                                      void *arg)
{
    queue_walk_t w = {fn, arg, 0};
    return s_rid_walk(txn, DB_REVIEW_QUEUE, ds, after_rid, s_queue_step, &w);
}

jury_err jury_store_review_queue_count(jury_txn_t *txn, uint32_t ds, uint64_t *out)
{
    queue_walk_t w = {NULL, NULL, 0};
    jury_err err = s_rid_walk(txn, DB_REVIEW_QUEUE, ds, 0, s_queue_step, &w);
    *out = err == JURY_OK ? w.n : 0;
    return err;
}

/* ---- counters (public) ------------------------------------------------- */

jury_err jury_store_dataset_counts(jury_txn_t *txn, uint32_t ds, jury_counts_t *out)
{
    jury_dataset_t d;
    jury_err err = jury_store_dataset_get_id(txn, ds, &d);
    if (err != JURY_OK)
        return err;
    uint64_t v[COUNTER_N] = {0};
    if ((err = s_counts_read(txn, ds, 0, v)) != JURY_OK)
        return err;
    s_counts_from(v, out);
    return JURY_OK;
}

jury_err jury_store_annotator_counts(jury_txn_t *txn, uint32_t ds, uint32_t annotator,
                                     jury_counts_t *out)
{
    uint64_t v[COUNTER_N] = {0};
    jury_err err = s_counts_read(txn, ds, annotator, v);
    if (err != JURY_OK)
        return err;
    s_counts_from(v, out);
    out->records = out->completed = out->discarded = 0;
    return JURY_OK;
}

jury_err jury_store_annotator_counts_each(jury_txn_t *txn, uint32_t ds,
                                          jury_err (*fn)(uint32_t annotator, const char *name,
                                                         const jury_counts_t *c, void *arg),
                                          void *arg)
{
    jury_err err;
    if (txn->write && (err = s_counters_flush(txn)) != JURY_OK)
        return err;
    unsigned char k[8];
    s_counter_key(k, ds, 1);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_COUNTERS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 8), val;
    err = JURY_OK;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == MDB_SUCCESS && key.mv_size == 8 && memcmp(key.mv_data, k, 4) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        uint32_t annotator = s_get32((const unsigned char *)key.mv_data + 4);
        uint64_t v[COUNTER_N] = {0};
        s_counters_decode(&val, v);
        jury_counts_t c;
        s_counts_from(v, &c);
        const char *name;
        if ((err = jury_store_annotator_name(txn, annotator, &name)) != JURY_OK ||
            (err = fn(annotator, name, &c, arg)) != JURY_OK)
            break;
    }
    mdb_cursor_close(cur);
    if (err == JURY_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk counters");
    return err;
}

/* ---- annotator access -------------------------------------------------- */

const char *jury_role_name(jury_role r)
{
    static const char *const names[] = {"annotator", "reviewer", "admin", "gateway"};
    return (unsigned)r <= JURY_ROLE_GATEWAY ? names[r] : NULL;
}

bool jury_role_parse(const char *name, jury_role *out)
{
    for (int r = JURY_ROLE_ANNOTATOR; r <= JURY_ROLE_GATEWAY; r++)
        if (name && strcmp(name, jury_role_name((jury_role)r)) == 0) {
            *out = (jury_role)r;
            return true;
        }
    return false;
}

/* The NUL-terminated name of annotator id, borrowed from the map. */
static jury_err s_annotator_name_of(jury_txn_t *t, uint32_t id, const char **name)
{
    jury_err err = jury_store_annotator_name(t, id, name);
    return err == JURY_OK && strlen(*name) > JURY_STORE_NAME_MAX ? JURY_ECORRUPT : err;
}

jury_err jury_store_annotator_get(jury_txn_t *txn, uint32_t id, jury_annotator_t *out)
{
    const char *name;
    jury_err err = s_annotator_name_of(txn, id, &name);
    if (err != JURY_OK)
        return err;
    MDB_val key = s_val(name, strlen(name) + 1), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_ANNOTATORS], &key, &val);
    if (rc != MDB_SUCCESS)
        return rc == MDB_NOTFOUND ? JURY_ECORRUPT : s_err(rc, "read annotator");
    if ((err = s_annotator_decode(name, &val, out)) == JURY_OK && out->id != id)
        err = JURY_ECORRUPT;
    return err;
}

jury_err jury_store_annotator_get_by_name(jury_txn_t *txn, const char *name, jury_annotator_t *out)
{
    if (!s_name_ok(name))
        return JURY_ENOTFOUND;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_ANNOTATORS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    /* The cursor hands back the key as stored: a name that lives as long as the transaction. */
    MDB_val key = s_val(name, strlen(name) + 1), val;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
    jury_err err = rc == MDB_SUCCESS ? s_annotator_decode(key.mv_data, &val, out)
                                     : s_err(rc, "read annotator");
    mdb_cursor_close(cur);
    return err;
}

jury_err jury_store_annotator_each(jury_txn_t *txn,
                                   jury_err (*fn)(const jury_annotator_t *a, void *arg), void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_ANNOTATOR_IDS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key, val;
    jury_err err = JURY_OK;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 4 || val.mv_size < 2 || val.mv_size > JURY_STORE_NAME_MAX + 1 ||
            ((const char *)val.mv_data)[val.mv_size - 1] != '\0') {
            err = JURY_ECORRUPT;
            break;
        }
        MDB_val row;
        int rc2 = mdb_get(txn->txn, txn->store->dbi[DB_ANNOTATORS], &val, &row);
        if (rc2 != MDB_SUCCESS) {
            err = rc2 == MDB_NOTFOUND ? JURY_ECORRUPT : s_err(rc2, "read annotator");
            break;
        }
        jury_annotator_t a;
        if ((err = s_annotator_decode(val.mv_data, &row, &a)) != JURY_OK ||
            (err = fn(&a, arg)) != JURY_OK)
            break;
    }
    mdb_cursor_close(cur);
    if (err == JURY_OK && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk annotators");
    return err;
}

/* An annotator being changed: its row decoded, with its name copied out of the map, because
 * writing the row moves it. */
typedef struct {
    char name[JURY_STORE_NAME_MAX + 1]; /* the row's key */
    jury_annotator_t a;                 /* the row; a.name points at name */
} annotator_edit_t;

static jury_err s_edit_load(jury_txn_t *t, uint32_t id, annotator_edit_t *e)
{
    jury_annotator_t a;
    jury_err err = jury_store_annotator_get(t, id, &a);
    if (err != JURY_OK)
        return err;
    memcpy(e->name, a.name, strlen(a.name) + 1);
    e->a = a;
    e->a.name = e->name;
    return JURY_OK;
}

/* Writes the edited row back, stamped as changed now. */
static jury_err s_edit_store(jury_txn_t *t, annotator_edit_t *e)
{
    e->a.changed_ms = s_now_ms();
    unsigned char v[ANNOTATOR_ROW];
    s_annotator_encode(v, &e->a);
    MDB_val key = s_val(e->name, strlen(e->name) + 1), val = s_val(v, ANNOTATOR_ROW);
    return s_err(mdb_put(t->txn, t->store->dbi[DB_ANNOTATORS], &key, &val, 0), "write annotator");
}

static jury_err s_access_bump(jury_txn_t *t)
{
    MDB_val key = s_val("access_version", 14), val;
    uint64_t v = 0;
    int rc = mdb_get(t->txn, t->store->dbi[DB_META], &key, &val);
    if (rc == MDB_SUCCESS && val.mv_size == 8)
        v = s_get64(val.mv_data);
    else if (rc != MDB_NOTFOUND)
        return rc == MDB_SUCCESS ? JURY_ECORRUPT : s_err(rc, "read access version");
    unsigned char b[8];
    s_put64(b, v + 1);
    val = s_val(b, 8);
    return s_err(mdb_put(t->txn, t->store->dbi[DB_META], &key, &val, 0), "write access version");
}

jury_err jury_store_access_version(jury_txn_t *txn, uint64_t *out)
{
    MDB_val key = s_val("access_version", 14), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_META], &key, &val);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return JURY_OK;
    }
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read access version");
    if (val.mv_size != 8)
        return JURY_ECORRUPT;
    *out = s_get64(val.mv_data);
    return JURY_OK;
}

jury_err jury_store_annotator_set_key(jury_txn_t *txn, uint32_t id, const unsigned char *public_key)
{
    jury_err err;
    annotator_edit_t e;
    if ((err = s_need_write(txn)) != JURY_OK || (err = s_edit_load(txn, id, &e)) != JURY_OK)
        return err;
    MDB_dbi keys = txn->store->dbi[DB_ANNOTATOR_KEYS];
    int rc;
    if (public_key) {
        MDB_val key = s_val(public_key, 32), val;
        rc = mdb_get(txn->txn, keys, &key, &val);
        if (rc == MDB_SUCCESS) {
            if (val.mv_size != 4)
                return JURY_ECORRUPT;
            /* Registering the key it has already changes nothing. */
            return s_get32(val.mv_data) == id ? JURY_OK : JURY_EEXIST;
        }
        if (rc != MDB_NOTFOUND)
            return s_err(rc, "read annotator key");
    } else if (!e.a.has_key) {
        return JURY_OK;
    }
    if (e.a.has_key) {
        MDB_val old = s_val(e.a.public_key, 32);
        rc = mdb_del(txn->txn, keys, &old, NULL);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return s_err(rc, "delete annotator key");
    }
    if (public_key) {
        unsigned char v[4];
        s_put32(v, id);
        MDB_val key = s_val(public_key, 32), val = s_val(v, 4);
        if ((rc = mdb_put(txn->txn, keys, &key, &val, 0)) != MDB_SUCCESS)
            return s_err(rc, "write annotator key");
        memcpy(e.a.public_key, public_key, 32);
    } else {
        memset(e.a.public_key, 0, 32);
    }
    e.a.has_key = public_key != NULL;
    if ((err = s_edit_store(txn, &e)) != JURY_OK)
        return err;
    return s_access_bump(txn);
}

jury_err jury_store_annotator_set_role(jury_txn_t *txn, uint32_t id, jury_role role)
{
    jury_err err;
    annotator_edit_t e;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    if ((unsigned)role > JURY_ROLE_GATEWAY)
        return JURY_EINVAL;
    if ((err = s_edit_load(txn, id, &e)) != JURY_OK || e.a.role == role)
        return err;
    e.a.role = role;
    if ((err = s_edit_store(txn, &e)) != JURY_OK)
        return err;
    return s_access_bump(txn);
}

jury_err jury_store_annotator_set_disabled(jury_txn_t *txn, uint32_t id, bool disabled)
{
    jury_err err;
    annotator_edit_t e;
    if ((err = s_need_write(txn)) != JURY_OK || (err = s_edit_load(txn, id, &e)) != JURY_OK ||
        e.a.disabled == disabled)
        return err;
    e.a.disabled = disabled;
    if ((err = s_edit_store(txn, &e)) != JURY_OK)
        return err;
    return s_access_bump(txn);
}

jury_err jury_store_annotator_set_web_token(jury_txn_t *txn, uint32_t id, const unsigned char *hash)
{
    jury_err err;
    annotator_edit_t e;
    if ((err = s_need_write(txn)) != JURY_OK || (err = s_edit_load(txn, id, &e)) != JURY_OK)
        return err;
    if (!hash && !e.a.has_web_token)
        return JURY_OK;
    e.a.has_web_token = hash != NULL;
    if (hash)
        memcpy(e.a.web_token_hash, hash, 32);
    else
        memset(e.a.web_token_hash, 0, 32);
    if ((err = s_edit_store(txn, &e)) != JURY_OK)
        return err;
    return s_access_bump(txn);
}

jury_err jury_store_annotator_find_key(jury_txn_t *txn, const unsigned char *public_key,
                                       uint32_t *id_out)
{
    if (!public_key || txn->store->absent[DB_ANNOTATOR_KEYS])
        return JURY_ENOTFOUND;
    MDB_val key = s_val(public_key, 32), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_ANNOTATOR_KEYS], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read annotator key");
    if (val.mv_size != 4)
        return JURY_ECORRUPT;
    *id_out = s_get32(val.mv_data);
    return JURY_OK;
}

static void s_grant_key(unsigned char k[8], uint32_t id, uint32_t ds)
{
    s_put32(k, id);
    s_put32(k + 4, ds);
}

jury_err jury_store_grant(jury_txn_t *txn, uint32_t id, uint32_t ds)
{
    jury_err err;
    annotator_edit_t e;
    jury_dataset_t d;
    if ((err = s_need_write(txn)) != JURY_OK || (err = s_edit_load(txn, id, &e)) != JURY_OK ||
        (err = jury_store_dataset_get_id(txn, ds, &d)) != JURY_OK)
        return err;
    unsigned char k[8];
    s_grant_key(k, id, ds);
    MDB_val key = s_val(k, 8), val = s_val("", 0);
    int rc = mdb_put(txn->txn, txn->store->dbi[DB_GRANTS], &key, &val, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        return JURY_OK;
    if (rc != MDB_SUCCESS)
        return s_err(rc, "write grant");
    if ((err = s_edit_store(txn, &e)) != JURY_OK)
        return err;
    return s_access_bump(txn);
}

jury_err jury_store_revoke(jury_txn_t *txn, uint32_t id, uint32_t ds)
{
    jury_err err;
    annotator_edit_t e;
    if ((err = s_need_write(txn)) != JURY_OK || (err = s_edit_load(txn, id, &e)) != JURY_OK)
        return err;
    unsigned char k[8];
    s_grant_key(k, id, ds);
    MDB_val key = s_val(k, 8);
    int rc = mdb_del(txn->txn, txn->store->dbi[DB_GRANTS], &key, NULL);
    if (rc == MDB_NOTFOUND)
        return JURY_OK;
    if (rc != MDB_SUCCESS)
        return s_err(rc, "delete grant");
    if ((err = s_edit_store(txn, &e)) != JURY_OK)
        return err;
    return s_access_bump(txn);
}

jury_err jury_store_granted(jury_txn_t *txn, uint32_t id, uint32_t ds, bool *granted)
{
    *granted = false;
    if (txn->store->absent[DB_GRANTS])
        return JURY_OK;
    unsigned char k[8];
    s_grant_key(k, id, ds);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_GRANTS], &key, &val);
    if (rc == MDB_NOTFOUND)
        return JURY_OK;
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read grant");
    *granted = true;
    return JURY_OK;
}

jury_err jury_store_grants_each(jury_txn_t *txn, uint32_t id,
                                jury_err (*fn)(uint32_t ds, void *arg), void *arg)
{
    if (txn->store->absent[DB_GRANTS])
        return JURY_OK;
    unsigned char k[8];
    s_grant_key(k, id, 0);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_GRANTS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 8), val;
    jury_err err = JURY_OK;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == MDB_SUCCESS && key.mv_size == 8 && memcmp(key.mv_data, k, 4) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        if ((err = fn(s_get32((const unsigned char *)key.mv_data + 4), arg)) != JURY_OK)
            break;
    mdb_cursor_close(cur);
    if (err == JURY_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk grants");
    return err;
}

/*
 * Deletes every grant of dataset ds. Grants are keyed annotator first (what the coordinator asks
 * on every hello: "may this annotator work here?"), so a dataset's grants are scattered. Rather
 * than keep a reverse index in step on every grant and revoke, deleting a dataset (rare, and
 * already a walk of all its records) asks once per annotator: one point delete each, in the grants
 * table, while the cursor walks annotator_ids, a table that the deletes do not touch.
 */
/* ---- gold answers ------------------------------------------------------- */

jury_err jury_store_gold_add(jury_txn_t *txn, uint32_t ds, uint32_t annotator, const char *question,
                             bool correct, uint64_t *answered, uint64_t *right)
{
    jury_err err;
    size_t qlen = question ? strlen(question) : 0;
    if (qlen == 0 || qlen > JURY_STORE_NAME_MAX)
        return JURY_EINVAL;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    unsigned char k[8 + JURY_STORE_NAME_MAX + 1], v[16];
    s_put32(k, ds);
    s_put32(k + 4, annotator);
    memcpy(k + 8, question, qlen + 1);
    MDB_val key = s_val(k, 8 + qlen + 1), val;
    uint64_t n = 0, c = 0;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_GOLD], &key, &val);
    if (rc == MDB_SUCCESS && val.mv_size == 16) {
        n = s_get64(val.mv_data);
        c = s_get64((const unsigned char *)val.mv_data + 8);
    } else if (rc != MDB_NOTFOUND) {
        return rc == MDB_SUCCESS ? JURY_ECORRUPT : s_err(rc, "read gold answers");
    }
    n++;
    c += correct;
    s_put64(v, n);
    s_put64(v + 8, c);
    val = s_val(v, 16);
    if ((err = s_err(mdb_put(txn->txn, txn->store->dbi[DB_GOLD], &key, &val, 0),
                     "write gold answers")) != JURY_OK)
        return err;
    if (answered)
        *answered = n;
    if (right)
        *right = c;
    return JURY_OK;
}

jury_err jury_store_gold_get(jury_txn_t *txn, uint32_t ds, uint32_t annotator, const char *question,
                             uint64_t *answered, uint64_t *right)
{
    size_t qlen = question ? strlen(question) : 0;
    if (qlen == 0 || qlen > JURY_STORE_NAME_MAX)
        return JURY_EINVAL;
    *answered = *right = 0;
    if (txn->store->absent[DB_GOLD])
        return JURY_OK;
    unsigned char k[8 + JURY_STORE_NAME_MAX + 1];
    s_put32(k, ds);
    s_put32(k + 4, annotator);
    memcpy(k + 8, question, qlen + 1);
    MDB_val key = s_val(k, 8 + qlen + 1), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_GOLD], &key, &val);
    if (rc == MDB_NOTFOUND)
        return JURY_OK;
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read gold answers");
    if (val.mv_size != 16)
        return JURY_ECORRUPT;
    *answered = s_get64(val.mv_data);
    *right = s_get64((const unsigned char *)val.mv_data + 8);
    return JURY_OK;
}

jury_err jury_store_gold_each(jury_txn_t *txn, uint32_t ds,
                              jury_err (*fn)(uint32_t annotator, const char *question,
                                             uint64_t answered, uint64_t correct, void *arg),
                              void *arg)
{
    if (txn->store->absent[DB_GOLD])
        return JURY_OK;
    unsigned char k[4];
    s_put32(k, ds);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbi[DB_GOLD], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 4), val;
    jury_err err = JURY_OK;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == MDB_SUCCESS && key.mv_size > 9 && memcmp(key.mv_data, k, 4) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const unsigned char *p = key.mv_data;
        if (val.mv_size != 16 || p[key.mv_size - 1] != '\0') {
            err = JURY_ECORRUPT;
            break;
        }
        if ((err = fn(s_get32(p + 4), (const char *)p + 8, s_get64(val.mv_data),
                      s_get64((const unsigned char *)val.mv_data + 8), arg)) != JURY_OK)
            break;
    }
    mdb_cursor_close(cur);
    if (err == JURY_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk gold answers");
    return err;
}

/* ---- pausing ------------------------------------------------------------ */

static void s_pause_key(unsigned char k[8], uint32_t ds, uint32_t annotator)
{
    s_put32(k, ds);
    s_put32(k + 4, annotator);
}

jury_err jury_store_pause_set(jury_txn_t *txn, uint32_t ds, uint32_t annotator, const char *reason,
                              int64_t since_ms)
{
    jury_err err;
    jury_annotator_t a;
    jury_dataset_t d;
    size_t len = reason ? strlen(reason) : 0;
    if (len > JURY_STORE_PAUSE_REASON_MAX)
        return JURY_EINVAL;
    if ((err = s_need_write(txn)) != JURY_OK ||
        (err = jury_store_annotator_get(txn, annotator, &a)) != JURY_OK ||
        (err = jury_store_dataset_get_id(txn, ds, &d)) != JURY_OK)
        return err;
    unsigned char k[8], v[8 + JURY_STORE_PAUSE_REASON_MAX];
    s_pause_key(k, ds, annotator);
    s_put64(v, (uint64_t)since_ms);
    if (len)
        memcpy(v + 8, reason, len);
    MDB_val key = s_val(k, 8), val = s_val(v, 8 + len);
    if ((err = s_err(mdb_put(txn->txn, txn->store->dbi[DB_PAUSED], &key, &val, 0),
                     "write pause")) != JURY_OK)
        return err;
    return s_access_bump(txn);
}

jury_err jury_store_pause_clear(jury_txn_t *txn, uint32_t ds, uint32_t annotator, bool *was)
{
    jury_err err;
    if (was)
        *was = false;
    if ((err = s_need_write(txn)) != JURY_OK)
        return err;
    unsigned char k[8];
    s_pause_key(k, ds, annotator);
    MDB_val key = s_val(k, 8);
    int rc = mdb_del(txn->txn, txn->store->dbi[DB_PAUSED], &key, NULL);
    if (rc == MDB_NOTFOUND)
        return JURY_OK;
    if ((err = s_err(rc, "delete pause")) != JURY_OK)
        return err;
    if (was)
        *was = true;
    return s_access_bump(txn);
}

jury_err jury_store_pause_get(jury_txn_t *txn, uint32_t ds, uint32_t annotator, int64_t *since_ms,
                              const char **reason, size_t *reason_len)
{
    if (txn->store->absent[DB_PAUSED])
        return JURY_ENOTFOUND;
    unsigned char k[8];
    s_pause_key(k, ds, annotator);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(txn->txn, txn->store->dbi[DB_PAUSED], &key, &val);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "read pause");
    if (val.mv_size < 8)
        return JURY_ECORRUPT;
    if (since_ms)
        *since_ms = (int64_t)s_get64(val.mv_data);
    if (reason)
        *reason = (const char *)val.mv_data + 8;
    if (reason_len)
        *reason_len = val.mv_size - 8;
    return JURY_OK;
}

static jury_err s_grants_drop_dataset(jury_txn_t *t, uint32_t ds)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[DB_ANNOTATOR_IDS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key, val;
    jury_err err = JURY_OK;
    bool changed = false;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 4) {
            err = JURY_ECORRUPT;
            break;
        }
        unsigned char k[8];
        s_grant_key(k, s_get32(key.mv_data), ds);
        MDB_val gkey = s_val(k, 8);
        int rc2 = mdb_del(t->txn, t->store->dbi[DB_GRANTS], &gkey, NULL);
        if (rc2 == MDB_SUCCESS) {
            /* The annotator's access changed: stamp it (its row lives in another table). */
            annotator_edit_t e;
            changed = true;
            if ((err = s_edit_load(t, s_get32(key.mv_data), &e)) != JURY_OK ||
                (err = s_edit_store(t, &e)) != JURY_OK)
                break;
        } else if (rc2 != MDB_NOTFOUND) {
            err = s_err(rc2, "delete grant");
            break;
        }
    }
    mdb_cursor_close(cur);
    if (err == JURY_OK && rc != MDB_NOTFOUND)
        err = s_err(rc, "walk annotators");
    return err == JURY_OK && changed ? s_access_bump(t) : err;
}

/* ---- backup ------------------------------------------------------------ */

static void s_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_why(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || !whylen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* The jury_err of a failed system call's errno. */
static jury_err s_errno_err(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return JURY_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return JURY_EPERM;
    case EEXIST:
    case ENOTEMPTY:
        return JURY_EEXIST;
    case ENOMEM:
        return JURY_ENOMEM;
    case ENAMETOOLONG:
        return JURY_EINVAL;
    default:
        return JURY_EIO;
    }
}

static int s_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes path, a file or a directory tree (symbolic links are removed, never followed). */
static int s_rmrf(const char *path)
{
    return nftw(path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Flushes directory dir's entries to the disk, so that a rename in it survives a crash. */
static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd), e = errno;
    close(fd);
    errno = e;
    return rc;
}

/*
 * Whether --force may replace the existing dest (dst: its lstat): not one of the store's files,
 * not the store directory nor a directory that holds it (the swap would delete the store), and
 * of directories only an earlier backup (it holds data.mdb) or an empty one, never a directory of
 * other files that a mistyped DEST happened to name.
 */
static jury_err s_replaceable(const jury_store_t *s, const char *dest, const struct stat *dst,
                              char *why, size_t whylen)
{
    if (!S_ISDIR(dst->st_mode)) {
        /* A file (or a link, which the swap replaces, never following it): not one of the
         * store's own. */
        static const char *const own[] = {"data.mdb", "lock.mdb"};
        for (int i = 0; i < 2; i++) {
            char path[PATH_MAX];
            struct stat st;
            if (snprintf(path, sizeof path, "%s/%s", s->dir, own[i]) < (int)sizeof path &&
                stat(path, &st) == 0 && st.st_dev == dst->st_dev && st.st_ino == dst->st_ino) {
                s_why(why, whylen, "%s is the store's own %s: back it up elsewhere", dest, own[i]);
                return JURY_EINVAL;
            }
        }
        return JURY_OK;
    }
    char real_dest[PATH_MAX], real_store[PATH_MAX];
    if (!realpath(dest, real_dest) || !realpath(s->dir, real_store)) {
        int e = errno;
        s_why(why, whylen, "%s: %s", dest, strerror(e));
        return s_errno_err(e);
    }
    size_t n = strlen(real_dest);
    if (strncmp(real_store, real_dest, n) == 0 &&
        (real_store[n] == '\0' || real_store[n] == '/' || n == 1)) {
        s_why(why, whylen, "%s holds the store %s itself: back it up elsewhere", dest, s->dir);
        return JURY_EINVAL;
    }
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/data.mdb", dest) < (int)sizeof path &&
        lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        return JURY_OK;
    DIR *dir = opendir(dest);
    if (!dir) {
        int e = errno;
        s_why(why, whylen, "%s: %s", dest, strerror(e));
        return s_errno_err(e);
    }
    const struct dirent *ent;
    bool empty = true;
    while (empty && (ent = readdir(dir)) != NULL)
        empty = strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0;
    closedir(dir);
    if (empty)
        return JURY_OK;
    s_why(why, whylen,
          "%s is a directory of other files, not a backup (no data.mdb): not replacing it, even "
          "with --force",
          dest);
    return JURY_EINVAL;
}

/* Writes a compacted snapshot of the store to fd, from its current position. */
static jury_err s_copy_to(jury_store_t *s, int fd, const char *path, char *why, size_t whylen)
{
    int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    if (rc == MDB_MAP_RESIZED && s->open_txns == 0) {
        /* Another process grew the map since we opened: adopt its size and start again. */
        mdb_env_set_mapsize(s->env, 0);
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
            int e = errno;
            s_why(why, whylen, "%s: %s", path, strerror(e));
            return s_errno_err(e);
        }
        rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    }
    if (rc == MDB_SUCCESS)
        return JURY_OK;
    s_why(why, whylen, "copying the store %s to %s: %s", s->dir, path, mdb_strerror(rc));
    return rc > 0 ? s_errno_err(rc) : s_err(rc, "copy");
}

/* Puts the finished copy tmp at dest: beside nothing (exists false) or in place of what is there,
 * which is then deleted. */
static jury_err s_swap_in(const char *tmp, const char *dest, bool exists, char *why, size_t whylen)
{
    int rc;
    char old[PATH_MAX];
    if (!exists) {
#ifdef RENAME_NOREPLACE
        rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS))
#endif
        {
            /* A file system without renameat2: rename replaces an empty directory, so look
             * first. */
            struct stat st;
            if (lstat(dest, &st) == 0) {
                errno = EEXIST;
                rc = -1;
            } else {
                rc = rename(tmp, dest);
            }
        }
        if (rc != 0) {
            int e = errno;
            if (e == EEXIST || e == ENOTEMPTY)
                s_why(why, whylen, "%s appeared while the backup was written; --force replaces it",
                      dest);
            else
                s_why(why, whylen, "cannot rename %s to %s: %s", tmp, dest, strerror(e));
            return s_errno_err(e);
        }
        return JURY_OK;
    }
#ifdef RENAME_EXCHANGE
    /* One step: dest is the new backup at once, and the old one sits at tmp. */
    rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_EXCHANGE);
    if (rc == 0) {
        if (s_rmrf(tmp) != 0)
            jury_log(JURY_LOG_WARN, "backup: cannot delete the replaced %s (now at %s): %s", dest,
                     tmp, strerror(errno));
        return JURY_OK;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        int e = errno;
        s_why(why, whylen, "cannot swap %s in for %s: %s", tmp, dest, strerror(e));
        return s_errno_err(e);
    }
#endif
    /* Two steps: dest is missing for a moment, but never holds half a copy. */
    if (snprintf(old, sizeof old, "%s.old", tmp) >= (int)sizeof old || rename(dest, old) != 0) {
        int e = errno;
        s_why(why, whylen, "cannot move %s aside: %s", dest, strerror(e));
        return s_errno_err(e);
    }
    if (rename(tmp, dest) != 0) {
        int e = errno;
        if (rename(old, dest) != 0)
            jury_log(JURY_LOG_ERROR, "backup: the previous %s is now at %s", dest, old);
        s_why(why, whylen, "cannot rename %s to %s: %s", tmp, dest, strerror(e));
        return s_errno_err(e);
    }
    if (s_rmrf(old) != 0)
        jury_log(JURY_LOG_WARN, "backup: cannot delete the replaced %s (now at %s): %s", dest, old,
                 strerror(errno));
    return JURY_OK;
}

jury_err jury_store_backup(jury_store_t *store, const char *dest, bool force, char *why,
                           size_t whylen)
{
    char d[PATH_MAX], parent[PATH_MAX], tmp[PATH_MAX], file[PATH_MAX];
    s_why(why, whylen, "%s", "");
    size_t n = dest ? strlen(dest) : 0;
    while (n > 1 && dest[n - 1] == '/')
        n--;
    /* Room for the sibling's name: "/." + ".tmp-XXXXXX" + "/data.mdb" + ".old". */
    if (n == 0 || n + 32 >= sizeof d) {
        s_why(why, whylen, "backup destination '%s': %s", dest ? dest : "",
              n ? "too long" : "empty");
        return JURY_EINVAL;
    }
    memcpy(d, dest, n);
    d[n] = '\0';
    const char *slash = strrchr(d, '/');
    const char *base = slash ? slash + 1 : d;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        s_why(why, whylen, "backup destination %s: name the directory to create", d);
        return JURY_EINVAL;
    }
    if (!slash)
        strcpy(parent, ".");
    else if (slash == d)
        strcpy(parent, "/");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - d), d);

    struct stat st;
    bool exists = lstat(d, &st) == 0;
    if (!exists && errno != ENOENT) {
        int e = errno;
        s_why(why, whylen, "%s: %s", d, strerror(e));
        return s_errno_err(e);
    }
    if (exists && !force) {
        s_why(why, whylen, "%s exists already; --force replaces it", d);
        return JURY_EEXIST;
    }
    jury_err err;
    if (exists && (err = s_replaceable(store, d, &st, why, whylen)) != JURY_OK)
        return err;

    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", parent, base) >= (int)sizeof tmp) {
        s_why(why, whylen, "backup destination %s: too long", d);
        return JURY_EINVAL;
    }
    if (!mkdtemp(tmp)) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            s_why(why, whylen, "%s: directory %s does not exist", d, parent);
        else
            s_why(why, whylen, "cannot create a directory in %s: %s", parent, strerror(e));
        return s_errno_err(e);
    }
    int fd = -1;
    if (snprintf(file, sizeof file, "%s/data.mdb", tmp) < (int)sizeof file)
        fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    else
        errno = ENAMETOOLONG;
    if (fd < 0) {
        int e = errno;
        s_why(why, whylen, "%s: %s", file, strerror(e));
        err = s_errno_err(e);
        goto fail;
    }
    err = s_copy_to(store, fd, file, why, whylen);
    /* The copy must be on the disk before its name is: a crash then leaves the old DEST or the
     * whole new one. */
    if (err == JURY_OK && fsync(fd) != 0) {
        int e = errno;
        s_why(why, whylen, "%s: %s", file, strerror(e));
        err = s_errno_err(e);
    }
    if (close(fd) != 0 && err == JURY_OK) {
        int e = errno;
        s_why(why, whylen, "%s: %s", file, strerror(e));
        err = s_errno_err(e);
    }
    if (err == JURY_OK && s_fsync_dir(tmp) != 0) {
        int e = errno;
        s_why(why, whylen, "%s: %s", tmp, strerror(e));
        err = s_errno_err(e);
    }
    if (err != JURY_OK || (err = s_swap_in(tmp, d, exists, why, whylen)) != JURY_OK)
        goto fail;
    if (s_fsync_dir(parent) != 0) {
        int e = errno;
        s_why(why, whylen, "%s: %s", parent, strerror(e));
        return s_errno_err(e);
    }
    return JURY_OK;
fail:
    s_rmrf(tmp);
    return err;
}

jury_err jury_store_schema_of(const char *dir, uint32_t *version)
{
    struct stat st;
    if (!dir || !version)
        return JURY_EINVAL;
    if (stat(dir, &st) != 0)
        return s_errno_err(errno);
    if (!S_ISDIR(st.st_mode))
        return JURY_EINVAL;
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "create environment");
    mdb_env_set_maxdbs(env, 1);
    jury_err err;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    if ((rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0640)) != MDB_SUCCESS ||
        (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != MDB_SUCCESS ||
        (rc = mdb_dbi_open(txn, s_db_names[DB_META], 0, &meta)) != MDB_SUCCESS)
        err = rc == ENOENT ? JURY_ENOTFOUND : s_err(rc, dir);
    else
        err = s_schema_read(txn, meta, version);
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return err;
}

/* ---- consistency check ------------------------------------------------- */

#define CHECK_LINE_MAX 1024 /* longest problem line */
#define CHECK_NAME_MAX 160  /* longest external id shown, after escaping */

/* What the check counts for one annotator id. */
typedef struct {
    bool exists;                       /* it has an annotator_ids row */
    bool has_row;                      /* a counters row of the dataset names it */
    uint64_t n[JURY_RESPONSE_NSTATUS]; /* its responses to the dataset's records, by status */
} check_annotator_t;

typedef struct {
    jury_txn_t *t;                                  /* the read transaction */
    uint32_t ds;                                    /* the dataset checked */
    uint64_t lo, hi;                                /* its record id range */
    uint64_t max_reports;                           /* problems to report; 0: all */
    void (*report)(const char *problem, void *arg); /* the caller's */
    void *arg;                                      /* its argument */
    jury_store_check_t *out;                        /* what was found */
    unsigned char *named;           /* per record sequence: external ids naming it (at most 255) */
    uint64_t nseq;                  /* entries at named */
    check_annotator_t *ann;         /* per annotator id */
    uint32_t nann;                  /* entries at ann */
    uint64_t v[COUNTER_N];          /* the dataset's counters as the records say */
    uint64_t max_seq;               /* largest record sequence seen */
    uint64_t name_rid;              /* the record that name names (0: none yet) */
    char name[CHECK_NAME_MAX + 32]; /* `record "EXT"` or `record #SEQ` */
} check_t;

static bool s_reporting(const check_t *c)
{
    return c->report && (c->max_reports == 0 || c->out->problems < c->max_reports);
}

static void s_problem(check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_problem(check_t *c, const char *fmt, ...)
{
    bool report = s_reporting(c);
    c->out->problems++;
    if (!report)
        return;
    char line[CHECK_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->report(line, c->arg);
}

/* Writes bytes as a double-quoted string, control bytes, quotes and backslashes escaped and the
 * text cut at CHECK_NAME_MAX. */
static void s_quote(char *out, size_t cap, const unsigned char *p, size_t n)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (o > CHECK_NAME_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
        else
            out[o++] = (char)p[i];
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* A record's name for a problem line: its external id when the index has one, else its
 * sequence. Looking the id up walks the dataset's index, so only reported problems ask. */
static const char *s_record_name(check_t *c, uint64_t rid)
{
    if (c->name_rid == rid && rid)
        return c->name;
    c->name_rid = rid;
    snprintf(c->name, sizeof c->name, "record #%llu",
             (unsigned long long)(rid & ((UINT64_C(1) << JURY_RECORD_SEQ_BITS) - 1)));
    unsigned char k[4];
    s_put32(k, c->ds);
    MDB_cursor *cur;
    if (mdb_cursor_open(c->t->txn, c->t->store->dbi[DB_EXTIDS], &cur) != MDB_SUCCESS)
        return c->name;
    MDB_val key = s_val(k, 4), val;
    for (int rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == MDB_SUCCESS && key.mv_size > 4 && memcmp(key.mv_data, k, 4) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        if (val.mv_size == 8 && s_get64(val.mv_data) == rid) {
            char q[CHECK_NAME_MAX + 16];
            s_quote(q, sizeof q, (const unsigned char *)key.mv_data + 4, key.mv_size - 4);
            snprintf(c->name, sizeof c->name, "record %s", q);
            break;
        }
    mdb_cursor_close(cur);
    return c->name;
}

/* A problem with record rid: the line starts with the record's name. */
static void s_record_problem(check_t *c, uint64_t rid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_record_problem(check_t *c, uint64_t rid, const char *fmt, ...)
{
    if (!s_reporting(c)) {
        c->out->problems++;
        return;
    }
    char what[CHECK_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    s_problem(c, "%s: %s", s_record_name(c, rid), what);
}

/* An annotator's name for a problem line: `annotator "NAME"`, or its id when it has none. */
static void s_annotator_label(check_t *c, uint32_t id, char *out, size_t cap)
{
    const char *name;
    if (jury_store_annotator_name(c->t, id, &name) == JURY_OK) {
        char q[CHECK_NAME_MAX + 16];
        s_quote(q, sizeof q, (const unsigned char *)name, strlen(name));
        snprintf(out, cap, "annotator %s", q);
    } else {
        snprintf(out, cap, "annotator id %u", id);
    }
}

/* The largest record sequence of the dataset in table db (0 when it has none). */
static jury_err s_last_seq(check_t *c, int db, uint64_t *seq)
{
    *seq = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->t->txn, c->t->store->dbi[db], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    unsigned char k[8];
    MDB_val key, val;
    if (c->hi == UINT64_MAX) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    } else {
        s_put64(k, c->hi + 1);
        key = s_val(k, 8);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        rc = rc == MDB_SUCCESS    ? mdb_cursor_get(cur, &key, &val, MDB_PREV)
             : rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &key, &val, MDB_LAST)
                                  : rc;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_SUCCESS && key.mv_size >= 8) {
        uint64_t rid = s_get64(key.mv_data);
        if (rid >= c->lo && rid <= c->hi)
            *seq = rid - c->lo;
        return JURY_OK;
    }
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? JURY_OK : s_err(rc, "read last record");
}

/* Sizes the per-record and per-annotator tables and marks the annotators that exist. */
static jury_err s_check_setup(check_t *c)
{
    uint64_t a, b;
    jury_err err;
    if ((err = s_last_seq(c, DB_RSTATE, &a)) != JURY_OK ||
        (err = s_last_seq(c, DB_RECORDS, &b)) != JURY_OK)
        return err;
    c->nseq = (a > b ? a : b) + 1;
    if (c->nseq > SIZE_MAX || !(c->named = calloc((size_t)c->nseq, 1)))
        return JURY_ENOMEM;

    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->t->txn, c->t->store->dbi[DB_ANNOTATOR_IDS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key, val;
    uint32_t max = 0;
    rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    if (rc == MDB_SUCCESS && key.mv_size == 4)
        max = s_get32(key.mv_data);
    c->nann = max + 1;
    if (max == UINT32_MAX || !(c->ann = calloc(c->nann, sizeof *c->ann))) {
        mdb_cursor_close(cur);
        return JURY_ENOMEM;
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        if (key.mv_size == 4 && s_get32(key.mv_data) < c->nann)
            c->ann[s_get32(key.mv_data)].exists = true;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? JURY_OK : s_err(rc, "walk annotators");
}

/* Every external id of the dataset names an existing record of it; counts the ids per record. */
static jury_err s_check_extids(check_t *c)
{
    unsigned char k[4];
    s_put32(k, c->ds);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->t->txn, c->t->store->dbi[DB_EXTIDS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 4), val;
    char q[CHECK_NAME_MAX + 16];
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == MDB_SUCCESS && key.mv_size >= 4 && memcmp(key.mv_data, k, 4) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        bool report = s_reporting(c);
        if (report)
            s_quote(q, sizeof q, (const unsigned char *)key.mv_data + 4, key.mv_size - 4);
        if (val.mv_size != 8) {
            s_problem(c, "external id %s: index entry of %zu bytes, not a record id", q,
                      val.mv_size);
            continue;
        }
        uint64_t rid = s_get64(val.mv_data);
        if (rid < c->lo || rid > c->hi) {
            s_problem(c, "external id %s: names record id %llu of dataset id %u", q,
                      (unsigned long long)rid, jury_record_dataset(rid));
            continue;
        }
        unsigned char rk[8];
        s_put64(rk, rid);
        MDB_val skey = s_val(rk, 8), sval;
        int rc2 = mdb_get(c->t->txn, c->t->store->dbi[DB_RSTATE], &skey, &sval);
        if (rc2 == MDB_NOTFOUND) {
            s_problem(c, "external id %s: names record #%llu, which does not exist", q,
                      (unsigned long long)(rid - c->lo));
            continue;
        }
        if (rc2 != MDB_SUCCESS) {
            mdb_cursor_close(cur);
            return s_err(rc2, "read record state");
        }
        unsigned char *n = &c->named[rid - c->lo];
        if (*n < UCHAR_MAX)
            (*n)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? JURY_OK : s_err(rc, "walk external ids");
}

/* Checks one record's state against its responses (n, by status) and its index entries. */
static void s_check_record(check_t *c, uint64_t rid, const jury_record_state_t *st,
                           const uint64_t n[JURY_RESPONSE_NSTATUS])
{
    static const char *const what[JURY_RESPONSE_NSTATUS] = {"submitted", "discarded", "draft"};
    const uint32_t have[JURY_RESPONSE_NSTATUS] = {st->submitted, st->discarded, st->draft};
    for (int i = 0; i < JURY_RESPONSE_NSTATUS; i++)
        if (have[i] != n[i])
            s_record_problem(c, rid, "its state counts %u %s responses; it has %llu", have[i],
                             what[i], (unsigned long long)n[i]);
    unsigned long long sub = n[JURY_RESPONSE_SUBMITTED];
    const char *status = jury_record_status_name(st->status);
    if (st->gold) {
        if (st->target != JURY_STORE_GOLD_TARGET)
            s_record_problem(c, rid, "a gold record with target %u instead of the gold target",
                             st->target);
        if (st->status == JURY_RECORD_COMPLETED)
            s_record_problem(c, rid, "a gold record marked completed");
    } else if (st->target == 0) {
        s_record_problem(c, rid, "target 0");
    } else {
        if (sub > st->target)
            s_record_problem(c, rid, "%llu submitted responses, more than its target %u", sub,
                             st->target);
        if (st->status == JURY_RECORD_COMPLETED && sub < st->target)
            s_record_problem(c, rid,
                             "status %s, but its %llu submitted responses are below its "
                             "target %u",
                             status, sub, st->target);
        if (st->status != JURY_RECORD_COMPLETED && sub >= st->target)
            s_record_problem(c, rid,
                             "status %s, but its %llu submitted responses reach its "
                             "target %u",
                             status, sub, st->target);
    }
    if (st->status == JURY_RECORD_DISCARDED && n[JURY_RESPONSE_DISCARDED] == 0)
        s_record_problem(c, rid, "set aside (status discarded) without a discarded response");
    unsigned named = c->named[rid - c->lo];
    if (named == 0)
        s_record_problem(c, rid, "no external id names it in the index");
    else if (named > 1)
        s_record_problem(c, rid, "named by %u external ids in the index", named);
}

/* The record id of a responses key (12 bytes: rid, annotator), or UINT64_MAX for a bad key. */
static uint64_t s_resp_rid(const MDB_val *key)
{
    return key->mv_size == 12 ? s_get64(key->mv_data) : UINT64_MAX;
}

/* Tallies one response (its key is within the dataset's range) into n and the annotators. */
static jury_err s_check_response(check_t *c, uint64_t rid, const MDB_val *key, const MDB_val *val,
                                 bool record_exists, uint64_t n[JURY_RESPONSE_NSTATUS])
{
    jury_response_t r;
    char who[CHECK_NAME_MAX + 32] = "";
    c->out->responses++;
    if (s_response_decode(key, val, &r) != JURY_OK) {
        s_record_problem(c, rid, "a response row of %zu bytes that cannot be read", val->mv_size);
        return JURY_OK;
    }
    bool known = r.annotator < c->nann && c->ann[r.annotator].exists;
    if (!record_exists || !known) {
        if (s_reporting(c))
            s_annotator_label(c, r.annotator, who, sizeof who);
        if (!record_exists)
            s_problem(c, "response of %s to %s, which does not exist", who,
                      s_reporting(c) ? s_record_name(c, rid) : "");
        else
            s_record_problem(c, rid, "a response of annotator id %u, who does not exist",
                             r.annotator);
    }
    /* The counters count the responses of records that exist; one to a missing record is
     * reported above, not counted again as a counter mismatch. */
    if (!record_exists)
        return JURY_OK;
    if (known)
        c->ann[r.annotator].n[r.status]++;
    c->v[C_SUBMITTED + r.status]++;
    n[r.status]++;
    return JURY_OK;
}

/* Walks states, payloads and responses of the dataset side by side, in record id order. */
static jury_err s_check_records(check_t *c)
{
    MDB_cursor *rs = NULL, *pay = NULL, *resp = NULL;
    int rc;
    jury_err err = JURY_OK;
    if ((rc = mdb_cursor_open(c->t->txn, c->t->store->dbi[DB_RSTATE], &rs)) != MDB_SUCCESS ||
        (rc = mdb_cursor_open(c->t->txn, c->t->store->dbi[DB_RECORDS], &pay)) != MDB_SUCCESS ||
        (rc = mdb_cursor_open(c->t->txn, c->t->store->dbi[DB_RESPONSES], &resp)) != MDB_SUCCESS) {
        err = s_err(rc, "open cursor");
        goto done;
    }
    unsigned char k[8];
    s_put64(k, c->lo);
    MDB_val sk = s_val(k, 8), sv, pk = s_val(k, 8), pv, qk = s_val(k, 8), qv;
    int prc = mdb_cursor_get(pay, &pk, &pv, MDB_SET_RANGE);
    int qrc = mdb_cursor_get(resp, &qk, &qv, MDB_SET_RANGE);
    for (rc = mdb_cursor_get(rs, &sk, &sv, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(rs, &sk, &sv, MDB_NEXT)) {
        if (sk.mv_size != 8) {
            /* Not a record id: jury never writes one; name it and walk on. */
            if (sk.mv_size > 8 && s_get64(sk.mv_data) > c->hi)
                break;
            s_problem(c, "record states: a key of %zu bytes, not a record id", sk.mv_size);
            continue;
        }
        uint64_t rid = s_get64(sk.mv_data);
        if (rid > c->hi)
            break;
        if (rid - c->lo > c->max_seq)
            c->max_seq = rid - c->lo;
        /* Payloads without a state come before this record; then its own. */
        for (; prc == MDB_SUCCESS && pk.mv_size == 8 && s_get64(pk.mv_data) < rid;
             prc = mdb_cursor_get(pay, &pk, &pv, MDB_NEXT))
            s_record_problem(c, s_get64(pk.mv_data), "a payload but no state");
        if (prc == MDB_SUCCESS && pk.mv_size == 8 && s_get64(pk.mv_data) == rid)
            prc = mdb_cursor_get(pay, &pk, &pv, MDB_NEXT);
        else
            s_record_problem(c, rid, "a state but no payload");
        uint64_t n[JURY_RESPONSE_NSTATUS] = {0};
        for (; qrc == MDB_SUCCESS && s_resp_rid(&qk) <= rid;
             qrc = mdb_cursor_get(resp, &qk, &qv, MDB_NEXT)) {
            uint64_t qrid = s_resp_rid(&qk);
            if ((err = s_check_response(c, qrid, &qk, &qv, qrid == rid, n)) != JURY_OK)
                goto done;
        }
        c->out->records++;
        jury_record_state_t st;
        if (s_rstate_decode(&sv, &st) != JURY_OK) {
            s_record_problem(c, rid, "a state row of %zu bytes that cannot be read", sv.mv_size);
            continue;
        }
        c->v[st.gold ? C_GOLD : C_RECORDS]++;
        c->out->gold += st.gold;
        c->v[C_COMPLETED] += st.status == JURY_RECORD_COMPLETED;
        c->v[C_SET_ASIDE] += st.status == JURY_RECORD_DISCARDED;
        c->v[C_CONTESTED] += st.contested;
        s_check_record(c, rid, &st, n);
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = s_err(rc, "walk record states");
        goto done;
    }
    for (; prc == MDB_SUCCESS && pk.mv_size == 8 && s_get64(pk.mv_data) <= c->hi;
         prc = mdb_cursor_get(pay, &pk, &pv, MDB_NEXT))
        s_record_problem(c, s_get64(pk.mv_data), "a payload but no state");
    uint64_t none[JURY_RESPONSE_NSTATUS];
    for (; qrc == MDB_SUCCESS && s_resp_rid(&qk) <= c->hi;
         qrc = mdb_cursor_get(resp, &qk, &qv, MDB_NEXT))
        if ((err = s_check_response(c, s_resp_rid(&qk), &qk, &qv, false, none)) != JURY_OK)
            goto done;
    if (prc != MDB_SUCCESS && prc != MDB_NOTFOUND)
        err = s_err(prc, "walk records");
    else if (qrc != MDB_SUCCESS && qrc != MDB_NOTFOUND)
        err = s_err(qrc, "walk responses");
done:
    if (rs)
        mdb_cursor_close(rs);
    if (pay)
        mdb_cursor_close(pay);
    if (resp)
        mdb_cursor_close(resp);
    return err;
}

/* The dataset's counters and each annotator's against what the records and responses say. */
static jury_err s_check_counters(check_t *c)
{
    static const struct {
        int slot;         /* counter slot */
        const char *what; /* what it counts */
    } slots[] = {
        {C_RECORDS, "records"},
        {C_COMPLETED, "completed records"},
        {C_SET_ASIDE, "records set aside"},
        {C_CONTESTED, "contested records"},
        {C_GOLD, "gold records"},
        {C_SUBMITTED, "submitted responses"},
        {C_DISCARDED, "discarded responses"},
        {C_DRAFT, "draft responses"},
    };
    uint64_t v[COUNTER_N];
    jury_err err = s_counts_read(c->t, c->ds, 0, v);
    if (err != JURY_OK)
        return err;
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (v[slots[i].slot] != c->v[slots[i].slot])
            s_problem(c, "dataset counters: %llu %s; the records say %llu",
                      (unsigned long long)v[slots[i].slot], slots[i].what,
                      (unsigned long long)c->v[slots[i].slot]);
    if (c->out->records > 0 && v[C_NEXT_SEQ] <= c->max_seq)
        s_problem(c,
                  "dataset counters: the next record sequence is %llu, not above the last "
                  "record's %llu",
                  (unsigned long long)v[C_NEXT_SEQ], (unsigned long long)c->max_seq);

    static const char *const what[JURY_RESPONSE_NSTATUS] = {"submitted", "discarded", "draft"};
    char who[CHECK_NAME_MAX + 32];
    unsigned char k[8];
    s_counter_key(k, c->ds, 1);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->t->txn, c->t->store->dbi[DB_COUNTERS], &cur);
    if (rc != MDB_SUCCESS)
        return s_err(rc, "open cursor");
    MDB_val key = s_val(k, 8), val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == MDB_SUCCESS && key.mv_size == 8 && memcmp(key.mv_data, k, 4) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        uint32_t id = s_get32((const unsigned char *)key.mv_data + 4);
        uint64_t row[COUNTER_N];
        s_counters_decode(&val, row);
        if (id >= c->nann || !c->ann[id].exists) {
            if (row[C_SUBMITTED] || row[C_DISCARDED] || row[C_DRAFT])
                s_problem(c, "counters of annotator id %u, who does not exist", id);
            continue;
        }
        c->ann[id].has_row = true;
        for (int s = 0; s < JURY_RESPONSE_NSTATUS; s++)
            if (row[C_SUBMITTED + s] != c->ann[id].n[s]) {
                if (s_reporting(c))
                    s_annotator_label(c, id, who, sizeof who);
                s_problem(c, "%s: counters say %llu %s responses; the responses say %llu", who,
                          (unsigned long long)row[C_SUBMITTED + s], what[s],
                          (unsigned long long)c->ann[id].n[s]);
            }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return s_err(rc, "walk counters");
    for (uint32_t id = 1; id < c->nann; id++) {
        const check_annotator_t *a = &c->ann[id];
        uint64_t total = a->n[0] + a->n[1] + a->n[2];
        if (a->exists && !a->has_row && total > 0) {
            if (s_reporting(c))
                s_annotator_label(c, id, who, sizeof who);
            s_problem(c, "%s: %llu responses but no counters", who, (unsigned long long)total);
        }
    }
    return JURY_OK;
}

static bool s_record_exists(check_t *c, uint64_t rid, jury_err *err)
{
    unsigned char k[8];
    s_put64(k, rid);
    MDB_val key = s_val(k, 8), val;
    int rc = mdb_get(c->t->txn, c->t->store->dbi[DB_RSTATE], &key, &val);
    *err = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? JURY_OK : s_err(rc, "read record state");
    return rc == MDB_SUCCESS;
}

static jury_err s_check_queue_entry(uint64_t rid, const MDB_val *val, void *arg)
{
    check_t *c = arg;
    jury_err err;
    if (!s_record_exists(c, rid, &err)) {
        if (err == JURY_OK)
            s_record_problem(c, rid, "in the review queue, but the record does not exist");
        return err;
    }
    if (val->mv_size != 1)
        s_record_problem(c, rid, "a review queue entry of %zu bytes", val->mv_size);
    else if (*(const unsigned char *)val->mv_data == 0)
        s_record_problem(c, rid, "in the review queue without a reason (flags 0)");
    return JURY_OK;
}

static jury_err s_check_review(uint64_t rid, const MDB_val *val, void *arg)
{
    (void)val;
    check_t *c = arg;
    jury_err err;
    if (!s_record_exists(c, rid, &err) && err == JURY_OK)
        s_record_problem(c, rid, "a review, but the record does not exist");
    return err;
}

jury_err jury_store_check(jury_txn_t *txn, uint32_t ds, uint64_t max_reports,
                          void (*report)(const char *problem, void *arg), void *arg,
                          jury_store_check_t *out)
{
    memset(out, 0, sizeof *out);
    jury_dataset_t d;
    jury_err err = jury_store_dataset_get_id(txn, ds, &d);
    if (err != JURY_OK)
        return err;
    /* A write transaction's counters wait in its cache: put them where the walk reads. */
    if (txn->write && (err = s_counters_flush(txn)) != JURY_OK)
        return err;
    check_t c = {
        .t = txn, .ds = ds, .max_reports = max_reports, .report = report, .arg = arg, .out = out};
    if (!s_rid_range(ds, &c.lo, &c.hi))
        return JURY_ECORRUPT; /* dataset ids stay below 2^24 (s_next_id) */
    if ((err = s_check_setup(&c)) == JURY_OK && (err = s_check_extids(&c)) == JURY_OK &&
        (err = s_check_records(&c)) == JURY_OK && (err = s_check_counters(&c)) == JURY_OK &&
        (err = s_rid_walk(txn, DB_REVIEW_QUEUE, ds, 0, s_check_queue_entry, &c)) == JURY_OK)
        err = s_rid_walk(txn, DB_REVIEWS, ds, 0, s_check_review, &c);
    free(c.named);
    free(c.ann);
    return err;
}
