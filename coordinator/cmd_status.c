/* cmd_status.c: `jury status NAME`: records by status, responses by status, per-annotator counts. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char s_usage[] =
    "usage: jury status NAME [--json]\n"
    "\n"
    "Prints dataset NAME's records (total, pending, completed), its responses\n"
    "by status (submitted, discarded, draft) and each annotator's responses.\n"
    "Safe to run while `jury serve` or an import writes: it reads a snapshot.\n"
    "\n"
    "options:\n"
    "  --json        one JSON object: {\"dataset\", \"records\", \"pending\", \"completed\",\n"
    "                \"responses\": {...}, \"annotators\": {NAME: {...}}}\n"
    "  --store DIR   the store directory\n";

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

int jury_cmd_status(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    status_ctx_t s = {0};
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
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
    if (err == JURY_OK && (err = jury_store_dataset_get(txn, name, &ds)) == JURY_OK &&
        (err = jury_store_dataset_counts(txn, ds.id, &counts)) == JURY_OK) {
        unsigned long long pending = counts.records - counts.completed;
        if (s.json) {
            printf("{\"dataset\": ");
            jury_cli_json_string(stdout, name, strlen(name));
            printf(", \"records\": %llu, \"pending\": %llu, \"completed\": %llu, \"responses\": ",
                   (unsigned long long)counts.records, pending,
                   (unsigned long long)counts.completed);
            s_responses_json(&counts);
            printf(", \"annotators\": {");
        } else {
            printf("dataset %s\n", name);
            printf("records     %llu total, %llu pending, %llu completed\n",
                   (unsigned long long)counts.records, pending,
                   (unsigned long long)counts.completed);
            printf("responses   %llu submitted, %llu discarded, %llu draft\n",
                   (unsigned long long)counts.responses[JURY_RESPONSE_SUBMITTED],
                   (unsigned long long)counts.responses[JURY_RESPONSE_DISCARDED],
                   (unsigned long long)counts.responses[JURY_RESPONSE_DRAFT]);
        }
        err = jury_store_annotator_counts_each(txn, ds.id, s_annotator, &s);
        if (s.json)
            printf("}}\n");
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
