/* top_model.c: the pure part of `jury top`: snapshots, smoothed rates, ETAs and the dashboard's
 * lines. */
#include "top_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Snapshots a history keeps at most (a window of 10 s at 100 ms a snapshot is 101). */
#define S_SAMPLES 128
/* Columns the layout assumes when the width is not given. */
#define S_DEFAULT_WIDTH 80
/* The widest name column of the annotator table (longer names are cut with an ellipsis). */
#define S_NAME_MAX 24
/* The widest dataset name the progress lines are aligned to. */
#define S_DATASET_ALIGN_MAX 24

static const char s_ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */

/* One reading of a counter. */
typedef struct {
    int64_t t;  /* when, ms */
    uint64_t v; /* the counter */
} s_sample;

/* A counter's readings over the window, oldest first, in a ring. */
typedef struct {
    s_sample v[S_SAMPLES]; /* the ring */
    size_t head;           /* index of the oldest */
    size_t n;              /* readings held */
} s_series;

/* A question's live agreement in a snapshot. */
typedef struct {
    char *question;       /* owned */
    jury_measure_t alpha; /* alpha or why not */
    uint64_t records;     /* records it is over */
} s_alpha;

/* An annotator of a dataset in a snapshot. */
typedef struct {
    jury_top_annotator_t a;       /* as added; a.name owned and sanitised */
    s_series *hist;               /* submitted + discarded over the window (owned) */
    jury_measure_t per_min;       /* computed at the end */
    jury_measure_t discard_share; /* computed at the end */
} s_ann;

/* A dataset in a snapshot. */
typedef struct {
    jury_top_dataset_t d;           /* as added; d.name owned and sanitised */
    s_series *hist;                 /* submitted responses over the window (owned) */
    s_alpha *alphas;                /* in the order added */
    size_t nalphas;                 /* how many */
    size_t alphas_cap;              /* allocated */
    s_ann *anns;                    /* annotators: in the order added, by id after the end */
    size_t nanns;                   /* how many */
    size_t anns_cap;                /* allocated */
    s_ann **order;                  /* display order (after the end) */
    jury_top_dataset_figures_t fig; /* computed at the end */
} s_ds;

/* A snapshot. */
typedef struct {
    jury_top_snapshot_t s; /* as begun */
    s_ds *ds;              /* datasets in the order added */
    size_t n;              /* how many */
    size_t cap;            /* allocated */
} s_snap;

struct jury_top {
    int64_t window_ms; /* the rates' window */
    bool have;         /* cur holds an ended snapshot */
    s_snap cur;        /* the newest ended snapshot */
    bool building;     /* next is begun */
    s_snap next;       /* the snapshot being added to */
};

/* ---- snapshots ------------------------------------------------------------------------------ */

static void s_ds_free(s_ds *d)
{
    free((char *)d->d.name);
    free(d->hist);
    for (size_t i = 0; i < d->nalphas; i++)
        free(d->alphas[i].question);
    free(d->alphas);
    for (size_t i = 0; i < d->nanns; i++) {
        free((char *)d->anns[i].a.name);
        free(d->anns[i].hist);
    }
    free(d->anns);
    free(d->order);
    memset(d, 0, sizeof *d);
}

static void s_snap_free(s_snap *s)
{
    for (size_t i = 0; i < s->n; i++)
        s_ds_free(&s->ds[i]);
    free(s->ds);
    memset(s, 0, sizeof *s);
}

/* Decodes the UTF-8 sequence at s[i] (len bytes); returns its length, or 0 when malformed. */
static size_t s_utf8_len(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, v = c & 0x1fu, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, v = c & 0x0fu, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, v = c & 0x07u, min = 0x10000;
    else
        return 0;
    if (len - i < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i + k] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* A copy of name with control characters (C0, DEL, C1) and malformed bytes replaced by '?'. */
static char *s_sanitise(const char *name)
{
    size_t len = strlen(name);
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    const unsigned char *s = (const unsigned char *)name;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = s_utf8_len(s, len, i, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            out[o++] = '?';
            i += n ? n : 1;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return out;
}

/* Columns of valid UTF-8 text: its code points. */
static size_t s_cols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* Bytes of the first cols code points of s. */
static size_t s_prefix_bytes(const char *s, size_t cols)
{
    size_t i = 0, n = 0;
    while (s[i]) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (n == cols)
                break;
            n++;
        }
        i++;
    }
    return i;
}

jury_err jury_top_new(jury_top_t **out, int64_t window_ms)
{
    if (out == NULL || window_ms < 0)
        return JURY_EINVAL;
    *out = NULL;
    jury_top_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return JURY_ENOMEM;
    t->window_ms = window_ms ? window_ms : JURY_TOP_WINDOW_MS;
    *out = t;
    return JURY_OK;
}

void jury_top_destroy(jury_top_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    jury_top_t *t = *self_p;
    s_snap_free(&t->cur);
    s_snap_free(&t->next);
    free(t);
    *self_p = NULL;
}

jury_err jury_top_begin(jury_top_t *t, const jury_top_snapshot_t *s)
{
    if (t == NULL || s == NULL || (t->have && s->now_ms < t->cur.s.now_ms))
        return JURY_EINVAL;
    s_snap_free(&t->next);
    t->next.s = *s;
    t->building = true;
    return JURY_OK;
}

/* Makes room for one more element of size sz in *v (n used, *cap allocated). */
static jury_err s_grow(void **v, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return JURY_OK;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*v, c * sz);
    if (p == NULL)
        return JURY_ENOMEM;
    *v = p;
    *cap = c;
    return JURY_OK;
}

jury_err jury_top_add_dataset(jury_top_t *t, const jury_top_dataset_t *d)
{
    if (t == NULL || d == NULL || d->name == NULL || !t->building)
        return JURY_EINVAL;
    for (size_t i = 0; i < t->next.n; i++)
        if (t->next.ds[i].d.id == d->id)
            return JURY_EINVAL;
    if (s_grow((void **)&t->next.ds, t->next.n, &t->next.cap, sizeof *t->next.ds) != JURY_OK)
        return JURY_ENOMEM;
    s_ds *x = &t->next.ds[t->next.n];
    memset(x, 0, sizeof *x);
    x->d = *d;
    if ((x->d.name = s_sanitise(d->name)) == NULL)
        return JURY_ENOMEM;
    t->next.n++;
    return JURY_OK;
}

jury_err jury_top_add_alpha(jury_top_t *t, const char *question, jury_measure_t alpha,
                            uint64_t records)
{
    if (t == NULL || question == NULL || !t->building || t->next.n == 0)
        return JURY_EINVAL;
    s_ds *x = &t->next.ds[t->next.n - 1];
    if (s_grow((void **)&x->alphas, x->nalphas, &x->alphas_cap, sizeof *x->alphas) != JURY_OK)
        return JURY_ENOMEM;
    char *q = s_sanitise(question);
    if (q == NULL)
        return JURY_ENOMEM;
    x->alphas[x->nalphas++] = (s_alpha){q, alpha, records};
    return JURY_OK;
}

jury_err jury_top_add_annotator(jury_top_t *t, const jury_top_annotator_t *a)
{
    if (t == NULL || a == NULL || a->name == NULL || !t->building || t->next.n == 0)
        return JURY_EINVAL;
    s_ds *x = &t->next.ds[t->next.n - 1];
    /* Annotators usually come in id order (the store walks them so): a duplicate is then the last
     * one; the end checks the rest after sorting. */
    if (x->nanns && x->anns[x->nanns - 1].a.id == a->id)
        return JURY_EINVAL;
    if (s_grow((void **)&x->anns, x->nanns, &x->anns_cap, sizeof *x->anns) != JURY_OK)
        return JURY_ENOMEM;
    s_ann *y = &x->anns[x->nanns];
    memset(y, 0, sizeof *y);
    y->a = *a;
    if ((y->a.name = s_sanitise(a->name)) == NULL)
        return JURY_ENOMEM;
    x->nanns++;
    return JURY_OK;
}

/* ---- rates ---------------------------------------------------------------------------------- */

static s_sample *s_at(s_series *h, size_t k)
{
    return &h->v[(h->head + k) % S_SAMPLES];
}

/*
 * Adds reading (t, v) and drops readings older than needed: the window runs from the newest
 * reading at or before t - window (else the oldest held) to t. A counter that went down starts
 * the series afresh; a second reading at the same time replaces the first.
 */
static void s_push(s_series *h, int64_t t, uint64_t v, int64_t window)
{
    if (h->n && v < s_at(h, h->n - 1)->v)
        h->n = 0;
    if (h->n && s_at(h, h->n - 1)->t == t) {
        s_at(h, h->n - 1)->v = v;
    } else {
        if (h->n == S_SAMPLES) {
            h->head = (h->head + 1) % S_SAMPLES;
            h->n--;
        }
        *s_at(h, h->n) = (s_sample){t, v};
        h->n++;
    }
    while (h->n >= 2 && s_at(h, 1)->t <= t - window) {
        h->head = (h->head + 1) % S_SAMPLES;
        h->n--;
    }
}

/* The counter's rate per second over the series. */
static jury_measure_t s_rate(s_series *h)
{
    if (h->n < 2)
        return (jury_measure_t){false, 0, JURY_TOP_NOTE_ONE_SNAPSHOT};
    s_sample *a = s_at(h, 0), *b = s_at(h, h->n - 1);
    return (jury_measure_t){true, (double)(b->v - a->v) * 1000.0 / (double)(b->t - a->t), NULL};
}

static int s_ann_by_id(const void *pa, const void *pb)
{
    const s_ann *a = pa, *b = pb;
    return a->a.id < b->a.id ? -1 : a->a.id > b->a.id;
}

static int s_by_rate(const void *pa, const void *pb)
{
    const s_ann *a = *(s_ann *const *)pa, *b = *(s_ann *const *)pb;
    double ra = a->per_min.ok ? a->per_min.value : 0, rb = b->per_min.ok ? b->per_min.value : 0;
    if (ra != rb)
        return ra > rb ? -1 : 1;
    int c = strcmp(a->a.name, b->a.name);
    return c ? c : (a->a.id < b->a.id ? -1 : a->a.id > b->a.id);
}

/* The ended snapshot's dataset with id, or NULL. */
static s_ds *s_find_ds(jury_top_t *t, uint32_t id)
{
    if (!t->have)
        return NULL;
    for (size_t i = 0; i < t->cur.n; i++)
        if (t->cur.ds[i].d.id == id)
            return &t->cur.ds[i];
    return NULL;
}

static s_ann *s_find_ann(s_ds *d, uint32_t id)
{
    if (d == NULL)
        return NULL;
    s_ann key = {.a.id = id};
    return bsearch(&key, d->anns, d->nanns, sizeof *d->anns, s_ann_by_id);
}

jury_err jury_top_end(jury_top_t *t)
{
    if (t == NULL || !t->building)
        return JURY_EINVAL;
    s_snap *nx = &t->next;
    jury_err rc = JURY_ENOMEM;
    /* First everything that can fail, so that a failure leaves the previous snapshot whole. */
    for (size_t i = 0; i < nx->n; i++) {
        s_ds *d = &nx->ds[i];
        if (d->nanns)
            qsort(d->anns, d->nanns, sizeof *d->anns, s_ann_by_id);
        for (size_t j = 1; j < d->nanns; j++)
            if (d->anns[j].a.id == d->anns[j - 1].a.id) {
                rc = JURY_EINVAL;
                goto fail;
            }
        s_ds *old = s_find_ds(t, d->d.id);
        if (old == NULL && (d->hist = calloc(1, sizeof *d->hist)) == NULL)
            goto fail;
        if (d->nanns && (d->order = malloc(d->nanns * sizeof *d->order)) == NULL)
            goto fail;
        for (size_t j = 0; j < d->nanns; j++)
            if (s_find_ann(old, d->anns[j].a.id) == NULL &&
                (d->anns[j].hist = calloc(1, sizeof *d->anns[j].hist)) == NULL)
                goto fail;
    }
    int64_t now = nx->s.now_ms;
    for (size_t i = 0; i < nx->n; i++) {
        s_ds *d = &nx->ds[i];
        s_ds *old = s_find_ds(t, d->d.id);
        if (old) {
            d->hist = old->hist;
            old->hist = NULL;
        }
        s_push(d->hist, now, d->d.submitted, t->window_ms);
        jury_top_dataset_figures_t *f = &d->fig;
        f->rate = s_rate(d->hist);
        f->nannotators = d->nanns;
        uint64_t finished = d->d.completed + d->d.set_aside;
        f->progress = d->d.records ? (double)finished / (double)d->d.records : 0;
        if (f->progress > 1)
            f->progress = 1;
        if (d->d.records == 0)
            f->eta_s = (jury_measure_t){false, 0, JURY_TOP_NOTE_NO_RECORDS};
        else if (d->d.records <= finished)
            f->eta_s = (jury_measure_t){true, 0, NULL};
        else if (d->d.needed < 0)
            f->eta_s = (jury_measure_t){false, 0, JURY_TOP_NOTE_NO_NEEDED};
        else if (!f->rate.ok)
            f->eta_s = f->rate;
        else if (f->rate.value <= 0)
            f->eta_s = (jury_measure_t){false, 0, JURY_TOP_NOTE_NO_RATE};
        else
            f->eta_s = (jury_measure_t){true, (double)d->d.needed / f->rate.value, NULL};
        for (size_t j = 0; j < d->nanns; j++) {
            s_ann *a = &d->anns[j];
            s_ann *prev = s_find_ann(old, a->a.id);
            if (prev) {
                a->hist = prev->hist;
                prev->hist = NULL;
            }
            uint64_t answered = a->a.submitted + a->a.discarded;
            s_push(a->hist, now, answered, t->window_ms);
            a->per_min = s_rate(a->hist);
            if (a->per_min.ok)
                a->per_min.value *= 60;
            a->discard_share =
                answered ? (jury_measure_t){true, (double)a->a.discarded / (double)answered, NULL}
                         : (jury_measure_t){false, 0, JURY_TOP_NOTE_NO_ANSWERS};
            d->order[j] = a;
        }
        if (d->nanns)
            qsort(d->order, d->nanns, sizeof *d->order, s_by_rate);
    }
    s_snap_free(&t->cur);
    t->cur = *nx;
    memset(nx, 0, sizeof *nx);
    t->building = false;
    t->have = true;
    return JURY_OK;

fail:
    /* Histories are only taken over after this point, so every one held here is new. */
    for (size_t i = 0; i < nx->n; i++) {
        s_ds *d = &nx->ds[i];
        free(d->hist);
        d->hist = NULL;
        free(d->order);
        d->order = NULL;
        for (size_t j = 0; j < d->nanns; j++) {
            free(d->anns[j].hist);
            d->anns[j].hist = NULL;
        }
    }
    return rc;
}

size_t jury_top_dataset_count(const jury_top_t *t)
{
    return t && t->have ? t->cur.n : 0;
}

jury_err jury_top_dataset_figures(const jury_top_t *t, size_t i, jury_top_dataset_figures_t *out)
{
    if (t == NULL || out == NULL || !t->have || i >= t->cur.n)
        return JURY_EINVAL;
    *out = t->cur.ds[i].fig;
    return JURY_OK;
}

jury_err jury_top_annotator_figures(const jury_top_t *t, size_t i, size_t j,
                                    jury_top_annotator_figures_t *out)
{
    if (t == NULL || out == NULL || !t->have || i >= t->cur.n || j >= t->cur.ds[i].nanns)
        return JURY_EINVAL;
    const s_ann *a = t->cur.ds[i].order[j];
    *out = (jury_top_annotator_figures_t){a->a.name, a->per_min, a->discard_share, a->a.agreement,
                                          a->a.submitted};
    return JURY_OK;
}

void jury_top_duration(char *buf, size_t cap, double seconds)
{
    if (cap == 0)
        return;
    if (!(seconds >= 0))
        seconds = 0;
    if (seconds >= 999.0 * 86400) {
        snprintf(buf, cap, ">999d");
        return;
    }
    uint64_t u = (uint64_t)ceil(seconds);
    if (u < 60) {
        snprintf(buf, cap, "%us", (unsigned)u);
    } else if (u < 3600) {
        snprintf(buf, cap, "%um%02us", (unsigned)(u / 60), (unsigned)(u % 60));
    } else if ((u + 59) / 60 < 24 * 60) {
        uint64_t m = (u + 59) / 60;
        snprintf(buf, cap, "%uh%02um", (unsigned)(m / 60), (unsigned)(m % 60));
    } else {
        uint64_t h = (u + 3599) / 3600;
        snprintf(buf, cap, "%ud%02uh", (unsigned)(h / 24), (unsigned)(h % 24));
    }
}

/* ---- layout --------------------------------------------------------------------------------- */

void jury_top_lines_free(jury_top_lines_t *lines)
{
    if (lines == NULL)
        return;
    for (size_t i = 0; i < lines->n; i++)
        free(lines->v[i].text);
    free(lines->v);
    lines->v = NULL;
    lines->n = lines->cap = 0;
}

/* Appends a line that takes ownership of text (freed on failure), cut to width columns. */
static jury_err s_push_line(jury_top_lines_t *out, char *text, jury_top_style style, int width)
{
    if (text == NULL)
        return JURY_ENOMEM;
    if (width > 0)
        text[s_prefix_bytes(text, (size_t)width)] = '\0';
    if (s_grow((void **)&out->v, out->n, &out->cap, sizeof *out->v) != JURY_OK) {
        free(text);
        return JURY_ENOMEM;
    }
    out->v[out->n++] = (jury_top_line_t){text, style};
    return JURY_OK;
}

/* A growable string. */
typedef struct {
    char *s;    /* NUL-terminated text, or NULL after a failure */
    size_t n;   /* bytes */
    size_t cap; /* allocated */
    bool fail;  /* an allocation failed */
} s_buf;

static void __attribute__((format(printf, 2, 3))) s_add(s_buf *b, const char *fmt, ...)
{
    if (b->fail)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || b->n + (size_t)k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (k >= 0 && b->n + (size_t)k + 1 > cap)
            cap *= 2;
        char *s = k < 0 ? NULL : realloc(b->s, cap);
        if (s == NULL) {
            b->fail = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

/* Appends s padded with spaces to cols columns; longer text is cut to cols - 1 and an ellipsis. */
static void s_add_padded(s_buf *b, const char *s, size_t cols)
{
    size_t w = s_cols(s);
    if (w > cols) {
        s_add(b, "%.*s%s", (int)s_prefix_bytes(s, cols - 1), s, s_ellipsis);
        return;
    }
    s_add(b, "%s%*s", s, (int)(cols - w), "");
}

/* The buffer's text, handed over (NULL after a failure). */
static char *s_take(s_buf *b)
{
    if (b->fail) {
        free(b->s);
        return NULL;
    }
    return b->s ? b->s : strdup("");
}

/* Appends a formatted line (no names from the store: it is not sanitised). */
static jury_err __attribute__((format(printf, 4, 5)))
s_line(jury_top_lines_t *out, jury_top_style style, int width, const char *fmt, ...)
{
    s_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    s_add(&b, "%s", tmp);
    return s_push_line(out, s_take(&b), style, width);
}

/* "1 session", "3 sessions". */
static const char *s_plural(int64_t n)
{
    return n == 1 ? "" : "s";
}

static jury_err s_render_dataset(const s_ds *d, int width, size_t align, jury_top_lines_t *out)
{
    int w = width > 0 ? width : S_DEFAULT_WIDTH;
    int bar = w >= 100 ? 30 : w >= 60 ? 20 : 10;
    const jury_top_dataset_figures_t *f = &d->fig;
    jury_err rc;

    if ((rc = s_push_line(out, strdup(""), JURY_TOP_BODY, width)) != JURY_OK)
        return rc;
    s_buf b = {0};
    s_add_padded(&b, d->d.name, s_cols(d->d.name) > align ? s_cols(d->d.name) : align);
    /* From the counts, not the double: 632 of 1000 is 63.2%, never 63.1%. */
    uint64_t done = d->d.completed + d->d.set_aside;
    if (done > d->d.records)
        done = d->d.records;
    int filled = d->d.records ? (int)(done * (uint64_t)bar / d->d.records) : 0;
    uint64_t permille = d->d.records ? done * 1000 / d->d.records : 0;
    s_add(&b, "  [%.*s%.*s]", filled, "##############################", bar - filled,
          "..............................");
    s_add(&b, "  %3llu.%llu%%", (unsigned long long)(permille / 10),
          (unsigned long long)(permille % 10));
    if (f->rate.ok)
        s_add(&b, "  %.1f resp/s", f->rate.value);
    else
        s_add(&b, "  - resp/s");
    char eta[32];
    if (f->eta_s.ok && f->eta_s.value == 0) {
        s_add(&b, "  done");
    } else {
        if (f->eta_s.ok)
            jury_top_duration(eta, sizeof eta, f->eta_s.value);
        else
            snprintf(eta, sizeof eta, "-");
        s_add(&b, "  ETA %s", eta);
    }
    if ((rc = s_push_line(out, s_take(&b), JURY_TOP_TITLE, width)) != JURY_OK)
        return rc;

    uint64_t finished = d->d.completed + d->d.set_aside;
    uint64_t pending = d->d.records > finished ? d->d.records - finished : 0;
    b = (s_buf){0};
    s_add(&b, "  records    %llu: %llu completed, %llu set aside, %llu pending",
          (unsigned long long)d->d.records, (unsigned long long)d->d.completed,
          (unsigned long long)d->d.set_aside, (unsigned long long)pending);
    if (d->d.contested)
        s_add(&b, ", %llu contested", (unsigned long long)d->d.contested);
    if ((rc = s_push_line(out, s_take(&b), JURY_TOP_BODY, width)) != JURY_OK)
        return rc;

    b = (s_buf){0};
    s_add(&b, "  responses  %llu submitted, %llu discarded, %llu draft",
          (unsigned long long)d->d.submitted, (unsigned long long)d->d.discarded,
          (unsigned long long)d->d.draft);
    if (d->d.needed >= 0)
        s_add(&b, ", %lld more needed", (long long)d->d.needed);
    if ((rc = s_push_line(out, s_take(&b), JURY_TOP_BODY, width)) != JURY_OK)
        return rc;

    if (d->d.leases >= 0 &&
        (rc = s_line(out, JURY_TOP_BODY, width, "  live       %lld connected, %lld lease%s",
                     (long long)(d->d.connected < 0 ? 0 : d->d.connected), (long long)d->d.leases,
                     s_plural(d->d.leases))) != JURY_OK)
        return rc;

    /* One line per question, the names aligned: "  agreement  label  0.712 (622 records)". */
    size_t qw = 0;
    for (size_t i = 0; i < d->nalphas; i++) {
        size_t c = s_cols(d->alphas[i].question);
        if (c > qw)
            qw = c > S_NAME_MAX ? S_NAME_MAX : c;
    }
    for (size_t i = 0; i < d->nalphas; i++) {
        const s_alpha *a = &d->alphas[i];
        b = (s_buf){0};
        s_add(&b, "%s", i ? "             " : "  agreement  ");
        s_add_padded(&b, a->question, qw);
        if (a->alpha.ok)
            s_add(&b, "  %.3f", a->alpha.value);
        else
            s_add(&b, "  n/a: %s", a->alpha.note ? a->alpha.note : "undefined");
        s_add(&b, " (%llu record%s)", (unsigned long long)a->records,
              s_plural((int64_t)a->records));
        if ((rc = s_push_line(out, s_take(&b), JURY_TOP_BODY, width)) != JURY_OK)
            return rc;
    }

    if (d->nanns == 0)
        return JURY_OK;
    size_t namew = 9; /* "annotator" */
    for (size_t j = 0; j < d->nanns; j++) {
        size_t c = s_cols(d->anns[j].a.name);
        if (c > namew)
            namew = c;
    }
    if (namew > S_NAME_MAX)
        namew = S_NAME_MAX;
    b = (s_buf){0};
    s_add(&b, "  ");
    s_add_padded(&b, "annotator", namew);
    s_add(&b, "  %8s  %8s  %9s  %9s", "resp/min", "discards", "agreement", "submitted");
    if ((rc = s_push_line(out, s_take(&b), JURY_TOP_HEAD, width)) != JURY_OK)
        return rc;
    for (size_t j = 0; j < d->nanns; j++) {
        const s_ann *a = d->order[j];
        char rate[32] = "-", share[32] = "-", agree[32] = "-";
        if (a->per_min.ok)
            snprintf(rate, sizeof rate, "%.1f", a->per_min.value);
        if (a->discard_share.ok)
            snprintf(share, sizeof share, "%.1f%%", a->discard_share.value * 100);
        if (a->a.agreement.ok)
            snprintf(agree, sizeof agree, "%.3f", a->a.agreement.value);
        b = (s_buf){0};
        s_add(&b, "  ");
        s_add_padded(&b, a->a.name, namew);
        s_add(&b, "  %8s  %8s  %9s  %9llu", rate, share, agree, (unsigned long long)a->a.submitted);
        if ((rc = s_push_line(out, s_take(&b), JURY_TOP_BODY, width)) != JURY_OK)
            return rc;
    }
    return JURY_OK;
}

jury_err jury_top_render(const jury_top_t *t, int width, int height, jury_top_lines_t *out)
{
    if (t == NULL || out == NULL)
        return JURY_EINVAL;
    jury_top_lines_free(out);
    jury_err rc;
    const s_snap *s = &t->cur;
    if (!t->have)
        rc = s_line(out, JURY_TOP_TITLE, width, "jury top: waiting for the first snapshot");
    else if (s->s.pid > 0)
        rc = s_line(out, JURY_TOP_TITLE, width, "jury top: coordinator pid %ld, %lld session%s",
                    s->s.pid, (long long)s->s.sessions, s_plural(s->s.sessions));
    else
        rc =
            s_line(out, JURY_TOP_TITLE, width, "jury top: no coordinator is running on this store");
    if (rc == JURY_OK && t->have && s->n == 0)
        rc = s_line(out, JURY_TOP_BODY, width, "no datasets");
    size_t align = 0;
    for (size_t i = 0; t->have && i < s->n; i++) {
        size_t c = s_cols(s->ds[i].d.name);
        if (c > align && c <= S_DATASET_ALIGN_MAX)
            align = c;
    }
    for (size_t i = 0; rc == JURY_OK && t->have && i < s->n; i++)
        rc = s_render_dataset(&s->ds[i], width, align, out);
    if (rc == JURY_OK && height > 0 && out->n > (size_t)height) {
        size_t keep = height > 1 ? (size_t)height - 1 : 1;
        size_t more = out->n - keep;
        for (size_t i = keep; i < out->n; i++)
            free(out->v[i].text);
        out->n = keep;
        if (height > 1)
            rc = s_line(out, JURY_TOP_HEAD, width, "%s %zu more line%s", s_ellipsis, more,
                        more == 1 ? "" : "s");
    }
    if (rc != JURY_OK)
        jury_top_lines_free(out);
    return rc;
}
