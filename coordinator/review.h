/* review.h: a reviewer's final decision on a record (protocol/SPEC.md 9.7) as the store keeps it
 * (jury_store_review_put), and the consolidation decision it makes of the record. Pure: no I/O. */
#ifndef JURY_REVIEW_H
#define JURY_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "jury_err.h"

/*
 * One review. The stored form is a msgpack map
 *   {"by": reviewer annotator id, "t": ms since the Unix epoch, "ok": accept,
 *    "v": the values map as the reviewer sent it, or nil, "note": str or nil}.
 * Decoded, pointers are borrowed from the blob or the zone it was decoded with.
 */
typedef struct {
    uint32_t reviewer;     /* the reviewer's annotator id */
    int64_t decided_ms;    /* when it was decided */
    bool accept;           /* true: the record is accepted with values; false: rejected */
    msgpack_object values; /* map question -> value (type NIL when none) */
    const char *note;      /* the reviewer's note (not NUL-terminated), or NULL */
    size_t note_len;       /* bytes at note */
} jury_review_t;

/* Appends the stored form of a review to buf (the caller's; not cleared first). values may be NULL
 * (none), else a map (kept as it is, nil entries too) or nil; note may be NULL (a note of 0 bytes
 * is stored as none). Errors: JURY_EINVAL (buf NULL, values neither a map nor nil), JURY_ENOMEM. */
JURY_MUST_CHECK jury_err jury_review_encode(msgpack_sbuffer *buf, uint32_t reviewer,
                                            int64_t decided_ms, bool accept,
                                            const msgpack_object *values, const char *note,
                                            size_t note_len);

/* Decodes a stored review (len bytes at blob) into *out, using zone (the caller's). "by", "t" and
 * "ok" are required; "v" and "note" may be absent (none). Errors: JURY_ECORRUPT when the blob is
 * not a review map or a field has the wrong type. */
JURY_MUST_CHECK jury_err jury_review_decode(const void *blob, size_t len, msgpack_zone *zone,
                                            jury_review_t *out);

/* Whether r is the decision described by the rest (same reviewer, accept, note, and values equal
 * as maps: keys in any order, nil entries the same as absent ones), so that a decision sent again
 * after a lost acknowledgement is recognised. values may be NULL (none, the same as an empty map);
 * no note and a note of 0 bytes are the same. Values compare deeply (maps inside them also in any
 * key order; a float32 and a float64 of the same value are equal; integers never equal floats). */
bool jury_review_same(const jury_review_t *r, uint32_t reviewer, bool accept,
                      const msgpack_object *values, const char *note, size_t note_len);

/*
 * Appends to buf (decision.h's stored form) the consolidation decision that
 * review r makes of a record with `submitted` submitted responses: accepted,
 * with r's values (nil entries left out) as the unified values; or rejected
 * with the reason "rejected by reviewer NAME" (": NOTE" added when r has a
 * note). agreement is the record's agreement map to carry over (NULL or NIL for
 * none); support is left out. The decision records who decided
 * (reviewer_name, NUL-terminated), when, and the note (decision.h:
 * reviewed_by, reviewed_ms, review_note), by jury_decision_encode_maps. A
 * rejection has no unified values, whatever values r has. Errors:
 * JURY_EINVAL (buf, r or reviewer_name NULL; agreement neither a map nor
 * nil; a values key that is not a string), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_review_decision(msgpack_sbuffer *buf, const jury_review_t *r,
                                              const char *reviewer_name, uint32_t submitted,
                                              const msgpack_object *agreement);

#endif
