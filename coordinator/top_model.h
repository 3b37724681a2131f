/* top_model.h: the pure part of `jury top`: rates, ETAs and discard shares from successive
 * snapshots of a store's counters, and the dashboard laid out as lines of text. No I/O. */
#ifndef JURY_TOP_MODEL_H
#define JURY_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agreement.h"
#include "jury_err.h"

/*
 * `jury top` reads the store every second and hands each reading to a model
 * as one snapshot: jury_top_begin, then per dataset jury_top_add_dataset
 * followed by that dataset's jury_top_add_alpha and jury_top_add_annotator
 * calls, then jury_top_end. The model keeps, per dataset and per annotator
 * within a dataset (matched by the store's ids, so that a dataset deleted and
 * created again under its name starts afresh), the counts of the snapshots
 * of the last window_ms, and computes:
 *
 *   dataset rate       submitted responses per second from the newest
 *                      snapshot taken at or before now - window_ms (else the
 *                      oldest one kept; at most 128 are) to the newest;
 *                      unknown with a single snapshot. A count that goes down
 *                      (a response changed) restarts the history.
 *   ETA                seconds until every pending record has its submitted
 *                      responses: needed / rate; 0 (done) when every record
 *                      is finished; unknown when the dataset has no records,
 *                      needed is unknown, or the rate is unknown or 0.
 *   progress           finished records (completed + set aside) / records.
 *   annotator rate     submitted and discarded responses per minute, over the
 *                      window like the dataset rate.
 *   discard share      discarded / (submitted + discarded), over all of the
 *                      annotator's responses; unknown when both are 0.
 *
 * Times are the caller's (a monotonic clock, in ms): tests give exact ones.
 *
 * jury_top_render lays the newest snapshot out as lines of text for a
 * terminal of a given width and height (README, "jury top"). Columns are
 * counted as code points; names have control characters and malformed UTF-8
 * replaced by '?' (they come from the store: an annotator's name must not
 * drive the terminal).
 */
typedef struct jury_top jury_top_t;

/* The window rates are smoothed over when jury_top_new is given 0, in ms. */
#define JURY_TOP_WINDOW_MS 10000

/* What a snapshot knows besides the datasets. */
typedef struct {
    int64_t now_ms;   /* when it was taken: a monotonic clock, in ms, not before the last one */
    long pid;         /* the process id of the coordinator serving the store, 0 when none runs */
    int64_t sessions; /* the coordinator's sessions (ignored when pid is 0) */
} jury_top_snapshot_t;

/* One dataset's counters in a snapshot (the store's jury_counts_t, plus what the caller adds). */
typedef struct {
    uint32_t id;        /* the store's dataset id: the key of its history */
    const char *name;   /* its name (copied) */
    uint64_t records;   /* records, gold records left out */
    uint64_t completed; /* completed records */
    uint64_t set_aside; /* records set aside (discarded max_discards times) */
    uint64_t contested; /* completed records marked contested */
    uint64_t submitted; /* submitted responses */
    uint64_t discarded; /* discarded responses */
    uint64_t draft;     /* draft responses */
    int64_t needed;     /* submitted responses the pending records still need, -1 when unknown */
    int64_t leases;     /* active leases (the coordinator's), -1 when no coordinator serves it */
    int64_t connected;  /* sessions on the dataset, -1 when no coordinator serves it */
} jury_top_dataset_t;

/* One annotator's counters within a dataset in a snapshot. */
typedef struct {
    uint32_t id;              /* the store's annotator id: the key of its history */
    const char *name;         /* its name (copied) */
    uint64_t submitted;       /* submitted responses in the dataset */
    uint64_t discarded;       /* discarded responses */
    uint64_t draft;           /* draft responses */
    jury_measure_t agreement; /* agreement with others (quality.h's agreement_mean); ok false:
                                 unknown, shown as "-" */
} jury_top_annotator_t;

/* A dataset's figures in the newest snapshot. */
typedef struct {
    jury_measure_t rate;  /* submitted responses per second */
    jury_measure_t eta_s; /* seconds to go (0: done) */
    double progress;      /* finished records / records, 0..1 (0 without records) */
    size_t nannotators;   /* annotators added to it */
} jury_top_dataset_figures_t;

/* An annotator's figures in the newest snapshot. */
typedef struct {
    const char *name;             /* its name as shown (sanitised; borrowed from the model) */
    jury_measure_t per_min;       /* submitted and discarded responses per minute */
    jury_measure_t discard_share; /* discarded / (submitted + discarded), 0..1 */
    jury_measure_t agreement;     /* as added */
    uint64_t submitted;           /* as added */
} jury_top_annotator_figures_t;

/* Why a figure is unknown. */
#define JURY_TOP_NOTE_ONE_SNAPSHOT "one snapshot: a rate needs two"
#define JURY_TOP_NOTE_NO_RATE      "no submitted responses in the window"
#define JURY_TOP_NOTE_NO_NEEDED    "the responses still needed are unknown"
#define JURY_TOP_NOTE_NO_ANSWERS   "no submitted or discarded responses"
#define JURY_TOP_NOTE_NO_RECORDS   "the dataset has no records"

/*
 * Starts a model that smooths rates over window_ms (0: JURY_TOP_WINDOW_MS).
 * Returns JURY_OK and a new model in *out, which the caller owns and destroys
 * with jury_top_destroy. Errors: JURY_EINVAL (out NULL, window_ms negative),
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_top_new(jury_top_t **out, int64_t window_ms);

/* Destroys *self_p and sets it to NULL. Accepts NULL and *self_p == NULL; safe twice. */
void jury_top_destroy(jury_top_t **self_p);

/*
 * Starts a snapshot (s is copied). A snapshot begun and not ended is
 * dropped by the next begin. Errors: JURY_EINVAL (a NULL argument, or
 * s->now_ms before the last ended snapshot's).
 */
JURY_MUST_CHECK jury_err jury_top_begin(jury_top_t *t, const jury_top_snapshot_t *s);

/*
 * Adds dataset d (copied) to the snapshot begun; the alphas and annotators
 * added next belong to it. Datasets are shown in the order added. Errors:
 * JURY_EINVAL (no snapshot begun, a NULL argument or name, an id added twice),
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_top_add_dataset(jury_top_t *t, const jury_top_dataset_t *d);

/*
 * Adds the live agreement of question (copied) to the last dataset added:
 * alpha, or why there is none, over records records. Shown in the order
 * added. Errors: JURY_EINVAL (no dataset added, question NULL), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_top_add_alpha(jury_top_t *t, const char *question,
                                            jury_measure_t alpha, uint64_t records);

/*
 * Adds annotator a (copied) to the last dataset added, in any order.
 * Errors: JURY_EINVAL (no dataset added, a NULL argument or name, the id of
 * the annotator added just before; other repeats are found by jury_top_end),
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_top_add_annotator(jury_top_t *t, const jury_top_annotator_t *a);

/*
 * Ends the snapshot begun: it becomes the newest, its figures are computed
 * against the window's snapshots, and the history of datasets and annotators
 * it no longer holds is dropped. Errors (the model then keeps the previous
 * snapshot as the newest): JURY_EINVAL (no snapshot begun, or an annotator
 * id added twice to one dataset), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_top_end(jury_top_t *t);

/* Datasets in the newest snapshot (0 before the first jury_top_end). */
size_t jury_top_dataset_count(const jury_top_t *t);

/* The figures of dataset i of the newest snapshot (in the order added). Errors: JURY_EINVAL (i out
 * of range, a NULL argument). */
JURY_MUST_CHECK jury_err jury_top_dataset_figures(const jury_top_t *t, size_t i,
                                                  jury_top_dataset_figures_t *out);

/*
 * The figures of annotator j of dataset i of the newest snapshot, annotators
 * in the order shown: by rate (per_min, unknown as 0) descending, then by
 * name. out->name is borrowed until the next jury_top_end or destroy.
 * Errors: JURY_EINVAL (i or j out of range, a NULL argument).
 */
JURY_MUST_CHECK jury_err jury_top_annotator_figures(const jury_top_t *t, size_t i, size_t j,
                                                    jury_top_annotator_figures_t *out);

/*
 * Writes a duration of seconds (>= 0) the way the dashboard shows an ETA
 * into buf (cap bytes, NUL-terminated, cut to fit): "45s", "3m12s",
 * "2h05m", "3d04h"; rounded up to the unit shown last, so that an ETA never
 * reads shorter than it is.
 */
void jury_top_duration(char *buf, size_t cap, double seconds);

/* How a rendered line is drawn. */
typedef enum {
    JURY_TOP_BODY = 0,  /* plain */
    JURY_TOP_TITLE = 1, /* the header and each dataset's line: bold */
    JURY_TOP_HEAD = 2   /* a table's heading: dim or underlined */
} jury_top_style;

/* One rendered line. */
typedef struct {
    char *text;           /* UTF-8, no control characters; owned by the list */
    jury_top_style style; /* how to draw it */
} jury_top_line_t;

/* Rendered lines. Zero-initialise; free with jury_top_lines_free. */
typedef struct {
    jury_top_line_t *v; /* the lines */
    size_t n;           /* how many */
    size_t cap;         /* allocated */
} jury_top_lines_t;

/* Frees every line and the array; the list is empty and reusable afterwards. Accepts NULL. */
void jury_top_lines_free(jury_top_lines_t *lines);

/*
 * Lays out the newest snapshot into out (emptied first): a header line, then
 * per dataset a blank line, its progress line, its records, responses, live
 * and agreement lines and its annotator table (README, "jury top"). Every
 * line is cut to width columns (width <= 0: not cut, laid out as for 80
 * columns). With height > 0 at most height lines come out; when more were
 * laid out, the last one says how many more there are. Before the first
 * snapshot the header says it is waiting. Errors: JURY_EINVAL (a NULL
 * argument), JURY_ENOMEM (out is then empty).
 */
JURY_MUST_CHECK jury_err jury_top_render(const jury_top_t *t, int width, int height,
                                         jury_top_lines_t *out);

#endif
