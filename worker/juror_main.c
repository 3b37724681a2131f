/* juror_main.c: the `juror` program: connection options, help, and dispatch to pipe, bot, tui and
 * web. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "juror_cli.h"

static const char s_usage[] =
    "usage: juror COMMAND --key FILE --dataset NAME [--connect ENDPOINT] [OPTIONS]\n"
    "       juror COMMAND --dataset NAME --annotator NAME [--connect ENDPOINT] [OPTIONS]\n"
    "\n"
    "A jury worker: connects an annotation frontend to a coordinator (`jury serve`)\n"
    "for one dataset as one annotator, and takes care of heartbeats, leases,\n"
    "reconnects and resending unacknowledged answers. With --key the connection\n"
    "is encrypted and authenticated (CURVE) and the key file says who annotates\n"
    "and where the coordinator is; without it, plaintext, which only a coordinator\n"
    "run with --insecure accepts.\n"
    "\n"
    "commands:\n"
    "  pipe               newline-delimited JSON on stdin/stdout, for a frontend in any\n"
    "                     language (worker/PIPE.md)\n"
    "  bot --exec CMD     an automated annotator: CMD gets each record as a JSON line and\n"
    "                     answers with a JSON line of values\n"
    "  bot --simulate SPEC  a simulated annotator of known quality (demos, tests, benchmarks)\n"
    "  tui                a terminal annotator for a person\n"
    "  tui --review       a reviewer's final decisions on contested and rejected\n"
    "                     records (role reviewer or admin)\n"
    "  web                the annotation page in a browser, for one annotator or, with\n"
    "                     --gateway, many (worker/WEB.md)\n"
    "\n"
    "options (any position):\n"
    "  --key FILE          the annotator's key file from `jury annotator add` (mode\n"
    "                      0600): annotator, keys, coordinator key and endpoint\n"
    "  --connect ENDPOINT  the coordinator (default: the key file's endpoint, else\n"
    "                      tcp://127.0.0.1:5555)\n"
    "  --dataset NAME      the dataset to work on (required)\n"
    "  --annotator NAME    who annotates (required without --key; with it, must\n"
    "                      be the key file's annotator)\n"
    "  --timeout-ms MS     longest wait for an answer, across reconnects (default 30000)\n"
    "  -v, --verbose       say more on stderr\n"
    "  -h, --help          this help; `juror COMMAND --help` for a command's options\n"
    "  --version           print the version\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input\n";

void juror_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("juror: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

juror_t *juror_cli_connect(const juror_cli_t *cli)
{
    if (!cli->opts.dataset || (!cli->opts.annotator && !cli->opts.key_file)) {
        juror_cli_error("--dataset NAME and --key FILE (or --annotator NAME) are required (see "
                        "juror --help)");
        return NULL;
    }
    juror_opts_t o = cli->opts;
    if (!o.endpoint && !o.key_file)
        o.endpoint = JUROR_CLI_ENDPOINT;
    juror_t *j = NULL;
    char why[700] = "";
    jury_err err = juror_connect(&j, &o, why, sizeof why);
    if (err != JURY_OK) {
        if (o.key_file && o.endpoint)
            juror_cli_error("cannot open a session on %s for dataset %s with key file %s: %s",
                            o.endpoint, o.dataset, o.key_file, *why ? why : jury_strerror(err));
        else if (o.key_file)
            juror_cli_error("cannot open a session for dataset %s with key file %s: %s", o.dataset,
                            o.key_file, *why ? why : jury_strerror(err));
        else
            juror_cli_error("cannot open a session on %s for dataset %s as %s: %s", o.endpoint,
                            o.dataset, o.annotator, *why ? why : jury_strerror(err));
        return NULL;
    }
    return j;
}

const char *juror_cli_take(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        juror_cli_error("libsodium failed to initialise");
        return JUROR_EXIT_FAILURE;
    }
    juror_cli_t cli = {.opts = {.endpoint = NULL}};
    /* Take the common options out wherever they stand; the rest belongs to the subcommand. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return JUROR_EXIT_FAILURE;
    int nrest = 0;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = juror_cli_take(argc, argv, &i, "--connect", &missing)))
            cli.opts.endpoint = v;
        else if ((v = juror_cli_take(argc, argv, &i, "--key", &missing)))
            cli.opts.key_file = v;
        else if ((v = juror_cli_take(argc, argv, &i, "--dataset", &missing)))
            cli.opts.dataset = v;
        else if ((v = juror_cli_take(argc, argv, &i, "--annotator", &missing)))
            cli.opts.annotator = v;
        else if ((v = juror_cli_take(argc, argv, &i, "--timeout-ms", &missing))) {
            char *end;
            long ms = strtol(v, &end, 10);
            if (*end || ms < 100 || ms > 86400000) {
                juror_cli_error("--timeout-ms: '%s' is not a number of milliseconds within "
                                "100..86400000",
                                v);
                free(rest);
                return JUROR_EXIT_USAGE;
            }
            cli.opts.timeout_ms = (int)ms;
        } else if (missing) {
            juror_cli_error("%s needs a value", argv[i]);
            free(rest);
            return JUROR_EXIT_USAGE;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            cli.verbose++;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("juror %s\n", juror_version());
            free(rest);
            return JUROR_EXIT_OK;
        } else if (nrest == 0 && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
            fputs(s_usage, stdout);
            free(rest);
            return JUROR_EXIT_OK;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    int rc;
    if (nrest == 0) {
        fputs(s_usage, stderr);
        rc = JUROR_EXIT_USAGE;
    } else if (strcmp(rest[0], "pipe") == 0) {
        rc = juror_cmd_pipe(&cli, nrest, rest);
    } else if (strcmp(rest[0], "bot") == 0) {
        rc = juror_cmd_bot(&cli, nrest, rest);
    } else if (strcmp(rest[0], "tui") == 0) {
        rc = juror_cmd_tui(&cli, nrest, rest);
    } else if (strcmp(rest[0], "web") == 0) {
        rc = juror_cmd_web(&cli, nrest, rest);
    } else {
        juror_cli_error("unknown command '%s' (see juror --help)", rest[0]);
        rc = JUROR_EXIT_USAGE;
    }
    free(rest);
    return rc;
}
