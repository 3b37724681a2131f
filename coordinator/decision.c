/* decision.c: encoding and decoding the stored consolidation decision of a record. */
#include "decision.h"

#include <string.h>

static const char *const s_names[] = {"pending", "accepted", "rejected"};

const char *jury_decision_name(jury_decision_kind d)
{
    return (unsigned)d < sizeof s_names / sizeof s_names[0] ? s_names[d] : NULL;
}

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

/* Whether o is a map with string keys, or nil (none); counts its entries with a non-nil value. */
static bool s_map_ok(const msgpack_object *o, size_t *nonnil)
{
    *nonnil = 0;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return true;
    if (o->type != MSGPACK_OBJECT_MAP)
        return false;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
            return false;
        *nonnil += o->via.map.ptr[i].val.type != MSGPACK_OBJECT_NIL;
    }
    return true;
}

/* Packs the entries of map o (nil or a map) whose value is not nil. */
static int s_pack_nonnil(msgpack_packer *pk, const msgpack_object *o, size_t n)
{
    int rc = msgpack_pack_map(pk, n);
    for (uint32_t i = 0; !rc && o && o->type == MSGPACK_OBJECT_MAP && i < o->via.map.size; i++) {
        if (o->via.map.ptr[i].val.type == MSGPACK_OBJECT_NIL)
            continue;
        rc = msgpack_pack_object(pk, o->via.map.ptr[i].key);
        rc = rc ? rc : msgpack_pack_object(pk, o->via.map.ptr[i].val);
    }
    return rc;
}

static int s_str(msgpack_packer *pk, const char *s, size_t n)
{
    int rc = msgpack_pack_str(pk, n);
    return rc ? rc : msgpack_pack_str_body(pk, s, n);
}

jury_err jury_decision_encode_maps(msgpack_sbuffer *buf, jury_decision_kind kind,
                                   const char *reason, size_t reason_len, uint32_t submitted,
                                   const msgpack_object *unified, const msgpack_object *agreement,
                                   const jury_decision_reviewer_t *reviewer)
{
    size_t nu, na;
    if (!buf || !jury_decision_name(kind) || !s_map_ok(unified, &nu) || !s_map_ok(agreement, &na) ||
        (reviewer && !reviewer->by && reviewer->by_len) || (reason && reason_len > UINT32_MAX))
        return JURY_EINVAL;
    bool note = reviewer && reviewer->note && reviewer->note_len > 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 6 + (reviewer ? 2 : 0) + (note ? 1 : 0));
    rc = rc ? rc : s_key(&pk, "d");
    rc = rc ? rc : msgpack_pack_uint32(&pk, (uint32_t)kind);
    rc = rc ? rc : s_key(&pk, "r");
    if (reason)
        rc = rc ? rc : s_str(&pk, reason, reason_len);
    else
        rc = rc ? rc : msgpack_pack_nil(&pk);
    rc = rc ? rc : s_key(&pk, "n");
    rc = rc ? rc : msgpack_pack_uint32(&pk, submitted);
    rc = rc ? rc : s_key(&pk, "u");
    rc = rc ? rc : s_pack_nonnil(&pk, unified, nu);
    /* Agreements are kept as they are: a nil one is absent. */
    rc = rc ? rc : s_key(&pk, "a");
    rc = rc ? rc : s_pack_nonnil(&pk, agreement, na);
    rc = rc ? rc : s_key(&pk, "s");
    rc = rc ? rc : msgpack_pack_map(&pk, 0);
    if (reviewer) {
        rc = rc ? rc : s_key(&pk, "rb");
        rc = rc ? rc : s_str(&pk, reviewer->by ? reviewer->by : "", reviewer->by_len);
        rc = rc ? rc : s_key(&pk, "rt");
        rc = rc ? rc : msgpack_pack_int64(&pk, reviewer->ms);
        if (note) {
            rc = rc ? rc : s_key(&pk, "rn");
            rc = rc ? rc : s_str(&pk, reviewer->note, reviewer->note_len);
        }
    }
    return rc ? JURY_ENOMEM : JURY_OK;
}

jury_err jury_decision_encode(msgpack_sbuffer *buf, jury_decision_kind kind, const char *reason,
                              size_t reason_len, uint32_t submitted,
                              const jury_decision_item_t *items, size_t n)
{
    if (!buf || (n && !items) || !jury_decision_name(kind) || n > UINT32_MAX)
        return JURY_EINVAL;
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    size_t nu = 0, na = 0, ns = 0;
    for (size_t i = 0; i < n; i++) {
        nu += items[i].value != NULL;
        na += items[i].has_agreement;
        ns += items[i].has_support;
    }
    int rc = msgpack_pack_map(&pk, 6);
    rc = rc ? rc : s_key(&pk, "d");
    rc = rc ? rc : msgpack_pack_uint32(&pk, (uint32_t)kind);
    rc = rc ? rc : s_key(&pk, "r");
    if (reason) {
        rc = rc ? rc : msgpack_pack_str(&pk, reason_len);
        rc = rc ? rc : msgpack_pack_str_body(&pk, reason, reason_len);
    } else {
        rc = rc ? rc : msgpack_pack_nil(&pk);
    }
    rc = rc ? rc : s_key(&pk, "n");
    rc = rc ? rc : msgpack_pack_uint32(&pk, submitted);
    rc = rc ? rc : s_key(&pk, "u");
    rc = rc ? rc : msgpack_pack_map(&pk, nu);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!items[i].value)
            continue;
        rc = s_key(&pk, items[i].question);
        /* The value is already msgpack: its bytes go in as they are. */
        rc = rc ? rc : msgpack_sbuffer_write(buf, items[i].value, items[i].value_len);
    }
    rc = rc ? rc : s_key(&pk, "a");
    rc = rc ? rc : msgpack_pack_map(&pk, na);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!items[i].has_agreement)
            continue;
        rc = s_key(&pk, items[i].question);
        rc = rc ? rc : msgpack_pack_double(&pk, items[i].agreement);
    }
    rc = rc ? rc : s_key(&pk, "s");
    rc = rc ? rc : msgpack_pack_map(&pk, ns);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!items[i].has_support)
            continue;
        rc = s_key(&pk, items[i].question);
        rc = rc ? rc : msgpack_pack_double(&pk, items[i].support);
    }
    return rc ? JURY_ENOMEM : JURY_OK;
}

jury_err jury_decision_decode(const void *blob, size_t len, msgpack_zone *zone,
                              jury_decision_t *out)
{
    msgpack_object o;
    if (!blob || !zone || !out ||
        msgpack_unpack(blob, len, NULL, zone, &o) != MSGPACK_UNPACK_SUCCESS ||
        o.type != MSGPACK_OBJECT_MAP)
        return JURY_ECORRUPT;
    jury_decision_t d = {0};
    d.unified.type = d.agreement.type = d.support.type = MSGPACK_OBJECT_NIL;
    bool kind = false, rt = false;
    for (uint32_t i = 0; i < o.via.map.size; i++) {
        const msgpack_object *k = &o.via.map.ptr[i].key, *v = &o.via.map.ptr[i].val;
        if (s_is(k, "d") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            jury_decision_name((jury_decision_kind)v->via.u64)) {
            d.kind = (jury_decision_kind)v->via.u64;
            kind = true;
        } else if (s_is(k, "r") && v->type == MSGPACK_OBJECT_STR) {
            d.reason = v->via.str.ptr;
            d.reason_len = v->via.str.size;
        } else if (s_is(k, "n") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                   v->via.u64 <= UINT32_MAX) {
            d.submitted = (uint32_t)v->via.u64;
        } else if (s_is(k, "u") && v->type == MSGPACK_OBJECT_MAP) {
            d.unified = *v;
        } else if (s_is(k, "a") && v->type == MSGPACK_OBJECT_MAP) {
            d.agreement = *v;
        } else if (s_is(k, "s") && v->type == MSGPACK_OBJECT_MAP) {
            d.support = *v;
        } else if (s_is(k, "rb") && v->type == MSGPACK_OBJECT_STR) {
            d.reviewed_by = v->via.str.size ? v->via.str.ptr : "";
            d.reviewed_by_len = v->via.str.size;
        } else if (s_is(k, "rt") && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            d.reviewed_ms = v->via.i64;
            rt = true;
        } else if (s_is(k, "rt") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                   v->via.u64 <= INT64_MAX) {
            d.reviewed_ms = (int64_t)v->via.u64;
            rt = true;
        } else if (s_is(k, "rn") && v->type == MSGPACK_OBJECT_STR && v->via.str.size > 0) {
            d.review_note = v->via.str.ptr;
            d.review_note_len = v->via.str.size;
        }
    }
    if (!kind)
        return JURY_ECORRUPT;
    /* Provenance comes whole or not at all: a name needs its time, a note its name. */
    if (!d.reviewed_by || !rt) {
        d.reviewed_by = d.review_note = NULL;
        d.reviewed_by_len = d.review_note_len = 0;
        d.reviewed_ms = 0;
    }
    *out = d;
    return JURY_OK;
}

static const msgpack_object *s_find(const msgpack_object *map, const char *question)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_is(&map->via.map.ptr[i].key, question))
            return &map->via.map.ptr[i].val;
    return NULL;
}

const msgpack_object *jury_decision_unified(const jury_decision_t *d, const char *question)
{
    return d && question ? s_find(&d->unified, question) : NULL;
}

static bool s_number(const msgpack_object *v, double *out)
{
    if (!v)
        return false;
    switch (v->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = v->via.f64;
        return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)v->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)v->via.i64;
        return true;
    default:
        return false;
    }
}

bool jury_decision_agreement(const jury_decision_t *d, const char *question, double *out)
{
    return d && question && out && s_number(s_find(&d->agreement, question), out);
}

bool jury_decision_support(const jury_decision_t *d, const char *question, double *out)
{
    return d && question && out && s_number(s_find(&d->support, question), out);
}
