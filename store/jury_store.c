/* jury_store.c: the LMDB schema behind jury_store.h, its key encodings and its transactions. */
#include "jury_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    DB_COUNT
};

static const char *const s_db_names[DB_COUNT] = {
    "meta",      "datasets",      "dataset_ids",    "records",  "rstate",    "extids",
    "responses", "annotators",    "annotator_ids",  "counters", "agreement", "ragree",
    "decisions", "consolidation", "annotator_keys", "grants",   "paused",    "gold",
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

/* Translates an LMDB or errno code, logging the original where it is not routine. */
static jury_err s_err(int rc, const char *what)
{
    switch (rc) {
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
    }
    MDB_val key = s_val("schema_version", 14), val;
    rc = mdb_get(txn, s->dbi[DB_META], &key, &val);
    if (rc == MDB_NOTFOUND && create) {
        unsigned char v[4];
        s_put32(v, JURY_STORE_SCHEMA);
        val = s_val(v, 4);
        if ((rc = mdb_put(txn, s->dbi[DB_META], &key, &val, 0)) != MDB_SUCCESS) {
            err = s_err(rc, "write schema version");
            goto fail;
        }
    } else if (rc == MDB_NOTFOUND) {
        err = JURY_ENOTFOUND;
        goto fail;
    } else if (rc != MDB_SUCCESS) {
        err = s_err(rc, "read schema version");
        goto fail;
    } else if (val.mv_size != 4 || s_get32(val.mv_data) != JURY_STORE_SCHEMA) {
        jury_log(JURY_LOG_ERROR, "store %s: schema version %u, this jury reads version %d", s->dir,
                 val.mv_size == 4 ? s_get32(val.mv_data) : 0u, JURY_STORE_SCHEMA);
        err = JURY_EVERSION;
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
    mdb_env_set_mapsize(s->env, opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE);
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
    if (next <= cur)
        return JURY_EFULL; /* overflow */
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

static jury_err s_commit(jury_txn_t **txn_p)
{
    jury_txn_t *t = *txn_p;
    jury_err err = s_counters_flush(t);
    if (err != JURY_OK) {
        jury_txn_abort(txn_p);
        return err;
    }
    int rc = mdb_txn_commit(t->txn);
    t->store->open_txns--;
    free(t);
    *txn_p = NULL;
    return s_err(rc, "commit");
}

jury_err jury_store_write(jury_store_t *store, jury_store_write_fn fn, void *arg)
{
    for (int attempt = 0; attempt < WRITE_RETRIES; attempt++) {
        jury_txn_t *t;
        jury_err err = s_begin(store, true, &t);
        if (err != JURY_OK)
            return err;
        err = fn(t, arg);
        if (err == JURY_OK)
            err = s_commit(&t);
        else
            jury_txn_abort(&t);
        if (err != JURY_EFULL)
            return err;
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
        (!txn->store->absent[DB_GOLD] && (err = s_delete_prefix(txn, DB_GOLD, p32, 4)) != JURY_OK))
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
