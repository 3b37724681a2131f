/* report_html.c: the agreement report as one self-contained HTML page: inline CSS and SVG charts,
 * no script, every string from the data escaped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_internal.h"

/* The heatmap shows at most this many annotators (those with the most responses). */
#define S_HEATMAP_MAX 40

/* Longest annotator or question label drawn in a chart, in code points; the full name is in the
 * cell's tooltip and the tables. */
#define S_LABEL_MAX 18

static const char s_style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;margin:0;"
    "background:#f4f5f7}\n"
    "main{max-width:1100px;margin:0 auto;padding:24px}\n"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}"
    "h3{font-size:14px;margin:16px 0 "
    "6px;color:#555;text-transform:uppercase;letter-spacing:.04em}\n"
    ".sub{color:#666;margin:0 0 20px}\n"
    "section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);"
    "padding:18px 22px;margin:0 0 20px}\n"
    ".kind{font-weight:normal;color:#777;font-size:14px;margin-left:8px}\n"
    ".measures{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 8px;padding:0}\n"
    ".measures div{background:#f4f6fa;border-radius:6px;padding:8px 12px;min-width:110px}\n"
    ".measures dt{font-size:12px;color:#666}.measures dd{margin:0;font-size:20px;"
    "font-weight:600}\n"
    ".measures dd small{font-size:12px;font-weight:normal;color:#666}\n"
    ".notes{background:#fff8e1;border-left:3px solid #f0b400;padding:6px 12px 6px 28px;"
    "margin:8px 0}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}\n"
    ".charts figure{margin:0}.charts figcaption{font-size:12px;color:#666;max-width:420px}\n"
    "table{border-collapse:collapse;margin:4px 0 8px}"
    "th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}\n"
    "th{font-size:12px;color:#666;font-weight:600}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    ".bar{display:inline-block;height:9px;background:#2166ac;border-radius:2px;"
    "vertical-align:middle}\n"
    ".tables{display:flex;flex-wrap:wrap;gap:32px}\n"
    "svg text{font-family:inherit}\n";

/* Appends s with &, <, >, " and ' escaped, so that it is text (or an attribute value) in HTML. */
static void s_esc(report_buf_t *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            break;
        }
        if (rep) {
            report_buf_put(b, run, (size_t)(s - run));
            report_buf_puts(b, rep);
            run = s + 1;
        }
    }
    report_buf_put(b, run, (size_t)(s - run));
}

/* Appends s escaped, cut to S_LABEL_MAX code points with an ellipsis (never inside a UTF-8
 * sequence). */
static void s_esc_short(report_buf_t *b, const char *s)
{
    size_t cps = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && ++cps > S_LABEL_MAX)
            break;
    }
    if (s[i] == '\0') {
        s_esc(b, s);
        return;
    }
    char *cut = malloc(i + 4);
    if (cut == NULL) {
        b->failed = true;
        return;
    }
    memcpy(cut, s, i);
    memcpy(cut + i, "\xE2\x80\xA6", 4); /* U+2026 */
    s_esc(b, cut);
    free(cut);
}

/* A number with 3 decimals, or an en dash when it is missing. */
static void s_num(report_buf_t *b, const cJSON *o, const char *key)
{
    double v;
    if (report_num(o, key, &v))
        report_buf_printf(b, "%.3f", v);
    else
        report_buf_puts(b, "\xE2\x80\x93");
}

/* The heatmap colour of a value: red below 0, white at 0, blue at 1. */
static void s_colour(char out[8], double v)
{
    double t = v < 0 ? (v < -1 ? 1 : -v) : (v > 1 ? 1 : v);
    /* white (247,247,247) to blue (33,102,172), or to red (178,24,43) */
    int r0 = 247, g0 = 247, b0 = 247;
    int r1 = v < 0 ? 178 : 33, g1 = v < 0 ? 24 : 102, b1 = v < 0 ? 43 : 172;
    snprintf(out, 8, "#%02x%02x%02x", (int)lround(r0 + (r1 - r0) * t),
             (int)lround(g0 + (g1 - g0) * t), (int)lround(b0 + (b1 - b0) * t));
}

/* ---- alpha per question ---------------------------------------------------------------------- */

/* The x coordinate of value v on an axis from lo (at left) to 1 (at left + width), clamped. */
static int s_axis_x(double v, double lo, int left, int width)
{
    if (v < lo)
        v = lo;
    if (v > 1)
        v = 1;
    return left + (int)lround((v - lo) * width / (1 - lo));
}

static void s_alpha_chart(report_buf_t *b, const cJSON *questions)
{
    int rows = 0;
    double lo_axis = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, questions)
    {
        if (cJSON_GetObjectItemCaseSensitive(q, "alpha") == NULL)
            continue;
        rows++;
        double a;
        if (report_num(q, "alpha", &a) && a < lo_axis)
            lo_axis = a;
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
        if (cJSON_GetArraySize(ci) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) &&
            cJSON_GetArrayItem(ci, 0)->valuedouble < lo_axis)
            lo_axis = cJSON_GetArrayItem(ci, 0)->valuedouble;
    }
    if (rows == 0)
        return;
    lo_axis = floor(lo_axis * 5) / 5; /* a multiple of 0.2 */
    if (lo_axis < -1)
        lo_axis = -1;
    const int left = 170, width = 560, top = 24, row_h = 30;
    const int height = top + rows * row_h + 28;
    /* "0.8 reliable" runs past the axis's end. */
#define S_X(v) s_axis_x((v), lo_axis, left, width)
    report_buf_puts(b, "<section><h2>Krippendorff&#39;s alpha per question</h2>\n");
    report_buf_printf(b,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                      "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"alpha per question\">\n",
                      left + width + 80, height, left + width + 80, height);
    /* Krippendorff's rule of thumb: rely on data with alpha >= 0.8, draw tentative conclusions
     * from 0.667 on. */
    report_buf_printf(b,
                      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#e8f3e8\"/>\n"
                      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f6f8e6\"/>\n",
                      S_X(0.8), top - 6, S_X(1.0) - S_X(0.8), rows * row_h + 6, S_X(0.667), top - 6,
                      S_X(0.8) - S_X(0.667), rows * row_h + 6);
    for (int t = (int)lround(lo_axis * 5); t <= 5; t++) {
        double v = t / 5.0;
        report_buf_printf(b,
                          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\"/>"
                          "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                          "fill=\"#666\">%.1f</text>\n",
                          S_X(v), top - 6, S_X(v), top + rows * row_h, t == 0 ? "#999" : "#e3e3e3",
                          S_X(v), top + rows * row_h + 16, v);
    }
    /* The two labels run away from each other, so they never overlap. */
    report_buf_printf(b,
                      "<text x=\"%d\" y=\"12\" font-size=\"11\" text-anchor=\"end\" "
                      "fill=\"#5a8a5a\">tentative 0.667</text><text x=\"%d\" y=\"12\" "
                      "font-size=\"11\" fill=\"#3d7a3d\">0.8 reliable</text>\n",
                      S_X(0.667) - 2, S_X(0.8) + 2);
    int row = 0;
    cJSON_ArrayForEach(q, questions)
    {
        if (cJSON_GetObjectItemCaseSensitive(q, "alpha") == NULL)
            continue;
        int y = top + row * row_h + row_h / 2;
        report_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"end\">",
                          left - 10, y + 4);
        s_esc_short(b, q->string);
        report_buf_puts(b, "</text>\n");
        double a;
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
        if (cJSON_GetArraySize(ci) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) &&
            cJSON_IsNumber(cJSON_GetArrayItem(ci, 1))) {
            double lo = cJSON_GetArrayItem(ci, 0)->valuedouble;
            double hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
            report_buf_printf(b,
                              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#2166ac\" "
                              "stroke-width=\"3\" stroke-linecap=\"round\" opacity=\".45\"/>\n",
                              S_X(lo), y, S_X(hi), y);
        }
        if (report_num(q, "alpha", &a)) {
            report_buf_printf(b, "<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"#2166ac\"><title>",
                              S_X(a), y);
            s_esc(b, q->string);
            report_buf_printf(b, ": alpha %.3f", a);
            if (cJSON_GetArraySize(ci) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) &&
                cJSON_IsNumber(cJSON_GetArrayItem(ci, 1)))
                report_buf_printf(b, ", 95%% interval %.3f to %.3f",
                                  cJSON_GetArrayItem(ci, 0)->valuedouble,
                                  cJSON_GetArrayItem(ci, 1)->valuedouble);
            report_buf_puts(b, "</title></circle>\n");
            report_buf_printf(
                b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#333\">%.3f</text>\n",
                S_X(a) + 9, y - 7, a);
        } else {
            report_buf_printf(b,
                              "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#999\">not "
                              "computable (see notes)</text>\n",
                              left + 8, y + 4);
        }
        row++;
    }
#undef S_X
    report_buf_puts(b, "</svg>\n<p class=\"sub\">Dots: alpha; bars: its 95% bootstrap interval. "
                       "Shaded: 0.667 and above (tentative), 0.8 and above (reliable), after "
                       "Krippendorff.</p></section>\n");
}

/* ---- annotator quality ----------------------------------------------------------------------- */

/* The quality table shows each question's agreement in its own column up to this many questions;
 * beyond, only the mean. */
#define S_QUALITY_COLUMNS_MAX 6

/* A number of a quality row formatted with fmt (scaled by scale), or an en dash when null. */
static void s_quality_num(report_buf_t *b, const cJSON *o, const char *key, const char *fmt,
                          double scale)
{
    double v;
    if (report_num(o, key, &v))
        report_buf_printf(b, fmt, v * scale);
    else
        report_buf_puts(b, "\xE2\x80\x93");
}

static void s_quality(report_buf_t *b, const cJSON *rows)
{
    if (cJSON_GetArraySize(rows) == 0)
        return;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), "agreement");
    int nq = cJSON_GetArraySize(names);
    bool columns = nq >= 2 && nq <= S_QUALITY_COLUMNS_MAX;
    report_buf_puts(b, "<section><h2>Annotator quality</h2>\n<p class=\"sub\">Responses by status; "
                       "discard rate: discarded / (submitted + discarded); agreement with "
                       "others: the share of equal answers among the pairs of an annotator&#39;s "
                       "submitted answer and another&#39;s on the same record, over the label "
                       "and rating questions; median seconds between consecutive answers, "
                       "breaks over 30 minutes left out.</p>\n<table><tr><th>annotator</th>"
                       "<th>submitted</th><th>discarded</th><th>discard rate</th>");
    const cJSON *q;
    if (columns)
        cJSON_ArrayForEach(q, names)
        {
            report_buf_puts(b, "<th>");
            s_esc(b, q->string);
            report_buf_puts(b, "</th>");
        }
    report_buf_printf(b,
                      "<th>agreement with others%s</th><th></th><th>median s</th>"
                      "<th>gold accuracy</th><th>state</th></tr>\n",
                      columns ? " (mean)" : "");
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
    {
        double sub = 0, disc = 0, mean;
        report_num(r, "submitted", &sub);
        report_num(r, "discarded", &disc);
        const char *name = report_str(r, "annotator"), *state = report_str(r, "state");
        report_buf_puts(b, "<tr><td>");
        s_esc(b, name ? name : "");
        report_buf_printf(b,
                          "</td><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td><td "
                          "class=\"n\">",
                          sub, disc);
        s_quality_num(b, r, "discard_rate", "%.1f%%", 100);
        const cJSON *agreement = cJSON_GetObjectItemCaseSensitive(r, "agreement");
        if (columns)
            cJSON_ArrayForEach(q, names)
            {
                report_buf_puts(b, "</td><td class=\"n\">");
                s_num(b, agreement, q->string);
            }
        report_buf_puts(b, "</td><td class=\"n\">");
        s_num(b, r, "agreement_mean");
        report_buf_puts(b, "</td><td>");
        if (report_num(r, "agreement_mean", &mean))
            report_buf_printf(b, "<span class=\"bar\" style=\"width:%dpx\"></span>",
                              (int)lround((mean < 0   ? 0
                                           : mean > 1 ? 1
                                                      : mean) *
                                          120));
        report_buf_puts(b, "</td><td class=\"n\">");
        double secs;
        bool timed = report_num(r, "median_seconds", &secs);
        s_quality_num(b, r, "median_seconds",
                      !timed || secs >= 100 ? "%.0f"
                      : secs >= 1           ? "%.1f"
                                            : "%.3f",
                      1);
        report_buf_puts(b, "</td><td class=\"n\">");
        s_num(b, r, "gold");
        report_buf_puts(b, "</td><td>");
        s_esc(b, state ? state : "");
        report_buf_puts(b, "</td></tr>\n");
    }
    report_buf_puts(b, "</table></section>\n");
}

/* ---- one question ---------------------------------------------------------------------------- */

static void s_measure(report_buf_t *b, const cJSON *q, const char *key, const char *label)
{
    if (cJSON_GetObjectItemCaseSensitive(q, key) == NULL)
        return;
    report_buf_printf(b, "<div><dt>%s</dt><dd>", label);
    s_num(b, q, key);
    if (strcmp(key, "alpha") == 0) {
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
        if (cJSON_GetArraySize(ci) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) &&
            cJSON_IsNumber(cJSON_GetArrayItem(ci, 1)))
            report_buf_printf(b, " <small>[%.3f, %.3f]</small>",
                              cJSON_GetArrayItem(ci, 0)->valuedouble,
                              cJSON_GetArrayItem(ci, 1)->valuedouble);
    }
    report_buf_puts(b, "</dd></div>");
}

/* Annotators of a question, most responses first, for the heatmap's axes. */
typedef struct {
    const char *name; /* borrowed from the model */
    double responses; /* their responses to the question */
} s_who;

static int s_who_cmp(const void *x, const void *y)
{
    const s_who *a = x, *b = y;
    if (a->responses != b->responses)
        return a->responses > b->responses ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int s_name_cmp(const void *x, const void *y)
{
    return strcmp(((const s_who *)x)->name, ((const s_who *)y)->name);
}

/* Position of name among the n shown annotators, or -1. */
static int s_who_index(const s_who *who, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(who[i].name, name) == 0)
            return i;
    return -1;
}

static void s_heatmap(report_buf_t *b, const cJSON *q)
{
    const cJSON *annotators = cJSON_GetObjectItemCaseSensitive(q, "annotators");
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(q, "pairs");
    int total = cJSON_GetArraySize(annotators);
    if (total < 2 || !cJSON_IsArray(pairs))
        return;
    s_who *who = calloc((size_t)total, sizeof *who);
    if (who == NULL) {
        b->failed = true;
        return;
    }
    int n = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, annotators)
    {
        double r = 0;
        report_num(a, "responses", &r);
        who[n++] = (s_who){a->string, r};
    }
    qsort(who, (size_t)n, sizeof *who, s_who_cmp);
    if (n > S_HEATMAP_MAX)
        n = S_HEATMAP_MAX;
    qsort(who, (size_t)n, sizeof *who, s_name_cmp);
    bool kappa = false;
    const cJSON *p0 = cJSON_GetArrayItem(pairs, 0);
    if (p0 && cJSON_GetObjectItemCaseSensitive(p0, "cohen_kappa") != NULL)
        kappa = true;
    const int cell = n <= 8 ? 44 : n <= 16 ? 30 : 14;
    const bool numbers = cell >= 30;
    /* Room for the longest label: at most 8 px a character at 11 px, the column labels at 55
     * degrees reaching up (sin 55 = 0.82) and to the right (cos 55 = 0.57). */
    size_t longest = 1;
    for (int i = 0; i < n; i++) {
        size_t cps = 0;
        for (const char *p = who[i].name; *p; p++)
            cps += ((unsigned char)*p & 0xC0) != 0x80;
        longest = cps > longest ? cps : longest;
    }
    if (longest > S_LABEL_MAX + 1)
        longest = S_LABEL_MAX + 1;
    const int label_w = 16 + 8 * (int)longest, label_h = 14 + (int)lround(8 * 0.82 * longest);
    const int right = (int)lround(8 * 0.57 * longest);
    const int w = label_w + n * cell + right, h = label_h + n * cell + 10;
    /* cells[i * n + k]: the pair of shown annotators i and k, found in one pass over the pairs. */
    const cJSON **cells = calloc((size_t)n * (size_t)n, sizeof *cells);
    if (cells == NULL) {
        free(who);
        b->failed = true;
        return;
    }
    const cJSON *pair;
    cJSON_ArrayForEach(pair, pairs)
    {
        int i = s_who_index(who, n, report_str(pair, "a"));
        int k = s_who_index(who, n, report_str(pair, "b"));
        if (i >= 0 && k >= 0)
            cells[i * n + k] = cells[k * n + i] = pair;
    }
    report_buf_printf(b,
                      "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                      "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s "
                      "heatmap\">\n",
                      w, h, w, h, kappa ? "kappa" : "agreement");
    for (int i = 0; i < n; i++) {
        report_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">",
                          label_w - 6, label_h + i * cell + cell / 2 + 4);
        s_esc_short(b, who[i].name);
        report_buf_printf(b,
                          "</text><text transform=\"translate(%d,%d) rotate(-55)\" "
                          "font-size=\"11\">",
                          label_w + i * cell + cell / 2 + 3, label_h - 6);
        s_esc_short(b, who[i].name);
        report_buf_puts(b, "</text>\n");
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            int x = label_w + k * cell, y = label_h + i * cell;
            if (i == k) {
                report_buf_printf(b,
                                  "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                                  "fill=\"#555\"/>\n",
                                  x, y, cell - 1, cell - 1);
                continue;
            }
            const cJSON *p = cells[i * n + k];
            double v = 0, pn = 0;
            bool have = p && report_pair_value(p, &v);
            if (p)
                report_num(p, "n", &pn);
            char colour[8];
            if (have)
                s_colour(colour, v);
            report_buf_printf(b,
                              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                              "<title>",
                              x, y, cell - 1, cell - 1, have ? colour : "#e6e6e6");
            s_esc(b, who[i].name);
            report_buf_puts(b, " \xC3\x97 ");
            s_esc(b, who[k].name);
            if (have)
                report_buf_printf(b, ": %s %.3f on %.0f records", kappa ? "kappa" : "agreement", v,
                                  pn);
            else if (p)
                report_buf_printf(b, ": not computable on %.0f records", pn);
            else
                report_buf_puts(b, ": fewer than 2 records in common");
            report_buf_puts(b, "</title></rect>\n");
            if (have && numbers)
                report_buf_printf(b,
                                  "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\" "
                                  "fill=\"%s\" pointer-events=\"none\">%.2f</text>\n",
                                  x + cell / 2, y + cell / 2 + 4, fabs(v) > 0.55 ? "#fff" : "#222",
                                  v);
        }
    report_buf_puts(b, "</svg><figcaption>");
    report_buf_printf(
        b,
        "%s between each pair of annotators on the records both answered "
        "(blue high, white 0, red below chance; grey: fewer than 2 records in common)",
        kappa ? "Cohen&#39;s kappa" : "Mean agreement");
    if (total > n)
        report_buf_printf(b, "; the %d annotators with the most responses of %d", n, total);
    report_buf_puts(b, ".</figcaption></figure>\n");
    free(cells);
    free(who);
}

static void s_histogram(report_buf_t *b, const cJSON *q)
{
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(q, "record_agreement");
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(ra, "histogram");
    int bins = cJSON_GetArraySize(hist);
    if (bins <= 0)
        return;
    double max = 0, total = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, hist)
    {
        if (cJSON_IsNumber(c) && c->valuedouble > max)
            max = c->valuedouble;
        if (cJSON_IsNumber(c))
            total += c->valuedouble;
    }
    const int left = 40, top = 12, bar_w = 34, plot_h = 150;
    const int w = left + bins * bar_w + 20, h = top + plot_h + 40;
    report_buf_printf(b,
                      "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                      "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"histogram of "
                      "per-record agreement\">\n",
                      w, h, w, h);
    report_buf_printf(b,
                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n"
                      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
                      "fill=\"#666\">%.0f</text>\n"
                      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
                      "fill=\"#666\">0</text>\n",
                      left, top + plot_h, left + bins * bar_w, top + plot_h, left - 6, top + 10,
                      max, left - 6, top + plot_h);
    int i = 0;
    cJSON_ArrayForEach(c, hist)
    {
        double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
        int bh = max > 0 ? (int)lround(v / max * plot_h) : 0;
        report_buf_printf(b,
                          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                          "<title>%.1f to %.1f: %.0f records</title></rect>\n",
                          left + i * bar_w + 2, top + plot_h - bh, bar_w - 4, bh,
                          i < bins / 2 ? "#d6604d" : "#4393c3", (double)i / bins,
                          (double)(i + 1) / bins, v);
        i++;
    }
    for (int t = 0; t <= bins; t += bins / 2 ? bins / 2 : 1)
        report_buf_printf(b,
                          "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                          "fill=\"#666\">%.1f</text>\n",
                          left + t * bar_w, top + plot_h + 16, (double)t / bins);
    report_buf_printf(b,
                      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                      "fill=\"#666\">agreement within the record</text>\n",
                      left + bins * bar_w / 2, top + plot_h + 34);
    report_buf_printf(b,
                      "</svg><figcaption>Per-record agreement of %.0f records with two or more "
                      "values",
                      total);
    double mean;
    if (report_num(ra, "mean", &mean))
        report_buf_printf(b, " (mean %.3f)", mean);
    report_buf_puts(b, ".</figcaption></figure>\n");
}

static void s_annotator_table(report_buf_t *b, const cJSON *q)
{
    const cJSON *annotators = cJSON_GetObjectItemCaseSensitive(q, "annotators");
    if (cJSON_GetArraySize(annotators) == 0)
        return;
    report_buf_puts(b, "<div><h3>Annotators</h3><table><tr><th>annotator</th><th>responses</th>"
                       "<th>agreement with others</th><th></th></tr>\n");
    const cJSON *a;
    cJSON_ArrayForEach(a, annotators)
    {
        report_buf_puts(b, "<tr><td>");
        s_esc(b, a->string);
        report_buf_puts(b, "</td><td class=\"n\">");
        double r = 0;
        report_num(a, "responses", &r);
        report_buf_printf(b, "%.0f", r);
        report_buf_puts(b, "</td><td class=\"n\">");
        s_num(b, a, "agreement");
        double v;
        report_buf_puts(b, "</td><td>");
        if (report_num(a, "agreement", &v))
            report_buf_printf(b, "<span class=\"bar\" style=\"width:%dpx\"></span>",
                              (int)lround((v < 0   ? 0
                                           : v > 1 ? 1
                                                   : v) *
                                          120));
        report_buf_puts(b, "</td></tr>\n");
    }
    report_buf_puts(b, "</table></div>\n");
}

static void s_contested_table(report_buf_t *b, const cJSON *q)
{
    const cJSON *contested = cJSON_GetObjectItemCaseSensitive(q, "contested");
    if (cJSON_GetArraySize(contested) == 0)
        return;
    report_buf_puts(b, "<div><h3>Most contested records</h3><table><tr><th>record</th>"
                       "<th>agreement</th><th>responses</th></tr>\n");
    const cJSON *c;
    cJSON_ArrayForEach(c, contested)
    {
        double n = 0;
        report_num(c, "responses", &n);
        report_buf_puts(b, "<tr><td>");
        const char *id = report_str(c, "record");
        s_esc(b, id ? id : "");
        report_buf_puts(b, "</td><td class=\"n\">");
        s_num(b, c, "agreement");
        report_buf_printf(b, "</td><td class=\"n\">%.0f</td></tr>\n", n);
    }
    report_buf_puts(b, "</table></div>\n");
}

static void s_question(report_buf_t *b, const cJSON *q)
{
    report_buf_puts(b, "<section><h2>");
    s_esc(b, q->string);
    report_buf_puts(b, "<span class=\"kind\">");
    const char *type = report_str(q, "type"), *level = report_str(q, "level");
    s_esc(b, type ? type : "");
    if (level) {
        report_buf_puts(b, " \xC2\xB7 ");
        s_esc(b, level);
    }
    report_buf_puts(b, "</span></h2>\n<dl class=\"measures\">");
    s_measure(b, q, "alpha", "Krippendorff&#39;s alpha");
    s_measure(b, q, "alpha_ordinal", "alpha (ordinal)");
    s_measure(b, q, "fleiss_kappa", "Fleiss&#39; kappa");
    s_measure(b, q, "mean_similarity", "mean similarity");
    s_measure(b, q, "mean_f1", "mean F1");
    s_measure(b, q, "percent_agreement", "percent agreement");
    double records = 0, responses = 0;
    report_num(q, "records", &records);
    report_num(q, "responses", &responses);
    report_buf_printf(b,
                      "<div><dt>records</dt><dd>%.0f</dd></div><div><dt>responses</dt>"
                      "<dd>%.0f</dd></div></dl>\n",
                      records, responses);
    const cJSON *notes = cJSON_GetObjectItemCaseSensitive(q, "notes");
    if (cJSON_GetArraySize(notes) > 0) {
        report_buf_puts(b, "<ul class=\"notes\">");
        const cJSON *n;
        cJSON_ArrayForEach(n, notes)
        {
            if (!cJSON_IsString(n))
                continue;
            report_buf_puts(b, "<li>");
            s_esc(b, n->valuestring);
            report_buf_puts(b, "</li>");
        }
        report_buf_puts(b, "</ul>\n");
    }
    report_buf_puts(b, "<div class=\"charts\">\n");
    s_heatmap(b, q);
    s_histogram(b, q);
    report_buf_puts(b, "</div>\n<div class=\"tables\">\n");
    s_annotator_table(b, q);
    s_contested_table(b, q);
    report_buf_puts(b, "</div></section>\n");
}

char *jury_report_html(const cJSON *model, const char *title)
{
    report_buf_t b = {0};
    const cJSON *questions = cJSON_GetObjectItemCaseSensitive(model, "questions");
    report_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                        "<title>Agreement");
    if (title) {
        report_buf_puts(&b, ": ");
        s_esc(&b, title);
    }
    report_buf_puts(&b, "</title>\n<style>\n");
    report_buf_puts(&b, s_style);
    report_buf_puts(&b, "</style></head><body><main>\n<h1>Agreement");
    if (title) {
        report_buf_puts(&b, ": ");
        s_esc(&b, title);
    }
    report_buf_printf(&b,
                      "</h1>\n<p class=\"sub\">%d question%s; only submitted responses count. "
                      "Made by jury agreement.</p>\n",
                      cJSON_GetArraySize(questions), cJSON_GetArraySize(questions) == 1 ? "" : "s");
    s_alpha_chart(&b, questions);
    s_quality(&b, cJSON_GetObjectItemCaseSensitive(model, "annotators_quality"));
    const cJSON *q;
    cJSON_ArrayForEach(q, questions)
    {
        s_question(&b, q);
    }
    report_buf_puts(&b, "</main></body></html>\n");
    return report_buf_finish(&b);
}
