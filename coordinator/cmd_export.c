/* cmd_export.c: `jury export NAME --format F`: training files (SFT, DPO, reward modelling, Chain of
 * Hindsight) or records and responses as JSON Lines, optionally split, written atomically. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "export.h"

static const char s_usage[] =
    "usage: jury export NAME --format F [--out FILE] [OPTIONS]\n"
    "\n"
    "Writes dataset NAME as JSON Lines, from the decisions of `jury consolidate`\n"
    "(a snapshot: safe while `jury serve` runs). Formats:\n"
    "  sft           {\"prompt\", \"completion\"} per accepted record\n"
    "  sft-messages  {\"messages\": [system?, user (or the chat turns), assistant]}\n"
    "  dpo           {\"prompt\", \"chosen\", \"rejected\"} per preference pair\n"
    "  rm            {\"chosen\", \"rejected\"}, the prompt inside both\n"
    "  coh           {\"text\"}: Chain of Hindsight\n"
    "  records       every record with its responses, status, unified values,\n"
    "                decision and who reviewed it (\"reviewed_by\", \"reviewed_ms\",\n"
    "                \"review_note\"; null when nobody did) (importable into a\n"
    "                dataset with the same settings)\n"
    "  responses     every response: {\"record\", \"annotator\", \"status\", \"values\",\n"
    "                \"updated_ms\"} (what `jury agreement --responses` reads)\n"
    "Pairs come from a ranking question whose values name text fields (best vs\n"
    "worst), else from edits: the unified text answer against its suggestion.\n"
    "A record whose responses changed since `jury consolidate` counts as pending.\n"
    "A record a reviewer decided is exported with the reviewer's values.\n"
    "\n"
    "options:\n"
    "  --format F           one of the formats above (required)\n"
    "  --out FILE           write FILE (via FILE.tmp, renamed when complete);\n"
    "                       default standard output\n"
    "  --with-meta          add \"meta\": {\"id\", \"annotators\", \"agreement\", \"method\",\n"
    "                       \"reviewed_by\"} to sft, sft-messages, dpo, rm and coh lines\n"
    "  --split SPEC         e.g. train=0.9,test=0.1: one file per part (needs --out;\n"
    "                       sft.jsonl gives sft.train.jsonl and sft.test.jsonl); a\n"
    "                       record's part is fixed by a hash of its id and the seed\n"
    "  --seed S             split seed (default 0)\n"
    "  --prompt TEMPLATE    the prompt from fields: \"{instruction}\\n\\n{context}\"\n"
    "                       ({{ and }} are braces); default: the first required field\n"
    "  --completion Q       the text question answered (default: the first)\n"
    "  --system TEXT        sft-messages: a system message first\n"
    "  --ranking Q          dpo, rm, coh: the ranking question (default: the first\n"
    "                       whose values name text fields)\n"
    "  --source S           auto (default), ranking or edits\n"
    "  --pairs P            best-worst (default) or all: every better/worse pair\n"
    "  --min-edit X         edits: least normalised edit distance between the answer\n"
    "                       and the suggestion that makes a pair (default 0.1)\n"
    "  --coh-template T     coh: default \"{prompt} A helpful answer: {chosen} An\n"
    "                       unhelpful answer: {rejected}\"\n"
    "  --store DIR          the store directory\n";

/* Parses "train=0.9,test=0.1" in place (spec is modified and borrowed by parts). */
static bool s_parse_split(char *spec, jury_split_part_t *parts, size_t *n)
{
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(spec, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL || *n == JURY_EXPORT_SPLIT_MAX)
            return false;
        *eq = '\0';
        char *end;
        errno = 0;
        double share = strtod(eq + 1, &end);
        if (errno || end == eq + 1 || *end)
            return false;
        parts[(*n)++] = (jury_split_part_t){tok, share};
    }
    return true;
}

/* Checks a split as jury_export_run does, so that no file is created for a bad one. */
static bool s_split_ok(const jury_split_part_t *parts, size_t n)
{
    if (n < 2)
        return false;
    double sum = 0;
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(parts[k].name);
        if (len == 0 || len > 64 ||
            strspn(parts[k].name, "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_-") != len)
            return false;
        for (size_t j = 0; j < k; j++)
            if (strcmp(parts[j].name, parts[k].name) == 0)
                return false;
        if (!(parts[k].share > 0) || !isfinite(parts[k].share))
            return false;
        sum += parts[k].share;
    }
    return fabs(sum - 1) <= 1e-9;
}

/* out with ".part" before its extension ("sft.jsonl" -> "sft.train.jsonl"), or appended when it
 * has none. The caller frees the result; NULL when out of memory. */
static char *s_part_path(const char *out, const char *part)
{
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - out) : strlen(out);
    size_t cap = strlen(out) + strlen(part) + 2;
    char *p = malloc(cap);
    if (p)
        snprintf(p, cap, "%.*s.%s%s", (int)stem, out, part, out + stem);
    return p;
}

/* The files of one export: final paths, temporary paths and their streams. */
typedef struct {
    size_t n;                          /* files */
    char *path[JURY_EXPORT_SPLIT_MAX]; /* final paths (owned) */
    char *tmp[JURY_EXPORT_SPLIT_MAX];  /* FILE.tmp (owned) */
    FILE *f[JURY_EXPORT_SPLIT_MAX];    /* open streams on tmp */
} s_files;

/* Closes and removes every temporary file and frees the paths. */
static void s_files_drop(s_files *fs)
{
    for (size_t k = 0; k < fs->n; k++) {
        if (fs->f[k]) {
            fclose(fs->f[k]);
            fs->f[k] = NULL;
        }
        if (fs->tmp[k])
            unlink(fs->tmp[k]);
        free(fs->path[k]);
        free(fs->tmp[k]);
        fs->path[k] = fs->tmp[k] = NULL;
    }
    fs->n = 0;
}

/* Creates the temporary files. Returns an exit code. */
static int s_files_open(s_files *fs, const char *out, const jury_split_part_t *parts, size_t n)
{
    fs->n = n ? n : 1;
    for (size_t k = 0; k < fs->n; k++) {
        fs->path[k] = n ? s_part_path(out, parts[k].name) : strdup(out);
        size_t cap = fs->path[k] ? strlen(fs->path[k]) + 5 : 0;
        fs->tmp[k] = cap ? malloc(cap) : NULL;
        if (fs->tmp[k] == NULL) {
            jury_cli_error("export: out of memory");
            return JURY_EXIT_FAILURE;
        }
        snprintf(fs->tmp[k], cap, "%s.tmp", fs->path[k]);
        fs->f[k] = fopen(fs->tmp[k], "wb");
        if (fs->f[k] == NULL) {
            int e = errno;
            jury_cli_error("export: %s: %s", fs->tmp[k], strerror(e));
            free(fs->tmp[k]);
            fs->tmp[k] = NULL; /* not created: nothing to remove */
            return e == ENOENT || e == EACCES || e == EISDIR || e == ENOTDIR ? JURY_EXIT_USAGE
                                                                             : JURY_EXIT_FAILURE;
        }
    }
    return JURY_EXIT_OK;
}

/* Closes every file and renames it into place. Returns an exit code. */
static int s_files_commit(s_files *fs)
{
    for (size_t k = 0; k < fs->n; k++) {
        int rc = fclose(fs->f[k]);
        fs->f[k] = NULL;
        if (rc != 0) {
            jury_cli_error("export: %s: %s", fs->tmp[k], strerror(errno));
            return JURY_EXIT_FAILURE;
        }
    }
    for (size_t k = 0; k < fs->n; k++) {
        if (rename(fs->tmp[k], fs->path[k]) != 0) {
            jury_cli_error("export: %s: %s", fs->path[k], strerror(errno));
            return JURY_EXIT_FAILURE;
        }
        free(fs->tmp[k]);
        fs->tmp[k] = NULL;
    }
    return JURY_EXIT_OK;
}

/* Whether dataset name has ever been consolidated (false also when that cannot be read). */
static bool s_consolidated(jury_store_t *store, const char *name)
{
    jury_txn_t *txn;
    jury_dataset_t ds;
    const void *blob;
    size_t len;
    if (jury_store_read(store, &txn) != JURY_OK)
        return false;
    bool yes = jury_store_dataset_get(txn, name, &ds) == JURY_OK &&
               jury_store_consolidation_get(txn, ds.id, &blob, &len) == JURY_OK;
    jury_txn_abort(&txn);
    return yes;
}

int jury_cmd_export(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    jury_export_opts_t o = {.min_edit = -1};
    const char *out = NULL;
    char *split_spec = NULL;
    jury_split_part_t parts[JURY_EXPORT_SPLIT_MAX];
    bool have_format = false;
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"with-meta", no_argument, NULL, 'm'},
        {"split", required_argument, NULL, 'S'},
        {"seed", required_argument, NULL, 'r'},
        {"prompt", required_argument, NULL, 'p'},
        {"completion", required_argument, NULL, 'c'},
        {"system", required_argument, NULL, 'y'},
        {"ranking", required_argument, NULL, 'k'},
        {"source", required_argument, NULL, 'u'},
        {"pairs", required_argument, NULL, 'a'},
        {"min-edit", required_argument, NULL, 'e'},
        {"coh-template", required_argument, NULL, 't'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc = JURY_EXIT_OK;
    char *end;
    while (rc == JURY_EXIT_OK && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!jury_export_format_parse(optarg, &o.format)) {
                jury_cli_error("export: --format: '%s' is not sft, sft-messages, dpo, rm, coh, "
                               "records or responses",
                               optarg);
                rc = JURY_EXIT_USAGE;
            }
            have_format = true;
            break;
        case 'o':
            out = optarg;
            break;
        case 'm':
            o.with_meta = true;
            break;
        case 'S':
            free(split_spec);
            split_spec = strdup(optarg);
            if (split_spec == NULL) {
                jury_cli_error("export: out of memory");
                rc = JURY_EXIT_FAILURE;
            } else if (!s_parse_split(split_spec, parts, &o.nsplit) ||
                       !s_split_ok(parts, o.nsplit)) {
                jury_cli_error("export: --split: '%s' is not 2 to %d parts NAME=SHARE, names of "
                               "letters, digits, '_' or '-', shares above 0 adding up to 1 "
                               "(train=0.9,test=0.1)",
                               optarg, JURY_EXPORT_SPLIT_MAX);
                rc = JURY_EXIT_USAGE;
            }
            o.split = parts;
            break;
        case 'r':
            errno = 0;
            o.seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] < '0' || optarg[0] > '9') {
                jury_cli_error("export: --seed: '%s' is not a non-negative integer", optarg);
                rc = JURY_EXIT_USAGE;
            }
            break;
        case 'p':
            o.prompt = optarg;
            break;
        case 'c':
            o.completion = optarg;
            break;
        case 'y':
            o.system = optarg;
            break;
        case 'k':
            o.ranking = optarg;
            break;
        case 'u':
            if (strcmp(optarg, "auto") == 0) {
                o.source = JURY_PAIRS_AUTO;
            } else if (strcmp(optarg, "ranking") == 0) {
                o.source = JURY_PAIRS_RANKING;
            } else if (strcmp(optarg, "edits") == 0) {
                o.source = JURY_PAIRS_EDITS;
            } else {
                jury_cli_error("export: --source: '%s' is not auto, ranking or edits", optarg);
                rc = JURY_EXIT_USAGE;
            }
            break;
        case 'a':
            if (strcmp(optarg, "best-worst") == 0 || strcmp(optarg, "all") == 0) {
                o.pairs_all = strcmp(optarg, "all") == 0;
            } else {
                jury_cli_error("export: --pairs: '%s' is not best-worst or all", optarg);
                rc = JURY_EXIT_USAGE;
            }
            break;
        case 'e':
            errno = 0;
            o.min_edit = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o.min_edit >= 0 && o.min_edit <= 1)) {
                jury_cli_error("export: --min-edit: '%s' is not a number within 0..1", optarg);
                rc = JURY_EXIT_USAGE;
            }
            break;
        case 't':
            o.coh_template = optarg;
            break;
        case 's':
            cli.store = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            free(split_spec);
            return JURY_EXIT_OK;
        default:
            fputs(s_usage, stderr);
            rc = JURY_EXIT_USAGE;
        }
    }
    if (rc == JURY_EXIT_OK && argc - optind != 1) {
        fputs(s_usage, stderr);
        rc = JURY_EXIT_USAGE;
    }
    if (rc == JURY_EXIT_OK && have_format && o.with_meta &&
        (o.format == JURY_EXPORT_RECORDS || o.format == JURY_EXPORT_RESPONSES)) {
        jury_cli_error("export: --with-meta applies to sft, sft-messages, dpo, rm and coh; "
                       "records and responses carry everything already");
        rc = JURY_EXIT_USAGE;
    }
    if (rc == JURY_EXIT_OK && !have_format) {
        jury_cli_error("export: --format is required: sft, sft-messages, dpo, rm, coh, records or "
                       "responses");
        rc = JURY_EXIT_USAGE;
    }
    if (rc == JURY_EXIT_OK && o.nsplit && out == NULL) {
        jury_cli_error("export: --split writes one file per part: it needs --out FILE");
        rc = JURY_EXIT_USAGE;
    }
    if (rc != JURY_EXIT_OK) {
        free(split_spec);
        return rc;
    }
    const char *name = argv[optind];
    o.progress = true;

    jury_store_t *store;
    rc = jury_cli_open_store(&cli, false, true, &store);
    if (rc != JURY_EXIT_OK) {
        free(split_spec);
        return rc;
    }
    s_files fs = {0};
    FILE *std_out[1] = {stdout};
    if (out != NULL)
        rc = s_files_open(&fs, out, parts, o.nsplit);
    jury_export_stats_t st;
    char why[1024];
    jury_err err = JURY_OK;
    if (rc == JURY_EXIT_OK) {
        err = jury_export_run(store, name, &o, out ? fs.f : std_out, out ? fs.n : 1, &st, why,
                              sizeof why);
        if (err == JURY_EIO)
            snprintf(why, sizeof why, "%s: %s", out ? "writing the output" : "standard output",
                     strerror(errno));
        if (err != JURY_OK) {
            jury_cli_error("export: %s", why);
            rc = err == JURY_EINVAL || err == JURY_ENOTFOUND ? JURY_EXIT_USAGE : JURY_EXIT_FAILURE;
        }
    }
    if (rc == JURY_EXIT_OK && out == NULL && fflush(stdout) != 0) {
        jury_cli_error("export: standard output: %s", strerror(errno));
        rc = JURY_EXIT_FAILURE;
    }
    if (rc == JURY_EXIT_OK && out != NULL)
        rc = s_files_commit(&fs);
    if (rc == JURY_EXIT_OK) {
        uint64_t total = 0;
        for (size_t k = 0; k < (fs.n ? fs.n : 1); k++)
            total += st.lines[k];
        fprintf(stderr, "exported %llu lines to ", (unsigned long long)total);
        if (out == NULL) {
            fputs("standard output", stderr);
        } else if (fs.n == 1) {
            fputs(fs.path[0], stderr);
        } else {
            for (size_t k = 0; k < fs.n; k++)
                fprintf(stderr, "%s%s (%llu)",
                        k == 0          ? ""
                        : k + 1 == fs.n ? " and "
                                        : ", ",
                        fs.path[k], (unsigned long long)st.lines[k]);
        }
        fprintf(stderr,
                " (accepted %llu, rejected %llu, pending %llu; %llu accepted without a "
                "line)\n",
                (unsigned long long)st.accepted, (unsigned long long)st.rejected,
                (unsigned long long)st.pending, (unsigned long long)st.skipped);
        if (!s_consolidated(store, name))
            jury_cli_error("export: warning: dataset %s has never been consolidated: run `jury "
                           "consolidate %s` to decide which records are accepted",
                           name, name);
        else if (st.stale > 0)
            jury_cli_error("export: warning: %llu record%s changed since `jury consolidate` last "
                           "ran and count%s as pending: run `jury consolidate %s` to decide them",
                           (unsigned long long)st.stale, st.stale == 1 ? "" : "s",
                           st.stale == 1 ? "s" : "", name);
    }
    s_files_drop(&fs);
    jury_store_destroy(&store);
    free(split_spec);
    return rc;
}
