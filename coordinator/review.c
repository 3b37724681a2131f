/* review.c: the stored form of a reviewer's decision on a record, and the consolidation decision it
 * makes. */
#include "review.h"

#include <stdlib.h>
#include <string.h>

#include "decision.h"

static int s_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    int rc = msgpack_pack_str(pk, n);
    return rc ? rc : msgpack_pack_str_body(pk, k, n);
}

static bool s_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

jury_err jury_review_encode(msgpack_sbuffer *buf, uint32_t reviewer, int64_t decided_ms,
                            bool accept, const msgpack_object *values, const char *note,
                            size_t note_len)
{
    if (!buf ||
        (values && values->type != MSGPACK_OBJECT_MAP && values->type != MSGPACK_OBJECT_NIL) ||
        (!note && note_len) || note_len > UINT32_MAX)
        return JURY_EINVAL;
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 5);
    rc = rc ? rc : s_key(&pk, "by");
    rc = rc ? rc : msgpack_pack_uint32(&pk, reviewer);
    rc = rc ? rc : s_key(&pk, "t");
    rc = rc ? rc : msgpack_pack_int64(&pk, decided_ms);
    rc = rc ? rc : s_key(&pk, "ok");
    rc = rc ? rc : (accept ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
    rc = rc ? rc : s_key(&pk, "v");
    /* The values go in as the reviewer sent them, nil entries too. */
    if (values && values->type == MSGPACK_OBJECT_MAP)
        rc = rc ? rc : msgpack_pack_object(&pk, *values);
    else
        rc = rc ? rc : msgpack_pack_nil(&pk);
    rc = rc ? rc : s_key(&pk, "note");
    if (note && note_len) {
        rc = rc ? rc : msgpack_pack_str(&pk, note_len);
        rc = rc ? rc : msgpack_pack_str_body(&pk, note, note_len);
    } else {
        rc = rc ? rc : msgpack_pack_nil(&pk);
    }
    return rc ? JURY_ENOMEM : JURY_OK;
}

jury_err jury_review_decode(const void *blob, size_t len, msgpack_zone *zone, jury_review_t *out)
{
    msgpack_object o;
    if (!blob || !zone || !out ||
        msgpack_unpack(blob, len, NULL, zone, &o) != MSGPACK_UNPACK_SUCCESS ||
        o.type != MSGPACK_OBJECT_MAP)
        return JURY_ECORRUPT;
    jury_review_t r = {0};
    r.values.type = MSGPACK_OBJECT_NIL;
    bool by = false, t = false, ok = false;
    for (uint32_t i = 0; i < o.via.map.size; i++) {
        const msgpack_object *k = &o.via.map.ptr[i].key, *v = &o.via.map.ptr[i].val;
        if (s_is(k, "by")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > UINT32_MAX)
                return JURY_ECORRUPT;
            r.reviewer = (uint32_t)v->via.u64;
            by = true;
        } else if (s_is(k, "t")) {
            if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                r.decided_ms = v->via.i64;
            else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
                r.decided_ms = (int64_t)v->via.u64;
            else
                return JURY_ECORRUPT;
            t = true;
        } else if (s_is(k, "ok")) {
            if (v->type != MSGPACK_OBJECT_BOOLEAN)
                return JURY_ECORRUPT;
            r.accept = v->via.boolean;
            ok = true;
        } else if (s_is(k, "v")) {
            if (v->type != MSGPACK_OBJECT_MAP && v->type != MSGPACK_OBJECT_NIL)
                return JURY_ECORRUPT;
            r.values = *v;
        } else if (s_is(k, "note")) {
            if (v->type == MSGPACK_OBJECT_STR && v->via.str.size > 0) {
                r.note = v->via.str.ptr;
                r.note_len = v->via.str.size;
            } else if (v->type != MSGPACK_OBJECT_STR && v->type != MSGPACK_OBJECT_NIL) {
                return JURY_ECORRUPT;
            }
        }
    }
    if (!by || !t || !ok)
        return JURY_ECORRUPT;
    *out = r;
    return JURY_OK;
}

/* ---- equality ------------------------------------------------------------------------------ */

static bool s_equal(const msgpack_object *a, const msgpack_object *b);

/* The value at string key k in map m whose value is not nil (when skip_nil), or NULL. */
static const msgpack_object *s_find(const msgpack_object *m, const msgpack_object *k, bool skip_nil)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (skip_nil && kv->val.type == MSGPACK_OBJECT_NIL)
            continue;
        if (s_equal(&kv->key, k))
            return &kv->val;
    }
    return NULL;
}

/* Whether every entry of map a (its non-nil ones, when skip_nil) is in map b with an equal value.
 */
static bool s_within(const msgpack_object *a, const msgpack_object *b, bool skip_nil)
{
    for (uint32_t i = 0; i < a->via.map.size; i++) {
        const msgpack_object_kv *kv = &a->via.map.ptr[i];
        if (skip_nil && kv->val.type == MSGPACK_OBJECT_NIL)
            continue;
        const msgpack_object *v = s_find(b, &kv->key, skip_nil);
        if (!v || !s_equal(&kv->val, v))
            return false;
    }
    return true;
}

static bool s_is_float(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

/* Deep equality where maps compare as sets of entries (keys in any order). */
static bool s_equal(const msgpack_object *a, const msgpack_object *b)
{
    if (s_is_float(a) && s_is_float(b))
        return a->via.f64 == b->via.f64;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return true;
    case MSGPACK_OBJECT_BOOLEAN:
        return a->via.boolean == b->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return a->via.u64 == b->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return a->via.i64 == b->via.i64;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        return a->via.str.size == b->via.str.size &&
               (a->via.str.size == 0 ||
                memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0);
    case MSGPACK_OBJECT_ARRAY:
        if (a->via.array.size != b->via.array.size)
            return false;
        for (uint32_t i = 0; i < a->via.array.size; i++)
            if (!s_equal(&a->via.array.ptr[i], &b->via.array.ptr[i]))
                return false;
        return true;
    case MSGPACK_OBJECT_MAP:
        return a->via.map.size == b->via.map.size && s_within(a, b, false) && s_within(b, a, false);
    default:
        return msgpack_object_equal(*a, *b);
    }
}

/* No values: a map without entries. */
static const msgpack_object s_none = {.type = MSGPACK_OBJECT_MAP};

bool jury_review_same(const jury_review_t *r, uint32_t reviewer, bool accept,
                      const msgpack_object *values, const char *note, size_t note_len)
{
    if (!r || r->reviewer != reviewer || r->accept != accept)
        return false;
    size_t rn = r->note ? r->note_len : 0, n = note ? note_len : 0;
    if (rn != n || (n && memcmp(r->note, note, n) != 0))
        return false;
    const msgpack_object *a = r->values.type == MSGPACK_OBJECT_MAP ? &r->values : &s_none;
    const msgpack_object *b = values && values->type == MSGPACK_OBJECT_MAP ? values : &s_none;
    return s_within(a, b, true) && s_within(b, a, true);
}

/* ---- the decision -------------------------------------------------------------------------- */

/* Prefix of the reason of a rejection by a reviewer. */
#define S_REJECTED_BY "rejected by reviewer "

jury_err jury_review_decision(msgpack_sbuffer *buf, const jury_review_t *r,
                              const char *reviewer_name, uint32_t submitted,
                              const msgpack_object *agreement)
{
    if (!buf || !r || !reviewer_name)
        return JURY_EINVAL;
    size_t name_len = strlen(reviewer_name);
    const char *note = r->note && r->note_len ? r->note : NULL;
    size_t note_len = note ? r->note_len : 0;
    jury_decision_reviewer_t by = {reviewer_name, name_len, r->decided_ms, note, note_len};
    if (r->accept)
        return jury_decision_encode_maps(buf, JURY_DECISION_ACCEPTED, NULL, 0, submitted,
                                         &r->values, agreement, &by);
    size_t pre = sizeof S_REJECTED_BY - 1;
    if (name_len > SIZE_MAX / 2 || note_len > SIZE_MAX / 2 - pre - name_len - 2)
        return JURY_EINVAL;
    size_t len = pre + name_len + (note ? 2 + note_len : 0);
    char *reason = malloc(len + 1);
    if (!reason)
        return JURY_ENOMEM;
    memcpy(reason, S_REJECTED_BY, pre);
    memcpy(reason + pre, reviewer_name, name_len);
    if (note) {
        memcpy(reason + pre + name_len, ": ", 2);
        memcpy(reason + pre + name_len + 2, note, note_len);
    }
    jury_err err = jury_decision_encode_maps(buf, JURY_DECISION_REJECTED, reason, len, submitted,
                                             NULL, agreement, &by);
    free(reason);
    return err;
}
