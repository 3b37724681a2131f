/* test_store.c: the LMDB store on real files: datasets, records, responses, counters, growth,
 * versions, permissions, annotator access (roles, keys, grants), reviews and the review queue,
 * backups and the consistency check. */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lmdb.h>

#include "jury_store.h"

typedef struct {
    char dir[256];       /* a fresh store directory */
    jury_store_t *store; /* open on dir */
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char base[200];
    tu_tmpdir(base, sizeof base);
    snprintf(f->dir, sizeof f->dir, "%s/store", base);
    jury_store_opts_t opts = {.create = true};
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    char base[256];
    snprintf(base, sizeof base, "%s", f->dir);
    *strrchr(base, '/') = '\0';
    tu_rmrf(base);
    free(f);
    return 0;
}

/* ---- write bodies used by the tests ---- */

typedef struct {
    const char *name;
    uint32_t id;
} ds_arg_t;

static jury_err s_create_ds(jury_txn_t *txn, void *arg)
{
    ds_arg_t *a = arg;
    return jury_store_dataset_create(txn, a->name, "{\"s\":1}", 7, &a->id);
}

static uint32_t s_new_dataset(jury_store_t *s, const char *name)
{
    ds_arg_t a = {name, 0};
    assert_int_equal(jury_store_write(s, s_create_ds, &a), JURY_OK);
    return a.id;
}

typedef struct {
    uint32_t ds;
    const char *ext;
    const char *payload;
    uint32_t target;
    uint64_t rid;
    bool created;
} rec_arg_t;

static jury_err s_put_record(jury_txn_t *txn, void *arg)
{
    rec_arg_t *a = arg;
    return jury_store_record_put(txn, a->ds, a->ext, strlen(a->ext), a->payload, strlen(a->payload),
                                 a->target, &a->rid, &a->created);
}

typedef struct {
    uint64_t rid;
    const char *annotator;
    jury_response_status status;
    const char *values;
    uint32_t max_discards;
} resp_arg_t;

static jury_err s_put_response(jury_txn_t *txn, void *arg)
{
    resp_arg_t *a = arg;
    uint32_t id;
    jury_err err = jury_store_annotator_ensure(txn, a->annotator, &id, NULL);
    if (err != JURY_OK)
        return err;
    return jury_store_response_put(txn, a->rid, id, a->status, a->values, strlen(a->values), 1000,
                                   a->max_discards, NULL);
}

static void s_counts(jury_store_t *s, uint32_t ds, jury_counts_t *c)
{
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(s, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_counts(txn, ds, c), JURY_OK);
    jury_txn_abort(&txn);
}

/* ---- tests ---- */

static void test_open_requires_create(void **state)
{
    fixture_t *f = *state;
    char missing[300];
    snprintf(missing, sizeof missing, "%s-missing", f->dir);
    jury_store_t *s = NULL;
    assert_int_equal(jury_store_open(&s, missing, NULL), JURY_ENOTFOUND);
    assert_null(s);
    jury_store_opts_t ro = {.read_only = true};
    assert_int_equal(jury_store_open(&s, missing, &ro), JURY_ENOTFOUND);
    /* A regular file is not a store directory. */
    tu_write_file(missing, "x", 1);
    assert_int_equal(jury_store_open(&s, missing, NULL), JURY_EINVAL);
    remove(missing);
}

static void test_dataset_lifecycle(void **state)
{
    fixture_t *f = *state;
    uint32_t a = s_new_dataset(f->store, "alpha");
    uint32_t b = s_new_dataset(f->store, "beta");
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    ds_arg_t dup = {"alpha", 0};
    assert_int_equal(jury_store_write(f->store, s_create_ds, &dup), JURY_EEXIST);

    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    jury_dataset_t ds;
    assert_int_equal(jury_store_dataset_get(txn, "beta", &ds), JURY_OK);
    assert_int_equal(ds.id, 2);
    assert_string_equal(ds.name, "beta");
    assert_int_equal(ds.settings_len, 7);
    assert_memory_equal(ds.settings, "{\"s\":1}", 7);
    assert_true(ds.created_ms > 1700000000000LL);
    assert_int_equal(jury_store_dataset_get_id(txn, 1, &ds), JURY_OK);
    assert_string_equal(ds.name, "alpha");
    assert_int_equal(jury_store_dataset_get(txn, "gamma", &ds), JURY_ENOTFOUND);
    jury_txn_abort(&txn);
    jury_txn_abort(&txn); /* safe twice */
}

static void test_record_upsert_keeps_responses(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    rec_arg_t r = {ds, "rec-1", "payload-v1", 2, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
    assert_true(r.created);
    assert_int_equal(r.rid, ((uint64_t)ds << 40) | 1);
    assert_int_equal(jury_record_dataset(r.rid), ds);
    uint64_t first = r.rid;

    resp_arg_t resp = {first, "alice", JURY_RESPONSE_SUBMITTED, "answers", 0};
    assert_int_equal(jury_store_write(f->store, s_put_response, &resp), JURY_OK);

    /* Same external id: payload replaced, id, state and responses kept. */
    r.payload = "payload-v2";
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
    assert_false(r.created);
    assert_int_equal(r.rid, first);

    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    const void *p;
    size_t n;
    jury_record_state_t st;
    assert_int_equal(jury_store_record_get(txn, first, &p, &n, &st), JURY_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(p, "payload-v2", 10);
    assert_int_equal(st.status, JURY_RECORD_PENDING);
    assert_int_equal(st.target, 2);
    assert_int_equal(st.submitted, 1);
    uint32_t alice;
    assert_int_equal(jury_store_annotator_find(txn, "alice", &alice), JURY_OK);
    jury_response_t got;
    assert_int_equal(jury_store_response_get(txn, first, alice, &got), JURY_OK);
    assert_int_equal(got.status, JURY_RESPONSE_SUBMITTED);
    assert_int_equal(got.values_len, 7);
    assert_memory_equal(got.values, "answers", 7);
    assert_int_equal(got.updated_ms, 1000);
    uint64_t rid;
    assert_int_equal(jury_store_record_find(txn, ds, "rec-1", 5, &rid), JURY_OK);
    assert_int_equal(rid, first);
    assert_int_equal(jury_store_record_find(txn, ds, "rec-2", 5, &rid), JURY_ENOTFOUND);
    jury_txn_abort(&txn);

    jury_counts_t c;
    s_counts(f->store, ds, &c);
    assert_int_equal(c.records, 1);
    assert_int_equal(c.completed, 0);
    assert_int_equal(c.responses[JURY_RESPONSE_SUBMITTED], 1);
}

static jury_err s_count_responses(const jury_response_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return JURY_OK;
}

/* Stops the walk after *limit responses (counting them in limit[1]). */
static jury_err s_stop_after(const jury_response_t *r, void *arg)
{
    (void)r;
    int *c = arg;
    if (++c[1] >= c[0])
        return JURY_EBUSY;
    return JURY_OK;
}

/* A read transaction keeps its responses cursor between calls: walks in record order, out of
 * order, after records without responses, and after a walk stopped early all see every
 * response of the record asked for. */
static void test_response_walks_in_any_order(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    const char *ids[] = {"a", "b", "c", "d"};
    const int answers[] = {3, 0, 2, 1};
    const char *names[] = {"ann", "bob", "cy"};
    uint64_t rid[4];
    for (int i = 0; i < 4; i++) {
        rec_arg_t r = {ds, ids[i], "p", 5, 0, false};
        assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
        rid[i] = r.rid;
        for (int j = 0; j < answers[i]; j++) {
            resp_arg_t a = {r.rid, names[j], JURY_RESPONSE_SUBMITTED, "v", 0};
            assert_int_equal(jury_store_write(f->store, s_put_response, &a), JURY_OK);
        }
    }
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    const int order[] = {0, 1, 2, 3, 3, 2, 0, 0, 2, 1, 3, 0};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        int n = 0;
        assert_int_equal(jury_store_response_each(txn, rid[order[k]], s_count_responses, &n),
                         JURY_OK);
        assert_int_equal(n, answers[order[k]]);
    }
    /* Stopped after one of a's three responses: the next walk of a still sees all three. */
    int stop[2] = {1, 0};
    assert_int_equal(jury_store_response_each(txn, rid[0], s_stop_after, stop), JURY_EBUSY);
    int n = 0;
    assert_int_equal(jury_store_response_each(txn, rid[0], s_count_responses, &n), JURY_OK);
    assert_int_equal(n, 3);
    jury_txn_abort(&txn);
}

static void test_responses_complete_records(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    rec_arg_t r = {ds, "x", "p", 2, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);

    resp_arg_t a = {r.rid, "ann", JURY_RESPONSE_DRAFT, "v", 0};
    assert_int_equal(jury_store_write(f->store, s_put_response, &a), JURY_OK);
    resp_arg_t b = {r.rid, "bob", JURY_RESPONSE_SUBMITTED, "v", 0};
    assert_int_equal(jury_store_write(f->store, s_put_response, &b), JURY_OK);
    jury_counts_t c;
    s_counts(f->store, ds, &c);
    assert_int_equal(c.completed, 0);
    assert_int_equal(c.responses[JURY_RESPONSE_DRAFT], 1);

    /* The draft becomes a submission: the record reaches its target of 2. */
    a.status = JURY_RESPONSE_SUBMITTED;
    assert_int_equal(jury_store_write(f->store, s_put_response, &a), JURY_OK);
    s_counts(f->store, ds, &c);
    assert_int_equal(c.records, 1);
    assert_int_equal(c.completed, 1);
    assert_int_equal(c.responses[JURY_RESPONSE_SUBMITTED], 2);
    assert_int_equal(c.responses[JURY_RESPONSE_DRAFT], 0);

    /* Bob discards instead: the record is pending again. */
    b.status = JURY_RESPONSE_DISCARDED;
    assert_int_equal(jury_store_write(f->store, s_put_response, &b), JURY_OK);
    s_counts(f->store, ds, &c);
    assert_int_equal(c.completed, 0);
    assert_int_equal(c.responses[JURY_RESPONSE_SUBMITTED], 1);
    assert_int_equal(c.responses[JURY_RESPONSE_DISCARDED], 1);

    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    int n = 0;
    assert_int_equal(jury_store_response_each(txn, r.rid, s_count_responses, &n), JURY_OK);
    assert_int_equal(n, 2);
    jury_record_state_t st;
    assert_int_equal(jury_store_record_get(txn, r.rid, NULL, NULL, &st), JURY_OK);
    assert_int_equal(st.submitted, 1);
    assert_int_equal(st.discarded, 1);
    assert_int_equal(st.draft, 0);
    assert_int_equal(st.status, JURY_RECORD_PENDING);
    jury_txn_abort(&txn);
}

typedef struct {
    uint64_t rid;           /* record */
    uint32_t target;        /* new target */
    bool contested;         /* mark it */
    jury_record_state_t st; /* out */
} target_arg_t;

static jury_err s_set_target(jury_txn_t *txn, void *arg)
{
    target_arg_t *a = arg;
    return jury_store_record_set_target(txn, a->rid, a->target, a->contested, &a->st);
}

/* Dynamic overlap: raising a completed record's target makes it pending again; a contested mark
 * stays and counts once. */
static void test_record_set_target(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    rec_arg_t r = {ds, "x", "p", 2, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
    resp_arg_t a = {r.rid, "ann", JURY_RESPONSE_SUBMITTED, "v", 0};
    resp_arg_t b = {r.rid, "bob", JURY_RESPONSE_SUBMITTED, "v", 0};
    assert_int_equal(jury_store_write(f->store, s_put_response, &a), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_put_response, &b), JURY_OK);
    jury_counts_t c;
    s_counts(f->store, ds, &c);
    assert_int_equal(c.completed, 1);

    target_arg_t t = {r.rid, 3, false, {0}};
    assert_int_equal(jury_store_write(f->store, s_set_target, &t), JURY_OK);
    assert_int_equal(t.st.status, JURY_RECORD_PENDING);
    assert_int_equal(t.st.target, 3);
    assert_false(t.st.contested);
    s_counts(f->store, ds, &c);
    assert_int_equal(c.completed, 0);
    assert_int_equal(c.contested, 0);

    /* The third response completes it; at the maximum it is marked contested. */
    resp_arg_t x = {r.rid, "cy", JURY_RESPONSE_SUBMITTED, "v", 0};
    assert_int_equal(jury_store_write(f->store, s_put_response, &x), JURY_OK);
    t = (target_arg_t){r.rid, 3, true, {0}};
    assert_int_equal(jury_store_write(f->store, s_set_target, &t), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_set_target, &t), JURY_OK);
    assert_int_equal(t.st.status, JURY_RECORD_COMPLETED);
    assert_true(t.st.contested);
    s_counts(f->store, ds, &c);
    assert_int_equal(c.completed, 1);
    assert_int_equal(c.contested, 1);

    jury_txn_t *txn;
    jury_record_state_t st;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_record_get(txn, r.rid, NULL, NULL, &st), JURY_OK);
    assert_true(st.contested);
    assert_int_equal(st.target, 3);
    assert_int_equal(st.submitted, 3);
    assert_int_equal(jury_store_record_set_target(txn, r.rid, 4, false, NULL), JURY_EPERM);
    jury_txn_abort(&txn);
    t = (target_arg_t){r.rid, 0, false, {0}};
    assert_int_equal(jury_store_write(f->store, s_set_target, &t), JURY_EINVAL);
    t = (target_arg_t){r.rid + 1, 2, false, {0}};
    assert_int_equal(jury_store_write(f->store, s_set_target, &t), JURY_ENOTFOUND);
}

static jury_err s_mark_gold(jury_txn_t *txn, void *arg)
{
    return jury_store_record_mark_gold(txn, *(uint64_t *)arg);
}

typedef struct {
    uint32_t ds, annotator;   /* whom */
    const char *question;     /* gold_add */
    bool correct;             /* gold_add */
    uint64_t answered, right; /* out */
    const char *reason;       /* pause_set; NULL: clear */
    bool was;                 /* out: clear found a pause */
} gold_arg_t;

static jury_err s_gold_add(jury_txn_t *txn, void *arg)
{
    gold_arg_t *g = arg;
    return jury_store_gold_add(txn, g->ds, g->annotator, g->question, g->correct, &g->answered,
                               &g->right);
}

static jury_err s_pause(jury_txn_t *txn, void *arg)
{
    gold_arg_t *g = arg;
    uint32_t id;
    jury_err err = jury_store_annotator_ensure(txn, "ann", &id, NULL);
    if (err != JURY_OK)
        return err;
    g->annotator = id;
    return g->reason ? jury_store_pause_set(txn, g->ds, id, g->reason, 1234)
                     : jury_store_pause_clear(txn, g->ds, id, &g->was);
}

static jury_err s_collect_gold(uint32_t annotator, const char *question, uint64_t answered,
                               uint64_t correct, void *arg)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%u:%s:%llu/%llu ", annotator, question, (unsigned long long)correct,
             (unsigned long long)answered);
    return JURY_OK;
}

static uint64_t s_access_version(jury_store_t *s);

/* Gold records leave the record count for the gold count; gold answers are counted per
 * annotator and question; pauses are set, read, cleared and bump the access version. */
static void test_gold_and_pauses(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    rec_arg_t r = {ds, "g1", "p", 2, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_mark_gold, &r.rid), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_mark_gold, &r.rid), JURY_OK); /* once */
    jury_counts_t c;
    s_counts(f->store, ds, &c);
    assert_int_equal(c.records, 0);
    assert_int_equal(c.gold, 1);
    jury_txn_t *txn;
    jury_record_state_t st;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_record_get(txn, r.rid, NULL, NULL, &st), JURY_OK);
    assert_true(st.gold);
    assert_int_equal(st.target, JURY_STORE_GOLD_TARGET);
    jury_txn_abort(&txn);

    gold_arg_t g = {.ds = ds, .annotator = 3, .question = "label", .correct = true};
    assert_int_equal(jury_store_write(f->store, s_gold_add, &g), JURY_OK);
    g.correct = false;
    assert_int_equal(jury_store_write(f->store, s_gold_add, &g), JURY_OK);
    assert_int_equal(g.answered, 2);
    assert_int_equal(g.right, 1);
    g = (gold_arg_t){.ds = ds, .annotator = 1, .question = "stars", .correct = true};
    assert_int_equal(jury_store_write(f->store, s_gold_add, &g), JURY_OK);
    g.question = "";
    assert_int_equal(jury_store_write(f->store, s_gold_add, &g), JURY_EINVAL);
    char out[256] = "";
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_gold_each(txn, ds, s_collect_gold, out), JURY_OK);
    assert_string_equal(out, "1:stars:1/1 3:label:1/2 ");
    uint64_t answered, right;
    assert_int_equal(jury_store_gold_get(txn, ds, 3, "label", &answered, &right), JURY_OK);
    assert_int_equal(answered, 2);
    assert_int_equal(right, 1);
    assert_int_equal(jury_store_gold_get(txn, ds, 3, "stars", &answered, &right), JURY_OK);
    assert_int_equal(answered, 0);
    assert_int_equal(right, 0);
    assert_int_equal(jury_store_gold_get(txn, ds, 3, "", &answered, &right), JURY_EINVAL);
    out[0] = '\0';
    assert_int_equal(jury_store_gold_each(txn, ds + 1, s_collect_gold, out), JURY_OK);
    assert_string_equal(out, "");
    jury_txn_abort(&txn);

    uint64_t v0 = s_access_version(f->store);
    gold_arg_t p = {.ds = ds, .reason = "too many misses"};
    assert_int_equal(jury_store_write(f->store, s_pause, &p), JURY_OK);
    assert_int_equal(s_access_version(f->store), v0 + 1);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    int64_t since;
    const char *why;
    size_t len;
    assert_int_equal(jury_store_pause_get(txn, ds, p.annotator, &since, &why, &len), JURY_OK);
    assert_int_equal(since, 1234);
    assert_int_equal(len, strlen("too many misses"));
    assert_memory_equal(why, "too many misses", len);
    assert_int_equal(jury_store_pause_get(txn, ds + 1, p.annotator, NULL, NULL, NULL),
                     JURY_ENOTFOUND);
    jury_txn_abort(&txn);
    p.reason = NULL;
    assert_int_equal(jury_store_write(f->store, s_pause, &p), JURY_OK);
    assert_true(p.was);
    assert_int_equal(jury_store_write(f->store, s_pause, &p), JURY_OK);
    assert_false(p.was);
    assert_int_equal(s_access_version(f->store), v0 + 2);
    p.ds = ds + 7; /* no such dataset */
    p.reason = "x";
    assert_int_equal(jury_store_write(f->store, s_pause, &p), JURY_ENOTFOUND);
}

typedef struct {
    char names[4][16];
    uint64_t submitted[4];
    int n;
} ann_list_t;

static jury_err s_collect_annotator(uint32_t id, const char *name, const jury_counts_t *c,
                                    void *arg)
{
    (void)id;
    ann_list_t *l = arg;
    snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
    l->submitted[l->n++] = c->responses[JURY_RESPONSE_SUBMITTED];
    return JURY_OK;
}

static void test_annotator_counts(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    const char *ids[] = {"r1", "r2", "r3"};
    for (int i = 0; i < 3; i++) {
        rec_arg_t r = {ds, ids[i], "p", 1, 0, false};
        assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
        resp_arg_t a = {r.rid, "zoe", JURY_RESPONSE_SUBMITTED, "v", 0};
        assert_int_equal(jury_store_write(f->store, s_put_response, &a), JURY_OK);
        if (i == 0) {
            resp_arg_t b = {r.rid, "adam", JURY_RESPONSE_SUBMITTED, "v", 0};
            assert_int_equal(jury_store_write(f->store, s_put_response, &b), JURY_OK);
        }
    }
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    ann_list_t l = {0};
    assert_int_equal(jury_store_annotator_counts_each(txn, ds, s_collect_annotator, &l), JURY_OK);
    jury_txn_abort(&txn);
    /* Annotator id order: zoe was created first. */
    assert_int_equal(l.n, 2);
    assert_string_equal(l.names[0], "zoe");
    assert_int_equal(l.submitted[0], 3);
    assert_string_equal(l.names[1], "adam");
    assert_int_equal(l.submitted[1], 1);
    jury_counts_t c;
    s_counts(f->store, ds, &c);
    assert_int_equal(c.records, 3);
    assert_int_equal(c.completed, 3);
}

static jury_err s_delete_ds(jury_txn_t *txn, void *arg)
{
    return jury_store_dataset_delete(txn, arg);
}

static void test_dataset_delete_removes_only_its_rows(void **state)
{
    fixture_t *f = *state;
    uint32_t a = s_new_dataset(f->store, "a");
    uint32_t b = s_new_dataset(f->store, "b");
    rec_arg_t ra = {a, "same-id", "A", 1, 0, false};
    rec_arg_t rb = {b, "same-id", "B", 1, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &ra), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_put_record, &rb), JURY_OK);
    assert_int_not_equal(ra.rid, rb.rid);
    resp_arg_t resp = {ra.rid, "ann", JURY_RESPONSE_SUBMITTED, "v", 0};
    assert_int_equal(jury_store_write(f->store, s_put_response, &resp), JURY_OK);

    assert_int_equal(jury_store_write(f->store, s_delete_ds, "a"), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_delete_ds, "a"), JURY_ENOTFOUND);

    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    jury_dataset_t ds;
    assert_int_equal(jury_store_dataset_get(txn, "a", &ds), JURY_ENOTFOUND);
    assert_int_equal(jury_store_record_get(txn, ra.rid, NULL, NULL, NULL), JURY_ENOTFOUND);
    uint64_t rid;
    assert_int_equal(jury_store_record_find(txn, a, "same-id", 7, &rid), JURY_ENOTFOUND);
    int n = 0;
    assert_int_equal(jury_store_response_each(txn, ra.rid, s_count_responses, &n), JURY_OK);
    assert_int_equal(n, 0);
    const void *p;
    size_t len;
    assert_int_equal(jury_store_record_get(txn, rb.rid, &p, &len, NULL), JURY_OK);
    assert_memory_equal(p, "B", 1);
    jury_txn_abort(&txn);

    /* A new dataset never reuses the deleted one's id. */
    assert_int_equal(s_new_dataset(f->store, "a"), 3);
}

typedef struct {
    uint32_t ds;
    int n;
} bulk_arg_t;

static jury_err s_bulk(jury_txn_t *txn, void *arg)
{
    bulk_arg_t *a = arg;
    char payload[4000];
    memset(payload, 'x', sizeof payload);
    for (int i = 0; i < a->n; i++) {
        char ext[32];
        int n = snprintf(ext, sizeof ext, "r%d", i);
        jury_err err = jury_store_record_put(txn, a->ds, ext, (size_t)n, payload, sizeof payload, 1,
                                             NULL, NULL);
        if (err != JURY_OK)
            return err;
    }
    return JURY_OK;
}

static void test_full_map_grows_and_retries(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    tu_rmrf(f->dir);
    /* A 1 MiB map cannot hold 2,000 records of 4 KB: the write must grow it. */
    jury_store_opts_t opts = {.create = true, .map_size = 1 << 20};
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);
    size_t before = jury_store_map_size(f->store);
    bulk_arg_t a = {s_new_dataset(f->store, "big"), 2000};
    assert_int_equal(jury_store_write(f->store, s_bulk, &a), JURY_OK);
    assert_true(jury_store_map_size(f->store) > before);
    assert_true(jury_store_used_bytes(f->store) > 2000u * 4000u);
    jury_counts_t c;
    s_counts(f->store, a.ds, &c);
    assert_int_equal(c.records, 2000);
}

/* A map at its limit (opts.map_max) refuses the write with JURY_EFULL and keeps what is stored; a
 * store opened with a higher limit takes the same write. */
static void test_map_limit(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    tu_rmrf(f->dir);
    jury_store_opts_t opts = {.create = true, .map_size = 1 << 20, .map_max = 2 << 20};
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);
    bulk_arg_t small = {s_new_dataset(f->store, "small"), 100};
    assert_int_equal(jury_store_write(f->store, s_bulk, &small), JURY_OK);
    bulk_arg_t big = {s_new_dataset(f->store, "big"), 2000}; /* 8 MB: over the limit */
    assert_int_equal(jury_store_write(f->store, s_bulk, &big), JURY_EFULL);
    assert_int_equal(jury_store_map_size(f->store), 2 << 20);
    jury_counts_t c;
    s_counts(f->store, small.ds, &c);
    assert_int_equal(c.records, 100);
    s_counts(f->store, big.ds, &c);
    assert_int_equal(c.records, 0);
    jury_store_destroy(&f->store);
    opts.map_max = 64 << 20;
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_bulk, &big), JURY_OK);
    s_counts(f->store, big.ds, &c);
    assert_int_equal(c.records, 2000);
}

/* A full disk, made with a file size limit (RLIMIT_FSIZE: writes past it fail with EFBIG, as they
 * fail with ENOSPC on a full file system), in a child process: the write fails with JURY_EFULL at
 * once, without growing the map; the store stays sound; once the limit is lifted, the same write
 * succeeds. The child reports through its exit code (0 = every step as expected). */
static int s_disk_full_child(const char *dir)
{
    jury_store_opts_t opts = {.create = true};
    jury_store_t *s = NULL;
    if (jury_store_open(&s, dir, &opts) != JURY_OK)
        return 10;
    bulk_arg_t small = {0, 10};
    ds_arg_t d = {"small", 0};
    if (jury_store_write(s, s_create_ds, &d) != JURY_OK)
        return 11;
    small.ds = d.id;
    if (jury_store_write(s, s_bulk, &small) != JURY_OK)
        return 12;
    struct stat st;
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) != 0)
        return 13;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 64 * 1024; /* room for 16 of the 4 KB records */
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 14;
    size_t map = jury_store_map_size(s);
    d = (ds_arg_t){"big", 0};
    if (jury_store_write(s, s_create_ds, &d) != JURY_OK)
        return 15;
    bulk_arg_t big = {d.id, 500}; /* 2 MB: past the limit */
    if (jury_store_write(s, s_bulk, &big) != JURY_EFULL)
        return 16;
    if (jury_store_map_size(s) != map)
        return 17; /* the map must not have grown for a full disk */
    jury_txn_t *txn;
    jury_counts_t c;
    if (jury_store_read(s, &txn) != JURY_OK || jury_store_dataset_counts(txn, small.ds, &c) ||
        c.records != 10 || jury_store_dataset_counts(txn, big.ds, &c) || c.records != 0)
        return 18;
    jury_txn_abort(&txn);
    if (setrlimit(RLIMIT_FSIZE, &old) != 0)
        return 19;
    if (jury_store_write(s, s_bulk, &big) != JURY_OK)
        return 20;
    if (jury_store_read(s, &txn) != JURY_OK || jury_store_dataset_counts(txn, big.ds, &c) ||
        c.records != 500)
        return 21;
    jury_txn_abort(&txn);
    jury_store_destroy(&s);
    return 0;
}

static void test_disk_full_is_retryable(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    tu_rmrf(f->dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(s_disk_full_child(f->dir));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    jury_store_opts_t opts = {.create = false};
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);
}

static void test_schema_version_mismatch(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    /* Rewrite the version key with raw LMDB, as a future jury would have. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    unsigned char v[4] = {0, 0, 0, 99};
    MDB_val key = {14, "schema_version"}, val = {4, v};
    assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    assert_int_equal(jury_store_open(&f->store, f->dir, NULL), JURY_EVERSION);
    assert_null(f->store);
}

static void test_reader_sees_snapshot_while_writer_runs(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    /* A second handle, as `jury status` in another process would open. */
    jury_store_t *reader;
    jury_store_opts_t ro = {.read_only = true};
    assert_int_equal(jury_store_open(&reader, f->dir, &ro), JURY_OK);
    jury_txn_t *rtxn;
    assert_int_equal(jury_store_read(reader, &rtxn), JURY_OK);
    rec_arg_t r = {ds, "late", "p", 1, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
    jury_counts_t c;
    assert_int_equal(jury_store_dataset_counts(rtxn, ds, &c), JURY_OK);
    assert_int_equal(c.records, 0); /* its snapshot predates the write */
    jury_txn_abort(&rtxn);
    assert_int_equal(jury_store_read(reader, &rtxn), JURY_OK);
    assert_int_equal(jury_store_dataset_counts(rtxn, ds, &c), JURY_OK);
    assert_int_equal(c.records, 1);
    jury_txn_abort(&rtxn);
    /* A read-only store refuses to write. */
    assert_int_equal(jury_store_write(reader, s_put_record, &r), JURY_EPERM);
    jury_store_destroy(&reader);
    jury_store_destroy(&reader);
}

static void test_bad_arguments(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    char longid[JURY_STORE_EXTID_MAX + 2];
    memset(longid, 'i', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    rec_arg_t r = {ds, longid, "p", 1, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_ETOOBIG);
    r.ext = "";
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_EINVAL);
    r.ext = "ok";
    r.target = 0;
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_EINVAL);
    r.target = 1;
    r.ds = 77; /* no such dataset */
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_ENOTFOUND);
    ds_arg_t empty = {"", 0};
    assert_int_equal(jury_store_write(f->store, s_create_ds, &empty), JURY_EINVAL);
    resp_arg_t resp = {((uint64_t)ds << 40) | 999, "ann", JURY_RESPONSE_SUBMITTED, "v", 0};
    assert_int_equal(jury_store_write(f->store, s_put_response, &resp), JURY_ENOTFOUND);
    jury_counts_t c;
    s_counts(f->store, ds, &c);
    assert_int_equal(c.records, 0);
}

static jury_err s_collect_rids(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    uint64_t *out = arg;
    out[out[0] + 1] = rid;
    out[0]++;
    (void)st;
    return JURY_OK;
}

static void test_discards_set_records_aside(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    rec_arg_t r = {ds, "x", "p", 2, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
    rec_arg_t r2 = {ds, "y", "p", 2, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r2), JURY_OK);
    const char *who[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        resp_arg_t d = {r.rid, who[i], JURY_RESPONSE_DISCARDED, "", 2};
        assert_int_equal(jury_store_write(f->store, s_put_response, &d), JURY_OK);
    }
    jury_counts_t c;
    s_counts(f->store, ds, &c);
    assert_int_equal(c.discarded, 1);
    assert_int_equal(c.completed, 0);
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    jury_record_state_t st;
    assert_int_equal(jury_store_record_get(txn, r.rid, NULL, NULL, &st), JURY_OK);
    assert_int_equal(st.status, JURY_RECORD_DISCARDED);
    assert_string_equal(jury_record_status_name(st.status), "discarded");
    /* record_each walks the dataset in id order, from after a given id. */
    uint64_t rids[4] = {0};
    assert_int_equal(jury_store_record_each(txn, ds, 0, s_collect_rids, rids), JURY_OK);
    assert_int_equal(rids[0], 2);
    assert_int_equal(rids[1], r.rid);
    assert_int_equal(rids[2], r2.rid);
    rids[0] = 0;
    assert_int_equal(jury_store_record_each(txn, ds, r.rid, s_collect_rids, rids), JURY_OK);
    assert_int_equal(rids[0], 1);
    assert_int_equal(rids[1], r2.rid);
    jury_txn_abort(&txn);
}

static void test_records_of_an_older_dataset_after_a_newer_one(void **state)
{
    fixture_t *f = *state;
    uint32_t a = s_new_dataset(f->store, "a");
    uint32_t b = s_new_dataset(f->store, "b");
    rec_arg_t rb = {b, "b1", "B1", 1, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &rb), JURY_OK);
    /* "a" sorts before "b": these can no longer be appended at the table's end. */
    const char *ids[] = {"a1", "a2", "a3"};
    for (int i = 0; i < 3; i++) {
        rec_arg_t ra = {a, ids[i], ids[i], 1, 0, false};
        assert_int_equal(jury_store_write(f->store, s_put_record, &ra), JURY_OK);
        assert_true(ra.created);
        assert_int_equal(ra.rid, ((uint64_t)a << 40) | (uint64_t)(i + 1));
    }
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    uint64_t rids[5] = {0};
    assert_int_equal(jury_store_record_each(txn, a, 0, s_collect_rids, rids), JURY_OK);
    assert_int_equal(rids[0], 3);
    const void *p;
    size_t n;
    assert_int_equal(jury_store_record_get(txn, ((uint64_t)a << 40) | 2, &p, &n, NULL), JURY_OK);
    assert_memory_equal(p, "a2", 2);
    assert_int_equal(jury_store_record_get(txn, rb.rid, &p, &n, NULL), JURY_OK);
    assert_memory_equal(p, "B1", 2);
    jury_txn_abort(&txn);
}

typedef struct {
    uint32_t ds;
    uint64_t rid;
} agree_arg_t;

static jury_err s_put_agreement(jury_txn_t *txn, void *arg)
{
    agree_arg_t *a = arg;
    jury_err err = jury_store_agreement_put(txn, a->ds, "label", "\x01\x02\x03", 3);
    return err != JURY_OK ? err : jury_store_record_agreement_put(txn, a->rid, 0.625);
}

static void test_agreement_state_round_trip(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    rec_arg_t r = {ds, "x", "p", 1, 0, false};
    assert_int_equal(jury_store_write(f->store, s_put_record, &r), JURY_OK);
    agree_arg_t a = {ds, r.rid};
    assert_int_equal(jury_store_write(f->store, s_put_agreement, &a), JURY_OK);
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    const void *blob;
    size_t len;
    double v;
    assert_int_equal(jury_store_agreement_get(txn, ds, "label", &blob, &len), JURY_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(blob, "\x01\x02\x03", 3);
    assert_int_equal(jury_store_agreement_get(txn, ds, "other", &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(jury_store_record_agreement_get(txn, r.rid, &v), JURY_OK);
    assert_true(v == 0.625);
    jury_txn_abort(&txn);
    /* Deleting the dataset takes its agreement state with it. */
    assert_int_equal(jury_store_write(f->store, s_delete_ds, "d"), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_agreement_get(txn, ds, "label", &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(jury_store_record_agreement_get(txn, r.rid, &v), JURY_ENOTFOUND);
    jury_txn_abort(&txn);
}

static void test_unwritable_directory(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    /* Root ignores permission bits, so the check runs in a child that drops to
     * nobody; the store directory is left world-readable but not writable. */
    char base[256];
    snprintf(base, sizeof base, "%s", f->dir);
    *strrchr(base, '/') = '\0';
    chmod(base, 0755);
    chmod(f->dir, 0555);
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    chmod(path, 0644);
    snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
    chmod(path, 0644);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(90);
        jury_store_t *s = NULL;
        jury_err err = jury_store_open(&s, f->dir, NULL);
        _exit(err == JURY_EPERM && s == NULL ? 0 : 10 + (int)err);
    }
    int st;
    waitpid(pid, &st, 0);
    chmod(f->dir, 0750);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- consolidation ---- */

/* Reads decision rid into a NUL-terminated copy in out; returns the error. */
static jury_err s_decision(jury_txn_t *txn, uint64_t rid, char *out, size_t cap)
{
    const void *blob;
    size_t len;
    jury_err err = jury_store_decision_get(txn, rid, &blob, &len);
    if (err == JURY_OK) {
        assert_true(len < cap);
        memcpy(out, blob, len);
        out[len] = '\0';
    }
    return err;
}

static jury_err s_put_dec(jury_txn_t *txn, uint64_t rid, const char *text)
{
    return jury_store_decision_put(txn, rid, text, strlen(text));
}

#define RID(ds, seq) (((uint64_t)(ds) << 40) | (uint64_t)(seq))

typedef struct {
    uint32_t a, b; /* two datasets, a's ids below b's */
} two_ds_t;

static jury_err s_decisions_out_of_order(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    jury_err err;
    /* b first: its decisions are appended; a's then sort before the table's end. */
    if ((err = s_put_dec(txn, RID(d->b, 1), "b1")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 2), "b2")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 3), "b3")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->a, 1), "a1")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->a, 2), "a2")) != JURY_OK ||
        /* overwrite in the middle with a longer value, then a smaller id, then the last key */
        (err = s_put_dec(txn, RID(d->b, 2), "b2, second and longer")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 1), "b1'")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 5), "b5")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 5), "b5'")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 4), "b4")) != JURY_OK)
        return err;
    char got[64];
    assert_int_equal(s_decision(txn, RID(d->b, 5), got, sizeof got), JURY_OK);
    assert_string_equal(got, "b5'");
    return JURY_OK;
}

static jury_err s_decisions_rerun(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    /* A re-run in a later transaction: overwrites in id order, then new ones past the end. */
    static const char *const text[] = {"B1", "B2", "B3", "B4", "B5", "B6", "B7"};
    for (int i = 0; i < 7; i++) {
        jury_err err = s_put_dec(txn, RID(d->b, i + 1), text[i]);
        if (err != JURY_OK)
            return err;
    }
    return JURY_OK;
}

static void test_decisions_in_and_out_of_order(void **state)
{
    fixture_t *f = *state;
    two_ds_t d = {s_new_dataset(f->store, "a"), s_new_dataset(f->store, "b")};
    assert_int_equal(jury_store_write(f->store, s_decisions_out_of_order, &d), JURY_OK);

    jury_txn_t *txn;
    char got[64];
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, RID(d.a, 1), got, sizeof got), JURY_OK);
    assert_string_equal(got, "a1");
    assert_int_equal(s_decision(txn, RID(d.a, 2), got, sizeof got), JURY_OK);
    assert_string_equal(got, "a2");
    assert_int_equal(s_decision(txn, RID(d.b, 1), got, sizeof got), JURY_OK);
    assert_string_equal(got, "b1'");
    assert_int_equal(s_decision(txn, RID(d.b, 2), got, sizeof got), JURY_OK);
    assert_string_equal(got, "b2, second and longer");
    assert_int_equal(s_decision(txn, RID(d.b, 3), got, sizeof got), JURY_OK);
    assert_string_equal(got, "b3");
    assert_int_equal(s_decision(txn, RID(d.b, 4), got, sizeof got), JURY_OK);
    assert_string_equal(got, "b4");
    assert_int_equal(s_decision(txn, RID(d.b, 5), got, sizeof got), JURY_OK);
    assert_string_equal(got, "b5'");
    assert_int_equal(s_decision(txn, RID(d.a, 3), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.b, 6), got, sizeof got), JURY_ENOTFOUND);
    /* Writing needs a write transaction. */
    assert_int_equal(s_put_dec(txn, RID(d.a, 9), "x"), JURY_EPERM);
    assert_int_equal(jury_store_decision_clear(txn, d.a), JURY_EPERM);
    jury_txn_abort(&txn);

    assert_int_equal(jury_store_write(f->store, s_decisions_rerun, &d), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    char want[4];
    for (int i = 1; i <= 7; i++) {
        snprintf(want, sizeof want, "B%d", i);
        assert_int_equal(s_decision(txn, RID(d.b, i), got, sizeof got), JURY_OK);
        assert_string_equal(got, want);
    }
    assert_int_equal(s_decision(txn, RID(d.a, 1), got, sizeof got), JURY_OK);
    assert_string_equal(got, "a1");
    jury_txn_abort(&txn);
}

static jury_err s_clear_a_then_b(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    jury_err err;
    if ((err = s_put_dec(txn, RID(d->a, 1), "a1")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->a, 2), "a2")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 1), "b1")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 2), "b2")) != JURY_OK)
        return err;
    /* a's decisions lie before b's: only its range goes. */
    if ((err = jury_store_decision_clear(txn, d->a)) != JURY_OK)
        return err;
    char got[16];
    assert_int_equal(s_decision(txn, RID(d->a, 1), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d->b, 2), got, sizeof got), JURY_OK);
    /* Now b owns the whole table; clearing it and writing again in the same
     * transaction starts from an empty table. */
    if ((err = jury_store_decision_clear(txn, d->b)) != JURY_OK ||
        (err = jury_store_decision_clear(txn, d->b)) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 2), "new b2")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 3), "new b3")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->a, 7), "a7")) != JURY_OK)
        return err;
    return JURY_OK;
}

static jury_err s_clear_b(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    return jury_store_decision_clear(txn, d->b);
}

static void test_decision_clear_keeps_other_datasets(void **state)
{
    fixture_t *f = *state;
    two_ds_t d = {s_new_dataset(f->store, "a"), s_new_dataset(f->store, "b")};
    assert_int_equal(jury_store_write(f->store, s_clear_a_then_b, &d), JURY_OK);
    jury_txn_t *txn;
    char got[16];
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, RID(d.a, 1), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.a, 2), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.b, 1), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.b, 2), got, sizeof got), JURY_OK);
    assert_string_equal(got, "new b2");
    assert_int_equal(s_decision(txn, RID(d.b, 3), got, sizeof got), JURY_OK);
    assert_string_equal(got, "new b3");
    assert_int_equal(s_decision(txn, RID(d.a, 7), got, sizeof got), JURY_OK);
    assert_string_equal(got, "a7");
    jury_txn_abort(&txn);

    /* b's decisions now lie after a's. */
    assert_int_equal(jury_store_write(f->store, s_clear_b, &d), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, RID(d.b, 2), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.b, 3), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.a, 7), got, sizeof got), JURY_OK);
    assert_string_equal(got, "a7");
    jury_txn_abort(&txn);
}

static jury_err s_put_consolidation(jury_txn_t *txn, void *arg)
{
    const char *text = arg;
    jury_err err = jury_store_consolidation_put(txn, 1, text, strlen(text));
    return err != JURY_OK ? err : s_put_dec(txn, RID(1, 1), text);
}

static void test_consolidation_round_trip(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    assert_int_equal(ds, 1);
    jury_txn_t *txn;
    const void *blob;
    size_t len;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_consolidation_get(txn, ds, &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(jury_store_consolidation_put(txn, ds, "{}", 2), JURY_EPERM);
    jury_txn_abort(&txn);

    assert_int_equal(jury_store_write(f->store, s_put_consolidation, "{\"records\":10}"), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_consolidation_get(txn, ds, &blob, &len), JURY_OK);
    assert_int_equal(len, 14);
    assert_memory_equal(blob, "{\"records\":10}", 14);
    assert_int_equal(jury_store_consolidation_get(txn, 2, &blob, &len), JURY_ENOTFOUND);
    jury_txn_abort(&txn);

    assert_int_equal(jury_store_write(f->store, s_put_consolidation, "{}"), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_consolidation_get(txn, ds, &blob, &len), JURY_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(blob, "{}", 2);
    jury_txn_abort(&txn);
}

static jury_err s_consolidate_two(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    jury_err err;
    if ((err = s_put_dec(txn, RID(d->a, 1), "a1")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->a, 2), "a2")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 1), "b1")) != JURY_OK ||
        (err = jury_store_consolidation_put(txn, d->a, "A", 1)) != JURY_OK ||
        (err = jury_store_consolidation_put(txn, d->b, "B", 1)) != JURY_OK)
        return err;
    return JURY_OK;
}

static void test_dataset_delete_removes_consolidation(void **state)
{
    fixture_t *f = *state;
    two_ds_t d = {s_new_dataset(f->store, "a"), s_new_dataset(f->store, "b")};
    assert_int_equal(jury_store_write(f->store, s_consolidate_two, &d), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_delete_ds, "a"), JURY_OK);
    jury_txn_t *txn;
    char got[16];
    const void *blob;
    size_t len;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, RID(d.a, 1), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.a, 2), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(jury_store_consolidation_get(txn, d.a, &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.b, 1), got, sizeof got), JURY_OK);
    assert_string_equal(got, "b1");
    assert_int_equal(jury_store_consolidation_get(txn, d.b, &blob, &len), JURY_OK);
    assert_int_equal(len, 1);
    assert_memory_equal(blob, "B", 1);
    jury_txn_abort(&txn);

    /* The last dataset with decisions goes too. */
    assert_int_equal(jury_store_write(f->store, s_delete_ds, "b"), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, RID(d.b, 1), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(jury_store_consolidation_get(txn, d.b, &blob, &len), JURY_ENOTFOUND);
    jury_txn_abort(&txn);
}

typedef struct {
    uint32_t ds;
    const char *settings;
} settings_arg_t;

static jury_err s_set_settings(jury_txn_t *txn, void *arg)
{
    settings_arg_t *a = arg;
    return jury_store_dataset_set_settings(txn, a->ds, a->settings, strlen(a->settings));
}

static jury_err s_set_settings_from_itself(jury_txn_t *txn, void *arg)
{
    /* New settings borrowed from the row they replace: its inner text. */
    jury_dataset_t d;
    jury_err err = jury_store_dataset_get_id(txn, *(uint32_t *)arg, &d);
    if (err != JURY_OK)
        return err;
    return jury_store_dataset_set_settings(txn, d.id, d.settings + 1, d.settings_len - 2);
}

static void test_dataset_set_settings(void **state)
{
    fixture_t *f = *state;
    uint32_t a = s_new_dataset(f->store, "a");
    uint32_t b = s_new_dataset(f->store, "b");
    jury_txn_t *txn;
    jury_dataset_t before, ds;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_get(txn, "b", &before), JURY_OK);
    int64_t created = before.created_ms;
    jury_txn_abort(&txn);

    settings_arg_t s = {b, "{\"questions\":[{\"name\":\"q\"}],\"min_submitted\":3}"};
    assert_int_equal(jury_store_write(f->store, s_set_settings, &s), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_get_id(txn, b, &ds), JURY_OK);
    assert_int_equal(ds.id, b);
    assert_string_equal(ds.name, "b");
    assert_int_equal(ds.created_ms, created);
    assert_int_equal(ds.settings_len, strlen(s.settings));
    assert_memory_equal(ds.settings, s.settings, ds.settings_len);
    assert_int_equal(jury_store_dataset_get(txn, "b", &ds), JURY_OK);
    assert_memory_equal(ds.settings, s.settings, ds.settings_len);
    /* The other dataset is untouched. */
    assert_int_equal(jury_store_dataset_get_id(txn, a, &ds), JURY_OK);
    assert_int_equal(ds.settings_len, 7);
    assert_memory_equal(ds.settings, "{\"s\":1}", 7);
    assert_int_equal(jury_store_dataset_set_settings(txn, b, "{}", 2), JURY_EPERM);
    jury_txn_abort(&txn);

    assert_int_equal(jury_store_write(f->store, s_set_settings_from_itself, &b), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_get_id(txn, b, &ds), JURY_OK);
    assert_int_equal(ds.settings_len, strlen(s.settings) - 2);
    assert_memory_equal(ds.settings, s.settings + 1, ds.settings_len);
    jury_txn_abort(&txn);

    settings_arg_t unknown = {77, "{}"};
    assert_int_equal(jury_store_write(f->store, s_set_settings, &unknown), JURY_ENOTFOUND);
}

typedef struct {
    uint32_t ds;
    uint64_t rid;
} old_arg_t;

static jury_err s_old_store_rows(jury_txn_t *txn, void *arg)
{
    old_arg_t *a = arg;
    jury_err err = jury_store_record_put(txn, a->ds, "r", 1, "p", 1, 1, &a->rid, NULL);
    if (err == JURY_OK)
        err = s_put_dec(txn, a->rid, "decided");
    if (err == JURY_OK)
        err = jury_store_consolidation_put(txn, a->ds, "{}", 2);
    return err;
}

static void test_store_from_before_consolidation(void **state)
{
    fixture_t *f = *state;
    old_arg_t a = {s_new_dataset(f->store, "d"), 0};
    assert_int_equal(jury_store_write(f->store, s_old_store_rows, &a), JURY_OK);
    jury_store_destroy(&f->store);

    /* Remove the two tables with raw LMDB: the store an older jury wrote. */
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &raw), 0);
    assert_int_equal(mdb_dbi_open(raw, "decisions", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(raw, "consolidation", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);

    /* A reader (`jury status`) opens it and finds no consolidation. */
    jury_store_t *ro;
    jury_store_opts_t opts = {.read_only = true};
    assert_int_equal(jury_store_open(&ro, f->dir, &opts), JURY_OK);
    jury_txn_t *txn;
    char got[16];
    const void *blob;
    size_t len;
    jury_dataset_t ds;
    assert_int_equal(jury_store_read(ro, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_get(txn, "d", &ds), JURY_OK);
    assert_int_equal(jury_store_record_get(txn, a.rid, &blob, &len, NULL), JURY_OK);
    assert_int_equal(s_decision(txn, a.rid, got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(jury_store_consolidation_get(txn, a.ds, &blob, &len), JURY_ENOTFOUND);
    jury_txn_abort(&txn);
    jury_store_destroy(&ro);

    /* A writer adds the tables back, empty, and can use them. */
    assert_int_equal(jury_store_open(&f->store, f->dir, NULL), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, a.rid, got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(jury_store_consolidation_get(txn, a.ds, &blob, &len), JURY_ENOTFOUND);
    jury_txn_abort(&txn);
    assert_int_equal(jury_store_write(f->store, s_put_consolidation, "{\"n\":1}"), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, RID(1, 1), got, sizeof got), JURY_OK);
    assert_string_equal(got, "{\"n\":1}");
    jury_txn_abort(&txn);
}

typedef struct {
    uint32_t ds;
    int n;       /* decisions to write, ids 1..n */
    size_t size; /* bytes per decision */
    char fill;   /* byte each decision is filled with, after its number */
} many_dec_t;

static jury_err s_many_decisions(jury_txn_t *txn, void *arg)
{
    many_dec_t *a = arg;
    char blob[1024];
    memset(blob, a->fill, a->size);
    for (int i = 1; i <= a->n; i++) {
        int n = snprintf(blob, sizeof blob, "%d:", i);
        blob[n] = a->fill;
        jury_err err = jury_store_decision_put(txn, RID(a->ds, i), blob, a->size);
        if (err != JURY_OK)
            return err;
    }
    return JURY_OK;
}

static void s_check_many(jury_store_t *s, const many_dec_t *a)
{
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(s, &txn), JURY_OK);
    for (int i = 1; i <= a->n; i += 997) {
        const void *blob;
        size_t len;
        char want[16];
        int n = snprintf(want, sizeof want, "%d:", i);
        assert_int_equal(jury_store_decision_get(txn, RID(a->ds, i), &blob, &len), JURY_OK);
        assert_int_equal(len, a->size);
        assert_memory_equal(blob, want, (size_t)n);
        assert_int_equal(((const char *)blob)[len - 1], a->fill);
    }
    const void *blob;
    size_t len;
    assert_int_equal(jury_store_decision_get(txn, RID(a->ds, a->n + 1), &blob, &len),
                     JURY_ENOTFOUND);
    jury_txn_abort(&txn);
}

static void test_decisions_grow_the_map(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    tu_rmrf(f->dir);
    /* A 1 MiB map cannot hold 20,000 decisions of 300 bytes: the write must grow it. */
    jury_store_opts_t opts = {.create = true, .map_size = 1 << 20};
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);
    size_t before = jury_store_map_size(f->store);
    uint32_t other = s_new_dataset(f->store, "other");
    many_dec_t a = {s_new_dataset(f->store, "big"), 20000, 300, 'x'};
    assert_int_equal(jury_store_write(f->store, s_many_decisions, &a), JURY_OK);
    assert_true(jury_store_map_size(f->store) > before);
    assert_true(jury_store_used_bytes(f->store) > 20000u * 300u);
    s_check_many(f->store, &a);

    /* Rewriting them larger overwrites every key; a dataset before them puts in the middle. */
    a.size = 700;
    a.fill = 'y';
    assert_int_equal(jury_store_write(f->store, s_many_decisions, &a), JURY_OK);
    s_check_many(f->store, &a);
    many_dec_t b = {other, 5000, 500, 'z'};
    assert_int_equal(jury_store_write(f->store, s_many_decisions, &b), JURY_OK);
    s_check_many(f->store, &b);
    s_check_many(f->store, &a);
}

/* ---- annotator access ---- */

/* One write of the access tests: op names what to do with annotator `name` (ensured first). */
typedef struct {
    const char *op;           /* "role", "key", "nokey", "token", "disable", "enable", "grant",
                                 "revoke" */
    const char *name;         /* annotator */
    jury_role role;           /* role */
    const unsigned char *key; /* public key */
    uint32_t ds;              /* dataset */
    uint32_t id;              /* out: the annotator's id */
} access_arg_t;

static jury_err s_access(jury_txn_t *txn, void *arg)
{
    access_arg_t *a = arg;
    jury_err err = jury_store_annotator_ensure(txn, a->name, &a->id, NULL);
    if (err != JURY_OK)
        return err;
    if (strcmp(a->op, "role") == 0)
        return jury_store_annotator_set_role(txn, a->id, a->role);
    if (strcmp(a->op, "key") == 0)
        return jury_store_annotator_set_key(txn, a->id, a->key);
    if (strcmp(a->op, "nokey") == 0)
        return jury_store_annotator_set_key(txn, a->id, NULL);
    if (strcmp(a->op, "token") == 0)
        return jury_store_annotator_set_web_token(txn, a->id, a->key);
    if (strcmp(a->op, "disable") == 0 || strcmp(a->op, "enable") == 0)
        return jury_store_annotator_set_disabled(txn, a->id, strcmp(a->op, "disable") == 0);
    if (strcmp(a->op, "grant") == 0)
        return jury_store_grant(txn, a->id, a->ds);
    if (strcmp(a->op, "revoke") == 0)
        return jury_store_revoke(txn, a->id, a->ds);
    return JURY_OK;
}

static jury_err s_do(jury_store_t *s, const char *op, const char *name, access_arg_t a)
{
    a.op = op;
    a.name = name;
    return jury_store_write(s, s_access, &a);
}

static uint64_t s_access_version(jury_store_t *s)
{
    jury_txn_t *txn;
    uint64_t v = 99;
    assert_int_equal(jury_store_read(s, &txn), JURY_OK);
    assert_int_equal(jury_store_access_version(txn, &v), JURY_OK);
    jury_txn_abort(&txn);
    return v;
}

static void s_get_annotator(jury_store_t *s, const char *name, jury_annotator_t *out,
                            char *name_copy)
{
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(s, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_get_by_name(txn, name, out), JURY_OK);
    jury_annotator_t by_id;
    assert_int_equal(jury_store_annotator_get(txn, out->id, &by_id), JURY_OK);
    assert_string_equal(by_id.name, name);
    assert_int_equal(by_id.role, out->role);
    assert_int_equal(by_id.changed_ms, out->changed_ms);
    strcpy(name_copy, out->name);
    out->name = name_copy;
    jury_txn_abort(&txn);
}

static void test_roles_by_name(void **state)
{
    (void)state;
    const char *names[] = {"annotator", "reviewer", "admin", "gateway"};
    for (int r = 0; r < 4; r++) {
        jury_role got;
        assert_string_equal(jury_role_name((jury_role)r), names[r]);
        assert_true(jury_role_parse(names[r], &got));
        assert_int_equal(got, r);
    }
    jury_role got = JURY_ROLE_ADMIN;
    assert_null(jury_role_name((jury_role)4));
    assert_false(jury_role_parse("Admin", &got));
    assert_false(jury_role_parse("", &got));
    assert_false(jury_role_parse(NULL, &got));
    assert_int_equal(got, JURY_ROLE_ADMIN);
}

static void test_annotator_roles_and_state(void **state)
{
    fixture_t *f = *state;
    char name[JURY_STORE_NAME_MAX + 1];
    assert_int_equal(s_access_version(f->store), 0);
    /* An annotator made by an import: an enabled annotator without a key. */
    assert_int_equal(s_do(f->store, "none", "ana", (access_arg_t){0}), JURY_OK);
    jury_annotator_t a;
    s_get_annotator(f->store, "ana", &a, name);
    assert_int_equal(a.id, 1);
    assert_int_equal(a.role, JURY_ROLE_ANNOTATOR);
    assert_false(a.disabled);
    assert_false(a.has_key);
    assert_true(a.created_ms > 0);
    assert_int_equal(a.changed_ms, a.created_ms);
    assert_int_equal(s_access_version(f->store), 0);

    assert_int_equal(s_do(f->store, "role", "ana", (access_arg_t){.role = JURY_ROLE_REVIEWER}),
                     JURY_OK);
    assert_int_equal(s_access_version(f->store), 1);
    /* The same role again changes nothing. */
    assert_int_equal(s_do(f->store, "role", "ana", (access_arg_t){.role = JURY_ROLE_REVIEWER}),
                     JURY_OK);
    assert_int_equal(s_access_version(f->store), 1);
    assert_int_equal(s_do(f->store, "role", "ana", (access_arg_t){.role = (jury_role)4}),
                     JURY_EINVAL);
    assert_int_equal(s_do(f->store, "disable", "ana", (access_arg_t){0}), JURY_OK);
    assert_int_equal(s_do(f->store, "disable", "ana", (access_arg_t){0}), JURY_OK);
    assert_int_equal(s_access_version(f->store), 2);
    s_get_annotator(f->store, "ana", &a, name);
    assert_int_equal(a.role, JURY_ROLE_REVIEWER);
    assert_true(a.disabled);
    assert_true(a.changed_ms >= a.created_ms);
    assert_int_equal(s_do(f->store, "enable", "ana", (access_arg_t){0}), JURY_OK);
    assert_int_equal(s_access_version(f->store), 3);
    s_get_annotator(f->store, "ana", &a, name);
    assert_false(a.disabled);

    /* Unknown ids, and writes in a read transaction. */
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_get(txn, 2, &a), JURY_ENOTFOUND);
    assert_int_equal(jury_store_annotator_get_by_name(txn, "bob", &a), JURY_ENOTFOUND);
    assert_int_equal(jury_store_annotator_set_disabled(txn, 1, true), JURY_EPERM);
    assert_int_equal(jury_store_annotator_set_key(txn, 1, NULL), JURY_EPERM);
    assert_int_equal(jury_store_grant(txn, 1, 1), JURY_EPERM);
    jury_txn_abort(&txn);
}

static void test_annotator_keys(void **state)
{
    fixture_t *f = *state;
    unsigned char k1[32], k2[32];
    memset(k1, 0x11, sizeof k1);
    memset(k2, 0x22, sizeof k2);
    char name[JURY_STORE_NAME_MAX + 1];
    access_arg_t a = {.key = k1};
    assert_int_equal(s_do(f->store, "key", "ana", a), JURY_OK);
    assert_int_equal(s_access_version(f->store), 1);
    /* Registering the key ana has changes nothing; bob cannot have it too. */
    assert_int_equal(s_do(f->store, "key", "ana", a), JURY_OK);
    assert_int_equal(s_access_version(f->store), 1);
    assert_int_equal(s_do(f->store, "key", "bob", a), JURY_EEXIST);

    jury_annotator_t got;
    s_get_annotator(f->store, "ana", &got, name);
    assert_true(got.has_key);
    assert_memory_equal(got.public_key, k1, 32);
    jury_txn_t *txn;
    uint32_t id = 0;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_find_key(txn, k1, &id), JURY_OK);
    assert_int_equal(id, got.id);
    assert_int_equal(jury_store_annotator_find_key(txn, k2, &id), JURY_ENOTFOUND);
    jury_txn_abort(&txn);

    /* Rotation: the new key finds ana, the old one nobody. */
    a.key = k2;
    assert_int_equal(s_do(f->store, "key", "ana", a), JURY_OK);
    assert_int_equal(s_access_version(f->store), 2);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_find_key(txn, k1, &id), JURY_ENOTFOUND);
    assert_int_equal(jury_store_annotator_find_key(txn, k2, &id), JURY_OK);
    assert_int_equal(id, got.id);
    jury_txn_abort(&txn);
    /* The old key is free for someone else. */
    a.key = k1;
    assert_int_equal(s_do(f->store, "key", "bob", a), JURY_OK);

    /* Removing the key. */
    assert_int_equal(s_do(f->store, "nokey", "ana", a), JURY_OK);
    assert_int_equal(s_access_version(f->store), 4);
    assert_int_equal(s_do(f->store, "nokey", "ana", a), JURY_OK);
    assert_int_equal(s_access_version(f->store), 4);
    s_get_annotator(f->store, "ana", &got, name);
    assert_false(got.has_key);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_find_key(txn, k2, &id), JURY_ENOTFOUND);
    assert_int_equal(jury_store_annotator_find_key(txn, k1, &id), JURY_OK);
    assert_int_not_equal(id, got.id);
    jury_txn_abort(&txn);
}

static jury_err s_set_token_missing(jury_txn_t *txn, void *arg)
{
    (void)arg;
    unsigned char h[32] = {1};
    return jury_store_annotator_set_web_token(txn, 77, h);
}

/* A web token's hash rides in the annotator row, apart from the key; rows of the build before
 * web tokens (54 bytes) read as annotators without one. */
static void test_annotator_web_token(void **state)
{
    fixture_t *f = *state;
    unsigned char h1[32], h2[32], k1[32];
    memset(h1, 0xa1, sizeof h1);
    memset(h2, 0xb2, sizeof h2);
    memset(k1, 0x11, sizeof k1);
    char name[JURY_STORE_NAME_MAX + 1];
    assert_int_equal(s_do(f->store, "key", "ana", (access_arg_t){.key = k1}), JURY_OK);
    assert_int_equal(s_access_version(f->store), 1);
    jury_annotator_t got;
    s_get_annotator(f->store, "ana", &got, name);
    assert_false(got.has_web_token);

    assert_int_equal(s_do(f->store, "token", "ana", (access_arg_t){.key = h1}), JURY_OK);
    assert_int_equal(s_access_version(f->store), 2);
    s_get_annotator(f->store, "ana", &got, name);
    assert_true(got.has_web_token);
    assert_memory_equal(got.web_token_hash, h1, 32);
    assert_true(got.has_key); /* the key is untouched */
    assert_memory_equal(got.public_key, k1, 32);

    assert_int_equal(s_do(f->store, "token", "ana", (access_arg_t){.key = h2}), JURY_OK);
    assert_int_equal(s_access_version(f->store), 3);
    s_get_annotator(f->store, "ana", &got, name);
    assert_memory_equal(got.web_token_hash, h2, 32);

    /* Removing it bumps the version once; removing nothing changes nothing. */
    assert_int_equal(s_do(f->store, "token", "ana", (access_arg_t){.key = NULL}), JURY_OK);
    assert_int_equal(s_do(f->store, "token", "ana", (access_arg_t){.key = NULL}), JURY_OK);
    assert_int_equal(s_access_version(f->store), 4);
    s_get_annotator(f->store, "ana", &got, name);
    assert_false(got.has_web_token);
    assert_true(got.has_key);

    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_set_web_token(txn, 1, h1), JURY_EPERM);
    jury_txn_abort(&txn);
    assert_int_equal(jury_store_write(f->store, s_set_token_missing, NULL), JURY_ENOTFOUND);

    /* A row as the build before web tokens wrote it: 54 bytes, key but no token. */
    jury_store_destroy(&f->store);
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &raw), 0);
    assert_int_equal(mdb_dbi_open(raw, "annotators", 0, &dbi), 0);
    MDB_val key = {.mv_size = 4, .mv_data = (void *)"ana"}, val;
    assert_int_equal(mdb_get(raw, dbi, &key, &val), 0);
    assert_int_equal(val.mv_size, 86);
    unsigned char row[54];
    memcpy(row, val.mv_data, sizeof row);
    row[13] |= 4; /* a flag the old build never set must not conjure a token */
    MDB_val short_row = {sizeof row, row};
    assert_int_equal(mdb_put(raw, dbi, &key, &short_row, 0), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);
    assert_int_equal(jury_store_open(&f->store, f->dir, NULL), JURY_OK);
    s_get_annotator(f->store, "ana", &got, name);
    assert_false(got.has_web_token);
    assert_true(got.has_key);
    assert_memory_equal(got.public_key, k1, 32);
    /* Writing it again makes it a full row with the token. */
    assert_int_equal(s_do(f->store, "token", "ana", (access_arg_t){.key = h1}), JURY_OK);
    s_get_annotator(f->store, "ana", &got, name);
    assert_true(got.has_web_token);
    assert_memory_equal(got.web_token_hash, h1, 32);
}

static jury_err s_collect_ds(uint32_t ds, void *arg)
{
    uint32_t *list = arg;
    list[++list[0]] = ds;
    return JURY_OK;
}

/* Dataset ids granted to annotator id: list[0] is the count. */
static void s_grants(jury_store_t *s, uint32_t id, uint32_t list[8])
{
    memset(list, 0, 8 * sizeof list[0]);
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(s, &txn), JURY_OK);
    assert_int_equal(jury_store_grants_each(txn, id, s_collect_ds, list), JURY_OK);
    jury_txn_abort(&txn);
}

static bool s_granted(jury_store_t *s, uint32_t id, uint32_t ds)
{
    jury_txn_t *txn;
    bool g = true;
    assert_int_equal(jury_store_read(s, &txn), JURY_OK);
    assert_int_equal(jury_store_granted(txn, id, ds, &g), JURY_OK);
    jury_txn_abort(&txn);
    return g;
}

static void test_grants(void **state)
{
    fixture_t *f = *state;
    uint32_t a = s_new_dataset(f->store, "a"), b = s_new_dataset(f->store, "b");
    uint32_t c = s_new_dataset(f->store, "c");
    access_arg_t arg = {.ds = c};
    assert_int_equal(s_do(f->store, "grant", "ana", arg), JURY_OK);
    arg.ds = a;
    assert_int_equal(s_do(f->store, "grant", "ana", arg), JURY_OK);
    assert_int_equal(s_do(f->store, "grant", "ana", arg), JURY_OK);
    assert_int_equal(s_access_version(f->store), 2);
    assert_int_equal(s_do(f->store, "grant", "bob", arg), JURY_OK);
    uint32_t ana = 1, bob = 2; /* ids in order of creation */

    uint32_t list[8];
    s_grants(f->store, ana, list);
    assert_int_equal(list[0], 2);
    assert_int_equal(list[1], a);
    assert_int_equal(list[2], c);
    assert_true(s_granted(f->store, ana, a));
    assert_false(s_granted(f->store, ana, b));
    assert_true(s_granted(f->store, bob, a));

    arg.ds = a;
    assert_int_equal(s_do(f->store, "revoke", "ana", arg), JURY_OK);
    assert_int_equal(s_access_version(f->store), 4);
    assert_int_equal(s_do(f->store, "revoke", "ana", arg), JURY_OK);
    assert_int_equal(s_access_version(f->store), 4);
    assert_false(s_granted(f->store, ana, a));
    assert_true(s_granted(f->store, bob, a));
    s_grants(f->store, ana, list);
    assert_int_equal(list[0], 1);
    assert_int_equal(list[1], c);

    /* A dataset that does not exist cannot be granted. */
    arg.ds = 77;
    assert_int_equal(s_do(f->store, "grant", "ana", arg), JURY_ENOTFOUND);
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    bool g;
    assert_int_equal(jury_store_granted(txn, 9, a, &g), JURY_OK);
    assert_false(g);
    jury_txn_abort(&txn);
}

static void test_dataset_delete_removes_its_grants(void **state)
{
    fixture_t *f = *state;
    uint32_t a = s_new_dataset(f->store, "a"), b = s_new_dataset(f->store, "b");
    access_arg_t arg = {.ds = a};
    assert_int_equal(s_do(f->store, "grant", "ana", arg), JURY_OK);
    assert_int_equal(s_do(f->store, "grant", "bob", arg), JURY_OK);
    assert_int_equal(s_do(f->store, "none", "cid", arg), JURY_OK);
    arg.ds = b;
    assert_int_equal(s_do(f->store, "grant", "ana", arg), JURY_OK);
    uint64_t before = s_access_version(f->store);

    assert_int_equal(jury_store_write(f->store, s_delete_ds, "a"), JURY_OK);
    assert_true(s_access_version(f->store) > before);
    uint32_t list[8];
    s_grants(f->store, 1, list);
    assert_int_equal(list[0], 1);
    assert_int_equal(list[1], b);
    s_grants(f->store, 2, list);
    assert_int_equal(list[0], 0);
    /* A dataset created after gets a new id and no grants of the old one. */
    uint32_t a2 = s_new_dataset(f->store, "a");
    assert_int_not_equal(a2, a);
    assert_false(s_granted(f->store, 1, a2));

    /* Deleting a dataset without grants leaves the access version alone. */
    before = s_access_version(f->store);
    assert_int_equal(jury_store_write(f->store, s_delete_ds, "a"), JURY_OK);
    assert_int_equal(s_access_version(f->store), before);
}

typedef struct {
    char names[8][16]; /* names seen, in order */
    uint32_t ids[8];   /* their ids */
    int n;             /* how many */
} seen_t;

static jury_err s_collect_each(const jury_annotator_t *a, void *arg)
{
    seen_t *s = arg;
    snprintf(s->names[s->n], sizeof s->names[0], "%s", a->name);
    s->ids[s->n++] = a->id;
    return JURY_OK;
}

static void test_annotator_each_in_id_order(void **state)
{
    fixture_t *f = *state;
    const char *names[] = {"zed", "amy", "mo"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_do(f->store, "none", names[i], (access_arg_t){0}), JURY_OK);
    seen_t seen = {0};
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_each(txn, s_collect_each, &seen), JURY_OK);
    jury_txn_abort(&txn);
    assert_int_equal(seen.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(seen.names[i], names[i]);
        assert_int_equal(seen.ids[i], (uint32_t)i + 1);
    }
}

static void test_store_from_before_annotator_access(void **state)
{
    fixture_t *f = *state;
    uint32_t ds = s_new_dataset(f->store, "d");
    jury_store_destroy(&f->store);

    /* With raw LMDB, the store the first build wrote: a 12-byte annotator row (id, created_ms),
     * and neither annotator_keys nor grants. */
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &raw), 0);
    unsigned char row[12] = {0, 0, 0, 1, 0, 0, 0x01, 0x8c, 0, 0, 0, 42}, id1[4] = {0, 0, 0, 1};
    unsigned char next[4] = {0, 0, 0, 2};
    MDB_val key = {.mv_size = 4, .mv_data = (void *)"old"}, val = {sizeof row, row};
    assert_int_equal(mdb_dbi_open(raw, "annotators", 0, &dbi), 0);
    assert_int_equal(mdb_put(raw, dbi, &key, &val, 0), 0);
    assert_int_equal(mdb_dbi_open(raw, "annotator_ids", 0, &dbi), 0);
    MDB_val ikey = {4, id1};
    assert_int_equal(mdb_put(raw, dbi, &ikey, &key, 0), 0);
    assert_int_equal(mdb_dbi_open(raw, "meta", 0, &dbi), 0);
    MDB_val nkey = {14, (void *)"next_annotator"}, nval = {4, next};
    assert_int_equal(mdb_put(raw, dbi, &nkey, &nval, 0), 0);
    assert_int_equal(mdb_dbi_open(raw, "annotator_keys", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(raw, "grants", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);

    /* A reader sees an enabled annotator without key, no grants, access version 0. */
    jury_store_t *ro;
    jury_store_opts_t opts = {.read_only = true};
    assert_int_equal(jury_store_open(&ro, f->dir, &opts), JURY_OK);
    jury_txn_t *txn;
    jury_annotator_t a;
    unsigned char k[32] = {7};
    uint32_t id;
    bool g = true;
    uint64_t v = 9;
    assert_int_equal(jury_store_read(ro, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_get_by_name(txn, "old", &a), JURY_OK);
    assert_int_equal(a.id, 1);
    assert_int_equal(a.role, JURY_ROLE_ANNOTATOR);
    assert_false(a.disabled);
    assert_false(a.has_key);
    assert_int_equal(a.created_ms, 0x018c0000002aLL);
    assert_int_equal(a.changed_ms, a.created_ms);
    assert_int_equal(jury_store_annotator_find_key(txn, k, &id), JURY_ENOTFOUND);
    assert_int_equal(jury_store_granted(txn, 1, ds, &g), JURY_OK);
    assert_false(g);
    uint32_t list[8] = {0};
    assert_int_equal(jury_store_grants_each(txn, 1, s_collect_ds, list), JURY_OK);
    assert_int_equal(list[0], 0);
    assert_int_equal(jury_store_access_version(txn, &v), JURY_OK);
    assert_int_equal(v, 0);
    seen_t seen = {0};
    assert_int_equal(jury_store_annotator_each(txn, s_collect_each, &seen), JURY_OK);
    assert_int_equal(seen.n, 1);
    jury_txn_abort(&txn);
    jury_store_destroy(&ro);

    /* A writer adds the tables; the old row takes a key and a grant and keeps its id and age. */
    assert_int_equal(jury_store_open(&f->store, f->dir, NULL), JURY_OK);
    access_arg_t arg = {.key = k, .ds = ds};
    assert_int_equal(s_do(f->store, "key", "old", arg), JURY_OK);
    assert_int_equal(s_do(f->store, "grant", "old", arg), JURY_OK);
    char name[JURY_STORE_NAME_MAX + 1];
    s_get_annotator(f->store, "old", &a, name);
    assert_int_equal(a.id, 1);
    assert_true(a.has_key);
    assert_int_equal(a.created_ms, 0x018c0000002aLL);
    assert_true(a.changed_ms > a.created_ms);
    assert_true(s_granted(f->store, 1, ds));
    /* Responses still find the annotator by name. */
    assert_int_equal(s_do(f->store, "none", "old", arg), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_annotator_find(txn, "old", &id), JURY_OK);
    assert_int_equal(id, 1);
    jury_txn_abort(&txn);
}

/* ---- reviews and the review queue ---- */

/* What a walk of reviews or of the queue saw, in order. */
typedef struct {
    int n;            /* entries seen */
    uint64_t rid[8];  /* their record ids */
    char text[8][32]; /* review blobs as text (reviews) */
    unsigned why[8];  /* flags (queue) */
    int stop_after;   /* return JURY_EBUSY after this many entries (0: never) */
} walk_t;

static jury_err s_walk_review(uint64_t rid, const void *blob, size_t len, void *arg)
{
    walk_t *w = arg;
    assert_true(w->n < 8 && len < sizeof w->text[0]);
    w->rid[w->n] = rid;
    memcpy(w->text[w->n], blob, len);
    w->text[w->n][len] = '\0';
    w->n++;
    return w->stop_after && w->n == w->stop_after ? JURY_EBUSY : JURY_OK;
}

static jury_err s_walk_queue(uint64_t rid, unsigned why, void *arg)
{
    walk_t *w = arg;
    assert_true(w->n < 8);
    w->rid[w->n] = rid;
    w->why[w->n] = why;
    w->n++;
    return w->stop_after && w->n == w->stop_after ? JURY_EBUSY : JURY_OK;
}

static jury_err s_put_rev(jury_txn_t *txn, uint64_t rid, const char *text)
{
    return jury_store_review_put(txn, rid, text, strlen(text));
}

static void s_review_text(jury_txn_t *txn, uint64_t rid, const char *want)
{
    const void *blob;
    size_t len;
    assert_int_equal(jury_store_review_get(txn, rid, &blob, &len), JURY_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(blob, want, len);
}

static jury_err s_reviews_two(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    jury_err err;
    /* Out of order, with b's rows after a's and a replacement of a's first. */
    if ((err = s_put_rev(txn, RID(d->a, 3), "a3")) != JURY_OK ||
        (err = s_put_rev(txn, RID(d->b, 1), "b1")) != JURY_OK ||
        (err = s_put_rev(txn, RID(d->a, 1), "a1")) != JURY_OK ||
        (err = s_put_rev(txn, RID(d->a, 2), "a2")) != JURY_OK ||
        (err = s_put_rev(txn, RID(d->a, 1), "a1, reviewed again")) != JURY_OK)
        return err;
    assert_int_equal(jury_store_review_put(txn, RID(d->a, 4), NULL, 1), JURY_EINVAL);
    return JURY_OK;
}

static void test_reviews_put_get_each(void **state)
{
    fixture_t *f = *state;
    two_ds_t d = {s_new_dataset(f->store, "a"), s_new_dataset(f->store, "b")};
    assert_int_equal(jury_store_write(f->store, s_reviews_two, &d), JURY_OK);

    jury_txn_t *txn;
    const void *blob;
    size_t len;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    s_review_text(txn, RID(d.a, 1), "a1, reviewed again");
    s_review_text(txn, RID(d.a, 2), "a2");
    s_review_text(txn, RID(d.a, 3), "a3");
    s_review_text(txn, RID(d.b, 1), "b1");
    assert_int_equal(jury_store_review_get(txn, RID(d.a, 4), &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(jury_store_review_get(txn, RID(d.b, 2), &blob, &len), JURY_ENOTFOUND);

    /* Each walks one dataset in record id order. */
    walk_t w = {0};
    assert_int_equal(jury_store_review_each(txn, d.a, s_walk_review, &w), JURY_OK);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.rid[0], RID(d.a, 1));
    assert_string_equal(w.text[0], "a1, reviewed again");
    assert_int_equal(w.rid[1], RID(d.a, 2));
    assert_string_equal(w.text[1], "a2");
    assert_int_equal(w.rid[2], RID(d.a, 3));
    assert_string_equal(w.text[2], "a3");
    memset(&w, 0, sizeof w);
    assert_int_equal(jury_store_review_each(txn, d.b, s_walk_review, &w), JURY_OK);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.rid[0], RID(d.b, 1));
    assert_string_equal(w.text[0], "b1");
    memset(&w, 0, sizeof w);
    assert_int_equal(jury_store_review_each(txn, 99, s_walk_review, &w), JURY_OK);
    assert_int_equal(w.n, 0);
    /* fn's error stops the walk and comes back. */
    walk_t stop = {.stop_after = 2};
    assert_int_equal(jury_store_review_each(txn, d.a, s_walk_review, &stop), JURY_EBUSY);
    assert_int_equal(stop.n, 2);
    /* Writing needs a write transaction. */
    assert_int_equal(s_put_rev(txn, RID(d.a, 9), "x"), JURY_EPERM);
    jury_txn_abort(&txn);
}

static jury_err s_queue_two(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    jury_err err;
    if ((err = jury_store_review_queue_set(txn, RID(d->b, 1), JURY_REVIEW_REJECTED)) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, RID(d->a, 5), JURY_REVIEW_CONTESTED)) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, RID(d->a, 1), JURY_REVIEW_CONTESTED)) != JURY_OK ||
        (err = jury_store_review_queue_set(
             txn, RID(d->a, 2), JURY_REVIEW_CONTESTED | JURY_REVIEW_REJECTED)) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, RID(d->a, 7), JURY_REVIEW_CONTESTED)) != JURY_OK ||
        /* Replacing the flags, taking one out, and taking out one never queued. */
        (err = jury_store_review_queue_set(txn, RID(d->a, 2), JURY_REVIEW_REJECTED)) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, RID(d->a, 5), 0)) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, RID(d->a, 9), 0)) != JURY_OK)
        return err;
    assert_int_equal(jury_store_review_queue_set(txn, RID(d->a, 3), 0x100), JURY_EINVAL);
    return JURY_OK;
}

static void test_review_queue(void **state)
{
    fixture_t *f = *state;
    two_ds_t d = {s_new_dataset(f->store, "a"), s_new_dataset(f->store, "b")};
    assert_int_equal(jury_store_write(f->store, s_queue_two, &d), JURY_OK);

    jury_txn_t *txn;
    unsigned why = 77;
    uint64_t n = 77;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_review_queue_get(txn, RID(d.a, 1), &why), JURY_OK);
    assert_int_equal(why, JURY_REVIEW_CONTESTED);
    assert_int_equal(jury_store_review_queue_get(txn, RID(d.a, 2), &why), JURY_OK);
    assert_int_equal(why, JURY_REVIEW_REJECTED);
    assert_int_equal(jury_store_review_queue_get(txn, RID(d.a, 5), &why), JURY_OK);
    assert_int_equal(why, 0);
    why = 77;
    assert_int_equal(jury_store_review_queue_get(txn, RID(d.a, 9), &why), JURY_OK);
    assert_int_equal(why, 0);
    assert_int_equal(jury_store_review_queue_get(txn, RID(d.b, 1), &why), JURY_OK);
    assert_int_equal(why, JURY_REVIEW_REJECTED);

    walk_t w = {0};
    assert_int_equal(jury_store_review_queue_each(txn, d.a, 0, s_walk_queue, &w), JURY_OK);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.rid[0], RID(d.a, 1));
    assert_int_equal(w.why[0], JURY_REVIEW_CONTESTED);
    assert_int_equal(w.rid[1], RID(d.a, 2));
    assert_int_equal(w.why[1], JURY_REVIEW_REJECTED);
    assert_int_equal(w.rid[2], RID(d.a, 7));
    assert_int_equal(w.why[2], JURY_REVIEW_CONTESTED);
    /* after_rid resumes past a record, queued or not. */
    memset(&w, 0, sizeof w);
    assert_int_equal(jury_store_review_queue_each(txn, d.a, RID(d.a, 1), s_walk_queue, &w),
                     JURY_OK);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.rid[0], RID(d.a, 2));
    assert_int_equal(w.rid[1], RID(d.a, 7));
    memset(&w, 0, sizeof w);
    assert_int_equal(jury_store_review_queue_each(txn, d.a, RID(d.a, 3), s_walk_queue, &w),
                     JURY_OK);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.rid[0], RID(d.a, 7));
    memset(&w, 0, sizeof w);
    assert_int_equal(jury_store_review_queue_each(txn, d.a, RID(d.a, 7), s_walk_queue, &w),
                     JURY_OK);
    assert_int_equal(w.n, 0);
    /* A record id of an earlier dataset as after_rid walks all of b; b's walk stops at its end. */
    memset(&w, 0, sizeof w);
    assert_int_equal(jury_store_review_queue_each(txn, d.b, RID(d.a, 7), s_walk_queue, &w),
                     JURY_OK);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.rid[0], RID(d.b, 1));
    assert_int_equal(w.why[0], JURY_REVIEW_REJECTED);
    walk_t stop = {.stop_after = 1};
    assert_int_equal(jury_store_review_queue_each(txn, d.a, 0, s_walk_queue, &stop), JURY_EBUSY);
    assert_int_equal(stop.n, 1);

    assert_int_equal(jury_store_review_queue_count(txn, d.a, &n), JURY_OK);
    assert_int_equal(n, 3);
    assert_int_equal(jury_store_review_queue_count(txn, d.b, &n), JURY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(jury_store_review_queue_count(txn, 99, &n), JURY_OK);
    assert_int_equal(n, 0);
    assert_int_equal(jury_store_review_queue_set(txn, RID(d.a, 3), JURY_REVIEW_CONTESTED),
                     JURY_EPERM);
    jury_txn_abort(&txn);
}

static jury_err s_review_everything(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    jury_err err;
    if ((err = s_put_dec(txn, RID(d->a, 1), "dec a1")) != JURY_OK ||
        (err = s_put_dec(txn, RID(d->b, 1), "dec b1")) != JURY_OK ||
        (err = s_put_rev(txn, RID(d->a, 1), "rev a1")) != JURY_OK ||
        (err = s_put_rev(txn, RID(d->b, 1), "rev b1")) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, RID(d->a, 2), JURY_REVIEW_CONTESTED)) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, RID(d->b, 2), JURY_REVIEW_REJECTED)) != JURY_OK)
        return err;
    return JURY_OK;
}

static jury_err s_clear_both(jury_txn_t *txn, void *arg)
{
    two_ds_t *d = arg;
    jury_err err = jury_store_decision_clear(txn, d->a);
    return err != JURY_OK ? err : jury_store_decision_clear(txn, d->b);
}

static void test_reviews_outlive_decisions_not_datasets(void **state)
{
    fixture_t *f = *state;
    two_ds_t d = {s_new_dataset(f->store, "a"), s_new_dataset(f->store, "b")};
    assert_int_equal(jury_store_write(f->store, s_review_everything, &d), JURY_OK);
    /* A new consolidation clears the decisions; what reviewers decided and what waits for them
     * stays. */
    assert_int_equal(jury_store_write(f->store, s_clear_both, &d), JURY_OK);
    jury_txn_t *txn;
    char got[16];
    unsigned why;
    uint64_t n;
    const void *blob;
    size_t len;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(s_decision(txn, RID(d.a, 1), got, sizeof got), JURY_ENOTFOUND);
    assert_int_equal(s_decision(txn, RID(d.b, 1), got, sizeof got), JURY_ENOTFOUND);
    s_review_text(txn, RID(d.a, 1), "rev a1");
    s_review_text(txn, RID(d.b, 1), "rev b1");
    assert_int_equal(jury_store_review_queue_get(txn, RID(d.a, 2), &why), JURY_OK);
    assert_int_equal(why, JURY_REVIEW_CONTESTED);
    jury_txn_abort(&txn);

    /* Deleting a takes its reviews and queue; b keeps its own. */
    assert_int_equal(jury_store_write(f->store, s_delete_ds, "a"), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_review_get(txn, RID(d.a, 1), &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(jury_store_review_queue_get(txn, RID(d.a, 2), &why), JURY_OK);
    assert_int_equal(why, 0);
    assert_int_equal(jury_store_review_queue_count(txn, d.a, &n), JURY_OK);
    assert_int_equal(n, 0);
    s_review_text(txn, RID(d.b, 1), "rev b1");
    assert_int_equal(jury_store_review_queue_count(txn, d.b, &n), JURY_OK);
    assert_int_equal(n, 1);
    jury_txn_abort(&txn);

    assert_int_equal(jury_store_write(f->store, s_delete_ds, "b"), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_review_get(txn, RID(d.b, 1), &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(jury_store_review_queue_count(txn, d.b, &n), JURY_OK);
    assert_int_equal(n, 0);
    jury_txn_abort(&txn);
}

static jury_err s_review_one(jury_txn_t *txn, void *arg)
{
    old_arg_t *a = arg;
    jury_err err = jury_store_record_put(txn, a->ds, "r", 1, "p", 1, 1, &a->rid, NULL);
    if (err == JURY_OK)
        err = s_put_rev(txn, a->rid, "reviewed");
    if (err == JURY_OK)
        err = jury_store_review_queue_set(txn, a->rid, JURY_REVIEW_CONTESTED);
    return err;
}

static void test_store_from_before_reviews(void **state)
{
    fixture_t *f = *state;
    old_arg_t a = {s_new_dataset(f->store, "d"), 0};
    assert_int_equal(jury_store_write(f->store, s_review_one, &a), JURY_OK);
    jury_store_destroy(&f->store);

    /* Remove the two tables with raw LMDB: the store an older jury wrote. */
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &raw), 0);
    assert_int_equal(mdb_dbi_open(raw, "reviews", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(raw, "review_queue", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);

    /* A reader opens it and finds no reviews and an empty queue. */
    jury_store_t *ro;
    jury_store_opts_t opts = {.read_only = true};
    assert_int_equal(jury_store_open(&ro, f->dir, &opts), JURY_OK);
    jury_txn_t *txn;
    const void *blob;
    size_t len;
    unsigned why = 77;
    uint64_t n = 77;
    walk_t w = {0};
    assert_int_equal(jury_store_read(ro, &txn), JURY_OK);
    assert_int_equal(jury_store_record_get(txn, a.rid, &blob, &len, NULL), JURY_OK);
    assert_int_equal(jury_store_review_get(txn, a.rid, &blob, &len), JURY_ENOTFOUND);
    assert_int_equal(jury_store_review_each(txn, a.ds, s_walk_review, &w), JURY_OK);
    assert_int_equal(jury_store_review_queue_get(txn, a.rid, &why), JURY_OK);
    assert_int_equal(why, 0);
    assert_int_equal(jury_store_review_queue_each(txn, a.ds, 0, s_walk_queue, &w), JURY_OK);
    assert_int_equal(w.n, 0);
    assert_int_equal(jury_store_review_queue_count(txn, a.ds, &n), JURY_OK);
    assert_int_equal(n, 0);
    jury_txn_abort(&txn);
    jury_store_destroy(&ro);

    /* A writer adds the tables back, empty, and can use them. */
    assert_int_equal(jury_store_open(&f->store, f->dir, NULL), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_review_get(txn, a.rid, &blob, &len), JURY_ENOTFOUND);
    jury_txn_abort(&txn);
    assert_int_equal(jury_store_write(f->store, s_review_one, &a), JURY_OK);
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    s_review_text(txn, a.rid, "reviewed");
    assert_int_equal(jury_store_review_queue_count(txn, a.ds, &n), JURY_OK);
    assert_int_equal(n, 1);
    jury_txn_abort(&txn);
}

/* ---- backup, schema versions and the consistency check ---- */

/* The fixture's temporary directory (the store's parent), where backups go. */
static void s_base(const fixture_t *f, char *out, size_t cap)
{
    snprintf(out, cap, "%s", f->dir);
    *strrchr(out, '/') = '\0';
}

/* Raw LMDB on a closed store, to write what jury never would. */
typedef struct {
    MDB_env *env; /* the store's environment, opened without jury */
    MDB_txn *txn; /* one write transaction on it */
} raw_t;

static void s_raw_begin(raw_t *r, const char *dir)
{
    assert_int_equal(mdb_env_create(&r->env), 0);
    mdb_env_set_maxdbs(r->env, 32);
    assert_int_equal(mdb_env_open(r->env, dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
}

static void s_raw_put(raw_t *r, const char *table, const void *k, size_t kl, const void *v,
                      size_t vl)
{
    MDB_dbi dbi;
    MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
    assert_int_equal(mdb_dbi_open(r->txn, table, 0, &dbi), 0);
    assert_int_equal(mdb_put(r->txn, dbi, &key, &val, 0), 0);
}

static void s_raw_del(raw_t *r, const char *table, const void *k, size_t kl)
{
    MDB_dbi dbi;
    MDB_val key = {kl, (void *)k};
    assert_int_equal(mdb_dbi_open(r->txn, table, 0, &dbi), 0);
    assert_int_equal(mdb_del(r->txn, dbi, &key, NULL), 0);
}

/* Copies the value of key in table into out (cap bytes); returns its length. */
static size_t s_raw_get(raw_t *r, const char *table, const void *k, size_t kl, void *out,
                        size_t cap)
{
    MDB_dbi dbi;
    MDB_val key = {kl, (void *)k}, val;
    assert_int_equal(mdb_dbi_open(r->txn, table, 0, &dbi), 0);
    assert_int_equal(mdb_get(r->txn, dbi, &key, &val), 0);
    assert_true(val.mv_size <= cap);
    memcpy(out, val.mv_data, val.mv_size);
    return val.mv_size;
}

static void s_raw_commit(raw_t *r)
{
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

static void s_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void s_be64(unsigned char *p, uint64_t v)
{
    s_be32(p, (uint32_t)(v >> 32));
    s_be32(p + 4, (uint32_t)v);
}

/*
 * A small campaign in dataset "c" (id 1), target 2, annotators ana (id 1) and bob (id 2):
 *   r1 ana, bob submitted: completed, reviewed   r2 ana submitted: pending
 *   r3 ana discarded (max_discards 1): set aside  r4 bob draft: pending
 *   r5 gold, ana submitted                       r6 target raised to 3, contested, queued
 */
static jury_err s_campaign(jury_txn_t *txn, void *arg)
{
    (void)arg;
    uint32_t ds, ana, bob;
    uint64_t rid[7];
    jury_err err;
    if ((err = jury_store_dataset_create(txn, "c", "{}", 2, &ds)) != JURY_OK ||
        (err = jury_store_annotator_ensure(txn, "ana", &ana, NULL)) != JURY_OK ||
        (err = jury_store_annotator_ensure(txn, "bob", &bob, NULL)) != JURY_OK)
        return err;
    for (int i = 1; i <= 6; i++) {
        char ext[4] = {'r', (char)('0' + i), 0};
        if ((err = jury_store_record_put(txn, ds, ext, 2, "{}", 2, 2, &rid[i], NULL)) != JURY_OK)
            return err;
    }
    if ((err = jury_store_response_put(txn, rid[1], ana, JURY_RESPONSE_SUBMITTED, "a", 1, 1, 0,
                                       NULL)) != JURY_OK ||
        (err = jury_store_response_put(txn, rid[1], bob, JURY_RESPONSE_SUBMITTED, "b", 1, 1, 0,
                                       NULL)) != JURY_OK ||
        (err = jury_store_response_put(txn, rid[2], ana, JURY_RESPONSE_SUBMITTED, "a", 1, 1, 0,
                                       NULL)) != JURY_OK ||
        (err = jury_store_response_put(txn, rid[3], ana, JURY_RESPONSE_DISCARDED, "", 0, 1, 1,
                                       NULL)) != JURY_OK ||
        (err = jury_store_response_put(txn, rid[4], bob, JURY_RESPONSE_DRAFT, "d", 1, 1, 0,
                                       NULL)) != JURY_OK ||
        (err = jury_store_record_mark_gold(txn, rid[5])) != JURY_OK ||
        (err = jury_store_response_put(txn, rid[5], ana, JURY_RESPONSE_SUBMITTED, "g", 1, 1, 0,
                                       NULL)) != JURY_OK ||
        (err = jury_store_record_set_target(txn, rid[6], 3, true, NULL)) != JURY_OK ||
        (err = s_put_rev(txn, rid[1], "reviewed")) != JURY_OK ||
        (err = jury_store_review_queue_set(txn, rid[6], JURY_REVIEW_CONTESTED)) != JURY_OK)
        return err;
    return JURY_OK;
}

/* The problem lines a check reported. */
typedef struct {
    int n;              /* lines */
    char line[16][200]; /* the first 16 */
} reports_t;

static void s_collect_report(const char *problem, void *arg)
{
    reports_t *r = arg;
    if (r->n < 16)
        snprintf(r->line[r->n], sizeof r->line[0], "%s", problem);
    r->n++;
}

static jury_store_check_t s_check(jury_store_t *s, const char *name, uint64_t max,
                                  reports_t *reports)
{
    jury_txn_t *txn;
    jury_dataset_t d;
    jury_store_check_t out;
    memset(reports, 0, sizeof *reports);
    assert_int_equal(jury_store_read(s, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_get(txn, name, &d), JURY_OK);
    assert_int_equal(jury_store_check(txn, d.id, max, s_collect_report, reports, &out), JURY_OK);
    jury_txn_abort(&txn);
    return out;
}

static void test_check_a_sound_dataset(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(jury_store_write(f->store, s_campaign, NULL), JURY_OK);
    reports_t rep;
    jury_store_check_t r = s_check(f->store, "c", 0, &rep);
    assert_int_equal(rep.n, 0);
    assert_int_equal(r.problems, 0);
    assert_int_equal(r.records, 6);
    assert_int_equal(r.gold, 1);
    assert_int_equal(r.responses, 6);
    jury_counts_t c;
    s_counts(f->store, 1, &c);
    assert_int_equal(c.records, 5);
    assert_int_equal(c.completed, 1);
    assert_int_equal(c.discarded, 1);
    assert_int_equal(c.contested, 1);
    assert_int_equal(c.gold, 1);

    /* An empty dataset is sound too; an unknown one is not found. */
    s_new_dataset(f->store, "empty");
    r = s_check(f->store, "empty", 0, &rep);
    assert_int_equal(r.problems + r.records + r.responses + (uint64_t)rep.n, 0);
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_check(txn, 77, 0, NULL, NULL, &r), JURY_ENOTFOUND);
    jury_txn_abort(&txn);
}

static jury_err s_lower_target(jury_txn_t *txn, void *arg)
{
    (void)arg;
    /* r1 has 2 submitted responses; nothing in jury lowers a target, but the store lets it. */
    return jury_store_record_set_target(txn, RID(1, 1), 1, false, NULL);
}

static void test_check_more_submitted_than_target(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(jury_store_write(f->store, s_campaign, NULL), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_lower_target, NULL), JURY_OK);
    reports_t rep;
    jury_store_check_t r = s_check(f->store, "c", 0, &rep);
    assert_int_equal(r.problems, 1);
    assert_int_equal(rep.n, 1);
    assert_string_equal(rep.line[0],
                        "record \"r1\": 2 submitted responses, more than its target 1");
}

static void test_check_reports_damage(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(jury_store_write(f->store, s_campaign, NULL), JURY_OK);
    jury_store_destroy(&f->store);

    raw_t raw;
    unsigned char k[16], v[128];
    s_raw_begin(&raw, f->dir);
    /* The dataset row of counters: 7 records instead of 5. */
    s_be32(k, 1), s_be32(k + 4, 0);
    size_t n = s_raw_get(&raw, "counters", k, 8, v, sizeof v);
    s_be64(v, 7);
    s_raw_put(&raw, "counters", k, 8, v, n);
    /* bob's row: 5 submitted instead of 1. */
    s_be32(k + 4, 2);
    n = s_raw_get(&raw, "counters", k, 8, v, sizeof v);
    s_be64(v + 16, 5);
    s_raw_put(&raw, "counters", k, 8, v, n);
    /* r1 pending though complete; r2 counting 2 submitted responses where it has 1. */
    s_be64(k, RID(1, 1));
    n = s_raw_get(&raw, "rstate", k, 8, v, sizeof v);
    v[0] = JURY_RECORD_PENDING;
    s_raw_put(&raw, "rstate", k, 8, v, n);
    s_be64(k, RID(1, 2));
    n = s_raw_get(&raw, "rstate", k, 8, v, sizeof v);
    s_be32(v + 5, 2);
    s_raw_put(&raw, "rstate", k, 8, v, n);
    /* r4 loses its index entry; "ghost" names a record that never was. */
    s_be32(k, 1), memcpy(k + 4, "r4", 2);
    s_raw_del(&raw, "extids", k, 6);
    memcpy(k + 4, "ghost", 5);
    s_be64(v, RID(1, 50));
    s_raw_put(&raw, "extids", k, 9, v, 8);
    /* ana's response to record #40, which does not exist. */
    s_be64(k, RID(1, 40)), s_be32(k + 8, 1);
    memset(v, 0, 9);
    s_raw_put(&raw, "responses", k, 12, v, 9);
    /* #60 waits for a reviewer but does not exist. */
    s_be64(k, RID(1, 60));
    v[0] = JURY_REVIEW_CONTESTED;
    s_raw_put(&raw, "review_queue", k, 8, v, 1);
    s_raw_commit(&raw);

    jury_store_opts_t ro = {.read_only = true};
    assert_int_equal(jury_store_open(&f->store, f->dir, &ro), JURY_OK);
    reports_t rep;
    jury_store_check_t r = s_check(f->store, "c", 0, &rep);
    static const char *const want[] = {
        "external id \"ghost\": names record #50, which does not exist",
        "record \"r1\": status pending, but its 2 submitted responses reach its target 2",
        "record \"r2\": its state counts 2 submitted responses; it has 1",
        "record #4: no external id names it in the index",
        "response of annotator \"ana\" to record #40, which does not exist",
        "dataset counters: 7 records; the records say 5",
        "dataset counters: 1 completed records; the records say 0",
        "annotator \"bob\": counters say 5 submitted responses; the responses say 1",
        "record #60: in the review queue, but the record does not exist",
    };
    int nwant = (int)(sizeof want / sizeof want[0]);
    for (int i = 0; i < rep.n && i < nwant; i++)
        assert_string_equal(rep.line[i], want[i]);
    assert_int_equal(rep.n, nwant);
    assert_int_equal(r.problems, nwant);
    assert_int_equal(r.records, 6);
    assert_int_equal(r.responses, 7);

    /* A cap reports the first lines and still counts every problem. */
    r = s_check(f->store, "c", 3, &rep);
    assert_int_equal(rep.n, 3);
    assert_string_equal(rep.line[2], want[2]);
    assert_int_equal(r.problems, nwant);
}

static void s_no_leftovers(const char *base)
{
    DIR *d = opendir(base);
    assert_non_null(d);
    const struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-"))
            fail_msg("backup left %s/%s behind", base, e->d_name);
    closedir(d);
}

static off_t s_file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_backup_is_a_compact_consistent_copy(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(jury_store_write(f->store, s_campaign, NULL), JURY_OK);
    /* A dataset written and deleted again leaves free pages behind in the store's file. */
    bulk_arg_t big = {s_new_dataset(f->store, "big"), 500};
    assert_int_equal(jury_store_write(f->store, s_bulk, &big), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_delete_ds, "big"), JURY_OK);

    char base[256], bk[300], path[320], why[512] = "x";
    s_base(f, base, sizeof base);
    snprintf(bk, sizeof bk, "%s/bk", base);
    assert_int_equal(jury_store_backup(f->store, bk, false, why, sizeof why), JURY_OK);
    assert_string_equal(why, "");
    struct stat st;
    assert_int_equal(stat(bk, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/data.mdb", bk);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Compacted: the 2 MB of the deleted dataset are not copied. */
    char orig[320];
    snprintf(orig, sizeof orig, "%s/data.mdb", f->dir);
    assert_true(s_file_size(orig) > 2000000);
    assert_true(s_file_size(path) < 200000);
    s_no_leftovers(base);

    /* The copy opens as a store and holds what the original holds. */
    jury_store_t *copy;
    jury_store_opts_t ro = {.read_only = true};
    assert_int_equal(jury_store_open(&copy, bk, &ro), JURY_OK);
    reports_t rep;
    jury_store_check_t r = s_check(copy, "c", 0, &rep);
    assert_int_equal(r.problems, 0);
    assert_int_equal(r.records, 6);
    assert_int_equal(r.responses, 6);
    jury_counts_t c;
    s_counts(copy, 1, &c);
    assert_int_equal(c.records, 5);
    assert_int_equal(c.completed, 1);
    jury_txn_t *txn;
    jury_dataset_t d;
    unsigned why_q;
    assert_int_equal(jury_store_read(copy, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_get(txn, "big", &d), JURY_ENOTFOUND);
    s_review_text(txn, RID(1, 1), "reviewed");
    assert_int_equal(jury_store_review_queue_get(txn, RID(1, 6), &why_q), JURY_OK);
    assert_int_equal(why_q, JURY_REVIEW_CONTESTED);
    jury_txn_abort(&txn);
    jury_store_destroy(&copy);
}

static jury_err s_one_more(jury_txn_t *txn, void *arg)
{
    (void)arg;
    return jury_store_record_put(txn, 1, "r7", 2, "{}", 2, 2, NULL, NULL);
}

static void test_backup_refuses_and_replaces(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(jury_store_write(f->store, s_campaign, NULL), JURY_OK);
    char base[256], p[300], want[600], why[512];
    s_base(f, base, sizeof base);

    /* An existing backup is refused without --force, replaced with it. */
    snprintf(p, sizeof p, "%s/bk", base);
    assert_int_equal(jury_store_backup(f->store, p, false, why, sizeof why), JURY_OK);
    assert_int_equal(jury_store_backup(f->store, p, false, why, sizeof why), JURY_EEXIST);
    snprintf(want, sizeof want, "%s exists already; --force replaces it", p);
    assert_string_equal(why, want);
    assert_int_equal(jury_store_write(f->store, s_one_more, NULL), JURY_OK);
    /* A trailing slash names the same directory. */
    snprintf(p, sizeof p, "%s/bk/", base);
    assert_int_equal(jury_store_backup(f->store, p, true, why, sizeof why), JURY_OK);
    jury_store_t *copy;
    jury_store_opts_t ro = {.read_only = true};
    assert_int_equal(jury_store_open(&copy, p, &ro), JURY_OK);
    jury_counts_t c;
    s_counts(copy, 1, &c);
    assert_int_equal(c.records, 6);
    jury_store_destroy(&copy);

    /* A file, and an empty directory, are replaced with --force. */
    snprintf(p, sizeof p, "%s/file", base);
    tu_write_file(p, "x", 1);
    assert_int_equal(jury_store_backup(f->store, p, false, why, sizeof why), JURY_EEXIST);
    assert_int_equal(jury_store_backup(f->store, p, true, why, sizeof why), JURY_OK);
    snprintf(p, sizeof p, "%s/file/data.mdb", base);
    assert_true(s_file_size(p) > 0);
    snprintf(p, sizeof p, "%s/empty", base);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(jury_store_backup(f->store, p, true, why, sizeof why), JURY_OK);

    /* A directory of other files is never replaced, nor the store or what holds it. */
    snprintf(p, sizeof p, "%s/other", base);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(want, sizeof want, "%s/other/keep.txt", base);
    tu_write_file(want, "keep", 4);
    assert_int_equal(jury_store_backup(f->store, p, true, why, sizeof why), JURY_EINVAL);
    snprintf(want, sizeof want,
             "%s is a directory of other files, not a backup (no data.mdb): not replacing it, "
             "even with --force",
             p);
    assert_string_equal(why, want);
    snprintf(p, sizeof p, "%s/other/keep.txt", base);
    assert_int_equal(s_file_size(p), 4);
    assert_int_equal(jury_store_backup(f->store, f->dir, true, why, sizeof why), JURY_EINVAL);
    snprintf(want, sizeof want, "%s holds the store %s itself: back it up elsewhere", f->dir,
             f->dir);
    assert_string_equal(why, want);
    assert_int_equal(jury_store_backup(f->store, base, true, why, sizeof why), JURY_EINVAL);
    snprintf(p, sizeof p, "%s/data.mdb", f->dir);
    assert_int_equal(jury_store_backup(f->store, p, true, why, sizeof why), JURY_EINVAL);
    snprintf(want, sizeof want, "%s is the store's own data.mdb: back it up elsewhere", p);
    assert_string_equal(why, want);
    s_counts(f->store, 1, &c);
    assert_int_equal(c.records, 6);

    /* Missing parents are not made; bad names are refused. */
    snprintf(p, sizeof p, "%s/no/such", base);
    assert_int_equal(jury_store_backup(f->store, p, false, why, sizeof why), JURY_ENOTFOUND);
    snprintf(want, sizeof want, "%s: directory %s/no does not exist", p, base);
    assert_string_equal(why, want);
    assert_int_equal(jury_store_backup(f->store, "", false, why, sizeof why), JURY_EINVAL);
    snprintf(p, sizeof p, "%s/..", base);
    assert_int_equal(jury_store_backup(f->store, p, true, why, sizeof why), JURY_EINVAL);
    assert_int_equal(jury_store_backup(f->store, "/", true, NULL, 0), JURY_EINVAL);
    s_no_leftovers(base);
}

static jury_err s_live_one(jury_txn_t *txn, void *arg)
{
    int *i = arg;
    char ext[32];
    int n = snprintf(ext, sizeof ext, "w%d", *i);
    uint64_t rid;
    uint32_t w;
    jury_err err;
    if ((err = jury_store_record_put(txn, 1, ext, (size_t)n, "{}", 2, 1, &rid, NULL)) != JURY_OK ||
        (err = jury_store_annotator_ensure(txn, "w", &w, NULL)) != JURY_OK)
        return err;
    return jury_store_response_put(txn, rid, w, JURY_RESPONSE_SUBMITTED, "v", 1, 1, 0, NULL);
}

static void test_backup_while_another_process_writes(void **state)
{
    fixture_t *f = *state;
    enum { WRITES = 400 };
    s_new_dataset(f->store, "live");
    jury_store_destroy(&f->store);
    pid_t pid = fork();
    if (pid == 0) {
        /* The writer, as `jury serve` would be: one transaction per record and its response. */
        jury_store_t *w;
        if (jury_store_open(&w, f->dir, NULL) != JURY_OK)
            _exit(2);
        for (int i = 0; i < WRITES; i++)
            if (jury_store_write(w, s_live_one, &i) != JURY_OK)
                _exit(3);
        jury_store_destroy(&w);
        _exit(0);
    }
    assert_true(pid > 0);
    jury_store_opts_t ro = {.read_only = true};
    assert_int_equal(jury_store_open(&f->store, f->dir, &ro), JURY_OK);
    char base[256], bk[300], why[512];
    s_base(f, base, sizeof base);
    snprintf(bk, sizeof bk, "%s/bk", base);
    int status = -1, rounds = 0;
    bool done = false;
    while (!done || rounds < 3) {
        done = done || waitpid(pid, &status, WNOHANG) == pid;
        assert_int_equal(jury_store_backup(f->store, bk, true, why, sizeof why), JURY_OK);
        /* Every copy is one committed state: each record with its response, counters agreeing. */
        jury_store_t *copy;
        assert_int_equal(jury_store_open(&copy, bk, &ro), JURY_OK);
        reports_t rep;
        jury_store_check_t r = s_check(copy, "live", 0, &rep);
        assert_int_equal(r.problems, 0);
        assert_int_equal(r.responses, r.records);
        jury_counts_t c;
        s_counts(copy, 1, &c);
        assert_int_equal(c.records, r.records);
        assert_int_equal(c.completed, r.records);
        jury_store_destroy(&copy);
        if (done && rounds >= 2)
            assert_int_equal(r.records, WRITES); /* taken after the writer finished */
        rounds++;
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    s_no_leftovers(base);
}

/* Runs jury_store_open on dir with stderr going to a file; returns its result and what it
 * logged in log (cap bytes). */
static jury_err s_open_logged(const char *dir, bool read_only, char *log, size_t cap)
{
    char path[300];
    snprintf(path, sizeof path, "%s.log", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    jury_store_t *s = NULL;
    jury_store_opts_t opts = {.read_only = read_only};
    jury_err err = jury_store_open(&s, dir, &opts);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    jury_store_destroy(&s);
    char *text = tu_read_file(path, NULL);
    snprintf(log, cap, "%s", text ? text : "");
    free(text);
    remove(path);
    return err;
}

static void test_newer_schema_is_refused(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(jury_store_write(f->store, s_campaign, NULL), JURY_OK);
    char base[256], copy[300], log[1024], want[600];
    s_base(f, base, sizeof base);
    snprintf(copy, sizeof copy, "%s/copy", base);
    assert_int_equal(jury_store_backup(f->store, copy, false, NULL, 0), JURY_OK);
    uint32_t version = 0;
    assert_int_equal(jury_store_schema_of(copy, &version), JURY_OK);
    assert_int_equal(version, JURY_STORE_SCHEMA);

    /* The copy as a later jury would leave it: schema 2, and without a table we know. */
    raw_t raw;
    s_raw_begin(&raw, copy);
    unsigned char v[4];
    s_be32(v, JURY_STORE_SCHEMA + 1);
    s_raw_put(&raw, "meta", "schema_version", 14, v, 4);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(raw.txn, "reviews", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw.txn, dbi, 1), 0);
    s_raw_commit(&raw);

    snprintf(want, sizeof want,
             "jury: error: store %s was written by a newer jury (store schema 2; this jury reads "
             "1): upgrade jury\n",
             copy);
    assert_int_equal(s_open_logged(copy, false, log, sizeof log), JURY_EVERSION);
    assert_string_equal(log, want);
    assert_int_equal(s_open_logged(copy, true, log, sizeof log), JURY_EVERSION);
    assert_string_equal(log, want);
    assert_int_equal(jury_store_schema_of(copy, &version), JURY_OK);
    assert_int_equal(version, 2);
    /* The refused writer added nothing: the table it would have made is still missing. */
    s_raw_begin(&raw, copy);
    assert_int_equal(mdb_dbi_open(raw.txn, "reviews", 0, &dbi), MDB_NOTFOUND);
    s_raw_commit(&raw);

    /* A schema older than any jury wrote is refused too, with another message. */
    s_raw_begin(&raw, copy);
    s_be32(v, 0);
    s_raw_put(&raw, "meta", "schema_version", 14, v, 4);
    s_raw_commit(&raw);
    assert_int_equal(s_open_logged(copy, true, log, sizeof log), JURY_EVERSION);
    snprintf(want, sizeof want,
             "jury: error: store %s has store schema 0, which this jury (store schema 1) does not "
             "read\n",
             copy);
    assert_string_equal(log, want);

    /* The original is untouched; schema_of of no store is not found. */
    assert_int_equal(jury_store_schema_of(f->dir, &version), JURY_OK);
    assert_int_equal(version, 1);
    snprintf(copy, sizeof copy, "%s/none", base);
    assert_int_equal(jury_store_schema_of(copy, &version), JURY_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_requires_create, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dataset_lifecycle, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_record_upsert_keeps_responses, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_responses_complete_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_response_walks_in_any_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_annotator_counts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dataset_delete_removes_only_its_rows, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_full_map_grows_and_retries, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_map_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_is_retryable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_version_mismatch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reader_sees_snapshot_while_writer_runs, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_discards_set_records_aside, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_records_of_an_older_dataset_after_a_newer_one, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agreement_state_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_directory, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decisions_in_and_out_of_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decision_clear_keeps_other_datasets, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_consolidation_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dataset_delete_removes_consolidation, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_dataset_set_settings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_from_before_consolidation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decisions_grow_the_map, s_setup, s_teardown),
        cmocka_unit_test(test_roles_by_name),
        cmocka_unit_test_setup_teardown(test_annotator_roles_and_state, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_annotator_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_annotator_web_token, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_record_set_target, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_gold_and_pauses, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_grants, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dataset_delete_removes_its_grants, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_annotator_each_in_id_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_from_before_annotator_access, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reviews_put_get_each, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_review_queue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reviews_outlive_decisions_not_datasets, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_store_from_before_reviews, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_a_sound_dataset, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_more_submitted_than_target, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_reports_damage, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_backup_is_a_compact_consistent_copy, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_backup_refuses_and_replaces, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_backup_while_another_process_writes, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
