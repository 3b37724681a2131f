/* test_settings.c: settings parsing, normalised output and record checks, one test per rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "settings.h"

/*
 * JSON in these tests is written with ' where JSON has ", so that it reads
 * like the documents people write; json_of() turns it into real JSON. An
 * apostrophe inside a JSON string is written \u0027.
 */
static char *json_of(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

static char err[1024];

/* Parses settings that must be valid; the caller destroys them. */
static jury_settings_t *parse_ok(const char *text)
{
    jury_settings_t *s = NULL;
    char *json = json_of(text);
    jury_err rc = jury_settings_parse(&s, json, strlen(json), err, sizeof err);
    free(json);
    if (rc != JURY_OK)
        fail_msg("settings rejected: %s", err);
    assert_non_null(s);
    return s;
}

/* Parses settings that must be rejected with exactly the message expected. */
static void assert_settings_error(const char *text, const char *expected)
{
    jury_settings_t *s = NULL;
    char *json = json_of(text);
    jury_err rc = jury_settings_parse(&s, json, strlen(json), err, sizeof err);
    free(json);
    assert_int_equal(rc, JURY_EINVAL);
    assert_null(s);
    assert_string_equal(err, expected);
}

static jury_err check_record(const jury_settings_t *s, const char *text)
{
    char *json = json_of(text);
    cJSON *record = cJSON_Parse(json);
    free(json);
    assert_non_null(record);
    jury_err rc = jury_settings_check_record(s, record, err, sizeof err);
    cJSON_Delete(record);
    return rc;
}

static void assert_record_ok(const jury_settings_t *s, const char *text)
{
    if (check_record(s, text) != JURY_OK)
        fail_msg("record rejected: %s", err);
}

static void assert_record_error(const jury_settings_t *s, const char *text, const char *expected)
{
    assert_int_equal(check_record(s, text), JURY_EINVAL);
    assert_string_equal(err, expected);
}

static jury_err check_value(const jury_settings_t *s, const char *question, const char *value,
                            const char *field_text)
{
    int q = jury_settings_question_index(s, question);
    assert_true(q >= 0);
    char *json = json_of(value);
    cJSON *v = cJSON_Parse(json);
    free(json);
    assert_non_null(v);
    jury_err rc = jury_settings_check_value(s, (size_t)q, v, field_text, err, sizeof err);
    cJSON_Delete(v);
    return rc;
}

static void assert_value_ok(const jury_settings_t *s, const char *question, const char *value,
                            const char *field_text)
{
    if (check_value(s, question, value, field_text) != JURY_OK)
        fail_msg("value %s for %s rejected: %s", value, question, err);
}

static void assert_value_error(const jury_settings_t *s, const char *question, const char *value,
                               const char *field_text, const char *expected)
{
    assert_int_equal(check_value(s, question, value, field_text), JURY_EINVAL);
    assert_string_equal(err, expected);
}

/* Settings with one text field "text" and the given questions. */
#define WITH_QUESTIONS(questions)                                                                  \
    "{'fields': [{'name': 'text', 'type': 'text'}], 'questions': [" questions "]}"

/* Settings with one text field, one text question and the given metadata properties. */
#define WITH_METADATA(metadata)                                                                    \
    "{'fields': [{'name': 'text', 'type': 'text'}], 'questions': [{'name': 'q', 'type': "          \
    "'text'}], 'metadata': [" metadata "]}"

/* A dataset with every field, question and metadata kind; the record tests check against it. */
static const char SUPPORT[] =
    "{"
    " 'guidelines': 'Fix the draft reply, then rate the draft as it was.',"
    " 'fields': ["
    "  {'name': 'instruction', 'title': 'Customer message', 'type': 'text'},"
    "  {'name': 'context', 'type': 'text', 'required': false, 'use_markdown': true},"
    "  {'name': 'conversation', 'type': 'chat', 'required': false}"
    " ],"
    " 'questions': ["
    "  {'name': 'response', 'type': 'text', 'use_markdown': true,"
    "   'description': 'Correct the suggested draft.'},"
    "  {'name': 'quality', 'type': 'rating', 'values': [1, 2, 3, 4, 5]},"
    "  {'name': 'topic', 'type': 'label_selection', 'required': false,"
    "   'labels': ['billing', 'shipping', 'other']},"
    "  {'name': 'flaws', 'type': 'multi_label_selection', 'required': false,"
    "   'labels': {'rude': 'Rude tone', 'wrong': 'Factually wrong', 'long': 'Too long'},"
    "   'visible_labels': 3, 'labels_order': 'suggestion'},"
    "  {'name': 'preference', 'type': 'ranking', 'required': false,"
    "   'values': ['draft-a', 'draft-b', 'draft-c']},"
    "  {'name': 'entities', 'type': 'span', 'required': false, 'field': 'instruction',"
    "   'labels': ['product', 'order-id']}"
    " ],"
    " 'metadata': ["
    "  {'name': 'category', 'type': 'terms', 'options': ['billing', 'shipping']},"
    "  {'name': 'tokens', 'type': 'integer', 'min': 0, 'max': 4096},"
    "  {'name': 'temperature', 'type': 'float', 'min': 0, 'max': 2.0,"
    "   'visible_for_annotators': false}"
    " ],"
    " 'distribution': {'strategy': 'overlap', 'min_submitted': 3}"
    "}";

static jury_settings_t *support;

static int group_setup(void **state)
{
    (void)state;
    char *json = json_of(SUPPORT);
    jury_err rc = jury_settings_parse(&support, json, strlen(json), err, sizeof err);
    free(json);
    if (rc != JURY_OK)
        fprintf(stderr, "SUPPORT settings rejected: %s\n", err);
    return rc == JURY_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    jury_settings_destroy(&support);
    return 0;
}

/* ---- parsing: defaults and normalised output ---------------------------------------------- */

static void test_minimal_settings_get_every_default(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok("{'fields': [{'name': 'text', 'type': 'text'}],"
                                  " 'questions': [{'name': 'label', 'type': 'label_selection',"
                                  "                'labels': ['yes', 'no']}]}");
    char *out = jury_settings_to_json(s, false);
    assert_non_null(out);
    char *expected =
        json_of("{'guidelines':null,'allow_extra_metadata':false,"
                "'distribution':{'strategy':'overlap','min_submitted':1,'max_discards':3,"
                "'order':'complete_first','lease_seconds':600},"
                "'fields':[{'name':'text','title':'text','type':'text','required':true,"
                "'use_markdown':false}],"
                "'questions':[{'name':'label','title':'label','description':null,'required':true,"
                "'type':'label_selection','labels':{'yes':'yes','no':'no'},'visible_labels':null}],"
                "'metadata':[],"
                "'consolidation':{'methods':{'label':'majority'},'accept':{'min_agreement':{},"
                "'min_value':{},'max_value':{},'require':{}}}}");
    assert_string_equal(out, expected);
    free(expected);
    free(out);
    jury_settings_destroy(&s);
    assert_null(s);
    jury_settings_destroy(&s); /* safe twice */
    jury_settings_destroy(NULL);
}

static void test_to_json_round_trip_is_stable(void **state)
{
    (void)state;
    for (int pretty = 0; pretty <= 1; pretty++) {
        char *first = jury_settings_to_json(support, pretty);
        assert_non_null(first);
        jury_settings_t *again = NULL;
        assert_int_equal(jury_settings_parse(&again, first, strlen(first), err, sizeof err),
                         JURY_OK);
        char *second = jury_settings_to_json(again, pretty);
        assert_non_null(second);
        assert_string_equal(first, second);
        free(first);
        free(second);
        jury_settings_destroy(&again);
    }
}

static void test_to_json_writes_labels_and_ranking_values_as_objects(void **state)
{
    (void)state;
    char *out = jury_settings_to_json(support, false);
    assert_non_null(out);
    cJSON *doc = cJSON_Parse(out);
    free(out);
    assert_non_null(doc);
    cJSON *questions = cJSON_GetObjectItem(doc, "questions");
    cJSON *topic = cJSON_GetArrayItem(questions, 2);
    cJSON *flaws = cJSON_GetArrayItem(questions, 3);
    cJSON *preference = cJSON_GetArrayItem(questions, 4);
    cJSON *entities = cJSON_GetArrayItem(questions, 5);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(topic, "labels"), "billing")->valuestring,
        "billing");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(flaws, "labels"), "wrong")->valuestring,
        "Factually wrong");
    assert_string_equal(cJSON_GetObjectItem(flaws, "labels_order")->valuestring, "suggestion");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(preference, "values")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(preference, "allow_ties")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(entities, "labels")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(entities, "allow_overlapping")));
    cJSON *rating = cJSON_GetObjectItem(cJSON_GetArrayItem(questions, 1), "values");
    assert_true(cJSON_IsArray(rating));
    assert_int_equal(cJSON_GetArraySize(rating), 5);
    assert_int_equal(cJSON_GetArrayItem(rating, 4)->valueint, 5);
    cJSON_Delete(doc);
}

static void test_to_json_keeps_large_integer_bounds_exact(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(WITH_METADATA(
        "{'name': 'bytes', 'type': 'integer', 'min': -5000000000, 'max': 9007199254740991},"
        "{'name': 'ratio', 'type': 'float', 'min': 0.1}"));
    char *out = jury_settings_to_json(s, false);
    assert_non_null(out);
    assert_non_null(strstr(out, "\"min\":-5000000000,\"max\":9007199254740991,"));
    assert_non_null(strstr(out, "\"min\":0.1,\"max\":null,"));
    jury_settings_t *again = NULL;
    assert_int_equal(jury_settings_parse(&again, out, strlen(out), err, sizeof err), JURY_OK);
    char *second = jury_settings_to_json(again, false);
    assert_string_equal(out, second);
    free(out);
    free(second);
    jury_settings_destroy(&again);
    jury_settings_destroy(&s);
}

static void test_accessors(void **state)
{
    (void)state;
    const jury_settings_t *s = support;
    assert_int_equal(jury_settings_min_submitted(s), 3);
    assert_true(jury_settings_overlap(s) == 3.0);
    assert_int_equal(jury_settings_max_discards(s), 3);
    assert_int_equal(jury_settings_order(s), JURY_ORDER_COMPLETE_FIRST);
    assert_int_equal(jury_settings_lease_seconds(s), 600);
    assert_int_equal(jury_settings_field_count(s), 3);
    assert_string_equal(jury_settings_field_name(s, 0), "instruction");
    assert_int_equal(jury_settings_field_type(s, 2), JURY_FIELD_CHAT);
    assert_true(jury_settings_field_required(s, 0));
    assert_false(jury_settings_field_required(s, 1));
    assert_int_equal(jury_settings_field_index(s, "context"), 1);
    assert_int_equal(jury_settings_field_index(s, "Context"), -1);

    assert_int_equal(jury_settings_question_count(s), 6);
    assert_string_equal(jury_settings_question_name(s, 1), "quality");
    assert_int_equal(jury_settings_question_type(s, 1), JURY_QUESTION_RATING);
    assert_int_equal(jury_settings_question_type(s, 3), JURY_QUESTION_MULTI_LABEL_SELECTION);
    assert_int_equal(jury_settings_question_type(s, 5), JURY_QUESTION_SPAN);
    assert_true(jury_settings_question_required(s, 0));
    assert_false(jury_settings_question_required(s, 2));
    assert_int_equal(jury_settings_question_index(s, "entities"), 5);
    assert_int_equal(jury_settings_question_index(s, "entitie"), -1);
    assert_int_equal(jury_settings_question_index(s, ""), -1);
    assert_int_equal(jury_settings_question_index(s, NULL), -1);

    assert_int_equal(jury_settings_metadata_count(s), 3);
    assert_string_equal(jury_settings_metadata_name(s, 1), "tokens");
    assert_int_equal(jury_settings_metadata_type(s, 2), JURY_METADATA_FLOAT);
    assert_false(jury_settings_allow_extra_metadata(s));
    assert_string_equal(jury_settings_guidelines(s),
                        "Fix the draft reply, then rate the draft as it was.");
}

static void test_title_defaults_to_name_and_explicit_title_is_kept(void **state)
{
    (void)state;
    char *out = jury_settings_to_json(support, false);
    assert_non_null(out);
    assert_non_null(strstr(out, "\"name\":\"instruction\",\"title\":\"Customer message\""));
    assert_non_null(strstr(out, "\"name\":\"context\",\"title\":\"context\""));
    free(out);
}

static void test_allow_extra_metadata_defaults_to_false_like_argilla(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(WITH_METADATA(""));
    assert_false(jury_settings_allow_extra_metadata(s));
    assert_record_error(s, "{'fields': {'text': 'hi'}, 'metadata': {'source': 'web'}}",
                        "/metadata/source: unknown metadata property \"source\"; the dataset has "
                        "metadata: none, and allow_extra_metadata is false");
    jury_settings_destroy(&s);

    s = parse_ok("{'fields': [{'name': 'text', 'type': 'text'}], 'allow_extra_metadata': true,"
                 " 'questions': [{'name': 'q', 'type': 'text'}]}");
    assert_true(jury_settings_allow_extra_metadata(s));
    assert_record_ok(s, "{'fields': {'text': 'hi'}, 'metadata': {'source': 'web', 'n': [1]}}");
    jury_settings_destroy(&s);
}

static void test_null_optional_keys_take_their_defaults(void **state)
{
    (void)state;
    /* Argilla exports write null for unset optional keys. */
    jury_settings_t *s =
        parse_ok("{'guidelines': null, 'metadata': null, 'distribution': null,"
                 " 'fields': [{'name': 'text', 'type': 'text', 'title': null}],"
                 " 'questions': [{'name': 'q', 'type': 'label_selection', 'description': null,"
                 "                'labels': ['a', 'b', 'c'], 'visible_labels': null}]}");
    assert_null(jury_settings_guidelines(s));
    assert_int_equal(jury_settings_min_submitted(s), 1);
    assert_int_equal(jury_settings_metadata_count(s), 0);
    jury_settings_destroy(&s);
}

/* ---- parsing: the document ---------------------------------------------------------------- */

static void test_invalid_json_names_the_byte(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [}", "/: invalid JSON near byte 12");
}

static void test_text_after_the_document(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'text'}") " x",
                          "/: unexpected text after the JSON document at byte 93");
}

static void test_empty_document(void **state)
{
    (void)state;
    assert_settings_error("", "/: invalid JSON near byte 0: the document is empty");
}

static void test_invalid_utf8_names_the_byte(void **state)
{
    (void)state;
    jury_settings_t *s = NULL;
    const char bad[] = "{\"guidelines\": \"caf\xC3\", \"fields\": []}";
    assert_int_equal(jury_settings_parse(&s, bad, strlen(bad), err, sizeof err), JURY_EINVAL);
    assert_null(s);
    assert_string_equal(err, "/: invalid UTF-8 at byte 19");
}

static void test_settings_must_be_an_object(void **state)
{
    (void)state;
    assert_settings_error("[1, 2]", "/: settings must be a JSON object");
}

static void test_unknown_top_level_key_is_named(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'text', 'type': 'text'}],"
                          " 'quesitons': [{'name': 'q', 'type': 'text'}]}",
                          "/quesitons: unknown key \"quesitons\"; the settings document has the "
                          "keys guidelines, fields, questions, metadata, allow_extra_metadata, "
                          "distribution, consolidation");
}

static void test_pointer_escapes_tilde_and_slash(void **state)
{
    (void)state;
    assert_settings_error("{'a/b~c': 1}",
                          "/a~1b~0c: unknown key \"a/b~c\"; the settings document has the keys "
                          "guidelines, fields, questions, metadata, allow_extra_metadata, "
                          "distribution, consolidation");
}

static void test_duplicate_key(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'text', 'type': 'text', 'name': 'other'}]}",
                          "/fields/0/name: duplicate key \"name\"");
}

static void test_fields_are_required(void **state)
{
    (void)state;
    assert_settings_error("{'questions': [{'name': 'q', 'type': 'text'}]}",
                          "/fields: must be a list of fields");
    assert_settings_error("{'fields': [], 'questions': [{'name': 'q', 'type': 'text'}]}",
                          "/fields: the settings need at least one field");
}

static void test_questions_are_required(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'text', 'type': 'text'}], 'questions': []}",
                          "/questions: the settings need at least one question");
}

static void test_wrong_types_name_the_expected_type(void **state)
{
    (void)state;
    assert_settings_error("{'fields': {'name': 'text'}}", "/fields: must be a list of fields");
    assert_settings_error("{'fields': ['text']}", "/fields/0: a field must be an object");
    assert_settings_error("{'fields': [{'name': 7, 'type': 'text'}]}",
                          "/fields/0/name: must be a string");
    assert_settings_error("{'fields': [{'name': 'text', 'type': 'text', 'required': 'yes'}]}",
                          "/fields/0/required: must be true or false");
    assert_settings_error("{'guidelines': 5}", "/guidelines: must be a string");
    assert_settings_error("{'allow_extra_metadata': 1}",
                          "/allow_extra_metadata: must be true or false");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'text', 'use_markdown': 'no'}"),
                          "/questions/0/use_markdown: must be true or false");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'text', 'description': []}"),
                          "/questions/0/description: must be a string");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 7}"),
                          "/questions/0/type: must be a string");
}

static void test_unknown_key_inside_a_field(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'text', 'type': 'text', 'requird': false}]}",
                          "/fields/0/requird: unknown key \"requird\"; a field has the keys name, "
                          "title, type, required, use_markdown");
}

static void test_unknown_key_for_the_question_type(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'text', 'values': [1, 2]}"),
                          "/questions/0/values: unknown key \"values\"; a text question has the "
                          "keys name, title, description, required, type, use_markdown");
}

static void test_field_name_is_required(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'type': 'text'}]}",
                          "/fields/0/name: a \"name\" is required");
}

static void test_names_follow_argillas_rule(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'Text', 'type': 'text'}]}",
                          "/fields/0/name: \"Text\" is not a valid name: names are 1 to 200 "
                          "characters of a-z, 0-9, '_' and '-', with at least one letter or digit");
    assert_settings_error("{'fields': [{'name': '', 'type': 'text'}]}",
                          "/fields/0/name: \"\" is not a valid name: names are 1 to 200 "
                          "characters of a-z, 0-9, '_' and '-', with at least one letter or digit");
    assert_settings_error("{'fields': [{'name': '_-', 'type': 'text'}]}",
                          "/fields/0/name: \"_-\" is not a valid name: names are 1 to 200 "
                          "characters of a-z, 0-9, '_' and '-', with at least one letter or digit");
    jury_settings_t *s = parse_ok("{'fields': [{'name': 'my_text-2', 'type': 'text'}],"
                                  " 'questions': [{'name': '_q', 'type': 'text'}]}");
    jury_settings_destroy(&s);
}

/* 47 letters a; a quoted name in a message keeps 94 of them. */
#define A47 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_long_name_is_rejected_and_quoted_briefly(void **state)
{
    (void)state;
    char text[512];
    char name[202];
    memset(name, 'a', 201);
    name[201] = '\0';
    snprintf(text, sizeof text, "{'fields': [{'name': '%s', 'type': 'text'}]}", name);
    assert_settings_error(text,
                          "/fields/0/name: \"" A47 A47 "...\" is not a valid name: "
                          "names are 1 to 200 characters of a-z, 0-9, '_' and '-', with at least "
                          "one letter or digit");
}

static void test_names_are_unique_across_fields_questions_and_metadata(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'text', 'type': 'text'}],"
                          " 'questions': [{'name': 'text', 'type': 'text'}]}",
                          "/questions/0/name: name \"text\" is already used by /fields/0");
    assert_settings_error(
        "{'fields': [{'name': 'a', 'type': 'text'}, {'name': 'a', 'type': 'text'}]}",
        "/fields/1/name: name \"a\" is already used by /fields/0");
    assert_settings_error(WITH_METADATA("{'name': 'q', 'type': 'terms'}"),
                          "/metadata/0/name: name \"q\" is already used by /questions/0");
}

static void test_at_least_one_question_is_required(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'a', 'type': 'text', 'required': false},"
                                         "{'name': 'b', 'type': 'text', 'required': false}"),
                          "/questions: at least one question must be required");
}

static void test_unsupported_field_types(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'photo', 'type': 'image'}]}",
                          "/fields/0/type: field type \"image\" is unsupported; jury supports "
                          "\"text\" and \"chat\"");
    assert_settings_error("{'fields': [{'name': 'x', 'type': 'custom'}]}",
                          "/fields/0/type: field type \"custom\" is unsupported; jury supports "
                          "\"text\" and \"chat\"");
    assert_settings_error("{'fields': [{'name': 'x', 'type': 'txt'}]}",
                          "/fields/0/type: unknown field type \"txt\"; expected \"text\" or "
                          "\"chat\"");
    assert_settings_error("{'fields': [{'name': 'x'}]}", "/fields/0/type: a \"type\" is required");
}

static void test_unknown_question_type(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'multi_label'}"),
                          "/questions/0/type: unknown question type \"multi_label\"; expected "
                          "text, rating, label_selection, multi_label_selection, ranking or span");
}

static void test_title_and_description_lengths(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'text', 'title': ''}"),
                          "/questions/0/title: must be 1 to 500 characters long");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'text', 'description': ''}"),
                          "/questions/0/description: must be 1 to 1000 characters long");
}

/* ---- parsing: question rules -------------------------------------------------------------- */

static void test_rating_values_out_of_range(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [0, 11]}"),
                          "/questions/0/values: rating values must be 2 to 11 unique integers "
                          "within 0..10");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [-1, 1]}"),
                          "/questions/0/values: rating values must be 2 to 11 unique integers "
                          "within 0..10");
}

static void test_rating_twelve_values(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [0,1,2,3,4,5,6,7,8,9,10,10]}"),
        "/questions/0/values: rating values must be 2 to 11 unique integers within 0..10");
    jury_settings_t *s = parse_ok(
        WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [0,1,2,3,4,5,6,7,8,9,10]}"));
    jury_settings_destroy(&s);
}

static void test_rating_one_value(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [1]}"),
                          "/questions/0/values: rating values must be 2 to 11 unique integers "
                          "within 0..10");
}

static void test_rating_duplicate_values(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [1, 2, 2]}"),
                          "/questions/0/values: rating values must be 2 to 11 unique integers "
                          "within 0..10");
}

static void test_rating_values_must_be_integers(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [1, 2.5]}"),
                          "/questions/0/values: rating values must be 2 to 11 unique integers "
                          "within 0..10");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': ['1', '2']}"),
                          "/questions/0/values: rating values must be 2 to 11 unique integers "
                          "within 0..10");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'rating'}"),
                          "/questions/0/values: rating values must be 2 to 11 unique integers "
                          "within 0..10");
}

static void test_labels_fewer_than_two(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection', 'labels': ['a']}"),
        "/questions/0/labels: labels must be 2 to 500 unique strings, as a list "
        "or a {value: title} object");
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'multi_label_selection', 'labels': {'a': 'A'}}"),
        "/questions/0/labels: labels must be 2 to 500 unique strings, as a list or a {value: "
        "title} object");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection'}"),
                          "/questions/0/labels: labels must be 2 to 500 unique strings, as a list "
                          "or a {value: title} object");
}

static void test_labels_duplicate(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection', 'labels': ['a', 'b', 'a']}"),
        "/questions/0/labels/2: duplicate label \"a\"");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection',"
                                         " 'labels': {'a': 'A', 'b': 'B', 'a': 'Again'}}"),
                          "/questions/0/labels/a: duplicate label \"a\"");
}

static void test_labels_must_be_strings(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection', 'labels': ['a', 2]}"),
        "/questions/0/labels/1: must be a string");
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection', 'labels': {'a': 'A', 'b': true}}"),
        "/questions/0/labels/b: must be a string");
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection', 'labels': ['a', '']}"),
        "/questions/0/labels/1: a label must be 1 to 200 characters long");
}

static void test_visible_labels_rule(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection',"
                                         " 'labels': ['a', 'b', 'c'], 'visible_labels': 2}"),
                          "/questions/0/visible_labels: visible_labels must be null or an integer "
                          "from 3 to the number of labels (3)");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection',"
                                         " 'labels': ['a', 'b', 'c'], 'visible_labels': 4}"),
                          "/questions/0/visible_labels: visible_labels must be null or an integer "
                          "from 3 to the number of labels (3)");
}

static void test_labels_order(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'multi_label_selection',"
                                         " 'labels': ['a', 'b'], 'labels_order': 'random'}"),
                          "/questions/0/labels_order: labels_order must be \"natural\" or "
                          "\"suggestion\"");
}

static void test_ranking_values(void **state)
{
    (void)state;
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'ranking', 'values': ['a']}"),
                          "/questions/0/values: ranking values must be 2 to 50 unique strings, as "
                          "a list or a {value: title} object");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'ranking', 'values': [1, 2]}"),
                          "/questions/0/values/0: must be a string");
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'ranking', 'values': ['a', 'b', 'b']}"),
        "/questions/0/values/2: duplicate value \"b\"");
}

static void test_ranking_allow_ties(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'ranking', 'values': ['a', 'b'], 'allow_ties': 1}"),
        "/questions/0/allow_ties: must be true or false");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'label_selection',"
                                         " 'labels': ['a', 'b'], 'allow_ties': true}"),
                          "/questions/0/allow_ties: unknown key \"allow_ties\"; a label_selection "
                          "question has the keys name, title, description, required, type, "
                          "labels, visible_labels");
    jury_settings_t *s = parse_ok(WITH_QUESTIONS(
        "{'name': 'q', 'type': 'ranking', 'values': ['a', 'b'], 'allow_ties': true}"));
    char *out = jury_settings_to_json(s, false);
    assert_non_null(out);
    char *expected = json_of("'type':'ranking','values':{'a':'a','b':'b'},'allow_ties':true}");
    assert_non_null(strstr(out, expected));
    free(expected);
    free(out);
    jury_settings_destroy(&s);
}

static void test_span_field_naming_a_chat_field(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'chat', 'type': 'chat'}],"
                          " 'questions': [{'name': 'q', 'type': 'span', 'field': 'chat',"
                          "                'labels': ['a']}]}",
                          "/questions/0/field: a span question needs a text field, and \"chat\" is "
                          "a chat field");
}

static void test_span_field_naming_an_unknown_field(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'span', 'field': 'body', 'labels': ['a']}"),
        "/questions/0/field: unknown field \"body\"; the dataset has fields: text");
    assert_settings_error(WITH_QUESTIONS("{'name': 'q', 'type': 'span', 'labels': ['a']}"),
                          "/questions/0/field: a span question needs the \"field\" it marks up");
}

static void test_span_one_question_per_field(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'a', 'type': 'span', 'field': 'text', 'labels': ['x']},"
                       "{'name': 'b', 'type': 'span', 'field': 'text', 'labels': ['y']}"),
        "/questions/1/field: field \"text\" already has the span question \"a\"");
}

static void test_span_labels_need_one(void **state)
{
    (void)state;
    assert_settings_error(
        WITH_QUESTIONS("{'name': 'q', 'type': 'span', 'field': 'text', 'labels': []}"),
        "/questions/0/labels: labels must be 1 to 500 unique strings, as a list or a {value: "
        "title} object");
    jury_settings_t *s =
        parse_ok(WITH_QUESTIONS("{'name': 'q', 'type': 'span', 'field': 'text', 'labels': ['x']}"));
    jury_settings_destroy(&s);
}

/* ---- parsing: metadata and distribution --------------------------------------------------- */

static void test_metadata_min_greater_than_max(void **state)
{
    (void)state;
    assert_settings_error(WITH_METADATA("{'name': 'n', 'type': 'integer', 'min': 10, 'max': 5}"),
                          "/metadata/0: min (10) must not be greater than max (5)");
    assert_settings_error(WITH_METADATA("{'name': 'x', 'type': 'float', 'min': 0.5, 'max': 0.25}"),
                          "/metadata/0: min (0.5) must not be greater than max (0.25)");
}

static void test_metadata_integer_bounds_are_integers(void **state)
{
    (void)state;
    assert_settings_error(WITH_METADATA("{'name': 'n', 'type': 'integer', 'min': 1.5}"),
                          "/metadata/0/min: must be an integer (within +-(2^53 - 1))");
    assert_settings_error(WITH_METADATA("{'name': 'x', 'type': 'float', 'max': '2'}"),
                          "/metadata/0/max: must be a number");
}

static void test_metadata_keys_depend_on_type(void **state)
{
    (void)state;
    assert_settings_error(WITH_METADATA("{'name': 'n', 'type': 'integer', 'options': ['a']}"),
                          "/metadata/0/options: unknown key \"options\"; an integer metadata "
                          "property has the keys name, title, type, min, max, "
                          "visible_for_annotators");
    assert_settings_error(WITH_METADATA("{'name': 'n', 'type': 'number'}"),
                          "/metadata/0/type: unknown metadata type \"number\"; expected \"terms\", "
                          "\"integer\" or \"float\"");
}

static void test_metadata_terms_options(void **state)
{
    (void)state;
    assert_settings_error(WITH_METADATA("{'name': 't', 'type': 'terms', 'options': ['a', 'a']}"),
                          "/metadata/0/options/1: duplicate option \"a\"");
    assert_settings_error(WITH_METADATA("{'name': 't', 'type': 'terms', 'options': []}"),
                          "/metadata/0/options: options must not be empty; use null to allow any "
                          "term");
    assert_settings_error(WITH_METADATA("{'name': 't', 'type': 'terms', 'options': 'a'}"),
                          "/metadata/0/options: options must be null or a list of strings");
}

static void test_metadata_must_be_a_list(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'text', 'type': 'text'}],"
                          " 'questions': [{'name': 'q', 'type': 'text'}], 'metadata': {}}",
                          "/metadata: must be a list of metadata properties");
}

#define MIN_SUBMITTED_RULE                                                                         \
    "/distribution/min_submitted: min_submitted must be a number from 1 to 1000 (a fraction "      \
    "such as 1.5 gives half the records 2 annotators)"

/* Dynamic overlap: a label question and a text one; DIST is the distribution's members. */
#define DYNAMIC(DIST)                                                                              \
    "{'fields': [{'name': 'text', 'type': 'text'}],"                                               \
    " 'questions': [{'name': 'label', 'type': 'label_selection', 'labels': ['a', 'b']},"           \
    "               {'name': 'stars', 'type': 'rating', 'values': [1, 2, 3]},"                     \
    "               {'name': 'note', 'type': 'text', 'required': false}],"                         \
    " 'distribution': {" DIST "}}"

static void test_distribution_dynamic_overlap(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(DYNAMIC("'min_submitted': 2, 'max_submitted': 5, 'until': "
                                          "{'question': 'label', 'agreement': 0.8}"));
    assert_int_equal(jury_settings_min_submitted(s), 2);
    assert_int_equal(jury_settings_max_submitted(s), 5);
    assert_string_equal(jury_settings_until_question(s), "label");
    assert_true(jury_settings_until_agreement(s) == 0.8);
    char *json = jury_settings_to_json(s, false);
    assert_non_null(strstr(json, "\"max_submitted\":5,\"until\":{\"question\":\"label\","
                                 "\"agreement\":0.8}"));
    jury_settings_t *again = NULL;
    assert_int_equal(jury_settings_parse(&again, json, strlen(json), err, sizeof err), JURY_OK);
    assert_int_equal(jury_settings_max_submitted(again), 5);
    jury_settings_destroy(&again);
    free(json);
    jury_settings_destroy(&s);

    /* A fixed overlap has none of it; a rating question may be waited for too. */
    s = parse_ok(DYNAMIC("'min_submitted': 3"));
    assert_int_equal(jury_settings_max_submitted(s), 0);
    assert_null(jury_settings_until_question(s));
    json = jury_settings_to_json(s, false);
    assert_null(strstr(json, "max_submitted"));
    free(json);
    jury_settings_destroy(&s);
    s = parse_ok(DYNAMIC("'min_submitted': 1.5, 'max_submitted': 2, "
                         "'until': {'question': 'stars', 'agreement': 1}"));
    assert_int_equal(jury_settings_max_submitted(s), 2);
    jury_settings_destroy(&s);

    assert_settings_error(
        DYNAMIC("'min_submitted': 3, 'max_submitted': 2, 'until': {'question': 'label', "
                "'agreement': 1}"),
        "/distribution/max_submitted: max_submitted (2) must not be below min_submitted (3): it "
        "is the most submitted responses a record may get");
    assert_settings_error(
        DYNAMIC("'min_submitted': 2.5, 'max_submitted': 2, 'until': {'question': 'label', "
                "'agreement': 1}"),
        "/distribution/max_submitted: max_submitted (2) must not be below min_submitted (3, "
        "rounded up): it is the most submitted responses a record may get");
    assert_settings_error(DYNAMIC("'max_submitted': 0, 'until': {'question': 'label', "
                                  "'agreement': 1}"),
                          "/distribution/max_submitted: max_submitted must be an integer from 1 "
                          "to 1000");
    assert_settings_error(DYNAMIC("'max_submitted': 3"),
                          "/distribution/max_submitted: max_submitted needs an until rule, like "
                          "\"until\": {\"question\": \"label\", \"agreement\": 0.8}: it says "
                          "when a record needs no more responses");
    assert_settings_error(DYNAMIC("'until': {'question': 'label', 'agreement': 1}"),
                          "/distribution/until: until needs max_submitted: the most responses a "
                          "record may get");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'note', 'agreement': 1}"),
        "/distribution/until/question: \"note\" is a text question, which has no per-record "
        "agreement to wait for; use a label_selection or rating question");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'nope', 'agreement': 1}"),
        "/distribution/until/question: unknown question \"nope\"; the dataset has questions: "
        "label, stars, note");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'label', 'agreement': 1.2}"),
        "/distribution/until/agreement: agreement must be a number from 0 to 1: the share of "
        "agreeing pairs of responses a record needs");
    /* The posterior rule: confidence, with a prior accuracy (0.7 unless given). */
    s = parse_ok(DYNAMIC("'max_submitted': 4, 'until': {'question': 'label', 'confidence': 0.9}"));
    assert_true(jury_settings_until_confidence(s) == 0.9);
    assert_true(jury_settings_until_prior_accuracy(s) == 0.7);
    json = jury_settings_to_json(s, false);
    assert_non_null(strstr(json, "\"until\":{\"question\":\"label\",\"confidence\":0.9,"
                                 "\"prior_accuracy\":0.7}"));
    assert_int_equal(jury_settings_parse(&again, json, strlen(json), err, sizeof err), JURY_OK);
    assert_true(jury_settings_until_confidence(again) == 0.9);
    jury_settings_destroy(&again);
    free(json);
    jury_settings_destroy(&s);
    s = parse_ok(DYNAMIC("'max_submitted': 4, 'until': {'question': 'stars', 'confidence': 0.95, "
                         "'prior_accuracy': 0.8}"));
    assert_true(jury_settings_until_prior_accuracy(s) == 0.8);
    assert_true(jury_settings_until_agreement(s) == 0);
    jury_settings_destroy(&s);
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'label', 'confidence': 0.9, "
                "'agreement': 0.8}"),
        "/distribution/until: until needs either agreement (the share of agreeing pairs of "
        "responses a record needs) or confidence (the Dawid-Skene posterior of its most likely "
        "answer), not both");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'label'}"),
        "/distribution/until: until needs either agreement (the share of agreeing pairs of "
        "responses a record needs) or confidence (the Dawid-Skene posterior of its most likely "
        "answer), not neither");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'label', 'confidence': 0.4}"),
        "/distribution/until/confidence: confidence must be a number from 0.5 to 0.999: the "
        "posterior probability of the most likely answer a record needs");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'label', 'confidence': 0.9, "
                "'prior_accuracy': 1}"),
        "/distribution/until/prior_accuracy: prior_accuracy must be a number from 0.5 to 0.999: "
        "how often an annotator with too few gold answers is taken to be right");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'label', 'agreement': 0.9, "
                "'prior_accuracy': 0.8}"),
        "/distribution/until/prior_accuracy: prior_accuracy goes with confidence, not with "
        "agreement");
    assert_settings_error(
        DYNAMIC("'max_submitted': 3, 'until': {'question': 'label', 'certainty': 0.9}"),
        "/distribution/until/certainty: unknown key \"certainty\"; distribution.until has the "
        "keys question, agreement, confidence, prior_accuracy");
    s = parse_ok(DYNAMIC("'max_records_per_annotator': 250"));
    assert_int_equal(jury_settings_max_records_per_annotator(s), 250);
    json = jury_settings_to_json(s, false);
    assert_non_null(strstr(json, "\"max_records_per_annotator\":250"));
    free(json);
    jury_settings_destroy(&s);
    assert_settings_error(DYNAMIC("'max_records_per_annotator': 0"),
                          "/distribution/max_records_per_annotator: max_records_per_annotator "
                          "must be an integer from 1 to 1000000000");
    /* Gold rules. */
    s = parse_ok(DYNAMIC("'gold_rate': 0.1, 'onboarding': 5, "
                         "'pause_below': {'accuracy': 0.7, 'after_gold': 30}"));
    assert_true(jury_settings_gold_rate(s) == 0.1);
    assert_int_equal(jury_settings_onboarding(s), 5);
    assert_true(jury_settings_pause_accuracy(s) == 0.7);
    assert_int_equal(jury_settings_pause_after(s), 30);
    json = jury_settings_to_json(s, false);
    assert_non_null(strstr(json, "\"gold_rate\":0.1,\"onboarding\":5,\"pause_below\":{"
                                 "\"accuracy\":0.7,\"after_gold\":30}"));
    free(json);
    jury_settings_destroy(&s);
    s = parse_ok(DYNAMIC("'pause_below': {'accuracy': 0.5}"));
    assert_int_equal(jury_settings_pause_after(s), 20);
    jury_settings_destroy(&s);
    assert_settings_error(DYNAMIC("'gold_rate': 0.6"),
                          "/distribution/gold_rate: gold_rate must be a number from 0 to 0.5: the "
                          "share of each annotator's records that are gold records");
    assert_settings_error(DYNAMIC("'pause_below': {'accuracy': 0}"),
                          "/distribution/pause_below/accuracy: accuracy must be a number above 0 "
                          "and at most 1: the share of gold answers an annotator must get right");
    assert_settings_error(DYNAMIC("'pause_below': {'accuracy': 0.5, 'after': 3}"),
                          "/distribution/pause_below/after: unknown key \"after\"; "
                          "distribution.pause_below has the keys accuracy, after_gold");
    assert_settings_error(DYNAMIC("'onboarding': 1001"),
                          "/distribution/onboarding: onboarding must be an integer from 0 to 1000");
    /* A gold answer must be valid for its question, and text questions take none. */
    s = parse_ok(DYNAMIC("'min_submitted': 1"));
    char *rec = json_of("{'fields': {'text': 'x'}, 'gold': {'label': 'c'}}");
    cJSON *r = cJSON_Parse(rec);
    assert_int_equal(jury_settings_check_record(s, r, err, sizeof err), JURY_EINVAL);
    assert_non_null(strstr(err, "/gold/label: "));
    cJSON_Delete(r);
    free(rec);
    rec = json_of("{'fields': {'text': 'x'}, 'gold': {'note': 'c'}}");
    r = cJSON_Parse(rec);
    assert_int_equal(jury_settings_check_record(s, r, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "/gold/note: a text question has no single right answer; gold "
                             "answers are for rating, label, multi-label, ranking and span "
                             "questions");
    cJSON_Delete(r);
    free(rec);
    rec = json_of("{'fields': {'text': 'x'}, 'gold': {'label': 'a', 'stars': 2}}");
    r = cJSON_Parse(rec);
    assert_int_equal(jury_settings_check_record(s, r, err, sizeof err), JURY_OK);
    cJSON_Delete(r);
    free(rec);
    jury_settings_destroy(&s);
    assert_settings_error(DYNAMIC("'max_submitted': 3, 'until': 'label'"),
                          "/distribution/until: until must be an object like {\"question\": "
                          "\"label\", \"agreement\": 0.8}");
}

static void test_distribution_min_submitted_range(void **state)
{
    (void)state;
    assert_settings_error("{'distribution': {'min_submitted': 0}}", MIN_SUBMITTED_RULE);
    assert_settings_error("{'distribution': {'min_submitted': 0.5}}", MIN_SUBMITTED_RULE);
    assert_settings_error("{'distribution': {'min_submitted': 1001}}", MIN_SUBMITTED_RULE);
    assert_settings_error("{'distribution': {'min_submitted': 1000.5}}", MIN_SUBMITTED_RULE);
    assert_settings_error("{'distribution': {'min_submitted': -2}}", MIN_SUBMITTED_RULE);
    assert_settings_error("{'distribution': {'min_submitted': '2'}}", MIN_SUBMITTED_RULE);
    assert_settings_error("{'distribution': {'min_submitted': true}}", MIN_SUBMITTED_RULE);
}

/* Settings with one text field, one text question and the given distribution. */
#define WITH_DISTRIBUTION(distribution)                                                            \
    "{'fields': [{'name': 'text', 'type': 'text'}], 'questions': [{'name': 'q', 'type': "          \
    "'text'}], 'distribution': " distribution "}"

static void test_distribution_min_submitted_may_be_fractional(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 1.5}"));
    assert_int_equal(jury_settings_min_submitted(s), 1);
    assert_true(jury_settings_overlap(s) == 1.5);
    char *out = jury_settings_to_json(s, false);
    assert_non_null(strstr(out, "\"min_submitted\":1.5,"));
    free(out);
    jury_settings_destroy(&s);

    s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 1000}"));
    assert_int_equal(jury_settings_min_submitted(s), 1000);
    assert_true(jury_settings_overlap(s) == 1000.0);
    jury_settings_destroy(&s);

    /* A whole number is written as an integer, however it was written. */
    s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 2.0}"));
    assert_int_equal(jury_settings_min_submitted(s), 2);
    out = jury_settings_to_json(s, false);
    assert_non_null(strstr(out, "\"min_submitted\":2,"));
    free(out);
    jury_settings_destroy(&s);
}

static void test_distribution_fractional_min_submitted_round_trips_exactly(void **state)
{
    (void)state;
    /* The double just above 1.1: 15 significant digits print it as 1.1, a different number. */
    jury_settings_t *s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 1.1000000000000003}"));
    double n = jury_settings_overlap(s);
    assert_true(n > 1.1);
    char *out = jury_settings_to_json(s, false);
    assert_non_null(strstr(out, "\"min_submitted\":1.1000000000000003,"));
    jury_settings_t *again = NULL;
    assert_int_equal(jury_settings_parse(&again, out, strlen(out), err, sizeof err), JURY_OK);
    assert_true(jury_settings_overlap(again) == n);
    char *second = jury_settings_to_json(again, false);
    assert_string_equal(out, second);
    free(out);
    free(second);
    jury_settings_destroy(&again);
    jury_settings_destroy(&s);
}

static void test_distribution_keys_and_defaults(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(WITH_DISTRIBUTION("{}"));
    assert_int_equal(jury_settings_min_submitted(s), 1);
    assert_true(jury_settings_overlap(s) == 1.0);
    assert_int_equal(jury_settings_max_discards(s), 3);
    assert_int_equal(jury_settings_order(s), JURY_ORDER_COMPLETE_FIRST);
    assert_int_equal(jury_settings_lease_seconds(s), 600);
    jury_settings_destroy(&s);

    s = parse_ok(WITH_DISTRIBUTION("{'strategy': 'overlap', 'min_submitted': 2.25,"
                                   " 'max_discards': 1, 'order': 'random', 'lease_seconds': 5}"));
    assert_int_equal(jury_settings_min_submitted(s), 2);
    assert_true(jury_settings_overlap(s) == 2.25);
    assert_int_equal(jury_settings_max_discards(s), 1);
    assert_int_equal(jury_settings_order(s), JURY_ORDER_RANDOM);
    assert_int_equal(jury_settings_lease_seconds(s), 5);
    char *out = jury_settings_to_json(s, false);
    assert_non_null(out);
    char *expected = json_of("'distribution':{'strategy':'overlap','min_submitted':2.25,"
                             "'max_discards':1,'order':'random','lease_seconds':5},");
    assert_non_null(strstr(out, expected));
    free(expected);
    jury_settings_t *again = NULL;
    assert_int_equal(jury_settings_parse(&again, out, strlen(out), err, sizeof err), JURY_OK);
    assert_int_equal(jury_settings_order(again), JURY_ORDER_RANDOM);
    char *second = jury_settings_to_json(again, false);
    assert_string_equal(out, second);
    free(out);
    free(second);
    jury_settings_destroy(&again);
    jury_settings_destroy(&s);

    s = parse_ok(WITH_DISTRIBUTION("{'max_discards': 1000, 'order': 'complete_first',"
                                   " 'lease_seconds': 86400}"));
    assert_int_equal(jury_settings_max_discards(s), 1000);
    assert_int_equal(jury_settings_order(s), JURY_ORDER_COMPLETE_FIRST);
    assert_int_equal(jury_settings_lease_seconds(s), 86400);
    jury_settings_destroy(&s);

    /* null takes the default, as everywhere else. */
    s = parse_ok(WITH_DISTRIBUTION("{'max_discards': null, 'order': null, 'lease_seconds': null}"));
    assert_int_equal(jury_settings_max_discards(s), 3);
    assert_int_equal(jury_settings_order(s), JURY_ORDER_COMPLETE_FIRST);
    assert_int_equal(jury_settings_lease_seconds(s), 600);
    jury_settings_destroy(&s);
}

static void test_distribution_key_rules(void **state)
{
    (void)state;
    const char *discards = "/distribution/max_discards: max_discards must be an integer from 1 "
                           "to 1000";
    const char *lease = "/distribution/lease_seconds: lease_seconds must be an integer from 5 to "
                        "86400";
    const char *order = "/distribution/order: order must be \"complete_first\" or \"random\"";
    assert_settings_error("{'distribution': {'max_discards': 0}}", discards);
    assert_settings_error("{'distribution': {'max_discards': 1001}}", discards);
    assert_settings_error("{'distribution': {'max_discards': 2.5}}", discards);
    assert_settings_error("{'distribution': {'max_discards': '3'}}", discards);
    assert_settings_error("{'distribution': {'lease_seconds': 4}}", lease);
    assert_settings_error("{'distribution': {'lease_seconds': 86401}}", lease);
    assert_settings_error("{'distribution': {'lease_seconds': 60.5}}", lease);
    assert_settings_error("{'distribution': {'order': 'fifo'}}", order);
    assert_settings_error("{'distribution': {'order': 'Random'}}", order);
    assert_settings_error("{'distribution': {'order': 1}}", order);
}

/* How many of the records "rec-0" .. "rec-9999" get n + 1 annotators. */
/* Repeated keys inside responses, suggestions and spans: JSON allows them and readers disagree
 * on which one counts (cJSON takes the first, Python the last), so they are refused. These
 * records are what tests/fuzz/fuzz_import found: the first crashed (a non-string first user_id),
 * the others slipped an unchecked value into the store. */
static void test_record_repeated_keys_are_refused(void **state)
{
    (void)state;
    jury_settings_t *s =
        parse_ok("{'fields': [{'name': 'instruction', 'type': 'text'}],"
                 " 'questions': [{'name': 'response', 'type': 'text'},"
                 "               {'name': 'quality', 'type': 'rating', 'values': [1, 2, 3, 4, 5]},"
                 "               {'name': 'entities', 'type': 'span', 'field': 'instruction',"
                 "                'labels': ['product'], 'required': false}]}");
    assert_record_error(s,
                        "{'fields': {'instruction': 'a'}, 'responses': {'response': [{'value': "
                        "'x', 'user_id': 1, 'user_id': 'alice'}, {'value': 'y', 'user_id': "
                        "'bob'}], 'quality': [{'value': 3, 'user_id': 'alice'}, {'value': 4, "
                        "'user_id': 'bob'}]}}",
                        "/responses/response/0/user_id: duplicate key \"user_id\"");
    assert_record_error(s,
                        "{'fields': {'instruction': 'a'}, 'responses': {'response': [{'value': "
                        "'x', 'user_id': 'alice'}], 'quality': [{'value': 3, 'user_id': 1, "
                        "'user_id': 'alice'}]}}",
                        "/responses/quality/0/user_id: duplicate key \"user_id\"");
    assert_record_error(s,
                        "{'fields': {'instruction': 'a'}, 'responses': {'response': [{'value': "
                        "'x', 'user_id': 'alice'}], 'quality': [{'value': 'bogus', 'value': 3, "
                        "'user_id': 'alice'}]}}",
                        "/responses/quality/0/value: duplicate key \"value\"");
    assert_record_error(s,
                        "{'fields': {'instruction': 'a'}, 'suggestions': {'quality': {'value': "
                        "'bogus', 'value': 3}}}",
                        "/suggestions/quality/value: duplicate key \"value\"");
    assert_record_error(s,
                        "{'fields': {'instruction': 'abcdef'}, 'suggestions': {'entities': "
                        "{'value': [{'start': 0, 'end': 1, 'start': 5, 'label': 'product'}]}}}",
                        "/suggestions/entities/value: span 0 has the key \"start\" twice");
    jury_settings_destroy(&s);
}

static int records_with_one_more(const jury_settings_t *s, uint32_t n)
{
    int more = 0;
    for (int i = 0; i < 10000; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "rec-%d", i);
        uint32_t target = jury_settings_record_target(s, id, (size_t)len);
        assert_true(target == n || target == n + 1);
        more += target == n + 1;
    }
    return more;
}

static void test_record_target_splits_records_by_the_fraction(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 1.5}"));
    int two = records_with_one_more(s, 1);
    /* The exact count pins the hash: any change to it changes who gets a second annotator. */
    assert_int_equal(two, 4892);
    /* And the split is fair: were the choice a fair coin, the count would be Binomial(10000,
     * 0.5), standard deviation 50; 5000 +- 150 is three of them. */
    assert_true(two >= 5000 - 150 && two <= 5000 + 150);
    jury_settings_destroy(&s);

    s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 2.1}"));
    assert_int_equal(records_with_one_more(s, 2), 980);
    jury_settings_destroy(&s);
}

static void test_record_target_integer_n_is_n_for_every_record(void **state)
{
    (void)state;
    assert_int_equal(records_with_one_more(support, 3), 0);
    assert_int_equal(jury_settings_record_target(support, "", 0), 3);
    assert_int_equal(jury_settings_record_target(support, NULL, 0), 3);
    jury_settings_t *s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 1000}"));
    assert_int_equal(records_with_one_more(s, 1000), 0);
    jury_settings_destroy(&s);
}

/* Sets min_submitted to n and returns the target of the record with id ext_id. */
static uint32_t target_of(const char *n, const char *ext_id)
{
    char text[256];
    snprintf(text, sizeof text, WITH_DISTRIBUTION("{'min_submitted': %s}"), n);
    jury_settings_t *s = parse_ok(text);
    uint32_t target = jury_settings_record_target(s, ext_id, strlen(ext_id));
    jury_settings_destroy(&s);
    return target;
}

static void test_record_target_is_pinned_across_machines(void **state)
{
    (void)state;
    /*
     * u = (fmix64(FNV-1a-64(id)) >> 11) * 2^-53, computed apart (in Python) from the FNV reference
     * vectors (FNV-1a-64 of "" is cbf29ce484222325, of "a" af63dc4c8601ec8c, of "foobar"
     * 85944171f73967e8: http://www.isthe.com/chongo/src/fnv/test_fnv.c), then fmix64:
     * "" -> efd01f60ba992926, u = 0.93677; "a" -> 82a2a958a9bece5b, u = 0.51029;
     * "foobar" -> 2c22194922d1672b, u = 0.17240. A record gets one more when u < frac.
     */
    assert_int_equal(target_of("1.93", ""), 1);
    assert_int_equal(target_of("1.94", ""), 2);
    assert_int_equal(target_of("1.5", "a"), 1);
    assert_int_equal(target_of("1.52", "a"), 2);
    assert_int_equal(target_of("4.17", "foobar"), 4);
    assert_int_equal(target_of("4.18", "foobar"), 5);
    /* Only the len bytes at ext_id are the id: ("a", 0) is the empty id. */
    jury_settings_t *s = parse_ok(WITH_DISTRIBUTION("{'min_submitted': 1.94}"));
    assert_int_equal(jury_settings_record_target(s, "", 0), 2);
    assert_int_equal(jury_settings_record_target(s, "a", 0), 2);
    jury_settings_destroy(&s);
}

static void test_distribution_strategy_and_keys(void **state)
{
    (void)state;
    assert_settings_error("{'distribution': {'strategy': 'round_robin'}}",
                          "/distribution/strategy: strategy must be \"overlap\"");
    assert_settings_error(
        "{'distribution': {'min_submited': 2}}",
        "/distribution/min_submited: unknown key \"min_submited\"; distribution "
        "has the keys strategy, min_submitted, max_discards, order, "
        "lease_seconds, max_submitted, until, max_records_per_annotator, gold_rate, "
        "onboarding, pause_below");
    assert_settings_error("{'distribution': 2}",
                          "/distribution: must be an object like {\"strategy\": \"overlap\", "
                          "\"min_submitted\": 1}");
}

/* ---- error buffer ------------------------------------------------------------------------- */

static void test_error_buffer_is_truncated_and_terminated(void **state)
{
    (void)state;
    char small[12];
    jury_settings_t *s = NULL;
    const char *json = "{\"quesitons\": []}";
    memset(small, 'x', sizeof small);
    assert_int_equal(jury_settings_parse(&s, json, strlen(json), small, sizeof small), JURY_EINVAL);
    assert_string_equal(small, "/quesitons:");
    assert_int_equal(jury_settings_parse(&s, json, strlen(json), NULL, 0), JURY_EINVAL);
    assert_null(s);
}

static void test_error_message_stays_on_one_line(void **state)
{
    (void)state;
    assert_settings_error("{'fields': [{'name': 'a\\nb', 'type': 'text'}]}",
                          "/fields/0/name: \"a\\u000ab\" is not a valid name: names are 1 to 200 "
                          "characters of a-z, 0-9, '_' and '-', with at least one letter or digit");
}

/* ---- annotator and dataset names ---------------------------------------------------------- */

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(jury_settings_name_valid("alice"));
    assert_true(jury_settings_name_valid("Bob.Smith_2-x"));
    assert_true(jury_settings_name_valid("_x"));
    assert_false(jury_settings_name_valid(""));
    assert_false(jury_settings_name_valid(NULL));
    assert_false(jury_settings_name_valid(".hidden"));
    assert_false(jury_settings_name_valid("-flag"));
    assert_false(jury_settings_name_valid("a b"));
    assert_false(jury_settings_name_valid("a/b"));
    assert_false(jury_settings_name_valid("caf\xC3\xA9"));
    char name[JURY_SETTINGS_NAME_MAX + 2];
    memset(name, 'a', sizeof name);
    name[JURY_SETTINGS_NAME_MAX] = '\0';
    assert_true(jury_settings_name_valid(name));
    name[JURY_SETTINGS_NAME_MAX] = 'a';
    name[JURY_SETTINGS_NAME_MAX + 1] = '\0';
    assert_false(jury_settings_name_valid(name));
}

/* ---- records: shape, id and fields -------------------------------------------------------- */

static void test_record_with_every_part(void **state)
{
    (void)state;
    assert_record_ok(
        support,
        "{'id': 'ticket-0001',"
        " 'fields': {'instruction': 'Where is order 123?', 'context': null,"
        "            'conversation': [{'role': 'user', 'content': 'hi'},"
        "                             {'role': 'assistant', 'content': 'hello'}]},"
        " 'metadata': {'category': 'shipping', 'tokens': 12, 'temperature': 0.7},"
        " 'suggestions': {'response': {'value': 'It ships today.', 'score': 0.87,"
        "                              'agent': 'falcon-40b', 'type': 'model'},"
        "                 'entities': {'value': [{'start': 15, 'end': 18, 'label': 'order-id'}],"
        "                              'score': [0.5]}},"
        " 'responses': {'response': [{'value': 'It ships today!', 'user_id': 'alice'}],"
        "               'quality': [{'value': 4, 'user_id': 'alice'}]}}");
}

static void test_record_must_be_an_object(void **state)
{
    (void)state;
    assert_record_error(support, "['instruction']", "/: a record must be a JSON object");
}

static void test_record_unknown_top_level_key(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'vectors': {}}",
                        "/vectors: unknown key \"vectors\"; a record has the keys id, fields, "
                        "metadata, suggestions, responses and gold");
}

static void test_record_id(void **state)
{
    (void)state;
    const char *rule = "an id must be a non-empty string of at most 500 bytes or a non-negative "
                       "integer";
    char expected[256];
    snprintf(expected, sizeof expected, "/id: %s", rule);
    assert_record_ok(support, "{'id': 42, 'fields': {'instruction': 'x'}}");
    assert_record_ok(support, "{'id': 'a', 'fields': {'instruction': 'x'}}");
    assert_record_error(support, "{'id': '', 'fields': {'instruction': 'x'}}", expected);
    assert_record_error(support, "{'id': -1, 'fields': {'instruction': 'x'}}", expected);
    assert_record_error(support, "{'id': 1.5, 'fields': {'instruction': 'x'}}", expected);
    assert_record_error(support, "{'id': null, 'fields': {'instruction': 'x'}}", expected);

    char record[1200];
    char id[1026];
    memset(id, 'a', sizeof id);
    id[500] = '\0';
    snprintf(record, sizeof record, "{'id': '%s', 'fields': {'instruction': 'x'}}", id);
    assert_record_ok(support, record);
    id[500] = 'a';
    id[501] = '\0';
    snprintf(record, sizeof record, "{'id': '%s', 'fields': {'instruction': 'x'}}", id);
    assert_record_error(support, record, expected);
}

static void test_record_fields_are_required(void **state)
{
    (void)state;
    assert_record_error(support, "{'id': 'a'}", "/fields: a record needs a \"fields\" object");
    assert_record_error(support, "{'fields': 'x'}", "/fields: must be an object of field values");
}

static void test_record_missing_required_field(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'context': 'x'}}",
                        "/fields/instruction: field \"instruction\" is required by the dataset "
                        "settings");
    assert_record_error(support, "{'fields': {'instruction': null}}",
                        "/fields/instruction: field \"instruction\" is required by the dataset "
                        "settings");
}

static void test_record_optional_fields_may_be_absent_or_null(void **state)
{
    (void)state;
    assert_record_ok(support, "{'fields': {'instruction': 'x'}}");
    assert_record_ok(support, "{'fields': {'instruction': 'x', 'context': null, "
                              "'conversation': null}}");
}

static void test_record_unknown_field(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'instruction': 'x', 'foo': 'y'}}",
                        "/fields/foo: unknown field \"foo\"; the dataset has fields: instruction, "
                        "context, conversation");
    /* Field names are looked up exactly. */
    assert_record_error(support, "{'fields': {'Instruction': 'x'}}",
                        "/fields/Instruction: unknown field \"Instruction\"; the dataset has "
                        "fields: instruction, context, conversation");
}

static void test_record_duplicate_field(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'instruction': 'x', 'instruction': 'y'}}",
                        "/fields/instruction: duplicate key \"instruction\"");
}

static void test_record_wrong_field_type(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'instruction': 42}}",
                        "/fields/instruction: text field \"instruction\" must be a string");
    assert_record_error(support, "{'fields': {'instruction': 'x', 'conversation': 'hi'}}",
                        "/fields/conversation: chat field \"conversation\" must be a non-empty "
                        "list of {\"role\", \"content\"} turns");
    assert_record_error(support, "{'fields': {'instruction': 'x', 'conversation': []}}",
                        "/fields/conversation: chat field \"conversation\" must be a non-empty "
                        "list of {\"role\", \"content\"} turns");
}

static void test_record_bad_chat_turn(void **state)
{
    (void)state;
    assert_record_error(support,
                        "{'fields': {'instruction': 'x', 'conversation': [{'role': 'user'}]}}",
                        "/fields/conversation/0/content: a chat turn needs a \"content\"");
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x', 'conversation': [{'role': 'user', 'content': 'a'},"
        " {'role': 2, 'content': 'b'}]}}",
        "/fields/conversation/1/role: must be a string");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x', 'conversation': [{'role': 'user',"
                        " 'content': 'a', 'name': 'bob'}]}}",
                        "/fields/conversation/0/name: unknown key \"name\"; a chat turn has only "
                        "\"role\" and \"content\"");
    assert_record_error(support, "{'fields': {'instruction': 'x', 'conversation': ['hi']}}",
                        "/fields/conversation/0: a chat turn must be an object with \"role\" and "
                        "\"content\" strings");
}

/* ---- records: metadata -------------------------------------------------------------------- */

static void test_record_metadata_out_of_range(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'metadata': {'tokens': 5000}}",
                        "/metadata/tokens: 5000 is above the maximum 4096");
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'metadata': {'tokens': -1}}",
                        "/metadata/tokens: -1 is below the minimum 0");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'}, 'metadata': {'temperature': 2.5}}",
                        "/metadata/temperature: 2.5 is above the maximum 2");
}

static void test_record_metadata_wrong_type(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'metadata': {'tokens': 1.5}}",
                        "/metadata/tokens: integer metadata must be an integer");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'}, 'metadata': {'temperature': '0.5'}}",
                        "/metadata/temperature: float metadata must be a number");
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'metadata': {'category': 3}}",
                        "/metadata/category: terms metadata must be a string or a list of "
                        "strings");
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'metadata': []}",
                        "/metadata: must be an object of metadata values");
}

static void test_record_metadata_not_in_options(void **state)
{
    (void)state;
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'}, 'metadata': {'category': 'refunds'}}",
                        "/metadata/category: \"refunds\" is not one of the options \"billing\", "
                        "\"shipping\"");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'metadata': {'category': ['billing', 'refunds']}}",
                        "/metadata/category/1: \"refunds\" is not one of the options \"billing\", "
                        "\"shipping\"");
    assert_record_ok(support, "{'fields': {'instruction': 'x'},"
                              " 'metadata': {'category': ['billing', 'shipping']}}");
}

static void test_record_metadata_null_means_unset(void **state)
{
    (void)state;
    assert_record_ok(support, "{'fields': {'instruction': 'x'},"
                              " 'metadata': {'category': null, 'tokens': null}}");
}

static void test_record_metadata_unknown_key_when_extra_disallowed(void **state)
{
    (void)state;
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'metadata': {'lang': 'en'}}",
                        "/metadata/lang: unknown metadata property \"lang\"; the dataset has "
                        "metadata: category, tokens, temperature, and allow_extra_metadata is "
                        "false");
}

/* ---- records: suggestions ----------------------------------------------------------------- */

static void test_record_suggestion_for_unknown_question(void **state)
{
    (void)state;
    assert_record_error(
        support, "{'fields': {'instruction': 'x'}, 'suggestions': {'answer': {'value': 'a'}}}",
        "/suggestions/answer: unknown question \"answer\"; the dataset has "
        "questions: response, quality, topic, flaws, preference, entities");
}

static void test_record_suggestion_shape(void **state)
{
    (void)state;
    assert_record_error(
        support, "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'score': 1}}}",
        "/suggestions/quality/value: a suggestion needs a \"value\"");
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': 3}}",
                        "/suggestions/quality: a suggestion must be an object with \"value\" and "
                        "optional \"score\", \"agent\" and \"type\"");
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'value': 3, 'model': 'x'}}}",
        "/suggestions/quality/model: unknown key \"model\"; a suggestion has \"value\", "
        "\"score\", \"agent\" and \"type\"");
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'value': 3, 'agent': 7}}}",
        "/suggestions/quality/agent: must be a string");
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'value': 3, 'type': 'bot'}}}",
        "/suggestions/quality/type: type must be \"model\" or \"human\"");
}

static void test_record_suggestion_value_is_checked(void **state)
{
    (void)state;
    assert_record_error(
        support, "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'value': 7}}}",
        "/suggestions/quality/value: 7 is not one of the rating values 1, 2, 3, "
        "4, 5");
}

static void test_record_suggestion_score_out_of_range(void **state)
{
    (void)state;
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'value': 3, 'score': 1.5}}}",
        "/suggestions/quality/score: a score must be a number from 0 to 1");
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'value': 3, 'score': -0.1}}}",
        "/suggestions/quality/score: a score must be a number from 0 to 1");
    assert_record_ok(
        support,
        "{'fields': {'instruction': 'x'}, 'suggestions': {'quality': {'value': 3, 'score': 1}}}");
}

static void test_record_suggestion_scores_for_a_list_value(void **state)
{
    (void)state;
    assert_record_ok(support, "{'fields': {'instruction': 'x'},"
                              " 'suggestions': {'flaws': {'value': ['rude', 'long'],"
                              "                           'score': [0.9, 0.2]}}}");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'suggestions': {'flaws': {'value': ['rude', 'long'], 'score': [0.9]}}}",
                        "/suggestions/flaws/score: 1 scores for 2 items; give one score per item");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'suggestions': {'flaws': {'value': ['rude'], 'score': 0.9}}}",
                        "/suggestions/flaws/score: a suggestion whose value is a list needs a list "
                        "of scores, one per item");
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x'},"
        " 'suggestions': {'flaws': {'value': ['rude', 'long'], 'score': [0.9, 2]}}}",
        "/suggestions/flaws/score/1: a score must be a number from 0 to 1");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'suggestions': {'quality': {'value': 3, 'score': [0.9]}}}",
                        "/suggestions/quality/score: a score must be a number from 0 to 1");
}

static void test_record_span_suggestion_uses_the_records_text(void **state)
{
    (void)state;
    /* "naïve café" is 10 code points in 12 bytes: offsets count code points, as Python does. */
    assert_record_ok(support, "{'fields': {'instruction': 'na\xC3\xAFve caf\xC3\xA9'},"
                              " 'suggestions': {'entities': {'value': [{'start': 6, 'end': 10,"
                              "                                         'label': 'product'}]}}}");
    assert_record_error(support,
                        "{'fields': {'instruction': 'na\xC3\xAFve caf\xC3\xA9'},"
                        " 'suggestions': {'entities': {'value': [{'start': 6, 'end': 12,"
                        "                                         'label': 'product'}]}}}",
                        "/suggestions/entities/value: span 0: end (12) is beyond the end of the "
                        "text (10 characters)");
}

/* ---- values of each question type (jury_settings_check_value) ----------------------------- */

static void test_value_text(void **state)
{
    (void)state;
    assert_value_ok(support, "response", "'Your parcel left our depot today.'", NULL);
    assert_value_error(support, "response", "''", NULL, "a text answer must not be empty");
    assert_value_error(support, "response", "42", NULL, "a text answer must be a string");
}

static void test_value_rating(void **state)
{
    (void)state;
    assert_value_ok(support, "quality", "5", NULL);
    assert_value_error(support, "quality", "0", NULL,
                       "0 is not one of the rating values 1, 2, 3, 4, 5");
    assert_value_error(support, "quality", "2.5", NULL,
                       "2.5 is not one of the rating values 1, 2, 3, 4, 5");
    assert_value_error(support, "quality", "'5'", NULL, "a rating must be an integer");
}

static void test_value_label_selection(void **state)
{
    (void)state;
    assert_value_ok(support, "topic", "'billing'", NULL);
    assert_value_error(support, "topic", "'Billing'", NULL,
                       "\"Billing\" is not one of the labels \"billing\", \"shipping\", \"other\"");
    assert_value_error(support, "topic", "['billing']", NULL, "a label answer must be a string");
}

static void test_value_multi_label_selection(void **state)
{
    (void)state;
    assert_value_ok(support, "flaws", "['wrong', 'rude']", NULL);
    /* argilla-server refuses an empty list for multi-label answers; so does jury. */
    assert_value_error(support, "flaws", "[]", NULL,
                       "a multi-label answer must have at least one label");
    assert_value_error(support, "flaws", "['rude', 'rude']", NULL, "label \"rude\" is given twice");
    assert_value_error(support, "flaws", "['rude', 'slow']", NULL,
                       "\"slow\" is not one of the labels \"rude\", \"wrong\", \"long\"");
    assert_value_error(support, "flaws", "'rude'", NULL,
                       "a multi-label answer must be a list of labels");
    assert_value_error(support, "flaws", "['rude', 1]", NULL, "item 1 must be a label string");
}

static void test_value_ranking(void **state)
{
    (void)state;
    assert_value_ok(support, "preference", "['draft-b', 'draft-a', 'draft-c']", NULL);
    assert_value_error(support, "preference", "['draft-b', 'draft-a']", NULL,
                       "a ranking must list all 3 values once, best first; got 2");
    assert_value_error(support, "preference", "['draft-b', 'draft-b', 'draft-a']", NULL,
                       "value \"draft-b\" is ranked twice");
    assert_value_error(support, "preference", "['draft-b', 'draft-x', 'draft-a']", NULL,
                       "\"draft-x\" is not one of the ranking values \"draft-a\", \"draft-b\", "
                       "\"draft-c\"");
    assert_value_error(support, "preference", "{'draft-a': 1}", NULL,
                       "a ranking answer must be a list of all the values, best first");
}

static void test_value_ranking_ties_need_allow_ties(void **state)
{
    (void)state;
    assert_value_error(support, "preference", "['draft-a', ['draft-b', 'draft-c']]", NULL,
                       "item 1: ties are not allowed by this question (allow_ties is false)");
    assert_value_error(support, "preference", "[['draft-a'], 'draft-b', 'draft-c']", NULL,
                       "item 0: ties are not allowed by this question (allow_ties is false)");
    assert_value_error(support, "preference", "['draft-a', 'draft-b', {'draft-c': 1}]", NULL,
                       "item 2 must be a string");
}

/* A ranking question over a, b, c and d that allows ties. */
#define TIES                                                                                       \
    WITH_QUESTIONS("{'name': 'q', 'type': 'ranking', 'values': ['a', 'b', 'c', 'd'],"              \
                   " 'allow_ties': true}")

static void test_value_ranking_with_ties(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(TIES);
    assert_value_ok(s, "q", "['b', ['a', 'c'], 'd']", NULL);
    assert_value_ok(s, "q", "[['d', 'c'], ['a', 'b']]", NULL);
    assert_value_ok(s, "q", "[['a', 'b', 'c', 'd']]", NULL);
    assert_value_ok(s, "q", "['a', 'b', 'c', 'd']", NULL);
    assert_value_error(s, "q", "['a', ['b'], 'c', 'd']", NULL,
                       "item 1: a tie must be a list of 2 or more value strings");
    assert_value_error(s, "q", "['a', [], 'b', 'c', 'd']", NULL,
                       "item 1: a tie must be a list of 2 or more value strings");
    assert_value_error(s, "q", "['a', ['b', 3], 'c', 'd']", NULL,
                       "item 1: a tie must be a list of 2 or more value strings");
    assert_value_error(s, "q", "[['a', ['b', 'c']], 'd']", NULL,
                       "item 0: a tie must be a list of 2 or more value strings");
    assert_value_error(s, "q", "['a', ['b', 'a'], 'c', 'd']", NULL, "value \"a\" is ranked twice");
    assert_value_error(s, "q", "['a', ['b', 'x'], 'c', 'd']", NULL,
                       "\"x\" is not one of the ranking values \"a\", \"b\", \"c\", \"d\"");
    assert_value_error(s, "q", "['a', ['b', 'c']]", NULL,
                       "a ranking must list all 4 values once, best first; got 3");
    assert_value_error(s, "q", "['a', 2, 'c', 'd']", NULL,
                       "item 1 must be a string or a list of tied strings");
    jury_settings_destroy(&s);
}

static void test_record_ranking_ties_name_the_item(void **state)
{
    (void)state;
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'suggestions': {'preference': {'value': ['draft-a',"
                        "                                          ['draft-b', 'draft-c']]}}}",
                        "/suggestions/preference/value/1: ties are not allowed by this question "
                        "(allow_ties is false)");
    assert_record_error(
        support,
        "{'fields': {'instruction': 'x'},"
        " 'responses': {'response': [{'value': 'ok', 'user_id': 'alice'}],"
        "               'quality': [{'value': 4, 'user_id': 'alice'}],"
        "               'preference': [{'value': [['draft-a', 'draft-b'],"
        "                                         'draft-c'], 'user_id': 'alice'}]}}",
        "/responses/preference/0/value/0: ties are not allowed by this question "
        "(allow_ties is false)");
    /* With ties, a suggestion's list of scores has one score per rank. */
    jury_settings_t *s = parse_ok(TIES);
    assert_record_ok(s, "{'fields': {'text': 'x'},"
                        " 'suggestions': {'q': {'value': ['b', ['a', 'c'], 'd'],"
                        "                       'score': [0.9, 0.5, 0.1]}}}");
    assert_record_error(s,
                        "{'fields': {'text': 'x'},"
                        " 'suggestions': {'q': {'value': ['b', ['a'], 'c', 'd']}}}",
                        "/suggestions/q/value/1: a tie must be a list of 2 or more value strings");
    jury_settings_destroy(&s);
}

/* A JSON string answer of n bytes 'x'. */
static cJSON *text_of(size_t n)
{
    char *text = malloc(n + 1);
    assert_non_null(text);
    memset(text, 'x', n);
    text[n] = '\0';
    cJSON *v = cJSON_CreateString(text);
    free(text);
    assert_non_null(v);
    return v;
}

static void test_value_text_at_most_64_kib(void **state)
{
    (void)state;
    size_t q = (size_t)jury_settings_question_index(support, "response");
    cJSON *v = text_of(JURY_SETTINGS_TEXT_MAX);
    assert_int_equal(jury_settings_check_value(support, q, v, NULL, err, sizeof err), JURY_OK);
    cJSON_Delete(v);
    v = text_of(JURY_SETTINGS_TEXT_MAX + 1);
    assert_int_equal(jury_settings_check_value(support, q, v, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "a text answer must be at most 65536 bytes, and this one has 65537");

    /* The same limit holds for suggestions. */
    cJSON *record = cJSON_CreateObject();
    cJSON *fields = cJSON_AddObjectToObject(record, "fields");
    cJSON_AddStringToObject(fields, "instruction", "x");
    cJSON *sugg =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(record, "suggestions"), "response");
    cJSON_AddItemToObject(sugg, "value", v);
    assert_int_equal(jury_settings_check_record(support, record, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "/suggestions/response/value: a text answer must be at most 65536 "
                             "bytes, and this one has 65537");
    cJSON_Delete(record);
}

static void test_value_span(void **state)
{
    (void)state;
    const char *text = "Order 123 for the blue kettle"; /* 29 code points */
    assert_value_ok(support, "entities",
                    "[{'start': 6, 'end': 9, 'label': 'order-id'},"
                    " {'start': 18, 'end': 29, 'label': 'product'}]",
                    text);
    assert_value_ok(support, "entities", "[]", text);
    assert_value_error(support, "entities", "[{'start': 6, 'end': 30, 'label': 'product'}]", text,
                       "span 0: end (30) is beyond the end of the text (29 characters)");
    /* Without the text only the offsets' order is known. */
    assert_value_ok(support, "entities", "[{'start': 6, 'end': 30, 'label': 'product'}]", NULL);
    assert_value_error(support, "entities", "[{'start': 9, 'end': 9, 'label': 'product'}]", text,
                       "span 0: start (9) must be less than end (9)");
    assert_value_error(support, "entities", "[{'start': -1, 'end': 2, 'label': 'product'}]", text,
                       "span 0: start must be a non-negative integer");
    assert_value_error(support, "entities", "[{'start': 0, 'end': 2, 'label': 'colour'}]", text,
                       "span 0: \"colour\" is not one of the labels \"product\", \"order-id\"");
    assert_value_error(support, "entities", "[{'start': 0, 'end': 2}]", text,
                       "span 0: label must be a string");
    assert_value_error(support, "entities",
                       "[{'start': 0, 'end': 2, 'label': 'product', 'score': 1}]", text,
                       "span 0 has the unknown key \"score\"; a span has \"start\", \"end\" and "
                       "\"label\"");
    assert_value_error(support, "entities", "{'start': 0}", text,
                       "a span answer must be a list of {\"start\", \"end\", \"label\"} objects");
}

static void test_value_span_multibyte_text_counts_code_points(void **state)
{
    (void)state;
    /* "Köln → 東京 🚚" is 11 code points in 23 bytes. */
    const char *text = "K\xC3\xB6ln \xE2\x86\x92 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x9A\x9A";
    assert_value_ok(support, "entities", "[{'start': 10, 'end': 11, 'label': 'product'}]", text);
    assert_value_error(support, "entities", "[{'start': 10, 'end': 12, 'label': 'product'}]", text,
                       "span 0: end (12) is beyond the end of the text (11 characters)");
}

static void test_value_span_overlaps(void **state)
{
    (void)state;
    const char *text = "Order 123 for the blue kettle";
    assert_value_error(support, "entities",
                       "[{'start': 18, 'end': 29, 'label': 'product'},"
                       " {'start': 0, 'end': 9, 'label': 'order-id'},"
                       " {'start': 6, 'end': 9, 'label': 'order-id'}]",
                       text, "spans 1 and 2 overlap, and the question does not allow overlapping");
    /* Touching spans do not overlap. */
    assert_value_ok(support, "entities",
                    "[{'start': 0, 'end': 5, 'label': 'order-id'},"
                    " {'start': 5, 'end': 9, 'label': 'order-id'}]",
                    text);

    jury_settings_t *s = parse_ok(WITH_QUESTIONS("{'name': 'q', 'type': 'span', 'field': 'text',"
                                                 " 'labels': ['a'], 'allow_overlapping': true}"));
    assert_value_ok(s, "q",
                    "[{'start': 0, 'end': 9, 'label': 'a'}, {'start': 6, 'end': 9, 'label': 'a'}]",
                    text);
    jury_settings_destroy(&s);
}

/* Builds a span answer with n one-character spans at 2i (or in reverse order), optionally with
 * an extra span covering the last two. */
static cJSON *many_spans(int n, bool reverse, bool overlap_at_end)
{
    cJSON *list = cJSON_CreateArray();
    for (int k = 0; k < n; k++) {
        int i = reverse ? n - 1 - k : k;
        cJSON *span = cJSON_CreateObject();
        cJSON_AddNumberToObject(span, "start", 2 * i);
        cJSON_AddNumberToObject(span, "end", 2 * i + 1);
        cJSON_AddStringToObject(span, "label", "a");
        cJSON_AddItemToArray(list, span);
    }
    if (overlap_at_end) {
        cJSON *span = cJSON_CreateObject();
        cJSON_AddNumberToObject(span, "start", 2 * (n - 2));
        cJSON_AddNumberToObject(span, "end", 2 * n);
        cJSON_AddStringToObject(span, "label", "a");
        cJSON_AddItemToArray(list, span);
    }
    return list;
}

static void test_value_span_overlaps_in_long_answers(void **state)
{
    (void)state;
    jury_settings_t *s =
        parse_ok(WITH_QUESTIONS("{'name': 'q', 'type': 'span', 'field': 'text', 'labels': ['a']}"));
    const int counts[] = {10, 256, 257, 600};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c];
        for (int reverse = 0; reverse <= 1; reverse++) {
            cJSON *ok = many_spans(n, reverse, false);
            assert_int_equal(jury_settings_check_value(s, 0, ok, NULL, err, sizeof err), JURY_OK);
            cJSON_Delete(ok);

            cJSON *bad = many_spans(n, reverse, true);
            assert_int_equal(jury_settings_check_value(s, 0, bad, NULL, err, sizeof err),
                             JURY_EINVAL);
            /* The extra span (index n) overlaps the spans starting at 2(n-2) and 2(n-1). Up to
             * 256 spans are sorted, so the first overlap by start is reported: the span at
             * 2(n-2), which sits at index n-2, or 1 when reversed. Longer answers (the extra
             * span makes n + 1) that are not
             * in start order are compared pairwise in list order: the span at 2(n-1), index 0
             * when reversed, meets the extra span first. */
            int first = !reverse ? n - 2 : n + 1 <= 256 ? 1 : 0;
            char expected[128];
            snprintf(expected, sizeof expected,
                     "spans %d and %d overlap, and the question does not allow overlapping", first,
                     n);
            assert_string_equal(err, expected);
            cJSON_Delete(bad);
        }
    }
    jury_settings_destroy(&s);
}

static void test_check_value_rejects_a_bad_question_index(void **state)
{
    (void)state;
    cJSON *v = cJSON_CreateString("x");
    assert_int_equal(jury_settings_check_value(support, 6, v, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "jury_settings_check_value: no such question");
    cJSON_Delete(v);
}

/* ---- records: responses ------------------------------------------------------------------- */

static void test_record_responses_missing_required_question(void **state)
{
    (void)state;
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'response': [{'value': 'Fixed.', 'user_id': 'alice'}],"
                        "               'quality': [{'value': 4, 'user_id': 'alice'}],"
                        "               'topic': [{'value': 'billing', 'user_id': 'bob'}]}}",
                        "/responses/response: annotator \"bob\" answered \"topic\" but not the "
                        "required question \"response\"");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'response': [{'value': 'Fixed.', 'user_id': 'alice'}]}}",
                        "/responses/quality: annotator \"alice\" answered \"response\" but not "
                        "the required question \"quality\"");
}

static void test_record_responses_duplicate_user_id(void **state)
{
    (void)state;
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'quality': [{'value': 4, 'user_id': 'alice'},"
                        "                           {'value': 5, 'user_id': 'alice'}]}}",
                        "/responses/quality/1/user_id: annotator \"alice\" already answered this "
                        "question in response 0");
}

static void test_record_responses_user_id_is_a_valid_name(void **state)
{
    (void)state;
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'quality': [{'value': 4, 'user_id': '.alice'}]}}",
                        "/responses/quality/0/user_id: \".alice\" is not a valid annotator name: "
                        "use 1 to 200 ASCII letters, digits, '_', '-' and '.', not starting with "
                        "'.' or '-'");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'quality': [{'value': 4}]}}",
                        "/responses/quality/0/user_id: a response needs the annotator's name in "
                        "\"user_id\"");
}

static void test_record_responses_shape(void **state)
{
    (void)state;
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'quality': {'value': 4, 'user_id': 'alice'}}}",
                        "/responses/quality: responses must be a list of {\"value\", \"user_id\"} "
                        "objects");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'quality': [{'value': 4, 'user_id': 'alice',"
                        "                            'status': 'submitted'}]}}",
                        "/responses/quality/0/status: unknown key \"status\"; a response has "
                        "\"value\" and \"user_id\"");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'quality': [{'value': 9, 'user_id': 'alice'}]}}",
                        "/responses/quality/0/value: 9 is not one of the rating values 1, 2, 3, "
                        "4, 5");
    assert_record_error(support,
                        "{'fields': {'instruction': 'x'},"
                        " 'responses': {'rating': [{'value': 4, 'user_id': 'alice'}]}}",
                        "/responses/rating: unknown question \"rating\"; the dataset has "
                        "questions: response, quality, topic, flaws, preference, entities");
}

static void test_record_span_response_needs_its_field(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(
        "{'fields': [{'name': 'text', 'type': 'text'},"
        "            {'name': 'note', 'type': 'text', 'required': false}],"
        " 'questions': [{'name': 'q', 'type': 'text'},"
        "               {'name': 'marks', 'type': 'span', 'field': 'note', 'required': false,"
        "                'labels': ['a']}]}");
    assert_record_error(
        s,
        "{'fields': {'text': 'x'},"
        " 'suggestions': {'marks': {'value': [{'start': 0, 'end': 1, 'label': 'a'}]}}}",
        "/suggestions/marks/value: span question \"marks\" needs the record's "
        "field \"note\", which is missing");
    jury_settings_destroy(&s);
}

/* ---- a worker's answers (jury_settings_check_answers) ------------------------------------- */

static jury_err check_answers(const jury_settings_t *s, const char *values, bool submitted,
                              const char *fields)
{
    char *json = json_of(values);
    cJSON *v = cJSON_Parse(json);
    free(json);
    assert_non_null(v);
    cJSON *f = NULL;
    if (fields != NULL) {
        json = json_of(fields);
        f = cJSON_Parse(json);
        free(json);
        assert_non_null(f);
    }
    jury_err rc = jury_settings_check_answers(s, v, submitted, f, err, sizeof err);
    cJSON_Delete(v);
    cJSON_Delete(f);
    return rc;
}

static void assert_answers_ok(const jury_settings_t *s, const char *values, bool submitted,
                              const char *fields)
{
    if (check_answers(s, values, submitted, fields) != JURY_OK)
        fail_msg("answers %s rejected: %s", values, err);
}

static void assert_answers_error(const jury_settings_t *s, const char *values, bool submitted,
                                 const char *fields, const char *expected)
{
    assert_int_equal(check_answers(s, values, submitted, fields), JURY_EINVAL);
    assert_string_equal(err, expected);
}

static void test_answers_submitted_need_every_required_question(void **state)
{
    (void)state;
    assert_answers_ok(support, "{'response': 'Fixed.', 'quality': 4}", true, NULL);
    assert_answers_ok(support,
                      "{'response': 'Fixed.', 'quality': 4, 'topic': 'billing',"
                      " 'flaws': ['rude'], 'preference': ['draft-c', 'draft-a', 'draft-b'],"
                      " 'entities': [{'start': 0, 'end': 5, 'label': 'product'}]}",
                      true, "{'instruction': 'Kettle is broken'}");
    assert_answers_error(support, "{'quality': 4}", true, NULL,
                         "/values/response: question \"response\" is required in a submitted "
                         "response");
    /* null is no answer. */
    assert_answers_error(support, "{'response': 'Fixed.', 'quality': null}", true, NULL,
                         "/values/quality: question \"quality\" is required in a submitted "
                         "response");
    assert_answers_error(support, "{}", true, NULL,
                         "/values/response: question \"response\" is required in a submitted "
                         "response");
}

static void test_answers_draft_may_be_partial(void **state)
{
    (void)state;
    assert_answers_ok(support, "{}", false, NULL);
    assert_answers_ok(support, "{'quality': 4}", false, NULL);
    assert_answers_ok(support, "{'response': null, 'quality': 4, 'topic': null}", false, NULL);
    /* What a draft does answer must still be valid. */
    assert_answers_error(support, "{'quality': 9}", false, NULL,
                         "/values/quality: 9 is not one of the rating values 1, 2, 3, 4, 5");
}

static void test_answers_name_questions_of_the_dataset(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(WITH_QUESTIONS(
        "{'name': 'a', 'type': 'text'}, {'name': 'b', 'type': 'rating', 'values': [1, 2]}"));
    assert_answers_error(s, "{'a': 'x', 'foo': 1}", false, NULL,
                         "/values/foo: unknown question \"foo\"; the dataset has questions: a, b");
    assert_answers_error(s, "{'a': 'x', 'b': 1, 'a': 'y'}", true, NULL,
                         "/values/a: duplicate key \"a\"");
    jury_settings_destroy(&s);
}

static void test_answers_must_be_an_object(void **state)
{
    (void)state;
    assert_answers_error(support, "[4]", false, NULL,
                         "/values: must be an object of answers by question name");
    assert_int_equal(jury_settings_check_answers(support, NULL, true, NULL, err, sizeof err),
                     JURY_EINVAL);
    assert_string_equal(err, "/values: must be an object of answers by question name");
    cJSON *v = cJSON_CreateObject();
    assert_int_equal(jury_settings_check_answers(NULL, v, true, NULL, err, sizeof err),
                     JURY_EINVAL);
    assert_string_equal(err, "jury_settings_check_answers: invalid arguments");
    /* No room for a message is fine too. */
    assert_int_equal(jury_settings_check_answers(support, v, true, NULL, NULL, 0), JURY_EINVAL);
    cJSON_Delete(v);
}

static void test_answers_values_are_checked_like_suggestions(void **state)
{
    (void)state;
    assert_answers_error(support, "{'response': '', 'quality': 4}", true, NULL,
                         "/values/response: a text answer must not be empty");
    assert_answers_error(support, "{'flaws': ['rude', 'rude']}", false, NULL,
                         "/values/flaws: label \"rude\" is given twice");
    assert_answers_error(support, "{'preference': ['draft-a', ['draft-b', 'draft-c']]}", false,
                         NULL,
                         "/values/preference/1: ties are not allowed by this question "
                         "(allow_ties is false)");
    jury_settings_t *s = parse_ok(TIES);
    assert_answers_ok(s, "{'q': [['a', 'b'], 'c', 'd']}", true, NULL);
    assert_answers_error(s, "{'q': [['a', 'b'], ['c'], 'd']}", true, NULL,
                         "/values/q/1: a tie must be a list of 2 or more value strings");
    jury_settings_destroy(&s);

    cJSON *values = cJSON_CreateObject();
    cJSON_AddItemToObject(values, "response", text_of(JURY_SETTINGS_TEXT_MAX + 1));
    cJSON_AddNumberToObject(values, "quality", 4);
    assert_int_equal(jury_settings_check_answers(support, values, true, NULL, err, sizeof err),
                     JURY_EINVAL);
    assert_string_equal(err, "/values/response: a text answer must be at most 65536 bytes, and "
                             "this one has 65537");
    cJSON_Delete(values);
}

static void test_answers_spans_use_the_records_text_when_given(void **state)
{
    (void)state;
    const char *span = "{'entities': [{'start': 6, 'end': 20, 'label': 'product'}]}";
    /* "Order 123" is 9 code points. */
    assert_answers_error(support, span, false, "{'instruction': 'Order 123'}",
                         "/values/entities: span 0: end (20) is beyond the end of the text (9 "
                         "characters)");
    assert_answers_ok(support, span, false, "{'instruction': 'Order 123 for the blue kettle'}");
    /* Without the record's fields the end cannot be checked, and everything else is. */
    assert_answers_ok(support, span, false, NULL);
    assert_answers_error(support, "{'entities': [{'start': 6, 'end': 2, 'label': 'product'}]}",
                         false, NULL,
                         "/values/entities: span 0: start (6) must be less than end (2)");
    assert_answers_error(support, span, false, "{'context': 'x'}",
                         "/values/entities: span question \"entities\" needs the record's field "
                         "\"instruction\", which is missing");
}

/* ---- consolidation: methods --------------------------------------------------------------- */

/* One question of each type, and a second rating question, for the consolidation tests. */
#define CONSOLIDATION_QUESTIONS                                                                    \
    "{'fields': [{'name': 'text', 'type': 'text'}, {'name': 'notes', 'type': 'text'}],"            \
    " 'questions': ["                                                                              \
    "  {'name': 'reply', 'type': 'text'},"                                                         \
    "  {'name': 'quality', 'type': 'rating', 'values': [5, 1, 3, 2, 4]},"                          \
    "  {'name': 'topic', 'type': 'label_selection', 'labels': ['billing', 'shipping', 'other']},"  \
    "  {'name': 'flaws', 'type': 'multi_label_selection', 'labels': ['rude', 'wrong']},"           \
    "  {'name': 'best', 'type': 'ranking', 'values': ['a', 'b', 'c']},"                            \
    "  {'name': 'spans', 'type': 'span', 'field': 'notes', 'labels': ['person', 'place']},"        \
    "  {'name': 'effort', 'type': 'rating', 'values': [10, 0, 5]}]"

/* The settings above with the given consolidation section. */
#define WITH_CONSOLIDATION(consolidation)                                                          \
    CONSOLIDATION_QUESTIONS ", 'consolidation': " consolidation "}"

/* The questions of CONSOLIDATION_QUESTIONS as messages list them. */
#define CONSOLIDATION_QUESTION_LIST "reply, quality, topic, flaws, best, spans, effort"

/* The question of CONSOLIDATION_QUESTIONS with type t. */
static const char *question_of_type(jury_question_type t)
{
    static const char *const names[] = {"reply", "quality", "topic", "flaws", "best", "spans"};
    return names[t];
}

/* settings.h's table of which methods apply to which type, the default first. */
static const struct {
    jury_question_type type;
    const char *type_name;
    const char *choices;
    jury_method methods[5];
    size_t count;
} method_table[] = {
    {JURY_QUESTION_LABEL_SELECTION,
     "label_selection",
     "majority, weighted, dawid_skene, disagreement",
     {JURY_METHOD_MAJORITY, JURY_METHOD_WEIGHTED, JURY_METHOD_DAWID_SKENE,
      JURY_METHOD_DISAGREEMENT},
     4},
    {JURY_QUESTION_MULTI_LABEL_SELECTION,
     "multi_label_selection",
     "majority, dawid_skene",
     {JURY_METHOD_MAJORITY, JURY_METHOD_DAWID_SKENE},
     2},
    {JURY_QUESTION_RATING,
     "rating",
     "mean, median, majority, min, max",
     {JURY_METHOD_MEAN, JURY_METHOD_MEDIAN, JURY_METHOD_MAJORITY, JURY_METHOD_MIN, JURY_METHOD_MAX},
     5},
    {JURY_QUESTION_RANKING,
     "ranking",
     "borda, majority",
     {JURY_METHOD_BORDA, JURY_METHOD_MAJORITY},
     2},
    {JURY_QUESTION_TEXT,
     "text",
     "medoid, best_annotator",
     {JURY_METHOD_MEDOID, JURY_METHOD_BEST_ANNOTATOR},
     2},
    {JURY_QUESTION_SPAN, "span", "majority", {JURY_METHOD_MAJORITY}, 1},
};

static bool method_applies(size_t row, jury_method m)
{
    for (size_t k = 0; k < method_table[row].count; k++)
        if (method_table[row].methods[k] == m)
            return true;
    return false;
}

static void test_method_names(void **state)
{
    (void)state;
    static const char *const names[JURY_METHOD_COUNT] = {
        "majority", "weighted", "dawid_skene", "disagreement", "mean",          "median",
        "min",      "max",      "borda",       "medoid",       "best_annotator"};
    for (int m = 0; m < JURY_METHOD_COUNT; m++)
        assert_string_equal(jury_method_name((jury_method)m), names[m]);
    assert_null(jury_method_name(JURY_METHOD_COUNT));
    assert_null(jury_method_name((jury_method)-1));
}

static void test_method_defaults_and_choices(void **state)
{
    (void)state;
    assert_int_equal(jury_method_default(JURY_QUESTION_LABEL_SELECTION), JURY_METHOD_MAJORITY);
    assert_int_equal(jury_method_default(JURY_QUESTION_MULTI_LABEL_SELECTION),
                     JURY_METHOD_MAJORITY);
    assert_int_equal(jury_method_default(JURY_QUESTION_RATING), JURY_METHOD_MEAN);
    assert_int_equal(jury_method_default(JURY_QUESTION_RANKING), JURY_METHOD_BORDA);
    assert_int_equal(jury_method_default(JURY_QUESTION_TEXT), JURY_METHOD_MEDOID);
    assert_int_equal(jury_method_default(JURY_QUESTION_SPAN), JURY_METHOD_MAJORITY);
    for (size_t row = 0; row < sizeof method_table / sizeof method_table[0]; row++) {
        assert_string_equal(jury_method_choices(method_table[row].type), method_table[row].choices);
        assert_int_equal(jury_method_default(method_table[row].type), method_table[row].methods[0]);
    }
}

static void test_method_parse_every_method_for_every_type(void **state)
{
    (void)state;
    for (size_t row = 0; row < sizeof method_table / sizeof method_table[0]; row++) {
        for (int m = 0; m < JURY_METHOD_COUNT; m++) {
            jury_method out = JURY_METHOD_COUNT;
            bool ok =
                jury_method_parse(method_table[row].type, jury_method_name((jury_method)m), &out);
            if (ok != method_applies(row, (jury_method)m))
                fail_msg("%s for %s: parse gave %d", jury_method_name((jury_method)m),
                         method_table[row].type_name, ok);
            assert_int_equal(out, ok ? (jury_method)m : JURY_METHOD_COUNT);
        }
    }
    jury_method out = JURY_METHOD_MEAN;
    assert_false(jury_method_parse(JURY_QUESTION_RATING, "average", &out));
    assert_false(jury_method_parse(JURY_QUESTION_RATING, "Mean", &out));
    assert_false(jury_method_parse(JURY_QUESTION_RATING, "", &out));
    assert_false(jury_method_parse(JURY_QUESTION_RATING, NULL, &out));
    assert_int_equal(out, JURY_METHOD_MEAN);
}

static void test_consolidation_absent_gives_defaults_and_no_rules(void **state)
{
    (void)state;
    const char *docs[] = {CONSOLIDATION_QUESTIONS "}",
                          WITH_CONSOLIDATION("null"),
                          WITH_CONSOLIDATION("{}"),
                          WITH_CONSOLIDATION("{'methods': {}, 'accept': {}}"),
                          WITH_CONSOLIDATION("{'methods': null, 'accept': null}"),
                          WITH_CONSOLIDATION("{'accept': {'min_agreement': {}, 'min_value': null,"
                                             " 'max_value': {}, 'require': {}}}")};
    static const jury_method expected[] = {
        JURY_METHOD_MEDOID, JURY_METHOD_MEAN,     JURY_METHOD_MAJORITY, JURY_METHOD_MAJORITY,
        JURY_METHOD_BORDA,  JURY_METHOD_MAJORITY, JURY_METHOD_MEAN};
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        jury_settings_t *s = parse_ok(docs[d]);
        assert_int_equal(jury_settings_question_count(s), 7);
        for (size_t q = 0; q < 7; q++)
            assert_int_equal(jury_settings_method(s, q), expected[q]);
        assert_int_equal(jury_settings_method(s, 7), JURY_METHOD_MAJORITY); /* out of range */
        assert_int_equal(jury_settings_rule_count(s), 0);
        assert_null(jury_settings_rule(s, 0));
        jury_settings_destroy(&s);
    }
}

static void test_consolidation_every_valid_method_per_type(void **state)
{
    (void)state;
    char doc[2048];
    for (size_t row = 0; row < sizeof method_table / sizeof method_table[0]; row++) {
        for (size_t k = 0; k < method_table[row].count; k++) {
            jury_method m = method_table[row].methods[k];
            const char *q = question_of_type(method_table[row].type);
            snprintf(doc, sizeof doc, WITH_CONSOLIDATION("{'methods': {'%s': '%s'}}"), q,
                     jury_method_name(m));
            jury_settings_t *s = parse_ok(doc);
            size_t qi = (size_t)jury_settings_question_index(s, q);
            assert_int_equal(jury_settings_method(s, qi), m);
            /* The others keep their defaults. */
            for (size_t o = 0; o < jury_settings_question_count(s); o++)
                if (o != qi)
                    assert_int_equal(jury_settings_method(s, o),
                                     jury_method_default(jury_settings_question_type(s, o)));
            jury_settings_destroy(&s);
        }
    }
}

static void test_consolidation_every_invalid_method_per_type(void **state)
{
    (void)state;
    char doc[2048], expected[512];
    for (size_t row = 0; row < sizeof method_table / sizeof method_table[0]; row++) {
        for (int m = 0; m < JURY_METHOD_COUNT; m++) {
            if (method_applies(row, (jury_method)m))
                continue;
            const char *q = question_of_type(method_table[row].type);
            snprintf(doc, sizeof doc, WITH_CONSOLIDATION("{'methods': {'%s': '%s'}}"), q,
                     jury_method_name((jury_method)m));
            snprintf(expected, sizeof expected,
                     "/consolidation/methods/%s: method \"%s\" does not apply to a %s question, "
                     "which takes %s",
                     q, jury_method_name((jury_method)m), method_table[row].type_name,
                     method_table[row].choices);
            assert_settings_error(doc, expected);
        }
    }
    /* Two of them written out. */
    assert_settings_error(WITH_CONSOLIDATION("{'methods': {'quality': 'borda'}}"),
                          "/consolidation/methods/quality: method \"borda\" does not apply to a "
                          "rating question, which takes mean, median, majority, min, max");
    assert_settings_error(WITH_CONSOLIDATION("{'methods': {'spans': 'dawid_skene'}}"),
                          "/consolidation/methods/spans: method \"dawid_skene\" does not apply to "
                          "a span question, which takes majority");
}

static void test_consolidation_method_errors(void **state)
{
    (void)state;
    assert_settings_error(WITH_CONSOLIDATION("{'methods': {'quality': 'average'}}"),
                          "/consolidation/methods/quality: unknown method \"average\"; a rating "
                          "question takes mean, median, majority, min, max");
    assert_settings_error(WITH_CONSOLIDATION("{'methods': {'topic': 'Majority'}}"),
                          "/consolidation/methods/topic: unknown method \"Majority\"; a "
                          "label_selection question takes majority, weighted, dawid_skene, "
                          "disagreement");
    assert_settings_error(WITH_CONSOLIDATION("{'methods': {'reply': 1}}"),
                          "/consolidation/methods/reply: must be a method name; a text question "
                          "takes medoid, best_annotator");
    assert_settings_error(WITH_CONSOLIDATION("{'methods': {'qualty': 'mean'}}"),
                          "/consolidation/methods/qualty: unknown question \"qualty\"; the "
                          "dataset has questions: " CONSOLIDATION_QUESTION_LIST);
    assert_settings_error(WITH_CONSOLIDATION("{'methods': {'best': 'borda', 'best': 'majority'}}"),
                          "/consolidation/methods/best: duplicate key \"best\"");
    assert_settings_error(WITH_CONSOLIDATION("{'methods': ['mean']}"),
                          "/consolidation/methods: must be an object of methods by question name");
    /* null is the type's default, as everywhere in the settings. */
    jury_settings_t *s = parse_ok(WITH_CONSOLIDATION("{'methods': {'quality': null}}"));
    assert_int_equal(jury_settings_method(s, 1), JURY_METHOD_MEAN);
    jury_settings_destroy(&s);
}

static void test_consolidation_unknown_keys(void **state)
{
    (void)state;
    assert_settings_error(WITH_CONSOLIDATION("{'method': {}}"),
                          "/consolidation/method: unknown key \"method\"; consolidation has the "
                          "keys methods, accept");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'min_agreemnt': {}}}"),
                          "/consolidation/accept/min_agreemnt: unknown key \"min_agreemnt\"; "
                          "consolidation.accept has the keys min_agreement, min_value, max_value, "
                          "require");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {}, 'require': {}}}"),
                          "/consolidation/accept/require: duplicate key \"require\"");
    assert_settings_error(WITH_CONSOLIDATION("'majority'"),
                          "/consolidation: must be an object like {\"methods\": {...}, "
                          "\"accept\": {...}}");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': []}"),
                          "/consolidation/accept: must be an object like {\"min_agreement\": "
                          "{...}, \"require\": {...}}");
}

/* ---- consolidation: acceptance rules ------------------------------------------------------ */

static void test_accept_min_agreement(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(WITH_CONSOLIDATION(
        "{'accept': {'min_agreement': {'spans': 1, 'reply': 0, 'topic': 0.6, 'best': null}}}"));
    assert_int_equal(jury_settings_rule_count(s), 3);
    const jury_rule_t *r = jury_settings_rule(s, 0);
    assert_int_equal(r->kind, JURY_RULE_MIN_AGREEMENT);
    assert_int_equal(r->question, 0); /* reply: question order, not the order given */
    assert_true(r->threshold == 0.0);
    assert_int_equal(jury_settings_rule(s, 1)->question, 2);
    assert_true(jury_settings_rule(s, 1)->threshold == 0.6);
    assert_int_equal(jury_settings_rule(s, 2)->question, 5);
    assert_true(jury_settings_rule(s, 2)->threshold == 1.0);
    jury_settings_destroy(&s);

    const char *rule = "min_agreement must be a number from 0 to 1";
    const char *bad[] = {"1.5", "-0.1", "'0.6'", "true", "[0.6]", "{}"};
    char doc[2048], expected[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(doc, sizeof doc,
                 WITH_CONSOLIDATION("{'accept': {'min_agreement': {'topic': %s}}}"), bad[i]);
        snprintf(expected, sizeof expected, "/consolidation/accept/min_agreement/topic: %s", rule);
        assert_settings_error(doc, expected);
    }
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'min_agreement': {'tpoic': 0.5}}}"),
                          "/consolidation/accept/min_agreement/tpoic: unknown question "
                          "\"tpoic\"; the dataset has questions: " CONSOLIDATION_QUESTION_LIST);
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'min_agreement': 0.5}}"),
                          "/consolidation/accept/min_agreement: must be an object of thresholds "
                          "by question name");
}

static void test_accept_min_and_max_value(void **state)
{
    (void)state;
    /* quality takes 1..5 and effort 0..10, both given unsorted; a mean may be fractional. */
    jury_settings_t *s =
        parse_ok(WITH_CONSOLIDATION("{'accept': {'min_value': {'effort': 0, 'quality': 3.5},"
                                    "             'max_value': {'quality': 5, 'effort': 10}}}"));
    assert_int_equal(jury_settings_rule_count(s), 4);
    static const struct {
        jury_rule_kind kind;
        size_t question;
        double threshold;
    } expected[] = {{JURY_RULE_MIN_VALUE, 1, 3.5},
                    {JURY_RULE_MIN_VALUE, 6, 0.0},
                    {JURY_RULE_MAX_VALUE, 1, 5.0},
                    {JURY_RULE_MAX_VALUE, 6, 10.0}};
    for (size_t i = 0; i < 4; i++) {
        const jury_rule_t *r = jury_settings_rule(s, i);
        assert_int_equal(r->kind, expected[i].kind);
        assert_int_equal(r->question, expected[i].question);
        assert_true(r->threshold == expected[i].threshold);
        assert_null(r->labels);
        assert_int_equal(r->nlabels, 0);
    }
    jury_settings_destroy(&s);

    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'min_value': {'quality': 0}}}"),
                          "/consolidation/accept/min_value/quality: min_value must be a number "
                          "from 1 to 5, the question's lowest and highest value");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'max_value': {'quality': 5.5}}}"),
                          "/consolidation/accept/max_value/quality: max_value must be a number "
                          "from 1 to 5, the question's lowest and highest value");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'max_value': {'effort': 11}}}"),
                          "/consolidation/accept/max_value/effort: max_value must be a number "
                          "from 0 to 10, the question's lowest and highest value");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'min_value': {'quality': '4'}}}"),
                          "/consolidation/accept/min_value/quality: min_value must be a number "
                          "from 1 to 5, the question's lowest and highest value");
    /* Only rating questions; the message names the question's type. */
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'min_value': {'topic': 1}}}"),
                          "/consolidation/accept/min_value/topic: min_value applies to rating "
                          "questions, and \"topic\" is a label_selection");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'max_value': {'best': 1}}}"),
                          "/consolidation/accept/max_value/best: max_value applies to rating "
                          "questions, and \"best\" is a ranking");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'max_value': {'nope': 1}}}"),
                          "/consolidation/accept/max_value/nope: unknown question \"nope\"; the "
                          "dataset has questions: " CONSOLIDATION_QUESTION_LIST);
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'max_value': [1]}}"),
                          "/consolidation/accept/max_value: must be an object of thresholds by "
                          "question name");
    assert_settings_error(
        WITH_CONSOLIDATION("{'accept': {'max_value': {'quality': 4, 'quality': 3}}}"),
        "/consolidation/accept/max_value/quality: duplicate key \"quality\"");
}

static void test_accept_require(void **state)
{
    (void)state;
    /* One label, or a list in any order: stored as option indices ascending. */
    jury_settings_t *s =
        parse_ok(WITH_CONSOLIDATION("{'accept': {'require': {'topic': 'shipping'}}}"));
    assert_int_equal(jury_settings_rule_count(s), 1);
    const jury_rule_t *r = jury_settings_rule(s, 0);
    assert_int_equal(r->kind, JURY_RULE_REQUIRE);
    assert_int_equal(r->question, 2);
    assert_int_equal(r->nlabels, 1);
    assert_int_equal(r->labels[0], 1);
    jury_settings_destroy(&s);

    s = parse_ok(WITH_CONSOLIDATION("{'accept': {'require': {'topic': ['other', 'billing']}}}"));
    r = jury_settings_rule(s, 0);
    assert_int_equal(r->nlabels, 2);
    assert_int_equal(r->labels[0], 0);
    assert_int_equal(r->labels[1], 2);
    jury_settings_destroy(&s);

    const char *labels = "\"billing\", \"shipping\", \"other\"";
    char expected[512];
    snprintf(expected, sizeof expected,
             "/consolidation/accept/require/topic: require must be a label or a non-empty list of "
             "labels from %s",
             labels);
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {'topic': []}}}"), expected);
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {'topic': 1}}}"), expected);
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {'topic': {'a': 'b'}}}}"),
                          expected);
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {'topic': 'refund'}}}"),
                          "/consolidation/accept/require/topic: \"refund\" is not one of the "
                          "labels \"billing\", \"shipping\", \"other\"");
    assert_settings_error(
        WITH_CONSOLIDATION("{'accept': {'require': {'topic': ['billing', 'refund']}}}"),
        "/consolidation/accept/require/topic/1: \"refund\" is not one of the labels \"billing\", "
        "\"shipping\", \"other\"");
    assert_settings_error(
        WITH_CONSOLIDATION("{'accept': {'require': {'topic': ['billing', 'other', 'billing']}}}"),
        "/consolidation/accept/require/topic/2: label \"billing\" is given twice");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {'topic': ['billing', 2]}}}"),
                          "/consolidation/accept/require/topic/1: must be a label string");
    /* Only label_selection: not multi-label, not ratings. */
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {'flaws': 'rude'}}}"),
                          "/consolidation/accept/require/flaws: require applies to "
                          "label_selection questions, and \"flaws\" is a multi_label_selection");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': {'quality': 5}}}"),
                          "/consolidation/accept/require/quality: require applies to "
                          "label_selection questions, and \"quality\" is a rating");
    assert_settings_error(WITH_CONSOLIDATION("{'accept': {'require': ['billing']}}"),
                          "/consolidation/accept/require: must be an object of accepted labels by "
                          "question name");
}

/* Every kind of rule, given out of order. */
static const char FULL_CONSOLIDATION[] = WITH_CONSOLIDATION(
    "{'accept': {'require': {'topic': ['other', 'billing']},"
    "            'max_value': {'effort': 8},"
    "            'min_value': {'effort': 2.5, 'quality': 3},"
    "            'min_agreement': {'topic': 0.6, 'reply': 0.125}},"
    " 'methods': {'topic': 'dawid_skene', 'quality': 'median', 'reply': 'best_annotator'}}");

static void test_rules_come_in_normalised_order(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(FULL_CONSOLIDATION);
    static const struct {
        jury_rule_kind kind;
        size_t question;
        double threshold;
        size_t nlabels;
    } expected[] = {{JURY_RULE_MIN_AGREEMENT, 0, 0.125, 0}, {JURY_RULE_MIN_AGREEMENT, 2, 0.6, 0},
                    {JURY_RULE_MIN_VALUE, 1, 3.0, 0},       {JURY_RULE_MIN_VALUE, 6, 2.5, 0},
                    {JURY_RULE_MAX_VALUE, 6, 8.0, 0},       {JURY_RULE_REQUIRE, 2, 0.0, 2}};
    assert_int_equal(jury_settings_rule_count(s), 6);
    for (size_t i = 0; i < 6; i++) {
        const jury_rule_t *r = jury_settings_rule(s, i);
        assert_non_null(r);
        assert_int_equal(r->kind, expected[i].kind);
        assert_int_equal(r->question, expected[i].question);
        assert_true(r->threshold == expected[i].threshold);
        assert_int_equal(r->nlabels, expected[i].nlabels);
    }
    const jury_rule_t *req = jury_settings_rule(s, 5);
    assert_int_equal(req->labels[0], 0); /* billing */
    assert_int_equal(req->labels[1], 2); /* other */
    assert_null(jury_settings_rule(s, 6));
    assert_int_equal(jury_settings_method(s, 0), JURY_METHOD_BEST_ANNOTATOR);
    assert_int_equal(jury_settings_method(s, 1), JURY_METHOD_MEDIAN);
    assert_int_equal(jury_settings_method(s, 2), JURY_METHOD_DAWID_SKENE);
    assert_int_equal(jury_settings_method(s, 4), JURY_METHOD_BORDA);
    jury_settings_destroy(&s);
}

static void test_consolidation_normalised_output_and_round_trip(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(FULL_CONSOLIDATION);
    char *out = jury_settings_to_json(s, false);
    assert_non_null(out);
    /* Last section; every question's method in question order; every accept map; require as a
     * list in option order. */
    char *expected = json_of(
        ",'metadata':[],'consolidation':{'methods':{'reply':'best_annotator','quality':'median',"
        "'topic':'dawid_skene','flaws':'majority','best':'borda','spans':'majority',"
        "'effort':'mean'},'accept':{'min_agreement':{'reply':0.125,'topic':0.6},"
        "'min_value':{'quality':3,'effort':2.5},'max_value':{'effort':8},"
        "'require':{'topic':['billing','other']}}}}");
    size_t n = strlen(out), m = strlen(expected);
    assert_true(n > m);
    assert_string_equal(out + n - m, expected);
    free(expected);
    free(out);

    for (int pretty = 0; pretty <= 1; pretty++) {
        char *first = jury_settings_to_json(s, pretty);
        jury_settings_t *again = NULL;
        assert_int_equal(jury_settings_parse(&again, first, strlen(first), err, sizeof err),
                         JURY_OK);
        char *second = jury_settings_to_json(again, pretty);
        assert_string_equal(first, second);
        /* Same settings, not only the same text. */
        assert_int_equal(jury_settings_rule_count(again), 6);
        for (size_t i = 0; i < 6; i++) {
            const jury_rule_t *a = jury_settings_rule(s, i), *b = jury_settings_rule(again, i);
            assert_int_equal(a->kind, b->kind);
            assert_int_equal(a->question, b->question);
            assert_true(a->threshold == b->threshold);
            assert_int_equal(a->nlabels, b->nlabels);
            for (size_t k = 0; k < a->nlabels; k++)
                assert_int_equal(a->labels[k], b->labels[k]);
        }
        for (size_t q = 0; q < jury_settings_question_count(s); q++)
            assert_int_equal(jury_settings_method(s, q), jury_settings_method(again, q));
        free(first);
        free(second);
        jury_settings_destroy(&again);
    }
    jury_settings_destroy(&s);
}

static void test_consolidation_thresholds_round_trip_exactly(void **state)
{
    (void)state;
    jury_settings_t *s =
        parse_ok(WITH_CONSOLIDATION("{'accept': {'min_agreement': {'topic': 0.7000000000000001},"
                                    "             'min_value': {'quality': 3.3333333333333335}}}"));
    char *first = jury_settings_to_json(s, false);
    assert_non_null(strstr(first, "\"min_agreement\":{\"topic\":0.7000000000000001}"));
    assert_non_null(strstr(first, "\"min_value\":{\"quality\":3.3333333333333335}"));
    jury_settings_t *again = NULL;
    assert_int_equal(jury_settings_parse(&again, first, strlen(first), err, sizeof err), JURY_OK);
    assert_true(jury_settings_rule(again, 0)->threshold == 0.7000000000000001);
    assert_true(jury_settings_rule(again, 1)->threshold == 3.3333333333333335);
    char *second = jury_settings_to_json(again, false);
    assert_string_equal(first, second);
    free(first);
    free(second);
    jury_settings_destroy(&again);
    jury_settings_destroy(&s);
}

/* ---- consolidation: question accessors ---------------------------------------------------- */

static void test_question_options(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(CONSOLIDATION_QUESTIONS "}");
    size_t n = 99;
    const char *const *o = jury_settings_question_options(s, 2, &n);
    assert_int_equal(n, 3);
    assert_string_equal(o[0], "billing");
    assert_string_equal(o[1], "shipping");
    assert_string_equal(o[2], "other");
    o = jury_settings_question_options(s, 3, &n);
    assert_int_equal(n, 2);
    assert_string_equal(o[1], "wrong");
    o = jury_settings_question_options(s, 4, &n);
    assert_int_equal(n, 3);
    assert_string_equal(o[0], "a");
    o = jury_settings_question_options(s, 5, &n);
    assert_int_equal(n, 2);
    assert_string_equal(o[0], "person");
    /* None for text and rating questions, nor past the end. */
    n = 99;
    assert_null(jury_settings_question_options(s, 0, &n));
    assert_int_equal(n, 0);
    n = 99;
    assert_null(jury_settings_question_options(s, 1, &n));
    assert_int_equal(n, 0);
    n = 99;
    assert_null(jury_settings_question_options(s, 7, &n));
    assert_int_equal(n, 0);
    jury_settings_destroy(&s);

    /* A {value: title} object gives the values. */
    o = jury_settings_question_options(support, 3, &n);
    assert_int_equal(n, 3);
    assert_string_equal(o[0], "rude");
    assert_string_equal(o[2], "long");
}

static void test_rating_values_are_ascending(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(CONSOLIDATION_QUESTIONS "}");
    size_t n = 99;
    const double *v = jury_settings_rating_values(s, 1, &n); /* given as [5, 1, 3, 2, 4] */
    assert_int_equal(n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(v[i] == (double)(i + 1));
    v = jury_settings_rating_values(s, 6, &n); /* given as [10, 0, 5] */
    assert_int_equal(n, 3);
    assert_true(v[0] == 0.0 && v[1] == 5.0 && v[2] == 10.0);
    n = 99;
    assert_null(jury_settings_rating_values(s, 2, &n));
    assert_int_equal(n, 0);
    n = 99;
    assert_null(jury_settings_rating_values(s, 7, &n));
    assert_int_equal(n, 0);
    jury_settings_destroy(&s);

    /* The normalised JSON keeps the order given. */
    s = parse_ok(WITH_QUESTIONS("{'name': 'q', 'type': 'rating', 'values': [3, 0, 10, 1]}"));
    char *out = jury_settings_to_json(s, false);
    assert_non_null(strstr(out, "\"values\":[3,0,10,1]"));
    free(out);
    v = jury_settings_rating_values(s, 0, &n);
    assert_int_equal(n, 4);
    assert_true(v[0] == 0.0 && v[1] == 1.0 && v[2] == 3.0 && v[3] == 10.0);
    jury_settings_destroy(&s);
}

static void test_span_field(void **state)
{
    (void)state;
    jury_settings_t *s = parse_ok(CONSOLIDATION_QUESTIONS "}");
    assert_string_equal(jury_settings_span_field(s, 5), "notes");
    assert_null(jury_settings_span_field(s, 0));
    assert_null(jury_settings_span_field(s, 2));
    assert_null(jury_settings_span_field(s, 7));
    jury_settings_destroy(&s);
    assert_string_equal(jury_settings_span_field(support, 5), "instruction");
}

/* ---- consolidation: which settings may replace a dataset's (jury_settings_compatible) ----- */

/* Parses SUPPORT with the text from `from` replaced by `to` (which must occur once). */
static jury_settings_t *support_with(const char *from, const char *to)
{
    const char *at = strstr(SUPPORT, from);
    assert_non_null(at);
    assert_null(strstr(at + 1, from));
    size_t head = (size_t)(at - SUPPORT);
    char *text = malloc(sizeof SUPPORT + strlen(to));
    assert_non_null(text);
    memcpy(text, SUPPORT, head);
    strcpy(text + head, to);
    strcat(text, at + strlen(from));
    jury_settings_t *s = parse_ok(text);
    free(text);
    return s;
}

static void assert_incompatible(const char *from, const char *to, const char *expected)
{
    jury_settings_t *b = support_with(from, to);
    strcpy(err, "unchanged");
    assert_false(jury_settings_compatible(support, b, err, sizeof err));
    assert_string_equal(err, expected);
    jury_settings_destroy(&b);
}

static void test_compatible_allows_guidelines_and_consolidation(void **state)
{
    (void)state;
    assert_true(jury_settings_compatible(support, support, err, sizeof err));
    jury_settings_t *b =
        support_with(" 'guidelines': 'Fix the draft reply, then rate the draft as it was.',",
                     " 'guidelines': 'New guidelines.',"
                     " 'consolidation': {'methods': {'quality': 'median', 'topic': 'weighted'},"
                     "                   'accept': {'min_value': {'quality': 4},"
                     "                              'require': {'topic': 'billing'}}},");
    assert_true(jury_settings_compatible(support, b, err, sizeof err));
    assert_true(jury_settings_compatible(b, support, err, sizeof err));
    jury_settings_destroy(&b);

    /* Written differently but normalised the same: labels as a list or as an object. */
    b = support_with("'labels': ['billing', 'shipping', 'other']",
                     "'labels': {'billing': 'billing', 'shipping': 'shipping', 'other': 'other'}");
    assert_true(jury_settings_compatible(support, b, err, sizeof err));
    jury_settings_destroy(&b);
}

static void test_compatible_refuses_every_other_change(void **state)
{
    (void)state;
    const char *rule = ": only guidelines and consolidation may change";
    char expected[256];
    snprintf(expected, sizeof expected, "/questions differ%s", rule);
    assert_incompatible("'values': [1, 2, 3, 4, 5]", "'values': [1, 2, 3, 4]", expected);
    assert_incompatible("'name': 'quality', 'type': 'rating'",
                        "'name': 'quality', 'title': 'Quality', 'type': 'rating'", expected);
    assert_incompatible("'labels': ['billing', 'shipping', 'other']",
                        "'labels': ['billing', 'shipping', 'other', 'returns']", expected);
    snprintf(expected, sizeof expected, "/fields differ%s", rule);
    assert_incompatible("'use_markdown': true}", "'use_markdown': false}", expected);
    snprintf(expected, sizeof expected, "/metadata differ%s", rule);
    assert_incompatible("'max': 4096}", "'max': 8192}", expected);
    snprintf(expected, sizeof expected, "/distribution differ%s", rule);
    assert_incompatible("'min_submitted': 3}", "'min_submitted': 2}", expected);
    snprintf(expected, sizeof expected, "/allow_extra_metadata differ%s", rule);
    assert_incompatible(" 'metadata': [", " 'allow_extra_metadata': true, 'metadata': [", expected);
    assert_false(jury_settings_compatible(support, NULL, err, sizeof err));
}

/* ---- records written by `jury export --format records` ------------------------------------ */

static void test_record_export_keys_are_ignored(void **state)
{
    (void)state;
    assert_record_ok(
        support,
        "{'id': 'ticket-0001', 'fields': {'instruction': 'Where is order 123?'},"
        " 'responses': {'response': [{'value': 'It ships today!', 'user_id': 'alice'}],"
        "               'quality': [{'value': 4, 'user_id': 'alice'}]},"
        " 'status': 'completed', 'decision': 'accepted', 'reason': null,"
        " 'unified': {'response': 'It ships today!', 'quality': 4, 'nope': [1, {}]},"
        " 'meta': {'id': 'ticket-0001', 'annotators': ['alice'], 'agreement': {'quality': 1}}}");
    /* Any value at all: they are not read. */
    assert_record_ok(support, "{'fields': {'instruction': 'x'}, 'status': 7, 'unified': null,"
                              " 'decision': [], 'reason': 'no submitted answer', 'meta': false}");
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'status': 'a', 'status': 'b'}",
                        "/status: duplicate key \"status\"");
    /* Other unknown keys are still refused, close names included. */
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'decisions': 'accepted'}",
                        "/decisions: unknown key \"decisions\"; a record has the keys id, fields, "
                        "metadata, suggestions, responses and gold");
    assert_record_error(support, "{'fields': {'instruction': 'x'}, 'Status': 'completed'}",
                        "/Status: unknown key \"Status\"; a record has the keys id, fields, "
                        "metadata, suggestions, responses and gold");
}

/* ---- the shipped example ------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void test_support_sft_example_is_valid(void **state)
{
    (void)state;
    const char *root = getenv("JURY_SOURCE_DIR");
    if (root == NULL)
        fail_msg("JURY_SOURCE_DIR is not set; run through ctest or set it to the source tree");
    char path[4096];
    size_t len;

    snprintf(path, sizeof path, "%s/ops/examples/support-sft.settings.json", root);
    char *text = read_file(path, &len);
    jury_settings_t *s = NULL;
    if (jury_settings_parse(&s, text, len, err, sizeof err) != JURY_OK)
        fail_msg("%s: %s", path, err);
    free(text);
    assert_int_equal(jury_settings_min_submitted(s), 2);
    assert_int_equal(
        jury_settings_question_type(s, (size_t)jury_settings_question_index(s, "response")),
        JURY_QUESTION_TEXT);
    assert_int_equal(
        jury_settings_question_type(s, (size_t)jury_settings_question_index(s, "quality")),
        JURY_QUESTION_RATING);

    snprintf(path, sizeof path, "%s/ops/examples/support-sft.records.jsonl", root);
    text = read_file(path, &len);
    int lines = 0;
    for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lines++;
        cJSON *record = cJSON_Parse(line);
        if (record == NULL)
            fail_msg("%s:%d: invalid JSON", path, lines);
        if (jury_settings_check_record(s, record, err, sizeof err) != JURY_OK)
            fail_msg("%s:%d: %s", path, lines, err);
        assert_non_null(
            cJSON_GetObjectItem(cJSON_GetObjectItem(record, "suggestions"), "response"));
        cJSON_Delete(record);
    }
    assert_int_equal(lines, 12);
    free(text);
    jury_settings_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_settings_get_every_default),
        cmocka_unit_test(test_to_json_round_trip_is_stable),
        cmocka_unit_test(test_to_json_writes_labels_and_ranking_values_as_objects),
        cmocka_unit_test(test_to_json_keeps_large_integer_bounds_exact),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_title_defaults_to_name_and_explicit_title_is_kept),
        cmocka_unit_test(test_allow_extra_metadata_defaults_to_false_like_argilla),
        cmocka_unit_test(test_null_optional_keys_take_their_defaults),
        cmocka_unit_test(test_invalid_json_names_the_byte),
        cmocka_unit_test(test_text_after_the_document),
        cmocka_unit_test(test_empty_document),
        cmocka_unit_test(test_invalid_utf8_names_the_byte),
        cmocka_unit_test(test_settings_must_be_an_object),
        cmocka_unit_test(test_unknown_top_level_key_is_named),
        cmocka_unit_test(test_pointer_escapes_tilde_and_slash),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_fields_are_required),
        cmocka_unit_test(test_questions_are_required),
        cmocka_unit_test(test_wrong_types_name_the_expected_type),
        cmocka_unit_test(test_unknown_key_inside_a_field),
        cmocka_unit_test(test_unknown_key_for_the_question_type),
        cmocka_unit_test(test_field_name_is_required),
        cmocka_unit_test(test_names_follow_argillas_rule),
        cmocka_unit_test(test_long_name_is_rejected_and_quoted_briefly),
        cmocka_unit_test(test_names_are_unique_across_fields_questions_and_metadata),
        cmocka_unit_test(test_at_least_one_question_is_required),
        cmocka_unit_test(test_unsupported_field_types),
        cmocka_unit_test(test_unknown_question_type),
        cmocka_unit_test(test_title_and_description_lengths),
        cmocka_unit_test(test_rating_values_out_of_range),
        cmocka_unit_test(test_rating_twelve_values),
        cmocka_unit_test(test_rating_one_value),
        cmocka_unit_test(test_rating_duplicate_values),
        cmocka_unit_test(test_rating_values_must_be_integers),
        cmocka_unit_test(test_labels_fewer_than_two),
        cmocka_unit_test(test_labels_duplicate),
        cmocka_unit_test(test_labels_must_be_strings),
        cmocka_unit_test(test_visible_labels_rule),
        cmocka_unit_test(test_labels_order),
        cmocka_unit_test(test_ranking_values),
        cmocka_unit_test(test_ranking_allow_ties),
        cmocka_unit_test(test_span_field_naming_a_chat_field),
        cmocka_unit_test(test_span_field_naming_an_unknown_field),
        cmocka_unit_test(test_span_one_question_per_field),
        cmocka_unit_test(test_span_labels_need_one),
        cmocka_unit_test(test_metadata_min_greater_than_max),
        cmocka_unit_test(test_metadata_integer_bounds_are_integers),
        cmocka_unit_test(test_metadata_keys_depend_on_type),
        cmocka_unit_test(test_metadata_terms_options),
        cmocka_unit_test(test_metadata_must_be_a_list),
        cmocka_unit_test(test_distribution_min_submitted_range),
        cmocka_unit_test(test_distribution_dynamic_overlap),
        cmocka_unit_test(test_distribution_min_submitted_may_be_fractional),
        cmocka_unit_test(test_distribution_fractional_min_submitted_round_trips_exactly),
        cmocka_unit_test(test_distribution_keys_and_defaults),
        cmocka_unit_test(test_distribution_key_rules),
        cmocka_unit_test(test_record_repeated_keys_are_refused),
        cmocka_unit_test(test_record_target_splits_records_by_the_fraction),
        cmocka_unit_test(test_record_target_integer_n_is_n_for_every_record),
        cmocka_unit_test(test_record_target_is_pinned_across_machines),
        cmocka_unit_test(test_distribution_strategy_and_keys),
        cmocka_unit_test(test_error_buffer_is_truncated_and_terminated),
        cmocka_unit_test(test_error_message_stays_on_one_line),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_record_with_every_part),
        cmocka_unit_test(test_record_must_be_an_object),
        cmocka_unit_test(test_record_unknown_top_level_key),
        cmocka_unit_test(test_record_id),
        cmocka_unit_test(test_record_fields_are_required),
        cmocka_unit_test(test_record_missing_required_field),
        cmocka_unit_test(test_record_optional_fields_may_be_absent_or_null),
        cmocka_unit_test(test_record_unknown_field),
        cmocka_unit_test(test_record_duplicate_field),
        cmocka_unit_test(test_record_wrong_field_type),
        cmocka_unit_test(test_record_bad_chat_turn),
        cmocka_unit_test(test_record_metadata_out_of_range),
        cmocka_unit_test(test_record_metadata_wrong_type),
        cmocka_unit_test(test_record_metadata_not_in_options),
        cmocka_unit_test(test_record_metadata_null_means_unset),
        cmocka_unit_test(test_record_metadata_unknown_key_when_extra_disallowed),
        cmocka_unit_test(test_record_suggestion_for_unknown_question),
        cmocka_unit_test(test_record_suggestion_shape),
        cmocka_unit_test(test_record_suggestion_value_is_checked),
        cmocka_unit_test(test_record_suggestion_score_out_of_range),
        cmocka_unit_test(test_record_suggestion_scores_for_a_list_value),
        cmocka_unit_test(test_record_span_suggestion_uses_the_records_text),
        cmocka_unit_test(test_value_text),
        cmocka_unit_test(test_value_rating),
        cmocka_unit_test(test_value_label_selection),
        cmocka_unit_test(test_value_multi_label_selection),
        cmocka_unit_test(test_value_ranking),
        cmocka_unit_test(test_value_ranking_ties_need_allow_ties),
        cmocka_unit_test(test_value_ranking_with_ties),
        cmocka_unit_test(test_record_ranking_ties_name_the_item),
        cmocka_unit_test(test_value_text_at_most_64_kib),
        cmocka_unit_test(test_value_span),
        cmocka_unit_test(test_value_span_multibyte_text_counts_code_points),
        cmocka_unit_test(test_value_span_overlaps),
        cmocka_unit_test(test_value_span_overlaps_in_long_answers),
        cmocka_unit_test(test_check_value_rejects_a_bad_question_index),
        cmocka_unit_test(test_record_responses_missing_required_question),
        cmocka_unit_test(test_record_responses_duplicate_user_id),
        cmocka_unit_test(test_record_responses_user_id_is_a_valid_name),
        cmocka_unit_test(test_record_responses_shape),
        cmocka_unit_test(test_record_span_response_needs_its_field),
        cmocka_unit_test(test_answers_submitted_need_every_required_question),
        cmocka_unit_test(test_answers_draft_may_be_partial),
        cmocka_unit_test(test_answers_name_questions_of_the_dataset),
        cmocka_unit_test(test_answers_must_be_an_object),
        cmocka_unit_test(test_answers_values_are_checked_like_suggestions),
        cmocka_unit_test(test_answers_spans_use_the_records_text_when_given),
        cmocka_unit_test(test_support_sft_example_is_valid),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_method_defaults_and_choices),
        cmocka_unit_test(test_method_parse_every_method_for_every_type),
        cmocka_unit_test(test_consolidation_absent_gives_defaults_and_no_rules),
        cmocka_unit_test(test_consolidation_every_valid_method_per_type),
        cmocka_unit_test(test_consolidation_every_invalid_method_per_type),
        cmocka_unit_test(test_consolidation_method_errors),
        cmocka_unit_test(test_consolidation_unknown_keys),
        cmocka_unit_test(test_accept_min_agreement),
        cmocka_unit_test(test_accept_min_and_max_value),
        cmocka_unit_test(test_accept_require),
        cmocka_unit_test(test_rules_come_in_normalised_order),
        cmocka_unit_test(test_consolidation_normalised_output_and_round_trip),
        cmocka_unit_test(test_consolidation_thresholds_round_trip_exactly),
        cmocka_unit_test(test_question_options),
        cmocka_unit_test(test_rating_values_are_ascending),
        cmocka_unit_test(test_span_field),
        cmocka_unit_test(test_compatible_allows_guidelines_and_consolidation),
        cmocka_unit_test(test_compatible_refuses_every_other_change),
        cmocka_unit_test(test_record_export_keys_are_ignored),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
