/* consolidation.h: `jury consolidate`: unify the responses of every completed record of a dataset
 * with the methods of its settings, decide accept or reject by its acceptance rules, and store the
 * decisions. */
#ifndef JURY_CONSOLIDATION_H
#define JURY_CONSOLIDATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jury_err.h"
#include "jury_store.h"
#include "settings.h"

/* A method chosen for one run, over the settings (`--method QUESTION=METHOD`). */
typedef struct {
    const char *question; /* question name, borrowed */
    jury_method method;   /* the method; must apply to the question's type */
} jury_method_override_t;

/* Progress callback: done of total records so far in the walk (pass 1, total = the dataset's
 * records) or the revisit (pass 2, total = the records revisited). */
typedef void (*jury_consolidation_progress_fn)(int pass, uint64_t done, uint64_t total, void *arg);

/* Options of a run. Zero-initialise, then set what you need. */
typedef struct {
    const jury_method_override_t *overrides; /* borrowed; may be NULL */
    size_t noverrides;                       /* entries at overrides */
    jury_consolidation_progress_fn progress; /* may be NULL */
    void *progress_arg;                      /* passed to progress */
    uint32_t batch;                          /* records per write transaction; 0 = 65536 */
} jury_consolidation_opts_t;

/*
 * Consolidates dataset `name` of store (opened read-write) from one read
 * snapshot:
 *
 *  1. one walk over its records in id order: pending records get a pending
 *     decision, records set aside by discards a rejected one ("set aside:
 *     discarded by annotators before it was completed"); each completed
 *     record feeds every annotator's reliability per question (their share
 *     of equal pairs on label and rating questions, their mean agreement
 *     with the others on text, ranking and span questions) and is unified
 *     and decided at once (decision.h, jury_store_decision_put) unless its
 *     outcome needs what only the whole dataset gives: a tie that the
 *     suggestion does not break (reliability breaks it), or a global method
 *     (weighted, dawid_skene, best_annotator);
 *  2. the dataset-wide fits (Dawid-Skene, whose accuracies then are the
 *     reliability; Wawa weights), both fed each annotator's gold answers to the
 *     question (jury_store_gold_each; consolidate.h says how);
 *  3. the records set aside in 1 are revisited and decided.
 *
 * Unifying a record: each question with its method, the record's agreement
 * per question, then the acceptance rules in order. A completed record whose
 * submitted responses leave a question a rule needs without a value is
 * rejected ("no submitted answer to \"q\""). Suggestions are read only when
 * a tie needs them.
 *
 * Reviews (protocol/SPEC.md 9.7): every decision is written in a batch
 * transaction that first looks up the record's review (jury_store_review_get,
 * in that transaction, so a review stored while the run reads its snapshot is
 * kept). A record with a review gets the decision the review makes
 * (review.h, jury_review_decision: the reviewer's values or "rejected by
 * reviewer NAME[: NOTE]", with "rb", "rt", "rn") carrying the agreement map
 * consolidation computed, instead of consolidation's own; it counts as the
 * reviewer decided it. Reviews are not responses: reliabilities, agreements
 * and the dataset-wide fits come from the submitted responses alone. The same
 * write keeps the review queue's JURY_REVIEW_REJECTED flag of every decided
 * record: set when consolidation rejected it (a completed record failing a
 * rule, or one set aside) and it has no review, cleared otherwise
 * (JURY_REVIEW_CONTESTED is the coordinator's and kept as it is; a reviewed
 * record's flags end up 0); the queue is read first and written only when its
 * flags change. Gold records are neither decided nor queued.
 *
 * Finally it stores a dataset-level summary with jury_store_consolidation_put:
 * the JSON document that *summary_out receives (caller owns; cJSON_Delete):
 *   {"dataset", "records", "accepted", "rejected", "pending",
 *    "reviewed" (records decided by reviewers, counted in accepted and rejected),
 *    "methods": {question: method}, "rules": [text of each rule],
 *    "rejections": [{"reason", "records"}] (most frequent first, then by reason; records a
 *    reviewer rejected are grouped as "rejected by reviewer NAME", without their notes),
 *    "annotators": {name: {question: reliability}},
 *    "gold_accuracy": {name: {question: accuracy or null}} (only when a label question uses
 *    weighted or dawid_skene: the gold accuracy they used, null under JURY_CONSOLIDATE_GOLD_MIN
 *    gold answers), "consolidated_ms"}.
 * Re-running recomputes everything but the reviewers' decisions, which it keeps. Writes go in
 * transactions of opts->batch records; a reader may see a mix of old and new decisions while it
 * runs.
 *
 * Errors: JURY_ENOTFOUND (no such dataset; err says so), JURY_EINVAL (an
 * override names no question or a method that does not apply; err says which),
 * JURY_ECORRUPT, JURY_EFULL, JURY_ENOMEM, JURY_EIO. err gets a one-line message
 * (errlen bytes, NUL-terminated).
 */
JURY_MUST_CHECK jury_err jury_consolidation_run(jury_store_t *store, const char *name,
                                                const jury_consolidation_opts_t *opts,
                                                cJSON **summary_out, char *err, size_t errlen);

#endif
