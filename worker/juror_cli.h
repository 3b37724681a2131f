/* juror_cli.h: what the `juror` subcommands (pipe, bot, tui, web) share: the connection options
 * and exit codes. */
#ifndef JUROR_CLI_H
#define JUROR_CLI_H

#include "juror.h"

/* Exit codes, as jury's: 0 success, 1 runtime failure, 2 bad usage or bad input. */
enum { JUROR_EXIT_OK = 0, JUROR_EXIT_FAILURE = 1, JUROR_EXIT_USAGE = 2 };

/* The endpoint when neither --connect nor a key file names one. */
#define JUROR_CLI_ENDPOINT "tcp://127.0.0.1:5555"

/* The options every subcommand takes, parsed by main before dispatch. */
typedef struct {
    juror_opts_t opts; /* endpoint (NULL: the key file's, else JUROR_CLI_ENDPOINT), dataset,
                          annotator, key file, timeout */
    int verbose;       /* -v count */
} juror_cli_t;

/*
 * Connects as cli says (over CURVE with its key file, else plaintext),
 * printing "juror: <reason>" to stderr on failure. Returns the juror (the
 * caller destroys it) or NULL.
 */
juror_t *juror_cli_connect(const juror_cli_t *cli);

/*
 * Takes the value of option `name` at argv[*i], given as "--name V" (then *i moves past V) or
 * "--name=V". Returns NULL when argv[*i] is not that option, and also sets *missing when it is
 * but no value follows. The value is borrowed from argv.
 */
const char *juror_cli_take(int argc, char **argv, int *i, const char *name, bool *missing);

/* Prints "juror: " and the formatted message to stderr, with a newline. */
void juror_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Subcommands: argv[0] is the subcommand's name, common options already removed. Each returns an
 * exit code. */
int juror_cmd_pipe(const juror_cli_t *cli, int argc, char **argv);
int juror_cmd_bot(const juror_cli_t *cli, int argc, char **argv);
int juror_cmd_tui(const juror_cli_t *cli, int argc, char **argv);
int juror_cmd_web(const juror_cli_t *cli, int argc, char **argv);

#endif
