/* cmd_dataset.c: `jury dataset create|list|show|update|delete`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "settings.h"

#define SETTINGS_MAX ((size_t)16 << 20)

static const char s_usage[] =
    "usage: jury dataset create NAME --settings FILE\n"
    "       jury dataset list [--json]\n"
    "       jury dataset show NAME\n"
    "       jury dataset update NAME --settings FILE\n"
    "       jury dataset delete NAME --yes\n"
    "\n"
    "A dataset holds records, the questions annotators answer about them and\n"
    "their responses. Its settings (fields, questions, metadata, guidelines,\n"
    "distribution) use Argilla's names; see README.md, \"Dataset settings\".\n"
    "update replaces the guidelines and the consolidation section only: the\n"
    "fields, questions, metadata and distribution must stay as they are.\n"
    "NAME: 1 to 200 letters, digits, '_', '-' or '.', not starting with '.' or '-'.\n"
    "\n"
    "options:\n"
    "  --settings FILE   settings JSON (create, update)\n"
    "  --yes             confirm deletion (delete)\n"
    "  --json            machine-readable output (list)\n"
    "  --store DIR       the store directory\n";

typedef struct {
    jury_cli_t cli;       /* common options */
    const char *settings; /* --settings */
    bool yes;             /* --yes */
    bool json;            /* --json */
} dataset_args_t;

typedef struct {
    const char *name;     /* dataset name */
    const char *settings; /* normalised settings JSON */
} create_arg_t;

static jury_err s_create_body(jury_txn_t *txn, void *arg)
{
    create_arg_t *c = arg;
    return jury_store_dataset_create(txn, c->name, c->settings, strlen(c->settings), NULL);
}

static int s_create(dataset_args_t *a, const char *name)
{
    if (!a->settings) {
        jury_cli_error("dataset create: --settings FILE is required");
        return JURY_EXIT_USAGE;
    }
    if (!jury_settings_name_valid(name)) {
        jury_cli_error("dataset create: invalid name '%s': use 1 to 200 letters, digits, '_', '-' "
                       "or '.', not starting with '.' or '-'",
                       name);
        return JURY_EXIT_USAGE;
    }
    size_t len;
    char *text = jury_cli_read_file(a->settings, SETTINGS_MAX, &len);
    if (!text)
        return JURY_EXIT_USAGE;
    char why[512];
    jury_settings_t *settings = NULL;
    jury_err err = jury_settings_parse(&settings, text, len, why, sizeof why);
    free(text);
    if (err != JURY_OK) {
        jury_cli_error("%s: %s", a->settings, err == JURY_EINVAL ? why : jury_strerror(err));
        return err == JURY_EINVAL ? JURY_EXIT_USAGE : JURY_EXIT_FAILURE;
    }
    create_arg_t arg = {name, jury_settings_to_json(settings, false)};
    size_t nq = jury_settings_question_count(settings);
    double overlap = jury_settings_overlap(settings);
    jury_settings_destroy(&settings);
    if (!arg.settings) {
        jury_cli_error("out of memory");
        return JURY_EXIT_FAILURE;
    }
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, true, false, &store);
    if (rc == JURY_EXIT_OK) {
        err = jury_store_write(store, s_create_body, &arg);
        if (err == JURY_EEXIST) {
            jury_cli_error("dataset create: dataset '%s' exists already in %s", name, a->cli.store);
            rc = JURY_EXIT_USAGE;
        } else if (err != JURY_OK) {
            jury_cli_error("dataset create: %s", jury_strerror(err));
            rc = JURY_EXIT_FAILURE;
        } else {
            printf("created dataset %s (%zu question%s, min_submitted %g) in %s\n", name, nq,
                   nq == 1 ? "" : "s", overlap, a->cli.store);
        }
        jury_store_destroy(&store);
    }
    free((char *)arg.settings);
    return rc;
}

typedef struct {
    const char *name;      /* dataset name */
    const char *path;      /* --settings, for messages */
    jury_settings_t *next; /* the new settings, parsed */
    char *text;            /* their normalised JSON */
    char why[512];         /* why they were refused */
} update_arg_t;

static jury_err s_update_body(jury_txn_t *txn, void *arg)
{
    update_arg_t *u = arg;
    jury_dataset_t ds;
    jury_err err = jury_store_dataset_get(txn, u->name, &ds);
    if (err != JURY_OK)
        return err;
    jury_settings_t *cur = NULL;
    char why[256];
    if ((err = jury_settings_parse(&cur, ds.settings, ds.settings_len, why, sizeof why)) !=
        JURY_OK) {
        snprintf(u->why, sizeof u->why, "the stored settings of '%s' do not parse: %s", u->name,
                 why);
        return JURY_ECORRUPT;
    }
    bool ok = jury_settings_compatible(cur, u->next, why, sizeof why);
    jury_settings_destroy(&cur);
    if (!ok) {
        snprintf(u->why, sizeof u->why, "%s: %s", u->path, why);
        return JURY_EINVAL;
    }
    return jury_store_dataset_set_settings(txn, ds.id, u->text, strlen(u->text));
}

static int s_update(dataset_args_t *a, const char *name)
{
    if (!a->settings) {
        jury_cli_error("dataset update: --settings FILE is required");
        return JURY_EXIT_USAGE;
    }
    size_t len;
    char *text = jury_cli_read_file(a->settings, SETTINGS_MAX, &len);
    if (!text)
        return JURY_EXIT_USAGE;
    update_arg_t u = {.name = name, .path = a->settings};
    jury_err err = jury_settings_parse(&u.next, text, len, u.why, sizeof u.why);
    free(text);
    if (err != JURY_OK) {
        jury_cli_error("%s: %s", a->settings, err == JURY_EINVAL ? u.why : jury_strerror(err));
        return err == JURY_EINVAL ? JURY_EXIT_USAGE : JURY_EXIT_FAILURE;
    }
    u.text = jury_settings_to_json(u.next, false);
    jury_store_t *store = NULL;
    int rc = u.text ? jury_cli_open_store(&a->cli, false, false, &store) : JURY_EXIT_FAILURE;
    if (rc == JURY_EXIT_OK) {
        err = jury_store_write(store, s_update_body, &u);
        if (err == JURY_ENOTFOUND) {
            jury_cli_error("dataset update: no dataset '%s' in %s", name, a->cli.store);
            rc = JURY_EXIT_USAGE;
        } else if (err == JURY_EINVAL) {
            jury_cli_error("dataset update: %s", u.why);
            rc = JURY_EXIT_USAGE;
        } else if (err != JURY_OK) {
            jury_cli_error("dataset update: %s", u.why[0] ? u.why : jury_strerror(err));
            rc = JURY_EXIT_FAILURE;
        } else {
            printf("updated dataset %s: run `jury consolidate %s` to apply a new policy\n", name,
                   name);
        }
        jury_store_destroy(&store);
    }
    jury_settings_destroy(&u.next);
    free(u.text);
    return rc;
}

typedef struct {
    bool json; /* print JSON lines */
    int count; /* datasets printed */
    jury_txn_t *txn;
} list_ctx_t;

static jury_err s_list_one(const jury_dataset_t *ds, void *arg)
{
    list_ctx_t *l = arg;
    jury_counts_t c;
    jury_err err = jury_store_dataset_counts(l->txn, ds->id, &c);
    if (err != JURY_OK)
        return err;
    if (l->json) {
        printf("%s{\"name\": ", l->count ? ", " : "");
        jury_cli_json_string(stdout, ds->name, strlen(ds->name));
        printf(", \"records\": %llu, \"completed\": %llu, \"created_ms\": %lld}",
               (unsigned long long)c.records, (unsigned long long)c.completed,
               (long long)ds->created_ms);
    } else {
        if (l->count == 0)
            printf("%-32s %12s %12s\n", "dataset", "records", "completed");
        printf("%-32s %12llu %12llu\n", ds->name, (unsigned long long)c.records,
               (unsigned long long)c.completed);
    }
    l->count++;
    return JURY_OK;
}

static int s_list(dataset_args_t *a)
{
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, false, true, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    list_ctx_t l = {.json = a->json};
    jury_err err = jury_store_read(store, &l.txn);
    if (err == JURY_OK) {
        if (a->json)
            printf("[");
        err = jury_store_dataset_each(l.txn, s_list_one, &l);
        if (a->json)
            printf("]\n");
        else if (l.count == 0 && err == JURY_OK)
            printf("no datasets in %s\n", a->cli.store);
        jury_txn_abort(&l.txn);
    }
    jury_store_destroy(&store);
    if (err != JURY_OK) {
        jury_cli_error("dataset list: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}

static int s_show(dataset_args_t *a, const char *name)
{
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, false, true, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    jury_txn_t *txn;
    jury_err err = jury_store_read(store, &txn);
    jury_dataset_t ds;
    char *pretty = NULL;
    if (err == JURY_OK && (err = jury_store_dataset_get(txn, name, &ds)) == JURY_OK) {
        jury_settings_t *settings;
        char why[512];
        if ((err = jury_settings_parse(&settings, ds.settings, ds.settings_len, why, sizeof why)) ==
            JURY_OK) {
            pretty = jury_settings_to_json(settings, true);
            jury_settings_destroy(&settings);
            err = pretty ? JURY_OK : JURY_ENOMEM;
        }
    }
    jury_txn_abort(&txn);
    jury_store_destroy(&store);
    if (err == JURY_ENOTFOUND) {
        jury_cli_error("dataset show: no dataset '%s' in %s", name, a->cli.store);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        jury_cli_error("dataset show: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    printf("%s\n", pretty);
    free(pretty);
    return JURY_EXIT_OK;
}

static jury_err s_delete_body(jury_txn_t *txn, void *arg)
{
    return jury_store_dataset_delete(txn, arg);
}

static int s_delete(dataset_args_t *a, const char *name)
{
    if (!a->yes) {
        jury_cli_error("dataset delete: this deletes '%s' with all its records and responses; "
                       "add --yes to confirm",
                       name);
        return JURY_EXIT_USAGE;
    }
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, false, false, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    jury_err err = jury_store_write(store, s_delete_body, (void *)name);
    jury_store_destroy(&store);
    if (err == JURY_ENOTFOUND) {
        jury_cli_error("dataset delete: no dataset '%s' in %s", name, a->cli.store);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        jury_cli_error("dataset delete: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    printf("deleted dataset %s\n", name);
    return JURY_EXIT_OK;
}

int jury_cmd_dataset(const jury_cli_t *cli, int argc, char **argv)
{
    dataset_args_t a = {.cli = *cli};
    static const struct option opts[] = {
        {"settings", required_argument, NULL, 'S'}, {"yes", no_argument, NULL, 'y'},
        {"json", no_argument, NULL, 'j'},           {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            a.settings = optarg;
            break;
        case 'y':
            a.yes = true;
            break;
        case 'j':
            a.json = true;
            break;
        case 's':
            a.cli.store = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return JURY_EXIT_OK;
        default:
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    const char *verb = n > 0 ? argv[optind] : NULL;
    const char *name = n > 1 ? argv[optind + 1] : NULL;
    if (verb && strcmp(verb, "list") == 0 && n == 1)
        return s_list(&a);
    if (verb && name && n == 2) {
        if (strcmp(verb, "create") == 0)
            return s_create(&a, name);
        if (strcmp(verb, "show") == 0)
            return s_show(&a, name);
        if (strcmp(verb, "update") == 0)
            return s_update(&a, name);
        if (strcmp(verb, "delete") == 0)
            return s_delete(&a, name);
    }
    if (verb && strcmp(verb, "list") != 0 && strcmp(verb, "create") != 0 &&
        strcmp(verb, "show") != 0 && strcmp(verb, "delete") != 0 && strcmp(verb, "update") != 0)
        jury_cli_error("dataset: unknown action '%s'", verb);
    fputs(s_usage, stderr);
    return JURY_EXIT_USAGE;
}
