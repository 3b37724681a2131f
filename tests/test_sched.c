/* test_sched.c: the scheduler's contract, by examples and by a seeded shadow-model simulation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched.h"

/* Annotators of the hand-written examples. Ids need not be small or dense. */
enum { A = 1, B = 2, C = 3, D = 40, E = 500 };

#define LEASE 30000 /* lease length of the examples, ms */

static jury_sched_t *new_sched(uint32_t max_discards, bool random_order, uint64_t seed,
                               int64_t lease_ms)
{
    jury_sched_opts_t opts = {.max_discards = max_discards,
                              .random_order = random_order,
                              .seed = seed,
                              .lease_ms = lease_ms};
    jury_sched_t *s = jury_sched_new(&opts);
    assert_non_null(s);
    return s;
}

/* Adds records last+1 .. last+n, untouched, each needing target responses. */
static void add_fresh(jury_sched_t *s, size_t n, uint32_t target)
{
    for (size_t k = 0; k < n; k++) {
        uint64_t seq = jury_sched_last_seq(s) + 1;
        assert_int_equal(jury_sched_add(s, seq, target, 0, 0, false, NULL, 0), JURY_OK);
    }
}

/* A complete_first scheduler with records 1..n of one target. */
static jury_sched_t *new_dataset(size_t n, uint32_t target, uint32_t max_discards, int64_t lease_ms)
{
    jury_sched_t *s = new_sched(max_discards, false, 0, lease_ms);
    add_fresh(s, n, target);
    return s;
}

/*
 * Fetches up to n records for annotator at now and asserts that exactly the
 * sequences want come back, in that order, each newly leased until now + lease_ms.
 */
static void expect_fetch(jury_sched_t *s, uint32_t annotator, size_t n, int64_t now,
                         int64_t lease_ms, const uint64_t *want, size_t nwant)
{
    uint64_t seqs[64];
    int64_t expires[64];
    assert_true(n <= 64);
    size_t got = jury_sched_fetch(s, annotator, n, now, seqs, expires);
    for (size_t k = 0; k < got && k < nwant; k++)
        if (seqs[k] != want[k])
            fail_msg("annotator %u fetch #%zu: got seq %llu, want %llu", annotator, k,
                     (unsigned long long)seqs[k], (unsigned long long)want[k]);
    assert_int_equal(got, nwant);
    for (size_t k = 0; k < got; k++)
        assert_int_equal(expires[k], now + lease_ms);
}

#define SEQS(...)  ((const uint64_t[]){__VA_ARGS__})
#define NSEQS(...) (sizeof(SEQS(__VA_ARGS__)) / sizeof(uint64_t))
/* EXPECT_FETCH(s, annotator, n, now, seq...): the fetch returns exactly these new leases. */
#define EXPECT_FETCH(s, ann, n, now, ...)                                                          \
    expect_fetch((s), (ann), (n), (now), LEASE, SEQS(__VA_ARGS__), NSEQS(__VA_ARGS__))

/* Asserts that annotator is offered nothing at now. */
static void expect_nothing(jury_sched_t *s, uint32_t annotator, int64_t now)
{
    uint64_t seqs[8];
    int64_t expires[8];
    size_t got = jury_sched_fetch(s, annotator, 8, now, seqs, expires);
    if (got)
        fail_msg("annotator %u was offered seq %llu (and %zu more)", annotator,
                 (unsigned long long)seqs[0], got - 1);
}

/* ---- lifecycle and add ---------------------------------------------------- */

static void test_new_destroy(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(3, false, 0, LEASE);
    assert_int_equal(jury_sched_last_seq(s), 0);
    assert_int_equal(jury_sched_open(s), 0);
    assert_int_equal(jury_sched_leases(s), 0);
    assert_int_equal(jury_sched_annotator_leases(s, A), 0);
    expect_nothing(s, A, 0);
    jury_sched_destroy(&s);
    assert_null(s);
    jury_sched_destroy(&s);
    jury_sched_destroy(NULL);
}

static void test_add_rejects_bad_seq_and_target(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(3, false, 0, LEASE);
    assert_int_equal(jury_sched_add(s, 0, 1, 0, 0, false, NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_sched_add(s, 2, 1, 0, 0, false, NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_sched_add(s, 1, 0, 0, 0, false, NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_sched_last_seq(s), 0);
    assert_int_equal(jury_sched_open(s), 0);

    assert_int_equal(jury_sched_add(s, 1, 2, 0, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_last_seq(s), 1);
    assert_int_equal(jury_sched_add(s, 1, 2, 0, 0, false, NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_sched_add(s, 3, 2, 0, 0, false, NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_sched_add(s, 2, 0, 0, 0, false, NULL, 0), JURY_EINVAL);
    assert_int_equal(jury_sched_add(s, 2, 2, 0, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_last_seq(s), 2);
    assert_int_equal(jury_sched_open(s), 2);
    jury_sched_destroy(&s);
}

static void test_add_done_and_responded_records(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(3, false, 0, LEASE);
    const uint32_t responded[] = {A, C};
    /* 1: untouched. 2: finished (set aside) in the store. 3: reached its target
     * already. 4: answered by A and C (one submission, one discard). */
    assert_int_equal(jury_sched_add(s, 1, 1, 0, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add(s, 2, 2, 0, 3, true, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add(s, 3, 2, 2, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add(s, 4, 3, 1, 1, false, responded, 2), JURY_OK);
    assert_int_equal(jury_sched_last_seq(s), 4);
    assert_int_equal(jury_sched_open(s), 2);

    /* 4 has a submission, so it comes before the untouched 1; A answered 4. */
    EXPECT_FETCH(s, B, 10, 0, 4, 1);
    expect_nothing(s, A, 0); /* 1 is full (B's lease), A answered 4 */
    jury_sched_destroy(&s);
}

static void test_add_responded_never_offered(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(0, false, 0, LEASE);
    const uint32_t responded[] = {A, C};
    assert_int_equal(jury_sched_add(s, 1, 3, 1, 1, false, responded, 2), JURY_OK);
    assert_int_equal(jury_sched_add(s, 2, 1, 0, 0, true, NULL, 0), JURY_OK);
    expect_nothing(s, A, 0);
    expect_nothing(s, C, 0);
    EXPECT_FETCH(s, B, 10, 0, 1);
    EXPECT_FETCH(s, D, 10, 0, 1); /* 1 submission + B + D = target 3 */
    expect_nothing(s, E, 0);
    assert_int_equal(jury_sched_leases(s), 2);
    assert_int_equal(jury_sched_open(s), 1);
    jury_sched_destroy(&s);
}

/* ---- complete_first order ------------------------------------------------- */

static void test_complete_first_order(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(5, 2, 3, LEASE);
    assert_int_equal(jury_sched_open(s), 5);

    /* Untouched records go out in seq order, each with deadline now + lease. */
    EXPECT_FETCH(s, A, 2, 1000, 1, 2);
    assert_int_equal(jury_sched_leases(s), 2);
    assert_int_equal(jury_sched_annotator_leases(s, A), 2);

    /* Records merely leased by A have no submission: they keep their place in
     * the fresh queue, so B gets 1 and 2 (their second slots) and then 3. */
    EXPECT_FETCH(s, B, 3, 2000, 1, 2, 3);
    assert_int_equal(jury_sched_leases(s), 5);
    assert_int_equal(jury_sched_annotator_leases(s, B), 3);

    /* A submits 1: one of two. 1 is full (A's submission, B's lease). */
    assert_false(jury_sched_submitted(s, A, 1));
    assert_int_equal(jury_sched_open(s), 5);
    assert_int_equal(jury_sched_leases(s), 4);
    assert_int_equal(jury_sched_annotator_leases(s, A), 1);

    /* 1 and 2 are full; C gets 3's second slot, then 4 and 5. */
    EXPECT_FETCH(s, C, 3, 3000, 3, 4, 5);
    expect_nothing(s, C, 3000);

    /* B lets 1 go: it has a submission, so it now comes before every fresh record. */
    assert_true(jury_sched_release(s, B, 1));
    EXPECT_FETCH(s, D, 2, 4000, 1, 4);
    /* A answered 1 and holds 2; only 5 is left for it. */
    EXPECT_FETCH(s, A, 5, 5000, 5);
    assert_int_equal(jury_sched_leases(s), 9); /* A:2,5 B:2,3 C:3,4,5 D:1,4 */
    jury_sched_destroy(&s);
}

static void test_started_queue_in_order_of_first_submission(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(4, 2, 3, LEASE);
    EXPECT_FETCH(s, A, 3, 0, 1, 2, 3);
    assert_false(jury_sched_submitted(s, A, 3));
    assert_false(jury_sched_submitted(s, A, 2));
    /* Started records first, oldest first submission first, then fresh ones in seq order. */
    EXPECT_FETCH(s, B, 4, 0, 3, 2, 1, 4);
    jury_sched_destroy(&s);
}

static void test_started_record_with_free_slot_comes_first(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(5, 2, 3, LEASE);
    EXPECT_FETCH(s, A, 2, 0, 1, 2);
    assert_false(jury_sched_submitted(s, A, 2));
    /* 2 has a submission and a free slot; 1 is leased by A but untouched. */
    EXPECT_FETCH(s, C, 2, 0, 2, 1);
    EXPECT_FETCH(s, B, 2, 0, 3, 4);
    jury_sched_destroy(&s);
}

static void test_fetch_continues_without_repeating(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(4, 3, 3, LEASE);
    /* 1 still has free slots, but A holds it: a later fetch goes on with 2. */
    EXPECT_FETCH(s, A, 1, 0, 1);
    EXPECT_FETCH(s, A, 1, 0, 2);
    EXPECT_FETCH(s, A, 5, 0, 3, 4);
    expect_nothing(s, A, 0);
    assert_int_equal(jury_sched_annotator_leases(s, A), 4);
    jury_sched_destroy(&s);
}

/* ---- never more than target ----------------------------------------------- */

static void test_never_more_than_target(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(3, 2, 3, LEASE);
    EXPECT_FETCH(s, A, 10, 0, 1, 2, 3);
    EXPECT_FETCH(s, B, 10, 0, 1, 2, 3);
    /* Every record has two leases: the third annotator gets nothing. */
    expect_nothing(s, C, 0);
    assert_int_equal(jury_sched_leases(s), 6);

    /* A submission replaces a lease one for one: still full. */
    assert_false(jury_sched_submitted(s, A, 1));
    expect_nothing(s, C, 0);
    assert_true(jury_sched_submitted(s, B, 1));
    assert_int_equal(jury_sched_open(s), 2);
    expect_nothing(s, C, 0);

    /* A release frees one slot, for someone other than the releaser's co-leaser. */
    assert_true(jury_sched_release(s, A, 2));
    expect_nothing(s, B, 0); /* B holds 2 already */
    EXPECT_FETCH(s, C, 10, 0, 2);
    expect_nothing(s, A, 0); /* 2 is full again (B, C) */

    /* A discard frees a slot too, but never for the discarder. */
    assert_false(jury_sched_discarded(s, A, 3));
    expect_nothing(s, A, 0);
    assert_true(jury_sched_release(s, B, 3));
    expect_nothing(s, A, 0); /* A discarded 3 */
    EXPECT_FETCH(s, D, 10, 0, 3);
    EXPECT_FETCH(s, E, 10, 0, 3);
    assert_int_equal(jury_sched_leases(s), 4); /* B:2 C:2 D:3 E:3 */
    jury_sched_destroy(&s);
}

/* ---- check ---------------------------------------------------------------- */

static void test_check(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(3, 2, 3, 1000);
    expect_fetch(s, A, 1, 0, 1000, SEQS(1), 1);

    assert_int_equal(jury_sched_check(s, A, 1, 0), JURY_OK);
    assert_int_equal(jury_sched_check(s, A, 1, 999), JURY_OK);
    /* The deadline itself is past the lease, even before expire sweeps it. */
    assert_int_equal(jury_sched_check(s, A, 1, 1000), JURY_ENOTLEASED);
    assert_int_equal(jury_sched_leases(s), 1);
    assert_int_equal(jury_sched_check(s, B, 1, 500), JURY_ENOTLEASED);
    assert_int_equal(jury_sched_check(s, E, 1, 500), JURY_ENOTLEASED); /* never seen */
    assert_int_equal(jury_sched_check(s, A, 2, 500), JURY_ENOTLEASED);
    assert_int_equal(jury_sched_check(s, A, 0, 500), JURY_ENOTFOUND);
    assert_int_equal(jury_sched_check(s, A, 4, 500), JURY_ENOTFOUND);
    assert_int_equal(jury_sched_check(s, A, UINT64_MAX, 500), JURY_ENOTFOUND);

    assert_true(jury_sched_release(s, A, 1));
    assert_int_equal(jury_sched_check(s, A, 1, 500), JURY_ENOTLEASED);
    assert_false(jury_sched_release(s, A, 1));
    assert_false(jury_sched_release(s, A, 0));
    assert_false(jury_sched_release(s, A, 4));

    expect_fetch(s, B, 1, 100, 1000, SEQS(1), 1);
    assert_false(jury_sched_submitted(s, B, 1));
    assert_int_equal(jury_sched_check(s, B, 1, 200), JURY_ENOTLEASED);
    jury_sched_destroy(&s);
}

/* ---- submitted ------------------------------------------------------------ */

static void test_submitted_finishes_exactly_at_target(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(3, false, 0, LEASE);
    assert_int_equal(jury_sched_add(s, 1, 3, 0, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add(s, 2, 1, 0, 0, false, NULL, 0), JURY_OK);
    EXPECT_FETCH(s, A, 1, 0, 1);
    EXPECT_FETCH(s, B, 1, 0, 1);
    EXPECT_FETCH(s, C, 1, 0, 1);
    EXPECT_FETCH(s, D, 1, 0, 2);
    assert_int_equal(jury_sched_leases(s), 4);
    assert_int_equal(jury_sched_open(s), 2);

    assert_false(jury_sched_submitted(s, A, 1));
    assert_int_equal(jury_sched_leases(s), 3);
    assert_int_equal(jury_sched_open(s), 2);
    assert_false(jury_sched_submitted(s, B, 1));
    assert_int_equal(jury_sched_leases(s), 2);
    assert_int_equal(jury_sched_open(s), 2);
    assert_true(jury_sched_submitted(s, C, 1));
    assert_int_equal(jury_sched_leases(s), 1);
    assert_int_equal(jury_sched_open(s), 1);
    assert_true(jury_sched_submitted(s, D, 2));
    assert_int_equal(jury_sched_leases(s), 0);
    assert_int_equal(jury_sched_open(s), 0);
    for (uint32_t ann = 1; ann <= 8; ann++)
        expect_nothing(s, ann, 0);

    /* Unknown records are ignored. */
    assert_false(jury_sched_submitted(s, A, 0));
    assert_false(jury_sched_submitted(s, A, 3));
    assert_false(jury_sched_discarded(s, A, 0));
    assert_false(jury_sched_discarded(s, A, 3));
    jury_sched_destroy(&s);
}

/* Dynamic overlap: a finished record opens again with a larger target, for others only. */
static void test_reopen(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(3, false, 0, LEASE);
    assert_int_equal(jury_sched_add(s, 1, 2, 0, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add(s, 2, 2, 0, 0, false, NULL, 0), JURY_OK);
    EXPECT_FETCH(s, A, 1, 0, 1);
    EXPECT_FETCH(s, B, 1, 0, 1);
    assert_false(jury_sched_submitted(s, A, 1));
    assert_true(jury_sched_submitted(s, B, 1));
    assert_int_equal(jury_sched_open(s), 1);

    const uint32_t who[] = {A, B};
    assert_int_equal(jury_sched_reopen(s, 1, 2, 2, who, 2), JURY_EINVAL); /* not above submitted */
    assert_int_equal(jury_sched_reopen(s, 3, 3, 2, who, 2), JURY_EINVAL); /* no such record */
    assert_int_equal(jury_sched_reopen(s, 1, 3, 2, who, 2), JURY_OK);
    assert_int_equal(jury_sched_open(s), 2);
    /* Those who answered get the other record; a newcomer gets the reopened one first (it has
     * submitted responses, and came back to the head of its queue). */
    EXPECT_FETCH(s, A, 2, 0, 2);
    EXPECT_FETCH(s, C, 2, 0, 1, 2);
    assert_int_equal(jury_sched_check(s, C, 1, 0), JURY_OK);
    assert_true(jury_sched_submitted(s, C, 1));
    assert_int_equal(jury_sched_open(s), 1);
    expect_nothing(s, D, 0); /* record 2 has A's and C's leases */

    /* An open record only takes the new target. */
    assert_int_equal(jury_sched_reopen(s, 2, 3, 0, NULL, 0), JURY_OK);
    EXPECT_FETCH(s, D, 2, 0, 2);
    jury_sched_destroy(&s);
}

/* distribution.max_records_per_annotator: answers and leases held count; others are not held. */
static void test_quota_per_annotator(void **state)
{
    (void)state;
    jury_sched_opts_t opts = {.max_discards = 3, .lease_ms = LEASE, .max_per_annotator = 3};
    jury_sched_t *s = jury_sched_new(&opts);
    assert_non_null(s);
    add_fresh(s, 6, 2);
    /* A answered one record before this schedule was built (a restart). */
    assert_int_equal(jury_sched_set_answered(s, A, 1), JURY_OK);
    assert_int_equal(jury_sched_answered(s, A), 1);
    EXPECT_FETCH(s, A, 5, 0, 1, 2); /* room for 2 */
    expect_nothing(s, A, 0);
    assert_int_equal(jury_sched_claim(s, A, 3, 0, &(int64_t){0}), JURY_ENOTLEASED);
    assert_true(jury_sched_release(s, A, 2));
    EXPECT_FETCH(s, A, 5, 0, 2); /* the slot came back */
    assert_false(jury_sched_submitted(s, A, 1));
    assert_false(jury_sched_discarded(s, A, 2));
    assert_int_equal(jury_sched_answered(s, A), 3);
    expect_nothing(s, A, 0);
    /* A repeated answer counts once. */
    assert_false(jury_sched_submitted(s, A, 1));
    assert_int_equal(jury_sched_answered(s, A), 3);
    /* Others have their own quota. */
    EXPECT_FETCH(s, B, 5, 0, 1, 2, 3);
    jury_sched_destroy(&s);
}

/* Gold records: onboarding first, then mixed in at gold_rate; each annotator answers each once;
 * they never finish and are not open records. */
static void test_gold_mixing(void **state)
{
    (void)state;
    jury_sched_opts_t opts = {
        .max_discards = 3, .lease_ms = LEASE, .gold_rate = 0.25, .onboarding = 2};
    jury_sched_t *s = jury_sched_new(&opts);
    assert_non_null(s);
    add_fresh(s, 10, 1);
    for (uint64_t seq = 11; seq <= 14; seq++)
        assert_int_equal(jury_sched_add_gold(s, seq, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add_gold(s, 16, NULL, 0), JURY_EINVAL); /* out of order */
    assert_true(jury_sched_is_gold(s, 12));
    assert_false(jury_sched_is_gold(s, 2));
    assert_int_equal(jury_sched_open(s), 10);
    /* given 0, 1: onboarding; given 2..5: 2 gold of 3..6 handed is over 0.25 of them. */
    EXPECT_FETCH(s, A, 6, 0, 11, 12, 1, 2, 3, 4);
    /* given 6..11: the gold share falls to 2 of 9 at given 8, so one more gold record. */
    EXPECT_FETCH(s, A, 6, 0, 13, 5, 6, 7, 8, 9);
    assert_false(jury_sched_submitted(s, A, 11));
    assert_false(jury_sched_discarded(s, A, 12));
    assert_false(jury_sched_discarded(s, A, 12)); /* counted once */
    assert_int_equal(jury_sched_open(s), 10);
    /* B gets the same gold records: they never fill up. */
    EXPECT_FETCH(s, B, 2, 0, 11, 12);
    assert_false(jury_sched_submitted(s, B, 11));
    assert_int_equal(jury_sched_check(s, B, 12, 0), JURY_OK);
    jury_sched_destroy(&s);
}

/* ---- discard -------------------------------------------------------------- */

static void test_discard_frees_slot_and_excludes_discarder(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(3, 1, 3, LEASE);
    EXPECT_FETCH(s, A, 1, 0, 1);
    EXPECT_FETCH(s, B, 1, 0, 2);
    assert_false(jury_sched_discarded(s, A, 1));
    assert_int_equal(jury_sched_leases(s), 1);
    assert_int_equal(jury_sched_annotator_leases(s, A), 0);
    assert_int_equal(jury_sched_open(s), 3);
    /* 1 came back to the head of the fresh queue, ahead of 3. */
    EXPECT_FETCH(s, C, 5, 0, 1, 3);
    assert_int_equal(jury_sched_release_annotator(s, C), 2);
    /* Both free again, but A discarded 1: it gets only 3. */
    EXPECT_FETCH(s, A, 5, 0, 3);
    jury_sched_destroy(&s);
}

static void test_discards_set_record_aside(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(2, 2, 3, LEASE);
    EXPECT_FETCH(s, A, 1, 0, 1);
    assert_false(jury_sched_discarded(s, A, 1));
    EXPECT_FETCH(s, B, 1, 0, 1);
    assert_false(jury_sched_discarded(s, B, 1));
    EXPECT_FETCH(s, C, 1, 0, 1);
    EXPECT_FETCH(s, D, 1, 0, 1);
    assert_int_equal(jury_sched_leases(s), 2);
    assert_int_equal(jury_sched_open(s), 2);

    /* The third discard sets 1 aside and ends D's lease on it. */
    assert_true(jury_sched_discarded(s, C, 1));
    assert_int_equal(jury_sched_open(s), 1);
    assert_int_equal(jury_sched_leases(s), 0);
    assert_int_equal(jury_sched_annotator_leases(s, D), 0);
    assert_int_equal(jury_sched_check(s, D, 1, 0), JURY_ENOTLEASED);
    assert_false(jury_sched_release(s, D, 1));
    EXPECT_FETCH(s, E, 5, 0, 2);
    EXPECT_FETCH(s, D, 5, 0, 2);
    assert_int_equal(jury_sched_leases(s), 2);
    jury_sched_destroy(&s);
}

static void test_discards_counted_from_add(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(3, false, 0, LEASE);
    const uint32_t responded[] = {A, B};
    assert_int_equal(jury_sched_add(s, 1, 1, 0, 2, false, responded, 2), JURY_OK);
    EXPECT_FETCH(s, C, 1, 0, 1);
    assert_true(jury_sched_discarded(s, C, 1));
    assert_int_equal(jury_sched_open(s), 0);
    expect_nothing(s, D, 0);
    jury_sched_destroy(&s);
}

static void test_max_discards_zero_never_sets_aside(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(1, 1, 0, LEASE);
    for (uint32_t ann = 100; ann < 110; ann++) {
        EXPECT_FETCH(s, ann, 1, 0, 1);
        assert_false(jury_sched_discarded(s, ann, 1));
        assert_int_equal(jury_sched_open(s), 1);
        assert_int_equal(jury_sched_leases(s), 0);
    }
    EXPECT_FETCH(s, 110, 1, 0, 1);
    assert_true(jury_sched_submitted(s, 110, 1));
    assert_int_equal(jury_sched_open(s), 0);
    jury_sched_destroy(&s);
}

/* ---- repeated responses and bad ids ----------------------------------------- */

static void test_repeated_response_counts_once(void **state)
{
    (void)state;
    /* The store keeps one response per annotator and record: a second one
     * replaces the first, so the scheduler must not count it again. */
    jury_sched_t *s = new_sched(2, false, 0, LEASE);
    const uint32_t responded[] = {C};
    assert_int_equal(jury_sched_add(s, 1, 2, 0, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add(s, 2, 1, 0, 0, false, NULL, 0), JURY_OK);
    assert_int_equal(jury_sched_add(s, 3, 2, 1, 0, false, responded, 1), JURY_OK);

    EXPECT_FETCH(s, A, 2, 0, 3, 1);
    assert_false(jury_sched_submitted(s, A, 1));
    assert_false(jury_sched_submitted(s, A, 1));
    assert_false(jury_sched_discarded(s, A, 1));
    assert_int_equal(jury_sched_open(s), 3);
    assert_int_equal(jury_sched_leases(s), 1);
    EXPECT_FETCH(s, B, 1, 0, 1);
    assert_true(jury_sched_submitted(s, B, 1));

    /* C's response to 3 was counted at add: a replay of it is not counted again. */
    assert_false(jury_sched_submitted(s, C, 3));
    assert_int_equal(jury_sched_open(s), 2);
    assert_true(jury_sched_submitted(s, A, 3));
    assert_int_equal(jury_sched_open(s), 1);

    /* Two discards by one annotator are one discard (max_discards 2). */
    EXPECT_FETCH(s, D, 1, 0, 2);
    assert_false(jury_sched_discarded(s, D, 2));
    assert_false(jury_sched_discarded(s, D, 2));
    assert_false(jury_sched_submitted(s, D, 2));
    assert_int_equal(jury_sched_open(s), 1);
    EXPECT_FETCH(s, E, 5, 0, 2);
    assert_true(jury_sched_submitted(s, E, 2));
    assert_int_equal(jury_sched_open(s), 0);

    /* Responses to finished records change nothing. */
    assert_false(jury_sched_submitted(s, 77, 3));
    assert_false(jury_sched_discarded(s, 77, 3));
    assert_int_equal(jury_sched_open(s), 0);
    assert_int_equal(jury_sched_leases(s), 0);
    jury_sched_destroy(&s);
}

static void test_annotator_ids_with_top_bit(void **state)
{
    (void)state;
    /* Ids from 2^31 up are never given work, and their responses do not
     * count or stand in for the annotator with the same low bits. */
    const uint32_t big = UINT32_C(0x80000000) | A;
    const uint32_t responded[] = {UINT32_C(0x80000000) | B};
    jury_sched_t *s = new_sched(1, false, 0, LEASE);
    assert_int_equal(jury_sched_add(s, 1, 2, 0, 0, false, responded, 1), JURY_OK);
    expect_nothing(s, big, 0);
    assert_int_equal(jury_sched_check(s, big, 1, 0), JURY_ENOTLEASED);
    assert_false(jury_sched_submitted(s, big, 1));
    assert_false(jury_sched_discarded(s, big, 1));
    assert_int_equal(jury_sched_open(s), 1);
    EXPECT_FETCH(s, A, 1, 0, 1);
    EXPECT_FETCH(s, B, 1, 0, 1);
    assert_false(jury_sched_submitted(s, A, 1));
    assert_true(jury_sched_submitted(s, B, 1));
    assert_int_equal(jury_sched_open(s), 0);
    jury_sched_destroy(&s);
}

/* ---- draft ---------------------------------------------------------------- */

static void test_draft_extends_lease(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(2, 1, 3, 1000);
    expect_fetch(s, A, 1, 0, 1000, SEQS(1), 1);
    assert_int_equal(jury_sched_draft(s, A, 1, 600), 1600);
    assert_int_equal(jury_sched_check(s, A, 1, 1200), JURY_OK);
    assert_int_equal(jury_sched_expire(s, 1500, NULL, NULL), 0);
    assert_int_equal(jury_sched_draft(s, A, 1, 1500), 2500);
    assert_int_equal(jury_sched_check(s, A, 1, 2499), JURY_OK);
    assert_int_equal(jury_sched_check(s, A, 1, 2500), JURY_ENOTLEASED);

    /* No lease: B never had one, 2 is not leased, 0 and 3 do not exist. */
    assert_int_equal(jury_sched_draft(s, B, 1, 1500), 0);
    assert_int_equal(jury_sched_draft(s, A, 2, 1500), 0);
    assert_int_equal(jury_sched_draft(s, A, 0, 1500), 0);
    assert_int_equal(jury_sched_draft(s, A, 3, 1500), 0);

    assert_int_equal(jury_sched_expire(s, 2500, NULL, NULL), 1);
    assert_int_equal(jury_sched_draft(s, A, 1, 2600), 0);
    jury_sched_destroy(&s);
}

static void test_draft_cannot_revive_expired_lease(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(1, 1, 3, 1000);
    expect_fetch(s, A, 1, 0, 1000, SEQS(1), 1);
    /* Past its deadline the lease is dead (check says so) even before expire
     * sweeps it; a late draft must not bring it back. */
    assert_int_equal(jury_sched_check(s, A, 1, 1000), JURY_ENOTLEASED);
    assert_int_equal(jury_sched_draft(s, A, 1, 1000), 0);
    assert_int_equal(jury_sched_check(s, A, 1, 1001), JURY_ENOTLEASED);
    assert_int_equal(jury_sched_expire(s, 1001, NULL, NULL), 1);
    expect_fetch(s, B, 1, 1001, 1000, SEQS(1), 1);
    jury_sched_destroy(&s);
}

/* ---- expire --------------------------------------------------------------- */

typedef struct {
    uint32_t ann[32]; /* annotators reported, in call order */
    uint64_t seq[32]; /* their records */
    size_t n;         /* calls */
} expired_log_t;

static void on_expired(uint32_t annotator, uint64_t seq, void *arg)
{
    expired_log_t *log = arg;
    assert_true(log->n < 32);
    log->ann[log->n] = annotator;
    log->seq[log->n++] = seq;
}

static void test_expire(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(5, 1, 3, 1000);
    expect_fetch(s, A, 2, 0, 1000, SEQS(1, 2), 2);
    expect_fetch(s, B, 1, 500, 1000, SEQS(3), 1);
    assert_int_equal(jury_sched_leases(s), 3);

    expired_log_t log = {.n = 0};
    assert_int_equal(jury_sched_expire(s, 999, on_expired, &log), 0);
    assert_int_equal(log.n, 0);

    /* At their deadline exactly, A's two leases end; B's does not. */
    assert_int_equal(jury_sched_expire(s, 1000, on_expired, &log), 2);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.ann[0], A);
    assert_int_equal(log.seq[0], 1);
    assert_int_equal(log.ann[1], A);
    assert_int_equal(log.seq[1], 2);
    assert_int_equal(jury_sched_leases(s), 1);
    assert_int_equal(jury_sched_annotator_leases(s, A), 0);
    assert_int_equal(jury_sched_annotator_leases(s, B), 1);
    assert_int_equal(jury_sched_check(s, A, 1, 0), JURY_ENOTLEASED);

    /* Each record that comes back goes to the head of its queue, so the one
     * returned last (2) is first; both come before the never-leased 4 and 5. */
    expect_fetch(s, C, 3, 1200, 1000, SEQS(2, 1, 4), 3);

    log.n = 0;
    assert_int_equal(jury_sched_expire(s, 1500, on_expired, &log), 1);
    assert_int_equal(log.ann[0], B);
    assert_int_equal(log.seq[0], 3);
    /* 3 is back at the head of the fresh queue, before 5. */
    expect_fetch(s, A, 3, 1600, 1000, SEQS(3, 5), 2);
    assert_int_equal(jury_sched_expire(s, 1000000, NULL, NULL), 5);
    assert_int_equal(jury_sched_leases(s), 0);
    assert_int_equal(jury_sched_open(s), 5);
    jury_sched_destroy(&s);
}

static void test_expired_started_record_returns_to_head(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(3, 2, 3, 1000);
    expect_fetch(s, A, 3, 0, 1000, SEQS(1, 2, 3), 3);
    assert_false(jury_sched_submitted(s, A, 1));
    assert_false(jury_sched_submitted(s, A, 2));
    assert_false(jury_sched_submitted(s, A, 3));
    expect_fetch(s, B, 2, 0, 1000, SEQS(1, 2), 2);
    expect_fetch(s, C, 1, 500, 1000, SEQS(3), 1);
    assert_int_equal(jury_sched_expire(s, 1000, NULL, NULL), 2);
    /* Started queue after the sweep: 2 and 1 back at its head, in that order. */
    expect_fetch(s, D, 3, 1000, 1000, SEQS(2, 1), 2);
    assert_int_equal(jury_sched_expire(s, 1500, NULL, NULL), 1);
    expect_fetch(s, E, 3, 1500, 1000, SEQS(3), 1);
    jury_sched_destroy(&s);
}

/* ---- release_annotator and redeliver --------------------------------------- */

static void test_release_annotator(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(6, 1, 3, 1000);
    expect_fetch(s, A, 4, 0, 1000, SEQS(1, 2, 3, 4), 4);
    expect_fetch(s, B, 1, 0, 1000, SEQS(5), 1);
    assert_int_equal(jury_sched_release_annotator(s, A), 4);
    assert_int_equal(jury_sched_annotator_leases(s, A), 0);
    assert_int_equal(jury_sched_leases(s), 1);
    assert_int_equal(jury_sched_check(s, A, 2, 0), JURY_ENOTLEASED);
    assert_int_equal(jury_sched_release_annotator(s, A), 0);
    assert_int_equal(jury_sched_release_annotator(s, 123456), 0);
    /* The records come back ahead of 6, in their old order. */
    expect_fetch(s, C, 10, 0, 1000, SEQS(1, 2, 3, 4, 6), 5);
    jury_sched_destroy(&s);
}

static void test_redeliver(void **state)
{
    (void)state;
    jury_sched_t *s = new_dataset(6, 1, 3, 1000);
    uint64_t seqs[8];
    int64_t expires[8];

    expect_fetch(s, A, 3, 0, 1000, SEQS(1, 2, 3), 3);
    expect_fetch(s, A, 1, 400, 1000, SEQS(4), 1);
    /* Without a redeliver, held leases are never handed out twice. */
    expect_fetch(s, A, 1, 500, 1000, SEQS(5), 1);
    assert_true(jury_sched_release(s, A, 5));

    /* A's worker reconnects at 1200: 1..3 ended at 1000 (not yet swept), 4 lives
     * until 1400. The next fetch hands 4 back with its own deadline, then new work. */
    jury_sched_redeliver(s, A);
    assert_int_equal(jury_sched_fetch(s, A, 8, 1200, seqs, expires), 3);
    assert_int_equal(seqs[0], 4);
    assert_int_equal(expires[0], 1400);
    assert_int_equal(seqs[1], 5);
    assert_int_equal(expires[1], 2200);
    assert_int_equal(seqs[2], 6);
    assert_int_equal(expires[2], 2200);
    assert_int_equal(jury_sched_annotator_leases(s, A), 6);
    expect_nothing(s, A, 1200);

    /* A redeliver with a small fetch hands back what fits; the rest comes next. */
    jury_sched_redeliver(s, A);
    assert_int_equal(jury_sched_fetch(s, A, 2, 1300, seqs, expires), 2);
    assert_int_equal(seqs[0], 4);
    assert_int_equal(seqs[1], 5);
    assert_int_equal(jury_sched_fetch(s, A, 2, 1300, seqs, expires), 1);
    assert_int_equal(seqs[0], 6);
    assert_int_equal(expires[0], 2200);
    expect_nothing(s, A, 1300);

    assert_int_equal(jury_sched_expire(s, 1300, NULL, NULL), 3);
    assert_int_equal(jury_sched_release_annotator(s, A), 3);
    assert_int_equal(jury_sched_leases(s), 0);
    jury_sched_redeliver(s, 999); /* unknown annotator: nothing happens */
    jury_sched_destroy(&s);
}

/* ---- random order ----------------------------------------------------------- */

#define RN 1000

/* Fetches every record annotator can have from a fresh random-order scheduler, in batches of batch.
 */
static void random_order_of(uint64_t seed, uint32_t annotator, size_t batch, uint64_t *order)
{
    jury_sched_t *s = new_sched(3, true, seed, LEASE);
    add_fresh(s, RN, 3);
    size_t got = 0, n;
    int64_t expires[64];
    while ((n = jury_sched_fetch(s, annotator, batch, 0, order + got, expires)) > 0) {
        for (size_t k = 0; k < n; k++)
            assert_int_equal(expires[k], LEASE);
        got += n;
        assert_true(got <= RN);
    }
    assert_int_equal(got, RN);
    assert_int_equal(jury_sched_annotator_leases(s, annotator), RN);
    jury_sched_destroy(&s);
}

/* Asserts order holds every record 1..RN once. */
static void assert_permutation(const uint64_t *order)
{
    static bool seen[RN + 1];
    memset(seen, 0, sizeof seen);
    for (size_t k = 0; k < RN; k++) {
        assert_in_range(order[k], 1, RN);
        assert_false(seen[order[k]]);
        seen[order[k]] = true;
    }
}

static void test_random_order(void **state)
{
    (void)state;
    static uint64_t a1[RN], a2[RN], b1[RN], c1[RN], a3[RN];
    jury_sched_t *s;
    random_order_of(42, A, 64, a1);
    random_order_of(42, A, 7, a2);
    random_order_of(42, B, 64, b1);
    random_order_of(43, A, 64, a3);
    assert_permutation(a1);
    assert_permutation(b1);
    assert_permutation(a3);
    /* The same seed and annotator give the same order, whatever the batch size. */
    assert_memory_equal(a1, a2, sizeof a1);
    /* Another annotator, or another seed, gives another order. */
    assert_memory_not_equal(a1, b1, sizeof a1);
    assert_memory_not_equal(a1, a3, sizeof a1);
    /* It is not the complete_first order. */
    size_t in_place = 0;
    for (size_t k = 0; k < RN; k++)
        in_place += a1[k] == k + 1;
    assert_true(in_place < RN / 10);

    /* Annotators start at different places, so a batch fetched by several at
     * once spreads over the dataset. */
    size_t distinct = 0;
    uint64_t first[8];
    s = new_sched(3, true, 42, LEASE);
    add_fresh(s, RN, 8);
    for (uint32_t ann = 0; ann < 8; ann++) {
        int64_t deadline;
        assert_int_equal(jury_sched_fetch(s, 100 + ann, 1, 0, &first[ann], &deadline), 1);
        bool seen = false;
        for (uint32_t k = 0; k < ann; k++)
            seen |= first[k] == first[ann];
        distinct += !seen;
    }
    assert_int_equal(distinct, 8);
    jury_sched_destroy(&s);

    /* Two annotators in one scheduler each get their own order. */
    s = new_sched(3, true, 42, LEASE);
    add_fresh(s, RN, 3);
    int64_t expires[RN];
    assert_int_equal(jury_sched_fetch(s, B, RN, 0, c1, expires), RN);
    assert_memory_equal(c1, b1, sizeof c1);
    assert_int_equal(jury_sched_fetch(s, A, RN, 0, c1, expires), RN);
    assert_memory_equal(c1, a1, sizeof c1);
    jury_sched_destroy(&s);
}

static void test_random_order_drain(void **state)
{
    (void)state;
    jury_sched_t *s = new_sched(3, true, 7, LEASE);
    add_fresh(s, RN, 2);
    const uint32_t anns[3] = {A, B, C};
    static uint8_t offered[3][RN + 1];
    static uint32_t submissions[RN + 1];
    memset(offered, 0, sizeof offered);
    memset(submissions, 0, sizeof submissions);
    size_t total = 0;
    int64_t now = 0;
    for (bool progress = true; progress;) {
        progress = false;
        for (int w = 0; w < 3; w++) {
            uint64_t seqs[16];
            int64_t expires[16];
            size_t n = jury_sched_fetch(s, anns[w], 16, now, seqs, expires);
            for (size_t k = 0; k < n; k++) {
                assert_in_range(seqs[k], 1, RN);
                assert_int_equal(offered[w][seqs[k]], 0);
                offered[w][seqs[k]] = 1;
                assert_int_equal(jury_sched_check(s, anns[w], seqs[k], now), JURY_OK);
                bool finished = jury_sched_submitted(s, anns[w], seqs[k]);
                submissions[seqs[k]]++;
                assert_int_equal(finished, submissions[seqs[k]] == 2);
                total++;
            }
            progress |= n > 0;
            now += 10;
        }
    }
    for (size_t seq = 1; seq <= RN; seq++)
        assert_int_equal(submissions[seq], 2);
    assert_int_equal(total, 2 * RN);
    assert_int_equal(jury_sched_open(s), 0);
    assert_int_equal(jury_sched_leases(s), 0);
    jury_sched_destroy(&s);
}

/* ---- seeded simulation against a shadow model ------------------------------- */

#define SIM_RECS  2000
#define SIM_ANNS  8
#define SIM_STEPS 50000
#define SIM_LEASE 3000
#define SIM_MAXN  6

/* The shadow's view of one record. */
typedef struct {
    uint32_t target;           /* submitted responses that complete it */
    uint32_t submitted;        /* submitted responses */
    uint32_t discards;         /* discarded responses */
    bool done;                 /* completed or set aside */
    bool preset;               /* added as done: its counts are not ours to check */
    uint8_t answered;          /* bit a: annotator a submitted or discarded it */
    uint8_t leased;            /* bit a: annotator a holds a lease on it */
    uint8_t undelivered;       /* bit a: a's lease awaits redelivery */
    int64_t expires[SIM_ANNS]; /* deadline of a's lease */
} sim_rec_t;

/* A simulation: the scheduler under test and the shadow it must agree with. */
typedef struct {
    jury_sched_t *s;             /* under test */
    jury_sched_opts_t opts;      /* its options */
    sim_rec_t rec[SIM_RECS + 2]; /* shadow records by seq (0 and last + 1 stay empty) */
    size_t leases;               /* shadow's active leases */
    size_t ann_leases[SIM_ANNS]; /* shadow's leases per annotator */
    size_t open;                 /* shadow's open records */
    int64_t now;                 /* clock */
    uint64_t rng;                /* splitmix64 state */
    size_t stats[4];             /* submits, discards, set-asides, expired */
} sim_t;

static const uint32_t sim_id[SIM_ANNS] = {3, 40, 77, 114, 151, 188, 225, 262};

static uint64_t sim_rand(sim_t *m)
{
    uint64_t z = (m->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint32_t sim_below(sim_t *m, uint32_t n)
{
    return (uint32_t)(sim_rand(m) % n);
}

static int sim_ann_of(uint32_t id)
{
    for (int a = 0; a < SIM_ANNS; a++)
        if (sim_id[a] == id)
            return a;
    fail_msg("unknown annotator id %u", id);
    return -1;
}

static void sim_end_lease(sim_t *m, uint64_t seq, int a)
{
    sim_rec_t *r = &m->rec[seq];
    assert_true(r->leased & (1u << a));
    r->leased &= (uint8_t) ~(1u << a);
    r->undelivered &= (uint8_t) ~(1u << a);
    m->leases--;
    m->ann_leases[a]--;
}

static void sim_finish(sim_t *m, uint64_t seq)
{
    sim_rec_t *r = &m->rec[seq];
    r->done = true;
    m->open--;
    for (int a = 0; a < SIM_ANNS; a++)
        if (r->leased & (1u << a))
            sim_end_lease(m, seq, a);
}

static bool sim_offerable(const sim_t *m, uint64_t seq, int a)
{
    const sim_rec_t *r = &m->rec[seq];
    return !r->done && !((r->answered | r->leased) & (1u << a)) &&
           r->submitted + (uint32_t)__builtin_popcount(r->leased) < r->target;
}

/* The contract's invariant on every record, and the counts the scheduler reports. */
static void sim_check_all(const sim_t *m)
{
    for (uint64_t seq = 1; seq <= SIM_RECS; seq++) {
        const sim_rec_t *r = &m->rec[seq];
        if ((r->answered & r->leased) != 0)
            fail_msg("record %llu: an annotator both answered and leases it",
                     (unsigned long long)seq);
        if (!r->preset && r->submitted + (uint32_t)__builtin_popcount(r->leased) > r->target)
            fail_msg("record %llu: %u submitted + %d leases > target %u", (unsigned long long)seq,
                     r->submitted, __builtin_popcount(r->leased), r->target);
        if (r->done && r->leased)
            fail_msg("record %llu: finished but leased", (unsigned long long)seq);
    }
    assert_int_equal(jury_sched_leases(m->s), m->leases);
    assert_int_equal(jury_sched_open(m->s), m->open);
    for (int a = 0; a < SIM_ANNS; a++)
        assert_int_equal(jury_sched_annotator_leases(m->s, sim_id[a]), m->ann_leases[a]);
}

static sim_t *sim_new(bool random_order, uint32_t max_discards, uint64_t seed)
{
    sim_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->rng = seed;
    m->opts = (jury_sched_opts_t){.max_discards = max_discards,
                                  .random_order = random_order,
                                  .seed = seed,
                                  .lease_ms = SIM_LEASE};
    m->s = jury_sched_new(&m->opts);
    assert_non_null(m->s);
    m->now = 1000;
    for (uint64_t seq = 1; seq <= SIM_RECS; seq++) {
        sim_rec_t *r = &m->rec[seq];
        r->target = 1 + sim_below(m, 3);
        uint32_t kind = sim_below(m, 20);
        uint32_t responded[2];
        size_t nresponded = 0;
        if (kind == 0) {
            /* Finished in the store already. */
            r->done = r->preset = true;
            r->submitted = r->target;
        } else if (kind <= 3 && r->target > 1) {
            /* One submission in the store. */
            int a = (int)sim_below(m, SIM_ANNS);
            r->submitted = 1;
            r->answered = (uint8_t)(1u << a);
            responded[nresponded++] = sim_id[a];
        } else if (kind <= 5 && max_discards != 1) {
            /* One discard in the store. */
            int a = (int)sim_below(m, SIM_ANNS);
            r->discards = 1;
            r->answered = (uint8_t)(1u << a);
            responded[nresponded++] = sim_id[a];
        }
        if (!r->done)
            m->open++;
        assert_int_equal(jury_sched_add(m->s, seq, r->target, r->submitted, r->discards, r->done,
                                        responded, nresponded),
                         JURY_OK);
    }
    sim_check_all(m);
    return m;
}

static void sim_destroy(sim_t **m_p)
{
    jury_sched_destroy(&(*m_p)->s);
    assert_null((*m_p)->s);
    free(*m_p);
    *m_p = NULL;
}

/* Fetches for annotator a and checks every result against the shadow's rules. */
static size_t sim_fetch(sim_t *m, int a, size_t n)
{
    uint64_t seqs[SIM_MAXN];
    int64_t expires[SIM_MAXN];
    uint8_t bit = (uint8_t)(1u << a);
    size_t want_redelivered = 0;
    for (uint64_t seq = 1; seq <= SIM_RECS; seq++) {
        const sim_rec_t *r = &m->rec[seq];
        if ((r->undelivered & bit) && r->expires[a] > m->now)
            want_redelivered++;
    }
    if (want_redelivered > n)
        want_redelivered = n;
    size_t got = jury_sched_fetch(m->s, sim_id[a], n, m->now, seqs, expires);
    assert_true(got <= n);
    bool saw_fresh = false;
    for (size_t k = 0; k < got; k++) {
        uint64_t seq = seqs[k];
        assert_in_range(seq, 1, SIM_RECS);
        sim_rec_t *r = &m->rec[seq];
        if (k < want_redelivered) {
            /* A held lease handed back with its own deadline. */
            assert_true(r->undelivered & bit);
            assert_true(r->expires[a] > m->now);
            assert_int_equal(expires[k], r->expires[a]);
            r->undelivered &= (uint8_t)~bit;
            continue;
        }
        if (!sim_offerable(m, seq, a))
            fail_msg("annotator %d offered record %llu: done %d answered %d leased %d, "
                     "%u submitted + %d leases of %u",
                     a, (unsigned long long)seq, r->done, !!(r->answered & bit),
                     !!(r->leased & bit), r->submitted, __builtin_popcount(r->leased), r->target);
        assert_int_equal(expires[k], m->now + SIM_LEASE);
        if (!m->opts.random_order) {
            /* complete_first: no started record after a fresh one. */
            if (r->submitted == 0)
                saw_fresh = true;
            else
                assert_false(saw_fresh);
        }
        r->leased |= bit;
        r->expires[a] = expires[k];
        m->leases++;
        m->ann_leases[a]++;
    }
    /* Nothing that could have been offered was left behind. */
    if (got < n || (saw_fresh && !m->opts.random_order))
        for (uint64_t seq = 1; seq <= SIM_RECS; seq++) {
            if (!sim_offerable(m, seq, a))
                continue;
            if (got < n)
                fail_msg("annotator %d got %zu of %zu but record %llu was available", a, got, n,
                         (unsigned long long)seq);
            if (m->rec[seq].submitted > 0)
                fail_msg("annotator %d got a fresh record before started record %llu", a,
                         (unsigned long long)seq);
        }
    return got;
}

/* A random record annotator a leases (live or not), or 0 when it has none. */
static uint64_t sim_pick_lease(sim_t *m, int a, bool live_only)
{
    if (m->ann_leases[a] == 0)
        return 0;
    uint64_t start = 1 + sim_below(m, SIM_RECS);
    for (uint64_t k = 0; k < SIM_RECS; k++) {
        uint64_t seq = 1 + (start - 1 + k) % SIM_RECS;
        const sim_rec_t *r = &m->rec[seq];
        if ((r->leased & (1u << a)) && (!live_only || r->expires[a] > m->now))
            return seq;
    }
    return 0;
}

static void sim_submit(sim_t *m, int a, uint64_t seq)
{
    sim_rec_t *r = &m->rec[seq];
    /* The coordinator accepts a response only on a live lease. */
    assert_int_equal(jury_sched_check(m->s, sim_id[a], seq, m->now), JURY_OK);
    bool finished = jury_sched_submitted(m->s, sim_id[a], seq);
    sim_end_lease(m, seq, a);
    r->submitted++;
    r->answered |= (uint8_t)(1u << a);
    assert_int_equal(finished, r->submitted == r->target);
    if (finished)
        sim_finish(m, seq);
    m->stats[0]++;
}

static void sim_discard(sim_t *m, int a, uint64_t seq)
{
    sim_rec_t *r = &m->rec[seq];
    assert_int_equal(jury_sched_check(m->s, sim_id[a], seq, m->now), JURY_OK);
    bool finished = jury_sched_discarded(m->s, sim_id[a], seq);
    sim_end_lease(m, seq, a);
    r->discards++;
    r->answered |= (uint8_t)(1u << a);
    bool aside = m->opts.max_discards && r->discards == m->opts.max_discards;
    assert_int_equal(finished, aside);
    if (finished) {
        sim_finish(m, seq);
        m->stats[2]++;
    }
    m->stats[1]++;
}

static void sim_on_expired(uint32_t annotator, uint64_t seq, void *arg)
{
    sim_t *m = arg;
    int a = sim_ann_of(annotator);
    assert_in_range(seq, 1, SIM_RECS);
    assert_true(m->rec[seq].leased & (1u << a));
    assert_true(m->rec[seq].expires[a] <= m->now);
    sim_end_lease(m, seq, a);
    m->stats[3]++;
}

static void sim_expire(sim_t *m)
{
    size_t due = 0;
    for (uint64_t seq = 1; seq <= SIM_RECS; seq++)
        for (int a = 0; a < SIM_ANNS; a++)
            due += (m->rec[seq].leased & (1u << a)) && m->rec[seq].expires[a] <= m->now;
    size_t before = m->leases;
    assert_int_equal(jury_sched_expire(m->s, m->now, sim_on_expired, m), due);
    assert_int_equal(m->leases, before - due);
}

static void sim_step(sim_t *m)
{
    int a = (int)sim_below(m, SIM_ANNS);
    uint32_t id = sim_id[a];
    uint32_t op = sim_below(m, 100);
    m->now += sim_below(m, 120);
    if (op < 30) {
        sim_fetch(m, a, 1 + sim_below(m, SIM_MAXN));
    } else if (op < 37) {
        uint64_t seq = sim_pick_lease(m, a, true);
        if (seq)
            sim_submit(m, a, seq);
    } else if (op < 40) {
        uint64_t seq = sim_pick_lease(m, a, true);
        if (seq)
            sim_discard(m, a, seq);
    } else if (op < 52) {
        /* A draft on a held lease (perhaps past its deadline) or on any record. */
        uint64_t seq = op < 49 ? sim_pick_lease(m, a, false) : sim_below(m, SIM_RECS + 2);
        sim_rec_t *r = &m->rec[seq];
        bool live =
            seq >= 1 && seq <= SIM_RECS && (r->leased & (1u << a)) && r->expires[a] > m->now;
        int64_t got = jury_sched_draft(m->s, id, seq, m->now);
        assert_int_equal(got, live ? m->now + SIM_LEASE : 0);
        if (live)
            r->expires[a] = got;
    } else if (op < 60) {
        uint64_t seq = op < 58 ? sim_pick_lease(m, a, false) : sim_below(m, SIM_RECS + 2);
        bool held = seq >= 1 && seq <= SIM_RECS && (m->rec[seq].leased & (1u << a));
        assert_int_equal(jury_sched_release(m->s, id, seq), held);
        if (held)
            sim_end_lease(m, seq, a);
    } else if (op < 62) {
        size_t held = m->ann_leases[a];
        assert_int_equal(jury_sched_release_annotator(m->s, id), held);
        for (uint64_t seq = 1; seq <= SIM_RECS; seq++)
            if (m->rec[seq].leased & (1u << a))
                sim_end_lease(m, seq, a);
    } else if (op < 66) {
        jury_sched_redeliver(m->s, id);
        for (uint64_t seq = 1; seq <= SIM_RECS; seq++)
            if (m->rec[seq].leased & (1u << a))
                m->rec[seq].undelivered |= (uint8_t)(1u << a);
    } else if (op < 80) {
        sim_expire(m);
    } else {
        uint64_t seq =
            sim_below(m, 10) == 0 ? sim_below(m, SIM_RECS + 2) : sim_pick_lease(m, a, false);
        const sim_rec_t *r = &m->rec[seq];
        jury_err want = seq == 0 || seq > SIM_RECS                          ? JURY_ENOTFOUND
                        : (r->leased & (1u << a)) && r->expires[a] > m->now ? JURY_OK
                                                                            : JURY_ENOTLEASED;
        assert_int_equal(jury_sched_check(m->s, id, seq, m->now), want);
    }
    sim_check_all(m);
}

/* Ends every lease, then lets everyone fetch and submit until nothing is offered. */
static void sim_drain(sim_t *m)
{
    m->now += 10 * SIM_LEASE;
    sim_expire(m);
    assert_int_equal(m->leases, 0);
    for (bool progress = true; progress;) {
        progress = false;
        for (int a = 0; a < SIM_ANNS; a++) {
            size_t got = sim_fetch(m, a, SIM_MAXN);
            for (uint64_t seq = 1; seq <= SIM_RECS; seq++)
                if (m->rec[seq].leased & (1u << a))
                    sim_submit(m, a, seq);
            progress |= got > 0;
            m->now += 50;
        }
        sim_check_all(m);
    }
    assert_int_equal(jury_sched_leases(m->s), 0);
    for (uint64_t seq = 1; seq <= SIM_RECS; seq++) {
        const sim_rec_t *r = &m->rec[seq];
        if (r->preset)
            continue;
        bool aside = m->opts.max_discards && r->discards >= m->opts.max_discards;
        if (r->done && !aside)
            assert_int_equal(r->submitted, r->target);
        else if (r->done)
            assert_true(r->submitted < r->target);
        else if (r->answered != (1u << SIM_ANNS) - 1)
            /* Open only when every annotator has answered it and none is left. */
            fail_msg("record %llu is open with %u of %u submitted, yet not everyone answered",
                     (unsigned long long)seq, r->submitted, r->target);
    }
}

static void run_simulation(bool random_order, uint32_t max_discards, uint64_t seed)
{
    sim_t *m = sim_new(random_order, max_discards, seed);
    for (int step = 0; step < SIM_STEPS; step++)
        sim_step(m);
    size_t open_before_drain = m->open;
    sim_drain(m);
    /* The random phase must have left work for the drain, and done real work. */
    assert_true(open_before_drain > 0);
    assert_true(m->stats[0] > 1000);
    assert_true(m->stats[1] > 300);
    assert_true(m->stats[3] > 1000);
    if (max_discards)
        assert_int_equal(m->open, 0);
    sim_destroy(&m);
}

static void test_simulation_complete_first(void **state)
{
    (void)state;
    run_simulation(false, 3, 1);
}

static void test_simulation_random_order(void **state)
{
    (void)state;
    run_simulation(true, 2, 2);
}

static void test_simulation_never_set_aside(void **state)
{
    (void)state;
    run_simulation(false, 0, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_destroy),
        cmocka_unit_test(test_add_rejects_bad_seq_and_target),
        cmocka_unit_test(test_add_done_and_responded_records),
        cmocka_unit_test(test_add_responded_never_offered),
        cmocka_unit_test(test_complete_first_order),
        cmocka_unit_test(test_started_queue_in_order_of_first_submission),
        cmocka_unit_test(test_started_record_with_free_slot_comes_first),
        cmocka_unit_test(test_fetch_continues_without_repeating),
        cmocka_unit_test(test_never_more_than_target),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_submitted_finishes_exactly_at_target),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_quota_per_annotator),
        cmocka_unit_test(test_gold_mixing),
        cmocka_unit_test(test_discard_frees_slot_and_excludes_discarder),
        cmocka_unit_test(test_discards_set_record_aside),
        cmocka_unit_test(test_discards_counted_from_add),
        cmocka_unit_test(test_max_discards_zero_never_sets_aside),
        cmocka_unit_test(test_repeated_response_counts_once),
        cmocka_unit_test(test_annotator_ids_with_top_bit),
        cmocka_unit_test(test_draft_extends_lease),
        cmocka_unit_test(test_draft_cannot_revive_expired_lease),
        cmocka_unit_test(test_expire),
        cmocka_unit_test(test_expired_started_record_returns_to_head),
        cmocka_unit_test(test_release_annotator),
        cmocka_unit_test(test_redeliver),
        cmocka_unit_test(test_random_order),
        cmocka_unit_test(test_random_order_drain),
        cmocka_unit_test(test_simulation_complete_first),
        cmocka_unit_test(test_simulation_random_order),
        cmocka_unit_test(test_simulation_never_set_aside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
