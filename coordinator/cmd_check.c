/* cmd_check.c: `jury check [NAME]`: verifies that a dataset's records, responses, index, counters
 * and review queue agree with each other. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char s_usage[] =
    "usage: jury check [NAME]\n"
    "\n"
    "Verifies dataset NAME, or every dataset of the store when no NAME is given,\n"
    "each in one read snapshot: every response belongs to an existing record and\n"
    "annotator; each record's counts of submitted, discarded and draft responses\n"
    "match its responses, and its status (pending, completed, set aside) its\n"
    "counts and target; no record but a gold one has more submitted responses\n"
    "than its target; the external-id index and the records agree both ways; the\n"
    "dataset's counters and each annotator's match the records and responses;\n"
    "every review queue entry and review names an existing record.\n"
    "\n"
    "Prints \"ok: dataset NAME: N records, M responses\" for a sound dataset, else\n"
    "one line per problem, \"dataset NAME: PROBLEM\" (the first 100 of each\n"
    "dataset), and how many there were. Safe while `jury serve` runs, but the\n"
    "snapshot pins the store's pages for as long as the check reads: on a busy\n"
    "store, check a backup (`jury backup DEST`, then `jury --store DEST check`).\n"
    "\n"
    "options:\n"
    "  --store DIR   the store directory\n"
    "\n"
    "exit codes: 0 no problems, 1 problems found (or the check could not run),\n"
    "2 bad usage or no such dataset\n";

/* Problem lines printed per dataset; the rest are counted. */
#define S_MAX_REPORTS 100

/* A dataset to check, copied out of the transaction that listed it. */
typedef struct {
    uint32_t id; /* dataset id */
    char *name;  /* its name (owned) */
} ds_item_t;

typedef struct {
    ds_item_t *items; /* datasets in name order */
    size_t n, cap;    /* used, allocated */
} ds_list_t;

static jury_err s_collect(const jury_dataset_t *ds, void *arg)
{
    ds_list_t *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ds_item_t *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return JURY_ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    if (!(l->items[l->n].name = strdup(ds->name)))
        return JURY_ENOMEM;
    l->items[l->n++].id = ds->id;
    return JURY_OK;
}

static void s_list_free(ds_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].name);
    free(l->items);
}

static void s_report(const char *problem, void *arg)
{
    printf("dataset %s: %s\n", (const char *)arg, problem);
}

/* Checks one dataset in its own snapshot; returns JURY_OK with *problems set when it ran. */
static jury_err s_check_one(jury_store_t *store, const ds_item_t *ds, uint64_t *problems)
{
    jury_txn_t *txn;
    jury_store_check_t r;
    jury_err err = jury_store_read(store, &txn);
    if (err != JURY_OK)
        return err;
    err = jury_store_check(txn, ds->id, S_MAX_REPORTS, s_report, ds->name, &r);
    jury_txn_abort(&txn);
    if (err != JURY_OK)
        return err;
    *problems = r.problems;
    if (r.problems == 0) {
        printf("ok: dataset %s: %llu records", ds->name, (unsigned long long)r.records);
        if (r.gold)
            printf(" (%llu gold)", (unsigned long long)r.gold);
        printf(", %llu responses\n", (unsigned long long)r.responses);
    } else if (r.problems > S_MAX_REPORTS) {
        printf("dataset %s: %llu problems (the first %d shown)\n", ds->name,
               (unsigned long long)r.problems, S_MAX_REPORTS);
    } else {
        printf("dataset %s: %llu problem%s\n", ds->name, (unsigned long long)r.problems,
               r.problems == 1 ? "" : "s");
    }
    return JURY_OK;
}

int jury_cmd_check(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
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
    if (argc - optind > 1) {
        jury_cli_error("check: unexpected argument '%s'", argv[optind + 1]);
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    const char *only = argc - optind == 1 ? argv[optind] : NULL;
    jury_store_t *store;
    int rc = jury_cli_open_store(&cli, false, true, &store);
    if (rc != JURY_EXIT_OK)
        return rc;

    /* List first, then one short snapshot per dataset, so that a long check of one dataset
     * does not pin the pages of all the others. */
    ds_list_t list = {0};
    jury_txn_t *txn;
    jury_err err = jury_store_read(store, &txn);
    if (err == JURY_OK) {
        jury_dataset_t ds;
        if (!only)
            err = jury_store_dataset_each(txn, s_collect, &list);
        else if ((err = jury_store_dataset_get(txn, only, &ds)) == JURY_OK)
            err = s_collect(&ds, &list);
        jury_txn_abort(&txn);
    }
    if (err == JURY_ENOTFOUND && only) {
        jury_cli_error("check: no dataset '%s' in %s (see jury dataset list)", only, cli.store);
        rc = JURY_EXIT_USAGE;
        goto done;
    }
    if (err != JURY_OK) {
        jury_cli_error("check: cannot list the datasets of %s: %s", cli.store, jury_strerror(err));
        rc = JURY_EXIT_FAILURE;
        goto done;
    }
    if (list.n == 0)
        printf("ok: store %s holds no datasets\n", cli.store);
    uint64_t total = 0;
    for (size_t i = 0; i < list.n; i++) {
        uint64_t problems = 0;
        err = s_check_one(store, &list.items[i], &problems);
        if (err == JURY_ENOTFOUND) {
            printf("dataset %s: deleted while the check ran\n", list.items[i].name);
            continue;
        }
        if (err != JURY_OK) {
            fflush(stdout);
            jury_cli_error("check: dataset %s: the check could not run: %s", list.items[i].name,
                           jury_strerror(err));
            rc = JURY_EXIT_FAILURE;
            continue;
        }
        total += problems;
    }
    if (total > 0)
        rc = JURY_EXIT_FAILURE;
done:
    s_list_free(&list);
    jury_store_destroy(&store);
    return rc;
}
