/* import.h: loading JSONL records (Argilla's record dicts) into a dataset, validated line by line,
 * in one transaction. */
#ifndef JURY_IMPORT_H
#define JURY_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "jury_err.h"
#include "jury_store.h"
#include "settings.h"

/* Longest accepted line of a JSONL file, in bytes (the newline excluded). */
#define JURY_IMPORT_LINE_MAX ((size_t)16 << 20)

/* How far an import has come; passed to the progress callback. */
typedef struct {
    uint64_t lines;       /* lines read so far, blank ones included */
    uint64_t bytes;       /* bytes read so far */
    uint64_t total_bytes; /* size of the input, 0 when unknown (a pipe) */
    uint64_t imported;    /* records written (new + updated) */
    uint64_t rejected;    /* invalid lines */
} jury_import_progress_t;

/* Outcome of an import. */
typedef struct {
    uint64_t lines;     /* lines read, blank ones included */
    uint64_t created;   /* new records */
    uint64_t updated;   /* records whose id existed: fields, metadata, suggestions replaced */
    uint64_t responses; /* pre-existing responses stored */
    uint64_t rejected; /* invalid lines (with skip_invalid: left out; without: the import failed) */
} jury_import_stats_t;

/* Options for jury_import_file. Zero-initialise, then set what you need. */
typedef struct {
    /* Import the valid lines and report the rest, instead of importing
     * nothing when any line is invalid. */
    bool skip_invalid;
    /*
     * Called once for each invalid line, in order, with its 1-based number,
     * the reason ("/fields/instruction: field \"instruction\" is required by
     * the dataset settings") and the line's bytes (not NUL-terminated; NULL
     * with len 0 when the line was too long to keep). Borrowed for the call.
     */
    void (*problem)(uint64_t line_no, const char *reason, const char *line, size_t len, void *arg);
    /* Called about every 64k lines and once at the end. May be NULL. */
    void (*progress)(const jury_import_progress_t *p, void *arg);
    void *arg; /* passed to problem and progress */
} jury_import_opts_t;

/*
 * Imports the JSONL file at path ("-" reads standard input) into dataset
 * `dataset` of store: every non-blank line is one record, validated against
 * the dataset's settings; a record whose id exists is updated (fields,
 * metadata and suggestions replaced, responses kept), others are created;
 * pre-existing "responses" are stored as submitted responses of their
 * user_id, creating unknown annotators without a key.
 *
 * All of it happens in one write transaction. Without skip_invalid, any
 * invalid line makes the import write nothing and return JURY_EINVAL (every
 * invalid line is still passed to opts->problem). With skip_invalid, valid
 * lines are written and invalid ones only reported.
 *
 * Returns JURY_OK and fills *stats (may be NULL). Errors: JURY_ENOTFOUND
 * (no such dataset), JURY_EIO (the file cannot be read; errno is kept),
 * JURY_EINVAL (invalid lines, see above), JURY_ECORRUPT (stored settings do
 * not parse), JURY_EFULL, JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_import_file(jury_store_t *store, const char *dataset,
                                          const char *path, const jury_import_opts_t *opts,
                                          jury_import_stats_t *stats);

/*
 * Encodes one validated record (parsed from JSON) as the stored payload:
 * a msgpack map {"id": str, "fields": map, "metadata": map, "suggestions": map}
 * with absent parts left out; JSON numbers with integral values within
 * +-2^53 become msgpack integers, others doubles. ext_id is the record's
 * external id. Appends to buf (a msgpack_sbuffer). Returns JURY_OK or JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_import_encode_record(msgpack_sbuffer *buf, const cJSON *record,
                                                   const char *ext_id, size_t ext_len);

#endif
