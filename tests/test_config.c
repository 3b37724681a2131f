/* test_config.c: `jury serve`'s options from the command line and from a config file: exact parse
 * results, exact messages, the command line winning, and the real `jury serve --config`. */
#include "testutil.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"

static char why[1024];

/* Parses text as a config file called "jury.conf" into a new config, which must accept it. */
static jury_serve_config_t *parse_ok(const char *text)
{
    jury_serve_config_t *cfg = jury_serve_config_new();
    assert_non_null(cfg);
    if (jury_serve_config_parse(cfg, "jury.conf", text, strlen(text), why, sizeof why) != JURY_OK)
        fail_msg("config rejected: %s", why);
    return cfg;
}

/* Parses text, which must be refused with exactly the message expected. */
static void assert_config_error(const char *text, size_t len, const char *expected)
{
    jury_serve_config_t *cfg = jury_serve_config_new();
    assert_non_null(cfg);
    assert_int_equal(
        jury_serve_config_parse(cfg, "/etc/jury/jury.conf", text, len, why, sizeof why),
        JURY_EINVAL);
    assert_string_equal(why, expected);
    jury_serve_config_destroy(&cfg);
}

/* The keys are the options of `jury serve --help`, in its order; a new config has the defaults. */
static void test_keys_and_defaults(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "bind",      "insecure",   "log-level",          "heartbeat-ms",
        "store",     "metrics",    "map-max-mib",        "max-message-bytes",
        "batch-max", "max-leases", "max-response-bytes", "max-rate",
        "burst",     "abuse-max",  "abuse-window-s",     "max-malformed"};
    assert_int_equal(jury_serve_config_key_count(), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        assert_string_equal(jury_serve_config_key_name(i), keys[i]);
        assert_int_equal(jury_serve_config_key_is_flag(i), i == 1);
    }
    assert_null(jury_serve_config_key_name(sizeof keys / sizeof keys[0]));

    jury_serve_config_t *cfg = jury_serve_config_new();
    const jury_serve_opts_t *o = jury_serve_config_opts(cfg);
    assert_string_equal(o->bind, "tcp://127.0.0.1:5555");
    assert_false(o->insecure);
    assert_int_equal(o->log_level, JURY_LOG_INFO);
    assert_int_equal(o->heartbeat_ms, 1000);
    assert_int_equal(o->max_message_bytes, 0);
    assert_int_equal(o->batch_max, 0);
    assert_int_equal(o->max_leases, 0);
    assert_int_equal(o->max_response_bytes, 0);
    assert_int_equal(o->max_rate, 0);
    assert_int_equal(o->burst, 0);
    assert_int_equal(o->abuse_max, 0);
    assert_int_equal(o->abuse_window_ms, 0);
    assert_int_equal(o->max_malformed, 0);
    assert_null(o->stop);
    assert_null(o->metrics);
    assert_null(jury_serve_config_store(cfg));
    assert_null(jury_serve_config_metrics(cfg));
    assert_false(jury_serve_config_from_cli(cfg, "bind"));
    jury_serve_config_destroy(&cfg);
    assert_null(cfg);
    jury_serve_config_destroy(&cfg);
}

/* Every key set in one file, with the comments, blanks, quotes and line ends operators write. */
static void test_every_key(void **state)
{
    (void)state;
    jury_serve_config_t *cfg = parse_ok("# jury serve, production\n"
                                        "\n"
                                        "bind = tcp://0.0.0.0:5555\n"
                                        "  insecure=no\n"
                                        "log-level\t=\twarn   \n"
                                        "heartbeat-ms = 2000  # two seconds\r\n"
                                        "store = \"/srv/jury data # 1\"  # quoted: blanks, #\n"
                                        "metrics = [::1]:9464\n"
                                        "map-max-mib = 2048\n"
                                        "   # an indented comment\n"
                                        "max-message-bytes = 1048576\n"
                                        "batch-max = 50\n"
                                        "max-leases = 1000000\n"
                                        "max-response-bytes = 8388608\n"
                                        "max-rate = 500\n"
                                        "burst = 1000\n"
                                        "abuse-max = 7\n"
                                        "abuse-window-s = 3600\n"
                                        "max-malformed = 1000000000"); /* no final newline */
    const jury_serve_opts_t *o = jury_serve_config_opts(cfg);
    assert_string_equal(o->bind, "tcp://0.0.0.0:5555");
    assert_false(o->insecure);
    assert_int_equal(o->log_level, JURY_LOG_WARN);
    assert_int_equal(o->heartbeat_ms, 2000);
    assert_string_equal(jury_serve_config_store(cfg), "/srv/jury data # 1");
    assert_string_equal(jury_serve_config_metrics(cfg), "[::1]:9464");
    assert_int_equal(jury_serve_config_map_max(cfg), (uint64_t)2048 << 20);
    assert_int_equal(o->max_message_bytes, 1048576);
    assert_int_equal(o->batch_max, 50);
    assert_int_equal(o->max_leases, 1000000);
    assert_int_equal(o->max_response_bytes, 8388608);
    assert_int_equal(o->max_rate, 500);
    assert_int_equal(o->burst, 1000);
    assert_int_equal(o->abuse_max, 7);
    assert_int_equal(o->abuse_window_ms, 3600000); /* seconds in the file, ms in the options */
    assert_int_equal(o->max_malformed, 1000000000);
    assert_false(jury_serve_config_from_cli(cfg, "bind"));
    jury_serve_config_destroy(&cfg);

    /* Values as they may be written: booleans, a '#' inside a bare value, escapes in quotes, an
     * empty metrics (none), an empty file. */
    cfg = parse_ok("insecure = on\n"
                   "bind = ipc:///run/jury#1\n"
                   "store = \"a \\\"b\\\" \\\\c\"\n"
                   "metrics =\n");
    o = jury_serve_config_opts(cfg);
    assert_true(o->insecure);
    assert_string_equal(o->bind, "ipc:///run/jury#1");
    assert_string_equal(jury_serve_config_store(cfg), "a \"b\" \\c");
    assert_null(jury_serve_config_metrics(cfg));
    jury_serve_config_destroy(&cfg);
    static const char *const words[][2] = {{"true", "1"},  {"yes", "1"}, {"1", "1"},
                                           {"false", "0"}, {"off", "0"}, {"0", "0"}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "insecure = %s\n", words[i][0]);
        cfg = parse_ok(text);
        assert_int_equal(jury_serve_config_opts(cfg)->insecure, words[i][1][0] == '1');
        jury_serve_config_destroy(&cfg);
    }
    cfg = parse_ok("");
    assert_string_equal(jury_serve_config_opts(cfg)->bind, "tcp://127.0.0.1:5555");
    jury_serve_config_destroy(&cfg);
}

/* What the command line sets stays: the file's line for the same key is checked, not applied. */
static void test_command_line_wins(void **state)
{
    (void)state;
    jury_serve_config_t *cfg = jury_serve_config_new();
    assert_int_equal(jury_serve_config_set(cfg, "max-rate", "10", why, sizeof why), JURY_OK);
    assert_int_equal(jury_serve_config_set(cfg, "bind", "ipc://cli", why, sizeof why), JURY_OK);
    assert_int_equal(jury_serve_config_set(cfg, "insecure", NULL, why, sizeof why), JURY_OK);
    assert_int_equal(jury_serve_config_set(cfg, "store", "/cli/store", why, sizeof why), JURY_OK);
    const char *file = "max-rate = 20\n"
                       "batch-max = 5\n"
                       "bind = ipc://file\n"
                       "insecure = false\n"
                       "store = /file/store\n";
    assert_int_equal(jury_serve_config_parse(cfg, "f", file, strlen(file), why, sizeof why),
                     JURY_OK);
    const jury_serve_opts_t *o = jury_serve_config_opts(cfg);
    assert_int_equal(o->max_rate, 10);
    assert_int_equal(o->batch_max, 5);
    assert_string_equal(o->bind, "ipc://cli");
    assert_true(o->insecure);
    assert_string_equal(jury_serve_config_store(cfg), "/cli/store");
    assert_true(jury_serve_config_from_cli(cfg, "max-rate"));
    assert_false(jury_serve_config_from_cli(cfg, "batch-max"));
    assert_false(jury_serve_config_from_cli(cfg, "no-such-key"));

    /* A bad value in the file is an error even where the command line decides. */
    const char *bad = "max-rate = fast\n";
    assert_int_equal(jury_serve_config_parse(cfg, "f", bad, strlen(bad), why, sizeof why),
                     JURY_EINVAL);
    assert_string_equal(why, "f:1: max-rate: 'fast' is not a whole number within 1..1000000");
    assert_int_equal(o->max_rate, 10);

    /* A flag may be turned off on the command line, as --insecure=false does. */
    assert_int_equal(jury_serve_config_set(cfg, "insecure", "false", why, sizeof why), JURY_OK);
    assert_false(o->insecure);
    jury_serve_config_destroy(&cfg);
}

/* The reasons jury_serve_config_set gives (cmd_serve.c puts "serve: --KEY: " before them). */
static void test_set_errors(void **state)
{
    (void)state;
    jury_serve_config_t *cfg = jury_serve_config_new();
    static const struct {
        const char *key, *value, *why;
    } bad[] = {
        {"max-rate", "0", "'0' is not a whole number within 1..1000000"},
        {"batch-max", "101", "'101' is not a whole number within 1..100"},
        {"max-message-bytes", "8388609", "'8388609' is not a whole number within 1024..8388608"},
        {"max-leases", "x", "'x' is not a whole number within 1..1000000"},
        {"abuse-window-s", "-1", "'-1' is not a whole number within 1..3600"},
        {"heartbeat-ms", "+500", "'+500' is not a whole number within 100..60000"},
        {"heartbeat-ms", " 500", "' 500' is not a whole number within 100..60000"},
        {"burst", "99999999999999999999999",
         "'99999999999999999999999' is not a whole number "
         "within 1..10000000"},
        {"log-level", "verbose", "'verbose' is not error, warn, info or debug"},
        {"insecure", "maybe", "'maybe' is not true or false (nor yes/no, on/off, 1/0)"},
        {"bind", "", "a value is required"},
        {"store", "", "a value is required"},
        {"metrics", "localhost", "'localhost' is not ADDRESS:PORT (e.g. 127.0.0.1:9464)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(jury_serve_config_set(cfg, bad[i].key, bad[i].value, why, sizeof why),
                         JURY_EINVAL);
        assert_string_equal(why, bad[i].why);
    }
    assert_int_equal(jury_serve_config_set(cfg, "config", "x", why, sizeof why), JURY_ENOTFOUND);
    assert_string_equal(why, "unknown option");
    /* Nothing of the refused values was taken. */
    const jury_serve_opts_t *o = jury_serve_config_opts(cfg);
    assert_int_equal(o->max_rate, 0);
    assert_int_equal(o->heartbeat_ms, 1000);
    assert_string_equal(o->bind, "tcp://127.0.0.1:5555");
    assert_false(jury_serve_config_from_cli(cfg, "max-rate"));
    jury_serve_config_destroy(&cfg);
}

/* Every way a file can be wrong: FILE:LINE: KEY: REASON, exactly. */
static void test_file_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"# ok\nmax_rate = 5\n",
         "/etc/jury/jury.conf:2: max_rate: unknown key (did you mean max-rate?)"},
        {"\n\n\nport = 5555\n", "/etc/jury/jury.conf:4: port: unknown key (the keys are the "
                                "options of `jury serve --help` without their '--')"},
        {"config = /etc/other.conf\n", "/etc/jury/jury.conf:1: config: unknown key (the keys are "
                                       "the options of `jury serve --help` without their '--')"},
        {"--bind = x\n", "/etc/jury/jury.conf:1: --bind: unknown key (the keys are the options "
                         "of `jury serve --help` without their '--')"},
        {"bind tcp://127.0.0.1:1\n",
         "/etc/jury/jury.conf:1: bind: a line is 'key = value'; '=' is missing"},
        {"insecure\n", "/etc/jury/jury.conf:1: insecure: a line is 'key = value'; '=' is missing"},
        {"= 5\n", "/etc/jury/jury.conf:1: a line is 'key = value'; the key is missing"},
        {"max-rate = 0\n",
         "/etc/jury/jury.conf:1: max-rate: '0' is not a whole number within 1..1000000"},
        {"max-rate = 20 20\n",
         "/etc/jury/jury.conf:1: max-rate: '20 20' is not a whole number within 1..1000000"},
        {"max-rate =\n", "/etc/jury/jury.conf:1: max-rate: '' is not a whole number within "
                         "1..1000000"},
        {"heartbeat-ms = 99\n",
         "/etc/jury/jury.conf:1: heartbeat-ms: '99' is not a whole number within 100..60000"},
        {"log-level = INFO\n",
         "/etc/jury/jury.conf:1: log-level: 'INFO' is not error, warn, info or debug"},
        {"insecure = \n", "/etc/jury/jury.conf:1: insecure: a value is required: true or false"},
        {"insecure = sure\n", "/etc/jury/jury.conf:1: insecure: 'sure' is not true or false "
                              "(nor yes/no, on/off, 1/0)"},
        {"bind =   # nothing\n", "/etc/jury/jury.conf:1: bind: a value is required"},
        {"store = \"/srv/jury\n",
         "/etc/jury/jury.conf:1: store: the quoted value has no closing '\"'"},
        {"store = \"/srv/jury\" x\n", "/etc/jury/jury.conf:1: store: text after the closing '\"' "
                                      "(a comment starts with '#')"},
        {"store = \"a\\tb\"\n",
         "/etc/jury/jury.conf:1: store: in quotes, '\\' comes only before '\"' or '\\'"},
        {"metrics = 0.0.0.0\n", "/etc/jury/jury.conf:1: metrics: '0.0.0.0' is not ADDRESS:PORT "
                                "(e.g. 127.0.0.1:9464)"},
        {"batch-max = 5\nmax-rate = 9\nbatch-max = 6\n",
         "/etc/jury/jury.conf:3: batch-max: set again (first on line 1); a key appears once"},
        {"bind = a\r\nbatch-max = 500\r\n",
         "/etc/jury/jury.conf:2: batch-max: '500' is not a whole number within 1..100"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_config_error(bad[i].text, strlen(bad[i].text), bad[i].why);
    assert_config_error("bind = a\nbi\0nd = b\n", 20,
                        "/etc/jury/jury.conf:2: a NUL byte: this is not a text file");

    /* Lines before the bad one stay applied; the bad one and those after do not. */
    jury_serve_config_t *cfg = jury_serve_config_new();
    const char *text = "batch-max = 5\nmax-rate = x\nburst = 9\n";
    assert_int_equal(jury_serve_config_parse(cfg, "f", text, strlen(text), why, sizeof why),
                     JURY_EINVAL);
    assert_int_equal(jury_serve_config_opts(cfg)->batch_max, 5);
    assert_int_equal(jury_serve_config_opts(cfg)->burst, 0);
    jury_serve_config_destroy(&cfg);
}

/* Reading files: a missing one, a directory, and ops/jury.conf, which must read as the defaults. */
static void test_read_files(void **state)
{
    (void)state;
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    jury_serve_config_t *cfg = jury_serve_config_new();
    snprintf(path, sizeof path, "%s/missing.conf", dir);
    assert_int_equal(jury_serve_config_read(cfg, path, why, sizeof why), JURY_EIO);
    char want[700];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(why, want);
    assert_int_equal(jury_serve_config_read(cfg, dir, why, sizeof why), JURY_EIO);
    snprintf(want, sizeof want, "%s: Is a directory", dir);
    assert_string_equal(why, want);

    snprintf(path, sizeof path, "%s/ok.conf", dir);
    tu_write_file(path, "max-leases = 12\n", 16);
    assert_int_equal(jury_serve_config_read(cfg, path, why, sizeof why), JURY_OK);
    assert_int_equal(jury_serve_config_opts(cfg)->max_leases, 12);
    jury_serve_config_destroy(&cfg);

    /* The documented example sets what a production coordinator needs and nothing invalid. */
    snprintf(path, sizeof path, "%s/ops/jury.conf", tu_env("JURY_SOURCE_DIR"));
    cfg = jury_serve_config_new();
    if (jury_serve_config_read(cfg, path, why, sizeof why) != JURY_OK)
        fail_msg("ops/jury.conf: %s", why);
    const jury_serve_opts_t *o = jury_serve_config_opts(cfg);
    assert_string_equal(o->bind, "tcp://0.0.0.0:5555");
    assert_false(o->insecure);
    assert_int_equal(o->log_level, JURY_LOG_INFO);
    assert_string_equal(jury_serve_config_store(cfg), "/var/lib/jury");
    assert_string_equal(jury_serve_config_metrics(cfg), "127.0.0.1:9464");
    assert_int_equal(o->heartbeat_ms, 1000);
    assert_int_equal(o->max_leases, 0); /* the rest are commented out: defaults */
    jury_serve_config_destroy(&cfg);
    tu_rmrf(dir);
}

/* ---- the real `jury serve --config` --------------------------------------------------------- */

/* Runs `jury ARGS...` (NULL-terminated) and returns its result. */
static tu_result_t jury_run(const char *first, ...)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)tu_env("JURY_BIN");
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return tu_run(argv, NULL);
}

/* A bad key exits 2 naming FILE:LINE: key: reason; the command line overrides the file (and
 * --store the file's store); the file's store replaces the default. */
static void test_jury_serve_config(void **state)
{
    (void)state;
    unsetenv("JURY_STORE");
    char dir[512], store[600], settings[600], conf[600], bad[600], text[2048];
    tu_tmpdir(dir, sizeof dir);
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(settings, sizeof settings, "%s/ops/examples/support-sft.settings.json",
             tu_env("JURY_SOURCE_DIR"));
    tu_result_t r =
        jury_run("--store", store, "dataset", "create", "support", "--settings", settings, NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);

    snprintf(bad, sizeof bad, "%s/bad.conf", dir);
    snprintf(text, sizeof text, "store = %s\ninsecure = true\n\nmax_leases = 5\n", store);
    tu_write_file(bad, text, strlen(text));
    r = jury_run("serve", "--config", bad, NULL);
    assert_int_equal(r.status, 2);
    char want[2048];
    snprintf(want, sizeof want, "jury: %s:4: max_leases: unknown key (did you mean max-leases?)\n",
             bad);
    assert_string_equal(r.err, want);
    tu_result_free(&r);
    r = jury_run("serve", "--config", "/nonexistent/jury.conf", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "jury: /nonexistent/jury.conf: No such file or directory\n");
    tu_result_free(&r);
    r = jury_run("serve", "--max-rate", "0", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err,
                        "jury: serve: --max-rate: '0' is not a whole number within 1..1000000\n");
    tu_result_free(&r);

    /* The file asks for plaintext on a public endpoint; --insecure=false on the command line
     * turns plaintext off, so it is the missing coordinator key that stops it. */
    snprintf(conf, sizeof conf, "%s/jury.conf", dir);
    snprintf(text, sizeof text,
             "store = %s\ninsecure = true\nbind = tcp://0.0.0.0:5555\nlog-level = info\n", store);
    tu_write_file(conf, text, strlen(text));
    r = jury_run("serve", "--config", conf, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "jury: serve: --insecure: tcp://0.0.0.0:5555 is not a local "
                                  "endpoint"));
    tu_result_free(&r);
    r = jury_run("serve", "--config", conf, "--insecure=false", NULL);
    assert_int_equal(r.status, 2);
    snprintf(want, sizeof want, "jury: serve: the store %s has no coordinator key", store);
    assert_non_null(strstr(r.err, want));
    tu_result_free(&r);
    /* --store before the command wins over the file's store. */
    r = jury_run("--store", "/nonexistent/store", "serve", "--config", conf, "--insecure=false",
                 NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "no jury store at /nonexistent/store"));
    tu_result_free(&r);

    /* A real coordinator: the file's store, the command line's bind. */
    char file_bind[700], cli_bind[700];
    snprintf(file_bind, sizeof file_bind, "ipc://%s/file.sock", dir);
    snprintf(cli_bind, sizeof cli_bind, "ipc://%s/cli.sock", dir);
    snprintf(text, sizeof text,
             "# a development coordinator\nstore = %s\ninsecure = yes\nbind = %s\n"
             "heartbeat-ms = 500\n",
             store, file_bind);
    tu_write_file(conf, text, strlen(text));
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0), dup2(devnull, 1), dup2(p[1], 2);
        close(p[0]), close(p[1]), close(devnull);
        execl(tu_env("JURY_BIN"), "jury", "serve", "--config", conf, "--bind", cli_bind,
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    static char log[65536];
    size_t len = 0;
    time_t deadline = time(NULL) + 10;
    log[0] = '\0';
    while (!strstr(log, "event=listening")) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (time(NULL) > deadline || poll(&pf, 1, 1000) < 0)
            fail_msg("jury serve did not start; it wrote:\n%s", log);
        if (!(pf.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(p[0], log + len, sizeof log - len - 1);
        if (n <= 0)
            fail_msg("jury serve ended; it wrote:\n%s", log);
        len += (size_t)n;
        log[len] = '\0';
    }
    snprintf(want, sizeof want, "event=listening bind=%s store=%s ", cli_bind, store);
    if (!strstr(log, want))
        fail_msg("expected '%s' in:\n%s", want, log);
    kill(pid, SIGTERM);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(p[0]);
    tu_rmrf(dir);
}

/* ops/jury.service passes `systemd-analyze verify` (with ExecStart pointed at the jury built here,
 * since verify insists that the command exists); skipped where systemd-analyze is missing. */
static void test_systemd_unit(void **state)
{
    (void)state;
    const char *analyze = "/usr/bin/systemd-analyze";
    if (access(analyze, X_OK) != 0) {
        skip();
        return;
    }
    char path[600], dir[512], unit[600];
    snprintf(path, sizeof path, "%s/ops/jury.service", tu_env("JURY_SOURCE_DIR"));
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    const char *exec = "ExecStart=/usr/local/bin/jury serve --config /etc/jury/jury.conf\n";
    char *at = strstr(text, exec);
    assert_non_null(at);
    tu_tmpdir(dir, sizeof dir);
    snprintf(unit, sizeof unit, "%s/jury.service", dir);
    FILE *f = fopen(unit, "w");
    assert_non_null(f);
    fprintf(f, "%.*sExecStart=%s serve --config /etc/jury/jury.conf\n%s", (int)(at - text), text,
            tu_env("JURY_BIN"), at + strlen(exec));
    assert_int_equal(fclose(f), 0);
    free(text);
    char *argv[] = {(char *)analyze, "verify", unit, NULL};
    tu_result_t r = tu_run(argv, NULL);
    if (r.status != 0 || r.err[0])
        fail_msg("systemd-analyze verify ops/jury.service: exit %d:\n%s", r.status, r.err);
    tu_result_free(&r);
    tu_rmrf(dir);
}

/* Every event `jury serve` logs (s_event in serve.c, s_info in cmd_serve.c) is explained in
 * ops/RUNBOOK.md's table of log lines, as `NAME`. */
static void test_runbook_lists_every_event(void **state)
{
    (void)state;
    const char *src = tu_env("JURY_SOURCE_DIR");
    char path[600];
    snprintf(path, sizeof path, "%s/ops/RUNBOOK.md", src);
    char *runbook = tu_read_file(path, NULL);
    assert_non_null(runbook);
    /* The calls, by what they start with: definitions and declarations do not match. */
    static const char *const files[][2] = {{"coordinator/serve.c", "s_event(JURY_LOG_"},
                                           {"coordinator/cmd_serve.c", "s_info(level, "}};
    size_t found = 0;
    for (size_t f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/%s", src, files[f][0]);
        char *code = tu_read_file(path, NULL);
        assert_non_null(code);
        for (char *p = strstr(code, files[f][1]); p; p = strstr(p + 1, files[f][1])) {
            /* s_event(LEVEL, "name", ...): the first string literal after the call's start. */
            char *q = strchr(p, '"'), *end = q ? strchr(q + 1, '"') : NULL;
            assert_non_null(end);
            char name[128];
            snprintf(name, sizeof name, "`%.*s`", (int)(end - q - 1), q + 1);
            if (!strstr(runbook, name))
                fail_msg("ops/RUNBOOK.md does not explain the log event %s (%s)", name,
                         files[f][0]);
            found++;
        }
        free(code);
    }
    assert_true(found >= 30);
    free(runbook);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_and_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_command_line_wins),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_read_files),
        cmocka_unit_test(test_jury_serve_config),
        cmocka_unit_test(test_systemd_unit),
        cmocka_unit_test(test_runbook_lists_every_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
