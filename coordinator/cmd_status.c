/* cmd_status.c: `jury status NAME`: records by status, the review queue, responses by status,
 * per-annotator counts and the annotator quality table. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "live_agreement.h"
#include "report_quality.h"
#include "serve.h"
#include "settings.h"

static const char s_usage[] =
    "usage: jury status NAME [--json] [--quality]\n"
    "\n"
    "Prints dataset NAME's records (total, pending, completed), how many wait\n"
    "for a reviewer and how many reviewers decided, its responses by status\n"
    "(submitted, discarded, draft) and each annotator's responses.\n"
    "Safe to run while `jury serve` or an import writes: it reads a snapshot.\n"
    "While `jury serve` runs on the store, also shows its active leases and\n"
    "connected annotators (from the store's serve.status, refreshed each second).\n"
    "Ends with the annotator quality table (responses, discard rate, agreement\n"
    "with others on label and rating questions, median seconds between\n"
    "consecutive answers, gold accuracy, state) when the dataset has at most\n"
    "1,000,000 responses.\n"
    "\n"
    "options:\n"
    "  --json        one JSON object: {\"dataset\", \"records\", \"pending\", \"completed\",\n"
    "                \"discarded\", \"contested\",\n"
    "                \"review\": {\"waiting\", \"reviewed\"}, \"responses\": {...},\n"
    "                \"annotators\": {NAME: {...}},\n"
    "                \"live\": {\"pid\", \"leases\", \"connected\": [...]} or null,\n"
    "                \"annotators_quality\": [{...}] or null when not computed}\n"
    "  --quality     compute the annotator quality table however many responses\n"
    "                the dataset has (it reads every response once)\n"
    "  --store DIR   the store directory\n";

static jury_err s_count_review(uint64_t rid, const void *blob, size_t len, void *arg)
{
    (void)rid, (void)blob, (void)len;
    (*(uint64_t *)arg)++;
    return JURY_OK;
}

/* Records of dataset ds waiting for a reviewer, and records reviewers decided (reviews are made by
 * people, so counting them walks few entries). */
static jury_err s_review_counts(jury_txn_t *txn, uint32_t ds, uint64_t *waiting, uint64_t *reviewed)
{
    *reviewed = 0;
    jury_err err = jury_store_review_queue_count(txn, ds, waiting);
    return err == JURY_OK ? jury_store_review_each(txn, ds, s_count_review, reviewed) : err;
}

/* Responses above which the quality table is left out unless --quality asks for it. */
#define S_QUALITY_AUTO_MAX 1000000ULL

typedef struct {
    bool json; /* JSON output */
    int n;     /* annotators printed */
} status_ctx_t;

static void s_responses_json(const jury_counts_t *c)
{
    printf("{\"submitted\": %llu, \"discarded\": %llu, \"draft\": %llu}",
           (unsigned long long)c->responses[JURY_RESPONSE_SUBMITTED],
           (unsigned long long)c->responses[JURY_RESPONSE_DISCARDED],
           (unsigned long long)c->responses[JURY_RESPONSE_DRAFT]);
}

static jury_err s_annotator(uint32_t id, const char *name, const jury_counts_t *c, void *arg)
{
    (void)id;
    status_ctx_t *s = arg;
    if (s->json) {
        printf("%s", s->n ? ", " : "");
        jury_cli_json_string(stdout, name, strlen(name));
        printf(": ");
        s_responses_json(c);
    } else {
        if (s->n == 0)
            printf("\n%-24s %10s %10s %10s\n", "annotator", "submitted", "discarded", "draft");
        printf("%-24s %10llu %10llu %10llu\n", name,
               (unsigned long long)c->responses[JURY_RESPONSE_SUBMITTED],
               (unsigned long long)c->responses[JURY_RESPONSE_DISCARDED],
               (unsigned long long)c->responses[JURY_RESPONSE_DRAFT]);
    }
    s->n++;
    return JURY_OK;
}

/*
 * Reads the live status `jury serve` writes into the store each second and
 * returns the entry of dataset name, or NULL when no coordinator runs (no
 * file, a dead pid, or a file older than 10 s). *root_out owns the tree.
 */
static const cJSON *s_live(const char *store, const char *name, cJSON **root_out, long *pid_out)
{
    *root_out = NULL;
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
    if (!cJSON_IsNumber(pid) || !cJSON_IsNumber(updated) || now - updated->valuedouble > 10000 ||
        (kill((pid_t)pid->valuedouble, 0) != 0 && errno != EPERM)) {
        cJSON_Delete(root);
        return NULL;
    }
    *root_out = root;
    *pid_out = (long)pid->valuedouble;
    const cJSON *ds =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "datasets"), name);
    return ds ? ds : cJSON_GetObjectItemCaseSensitive(root, "datasets");
}

static const char *s_level_name(jury_alpha_level_t level)
{
    static const char *const names[] = {"nominal", "ordinal", "interval", "ratio"};
    return (unsigned)level <= JURY_ALPHA_RATIO ? names[level] : "?";
}

/*
 * Prints the live agreement of the dataset's tracked questions (label and
 * rating questions; the coordinator updates it as records complete): as JSON
 * members "QUESTION": {"alpha", "level", "records"[, "note"]}, or as lines.
 */
static void s_agreement(jury_txn_t *txn, const jury_dataset_t *ds, bool json)
{
    jury_settings_t *settings = NULL;
    char why[256];
    if (jury_settings_parse(&settings, ds->settings, ds->settings_len, why, sizeof why) != JURY_OK)
        return;
    int n = 0;
    for (size_t q = 0; q < jury_settings_question_count(settings); q++) {
        const char *qn = jury_settings_question_name(settings, q);
        const void *blob;
        size_t len;
        jury_live_state_t st;
        if (jury_store_agreement_get(txn, ds->id, qn, &blob, &len) != JURY_OK ||
            jury_live_decode(blob, len, &st) != JURY_OK)
            continue;
        jury_measure_t a = jury_live_alpha(&st);
        if (json) {
            printf("%s", n ? ", " : "");
            jury_cli_json_string(stdout, qn, strlen(qn));
            if (a.ok)
                printf(": {\"alpha\": %.6f, ", a.value);
            else
                printf(": {\"alpha\": null, \"note\": \"%s\", ", a.note);
            printf("\"level\": \"%s\", \"records\": %llu}", s_level_name(st.level),
                   (unsigned long long)st.records);
        } else {
            if (n == 0)
                printf("\nagreement (live, over completed records)\n");
            if (a.ok)
                printf("  %-22s alpha %.3f (%s, %llu records)\n", qn, a.value,
                       s_level_name(st.level), (unsigned long long)st.records);
            else
                printf("  %-22s alpha n/a: %s (%llu records)\n", qn, a.note,
                       (unsigned long long)st.records);
        }
        n++;
        jury_live_free(&st);
    }
    jury_settings_destroy(&settings);
}

/* Prints the gold answers' accuracy, as JSON ({annotator: {question: {...}}}) or lines. */
typedef struct {
    jury_txn_t *txn; /* the snapshot */
    bool json;       /* --json */
    uint32_t last;   /* annotator of the previous row, 0 before the first */
} gold_out_t;

static jury_err s_gold(uint32_t annotator, const char *question, uint64_t answered,
                       uint64_t correct, void *arg)
{
    gold_out_t *g = arg;
    jury_annotator_t a;
    jury_err err = jury_store_annotator_get(g->txn, annotator, &a);
    if (err != JURY_OK)
        return err;
    double acc = answered ? (double)correct / (double)answered : 0;
    if (!g->json) {
        printf("  %-24s %-24s %6.3f  (%llu of %llu)\n", a.name, question, acc,
               (unsigned long long)correct, (unsigned long long)answered);
        return JURY_OK;
    }
    if (annotator != g->last) {
        printf("%s", g->last ? "}, " : "");
        jury_cli_json_string(stdout, a.name, strlen(a.name));
        printf(": {");
    } else {
        printf(", ");
    }
    jury_cli_json_string(stdout, question, strlen(question));
    printf(": {\"answered\": %llu, \"correct\": %llu, \"accuracy\": %.6g}",
           (unsigned long long)answered, (unsigned long long)correct, acc);
    g->last = annotator;
    return JURY_OK;
}

/*
 * The annotator quality rows of dataset ds (report_quality.h) from snapshot txn, in one walk of its
 * responses, into *out (a JSON array the caller frees); *out stays NULL when the dataset has more
 * than S_QUALITY_AUTO_MAX responses and force is false.
 */
static jury_err s_quality(jury_txn_t *txn, const jury_dataset_t *ds, const jury_counts_t *counts,
                          bool force, cJSON **out)
{
    *out = NULL;
    uint64_t responses = counts->responses[JURY_RESPONSE_SUBMITTED] +
                         counts->responses[JURY_RESPONSE_DISCARDED] +
                         counts->responses[JURY_RESPONSE_DRAFT];
    if (!force && responses > S_QUALITY_AUTO_MAX)
        return JURY_OK;
    jury_settings_t *settings = NULL;
    char why[256];
    jury_err err = jury_settings_parse(&settings, ds->settings, ds->settings_len, why, sizeof why);
    if (err != JURY_OK)
        return err == JURY_EINVAL ? JURY_ECORRUPT : err;
    jury_report_quality_t *rq = NULL;
    if ((err = jury_report_quality_new(&rq, settings)) == JURY_OK &&
        (err = jury_report_quality_walk(rq, txn, ds->id)) == JURY_OK)
        err = jury_report_quality_build(rq, txn, ds->id, out);
    jury_report_quality_destroy(&rq);
    jury_settings_destroy(&settings);
    return err;
}

/* Prints JSON value v on one line in the style of the rest of --json: ", " between members and
 * ": " after keys; integers without a fraction. */
static void s_json(const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            printf("%.0f", d);
        else
            printf("%.15g", d);
    } else if (cJSON_IsString(v)) {
        jury_cli_json_string(stdout, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        bool object = cJSON_IsObject(v);
        printf("%s", object ? "{" : "[");
        int k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            printf("%s", k++ ? ", " : "");
            if (object) {
                jury_cli_json_string(stdout, c->string, strlen(c->string));
                printf(": ");
            }
            s_json(c);
        }
        printf("%s", object ? "}" : "]");
    } else {
        printf("%s", cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "null");
    }
}

int jury_cmd_status(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    status_ctx_t s = {0};
    bool force_quality = false;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"quality", no_argument, NULL, 'q'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            s.json = true;
            break;
        case 'q':
            force_quality = true;
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
    if (argc - optind != 1) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    const char *name = argv[optind];
    jury_store_t *store;
    int rc = jury_cli_open_store(&cli, false, true, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    jury_txn_t *txn;
    jury_err err = jury_store_read(store, &txn);
    jury_dataset_t ds;
    jury_counts_t counts;
    uint64_t waiting = 0, reviewed = 0;
    if (err == JURY_OK && (err = jury_store_dataset_get(txn, name, &ds)) == JURY_OK &&
        (err = jury_store_dataset_counts(txn, ds.id, &counts)) == JURY_OK &&
        (err = s_review_counts(txn, ds.id, &waiting, &reviewed)) == JURY_OK) {
        unsigned long long pending = counts.records - counts.completed - counts.discarded;
        if (s.json) {
            printf("{\"dataset\": ");
            jury_cli_json_string(stdout, name, strlen(name));
            printf(", \"records\": %llu, \"pending\": %llu, \"completed\": %llu, \"discarded\": "
                   "%llu, \"contested\": %llu, \"review\": {\"waiting\": %llu, \"reviewed\": "
                   "%llu}, \"responses\": ",
                   (unsigned long long)counts.records, pending,
                   (unsigned long long)counts.completed, (unsigned long long)counts.discarded,
                   (unsigned long long)counts.contested, (unsigned long long)waiting,
                   (unsigned long long)reviewed);
            s_responses_json(&counts);
            printf(", \"annotators\": {");
        } else {
            printf("dataset %s\n", name);
            printf("records     %llu total, %llu pending, %llu completed, %llu set aside",
                   (unsigned long long)counts.records, pending,
                   (unsigned long long)counts.completed, (unsigned long long)counts.discarded);
            if (counts.contested)
                printf(", %llu contested", (unsigned long long)counts.contested);
            printf("\n");
            printf("review      %llu waiting for a reviewer, %llu reviewed\n",
                   (unsigned long long)waiting, (unsigned long long)reviewed);
            printf("responses   %llu submitted, %llu discarded, %llu draft\n",
                   (unsigned long long)counts.responses[JURY_RESPONSE_SUBMITTED],
                   (unsigned long long)counts.responses[JURY_RESPONSE_DISCARDED],
                   (unsigned long long)counts.responses[JURY_RESPONSE_DRAFT]);
        }
        err = jury_store_annotator_counts_each(txn, ds.id, s_annotator, &s);
        cJSON *quality = NULL;
        if (err == JURY_OK)
            err = s_quality(txn, &ds, &counts, force_quality, &quality);
        cJSON *root;
        long pid = 0;
        const cJSON *live = s_live(cli.store, name, &root, &pid);
        /* The coordinator runs but has not loaded this dataset yet: no leases, nobody connected. */
        bool loaded = live && cJSON_GetObjectItemCaseSensitive(live, "leases");
        const cJSON *leases = loaded ? cJSON_GetObjectItemCaseSensitive(live, "leases") : NULL;
        const cJSON *who = loaded ? cJSON_GetObjectItemCaseSensitive(live, "annotators") : NULL;
        if (s.json) {
            printf("}, \"live\": ");
            if (!live) {
                printf("null");
            } else {
                printf("{\"pid\": %ld, \"leases\": %d, \"connected\": [", pid,
                       cJSON_IsNumber(leases) ? leases->valueint : 0);
                int k = 0;
                const cJSON *a;
                cJSON_ArrayForEach(a, who) if (cJSON_IsString(a))
                {
                    printf("%s", k++ ? ", " : "");
                    jury_cli_json_string(stdout, a->valuestring, strlen(a->valuestring));
                }
                printf("]}");
            }
            printf(", \"agreement\": {");
            s_agreement(txn, &ds, true);
            printf("}");
            if (counts.gold) {
                printf(", \"gold\": {\"records\": %llu, \"accuracy\": {",
                       (unsigned long long)counts.gold);
                gold_out_t g = {.txn = txn, .json = true};
                if (err == JURY_OK)
                    err = jury_store_gold_each(txn, ds.id, s_gold, &g);
                printf("%s}}", g.last ? "}" : "");
            }
            printf(", \"annotators_quality\": ");
            s_json(quality);
            printf("}\n");
        } else if (live) {
            printf("\ncoordinator running (pid %ld): %d active lease%s, connected:", pid,
                   cJSON_IsNumber(leases) ? leases->valueint : 0,
                   cJSON_IsNumber(leases) && leases->valueint == 1 ? "" : "s");
            int k = 0;
            const cJSON *a;
            cJSON_ArrayForEach(a, who) if (cJSON_IsString(a))
            {
                printf("%s %s", k++ ? "," : "", a->valuestring);
            }
            printf("%s\n", k ? "" : " nobody");
        }
        if (!s.json && counts.gold) {
            printf("gold        %llu gold records; right answers by annotator and question:\n",
                   (unsigned long long)counts.gold);
            gold_out_t g = {.txn = txn, .json = false};
            if (err == JURY_OK)
                err = jury_store_gold_each(txn, ds.id, s_gold, &g);
        }
        if (!s.json)
            s_agreement(txn, &ds, false);
        if (!s.json && quality) {
            char *table = jury_report_quality_text(quality);
            fputs(table ? table : "", stdout);
            if (table == NULL)
                err = JURY_ENOMEM;
            free(table);
        } else if (!s.json && err == JURY_OK) {
            printf("\nannotator quality: not computed for %llu responses (more than %llu); run "
                   "`jury status %s --quality`\n",
                   (unsigned long long)(counts.responses[JURY_RESPONSE_SUBMITTED] +
                                        counts.responses[JURY_RESPONSE_DISCARDED] +
                                        counts.responses[JURY_RESPONSE_DRAFT]),
                   S_QUALITY_AUTO_MAX, name);
        }
        cJSON_Delete(quality);
        cJSON_Delete(root);
    }
    jury_txn_abort(&txn);
    jury_store_destroy(&store);
    if (err == JURY_ENOTFOUND) {
        jury_cli_error("status: no dataset '%s' in %s (see jury dataset list)", name, cli.store);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        jury_cli_error("status: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}
