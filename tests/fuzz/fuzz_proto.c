/* fuzz_proto.c: libFuzzer target for the wire decoder: jury_proto_decode on arbitrary bytes, as one
 * frame and as a sequence of frames, with the invariants a decoded message promises. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "fuzz_common.h"
#include "jury_jsonpack.h"
#include "jury_proto.h"
#include "jury_utf8.h"
#include "settings.h"

/*
 * The input is first decoded whole, as one frame. Then, when it holds the byte 0xc1, it is split
 * there into frames decoded in turn with one zone cleared between them, as the coordinator's loop
 * does with the frames of one turn. 0xc1 is never used by msgpack and is never part of UTF-8, so
 * it cannot appear in a valid frame outside the payload of a number: valid frames joined with it
 * make a good multi-frame seed.
 */
#define FRAME_SEPARATOR 0xc1

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)fuzz_settings();
    return 0;
}

/* A decoded string: never NULL, valid UTF-8, min..max bytes, inside the frame when not empty. */
static void s_check_str(const uint8_t *frame, size_t len, jury_str_t s, size_t min, size_t max,
                        const char *what)
{
    FUZZ_CHECK(s.ptr != NULL, "%s: NULL string", what);
    FUZZ_CHECK(s.len >= min && s.len <= max, "%s: %u bytes, not %zu..%zu", what, (unsigned)s.len,
               min, max);
    if (s.len > 0)
        FUZZ_CHECK((const uint8_t *)s.ptr >= frame && (const uint8_t *)s.ptr + s.len <= frame + len,
                   "%s: points outside the frame", what);
    FUZZ_CHECK(jury_utf8_valid(s.ptr, s.len, NULL), "%s: not valid UTF-8", what);
}

/* s as a NUL-terminated copy in buf (cap bytes), or NULL when it holds a NUL byte or is too long:
 * the encoders take C strings, so such strings cannot take part in the round trip. */
static const char *s_cstr(jury_str_t s, char *buf, size_t cap)
{
    if (s.len >= cap || memchr(s.ptr, '\0', s.len) != NULL)
        return NULL;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    return buf;
}

static bool s_str_eq(jury_str_t a, jury_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Decodes an encoder's output, which must always decode, into *out (zone is the caller's). */
static void s_redecode(const msgpack_sbuffer *buf, msgpack_zone *zone, jury_msg_t *out,
                       jury_cmd cmd)
{
    char why[256];
    jury_err rc = jury_proto_decode(buf->data, buf->size, zone, out, why, sizeof why);
    FUZZ_CHECK(rc == JURY_OK, "%s: the encoder's own frame does not decode: %s",
               jury_proto_cmd_name(cmd), why);
    FUZZ_CHECK(out->cmd == cmd, "re-decoded as %d, not %d", (int)out->cmd, (int)cmd);
}

/*
 * Encodes the decoded message again with the encoder for its command (where jury has one) and
 * decodes the result: the encoders accept what decode accepts (they check the same limits), and
 * the round trip keeps every field.
 */
static void s_roundtrip(const jury_msg_t *m)
{
    char a[JURY_PROTO_REASON_MAX + 1], b[JURY_PROTO_NAME_MAX + 1], c[JURY_PROTO_NAME_MAX + 1];
    msgpack_sbuffer buf;
    msgpack_zone zone;
    jury_msg_t m2;
    jury_err rc = JURY_OK;

    msgpack_sbuffer_init(&buf);
    FUZZ_CHECK(msgpack_zone_init(&zone, 1024), "out of memory");
    switch (m->cmd) {
    case JURY_CMD_HELLO: {
        const char *ann = s_cstr(m->u.hello.annotator, a, sizeof a);
        const char *ds = s_cstr(m->u.hello.dataset, b, sizeof b);
        const char *agent = s_cstr(m->u.hello.agent, c, sizeof c);
        char t[JURY_PROTO_TOKEN_MAX + 1];
        const char *token = s_cstr(m->u.hello.token, t, sizeof t);
        if (!ann || !ds || !agent || !token)
            break;
        rc = jury_proto_encode_hello_token(&buf, m->req, ann, ds, agent, token);
        FUZZ_CHECK(rc == JURY_OK, "encode_hello refuses a decoded hello: %s", jury_errname(rc));
        s_redecode(&buf, &zone, &m2, m->cmd);
        FUZZ_CHECK(m2.req == m->req && s_str_eq(m2.u.hello.annotator, m->u.hello.annotator) &&
                       s_str_eq(m2.u.hello.dataset, m->u.hello.dataset) &&
                       s_str_eq(m2.u.hello.agent, m->u.hello.agent) &&
                       s_str_eq(m2.u.hello.token, m->u.hello.token),
                   "hello changed in the round trip");
        break;
    }
    case JURY_CMD_FETCH:
    case JURY_CMD_REVIEW_FETCH:
        rc = m->cmd == JURY_CMD_FETCH ? jury_proto_encode_fetch(&buf, m->req, m->u.fetch.n)
                                      : jury_proto_encode_review_fetch(&buf, m->req, m->u.fetch.n);
        FUZZ_CHECK(rc == JURY_OK, "encode_%s refuses a decoded one: %s",
                   jury_proto_cmd_name(m->cmd), jury_errname(rc));
        s_redecode(&buf, &zone, &m2, m->cmd);
        FUZZ_CHECK(m2.req == m->req && m2.u.fetch.n == m->u.fetch.n, "%s changed in the round trip",
                   jury_proto_cmd_name(m->cmd));
        break;
    case JURY_CMD_RELEASE: {
        const char *ids[JURY_PROTO_BATCH_MAX];
        size_t lens[JURY_PROTO_BATCH_MAX];
        for (uint32_t i = 0; i < m->u.release.count; i++) {
            ids[i] = m->u.release.records[i].ptr;
            lens[i] = m->u.release.records[i].len;
        }
        rc = jury_proto_encode_release(&buf, m->req, ids, lens, m->u.release.count);
        FUZZ_CHECK(rc == JURY_OK, "encode_release refuses a decoded release: %s", jury_errname(rc));
        s_redecode(&buf, &zone, &m2, m->cmd);
        FUZZ_CHECK(m2.req == m->req && m2.u.release.count == m->u.release.count,
                   "release changed in the round trip");
        for (uint32_t i = 0; i < m->u.release.count; i++)
            FUZZ_CHECK(s_str_eq(m2.u.release.records[i], m->u.release.records[i]),
                       "release: records[%u] changed in the round trip", i);
        break;
    }
    case JURY_CMD_HEARTBEAT:
        rc = jury_proto_encode_heartbeat(&buf);
        FUZZ_CHECK(rc == JURY_OK, "encode_heartbeat: %s", jury_errname(rc));
        s_redecode(&buf, &zone, &m2, m->cmd);
        break;
    case JURY_CMD_BYE: {
        const char *reason = s_cstr(m->u.error.reason, a, sizeof a);
        if (!reason)
            break;
        rc = jury_proto_encode_bye(&buf, reason);
        FUZZ_CHECK(rc == JURY_OK, "encode_bye: %s", jury_errname(rc));
        s_redecode(&buf, &zone, &m2, m->cmd);
        FUZZ_CHECK(s_str_eq(m2.u.error.reason, m->u.error.reason), "bye changed in the round trip");
        break;
    }
    case JURY_CMD_ERROR:
    case JURY_CMD_GOODBYE: {
        const char *reason = s_cstr(m->u.error.reason, a, sizeof a);
        const char *code = s_cstr(m->u.error.code, b, sizeof b);
        if (!reason || !code)
            break;
        rc = m->cmd == JURY_CMD_ERROR
                 ? jury_proto_encode_error(&buf, m->has_req, m->req, code, reason)
                 : jury_proto_encode_goodbye(&buf, code, reason);
        FUZZ_CHECK(rc == JURY_OK, "encode_%s refuses a decoded one: %s",
                   jury_proto_cmd_name(m->cmd), jury_errname(rc));
        s_redecode(&buf, &zone, &m2, m->cmd);
        FUZZ_CHECK(s_str_eq(m2.u.error.code, m->u.error.code) &&
                       s_str_eq(m2.u.error.reason, m->u.error.reason),
                   "%s changed in the round trip", jury_proto_cmd_name(m->cmd));
        if (m->cmd == JURY_CMD_ERROR)
            FUZZ_CHECK(m2.has_req == m->has_req && m2.req == m->req,
                       "error: req changed in the round trip");
        break;
    }
    default:
        break; /* welcome, batch, review_batch and results are packed inline by the coordinator,
                  submit and review_submit by libjuror */
    }
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&buf);
}

/* What the coordinator does with a submit's values: JSON, then the settings' answer checks. */
static void s_use_values(const msgpack_object *values, bool submitted)
{
    FUZZ_CHECK(values->type == MSGPACK_OBJECT_MAP, "values is not a map");
    /* decode promises that no key appears twice in values */
    for (uint32_t i = 0; i < values->via.map.size; i++)
        for (uint32_t j = i + 1; j < values->via.map.size; j++) {
            const msgpack_object_str *x = &values->via.map.ptr[i].key.via.str;
            const msgpack_object_str *y = &values->via.map.ptr[j].key.via.str;
            FUZZ_CHECK(!(x->size == y->size && (x->size == 0 || !memcmp(x->ptr, y->ptr, x->size))),
                       "values: key %u repeats key %u", j, i);
        }
    cJSON *json = jury_jsonpack_to_json(values);
    if (!json)
        return; /* the coordinator answers EINVAL: "must be a map of question names to answers" */
    char err[400];
    jury_err rc =
        jury_settings_check_answers(fuzz_settings(), json, submitted, NULL, err, sizeof err);
    FUZZ_CHECK(rc == JURY_OK || (rc == JURY_EINVAL && err[0] != '\0'),
               "check_answers: %s without a reason", jury_errname(rc));
    cJSON_Delete(json);
}

/* What the worker does with a welcome's settings and a batch's records: JSON for the frontend. */
static void s_to_json(const msgpack_object *o, bool print)
{
    cJSON *json = jury_jsonpack_to_json(o);
    if (json && print) {
        char *text = cJSON_PrintUnformatted(json);
        free(text);
    }
    cJSON_Delete(json);
}

/* Checks everything a successfully decoded message promises, then uses it as jury does. */
static void s_check_msg(const uint8_t *frame, size_t len, const jury_msg_t *m)
{
    FUZZ_CHECK(m->version == JURY_PROTO_VERSION, "version %u", m->version);
    FUZZ_CHECK((unsigned)m->cmd < JURY_CMD_COUNT, "cmd %d", (int)m->cmd);
    FUZZ_CHECK(!m->has_req || m->req <= JURY_PROTO_REQ_MAX, "req %llu over 2^53",
               (unsigned long long)m->req);
    switch (m->cmd) {
    case JURY_CMD_HELLO:
        FUZZ_CHECK(m->has_req, "hello without req");
        s_check_str(frame, len, m->u.hello.annotator, 1, JURY_PROTO_NAME_MAX, "hello.annotator");
        s_check_str(frame, len, m->u.hello.dataset, 1, JURY_PROTO_NAME_MAX, "hello.dataset");
        s_check_str(frame, len, m->u.hello.agent, 0, JURY_PROTO_NAME_MAX, "hello.agent");
        break;
    case JURY_CMD_FETCH:
    case JURY_CMD_REVIEW_FETCH:
        FUZZ_CHECK(m->has_req, "fetch without req");
        FUZZ_CHECK(m->u.fetch.n >= 1 && m->u.fetch.n <= JURY_PROTO_BATCH_MAX, "fetch.n %u",
                   m->u.fetch.n);
        break;
    case JURY_CMD_REVIEW_SUBMIT:
        FUZZ_CHECK(m->has_req, "review_submit without req");
        FUZZ_CHECK(m->u.review_submit.count >= 1 &&
                       m->u.review_submit.count <= JURY_PROTO_BATCH_MAX,
                   "review_submit.count %u", m->u.review_submit.count);
        for (uint32_t i = 0; i < m->u.review_submit.count; i++) {
            const jury_proto_decision_t *r = &m->u.review_submit.items[i];
            s_check_str(frame, len, r->record, 1, JURY_PROTO_ID_MAX, "review_submit.record");
            s_check_str(frame, len, r->note, 0, JURY_PROTO_REASON_MAX, "review_submit.note");
            FUZZ_CHECK(r->values || !r->accept, "decisions[%u]: accepted without values", i);
            if (r->values)
                s_use_values(r->values, true);
        }
        break;
    case JURY_CMD_SUBMIT:
        FUZZ_CHECK(m->has_req, "submit without req");
        FUZZ_CHECK(m->u.submit.count >= 1 && m->u.submit.count <= JURY_PROTO_BATCH_MAX,
                   "submit.count %u", m->u.submit.count);
        for (uint32_t i = 0; i < m->u.submit.count; i++) {
            const jury_proto_response_t *r = &m->u.submit.items[i];
            s_check_str(frame, len, r->record, 1, JURY_PROTO_ID_MAX, "submit.record");
            FUZZ_CHECK(r->status == JURY_PROTO_SUBMITTED || r->status == JURY_PROTO_DISCARDED ||
                           r->status == JURY_PROTO_DRAFT,
                       "status %d", (int)r->status);
            FUZZ_CHECK(r->values || r->status == JURY_PROTO_DISCARDED,
                       "responses[%u]: no values for a %d", i, (int)r->status);
            if (r->values)
                s_use_values(r->values, r->status == JURY_PROTO_SUBMITTED);
        }
        break;
    case JURY_CMD_RELEASE:
        FUZZ_CHECK(m->has_req, "release without req");
        FUZZ_CHECK(m->u.release.count >= 1 && m->u.release.count <= JURY_PROTO_BATCH_MAX,
                   "release.count %u", m->u.release.count);
        for (uint32_t i = 0; i < m->u.release.count; i++)
            s_check_str(frame, len, m->u.release.records[i], 1, JURY_PROTO_ID_MAX,
                        "release.records[]");
        break;
    case JURY_CMD_HEARTBEAT:
        break;
    case JURY_CMD_BYE:
        FUZZ_CHECK(m->u.error.code.len == 0, "bye with a code");
        s_check_str(frame, len, m->u.error.reason, 0, JURY_PROTO_REASON_MAX, "bye.reason");
        break;
    case JURY_CMD_WELCOME:
        FUZZ_CHECK(m->has_req, "welcome without req");
        s_check_str(frame, len, m->u.welcome.dataset, 1, JURY_PROTO_NAME_MAX, "welcome.dataset");
        s_check_str(frame, len, m->u.welcome.annotator, 1, JURY_PROTO_NAME_MAX,
                    "welcome.annotator");
        FUZZ_CHECK(m->u.welcome.settings && m->u.welcome.settings->type == MSGPACK_OBJECT_MAP,
                   "welcome.settings is not a map");
        s_check_str(frame, len, m->u.welcome.role, 0, JURY_PROTO_ROLE_MAX, "welcome.role");
        FUZZ_CHECK(m->u.welcome.heartbeat_ms >= 1 && m->u.welcome.lease_seconds >= 1 &&
                       m->u.welcome.batch_max >= 1 &&
                       m->u.welcome.batch_max <= JURY_PROTO_BATCH_MAX,
                   "welcome: heartbeat_ms %u, lease_seconds %u, batch_max %u",
                   m->u.welcome.heartbeat_ms, m->u.welcome.lease_seconds, m->u.welcome.batch_max);
        s_to_json(m->u.welcome.settings, true);
        break;
    case JURY_CMD_BATCH:
    case JURY_CMD_REVIEW_BATCH: {
        const msgpack_object *recs = m->u.batch.records;
        FUZZ_CHECK(m->has_req, "batch without req");
        FUZZ_CHECK(m->cmd == JURY_CMD_BATCH || !m->u.batch.progress.present,
                   "review_batch with progress");
        FUZZ_CHECK(recs && recs->type == MSGPACK_OBJECT_ARRAY &&
                       recs->via.array.size <= JURY_PROTO_BATCH_MAX,
                   "batch.records is not an array of at most 100");
        for (uint32_t i = 0; i < recs->via.array.size; i++) {
            FUZZ_CHECK(recs->via.array.ptr[i].type == MSGPACK_OBJECT_MAP,
                       "batch.records[%u] is not a map", i);
            s_to_json(&recs->via.array.ptr[i], false);
        }
        break;
    }
    case JURY_CMD_RESULTS:
        FUZZ_CHECK(m->has_req, "results without req");
        FUZZ_CHECK(m->u.results.count <= JURY_PROTO_BATCH_MAX, "results.count %u",
                   m->u.results.count);
        for (uint32_t i = 0; i < m->u.results.count; i++) {
            const jury_proto_result_t *r = &m->u.results.items[i];
            s_check_str(frame, len, r->record, 1, JURY_PROTO_ID_MAX, "results.record");
            s_check_str(frame, len, r->code, r->ok ? 0 : 1, JURY_PROTO_CODE_MAX, "results.code");
            s_check_str(frame, len, r->reason, 0, JURY_PROTO_REASON_MAX, "results.reason");
        }
        break;
    case JURY_CMD_ERROR:
    case JURY_CMD_GOODBYE:
        s_check_str(frame, len, m->u.error.code, 1, JURY_PROTO_CODE_MAX, "error.code");
        s_check_str(frame, len, m->u.error.reason, 0, JURY_PROTO_REASON_MAX, "error.reason");
        break;
    default:
        FUZZ_CHECK(false, "decoded an unknown command %d", (int)m->cmd);
    }
    s_roundtrip(m);
}

/* Decodes one frame into zone and checks the outcome. */
static void s_decode(const uint8_t *frame, size_t len, msgpack_zone *zone)
{
    jury_msg_t m;
    char why[512];
    jury_err rc = jury_proto_decode(frame, len, zone, &m, why, sizeof why);
    FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL, "why is not NUL-terminated");
    if (fuzz_verbose())
        fprintf(stderr, "frame of %zu bytes: %s%s%s%s\n", len, jury_errname(rc),
                rc == JURY_OK ? " " : ": ", rc == JURY_OK ? jury_proto_cmd_name(m.cmd) : "",
                rc == JURY_OK ? "" : why);
    if (rc != JURY_OK) {
        FUZZ_CHECK(rc == JURY_EPROTO || rc == JURY_ETOOBIG || rc == JURY_EVERSION ||
                       rc == JURY_ENOMEM,
                   "decode returned %s", jury_errname(rc));
        FUZZ_CHECK(why[0] != '\0', "decode failed with %s but gave no reason", jury_errname(rc));
        FUZZ_CHECK((unsigned)m.cmd <= JURY_CMD_COUNT, "cmd %d after a failure", (int)m.cmd);
        FUZZ_CHECK(!m.has_req || m.req <= JURY_PROTO_REQ_MAX, "req over 2^53 after a failure");
        /* The pre-scan alone must agree on frames it refuses. */
        jury_err crc = jury_proto_check(frame, len, NULL, 0);
        FUZZ_CHECK(crc == JURY_OK || crc == rc, "check says %s, decode %s", jury_errname(crc),
                   jury_errname(rc));
    } else {
        FUZZ_CHECK(jury_proto_check(frame, len, NULL, 0) == JURY_OK,
                   "decode accepts a frame the pre-scan refuses");
        s_check_msg(frame, len, &m);
    }

    /* A reason cut short still ends in a NUL, and no reason at all changes nothing. */
    char small[8];
    jury_msg_t m2;
    jury_err rc2 = jury_proto_decode(frame, len, zone, &m2, small, sizeof small);
    FUZZ_CHECK(rc2 == rc, "decode gave %s, then %s", jury_errname(rc), jury_errname(rc2));
    FUZZ_CHECK(memchr(small, '\0', sizeof small) != NULL, "a short why is not NUL-terminated");
    rc2 = jury_proto_decode(frame, len, zone, &m2, NULL, 0);
    FUZZ_CHECK(rc2 == rc, "decode gave %s, then %s without why", jury_errname(rc),
               jury_errname(rc2));
    FUZZ_CHECK(m2.cmd == m.cmd && m2.has_req == m.has_req && m2.req == m.req,
               "cmd or req differ between two decodes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_zone zone;
    FUZZ_CHECK(msgpack_zone_init(&zone, 8192), "out of memory");

    /* A copy of exactly size bytes, so that ASan sees any read past the frame. */
    uint8_t *frame = malloc(size ? size : 1);
    FUZZ_CHECK(frame != NULL, "out of memory");
    memcpy(frame, data, size);
    s_decode(frame, size, &zone);
    free(frame);
    msgpack_zone_clear(&zone);

    /* The same bytes as several frames, one zone for all of them (serve.c's loop turn). */
    const uint8_t *p = data, *end = data + size;
    if (memchr(data, FRAME_SEPARATOR, size) != NULL) {
        while (p <= end) {
            const uint8_t *sep = memchr(p, FRAME_SEPARATOR, (size_t)(end - p));
            size_t n = (size_t)((sep ? sep : end) - p);
            frame = malloc(n ? n : 1);
            FUZZ_CHECK(frame != NULL, "out of memory");
            memcpy(frame, p, n);
            s_decode(frame, n, &zone);
            free(frame);
            msgpack_zone_clear(&zone);
            if (!sep)
                break;
            p = sep + 1;
        }
    }
    msgpack_zone_destroy(&zone);
    return 0;
}
