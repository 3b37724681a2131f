/* annotate_first.c: a libjuror example frontend that answers with suggestions or first choices. */
/*
 * usage: juror_example_annotate_first ENDPOINT DATASET ANNOTATOR [MAX_RECORDS]
 *
 * A whole frontend: connect, read the questions from the
 * settings, fetch leased records, build an answer for each, submit it and say
 * what happened. A real frontend shows the record to a person instead of
 * building the answer itself; everything else stays the same.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "juror.h"

/* The first label of a label question: labels are a list or a {value: title} object. */
static cJSON *s_first_label(const cJSON *q)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(q, "labels");
    const cJSON *first = labels ? labels->child : NULL;
    if (!first)
        return NULL;
    return cJSON_CreateString(cJSON_IsObject(labels) ? first->string : first->valuestring);
}

/*
 * A default answer for question q when the record suggests none, or NULL to leave it out:
 * the first label, the lowest rating, the ranking as listed. Text and span questions get an
 * answer only when required.
 */
static cJSON *s_default_answer(const cJSON *q)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "type"));
    bool required = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(q, "required"));
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(q, "values");
    if (!type)
        return NULL;
    if (strcmp(type, "label_selection") == 0)
        return s_first_label(q);
    if (strcmp(type, "multi_label_selection") == 0) {
        cJSON *label = s_first_label(q), *list = cJSON_CreateArray();
        cJSON_AddItemToArray(list, label);
        return list;
    }
    if (strcmp(type, "rating") == 0) {
        const cJSON *low = NULL, *v;
        cJSON_ArrayForEach(v, values)
        {
            if (!low || v->valuedouble < low->valuedouble)
                low = v;
        }
        return low ? cJSON_CreateNumber(low->valuedouble) : NULL;
    }
    if (strcmp(type, "ranking") == 0)
        return cJSON_Duplicate(values, true);
    if (strcmp(type, "text") == 0 && required)
        return cJSON_CreateString("(no answer)");
    if (strcmp(type, "span") == 0 && required)
        return cJSON_CreateArray();
    return NULL;
}

/* Builds the answers to one record: its suggestion for each question, else the default. */
static char *s_answer(const cJSON *questions, const cJSON *record)
{
    cJSON *values = cJSON_CreateObject();
    const cJSON *suggestions = cJSON_GetObjectItemCaseSensitive(record, "suggestions");
    const cJSON *q;
    cJSON_ArrayForEach(q, questions)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "name"));
        if (!name)
            continue;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(suggestions, name), "value");
        cJSON *answer = s ? cJSON_Duplicate(s, true) : s_default_answer(q);
        if (answer)
            cJSON_AddItemToObject(values, name, answer);
    }
    char *text = cJSON_PrintUnformatted(values);
    cJSON_Delete(values);
    return text;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s ENDPOINT DATASET ANNOTATOR [MAX_RECORDS]\n", argv[0]);
        return 2;
    }
    long max = argc == 5 ? strtol(argv[4], NULL, 10) : 1000000;
    juror_opts_t opts = {
        .endpoint = argv[1], .dataset = argv[2], .annotator = argv[3], .agent = "annotate_first/1"};
    char why[512];
    juror_t *j = NULL;
    jury_err err = juror_connect(&j, &opts, why, sizeof why);
    if (err != JURY_OK) {
        fprintf(stderr, "annotate_first: %s: %s\n", jury_errname(err), why);
        return 1;
    }

    /* The settings say what to ask; a real frontend lays out its form from them. */
    cJSON *settings = cJSON_Parse(juror_settings(j));
    const cJSON *questions = cJSON_GetObjectItemCaseSensitive(settings, "questions"), *q;
    printf("dataset %s as %s, leases of %u s; questions:\n", juror_dataset(j), juror_annotator(j),
           juror_lease_seconds(j));
    cJSON_ArrayForEach(q, questions)
    {
        printf("  %s (%s%s)\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "name")),
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "type")),
               cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(q, "required")) ? ", optional" : "");
    }

    long done = 0, refused = 0;
    int rc = 0;
    while (done + refused < max) {
        char *json = NULL;
        size_t count = 0;
        uint32_t want = max - done - refused < 10 ? (uint32_t)(max - done - refused) : 10;
        if ((err = juror_fetch(j, want, &json, &count)) != JURY_OK) {
            fprintf(stderr, "annotate_first: fetch: %s: %s\n", jury_errname(err), juror_error(j));
            rc = 1;
            break;
        }
        cJSON *records = cJSON_Parse(json);
        free(json);
        if (count == 0) {
            cJSON_Delete(records);
            break; /* nothing left for this annotator now */
        }
        const cJSON *r;
        cJSON_ArrayForEach(r, records)
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
            char *values = s_answer(questions, r);
            err = juror_submit(j, id, JUROR_SUBMITTED, values, NULL);
            if (err == JURY_OK) {
                printf("%s: submitted %s\n", id, values);
                done++;
            } else {
                printf("%s: refused %s: %s\n", id, jury_errname(err), juror_error(j));
                refused++;
            }
            free(values);
        }
        cJSON_Delete(records);
    }
    /* Wait for anything still unacknowledged before leaving. */
    if (juror_flush(j) != JURY_OK)
        fprintf(stderr, "annotate_first: flush: %s\n", juror_error(j));
    printf("%ld submitted, %ld refused\n", done, refused);
    cJSON_Delete(settings);
    juror_destroy(&j);
    return rc;
}
