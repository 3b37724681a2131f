/* main.c: the `jury` program: global options, help, and dispatch to subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "jury_log.h"

static const char s_usage[] =
    "usage: jury [--store DIR] COMMAND [ARGS]\n"
    "\n"
    "jury coordinates human annotation of LLM fine-tuning data: datasets of\n"
    "records, overlapping assignment to annotators, agreement and consolidation.\n"
    "\n"
    "commands:\n"
    "  demo [--dir DIR]                      run a whole sample campaign with simulated "
    "annotators\n"
    "  dataset create NAME --settings FILE   create a dataset from a settings JSON file\n"
    "  dataset list [--json]                 list the datasets in the store\n"
    "  dataset show NAME                     print a dataset's settings (normalised JSON)\n"
    "  dataset delete NAME --yes             delete a dataset with its records and responses\n"
    "  dataset update NAME --settings FILE   change a dataset's guidelines or consolidation\n"
    "  import NAME FILE.jsonl [--skip-invalid] [--rejects FILE]\n"
    "                                        load records (Argilla record dicts, one per line)\n"
    "  status NAME [--json]                  records, responses and annotators of a dataset\n"
    "  top [NAME] [--once]                   live dashboard: progress, rates, ETA, agreement\n"
    "  dump NAME [--status S]                every record with its state and responses (JSONL)\n"
    "  serve [--bind ENDPOINT] [--insecure]  run the coordinator (CURVE; see jury keygen)\n"
    "  agreement NAME [--question Q] [--format text|json|html] [--out FILE]\n"
    "                                        inter-annotator agreement per question\n"
    "  agreement --responses FILE.jsonl --settings FILE [...]\n"
    "                                        the same, offline, from a file of responses\n"
    "  consolidate NAME [--method Q=M ...]   unify responses, accept or reject each record\n"
    "  export NAME --format F [--out FILE]   write sft, sft-messages, dpo, rm, coh, records or\n"
    "                                        responses as JSON Lines\n"
    "  keygen [--force]                      make the coordinator's CURVE keypair (in the store)\n"
    "  annotator add NAME [--role R] [--datasets A,B] [--out FILE] [--endpoint E]\n"
    "                                        register an annotator and write their key file\n"
    "  annotator list [--json]               annotators, roles, keys, datasets, responses\n"
    "  annotator disable|enable|rotate NAME  shut out, let back in, or give a new key\n"
    "  annotator grant|revoke NAME DATASET   give or take away a dataset\n"
    "  backup DEST [--force]                 a consistent, compacted copy of the store,\n"
    "                                        taken while jury serve runs\n"
    "  check [NAME]                          verify records, responses, index and counters\n"
    "\n"
    "options:\n"
    "  --store DIR     the store directory (default: $JURY_STORE, else ./jury-data)\n"
    "  -v, --verbose   log more (repeat for debug output)\n"
    "  -h, --help      show this help; `jury COMMAND --help` shows a command's\n"
    "  --version       print the version\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input\n";

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        jury_cli_error("libsodium failed to initialise");
        return JURY_EXIT_FAILURE;
    }
    jury_cli_t cli = {.store = getenv("JURY_STORE")};
    if (!cli.store || !*cli.store)
        cli.store = "./jury-data";

    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int verbosity = JURY_LOG_WARN;
    int c;
    /* "+" stops at the first non-option: the rest belongs to the subcommand. */
    while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            cli.store = optarg;
            break;
        case 'v':
            verbosity++;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return JURY_EXIT_OK;
        case 'V':
            printf("jury %s\n", JURY_VERSION);
            return JURY_EXIT_OK;
        default:
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    }
    jury_log_set_level(verbosity > JURY_LOG_DEBUG ? JURY_LOG_DEBUG : (jury_log_level)verbosity);
    if (optind >= argc) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    char **sub = argv + optind;
    int subc = argc - optind;
    /* Subcommands parse their own options from their argv[0]. */
    optind = 0;
    if (strcmp(sub[0], "dataset") == 0)
        return jury_cmd_dataset(&cli, subc, sub);
    if (strcmp(sub[0], "import") == 0)
        return jury_cmd_import(&cli, subc, sub);
    if (strcmp(sub[0], "status") == 0)
        return jury_cmd_status(&cli, subc, sub);
    if (strcmp(sub[0], "top") == 0)
        return jury_cmd_top(&cli, subc, sub);
    if (strcmp(sub[0], "serve") == 0)
        return jury_cmd_serve(&cli, subc, sub);
    if (strcmp(sub[0], "dump") == 0)
        return jury_cmd_dump(&cli, subc, sub);
    if (strcmp(sub[0], "demo") == 0)
        return jury_cmd_demo(&cli, subc, sub);
    if (strcmp(sub[0], "agreement") == 0)
        return jury_cmd_agreement(&cli, subc, sub);
    if (strcmp(sub[0], "consolidate") == 0)
        return jury_cmd_consolidate(&cli, subc, sub);
    if (strcmp(sub[0], "export") == 0)
        return jury_cmd_export(&cli, subc, sub);
    if (strcmp(sub[0], "keygen") == 0)
        return jury_cmd_keygen(&cli, subc, sub);
    if (strcmp(sub[0], "annotator") == 0)
        return jury_cmd_annotator(&cli, subc, sub);
    if (strcmp(sub[0], "backup") == 0)
        return jury_cmd_backup(&cli, subc, sub);
    if (strcmp(sub[0], "check") == 0)
        return jury_cmd_check(&cli, subc, sub);
    if (strcmp(sub[0], "help") == 0) {
        fputs(s_usage, stdout);
        return JURY_EXIT_OK;
    }
    jury_cli_error("unknown command '%s' (see jury --help)", sub[0]);
    return JURY_EXIT_USAGE;
}
