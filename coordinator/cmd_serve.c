/* cmd_serve.c: `jury serve`: options, the coordinator's key, signals, and the coordinator loop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jury_keys.h"
#include "serve.h"

static const char s_usage[] =
    "usage: jury serve [--bind ENDPOINT] [--insecure] [--log-level LEVEL] [--heartbeat-ms MS]\n"
    "\n"
    "Runs the coordinator: serves every dataset of the store to annotator workers\n"
    "over ZeroMQ (protocol/SPEC.md), leases records so each gets exactly its\n"
    "number of distinct annotators, and acknowledges a response only once it is\n"
    "on disk. Records imported while it runs become available within a second.\n"
    "SIGTERM or SIGINT: stops taking work, says goodbye to workers, exits 0.\n"
    "One logfmt line per session event goes to standard error.\n"
    "\n"
    "Connections are encrypted and authenticated with CURVE: the coordinator's key\n"
    "is STORE/coordinator.key (make it with `jury keygen`), and only the keys of\n"
    "enabled annotators get in (`jury annotator add`). Each annotator works only\n"
    "as itself, on the datasets granted to it (admins: on every dataset);\n"
    "disabling an annotator, replacing its key or revoking a dataset ends its\n"
    "sessions within a second. Refused keys go to STORE/audit.log.\n"
    "\n"
    "options:\n"
    "  --bind ENDPOINT     where to listen (default tcp://127.0.0.1:5555)\n"
    "  --insecure          plaintext, for development: no keys, workers name their\n"
    "                      annotator themselves and nothing is checked; only on a\n"
    "                      local endpoint (tcp://127.0.0.1, tcp://[::1],\n"
    "                      tcp://localhost, ipc://, inproc://)\n"
    "  --log-level LEVEL   error, warn, info (default) or debug\n"
    "  --heartbeat-ms MS   heartbeat interval, 100..60000 (default 1000); a worker\n"
    "                      silent for 3 intervals is dead and its leases are released\n"
    "  --store DIR         the store directory\n";

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int jury_cmd_serve(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    jury_serve_opts_t o = {.bind = "tcp://127.0.0.1:5555",
                           .heartbeat_ms = 1000,
                           .log_level = JURY_LOG_INFO,
                           .stop = &s_stop};
    static const struct option opts[] = {
        {"bind", required_argument, NULL, 'b'},
        {"insecure", no_argument, NULL, 'I'},
        {"log-level", required_argument, NULL, 'l'},
        {"heartbeat-ms", required_argument, NULL, 'H'},
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o.bind = optarg;
            break;
        case 'I':
            o.insecure = true;
            break;
        case 'l': {
            static const char *const names[] = {"error", "warn", "info", "debug"};
            int k = 0;
            while (k < 4 && strcmp(optarg, names[k]) != 0)
                k++;
            if (k == 4) {
                jury_cli_error("serve: --log-level: '%s' is not error, warn, info or debug",
                               optarg);
                return JURY_EXIT_USAGE;
            }
            o.log_level = (jury_log_level)k;
            break;
        }
        case 'H': {
            char *end;
            long ms = strtol(optarg, &end, 10);
            if (*end || ms < 100 || ms > 60000) {
                jury_cli_error("serve: --heartbeat-ms: '%s' is not a number of milliseconds "
                               "within 100..60000",
                               optarg);
                return JURY_EXIT_USAGE;
            }
            o.heartbeat_ms = (int)ms;
            break;
        }
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
    if (optind != argc) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    if (o.insecure && !jury_serve_endpoint_is_local(o.bind)) {
        jury_cli_error("serve: --insecure: %s is not a local endpoint; plaintext is only for "
                       "tcp://127.0.0.1:PORT, tcp://[::1]:PORT, tcp://localhost:PORT, ipc:// or "
                       "inproc://; leave --insecure out to serve over CURVE",
                       o.bind);
        return JURY_EXIT_USAGE;
    }
    jury_store_t *store;
    int rc = jury_cli_open_store(&cli, false, false, &store);
    if (rc != JURY_EXIT_OK)
        return rc;
    /* The coordinator's keypair, kept in guarded memory and wiped on every way out. */
    jury_keyfile_t kf;
    memset(&kf, 0, sizeof kf);
    if (!o.insecure) {
        size_t n = strlen(jury_store_dir(store)) + sizeof "/coordinator.key";
        char *path = malloc(n);
        char why[512] = "";
        jury_err kerr = path ? JURY_OK : JURY_ENOMEM;
        if (path) {
            snprintf(path, n, "%s/coordinator.key", jury_store_dir(store));
            kerr = jury_keyfile_read(path, &kf, why, sizeof why);
        }
        if (kerr == JURY_OK && !kf.keys) {
            snprintf(why, sizeof why, "%s holds no secret key", path);
            kerr = JURY_EINVAL;
        }
        if (kerr != JURY_OK) {
            if (kerr == JURY_ENOTFOUND)
                jury_cli_error("serve: the store %s has no coordinator key (%s); make one with "
                               "`jury --store %s keygen`, or serve plaintext on a local endpoint "
                               "with --insecure",
                               jury_store_dir(store), path, jury_store_dir(store));
            else
                jury_cli_error("serve: %s", *why ? why : jury_strerror(kerr));
            free(path);
            jury_keyfile_clear(&kf);
            jury_store_destroy(&store);
            return kerr == JURY_ENOMEM || kerr == JURY_EIO ? JURY_EXIT_FAILURE : JURY_EXIT_USAGE;
        }
        free(path);
        o.secret_key = kf.keys->secret_key;
        o.public_key = kf.keys->public_key;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    jury_err err = jury_serve_run(store, &o);
    o.secret_key = o.public_key = NULL;
    jury_keyfile_clear(&kf);
    jury_store_destroy(&store);
    if (err == JURY_EINVAL) {
        jury_cli_error("serve: cannot listen on %s (see the message above)", o.bind);
        return JURY_EXIT_USAGE;
    }
    if (err != JURY_OK) {
        jury_cli_error("serve: %s", jury_strerror(err));
        return JURY_EXIT_FAILURE;
    }
    return JURY_EXIT_OK;
}
