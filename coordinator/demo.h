/* demo.h: the embedded sample campaign of `jury demo` (pure data, no I/O). */
#ifndef JURY_DEMO_H
#define JURY_DEMO_H

#include <stdbool.h>
#include <stddef.h>

/* Records in the sample campaign. */
#define JURY_DEMO_RECORDS 200

/* One sample record. */
typedef struct {
    char id[32]; /* external id, "ticket-0001" */
    const char
        *category; /* metadata: billing, shipping, returns, product, account, technical, other */
    char message[1024]; /* field "instruction": the customer's message */
    char context[512];  /* field "context": what support can see about the account */
    char draft[1024];   /* suggestion for "response": the support model's draft reply */
    int draft_quality;  /* 1..5: a careful reviewer's rating of the draft */
} jury_demo_record_t;

/* The number of sample records (JURY_DEMO_RECORDS). */
size_t jury_demo_record_count(void);

/* Fills *out with sample record i (0-based). Returns false when i is out of range. Deterministic.
 */
bool jury_demo_record(size_t i, jury_demo_record_t *out);

/* The sample campaign's settings, JSON text (static). */
extern const char jury_demo_settings[];

#endif
