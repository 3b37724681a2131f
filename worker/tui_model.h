/* tui_model.h: the pure part of `juror tui`: questions and their answer state, text laid out into
 * lines of a width, the values JSON and the checks that need no coordinator. No I/O, no curses. */
#ifndef JUROR_TUI_MODEL_H
#define JUROR_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"

/*
 * The terminal annotator keeps everything it can decide without a screen or a
 * socket here, so that a test drives it with plain strings:
 *
 *  - text layout: UTF-8 text word-wrapped into lines of at most `width`
 *    terminal columns (wide characters count 2, combining marks 0), with
 *    control characters made visible and tabs expanded;
 *  - a model: the dataset's questions (from the settings JSON that
 *    juror_settings gives), one record at a time (a record object of
 *    juror_fetch's array), and each question's widget state (text, chosen
 *    rating, picked labels, ranking order, spans), prefilled from the
 *    record's draft, else its suggestions;
 *  - the values JSON that juror_submit sends, and the checks of
 *    protocol/SPEC.md section 9.6 that can be made locally, with the
 *    coordinator's wording ("/values/quality: question \"quality\" is
 *    required in a submitted response");
 *  - review (protocol/SPEC.md 9.7): a record of juror_review_fetch's array,
 *    its responses laid out as a table, one of them copied into the answers,
 *    and the checks a reviewer's final answers get;
 *  - a one-line editor (code points and a cursor).
 *
 * Column widths come from wcwidth(3), so they follow LC_CTYPE: call
 * setlocale(LC_CTYPE, "") (or a UTF-8 locale) first. Without a UTF-8 locale
 * every non-ASCII character counts one column.
 */

/* Question types, as the settings name them. */
typedef enum {
    JUROR_TUI_TEXT = 0,        /* "text": a string, prefilled with the suggestion */
    JUROR_TUI_RATING = 1,      /* "rating": one of the question's integer values */
    JUROR_TUI_LABEL = 2,       /* "label_selection": one label */
    JUROR_TUI_MULTI_LABEL = 3, /* "multi_label_selection": a non-empty set of labels */
    JUROR_TUI_RANKING = 4,     /* "ranking": every value once, best first, ties optional */
    JUROR_TUI_SPAN = 5         /* "span": labelled code point ranges of a text field */
} juror_tui_qtype;

/* How a laid-out line is drawn. */
typedef enum {
    JUROR_TUI_BODY = 0,   /* plain text */
    JUROR_TUI_TITLE = 1,  /* a field's or question's title: bold */
    JUROR_TUI_DIM = 2,    /* hints, notes, metadata */
    JUROR_TUI_CHOSEN = 3, /* a chosen option, a given answer: bold */
    JUROR_TUI_ERROR = 4   /* something the annotator must fix */
} juror_tui_style;

/* One line of laid-out text. */
typedef struct {
    char *text; /* UTF-8 without control characters, at most the layout width in columns; owned by
                   the list */
    juror_tui_style style; /* how to draw it */
    size_t emph; /* bytes at the start of text drawn bold as well (a chat turn's "role:") */
    bool cursor; /* the widget's cursor is on this line (reverse it while the question has focus) */
} juror_tui_line_t;

/* A growable list of lines. Zero-initialise; free with juror_tui_lines_free. */
typedef struct {
    juror_tui_line_t *v; /* the lines */
    size_t n;            /* how many */
    size_t cap;          /* allocated */
} juror_tui_lines_t;

/* Frees every line and the array; the list is empty and reusable afterwards. Accepts NULL. */
void juror_tui_lines_free(juror_tui_lines_t *lines);

/*
 * Decodes the code point at s[*i] (of len bytes) and advances *i past it. A
 * malformed or truncated sequence gives U+FFFD and advances one byte.
 */
uint32_t juror_tui_utf8_next(const char *s, size_t len, size_t *i);

/* Terminal columns of code point cp: 0 (combining), 1 or 2 (wide); control characters count 1 (they
 * are shown as U+FFFD). */
int juror_tui_cp_width(uint32_t cp);

/* Terminal columns of the UTF-8 string s, as laid out (tabs count 4). */
size_t juror_tui_text_width(const char *s);

/*
 * Appends text, word-wrapped to width columns, to out. Every line starts with
 * indent spaces. When prefix is not NULL, the first line carries it right
 * after the indent (drawn bold: it counts in emph) and the following lines
 * are indented 2 more. Each '\n' starts a new line (an empty paragraph gives
 * an empty line); a word longer than a line is broken; tabs become 4 spaces;
 * other control characters and malformed UTF-8 become U+FFFD. NULL or ""
 * text gives one line (the prefix alone). Returns JURY_OK or JURY_ENOMEM
 * (out keeps the lines added so far). width below indent + 1 is treated
 * as indent + 1.
 */
JURY_MUST_CHECK jury_err juror_tui_wrap(juror_tui_lines_t *out, const char *prefix,
                                        const char *text, int width, int indent,
                                        juror_tui_style style);

/* Appends one line, cut to width columns (with "…" when cut). Returns JURY_OK or JURY_ENOMEM. */
JURY_MUST_CHECK jury_err juror_tui_line(juror_tui_lines_t *out, const char *text, int width,
                                        juror_tui_style style);

/*
 * Parses an RFC 3339 UTC time as the coordinator writes lease_expires
 * ("2026-11-27T23:59:59.123Z", fraction optional) into ms since the Unix
 * epoch. Returns false when iso has another shape.
 */
bool juror_tui_parse_time(const char *iso, int64_t *ms);

/* ------------------------------------------------------------------------------------------ */

/* The dataset's questions, the record on screen and the answers being given. */
typedef struct juror_tui_model juror_tui_model_t;

/*
 * Builds a model from the dataset's settings as JSON text (juror_settings:
 * the normalised shape of `jury dataset show`). Returns JURY_OK and the model
 * in *out, which the caller owns and destroys; JURY_EPROTO when the settings
 * do not have that shape (the reason in err, at most errcap bytes, when err
 * is not NULL); JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_model_new(juror_tui_model_t **out, const char *settings_json,
                                             char *err, size_t errcap);

/* Frees the model and sets *self_p to NULL. Accepts NULL; safe twice. */
void juror_tui_model_destroy(juror_tui_model_t **self_p);

/*
 * Puts a record on the model: record_json is one object of juror_fetch's
 * array ({"id", "fields", "suggestions", "metadata", "lease_expires",
 * "draft"}). Every answer starts from the record's draft when it has one,
 * else from its suggestion, else unanswered (a span question: no spans).
 * Values that do not fit their question are ignored. Returns JURY_OK,
 * JURY_EPROTO (not a record object with a string id; the model keeps its
 * previous record) or JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_model_load(juror_tui_model_t *m, const char *record_json);

/*
 * Puts a record to review on the model: record_json is one object of
 * juror_review_fetch's array ({"id", "fields", "suggestions", "metadata",
 * "lease_expires", "why", "reason", "unified", "responses"}). Every answer
 * starts from the consolidation's value ("unified") when it has one for the
 * question, else from the suggestion, else unanswered. Until the next
 * juror_tui_model_load the model is reviewing: juror_tui_reset goes back to the
 * consolidation's value, juror_tui_check also refuses a ranking with ties (a
 * final ranking orders every value), and the question layout names the keys
 * of review mode (digits copy a response; ratings and labels are chosen with
 * the arrows). Returns JURY_OK, JURY_EPROTO (not an object with a string id
 * and a "responses" array; the model keeps its previous record) or
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_model_load_review(juror_tui_model_t *m, const char *record_json);

/* Whether the record on the model came from juror_tui_model_load_review. */
bool juror_tui_reviewing(const juror_tui_model_t *m);

/* Whether a record is loaded; its id (borrowed until the next load, "" when none). */
bool juror_tui_has_record(const juror_tui_model_t *m);
const char *juror_tui_record_id(const juror_tui_model_t *m);

/* Whether the record was loaded with a draft of this annotator. */
bool juror_tui_from_draft(const juror_tui_model_t *m);

/* The lease's end in ms since the epoch (0 when unknown); set it after a draft extends it. */
int64_t juror_tui_lease_expires(const juror_tui_model_t *m);
void juror_tui_set_lease_expires(juror_tui_model_t *m, int64_t ms);

/* Whether an answer changed since the record was loaded or juror_tui_mark_saved was called. */
bool juror_tui_dirty(const juror_tui_model_t *m);
void juror_tui_mark_saved(juror_tui_model_t *m);

/* The guidelines (Markdown; "" when none). Borrowed for the model's life. */
const char *juror_tui_guidelines(const juror_tui_model_t *m);

/* Questions, in the settings' order; index q below is 0 .. count - 1. Strings are borrowed for the
 * model's life. */
size_t juror_tui_question_count(const juror_tui_model_t *m);
juror_tui_qtype juror_tui_question_type(const juror_tui_model_t *m, size_t q);
const char *juror_tui_question_name(const juror_tui_model_t *m, size_t q);
const char *juror_tui_question_title(const juror_tui_model_t *m, size_t q);
bool juror_tui_question_required(const juror_tui_model_t *m, size_t q);

/* The question whose name is name, or (size_t)-1. */
size_t juror_tui_question_find(const juror_tui_model_t *m, const char *name);

/*
 * The question a coordinator reason names ("/values/NAME: ..." or
 * "/values/NAME/1: ..."), or (size_t)-1: to move the focus there.
 */
size_t juror_tui_question_of_reason(const juror_tui_model_t *m, const char *reason);

/* Whether question q has an answer that would be sent now. */
bool juror_tui_answered(const juror_tui_model_t *m, size_t q);

/* ---- Widgets. Each returns true when it changed something. -------------------------------- */

/*
 * A digit key (0..9) on question q: rating picks the value equal to the
 * digit (0 picks 10 when 10 is a value and 0 is not); label picks option
 * digit (1-based); multi-label toggles option digit. Other types: false.
 */
bool juror_tui_digit(juror_tui_model_t *m, size_t q, int digit);

/*
 * An arrow: rating moves the chosen value by delta (from nothing, +1 picks
 * the first value and -1 the last); label, multi-label and ranking move the
 * cursor by delta, clamped.
 */
bool juror_tui_move(juror_tui_model_t *m, size_t q, int delta);

/* Enter or space: label picks the option under the cursor; multi-label toggles it; ranking accepts
 * the order shown as the answer. */
bool juror_tui_activate(juror_tui_model_t *m, size_t q);

/* Ranking: moves the item under the cursor (and the cursor) by delta places; the order is then the
 * answer. */
bool juror_tui_rank_shift(juror_tui_model_t *m, size_t q, int delta);

/* Ranking with allow_ties: ties the item under the cursor with the one above, or unties it. */
bool juror_tui_rank_tie(juror_tui_model_t *m, size_t q);

/* Back to the suggestion when there is one (while reviewing: to the consolidation's value when
 * there is one, else the suggestion), else unanswered (a span question: no spans). */
bool juror_tui_reset(juror_tui_model_t *m, size_t q);

/* Unanswered (a span question: no spans). */
bool juror_tui_clear(juror_tui_model_t *m, size_t q);

/* Text question: the current text (borrowed until the next change; NULL when unanswered). */
const char *juror_tui_text(const juror_tui_model_t *m, size_t q);

/*
 * Text question: sets the text (copied); "" or NULL makes it unanswered.
 * JURY_EINVAL when q is not a text question or text is not valid UTF-8
 * (nothing changes); JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_set_text(juror_tui_model_t *m, size_t q, const char *text);

/*
 * Span question: adds a span from an entry "START END LABEL" (offsets in
 * code points of the question's field, end exclusive; LABEL a label value or
 * its 1-based number). JURY_EINVAL with the reason in why (at most whycap
 * bytes) when the entry does not parse or breaks the rules (bounds, label,
 * overlap); JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_span_add(juror_tui_model_t *m, size_t q, const char *entry,
                                            char *why, size_t whycap);

/* Span question: removes the last span added. */
bool juror_tui_span_pop(juror_tui_model_t *m, size_t q);

/* ---- Layout. ------------------------------------------------------------------------------ */

/*
 * Appends the record to out, laid out for width columns: each field's title
 * (JUROR_TUI_TITLE), then its text indented 2, or for a chat field one
 * "role: content" paragraph per turn; a missing optional field shows
 * "(empty)"; then the visible metadata. Returns JURY_OK or JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_layout_record(const juror_tui_model_t *m, int width,
                                                 juror_tui_lines_t *out);

/* Appends the guidelines wrapped to width (or a note that there are none). */
JURY_MUST_CHECK jury_err juror_tui_layout_guidelines(const juror_tui_model_t *m, int width,
                                                     juror_tui_lines_t *out);

/*
 * Appends question q with its widget to out: the title (with "*" when
 * required), the description, the widget (the text; the rating values with
 * the chosen one in brackets; one line per label, marked "(*)" or "[x]"; the
 * ranking, best first; the spans), where the answer came from (suggestion,
 * draft, edited), and which keys work. The line under the widget's cursor
 * has cursor set. Returns JURY_OK or JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_layout_question(const juror_tui_model_t *m, size_t q, int width,
                                                   juror_tui_lines_t *out);

/* ---- Review. ------------------------------------------------------------------------------ */

/* The responses of the record under review (0 when not reviewing). */
size_t juror_tui_review_responses(const juror_tui_model_t *m);

/* Response k's annotator (k counts from 1, as the digit keys do); "" when there is no response k.
 * Borrowed until the next load. */
const char *juror_tui_review_annotator(const juror_tui_model_t *m, size_t k);

/*
 * A digit key in review mode: copies the values of response k (from 1) into
 * every answer; a question the response left out (or answered with a value
 * that does not fit it) becomes unanswered. Returns false, changing nothing,
 * when there is no response k or it has no values (a discard sent without
 * any).
 */
bool juror_tui_review_copy(juror_tui_model_t *m, size_t k);

/*
 * Appends what a reviewer weighs, laid out for width columns: why the record
 * waits ("contested", or "rejected" with the consolidation's reason); a table
 * of every response, one row each (its number, annotator, status and each
 * question's value, "-" when it has none), its columns narrowed to fit width
 * and a cell too wide for its column cut with "…" and then given in full
 * below the table ("2 bob · Reply: ..."); and the consolidation's value of
 * each question it decided. Nothing when not reviewing. Returns JURY_OK or
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err juror_tui_layout_review(const juror_tui_model_t *m, int width,
                                                 juror_tui_lines_t *out);

/* ---- Answers. ----------------------------------------------------------------------------- */

/*
 * Checks the answers as the coordinator would, as far as it can without the
 * store: for a submitted response (submitted true) every required question
 * must be answered; every answer must fit its question (text at most 65,536
 * bytes, spans within the field's text and not overlapping unless allowed);
 * while reviewing, a ranking must have no ties ("/values/best: item 1: a
 * reviewer's ranking has no ties; give each value its own rank", counting
 * the items of the values list).
 * Returns JURY_OK, or JURY_EINVAL with the first problem in why (the
 * coordinator's wording, e.g. "/values/quality: question \"quality\" is
 * required in a submitted response") and its question in *bad_q when bad_q
 * is not NULL.
 */
JURY_MUST_CHECK jury_err juror_tui_check(const juror_tui_model_t *m, bool submitted, size_t *bad_q,
                                         char *why, size_t whycap);

/*
 * Builds the values JSON object of every answered question (protocol/SPEC.md
 * section 9.6): text a string, rating an integer, label a string,
 * multi-label the picked labels in the question's order, ranking the values
 * best first with ties as lists, span a list of {start, end, label} in start
 * order. Unanswered questions are left out. Returns the JSON text, which the
 * caller frees with free(), or NULL when out of memory.
 */
char *juror_tui_values_json(const juror_tui_model_t *m);

/* ---- A one-line editor. ------------------------------------------------------------------- */

/* Code points and a cursor. Zero-initialise; free with juror_tui_edit_free. */
typedef struct {
    uint32_t *cp;  /* the code points */
    size_t len;    /* how many */
    size_t cap;    /* allocated */
    size_t cursor; /* insertion point, 0 .. len */
} juror_tui_edit_t;

/* Editing operations. */
typedef enum {
    JUROR_TUI_EDIT_LEFT = 0,  /* cursor one left */
    JUROR_TUI_EDIT_RIGHT,     /* cursor one right */
    JUROR_TUI_EDIT_HOME,      /* cursor to the start */
    JUROR_TUI_EDIT_END,       /* cursor to the end */
    JUROR_TUI_EDIT_BACKSPACE, /* delete before the cursor */
    JUROR_TUI_EDIT_DELETE,    /* delete under the cursor */
    JUROR_TUI_EDIT_KILL_END,  /* delete from the cursor to the end */
    JUROR_TUI_EDIT_CLEAR,     /* delete everything */
    JUROR_TUI_EDIT_WORD_BACK  /* delete the word before the cursor */
} juror_tui_edit_op;

/* Replaces the content with the UTF-8 text (NULL: empty), cursor at the end. JURY_OK or
 * JURY_ENOMEM. */
JURY_MUST_CHECK jury_err juror_tui_edit_set(juror_tui_edit_t *e, const char *text);

/* Inserts cp at the cursor. Control characters other than '\n' are refused (false). */
bool juror_tui_edit_insert(juror_tui_edit_t *e, uint32_t cp);

/* Applies op. Returns whether anything changed. */
bool juror_tui_edit_apply(juror_tui_edit_t *e, juror_tui_edit_op op);

/* The content as UTF-8; the caller frees it. NULL when out of memory. */
char *juror_tui_edit_text(const juror_tui_edit_t *e);

/*
 * Horizontal scrolling: given the first code point shown so far and the
 * field's width in columns, returns the first code point to show so that the
 * cursor is visible (and, when it fits, the text's end too).
 */
size_t juror_tui_edit_first(const juror_tui_edit_t *e, size_t first, int width);

/* Frees the content; the editor is empty and reusable. Accepts NULL. */
void juror_tui_edit_free(juror_tui_edit_t *e);

#endif
