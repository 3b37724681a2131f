/* cmd_demo.c: `jury demo`: a whole campaign on the embedded sample: store, coordinator, five
 * simulated annotators, progress and summary. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "demo.h"
#include "import.h"
#include "settings.h"

#define DATASET    "support-demo"
#define DEADLINE_S 90

/* The simulated annotators: name and how good they are. */
static const struct {
    const char *name;
    const char *spec;
} s_bots[] = {
    {"ana", "error=0.03,discard=0,edit=0.5,think=5..25"},
    {"ben", "error=0.08,discard=0,edit=0.4,think=5..25"},
    {"chen", "error=0.12,discard=0.01,edit=0.3,think=5..25"},
    {"dana", "error=0.2,discard=0.02,edit=0.3,think=5..25"},
    {"eli", "error=0.35,discard=0.05,edit=0.2,think=5..25"},
};
#define NBOTS (sizeof s_bots / sizeof s_bots[0])

static const char s_usage[] =
    "usage: jury demo [--dir DIR]\n"
    "\n"
    "Runs a whole annotation campaign on an embedded sample, with nothing to\n"
    "prepare: 200 customer-support messages, each with a model's draft reply as a\n"
    "suggestion; annotators correct the draft (text) and rate it (1..5), 3\n"
    "annotators per record. It creates a store in DIR, starts the coordinator\n"
    "(`jury serve`), runs 5 simulated annotators of different quality (`juror bot\n"
    "--simulate`), shows progress, and ends with a summary. DIR is kept (the\n"
    "store, the settings and records files, and every process's log); nothing is\n"
    "left running.\n"
    "\n"
    "options:\n"
    "  --dir DIR   where to put it (default ./jury-demo-YYYYMMDD-HHMMSS; must not exist)\n";

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void)sig;
    s_interrupted = 1;
}

/* Writes the settings and the records as files, so the user can read and reuse them. */
static int s_write_inputs(const char *dir, char *settings_path, char *records_path, size_t cap)
{
    snprintf(settings_path, cap, "%s/settings.json", dir);
    snprintf(records_path, cap, "%s/records.jsonl", dir);
    FILE *f = fopen(settings_path, "w");
    if (!f || fputs(jury_demo_settings, f) < 0 || fclose(f) != 0) {
        jury_cli_error("demo: %s: %s", settings_path, strerror(errno));
        return -1;
    }
    if (!(f = fopen(records_path, "w"))) {
        jury_cli_error("demo: %s: %s", records_path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < jury_demo_record_count(); i++) {
        jury_demo_record_t r;
        if (!jury_demo_record(i, &r))
            break;
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "id", r.id);
        cJSON *fields = cJSON_AddObjectToObject(rec, "fields");
        cJSON_AddStringToObject(fields, "instruction", r.message);
        cJSON_AddStringToObject(fields, "context", r.context);
        cJSON *meta = cJSON_AddObjectToObject(rec, "metadata");
        cJSON_AddStringToObject(meta, "category", r.category);
        cJSON_AddNumberToObject(meta, "draft_quality", r.draft_quality);
        cJSON *sugg = cJSON_AddObjectToObject(rec, "suggestions");
        cJSON *resp = cJSON_AddObjectToObject(sugg, "response");
        cJSON_AddStringToObject(resp, "value", r.draft);
        cJSON_AddStringToObject(resp, "agent", "support-draft-v1");
        /* An automatic rater's opinion of the draft: the simulated annotators
         * start from it, as people start from a pre-annotation. */
        cJSON *qual = cJSON_AddObjectToObject(sugg, "quality");
        cJSON_AddNumberToObject(qual, "value", r.draft_quality);
        cJSON_AddStringToObject(qual, "agent", "auto-rater-v1");
        char *line = cJSON_PrintUnformatted(rec);
        cJSON_Delete(rec);
        if (!line || fprintf(f, "%s\n", line) < 0) {
            free(line);
            fclose(f);
            jury_cli_error("demo: %s: %s", records_path, strerror(errno));
            return -1;
        }
        free(line);
    }
    if (fclose(f) != 0) {
        jury_cli_error("demo: %s: %s", records_path, strerror(errno));
        return -1;
    }
    return 0;
}

typedef struct {
    const char *json; /* normalised settings */
} create_arg_t;

static jury_err s_create_body(jury_txn_t *txn, void *arg)
{
    create_arg_t *c = arg;
    return jury_store_dataset_create(txn, DATASET, c->json, strlen(c->json), NULL);
}

/* Starts argv with stdout and stderr going to log. Returns the pid, or -1. */
static pid_t s_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0)
            _exit(127);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Stops pid with SIGTERM, then SIGKILL after grace_ms. Returns its exit code, or 128 + signal. */
static int s_stop(pid_t pid, int grace_ms)
{
    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    int st;
    for (int waited = 0; waited < grace_ms; waited += 20) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return 128 + SIGKILL;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static jury_err s_counts(jury_store_t *store, jury_counts_t *c)
{
    jury_txn_t *txn;
    jury_err err = jury_store_read(store, &txn);
    jury_dataset_t ds;
    if (err == JURY_OK && (err = jury_store_dataset_get(txn, DATASET, &ds)) == JURY_OK)
        err = jury_store_dataset_counts(txn, ds.id, c);
    jury_txn_abort(&txn);
    return err;
}

static void s_bar(const jury_counts_t *c, double secs, bool tty)
{
    double frac = c->records ? (double)(c->completed + c->discarded) / (double)c->records : 0;
    char bar[41];
    for (int i = 0; i < 40; i++)
        bar[i] = i < (int)(frac * 40) ? '#' : '.';
    bar[40] = '\0';
    uint64_t responses =
        c->responses[JURY_RESPONSE_SUBMITTED] + c->responses[JURY_RESPONSE_DISCARDED];
    if (tty)
        fprintf(stderr, "\r\033[K[%s] %3.0f%%  %llu/%llu records completed  %llu responses  %.1f s",
                bar, frac * 100, (unsigned long long)c->completed, (unsigned long long)c->records,
                (unsigned long long)responses, secs);
    else
        fprintf(stderr, "progress: %llu/%llu records completed, %llu responses, %.1f s\n",
                (unsigned long long)c->completed, (unsigned long long)c->records,
                (unsigned long long)responses, secs);
}

/* Runs argv to completion with stdout and stderr to log; returns its exit code. */
static int s_run(char *const argv[], const char *log)
{
    pid_t pid = s_spawn(argv, log);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Writes the agreement report as HTML and JSON into the demo directory with
 * `jury agreement` (the real command, on the finished store) and prints a
 * summary of the JSON: alpha per question with its interval.
 */
static int s_agreement(const char *self, const char *dir, const char *store_dir)
{
    char html[PATH_MAX + 32], json[PATH_MAX + 32], log[PATH_MAX + 32];
    snprintf(html, sizeof html, "%s/agreement.html", dir);
    snprintf(json, sizeof json, "%s/agreement.json", dir);
    snprintf(log, sizeof log, "%s/agreement.log", dir);
    char *html_argv[] = {(char *)self, "--store", (char *)store_dir, "agreement", DATASET,
                         "--format",   "html",    "--out",           html,        NULL};
    char *json_argv[] = {(char *)self, "--store", (char *)store_dir, "agreement", DATASET,
                         "--format",   "json",    "--out",           json,        NULL};
    if (s_run(html_argv, log) != 0 || s_run(json_argv, log) != 0) {
        jury_cli_error("demo: the agreement report failed; see %s", log);
        return -1;
    }
    FILE *f = fopen(json, "rb");
    char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    const cJSON *questions = cJSON_GetObjectItemCaseSensitive(root, "questions");
    printf("  agreement  Krippendorff's alpha with its 95%% interval (jury agreement)\n");
    const cJSON *q;
    cJSON_ArrayForEach(q, questions)
    {
        const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(q, "alpha");
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(q, "type");
        const cJSON *level = cJSON_GetObjectItemCaseSensitive(q, "level");
        printf("    %-10s ", q->string);
        if (cJSON_IsNumber(alpha))
            printf("alpha %.3f", alpha->valuedouble);
        else
            printf("alpha n/a");
        if (cJSON_GetArraySize(ci) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)))
            printf(" (%.3f .. %.3f)", cJSON_GetArrayItem(ci, 0)->valuedouble,
                   cJSON_GetArrayItem(ci, 1)->valuedouble);
        printf("  %s, %s\n", cJSON_IsString(type) ? type->valuestring : "?",
               cJSON_IsString(level) ? level->valuestring : "?");
    }
    cJSON_Delete(root);
    printf("  report     %s (open it in a browser), %s\n", html, json);
    return 0;
}

/* Lines in the file at path, or -1 when it cannot be read. */
static long s_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/*
 * Consolidates the finished campaign and writes the training files with the
 * real commands: `jury consolidate` (the settings' policy: medoid reply,
 * mean rating, accept when the annotators' replies agree to 0.7), then
 * `jury export` as sft.jsonl (customer message -> corrected reply) and
 * dpo.jsonl (corrected reply chosen over the model's draft where the
 * annotators changed it), and prints what was decided.
 */
static int s_datasets(const char *self, const char *dir, const char *store_dir, jury_store_t *store)
{
    char sft[PATH_MAX + 32], dpo[PATH_MAX + 32], log[PATH_MAX + 32];
    snprintf(sft, sizeof sft, "%s/sft.jsonl", dir);
    snprintf(dpo, sizeof dpo, "%s/dpo.jsonl", dir);
    snprintf(log, sizeof log, "%s/consolidate.log", dir);
    char *cons_argv[] = {(char *)self, "--store", (char *)store_dir, "consolidate", DATASET, NULL};
    char *sft_argv[] = {(char *)self, "--store", (char *)store_dir, "export", DATASET,
                        "--format",   "sft",     "--out",           sft,      NULL};
    char *dpo_argv[] = {(char *)self, "--store", (char *)store_dir, "export", DATASET,
                        "--format",   "dpo",     "--out",           dpo,      NULL};
    if (s_run(cons_argv, log) != 0 || s_run(sft_argv, log) != 0 || s_run(dpo_argv, log) != 0) {
        jury_cli_error("demo: consolidation or export failed; see %s", log);
        return -1;
    }
    jury_txn_t *txn = NULL;
    jury_dataset_t ds;
    const void *blob;
    size_t len;
    cJSON *sum = NULL;
    if (jury_store_read(store, &txn) == JURY_OK &&
        jury_store_dataset_get(txn, DATASET, &ds) == JURY_OK &&
        jury_store_consolidation_get(txn, ds.id, &blob, &len) == JURY_OK)
        sum = cJSON_ParseWithLength(blob, len);
    jury_txn_abort(&txn);
    if (!sum) {
        jury_cli_error("demo: no consolidation summary in the store");
        return -1;
    }
    printf("  consolidated  %.0f accepted, %.0f rejected (jury consolidate: medoid reply, mean "
           "rating)\n",
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "accepted")),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "rejected")));
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(sum, "rejections"))
    {
        printf("    %5.0f rejected: %s\n",
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "records")),
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "reason")));
    }
    cJSON_Delete(sum);
    printf("  sft        %s (%ld lines: customer message -> corrected reply)\n", sft, s_lines(sft));
    printf("  dpo        %s (%ld lines: corrected reply chosen over the model's draft)\n", dpo,
           s_lines(dpo));
    return 0;
}

static jury_err s_annotator_line(uint32_t id, const char *name, const jury_counts_t *c, void *arg)
{
    (void)id;
    (void)arg;
    printf("  %-8s %5llu submitted  %3llu discarded\n", name,
           (unsigned long long)c->responses[JURY_RESPONSE_SUBMITTED],
           (unsigned long long)c->responses[JURY_RESPONSE_DISCARDED]);
    return JURY_OK;
}

int jury_cmd_demo(const jury_cli_t *cli_in, int argc, char **argv)
{
    (void)cli_in; /* the demo makes its own store */
    const char *dir_opt = NULL;
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd') {
            dir_opt = optarg;
        } else if (c == 'h') {
            fputs(s_usage, stdout);
            return JURY_EXIT_OK;
        } else {
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }

    /* Our own binary and juror beside it: the demo uses the real programs. */
    char self[PATH_MAX], juror[PATH_MAX + 16], bindir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        jury_cli_error("demo: cannot find my own executable: %s", strerror(errno));
        return JURY_EXIT_FAILURE;
    }
    self[n] = '\0';
    snprintf(bindir, sizeof bindir, "%s", self);
    snprintf(juror, sizeof juror, "%s/juror", dirname(bindir));
    if (access(juror, X_OK) != 0) {
        jury_cli_error("demo: %s is missing: build everything (ops/setup) first", juror);
        return JURY_EXIT_FAILURE;
    }

    char dir[PATH_MAX];
    if (dir_opt) {
        snprintf(dir, sizeof dir, "%s", dir_opt);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(dir, sizeof dir, "./jury-demo-%Y%m%d-%H%M%S", &tm);
    }
    if (mkdir(dir, 0755) != 0) {
        jury_cli_error("demo: cannot create %s: %s%s", dir, strerror(errno),
                       errno == EEXIST ? " (choose another --dir)" : "");
        return JURY_EXIT_USAGE;
    }
    char settings_path[PATH_MAX + 32], records_path[PATH_MAX + 32], store_dir[PATH_MAX + 32];
    char endpoint[PATH_MAX + 64], sock[PATH_MAX + 32], log[PATH_MAX + 64];
    if (s_write_inputs(dir, settings_path, records_path, sizeof settings_path) != 0)
        return JURY_EXIT_FAILURE;
    snprintf(store_dir, sizeof store_dir, "%s/store", dir);
    printf("jury demo: a support-reply campaign of %zu records, 3 annotators each, in %s\n",
           jury_demo_record_count(), dir);

    /* The store, the dataset and its records, through the same code as the commands. */
    char why[512];
    jury_settings_t *settings = NULL;
    if (jury_settings_parse(&settings, jury_demo_settings, strlen(jury_demo_settings), why,
                            sizeof why) != JURY_OK) {
        jury_cli_error("demo: embedded settings: %s", why);
        return JURY_EXIT_FAILURE;
    }
    create_arg_t ca = {jury_settings_to_json(settings, false)};
    jury_settings_destroy(&settings);
    jury_store_t *store = NULL;
    jury_store_opts_t so = {.create = true};
    jury_err err = ca.json ? jury_store_open(&store, store_dir, &so) : JURY_ENOMEM;
    if (err == JURY_OK)
        err = jury_store_write(store, s_create_body, &ca);
    free((char *)ca.json);
    jury_import_stats_t st = {0};
    if (err == JURY_OK)
        err = jury_import_file(store, DATASET, records_path, NULL, &st);
    if (err != JURY_OK) {
        jury_cli_error("demo: cannot set up the store in %s: %s", store_dir, jury_strerror(err));
        jury_store_destroy(&store);
        return JURY_EXIT_FAILURE;
    }
    printf("  dataset %s: %llu records imported\n", DATASET, (unsigned long long)st.created);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* The coordinator, on a socket inside the demo directory: no port to collide with. */
    char abs_dir[PATH_MAX];
    if (!realpath(dir, abs_dir))
        snprintf(abs_dir, sizeof abs_dir, "%s", dir);
    snprintf(sock, sizeof sock, "%s/coordinator.sock", abs_dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s", sock);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    /* Plaintext on a socket file only this user reaches: a demo needs no keys. */
    char *serve_argv[] = {self,         "--store", store_dir, "serve",
                          "--insecure", "--bind",  endpoint,  NULL};
    pid_t serve = s_spawn(serve_argv, log);
    pid_t bots[NBOTS] = {0};
    int rc = JURY_EXIT_OK;
    double t0 = s_now();
    while (access(sock, F_OK) != 0 && s_now() - t0 < 10 && waitpid(serve, NULL, WNOHANG) == 0)
        s_sleep_ms(20);
    if (access(sock, F_OK) != 0) {
        jury_cli_error("demo: the coordinator did not start; see %s", log);
        rc = JURY_EXIT_FAILURE;
        goto stop;
    }
    printf("  coordinator: jury serve --bind %s (log: %s)\n", endpoint, log);
    for (size_t i = 0; i < NBOTS; i++) {
        snprintf(log, sizeof log, "%s/juror-%s.log", dir, s_bots[i].name);
        char spec[128];
        snprintf(spec, sizeof spec, "%s,seed=%zu", s_bots[i].spec, i + 1);
        char *bot_argv[] = {
            juror,         "bot",       "--simulate", spec,          "--connect",
            endpoint,      "--dataset", DATASET,      "--annotator", (char *)s_bots[i].name,
            "--idle-exit", "2",         NULL};
        bots[i] = s_spawn(bot_argv, log);
        printf("  annotator %-5s juror bot --simulate %s\n", s_bots[i].name, spec);
    }

    /* Progress until every record is completed (or set aside), the bots are done, or time is up. */
    bool tty = isatty(2);
    jury_counts_t counts = {0};
    double last_line = 0;
    for (;;) {
        s_sleep_ms(200);
        if (s_counts(store, &counts) != JURY_OK)
            break;
        double secs = s_now() - t0;
        if (tty || secs - last_line >= 1) {
            s_bar(&counts, secs, tty);
            last_line = secs;
        }
        bool done = counts.records && counts.completed + counts.discarded == counts.records;
        size_t running = 0;
        for (size_t i = 0; i < NBOTS; i++)
            if (bots[i] > 0 && waitpid(bots[i], NULL, WNOHANG) == 0)
                running++;
            else
                bots[i] = 0;
        if (done || running == 0 || s_interrupted || secs > DEADLINE_S) {
            if (!done) {
                jury_cli_error("demo: %s before the campaign completed (logs in %s)",
                               s_interrupted ? "interrupted"
                               : running     ? "out of time"
                                             : "the annotators stopped",
                               dir);
                rc = JURY_EXIT_FAILURE;
            }
            break;
        }
    }
    if (tty)
        fputs("\n", stderr);
stop:
    /* Let the bots notice there is nothing left and leave; then stop the coordinator. */
    for (size_t i = 0; i < NBOTS; i++)
        if (bots[i] > 0) {
            for (int w = 0; w < 100 && waitpid(bots[i], NULL, WNOHANG) == 0; w++)
                s_sleep_ms(50);
            s_stop(bots[i], 1000);
        }
    int serve_rc = s_stop(serve, 5000);
    if (serve_rc != 0 && rc == JURY_EXIT_OK) {
        jury_cli_error("demo: the coordinator exited with %d; see %s/serve.log", serve_rc, dir);
        rc = JURY_EXIT_FAILURE;
    }
    double secs = s_now() - t0;
    if (s_counts(store, &counts) == JURY_OK) {
        printf("\nsummary (%.1f s)\n", secs);
        printf("  records    %llu total, %llu completed, %llu set aside, %llu pending\n",
               (unsigned long long)counts.records, (unsigned long long)counts.completed,
               (unsigned long long)counts.discarded,
               (unsigned long long)(counts.records - counts.completed - counts.discarded));
        printf("  responses  %llu submitted, %llu discarded, %llu draft\n",
               (unsigned long long)counts.responses[JURY_RESPONSE_SUBMITTED],
               (unsigned long long)counts.responses[JURY_RESPONSE_DISCARDED],
               (unsigned long long)counts.responses[JURY_RESPONSE_DRAFT]);
        printf("  annotators\n");
        jury_txn_t *txn;
        jury_dataset_t ds;
        if (jury_store_read(store, &txn) == JURY_OK) {
            if (jury_store_dataset_get(txn, DATASET, &ds) == JURY_OK &&
                jury_store_annotator_counts_each(txn, ds.id, s_annotator_line, NULL) != JURY_OK)
                rc = JURY_EXIT_FAILURE;
            jury_txn_abort(&txn);
        }
        printf("  store      %s (try: jury --store %s status %s; jury --store %s dump %s)\n",
               store_dir, store_dir, DATASET, store_dir, DATASET);
    }
    if (rc == JURY_EXIT_OK && s_agreement(self, dir, store_dir) != 0)
        rc = JURY_EXIT_FAILURE;
    if (rc == JURY_EXIT_OK && s_datasets(self, dir, store_dir, store) != 0)
        rc = JURY_EXIT_FAILURE;
    jury_store_destroy(&store);
    return rc;
}
