/* cmd_annotator.c: `jury annotator add|list|disable|enable|rotate|grant|revoke|web-token`: who may
 * annotate, with which key or web token, in which datasets. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "cli.h"
#include "jury_keys.h"
#include "settings.h"

static const char s_usage[] =
    "usage: jury annotator add NAME [--role annotator|reviewer|admin|gateway] [--datasets A,B]\n"
    "                         [--out FILE] [--endpoint ENDPOINT] [--public-key KEY] [--web-token]\n"
    "       jury annotator list [--json]\n"
    "       jury annotator disable NAME\n"
    "       jury annotator enable NAME\n"
    "       jury annotator rotate NAME [--out FILE] [--endpoint ENDPOINT] [--public-key KEY]\n"
    "       jury annotator grant NAME DATASET\n"
    "       jury annotator revoke NAME DATASET\n"
    "       jury annotator web-token NAME [--revoke]\n"
    "       jury annotator pause NAME DATASET [--reason TEXT]\n"
    "       jury annotator resume NAME [DATASET]\n"
    "\n"
    "add makes the annotator a CURVE keypair and writes their key file (--out,\n"
    "default ./NAME.key, mode 0600): their name and secret key, the\n"
    "coordinator's public key (from `jury keygen`) and --endpoint. Hand it over\n"
    "privately; the store keeps only the public key. With --public-key KEY (40\n"
    "characters of Z85) the annotator made the keypair themselves and no file\n"
    "is written. An annotator works only in the datasets granted to them\n"
    "(--datasets, grant), except admins, who see every dataset. rotate gives a\n"
    "new key (a new key file) and the old one stops working; disable shuts the\n"
    "annotator out, enable lets them back. Every change is recorded in\n"
    "STORE/audit.log.\n"
    "A web token (--web-token, web-token) lets the annotator log in to a web\n"
    "gateway (`juror web --gateway`, whose own key has the role gateway): it is\n"
    "printed once, as `web-token: NAME:SECRET`, and the store keeps only its hash.\n"
    "web-token makes a new one (the old one stops working); --revoke removes it,\n"
    "ending the annotator's web sessions within a second.\n"
    "pause stops an annotator working on one dataset (their sessions there end\n"
    "within a second, their leases go back, and they are told the reason);\n"
    "resume lets them back (on every dataset when DATASET is left out).\n"
    "NAME: 1 to 200 letters, digits, '_', '-' or '.', not starting with '.' or '-'.\n"
    "\n"
    "options:\n"
    "  --role ROLE          annotator (default), reviewer, admin or gateway (add)\n"
    "  --datasets A,B       datasets to grant, which must exist (add)\n"
    "  --out FILE           where to write the key file (add, rotate)\n"
    "  --endpoint ENDPOINT  the coordinator's address for the key file, e.g.\n"
    "                       tcp://coord.example:5555 (add, rotate)\n"
    "  --public-key KEY     register this public key instead of making one (add, rotate)\n"
    "  --web-token          also issue a web token (add)\n"
    "  --revoke             remove the web token (web-token)\n"
    "  --reason TEXT        why, shown to the annotator (pause)\n"
    "  --json               machine-readable output (list)\n"
    "  --store DIR          the store directory\n";

typedef struct {
    jury_cli_t cli;         /* common options */
    const char *role;       /* --role */
    const char *datasets;   /* --datasets */
    const char *out;        /* --out */
    const char *endpoint;   /* --endpoint */
    const char *public_key; /* --public-key */
    bool json;              /* --json */
    bool web_token;         /* --web-token */
    bool revoke;            /* --revoke */
    const char *reason;     /* --reason */
} annot_args_t;

#define MAX_GRANTS 256

/* The datasets named by --datasets, split in place (a copy of the argument). */
typedef struct {
    char *buf;                     /* the argument's copy, cut at the commas */
    const char *names[MAX_GRANTS]; /* the names, without duplicates */
    int n;                         /* how many */
} ds_list_t;

/* ---- shared steps ---------------------------------------------------------------------------- */

static void s_audit_failed(const char *what, const char *store)
{
    jury_cli_error("annotator %s: the change is made but the audit log %s/%s could not be "
                   "written: %s",
                   what, store, JURY_AUDIT_FILE, strerror(errno));
}

static bool s_check_name(const char *verb, const char *name)
{
    if (jury_settings_name_valid(name))
        return true;
    jury_cli_error("annotator %s: invalid name '%s': use 1 to 200 letters, digits, '_', '-' or "
                   "'.', not starting with '.' or '-'",
                   verb, name);
    return false;
}

static bool s_parse_datasets(const char *arg, ds_list_t *l)
{
    memset(l, 0, sizeof *l);
    if (!arg)
        return true;
    if (!(l->buf = strdup(arg))) {
        jury_cli_error("out of memory");
        return false;
    }
    /* strtok_r would skip empty items; "a,,b" is a typo worth reporting. */
    for (char *p = l->buf, *rest; p; p = rest) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        rest = comma ? comma + 1 : NULL;
        if (!jury_settings_name_valid(p)) {
            jury_cli_error("annotator add: --datasets: '%s' is not a dataset name", p);
            return false;
        }
        bool dup = false;
        for (int i = 0; i < l->n; i++)
            dup = dup || strcmp(l->names[i], p) == 0;
        if (!dup) {
            if (l->n == MAX_GRANTS) {
                jury_cli_error("annotator add: --datasets: more than %d datasets", MAX_GRANTS);
                return false;
            }
            l->names[l->n++] = p;
        }
    }
    return true;
}

/* Comma-joined names into buf (for messages and the audit log). */
static void s_join_names(const ds_list_t *l, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "", l->names[i]);
}

static bool s_endpoint_ok(const char *e)
{
    size_t n = strlen(e);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)e[i] <= ' ' || e[i] == 0x7f)
            return false;
    return true;
}

/* Reads the coordinator's public key from STORE/coordinator.pub (or, when only that is missing,
 * from the public-key line of STORE/coordinator.key) into key. Prints why not and returns the exit
 * code otherwise. */
static int s_coordinator_key(const char *verb, const char *store, unsigned char *key)
{
    size_t n = strlen(store) + sizeof "/coordinator.pub";
    char *path = malloc(n);
    if (!path) {
        jury_cli_error("out of memory");
        return JURY_EXIT_FAILURE;
    }
    jury_keyfile_t kf;
    char why[512];
    jury_err err = JURY_ENOTFOUND;
    int rc = JURY_EXIT_OK;
    for (int i = 0; i < 2 && err == JURY_ENOTFOUND; i++) {
        snprintf(path, n, "%s/coordinator.%s", store, i == 0 ? "pub" : "key");
        err = jury_keyfile_read(path, &kf, why, sizeof why);
    }
    if (err == JURY_ENOTFOUND) {
        jury_cli_error("annotator %s: no coordinator key in %s (%s/coordinator.pub is missing): "
                       "run `jury keygen` first, or register a key the annotator made with "
                       "--public-key",
                       verb, store, store);
        rc = JURY_EXIT_USAGE;
    } else if (err != JURY_OK) {
        jury_cli_error("annotator %s: %s", verb, why[0] ? why : jury_strerror(err));
        rc = err == JURY_EINVAL || err == JURY_EPERM ? JURY_EXIT_USAGE : JURY_EXIT_FAILURE;
    } else {
        memcpy(key, kf.public_key, JURY_KEY_BYTES);
    }
    jury_keyfile_clear(&kf);
    free(path);
    return rc;
}

/* Parses --public-key; prints why not. */
static bool s_parse_public_key(const char *verb, const char *text, unsigned char *key)
{
    static const unsigned char zero[JURY_KEY_BYTES];
    if (!jury_key_from_z85(text, key)) {
        jury_cli_error("annotator %s: --public-key: not a key (a CURVE public key is 40 "
                       "characters of Z85, as zmq_curve_keypair makes them)",
                       verb);
        return false;
    }
    if (memcmp(key, zero, JURY_KEY_BYTES) == 0) {
        jury_cli_error("annotator %s: --public-key: the all-zero key is not a usable key", verb);
        return false;
    }
    return true;
}

/* The key file to write for a new key: the keypair, name, coordinator key and endpoint. Prints why
 * not and returns the exit code otherwise. */
static int s_make_keyfile(const annot_args_t *a, const char *verb, const char *name,
                          jury_keyfile_t *kf)
{
    memset(kf, 0, sizeof *kf);
    int rc = s_coordinator_key(verb, a->cli.store, kf->coordinator_key);
    if (rc != JURY_EXIT_OK)
        return rc;
    kf->has_coordinator_key = true;
    snprintf(kf->annotator, sizeof kf->annotator, "%s", name);
    if (a->endpoint)
        snprintf(kf->endpoint, sizeof kf->endpoint, "%s", a->endpoint);
    if (!(kf->keys = jury_keypair_new())) {
        jury_cli_error("out of memory");
        return JURY_EXIT_FAILURE;
    }
    memcpy(kf->public_key, kf->keys->public_key, JURY_KEY_BYTES);
    return JURY_EXIT_OK;
}

/* Writes the key file; prints why not and returns the exit code otherwise. */
static int s_write_keyfile(const char *verb, const char *path, const jury_keyfile_t *kf,
                           bool overwrite)
{
    jury_err err = jury_keyfile_write(path, kf, overwrite);
    if (err == JURY_OK)
        return JURY_EXIT_OK;
    if (err == JURY_EEXIST) {
        jury_cli_error("annotator %s: %s exists already: choose another --out, or move it away",
                       verb, path);
        return JURY_EXIT_USAGE;
    }
    int e = errno;
    jury_cli_error("annotator %s: cannot write %s: %s", verb, path,
                   err == JURY_EIO || err == JURY_EPERM ? strerror(e) : jury_strerror(err));
    /* A --out in a directory that is not there, or not ours, is the user's to fix. */
    bool usage = err == JURY_EPERM ||
                 (err == JURY_EIO && (e == ENOENT || e == ENOTDIR || e == EISDIR || e == EACCES));
    return usage ? JURY_EXIT_USAGE : JURY_EXIT_FAILURE;
}

/*
 * rotate replaces the key file at path only when it is the annotator's own (another file there is
 * refused: exit 2), and keeps the endpoint it names when --endpoint is not given (keep_endpoint).
 * Returns the exit code, having printed why not.
 */
static int s_rotate_target(const char *path, const char *name, bool keep_endpoint,
                           jury_keyfile_t *kf)
{
    jury_keyfile_t old;
    char why[512];
    jury_err err = jury_keyfile_read(path, &old, why, sizeof why);
    int rc = JURY_EXIT_OK;
    if (err == JURY_ENOTFOUND) {
        rc = JURY_EXIT_OK;
    } else if (err != JURY_OK) {
        jury_cli_error("annotator rotate: will not replace %s, which is not a key file of %s: "
                       "%s; choose another --out, or move it away",
                       path, name, why[0] ? why : jury_strerror(err));
        rc = err == JURY_ENOMEM ? JURY_EXIT_FAILURE : JURY_EXIT_USAGE;
    } else if (strcmp(old.annotator, name) != 0) {
        jury_cli_error("annotator rotate: will not replace %s, which is not a key file of %s; "
                       "choose another --out, or move it away",
                       path, name);
        rc = JURY_EXIT_USAGE;
    } else if (keep_endpoint) {
        memcpy(kf->endpoint, old.endpoint, sizeof kf->endpoint);
    }
    jury_keyfile_clear(&old);
    return rc;
}

static void s_prefix(const unsigned char *key, char out[9])
{
    char z[JURY_KEY_Z85 + 1];
    jury_key_to_z85(key, z);
    memcpy(out, z, 8);
    out[8] = '\0';
}

/* ---- add and rotate -------------------------------------------------------------------------- */

typedef struct {
    const char *name;         /* annotator */
    jury_role role;           /* --role */
    const ds_list_t *ds;      /* datasets to grant */
    const unsigned char *key; /* the public key to register */
    bool rotate;              /* rotate: the annotator must exist, any key is replaced */
    const char *missing;      /* out: the dataset that does not exist */
    bool existed;             /* out: add: an annotator without a key existed (an import's) */
    bool had_key;             /* out: rotate: the annotator had a key */
    unsigned char old_key[JURY_KEY_BYTES]; /* out: rotate: that key */
    bool taken;                            /* out: the key is another annotator's */
    bool same;                             /* out: rotate: the key is the annotator's own already */
    const unsigned char *token_hash;       /* add --web-token: the web token's hash, else NULL */
} key_body_t;

static jury_err s_key_body(jury_txn_t *txn, void *arg)
{
    key_body_t *b = arg;
    /* A body may run again (a full map): every output starts afresh. */
    b->missing = NULL;
    b->taken = b->existed = b->had_key = false;
    jury_annotator_t an;
    jury_err err = jury_store_annotator_get_by_name(txn, b->name, &an);
    if (b->rotate) {
        if (err != JURY_OK)
            return err;
        b->had_key = an.has_key;
        memcpy(b->old_key, an.public_key, JURY_KEY_BYTES);
    } else if (err == JURY_OK) {
        if (an.has_key)
            return JURY_EEXIST;
        b->existed = true;
    } else if (err != JURY_ENOTFOUND) {
        return err;
    }
    uint32_t id;
    if ((err = jury_store_annotator_ensure(txn, b->name, &id, NULL)) != JURY_OK)
        return err;
    if (!b->rotate && (err = jury_store_annotator_set_role(txn, id, b->role)) != JURY_OK)
        return err;
    if ((err = jury_store_annotator_set_key(txn, id, b->key)) != JURY_OK) {
        b->taken = err == JURY_EEXIST;
        return err;
    }
    if (b->token_hash &&
        (err = jury_store_annotator_set_web_token(txn, id, b->token_hash)) != JURY_OK)
        return err;
    for (int i = 0; b->ds && i < b->ds->n; i++) {
        jury_dataset_t d;
        if ((err = jury_store_dataset_get(txn, b->ds->names[i], &d)) != JURY_OK) {
            if (err == JURY_ENOTFOUND)
                b->missing = b->ds->names[i];
            return err;
        }
        if ((err = jury_store_grant(txn, id, d.id)) != JURY_OK)
            return err;
    }
    return JURY_OK;
}

/* The checks of s_key_body in a read transaction, before any key file is written. */
static jury_err s_key_precheck(jury_store_t *store, key_body_t *b)
{
    jury_txn_t *txn;
    jury_err err = jury_store_read(store, &txn);
    if (err != JURY_OK)
        return err;
    jury_annotator_t an;
    err = jury_store_annotator_get_by_name(txn, b->name, &an);
    if (b->rotate && err != JURY_OK)
        goto done;
    if (!b->rotate && err == JURY_OK && an.has_key) {
        err = JURY_EEXIST;
        goto done;
    }
    if (err != JURY_OK && err != JURY_ENOTFOUND)
        goto done;
    err = JURY_OK;
    for (int i = 0; b->ds && i < b->ds->n; i++) {
        jury_dataset_t d;
        if ((err = jury_store_dataset_get(txn, b->ds->names[i], &d)) != JURY_OK) {
            if (err == JURY_ENOTFOUND)
                b->missing = b->ds->names[i];
            goto done;
        }
    }
    uint32_t holder;
    if (b->key && jury_store_annotator_find_key(txn, b->key, &holder) == JURY_OK) {
        const char *hname = NULL;
        if (jury_store_annotator_name(txn, holder, &hname) != JURY_OK ||
            strcmp(hname, b->name) != 0)
            b->taken = true;
        else
            b->same = true;
        err = JURY_EEXIST;
    }
done:
    jury_txn_abort(&txn);
    return err;
}

/* Prints the message for a failed add or rotate and returns the exit code. */
static int s_key_failed(const char *verb, const annot_args_t *a, const key_body_t *b, jury_err err)
{
    if (b->missing) {
        jury_cli_error("annotator %s: no dataset '%s' in %s", verb, b->missing, a->cli.store);
        return JURY_EXIT_USAGE;
    }
    if (b->taken) {
        jury_cli_error("annotator %s: that public key is registered to another annotator", verb);
        return JURY_EXIT_USAGE;
    }
    if (b->same) {
        jury_cli_error("annotator %s: that public key is %s's key already", verb, b->name);
        return JURY_EXIT_USAGE;
    }
    if (err == JURY_EEXIST) {
        jury_cli_error("annotator %s: annotator '%s' exists already with a key; `jury annotator "
                       "rotate %s` gives them a new one",
                       verb, b->name, b->name);
        return JURY_EXIT_USAGE;
    }
    if (err == JURY_ENOTFOUND && b->rotate) {
        jury_cli_error("annotator %s: no annotator '%s' in %s", verb, b->name, a->cli.store);
        return JURY_EXIT_USAGE;
    }
    jury_cli_error("annotator %s: %s", verb, jury_strerror(err));
    return JURY_EXIT_FAILURE;
}

static int s_add_or_rotate(const annot_args_t *a, const char *name, bool rotate)
{
    const char *verb = rotate ? "rotate" : "add";
    if (!s_check_name(verb, name))
        return JURY_EXIT_USAGE;
    jury_role role = JURY_ROLE_ANNOTATOR;
    if (a->role && !jury_role_parse(a->role, &role)) {
        jury_cli_error("annotator add: --role: '%s' is not a role: use annotator, reviewer, admin "
                       "or gateway",
                       a->role);
        return JURY_EXIT_USAGE;
    }
    if (a->web_token && role == JURY_ROLE_GATEWAY) {
        jury_cli_error("annotator add: --web-token: a gateway works with its key; web tokens are "
                       "for the annotators it serves");
        return JURY_EXIT_USAGE;
    }
    char token[JURY_WEB_TOKEN_MAX + 1] = "";
    unsigned char token_hash[JURY_KEY_BYTES];
    if (a->web_token && jury_web_token_new(name, token, sizeof token, token_hash) != JURY_OK) {
        jury_cli_error("annotator add: cannot make a web token for '%s'", name);
        return JURY_EXIT_FAILURE;
    }
    if (a->public_key && (a->out || a->endpoint)) {
        jury_cli_error("annotator %s: --public-key registers a key the annotator keeps; no key "
                       "file is written, so --out and --endpoint do not apply",
                       verb);
        return JURY_EXIT_USAGE;
    }
    if (a->endpoint && !s_endpoint_ok(a->endpoint)) {
        jury_cli_error("annotator %s: --endpoint: '%s' is not an endpoint (like "
                       "tcp://coord.example:5555)",
                       verb, a->endpoint);
        return JURY_EXIT_USAGE;
    }
    ds_list_t ds;
    if (!s_parse_datasets(a->datasets, &ds)) {
        free(ds.buf);
        return JURY_EXIT_USAGE;
    }
    unsigned char their_key[JURY_KEY_BYTES];
    jury_keyfile_t kf = {0};
    char *default_out = NULL, *names = NULL;
    const char *out = a->out;
    jury_store_t *store = NULL;
    bool wrote = false;
    int rc;
    if (a->public_key) {
        rc = s_parse_public_key(verb, a->public_key, their_key) ? JURY_EXIT_OK : JURY_EXIT_USAGE;
    } else {
        rc = s_make_keyfile(a, verb, name, &kf);
        if (rc == JURY_EXIT_OK && !out) {
            size_t n = strlen(name) + sizeof ".key";
            if ((default_out = malloc(n)))
                snprintf(default_out, n, "%s.key", name);
            else
                rc = JURY_EXIT_FAILURE;
            out = default_out;
        }
        if (rc == JURY_EXIT_OK && rotate)
            rc = s_rotate_target(out, name, !a->endpoint, &kf);
    }
    if (rc != JURY_EXIT_OK)
        goto done;
    if ((rc = jury_cli_open_store(&a->cli, !rotate, false, &store)) != JURY_EXIT_OK)
        goto done;

    key_body_t b = {.name = name,
                    .role = role,
                    .ds = &ds,
                    .key = a->public_key ? their_key : kf.keys->public_key,
                    .rotate = rotate,
                    .token_hash = a->web_token ? token_hash : NULL};
    jury_err err = s_key_precheck(store, &b);
    if (err != JURY_OK) {
        rc = s_key_failed(verb, a, &b, err);
        goto done;
    }
    /* The file first: when it cannot be written (a bad --out), nothing has changed. Rotating
     * replaces the annotator's file, which holds a key about to stop working. */
    if (kf.keys) {
        if ((rc = s_write_keyfile(verb, out, &kf, rotate)) != JURY_EXIT_OK)
            goto done;
        wrote = true;
    }
    if ((err = jury_store_write(store, s_key_body, &b)) != JURY_OK) {
        rc = s_key_failed(verb, a, &b, err);
        if (wrote && !rotate)
            unlink(out);
        else if (wrote)
            jury_cli_error("annotator rotate: the key in %s is not registered: run `jury annotator "
                           "rotate %s` again",
                           out, name);
        goto done;
    }

    /* The joined names are never longer than --datasets, which they come from. */
    char z[JURY_KEY_Z85 + 1], old[JURY_KEY_Z85 + 1], prefix[9];
    size_t ncap = a->datasets ? strlen(a->datasets) + 1 : 1;
    if (!(names = malloc(ncap))) {
        jury_cli_error("out of memory");
        rc = JURY_EXIT_FAILURE;
        goto done;
    }
    jury_key_to_z85(b.key, z);
    s_prefix(b.key, prefix);
    s_join_names(&ds, names, ncap);
    if (rotate) {
        printf("rotated the key of annotator %s: new key %s...", name, prefix);
        if (kf.keys)
            printf(", key file %s (mode 0600: hand it over privately)", out);
        printf("; the old key no longer works\n");
        if (kf.keys && !kf.endpoint[0])
            printf("no --endpoint: the key file names no coordinator address, so the annotator "
                   "must give one (juror --connect)\n");
        jury_key_to_z85(b.old_key, old);
        err = jury_audit_append(a->cli.store, "annotator.rotate", "annotator", name, "key", z,
                                "old_key", b.had_key ? old : "", "source",
                                kf.keys ? "generated" : "provided", "by", "cli", NULL);
    } else {
        printf("%s annotator %s (role %s%s%s), key %s...", b.existed ? "gave a key to" : "added",
               name, jury_role_name(role), ds.n ? ", datasets " : "", names, prefix);
        if (kf.keys)
            printf(", key file %s (mode 0600: hand it over privately, it holds the secret key)",
                   out);
        printf("\n");
        if (kf.keys && !kf.endpoint[0])
            printf("no --endpoint: the key file names no coordinator address, so the annotator "
                   "must give one (juror --connect)\n");
        if (a->web_token)
            printf("web token of %s, shown only this once (hand it over privately; the store keeps "
                   "only its hash):\nweb-token: %s\n",
                   name, token);
        if (role != JURY_ROLE_ADMIN && role != JURY_ROLE_GATEWAY && ds.n == 0)
            jury_cli_error("annotator add: warning: %s can see no dataset until granted one "
                           "(jury annotator grant %s DATASET)",
                           name, name);
        err = jury_audit_append(a->cli.store, "annotator.add", "annotator", name, "role",
                                jury_role_name(role), "datasets", names, "key", z, "source",
                                kf.keys ? "generated" : "provided", "existing",
                                b.existed ? "true" : "false", "web_token",
                                a->web_token ? "issued" : "none", "by", "cli", NULL);
    }
    if (err != JURY_OK) {
        s_audit_failed(verb, a->cli.store);
        rc = JURY_EXIT_FAILURE;
    }
done:
    sodium_memzero(token, sizeof token);
    jury_store_destroy(&store);
    jury_keyfile_clear(&kf);
    free(names);
    free(default_out);
    free(ds.buf);
    return rc;
}

/* ---- disable, enable, grant, revoke ---------------------------------------------------------- */

typedef struct {
    const char *verb;    /* disable, enable, grant, revoke */
    const char *name;    /* annotator */
    const char *dataset; /* grant, revoke */
    bool no_annotator;   /* out: the annotator does not exist */
    bool no_dataset;     /* out: the dataset does not exist */
    bool changed;        /* out: something changed */
    bool admin;          /* out: the annotator is an admin */
} change_body_t;

static jury_err s_change_body(jury_txn_t *txn, void *arg)
{
    change_body_t *b = arg;
    b->no_annotator = b->no_dataset = b->changed = false;
    jury_annotator_t an;
    jury_err err = jury_store_annotator_get_by_name(txn, b->name, &an);
    if (err == JURY_ENOTFOUND)
        b->no_annotator = true;
    if (err != JURY_OK)
        return err;
    b->admin = an.role == JURY_ROLE_ADMIN;
    if (strcmp(b->verb, "disable") == 0 || strcmp(b->verb, "enable") == 0) {
        bool disable = strcmp(b->verb, "disable") == 0;
        b->changed = an.disabled != disable;
        return jury_store_annotator_set_disabled(txn, an.id, disable);
    }
    jury_dataset_t d;
    if ((err = jury_store_dataset_get(txn, b->dataset, &d)) == JURY_ENOTFOUND)
        b->no_dataset = true;
    if (err != JURY_OK)
        return err;
    bool grant = strcmp(b->verb, "grant") == 0, was;
    if ((err = jury_store_granted(txn, an.id, d.id, &was)) != JURY_OK)
        return err;
    b->changed = was != grant;
    return grant ? jury_store_grant(txn, an.id, d.id) : jury_store_revoke(txn, an.id, d.id);
}

static int s_change(const annot_args_t *a, const char *verb, const char *name, const char *dataset)
{
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, false, false, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    change_body_t b = {.verb = verb, .name = name, .dataset = dataset};
    jury_err err = jury_store_write(store, s_change_body, &b);
    jury_store_destroy(&store);
    if (b.no_annotator) {
        jury_cli_error("annotator %s: no annotator '%s' in %s", verb, name, a->cli.store);
        return JURY_EXIT_USAGE;
    }
    if (b.no_dataset) {
        jury_cli_error("annotator %s: no dataset '%s' in %s", verb, dataset, a->cli.store);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        jury_cli_error("annotator %s: %s", verb, jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    bool state = !dataset;
    if (!b.changed) {
        if (state)
            printf("annotator %s is %sd already\n", name, verb);
        else
            printf("annotator %s %s dataset %s already\n", name,
                   strcmp(verb, "grant") == 0 ? "has" : "does not have", dataset);
        return JURY_EXIT_OK;
    }
    if (state)
        printf("%sd annotator %s\n", verb, name);
    else if (strcmp(verb, "grant") == 0)
        printf("granted dataset %s to annotator %s%s\n", dataset, name,
               b.admin ? " (an admin, who sees every dataset anyway)" : "");
    else
        printf("revoked dataset %s from annotator %s%s\n", dataset, name,
               b.admin ? " (an admin, who still sees every dataset)" : "");
    char event[32];
    snprintf(event, sizeof event, "annotator.%s", verb);
    if (state)
        err = jury_audit_append(a->cli.store, event, "annotator", name, "by", "cli", NULL);
    else
        err = jury_audit_append(a->cli.store, event, "annotator", name, "dataset", dataset, "by",
                                "cli", NULL);
    if (err != JURY_OK) {
        s_audit_failed(verb, a->cli.store);
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}

/* ---- pause, resume ----------------------------------------------------------------------------
 */

typedef struct {
    const char *name;    /* annotator */
    const char *dataset; /* pause: the dataset; resume: one, or NULL for all */
    bool pause;          /* pause, else resume */
    const char *reason;  /* pause: why */
    int64_t now;         /* pause: when, ms since the epoch */
    jury_txn_t *txn;     /* resume of all: the transaction */
    uint32_t id;         /* the annotator's id */
    bool no_annotator;   /* out: no such annotator */
    bool no_dataset;     /* out: no such dataset */
    int changed;         /* out: pauses set or cleared */
} pause_body_t;

static jury_err s_resume_one(const jury_dataset_t *d, void *arg)
{
    pause_body_t *b = arg;
    bool was = false;
    jury_err err = jury_store_pause_clear(b->txn, d->id, b->id, &was);
    b->changed += was;
    return err;
}

static jury_err s_pause_body(jury_txn_t *txn, void *arg)
{
    pause_body_t *b = arg;
    b->no_annotator = b->no_dataset = false;
    b->changed = 0;
    jury_annotator_t an;
    jury_dataset_t d;
    jury_err err = jury_store_annotator_get_by_name(txn, b->name, &an);
    b->no_annotator = err == JURY_ENOTFOUND;
    if (err != JURY_OK)
        return err;
    b->id = an.id;
    if (b->dataset && (err = jury_store_dataset_get(txn, b->dataset, &d)) != JURY_OK) {
        b->no_dataset = err == JURY_ENOTFOUND;
        return err;
    }
    if (b->pause) {
        b->changed = 1;
        return jury_store_pause_set(txn, d.id, an.id, b->reason, b->now);
    }
    if (b->dataset) {
        bool was = false;
        err = jury_store_pause_clear(txn, d.id, an.id, &was);
        b->changed = was;
        return err;
    }
    b->txn = txn;
    return jury_store_dataset_each(txn, s_resume_one, b);
}

/* `jury annotator pause NAME DATASET [--reason TEXT]` and `resume NAME [DATASET]`. */
static int s_pause(const annot_args_t *a, const char *name, const char *dataset, bool pause)
{
    const char *verb = pause ? "pause" : "resume";
    const char *reason = a->reason ? a->reason : "paused by the campaign's coordinator";
    if (pause && strlen(reason) > JURY_STORE_PAUSE_REASON_MAX) {
        jury_cli_error("annotator pause: --reason: at most %d bytes", JURY_STORE_PAUSE_REASON_MAX);
        return JURY_EXIT_USAGE;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pause_body_t b = {.name = name,
                      .dataset = dataset,
                      .pause = pause,
                      .reason = reason,
                      .now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, false, false, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    jury_err err = jury_store_write(store, s_pause_body, &b);
    jury_store_destroy(&store);
    if (b.no_annotator || b.no_dataset) {
        jury_cli_error("annotator %s: no %s '%s' in %s", verb,
                       b.no_annotator ? "annotator" : "dataset", b.no_annotator ? name : dataset,
                       a->cli.store);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        jury_cli_error("annotator %s: %s", verb, jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    if (pause)
        printf("paused annotator %s on dataset %s (%s); their sessions there end within a "
               "second\n",
               name, dataset, reason);
    else if (!b.changed)
        printf("annotator %s is not paused%s%s\n", name, dataset ? " on dataset " : "",
               dataset ? dataset : "");
    else
        printf("resumed annotator %s on %s%s\n", name, dataset ? "dataset " : "every dataset",
               dataset ? dataset : "");
    if (!pause && !b.changed)
        return JURY_EXIT_OK;
    err = jury_audit_append(a->cli.store, pause ? "annotator.pause" : "annotator.resume",
                            "annotator", name, "dataset", dataset ? dataset : "*", "reason",
                            pause ? reason : "", "by", "cli", NULL);
    if (err != JURY_OK) {
        s_audit_failed(verb, a->cli.store);
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}

/* ---- web-token ------------------------------------------------------------------------------- */

typedef struct {
    const char *name;          /* annotator */
    const unsigned char *hash; /* the new token's hash; NULL: revoke */
    bool no_annotator;         /* out: no such annotator */
    bool gateway;              /* out: the annotator is a gateway */
    bool had;                  /* out: it had a web token */
} token_body_t;

static jury_err s_token_body(jury_txn_t *txn, void *arg)
{
    token_body_t *b = arg;
    b->no_annotator = b->gateway = b->had = false;
    jury_annotator_t an;
    jury_err err = jury_store_annotator_get_by_name(txn, b->name, &an);
    b->no_annotator = err == JURY_ENOTFOUND;
    if (err != JURY_OK)
        return err;
    b->had = an.has_web_token;
    if ((b->gateway = an.role == JURY_ROLE_GATEWAY))
        return JURY_EINVAL;
    return jury_store_annotator_set_web_token(txn, an.id, b->hash);
}

/* `jury annotator web-token NAME [--revoke]`: issues a new web token (printed once) or removes
 * the annotator's; either way the old token stops working, and the coordinator cuts the sessions
 * it opened within a second. */
static int s_web_token(const annot_args_t *a, const char *name)
{
    if (!s_check_name("web-token", name))
        return JURY_EXIT_USAGE;
    char token[JURY_WEB_TOKEN_MAX + 1] = "";
    unsigned char hash[JURY_KEY_BYTES];
    if (!a->revoke && jury_web_token_new(name, token, sizeof token, hash) != JURY_OK) {
        jury_cli_error("annotator web-token: cannot make a web token for '%s'", name);
        return JURY_EXIT_FAILURE;
    }
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, false, false, &store);
    if (rc != JURY_EXIT_OK)
        goto done;
    token_body_t b = {.name = name, .hash = a->revoke ? NULL : hash};
    jury_err err = jury_store_write(store, s_token_body, &b);
    jury_store_destroy(&store);
    if (b.no_annotator || b.gateway) {
        jury_cli_error(b.gateway ? "annotator web-token: %s is a gateway, which works with its key"
                                 : "annotator web-token: no annotator '%s' in %s",
                       name, a->cli.store);
        rc = JURY_EXIT_USAGE;
        goto done;
    }
    if (err != JURY_OK) {
        jury_cli_error("annotator web-token: %s", jury_strerror(err));
        rc = JURY_EXIT_FAILURE;
        goto done;
    }
    if (a->revoke && !b.had)
        printf("annotator %s has no web token\n", name);
    else if (a->revoke)
        printf("revoked the web token of %s; web sessions opened with it end within a second\n",
               name);
    else
        printf("%s web token of %s, shown only this once (hand it over privately; the store "
               "keeps only its hash)%s:\nweb-token: %s\n",
               b.had ? "new" : "the", name, b.had ? "; the old one no longer works" : "", token);
    if (!a->revoke || b.had) {
        err = jury_audit_append(a->cli.store, "annotator.web_token", "annotator", name, "action",
                                a->revoke ? "revoke"
                                : b.had   ? "replace"
                                          : "issue",
                                "by", "cli", NULL);
        if (err != JURY_OK) {
            s_audit_failed("web-token", a->cli.store);
            rc = JURY_EXIT_FAILURE;
        }
    }
done:
    sodium_memzero(token, sizeof token);
    return rc;
}

/* ---- list ------------------------------------------------------------------------------------ */

typedef struct {
    jury_txn_t *txn;                              /* the read transaction */
    bool json;                                    /* --json */
    int count;                                    /* annotators printed */
    uint32_t max_id;                              /* largest annotator id */
    uint64_t (*responses)[JURY_RESPONSE_NSTATUS]; /* by annotator id, summed over datasets */
    FILE *names;                                  /* grants being collected (open_memstream) */
    int ngrants;                                  /* grants written to names */
} list_ctx_t;

static jury_err s_max_id(const jury_annotator_t *an, void *arg)
{
    list_ctx_t *l = arg;
    if (an->id > l->max_id)
        l->max_id = an->id;
    return JURY_OK;
}

static jury_err s_add_counts(uint32_t annotator, const char *name, const jury_counts_t *c,
                             void *arg)
{
    (void)name;
    list_ctx_t *l = arg;
    if (annotator <= l->max_id)
        for (int s = 0; s < JURY_RESPONSE_NSTATUS; s++)
            l->responses[annotator][s] += c->responses[s];
    return JURY_OK;
}

static jury_err s_dataset_counts(const jury_dataset_t *ds, void *arg)
{
    list_ctx_t *l = arg;
    return jury_store_annotator_counts_each(l->txn, ds->id, s_add_counts, l);
}

static jury_err s_grant_name(uint32_t ds, void *arg)
{
    list_ctx_t *l = arg;
    jury_dataset_t d;
    jury_err err = jury_store_dataset_get_id(l->txn, ds, &d);
    if (err != JURY_OK)
        return err;
    if (l->json) {
        fputs(l->ngrants ? ", " : "", l->names);
        jury_cli_json_string(l->names, d.name, strlen(d.name));
    } else {
        fprintf(l->names, "%s%s", l->ngrants ? "," : "", d.name);
    }
    l->ngrants++;
    return JURY_OK;
}

static jury_err s_list_one(const jury_annotator_t *an, void *arg)
{
    list_ctx_t *l = arg;
    char *grants = NULL;
    size_t glen = 0;
    if (!(l->names = open_memstream(&grants, &glen)))
        return JURY_ENOMEM;
    l->ngrants = 0;
    jury_err err = jury_store_grants_each(l->txn, an->id, s_grant_name, l);
    fclose(l->names);
    l->names = NULL;
    if (err != JURY_OK || !grants) {
        free(grants);
        return err != JURY_OK ? err : JURY_ENOMEM;
    }
    const uint64_t *r = an->id <= l->max_id ? l->responses[an->id] : (const uint64_t[3]){0};
    char z[JURY_KEY_Z85 + 1], prefix[9];
    jury_key_to_z85(an->public_key, z);
    s_prefix(an->public_key, prefix);
    const char *role = jury_role_name(an->role), *st = an->disabled ? "disabled" : "active";
    if (l->json) {
        printf("%s{\"name\": ", l->count ? ", " : "");
        jury_cli_json_string(stdout, an->name, strlen(an->name));
        printf(", \"id\": %u, \"role\": \"%s\", \"state\": \"%s\", \"key\": %s, \"web_token\": %s",
               an->id, role, st, an->has_key ? "true" : "false",
               an->has_web_token ? "true" : "false");
        if (an->has_key) {
            printf(", \"key_prefix\": ");
            jury_cli_json_string(stdout, prefix, 8);
            printf(", \"public_key\": ");
            jury_cli_json_string(stdout, z, JURY_KEY_Z85);
        } else {
            printf(", \"key_prefix\": null, \"public_key\": null");
        }
        printf(", \"datasets\": [%s], \"responses\": {\"submitted\": %llu, \"discarded\": %llu, "
               "\"draft\": %llu}, \"created_ms\": %lld, \"changed_ms\": %lld}",
               grants, (unsigned long long)r[JURY_RESPONSE_SUBMITTED],
               (unsigned long long)r[JURY_RESPONSE_DISCARDED],
               (unsigned long long)r[JURY_RESPONSE_DRAFT], (long long)an->created_ms,
               (long long)an->changed_ms);
    } else {
        if (l->count == 0)
            printf("%-20s %-9s %-8s %-14s %-24s %9s %9s %6s\n", "annotator", "role", "state", "key",
                   "datasets", "submitted", "discarded", "draft");
        char key[16];
        snprintf(key, sizeof key, "%s%s", an->has_key ? "yes " : "no", an->has_key ? prefix : "");
        const char *dsets = an->role == JURY_ROLE_ADMIN ? "all (admin)" : grants[0] ? grants : "-";
        printf("%-20s %-9s %-8s %-14s %-24s %9llu %9llu %6llu\n", an->name, role, st, key, dsets,
               (unsigned long long)r[JURY_RESPONSE_SUBMITTED],
               (unsigned long long)r[JURY_RESPONSE_DISCARDED],
               (unsigned long long)r[JURY_RESPONSE_DRAFT]);
    }
    free(grants);
    l->count++;
    return JURY_OK;
}

static int s_list(const annot_args_t *a)
{
    jury_store_t *store;
    int rc = jury_cli_open_store(&a->cli, false, true, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    list_ctx_t l = {.json = a->json};
    jury_err err = jury_store_read(store, &l.txn);
    if (err == JURY_OK)
        err = jury_store_annotator_each(l.txn, s_max_id, &l);
    if (err == JURY_OK && !(l.responses = calloc((size_t)l.max_id + 1, sizeof *l.responses)))
        err = JURY_ENOMEM;
    if (err == JURY_OK)
        err = jury_store_dataset_each(l.txn, s_dataset_counts, &l);
    if (err == JURY_OK) {
        if (a->json)
            printf("[");
        err = jury_store_annotator_each(l.txn, s_list_one, &l);
        if (a->json)
            printf("]\n");
        else if (l.count == 0 && err == JURY_OK)
            printf("no annotators in %s\n", a->cli.store);
    }
    jury_txn_abort(&l.txn);
    jury_store_destroy(&store);
    free(l.responses);
    if (err != JURY_OK) {
        jury_cli_error("annotator list: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

/* Refuses options given to an action that does not take them. allowed: option letters. */
static bool s_only(const annot_args_t *a, const char *verb, const char *allowed)
{
    const struct {
        char letter;
        const char *set;
        const char *name;
    } opts[] = {
        {'r', a->role, "--role"},
        {'d', a->datasets, "--datasets"},
        {'o', a->out, "--out"},
        {'e', a->endpoint, "--endpoint"},
        {'p', a->public_key, "--public-key"},
        {'j', a->json ? "" : NULL, "--json"},
        {'w', a->web_token ? "" : NULL, "--web-token"},
        {'R', a->revoke ? "" : NULL, "--revoke"},
        {'W', a->reason, "--reason"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].set && !strchr(allowed, opts[i].letter)) {
            jury_cli_error("annotator %s: %s does not apply", verb, opts[i].name);
            return false;
        }
    return true;
}

int jury_cmd_annotator(const jury_cli_t *cli, int argc, char **argv)
{
    annot_args_t a = {.cli = *cli};
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},
        {"datasets", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"endpoint", required_argument, NULL, 'e'},
        {"public-key", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"web-token", no_argument, NULL, 'w'},
        {"revoke", no_argument, NULL, 'R'},
        {"reason", required_argument, NULL, 'W'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            a.role = optarg;
            break;
        case 'd':
            a.datasets = optarg;
            break;
        case 'o':
            a.out = optarg;
            break;
        case 'e':
            a.endpoint = optarg;
            break;
        case 'p':
            a.public_key = optarg;
            break;
        case 'j':
            a.json = true;
            break;
        case 'w':
            a.web_token = true;
            break;
        case 'R':
            a.revoke = true;
            break;
        case 'W':
            a.reason = optarg;
            break;
        case 's':
            a.cli.store = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return JURY_EXIT_OK;
        default:
            fputs(s_usage, stderr);
            return JURY_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    const char *verb = n > 0 ? argv[optind] : NULL;
    const char *name = n > 1 ? argv[optind + 1] : NULL;
    const char *dataset = n > 2 ? argv[optind + 2] : NULL;
    if (!verb) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    if (strcmp(verb, "list") == 0 && n == 1)
        return s_only(&a, verb, "j") ? s_list(&a) : JURY_EXIT_USAGE;
    if (strcmp(verb, "add") == 0 && n == 2)
        return s_only(&a, verb, "rdoepw") ? s_add_or_rotate(&a, name, false) : JURY_EXIT_USAGE;
    if (strcmp(verb, "pause") == 0 && n == 3)
        return s_only(&a, verb, "W") ? s_pause(&a, name, dataset, true) : JURY_EXIT_USAGE;
    if (strcmp(verb, "resume") == 0 && (n == 2 || n == 3))
        return s_only(&a, verb, "") ? s_pause(&a, name, dataset, false) : JURY_EXIT_USAGE;
    if (strcmp(verb, "web-token") == 0 && n == 2)
        return s_only(&a, verb, "R") ? s_web_token(&a, name) : JURY_EXIT_USAGE;
    if (strcmp(verb, "rotate") == 0 && n == 2)
        return s_only(&a, verb, "oep") ? s_add_or_rotate(&a, name, true) : JURY_EXIT_USAGE;
    if ((strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) && n == 2)
        return s_only(&a, verb, "") ? s_change(&a, verb, name, NULL) : JURY_EXIT_USAGE;
    if ((strcmp(verb, "grant") == 0 || strcmp(verb, "revoke") == 0) && n == 3)
        return s_only(&a, verb, "") ? s_change(&a, verb, name, dataset) : JURY_EXIT_USAGE;
    static const char *const verbs[] = {"list",  "add",    "rotate", "disable", "enable",
                                        "grant", "revoke", "pause",  "resume",  "web-token"};
    bool known = false;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        known = known || strcmp(verb, verbs[i]) == 0;
    if (!known)
        jury_cli_error("annotator: unknown action '%s'", verb);
    else
        jury_cli_error("annotator %s: wrong number of arguments", verb);
    fputs(s_usage, stderr);
    return JURY_EXIT_USAGE;
}
