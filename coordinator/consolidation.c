/* consolidation.c: `jury consolidate` over the store: one walk over a read snapshot decides every
 * record whose outcome needs nothing dataset-wide, then the few that do (ties that only annotator
 * reliability breaks, Dawid-Skene, weighted votes) are revisited; decisions written in batches. */
#include "consolidation.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "agreement.h"
#include "consolidate.h"
#include "decision.h"
#include "jury_log.h"
#include "review.h"

/* Longest reason text of a rejection. */
#define S_REASON_MAX 512

/* Most submitted answers one record may have (the store allows one per annotator). */
#define S_ANSWERS_MAX 4096

/* Answers per record handled without allocating. */
#define S_STACK_ANSWERS 16

/* Decisions per write transaction when opts->batch is 0. */
#define S_BATCH_DEFAULT 65536

/* Attempts of a whole run when the map fills while the snapshot is open (each reserves more). */
#define S_ATTEMPTS 4

/* Reasons of rejections (static, so that they group). Question names are added in quotes. */
#define S_REASON_SET_ASIDE "set aside: discarded by annotators before it was completed"

/* Per-question state of a run. */
typedef struct {
    const char *name;           /* borrowed from the settings */
    size_t name_len;            /* strlen(name) */
    jury_question_type type;    /* its type */
    jury_method method;         /* the method of this run */
    bool global;                /* the method needs every record first (dawid_skene, weighted,
                                   best_annotator): each record is decided on the revisit */
    const char *const *options; /* labels, ranking values or span labels; borrowed */
    size_t noptions;            /* entries at options */
    const double *rvalues;      /* rating values ascending; borrowed */
    size_t nrvalues;            /* entries at rvalues */
    /* global label questions: answers with unit = completed-record ordinal */
    jury_rating_t *ratings;
    size_t nratings, capratings;
    uint32_t *suggestion;  /* weighted: per unit the suggestion's index or JURY_CONSOLIDATE_NONE */
    size_t capsuggestion;  /* entries allocated at suggestion */
    jury_choice_t *choice; /* per unit: the dataset-wide result */
    /* multi_label_selection with dawid_skene: one two-class problem per label */
    jury_rating_t **bin; /* noptions arrays: value 1 when the answer holds the label */
    size_t *nbin, *capbin;
    uint8_t *bin_in; /* nunits x noptions: the label is in the unified set */
    /* reliability per coder: label and rating from equal pairs, the others from mean agreement */
    uint64_t *pair_n, *pair_eq; /* label, rating: pairs with another answer, and equal ones */
    size_t cappair;
    double *rel_sum; /* text, ranking, span: sum of per-record mean agreement */
    uint32_t *rel_n; /* records counted in rel_sum */
    size_t caprel;
    double *rel; /* ncoders entries; -1 when unknown */
    /* weighted and dawid_skene label questions: each coder's gold answers to the question */
    uint64_t *gold_answered, *gold_correct; /* ncoders entries each; NULL for other questions */
    /* the current record: per answer its mean similarity to the others, and their mean */
    double *cur_means;
    size_t capcur;
    bool cur_valid;
    double cur_record;
} q_t;

/* A completed record decided on the revisit. */
typedef struct {
    uint64_t rid;       /* record id */
    uint32_t unit;      /* completed-record ordinal */
    uint32_t submitted; /* its submitted responses */
} revisit_t;

/* One submitted response of the current record. */
typedef struct {
    msgpack_object values; /* {question: value} */
    uint32_t coder;        /* dense annotator index */
} resp_t;

/* One decision waiting in the batch buffer. */
typedef struct {
    uint64_t rid;            /* record id */
    size_t off;              /* offset in the batch buffer */
    size_t len;              /* bytes */
    uint32_t submitted;      /* its submitted responses */
    jury_decision_kind kind; /* what consolidation decided */
    cJSON *reason;           /* its rejection's entry in run_t.reasons, or NULL */
    /* set by the write that stores it */
    bool reviewed;            /* a reviewer's decision was stored instead */
    jury_decision_kind rkind; /* the reviewer's decision */
    size_t rreason;           /* its rejection group in run_t.rtext, or SIZE_MAX */
} pending_t;

/* The state of one run. */
typedef struct {
    jury_store_t *store;
    jury_txn_t *snap; /* the read snapshot both passes walk */
    const jury_settings_t *s;
    const char *dsname;
    uint32_t ds;
    const jury_consolidation_opts_t *opts;
    q_t *q; /* one per question, in settings order */
    size_t nq;
    bool any_global; /* a question is global: every completed record is revisited */
    bool final;      /* the revisit: reliabilities and dataset-wide results are known */
    /* annotators */
    uint32_t *coder_of; /* annotator id -> coder + 1 (0: not seen) */
    size_t ncoder_of;
    uint32_t *annotator; /* coder -> annotator id */
    size_t capannotator;
    uint32_t ncoders;
    /* completed records */
    uint32_t nunits;
    revisit_t *revisit; /* decided after the walk */
    size_t nrevisit, caprevisit;
    /* progress */
    uint64_t total, done;
    int pass;
    /* the current record */
    msgpack_zone zone;          /* its payload and its responses */
    uint64_t rid;               /* its id */
    bool payload;               /* its payload has been read (sugg is valid) */
    const msgpack_object *sugg; /* its suggestions map, or NULL */
    resp_t *resp;
    size_t nresp, capresp;
    msgpack_sbuffer packed;      /* unified values being packed */
    jury_decision_item_t *items; /* nq */
    size_t *item_off;            /* nq: offset of each packed value, SIZE_MAX for none */
    uint32_t *scratch;           /* category indices, label sets, ranks */
    size_t capscratch;
    /* pass 2 output */
    msgpack_sbuffer batch;
    pending_t *pend;
    size_t npend, cappend;
    uint64_t counts[3]; /* by jury_decision_kind */
    uint64_t reviewed;  /* records decided by reviewers */
    cJSON *reasons;     /* {reason: records} */
    /* reviews met by the batch writes */
    msgpack_zone rzone;    /* a review and the decision it replaces */
    msgpack_sbuffer rbuf;  /* the decision a review makes */
    msgpack_sbuffer rtext; /* NUL-terminated rejection groups of the batch's reviewed records */
    char *err;
    size_t errlen;
} run_t;

static void s_errf(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_errf(run_t *r, const char *fmt, ...)
{
    if (!r->err || r->errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
}

/* Grows *p (*cap elements of size bytes) to hold at least need elements. */
static jury_err s_reserve(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return JURY_OK;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / size)
        return JURY_ENOMEM;
    void *q = realloc(*p, n * size);
    if (!q)
        return JURY_ENOMEM;
    *p = q;
    *cap = n;
    return JURY_OK;
}

static bool s_str_is(const msgpack_object *o, const char *s, size_t n)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/* The value at key (len bytes) of map o, or NULL; a nil value counts as absent. */
static const msgpack_object *s_get(const msgpack_object *o, const char *key, size_t len)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++)
        if (s_str_is(&o->via.map.ptr[i].key, key, len))
            return o->via.map.ptr[i].val.type == MSGPACK_OBJECT_NIL ? NULL : &o->via.map.ptr[i].val;
    return NULL;
}

/* Index of string o among the question's options, or -1. */
static long s_option(const q_t *q, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return -1;
    for (size_t i = 0; i < q->noptions; i++)
        if (strncmp(q->options[i], o->via.str.ptr, o->via.str.size) == 0 &&
            q->options[i][o->via.str.size] == '\0')
            return (long)i;
    return -1;
}

/* The category index of a label or rating answer, or -1. */
static long s_category(const q_t *q, const msgpack_object *o)
{
    if (q->type != JURY_QUESTION_RATING)
        return s_option(q, o);
    double v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        v = (double)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = (double)o->via.i64;
    else
        return -1;
    for (size_t i = 0; i < q->nrvalues; i++)
        if (q->rvalues[i] == v)
            return (long)i;
    return -1;
}

static int s_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A multi-label answer as sorted unique label indices in buf (noptions entries). */
static bool s_labelset(const q_t *q, const msgpack_object *o, uint32_t *buf, jury_labelset_t *out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > q->noptions)
        return false;
    size_t n = 0;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        long l = s_option(q, &o->via.array.ptr[i]);
        if (l < 0)
            return false;
        buf[n++] = (uint32_t)l;
    }
    if (n > 1)
        qsort(buf, n, sizeof *buf, s_u32_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || buf[w - 1] != buf[i])
            buf[w++] = buf[i];
    *out = (jury_labelset_t){buf, w};
    return true;
}

/* A ranking answer as a rank per item in rank (noptions entries); the items of a tie group share
 * their group's position. False unless it ranks every value exactly once. */
static bool s_ranks(const q_t *q, const msgpack_object *o, uint32_t *rank)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (size_t i = 0; i < q->noptions; i++)
        rank[i] = UINT32_MAX;
    size_t seen = 0;
    for (uint32_t pos = 0; pos < o->via.array.size; pos++) {
        const msgpack_object *it = &o->via.array.ptr[pos];
        bool group = it->type == MSGPACK_OBJECT_ARRAY;
        uint32_t ng = group ? it->via.array.size : 1;
        for (uint32_t g = 0; g < ng; g++) {
            long l = s_option(q, group ? &it->via.array.ptr[g] : it);
            if (l < 0 || rank[l] != UINT32_MAX)
                return false;
            rank[l] = pos;
            seen++;
        }
    }
    return seen == q->noptions;
}

/* A span answer [{"start", "end", "label"}] into spans (cap entries). */
static bool s_spans(const q_t *q, const msgpack_object *o, jury_span_t *spans, size_t cap,
                    size_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > cap)
        return false;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *sp = &o->via.array.ptr[i];
        const msgpack_object *st = s_get(sp, "start", 5), *en = s_get(sp, "end", 3),
                             *lb = s_get(sp, "label", 5);
        if (!st || !en || !lb || st->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            en->type != MSGPACK_OBJECT_POSITIVE_INTEGER || st->via.u64 > UINT32_MAX ||
            en->via.u64 > UINT32_MAX)
            return false;
        long l = s_option(q, lb);
        if (l < 0)
            return false;
        spans[i] = (jury_span_t){(uint32_t)st->via.u64, (uint32_t)en->via.u64, (uint32_t)l};
    }
    *n = o->via.array.size;
    return true;
}

/* ---- the current record ------------------------------------------------------------------ */

static jury_err s_coder(run_t *r, uint32_t annotator, uint32_t *out)
{
    jury_err err;
    if (annotator >= r->ncoder_of) {
        size_t old = r->ncoder_of;
        if ((err = s_reserve((void **)&r->coder_of, &r->ncoder_of, (size_t)annotator + 1,
                             sizeof *r->coder_of)) != JURY_OK)
            return err;
        memset(r->coder_of + old, 0, (r->ncoder_of - old) * sizeof *r->coder_of);
    }
    if (r->coder_of[annotator] == 0) {
        if ((err = s_reserve((void **)&r->annotator, &r->capannotator, (size_t)r->ncoders + 1,
                             sizeof *r->annotator)) != JURY_OK)
            return err;
        r->annotator[r->ncoders] = annotator;
        r->coder_of[annotator] = ++r->ncoders;
    }
    *out = r->coder_of[annotator] - 1;
    return JURY_OK;
}

static jury_err s_collect(const jury_response_t *resp, void *arg)
{
    run_t *r = arg;
    if (resp->status != JURY_RESPONSE_SUBMITTED)
        return JURY_OK;
    if (r->nresp >= S_ANSWERS_MAX)
        return JURY_ETOOBIG;
    jury_err err = s_reserve((void **)&r->resp, &r->capresp, r->nresp + 1, sizeof *r->resp);
    if (err != JURY_OK)
        return err;
    resp_t *p = &r->resp[r->nresp];
    if (msgpack_unpack(resp->values, resp->values_len, NULL, &r->zone, &p->values) !=
            MSGPACK_UNPACK_SUCCESS ||
        p->values.type != MSGPACK_OBJECT_MAP)
        return JURY_ECORRUPT;
    if ((err = s_coder(r, resp->annotator, &p->coder)) != JURY_OK)
        return err;
    r->nresp++;
    return JURY_OK;
}

/* Loads record rid's submitted responses; its payload is read only when a suggestion is needed. */
static jury_err s_load(run_t *r, uint64_t rid)
{
    msgpack_zone_clear(&r->zone);
    r->nresp = 0;
    r->rid = rid;
    r->payload = false;
    r->sugg = NULL;
    for (size_t i = 0; i < r->nq; i++)
        r->q[i].cur_valid = false;
    return jury_store_response_each(r->snap, rid, s_collect, r);
}

/* The suggestion value of question q for the current record into *out (NULL when none), reading
 * the record's payload the first time. */
static jury_err s_suggestion(run_t *r, const q_t *q, const msgpack_object **out)
{
    if (!r->payload) {
        const void *payload;
        size_t len;
        msgpack_object rec;
        jury_err err = jury_store_record_get(r->snap, r->rid, &payload, &len, NULL);
        if (err != JURY_OK)
            return err;
        if (msgpack_unpack(payload, len, NULL, &r->zone, &rec) != MSGPACK_UNPACK_SUCCESS)
            return JURY_ECORRUPT;
        r->sugg = s_get(&rec, "suggestions", 11);
        r->payload = true;
    }
    const msgpack_object *sg = s_get(r->sugg, q->name, q->name_len);
    *out = s_get(sg, "value", 5);
    return JURY_OK;
}

/* Makes r->scratch hold at least n entries. */
static jury_err s_scratch(run_t *r, size_t n)
{
    return s_reserve((void **)&r->scratch, &r->capscratch, n, sizeof *r->scratch);
}

static jury_err s_corrupt(run_t *r, uint64_t rid, const q_t *q)
{
    s_errf(r, "record %llu: a stored answer to \"%s\" does not fit the dataset's settings",
           (unsigned long long)rid, q->name);
    return JURY_ECORRUPT;
}

/* Adds mean agreement `mean` of coder to q's reliability sums. */
static jury_err s_rel_add(q_t *q, uint32_t coder, double mean)
{
    size_t old = q->caprel;
    if (coder >= old) {
        size_t cap = old, cap2 = old;
        jury_err err;
        if ((err = s_reserve((void **)&q->rel_sum, &cap, (size_t)coder + 1, sizeof *q->rel_sum)) !=
                JURY_OK ||
            (err = s_reserve((void **)&q->rel_n, &cap2, (size_t)coder + 1, sizeof *q->rel_n)) !=
                JURY_OK)
            return err;
        if (cap != cap2)
            return JURY_ENOMEM;
        memset(q->rel_sum + old, 0, (cap - old) * sizeof *q->rel_sum);
        memset(q->rel_n + old, 0, (cap - old) * sizeof *q->rel_n);
        q->caprel = cap;
    }
    q->rel_sum[coder] += mean;
    q->rel_n[coder]++;
    return JURY_OK;
}

/* ---- per-record similarity of the structured types ------------------------------------------
 */

/* The answers of the current record to a ranking, multi-label or span question, decoded into
 * r->scratch: per answer a slice. */
typedef struct {
    size_t m; /* answers */
    uint32_t coder[S_ANSWERS_MAX];
    jury_ranking_t rank[S_ANSWERS_MAX];
    jury_labelset_t set[S_ANSWERS_MAX];
    const jury_span_t *span[S_ANSWERS_MAX];
    size_t nspan[S_ANSWERS_MAX];
    jury_text_t text[S_ANSWERS_MAX];
} answers_t;

/* Decodes the current record's answers to q into a (slices of r->scratch). */
static jury_err s_answers(run_t *r, uint64_t rid, const q_t *q, answers_t *a)
{
    a->m = 0;
    size_t need = 0;
    for (size_t i = 0; i < r->nresp; i++) {
        const msgpack_object *v = s_get(&r->resp[i].values, q->name, q->name_len);
        if (!v)
            continue;
        if (q->type == JURY_QUESTION_SPAN)
            need += (v->type == MSGPACK_OBJECT_ARRAY ? v->via.array.size : 0) *
                    (sizeof(jury_span_t) / sizeof(uint32_t));
        else
            need += q->noptions;
    }
    jury_err err = s_scratch(r, need + 1);
    if (err != JURY_OK)
        return err;
    size_t at = 0;
    for (size_t i = 0; i < r->nresp; i++) {
        const msgpack_object *v = s_get(&r->resp[i].values, q->name, q->name_len);
        if (!v)
            continue;
        size_t k = a->m;
        a->coder[k] = r->resp[i].coder;
        uint32_t *buf = r->scratch + at;
        switch (q->type) {
        case JURY_QUESTION_TEXT:
            if (v->type != MSGPACK_OBJECT_STR)
                return s_corrupt(r, rid, q);
            a->text[k] = (jury_text_t){v->via.str.ptr, v->via.str.size};
            break;
        case JURY_QUESTION_MULTI_LABEL_SELECTION:
            if (!s_labelset(q, v, buf, &a->set[k]))
                return s_corrupt(r, rid, q);
            at += q->noptions;
            break;
        case JURY_QUESTION_RANKING:
            if (!s_ranks(q, v, buf))
                return s_corrupt(r, rid, q);
            a->rank[k] = (jury_ranking_t){buf, q->noptions};
            at += q->noptions;
            break;
        case JURY_QUESTION_SPAN: {
            size_t n = 0, cap = v->type == MSGPACK_OBJECT_ARRAY ? v->via.array.size : 0;
            /* jury_span_t is three uint32_t: the scratch array holds it without padding. */
            jury_span_t *sp = (jury_span_t *)(void *)buf;
            if (!s_spans(q, v, sp, cap, &n))
                return s_corrupt(r, rid, q);
            a->span[k] = sp;
            a->nspan[k] = n;
            at += n * (sizeof(jury_span_t) / sizeof(uint32_t));
            break;
        }
        default:
            return JURY_EINVAL;
        }
        a->m++;
    }
    return JURY_OK;
}

/* Similarity (1 - distance, or F1) of answers i and j of a. */
static jury_err s_similarity(const q_t *q, const answers_t *a, size_t i, size_t j, double *out)
{
    switch (q->type) {
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
        *out = 1.0 - jury_distance_masi(&a->set[i], &a->set[j]);
        return JURY_OK;
    case JURY_QUESTION_RANKING:
        *out = 1.0 - jury_distance_kendall_tau(&a->rank[i], &a->rank[j]);
        return JURY_OK;
    case JURY_QUESTION_SPAN: {
        jury_measure_t f1;
        jury_err err = jury_span_f1(a->span[i], a->nspan[i], a->span[j], a->nspan[j], &f1);
        *out = f1.ok ? f1.value : 0.0;
        return err;
    }
    default:
        return JURY_EINVAL;
    }
}

/* Per answer, its mean similarity to the other answers (means: a->m entries); the record's mean
 * pairwise similarity in *record. Needs m >= 2. */
static jury_err s_pairwise(const q_t *q, const answers_t *a, double *means, double *record)
{
    for (size_t i = 0; i < a->m; i++)
        means[i] = 0;
    double sum = 0;
    for (size_t i = 0; i < a->m; i++)
        for (size_t j = i + 1; j < a->m; j++) {
            double sim;
            jury_err err = s_similarity(q, a, i, j, &sim);
            if (err != JURY_OK)
                return err;
            means[i] += sim;
            means[j] += sim;
            sum += sim;
        }
    for (size_t i = 0; i < a->m; i++)
        means[i] /= (double)(a->m - 1);
    *record = sum / ((double)a->m * (double)(a->m - 1) / 2.0);
    return JURY_OK;
}

/* ---- reliability ------------------------------------------------------------------------- */

static void s_progress(run_t *r)
{
    r->done++;
    if (r->opts->progress && (r->done % 4096 == 0 || r->done == r->total))
        r->opts->progress(r->pass, r->done, r->total, r->opts->progress_arg);
}

/* Counts a pair of answers by coder (equal or not) for label and rating reliability. */
static jury_err s_pair_add(q_t *q, uint32_t coder, bool equal)
{
    size_t old = q->cappair;
    if (coder >= old) {
        size_t cap = old, cap2 = old;
        jury_err err;
        if ((err = s_reserve((void **)&q->pair_n, &cap, (size_t)coder + 1, sizeof *q->pair_n)) !=
                JURY_OK ||
            (err = s_reserve((void **)&q->pair_eq, &cap2, (size_t)coder + 1, sizeof *q->pair_eq)) !=
                JURY_OK)
            return err;
        if (cap != cap2)
            return JURY_ENOMEM;
        memset(q->pair_n + old, 0, (cap - old) * sizeof *q->pair_n);
        memset(q->pair_eq + old, 0, (cap - old) * sizeof *q->pair_eq);
        q->cappair = cap;
    }
    q->pair_n[coder]++;
    q->pair_eq[coder] += equal;
    return JURY_OK;
}

/* The current record's answers to a label or rating question as category indices in
 * r->scratch, their coders in a->coder; the count in *m. */
static jury_err s_categories(run_t *r, uint64_t rid, const q_t *q, answers_t *a, size_t *m)
{
    jury_err err = s_scratch(r, r->nresp + 1);
    if (err != JURY_OK)
        return err;
    size_t n = 0;
    for (size_t i = 0; i < r->nresp; i++) {
        const msgpack_object *v = s_get(&r->resp[i].values, q->name, q->name_len);
        if (!v)
            continue;
        long c = s_category(q, v);
        if (c < 0)
            return s_corrupt(r, rid, q);
        a->coder[n] = r->resp[i].coder;
        r->scratch[n++] = (uint32_t)c;
    }
    *m = n;
    return JURY_OK;
}

/* The current record's text answers to q in a->text (coders in a->coder). */
static jury_err s_texts(run_t *r, uint64_t rid, const q_t *q, answers_t *a)
{
    size_t m = 0;
    for (size_t i = 0; i < r->nresp; i++) {
        const msgpack_object *v = s_get(&r->resp[i].values, q->name, q->name_len);
        if (!v)
            continue;
        if (v->type != MSGPACK_OBJECT_STR)
            return s_corrupt(r, rid, q);
        a->text[m] = (jury_text_t){v->via.str.ptr, v->via.str.size};
        a->coder[m++] = r->resp[i].coder;
    }
    a->m = m;
    return JURY_OK;
}

/* Makes q->cur_means hold m entries. */
static jury_err s_cur(q_t *q, size_t m)
{
    return s_reserve((void **)&q->cur_means, &q->capcur, m + 1, sizeof *q->cur_means);
}

/*
 * The walk's part for one question of a completed record: feeds the annotators' reliability
 * (label, rating: equal pairs; text, ranking, span: mean agreement with the others), keeps the
 * answers of global questions for their dataset-wide fit, and computes the similarities that
 * unifying the record needs (kept in q->cur_means and q->cur_record for s_unify).
 */
static jury_err s_accumulate(run_t *r, uint64_t rid, q_t *q, uint32_t unit, answers_t *a)
{
    jury_err err;
    switch (q->type) {
    case JURY_QUESTION_LABEL_SELECTION:
    case JURY_QUESTION_RATING: {
        size_t m;
        if ((err = s_categories(r, rid, q, a, &m)) != JURY_OK)
            return err;
        for (size_t i = 0; i < m; i++)
            for (size_t j = i + 1; j < m; j++) {
                bool eq = r->scratch[i] == r->scratch[j];
                if ((err = s_pair_add(q, a->coder[i], eq)) != JURY_OK ||
                    (err = s_pair_add(q, a->coder[j], eq)) != JURY_OK)
                    return err;
            }
        if (!q->global)
            return JURY_OK;
        if (q->method == JURY_METHOD_WEIGHTED) {
            if ((err = s_reserve((void **)&q->suggestion, &q->capsuggestion, (size_t)unit + 1,
                                 sizeof *q->suggestion)) != JURY_OK)
                return err;
            const msgpack_object *sg;
            if ((err = s_suggestion(r, q, &sg)) != JURY_OK)
                return err;
            long c = sg ? s_category(q, sg) : -1;
            q->suggestion[unit] = c < 0 ? JURY_CONSOLIDATE_NONE : (uint32_t)c;
        }
        if ((err = s_reserve((void **)&q->ratings, &q->capratings, q->nratings + m,
                             sizeof *q->ratings)) != JURY_OK)
            return err;
        for (size_t i = 0; i < m; i++)
            q->ratings[q->nratings++] = (jury_rating_t){unit, a->coder[i], r->scratch[i]};
        return JURY_OK;
    }
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
        if (q->method != JURY_METHOD_DAWID_SKENE)
            return JURY_OK;
        if ((err = s_answers(r, rid, q, a)) != JURY_OK)
            return err;
        for (size_t i = 0; i < a->m; i++) {
            size_t at = 0;
            for (size_t l = 0; l < q->noptions; l++) {
                bool in = at < a->set[i].n && a->set[i].labels[at] == l;
                at += in;
                if ((err = s_reserve((void **)&q->bin[l], &q->capbin[l], q->nbin[l] + 1,
                                     sizeof **q->bin)) != JURY_OK)
                    return err;
                q->bin[l][q->nbin[l]++] = (jury_rating_t){unit, a->coder[i], in};
            }
        }
        return JURY_OK;
    case JURY_QUESTION_TEXT:
        if ((err = s_texts(r, rid, q, a)) != JURY_OK || (err = s_cur(q, a->m)) != JURY_OK)
            return err;
        if (a->m > 0 &&
            (err = jury_consolidate_text_similarity(a->text, a->m, q->cur_means)) != JURY_OK)
            return err;
        q->cur_record = 0;
        for (size_t i = 0; i < a->m; i++)
            q->cur_record += q->cur_means[i] / (double)a->m;
        break;
    case JURY_QUESTION_RANKING:
    case JURY_QUESTION_SPAN:
        if ((err = s_answers(r, rid, q, a)) != JURY_OK || (err = s_cur(q, a->m)) != JURY_OK)
            return err;
        if (a->m >= 2 && (err = s_pairwise(q, a, q->cur_means, &q->cur_record)) != JURY_OK)
            return err;
        break;
    default:
        return JURY_OK;
    }
    q->cur_valid = true;
    if (a->m >= 2)
        for (size_t i = 0; i < a->m; i++)
            if ((err = s_rel_add(q, a->coder[i], q->cur_means[i])) != JURY_OK)
                return err;
    return JURY_OK;
}

/* ---- between the walk and the revisit: reliability and dataset-wide methods --------------- */

static jury_rating_method_t s_rating_method(jury_method m)
{
    switch (m) {
    case JURY_METHOD_MEDIAN:
        return JURY_RATING_MEDIAN;
    case JURY_METHOD_MAJORITY:
        return JURY_RATING_MAJORITY;
    case JURY_METHOD_MIN:
        return JURY_RATING_MIN;
    case JURY_METHOD_MAX:
        return JURY_RATING_MAX;
    default:
        return JURY_RATING_MEAN;
    }
}

/* Whether question q's method takes each annotator's gold accuracy (consolidate.h). */
static bool s_uses_gold(const q_t *q)
{
    return q->type == JURY_QUESTION_LABEL_SELECTION &&
           (q->method == JURY_METHOD_WEIGHTED || q->method == JURY_METHOD_DAWID_SKENE);
}

static jury_err s_gold_row(uint32_t annotator, const char *question, uint64_t answered,
                           uint64_t correct, void *arg)
{
    run_t *r = arg;
    /* Annotators without a response to a completed record take no part in the fits. */
    if (annotator >= r->ncoder_of || r->coder_of[annotator] == 0)
        return JURY_OK;
    uint32_t c = r->coder_of[annotator] - 1;
    if (correct > answered) {
        s_errf(r, "gold answers of annotator %u on \"%s\": %llu right of %llu", annotator, question,
               (unsigned long long)correct, (unsigned long long)answered);
        return JURY_ECORRUPT;
    }
    for (size_t i = 0; i < r->nq; i++) {
        q_t *q = &r->q[i];
        if (q->gold_answered && strcmp(q->name, question) == 0) {
            q->gold_answered[c] = answered;
            q->gold_correct[c] = correct;
        }
    }
    return JURY_OK;
}

/* Reads the dataset's gold answers into the questions whose method uses them (after the walk,
 * which numbers the coders). */
static jury_err s_gold_read(run_t *r)
{
    uint32_t nc = r->ncoders ? r->ncoders : 1;
    bool any = false;
    for (size_t i = 0; i < r->nq; i++) {
        q_t *q = &r->q[i];
        if (!s_uses_gold(q))
            continue;
        q->gold_answered = calloc(nc, sizeof *q->gold_answered);
        q->gold_correct = calloc(nc, sizeof *q->gold_correct);
        if (!q->gold_answered || !q->gold_correct)
            return JURY_ENOMEM;
        any = true;
    }
    return any ? jury_store_gold_each(r->snap, r->ds, s_gold_row, r) : JURY_OK;
}

static jury_err s_fit(run_t *r, q_t *q)
{
    jury_err err = JURY_OK;
    uint32_t nc = r->ncoders ? r->ncoders : 1, nu = r->nunits ? r->nunits : 1;
    q->rel = malloc(nc * sizeof *q->rel);
    if (!q->rel)
        return JURY_ENOMEM;
    for (uint32_t c = 0; c < nc; c++) {
        if (q->type == JURY_QUESTION_LABEL_SELECTION || q->type == JURY_QUESTION_RATING)
            q->rel[c] = c < q->cappair && q->pair_n[c]
                            ? (double)q->pair_eq[c] / (double)q->pair_n[c]
                            : -1.0;
        else
            q->rel[c] = c < q->caprel && q->rel_n[c] ? q->rel_sum[c] / q->rel_n[c] : -1.0;
    }
    if (!q->global)
        return JURY_OK;
    if (q->type == JURY_QUESTION_MULTI_LABEL_SELECTION) {
        if (!(q->bin_in = calloc((size_t)nu * q->noptions, 1)))
            return JURY_ENOMEM;
        for (size_t l = 0; l < q->noptions && err == JURY_OK; l++) {
            jury_ds_result_t *ds = NULL;
            err = jury_consolidate_dawid_skene(q->bin[l], q->nbin[l], nu, nc, 2, NULL, &ds);
            for (uint32_t u = 0; err == JURY_OK && u < r->nunits; u++)
                q->bin_in[(size_t)u * q->noptions + l] = ds->choice[u].ok && ds->choice[u].value;
            jury_ds_result_destroy(&ds);
        }
        return err;
    }
    if (q->type != JURY_QUESTION_LABEL_SELECTION)
        return JURY_OK;
    uint32_t k = (uint32_t)q->noptions;
    if (!(q->choice = calloc(nu, sizeof *q->choice)))
        return JURY_ENOMEM;
    if (q->method == JURY_METHOD_WEIGHTED) {
        if ((err = s_reserve((void **)&q->suggestion, &q->capsuggestion, nu,
                             sizeof *q->suggestion)) != JURY_OK)
            return err;
        if (r->nunits == 0)
            q->suggestion[0] = JURY_CONSOLIDATE_NONE;
        jury_tiebreak_t tb = {q->suggestion, q->rel};
        double *w = malloc(nc * sizeof *w);
        if (!w)
            return JURY_ENOMEM;
        jury_gold_t gold = {q->gold_answered, q->gold_correct};
        err = jury_consolidate_weighted_gold(q->ratings, q->nratings, nu, nc, k, &tb, &gold,
                                             q->choice, w);
        if (err == JURY_OK)
            memcpy(q->rel, w, nc * sizeof *w);
        free(w);
        return err;
    }
    jury_ds_result_t *ds = NULL;
    jury_gold_t gold = {q->gold_answered, q->gold_correct};
    jury_ds_opts_t dso = {.gold = &gold};
    if ((err = jury_consolidate_dawid_skene(q->ratings, q->nratings, nu, nc, k, &dso, &ds)) !=
        JURY_OK)
        return err;
    memcpy(q->choice, ds->choice, nu * sizeof *q->choice);
    for (uint32_t c = 0; c < nc; c++)
        q->rel[c] = ds->accuracy[c].ok ? ds->accuracy[c].value : -1.0;
    jury_ds_result_destroy(&ds);
    return JURY_OK;
}

/* ---- unifying one record -------------------------------------------------------------------- */

static int s_pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    int rc = msgpack_pack_str(pk, n);
    return rc ? rc : msgpack_pack_str_body(pk, s, n);
}

/* Whether a choice came from a tie that only reliability (or, lacking it, label order) broke. */
static bool s_tied(const jury_choice_t *ch)
{
    return ch->decided_by == JURY_DECIDED_RELIABILITY || ch->decided_by == JURY_DECIDED_LABEL_ORDER;
}

/* The reliability of each of the m answers' annotators into rel (the walk: NULL, unknown). */
static const double *s_rels(const run_t *r, const q_t *q, const answers_t *a, size_t m, double *rel)
{
    if (!r->final)
        return NULL;
    for (size_t i = 0; i < m; i++)
        rel[i] = q->rel[a->coder[i]];
    return rel;
}

/*
 * Unifies question q for the current record, packing the value into r->packed and filling item.
 * In the walk (!r->final) reliabilities are unknown: when the outcome depends on them (a tie
 * that the suggestion does not break, a global method), *later is set and nothing is packed.
 */
static jury_err s_unify(run_t *r, uint64_t rid, q_t *q, uint32_t unit, answers_t *a,
                        jury_decision_item_t *item, size_t *off, bool *later)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->packed, msgpack_sbuffer_write);
    *off = SIZE_MAX;
    jury_err err;
    int rc = 0;
    size_t start = r->packed.size;
    double *rel = NULL;
    if (!r->final && q->global) {
        *later = true;
        return JURY_OK;
    }
    switch (q->type) {
    case JURY_QUESTION_LABEL_SELECTION:
    case JURY_QUESTION_RATING: {
        size_t m;
        if ((err = s_categories(r, rid, q, a, &m)) != JURY_OK)
            return err;
        if (m == 0)
            return JURY_OK;
        jury_measure_t ag = jury_record_agreement(r->scratch, m);
        item->has_agreement = ag.ok;
        item->agreement = ag.value;
        if (q->method == JURY_METHOD_DISAGREEMENT) {
            qsort(r->scratch, m, sizeof *r->scratch, s_u32_cmp);
            size_t d = 0;
            for (size_t i = 0; i < m; i++)
                if (d == 0 || r->scratch[d - 1] != r->scratch[i])
                    r->scratch[d++] = r->scratch[i];
            rc = msgpack_pack_array(&pk, d);
            for (size_t i = 0; i < d && !rc; i++)
                rc = s_pack_str(&pk, q->options[r->scratch[i]], strlen(q->options[r->scratch[i]]));
            break;
        }
        jury_choice_t ch;
        if (q->global) {
            ch = q->choice[unit];
        } else {
            /* One record as a one-unit problem: ties go to the suggestion (read only when
             * there is a tie), then to the more reliable annotator (known on the revisit). */
            jury_rating_t one[S_STACK_ANSWERS];
            jury_rating_t *ratings = m <= S_STACK_ANSWERS ? one : malloc(m * sizeof *ratings);
            double relstack[S_STACK_ANSWERS];
            double *rels = r->final && m > S_STACK_ANSWERS ? malloc(m * sizeof *rels) : relstack;
            if (!ratings || !rels) {
                if (ratings != one)
                    free(ratings);
                if (rels != relstack)
                    free(rels);
                return JURY_ENOMEM;
            }
            /* Coders are the answers' positions: reliability goes with them. */
            for (size_t i = 0; i < m; i++)
                ratings[i] = (jury_rating_t){0, (uint32_t)i, r->scratch[i]};
            const double *rv = s_rels(r, q, a, m, rels);
            uint32_t sug = JURY_CONSOLIDATE_NONE;
            jury_tiebreak_t tb = {&sug, rv};
            uint32_t k = (uint32_t)(q->type == JURY_QUESTION_RATING ? q->nrvalues : q->noptions);
            jury_rating_method_t rm = s_rating_method(q->method);
            bool vote = q->type == JURY_QUESTION_LABEL_SELECTION || rm == JURY_RATING_MAJORITY;
            if (q->type == JURY_QUESTION_RATING)
                err = jury_consolidate_rating(rm, ratings, m, 1, (uint32_t)m, q->rvalues, k, &tb,
                                              &ch);
            else
                err = jury_consolidate_majority(ratings, m, 1, (uint32_t)m, k, &tb, &ch);
            if (err == JURY_OK && vote && ch.decided_by != JURY_DECIDED_VOTE) {
                const msgpack_object *sg;
                if ((err = s_suggestion(r, q, &sg)) == JURY_OK && sg) {
                    long c = s_category(q, sg);
                    sug = c < 0 ? JURY_CONSOLIDATE_NONE : (uint32_t)c;
                    if (q->type == JURY_QUESTION_RATING)
                        err = jury_consolidate_rating(rm, ratings, m, 1, (uint32_t)m, q->rvalues, k,
                                                      &tb, &ch);
                    else
                        err = jury_consolidate_majority(ratings, m, 1, (uint32_t)m, k, &tb, &ch);
                }
            }
            if (ratings != one)
                free(ratings);
            if (rels != relstack)
                free(rels);
            if (err != JURY_OK)
                return err;
            if (!r->final && vote && s_tied(&ch)) {
                *later = true;
                return JURY_OK;
            }
        }
        if (!ch.ok)
            return JURY_OK;
        item->has_support = true;
        item->support = ch.support;
        if (q->type == JURY_QUESTION_RATING)
            rc = msgpack_pack_int64(&pk, (int64_t)q->rvalues[ch.value]);
        else
            rc = s_pack_str(&pk, q->options[ch.value], strlen(q->options[ch.value]));
        break;
    }
    case JURY_QUESTION_MULTI_LABEL_SELECTION: {
        if ((err = s_answers(r, rid, q, a)) != JURY_OK)
            return err;
        if (a->m == 0)
            return JURY_OK;
        uint32_t *out = malloc(2 * (q->noptions + 1) * sizeof *out);
        if (!out)
            return JURY_ENOMEM;
        size_t n = 0;
        jury_choice_t ch = {0};
        if (q->global) {
            for (size_t l = 0; l < q->noptions; l++)
                if (q->bin_in[(size_t)unit * q->noptions + l])
                    out[n++] = (uint32_t)l;
        } else {
            /* A label held by exactly half of the answers follows the suggestion: only an even
             * number of answers can have one. */
            jury_labelset_t sug = {0}, *sugp = NULL;
            const msgpack_object *sv = NULL;
            err = a->m % 2 == 0 ? s_suggestion(r, q, &sv) : JURY_OK;
            if (err == JURY_OK && sv && s_labelset(q, sv, out + q->noptions + 1, &sug))
                sugp = &sug;
            if (err == JURY_OK)
                err = jury_consolidate_multi_label(a->set, a->m, (uint32_t)q->noptions, sugp, out,
                                                   &n, &ch);
            if (err != JURY_OK) {
                free(out);
                return err;
            }
            item->has_support = true;
            item->support = ch.support;
        }
        rc = msgpack_pack_array(&pk, n);
        for (size_t i = 0; i < n && !rc; i++)
            rc = s_pack_str(&pk, q->options[out[i]], strlen(q->options[out[i]]));
        free(out);
        if (a->m >= 2) {
            double record;
            if ((err = s_scratch(r, 0)) != JURY_OK || (err = s_cur(q, a->m)) != JURY_OK ||
                (err = s_pairwise(q, a, q->cur_means, &record)) != JURY_OK)
                return err;
            item->has_agreement = true;
            item->agreement = record;
        }
        break;
    }
    case JURY_QUESTION_RANKING: {
        if ((err = s_answers(r, rid, q, a)) != JURY_OK)
            return err;
        if (a->m == 0)
            return JURY_OK;
        size_t n = q->noptions;
        uint32_t *rank = malloc(2 * n * sizeof *rank);
        rel = malloc(a->m * sizeof *rel);
        if (!rank || !rel) {
            free(rank);
            free(rel);
            return JURY_ENOMEM;
        }
        const double *rv = s_rels(r, q, a, a->m, rel);
        jury_ranking_t sug = {rank + n, n};
        jury_choice_t ch;
        jury_ranking_method_t method =
            q->method == JURY_METHOD_MAJORITY ? JURY_RANKING_MAJORITY : JURY_RANKING_BORDA;
        err = jury_consolidate_ranking(method, a->rank, a->m, (uint32_t)n, NULL, rv, rank, &ch);
        if (err == JURY_OK && ch.decided_by != JURY_DECIDED_VOTE) {
            const msgpack_object *sv;
            if ((err = s_suggestion(r, q, &sv)) == JURY_OK && sv && s_ranks(q, sv, rank + n))
                err = jury_consolidate_ranking(method, a->rank, a->m, (uint32_t)n, &sug, rv, rank,
                                               &ch);
        }
        free(rel);
        if (err == JURY_OK && !r->final && method == JURY_RANKING_MAJORITY && s_tied(&ch)) {
            free(rank);
            *later = true;
            return JURY_OK;
        }
        if (err == JURY_OK) {
            /* Values best first: the item whose rank is p goes to position p. */
            uint32_t *order = rank + n;
            for (size_t i = 0; i < n; i++)
                order[rank[i]] = (uint32_t)i;
            rc = msgpack_pack_array(&pk, n);
            for (size_t p = 0; p < n && !rc; p++)
                rc = s_pack_str(&pk, q->options[order[p]], strlen(q->options[order[p]]));
            item->has_support = true;
            item->support = ch.support;
        }
        free(rank);
        if (err != JURY_OK)
            return err;
        if (a->m >= 2) {
            if (!q->cur_valid &&
                ((err = s_cur(q, a->m)) != JURY_OK ||
                 (err = s_pairwise(q, a, q->cur_means, &q->cur_record)) != JURY_OK))
                return err;
            item->has_agreement = true;
            item->agreement = q->cur_record;
        }
        break;
    }
    case JURY_QUESTION_TEXT: {
        if ((err = s_texts(r, rid, q, a)) != JURY_OK)
            return err;
        size_t m = a->m;
        if (m == 0)
            return JURY_OK;
        if (!q->cur_valid) {
            if ((err = s_cur(q, m)) != JURY_OK ||
                (err = jury_consolidate_text_similarity(a->text, m, q->cur_means)) != JURY_OK)
                return err;
            q->cur_record = 0;
            for (size_t i = 0; i < m; i++)
                q->cur_record += q->cur_means[i] / (double)m;
            q->cur_valid = true;
        }
        if (!(rel = malloc(m * sizeof *rel)))
            return JURY_ENOMEM;
        jury_choice_t ch;
        jury_text_method_t method =
            q->method == JURY_METHOD_BEST_ANNOTATOR ? JURY_TEXT_BEST_ANNOTATOR : JURY_TEXT_MEDOID;
        err = jury_consolidate_text_choose(method, a->text, q->cur_means, m,
                                           s_rels(r, q, a, m, rel), &ch);
        free(rel);
        if (err != JURY_OK)
            return err;
        if (!r->final && s_tied(&ch)) {
            *later = true;
            return JURY_OK;
        }
        rc = s_pack_str(&pk, a->text[ch.value].s, a->text[ch.value].len);
        item->has_support = true;
        item->support = ch.support;
        if (m >= 2) {
            item->has_agreement = true;
            item->agreement = q->cur_record;
        }
        break;
    }
    case JURY_QUESTION_SPAN: {
        if ((err = s_answers(r, rid, q, a)) != JURY_OK)
            return err;
        if (a->m == 0)
            return JURY_OK;
        /* The majority can hold more spans than any one answer, never more than all. */
        size_t cap = 1, n = 0;
        for (size_t i = 0; i < a->m; i++)
            cap += a->nspan[i];
        jury_span_t *out = malloc(cap * sizeof *out);
        if (!out)
            return JURY_ENOMEM;
        jury_choice_t ch;
        err = jury_consolidate_span(a->span, a->nspan, a->m, out, cap, &n, &ch);
        if (err == JURY_OK) {
            rc = msgpack_pack_array(&pk, n);
            for (size_t i = 0; i < n && !rc; i++) {
                const char *lb = q->options[out[i].label];
                rc = msgpack_pack_map(&pk, 3);
                rc = rc ? rc : s_pack_str(&pk, "start", 5);
                rc = rc ? rc : msgpack_pack_uint32(&pk, out[i].start);
                rc = rc ? rc : s_pack_str(&pk, "end", 3);
                rc = rc ? rc : msgpack_pack_uint32(&pk, out[i].end);
                rc = rc ? rc : s_pack_str(&pk, "label", 5);
                rc = rc ? rc : s_pack_str(&pk, lb, strlen(lb));
            }
            item->has_support = true;
            item->support = ch.support;
        }
        free(out);
        if (err != JURY_OK)
            return err;
        if (a->m >= 2) {
            if (!q->cur_valid &&
                ((err = s_cur(q, a->m)) != JURY_OK ||
                 (err = s_pairwise(q, a, q->cur_means, &q->cur_record)) != JURY_OK))
                return err;
            item->has_agreement = true;
            item->agreement = q->cur_record;
        }
        break;
    }
    default:
        return JURY_OK;
    }
    if (rc)
        return JURY_ENOMEM;
    *off = start;
    item->value_len = r->packed.size - start;
    return JURY_OK;
}

/* The first acceptance rule the record fails, as a reason in buf; false when all hold. */
static bool s_rejected(run_t *r, const jury_decision_item_t *items, const size_t *off, char *buf,
                       size_t cap)
{
    size_t nrules = jury_settings_rule_count(r->s);
    for (size_t i = 0; i < nrules; i++) {
        const jury_rule_t *rule = jury_settings_rule(r->s, i);
        const q_t *q = &r->q[rule->question];
        const jury_decision_item_t *it = &items[rule->question];
        if (off[rule->question] == SIZE_MAX) {
            snprintf(buf, cap, "no submitted answer to \"%s\"", q->name);
            return true;
        }
        switch (rule->kind) {
        case JURY_RULE_MIN_AGREEMENT:
            if (!it->has_agreement) {
                snprintf(buf, cap, "agreement on \"%s\" unknown: fewer than 2 answers", q->name);
                return true;
            }
            /* Agreements are ratios of small counts: allow for their rounding. */
            if (it->agreement < rule->threshold - 1e-9) {
                snprintf(buf, cap, "agreement on \"%s\" below min_agreement %g", q->name,
                         rule->threshold);
                return true;
            }
            break;
        case JURY_RULE_MIN_VALUE:
        case JURY_RULE_MAX_VALUE: {
            msgpack_object v;
            size_t o = 0;
            if (msgpack_unpack(r->packed.data + off[rule->question], it->value_len, &o, &r->zone,
                               &v) != MSGPACK_UNPACK_SUCCESS)
                return false;
            double x =
                v.type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)v.via.i64 : (double)v.via.u64;
            if (rule->kind == JURY_RULE_MIN_VALUE && x < rule->threshold) {
                snprintf(buf, cap, "\"%s\" below min_value %g", q->name, rule->threshold);
                return true;
            }
            if (rule->kind == JURY_RULE_MAX_VALUE && x > rule->threshold) {
                snprintf(buf, cap, "\"%s\" above max_value %g", q->name, rule->threshold);
                return true;
            }
            break;
        }
        case JURY_RULE_REQUIRE: {
            msgpack_object v;
            if (msgpack_unpack(r->packed.data + off[rule->question], it->value_len, NULL, &r->zone,
                               &v) != MSGPACK_UNPACK_SUCCESS)
                return false;
            long l = s_option(q, &v);
            bool ok = false;
            for (size_t j = 0; l >= 0 && j < rule->nlabels; j++)
                ok |= rule->labels[j] == (uint32_t)l;
            if (!ok) {
                int n = snprintf(buf, cap, "\"%s\" not one of the required labels:", q->name);
                for (size_t j = 0; j < rule->nlabels && n > 0 && (size_t)n < cap; j++)
                    n += snprintf(buf + n, cap - (size_t)n, "%s %s", j ? "," : "",
                                  q->options[rule->labels[j]]);
                return true;
            }
            break;
        }
        }
    }
    return false;
}

/* The rejection group of records a reviewer rejected: this, then the reviewer's name. */
#define S_REASON_REVIEWER "rejected by reviewer "

/*
 * Record p has review (len bytes at blob) in txn: puts into out (cleared
 * first) the decision the review makes, carrying the agreement of consolidation's own
 * decision, and notes in p what it decided.
 */
static jury_err s_reviewed(run_t *r, jury_txn_t *txn, pending_t *p, const void *blob, size_t len,
                           msgpack_sbuffer *out)
{
    msgpack_zone_clear(&r->rzone);
    jury_review_t rv;
    jury_decision_t own;
    const char *name = NULL;
    jury_err err = jury_review_decode(blob, len, &r->rzone, &rv);
    if (err != JURY_OK) {
        s_errf(r, "record %llu: its stored review does not decode", (unsigned long long)p->rid);
        return err;
    }
    if ((err = jury_store_annotator_name(txn, rv.reviewer, &name)) != JURY_OK) {
        s_errf(r, "record %llu: its review names annotator %u, who is not in the store",
               (unsigned long long)p->rid, rv.reviewer);
        return err == JURY_ENOTFOUND ? JURY_ECORRUPT : err;
    }
    if ((err = jury_decision_decode(r->batch.data + p->off, p->len, &r->rzone, &own)) != JURY_OK)
        return err;
    msgpack_sbuffer_clear(out);
    if ((err = jury_review_decision(out, &rv, name, p->submitted, &own.agreement)) != JURY_OK) {
        if (err == JURY_ENOMEM)
            return err;
        s_errf(r, "record %llu: its stored review's values are not a map of questions",
               (unsigned long long)p->rid);
        return JURY_ECORRUPT;
    }
    p->reviewed = true;
    p->rkind = rv.accept ? JURY_DECISION_ACCEPTED : JURY_DECISION_REJECTED;
    p->rreason = SIZE_MAX;
    if (!rv.accept) {
        /* Grouped by reviewer: notes are free text and would make a group each. */
        p->rreason = r->rtext.size;
        if (msgpack_sbuffer_write(&r->rtext, S_REASON_REVIEWER, sizeof S_REASON_REVIEWER - 1) ||
            msgpack_sbuffer_write(&r->rtext, name, strlen(name) + 1))
            return JURY_ENOMEM;
    }
    return JURY_OK;
}

/*
 * Stores the batch's decisions. A record with a review (looked up in this
 * write, so that a review stored since the snapshot is kept) gets the
 * review's decision instead of consolidation's. The review queue's REJECTED
 * flag follows the stored decision. Restartable: everything it notes is reset
 * first.
 */
static jury_err s_flush_fn(jury_txn_t *txn, void *arg)
{
    run_t *r = arg;
    msgpack_sbuffer_clear(&r->rtext);
    for (size_t i = 0; i < r->npend; i++) {
        pending_t *p = &r->pend[i];
        p->reviewed = false;
        const void *blob = r->batch.data + p->off, *rblob;
        size_t len = p->len, rlen;
        jury_err err = jury_store_review_get(txn, p->rid, &rblob, &rlen);
        if (err == JURY_OK) {
            if ((err = s_reviewed(r, txn, p, rblob, rlen, &r->rbuf)) != JURY_OK)
                return err;
            blob = r->rbuf.data;
            len = r->rbuf.size;
        } else if (err != JURY_ENOTFOUND) {
            return err;
        }
        if ((err = jury_store_decision_put(txn, p->rid, blob, len)) != JURY_OK)
            return err;
        /* A rejected record waits for a reviewer until one decides it; CONTESTED is the
         * coordinator's. */
        unsigned why, want;
        if ((err = jury_store_review_queue_get(txn, p->rid, &why)) != JURY_OK)
            return err;
        want = why & ~JURY_REVIEW_REJECTED;
        if (!p->reviewed && p->kind == JURY_DECISION_REJECTED)
            want |= JURY_REVIEW_REJECTED;
        if (want != why && (err = jury_store_review_queue_set(txn, p->rid, want)) != JURY_OK)
            return err;
    }
    return JURY_OK;
}

/* Adds n records to the rejection group reason (n may be -1); drops a group that reaches 0. */
static jury_err s_reason_add(run_t *r, cJSON *item, const char *reason, double n, cJSON **out)
{
    if (!item)
        item = cJSON_GetObjectItemCaseSensitive(r->reasons, reason);
    if (item) {
        cJSON_SetNumberValue(item, item->valuedouble + n);
        if (item->valuedouble <= 0) {
            cJSON_Delete(cJSON_DetachItemViaPointer(r->reasons, item));
            item = NULL;
        }
    } else if (n > 0 && !(item = cJSON_AddNumberToObject(r->reasons, reason, n))) {
        return JURY_ENOMEM;
    }
    if (out)
        *out = item;
    return JURY_OK;
}

static jury_err s_flush(run_t *r)
{
    if (r->npend == 0)
        return JURY_OK;
    jury_err err = jury_store_write(r->store, s_flush_fn, r);
    /* Once stored, reviewed records count as the reviewers decided them. */
    for (size_t i = 0; i < r->npend && err == JURY_OK; i++) {
        pending_t *p = &r->pend[i];
        if (!p->reviewed)
            continue;
        r->counts[p->kind]--;
        r->counts[p->rkind]++;
        r->reviewed++;
        if (p->reason)
            err = s_reason_add(r, p->reason, NULL, -1, NULL);
        if (err == JURY_OK && p->rreason != SIZE_MAX)
            err = s_reason_add(r, NULL, r->rtext.data + p->rreason, 1, NULL);
    }
    r->npend = 0;
    msgpack_sbuffer_clear(&r->batch);
    return err;
}

static jury_err s_decide(run_t *r, uint64_t rid, jury_decision_kind kind, const char *reason,
                         uint32_t submitted, size_t nitems)
{
    jury_err err = s_reserve((void **)&r->pend, &r->cappend, r->npend + 1, sizeof *r->pend);
    if (err != JURY_OK)
        return err;
    size_t off = r->batch.size;
    if ((err = jury_decision_encode(&r->batch, kind, reason, reason ? strlen(reason) : 0, submitted,
                                    r->items, nitems)) != JURY_OK)
        return err;
    cJSON *item = NULL;
    if (reason && (err = s_reason_add(r, NULL, reason, 1, &item)) != JURY_OK)
        return err;
    r->pend[r->npend++] = (pending_t){.rid = rid,
                                      .off = off,
                                      .len = r->batch.size - off,
                                      .submitted = submitted,
                                      .kind = kind,
                                      .reason = item};
    r->counts[kind]++;
    uint32_t batch = r->opts->batch ? r->opts->batch : S_BATCH_DEFAULT;
    return r->npend >= batch ? s_flush(r) : JURY_OK;
}

/* Unifies every question of the current record and decides it; *later when the walk cannot
 * (nothing is decided then). */
static jury_err s_decide_record(run_t *r, uint64_t rid, uint32_t unit, uint32_t submitted,
                                answers_t *a, bool *later)
{
    msgpack_sbuffer_clear(&r->packed);
    *later = false;
    for (size_t i = 0; i < r->nq && !*later; i++) {
        r->items[i] = (jury_decision_item_t){.question = r->q[i].name};
        jury_err err = s_unify(r, rid, &r->q[i], unit, a, &r->items[i], &r->item_off[i], later);
        if (err != JURY_OK)
            return err;
    }
    if (*later)
        return JURY_OK;
    /* The packed buffer may have moved while it grew: point the items at it now. */
    for (size_t i = 0; i < r->nq; i++)
        r->items[i].value = r->item_off[i] == SIZE_MAX ? NULL : r->packed.data + r->item_off[i];
    char reason[S_REASON_MAX];
    if (s_rejected(r, r->items, r->item_off, reason, sizeof reason))
        return s_decide(r, rid, JURY_DECISION_REJECTED, reason, submitted, r->nq);
    return s_decide(r, rid, JURY_DECISION_ACCEPTED, NULL, submitted, r->nq);
}

typedef struct {
    run_t *r;
    answers_t *a;
} walk_t;

/* The walk: every record once, in id order. */
static jury_err s_walk_record(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    walk_t *w = arg;
    run_t *r = w->r;
    s_progress(r);
    /* Gold records have known answers: nothing to consolidate or export. */
    if (st->gold)
        return JURY_OK;
    if (st->status == JURY_RECORD_PENDING)
        return s_decide(r, rid, JURY_DECISION_PENDING, NULL, st->submitted, 0);
    if (st->status != JURY_RECORD_COMPLETED)
        return s_decide(r, rid, JURY_DECISION_REJECTED, S_REASON_SET_ASIDE, st->submitted, 0);
    if (r->nunits == UINT32_MAX)
        return JURY_ETOOBIG;
    uint32_t unit = r->nunits++;
    jury_err err = s_load(r, rid);
    for (size_t i = 0; i < r->nq && err == JURY_OK; i++)
        err = s_accumulate(r, rid, &r->q[i], unit, w->a);
    bool later = r->any_global;
    if (err == JURY_OK && !later)
        err = s_decide_record(r, rid, unit, st->submitted, w->a, &later);
    if (err != JURY_OK || !later)
        return err;
    if ((err = s_reserve((void **)&r->revisit, &r->caprevisit, r->nrevisit + 1,
                         sizeof *r->revisit)) != JURY_OK)
        return err;
    r->revisit[r->nrevisit++] = (revisit_t){rid, unit, st->submitted};
    return JURY_OK;
}

/* The revisit: records whose outcome needed every record first. */
static jury_err s_revisit(run_t *r, answers_t *a)
{
    r->final = true;
    r->pass = 2;
    r->done = 0;
    r->total = r->nrevisit;
    for (size_t i = 0; i < r->nrevisit; i++) {
        const revisit_t *v = &r->revisit[i];
        bool later;
        jury_err err = s_load(r, v->rid);
        if (err == JURY_OK)
            err = s_decide_record(r, v->rid, v->unit, v->submitted, a, &later);
        if (err != JURY_OK)
            return err;
        s_progress(r);
    }
    return JURY_OK;
}

/* ---- summary ------------------------------------------------------------------------------ */

static int s_reason_cmp(const void *x, const void *y)
{
    const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
    if (a->valuedouble != b->valuedouble)
        return a->valuedouble > b->valuedouble ? -1 : 1;
    return strcmp(a->string, b->string);
}

static double s_round6(double v)
{
    return round(v * 1e6) / 1e6;
}

static jury_err s_summary(run_t *r, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return JURY_ENOMEM;
    cJSON_AddStringToObject(o, "dataset", r->dsname);
    cJSON_AddNumberToObject(o, "records", (double)(r->counts[0] + r->counts[1] + r->counts[2]));
    cJSON_AddNumberToObject(o, "accepted", (double)r->counts[JURY_DECISION_ACCEPTED]);
    cJSON_AddNumberToObject(o, "rejected", (double)r->counts[JURY_DECISION_REJECTED]);
    cJSON_AddNumberToObject(o, "pending", (double)r->counts[JURY_DECISION_PENDING]);
    cJSON_AddNumberToObject(o, "reviewed", (double)r->reviewed);
    cJSON *methods = cJSON_AddObjectToObject(o, "methods");
    for (size_t i = 0; i < r->nq; i++)
        cJSON_AddStringToObject(methods, r->q[i].name, jury_method_name(r->q[i].method));
    cJSON *rules = cJSON_AddArrayToObject(o, "rules");
    static const char *const kinds[] = {"min_agreement", "min_value", "max_value", "require"};
    for (size_t i = 0; i < jury_settings_rule_count(r->s); i++) {
        const jury_rule_t *rule = jury_settings_rule(r->s, i);
        char text[S_REASON_MAX];
        int n = snprintf(text, sizeof text, "%s %s", kinds[rule->kind], r->q[rule->question].name);
        if (rule->kind == JURY_RULE_REQUIRE) {
            for (size_t j = 0; j < rule->nlabels && n > 0 && (size_t)n < sizeof text; j++)
                n += snprintf(text + n, sizeof text - (size_t)n, "%s%s", j ? ", " : " ",
                              r->q[rule->question].options[rule->labels[j]]);
        } else {
            snprintf(text + n, sizeof text - (size_t)n, " %g", rule->threshold);
        }
        cJSON_AddItemToArray(rules, cJSON_CreateString(text));
    }
    /* Rejections, most frequent first. */
    size_t nr = (size_t)cJSON_GetArraySize(r->reasons), i = 0;
    const cJSON **sorted = calloc(nr + 1, sizeof *sorted);
    if (!sorted) {
        cJSON_Delete(o);
        return JURY_ENOMEM;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, r->reasons) sorted[i++] = it;
    if (nr > 1)
        qsort(sorted, nr, sizeof *sorted, s_reason_cmp);
    cJSON *rej = cJSON_AddArrayToObject(o, "rejections");
    for (i = 0; i < nr; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "reason", sorted[i]->string);
        cJSON_AddNumberToObject(e, "records", sorted[i]->valuedouble);
        cJSON_AddItemToArray(rej, e);
    }
    free(sorted);
    cJSON *ann = cJSON_AddObjectToObject(o, "annotators");
    for (uint32_t c = 0; c < r->ncoders; c++) {
        const char *name = NULL;
        if (jury_store_annotator_name(r->snap, r->annotator[c], &name) != JURY_OK)
            name = "?";
        cJSON *a = cJSON_AddObjectToObject(ann, name);
        for (size_t qi = 0; qi < r->nq; qi++) {
            const q_t *q = &r->q[qi];
            if (q->rel && q->rel[c] >= 0)
                cJSON_AddNumberToObject(a, q->name, s_round6(q->rel[c]));
        }
    }
    /* Beside each reliability, the gold accuracy that weighted or dawid_skene used (null: too
     * few gold answers, see JURY_CONSOLIDATE_GOLD_MIN); only when some question uses them. */
    bool gold = false;
    for (size_t qi = 0; qi < r->nq; qi++)
        gold |= r->q[qi].gold_answered != NULL;
    cJSON *gacc = gold ? cJSON_AddObjectToObject(o, "gold_accuracy") : NULL;
    for (uint32_t c = 0; gacc && c < r->ncoders; c++) {
        const char *name = NULL;
        if (jury_store_annotator_name(r->snap, r->annotator[c], &name) != JURY_OK)
            name = "?";
        cJSON *a = cJSON_AddObjectToObject(gacc, name);
        for (size_t qi = 0; qi < r->nq; qi++) {
            const q_t *q = &r->q[qi];
            jury_gold_t g = {q->gold_answered, q->gold_correct};
            double acc;
            if (!q->gold_answered)
                continue;
            if (jury_consolidate_gold_accuracy(&g, c, &acc))
                cJSON_AddNumberToObject(a, q->name, s_round6(acc));
            else
                cJSON_AddNullToObject(a, q->name);
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cJSON_AddNumberToObject(o, "consolidated_ms",
                            (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000));
    *out = o;
    return JURY_OK;
}

typedef struct {
    uint32_t ds;
    const char *text;
} summary_put_t;

static jury_err s_summary_fn(jury_txn_t *txn, void *arg)
{
    const summary_put_t *p = arg;
    return jury_store_consolidation_put(txn, p->ds, p->text, strlen(p->text));
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static void s_free(run_t *r)
{
    for (size_t i = 0; r->q && i < r->nq; i++) {
        q_t *q = &r->q[i];
        free(q->ratings);
        free(q->suggestion);
        free(q->choice);
        for (size_t l = 0; q->bin && l < q->noptions; l++)
            free(q->bin[l]);
        free(q->bin);
        free(q->nbin);
        free(q->capbin);
        free(q->bin_in);
        free(q->pair_n);
        free(q->pair_eq);
        free(q->rel_sum);
        free(q->rel_n);
        free(q->rel);
        free(q->gold_answered);
        free(q->gold_correct);
        free(q->cur_means);
    }
    free(r->q);
    free(r->coder_of);
    free(r->annotator);
    free(r->resp);
    free(r->items);
    free(r->item_off);
    free(r->scratch);
    free(r->pend);
    free(r->revisit);
    msgpack_zone_destroy(&r->zone);
    msgpack_sbuffer_destroy(&r->packed);
    msgpack_sbuffer_destroy(&r->batch);
    msgpack_zone_destroy(&r->rzone);
    msgpack_sbuffer_destroy(&r->rbuf);
    msgpack_sbuffer_destroy(&r->rtext);
    cJSON_Delete(r->reasons);
    jury_txn_abort(&r->snap);
}

static jury_err s_setup(run_t *r, const jury_settings_t *s, const jury_consolidation_opts_t *opts)
{
    r->nq = jury_settings_question_count(s);
    r->q = calloc(r->nq + 1, sizeof *r->q);
    r->items = calloc(r->nq + 1, sizeof *r->items);
    r->item_off = calloc(r->nq + 1, sizeof *r->item_off);
    r->reasons = cJSON_CreateObject();
    if (!r->q || !r->items || !r->item_off || !r->reasons)
        return JURY_ENOMEM;
    for (size_t i = 0; i < r->nq; i++) {
        q_t *q = &r->q[i];
        q->name = jury_settings_question_name(s, i);
        q->name_len = strlen(q->name);
        q->type = jury_settings_question_type(s, i);
        q->method = jury_settings_method(s, i);
        q->options = jury_settings_question_options(s, i, &q->noptions);
        q->rvalues = jury_settings_rating_values(s, i, &q->nrvalues);
    }
    for (size_t o = 0; opts && o < opts->noverrides; o++) {
        const jury_method_override_t *ov = &opts->overrides[o];
        int qi = ov->question ? jury_settings_question_index(s, ov->question) : -1;
        if (qi < 0) {
            s_errf(r, "--method: dataset \"%s\" has no question \"%s\"", r->dsname,
                   ov->question ? ov->question : "");
            return JURY_EINVAL;
        }
        q_t *q = &r->q[qi];
        jury_method m;
        const char *mname = jury_method_name(ov->method);
        if (!mname || !jury_method_parse(q->type, mname, &m)) {
            s_errf(r, "--method: %s is not a method for \"%s\" (use one of: %s)",
                   mname ? mname : "?", q->name, jury_method_choices(q->type));
            return JURY_EINVAL;
        }
        q->method = m;
    }
    for (size_t i = 0; i < r->nq; i++) {
        q_t *q = &r->q[i];
        q->global = q->method == JURY_METHOD_DAWID_SKENE || q->method == JURY_METHOD_WEIGHTED ||
                    q->method == JURY_METHOD_BEST_ANNOTATOR;
        r->any_global |= q->global;
        if (q->type == JURY_QUESTION_MULTI_LABEL_SELECTION &&
            q->method == JURY_METHOD_DAWID_SKENE) {
            q->bin = calloc(q->noptions + 1, sizeof *q->bin);
            q->nbin = calloc(q->noptions + 1, sizeof *q->nbin);
            q->capbin = calloc(q->noptions + 1, sizeof *q->capbin);
            if (!q->bin || !q->nbin || !q->capbin)
                return JURY_ENOMEM;
        }
    }
    return JURY_OK;
}

/* One attempt at the whole run on a fresh snapshot. */
static jury_err s_attempt(run_t *r, const jury_settings_t *s, cJSON **summary_out)
{
    jury_err err;
    jury_counts_t counts;
    answers_t *a = malloc(sizeof *a);
    walk_t w = {r, a};
    if (!a) {
        err = JURY_ENOMEM;
        goto done;
    }
    if ((err = s_setup(r, s, r->opts)) != JURY_OK)
        goto done;
    if ((err = jury_store_read(r->store, &r->snap)) != JURY_OK ||
        (err = jury_store_dataset_counts(r->snap, r->ds, &counts)) != JURY_OK)
        goto done;
    r->total = counts.records;
    /* Decisions can always be computed again: their batches need not wait for the disk, one
     * sync at the end makes the whole run durable. */
    if ((err = jury_store_set_durable(r->store, false)) != JURY_OK)
        goto done;
    r->pass = 1;
    r->done = 0;
    if ((err = jury_store_record_each(r->snap, r->ds, 0, s_walk_record, &w)) != JURY_OK)
        goto done;
    if ((err = s_gold_read(r)) != JURY_OK)
        goto done;
    for (size_t i = 0; i < r->nq; i++)
        if ((err = s_fit(r, &r->q[i])) != JURY_OK)
            goto done;
    if ((err = s_revisit(r, a)) != JURY_OK || (err = s_flush(r)) != JURY_OK)
        goto done;
    if ((err = jury_store_sync(r->store)) != JURY_OK)
        goto done;
    cJSON *summary = NULL;
    if ((err = s_summary(r, &summary)) != JURY_OK)
        goto done;
    char *text = cJSON_PrintUnformatted(summary);
    summary_put_t put = {r->ds, text};
    err = text ? jury_store_write(r->store, s_summary_fn, &put) : JURY_ENOMEM;
    free(text);
    if (err == JURY_OK)
        *summary_out = summary;
    else
        cJSON_Delete(summary);
done:
    if (err != JURY_OK && jury_store_set_durable(r->store, true) != JURY_OK)
        jury_log(JURY_LOG_ERROR, "consolidate: commits of this process stay unsynced");
    free(a);
    return err;
}

typedef struct {
    const char *name;
    uint32_t id;
    char *settings;
    size_t len;
} ds_read_t;

jury_err jury_consolidation_run(jury_store_t *store, const char *name,
                                const jury_consolidation_opts_t *opts_in, cJSON **summary_out,
                                char *err_out, size_t errlen)
{
    if (err_out && errlen)
        err_out[0] = '\0';
    if (!store || !name || !summary_out)
        return JURY_EINVAL;
    jury_consolidation_opts_t defaults = {0};
    const jury_consolidation_opts_t *opts = opts_in ? opts_in : &defaults;
    /* Read the dataset's settings in a short snapshot of their own. */
    jury_txn_t *txn = NULL;
    jury_dataset_t ds;
    jury_err err = jury_store_read(store, &txn);
    if (err != JURY_OK)
        return err;
    if ((err = jury_store_dataset_get(txn, name, &ds)) != JURY_OK) {
        jury_txn_abort(&txn);
        if (err == JURY_ENOTFOUND && err_out && errlen)
            snprintf(err_out, errlen, "no dataset \"%s\" in the store", name);
        return err;
    }
    jury_settings_t *s = NULL;
    char perr[256];
    err = jury_settings_parse(&s, ds.settings, ds.settings_len, perr, sizeof perr);
    uint32_t id = ds.id;
    jury_txn_abort(&txn);
    if (err != JURY_OK) {
        if (err_out && errlen)
            snprintf(err_out, errlen, "dataset \"%s\": stored settings: %s", name, perr);
        return err == JURY_ENOMEM ? err : JURY_ECORRUPT;
    }
    /*
     * Both passes read one snapshot while batches of decisions are written: the map cannot
     * grow while a snapshot is open, so room is reserved first (address space, not disk), and
     * a run that still fills the map starts again with more.
     */
    size_t room = jury_store_used_bytes(store) * 2 + ((size_t)64 << 20);
    for (int attempt = 0; attempt < S_ATTEMPTS; attempt++) {
        if ((err = jury_store_reserve(store, room)) != JURY_OK)
            break;
        run_t r = {.store = store,
                   .s = s,
                   .dsname = name,
                   .ds = id,
                   .opts = opts,
                   .err = err_out,
                   .errlen = errlen};
        msgpack_zone_init(&r.zone, 8192);
        msgpack_sbuffer_init(&r.packed);
        msgpack_sbuffer_init(&r.batch);
        msgpack_zone_init(&r.rzone, 4096);
        msgpack_sbuffer_init(&r.rbuf);
        msgpack_sbuffer_init(&r.rtext);
        err = s_attempt(&r, s, summary_out);
        s_free(&r);
        if (err != JURY_EBUSY)
            break;
        room *= 4;
    }
    jury_settings_destroy(&s);
    if (err != JURY_OK && err_out && errlen && err_out[0] == '\0')
        snprintf(err_out, errlen, "consolidating \"%s\": %s", name, jury_strerror(err));
    return err;
}
