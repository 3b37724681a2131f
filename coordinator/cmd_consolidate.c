/* cmd_consolidate.c: `jury consolidate NAME`: unify responses, accept or reject each completed
 * record, store the decisions and print what was decided and why. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "consolidation.h"
#include "settings.h"

static const char s_usage[] =
    "usage: jury consolidate NAME [--method QUESTION=METHOD ...] [--json]\n"
    "\n"
    "Unifies the submitted responses of every completed record of dataset NAME\n"
    "with the methods of its settings (\"consolidation\": {\"methods\": ...}),\n"
    "accepts or rejects each record by the settings' acceptance rules\n"
    "(\"accept\": min_agreement, min_value, max_value, require), and stores the\n"
    "decisions for `jury export`. Prints accepted / rejected / pending counts\n"
    "and the rejections grouped by reason. Running it again recomputes\n"
    "everything (after more responses, or `jury dataset update` of the policy)\n"
    "except what reviewers decided: a reviewed record keeps the reviewer's\n"
    "decision. Rejected records without a review wait for a reviewer.\n"
    "\n"
    "methods by question type (the first is the default):\n"
    "  label_selection        majority, weighted, dawid_skene, disagreement\n"
    "  multi_label_selection  majority, dawid_skene\n"
    "  rating                 mean, median, majority, min, max\n"
    "  ranking                borda, majority\n"
    "  text                   medoid, best_annotator\n"
    "  span                   majority\n"
    "\n"
    "options:\n"
    "  --method Q=M   use method M for question Q in this run (repeatable)\n"
    "  --json         print the summary as one JSON object\n"
    "  --store DIR    the store directory\n";

/* Most --method options. */
#define S_OVERRIDES_MAX 256

typedef struct {
    bool tty;           /* stderr is a terminal */
    struct timespec t0; /* start */
    double last;        /* seconds at the last redraw */
} ui_t;

static double s_elapsed(const ui_t *ui)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - ui->t0.tv_sec) + (double)(t.tv_nsec - ui->t0.tv_nsec) / 1e9;
}

static void s_progress(int pass, uint64_t done, uint64_t total, void *arg)
{
    ui_t *ui = arg;
    double t = s_elapsed(ui);
    if (t - ui->last < 0.1 && done < total)
        return;
    ui->last = t;
    double frac = total ? (double)done / (double)total : 1;
    char bar[31] = {0};
    for (int i = 0; i < 30; i++)
        bar[i] = i < (int)(frac * 30) ? '#' : '.';
    fprintf(stderr, "\r\033[K%s [%s] %3.0f%%  %llu of %llu records",
            pass == 1 ? "deciding  " : "revisiting", bar, frac * 100, (unsigned long long)done,
            (unsigned long long)total);
}

/* Parses "QUESTION=METHOD" (question checked by the run). False with a message when bad. */
static bool s_override(char *arg, jury_method_override_t *out)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || eq[1] == '\0') {
        jury_cli_error("consolidate: --method '%s': expected QUESTION=METHOD", arg);
        return false;
    }
    *eq = '\0';
    for (int m = 0; m < JURY_METHOD_COUNT; m++)
        if (strcmp(eq + 1, jury_method_name((jury_method)m)) == 0) {
            *out = (jury_method_override_t){arg, (jury_method)m};
            return true;
        }
    jury_cli_error("consolidate: --method %s=%s: unknown method (methods: majority, weighted, "
                   "dawid_skene, disagreement, mean, median, min, max, borda, medoid, "
                   "best_annotator)",
                   arg, eq + 1);
    return false;
}

static void s_print(const cJSON *sum)
{
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(sum, "dataset");
    double acc = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "accepted"));
    double rej = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "rejected"));
    double pen = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "pending"));
    double rev = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "reviewed"));
    printf("dataset %s: %.0f accepted, %.0f rejected, %.0f pending", cJSON_GetStringValue(ds), acc,
           rej, pen);
    /* Only when reviewers decided some: the line stays as it was for datasets without reviews. */
    if (rev > 0)
        printf(" (%.0f decided by reviewers)", rev);
    printf("\n");
    const cJSON *it;
    printf("methods:");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sum, "methods"))
        printf(" %s=%s", it->string, cJSON_GetStringValue(it));
    printf("\n");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(sum, "rules");
    if (cJSON_GetArraySize(rules) == 0)
        printf("acceptance: every completed record (no rules)\n");
    else {
        printf("acceptance rules:\n");
        cJSON_ArrayForEach(it, rules) printf("  %s\n", cJSON_GetStringValue(it));
    }
    const cJSON *rejs = cJSON_GetObjectItemCaseSensitive(sum, "rejections");
    if (cJSON_GetArraySize(rejs) > 0) {
        printf("rejected because:\n");
        cJSON_ArrayForEach(it, rejs)
        {
            printf("  %8.0f  %s\n",
                   cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "records")),
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "reason")));
        }
    }
}

int jury_cmd_consolidate(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    bool json = false;
    jury_method_override_t ov[S_OVERRIDES_MAX];
    size_t nov = 0;
    static const struct option opts[] = {
        {"method", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (nov == S_OVERRIDES_MAX) {
                jury_cli_error("consolidate: at most %d --method options", S_OVERRIDES_MAX);
                return JURY_EXIT_USAGE;
            }
            if (!s_override(optarg, &ov[nov++]))
                return JURY_EXIT_USAGE;
            break;
        case 'j':
            json = true;
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
    if (optind + 1 != argc) {
        jury_cli_error("consolidate: expected one dataset name");
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    const char *name = argv[optind];
    jury_store_t *store = NULL;
    int rc = jury_cli_open_store(&cli, false, false, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    ui_t ui = {.tty = isatty(STDERR_FILENO) == 1};
    clock_gettime(CLOCK_MONOTONIC, &ui.t0);
    jury_consolidation_opts_t o = {.overrides = ov, .noverrides = nov};
    if (ui.tty) {
        o.progress = s_progress;
        o.progress_arg = &ui;
    }
    cJSON *sum = NULL;
    char err[512];
    jury_err e = jury_consolidation_run(store, name, &o, &sum, err, sizeof err);
    if (ui.tty)
        fputs("\r\033[K", stderr);
    jury_store_destroy(&store);
    if (e != JURY_OK) {
        jury_cli_error("consolidate: %s", err);
        return e == JURY_ENOTFOUND || e == JURY_EINVAL ? JURY_EXIT_USAGE : JURY_EXIT_FAILURE;
    }
    if (json) {
        char *text = cJSON_PrintUnformatted(sum);
        if (text)
            printf("%s\n", text);
        free(text);
    } else {
        s_print(sum);
    }
    cJSON_Delete(sum);
    return fflush(stdout) == 0 ? JURY_EXIT_OK : JURY_EXIT_FAILURE;
}
