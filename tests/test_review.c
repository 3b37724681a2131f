/* test_review.c: reviewers' decisions (protocol/SPEC.md 9.7): the stored review's codec, resends
 * recognised by jury_review_same, the decision a review makes, and on a real store how
 * `jury consolidate` keeps reviewers' decisions and the review queue, and what `jury export`
 * writes of them. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "consolidation.h"
#include "decision.h"
#include "export.h"
#include "import.h"
#include "jury_jsonpack.h"
#include "review.h"

/* When the reviews of these tests were decided: 2023-11-14T22:13:20Z. */
#define T_REVIEW 1700000000000LL

/* ---- msgpack helpers ---------------------------------------------------------------------- */

/* Packs JSON text as msgpack into buf (appended). */
static void s_pack(msgpack_sbuffer *buf, const char *json)
{
    cJSON *v = cJSON_Parse(json);
    assert_non_null(v);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    assert_int_equal(jury_jsonpack_pack(&pk, v), 0);
    cJSON_Delete(v);
}

/* JSON text as a msgpack object in zone (packed into buf, which must outlive the object). */
static msgpack_object s_obj(msgpack_sbuffer *buf, msgpack_zone *zone, const char *json)
{
    msgpack_sbuffer_clear(buf);
    s_pack(buf, json);
    msgpack_object o;
    assert_int_equal(msgpack_unpack(buf->data, buf->size, NULL, zone, &o), MSGPACK_UNPACK_SUCCESS);
    return o;
}

/* o as compact JSON into out (cap bytes). */
static const char *s_json(const msgpack_object *o, char *out, size_t cap)
{
    cJSON *j = jury_jsonpack_to_json(o);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(text);
    assert_true(strlen(text) < cap);
    strcpy(out, text);
    free(text);
    cJSON_Delete(j);
    return out;
}

/* A decoded decision on one line: "KIND|reason|n=N|u=JSON|a=JSON|s=JSON|by|ms|note" ("-" for
 * none). */
static const char *s_decision_line(const jury_decision_t *d, char *out, size_t cap)
{
    char u[1024], a[512], s[512];
    msgpack_object empty = {.type = MSGPACK_OBJECT_MAP};
    snprintf(out, cap, "%s|%.*s|n=%u|u=%s|a=%s|s=%s|%.*s|%lld|%.*s", jury_decision_name(d->kind),
             d->reason ? (int)d->reason_len : 1, d->reason ? d->reason : "-", d->submitted,
             s_json(d->unified.type == MSGPACK_OBJECT_MAP ? &d->unified : &empty, u, sizeof u),
             s_json(d->agreement.type == MSGPACK_OBJECT_MAP ? &d->agreement : &empty, a, sizeof a),
             s_json(d->support.type == MSGPACK_OBJECT_MAP ? &d->support : &empty, s, sizeof s),
             d->reviewed_by ? (int)d->reviewed_by_len : 1, d->reviewed_by ? d->reviewed_by : "-",
             (long long)d->reviewed_ms, d->review_note ? (int)d->review_note_len : 1,
             d->review_note ? d->review_note : "-");
    return out;
}

/* ---- the stored review -------------------------------------------------------------------- */

/* {"by": 7, "t": T_REVIEW, "ok": true, "v": {"topic": "billing", "response": nil}, "note": "ok"},
 * as Python's msgpack.packb writes it. */
static const uint8_t s_golden_review[] = {
    0x85, 0xa2, 0x62, 0x79, 0x07, 0xa1, 0x74, 0xcf, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5,
    0x68, 0x00, 0xa2, 0x6f, 0x6b, 0xc3, 0xa1, 0x76, 0x82, 0xa5, 0x74, 0x6f, 0x70, 0x69,
    0x63, 0xa7, 0x62, 0x69, 0x6c, 0x6c, 0x69, 0x6e, 0x67, 0xa8, 0x72, 0x65, 0x73, 0x70,
    0x6f, 0x6e, 0x73, 0x65, 0xc0, 0xa4, 0x6e, 0x6f, 0x74, 0x65, 0xa2, 0x6f, 0x6b};

static void test_encode_golden(void **state)
{
    (void)state;
    msgpack_sbuffer vbuf, buf;
    msgpack_sbuffer_init(&vbuf);
    msgpack_sbuffer_init(&buf);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object v = s_obj(&vbuf, &zone, "{\"topic\": \"billing\", \"response\": null}");
    assert_int_equal(jury_review_encode(&buf, 7, T_REVIEW, true, &v, "ok", 2), JURY_OK);
    assert_int_equal(buf.size, sizeof s_golden_review);
    assert_memory_equal(buf.data, s_golden_review, sizeof s_golden_review);

    /* Decoded back: every field, values as sent (the nil entry kept), the note borrowed. */
    jury_review_t r;
    assert_int_equal(jury_review_decode(s_golden_review, sizeof s_golden_review, &zone, &r),
                     JURY_OK);
    assert_int_equal(r.reviewer, 7);
    assert_true(r.decided_ms == T_REVIEW);
    assert_true(r.accept);
    char j[256];
    assert_string_equal(s_json(&r.values, j, sizeof j),
                        "{\"topic\":\"billing\",\"response\":null}");
    assert_int_equal(r.note_len, 2);
    assert_memory_equal(r.note, "ok", 2);
    assert_true((const uint8_t *)r.note >= s_golden_review &&
                (const uint8_t *)r.note < s_golden_review + sizeof s_golden_review);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&vbuf);
    msgpack_sbuffer_destroy(&buf);
}

static void test_round_trips(void **state)
{
    (void)state;
    msgpack_sbuffer vbuf, buf;
    msgpack_sbuffer_init(&vbuf);
    msgpack_sbuffer_init(&buf);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    jury_review_t r;
    char j[256];

    /* A rejection without values or note, at a time before the epoch. */
    assert_int_equal(jury_review_encode(&buf, UINT32_MAX, -5, false, NULL, NULL, 0), JURY_OK);
    assert_int_equal(jury_review_decode(buf.data, buf.size, &zone, &r), JURY_OK);
    assert_int_equal(r.reviewer, UINT32_MAX);
    assert_true(r.decided_ms == -5);
    assert_false(r.accept);
    assert_int_equal(r.values.type, MSGPACK_OBJECT_NIL);
    assert_null(r.note);
    assert_int_equal(r.note_len, 0);

    /* Values given as nil are none; an empty note is none. */
    msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    msgpack_sbuffer_clear(&buf);
    assert_int_equal(jury_review_encode(&buf, 1, 0, false, &nil, "", 0), JURY_OK);
    assert_int_equal(jury_review_decode(buf.data, buf.size, &zone, &r), JURY_OK);
    assert_int_equal(r.values.type, MSGPACK_OBJECT_NIL);
    assert_null(r.note);

    /* Every value shape of SPEC 9.6 comes back byte for byte, in the order sent. */
    const char *values = "{\"response\":\"Use the link.\",\"quality\":4,\"flags\":[\"rude\","
                         "\"vague\"],\"best\":[\"b\",[\"a\",\"c\"]],\"ents\":[{\"start\":0,"
                         "\"end\":3,\"label\":\"ORG\"}],\"topic\":null}";
    msgpack_object v = s_obj(&vbuf, &zone, values);
    const char note[] = "two \"quoted\" words\nand a line";
    msgpack_sbuffer_clear(&buf);
    assert_int_equal(jury_review_encode(&buf, 3, T_REVIEW, true, &v, note, sizeof note - 1),
                     JURY_OK);
    assert_int_equal(jury_review_decode(buf.data, buf.size, &zone, &r), JURY_OK);
    assert_string_equal(s_json(&r.values, j, sizeof j), values);
    assert_int_equal(r.note_len, sizeof note - 1);
    assert_memory_equal(r.note, note, sizeof note - 1);
    /* Encoding the decoded review again gives the same bytes. */
    msgpack_sbuffer again;
    msgpack_sbuffer_init(&again);
    assert_int_equal(jury_review_encode(&again, r.reviewer, r.decided_ms, r.accept, &r.values,
                                        r.note, r.note_len),
                     JURY_OK);
    assert_int_equal(again.size, buf.size);
    assert_memory_equal(again.data, buf.data, buf.size);
    msgpack_sbuffer_destroy(&again);

    /* Bad arguments. */
    msgpack_object s = s_obj(&vbuf, &zone, "\"billing\"");
    assert_int_equal(jury_review_encode(&buf, 1, 0, true, &s, NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_review_encode(NULL, 1, 0, true, NULL, NULL, 0), JURY_EINVAL);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&vbuf);
    msgpack_sbuffer_destroy(&buf);
}

/* Asserts that JSON text json, packed, does not decode as a review. */
static void s_corrupt(const char *json)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack(&buf, json);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    jury_review_t r;
    if (jury_review_decode(buf.data, buf.size, &zone, &r) != JURY_ECORRUPT)
        fail_msg("%s decoded as a review", json);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&buf);
}

static void test_decode_corrupt(void **state)
{
    (void)state;
    s_corrupt("[1, 2]");
    s_corrupt("{\"t\": 1, \"ok\": true}");                         /* no reviewer */
    s_corrupt("{\"by\": 1, \"ok\": true}");                        /* no time */
    s_corrupt("{\"by\": 1, \"t\": 1}");                            /* no accept */
    s_corrupt("{\"by\": -1, \"t\": 1, \"ok\": true}");             /* reviewer not an id */
    s_corrupt("{\"by\": 4294967296, \"t\": 1, \"ok\": true}");     /* reviewer over 32 bits */
    s_corrupt("{\"by\": 1, \"t\": \"now\", \"ok\": true}");        /* time not an integer */
    s_corrupt("{\"by\": 1, \"t\": 1, \"ok\": 1}");                 /* accept not a bool */
    s_corrupt("{\"by\": 1, \"t\": 1, \"ok\": true, \"v\": [1]}");  /* values not a map */
    s_corrupt("{\"by\": 1, \"t\": 1, \"ok\": true, \"note\": 3}"); /* note not a string */
    /* Truncated at every length, and garbage: never decoded. */
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    jury_review_t r;
    for (size_t n = 0; n < sizeof s_golden_review; n++)
        assert_int_equal(jury_review_decode(s_golden_review, n, &zone, &r), JURY_ECORRUPT);
    assert_int_equal(jury_review_decode(NULL, 0, &zone, &r), JURY_ECORRUPT);
    const uint8_t junk[] = {0xc1, 0xff, 0x00};
    assert_int_equal(jury_review_decode(junk, sizeof junk, &zone, &r), JURY_ECORRUPT);
    /* Unknown keys are ignored (a later version may add some). */
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack(&buf, "{\"by\": 2, \"t\": 9, \"ok\": false, \"later\": [1]}");
    assert_int_equal(jury_review_decode(buf.data, buf.size, &zone, &r), JURY_OK);
    assert_int_equal(r.reviewer, 2);
    assert_int_equal(r.values.type, MSGPACK_OBJECT_NIL);
    msgpack_sbuffer_destroy(&buf);
    msgpack_zone_destroy(&zone);
}

/* Whether the review stored from (stored, note) is the decision (values, note2) by the same
 * reviewer and accept. */
static bool s_same(const char *stored, const char *note, const char *values, const char *note2)
{
    msgpack_sbuffer a, b, enc;
    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_init(&enc);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object sv, v;
    if (stored)
        sv = s_obj(&a, &zone, stored);
    if (values)
        v = s_obj(&b, &zone, values);
    assert_int_equal(jury_review_encode(&enc, 5, T_REVIEW, true, stored ? &sv : NULL, note,
                                        note ? strlen(note) : 0),
                     JURY_OK);
    jury_review_t r;
    assert_int_equal(jury_review_decode(enc.data, enc.size, &zone, &r), JURY_OK);
    bool same = jury_review_same(&r, 5, true, values ? &v : NULL, note2, note2 ? strlen(note2) : 0);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&enc);
    return same;
}

static void test_same(void **state)
{
    (void)state;
    const char *v = "{\"topic\": \"billing\", \"quality\": 4, \"response\": null}";
    assert_true(s_same(v, "why", v, "why"));
    /* Keys in another order; nil entries the same as absent ones, either side. */
    assert_true(s_same(v, "why", "{\"quality\": 4, \"topic\": \"billing\"}", "why"));
    assert_true(s_same("{\"quality\": 4, \"topic\": \"billing\"}", NULL,
                       "{\"response\": null, \"topic\": \"billing\", \"quality\": 4, \"x\": null}",
                       NULL));
    /* Maps inside values compare in any key order too. */
    assert_true(s_same("{\"ents\": [{\"start\": 0, \"end\": 3, \"label\": \"ORG\"}]}", NULL,
                       "{\"ents\": [{\"label\": \"ORG\", \"end\": 3, \"start\": 0}]}", NULL));
    /* No values, nil values, an empty map and a map of nils are all none. */
    assert_true(s_same(NULL, NULL, "{}", NULL));
    assert_true(s_same("{\"a\": null}", NULL, NULL, NULL));
    /* No note and an empty note are the same. */
    assert_true(s_same(v, NULL, v, ""));

    assert_false(s_same(v, "why", v, "why not"));
    assert_false(s_same(v, "why", v, NULL));
    assert_false(s_same(v, NULL, "{\"topic\": \"billing\", \"quality\": 5}", NULL));
    assert_false(s_same(v, NULL, "{\"topic\": \"billing\", \"quality\": 4.0001}", NULL));
    assert_false(s_same(v, NULL, "{\"topic\": \"billing\"}", NULL));
    assert_false(s_same(v, NULL, "{\"topic\": \"billing\", \"quality\": 4, \"extra\": 1}", NULL));
    assert_false(s_same(v, NULL, "{\"topic\": \"Billing\", \"quality\": 4}", NULL));
    assert_false(s_same("{\"flags\": [\"a\", \"b\"]}", NULL, "{\"flags\": [\"b\", \"a\"]}", NULL));
    assert_false(s_same("{\"a\": 1}", NULL, NULL, NULL));

    /* Another reviewer or the other verdict is another decision. */
    msgpack_sbuffer enc;
    msgpack_sbuffer_init(&enc);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    assert_int_equal(jury_review_encode(&enc, 5, T_REVIEW, false, NULL, NULL, 0), JURY_OK);
    jury_review_t r;
    assert_int_equal(jury_review_decode(enc.data, enc.size, &zone, &r), JURY_OK);
    assert_true(jury_review_same(&r, 5, false, NULL, NULL, 0));
    assert_false(jury_review_same(&r, 6, false, NULL, NULL, 0));
    assert_false(jury_review_same(&r, 5, true, NULL, NULL, 0));
    assert_false(jury_review_same(NULL, 5, false, NULL, NULL, 0));
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&enc);
}

/* ---- the decision a review makes ---------------------------------------------------------- */

/* The decision of a rejection by rita with the note "off-topic", as Python's msgpack.packb writes
 * {"d": 2, "r": "rejected by reviewer rita: off-topic", "n": 2, "u": {},
 *  "a": {"response": 1.0, "topic": 0.0}, "s": {}, "rb": "rita", "rt": T_REVIEW, "rn": "off-topic"}.
 */
static const uint8_t s_golden_rejection[] = {
    0x89, 0xa1, 0x64, 0x02, 0xa1, 0x72, 0xd9, 0x24, 0x72, 0x65, 0x6a, 0x65, 0x63, 0x74, 0x65, 0x64,
    0x20, 0x62, 0x79, 0x20, 0x72, 0x65, 0x76, 0x69, 0x65, 0x77, 0x65, 0x72, 0x20, 0x72, 0x69, 0x74,
    0x61, 0x3a, 0x20, 0x6f, 0x66, 0x66, 0x2d, 0x74, 0x6f, 0x70, 0x69, 0x63, 0xa1, 0x6e, 0x02, 0xa1,
    0x75, 0x80, 0xa1, 0x61, 0x82, 0xa8, 0x72, 0x65, 0x73, 0x70, 0x6f, 0x6e, 0x73, 0x65, 0xcb, 0x3f,
    0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa5, 0x74, 0x6f, 0x70, 0x69, 0x63, 0xcb, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa1, 0x73, 0x80, 0xa2, 0x72, 0x62, 0xa4, 0x72, 0x69, 0x74,
    0x61, 0xa2, 0x72, 0x74, 0xcf, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0xa2, 0x72, 0x6e,
    0xa9, 0x6f, 0x66, 0x66, 0x2d, 0x74, 0x6f, 0x70, 0x69, 0x63};

/* The agreement map {"response": 1.0, "topic": 0.0} with float values. */
static msgpack_object s_agreement(msgpack_sbuffer *buf, msgpack_zone *zone)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_map(&pk, 2), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "response", 8), 0);
    assert_int_equal(msgpack_pack_double(&pk, 1.0), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "topic", 5), 0);
    assert_int_equal(msgpack_pack_double(&pk, 0.0), 0);
    msgpack_object o;
    assert_int_equal(msgpack_unpack(buf->data, buf->size, NULL, zone, &o), MSGPACK_UNPACK_SUCCESS);
    return o;
}

static void test_decision(void **state)
{
    (void)state;
    msgpack_sbuffer vbuf, abuf, rbuf, buf;
    msgpack_sbuffer_init(&vbuf);
    msgpack_sbuffer_init(&abuf);
    msgpack_sbuffer_init(&rbuf);
    msgpack_sbuffer_init(&buf);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object agreement = s_agreement(&abuf, &zone);
    jury_review_t r;
    jury_decision_t d;
    char line[2048];

    /* A rejection with a note: exact bytes, and decoded back. */
    assert_int_equal(jury_review_encode(&rbuf, 9, T_REVIEW, false, NULL, "off-topic", 9), JURY_OK);
    assert_int_equal(jury_review_decode(rbuf.data, rbuf.size, &zone, &r), JURY_OK);
    assert_int_equal(jury_review_decision(&buf, &r, "rita", 2, &agreement), JURY_OK);
    assert_int_equal(buf.size, sizeof s_golden_rejection);
    assert_memory_equal(buf.data, s_golden_rejection, sizeof s_golden_rejection);
    assert_int_equal(jury_decision_decode(buf.data, buf.size, &zone, &d), JURY_OK);
    assert_int_equal(d.kind, JURY_DECISION_REJECTED);
    assert_int_equal(d.reason_len, strlen("rejected by reviewer rita: off-topic"));
    assert_memory_equal(d.reason, "rejected by reviewer rita: off-topic", d.reason_len);
    assert_string_equal(s_decision_line(&d, line, sizeof line),
                        "rejected|rejected by reviewer rita: off-topic|n=2|u={}|"
                        "a={\"response\":1,\"topic\":0}|s={}|rita|1700000000000|off-topic");
    double x;
    assert_true(jury_decision_agreement(&d, "response", &x) && x == 1.0);
    assert_true(jury_decision_agreement(&d, "topic", &x) && x == 0.0);

    /* A rejection without a note, whatever values came with it: no unified values. */
    msgpack_object v = s_obj(&vbuf, &zone, "{\"topic\": \"other\"}");
    msgpack_sbuffer_clear(&rbuf);
    msgpack_sbuffer_clear(&buf);
    assert_int_equal(jury_review_encode(&rbuf, 9, 5, false, &v, NULL, 0), JURY_OK);
    assert_int_equal(jury_review_decode(rbuf.data, rbuf.size, &zone, &r), JURY_OK);
    assert_int_equal(jury_review_decision(&buf, &r, "rita", 3, NULL), JURY_OK);
    assert_int_equal(jury_decision_decode(buf.data, buf.size, &zone, &d), JURY_OK);
    assert_string_equal(s_decision_line(&d, line, sizeof line),
                        "rejected|rejected by reviewer rita|n=3|u={}|a={}|s={}|rita|5|-");

    /* An acceptance: the reviewer's values without their nil entries are the unified values; the
     * agreement is carried over; the support left out. */
    v = s_obj(&vbuf, &zone,
              "{\"response\": \"Refunds take 5 days.\", \"flags\": null, \"topic\": \"billing\", "
              "\"ents\": [{\"start\": 0, \"end\": 7, \"label\": \"ACT\"}]}");
    msgpack_sbuffer_clear(&rbuf);
    msgpack_sbuffer_clear(&buf);
    assert_int_equal(jury_review_encode(&rbuf, 9, T_REVIEW, true, &v, "fixed the reply", 15),
                     JURY_OK);
    assert_int_equal(jury_review_decode(rbuf.data, rbuf.size, &zone, &r), JURY_OK);
    assert_int_equal(jury_review_decision(&buf, &r, "ana", 4, &agreement), JURY_OK);
    assert_int_equal(jury_decision_decode(buf.data, buf.size, &zone, &d), JURY_OK);
    assert_string_equal(s_decision_line(&d, line, sizeof line),
                        "accepted|-|n=4|u={\"response\":\"Refunds take 5 days.\",\"topic\":"
                        "\"billing\",\"ents\":[{\"start\":0,\"end\":7,\"label\":\"ACT\"}]}|"
                        "a={\"response\":1,\"topic\":0}|s={}|ana|1700000000000|fixed the reply");
    assert_null(d.reason);
    assert_null(jury_decision_unified(&d, "flags"));
    const msgpack_object *u = jury_decision_unified(&d, "topic");
    assert_non_null(u);
    assert_int_equal(u->type, MSGPACK_OBJECT_STR);

    /* The reject reason of the brief: "rejected by reviewer ana: off-topic". */
    msgpack_sbuffer_clear(&rbuf);
    msgpack_sbuffer_clear(&buf);
    assert_int_equal(jury_review_encode(&rbuf, 1, T_REVIEW, false, NULL, "off-topic", 9), JURY_OK);
    assert_int_equal(jury_review_decode(rbuf.data, rbuf.size, &zone, &r), JURY_OK);
    assert_int_equal(jury_review_decision(&buf, &r, "ana", 2, &agreement), JURY_OK);
    assert_int_equal(jury_decision_decode(buf.data, buf.size, &zone, &d), JURY_OK);
    assert_int_equal(d.kind, JURY_DECISION_REJECTED);
    assert_int_equal(d.reason_len, 35);
    assert_memory_equal(d.reason, "rejected by reviewer ana: off-topic", 35);

    /* Bad arguments. */
    assert_int_equal(jury_review_decision(&buf, &r, NULL, 2, NULL), JURY_EINVAL);
    assert_int_equal(jury_review_decision(NULL, &r, "ana", 2, NULL), JURY_EINVAL);
    msgpack_object s = s_obj(&vbuf, &zone, "[1]");
    assert_int_equal(jury_review_decision(&buf, &r, "ana", 2, &s), JURY_EINVAL);

    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&vbuf);
    msgpack_sbuffer_destroy(&abuf);
    msgpack_sbuffer_destroy(&rbuf);
    msgpack_sbuffer_destroy(&buf);
}

/* Decisions stored before reviews existed, and partial provenance, decode as unreviewed. */
static void test_decision_unreviewed(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    jury_decision_t d;
    char line[1024];
    jury_decision_item_t item = {.question = "topic", .has_agreement = true, .agreement = 0.5};
    assert_int_equal(jury_decision_encode(&buf, JURY_DECISION_REJECTED, "tie", 3, 2, &item, 1),
                     JURY_OK);
    assert_int_equal(jury_decision_decode(buf.data, buf.size, &zone, &d), JURY_OK);
    assert_string_equal(s_decision_line(&d, line, sizeof line),
                        "rejected|tie|n=2|u={}|a={\"topic\":0.5}|s={}|-|0|-");
    assert_null(d.reviewed_by);
    assert_int_equal(d.reviewed_by_len, 0);
    assert_null(d.review_note);

    /* A name without a time, or a time without a name: unreviewed. */
    static const char *const partial[] = {
        "{\"d\": 1, \"rb\": \"rita\", \"rn\": \"x\"}",
        "{\"d\": 1, \"rt\": 5, \"rn\": \"x\"}",
        "{\"d\": 1, \"rb\": 7, \"rt\": 5}",
        "{\"d\": 1, \"rb\": \"rita\", \"rt\": \"5\"}",
    };
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
        msgpack_sbuffer_clear(&buf);
        s_pack(&buf, partial[i]);
        assert_int_equal(jury_decision_decode(buf.data, buf.size, &zone, &d), JURY_OK);
        assert_null(d.reviewed_by);
        assert_null(d.review_note);
        assert_true(d.reviewed_ms == 0);
    }
    /* A whole one, written by hand: a time before the epoch, an empty note is none. */
    msgpack_sbuffer_clear(&buf);
    s_pack(&buf, "{\"d\": 1, \"rb\": \"rita\", \"rt\": -1, \"rn\": \"\"}");
    assert_int_equal(jury_decision_decode(buf.data, buf.size, &zone, &d), JURY_OK);
    assert_string_equal(s_decision_line(&d, line, sizeof line),
                        "accepted|-|n=0|u={}|a={}|s={}|rita|-1|-");
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&buf);
}

/* ---- on a store: consolidation and export ------------------------------------------------- */

/* Answers to edit and a topic that both answers must agree on. */
static const char s_settings[] =
    "{\"fields\": [{\"name\": \"instruction\", \"type\": \"text\"}],"
    " \"questions\": [{\"name\": \"response\", \"type\": \"text\"},"
    "                 {\"name\": \"topic\", \"type\": \"label_selection\","
    "                  \"labels\": [\"billing\", \"shipping\", \"other\"]}],"
    " \"distribution\": {\"min_submitted\": 2},"
    " \"consolidation\": {\"accept\": {\"min_agreement\": {\"topic\": 1}}}}";

static const char s_records[] = "{\"id\": \"r1\", \"fields\": {\"instruction\": \"Reset\"}}\n"
                                "{\"id\": \"r2\", \"fields\": {\"instruction\": \"Refund?\"}}\n"
                                "{\"id\": \"r3\", \"fields\": {\"instruction\": \"Weather?\"}}\n"
                                "{\"id\": \"r4\", \"fields\": {\"instruction\": \"Hello\"}}\n"
                                "{\"id\": \"r5\", \"fields\": {\"instruction\": \"Spam\"}}\n"
                                "{\"id\": \"r6\", \"fields\": {\"instruction\": \"Where?\"}}\n";

typedef struct {
    char base[256];      /* temporary directory */
    char dir[300];       /* the store */
    jury_store_t *store; /* open on dir */
    uint32_t ds;         /* dataset "qa" */
} fixture_t;

typedef struct {
    const char *name;     /* dataset name */
    const char *settings; /* settings JSON */
    uint32_t id;          /* its id */
} create_t;

static jury_err s_create_fn(jury_txn_t *txn, void *arg)
{
    create_t *c = arg;
    return jury_store_dataset_create(txn, c->name, c->settings, strlen(c->settings), &c->id);
}

static uint64_t s_rid(jury_txn_t *txn, uint32_t ds, const char *ext)
{
    uint64_t rid = 0;
    assert_int_equal(jury_store_record_find(txn, ds, ext, strlen(ext), &rid), JURY_OK);
    return rid;
}

typedef struct {
    uint32_t ds;                 /* dataset */
    const char *ext;             /* record */
    const char *annotator;       /* who */
    jury_response_status status; /* response status */
    const char *values;          /* JSON object */
} respond_t;

static jury_err s_respond_fn(jury_txn_t *txn, void *arg)
{
    respond_t *r = arg;
    uint32_t ann;
    jury_err err = jury_store_annotator_ensure(txn, r->annotator, &ann, NULL);
    if (err != JURY_OK)
        return err;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack(&buf, r->values);
    /* One discard sets a record aside. */
    err = jury_store_response_put(txn, s_rid(txn, r->ds, r->ext), ann, r->status, buf.data,
                                  buf.size, 1000, 1, NULL);
    msgpack_sbuffer_destroy(&buf);
    return err;
}

static void s_respond(fixture_t *f, const char *ext, const char *annotator,
                      jury_response_status status, const char *values)
{
    respond_t r = {f->ds, ext, annotator, status, values};
    assert_int_equal(jury_store_write(f->store, s_respond_fn, &r), JURY_OK);
}

typedef struct {
    uint32_t ds;      /* dataset */
    const char *ext;  /* record */
    unsigned why;     /* queue flags */
    unsigned got;     /* read back */
    const char *name; /* reviewer */
    bool accept;      /* the review */
    const char *values;
    const char *note;
    bool coordinator; /* also what the coordinator does: replace the decision, empty the queue */
} queue_t;

static jury_err s_queue_set_fn(jury_txn_t *txn, void *arg)
{
    queue_t *q = arg;
    return jury_store_review_queue_set(txn, s_rid(txn, q->ds, q->ext), q->why);
}

static void s_queue_set(fixture_t *f, const char *ext, unsigned why)
{
    queue_t q = {.ds = f->ds, .ext = ext, .why = why};
    assert_int_equal(jury_store_write(f->store, s_queue_set_fn, &q), JURY_OK);
}

static unsigned s_flags(fixture_t *f, const char *ext)
{
    jury_txn_t *txn;
    unsigned why = 99;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_review_queue_get(txn, s_rid(txn, f->ds, ext), &why), JURY_OK);
    jury_txn_abort(&txn);
    return why;
}

/* What the coordinator does on review_submit: store the review, replace the decision at once
 * (carrying the stored decision's agreement), take the record out of the queue. */
static jury_err s_review_fn(jury_txn_t *txn, void *arg)
{
    queue_t *q = arg;
    uint64_t rid = s_rid(txn, q->ds, q->ext);
    uint32_t reviewer;
    jury_err err = jury_store_annotator_ensure(txn, q->name, &reviewer, NULL);
    if (err != JURY_OK)
        return err;
    msgpack_sbuffer vbuf, rbuf, dbuf;
    msgpack_sbuffer_init(&vbuf);
    msgpack_sbuffer_init(&rbuf);
    msgpack_sbuffer_init(&dbuf);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object v;
    if (q->values)
        v = s_obj(&vbuf, &zone, q->values);
    err = jury_review_encode(&rbuf, reviewer, T_REVIEW, q->accept, q->values ? &v : NULL, q->note,
                             q->note ? strlen(q->note) : 0);
    if (err == JURY_OK)
        err = jury_store_review_put(txn, rid, rbuf.data, rbuf.size);
    if (err == JURY_OK && q->coordinator) {
        const void *blob;
        size_t len;
        jury_decision_t old;
        jury_review_t r;
        jury_record_state_t st;
        if ((err = jury_store_decision_get(txn, rid, &blob, &len)) == JURY_OK &&
            (err = jury_decision_decode(blob, len, &zone, &old)) == JURY_OK &&
            (err = jury_review_decode(rbuf.data, rbuf.size, &zone, &r)) == JURY_OK &&
            (err = jury_store_record_get(txn, rid, NULL, NULL, &st)) == JURY_OK &&
            (err = jury_review_decision(&dbuf, &r, q->name, st.submitted, &old.agreement)) ==
                JURY_OK &&
            (err = jury_store_decision_put(txn, rid, dbuf.data, dbuf.size)) == JURY_OK)
            err = jury_store_review_queue_set(txn, rid, 0);
    }
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&vbuf);
    msgpack_sbuffer_destroy(&rbuf);
    msgpack_sbuffer_destroy(&dbuf);
    return err;
}

static void s_review(fixture_t *f, const char *ext, const char *name, bool accept,
                     const char *values, const char *note, bool coordinator)
{
    queue_t q = {.ds = f->ds,
                 .ext = ext,
                 .name = name,
                 .accept = accept,
                 .values = values,
                 .note = note,
                 .coordinator = coordinator};
    assert_int_equal(jury_store_write(f->store, s_review_fn, &q), JURY_OK);
}

/* Record ext's stored decision as s_decision_line prints it. */
static const char *s_stored(fixture_t *f, const char *ext, char *out, size_t cap)
{
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    const void *blob;
    size_t len;
    assert_int_equal(jury_store_decision_get(txn, s_rid(txn, f->ds, ext), &blob, &len), JURY_OK);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    jury_decision_t d;
    assert_int_equal(jury_decision_decode(blob, len, &zone, &d), JURY_OK);
    s_decision_line(&d, out, cap);
    msgpack_zone_destroy(&zone);
    jury_txn_abort(&txn);
    return out;
}

/* Runs `jury consolidate qa` with opts (NULL for defaults); returns the summary (caller frees). */
static cJSON *s_consolidate(fixture_t *f, const jury_consolidation_opts_t *opts)
{
    cJSON *sum = NULL;
    char err[512];
    jury_err e = jury_consolidation_run(f->store, "qa", opts, &sum, err, sizeof err);
    if (e != JURY_OK)
        fail_msg("consolidate: %s (%s)", jury_strerror(e), err);
    return sum;
}

/* The summary's counts and rejections on one line. */
static const char *s_counts(const cJSON *sum, char *out, size_t cap)
{
    int n = snprintf(out, cap, "accepted %d, rejected %d, pending %d, reviewed %d;",
                     cJSON_GetObjectItem(sum, "accepted")->valueint,
                     cJSON_GetObjectItem(sum, "rejected")->valueint,
                     cJSON_GetObjectItem(sum, "pending")->valueint,
                     cJSON_GetObjectItem(sum, "reviewed")->valueint);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(sum, "rejections"))
    {
        n += snprintf(out + n, cap - (size_t)n, " %d %s;",
                      cJSON_GetObjectItem(it, "records")->valueint,
                      cJSON_GetObjectItem(it, "reason")->valuestring);
    }
    return out;
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    tu_tmpdir(f->base, sizeof f->base);
    snprintf(f->dir, sizeof f->dir, "%s/store", f->base);
    jury_store_opts_t opts = {.create = true};
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);
    create_t c = {"qa", s_settings, 0};
    assert_int_equal(jury_store_write(f->store, s_create_fn, &c), JURY_OK);
    f->ds = c.id;
    char path[320];
    snprintf(path, sizeof path, "%s/in.jsonl", f->base);
    tu_write_file(path, s_records, strlen(s_records));
    jury_import_opts_t io = {0};
    jury_import_stats_t ist;
    assert_int_equal(jury_import_file(f->store, "qa", path, &io, &ist), JURY_OK);

    const jury_response_status SUB = JURY_RESPONSE_SUBMITTED;
    /* r1, r6: both agree. r2, r3: same reply, other topics. r4: one answer. r5: set aside. */
    s_respond(f, "r1", "alice", SUB, "{\"response\": \"Use the link.\", \"topic\": \"billing\"}");
    s_respond(f, "r1", "bob", SUB, "{\"response\": \"Use the link.\", \"topic\": \"billing\"}");
    s_respond(f, "r2", "alice", SUB,
              "{\"response\": \"Refunds: 5 days.\", \"topic\": \"billing\"}");
    s_respond(f, "r2", "bob", SUB, "{\"response\": \"Refunds: 5 days.\", \"topic\": \"shipping\"}");
    s_respond(f, "r3", "alice", SUB, "{\"response\": \"Sunny.\", \"topic\": \"billing\"}");
    s_respond(f, "r3", "bob", SUB, "{\"response\": \"Sunny.\", \"topic\": \"other\"}");
    s_respond(f, "r4", "alice", SUB, "{\"response\": \"Hi.\", \"topic\": \"other\"}");
    s_respond(f, "r5", "bob", JURY_RESPONSE_DISCARDED, "{}");
    s_respond(f, "r6", "alice", SUB, "{\"response\": \"Here.\", \"topic\": \"shipping\"}");
    s_respond(f, "r6", "bob", SUB, "{\"response\": \"Here.\", \"topic\": \"shipping\"}");
    /* Dynamic overlap marked r2 and r6 contested (the coordinator's flag). */
    s_queue_set(f, "r2", JURY_REVIEW_CONTESTED);
    s_queue_set(f, "r6", JURY_REVIEW_CONTESTED);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    tu_rmrf(f->base);
    free(f);
    return 0;
}

#define R2_REASON "agreement on \"topic\" below min_agreement 1"

static void test_consolidate_queue(void **state)
{
    fixture_t *f = *state;
    char line[2048], counts[1024];
    cJSON *sum = s_consolidate(f, NULL);
    assert_string_equal(s_counts(sum, counts, sizeof counts),
                        "accepted 2, rejected 3, pending 1, reviewed 0; 2 " R2_REASON
                        "; 1 set aside: discarded by annotators before it was completed;");
    cJSON_Delete(sum);
    /* Rejected records wait for a reviewer; contested ones keep their flag. */
    assert_int_equal(s_flags(f, "r1"), 0);
    assert_int_equal(s_flags(f, "r2"), JURY_REVIEW_CONTESTED | JURY_REVIEW_REJECTED);
    assert_int_equal(s_flags(f, "r3"), JURY_REVIEW_REJECTED);
    assert_int_equal(s_flags(f, "r4"), 0);
    assert_int_equal(s_flags(f, "r5"), JURY_REVIEW_REJECTED);
    assert_int_equal(s_flags(f, "r6"), JURY_REVIEW_CONTESTED);
    assert_string_equal(s_stored(f, "r2", line, sizeof line),
                        "rejected|" R2_REASON "|n=2|u={\"response\":\"Refunds: 5 days.\","
                        "\"topic\":\"billing\"}|a={\"response\":1,\"topic\":0}|s={\"response\":1,"
                        "\"topic\":0.5}|-|0|-");

    /* rita accepts r2 with her own values, through the coordinator (queue emptied, decision
     * replaced at once); she rejects r3, and only the review is stored: consolidation must clear
     * the REJECTED flag itself. */
    s_review(f, "r2", "rita", true,
             "{\"topic\": \"billing\", \"response\": \"Refunds take 5 working days.\", "
             "\"extra\": null}",
             NULL, true);
    s_review(f, "r3", "rita", false, NULL, "off-topic", false);
    const char *r2 = "accepted|-|n=2|u={\"topic\":\"billing\",\"response\":\"Refunds take 5 "
                     "working days.\"}|a={\"response\":1,\"topic\":0}|s={}|rita|1700000000000|-";
    assert_string_equal(s_stored(f, "r2", line, sizeof line), r2);
    assert_int_equal(s_flags(f, "r2"), 0);
    assert_int_equal(s_flags(f, "r3"), JURY_REVIEW_REJECTED);

    /* Consolidating again keeps the reviewers' decisions, carrying the agreement it computed. */
    sum = s_consolidate(f, NULL);
    assert_string_equal(s_counts(sum, counts, sizeof counts),
                        "accepted 3, rejected 2, pending 1, reviewed 2; 1 rejected by reviewer "
                        "rita; 1 set aside: discarded by annotators before it was completed;");
    /* Reliabilities come from responses alone: alice and bob agreed on the topic of 2 of the 4
     * completed records (r1, r6), as before the reviews. */
    char *ann = cJSON_PrintUnformatted(cJSON_GetObjectItem(sum, "annotators"));
    assert_string_equal(ann, "{\"alice\":{\"response\":1,\"topic\":0.5},\"bob\":{\"response\":1,"
                             "\"topic\":0.5}}");
    free(ann);
    cJSON_Delete(sum);
    assert_string_equal(s_stored(f, "r2", line, sizeof line), r2);
    assert_string_equal(s_stored(f, "r3", line, sizeof line),
                        "rejected|rejected by reviewer rita: off-topic|n=2|u={}|"
                        "a={\"response\":1,\"topic\":0}|s={}|rita|1700000000000|off-topic");
    assert_string_equal(s_stored(f, "r1", line, sizeof line),
                        "accepted|-|n=2|u={\"response\":\"Use the link.\",\"topic\":\"billing\"}|"
                        "a={\"response\":1,\"topic\":1}|s={\"response\":1,\"topic\":1}|-|0|-");
    assert_int_equal(s_flags(f, "r2"), 0);
    assert_int_equal(s_flags(f, "r3"), 0);
    assert_int_equal(s_flags(f, "r5"), JURY_REVIEW_REJECTED);
    assert_int_equal(s_flags(f, "r6"), JURY_REVIEW_CONTESTED);

    /* A third run changes nothing. */
    sum = s_consolidate(f, NULL);
    assert_string_equal(s_counts(sum, counts, sizeof counts),
                        "accepted 3, rejected 2, pending 1, reviewed 2; 1 rejected by reviewer "
                        "rita; 1 set aside: discarded by annotators before it was completed;");
    cJSON_Delete(sum);
    assert_string_equal(s_stored(f, "r2", line, sizeof line), r2);
    assert_int_equal(s_flags(f, "r3"), 0);

    /* A record set aside that a reviewer accepts leaves the queue and is accepted. */
    s_review(f, "r5", "rita", true, "{\"response\": \"No.\", \"topic\": \"other\"}", "kept", false);
    sum = s_consolidate(f, NULL);
    assert_string_equal(s_counts(sum, counts, sizeof counts),
                        "accepted 4, rejected 1, pending 1, reviewed 3; 1 rejected by reviewer "
                        "rita;");
    cJSON_Delete(sum);
    assert_int_equal(s_flags(f, "r5"), 0);
    assert_string_equal(s_stored(f, "r5", line, sizeof line),
                        "accepted|-|n=0|u={\"response\":\"No.\",\"topic\":\"other\"}|a={}|s={}|"
                        "rita|1700000000000|kept");
}

/* A review stored while consolidation reads its snapshot (from its progress callback) is kept. */
typedef struct {
    fixture_t *f; /* the store */
    int calls;    /* reviews stored */
} during_t;

static void s_review_during(int pass, uint64_t done, uint64_t total, void *arg)
{
    during_t *d = arg;
    if (pass == 1 && done == total && d->calls++ == 0)
        s_review(d->f, "r3", "rita", true, "{\"response\": \"Sunny.\", \"topic\": \"other\"}", NULL,
                 true);
}

static void test_review_during_run(void **state)
{
    fixture_t *f = *state;
    char line[2048], counts[1024];
    /* r3 has no decision yet: the coordinator's review finds none to carry, so store one. */
    cJSON *sum = s_consolidate(f, NULL);
    cJSON_Delete(sum);
    during_t d = {f, 0};
    jury_consolidation_opts_t opts = {.progress = s_review_during, .progress_arg = &d};
    sum = s_consolidate(f, &opts);
    assert_int_equal(d.calls, 1);
    assert_string_equal(s_counts(sum, counts, sizeof counts),
                        "accepted 3, rejected 2, pending 1, reviewed 1; 1 " R2_REASON
                        "; 1 set aside: discarded by annotators before it was completed;");
    cJSON_Delete(sum);
    assert_string_equal(s_stored(f, "r3", line, sizeof line),
                        "accepted|-|n=2|u={\"response\":\"Sunny.\",\"topic\":\"other\"}|"
                        "a={\"response\":1,\"topic\":0}|s={}|rita|1700000000000|-");
    assert_int_equal(s_flags(f, "r3"), 0);
}

/* Exports qa in format fmt (with_meta as given) and returns the text (caller frees). */
static char *s_export(fixture_t *f, jury_export_format fmt, bool with_meta)
{
    char *out = NULL, err[512];
    size_t len;
    FILE *fp = open_memstream(&out, &len);
    assert_non_null(fp);
    jury_export_opts_t o = {.format = fmt, .with_meta = with_meta};
    jury_export_stats_t st;
    jury_err e = jury_export_run(f->store, "qa", &o, &fp, 1, &st, err, sizeof err);
    assert_int_equal(fclose(fp), 0);
    if (e != JURY_OK)
        fail_msg("export: %s (%s)", jury_strerror(e), err);
    return out;
}

/* Line i (0-based) of text into buf, without its newline. */
static const char *s_line(const char *text, int i, char *buf, size_t cap)
{
    const char *p = text;
    while (i-- > 0 && p) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    assert_non_null(p);
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    size_t n = (size_t)(nl - p);
    assert_true(n < cap);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static void test_export(void **state)
{
    fixture_t *f = *state;
    char line[4096];
    cJSON_Delete(s_consolidate(f, NULL));
    s_review(f, "r2", "rita", true,
             "{\"response\": \"Refunds take 5 working days.\", \"topic\": \"billing\"}",
             "clearer \"reply\"", true);
    s_review(f, "r3", "ana", false, NULL, "off-topic", true);
    cJSON_Delete(s_consolidate(f, NULL));

    /* sft takes the reviewer's reply; r3 rejected by ana is out. */
    char *out = s_export(f, JURY_EXPORT_SFT, false);
    assert_string_equal(out, "{\"prompt\": \"Reset\", \"completion\": \"Use the link.\"}\n"
                             "{\"prompt\": \"Refund?\", \"completion\": \"Refunds take 5 working "
                             "days.\"}\n"
                             "{\"prompt\": \"Where?\", \"completion\": \"Here.\"}\n");
    free(out);
    out = s_export(f, JURY_EXPORT_SFT, true);
    assert_string_equal(s_line(out, 0, line, sizeof line),
                        "{\"prompt\": \"Reset\", \"completion\": \"Use the link.\", \"meta\": "
                        "{\"id\": \"r1\", \"annotators\": [\"alice\", \"bob\"], \"agreement\": "
                        "{\"response\": 1, \"topic\": 1}, \"method\": {\"response\": \"medoid\", "
                        "\"topic\": \"majority\"}, \"reviewed_by\": null}}");
    assert_string_equal(s_line(out, 1, line, sizeof line),
                        "{\"prompt\": \"Refund?\", \"completion\": \"Refunds take 5 working "
                        "days.\", \"meta\": {\"id\": \"r2\", \"annotators\": [\"alice\", \"bob\"], "
                        "\"agreement\": {\"response\": 1, \"topic\": 0}, \"method\": "
                        "{\"response\": \"medoid\", \"topic\": \"majority\"}, \"reviewed_by\": "
                        "\"rita\"}}");
    free(out);

    /* records: every line has the three review keys. */
    out = s_export(f, JURY_EXPORT_RECORDS, false);
    assert_string_equal(
        s_line(out, 0, line, sizeof line),
        "{\"id\": \"r1\", \"fields\": {\"instruction\": \"Reset\"}, \"metadata\": {}, "
        "\"suggestions\": {}, \"responses\": {\"response\": [{\"value\": \"Use the link.\", "
        "\"user_id\": \"alice\"}, {\"value\": \"Use the link.\", \"user_id\": \"bob\"}], "
        "\"topic\": [{\"value\": \"billing\", \"user_id\": \"alice\"}, {\"value\": \"billing\", "
        "\"user_id\": \"bob\"}]}, \"status\": \"completed\", \"unified\": {\"response\": \"Use the "
        "link.\", \"topic\": \"billing\"}, \"decision\": \"accepted\", \"reason\": null, "
        "\"reviewed_by\": null, \"reviewed_ms\": null, \"review_note\": null}");
    assert_string_equal(
        s_line(out, 1, line, sizeof line),
        "{\"id\": \"r2\", \"fields\": {\"instruction\": \"Refund?\"}, \"metadata\": {}, "
        "\"suggestions\": {}, \"responses\": {\"response\": [{\"value\": \"Refunds: 5 days.\", "
        "\"user_id\": \"alice\"}, {\"value\": \"Refunds: 5 days.\", \"user_id\": \"bob\"}], "
        "\"topic\": [{\"value\": \"billing\", \"user_id\": \"alice\"}, {\"value\": \"shipping\", "
        "\"user_id\": \"bob\"}]}, \"status\": \"completed\", \"unified\": {\"response\": "
        "\"Refunds take 5 working days.\", \"topic\": \"billing\"}, \"decision\": \"accepted\", "
        "\"reason\": null, \"reviewed_by\": \"rita\", \"reviewed_ms\": 1700000000000, "
        "\"review_note\": \"clearer \\\"reply\\\"\"}");
    assert_string_equal(
        s_line(out, 2, line, sizeof line),
        "{\"id\": \"r3\", \"fields\": {\"instruction\": \"Weather?\"}, \"metadata\": {}, "
        "\"suggestions\": {}, \"responses\": {\"response\": [{\"value\": \"Sunny.\", "
        "\"user_id\": \"alice\"}, {\"value\": \"Sunny.\", \"user_id\": \"bob\"}], "
        "\"topic\": [{\"value\": \"billing\", \"user_id\": \"alice\"}, {\"value\": \"other\", "
        "\"user_id\": \"bob\"}]}, \"status\": \"completed\", \"unified\": {}, \"decision\": "
        "\"rejected\", \"reason\": \"rejected by reviewer ana: off-topic\", \"reviewed_by\": "
        "\"ana\", \"reviewed_ms\": 1700000000000, \"review_note\": \"off-topic\"}");
    assert_string_equal(
        s_line(out, 4, line, sizeof line),
        "{\"id\": \"r5\", \"fields\": {\"instruction\": \"Spam\"}, \"metadata\": {}, "
        "\"suggestions\": {}, \"responses\": {}, \"status\": \"discarded\", \"unified\": {}, "
        "\"decision\": \"rejected\", \"reason\": \"set aside: discarded by annotators before it "
        "was completed\", \"reviewed_by\": null, \"reviewed_ms\": null, \"review_note\": null}");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_golden),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_decode_corrupt),
        cmocka_unit_test(test_same),
        cmocka_unit_test(test_decision),
        cmocka_unit_test(test_decision_unreviewed),
        cmocka_unit_test_setup_teardown(test_consolidate_queue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_review_during_run, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_export, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
