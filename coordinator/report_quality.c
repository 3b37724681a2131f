/* report_quality.c: the annotator quality table fed from a store snapshot or a responses file, as
 * JSON rows and a text table. */
#include "report_quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "quality.h"
#include "report_internal.h"

/* One tracked (label_selection or rating) question. */
typedef struct {
    const char *name;          /* borrowed from the settings */
    size_t name_len;           /* bytes of name */
    bool rating;               /* a rating question; else label_selection */
    const char *const *labels; /* label_selection: its labels, borrowed from the settings */
    size_t nlabels;            /* entries in labels */
    const double *values;      /* rating: its values ascending, borrowed from the settings */
    size_t nvalues;            /* entries in values */
} s_tracked;

/* A response of a responses file, kept until the build. */
typedef struct {
    char *record;               /* the record's id (owned) */
    char *annotator;            /* the annotator's name (owned) */
    jury_quality_status status; /* its status */
    size_t seq;                 /* line order: ties keep it */
    uint32_t ann;               /* the annotator's id, given at the build */
} s_line;

/* Where the responses come from: fixed by the first one. */
typedef enum { S_NONE, S_STORE, S_FILE } s_source;

struct jury_report_quality {
    s_tracked *tracked;    /* the tracked questions in settings order */
    size_t nt;             /* entries in tracked */
    jury_quality_t *table; /* the computation */
    int32_t *cats;         /* one response's categories (nt entries; at least 1) */
    msgpack_zone zone;     /* decodes stored values, cleared after each */
    s_source source;       /* where the responses came from */
    s_line *lines;         /* file responses */
    size_t nlines;         /* entries in lines */
    size_t cap;            /* room in lines */
    int32_t *line_cats;    /* [line * nt + question]: file responses' categories */
    char **names;          /* file annotators by id, borrowed from lines (after the build) */
    bool fed;              /* file responses went into the table */
};

jury_err jury_report_quality_new(jury_report_quality_t **out, const jury_settings_t *s)
{
    if (out == NULL || s == NULL)
        return JURY_EINVAL;
    jury_report_quality_t *rq = calloc(1, sizeof *rq);
    if (rq == NULL)
        return JURY_ENOMEM;
    if (!msgpack_zone_init(&rq->zone, 1024)) {
        free(rq);
        return JURY_ENOMEM;
    }
    size_t nq = jury_settings_question_count(s);
    rq->tracked = calloc(nq ? nq : 1, sizeof *rq->tracked);
    rq->cats = calloc(nq ? nq : 1, sizeof *rq->cats);
    if (rq->tracked == NULL || rq->cats == NULL) {
        jury_report_quality_destroy(&rq);
        return JURY_ENOMEM;
    }
    for (size_t i = 0; i < nq; i++) {
        jury_question_type type = jury_settings_question_type(s, i);
        if (type != JURY_QUESTION_RATING && type != JURY_QUESTION_LABEL_SELECTION)
            continue;
        s_tracked *t = &rq->tracked[rq->nt++];
        t->name = jury_settings_question_name(s, i);
        t->name_len = strlen(t->name);
        t->rating = type == JURY_QUESTION_RATING;
        if (t->rating)
            t->values = jury_settings_rating_values(s, i, &t->nvalues);
        else
            t->labels = jury_settings_question_options(s, i, &t->nlabels);
    }
    jury_err err = jury_quality_new(&rq->table, rq->nt);
    if (err != JURY_OK) {
        jury_report_quality_destroy(&rq);
        return err;
    }
    *out = rq;
    return JURY_OK;
}

void jury_report_quality_destroy(jury_report_quality_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    jury_report_quality_t *rq = *self_p;
    for (size_t i = 0; i < rq->nlines; i++) {
        free(rq->lines[i].record);
        free(rq->lines[i].annotator);
    }
    free(rq->lines);
    free(rq->line_cats);
    free(rq->names);
    jury_quality_destroy(&rq->table);
    msgpack_zone_destroy(&rq->zone);
    free(rq->tracked);
    free(rq->cats);
    free(rq);
    *self_p = NULL;
}

/* ---- categories -------------------------------------------------------------------------------
 */

/* The category of label (n bytes) of question t, or JURY_QUALITY_NO_ANSWER. */
static int32_t s_label(const s_tracked *t, const char *label, size_t n)
{
    for (size_t i = 0; i < t->nlabels; i++)
        if (strlen(t->labels[i]) == n && memcmp(t->labels[i], label, n) == 0)
            return (int32_t)i;
    return JURY_QUALITY_NO_ANSWER;
}

/* The category of rating v of question t, or JURY_QUALITY_NO_ANSWER. */
static int32_t s_rating(const s_tracked *t, double v)
{
    for (size_t i = 0; i < t->nvalues; i++)
        if (t->values[i] == v)
            return (int32_t)i;
    return JURY_QUALITY_NO_ANSWER;
}

/* The tracked question called name (n bytes), or NULL. */
static const s_tracked *s_question(const jury_report_quality_t *rq, const char *name, size_t n,
                                   size_t *index)
{
    for (size_t i = 0; i < rq->nt; i++)
        if (rq->tracked[i].name_len == n && memcmp(rq->tracked[i].name, name, n) == 0) {
            *index = i;
            return &rq->tracked[i];
        }
    return NULL;
}

/* Fills rq->cats from stored values (a msgpack map {question: value}). */
static jury_err s_cats_stored(jury_report_quality_t *rq, const void *values, size_t len)
{
    for (size_t i = 0; i < rq->nt; i++)
        rq->cats[i] = JURY_QUALITY_NO_ANSWER;
    if (len == 0 || rq->nt == 0)
        return JURY_OK;
    msgpack_object o;
    jury_err err = JURY_OK;
    if (msgpack_unpack(values, len, NULL, &rq->zone, &o) != MSGPACK_UNPACK_SUCCESS ||
        o.type != MSGPACK_OBJECT_MAP) {
        err = JURY_ECORRUPT;
        goto done;
    }
    for (uint32_t i = 0; i < o.via.map.size; i++) {
        const msgpack_object_kv *kv = &o.via.map.ptr[i];
        size_t qi;
        const s_tracked *t;
        if (kv->key.type != MSGPACK_OBJECT_STR ||
            (t = s_question(rq, kv->key.via.str.ptr, kv->key.via.str.size, &qi)) == NULL)
            continue;
        const msgpack_object *v = &kv->val;
        if (!t->rating && v->type == MSGPACK_OBJECT_STR)
            rq->cats[qi] = s_label(t, v->via.str.ptr, v->via.str.size);
        else if (t->rating && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            rq->cats[qi] = s_rating(t, (double)v->via.u64);
        else if (t->rating &&
                 (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64))
            rq->cats[qi] = s_rating(t, v->via.f64);
    }
done:
    msgpack_zone_clear(&rq->zone);
    return err;
}

/* The categories of JSON values ({question: value}) into cats. */
static void s_cats_json(const jury_report_quality_t *rq, const cJSON *values, int32_t *cats)
{
    for (size_t i = 0; i < rq->nt; i++) {
        const s_tracked *t = &rq->tracked[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, t->name);
        cats[i] = JURY_QUALITY_NO_ANSWER;
        if (!t->rating && cJSON_IsString(v))
            cats[i] = s_label(t, v->valuestring, strlen(v->valuestring));
        else if (t->rating && cJSON_IsNumber(v))
            cats[i] = s_rating(t, v->valuedouble);
    }
}

/* ---- input ------------------------------------------------------------------------------------
 */

jury_err jury_report_quality_add_stored(jury_report_quality_t *rq, uint64_t rid,
                                        const jury_response_t *r)
{
    if (rq == NULL || r == NULL || rq->source == S_FILE ||
        (unsigned)r->status > JURY_RESPONSE_DRAFT)
        return JURY_EINVAL;
    rq->source = S_STORE;
    /* Only submitted answers are compared: other values need no decoding. */
    jury_err err =
        s_cats_stored(rq, r->values, r->status == JURY_RESPONSE_SUBMITTED ? r->values_len : 0);
    if (err != JURY_OK)
        return err;
    jury_quality_response_t row = {rid, r->annotator, (jury_quality_status)r->status, r->updated_ms,
                                   rq->cats};
    return jury_quality_add(rq->table, &row);
}

/* What a store walk carries from record to response. */
typedef struct {
    jury_report_quality_t *rq; /* the report */
    jury_txn_t *txn;           /* the snapshot */
    uint64_t rid;              /* the current record */
} s_walk;

static jury_err s_walk_response(const jury_response_t *r, void *arg)
{
    s_walk *w = arg;
    return jury_report_quality_add_stored(w->rq, w->rid, r);
}

static jury_err s_walk_record(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    s_walk *w = arg;
    /* Gold records are left out as `jury agreement` leaves them out: the gold column measures
     * annotators on them. */
    if (st->gold)
        return JURY_OK;
    w->rid = rid;
    return jury_store_response_each(w->txn, rid, s_walk_response, w);
}

jury_err jury_report_quality_walk(jury_report_quality_t *rq, jury_txn_t *txn, uint32_t ds)
{
    if (rq == NULL || txn == NULL)
        return JURY_EINVAL;
    s_walk w = {rq, txn, 0};
    return jury_store_record_each(txn, ds, 0, s_walk_record, &w);
}

jury_err jury_report_quality_add_line(jury_report_quality_t *rq, const char *line, size_t len)
{
    if (rq == NULL || line == NULL || rq->source == S_STORE || rq->fed)
        return JURY_EINVAL;
    cJSON *doc = cJSON_ParseWithLength(line, len);
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(doc, "record");
    const cJSON *annotator = cJSON_GetObjectItemCaseSensitive(doc, "annotator");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(doc, "values");
    /* The record's id as jury_report_add_line reads it: an integer is its decimal digits. */
    char id[32];
    const char *rid = NULL;
    if (cJSON_IsString(record))
        rid = record->valuestring;
    else if (cJSON_IsNumber(record) && fabs(record->valuedouble) < 9007199254740992.0) {
        snprintf(id, sizeof id, "%.0f", record->valuedouble);
        rid = id;
    }
    jury_quality_status st = JURY_QUALITY_DRAFT;
    if (cJSON_IsString(status) && strcmp(status->valuestring, "submitted") == 0)
        st = JURY_QUALITY_SUBMITTED;
    else if (cJSON_IsString(status) && strcmp(status->valuestring, "discarded") == 0)
        st = JURY_QUALITY_DISCARDED;
    jury_err err = JURY_OK;
    if (rid == NULL || !cJSON_IsString(annotator) || !cJSON_IsString(status)) {
        err = JURY_EINVAL;
        goto done;
    }
    if (rq->nlines == rq->cap) {
        size_t cap = rq->cap ? rq->cap * 2 : 256;
        s_line *lines = realloc(rq->lines, cap * sizeof *lines);
        if (lines == NULL) {
            err = JURY_ENOMEM;
            goto done;
        }
        rq->lines = lines;
        int32_t *cats = realloc(rq->line_cats, cap * (rq->nt ? rq->nt : 1) * sizeof *cats);
        if (cats == NULL) {
            err = JURY_ENOMEM;
            goto done;
        }
        rq->line_cats = cats;
        rq->cap = cap;
    }
    s_line *l = &rq->lines[rq->nlines];
    *l = (s_line){strdup(rid), strdup(annotator->valuestring), st, rq->nlines, 0};
    if (l->record == NULL || l->annotator == NULL) {
        free(l->record);
        free(l->annotator);
        err = JURY_ENOMEM;
        goto done;
    }
    s_cats_json(rq, st == JURY_QUALITY_SUBMITTED ? values : NULL,
                rq->line_cats + rq->nlines * rq->nt);
    rq->nlines++;
    rq->source = S_FILE;
done:
    cJSON_Delete(doc);
    return err;
}

/* ---- build ------------------------------------------------------------------------------------
 */

static int s_by_annotator(const void *x, const void *y)
{
    const s_line *a = *(const s_line *const *)x, *b = *(const s_line *const *)y;
    int c = strcmp(a->annotator, b->annotator);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int s_by_record(const void *x, const void *y)
{
    const s_line *a = *(const s_line *const *)x, *b = *(const s_line *const *)y;
    int c = strcmp(a->record, b->record);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Feeds the file's responses to the table: annotators get ids in name order, records come
 * together (sorted by id). */
static jury_err s_feed_lines(jury_report_quality_t *rq)
{
    size_t n = rq->nlines;
    s_line **order = malloc((n ? n : 1) * sizeof *order);
    rq->names = malloc((n ? n : 1) * sizeof *rq->names);
    if (order == NULL || rq->names == NULL) {
        free(order);
        return JURY_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &rq->lines[i];
    qsort(order, n, sizeof *order, s_by_annotator);
    uint32_t ids = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(order[i]->annotator, order[i - 1]->annotator) != 0)
            rq->names[ids++] = order[i]->annotator;
        order[i]->ann = ids - 1;
    }
    qsort(order, n, sizeof *order, s_by_record);
    jury_err err = JURY_OK;
    uint64_t record = 0;
    for (size_t i = 0; err == JURY_OK && i < n; i++) {
        if (i > 0 && strcmp(order[i]->record, order[i - 1]->record) != 0)
            record++;
        jury_quality_response_t r = {record, order[i]->ann, order[i]->status, JURY_QUALITY_NO_TIME,
                                     rq->line_cats + order[i]->seq * rq->nt};
        err = jury_quality_add(rq->table, &r);
    }
    free(order);
    return err;
}

/* Rounds to 6 decimals (no negative zero), as the agreement report does. */
static cJSON *s_number(const jury_measure_t *m)
{
    if (!m->ok || !isfinite(m->value))
        return cJSON_CreateNull();
    double r = round(m->value * 1e6) / 1e6;
    return cJSON_CreateNumber(r == 0 ? 0 : r);
}

/* One row waiting to be sorted by name. */
typedef struct {
    const char *name;              /* borrowed from the store's snapshot or the lines */
    const char *state;             /* static */
    const jury_quality_row_t *row; /* borrowed from the table */
    uint64_t gold_answered;        /* gold answers checked, over every question */
    uint64_t gold_correct;         /* of those, right */
} s_named;

/* Pools one row of gold counts into the annotator's entry. */
typedef struct {
    s_named *named; /* the rows */
    size_t n;       /* how many */
} s_gold_pool;

static jury_err s_gold_row(uint32_t annotator, const char *question, uint64_t answered,
                           uint64_t correct, void *arg)
{
    (void)question;
    s_gold_pool *p = arg;
    for (size_t i = 0; i < p->n; i++)
        if (p->named[i].row->annotator == annotator) {
            p->named[i].gold_answered += answered;
            p->named[i].gold_correct += correct;
        }
    return JURY_OK;
}

static int s_named_cmp(const void *x, const void *y)
{
    const s_named *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c
             : (a->row->annotator > b->row->annotator) - (a->row->annotator < b->row->annotator);
}

/* Adds item to o under key; false (and item freed) when that fails. */
static bool s_add(cJSON *o, const char *key, cJSON *item)
{
    if (item != NULL && cJSON_AddItemToObject(o, key, item))
        return true;
    cJSON_Delete(item);
    return false;
}

static cJSON *s_row_json(const jury_report_quality_t *rq, const s_named *nr)
{
    const jury_quality_row_t *row = nr->row;
    cJSON *o = cJSON_CreateObject();
    cJSON *agreement = cJSON_CreateObject();
    bool ok = o != NULL && s_add(o, "annotator", cJSON_CreateString(nr->name)) &&
              s_add(o, "submitted", cJSON_CreateNumber((double)row->submitted)) &&
              s_add(o, "discarded", cJSON_CreateNumber((double)row->discarded)) &&
              s_add(o, "draft", cJSON_CreateNumber((double)row->draft)) &&
              s_add(o, "discard_rate", s_number(&row->discard_rate));
    for (size_t i = 0; ok && agreement && i < rq->nt; i++)
        ok = s_add(agreement, rq->tracked[i].name, s_number(&row->agreement[i]));
    ok = ok && s_add(o, "agreement", agreement);
    agreement = NULL;
    ok = ok && s_add(o, "agreement_mean", s_number(&row->agreement_mean)) &&
         s_add(o, "median_seconds", s_number(&row->median_seconds)) &&
         /* Accuracy on gold answers, pooled over the questions; null without any. */
         s_add(o, "gold",
               nr->gold_answered
                   ? cJSON_CreateNumber(
                         round((double)nr->gold_correct / (double)nr->gold_answered * 1e6) / 1e6)
                   : cJSON_CreateNull()) &&
         s_add(o, "state", cJSON_CreateString(nr->state));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The state of store annotator id on dataset ds and its name (borrowed from txn). */
static jury_err s_store_annotator(jury_txn_t *txn, uint32_t ds, uint32_t id, const char **name,
                                  const char **state)
{
    jury_annotator_t a;
    jury_err err = jury_store_annotator_get(txn, id, &a);
    if (err != JURY_OK)
        return err == JURY_ENOTFOUND ? JURY_ECORRUPT : err;
    *name = a.name;
    *state = "active";
    if (a.disabled) {
        *state = "disabled";
        return JURY_OK;
    }
    int64_t since;
    const char *reason;
    size_t reason_len;
    err = jury_store_pause_get(txn, ds, id, &since, &reason, &reason_len);
    if (err == JURY_OK)
        *state = "paused";
    return err == JURY_ENOTFOUND ? JURY_OK : err;
}

jury_err jury_report_quality_build(jury_report_quality_t *rq, jury_txn_t *txn, uint32_t ds,
                                   cJSON **out)
{
    if (rq == NULL || out == NULL || (rq->source == S_STORE && txn == NULL))
        return JURY_EINVAL;
    jury_err err = JURY_OK;
    if (rq->source == S_FILE && !rq->fed) {
        rq->fed = true;
        if ((err = s_feed_lines(rq)) != JURY_OK)
            return err;
    }
    const jury_quality_row_t *rows;
    size_t n;
    if ((err = jury_quality_rows(rq->table, &rows, &n)) != JURY_OK)
        return err;
    s_named *named = malloc((n ? n : 1) * sizeof *named);
    cJSON *arr = cJSON_CreateArray();
    if (named == NULL || arr == NULL) {
        err = JURY_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        named[i].row = &rows[i];
        named[i].gold_answered = named[i].gold_correct = 0;
        if (rq->source == S_STORE) {
            err = s_store_annotator(txn, ds, rows[i].annotator, &named[i].name, &named[i].state);
            if (err != JURY_OK)
                goto fail;
        } else {
            named[i].name = rq->names[rows[i].annotator];
            named[i].state = "-";
        }
    }
    if (rq->source == S_STORE) {
        s_gold_pool pool = {named, n};
        if ((err = jury_store_gold_each(txn, ds, s_gold_row, &pool)) != JURY_OK)
            goto fail;
    }
    qsort(named, n, sizeof *named, s_named_cmp);
    for (size_t i = 0; i < n; i++) {
        cJSON *o = s_row_json(rq, &named[i]);
        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            err = JURY_ENOMEM;
            goto fail;
        }
    }
    free(named);
    *out = arr;
    return JURY_OK;
fail:
    free(named);
    cJSON_Delete(arr);
    return err;
}

/* ---- text -------------------------------------------------------------------------------------
 */

char *jury_report_quality_text(const cJSON *rows)
{
    report_buf_t b = {0};
    if (cJSON_GetArraySize(rows) == 0)
        return report_buf_finish(&b);
    size_t w = strlen("annotator");
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
    {
        size_t x = report_width(report_str(r, "annotator"));
        w = x > w ? x : w;
    }
    report_buf_puts(&b, "\nannotator quality\n  ");
    report_pad(&b, "annotator", w + 2);
    report_buf_printf(&b, "%9s%11s%10s%11s%10s%7s  %s\n", "submitted", "discarded", "discard%",
                      "agreement", "median s", "gold", "state");
    cJSON_ArrayForEach(r, rows)
    {
        double v, sub = 0, disc = 0;
        report_num(r, "submitted", &sub);
        report_num(r, "discarded", &disc);
        report_buf_puts(&b, "  ");
        report_pad(&b, report_str(r, "annotator"), w + 2);
        report_buf_printf(&b, "%9.0f%11.0f", sub, disc);
        if (report_num(r, "discard_rate", &v))
            report_buf_printf(&b, "%9.1f%%", v * 100);
        else
            report_buf_printf(&b, "%10s", "-");
        if (report_num(r, "agreement_mean", &v))
            report_buf_printf(&b, "%11.3f", v);
        else
            report_buf_printf(&b, "%11s", "-");
        /* Simulated annotators answer in milliseconds, people in seconds or minutes. */
        if (report_num(r, "median_seconds", &v))
            report_buf_printf(&b, v < 1 ? "%10.3f" : v < 100 ? "%10.1f" : "%10.0f", v);
        else
            report_buf_printf(&b, "%10s", "-");
        if (report_num(r, "gold", &v))
            report_buf_printf(&b, "%7.3f", v);
        else
            report_buf_printf(&b, "%7s", "-");
        const char *state = report_str(r, "state");
        report_buf_puts(&b, "  ");
        report_put_clean(&b, state ? state : "-");
        report_buf_puts(&b, "\n");
    }
    return report_buf_finish(&b);
}
