/* decision.h: the stored outcome of consolidating one record (accepted, rejected or pending, why,
 * and the unified value of each question), encoded as msgpack for the store. Pure: no I/O. */
#ifndef JURY_DECISION_H
#define JURY_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "jury_err.h"

/* What consolidation decided about a record. */
typedef enum {
    JURY_DECISION_PENDING = 0,  /* not completed yet: nothing decided */
    JURY_DECISION_ACCEPTED = 1, /* completed and every acceptance rule holds */
    JURY_DECISION_REJECTED = 2  /* completed (or set aside) and a rule failed: see reason */
} jury_decision_kind;

/* "pending", "accepted", "rejected"; NULL when out of range. Static. */
const char *jury_decision_name(jury_decision_kind d);

/*
 * One record's decision. The stored form is a msgpack map
 *   {"d": kind, "r": reason or nil, "n": submitted responses when decided,
 *    "u": {question: unified value as JSON-shaped msgpack},
 *    "a": {question: agreement of the record's responses, a float},
 *    "s": {question: support of the unified value, a float}}
 * where unified values have the shape of a response value (README,
 * "Consolidation"): a label string, a list of labels, an integer rating, a
 * ranking as a list of values best first, a text, a list of {"start", "end",
 * "label"} spans; a `disagreement` label question unifies to the list of
 * every submitted label. A question without a unified value is absent from
 * "u"; one without an agreement (a single answer) from "a".
 *
 * A decision a reviewer made (review.h, protocol/SPEC.md 9.7) also has
 *   "rb": the reviewer's annotator name, "rt": when it was decided (ms since
 *   the Unix epoch), and "rn": the reviewer's note (only when there is one).
 * Decisions stored before reviews existed have none of them and decode as
 * unreviewed.
 *
 * Decoded, every pointer is borrowed from the blob or the zone it was
 * decoded with.
 */
typedef struct {
    jury_decision_kind kind;  /* the decision */
    const char *reason;       /* why it was rejected (not NUL-terminated), or NULL */
    size_t reason_len;        /* bytes at reason */
    uint32_t submitted;       /* submitted responses when it was decided (staleness check) */
    msgpack_object unified;   /* map question -> unified value (type NIL when none) */
    msgpack_object agreement; /* map question -> float (type NIL when none) */
    msgpack_object support;   /* map question -> float (type NIL when none) */
    const char *reviewed_by;  /* the reviewer's name (not NUL-terminated), or NULL: unreviewed */
    size_t reviewed_by_len;   /* bytes at reviewed_by */
    int64_t reviewed_ms;     /* when the reviewer decided (ms since the epoch); 0 when unreviewed */
    const char *review_note; /* the reviewer's note (not NUL-terminated), or NULL when none */
    size_t review_note_len;  /* bytes at review_note */
} jury_decision_t;

/*
 * Decodes a stored decision (len bytes at blob) into *out, using zone for the
 * msgpack objects (the caller's; clear it between records). Errors:
 * JURY_ECORRUPT when the blob is not a decision map.
 */
JURY_MUST_CHECK jury_err jury_decision_decode(const void *blob, size_t len, msgpack_zone *zone,
                                              jury_decision_t *out);

/* The unified value of question (NUL-terminated name) in d, or NULL when absent. Borrowed. */
const msgpack_object *jury_decision_unified(const jury_decision_t *d, const char *question);

/* The agreement (or support) of question in d into *out; false when absent. */
bool jury_decision_agreement(const jury_decision_t *d, const char *question, double *out);
bool jury_decision_support(const jury_decision_t *d, const char *question, double *out);

/* One question's part of a decision to encode. */
typedef struct {
    const char *question; /* question name, NUL-terminated; borrowed */
    const void *value;    /* the unified value as packed msgpack bytes, or NULL for none */
    size_t value_len;     /* bytes at value */
    bool has_agreement;   /* whether agreement is set */
    double agreement;     /* the record's agreement on the question */
    bool has_support;     /* whether support is set */
    double support;       /* the unified value's support */
} jury_decision_item_t;

/*
 * Appends the encoded decision to buf (the caller's; it is not cleared first):
 * kind, reason (reason_len bytes, or NULL), submitted, and the n items in the
 * given order. Errors: JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_decision_encode(msgpack_sbuffer *buf, jury_decision_kind kind,
                                              const char *reason, size_t reason_len,
                                              uint32_t submitted, const jury_decision_item_t *items,
                                              size_t n);

/* Who decided a reviewed decision (the "rb", "rt" and "rn" of the stored form). Borrowed. */
typedef struct {
    const char *by;   /* the reviewer's annotator name; not NUL-terminated */
    size_t by_len;    /* bytes at by */
    int64_t ms;       /* when the reviewer decided, ms since the Unix epoch */
    const char *note; /* the reviewer's note, or NULL (a note of 0 bytes is none) */
    size_t note_len;  /* bytes at note */
} jury_decision_reviewer_t;

/*
 * Appends an encoded decision built from msgpack objects to buf (the
 * caller's; not cleared first): kind, reason (reason_len bytes, or NULL),
 * submitted; unified, a map question -> value whose nil entries are left out;
 * agreement, a map question -> number copied as it is; both NULL or NIL for
 * none (an empty map is stored); no support. reviewer, when not NULL, adds
 * "rb", "rt" and "rn". Errors: JURY_EINVAL (buf NULL, unified or agreement
 * neither a map nor nil, an unknown kind, a map key that is not a string),
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_decision_encode_maps(msgpack_sbuffer *buf, jury_decision_kind kind,
                                                   const char *reason, size_t reason_len,
                                                   uint32_t submitted,
                                                   const msgpack_object *unified,
                                                   const msgpack_object *agreement,
                                                   const jury_decision_reviewer_t *reviewer);

#endif
