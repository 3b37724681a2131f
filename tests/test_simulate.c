/* test_simulate.c: the simulated annotator of `juror bot --simulate`: spec parsing, the PRNG
 * against reference vectors, and answers that are exact, valid and of the asked quality. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "jury_utf8.h"
#include "settings.h"
#include "simulate.h"

/* A dataset with one question of every type. Ratings are listed unsorted on purpose: the
 * default is the lower middle of the sorted values (3), wherever it stands. */
static const char s_all_settings[] =
    "{\"fields\": [{\"name\": \"instruction\", \"type\": \"text\"},"
    "             {\"name\": \"note\", \"type\": \"text\", \"required\": false}],"
    " \"questions\": ["
    "  {\"name\": \"response\", \"type\": \"text\"},"
    "  {\"name\": \"topic\", \"type\": \"label_selection\","
    "   \"labels\": {\"billing\": \"Billing\", \"shipping\": \"Shipping\", \"account\": "
    "\"Account\"}},"
    "  {\"name\": \"quality\", \"type\": \"rating\", \"values\": [5, 1, 4, 2, 3]},"
    "  {\"name\": \"issues\", \"type\": \"multi_label_selection\", \"labels\": [\"rude\", "
    "\"wrong\", \"vague\"]},"
    "  {\"name\": \"best\", \"type\": \"ranking\", \"values\": [\"a\", \"b\", \"c\", \"d\"], "
    "\"allow_ties\": true},"
    "  {\"name\": \"entities\", \"type\": \"span\", \"field\": \"instruction\","
    "   \"labels\": [\"order-id\", \"product\"]},"
    "  {\"name\": \"marks\", \"type\": \"span\", \"field\": \"note\", \"labels\": [\"x\"],"
    "   \"required\": false, \"allow_overlapping\": true}],"
    " \"metadata\": [{\"name\": \"category\", \"type\": \"terms\"},"
    "              {\"name\": \"secret\", \"type\": \"terms\", \"visible_for_annotators\": "
    "false}]}";

/* The settings as the coordinator validates them, and as a juror sees them (normalised). */
typedef struct {
    jury_settings_t *s; /* for checking answers with the coordinator's own rules */
    char *json;         /* normalised settings text, as juror_settings gives it */
} fixture_t;

static fixture_t fixture(const char *settings)
{
    fixture_t f = {0};
    char err[512];
    if (jury_settings_parse(&f.s, settings, strlen(settings), err, sizeof err) != JURY_OK)
        fail_msg("test settings: %s", err);
    f.json = jury_settings_to_json(f.s, true);
    assert_non_null(f.json);
    return f;
}

static void fixture_free(fixture_t *f)
{
    jury_settings_destroy(&f->s);
    free(f->json);
}

static juror_sim_t *new_sim(const fixture_t *f, const char *spec_text)
{
    juror_sim_spec_t spec;
    juror_sim_t *sim = NULL;
    char err[256];
    if (juror_sim_spec_parse(&spec, spec_text, err, sizeof err) != JURY_OK)
        fail_msg("spec %s: %s", spec_text, err);
    if (juror_sim_new(&sim, f->json, &spec, err, sizeof err) != JURY_OK)
        fail_msg("juror_sim_new: %s", err);
    return sim;
}

/* Asserts that values_json is a valid submitted response to record_json by the coordinator's rules.
 */
static void assert_valid(const fixture_t *f, const char *record_json, const char *values_json)
{
    cJSON *rec = cJSON_Parse(record_json), *values = cJSON_Parse(values_json);
    char err[512];
    assert_non_null(rec);
    assert_non_null(values);
    if (jury_settings_check_answers(f->s, values, true,
                                    cJSON_GetObjectItemCaseSensitive(rec, "fields"), err,
                                    sizeof err) != JURY_OK)
        fail_msg("invalid answer %s to %s: %s", values_json, record_json, err);
    cJSON_Delete(rec);
    cJSON_Delete(values);
}

/* Answers record_json with seed 1 and returns the answer (the caller clears it). */
static juror_sim_answer_t answer(const juror_sim_t *sim, const char *record_json)
{
    juror_sim_rng_t rng;
    juror_sim_answer_t a;
    char err[256];
    juror_sim_rng_record(&rng, 1, "r");
    if (juror_sim_answer(sim, record_json, &rng, &a, err, sizeof err) != JURY_OK)
        fail_msg("juror_sim_answer: %s", err);
    return a;
}

/* ---------------------------------------------------------------------------------------------
 * The spec.
 */

static void test_spec_full(void **state)
{
    (void)state;
    juror_sim_spec_t s;
    char err[256];
    assert_int_equal(juror_sim_spec_parse(&s,
                                          "error=0.1,discard=0.02,edit=0.3,think=0..50,"
                                          "gold=category,seed=7",
                                          err, sizeof err),
                     JURY_OK);
    assert_true(s.error == 0.1);
    assert_true(s.discard == 0.02);
    assert_true(s.edit == 0.3);
    assert_int_equal(s.think_min_ms, 0);
    assert_int_equal(s.think_max_ms, 50);
    assert_string_equal(s.gold, "category");
    assert_true(s.has_seed);
    assert_int_equal(s.seed, 7);
    assert_string_equal(err, "");

    /* Any order; a single think time; the largest seed; probabilities 0 and 1. */
    assert_int_equal(juror_sim_spec_parse(&s, "seed=18446744073709551615,think=20,error=1,edit=0",
                                          err, sizeof err),
                     JURY_OK);
    assert_int_equal(s.seed, UINT64_MAX);
    assert_int_equal(s.think_min_ms, 20);
    assert_int_equal(s.think_max_ms, 20);
    assert_true(s.error == 1.0 && s.edit == 0.0);
    assert_int_equal(juror_sim_spec_parse(&s, "think=600000..600000", err, sizeof err), JURY_OK);
}

static void test_spec_defaults(void **state)
{
    (void)state;
    juror_sim_spec_t s, zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(juror_sim_spec_parse(&s, "", NULL, 0), JURY_OK);
    assert_memory_equal(&s, &zero, sizeof s);
    assert_int_equal(juror_sim_spec_parse(&s, NULL, NULL, 0), JURY_OK);
    assert_memory_equal(&s, &zero, sizeof s);
}

static void test_spec_errors(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"bogus=1", "unknown key 'bogus' (keys: error, discard, edit, think, gold, seed)"},
        {"Error=0.1", "unknown key 'Error' (keys: error, discard, edit, think, gold, seed)"},
        {"error=0.1,error=0.2", "error is given twice"},
        {"error", "'error': expected key=value (keys: error, discard, edit, think, gold, seed)"},
        {"error=1.5", "error=1.5: must be a probability within 0..1, such as error=0.1"},
        {"discard=-0.1", "discard=-0.1: must be a probability within 0..1, such as discard=0.1"},
        {"edit=", "edit=: must be a probability within 0..1, such as edit=0.1"},
        {"edit=0.1.2", "edit=0.1.2: must be a probability within 0..1, such as edit=0.1"},
        {"error=nan", "error=nan: must be a probability within 0..1, such as error=0.1"},
        {"error=1e-3", "error=1e-3: must be a probability within 0..1, such as error=0.1"},
        {"error= 0.1", "error= 0.1: must be a probability within 0..1, such as error=0.1"},
        {"think=5..1", "think=5..1: the minimum is greater than the maximum"},
        {"think=a", "think=a: must be milliseconds MS or a range MIN..MAX, each within 0..600000"},
        {"think=0..",
         "think=0..: must be milliseconds MS or a range MIN..MAX, each within 0..600000"},
        {"think=600001", "think=600001: must be milliseconds MS or a range MIN..MAX, each within "
                         "0..600000"},
        {"gold=Category", "gold=Category: must be a metadata property name (1 to 200 lowercase "
                          "letters, digits, '_' and '-')"},
        {"gold=", "gold=: must be a metadata property name (1 to 200 lowercase letters, digits, "
                  "'_' and '-')"},
        {"seed=-1", "seed=-1: must be an unsigned decimal integer below 2^64"},
        {"seed=18446744073709551616", "seed=18446744073709551616: must be an unsigned decimal "
                                      "integer below 2^64"},
        {"error=0.1,", "empty item (a comma at an end, or two in a row); write key=value items "
                       "separated by commas"},
        {",error=0.1", "empty item (a comma at an end, or two in a row); write key=value items "
                       "separated by commas"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        juror_sim_spec_t s;
        char err[256] = "unset";
        if (juror_sim_spec_parse(&s, cases[i][0], err, sizeof err) != JURY_EINVAL)
            fail_msg("spec '%s' was accepted", cases[i][0]);
        if (strcmp(err, cases[i][1]) != 0)
            fail_msg("spec '%s': message\n  %s\nwant\n  %s", cases[i][0], err, cases[i][1]);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The PRNG.
 */

static void test_rng_reference_vectors(void **state)
{
    (void)state;
    juror_sim_rng_t r;
    /* Seeding fills the state with the first four splitmix64 outputs. Expected values: Rosetta
     * Code, "Pseudo-random numbers/Splitmix64" (seed 1234567), which follows Vigna's
     * splitmix64.c. */
    juror_sim_rng_seed(&r, 1234567);
    assert_true(r.s[0] == UINT64_C(6457827717110365317));
    assert_true(r.s[1] == UINT64_C(3203168211198807973));
    assert_true(r.s[2] == UINT64_C(9817491932198370423));
    assert_true(r.s[3] == UINT64_C(4593380528125082431));
    /* xoshiro256** from the state {1, 2, 3, 4}: outputs of Vigna's xoshiro256starstar.c,
     * recomputed by an independent Python transcription. */
    r = (juror_sim_rng_t){{1, 2, 3, 4}};
    static const uint64_t want[] = {11520u,
                                    0u,
                                    1509978240u,
                                    UINT64_C(1215971899390074240),
                                    UINT64_C(1216172134540287360),
                                    UINT64_C(607988272756665600)};
    for (size_t i = 0; i < 6; i++)
        assert_true(juror_sim_rng_next(&r) == want[i]);
    /* Seeds from names are 64-bit FNV-1a: the reference values of "", "a" and "foobar". */
    assert_true(juror_sim_seed_of_name("") == UINT64_C(0xcbf29ce484222325));
    assert_true(juror_sim_seed_of_name("a") == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(juror_sim_seed_of_name("foobar") == UINT64_C(0x85944171f73967e8));
}

static void test_rng_ranges(void **state)
{
    (void)state;
    juror_sim_rng_t r;
    juror_sim_rng_seed(&r, 0);
    size_t counts[6] = {0};
    for (int i = 0; i < 60000; i++) {
        uint64_t k = juror_sim_rng_below(&r, 6);
        assert_true(k < 6);
        counts[k]++;
        double u = juror_sim_rng_unit(&r);
        assert_true(u >= 0.0 && u < 1.0);
        assert_int_equal(juror_sim_rng_below(&r, 1), 0);
    }
    /* Each face 10000 +- 5.5 sigma (sigma = sqrt(60000 * 1/6 * 5/6) = 91). */
    for (int k = 0; k < 6; k++)
        assert_in_range(counts[k], 9500, 10500);
}

static void test_rng_per_record(void **state)
{
    (void)state;
    juror_sim_rng_t a, b, c, d;
    juror_sim_rng_record(&a, 7, "r1");
    juror_sim_rng_record(&b, 7, "r1");
    juror_sim_rng_record(&c, 7, "r2");
    juror_sim_rng_record(&d, 8, "r1");
    uint64_t x = juror_sim_rng_next(&a);
    assert_true(x == juror_sim_rng_next(&b));
    assert_true(x != juror_sim_rng_next(&c));
    assert_true(x != juror_sim_rng_next(&d));
}

/* ---------------------------------------------------------------------------------------------
 * Answers.
 */

static void test_defaults_without_suggestions(void **state)
{
    (void)state;
    fixture_t f = fixture(s_all_settings);
    juror_sim_t *sim = new_sim(&f, "");
    /* The optional span question "marks" marks up "note", which this record lacks: left out. */
    const char *rec = "{\"id\": \"r0\", \"fields\": {\"instruction\": \"h\\u00e9llo\"}, "
                      "\"suggestions\": {}, \"metadata\": {}, \"draft\": null}";
    juror_sim_answer_t a = answer(sim, rec);
    assert_false(a.discard);
    assert_int_equal(a.think_ms, 0);
    assert_int_equal(a.wrong, 0);
    assert_string_equal(a.values_json,
                        "{\"response\":\"Simulated answer to response for record r0.\","
                        "\"topic\":\"billing\",\"quality\":3,\"issues\":[\"rude\"],"
                        "\"best\":[\"a\",\"b\",\"c\",\"d\"],\"entities\":[]}");
    assert_valid(&f, rec, a.values_json);
    juror_sim_answer_clear(&a);
    juror_sim_answer_clear(&a); /* safe twice */
    assert_null(a.values_json);
    juror_sim_destroy(&sim);
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

/* With error=0 and edit=0 every answer is the record's suggestion. */
static const char s_suggested[] =
    "{\"id\": \"t1\", \"fields\": {\"instruction\": \"Order \\u00e9 4417 broke\", \"note\": "
    "\"ab\"},"
    " \"suggestions\": {"
    "  \"response\": {\"value\": \"Sorry about that!\", \"score\": 0.5},"
    "  \"topic\": {\"value\": \"account\"},"
    "  \"quality\": {\"value\": 2},"
    "  \"issues\": {\"value\": [\"wrong\", \"vague\"]},"
    "  \"best\": {\"value\": [\"c\", [\"a\", \"d\"], \"b\"]},"
    "  \"entities\": {\"value\": [{\"start\": 8, \"end\": 12, \"label\": \"order-id\"},"
    "                             {\"start\": 13, \"end\": 18, \"label\": \"product\"}]},"
    "  \"marks\": {\"value\": [{\"start\": 0, \"end\": 2, \"label\": \"x\"},"
    "                          {\"start\": 1, \"end\": 2, \"label\": \"x\"}]}},"
    " \"metadata\": {\"category\": \"shipping\"}}";

static void test_suggestions_kept(void **state)
{
    (void)state;
    fixture_t f = fixture(s_all_settings);
    juror_sim_t *sim = new_sim(&f, "seed=3");
    juror_sim_answer_t a = answer(sim, s_suggested);
    assert_string_equal(a.values_json,
                        "{\"response\":\"Sorry about that!\",\"topic\":\"account\",\"quality\":2,"
                        "\"issues\":[\"wrong\",\"vague\"],\"best\":[\"c\",[\"a\",\"d\"],\"b\"],"
                        "\"entities\":[{\"start\":8,\"end\":12,\"label\":\"order-id\"},"
                        "{\"start\":13,\"end\":18,\"label\":\"product\"}],"
                        "\"marks\":[{\"start\":0,\"end\":2,\"label\":\"x\"},"
                        "{\"start\":1,\"end\":2,\"label\":\"x\"}]}");
    assert_false(a.gold_used);
    assert_valid(&f, s_suggested, a.values_json);
    juror_sim_answer_clear(&a);
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

static void test_invalid_suggestions_ignored(void **state)
{
    (void)state;
    fixture_t f = fixture(s_all_settings);
    juror_sim_t *sim = new_sim(&f, "");
    /* A span past the text (2 code points: the offsets count code points, not bytes), an
     * unknown label, a ranking missing a value, an empty multi-label set: defaults instead. */
    const char *rec =
        "{\"id\": \"t2\", \"fields\": {\"instruction\": \"\\u00e9\\u00e9\"}, \"suggestions\": {"
        " \"topic\": {\"value\": \"nope\"}, \"quality\": {\"value\": 9},"
        " \"issues\": {\"value\": []}, \"best\": {\"value\": [\"a\", \"b\", \"c\"]},"
        " \"entities\": {\"value\": [{\"start\": 0, \"end\": 3, \"label\": \"product\"}]}}}";
    juror_sim_answer_t a = answer(sim, rec);
    assert_string_equal(a.values_json,
                        "{\"response\":\"Simulated answer to response for record t2.\","
                        "\"topic\":\"billing\",\"quality\":3,\"issues\":[\"rude\"],"
                        "\"best\":[\"a\",\"b\",\"c\",\"d\"],\"entities\":[]}");
    juror_sim_answer_clear(&a);
    /* Overlapping spans, which "entities" does not allow (and "marks" does). */
    rec = "{\"id\": \"t3\", \"fields\": {\"instruction\": \"abc\", \"note\": \"abc\"},"
          " \"suggestions\": {"
          " \"entities\": {\"value\": [{\"start\": 0, \"end\": 2, \"label\": \"product\"},"
          "                             {\"start\": 1, \"end\": 3, \"label\": \"product\"}]},"
          " \"marks\": {\"value\": [{\"start\": 0, \"end\": 2, \"label\": \"x\"},"
          "                          {\"start\": 1, \"end\": 3, \"label\": \"x\"}]}}}";
    a = answer(sim, rec);
    assert_string_equal(a.values_json,
                        "{\"response\":\"Simulated answer to response for record t3.\","
                        "\"topic\":\"billing\",\"quality\":3,\"issues\":[\"rude\"],"
                        "\"best\":[\"a\",\"b\",\"c\",\"d\"],\"entities\":[],"
                        "\"marks\":[{\"start\":0,\"end\":2,\"label\":\"x\"},"
                        "{\"start\":1,\"end\":3,\"label\":\"x\"}]}");
    juror_sim_answer_clear(&a);
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

static void test_gold_label(void **state)
{
    (void)state;
    fixture_t f = fixture(s_all_settings);
    juror_sim_t *sim = new_sim(&f, "gold=category");
    assert_string_equal(juror_sim_gold_question(sim), "topic");
    assert_true(juror_sim_gold_visible(sim));
    /* Gold beats the suggestion ("account"). */
    juror_sim_answer_t a = answer(sim, s_suggested);
    assert_true(a.gold_used);
    cJSON *v = cJSON_Parse(a.values_json);
    assert_string_equal(cJSON_GetObjectItem(v, "topic")->valuestring, "shipping");
    cJSON_Delete(v);
    juror_sim_answer_clear(&a);
    /* No gold value, or one that is not a label: the suggestion. */
    const char *recs[] = {
        "{\"id\": \"g1\", \"fields\": {\"instruction\": \"x\"}, \"metadata\": {},"
        " \"suggestions\": {\"topic\": {\"value\": \"account\"}}}",
        "{\"id\": \"g2\", \"fields\": {\"instruction\": \"x\"}, \"metadata\": {\"category\": "
        "\"other\"}, \"suggestions\": {\"topic\": {\"value\": \"account\"}}}"};
    for (size_t i = 0; i < 2; i++) {
        a = answer(sim, recs[i]);
        assert_false(a.gold_used);
        v = cJSON_Parse(a.values_json);
        assert_string_equal(cJSON_GetObjectItem(v, "topic")->valuestring, "account");
        cJSON_Delete(v);
        juror_sim_answer_clear(&a);
    }
    juror_sim_destroy(&sim);
    /* A property annotators do not see is never in a record: the bot warns about it. */
    sim = new_sim(&f, "gold=secret");
    assert_false(juror_sim_gold_visible(sim));
    juror_sim_destroy(&sim);
    sim = new_sim(&f, "gold=unlisted");
    assert_false(juror_sim_gold_visible(sim));
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

static void test_gold_rating(void **state)
{
    (void)state;
    /* The first label or rating question is a rating; an even count of values has its lower
     * middle (2) as default. */
    fixture_t f = fixture("{\"fields\": [{\"name\": \"t\", \"type\": \"text\"}], \"questions\": ["
                          " {\"name\": \"stars\", \"type\": \"rating\", \"values\": [1, 2, 3, 4]},"
                          " {\"name\": \"topic\", \"type\": \"label_selection\", \"labels\": "
                          "[\"1\", \"4\"]}],"
                          " \"metadata\": [{\"name\": \"truth\", \"type\": \"terms\"}]}");
    juror_sim_t *sim = new_sim(&f, "gold=truth");
    assert_string_equal(juror_sim_gold_question(sim), "stars");
    static const char *const cases[][2] = {
        {"{\"id\": \"a\", \"fields\": {\"t\": \"x\"}, \"metadata\": {\"truth\": 4}}",
         "{\"stars\":4,\"topic\":\"1\"}"},
        {"{\"id\": \"b\", \"fields\": {\"t\": \"x\"}, \"metadata\": {\"truth\": \"1\"}}",
         "{\"stars\":1,\"topic\":\"1\"}"},
        {"{\"id\": \"c\", \"fields\": {\"t\": \"x\"}, \"metadata\": {\"truth\": 7}}",
         "{\"stars\":2,\"topic\":\"1\"}"},
        {"{\"id\": \"d\", \"fields\": {\"t\": \"x\"}}", "{\"stars\":2,\"topic\":\"1\"}"},
    };
    for (size_t i = 0; i < 4; i++) {
        juror_sim_answer_t a = answer(sim, cases[i][0]);
        assert_string_equal(a.values_json, cases[i][1]);
        assert_valid(&f, cases[i][0], a.values_json);
        juror_sim_answer_clear(&a);
    }
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

/* error=1: every label, rating, multi-label and ranking answer differs from the truth, and is
 * valid. */
static void test_error_always_wrong(void **state)
{
    (void)state;
    fixture_t f = fixture(s_all_settings);
    juror_sim_t *sim = new_sim(&f, "error=1");
    juror_sim_t *truth_sim = new_sim(&f, "error=0");
    static const char *const recs[] = {
        s_suggested,
        "{\"id\": \"n\", \"fields\": {\"instruction\": \"x\"}}",
        /* every value tied: the wrong ranking breaks the tie */
        "{\"id\": \"t\", \"fields\": {\"instruction\": \"x\"}, \"suggestions\": {\"best\": "
        "{\"value\": [[\"a\", \"b\", \"c\", \"d\"]]}, \"issues\": {\"value\": [\"rude\"]}}}",
    };
    for (size_t i = 0; i < 3; i++) {
        for (uint64_t seed = 0; seed < 200; seed++) {
            juror_sim_rng_t rng;
            juror_sim_answer_t a, t;
            char err[256];
            juror_sim_rng_seed(&rng, seed);
            assert_int_equal(juror_sim_answer(sim, recs[i], &rng, &a, err, sizeof err), JURY_OK);
            t = answer(truth_sim, recs[i]);
            assert_int_equal(a.wrong, 4);
            assert_valid(&f, recs[i], a.values_json);
            cJSON *av = cJSON_Parse(a.values_json), *tv = cJSON_Parse(t.values_json);
            static const char *const graded[] = {"topic", "quality", "issues", "best"};
            for (size_t q = 0; q < 4; q++)
                if (cJSON_Compare(cJSON_GetObjectItem(av, graded[q]),
                                  cJSON_GetObjectItem(tv, graded[q]), true))
                    fail_msg("%s: error=1 left %s right: %s", recs[i], graded[q], a.values_json);
            /* The wrong ranking is the true one with two neighbouring ranks (tie groups
             * included, kept whole) swapped. */
            const cJSON *wb = cJSON_GetObjectItem(av, "best"),
                        *tb = cJSON_GetObjectItem(tv, "best");
            int n = cJSON_GetArraySize(tb), swaps = 0;
            if (n == 1) {
                assert_int_equal(cJSON_GetArraySize(wb), 4); /* a full tie is broken up */
            } else {
                assert_int_equal(cJSON_GetArraySize(wb), n);
                for (int g = 0; g < n; g++) {
                    const cJSON *x = cJSON_GetArrayItem(wb, g), *y = cJSON_GetArrayItem(tb, g);
                    if (cJSON_Compare(x, y, true))
                        continue;
                    assert_true(g + 1 < n);
                    assert_true(cJSON_Compare(x, cJSON_GetArrayItem(tb, g + 1), true));
                    assert_true(cJSON_Compare(cJSON_GetArrayItem(wb, g + 1), y, true));
                    swaps++;
                    g++;
                }
                assert_int_equal(swaps, 1);
            }
            /* text and spans are never made wrong */
            assert_true(cJSON_Compare(cJSON_GetObjectItem(av, "response"),
                                      cJSON_GetObjectItem(tv, "response"), true));
            assert_true(cJSON_Compare(cJSON_GetObjectItem(av, "entities"),
                                      cJSON_GetObjectItem(tv, "entities"), true));
            cJSON_Delete(av);
            cJSON_Delete(tv);
            juror_sim_answer_clear(&a);
            juror_sim_answer_clear(&t);
        }
    }
    juror_sim_destroy(&sim);
    juror_sim_destroy(&truth_sim);
    fixture_free(&f);
}

/*
 * The wrong-answer share over many records is the error rate: 100,000 records with one
 * 3-label question at error=0.3 give a Binomial(100000, 0.3) count, sigma =
 * sqrt(100000 * 0.3 * 0.7) = 145, so the share is 0.3 +- 0.005 at 3.4 sigma. Wrong labels
 * spread evenly over the two other labels (each half of the wrong ones, +- 4 sigma).
 */
static void test_error_rate(void **state)
{
    (void)state;
    fixture_t f = fixture("{\"fields\": [{\"name\": \"t\", \"type\": \"text\"}], \"questions\": ["
                          "{\"name\": \"label\", \"type\": \"label_selection\", \"labels\": "
                          "[\"pos\", \"neg\", \"mixed\"]}], \"metadata\": [{\"name\": \"gold\", "
                          "\"type\": \"terms\"}]}");
    juror_sim_t *sim = new_sim(&f, "error=0.3,gold=gold");
    size_t wrong = 0, by_label[3] = {0};
    for (int i = 0; i < 100000; i++) {
        char rec[128], id[32], err[256];
        snprintf(id, sizeof id, "r%d", i);
        snprintf(rec, sizeof rec,
                 "{\"id\": \"%s\", \"fields\": {\"t\": \"x\"}, \"metadata\": {\"gold\": \"pos\"}}",
                 id);
        juror_sim_rng_t rng;
        juror_sim_answer_t a;
        juror_sim_rng_record(&rng, 7, id);
        assert_int_equal(juror_sim_answer(sim, rec, &rng, &a, err, sizeof err), JURY_OK);
        assert_true(a.gold_used);
        bool is_wrong = strcmp(a.values_json, "{\"label\":\"pos\"}") != 0;
        assert_int_equal(a.wrong, is_wrong);
        wrong += is_wrong;
        by_label[strstr(a.values_json, "neg") ? 1 : strstr(a.values_json, "mixed") ? 2 : 0]++;
        juror_sim_answer_clear(&a);
    }
    assert_in_range(wrong, 29500, 30500);
    assert_int_equal(by_label[1] + by_label[2], wrong);
    /* half of ~30000, sigma = sqrt(30000 / 4) = 87 */
    assert_in_range(by_label[1], wrong / 2 - 350, wrong / 2 + 350);
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

/* Discards at their rate (20,000 records at 0.25: sigma 61, +- 4.9 sigma), think times uniform
 * within the range. */
static void test_discard_and_think(void **state)
{
    (void)state;
    fixture_t f = fixture(s_all_settings);
    juror_sim_t *sim = new_sim(&f, "discard=0.25,think=10..13");
    size_t discarded = 0, think[4] = {0};
    for (int i = 0; i < 20000; i++) {
        char id[32], err[256];
        snprintf(id, sizeof id, "r%d", i);
        juror_sim_rng_t rng;
        juror_sim_answer_t a;
        juror_sim_rng_record(&rng, 1, id);
        assert_int_equal(juror_sim_answer(sim, s_suggested, &rng, &a, err, sizeof err), JURY_OK);
        assert_in_range(a.think_ms, 10, 13);
        think[a.think_ms - 10]++;
        if (a.discard) {
            assert_null(a.values_json);
            discarded++;
        } else {
            assert_non_null(a.values_json);
        }
        juror_sim_answer_clear(&a);
    }
    assert_in_range(discarded, 4700, 5300);
    for (int k = 0; k < 4; k++)
        assert_in_range(think[k], 4700, 5300);
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

static void test_edit_text(void **state)
{
    (void)state;
    fixture_t f = fixture("{\"fields\": [{\"name\": \"t\", \"type\": \"text\"}], \"questions\": ["
                          "{\"name\": \"reply\", \"type\": \"text\"}]}");
    juror_sim_t *sim = new_sim(&f, "edit=1");
    /* Short, multibyte, whitespace only, and at the 65536-byte limit (both with multibyte
     * characters across the cut and with plain words). */
    size_t big = 65536;
    char *full_multi = malloc(big + 1), *full_words = malloc(big + 1);
    assert_non_null(full_multi);
    assert_non_null(full_words);
    for (size_t i = 0; i < big; i += 2)
        memcpy(full_multi + i, "\xc3\xa9", 2); /* U+00E9 */
    full_multi[big] = '\0';
    for (size_t i = 0; i < big; i++)
        full_words[i] = i % 3 == 2 ? ' ' : 'a';
    full_words[big] = '\0';
    /* Words of two 2-byte characters: replacements of other lengths move the 65536-byte cut
     * into the middle of a character, which must be cut before it. */
    char *multi_words = malloc(big + 1);
    assert_non_null(multi_words);
    size_t mw = 0;
    while (mw + 5 <= big) {
        memcpy(multi_words + mw, "\xc3\xa9\xc3\xa9 ", 5);
        mw += 5;
    }
    multi_words[mw - 1] = '\0';
    const char *texts[] = {"Sorry about that, we will refund it.",
                           "Gr\xc3\xbc\xc3\x9f Gott \xe2\x82\xac",
                           "   ",
                           "word",
                           full_multi,
                           full_words,
                           multi_words};
    size_t edited = 0, answers = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "id", "e");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(rec, "fields"), "t", "x");
        cJSON *sug = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rec, "suggestions"), "reply");
        cJSON_AddStringToObject(sug, "value", texts[i]);
        char *rec_json = cJSON_PrintUnformatted(rec);
        for (uint64_t seed = 0; seed < 200; seed++) {
            juror_sim_rng_t rng;
            juror_sim_answer_t a;
            char err[256];
            juror_sim_rng_seed(&rng, seed);
            assert_int_equal(juror_sim_answer(sim, rec_json, &rng, &a, err, sizeof err), JURY_OK);
            cJSON *v = cJSON_Parse(a.values_json);
            const char *reply = cJSON_GetObjectItem(v, "reply")->valuestring;
            size_t n = strlen(reply);
            assert_true(n >= 1 && n <= 65536);
            assert_true(jury_utf8_valid(reply, n, NULL));
            assert_int_equal(a.edited, strcmp(reply, texts[i]) != 0);
            assert_valid(&f, rec_json, a.values_json);
            edited += a.edited;
            answers++;
            cJSON_Delete(v);
            juror_sim_answer_clear(&a);
        }
        free(rec_json);
        cJSON_Delete(rec);
    }
    /* Only the three texts at (or 2 bytes from) the limit can come out unchanged, when an
     * appended sentence is cut off whole. */
    assert_true(edited >= answers - 3 * 200);
    assert_true(edited > answers / 2);
    free(full_multi);
    free(full_words);
    free(multi_words);
    juror_sim_destroy(&sim);

    /* edit=0 keeps the suggestion; no suggestion gives the fixed text, edit or not. */
    sim = new_sim(&f, "edit=0");
    juror_sim_answer_t a =
        answer(sim, "{\"id\": \"k\", \"fields\": {\"t\": \"x\"}, \"suggestions\": {\"reply\": "
                    "{\"value\": \"Keep me.\"}}}");
    assert_string_equal(a.values_json, "{\"reply\":\"Keep me.\"}");
    assert_int_equal(a.edited, 0);
    juror_sim_answer_clear(&a);
    juror_sim_destroy(&sim);
    sim = new_sim(&f, "edit=1");
    a = answer(sim, "{\"id\": \"k\", \"fields\": {\"t\": \"x\"}}");
    assert_string_equal(a.values_json, "{\"reply\":\"Simulated answer to reply for record k.\"}");
    juror_sim_answer_clear(&a);
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

/* A random valid suggestion set for s_all_settings, as a record. Caller frees. */
static char *random_record(juror_sim_rng_t *r, int i)
{
    static const char *const pieces[] = {
        "order ", "\xc3\xa9t\xc3\xa9 ", "\xe2\x82\xac", "42 ", "\xf0\x9f\x98\x80 ", "broken ", "x"};
    static const char *const topics[] = {"billing", "shipping", "account"};
    static const char *const issues[] = {"rude", "wrong", "vague"};
    static const char *const best[] = {"a", "b", "c", "d"};
    char text[256] = "", id[32];
    size_t cps = 0;
    for (uint64_t k = 1 + juror_sim_rng_below(r, 8); k > 0; k--) {
        const char *p = pieces[juror_sim_rng_below(r, 7)];
        strcat(text, p);
        for (const char *c = p; *c; c++)
            cps += ((unsigned char)*c & 0xC0) != 0x80;
    }
    snprintf(id, sizeof id, "p%d", i);
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "id", id);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(rec, "fields"), "instruction", text);
    cJSON *md = cJSON_AddObjectToObject(rec, "metadata");
    if (juror_sim_rng_below(r, 2))
        cJSON_AddStringToObject(md, "category", topics[juror_sim_rng_below(r, 3)]);
    cJSON *sug = cJSON_AddObjectToObject(rec, "suggestions");
    if (juror_sim_rng_below(r, 2))
        cJSON_AddStringToObject(cJSON_AddObjectToObject(sug, "response"), "value", text);
    if (juror_sim_rng_below(r, 2))
        cJSON_AddStringToObject(cJSON_AddObjectToObject(sug, "topic"), "value",
                                topics[juror_sim_rng_below(r, 3)]);
    if (juror_sim_rng_below(r, 2))
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(sug, "quality"), "value",
                                (double)(1 + juror_sim_rng_below(r, 5)));
    if (juror_sim_rng_below(r, 2)) {
        cJSON *arr = cJSON_AddArrayToObject(cJSON_AddObjectToObject(sug, "issues"), "value");
        uint64_t mask = 1 + juror_sim_rng_below(r, 7);
        for (int k = 0; k < 3; k++)
            if (mask >> k & 1)
                cJSON_AddItemToArray(arr, cJSON_CreateString(issues[k]));
    }
    if (juror_sim_rng_below(r, 2)) {
        /* A random permutation, cut into random tie groups. */
        int perm[4] = {0, 1, 2, 3};
        for (int k = 3; k > 0; k--) {
            int j = (int)juror_sim_rng_below(r, (uint64_t)k + 1), t = perm[k];
            perm[k] = perm[j], perm[j] = t;
        }
        cJSON *arr = cJSON_AddArrayToObject(cJSON_AddObjectToObject(sug, "best"), "value");
        for (int k = 0; k < 4;) {
            int len = 1 + (int)juror_sim_rng_below(r, (uint64_t)(4 - k));
            if (len == 1) {
                cJSON_AddItemToArray(arr, cJSON_CreateString(best[perm[k]]));
            } else {
                cJSON *tie = cJSON_CreateArray();
                for (int m = 0; m < len; m++)
                    cJSON_AddItemToArray(tie, cJSON_CreateString(best[perm[k + m]]));
                cJSON_AddItemToArray(arr, tie);
            }
            k += len;
        }
    }
    if (juror_sim_rng_below(r, 2)) {
        /* Non-overlapping spans within the text's code points. */
        cJSON *arr = cJSON_AddArrayToObject(cJSON_AddObjectToObject(sug, "entities"), "value");
        size_t at = 0;
        while (at < cps && juror_sim_rng_below(r, 3)) {
            size_t start = at + (size_t)juror_sim_rng_below(r, cps - at);
            size_t end = start + 1 + (size_t)juror_sim_rng_below(r, cps - start);
            cJSON *sp = cJSON_CreateObject();
            cJSON_AddNumberToObject(sp, "start", (double)start);
            cJSON_AddNumberToObject(sp, "end", (double)end);
            cJSON_AddStringToObject(sp, "label",
                                    juror_sim_rng_below(r, 2) ? "product" : "order-id");
            cJSON_AddItemToArray(arr, sp);
            at = end;
        }
    }
    char *out = cJSON_PrintUnformatted(rec);
    cJSON_Delete(rec);
    return out;
}

/* Whatever the spec and the record, the answer is valid; with no error it equals the suggestions.
 */
static void test_always_valid(void **state)
{
    (void)state;
    fixture_t f = fixture(s_all_settings);
    juror_sim_t *truthful = new_sim(&f, "edit=0");
    juror_sim_t *sloppy = new_sim(&f, "error=0.5,edit=0.5,gold=category");
    juror_sim_rng_t gen;
    juror_sim_rng_seed(&gen, 2024);
    for (int i = 0; i < 3000; i++) {
        char *rec = random_record(&gen, i);
        /* The record must be valid for the dataset, or the test proves nothing. */
        cJSON *jr = cJSON_Parse(rec);
        char err[512];
        if (jury_settings_check_record(f.s, jr, err, sizeof err) != JURY_OK)
            fail_msg("generated record %s: %s", rec, err);
        juror_sim_answer_t a = answer(sloppy, rec), t = answer(truthful, rec);
        assert_valid(&f, rec, a.values_json);
        assert_valid(&f, rec, t.values_json);
        /* Every suggestion comes back unchanged from the truthful annotator. */
        cJSON *tv = cJSON_Parse(t.values_json);
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(jr, "suggestions"))
        {
            if (!cJSON_Compare(cJSON_GetObjectItem(s, "value"), cJSON_GetObjectItem(tv, s->string),
                               true))
                fail_msg("record %s: suggestion %s not kept: %s", rec, s->string, t.values_json);
        }
        cJSON_Delete(tv);
        cJSON_Delete(jr);
        juror_sim_answer_clear(&a);
        juror_sim_answer_clear(&t);
        free(rec);
    }
    juror_sim_destroy(&truthful);
    juror_sim_destroy(&sloppy);
    fixture_free(&f);
}

static void test_bad_input(void **state)
{
    (void)state;
    juror_sim_spec_t spec = {0};
    juror_sim_t *sim = NULL;
    char err[256];
    assert_int_equal(juror_sim_new(&sim, "not json", &spec, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "settings: not an object with a list of questions");
    assert_null(sim);
    assert_int_equal(juror_sim_new(&sim, NULL, &spec, err, sizeof err), JURY_EINVAL);
    /* A question type from the future: skipped when optional, refused when required. */
    assert_int_equal(
        juror_sim_new(&sim,
                      "{\"questions\": [{\"name\": \"q\", \"type\": \"text\"},"
                      " {\"name\": \"z\", \"type\": \"hologram\", \"required\": false}]}",
                      &spec, err, sizeof err),
        JURY_OK);
    juror_sim_answer_t a;
    juror_sim_rng_t rng;
    juror_sim_rng_seed(&rng, 0);
    assert_int_equal(
        juror_sim_answer(sim, "{\"id\": \"1\", \"fields\": {}}", &rng, &a, err, sizeof err),
        JURY_OK);
    assert_string_equal(a.values_json, "{\"q\":\"Simulated answer to q for record 1.\"}");
    juror_sim_answer_clear(&a);
    /* Records without an id or fields. */
    static const char *const bad[] = {"[]",
                                      "{\"fields\": {}}",
                                      "{\"id\": 1, \"fields\": {}}",
                                      "{\"id\": \"1\"}",
                                      "{\"id\": \"1\", \"fields\": {",
                                      NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(juror_sim_answer(sim, bad[i], &rng, &a, err, sizeof err), JURY_EINVAL);
        assert_string_equal(err, "the record is not an object with an id and fields");
        assert_null(a.values_json);
    }
    juror_sim_destroy(&sim);
    assert_int_equal(juror_sim_new(&sim,
                                   "{\"questions\": [{\"name\": \"z\", \"type\": \"hologram\"}]}",
                                   &spec, err, sizeof err),
                     JURY_EINVAL);
    assert_string_equal(err, "settings: required question \"z\" has the type \"hologram\", which "
                             "the simulator cannot answer");

    /* A required span question whose field the record lacks cannot be answered. */
    fixture_t f = fixture("{\"fields\": [{\"name\": \"t\", \"type\": \"text\"}, {\"name\": \"u\", "
                          "\"type\": \"text\", \"required\": false}], \"questions\": ["
                          "{\"name\": \"s\", \"type\": \"span\", \"field\": \"u\", \"labels\": "
                          "[\"x\"]}]}");
    sim = new_sim(&f, "");
    assert_int_equal(juror_sim_answer(sim, "{\"id\": \"1\", \"fields\": {\"t\": \"x\"}}", &rng, &a,
                                      err, sizeof err),
                     JURY_EINVAL);
    assert_string_equal(err, "span question \"s\" needs the field \"u\", which the record lacks");
    juror_sim_destroy(&sim);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_full),
        cmocka_unit_test(test_spec_defaults),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_rng_reference_vectors),
        cmocka_unit_test(test_rng_ranges),
        cmocka_unit_test(test_rng_per_record),
        cmocka_unit_test(test_defaults_without_suggestions),
        cmocka_unit_test(test_suggestions_kept),
        cmocka_unit_test(test_invalid_suggestions_ignored),
        cmocka_unit_test(test_gold_label),
        cmocka_unit_test(test_gold_rating),
        cmocka_unit_test(test_error_always_wrong),
        cmocka_unit_test(test_error_rate),
        cmocka_unit_test(test_discard_and_think),
        cmocka_unit_test(test_edit_text),
        cmocka_unit_test(test_always_valid),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
