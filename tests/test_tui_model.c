/* test_tui_model.c: the terminal annotator's pure part: wrapping text, widgets, values JSON, local
 * checks and review mode, by example. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tui_model.h"

/* The example dataset of ops/examples/support-sft.settings.json, as juror_settings gives it
 * (normalised: labels are objects, every default filled in), plus one question of each other
 * type and a chat field. */
static const char s_settings[] =
    "{\"guidelines\": \"## Your task\\nEdit the draft.\","
    " \"fields\": ["
    "  {\"name\": \"instruction\", \"title\": \"Customer message\", \"type\": \"text\","
    "   \"required\": true, \"use_markdown\": false},"
    "  {\"name\": \"history\", \"title\": \"Earlier messages\", \"type\": \"chat\","
    "   \"required\": false, \"use_markdown\": false}],"
    " \"questions\": ["
    "  {\"name\": \"response\", \"title\": \"Corrected reply\", \"description\": \"Fix the "
    "draft.\","
    "   \"required\": true, \"type\": \"text\", \"use_markdown\": true},"
    "  {\"name\": \"quality\", \"title\": \"Draft quality\", \"description\": null,"
    "   \"required\": true, \"type\": \"rating\", \"values\": [1, 2, 3, 4, 5]},"
    "  {\"name\": \"topic\", \"title\": \"Topic\", \"description\": null, \"required\": false,"
    "   \"type\": \"label_selection\", \"labels\": {\"billing\": \"Billing\", \"shipping\": "
    "\"Shipping\", \"other\": \"Other\"}, \"visible_labels\": null},"
    "  {\"name\": \"issues\", \"title\": \"Issues\", \"description\": null, \"required\": false,"
    "   \"type\": \"multi_label_selection\", \"labels\": {\"rude\": \"Rude\", \"wrong\": "
    "\"Wrong\", \"vague\": \"Vague\"}, \"visible_labels\": null, \"labels_order\": \"natural\"},"
    "  {\"name\": \"best\", \"title\": \"Best reply\", \"description\": null, \"required\": false,"
    "   \"type\": \"ranking\", \"values\": {\"a\": \"Reply A\", \"b\": \"Reply B\", \"c\": "
    "\"Reply C\"}, \"allow_ties\": true},"
    "  {\"name\": \"ents\", \"title\": \"Entities\", \"description\": null, \"required\": false,"
    "   \"type\": \"span\", \"field\": \"instruction\", \"labels\": {\"order-id\": \"Order id\","
    "   \"product\": \"Product\"}, \"allow_overlapping\": false, \"visible_labels\": null}],"
    " \"metadata\": [{\"name\": \"category\", \"title\": \"Ticket category\", \"type\": \"terms\","
    "   \"options\": null, \"visible_for_annotators\": true}],"
    " \"allow_extra_metadata\": false,"
    " \"distribution\": {\"strategy\": \"overlap\", \"min_submitted\": 2}}";

/* "I was charged twice for order 4417." : 35 code points; "4417" is 30..34. */
static const char s_record[] =
    "{\"id\": \"ticket-0002\","
    " \"fields\": {\"instruction\": \"I was charged twice for order 4417.\","
    "   \"history\": [{\"role\": \"user\", \"content\": \"Hello?\"},"
    "                {\"role\": \"assistant\", \"content\": \"How can I help?\"}]},"
    " \"suggestions\": {\"response\": {\"value\": \"Sorry about that!\", \"score\": 0.82,"
    "   \"agent\": \"support-draft-v1\"}, \"topic\": {\"value\": \"billing\"}},"
    " \"metadata\": {\"category\": \"billing\"},"
    " \"lease_expires\": \"2026-11-27T23:59:59.123Z\", \"draft\": null}";

enum { Q_RESPONSE, Q_QUALITY, Q_TOPIC, Q_ISSUES, Q_BEST, Q_ENTS };

/* A record to review, as juror_review_fetch gives it (protocol/SPEC.md 6.13): contested and
 * rejected, decided by the consolidation, with two submitted responses and a discard. */
static const char s_review[] =
    "{\"id\": \"ticket-0007\", \"fields\": {\"instruction\": \"I was charged twice for order "
    "4417.\"},"
    " \"suggestions\": {\"response\": {\"value\": \"Sorry about that!\"}},"
    " \"metadata\": {\"category\": \"billing\"}, \"lease_expires\": \"2026-11-27T23:59:59.123Z\","
    " \"why\": [\"contested\", \"rejected\"],"
    " \"reason\": \"agreement on \\\"quality\\\" below min_agreement 0.8\","
    " \"unified\": {\"response\": \"We refunded the second charge.\", \"quality\": 3,"
    "   \"topic\": \"billing\"},"
    " \"responses\": ["
    "  {\"annotator\": \"ana\", \"status\": \"submitted\", \"values\": {\"response\": \"We refunded"
    " the second charge.\", \"quality\": 2, \"topic\": \"billing\", \"best\": [\"b\", \"a\", "
    "\"c\"]},"
    "   \"updated\": \"2026-11-27T23:50:00.000Z\"},"
    "  {\"annotator\": \"bob\", \"status\": \"submitted\", \"values\": {\"response\": \"Refund "
    "issued;"
    " sorry for the trouble.\", \"quality\": 4, \"issues\": [\"vague\"], \"best\": [[\"a\", \"b\"],"
    " \"c\"]}, \"updated\": \"2026-11-27T23:51:00.000Z\"},"
    "  {\"annotator\": \"dan\", \"status\": \"discarded\", \"values\": {},"
    "   \"updated\": \"2026-11-27T23:52:00.000Z\"}]}";

static juror_tui_model_t *s_model(const char *record)
{
    juror_tui_model_t *m = NULL;
    char err[256];
    assert_int_equal(juror_tui_model_new(&m, s_settings, err, sizeof err), JURY_OK);
    if (record != NULL)
        assert_int_equal(juror_tui_model_load(m, record), JURY_OK);
    return m;
}

static void s_values_equal(const juror_tui_model_t *m, const char *want)
{
    char *got = juror_tui_values_json(m);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Asserts the lines' texts, one per expected string, and nothing more. */
static void s_lines_equal(const juror_tui_lines_t *ls, const char *const *want, size_t n)
{
    for (size_t i = 0; i < ls->n && i < n; i++)
        assert_string_equal(ls->v[i].text, want[i]);
    assert_int_equal(ls->n, n);
}

#define LINES_EQUAL(ls, ...)                                                                       \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        s_lines_equal((ls), want_, sizeof want_ / sizeof *want_);                                  \
    } while (0)

static void test_wrap_words(void **state)
{
    (void)state;
    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_wrap(&ls, NULL, "the quick brown fox jumps over the lazy dog", 15, 0,
                                    JUROR_TUI_BODY),
                     JURY_OK);
    LINES_EQUAL(&ls, "the quick brown", "fox jumps over", "the lazy dog");
    juror_tui_lines_free(&ls);

    /* Indent counts in the width; a word longer than a line is cut; '\n' keeps paragraphs and
     * an empty paragraph is an empty line. */
    assert_int_equal(juror_tui_wrap(&ls, NULL, "ab cdefghijkl\n\nend  ", 8, 2, JUROR_TUI_DIM),
                     JURY_OK);
    LINES_EQUAL(&ls, "  ab", "  cdefgh", "  ijkl", "  ", "  end");
    assert_int_equal(ls.v[0].style, JUROR_TUI_DIM);
    juror_tui_lines_free(&ls);

    /* Leading spaces of a paragraph stay (Markdown lists); spaces at a break go. */
    assert_int_equal(juror_tui_wrap(&ls, NULL, "- one\n  - two three four", 12, 0, JUROR_TUI_BODY),
                     JURY_OK);
    LINES_EQUAL(&ls, "- one", "  - two", "three four");
    juror_tui_lines_free(&ls);

    /* Empty text is one empty line. */
    assert_int_equal(juror_tui_wrap(&ls, NULL, "", 10, 2, JUROR_TUI_BODY), JURY_OK);
    LINES_EQUAL(&ls, "  ");
    juror_tui_lines_free(&ls);
    juror_tui_lines_free(&ls); /* safe twice */
}

static void test_wrap_prefix_and_controls(void **state)
{
    (void)state;
    juror_tui_lines_t ls = {0};
    /* A chat turn: the role is the prefix, drawn bold; later lines hang 2 more. */
    assert_int_equal(
        juror_tui_wrap(&ls, "user: ", "where is my parcel now?\nthanks", 20, 2, JUROR_TUI_BODY),
        JURY_OK);
    LINES_EQUAL(&ls, "  user: where is my", "    parcel now?", "    thanks");
    assert_int_equal(ls.v[0].emph, strlen("  user: "));
    assert_int_equal(ls.v[1].emph, 0);
    juror_tui_lines_free(&ls);

    /* Tabs become 4 spaces, CR goes, other controls and bad bytes show as U+FFFD. */
    assert_int_equal(juror_tui_wrap(&ls, NULL, "a\tb\r\x01z\xff", 40, 0, JUROR_TUI_BODY), JURY_OK);
    LINES_EQUAL(&ls, "a    b\xef\xbf\xbdz\xef\xbf\xbd");
    juror_tui_lines_free(&ls);
}

static void test_wrap_wide_characters(void **state)
{
    (void)state;
    juror_tui_lines_t ls = {0};
    /* CJK ideographs take 2 columns: 3 of them fill 6; "café" takes 4. */
    assert_int_equal(juror_tui_text_width("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), 6);
    assert_int_equal(juror_tui_text_width("caf\xc3\xa9"), 4);
    assert_int_equal(juror_tui_text_width("e\xcc\x81"), 1); /* e + combining acute */
    assert_int_equal(juror_tui_wrap(&ls, NULL,
                                    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5 caf\xc3\xa9",
                                    5, 0, JUROR_TUI_BODY),
                     JURY_OK);
    LINES_EQUAL(&ls, "\xe6\x97\xa5\xe6\x9c\xac", "\xe8\xaa\x9e\xe6\x97\xa5", "caf\xc3\xa9");
    juror_tui_lines_free(&ls);

    /* A line cut to a width ends with an ellipsis. */
    assert_int_equal(juror_tui_line(&ls, "Customer message", 9, JUROR_TUI_TITLE), JURY_OK);
    assert_int_equal(juror_tui_line(&ls, "short", 9, JUROR_TUI_TITLE), JURY_OK);
    LINES_EQUAL(&ls, "Customer\xe2\x80\xa6", "short");
    juror_tui_lines_free(&ls);

    size_t i = 0;
    assert_int_equal(juror_tui_utf8_next("\xe2\x82", 2, &i), 0xfffd); /* truncated */
    assert_int_equal(i, 1);
    i = 0;
    assert_int_equal(juror_tui_utf8_next("\xf0\x9f\x98\x80", 4, &i), 0x1f600);
    assert_int_equal(i, 4);
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(juror_tui_parse_time("1970-01-01T00:00:01Z", &ms));
    assert_int_equal(ms, 1000);
    /* Python: calendar.timegm((2026, 11, 27, 23, 59, 59)) == 1795823999 */
    assert_true(juror_tui_parse_time("2026-11-27T23:59:59.123Z", &ms));
    assert_int_equal(ms, INT64_C(1795823999123));
    assert_true(juror_tui_parse_time("2000-02-29T12:00:00.5Z", &ms));
    assert_int_equal(ms, INT64_C(951825600500));
    assert_false(juror_tui_parse_time("2026-11-27 23:59:59Z", &ms));
    assert_false(juror_tui_parse_time("2026-11-27T23:59:59+01:00", &ms));
    assert_false(juror_tui_parse_time(NULL, &ms));
}

static void test_settings(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(NULL);
    assert_int_equal(juror_tui_question_count(m), 6);
    assert_int_equal(juror_tui_question_type(m, Q_RESPONSE), JUROR_TUI_TEXT);
    assert_int_equal(juror_tui_question_type(m, Q_QUALITY), JUROR_TUI_RATING);
    assert_int_equal(juror_tui_question_type(m, Q_TOPIC), JUROR_TUI_LABEL);
    assert_int_equal(juror_tui_question_type(m, Q_ISSUES), JUROR_TUI_MULTI_LABEL);
    assert_int_equal(juror_tui_question_type(m, Q_BEST), JUROR_TUI_RANKING);
    assert_int_equal(juror_tui_question_type(m, Q_ENTS), JUROR_TUI_SPAN);
    assert_string_equal(juror_tui_question_title(m, Q_QUALITY), "Draft quality");
    assert_true(juror_tui_question_required(m, Q_QUALITY));
    assert_false(juror_tui_question_required(m, Q_TOPIC));
    assert_int_equal(juror_tui_question_find(m, "best"), Q_BEST);
    assert_int_equal(juror_tui_question_find(m, "nope"), (size_t)-1);
    assert_string_equal(juror_tui_guidelines(m), "## Your task\nEdit the draft.");
    assert_false(juror_tui_has_record(m));
    assert_string_equal(juror_tui_record_id(m), "");
    assert_int_equal(juror_tui_question_of_reason(
                         m, "/values/quality: 9 is not one of the rating values 1, 2, 3, 4, 5"),
                     Q_QUALITY);
    assert_int_equal(juror_tui_question_of_reason(m, "/values/best/1: ties are not allowed"),
                     Q_BEST);
    assert_int_equal(juror_tui_question_of_reason(m, "record not leased"), (size_t)-1);
    juror_tui_model_destroy(&m);
    assert_null(m);
    juror_tui_model_destroy(&m); /* safe twice */

    char err[256];
    assert_int_equal(juror_tui_model_new(&m, "[1]", err, sizeof err), JURY_EPROTO);
    assert_string_equal(err, "settings: not a JSON object");
    assert_int_equal(juror_tui_model_new(&m,
                                         "{\"fields\": [{\"name\": \"t\", \"type\": \"text\"}],"
                                         " \"questions\": [{\"name\": \"q\", \"type\": \"poll\"}]}",
                                         err, sizeof err),
                     JURY_EPROTO);
    assert_string_equal(err, "settings: /questions/0: unknown question type \"poll\"");
    assert_null(m);
}

/* The issue's scenario: keep the suggested text, rate 4, submit. */
static void test_text_and_rating(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(s_record);
    char why[256];
    size_t bad = 0;
    assert_true(juror_tui_has_record(m));
    assert_string_equal(juror_tui_record_id(m), "ticket-0002");
    assert_int_equal(juror_tui_lease_expires(m), INT64_C(1795823999123));
    assert_false(juror_tui_from_draft(m));
    assert_false(juror_tui_dirty(m));

    /* Prefilled from the suggestions: the text and the label; nothing else. */
    assert_string_equal(juror_tui_text(m, Q_RESPONSE), "Sorry about that!");
    assert_true(juror_tui_answered(m, Q_RESPONSE));
    assert_false(juror_tui_answered(m, Q_QUALITY));
    assert_true(juror_tui_answered(m, Q_ENTS)); /* a span question is answered as no spans */
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"billing\",\"ents\":[]}");

    /* Submitting without the required rating is refused in the coordinator's words. */
    assert_int_equal(juror_tui_check(m, true, &bad, why, sizeof why), JURY_EINVAL);
    assert_string_equal(
        why, "/values/quality: question \"quality\" is required in a submitted response");
    assert_int_equal(bad, Q_QUALITY);
    /* A draft may be partial. */
    assert_int_equal(juror_tui_check(m, false, &bad, why, sizeof why), JURY_OK);
    assert_int_equal(bad, (size_t)-1);

    /* Digit keys pick a rating value; one that is not a value does nothing. */
    assert_false(juror_tui_digit(m, Q_QUALITY, 7));
    assert_true(juror_tui_digit(m, Q_QUALITY, 4));
    assert_true(juror_tui_dirty(m));
    assert_true(juror_tui_move(m, Q_QUALITY, 1));  /* Right: 5 */
    assert_false(juror_tui_move(m, Q_QUALITY, 1)); /* already the last */
    assert_true(juror_tui_move(m, Q_QUALITY, -1)); /* back to 4 */
    assert_int_equal(juror_tui_check(m, true, NULL, why, sizeof why), JURY_OK);
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"quality\":4,\"topic\":\"billing\","
                      "\"ents\":[]}");

    /* Edited text, then back to the suggestion; "" clears it. */
    assert_int_equal(juror_tui_set_text(m, Q_RESPONSE,
                                        "Sorry for the double charge \xe2\x80\x94 "
                                        "refunded."),
                     JURY_OK);
    assert_string_equal(juror_tui_text(m, Q_RESPONSE),
                        "Sorry for the double charge \xe2\x80\x94 refunded.");
    assert_int_equal(juror_tui_set_text(m, Q_RESPONSE, "bad \xff"), JURY_EINVAL);
    assert_int_equal(juror_tui_set_text(m, Q_QUALITY, "x"), JURY_EINVAL);
    assert_true(juror_tui_reset(m, Q_RESPONSE));
    assert_string_equal(juror_tui_text(m, Q_RESPONSE), "Sorry about that!");
    assert_int_equal(juror_tui_set_text(m, Q_RESPONSE, ""), JURY_OK);
    assert_null(juror_tui_text(m, Q_RESPONSE));
    assert_int_equal(juror_tui_check(m, true, &bad, why, sizeof why), JURY_EINVAL);
    assert_int_equal(bad, Q_RESPONSE);

    /* Clearing the optional label leaves it out. */
    assert_true(juror_tui_clear(m, Q_TOPIC));
    assert_false(juror_tui_clear(m, Q_TOPIC));
    s_values_equal(m, "{\"quality\":4,\"ents\":[]}");
    juror_tui_mark_saved(m);
    assert_false(juror_tui_dirty(m));
    juror_tui_model_destroy(&m);
}

static void test_text_limit(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(s_record);
    char why[256];
    size_t n = 65537;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    assert_int_equal(juror_tui_set_text(m, Q_RESPONSE, big), JURY_OK);
    assert_true(juror_tui_digit(m, Q_QUALITY, 3));
    assert_int_equal(juror_tui_check(m, true, NULL, why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "/values/response: a text answer must be at most 65536 bytes, and "
                             "this one has 65537");
    big[n - 1] = '\0';
    assert_int_equal(juror_tui_set_text(m, Q_RESPONSE, big), JURY_OK);
    assert_int_equal(juror_tui_check(m, true, NULL, why, sizeof why), JURY_OK);
    free(big);
    juror_tui_model_destroy(&m);
}

static void test_draft_wins_over_suggestion(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(NULL);
    /* The draft's value that does not fit its question (7) is ignored; the rest is kept. */
    const char *rec = "{\"id\": \"r1\", \"fields\": {\"instruction\": \"hi\"},"
                      " \"suggestions\": {\"response\": {\"value\": \"suggested\"}},"
                      " \"lease_expires\": \"2026-01-01T00:00:00Z\","
                      " \"draft\": {\"response\": \"my draft\", \"quality\": 7,"
                      "            \"best\": [\"c\", [\"a\", \"b\"]], \"issues\": [\"vague\"]}}";
    assert_int_equal(juror_tui_model_load(m, rec), JURY_OK);
    assert_true(juror_tui_from_draft(m));
    assert_string_equal(juror_tui_text(m, Q_RESPONSE), "my draft");
    assert_false(juror_tui_answered(m, Q_QUALITY));
    s_values_equal(m, "{\"response\":\"my draft\",\"issues\":[\"vague\"],"
                      "\"best\":[\"c\",[\"a\",\"b\"]],\"ents\":[]}");
    /* r takes the suggestion instead. */
    assert_true(juror_tui_reset(m, Q_RESPONSE));
    assert_string_equal(juror_tui_text(m, Q_RESPONSE), "suggested");

    /* A record without a string id is refused and the old one stays. */
    assert_int_equal(juror_tui_model_load(m, "{\"id\": 3}"), JURY_EPROTO);
    assert_int_equal(juror_tui_model_load(m, "not json"), JURY_EPROTO);
    assert_string_equal(juror_tui_record_id(m), "r1");
    juror_tui_model_destroy(&m);
}

static void test_labels(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(s_record);
    /* Label: number keys, or arrows and Enter. */
    assert_true(juror_tui_digit(m, Q_TOPIC, 2));
    assert_false(juror_tui_digit(m, Q_TOPIC, 4));
    assert_true(juror_tui_move(m, Q_TOPIC, 1));
    assert_false(juror_tui_move(m, Q_TOPIC, 1)); /* clamped at the last */
    assert_true(juror_tui_activate(m, Q_TOPIC));
    assert_false(juror_tui_activate(m, Q_TOPIC));
    /* Multi-label: toggles; the picks go out in the question's order; none picked is no
     * answer (SPEC 9.6: non-empty). */
    assert_true(juror_tui_digit(m, Q_ISSUES, 3));
    assert_true(juror_tui_digit(m, Q_ISSUES, 1));
    assert_true(juror_tui_answered(m, Q_ISSUES));
    assert_true(juror_tui_clear(m, Q_ENTS) == false);
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"other\","
                      "\"issues\":[\"rude\",\"vague\"],\"ents\":[]}");
    assert_true(juror_tui_digit(m, Q_ISSUES, 1));
    assert_true(juror_tui_move(m, Q_ISSUES, 1));
    assert_true(juror_tui_move(m, Q_ISSUES, 1));
    assert_true(juror_tui_activate(m, Q_ISSUES)); /* the cursor is on vague: off */
    assert_false(juror_tui_answered(m, Q_ISSUES));
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"other\",\"ents\":[]}");

    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_layout_question(m, Q_TOPIC, 60, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Topic", "  1 ( ) Billing", "  2 ( ) Shipping", "  3 (*) Other",
                "  suggested: Billing; r takes it",
                "  keys 1-3, or Up/Down and Enter, choose   Del: clear");
    assert_false(ls.v[2].cursor);
    assert_true(ls.v[3].cursor);
    assert_int_equal(ls.v[3].style, JUROR_TUI_CHOSEN);
    juror_tui_lines_free(&ls);
    juror_tui_model_destroy(&m);
}

static void test_ranking(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(s_record);
    juror_tui_lines_t ls = {0};
    /* Not an answer until touched. */
    assert_false(juror_tui_answered(m, Q_BEST));
    assert_int_equal(juror_tui_layout_question(m, Q_BEST, 60, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Best reply", "   1. Reply A", "   2. Reply B", "   3. Reply C",
                "  (not ranked yet: move an item, or press Enter to keep this", "  order)",
                "  Up/Down: choose an item   K/J: move it up/down   Enter:",
                "  keep this order   t: tie with the item above");
    juror_tui_lines_free(&ls);
    /* C to the top: c, a, b. */
    assert_true(juror_tui_move(m, Q_BEST, 2));
    assert_true(juror_tui_rank_shift(m, Q_BEST, -1));
    assert_true(juror_tui_rank_shift(m, Q_BEST, -1));
    assert_false(juror_tui_rank_shift(m, Q_BEST, -1));
    assert_true(juror_tui_answered(m, Q_BEST));
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"billing\","
                      "\"best\":[\"c\",\"a\",\"b\"],\"ents\":[]}");
    /* Tie b with a: c, [a, b]. */
    assert_true(juror_tui_move(m, Q_BEST, 2));
    assert_true(juror_tui_rank_tie(m, Q_BEST));
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"billing\","
                      "\"best\":[\"c\",[\"a\",\"b\"]],\"ents\":[]}");
    assert_int_equal(juror_tui_layout_question(m, Q_BEST, 60, &ls), JURY_OK);
    assert_string_equal(ls.v[1].text, "   1. Reply C");
    assert_string_equal(ls.v[2].text, "   2. Reply A");
    assert_string_equal(ls.v[3].text, "   2= Reply B");
    juror_tui_lines_free(&ls);
    /* Moving b to the top takes it out of the tie: b, c, a. */
    assert_true(juror_tui_rank_shift(m, Q_BEST, -2));
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"billing\","
                      "\"best\":[\"b\",\"c\",\"a\"],\"ents\":[]}");
    /* The first item cannot tie with nothing. */
    assert_false(juror_tui_rank_tie(m, Q_BEST));
    /* A tie's leader moving away leaves the rest of the tie together. */
    assert_true(juror_tui_move(m, Q_BEST, 1));
    assert_true(juror_tui_rank_tie(m, Q_BEST)); /* b = c, a */
    assert_true(juror_tui_move(m, Q_BEST, 1));
    assert_true(juror_tui_rank_tie(m, Q_BEST)); /* b = c = a */
    assert_true(juror_tui_move(m, Q_BEST, -2));
    assert_true(juror_tui_rank_shift(m, Q_BEST, 2)); /* c = a, b */
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"billing\","
                      "\"best\":[[\"c\",\"a\"],\"b\"],\"ents\":[]}");
    juror_tui_model_destroy(&m);
}

static void test_spans(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(s_record);
    char why[256];
    assert_int_equal(juror_tui_span_add(m, Q_ENTS, "30 34 order-id", why, sizeof why), JURY_OK);
    assert_int_equal(juror_tui_span_add(m, Q_ENTS, " 2 5 2 ", why, sizeof why), JURY_OK);
    s_values_equal(m, "{\"response\":\"Sorry about that!\",\"topic\":\"billing\","
                      "\"ents\":[{\"start\":2,\"end\":5,\"label\":\"product\"},"
                      "{\"start\":30,\"end\":34,\"label\":\"order-id\"}]}");
    assert_int_equal(juror_tui_span_add(m, Q_ENTS, "4 8 product", why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "overlaps span 0, and the question does not allow overlapping");
    assert_int_equal(juror_tui_span_add(m, Q_ENTS, "34 36 product", why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "end (36) is beyond the end of the text (35 characters)");
    assert_int_equal(juror_tui_span_add(m, Q_ENTS, "9 9 product", why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "start (9) must be less than end (9)");
    assert_int_equal(juror_tui_span_add(m, Q_ENTS, "9 12 price", why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "\"price\" is not one of the labels (or their numbers 1-2)");
    assert_int_equal(juror_tui_span_add(m, Q_ENTS, "nine", why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "a span is START END LABEL, e.g. \"0 5 order-id\"");

    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_layout_question(m, Q_ENTS, 70, &ls), JURY_OK);
    assert_string_equal(ls.v[1].text, "  0: [2, 5) Product  \"was\"");
    assert_string_equal(ls.v[2].text, "  1: [30, 34) Order id  \"4417\"");
    juror_tui_lines_free(&ls);

    assert_true(juror_tui_span_pop(m, Q_ENTS));
    assert_true(juror_tui_span_pop(m, Q_ENTS));
    assert_false(juror_tui_span_pop(m, Q_ENTS));
    assert_true(juror_tui_answered(m, Q_ENTS));
    juror_tui_model_destroy(&m);
}

static void test_layout_record(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(s_record);
    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_layout_record(m, 30, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Customer message", "  I was charged twice for", "  order 4417.", "",
                "Earlier messages", "  user: Hello?", "  assistant: How can I help?", "",
                "Metadata", "  Ticket category: billing");
    assert_int_equal(ls.v[0].style, JUROR_TUI_TITLE);
    assert_int_equal(ls.v[5].emph, strlen("  user: "));
    juror_tui_lines_free(&ls);

    /* A missing optional field says so. */
    assert_int_equal(juror_tui_model_load(m, "{\"id\": \"r2\", \"fields\": {\"instruction\": "
                                             "\"x\"}, \"draft\": null}"),
                     JURY_OK);
    assert_int_equal(juror_tui_layout_record(m, 30, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Customer message", "  x", "", "Earlier messages", "  (empty)");
    juror_tui_lines_free(&ls);

    assert_int_equal(juror_tui_layout_guidelines(m, 30, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Guidelines", "  ## Your task", "  Edit the draft.");
    juror_tui_lines_free(&ls);
    juror_tui_model_destroy(&m);
}

static void test_layout_text_question(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(s_record);
    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_layout_question(m, Q_RESPONSE, 60, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Corrected reply *", "  Fix the draft.", "  Sorry about that!",
                "  (the suggestion, by support-draft-v1, score 0.82)",
                "  e: edit in $EDITOR   i: edit inline   r: the suggestion", "  Del: clear");
    juror_tui_lines_free(&ls);
    assert_int_equal(juror_tui_set_text(m, Q_RESPONSE, "Mine."), JURY_OK);
    assert_int_equal(juror_tui_layout_question(m, Q_RESPONSE, 60, &ls), JURY_OK);
    assert_string_equal(ls.v[3].text, "  (edited; r goes back to the suggestion)");
    juror_tui_lines_free(&ls);
    assert_int_equal(juror_tui_layout_question(m, Q_QUALITY, 60, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Draft quality *", "   1   2   3   4   5    (not rated yet)",
                "  keys 1-5 or Left/Right choose   Del: clear");
    juror_tui_lines_free(&ls);
    assert_true(juror_tui_digit(m, Q_QUALITY, 2));
    assert_int_equal(juror_tui_layout_question(m, Q_QUALITY, 60, &ls), JURY_OK);
    assert_string_equal(ls.v[1].text, "   1  [2]  3   4   5 ");
    assert_int_equal(ls.v[1].style, JUROR_TUI_CHOSEN);
    juror_tui_lines_free(&ls);
    juror_tui_model_destroy(&m);
}

static void test_rating_ten(void **state)
{
    (void)state;
    juror_tui_model_t *m = NULL;
    char err[128];
    assert_int_equal(juror_tui_model_new(&m,
                                         "{\"fields\": [{\"name\": \"t\", \"type\": \"text\"}],"
                                         " \"questions\": [{\"name\": \"q\", \"type\": \"rating\","
                                         " \"values\": [2, 4, 6, 8, 10]}]}",
                                         err, sizeof err),
                     JURY_OK);
    assert_int_equal(juror_tui_model_load(m, "{\"id\": \"1\", \"fields\": {\"t\": \"x\"}}"),
                     JURY_OK);
    /* 0 stands for 10 when 0 is not a value. */
    assert_true(juror_tui_digit(m, 0, 0));
    s_values_equal(m, "{\"q\":10}");
    /* Left from nothing picks the last value; here it is already chosen. */
    assert_true(juror_tui_clear(m, 0));
    assert_true(juror_tui_move(m, 0, -1));
    s_values_equal(m, "{\"q\":10}");
    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_layout_question(m, 0, 80, &ls), JURY_OK);
    assert_string_equal(ls.v[2].text,
                        "  keys 2,4,6,8,0 (0 for 10) or Left/Right choose   Del: clear");
    juror_tui_lines_free(&ls);
    juror_tui_model_destroy(&m);
}

static void test_line_editor(void **state)
{
    (void)state;
    juror_tui_edit_t e = {0};
    char *s;
    assert_int_equal(juror_tui_edit_set(&e, "caf\xc3\xa9"), JURY_OK);
    assert_int_equal(e.len, 4);
    assert_int_equal(e.cursor, 4);
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_BACKSPACE));
    assert_true(juror_tui_edit_insert(&e, 0x00e8)); /* è */
    assert_false(juror_tui_edit_insert(&e, 0x07));  /* a control character */
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_HOME));
    assert_false(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_LEFT));
    assert_true(juror_tui_edit_insert(&e, 'A'));
    assert_true(juror_tui_edit_insert(&e, ' '));
    assert_true((s = juror_tui_edit_text(&e)) != NULL);
    assert_string_equal(s, "A caf\xc3\xa8");
    free(s);
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_DELETE)); /* c */
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_END));
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_WORD_BACK));
    assert_true((s = juror_tui_edit_text(&e)) != NULL);
    assert_string_equal(s, "A ");
    free(s);
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_CLEAR));
    assert_false(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_CLEAR));

    /* Scrolling: 20 characters in a 10-column field, cursor at the end: the last 9 show with
     * the cursor cell; at the start, the field shows from 0. */
    assert_int_equal(juror_tui_edit_set(&e, "abcdefghijklmnopqrst"), JURY_OK);
    assert_int_equal(juror_tui_edit_first(&e, 0, 10), 11);
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_HOME));
    assert_int_equal(juror_tui_edit_first(&e, 11, 10), 0);
    /* Moving right within the view keeps it still. */
    for (int i = 0; i < 5; i++)
        assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_RIGHT));
    assert_int_equal(juror_tui_edit_first(&e, 0, 10), 0);
    assert_true(juror_tui_edit_apply(&e, JUROR_TUI_EDIT_KILL_END));
    assert_int_equal(e.len, 5);
    juror_tui_edit_free(&e);
    juror_tui_edit_free(&e);
}

/* A review record: the answers start from the consolidation's values; the pane shows why it
 * waits, every response and the consolidation. */
static void test_review_load_and_layout(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(NULL);
    assert_int_equal(juror_tui_model_load_review(m, s_review), JURY_OK);
    assert_true(juror_tui_reviewing(m));
    assert_string_equal(juror_tui_record_id(m), "ticket-0007");
    assert_int_equal(juror_tui_lease_expires(m), INT64_C(1795823999123));
    assert_false(juror_tui_from_draft(m));
    assert_false(juror_tui_dirty(m));
    assert_int_equal(juror_tui_review_responses(m), 3);
    assert_string_equal(juror_tui_review_annotator(m, 1), "ana");
    assert_string_equal(juror_tui_review_annotator(m, 3), "dan");
    assert_string_equal(juror_tui_review_annotator(m, 0), "");
    assert_string_equal(juror_tui_review_annotator(m, 4), "");
    /* The consolidation's value wins over the suggestion ("Sorry about that!"). */
    s_values_equal(m, "{\"response\":\"We refunded the second charge.\",\"quality\":3,"
                      "\"topic\":\"billing\",\"ents\":[]}");

    /* At 100 columns the short columns keep their width and the long ones share the rest;
     * what a column cuts is given in full under the table. */
    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_layout_review(m, 100, &ls), JURY_OK);
    LINES_EQUAL(
        &ls, "Waiting for review",
        "  contested: the annotators did not reach the agreement asked within the most responses "
        "allowed",
        "  rejected by jury consolidate: agreement on \"quality\" below min_agreement 0.8", "",
        "Responses (1-3 copies one into the answers)",
        "  #  annotator  status     Corrected reply        Dra\xe2\x80\xa6  Topic    "
        "Issu\xe2\x80\xa6  Best reply              Ent\xe2\x80\xa6",
        "  1  ana        submitted  We refunded the seco\xe2\x80\xa6  2     Billing  -      "
        "Reply B > Reply A > R\xe2\x80\xa6  -",
        "  2  bob        submitted  Refund issued; sorry\xe2\x80\xa6  4     -        Vague  "
        "Reply A = Reply B > R\xe2\x80\xa6  -",
        "  3  dan        discarded  -                      -     -        -      -          "
        "             -",
        "  1 ana \xc2\xb7 Corrected reply: We refunded the second charge.",
        "  1 ana \xc2\xb7 Best reply: Reply B > Reply A > Reply C",
        "  2 bob \xc2\xb7 Corrected reply: Refund issued; sorry for the trouble.",
        "  2 bob \xc2\xb7 Best reply: Reply A = Reply B > Reply C", "", "Consolidation",
        "  Corrected reply: We refunded the second charge.", "  Draft quality: 3",
        "  Topic: Billing");
    assert_int_equal(ls.v[0].style, JUROR_TUI_TITLE);
    assert_int_equal(ls.v[5].style, JUROR_TUI_DIM);  /* the table's head */
    assert_int_equal(ls.v[6].style, JUROR_TUI_BODY); /* a submitted response */
    assert_int_equal(ls.v[8].style, JUROR_TUI_DIM);  /* a discard */
    assert_int_equal(ls.v[9].emph, strlen("  1 ana \xc2\xb7 Corrected reply: "));
    juror_tui_lines_free(&ls);

    /* The question says where its answer came from, and review mode's keys: digits copy a
     * response, so a rating takes the arrows. */
    assert_int_equal(juror_tui_layout_question(m, Q_QUALITY, 60, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Draft quality *", "   1   2  [3]  4   5 ", "  (the consolidation's value)",
                "  Left/Right choose   Del: clear");
    juror_tui_lines_free(&ls);
    assert_int_equal(juror_tui_layout_question(m, Q_ISSUES, 60, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Issues", "  1 [ ] Rude", "  2 [ ] Wrong", "  3 [ ] Vague",
                "  Up/Down and space toggle   Del: clear");
    juror_tui_lines_free(&ls);

    /* Loading a record to annotate ends review mode. */
    assert_int_equal(juror_tui_model_load(m, s_record), JURY_OK);
    assert_false(juror_tui_reviewing(m));
    assert_int_equal(juror_tui_review_responses(m), 0);
    assert_false(juror_tui_review_copy(m, 1));
    assert_int_equal(juror_tui_layout_review(m, 100, &ls), JURY_OK);
    assert_int_equal(ls.n, 0);
    juror_tui_model_destroy(&m);
}

/* The reviewer's keys, one at a time, and the exact state after each. */
static void test_review_keys(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(NULL);
    juror_tui_lines_t ls = {0};
    char why[256];
    size_t bad = 0;
    assert_int_equal(juror_tui_model_load_review(m, s_review), JURY_OK);

    /* 2: bob's answers, every question; the ones bob left out become unanswered. */
    assert_true(juror_tui_review_copy(m, 2));
    assert_true(juror_tui_dirty(m));
    s_values_equal(m, "{\"response\":\"Refund issued; sorry for the trouble.\",\"quality\":4,"
                      "\"issues\":[\"vague\"],\"best\":[[\"a\",\"b\"],\"c\"],\"ents\":[]}");
    assert_int_equal(juror_tui_layout_question(m, Q_QUALITY, 80, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Draft quality *", "   1   2   3  [4]  5 ",
                "  (copied from response 2, bob; r goes back to the consolidation's value)",
                "  Left/Right choose   Del: clear");
    juror_tui_lines_free(&ls);
    assert_int_equal(juror_tui_layout_question(m, Q_TOPIC, 80, &ls), JURY_OK);
    assert_string_equal(ls.v[4].text, "  consolidation: Billing; r takes it");
    juror_tui_lines_free(&ls);

    /* s (accept): refused here already, in the coordinator's words: bob tied a and b. */
    assert_int_equal(juror_tui_check(m, true, &bad, why, sizeof why), JURY_EINVAL);
    assert_string_equal(why, "/values/best: item 0: a reviewer's ranking has no ties; give each "
                             "value its own rank");
    assert_int_equal(bad, Q_BEST);

    /* Down, t on the ranking: b unties from a. */
    assert_true(juror_tui_move(m, Q_BEST, 1));
    assert_true(juror_tui_rank_tie(m, Q_BEST));
    s_values_equal(m, "{\"response\":\"Refund issued; sorry for the trouble.\",\"quality\":4,"
                      "\"issues\":[\"vague\"],\"best\":[\"a\",\"b\",\"c\"],\"ents\":[]}");
    assert_int_equal(juror_tui_check(m, true, &bad, why, sizeof why), JURY_OK);

    /* 3: dan discarded without values: nothing to copy. 4: there is no response 4. */
    assert_false(juror_tui_review_copy(m, 3));
    assert_false(juror_tui_review_copy(m, 4));
    assert_false(juror_tui_review_copy(m, 0));
    s_values_equal(m, "{\"response\":\"Refund issued; sorry for the trouble.\",\"quality\":4,"
                      "\"issues\":[\"vague\"],\"best\":[\"a\",\"b\",\"c\"],\"ents\":[]}");

    /* 1: ana's answers replace bob's, issues included (ana gave none). */
    assert_true(juror_tui_review_copy(m, 1));
    s_values_equal(m, "{\"response\":\"We refunded the second charge.\",\"quality\":2,"
                      "\"topic\":\"billing\",\"best\":[\"b\",\"a\",\"c\"],\"ents\":[]}");

    /* r on the rating: back to the consolidation's 3. Del, then r, on the label: billing. */
    assert_true(juror_tui_reset(m, Q_QUALITY));
    assert_true(juror_tui_clear(m, Q_TOPIC));
    s_values_equal(m, "{\"response\":\"We refunded the second charge.\",\"quality\":3,"
                      "\"best\":[\"b\",\"a\",\"c\"],\"ents\":[]}");
    assert_true(juror_tui_reset(m, Q_TOPIC));
    assert_int_equal(juror_tui_layout_question(m, Q_TOPIC, 80, &ls), JURY_OK);
    assert_string_equal(ls.v[4].text, "  (the consolidation's value)");
    juror_tui_lines_free(&ls);

    /* Right on the rating: edited; the text answer, edited too. Then s: accepted as shown. */
    assert_true(juror_tui_move(m, Q_QUALITY, 1));
    assert_int_equal(juror_tui_set_text(m, Q_RESPONSE, "Refunded; sorry."), JURY_OK);
    assert_int_equal(juror_tui_layout_question(m, Q_RESPONSE, 80, &ls), JURY_OK);
    LINES_EQUAL(
        &ls, "Corrected reply *", "  Fix the draft.", "  Refunded; sorry.",
        "  (edited; r goes back to the consolidation's value)",
        "  e: edit in $EDITOR   i: edit inline   r: the consolidation's value   Del:", "  clear");
    juror_tui_lines_free(&ls);
    assert_int_equal(juror_tui_check(m, true, &bad, why, sizeof why), JURY_OK);
    s_values_equal(m, "{\"response\":\"Refunded; sorry.\",\"quality\":4,\"topic\":\"billing\","
                      "\"best\":[\"b\",\"a\",\"c\"],\"ents\":[]}");
    juror_tui_model_destroy(&m);
}

/* A record never consolidated (contested only): the suggestion prefills; a narrow pane cuts
 * the table. A record to review needs a responses array. */
static void test_review_contested_only(void **state)
{
    (void)state;
    juror_tui_model_t *m = s_model(NULL);
    const char *rec = "{\"id\": \"r9\", \"fields\": {\"instruction\": \"hi\"},"
                      " \"suggestions\": {\"topic\": {\"value\": \"shipping\", \"agent\": \"m1\"}},"
                      " \"lease_expires\": \"2026-01-01T00:00:00Z\", \"why\": [\"contested\"],"
                      " \"reason\": null, \"unified\": null,"
                      " \"responses\": [{\"annotator\": \"a-very-long-annotator-name\","
                      "   \"status\": \"submitted\", \"values\": {\"quality\": 5}}]}";
    assert_int_equal(juror_tui_model_load_review(m, rec), JURY_OK);
    s_values_equal(m, "{\"topic\":\"shipping\",\"ents\":[]}");
    juror_tui_lines_t ls = {0};
    assert_int_equal(juror_tui_layout_review(m, 60, &ls), JURY_OK);
    LINES_EQUAL(
        &ls, "Waiting for review", "  contested: the annotators did not reach the agreement",
        "  asked within the most responses allowed", "", "Responses (1 copies it into the answers)",
        /* Six questions in 60 columns: each gets 3, and the head, 2 too wide, is cut. */
        "  #  annotator         status     Co\xe2\x80\xa6  Dr\xe2\x80\xa6  To\xe2\x80\xa6  "
        "Is\xe2\x80\xa6  Be\xe2\x80\xa6  \xe2\x80\xa6",
        "  1  a-very-long-ann\xe2\x80\xa6  submitted  -    5    -    -    -    -",
        "  1 a-very-long-annotator-name", "", "Consolidation",
        "  not decided by jury consolidate yet");
    juror_tui_lines_free(&ls);
    /* r on the label goes back to the suggestion, as when annotating. */
    assert_true(juror_tui_review_copy(m, 1));
    s_values_equal(m, "{\"quality\":5,\"ents\":[]}");
    assert_true(juror_tui_reset(m, Q_TOPIC));
    s_values_equal(m, "{\"quality\":5,\"topic\":\"shipping\",\"ents\":[]}");

    /* Not a record to review: refused, and the one on the model stays. */
    assert_int_equal(juror_tui_model_load_review(m, s_record), JURY_EPROTO);
    assert_int_equal(juror_tui_model_load_review(m, "{\"id\": \"x\", \"responses\": {}}"),
                     JURY_EPROTO);
    assert_string_equal(juror_tui_record_id(m), "r9");
    assert_true(juror_tui_reviewing(m));
    juror_tui_model_destroy(&m);
}

/* The table's columns: a short answer's column keeps its whole title, lent by the widest column,
 * whose cell is cut and given in full below. */
static void test_review_table_columns(void **state)
{
    (void)state;
    juror_tui_model_t *m = NULL;
    char err[128];
    assert_int_equal(juror_tui_model_new(
                         &m,
                         "{\"fields\": [{\"name\": \"t\", \"type\": \"text\"}],"
                         " \"questions\": [{\"name\": \"reply\", \"title\": \"Reply\", \"type\": "
                         "\"text\"}, {\"name\": \"quality\", \"title\": \"Draft quality\","
                         " \"type\": \"rating\", \"values\": [1, 2, 3, 4, 5]}]}",
                         err, sizeof err),
                     JURY_OK);
    assert_int_equal(
        juror_tui_model_load_review(
            m, "{\"id\": \"1\", \"fields\": {\"t\": \"x\"}, \"why\": [\"rejected\"],"
               " \"unified\": {\"quality\": 3}, \"responses\": [{\"annotator\": \"ann\","
               " \"status\": \"submitted\", \"values\": {\"reply\": \"A reply far too long for "
               "its column in a table eighty columns wide.\", \"quality\": 3}}]}"),
        JURY_OK);
    juror_tui_lines_t ls = {0};
    /* 51 columns for the two questions: the reply needs 62, the rating 1 (its title cut to 4);
     * the reply gets 47, then lends 9 so that "Draft quality" shows whole. */
    assert_int_equal(juror_tui_layout_review(m, 80, &ls), JURY_OK);
    LINES_EQUAL(&ls, "Waiting for review", "  rejected by jury consolidate", "",
                "Responses (1 copies it into the answers)",
                "  #  annotator  status     Reply                                   Draft quality",
                "  1  ann        submitted  A reply far too long for its column i\xe2\x80\xa6  3",
                "  1 ann \xc2\xb7 Reply: A reply far too long for its column in a table eighty "
                "columns",
                "    wide.", "", "Consolidation", "  Draft quality: 3");
    juror_tui_lines_free(&ls);
    juror_tui_model_destroy(&m);
}

int main(void)
{
    /* Column widths follow LC_CTYPE (wcwidth); the tests assume UTF-8 as the terminal has. */
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        fprintf(stderr, "test_tui_model: the C.UTF-8 locale is not available\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_words),
        cmocka_unit_test(test_wrap_prefix_and_controls),
        cmocka_unit_test(test_wrap_wide_characters),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_text_and_rating),
        cmocka_unit_test(test_text_limit),
        cmocka_unit_test(test_draft_wins_over_suggestion),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_layout_record),
        cmocka_unit_test(test_layout_text_question),
        cmocka_unit_test(test_rating_ten),
        cmocka_unit_test(test_line_editor),
        cmocka_unit_test(test_review_load_and_layout),
        cmocka_unit_test(test_review_keys),
        cmocka_unit_test(test_review_contested_only),
        cmocka_unit_test(test_review_table_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
