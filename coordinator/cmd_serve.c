/* cmd_serve.c: `jury serve`: options (command line and config file), the coordinator's key, the
 * metrics server, signals, and the coordinator loop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "jury_keys.h"
#include "metrics.h"
#include "serve.h"

static const char s_usage[] =
    "usage: jury serve [--config FILE] [--bind ENDPOINT] [--insecure] [--log-level LEVEL]\n"
    "                  [--heartbeat-ms MS] [--store DIR] [--metrics ADDRESS:PORT]\n"
    "                  [--map-max-mib N]\n"
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
    "  --config FILE       read options from FILE: `key = value` lines, '#' comments;\n"
    "                      every option below is a key, named without its '--'\n"
    "                      (ops/jury.conf documents them); the command line wins\n"
    "  --bind ENDPOINT     where to listen (default tcp://127.0.0.1:5555)\n"
    "  --insecure          plaintext, for development: no keys, workers name their\n"
    "                      annotator themselves and nothing is checked; only on a\n"
    "                      local endpoint (tcp://127.0.0.1, tcp://[::1],\n"
    "                      tcp://localhost, ipc://, inproc://)\n"
    "  --log-level LEVEL   error, warn, info (default) or debug\n"
    "  --heartbeat-ms MS   heartbeat interval, 100..60000 (default 1000); a worker\n"
    "                      silent for 3 intervals is dead and its leases are released\n"
    "  --store DIR         the store directory (over the config file's store, which\n"
    "                      is over $JURY_STORE)\n"
    "  --metrics ADDRESS:PORT\n"
    "                      serve Prometheus metrics over HTTP at\n"
    "                      http://ADDRESS:PORT/metrics (A.B.C.D, [IPv6] or localhost;\n"
    "                      port 0 picks a free one); default: none\n"
    "  --map-max-mib N     the store may grow to N MiB at most, 1..1073741824\n"
    "                      (default: no limit); past it, and when the disk is full,\n"
    "                      answers are refused with EFULL (workers send them again)\n"
    "                      while fetches go on, until there is room again\n"
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

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Whether the store the global options chose was named on the command line (`jury --store DIR`),
 * rather than taken from $JURY_STORE or the default, which a config file's store overrides. */
static bool s_store_named(const char *store)
{
    const char *env = getenv("JURY_STORE");
    return !(env && *env && strcmp(env, store) == 0) && strcmp(store, "./jury-data") != 0;
}

/* Writes a logfmt line like the serve loop's (ts, level=info, event=NAME, the rest), when the
 * log level lets info lines through. */
static void s_info(jury_log_level level, const char *event, const char *rest)
{
    if (level < JURY_LOG_INFO)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=info event=%s %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, event, rest);
}

/*
 * Reads the options: the command line into cfg, then the config file it names (whose values
 * the command line's override). Returns JURY_EXIT_OK, or the exit code after a message; *done
 * says that there is nothing more to do (--help, or a failure).
 */
static int s_options(jury_serve_config_t *cfg, int argc, char **argv, bool *done)
{
    *done = true;
    size_t nkeys = jury_serve_config_key_count();
    struct option *opts = calloc(nkeys + 3, sizeof *opts);
    if (!opts) {
        jury_cli_error("serve: out of memory");
        return JURY_EXIT_FAILURE;
    }
    /* Every key is an option (val: 256 + its number); flags may say --insecure=false. */
    for (size_t i = 0; i < nkeys; i++)
        opts[i] = (struct option){jury_serve_config_key_name(i),
                                  jury_serve_config_key_is_flag(i) ? optional_argument
                                                                   : required_argument,
                                  NULL, 256 + (int)i};
    opts[nkeys] = (struct option){"config", required_argument, NULL, 'c'};
    opts[nkeys + 1] = (struct option){"help", no_argument, NULL, 'h'};
    const char *config = NULL;
    char why[1024];
    int c, rc = JURY_EXIT_OK;
    while (rc == JURY_EXIT_OK && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= 256 && (size_t)(c - 256) < nkeys) {
            const char *key = jury_serve_config_key_name((size_t)(c - 256));
            jury_err err = jury_serve_config_set(cfg, key, optarg, why, sizeof why);
            if (err != JURY_OK) {
                jury_cli_error("serve: --%s: %s", key, why);
                rc = err == JURY_ENOMEM ? JURY_EXIT_FAILURE : JURY_EXIT_USAGE;
            }
        } else if (c == 'c') {
            config = optarg;
        } else if (c == 'h') {
            fputs(s_usage, stdout);
            free(opts);
            return JURY_EXIT_OK;
        } else {
            fputs(s_usage, stderr);
            rc = JURY_EXIT_USAGE;
        }
    }
    free(opts);
    if (rc != JURY_EXIT_OK)
        return rc;
    if (optind != argc) {
        fputs(s_usage, stderr);
        return JURY_EXIT_USAGE;
    }
    if (config) {
        jury_err err = jury_serve_config_read(cfg, config, why, sizeof why);
        if (err != JURY_OK) {
            jury_cli_error("%s", why);
            return err == JURY_ENOMEM ? JURY_EXIT_FAILURE : JURY_EXIT_USAGE;
        }
    }
    *done = false;
    return JURY_EXIT_OK;
}

/*
 * Serves metrics at addr (ADDRESS:PORT) when it is not NULL: *out gets the running registry (the
 * caller destroys it), and a metrics_listening line is logged. Returns the exit code.
 */
static int s_metrics(const char *addr, jury_log_level level, jury_metrics_t **out)
{
    *out = NULL;
    if (!addr)
        return JURY_EXIT_OK;
    char why[512];
    jury_err err = jury_metrics_new(out, JURY_VERSION);
    if (err == JURY_OK)
        err = jury_metrics_listen(*out, addr, why, sizeof why);
    else
        snprintf(why, sizeof why, "%s", jury_strerror(err));
    if (err != JURY_OK) {
        jury_cli_error("serve: metrics: %s", why);
        jury_metrics_destroy(out);
        return err == JURY_ENOMEM ? JURY_EXIT_FAILURE : JURY_EXIT_USAGE;
    }
    /* The URL with the port bound (the one picked, for port 0). */
    char rest[600];
    const char *colon = strrchr(addr, ':');
    snprintf(rest, sizeof rest, "metrics=http://%.*s:%u/metrics", (int)(colon - addr), addr,
             jury_metrics_port(*out));
    s_info(level, "metrics_listening", rest);
    return JURY_EXIT_OK;
}

int jury_cmd_serve(const jury_cli_t *cli_in, int argc, char **argv)
{
    jury_cli_t cli = *cli_in;
    jury_serve_config_t *cfg = jury_serve_config_new();
    if (!cfg) {
        jury_cli_error("serve: out of memory");
        return JURY_EXIT_FAILURE;
    }
    bool done;
    int rc = s_options(cfg, argc, argv, &done);
    if (done) {
        jury_serve_config_destroy(&cfg);
        return rc;
    }
    jury_serve_opts_t o = *jury_serve_config_opts(cfg);
    o.stop = &s_stop;
    /* --store (here, or before the command) wins over the file's store, which wins over
     * $JURY_STORE and the default. */
    const char *store_dir = jury_serve_config_store(cfg);
    if (store_dir && (jury_serve_config_from_cli(cfg, "store") || !s_store_named(cli_in->store)))
        cli.store = store_dir;
    if (o.insecure && !jury_serve_endpoint_is_local(o.bind)) {
        jury_cli_error("serve: --insecure: %s is not a local endpoint; plaintext is only for "
                       "tcp://127.0.0.1:PORT, tcp://[::1]:PORT, tcp://localhost:PORT, ipc:// or "
                       "inproc://; leave --insecure out to serve over CURVE",
                       o.bind);
        jury_serve_config_destroy(&cfg);
        return JURY_EXIT_USAGE;
    }
    cli.map_max = (size_t)jury_serve_config_map_max(cfg);
    jury_store_t *store;
    rc = jury_cli_open_store(&cli, false, false, &store);
    if (rc != JURY_EXIT_OK) {
        jury_serve_config_destroy(&cfg);
        return rc;
    }
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
            jury_serve_config_destroy(&cfg);
            return kerr == JURY_ENOMEM || kerr == JURY_EIO ? JURY_EXIT_FAILURE : JURY_EXIT_USAGE;
        }
        free(path);
        o.secret_key = kf.keys->secret_key;
        o.public_key = kf.keys->public_key;
    }
    if ((rc = s_metrics(jury_serve_config_metrics(cfg), o.log_level, &o.metrics)) != JURY_EXIT_OK) {
        o.secret_key = o.public_key = NULL;
        jury_keyfile_clear(&kf);
        jury_store_destroy(&store);
        jury_serve_config_destroy(&cfg);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit (RLIMIT_FSIZE) must fail the write that crosses it, as a full disk does
     * (the store reports JURY_EFULL and writes are retried), not kill the coordinator. */
    signal(SIGXFSZ, SIG_IGN);
    jury_err err = jury_serve_run(store, &o);
    o.secret_key = o.public_key = NULL;
    jury_keyfile_clear(&kf);
    jury_metrics_destroy(&o.metrics);
    jury_store_destroy(&store);
    rc = JURY_EXIT_OK;
    if (err == JURY_EINVAL) {
        jury_cli_error("serve: cannot listen on %s (see the message above)", o.bind);
        rc = JURY_EXIT_USAGE;
    } else if (err != JURY_OK) {
        jury_cli_error("serve: %s", jury_strerror(err));
        rc = JURY_EXIT_FAILURE;
    }
    jury_serve_config_destroy(&cfg);
    return rc;
}
