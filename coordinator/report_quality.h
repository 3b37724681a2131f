/* report_quality.h: the annotator quality table of a dataset (quality.h) fed from a store snapshot
 * or a responses file, as JSON rows and a text table; `jury status` and `jury agreement` show it.
 */
#ifndef JURY_REPORT_QUALITY_H
#define JURY_REPORT_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jury_err.h"
#include "jury_store.h"
#include "settings.h"

/*
 * A quality report tracks the label_selection and rating questions of a
 * dataset's settings and collects responses in one of two ways, never both:
 * from a store (jury_report_quality_walk, or jury_report_quality_add_stored
 * from a walk of the caller's, records in id order), which keeps one record's
 * responses at a time; or from the lines of a responses file
 * (jury_report_quality_add_line, any order), which are kept until the build.
 *
 * jury_report_quality_build returns the rows as a JSON array, one object per
 * annotator with a response, sorted by name (README, "Annotator quality"):
 *
 *   {"annotator": "ana", "submitted": 120, "discarded": 3, "draft": 0,
 *    "discard_rate": 0.02439, "agreement": {"quality": 0.61, "topic": null},
 *    "agreement_mean": 0.61, "median_seconds": 14.5, "gold": null, "state": "active"}
 *
 * with null for what the data cannot define and numbers rounded to 6
 * decimals. "state" is "active", "paused" (on this dataset) or "disabled"
 * from the store, "-" for a responses file; "median_seconds" is null for a
 * file (its lines carry no time). "gold" is the annotator's accuracy on gold
 * records, null until the store has gold records.
 */
typedef struct jury_report_quality jury_report_quality_t;

/*
 * Starts a quality report on the questions of settings s (borrowed; must
 * outlive the report). Returns JURY_OK and a new report in *out, which the
 * caller owns and destroys with jury_report_quality_destroy. Errors:
 * JURY_EINVAL (a NULL argument), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_report_quality_new(jury_report_quality_t **out,
                                                 const jury_settings_t *s);

/* Destroys *self_p and sets it to NULL. Accepts NULL and *self_p == NULL; safe twice. */
void jury_report_quality_destroy(jury_report_quality_t **self_p);

/*
 * Adds response r to record rid as read from the store (r and its values are
 * borrowed for the call). Responses of one record must come together, records
 * in ascending id order, as jury_store_record_each and jury_store_response_each
 * give them. Errors: JURY_ECORRUPT (the values are not a msgpack map),
 * JURY_EINVAL (out of order, or after jury_report_quality_add_line),
 * JURY_EEXIST (a second response of the annotator to rid), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_report_quality_add_stored(jury_report_quality_t *rq, uint64_t rid,
                                                        const jury_response_t *r);

/*
 * Adds every response of dataset ds in snapshot txn, except those to gold
 * records (as `jury agreement` leaves them out): one walk over its records.
 * Errors: the store's, and those of jury_report_quality_add_stored.
 */
JURY_MUST_CHECK jury_err jury_report_quality_walk(jury_report_quality_t *rq, jury_txn_t *txn,
                                                  uint32_t ds);

/*
 * Adds one line of a responses file (len bytes at line) that
 * jury_report_add_line accepted: {"record", "annotator", "status", "values"}.
 * The line is copied as far as the table needs it (record, annotator, status
 * and the categories). Errors: JURY_EINVAL (a line jury_report_add_line
 * would refuse, or after jury_report_quality_add_stored), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_report_quality_add_line(jury_report_quality_t *rq, const char *line,
                                                      size_t len);

/*
 * Computes the rows and returns them in *out, a new JSON array the caller
 * frees with cJSON_Delete. For responses from a store, txn (the snapshot they
 * were read from) and ds give the annotators' names and states; for a file,
 * pass NULL and 0. Ends the input: later adds fail with JURY_EINVAL. Errors:
 * JURY_EINVAL (txn NULL after store responses), JURY_ECORRUPT (an annotator
 * id the store does not know), the store's, JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_report_quality_build(jury_report_quality_t *rq, jury_txn_t *txn,
                                                   uint32_t ds, cJSON **out);

/*
 * Renders rows from jury_report_quality_build as a text table headed
 * "annotator quality", indented by two spaces: annotator, submitted,
 * discarded, discard%, agreement (agreement_mean), median s, gold, state;
 * "-" for null. Returns a new NUL-terminated string that the caller frees
 * (empty when there are no rows), or NULL when out of memory. rows is
 * borrowed.
 */
char *jury_report_quality_text(const cJSON *rows);

#endif
