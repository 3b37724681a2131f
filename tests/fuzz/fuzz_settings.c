/* fuzz_settings.c: libFuzzer target for the settings parser: jury_settings_parse on arbitrary bytes
 * and, on success, the normalised JSON round trip, the accessors and the welcome frame. */
#include <math.h>
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
#include "settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* Parses text, which must parse (it came from jury_settings_to_json), and returns the settings. */
static jury_settings_t *s_reparse(const char *text, const char *what)
{
    jury_settings_t *s = NULL;
    char err[512];
    jury_err rc = jury_settings_parse(&s, text, strlen(text), err, sizeof err);
    FUZZ_CHECK(rc == JURY_OK, "%s output does not parse again: %s: %s\n%s", what, jury_errname(rc),
               err, text);
    return s;
}

/* Every accessor, over every index: each answer within the limits the header states. */
static void s_accessors(const jury_settings_t *s)
{
    size_t nf = jury_settings_field_count(s), nq = jury_settings_question_count(s);
    size_t nm = jury_settings_metadata_count(s);
    FUZZ_CHECK(nf >= 1 && nf <= JURY_SETTINGS_ITEMS_MAX, "%zu fields", nf);
    FUZZ_CHECK(nq >= 1 && nq <= JURY_SETTINGS_ITEMS_MAX, "%zu questions", nq);
    FUZZ_CHECK(nm <= JURY_SETTINGS_ITEMS_MAX, "%zu metadata properties", nm);
    for (size_t i = 0; i < nf; i++) {
        const char *name = jury_settings_field_name(s, i);
        FUZZ_CHECK(name && strlen(name) >= 1 && strlen(name) <= JURY_SETTINGS_NAME_MAX,
                   "field %zu: bad name", i);
        FUZZ_CHECK(jury_settings_field_index(s, name) == (int)i, "field %s: index", name);
        jury_field_type t = jury_settings_field_type(s, i);
        FUZZ_CHECK(t == JURY_FIELD_TEXT || t == JURY_FIELD_CHAT, "field %s: type %d", name, t);
        (void)jury_settings_field_required(s, i);
    }
    bool required = false;
    for (size_t q = 0; q < nq; q++) {
        const char *name = jury_settings_question_name(s, q);
        FUZZ_CHECK(name && strlen(name) >= 1 && strlen(name) <= JURY_SETTINGS_NAME_MAX,
                   "question %zu: bad name", q);
        FUZZ_CHECK(jury_settings_question_index(s, name) == (int)q, "question %s: index", name);
        FUZZ_CHECK(jury_settings_field_index(s, name) < 0, "question %s is also a field", name);
        jury_question_type t = jury_settings_question_type(s, q);
        FUZZ_CHECK((unsigned)t <= JURY_QUESTION_SPAN, "question %s: type %d", name, t);
        required |= jury_settings_question_required(s, q);

        size_t n = 0;
        const char *const *opts = jury_settings_question_options(s, q, &n);
        bool has_options = t == JURY_QUESTION_LABEL_SELECTION ||
                           t == JURY_QUESTION_MULTI_LABEL_SELECTION || t == JURY_QUESTION_RANKING ||
                           t == JURY_QUESTION_SPAN;
        FUZZ_CHECK(has_options ? opts != NULL && n >= 1 : opts == NULL && n == 0,
                   "question %s: %zu options", name, n);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                FUZZ_CHECK(strcmp(opts[i], opts[j]) != 0, "question %s: option %s twice", name,
                           opts[i]);

        const double *values = jury_settings_rating_values(s, q, &n);
        if (t == JURY_QUESTION_RATING) {
            FUZZ_CHECK(values && n >= 2 && n <= 11, "rating %s: %zu values", name, n);
            for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(values[i] >= 0 && values[i] <= 10 && values[i] == floor(values[i]) &&
                               (i == 0 || values[i - 1] < values[i]),
                           "rating %s: values[%zu] = %g", name, i, values[i]);
        } else {
            FUZZ_CHECK(values == NULL && n == 0, "question %s: rating values", name);
        }

        const char *field = jury_settings_span_field(s, q);
        if (t == JURY_QUESTION_SPAN) {
            int f = field ? jury_settings_field_index(s, field) : -1;
            FUZZ_CHECK(f >= 0 && jury_settings_field_type(s, (size_t)f) == JURY_FIELD_TEXT,
                       "span %s: field %s is not a text field", name, field ? field : "(null)");
        } else {
            FUZZ_CHECK(field == NULL, "question %s: span field", name);
        }

        jury_method m = jury_settings_method(s, q), back;
        FUZZ_CHECK(jury_method_parse(t, jury_method_name(m), &back) && back == m,
                   "question %s: method %d does not apply", name, (int)m);
    }
    FUZZ_CHECK(required, "no required question");
    FUZZ_CHECK(jury_settings_question_index(s, "") < 0, "a question without a name");

    for (size_t i = 0; i < nm; i++) {
        const char *name = jury_settings_metadata_name(s, i);
        FUZZ_CHECK(name && strlen(name) >= 1 && strlen(name) <= JURY_SETTINGS_NAME_MAX,
                   "metadata %zu: bad name", i);
        FUZZ_CHECK((unsigned)jury_settings_metadata_type(s, i) <= JURY_METADATA_FLOAT,
                   "metadata %s: type", name);
    }
    (void)jury_settings_allow_extra_metadata(s);
    (void)jury_settings_guidelines(s);

    for (size_t i = 0; i < jury_settings_rule_count(s); i++) {
        const jury_rule_t *r = jury_settings_rule(s, i);
        FUZZ_CHECK(r && r->question < nq, "rule %zu: question", i);
        jury_question_type t = jury_settings_question_type(s, r->question);
        size_t n = 0;
        (void)jury_settings_question_options(s, r->question, &n);
        switch (r->kind) {
        case JURY_RULE_MIN_AGREEMENT:
            FUZZ_CHECK(r->threshold >= 0 && r->threshold <= 1, "rule %zu: %g", i, r->threshold);
            break;
        case JURY_RULE_MIN_VALUE:
        case JURY_RULE_MAX_VALUE:
            FUZZ_CHECK(t == JURY_QUESTION_RATING && isfinite(r->threshold), "rule %zu", i);
            break;
        case JURY_RULE_REQUIRE:
            FUZZ_CHECK(t == JURY_QUESTION_LABEL_SELECTION && r->labels && r->nlabels >= 1,
                       "rule %zu: require", i);
            for (size_t k = 0; k < r->nlabels; k++)
                FUZZ_CHECK(r->labels[k] < n && (k == 0 || r->labels[k - 1] < r->labels[k]),
                           "rule %zu: label %zu", i, k);
            break;
        default:
            FUZZ_CHECK(false, "rule %zu: kind %d", i, (int)r->kind);
        }
    }
    FUZZ_CHECK(jury_settings_rule(s, jury_settings_rule_count(s)) == NULL, "rule past the end");

    uint32_t lo = jury_settings_min_submitted(s);
    double overlap = jury_settings_overlap(s);
    FUZZ_CHECK(lo >= 1 && overlap >= 1 && overlap <= 1000 && lo == (uint32_t)floor(overlap),
               "min_submitted %u, overlap %g", lo, overlap);
    static const char *const ids[] = {"rec-1", "rec-2", "ticket-0001", "42", ""};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        uint32_t t = jury_settings_record_target(s, i < 4 ? ids[i] : NULL, strlen(ids[i]));
        FUZZ_CHECK(t == lo || (t == lo + 1 && overlap > lo), "target %u for overlap %g", t,
                   overlap);
    }
    uint32_t md = jury_settings_max_discards(s), lease = jury_settings_lease_seconds(s);
    FUZZ_CHECK(md >= 1 && md <= 1000, "max_discards %u", md);
    FUZZ_CHECK(lease >= 5 && lease <= 86400, "lease_seconds %u", lease);
    jury_order order = jury_settings_order(s);
    FUZZ_CHECK(order == JURY_ORDER_COMPLETE_FIRST || order == JURY_ORDER_RANDOM, "order %d",
               (int)order);
}

/*
 * The welcome frame serve.c builds from the stored (normalised) settings: the metadata hidden from
 * annotators removed, packed as msgpack. Every valid settings document must make a welcome frame
 * the worker decodes and shows as JSON (SPEC.md 6.2).
 */
static void s_welcome(const jury_settings_t *s, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    FUZZ_CHECK(root != NULL, "jury_settings_to_json output is not JSON:\n%s", json);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    for (int i = cJSON_GetArraySize(meta) - 1; i >= 0; i--) {
        cJSON *m = cJSON_GetArrayItem(meta, i);
        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "visible_for_annotators")))
            cJSON_DeleteItemFromArray(meta, i);
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    int rc = jury_proto_pack_header(&pk, JURY_CMD_WELCOME, true, 1, 6);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "dataset");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "support");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "annotator");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "alice");
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "settings");
    rc = rc ? rc : jury_jsonpack_pack(&pk, root);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "heartbeat_ms");
    rc = rc ? rc : msgpack_pack_uint32(&pk, 1000);
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "lease_seconds");
    rc = rc ? rc : msgpack_pack_uint32(&pk, jury_settings_lease_seconds(s));
    rc = rc ? rc : jury_proto_pack_cstr(&pk, "batch_max");
    rc = rc ? rc : msgpack_pack_uint32(&pk, JURY_PROTO_BATCH_MAX);
    FUZZ_CHECK(rc == 0, "packing the welcome frame failed");
    cJSON_Delete(root);

    msgpack_zone zone;
    FUZZ_CHECK(msgpack_zone_init(&zone, 8192), "out of memory");
    jury_msg_t m;
    char why[512];
    jury_err err = jury_proto_decode(buf.data, buf.size, &zone, &m, why, sizeof why);
    FUZZ_CHECK(err == JURY_OK && m.cmd == JURY_CMD_WELCOME,
               "the welcome frame for these settings does not decode: %s: %s", jury_errname(err),
               why);
    cJSON *shown = jury_jsonpack_to_json(m.u.welcome.settings);
    FUZZ_CHECK(shown != NULL, "the worker cannot show the welcome's settings as JSON");
    cJSON_Delete(shown);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, not NUL-terminated, so that ASan sees any read past the end. */
    char *json = malloc(size ? size : 1);
    FUZZ_CHECK(json != NULL, "out of memory");
    memcpy(json, data, size);

    jury_settings_t *s = NULL;
    char err[512];
    memset(err, 'x', sizeof err);
    jury_err rc = jury_settings_parse(&s, json, size, err, sizeof err);
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "err is not NUL-terminated");
    if (fuzz_verbose())
        fprintf(stderr, "settings: %s%s%s\n", jury_errname(rc), rc == JURY_OK ? "" : ": ",
                rc == JURY_OK ? "" : err);
    if (rc != JURY_OK) {
        FUZZ_CHECK(rc == JURY_EINVAL || rc == JURY_ENOMEM, "parse returned %s", jury_errname(rc));
        FUZZ_CHECK(s == NULL, "*out was set on failure");
        FUZZ_CHECK(err[0] != '\0', "parse failed without a message");
        /* A message cut short still ends in a NUL. */
        char small[6];
        memset(small, 'x', sizeof small);
        rc = jury_settings_parse(&s, json, size, small, sizeof small);
        FUZZ_CHECK(rc != JURY_OK && memchr(small, '\0', sizeof small) != NULL,
                   "short err: %s, not NUL-terminated", jury_errname(rc));
        free(json);
        return 0;
    }
    FUZZ_CHECK(s != NULL, "JURY_OK without settings");
    s_accessors(s);

    /* The normalised form parses to equal settings and prints the same text again. */
    char *compact = jury_settings_to_json(s, false);
    char *pretty = jury_settings_to_json(s, true);
    FUZZ_CHECK(compact && pretty, "to_json returned NULL");
    jury_settings_t *s2 = s_reparse(compact, "compact");
    jury_settings_t *s3 = s_reparse(pretty, "pretty");
    char *compact2 = jury_settings_to_json(s2, false);
    char *compact3 = jury_settings_to_json(s3, false);
    char *pretty2 = jury_settings_to_json(s2, true);
    FUZZ_CHECK(compact2 && compact3 && pretty2, "to_json returned NULL");
    FUZZ_CHECK(strcmp(compact, compact2) == 0, "print, parse, print differs:\n%s\n%s", compact,
               compact2);
    FUZZ_CHECK(strcmp(compact, compact3) == 0, "pretty print, parse, print differs:\n%s\n%s",
               compact, compact3);
    FUZZ_CHECK(strcmp(pretty, pretty2) == 0, "pretty print, parse, pretty print differs:\n%s\n%s",
               pretty, pretty2);
    char why[256];
    FUZZ_CHECK(jury_settings_compatible(s, s2, why, sizeof why),
               "settings are not compatible with their own normalised form: %s", why);
    s_accessors(s2);
    s_welcome(s, compact);

    free(compact);
    free(pretty);
    free(compact2);
    free(compact3);
    free(pretty2);
    jury_settings_destroy(&s3);
    jury_settings_destroy(&s2);
    jury_settings_destroy(&s);
    FUZZ_CHECK(s == NULL, "destroy did not clear the pointer");
    jury_settings_destroy(&s);
    free(json);
    return 0;
}
