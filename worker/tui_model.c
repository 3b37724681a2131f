/* tui_model.c: the pure part of `juror tui`: questions, widget state, layout into lines, values
 * JSON and local checks. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* wcwidth */
#endif
#include "tui_model.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cjson/cJSON.h>

/* The longest text answer the coordinator accepts, in bytes (SPEC section 9.6). */
#define S_TEXT_MAX 65536
/* Most rating values (SPEC: 2 to 11 integers within 0..10). */
#define S_RATINGS_MAX 11
/* Columns of a span's excerpt in the question's layout. */
#define S_EXCERPT_COLS 30
/* A chat turn's continuation lines are indented this much more than its first. */
#define S_HANG 2

static const char s_ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */

/* ---------------------------------------------------------------------------------------------
 * Lines and text.
 */

void juror_tui_lines_free(juror_tui_lines_t *lines)
{
    if (lines == NULL)
        return;
    for (size_t i = 0; i < lines->n; i++)
        free(lines->v[i].text);
    free(lines->v);
    lines->v = NULL;
    lines->n = lines->cap = 0;
}

/* Appends a line that takes ownership of text (freed on failure). */
static jury_err s_push(juror_tui_lines_t *out, char *text, juror_tui_style style, size_t emph,
                       bool cursor)
{
    if (text == NULL)
        return JURY_ENOMEM;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        juror_tui_line_t *v = realloc(out->v, cap * sizeof *v);
        if (v == NULL) {
            free(text);
            return JURY_ENOMEM;
        }
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = (juror_tui_line_t){text, style, emph, cursor};
    return JURY_OK;
}

uint32_t juror_tui_utf8_next(const char *s, size_t len, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = len - *i;
    unsigned char c = p[0];
    uint32_t cp, min;
    size_t n;
    if (c < 0x80) {
        *i += 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        *i += 1;
        return 0xfffd;
    }
    if (left < n) {
        *i += 1;
        return 0xfffd;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            *i += 1;
            return 0xfffd;
        }
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *i += 1;
        return 0xfffd;
    }
    *i += n;
    return cp;
}

/* Writes cp as UTF-8 into out (4 bytes room); returns the byte count. */
static size_t s_utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static bool s_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

int juror_tui_cp_width(uint32_t cp)
{
    if (s_is_control(cp))
        return 1;
    int w = wcwidth((wchar_t)cp);
    if (w < 0)
        return 1; /* unknown to the locale: the terminal still takes a cell */
    return w > 2 ? 2 : w;
}

size_t juror_tui_text_width(const char *s)
{
    size_t w = 0, len = s ? strlen(s) : 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = juror_tui_utf8_next(s, len, &i);
        w += cp == '\t' ? 4 : (size_t)juror_tui_cp_width(cp);
    }
    return w;
}

/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t n, cap;
    bool failed;
} s_buf;

static void s_buf_add(s_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void s_buf_str(s_buf *b, const char *s)
{
    s_buf_add(b, s, strlen(s));
}

static void s_buf_spaces(s_buf *b, int n)
{
    for (int i = 0; i < n; i++)
        s_buf_add(b, " ", 1);
}

static void s_buf_fmt(s_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_buf_fmt(s_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    s_buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Takes the buffer's string (never NULL unless out of memory); the buffer is empty afterwards. */
static char *s_buf_take(s_buf *b)
{
    if (!b->failed && b->p == NULL)
        s_buf_add(b, "", 0);
    char *p = b->failed ? NULL : b->p;
    if (b->failed)
        free(b->p);
    *b = (s_buf){0};
    return p;
}

/* Copies text with tabs as 4 spaces, CR dropped, other controls (not '\n') and bad UTF-8 as U+FFFD.
 */
static char *s_sanitize(const char *text, size_t *outlen)
{
    s_buf b = {0};
    size_t len = text ? strlen(text) : 0;
    s_buf_add(&b, "", 0);
    for (size_t i = 0; i < len;) {
        uint32_t cp = juror_tui_utf8_next(text, len, &i);
        char enc[4];
        if (cp == '\t')
            s_buf_add(&b, "    ", 4);
        else if (cp == '\r')
            continue;
        else if (cp == '\n')
            s_buf_add(&b, "\n", 1);
        else
            s_buf_add(&b, enc, s_utf8_put(enc, s_is_control(cp) ? 0xfffd : cp));
    }
    *outlen = b.n;
    return s_buf_take(&b);
}

/* Emits one wrapped line: lead spaces, the prefix (bold) when given, then n bytes of body. */
static jury_err s_emit(juror_tui_lines_t *out, int lead, const char *prefix, const char *body,
                       size_t n, juror_tui_style style)
{
    s_buf b = {0};
    s_buf_spaces(&b, lead);
    if (prefix != NULL)
        s_buf_str(&b, prefix);
    size_t emph = prefix != NULL ? b.n : 0;
    s_buf_add(&b, body, n);
    return s_push(out, s_buf_take(&b), style, emph, false);
}

/* Wraps one paragraph (no '\n') of sanitised text. *first: the prefix is still to be placed. */
static jury_err s_wrap_para(juror_tui_lines_t *out, const char *p, size_t len, const char *prefix,
                            int width, int indent, juror_tui_style style, bool *first)
{
    int prefix_w = prefix ? (int)juror_tui_text_width(prefix) : 0;
    size_t pos = 0;
    jury_err rc;
    do {
        bool with_prefix = prefix != NULL && *first;
        int lead = indent + (prefix != NULL && !with_prefix ? S_HANG : 0);
        int avail = width - lead - (with_prefix ? prefix_w : 0);
        if (avail < 1)
            avail = 1;
        size_t i = pos, brk = 0;
        bool have_brk = false, seen_word = false;
        int w = 0;
        while (i < len) {
            size_t j = i;
            uint32_t cp = juror_tui_utf8_next(p, len, &j);
            int cw = juror_tui_cp_width(cp);
            if (cp == ' ' && seen_word) {
                have_brk = true;
                brk = i;
            }
            /* At least one character per line, so a too-narrow width still ends. */
            if (w + cw > avail && i > pos)
                break;
            if (cp != ' ')
                seen_word = true;
            w += cw;
            i = j;
        }
        size_t end;
        if (i >= len || p[i] == ' ' || !have_brk)
            end = i; /* all of it, a break at the space that overflowed, or a word cut in two */
        else
            end = brk;
        size_t next = end;
        while (end > pos && p[end - 1] == ' ')
            end--;
        if ((rc = s_emit(out, lead, with_prefix ? prefix : NULL, p + pos, end - pos, style)) !=
            JURY_OK)
            return rc;
        *first = false;
        pos = next;
        while (pos < len && p[pos] == ' ')
            pos++;
    } while (pos < len);
    return JURY_OK;
}

jury_err juror_tui_wrap(juror_tui_lines_t *out, const char *prefix, const char *text, int width,
                        int indent, juror_tui_style style)
{
    if (indent < 0)
        indent = 0;
    if (width < indent + 1)
        width = indent + 1;
    size_t len;
    char *clean = s_sanitize(text, &len);
    char *cprefix = NULL;
    if (clean == NULL)
        return JURY_ENOMEM;
    if (prefix != NULL) {
        size_t plen;
        if ((cprefix = s_sanitize(prefix, &plen)) == NULL) {
            free(clean);
            return JURY_ENOMEM;
        }
        for (char *c = cprefix; *c; c++)
            if (*c == '\n')
                *c = ' ';
    }
    jury_err rc = JURY_OK;
    bool first = true;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(clean + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - clean) : len;
        if ((rc = s_wrap_para(out, clean + start, end - start, cprefix, width, indent, style,
                              &first)) != JURY_OK)
            break;
        if (nl == NULL)
            break;
        start = end + 1;
    }
    free(cprefix);
    free(clean);
    return rc;
}

/* Copies the first bytes of s that fit in width columns; with "…" at the end when cut. */
static char *s_cut(const char *s, int width)
{
    size_t len;
    char *clean = s_sanitize(s, &len);
    if (clean == NULL)
        return NULL;
    for (char *c = clean; *c; c++)
        if (*c == '\n')
            *c = ' ';
    if ((int)juror_tui_text_width(clean) <= width)
        return clean;
    size_t i = 0;
    int w = 0;
    while (i < len) {
        size_t j = i;
        int cw = juror_tui_cp_width(juror_tui_utf8_next(clean, len, &j));
        if (w + cw > width - 1)
            break;
        w += cw;
        i = j;
    }
    char *out = malloc(i + sizeof s_ellipsis);
    if (out != NULL) {
        memcpy(out, clean, i);
        if (width >= 1)
            memcpy(out + i, s_ellipsis, sizeof s_ellipsis);
        else
            out[i] = '\0';
    }
    free(clean);
    return out;
}

jury_err juror_tui_line(juror_tui_lines_t *out, const char *text, int width, juror_tui_style style)
{
    return s_push(out, s_cut(text, width), style, 0, false);
}

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard Hinnant's days_from_civil). */
static int64_t s_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool juror_tui_parse_time(const char *iso, int64_t *ms)
{
    int y, mo, d, h, mi, s, n = 0;
    if (iso == NULL ||
        sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 19)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 0 || h < 0 ||
        mi < 0 || s < 0)
        return false;
    const char *p = iso + n;
    int frac = 0, digits = 0;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return false;
        for (int k = digits; k < 3; k++)
            frac *= 10;
    }
    if (strcmp(p, "Z") != 0)
        return false;
    *ms = ((s_days(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)s * 1000 + frac;
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * The model.
 */

typedef struct {
    char *name;  /* field name */
    char *title; /* shown above it */
    bool chat;   /* a chat field: turns of {role, content} */
} s_field;

typedef struct {
    char *name;  /* metadata property */
    char *title; /* shown for it */
} s_meta;

typedef struct {
    char *name;                 /* question name: the key in values */
    char *title;                /* shown above the widget */
    char *description;          /* shown under the title; NULL when none */
    juror_tui_qtype type;       /* which widget */
    bool required;              /* must be answered to submit */
    bool allow_ties;            /* ranking: items may share a rank */
    bool allow_overlapping;     /* span: spans may overlap */
    size_t n;                   /* options (labels, ranking values, span labels) or rating values */
    char **values;              /* option values, n of them (NULL for rating) */
    char **titles;              /* option titles, n of them (NULL for rating) */
    int ratings[S_RATINGS_MAX]; /* rating values in the settings' order */
    char *field;                /* span: the text field the offsets count in */
} s_question;

typedef enum {
    S_FROM_NONE = 0,       /* nothing given yet, or cleared */
    S_FROM_SUGGESTION = 1, /* the record's suggestion */
    S_FROM_DRAFT = 2,      /* the annotator's saved draft */
    S_FROM_EDIT = 3,       /* changed by the annotator in this session */
    S_FROM_UNIFIED = 4,    /* review: the consolidation's value */
    S_FROM_RESPONSE = 5    /* review: copied from a response (s_answer.response) */
} s_origin;

typedef struct {
    size_t start; /* first code point */
    size_t end;   /* one past the last */
    size_t label; /* option index */
} s_span;

typedef struct {
    bool answered;   /* a value would be sent */
    s_origin origin; /* where the value came from */
    char *text;      /* text */
    int choice;      /* rating: index into ratings; label: option; -1 none */
    bool *picked;    /* multi-label: per option */
    size_t *order;   /* ranking: option indices, best first */
    bool *tied;      /* ranking: order[i] shares the rank of order[i - 1] */
    s_span *spans;   /* span: in (start, end) order */
    size_t nspans;   /* how many */
    size_t spancap;  /* allocated */
    size_t cursor;   /* label, multi-label: option; ranking: position */
    size_t response; /* S_FROM_RESPONSE: the response's number, from 1 */
} s_answer;

typedef struct {
    cJSON *value;   /* the suggested value; NULL when none */
    char *agent;    /* who suggested it; NULL when unknown */
    double score;   /* 0..1, when has_score */
    bool has_score; /* whether score is known */
} s_suggestion;

struct juror_tui_model {
    char *guidelines;   /* Markdown, "" when none */
    s_field *fields;    /* in the settings' order */
    size_t nfields;     /* how many */
    s_meta *meta;       /* visible metadata properties */
    size_t nmeta;       /* how many */
    s_question *q;      /* questions, in the settings' order */
    size_t nq;          /* how many */
    cJSON *record;      /* the record on screen; NULL before the first load */
    char *id;           /* its id */
    int64_t lease_ms;   /* its lease's end, ms since the epoch; 0 unknown */
    bool from_draft;    /* loaded with a draft */
    bool review;        /* loaded with juror_tui_model_load_review */
    bool dirty;         /* changed since loaded or saved */
    s_answer *a;        /* nq answers */
    s_suggestion *sugg; /* nq suggestions */
};

static char *s_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static const char *s_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool s_bool(const cJSON *obj, const char *key, bool dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* Whether v is an integral number within lo..hi, stored in *out. */
static bool s_int(const cJSON *v, long long lo, long long hi, long long *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (d < (double)lo || d > (double)hi || d != (double)(long long)d)
        return false;
    *out = (long long)d;
    return true;
}

static jury_err s_fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static jury_err s_fail(char *err, size_t cap, const char *fmt, ...)
{
    if (err != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return JURY_EINVAL;
}

static const struct {
    const char *name;
    juror_tui_qtype type;
} s_types[] = {{"text", JUROR_TUI_TEXT},
               {"rating", JUROR_TUI_RATING},
               {"label_selection", JUROR_TUI_LABEL},
               {"multi_label_selection", JUROR_TUI_MULTI_LABEL},
               {"ranking", JUROR_TUI_RANKING},
               {"span", JUROR_TUI_SPAN}};

/* Reads labels or ranking values: a {value: title} object or a list of values. */
static jury_err s_options(s_question *q, const cJSON *v)
{
    size_t n = 0;
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return JURY_EPROTO;
    for (const cJSON *c = v->child; c != NULL; c = c->next)
        n++;
    if (n == 0 || n > 1000)
        return JURY_EPROTO;
    if ((q->values = calloc(n, sizeof *q->values)) == NULL ||
        (q->titles = calloc(n, sizeof *q->titles)) == NULL)
        return JURY_ENOMEM;
    q->n = n;
    size_t i = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
        const char *value = cJSON_IsObject(v) ? c->string : c->valuestring;
        const char *title = cJSON_IsObject(v) ? c->valuestring : c->valuestring;
        if (value == NULL || (cJSON_IsObject(v) && !cJSON_IsString(c)) ||
            (cJSON_IsArray(v) && !cJSON_IsString(c)))
            return JURY_EPROTO;
        if ((q->values[i] = s_strdup(value)) == NULL || (q->titles[i] = s_strdup(title)) == NULL)
            return JURY_ENOMEM;
    }
    return JURY_OK;
}

static jury_err s_question_parse(s_question *q, const cJSON *v, size_t index, char *err, size_t cap)
{
    const char *name = s_str(v, "name"), *type = s_str(v, "type"), *title = s_str(v, "title");
    const char *desc = s_str(v, "description");
    if (!cJSON_IsObject(v) || name == NULL || type == NULL) {
        s_fail(err, cap, "settings: /questions/%zu: a question needs a name and a type", index);
        return JURY_EPROTO;
    }
    size_t t = 0;
    while (t < sizeof s_types / sizeof *s_types && strcmp(s_types[t].name, type) != 0)
        t++;
    if (t == sizeof s_types / sizeof *s_types) {
        s_fail(err, cap, "settings: /questions/%zu: unknown question type \"%s\"", index, type);
        return JURY_EPROTO;
    }
    q->type = s_types[t].type;
    q->required = s_bool(v, "required", true);
    q->allow_ties = s_bool(v, "allow_ties", false);
    q->allow_overlapping = s_bool(v, "allow_overlapping", false);
    if ((q->name = s_strdup(name)) == NULL || (q->title = s_strdup(title ? title : name)) == NULL ||
        (desc != NULL && *desc && (q->description = s_strdup(desc)) == NULL))
        return JURY_ENOMEM;
    jury_err rc = JURY_OK;
    switch (q->type) {
    case JUROR_TUI_TEXT:
        break;
    case JUROR_TUI_RATING: {
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(v, "values");
        long long r;
        if (!cJSON_IsArray(vals))
            rc = JURY_EPROTO;
        for (const cJSON *c = cJSON_IsArray(vals) ? vals->child : NULL; c != NULL; c = c->next) {
            if (q->n == S_RATINGS_MAX || !s_int(c, 0, 10, &r)) {
                rc = JURY_EPROTO;
                break;
            }
            q->ratings[q->n++] = (int)r;
        }
        if (q->n == 0)
            rc = JURY_EPROTO;
        break;
    }
    case JUROR_TUI_LABEL:
    case JUROR_TUI_MULTI_LABEL:
    case JUROR_TUI_SPAN:
        rc = s_options(q, cJSON_GetObjectItemCaseSensitive(v, "labels"));
        if (rc == JURY_OK && q->type == JUROR_TUI_SPAN) {
            const char *field = s_str(v, "field");
            if (field == NULL)
                rc = JURY_EPROTO;
            else if ((q->field = s_strdup(field)) == NULL)
                rc = JURY_ENOMEM;
        }
        break;
    case JUROR_TUI_RANKING:
        rc = s_options(q, cJSON_GetObjectItemCaseSensitive(v, "values"));
        if (rc == JURY_OK && q->n > 64)
            rc = JURY_EPROTO;
        break;
    }
    if (rc == JURY_EPROTO)
        s_fail(err, cap, "settings: /questions/%zu: question \"%s\" (%s) has no valid %s", index,
               name, type,
               q->type == JUROR_TUI_RATING || q->type == JUROR_TUI_RANKING ? "values"
                                                                           : "labels and field");
    return rc;
}

static void s_answer_free(s_answer *a)
{
    free(a->text);
    free(a->picked);
    free(a->order);
    free(a->tied);
    free(a->spans);
    *a = (s_answer){0};
}

void juror_tui_model_destroy(juror_tui_model_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    juror_tui_model_t *m = *self_p;
    free(m->guidelines);
    for (size_t i = 0; i < m->nfields; i++) {
        free(m->fields[i].name);
        free(m->fields[i].title);
    }
    free(m->fields);
    for (size_t i = 0; i < m->nmeta; i++) {
        free(m->meta[i].name);
        free(m->meta[i].title);
    }
    free(m->meta);
    for (size_t i = 0; i < m->nq; i++) {
        s_question *q = &m->q[i];
        for (size_t k = 0; k < q->n && q->values != NULL; k++) {
            free(q->values[k]);
            free(q->titles[k]);
        }
        free(q->values);
        free(q->titles);
        free(q->name);
        free(q->title);
        free(q->description);
        free(q->field);
        if (m->a)
            s_answer_free(&m->a[i]);
        if (m->sugg) {
            cJSON_Delete(m->sugg[i].value);
            free(m->sugg[i].agent);
        }
    }
    free(m->q);
    free(m->a);
    free(m->sugg);
    cJSON_Delete(m->record);
    free(m->id);
    free(m);
    *self_p = NULL;
}

static size_t s_count(const cJSON *arr)
{
    size_t n = 0;
    for (const cJSON *c = cJSON_IsArray(arr) ? arr->child : NULL; c != NULL; c = c->next)
        n++;
    return n;
}

jury_err juror_tui_model_new(juror_tui_model_t **out, const char *settings_json, char *err,
                             size_t errcap)
{
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    cJSON *s = settings_json ? cJSON_Parse(settings_json) : NULL;
    if (!cJSON_IsObject(s)) {
        cJSON_Delete(s);
        s_fail(err, errcap, "settings: not a JSON object");
        return JURY_EPROTO;
    }
    jury_err rc = JURY_ENOMEM;
    juror_tui_model_t *m = calloc(1, sizeof *m);
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(s, "fields");
    const cJSON *questions = cJSON_GetObjectItemCaseSensitive(s, "questions");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(s, "metadata");
    const char *guidelines = s_str(s, "guidelines");
    if (m == NULL)
        goto fail;
    if ((m->guidelines = s_strdup(guidelines ? guidelines : "")) == NULL)
        goto fail;
    if (s_count(fields) == 0 || s_count(questions) == 0) {
        rc = s_fail(err, errcap, "settings: no fields or no questions");
        rc = JURY_EPROTO;
        goto fail;
    }
    if ((m->fields = calloc(s_count(fields), sizeof *m->fields)) == NULL ||
        (m->q = calloc(s_count(questions), sizeof *m->q)) == NULL ||
        (m->a = calloc(s_count(questions), sizeof *m->a)) == NULL ||
        (m->sugg = calloc(s_count(questions), sizeof *m->sugg)) == NULL ||
        (s_count(meta) && (m->meta = calloc(s_count(meta), sizeof *m->meta)) == NULL))
        goto fail;
    for (const cJSON *f = fields->child; f != NULL; f = f->next) {
        const char *name = s_str(f, "name"), *title = s_str(f, "title"), *type = s_str(f, "type");
        if (name == NULL) {
            s_fail(err, errcap, "settings: /fields/%zu: a field needs a name", m->nfields);
            rc = JURY_EPROTO;
            goto fail;
        }
        s_field *fd = &m->fields[m->nfields++];
        fd->chat = type != NULL && strcmp(type, "chat") == 0;
        if ((fd->name = s_strdup(name)) == NULL ||
            (fd->title = s_strdup(title ? title : name)) == NULL)
            goto fail;
    }
    for (const cJSON *p = cJSON_IsArray(meta) ? meta->child : NULL; p != NULL; p = p->next) {
        const char *name = s_str(p, "name"), *title = s_str(p, "title");
        if (name == NULL || !s_bool(p, "visible_for_annotators", true))
            continue;
        s_meta *md = &m->meta[m->nmeta++];
        if ((md->name = s_strdup(name)) == NULL ||
            (md->title = s_strdup(title ? title : name)) == NULL)
            goto fail;
    }
    for (const cJSON *q = questions->child; q != NULL; q = q->next) {
        if ((rc = s_question_parse(&m->q[m->nq], q, m->nq, err, errcap)) != JURY_OK) {
            m->nq++; /* so that destroy frees what it holds */
            goto fail;
        }
        m->nq++;
    }
    for (size_t i = 0; i < m->nq; i++) {
        s_question *q = &m->q[i];
        s_answer *a = &m->a[i];
        a->choice = -1;
        size_t n = q->n ? q->n : 1;
        if ((a->picked = calloc(n, sizeof *a->picked)) == NULL ||
            (a->order = calloc(n, sizeof *a->order)) == NULL ||
            (a->tied = calloc(n, sizeof *a->tied)) == NULL) {
            rc = JURY_ENOMEM;
            goto fail;
        }
    }
    cJSON_Delete(s);
    *out = m;
    return JURY_OK;
fail:
    if (rc == JURY_ENOMEM)
        s_fail(err, errcap, "out of memory");
    cJSON_Delete(s);
    juror_tui_model_destroy(&m);
    return rc;
}

/* Sets the answer to unanswered (a span question: no spans, which is an answer). */
static void s_answer_default(const s_question *q, s_answer *a)
{
    free(a->text);
    a->text = NULL;
    a->choice = -1;
    for (size_t k = 0; k < q->n; k++) {
        a->picked[k] = false;
        a->order[k] = k;
        a->tied[k] = false;
    }
    a->nspans = 0;
    a->answered = q->type == JUROR_TUI_SPAN;
    a->origin = S_FROM_NONE;
}

static int s_option(const s_question *q, const char *value)
{
    for (size_t k = 0; k < q->n; k++)
        if (strcmp(q->values[k], value) == 0)
            return (int)k;
    return -1;
}

/* Code points of the record's text field `name`; false when it has none. */
static bool s_field_chars(const juror_tui_model_t *m, const char *name, const char **text,
                          size_t *chars)
{
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(m->record, "fields");
    const char *t = s_str(fields, name);
    if (t == NULL)
        return false;
    size_t len = strlen(t), n = 0;
    for (size_t i = 0; i < len; n++)
        (void)juror_tui_utf8_next(t, len, &i);
    if (text)
        *text = t;
    *chars = n;
    return true;
}

static bool s_span_push(s_answer *a, s_span sp)
{
    if (a->nspans == a->spancap) {
        size_t cap = a->spancap ? a->spancap * 2 : 8;
        s_span *v = realloc(a->spans, cap * sizeof *v);
        if (v == NULL)
            return false;
        a->spans = v;
        a->spancap = cap;
    }
    /* Keep (start, end) order: that is how the values list them. */
    size_t at = a->nspans;
    while (at > 0 && (a->spans[at - 1].start > sp.start ||
                      (a->spans[at - 1].start == sp.start && a->spans[at - 1].end > sp.end))) {
        a->spans[at] = a->spans[at - 1];
        at--;
    }
    a->spans[at] = sp;
    a->nspans++;
    return true;
}

/* Sets the answer from a value (a draft's or a suggestion's); false when it does not fit. */
static bool s_answer_from(juror_tui_model_t *m, size_t qi, const cJSON *v, s_origin origin)
{
    const s_question *q = &m->q[qi];
    s_answer *a = &m->a[qi];
    s_answer_default(q, a);
    if (v == NULL || cJSON_IsNull(v))
        return false;
    switch (q->type) {
    case JUROR_TUI_TEXT: {
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
            return false;
        if ((a->text = s_strdup(v->valuestring)) == NULL)
            return false;
        break;
    }
    case JUROR_TUI_RATING: {
        long long r;
        if (!s_int(v, 0, 10, &r))
            return false;
        for (size_t k = 0; k < q->n; k++)
            if (q->ratings[k] == r)
                a->choice = (int)k;
        if (a->choice < 0)
            return false;
        break;
    }
    case JUROR_TUI_LABEL:
        if (!cJSON_IsString(v) || (a->choice = s_option(q, v->valuestring)) < 0) {
            a->choice = -1;
            return false;
        }
        a->cursor = (size_t)a->choice;
        break;
    case JUROR_TUI_MULTI_LABEL: {
        bool any = false;
        if (!cJSON_IsArray(v))
            return false;
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            int k = cJSON_IsString(c) ? s_option(q, c->valuestring) : -1;
            if (k < 0) {
                s_answer_default(q, a);
                return false;
            }
            a->picked[k] = any = true;
        }
        if (!any)
            return false;
        break;
    }
    case JUROR_TUI_RANKING: {
        uint64_t seen = 0;
        size_t pos = 0;
        if (!cJSON_IsArray(v))
            return false;
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            bool tie = cJSON_IsArray(c);
            if (tie && !q->allow_ties)
                goto bad_ranking;
            const cJSON *first = tie ? c->child : c;
            if (tie && (first == NULL || first->next == NULL))
                goto bad_ranking;
            for (const cJSON *t = first; t != NULL; t = tie ? t->next : NULL) {
                int k = cJSON_IsString(t) ? s_option(q, t->valuestring) : -1;
                if (k < 0 || (seen >> k & 1) || pos >= q->n)
                    goto bad_ranking;
                seen |= UINT64_C(1) << k;
                a->tied[pos] = tie && t != first;
                a->order[pos++] = (size_t)k;
            }
        }
        if (pos != q->n)
            goto bad_ranking;
        break;
    bad_ranking:
        s_answer_default(q, a);
        return false;
    }
    case JUROR_TUI_SPAN: {
        size_t chars = 0;
        bool bounded = s_field_chars(m, q->field, NULL, &chars);
        if (!cJSON_IsArray(v))
            return false;
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            long long st, en;
            const char *label = s_str(c, "label");
            int k = label ? s_option(q, label) : -1;
            if (!s_int(cJSON_GetObjectItemCaseSensitive(c, "start"), 0, 1LL << 53, &st) ||
                !s_int(cJSON_GetObjectItemCaseSensitive(c, "end"), 0, 1LL << 53, &en) || st >= en ||
                k < 0 || (bounded && (size_t)en > chars) ||
                !s_span_push(a, (s_span){(size_t)st, (size_t)en, (size_t)k})) {
                s_answer_default(q, a);
                return false;
            }
        }
        break;
    }
    }
    a->answered = true;
    a->origin = origin;
    return true;
}

/* The consolidation's value of question qi on the record under review; NULL when none. */
static const cJSON *s_unified(const juror_tui_model_t *m, size_t qi)
{
    if (!m->review)
        return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(m->record, "unified"), m->q[qi].name);
    return v == NULL || cJSON_IsNull(v) ? NULL : v;
}

/* Sets answer qi to where a reset goes: while reviewing the consolidation's value, else (or
 * without one) the suggestion, else unanswered. */
static void s_answer_base(juror_tui_model_t *m, size_t qi)
{
    if (s_answer_from(m, qi, s_unified(m, qi), S_FROM_UNIFIED))
        return;
    if (!s_answer_from(m, qi, m->sugg[qi].value, S_FROM_SUGGESTION))
        s_answer_default(&m->q[qi], &m->a[qi]);
}

/* juror_tui_model_load and juror_tui_model_load_review. */
static jury_err s_load(juror_tui_model_t *m, const char *record_json, bool review)
{
    cJSON *r = record_json ? cJSON_Parse(record_json) : NULL;
    const char *id = s_str(r, "id");
    if (!cJSON_IsObject(r) || id == NULL ||
        (review && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r, "responses")))) {
        cJSON_Delete(r);
        return JURY_EPROTO;
    }
    char *idc = s_strdup(id);
    s_suggestion *sugg = calloc(m->nq, sizeof *sugg);
    if (idc == NULL || sugg == NULL) {
        free(idc);
        free(sugg);
        cJSON_Delete(r);
        return JURY_ENOMEM;
    }
    const cJSON *suggestions = cJSON_GetObjectItemCaseSensitive(r, "suggestions");
    for (size_t i = 0; i < m->nq; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(suggestions, m->q[i].name);
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(s, "value");
        const cJSON *score = cJSON_GetObjectItemCaseSensitive(s, "score");
        const char *agent = s_str(s, "agent");
        if (!cJSON_IsObject(s) || value == NULL || cJSON_IsNull(value))
            continue;
        sugg[i].value = cJSON_Duplicate(value, true);
        sugg[i].agent = agent ? s_strdup(agent) : NULL;
        sugg[i].has_score = cJSON_IsNumber(score);
        sugg[i].score = sugg[i].has_score ? score->valuedouble : 0;
    }
    /* The new record replaces the old one only now that nothing can fail any more. */
    for (size_t i = 0; m->sugg && i < m->nq; i++) {
        cJSON_Delete(m->sugg[i].value);
        free(m->sugg[i].agent);
    }
    free(m->sugg);
    m->sugg = sugg;
    cJSON_Delete(m->record);
    m->record = r;
    free(m->id);
    m->id = idc;
    m->review = review;
    m->lease_ms = 0;
    (void)juror_tui_parse_time(s_str(r, "lease_expires"), &m->lease_ms);
    /* A review record has no draft: the reviewer's answers are not responses. */
    const cJSON *draft = review ? NULL : cJSON_GetObjectItemCaseSensitive(r, "draft");
    m->from_draft = cJSON_IsObject(draft);
    for (size_t i = 0; i < m->nq; i++) {
        m->a[i].cursor = 0;
        const cJSON *dv =
            m->from_draft ? cJSON_GetObjectItemCaseSensitive(draft, m->q[i].name) : NULL;
        if (dv != NULL && !cJSON_IsNull(dv) && s_answer_from(m, i, dv, S_FROM_DRAFT))
            continue;
        s_answer_base(m, i);
    }
    m->dirty = false;
    return JURY_OK;
}

jury_err juror_tui_model_load(juror_tui_model_t *m, const char *record_json)
{
    return s_load(m, record_json, false);
}

jury_err juror_tui_model_load_review(juror_tui_model_t *m, const char *record_json)
{
    return s_load(m, record_json, true);
}

bool juror_tui_reviewing(const juror_tui_model_t *m)
{
    return m->record != NULL && m->review;
}

bool juror_tui_has_record(const juror_tui_model_t *m)
{
    return m->record != NULL;
}

const char *juror_tui_record_id(const juror_tui_model_t *m)
{
    return m->id ? m->id : "";
}

bool juror_tui_from_draft(const juror_tui_model_t *m)
{
    return m->from_draft;
}

int64_t juror_tui_lease_expires(const juror_tui_model_t *m)
{
    return m->lease_ms;
}

void juror_tui_set_lease_expires(juror_tui_model_t *m, int64_t ms)
{
    m->lease_ms = ms;
}

bool juror_tui_dirty(const juror_tui_model_t *m)
{
    return m->dirty;
}

void juror_tui_mark_saved(juror_tui_model_t *m)
{
    m->dirty = false;
}

const char *juror_tui_guidelines(const juror_tui_model_t *m)
{
    return m->guidelines;
}

size_t juror_tui_question_count(const juror_tui_model_t *m)
{
    return m->nq;
}

juror_tui_qtype juror_tui_question_type(const juror_tui_model_t *m, size_t q)
{
    return m->q[q].type;
}

const char *juror_tui_question_name(const juror_tui_model_t *m, size_t q)
{
    return m->q[q].name;
}

const char *juror_tui_question_title(const juror_tui_model_t *m, size_t q)
{
    return m->q[q].title;
}

bool juror_tui_question_required(const juror_tui_model_t *m, size_t q)
{
    return m->q[q].required;
}

size_t juror_tui_question_find(const juror_tui_model_t *m, const char *name)
{
    for (size_t i = 0; name != NULL && i < m->nq; i++)
        if (strcmp(m->q[i].name, name) == 0)
            return i;
    return (size_t)-1;
}

size_t juror_tui_question_of_reason(const juror_tui_model_t *m, const char *reason)
{
    static const char lead[] = "/values/";
    const char *p = reason ? strstr(reason, lead) : NULL;
    if (p == NULL)
        return (size_t)-1;
    p += sizeof lead - 1;
    size_t n = strcspn(p, "/: ");
    for (size_t i = 0; i < m->nq; i++)
        if (strlen(m->q[i].name) == n && strncmp(m->q[i].name, p, n) == 0)
            return i;
    return (size_t)-1;
}

bool juror_tui_answered(const juror_tui_model_t *m, size_t q)
{
    return m->record != NULL && m->a[q].answered;
}

/* Marks question q as changed by the annotator. */
static bool s_edited(juror_tui_model_t *m, size_t q)
{
    m->a[q].origin = S_FROM_EDIT;
    m->dirty = true;
    return true;
}

static bool s_multi_any(const s_question *q, const s_answer *a)
{
    for (size_t k = 0; k < q->n; k++)
        if (a->picked[k])
            return true;
    return false;
}

bool juror_tui_digit(juror_tui_model_t *m, size_t qi, int digit)
{
    if (m->record == NULL || qi >= m->nq || digit < 0 || digit > 9)
        return false;
    const s_question *q = &m->q[qi];
    s_answer *a = &m->a[qi];
    switch (q->type) {
    case JUROR_TUI_RATING: {
        int want = digit, pick = -1;
        for (size_t k = 0; k < q->n; k++)
            if (q->ratings[k] == want)
                pick = (int)k;
        if (pick < 0 && digit == 0)
            for (size_t k = 0; k < q->n; k++)
                if (q->ratings[k] == 10)
                    pick = (int)k;
        if (pick < 0)
            return false;
        a->choice = pick;
        a->answered = true;
        return s_edited(m, qi);
    }
    case JUROR_TUI_LABEL:
        if (digit < 1 || (size_t)digit > q->n)
            return false;
        a->choice = digit - 1;
        a->cursor = (size_t)(digit - 1);
        a->answered = true;
        return s_edited(m, qi);
    case JUROR_TUI_MULTI_LABEL:
        if (digit < 1 || (size_t)digit > q->n)
            return false;
        a->cursor = (size_t)(digit - 1);
        return juror_tui_activate(m, qi);
    default:
        return false;
    }
}

bool juror_tui_move(juror_tui_model_t *m, size_t qi, int delta)
{
    if (m->record == NULL || qi >= m->nq || delta == 0)
        return false;
    const s_question *q = &m->q[qi];
    s_answer *a = &m->a[qi];
    switch (q->type) {
    case JUROR_TUI_RATING: {
        long long c = a->choice < 0 ? (delta > 0 ? -1 : (long long)q->n) : a->choice;
        c += delta;
        if (c < 0)
            c = 0;
        if (c >= (long long)q->n)
            c = (long long)q->n - 1;
        if (a->answered && c == a->choice)
            return false;
        a->choice = (int)c;
        a->answered = true;
        return s_edited(m, qi);
    }
    case JUROR_TUI_LABEL:
    case JUROR_TUI_MULTI_LABEL:
    case JUROR_TUI_RANKING: {
        long long c = (long long)a->cursor + delta;
        if (c < 0)
            c = 0;
        if (c >= (long long)q->n)
            c = (long long)q->n - 1;
        if ((size_t)c == a->cursor)
            return false;
        a->cursor = (size_t)c;
        return true;
    }
    default:
        return false;
    }
}

bool juror_tui_activate(juror_tui_model_t *m, size_t qi)
{
    if (m->record == NULL || qi >= m->nq)
        return false;
    const s_question *q = &m->q[qi];
    s_answer *a = &m->a[qi];
    switch (q->type) {
    case JUROR_TUI_LABEL:
        if (a->answered && a->choice == (int)a->cursor)
            return false;
        a->choice = (int)a->cursor;
        a->answered = true;
        return s_edited(m, qi);
    case JUROR_TUI_MULTI_LABEL:
        a->picked[a->cursor] = !a->picked[a->cursor];
        /* An empty set is not an answer (SPEC 9.6: non-empty). */
        a->answered = s_multi_any(q, a);
        return s_edited(m, qi);
    case JUROR_TUI_RANKING:
        if (a->answered)
            return false;
        a->answered = true;
        return s_edited(m, qi);
    default:
        return false;
    }
}

bool juror_tui_rank_shift(juror_tui_model_t *m, size_t qi, int delta)
{
    if (m->record == NULL || qi >= m->nq || m->q[qi].type != JUROR_TUI_RANKING || delta == 0)
        return false;
    const s_question *q = &m->q[qi];
    s_answer *a = &m->a[qi];
    long long to = (long long)a->cursor + delta;
    if (to < 0)
        to = 0;
    if (to >= (long long)q->n)
        to = (long long)q->n - 1;
    size_t from = a->cursor;
    if ((size_t)to == from) {
        /* Nothing moves, but touching the order still makes it the answer. */
        if (a->answered)
            return false;
        a->answered = true;
        return s_edited(m, qi);
    }
    /* The item leaves any tie it was in (the next item starts the tie when it led it), and
     * lands untied, separating the item after it from whatever was above. */
    size_t item = a->order[from];
    if (from + 1 < q->n && !a->tied[from])
        a->tied[from + 1] = false;
    int step = to > (long long)from ? 1 : -1;
    for (size_t i = from; i != (size_t)to; i += (size_t)step) {
        a->order[i] = a->order[i + (size_t)step];
        a->tied[i] = a->tied[i + (size_t)step];
    }
    a->order[to] = item;
    a->tied[to] = false;
    a->tied[0] = false;
    if ((size_t)to + 1 < q->n)
        a->tied[to + 1] = false;
    a->cursor = (size_t)to;
    a->answered = true;
    return s_edited(m, qi);
}

bool juror_tui_rank_tie(juror_tui_model_t *m, size_t qi)
{
    if (m->record == NULL || qi >= m->nq || m->q[qi].type != JUROR_TUI_RANKING ||
        !m->q[qi].allow_ties)
        return false;
    s_answer *a = &m->a[qi];
    if (a->cursor == 0)
        return false;
    a->tied[a->cursor] = !a->tied[a->cursor];
    a->answered = true;
    return s_edited(m, qi);
}

bool juror_tui_reset(juror_tui_model_t *m, size_t qi)
{
    if (m->record == NULL || qi >= m->nq)
        return false;
    size_t cursor = m->a[qi].cursor;
    s_answer_base(m, qi);
    m->a[qi].cursor = cursor;
    m->dirty = true;
    return true;
}

bool juror_tui_clear(juror_tui_model_t *m, size_t qi)
{
    if (m->record == NULL || qi >= m->nq)
        return false;
    s_answer *a = &m->a[qi];
    bool was = a->answered && !(m->q[qi].type == JUROR_TUI_SPAN && a->nspans == 0);
    size_t cursor = a->cursor;
    s_answer_default(&m->q[qi], a);
    a->cursor = cursor;
    if (was)
        m->dirty = true;
    return was;
}

const char *juror_tui_text(const juror_tui_model_t *m, size_t q)
{
    if (m->record == NULL || q >= m->nq || m->q[q].type != JUROR_TUI_TEXT)
        return NULL;
    return m->a[q].text;
}

static bool s_utf8_ok(const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t at = i;
        uint32_t cp = juror_tui_utf8_next(s, len, &i);
        /* A real U+FFFD takes 3 bytes; a malformed byte gives U+FFFD after 1. */
        if (cp == 0xfffd && i - at != 3)
            return false;
    }
    return true;
}

jury_err juror_tui_set_text(juror_tui_model_t *m, size_t qi, const char *text)
{
    if (m->record == NULL || qi >= m->nq || m->q[qi].type != JUROR_TUI_TEXT)
        return JURY_EINVAL;
    s_answer *a = &m->a[qi];
    if (text == NULL || *text == '\0') {
        if (a->answered) {
            free(a->text);
            a->text = NULL;
            a->answered = false;
            s_edited(m, qi);
        }
        return JURY_OK;
    }
    if (!s_utf8_ok(text))
        return JURY_EINVAL;
    if (a->text != NULL && strcmp(a->text, text) == 0)
        return JURY_OK;
    char *copy = s_strdup(text);
    if (copy == NULL)
        return JURY_ENOMEM;
    free(a->text);
    a->text = copy;
    a->answered = true;
    s_edited(m, qi);
    return JURY_OK;
}

/* Checks span sp against the field's length and (unless allowed) the spans in a. */
static jury_err s_span_ok(const juror_tui_model_t *m, size_t qi, const s_answer *a, s_span sp,
                          size_t skip, char *why, size_t cap, const char *where)
{
    const s_question *q = &m->q[qi];
    size_t chars;
    if (sp.start >= sp.end)
        return s_fail(why, cap, "%sstart (%zu) must be less than end (%zu)", where, sp.start,
                      sp.end);
    if (s_field_chars(m, q->field, NULL, &chars) && sp.end > chars)
        return s_fail(why, cap, "%send (%zu) is beyond the end of the text (%zu characters)", where,
                      sp.end, chars);
    for (size_t k = 0; !q->allow_overlapping && k < a->nspans; k++)
        if (k != skip && sp.start < a->spans[k].end && a->spans[k].start < sp.end)
            return s_fail(why, cap,
                          "%soverlaps span %zu, and the question does not allow overlapping", where,
                          k);
    return JURY_OK;
}

jury_err juror_tui_span_add(juror_tui_model_t *m, size_t qi, const char *entry, char *why,
                            size_t whycap)
{
    if (m->record == NULL || qi >= m->nq || m->q[qi].type != JUROR_TUI_SPAN)
        return s_fail(why, whycap, "not a span question");
    const s_question *q = &m->q[qi];
    s_answer *a = &m->a[qi];
    const char *p = entry ? entry : "";
    char *end;
    while (isspace((unsigned char)*p))
        p++;
    errno = 0;
    unsigned long long st = isdigit((unsigned char)*p) ? strtoull(p, &end, 10) : 0;
    if (!isdigit((unsigned char)*p) || errno != 0 || !isspace((unsigned char)*end))
        goto usage;
    p = end;
    while (isspace((unsigned char)*p))
        p++;
    unsigned long long en = isdigit((unsigned char)*p) ? strtoull(p, &end, 10) : 0;
    if (!isdigit((unsigned char)*p) || errno != 0 || !isspace((unsigned char)*end))
        goto usage;
    p = end;
    while (isspace((unsigned char)*p))
        p++;
    size_t llen = strlen(p);
    while (llen > 0 && isspace((unsigned char)p[llen - 1]))
        llen--;
    if (llen == 0)
        goto usage;
    int label = -1;
    for (size_t k = 0; k < q->n; k++)
        if (strlen(q->values[k]) == llen && strncmp(q->values[k], p, llen) == 0)
            label = (int)k;
    if (label < 0 && strspn(p, "0123456789") == llen && llen < 6) {
        long n = strtol(p, NULL, 10);
        if (n >= 1 && (size_t)n <= q->n)
            label = (int)n - 1;
    }
    if (label < 0)
        return s_fail(why, whycap, "\"%.*s\" is not one of the labels (or their numbers 1-%zu)",
                      (int)(llen > 100 ? 100 : llen), p, q->n);
    s_span sp = {(size_t)st, (size_t)en, (size_t)label};
    jury_err rc = s_span_ok(m, qi, a, sp, (size_t)-1, why, whycap, "");
    if (rc != JURY_OK)
        return rc;
    if (!s_span_push(a, sp))
        return JURY_ENOMEM;
    a->answered = true;
    s_edited(m, qi);
    return JURY_OK;
usage:
    return s_fail(why, whycap, "a span is START END LABEL, e.g. \"0 5 %s\"", q->values[0]);
}

bool juror_tui_span_pop(juror_tui_model_t *m, size_t qi)
{
    if (m->record == NULL || qi >= m->nq || m->q[qi].type != JUROR_TUI_SPAN || m->a[qi].nspans == 0)
        return false;
    m->a[qi].nspans--;
    return s_edited(m, qi);
}

/* ---------------------------------------------------------------------------------------------
 * Layout.
 */

static jury_err s_chat(juror_tui_lines_t *out, const cJSON *turns, int width)
{
    jury_err rc = JURY_OK;
    for (const cJSON *t = cJSON_IsArray(turns) ? turns->child : NULL; t != NULL && rc == JURY_OK;
         t = t->next) {
        const char *role = s_str(t, "role"), *content = s_str(t, "content");
        s_buf b = {0};
        s_buf_str(&b, role ? role : "?");
        s_buf_str(&b, ": ");
        char *prefix = s_buf_take(&b);
        if (prefix == NULL)
            return JURY_ENOMEM;
        rc = juror_tui_wrap(out, prefix, content ? content : "", width, 2, JUROR_TUI_BODY);
        free(prefix);
    }
    return rc;
}

/* A metadata value as text: a string, a number, or a list of them joined with ", ". */
static void s_meta_value(s_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        s_buf_str(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        long long i;
        if (s_int(v, -(1LL << 53), 1LL << 53, &i))
            s_buf_fmt(b, "%lld", i);
        else
            s_buf_fmt(b, "%g", v->valuedouble);
    } else if (cJSON_IsArray(v)) {
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            s_meta_value(b, c);
            if (c->next)
                s_buf_str(b, ", ");
        }
    } else if (cJSON_IsBool(v)) {
        s_buf_str(b, cJSON_IsTrue(v) ? "true" : "false");
    }
}

jury_err juror_tui_layout_record(const juror_tui_model_t *m, int width, juror_tui_lines_t *out)
{
    jury_err rc = JURY_OK;
    if (m->record == NULL)
        return juror_tui_line(out, "(no record)", width, JUROR_TUI_DIM);
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(m->record, "fields");
    for (size_t i = 0; i < m->nfields && rc == JURY_OK; i++) {
        const s_field *f = &m->fields[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(fields, f->name);
        if (i > 0 && (rc = juror_tui_line(out, "", width, JUROR_TUI_BODY)) != JURY_OK)
            break;
        if ((rc = juror_tui_line(out, f->title, width, JUROR_TUI_TITLE)) != JURY_OK)
            break;
        if (cJSON_IsString(v))
            rc = juror_tui_wrap(out, NULL, v->valuestring, width, 2, JUROR_TUI_BODY);
        else if (cJSON_IsArray(v) && v->child != NULL)
            rc = s_chat(out, v, width);
        else
            rc = juror_tui_wrap(out, NULL, "(empty)", width, 2, JUROR_TUI_DIM);
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->record, "metadata");
    bool first = true;
    for (size_t i = 0; i < m->nmeta && rc == JURY_OK; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, m->meta[i].name);
        if (v == NULL || cJSON_IsNull(v))
            continue;
        if (first) {
            first = false;
            if ((rc = juror_tui_line(out, "", width, JUROR_TUI_BODY)) != JURY_OK ||
                (rc = juror_tui_line(out, "Metadata", width, JUROR_TUI_TITLE)) != JURY_OK)
                break;
        }
        s_buf b = {0};
        s_meta_value(&b, v);
        char *text = s_buf_take(&b);
        if (text == NULL)
            return JURY_ENOMEM;
        s_buf pb = {0};
        s_buf_str(&pb, m->meta[i].title);
        s_buf_str(&pb, ": ");
        char *prefix = s_buf_take(&pb);
        rc = prefix ? juror_tui_wrap(out, prefix, text, width, 2, JUROR_TUI_DIM) : JURY_ENOMEM;
        free(prefix);
        free(text);
    }
    return rc;
}

jury_err juror_tui_layout_guidelines(const juror_tui_model_t *m, int width, juror_tui_lines_t *out)
{
    jury_err rc = juror_tui_line(out, "Guidelines", width, JUROR_TUI_TITLE);
    if (rc != JURY_OK)
        return rc;
    if (m->guidelines[0] == '\0')
        return juror_tui_wrap(out, NULL, "This dataset has no guidelines.", width, 2,
                              JUROR_TUI_DIM);
    return juror_tui_wrap(out, NULL, m->guidelines, width, 2, JUROR_TUI_BODY);
}

/* A suggested value for people: "4", "Billing", "a, b", "x > y = z", "2 spans". */
static void s_value_text(s_buf *b, const s_question *q, const cJSON *v)
{
    switch (q->type) {
    case JUROR_TUI_LABEL: {
        int k = cJSON_IsString(v) ? s_option(q, v->valuestring) : -1;
        s_buf_str(b, k >= 0 ? q->titles[k] : "?");
        break;
    }
    case JUROR_TUI_MULTI_LABEL:
        for (const cJSON *c = cJSON_IsArray(v) ? v->child : NULL; c != NULL; c = c->next) {
            int k = cJSON_IsString(c) ? s_option(q, c->valuestring) : -1;
            s_buf_str(b, k >= 0 ? q->titles[k] : "?");
            if (c->next)
                s_buf_str(b, ", ");
        }
        break;
    case JUROR_TUI_RANKING:
        for (const cJSON *c = cJSON_IsArray(v) ? v->child : NULL; c != NULL; c = c->next) {
            for (const cJSON *t = cJSON_IsArray(c) ? c->child : c; t != NULL;
                 t = cJSON_IsArray(c) ? t->next : NULL) {
                int k = cJSON_IsString(t) ? s_option(q, t->valuestring) : -1;
                s_buf_str(b, k >= 0 ? q->titles[k] : "?");
                if (cJSON_IsArray(c) && t->next)
                    s_buf_str(b, " = ");
            }
            if (c->next)
                s_buf_str(b, " > ");
        }
        break;
    case JUROR_TUI_SPAN: {
        size_t n = 0;
        for (const cJSON *c = cJSON_IsArray(v) ? v->child : NULL; c != NULL; c = c->next)
            n++;
        s_buf_fmt(b, "%zu span%s", n, n == 1 ? "" : "s");
        break;
    }
    default:
        s_meta_value(b, v);
    }
}

/* " (by AGENT, score 0.62)", or with lead ", " instead of " (" and no closing parenthesis. */
static void s_sugg_source(s_buf *b, const s_suggestion *s, bool paren)
{
    const char *lead = paren ? " (" : ", ", *end = paren ? ")" : "";
    if (s->agent && s->has_score)
        s_buf_fmt(b, "%sby %s, score %.2f%s", lead, s->agent, s->score, end);
    else if (s->agent)
        s_buf_fmt(b, "%sby %s%s", lead, s->agent, end);
    else if (s->has_score)
        s_buf_fmt(b, "%sscore %.2f%s", lead, s->score, end);
}

/* Appends an owned string as a wrapped paragraph. */
static jury_err s_wrap_take(juror_tui_lines_t *out, char *text, int width, int indent,
                            juror_tui_style style)
{
    if (text == NULL)
        return JURY_ENOMEM;
    jury_err rc = juror_tui_wrap(out, NULL, text, width, indent, style);
    free(text);
    return rc;
}

/* The code points start..end of text, cut to cols columns. */
static char *s_excerpt(const char *text, size_t start, size_t end, int cols)
{
    size_t len = strlen(text), i = 0, k = 0, from = len, to = len;
    while (i < len && k < end) {
        if (k == start)
            from = i;
        (void)juror_tui_utf8_next(text, len, &i);
        k++;
    }
    if (k == end)
        to = i;
    if (from > to)
        from = to;
    s_buf b = {0};
    s_buf_add(&b, text + from, to - from);
    char *raw = s_buf_take(&b);
    if (raw == NULL)
        return NULL;
    char *cut = s_cut(raw, cols);
    free(raw);
    return cut;
}

static jury_err s_layout_widget(const juror_tui_model_t *m, size_t qi, int width,
                                juror_tui_lines_t *out)
{
    const s_question *q = &m->q[qi];
    const s_answer *a = &m->a[qi];
    jury_err rc = JURY_OK;
    s_buf b = {0};
    switch (q->type) {
    case JUROR_TUI_TEXT:
        if (a->answered)
            return juror_tui_wrap(out, NULL, a->text, width, 2, JUROR_TUI_BODY);
        return juror_tui_line(out, "  (no answer yet)", width, JUROR_TUI_DIM);
    case JUROR_TUI_RATING:
        s_buf_str(&b, " ");
        for (size_t k = 0; k < q->n; k++)
            s_buf_fmt(&b, (int)k == a->choice && a->answered ? " [%d]" : "  %d ", q->ratings[k]);
        if (!a->answered)
            s_buf_str(&b, "   (not rated yet)");
        return s_push(out, s_buf_take(&b), a->answered ? JUROR_TUI_CHOSEN : JUROR_TUI_BODY, 0,
                      false);
    case JUROR_TUI_LABEL:
    case JUROR_TUI_MULTI_LABEL:
        for (size_t k = 0; k < q->n && rc == JURY_OK; k++) {
            bool on =
                q->type == JUROR_TUI_LABEL ? a->answered && a->choice == (int)k : a->picked[k];
            if (k < 9)
                s_buf_fmt(&b, "  %zu ", k + 1);
            else
                s_buf_str(&b, "    ");
            if (q->type == JUROR_TUI_LABEL)
                s_buf_str(&b, on ? "(*) " : "( ) ");
            else
                s_buf_str(&b, on ? "[x] " : "[ ] ");
            s_buf_str(&b, q->titles[k]);
            char *cut = NULL, *line = s_buf_take(&b);
            if (line != NULL) {
                cut = s_cut(line, width);
                free(line);
            }
            rc = s_push(out, cut, on ? JUROR_TUI_CHOSEN : JUROR_TUI_BODY, 0, k == a->cursor);
        }
        return rc;
    case JUROR_TUI_RANKING: {
        size_t rank = 0;
        for (size_t k = 0; k < q->n && rc == JURY_OK; k++) {
            if (!a->tied[k])
                rank = k + 1;
            s_buf_fmt(&b, "  %2zu%c ", rank, a->tied[k] ? '=' : '.');
            s_buf_str(&b, q->titles[a->order[k]]);
            char *cut = NULL, *line = s_buf_take(&b);
            if (line != NULL) {
                cut = s_cut(line, width);
                free(line);
            }
            rc = s_push(out, cut, a->answered ? JUROR_TUI_CHOSEN : JUROR_TUI_BODY, 0,
                        k == a->cursor);
        }
        if (rc == JURY_OK && !a->answered)
            rc = juror_tui_wrap(out, NULL,
                                "(not ranked yet: move an item, or press Enter to keep this "
                                "order)",
                                width, 2, JUROR_TUI_DIM);
        return rc;
    }
    case JUROR_TUI_SPAN: {
        const char *text = NULL;
        size_t chars = 0;
        bool have = s_field_chars(m, q->field, &text, &chars);
        if (a->nspans == 0)
            return juror_tui_wrap(out, NULL, "no spans (answered as no spans: an empty list)",
                                  width, 2, JUROR_TUI_BODY);
        for (size_t k = 0; k < a->nspans && rc == JURY_OK; k++) {
            const s_span *sp = &a->spans[k];
            s_buf_fmt(&b, "  %zu: [%zu, %zu) %s", k, sp->start, sp->end, q->titles[sp->label]);
            if (have) {
                char *ex = s_excerpt(text, sp->start, sp->end, S_EXCERPT_COLS);
                if (ex == NULL) {
                    free(s_buf_take(&b));
                    return JURY_ENOMEM;
                }
                s_buf_fmt(&b, "  \"%s\"", ex);
                free(ex);
            }
            char *cut = NULL, *line = s_buf_take(&b);
            if (line != NULL) {
                cut = s_cut(line, width);
                free(line);
            }
            rc = s_push(out, cut, JUROR_TUI_CHOSEN, 0, false);
        }
        return rc;
    }
    }
    return JURY_OK;
}

jury_err juror_tui_layout_question(const juror_tui_model_t *m, size_t qi, int width,
                                   juror_tui_lines_t *out)
{
    if (qi >= m->nq)
        return JURY_OK;
    const s_question *q = &m->q[qi];
    const s_answer *a = &m->a[qi];
    const s_suggestion *sg = m->sugg ? &m->sugg[qi] : NULL;
    jury_err rc;
    s_buf b = {0};
    s_buf_str(&b, q->title);
    if (q->required)
        s_buf_str(&b, " *");
    char *title = s_buf_take(&b);
    if (title == NULL)
        return JURY_ENOMEM;
    rc = juror_tui_line(out, title, width, JUROR_TUI_TITLE);
    free(title);
    if (rc == JURY_OK && q->description != NULL)
        rc = juror_tui_wrap(out, NULL, q->description, width, 2, JUROR_TUI_DIM);
    if (rc != JURY_OK)
        return rc;
    if (m->record == NULL)
        return JURY_OK;
    if ((rc = s_layout_widget(m, qi, width, out)) != JURY_OK)
        return rc;

    /* Where the answer came from. */
    bool has_sugg = sg != NULL && sg->value != NULL;
    const cJSON *unified = s_unified(m, qi);
    const char *base = unified ? "the consolidation's value" : has_sugg ? "the suggestion" : NULL;
    if (a->answered && a->origin == S_FROM_RESPONSE) {
        s_buf_fmt(&b, "(copied from response %zu, %s", a->response,
                  juror_tui_review_annotator(m, a->response));
        if (base)
            s_buf_fmt(&b, "; r goes back to %s", base);
        s_buf_str(&b, ")");
    } else if (unified && a->answered && a->origin == S_FROM_UNIFIED) {
        s_buf_str(&b, "(the consolidation's value)");
    } else if (unified && q->type == JUROR_TUI_TEXT) {
        s_buf_str(&b, a->answered ? "(edited; r goes back to the consolidation's value)"
                                  : "(cleared; r goes back to the consolidation's value)");
    } else if (unified) {
        s_buf_str(&b, "consolidation: ");
        s_value_text(&b, q, unified);
        s_buf_str(&b, "; r takes it");
    } else if (a->answered && a->origin == S_FROM_DRAFT) {
        s_buf_str(&b, "(from your draft");
        s_buf_str(&b, has_sugg ? "; r goes back to the suggestion)" : ")");
    } else if (q->type == JUROR_TUI_TEXT && a->answered && a->origin == S_FROM_SUGGESTION) {
        s_buf_str(&b, "(the suggestion");
        s_sugg_source(&b, sg, false);
        s_buf_str(&b, ")");
    } else if (q->type == JUROR_TUI_TEXT && has_sugg) {
        s_buf_str(&b, a->answered ? "(edited; r goes back to the suggestion)"
                                  : "(cleared; r goes back to the suggestion)");
    } else if (q->type != JUROR_TUI_TEXT && has_sugg) {
        s_buf_str(&b, "suggested: ");
        s_value_text(&b, q, sg->value);
        s_sugg_source(&b, sg, true);
        if (a->origin != S_FROM_SUGGESTION)
            s_buf_str(&b, "; r takes it");
    }
    if (b.n > 0 && (rc = s_wrap_take(out, s_buf_take(&b), width, 2, JUROR_TUI_DIM)) != JURY_OK)
        return rc;

    /* Which keys work; while reviewing, digits copy a response, so choices take the arrows. */
    if (m->review && q->type != JUROR_TUI_SPAN) {
        switch (q->type) {
        case JUROR_TUI_TEXT:
            s_buf_str(&b, "e: edit in $EDITOR   i: edit inline");
            if (base)
                s_buf_fmt(&b, "   r: %s", base);
            break;
        case JUROR_TUI_RATING:
            s_buf_str(&b, "Left/Right choose");
            break;
        case JUROR_TUI_LABEL:
            s_buf_str(&b, "Up/Down and Enter choose");
            break;
        case JUROR_TUI_MULTI_LABEL:
            s_buf_str(&b, "Up/Down and space toggle");
            break;
        default:
            s_buf_str(&b,
                      "Up/Down: choose an item   K/J: move it up/down   Enter: keep this order");
            if (q->allow_ties)
                s_buf_str(&b, "   t: tie or untie (a final ranking has no ties)");
            return s_wrap_take(out, s_buf_take(&b), width, 2, JUROR_TUI_DIM);
        }
        s_buf_str(&b, "   Del: clear");
        return s_wrap_take(out, s_buf_take(&b), width, 2, JUROR_TUI_DIM);
    }
    switch (q->type) {
    case JUROR_TUI_TEXT:
        s_buf_str(&b, "e: edit in $EDITOR   i: edit inline   r: the suggestion   Del: clear");
        break;
    case JUROR_TUI_RATING: {
        bool run = true, has0 = false;
        for (size_t k = 0; k < q->n; k++) {
            run = run && q->ratings[k] < 10 && (k == 0 || q->ratings[k] == q->ratings[k - 1] + 1);
            has0 = has0 || q->ratings[k] == 0;
        }
        if (run) {
            s_buf_fmt(&b, "keys %d-%d", q->ratings[0], q->ratings[q->n - 1]);
        } else {
            s_buf_str(&b, "keys ");
            for (size_t k = 0; k < q->n; k++)
                if (q->ratings[k] < 10 || !has0)
                    s_buf_fmt(&b, "%s%d", k ? "," : "", q->ratings[k] == 10 ? 0 : q->ratings[k]);
            if (!has0 && q->ratings[q->n - 1] == 10)
                s_buf_str(&b, " (0 for 10)");
        }
        s_buf_str(&b, " or Left/Right choose   Del: clear");
        break;
    }
    case JUROR_TUI_LABEL:
        s_buf_fmt(&b, "keys 1-%zu, or Up/Down and Enter, choose   Del: clear", q->n < 9 ? q->n : 9);
        break;
    case JUROR_TUI_MULTI_LABEL:
        s_buf_fmt(&b, "keys 1-%zu, or Up/Down and space, toggle   Del: clear", q->n < 9 ? q->n : 9);
        break;
    case JUROR_TUI_RANKING:
        s_buf_str(&b, "Up/Down: choose an item   K/J: move it up/down   Enter: keep this order");
        if (q->allow_ties)
            s_buf_str(&b, "   t: tie with the item above");
        break;
    case JUROR_TUI_SPAN:
        s_buf_fmt(&b,
                  "a: add a span (START END LABEL; offsets count characters of \"%s\")   D: "
                  "remove the last",
                  q->field);
        break;
    }
    return s_wrap_take(out, s_buf_take(&b), width, 2, JUROR_TUI_DIM);
}

/* ---------------------------------------------------------------------------------------------
 * Review.
 */

/* Columns of the annotator's name in the responses table, at most. */
#define S_NAME_COLS 16
/* Columns of a question's column in the responses table, at least (when the width allows). */
#define S_CELL_MIN 3
/* Spaces between two columns of the table. */
#define S_GAP 2
/* Columns of a question's title in the table's head while the table is narrowed. */
#define S_HEAD_COLS 4
/* Columns the widest question column keeps when it lends some to another's title. */
#define S_DONOR_COLS 24

/* The responses array of the record under review (NULL when not reviewing). */
static const cJSON *s_responses(const juror_tui_model_t *m)
{
    if (m->record == NULL || !m->review)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(m->record, "responses");
}

/* Response k (from 1), or NULL. */
static const cJSON *s_response(const juror_tui_model_t *m, size_t k)
{
    const cJSON *r = s_responses(m);
    if (k == 0 || r == NULL)
        return NULL;
    return cJSON_GetArrayItem(r, k - 1 > (size_t)INT32_MAX ? INT32_MAX : (int)(k - 1));
}

size_t juror_tui_review_responses(const juror_tui_model_t *m)
{
    return s_count(s_responses(m));
}

const char *juror_tui_review_annotator(const juror_tui_model_t *m, size_t k)
{
    const char *name = s_str(s_response(m, k), "annotator");
    return name ? name : "";
}

bool juror_tui_review_copy(juror_tui_model_t *m, size_t k)
{
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(s_response(m, k), "values");
    if (!cJSON_IsObject(values) || values->child == NULL)
        return false;
    for (size_t i = 0; i < m->nq; i++) {
        size_t cursor = m->a[i].cursor;
        if (s_answer_from(m, i, cJSON_GetObjectItemCaseSensitive(values, m->q[i].name),
                          S_FROM_RESPONSE))
            m->a[i].response = k;
        m->a[i].cursor = cursor;
    }
    m->dirty = true;
    return true;
}

/* A cell of the responses table: question q's value in values, for people; "-" when none. */
static char *s_cell(const s_question *q, const cJSON *values)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, q->name);
    s_buf b = {0};
    if (v == NULL || cJSON_IsNull(v))
        s_buf_str(&b, "-");
    else
        s_value_text(&b, q, v);
    return s_buf_take(&b);
}

/* Appends text cut to cols columns and padded with spaces to exactly cols; *cut says whether it was
 * cut. */
static void s_buf_column(s_buf *b, const char *text, int cols, bool *cut)
{
    char *c = s_cut(text, cols);
    if (c == NULL) {
        b->failed = true;
        return;
    }
    *cut = strcmp(c, text) != 0;
    s_buf_str(b, c);
    s_buf_spaces(b, cols - (int)juror_tui_text_width(c));
    free(c);
}

/*
 * Fits the question columns into room columns: each keeps its natural width when all fit,
 * else the narrow ones keep theirs and the rest share what is left evenly (at least
 * S_CELL_MIN each).
 */
static void s_fit_columns(int *w, size_t n, int room)
{
    int total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    if (total <= room)
        return;
    bool *done = calloc(n ? n : 1, sizeof *done);
    if (done == NULL) {
        for (size_t i = 0; i < n; i++)
            w[i] = S_CELL_MIN;
        return;
    }
    size_t left = n;
    bool again = true;
    while (again && left > 0) {
        again = false;
        int share = room / (int)left;
        for (size_t i = 0; i < n; i++)
            if (!done[i] && w[i] <= share) {
                done[i] = true;
                room -= w[i];
                left--;
                again = true;
            }
    }
    for (size_t i = 0; i < n && left > 0; i++)
        if (!done[i]) {
            int share = room / (int)left;
            w[i] = share < S_CELL_MIN ? S_CELL_MIN : share;
            room -= w[i];
            left--;
        }
    free(done);
}

/* Why the record waits: one paragraph per word of "why". */
static jury_err s_layout_why(const juror_tui_model_t *m, int width, juror_tui_lines_t *out)
{
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(m->record, "why");
    const char *reason = s_str(m->record, "reason");
    jury_err rc = juror_tui_line(out, "Waiting for review", width, JUROR_TUI_TITLE);
    bool any = false;
    for (const cJSON *w = cJSON_IsArray(why) ? why->child : NULL; w != NULL && rc == JURY_OK;
         w = w->next) {
        if (!cJSON_IsString(w))
            continue;
        s_buf b = {0};
        any = true;
        if (strcmp(w->valuestring, "contested") == 0)
            s_buf_str(&b, "contested: the annotators did not reach the agreement asked within the "
                          "most responses allowed");
        else if (strcmp(w->valuestring, "rejected") == 0 && reason != NULL && *reason)
            s_buf_fmt(&b, "rejected by jury consolidate: %s", reason);
        else if (strcmp(w->valuestring, "rejected") == 0)
            s_buf_str(&b, "rejected by jury consolidate");
        else
            s_buf_str(&b, w->valuestring);
        rc = s_wrap_take(out, s_buf_take(&b), width, 2, JUROR_TUI_BODY);
    }
    if (rc == JURY_OK && !any)
        rc =
            juror_tui_wrap(out, NULL, "(the coordinator did not say why)", width, 2, JUROR_TUI_DIM);
    return rc;
}

/* The responses table, then the cells it had to cut, in full. */
static jury_err s_layout_responses(const juror_tui_model_t *m, int width, juror_tui_lines_t *out)
{
    const cJSON *resp = s_responses(m);
    size_t n = s_count(resp);
    s_buf b = {0};
    if (n == 0)
        s_buf_str(&b, "Responses");
    else if (n == 1)
        s_buf_str(&b, "Responses (1 copies it into the answers)");
    else
        s_buf_fmt(&b, "Responses (1-%zu copies one into the answers)", n < 9 ? n : 9);
    char *title = s_buf_take(&b);
    if (title == NULL)
        return JURY_ENOMEM;
    jury_err rc = juror_tui_line(out, title, width, JUROR_TUI_TITLE);
    free(title);
    if (rc != JURY_OK || n == 0)
        return rc != JURY_OK ? rc : juror_tui_wrap(out, NULL, "(none)", width, 2, JUROR_TUI_DIM);

    /* Every cell's text, row by row: number, annotator, status, then the questions. */
    size_t ncols = 3 + m->nq;
    char **cells = calloc(n * ncols, sizeof *cells);
    int *w = calloc(ncols, sizeof *w), *hw = calloc(ncols, sizeof *hw);
    bool *cut = calloc(n * ncols, sizeof *cut);
    if (cells == NULL || w == NULL || hw == NULL || cut == NULL) {
        rc = JURY_ENOMEM;
        goto done;
    }
    static const char *const heads[] = {"#", "annotator", "status"};
    /* A column is as wide as its cells; a question's title widens it only when there is room
     * left (it is cut to S_HEAD_COLS at first), so short answers leave room for long ones. */
    for (size_t c = 0; c < ncols; c++) {
        hw[c] = (int)juror_tui_text_width(c < 3 ? heads[c] : m->q[c - 3].title);
        w[c] = c < 3 || hw[c] < S_HEAD_COLS ? hw[c] : S_HEAD_COLS;
    }
    size_t k = 0;
    for (const cJSON *r = resp->child; r != NULL; r = r->next, k++) {
        const char *name = s_str(r, "annotator"), *status = s_str(r, "status");
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(r, "values");
        char **row = &cells[k * ncols];
        s_buf_fmt(&b, "%zu", k + 1);
        row[0] = s_buf_take(&b);
        row[1] = s_strdup(name ? name : "?");
        row[2] = s_strdup(status ? status : "?");
        for (size_t q = 0; q < m->nq; q++)
            row[3 + q] = s_cell(&m->q[q], values);
        for (size_t c = 0; c < ncols; c++) {
            if (row[c] == NULL) {
                rc = JURY_ENOMEM;
                goto done;
            }
            int cw = (int)juror_tui_text_width(row[c]);
            if (cw > w[c])
                w[c] = cw;
        }
    }
    if (w[1] > S_NAME_COLS)
        w[1] = S_NAME_COLS;
    int room = width - 2 - w[0] - w[1] - w[2] - (int)(ncols - 1) * S_GAP;
    s_fit_columns(&w[3], m->nq, room);
    for (size_t c = 3; c < ncols; c++)
        room -= w[c];
    for (size_t c = 3; c < ncols && room > 0; c++) {
        int more = hw[c] - w[c] < room ? hw[c] - w[c] : room;
        if (more > 0) {
            w[c] += more;
            room -= more;
        }
    }
    /* A title still cut may take columns from the widest column while that keeps S_DONOR_COLS:
     * a wide cell is cut anyway, and given in full below. */
    for (size_t c = 3; c < ncols; c++) {
        size_t d = 3;
        for (size_t e = 3; e < ncols; e++)
            if (w[e] > w[d])
                d = e;
        int give = hw[c] - w[c] < w[d] - S_DONOR_COLS ? hw[c] - w[c] : w[d] - S_DONOR_COLS;
        if (d != c && give > 0) {
            w[d] -= give;
            w[c] += give;
        }
    }

    /* The head, then one row per response; a discard is dimmed. */
    for (size_t row = 0; row <= n && rc == JURY_OK; row++) {
        bool ignored;
        s_buf_spaces(&b, 2);
        for (size_t c = 0; c < ncols; c++) {
            const char *text =
                row == 0 ? (c < 3 ? heads[c] : m->q[c - 3].title) : cells[(row - 1) * ncols + c];
            if (c > 0)
                s_buf_spaces(&b, S_GAP);
            if (c + 1 == ncols) {
                /* The last column is not padded: no trailing spaces. */
                char *cl = s_cut(text, w[c]);
                if (cl == NULL) {
                    b.failed = true;
                } else {
                    if (row > 0)
                        cut[(row - 1) * ncols + c] = strcmp(cl, text) != 0;
                    s_buf_str(&b, cl);
                    free(cl);
                }
            } else {
                s_buf_column(&b, text, w[c], row == 0 ? &ignored : &cut[(row - 1) * ncols + c]);
            }
        }
        const char *status = row == 0 ? NULL : cells[(row - 1) * ncols + 2];
        juror_tui_style style = row == 0                                     ? JUROR_TUI_DIM
                                : status && strcmp(status, "discarded") == 0 ? JUROR_TUI_DIM
                                                                             : JUROR_TUI_BODY;
        char *line = s_buf_take(&b), *fit = line ? s_cut(line, width) : NULL;
        free(line);
        rc = s_push(out, fit, style, 0, false);
    }
    /* What the columns cut, in full: a text answer is worth reading whole. Each line names the
     * response with its annotator's whole name, so a cut name alone gets a line of its own. */
    for (size_t row = 0; row < n && rc == JURY_OK; row++) {
        bool any = false;
        for (size_t c = 3; c < ncols && rc == JURY_OK; c++) {
            if (!cut[row * ncols + c])
                continue;
            any = true;
            s_buf_fmt(&b, "%zu %s \xc2\xb7 %s: ", row + 1, cells[row * ncols + 1],
                      m->q[c - 3].title);
            char *prefix = s_buf_take(&b);
            rc = prefix
                     ? juror_tui_wrap(out, prefix, cells[row * ncols + c], width, 2, JUROR_TUI_BODY)
                     : JURY_ENOMEM;
            free(prefix);
        }
        if (rc == JURY_OK && !any && cut[row * ncols + 1]) {
            s_buf_fmt(&b, "%zu %s", row + 1, cells[row * ncols + 1]);
            rc = s_wrap_take(out, s_buf_take(&b), width, 2, JUROR_TUI_BODY);
        }
    }
done:
    for (size_t i = 0; cells != NULL && i < n * ncols; i++)
        free(cells[i]);
    free(cells);
    free(w);
    free(hw);
    free(cut);
    return rc;
}

/* The consolidation's values, one question a line. */
static jury_err s_layout_unified(const juror_tui_model_t *m, int width, juror_tui_lines_t *out)
{
    const cJSON *unified = cJSON_GetObjectItemCaseSensitive(m->record, "unified");
    jury_err rc = juror_tui_line(out, "Consolidation", width, JUROR_TUI_TITLE);
    if (rc != JURY_OK)
        return rc;
    if (!cJSON_IsObject(unified))
        return juror_tui_wrap(out, NULL, "not decided by jury consolidate yet", width, 2,
                              JUROR_TUI_DIM);
    bool any = false;
    for (size_t q = 0; q < m->nq && rc == JURY_OK; q++) {
        const cJSON *v = s_unified(m, q);
        if (v == NULL)
            continue;
        any = true;
        s_buf b = {0};
        s_value_text(&b, &m->q[q], v);
        char *text = s_buf_take(&b);
        s_buf_fmt(&b, "%s: ", m->q[q].title);
        char *prefix = s_buf_take(&b);
        rc = text && prefix ? juror_tui_wrap(out, prefix, text, width, 2, JUROR_TUI_BODY)
                            : JURY_ENOMEM;
        free(text);
        free(prefix);
    }
    if (rc == JURY_OK && !any)
        rc = juror_tui_wrap(out, NULL, "no values (nothing was answered)", width, 2, JUROR_TUI_DIM);
    return rc;
}

jury_err juror_tui_layout_review(const juror_tui_model_t *m, int width, juror_tui_lines_t *out)
{
    if (!juror_tui_reviewing(m))
        return JURY_OK;
    jury_err rc = s_layout_why(m, width, out);
    if (rc == JURY_OK)
        rc = juror_tui_line(out, "", width, JUROR_TUI_BODY);
    if (rc == JURY_OK)
        rc = s_layout_responses(m, width, out);
    if (rc == JURY_OK)
        rc = juror_tui_line(out, "", width, JUROR_TUI_BODY);
    if (rc == JURY_OK)
        rc = s_layout_unified(m, width, out);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Answers.
 */

jury_err juror_tui_check(const juror_tui_model_t *m, bool submitted, size_t *bad_q, char *why,
                         size_t whycap)
{
    if (why != NULL && whycap > 0)
        why[0] = '\0';
    if (m->record == NULL)
        return s_fail(why, whycap, "no record");
    for (size_t i = 0; i < m->nq; i++) {
        const s_question *q = &m->q[i];
        const s_answer *a = &m->a[i];
        char where[256];
        snprintf(where, sizeof where, "/values/%s: ", q->name);
        if (bad_q != NULL)
            *bad_q = i;
        if (!a->answered) {
            if (submitted && q->required)
                return s_fail(why, whycap,
                              "/values/%s: question \"%s\" is required in a submitted response",
                              q->name, q->name);
            continue;
        }
        if (q->type == JUROR_TUI_TEXT && strlen(a->text) > S_TEXT_MAX)
            return s_fail(why, whycap,
                          "/values/%s: a text answer must be at most %d bytes, and this one has "
                          "%zu",
                          q->name, S_TEXT_MAX, strlen(a->text));
        /* A final ranking orders every value (SPEC 6.14); item counts the values list's items. */
        for (size_t k = 0, item = 0; m->review && q->type == JUROR_TUI_RANKING && k < q->n; k++) {
            if (k > 0 && !a->tied[k])
                item++;
            if (a->tied[k])
                return s_fail(why, whycap,
                              "/values/%s: item %zu: a reviewer's ranking has no ties; give each "
                              "value its own rank",
                              q->name, item);
        }
        for (size_t k = 0; q->type == JUROR_TUI_SPAN && k < a->nspans; k++) {
            char at[300];
            snprintf(at, sizeof at, "%sspan %zu: ", where, k);
            if (s_span_ok(m, i, a, a->spans[k], k, why, whycap, at) != JURY_OK)
                return JURY_EINVAL;
        }
    }
    if (bad_q != NULL)
        *bad_q = (size_t)-1;
    return JURY_OK;
}

static cJSON *s_value_json(const s_question *q, const s_answer *a)
{
    switch (q->type) {
    case JUROR_TUI_TEXT:
        return cJSON_CreateString(a->text);
    case JUROR_TUI_RATING:
        return cJSON_CreateNumber(q->ratings[a->choice]);
    case JUROR_TUI_LABEL:
        return cJSON_CreateString(q->values[a->choice]);
    case JUROR_TUI_MULTI_LABEL: {
        cJSON *arr = cJSON_CreateArray();
        for (size_t k = 0; arr != NULL && k < q->n; k++) {
            cJSON *s;
            if (!a->picked[k])
                continue;
            if ((s = cJSON_CreateString(q->values[k])) == NULL) {
                cJSON_Delete(arr);
                return NULL;
            }
            cJSON_AddItemToArray(arr, s);
        }
        return arr;
    }
    case JUROR_TUI_RANKING: {
        cJSON *arr = cJSON_CreateArray(), *group = NULL;
        for (size_t k = 0; arr != NULL && k < q->n; k++) {
            cJSON *s = cJSON_CreateString(q->values[a->order[k]]);
            bool tie_next = k + 1 < q->n && a->tied[k + 1];
            if (s == NULL)
                goto fail_ranking;
            if (a->tied[k] && group != NULL) {
                cJSON_AddItemToArray(group, s);
            } else if (tie_next) {
                if ((group = cJSON_CreateArray()) == NULL) {
                    cJSON_Delete(s);
                    goto fail_ranking;
                }
                cJSON_AddItemToArray(group, s);
                cJSON_AddItemToArray(arr, group);
            } else {
                group = NULL;
                cJSON_AddItemToArray(arr, s);
            }
        }
        return arr;
    fail_ranking:
        cJSON_Delete(arr);
        return NULL;
    }
    case JUROR_TUI_SPAN: {
        cJSON *arr = cJSON_CreateArray();
        for (size_t k = 0; arr != NULL && k < a->nspans; k++) {
            cJSON *o = cJSON_CreateObject();
            if (o == NULL || !cJSON_AddNumberToObject(o, "start", (double)a->spans[k].start) ||
                !cJSON_AddNumberToObject(o, "end", (double)a->spans[k].end) ||
                !cJSON_AddStringToObject(o, "label", q->values[a->spans[k].label])) {
                cJSON_Delete(o);
                cJSON_Delete(arr);
                return NULL;
            }
            cJSON_AddItemToArray(arr, o);
        }
        return arr;
    }
    }
    return NULL;
}

char *juror_tui_values_json(const juror_tui_model_t *m)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o != NULL && m->record != NULL && i < m->nq; i++) {
        if (!m->a[i].answered)
            continue;
        cJSON *v = s_value_json(&m->q[i], &m->a[i]);
        if (v == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, m->q[i].name, v);
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* ---------------------------------------------------------------------------------------------
 * The one-line editor.
 */

static bool s_edit_room(juror_tui_edit_t *e, size_t need)
{
    if (need <= e->cap)
        return true;
    size_t cap = e->cap ? e->cap : 64;
    while (cap < need)
        cap *= 2;
    uint32_t *p = realloc(e->cp, cap * sizeof *p);
    if (p == NULL)
        return false;
    e->cp = p;
    e->cap = cap;
    return true;
}

jury_err juror_tui_edit_set(juror_tui_edit_t *e, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (!s_edit_room(e, len + 1))
        return JURY_ENOMEM;
    e->len = 0;
    for (size_t i = 0; i < len;)
        e->cp[e->len++] = juror_tui_utf8_next(text, len, &i);
    e->cursor = e->len;
    return JURY_OK;
}

bool juror_tui_edit_insert(juror_tui_edit_t *e, uint32_t cp)
{
    if ((s_is_control(cp) && cp != '\n') || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    if (!s_edit_room(e, e->len + 1))
        return false;
    memmove(e->cp + e->cursor + 1, e->cp + e->cursor, (e->len - e->cursor) * sizeof *e->cp);
    e->cp[e->cursor++] = cp;
    e->len++;
    return true;
}

static void s_edit_cut(juror_tui_edit_t *e, size_t from, size_t to)
{
    memmove(e->cp + from, e->cp + to, (e->len - to) * sizeof *e->cp);
    e->len -= to - from;
    e->cursor = from;
}

bool juror_tui_edit_apply(juror_tui_edit_t *e, juror_tui_edit_op op)
{
    switch (op) {
    case JUROR_TUI_EDIT_LEFT:
        if (e->cursor == 0)
            return false;
        e->cursor--;
        return true;
    case JUROR_TUI_EDIT_RIGHT:
        if (e->cursor == e->len)
            return false;
        e->cursor++;
        return true;
    case JUROR_TUI_EDIT_HOME:
        if (e->cursor == 0)
            return false;
        e->cursor = 0;
        return true;
    case JUROR_TUI_EDIT_END:
        if (e->cursor == e->len)
            return false;
        e->cursor = e->len;
        return true;
    case JUROR_TUI_EDIT_BACKSPACE:
        if (e->cursor == 0)
            return false;
        s_edit_cut(e, e->cursor - 1, e->cursor);
        return true;
    case JUROR_TUI_EDIT_DELETE:
        if (e->cursor == e->len)
            return false;
        s_edit_cut(e, e->cursor, e->cursor + 1);
        return true;
    case JUROR_TUI_EDIT_KILL_END:
        if (e->cursor == e->len)
            return false;
        e->len = e->cursor;
        return true;
    case JUROR_TUI_EDIT_CLEAR:
        if (e->len == 0)
            return false;
        e->len = e->cursor = 0;
        return true;
    case JUROR_TUI_EDIT_WORD_BACK: {
        size_t i = e->cursor;
        while (i > 0 && e->cp[i - 1] == ' ')
            i--;
        while (i > 0 && e->cp[i - 1] != ' ')
            i--;
        if (i == e->cursor)
            return false;
        s_edit_cut(e, i, e->cursor);
        return true;
    }
    }
    return false;
}

char *juror_tui_edit_text(const juror_tui_edit_t *e)
{
    char *out = malloc(e->len * 4 + 1), *p = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < e->len; i++)
        p += s_utf8_put(p, e->cp[i]);
    *p = '\0';
    return out;
}

size_t juror_tui_edit_first(const juror_tui_edit_t *e, size_t first, int width)
{
    if (width < 2)
        width = 2;
    if (first > e->cursor)
        first = e->cursor;
    /* Columns from first to the cursor, plus one for the cursor cell itself. */
    size_t cols = 1;
    for (size_t i = first; i < e->cursor; i++)
        cols += (size_t)juror_tui_cp_width(e->cp[i]);
    while (cols > (size_t)width && first < e->cursor)
        cols -= (size_t)juror_tui_cp_width(e->cp[first++]);
    /* Show as much as fits before the cursor when the end is in view. */
    size_t total = 1;
    for (size_t i = first; i < e->len; i++)
        total += (size_t)juror_tui_cp_width(e->cp[i]);
    while (first > 0 && total + (size_t)juror_tui_cp_width(e->cp[first - 1]) <= (size_t)width) {
        first--;
        total += (size_t)juror_tui_cp_width(e->cp[first]);
    }
    return first;
}

void juror_tui_edit_free(juror_tui_edit_t *e)
{
    if (e == NULL)
        return;
    free(e->cp);
    *e = (juror_tui_edit_t){0};
}
