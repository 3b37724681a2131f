/* report.c: the agreement report: responses collected per question, measured with agreement.h,
 * returned as a JSON model and rendered as text. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "jury_utf8.h"
#include "report_internal.h"
#include "report_quality.h"

/* Span offsets above this cannot point into any record: a record line is at most 16 MiB, so its
 * text has fewer code points (import.h, JURY_IMPORT_LINE_MAX). Checked here because offline
 * responses come without their records' text. */
#define S_SPAN_OFFSET_MAX ((uint32_t)16 << 20)

/* Lines of annotator pairs the text report prints before it elides the middle ones. */
#define S_TEXT_PAIRS_MAX 30

/* ---- interning: byte strings to dense indices -------------------------------------------------
 */

/* Distinct byte strings, each given the next index in order of first appearance. */
typedef struct {
    char **keys;  /* key bytes, each its own allocation (aligned for any array), NUL-terminated */
    size_t *lens; /* key lengths in bytes */
    uint32_t n;   /* keys held */
    uint32_t cap; /* room in keys and lens */
    uint32_t *slots; /* open addressing: index + 1, 0 when empty */
    size_t nslots;   /* a power of two, at least twice n */
} s_intern;

static uint64_t s_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static void s_intern_free(s_intern *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->lens);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* Finds key; true with its index in *idx. */
static bool s_intern_find(const s_intern *t, const void *key, size_t len, uint32_t *idx)
{
    if (t->nslots == 0)
        return false;
    for (size_t i = s_hash(key, len) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
        uint32_t v = t->slots[i];
        if (v == 0)
            return false;
        if (t->lens[v - 1] == len && memcmp(t->keys[v - 1], key, len) == 0) {
            *idx = v - 1;
            return true;
        }
    }
}

static void s_intern_place(s_intern *t, uint32_t idx)
{
    size_t i = s_hash(t->keys[idx], t->lens[idx]) & (t->nslots - 1);
    while (t->slots[i] != 0)
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = idx + 1;
}

/* Finds key or adds a copy of it; its index goes to *idx and *added says which. */
static jury_err s_intern_add(s_intern *t, const void *key, size_t len, uint32_t *idx, bool *added)
{
    if (added)
        *added = false;
    if (s_intern_find(t, key, len, idx))
        return JURY_OK;
    if (t->n == UINT32_MAX - 1)
        return JURY_ETOOBIG;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        char **keys = realloc(t->keys, cap * sizeof *keys);
        if (keys == NULL)
            return JURY_ENOMEM;
        t->keys = keys;
        size_t *lens = realloc(t->lens, cap * sizeof *lens);
        if (lens == NULL)
            return JURY_ENOMEM;
        t->lens = lens;
        t->cap = cap;
    }
    if ((size_t)(t->n + 1) * 2 > t->nslots) {
        size_t nslots = t->nslots ? t->nslots * 2 : 32;
        uint32_t *slots = calloc(nslots, sizeof *slots);
        if (slots == NULL)
            return JURY_ENOMEM;
        free(t->slots);
        t->slots = slots;
        t->nslots = nslots;
        for (uint32_t i = 0; i < t->n; i++)
            s_intern_place(t, i);
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return JURY_ENOMEM;
    if (len)
        memcpy(copy, key, len);
    copy[len] = '\0';
    t->keys[t->n] = copy;
    t->lens[t->n] = len;
    s_intern_place(t, t->n);
    *idx = t->n++;
    if (added)
        *added = true;
    return JURY_OK;
}

/* ---- a map from 64-bit keys to dense indices ----------------------------------------------------
 */

typedef struct {
    uint64_t *keys; /* key + 1, 0 when empty */
    uint32_t *vals; /* the index of each slot's key */
    size_t nslots;  /* a power of two */
    size_t n;       /* keys held */
} s_map64;

static void s_map64_free(s_map64 *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static uint64_t s_mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* Finds key; when absent and val is not UINT32_MAX, adds it with val. *found says whether it was
 * there, *out holds its index. */
static jury_err s_map64_get(s_map64 *m, uint64_t key, uint32_t val, bool *found, uint32_t *out)
{
    if ((m->n + 1) * 2 > m->nslots) {
        size_t nslots = m->nslots ? m->nslots * 2 : 64;
        uint64_t *keys = calloc(nslots, sizeof *keys);
        uint32_t *vals = malloc(nslots * sizeof *vals);
        if (keys == NULL || vals == NULL) {
            free(keys);
            free(vals);
            return JURY_ENOMEM;
        }
        for (size_t i = 0; i < m->nslots; i++) {
            if (m->keys[i] == 0)
                continue;
            size_t j = s_mix64(m->keys[i] - 1) & (nslots - 1);
            while (keys[j] != 0)
                j = (j + 1) & (nslots - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->nslots = nslots;
    }
    size_t i = s_mix64(key) & (m->nslots - 1);
    while (m->keys[i] != 0) {
        if (m->keys[i] == key + 1) {
            *found = true;
            *out = m->vals[i];
            return JURY_OK;
        }
        i = (i + 1) & (m->nslots - 1);
    }
    *found = false;
    if (val != UINT32_MAX) {
        m->keys[i] = key + 1;
        m->vals[i] = val;
        m->n++;
        *out = val;
    }
    return JURY_OK;
}

/* ---- the report ------------------------------------------------------------------------------ */

/* One kept answer to one question. */
typedef struct {
    uint32_t rec;   /* record index */
    uint32_t ann;   /* annotator index */
    uint32_t value; /* category (label, rating) or item index (others) */
} s_obs;

/* One question of the settings and the answers kept for it. */
typedef struct {
    const char *name;        /* borrowed from the settings */
    jury_question_type type; /* its type */
    bool active;             /* reported (opts->question is NULL or names it) */
    s_intern labels;         /* label, multi-label and span labels; ranking values */
    uint32_t k;              /* categories: labels, or rating values */
    double numeric[11];      /* rating: category i's value, ascending */
    int rating_cat[11];      /* rating: the category of value v (0..10), -1 when not a value */
    s_intern items;          /* multi-label, ranking, text, span: distinct answers, as bytes */
    s_obs *obs;              /* kept answers */
    size_t nobs;             /* answers in obs */
    size_t cap;              /* room in obs */
} s_question;

struct jury_report {
    const jury_settings_t *s; /* borrowed */
    jury_alpha_level_t level; /* for label and rating questions */
    bool level_set;           /* the caller chose level */
    uint32_t bootstrap;       /* resamples */
    uint64_t seed;            /* bootstrap seed */
    uint32_t contested;       /* records listed as most contested */
    uint32_t expected_pairs;  /* distance budget of an exact D_e for text questions */
    s_question *qs;           /* one per question of the settings */
    size_t nq;                /* questions */
    s_intern records;         /* record ids in order of first appearance */
    s_intern annotators;      /* annotator names in order of first appearance */
    s_map64 answered;         /* (record, annotator) pairs seen, for duplicates (not trusted) */
    bool trusted;             /* opts->trusted: no duplicate check, light value checks */
    uint32_t last_rec;        /* the record of the last response, when records.n > 0 */
};

/* Empties err: every entry point starts with no reason. */
static void s_errclear(char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
}

static void s_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *s_level_name(jury_alpha_level_t l)
{
    static const char *const names[] = {"nominal", "ordinal", "interval", "ratio"};
    return (unsigned)l < 4 ? names[l] : "nominal";
}

/* Reads the labels (a {value: title} object) or ranking values of question q from the normalised
 * settings into q->labels, in their order. */
static jury_err s_question_options(s_question *q, const cJSON *qjson, const char *key)
{
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(qjson, key);
    const cJSON *o;
    cJSON_ArrayForEach(o, opts)
    {
        const char *name = cJSON_IsString(o) && cJSON_IsArray(opts) ? o->valuestring : o->string;
        uint32_t idx;
        if (name == NULL)
            return JURY_ECORRUPT;
        jury_err rc = s_intern_add(&q->labels, name, strlen(name), &idx, NULL);
        if (rc != JURY_OK)
            return rc;
    }
    return JURY_OK;
}

static jury_err s_question_init(s_question *q, const cJSON *qjson)
{
    for (int v = 0; v <= 10; v++)
        q->rating_cat[v] = -1;
    switch (q->type) {
    case JURY_QUESTION_RATING: {
        /* Categories in ascending order of value, as ordered levels need. */
        bool present[11] = {false};
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(qjson, "values"))
        {
            if (cJSON_IsNumber(v) && v->valueint >= 0 && v->valueint <= 10)
                present[v->valueint] = true;
        }
        for (int r = 0; r <= 10; r++)
            if (present[r]) {
                q->rating_cat[r] = (int)q->k;
                q->numeric[q->k++] = r;
            }
        return q->k ? JURY_OK : JURY_ECORRUPT;
    }
    case JURY_QUESTION_LABEL_SELECTION:
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
    case JURY_QUESTION_SPAN: {
        jury_err rc = s_question_options(q, qjson, "labels");
        q->k = q->labels.n;
        return rc;
    }
    case JURY_QUESTION_RANKING: {
        jury_err rc = s_question_options(q, qjson, "values");
        q->k = q->labels.n;
        return rc;
    }
    case JURY_QUESTION_TEXT:
        return JURY_OK;
    }
    return JURY_ECORRUPT;
}

void jury_report_destroy(jury_report_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    jury_report_t *r = *self_p;
    for (size_t i = 0; i < r->nq; i++) {
        s_intern_free(&r->qs[i].labels);
        s_intern_free(&r->qs[i].items);
        free(r->qs[i].obs);
    }
    free(r->qs);
    s_intern_free(&r->records);
    s_intern_free(&r->annotators);
    s_map64_free(&r->answered);
    free(r);
    *self_p = NULL;
}

jury_err jury_report_new(jury_report_t **out, const jury_settings_t *s,
                         const jury_report_opts_t *opts, char *err, size_t errlen)
{
    static const jury_report_opts_t defaults = {0};
    s_errclear(err, errlen);
    if (out == NULL || s == NULL)
        return JURY_EINVAL;
    if (opts == NULL)
        opts = &defaults;
    if ((unsigned)opts->level > JURY_REPORT_LEVEL_RATIO) {
        s_errf(err, errlen, "unknown measurement level %d", (int)opts->level);
        return JURY_EINVAL;
    }
    if (opts->question && jury_settings_question_index(s, opts->question) < 0) {
        report_buf_t list = {0};
        for (size_t i = 0; i < jury_settings_question_count(s); i++)
            report_buf_printf(&list, "%s%s", i ? ", " : "", jury_settings_question_name(s, i));
        s_errf(err, errlen, "no question \"%s\" in the settings (questions: %s)", opts->question,
               list.data ? list.data : "");
        free(list.data);
        return JURY_ENOTFOUND;
    }
    jury_report_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return JURY_ENOMEM;
    r->s = s;
    r->level_set = opts->level != JURY_REPORT_LEVEL_DEFAULT;
    r->level = r->level_set ? (jury_alpha_level_t)(opts->level - 1) : JURY_ALPHA_NOMINAL;
    r->bootstrap = opts->bootstrap ? opts->bootstrap : JURY_REPORT_BOOTSTRAP_DEFAULT;
    r->seed = opts->seed;
    r->contested = opts->contested ? opts->contested : JURY_REPORT_CONTESTED_DEFAULT;
    r->expected_pairs = opts->expected_pairs ? opts->expected_pairs : JURY_REPORT_PAIRS_DEFAULT;
    r->trusted = opts->trusted;
    r->nq = jury_settings_question_count(s);
    r->qs = calloc(r->nq ? r->nq : 1, sizeof *r->qs);
    /* The normalised settings carry what settings.h has no accessor for: labels, values. */
    char *text = jury_settings_to_json(s, false);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    jury_err rc = r->qs && doc ? JURY_OK : JURY_ENOMEM;
    const cJSON *qjson = cJSON_GetObjectItemCaseSensitive(doc, "questions");
    for (size_t i = 0; rc == JURY_OK && i < r->nq; i++) {
        s_question *q = &r->qs[i];
        q->name = jury_settings_question_name(s, i);
        q->type = jury_settings_question_type(s, i);
        q->active = opts->question == NULL || strcmp(opts->question, q->name) == 0;
        rc = s_question_init(q, cJSON_GetArrayItem(qjson, (int)i));
    }
    cJSON_Delete(doc);
    if (rc != JURY_OK) {
        jury_report_destroy(&r);
        return rc;
    }
    *out = r;
    return JURY_OK;
}

/* ---- adding responses ------------------------------------------------------------------------ */

static int s_u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static int s_span_cmp(const void *x, const void *y)
{
    const jury_span_t *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return (a->label > b->label) - (a->label < b->label);
}

/*
 * The canonical bytes of a checked answer to a multi-label, ranking, text or span question, so
 * that equal answers share one item: sorted label indices; one rank per ranking value; the text;
 * sorted spans. *buf is malloc'ed (the caller frees it) except for text, which is borrowed.
 */
static jury_err s_item_key(const s_question *q, const cJSON *v, void **buf, const void **key,
                           size_t *len)
{
    *buf = NULL;
    switch (q->type) {
    case JURY_QUESTION_TEXT:
        *key = v->valuestring;
        *len = strlen(v->valuestring);
        return JURY_OK;
    case JURY_QUESTION_MULTI_LABEL_SELECTION: {
        size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
        uint32_t *labels = malloc((n ? n : 1) * sizeof *labels);
        if (labels == NULL)
            return JURY_ENOMEM;
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            uint32_t idx = 0;
            s_intern_find(&q->labels, c->valuestring, strlen(c->valuestring), &idx);
            labels[i++] = idx;
        }
        qsort(labels, n, sizeof *labels, s_u32_cmp);
        *buf = labels;
        *key = labels;
        *len = n * sizeof *labels;
        return JURY_OK;
    }
    case JURY_QUESTION_RANKING: {
        uint32_t *rank = calloc(q->k ? q->k : 1, sizeof *rank);
        if (rank == NULL)
            return JURY_ENOMEM;
        uint32_t pos = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            /* An item is a value, or with allow_ties a list of values sharing one rank. */
            const cJSON *one = cJSON_IsArray(c) ? c->child : c;
            for (; one; one = cJSON_IsArray(c) ? one->next : NULL) {
                uint32_t idx = 0;
                if (cJSON_IsString(one) &&
                    s_intern_find(&q->labels, one->valuestring, strlen(one->valuestring), &idx))
                    rank[idx] = pos;
            }
            pos++;
        }
        *buf = rank;
        *key = rank;
        *len = q->k * sizeof *rank;
        return JURY_OK;
    }
    case JURY_QUESTION_SPAN: {
        size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
        jury_span_t *spans = malloc((n ? n : 1) * sizeof *spans);
        if (spans == NULL)
            return JURY_ENOMEM;
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            const char *label = cJSON_GetObjectItemCaseSensitive(c, "label")->valuestring;
            uint32_t idx = 0;
            s_intern_find(&q->labels, label, strlen(label), &idx);
            spans[i++] = (jury_span_t){
                (uint32_t)cJSON_GetObjectItemCaseSensitive(c, "start")->valuedouble,
                (uint32_t)cJSON_GetObjectItemCaseSensitive(c, "end")->valuedouble, idx};
        }
        qsort(spans, n, sizeof *spans, s_span_cmp);
        *buf = spans;
        *key = spans;
        *len = n * sizeof *spans;
        return JURY_OK;
    }
    default:
        return JURY_EINTERNAL;
    }
}

/* What jury_settings_check_value cannot check without the record: span offsets within reach. */
static jury_err s_check_spans(const s_question *q, const cJSON *v, char *err, size_t errlen)
{
    if (q->type != JURY_QUESTION_SPAN)
        return JURY_OK;
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        double end = cJSON_GetObjectItemCaseSensitive(c, "end")->valuedouble;
        if (end > S_SPAN_OFFSET_MAX) {
            s_errf(err, errlen,
                   "/values/%s: span %zu: end (%.0f) is beyond any record's text (at most %u "
                   "characters)",
                   q->name, i, end, S_SPAN_OFFSET_MAX);
            return JURY_EINVAL;
        }
        i++;
    }
    return JURY_OK;
}

static jury_err s_keep(s_question *q, uint32_t rec, uint32_t ann, const cJSON *v)
{
    uint32_t value = 0;
    jury_err rc = JURY_OK;
    if (q->type == JURY_QUESTION_RATING) {
        value = (uint32_t)q->rating_cat[v->valueint];
    } else if (q->type == JURY_QUESTION_LABEL_SELECTION) {
        s_intern_find(&q->labels, v->valuestring, strlen(v->valuestring), &value);
    } else {
        void *buf;
        const void *key;
        size_t len;
        if ((rc = s_item_key(q, v, &buf, &key, &len)) != JURY_OK)
            return rc;
        rc = s_intern_add(&q->items, key, len, &value, NULL);
        free(buf);
        if (rc != JURY_OK)
            return rc;
    }
    if (q->nobs == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        s_obs *obs = realloc(q->obs, cap * sizeof *obs);
        if (obs == NULL)
            return JURY_ENOMEM;
        q->obs = obs;
        q->cap = cap;
    }
    q->obs[q->nobs++] = (s_obs){rec, ann, value};
    return JURY_OK;
}

/*
 * The checks of a trusted response (opts->trusted): only what s_keep needs to keep each value
 * safely. Rating and label answers, the common ones, are checked here directly; the other types
 * still go through jury_settings_check_value, as their keys read the value's structure.
 */
static jury_err s_check_trusted(const jury_report_t *r, const cJSON *values, char *err,
                                size_t errlen)
{
    if (!cJSON_IsObject(values)) {
        s_errf(err, errlen, "/values: must be an object of answers by question name");
        return JURY_EINVAL;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        int qi = jury_settings_question_index(r->s, v->string);
        if (qi < 0) {
            s_errf(err, errlen, "/values/%s: no question \"%s\" in the settings", v->string,
                   v->string);
            return JURY_EINVAL;
        }
        if (cJSON_IsNull(v))
            continue;
        const s_question *q = &r->qs[qi];
        uint32_t idx;
        jury_err rc = JURY_OK;
        switch (q->type) {
        case JURY_QUESTION_RATING:
            if (!cJSON_IsNumber(v) || v->valueint < 0 || v->valueint > 10 ||
                v->valuedouble != (double)v->valueint || q->rating_cat[v->valueint] < 0) {
                s_errf(err, errlen, "/values/%s: not one of the question's rating values", q->name);
                rc = JURY_EINVAL;
            }
            break;
        case JURY_QUESTION_LABEL_SELECTION:
            if (!cJSON_IsString(v) ||
                !s_intern_find(&q->labels, v->valuestring, strlen(v->valuestring), &idx)) {
                s_errf(err, errlen, "/values/%s: not one of the question's labels", q->name);
                rc = JURY_EINVAL;
            }
            break;
        default: {
            char why[256] = "";
            rc = jury_settings_check_value(r->s, (size_t)qi, v, NULL, why, sizeof why);
            if (rc == JURY_EINVAL)
                s_errf(err, errlen, "/values/%s: %s", q->name, why);
            else if (rc == JURY_OK)
                rc = s_check_spans(q, v, err, errlen);
            break;
        }
        }
        if (rc != JURY_OK)
            return rc;
    }
    return JURY_OK;
}

jury_err jury_report_add(jury_report_t *r, const char *record, const char *annotator,
                         bool submitted, const cJSON *values, char *err, size_t errlen)
{
    s_errclear(err, errlen);
    if (r == NULL || record == NULL || annotator == NULL)
        return JURY_EINVAL;
    jury_err rc;
    if (values != NULL && !cJSON_IsNull(values)) {
        if (r->trusted) {
            if ((rc = s_check_trusted(r, values, err, errlen)) != JURY_OK)
                return rc;
        } else {
            if ((rc = jury_settings_check_answers(r->s, values, false, NULL, err, errlen)) !=
                JURY_OK)
                return rc;
            const cJSON *v;
            cJSON_ArrayForEach(v, values)
            {
                int qi = jury_settings_question_index(r->s, v->string);
                if (qi >= 0 && !cJSON_IsNull(v) &&
                    (rc = s_check_spans(&r->qs[qi], v, err, errlen)) != JURY_OK)
                    return rc;
            }
        }
    }
    /* Responses of one record usually arrive together (the store walks them so): the last
     * record is compared before the table is searched. */
    uint32_t rec, ann, dummy;
    size_t rlen = strlen(record), alen = strlen(annotator);
    bool rec_known = r->records.n > 0 && r->records.lens[r->last_rec] == rlen &&
                     memcmp(r->records.keys[r->last_rec], record, rlen) == 0;
    if (rec_known)
        rec = r->last_rec;
    else
        rec_known = s_intern_find(&r->records, record, rlen, &rec);
    bool ann_known = s_intern_find(&r->annotators, annotator, alen, &ann);
    /* The store keeps one response per record and annotator; a file must too. */
    if (!r->trusted && rec_known && ann_known) {
        bool found;
        if ((rc = s_map64_get(&r->answered, (uint64_t)rec << 32 | ann, UINT32_MAX, &found,
                              &dummy)) != JURY_OK)
            return rc;
        if (found) {
            s_errf(err, errlen, "annotator \"%s\" has a second response to record \"%s\"",
                   annotator, record);
            return JURY_EEXIST;
        }
    }
    if ((!rec_known && (rc = s_intern_add(&r->records, record, rlen, &rec, NULL)) != JURY_OK) ||
        (!ann_known && (rc = s_intern_add(&r->annotators, annotator, alen, &ann, NULL)) != JURY_OK))
        return rc;
    r->last_rec = rec;
    if (!r->trusted) {
        bool found;
        if ((rc = s_map64_get(&r->answered, (uint64_t)rec << 32 | ann, 0, &found, &dummy)) !=
            JURY_OK)
            return rc;
    }
    if (!submitted || values == NULL)
        return JURY_OK;
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        int qi = jury_settings_question_index(r->s, v->string);
        if (qi < 0 || cJSON_IsNull(v) || !r->qs[qi].active)
            continue;
        if ((rc = s_keep(&r->qs[qi], rec, ann, v)) != JURY_OK)
            return rc;
    }
    return JURY_OK;
}

/* True when JSON text ends inside a string, an object or an array: it was cut short. */
static bool s_unclosed(const char *s, size_t n)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return in_string || depth > 0;
}

jury_err jury_report_add_line(jury_report_t *r, const char *line, size_t len, char *err,
                              size_t errlen)
{
    size_t bad;
    s_errclear(err, errlen);
    if (r == NULL || (line == NULL && len > 0))
        return JURY_EINVAL;
    if (!jury_utf8_valid(line, len, &bad)) {
        s_errf(err, errlen, "invalid UTF-8 at byte %zu of the line", bad + 1);
        return JURY_EINVAL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (doc == NULL) {
        size_t at = end && end >= line ? (size_t)(end - line) : 0;
        if (s_unclosed(line, len))
            s_errf(err, errlen, "truncated JSON: the line ends inside a value");
        else
            s_errf(err, errlen, "invalid JSON at byte %zu of the line", at + 1);
        return JURY_EINVAL;
    }
    size_t after = (size_t)(end - line);
    while (after < len && (line[after] == ' ' || line[after] == '\t' || line[after] == '\r'))
        after++;
    jury_err rc = JURY_EINVAL;
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(doc, "record");
    const cJSON *annotator = cJSON_GetObjectItemCaseSensitive(doc, "annotator");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(doc, "values");
    char id[32];
    const char *rid = NULL;
    const cJSON *c;
    if (after < len) {
        s_errf(err, errlen, "invalid JSON at byte %zu of the line: text after the response",
               after + 1);
        goto done;
    }
    if (!cJSON_IsObject(doc)) {
        s_errf(err, errlen, "/: a response must be a JSON object");
        goto done;
    }
    cJSON_ArrayForEach(c, doc)
    {
        if (strcmp(c->string, "record") && strcmp(c->string, "annotator") &&
            strcmp(c->string, "status") && strcmp(c->string, "values")) {
            s_errf(err, errlen,
                   "/%s: unknown key; a response has \"record\", \"annotator\", \"status\" and "
                   "\"values\"",
                   c->string);
            goto done;
        }
    }
    if (cJSON_IsString(record) && record->valuestring[0] != '\0') {
        rid = record->valuestring;
    } else if (cJSON_IsNumber(record) && record->valuedouble == floor(record->valuedouble) &&
               fabs(record->valuedouble) < 9007199254740992.0) {
        snprintf(id, sizeof id, "%.0f", record->valuedouble);
        rid = id;
    } else {
        s_errf(err, errlen,
               "/record: a response needs the record's id (a non-empty string or "
               "an integer)");
        goto done;
    }
    if (!cJSON_IsString(annotator) || annotator->valuestring[0] == '\0') {
        s_errf(err, errlen,
               "/annotator: a response needs the annotator's name (a non-empty "
               "string)");
        goto done;
    }
    bool submitted = cJSON_IsString(status) && strcmp(status->valuestring, "submitted") == 0;
    if (!submitted && !(cJSON_IsString(status) && (strcmp(status->valuestring, "discarded") == 0 ||
                                                   strcmp(status->valuestring, "draft") == 0))) {
        s_errf(err, errlen, "/status: must be \"submitted\", \"discarded\" or \"draft\"");
        goto done;
    }
    if (submitted ? !cJSON_IsObject(values)
                  : (values && !cJSON_IsObject(values) && !cJSON_IsNull(values))) {
        s_errf(err, errlen, "/values: must be an object of answers by question name");
        goto done;
    }
    rc = jury_report_add(r, rid, annotator->valuestring, submitted, values, err, errlen);
done:
    cJSON_Delete(doc);
    return rc;
}

/* ---- measuring --------------------------------------------------------------------------------
 */

/* Rounds to 6 decimals (no negative zero), so that the model reads well and compares exactly. */
static double s_round(double v)
{
    double r = round(v * 1e6) / 1e6;
    return r == 0 ? 0 : r;
}

/* A number, rounded, or null when not finite. */
static cJSON *s_number(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(s_round(v)) : cJSON_CreateNull();
}

/* The question model being built, and its first failure. */
typedef struct {
    cJSON *q;     /* the question's object */
    cJSON *notes; /* its "notes" array */
    bool failed;  /* an allocation failed */
} s_out;

static void s_add(s_out *o, cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        o->failed = true;
    }
}

static void s_note(s_out *o, const char *key, const char *note)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s: %s", key, note ? note : "cannot be computed");
    cJSON *s = cJSON_CreateString(buf);
    if (s == NULL || !cJSON_AddItemToArray(o->notes, s)) {
        cJSON_Delete(s);
        o->failed = true;
    }
}

/* Adds key: the measure, or null and a note. */
static void s_measure(s_out *o, const char *key, jury_measure_t m)
{
    if (m.ok && isfinite(m.value)) {
        s_add(o, o->q, key, s_number(m.value));
    } else {
        s_add(o, o->q, key, cJSON_CreateNull());
        s_note(o, key, m.ok ? "not a finite number" : m.note);
    }
}

static jury_measure_t s_absent(const char *note)
{
    return (jury_measure_t){false, 0, note};
}

static jury_measure_t s_present(double v)
{
    return (jury_measure_t){true, v, NULL};
}

/* One pairable-or-not record of a question: its answers are obs[first .. first+m). */
typedef struct {
    uint32_t rec;             /* record index */
    size_t first;             /* its first answer in the sorted answers */
    uint32_t m;               /* how many answers it has */
    jury_measure_t agreement; /* mean pairwise agreement, absent when m < 2 */
} s_unit;

/* Two annotators' agreement over the records both answered. */
typedef struct {
    uint32_t a, b;            /* annotator indices; in the model, a's name sorts first */
    uint32_t ra, rb;          /* their ranks in name order (set by s_common) */
    uint32_t n;               /* records both answered */
    double sum;               /* summed similarity (distance types) */
    jury_measure_t agreement; /* mean agreement */
    jury_measure_t kappa;     /* Cohen's kappa (categorical), else absent */
    jury_measure_t weighted;  /* quadratic-weighted kappa (rating), else absent */
    bool has_kappa;           /* the question type has kappas */
} s_pair;

/* One annotator's agreement with the others. */
typedef struct {
    uint32_t responses;       /* answers to this question */
    uint32_t pairs;           /* pairs with another annotator's answer on the same record */
    double sum;               /* summed similarity of those pairs (distance types) */
    jury_measure_t agreement; /* mean agreement with others */
} s_ann;

/* The state of one question's computation. */
typedef struct {
    const jury_report_t *r;
    s_question *q;
    s_unit *units; /* records with at least one answer, in record order */
    uint32_t nunits;
    s_ann *anns;   /* per annotator index (all annotators of the report) */
    s_pair *pairs; /* pairs with at least 2 shared records */
    size_t npairs;
    uint32_t coders; /* annotators with at least one answer */
} s_calc;

static int s_obs_cmp(const void *x, const void *y)
{
    const s_obs *a = x, *b = y;
    if (a->rec != b->rec)
        return a->rec < b->rec ? -1 : 1;
    return (a->ann > b->ann) - (a->ann < b->ann);
}

/* Ratings for agreement.h: unit = record index, coder = annotator index. */
static jury_rating_t *s_ratings(const s_question *q)
{
    jury_rating_t *rt = malloc((q->nobs ? q->nobs : 1) * sizeof *rt);
    if (rt == NULL)
        return NULL;
    for (size_t i = 0; i < q->nobs; i++)
        rt[i] = (jury_rating_t){q->obs[i].rec, q->obs[i].ann, q->obs[i].value};
    return rt;
}

/* Groups the sorted answers by record. */
static jury_err s_units(s_calc *c)
{
    const s_question *q = c->q;
    c->units = malloc((q->nobs ? q->nobs : 1) * sizeof *c->units);
    c->anns = calloc(c->r->annotators.n ? c->r->annotators.n : 1, sizeof *c->anns);
    if (c->units == NULL || c->anns == NULL)
        return JURY_ENOMEM;
    for (size_t i = 0; i < q->nobs; i++) {
        if (i == 0 || q->obs[i].rec != q->obs[i - 1].rec)
            c->units[c->nunits++] =
                (s_unit){q->obs[i].rec, i, 0, s_absent(JURY_NOTE_FEW_RESPONSES)};
        c->units[c->nunits - 1].m++;
        if (c->anns[q->obs[i].ann].responses++ == 0)
            c->coders++;
    }
    return JURY_OK;
}

/* Similarity of two items of a distance-type question: 1 - distance, or span F1. */
typedef struct {
    jury_question_type type;
    jury_labelset_t *sets;
    jury_ranking_t *rankings;
    jury_text_t *texts;
    const s_intern *items;
} s_items;

static jury_err s_similarity(const s_items *it, uint32_t a, uint32_t b, double *out)
{
    if (a == b) {
        *out = 1;
        return JURY_OK;
    }
    double d = 0;
    switch (it->type) {
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
        d = jury_distance_masi(&it->sets[a], &it->sets[b]);
        break;
    case JURY_QUESTION_RANKING:
        d = jury_distance_kendall_tau(&it->rankings[a], &it->rankings[b]);
        break;
    case JURY_QUESTION_TEXT: {
        jury_err rc = jury_distance_edit(&it->texts[a], &it->texts[b], &d);
        if (rc != JURY_OK)
            return rc;
        break;
    }
    case JURY_QUESTION_SPAN: {
        jury_measure_t f1;
        jury_err rc = jury_span_f1((const jury_span_t *)(const void *)it->items->keys[a],
                                   it->items->lens[a] / sizeof(jury_span_t),
                                   (const jury_span_t *)(const void *)it->items->keys[b],
                                   it->items->lens[b] / sizeof(jury_span_t), &f1);
        if (rc != JURY_OK)
            return rc;
        *out = f1.ok ? f1.value : 0;
        return JURY_OK;
    }
    default:
        return JURY_EINTERNAL;
    }
    *out = 1 - d;
    return JURY_OK;
}

/* Sorts pairs by the annotators' names (their ranks). */
static int s_pair_cmp(const void *x, const void *y)
{
    const s_pair *a = x, *b = y;
    if (a->ra != b->ra)
        return a->ra < b->ra ? -1 : 1;
    return (a->rb > b->rb) - (a->rb < b->rb);
}

/* Hayes & Krippendorff (2007): resample records with D_e held fixed. alpha* = 1 - (1 - alpha) *
 * D_o* / D_o, D_o being the summed within-record disagreement over the pairable values. */
static uint64_t s_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int s_double_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double s_quantile(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (h - (double)lo) * (sorted[hi] - sorted[lo]);
}

static jury_err s_fixed_de_bootstrap(const jury_report_t *r, const double *dis, const uint32_t *m,
                                     size_t n, double alpha, jury_interval_t *out)
{
    double d_o = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        d_o += dis[i], total += m[i];
    *out = (jury_interval_t){false, 0, 0, 0, JURY_NOTE_NO_PAIRABLE};
    if (n == 0 || total == 0)
        return JURY_OK;
    d_o /= total;
    if (d_o == 0) {
        /* No disagreement anywhere: every resample has none either. */
        *out = (jury_interval_t){true, alpha, alpha, r->bootstrap, NULL};
        return JURY_OK;
    }
    double *alphas = malloc(r->bootstrap * sizeof *alphas);
    if (alphas == NULL)
        return JURY_ENOMEM;
    uint64_t state = r->seed;
    for (uint32_t b = 0; b < r->bootstrap; b++) {
        double sd = 0, sm = 0;
        for (size_t i = 0; i < n; i++) {
            size_t u = (size_t)(s_splitmix(&state) % n);
            sd += dis[u];
            sm += m[u];
        }
        alphas[b] = 1 - (1 - alpha) * (sd / sm) / d_o;
    }
    qsort(alphas, r->bootstrap, sizeof *alphas, s_double_cmp);
    *out = (jury_interval_t){true, s_quantile(alphas, r->bootstrap, 0.025),
                             s_quantile(alphas, r->bootstrap, 0.975), r->bootstrap, NULL};
    free(alphas);
    return JURY_OK;
}

/*
 * Alpha with a distance. Exact (jury_alpha_distance) when the expected disagreement D_e needs at
 * most budget distances between distinct answers; beyond, D_e is the mean distance of budget
 * random pairs of answers (seeded, so the same on every run) and a note says so: D_e costs a
 * distance for every two distinct answers, which for thousands of long texts takes hours.
 * D_o is exact either way: dis[i] is record i's disagreement, m[i] its answers.
 */
static jury_err s_distance_alpha(s_calc *c, jury_distance_fn fn, void *arg, const uint32_t *values,
                                 const uint32_t *counts, const double *dis, const uint32_t *m,
                                 size_t n, uint32_t budget, jury_measure_t *alpha, s_out *o)
{
    const s_question *q = c->q;
    uint32_t nitems = q->items.n;
    size_t nvalues = 0;
    for (size_t i = 0; i < n; i++)
        nvalues += m[i];
    /* Distinct answers among the pairable ones. */
    bool *seen = calloc(nitems ? nitems : 1, sizeof *seen);
    uint32_t *pool = malloc((nvalues ? nvalues : 1) * sizeof *pool);
    if (seen == NULL || pool == NULL) {
        free(seen);
        free(pool);
        return JURY_ENOMEM;
    }
    size_t npool = 0, at = 0;
    double distinct = 0;
    for (uint32_t u = 0; u < c->nunits; u++) {
        for (uint32_t i = 0; counts[u] >= 2 && i < counts[u]; i++) {
            uint32_t v = values[at + i];
            pool[npool++] = v;
            if (!seen[v]) {
                seen[v] = true;
                distinct++;
            }
        }
        at += counts[u];
    }
    free(seen);
    jury_err rc = JURY_OK;
    if (distinct * (distinct - 1) / 2 <= budget || npool < 2) {
        rc = jury_alpha_distance(values, counts, c->nunits, nitems, fn, arg, alpha);
        free(pool);
        return rc;
    }
    double d_o = 0, d_e = 0;
    for (size_t i = 0; i < n; i++)
        d_o += dis[i];
    d_o /= (double)npool;
    uint64_t state = c->r->seed ^ 0x5DEECE66DULL;
    for (uint32_t k = 0; rc == JURY_OK && k < budget; k++) {
        /* Two different answers (positions), uniformly: Krippendorff's D_e pairs every value with
         * every other one. */
        size_t i = (size_t)(s_splitmix(&state) % npool);
        size_t j = (size_t)(s_splitmix(&state) % (npool - 1));
        j += j >= i;
        double d = 0;
        if (pool[i] != pool[j])
            rc = fn(pool[i], pool[j], arg, &d);
        d_e += d;
    }
    free(pool);
    if (rc != JURY_OK)
        return rc;
    d_e /= budget;
    if (d_e <= 0 && d_o > 0) /* the sample missed the rare differing answers: be exact */
        return jury_alpha_distance(values, counts, c->nunits, nitems, fn, arg, alpha);
    *alpha = d_e > 0 ? s_present(1 - d_o / d_e) : s_absent(JURY_NOTE_NO_VARIATION);
    char note[160];
    snprintf(note, sizeof note,
             "expected disagreement estimated from %u random pairs of the %zu answers", budget,
             npool);
    s_note(o, "alpha", note);
    return JURY_OK;
}

/* Label and rating questions: everything from agreement.h's categorical functions. */
static jury_err s_categorical(s_calc *c, s_out *o)
{
    const jury_report_t *r = c->r;
    s_question *q = c->q;
    bool rating = q->type == JURY_QUESTION_RATING;
    jury_alpha_level_t level = r->level_set ? r->level
                               : rating     ? JURY_ALPHA_INTERVAL
                                            : JURY_ALPHA_NOMINAL;
    /* Labels have no numbers: at ordered levels their order in the settings ranks them. */
    const double *numeric = rating ? q->numeric : NULL;
    uint32_t nunits = r->records.n, ncoders = r->annotators.n;
    jury_rating_t *rt = s_ratings(q);
    jury_measure_t *rec = calloc(nunits ? nunits : 1, sizeof *rec);
    jury_annotator_stats_t *st = calloc(ncoders ? ncoders : 1, sizeof *st);
    jury_cohen_pair_t *pairs = NULL;
    size_t npairs = 0;
    jury_err rc = rt && rec && st ? JURY_OK : JURY_ENOMEM;
    jury_measure_t alpha = s_absent(JURY_NOTE_NO_PAIRABLE), ordinal = alpha, percent = alpha;
    jury_interval_t ci = {false, 0, 0, 0, JURY_NOTE_NO_PAIRABLE};
    jury_fleiss_t fleiss = {.kappa = alpha};
    if (rc == JURY_OK && q->nobs > 0) {
        if ((rc = jury_alpha(rt, q->nobs, nunits, q->k, level, numeric, &alpha)) == JURY_OK &&
            rating)
            rc = jury_alpha(rt, q->nobs, nunits, q->k, JURY_ALPHA_ORDINAL, numeric, &ordinal);
        if (rc == JURY_OK && alpha.ok)
            rc = jury_alpha_bootstrap(rt, q->nobs, nunits, q->k, level, numeric, r->bootstrap, 0.95,
                                      r->seed, &ci);
        else
            ci.note = alpha.note;
        if (rc == JURY_OK)
            rc = jury_fleiss_kappa_ratings(rt, q->nobs, nunits, q->k, &fleiss);
        if (rc == JURY_OK)
            rc = jury_percent_agreement(rt, q->nobs, nunits, &percent);
        if (rc == JURY_OK)
            rc = jury_record_agreements(rt, q->nobs, nunits, rec);
        if (rc == JURY_OK)
            rc = jury_annotator_stats(rt, q->nobs, nunits, ncoders, st);
        if (rc == JURY_OK)
            rc = jury_cohen_pairs(rt, q->nobs, nunits, ncoders, q->k, &pairs, &npairs);
    }
    if (rc == JURY_OK && c->coders == 1) {
        /* The plainest reason wins: with one annotator nothing is pairable either. */
        const char *one = JURY_NOTE_ONE_ANNOTATOR;
        alpha = ordinal = percent = fleiss.kappa = s_absent(one);
        ci.ok = false;
        ci.note = one;
    }
    if (rc == JURY_OK) {
        s_add(o, o->q, "level", cJSON_CreateString(s_level_name(level)));
        s_measure(o, "alpha", alpha);
        if (ci.ok && isfinite(ci.low) && isfinite(ci.high)) {
            cJSON *arr = cJSON_CreateArray();
            s_add(o, o->q, "alpha_ci95", arr);
            if (arr) {
                cJSON_AddItemToArray(arr, s_number(ci.low));
                cJSON_AddItemToArray(arr, s_number(ci.high));
            }
        } else {
            s_add(o, o->q, "alpha_ci95", cJSON_CreateNull());
            s_note(o, "alpha_ci95", ci.note);
        }
        if (rating)
            s_measure(o, "alpha_ordinal", ordinal);
        s_measure(o, "fleiss_kappa", fleiss.kappa);
        s_measure(o, "percent_agreement", percent);
        for (uint32_t u = 0; u < c->nunits; u++)
            c->units[u].agreement = rec[c->units[u].rec];
        for (uint32_t a = 0; a < ncoders; a++)
            c->anns[a].agreement = st[a].with_others;
        c->pairs = calloc(npairs ? npairs : 1, sizeof *c->pairs);
        if (c->pairs == NULL)
            rc = JURY_ENOMEM;
        for (size_t i = 0; rc == JURY_OK && i < npairs; i++) {
            s_pair *p = &c->pairs[c->npairs++];
            *p = (s_pair){.a = pairs[i].a,
                          .b = pairs[i].b,
                          .n = pairs[i].shared,
                          .agreement = s_present(pairs[i].agreement),
                          .kappa = pairs[i].kappa,
                          .weighted = rating ? pairs[i].kappa_quadratic : s_absent(NULL),
                          .has_kappa = true};
        }
    }
    free(rt);
    free(rec);
    free(st);
    free(pairs);
    return rc;
}

/* Multi-label, ranking, text and span questions: pairwise similarities computed here, alpha with
 * agreement.h's distances. */
static jury_err s_distance(s_calc *c, s_out *o)
{
    const jury_report_t *r = c->r;
    s_question *q = c->q;
    const s_intern *items = &q->items;
    s_items it = {.type = q->type, .items = items};
    uint32_t *values = malloc((q->nobs ? q->nobs : 1) * sizeof *values);
    uint32_t *counts = malloc((c->nunits ? c->nunits : 1) * sizeof *counts);
    double *dis = malloc((c->nunits ? c->nunits : 1) * sizeof *dis);
    uint32_t *dm = malloc((c->nunits ? c->nunits : 1) * sizeof *dm);
    s_map64 pair_index = {0};
    s_pair *pairs = NULL;
    size_t npairs = 0, pairs_cap = 0;
    jury_err rc = values && counts && dis && dm ? JURY_OK : JURY_ENOMEM;
    if (rc == JURY_OK) {
        switch (q->type) {
        case JURY_QUESTION_MULTI_LABEL_SELECTION:
            it.sets = calloc(items->n ? items->n : 1, sizeof *it.sets);
            for (uint32_t i = 0; it.sets && i < items->n; i++)
                it.sets[i] = (jury_labelset_t){(const uint32_t *)(const void *)items->keys[i],
                                               items->lens[i] / sizeof(uint32_t)};
            rc = it.sets ? JURY_OK : JURY_ENOMEM;
            break;
        case JURY_QUESTION_RANKING:
            it.rankings = calloc(items->n ? items->n : 1, sizeof *it.rankings);
            for (uint32_t i = 0; it.rankings && i < items->n; i++)
                it.rankings[i] = (jury_ranking_t){(const uint32_t *)(const void *)items->keys[i],
                                                  items->lens[i] / sizeof(uint32_t)};
            rc = it.rankings ? JURY_OK : JURY_ENOMEM;
            break;
        case JURY_QUESTION_TEXT:
            it.texts = calloc(items->n ? items->n : 1, sizeof *it.texts);
            for (uint32_t i = 0; it.texts && i < items->n; i++)
                it.texts[i] = (jury_text_t){items->keys[i], items->lens[i]};
            rc = it.texts ? JURY_OK : JURY_ENOMEM;
            break;
        default:
            break;
        }
    }
    /* Every pair of answers within a record, once: the source of per-record, per-pair and
     * per-annotator agreement, of percent agreement and of the bootstrap's disagreements. */
    size_t ndis = 0;
    double percent_sum = 0, similarity_sum = 0;
    uint32_t pairable = 0;
    for (uint32_t u = 0; rc == JURY_OK && u < c->nunits; u++) {
        s_unit *unit = &c->units[u];
        counts[u] = unit->m;
        for (uint32_t i = 0; i < unit->m; i++)
            values[unit->first + i] = q->obs[unit->first + i].value;
        if (unit->m < 2)
            continue;
        double sim_sum = 0, equal = 0, pair_count = 0;
        for (uint32_t i = 0; rc == JURY_OK && i < unit->m; i++)
            for (uint32_t k = i + 1; rc == JURY_OK && k < unit->m; k++) {
                const s_obs *x = &q->obs[unit->first + i], *y = &q->obs[unit->first + k];
                double sim;
                if ((rc = s_similarity(&it, x->value, y->value, &sim)) != JURY_OK)
                    break;
                sim_sum += sim;
                equal += sim == 1;
                pair_count++;
                c->anns[x->ann].pairs++, c->anns[x->ann].sum += sim;
                c->anns[y->ann].pairs++, c->anns[y->ann].sum += sim;
                bool found;
                uint32_t pi;
                uint64_t key = (uint64_t)x->ann << 32 | y->ann;
                if ((rc = s_map64_get(&pair_index, key, (uint32_t)npairs, &found, &pi)) != JURY_OK)
                    break;
                if (!found) {
                    if (npairs == pairs_cap) {
                        size_t cap = pairs_cap ? pairs_cap * 2 : 64;
                        s_pair *np = realloc(pairs, cap * sizeof *np);
                        if (np == NULL) {
                            rc = JURY_ENOMEM;
                            break;
                        }
                        pairs = np;
                        pairs_cap = cap;
                    }
                    pairs[npairs++] = (s_pair){.a = x->ann, .b = y->ann};
                }
                pairs[pi].n++;
                pairs[pi].sum += sim;
            }
        if (rc != JURY_OK)
            break;
        unit->agreement = s_present(sim_sum / pair_count);
        percent_sum += equal / pair_count;
        similarity_sum += sim_sum / pair_count;
        pairable++;
        /* Krippendorff's within-unit disagreement: ordered pairs over m - 1. */
        dis[ndis] = 2 * (pair_count - sim_sum) / (unit->m - 1);
        dm[ndis++] = unit->m;
    }
    jury_measure_t alpha = s_absent(JURY_NOTE_NO_PAIRABLE);
    jury_interval_t ci = {false, 0, 0, 0, JURY_NOTE_NO_PAIRABLE};
    if (rc == JURY_OK && q->type != JURY_QUESTION_SPAN && c->coders >= 2 && pairable > 0) {
        jury_distance_fn fn = q->type == JURY_QUESTION_MULTI_LABEL_SELECTION ? jury_distance_masi_fn
                              : q->type == JURY_QUESTION_RANKING ? jury_distance_kendall_tau_fn
                                                                 : jury_distance_edit_fn;
        void *arg = q->type == JURY_QUESTION_MULTI_LABEL_SELECTION ? (void *)it.sets
                    : q->type == JURY_QUESTION_RANKING             ? (void *)it.rankings
                                                                   : (void *)it.texts;
        uint32_t budget = r->expected_pairs;
        if (q->type != JURY_QUESTION_TEXT)
            budget = budget > UINT32_MAX / 100 ? UINT32_MAX : budget * 100;
        rc = s_distance_alpha(c, fn, arg, values, counts, dis, dm, ndis, budget, &alpha, o);
        if (rc == JURY_OK && alpha.ok)
            rc = s_fixed_de_bootstrap(r, dis, dm, ndis, alpha.value, &ci);
        else
            ci.note = alpha.note;
    }
    const char *none = c->coders == 1 ? JURY_NOTE_ONE_ANNOTATOR : JURY_NOTE_NO_PAIRABLE;
    if (rc == JURY_OK && c->coders == 1) {
        alpha = s_absent(none);
        ci.note = none;
    }
    if (rc == JURY_OK) {
        jury_measure_t percent = pairable ? s_present(percent_sum / pairable) : s_absent(none);
        jury_measure_t mean = pairable ? s_present(similarity_sum / pairable) : s_absent(none);
        if (q->type != JURY_QUESTION_SPAN) {
            s_add(o, o->q, "level",
                  cJSON_CreateString(q->type == JURY_QUESTION_MULTI_LABEL_SELECTION ? "masi"
                                     : q->type == JURY_QUESTION_RANKING             ? "kendall_tau"
                                                                        : "edit_distance"));
            s_measure(o, "alpha", alpha);
            if (ci.ok) {
                cJSON *arr = cJSON_CreateArray();
                s_add(o, o->q, "alpha_ci95", arr);
                if (arr) {
                    cJSON_AddItemToArray(arr, s_number(ci.low));
                    cJSON_AddItemToArray(arr, s_number(ci.high));
                }
            } else {
                s_add(o, o->q, "alpha_ci95", cJSON_CreateNull());
                s_note(o, "alpha_ci95", ci.note);
            }
        }
        s_measure(o, "percent_agreement", percent);
        if (q->type == JURY_QUESTION_TEXT)
            s_measure(o, "mean_similarity", mean);
        if (q->type == JURY_QUESTION_SPAN)
            s_measure(o, "mean_f1", mean);
        for (uint32_t a = 0; a < r->annotators.n; a++)
            c->anns[a].agreement = c->anns[a].pairs ? s_present(c->anns[a].sum / c->anns[a].pairs)
                                                    : s_absent(JURY_NOTE_NO_SHARED);
        c->pairs = calloc(npairs ? npairs : 1, sizeof *c->pairs);
        if (c->pairs == NULL)
            rc = JURY_ENOMEM;
        for (size_t i = 0; rc == JURY_OK && i < npairs; i++) {
            /* As with Cohen's kappa, a pair needs 2 shared records. */
            if (pairs[i].n < 2)
                continue;
            s_pair *p = &c->pairs[c->npairs++];
            *p = pairs[i];
            p->agreement = s_present(p->sum / p->n);
        }
    }
    free(values);
    free(counts);
    free(dis);
    free(dm);
    free(it.sets);
    free(it.rankings);
    free(it.texts);
    free(pairs);
    s_map64_free(&pair_index);
    return rc;
}

/* Units ordered for "contested": lowest agreement first, then record order. */
static int s_contested_cmp(const void *x, const void *y)
{
    const s_unit *a = *(const s_unit *const *)x, *b = *(const s_unit *const *)y;
    if (a->agreement.value != b->agreement.value)
        return a->agreement.value < b->agreement.value ? -1 : 1;
    return (a->rec > b->rec) - (a->rec < b->rec);
}

/* An annotator's name and index, to sort annotators by name. */
typedef struct {
    const char *name; /* borrowed from the report */
    uint32_t idx;     /* annotator index */
} s_named;

static int s_named_cmp(const void *x, const void *y)
{
    return strcmp(((const s_named *)x)->name, ((const s_named *)y)->name);
}

/* pairs, annotators, record_agreement and contested: the same shape for every type. */
static jury_err s_common(s_calc *c, s_out *o)
{
    const jury_report_t *r = c->r;
    s_add(o, o->q, "records", cJSON_CreateNumber(c->nunits));
    s_add(o, o->q, "responses", cJSON_CreateNumber((double)c->q->nobs));

    /* Annotators in name order: the model's order, whatever order they came in. */
    uint32_t nann = r->annotators.n;
    s_named *order = malloc((nann ? nann : 1) * sizeof *order);
    uint32_t *rank = malloc((nann ? nann : 1) * sizeof *rank);
    if (order == NULL || rank == NULL) {
        free(order);
        free(rank);
        return JURY_ENOMEM;
    }
    for (uint32_t a = 0; a < nann; a++)
        order[a] = (s_named){r->annotators.keys[a], a};
    qsort(order, nann, sizeof *order, s_named_cmp);
    for (uint32_t i = 0; i < nann; i++)
        rank[order[i].idx] = i;
    for (size_t i = 0; i < c->npairs; i++) {
        s_pair *p = &c->pairs[i];
        if (rank[p->a] > rank[p->b]) {
            uint32_t t = p->a;
            p->a = p->b;
            p->b = t;
        }
        p->ra = rank[p->a];
        p->rb = rank[p->b];
    }
    free(rank);
    qsort(c->pairs, c->npairs, sizeof *c->pairs, s_pair_cmp);
    cJSON *pairs = cJSON_CreateArray();
    s_add(o, o->q, "pairs", pairs);
    for (size_t i = 0; pairs && i < c->npairs; i++) {
        const s_pair *p = &c->pairs[i];
        cJSON *po = cJSON_CreateObject();
        if (po == NULL || !cJSON_AddItemToArray(pairs, po)) {
            cJSON_Delete(po);
            o->failed = true;
            break;
        }
        s_add(o, po, "a", cJSON_CreateString(r->annotators.keys[p->a]));
        s_add(o, po, "b", cJSON_CreateString(r->annotators.keys[p->b]));
        s_add(o, po, "n", cJSON_CreateNumber(p->n));
        s_add(o, po, "agreement", s_number(p->agreement.value));
        const char *note = NULL;
        if (p->has_kappa) {
            s_add(o, po, "cohen_kappa",
                  p->kappa.ok ? s_number(p->kappa.value) : cJSON_CreateNull());
            if (!p->kappa.ok)
                note = p->kappa.note;
            if (c->q->type == JURY_QUESTION_RATING) {
                s_add(o, po, "weighted_kappa",
                      p->weighted.ok ? s_number(p->weighted.value) : cJSON_CreateNull());
                if (!p->weighted.ok && note == NULL)
                    note = p->weighted.note;
            }
        }
        if (note)
            s_add(o, po, "note", cJSON_CreateString(note));
    }

    cJSON *anns = cJSON_CreateObject();
    s_add(o, o->q, "annotators", anns);
    for (uint32_t i = 0; anns && i < nann; i++) {
        const s_ann *a = &c->anns[order[i].idx];
        if (a->responses == 0)
            continue;
        cJSON *ao = cJSON_CreateObject();
        s_add(o, anns, order[i].name, ao);
        if (ao == NULL)
            break;
        s_add(o, ao, "responses", cJSON_CreateNumber(a->responses));
        bool ok = a->agreement.ok && isfinite(a->agreement.value);
        s_add(o, ao, "agreement", ok ? s_number(a->agreement.value) : cJSON_CreateNull());
        if (!ok)
            s_add(o, ao, "note",
                  cJSON_CreateString(a->agreement.note ? a->agreement.note : JURY_NOTE_NO_SHARED));
    }
    free(order);

    /* Per-record agreement of the pairable records. */
    const s_unit **pairable = malloc((c->nunits ? c->nunits : 1) * sizeof *pairable);
    if (pairable == NULL)
        return JURY_ENOMEM;
    uint32_t np = 0;
    double sum = 0;
    double hist[JURY_REPORT_HISTOGRAM_BINS] = {0};
    for (uint32_t u = 0; u < c->nunits; u++) {
        const s_unit *unit = &c->units[u];
        if (unit->m < 2 || !unit->agreement.ok || !isfinite(unit->agreement.value))
            continue;
        pairable[np++] = unit;
        double v = unit->agreement.value;
        sum += v;
        int bin = (int)floor(v * JURY_REPORT_HISTOGRAM_BINS);
        hist[bin < 0                             ? 0
             : bin >= JURY_REPORT_HISTOGRAM_BINS ? JURY_REPORT_HISTOGRAM_BINS - 1
                                                 : bin]++;
    }
    cJSON *ra = cJSON_CreateObject();
    s_add(o, o->q, "record_agreement", ra);
    if (ra) {
        s_add(o, ra, "records", cJSON_CreateNumber(np));
        s_add(o, ra, "mean", np ? s_number(sum / np) : cJSON_CreateNull());
        s_add(o, ra, "histogram", cJSON_CreateDoubleArray(hist, JURY_REPORT_HISTOGRAM_BINS));
        if (np == 0)
            s_note(o, "record_agreement",
                   c->coders == 1 ? JURY_NOTE_ONE_ANNOTATOR : JURY_NOTE_NO_PAIRABLE);
    }
    qsort(pairable, np, sizeof *pairable, s_contested_cmp);
    cJSON *contested = cJSON_CreateArray();
    s_add(o, o->q, "contested", contested);
    /* Records everyone agrees on are not contested, however few the others are. */
    for (uint32_t i = 0;
         contested && i < np && i < r->contested && pairable[i]->agreement.value < 1; i++) {
        cJSON *co = cJSON_CreateObject();
        if (co == NULL || !cJSON_AddItemToArray(contested, co)) {
            cJSON_Delete(co);
            o->failed = true;
            break;
        }
        s_add(o, co, "record", cJSON_CreateString(r->records.keys[pairable[i]->rec]));
        s_add(o, co, "agreement", s_number(pairable[i]->agreement.value));
        s_add(o, co, "responses", cJSON_CreateNumber(pairable[i]->m));
    }
    free(pairable);
    return JURY_OK;
}

static const char *s_type_name(jury_question_type t)
{
    switch (t) {
    case JURY_QUESTION_TEXT:
        return "text";
    case JURY_QUESTION_RATING:
        return "rating";
    case JURY_QUESTION_LABEL_SELECTION:
        return "label_selection";
    case JURY_QUESTION_MULTI_LABEL_SELECTION:
        return "multi_label_selection";
    case JURY_QUESTION_RANKING:
        return "ranking";
    case JURY_QUESTION_SPAN:
        return "span";
    }
    return "text";
}

static jury_err s_build_question(const jury_report_t *r, s_question *q, cJSON *questions)
{
    s_out o = {cJSON_CreateObject(), cJSON_CreateArray(), false};
    if (o.q == NULL || o.notes == NULL || !cJSON_AddItemToObject(questions, q->name, o.q)) {
        cJSON_Delete(o.q);
        cJSON_Delete(o.notes);
        return JURY_ENOMEM;
    }
    /* Answers from the store usually arrive in order already; sorting them again costs. */
    bool sorted = true;
    for (size_t i = 1; sorted && i < q->nobs; i++)
        sorted = s_obs_cmp(&q->obs[i - 1], &q->obs[i]) <= 0;
    if (!sorted)
        qsort(q->obs, q->nobs, sizeof *q->obs, s_obs_cmp);
    s_calc c = {.r = r, .q = q};
    s_add(&o, o.q, "type", cJSON_CreateString(s_type_name(q->type)));
    jury_err rc = s_units(&c);
    if (rc == JURY_OK)
        rc = q->type == JURY_QUESTION_RATING || q->type == JURY_QUESTION_LABEL_SELECTION
                 ? s_categorical(&c, &o)
                 : s_distance(&c, &o);
    if (rc == JURY_OK)
        rc = s_common(&c, &o);
    if (!cJSON_AddItemToObject(o.q, "notes", o.notes)) {
        cJSON_Delete(o.notes);
        o.failed = true;
    }
    free(c.units);
    free(c.anns);
    free(c.pairs);
    return rc != JURY_OK ? rc : o.failed ? JURY_ENOMEM : JURY_OK;
}

jury_err jury_report_build(jury_report_t *r, cJSON **out)
{
    if (r == NULL || out == NULL)
        return JURY_EINVAL;
    cJSON *doc = cJSON_CreateObject();
    cJSON *questions = cJSON_AddObjectToObject(doc, "questions");
    jury_err rc = doc && questions ? JURY_OK : JURY_ENOMEM;
    for (size_t i = 0; rc == JURY_OK && i < r->nq; i++)
        if (r->qs[i].active)
            rc = s_build_question(r, &r->qs[i], questions);
    if (rc != JURY_OK) {
        cJSON_Delete(doc);
        return rc;
    }
    *out = doc;
    return JURY_OK;
}

/* ---- text ------------------------------------------------------------------------------------ */

static void s_text_num(report_buf_t *b, const cJSON *o, const char *key, int width)
{
    double v;
    if (report_num(o, key, &v))
        report_buf_printf(b, "%*.3f", width, v);
    else
        report_buf_printf(b, "%*s", width, "-");
}

static void s_text_line(report_buf_t *b, const cJSON *q, const char *key, const char *label)
{
    if (cJSON_GetObjectItemCaseSensitive(q, key) == NULL)
        return;
    report_buf_printf(b, "  %-20s", label);
    s_text_num(b, q, key, 7);
    if (strcmp(key, "alpha") == 0) {
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
        if (cJSON_GetArraySize(ci) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) &&
            cJSON_IsNumber(cJSON_GetArrayItem(ci, 1)))
            report_buf_printf(b, "   95%% interval %.3f .. %.3f",
                              cJSON_GetArrayItem(ci, 0)->valuedouble,
                              cJSON_GetArrayItem(ci, 1)->valuedouble);
    }
    report_buf_puts(b, "\n");
}

/* Pairs ordered by kappa (or agreement), highest first; pairs without a value last. */
static int s_pair_json_cmp(const void *x, const void *y)
{
    const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
    double va, vb;
    bool ha = report_pair_value(a, &va), hb = report_pair_value(b, &vb);
    if (ha != hb)
        return ha ? -1 : 1;
    if (ha && va != vb)
        return va > vb ? -1 : 1;
    int c = strcmp(report_str(a, "a"), report_str(b, "a"));
    return c ? c : strcmp(report_str(a, "b"), report_str(b, "b"));
}

static void s_text_pair(report_buf_t *b, const cJSON *p, size_t wa, size_t wb, bool kappa,
                        bool weighted)
{
    double n = 0;
    report_num(p, "n", &n);
    report_buf_puts(b, "  ");
    report_pad(b, report_str(p, "a"), wa);
    report_pad(b, report_str(p, "b"), wb);
    report_buf_printf(b, "%6.0f", n);
    if (kappa)
        s_text_num(b, p, "cohen_kappa", 9);
    if (weighted)
        s_text_num(b, p, "weighted_kappa", 10);
    s_text_num(b, p, "agreement", 11);
    const char *note = report_str(p, "note");
    if (note)
        report_buf_printf(b, "  (%s)", note);
    report_buf_puts(b, "\n");
}

static void s_text_question(report_buf_t *b, const cJSON *q)
{
    const char *type = report_str(q, "type"), *level = report_str(q, "level");
    report_buf_printf(b, "\n%s  (%s%s%s)\n", q->string, type ? type : "?", level ? ", " : "",
                      level ? level : "");
    s_text_line(b, q, "alpha", "alpha");
    s_text_line(b, q, "alpha_ordinal", "alpha (ordinal)");
    s_text_line(b, q, "fleiss_kappa", "Fleiss' kappa");
    s_text_line(b, q, "mean_similarity", "mean similarity");
    s_text_line(b, q, "mean_f1", "mean F1");
    s_text_line(b, q, "percent_agreement", "percent agreement");
    double records = 0, responses = 0;
    report_num(q, "records", &records);
    report_num(q, "responses", &responses);
    report_buf_printf(b, "  %-20s%7.0f\n  %-20s%7.0f\n", "records", records, "responses",
                      responses);
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(q, "notes"))
    {
        if (cJSON_IsString(n)) {
            report_buf_puts(b, "  note: ");
            report_put_clean(b, n->valuestring);
            report_buf_puts(b, "\n");
        }
    }

    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(q, "pairs");
    int np = cJSON_GetArraySize(pairs);
    if (np > 0) {
        const cJSON **sorted = malloc((size_t)np * sizeof *sorted);
        if (sorted == NULL) {
            b->failed = true;
            return;
        }
        size_t wa = strlen("annotator"), wb = strlen("with");
        int i = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, pairs)
        {
            sorted[i++] = p;
            size_t x = report_width(report_str(p, "a")), y = report_width(report_str(p, "b"));
            wa = x > wa ? x : wa;
            wb = y > wb ? y : wb;
        }
        qsort(sorted, (size_t)np, sizeof *sorted, s_pair_json_cmp);
        bool kappa = cJSON_GetObjectItemCaseSensitive(sorted[0], "cohen_kappa") != NULL;
        bool weighted = cJSON_GetObjectItemCaseSensitive(sorted[0], "weighted_kappa") != NULL;
        wa += 2, wb += 2;
        report_buf_printf(b, "\n  annotator pairs, by %s\n  ", kappa ? "kappa" : "agreement");
        report_pad(b, "annotator", wa);
        report_pad(b, "with", wb);
        report_buf_printf(b, "%6s", "n");
        if (kappa)
            report_buf_printf(b, "%9s", "kappa");
        if (weighted)
            report_buf_printf(b, "%10s", "weighted");
        report_buf_printf(b, "%11s\n", "agreement");
        for (i = 0; i < np; i++) {
            if (np > S_TEXT_PAIRS_MAX && i == S_TEXT_PAIRS_MAX / 2) {
                report_buf_printf(b, "  ... %d more pairs (all are in --format json)\n",
                                  np - S_TEXT_PAIRS_MAX);
                i = np - S_TEXT_PAIRS_MAX / 2;
            }
            s_text_pair(b, sorted[i], wa, wb, kappa, weighted);
        }
        free(sorted);
    }

    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(q, "annotators");
    if (cJSON_GetArraySize(anns) > 0) {
        size_t w = strlen("annotator");
        const cJSON *a;
        cJSON_ArrayForEach(a, anns)
        {
            size_t x = report_width(a->string);
            w = x > w ? x : w;
        }
        report_buf_puts(b, "\n  ");
        report_pad(b, "annotator", w + 2);
        report_buf_printf(b, "%9s%11s\n", "responses", "agreement");
        cJSON_ArrayForEach(a, anns)
        {
            double r = 0;
            report_num(a, "responses", &r);
            report_buf_puts(b, "  ");
            report_pad(b, a->string, w + 2);
            report_buf_printf(b, "%9.0f", r);
            s_text_num(b, a, "agreement", 11);
            report_buf_puts(b, "\n");
        }
    }

    const cJSON *contested = cJSON_GetObjectItemCaseSensitive(q, "contested");
    if (cJSON_GetArraySize(contested) > 0) {
        size_t w = strlen("record");
        const cJSON *c;
        cJSON_ArrayForEach(c, contested)
        {
            size_t x = report_width(report_str(c, "record"));
            w = x > w ? x : w;
        }
        report_buf_puts(b, "\n  most contested records\n  ");
        report_pad(b, "record", w + 2);
        report_buf_printf(b, "%9s%11s\n", "agreement", "responses");
        cJSON_ArrayForEach(c, contested)
        {
            double m = 0;
            report_num(c, "responses", &m);
            report_buf_puts(b, "  ");
            report_pad(b, report_str(c, "record"), w + 2);
            s_text_num(b, c, "agreement", 9);
            report_buf_printf(b, "%11.0f\n", m);
        }
    }
}

char *jury_report_text(const cJSON *model, const char *title)
{
    report_buf_t b = {0};
    report_buf_printf(&b, "Agreement%s%s (submitted responses only)\n", title ? ": " : "",
                      title ? title : "");
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(model, "questions"))
    {
        s_text_question(&b, q);
    }
    const cJSON *quality = cJSON_GetObjectItemCaseSensitive(model, "annotators_quality");
    if (cJSON_IsArray(quality)) {
        char *table = jury_report_quality_text(quality);
        if (table == NULL)
            b.failed = true;
        else
            report_buf_puts(&b, table);
        free(table);
    }
    return report_buf_finish(&b);
}
