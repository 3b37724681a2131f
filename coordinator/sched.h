/* sched.h: overlapping assignment of one dataset's records to annotators, with leases. Pure logic:
 * no I/O, no clock of its own. */
#ifndef JURY_SCHED_H
#define JURY_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"

/*
 * The scheduler holds, for each record of a dataset, how many submitted
 * responses it needs (its target), how many it has, who answered it and who
 * holds a lease on it. Its one invariant: a record never has more submitted
 * responses plus active leases than its target, and never two from the same
 * annotator. Records are named by their sequence number within the dataset
 * (1, 2, 3, ...: the low bits of the store's record id). Times are
 * milliseconds on any clock the caller keeps monotonic.
 */
typedef struct jury_sched jury_sched_t;

/* How a dataset distributes its records (the settings' `distribution`). */
typedef struct {
    uint32_t max_discards;      /* discards that set a record aside; 0 never does */
    bool random_order;          /* per-annotator pseudo-random order instead of complete_first */
    uint64_t seed;              /* salt of the random order */
    int64_t lease_ms;           /* lease length */
    uint32_t max_per_annotator; /* most records one annotator answers or holds; 0: no limit */
    double gold_rate;           /* share of each annotator's records that are gold (0..0.5) */
    uint32_t onboarding;        /* each annotator's first records handed out are gold */
} jury_sched_opts_t;

/* Creates an empty scheduler. Returns NULL when out of memory. The caller destroys it. */
jury_sched_t *jury_sched_new(const jury_sched_opts_t *opts);

/* Destroys *self_p and sets it to NULL. Accepts NULL; safe twice. */
void jury_sched_destroy(jury_sched_t **self_p);

/*
 * Adds record seq, which must be jury_sched_last_seq() + 1, with its target,
 * the counts already stored, whether it is finished (completed or set
 * aside), and the annotators who already submitted or discarded it (they
 * are never offered it again). responded is borrowed for the call.
 * Errors: JURY_EINVAL (seq out of order, target 0), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_sched_add(jury_sched_t *s, uint64_t seq, uint32_t target,
                                        uint32_t submitted, uint32_t discards, bool done,
                                        const uint32_t *responded, size_t nresponded);

/* The highest sequence added so far (0 when none). */
uint64_t jury_sched_last_seq(const jury_sched_t *s);

/*
 * Leases up to n records to annotator at time now and writes their sequence
 * numbers and lease deadlines to seqs and expires (room for n each). Leases
 * the annotator already holds but has not been handed since
 * jury_sched_redeliver come first, then new records: in complete_first
 * order, records that already have a submitted response before untouched
 * ones; in random order, a permutation seeded by the annotator. Returns the
 * number written (0 when nothing is available for this annotator now).
 * Errors are impossible except memory: returns 0 then too.
 */
size_t jury_sched_fetch(jury_sched_t *s, uint32_t annotator, size_t n, int64_t now, uint64_t *seqs,
                        int64_t *expires);

/*
 * Whether annotator holds a live lease on seq at time now: JURY_OK,
 * JURY_ENOTLEASED (no lease, or it expired), JURY_ENOTFOUND (no such record).
 */
JURY_MUST_CHECK jury_err jury_sched_check(const jury_sched_t *s, uint32_t annotator, uint64_t seq,
                                          int64_t now);

/*
 * Leases record seq to annotator at once, as a fetch would have, when it could be offered to it
 * now: not finished, with a free slot, neither answered nor leased by the annotator. For a
 * response the worker sends again after the coordinator lost its lease (a restart; SPEC 9.3,
 * `reclaim`). Stores the deadline in *expires. Errors: JURY_ENOTFOUND (no such record),
 * JURY_ENOTLEASED (it cannot be offered to annotator now), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_sched_claim(jury_sched_t *s, uint32_t annotator, uint64_t seq,
                                          int64_t now, int64_t *expires);

/*
 * Opens record seq again with a larger target (dynamic overlap raised it after it finished):
 * submitted is its count of submitted responses and responded the nresponded annotators who
 * answered it (borrowed; they are never offered it again). It goes to the head of its queue: it
 * is older work. A record still open just takes the new target. Errors: JURY_EINVAL (seq out of
 * range, target not above submitted), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_sched_reopen(jury_sched_t *s, uint64_t seq, uint32_t target,
                                           uint32_t submitted, const uint32_t *responded,
                                           size_t nresponded);

/*
 * Records a committed response of annotator to seq and ends its lease (if
 * any): submitted counts toward the target and finishes the record at the
 * target; discarded frees the slot, excludes the annotator, and sets the
 * record aside at max_discards. Returns true when the record just finished.
 */
bool jury_sched_submitted(jury_sched_t *s, uint32_t annotator, uint64_t seq);
bool jury_sched_discarded(jury_sched_t *s, uint32_t annotator, uint64_t seq);

/* A draft: extends annotator's lease on seq to now + lease and returns the new deadline (0 if no
 * lease). */
int64_t jury_sched_draft(jury_sched_t *s, uint32_t annotator, uint64_t seq, int64_t now);

/* Ends annotator's lease on seq without a response. Returns true if there was one. */
bool jury_sched_release(jury_sched_t *s, uint32_t annotator, uint64_t seq);

/* Ends every lease annotator holds (its worker died or left). Returns how many. */
size_t jury_sched_release_annotator(jury_sched_t *s, uint32_t annotator);

/* Marks annotator's leases as not yet handed to its (new) session, so its next fetch returns them.
 */
void jury_sched_redeliver(jury_sched_t *s, uint32_t annotator);

/*
 * Ends every lease whose deadline is at or before now, calling expired (may
 * be NULL) for each with the annotator and sequence. Returns how many.
 */
size_t jury_sched_expire(jury_sched_t *s, int64_t now,
                         void (*expired)(uint32_t annotator, uint64_t seq, void *arg), void *arg);

/*
 * Sets how many records annotator has answered (submitted or discarded) in the dataset so far, as
 * the store counts them, for the max_per_annotator quota; the scheduler counts on from there with
 * each first answer. Call after loading the records. Errors: JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_sched_set_answered(jury_sched_t *s, uint32_t annotator,
                                                 uint64_t answered);

/* Records annotator answered in the dataset (as set and counted since). */
uint64_t jury_sched_answered(const jury_sched_t *s, uint32_t annotator);

/*
 * Adds gold record seq (the next sequence, as jury_sched_add): known answers, offered to every
 * annotator once, never completed and never set aside, mixed into fetches at opts.gold_rate (every
 * one of an annotator's first opts.onboarding records is gold while gold records remain for it).
 * responded (borrowed) are the annotators who answered it already. Errors: JURY_EINVAL (seq out of
 * order), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_sched_add_gold(jury_sched_t *s, uint64_t seq,
                                             const uint32_t *responded, size_t nresponded);

/* Whether record seq is a gold record. */
bool jury_sched_is_gold(const jury_sched_t *s, uint64_t seq);

/* Active leases. */
size_t jury_sched_leases(const jury_sched_t *s);

/* Leases held by one annotator. */
size_t jury_sched_annotator_leases(const jury_sched_t *s, uint32_t annotator);

/* Records not finished (neither completed nor set aside). */
size_t jury_sched_open(const jury_sched_t *s);

#endif
