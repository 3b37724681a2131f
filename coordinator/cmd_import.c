/* cmd_import.c: `jury import NAME FILE.jsonl`: progress on a terminal, problems as FILE:LINE:
 * reason, a rejects file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "import.h"
#include "jury_utf8.h"

/* Problems printed before the rest are only counted. */
#define PRINT_PROBLEMS 20

static const char s_usage[] =
    "usage: jury import NAME FILE.jsonl [--skip-invalid] [--rejects FILE]\n"
    "\n"
    "Loads records into dataset NAME, one JSON object per line in the shape of\n"
    "Argilla's record dict:\n"
    "  {\"id\": \"...\", \"fields\": {...}, \"metadata\": {...},\n"
    "   \"suggestions\": {\"QUESTION\": {\"value\": ..., \"score\": 0.9, \"agent\": \"model\"}},\n"
    "   \"responses\": {\"QUESTION\": [{\"value\": ..., \"user_id\": \"ANNOTATOR\"}]}}\n"
    "Every line is checked against the dataset's settings. A record whose id\n"
    "exists is updated (fields, metadata, suggestions; its responses are kept).\n"
    "FILE may be - for standard input.\n"
    "\n"
    "By default the import is all or nothing: if any line is invalid, nothing\n"
    "is imported and the first 20 problems are printed as FILE:LINE: reason.\n"
    "\n"
    "options:\n"
    "  --skip-invalid    import the valid lines, report the invalid ones\n"
    "  --rejects FILE    write each invalid line to FILE as a JSON line\n"
    "                    {\"line\": N, \"error\": \"...\", \"text\": \"...\"}\n"
    "  --store DIR       the store directory\n";

typedef struct {
    const char *file;   /* input path as given */
    FILE *rejects;      /* --rejects stream or NULL */
    uint64_t printed;   /* problems printed */
    uint64_t problems;  /* problems seen */
    bool tty;           /* stderr is a terminal: draw a progress bar */
    struct timespec t0; /* start */
    double last_draw;   /* seconds since t0 at the last redraw */
} import_ui_t;

static double s_elapsed(const import_ui_t *ui)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - ui->t0.tv_sec) + (double)(t.tv_nsec - ui->t0.tv_nsec) / 1e9;
}

static void s_problem(uint64_t line_no, const char *reason, const char *line, size_t len, void *arg)
{
    import_ui_t *ui = arg;
    ui->problems++;
    if (ui->printed < PRINT_PROBLEMS) {
        if (ui->tty)
            fputs("\r\033[K", stderr); /* clear the progress bar first */
        fprintf(stderr, "%s:%llu: %s\n", ui->file, (unsigned long long)line_no, reason);
        ui->printed++;
    }
    if (ui->rejects) {
        fprintf(ui->rejects, "{\"line\": %llu, \"error\": ", (unsigned long long)line_no);
        jury_cli_json_string(ui->rejects, reason, strlen(reason));
        fputs(", \"text\": ", ui->rejects);
        if (!line) {
            fputs("null", ui->rejects);
        } else {
            /* Keep the text as JSON can carry it: invalid UTF-8 bytes become U+FFFD. */
            size_t off = 0, bad;
            fputc('"', ui->rejects);
            while (off < len) {
                size_t n = len - off;
                if (!jury_utf8_valid(line + off, n, &bad))
                    n = bad;
                jury_cli_json_chars(ui->rejects, line + off, n);
                off += n;
                if (off < len) {
                    fputs("\xef\xbf\xbd", ui->rejects);
                    off++;
                }
            }
            fputc('"', ui->rejects);
        }
        fputs("}\n", ui->rejects);
    }
}

static void s_progress(const jury_import_progress_t *p, void *arg)
{
    import_ui_t *ui = arg;
    if (!ui->tty)
        return;
    double t = s_elapsed(ui);
    if (t - ui->last_draw < 0.1 && p->bytes < p->total_bytes)
        return;
    ui->last_draw = t;
    double rate = t > 0 ? (double)p->imported / t : 0;
    char bar[31] = {0};
    double frac = p->total_bytes ? (double)p->bytes / (double)p->total_bytes : 0;
    if (frac > 1)
        frac = 1;
    for (int i = 0; i < 30; i++)
        bar[i] = i < (int)(frac * 30) ? '#' : '.';
    double eta = frac > 0 ? t / frac - t : 0;
    fprintf(stderr, "\r\033[K[%s] %3.0f%%  %llu records  %.0f records/s  ETA %.0fs", bar,
            frac * 100, (unsigned long long)p->imported, rate, eta);
}

static int s_fail(const char *file, const char *dataset, const char *store, jury_err err)
{
    switch (err) {
    case JURY_ENOTFOUND:
        jury_cli_error("import: no dataset '%s' in %s (see jury dataset list)", dataset, store);
        return JURY_EXIT_USAGE;
    case JURY_EIO:
        jury_cli_error("import: %s: %s", file, strerror(errno));
        return errno == ENOENT || errno == EACCES || errno == EISDIR ? JURY_EXIT_USAGE
                                                                     : JURY_EXIT_FAILURE;
    case JURY_ECORRUPT:
        jury_cli_error("import: the stored settings of '%s' are damaged; run jury with -v for "
                       "details",
                       dataset);
        return JURY_EXIT_FAILURE;
    case JURY_EFULL:
        jury_cli_error("import: the store %s cannot grow (disk or address space full)", store);
        return JURY_EXIT_FAILURE;
    default:
        jury_cli_error("import: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
}

int jury_cmd_import(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    const char *rejects_path = NULL;
    bool skip = false;
    static const struct option opts[] = {
        {"skip-invalid", no_argument, NULL, 'k'},
        {"rejects", required_argument, NULL, 'r'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            skip = true;
            break;
        case 'r':
            rejects_path = optarg;
            break;
        case 's':
            cli.store = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return JURY_EXIT_OK;
        default:
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    const char *dataset = argv[optind], *file = argv[optind + 1];

    import_ui_t ui = {.file = strcmp(file, "-") == 0 ? "<stdin>" : file, .tty = isatty(2)};
    if (rejects_path && !(ui.rejects = fopen(rejects_path, "w"))) {
        jury_cli_error("import: --rejects %s: %s", rejects_path, strerror(errno));
        return JURY_EXIT_USAGE;
    }
    jury_store_t *store;
    int rc = jury_cli_open_store(&cli, false, false, &store);
    if (rc != JURY_EXIT_OK) {
        if (ui.rejects)
            fclose(ui.rejects);
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &ui.t0);
    jury_import_opts_t io = {
        .skip_invalid = skip, .problem = s_problem, .progress = s_progress, .arg = &ui};
    jury_import_stats_t st;
    jury_err err = jury_import_file(store, dataset, file, &io, &st);
    int saved_errno = errno;
    double secs = s_elapsed(&ui);
    jury_store_destroy(&store);
    if (ui.tty)
        fputs("\r\033[K", stderr);
    if (ui.rejects && fclose(ui.rejects) != 0) {
        jury_cli_error("import: --rejects %s: %s", rejects_path, strerror(errno));
        rc = JURY_EXIT_FAILURE;
    }
    if (ui.problems > ui.printed)
        fprintf(stderr, "%s: ... and %llu more problems\n", ui.file,
                (unsigned long long)(ui.problems - ui.printed));
    if (err == JURY_EINVAL) {
        jury_cli_error("import: %llu of %llu lines are invalid; nothing was imported (fix them, or "
                       "use --skip-invalid to import the valid lines)",
                       (unsigned long long)st.rejected, (unsigned long long)st.lines);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        errno = saved_errno;
        return s_fail(ui.file, dataset, cli.store, err);
    }
    uint64_t n = st.created + st.updated;
    printf("%s: imported %llu records (%llu new, %llu updated, %llu responses) in %.2f s "
           "(%.0f records/s), %llu rejected\n",
           dataset, (unsigned long long)n, (unsigned long long)st.created,
           (unsigned long long)st.updated, (unsigned long long)st.responses, secs,
           secs > 0 ? (double)n / secs : 0.0, (unsigned long long)st.rejected);
    return rc;
}
