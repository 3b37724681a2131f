/* test_proto.c: wire codec tests: golden bytes, every message, every refusal, random frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jury_proto.h"

/*
 * Golden bytes are written out by hand from the msgpack specification
 * (github.com/msgpack/msgpack/blob/master/spec.md): 0x80|n is a map of n
 * entries, 0x90|n an array of n, 0xa0|n a string of n bytes, 0x00..0x7f the
 * integers 0..127, 0xcd a big-endian uint16, 0xcf a uint64, 0xd9/0xda a string
 * with an 8/16-bit length, 0xdd an array with a 32-bit count. Each escape is
 * its own literal so that "\xa3" "cmd" is not read as the escape \xa3c.
 */
#define BYTES(lit) lit, sizeof(lit) - 1

/* A decoder's state: the zone the caller owns, the message and its reason. */
typedef struct {
    msgpack_zone zone; /* where decode unpacks */
    jury_msg_t msg;    /* the decoded message */
    char why[256];     /* the reason on failure */
} dec_t;

static int s_setup(void **state)
{
    dec_t *d = calloc(1, sizeof *d);
    if (!d || !msgpack_zone_init(&d->zone, 4096))
        return -1;
    *state = d;
    return 0;
}

static int s_teardown(void **state)
{
    dec_t *d = *state;
    msgpack_zone_destroy(&d->zone);
    free(d);
    return 0;
}

/* Decodes n bytes at f into d (clearing the zone first) and returns the result. */
static jury_err s_decode(dec_t *d, const void *f, size_t n)
{
    msgpack_zone_clear(&d->zone);
    memset(d->why, 'X', sizeof d->why);
    return jury_proto_decode(f, n, &d->zone, &d->msg, d->why, sizeof d->why);
}

/* Asserts that decoding the frame fails with want and exactly the reason given. */
static void s_refuse(dec_t *d, const void *f, size_t n, jury_err want, const char *reason)
{
    jury_err rc = s_decode(d, f, n);
    if (rc != want || strcmp(d->why, reason) != 0)
        fail_msg("want %s \"%s\"\n got %s \"%s\"", jury_errname(want), reason, jury_errname(rc),
                 d->why);
}

/* Asserts that the string s holds exactly the NUL-terminated want. */
static void s_str_eq(jury_str_t s, const char *want)
{
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

/* Asserts that buf holds exactly the n bytes at want, then empties it for the next message. */
static void s_bytes_eq(msgpack_sbuffer *buf, const char *want, size_t n)
{
    assert_int_equal(buf->size, n);
    assert_memory_equal(buf->data, want, n);
    msgpack_sbuffer_clear(buf);
}

/* A frame under construction with a packer writing into it. */
typedef struct {
    msgpack_sbuffer sb; /* the bytes */
    msgpack_packer pk;  /* writes into sb; the struct must not move */
} fb_t;

static void fb_init(fb_t *f)
{
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
}

static void fb_free(fb_t *f)
{
    msgpack_sbuffer_destroy(&f->sb);
}

static void fb_str(fb_t *f, const char *s)
{
    assert_int_equal(jury_proto_pack_cstr(&f->pk, s), 0);
}

static void fb_kstr(fb_t *f, const char *k, const char *v)
{
    fb_str(f, k);
    fb_str(f, v);
}

static void fb_kuint(fb_t *f, const char *k, uint64_t v)
{
    fb_str(f, k);
    assert_int_equal(msgpack_pack_uint64(&f->pk, v), 0);
}

/* Starts a message with jury's own header packer. */
static void fb_head(fb_t *f, jury_cmd cmd, bool has_req, uint64_t req, uint32_t extra)
{
    fb_init(f);
    assert_int_equal(jury_proto_pack_header(&f->pk, cmd, has_req, req, extra), 0);
}

/* ------------------------------------------------------------------------------------------- */

static void test_cmd_names(void **state)
{
    (void)state;
    assert_string_equal(jury_proto_cmd_name(JURY_CMD_HELLO), "hello");
    assert_string_equal(jury_proto_cmd_name(JURY_CMD_RESULTS), "results");
    assert_string_equal(jury_proto_cmd_name(JURY_CMD_GOODBYE), "goodbye");
    assert_string_equal(jury_proto_cmd_name(JURY_CMD_REVIEW_FETCH), "review_fetch");
    assert_string_equal(jury_proto_cmd_name(JURY_CMD_REVIEW_BATCH), "review_batch");
    assert_string_equal(jury_proto_cmd_name(JURY_CMD_REVIEW_SUBMIT), "review_submit");
    for (int c = 0; c < JURY_CMD_COUNT; c++)
        assert_non_null(jury_proto_cmd_name((jury_cmd)c));
    assert_null(jury_proto_cmd_name(JURY_CMD_COUNT));
    assert_null(jury_proto_cmd_name((jury_cmd)-1));
}

/* Golden bytes keep one msgpack object per literal, so clang-format leaves them be. */
/* clang-format off */
static void test_golden_encoders(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);

    /* {"v": 1, "cmd": "heartbeat"} */
    assert_int_equal(jury_proto_encode_heartbeat(&b), JURY_OK);
    s_bytes_eq(&b, BYTES("\x82"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa9" "heartbeat"));

    /* {"v": 1, "cmd": "hello", "req": 7, "annotator": "alice", "dataset": "support",
     *  "agent": "juror/0.1"} */
    assert_int_equal(jury_proto_encode_hello(&b, 7, "alice", "support", "juror/0.1"), JURY_OK);
    s_bytes_eq(&b, BYTES("\x86"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "hello"
                         "\xa3" "req" "\x07"
                         "\xa9" "annotator" "\xa5" "alice"
                         "\xa7" "dataset" "\xa7" "support"
                         "\xa5" "agent" "\xa9" "juror/0.1"));
    /* Without an agent the key is left out. */
    assert_int_equal(jury_proto_encode_hello(&b, 0, "bo", "d", NULL), JURY_OK);
    s_bytes_eq(&b, BYTES("\x85"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "hello"
                         "\xa3" "req" "\x00"
                         "\xa9" "annotator" "\xa2" "bo"
                         "\xa7" "dataset" "\xa1" "d"));

    /* A gateway's hello for an annotator carries the web token last (SPEC 10.4). */
    assert_int_equal(jury_proto_encode_hello_token(&b, 2, "ana", "d", NULL, "ana:xyz"), JURY_OK);
    s_bytes_eq(&b, BYTES("\x86"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "hello"
                         "\xa3" "req" "\x02"
                         "\xa9" "annotator" "\xa3" "ana"
                         "\xa7" "dataset" "\xa1" "d"
                         "\xa5" "token" "\xa7" "ana:xyz"));
    /* An empty token is no token. */
    assert_int_equal(jury_proto_encode_hello_token(&b, 0, "bo", "d", NULL, ""), JURY_OK);
    s_bytes_eq(&b, BYTES("\x85"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "hello"
                         "\xa3" "req" "\x00"
                         "\xa9" "annotator" "\xa2" "bo"
                         "\xa7" "dataset" "\xa1" "d"));
    {
        char long_token[JURY_PROTO_TOKEN_MAX + 2];
        memset(long_token, 'a', sizeof long_token - 1);
        long_token[sizeof long_token - 1] = '\0';
        assert_int_equal(jury_proto_encode_hello_token(&b, 1, "a", "d", NULL, long_token),
                         JURY_EINVAL);
        long_token[JURY_PROTO_TOKEN_MAX] = '\0';
        assert_int_equal(jury_proto_encode_hello_token(&b, 1, "a", "d", NULL, long_token),
                         JURY_OK);
        msgpack_zone z;
        msgpack_zone_init(&z, 1024);
        jury_msg_t m;
        assert_int_equal(jury_proto_decode(b.data, b.size, &z, &m, NULL, 0), JURY_OK);
        assert_int_equal(m.cmd, JURY_CMD_HELLO);
        assert_int_equal(m.u.hello.token.len, JURY_PROTO_TOKEN_MAX);
        msgpack_zone_destroy(&z);
        msgpack_sbuffer_clear(&b);
        assert_int_equal(jury_proto_encode_hello_token(&b, 1, "a", "d", NULL, "a\xff"),
                         JURY_EINVAL);
        assert_int_equal(b.size, 0);
    }

    /* {"v": 1, "cmd": "fetch", "req": 300, "n": 10}: 300 needs a uint16 (0xcd 0x01 0x2c). */
    assert_int_equal(jury_proto_encode_fetch(&b, 300, 10), JURY_OK);
    s_bytes_eq(&b, BYTES("\x84"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "fetch"
                         "\xa3" "req" "\xcd\x01\x2c"
                         "\xa1" "n" "\x0a"));
    /* The largest req, 2^53, is a uint64 (0xcf). */
    assert_int_equal(jury_proto_encode_fetch(&b, JURY_PROTO_REQ_MAX, 100), JURY_OK);
    s_bytes_eq(&b, BYTES("\x84"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "fetch"
                         "\xa3" "req" "\xcf\x00\x20\x00\x00\x00\x00\x00\x00"
                         "\xa1" "n" "\x64"));

    /* {"v": 1, "cmd": "review_fetch", "req": 5, "n": 3} */
    assert_int_equal(jury_proto_encode_review_fetch(&b, 5, 3), JURY_OK);
    s_bytes_eq(&b, BYTES("\x84"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xac" "review_fetch"
                         "\xa3" "req" "\x05"
                         "\xa1" "n" "\x03"));

    /* {"v": 1, "cmd": "bye", "reason": "done for today"}, and without a reason. */
    assert_int_equal(jury_proto_encode_bye(&b, "done for today"), JURY_OK);
    s_bytes_eq(&b, BYTES("\x83"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa3" "bye"
                         "\xa6" "reason" "\xae" "done for today"));
    assert_int_equal(jury_proto_encode_bye(&b, NULL), JURY_OK);
    s_bytes_eq(&b, BYTES("\x82"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa3" "bye"));

    /* {"v": 1, "cmd": "error", "req": 5, "code": "ENOTLEASED", "reason": "lease expired"} */
    assert_int_equal(jury_proto_encode_error(&b, true, 5, "ENOTLEASED", "lease expired"), JURY_OK);
    s_bytes_eq(&b, BYTES("\x85"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "error"
                         "\xa3" "req" "\x05"
                         "\xa4" "code" "\xaa" "ENOTLEASED"
                         "\xa6" "reason" "\xad" "lease expired"));
    /* An error to a request whose req could not be read has none. */
    assert_int_equal(jury_proto_encode_error(&b, false, 0, "EPROTO", "empty frame"), JURY_OK);
    s_bytes_eq(&b, BYTES("\x84"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa5" "error"
                         "\xa4" "code" "\xa6" "EPROTO"
                         "\xa6" "reason" "\xab" "empty frame"));

    /* {"v": 1, "cmd": "goodbye", "code": "EBUSY", "reason": "coordinator shutting down"} */
    assert_int_equal(jury_proto_encode_goodbye(&b, "EBUSY", "coordinator shutting down"), JURY_OK);
    s_bytes_eq(&b, BYTES("\x84"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa7" "goodbye"
                         "\xa4" "code" "\xa5" "EBUSY"
                         "\xa6" "reason" "\xb9" "coordinator shutting down"));

    /* {"v": 1, "cmd": "release", "req": 9, "records": ["r1", "r-22"]} */
    const char *ids[] = {"r1", "r-22"};
    const size_t lens[] = {2, 4};
    assert_int_equal(jury_proto_encode_release(&b, 9, ids, lens, 2), JURY_OK);
    s_bytes_eq(&b, BYTES("\x84"
                         "\xa1" "v" "\x01"
                         "\xa3" "cmd" "\xa7" "release"
                         "\xa3" "req" "\x09"
                         "\xa7" "records" "\x92" "\xa2" "r1" "\xa4" "r-22"));

    msgpack_sbuffer_destroy(&b);
}

/* clang-format on */

static void test_encoder_limits(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    char name[JURY_PROTO_NAME_MAX + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';

    /* What decode would refuse is never sent, and nothing is appended. */
    assert_int_equal(jury_proto_encode_hello(&b, 1, "", "d", NULL), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_hello(&b, 1, NULL, "d", NULL), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_hello(&b, 1, name, "d", NULL), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_hello(&b, 1, "a\xff", "d", NULL), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_hello(&b, JURY_PROTO_REQ_MAX + 1, "a", "d", NULL),
                     JURY_EINVAL);
    assert_int_equal(jury_proto_encode_fetch(&b, 1, 0), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_fetch(&b, 1, JURY_PROTO_BATCH_MAX + 1), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_review_fetch(&b, 1, 0), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_review_fetch(&b, 1, JURY_PROTO_BATCH_MAX + 1), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_review_fetch(&b, JURY_PROTO_REQ_MAX + 1, 1), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_error(&b, false, 0, "", "x"), JURY_EINVAL);
    const char *ids[] = {"ok", ""};
    const size_t lens[] = {2, 0};
    assert_int_equal(jury_proto_encode_release(&b, 1, ids, lens, 2), JURY_EINVAL);
    assert_int_equal(jury_proto_encode_release(&b, 1, ids, lens, 0), JURY_EINVAL);
    assert_int_equal(b.size, 0);

    /* A long reason is cut to 1024 bytes, never refused: "reason" then 0xda 0x04 0x00. */
    char *longr = malloc(3000);
    assert_non_null(longr);
    memset(longr, 'x', 2999);
    longr[2999] = '\0';
    assert_int_equal(jury_proto_encode_goodbye(&b, "EINTERNAL", longr), JURY_OK);
    const char *tail = b.data + b.size - JURY_PROTO_REASON_MAX - 3;
    assert_memory_equal(tail, "\xda\x04\x00", 3);
    msgpack_sbuffer_clear(&b);
    /* ... at a code point boundary: 1023 ASCII bytes and a 2-byte e-acute keep 1023 bytes. */
    memcpy(longr + 1023, "\xc3\xa9", 3);
    assert_int_equal(jury_proto_encode_bye(&b, longr), JURY_OK);
    tail = b.data + b.size - 1023 - 3;
    assert_memory_equal(tail, "\xda\x03\xff", 3);
    free(longr);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------------------------------------- */

static void test_decode_simple(void **state)
{
    dec_t *d = *state;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);

    assert_int_equal(jury_proto_encode_hello(&b, 7, "alice", "support", "juror/0.1"), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_string_equal(d->why, "");
    assert_int_equal(d->msg.version, 1);
    assert_int_equal(d->msg.cmd, JURY_CMD_HELLO);
    assert_true(d->msg.has_req);
    assert_int_equal(d->msg.req, 7);
    s_str_eq(d->msg.u.hello.annotator, "alice");
    s_str_eq(d->msg.u.hello.dataset, "support");
    s_str_eq(d->msg.u.hello.agent, "juror/0.1");
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_hello(&b, 8, "bob", "d", NULL), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    s_str_eq(d->msg.u.hello.agent, "");
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_fetch(&b, JURY_PROTO_REQ_MAX, 100), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_FETCH);
    assert_int_equal(d->msg.req, JURY_PROTO_REQ_MAX);
    assert_int_equal(d->msg.u.fetch.n, 100);
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_review_fetch(&b, 12, 7), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_REVIEW_FETCH);
    assert_true(d->msg.has_req);
    assert_int_equal(d->msg.req, 12);
    assert_int_equal(d->msg.u.fetch.n, 7);
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_heartbeat(&b), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_HEARTBEAT);
    assert_false(d->msg.has_req);
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_bye(&b, "lunch"), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_BYE);
    s_str_eq(d->msg.u.error.code, "");
    s_str_eq(d->msg.u.error.reason, "lunch");
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_error(&b, true, 5, "ENOTLEASED", "lease expired"), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_ERROR);
    assert_true(d->msg.has_req);
    assert_int_equal(d->msg.req, 5);
    s_str_eq(d->msg.u.error.code, "ENOTLEASED");
    s_str_eq(d->msg.u.error.reason, "lease expired");
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_error(&b, false, 0, "EPROTO", ""), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_false(d->msg.has_req);
    s_str_eq(d->msg.u.error.reason, "");
    msgpack_sbuffer_clear(&b);

    assert_int_equal(jury_proto_encode_goodbye(&b, "EBUSY", "shutting down"), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_GOODBYE);
    s_str_eq(d->msg.u.error.code, "EBUSY");
    s_str_eq(d->msg.u.error.reason, "shutting down");
    msgpack_sbuffer_clear(&b);

    const char *ids[] = {"r1", "r-22", "caf\xc3\xa9"};
    const size_t lens[] = {2, 4, 5};
    assert_int_equal(jury_proto_encode_release(&b, 9, ids, lens, 3), JURY_OK);
    assert_int_equal(s_decode(d, b.data, b.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_RELEASE);
    assert_int_equal(d->msg.req, 9);
    assert_int_equal(d->msg.u.release.count, 3);
    s_str_eq(d->msg.u.release.records[0], "r1");
    s_str_eq(d->msg.u.release.records[1], "r-22");
    s_str_eq(d->msg.u.release.records[2], "caf\xc3\xa9");
    msgpack_sbuffer_destroy(&b);
}

/* A submit of three responses: submitted with values, discarded without, draft with values. */
static void s_build_submit(fb_t *f)
{
    fb_head(f, JURY_CMD_SUBMIT, true, 42, 2);
    fb_kstr(f, "client", "ignored: unknown keys are allowed");
    fb_str(f, "responses");
    msgpack_pack_array(&f->pk, 3);

    msgpack_pack_map(&f->pk, 3);
    fb_kstr(f, "record", "ticket-0001");
    fb_kstr(f, "status", "submitted");
    fb_str(f, "values");
    msgpack_pack_map(&f->pk, 2);
    fb_kstr(f, "response", "Sorry for the double charge.");
    fb_kuint(f, "quality", 4);

    msgpack_pack_map(&f->pk, 3);
    fb_kstr(f, "record", "ticket-0002");
    fb_kstr(f, "status", "discarded");
    fb_str(f, "values");
    msgpack_pack_nil(&f->pk);

    msgpack_pack_map(&f->pk, 3);
    fb_kstr(f, "status", "draft");
    fb_str(f, "values");
    msgpack_pack_map(&f->pk, 1);
    fb_str(f, "issues");
    msgpack_pack_array(&f->pk, 1);
    fb_str(f, "vague");
    fb_kstr(f, "record", "ticket-0003");
}

static void test_decode_submit(void **state)
{
    dec_t *d = *state;
    fb_t f;
    s_build_submit(&f);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_SUBMIT);
    assert_int_equal(d->msg.req, 42);
    assert_int_equal(d->msg.u.submit.count, 3);

    const jury_proto_response_t *r = d->msg.u.submit.items;
    s_str_eq(r[0].record, "ticket-0001");
    assert_int_equal(r[0].status, JURY_PROTO_SUBMITTED);
    assert_non_null(r[0].values);
    assert_int_equal(r[0].values->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(r[0].values->via.map.size, 2);
    assert_memory_equal(r[0].values->via.map.ptr[1].key.via.str.ptr, "quality", 7);
    assert_int_equal(r[0].values->via.map.ptr[1].val.via.u64, 4);

    s_str_eq(r[1].record, "ticket-0002");
    assert_int_equal(r[1].status, JURY_PROTO_DISCARDED);
    assert_null(r[1].values);

    s_str_eq(r[2].record, "ticket-0003");
    assert_int_equal(r[2].status, JURY_PROTO_DRAFT);
    assert_int_equal(r[2].values->via.map.size, 1);
    assert_int_equal(r[2].values->via.map.ptr[0].val.type, MSGPACK_OBJECT_ARRAY);
    fb_free(&f);
}

/* Starts a welcome of the six required fields, with extra entries to come after them. */
static void s_welcome_head(fb_t *f, uint32_t entries)
{
    fb_head(f, JURY_CMD_WELCOME, true, 1, entries);
    fb_kstr(f, "dataset", "support");
    fb_kstr(f, "annotator", "alice");
    fb_str(f, "settings");
    msgpack_pack_map(&f->pk, 0);
    fb_kuint(f, "heartbeat_ms", 1000);
    fb_kuint(f, "lease_seconds", 600);
    fb_kuint(f, "batch_max", 100);
}

static void test_decode_welcome(void **state)
{
    dec_t *d = *state;
    fb_t f;
    fb_head(&f, JURY_CMD_WELCOME, true, 1, 6);
    fb_kstr(&f, "dataset", "support");
    fb_kstr(&f, "annotator", "alice");
    fb_str(&f, "settings");
    msgpack_pack_map(&f.pk, 2);
    fb_kstr(&f, "guidelines", "Be kind.");
    fb_str(&f, "questions");
    msgpack_pack_array(&f.pk, 0);
    fb_kuint(&f, "heartbeat_ms", 1000);
    fb_kuint(&f, "lease_seconds", 600);
    fb_kuint(&f, "batch_max", 100);

    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_false(d->msg.u.welcome.progress.present); /* optional: older coordinators */
    assert_int_equal(d->msg.cmd, JURY_CMD_WELCOME);
    assert_int_equal(d->msg.req, 1);
    s_str_eq(d->msg.u.welcome.dataset, "support");
    s_str_eq(d->msg.u.welcome.annotator, "alice");
    assert_int_equal(d->msg.u.welcome.settings->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(d->msg.u.welcome.settings->via.map.size, 2);
    assert_int_equal(d->msg.u.welcome.heartbeat_ms, 1000);
    assert_int_equal(d->msg.u.welcome.lease_seconds, 600);
    assert_int_equal(d->msg.u.welcome.batch_max, 100);
    s_str_eq(d->msg.u.welcome.role, ""); /* optional: coordinators before review */
    fb_free(&f);

    /* role: the three SPEC.md names, and any other short string for newer coordinators. */
    static const char *const roles[] = {"annotator", "reviewer", "admin", "auditor", ""};
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
        s_welcome_head(&f, 7);
        fb_kstr(&f, "role", roles[i]);
        assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
        s_str_eq(d->msg.u.welcome.role, roles[i]);
        fb_free(&f);
    }
    char role[JURY_PROTO_ROLE_MAX + 2];
    memset(role, 'r', sizeof role - 1);
    role[sizeof role - 1] = '\0';
    s_welcome_head(&f, 7);
    fb_kstr(&f, "role", role);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "welcome: role: must be a string of 0..32 bytes, not 33");
    fb_free(&f);
    s_welcome_head(&f, 7);
    fb_kuint(&f, "role", 2);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "welcome: role: must be a string of 0..32 bytes, not an integer");
    fb_free(&f);
    s_welcome_head(&f, 8);
    fb_kstr(&f, "role", "admin");
    fb_kstr(&f, "role", "reviewer");
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "welcome: role: given twice");
    fb_free(&f);
    /* 32 bytes fit; nil is absent. */
    role[JURY_PROTO_ROLE_MAX] = '\0';
    s_welcome_head(&f, 7);
    fb_kstr(&f, "role", role);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.u.welcome.role.len, JURY_PROTO_ROLE_MAX);
    fb_free(&f);
    s_welcome_head(&f, 7);
    fb_str(&f, "role");
    msgpack_pack_nil(&f.pk);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    s_str_eq(d->msg.u.welcome.role, "");
    fb_free(&f);

    /* With progress, as jury_proto_pack_progress packs it; then broken progress maps. */
    for (int broken = 0; broken < 3; broken++) {
        fb_head(&f, JURY_CMD_WELCOME, true, 1, 7);
        fb_kstr(&f, "dataset", "support");
        fb_kstr(&f, "annotator", "alice");
        fb_str(&f, "settings");
        msgpack_pack_map(&f.pk, 0);
        fb_kuint(&f, "heartbeat_ms", 1000);
        fb_kuint(&f, "lease_seconds", 600);
        fb_kuint(&f, "batch_max", 100);
        jury_proto_progress_t p = {true, 12, 40, 100};
        if (broken == 0) {
            assert_int_equal(jury_proto_pack_progress(&f.pk, &p), 0);
        } else if (broken == 1) {
            fb_str(&f, "progress");
            msgpack_pack_map(&f.pk, 2); /* records missing */
            fb_kuint(&f, "submitted", 1);
            fb_kuint(&f, "completed", 2);
        } else {
            fb_kstr(&f, "progress", "12 of 100");
        }
        char why[200] = "";
        msgpack_zone_clear(&d->zone);
        jury_err rc = jury_proto_decode(f.sb.data, f.sb.size, &d->zone, &d->msg, why, sizeof why);
        if (broken == 0) {
            assert_int_equal(rc, JURY_OK);
            assert_true(d->msg.u.welcome.progress.present);
            assert_int_equal(d->msg.u.welcome.progress.submitted, 12);
            assert_int_equal(d->msg.u.welcome.progress.completed, 40);
            assert_int_equal(d->msg.u.welcome.progress.records, 100);
        } else {
            assert_int_equal(rc, JURY_EPROTO);
            assert_string_equal(why, broken == 1
                                         ? "welcome: progress.records: missing"
                                         : "welcome: progress: must be a map, not a string");
        }
        fb_free(&f);
    }
}

static void test_decode_batch(void **state)
{
    dec_t *d = *state;
    fb_t f;
    fb_head(&f, JURY_CMD_BATCH, true, 2, 1);
    fb_str(&f, "records");
    msgpack_pack_array(&f.pk, 2);
    msgpack_pack_map(&f.pk, 6);
    fb_kstr(&f, "id", "ticket-0001");
    fb_str(&f, "fields");
    msgpack_pack_map(&f.pk, 1);
    fb_kstr(&f, "instruction", "I was charged twice.");
    fb_str(&f, "suggestions");
    msgpack_pack_map(&f.pk, 0);
    fb_str(&f, "metadata");
    msgpack_pack_map(&f.pk, 1);
    fb_kstr(&f, "category", "billing");
    fb_kuint(&f, "lease_expires", UINT64_C(1767225600000));
    fb_str(&f, "draft");
    msgpack_pack_nil(&f.pk);
    msgpack_pack_map(&f.pk, 3);
    fb_kstr(&f, "id", "ticket-0002");
    fb_str(&f, "fields");
    msgpack_pack_map(&f.pk, 0);
    fb_kuint(&f, "lease_expires", UINT64_C(1767225600000));

    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_BATCH);
    assert_int_equal(d->msg.req, 2);
    const msgpack_object *recs = d->msg.u.batch.records;
    assert_int_equal(recs->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(recs->via.array.size, 2);
    assert_int_equal(recs->via.array.ptr[0].via.map.size, 6);
    fb_free(&f);

    /* An empty batch: nothing to hand out right now. */
    fb_head(&f, JURY_CMD_BATCH, true, 3, 1);
    fb_str(&f, "records");
    msgpack_pack_array(&f.pk, 0);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.u.batch.records->via.array.size, 0);
    fb_free(&f);
}

static void test_decode_results(void **state)
{
    dec_t *d = *state;
    fb_t f;
    fb_head(&f, JURY_CMD_RESULTS, true, 42, 1);
    fb_str(&f, "results");
    msgpack_pack_array(&f.pk, 3);
    msgpack_pack_map(&f.pk, 2);
    fb_kstr(&f, "record", "ticket-0001");
    fb_str(&f, "ok");
    msgpack_pack_true(&f.pk);
    msgpack_pack_map(&f.pk, 4);
    fb_kstr(&f, "record", "ticket-0002");
    fb_str(&f, "ok");
    msgpack_pack_false(&f.pk);
    fb_kstr(&f, "code", "ENOTLEASED");
    fb_kstr(&f, "reason", "the lease on ticket-0002 expired");
    msgpack_pack_map(&f.pk, 3);
    fb_kstr(&f, "record", "ticket-0003");
    fb_str(&f, "ok");
    msgpack_pack_true(&f.pk);
    fb_kuint(&f, "lease_expires", UINT64_C(1767225600000));

    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_RESULTS);
    assert_int_equal(d->msg.req, 42);
    assert_int_equal(d->msg.u.results.count, 3);
    const jury_proto_result_t *r = d->msg.u.results.items;
    s_str_eq(r[0].record, "ticket-0001");
    assert_true(r[0].ok);
    s_str_eq(r[0].code, "");
    assert_int_equal(r[0].lease_expires, 0);
    s_str_eq(r[1].record, "ticket-0002");
    assert_false(r[1].ok);
    s_str_eq(r[1].code, "ENOTLEASED");
    s_str_eq(r[1].reason, "the lease on ticket-0002 expired");
    assert_true(r[2].ok);
    assert_int_equal(r[2].lease_expires, INT64_C(1767225600000));
    fb_free(&f);
}

/* Review (SPEC.md 6.13): a review_batch of two records. broken 0 is valid; the others break one
 * rule each, as s_review_batch_cases lists them. */
static void s_build_review_batch(fb_t *f, int broken)
{
    char *big = malloc(JURY_PROTO_REASON_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', JURY_PROTO_REASON_MAX + 1);
    big[JURY_PROTO_REASON_MAX + 1] = '\0';

    fb_head(f, JURY_CMD_REVIEW_BATCH, true, 21, 2);
    /* progress belongs to batch: a review_batch's is an unknown key, ignored. */
    jury_proto_progress_t p = {true, 1, 2, 3};
    assert_int_equal(jury_proto_pack_progress(&f->pk, &p), 0);
    fb_str(f, "records");
    msgpack_pack_array(&f->pk, 2);

    bool omit = broken == 1 || broken == 7 || broken == 14 || broken == 15;
    msgpack_pack_map(&f->pk, omit ? 9 : 10);
    fb_kstr(f, "id", "ticket-0001");
    if (broken != 15) {
        fb_str(f, "fields");
        msgpack_pack_map(&f->pk, 1);
        fb_kstr(f, "instruction", "I was charged twice.");
    }
    fb_str(f, "suggestions");
    msgpack_pack_map(&f->pk, 0);
    fb_str(f, "metadata");
    msgpack_pack_map(&f->pk, 1);
    fb_kstr(f, "category", "billing");
    if (broken != 14)
        fb_kuint(f, "lease_expires", UINT64_C(1767225600000));
    if (broken != 1) {
        fb_str(f, "why");
        if (broken == 4) {
            fb_str(f, "contested");
        } else if (broken == 2) {
            msgpack_pack_array(&f->pk, 0);
        } else if (broken == 17) {
            msgpack_pack_array(&f->pk, JURY_PROTO_WHY_MAX + 1);
            for (int i = 0; i <= JURY_PROTO_WHY_MAX; i++)
                fb_str(f, "contested");
        } else {
            msgpack_pack_array(&f->pk, 2);
            if (broken == 18)
                fb_str(f, "0123456789abcdef0123456789abcdefX"); /* 33 bytes */
            else
                fb_str(f, "contested");
            if (broken == 3)
                msgpack_pack_uint32(&f->pk, 1);
            else
                fb_str(f, "rejected");
        }
    }
    fb_kstr(f, "reason", broken == 5 ? big : "min_agreement: label 0.33 < 0.6");
    fb_str(f, "unified");
    if (broken == 6) {
        msgpack_pack_array(&f->pk, 0);
    } else {
        msgpack_pack_map(&f->pk, 1);
        fb_kuint(f, "quality", 3);
    }
    if (broken != 7) {
        fb_str(f, "responses");
        msgpack_pack_array(&f->pk, 2);
        msgpack_pack_map(&f->pk, broken == 10 ? 3 : 4);
        if (broken != 10)
            fb_kstr(f, "annotator", "alice");
        fb_kstr(f, "status", "submitted");
        fb_str(f, "values");
        if (broken == 11) {
            fb_str(f, "quality: 2");
        } else {
            msgpack_pack_map(&f->pk, 1);
            fb_kuint(f, "quality", 2);
        }
        fb_str(f, "updated_ms");
        if (broken == 13)
            msgpack_pack_double(&f->pk, 1.5);
        else
            msgpack_pack_uint64(&f->pk, UINT64_C(1767225000000));
        if (broken == 8) {
            msgpack_pack_uint32(&f->pk, 7);
        } else {
            msgpack_pack_map(&f->pk, broken == 12 ? 3 : 4);
            fb_kstr(f, "annotator", "bob");
            fb_kstr(f, "status", broken == 9 ? "draft" : "discarded");
            fb_str(f, "values");
            msgpack_pack_nil(&f->pk);
            if (broken != 12)
                fb_kuint(f, "updated_ms", UINT64_C(1767225100000));
        }
    }
    /* draft belongs to batch: here an unknown key, ignored whatever it holds. */
    fb_kstr(f, "draft", "ignored");

    /* The second record: only what is required, and a why word this build does not know. */
    msgpack_pack_map(&f->pk, broken == 16 ? 4 : 5);
    if (broken != 16)
        fb_kstr(f, "id", "17");
    fb_str(f, "fields");
    msgpack_pack_map(&f->pk, 0);
    fb_kuint(f, "lease_expires", UINT64_C(1767225600000));
    fb_str(f, "why");
    msgpack_pack_array(&f->pk, 1);
    fb_str(f, "disputed");
    fb_str(f, "responses");
    msgpack_pack_array(&f->pk, 0);
    free(big);
}

/* The reason each broken review_batch of s_build_review_batch gets, by its number. */
static const char *const s_review_batch_cases[] = {
    NULL,
    "review_batch: records[0].why: missing",
    "review_batch: records[0].why: must hold 1..16 elements, not 0",
    "review_batch: records[0].why[1]: must be a string of 1..32 bytes",
    "review_batch: records[0].why: must be an array, not a string",
    "review_batch: records[0].reason: must be a string of 0..1024 bytes, not 1025",
    "review_batch: records[0].unified: must be a map, not an array",
    "review_batch: records[0].responses: missing",
    "review_batch: records[0].responses[1]: must be a map, not an integer",
    "review_batch: records[0].responses[1].status: must be \"submitted\" or \"discarded\"",
    "review_batch: records[0].responses[0].annotator: missing",
    "review_batch: records[0].responses[0].values: must be a map, not a string",
    "review_batch: records[0].responses[1].updated_ms: missing",
    "review_batch: records[0].responses[0].updated_ms: must be an integer (ms since the Unix "
    "epoch)",
    "review_batch: records[0].lease_expires: missing",
    "review_batch: records[0].fields: missing",
    "review_batch: records[1].id: missing",
    "review_batch: records[0].why: must hold 1..16 elements, not 17",
    "review_batch: records[0].why[0]: must be a string of 1..32 bytes",
};

static void test_decode_review_batch(void **state)
{
    dec_t *d = *state;
    fb_t f;
    s_build_review_batch(&f, 0);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_string_equal(d->why, "");
    assert_int_equal(d->msg.cmd, JURY_CMD_REVIEW_BATCH);
    assert_int_equal(d->msg.req, 21);
    assert_false(d->msg.u.batch.progress.present);
    const msgpack_object *recs = d->msg.u.batch.records;
    assert_int_equal(recs->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(recs->via.array.size, 2);
    assert_int_equal(recs->via.array.ptr[0].via.map.size, 10);
    assert_int_equal(recs->via.array.ptr[1].via.map.size, 5);
    fb_free(&f);

    for (size_t i = 1; i < sizeof s_review_batch_cases / sizeof *s_review_batch_cases; i++) {
        s_build_review_batch(&f, (int)i);
        s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, s_review_batch_cases[i]);
        assert_int_equal(d->msg.cmd, JURY_CMD_REVIEW_BATCH);
        assert_int_equal(d->msg.req, 21);
        fb_free(&f);
    }

    /* Nothing waits for review now. */
    fb_head(&f, JURY_CMD_REVIEW_BATCH, true, 22, 1);
    fb_str(&f, "records");
    msgpack_pack_array(&f.pk, 0);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.u.batch.records->via.array.size, 0);
    fb_free(&f);
    fb_head(&f, JURY_CMD_REVIEW_BATCH, true, 22, 0);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "review_batch: records: missing");
    fb_free(&f);
}

/* A review_submit of four decisions (SPEC.md 6.14): an accept with values and a note, then
 * rejections without values, with nil values and with values. broken 0 is valid; the others
 * break one rule each, as s_review_submit_cases lists them. */
static void s_build_review_submit(fb_t *f, int broken)
{
    char id[JURY_PROTO_ID_MAX + 2];
    memset(id, 'r', sizeof id - 1);
    id[sizeof id - 1] = '\0';

    fb_head(f, JURY_CMD_REVIEW_SUBMIT, true, 31, broken == 1 ? 1 : 2);
    fb_kstr(f, "client", "ignored: unknown keys are allowed");
    if (broken == 1)
        return;
    fb_str(f, "decisions");
    if (broken == 16) {
        msgpack_pack_map(&f->pk, 0);
        return;
    }
    if (broken == 2 || broken == 3) {
        uint32_t n = broken == 2 ? 0 : JURY_PROTO_BATCH_MAX + 1;
        msgpack_pack_array(&f->pk, n);
        for (uint32_t i = 0; i < n; i++) {
            msgpack_pack_map(&f->pk, 2);
            fb_kstr(f, "record", "r");
            fb_str(f, "accept");
            msgpack_pack_false(&f->pk);
        }
        return;
    }
    msgpack_pack_array(&f->pk, 4);
    char *big = malloc(JURY_PROTO_REASON_MAX + 2);
    assert_non_null(big);
    memset(big, 'n', JURY_PROTO_REASON_MAX + 1);
    big[JURY_PROTO_REASON_MAX + 1] = '\0';

    int entries = 4 - (broken == 5) - (broken == 7) - (broken == 9) + (broken == 15);
    msgpack_pack_map(&f->pk, (size_t)entries);
    if (broken != 5)
        fb_kstr(f, "record", broken == 6 ? id : "ticket-0001");
    if (broken != 7) {
        fb_str(f, "accept");
        if (broken == 8)
            fb_str(f, "yes");
        else
            msgpack_pack_true(&f->pk);
    }
    if (broken == 15) {
        fb_str(f, "accept");
        msgpack_pack_true(&f->pk);
    }
    if (broken != 9) {
        fb_str(f, "values");
        if (broken == 10) {
            msgpack_pack_nil(&f->pk);
        } else if (broken == 11) {
            msgpack_pack_array(&f->pk, 1);
            fb_str(f, "pos");
        } else {
            msgpack_pack_map(&f->pk, broken == 12 ? 3 : 2);
            fb_kuint(f, "quality", 4);
            fb_kstr(f, "label", "pos");
            if (broken == 12)
                fb_kuint(f, "quality", 5);
        }
    }
    fb_str(f, "note");
    if (broken == 14)
        msgpack_pack_uint32(&f->pk, 1);
    else
        fb_str(f, broken == 13 ? big : "alice is right: the charge was doubled");

    if (broken == 4) {
        fb_str(f, "ticket-0002");
    } else {
        msgpack_pack_map(&f->pk, 3);
        fb_kstr(f, "record", "ticket-0002");
        fb_str(f, "accept");
        msgpack_pack_false(&f->pk);
        fb_kstr(f, "note", "");
    }

    msgpack_pack_map(&f->pk, 3);
    fb_kstr(f, "record", "ticket-0003");
    fb_str(f, "accept");
    msgpack_pack_false(&f->pk);
    fb_str(f, "values");
    msgpack_pack_nil(&f->pk);

    msgpack_pack_map(&f->pk, 3);
    fb_kstr(f, "record", "ticket-0004");
    fb_str(f, "accept");
    msgpack_pack_false(&f->pk);
    fb_str(f, "values");
    msgpack_pack_map(&f->pk, broken == 17 ? 2 : 1);
    fb_kuint(f, "quality", 1);
    if (broken == 17)
        fb_kuint(f, "quality", 1);
    free(big);
}

/* The reason each broken review_submit of s_build_review_submit gets, by its number. */
static const char *const s_review_submit_cases[] = {
    NULL,
    "review_submit: decisions: missing",
    "review_submit: decisions: must hold 1..100 elements, not 0",
    "review_submit: decisions: must hold 1..100 elements, not 101",
    "review_submit: decisions[1]: must be a map, not a string",
    "review_submit: decisions[0].record: missing",
    "review_submit: decisions[0].record: must be a string of 1..500 bytes, not 501",
    "review_submit: decisions[0].accept: missing",
    "review_submit: decisions[0].accept: must be a boolean",
    "review_submit: decisions[0].values: missing (an accepted decision needs values)",
    "review_submit: decisions[0].values: missing (an accepted decision needs values)",
    "review_submit: decisions[0].values: must be a map, not an array",
    "review_submit: decisions[0].values: key \"quality\" given twice",
    "review_submit: decisions[0].note: must be a string of 0..1024 bytes, not 1025",
    "review_submit: decisions[0].note: must be a string of 0..1024 bytes, not an integer",
    "review_submit: decisions[0].accept: given twice",
    "review_submit: decisions: must be an array, not a map",
    "review_submit: decisions[3].values: key \"quality\" given twice",
};

static void test_decode_review_submit(void **state)
{
    dec_t *d = *state;
    fb_t f;
    s_build_review_submit(&f, 0);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_string_equal(d->why, "");
    assert_int_equal(d->msg.cmd, JURY_CMD_REVIEW_SUBMIT);
    assert_int_equal(d->msg.req, 31);
    assert_int_equal(d->msg.u.review_submit.count, 4);
    const jury_proto_decision_t *it = d->msg.u.review_submit.items;
    s_str_eq(it[0].record, "ticket-0001");
    assert_true(it[0].accept);
    assert_non_null(it[0].values);
    assert_int_equal(it[0].values->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(it[0].values->via.map.size, 2);
    assert_memory_equal(it[0].values->via.map.ptr[1].key.via.str.ptr, "label", 5);
    s_str_eq(it[0].note, "alice is right: the charge was doubled");
    s_str_eq(it[1].record, "ticket-0002");
    assert_false(it[1].accept);
    assert_null(it[1].values);
    s_str_eq(it[1].note, "");
    s_str_eq(it[2].record, "ticket-0003");
    assert_false(it[2].accept);
    assert_null(it[2].values); /* nil is absent */
    s_str_eq(it[2].note, "");
    /* A rejection may carry values: decode keeps them for the coordinator to judge. */
    s_str_eq(it[3].record, "ticket-0004");
    assert_false(it[3].accept);
    assert_int_equal(it[3].values->via.map.size, 1);
    fb_free(&f);

    for (size_t i = 1; i < sizeof s_review_submit_cases / sizeof *s_review_submit_cases; i++) {
        s_build_review_submit(&f, (int)i);
        s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, s_review_submit_cases[i]);
        assert_int_equal(d->msg.cmd, JURY_CMD_REVIEW_SUBMIT);
        assert_int_equal(d->msg.req, 31);
        fb_free(&f);
    }

    /* The limits themselves fit: a 500-byte record id and a 1024-byte note. */
    char id[JURY_PROTO_ID_MAX + 1];
    memset(id, 'r', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    char note[JURY_PROTO_REASON_MAX + 1];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    fb_head(&f, JURY_CMD_REVIEW_SUBMIT, true, 32, 1);
    fb_str(&f, "decisions");
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_map(&f.pk, 3);
    fb_kstr(&f, "record", id);
    fb_str(&f, "accept");
    msgpack_pack_false(&f.pk);
    fb_kstr(&f, "note", note);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.u.review_submit.count, 1);
    assert_int_equal(d->msg.u.review_submit.items[0].record.len, JURY_PROTO_ID_MAX);
    assert_int_equal(d->msg.u.review_submit.items[0].note.len, JURY_PROTO_REASON_MAX);
    fb_free(&f);
}

/* ------------------------------------------------------------------------------------------- */

/* clang-format off */
static void test_refuse_header(void **state)
{
    dec_t *d = *state;
    fb_t f;

    /* Another version: the command and req are still read so the error can name them. */
    fb_init(&f);
    msgpack_pack_map(&f.pk, 4);
    fb_kuint(&f, "v", 2);
    fb_kstr(&f, "cmd", "fetch");
    fb_kuint(&f, "req", 3);
    fb_kuint(&f, "n", 1);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EVERSION, "protocol version 2; this coordinator speaks 1");
    assert_int_equal(d->msg.version, 2);
    assert_int_equal(d->msg.cmd, JURY_CMD_FETCH);
    assert_true(d->msg.has_req);
    assert_int_equal(d->msg.req, 3);
    fb_free(&f);
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x02" "\xa3" "cmd" "\xa7" "welcome"), JURY_EVERSION,
             "protocol version 2; this worker speaks 1");
    /* The review commands come after goodbye in jury_cmd but keep their direction. */
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x02" "\xa3" "cmd" "\xac" "review_fetch"), JURY_EVERSION,
             "protocol version 2; this coordinator speaks 1");
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x02" "\xa3" "cmd" "\xad" "review_submit"),
             JURY_EVERSION, "protocol version 2; this coordinator speaks 1");
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x02" "\xa3" "cmd" "\xac" "review_batch"), JURY_EVERSION,
             "protocol version 2; this worker speaks 1");

    s_refuse(d, BYTES("\x81" "\xa3" "cmd" "\xa9" "heartbeat"), JURY_EPROTO, "v: missing");
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x00" "\xa3" "cmd" "\xa9" "heartbeat"), JURY_EPROTO,
             "v: must be a positive integer, not 0");
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\xa1" "1" "\xa3" "cmd" "\xa9" "heartbeat"), JURY_EPROTO,
             "v: must be a positive integer, not a string");
    s_refuse(d, BYTES("\x83" "\xa1" "v" "\x01" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat"),
             JURY_EPROTO, "v: given twice");
    s_refuse(d, BYTES("\x81" "\xa1" "v" "\x01"), JURY_EPROTO, "cmd: missing");
    assert_int_equal(d->msg.cmd, JURY_CMD_COUNT);
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x01" "\xa3" "cmd" "\x04"), JURY_EPROTO,
             "cmd: must be a string, not an integer");
    s_refuse(d, BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa6" "launch" "\xa3" "req" "\x01"),
             JURY_EPROTO, "cmd: unknown command \"launch\"");
    assert_int_equal(d->msg.cmd, JURY_CMD_COUNT);
    assert_true(d->msg.has_req);
    s_refuse(d, BYTES("\x92" "\x01" "\x02"), JURY_EPROTO, "message is an array, not a map");

    /* req: required on requests, an integer 0..2^53 wherever it appears. */
    s_refuse(d, BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa5" "fetch" "\xa1" "n" "\x01"),
             JURY_EPROTO, "fetch: req: missing");
    assert_int_equal(d->msg.cmd, JURY_CMD_FETCH);
    assert_false(d->msg.has_req);
    /* The review requests and their batch need req as well. */
    s_refuse(d, BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xac" "review_fetch" "\xa1" "n" "\x01"),
             JURY_EPROTO, "review_fetch: req: missing");
    s_refuse(d, BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xac" "review_batch"
                      "\xa7" "records" "\x90"),
             JURY_EPROTO, "review_batch: req: missing");
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x01" "\xa3" "cmd" "\xad" "review_submit"), JURY_EPROTO,
             "review_submit: req: missing");
    s_refuse(d,
             BYTES("\x84" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa5" "fetch" "\xa3" "req" "\xff"
                   "\xa1" "n" "\x01"),
             JURY_EPROTO, "fetch: req: must be an integer 0..2^53");
    /* 2^53 + 1 as a uint64. */
    s_refuse(d,
             BYTES("\x84" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa5" "fetch"
                   "\xa3" "req" "\xcf\x00\x20\x00\x00\x00\x00\x00\x01" "\xa1" "n" "\x01"),
             JURY_EPROTO, "fetch: req: must be an integer 0..2^53");
    s_refuse(d, BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat" "\xa3" "req" "\xc2"),
             JURY_EPROTO, "heartbeat: req: must be an integer 0..2^53");
    /* nil is absent: a heartbeat needs no req. */
    assert_int_equal(s_decode(d, BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat"
                                       "\xa3" "req" "\xc0")),
                     JURY_OK);
    assert_false(d->msg.has_req);
}

/* clang-format on */

static void test_refuse_fields(void **state)
{
    dec_t *d = *state;
    fb_t f;

    fb_head(&f, JURY_CMD_HELLO, true, 1, 1);
    fb_kstr(&f, "dataset", "support");
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "hello: annotator: missing");
    assert_int_equal(d->msg.cmd, JURY_CMD_HELLO);
    assert_int_equal(d->msg.req, 1);
    fb_free(&f);

    fb_head(&f, JURY_CMD_HELLO, true, 1, 2);
    fb_kuint(&f, "annotator", 7);
    fb_kstr(&f, "dataset", "support");
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "hello: annotator: must be a string of 1..200 bytes, not an integer");
    fb_free(&f);

    fb_head(&f, JURY_CMD_HELLO, true, 1, 2);
    fb_kstr(&f, "annotator", "alice");
    fb_kstr(&f, "dataset", "");
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "hello: dataset: must be a string of 1..200 bytes, not 0");
    fb_free(&f);

    for (uint64_t n = 0; n <= 101; n += 101) {
        fb_head(&f, JURY_CMD_FETCH, true, 1, 1);
        fb_kuint(&f, "n", n);
        s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "fetch: n: must be an integer 1..100");
        fb_free(&f);
    }
    fb_head(&f, JURY_CMD_FETCH, true, 1, 1);
    fb_kstr(&f, "n", "10");
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "fetch: n: must be an integer 1..100");
    fb_free(&f);
    for (uint64_t n = 0; n <= 101; n += 101) {
        fb_head(&f, JURY_CMD_REVIEW_FETCH, true, 1, 1);
        fb_kuint(&f, "n", n);
        s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
                 "review_fetch: n: must be an integer 1..100");
        fb_free(&f);
    }
    fb_head(&f, JURY_CMD_REVIEW_FETCH, true, 1, 0);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "review_fetch: n: missing");
    fb_free(&f);

    fb_head(&f, JURY_CMD_RELEASE, true, 1, 1);
    fb_str(&f, "records");
    msgpack_pack_array(&f.pk, 2);
    fb_str(&f, "r1");
    msgpack_pack_uint32(&f.pk, 2);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "release: records[1]: must be a string of 1..500 bytes");
    fb_free(&f);

    fb_head(&f, JURY_CMD_RELEASE, true, 1, 1);
    fb_str(&f, "records");
    msgpack_pack_array(&f.pk, 0);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "release: records: must hold 1..100 elements, not 0");
    fb_free(&f);

    fb_head(&f, JURY_CMD_RESULTS, true, 1, 1);
    fb_str(&f, "results");
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_map(&f.pk, 2);
    fb_kstr(&f, "record", "r1");
    fb_str(&f, "ok");
    msgpack_pack_false(&f.pk);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "results: results[0].code: missing");
    fb_free(&f);

    fb_head(&f, JURY_CMD_BATCH, true, 1, 1);
    fb_str(&f, "records");
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_map(&f.pk, 2);
    fb_kstr(&f, "id", "r1");
    fb_str(&f, "fields");
    msgpack_pack_map(&f.pk, 0);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "batch: records[0].lease_expires: missing");
    fb_free(&f);

    fb_head(&f, JURY_CMD_ERROR, false, 0, 1);
    fb_kstr(&f, "reason", "no code");
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, "error: code: missing");
    fb_free(&f);
}

/* A submit of one response {record, status} and, when with_values, values {"quality": 3}. */
static void s_one_response(fb_t *f, const char *record, const char *status, bool with_values)
{
    fb_head(f, JURY_CMD_SUBMIT, true, 5, 1);
    fb_str(f, "responses");
    msgpack_pack_array(&f->pk, 1);
    msgpack_pack_map(&f->pk, with_values ? 3 : 2);
    fb_kstr(f, "record", record);
    fb_kstr(f, "status", status);
    if (with_values) {
        fb_str(f, "values");
        msgpack_pack_map(&f->pk, 1);
        fb_kuint(f, "quality", 3);
    }
}

static void test_refuse_submit(void **state)
{
    dec_t *d = *state;
    fb_t f;

    /* 101 responses. */
    fb_head(&f, JURY_CMD_SUBMIT, true, 5, 1);
    fb_str(&f, "responses");
    msgpack_pack_array(&f.pk, JURY_PROTO_BATCH_MAX + 1);
    for (int i = 0; i <= JURY_PROTO_BATCH_MAX; i++) {
        msgpack_pack_map(&f.pk, 2);
        fb_kstr(&f, "record", "r");
        fb_kstr(&f, "status", "discarded");
    }
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "submit: responses: must hold 1..100 elements, not 101");
    fb_free(&f);

    /* A bad status in the fourth response. */
    fb_head(&f, JURY_CMD_SUBMIT, true, 5, 1);
    fb_str(&f, "responses");
    msgpack_pack_array(&f.pk, 4);
    for (int i = 0; i < 4; i++) {
        msgpack_pack_map(&f.pk, 2);
        fb_kstr(&f, "record", "r");
        fb_kstr(&f, "status", i == 3 ? "accepted" : "discarded");
    }
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "submit: responses[3].status: must be \"submitted\", \"discarded\" or \"draft\"");
    assert_int_equal(d->msg.cmd, JURY_CMD_SUBMIT);
    assert_int_equal(d->msg.req, 5);
    fb_free(&f);

    s_one_response(&f, "r1", "submitted", false);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "submit: responses[0].values: missing (a submitted response needs values)");
    fb_free(&f);
    s_one_response(&f, "r1", "draft", false);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "submit: responses[0].values: missing (a draft response needs values)");
    fb_free(&f);
    /* A discard needs none. */
    s_one_response(&f, "r1", "discarded", false);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_null(d->msg.u.submit.items[0].values);
    fb_free(&f);

    /* values an array: ["quality", 3]. */
    fb_head(&f, JURY_CMD_SUBMIT, true, 5, 1);
    fb_str(&f, "responses");
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_map(&f.pk, 3);
    fb_kstr(&f, "record", "r1");
    fb_kstr(&f, "status", "submitted");
    fb_str(&f, "values");
    msgpack_pack_array(&f.pk, 2);
    fb_kuint(&f, "quality", 3);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "submit: responses[0].values: must be a map, not an array");
    fb_free(&f);

    /* A record id of 501 bytes. */
    char id[JURY_PROTO_ID_MAX + 2];
    memset(id, 'r', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    s_one_response(&f, id, "submitted", true);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "submit: responses[0].record: must be a string of 1..500 bytes, not 501");
    fb_free(&f);
    id[JURY_PROTO_ID_MAX] = '\0';
    s_one_response(&f, id, "submitted", true);
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    assert_int_equal(d->msg.u.submit.items[0].record.len, JURY_PROTO_ID_MAX);
    fb_free(&f);

    /* One answer per question. */
    fb_head(&f, JURY_CMD_SUBMIT, true, 5, 1);
    fb_str(&f, "responses");
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_map(&f.pk, 3);
    fb_kstr(&f, "record", "r1");
    fb_kstr(&f, "status", "submitted");
    fb_str(&f, "values");
    msgpack_pack_map(&f.pk, 3);
    fb_kuint(&f, "quality", 3);
    fb_kstr(&f, "topic", "billing");
    fb_kuint(&f, "quality", 5);
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO,
             "submit: responses[0].values: key \"quality\" given twice");
    fb_free(&f);
}

/* ------------------------------------------------------------------------------------------- */

/* clang-format off */
static void test_refuse_frames(void **state)
{
    dec_t *d = *state;
    char why[128];

    s_refuse(d, "", 0, JURY_EPROTO, "empty frame");
    s_refuse(d, NULL, 0, JURY_EPROTO, "empty frame");

    /* A heartbeat is 18 bytes; one more is trailing. */
    s_refuse(d, BYTES("\x82" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat" "\xc0"), JURY_EPROTO,
             "byte 18: 1 trailing byte after the message");
    s_refuse(d, BYTES("\x01\x02\x03"), JURY_EPROTO, "byte 1: 2 trailing bytes after the message");

    /* Five bytes that claim 2^32 - 1 elements: refused before msgpack-c allocates ~100 GB. */
    s_refuse(d, BYTES("\xdd\xff\xff\xff\xff"), JURY_EPROTO,
             "byte 0: array of 4294967295 elements in 0 remaining bytes");
    s_refuse(d, BYTES("\x81" "\xa1" "x" "\xdf\xff\xff\xff\xff" "\x01\x02"), JURY_EPROTO,
             "byte 3: map of 4294967295 entries in 2 remaining bytes");
    s_refuse(d, BYTES("\x81" "\xa1" "x" "\xdb\x00\x00\x00\x09" "abc"), JURY_EPROTO,
             "byte 3: string of 9 bytes in 3 remaining bytes");
    s_refuse(d, BYTES("\x81" "\xa1" "x" "\xdb\x00\x00\x00"), JURY_EPROTO,
             "byte 3: frame ends inside the header of a string");
    s_refuse(d, BYTES("\x81" "\xa1" "x" "\xcb\x00\x00"), JURY_EPROTO,
             "byte 3: frame ends inside a float");
    s_refuse(d, BYTES("\x82" "\xa1" "x" "\x01"), JURY_EPROTO,
             "byte 0: map of 2 entries in 3 remaining bytes");

    /* Not strings as keys, not bin, not ext, not 0xc1. */
    s_refuse(d, BYTES("\x81\x01\x02"), JURY_EPROTO, "byte 1: map key is an integer, not a string");
    s_refuse(d,
             BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat" "\xa1" "x"
                   "\x81" "\xc0" "\x01"),
             JURY_EPROTO, "byte 21: map key is nil, not a string");
    s_refuse(d,
             BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat" "\xa1" "x"
                   "\xc4\x01\x00"),
             JURY_EPROTO, "byte 20: bin objects are not used by this protocol (send a string)");
    s_refuse(d,
             BYTES("\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat" "\xa1" "x"
                   "\xd4\x01\x00"),
             JURY_EPROTO, "byte 20: ext objects are not used by this protocol");
    s_refuse(d, BYTES("\x91\xc1"), JURY_EPROTO, "byte 1: 0xc1 is not a msgpack type");

    /* Oversized: one byte over the frame limit, one byte over the string limit. */
    size_t big = JURY_PROTO_FRAME_MAX + 1;
    char *buf = calloc(1, big);
    assert_non_null(buf);
    snprintf(why, sizeof why, "frame of %zu bytes; the limit is %zu", big, JURY_PROTO_FRAME_MAX);
    s_refuse(d, buf, big, JURY_ETOOBIG, why);
    size_t slen = JURY_PROTO_STR_MAX + 1;
    memcpy(buf, "\xdb", 1);
    buf[1] = (char)(slen >> 24), buf[2] = (char)(slen >> 16), buf[3] = (char)(slen >> 8);
    buf[4] = (char)slen;
    snprintf(why, sizeof why, "byte 0: string of %zu bytes; the limit is %zu", slen,
             JURY_PROTO_STR_MAX);
    s_refuse(d, buf, 5 + slen, JURY_ETOOBIG, why);
    /* Too many objects: an array of OBJECTS_MAX nils is OBJECTS_MAX + 1 objects. */
    uint32_t n = JURY_PROTO_OBJECTS_MAX;
    buf[0] = (char)0xdd, buf[1] = (char)(n >> 24), buf[2] = (char)(n >> 16);
    buf[3] = (char)(n >> 8), buf[4] = (char)n;
    memset(buf + 5, 0xc0, n);
    snprintf(why, sizeof why, "byte %u: more than %d objects in one frame", 5 + n - 1,
             JURY_PROTO_OBJECTS_MAX);
    s_refuse(d, buf, 5 + n, JURY_ETOOBIG, why);
    /* One fewer fits (the body is then an array, which decode refuses for its shape). */
    buf[4] = (char)(n - 1);
    assert_int_equal(jury_proto_check(buf, 5 + n - 1, why, sizeof why), JURY_OK);
    free(buf);
}

/* clang-format on */

static void test_depth(void **state)
{
    dec_t *d = *state;
    char f[64];

    /* DEPTH_MAX + 1 nested arrays around a 1: the innermost array is refused. */
    memset(f, 0x91, JURY_PROTO_DEPTH_MAX + 1);
    f[JURY_PROTO_DEPTH_MAX + 1] = 0x01;
    s_refuse(d, f, JURY_PROTO_DEPTH_MAX + 2, JURY_EPROTO,
             "byte 32: maps and arrays nested more than 32 deep");
    /* An empty container counts as a level too. */
    f[JURY_PROTO_DEPTH_MAX] = (char)0x90;
    s_refuse(d, f, JURY_PROTO_DEPTH_MAX + 1, JURY_EPROTO,
             "byte 32: maps and arrays nested more than 32 deep");

    /* DEPTH_MAX levels pass, and msgpack-c (whose stack is 32 deep) unpacks them: a heartbeat
     * map with an unknown key "x" holding 31 nested arrays. */
    /* clang-format off */
    static const char head[] = "\x83" "\xa1" "v" "\x01" "\xa3" "cmd" "\xa9" "heartbeat" "\xa1" "x";
    /* clang-format on */
    size_t h = sizeof head - 1;
    memcpy(f, head, h);
    memset(f + h, 0x91, JURY_PROTO_DEPTH_MAX - 1);
    f[h + JURY_PROTO_DEPTH_MAX - 1] = 0x01;
    assert_int_equal(s_decode(d, f, h + JURY_PROTO_DEPTH_MAX), JURY_OK);
    assert_int_equal(d->msg.cmd, JURY_CMD_HEARTBEAT);
}

static void test_nested_utf8(void **state)
{
    dec_t *d = *state;
    fb_t f;
    char why[128];

    /* Invalid UTF-8 deep inside a response's values: {"response": ["ok", "ok\xff"]}. */
    fb_head(&f, JURY_CMD_SUBMIT, true, 5, 1);
    fb_str(&f, "responses");
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_map(&f.pk, 3);
    fb_kstr(&f, "record", "r1");
    fb_kstr(&f, "status", "submitted");
    fb_str(&f, "values");
    msgpack_pack_map(&f.pk, 1);
    fb_str(&f, "response");
    msgpack_pack_array(&f.pk, 2);
    fb_str(&f, "ok");
    assert_int_equal(jury_proto_pack_str(&f.pk, "ok\xff", 3), 0);
    const char *bad = memchr(f.sb.data, 0xff, f.sb.size);
    assert_non_null(bad);
    snprintf(why, sizeof why, "byte %zu: string is not valid UTF-8", (size_t)(bad - f.sb.data));
    s_refuse(d, f.sb.data, f.sb.size, JURY_EPROTO, why);
    fb_free(&f);

    /* ... and in a key: a surrogate (U+D800). */
    s_refuse(d, BYTES("\x81\xa3\xed\xa0\x80\x01"), JURY_EPROTO,
             "byte 2: string is not valid UTF-8");
}

/* Every proper prefix of a valid frame is refused, and none crashes. */
static void test_truncated(void **state)
{
    dec_t *d = *state;
    fb_t f;
    s_build_submit(&f);
    for (size_t n = 0; n < f.sb.size; n++) {
        jury_err rc = s_decode(d, f.sb.data, n);
        assert_int_equal(rc, JURY_EPROTO);
        assert_true(strlen(d->why) > 0);
    }
    assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
    fb_free(&f);

    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(jury_proto_encode_hello(&b, 7, "alice", "support", "juror/0.1"), JURY_OK);
    for (size_t n = 0; n < b.size; n++)
        assert_int_equal(s_decode(d, b.data, n), JURY_EPROTO);
    msgpack_sbuffer_destroy(&b);

    for (int which = 0; which < 2; which++) {
        if (which == 0)
            s_build_review_batch(&f, 0);
        else
            s_build_review_submit(&f, 0);
        for (size_t n = 0; n < f.sb.size; n++)
            assert_int_equal(s_decode(d, f.sb.data, n), JURY_EPROTO);
        assert_int_equal(s_decode(d, f.sb.data, f.sb.size), JURY_OK);
        fb_free(&f);
    }
}

/* ------------------------------------------------------------------------------------------- */

/* xorshift64*: a fixed seed makes every run feed the same frames. */
static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Decodes f and asserts the outcome is one decode may return, with a NUL-terminated reason. */
static void s_any(dec_t *d, const unsigned char *f, size_t n)
{
    jury_err rc = s_decode(d, f, n);
    assert_true(rc == JURY_OK || rc == JURY_EPROTO || rc == JURY_ETOOBIG || rc == JURY_EVERSION);
    assert_non_null(memchr(d->why, '\0', sizeof d->why));
    if (rc == JURY_OK)
        assert_true(d->msg.cmd < JURY_CMD_COUNT);
    else
        assert_true(strlen(d->why) > 0);
}

/* Packs a random value at most depth levels deep, with the protocol's names as strings and keys. */
static void s_random_value(fb_t *f, uint64_t *seed, int depth)
{
    static const char *const words[] = {
        "record",  "status",   "values",        "submitted", "discarded", "draft",
        "id",      "fields",   "lease_expires", "ok",        "code",      "reason",
        "records", "results",  "responses",     "n",         "",          "caf\xc3\xa9",
        "accept",  "note",     "decisions",     "why",       "unified",   "updated_ms",
        "role",    "annotator"};
    const size_t nw = sizeof words / sizeof *words;
    uint64_t r = s_rand(seed);
    switch (r % (depth > 0 ? 9 : 6)) {
    case 0:
        msgpack_pack_nil(&f->pk);
        break;
    case 1:
        msgpack_pack_uint64(&f->pk, s_rand(seed) >> (s_rand(seed) % 64));
        break;
    case 2:
        msgpack_pack_int64(&f->pk, -(int64_t)(s_rand(seed) % 1000));
        break;
    case 3:
        (r >> 8) & 1 ? msgpack_pack_true(&f->pk) : msgpack_pack_double(&f->pk, 0.5);
        break;
    case 4:
    case 5:
        fb_str(f, words[(r >> 8) % nw]);
        break;
    case 6:
    case 7: {
        uint32_t n = (uint32_t)((r >> 8) % 4);
        msgpack_pack_map(&f->pk, n);
        for (uint32_t i = 0; i < n; i++) {
            fb_str(f, words[s_rand(seed) % nw]);
            s_random_value(f, seed, depth - 1);
        }
        break;
    }
    default: {
        uint32_t n = (uint32_t)((r >> 8) % 4);
        msgpack_pack_array(&f->pk, n);
        for (uint32_t i = 0; i < n; i++)
            s_random_value(f, seed, depth - 1);
    }
    }
}

static void test_random_frames(void **state)
{
    dec_t *d = *state;
    uint64_t seed = UINT64_C(0x6a757279); /* "jury" */
    unsigned char f[128];

    /* Pure noise, and noise drawn mostly from msgpack lead bytes that reach deeper. */
    static const unsigned char leads[] = {0x81, 0x82, 0x91, 0x92, 0xa1, 0xa3, 0xc0, 0xc3, 0xcc,
                                          0xcd, 0xd9, 0xdc, 0xde, 0x01, 0x7f, 0xff, 'v',  'c'};
    for (int i = 0; i < 200000; i++) {
        size_t n = s_rand(&seed) % 65;
        bool biased = i % 2;
        for (size_t j = 0; j < n; j++) {
            uint64_t r = s_rand(&seed);
            f[j] = biased ? leads[r % sizeof leads] : (unsigned char)r;
        }
        s_any(d, f, n);
    }

    /* Mutations of valid frames: flipped bits, replaced bytes, cuts and insertions. */
    msgpack_sbuffer hello, fetch, error;
    msgpack_sbuffer_init(&hello);
    msgpack_sbuffer_init(&fetch);
    msgpack_sbuffer_init(&error);
    assert_int_equal(jury_proto_encode_hello(&hello, 7, "alice", "support", "juror/0.1"), JURY_OK);
    assert_int_equal(jury_proto_encode_fetch(&fetch, 300, 10), JURY_OK);
    assert_int_equal(jury_proto_encode_error(&error, true, 5, "ENOTLEASED", "lease expired"),
                     JURY_OK);
    fb_t sub, rb, rs;
    s_build_submit(&sub);
    s_build_review_batch(&rb, 0);
    s_build_review_submit(&rs, 0);
    const msgpack_sbuffer *frames[] = {&hello, &fetch, &error, &sub.sb, &rb.sb, &rs.sb};
    size_t longest = sub.sb.size > rb.sb.size ? sub.sb.size : rb.sb.size;
    longest = longest > rs.sb.size ? longest : rs.sb.size;
    unsigned char *m = malloc(longest + 64);
    assert_non_null(m);
    for (int i = 0; i < 20000; i++) {
        const msgpack_sbuffer *src = frames[s_rand(&seed) % (sizeof frames / sizeof *frames)];
        size_t n = src->size;
        memcpy(m, src->data, n);
        int edits = 1 + (int)(s_rand(&seed) % 4);
        for (int e = 0; e < edits && n > 0; e++) {
            size_t at = s_rand(&seed) % n;
            switch (s_rand(&seed) % 4) {
            case 0:
                m[at] ^= (unsigned char)(1u << (s_rand(&seed) % 8));
                break;
            case 1:
                m[at] = (unsigned char)s_rand(&seed);
                break;
            case 2:
                n = at;
                break;
            default:
                if (n < longest + 63) {
                    memmove(m + at + 1, m + at, n - at);
                    m[at] = (unsigned char)s_rand(&seed);
                    n++;
                }
            }
        }
        s_any(d, m, n);
    }
    free(m);
    fb_free(&sub);
    fb_free(&rb);
    fb_free(&rs);

    /* Well-formed frames of random shape: they pass the pre-scan and test every field rule. */
    for (int i = 0; i < 20000; i++) {
        fb_t g;
        uint64_t r = s_rand(&seed);
        uint32_t extra = (uint32_t)(r % 4);
        fb_head(&g, (jury_cmd)((r >> 8) % JURY_CMD_COUNT), (r >> 16) & 1, s_rand(&seed) % 1000,
                extra);
        for (uint32_t k = 0; k < extra; k++) {
            static const char *const keys[] = {
                "annotator",    "dataset",   "agent",         "n",         "responses",
                "records",      "results",   "settings",      "code",      "reason",
                "heartbeat_ms", "batch_max", "lease_seconds", "decisions", "role"};
            fb_str(&g, keys[s_rand(&seed) % (sizeof keys / sizeof *keys)]);
            s_random_value(&g, &seed, 3);
        }
        s_any(d, (const unsigned char *)g.sb.data, g.sb.size);
        fb_free(&g);
    }
    msgpack_sbuffer_destroy(&hello);
    msgpack_sbuffer_destroy(&fetch);
    msgpack_sbuffer_destroy(&error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_names),
        cmocka_unit_test(test_golden_encoders),
        cmocka_unit_test(test_encoder_limits),
        cmocka_unit_test_setup_teardown(test_decode_simple, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_submit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_welcome, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_batch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_results, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_review_batch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decode_review_submit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_header, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_fields, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_submit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuse_frames, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_depth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nested_utf8, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_truncated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_random_frames, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
