/* export.h: `jury export`: the accepted records of a dataset written as JSON Lines for training
 * (SFT, DPO, reward modelling, Chain of Hindsight) or as records and responses. */
#ifndef JURY_EXPORT_H
#define JURY_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jury_err.h"
#include "jury_store.h"

/* What an export writes, one JSON object per line (README, "Export"). */
typedef enum {
    JURY_EXPORT_SFT = 0,          /* {"prompt", "completion"} */
    JURY_EXPORT_SFT_MESSAGES = 1, /* {"messages": [{"role", "content"}, ...]} */
    JURY_EXPORT_DPO = 2,          /* {"prompt", "chosen", "rejected"} */
    JURY_EXPORT_RM = 3,           /* {"chosen", "rejected"}, the prompt inside both */
    JURY_EXPORT_COH = 4,          /* {"text"}: Chain of Hindsight */
    JURY_EXPORT_RECORDS = 5,      /* Argilla-shaped records + status, unified, decision, reason,
                                     reviewed_by, reviewed_ms, review_note (null unless reviewed) */
    JURY_EXPORT_RESPONSES = 6,    /* one response per line: record, annotator, status, values */
    JURY_EXPORT_NFORMATS = 7      /* number of formats */
} jury_export_format;

/* "sft", "sft-messages", "dpo", "rm", "coh", "records", "responses"; NULL when out of range. */
const char *jury_export_format_name(jury_export_format f);

/* Parses a format name into *out; false when unknown. */
bool jury_export_format_parse(const char *name, jury_export_format *out);

/* Where the preference pairs of dpo, rm and coh come from. */
typedef enum {
    JURY_PAIRS_AUTO = 0,    /* the ranking question if there is one, else edits */
    JURY_PAIRS_RANKING = 1, /* a ranking question whose values name the fields holding candidates */
    JURY_PAIRS_EDITS = 2    /* chosen = the unified text answer, rejected = its suggestion */
} jury_pairs_source;

/* One named share of a split ("train" = 0.9). */
typedef struct {
    const char *name; /* borrowed; [A-Za-z0-9_-], 1..64 bytes */
    double share;     /* > 0; the shares of a split sum to 1 (within 1e-9) */
} jury_split_part_t;

/* Most parts of a split. */
#define JURY_EXPORT_SPLIT_MAX 8

/* Options of an export. Zero-initialise, then set what you need. Strings are borrowed. */
typedef struct {
    jury_export_format format; /* what to write */
    const char *prompt;        /* template: "{instruction}\n\n{context}" names fields in braces
                                  ("{{" and "}}" are literal braces); NULL for the first required
                                  text or chat field (not a candidate field of the ranking) */
    const char *completion;    /* sft, sft-messages, edits: the text question; NULL for the first */
    const char *system;        /* sft-messages: a system message first; NULL for none */
    const char *ranking;       /* dpo, rm, coh: the ranking question; NULL for the first */
    jury_pairs_source source;  /* dpo, rm, coh */
    bool pairs_all;            /* ranking: every (better, worse) pair instead of best vs worst */
    double min_edit;           /* edits: the least normalised edit distance between the answer
                                  and the suggestion that makes a pair; < 0 for the default 0.1 */
    const char *coh_template;  /* coh: "{prompt}", "{chosen}", "{rejected}" placeholders; NULL
                                  for "{prompt} A helpful answer: {chosen} An unhelpful answer:
                                  {rejected}" */
    bool with_meta;            /* add "meta": {"id", "annotators", "agreement", "method",
                                  "reviewed_by" (the reviewer's name, or null)} */
    const jury_split_part_t *split; /* NULL or nsplit parts */
    size_t nsplit;                  /* parts at split (2..JURY_EXPORT_SPLIT_MAX) or 0 */
    uint64_t seed;                  /* split seed */
    bool progress;                  /* show a progress bar on stderr when it is a terminal */
} jury_export_opts_t;

/* What an export wrote. */
typedef struct {
    uint64_t records;  /* records walked */
    uint64_t accepted; /* accepted records */
    uint64_t rejected; /* rejected records */
    uint64_t pending;  /* records without a decision, or whose decision is stale */
    uint64_t stale;    /* records whose decision is out of date (counted in
                          pending): submitted responses changed since it was
                          taken, or the record completed since it said pending
                          (or, without one, since the last consolidation) */
    uint64_t skipped;  /* accepted records that gave no line (no pair, no text) */
    uint64_t lines[JURY_EXPORT_SPLIT_MAX]; /* lines written per output (one when not split) */
} jury_export_stats_t;

/*
 * Exports dataset `name` from one read snapshot of store, in record id order,
 * to outs[0..nouts-1]: one stream, or one per split part in the order of
 * opts->split (a record goes to the part its id's hash falls in: u =
 * fmix64(FNV-1a-64(id) ^ seed) >> 11 scaled to [0, 1), parts taking
 * consecutive intervals of [0, 1) by their shares). Only accepted records go
 * into sft, sft-messages, dpo, rm and coh; records and responses take every
 * record. A decision a reviewer made (decision.h, reviewed_by) is exported
 * like any other: its unified values are the reviewer's, so they are what the
 * training formats write. Output is byte-identical for the same store and options. Streams
 * are written with fwrite and not closed or flushed; the caller checks them.
 *
 * Errors (err gets "what is missing" in one line): JURY_ENOTFOUND (no such
 * dataset), JURY_EINVAL (a template naming a missing field, an unclosed
 * brace, --completion naming no text question, dpo/rm/coh with neither a
 * ranking question whose values are text fields nor a text question, a bad
 * split, outs not holding one stream per part), JURY_ECORRUPT, JURY_EIO (a
 * write failed), JURY_ENOMEM. stats may be NULL.
 */
JURY_MUST_CHECK jury_err jury_export_run(jury_store_t *store, const char *name,
                                         const jury_export_opts_t *opts, FILE *const *outs,
                                         size_t nouts, jury_export_stats_t *stats, char *err,
                                         size_t errlen);

#endif
