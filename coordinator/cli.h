/* cli.h: what the `jury` subcommands share: exit codes, store opening with clear messages, file
 * reading. */
#ifndef JURY_CLI_H
#define JURY_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "jury_store.h"

/* Exit codes of every jury command. */
enum {
    JURY_EXIT_OK = 0,      /* success */
    JURY_EXIT_FAILURE = 1, /* a runtime failure: I/O, a full disk, a corrupt store */
    JURY_EXIT_USAGE = 2    /* bad usage or bad input: the user can fix the command or the file */
};

/* Options every subcommand accepts. */
typedef struct {
    const char *store; /* store directory: --store, else $JURY_STORE, else ./jury-data */
    size_t map_max;    /* the store's map limit in bytes (jury_store_opts_t.map_max), 0 for none */
} jury_cli_t;

/*
 * Opens the store named by cli, printing a message that names the directory
 * and the reason when it cannot (e.g. "jury: store ./jury-data is not
 * writable"). create makes the store if missing; read_only opens for
 * reading. Returns the exit code to use: JURY_EXIT_OK with *out set (the
 * caller destroys it), else JURY_EXIT_FAILURE or JURY_EXIT_USAGE.
 */
int jury_cli_open_store(const jury_cli_t *cli, bool create, bool read_only, jury_store_t **out);

/*
 * Reads the whole file at path (at most max bytes) into a new NUL-terminated
 * buffer that the caller frees. Prints "jury: PATH: reason" and returns NULL
 * on failure.
 */
char *jury_cli_read_file(const char *path, size_t max, size_t *len_out);

/* Prints "jury: " and the formatted message to stderr, with a newline. */
void jury_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a JSON string literal for the n bytes at s to f, escaping as RFC 8259 requires. */
void jury_cli_json_string(FILE *f, const char *s, size_t n);

/* Like jury_cli_json_string without the surrounding quotes, for writing a string in pieces. */
void jury_cli_json_chars(FILE *f, const char *s, size_t n);

/* Subcommands: argv[0] is the subcommand's name. Each returns an exit code. */
int jury_cmd_dataset(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_import(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_status(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_serve(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_dump(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_demo(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_agreement(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_consolidate(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_export(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_keygen(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_annotator(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_backup(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_check(const jury_cli_t *cli, int argc, char **argv);
int jury_cmd_top(const jury_cli_t *cli, int argc, char **argv);

#endif
