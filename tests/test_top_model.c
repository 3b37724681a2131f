/* test_top_model.c: `jury top`'s pure part: rates over a window, ETAs, discard shares and the
 * dashboard's exact lines, from synthetic snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "top_model.h"

static const jury_measure_t s_none = {false, 0, NULL};

static jury_measure_t s_val(double v)
{
    return (jury_measure_t){true, v, NULL};
}

/* Dataset "reviews" (id 1): 1000 records, of which completed and 10 set aside; submitted
 * responses as given, needed as given, served with 3 sessions and 12 leases. */
static jury_top_dataset_t s_reviews(uint64_t completed, uint64_t submitted, int64_t needed)
{
    return (jury_top_dataset_t){.id = 1,
                                .name = "reviews",
                                .records = 1000,
                                .completed = completed,
                                .set_aside = 10,
                                .contested = 0,
                                .submitted = submitted,
                                .discarded = 20,
                                .draft = 2,
                                .needed = needed,
                                .leases = 12,
                                .connected = 3};
}

/* Begins a snapshot at now_ms with a coordinator of pid 4242 and 3 sessions. */
static void s_begin(jury_top_t *t, int64_t now_ms)
{
    jury_top_snapshot_t s = {.now_ms = now_ms, .pid = 4242, .sessions = 3};
    assert_int_equal(jury_top_begin(t, &s), JURY_OK);
}

static void s_annotator(jury_top_t *t, uint32_t id, const char *name, uint64_t submitted,
                        uint64_t discarded, jury_measure_t agreement)
{
    jury_top_annotator_t a = {.id = id,
                              .name = name,
                              .submitted = submitted,
                              .discarded = discarded,
                              .agreement = agreement};
    assert_int_equal(jury_top_add_annotator(t, &a), JURY_OK);
}

/* One snapshot of "reviews" alone at now_ms. */
static void s_snapshot(jury_top_t *t, int64_t now_ms, uint64_t completed, uint64_t submitted,
                       int64_t needed)
{
    s_begin(t, now_ms);
    jury_top_dataset_t d = s_reviews(completed, submitted, needed);
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_OK);
    assert_int_equal(jury_top_end(t), JURY_OK);
}

static jury_top_dataset_figures_t s_fig(const jury_top_t *t, size_t i)
{
    jury_top_dataset_figures_t f;
    assert_int_equal(jury_top_dataset_figures(t, i, &f), JURY_OK);
    return f;
}

/* Asserts that rendering at width x height gives exactly the n lines in want (NULL-terminated). */
static void s_expect_lines(const jury_top_t *t, int width, int height, const char *const *want)
{
    jury_top_lines_t lines = {0};
    assert_int_equal(jury_top_render(t, width, height, &lines), JURY_OK);
    size_t n = 0;
    while (want[n])
        n++;
    for (size_t i = 0; i < lines.n && i < n; i++) {
        if (strcmp(lines.v[i].text, want[i]) != 0)
            fail_msg("line %zu:\n  got  \"%s\"\n  want \"%s\"", i, lines.v[i].text, want[i]);
    }
    if (lines.n != n) {
        for (size_t i = 0; i < lines.n; i++)
            print_message("%zu: %s\n", i, lines.v[i].text);
        fail_msg("got %zu lines, want %zu", lines.n, n);
    }
    jury_top_lines_free(&lines);
}

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        double s;
        const char *want;
    } cases[] = {
        {0, "0s"},         {44.2, "45s"},
        {59, "59s"},       {59.5, "1m00s"},
        {192, "3m12s"},    {3599, "59m59s"},
        {3600, "1h00m"},   {7500, "2h05m"},
        {7501, "2h06m"},   {86340, "23h59m"},
        {86341, "1d00h"},  {273600, "3d04h"},
        {273601, "3d05h"}, {998 * 86400.0, "998d00h"},
        {1e12, ">999d"},   {-5, "0s"},
    };
    char buf[16];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jury_top_duration(buf, sizeof buf, cases[i].s);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("%.1f s: got \"%s\", want \"%s\"", cases[i].s, buf, cases[i].want);
    }
    /* Cut to fit, still terminated. */
    jury_top_duration(buf, 3, 192);
    assert_string_equal(buf, "3m");
}

/* The rate runs from the newest snapshot at or before now - window (else the oldest) to now. */
static void test_rate_and_eta(void **state)
{
    (void)state;
    jury_top_t *t = NULL;
    assert_int_equal(jury_top_new(&t, 10000), JURY_OK);
    assert_int_equal(jury_top_dataset_count(t), 0);

    /* One snapshot: no rate, so no ETA. */
    s_snapshot(t, 0, 100, 100, 500);
    jury_top_dataset_figures_t f = s_fig(t, 0);
    assert_false(f.rate.ok);
    assert_string_equal(f.rate.note, JURY_TOP_NOTE_ONE_SNAPSHOT);
    assert_false(f.eta_s.ok);
    assert_string_equal(f.eta_s.note, JURY_TOP_NOTE_ONE_SNAPSHOT);
    assert_true(f.progress == 0.11); /* (100 completed + 10 set aside) / 1000 */

    /* 10 more in 1 s: 10/s; 500 needed: 50 s. */
    s_snapshot(t, 1000, 105, 110, 490);
    f = s_fig(t, 0);
    assert_true(f.rate.ok);
    assert_true(f.rate.value == 10.0);
    assert_true(f.eta_s.ok && f.eta_s.value == 49.0);

    /* 30 in 2 s: 15/s. Then steady 20/s up to t = 12 s: the window is t = 2..12 s. */
    s_snapshot(t, 2000, 110, 130, 470);
    assert_true(s_fig(t, 0).rate.value == 15.0);
    uint64_t sub = 130;
    for (int64_t ms = 3000; ms <= 12000; ms += 1000) {
        sub += 20;
        s_snapshot(t, ms, 110, sub, 300);
    }
    f = s_fig(t, 0);
    assert_true(f.rate.value == 20.0); /* (330 - 130) / 10 s */
    assert_true(f.eta_s.value == 15.0);

    /* A gap longer than the window: the rate is over the gap (the only earlier snapshot). */
    s_snapshot(t, 42000, 110, sub + 300, 300);
    assert_true(s_fig(t, 0).rate.value == 10.0);

    /* A counter going down (a response changed from submitted) starts the history afresh. */
    s_snapshot(t, 44000, 110, sub + 299, 300);
    assert_false(s_fig(t, 0).rate.ok);
    /* Nothing new: rate 0, no ETA. */
    s_snapshot(t, 45000, 110, sub + 299, 300);
    f = s_fig(t, 0);
    assert_true(f.rate.ok && f.rate.value == 0.0);
    assert_false(f.eta_s.ok);
    assert_string_equal(f.eta_s.note, JURY_TOP_NOTE_NO_RATE);
    s_snapshot(t, 46000, 110, sub + 309, 300);
    assert_true(s_fig(t, 0).rate.value == 5.0);

    /* Unknown needed: no ETA, whatever the rate. */
    s_snapshot(t, 47000, 110, sub + 320, -1);
    f = s_fig(t, 0);
    assert_true(f.rate.value == 7.0); /* (sub + 320 - (sub + 299)) / 3 s */
    assert_false(f.eta_s.ok);
    assert_string_equal(f.eta_s.note, JURY_TOP_NOTE_NO_NEEDED);

    /* Every record finished: done, progress 1. */
    s_snapshot(t, 48000, 990, sub + 400, 0);
    f = s_fig(t, 0);
    assert_true(f.eta_s.ok && f.eta_s.value == 0.0);
    assert_true(f.progress == 1.0);

    /* Time may not go backwards. */
    jury_top_snapshot_t back = {.now_ms = 47999};
    assert_int_equal(jury_top_begin(t, &back), JURY_EINVAL);
    jury_top_destroy(&t);
    jury_top_destroy(&t);
    assert_null(t);
}

static void test_annotators(void **state)
{
    (void)state;
    jury_top_t *t = NULL;
    assert_int_equal(jury_top_new(&t, 0), JURY_OK); /* JURY_TOP_WINDOW_MS */

    s_begin(t, 0);
    jury_top_dataset_t d = s_reviews(0, 0, 2000);
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_OK);
    s_annotator(t, 7, "ana", 10, 0, s_val(0.8125));
    s_annotator(t, 9, "bo", 4, 1, s_none);
    s_annotator(t, 12, "cy", 0, 0, s_none);
    assert_int_equal(jury_top_end(t), JURY_OK);

    jury_top_annotator_figures_t a;
    assert_int_equal(jury_top_annotator_figures(t, 0, 0, &a), JURY_OK);
    assert_string_equal(a.name, "ana"); /* no rates yet: by name */
    assert_false(a.per_min.ok);
    assert_true(a.discard_share.ok && a.discard_share.value == 0.0);
    assert_int_equal(jury_top_annotator_figures(t, 0, 2, &a), JURY_OK);
    assert_string_equal(a.name, "cy");
    assert_false(a.discard_share.ok);
    assert_string_equal(a.discard_share.note, JURY_TOP_NOTE_NO_ANSWERS);

    /* 4 s later: ana 2 more (30/min), bo 4 submitted and 2 discarded more (90/min), dee new. The
     * store gives annotators in id order, but any order will do. */
    s_begin(t, 4000);
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_OK);
    s_annotator(t, 13, "dee", 1, 0, s_none);
    s_annotator(t, 9, "bo", 8, 3, s_val(0.5));
    s_annotator(t, 7, "ana", 12, 0, s_val(0.8125));
    s_annotator(t, 12, "cy", 0, 0, s_none);
    assert_int_equal(jury_top_end(t), JURY_OK);
    assert_int_equal(s_fig(t, 0).nannotators, 4);

    static const struct {
        const char *name;
        bool rate_ok;
        double per_min;
        double share;
    } want[] = {{"bo", true, 90, 3.0 / 11},
                {"ana", true, 30, 0},
                {"cy", true, 0, -1},
                {"dee", false, 0, 0}};
    for (size_t j = 0; j < 4; j++) {
        assert_int_equal(jury_top_annotator_figures(t, 0, j, &a), JURY_OK);
        assert_string_equal(a.name, want[j].name);
        assert_int_equal(a.per_min.ok, want[j].rate_ok);
        if (want[j].rate_ok)
            assert_true(a.per_min.value == want[j].per_min);
        if (want[j].share >= 0)
            assert_true(a.discard_share.ok && a.discard_share.value == want[j].share);
        else
            assert_false(a.discard_share.ok);
    }
    assert_int_equal(jury_top_annotator_figures(t, 0, 4, &a), JURY_EINVAL);
    assert_int_equal(jury_top_annotator_figures(t, 1, 0, &a), JURY_EINVAL);

    /* The dataset deleted and created again under its name (a new id): histories start afresh. */
    s_begin(t, 5000);
    d.id = 2;
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_OK);
    s_annotator(t, 9, "bo", 9, 3, s_none);
    assert_int_equal(jury_top_end(t), JURY_OK);
    assert_false(s_fig(t, 0).rate.ok);
    assert_int_equal(jury_top_annotator_figures(t, 0, 0, &a), JURY_OK);
    assert_false(a.per_min.ok);
    jury_top_destroy(&t);
}

static void test_errors(void **state)
{
    (void)state;
    jury_top_t *t = NULL;
    assert_int_equal(jury_top_new(NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_top_new(&t, -1), JURY_EINVAL);
    assert_int_equal(jury_top_new(&t, 1000), JURY_OK);
    jury_top_dataset_t d = s_reviews(0, 0, 0);
    jury_top_annotator_t a = {.id = 1, .name = "ana"};
    /* Nothing begun. */
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_EINVAL);
    assert_int_equal(jury_top_end(t), JURY_EINVAL);
    s_begin(t, 0);
    /* No dataset to add to yet. */
    assert_int_equal(jury_top_add_annotator(t, &a), JURY_EINVAL);
    assert_int_equal(jury_top_add_alpha(t, "label", s_none, 0), JURY_EINVAL);
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_OK);
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_EINVAL); /* id 1 twice */
    jury_top_dataset_t unnamed = {.id = 5};
    assert_int_equal(jury_top_add_dataset(t, &unnamed), JURY_EINVAL);
    assert_int_equal(jury_top_add_annotator(t, &a), JURY_OK);
    assert_int_equal(jury_top_add_annotator(t, &a), JURY_EINVAL); /* right after itself */
    a.id = 2;
    assert_int_equal(jury_top_add_annotator(t, &a), JURY_OK);
    a.id = 1;
    assert_int_equal(jury_top_add_annotator(t, &a), JURY_OK); /* found at the end */
    assert_int_equal(jury_top_end(t), JURY_EINVAL);
    assert_int_equal(jury_top_dataset_count(t), 0); /* nothing ended yet */
    jury_top_dataset_figures_t f;
    assert_int_equal(jury_top_dataset_figures(t, 0, &f), JURY_EINVAL);

    /* A snapshot begun again starts from nothing. */
    s_begin(t, 0);
    assert_int_equal(jury_top_end(t), JURY_OK);
    assert_int_equal(jury_top_dataset_count(t), 0);
    jury_top_lines_t lines = {0};
    assert_int_equal(jury_top_render(NULL, 80, 0, &lines), JURY_EINVAL);
    assert_int_equal(jury_top_render(t, 80, 0, NULL), JURY_EINVAL);
    jury_top_destroy(&t);
}

/* Two snapshots of two datasets, rendered at 80 and 50 columns and in 12 lines. */
static void test_render(void **state)
{
    (void)state;
    jury_top_t *t = NULL;
    assert_int_equal(jury_top_new(&t, 10000), JURY_OK);

    static const char *const waiting[] = {"jury top: waiting for the first snapshot", NULL};
    s_expect_lines(t, 80, 0, waiting);

    for (int k = 0; k < 2; k++) {
        s_begin(t, k * 2000);
        /* 632 of 1000 finished; 40 submitted in 2 s: 20/s; 1250 needed: 62.5 s. */
        jury_top_dataset_t d = s_reviews(622, 1260 + 40 * (uint64_t)k, 1250);
        d.contested = 4;
        assert_int_equal(jury_top_add_dataset(t, &d), JURY_OK);
        assert_int_equal(jury_top_add_alpha(t, "label", s_val(0.71249), 622), JURY_OK);
        jury_measure_t none = {false, 0, JURY_NOTE_NO_PAIRABLE};
        assert_int_equal(jury_top_add_alpha(t, "stars", none, 1), JURY_OK);
        s_annotator(t, 1, "ana", 600 + 10 * (uint64_t)k, 15, s_val(0.8125));
        s_annotator(t, 2, "bartholomew-the-very-thorough", 660 + 30 * (uint64_t)k,
                    5 + 2 * (uint64_t)k, s_val(0.75));
        s_annotator(t, 3, "cy\x1b[2J", 0, 0, s_none);
        /* Not served, no records. */
        jury_top_dataset_t e = {
            .id = 4, .name = "new", .needed = -1, .leases = -1, .connected = -1};
        assert_int_equal(jury_top_add_dataset(t, &e), JURY_OK);
        assert_int_equal(jury_top_end(t), JURY_OK);
    }

    static const char *const w80[] = {
        "jury top: coordinator pid 4242, 3 sessions",
        "",
        "reviews  [############........]   63.2%  20.0 resp/s  ETA 1m03s",
        "  records    1000: 622 completed, 10 set aside, 368 pending, 4 contested",
        "  responses  1300 submitted, 20 discarded, 2 draft, 1250 more needed",
        "  live       3 connected, 12 leases",
        "  agreement  label  0.712 (622 records)",
        "             stars  n/a: no pairable records (1 record)",
        "  annotator                 resp/min  discards  agreement  submitted",
        "  bartholomew-the-very-th\xe2\x80\xa6     960.0      1.0%      0.750        690",
        "  ana                          300.0      2.4%      0.812        610",
        "  cy?[2J                         0.0         -          -          0",
        "",
        "new      [....................]    0.0%  0.0 resp/s  ETA -",
        "  records    0: 0 completed, 0 set aside, 0 pending",
        "  responses  0 submitted, 0 discarded, 0 draft",
        NULL};
    s_expect_lines(t, 80, 0, w80);
    /* Not cut, laid out as for 80 columns. */
    s_expect_lines(t, 0, 0, w80);

    /* 50 columns: a 10-wide bar, every line cut; 12 lines: the last says what is left out. */
    static const char *const w50[] = {
        "jury top: coordinator pid 4242, 3 sessions",
        "",
        "reviews  [######....]   63.2%  20.0 resp/s  ETA 1m",
        "  records    1000: 622 completed, 10 set aside, 36",
        "  responses  1300 submitted, 20 discarded, 2 draft",
        "  live       3 connected, 12 leases",
        "  agreement  label  0.712 (622 records)",
        "             stars  n/a: no pairable records (1 re",
        "  annotator                 resp/min  discards  ag",
        "  bartholomew-the-very-th\xe2\x80\xa6     960.0      1.0%    ",
        "  ana                          300.0      2.4%    ",
        "\xe2\x80\xa6 5 more lines",
        NULL};
    s_expect_lines(t, 50, 12, w50);
    jury_top_destroy(&t);
}

/* No coordinator, no datasets; 100 columns take a 30-wide bar; one line of height. */
static void test_render_bare(void **state)
{
    (void)state;
    jury_top_t *t = NULL;
    assert_int_equal(jury_top_new(&t, 10000), JURY_OK);
    jury_top_snapshot_t s = {.now_ms = 0};
    assert_int_equal(jury_top_begin(t, &s), JURY_OK);
    assert_int_equal(jury_top_end(t), JURY_OK);
    static const char *const bare[] = {"jury top: no coordinator is running on this store",
                                       "no datasets", NULL};
    s_expect_lines(t, 100, 0, bare);

    assert_int_equal(jury_top_begin(t, &s), JURY_OK);
    jury_top_dataset_t d = s_reviews(990, 5000, 0);
    d.leases = d.connected = -1;
    assert_int_equal(jury_top_add_dataset(t, &d), JURY_OK);
    assert_int_equal(jury_top_end(t), JURY_OK);
    static const char *const done[] = {
        "jury top: no coordinator is running on this store",
        "",
        "reviews  [##############################]  100.0%  - resp/s  done",
        "  records    1000: 990 completed, 10 set aside, 0 pending",
        "  responses  5000 submitted, 20 discarded, 2 draft, 0 more needed",
        NULL};
    s_expect_lines(t, 100, 0, done);
    static const char *const one[] = {"jury top: no coordinator is running on this store", NULL};
    s_expect_lines(t, 100, 1, one);
    jury_top_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),   cmocka_unit_test(test_rate_and_eta),
        cmocka_unit_test(test_annotators), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_render),     cmocka_unit_test(test_render_bare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
