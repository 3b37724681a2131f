/* fuzz_import.c: libFuzzer target for the record import checks: one JSONL line handled as
 * coordinator/import.c handles it (UTF-8, JSON, jury_settings_check_record, encoding) against fixed
 * rich settings, with the invariants every imported record must keep. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "fuzz_common.h"
#include "import.h"
#include "jury_jsonpack.h"
#include "jury_proto.h"
#include "jury_store.h"
#include "jury_utf8.h"
#include "settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)fuzz_settings();
    return 0;
}

/* import.c's s_blank: a line of only blanks is skipped. */
static bool s_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* import.c's s_ext_id, with a fixed UUID instead of a random one so that runs reproduce. */
static void s_ext_id(const cJSON *rec, char *out, size_t cap, size_t *len)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
    if (cJSON_IsString(id)) {
        *len = strlen(id->valuestring);
        memcpy(out, id->valuestring, *len < cap ? *len : cap);
        return;
    }
    if (cJSON_IsNumber(id)) {
        *len = (size_t)snprintf(out, cap, "%.0f", id->valuedouble);
        return;
    }
    *len = (size_t)snprintf(out, cap, "%s", "0f1e2d3c-4b5a-4968-8776-655443322110");
}

/* The msgpack object o as JSON; it came from jury's own encoder, so it must convert. */
static cJSON *s_json(const msgpack_object *o, const char *what)
{
    cJSON *j = jury_jsonpack_to_json(o);
    FUZZ_CHECK(j != NULL, "%s: jury_jsonpack_to_json refuses what the importer encoded", what);
    return j;
}

/* The value of key in the map o, or NULL. */
static const msgpack_object *s_get(const msgpack_object *o, const char *key)
{
    size_t n = strlen(key);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &o->via.map.ptr[i].val;
    }
    return NULL;
}

/* The first key that appears twice in some map inside o (at any depth), or NULL. */
static const msgpack_object_str *s_repeated_key(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            const msgpack_object_str *k = s_repeated_key(&o->via.array.ptr[i]);
            if (k)
                return k;
        }
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_str *x = &o->via.map.ptr[i].key.via.str;
            for (uint32_t j = i + 1; j < o->via.map.size; j++) {
                const msgpack_object_str *y = &o->via.map.ptr[j].key.via.str;
                if (x->size == y->size && (x->size == 0 || !memcmp(x->ptr, y->ptr, x->size)))
                    return y;
            }
            const msgpack_object_str *k = s_repeated_key(&o->via.map.ptr[i].val);
            if (k)
                return k;
        }
    }
    return NULL;
}

/*
 * The pre-existing responses, grouped by annotator as import.c's s_encode_responses stores them:
 * for each user_id a {question: value} map of the first "value" of each of their responses. The
 * importer reads user_id->valuestring of every response unchecked, so check_record must have
 * seen to it that each is a string; and each stored map must pass the checks a submitted response
 * from a worker passes (the import stores them as submitted responses).
 */
static void s_responses(const cJSON *responses, const cJSON *fields)
{
    enum { MAX_USERS = 256 };
    const char *users[MAX_USERS];
    uint32_t nusers = 0;
    for (const cJSON *q = responses->child; q; q = q->next) {
        FUZZ_CHECK(cJSON_IsArray(q), "responses/%s is not a list", q->string);
        for (const cJSON *r = q->child; r; r = r->next) {
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "user_id");
            FUZZ_CHECK(cJSON_IsString(u) && u->valuestring != NULL,
                       "responses/%s: the first \"user_id\" is not a string, yet the record "
                       "passed: import.c (s_encode_responses) dereferences its valuestring",
                       q->string);
            uint32_t i = 0;
            while (i < nusers && strcmp(users[i], u->valuestring) != 0)
                i++;
            if (i == nusers) {
                if (nusers == MAX_USERS)
                    return; /* the importer refuses the line: JURY_ETOOBIG */
                users[nusers++] = u->valuestring;
            }
        }
    }
    for (uint32_t i = 0; i < nusers; i++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        size_t n = 0;
        for (const cJSON *q = responses->child; q; q = q->next)
            for (const cJSON *r = q->child; r; r = r->next)
                n += strcmp(cJSON_GetObjectItemCaseSensitive(r, "user_id")->valuestring,
                            users[i]) == 0;
        int rc = msgpack_pack_map(&pk, n);
        for (const cJSON *q = responses->child; q && rc == 0; q = q->next)
            for (const cJSON *r = q->child; r && rc == 0; r = r->next) {
                if (strcmp(cJSON_GetObjectItemCaseSensitive(r, "user_id")->valuestring, users[i]) !=
                    0)
                    continue;
                rc = msgpack_pack_str_with_body(&pk, q->string, strlen(q->string));
                rc =
                    rc ? rc : jury_jsonpack_pack(&pk, cJSON_GetObjectItemCaseSensitive(r, "value"));
            }
        FUZZ_CHECK(rc == 0, "packing %s's responses failed", users[i]);

        msgpack_zone zone;
        FUZZ_CHECK(msgpack_zone_init(&zone, 2048), "out of memory");
        msgpack_object o;
        FUZZ_CHECK(msgpack_unpack(buf.data, buf.size, NULL, &zone, &o) == MSGPACK_UNPACK_SUCCESS,
                   "%s's stored responses do not unpack", users[i]);
        cJSON *values = s_json(&o, "stored responses");
        char err[512];
        jury_err cr =
            jury_settings_check_answers(fuzz_settings(), values, true, fields, err, sizeof err);
        FUZZ_CHECK(cr == JURY_OK,
                   "the responses of %s passed the import but fail as a submitted response: %s",
                   users[i], err);
        cJSON_Delete(values);
        msgpack_zone_destroy(&zone);
        msgpack_sbuffer_destroy(&buf);
    }
}

/*
 * What becomes of the stored payload: serve.c (s_pack_record) sends it to workers inside a batch
 * frame, which their decoder must accept; `jury dump` and `jury export --format records` turn it
 * into JSON, which must import again.
 */
static void s_payload(const msgpack_sbuffer *payload, const char *ext, size_t ext_len)
{
    msgpack_zone zone;
    FUZZ_CHECK(msgpack_zone_init(&zone, 2048), "out of memory");
    msgpack_object o;
    FUZZ_CHECK(msgpack_unpack(payload->data, payload->size, NULL, &zone, &o) ==
                       MSGPACK_UNPACK_SUCCESS &&
                   o.type == MSGPACK_OBJECT_MAP,
               "the encoded record does not unpack to a map");
    const msgpack_object *id = s_get(&o, "id"), *fields = s_get(&o, "fields");
    const msgpack_object *sugg = s_get(&o, "suggestions"), *meta = s_get(&o, "metadata");
    FUZZ_CHECK(id && id->type == MSGPACK_OBJECT_STR && id->via.str.size == ext_len &&
                   memcmp(id->via.str.ptr, ext, ext_len) == 0,
               "the encoded record's id is not its external id");
    FUZZ_CHECK(fields && fields->type == MSGPACK_OBJECT_MAP, "the encoded record has no fields");
    /* SPEC.md section 4: a key never appears twice in one map, and the record goes out in batches.
     */
    const msgpack_object_str *dup = s_repeated_key(&o);
    FUZZ_CHECK(dup == NULL, "the imported record holds a map with the key \"%.*s\" twice",
               (int)(dup ? dup->size : 0), dup ? dup->ptr : "");

    msgpack_sbuffer frame;
    msgpack_sbuffer_init(&frame);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_BATCH, true, 7, 1);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "records");
    rc = rc ? rc : msgpack_pack_array(&pk, 1);
    rc = rc ? rc : msgpack_pack_map(&pk, 6);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "id");
    rc = rc ? rc : msgpack_pack_object(&pk, *id);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "fields");
    rc = rc ? rc : msgpack_pack_object(&pk, *fields);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "suggestions");
    rc = rc ? rc : sugg ? msgpack_pack_object(&pk, *sugg) : msgpack_pack_map(&pk, 0);
    /* serve.c keeps only the visible properties: all of them is the harder case */
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "metadata");
    rc = rc ? rc : meta ? msgpack_pack_object(&pk, *meta) : msgpack_pack_map(&pk, 0);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "lease_expires");
    rc = rc ? rc : msgpack_pack_int64(&pk, 1767225600000);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "draft");
    rc = rc ? rc : msgpack_pack_nil(&pk);
    FUZZ_CHECK(rc == 0, "packing the batch frame failed");

    msgpack_zone fzone;
    FUZZ_CHECK(msgpack_zone_init(&fzone, 4096), "out of memory");
    jury_msg_t m;
    char why[512];
    jury_err err = jury_proto_decode(frame.data, frame.size, &fzone, &m, why, sizeof why);
    FUZZ_CHECK(err == JURY_OK && m.cmd == JURY_CMD_BATCH,
               "a batch frame holding this imported record does not decode: %s: %s",
               jury_errname(err), why);
    cJSON_Delete(s_json(&m.u.batch.records->via.array.ptr[0], "batch record"));
    msgpack_zone_destroy(&fzone);
    msgpack_sbuffer_destroy(&frame);

    cJSON *rec = s_json(&o, "stored record");
    char reason[512];
    err = jury_settings_check_record(fuzz_settings(), rec, reason, sizeof reason);
    FUZZ_CHECK(err == JURY_OK, "the stored record, as JSON, does not import again: %s", reason);
    cJSON_Delete(rec);
    msgpack_zone_destroy(&zone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The input is one line: the importer splits the file at '\n'. */
    const uint8_t *nl = memchr(data, '\n', size);
    size_t len = nl ? (size_t)(nl - data) : size;
    if (s_blank((const char *)data, len)) {
        if (fuzz_verbose())
            fprintf(stderr, "record: blank line, skipped\n");
        return 0;
    }
    /* A copy of exactly len bytes, not NUL-terminated, so that ASan sees any read past the end. */
    char *line = malloc(len);
    FUZZ_CHECK(line != NULL, "out of memory");
    memcpy(line, data, len);

    if (!jury_utf8_valid(line, len, NULL)) {
        if (fuzz_verbose())
            fprintf(stderr, "record: invalid UTF-8\n");
        goto done;
    }
    const char *end = NULL;
    cJSON *rec = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!rec) {
        if (fuzz_verbose())
            fprintf(stderr, "record: invalid JSON\n");
        goto done;
    }
    FUZZ_CHECK(end >= line && end <= line + len, "cJSON's end is outside the line");
    size_t after = (size_t)(end - line);
    while (after < len && (line[after] == ' ' || line[after] == '\t' || line[after] == '\r'))
        after++;
    if (after < len || !cJSON_IsObject(rec)) {
        if (fuzz_verbose())
            fprintf(stderr, "record: %s\n",
                    after < len ? "text after the record" : "not an object");
        cJSON_Delete(rec);
        goto done;
    }

    char reason[512];
    memset(reason, 'x', sizeof reason);
    jury_err err = jury_settings_check_record(fuzz_settings(), rec, reason, sizeof reason);
    FUZZ_CHECK(memchr(reason, '\0', sizeof reason) != NULL, "reason is not NUL-terminated");
    if (fuzz_verbose())
        fprintf(stderr, "record: %s%s%s\n", jury_errname(err), err == JURY_OK ? "" : ": ",
                err == JURY_OK ? "" : reason);
    if (err != JURY_OK) {
        FUZZ_CHECK(err == JURY_EINVAL && reason[0] == '/',
                   "check_record: %s with reason \"%s\", not EINVAL with a JSON pointer",
                   jury_errname(err), reason);
        cJSON_Delete(rec);
        goto done;
    }

    char ext[JURY_STORE_EXTID_MAX + 64];
    size_t ext_len = 0;
    s_ext_id(rec, ext, sizeof ext, &ext_len);
    FUZZ_CHECK(ext_len >= 1 && ext_len <= JURY_SETTINGS_ID_MAX,
               "check_record accepted an id that makes an external id of %zu bytes", ext_len);
    uint32_t target = jury_settings_record_target(fuzz_settings(), ext, ext_len);
    uint32_t lo = jury_settings_min_submitted(fuzz_settings());
    FUZZ_CHECK(target == lo || target == lo + 1, "target %u", target);

    msgpack_sbuffer payload;
    msgpack_sbuffer_init(&payload);
    err = jury_import_encode_record(&payload, rec, ext, ext_len);
    FUZZ_CHECK(err == JURY_OK, "jury_import_encode_record: %s", jury_errname(err));
    s_payload(&payload, ext, ext_len);
    msgpack_sbuffer_destroy(&payload);

    const cJSON *responses = cJSON_GetObjectItemCaseSensitive(rec, "responses");
    if (cJSON_IsObject(responses))
        s_responses(responses, cJSON_GetObjectItemCaseSensitive(rec, "fields"));
    cJSON_Delete(rec);
done:
    free(line);
    return 0;
}
