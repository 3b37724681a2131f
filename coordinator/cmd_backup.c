/* cmd_backup.c: `jury backup DEST`: a consistent, compacted copy of the store, taken while `jury
 * serve` runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

static const char s_usage[] =
    "usage: jury backup DEST [--force]\n"
    "\n"
    "Writes a consistent, compacted copy of the store into a new directory DEST,\n"
    "as DEST/data.mdb (mode 0600, in a 0700 directory). Safe while `jury serve`\n"
    "or an import writes, and blocks neither: the copy holds every transaction\n"
    "committed before it started, and free pages are left out. The copy is\n"
    "written next to DEST first (.DEST.tmp-XXXXXX) and renamed to DEST only once\n"
    "complete and on disk: DEST never holds half a copy (an interrupted backup\n"
    "leaves only that hidden directory, which may be deleted). Prints the size\n"
    "written and the time it took.\n"
    "\n"
    "Only the data is copied, not the coordinator's keypair (STORE/coordinator.key:\n"
    "a secret that never changes after `jury keygen`; keep it apart) nor the\n"
    "audit log. To restore: stop jury serve, then serve from DEST (--store DEST)\n"
    "with the keypair copied into it, or put DEST/data.mdb in place of the\n"
    "store's. `jury check` verifies a backup.\n"
    "\n"
    "options:\n"
    "  --force       replace DEST when it exists: a file, an empty directory or an\n"
    "                earlier backup (never a directory of other files, nor the store)\n"
    "  --store DIR   the store directory\n"
    "\n"
    "exit codes: 0 written, 1 not written (DEST exists, no space, ...), 2 bad usage\n";

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints bytes the way people read sizes: "812 KiB", "1.5 MiB". */
static void s_size(char *out, size_t cap, double bytes)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u > 0 && bytes < 10)
        snprintf(out, cap, "%.1f %s", bytes, units[u]);
    else
        snprintf(out, cap, "%.0f %s", bytes, units[u]);
}

int jury_cmd_backup(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    bool force = false;
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            force = true;
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
    if (argc - optind != 1 || !*argv[optind]) {
        if (argc - optind > 1)
            jury_cli_error("backup: unexpected argument '%s'", argv[optind + 1]);
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    const char *dest = argv[optind];
    jury_store_t *store;
    /* Read-only: a backup writes nothing to the store, and works on a read-only medium too. */
    int rc = jury_cli_open_store(&cli, false, true, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    char why[1024], when[32];
    time_t started = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&started, &tm));
    double t0 = s_now();
    jury_err err = jury_store_backup(store, dest, force, why, sizeof why);
    double took = s_now() - t0;
    size_t store_bytes = jury_store_used_bytes(store);
    jury_store_destroy(&store);
    if (err != JURY_OK) {
        jury_cli_error("backup: %s", *why ? why : jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }

    char path[4096], size[32], from[32];
    size_t n = strlen(dest);
    while (n > 1 && dest[n - 1] == '/')
        n--;
    snprintf(path, sizeof path, "%.*s/data.mdb", (int)n, dest);
    struct stat st;
    if (stat(path, &st) != 0) {
        jury_cli_error("backup: %s is gone right after it was written", path);
        return JURY_EXIT_FAILURE;
    }
    s_size(size, sizeof size, (double)st.st_size);
    s_size(from, sizeof from, (double)store_bytes);
    printf("wrote %s: %s (%lld bytes; the store uses %s), snapshot of %s, in %.2f s\n", path, size,
           (long long)st.st_size, from, when, took);
    return JURY_EXIT_OK;
}
