/* report_internal.h: what report.c and report_html.c share: a growing text buffer and readers of
 * the report model. Not for use outside coordinator/report*.c. */
#ifndef JURY_REPORT_INTERNAL_H
#define JURY_REPORT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* A growing NUL-terminated string; a failed allocation sets failed and makes every later append a
 * no-op, so renderers check once at the end. */
typedef struct {
    char *data;  /* the text, NUL-terminated when len > 0 */
    size_t len;  /* bytes of text */
    size_t cap;  /* bytes allocated at data */
    bool failed; /* an allocation failed: the text is incomplete */
} report_buf_t;

static inline bool report_buf_grow(report_buf_t *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

/* Appends the n bytes at s. */
static inline void report_buf_put(report_buf_t *b, const char *s, size_t n)
{
    if (!report_buf_grow(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Appends the NUL-terminated string s. */
static inline void report_buf_puts(report_buf_t *b, const char *s)
{
    report_buf_put(b, s, strlen(s));
}

/* Appends formatted text. */
static inline void report_buf_printf(report_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void report_buf_printf(report_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (!report_buf_grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Hands the text over to the caller (NULL after a failed allocation) and resets b. */
static inline char *report_buf_finish(report_buf_t *b)
{
    char *out = b->failed ? NULL : b->data;
    if (b->failed)
        free(b->data);
    else if (out == NULL)
        out = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
    return out;
}

/* Width of s on a terminal, counted in code points (0 for NULL). */
static inline size_t report_width(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Appends s with control characters shown as '?': names and ids from a responses file must not
 * drive the terminal. */
static inline void report_put_clean(report_buf_t *b, const char *s)
{
    const char *run = s;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            report_buf_put(b, run, (size_t)(s - run));
            report_buf_put(b, "?", 1);
            run = s + 1;
        }
    report_buf_put(b, run, (size_t)(s - run));
}

/* Appends s (cleaned as report_put_clean does), then spaces up to width code points, at least one
 * space after it. */
static inline void report_pad(report_buf_t *b, const char *s, size_t width)
{
    if (s == NULL)
        s = "";
    report_put_clean(b, s);
    size_t w = report_width(s);
    do
        report_buf_put(b, " ", 1);
    while (++w < width);
}

/* The number at key of object o into *out: false when absent, null or not a number. */
static inline bool report_num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return false;
    *out = v->valuedouble;
    return true;
}

/* The string at key of object o, or NULL. Borrowed from o. */
static inline const char *report_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The value the heatmap and the pair ranking use for one pair: Cohen's kappa where the question
 * has it, else the pair's mean agreement. False when neither is a number. */
static inline bool report_pair_value(const cJSON *pair, double *out)
{
    if (cJSON_GetObjectItemCaseSensitive(pair, "cohen_kappa") != NULL)
        return report_num(pair, "cohen_kappa", out);
    return report_num(pair, "agreement", out);
}

#endif
