/* fuzz_common.h: what the libFuzzer targets share: the invariant check and a fixed, rich settings
 * document with every field, question and metadata type. Included by tests/fuzz/fuzz_*.c only. */
#ifndef JURY_FUZZ_COMMON_H
#define JURY_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

/* libFuzzer's entry points; declared here because the project builds with -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Aborts with a message when an invariant of jury's code does not hold: libFuzzer then records
 * the input as a crash. Only for properties the code promises (a header comment, SPEC.md or the
 * README), never for inputs jury is entitled to refuse.
 */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "\nfuzz invariant broken at %s:%d: %s\n  ", __FILE__, __LINE__,        \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * Whether to say what became of each input on stderr (JURY_FUZZ_VERBOSE=1 in the environment), to
 * check that seeds do what they are meant to: fuzz_import corpus/import/valid-*.
 */
static inline bool fuzz_verbose(void)
{
    static int verbose = -1;
    if (verbose < 0) {
        const char *v = getenv("JURY_FUZZ_VERBOSE");
        verbose = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
    }
    return verbose;
}

/*
 * The settings the import and protocol targets check records and answers against: text and chat
 * fields (one optional), every question type (ranking with and without ties, spans on a required
 * and on an optional field, with and without overlaps), every metadata kind, a fractional
 * min_submitted and a consolidation section. Keep it valid: each target aborts at start-up if
 * jury_settings_parse refuses it.
 */
static inline const char *fuzz_settings_json(void)
{
    return "{\"guidelines\": \"Edit the **draft** reply, then rate it.\","
           " \"fields\": ["
           "  {\"name\": \"instruction\", \"title\": \"Customer message\", \"type\": \"text\","
           "   \"required\": true, \"use_markdown\": false},"
           "  {\"name\": \"context\", \"type\": \"text\", \"required\": false, \"use_markdown\": "
           "true},"
           "  {\"name\": \"history\", \"type\": \"chat\", \"required\": false}],"
           " \"questions\": ["
           "  {\"name\": \"response\", \"title\": \"Corrected reply\", \"type\": \"text\","
           "   \"required\": true, \"use_markdown\": true},"
           "  {\"name\": \"quality\", \"type\": \"rating\", \"values\": [1, 2, 3, 4, 5]},"
           "  {\"name\": \"topic\", \"type\": \"label_selection\", \"required\": false,"
           "   \"labels\": {\"billing\": \"Billing\", \"shipping\": \"Shipping\", \"other\": "
           "\"Other\"}},"
           "  {\"name\": \"issues\", \"type\": \"multi_label_selection\", \"required\": false,"
           "   \"labels\": [\"rude\", \"wrong\", \"vague\"], \"labels_order\": \"natural\"},"
           "  {\"name\": \"best\", \"type\": \"ranking\", \"required\": false,"
           "   \"values\": [\"reply-a\", \"reply-b\", \"reply-c\"], \"allow_ties\": true},"
           "  {\"name\": \"order\", \"type\": \"ranking\", \"required\": false,"
           "   \"values\": [\"x\", \"y\"]},"
           "  {\"name\": \"entities\", \"type\": \"span\", \"field\": \"instruction\","
           "   \"required\": false, \"labels\": [\"order-id\", \"product\"],"
           "   \"allow_overlapping\": false},"
           "  {\"name\": \"marks\", \"type\": \"span\", \"field\": \"context\", \"required\": "
           "false,"
           "   \"labels\": [\"fact\"], \"allow_overlapping\": true}],"
           " \"metadata\": ["
           "  {\"name\": \"category\", \"type\": \"terms\", \"options\": [\"billing\", "
           "\"shipping\"],"
           "   \"visible_for_annotators\": true},"
           "  {\"name\": \"model\", \"type\": \"terms\", \"visible_for_annotators\": false},"
           "  {\"name\": \"length\", \"type\": \"integer\", \"min\": 0, \"max\": 100000},"
           "  {\"name\": \"score\", \"type\": \"float\", \"min\": -1.5, \"max\": 1.5}],"
           " \"allow_extra_metadata\": false,"
           " \"distribution\": {\"strategy\": \"overlap\", \"min_submitted\": 1.5,"
           "  \"max_discards\": 3, \"order\": \"complete_first\", \"lease_seconds\": 600},"
           " \"consolidation\": {\"methods\": {\"quality\": \"median\", \"topic\": "
           "\"dawid_skene\"},"
           "  \"accept\": {\"min_agreement\": {\"topic\": 0.6}, \"min_value\": {\"quality\": 2},"
           "   \"require\": {\"topic\": [\"billing\", \"shipping\"]}}}}";
}

/* The parsed fixed settings, parsed once per process (aborts if they do not parse). Borrowed. */
static inline const jury_settings_t *fuzz_settings(void)
{
    static jury_settings_t *s;
    if (!s) {
        char err[512];
        const char *json = fuzz_settings_json();
        jury_err rc = jury_settings_parse(&s, json, strlen(json), err, sizeof err);
        FUZZ_CHECK(rc == JURY_OK, "the fixed fuzz settings do not parse: %s", err);
    }
    return s;
}

#endif
