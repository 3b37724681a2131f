/* test_report.c: the agreement report: exact models for small hand-computed datasets of every
 * question type, published values, degenerate data, bad lines, and the text and HTML renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

/*
 * JSON here is written with ' where JSON has ", as in test_settings.c;
 * json_of() turns it into real JSON.
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

/* Every question type, as in the README's settings example. */
static const char s_settings[] =
    "{'fields': [{'name': 'text', 'type': 'text'}],"
    " 'questions': ["
    "  {'name': 'label', 'type': 'label_selection', 'labels': ['a', 'b']},"
    "  {'name': 'score', 'type': 'rating', 'values': [1, 2, 3], 'required': false},"
    "  {'name': 'tags', 'type': 'multi_label_selection', 'labels': ['p', 'q', 'r'],"
    "   'required': false},"
    "  {'name': 'order', 'type': 'ranking', 'values': ['a', 'b', 'c'], 'allow_ties': true,"
    "   'required': false},"
    "  {'name': 'reply', 'type': 'text', 'required': false},"
    "  {'name': 'ents', 'type': 'span', 'field': 'text', 'labels': ['e', 'f'],"
    "   'required': false}]}";

static jury_settings_t *settings_of(const char *text)
{
    char *json = json_of(text);
    char err[512];
    jury_settings_t *s = NULL;
    if (jury_settings_parse(&s, json, strlen(json), err, sizeof err) != JURY_OK)
        fail_msg("settings rejected: %s", err);
    free(json);
    return s;
}

/* Adds one response line that must be accepted. */
static void add_ok(jury_report_t *r, const char *line)
{
    char *json = json_of(line);
    char err[512];
    jury_err rc = jury_report_add_line(r, json, strlen(json), err, sizeof err);
    free(json);
    if (rc != JURY_OK)
        fail_msg("line rejected: %s", err);
}

/* Adds one response line that must be rejected with exactly the reason expected. */
static void add_error(jury_report_t *r, const char *line, jury_err want, const char *expected)
{
    char *json = json_of(line);
    char err[512];
    jury_err rc = jury_report_add_line(r, json, strlen(json), err, sizeof err);
    free(json);
    assert_int_equal(rc, want);
    assert_string_equal(err, expected);
}

/* A report on s_settings, question q only (NULL for all), with lines added. */
static jury_report_t *report_of(jury_settings_t *s, const char *q, const char *const *lines,
                                size_t n)
{
    jury_report_opts_t opts = {.question = q, .bootstrap = 200, .seed = 7};
    jury_report_t *r = NULL;
    assert_int_equal(jury_report_new(&r, s, &opts, NULL, 0), JURY_OK);
    for (size_t i = 0; i < n; i++)
        add_ok(r, lines[i]);
    return r;
}

/*
 * The model of r as compact JSON with ' for ", each alpha_ci95 interval
 * replaced by 'CI' after checking that it is [lo, hi] with lo <= alpha <= hi
 * (its values depend on the resampling; test_ci pins what they must do).
 */
static char *model_text(jury_report_t *r)
{
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(model, "questions"))
    {
        cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
        if (!cJSON_IsArray(ci))
            continue;
        double alpha = cJSON_GetObjectItemCaseSensitive(q, "alpha")->valuedouble;
        assert_int_equal(cJSON_GetArraySize(ci), 2);
        double lo = cJSON_GetArrayItem(ci, 0)->valuedouble,
               hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
        if (!(lo <= alpha && alpha <= hi))
            fail_msg("%s: alpha %g outside its interval [%g, %g]", q->string, alpha, lo, hi);
        cJSON_ReplaceItemInObjectCaseSensitive(q, "alpha_ci95", cJSON_CreateString("CI"));
    }
    char *text = cJSON_PrintUnformatted(model);
    cJSON_Delete(model);
    for (char *p = text; *p; p++)
        if (*p == '"')
            *p = '\'';
    return text;
}

static void assert_model(jury_settings_t *s, const char *q, const char *const *lines, size_t n,
                         const char *expected)
{
    jury_report_t *r = report_of(s, q, lines, n);
    char *got = model_text(r);
    assert_string_equal(got, expected);
    free(got);
    jury_report_destroy(&r);
    assert_null(r);
    jury_report_destroy(&r); /* safe twice */
}

/*
 * label_selection, nominal. Three annotators, four records (z skips r4):
 *   r1 a a a   r2 a b a   r3 b b b   r4 b b -
 * Coincidences: o_aa = 3 + 1 = 4, o_ab = o_ba = 1, o_bb = 3 + 2 = 5; n = 11,
 * n_a = 5, n_b = 6. D_o = 2/11, D_e = 2*5*6/(11*10) = 6/11: alpha = 1 - 1/3.
 * Record agreement (share of equal pairs): r2 1/3, others 1; mean 5/6.
 * Fleiss with P_e = (5/11)^2 + (6/11)^2 = 61/121: (5/6 - 61/121)/(60/121) = 0.663889.
 * Cohen x-y on r1..r4 (a a b b / a b b b): p_o 3/4, p_e 1/2, kappa 1/2;
 * x-z 1; y-z (a b b / a a b): p_o 2/3, p_e 4/9, kappa 2/5.
 * Agreement with others: x 6/7, y 5/7, z 5/6.
 */
static const char *const s_label_lines[] = {
    "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a'}}",
    "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a'}}",
    "{'record': 'r1', 'annotator': 'z', 'status': 'submitted', 'values': {'label': 'a'}}",
    "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a'}}",
    "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'b'}}",
    "{'record': 'r2', 'annotator': 'z', 'status': 'submitted', 'values': {'label': 'a'}}",
    "{'record': 'r3', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'b'}}",
    "{'record': 'r3', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'b'}}",
    "{'record': 'r3', 'annotator': 'z', 'status': 'submitted', 'values': {'label': 'b'}}",
    "{'record': 'r4', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'b'}}",
    "{'record': 'r4', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'b'}}",
    /* Drafts and discards are checked and do not count. */
    "{'record': 'r4', 'annotator': 'z', 'status': 'draft', 'values': {'label': 'a'}}",
    "{'record': 'r5', 'annotator': 'z', 'status': 'discarded', 'values': null}",
};

static void test_label_selection(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    assert_model(
        s, "label", s_label_lines, sizeof s_label_lines / sizeof *s_label_lines,
        "{'questions':{'label':{'type':'label_selection','level':'nominal','alpha':0.666667,"
        "'alpha_ci95':'CI','fleiss_kappa':0.663889,'percent_agreement':0.833333,'records':4,"
        "'responses':11,'pairs':[{'a':'x','b':'y','n':4,'agreement':0.75,'cohen_kappa':0.5},"
        "{'a':'x','b':'z','n':3,'agreement':1,'cohen_kappa':1},{'a':'y','b':'z','n':3,"
        "'agreement':0.666667,'cohen_kappa':0.4}],'annotators':{'x':{'responses':4,"
        "'agreement':0.857143},'y':{'responses':4,'agreement':0.714286},'z':{'responses':3,"
        "'agreement':0.833333}},'record_agreement':{'records':4,'mean':0.833333,"
        "'histogram':[0,0,0,1,0,0,0,0,0,3]},'contested':[{'record':'r2','agreement':0.333333,"
        "'responses':3}],'notes':[]}}}");
    jury_settings_destroy(&s);
}

/*
 * rating 1..3, interval. x: 1 2 3, y: 1 3 3 on r1..r3.
 * Coincidences o_11 = 2, o_23 = o_32 = 1, o_33 = 2; n_1 = 2, n_2 = 1, n_3 = 3.
 * Interval: D_o = 2/6, D_e = 2(2*1*1 + 2*3*4 + 1*3*1)/30 = 58/30: alpha = 1 - 10/58.
 * Ordinal: delta_23 = (1 + 3 - 2)^2 = 4, delta_12 = 1.5^2, delta_13 = 3.5^2:
 * D_o = 8/6, D_e = 2(2*2.25 + 6*12.25 + 3*4)/30 = 6: alpha = 1 - 2/9.
 * Fleiss: P-bar 2/3, P_e = (4 + 1 + 9)/36: 0.454545. Cohen: p_o 2/3, p_e 1/3:
 * 1/2; quadratic weights 1 - (i-j)^2/4: p_o 11/12, p_e 7/12: 0.8.
 */
static const char *const s_rating_lines[] = {
    "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', 'score': "
    "1}}",
    "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', 'score': "
    "1}}",
    "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', 'score': "
    "2}}",
    "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', 'score': "
    "3}}",
    "{'record': 'r3', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', 'score': "
    "3}}",
    "{'record': 'r3', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', 'score': "
    "3}}",
};

static void test_rating(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    assert_model(s, "score", s_rating_lines, 6,
                 "{'questions':{'score':{'type':'rating','level':'interval','alpha':0.827586,"
                 "'alpha_ci95':'CI','alpha_ordinal':0.777778,'fleiss_kappa':0.454545,"
                 "'percent_agreement':0.666667,'records':3,'responses':6,'pairs':[{'a':'x','b':'y',"
                 "'n':3,'agreement':0.666667,'cohen_kappa':0.5,'weighted_kappa':0.8}],"
                 "'annotators':{'x':{'responses':3,'agreement':0.666667},'y':{'responses':3,"
                 "'agreement':0.666667}},'record_agreement':{'records':3,'mean':0.666667,"
                 "'histogram':[1,0,0,0,0,0,0,0,0,2]},'contested':[{'record':'r2','agreement':0,"
                 "'responses':2}],'notes':[]}}}");

    /* --level nominal: o_23 counts as a plain mismatch: D_o = 2/6, D_e = 2(2 + 6 + 3)/30. */
    jury_report_opts_t opts = {.question = "score", .level = JURY_REPORT_LEVEL_NOMINAL};
    jury_report_t *r = NULL;
    assert_int_equal(jury_report_new(&r, s, &opts, NULL, 0), JURY_OK);
    for (size_t i = 0; i < 6; i++)
        add_ok(r, s_rating_lines[i]);
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(model, "questions"), "score");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(q, "level")->valuestring, "nominal");
    assert_true(cJSON_GetObjectItemCaseSensitive(q, "alpha")->valuedouble == 0.545455);
    /* alpha_ordinal stays ordinal. */
    assert_true(cJSON_GetObjectItemCaseSensitive(q, "alpha_ordinal")->valuedouble == 0.777778);
    cJSON_Delete(model);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

/*
 * Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
 * 4 observers x 12 units with missing values, unit 12 with a single value.
 * Published: nominal 0.743, ordinal 0.815, interval 0.849, ratio 0.797 (also
 * in ../shared/data/agreement/expected_values.json).
 */
static void test_krippendorff_2011_c(void **state)
{
    (void)state;
    static const char *const data[4] = {/* observer: u1 .. u12, 0 for missing */
                                        "A123321412000", "B123322412503", "C033323422510",
                                        "D123324412510"};
    jury_settings_t *s = settings_of(
        "{'fields': [{'name': 'text', 'type': 'text'}],"
        " 'questions': [{'name': 'score', 'type': 'rating', 'values': [1, 2, 3, 4, 5]}]}");
    static const struct {
        jury_report_level level;
        double alpha;
    } want[] = {{JURY_REPORT_LEVEL_NOMINAL, 0.743421},
                {JURY_REPORT_LEVEL_ORDINAL, 0.815388},
                {JURY_REPORT_LEVEL_INTERVAL, 0.849107},
                {JURY_REPORT_LEVEL_RATIO, 0.797403}};
    for (size_t l = 0; l < 4; l++) {
        jury_report_opts_t opts = {.level = want[l].level, .bootstrap = 100};
        jury_report_t *r = NULL;
        assert_int_equal(jury_report_new(&r, s, &opts, NULL, 0), JURY_OK);
        for (int o = 0; o < 4; o++)
            for (int u = 1; u <= 12; u++) {
                if (data[o][u] == '0')
                    continue;
                char line[256], rec[8], ann[2] = {data[o][0], 0};
                snprintf(rec, sizeof rec, "u%d", u);
                snprintf(line, sizeof line,
                         "{'record': '%s', 'annotator': '%s', 'status': 'submitted', "
                         "'values': {'score': %c}}",
                         rec, ann, data[o][u]);
                add_ok(r, line);
            }
        cJSON *model = NULL;
        assert_int_equal(jury_report_build(r, &model), JURY_OK);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(model, "questions"), "score");
        assert_true(cJSON_GetObjectItemCaseSensitive(q, "alpha")->valuedouble == want[l].alpha);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(q, "records")->valueint, 12);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(q, "responses")->valueint, 41);
        /* Unit 12 has one value: 11 pairable records. */
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(
                             cJSON_GetObjectItemCaseSensitive(q, "record_agreement"), "records")
                             ->valueint,
                         11);
        cJSON_Delete(model);
        jury_report_destroy(&r);
    }
    jury_settings_destroy(&s);
}

/*
 * multi_label_selection, MASI. x, y on r1..r3: {p}/{p}, {p,q}/{p}, {q}/{r}.
 * MASI distances 0, 1 - (1/2)(2/3) = 2/3, 1. Six values {p} x3, {p,q}, {q}, {r}:
 * D_o = (2(2/3) + 2)/6 = 5/9; D_e = 2(3(2/3) + 3 + 3 + 2/3 + 1 + 1)/30 = 32/45;
 * alpha = 1 - (5/9)/(32/45) = 7/32 = 0.21875.
 */
static void test_multi_label(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'tags': ['p']}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'tags': ['p']}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'tags': ['q', 'p']}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'tags': ['p']}}",
        "{'record': 'r3', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'tags': ['q']}}",
        "{'record': 'r3', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'tags': ['r']}}",
    };
    jury_settings_t *s = settings_of(s_settings);
    assert_model(s, "tags", lines, 6,
                 "{'questions':{'tags':{'type':'multi_label_selection','level':'masi',"
                 "'alpha':0.21875,'alpha_ci95':'CI','percent_agreement':0.333333,'records':3,"
                 "'responses':6,'pairs':[{'a':'x','b':'y','n':3,'agreement':0.444444}],"
                 "'annotators':{'x':{'responses':3,'agreement':0.444444},'y':{'responses':3,"
                 "'agreement':0.444444}},'record_agreement':{'records':3,'mean':0.444444,"
                 "'histogram':[1,0,0,1,0,0,0,0,0,1]},'contested':[{'record':'r3',"
                 "'agreement':0,'responses':2},{'record':'r2','agreement':0.333333,"
                 "'responses':2}],'notes':[]}}}");
    jury_settings_destroy(&s);
}

/*
 * ranking, Kendall tau distance. x ranks a b c everywhere; y: a b c, c b a, b a c:
 * distances 0, 1, 1/3. Values R1 = abc x4, R2 = cba, R3 = bac; d(R2, R3) = 2/3.
 * D_o = 2(1 + 1/3)/6 = 4/9; D_e = 2(4*1 + 4/3 + 2/3)/30 = 2/5; alpha = 1 - 10/9.
 */
static void test_ranking(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['a', 'b', 'c']}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['a', 'b', 'c']}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['a', 'b', 'c']}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['c', 'b', 'a']}}",
        "{'record': 'r3', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['a', 'b', 'c']}}",
        "{'record': 'r3', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['b', 'a', 'c']}}",
    };
    jury_settings_t *s = settings_of(s_settings);
    assert_model(s, "order", lines, 6,
                 "{'questions':{'order':{'type':'ranking','level':'kendall_tau',"
                 "'alpha':-0.111111,'alpha_ci95':'CI','percent_agreement':0.333333,'records':3,"
                 "'responses':6,'pairs':[{'a':'x','b':'y','n':3,'agreement':0.555556}],"
                 "'annotators':{'x':{'responses':3,'agreement':0.555556},'y':{'responses':3,"
                 "'agreement':0.555556}},'record_agreement':{'records':3,'mean':0.555556,"
                 "'histogram':[1,0,0,0,0,0,1,0,0,1]},'contested':[{'record':'r2',"
                 "'agreement':0,'responses':2},{'record':'r3','agreement':0.666667,"
                 "'responses':2}],'notes':[]}}}");

    /* A tie in one ranking only counts half a discordant pair: (b, c) of 3 pairs. */
    static const char *const ties[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['a', ['b', 'c']]}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': ['a', 'b', 'c']}}",
    };
    jury_report_t *r = report_of(s, "order", ties, 2);
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(model, "questions"), "order");
    assert_true(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(q, "record_agreement"), "mean")
                    ->valuedouble == 0.833333);
    cJSON_Delete(model);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

/*
 * text: 1 - Levenshtein / longer length. abc/abc 1; abcd/abce 3/4;
 * kitten/sitting 4/7: mean similarity (1 + 3/4 + 4/7)/3 = 0.773810. Alpha on
 * the distance: D_o = 2(1/4 + 3/7)/6 = 19/84; D_e over the six values =
 * 2(1/4 + 1/4 + 1/4 + 1/4 + 1 + 1 + 1 + 1 + 1/4 + 1 + 1 + 5/6 + 1 + 3/7)/30;
 * alpha = 0.643304.
 */
static void test_text(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'abc'}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'abc'}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'abcd'}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'abce'}}",
        "{'record': 'r3', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'kitten'}}",
        "{'record': 'r3', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'sitting'}}",
    };
    jury_settings_t *s = settings_of(s_settings);
    assert_model(s, "reply", lines, 6,
                 "{'questions':{'reply':{'type':'text','level':'edit_distance','alpha':0.643304,"
                 "'alpha_ci95':'CI','percent_agreement':0.333333,'mean_similarity':0.77381,"
                 "'records':3,'responses':6,'pairs':[{'a':'x','b':'y','n':3,"
                 "'agreement':0.77381}],'annotators':{'x':{'responses':3,'agreement':0.77381},"
                 "'y':{'responses':3,'agreement':0.77381}},'record_agreement':{'records':3,"
                 "'mean':0.77381,'histogram':[0,0,0,0,0,1,0,1,0,1]},'contested':[{'record':'r3',"
                 "'agreement':0.571429,'responses':2},{'record':'r2','agreement':0.75,"
                 "'responses':2}],'notes':[]}}}");
    jury_settings_destroy(&s);
}

/* Beyond the distance budget, D_e comes from random pairs: close to the exact alpha, with a note.
 */
static void test_text_sampled(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    double alpha[2];
    const char *note[2];
    for (int sampled = 0; sampled < 2; sampled++) {
        /* 60 distinct texts: 1770 pairs for an exact D_e; a budget of 1000 samples instead. */
        jury_report_opts_t opts = {.question = "reply", .expected_pairs = sampled ? 1000 : 0};
        jury_report_t *r = NULL;
        assert_int_equal(jury_report_new(&r, s, &opts, NULL, 0), JURY_OK);
        for (int i = 0; i < 30; i++) {
            char line[256];
            snprintf(line, sizeof line,
                     "{'record': 'r%d', 'annotator': 'x', 'status': 'submitted', 'values': "
                     "{'label': 'a', 'reply': 'reply %d to the customer'}}",
                     i, i * 7919 % 1000);
            add_ok(r, line);
            snprintf(line, sizeof line,
                     "{'record': 'r%d', 'annotator': 'y', 'status': 'submitted', 'values': "
                     "{'label': 'a', 'reply': 'reply %d to a customer'}}",
                     i, i * 7919 % 1000 + i % 3);
            add_ok(r, line);
        }
        cJSON *model = NULL;
        assert_int_equal(jury_report_build(r, &model), JURY_OK);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(model, "questions"), "reply");
        alpha[sampled] = cJSON_GetObjectItemCaseSensitive(q, "alpha")->valuedouble;
        const cJSON *notes = cJSON_GetObjectItemCaseSensitive(q, "notes");
        note[sampled] =
            cJSON_GetArraySize(notes) ? strdup(cJSON_GetArrayItem(notes, 0)->valuestring) : NULL;
        cJSON_Delete(model);
        jury_report_destroy(&r);
    }
    assert_null(note[0]);
    assert_string_equal(note[1], "alpha: expected disagreement estimated from 1000 random pairs "
                                 "of the 60 answers");
    free((void *)note[1]);
    if (!(alpha[1] > alpha[0] - 0.05 && alpha[1] < alpha[0] + 0.05))
        fail_msg("sampled alpha %g is not within 0.05 of the exact %g", alpha[1], alpha[0]);
    jury_settings_destroy(&s);
}

/*
 * span: character-level F1 over (character, label). r1 equal spans 1; r2
 * [0,4) vs [2,6): 2 shared of 4 + 4, F1 1/2; r3 same characters, other label 0;
 * r4 both empty 1. mean_f1 = 2.5/4; identical in r1 and r4: percent 1/2.
 * No alpha for spans.
 */
static void test_span(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': [{'start': 0, 'end': 3, 'label': 'e'}]}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': [{'start': 0, 'end': 3, 'label': 'e'}]}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': [{'start': 0, 'end': 4, 'label': 'e'}]}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': [{'start': 2, 'end': 6, 'label': 'e'}]}}",
        "{'record': 'r3', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': [{'start': 0, 'end': 2, 'label': 'e'}]}}",
        "{'record': 'r3', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': [{'start': 0, 'end': 2, 'label': 'f'}]}}",
        "{'record': 'r4', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': []}}",
        "{'record': 'r4', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': []}}",
    };
    jury_settings_t *s = settings_of(s_settings);
    assert_model(s, "ents", lines, 8,
                 "{'questions':{'ents':{'type':'span','percent_agreement':0.5,'mean_f1':0.625,"
                 "'records':4,'responses':8,'pairs':[{'a':'x','b':'y','n':4,'agreement':0.625}],"
                 "'annotators':{'x':{'responses':4,'agreement':0.625},'y':{'responses':4,"
                 "'agreement':0.625}},'record_agreement':{'records':4,'mean':0.625,"
                 "'histogram':[1,0,0,0,0,1,0,0,0,2]},'contested':[{'record':'r3',"
                 "'agreement':0,'responses':2},{'record':'r2','agreement':0.5,"
                 "'responses':2}],'notes':[]}}}");
    jury_settings_destroy(&s);
}

/* Too little data: null and a note, never NaN. */
static void test_degenerate(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);

    /* One annotator. */
    static const char *const one[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'hi'}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'b', "
        "'reply': 'ho'}}",
    };
    assert_model(s, "label", one, 2,
                 "{'questions':{'label':{'type':'label_selection','level':'nominal','alpha':null,"
                 "'alpha_ci95':null,'fleiss_kappa':null,'percent_agreement':null,'records':2,"
                 "'responses':2,'pairs':[],'annotators':{'x':{'responses':2,'agreement':null,"
                 "'note':'no shared records'}},'record_agreement':{'records':0,'mean':null,"
                 "'histogram':[0,0,0,0,0,0,0,0,0,0]},'contested':[],'notes':['alpha: only one "
                 "annotator','alpha_ci95: only one annotator','fleiss_kappa: only one annotator',"
                 "'percent_agreement: only one annotator','record_agreement: only one "
                 "annotator']}}}");
    assert_model(s, "reply", one, 2,
                 "{'questions':{'reply':{'type':'text','level':'edit_distance','alpha':null,"
                 "'alpha_ci95':null,'percent_agreement':null,'mean_similarity':null,'records':2,"
                 "'responses':2,'pairs':[],'annotators':{'x':{'responses':2,'agreement':null,"
                 "'note':'no shared records'}},'record_agreement':{'records':0,'mean':null,"
                 "'histogram':[0,0,0,0,0,0,0,0,0,0]},'contested':[],'notes':['alpha: only one "
                 "annotator','alpha_ci95: only one annotator','percent_agreement: only one "
                 "annotator','mean_similarity: only one annotator','record_agreement: only one "
                 "annotator']}}}");

    /* Two annotators, no record in common. */
    static const char *const apart[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'ents': []}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'b', "
        "'ents': []}}",
    };
    assert_model(s, "ents", apart, 2,
                 "{'questions':{'ents':{'type':'span','percent_agreement':null,'mean_f1':null,"
                 "'records':2,'responses':2,'pairs':[],'annotators':{'x':{'responses':1,"
                 "'agreement':null,'note':'no shared records'},'y':{'responses':1,"
                 "'agreement':null,'note':'no shared records'}},'record_agreement':{'records':0,"
                 "'mean':null,'histogram':[0,0,0,0,0,0,0,0,0,0]},'contested':[],"
                 "'notes':['percent_agreement: no pairable records','mean_f1: no pairable "
                 "records','record_agreement: no pairable records']}}}");

    /* Everyone gives the same answer: no variation, full agreement. */
    static const char *const same[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'score': 2}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'score': 2}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'score': 2}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'score': 2}}",
    };
    assert_model(s, "score", same, 4,
                 "{'questions':{'score':{'type':'rating','level':'interval','alpha':null,"
                 "'alpha_ci95':null,'alpha_ordinal':null,'fleiss_kappa':null,"
                 "'percent_agreement':1,'records':2,'responses':4,'pairs':[{'a':'x','b':'y',"
                 "'n':2,'agreement':1,'cohen_kappa':null,'weighted_kappa':null,'note':'no "
                 "variation: every value is the same'}],'annotators':{'x':{'responses':2,"
                 "'agreement':1},'y':{'responses':2,'agreement':1}},'record_agreement':"
                 "{'records':2,'mean':1,'histogram':[0,0,0,0,0,0,0,0,0,2]},'contested':[],"
                 "'notes':['alpha: no variation: every value is the same','alpha_ci95: no "
                 "variation: every value is the same','alpha_ordinal: no variation: every value "
                 "is the same','fleiss_kappa: no variation: every value is the same']}}}");

    /* Nothing at all. */
    assert_model(s, "tags", NULL, 0,
                 "{'questions':{'tags':{'type':'multi_label_selection','level':'masi',"
                 "'alpha':null,'alpha_ci95':null,'percent_agreement':null,'records':0,"
                 "'responses':0,'pairs':[],'annotators':{},'record_agreement':{'records':0,"
                 "'mean':null,'histogram':[0,0,0,0,0,0,0,0,0,0]},'contested':[],"
                 "'notes':['alpha: no pairable records','alpha_ci95: no pairable records',"
                 "'percent_agreement: no pairable records','record_agreement: no pairable "
                 "records']}}}");
    jury_settings_destroy(&s);
}

/* The interval holds alpha, comes out the same for the same seed, and is [1, 1] when everyone
 * agrees on a varied set of answers. */
static void test_ci(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    static const char *const lines[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'yes'}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'a', "
        "'reply': 'yes'}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'b', "
        "'reply': 'no'}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'b', "
        "'reply': 'no'}}",
    };
    jury_report_t *r = report_of(s, NULL, lines, 4);
    cJSON *m1 = NULL, *m2 = NULL;
    assert_int_equal(jury_report_build(r, &m1), JURY_OK);
    assert_int_equal(jury_report_build(r, &m2), JURY_OK);
    assert_true(cJSON_Compare(m1, m2, true));
    const cJSON *qs = cJSON_GetObjectItemCaseSensitive(m1, "questions");
    const char *names[] = {"label", "reply"};
    for (int i = 0; i < 2; i++) {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(qs, names[i]);
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(q, "alpha_ci95");
        assert_true(cJSON_GetObjectItemCaseSensitive(q, "alpha")->valuedouble == 1);
        assert_true(cJSON_GetArrayItem(ci, 0)->valuedouble == 1);
        assert_true(cJSON_GetArrayItem(ci, 1)->valuedouble == 1);
    }
    cJSON_Delete(m1);
    cJSON_Delete(m2);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

/* Bad lines: the reason, without file and line, which the caller adds; nothing is added. */
static void test_bad_lines(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    jury_report_t *r = report_of(s, NULL, NULL, 0);
    add_error(r, "not json", JURY_EINVAL, "invalid JSON at byte 1 of the line");
    add_error(r, "{'record': 'r1', 'annotator': 'x'", JURY_EINVAL,
              "truncated JSON: the line ends inside a value");
    add_error(r, "{} {}", JURY_EINVAL,
              "invalid JSON at byte 4 of the line: text after the response");
    add_error(r, "[1, 2]", JURY_EINVAL, "/: a response must be a JSON object");
    add_error(r,
              "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {}, 'user': 1}",
              JURY_EINVAL,
              "/user: unknown key; a response has \"record\", \"annotator\", \"status\" and "
              "\"values\"");
    add_error(r, "{'annotator': 'x', 'status': 'submitted', 'values': {}}", JURY_EINVAL,
              "/record: a response needs the record's id (a non-empty string or an integer)");
    add_error(r, "{'record': 'r1', 'status': 'submitted', 'values': {}}", JURY_EINVAL,
              "/annotator: a response needs the annotator's name (a non-empty string)");
    add_error(r, "{'record': 'r1', 'annotator': 'x', 'status': 'done', 'values': {}}", JURY_EINVAL,
              "/status: must be \"submitted\", \"discarded\" or \"draft\"");
    add_error(r, "{'record': 'r1', 'annotator': 'x', 'status': 'submitted'}", JURY_EINVAL,
              "/values: must be an object of answers by question name");
    add_error(
        r, "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'colour': 'red'}}",
        JURY_EINVAL,
        "/values/colour: unknown question \"colour\"; the dataset has questions: label, "
        "score, tags, order, reply, ents");
    add_error(
        r, "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'score': 'high'}}",
        JURY_EINVAL, "/values/score: a rating must be an integer");
    add_error(r,
              "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'score': 7}}",
              JURY_EINVAL, "/values/score: 7 is not one of the rating values 1, 2, 3");
    add_error(r, "{'record': 'r1', 'annotator': 'x', 'status': 'draft', 'values': {'label': 'c'}}",
              JURY_EINVAL, "/values/label: \"c\" is not one of the labels \"a\", \"b\"");
    add_error(r,
              "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'ents': "
              "[{'start': 0, 'end': 20000000, 'label': 'e'}]}}",
              JURY_EINVAL,
              "/values/ents: span 0: end (20000000) is beyond any record's text (at most "
              "16777216 characters)");
    const char bad_utf8[] = "{\"record\": \"r\xC3\x28\"}";
    char err[256];
    assert_int_equal(jury_report_add_line(r, bad_utf8, strlen(bad_utf8), err, sizeof err),
                     JURY_EINVAL);
    assert_string_equal(err, "invalid UTF-8 at byte 14 of the line");

    /* An integer record id is its decimal form; one response per record and annotator. */
    add_ok(r, "{'record': 17, 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a'}}");
    add_error(r, "{'record': '17', 'annotator': 'x', 'status': 'draft', 'values': null}",
              JURY_EEXIST, "annotator \"x\" has a second response to record \"17\"");
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(model, "questions"), "label");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(label, "responses")->valueint, 1);
    cJSON_Delete(model);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

static void test_options(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    char err[256];
    jury_report_t *r = NULL;
    jury_report_opts_t opts = {.question = "colour"};
    assert_int_equal(jury_report_new(&r, s, &opts, err, sizeof err), JURY_ENOTFOUND);
    assert_null(r);
    assert_string_equal(err, "no question \"colour\" in the settings (questions: label, score, "
                             "tags, order, reply, ents)");
    opts = (jury_report_opts_t){.level = (jury_report_level)9};
    assert_int_equal(jury_report_new(&r, s, &opts, err, sizeof err), JURY_EINVAL);
    assert_null(r);

    /* Without a question: every question, in the settings' order. */
    r = report_of(s, NULL, s_label_lines, 3);
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    const char *order[] = {"label", "score", "tags", "order", "reply", "ents"};
    int i = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(model, "questions"))
    {
        assert_string_equal(q->string, order[i++]);
    }
    assert_int_equal(i, 6);
    cJSON_Delete(model);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

/* The text report of the label dataset, whole. */
static void test_text_report(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    jury_report_t *r = report_of(s, "label", s_label_lines, 11);
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    cJSON_ReplaceItemInObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(model, "questions"),
                                         "label"),
        "alpha_ci95", cJSON_CreateDoubleArray((const double[]){0.25, 1}, 2));
    char *text = jury_report_text(model, "demo");
    assert_string_equal(text, "Agreement: demo (submitted responses only)\n"
                              "\n"
                              "label  (label_selection, nominal)\n"
                              "  alpha                 0.667   95% interval 0.250 .. 1.000\n"
                              "  Fleiss' kappa         0.664\n"
                              "  percent agreement     0.833\n"
                              "  records                   4\n"
                              "  responses                11\n"
                              "\n"
                              "  annotator pairs, by kappa\n"
                              "  annotator  with       n    kappa  agreement\n"
                              "  x          z          3    1.000      1.000\n"
                              "  x          y          4    0.500      0.750\n"
                              "  y          z          3    0.400      0.667\n"
                              "\n"
                              "  annotator  responses  agreement\n"
                              "  x                  4      0.857\n"
                              "  y                  4      0.714\n"
                              "  z                  3      0.833\n"
                              "\n"
                              "  most contested records\n"
                              "  record  agreement  responses\n"
                              "  r2          0.333          3\n");
    free(text);
    cJSON_Delete(model);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

/* The HTML page: self-contained, with its charts, and every string from the data escaped. */
static void test_html_report(void **state)
{
    (void)state;
    jury_settings_t *s = settings_of(s_settings);
    static const char *const lines[] = {
        "{'record': '<script>alert(1)</script>', 'annotator': 'x&y', 'status': 'submitted', "
        "'values': {'label': 'a'}}",
        "{'record': '<script>alert(1)</script>', 'annotator': '<b>', 'status': 'submitted', "
        "'values': {'label': 'b'}}",
        "{'record': 'r2', 'annotator': 'x&y', 'status': 'submitted', 'values': {'label': 'a'}}",
        "{'record': 'r2', 'annotator': '<b>', 'status': 'submitted', 'values': {'label': 'a'}}",
        "{'record': 'r3', 'annotator': 'x&y', 'status': 'submitted', 'values': {'label': 'b'}}",
        "{'record': 'r3', 'annotator': '<b>', 'status': 'submitted', 'values': {'label': 'b'}}",
    };
    jury_report_t *r = report_of(s, NULL, lines, 6);
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    char *html = jury_report_html(model, "a \"title\" & <more>");
    assert_non_null(html);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>"));
    assert_null(strstr(html, "x&y"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "x&amp;y"));
    assert_non_null(strstr(html, "&lt;b&gt;"));
    assert_non_null(
        strstr(html, "<title>Agreement: a &quot;title&quot; &amp; &lt;more&gt;</title>"));
    assert_non_null(strstr(html, "<svg"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    /* One heatmap (label has a pair), one histogram per question with data, the alpha chart. */
    assert_non_null(strstr(html, "aria-label=\"kappa heatmap\""));
    assert_non_null(strstr(html, "aria-label=\"alpha per question\""));
    assert_non_null(strstr(html, "aria-label=\"histogram of per-record agreement\""));
    assert_true(strstr(html, "</html>\n") == html + strlen(html) - 8);
    free(html);
    cJSON_Delete(model);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

/* Adds the response of line (' for ") with jury_report_add, as the store walk does. */
static jury_err add_direct(jury_report_t *r, const char *line, char *err, size_t errlen)
{
    char *json = json_of(line);
    cJSON *doc = cJSON_Parse(json);
    free(json);
    assert_non_null(doc);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
    jury_err rc = jury_report_add(r, cJSON_GetObjectItemCaseSensitive(doc, "record")->valuestring,
                                  cJSON_GetObjectItemCaseSensitive(doc, "annotator")->valuestring,
                                  strcmp(status->valuestring, "submitted") == 0,
                                  cJSON_GetObjectItemCaseSensitive(doc, "values"), err, errlen);
    cJSON_Delete(doc);
    return rc;
}

/* The full model, intervals included, as compact JSON. */
static char *model_exact(jury_report_t *r)
{
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    char *text = cJSON_PrintUnformatted(model);
    cJSON_Delete(model);
    assert_non_null(text);
    return text;
}

/*
 * opts->trusted (the store path): the same model as the checked path for the
 * same responses, intervals included; values that cannot be kept are still
 * rejected, and such a call adds nothing.
 */
static void test_trusted(void **state)
{
    (void)state;
    static const char *const mixed[] = {
        "{'record': 'r1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'score': 1, 'tags': ['p'], 'order': ['a', 'b', 'c'], 'reply': 'yes', "
        "'ents': [{'start': 0, 'end': 3, 'label': 'e'}]}}",
        "{'record': 'r1', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'b', "
        "'score': 2, 'tags': ['q', 'p'], 'order': [['a', 'b'], 'c'], 'reply': 'yes!', "
        "'ents': [{'start': 1, 'end': 3, 'label': 'e'}]}}",
        "{'record': 'r2', 'annotator': 'y', 'status': 'submitted', 'values': {'label': 'b', "
        "'score': 3, 'tags': ['r', 'q'], 'order': ['c', 'b', 'a'], 'reply': 'no', 'ents': []}}",
        "{'record': 'r2', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'b', "
        "'score': 3, 'tags': ['r'], 'order': ['c', 'a', 'b'], 'reply': 'non', 'ents': []}}",
        "{'record': 'r1', 'annotator': 'z', 'status': 'submitted', 'values': {'label': 'a', "
        "'score': null}}",
        "{'record': 'r3', 'annotator': 'z', 'status': 'draft', 'values': {'label': 'b'}}",
        "{'record': 'r3', 'annotator': 'x', 'status': 'discarded', 'values': null}",
    };
    const char *const *sets[] = {s_label_lines, s_rating_lines, mixed};
    size_t sizes[] = {sizeof s_label_lines / sizeof *s_label_lines,
                      sizeof s_rating_lines / sizeof *s_rating_lines, sizeof mixed / sizeof *mixed};
    jury_settings_t *s = settings_of(s_settings);
    char err[512];
    for (size_t set = 0; set < 3; set++) {
        jury_report_t *checked = report_of(s, NULL, sets[set], sizes[set]);
        jury_report_opts_t opts = {.bootstrap = 200, .seed = 7, .trusted = true};
        jury_report_t *trusted = NULL;
        assert_int_equal(jury_report_new(&trusted, s, &opts, NULL, 0), JURY_OK);
        for (size_t i = 0; i < sizes[set]; i++)
            if (add_direct(trusted, sets[set][i], err, sizeof err) != JURY_OK)
                fail_msg("line %zu of set %zu rejected: %s", i, set, err);
        char *want = model_exact(checked), *got = model_exact(trusted);
        assert_string_equal(got, want);
        free(want);
        free(got);
        jury_report_destroy(&checked);
        jury_report_destroy(&trusted);
    }

    jury_report_opts_t opts = {.question = "label", .trusted = true};
    jury_report_t *r = NULL;
    assert_int_equal(jury_report_new(&r, s, &opts, NULL, 0), JURY_OK);
    static const char *const bad[] = {
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'c'}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 1}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'score': 4}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'score': 1.5}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'score': 11}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'tags': ['s']}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'ents': [{}]}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'colour': 'red'}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': {'label': 'a', "
        "'order': 'a'}}",
        "{'record': 'q1', 'annotator': 'x', 'status': 'submitted', 'values': ['a']}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (add_direct(r, bad[i], err, sizeof err) != JURY_EINVAL)
            fail_msg("bad line %zu accepted", i);
        if (strncmp(err, "/values", 7) != 0)
            fail_msg("bad line %zu: %s", i, err);
    }
    /* Nothing was added: the model has no record. */
    cJSON *model = NULL;
    assert_int_equal(jury_report_build(r, &model), JURY_OK);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(model, "questions"), "label");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(q, "records")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(q, "responses")->valueint, 0);
    cJSON_Delete(model);
    jury_report_destroy(&r);
    jury_settings_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_selection),
        cmocka_unit_test(test_rating),
        cmocka_unit_test(test_krippendorff_2011_c),
        cmocka_unit_test(test_multi_label),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_text_sampled),
        cmocka_unit_test(test_span),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_ci),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_text_report),
        cmocka_unit_test(test_html_report),
        cmocka_unit_test(test_trusted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
