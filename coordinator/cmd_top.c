/* cmd_top.c: `jury top [NAME]`: a live dashboard of a store while `jury serve` runs on it: the
 * curses loop and the store reading; top_model.c does the figures and the layout. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ncurses.h>

#include "cli.h"
#include "live_agreement.h"
#include "report_quality.h"
#include "serve.h"
#include "settings.h"
#include "top_model.h"

static const char s_usage[] =
    "usage: jury top [NAME] [--once] [--interval-ms MS]\n"
    "\n"
    "A live dashboard of the store (all datasets, or dataset NAME) while `jury serve`\n"
    "runs on it: per dataset a progress bar (completed and set-aside records), the\n"
    "submitted responses a second over the last 10 s, the time to go at that rate\n"
    "(ETA), records and responses by status, active leases and connected sessions,\n"
    "and the live agreement (alpha) of its label and rating questions; per annotator\n"
    "responses a minute (submitted and discarded), the share of discards, agreement\n"
    "with others and submitted responses. Reads snapshots: safe while the\n"
    "coordinator writes. q quits.\n"
    "\n"
    "Agreement with others is computed every 5 s, for datasets of at most 1,000,000\n"
    "responses (`jury status NAME --quality` computes it for any size).\n"
    "\n"
    "options:\n"
    "  --once            print one snapshot as text and exit (two readings MS apart,\n"
    "                    so that rates exist); also when standard output is not a\n"
    "                    terminal\n"
    "  --interval-ms MS  time between readings, 10..600000 (default 1000)\n"
    "  --store DIR       the store directory\n";

/* Every how many ms agreement with others (a walk of every response) is computed again. */
#define S_SLOW_MS 5000
/* Datasets with more responses than this show no agreement with others (as `jury status`). */
#define S_QUALITY_MAX 1000000ULL
/* Datasets with more records than this count the responses still needed every S_SLOW_MS only. */
#define S_WALK_MAX 1000000ULL
/* serve.status older than this means the coordinator is gone (it writes it every second). */
#define S_LIVE_STALE_MS 10000

/* An annotator's agreement with others, from the last quality table. */
typedef struct {
    char *name;               /* owned */
    jury_measure_t agreement; /* agreement_mean */
} s_agree;

/* What is kept between readings for one dataset. */
typedef struct {
    uint32_t id;    /* dataset id */
    bool seen;      /* in the reading being taken (others are dropped after it) */
    int64_t needed; /* submitted responses still needed at the last walk, -1 before one */
    s_agree *agree; /* the last quality table's rows, sorted by name */
    size_t nagree;  /* how many */
} s_cache;

typedef struct {
    jury_cli_t cli;      /* options */
    const char *name;    /* NAME, or NULL for every dataset */
    jury_store_t *store; /* the store, read-only */
    jury_top_t *model;   /* the figures and layout */
    s_cache *cache;      /* per dataset */
    size_t ncache;       /* how many */
    jury_txn_t *txn;     /* the reading's snapshot */
    bool slow;           /* this reading also computes agreement with others */
    int64_t slow_ms;     /* when agreement with others was last computed */
    const cJSON *live;   /* serve.status's "datasets" object, or NULL without a coordinator */
    bool found;          /* NAME was in the reading */
} s_top;

static volatile sig_atomic_t s_signalled;

static void s_on_signal(int sig)
{
    s_signalled = sig;
}

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_agree_free(s_cache *c)
{
    for (size_t i = 0; i < c->nagree; i++)
        free(c->agree[i].name);
    free(c->agree);
    c->agree = NULL;
    c->nagree = 0;
}

/* The cache of dataset id, made when missing; NULL when out of memory. */
static s_cache *s_cache_of(s_top *t, uint32_t id)
{
    for (size_t i = 0; i < t->ncache; i++)
        if (t->cache[i].id == id)
            return &t->cache[i];
    s_cache *v = realloc(t->cache, (t->ncache + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    t->cache = v;
    v[t->ncache] = (s_cache){.id = id, .needed = -1};
    return &v[t->ncache++];
}

/*
 * Reads the live status `jury serve` writes into the store each second: the
 * root object (the caller deletes it) or NULL when no coordinator runs (no
 * file, a dead pid, or a file older than S_LIVE_STALE_MS).
 */
static cJSON *s_read_live(const char *store)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", store, JURY_SERVE_STATUS_FILE);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "pid");
    const cJSON *updated = cJSON_GetObjectItemCaseSensitive(root, "updated_ms");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
    if (!cJSON_IsNumber(pid) || pid->valuedouble < 1 || pid->valuedouble > INT_MAX ||
        !cJSON_IsNumber(updated) || now - updated->valuedouble > S_LIVE_STALE_MS ||
        (kill((pid_t)pid->valuedouble, 0) != 0 && errno != EPERM)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static int s_agree_cmp(const void *a, const void *b)
{
    return strcmp(((const s_agree *)a)->name, ((const s_agree *)b)->name);
}

/*
 * Computes the quality table of dataset ds (report_quality.h) and keeps each annotator's
 * agreement_mean in c, sorted by name.
 */
static jury_err s_quality(s_top *t, const jury_dataset_t *ds, const jury_settings_t *settings,
                          s_cache *c)
{
    jury_report_quality_t *rq = NULL;
    cJSON *rows = NULL;
    jury_err err;
    if ((err = jury_report_quality_new(&rq, settings)) == JURY_OK &&
        (err = jury_report_quality_walk(rq, t->txn, ds->id)) == JURY_OK)
        err = jury_report_quality_build(rq, t->txn, ds->id, &rows);
    jury_report_quality_destroy(&rq);
    if (err != JURY_OK)
        return err;
    s_agree_free(c);
    size_t n = (size_t)cJSON_GetArraySize(rows);
    if (n && (c->agree = calloc(n, sizeof *c->agree)) == NULL) {
        cJSON_Delete(rows);
        return JURY_ENOMEM;
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(row, "annotator");
        const cJSON *mean = cJSON_GetObjectItemCaseSensitive(row, "agreement_mean");
        if (!cJSON_IsString(name) || c->nagree == n)
            continue;
        s_agree *a = &c->agree[c->nagree];
        if ((a->name = strdup(name->valuestring)) == NULL) {
            cJSON_Delete(rows);
            return JURY_ENOMEM;
        }
        a->agreement = cJSON_IsNumber(mean) ? (jury_measure_t){true, mean->valuedouble, NULL}
                                            : (jury_measure_t){false, 0, JURY_NOTE_NO_SHARED};
        c->nagree++;
    }
    cJSON_Delete(rows);
    if (c->nagree)
        qsort(c->agree, c->nagree, sizeof *c->agree, s_agree_cmp);
    return JURY_OK;
}

/* Sums, over the dataset's pending records that are not gold, the submitted responses each still
 * needs. */
static jury_err s_needed_one(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    (void)rid;
    if (st->status == JURY_RECORD_PENDING && !st->gold && st->target > st->submitted)
        *(int64_t *)arg += st->target - st->submitted;
    return JURY_OK;
}

typedef struct {
    s_top *t;         /* the reading */
    const s_cache *c; /* agreement with others */
} s_ann_ctx;

static jury_err s_annotator(uint32_t id, const char *name, const jury_counts_t *c, void *arg)
{
    s_ann_ctx *x = arg;
    jury_top_annotator_t a = {.id = id,
                              .name = name,
                              .submitted = c->responses[JURY_RESPONSE_SUBMITTED],
                              .discarded = c->responses[JURY_RESPONSE_DISCARDED],
                              .draft = c->responses[JURY_RESPONSE_DRAFT]};
    s_agree key = {.name = (char *)name};
    const s_agree *found =
        x->c->nagree ? bsearch(&key, x->c->agree, x->c->nagree, sizeof key, s_agree_cmp) : NULL;
    if (found)
        a.agreement = found->agreement;
    return jury_top_add_annotator(x->t->model, &a);
}

/* Adds dataset ds of the reading to the model: counters, live figures, alphas, annotators. */
static jury_err s_dataset(s_top *t, const jury_dataset_t *ds)
{
    jury_counts_t counts;
    jury_err err = jury_store_dataset_counts(t->txn, ds->id, &counts);
    if (err != JURY_OK)
        return err;
    s_cache *c = s_cache_of(t, ds->id);
    if (c == NULL)
        return JURY_ENOMEM;
    c->seen = true;
    if (t->slow || counts.records <= S_WALK_MAX) {
        int64_t needed = 0;
        if ((err = jury_store_record_each(t->txn, ds->id, 0, s_needed_one, &needed)) != JURY_OK)
            return err;
        c->needed = needed;
    }
    jury_top_dataset_t d = {.id = ds->id,
                            .name = ds->name,
                            .records = counts.records,
                            .completed = counts.completed,
                            .set_aside = counts.discarded,
                            .contested = counts.contested,
                            .submitted = counts.responses[JURY_RESPONSE_SUBMITTED],
                            .discarded = counts.responses[JURY_RESPONSE_DISCARDED],
                            .draft = counts.responses[JURY_RESPONSE_DRAFT],
                            .needed = c->needed,
                            .leases = -1,
                            .connected = -1};
    /* Served: the coordinator has loaded the dataset (it lists it with its leases). */
    const cJSON *live = cJSON_GetObjectItemCaseSensitive(t->live, ds->name);
    const cJSON *leases = cJSON_GetObjectItemCaseSensitive(live, "leases");
    if (cJSON_IsNumber(leases)) {
        d.leases = (int64_t)leases->valuedouble;
        d.connected = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(live, "annotators"));
    }
    if ((err = jury_top_add_dataset(t->model, &d)) != JURY_OK)
        return err;

    jury_settings_t *settings = NULL;
    char why[256];
    /* Settings the store holds were checked when stored; a dataset whose settings no longer parse
     * (a newer jury wrote them) still shows its counters. */
    if (jury_settings_parse(&settings, ds->settings, ds->settings_len, why, sizeof why) ==
        JURY_OK) {
        for (size_t q = 0; q < jury_settings_question_count(settings) && err == JURY_OK; q++) {
            const char *qn = jury_settings_question_name(settings, q);
            const void *blob;
            size_t len;
            jury_live_state_t st;
            if (jury_store_agreement_get(t->txn, ds->id, qn, &blob, &len) != JURY_OK ||
                jury_live_decode(blob, len, &st) != JURY_OK)
                continue;
            err = jury_top_add_alpha(t->model, qn, jury_live_alpha(&st), st.records);
            jury_live_free(&st);
        }
        uint64_t responses = counts.responses[JURY_RESPONSE_SUBMITTED] +
                             counts.responses[JURY_RESPONSE_DISCARDED] +
                             counts.responses[JURY_RESPONSE_DRAFT];
        if (err == JURY_OK && t->slow) {
            if (responses <= S_QUALITY_MAX)
                err = s_quality(t, ds, settings, c);
            else
                s_agree_free(c);
        }
        jury_settings_destroy(&settings);
    }
    s_ann_ctx x = {t, c};
    if (err == JURY_OK)
        err = jury_store_annotator_counts_each(t->txn, ds->id, s_annotator, &x);
    return err;
}

static jury_err s_dataset_each(const jury_dataset_t *ds, void *arg)
{
    return s_dataset(arg, ds);
}

/*
 * Takes one reading of the store into the model; slow: with agreement with others (and the
 * responses still needed of the largest datasets). With NAME, a dataset that is not there is
 * JURY_ENOTFOUND on the first reading (a typo) and an empty reading afterwards (deleted while
 * watched).
 */
static jury_err s_take(s_top *t, bool first, bool slow)
{
    int64_t now = s_mono_ms();
    t->slow = slow;
    if (slow)
        t->slow_ms = now;
    cJSON *root = s_read_live(t->cli.store);
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "pid");
    const cJSON *sessions = cJSON_GetObjectItemCaseSensitive(root, "sessions");
    t->live = cJSON_GetObjectItemCaseSensitive(root, "datasets");
    jury_top_snapshot_t snap = {.now_ms = now,
                                .pid = root ? (long)pid->valuedouble : 0,
                                .sessions =
                                    cJSON_IsNumber(sessions) ? (int64_t)sessions->valuedouble : 0};
    for (size_t i = 0; i < t->ncache; i++)
        t->cache[i].seen = false;
    jury_err err = jury_store_read(t->store, &t->txn);
    if (err == JURY_OK)
        err = jury_top_begin(t->model, &snap);
    if (err == JURY_OK && t->name) {
        jury_dataset_t ds;
        err = jury_store_dataset_get(t->txn, t->name, &ds);
        if (err == JURY_OK)
            err = s_dataset(t, &ds);
        else if (err == JURY_ENOTFOUND && !first)
            err = JURY_OK;
    } else if (err == JURY_OK) {
        err = jury_store_dataset_each(t->txn, s_dataset_each, t);
    }
    jury_txn_abort(&t->txn);
    if (err == JURY_OK)
        err = jury_top_end(t->model);
    cJSON_Delete(root);
    t->live = NULL;
    /* Datasets deleted since: their caches go. */
    for (size_t i = 0; i < t->ncache;) {
        if (t->cache[i].seen) {
            i++;
            continue;
        }
        s_agree_free(&t->cache[i]);
        t->cache[i] = t->cache[--t->ncache];
    }
    return err;
}

/* Prints the model's lines to stdout, not cut. */
static int s_print(s_top *t)
{
    jury_top_lines_t lines = {0};
    if (jury_top_render(t->model, 0, 0, &lines) != JURY_OK) {
        jury_cli_error("top: out of memory");
        return JURY_EXIT_FAILURE;
    }
    for (size_t i = 0; i < lines.n; i++)
        printf("%s\n", lines.v[i].text);
    jury_top_lines_free(&lines);
    return fflush(stdout) == 0 ? JURY_EXIT_OK : JURY_EXIT_FAILURE;
}

/* Draws the model on the curses screen, the last row for the keys. */
static void s_draw(s_top *t, int interval_ms)
{
    int rows = LINES, cols = COLS;
    erase();
    jury_top_lines_t lines = {0};
    if (rows > 1 && jury_top_render(t->model, cols, rows - 1, &lines) == JURY_OK) {
        for (size_t i = 0; i < lines.n; i++) {
            attr_t a = lines.v[i].style == JURY_TOP_TITLE  ? A_BOLD
                       : lines.v[i].style == JURY_TOP_HEAD ? A_UNDERLINE
                                                           : A_NORMAL;
            attron(a);
            mvaddstr((int)i, 0, lines.v[i].text);
            attroff(a);
        }
    }
    jury_top_lines_free(&lines);
    char foot[128];
    snprintf(foot, sizeof foot, "q quits; a reading every %g s", interval_ms / 1000.0);
    attron(A_REVERSE);
    mvaddnstr(rows - 1, 0, foot, cols);
    attroff(A_REVERSE);
    refresh();
}

/* The curses loop: a reading every interval_ms, redrawn on resize, until q or a signal. */
static int s_loop(s_top *t, int interval_ms)
{
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
        jury_cli_error("top: cannot start curses on this terminal (TERM=%s); try --once",
                       getenv("TERM") ? getenv("TERM") : "");
        return JURY_EXIT_FAILURE;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);

    jury_err err = JURY_OK;
    bool quit = false;
    int64_t next = s_mono_ms() + interval_ms;
    s_draw(t, interval_ms);
    while (!quit && !s_signalled) {
        int64_t now = s_mono_ms();
        if (now >= next) {
            if ((err = s_take(t, false, now - t->slow_ms >= S_SLOW_MS)) != JURY_OK)
                break;
            next = now + interval_ms;
            s_draw(t, interval_ms);
        }
        struct pollfd pf = {.fd = STDIN_FILENO, .events = POLLIN};
        int to = (int)(next - s_mono_ms());
        int pr = poll(&pf, 1, to < 0 ? 0 : to);
        if (pr < 0 && errno != EINTR)
            break;
        if (pf.revents & (POLLHUP | POLLERR | POLLNVAL))
            break; /* the terminal went away */
        int ch;
        while ((ch = getch()) != ERR) {
            if (ch == 'q' || ch == 'Q')
                quit = true;
            else if (ch == KEY_RESIZE)
                s_draw(t, interval_ms);
        }
    }
    curs_set(1);
    endwin();
    delscreen(screen);
    sigaction(SIGINT, &oint, NULL);
    sigaction(SIGTERM, &oterm, NULL);
    sigaction(SIGHUP, &ohup, NULL);
    if (err != JURY_OK) {
        jury_cli_error("top: reading %s: %s", t->cli.store, jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}

int jury_cmd_top(const jury_cli_t *cli, int argc, char **argv)
{
    s_top t = {.cli = *cli};
    bool once = false;
    long interval_ms = 1000;
    static const struct option opts[] = {
        {"once", no_argument, NULL, 'o'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            once = true;
            break;
        case 'i': {
            char *end;
            errno = 0;
            interval_ms = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || interval_ms < 10 || interval_ms > 600000) {
                jury_cli_error("top: --interval-ms: '%s' is not a number of milliseconds from 10 "
                               "to 600000",
                               optarg);
                return JURY_EXIT_USAGE;
            }
            break;
        }
        case 's':
            t.cli.store = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return JURY_EXIT_OK;
        default:
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    t.name = optind < argc ? argv[optind] : NULL;
    bool tty = !once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    if (tty)
        setlocale(LC_ALL, "");

    int rc = jury_cli_open_store(&t.cli, false, true, &t.store);
    if (rc != JURY_EXIT_OK)
        return rc;
    jury_err err = jury_top_new(&t.model, 0);
    /* The reading printed is the one that computes agreement with others. */
    if (err == JURY_OK)
        err = s_take(&t, true, tty);
    if (err == JURY_OK && !tty) {
        /* Two readings, so that rates exist. */
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !s_signalled)
            ;
        err = s_take(&t, false, true);
        if (err == JURY_OK)
            rc = s_print(&t);
    } else if (err == JURY_OK) {
        rc = s_loop(&t, (int)interval_ms);
    }
    if (err == JURY_ENOTFOUND && t.name) {
        jury_cli_error("top: no dataset '%s' in %s (see jury dataset list)", t.name, t.cli.store);
        rc = JURY_EXIT_USAGE;
    } else if (err != JURY_OK) {
        jury_cli_error("top: reading %s: %s", t.cli.store, jury_strerror(err));
        rc = JURY_EXIT_FAILURE;
    }
    for (size_t i = 0; i < t.ncache; i++)
        s_agree_free(&t.cache[i]);
    free(t.cache);
    jury_top_destroy(&t.model);
    jury_store_destroy(&t.store);
    return rc;
}
