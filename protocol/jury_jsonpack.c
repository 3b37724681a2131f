/* jury_jsonpack.c: cJSON <-> msgpack conversion. */
#include "jury_jsonpack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int jury_jsonpack_pack(msgpack_packer *pk, const cJSON *v)
{
    int rc = 0;
    if (cJSON_IsObject(v)) {
        size_t n = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            n++;
        rc = msgpack_pack_map(pk, n);
        for (const cJSON *c = v->child; c && rc == 0; c = c->next) {
            rc = msgpack_pack_str_with_body(pk, c->string, strlen(c->string));
            if (rc == 0)
                rc = jury_jsonpack_pack(pk, c);
        }
    } else if (cJSON_IsArray(v)) {
        size_t n = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            n++;
        rc = msgpack_pack_array(pk, n);
        for (const cJSON *c = v->child; c && rc == 0; c = c->next)
            rc = jury_jsonpack_pack(pk, c);
    } else if (cJSON_IsString(v)) {
        rc = msgpack_pack_str_with_body(pk, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        /* JSON has one number type; keep integers as integers while exact. */
        if (d == floor(d) && fabs(d) <= 9007199254740992.0)
            rc = msgpack_pack_int64(pk, (int64_t)d);
        else
            rc = msgpack_pack_double(pk, d);
    } else if (cJSON_IsTrue(v)) {
        rc = msgpack_pack_true(pk);
    } else if (cJSON_IsFalse(v)) {
        rc = msgpack_pack_false(pk);
    } else {
        rc = msgpack_pack_nil(pk);
    }
    return rc;
}

static cJSON *s_string(const char *p, uint32_t n)
{
    if (memchr(p, '\0', n))
        return NULL;
    char *copy = malloc((size_t)n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, p, n);
    copy[n] = '\0';
    cJSON *s = cJSON_CreateString(copy);
    free(copy);
    return s;
}

static cJSON *s_to_json(const msgpack_object *o, int depth)
{
    if (depth > 64)
        return NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return cJSON_CreateNull();
    case MSGPACK_OBJECT_BOOLEAN:
        return cJSON_CreateBool(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return isfinite(o->via.f64) ? cJSON_CreateNumber(o->via.f64) : NULL;
    case MSGPACK_OBJECT_STR:
        return s_string(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        cJSON *a = cJSON_CreateArray();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            cJSON *c = s_to_json(&o->via.array.ptr[i], depth + 1);
            if (!c) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, c);
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        cJSON *m = cJSON_CreateObject();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR ||
                memchr(kv->key.via.str.ptr, '\0', kv->key.via.str.size)) {
                cJSON_Delete(m);
                return NULL;
            }
            char *key = malloc((size_t)kv->key.via.str.size + 1);
            cJSON *c = key ? s_to_json(&kv->val, depth + 1) : NULL;
            if (!c) {
                free(key);
                cJSON_Delete(m);
                return NULL;
            }
            memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
            key[kv->key.via.str.size] = '\0';
            cJSON_AddItemToObject(m, key, c);
            free(key);
        }
        return m;
    }
    default:
        return NULL;
    }
}

cJSON *jury_jsonpack_to_json(const msgpack_object *o)
{
    return s_to_json(o, 0);
}
