/* test_web_session.c: the pure part of `juror web`: secrets, web sessions and their records, the
 * failed-login limit, and the checks on names, --listen, Origin, refusal reasons and roles, by
 * example. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "web_session.h"

/* A record as juror_fetch lists them. */
static cJSON *s_record(const char *id, const char *lease_expires)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"id\": \"%s\", \"fields\": {\"instruction\": \"Hello\"}, \"suggestions\": {},"
             " \"metadata\": {}, \"lease_expires\": \"%s\", \"draft\": null}",
             id, lease_expires);
    cJSON *r = cJSON_Parse(text);
    assert_non_null(r);
    return r;
}

static void test_secret(void **state)
{
    (void)state;
    char a[JUROR_WEB_SECRET_SIZE], b[JUROR_WEB_SECRET_SIZE];
    juror_web_secret_new(a);
    juror_web_secret_new(b);
    /* 32 bytes as base64url without padding: 43 characters of [A-Za-z0-9_-]. */
    assert_int_equal(strlen(a), JUROR_WEB_SECRET_LEN);
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
                     JUROR_WEB_SECRET_LEN);
    assert_string_not_equal(a, b);

    unsigned char hash[JUROR_WEB_HASH_BYTES];
    juror_web_hash(a, strlen(a), hash);
    assert_true(juror_web_secret_matches(a, strlen(a), hash));
    assert_false(juror_web_secret_matches(b, strlen(b), hash));
    assert_false(juror_web_secret_matches(a, strlen(a) - 1, hash));
    assert_false(juror_web_secret_matches("", 0, hash));
}

static void test_sessions_open_find_close(void **state)
{
    (void)state;
    int owner_a, owner_b;
    juror_web_sessions_t *t = juror_web_sessions_new(2, 60000);
    assert_non_null(t);
    char c1[JUROR_WEB_SECRET_SIZE], c2[JUROR_WEB_SECRET_SIZE], c3[JUROR_WEB_SECRET_SIZE];
    juror_web_session_t *s1 = NULL, *s2 = NULL, *s3 = NULL;
    assert_int_equal(juror_web_sessions_open(t, &owner_a, 1000, c1, &s1), JURY_OK);
    assert_int_equal(juror_web_sessions_open(t, &owner_b, 1000, c2, &s2), JURY_OK);
    /* The table holds at most 2. */
    assert_int_equal(juror_web_sessions_open(t, &owner_a, 1000, c3, &s3), JURY_ELIMIT);
    assert_int_equal(juror_web_sessions_count(t), 2);

    assert_ptr_equal(juror_web_sessions_find(t, c1, 2000), s1);
    assert_ptr_equal(juror_web_sessions_find(t, c2, 2000), s2);
    assert_ptr_equal(juror_web_session_owner(s1), &owner_a);
    assert_ptr_equal(juror_web_session_owner(s2), &owner_b);
    assert_null(juror_web_sessions_find(t, "not-a-cookie", 2000));
    assert_null(juror_web_sessions_find(t, "", 2000));
    char wrong[JUROR_WEB_SECRET_SIZE];
    memcpy(wrong, c1, sizeof wrong);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_null(juror_web_sessions_find(t, wrong, 2000));

    /* Each session has its own CSRF token, checked exactly. */
    const char *csrf = juror_web_session_csrf(s1);
    assert_int_equal(strlen(csrf), JUROR_WEB_SECRET_LEN);
    assert_string_not_equal(csrf, juror_web_session_csrf(s2));
    assert_true(juror_web_session_csrf_ok(s1, csrf));
    assert_false(juror_web_session_csrf_ok(s2, csrf));
    assert_false(juror_web_session_csrf_ok(s1, NULL));
    assert_false(juror_web_session_csrf_ok(s1, ""));
    char longer[64];
    snprintf(longer, sizeof longer, "%sx", csrf);
    assert_false(juror_web_session_csrf_ok(s1, longer));

    /* Walking by owner. */
    assert_ptr_equal(juror_web_sessions_next(t, NULL, &owner_b), s2);
    assert_null(juror_web_sessions_next(t, s2, &owner_b));
    size_t all = 0;
    for (juror_web_session_t *s = juror_web_sessions_next(t, NULL, NULL); s;
         s = juror_web_sessions_next(t, s, NULL))
        all++;
    assert_int_equal(all, 2);

    juror_web_sessions_close(t, &s1);
    assert_null(s1);
    assert_null(juror_web_sessions_find(t, c1, 3000));
    assert_int_equal(juror_web_sessions_count(t), 1);
    assert_int_equal(juror_web_sessions_open(t, &owner_a, 3000, c3, &s3), JURY_OK);
    assert_ptr_equal(juror_web_sessions_find(t, c3, 3000), s3);

    juror_web_sessions_destroy(&t);
    assert_null(t);
    juror_web_sessions_destroy(&t);
}

static void test_sessions_idle(void **state)
{
    (void)state;
    int owner;
    juror_web_sessions_t *t = juror_web_sessions_new(10, 60000);
    assert_non_null(t);
    char c1[JUROR_WEB_SECRET_SIZE], c2[JUROR_WEB_SECRET_SIZE];
    juror_web_session_t *s1, *s2;
    assert_int_equal(juror_web_sessions_open(t, &owner, 0, c1, &s1), JURY_OK);
    assert_int_equal(juror_web_sessions_open(t, &owner, 30000, c2, &s2), JURY_OK);
    assert_null(juror_web_sessions_idle(t, 60000));
    /* s1 was used at 50 s, s2 not since 30 s: s2 is the first to go. */
    assert_ptr_equal(juror_web_sessions_find(t, c1, 50000), s1);
    assert_null(juror_web_sessions_idle(t, 90000));
    assert_ptr_equal(juror_web_sessions_idle(t, 90001), s2);
    /* Unused for longer than the idle time: not found, though still there until closed. */
    assert_null(juror_web_sessions_find(t, c2, 90001));
    juror_web_sessions_close(t, &s2);
    assert_ptr_equal(juror_web_sessions_idle(t, 110001), s1);
    juror_web_sessions_destroy(&t);
}

static void test_queue(void **state)
{
    (void)state;
    int owner;
    juror_web_sessions_t *t = juror_web_sessions_new(1, 60000);
    char cookie[JUROR_WEB_SECRET_SIZE];
    juror_web_session_t *s;
    assert_int_equal(juror_web_sessions_open(t, &owner, 0, cookie, &s), JURY_OK);
    assert_int_equal(juror_web_session_queued(s), 0);
    assert_null(juror_web_session_record(s, 0));

    char id[16];
    for (int i = 1; i <= JUROR_WEB_QUEUE_MAX; i++) {
        snprintf(id, sizeof id, "r%d", i);
        cJSON *r = s_record(id, "2026-11-27T23:59:59.123Z");
        assert_int_equal(juror_web_session_push(s, &r), JURY_OK);
        assert_null(r); /* taken */
    }
    cJSON *extra = s_record("r6", "2026-11-27T23:59:59.123Z");
    assert_int_equal(juror_web_session_push(s, &extra), JURY_ELIMIT);
    assert_non_null(extra); /* still the caller's */
    cJSON_Delete(extra);
    assert_int_equal(juror_web_session_queued(s), 5);
    assert_string_equal(juror_web_session_record_id(s, 0), "r1");
    assert_string_equal(juror_web_session_record_id(s, 4), "r5");
    assert_true(juror_web_session_has(s, "r3"));

    /* Dropping keeps the order of the rest. */
    assert_true(juror_web_session_drop(s, "r1"));
    assert_true(juror_web_session_drop(s, "r3"));
    assert_false(juror_web_session_drop(s, "r3"));
    assert_int_equal(juror_web_session_queued(s), 3);
    assert_string_equal(juror_web_session_record_id(s, 0), "r2");
    assert_string_equal(juror_web_session_record_id(s, 1), "r4");

    cJSON *dup = s_record("r2", "2026-11-27T23:59:59.123Z");
    assert_int_equal(juror_web_session_push(s, &dup), JURY_EEXIST);
    cJSON_Delete(dup);
    cJSON *noid = cJSON_Parse("{\"fields\": {}}");
    assert_int_equal(juror_web_session_push(s, &noid), JURY_EINVAL);
    cJSON_Delete(noid);

    /* A draft is kept on the record, with its new lease. */
    cJSON *values = cJSON_Parse("{\"response\": \"half done\"}");
    assert_int_equal(juror_web_session_draft(s, "r2", values, INT64_C(1795841782040)), JURY_OK);
    assert_int_equal(juror_web_session_draft(s, "nope", values, 0), JURY_ENOTFOUND);
    cJSON_Delete(values);
    char *text = cJSON_PrintUnformatted(juror_web_session_record(s, 0));
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"id\":\"r2\",\"fields\":{\"instruction\":\"Hello\"},\"suggestions\":{},"
                        "\"metadata\":{},\"lease_expires\":\"2026-11-28T04:56:22.040Z\","
                        "\"draft\":{\"response\":\"half done\"}}");
    free(text);

    /* Leases that ran out go; r2's was extended past now. */
    int64_t now = INT64_C(1795841000000); /* 2026-11-28T04:43:20Z */
    assert_int_equal(juror_web_session_drop_expired(s, now), 2);
    assert_int_equal(juror_web_session_queued(s), 1);
    assert_string_equal(juror_web_session_record_id(s, 0), "r2");

    juror_web_sessions_destroy(&t); /* frees the records still queued */
}

static void test_limiter(void **state)
{
    (void)state;
    juror_web_limiter_t *l = juror_web_limiter_new(2);
    assert_non_null(l);
    for (int i = 0; i < JUROR_WEB_LOGIN_FAILS_MAX - 1; i++)
        juror_web_limiter_failed(l, "192.0.2.1", 1000 + i);
    assert_false(juror_web_limiter_blocked(l, "192.0.2.1", 2000));
    juror_web_limiter_failed(l, "192.0.2.1", 2000);
    assert_true(juror_web_limiter_blocked(l, "192.0.2.1", 2000));
    assert_false(juror_web_limiter_blocked(l, "192.0.2.2", 2000));
    /* A minute after the first failure of the run, the address may try again. */
    assert_true(juror_web_limiter_blocked(l, "192.0.2.1", 60999));
    assert_false(juror_web_limiter_blocked(l, "192.0.2.1", 61000));
    juror_web_limiter_failed(l, "192.0.2.1", 61000);
    assert_false(juror_web_limiter_blocked(l, "192.0.2.1", 61000));

    /* Two slots: a third address pushes out the one that failed longest ago. */
    juror_web_limiter_failed(l, "192.0.2.2", 62000);
    juror_web_limiter_failed(l, "192.0.2.3", 63000);
    for (int i = 0; i < JUROR_WEB_LOGIN_FAILS_MAX; i++)
        juror_web_limiter_failed(l, "192.0.2.3", 63000);
    assert_true(juror_web_limiter_blocked(l, "192.0.2.3", 63000));
    juror_web_limiter_destroy(&l);
    assert_null(l);
    juror_web_limiter_destroy(&l);
}

static void test_name(void **state)
{
    (void)state;
    assert_true(juror_web_name_ok("alice", 5));
    assert_true(juror_web_name_ok("a.b-c_9", 7));
    assert_false(juror_web_name_ok("", 0));
    assert_false(juror_web_name_ok(".alice", 6));
    assert_false(juror_web_name_ok("-alice", 6));
    assert_false(juror_web_name_ok("al ice", 6));
    assert_false(juror_web_name_ok("al:ice", 6));
    assert_false(juror_web_name_ok("ali\xc3\xa9", 5));
    char name[JUROR_WEB_NAME_MAX + 2];
    memset(name, 'a', sizeof name);
    assert_true(juror_web_name_ok(name, JUROR_WEB_NAME_MAX));
    assert_false(juror_web_name_ok(name, JUROR_WEB_NAME_MAX + 1));
}

static void test_listen(void **state)
{
    (void)state;
    struct sockaddr_storage a;
    socklen_t len;
    char why[200];
    assert_int_equal(juror_web_listen_parse("127.0.0.1:8080", &a, &len, why, sizeof why), JURY_OK);
    assert_int_equal(a.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a;
    assert_int_equal(ntohs(a4->sin_port), 8080);
    assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);

    assert_int_equal(juror_web_listen_parse("0.0.0.0:0", &a, &len, why, sizeof why), JURY_OK);
    assert_int_equal(juror_web_listen_parse("[::1]:9000", &a, &len, why, sizeof why), JURY_OK);
    assert_int_equal(a.ss_family, AF_INET6);
    assert_int_equal(ntohs(((const struct sockaddr_in6 *)&a)->sin6_port), 9000);

    assert_int_equal(juror_web_listen_parse("127.0.0.1", &a, &len, why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "'127.0.0.1' is not ADDRESS:PORT (e.g. 127.0.0.1:8080)");
    assert_int_equal(juror_web_listen_parse("127.0.0.1:65536", &a, &len, why, sizeof why),
                     JURY_EINVAL);
    assert_string_equal(why, "'127.0.0.1:65536': the port must be a number 0..65535");
    assert_int_equal(juror_web_listen_parse("localhost:80", &a, &len, why, sizeof why),
                     JURY_EINVAL);
    assert_string_equal(why, "'localhost:80': 'localhost' is not an IPv4 address (A.B.C.D)");
    assert_int_equal(juror_web_listen_parse("::1:80", &a, &len, why, sizeof why), JURY_EINVAL);
    assert_int_equal(juror_web_listen_parse("[::1]80", &a, &len, why, sizeof why), JURY_EINVAL);
    assert_int_equal(juror_web_listen_parse("127.0.0.1:8o", &a, &len, why, sizeof why),
                     JURY_EINVAL);
    assert_int_equal(juror_web_listen_parse(":80", &a, &len, why, sizeof why), JURY_EINVAL);
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(juror_web_origin_ok(NULL, "127.0.0.1:8080"));
    assert_true(juror_web_origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080"));
    assert_true(juror_web_origin_ok("https://Annotate.Example.org", "annotate.example.org"));
    assert_true(juror_web_origin_ok("https://annotate.example.org", "annotate.example.org:443"));
    assert_true(juror_web_origin_ok("http://annotate.example.org:80", "annotate.example.org"));
    assert_true(juror_web_origin_ok("http://[::1]:8080", "[::1]:8080"));
    assert_false(juror_web_origin_ok("http://127.0.0.1:8081", "127.0.0.1:8080"));
    assert_false(juror_web_origin_ok("http://evil.example", "127.0.0.1:8080"));
    assert_false(juror_web_origin_ok("https://annotate.example.org", "annotate.example.org:80"));
    assert_false(juror_web_origin_ok("null", "127.0.0.1:8080"));
    assert_false(juror_web_origin_ok("file://", "127.0.0.1:8080"));
    assert_false(juror_web_origin_ok("http://127.0.0.1:8080", NULL));
    assert_false(juror_web_origin_ok("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080"));
}

static void test_question(void **state)
{
    (void)state;
    char q[64];
    /* The coordinator's reasons (coordinator/settings.c, jury_settings_check_answers). */
    assert_true(juror_web_question(
        "/values/quality: 9 is not one of the rating values 1, 2, 3, 4, 5", q, sizeof q));
    assert_string_equal(q, "quality");
    assert_true(juror_web_question(
        "/values/quality: question \"quality\" is required in a submitted response", q, sizeof q));
    assert_string_equal(q, "quality");
    assert_true(juror_web_question("/values/ents/0/start: must be an integer", q, sizeof q));
    assert_string_equal(q, "ents");
    assert_true(juror_web_question("/values/a~1b~0c: unknown question", q, sizeof q));
    assert_string_equal(q, "a/b~c");
    assert_true(
        juror_web_question("submit: responses[0].values/quality: 9 is not ...", q, sizeof q));
    assert_string_equal(q, "quality");
    assert_false(
        juror_web_question("/values: must be a map of question names to answers", q, sizeof q));
    assert_false(juror_web_question("the rating values/ were wrong", q, sizeof q));
    assert_false(juror_web_question("record 'r1' is not leased to alice", q, sizeof q));
    /* A reviewer's decision refused (coordinator/serve.c, s_review_values). */
    assert_true(juror_web_question("/values/best: item 0: a reviewer's ranking has no ties; give "
                                   "each value its own rank",
                                   q, sizeof q));
    assert_string_equal(q, "best");
    char tiny[4];
    assert_false(juror_web_question("/values/quality: no", tiny, sizeof tiny));
}

static void test_role_reviews(void **state)
{
    (void)state;
    /* The roles of SPEC.md 6.2: review is offered to reviewers and admins only. */
    assert_true(juror_web_role_reviews("reviewer"));
    assert_true(juror_web_role_reviews("admin"));
    assert_false(juror_web_role_reviews("annotator"));
    /* A coordinator before review says no role; a role added later counts as "annotator". */
    assert_false(juror_web_role_reviews(""));
    assert_false(juror_web_role_reviews(NULL));
    assert_false(juror_web_role_reviews("curator"));
    /* Exact words only. */
    assert_false(juror_web_role_reviews("Reviewer"));
    assert_false(juror_web_role_reviews("reviewers"));
    assert_false(juror_web_role_reviews("admin "));
    assert_false(juror_web_role_reviews("gateway"));
}

static void test_iso8601(void **state)
{
    (void)state;
    char text[40];
    juror_web_iso8601(INT64_C(1795841782040), text, sizeof text);
    assert_string_equal(text, "2026-11-28T04:56:22.040Z");
    int64_t ms;
    assert_true(juror_web_iso8601_parse("2026-11-28T04:56:22.040Z", &ms));
    assert_int_equal(ms, INT64_C(1795841782040));
    assert_true(juror_web_iso8601_parse("2026-11-28T04:56:22Z", &ms));
    assert_int_equal(ms, INT64_C(1795841782000));
    assert_true(juror_web_iso8601_parse("1970-01-01T00:00:00.5Z", &ms));
    assert_int_equal(ms, 500);
    assert_false(juror_web_iso8601_parse("2026-11-28 04:56:22Z", &ms));
    assert_false(juror_web_iso8601_parse("2026-11-28T04:56:22.040", &ms));
    assert_false(juror_web_iso8601_parse("2026-13-28T04:56:22Z", &ms));
    assert_false(juror_web_iso8601_parse("2026-11-28T04:56:22.Z", &ms));
    assert_false(juror_web_iso8601_parse("", &ms));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret),        cmocka_unit_test(test_sessions_open_find_close),
        cmocka_unit_test(test_sessions_idle), cmocka_unit_test(test_queue),
        cmocka_unit_test(test_limiter),       cmocka_unit_test(test_name),
        cmocka_unit_test(test_listen),        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_question),      cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_role_reviews),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
