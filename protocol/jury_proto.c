/* jury_proto.c: the wire codec: a bounded pre-scan of raw msgpack, strict decoding, encoders. */
#include "jury_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jury_utf8.h"

static const char *const s_cmd_names[JURY_CMD_COUNT] = {
    [JURY_CMD_HELLO] = "hello",
    [JURY_CMD_FETCH] = "fetch",
    [JURY_CMD_SUBMIT] = "submit",
    [JURY_CMD_RELEASE] = "release",
    [JURY_CMD_HEARTBEAT] = "heartbeat",
    [JURY_CMD_BYE] = "bye",
    [JURY_CMD_WELCOME] = "welcome",
    [JURY_CMD_BATCH] = "batch",
    [JURY_CMD_RESULTS] = "results",
    [JURY_CMD_ERROR] = "error",
    [JURY_CMD_GOODBYE] = "goodbye",
    [JURY_CMD_REVIEW_FETCH] = "review_fetch",
    [JURY_CMD_REVIEW_BATCH] = "review_batch",
    [JURY_CMD_REVIEW_SUBMIT] = "review_submit",
};

static const char *const s_status_names[] = {
    [JURY_PROTO_SUBMITTED] = "submitted",
    [JURY_PROTO_DISCARDED] = "discarded",
    [JURY_PROTO_DRAFT] = "draft",
};

const char *jury_proto_cmd_name(jury_cmd cmd)
{
    if ((unsigned)cmd >= JURY_CMD_COUNT)
        return NULL;
    return s_cmd_names[cmd];
}

/* Writes a formatted reason into why when the caller gave room for one. */
__attribute__((format(printf, 3, 4))) static void s_why(char *why, size_t whylen, const char *fmt,
                                                        ...)
{
    if (!why || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------------
 * The pre-scan. msgpack_unpack allocates count * sizeof(msgpack_object) as soon as it reads a
 * container header, so every count is checked against the bytes that could hold it first.
 */

/* One open container while scanning: elements still to come (maps count keys and values). */
typedef struct {
    uint64_t left; /* elements not yet seen */
    bool map;      /* a map: even `left` means a key comes next */
} s_open_t;

/* Reads an n-byte big-endian unsigned integer (n <= 8) at p. */
static uint64_t s_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The kind of object a msgpack lead byte starts, for reasons. */
static const char *s_lead_kind(unsigned char b)
{
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
        return "an integer";
    if (b <= 0x8f || b == 0xde || b == 0xdf)
        return "a map";
    if (b <= 0x9f || b == 0xdc || b == 0xdd)
        return "an array";
    if (b == 0xc0)
        return "nil";
    if (b == 0xc2 || b == 0xc3)
        return "a boolean";
    if (b == 0xca || b == 0xcb)
        return "a float";
    return "a string"; /* 0xa0..0xbf and 0xd9..0xdb: the only lead bytes left that reach here */
}

jury_err jury_proto_check(const void *frame, size_t len, char *why, size_t whylen)
{
    const unsigned char *p = frame;
    s_open_t open[JURY_PROTO_DEPTH_MAX];
    size_t depth = 0, pos = 0, objects = 0;

    if (len > JURY_PROTO_FRAME_MAX) {
        s_why(why, whylen, "frame of %zu bytes; the limit is %zu", len, JURY_PROTO_FRAME_MAX);
        return JURY_ETOOBIG;
    }
    if (len == 0 || !p) {
        s_why(why, whylen, "empty frame");
        return JURY_EPROTO;
    }
    do {
        if (pos >= len) {
            s_why(why, whylen, "byte %zu: frame ends where an object should start", pos);
            return JURY_EPROTO;
        }
        bool is_key = false;
        if (depth > 0) {
            is_key = open[depth - 1].map && open[depth - 1].left % 2 == 0;
            open[depth - 1].left--;
        }
        if (++objects > JURY_PROTO_OBJECTS_MAX) {
            s_why(why, whylen, "byte %zu: more than %d objects in one frame", pos,
                  JURY_PROTO_OBJECTS_MAX);
            return JURY_ETOOBIG;
        }
        size_t at = pos;
        unsigned char b = p[pos++];
        size_t rest = len - pos;
        /* Classify the lead byte: a fixed-size scalar (skip), a string, or a container. */
        size_t skip = 0, hdr = 0;
        uint64_t count = 0;
        enum { K_SCALAR, K_STR, K_ARRAY, K_MAP } kind = K_SCALAR;

        if (b >= 0xc4 && b <= 0xc6) {
            s_why(why, whylen,
                  "byte %zu: bin objects are not used by this protocol (send a string)", at);
            return JURY_EPROTO;
        }
        if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) {
            s_why(why, whylen, "byte %zu: ext objects are not used by this protocol", at);
            return JURY_EPROTO;
        }
        if (b == 0xc1) {
            s_why(why, whylen, "byte %zu: 0xc1 is not a msgpack type", at);
            return JURY_EPROTO;
        }
        if (is_key && !((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))) {
            s_why(why, whylen, "byte %zu: map key is %s, not a string", at, s_lead_kind(b));
            return JURY_EPROTO;
        }
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            skip = 0;
        } else if (b <= 0x8f) {
            kind = K_MAP, count = b & 0x0f;
        } else if (b <= 0x9f) {
            kind = K_ARRAY, count = b & 0x0f;
        } else if (b <= 0xbf) {
            kind = K_STR, count = b & 0x1f;
        } else if (b == 0xca) {
            skip = 4;
        } else if (b == 0xcb) {
            skip = 8;
        } else if (b >= 0xcc && b <= 0xcf) {
            skip = (size_t)1 << (b - 0xcc);
        } else if (b >= 0xd0 && b <= 0xd3) {
            skip = (size_t)1 << (b - 0xd0);
        } else if (b >= 0xd9 && b <= 0xdb) {
            kind = K_STR, hdr = (size_t)1 << (b - 0xd9);
        } else if (b == 0xdc || b == 0xdd) {
            kind = K_ARRAY, hdr = b == 0xdc ? 2 : 4;
        } else {
            kind = K_MAP, hdr = b == 0xde ? 2 : 4;
        }

        if (kind == K_SCALAR) {
            if (rest < skip) {
                s_why(why, whylen, "byte %zu: frame ends inside %s", at, s_lead_kind(b));
                return JURY_EPROTO;
            }
            pos += skip;
        } else {
            if (rest < hdr) {
                s_why(why, whylen, "byte %zu: frame ends inside the header of %s", at,
                      s_lead_kind(b));
                return JURY_EPROTO;
            }
            if (hdr) {
                count = s_be(p + pos, hdr);
                pos += hdr, rest -= hdr;
            }
        }

        if (kind == K_STR) {
            if (count > JURY_PROTO_STR_MAX) {
                s_why(why, whylen, "byte %zu: string of %llu bytes; the limit is %zu", at,
                      (unsigned long long)count, JURY_PROTO_STR_MAX);
                return JURY_ETOOBIG;
            }
            if (count > rest) {
                s_why(why, whylen, "byte %zu: string of %llu bytes in %zu remaining bytes", at,
                      (unsigned long long)count, rest);
                return JURY_EPROTO;
            }
            size_t bad = 0;
            if (!jury_utf8_valid(p + pos, (size_t)count, &bad)) {
                s_why(why, whylen, "byte %zu: string is not valid UTF-8", pos + bad);
                return JURY_EPROTO;
            }
            pos += (size_t)count;
        } else if (kind == K_ARRAY || kind == K_MAP) {
            /* Every element takes at least one byte, so a count the rest cannot hold is a lie. */
            uint64_t elements = kind == K_MAP ? count * 2 : count;
            if (elements > rest) {
                if (kind == K_MAP)
                    s_why(why, whylen, "byte %zu: map of %llu entries in %zu remaining bytes", at,
                          (unsigned long long)count, rest);
                else
                    s_why(why, whylen, "byte %zu: array of %llu elements in %zu remaining bytes",
                          at, (unsigned long long)count, rest);
                return JURY_EPROTO;
            }
            if (depth + 1 > JURY_PROTO_DEPTH_MAX) {
                s_why(why, whylen, "byte %zu: maps and arrays nested more than %d deep", at,
                      JURY_PROTO_DEPTH_MAX);
                return JURY_EPROTO;
            }
            if (elements > 0) {
                open[depth].left = elements;
                open[depth].map = kind == K_MAP;
                depth++;
            }
        }
        while (depth > 0 && open[depth - 1].left == 0)
            depth--;
    } while (depth > 0);

    if (pos != len) {
        s_why(why, whylen, "byte %zu: %zu trailing byte%s after the message", pos, len - pos,
              len - pos == 1 ? "" : "s");
        return JURY_EPROTO;
    }
    return JURY_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Message validation over the unpacked object tree. Every reason names the command and field.
 */

/* What validation needs at hand: the command's name for reasons and the caller's buffer. */
typedef struct {
    const char *cmd; /* wire name of the command, the prefix of every reason */
    char *why;       /* the caller's reason buffer */
    size_t whylen;   /* its size */
} s_ctx_t;

/* The name of an object's type for reasons ("a string", "an array", ...). */
static const char *s_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "a float";
    case MSGPACK_OBJECT_STR:
        return "a string";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "a map";
    default:
        return "an unsupported object";
    }
}

/* True when the string object o holds exactly the NUL-terminated s. */
static bool s_str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/*
 * Finds key in map (keys are strings: the pre-scan saw to that). Sets *out to the value, or NULL
 * when the key is absent or nil (an optional field may be sent as nil). Returns false when the
 * key appears twice, which would let two readers of one frame disagree.
 */
static bool s_find(const msgpack_object *map, const char *key, const msgpack_object **out)
{
    *out = NULL;
    bool seen = false;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (!s_str_is(&kv->key, key))
            continue;
        if (seen)
            return false;
        seen = true;
        if (kv->val.type != MSGPACK_OBJECT_NIL)
            *out = &kv->val;
    }
    return true;
}

/* Makes a jury_str_t of a string object; absent strings are "" so printf("%.*s") stays safe. */
static jury_str_t s_str(const msgpack_object *o)
{
    jury_str_t s = {"", 0};
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size > 0) {
        s.ptr = o->via.str.ptr;
        s.len = o->via.str.size;
    }
    return s;
}

/*
 * Looks up a string field named path (for reasons) under key in map and checks its length is
 * within min..max bytes. A missing field is an error only when required. Returns true when the
 * field is acceptable and stores it in *out.
 */
static bool s_get_str(s_ctx_t *c, const msgpack_object *map, const char *key, const char *path,
                      bool required, size_t min, size_t max, jury_str_t *out)
{
    const msgpack_object *o;
    *out = s_str(NULL);
    if (!s_find(map, key, &o)) {
        s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
        return false;
    }
    if (!o) {
        if (required)
            s_why(c->why, c->whylen, "%s: %s: missing", c->cmd, path);
        return !required;
    }
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size < min || o->via.str.size > max) {
        if (o->type != MSGPACK_OBJECT_STR)
            s_why(c->why, c->whylen, "%s: %s: must be a string of %zu..%zu bytes, not %s", c->cmd,
                  path, min, max, s_type_name(o));
        else
            s_why(c->why, c->whylen, "%s: %s: must be a string of %zu..%zu bytes, not %u", c->cmd,
                  path, min, max, (unsigned)o->via.str.size);
        return false;
    }
    *out = s_str(o);
    return true;
}

/* Looks up a required unsigned integer field within min..max; true and stored when fine. */
static bool s_get_uint(s_ctx_t *c, const msgpack_object *map, const char *key, const char *path,
                       uint64_t min, uint64_t max, uint64_t *out)
{
    const msgpack_object *o;
    if (!s_find(map, key, &o)) {
        s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
        return false;
    }
    if (!o) {
        s_why(c->why, c->whylen, "%s: %s: missing", c->cmd, path);
        return false;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < min || o->via.u64 > max) {
        s_why(c->why, c->whylen, "%s: %s: must be an integer %llu..%llu", c->cmd, path,
              (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = o->via.u64;
    return true;
}

/* Reads an integer that fits int64_t (ms since the epoch); false when o is anything else. */
static bool s_int64(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return true;
    }
    return false;
}

/*
 * Looks up a map-valued field. Sets *out to the map, or NULL when absent or nil and not required.
 * Returns true when acceptable.
 */
static bool s_get_map(s_ctx_t *c, const msgpack_object *map, const char *key, const char *path,
                      bool required, const msgpack_object **out)
{
    const msgpack_object *o;
    *out = NULL;
    if (!s_find(map, key, &o)) {
        s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
        return false;
    }
    if (!o) {
        if (required)
            s_why(c->why, c->whylen, "%s: %s: missing", c->cmd, path);
        return !required;
    }
    if (o->type != MSGPACK_OBJECT_MAP) {
        s_why(c->why, c->whylen, "%s: %s: must be a map, not %s", c->cmd, path, s_type_name(o));
        return false;
    }
    *out = o;
    return true;
}

/*
 * Looks up a required array field named path (for reasons) under key in map, holding min..max
 * elements, each of them a map when of_maps. Returns true and stores the array when acceptable.
 */
static bool s_get_array(s_ctx_t *c, const msgpack_object *map, const char *key, const char *path,
                        uint32_t min, uint32_t max, bool of_maps, const msgpack_object **out)
{
    const msgpack_object *o;
    *out = NULL;
    if (!s_find(map, key, &o)) {
        s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
        return false;
    }
    if (!o) {
        s_why(c->why, c->whylen, "%s: %s: missing", c->cmd, path);
        return false;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        s_why(c->why, c->whylen, "%s: %s: must be an array, not %s", c->cmd, path, s_type_name(o));
        return false;
    }
    if (o->via.array.size < min || o->via.array.size > max) {
        s_why(c->why, c->whylen, "%s: %s: must hold %u..%u elements, not %u", c->cmd, path, min,
              max, (unsigned)o->via.array.size);
        return false;
    }
    for (uint32_t i = 0; of_maps && i < o->via.array.size; i++) {
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
            s_why(c->why, c->whylen, "%s: %s[%u]: must be a map, not %s", c->cmd, path, i,
                  s_type_name(&o->via.array.ptr[i]));
            return false;
        }
    }
    *out = o;
    return true;
}

/* Looks up a required boolean field named path; true and stored when it is one. */
static bool s_get_bool(s_ctx_t *c, const msgpack_object *map, const char *key, const char *path,
                       bool *out)
{
    const msgpack_object *o;
    if (!s_find(map, key, &o)) {
        s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
        return false;
    }
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN) {
        s_why(c->why, c->whylen, "%s: %s: %s", c->cmd, path, o ? "must be a boolean" : "missing");
        return false;
    }
    *out = o->via.boolean;
    return true;
}

/* Looks up a required time field named path: an integer, ms since the Unix epoch. */
static bool s_get_ms(s_ctx_t *c, const msgpack_object *map, const char *key, const char *path,
                     int64_t *out)
{
    const msgpack_object *o;
    if (!s_find(map, key, &o)) {
        s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
        return false;
    }
    if (!o || !s_int64(o, out)) {
        s_why(c->why, c->whylen, "%s: %s: %s", c->cmd, path,
              o ? "must be an integer (ms since the Unix epoch)" : "missing");
        return false;
    }
    return true;
}

/* Orders map entries by key bytes, for the duplicate-key check. */
static int s_kv_cmp(const void *a, const void *b)
{
    const msgpack_object_str *x = &(*(const msgpack_object_kv *const *)a)->key.via.str;
    const msgpack_object_str *y = &(*(const msgpack_object_kv *const *)b)->key.via.str;
    uint32_t n = x->size < y->size ? x->size : y->size;
    int r = n ? memcmp(x->ptr, y->ptr, n) : 0;
    if (r != 0)
        return r;
    return x->size < y->size ? -1 : x->size > y->size;
}

/*
 * Checks that no key appears twice in map (response values: one answer per question). Sorts
 * pointers in zone memory, so a hostile map of many keys costs n log n, not n^2. Returns JURY_OK,
 * JURY_EPROTO with a reason naming path, or JURY_ENOMEM.
 */
static jury_err s_unique_keys(s_ctx_t *c, const msgpack_object *map, const char *path,
                              msgpack_zone *zone)
{
    uint32_t n = map->via.map.size;
    if (n < 2)
        return JURY_OK;
    const msgpack_object_kv **v = msgpack_zone_malloc(zone, (size_t)n * sizeof *v);
    if (!v) {
        s_why(c->why, c->whylen, "%s: out of memory", c->cmd);
        return JURY_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        v[i] = &map->via.map.ptr[i];
    qsort(v, n, sizeof *v, s_kv_cmp);
    for (uint32_t i = 1; i < n; i++) {
        if (s_kv_cmp(&v[i - 1], &v[i]) == 0) {
            const msgpack_object_str *k = &v[i]->key.via.str;
            s_why(c->why, c->whylen, "%s: %s: key \"%.*s\" given twice", c->cmd, path,
                  (int)(k->size > 64 ? 64 : k->size), k->ptr);
            return JURY_EPROTO;
        }
    }
    return JURY_OK;
}

/* hello: annotator, dataset, optional agent. */
static jury_err s_hello(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg)
{
    if (!s_get_str(c, m, "annotator", "annotator", true, 1, JURY_PROTO_NAME_MAX,
                   &msg->u.hello.annotator) ||
        !s_get_str(c, m, "dataset", "dataset", true, 1, JURY_PROTO_NAME_MAX,
                   &msg->u.hello.dataset) ||
        !s_get_str(c, m, "agent", "agent", false, 0, JURY_PROTO_NAME_MAX, &msg->u.hello.agent) ||
        !s_get_str(c, m, "token", "token", false, 0, JURY_PROTO_TOKEN_MAX, &msg->u.hello.token))
        return JURY_EPROTO;
    return JURY_OK;
}

/* fetch and review_fetch: n. */
static jury_err s_fetch(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg)
{
    uint64_t n;
    if (!s_get_uint(c, m, "n", "n", 1, JURY_PROTO_BATCH_MAX, &n))
        return JURY_EPROTO;
    msg->u.fetch.n = (uint32_t)n;
    return JURY_OK;
}

/* submit: responses, each {record, status, values}. */
static jury_err s_submit(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg, msgpack_zone *zone)
{
    const msgpack_object *arr;
    char path[64];
    if (!s_get_array(c, m, "responses", "responses", 1, JURY_PROTO_BATCH_MAX, true, &arr))
        return JURY_EPROTO;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *r = &arr->via.array.ptr[i], *st, *values;
        jury_proto_response_t *it = &msg->u.submit.items[i];

        snprintf(path, sizeof path, "responses[%u].record", i);
        if (!s_get_str(c, r, "record", path, true, 1, JURY_PROTO_ID_MAX, &it->record))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "responses[%u].status", i);
        if (!s_find(r, "status", &st)) {
            s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
            return JURY_EPROTO;
        }
        if (!st) {
            s_why(c->why, c->whylen, "%s: %s: missing", c->cmd, path);
            return JURY_EPROTO;
        }
        if (s_str_is(st, "submitted")) {
            it->status = JURY_PROTO_SUBMITTED;
        } else if (s_str_is(st, "discarded")) {
            it->status = JURY_PROTO_DISCARDED;
        } else if (s_str_is(st, "draft")) {
            it->status = JURY_PROTO_DRAFT;
        } else {
            s_why(c->why, c->whylen, "%s: %s: must be \"submitted\", \"discarded\" or \"draft\"",
                  c->cmd, path);
            return JURY_EPROTO;
        }
        snprintf(path, sizeof path, "responses[%u].values", i);
        bool need = it->status != JURY_PROTO_DISCARDED;
        if (!s_get_map(c, r, "values", path, false, &values))
            return JURY_EPROTO;
        if (!values && need) {
            s_why(c->why, c->whylen, "%s: %s: missing (a %s response needs values)", c->cmd, path,
                  s_status_names[it->status]);
            return JURY_EPROTO;
        }
        if (values) {
            jury_err rc = s_unique_keys(c, values, path, zone);
            if (rc != JURY_OK)
                return rc;
        }
        snprintf(path, sizeof path, "responses[%u].reclaim", i);
        const msgpack_object *rc;
        if (!s_find(r, "reclaim", &rc)) {
            s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
            return JURY_EPROTO;
        }
        if (rc && rc->type != MSGPACK_OBJECT_BOOLEAN && rc->type != MSGPACK_OBJECT_NIL) {
            s_why(c->why, c->whylen, "%s: %s: must be true or false", c->cmd, path);
            return JURY_EPROTO;
        }
        it->reclaim = rc && rc->type == MSGPACK_OBJECT_BOOLEAN && rc->via.boolean;
        it->values = values;
        msg->u.submit.count = i + 1;
    }
    return JURY_OK;
}

/* release: records, an array of ids. */
static jury_err s_release(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg)
{
    const msgpack_object *arr;
    if (!s_get_array(c, m, "records", "records", 1, JURY_PROTO_BATCH_MAX, false, &arr))
        return JURY_EPROTO;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *o = &arr->via.array.ptr[i];
        if (o->type != MSGPACK_OBJECT_STR || o->via.str.size < 1 ||
            o->via.str.size > JURY_PROTO_ID_MAX) {
            s_why(c->why, c->whylen, "%s: records[%u]: must be a string of 1..%d bytes", c->cmd, i,
                  JURY_PROTO_ID_MAX);
            return JURY_EPROTO;
        }
        msg->u.release.records[i] = s_str(o);
        msg->u.release.count = i + 1;
    }
    return JURY_OK;
}

/* The optional "progress" map of welcome and batch: submitted, completed, records. */
static bool s_get_progress(s_ctx_t *c, const msgpack_object *m, jury_proto_progress_t *out)
{
    const msgpack_object *p;
    memset(out, 0, sizeof *out);
    if (!s_get_map(c, m, "progress", "progress", false, &p))
        return false;
    if (!p)
        return true;
    if (!s_get_uint(c, p, "submitted", "progress.submitted", 0, UINT64_MAX, &out->submitted) ||
        !s_get_uint(c, p, "completed", "progress.completed", 0, UINT64_MAX, &out->completed) ||
        !s_get_uint(c, p, "records", "progress.records", 0, UINT64_MAX, &out->records))
        return false;
    out->present = true;
    return true;
}

/* welcome: dataset, annotator, settings, heartbeat_ms, lease_seconds, batch_max, progress, role. */
static jury_err s_welcome(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg)
{
    uint64_t hb, lease, bmax;
    if (!s_get_str(c, m, "dataset", "dataset", true, 1, JURY_PROTO_NAME_MAX,
                   &msg->u.welcome.dataset) ||
        !s_get_str(c, m, "annotator", "annotator", true, 1, JURY_PROTO_NAME_MAX,
                   &msg->u.welcome.annotator) ||
        !s_get_map(c, m, "settings", "settings", true, &msg->u.welcome.settings) ||
        !s_get_uint(c, m, "heartbeat_ms", "heartbeat_ms", 1, UINT32_MAX, &hb) ||
        !s_get_uint(c, m, "lease_seconds", "lease_seconds", 1, UINT32_MAX, &lease) ||
        !s_get_uint(c, m, "batch_max", "batch_max", 1, JURY_PROTO_BATCH_MAX, &bmax) ||
        !s_get_progress(c, m, &msg->u.welcome.progress) ||
        !s_get_str(c, m, "role", "role", false, 0, JURY_PROTO_ROLE_MAX, &msg->u.welcome.role))
        return JURY_EPROTO;
    msg->u.welcome.heartbeat_ms = (uint32_t)hb;
    msg->u.welcome.lease_seconds = (uint32_t)lease;
    msg->u.welcome.batch_max = (uint32_t)bmax;
    return JURY_OK;
}

/*
 * What a record of batch and review_batch has in common (SPEC.md 6.4): id, fields, suggestions,
 * metadata, lease_expires. i is the record's index, for reasons.
 */
static bool s_record_common(s_ctx_t *c, const msgpack_object *r, uint32_t i)
{
    const msgpack_object *o;
    char path[96];
    jury_str_t id;
    int64_t t;
    snprintf(path, sizeof path, "records[%u].id", i);
    if (!s_get_str(c, r, "id", path, true, 1, JURY_PROTO_ID_MAX, &id))
        return false;
    snprintf(path, sizeof path, "records[%u].fields", i);
    if (!s_get_map(c, r, "fields", path, true, &o))
        return false;
    snprintf(path, sizeof path, "records[%u].suggestions", i);
    if (!s_get_map(c, r, "suggestions", path, false, &o))
        return false;
    snprintf(path, sizeof path, "records[%u].metadata", i);
    if (!s_get_map(c, r, "metadata", path, false, &o))
        return false;
    snprintf(path, sizeof path, "records[%u].lease_expires", i);
    return s_get_ms(c, r, "lease_expires", path, &t);
}

/* batch: records, each {id, fields, suggestions, metadata, lease_expires, draft}. */
static jury_err s_batch(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg)
{
    const msgpack_object *arr, *o;
    char path[96];
    if (!s_get_array(c, m, "records", "records", 0, JURY_PROTO_BATCH_MAX, true, &arr) ||
        !s_get_progress(c, m, &msg->u.batch.progress))
        return JURY_EPROTO;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *r = &arr->via.array.ptr[i];
        if (!s_record_common(c, r, i))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "records[%u].draft", i);
        if (!s_get_map(c, r, "draft", path, false, &o))
            return JURY_EPROTO;
    }
    msg->u.batch.records = arr;
    return JURY_OK;
}

/* One of a review_batch record's responses (SPEC.md 6.13): {annotator, status, values,
 * updated_ms}. path names the response, for reasons. */
static bool s_review_response(s_ctx_t *c, const msgpack_object *r, const char *base)
{
    const msgpack_object *o;
    char path[128];
    jury_str_t s;
    int64_t t;
    snprintf(path, sizeof path, "%s.annotator", base);
    if (!s_get_str(c, r, "annotator", path, true, 1, JURY_PROTO_NAME_MAX, &s))
        return false;
    snprintf(path, sizeof path, "%s.status", base);
    if (!s_find(r, "status", &o)) {
        s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
        return false;
    }
    if (!o || (!s_str_is(o, "submitted") && !s_str_is(o, "discarded"))) {
        s_why(c->why, c->whylen, "%s: %s: %s", c->cmd, path,
              o ? "must be \"submitted\" or \"discarded\"" : "missing");
        return false;
    }
    snprintf(path, sizeof path, "%s.values", base);
    if (!s_get_map(c, r, "values", path, false, &o))
        return false;
    snprintf(path, sizeof path, "%s.updated_ms", base);
    return s_get_ms(c, r, "updated_ms", path, &t);
}

/*
 * review_batch: records as in batch (without draft), each also with why, reason, unified and
 * responses. why holds 1..JURY_PROTO_WHY_MAX words of 1..JURY_PROTO_CODE_MAX bytes; words other
 * than "contested" and "rejected" are let through for newer coordinators.
 */
static jury_err s_review_batch(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg)
{
    const msgpack_object *arr, *o;
    char path[96];
    jury_str_t s;
    if (!s_get_array(c, m, "records", "records", 0, JURY_PROTO_BATCH_MAX, true, &arr))
        return JURY_EPROTO;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *r = &arr->via.array.ptr[i];
        if (!s_record_common(c, r, i))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "records[%u].why", i);
        if (!s_get_array(c, r, "why", path, 1, JURY_PROTO_WHY_MAX, false, &o))
            return JURY_EPROTO;
        for (uint32_t k = 0; k < o->via.array.size; k++) {
            const msgpack_object *w = &o->via.array.ptr[k];
            if (w->type != MSGPACK_OBJECT_STR || w->via.str.size < 1 ||
                w->via.str.size > JURY_PROTO_CODE_MAX) {
                s_why(c->why, c->whylen, "%s: %s[%u]: must be a string of 1..%d bytes", c->cmd,
                      path, k, JURY_PROTO_CODE_MAX);
                return JURY_EPROTO;
            }
        }
        snprintf(path, sizeof path, "records[%u].reason", i);
        if (!s_get_str(c, r, "reason", path, false, 0, JURY_PROTO_REASON_MAX, &s))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "records[%u].unified", i);
        if (!s_get_map(c, r, "unified", path, false, &o))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "records[%u].responses", i);
        if (!s_get_array(c, r, "responses", path, 0, UINT32_MAX, true, &o))
            return JURY_EPROTO;
        for (uint32_t k = 0; k < o->via.array.size; k++) {
            char base[96];
            snprintf(base, sizeof base, "records[%u].responses[%u]", i, k);
            if (!s_review_response(c, &o->via.array.ptr[k], base))
                return JURY_EPROTO;
        }
    }
    msg->u.batch.records = arr;
    msg->u.batch.progress.present = false;
    return JURY_OK;
}

/* review_submit: decisions, each {record, accept, values, note}. */
static jury_err s_review_submit(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg,
                                msgpack_zone *zone)
{
    const msgpack_object *arr, *values;
    char path[64];
    if (!s_get_array(c, m, "decisions", "decisions", 1, JURY_PROTO_BATCH_MAX, true, &arr))
        return JURY_EPROTO;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *r = &arr->via.array.ptr[i];
        jury_proto_decision_t *it = &msg->u.review_submit.items[i];
        snprintf(path, sizeof path, "decisions[%u].record", i);
        if (!s_get_str(c, r, "record", path, true, 1, JURY_PROTO_ID_MAX, &it->record))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "decisions[%u].accept", i);
        if (!s_get_bool(c, r, "accept", path, &it->accept))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "decisions[%u].values", i);
        if (!s_get_map(c, r, "values", path, false, &values))
            return JURY_EPROTO;
        if (!values && it->accept) {
            s_why(c->why, c->whylen, "%s: %s: missing (an accepted decision needs values)", c->cmd,
                  path);
            return JURY_EPROTO;
        }
        if (values) {
            jury_err rc = s_unique_keys(c, values, path, zone);
            if (rc != JURY_OK)
                return rc;
        }
        it->values = values;
        snprintf(path, sizeof path, "decisions[%u].note", i);
        if (!s_get_str(c, r, "note", path, false, 0, JURY_PROTO_REASON_MAX, &it->note))
            return JURY_EPROTO;
        msg->u.review_submit.count = i + 1;
    }
    return JURY_OK;
}

/* results: results, each {record, ok, code, reason, lease_expires}. */
static jury_err s_results(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg)
{
    const msgpack_object *arr, *o;
    char path[64];
    if (!s_get_array(c, m, "results", "results", 0, JURY_PROTO_BATCH_MAX, true, &arr))
        return JURY_EPROTO;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *r = &arr->via.array.ptr[i];
        jury_proto_result_t *it = &msg->u.results.items[i];
        snprintf(path, sizeof path, "results[%u].record", i);
        if (!s_get_str(c, r, "record", path, true, 1, JURY_PROTO_ID_MAX, &it->record))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "results[%u].ok", i);
        if (!s_find(r, "ok", &o)) {
            s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
            return JURY_EPROTO;
        }
        if (!o || o->type != MSGPACK_OBJECT_BOOLEAN) {
            s_why(c->why, c->whylen, "%s: %s: %s", c->cmd, path,
                  o ? "must be a boolean" : "missing");
            return JURY_EPROTO;
        }
        it->ok = o->via.boolean;
        snprintf(path, sizeof path, "results[%u].code", i);
        if (!s_get_str(c, r, "code", path, !it->ok, 1, JURY_PROTO_CODE_MAX, &it->code))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "results[%u].reason", i);
        if (!s_get_str(c, r, "reason", path, !it->ok, 0, JURY_PROTO_REASON_MAX, &it->reason))
            return JURY_EPROTO;
        snprintf(path, sizeof path, "results[%u].lease_expires", i);
        if (!s_find(r, "lease_expires", &o)) {
            s_why(c->why, c->whylen, "%s: %s: given twice", c->cmd, path);
            return JURY_EPROTO;
        }
        it->lease_expires = 0;
        if (o && !s_int64(o, &it->lease_expires)) {
            s_why(c->why, c->whylen, "%s: %s: must be an integer (ms since the Unix epoch)", c->cmd,
                  path);
            return JURY_EPROTO;
        }
        msg->u.results.count = i + 1;
    }
    return JURY_OK;
}

/* error and goodbye: code, reason; bye: optional reason. */
static jury_err s_error(s_ctx_t *c, const msgpack_object *m, jury_msg_t *msg, bool is_bye)
{
    msg->u.error.code = s_str(NULL);
    if (!is_bye &&
        !s_get_str(c, m, "code", "code", true, 1, JURY_PROTO_CODE_MAX, &msg->u.error.code))
        return JURY_EPROTO;
    if (!s_get_str(c, m, "reason", "reason", !is_bye, 0, JURY_PROTO_REASON_MAX,
                   &msg->u.error.reason))
        return JURY_EPROTO;
    return JURY_OK;
}

/* Which commands must carry "req": the requests and the replies that echo it. */
static bool s_req_required(jury_cmd cmd)
{
    switch (cmd) {
    case JURY_CMD_HELLO:
    case JURY_CMD_FETCH:
    case JURY_CMD_SUBMIT:
    case JURY_CMD_RELEASE:
    case JURY_CMD_WELCOME:
    case JURY_CMD_BATCH:
    case JURY_CMD_RESULTS:
    case JURY_CMD_REVIEW_FETCH:
    case JURY_CMD_REVIEW_BATCH:
    case JURY_CMD_REVIEW_SUBMIT:
        return true;
    default:
        return false;
    }
}

/* Whether cmd goes from the coordinator to a worker (for the version mismatch's reason). */
static bool s_to_worker(jury_cmd cmd)
{
    switch (cmd) {
    case JURY_CMD_WELCOME:
    case JURY_CMD_BATCH:
    case JURY_CMD_RESULTS:
    case JURY_CMD_ERROR:
    case JURY_CMD_GOODBYE:
    case JURY_CMD_REVIEW_BATCH:
        return true;
    default:
        return false;
    }
}

jury_err jury_proto_decode(const void *frame, size_t len, msgpack_zone *zone, jury_msg_t *msg,
                           char *why, size_t whylen)
{
    jury_err rc;
    msgpack_object root;
    const msgpack_object *v, *cmd, *req;
    s_ctx_t c = {"message", why, whylen};

    memset(msg, 0, sizeof *msg);
    msg->cmd = JURY_CMD_COUNT;
    if (why && whylen)
        why[0] = '\0';
    if ((rc = jury_proto_check(frame, len, why, whylen)) != JURY_OK)
        return rc;

    msgpack_unpack_return ur = msgpack_unpack(frame, len, NULL, zone, &root);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        s_why(why, whylen, "out of memory unpacking a frame of %zu bytes", len);
        return JURY_ENOMEM;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        /* The pre-scan accepted what msgpack-c refused: treat as malformed, never trust it. */
        s_why(why, whylen, "msgpack refused the frame (unpack result %d)", (int)ur);
        return JURY_EPROTO;
    }
    if (root.type != MSGPACK_OBJECT_MAP) {
        s_why(why, whylen, "message is %s, not a map", s_type_name(&root));
        return JURY_EPROTO;
    }

    /* Read cmd and req before judging anything else, so that even a refused request can be
     * answered with an error that names it. */
    if (s_find(&root, "cmd", &cmd) && cmd && cmd->type == MSGPACK_OBJECT_STR) {
        for (int i = 0; i < JURY_CMD_COUNT; i++) {
            if (s_str_is(cmd, s_cmd_names[i])) {
                msg->cmd = (jury_cmd)i;
                break;
            }
        }
    }
    bool req_ok = s_find(&root, "req", &req);
    if (req_ok && req) {
        req_ok = req->type == MSGPACK_OBJECT_POSITIVE_INTEGER && req->via.u64 <= JURY_PROTO_REQ_MAX;
        if (req_ok) {
            msg->has_req = true;
            msg->req = req->via.u64;
        }
    }

    if (!s_find(&root, "v", &v)) {
        s_why(why, whylen, "v: given twice");
        return JURY_EPROTO;
    }
    if (!v) {
        s_why(why, whylen, "v: missing");
        return JURY_EPROTO;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 == 0) {
        s_why(why, whylen, "v: must be a positive integer, not %s",
              v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? "0" : s_type_name(v));
        return JURY_EPROTO;
    }
    msg->version = v->via.u64 > UINT32_MAX ? UINT32_MAX : (uint32_t)v->via.u64;
    if (v->via.u64 != JURY_PROTO_VERSION) {
        /* Both sides decode: name the side that speaks the other version. */
        s_why(why, whylen, "protocol version %llu; this %s speaks %d",
              (unsigned long long)v->via.u64, s_to_worker(msg->cmd) ? "worker" : "coordinator",
              JURY_PROTO_VERSION);
        return JURY_EVERSION;
    }

    if (msg->cmd == JURY_CMD_COUNT) {
        if (!s_find(&root, "cmd", &cmd))
            s_why(why, whylen, "cmd: given twice");
        else if (!cmd)
            s_why(why, whylen, "cmd: missing");
        else if (cmd->type != MSGPACK_OBJECT_STR)
            s_why(why, whylen, "cmd: must be a string, not %s", s_type_name(cmd));
        else
            s_why(why, whylen, "cmd: unknown command \"%.*s\"",
                  (int)(cmd->via.str.size > 32 ? 32 : cmd->via.str.size), cmd->via.str.ptr);
        return JURY_EPROTO;
    }
    c.cmd = s_cmd_names[msg->cmd];
    if (!req_ok) {
        s_why(why, whylen, "%s: req: %s", c.cmd,
              req ? "must be an integer 0..2^53" : "given twice");
        return JURY_EPROTO;
    }
    if (!msg->has_req && s_req_required(msg->cmd)) {
        s_why(why, whylen, "%s: req: missing", c.cmd);
        return JURY_EPROTO;
    }

    switch (msg->cmd) {
    case JURY_CMD_HELLO:
        return s_hello(&c, &root, msg);
    case JURY_CMD_FETCH:
        return s_fetch(&c, &root, msg);
    case JURY_CMD_SUBMIT:
        return s_submit(&c, &root, msg, zone);
    case JURY_CMD_RELEASE:
        return s_release(&c, &root, msg);
    case JURY_CMD_HEARTBEAT:
        return JURY_OK;
    case JURY_CMD_BYE:
        return s_error(&c, &root, msg, true);
    case JURY_CMD_WELCOME:
        return s_welcome(&c, &root, msg);
    case JURY_CMD_BATCH:
        return s_batch(&c, &root, msg);
    case JURY_CMD_RESULTS:
        return s_results(&c, &root, msg);
    case JURY_CMD_ERROR:
    case JURY_CMD_GOODBYE:
        return s_error(&c, &root, msg, false);
    case JURY_CMD_REVIEW_FETCH:
        return s_fetch(&c, &root, msg);
    case JURY_CMD_REVIEW_BATCH:
        return s_review_batch(&c, &root, msg);
    case JURY_CMD_REVIEW_SUBMIT:
        return s_review_submit(&c, &root, msg, zone);
    default:
        s_why(why, whylen, "internal error: command %d has no decoder", (int)msg->cmd);
        return JURY_EINTERNAL;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Encoders. They check their arguments against the same limits decode enforces, so jury never
 * sends a frame its peer must refuse.
 */

int jury_proto_pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    int rc = msgpack_pack_str(pk, n);
    if (rc == 0)
        rc = msgpack_pack_str_body(pk, n ? s : "", n);
    return rc;
}

int jury_proto_pack_cstr(msgpack_packer *pk, const char *s)
{
    return jury_proto_pack_str(pk, s, strlen(s));
}

int jury_proto_pack_header(msgpack_packer *pk, jury_cmd cmd, bool has_req, uint64_t req,
                           uint32_t extra)
{
    const char *name = jury_proto_cmd_name(cmd);
    int rc;
    if (!name)
        return -1;
    if ((rc = msgpack_pack_map(pk, 2 + (has_req ? 1 : 0) + (size_t)extra)) != 0 ||
        (rc = jury_proto_pack_cstr(pk, "v")) != 0 ||
        (rc = msgpack_pack_uint32(pk, JURY_PROTO_VERSION)) != 0 ||
        (rc = jury_proto_pack_cstr(pk, "cmd")) != 0 || (rc = jury_proto_pack_cstr(pk, name)) != 0)
        return rc;
    if (has_req &&
        ((rc = jury_proto_pack_cstr(pk, "req")) != 0 || (rc = msgpack_pack_uint64(pk, req)) != 0))
        return rc;
    return 0;
}

/* True when s is a valid UTF-8 string of min..max bytes (NULL never is). */
static bool s_ok_str(const char *s, size_t min, size_t max)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    return n >= min && n <= max && jury_utf8_valid(s, n, NULL);
}

/* Length of the longest prefix of s that is valid UTF-8 and at most max bytes: reasons are cut,
 * never refused, so that an error can always be sent. */
static size_t s_clip(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0, bad;
    if (n > max)
        n = max;
    if (n && !jury_utf8_valid(s, n, &bad))
        n = bad;
    return n;
}

/* Packs key (a literal) and a string value. Returns 0 or a packer error. */
static int s_kv_str(msgpack_packer *pk, const char *key, const char *s, size_t n)
{
    int rc = jury_proto_pack_cstr(pk, key);
    return rc ? rc : jury_proto_pack_str(pk, s, n);
}

/* Ends an encoder: on failure drops what it appended to buf, so buf is as the caller left it. */
static jury_err s_finish(msgpack_sbuffer *buf, size_t start, int rc)
{
    if (rc == 0)
        return JURY_OK;
    buf->size = start;
    return JURY_ENOMEM;
}

jury_err jury_proto_encode_hello(msgpack_sbuffer *buf, uint64_t req, const char *annotator,
                                 const char *dataset, const char *agent)
{
    return jury_proto_encode_hello_token(buf, req, annotator, dataset, agent, NULL);
}

jury_err jury_proto_encode_hello_token(msgpack_sbuffer *buf, uint64_t req, const char *annotator,
                                       const char *dataset, const char *agent, const char *token)
{
    msgpack_packer pk;
    size_t start = buf->size;
    bool has_agent = agent && *agent, has_token = token && *token;
    if (req > JURY_PROTO_REQ_MAX || !s_ok_str(annotator, 1, JURY_PROTO_NAME_MAX) ||
        !s_ok_str(dataset, 1, JURY_PROTO_NAME_MAX) ||
        (has_agent && !s_ok_str(agent, 1, JURY_PROTO_NAME_MAX)) ||
        (has_token && !s_ok_str(token, 1, JURY_PROTO_TOKEN_MAX)))
        return JURY_EINVAL;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_HELLO, true, req,
                                    2 + (has_agent ? 1 : 0) + (has_token ? 1 : 0));
    if (rc == 0)
        rc = s_kv_str(&pk, "annotator", annotator, strlen(annotator));
    if (rc == 0)
        rc = s_kv_str(&pk, "dataset", dataset, strlen(dataset));
    if (rc == 0 && has_agent)
        rc = s_kv_str(&pk, "agent", agent, strlen(agent));
    if (rc == 0 && has_token)
        rc = s_kv_str(&pk, "token", token, strlen(token));
    return s_finish(buf, start, rc);
}

int jury_proto_pack_progress(msgpack_packer *pk, const jury_proto_progress_t *p)
{
    int rc = jury_proto_pack_cstr(pk, "progress");
    rc = rc ? rc : msgpack_pack_map(pk, 3);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "submitted");
    rc = rc ? rc : msgpack_pack_uint64(pk, p->submitted);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "completed");
    rc = rc ? rc : msgpack_pack_uint64(pk, p->completed);
    rc = rc ? rc : jury_proto_pack_cstr(pk, "records");
    rc = rc ? rc : msgpack_pack_uint64(pk, p->records);
    return rc;
}

/* fetch and review_fetch share a body: n. */
static jury_err s_encode_n(msgpack_sbuffer *buf, jury_cmd cmd, uint64_t req, uint32_t n)
{
    msgpack_packer pk;
    size_t start = buf->size;
    if (req > JURY_PROTO_REQ_MAX || n < 1 || n > JURY_PROTO_BATCH_MAX)
        return JURY_EINVAL;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, cmd, true, req, 1);
    if (rc == 0)
        rc = jury_proto_pack_cstr(&pk, "n");
    if (rc == 0)
        rc = msgpack_pack_uint32(&pk, n);
    return s_finish(buf, start, rc);
}

jury_err jury_proto_encode_fetch(msgpack_sbuffer *buf, uint64_t req, uint32_t n)
{
    return s_encode_n(buf, JURY_CMD_FETCH, req, n);
}

jury_err jury_proto_encode_review_fetch(msgpack_sbuffer *buf, uint64_t req, uint32_t n)
{
    return s_encode_n(buf, JURY_CMD_REVIEW_FETCH, req, n);
}

jury_err jury_proto_encode_heartbeat(msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    size_t start = buf->size;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    return s_finish(buf, start, jury_proto_pack_header(&pk, JURY_CMD_HEARTBEAT, false, 0, 0));
}

jury_err jury_proto_encode_bye(msgpack_sbuffer *buf, const char *reason)
{
    msgpack_packer pk;
    size_t start = buf->size;
    size_t n = s_clip(reason, JURY_PROTO_REASON_MAX);
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_BYE, false, 0, n ? 1 : 0);
    if (rc == 0 && n)
        rc = s_kv_str(&pk, "reason", reason, n);
    return s_finish(buf, start, rc);
}

/* error and goodbye share a body: code, then reason cut to its limit. */
static jury_err s_encode_code_reason(msgpack_sbuffer *buf, jury_cmd cmd, bool has_req, uint64_t req,
                                     const char *code, const char *reason)
{
    msgpack_packer pk;
    size_t start = buf->size;
    size_t n = s_clip(reason, JURY_PROTO_REASON_MAX);
    if ((has_req && req > JURY_PROTO_REQ_MAX) || !s_ok_str(code, 1, JURY_PROTO_CODE_MAX))
        return JURY_EINVAL;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, cmd, has_req, req, 2);
    if (rc == 0)
        rc = s_kv_str(&pk, "code", code, strlen(code));
    if (rc == 0)
        rc = s_kv_str(&pk, "reason", reason, n);
    return s_finish(buf, start, rc);
}

jury_err jury_proto_encode_error(msgpack_sbuffer *buf, bool has_req, uint64_t req, const char *code,
                                 const char *reason)
{
    return s_encode_code_reason(buf, JURY_CMD_ERROR, has_req, req, code, reason);
}

jury_err jury_proto_encode_goodbye(msgpack_sbuffer *buf, const char *code, const char *reason)
{
    return s_encode_code_reason(buf, JURY_CMD_GOODBYE, false, 0, code, reason);
}

jury_err jury_proto_encode_release(msgpack_sbuffer *buf, uint64_t req, const char *const *ids,
                                   const size_t *lens, uint32_t count)
{
    msgpack_packer pk;
    size_t start = buf->size;
    if (req > JURY_PROTO_REQ_MAX || count < 1 || count > JURY_PROTO_BATCH_MAX || !ids || !lens)
        return JURY_EINVAL;
    for (uint32_t i = 0; i < count; i++) {
        if (!ids[i] || lens[i] < 1 || lens[i] > JURY_PROTO_ID_MAX ||
            !jury_utf8_valid(ids[i], lens[i], NULL))
            return JURY_EINVAL;
    }
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_RELEASE, true, req, 1);
    if (rc == 0)
        rc = jury_proto_pack_cstr(&pk, "records");
    if (rc == 0)
        rc = msgpack_pack_array(&pk, count);
    for (uint32_t i = 0; rc == 0 && i < count; i++)
        rc = jury_proto_pack_str(&pk, ids[i], lens[i]);
    return s_finish(buf, start, rc);
}
