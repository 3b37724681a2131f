/* cmd_dump.c: `jury dump NAME`: every record with its state and raw responses as JSON lines, for
 * inspection and tests. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "cli.h"
#include "jury_jsonpack.h"

static const char s_usage[] =
    "usage: jury dump NAME [--status pending|completed|discarded]\n"
    "\n"
    "Prints every record of dataset NAME as one JSON line, in import order:\n"
    "  {\"id\", \"status\", \"target\", \"submitted\", \"discarded\", \"draft\",\n"
    "   \"fields\", \"metadata\", \"suggestions\",\n"
    "   \"responses\": [{\"annotator\", \"status\", \"values\", \"updated_ms\"}]}\n"
    "Reads a snapshot: safe while `jury serve` runs. The final SFT and\n"
    "preference files come from consolidation and export, not from this.\n"
    "\n"
    "options:\n"
    "  --status S    only records with this status\n"
    "  --store DIR   the store directory\n";

typedef struct {
    jury_txn_t *txn;  /* snapshot */
    int only;         /* status filter, -1 for all */
    cJSON *responses; /* the current record's responses */
    jury_err err;     /* first failure */
} dump_ctx_t;

static jury_err s_response(const jury_response_t *r, void *arg)
{
    dump_ctx_t *d = arg;
    const char *name = "?";
    jury_err err = jury_store_annotator_name(d->txn, r->annotator, &name);
    if (err != JURY_OK)
        return err;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "annotator", name);
    cJSON_AddStringToObject(o, "status", jury_response_status_name(r->status));
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object v;
    cJSON *values = NULL;
    if (r->values_len &&
        msgpack_unpack(r->values, r->values_len, NULL, &zone, &v) == MSGPACK_UNPACK_SUCCESS)
        values = jury_jsonpack_to_json(&v);
    msgpack_zone_destroy(&zone);
    cJSON_AddItemToObject(o, "values", values ? values : cJSON_CreateObject());
    cJSON_AddNumberToObject(o, "updated_ms", (double)r->updated_ms);
    cJSON_AddItemToArray(d->responses, o);
    return JURY_OK;
}

static jury_err s_record(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    dump_ctx_t *d = arg;
    if (d->only >= 0 && (int)st->status != d->only)
        return JURY_OK;
    const void *payload;
    size_t len;
    jury_err err = jury_store_record_get(d->txn, rid, &payload, &len, NULL);
    if (err != JURY_OK)
        return err;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object o;
    cJSON *rec = NULL;
    if (msgpack_unpack(payload, len, NULL, &zone, &o) == MSGPACK_UNPACK_SUCCESS)
        rec = jury_jsonpack_to_json(&o);
    msgpack_zone_destroy(&zone);
    if (!rec || !cJSON_IsObject(rec)) {
        cJSON_Delete(rec);
        return JURY_ECORRUPT;
    }
    /* Put the state right after the id, before the content. */
    cJSON *out = cJSON_CreateObject();
    cJSON *id = cJSON_DetachItemFromObjectCaseSensitive(rec, "id");
    cJSON_AddItemToObject(out, "id", id ? id : cJSON_CreateNull());
    cJSON_AddStringToObject(out, "status", jury_record_status_name(st->status));
    cJSON_AddNumberToObject(out, "target", st->target);
    cJSON_AddNumberToObject(out, "submitted", st->submitted);
    cJSON_AddNumberToObject(out, "discarded", st->discarded);
    cJSON_AddNumberToObject(out, "draft", st->draft);
    if (st->contested)
        cJSON_AddTrueToObject(out, "contested");
    if (st->gold)
        cJSON_AddTrueToObject(out, "gold");
    static const char *const parts[] = {"fields", "metadata", "suggestions"};
    for (int i = 0; i < 3; i++) {
        cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(rec, parts[i]);
        cJSON_AddItemToObject(out, parts[i], p ? p : cJSON_CreateObject());
    }
    cJSON_Delete(rec);
    d->responses = cJSON_AddArrayToObject(out, "responses");
    err = jury_store_response_each(d->txn, rid, s_response, d);
    if (err == JURY_OK) {
        char *text = cJSON_PrintUnformatted(out);
        if (text)
            printf("%s\n", text);
        else
            err = JURY_ENOMEM;
        free(text);
    }
    cJSON_Delete(out);
    return err;
}

int jury_cmd_dump(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    int only = -1;
    static const struct option opts[] = {
        {"status", required_argument, NULL, 'S'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            for (only = 0; only <= JURY_RECORD_DISCARDED; only++)
                if (strcmp(optarg, jury_record_status_name((jury_record_status)only)) == 0)
                    break;
            if (only > JURY_RECORD_DISCARDED) {
                jury_cli_error("dump: --status: '%s' is not pending, completed or discarded",
                               optarg);
                return JURY_EXIT_USAGE;
            }
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
    dump_ctx_t d = {.only = only};
    jury_err err = jury_store_read(store, &d.txn);
    jury_dataset_t ds;
    if (err == JURY_OK && (err = jury_store_dataset_get(d.txn, name, &ds)) == JURY_OK)
        err = jury_store_record_each(d.txn, ds.id, 0, s_record, &d);
    jury_txn_abort(&d.txn);
    jury_store_destroy(&store);
    if (err == JURY_ENOTFOUND) {
        jury_cli_error("dump: no dataset '%s' in %s (see jury dataset list)", name, cli.store);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        jury_cli_error("dump: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}
