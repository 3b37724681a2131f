/* cmd_keygen.c: `jury keygen`: the coordinator's CURVE keypair in the store directory. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "cli.h"
#include "jury_keys.h"

static const char s_usage[] =
    "usage: jury keygen [--force]\n"
    "\n"
    "Makes the coordinator's CURVE keypair and writes it into the store\n"
    "directory: coordinator.key (the secret, mode 0600: never copy it off this\n"
    "machine) and coordinator.pub (the public key, mode 0644). `jury annotator\n"
    "add` puts the public key into every annotator's key file. Prints the\n"
    "public key. The store directory is created if it does not exist.\n"
    "\n"
    "options:\n"
    "  --force       replace an existing keypair: annotator key files made\n"
    "                before then name the old key and must be made again\n"
    "                (`jury annotator rotate NAME`)\n"
    "  --store DIR   the store directory\n";

/* "DIR/NAME" in a new string the caller frees; NULL when memory runs out. */
static char *s_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int s_keygen(const char *store, bool force)
{
    struct stat st;
    if (stat(store, &st) != 0) {
        if (errno != ENOENT || mkdir(store, 0750) != 0) {
            jury_cli_error("keygen: %s: %s", store, strerror(errno));
            return JURY_EXIT_FAILURE;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        jury_cli_error("keygen: %s is not a directory", store);
        return JURY_EXIT_USAGE;
    }
    char *key_path = s_join(store, "coordinator.key");
    char *pub_path = s_join(store, "coordinator.pub");
    jury_keyfile_t kf = {.keys = jury_keypair_new()};
    int rc = JURY_EXIT_FAILURE;
    if (!key_path || !pub_path || !kf.keys) {
        jury_cli_error("keygen: out of memory");
        goto done;
    }
    bool existed = stat(key_path, &st) == 0;
    if (existed && !force) {
        jury_cli_error("keygen: %s exists already; --force replaces it (annotator key files made "
                       "with the old key then need `jury annotator rotate NAME`)",
                       key_path);
        rc = JURY_EXIT_USAGE;
        goto done;
    }
    /* The secret first: a public key without its secret would be useless to hand out. Without
     * --force the write refuses atomically, even if another keygen got there in between. */
    jury_err err = jury_keyfile_write(key_path, &kf, force);
    if (err == JURY_EEXIST) {
        jury_cli_error("keygen: %s exists already; --force replaces it", key_path);
        rc = JURY_EXIT_USAGE;
        goto done;
    }
    if (err != JURY_OK) {
        jury_cli_error("keygen: cannot write %s: %s", key_path, strerror(errno));
        goto done;
    }
    jury_keyfile_t pub = {0};
    memcpy(pub.public_key, kf.keys->public_key, JURY_KEY_BYTES);
    if ((err = jury_keyfile_write(pub_path, &pub, true)) != JURY_OK) {
        jury_cli_error("keygen: wrote %s but cannot write %s: %s; run `jury keygen --force` again",
                       key_path, pub_path, strerror(errno));
        goto done;
    }
    char z[JURY_KEY_Z85 + 1];
    jury_key_to_z85(kf.keys->public_key, z);
    printf("coordinator public key: %s\n", z);
    printf("wrote %s (secret, mode 0600) and %s\n", key_path, pub_path);
    if (existed)
        printf("replaced the previous keypair: annotator key files made before name the old key; "
               "give each annotator a new one with `jury annotator rotate NAME`\n");
    rc = JURY_EXIT_OK;
    if ((err = jury_audit_append(store, "keygen", "key", z, "replaced", existed ? "true" : "false",
                                 "by", "cli", NULL)) != JURY_OK) {
        jury_cli_error("keygen: the keypair is written but the audit log %s/%s could not be: %s",
                       store, JURY_AUDIT_FILE, strerror(errno));
        rc = JURY_EXIT_FAILURE;
    }
done:
    jury_keyfile_clear(&kf);
    free(key_path);
    free(pub_path);
    return rc;
}

int jury_cmd_keygen(const jury_cli_t *cli, int argc, char **argv)
{
    jury_cli_t c = *cli;
    bool force = false;
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            force = true;
            break;
        case 's':
            c.store = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return JURY_EXIT_OK;
        default:
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        jury_cli_error("keygen: unexpected argument '%s'", argv[optind]);
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    return s_keygen(c.store, force);
}
