/* quality.c: the annotator quality table: per-annotator counters, pair counts per question and
 * response times, fed one record at a time. */
#include "quality.h"

#include <stdlib.h>
#include <string.h>

/* Most tracked questions (a guard against a size that would overflow the per-annotator arrays). */
#define S_QUESTIONS_MAX 65536

/* One annotator seen so far. */
typedef struct {
    uint32_t id;        /* the caller's annotator id */
    uint64_t counts[3]; /* responses by jury_quality_status */
    int64_t *times;     /* times of submitted and discarded responses */
    size_t ntimes;      /* entries in times */
    size_t cap;         /* room in times */
} s_ann;

struct jury_quality {
    size_t nq;          /* tracked questions */
    s_ann *anns;        /* annotators in order of first response */
    uint32_t nanns;     /* entries in anns */
    uint32_t cap;       /* room in anns, pairs and equal */
    uint64_t *pairs;    /* [slot * nq + question]: pairs of answers with another annotator */
    uint64_t *equal;    /* [slot * nq + question]: those of them that are equal */
    uint32_t *slots;    /* open addressing on the annotator id: slot + 1, 0 when empty */
    size_t nslots;      /* a power of two, at least twice nanns */
    bool started;       /* a record is open */
    uint64_t record;    /* the open record's id */
    uint32_t *cur_id;   /* annotator id of each response to the open record */
    uint32_t *cur_slot; /* their slots */
    int32_t *cur_cat;   /* [response * nq + question]: categories, NO_ANSWER unless submitted */
    size_t m;           /* responses to the open record */
    size_t mcap;        /* room in cur_id, cur_slot and cur_cat */
    bool done;          /* jury_quality_rows ended the input */
    jury_quality_row_t *rows; /* the result, one per annotator */
    jury_measure_t *measures; /* nanns x nq agreement measures the rows point into */
};

jury_err jury_quality_new(jury_quality_t **out, size_t nquestions)
{
    if (out == NULL || nquestions > S_QUESTIONS_MAX)
        return JURY_EINVAL;
    jury_quality_t *q = calloc(1, sizeof *q);
    if (q == NULL)
        return JURY_ENOMEM;
    q->nq = nquestions;
    *out = q;
    return JURY_OK;
}

void jury_quality_destroy(jury_quality_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    jury_quality_t *q = *self_p;
    for (uint32_t i = 0; i < q->nanns; i++)
        free(q->anns[i].times);
    free(q->anns);
    free(q->pairs);
    free(q->equal);
    free(q->slots);
    free(q->cur_id);
    free(q->cur_slot);
    free(q->cur_cat);
    free(q->rows);
    free(q->measures);
    free(q);
    *self_p = NULL;
}

static size_t s_hash(uint32_t id, size_t nslots)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & (nslots - 1);
}

/* The slot of annotator id, or UINT32_MAX when it has none yet. */
static uint32_t s_find(const jury_quality_t *q, uint32_t id)
{
    if (q->nslots == 0)
        return UINT32_MAX;
    for (size_t i = s_hash(id, q->nslots);; i = (i + 1) & (q->nslots - 1)) {
        uint32_t v = q->slots[i];
        if (v == 0)
            return UINT32_MAX;
        if (q->anns[v - 1].id == id)
            return v - 1;
    }
}

static void s_place(jury_quality_t *q, uint32_t slot)
{
    size_t i = s_hash(q->anns[slot].id, q->nslots);
    while (q->slots[i] != 0)
        i = (i + 1) & (q->nslots - 1);
    q->slots[i] = slot + 1;
}

/* The slot of annotator id, made with zero counters when new. */
static jury_err s_slot(jury_quality_t *q, uint32_t id, uint32_t *out)
{
    uint32_t slot = s_find(q, id);
    if (slot != UINT32_MAX) {
        *out = slot;
        return JURY_OK;
    }
    if (q->nanns == UINT32_MAX / 4)
        return JURY_ETOOBIG;
    if (q->nanns == q->cap) {
        uint32_t cap = q->cap ? q->cap * 2 : 16;
        s_ann *anns = realloc(q->anns, cap * sizeof *anns);
        if (anns == NULL)
            return JURY_ENOMEM;
        q->anns = anns;
        size_t cells = (size_t)cap * (q->nq ? q->nq : 1);
        uint64_t *pairs = realloc(q->pairs, cells * sizeof *pairs);
        if (pairs == NULL)
            return JURY_ENOMEM;
        q->pairs = pairs;
        uint64_t *equal = realloc(q->equal, cells * sizeof *equal);
        if (equal == NULL)
            return JURY_ENOMEM;
        q->equal = equal;
        q->cap = cap;
    }
    if ((size_t)(q->nanns + 1) * 2 > q->nslots) {
        size_t nslots = q->nslots ? q->nslots * 2 : 32;
        uint32_t *slots = calloc(nslots, sizeof *slots);
        if (slots == NULL)
            return JURY_ENOMEM;
        free(q->slots);
        q->slots = slots;
        q->nslots = nslots;
        for (uint32_t i = 0; i < q->nanns; i++)
            s_place(q, i);
    }
    slot = q->nanns++;
    q->anns[slot] = (s_ann){.id = id};
    if (q->nq) {
        memset(q->pairs + (size_t)slot * q->nq, 0, q->nq * sizeof *q->pairs);
        memset(q->equal + (size_t)slot * q->nq, 0, q->nq * sizeof *q->equal);
    }
    s_place(q, slot);
    *out = slot;
    return JURY_OK;
}

/* Counts the pairs of answers of the open record into its annotators' rows and closes it. */
static void s_close(jury_quality_t *q)
{
    size_t nq = q->nq;
    for (size_t k = 0; k < nq; k++)
        for (size_t i = 0; i < q->m; i++) {
            int32_t ci = q->cur_cat[i * nq + k];
            if (ci < 0)
                continue;
            size_t cell = (size_t)q->cur_slot[i] * nq + k;
            for (size_t j = 0; j < q->m; j++) {
                int32_t cj = q->cur_cat[j * nq + k];
                if (j == i || cj < 0)
                    continue;
                q->pairs[cell]++;
                q->equal[cell] += ci == cj;
            }
        }
    q->m = 0;
    q->started = false;
}

jury_err jury_quality_add(jury_quality_t *q, const jury_quality_response_t *r)
{
    if (q == NULL || r == NULL || q->done || (unsigned)r->status > JURY_QUALITY_DRAFT ||
        (q->started && r->record < q->record))
        return JURY_EINVAL;
    if (q->started && r->record != q->record)
        s_close(q);
    for (size_t i = 0; i < q->m; i++)
        if (q->cur_id[i] == r->annotator)
            return JURY_EEXIST;
    if (q->m == q->mcap) {
        size_t cap = q->mcap ? q->mcap * 2 : 16;
        uint32_t *ids = realloc(q->cur_id, cap * sizeof *ids);
        if (ids == NULL)
            return JURY_ENOMEM;
        q->cur_id = ids;
        uint32_t *slots = realloc(q->cur_slot, cap * sizeof *slots);
        if (slots == NULL)
            return JURY_ENOMEM;
        q->cur_slot = slots;
        int32_t *cats = realloc(q->cur_cat, cap * (q->nq ? q->nq : 1) * sizeof *cats);
        if (cats == NULL)
            return JURY_ENOMEM;
        q->cur_cat = cats;
        q->mcap = cap;
    }
    uint32_t slot;
    jury_err err = s_slot(q, r->annotator, &slot);
    if (err != JURY_OK)
        return err;
    s_ann *a = &q->anns[slot];
    bool timed = r->status != JURY_QUALITY_DRAFT && r->time_ms != JURY_QUALITY_NO_TIME;
    if (timed && a->ntimes == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        int64_t *times = realloc(a->times, cap * sizeof *times);
        if (times == NULL)
            return JURY_ENOMEM;
        a->times = times;
        a->cap = cap;
    }
    if (timed)
        a->times[a->ntimes++] = r->time_ms;
    a->counts[r->status]++;
    int32_t *cats = q->cur_cat + q->m * q->nq;
    for (size_t k = 0; k < q->nq; k++)
        cats[k] = r->status == JURY_QUALITY_SUBMITTED && r->categories && r->categories[k] >= 0
                      ? r->categories[k]
                      : JURY_QUALITY_NO_ANSWER;
    q->cur_id[q->m] = r->annotator;
    q->cur_slot[q->m] = slot;
    q->m++;
    q->started = true;
    q->record = r->record;
    return JURY_OK;
}

static jury_measure_t s_value(double v)
{
    return (jury_measure_t){true, v, NULL};
}

static jury_measure_t s_none(const char *note)
{
    return (jury_measure_t){false, 0, note};
}

static int s_i64_cmp(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int s_row_cmp(const void *x, const void *y)
{
    uint32_t a = ((const jury_quality_row_t *)x)->annotator;
    uint32_t b = ((const jury_quality_row_t *)y)->annotator;
    return (a > b) - (a < b);
}

/* The median gap of a's times, in seconds. Sorts a's times and overwrites them with the gaps. */
static jury_measure_t s_median(s_ann *a)
{
    if (a->ntimes < 2)
        return s_none(JURY_NOTE_FEW_RESPONSES);
    qsort(a->times, a->ntimes, sizeof *a->times, s_i64_cmp);
    size_t kept = 0;
    for (size_t i = 0; i + 1 < a->ntimes; i++) {
        /* Sorted times give gaps >= 0; gaps[kept] never runs ahead of times[i + 1]. */
        int64_t gap = a->times[i + 1] - a->times[i];
        if (gap <= JURY_QUALITY_BREAK_MS)
            a->times[kept++] = gap;
    }
    a->ntimes = 0;
    if (kept == 0)
        return s_none(JURY_QUALITY_NOTE_BREAKS);
    qsort(a->times, kept, sizeof *a->times, s_i64_cmp);
    double mid = kept % 2 ? (double)a->times[kept / 2]
                          : ((double)a->times[kept / 2 - 1] + (double)a->times[kept / 2]) / 2;
    return s_value(mid / 1000);
}

jury_err jury_quality_rows(jury_quality_t *q, const jury_quality_row_t **rows, size_t *n)
{
    if (q == NULL || rows == NULL || n == NULL)
        return JURY_EINVAL;
    if (!q->done) {
        size_t count = q->nanns ? q->nanns : 1;
        jury_quality_row_t *out = calloc(count, sizeof *out);
        jury_measure_t *measures = calloc(count * (q->nq ? q->nq : 1), sizeof *measures);
        if (out == NULL || measures == NULL) {
            free(out);
            free(measures);
            return JURY_ENOMEM;
        }
        if (q->started)
            s_close(q);
        for (uint32_t i = 0; i < q->nanns; i++) {
            s_ann *a = &q->anns[i];
            jury_quality_row_t *row = &out[i];
            row->annotator = a->id;
            row->submitted = a->counts[JURY_QUALITY_SUBMITTED];
            row->discarded = a->counts[JURY_QUALITY_DISCARDED];
            row->draft = a->counts[JURY_QUALITY_DRAFT];
            uint64_t final = row->submitted + row->discarded;
            row->discard_rate = final ? s_value((double)row->discarded / (double) final)
                                      : s_none(JURY_QUALITY_NOTE_NO_FINAL);
            jury_measure_t *m = measures + (size_t)i * q->nq;
            row->agreement = q->nq ? m : NULL;
            double sum = 0;
            size_t defined = 0;
            for (size_t k = 0; k < q->nq; k++) {
                size_t cell = (size_t)i * q->nq + k;
                m[k] = q->pairs[cell] ? s_value((double)q->equal[cell] / (double)q->pairs[cell])
                                      : s_none(JURY_NOTE_NO_SHARED);
                if (m[k].ok) {
                    sum += m[k].value;
                    defined++;
                }
            }
            row->agreement_mean =
                defined ? s_value(sum / (double)defined) : s_none(JURY_NOTE_NO_SHARED);
            row->timed = a->ntimes;
            row->median_seconds = s_median(a);
        }
        qsort(out, q->nanns, sizeof *out, s_row_cmp);
        q->rows = out;
        q->measures = measures;
        q->done = true;
    }
    *rows = q->rows;
    *n = q->nanns;
    return JURY_OK;
}
