/* live_agreement.h: the running agreement state the coordinator keeps per question (a coincidence
 * matrix), and its encoding in the store. Pure: no I/O. */
#ifndef JURY_LIVE_AGREEMENT_H
#define JURY_LIVE_AGREEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "agreement.h"
#include "jury_err.h"

/*
 * The coordinator tracks agreement live for the questions whose answers are
 * categories: label_selection (nominal alpha) and rating (interval alpha).
 * Each completed record adds its submitted answers to the question's
 * coincidence matrix in the transaction that completes it, so `jury status`
 * reads alpha without a scan. Other question types are measured by
 * `jury agreement`, which reads every response.
 *
 * Stored as: u32 format (1), u32 k, u32 level, u32 reserved, u64 records
 * added, k doubles (each category's numeric value), k*k doubles (the matrix),
 * all in the machine's byte order (a store never leaves its machine's
 * architecture: LMDB files are not portable either).
 */
typedef struct {
    uint32_t k;               /* categories */
    jury_alpha_level_t level; /* the level alpha uses */
    uint64_t records;         /* records added */
    double *numeric;          /* k values (owned, with matrix, by the state) */
    double *matrix;           /* k*k coincidences */
} jury_live_state_t;

/* Bytes an encoded state of k categories takes. */
size_t jury_live_size(uint32_t k);

/*
 * Encodes a state into out (jury_live_size(k) bytes, the caller's).
 * numeric and matrix are borrowed for the call.
 */
void jury_live_encode(void *out, uint32_t k, jury_alpha_level_t level, uint64_t records,
                      const double *numeric, const double *matrix);

/*
 * Decodes len bytes at p (borrowed; any alignment) into *out, copying the
 * numbers into memory the state owns: free it with jury_live_free.
 * Errors: JURY_ECORRUPT (wrong size or format), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_live_decode(const void *p, size_t len, jury_live_state_t *out);

/* Frees what jury_live_decode allocated. Accepts a zeroed state; safe twice. */
void jury_live_free(jury_live_state_t *s);

/* Alpha of a decoded state (jury_alpha_from_coincidence). */
jury_measure_t jury_live_alpha(const jury_live_state_t *s);

#endif
