/* tui.c: `juror tui`, a terminal annotator for a person (ncurses): the record, its suggestions and
 * a widget per question; submit, draft, discard, skip; with --review, a reviewer's final decisions
 * on contested and rejected records. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* wide-character curses, wcwidth */
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <cjson/cJSON.h>
#include <ncurses.h>

#include "juror_cli.h"
#include "tui_model.h"

/*
 * The screen, top to bottom:
 *
 *   header      dataset, annotator, progress, record id, time left on the lease
 *   pane        the record (fields, chat turns, metadata), or the guidelines, or help;
 *               scrolls with PgUp/PgDn
 *   questions   one line naming every question, the focused one reversed
 *   question    the focused question with its widget (tui_model lays it out)
 *   status      what happened last: the coordinator's reason when it refuses an answer
 *   keys        which keys work now
 *
 * With --review the records come from juror_review_fetch, the pane shows why
 * each waits, a table of its responses and the consolidation's values above
 * the record, the answers start from the consolidation's values, and s
 * accepts (juror_review_submit with the answers), x rejects (with a note),
 * n gives the record back, and a digit copies that response into the answers.
 *
 * One loop waits on the keyboard and on libjuror's descriptor (poll), calling
 * juror_tick when the descriptor fires or juror_timeout_ms passes, so the
 * session keeps its heartbeats while the annotator reads; it does the same
 * while $EDITOR runs. Every exit path ends curses (endwin) before printing.
 */

#define S_MIN_COLS      60   /* smallest terminal the layout works in */
#define S_MIN_LINES     15   /* ... */
#define S_REFETCH_MS    3000 /* pause before asking again when nothing is available (SPEC 6.3) */
#define S_BATCH_DEFAULT 3    /* records leased at a time */
#define S_TICK_MAX_MS   500  /* the header's lease clock moves at least this often */
#define S_STATUS_MAX    1200 /* status line text */
#define S_TITLE_COLS    24   /* a question's title in the questions line */
#define S_STATUS_ROWS   3    /* most rows the status takes */

static const char s_usage[] =
    "usage: juror tui --dataset NAME (--key FILE | --annotator NAME) [--connect ENDPOINT]\n"
    "                 [--batch N] [--review]\n"
    "\n"
    "A terminal annotator: shows each leased record (fields, chat turns, metadata),\n"
    "the suggestions, and a widget per question; submits, saves drafts, discards\n"
    "and skips. Press ? inside for the keys. Needs a terminal of at least 60x15.\n"
    "\n"
    "With --review, a reviewer (role reviewer or admin: `jury annotator add NAME\n"
    "--role reviewer`) decides the records that wait for review: contested by\n"
    "dynamic overlap, or rejected by `jury consolidate`. Each shows why it waits,\n"
    "every response and the consolidation's values; the answers start from the\n"
    "latter. s accepts the record with the answers shown, x rejects it (with an\n"
    "optional note), n gives it back, and a digit 1-9 copies that response into\n"
    "the answers. An annotator who may not review gets the coordinator's refusal\n"
    "and exit code 1.\n"
    "\n"
    "options:\n"
    "  --batch N   records leased at a time, 1..100 (default 3)\n"
    "  --review    review instead of annotating\n"
    "\n"
    "environment: VISUAL or EDITOR is the editor `e` opens (default vi).\n";

static const char *const s_help[] = {
    "Keys",
    "  Tab, j / Shift-Tab, k   next / previous question",
    "  s   submit the answers (every required question, marked *, needs one)",
    "  d   save a draft (extends the lease; partial answers are fine)",
    "  x   discard the record (you will not see it again)",
    "  n   skip the record (release it for someone else)",
    "  PgUp, PgDn, Home, End   scroll the record",
    "  g   guidelines on / off      ?   this help on / off      Esc   back to the record",
    "  q   quit (waits for answers in flight, then says bye)",
    "",
    "Text questions",
    "  e   edit in $EDITOR (VISUAL, EDITOR, else vi)",
    "  i   edit inline: Enter keeps, Esc cancels, Ctrl-U clears, Ctrl-W deletes a word",
    "  r   back to the suggestion        Del, Backspace   clear the answer",
    "",
    "Ratings: the digit of a value (0 for 10), or Left / Right",
    "Labels: the option's number, or Up / Down and Enter; several labels: space toggles",
    "Rankings: Up / Down choose an item, K / J move it up / down, t ties it with the item",
    "  above (when the question allows ties), Enter keeps the order shown",
    "Spans: a adds one as START END LABEL (offsets count characters of the field),",
    "  D removes the last; with none, the answer is an empty list",
};

static const char *const s_review_help[] = {
    "Keys (review)",
    "  1-9   copy that response's answers into yours (every question)",
    "  s   accept the record with your answers (every required question, marked *;",
    "      a ranking without ties): they become its final answers",
    "  x   reject the record, with an optional note: it stays out of the final datasets",
    "  n   next record (give this one back undecided)",
    "  Tab, j / Shift-Tab, k   next / previous question",
    "  PgUp, PgDn, Home, End   scroll the record",
    "  g   guidelines on / off      ?   this help on / off      Esc   back to the record",
    "  q   quit",
    "",
    "Your answers start from the consolidation's values (else the suggestions);",
    "  r goes back to them.",
    "Text questions: e edits in $EDITOR, i inline; Del, Backspace clear the answer",
    "Ratings: Left / Right (digits copy responses here)",
    "Labels: Up / Down and Enter; several labels: Up / Down and space",
    "Rankings: Up / Down choose an item, K / J move it up / down, t ties or unties it",
    "  with the item above, Enter keeps the order shown",
    "Spans: a adds one as START END LABEL (offsets count characters of the field),",
    "  D removes the last; with none, the answer is an empty list",
};

typedef enum {
    S_PANE_RECORD = 0, /* the record's fields */
    S_PANE_GUIDELINES, /* the dataset's guidelines */
    S_PANE_HELP        /* the keys */
} s_pane;

typedef enum {
    S_MODE_NORMAL = 0,      /* keys act on questions and records */
    S_MODE_EDIT_TEXT,       /* the inline editor holds a text answer */
    S_MODE_EDIT_SPAN,       /* the inline editor holds a span entry */
    S_MODE_CONFIRM_DISCARD, /* y discards */
    S_MODE_CONFIRM_QUIT,    /* y quits with unsaved answers */
    S_MODE_EDIT_NOTE        /* review: the inline editor holds a rejection's note */
} s_mode;

typedef struct {
    const juror_cli_t *cli;    /* connection options */
    juror_t *j;                /* the session */
    juror_tui_model_t *m;      /* questions and the record on screen */
    uint32_t batch;            /* records per fetch */
    bool review;               /* --review: records to review, decided with juror_review_submit */
    char **queue;              /* records (JSON) leased and waiting, oldest first */
    size_t qlen;               /* how many */
    size_t qcap;               /* allocated */
    char **skipped;            /* ids released with `n` this session */
    size_t nskipped;           /* how many */
    size_t skipcap;            /* allocated */
    bool have;                 /* a record is on screen */
    bool dead;                 /* the coordinator refused the session for good */
    int64_t next_fetch;        /* monotonic ms: when to ask for records again */
    size_t focus;              /* the focused question */
    s_pane pane;               /* what the pane shows */
    s_mode mode;               /* what keys do */
    int scroll;                /* first pane line shown */
    int pane_rows;             /* rows of the pane at the last draw (for PgUp/PgDn) */
    juror_tui_edit_t edit;     /* the inline editor */
    size_t edit_first;         /* its first code point shown */
    char status[S_STATUS_MAX]; /* the status line */
    bool status_error;         /* draw it as an error */
    unsigned answered;         /* submitted this session */
    unsigned discarded;        /* discarded this session */
    unsigned skips;            /* released with `n` this session */
    unsigned leased;           /* records leased this session */
    unsigned accepted;         /* review: records accepted this session */
    unsigned rejected;         /* review: records rejected this session */
    bool quit;                 /* leave the loop */
    bool color;                /* the terminal has colours */
} s_tui;

/* Set by SIGINT, SIGTERM, SIGHUP: quit as with q. */
static volatile sig_atomic_t s_signalled;
/* The juror a signal also hurries (juror_interrupt: no call waits more than 2 s after it). */
static juror_t *volatile s_signal_juror;

static void s_on_signal(int sig)
{
    s_signalled = sig;
    juror_interrupt(s_signal_juror);
}

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_say(s_tui *t, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_say(s_tui *t, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->status, sizeof t->status, fmt, ap);
    va_end(ap);
    t->status_error = error;
}

/* ---------------------------------------------------------------------------------------------
 * Drawing.
 */

enum { S_PAIR_ERROR = 1, S_PAIR_TITLE = 2 };

static attr_t s_attr(const s_tui *t, juror_tui_style style)
{
    switch (style) {
    case JUROR_TUI_TITLE:
        return A_BOLD | (t->color ? COLOR_PAIR(S_PAIR_TITLE) : 0);
    case JUROR_TUI_DIM:
        return A_DIM;
    case JUROR_TUI_CHOSEN:
        return A_BOLD;
    case JUROR_TUI_ERROR:
        return A_BOLD | (t->color ? COLOR_PAIR(S_PAIR_ERROR) : 0);
    default:
        return A_NORMAL;
    }
}

/*
 * Draws n bytes of UTF-8 at (y, x) within maxcols columns; returns the columns used. Control
 * characters show as U+FFFD so that nothing moves the cursor behind curses' back.
 */
static int s_put(int y, int x, int maxcols, const char *s, size_t n, attr_t attr)
{
    wchar_t buf[1024];
    size_t k = 0, i = 0;
    int cols = 0;
    while (i < n && k < sizeof buf / sizeof *buf - 1) {
        uint32_t cp = juror_tui_utf8_next(s, n, &i);
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
            cp = 0xfffd;
        int w = juror_tui_cp_width(cp);
        if (cols + w > maxcols)
            break;
        /* A combining mark needs a base cell before it. */
        if (w == 0 && k == 0)
            continue;
        buf[k++] = (wchar_t)cp;
        cols += w;
    }
    buf[k] = 0;
    if (k == 0)
        return 0;
    attron(attr);
    mvaddnwstr(y, x, buf, (int)k);
    attroff(attr);
    return cols;
}

static int s_puts(int y, int x, int maxcols, const char *s, attr_t attr)
{
    return s_put(y, x, maxcols, s, strlen(s), attr);
}

/* Draws a laid-out line on row y over the full width; reversed when it is the focused cursor. */
static void s_put_line(const s_tui *t, int y, const juror_tui_line_t *l, bool reverse)
{
    attr_t base = s_attr(t, l->style) | (reverse ? A_REVERSE : 0);
    if (reverse) {
        attron(A_REVERSE);
        mvhline(y, 0, ' ', COLS);
        attroff(A_REVERSE);
    }
    int used = 0;
    size_t emph = l->emph < strlen(l->text) ? l->emph : strlen(l->text);
    if (emph > 0)
        used = s_put(y, 0, COLS, l->text, emph, base | A_BOLD);
    s_put(y, used, COLS - used, l->text + emph, strlen(l->text + emph), base);
}

/* "9:41" left on a lease, "1:02:03", or "expired". */
static void s_lease_left(char *out, size_t cap, int64_t expires_ms)
{
    if (expires_ms <= 0) {
        snprintf(out, cap, "?");
        return;
    }
    int64_t left = (expires_ms - s_wall_ms()) / 1000;
    if (left <= 0)
        snprintf(out, cap, "expired");
    else if (left >= 3600)
        snprintf(out, cap, "%d:%02d:%02d", (int)(left / 3600), (int)(left / 60 % 60),
                 (int)(left % 60));
    else
        snprintf(out, cap, "%d:%02d", (int)(left / 60), (int)(left % 60));
}

static void s_draw_header(const s_tui *t)
{
    char left[600], right[700], lease[32];
    if (t->review)
        snprintf(
            left, sizeof left,
            " juror \xc2\xb7 %s \xc2\xb7 %s \xe2\x94\x82 review: %u accepted, %u rejected of %u "
            "leased",
            juror_dataset(t->j), juror_annotator(t->j), t->accepted, t->rejected, t->leased);
    else
        snprintf(left, sizeof left,
                 " juror \xc2\xb7 %s \xc2\xb7 %s \xe2\x94\x82 answered %u/%u leased",
                 juror_dataset(t->j), juror_annotator(t->j), t->answered, t->leased);
    size_t n = strlen(left);
    if (t->discarded)
        n += (size_t)snprintf(left + n, sizeof left - n, ", %u discarded", t->discarded);
    if (t->skips && n < sizeof left)
        n += (size_t)snprintf(left + n, sizeof left - n, ", %u skipped", t->skips);
    if (juror_pending(t->j) && n < sizeof left)
        snprintf(left + n, sizeof left - n, ", %zu unacknowledged", juror_pending(t->j));
    if (t->dead)
        snprintf(right, sizeof right, "session ended ");
    else if (!juror_connected(t->j))
        snprintf(right, sizeof right, "reconnecting\xe2\x80\xa6 ");
    else if (t->have) {
        s_lease_left(lease, sizeof lease, juror_tui_lease_expires(t->m));
        snprintf(right, sizeof right, "%.500s \xc2\xb7 lease %s ", juror_tui_record_id(t->m),
                 lease);
    } else {
        right[0] = '\0';
    }
    attron(A_REVERSE);
    mvhline(0, 0, ' ', COLS);
    attroff(A_REVERSE);
    int rw = (int)juror_tui_text_width(right);
    int lw = s_puts(0, 0, COLS, left, A_REVERSE);
    if (rw > 0 && lw + 2 + rw <= COLS)
        s_puts(0, COLS - rw, rw, right, A_REVERSE);
    else if (rw > 0 && lw + 2 < COLS)
        s_puts(0, lw + 2, COLS - lw - 2, right, A_REVERSE);
}

/* The line naming every question; the focused one reversed. */
static void s_draw_questions_line(const s_tui *t, int y, int shown, int total)
{
    size_t nq = juror_tui_question_count(t->m);
    char seg[S_TITLE_COLS * 4 + 32], pos[64];
    int x = 0;
    /* Pane position at the right, when it scrolls. */
    pos[0] = '\0';
    if (total > shown)
        snprintf(pos, sizeof pos, " %d-%d/%d %s", t->scroll + 1, t->scroll + shown, total,
                 t->scroll + shown < total ? "PgDn" : "PgUp");
    int posw = (int)strlen(pos);
    int room = COLS - posw;
    attron(A_DIM);
    mvhline(y, 0, ACS_HLINE, COLS);
    attroff(A_DIM);
    /* Start late enough that the focused question shows. */
    size_t first = 0;
    for (;;) {
        int w = 1;
        for (size_t i = first; i <= t->focus && i < nq; i++)
            w += (int)juror_tui_text_width(juror_tui_question_title(t->m, i)) + 8;
        if (w <= room || first >= t->focus)
            break;
        first++;
    }
    if (first > 0)
        x += s_puts(y, x, room - x, "\xe2\x80\xa6", A_DIM);
    for (size_t i = first; i < nq && x < room - 1; i++) {
        bool ans = t->have && juror_tui_answered(t->m, i);
        bool req = juror_tui_question_required(t->m, i);
        char title[S_TITLE_COLS * 4 + 1];
        const char *full = juror_tui_question_title(t->m, i);
        juror_tui_lines_t one = {0};
        if (juror_tui_line(&one, full, S_TITLE_COLS, JUROR_TUI_BODY) == JURY_OK && one.n == 1)
            snprintf(title, sizeof title, "%s", one.v[0].text);
        else
            snprintf(title, sizeof title, "?");
        juror_tui_lines_free(&one);
        snprintf(seg, sizeof seg, " %zu %s%s ", i + 1, title,
                 ans   ? " \xe2\x9c\x93"
                 : req ? " *"
                       : "");
        x += 1;
        x += s_puts(y, x, room - x, seg, i == t->focus ? A_REVERSE | A_BOLD : A_NORMAL);
    }
    if (posw > 0)
        s_puts(y, COLS - posw, posw, pos, A_DIM);
}

static void s_draw_small(void)
{
    char msg[160];
    snprintf(msg, sizeof msg,
             "juror tui needs at least %dx%d; this terminal is %dx%d. Make it larger, or press "
             "q to quit.",
             S_MIN_COLS, S_MIN_LINES, COLS, LINES);
    juror_tui_lines_t ls = {0};
    if (juror_tui_wrap(&ls, NULL, msg, COLS > 2 ? COLS - 1 : 1, 0, JUROR_TUI_BODY) == JURY_OK) {
        int y0 = LINES > (int)ls.n ? (LINES - (int)ls.n) / 2 : 0;
        for (size_t i = 0; i < ls.n && y0 + (int)i < LINES; i++)
            s_puts(y0 + (int)i, 0, COLS, ls.v[i].text, A_BOLD);
    }
    juror_tui_lines_free(&ls);
}

static bool s_small(void)
{
    return COLS < S_MIN_COLS || LINES < S_MIN_LINES;
}

/* Lays out what the pane shows. */
static void s_pane_lines(const s_tui *t, int width, juror_tui_lines_t *out)
{
    jury_err rc = JURY_OK;
    switch (t->pane) {
    case S_PANE_GUIDELINES:
        rc = juror_tui_line(out, "(g or Esc: back to the record)", width, JUROR_TUI_DIM);
        if (rc == JURY_OK)
            rc = juror_tui_layout_guidelines(t->m, width, out);
        break;
    case S_PANE_HELP: {
        const char *const *help = t->review ? s_review_help : s_help;
        size_t nhelp = t->review ? sizeof s_review_help / sizeof *s_review_help
                                 : sizeof s_help / sizeof *s_help;
        rc = juror_tui_line(out, "(? or Esc: back to the record)", width, JUROR_TUI_DIM);
        for (size_t i = 0; i < nhelp && rc == JURY_OK; i++)
            rc = juror_tui_wrap(out, NULL, help[i], width, 0,
                                i == 0 || (help[i][0] != ' ' && help[i][0] != '\0')
                                    ? JUROR_TUI_TITLE
                                    : JUROR_TUI_BODY);
        break;
    }
    case S_PANE_RECORD:
        if (t->have && t->review) {
            /* What the reviewer weighs first, then the record itself. */
            rc = juror_tui_layout_review(t->m, width, out);
            if (rc == JURY_OK)
                rc = juror_tui_line(out, "", width, JUROR_TUI_BODY);
            if (rc == JURY_OK)
                rc = juror_tui_layout_record(t->m, width, out);
        } else if (t->have)
            rc = juror_tui_layout_record(t->m, width, out);
        else if (t->dead)
            rc = juror_tui_wrap(out, NULL, "The session has ended (see below). Press q to quit.",
                                width, 1, JUROR_TUI_DIM);
        else if (t->review)
            rc = juror_tui_wrap(out, NULL,
                                "No record waits for review right now. Asking again every few "
                                "seconds. Press q to quit.",
                                width, 1, JUROR_TUI_DIM);
        else
            rc = juror_tui_wrap(out, NULL,
                                "No record to annotate right now. Waiting for records; asking "
                                "again every few seconds. Press q to quit.",
                                width, 1, JUROR_TUI_DIM);
        break;
    }
    (void)rc; /* out of memory: whatever was laid out shows */
}

/* Whether the inline editor has the status row. */
static bool s_editing(const s_tui *t)
{
    return t->mode == S_MODE_EDIT_TEXT || t->mode == S_MODE_EDIT_SPAN ||
           t->mode == S_MODE_EDIT_NOTE;
}

/* What the status rows say: a question when one is asked, else the last news. */
static const char *s_status_text(const s_tui *t)
{
    if (t->mode == S_MODE_CONFIRM_DISCARD)
        return "Discard this record? You will not see it again. (y: discard, any other key: no)";
    if (t->mode == S_MODE_CONFIRM_QUIT && t->review)
        return "Quit? Your decision on this record is not sent. (y: quit, any other key: no)";
    if (t->mode == S_MODE_CONFIRM_QUIT)
        return "Quit? Your answers to this record are not saved (d saves a draft). (y: quit, any "
               "other key: no)";
    return t->status;
}

static const char *s_keys_hint(const s_tui *t)
{
    switch (t->mode) {
    case S_MODE_EDIT_NOTE:
        return " Enter reject  Esc cancel  Left/Right Home End  ^U clear  ^W delete word";
    case S_MODE_EDIT_TEXT:
    case S_MODE_EDIT_SPAN:
        return " Enter keep  Esc cancel  Left/Right Home End  ^U clear  ^W delete word";
    case S_MODE_CONFIRM_DISCARD:
    case S_MODE_CONFIRM_QUIT:
        return " y yes  any other key: no";
    default:
        break;
    }
    if (!t->have)
        return " g guidelines  ? help  q quit";
    if (t->review)
        return " s accept  x reject  n next  1-9 copy a response  Tab/j/k question  PgDn scroll  "
               "? help  q quit";
    return " s submit  d draft  x discard  n skip  Tab/j/k question  PgDn scroll  g guide  "
           "? help  q quit";
}

static void s_draw(s_tui *t)
{
    erase();
    if (s_small()) {
        curs_set(0);
        s_draw_small();
        refresh();
        return;
    }
    int W = COLS, H = LINES;
    juror_tui_lines_t ql = {0}, pl = {0};
    jury_err lrc = t->have ? juror_tui_layout_question(t->m, t->focus, W - 1, &ql) : JURY_OK;
    (void)lrc; /* out of memory: what was laid out shows */
    /* The status wraps over up to S_STATUS_ROWS rows: a refusal's reason must be readable. */
    juror_tui_lines_t sl = {0};
    const char *stext = s_status_text(t);
    jury_err src = JURY_OK;
    if (s_editing(t) || stext[0] == '\0')
        src = juror_tui_line(&sl, "", W - 1, JUROR_TUI_BODY);
    else
        src = juror_tui_wrap(&sl, NULL, stext, W - 1, 0,
                             t->mode != S_MODE_NORMAL ? JUROR_TUI_CHOSEN
                             : t->status_error        ? JUROR_TUI_ERROR
                                                      : JUROR_TUI_BODY);
    (void)src; /* out of memory: what was laid out shows */
    int srows = sl.n < 1 ? 1 : sl.n > S_STATUS_ROWS ? S_STATUS_ROWS : (int)sl.n;
    int avail = H - 3 - srows; /* header, questions line, status, keys */
    int qmax = avail - (avail / 3 > 4 ? avail / 3 : 4);
    int qrows = (int)ql.n < qmax ? (int)ql.n : qmax;
    int prows = avail - qrows;
    t->pane_rows = prows;

    s_draw_header(t);

    s_pane_lines(t, W - 1, &pl);
    int maxscroll = (int)pl.n - prows;
    if (t->scroll > maxscroll)
        t->scroll = maxscroll;
    if (t->scroll < 0)
        t->scroll = 0;
    for (int r = 0; r < prows && (size_t)(t->scroll + r) < pl.n; r++)
        s_put_line(t, 1 + r, &pl.v[t->scroll + r], false);

    s_draw_questions_line(t, 1 + prows, prows, (int)pl.n);

    /* The question: a window that keeps the widget's cursor in view. */
    int qfirst = 0;
    for (size_t i = 0; i < ql.n; i++)
        if (ql.v[i].cursor) {
            if ((int)i >= qrows)
                qfirst = (int)i - qrows / 2;
            break;
        }
    if (qfirst > (int)ql.n - qrows)
        qfirst = (int)ql.n - qrows;
    if (qfirst < 0)
        qfirst = 0;
    for (int r = 0; r < qrows; r++) {
        const juror_tui_line_t *l = &ql.v[qfirst + r];
        bool last_hidden = r == qrows - 1 && (size_t)(qfirst + qrows) < ql.n;
        if (last_hidden) {
            char more[80];
            snprintf(more, sizeof more, "  \xe2\x86\x93 %zu more lines",
                     ql.n - (size_t)(qfirst + qrows) + 1);
            s_puts(2 + prows + r, 0, W, more, A_DIM);
        } else {
            s_put_line(t, 2 + prows + r, l, l->cursor && t->mode == S_MODE_NORMAL);
        }
    }

    /* Status, or the inline editor. */
    int sy = H - 1 - srows;
    curs_set(0);
    if (s_editing(t)) {
        const char *prompt = t->mode == S_MODE_EDIT_TEXT   ? "edit: "
                             : t->mode == S_MODE_EDIT_SPAN ? "span (START END LABEL): "
                                                           : "reject; note (optional): ";
        int px = s_puts(sy, 0, W, prompt, A_BOLD);
        int fw = W - px - 1;
        t->edit_first = juror_tui_edit_first(&t->edit, t->edit_first, fw);
        wchar_t buf[1024];
        int k = 0, cols = 0, curx = px;
        attron(A_UNDERLINE);
        mvhline(sy, px, ' ', W - px);
        for (size_t i = t->edit_first; i < t->edit.len && k < 1023; i++) {
            uint32_t cp = t->edit.cp[i] == '\n' ? 0x23ce : t->edit.cp[i]; /* ⏎ */
            int w = juror_tui_cp_width(cp);
            if (cols + w > fw)
                break;
            if (i == t->edit.cursor)
                curx = px + cols;
            buf[k++] = (wchar_t)cp;
            cols += w;
        }
        if (t->edit.cursor >= t->edit.len || t->edit.cursor < t->edit_first)
            curx = px + cols;
        if (k > 0)
            mvaddnwstr(sy, px, buf, k);
        attroff(A_UNDERLINE);
        s_puts(H - 1, 0, W, s_keys_hint(t), A_DIM);
        move(sy, curx);
        curs_set(1);
    } else {
        for (int r = 0; r < srows && (size_t)r < sl.n; r++) {
            juror_tui_line_t l = sl.v[r];
            char *cut = NULL;
            /* The last row says when there was more. */
            if (r == srows - 1 && sl.n > (size_t)srows) {
                size_t n = strlen(l.text);
                if ((cut = malloc(n + 4)) != NULL) {
                    snprintf(cut, n + 4, "%s\xe2\x80\xa6", l.text);
                    l.text = cut;
                }
            }
            s_put_line(t, sy + r, &l, false);
            free(cut);
        }
        s_puts(H - 1, 0, W, s_keys_hint(t), A_DIM);
    }
    juror_tui_lines_free(&sl);
    juror_tui_lines_free(&ql);
    juror_tui_lines_free(&pl);
    refresh();
}

/* ---------------------------------------------------------------------------------------------
 * The session.
 */

/* Waits up to max_ms for the coordinator (or nothing) and does what libjuror has due. */
static void s_keepalive(s_tui *t, int max_ms)
{
    int to = juror_timeout_ms(t->j);
    if (to > max_ms)
        to = max_ms;
    struct pollfd pf = {.fd = juror_fd(t->j), .events = POLLIN};
    if (pf.fd >= 0)
        (void)poll(&pf, 1, to);
    else if (to > 0)
        (void)poll(NULL, 0, to);
    /* EIO while reconnecting: the header says so; a dead session shows after the editor. */
    jury_err trc = juror_tick(t->j);
    (void)trc;
}

static bool s_push_str(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **p = realloc(*v, ncap * sizeof *p);
        if (p == NULL)
            return false;
        *v = p;
        *cap = ncap;
    }
    (*v)[(*n)++] = s;
    return true;
}

static bool s_was_skipped(const s_tui *t, const char *id)
{
    for (size_t i = 0; i < t->nskipped; i++)
        if (strcmp(t->skipped[i], id) == 0)
            return true;
    return false;
}

static void s_forget_skipped(s_tui *t)
{
    for (size_t i = 0; i < t->nskipped; i++)
        free(t->skipped[i]);
    t->nskipped = 0;
}

/*
 * Asks for records (to review, with --review). Records this annotator skipped come
 * back when nothing else is left; until then they are released again at once
 * (fetching more than the batch leaves room for them). Returns the fetch's outcome;
 * on JURY_OK the queue may still be empty.
 */
static jury_err s_fetch(s_tui *t)
{
    size_t want = t->batch + t->nskipped;
    uint32_t n = want > 100 ? 100 : (uint32_t)want;
    char *json = NULL;
    size_t count = 0;
    t->next_fetch = s_mono_ms() + S_REFETCH_MS;
    jury_err rc = t->review ? juror_review_fetch(t->j, n, &json, &count)
                            : juror_fetch(t->j, n, &json, &count);
    if (rc != JURY_OK) {
        s_say(t, true, "cannot fetch records%s: %s", t->review ? " to review" : "",
              *juror_error(t->j) ? juror_error(t->j) : jury_strerror(rc));
        return rc;
    }
    cJSON *arr = cJSON_Parse(json);
    free(json);
    const char *again[100];
    size_t nagain = 0;
    char **held = NULL;
    size_t nheld = 0, heldcap = 0;
    for (const cJSON *r = cJSON_IsArray(arr) ? arr->child : NULL; r != NULL; r = r->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        char *text;
        if (!cJSON_IsString(id) || (text = cJSON_PrintUnformatted(r)) == NULL)
            continue;
        if (s_was_skipped(t, id->valuestring)) {
            if (nagain < 100)
                again[nagain++] = id->valuestring;
            if (!s_push_str(&held, &nheld, &heldcap, text))
                free(text);
            continue;
        }
        if (s_push_str(&t->queue, &t->qlen, &t->qcap, text))
            t->leased++;
        else
            free(text);
    }
    if (t->qlen == 0 && nheld > 0) {
        /* Only skipped records are left: show them after all. */
        for (size_t i = 0; i < nheld; i++) {
            if (s_push_str(&t->queue, &t->qlen, &t->qcap, held[i]))
                t->leased++;
            else
                free(held[i]);
        }
        nheld = 0;
        s_forget_skipped(t);
        s_say(t, false, "only records you skipped are left; here they are again");
    } else if (nagain > 0) {
        /* Failing means not leased any more, or the coordinator is away: the lease ends anyway. */
        jury_err rrc = juror_release(t->j, again, nagain);
        (void)rrc;
    }
    for (size_t i = 0; i < nheld; i++)
        free(held[i]);
    free(held);
    cJSON_Delete(arr);
    if (t->qlen == 0)
        s_say(t, false, "%s right now; asking again every few seconds",
              t->review ? "nothing waits for review" : "nothing to annotate");
    return JURY_OK;
}

/* Puts the next record on screen, fetching when the queue is empty. */
static void s_next(s_tui *t)
{
    while (!t->have) {
        if (t->qlen == 0 && (s_fetch(t) != JURY_OK || t->qlen == 0))
            return;
        char *rec = t->queue[0];
        memmove(t->queue, t->queue + 1, (t->qlen - 1) * sizeof *t->queue);
        t->qlen--;
        jury_err rc =
            t->review ? juror_tui_model_load_review(t->m, rec) : juror_tui_model_load(t->m, rec);
        free(rec);
        if (rc != JURY_OK) {
            s_say(t, true, "a record could not be read (%s); it was skipped", jury_strerror(rc));
            continue;
        }
        t->have = true;
        t->focus = 0;
        t->scroll = 0;
        if (t->pane == S_PANE_HELP)
            t->pane = S_PANE_RECORD;
        if (juror_tui_from_draft(t->m))
            s_say(t, false, "restored your draft of %.500s", juror_tui_record_id(t->m));
    }
}

/* The record on screen is done with (answered, skipped or gone). */
static void s_advance(s_tui *t)
{
    t->have = false;
    t->mode = S_MODE_NORMAL;
    t->next_fetch = 0;
    s_next(t);
}

/* Sends the answers as a response of the given status and acts on the outcome. */
static void s_send(s_tui *t, juror_status status)
{
    char why[1024], id[512];
    size_t bad = (size_t)-1;
    if (!t->have)
        return;
    snprintf(id, sizeof id, "%s", juror_tui_record_id(t->m));
    if (status != JUROR_DISCARDED &&
        juror_tui_check(t->m, status == JUROR_SUBMITTED, &bad, why, sizeof why) != JURY_OK) {
        s_say(t, true, "%s: %s",
              status == JUROR_SUBMITTED ? "cannot submit" : "cannot save the draft", why);
        if (bad != (size_t)-1)
            t->focus = bad;
        return;
    }
    char *values = NULL;
    if (status != JUROR_DISCARDED && (values = juror_tui_values_json(t->m)) == NULL) {
        s_say(t, true, "out of memory");
        return;
    }
    s_say(t, false, "sending %s\xe2\x80\xa6", juror_status_name(status));
    s_draw(t);
    int64_t lease = 0;
    jury_err rc = juror_submit(t->j, id, status, values, &lease);
    free(values);
    const char *reason = *juror_error(t->j) ? juror_error(t->j) : jury_strerror(rc);
    switch (rc) {
    case JURY_OK:
        if (status == JUROR_DRAFT) {
            char when[32] = "?";
            juror_tui_mark_saved(t->m);
            if (lease > 0) {
                juror_tui_set_lease_expires(t->m, lease);
                time_t secs = (time_t)(lease / 1000);
                struct tm tm;
                if (localtime_r(&secs, &tm))
                    strftime(when, sizeof when, "%H:%M:%S", &tm);
            }
            s_say(t, false, "draft of %s saved; the lease now runs until %s", id, when);
            return;
        }
        if (status == JUROR_SUBMITTED)
            t->answered++;
        else
            t->discarded++;
        s_say(t, false, "%s %s", status == JUROR_SUBMITTED ? "submitted" : "discarded", id);
        s_advance(t);
        return;
    case JURY_EINVAL: {
        size_t q = juror_tui_question_of_reason(t->m, reason);
        if (q != (size_t)-1)
            t->focus = q;
        s_say(t, true, "refused: %s", reason);
        return;
    }
    case JURY_ENOTLEASED:
    case JURY_ENOTFOUND:
    case JURY_EEXIST:
        s_say(t, true, "%s: %s; on to the next record", id, reason);
        s_advance(t);
        return;
    case JURY_EIO:
        if (status == JUROR_DRAFT) {
            s_say(t, true, "%s", reason);
            return;
        }
        /* libjuror keeps the response and sends it again; the header counts it. */
        s_say(t, true, "%s", reason);
        s_advance(t);
        return;
    default:
        s_say(t, true, "%s: %s", jury_strerror(rc), reason);
        return;
    }
}

/*
 * Review: sends the decision on the record on screen, accepting it with the answers shown or
 * rejecting it with note (NULL or "": none), and acts on the outcome.
 */
static void s_decide(s_tui *t, bool accept, const char *note)
{
    char why[1024], id[512];
    size_t bad = (size_t)-1;
    if (!t->have)
        return;
    snprintf(id, sizeof id, "%s", juror_tui_record_id(t->m));
    if (accept && juror_tui_check(t->m, true, &bad, why, sizeof why) != JURY_OK) {
        s_say(t, true, "cannot accept: %s", why);
        if (bad != (size_t)-1)
            t->focus = bad;
        return;
    }
    /* A rejection has no answers: libjuror sends none. */
    char *values = NULL;
    if (accept && (values = juror_tui_values_json(t->m)) == NULL) {
        s_say(t, true, "out of memory");
        return;
    }
    s_say(t, false, "sending the %s\xe2\x80\xa6", accept ? "acceptance" : "rejection");
    s_draw(t);
    jury_err rc = juror_review_submit(t->j, id, accept, values, note);
    free(values);
    const char *reason = *juror_error(t->j) ? juror_error(t->j) : jury_strerror(rc);
    switch (rc) {
    case JURY_OK:
        if (accept)
            t->accepted++;
        else
            t->rejected++;
        s_say(t, false, "%s %s", accept ? "accepted" : "rejected", id);
        s_advance(t);
        /* The last one: say what became of it rather than only that nothing is left. */
        if (!t->have && !t->status_error)
            s_say(t, false, "%s %s; nothing else waits for review right now",
                  accept ? "accepted" : "rejected", id);
        return;
    case JURY_EINVAL: {
        size_t q = juror_tui_question_of_reason(t->m, reason);
        if (q != (size_t)-1)
            t->focus = q;
        s_say(t, true, "refused: %s", reason);
        return;
    }
    case JURY_ENOTLEASED:
    case JURY_ENOTFOUND:
    case JURY_EEXIST:
        s_say(t, true, "%s: %s; on to the next record", id, reason);
        s_advance(t);
        return;
    case JURY_EIO:
        /* Nothing is kept: the same decision again is safe (SPEC 9.7). */
        s_say(t, true, "%s (press %s again to send the same decision)", reason, accept ? "s" : "x");
        return;
    default:
        s_say(t, true, "%s: %s", jury_strerror(rc), reason);
        return;
    }
}

static void s_skip(s_tui *t)
{
    if (!t->have)
        return;
    const char *id = juror_tui_record_id(t->m);
    char *copy = strdup(id);
    jury_err rc = juror_release(t->j, &id, 1);
    if (rc == JURY_OK || rc == JURY_ENOTLEASED)
        s_say(t, false, "skipped %s", id);
    else
        s_say(t, true, "skipping %s: %s", id, juror_error(t->j));
    if (copy != NULL && !s_push_str(&t->skipped, &t->nskipped, &t->skipcap, copy))
        free(copy);
    t->skips++;
    s_advance(t);
}

/* Reads a whole file into a NUL-terminated buffer (NULL on failure). */
static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            char *p = cap > (size_t)16 << 20 ? NULL : realloc(buf, cap * 2);
            if (p == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}

static void s_strip_newlines(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* `e`: the text answer in $VISUAL / $EDITOR, keeping the session alive while it runs. */
static void s_edit_external(s_tui *t)
{
    const char *editor = getenv("VISUAL");
    if (editor == NULL || *editor == '\0')
        editor = getenv("EDITOR");
    if (editor == NULL || *editor == '\0')
        editor = "vi";
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/juror-tui-XXXXXX.md", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 3);
    if (fd < 0) {
        s_say(t, true, "cannot create a file for the editor: %s", strerror(errno));
        return;
    }
    const char *text = juror_tui_text(t->m, t->focus);
    char *before = strdup(text ? text : "");
    FILE *f = fdopen(fd, "wb");
    bool ok = f != NULL && before != NULL;
    if (ok && before[0] != '\0')
        ok = fputs(before, f) >= 0 && fputc('\n', f) != EOF;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    else
        close(fd);
    if (!ok) {
        s_say(t, true, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        free(before);
        return;
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s \"$1\"", editor);

    def_prog_mode();
    endwin();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid > 0) {
        /* Ctrl-C belongs to the editor now; the session keeps beating meanwhile. */
        struct sigaction ign = {.sa_handler = SIG_IGN}, oint, oquit;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGINT, &ign, &oint);
        sigaction(SIGQUIT, &ign, &oquit);
        for (;;) {
            pid_t r = waitpid(pid, &st, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR))
                break;
            s_keepalive(t, 100);
        }
        sigaction(SIGINT, &oint, NULL);
        sigaction(SIGQUIT, &oquit, NULL);
    }
    reset_prog_mode();
    clearok(curscr, TRUE);
    refresh();

    if (pid < 0) {
        s_say(t, true, "cannot start the editor: %s", strerror(errno));
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        s_say(t, true, "the editor (%s) %s %d; the answer is unchanged", editor,
              WIFEXITED(st) ? "exited with status" : "was killed by signal",
              WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    } else {
        char *after = s_slurp(path);
        if (after == NULL) {
            s_say(t, true, "cannot read %s back: %s", path, strerror(errno));
        } else {
            s_strip_newlines(after);
            s_strip_newlines(before);
            if (strcmp(after, before) == 0)
                s_say(t, false, "the text is unchanged");
            else if (juror_tui_set_text(t->m, t->focus, after) != JURY_OK)
                s_say(t, true, "the edited text is not valid UTF-8; the answer is unchanged");
            else
                s_say(t, false, after[0] ? "text updated" : "the answer is now empty");
            free(after);
        }
    }
    unlink(path);
    free(before);
}

/* ---------------------------------------------------------------------------------------------
 * Keys.
 */

enum {
    S_CTRL_A = 1,
    S_CTRL_B = 2,
    S_CTRL_D = 4,
    S_CTRL_E = 5,
    S_CTRL_F = 6,
    S_CTRL_H = 8,
    S_CTRL_K = 11,
    S_CTRL_L = 12,
    S_CTRL_U = 21,
    S_CTRL_W = 23,
    S_ESC = 27,
    S_DEL = 127
};

static void s_key_edit(s_tui *t, wint_t ch, bool fkey)
{
    juror_tui_edit_t *e = &t->edit;
    if (fkey) {
        switch (ch) {
        case KEY_LEFT:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_LEFT);
            return;
        case KEY_RIGHT:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_RIGHT);
            return;
        case KEY_HOME:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_HOME);
            return;
        case KEY_END:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_END);
            return;
        case KEY_BACKSPACE:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_BACKSPACE);
            return;
        case KEY_DC:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_DELETE);
            return;
        case KEY_ENTER:
            break; /* keep, below */
        default:
            return;
        }
    } else {
        switch (ch) {
        case S_ESC:
            s_say(t, false, t->mode == S_MODE_EDIT_NOTE ? "not rejected" : "edit cancelled");
            t->mode = S_MODE_NORMAL;
            return;
        case S_DEL:
        case S_CTRL_H:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_BACKSPACE);
            return;
        case S_CTRL_U:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_CLEAR);
            return;
        case S_CTRL_K:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_KILL_END);
            return;
        case S_CTRL_A:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_HOME);
            return;
        case S_CTRL_E:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_END);
            return;
        case S_CTRL_B:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_LEFT);
            return;
        case S_CTRL_F:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_RIGHT);
            return;
        case S_CTRL_D:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_DELETE);
            return;
        case S_CTRL_W:
            juror_tui_edit_apply(e, JUROR_TUI_EDIT_WORD_BACK);
            return;
        case '\n':
        case '\r':
            break; /* keep, below */
        default:
            (void)juror_tui_edit_insert(e, (uint32_t)ch);
            return;
        }
    }
    /* Enter: keep. */
    char *text = juror_tui_edit_text(e);
    s_mode was = t->mode;
    t->mode = S_MODE_NORMAL;
    if (text == NULL) {
        s_say(t, true, "out of memory");
        return;
    }
    if (was == S_MODE_EDIT_NOTE) {
        s_decide(t, false, text);
    } else if (was == S_MODE_EDIT_TEXT) {
        if (juror_tui_set_text(t->m, t->focus, text) != JURY_OK)
            s_say(t, true, "the text could not be kept");
        else
            s_say(t, false, text[0] ? "text updated" : "the answer is now empty");
    } else {
        char why[512];
        jury_err rc = juror_tui_span_add(t->m, t->focus, text, why, sizeof why);
        if (rc == JURY_OK)
            s_say(t, false, "span added");
        else
            s_say(t, true, "span not added: %s (a tries again)", why);
    }
    free(text);
}

static void s_begin_edit(s_tui *t, s_mode mode, const char *text)
{
    if (juror_tui_edit_set(&t->edit, text) != JURY_OK) {
        s_say(t, true, "out of memory");
        return;
    }
    t->edit_first = 0;
    t->mode = mode;
}

static void s_quit(s_tui *t)
{
    if (t->have && juror_tui_dirty(t->m) && !t->dead) {
        t->mode = S_MODE_CONFIRM_QUIT;
        return;
    }
    t->quit = true;
}

static void s_scroll(s_tui *t, int delta)
{
    t->scroll += delta; /* s_draw clamps it */
    if (t->scroll < 0)
        t->scroll = 0;
}

/*
 * The keys review mode gives another meaning: s accepts, x asks for a rejection's note, a digit
 * copies a response, d does nothing (a review has no drafts). Returns whether ch was one.
 */
static bool s_key_review(s_tui *t, wint_t ch)
{
    switch (ch) {
    case 's':
        s_decide(t, true, NULL);
        return true;
    case 'x':
        s_begin_edit(t, S_MODE_EDIT_NOTE, "");
        return true;
    case 'd':
        s_say(t, true, "a review has no drafts: s accepts, x rejects, n gives the record back");
        return true;
    default:
        break;
    }
    if (ch < '0' || ch > '9')
        return false;
    size_t k = (size_t)(ch - '0'), n = juror_tui_review_responses(t->m);
    const char *who = juror_tui_review_annotator(t->m, k);
    if (juror_tui_review_copy(t->m, k))
        s_say(t, false, "copied response %zu (%s) into your answers", k, who);
    else if (k >= 1 && k <= n)
        s_say(t, true, "response %zu (%s) has no answers to copy", k, who);
    else
        s_say(t, true, "there is no response %zu (%zu responses)", k, n);
    return true;
}

static void s_key_normal(s_tui *t, wint_t ch, bool fkey)
{
    size_t nq = juror_tui_question_count(t->m);
    size_t q = t->focus;
    juror_tui_qtype type = juror_tui_question_type(t->m, q);
    int page = t->pane_rows > 2 ? t->pane_rows - 1 : 1;
    if (fkey) {
        switch (ch) {
        case KEY_BTAB:
            if (t->focus > 0)
                t->focus--;
            return;
        case KEY_NPAGE:
            s_scroll(t, page);
            return;
        case KEY_PPAGE:
            s_scroll(t, -page);
            return;
        case KEY_HOME:
            t->scroll = 0;
            return;
        case KEY_END:
            t->scroll = 1 << 20;
            return;
        case KEY_RESIZE:
            return;
        default:
            break;
        }
    } else {
        switch (ch) {
        case 'q':
            s_quit(t);
            return;
        case 'g':
            t->pane = t->pane == S_PANE_GUIDELINES ? S_PANE_RECORD : S_PANE_GUIDELINES;
            t->scroll = 0;
            return;
        case '?':
            t->pane = t->pane == S_PANE_HELP ? S_PANE_RECORD : S_PANE_HELP;
            t->scroll = 0;
            return;
        case S_ESC:
            if (t->pane != S_PANE_RECORD) {
                t->pane = S_PANE_RECORD;
                t->scroll = 0;
            }
            return;
        case S_CTRL_L:
            clearok(curscr, TRUE);
            return;
        default:
            break;
        }
    }
    if (!t->have)
        return;
    if (fkey) {
        switch (ch) {
        case KEY_UP:
        case KEY_DOWN:
            if (type == JUROR_TUI_LABEL || type == JUROR_TUI_MULTI_LABEL ||
                type == JUROR_TUI_RANKING)
                juror_tui_move(t->m, q, ch == KEY_UP ? -1 : 1);
            else
                s_scroll(t, ch == KEY_UP ? -1 : 1);
            return;
        case KEY_LEFT:
        case KEY_RIGHT:
            juror_tui_move(t->m, q, ch == KEY_LEFT ? -1 : 1);
            return;
        case KEY_ENTER:
            juror_tui_activate(t->m, q);
            return;
        case KEY_DC:
        case KEY_BACKSPACE:
            juror_tui_clear(t->m, q);
            return;
        default:
            return;
        }
    }
    if (t->review && s_key_review(t, ch))
        return;
    switch (ch) {
    case '\t':
    case 'j':
        if (t->focus + 1 < nq)
            t->focus++;
        return;
    case 'k':
        if (t->focus > 0)
            t->focus--;
        return;
    case 's':
        s_send(t, JUROR_SUBMITTED);
        return;
    case 'd':
        s_send(t, JUROR_DRAFT);
        return;
    case 'x':
        t->mode = S_MODE_CONFIRM_DISCARD;
        return;
    case 'n':
        s_skip(t);
        return;
    case ' ':
    case '\n':
    case '\r':
        juror_tui_activate(t->m, q);
        return;
    case S_DEL:
    case S_CTRL_H:
        juror_tui_clear(t->m, q);
        return;
    case 'r':
        juror_tui_reset(t->m, q);
        return;
    case 'e':
        if (type == JUROR_TUI_TEXT)
            s_edit_external(t);
        return;
    case 'i':
        if (type == JUROR_TUI_TEXT)
            s_begin_edit(t, S_MODE_EDIT_TEXT, juror_tui_text(t->m, q));
        return;
    case 'K':
    case 'J':
        juror_tui_rank_shift(t->m, q, ch == 'K' ? -1 : 1);
        return;
    case 't':
        if (type == JUROR_TUI_RANKING && !juror_tui_rank_tie(t->m, q))
            s_say(t, true, "this question does not allow ties, or the first item has none above");
        return;
    case 'a':
        if (type == JUROR_TUI_SPAN)
            s_begin_edit(t, S_MODE_EDIT_SPAN, "");
        return;
    case 'D':
        if (type == JUROR_TUI_SPAN)
            juror_tui_span_pop(t->m, q);
        return;
    default:
        if (ch >= '0' && ch <= '9')
            juror_tui_digit(t->m, q, (int)(ch - '0'));
        return;
    }
}

/* Whether a key works on the focused question's answer. */
static bool s_widget_key(wint_t ch, bool fkey)
{
    if (fkey)
        return ch == KEY_LEFT || ch == KEY_RIGHT || ch == KEY_UP || ch == KEY_DOWN ||
               ch == KEY_ENTER || ch == KEY_DC || ch == KEY_BACKSPACE;
    return (ch >= '0' && ch <= '9') || ch == ' ' || ch == '\n' || ch == '\r' || ch == S_DEL ||
           ch == S_CTRL_H || ch == 'r' || ch == 'K' || ch == 'J' || ch == 't' || ch == 'D';
}

static void s_key(s_tui *t, wint_t ch, bool fkey)
{
    if (s_small()) {
        if (!fkey && ch == 'q')
            t->quit = true; /* nothing to confirm on a screen that shows nothing */
        return;
    }
    switch (t->mode) {
    case S_MODE_EDIT_TEXT:
    case S_MODE_EDIT_SPAN:
    case S_MODE_EDIT_NOTE:
        s_key_edit(t, ch, fkey);
        return;
    case S_MODE_CONFIRM_DISCARD:
        t->mode = S_MODE_NORMAL;
        if (!fkey && (ch == 'y' || ch == 'Y'))
            s_send(t, JUROR_DISCARDED);
        else
            s_say(t, false, "not discarded");
        return;
    case S_MODE_CONFIRM_QUIT:
        t->mode = S_MODE_NORMAL;
        if (!fkey && (ch == 'y' || ch == 'Y'))
            t->quit = true;
        return;
    default:
        /* A refusal stays on screen until the annotator works on an answer. */
        if (t->status_error && s_widget_key(ch, fkey))
            t->status[0] = '\0';
        s_key_normal(t, ch, fkey);
        return;
    }
}

/* ---------------------------------------------------------------------------------------------
 * The command.
 */

static int s_parse_args(int argc, char **argv, uint32_t *batch, bool *review)
{
    *batch = S_BATCH_DEFAULT;
    *review = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(s_usage, stdout);
            return -1;
        }
        if (strcmp(a, "--review") == 0) {
            *review = true;
            continue;
        }
        if (strncmp(a, "--batch=", 8) == 0)
            v = a + 8;
        else if (strcmp(a, "--batch") == 0) {
            if (i + 1 >= argc) {
                juror_cli_error("tui: --batch needs a value");
                return JUROR_EXIT_USAGE;
            }
            v = argv[++i];
        } else {
            juror_cli_error("tui: unknown option '%s' (see juror tui --help)", a);
            return JUROR_EXIT_USAGE;
        }
        char *end;
        long n = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || n < 1 || n > 100) {
            juror_cli_error("tui: --batch: '%s' is not a number within 1..100", v);
            return JUROR_EXIT_USAGE;
        }
        *batch = (uint32_t)n;
    }
    return JUROR_EXIT_OK;
}

int juror_cmd_tui(const juror_cli_t *cli, int argc, char **argv)
{
    s_tui t = {.cli = cli};
    int rc = s_parse_args(argc, argv, &t.batch, &t.review);
    if (rc != JUROR_EXIT_OK)
        return rc < 0 ? JUROR_EXIT_OK : rc;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        juror_cli_error("tui: standard input and output must be a terminal (for scripts, use "
                        "juror pipe)");
        return JUROR_EXIT_USAGE;
    }
    setlocale(LC_ALL, "");

    t.j = juror_cli_connect(cli);
    if (t.j == NULL)
        return JUROR_EXIT_FAILURE;
    char err[512];
    jury_err mrc = juror_tui_model_new(&t.m, juror_settings(t.j), err, sizeof err);
    if (mrc != JURY_OK) {
        juror_cli_error("tui: dataset %s: %s", juror_dataset(t.j), err);
        juror_destroy(&t.j);
        return JUROR_EXIT_FAILURE;
    }
    /* Whether this annotator may review is the coordinator's to say (at every review_fetch):
     * ask once before the screen opens, so that a refusal reads as plain text. */
    if (t.review && s_fetch(&t) == JURY_EPERM) {
        juror_cli_error("tui --review: %s", t.status);
        juror_tui_model_destroy(&t.m);
        juror_destroy(&t.j);
        return JUROR_EXIT_FAILURE;
    }
    if (t.qlen > 0)
        t.next_fetch = 0; /* show the first record at once */

    /* A signal ends the loop like q; poll returns early (no SA_RESTART). */
    s_signal_juror = t.j;
    struct sigaction sa = {.sa_handler = s_on_signal}, oint, oterm, ohup;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oint);
    sigaction(SIGTERM, &sa, &oterm);
    sigaction(SIGHUP, &sa, &ohup);

    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (screen == NULL) {
        sigaction(SIGINT, &oint, NULL);
        sigaction(SIGTERM, &oterm, NULL);
        sigaction(SIGHUP, &ohup, NULL);
        juror_cli_error("tui: cannot start curses on this terminal (TERM=%s)",
                        getenv("TERM") ? getenv("TERM") : "");
        juror_tui_model_destroy(&t.m);
        s_signal_juror = NULL;
        juror_destroy(&t.j);
        return JUROR_EXIT_FAILURE;
    }
    set_escdelay(25);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(S_PAIR_ERROR, COLOR_RED, -1);
        init_pair(S_PAIR_TITLE, COLOR_CYAN, -1);
        t.color = true;
    }
    s_say(&t, false, "g shows the guidelines, ? the keys");

    while (!t.quit && !s_signalled) {
        if (!t.have && !t.dead && !s_small() && t.mode == S_MODE_NORMAL &&
            s_mono_ms() >= t.next_fetch)
            s_next(&t);
        jury_err trc = juror_tick(t.j);
        if (trc != JURY_OK && trc != JURY_EIO && !t.dead) {
            t.dead = true;
            t.have = false;
            s_say(&t, true, "the coordinator ended the session: %s (q quits)",
                  *juror_error(t.j) ? juror_error(t.j) : jury_strerror(trc));
        }
        s_draw(&t);

        int to = t.dead ? 1000 : juror_timeout_ms(t.j);
        if (to > S_TICK_MAX_MS)
            to = S_TICK_MAX_MS;
        struct pollfd pf[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = -1}};
        int nfds = 1;
        if (!t.dead && (pf[1].fd = juror_fd(t.j)) >= 0) {
            pf[1].events = POLLIN;
            nfds = 2;
        }
        int pr = poll(pf, (nfds_t)nfds, to);
        if (pr < 0 && errno != EINTR)
            break;
        if (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL))
            break; /* the terminal went away */
        /* Keys (and KEY_RESIZE after SIGWINCH): read everything that is there. */
        wint_t ch;
        int kr;
        while (!t.quit && (kr = get_wch(&ch)) != ERR)
            s_key(&t, ch, kr == KEY_CODE_YES);
    }

    /* Answers in flight are waited for; bye releases the records still leased. */
    jury_err frc = JURY_OK;
    if (!t.dead) {
        s_say(&t, false, "saving\xe2\x80\xa6");
        s_draw(&t);
        frc = juror_flush(t.j);
    }
    char flush_err[600] = "";
    if (frc != JURY_OK)
        snprintf(flush_err, sizeof flush_err, "%s",
                 *juror_error(t.j) ? juror_error(t.j) : jury_strerror(frc));
    curs_set(1);
    endwin();
    delscreen(screen);
    sigaction(SIGINT, &oint, NULL);
    sigaction(SIGTERM, &oterm, NULL);
    sigaction(SIGHUP, &ohup, NULL);

    if (t.review)
        printf("juror tui: %u accepted, %u rejected, %u skipped this session\n", t.accepted,
               t.rejected, t.skips);
    else
        printf("juror tui: %u submitted, %u discarded, %u skipped this session\n", t.answered,
               t.discarded, t.skips);
    if (frc != JURY_OK)
        juror_cli_error("tui: %s", flush_err);
    s_signal_juror = NULL;
    juror_destroy(&t.j);
    juror_tui_model_destroy(&t.m);
    juror_tui_edit_free(&t.edit);
    for (size_t i = 0; i < t.qlen; i++)
        free(t.queue[i]);
    free(t.queue);
    s_forget_skipped(&t);
    free(t.skipped);
    return frc == JURY_OK ? JUROR_EXIT_OK : JUROR_EXIT_FAILURE;
}
