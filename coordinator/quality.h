/* quality.h: the annotator quality table: each annotator's responses, discard rate, agreement with
 * others on categorical questions and median time per record. Pure: no I/O, plain arrays. */
#ifndef JURY_QUALITY_H
#define JURY_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agreement.h"
#include "jury_err.h"

/*
 * A quality table takes one row per response -- record, annotator, status,
 * time and, for each tracked question (the caller's choice: jury tracks its
 * label_selection and rating questions), the answer's category -- and gives
 * one row per annotator (README, "Annotator quality"):
 *
 *   submitted, discarded, draft   the annotator's responses by status
 *   discard_rate                  discarded / (submitted + discarded)
 *   agreement[q]                  over the annotator's submitted answers to question q, the share
 *                                 of pairs (their answer, another annotator's submitted answer to
 *                                 q on the same record) that are equal, pooled over their records
 *   agreement_mean                the mean of the defined agreement[q]
 *   median_seconds                the median gap between the annotator's consecutive submitted
 *                                 or discarded responses (by time), gaps over
 *                                 JURY_QUALITY_BREAK_MS left out as breaks
 *
 * Responses of one record must come together, records in ascending id order
 * (as the store walks them): the table keeps one record's responses at a
 * time, plus per annotator their counters and their response times. Memory is
 * O(annotators x questions + one record's responses + timed responses).
 *
 * A value the data cannot define is a jury_measure_t with ok false and a
 * note (agreement.h): no submitted or discarded response
 * (JURY_QUALITY_NOTE_NO_FINAL), no answer shared with another annotator
 * (JURY_NOTE_NO_SHARED, also for agreement_mean when no question has a
 * value), fewer than 2 timed responses (JURY_NOTE_FEW_RESPONSES), only
 * breaks between them (JURY_QUALITY_NOTE_BREAKS).
 */
typedef struct jury_quality jury_quality_t;

/* Gaps between two responses longer than this (30 minutes, in ms) are breaks, not work. */
#define JURY_QUALITY_BREAK_MS ((int64_t)30 * 60 * 1000)

/* The time of a response whose time is unknown (a responses file): it takes no part in the
 * median. */
#define JURY_QUALITY_NO_TIME INT64_MIN

/* A tracked question the response leaves unanswered (or a response that is not submitted). */
#define JURY_QUALITY_NO_ANSWER (-1)

/* Why a quality measure is absent, beside agreement.h's JURY_NOTE_NO_SHARED and
 * JURY_NOTE_FEW_RESPONSES. */
#define JURY_QUALITY_NOTE_NO_FINAL "no submitted or discarded responses"
#define JURY_QUALITY_NOTE_BREAKS   "every gap between responses is a break (over 30 minutes)"

/* A response's status (the store's jury_response_status, same values). */
typedef enum {
    JURY_QUALITY_SUBMITTED = 0, /* a final answer: its categories count */
    JURY_QUALITY_DISCARDED = 1, /* skipped: counts toward the discard rate and the time */
    JURY_QUALITY_DRAFT = 2      /* saved, not final: only counted */
} jury_quality_status;

/* One response fed to the table. */
typedef struct {
    uint64_t record;            /* record id; a record's responses together, ids ascending */
    uint32_t annotator;         /* the caller's annotator id (any value) */
    jury_quality_status status; /* its status */
    int64_t time_ms;            /* its last change, ms since the epoch, or JURY_QUALITY_NO_TIME */
    const int32_t *categories;  /* per tracked question its category (>= 0), or
                                   JURY_QUALITY_NO_ANSWER; NULL when none is answered. Borrowed
                                   for the call; read only for submitted responses */
} jury_quality_response_t;

/* One annotator's row. */
typedef struct {
    uint32_t annotator;              /* the caller's annotator id */
    uint64_t submitted;              /* submitted responses */
    uint64_t discarded;              /* discarded responses */
    uint64_t draft;                  /* draft responses */
    jury_measure_t discard_rate;     /* discarded / (submitted + discarded) */
    const jury_measure_t *agreement; /* per tracked question (nquestions entries; NULL when 0) */
    jury_measure_t agreement_mean;   /* mean of the defined agreement[q] */
    jury_measure_t median_seconds;   /* median gap between consecutive responses, in seconds */
    uint64_t timed;                  /* submitted and discarded responses with a time */
} jury_quality_row_t;

/*
 * Starts an empty table over nquestions tracked questions (0 is fine: no
 * agreement). Returns JURY_OK and a new table in *out, which the caller owns
 * and destroys with jury_quality_destroy. Errors: JURY_EINVAL (out is NULL or
 * nquestions is over 65536), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_quality_new(jury_quality_t **out, size_t nquestions);

/* Destroys *self_p and sets it to NULL. Accepts NULL and *self_p == NULL; safe twice. */
void jury_quality_destroy(jury_quality_t **self_p);

/*
 * Adds one response; r and its categories are borrowed for the call. Errors
 * (the table is then unchanged): JURY_EINVAL when r->record is below the
 * previous response's record, r->status is out of range, or the table was
 * already read with jury_quality_rows; JURY_EEXIST when the annotator already
 * has a response to this record; JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_quality_add(jury_quality_t *q, const jury_quality_response_t *r);

/*
 * Ends the input and computes the rows: one per annotator with at least one
 * response, in ascending annotator id order, into *rows (n of them in *n).
 * The rows and their agreement arrays are borrowed from q until it is
 * destroyed; calling again returns the same rows. After this, jury_quality_add
 * fails with JURY_EINVAL. Errors: JURY_EINVAL (a NULL argument), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_quality_rows(jury_quality_t *q, const jury_quality_row_t **rows,
                                           size_t *n);

#endif
