/* cli.c: helpers shared by the `jury` subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void jury_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("jury: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int jury_cli_open_store(const jury_cli_t *cli, bool create, bool read_only, jury_store_t **out)
{
    jury_store_opts_t opts = {.create = create, .read_only = read_only, .map_max = cli->map_max};
    jury_err err = jury_store_open(out, cli->store, &opts);
    switch (err) {
    case JURY_OK:
        return JURY_EXIT_OK;
    case JURY_ENOTFOUND:
        jury_cli_error("no jury store at %s (create a dataset first, or pass --store DIR or set "
                       "JURY_STORE)",
                       cli->store);
        return JURY_EXIT_USAGE;
    case JURY_EPERM:
        jury_cli_error("store %s is not %s", cli->store, read_only ? "readable" : "writable");
        return JURY_EXIT_FAILURE;
    case JURY_EVERSION: {
        /* The store has logged which version it holds and what to do; add only the way out. */
        uint32_t version = 0;
        if (jury_store_schema_of(cli->store, &version) == JURY_OK && version < JURY_STORE_SCHEMA)
            jury_cli_error("store %s is older than this jury reads: use the jury release that "
                           "wrote it, or export its datasets there and import them here",
                           cli->store);
        return JURY_EXIT_FAILURE;
    }
    case JURY_EINVAL:
        jury_cli_error("store %s is not a directory holding a jury store", cli->store);
        return JURY_EXIT_USAGE;
    default:
        jury_cli_error("cannot open store %s: %s", cli->store, jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
}

char *jury_cli_read_file(const char *path, size_t max, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        jury_cli_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        jury_cli_error("%s: is a directory", path);
        fclose(f);
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len > max) {
            jury_cli_error("%s: larger than %zu bytes", path, max);
            free(buf);
            buf = NULL;
            break;
        }
        if (n == 0) {
            if (ferror(f)) {
                jury_cli_error("%s: %s", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
        if (len == cap) {
            char *nbuf = realloc(buf, cap * 2 + 1);
            if (!nbuf) {
                free(buf);
                buf = NULL;
                jury_cli_error("%s: out of memory", path);
                break;
            }
            buf = nbuf;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
        *len_out = len;
    }
    return buf;
}

void jury_cli_json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    jury_cli_json_chars(f, s, n);
    fputc('"', f);
}

void jury_cli_json_chars(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}
