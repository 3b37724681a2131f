/* test_juror.c: libjuror against the real `jury serve`, crashes included, a hostile fake, and a
 * scripted reviewer's coordinator. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <sodium.h>
#include <sys/stat.h>
#include <zmq.h>

#include "juror.h"
#include "jury_jsonpack.h"
#include "jury_keys.h"
#include "jury_proto.h"

/* The dataset every test uses: a required label, an optional note, two annotators per record. */
static const char s_settings[] =
    "{\"fields\":[{\"name\":\"text\",\"type\":\"text\"}],"
    "\"questions\":[{\"name\":\"label\",\"type\":\"label_selection\",\"labels\":[\"pos\",\"neg\"]},"
    "{\"name\":\"note\",\"type\":\"text\",\"required\":false}],"
    "\"metadata\":[{\"name\":\"source\",\"type\":\"terms\"},"
    "{\"name\":\"secret\",\"type\":\"terms\",\"visible_for_annotators\":false}],"
    "\"distribution\":{\"min_submitted\":2}}";

static const char s_records[] =
    "{\"id\":\"r1\",\"fields\":{\"text\":\"one\"},\"metadata\":{\"source\":\"web\",\"secret\":"
    "\"x\"},"
    "\"suggestions\":{\"label\":{\"value\":\"neg\",\"score\":0.5,\"agent\":\"model-1\"}}}\n"
    "{\"id\":\"r2\",\"fields\":{\"text\":\"two\"}}\n"
    "{\"id\":\"r3\",\"fields\":{\"text\":\"three\"}}\n"
    "{\"id\":\"r4\",\"fields\":{\"text\":\"four\"}}\n";

/* The heartbeat the coordinator runs with: a dead juror is noticed within 0.6 s. */
#define HEARTBEAT_MS 200

typedef struct {
    char base[256];    /* temporary directory */
    char store[300];   /* store inside it */
    char log[300];     /* the coordinator's standard error */
    char endpoint[64]; /* tcp://127.0.0.1:PORT */
    pid_t pid;         /* the coordinator, 0 when not running */
} fixture_t;

/* ---- the coordinator ---------------------------------------------------------------------- */

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback TCP port the kernel just said is free. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

/* Runs `jury --store STORE args... NULL` and returns its result. */
static tu_result_t s_jury(fixture_t *f, const char *stdin_data, ...)
{
    char *argv[16];
    int k = 0;
    argv[k++] = (char *)tu_env("JURY_BIN");
    argv[k++] = "--store";
    argv[k++] = f->store;
    va_list ap;
    va_start(ap, stdin_data);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && k < 15)
        argv[k++] = a;
    va_end(ap);
    argv[k] = NULL;
    return tu_run(argv, stdin_data);
}

/* Whether something answers a fetch at endpoint (the coordinator says ENOSESSION). */
static bool s_answers(const char *endpoint)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, endpoint);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    bool ok = false;
    if (jury_proto_encode_fetch(&buf, 1, 1) == JURY_OK &&
        zmq_send(s, buf.data, buf.size, 0) == (int)buf.size) {
        zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
        ok = zmq_poll(&it, 1, 300) == 1;
    }
    msgpack_sbuffer_destroy(&buf);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return ok;
}

/* Starts `jury serve` on the fixture's store and endpoint and waits until it answers. */
static void s_serve_start(fixture_t *f)
{
    char hb[16];
    snprintf(hb, sizeof hb, "%d", HEARTBEAT_MS);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY),
            log = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(in, 0), dup2(log, 1), dup2(log, 2);
        char *argv[] = {(char *)tu_env("JURY_BIN"),
                        "--store",
                        f->store,
                        "serve",
                        "--insecure",
                        "--bind",
                        f->endpoint,
                        "--heartbeat-ms",
                        hb,
                        "--log-level",
                        "debug",
                        NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    f->pid = pid;
    int64_t deadline = s_mono_ms() + 20000;
    while (!s_answers(f->endpoint)) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            f->pid = 0;
            fail_msg("jury serve exited at start; see %s", f->log);
        }
        if (s_mono_ms() > deadline)
            fail_msg("jury serve did not answer within 20 s; see %s", f->log);
    }
}

/* Sends sig to the coordinator and, unless it is SIGSTOP/SIGCONT, waits for it to exit. */
static void s_serve_signal(fixture_t *f, int sig)
{
    if (f->pid <= 0)
        return;
    kill(f->pid, sig);
    if (sig == SIGSTOP || sig == SIGCONT)
        return;
    int st;
    waitpid(f->pid, &st, 0);
    f->pid = 0;
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    tu_tmpdir(f->base, sizeof f->base);
    snprintf(f->store, sizeof f->store, "%s/store", f->base);
    snprintf(f->log, sizeof f->log, "%s/serve.log", f->base);
    snprintf(f->endpoint, sizeof f->endpoint, "tcp://127.0.0.1:%d", s_free_port());
    char path[320];
    snprintf(path, sizeof path, "%s/settings.json", f->base);
    tu_write_file(path, s_settings, strlen(s_settings));
    tu_result_t r = s_jury(f, NULL, "dataset", "create", "d", "--settings", path, NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);
    r = s_jury(f, s_records, "import", "d", "-", NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);
    s_serve_start(f);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    if (f->pid > 0) {
        kill(f->pid, SIGCONT);
        s_serve_signal(f, SIGTERM);
    }
    tu_rmrf(f->base);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static juror_t *s_connect(fixture_t *f, const char *annotator, int timeout_ms)
{
    juror_opts_t o = {.endpoint = f->endpoint,
                      .dataset = "d",
                      .annotator = annotator,
                      .agent = "test_juror/1",
                      .timeout_ms = timeout_ms,
                      .seed = 42};
    char why[512] = "";
    juror_t *j = NULL;
    jury_err err = juror_connect(&j, &o, why, sizeof why);
    if (err != JURY_OK)
        fail_msg("juror_connect: %s: %s", jury_errname(err), why);
    assert_non_null(j);
    return j;
}

/* Fetches up to n records; writes their ids, space-separated, to ids. Returns the count. */
static size_t s_fetch_ids(juror_t *j, uint32_t n, char *ids, size_t cap)
{
    char *json = NULL;
    size_t count = 99;
    jury_err err = juror_fetch(j, n, &json, &count);
    if (err != JURY_OK)
        fail_msg("juror_fetch: %s: %s", jury_errname(err), juror_error(j));
    cJSON *arr = cJSON_Parse(json);
    assert_non_null(arr);
    assert_int_equal(cJSON_GetArraySize(arr), (int)count);
    ids[0] = '\0';
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        size_t len = strlen(ids);
        snprintf(ids + len, cap - len, "%s%s", len ? " " : "",
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id")));
    }
    cJSON_Delete(arr);
    free(json);
    return count;
}

/* `jury status d --json` as a tree the caller deletes. */
static cJSON *s_status(fixture_t *f)
{
    tu_result_t r = s_jury(f, NULL, "status", "d", "--json", NULL);
    assert_int_equal(r.status, 0);
    cJSON *s = cJSON_Parse(r.out);
    tu_result_free(&r);
    assert_non_null(s);
    return s;
}

/* The number at a path of object keys (NULL-terminated), or -1. */
static double s_num(const cJSON *o, ...)
{
    va_list ap;
    va_start(ap, o);
    const char *k;
    while (o && (k = va_arg(ap, const char *)) != NULL)
        o = cJSON_GetObjectItemCaseSensitive(o, k);
    va_end(ap);
    return cJSON_IsNumber(o) ? o->valuedouble : -1;
}

/* Runs the juror the event-loop way (poll on juror_fd, juror_tick) for ms milliseconds, or until
 * it is connected when until_connected. Returns the last juror_tick result. */
static jury_err s_poll_loop(juror_t *j, int ms, bool until_connected)
{
    int64_t end = s_mono_ms() + ms;
    jury_err last = JURY_OK;
    for (;;) {
        if (until_connected && juror_connected(j))
            return last;
        int64_t now = s_mono_ms();
        if (now >= end)
            return last;
        int wait = juror_timeout_ms(j);
        if (wait > end - now)
            wait = (int)(end - now);
        struct pollfd p = {.fd = juror_fd(j), .events = POLLIN};
        poll(&p, 1, wait); /* fd -1 is ignored: then this only waits */
        last = juror_tick(j);
    }
}

/* Parses "YYYY-MM-DDTHH:MM:SS.mmmZ" to ms since the epoch; -1 when it has another shape. */
static int64_t s_parse_iso(const char *s)
{
    int y, mo, d, h, mi, sec, ms, n = 0;
    if (!s || strlen(s) != 24 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi, &sec, &ms, &n) != 7 ||
        n != 24)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* The responses `jury dump d` lists for record id, as "annotator:status" words. */
static void s_dump_responses(fixture_t *f, const char *id, char *out, size_t cap)
{
    tu_result_t r = s_jury(f, NULL, "dump", "d", NULL);
    assert_int_equal(r.status, 0);
    out[0] = '\0';
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *rec = cJSON_Parse(line);
        assert_non_null(rec);
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "id")), id) == 0) {
            const cJSON *resp;
            cJSON_ArrayForEach(resp, cJSON_GetObjectItemCaseSensitive(rec, "responses"))
            {
                size_t len = strlen(out);
                snprintf(out + len, cap - len, "%s%s:%s", len ? " " : "",
                         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "annotator")),
                         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "status")));
            }
        }
        cJSON_Delete(rec);
    }
    tu_result_free(&r);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_connect(void **state)
{
    fixture_t *f = *state;
    juror_t *j = s_connect(f, "alice", 0);
    assert_true(juror_connected(j));
    assert_string_equal(juror_dataset(j), "d");
    assert_string_equal(juror_annotator(j), "alice");
    assert_int_equal(juror_lease_seconds(j), 600);
    assert_int_equal(juror_pending(j), 0);
    assert_string_equal(juror_error(j), "");

    /* The settings are `jury dataset show` without what annotators may not see. */
    tu_result_t r = s_jury(f, NULL, "dataset", "show", "d", NULL);
    assert_int_equal(r.status, 0);
    cJSON *shown = cJSON_Parse(r.out);
    tu_result_free(&r);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(shown, "metadata");
    assert_int_equal(cJSON_GetArraySize(meta), 2);
    cJSON_DeleteItemFromArray(meta, 1); /* "secret", visible_for_annotators false */
    char *want = cJSON_PrintUnformatted(shown);
    assert_string_equal(juror_settings(j), want);
    free(want);
    cJSON_Delete(shown);
    cJSON *s = cJSON_Parse(juror_settings(j));
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(s, "questions");
    assert_int_equal(cJSON_GetArraySize(q), 2);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(q, 0), "name")),
        "label");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(q, 1), "name")),
        "note");
    cJSON_Delete(s);

    juror_destroy(&j);
    assert_null(j);
    juror_destroy(&j); /* safe twice */
    juror_destroy(NULL);

    /* Refusals carry the coordinator's reason; *out stays untouched. */
    char why[512];
    juror_opts_t o = {.endpoint = f->endpoint, .dataset = "nope", .annotator = "alice"};
    juror_t *k = NULL;
    assert_int_equal(juror_connect(&k, &o, why, sizeof why), JURY_ENOTFOUND);
    assert_string_equal(why, "hello: dataset: no dataset 'nope' in this store");
    assert_null(k);
    o.dataset = "d";
    o.annotator = "-alice";
    assert_int_equal(juror_connect(&k, &o, why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "hello: annotator: use 1 to 200 letters, digits, '_', '-' or '.', "
                             "not starting with '.' or '-'");
    o.annotator = NULL;
    assert_int_equal(juror_connect(&k, &o, why, sizeof why), JURY_EINVAL);
    assert_string_equal(
        why, "juror_connect: endpoint, dataset and annotator (or a key file) are required");
    assert_null(k);

    /* Nobody there: retried with backoff until the timeout. */
    char nobody[64];
    snprintf(nobody, sizeof nobody, "tcp://127.0.0.1:%d", s_free_port());
    o = (juror_opts_t){.endpoint = nobody, .dataset = "d", .annotator = "alice", .timeout_ms = 700};
    assert_int_equal(juror_connect(&k, &o, why, sizeof why), JURY_EIO);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "no welcome from %s within 700 ms", nobody);
    assert_memory_equal(why, prefix, strlen(prefix));
    assert_null(k);
}

static void test_fetch(void **state)
{
    fixture_t *f = *state;
    juror_t *j = s_connect(f, "alice", 0);
    char *json = NULL;
    size_t count = 0;
    int64_t before = s_wall_ms();
    assert_int_equal(juror_fetch(j, 2, &json, &count), JURY_OK);
    int64_t after = s_wall_ms();
    assert_int_equal(count, 2);

    /* The exact shape juror.h documents; only lease_expires depends on the clock. */
    cJSON *arr = cJSON_Parse(json);
    char lease[2][32];
    for (int i = 0; i < 2; i++) {
        const char *l = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), "lease_expires"));
        assert_non_null(l);
        snprintf(lease[i], sizeof lease[i], "%s", l);
        int64_t ms = s_parse_iso(l);
        /* 600 s from the fetch, by the coordinator's clock (the same machine's). */
        assert_in_range(ms, before + 600000 - 1000, after + 600000 + 1000);
    }
    cJSON_Delete(arr);
    char want[1024];
    snprintf(want, sizeof want,
             "[{\"id\":\"r1\",\"fields\":{\"text\":\"one\"},"
             "\"suggestions\":{\"label\":{\"value\":\"neg\",\"score\":0.5,\"agent\":\"model-1\"}},"
             "\"metadata\":{\"source\":\"web\"},\"lease_expires\":\"%s\",\"draft\":null},"
             "{\"id\":\"r2\",\"fields\":{\"text\":\"two\"},\"suggestions\":{},\"metadata\":{},"
             "\"lease_expires\":\"%s\",\"draft\":null}]",
             lease[0], lease[1]);
    assert_string_equal(json, want);
    free(json);

    assert_int_equal(juror_fetch(j, 0, &json, &count), JURY_EINVAL);
    assert_string_equal(juror_error(j), "fetch: n must be 1 to 100, not 0");
    assert_int_equal(juror_fetch(j, 101, &json, &count), JURY_EINVAL);

    char ids[256];
    assert_int_equal(s_fetch_ids(j, 10, ids, sizeof ids), 2);
    assert_string_equal(ids, "r3 r4");
    assert_int_equal(juror_fetch(j, 10, &json, &count), JURY_OK);
    assert_int_equal(count, 0);
    assert_string_equal(json, "[]");
    free(json);

    /* A draft comes back with the record once it is leased again. */
    int64_t lease_ms = 0;
    assert_int_equal(juror_submit(j, "r1", JUROR_DRAFT, "{\"note\":\"half\"}", &lease_ms), JURY_OK);
    const char *r1 = "r1";
    assert_int_equal(juror_release(j, &r1, 1), JURY_OK);
    assert_int_equal(juror_fetch(j, 1, &json, &count), JURY_OK);
    assert_int_equal(count, 1);
    arr = cJSON_Parse(json);
    char *draft = cJSON_PrintUnformatted(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "draft"));
    assert_string_equal(draft, "{\"note\":\"half\"}");
    free(draft);
    cJSON_Delete(arr);
    free(json);
    juror_destroy(&j);
}

static void test_submit(void **state)
{
    fixture_t *f = *state;
    juror_t *j = s_connect(f, "alice", 0);
    char ids[256];
    assert_int_equal(s_fetch_ids(j, 3, ids, sizeof ids), 3);
    assert_string_equal(ids, "r1 r2 r3");

    int64_t lease = 123;
    assert_int_equal(juror_submit(j, "r1", JUROR_SUBMITTED, "{\"label\":\"pos\"}", &lease),
                     JURY_OK);
    assert_int_equal(lease, 0); /* only drafts extend a lease */
    assert_string_equal(juror_error(j), "");

    /* A draft may be partial and extends the lease by lease_seconds from now. */
    int64_t before = s_wall_ms();
    assert_int_equal(juror_submit(j, "r2", JUROR_DRAFT, "{\"note\":\"thinking\"}", &lease),
                     JURY_OK);
    assert_in_range(lease, before + 600000 - 1000, s_wall_ms() + 600000 + 1000);

    /* The coordinator's reasons, word for word. */
    assert_int_equal(juror_submit(j, "r2", JUROR_SUBMITTED, "{\"label\":\"maybe\"}", NULL),
                     JURY_EINVAL);
    assert_string_equal(juror_error(j),
                        "/values/label: \"maybe\" is not one of the labels \"pos\", \"neg\"");
    assert_int_equal(juror_submit(j, "r2", JUROR_SUBMITTED, "{\"note\":\"no label\"}", NULL),
                     JURY_EINVAL);
    assert_string_equal(juror_error(j),
                        "/values/label: question \"label\" is required in a submitted response");
    assert_int_equal(juror_submit(j, "r2", JUROR_SUBMITTED, "{\"label\":\"pos\",\"mood\":1}", NULL),
                     JURY_EINVAL);
    assert_string_equal(juror_error(j),
                        "/values/mood: unknown question \"mood\"; the dataset has questions: "
                        "label, note");
    assert_int_equal(juror_pending(j), 0);

    /* What libjuror refuses before sending. */
    assert_int_equal(juror_submit(j, "r2", JUROR_SUBMITTED, "[\"pos\"]", NULL), JURY_EPROTO);
    assert_string_equal(juror_error(j),
                        "values_json: must be a JSON object of answers by question");
    assert_int_equal(juror_submit(j, "r2", JUROR_SUBMITTED, "{\"label\":", NULL), JURY_EPROTO);
    assert_string_equal(juror_error(j), "values_json: not valid JSON");
    assert_int_equal(
        juror_submit(j, "r2", JUROR_SUBMITTED, "{\"label\":\"pos\",\"label\":\"neg\"}", NULL),
        JURY_EPROTO);
    assert_string_equal(juror_error(j), "values_json: key \"label\" given twice");
    assert_int_equal(juror_submit(j, "", JUROR_SUBMITTED, "{}", NULL), JURY_EINVAL);
    assert_int_equal(juror_submit(j, "r2", (juror_status)7, "{}", NULL), JURY_EINVAL);

    /* A discard needs no values. */
    assert_int_equal(juror_submit(j, "r3", JUROR_DISCARDED, NULL, NULL), JURY_OK);

    /* Not leased (never fetched) and unknown records. */
    assert_int_equal(juror_submit(j, "r4", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL),
                     JURY_ENOTLEASED);
    assert_string_equal(juror_error(j), "record 'r4' is not leased to alice (never fetched, "
                                        "released, expired, or finished by others)");
    assert_int_equal(juror_submit(j, "zz", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL),
                     JURY_ENOTFOUND);
    assert_string_equal(juror_error(j), "no record 'zz' in dataset d");

    /* Resubmitting the same final response is fine (a lost acknowledgement); changing it is not. */
    assert_int_equal(juror_submit(j, "r1", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);
    assert_int_equal(juror_submit(j, "r3", JUROR_DISCARDED, NULL, NULL), JURY_OK);
    assert_int_equal(juror_submit(j, "r3", JUROR_DISCARDED, "{}", NULL), JURY_OK);
    assert_int_equal(juror_submit(j, "r1", JUROR_SUBMITTED, "{\"label\":\"neg\"}", NULL),
                     JURY_EEXIST);
    assert_string_equal(
        juror_error(j),
        "record 'r1' was already submitted by alice; a final response cannot change");
    assert_int_equal(juror_submit(j, "r3", JUROR_SUBMITTED, "{\"label\":\"neg\"}", NULL),
                     JURY_EEXIST);

    /* The draft becomes final. */
    assert_int_equal(
        juror_submit(j, "r2", JUROR_SUBMITTED, "{\"label\":\"neg\",\"note\":\"done\"}", NULL),
        JURY_OK);
    assert_int_equal(juror_pending(j), 0);
    assert_int_equal(juror_flush(j), JURY_OK);
    juror_destroy(&j);

    cJSON *st = s_status(f);
    assert_int_equal(s_num(st, "records", NULL), 4);
    assert_int_equal(s_num(st, "pending", NULL), 4);
    assert_int_equal(s_num(st, "completed", NULL), 0);
    assert_int_equal(s_num(st, "responses", "submitted", NULL), 2);
    assert_int_equal(s_num(st, "responses", "discarded", NULL), 1);
    assert_int_equal(s_num(st, "responses", "draft", NULL), 0);
    assert_int_equal(s_num(st, "annotators", "alice", "submitted", NULL), 2);
    assert_int_equal(s_num(st, "annotators", "alice", "discarded", NULL), 1);
    cJSON_Delete(st);
}

static void test_release(void **state)
{
    fixture_t *f = *state;
    juror_t *j = s_connect(f, "alice", 0);
    char ids[256];
    assert_int_equal(s_fetch_ids(j, 2, ids, sizeof ids), 2);
    const char *both[] = {"r1", "r2"};
    assert_int_equal(juror_release(j, both, 2), JURY_OK);
    assert_int_equal(juror_release(j, both, 1), JURY_ENOTLEASED);
    assert_string_equal(juror_error(j), "record 'r1' is not leased to alice");
    const char *mixed[] = {"zz", "r1"};
    assert_int_equal(juror_release(j, mixed, 2), JURY_ENOTFOUND);
    assert_string_equal(juror_error(j), "no record 'zz' in dataset d");
    assert_int_equal(juror_release(j, both, 0), JURY_EINVAL);
    assert_int_equal(juror_release(j, NULL, 1), JURY_EINVAL);
    const char *empty[] = {""};
    assert_int_equal(juror_release(j, empty, 1), JURY_EINVAL);
    /* A released record cannot be answered without fetching it again. */
    assert_int_equal(juror_submit(j, "r1", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL),
                     JURY_ENOTLEASED);
    assert_int_equal(s_fetch_ids(j, 4, ids, sizeof ids), 4);
    assert_string_equal(ids, "r1 r2 r3 r4");
    juror_destroy(&j);
}

static void test_two_annotators_complete_records(void **state)
{
    fixture_t *f = *state;
    juror_t *a = s_connect(f, "alice", 0), *b = s_connect(f, "bob", 0);
    char ids[256];
    assert_int_equal(s_fetch_ids(a, 4, ids, sizeof ids), 4);
    assert_int_equal(s_fetch_ids(b, 4, ids, sizeof ids), 4);
    assert_string_equal(ids, "r1 r2 r3 r4");
    assert_int_equal(juror_submit(a, "r1", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);
    assert_int_equal(juror_submit(a, "r2", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);
    assert_int_equal(juror_submit(a, "r3", JUROR_DISCARDED, NULL, NULL), JURY_OK);
    assert_int_equal(juror_submit(a, "r4", JUROR_DRAFT, "{}", NULL), JURY_OK);
    assert_int_equal(juror_submit(b, "r1", JUROR_SUBMITTED, "{\"label\":\"neg\"}", NULL), JURY_OK);
    assert_int_equal(juror_submit(b, "r2", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);
    assert_int_equal(juror_submit(b, "r3", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);
    juror_destroy(&a);
    juror_destroy(&b);

    cJSON *st = s_status(f);
    assert_int_equal(s_num(st, "records", NULL), 4);
    assert_int_equal(s_num(st, "completed", NULL), 2);
    assert_int_equal(s_num(st, "pending", NULL), 2);
    assert_int_equal(s_num(st, "discarded", NULL), 0);
    assert_int_equal(s_num(st, "responses", "submitted", NULL), 5);
    assert_int_equal(s_num(st, "responses", "discarded", NULL), 1);
    assert_int_equal(s_num(st, "responses", "draft", NULL), 1);
    assert_int_equal(s_num(st, "annotators", "alice", "submitted", NULL), 2);
    assert_int_equal(s_num(st, "annotators", "alice", "discarded", NULL), 1);
    assert_int_equal(s_num(st, "annotators", "alice", "draft", NULL), 1);
    assert_int_equal(s_num(st, "annotators", "bob", "submitted", NULL), 3);
    cJSON_Delete(st);
    char resp[256];
    s_dump_responses(f, "r1", resp, sizeof resp);
    assert_string_equal(resp, "alice:submitted bob:submitted");
}

/* An event loop that only polls and ticks keeps the session, and so the leases, alive. */
static void test_poll_keeps_session_alive(void **state)
{
    fixture_t *f = *state;
    juror_t *j = s_connect(f, "alice", 0);
    char ids[256];
    assert_int_equal(s_fetch_ids(j, 1, ids, sizeof ids), 1);
    assert_true(juror_fd(j) >= 0);
    /* Ten heartbeat intervals of idling, three times what declares a silent worker dead. */
    int64_t end = s_mono_ms() + 2000;
    while (s_mono_ms() < end) {
        assert_int_equal(s_poll_loop(j, 100, false), JURY_OK);
        assert_true(juror_connected(j));
        assert_in_range(juror_timeout_ms(j), 0, HEARTBEAT_MS);
    }
    /* Still leased: the coordinator never dropped the session. */
    assert_int_equal(juror_submit(j, "r1", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);
    juror_destroy(&j);
}

/* A juror nobody ticks falls silent: the coordinator drops it and its leases (SPEC 8). The next
 * call opens a new session by itself; the answer to a record fetched on the old session goes with
 * reclaim, and the coordinator leases the record again because it is still open (SPEC 9.3). */
static void test_silent_juror_loses_its_leases(void **state)
{
    fixture_t *f = *state;
    juror_t *j = s_connect(f, "alice", 0);
    char ids[256];
    assert_int_equal(s_fetch_ids(j, 1, ids, sizeof ids), 1);
    assert_string_equal(ids, "r1");
    struct timespec nap = {1, 500000000};
    nanosleep(&nap, NULL);
    assert_int_equal(juror_submit(j, "r1", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);
    assert_true(juror_connected(j));
    assert_int_equal(juror_pending(j), 0);
    char resp[256];
    s_dump_responses(f, "r1", resp, sizeof resp);
    assert_string_equal(resp, "alice:submitted");
    /* A record never fetched is not reclaimed: the juror sends it plainly and it is refused. */
    assert_int_equal(juror_submit(j, "r3", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL),
                     JURY_ENOTLEASED);
    juror_destroy(&j);
}

/*
 * The coordinator crashes (SIGKILL) while the juror holds leases and a response is in flight, and
 * comes back on the same store and endpoint. The juror reconnects by itself; the response is sent
 * again and refused with ENOTLEASED (leases live in memory, SPEC 12) or accepted; nothing is
 * stored twice. Then the coordinator stalls (SIGSTOP) with a response in flight, which it may
 * store without the juror hearing of it; the resend after the reconnect is accepted as identical
 * or refused, and again nothing is stored twice. Last, a clean shutdown says goodbye.
 */
static void test_coordinator_restart(void **state)
{
    fixture_t *f = *state;
    juror_t *j = s_connect(f, "alice", 1500);
    char ids[256], resp[256];
    assert_int_equal(s_fetch_ids(j, 3, ids, sizeof ids), 3);
    assert_string_equal(ids, "r1 r2 r3");
    assert_int_equal(juror_submit(j, "r1", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_OK);

    /* Crash. */
    s_serve_signal(f, SIGKILL);
    assert_int_equal(juror_submit(j, "r2", JUROR_SUBMITTED, "{\"label\":\"neg\"}", NULL), JURY_EIO);
    assert_int_equal(juror_pending(j), 1);
    s_serve_start(f);
    assert_int_equal(s_poll_loop(j, 15000, true), JURY_OK);
    assert_true(juror_connected(j));
    jury_err err = juror_flush(j);
    if (err != JURY_OK && err != JURY_ENOTLEASED)
        fail_msg("flush after a restart: %s: %s", jury_errname(err), juror_error(j));
    assert_int_equal(juror_pending(j), 0);
    if (err == JURY_ENOTLEASED) {
        /* The leases died with the coordinator: fetch again and answer again. */
        assert_string_equal(juror_error(j), "record 'r2' is not leased to alice (never fetched, "
                                            "released, expired, or finished by others)");
        assert_int_equal(s_fetch_ids(j, 10, ids, sizeof ids), 3);
        assert_string_equal(ids, "r2 r3 r4");
        assert_int_equal(juror_submit(j, "r2", JUROR_SUBMITTED, "{\"label\":\"neg\"}", NULL),
                         JURY_OK);
    } else {
        assert_int_equal(s_fetch_ids(j, 10, ids, sizeof ids), 2);
    }
    s_dump_responses(f, "r1", resp, sizeof resp);
    assert_string_equal(resp, "alice:submitted");
    s_dump_responses(f, "r2", resp, sizeof resp);
    assert_string_equal(resp, "alice:submitted");

    /* Stall: the submit sits in the stopped coordinator's socket while the juror gives up on it. */
    s_serve_signal(f, SIGSTOP);
    assert_int_equal(juror_submit(j, "r3", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL), JURY_EIO);
    assert_int_equal(juror_pending(j), 1);
    s_serve_signal(f, SIGCONT);
    assert_int_equal(s_poll_loop(j, 15000, true), JURY_OK);
    err = juror_flush(j);
    if (err != JURY_OK && err != JURY_ENOTLEASED)
        fail_msg("flush after a stall: %s: %s", jury_errname(err), juror_error(j));
    assert_int_equal(juror_pending(j), 0);
    s_dump_responses(f, "r3", resp, sizeof resp);
    /* The identical-response check comes before the lease check (SPEC 9.2), so a refusal means
     * the stalled submit was never stored. */
    assert_string_equal(resp, err == JURY_OK ? "alice:submitted" : "");

    /* A clean shutdown says goodbye; the juror waits and comes back with the coordinator. */
    s_serve_signal(f, SIGTERM);
    s_poll_loop(j, 300, false);
    assert_false(juror_connected(j));
    assert_string_equal(juror_error(j), "the coordinator ended the session: EBUSY: the "
                                        "coordinator is shutting down");
    assert_int_equal(juror_tick(j), JURY_EIO);
    s_serve_start(f);
    assert_int_equal(s_poll_loop(j, 15000, true), JURY_OK);
    assert_true(juror_connected(j));

    cJSON *st = s_status(f);
    assert_int_equal(s_num(st, "responses", "submitted", NULL), err == JURY_OK ? 3 : 2);
    cJSON_Delete(st);
    juror_destroy(&j);
}

/* ---- a hostile coordinator ----------------------------------------------------------------- */

/* A fake coordinator on a ROUTER socket, run by a thread, that answers by script. */
typedef struct {
    void *sock;        /* bound ROUTER (owned by the thread once it runs) */
    int hellos;        /* hellos seen */
    int fetches;       /* fetches seen */
    int submits;       /* submits seen */
    int releases;      /* releases seen, but for "late" */
    int late_released; /* releases of the record of a stale batch */
} fake_t;

static void s_fake_send(fake_t *fk, zmq_msg_t *peer, const void *data, size_t len)
{
    zmq_send(fk->sock, zmq_msg_data(peer), zmq_msg_size(peer), ZMQ_SNDMORE);
    zmq_send(fk->sock, data, len, 0);
}

static void s_fake_send_buf(fake_t *fk, zmq_msg_t *peer, msgpack_sbuffer *b)
{
    s_fake_send(fk, peer, b->data, b->size);
    b->size = 0;
}

/* Packs a batch of one record {id, fields: {text: "x"}, lease_expires, draft?}. */
static void s_fake_batch(msgpack_sbuffer *b, uint64_t req, const char *id, int64_t lease,
                         bool with_fields)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    jury_proto_pack_header(&pk, JURY_CMD_BATCH, true, req, 1);
    jury_proto_pack_cstr(&pk, "records");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, with_fields ? 5 : 2);
    jury_proto_pack_cstr(&pk, "id");
    jury_proto_pack_cstr(&pk, id);
    jury_proto_pack_cstr(&pk, "lease_expires");
    msgpack_pack_int64(&pk, lease);
    if (with_fields) {
        jury_proto_pack_cstr(&pk, "fields");
        msgpack_pack_map(&pk, 1);
        jury_proto_pack_cstr(&pk, "text");
        jury_proto_pack_cstr(&pk, "x");
        jury_proto_pack_cstr(&pk, "metadata");
        msgpack_pack_nil(&pk);
        jury_proto_pack_cstr(&pk, "draft");
        msgpack_pack_map(&pk, 1);
        jury_proto_pack_cstr(&pk, "label");
        jury_proto_pack_cstr(&pk, "pos");
    }
}

/* Packs results with one entry for record. */
static void s_fake_results(msgpack_sbuffer *b, uint64_t req, const char *record, bool ok,
                           const char *code)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    jury_proto_pack_header(&pk, JURY_CMD_RESULTS, true, req, 1);
    jury_proto_pack_cstr(&pk, "results");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, ok ? 2 : 4);
    jury_proto_pack_cstr(&pk, "record");
    jury_proto_pack_cstr(&pk, record);
    jury_proto_pack_cstr(&pk, "ok");
    if (ok) {
        msgpack_pack_true(&pk);
        return;
    }
    msgpack_pack_false(&pk);
    jury_proto_pack_cstr(&pk, "code");
    jury_proto_pack_cstr(&pk, code);
    jury_proto_pack_cstr(&pk, "reason");
    jury_proto_pack_cstr(&pk, "odd");
}

static void *s_fake_main(void *arg)
{
    fake_t *fk = arg;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    for (;;) {
        zmq_msg_t peer, body;
        zmq_msg_init(&peer);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&peer, fk->sock, 0) < 0 || zmq_msg_recv(&body, fk->sock, 0) < 0) {
            zmq_msg_close(&peer);
            zmq_msg_close(&body);
            break; /* receive timeout: the test is over */
        }
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        jury_msg_t m;
        if (jury_proto_decode(zmq_msg_data(&body), zmq_msg_size(&body), &zone, &m, NULL, 0) ==
            JURY_OK) {
            msgpack_packer pk;
            msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
            if (m.cmd == JURY_CMD_HELLO) {
                fk->hellos++;
                jury_proto_pack_header(&pk, JURY_CMD_WELCOME, true, m.req, 6);
                jury_proto_pack_cstr(&pk, "dataset");
                jury_proto_pack_cstr(&pk, "d");
                jury_proto_pack_cstr(&pk, "annotator");
                jury_proto_pack_cstr(&pk, "alice");
                jury_proto_pack_cstr(&pk, "settings");
                msgpack_pack_map(&pk, 0);
                jury_proto_pack_cstr(&pk, "heartbeat_ms");
                msgpack_pack_uint32(&pk, 60000);
                jury_proto_pack_cstr(&pk, "lease_seconds");
                msgpack_pack_uint32(&pk, 30);
                jury_proto_pack_cstr(&pk, "batch_max");
                msgpack_pack_uint32(&pk, 100);
                s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_FETCH && ++fk->fetches == 1) {
                /* Garbage of every kind, then a reply that is malformed. */
                s_fake_send(fk, &peer, "\xc1", 1);
                s_fake_send(fk, &peer, "\x01", 1);
                zmq_send(fk->sock, zmq_msg_data(&peer), zmq_msg_size(&peer), ZMQ_SNDMORE);
                zmq_send(fk->sock, "a", 1, ZMQ_SNDMORE);
                zmq_send(fk->sock, "b", 1, 0);
                jury_proto_pack_header(&pk, JURY_CMD_HELLO, false, 0, 0);
                s_fake_send_buf(fk, &peer, &b);
                s_fake_batch(&b, m.req, "r1", 0, false);
                s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_FETCH && fk->fetches == 2) {
                /* A late answer to nobody's request, then the right one with extreme times. */
                s_fake_batch(&b, m.req + 1000, "late", 0, true);
                s_fake_send_buf(fk, &peer, &b);
                s_fake_batch(&b, m.req, "far", INT64_MAX, true);
                s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_FETCH && fk->fetches == 3) {
                s_fake_batch(&b, m.req, "past", -1, true);
                s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_FETCH) {
                if (jury_proto_encode_goodbye(&b, "EPROTO", "too many malformed messages") ==
                    JURY_OK)
                    s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_SUBMIT && ++fk->submits == 1) {
                /* A code this build does not know counts as EINTERNAL: kept, sent again. */
                s_fake_results(&b, m.req, "far", false, "EWHATEVER");
                s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_SUBMIT) {
                s_fake_results(&b, m.req, "far", true, NULL);
                s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_RELEASE && m.u.release.records[0].len == 4) {
                fk->late_released++; /* "late": the juror gave the stale record back */
            } else if (m.cmd == JURY_CMD_RELEASE && ++fk->releases == 1) {
                if (jury_proto_encode_error(&b, true, m.req, "ENOSESSION", "who are you") ==
                    JURY_OK)
                    s_fake_send_buf(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_RELEASE) {
                s_fake_results(&b, m.req, "far", true, NULL);
                s_fake_send_buf(fk, &peer, &b);
            }
        }
        msgpack_zone_destroy(&zone);
        zmq_msg_close(&peer);
        zmq_msg_close(&body);
    }
    msgpack_sbuffer_destroy(&b);
    return NULL;
}

/* Nothing a coordinator sends crashes the juror: garbage is ignored and noted, malformed replies
 * fail their call, unknown codes count as EINTERNAL, ENOSESSION reconnects, goodbye EPROTO is
 * final. (No jury serve here; the fixture's is left alone.) */
static void test_hostile_coordinator(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    fake_t fk = {.sock = zmq_socket(ctx, ZMQ_ROUTER)};
    int timeout = 5000, zero = 0;
    zmq_setsockopt(fk.sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(fk.sock, ZMQ_LINGER, &zero, sizeof zero);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", s_free_port());
    assert_int_equal(zmq_bind(fk.sock, endpoint), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_fake_main, &fk), 0);

    juror_opts_t o = {
        .endpoint = endpoint, .dataset = "d", .annotator = "alice", .timeout_ms = 3000};
    char why[256];
    juror_t *j = NULL;
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_OK);
    assert_string_equal(juror_settings(j), "{}");
    assert_int_equal(juror_lease_seconds(j), 30);

    char *json = NULL;
    size_t count = 0;
    assert_int_equal(juror_fetch(j, 1, &json, &count), JURY_EPROTO);
    assert_string_equal(juror_error(j), "the coordinator's reply is malformed: batch: "
                                        "records[0].fields: missing");
    assert_true(juror_connected(j));

    assert_int_equal(juror_fetch(j, 1, &json, &count), JURY_OK);
    assert_int_equal(count, 1);
    assert_string_equal(json, "[{\"id\":\"far\",\"fields\":{\"text\":\"x\"},\"suggestions\":{},"
                              "\"metadata\":{},\"lease_expires\":\"9999-12-31T23:59:59.999Z\","
                              "\"draft\":{\"label\":\"pos\"}}]");
    free(json);
    assert_int_equal(juror_fetch(j, 1, &json, &count), JURY_OK);
    assert_memory_equal(strstr(json, "\"lease_expires\""),
                        "\"lease_expires\":\"1969-12-31T23:59:59.999Z\"", 42);
    free(json);

    assert_int_equal(juror_submit(j, "far", JUROR_SUBMITTED, "{\"label\":\"pos\"}", NULL),
                     JURY_EINTERNAL);
    assert_string_equal(juror_error(j), "odd");
    assert_int_equal(juror_pending(j), 1);
    assert_int_equal(juror_flush(j), JURY_OK);
    assert_int_equal(juror_pending(j), 0);

    const char *far = "far";
    assert_int_equal(juror_release(j, &far, 1), JURY_OK);
    assert_int_equal(fk.hellos, 2); /* ENOSESSION: a new session, and the release again */
    assert_int_equal(fk.late_released, 1);

    assert_int_equal(juror_fetch(j, 1, &json, &count), JURY_EPROTO);
    assert_string_equal(juror_error(j), "the coordinator ended the session: EPROTO: too many "
                                        "malformed messages");
    assert_false(juror_connected(j));
    assert_int_equal(juror_tick(j), JURY_EPROTO);
    assert_int_equal(juror_fd(j), -1);
    assert_int_equal(juror_submit(j, "far", JUROR_SUBMITTED, "{}", NULL), JURY_EPROTO);
    juror_destroy(&j);

    pthread_join(th, NULL);
    zmq_close(fk.sock);
    zmq_ctx_term(ctx);
}

/* ---- a scripted reviewer's coordinator ------------------------------------------------------ */

/* What the review fake saw of one review_submit. */
typedef struct {
    char record[64];  /* the decision's record */
    bool accept;      /* its accept */
    char values[128]; /* its values as JSON, "" when absent */
    char note[64];    /* its note, "" when absent */
} seen_decision_t;

/* A fake coordinator for review (SPEC.md 6.12-6.14) on a ROUTER socket, run by a thread: it
 * answers by script, and goes silent once (a lost connection) to make the juror reconnect. */
typedef struct {
    void *sock;                   /* bound ROUTER (owned by the thread once it runs) */
    int hellos;                   /* hellos seen */
    int review_fetches;           /* review_fetches seen */
    uint32_t last_n;              /* the last review_fetch's n */
    int review_submits;           /* review_submits seen */
    seen_decision_t decisions[8]; /* what each review_submit carried, in order */
    unsigned char muted[256];     /* routing id the fake no longer answers */
    size_t muted_len;             /* its length; 0: none */
} review_fake_t;

/* The heartbeat the review fake's welcome asks for: silence for 3 of them is a lost connection. */
#define REVIEW_HEARTBEAT_MS 200

/* Packs the review_batch of the script: r1 (contested and rejected, two responses) and r2. */
static void s_fake_review_batch(msgpack_sbuffer *b, uint64_t req)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    jury_proto_pack_header(&pk, JURY_CMD_REVIEW_BATCH, true, req, 1);
    jury_proto_pack_cstr(&pk, "records");
    msgpack_pack_array(&pk, 2);

    msgpack_pack_map(&pk, 9);
    jury_proto_pack_cstr(&pk, "id");
    jury_proto_pack_cstr(&pk, "r1");
    jury_proto_pack_cstr(&pk, "fields");
    msgpack_pack_map(&pk, 1);
    jury_proto_pack_cstr(&pk, "text");
    jury_proto_pack_cstr(&pk, "one");
    jury_proto_pack_cstr(&pk, "suggestions");
    msgpack_pack_map(&pk, 1);
    jury_proto_pack_cstr(&pk, "label");
    msgpack_pack_map(&pk, 2);
    jury_proto_pack_cstr(&pk, "value");
    jury_proto_pack_cstr(&pk, "neg");
    jury_proto_pack_cstr(&pk, "score");
    msgpack_pack_double(&pk, 0.5);
    jury_proto_pack_cstr(&pk, "metadata");
    msgpack_pack_map(&pk, 1);
    jury_proto_pack_cstr(&pk, "source");
    jury_proto_pack_cstr(&pk, "web");
    jury_proto_pack_cstr(&pk, "lease_expires");
    msgpack_pack_int64(&pk, INT64_C(1767225600000)); /* 2026-01-01T00:00:00.000Z */
    jury_proto_pack_cstr(&pk, "why");
    msgpack_pack_array(&pk, 2);
    jury_proto_pack_cstr(&pk, "contested");
    jury_proto_pack_cstr(&pk, "rejected");
    jury_proto_pack_cstr(&pk, "reason");
    jury_proto_pack_cstr(&pk, "min_agreement: label 0.5 < 0.6");
    jury_proto_pack_cstr(&pk, "unified");
    msgpack_pack_map(&pk, 1);
    jury_proto_pack_cstr(&pk, "label");
    jury_proto_pack_cstr(&pk, "pos");
    jury_proto_pack_cstr(&pk, "responses");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 4);
    jury_proto_pack_cstr(&pk, "annotator");
    jury_proto_pack_cstr(&pk, "alice");
    jury_proto_pack_cstr(&pk, "status");
    jury_proto_pack_cstr(&pk, "submitted");
    jury_proto_pack_cstr(&pk, "values");
    msgpack_pack_map(&pk, 1);
    jury_proto_pack_cstr(&pk, "label");
    jury_proto_pack_cstr(&pk, "pos");
    jury_proto_pack_cstr(&pk, "updated_ms");
    msgpack_pack_int64(&pk, INT64_C(1767225000123)); /* 2025-12-31T23:50:00.123Z */
    msgpack_pack_map(&pk, 4);
    jury_proto_pack_cstr(&pk, "annotator");
    jury_proto_pack_cstr(&pk, "bob");
    jury_proto_pack_cstr(&pk, "status");
    jury_proto_pack_cstr(&pk, "discarded");
    jury_proto_pack_cstr(&pk, "values");
    msgpack_pack_nil(&pk);
    jury_proto_pack_cstr(&pk, "updated_ms");
    msgpack_pack_int64(&pk, INT64_C(1767225100000)); /* 2025-12-31T23:51:40.000Z */

    /* Only what SPEC.md requires. */
    msgpack_pack_map(&pk, 5);
    jury_proto_pack_cstr(&pk, "id");
    jury_proto_pack_cstr(&pk, "r2");
    jury_proto_pack_cstr(&pk, "fields");
    msgpack_pack_map(&pk, 1);
    jury_proto_pack_cstr(&pk, "text");
    jury_proto_pack_cstr(&pk, "two");
    jury_proto_pack_cstr(&pk, "lease_expires");
    msgpack_pack_int64(&pk, INT64_C(1767225600000));
    jury_proto_pack_cstr(&pk, "why");
    msgpack_pack_array(&pk, 1);
    jury_proto_pack_cstr(&pk, "rejected");
    jury_proto_pack_cstr(&pk, "responses");
    msgpack_pack_array(&pk, 0);
}

/* Sends b to peer and empties it. */
static void s_review_send(review_fake_t *fk, zmq_msg_t *peer, msgpack_sbuffer *b)
{
    zmq_send(fk->sock, zmq_msg_data(peer), zmq_msg_size(peer), ZMQ_SNDMORE);
    zmq_send(fk->sock, b->data, b->size, 0);
    b->size = 0;
}

/* Keeps what a review_submit's one decision carried. */
static void s_fake_keep_decision(review_fake_t *fk, const jury_msg_t *m)
{
    if (fk->review_submits > 8 || m->u.review_submit.count != 1)
        return;
    seen_decision_t *d = &fk->decisions[fk->review_submits - 1];
    const jury_proto_decision_t *it = &m->u.review_submit.items[0];
    snprintf(d->record, sizeof d->record, "%.*s", (int)it->record.len, it->record.ptr);
    d->accept = it->accept;
    snprintf(d->note, sizeof d->note, "%.*s", (int)it->note.len, it->note.ptr);
    d->values[0] = '\0';
    if (it->values) {
        cJSON *v = jury_jsonpack_to_json(it->values);
        char *text = v ? cJSON_PrintUnformatted(v) : NULL;
        snprintf(d->values, sizeof d->values, "%s", text ? text : "?");
        free(text);
        cJSON_Delete(v);
    }
}

static void *s_review_fake_main(void *arg)
{
    review_fake_t *fk = arg;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    bool bye = false;
    while (!bye) {
        zmq_msg_t peer, body;
        zmq_msg_init(&peer);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&peer, fk->sock, 0) < 0 || zmq_msg_recv(&body, fk->sock, 0) < 0) {
            zmq_msg_close(&peer);
            zmq_msg_close(&body);
            break; /* receive timeout: the test failed and is over */
        }
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        jury_msg_t m;
        bool muted = fk->muted_len == zmq_msg_size(&peer) &&
                     memcmp(fk->muted, zmq_msg_data(&peer), fk->muted_len) == 0;
        if (!muted && jury_proto_decode(zmq_msg_data(&body), zmq_msg_size(&body), &zone, &m, NULL,
                                        0) == JURY_OK) {
            msgpack_packer pk;
            msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
            if (m.cmd == JURY_CMD_HELLO) {
                /* The first session is a reviewer's; the second comes from a coordinator that
                 * does not say (older ones leave role out). */
                bool role = ++fk->hellos == 1;
                jury_proto_pack_header(&pk, JURY_CMD_WELCOME, true, m.req, role ? 7 : 6);
                jury_proto_pack_cstr(&pk, "dataset");
                jury_proto_pack_cstr(&pk, "d");
                jury_proto_pack_cstr(&pk, "annotator");
                jury_proto_pack_cstr(&pk, "rita");
                jury_proto_pack_cstr(&pk, "settings");
                msgpack_pack_map(&pk, 0);
                jury_proto_pack_cstr(&pk, "heartbeat_ms");
                msgpack_pack_uint32(&pk, REVIEW_HEARTBEAT_MS);
                jury_proto_pack_cstr(&pk, "lease_seconds");
                msgpack_pack_uint32(&pk, 600);
                jury_proto_pack_cstr(&pk, "batch_max");
                msgpack_pack_uint32(&pk, 100);
                if (role) {
                    jury_proto_pack_cstr(&pk, "role");
                    jury_proto_pack_cstr(&pk, "reviewer");
                }
                s_review_send(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_HEARTBEAT) {
                if (jury_proto_encode_heartbeat(&b) == JURY_OK)
                    s_review_send(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_BYE) {
                bye = true;
            } else if (m.cmd == JURY_CMD_REVIEW_FETCH && ++fk->review_fetches == 1) {
                fk->last_n = m.u.fetch.n;
                s_fake_review_batch(&b, m.req);
                s_review_send(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_REVIEW_FETCH) {
                fk->last_n = m.u.fetch.n;
                if (jury_proto_encode_error(&b, true, m.req, "EPERM",
                                            "review_fetch: rita may not review dataset d") ==
                    JURY_OK)
                    s_review_send(fk, &peer, &b);
            } else if (m.cmd == JURY_CMD_REVIEW_SUBMIT) {
                int k = ++fk->review_submits;
                s_fake_keep_decision(fk, &m);
                if (k == 1 || k == 5) {
                    s_fake_results(&b, m.req, fk->decisions[k - 1].record, true, NULL);
                    s_review_send(fk, &peer, &b);
                } else if (k == 2) {
                    jury_proto_pack_header(&pk, JURY_CMD_RESULTS, true, m.req, 1);
                    jury_proto_pack_cstr(&pk, "results");
                    msgpack_pack_array(&pk, 1);
                    msgpack_pack_map(&pk, 4);
                    jury_proto_pack_cstr(&pk, "record");
                    jury_proto_pack_cstr(&pk, "r2");
                    jury_proto_pack_cstr(&pk, "ok");
                    msgpack_pack_false(&pk);
                    jury_proto_pack_cstr(&pk, "code");
                    jury_proto_pack_cstr(&pk, "EINVAL");
                    jury_proto_pack_cstr(&pk, "reason");
                    jury_proto_pack_cstr(
                        &pk, "/values/label: \"maybe\" is not one of the labels \"pos\", \"neg\"");
                    s_review_send(fk, &peer, &b);
                } else if (k == 3) {
                    if (jury_proto_encode_error(&b, true, m.req, "EPERM",
                                                "review_submit: rita may not review dataset d") ==
                        JURY_OK)
                        s_review_send(fk, &peer, &b);
                } else if (k == 4) {
                    /* The connection is lost: nothing more reaches this socket, heartbeats
                     * included, so the juror gives it up and opens a new one. */
                    fk->muted_len =
                        zmq_msg_size(&peer) < sizeof fk->muted ? zmq_msg_size(&peer) : 0;
                    memcpy(fk->muted, zmq_msg_data(&peer), fk->muted_len);
                }
            }
        }
        msgpack_zone_destroy(&zone);
        zmq_msg_close(&peer);
        zmq_msg_close(&body);
    }
    msgpack_sbuffer_destroy(&b);
    return NULL;
}

/* Review through libjuror against a scripted coordinator: juror_role from welcome (and "" when a
 * welcome has none), review_fetch's JSON, EPERM that leaves the session up, review_submit's
 * acknowledgement, a refusal's reason, what libjuror refuses before sending, and a decision sent
 * again on a new session after the connection was lost. */
static void test_review(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    review_fake_t fk = {.sock = zmq_socket(ctx, ZMQ_ROUTER)};
    int timeout = 10000, zero = 0;
    zmq_setsockopt(fk.sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(fk.sock, ZMQ_LINGER, &zero, sizeof zero);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", s_free_port());
    assert_int_equal(zmq_bind(fk.sock, endpoint), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_review_fake_main, &fk), 0);

    juror_opts_t o = {
        .endpoint = endpoint, .dataset = "d", .annotator = "rita", .timeout_ms = 5000, .seed = 7};
    char why[256];
    juror_t *j = NULL;
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_OK);
    assert_string_equal(juror_role(j), "reviewer");

    char *json = NULL;
    size_t count = 99;
    assert_int_equal(juror_review_fetch(j, 0, &json, &count), JURY_EINVAL);
    assert_string_equal(juror_error(j), "review_fetch: n must be 1 to 100, not 0");
    assert_int_equal(juror_review_fetch(j, 101, &json, &count), JURY_EINVAL);
    assert_int_equal(fk.review_fetches, 0);

    assert_int_equal(juror_review_fetch(j, 10, &json, &count), JURY_OK);
    assert_int_equal(fk.last_n, 10);
    assert_int_equal(count, 2);
    assert_string_equal(
        json, "[{\"id\":\"r1\",\"fields\":{\"text\":\"one\"},"
              "\"suggestions\":{\"label\":{\"value\":\"neg\",\"score\":0.5}},"
              "\"metadata\":{\"source\":\"web\"},\"lease_expires\":\"2026-01-01T00:00:00.000Z\","
              "\"why\":[\"contested\",\"rejected\"],\"reason\":\"min_agreement: label 0.5 < 0.6\","
              "\"unified\":{\"label\":\"pos\"},\"responses\":["
              "{\"annotator\":\"alice\",\"status\":\"submitted\",\"values\":{\"label\":\"pos\"},"
              "\"updated\":\"2025-12-31T23:50:00.123Z\"},"
              "{\"annotator\":\"bob\",\"status\":\"discarded\",\"values\":null,"
              "\"updated\":\"2025-12-31T23:51:40.000Z\"}]},"
              "{\"id\":\"r2\",\"fields\":{\"text\":\"two\"},\"suggestions\":{},\"metadata\":{},"
              "\"lease_expires\":\"2026-01-01T00:00:00.000Z\",\"why\":[\"rejected\"],"
              "\"reason\":null,\"unified\":null,\"responses\":[]}]");
    free(json);

    /* Not a reviewer: the call fails with the coordinator's reason; the session goes on. */
    json = NULL;
    assert_int_equal(juror_review_fetch(j, 5, &json, &count), JURY_EPERM);
    assert_null(json);
    assert_string_equal(juror_error(j), "review_fetch: rita may not review dataset d");
    assert_true(juror_connected(j));
    assert_int_equal(juror_tick(j), JURY_OK);

    /* What libjuror refuses before sending. */
    assert_int_equal(juror_review_submit(j, "r1", true, NULL, NULL), JURY_EINVAL);
    assert_string_equal(
        juror_error(j),
        "review_submit: accepting record 'r1' needs values_json, the final answers");
    assert_int_equal(juror_review_submit(j, "r1", true, "[\"pos\"]", NULL), JURY_EPROTO);
    assert_string_equal(juror_error(j),
                        "values_json: must be a JSON object of answers by question");
    assert_int_equal(juror_review_submit(j, "", false, NULL, NULL), JURY_EINVAL);
    assert_string_equal(juror_error(j),
                        "review_submit: the record id must be 1 to 500 bytes of UTF-8");
    char note[JURY_PROTO_REASON_MAX + 2];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    assert_int_equal(juror_review_submit(j, "r1", false, NULL, note), JURY_ETOOBIG);
    assert_string_equal(juror_error(j), "review_submit: note: 1025 bytes; at most 1024 fit");
    assert_int_equal(juror_review_submit(j, "r1", false, NULL, "caf\xe9"), JURY_EINVAL);
    assert_string_equal(juror_error(j), "review_submit: note: not valid UTF-8");
    assert_int_equal(fk.review_submits, 0);

    /* Accepted: on the coordinator's disk. */
    assert_int_equal(juror_review_submit(j, "r1", true, "{\"label\":\"pos\",\"note\":\"ok\"}",
                                         "alice was right"),
                     JURY_OK);
    assert_string_equal(juror_error(j), "");
    assert_int_equal(fk.review_submits, 1);
    assert_string_equal(fk.decisions[0].record, "r1");
    assert_true(fk.decisions[0].accept);
    assert_string_equal(fk.decisions[0].values, "{\"label\":\"pos\",\"note\":\"ok\"}");
    assert_string_equal(fk.decisions[0].note, "alice was right");

    /* Refused for its values, with the coordinator's reason word for word. */
    assert_int_equal(juror_review_submit(j, "r2", true, "{\"label\":\"maybe\"}", NULL),
                     JURY_EINVAL);
    assert_string_equal(juror_error(j),
                        "/values/label: \"maybe\" is not one of the labels \"pos\", \"neg\"");
    assert_string_equal(fk.decisions[1].note, "");

    /* EPERM for the whole request: passed through, the session goes on. */
    assert_int_equal(juror_review_submit(j, "r2", false, NULL, "off topic"), JURY_EPERM);
    assert_string_equal(juror_error(j), "review_submit: rita may not review dataset d");
    assert_true(juror_connected(j));

    /* The connection is lost before the acknowledgement: the same decision goes again on the new
     * session, and that one is acknowledged. A rejection's values are never sent. */
    assert_int_equal(juror_review_submit(j, "r2", false, "{\"label\":\"neg\"}", "off topic"),
                     JURY_OK);
    assert_int_equal(fk.hellos, 2);
    assert_int_equal(fk.review_submits, 5);
    for (int k = 3; k < 5; k++) {
        assert_string_equal(fk.decisions[k].record, "r2");
        assert_false(fk.decisions[k].accept);
        assert_string_equal(fk.decisions[k].values, "");
        assert_string_equal(fk.decisions[k].note, "off topic");
    }
    assert_true(juror_connected(j));
    /* The new session's welcome says no role. */
    assert_string_equal(juror_role(j), "");

    juror_destroy(&j);
    pthread_join(th, NULL);
    zmq_close(fk.sock);
    zmq_ctx_term(ctx);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(juror_version(), "0.1.0");
    assert_string_equal(juror_status_name(JUROR_SUBMITTED), "submitted");
    assert_string_equal(juror_status_name(JUROR_DISCARDED), "discarded");
    assert_string_equal(juror_status_name(JUROR_DRAFT), "draft");
    assert_null(juror_status_name((juror_status)3));
    juror_status s = JUROR_SUBMITTED;
    assert_true(juror_status_parse("draft", &s));
    assert_int_equal(s, JUROR_DRAFT);
    assert_false(juror_status_parse("Draft", &s));
    assert_false(juror_status_parse(NULL, &s));
    assert_int_equal(s, JUROR_DRAFT);
}

/* CURVE options are checked before anything is sent: keys given halfway, key files that are not an
 * annotator's, that name someone else, or that others may read. (test_security.py runs CURVE
 * sessions against the real coordinator.) */
static void test_key_options(void **state)
{
    (void)state;
    char dir[4096], path[4200], why[700];
    tu_tmpdir(dir, sizeof dir);
    juror_t *j = NULL;
    jury_keypair_t *mine = jury_keypair_new(), *coord = jury_keypair_new();
    assert_non_null(mine);
    assert_non_null(coord);

    juror_opts_t o = {.endpoint = "tcp://127.0.0.1:1", .dataset = "d", .annotator = "ana"};
    o.public_key = mine->public_key;
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "juror_connect: give server_key, public_key and secret_key together, "
                             "or key_file alone");

    o = (juror_opts_t){.dataset = "d", .key_file = "/nonexistent/ana.key"};
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_ENOTFOUND);
    assert_null(j);

    /* An annotator's key file without an endpoint: --connect (opts.endpoint) must give one. */
    jury_keyfile_t kf;
    memset(&kf, 0, sizeof kf);
    kf.keys = mine;
    snprintf(kf.annotator, sizeof kf.annotator, "ana");
    kf.has_coordinator_key = true;
    memcpy(kf.coordinator_key, coord->public_key, JURY_KEY_BYTES);
    snprintf(path, sizeof path, "%s/ana.key", dir);
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_OK);
    o = (juror_opts_t){.dataset = "d", .key_file = path};
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "juror_connect: the key file names no endpoint: give one");
    o.annotator = "bob";
    o.endpoint = "tcp://127.0.0.1:1";
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_EINVAL);
    char want[4400];
    snprintf(want, sizeof want, "%s is the key file of ana, not of bob", path);
    assert_string_equal(why, want);

    /* Readable by others: refused, with the fix in the message. */
    assert_int_equal(chmod(path, 0644), 0);
    o.annotator = NULL;
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_EPERM);
    assert_non_null(strstr(why, "chmod 600"));

    /* A coordinator's key file (no annotator, no coordinator key) is not an annotator's. */
    memset(&kf, 0, sizeof kf);
    kf.keys = coord;
    snprintf(path, sizeof path, "%s/coordinator.key", dir);
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_OK);
    o.key_file = path;
    assert_int_equal(juror_connect(&j, &o, why, sizeof why), JURY_EINVAL);
    snprintf(want, sizeof want,
             "%s is not an annotator's key file: it needs annotator, secret-key and "
             "coordinator-key (`jury annotator add` writes one)",
             path);
    assert_string_equal(why, want);
    assert_null(j);
    jury_keypair_destroy(&mine);
    jury_keypair_destroy(&coord);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_connect, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fetch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_submit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_release, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_annotators_complete_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_poll_keeps_session_alive, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_silent_juror_loses_its_leases, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_restart, s_setup, s_teardown),
        cmocka_unit_test(test_hostile_coordinator),
        cmocka_unit_test(test_review),
        cmocka_unit_test(test_key_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
