/* cmd_serve.c: `jury serve`: options, the coordinator's key, signals, and the coordinator loop. */
#include <errno.h>
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
    "                  [--max-message-bytes N] [--batch-max N] [--max-leases N]\n"
    "                  [--max-response-bytes N] [--max-rate N] [--burst N] [--abuse-max N]\n"
    "                  [--abuse-window-s S] [--max-malformed N]\n"
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
    "Every connection is held to the limits below; one that keeps breaking them\n"
    "is sent away, and that goes to STORE/audit.log too.\n"
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
    "  --store DIR         the store directory\n"
    "\n"
    "limits, per connection unless said otherwise (a request over one gets an error\n"
    "reply: ETOOBIG for sizes, ELIMIT for rates and leases):\n"
    "  --max-message-bytes N   largest message read, 1024..8388608 (default 4194304);\n"
    "                          ZeroMQ drops the connection of one over twice this\n"
    "  --batch-max N           most records per fetch, 1..100 (default 100)\n"
    "  --max-leases N          most leases one annotator holds over all its sessions,\n"
    "                          1..1000000 (default 1000)\n"
    "  --max-response-bytes N  largest values of one response (msgpack bytes),\n"
    "                          1024..8388608 (default 1048576)\n"
    "  --max-rate N            messages a second, on average, 1..1000000 (default 2000)\n"
    "  --burst N               messages that may come at once before the rate applies,\n"
    "                          1..10000000 (default 4000)\n"
    "  --abuse-max N           limit violations within the abuse window that send a\n"
    "                          connection away (goodbye ELIMIT, leases released, ignored\n"
    "                          for 60 s, audit line), 1..1000000 (default 100)\n"
    "  --abuse-window-s S      that window, 1..3600 seconds (default 10)\n"
    "  --max-malformed N       unreadable messages that send a connection away (goodbye\n"
    "                          EPROTO, ignored for 60 s), 1..1000000000 (default 10)\n";

/* Parses a decimal option value within lo..hi into *out; false (with a message) otherwise. */
static bool s_number(const char *name, const char *arg, unsigned long lo, unsigned long hi,
                     unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (!*arg || *end || errno || arg[0] == '-' || v < lo || v > hi) {
        jury_cli_error("serve: --%s: '%s' is not a whole number within %lu..%lu", name, arg, lo,
                       hi);
        return false;
    }
    *out = v;
    return true;
}

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
        {"max-message-bytes", required_argument, NULL, 'M'},
        {"batch-max", required_argument, NULL, 'B'},
        {"max-leases", required_argument, NULL, 'L'},
        {"max-response-bytes", required_argument, NULL, 'R'},
        {"max-rate", required_argument, NULL, 'r'},
        {"burst", required_argument, NULL, 'u'},
        {"abuse-max", required_argument, NULL, 'a'},
        {"abuse-window-s", required_argument, NULL, 'w'},
        {"max-malformed", required_argument, NULL, 'm'},
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
        case 'M':
        case 'B':
        case 'L':
        case 'R':
        case 'r':
        case 'u':
        case 'a':
        case 'w':
        case 'm': {
            /* Every limit: its option name, range and field. */
            static const struct {
                int c;
                const char *name;
                unsigned long lo, hi;
            } lims[] = {
                {'M', "max-message-bytes", 1024, 8388608},
                {'B', "batch-max", 1, 100},
                {'L', "max-leases", 1, 1000000},
                {'R', "max-response-bytes", 1024, 8388608},
                {'r', "max-rate", 1, 1000000},
                {'u', "burst", 1, 10000000},
                {'a', "abuse-max", 1, 1000000},
                {'w', "abuse-window-s", 1, 3600},
                {'m', "max-malformed", 1, 1000000000},
            };
            size_t k = 0;
            while (lims[k].c != c)
                k++;
            unsigned long v;
            if (!s_number(lims[k].name, optarg, lims[k].lo, lims[k].hi, &v))
                return JURY_EXIT_USAGE;
            switch (c) {
            case 'M':
                o.max_message_bytes = v;
                break;
            case 'B':
                o.batch_max = (uint32_t)v;
                break;
            case 'L':
                o.max_leases = (uint32_t)v;
                break;
            case 'R':
                o.max_response_bytes = v;
                break;
            case 'r':
                o.max_rate = (uint32_t)v;
                break;
            case 'u':
                o.burst = (uint32_t)v;
                break;
            case 'a':
                o.abuse_max = (uint32_t)v;
                break;
            case 'w':
                o.abuse_window_ms = (uint32_t)v * 1000;
                break;
            default:
                o.max_malformed = (uint32_t)v;
                break;
            }
            break;
        }
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
