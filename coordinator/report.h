/* report.h: the agreement report of a dataset: responses in, per-question measures out as a JSON
 * model, rendered as text or HTML. Pure logic, no I/O. */
#ifndef JURY_REPORT_H
#define JURY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jury_err.h"
#include "settings.h"

/*
 * A report collects responses (record, annotator, {question: value}) and then
 * computes, for each question, the measures that suit its type (README,
 * "Agreement"):
 *
 *   label_selection        Krippendorff's alpha, nominal; Fleiss' kappa; Cohen's kappa per pair
 *   rating                 alpha, interval (and "alpha_ordinal"); Fleiss; Cohen and weighted kappa
 *   multi_label_selection  alpha with the MASI distance
 *   ranking                alpha with the Kendall tau distance
 *   text                   mean pairwise similarity (1 - normalised edit distance), alpha on it
 *   span                   mean character-level F1 between pairs of annotators
 *
 * and for every type percent agreement, per-pair, per-annotator and
 * per-record agreement. Only submitted responses count; drafts and discards
 * are checked and then left out.
 *
 * The result is one JSON document (the "model"), whose schema README's
 * "Agreement" section documents; jury_report_text and jury_report_html render
 * it. A measure that cannot be computed (one annotator, no record with two
 * values, no variation) is null, with a sentence in the question's "notes":
 * the model never holds NaN or infinities. The notes also say when alpha's
 * expected disagreement was estimated (JURY_REPORT_PAIRS_DEFAULT). Numbers are
 * rounded to 6 decimals.
 */
typedef struct jury_report jury_report_t;

/* Measurement level of Krippendorff's alpha for rating and label questions. */
typedef enum {
    JURY_REPORT_LEVEL_DEFAULT = 0,  /* the question type's own: label nominal, rating interval */
    JURY_REPORT_LEVEL_NOMINAL = 1,  /* values are names: equal or not */
    JURY_REPORT_LEVEL_ORDINAL = 2,  /* values are ordered: ranks matter, distances do not */
    JURY_REPORT_LEVEL_INTERVAL = 3, /* differences between values are meaningful */
    JURY_REPORT_LEVEL_RATIO = 4     /* ratios are meaningful (a true zero) */
} jury_report_level;

/* Records listed as the most contested per question when opts->contested is 0. */
#define JURY_REPORT_CONTESTED_DEFAULT 10

/* Bootstrap resamples of alpha's 95% interval when opts->bootstrap is 0. */
#define JURY_REPORT_BOOTSTRAP_DEFAULT 1000

/*
 * Krippendorff's expected disagreement D_e takes one distance for every two
 * distinct answers. When that is more than this many distances for a text
 * question (100 times as many for multi-label and ranking questions, whose
 * distances are cheap), D_e is instead the mean distance of this many random
 * pairs of answers, and the question's notes say so.
 */
#define JURY_REPORT_PAIRS_DEFAULT 20000

/* Bins of the per-record agreement histogram: [0, 0.1), [0.1, 0.2) ... [0.9, 1]. */
#define JURY_REPORT_HISTOGRAM_BINS 10

/* Options of a report. Zero-initialise, then set what you need. */
typedef struct {
    const char *question;    /* report only this question; NULL for all. Borrowed for _new. */
    jury_report_level level; /* alpha's level for rating and label_selection questions */
    uint32_t bootstrap;      /* resamples for alpha_ci95; 0 for JURY_REPORT_BOOTSTRAP_DEFAULT */
    uint64_t seed;           /* bootstrap seed; the same seed gives the same interval */
    uint32_t contested;      /* most contested records listed; 0 for the default (10) */
    uint32_t expected_pairs; /* distance budget of alpha's D_e; 0 for JURY_REPORT_PAIRS_DEFAULT */
    bool trusted;            /* responses come from the store (see jury_report_add) */
} jury_report_opts_t;

/*
 * Starts a report on the questions of settings s. s is borrowed and must
 * outlive the report; opts may be NULL for defaults.
 *
 * Returns JURY_OK and a new report in *out, which the caller owns and must
 * destroy. Errors: JURY_ENOTFOUND when opts->question names no question of s
 * (err then reads "no question \"x\" in the settings (questions: a, b)"),
 * JURY_EINVAL for an out-of-range level, JURY_ENOMEM. err (errlen bytes,
 * always NUL-terminated when errlen > 0) may be NULL.
 */
JURY_MUST_CHECK jury_err jury_report_new(jury_report_t **out, const jury_settings_t *s,
                                         const jury_report_opts_t *opts, char *err, size_t errlen);

/* Destroys *self_p and sets it to NULL. Accepts NULL and an already-NULL *self_p. */
void jury_report_destroy(jury_report_t **self_p);

/*
 * Adds annotator's response to record: values is the {question: value}
 * object of the response. Every key must name a question of the settings and
 * every non-null value must be a valid answer to it
 * (jury_settings_check_value; span offsets are checked without the text).
 * Values of questions outside opts->question are checked and not kept. Only a
 * submitted response counts; others are checked and dropped. Strings are
 * copied; nothing is kept of values.
 *
 * Returns JURY_OK, or JURY_EINVAL with "<JSON pointer>: <reason>" in err,
 * pointers starting at /values, e.g.
 * "/values/colour: no question \"colour\" in the settings" or
 * "/values/quality: a rating must be an integer"; JURY_EEXIST when annotator
 * already has a response to record in this report; JURY_ENOMEM.
 * A call that fails with JURY_EINVAL or JURY_EEXIST adds nothing.
 *
 * With opts->trusted (responses read from the store, which keys them by
 * record and annotator and checked every value when it was written), the
 * duplicate check is skipped and values get only the checks that keeping them
 * needs: a value that cannot be kept still fails with JURY_EINVAL, but a
 * second response of an annotator to a record is not detected. Responses of
 * one record should then arrive together, as the store walks them.
 */
JURY_MUST_CHECK jury_err jury_report_add(jury_report_t *r, const char *record,
                                         const char *annotator, bool submitted, const cJSON *values,
                                         char *err, size_t errlen);

/*
 * Adds one line of a responses file (JSONL, len bytes at line, need not be
 * NUL-terminated): {"record": "<id>" or an integer, "annotator": "<name>",
 * "status": "submitted" | "discarded" | "draft", "values": {...}}; "values"
 * may be missing or null when the status is not submitted. The line must be
 * valid UTF-8 and hold one JSON object and nothing else. Then as
 * jury_report_add.
 *
 * Returns JURY_OK, or JURY_EINVAL / JURY_EEXIST with the reason in err,
 * without the file and line, which the caller prefixes: "invalid JSON at byte
 * 3 of the line", "truncated JSON: the line ends inside a value", "/: a
 * response must be a JSON object", "/status: must be \"submitted\",
 * \"discarded\" or \"draft\"", "/values/quality: a rating must be an integer",
 * "annotator \"ann\" has a second response to record \"r1\"" ...
 */
JURY_MUST_CHECK jury_err jury_report_add_line(jury_report_t *r, const char *line, size_t len,
                                              char *err, size_t errlen);

/*
 * Computes every measure and returns the model, a new JSON object
 * {"questions": {...}} (schema in README, "Agreement"), in *out; the caller
 * owns it and frees it with cJSON_Delete. The report is unchanged and may
 * take more responses and be built again. Errors: JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_report_build(jury_report_t *r, cJSON **out);

/*
 * Renders a model from jury_report_build as plain text for a terminal: per
 * question a table of its measures, its notes, the annotator pairs sorted by
 * kappa (or agreement), the annotators, and the most contested records; then,
 * when the model has an "annotators_quality" array (the caller adds the rows
 * of jury_report_quality_build), the annotator quality table.
 * title (may be NULL) heads the page: the dataset's name or the file's.
 * Returns a new NUL-terminated string that the caller frees, or NULL when
 * out of memory. model and title are borrowed.
 */
char *jury_report_text(const cJSON *model, const char *title);

/*
 * Renders a model as one self-contained HTML page (inline CSS and SVG, no
 * script, nothing loaded from elsewhere): alpha per question with its 95%
 * interval, the annotator quality table when the model has
 * "annotators_quality", and per question an annotator x annotator kappa
 * heatmap, the histogram of per-record agreement and the per-annotator table.
 * Every string
 * from the data (names, record ids, notes, title) is escaped for HTML.
 * Returns a new NUL-terminated string that the caller frees, or NULL when out
 * of memory. model and title are borrowed.
 */
char *jury_report_html(const cJSON *model, const char *title);

#endif
