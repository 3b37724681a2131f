/* simulate.c: the simulated annotator of `juror bot --simulate` (see simulate.h): spec parsing, a
 * seeded PRNG, and valid answers of known quality. */
#include "simulate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* A text answer's limit in bytes (SPEC.md section 9.6; JURY_SETTINGS_TEXT_MAX in the coordinator).
 */
#define S_TEXT_MAX 65536
/* Rating values: at most 11 integers within 0..10 (README, "Dataset settings"). */
#define S_RATINGS_MAX 11
/* The longest SPEC item we read (gold names are at most 200 bytes). */
#define S_ITEM_MAX 256

typedef enum { Q_TEXT, Q_RATING, Q_LABEL, Q_MULTI, Q_RANKING, Q_SPAN, Q_OTHER } s_qtype;

/* One question, as the simulator needs it. */
typedef struct {
    char *name;                 /* question name (owned) */
    s_qtype type;               /* its type; Q_OTHER for types this simulator skips */
    bool required;              /* must be answered */
    char **options;             /* labels, or ranking values, in settings order (owned) */
    size_t noptions;            /* entries in options */
    int ratings[S_RATINGS_MAX]; /* rating values in settings order */
    size_t nratings;            /* entries in ratings */
    size_t middle;          /* rating: index in ratings of the lower middle of the sorted values */
    bool allow_ties;        /* ranking: an item may be a list of tied values */
    bool allow_overlapping; /* span: spans may overlap */
    char *field;            /* span: the text field it marks up (owned) */
} s_question;

struct juror_sim {
    s_question *questions; /* in settings order (owned) */
    size_t nquestions;     /* entries in questions */
    juror_sim_spec_t spec; /* the behaviour */
    int gold_q;            /* index of the question that takes the gold value, -1 for none */
    bool gold_visible;     /* the gold property is among the metadata annotators see */
};

/* Words that replace others in an edit, and sentences appended by one. */
static const char *const s_words[] = {"promptly", "certainly", "kindly", "today",
                                      "again",    "carefully", "fully",  "soon"};
static const char *const s_sentences[] = {" Please let us know if anything else comes up.",
                                          " Thank you for your patience.",
                                          " We are sorry for the trouble.", " I hope this helps."};
#define S_NWORDS     (sizeof s_words / sizeof s_words[0])
#define S_NSENTENCES (sizeof s_sentences / sizeof s_sentences[0])

__attribute__((format(printf, 3, 4))) static jury_err s_fail(char *err, size_t errcap,
                                                             const char *fmt, ...)
{
    if (err && errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return JURY_EINVAL;
}

/* ---------------------------------------------------------------------------------------------
 * The spec.
 */

/* Parses a probability: digits with at most one '.', within 0..1. */
static bool s_parse_prob(const char *v, double *out)
{
    size_t dots = 0, digits = 0;
    for (const char *p = v; *p; p++) {
        if (*p == '.')
            dots++;
        else if (*p >= '0' && *p <= '9')
            digits++;
        else
            return false;
    }
    if (digits == 0 || dots > 1)
        return false;
    double d = strtod(v, NULL);
    if (!(d >= 0.0 && d <= 1.0))
        return false;
    *out = d;
    return true;
}

/* Parses an unsigned decimal integer (digits only) no greater than max. */
static bool s_parse_uint(const char *v, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        uint64_t d = (uint64_t)(v[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    if (n > max)
        return false;
    *out = n;
    return true;
}

static bool s_name_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 1 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
              v[i] == '-'))
            return false;
    return true;
}

jury_err juror_sim_spec_parse(juror_sim_spec_t *out, const char *spec, char *err, size_t errcap)
{
    static const char *const keys[] = {"error", "discard", "edit", "think", "gold", "seed"};
    bool seen[6] = {false};
    memset(out, 0, sizeof *out);
    if (err && errcap > 0)
        err[0] = '\0';
    if (spec == NULL || spec[0] == '\0')
        return JURY_OK;
    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[S_ITEM_MAX + 1];
        if (len == 0)
            return s_fail(err, errcap,
                          "empty item (a comma at an end, or two in a row); write key=value items "
                          "separated by commas");
        if (len > S_ITEM_MAX)
            return s_fail(err, errcap, "'%.40s...': item longer than %d bytes", p, S_ITEM_MAX);
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        if (!eq)
            return s_fail(err, errcap,
                          "'%s': expected key=value (keys: error, discard, edit, think, gold, "
                          "seed)",
                          item);
        *eq = '\0';
        const char *key = item, *val = eq + 1;
        int k = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(key, keys[i]) == 0)
                k = i;
        if (k < 0)
            return s_fail(err, errcap,
                          "unknown key '%s' (keys: error, discard, edit, think, gold, seed)", key);
        if (seen[k])
            return s_fail(err, errcap, "%s is given twice", key);
        seen[k] = true;
        switch (k) {
        case 0:
        case 1:
        case 2: {
            double *dst = k == 0 ? &out->error : k == 1 ? &out->discard : &out->edit;
            if (!s_parse_prob(val, dst))
                return s_fail(err, errcap,
                              "%s=%s: must be a probability within 0..1, such as %s=0.1", key, val,
                              key);
            break;
        }
        case 3: {
            const char *dots = strstr(val, "..");
            uint64_t lo, hi;
            bool ok =
                dots ? s_parse_uint(val, (size_t)(dots - val), JUROR_SIM_THINK_MAX_MS, &lo) &&
                           s_parse_uint(dots + 2, strlen(dots + 2), JUROR_SIM_THINK_MAX_MS, &hi)
                     : s_parse_uint(val, strlen(val), JUROR_SIM_THINK_MAX_MS, &lo);
            if (!dots)
                hi = lo;
            if (!ok)
                return s_fail(err, errcap,
                              "think=%s: must be milliseconds MS or a range MIN..MAX, each within "
                              "0..%u",
                              val, JUROR_SIM_THINK_MAX_MS);
            if (lo > hi)
                return s_fail(err, errcap, "think=%s: the minimum is greater than the maximum",
                              val);
            out->think_min_ms = (uint32_t)lo;
            out->think_max_ms = (uint32_t)hi;
            break;
        }
        case 4:
            if (!s_name_ok(val))
                return s_fail(err, errcap,
                              "gold=%s: must be a metadata property name (1 to 200 lowercase "
                              "letters, digits, '_' and '-')",
                              val);
            memcpy(out->gold, val, strlen(val) + 1);
            break;
        default:
            if (!s_parse_uint(val, strlen(val), UINT64_MAX, &out->seed))
                return s_fail(err, errcap,
                              "seed=%s: must be an unsigned decimal integer below 2^64", val);
            out->has_seed = true;
            break;
        }
        if (!end)
            return JURY_OK;
        p = end + 1;
    }
}

/* ---------------------------------------------------------------------------------------------
 * The PRNG: xoshiro256** (Blackman and Vigna), seeded through splitmix64.
 */

static uint64_t s_splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t s_fnv1a(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

uint64_t juror_sim_seed_of_name(const char *name)
{
    return s_fnv1a(name ? name : "");
}

void juror_sim_rng_seed(juror_sim_rng_t *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = s_splitmix(&x);
    /* splitmix64 is a bijection of its counter, so four zero outputs cannot happen; be sure. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
}

void juror_sim_rng_record(juror_sim_rng_t *rng, uint64_t seed, const char *record_id)
{
    uint64_t x = seed;
    juror_sim_rng_seed(rng, s_splitmix(&x) ^ s_fnv1a(record_id ? record_id : ""));
}

static uint64_t s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t juror_sim_rng_next(juror_sim_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

uint64_t juror_sim_rng_below(juror_sim_rng_t *rng, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Rejection keeps it unbiased: drop the top 2^64 mod n values. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
    uint64_t x;
    do
        x = juror_sim_rng_next(rng);
    while (x > limit);
    return x % n;
}

double juror_sim_rng_unit(juror_sim_rng_t *rng)
{
    return (double)(juror_sim_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* ---------------------------------------------------------------------------------------------
 * Compiling the settings.
 */

static void s_question_free(s_question *q)
{
    free(q->name);
    for (size_t i = 0; i < q->noptions; i++)
        free(q->options[i]);
    free(q->options);
    free(q->field);
}

void juror_sim_destroy(juror_sim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    juror_sim_t *sim = *self_p;
    for (size_t i = 0; i < sim->nquestions; i++)
        s_question_free(&sim->questions[i]);
    free(sim->questions);
    free(sim);
    *self_p = NULL;
}

/* Reads options from a list of strings or the keys of a {value: title} object. */
static jury_err s_options(s_question *q, const cJSON *v, char *err, size_t errcap)
{
    size_t n = 0;
    const cJSON *c;
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return s_fail(err, errcap,
                      "settings: question \"%s\": its labels or values are neither a "
                      "list nor an object",
                      q->name);
    cJSON_ArrayForEach(c, v) n++;
    if (n == 0)
        return s_fail(err, errcap, "settings: question \"%s\" has no labels or values", q->name);
    if (!(q->options = calloc(n, sizeof *q->options)))
        return JURY_ENOMEM;
    cJSON_ArrayForEach(c, v)
    {
        const char *s = cJSON_IsObject(v) ? c->string : cJSON_GetStringValue(c);
        if (!s)
            return s_fail(err, errcap,
                          "settings: question \"%s\": a label or value is not a string", q->name);
        if (!(q->options[q->noptions++] = strdup(s)))
            return JURY_ENOMEM;
    }
    return JURY_OK;
}

static bool s_integral(const cJSON *v, double lo, double hi, int *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return false;
    *out = (int)v->valuedouble;
    return true;
}

static jury_err s_ratings(s_question *q, const cJSON *v, char *err, size_t errcap)
{
    const cJSON *c;
    if (!cJSON_IsArray(v))
        return s_fail(err, errcap, "settings: rating question \"%s\" has no list of values",
                      q->name);
    cJSON_ArrayForEach(c, v)
    {
        int r;
        if (q->nratings == S_RATINGS_MAX || !s_integral(c, 0, 10, &r))
            return s_fail(err, errcap,
                          "settings: rating question \"%s\": values must be at most %d integers "
                          "within 0..10",
                          q->name, S_RATINGS_MAX);
        q->ratings[q->nratings++] = r;
    }
    if (q->nratings == 0)
        return s_fail(err, errcap, "settings: rating question \"%s\" has no values", q->name);
    /* The lower middle of the sorted values: the index whose value has (n-1)/2 values below it. */
    for (size_t i = 0; i < q->nratings; i++) {
        size_t below = 0;
        for (size_t k = 0; k < q->nratings; k++)
            below += q->ratings[k] < q->ratings[i];
        if (below == (q->nratings - 1) / 2) {
            q->middle = i;
            break;
        }
    }
    return JURY_OK;
}

static jury_err s_compile_question(s_question *q, const cJSON *jq, char *err, size_t errcap)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jq, "name"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jq, "type"));
    if (!name || !type)
        return s_fail(err, errcap, "settings: a question without a name or a type");
    if (!(q->name = strdup(name)))
        return JURY_ENOMEM;
    /* required defaults to true, as in the settings format. */
    q->required = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(jq, "required"));
    q->allow_ties = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jq, "allow_ties"));
    q->allow_overlapping = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jq, "allow_overlapping"));
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(jq, "labels");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(jq, "values");
    if (strcmp(type, "text") == 0) {
        q->type = Q_TEXT;
        return JURY_OK;
    }
    if (strcmp(type, "rating") == 0) {
        q->type = Q_RATING;
        return s_ratings(q, values, err, errcap);
    }
    if (strcmp(type, "label_selection") == 0) {
        q->type = Q_LABEL;
        return s_options(q, labels, err, errcap);
    }
    if (strcmp(type, "multi_label_selection") == 0) {
        q->type = Q_MULTI;
        return s_options(q, labels, err, errcap);
    }
    if (strcmp(type, "ranking") == 0) {
        q->type = Q_RANKING;
        return s_options(q, values, err, errcap);
    }
    if (strcmp(type, "span") == 0) {
        q->type = Q_SPAN;
        const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jq, "field"));
        if (!field)
            return s_fail(err, errcap, "settings: span question \"%s\" names no field", name);
        if (!(q->field = strdup(field)))
            return JURY_ENOMEM;
        return s_options(q, labels, err, errcap);
    }
    if (q->required)
        return s_fail(err, errcap,
                      "settings: required question \"%s\" has the type \"%s\", which the "
                      "simulator cannot answer",
                      name, type);
    q->type = Q_OTHER;
    return JURY_OK;
}

jury_err juror_sim_new(juror_sim_t **out, const char *settings_json, const juror_sim_spec_t *spec,
                       char *err, size_t errcap)
{
    jury_err rc = JURY_OK;
    if (err && errcap > 0)
        err[0] = '\0';
    cJSON *root = settings_json ? cJSON_Parse(settings_json) : NULL;
    juror_sim_t *sim = calloc(1, sizeof *sim);
    if (!sim) {
        cJSON_Delete(root);
        return JURY_ENOMEM;
    }
    sim->spec = *spec;
    sim->gold_q = -1;
    const cJSON *qs = cJSON_GetObjectItemCaseSensitive(root, "questions");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(qs) || cJSON_GetArraySize(qs) == 0) {
        rc = s_fail(err, errcap, "settings: not an object with a list of questions");
        goto fail;
    }
    if (!(sim->questions = calloc((size_t)cJSON_GetArraySize(qs), sizeof *sim->questions))) {
        rc = JURY_ENOMEM;
        goto fail;
    }
    const cJSON *jq;
    cJSON_ArrayForEach(jq, qs)
    {
        s_question *q = &sim->questions[sim->nquestions++];
        if ((rc = s_compile_question(q, jq, err, errcap)) != JURY_OK)
            goto fail;
        if (sim->gold_q < 0 && spec->gold[0] && (q->type == Q_LABEL || q->type == Q_RATING))
            sim->gold_q = (int)(sim->nquestions - 1);
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "metadata"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name"));
        if (spec->gold[0] && name && strcmp(name, spec->gold) == 0 &&
            !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "visible_for_annotators")))
            sim->gold_visible = true;
    }
    cJSON_Delete(root);
    *out = sim;
    return JURY_OK;
fail:
    if (rc == JURY_ENOMEM)
        s_fail(err, errcap, "out of memory");
    cJSON_Delete(root);
    juror_sim_destroy(&sim);
    return rc;
}

const char *juror_sim_gold_question(const juror_sim_t *sim)
{
    return sim->gold_q < 0 ? NULL : sim->questions[sim->gold_q].name;
}

bool juror_sim_gold_visible(const juror_sim_t *sim)
{
    return sim->gold_visible;
}

/* ---------------------------------------------------------------------------------------------
 * Answering.
 */

static int s_option_index(const s_question *q, const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < q->noptions; i++)
        if (strcmp(q->options[i], s) == 0)
            return (int)i;
    return -1;
}

static int s_rating_index(const s_question *q, int r)
{
    for (size_t i = 0; i < q->nratings; i++)
        if (q->ratings[i] == r)
            return (int)i;
    return -1;
}

/* The gold value as an index into the question's labels or ratings; -1 when absent or no such
 * choice. */
static int s_gold_index(const s_question *q, const cJSON *gold)
{
    char buf[32];
    int r;
    if (q->type == Q_RATING) {
        if (s_integral(gold, 0, 10, &r))
            return s_rating_index(q, r);
        const char *s = cJSON_GetStringValue(gold);
        uint64_t n;
        if (s && s_parse_uint(s, strlen(s), 10, &n))
            return s_rating_index(q, (int)n);
        return -1;
    }
    if (cJSON_IsString(gold))
        return s_option_index(q, gold->valuestring);
    /* An integer metadata value can name a label spelled as that integer. */
    if (cJSON_IsNumber(gold) && gold->valuedouble == floor(gold->valuedouble) &&
        fabs(gold->valuedouble) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", gold->valuedouble);
        return s_option_index(q, buf);
    }
    return -1;
}

/* Code points in valid UTF-8: every byte that is not a continuation byte starts one. */
static size_t s_codepoints(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A multi-label suggestion as a set (one flag per label); false when it is not a valid answer. */
static bool s_multi_of(const s_question *q, const cJSON *v, bool *set)
{
    const cJSON *c;
    size_t n = 0;
    if (!cJSON_IsArray(v))
        return false;
    memset(set, 0, q->noptions * sizeof *set);
    cJSON_ArrayForEach(c, v)
    {
        int k = s_option_index(q, cJSON_GetStringValue(c));
        if (k < 0 || set[k])
            return false;
        set[k] = true;
        n++;
    }
    return n > 0;
}

/*
 * A ranking suggestion as groups: order[] lists option indexes best first and
 * group_end[g] is one past the last entry of group g. False when v is not a
 * valid ranking (every value exactly once; ties only if allowed).
 */
static bool s_ranking_of(const s_question *q, const cJSON *v, size_t *order, size_t *group_end,
                         size_t *ngroups, bool *seen)
{
    const cJSON *c, *t;
    size_t n = 0, g = 0;
    if (!cJSON_IsArray(v))
        return false;
    memset(seen, 0, q->noptions * sizeof *seen);
    cJSON_ArrayForEach(c, v)
    {
        if (cJSON_IsArray(c)) {
            size_t members = 0;
            if (!q->allow_ties)
                return false;
            cJSON_ArrayForEach(t, c)
            {
                int k = s_option_index(q, cJSON_GetStringValue(t));
                if (k < 0 || seen[k] || n == q->noptions)
                    return false;
                seen[k] = true;
                order[n++] = (size_t)k;
                members++;
            }
            if (members < 2)
                return false;
        } else {
            int k = s_option_index(q, cJSON_GetStringValue(c));
            if (k < 0 || seen[k] || n == q->noptions)
                return false;
            seen[k] = true;
            order[n++] = (size_t)k;
        }
        group_end[g++] = n;
    }
    *ngroups = g;
    return n == q->noptions;
}

/* One span, for the overlap check. */
typedef struct {
    double start, end;
} s_span;

static int s_span_cmp(const void *a, const void *b)
{
    const s_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Whether v is a valid span answer for q over a text of len code points. */
static bool s_spans_ok(const s_question *q, const cJSON *v, size_t len)
{
    const cJSON *c, *k;
    int n = cJSON_GetArraySize(v), i = 0;
    if (!cJSON_IsArray(v))
        return false;
    if (n == 0)
        return true;
    s_span *spans = malloc((size_t)n * sizeof *spans);
    if (!spans)
        return false;
    bool ok = true;
    cJSON_ArrayForEach(c, v)
    {
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(c, "start");
        const cJSON *je = cJSON_GetObjectItemCaseSensitive(c, "end");
        ok = cJSON_IsObject(c) && cJSON_IsNumber(js) && cJSON_IsNumber(je) &&
             js->valuedouble == floor(js->valuedouble) &&
             je->valuedouble == floor(je->valuedouble) && js->valuedouble >= 0 &&
             js->valuedouble < je->valuedouble && je->valuedouble <= (double)len &&
             s_option_index(
                 q, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "label"))) >= 0;
        if (!ok)
            break;
        cJSON_ArrayForEach(k, c) ok =
            ok && (strcmp(k->string, "start") == 0 || strcmp(k->string, "end") == 0 ||
                   strcmp(k->string, "label") == 0);
        if (!ok)
            break;
        spans[i++] = (s_span){js->valuedouble, je->valuedouble};
    }
    if (ok && !q->allow_overlapping) {
        qsort(spans, (size_t)n, sizeof *spans, s_span_cmp);
        double reach = spans[0].end;
        for (i = 1; i < n && ok; i++) {
            ok = spans[i].start >= reach;
            if (spans[i].end > reach)
                reach = spans[i].end;
        }
    }
    free(spans);
    return ok;
}

static bool s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Edits text (see simulate.h, step 3): replaces one to three words, or
 * appends a sentence. Returns a new string (caller frees) or NULL when out
 * of memory; *changed says whether it differs from text.
 */
static char *s_edit(const char *text, juror_sim_rng_t *rng, bool *changed)
{
    size_t len = strlen(text), nwords = 0;
    for (size_t i = 0; i < len; i++)
        nwords += !s_space(text[i]) && (i == 0 || s_space(text[i - 1]));
    bool replace = juror_sim_rng_below(rng, 2) == 0 && nwords > 0;
    char *out;
    size_t n = 0;
    if (replace) {
        /* Which word (by index) gets which replacement; SIZE_MAX: kept. */
        size_t *with = malloc(nwords * sizeof *with);
        if (!with)
            return NULL;
        for (size_t w = 0; w < nwords; w++)
            with[w] = SIZE_MAX;
        size_t edits = 1 + (size_t)juror_sim_rng_below(rng, 3);
        for (size_t e = 0; e < edits; e++)
            with[juror_sim_rng_below(rng, nwords)] = (size_t)juror_sim_rng_below(rng, S_NWORDS);
        /* Room: every word may grow to the longest replacement. */
        if (!(out = malloc(len + nwords * 16 + 1))) {
            free(with);
            return NULL;
        }
        size_t w = 0;
        for (size_t i = 0; i < len;) {
            if (s_space(text[i])) {
                out[n++] = text[i++];
                continue;
            }
            size_t e = i;
            while (e < len && !s_space(text[e]))
                e++;
            const char *rep = with[w] == SIZE_MAX ? NULL : s_words[with[w]];
            /* A replacement equal to the word would change nothing: take the next one. */
            if (rep && strlen(rep) == e - i && memcmp(rep, text + i, e - i) == 0)
                rep = s_words[(with[w] + 1) % S_NWORDS];
            if (rep) {
                memcpy(out + n, rep, strlen(rep));
                n += strlen(rep);
            } else {
                memcpy(out + n, text + i, e - i);
                n += e - i;
            }
            i = e;
            w++;
        }
        free(with);
    } else {
        const char *s = s_sentences[juror_sim_rng_below(rng, S_NSENTENCES)];
        if (!(out = malloc(len + strlen(s) + 1)))
            return NULL;
        memcpy(out, text, len);
        memcpy(out + len, s, strlen(s));
        n = len + strlen(s);
    }
    /* Stay within the limit, cutting at a code point boundary. */
    if (n > S_TEXT_MAX) {
        n = S_TEXT_MAX;
        while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--;
    }
    out[n] = '\0';
    *changed = strcmp(out, text) != 0;
    return out;
}

/* Builds the JSON value of a ranking from groups (a group of one is a plain string). */
static cJSON *s_ranking_json(const s_question *q, const size_t *order, const size_t *group_end,
                             size_t ngroups)
{
    cJSON *arr = cJSON_CreateArray();
    size_t start = 0;
    for (size_t g = 0; arr && g < ngroups; g++) {
        cJSON *item;
        if (group_end[g] - start == 1) {
            item = cJSON_CreateString(q->options[order[start]]);
        } else {
            item = cJSON_CreateArray();
            for (size_t i = start; item && i < group_end[g]; i++) {
                cJSON *s = cJSON_CreateString(q->options[order[i]]);
                if (!s || !cJSON_AddItemToArray(item, s)) {
                    cJSON_Delete(s);
                    cJSON_Delete(item);
                    item = NULL;
                }
            }
        }
        if (!item || !cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            cJSON_Delete(arr);
            return NULL;
        }
        start = group_end[g];
    }
    return arr;
}

/* A ranking answer (see simulate.h): the suggestion or settings order, maybe with two neighbouring
 * ranks swapped. */
static cJSON *s_answer_ranking(const s_question *q, const cJSON *sugg, bool wrong,
                               juror_sim_rng_t *rng)
{
    size_t n = q->noptions, ngroups = 0;
    size_t *order = malloc(n * sizeof *order), *group_end = malloc(n * sizeof *group_end);
    size_t *tmp = malloc(n * sizeof *tmp);
    bool *seen = malloc(n * sizeof *seen);
    cJSON *out = NULL;
    if (!order || !group_end || !tmp || !seen)
        goto done;
    if (!s_ranking_of(q, sugg, order, group_end, &ngroups, seen)) {
        for (size_t i = 0; i < n; i++) {
            order[i] = i;
            group_end[i] = i + 1;
        }
        ngroups = n;
    }
    if (wrong && ngroups == 1) {
        /* Everything tied: any ranking without the tie differs. */
        for (size_t i = 0; i < n; i++)
            group_end[i] = i + 1;
        ngroups = n;
    } else if (wrong) {
        size_t g = (size_t)juror_sim_rng_below(rng, ngroups - 1);
        size_t a0 = g == 0 ? 0 : group_end[g - 1], a1 = group_end[g], b1 = group_end[g + 1];
        /* Swap the entries of groups g and g+1: [a0,a1) and [a1,b1). */
        size_t k = 0;
        for (size_t i = a1; i < b1; i++)
            tmp[k++] = order[i];
        for (size_t i = a0; i < a1; i++)
            tmp[k++] = order[i];
        memcpy(order + a0, tmp, k * sizeof *tmp);
        group_end[g] = a0 + (b1 - a1);
    }
    out = s_ranking_json(q, order, group_end, ngroups);
done:
    free(order);
    free(group_end);
    free(tmp);
    free(seen);
    return out;
}

static cJSON *s_answer_multi(const s_question *q, const cJSON *sugg, bool wrong,
                             juror_sim_rng_t *rng)
{
    size_t n = q->noptions;
    bool *set = malloc(n * sizeof *set);
    cJSON *out = NULL;
    if (!set)
        return NULL;
    if (!s_multi_of(q, sugg, set)) {
        memset(set, 0, n * sizeof *set);
        set[0] = true;
    }
    if (wrong) {
        size_t k = (size_t)juror_sim_rng_below(rng, n);
        set[k] = !set[k];
        bool any = false;
        for (size_t i = 0; i < n; i++)
            any = any || set[i];
        if (!any) {
            /* It was {k} alone: {j} for another j differs and is not empty. */
            size_t j = (size_t)juror_sim_rng_below(rng, n - 1);
            set[j >= k ? j + 1 : j] = true;
        }
    }
    if ((out = cJSON_CreateArray()))
        for (size_t i = 0; i < n; i++) {
            cJSON *s;
            if (set[i] &&
                (!(s = cJSON_CreateString(q->options[i])) || !cJSON_AddItemToArray(out, s))) {
                cJSON_Delete(out);
                out = NULL;
                break;
            }
        }
    free(set);
    return out;
}

/* Picks one of n choices other than truth, uniformly. */
static size_t s_other(juror_sim_rng_t *rng, size_t n, size_t truth)
{
    size_t k = (size_t)juror_sim_rng_below(rng, n - 1);
    return k >= truth ? k + 1 : k;
}

void juror_sim_answer_clear(juror_sim_answer_t *a)
{
    if (!a)
        return;
    free(a->values_json);
    memset(a, 0, sizeof *a);
}

jury_err juror_sim_answer(const juror_sim_t *sim, const char *record_json, juror_sim_rng_t *rng,
                          juror_sim_answer_t *out, char *err, size_t errcap)
{
    jury_err rc = JURY_OK;
    cJSON *values = NULL;
    memset(out, 0, sizeof *out);
    if (err && errcap > 0)
        err[0] = '\0';
    cJSON *rec = record_json ? cJSON_Parse(record_json) : NULL;
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "id"));
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rec, "fields");
    const cJSON *suggestions = cJSON_GetObjectItemCaseSensitive(rec, "suggestions");
    const cJSON *metadata = cJSON_GetObjectItemCaseSensitive(rec, "metadata");
    if (!cJSON_IsObject(rec) || !id || !cJSON_IsObject(fields)) {
        rc = s_fail(err, errcap, "the record is not an object with an id and fields");
        goto done;
    }
    const juror_sim_spec_t *sp = &sim->spec;
    out->discard = juror_sim_rng_unit(rng) < sp->discard;
    out->think_ms =
        sp->think_min_ms +
        (uint32_t)juror_sim_rng_below(rng, (uint64_t)(sp->think_max_ms - sp->think_min_ms) + 1);
    if (out->discard)
        goto done;
    if (!(values = cJSON_CreateObject())) {
        rc = JURY_ENOMEM;
        goto done;
    }
    for (size_t qi = 0; qi < sim->nquestions; qi++) {
        const s_question *q = &sim->questions[qi];
        const cJSON *sugg = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(suggestions, q->name), "value");
        cJSON *v = NULL;
        switch (q->type) {
        case Q_OTHER:
            continue;
        case Q_TEXT: {
            bool edit = juror_sim_rng_unit(rng) < sp->edit;
            const char *s = cJSON_GetStringValue(sugg);
            if (s && s[0] && strlen(s) <= S_TEXT_MAX) {
                if (edit) {
                    bool changed = false;
                    char *e = s_edit(s, rng, &changed);
                    if (e)
                        v = cJSON_CreateString(e);
                    free(e);
                    out->edited += changed;
                } else {
                    v = cJSON_CreateString(s);
                }
            } else {
                char buf[1024];
                snprintf(buf, sizeof buf, "Simulated answer to %s for record %s.", q->name, id);
                v = cJSON_CreateString(buf);
            }
            break;
        }
        case Q_LABEL:
        case Q_RATING: {
            bool rating = q->type == Q_RATING;
            size_t n = rating ? q->nratings : q->noptions;
            int truth = -1;
            if ((int)qi == sim->gold_q) {
                truth = s_gold_index(q, cJSON_GetObjectItemCaseSensitive(metadata, sp->gold));
                out->gold_used = truth >= 0;
            }
            if (truth < 0 && sugg) {
                int r;
                truth = rating ? (s_integral(sugg, 0, 10, &r) ? s_rating_index(q, r) : -1)
                               : s_option_index(q, cJSON_GetStringValue(sugg));
            }
            if (truth < 0)
                truth = rating ? (int)q->middle : 0;
            size_t pick = (size_t)truth;
            if (juror_sim_rng_unit(rng) < sp->error && n > 1) {
                pick = s_other(rng, n, pick);
                out->wrong++;
            }
            v = rating ? cJSON_CreateNumber(q->ratings[pick])
                       : cJSON_CreateString(q->options[pick]);
            break;
        }
        case Q_MULTI:
        case Q_RANKING: {
            bool wrong = juror_sim_rng_unit(rng) < sp->error && q->noptions > 1;
            out->wrong += wrong;
            v = q->type == Q_MULTI ? s_answer_multi(q, sugg, wrong, rng)
                                   : s_answer_ranking(q, sugg, wrong, rng);
            break;
        }
        case Q_SPAN: {
            const char *text =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fields, q->field));
            if (!text) {
                if (!q->required)
                    continue;
                rc = s_fail(err, errcap,
                            "span question \"%s\" needs the field \"%s\", which the record lacks",
                            q->name, q->field);
                goto done;
            }
            v = sugg && s_spans_ok(q, sugg, s_codepoints(text)) ? cJSON_Duplicate(sugg, true)
                                                                : cJSON_CreateArray();
            break;
        }
        }
        if (!v || !cJSON_AddItemToObject(values, q->name, v)) {
            cJSON_Delete(v);
            rc = JURY_ENOMEM;
            goto done;
        }
    }
    if (!(out->values_json = cJSON_PrintUnformatted(values)))
        rc = JURY_ENOMEM;
done:
    if (rc == JURY_ENOMEM)
        s_fail(err, errcap, "out of memory");
    if (rc != JURY_OK)
        juror_sim_answer_clear(out);
    cJSON_Delete(values);
    cJSON_Delete(rec);
    return rc;
}
