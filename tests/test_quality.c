/* test_quality.c: the annotator quality table: a worked example of 3 annotators on 4 records
 * computed by hand, the edges (breaks, too few responses, drafts only) and misuse; then the same
 * example as a responses file, through report_quality.h's JSON rows and text table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quality.h"
#include "report_quality.h"

/* A time base for the example (2023-11-14T22:13:20Z), in ms. */
#define T0 INT64_C(1700000000000)

/* Annotator ids of the example. */
enum { ANA = 1, BEN = 2, CY = 3 };

/* Two tracked questions: 0 is a label question (categories 0 "a", 1 "b", 2 "c"), 1 a rating
 * question (category = the rating's index among 1..5, so rating 3 is category 2). */
#define NQ 2

static const jury_measure_t *row_agreement(const jury_quality_row_t *row, size_t q)
{
    assert_non_null(row->agreement);
    return &row->agreement[q];
}

static void add(jury_quality_t *q, uint64_t record, uint32_t ann, jury_quality_status st,
                int64_t time_ms, int32_t label, int32_t rating)
{
    int32_t cats[NQ] = {label, rating};
    jury_quality_response_t r = {record, ann, st, time_ms, cats};
    assert_int_equal(jury_quality_add(q, &r), JURY_OK);
}

/*
 * The worked example. Each record's responses (label, rating category, time after T0 in s):
 *
 *   record 10   ana submitted a 2 (  0 s)   ben submitted a 3 ( 10 s)   cy submitted b 2 (  5 s)
 *   record 20   ana submitted b - ( 50 s)   ben discarded     ( 40 s)   cy submitted b 1 ( 65 s)
 *   record 30   ana submitted c 4 ( 20 s)   ben submitted c 4 (100 s)
 *   record 40   ana draft     a 0 ( 60 s)                               cy submitted a 0 (3665 s)
 *
 * Counts: ana 3 submitted, 0 discarded, 1 draft; ben 2, 1, 0; cy 3, 0, 0.
 * Discard rate: ana 0/3 = 0; ben 1/3 = 0.333333; cy 0/3 = 0.
 *
 * Label agreement, pairs (own answer, another's) per record, equal / all:
 *   record 10: ana a-a a-b: 1/2; ben a-a a-b: 1/2; cy b-a b-a: 0/2
 *   record 20: ana b-b: 1/1; cy b-b: 1/1 (ben's discard has no answer)
 *   record 30: ana c-c: 1/1; ben c-c: 1/1
 *   record 40: cy alone (ana's draft does not count): no pair
 *   ana 3/4 = 0.75; ben 2/3 = 0.666667; cy 1/3 = 0.333333
 * Rating agreement:
 *   record 10: ana 2-3 2-2: 1/2; ben 3-2 3-2: 0/2; cy 2-2 2-3: 1/2
 *   record 20: ana left it unanswered: no pair
 *   record 30: ana 4-4: 1/1; ben 4-4: 1/1
 *   ana 2/3 = 0.666667; ben 1/3 = 0.333333; cy 1/2 = 0.5
 * Mean over the two questions: ana (3/4 + 2/3) / 2 = 17/24 = 0.708333; ben (2/3 + 1/3) / 2 = 0.5;
 * cy (1/3 + 1/2) / 2 = 5/12 = 0.416667.
 *
 * Median seconds: the times of submitted and discarded responses, sorted, and their gaps:
 *   ana 0, 20, 50 (the draft at 60 is left out): gaps 20, 30: median (20 + 30) / 2 = 25 s
 *   ben 10, 40, 100: gaps 30, 60: median 45 s
 *   cy 5, 65, 3665: gaps 60 and 3600 (a break, over 30 minutes, left out): median 60 s
 */
static jury_quality_t *worked_example(void)
{
    jury_quality_t *q = NULL;
    assert_int_equal(jury_quality_new(&q, NQ), JURY_OK);
    add(q, 10, ANA, JURY_QUALITY_SUBMITTED, T0 + 0, 0, 2);
    add(q, 10, BEN, JURY_QUALITY_SUBMITTED, T0 + 10000, 0, 3);
    add(q, 10, CY, JURY_QUALITY_SUBMITTED, T0 + 5000, 1, 2);
    add(q, 20, ANA, JURY_QUALITY_SUBMITTED, T0 + 50000, 1, JURY_QUALITY_NO_ANSWER);
    add(q, 20, BEN, JURY_QUALITY_DISCARDED, T0 + 40000, JURY_QUALITY_NO_ANSWER,
        JURY_QUALITY_NO_ANSWER);
    add(q, 20, CY, JURY_QUALITY_SUBMITTED, T0 + 65000, 1, 1);
    add(q, 30, ANA, JURY_QUALITY_SUBMITTED, T0 + 20000, 2, 4);
    add(q, 30, BEN, JURY_QUALITY_SUBMITTED, T0 + 100000, 2, 4);
    add(q, 40, ANA, JURY_QUALITY_DRAFT, T0 + 60000, 0, 0);
    add(q, 40, CY, JURY_QUALITY_SUBMITTED, T0 + 3665000, 0, 0);
    return q;
}

static void assert_value(const jury_measure_t *m, double want)
{
    assert_true(m->ok);
    assert_null(m->note);
    assert_float_equal(m->value, want, 1e-12);
}

static void assert_none(const jury_measure_t *m, const char *note)
{
    assert_false(m->ok);
    assert_float_equal(m->value, 0, 0);
    assert_string_equal(m->note, note);
}

static void test_worked_example(void **state)
{
    (void)state;
    jury_quality_t *q = worked_example();
    const jury_quality_row_t *rows;
    size_t n;
    assert_int_equal(jury_quality_rows(q, &rows, &n), JURY_OK);
    assert_int_equal(n, 3);

    assert_int_equal(rows[0].annotator, ANA);
    assert_int_equal(rows[0].submitted, 3);
    assert_int_equal(rows[0].discarded, 0);
    assert_int_equal(rows[0].draft, 1);
    assert_value(&rows[0].discard_rate, 0);
    assert_value(row_agreement(&rows[0], 0), 3.0 / 4);
    assert_value(row_agreement(&rows[0], 1), 2.0 / 3);
    assert_value(&rows[0].agreement_mean, 17.0 / 24);
    assert_int_equal(rows[0].timed, 3);
    assert_value(&rows[0].median_seconds, 25);

    assert_int_equal(rows[1].annotator, BEN);
    assert_int_equal(rows[1].submitted, 2);
    assert_int_equal(rows[1].discarded, 1);
    assert_int_equal(rows[1].draft, 0);
    assert_value(&rows[1].discard_rate, 1.0 / 3);
    assert_value(row_agreement(&rows[1], 0), 2.0 / 3);
    assert_value(row_agreement(&rows[1], 1), 1.0 / 3);
    assert_value(&rows[1].agreement_mean, 0.5);
    assert_int_equal(rows[1].timed, 3);
    assert_value(&rows[1].median_seconds, 45);

    assert_int_equal(rows[2].annotator, CY);
    assert_int_equal(rows[2].submitted, 3);
    assert_int_equal(rows[2].discarded, 0);
    assert_int_equal(rows[2].draft, 0);
    assert_value(&rows[2].discard_rate, 0);
    assert_value(row_agreement(&rows[2], 0), 1.0 / 3);
    assert_value(row_agreement(&rows[2], 1), 0.5);
    assert_value(&rows[2].agreement_mean, 5.0 / 12);
    assert_int_equal(rows[2].timed, 3);
    assert_value(&rows[2].median_seconds, 60);

    /* Asking again gives the same rows; the input is over. */
    const jury_quality_row_t *again;
    assert_int_equal(jury_quality_rows(q, &again, &n), JURY_OK);
    assert_ptr_equal(again, rows);
    assert_int_equal(n, 3);
    int32_t cats[NQ] = {0, 0};
    jury_quality_response_t late = {50, ANA, JURY_QUALITY_SUBMITTED, T0, cats};
    assert_int_equal(jury_quality_add(q, &late), JURY_EINVAL);
    jury_quality_destroy(&q);
    assert_null(q);
    jury_quality_destroy(&q);
}

/* What the data cannot define is absent, with the reason. */
static void test_undefined_values(void **state)
{
    (void)state;
    jury_quality_t *q = NULL;
    assert_int_equal(jury_quality_new(&q, NQ), JURY_OK);
    /* dee: one submitted response, alone on its record. */
    add(q, 1, 4, JURY_QUALITY_SUBMITTED, T0, 0, 0);
    /* eve: drafts only. */
    add(q, 2, 5, JURY_QUALITY_DRAFT, T0, 0, 0);
    add(q, 3, 5, JURY_QUALITY_DRAFT, T0 + 1000, 0, 0);
    /* fay: two responses more than 30 minutes apart, and one without a time. */
    add(q, 4, 6, JURY_QUALITY_DISCARDED, T0, -1, -1);
    add(q, 5, 6, JURY_QUALITY_DISCARDED, T0 + JURY_QUALITY_BREAK_MS + 1, -1, -1);
    add(q, 6, 6, JURY_QUALITY_SUBMITTED, JURY_QUALITY_NO_TIME, -1, -1);
    const jury_quality_row_t *rows;
    size_t n;
    assert_int_equal(jury_quality_rows(q, &rows, &n), JURY_OK);
    assert_int_equal(n, 3);

    assert_int_equal(rows[0].annotator, 4);
    assert_value(&rows[0].discard_rate, 0);
    assert_none(row_agreement(&rows[0], 0), JURY_NOTE_NO_SHARED);
    assert_none(row_agreement(&rows[0], 1), JURY_NOTE_NO_SHARED);
    assert_none(&rows[0].agreement_mean, JURY_NOTE_NO_SHARED);
    assert_none(&rows[0].median_seconds, JURY_NOTE_FEW_RESPONSES);

    assert_int_equal(rows[1].annotator, 5);
    assert_int_equal(rows[1].draft, 2);
    assert_none(&rows[1].discard_rate, JURY_QUALITY_NOTE_NO_FINAL);
    assert_int_equal(rows[1].timed, 0);
    assert_none(&rows[1].median_seconds, JURY_NOTE_FEW_RESPONSES);

    assert_int_equal(rows[2].annotator, 6);
    assert_int_equal(rows[2].submitted, 1);
    assert_int_equal(rows[2].discarded, 2);
    assert_value(&rows[2].discard_rate, 2.0 / 3);
    assert_int_equal(rows[2].timed, 2);
    assert_none(&rows[2].median_seconds, JURY_QUALITY_NOTE_BREAKS);
    jury_quality_destroy(&q);
}

/* A gap of exactly 30 minutes is work; the median of an odd number of gaps is the middle one. */
static void test_break_boundary(void **state)
{
    (void)state;
    jury_quality_t *q = NULL;
    assert_int_equal(jury_quality_new(&q, 0), JURY_OK);
    const int64_t at[] = {0, JURY_QUALITY_BREAK_MS, JURY_QUALITY_BREAK_MS + 4000,
                          JURY_QUALITY_BREAK_MS + 5000};
    for (size_t i = 0; i < 4; i++) {
        jury_quality_response_t r = {i, 9, JURY_QUALITY_SUBMITTED, T0 + at[i], NULL};
        assert_int_equal(jury_quality_add(q, &r), JURY_OK);
    }
    const jury_quality_row_t *rows;
    size_t n;
    assert_int_equal(jury_quality_rows(q, &rows, &n), JURY_OK);
    assert_int_equal(n, 1);
    /* Gaps 1800 s, 4 s, 1 s: the median is 4 s. */
    assert_value(&rows[0].median_seconds, 4);
    assert_null(rows[0].agreement);
    assert_none(&rows[0].agreement_mean, JURY_NOTE_NO_SHARED);
    jury_quality_destroy(&q);
}

static void test_misuse(void **state)
{
    (void)state;
    jury_quality_t *q = NULL;
    assert_int_equal(jury_quality_new(NULL, 1), JURY_EINVAL);
    assert_int_equal(jury_quality_new(&q, 70000), JURY_EINVAL);
    assert_int_equal(jury_quality_new(&q, 1), JURY_OK);
    int32_t cat = 0;
    jury_quality_response_t r = {5, 1, JURY_QUALITY_SUBMITTED, T0, &cat};
    assert_int_equal(jury_quality_add(q, &r), JURY_OK);
    /* A second response of annotator 1 to record 5. */
    assert_int_equal(jury_quality_add(q, &r), JURY_EEXIST);
    /* Records must not go back. */
    r.record = 4;
    r.annotator = 2;
    assert_int_equal(jury_quality_add(q, &r), JURY_EINVAL);
    r.record = 6;
    r.status = (jury_quality_status)3;
    assert_int_equal(jury_quality_add(q, &r), JURY_EINVAL);
    const jury_quality_row_t *rows;
    size_t n;
    assert_int_equal(jury_quality_rows(q, &rows, &n), JURY_OK);
    /* The refused responses left nothing behind. */
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].submitted, 1);
    assert_int_equal(jury_quality_rows(q, NULL, &n), JURY_EINVAL);
    jury_quality_destroy(&q);
}

/* An empty table has no rows. */
static void test_empty(void **state)
{
    (void)state;
    jury_quality_t *q = NULL;
    assert_int_equal(jury_quality_new(&q, 3), JURY_OK);
    const jury_quality_row_t *rows = NULL;
    size_t n = 99;
    assert_int_equal(jury_quality_rows(q, &rows, &n), JURY_OK);
    assert_int_equal(n, 0);
    jury_quality_destroy(&q);
}

/* ---- the worked example as a responses file (report_quality.h) ------------------------------ */

static const char s_settings[] =
    "{\"fields\": [{\"name\": \"text\", \"type\": \"text\"}],"
    " \"questions\": ["
    "  {\"name\": \"topic\", \"type\": \"label_selection\", \"labels\": [\"a\", \"b\", \"c\"]},"
    "  {\"name\": \"note\", \"type\": \"text\", \"required\": false},"
    "  {\"name\": \"score\", \"type\": \"rating\", \"values\": [1, 2, 3, 4, 5],"
    "   \"required\": false}]}";

/* The worked example's responses, shuffled (a file need not keep a record's lines together), with
 * a text question that is not tracked; ratings are the category + 1. */
static const char *const s_lines[] = {
    "{\"record\": \"r30\", \"annotator\": \"ben\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"c\", \"score\": 5}}",
    "{\"record\": \"r10\", \"annotator\": \"cy\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"b\", \"score\": 3, \"note\": \"x\"}}",
    "{\"record\": \"r10\", \"annotator\": \"ana\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"a\", \"score\": 3}}",
    "{\"record\": \"r20\", \"annotator\": \"ben\", \"status\": \"discarded\"}",
    "{\"record\": \"r40\", \"annotator\": \"ana\", \"status\": \"draft\", \"values\": "
    "{\"topic\": \"a\", \"score\": 1}}",
    "{\"record\": \"r10\", \"annotator\": \"ben\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"a\", \"score\": 4}}",
    "{\"record\": \"r20\", \"annotator\": \"ana\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"b\", \"score\": null}}",
    "{\"record\": \"r20\", \"annotator\": \"cy\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"b\", \"score\": 2}}",
    "{\"record\": \"r30\", \"annotator\": \"ana\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"c\", \"score\": 5}}",
    "{\"record\": \"r40\", \"annotator\": \"cy\", \"status\": \"submitted\", \"values\": "
    "{\"topic\": \"a\", \"score\": 1}}",
};

static void test_file_rows_and_text(void **state)
{
    (void)state;
    jury_settings_t *s = NULL;
    char why[256];
    assert_int_equal(jury_settings_parse(&s, s_settings, strlen(s_settings), why, sizeof why),
                     JURY_OK);
    jury_report_quality_t *rq = NULL;
    assert_int_equal(jury_report_quality_new(&rq, s), JURY_OK);
    for (size_t i = 0; i < sizeof s_lines / sizeof *s_lines; i++)
        assert_int_equal(jury_report_quality_add_line(rq, s_lines[i], strlen(s_lines[i])), JURY_OK);
    /* A file's responses and a store's do not mix. */
    jury_response_t stored = {1, JURY_RESPONSE_SUBMITTED, T0, NULL, 0};
    assert_int_equal(jury_report_quality_add_stored(rq, 1, &stored), JURY_EINVAL);
    cJSON *rows = NULL;
    assert_int_equal(jury_report_quality_build(rq, NULL, 0, &rows), JURY_OK);
    char *json = cJSON_PrintUnformatted(rows);
    /* The hand-computed values above, rounded to 6 decimals; no times in a file, so no median. */
    assert_string_equal(
        json,
        "[{\"annotator\":\"ana\",\"submitted\":3,\"discarded\":0,\"draft\":1,\"discard_rate\":0,"
        "\"agreement\":{\"topic\":0.75,\"score\":0.666667},\"agreement_mean\":0.708333,"
        "\"median_seconds\":null,\"gold\":null,\"state\":\"-\"},"
        "{\"annotator\":\"ben\",\"submitted\":2,\"discarded\":1,\"draft\":0,"
        "\"discard_rate\":0.333333,\"agreement\":{\"topic\":0.666667,\"score\":0.333333},"
        "\"agreement_mean\":0.5,\"median_seconds\":null,\"gold\":null,\"state\":\"-\"},"
        "{\"annotator\":\"cy\",\"submitted\":3,\"discarded\":0,\"draft\":0,\"discard_rate\":0,"
        "\"agreement\":{\"topic\":0.333333,\"score\":0.5},\"agreement_mean\":0.416667,"
        "\"median_seconds\":null,\"gold\":null,\"state\":\"-\"}]");
    free(json);
    char *text = jury_report_quality_text(rows);
    assert_string_equal(text,
                        "\nannotator quality\n"
                        "  annotator  submitted  discarded  discard%  agreement  median s   gold"
                        "  state\n"
                        "  ana                3          0      0.0%      0.708         -      -"
                        "  -\n"
                        "  ben                2          1     33.3%      0.500         -      -"
                        "  -\n"
                        "  cy                 3          0      0.0%      0.417         -      -"
                        "  -\n");
    free(text);
    /* The input is over. */
    assert_int_equal(jury_report_quality_add_line(rq, s_lines[0], strlen(s_lines[0])), JURY_EINVAL);
    cJSON_Delete(rows);
    jury_report_quality_destroy(&rq);
    assert_null(rq);
    jury_settings_destroy(&s);

    /* No rows, no table. */
    cJSON *none = cJSON_CreateArray();
    text = jury_report_quality_text(none);
    assert_string_equal(text, "");
    free(text);
    cJSON_Delete(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example), cmocka_unit_test(test_undefined_values),
        cmocka_unit_test(test_break_boundary), cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_empty),          cmocka_unit_test(test_file_rows_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
