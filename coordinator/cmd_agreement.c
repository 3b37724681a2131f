/* cmd_agreement.c: `jury agreement`: inter-annotator agreement of a dataset in the store, or of a
 * responses file, as text, JSON or HTML. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "cli.h"
#include "import.h"
#include "jury_jsonpack.h"
#include "report.h"
#include "report_quality.h"
#include "settings.h"

static const char s_usage[] =
    "usage: jury agreement NAME [OPTIONS]\n"
    "       jury agreement --responses FILE.jsonl --settings SETTINGS.json [OPTIONS]\n"
    "\n"
    "Measures how much annotators agree, per question, from the submitted\n"
    "responses of dataset NAME (a snapshot: safe while `jury serve` runs), or\n"
    "offline from a file of responses, one per line:\n"
    "  {\"record\": \"<id>\", \"annotator\": \"<name>\", \"status\": \"submitted\",\n"
    "   \"values\": {\"<question>\": <value>, ...}}\n"
    "checked against the dataset settings in SETTINGS.json.\n"
    "\n"
    "Per question type: label_selection nominal alpha, Fleiss' and Cohen's kappa;\n"
    "rating interval alpha (and ordinal), Fleiss, Cohen and weighted kappa;\n"
    "multi_label_selection MASI alpha; ranking Kendall-tau alpha; text mean\n"
    "similarity (1 - normalised edit distance) and alpha on it; span mean\n"
    "character-level F1. Also percent agreement, 95% bootstrap intervals, and\n"
    "agreement per annotator pair, per annotator and per record, and a table of\n"
    "annotator quality: responses, discard rate, agreement with others on the\n"
    "label and rating questions, median seconds between consecutive answers\n"
    "(from the store only), state.\n"
    "\n"
    "options:\n"
    "  --question Q        only question Q\n"
    "  --level L           alpha's level for rating and label questions:\n"
    "                      nominal, ordinal, interval or ratio\n"
    "  --format F          text (default), json or html (one self-contained page)\n"
    "  --out FILE          write the report to FILE instead of standard output\n"
    "  --bootstrap N       bootstrap resamples for alpha's interval (default 1000)\n"
    "  --seed N            bootstrap seed (default 0): the same seed, the same interval\n"
    "  --responses FILE    responses file (JSONL; - for standard input)\n"
    "  --settings FILE     the dataset settings for --responses\n"
    "  --store DIR         the store directory\n"
    "\n"
    "Bad input (an unknown question, a value of the wrong type, a line that is\n"
    "not JSON) is reported as FILE:LINE: reason, with exit code 2.\n";

/* Problems of a responses file printed before the rest are only counted. */
#define S_PRINT_PROBLEMS 20

/* Largest settings file read. */
#define S_SETTINGS_MAX ((size_t)16 << 20)

typedef enum { S_TEXT, S_JSON, S_HTML } s_format;

/* What the store walk needs. */
typedef struct {
    jury_txn_t *txn;             /* snapshot */
    jury_report_t *rep;          /* the report being filled */
    jury_report_quality_t *qual; /* the annotator quality table being filled */
    uint64_t rid;                /* the current record's id */
    const char *record; /* the current record's external id (borrowed from its payload copy) */
    msgpack_zone zone;  /* decodes every response's values, cleared after each */
    const char **names; /* annotator names by id (borrowed from txn), NULL until looked up */
    uint32_t nnames;    /* room in names */
    char why[1024];     /* reason of the first failure */
    jury_err err;       /* first failure */
} s_walk;

/* Annotator id's name, looked up in the store once per walk. */
static jury_err s_annotator(s_walk *w, uint32_t id, const char **name)
{
    if (id >= w->nnames) {
        uint32_t n = w->nnames ? w->nnames : 64;
        while (n <= id && n < UINT32_MAX / 2)
            n *= 2;
        if (n <= id)
            return jury_store_annotator_name(w->txn, id, name);
        const char **names = realloc(w->names, (size_t)n * sizeof *names);
        if (names == NULL)
            return JURY_ENOMEM;
        memset(names + w->nnames, 0, (size_t)(n - w->nnames) * sizeof *names);
        w->names = names;
        w->nnames = n;
    }
    if (w->names[id] == NULL) {
        jury_err err = jury_store_annotator_name(w->txn, id, &w->names[id]);
        if (err != JURY_OK)
            return err;
    }
    *name = w->names[id];
    return JURY_OK;
}

static jury_err s_response(const jury_response_t *r, void *arg)
{
    s_walk *w = arg;
    const char *name;
    jury_err err = s_annotator(w, r->annotator, &name);
    if (err != JURY_OK)
        return err;
    cJSON *values = NULL;
    if (r->values_len) {
        msgpack_object v;
        if (msgpack_unpack(r->values, r->values_len, NULL, &w->zone, &v) == MSGPACK_UNPACK_SUCCESS)
            values = jury_jsonpack_to_json(&v);
        msgpack_zone_clear(&w->zone);
        if (values == NULL) {
            snprintf(w->why, sizeof w->why, "record \"%s\", annotator \"%s\": undecodable values",
                     w->record, name);
            return JURY_ECORRUPT;
        }
    }
    char why[512];
    err = jury_report_add(w->rep, w->record, name, r->status == JURY_RESPONSE_SUBMITTED, values,
                          why, sizeof why);
    cJSON_Delete(values);
    if (err == JURY_EINVAL || err == JURY_EEXIST) {
        /* The coordinator checked every stored value: this store was written by something else. */
        snprintf(w->why, sizeof w->why, "record \"%s\", annotator \"%s\": %s", w->record, name,
                 why);
        return JURY_ECORRUPT;
    }
    if (err == JURY_OK)
        err = jury_report_quality_add_stored(w->qual, w->rid, r);
    return err;
}

/* The external id in a stored record payload (a msgpack map with "id"), copied into out. */
static bool s_record_id(const void *payload, size_t len, char *out, size_t cap, msgpack_zone *zone)
{
    msgpack_object o;
    bool ok = false;
    if (msgpack_unpack(payload, len, NULL, zone, &o) == MSGPACK_UNPACK_SUCCESS &&
        o.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o.via.map.size; i++) {
            const msgpack_object_kv *kv = &o.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 2 &&
                memcmp(kv->key.via.str.ptr, "id", 2) == 0 && kv->val.type == MSGPACK_OBJECT_STR &&
                kv->val.via.str.size < cap &&
                memchr(kv->val.via.str.ptr, '\0', kv->val.via.str.size) == NULL) {
                memcpy(out, kv->val.via.str.ptr, kv->val.via.str.size);
                out[kv->val.via.str.size] = '\0';
                ok = true;
            }
        }
    }
    msgpack_zone_clear(zone);
    return ok;
}

static jury_err s_record(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    s_walk *w = arg;
    /* Gold records measure annotators against known answers, not against each other. */
    if (st->gold)
        return JURY_OK;
    const void *payload;
    size_t len;
    jury_err err = jury_store_record_get(w->txn, rid, &payload, &len, NULL);
    if (err != JURY_OK)
        return err;
    char id[JURY_STORE_EXTID_MAX + 1];
    if (!s_record_id(payload, len, id, sizeof id, &w->zone)) {
        snprintf(w->why, sizeof w->why, "record %llu has no readable id", (unsigned long long)rid);
        return JURY_ECORRUPT;
    }
    w->record = id;
    w->rid = rid;
    err = jury_store_response_each(w->txn, rid, s_response, w);
    w->record = NULL;
    return err;
}

/* Fills a report and the annotator quality rows (*quality) from dataset name of the store, in one
 * walk of one snapshot. Returns an exit code. */
static int s_from_store(const jury_cli_t *cli, const char *name, const jury_report_opts_t *opts,
                        jury_settings_t **settings, jury_report_t **rep, cJSON **quality)
{
    jury_store_t *store;
    int rc = jury_cli_open_store(cli, false, true, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    s_walk w = {0};
    jury_dataset_t ds;
    char why[512] = "";
    /* The store keys responses by record and annotator and checked their values when it took
     * them: the report need not check again (jury_report_add). */
    jury_report_opts_t trusted = *opts;
    trusted.trusted = true;
    bool zone = msgpack_zone_init(&w.zone, 1024);
    jury_err err = zone ? JURY_OK : JURY_ENOMEM;
    if (err == JURY_OK)
        err = jury_store_read(store, &w.txn);
    if (err == JURY_OK && (err = jury_store_dataset_get(w.txn, name, &ds)) == JURY_OK) {
        if (jury_settings_parse(settings, ds.settings, ds.settings_len, why, sizeof why) !=
            JURY_OK) {
            snprintf(w.why, sizeof w.why, "the stored settings do not parse: %s", why);
            err = JURY_ECORRUPT;
        } else if ((err = jury_report_new(rep, *settings, &trusted, why, sizeof why)) == JURY_OK &&
                   (err = jury_report_quality_new(&w.qual, *settings)) == JURY_OK) {
            w.rep = *rep;
            err = jury_store_record_each(w.txn, ds.id, 0, s_record, &w);
            /* Names and states come from the same snapshot as the responses. */
            if (err == JURY_OK)
                err = jury_report_quality_build(w.qual, w.txn, ds.id, quality);
        }
    }
    jury_txn_abort(&w.txn);
    jury_report_quality_destroy(&w.qual);
    if (zone)
        msgpack_zone_destroy(&w.zone);
    free(w.names);
    jury_store_destroy(&store);
    if (err == JURY_OK)
        return JURY_EXIT_OK;
    if (err == JURY_ENOTFOUND && *settings == NULL) {
        jury_cli_error("agreement: no dataset '%s' in %s (see jury dataset list)", name,
                       cli->store);
        return JURY_EXIT_USAGE;
    }
    if (err == JURY_ENOTFOUND && *rep == NULL) {
        jury_cli_error("agreement: --question: %s", why);
        return JURY_EXIT_USAGE;
    }
    if (err == JURY_ECORRUPT && w.why[0])
        jury_cli_error("agreement: dataset '%s' in %s is damaged: %s", name, cli->store, w.why);
    else
        jury_cli_error("agreement: %s", jury_strerror(err));
    return JURY_EXIT_FAILURE;
}

/* Fills a report and the annotator quality rows (*quality) from a settings file and a responses
 * file. Returns an exit code. */
static int s_from_files(const char *settings_path, const char *responses_path,
                        const jury_report_opts_t *opts, jury_settings_t **settings,
                        jury_report_t **rep, cJSON **quality)
{
    size_t len;
    char *text = jury_cli_read_file(settings_path, S_SETTINGS_MAX, &len);
    if (text == NULL)
        return JURY_EXIT_USAGE;
    char why[1024];
    jury_err err = jury_settings_parse(settings, text, len, why, sizeof why);
    free(text);
    if (err != JURY_OK) {
        jury_cli_error("%s: %s", settings_path, err == JURY_EINVAL ? why : jury_strerror(err));
        return err == JURY_EINVAL ? JURY_EXIT_USAGE : JURY_EXIT_FAILURE;
    }
    if ((err = jury_report_new(rep, *settings, opts, why, sizeof why)) != JURY_OK) {
        if (err == JURY_ENOTFOUND || err == JURY_EINVAL) {
            jury_cli_error("agreement: --question: %s", why);
            return JURY_EXIT_USAGE;
        }
        jury_cli_error("agreement: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    jury_report_quality_t *qual = NULL;
    if ((err = jury_report_quality_new(&qual, *settings)) != JURY_OK) {
        jury_cli_error("agreement: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    bool is_stdin = strcmp(responses_path, "-") == 0;
    const char *shown = is_stdin ? "<stdin>" : responses_path;
    FILE *f = is_stdin ? stdin : fopen(responses_path, "rb");
    if (f == NULL) {
        jury_cli_error("%s: %s", responses_path, strerror(errno));
        jury_report_quality_destroy(&qual);
        return JURY_EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long long line_no = 0, lines = 0, problems = 0;
    int rc = JURY_EXIT_OK;
    errno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        line_no++;
        size_t l = (size_t)n;
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            l--;
        size_t blank = 0;
        while (blank < l && (line[blank] == ' ' || line[blank] == '\t'))
            blank++;
        if (blank == l)
            continue;
        lines++;
        if (l > JURY_IMPORT_LINE_MAX) {
            snprintf(why, sizeof why, "line longer than %zu MiB", JURY_IMPORT_LINE_MAX >> 20);
            err = JURY_EINVAL;
        } else {
            err = jury_report_add_line(*rep, line, l, why, sizeof why);
        }
        /* Once a line has a problem no report is made: the quality table stops collecting. */
        if (err == JURY_OK && problems == 0) {
            jury_err qerr = jury_report_quality_add_line(qual, line, l);
            /* The report took the line: refusing it here would be a bug, not bad input. */
            if (qerr != JURY_OK)
                err = qerr == JURY_EINVAL ? JURY_EINTERNAL : qerr;
        }
        if (err == JURY_EINVAL || err == JURY_EEXIST) {
            if (problems++ < S_PRINT_PROBLEMS)
                fprintf(stderr, "%s:%llu: %s\n", shown, line_no, why);
            continue;
        }
        if (err != JURY_OK) {
            jury_cli_error("agreement: %s", jury_strerror(err));
            rc = JURY_EXIT_FAILURE;
            break;
        }
    }
    if (rc == JURY_EXIT_OK && ferror(f)) {
        jury_cli_error("%s: %s", responses_path, strerror(errno));
        rc = JURY_EXIT_FAILURE;
    }
    free(line);
    if (!is_stdin)
        fclose(f);
    if (rc == JURY_EXIT_OK && problems > 0) {
        if (problems > S_PRINT_PROBLEMS)
            fprintf(stderr, "%s: ... and %llu more problems\n", shown, problems - S_PRINT_PROBLEMS);
        jury_cli_error("agreement: %llu of %llu responses in %s are invalid; no report was made",
                       problems, lines, shown);
        rc = JURY_EXIT_USAGE;
    }
    if (rc == JURY_EXIT_OK &&
        (err = jury_report_quality_build(qual, NULL, 0, quality)) != JURY_OK) {
        jury_cli_error("agreement: %s", jury_strerror(err));
        rc = JURY_EXIT_FAILURE;
    }
    jury_report_quality_destroy(&qual);
    return rc;
}

/* Writes text to path (or stdout when NULL). Returns an exit code. */
static int s_write(const char *path, const char *text)
{
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (f == NULL) {
        jury_cli_error("agreement: --out %s: %s", path, strerror(errno));
        return JURY_EXIT_FAILURE;
    }
    size_t len = strlen(text);
    bool ok = fwrite(text, 1, len, f) == len;
    ok = (path ? fclose(f) == 0 : fflush(f) == 0) && ok;
    if (!ok) {
        jury_cli_error("agreement: %s: %s", path ? path : "standard output", strerror(errno));
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}

static bool s_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

int jury_cmd_agreement(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    jury_report_opts_t opts = {0};
    s_format format = S_TEXT;
    const char *out = NULL, *responses = NULL, *settings_path = NULL;
    static const struct option longopts[] = {
        {"question", required_argument, NULL, 'q'},
        {"level", required_argument, NULL, 'l'},
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"bootstrap", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 'r'},
        {"responses", required_argument, NULL, 'R'},
        {"settings", required_argument, NULL, 'S'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const levels[] = {"nominal", "ordinal", "interval", "ratio"};
    static const char *const formats[] = {"text", "json", "html"};
    uint64_t num;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'q':
            opts.question = optarg;
            break;
        case 'l':
            opts.level = JURY_REPORT_LEVEL_DEFAULT;
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, levels[i]) == 0)
                    opts.level = (jury_report_level)(JURY_REPORT_LEVEL_NOMINAL + i);
            if (opts.level == JURY_REPORT_LEVEL_DEFAULT) {
                jury_cli_error("agreement: --level: '%s' is not nominal, ordinal, interval or "
                               "ratio",
                               optarg);
                return JURY_EXIT_USAGE;
            }
            break;
        case 'f': {
            int i = 0;
            while (i < 3 && strcmp(optarg, formats[i]) != 0)
                i++;
            if (i == 3) {
                jury_cli_error("agreement: --format: '%s' is not text, json or html", optarg);
                return JURY_EXIT_USAGE;
            }
            format = (s_format)i;
            break;
        }
        case 'o':
            out = optarg;
            break;
        case 'b':
            if (!s_parse_u64(optarg, 1000000, &num) || num == 0) {
                jury_cli_error("agreement: --bootstrap: '%s' is not a number from 1 to 1000000",
                               optarg);
                return JURY_EXIT_USAGE;
            }
            opts.bootstrap = (uint32_t)num;
            break;
        case 'r':
            if (!s_parse_u64(optarg, UINT64_MAX, &num)) {
                jury_cli_error("agreement: --seed: '%s' is not a non-negative integer", optarg);
                return JURY_EXIT_USAGE;
            }
            opts.seed = num;
            break;
        case 'R':
            responses = optarg;
            break;
        case 'S':
            settings_path = optarg;
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
    int positional = argc - optind;
    if (responses || settings_path) {
        if (!responses || !settings_path || positional != 0) {
            jury_cli_error("agreement: offline use takes --responses FILE and --settings FILE, "
                           "and no dataset name");
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    } else if (positional != 1) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }

    jury_settings_t *settings = NULL;
    jury_report_t *rep = NULL;
    const char *title = responses ? (strcmp(responses, "-") ? responses : "<stdin>") : argv[optind];
    cJSON *quality = NULL;
    int rc = responses ? s_from_files(settings_path, responses, &opts, &settings, &rep, &quality)
                       : s_from_store(&cli, argv[optind], &opts, &settings, &rep, &quality);
    cJSON *model = NULL;
    char *text = NULL;
    if (rc == JURY_EXIT_OK) {
        jury_err err = jury_report_build(rep, &model);
        if (err == JURY_OK) {
            if (cJSON_AddItemToObject(model, "annotators_quality", quality))
                quality = NULL;
            else
                err = JURY_ENOMEM;
        }
        if (err == JURY_OK) {
            if (format == S_JSON) {
                char *json = cJSON_Print(model);
                size_t n = json ? strlen(json) : 0;
                text = json ? realloc(json, n + 2) : NULL;
                if (text) {
                    text[n] = '\n';
                    text[n + 1] = '\0';
                } else {
                    free(json);
                }
            } else {
                text = format == S_HTML ? jury_report_html(model, title)
                                        : jury_report_text(model, title);
            }
            if (text == NULL)
                err = JURY_ENOMEM;
        }
        if (err != JURY_OK) {
            jury_cli_error("agreement: %s", jury_strerror(err));
            rc = JURY_EXIT_FAILURE;
        }
    }
    if (rc == JURY_EXIT_OK)
        rc = s_write(out, text);
    free(text);
    cJSON_Delete(model);
    cJSON_Delete(quality);
    jury_report_destroy(&rep);
    jury_settings_destroy(&settings);
    return rc;
}
