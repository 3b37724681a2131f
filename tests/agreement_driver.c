/* agreement_driver.c: reads ratings on stdin and prints every agreement measure as JSON, so the
 * Python oracle test (integration/test_agreement_oracle.py) can compare them with NLTK and
 * statsmodels. Not a test itself.
 *
 * Input, tab-separated lines:
 *   first line   "cat" TAB k TAB num_0 ... num_{k-1}   categorical values 0..k-1 with their numbers
 *             or "masi"                                values are label sets "3,5,9" ("" = empty)
 *             or "text"                                values are UTF-8 texts without tabs
 *   then         unit TAB coder TAB value               unit and coder are dense indices
 * Output: one JSON object (absent measures are null, with their note in "notes").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"

/* One input line. */
typedef struct {
    uint32_t unit;  /* unit index */
    uint32_t coder; /* coder index */
    char *value;    /* the value field, owned */
    uint32_t item;  /* interned item (masi, text) */
} line_t;

static void die(const char *what)
{
    fprintf(stderr, "agreement_driver: %s\n", what);
    exit(2);
}

static void print_measure(const char *name, jury_measure_t m, int *first)
{
    printf("%s\"%s\": ", *first ? "" : ", ", name);
    if (m.ok)
        printf("%.17g", m.value);
    else
        printf("null, \"%s_note\": \"%s\"", name, m.note);
    *first = 0;
}

static int cmp_line(const void *a, const void *b)
{
    const line_t *x = a, *y = b;
    return (x->unit > y->unit) - (x->unit < y->unit);
}

int main(void)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    if ((len = getline(&buf, &cap, stdin)) <= 0)
        die("empty input");
    buf[strcspn(buf, "\r\n")] = '\0';
    char *save = NULL;
    char *mode = strtok_r(buf, "\t", &save);
    if (!mode)
        die("no mode");
    mode = strdup(mode);
    uint32_t k = 0;
    double *numeric = NULL;
    if (strcmp(mode, "cat") == 0) {
        char *ks = strtok_r(NULL, "\t", &save);
        if (!ks)
            die("no k");
        k = (uint32_t)strtoul(ks, NULL, 10);
        numeric = calloc(k ? k : 1, sizeof(double));
        for (uint32_t i = 0; i < k; i++) {
            char *v = strtok_r(NULL, "\t", &save);
            if (!v)
                die("missing numeric value");
            numeric[i] = strtod(v, NULL);
        }
    } else if (strcmp(mode, "masi") != 0 && strcmp(mode, "text") != 0) {
        die("unknown mode");
    }

    line_t *lines = NULL;
    size_t n = 0, ncap = 0;
    uint32_t nunits = 0, ncoders = 0;
    while ((len = getline(&buf, &cap, stdin)) > 0) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (!buf[0])
            continue;
        char *t1 = strchr(buf, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
            die("a line needs unit, coder and value");
        *t1 = *t2 = '\0';
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 1024;
            lines = realloc(lines, ncap * sizeof(line_t));
            if (!lines)
                die("out of memory");
        }
        line_t *l = &lines[n++];
        l->unit = (uint32_t)strtoul(buf, NULL, 10);
        l->coder = (uint32_t)strtoul(t1 + 1, NULL, 10);
        l->value = strdup(t2 + 1);
        if (l->unit + 1 > nunits)
            nunits = l->unit + 1;
        if (l->coder + 1 > ncoders)
            ncoders = l->coder + 1;
    }
    free(buf);
    int first = 1;
    printf("{");

    if (strcmp(mode, "cat") == 0) {
        jury_rating_t *r = malloc((n ? n : 1) * sizeof(jury_rating_t));
        for (size_t i = 0; i < n; i++) {
            jury_rating_t x = {lines[i].unit, lines[i].coder,
                               (uint32_t)strtoul(lines[i].value, NULL, 10)};
            r[i] = x;
        }
        static const char *levels[4] = {"alpha_nominal", "alpha_ordinal", "alpha_interval",
                                        "alpha_ratio"};
        for (int lv = 0; lv < 4; lv++) {
            jury_measure_t m;
            if (jury_alpha(r, n, nunits, k, (jury_alpha_level_t)lv, numeric, &m) != JURY_OK)
                die("jury_alpha failed");
            print_measure(levels[lv], m, &first);
        }
        jury_fleiss_t f;
        if (jury_fleiss_kappa_ratings(r, n, nunits, k, &f) != JURY_OK)
            die("jury_fleiss_kappa_ratings failed");
        print_measure("fleiss", f.kappa, &first);
        print_measure("bennett_s", f.s, &first);
        printf(", \"p_bar\": %.17g, \"p_e\": %.17g", f.p_bar, f.p_e);
        jury_measure_t pa;
        if (jury_percent_agreement(r, n, nunits, &pa) != JURY_OK)
            die("jury_percent_agreement failed");
        print_measure("percent", pa, &first);
        jury_cohen_pair_t *pairs = NULL;
        size_t np = 0;
        if (jury_cohen_pairs(r, n, nunits, ncoders ? ncoders : 1, k, &pairs, &np) != JURY_OK)
            die("jury_cohen_pairs failed");
        print_measure("multi_kappa", jury_multi_kappa(pairs, np), &first);
        printf(", \"pairs\": [");
        for (size_t i = 0; i < np; i++) {
            int pf = 1;
            printf("%s{\"a\": %u, \"b\": %u, \"shared\": %u, \"agreement\": %.17g, ", i ? ", " : "",
                   pairs[i].a, pairs[i].b, pairs[i].shared, pairs[i].agreement);
            print_measure("kappa", pairs[i].kappa, &pf);
            print_measure("linear", pairs[i].kappa_linear, &pf);
            print_measure("quadratic", pairs[i].kappa_quadratic, &pf);
            printf("}");
        }
        printf("]");
        free(pairs);
        free(r);
    } else {
        /* Intern values into items, group by unit, run alpha with the matching distance. */
        qsort(lines, n, sizeof(line_t), cmp_line);
        char **names = malloc((n ? n : 1) * sizeof(char *));
        uint32_t nitems = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t j = 0;
            while (j < nitems && strcmp(names[j], lines[i].value) != 0)
                j++;
            if (j == nitems)
                names[nitems++] = lines[i].value;
            lines[i].item = j;
        }
        uint32_t *values = malloc((n ? n : 1) * sizeof(uint32_t));
        uint32_t *counts = calloc(nunits ? nunits : 1, sizeof(uint32_t));
        for (size_t i = 0; i < n; i++) {
            values[i] = lines[i].item;
            counts[lines[i].unit]++;
        }
        jury_measure_t m;
        jury_err rc;
        if (strcmp(mode, "masi") == 0) {
            jury_labelset_t *sets = calloc(nitems ? nitems : 1, sizeof(jury_labelset_t));
            for (uint32_t j = 0; j < nitems; j++) {
                uint32_t *labels = calloc(strlen(names[j]) + 1, sizeof(uint32_t));
                size_t nl = 0;
                for (char *p = names[j]; *p;) {
                    labels[nl++] = (uint32_t)strtoul(p, &p, 10);
                    if (*p == ',')
                        p++;
                }
                sets[j].labels = labels;
                sets[j].n = nl;
            }
            rc = jury_alpha_distance(values, counts, nunits, nitems, jury_distance_masi_fn, sets,
                                     &m);
            for (uint32_t j = 0; j < nitems; j++)
                free((void *)sets[j].labels);
            free(sets);
        } else {
            jury_text_t *texts = calloc(nitems ? nitems : 1, sizeof(jury_text_t));
            for (uint32_t j = 0; j < nitems; j++) {
                texts[j].s = names[j];
                texts[j].len = strlen(names[j]);
            }
            rc = jury_alpha_distance(values, counts, nunits, nitems, jury_distance_edit_fn, texts,
                                     &m);
            free(texts);
        }
        if (rc != JURY_OK)
            die("jury_alpha_distance failed");
        print_measure("alpha", m, &first);
        free(values);
        free(counts);
        free(names);
    }
    printf("}\n");
    for (size_t i = 0; i < n; i++)
        free(lines[i].value);
    free(lines);
    free(numeric);
    free(mode);
    return 0;
}
