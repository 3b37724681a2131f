/* agreement.c: inter-annotator agreement measures over plain arrays (see agreement.h). No I/O. */
#include "agreement.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

/* Category counts up to this size use stack scratch; larger ones allocate. */
#define S_STACK_K 256
/* Distinct values per unit tracked on the stack by the coincidence update. */
#define S_UNIT_DISTINCT 64
/* Marginals below this are rounding residue of add/remove, not data. */
#define S_RESIDUE 1e-9

static jury_measure_t s_value(double v)
{
    jury_measure_t m = {true, v, NULL};
    return m;
}

static jury_measure_t s_absent(const char *note)
{
    jury_measure_t m = {false, 0.0, note};
    return m;
}

/* ---------------------------------------------------------------------------------------------
 * Ratings grouped by unit
 * ------------------------------------------------------------------------------------------- */

/* Ratings grouped by unit: unit u's ratings are r[off[u]] .. r[off[u+1] - 1]. */
typedef struct {
    const jury_rating_t *r; /* grouped ratings: the input when it was sorted, else copy */
    jury_rating_t *copy;    /* owned counting-sorted copy, or NULL */
    size_t *off;            /* nunits + 1 offsets, owned */
    uint32_t nunits;        /* number of units */
    size_t max_m;           /* largest number of ratings in one unit */
    bool many_coders;       /* more than one distinct coder occurs */
} s_units_t;

static void s_units_free(s_units_t *u)
{
    free(u->copy);
    free(u->off);
    u->copy = NULL;
    u->off = NULL;
}

/*
 * Validates ratings (ncoders / k of 0 skip that check) and groups them by
 * unit. Input already sorted by unit is used in place; otherwise a counting
 * sort copies it, keeping each unit's ratings in input order.
 */
static jury_err s_units_build(s_units_t *u, const jury_rating_t *r, size_t n, uint32_t nunits,
                              uint32_t ncoders, uint32_t k)
{
    memset(u, 0, sizeof(*u));
    u->nunits = nunits;
    if (n > 0 && !r)
        return JURY_EINVAL;
    u->off = calloc((size_t)nunits + 1, sizeof(size_t));
    if (!u->off)
        return JURY_ENOMEM;
    bool sorted = true;
    for (size_t i = 0; i < n; i++) {
        if (r[i].unit >= nunits || (ncoders && r[i].coder >= ncoders) || (k && r[i].value >= k)) {
            s_units_free(u);
            return JURY_EINVAL;
        }
        if (i > 0 && r[i].unit < r[i - 1].unit)
            sorted = false;
        if (r[i].coder != r[0].coder)
            u->many_coders = true;
        u->off[r[i].unit + 1]++;
    }
    for (uint32_t i = 0; i < nunits; i++) {
        if (u->off[i + 1] > u->max_m)
            u->max_m = u->off[i + 1];
        u->off[i + 1] += u->off[i];
    }
    if (sorted) {
        u->r = r;
        return JURY_OK;
    }
    u->copy = malloc((n ? n : 1) * sizeof(jury_rating_t));
    if (!u->copy) {
        s_units_free(u);
        return JURY_ENOMEM;
    }
    /* off[x] serves as the cursor of unit x and ends at the start of x + 1; shift back after. */
    for (size_t i = 0; i < n; i++)
        u->copy[u->off[r[i].unit]++] = r[i];
    memmove(u->off + 1, u->off, (size_t)nunits * sizeof(size_t));
    u->off[0] = 0;
    u->r = u->copy;
    return JURY_OK;
}

/* Rejects a coder rating the same unit twice. seen has ncoders entries, zeroed; O(n). */
static jury_err s_units_check_dups(const s_units_t *u, uint32_t ncoders)
{
    uint32_t *seen = calloc(ncoders ? ncoders : 1, sizeof(uint32_t));
    if (!seen)
        return JURY_ENOMEM;
    jury_err rc = JURY_OK;
    for (uint32_t x = 0; x < u->nunits && rc == JURY_OK; x++) {
        /* seen[c] holds 1 + the last unit where c was met; 0 means never. */
        for (size_t i = u->off[x]; i < u->off[x + 1]; i++) {
            uint32_t c = u->r[i].coder;
            if (seen[c] == x + 1) {
                rc = JURY_EINVAL;
                break;
            }
            seen[c] = x + 1;
        }
    }
    free(seen);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Coincidence matrix
 * ------------------------------------------------------------------------------------------- */

struct jury_coincidence {
    uint32_t k; /* categories */
    double *o;  /* k x k row-major cells */
};

jury_coincidence_t *jury_coincidence_new(uint32_t k)
{
    if (k == 0 || (size_t)k > SIZE_MAX / sizeof(double) / k)
        return NULL;
    jury_coincidence_t *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    c->k = k;
    c->o = calloc((size_t)k * k, sizeof(double));
    if (!c->o) {
        free(c);
        return NULL;
    }
    return c;
}

void jury_coincidence_destroy(jury_coincidence_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->o);
    free(*self_p);
    *self_p = NULL;
}

uint32_t jury_coincidence_k(const jury_coincidence_t *c)
{
    return c->k;
}

/* Adds sign x one unit's pairs to o, values already validated. */
static void s_coinc_add(double *o, uint32_t k, const uint32_t *values, size_t m, double sign)
{
    if (m < 2)
        return;
    double w = sign / (double)(m - 1);
    uint32_t dv[S_UNIT_DISTINCT];
    double dc[S_UNIT_DISTINCT];
    size_t d = 0;
    for (size_t i = 0; i < m; i++) {
        size_t j = 0;
        while (j < d && dv[j] != values[i])
            j++;
        if (j < d) {
            dc[j] += 1.0;
            continue;
        }
        if (d == S_UNIT_DISTINCT) {
            /* Too many distinct values to count on the stack: every ordered pair directly. */
            for (size_t a = 0; a < m; a++)
                for (size_t b = 0; b < m; b++)
                    if (a != b)
                        o[(size_t)values[a] * k + values[b]] += w;
            return;
        }
        dv[d] = values[i];
        dc[d++] = 1.0;
    }
    for (size_t a = 0; a < d; a++) {
        double *row = o + (size_t)dv[a] * k;
        for (size_t b = 0; b < d; b++) {
            double pairs = a == b ? dc[a] * (dc[a] - 1.0) : dc[a] * dc[b];
            if (pairs > 0)
                row[dv[b]] += pairs * w;
        }
    }
}

static jury_err s_coinc_unit(jury_coincidence_t *c, const uint32_t *values, size_t m, double sign)
{
    if (!c || (m > 0 && !values))
        return JURY_EINVAL;
    for (size_t i = 0; i < m; i++)
        if (values[i] >= c->k)
            return JURY_EINVAL;
    s_coinc_add(c->o, c->k, values, m, sign);
    return JURY_OK;
}

jury_err jury_coincidence_add_unit(jury_coincidence_t *c, const uint32_t *values, size_t m)
{
    return s_coinc_unit(c, values, m, 1.0);
}

jury_err jury_coincidence_remove_unit(jury_coincidence_t *c, const uint32_t *values, size_t m)
{
    jury_err rc = s_coinc_unit(c, values, m, -1.0);
    if (rc == JURY_OK) {
        /* Clamp the rounding residue of subtraction so cells never go negative. */
        size_t kk = (size_t)c->k * c->k;
        for (size_t i = 0; i < kk; i++)
            if (c->o[i] < S_RESIDUE)
                c->o[i] = 0.0;
    }
    return rc;
}

/* Adds every pairable unit of grouped ratings to o (k x k). */
static jury_err s_coinc_add_units(double *o, uint32_t k, const s_units_t *u)
{
    uint32_t *vals = malloc((u->max_m ? u->max_m : 1) * sizeof(uint32_t));
    if (!vals)
        return JURY_ENOMEM;
    for (uint32_t x = 0; x < u->nunits; x++) {
        size_t m = u->off[x + 1] - u->off[x];
        if (m < 2)
            continue;
        const jury_rating_t *r = u->r + u->off[x];
        for (size_t i = 0; i < m; i++)
            vals[i] = r[i].value;
        s_coinc_add(o, k, vals, m, 1.0);
    }
    free(vals);
    return JURY_OK;
}

jury_err jury_coincidence_add_ratings(jury_coincidence_t *c, const jury_rating_t *ratings, size_t n,
                                      uint32_t nunits)
{
    if (!c)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, 0, c->k);
    if (rc != JURY_OK)
        return rc;
    rc = s_coinc_add_units(c->o, c->k, &u);
    s_units_free(&u);
    return rc;
}

jury_err jury_coincidence_merge(jury_coincidence_t *dst, const jury_coincidence_t *src)
{
    if (!dst || !src || dst->k != src->k)
        return JURY_EINVAL;
    size_t kk = (size_t)dst->k * dst->k;
    for (size_t i = 0; i < kk; i++)
        dst->o[i] += src->o[i];
    return JURY_OK;
}

void jury_coincidence_clear(jury_coincidence_t *c)
{
    memset(c->o, 0, (size_t)c->k * c->k * sizeof(double));
}

const double *jury_coincidence_matrix(const jury_coincidence_t *c)
{
    return c->o;
}

jury_err jury_coincidence_load(jury_coincidence_t *c, const double *matrix)
{
    if (!c || !matrix)
        return JURY_EINVAL;
    size_t kk = (size_t)c->k * c->k;
    for (size_t i = 0; i < kk; i++)
        if (!isfinite(matrix[i]) || matrix[i] < 0)
            return JURY_EINVAL;
    memcpy(c->o, matrix, kk * sizeof(double));
    return JURY_OK;
}

double jury_coincidence_total(const jury_coincidence_t *c)
{
    double n = 0;
    size_t kk = (size_t)c->k * c->k;
    for (size_t i = 0; i < kk; i++)
        n += c->o[i];
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Krippendorff's alpha
 * ------------------------------------------------------------------------------------------- */

/* delta^2 of categories c and j (c != j); nc are marginals, cum their prefix sums. */
static double s_delta(jury_alpha_level_t level, uint32_t c, uint32_t j, const double *nc,
                      const double *cum, const double *numeric)
{
    switch (level) {
    case JURY_ALPHA_NOMINAL:
        return 1.0;
    case JURY_ALPHA_ORDINAL: {
        uint32_t lo = c < j ? c : j, hi = c < j ? j : c;
        double d = cum[hi + 1] - cum[lo] - (nc[lo] + nc[hi]) / 2.0;
        return d * d;
    }
    case JURY_ALPHA_INTERVAL: {
        double d = numeric ? numeric[c] - numeric[j] : (double)c - (double)j;
        return d * d;
    }
    case JURY_ALPHA_RATIO: {
        double vc = numeric ? numeric[c] : (double)c, vj = numeric ? numeric[j] : (double)j;
        double s = vc + vj;
        if (s == 0)
            return 0.0;
        double d = (vc - vj) / s;
        return d * d;
    }
    }
    return 1.0;
}

jury_measure_t jury_alpha_from_coincidence(const double *matrix, uint32_t k,
                                           jury_alpha_level_t level, const double *numeric)
{
    if (!matrix || k == 0)
        return s_absent(JURY_NOTE_NO_PAIRABLE);
    double stack[2 * S_STACK_K + 1];
    double *heap = NULL, *nc = stack;
    if (k > S_STACK_K) {
        heap = malloc((2 * (size_t)k + 1) * sizeof(double));
        if (!heap)
            return s_absent(JURY_NOTE_OUT_OF_MEMORY);
        nc = heap;
    }
    double *cum = nc + k;
    double n = 0;
    cum[0] = 0;
    for (uint32_t c = 0; c < k; c++) {
        double s = 0;
        for (uint32_t j = 0; j < k; j++)
            s += matrix[(size_t)c * k + j];
        nc[c] = s < S_RESIDUE ? 0.0 : s;
        n += nc[c];
        cum[c + 1] = cum[c] + nc[c];
    }
    jury_measure_t out;
    if (n < 2.0 - S_RESIDUE) {
        out = s_absent(JURY_NOTE_NO_PAIRABLE);
        goto done;
    }
    double dobs = 0, dexp = 0;
    for (uint32_t c = 0; c < k; c++) {
        if (nc[c] == 0)
            continue;
        const double *row = matrix + (size_t)c * k;
        for (uint32_t j = 0; j < k; j++) {
            if (j == c || nc[j] == 0)
                continue;
            double d = s_delta(level, c, j, nc, cum, numeric);
            dobs += row[j] * d;
            dexp += nc[c] * nc[j] * d;
        }
    }
    if (!(dexp > 0) || !isfinite(dexp) || !isfinite(dobs))
        out = s_absent(JURY_NOTE_NO_VARIATION);
    else
        out = s_value(1.0 - (n - 1.0) * dobs / dexp);
done:
    free(heap);
    return out;
}

jury_err jury_alpha(const jury_rating_t *ratings, size_t n, uint32_t nunits, uint32_t k,
                    jury_alpha_level_t level, const double *numeric, jury_measure_t *out)
{
    if (!out || k == 0 || (size_t)k > SIZE_MAX / sizeof(double) / k)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, 0, k);
    if (rc != JURY_OK)
        return rc;
    double *o = NULL;
    if (n > 0 && !u.many_coders) {
        *out = s_absent(JURY_NOTE_ONE_ANNOTATOR);
        goto done;
    }
    o = calloc((size_t)k * k, sizeof(double));
    if (!o) {
        rc = JURY_ENOMEM;
        goto done;
    }
    if ((rc = s_coinc_add_units(o, k, &u)) != JURY_OK)
        goto done;
    *out = jury_alpha_from_coincidence(o, k, level, numeric);
    if (!out->ok && strcmp(out->note, JURY_NOTE_OUT_OF_MEMORY) == 0)
        rc = JURY_ENOMEM;
done:
    free(o);
    s_units_free(&u);
    return rc;
}

/* splitmix64 steps its state by this constant per number drawn (s_rand). */
#define S_SPLITMIX_STEP 0x9E3779B97F4A7C15ULL

/* splitmix64: a small, well-mixed, seedable generator (Steele, Lea, Flood 2014). */
static uint64_t s_rand(uint64_t *state)
{
    uint64_t z = (*state += S_SPLITMIX_STEP);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) by Lemire's multiply-shift (bias < bound / 2^32, negligible here). */
static uint32_t s_rand_below(uint64_t *state, uint32_t bound)
{
    return (uint32_t)(((s_rand(state) >> 32) * (uint64_t)bound) >> 32);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile p of sorted v[0..n-1], linear interpolation between order statistics (R type 7). */
static double s_quantile(const double *v, size_t n, double p)
{
    double h = p * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

/* Sorts a short array of values in place (units hold few values). */
static void s_sort_small(uint32_t *v, size_t m)
{
    for (size_t i = 1; i < m; i++) {
        uint32_t x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static uint64_t s_hash_values(const uint32_t *v, size_t m)
{
    uint64_t h = 0xCBF29CE484222325ULL ^ m;
    for (size_t i = 0; i < m; i++)
        h = (h ^ v[i]) * 0x100000001B3ULL;
    return h ^ (h >> 29);
}

/*
 * The pairable units of a data set reduced to distinct patterns (the sorted
 * multiset of a unit's values): a bootstrap replicate then only counts how
 * often each pattern was drawn and adds each pattern's coincidences once.
 */
typedef struct {
    uint32_t *unit_pat; /* pattern of each pairable unit */
    uint8_t *unit_pat8; /* the same as bytes when npat <= 256 (a quarter of the memory), or NULL */
    uint16_t *unit_pat16; /* the same as 16 bits when 256 < npat <= 65536, or NULL */
    size_t nunits;        /* pairable units */
    size_t npat;          /* distinct patterns */
    size_t *cell_start;   /* npat + 1 offsets into cell/weight */
    size_t *cell;         /* coincidence cell c * k + d a pattern adds to */
    double *weight;       /* what it adds there per draw */
} s_patterns_t;

static void s_patterns_free(s_patterns_t *p)
{
    free(p->unit_pat);
    free(p->unit_pat8);
    free(p->unit_pat16);
    free(p->cell_start);
    free(p->cell);
    free(p->weight);
}

static jury_err s_patterns_build(s_patterns_t *p, const s_units_t *u, uint32_t k)
{
    memset(p, 0, sizeof(*p));
    size_t total = u->off[u->nunits];
    uint32_t *vals = malloc((u->max_m ? u->max_m : 1) * sizeof(uint32_t));
    uint32_t *pool = malloc((total ? total : 1) * sizeof(uint32_t)); /* patterns' values */
    size_t *pstart = malloc((total + 1) * sizeof(size_t));           /* pattern -> pool */
    size_t cap = 16;
    while (cap < 2 * (size_t)u->nunits + 2)
        cap *= 2;
    uint32_t *slot = malloc(cap * sizeof(uint32_t)); /* hash slot -> pattern + 1, 0 empty */
    p->unit_pat = malloc(((size_t)u->nunits + 1) * sizeof(uint32_t));
    jury_err rc = JURY_ENOMEM;
    if (!vals || !pool || !pstart || !slot || !p->unit_pat)
        goto done;
    memset(slot, 0, cap * sizeof(uint32_t));
    size_t used = 0;
    pstart[0] = 0;
    for (uint32_t x = 0; x < u->nunits; x++) {
        size_t m = u->off[x + 1] - u->off[x];
        if (m < 2)
            continue;
        for (size_t i = 0; i < m; i++)
            vals[i] = u->r[u->off[x] + i].value;
        s_sort_small(vals, m);
        size_t h = (size_t)s_hash_values(vals, m) & (cap - 1);
        for (;;) {
            if (!slot[h]) {
                memcpy(pool + used, vals, m * sizeof(uint32_t));
                used += m;
                pstart[++p->npat] = used;
                slot[h] = (uint32_t)p->npat;
                break;
            }
            size_t q = slot[h] - 1;
            if (pstart[q + 1] - pstart[q] == m &&
                memcmp(pool + pstart[q], vals, m * sizeof(uint32_t)) == 0)
                break;
            h = (h + 1) & (cap - 1);
        }
        p->unit_pat[p->nunits++] = slot[h] - 1;
    }
    /* Each pattern's cells: distinct value pairs, at most (values in the pattern)^2 in all. */
    size_t ncells = 0;
    for (size_t q = 0; q < p->npat; q++) {
        size_t d = 1;
        for (size_t i = pstart[q] + 1; i < pstart[q + 1]; i++)
            d += pool[i] != pool[i - 1];
        ncells += d * d;
    }
    p->cell_start = malloc((p->npat + 1) * sizeof(size_t));
    p->cell = malloc((ncells ? ncells : 1) * sizeof(size_t));
    p->weight = malloc((ncells ? ncells : 1) * sizeof(double));
    if (!p->cell_start || !p->cell || !p->weight)
        goto done;
    size_t at = 0;
    for (size_t q = 0; q < p->npat; q++) {
        p->cell_start[q] = at;
        const uint32_t *v = pool + pstart[q];
        size_t m = pstart[q + 1] - pstart[q];
        double w = 1.0 / (double)(m - 1);
        /* Runs of equal values in the sorted pattern are the distinct values and counts. */
        for (size_t i = 0; i < m;) {
            size_t ie = i;
            while (ie < m && v[ie] == v[i])
                ie++;
            for (size_t j = 0; j < m;) {
                size_t je = j;
                while (je < m && v[je] == v[j])
                    je++;
                double ni = (double)(ie - i), nj = (double)(je - j);
                double pairs = i == j ? ni * (ni - 1.0) : ni * nj;
                if (pairs > 0) {
                    p->cell[at] = (size_t)v[i] * k + v[j];
                    p->weight[at++] = pairs * w;
                }
                j = je;
            }
            i = ie;
        }
    }
    p->cell_start[p->npat] = at;
    /* A replicate draws a unit at random nunits times: a narrower copy of unit_pat keeps more of
     * it in cache. Without memory for it, the 32-bit one serves. */
    if (p->npat <= 256 && (p->unit_pat8 = malloc(p->nunits ? p->nunits : 1)) != NULL) {
        for (size_t i = 0; i < p->nunits; i++)
            p->unit_pat8[i] = (uint8_t)p->unit_pat[i];
    } else if (p->npat > 256 && p->npat <= 65536 &&
               (p->unit_pat16 = malloc((p->nunits ? p->nunits : 1) * sizeof(uint16_t))) != NULL) {
        for (size_t i = 0; i < p->nunits; i++)
            p->unit_pat16[i] = (uint16_t)p->unit_pat[i];
    }
    rc = JURY_OK;
done:
    free(vals);
    free(pool);
    free(pstart);
    free(slot);
    if (rc != JURY_OK)
        s_patterns_free(p);
    return rc;
}

/* Tallies of one bootstrap replicate (see jury_alpha_bootstrap). */
#define S_DRAW_LANES 4

/* Draws nu units at random from the nu pairable units and counts each one's pattern (from
 * unit_pat) in drawn, the draws in turn spread over the S_DRAW_LANES tallies of np patterns. */
#define S_DRAW(unit_pat)                                                                           \
    do {                                                                                           \
        size_t i_ = 0;                                                                             \
        for (; i_ + S_DRAW_LANES <= nu; i_ += S_DRAW_LANES)                                        \
            for (size_t l_ = 0; l_ < S_DRAW_LANES; l_++)                                           \
                drawn[l_ * np + (unit_pat)[s_rand_below(&state, nu)]]++;                           \
        for (; i_ < nu; i_++)                                                                      \
            drawn[(unit_pat)[s_rand_below(&state, nu)]]++;                                         \
    } while (0)

/* The most threads a bootstrap uses, and the fewest draws (replicates x units) worth a thread. */
#define S_BOOT_THREADS_MAX      8
#define S_BOOT_DRAWS_PER_THREAD 2000000ULL

/* Replicates [from, to) of a bootstrap: vals[t] and ok[t] for each. */
typedef struct {
    const s_patterns_t *pat;
    uint32_t k;
    jury_alpha_level_t level;
    const double *numeric;
    uint64_t seed;
    uint32_t from, to;
    double *vals;
    bool *ok;
    jury_err rc;
} s_boot_job_t;

/*
 * Runs the replicates of job. Replicate t draws nunits numbers, each one s_rand step, so it
 * starts from seed + t * nunits steps whatever thread runs it: the replicates, and so the
 * interval, are the same for any number of threads.
 */
static void *s_boot_run(void *arg)
{
    s_boot_job_t *job = arg;
    const s_patterns_t *pat = job->pat;
    uint32_t k = job->k;
    size_t np = pat->npat;
    uint32_t nu = (uint32_t)pat->nunits;
    double *o = malloc((size_t)k * k * sizeof(double));
    /* S_DRAW_LANES tallies, one per lane of draws, summed after: consecutive draws of the same
     * pattern then do not wait on each other's increment. The counts, and so the replicate, are
     * the same as with one tally. */
    uint32_t *drawn = calloc((np ? np : 1) * S_DRAW_LANES, sizeof(uint32_t));
    if (!o || !drawn) {
        job->rc = JURY_ENOMEM;
        goto done;
    }
    for (uint32_t t = job->from; t < job->to; t++) {
        uint64_t state = job->seed + (uint64_t)t * nu * S_SPLITMIX_STEP;
        memset(drawn, 0, np * S_DRAW_LANES * sizeof(uint32_t));
        if (pat->unit_pat8)
            S_DRAW(pat->unit_pat8);
        else if (pat->unit_pat16)
            S_DRAW(pat->unit_pat16);
        else
            S_DRAW(pat->unit_pat);
        for (size_t q = 0; q < np; q++)
            for (size_t l = 1; l < S_DRAW_LANES; l++)
                drawn[q] += drawn[l * np + q];
        memset(o, 0, (size_t)k * k * sizeof(double));
        for (size_t q = 0; q < np; q++) {
            if (!drawn[q])
                continue;
            for (size_t c = pat->cell_start[q]; c < pat->cell_start[q + 1]; c++)
                o[pat->cell[c]] += (double)drawn[q] * pat->weight[c];
        }
        jury_measure_t r = jury_alpha_from_coincidence(o, k, job->level, job->numeric);
        job->ok[t] = r.ok;
        job->vals[t] = r.value;
    }
    job->rc = JURY_OK;
done:
    free(o);
    free(drawn);
    return NULL;
}

/* Threads for a bootstrap of `replicates` x `nunits` draws: one per online CPU, at most
 * S_BOOT_THREADS_MAX, and none that would have less than S_BOOT_DRAWS_PER_THREAD draws. */
static size_t s_boot_threads(uint32_t replicates, size_t nunits)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > 1 ? (size_t)cpus : 1;
    if (want > S_BOOT_THREADS_MAX)
        want = S_BOOT_THREADS_MAX;
    unsigned long long draws = (unsigned long long)replicates * nunits;
    size_t worth = (size_t)(draws / S_BOOT_DRAWS_PER_THREAD);
    if (want > worth)
        want = worth ? worth : 1;
    return want > replicates ? replicates : want;
}

jury_err jury_alpha_bootstrap(const jury_rating_t *ratings, size_t n, uint32_t nunits, uint32_t k,
                              jury_alpha_level_t level, const double *numeric, uint32_t replicates,
                              double confidence, uint64_t seed, jury_interval_t *out)
{
    return jury_alpha_bootstrap_threads(ratings, n, nunits, k, level, numeric, replicates,
                                        confidence, seed, 0, out);
}

jury_err jury_alpha_bootstrap_threads(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                      uint32_t k, jury_alpha_level_t level, const double *numeric,
                                      uint32_t replicates, double confidence, uint64_t seed,
                                      unsigned threads, jury_interval_t *out)
{
    if (!out || replicates == 0 || !(confidence > 0 && confidence < 1) ||
        threads > S_BOOT_THREADS_MAX)
        return JURY_EINVAL;
    jury_measure_t point;
    jury_err rc = jury_alpha(ratings, n, nunits, k, level, numeric, &point);
    if (rc != JURY_OK)
        return rc;
    if (!point.ok) {
        jury_interval_t none = {false, 0, 0, 0, point.note};
        *out = none;
        return JURY_OK;
    }
    s_units_t u;
    if ((rc = s_units_build(&u, ratings, n, nunits, 0, k)) != JURY_OK)
        return rc;
    s_patterns_t pat;
    if ((rc = s_patterns_build(&pat, &u, k)) != JURY_OK) {
        s_units_free(&u);
        return rc;
    }
    double *vals = malloc((size_t)replicates * sizeof(double));
    bool *ok = calloc(replicates, sizeof(bool));
    s_boot_job_t jobs[S_BOOT_THREADS_MAX];
    pthread_t tids[S_BOOT_THREADS_MAX];
    bool started[S_BOOT_THREADS_MAX] = {false};
    size_t nthreads = threads == 0           ? s_boot_threads(replicates, pat.nunits)
                      : threads > replicates ? replicates
                                             : threads;
    if (!vals || !ok) {
        rc = JURY_ENOMEM;
        goto done;
    }
    /* The replicates in nthreads contiguous shares; the first runs on this thread, and so does
     * any share whose thread cannot be started. */
    for (size_t i = 0; i < nthreads; i++) {
        jobs[i] = (s_boot_job_t){.pat = &pat,
                                 .k = k,
                                 .level = level,
                                 .numeric = numeric,
                                 .seed = seed,
                                 .from = (uint32_t)((uint64_t)replicates * i / nthreads),
                                 .to = (uint32_t)((uint64_t)replicates * (i + 1) / nthreads),
                                 .vals = vals,
                                 .ok = ok,
                                 .rc = JURY_OK};
        if (i > 0)
            started[i] = pthread_create(&tids[i], NULL, s_boot_run, &jobs[i]) == 0;
    }
    for (size_t i = 0; i < nthreads; i++)
        if (!started[i])
            s_boot_run(&jobs[i]);
    for (size_t i = 1; i < nthreads; i++)
        if (started[i])
            pthread_join(tids[i], NULL);
    for (size_t i = 0; i < nthreads; i++)
        if (jobs[i].rc != JURY_OK)
            rc = jobs[i].rc;
    if (rc != JURY_OK)
        goto done;
    uint32_t good = 0;
    for (uint32_t t = 0; t < replicates; t++)
        if (ok[t])
            vals[good++] = vals[t];
    if (good == 0) {
        jury_interval_t none = {false, 0, 0, 0, JURY_NOTE_NO_REPLICATES};
        *out = none;
    } else {
        qsort(vals, good, sizeof(double), s_cmp_double);
        jury_interval_t ci = {true, s_quantile(vals, good, (1.0 - confidence) / 2.0),
                              s_quantile(vals, good, (1.0 + confidence) / 2.0), good, NULL};
        *out = ci;
    }
done:
    free(vals);
    free(ok);
    s_patterns_free(&pat);
    s_units_free(&u);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Alpha with any distance
 * ------------------------------------------------------------------------------------------- */

jury_err jury_alpha_distance(const uint32_t *values, const uint32_t *counts, uint32_t nunits,
                             uint32_t nitems, jury_distance_fn dist, void *arg, jury_measure_t *out)
{
    if (!out || !dist || (nunits > 0 && !counts))
        return JURY_EINVAL;
    size_t total = 0;
    for (uint32_t x = 0; x < nunits; x++)
        total += counts[x];
    if (total > 0 && !values)
        return JURY_EINVAL;
    for (size_t i = 0; i < total; i++)
        if (values[i] >= nitems)
            return JURY_EINVAL;
    double *freq = calloc(nitems ? nitems : 1, sizeof(double));
    uint32_t *items = malloc((nitems ? nitems : 1) * sizeof(uint32_t));
    jury_err rc = JURY_OK;
    if (!freq || !items) {
        rc = JURY_ENOMEM;
        goto done;
    }
    double dobs = 0, n = 0;
    size_t at = 0;
    for (uint32_t x = 0; x < nunits; x++) {
        const uint32_t *v = values + at;
        size_t m = counts[x];
        at += m;
        if (m < 2)
            continue;
        double sum = 0;
        for (size_t i = 0; i < m; i++) {
            freq[v[i]] += 1.0;
            for (size_t j = i + 1; j < m; j++) {
                if (v[i] == v[j])
                    continue;
                double d;
                if ((rc = dist(v[i], v[j], arg, &d)) != JURY_OK)
                    goto done;
                if (!(d >= 0) || !isfinite(d)) {
                    rc = JURY_EINVAL;
                    goto done;
                }
                sum += d;
            }
        }
        /* Each unordered pair stands for both ordered pairs of the coincidence matrix. */
        dobs += 2.0 * sum / (double)(m - 1);
        n += (double)m;
    }
    if (n == 0) {
        *out = s_absent(JURY_NOTE_NO_PAIRABLE);
        goto done;
    }
    size_t d = 0;
    for (uint32_t i = 0; i < nitems; i++)
        if (freq[i] > 0)
            items[d++] = i;
    double dexp = 0;
    for (size_t a = 0; a < d; a++) {
        for (size_t b = a + 1; b < d; b++) {
            double dd;
            if ((rc = dist(items[a], items[b], arg, &dd)) != JURY_OK)
                goto done;
            if (!(dd >= 0) || !isfinite(dd)) {
                rc = JURY_EINVAL;
                goto done;
            }
            dexp += 2.0 * freq[items[a]] * freq[items[b]] * dd;
        }
    }
    if (!(dexp > 0))
        *out = s_absent(JURY_NOTE_NO_VARIATION);
    else
        *out = s_value(1.0 - (n - 1.0) * dobs / dexp);
done:
    free(freq);
    free(items);
    return rc;
}

double jury_distance_masi(const jury_labelset_t *a, const jury_labelset_t *b)
{
    size_t i = 0, j = 0, inter = 0;
    while (i < a->n && j < b->n) {
        if (a->labels[i] == b->labels[j]) {
            inter++;
            i++;
            j++;
        } else if (a->labels[i] < b->labels[j]) {
            i++;
        } else {
            j++;
        }
    }
    size_t uni = a->n + b->n - inter;
    if (uni == 0)
        return 0.0;
    double m;
    if (inter == a->n && inter == b->n)
        m = 1.0;
    else if (inter == a->n || inter == b->n)
        m = 2.0 / 3.0;
    else if (inter > 0)
        m = 1.0 / 3.0;
    else
        m = 0.0;
    return 1.0 - (double)inter / (double)uni * m;
}

double jury_distance_kendall_tau(const jury_ranking_t *a, const jury_ranking_t *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    if (n < 2)
        return 0.0;
    double bad = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            int sa = (a->rank[i] > a->rank[j]) - (a->rank[i] < a->rank[j]);
            int sb = (b->rank[i] > b->rank[j]) - (b->rank[i] < b->rank[j]);
            if (sa * sb < 0)
                bad += 1.0;
            else if ((sa == 0) != (sb == 0))
                bad += 0.5;
        }
    }
    return bad / ((double)n * (double)(n - 1) / 2.0);
}

/*
 * The symbol that starts at s[0], avail >= 1 bytes being left from there: a
 * well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or values
 * above U+10FFFF) is one code point; any other first byte c is the symbol
 * 0x110000 + c on its own, so no input fails and the bytes after it start
 * symbols of their own. Writes the symbol to *cp and returns its length in
 * bytes, 1 to 4.
 */
static inline size_t s_utf8_symbol(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned char c = s[0];
    uint32_t v;
    size_t need;
    if (c < 0x80) {
        v = c;
        need = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
        v = c & 0x1F;
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        v = c & 0x0F;
        need = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
        v = c & 0x07;
        need = 3;
    } else {
        v = 0x110000u + c;
        need = 0;
    }
    bool ok = need < avail || need == 0;
    for (size_t t = 1; ok && t <= need; t++) {
        if ((s[t] & 0xC0) != 0x80)
            ok = false;
        else
            v = (v << 6) | (s[t] & 0x3F);
    }
    if (ok && need == 2 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)))
        ok = false;
    if (ok && need == 3 && (v < 0x10000 || v > 0x10FFFF))
        ok = false;
    if (!ok) {
        v = 0x110000u + c;
        need = 0;
    }
    *cp = v;
    return need + 1;
}

/* The high bit of each of eight bytes: a word of ASCII has none of them set. */
#define S_HIGH_BITS 0x8080808080808080u

/*
 * Decodes UTF-8 into symbols (s_utf8_symbol) and returns how many there are.
 * out receives them all when there are at most cap (out may be NULL with cap
 * 0 to count); otherwise its contents are unspecified. *wide counts the
 * symbols that are not ASCII.
 */
static size_t s_utf8_decode(const unsigned char *s, size_t len, uint32_t *out, size_t cap,
                            size_t *wide)
{
    size_t n = 0, i = 0, w = 0;
    while (i < len) {
        /* Runs of ASCII, eight bytes at a time: most answers are mostly ASCII. */
        if (len - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if ((v & S_HIGH_BITS) == 0) {
                if (n + 8 <= cap) {
                    for (size_t k = 0; k < 8; k++)
                        out[n + k] = s[i + k];
                }
                n += 8;
                i += 8;
                continue;
            }
        }
        uint32_t cp = s[i];
        size_t k = 1;
        if (cp >= 0x80) {
            k = s_utf8_symbol(s + i, len - i, &cp);
            w++;
        }
        if (n < cap)
            out[n] = cp;
        n++;
        i += k;
    }
    *wide = w;
    return n;
}

/* The number of bytes of word v (as memcpy loaded it) before its first one that is not ASCII;
 * v has one. */
static inline size_t s_ascii_run(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(v & S_HIGH_BITS) / 8;
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (size_t)__builtin_clzll(v & S_HIGH_BITS) / 8;
#else
    unsigned char b[8];
    size_t k = 0;
    memcpy(b, &v, 8);
    while (b[k] < 0x80)
        k++;
    return k;
#endif
}

/* The number of symbols s_utf8_decode finds in s (len bytes), without decoding them. */
static size_t s_utf8_count(const unsigned char *s, size_t len)
{
    size_t n = 0, i = 0;
    while (i < len) {
        if (len - i >= 16) {
            uint64_t v[2];
            memcpy(v, s + i, 16);
            if (((v[0] | v[1]) & S_HIGH_BITS) == 0) {
                n += 16;
                i += 16;
                continue;
            }
        }
        if (len - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if ((v & S_HIGH_BITS) == 0) {
                n += 8;
                i += 8;
                continue;
            }
            /* Skip the ASCII before the first other byte at once, not one loop turn each. */
            size_t k = s_ascii_run(v);
            n += k;
            i += k;
        } else if (s[i] < 0x80) {
            n++;
            i++;
            continue;
        }
        uint32_t cp;
        i += s_utf8_symbol(s + i, len - i, &cp);
        n++;
    }
    return n;
}

/* Whether s (len bytes) is all ASCII. */
static bool s_ascii(const unsigned char *s, size_t len)
{
    uint64_t any = 0;
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        any |= v;
    }
    for (; i < len; i++)
        any |= s[i];
    return (any & S_HIGH_BITS) == 0;
}

/*
 * Whether a symbol of s (len bytes) starts at byte i, under s_utf8_decode's
 * rule; 0 and len always do. Only a continuation byte (10xxxxxx) can be
 * inside a symbol, since no well-formed sequence holds another byte after its
 * first: then the last byte before i that is not one starts a symbol, and i
 * is inside it exactly when that symbol is well formed and reaches past i. A
 * symbol is at most 4 bytes, so only 3 bytes back matter.
 */
static bool s_utf8_starts(const unsigned char *s, size_t len, size_t i)
{
    if (i == 0 || i >= len || (s[i] & 0xC0) != 0x80)
        return true;
    for (size_t k = 1; k <= 3 && k <= i; k++) {
        if ((s[i - k] & 0xC0) != 0x80) {
            uint32_t cp;
            return s_utf8_symbol(s + i - k, len - (i - k), &cp) <= k;
        }
    }
    return true;
}

/* The length of the longest common prefix of a and b, at most n bytes; 16 at a time. */
static size_t s_common_prefix(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t i = 0;
    for (; n - i >= 16; i += 16) {
        uint64_t x[2], y[2];
        memcpy(x, a + i, 16);
        memcpy(y, b + i, 16);
        if (((x[0] ^ y[0]) | (x[1] ^ y[1])) != 0)
            break;
    }
    for (; n - i >= 8; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            break;
    }
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* The length of the longest common suffix of the bytes before a_end and b_end, at most n. */
static size_t s_common_suffix(const unsigned char *a_end, const unsigned char *b_end, size_t n)
{
    size_t i = 0;
    for (; n - i >= 16; i += 16) {
        uint64_t x[2], y[2];
        memcpy(x, a_end - i - 16, 16);
        memcpy(y, b_end - i - 16, 16);
        if (((x[0] ^ y[0]) | (x[1] ^ y[1])) != 0)
            break;
    }
    for (; n - i >= 8; i += 8) {
        uint64_t x, y;
        memcpy(&x, a_end - i - 8, 8);
        memcpy(&y, b_end - i - 8, 8);
        if (x != y)
            break;
    }
    while (i < n && *(a_end - 1 - i) == *(b_end - 1 - i))
        i++;
    return i;
}

/*
 * Levenshtein distance, bit-parallel (Myers 1999, in Hyyro's 2003 form for
 * the global distance). The shorter string, the pattern, runs down the rows of
 * the DP table and the other, the text, along its columns. Each 64-row block
 * of a column is one machine word of vertical deltas (VP: +1, VN: -1), and one
 * text symbol advances a block in a couple of dozen word operations. Patterns
 * over 64 symbols use Myers' blocks: the horizontal delta leaving the bottom
 * of a block at column j enters the top of the next block at column j.
 *
 * Blocks go in strips of up to S_EDIT_STRIP, advanced together column by
 * column: each block's chain of operations is serial, and the blocks of a
 * strip are what keeps the processor busy. A pattern longer than one strip is
 * done strip after strip across the whole text, the deltas between two strips
 * kept as two bit rows (+1 and -1) as long as the text. The match masks are
 * thus needed for one strip at a time, which keeps memory at O(pattern + text)
 * however many distinct symbols the pattern has.
 *
 * The masks of a strip are a table of rows of `stride` words: row c for ASCII
 * c, row S_EDIT_ABSENT (all zero) for any other symbol not in the pattern,
 * then one row per distinct non-ASCII symbol of the pattern, whose row numbers
 * an open-addressing hash hands out. Symbols are replaced by their row numbers
 * before the sweep, so a column costs one load per block. When both strings
 * are ASCII, their bytes are their rows and are swept as they are.
 */

/* Texts up to this many code points are compared on the stack, without allocation. */
#define S_EDIT_STACK 256
/* Blocks of 64 pattern rows advanced together. */
#define S_EDIT_STRIP 4
/* The all-zero row of the mask table, for symbols the pattern does not have. */
#define S_EDIT_ABSENT 128
/* Hash slots on the stack: twice the non-ASCII symbols a stack-sized pattern can have. */
#define S_EDIT_HASH_STACK (2 * S_EDIT_STACK)
/* Words of one bit row of deltas for a stack-sized text. */
#define S_EDIT_CARRY_STACK ((S_EDIT_STACK + 63) / 64)

/* One slot of the non-ASCII symbol hash. */
typedef struct {
    uint32_t cp;  /* code point (or 0x110000 + invalid byte) */
    uint32_t row; /* its row in the mask table; 0 marks an empty slot */
} s_edit_slot_t;

/* The non-ASCII symbols of a pattern: a hash from code point to mask table row. */
typedef struct {
    s_edit_slot_t *slots; /* a power of two of them, at most half used */
    uint32_t mask;        /* number of slots - 1 */
    uint32_t shift;       /* 32 - log2(slots), for Fibonacci hashing */
    uint32_t next;        /* the row the next new symbol gets */
} s_edit_names_t;

/* The slot of cp: where it is, or the empty slot where it belongs. */
static s_edit_slot_t *s_edit_slot(const s_edit_names_t *nm, uint32_t cp)
{
    uint32_t h = (cp * 0x9E3779B1u) >> nm->shift;
    while (nm->slots[h].row != 0 && nm->slots[h].cp != cp)
        h = (h + 1) & nm->mask;
    return &nm->slots[h];
}

/*
 * Advances one 64-row block by one column: eq is the block's match mask for
 * the column's symbol, *vp and *vn its vertical deltas, *hp and *hn the
 * horizontal delta entering its top (1 for +1 and -1 respectively), replaced
 * with the one leaving row `bit`, the block's last.
 */
static inline __attribute__((always_inline)) void
s_edit_step(uint64_t eq, uint64_t *vp, uint64_t *vn, uint64_t *hp, uint64_t *hn, unsigned bit)
{
    uint64_t xv = eq | *vn;
    /* A -1 entering at the top acts as a match in the first row: it is the carry of the
     * addition below from the block above (Myers 1999, section 4). */
    eq |= *hn;
    uint64_t xh = (((eq & *vp) + *vp) ^ *vp) | eq;
    uint64_t ph = *vn | ~(xh | *vp), mh = *vp & xh;
    uint64_t outp = (ph >> bit) & 1, outn = (mh >> bit) & 1;
    ph = (ph << 1) | *hp;
    mh = (mh << 1) | *hn;
    *vp = mh | ~(xv | ph);
    *vn = ph & xv;
    *hp = outp;
    *hn = outn;
}

/* The state of a strip of blocks as it advances across the text. */
typedef struct {
    const uint32_t *t;       /* the text, as mask table rows */
    const unsigned char *t8; /* the same as bytes, when the text is ASCII (its own rows) */
    size_t n;                /* its length */
    const uint64_t *peq;     /* the mask table: row r is peq[r * stride ..] */
    uint64_t *cp, *cn;       /* bit rows of deltas between strips, when not alone */
    size_t sum;              /* sum of the bottom deltas so far (wraps), when alone */
    uint64_t vp[S_EDIT_STRIP], vn[S_EDIT_STRIP]; /* each block's vertical deltas */
    uint64_t hp[S_EDIT_STRIP], hn[S_EDIT_STRIP]; /* delta waiting to enter block b >= 1 */
} s_edit_strip_t;

/*
 * Advances block b of a strip of nb blocks at diagonal j: block b is at
 * column j - b, the column block b - 1 finished in the previous diagonal, so
 * that the blocks of one diagonal do not wait for each other. With `guard`,
 * a block off the text (j < b or j - b >= n, before its first column or
 * after its last) stays as it is. b, nb, guard and alone are constants at
 * each call site. `alone` is a strip that is the whole pattern: +1 enters its
 * top and its bottom deltas are summed, instead of read from and written to
 * the bit rows. `bytes` reads the text from s->t8 instead of s->t.
 */
static inline __attribute__((always_inline)) void s_edit_block(s_edit_strip_t *s, size_t j,
                                                               const int b, const int nb,
                                                               unsigned top, const bool guard,
                                                               const bool alone, const bool bytes)
{
    if (guard && (j < (size_t)b || j - (size_t)b >= s->n))
        return;
    size_t c = j - (size_t)b;
    uint64_t hp, hn;
    if (b > 0) {
        hp = s->hp[b];
        hn = s->hn[b];
    } else if (alone) {
        /* Row 0 of the table is 0, 1, 2, ...: +1 enters the top of every column. */
        hp = 1;
        hn = 0;
    } else {
        hp = (s->cp[c / 64] >> (c % 64)) & 1;
        hn = (s->cn[c / 64] >> (c % 64)) & 1;
    }
    /* A lone strip's rows are nb words, others' S_EDIT_STRIP: a constant either way. */
    size_t stride = alone ? (size_t)nb : S_EDIT_STRIP;
    size_t row = bytes ? (size_t)s->t8[c] : (size_t)s->t[c];
    s_edit_step(s->peq[row * stride + (size_t)b], &s->vp[b], &s->vn[b], &hp, &hn,
                b == nb - 1 ? top : 63);
    if (b < nb - 1) {
        s->hp[b + 1] = hp;
        s->hn[b + 1] = hn;
    } else if (alone) {
        s->sum += hp;
        s->sum -= hn;
    } else {
        uint64_t bit = (uint64_t)1 << (c % 64);
        s->cp[c / 64] = (s->cp[c / 64] & ~bit) | (hp << (c % 64));
        s->cn[c / 64] = (s->cn[c / 64] & ~bit) | (hn << (c % 64));
    }
}

/* Advances every block of a strip of nb blocks at diagonal j, the last first, so that each
 * takes the delta the block above left in the previous diagonal before it is replaced. */
static inline __attribute__((always_inline)) void
s_edit_diagonal(s_edit_strip_t *s, size_t j, const int nb, unsigned top, const bool guard,
                const bool alone, const bool bytes)
{
    if (nb > 3)
        s_edit_block(s, j, 3, nb, top, guard, alone, bytes);
    if (nb > 2)
        s_edit_block(s, j, 2, nb, top, guard, alone, bytes);
    if (nb > 1)
        s_edit_block(s, j, 1, nb, top, guard, alone, bytes);
    s_edit_block(s, j, 0, nb, top, guard, alone, bytes);
}

/*
 * Advances a strip of nb blocks (1 to S_EDIT_STRIP, a constant at each call
 * site, so that its state stays in registers) across the whole text; `top` is
 * the bit of the strip's last row in its last block. Alone (the strip is the
 * whole pattern), returns the sum of its bottom deltas, D[m][n] - D[m][0],
 * modulo 2^64. Otherwise s->cp and s->cn hold, bit c for column c, the delta
 * entering the strip's top (+1 and -1), and are overwritten with the one
 * leaving its bottom; returns 0.
 */
static inline __attribute__((always_inline)) size_t
s_edit_strip(s_edit_strip_t *s, const int nb, unsigned top, const bool alone, const bool bytes)
{
    for (int b = 0; b < S_EDIT_STRIP; b++) {
        s->vp[b] = ~(uint64_t)0; /* column 0 of the table is 0, 1, 2, ... */
        s->vn[b] = 0;
        s->hp[b] = s->hn[b] = 0;
    }
    s->sum = 0;
    /* Diagonals 0 .. n + nb - 2: the first and last nb - 1 have blocks off the text. */
    size_t lead = (size_t)nb - 1, n = s->n;
    for (size_t j = 0; j < lead; j++)
        s_edit_diagonal(s, j, nb, top, true, alone, bytes);
    for (size_t j = lead; j < n; j++)
        s_edit_diagonal(s, j, nb, top, false, alone, bytes);
    for (size_t k = 0; k < lead; k++) {
        if (n + k >= lead)
            s_edit_diagonal(s, n + k, nb, top, true, alone, bytes);
    }
    return s->sum;
}

/*
 * Sweeps the pattern, m >= 1 symbols given as mask table rows (p8 when
 * `bytes`, else p32), across the text st describes (st->n columns, its rows
 * in st->t8 or st->t, st->peq = peq, st->cp and st->cn nwords words each when
 * the pattern is longer than one strip), and returns the distance. peq has
 * rows of `stride` words, all zero on entry; those of a single strip keep the
 * pattern's bits on return, those of several strips are zero again.
 */
static inline __attribute__((always_inline)) size_t s_edit_sweep(s_edit_strip_t *st, uint64_t *peq,
                                                                 size_t stride, const uint32_t *p32,
                                                                 const unsigned char *p8, size_t m,
                                                                 size_t nwords, const bool bytes)
{
    size_t d = m, blocks = (m + 63) / 64, n = st->n;
    if (blocks <= S_EDIT_STRIP) {
        for (size_t i = 0; i < m; i++)
            peq[(bytes ? (size_t)p8[i] : (size_t)p32[i]) * stride + i / 64] |= (uint64_t)1
                                                                               << (i % 64);
        /* One call per width, each compiled with the strip's state in registers. D[m][n] is
         * D[m][0] = m plus the deltas along the bottom row. */
        unsigned top = (unsigned)((m - 1) % 64);
        switch (blocks) {
        case 1:
            d += s_edit_strip(st, 1, top, true, bytes);
            break;
        case 2:
            d += s_edit_strip(st, 2, top, true, bytes);
            break;
        case 3:
            d += s_edit_strip(st, 3, top, true, bytes);
            break;
        default:
            d += s_edit_strip(st, 4, top, true, bytes);
            break;
        }
        return d;
    }
    /* Row 0 of the table is 0, 1, 2, ...: +1 enters the first strip at every column (and
     * none past the last, where the sum below would count it). */
    for (size_t w = 0; w < nwords; w++) {
        st->cp[w] = ~(uint64_t)0;
        st->cn[w] = 0;
    }
    if (n % 64)
        st->cp[nwords - 1] = ((uint64_t)1 << (n % 64)) - 1;
    for (size_t r0 = 0; r0 < m; r0 += 64 * S_EDIT_STRIP) {
        size_t h = m - r0 < 64 * S_EDIT_STRIP ? m - r0 : 64 * S_EDIT_STRIP;
        for (size_t i = 0; i < h; i++)
            peq[(bytes ? (size_t)p8[r0 + i] : (size_t)p32[r0 + i]) * stride + i / 64] |=
                (uint64_t)1 << (i % 64);
        unsigned top = (unsigned)((h - 1) % 64);
        switch ((h + 63) / 64) {
        case 1:
            s_edit_strip(st, 1, top, false, bytes);
            break;
        case 2:
            s_edit_strip(st, 2, top, false, bytes);
            break;
        case 3:
            s_edit_strip(st, 3, top, false, bytes);
            break;
        default:
            s_edit_strip(st, 4, top, false, bytes);
            break;
        }
        for (size_t i = 0; i < h; i++)
            peq[(bytes ? (size_t)p8[r0 + i] : (size_t)p32[r0 + i]) * stride + i / 64] = 0;
    }
    for (size_t w = 0; w < nwords; w++)
        d = d + (size_t)__builtin_popcountll(st->cp[w]) - (size_t)__builtin_popcountll(st->cn[w]);
    return d;
}

/*
 * Levenshtein distance between x (lx symbols, at most wx of them not ASCII)
 * and y (ly, wy); both arrays are scratch and come back overwritten. Allocates
 * only when a string, after the common prefix and suffix, is longer than
 * S_EDIT_STACK. Errors: JURY_ENOMEM.
 */
static jury_err s_levenshtein(uint32_t *x, size_t lx, size_t wx, uint32_t *y, size_t ly, size_t wy,
                              size_t *out)
{
    size_t pre = 0;
    while (pre < lx && pre < ly && x[pre] == y[pre])
        pre++;
    x += pre, lx -= pre, y += pre, ly -= pre;
    while (lx > 0 && ly > 0 && x[lx - 1] == y[ly - 1])
        lx--, ly--;
    bool swap = lx > ly;
    uint32_t *p = swap ? y : x, *t = swap ? x : y;
    size_t m = swap ? ly : lx, n = swap ? lx : ly;
    size_t wp = swap ? wy : wx, wt = swap ? wx : wy;
    if (m == 0) {
        *out = n;
        return JURY_OK;
    }
    if (wp > m)
        wp = m;

    s_edit_names_t nm = {NULL, 0, 32, S_EDIT_ABSENT + 1};
    size_t nslots = 0;
    if (wp > 0) {
        nslots = 16, nm.shift = 28;
        while (nslots < 2 * wp)
            nslots *= 2, nm.shift--;
        nm.mask = (uint32_t)nslots - 1;
    }
    size_t blocks = (m + 63) / 64, stride = blocks < S_EDIT_STRIP ? blocks : S_EDIT_STRIP;
    /* Bit rows of deltas between strips: only a pattern of several strips needs them. */
    size_t nwords = blocks > S_EDIT_STRIP ? (n + 63) / 64 : 0, rows = S_EDIT_ABSENT + 1 + wp;
    s_edit_slot_t slot_stack[S_EDIT_HASH_STACK];
    uint64_t peq_stack[(S_EDIT_ABSENT + 1 + S_EDIT_STACK) * S_EDIT_STRIP];
    uint64_t carry_stack[2 * S_EDIT_CARRY_STACK];
    uint64_t *peq = peq_stack, *carry = carry_stack, *heap = NULL;
    nm.slots = slot_stack;
    if (m > S_EDIT_STACK || nwords > S_EDIT_CARRY_STACK || nslots > S_EDIT_HASH_STACK) {
        /* rows <= 129 + n, stride <= 4, nwords <= n, nslots <= 4n + 16, a slot is a word;
         * rows are uint32_t. */
        if (n > (SIZE_MAX / sizeof(uint64_t) - 1024) / 16 || n > UINT32_MAX / 4)
            return JURY_ENOMEM;
        heap = malloc((rows * stride + 2 * nwords + nslots) * sizeof(uint64_t));
        if (!heap)
            return JURY_ENOMEM;
        peq = heap;
        carry = peq + rows * stride;
        nm.slots = (s_edit_slot_t *)(void *)(carry + 2 * nwords);
    }
    /* Symbols to mask table rows: ASCII is its own row. */
    if (wp > 0) {
        memset(nm.slots, 0, nslots * sizeof(s_edit_slot_t));
        for (size_t i = 0; i < m; i++) {
            if (p[i] >= 128) {
                s_edit_slot_t *sl = s_edit_slot(&nm, p[i]);
                if (sl->row == 0) {
                    sl->cp = p[i];
                    sl->row = nm.next++;
                }
                p[i] = sl->row;
            }
        }
    }
    if (wt > 0) {
        for (size_t j = 0; j < n; j++) {
            if (t[j] >= 128) {
                uint32_t r = wp > 0 ? s_edit_slot(&nm, t[j])->row : 0;
                t[j] = r ? r : S_EDIT_ABSENT;
            }
        }
    }
    memset(peq, 0, (size_t)nm.next * stride * sizeof(uint64_t));

    s_edit_strip_t st;
    st.t = t;
    st.t8 = NULL;
    st.n = n;
    st.peq = peq;
    st.cp = carry;
    st.cn = carry + nwords;
    *out = s_edit_sweep(&st, peq, stride, p, NULL, m, nwords, false);
    free(heap);
    return JURY_OK;
}

/*
 * Levenshtein distance between ASCII texts x (lx bytes) and y (ly): each
 * byte is its own mask table row, so nothing is decoded or renamed. Allocates
 * only when the shorter text is over 64 x S_EDIT_STRIP bytes and the longer
 * over S_EDIT_STACK. Errors: JURY_ENOMEM.
 */
static jury_err s_levenshtein_ascii(const unsigned char *x, size_t lx, const unsigned char *y,
                                    size_t ly, size_t *out)
{
    bool swap = lx > ly;
    const unsigned char *p = swap ? y : x, *t = swap ? x : y;
    size_t m = swap ? ly : lx, n = swap ? lx : ly;
    if (m == 0) {
        *out = n;
        return JURY_OK;
    }
    size_t blocks = (m + 63) / 64, stride = blocks < S_EDIT_STRIP ? blocks : S_EDIT_STRIP;
    size_t nwords = blocks > S_EDIT_STRIP ? (n + 63) / 64 : 0;
    uint64_t peq[128 * S_EDIT_STRIP];
    uint64_t carry_stack[2 * S_EDIT_CARRY_STACK];
    uint64_t *carry = carry_stack, *heap = NULL;
    if (nwords > S_EDIT_CARRY_STACK) {
        heap = malloc(2 * nwords * sizeof(uint64_t));
        if (!heap)
            return JURY_ENOMEM;
        carry = heap;
    }
    if (m + n <= 64) {
        /* Short middles (a word replaced) read and write few rows, each of one word (m <= 32
         * rows of pattern): clear just those. */
        for (size_t j = 0; j < n; j++)
            peq[t[j]] = 0;
        for (size_t i = 0; i < m; i++)
            peq[p[i]] = 0;
    } else {
        memset(peq, 0, 128 * stride * sizeof(uint64_t));
    }
    s_edit_strip_t st;
    st.t = NULL;
    st.t8 = t;
    st.n = n;
    st.peq = peq;
    st.cp = carry;
    st.cn = carry + nwords;
    *out = s_edit_sweep(&st, peq, stride, NULL, p, m, nwords, true);
    free(heap);
    return JURY_OK;
}

/*
 * Distance between the differing middles x (lx bytes) and y (ly), each
 * starting and ending where symbols do; writes it and the two lengths in
 * symbols. Only these are decoded, and ASCII middles not even that.
 */
static jury_err s_edit_middles(const unsigned char *x, size_t lx, const unsigned char *y, size_t ly,
                               size_t *dist, size_t *cx, size_t *cy)
{
    if (lx == 0 || ly == 0) {
        *cx = s_utf8_count(x, lx);
        *cy = s_utf8_count(y, ly);
        *dist = *cx + *cy;
        return JURY_OK;
    }
    if (s_ascii(x, lx) && s_ascii(y, ly)) {
        *cx = lx;
        *cy = ly;
        return s_levenshtein_ascii(x, lx, y, ly, dist);
    }
    uint32_t stack_x[S_EDIT_STACK], stack_y[S_EDIT_STACK];
    size_t wx, wy;
    size_t nx = s_utf8_decode(x, lx, stack_x, S_EDIT_STACK, &wx);
    size_t ny = s_utf8_decode(y, ly, stack_y, S_EDIT_STACK, &wy);
    uint32_t *dx = stack_x, *dy = stack_y, *heap = NULL;
    if (nx > S_EDIT_STACK || ny > S_EDIT_STACK) {
        if (nx > SIZE_MAX / sizeof(uint32_t) - ny)
            return JURY_ENOMEM;
        heap = malloc((nx + ny) * sizeof(uint32_t));
        if (!heap)
            return JURY_ENOMEM;
        dx = heap;
        dy = heap + nx;
        s_utf8_decode(x, lx, dx, nx, &wx);
        s_utf8_decode(y, ly, dy, ny, &wy);
    }
    *cx = nx;
    *cy = ny;
    jury_err rc = s_levenshtein(dx, nx, wx, dy, ny, wy, dist);
    free(heap);
    return rc;
}

jury_err jury_distance_edit(const jury_text_t *a, const jury_text_t *b, double *out)
{
    if (!a || !b || !out || (a->len && !a->s) || (b->len && !b->s))
        return JURY_EINVAL;
    const unsigned char *sa = (const unsigned char *)a->s, *sb = (const unsigned char *)b->s;
    size_t na = a->len, nb = b->len, shorter = na < nb ? na : nb;
    if (shorter == 0) {
        /* One text or both empty: every symbol of the other is an insertion. */
        *out = na + nb ? 1.0 : 0.0;
        return JURY_OK;
    }
    /*
     * Corrections of a shared draft differ in a short stretch: strip the bytes
     * the texts share before and after it, backing up to where a symbol starts
     * in both texts. The symbols before such a place are then the same in both,
     * since each is decided by its own bytes, all shared; so are the symbols
     * after it, each decided by the bytes from it to the end, all shared too.
     * Stripping common symbols from either end leaves a Levenshtein distance
     * as it is, and the common ones are counted once for the lengths.
     */
    size_t pre = s_common_prefix(sa, sb, shorter);
    while (!s_utf8_starts(sa, na, pre) || !s_utf8_starts(sb, nb, pre))
        pre--;
    size_t suf = s_common_suffix(sa + na, sb + nb, shorter - pre);
    while (!s_utf8_starts(sa, na, na - suf) || !s_utf8_starts(sb, nb, nb - suf))
        suf--;
    if (na == nb && pre + suf == na) {
        *out = 0.0;
        return JURY_OK;
    }
    size_t d, ca, cb;
    jury_err rc = s_edit_middles(sa + pre, na - pre - suf, sb + pre, nb - pre - suf, &d, &ca, &cb);
    if (rc != JURY_OK)
        return rc;
    size_t common = s_utf8_count(sa, pre) + s_utf8_count(sa + na - suf, suf);
    *out = (double)d / (double)(common + (ca > cb ? ca : cb));
    return JURY_OK;
}

jury_err jury_distance_masi_fn(uint32_t a, uint32_t b, void *arg, double *out)
{
    const jury_labelset_t *sets = arg;
    *out = jury_distance_masi(&sets[a], &sets[b]);
    return JURY_OK;
}

jury_err jury_distance_kendall_tau_fn(uint32_t a, uint32_t b, void *arg, double *out)
{
    const jury_ranking_t *r = arg;
    *out = jury_distance_kendall_tau(&r[a], &r[b]);
    return JURY_OK;
}

jury_err jury_distance_edit_fn(uint32_t a, uint32_t b, void *arg, double *out)
{
    const jury_text_t *t = arg;
    return jury_distance_edit(&t[a], &t[b], out);
}

/* ---------------------------------------------------------------------------------------------
 * Fleiss
 * ------------------------------------------------------------------------------------------- */

/* Fills the kappa and S of f from p_bar, totals per category (k) and the units counted. */
static void s_fleiss_finish(jury_fleiss_t *f, const double *tot, uint32_t k)
{
    double all = 0, pe = 0;
    uint32_t q = 0;
    for (uint32_t j = 0; j < k; j++)
        all += tot[j];
    for (uint32_t j = 0; j < k; j++) {
        if (tot[j] > 0) {
            q++;
            pe += (tot[j] / all) * (tot[j] / all);
        }
    }
    f->categories = q;
    if (f->units == 0) {
        f->p_bar = 0;
        f->kappa = s_absent(JURY_NOTE_NO_PAIRABLE);
        f->s = s_absent(JURY_NOTE_NO_PAIRABLE);
        return;
    }
    f->p_e = pe;
    f->kappa = 1.0 - pe <= 1e-12 ? s_absent(JURY_NOTE_NO_VARIATION)
                                 : s_value((f->p_bar - pe) / (1.0 - pe));
    if (q < 2) {
        f->s = s_absent(JURY_NOTE_NO_VARIATION);
    } else {
        double ae = 1.0 / q;
        f->s = s_value((f->p_bar - ae) / (1.0 - ae));
    }
}

jury_fleiss_t jury_fleiss_kappa(const uint32_t *counts, uint32_t nunits, uint32_t k)
{
    jury_fleiss_t f;
    memset(&f, 0, sizeof(f));
    double stack[S_STACK_K];
    double *tot = stack, *heap = NULL;
    if (k > S_STACK_K) {
        heap = calloc(k, sizeof(double));
        if (!heap) {
            f.kappa = f.s = s_absent(JURY_NOTE_OUT_OF_MEMORY);
            return f;
        }
        tot = heap;
    } else {
        memset(stack, 0, sizeof(stack));
    }
    double psum = 0;
    for (uint32_t x = 0; counts && x < nunits; x++) {
        const uint32_t *row = counts + (size_t)x * k;
        double nu = 0, sq = 0;
        for (uint32_t j = 0; j < k; j++) {
            nu += row[j];
            sq += (double)row[j] * ((double)row[j] - 1.0);
        }
        if (nu < 2)
            continue;
        f.units++;
        psum += sq / (nu * (nu - 1.0));
        for (uint32_t j = 0; j < k; j++)
            tot[j] += row[j];
    }
    if (f.units)
        f.p_bar = psum / f.units;
    s_fleiss_finish(&f, tot, k);
    free(heap);
    return f;
}

jury_err jury_fleiss_kappa_ratings(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                   uint32_t k, jury_fleiss_t *out)
{
    if (!out || k == 0)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, 0, k);
    if (rc != JURY_OK)
        return rc;
    uint32_t *cnt = calloc(k, sizeof(uint32_t));
    double *tot = calloc(k, sizeof(double));
    if (!cnt || !tot) {
        rc = JURY_ENOMEM;
        goto done;
    }
    jury_fleiss_t f;
    memset(&f, 0, sizeof(f));
    double psum = 0;
    for (uint32_t x = 0; x < nunits; x++) {
        size_t m = u.off[x + 1] - u.off[x];
        if (m < 2)
            continue;
        const jury_rating_t *r = u.r + u.off[x];
        double sq = 0;
        /* sum_j n_j (n_j - 1) built incrementally: the c-th equal value adds 2 (c - 1). */
        for (size_t i = 0; i < m; i++) {
            uint32_t c = cnt[r[i].value]++;
            sq += 2.0 * c;
            tot[r[i].value] += 1.0;
        }
        for (size_t i = 0; i < m; i++)
            cnt[r[i].value] = 0;
        f.units++;
        psum += sq / ((double)m * (double)(m - 1));
    }
    if (f.units)
        f.p_bar = psum / f.units;
    s_fleiss_finish(&f, tot, k);
    *out = f;
done:
    free(cnt);
    free(tot);
    s_units_free(&u);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Cohen
 * ------------------------------------------------------------------------------------------- */

/* Weight of ranks i and j among q used categories. */
static double s_weight(jury_kappa_weights_t w, size_t i, size_t j, size_t q)
{
    if (w == JURY_KAPPA_UNWEIGHTED)
        return i == j ? 1.0 : 0.0;
    if (q < 2)
        return 1.0;
    double d = (i > j ? (double)(i - j) : (double)(j - i)) / (double)(q - 1);
    return w == JURY_KAPPA_LINEAR ? 1.0 - d : 1.0 - d * d;
}

/*
 * The three kappas from marginals over q used categories (rank order), the
 * total N and the observed weighted agreement sums po[w] (not yet divided by N).
 */
static void s_kappa_finish(size_t q, const double *rowm, const double *colm, double total,
                           const double po[3], jury_measure_t out[3])
{
    for (int w = 0; w < 3; w++) {
        if (total <= 0) {
            out[w] = s_absent(JURY_NOTE_NO_SHARED);
            continue;
        }
        double pe = 0;
        for (size_t i = 0; i < q; i++) {
            if (w == JURY_KAPPA_UNWEIGHTED) {
                pe += rowm[i] * colm[i];
                continue;
            }
            for (size_t j = 0; j < q; j++)
                pe += s_weight((jury_kappa_weights_t)w, i, j, q) * rowm[i] * colm[j];
        }
        pe /= total * total;
        double p = po[w] / total;
        out[w] =
            1.0 - pe <= 1e-12 ? s_absent(JURY_NOTE_NO_VARIATION) : s_value((p - pe) / (1.0 - pe));
    }
}

jury_measure_t jury_cohen_kappa(const double *table, uint32_t k, jury_kappa_weights_t weights)
{
    if (!table || k == 0 || (unsigned)weights > JURY_KAPPA_QUADRATIC)
        return s_absent(JURY_NOTE_NO_SHARED);
    double stack[3 * S_STACK_K];
    double *heap = NULL, *row = stack;
    if (k > S_STACK_K) {
        heap = malloc(3 * (size_t)k * sizeof(double));
        if (!heap)
            return s_absent(JURY_NOTE_OUT_OF_MEMORY);
        row = heap;
    }
    double *col = row + k, *rank = col + k;
    double total = 0;
    for (uint32_t i = 0; i < k; i++)
        row[i] = col[i] = 0;
    for (uint32_t i = 0; i < k; i++) {
        for (uint32_t j = 0; j < k; j++) {
            double v = table[(size_t)i * k + j];
            row[i] += v;
            col[j] += v;
            total += v;
        }
    }
    /* Drop categories neither annotator used; compact marginals in rank order. */
    size_t q = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (row[i] > 0 || col[i] > 0) {
            rank[i] = (double)q;
            row[q] = row[i];
            col[q] = col[i];
            q++;
        } else {
            rank[i] = -1;
        }
    }
    double po[3] = {0, 0, 0};
    for (uint32_t i = 0; i < k; i++) {
        if (rank[i] < 0)
            continue;
        for (uint32_t j = 0; j < k; j++) {
            double v = table[(size_t)i * k + j];
            if (v == 0 || rank[j] < 0)
                continue;
            for (int w = 0; w < 3; w++)
                po[w] += v * s_weight((jury_kappa_weights_t)w, (size_t)rank[i], (size_t)rank[j], q);
        }
    }
    jury_measure_t res[3];
    s_kappa_finish(q, row, col, total, po, res);
    free(heap);
    return res[weights];
}

/* One distinct cell of one pair's contingency table. */
typedef struct {
    uint32_t a, b;   /* annotators, a < b */
    uint32_t va, vb; /* a's and b's category */
    uint32_t count;  /* records; 0 marks an empty hash slot */
} s_cell_t;

static uint64_t s_cell_hash(uint32_t a, uint32_t b, uint32_t va, uint32_t vb)
{
    uint64_t h = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ULL;
    h ^= ((uint64_t)va << 32 | vb) + 0xC2B2AE3D27D4EB4FULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 29);
}

/* An open-addressing table of cells, linear probing, kept at most half full. */
typedef struct {
    s_cell_t *slots; /* capacity entries */
    size_t cap;      /* power of two */
    size_t used;     /* occupied slots */
} s_cells_t;

static jury_err s_cells_grow(s_cells_t *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    s_cell_t *slots = calloc(cap, sizeof(s_cell_t));
    if (!slots)
        return JURY_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        s_cell_t *c = &t->slots[i];
        if (!c->count)
            continue;
        size_t h = (size_t)s_cell_hash(c->a, c->b, c->va, c->vb) & (cap - 1);
        while (slots[h].count)
            h = (h + 1) & (cap - 1);
        slots[h] = *c;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return JURY_OK;
}

static jury_err s_cells_add(s_cells_t *t, uint32_t a, uint32_t b, uint32_t va, uint32_t vb)
{
    if ((t->used + 1) * 2 > t->cap) {
        jury_err rc = s_cells_grow(t);
        if (rc != JURY_OK)
            return rc;
    }
    size_t h = (size_t)s_cell_hash(a, b, va, vb) & (t->cap - 1);
    for (;;) {
        s_cell_t *c = &t->slots[h];
        if (!c->count) {
            c->a = a;
            c->b = b;
            c->va = va;
            c->vb = vb;
            c->count = 1;
            t->used++;
            return JURY_OK;
        }
        if (c->a == a && c->b == b && c->va == va && c->vb == vb) {
            c->count++;
            return JURY_OK;
        }
        h = (h + 1) & (t->cap - 1);
    }
}

static int s_cmp_cell(const void *x, const void *y)
{
    const s_cell_t *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    if (p->va != q->va)
        return p->va < q->va ? -1 : 1;
    if (p->vb != q->vb)
        return p->vb < q->vb ? -1 : 1;
    return 0;
}

static int s_cmp_u32(const void *x, const void *y)
{
    uint32_t p = *(const uint32_t *)x, q = *(const uint32_t *)y;
    return (p > q) - (p < q);
}

/*
 * Fills pair from its distinct cells c[0..nc-1] (sorted). Scratch: rank (k
 * entries, all UINT32_MAX on entry and exit), cats (2 nc), rowm and colm (2 nc).
 */
static void s_pair_kappa(jury_cohen_pair_t *pair, const s_cell_t *c, size_t nc, uint32_t *rank,
                         uint32_t *cats, double *rowm, double *colm)
{
    size_t q = 0;
    double total = 0, diag = 0;
    for (size_t i = 0; i < nc; i++) {
        cats[q++] = c[i].va;
        cats[q++] = c[i].vb;
        total += c[i].count;
        if (c[i].va == c[i].vb)
            diag += c[i].count;
    }
    qsort(cats, q, sizeof(uint32_t), s_cmp_u32);
    size_t d = 0;
    for (size_t i = 0; i < q; i++)
        if (d == 0 || cats[d - 1] != cats[i])
            cats[d++] = cats[i];
    q = d;
    for (size_t i = 0; i < q; i++) {
        rank[cats[i]] = (uint32_t)i;
        rowm[i] = colm[i] = 0;
    }
    double po[3] = {0, 0, 0};
    for (size_t i = 0; i < nc; i++) {
        uint32_t ri = rank[c[i].va], ci = rank[c[i].vb];
        rowm[ri] += c[i].count;
        colm[ci] += c[i].count;
        for (int w = 0; w < 3; w++)
            po[w] += c[i].count * s_weight((jury_kappa_weights_t)w, ri, ci, q);
    }
    for (size_t i = 0; i < q; i++)
        rank[cats[i]] = UINT32_MAX;
    jury_measure_t res[3];
    s_kappa_finish(q, rowm, colm, total, po, res);
    pair->a = c[0].a;
    pair->b = c[0].b;
    pair->shared = (uint32_t)total;
    pair->agreement = diag / total;
    pair->chance = 0;
    for (size_t i = 0; i < q; i++)
        pair->chance += rowm[i] * colm[i] / (total * total);
    pair->kappa = res[0];
    pair->kappa_linear = res[1];
    pair->kappa_quadratic = res[2];
}

jury_err jury_cohen_pairs(const jury_rating_t *ratings, size_t n, uint32_t nunits, uint32_t ncoders,
                          uint32_t k, jury_cohen_pair_t **out, size_t *npairs)
{
    if (!out || !npairs || k == 0 || ncoders == 0)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, ncoders, k);
    if (rc != JURY_OK)
        return rc;
    s_cells_t t = {NULL, 0, 0};
    uint32_t *rank = NULL, *cats = NULL;
    double *rowm = NULL, *colm = NULL;
    jury_cohen_pair_t *pairs = NULL;
    if ((rc = s_units_check_dups(&u, ncoders)) != JURY_OK)
        goto fail;
    for (uint32_t x = 0; x < nunits; x++) {
        const jury_rating_t *r = u.r + u.off[x];
        size_t m = u.off[x + 1] - u.off[x];
        for (size_t i = 0; i < m; i++) {
            for (size_t j = i + 1; j < m; j++) {
                bool lo = r[i].coder < r[j].coder;
                const jury_rating_t *p = lo ? &r[i] : &r[j], *q = lo ? &r[j] : &r[i];
                if ((rc = s_cells_add(&t, p->coder, q->coder, p->value, q->value)) != JURY_OK)
                    goto fail;
            }
        }
    }
    /* Compact the occupied slots and sort them so each pair's cells are adjacent. */
    size_t nc = 0;
    for (size_t i = 0; i < t.cap; i++)
        if (t.slots[i].count)
            t.slots[nc++] = t.slots[i];
    if (nc > 1)
        qsort(t.slots, nc, sizeof(s_cell_t), s_cmp_cell);
    size_t groups = 0, maxcells = 0;
    for (size_t i = 0; i < nc;) {
        size_t j = i;
        while (j < nc && t.slots[j].a == t.slots[i].a && t.slots[j].b == t.slots[i].b)
            j++;
        groups++;
        if (j - i > maxcells)
            maxcells = j - i;
        i = j;
    }
    rank = malloc((size_t)k * sizeof(uint32_t));
    cats = malloc((2 * maxcells + 1) * sizeof(uint32_t));
    rowm = malloc((2 * maxcells + 1) * sizeof(double));
    colm = malloc((2 * maxcells + 1) * sizeof(double));
    pairs = malloc((groups ? groups : 1) * sizeof(jury_cohen_pair_t));
    if (!rank || !cats || !rowm || !colm || !pairs) {
        rc = JURY_ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < k; i++)
        rank[i] = UINT32_MAX;
    size_t np = 0;
    for (size_t i = 0; i < nc;) {
        size_t j = i;
        uint64_t shared = 0;
        while (j < nc && t.slots[j].a == t.slots[i].a && t.slots[j].b == t.slots[i].b)
            shared += t.slots[j++].count;
        if (shared >= 2)
            s_pair_kappa(&pairs[np++], t.slots + i, j - i, rank, cats, rowm, colm);
        i = j;
    }
    if (np == 0) {
        free(pairs);
        pairs = NULL;
    }
    *out = pairs;
    *npairs = np;
    pairs = NULL;
fail:
    free(pairs);
    free(rank);
    free(cats);
    free(rowm);
    free(colm);
    free(t.slots);
    s_units_free(&u);
    return rc;
}

jury_measure_t jury_multi_kappa(const jury_cohen_pair_t *pairs, size_t npairs)
{
    if (!pairs || npairs == 0)
        return s_absent(JURY_NOTE_NO_SHARED);
    double ao = 0, ae = 0;
    for (size_t i = 0; i < npairs; i++) {
        ao += pairs[i].agreement;
        ae += pairs[i].chance;
    }
    ao /= (double)npairs;
    ae /= (double)npairs;
    return 1.0 - ae <= 1e-12 ? s_absent(JURY_NOTE_NO_VARIATION) : s_value((ao - ae) / (1.0 - ae));
}

jury_err jury_cohen_table(const jury_rating_t *ratings, size_t n, uint32_t nunits, uint32_t k,
                          uint32_t a, uint32_t b, double *table)
{
    if (!table || k == 0 || a == b)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, 0, k);
    if (rc != JURY_OK)
        return rc;
    memset(table, 0, (size_t)k * k * sizeof(double));
    for (uint32_t x = 0; x < nunits; x++) {
        uint32_t va = UINT32_MAX, vb = UINT32_MAX;
        for (size_t i = u.off[x]; i < u.off[x + 1]; i++) {
            uint32_t *slot = u.r[i].coder == a ? &va : u.r[i].coder == b ? &vb : NULL;
            if (!slot)
                continue;
            if (*slot != UINT32_MAX) {
                rc = JURY_EINVAL;
                goto done;
            }
            *slot = u.r[i].value;
        }
        if (va != UINT32_MAX && vb != UINT32_MAX)
            table[(size_t)va * k + vb] += 1.0;
    }
done:
    s_units_free(&u);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Percent, per record, per annotator
 * ------------------------------------------------------------------------------------------- */

/* Equal pairs among a unit's m ratings. */
static double s_equal_pairs(const jury_rating_t *r, size_t m)
{
    double eq = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++)
            eq += r[i].value == r[j].value;
    return eq;
}

jury_measure_t jury_record_agreement(const uint32_t *values, size_t m)
{
    if (m < 2 || !values)
        return s_absent(JURY_NOTE_FEW_RESPONSES);
    double eq = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++)
            eq += values[i] == values[j];
    return s_value(eq / ((double)m * (double)(m - 1) / 2.0));
}

jury_err jury_record_agreements(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                jury_measure_t *out)
{
    if (!out && nunits > 0)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, 0, 0);
    if (rc != JURY_OK)
        return rc;
    for (uint32_t x = 0; x < nunits; x++) {
        size_t m = u.off[x + 1] - u.off[x];
        out[x] =
            m < 2 ? s_absent(JURY_NOTE_FEW_RESPONSES)
                  : s_value(s_equal_pairs(u.r + u.off[x], m) / ((double)m * (double)(m - 1) / 2.0));
    }
    s_units_free(&u);
    return JURY_OK;
}

jury_err jury_percent_agreement(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                jury_measure_t *out)
{
    if (!out)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, 0, 0);
    if (rc != JURY_OK)
        return rc;
    double sum = 0;
    size_t units = 0;
    for (uint32_t x = 0; x < nunits; x++) {
        size_t m = u.off[x + 1] - u.off[x];
        if (m < 2)
            continue;
        sum += s_equal_pairs(u.r + u.off[x], m) / ((double)m * (double)(m - 1) / 2.0);
        units++;
    }
    *out = units ? s_value(sum / (double)units) : s_absent(JURY_NOTE_NO_PAIRABLE);
    s_units_free(&u);
    return JURY_OK;
}

jury_err jury_annotator_stats(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                              uint32_t ncoders, jury_annotator_stats_t *out)
{
    if (!out || ncoders == 0)
        return JURY_EINVAL;
    s_units_t u;
    jury_err rc = s_units_build(&u, ratings, n, nunits, ncoders, 0);
    if (rc != JURY_OK)
        return rc;
    /* Per coder: equal pairs, agreeing consensus records; per rating in a unit: equal others. */
    double *eq = calloc(ncoders, sizeof(double));
    double *cons = calloc(ncoders, sizeof(double));
    uint32_t *same = malloc((u.max_m ? u.max_m : 1) * sizeof(uint32_t));
    if (!eq || !cons || !same) {
        rc = JURY_ENOMEM;
        goto done;
    }
    if ((rc = s_units_check_dups(&u, ncoders)) != JURY_OK)
        goto done;
    memset(out, 0, (size_t)ncoders * sizeof(*out));
    for (uint32_t x = 0; x < nunits; x++) {
        const jury_rating_t *r = u.r + u.off[x];
        size_t m = u.off[x + 1] - u.off[x];
        for (size_t i = 0; i < m; i++) {
            out[r[i].coder].responses++;
            same[i] = 0;
        }
        if (m < 2)
            continue;
        for (size_t i = 0; i < m; i++)
            for (size_t j = i + 1; j < m; j++)
                if (r[i].value == r[j].value) {
                    same[i]++;
                    same[j]++;
                }
        /* The majority answer is the most frequent one, when no other value ties with it. */
        size_t best = 0;
        for (size_t i = 1; i < m; i++)
            if (same[i] > same[best])
                best = i;
        bool tie = false;
        for (size_t i = 0; i < m; i++)
            if (same[i] == same[best] && r[i].value != r[best].value)
                tie = true;
        for (size_t i = 0; i < m; i++) {
            jury_annotator_stats_t *s = &out[r[i].coder];
            s->pairs += (uint32_t)(m - 1);
            eq[r[i].coder] += same[i];
            if (!tie) {
                s->consensus_records++;
                cons[r[i].coder] += r[i].value == r[best].value;
            }
        }
    }
    for (uint32_t c = 0; c < ncoders; c++) {
        jury_annotator_stats_t *s = &out[c];
        s->with_others = s->pairs ? s_value(eq[c] / s->pairs) : s_absent(JURY_NOTE_NO_SHARED);
        s->with_consensus = s->consensus_records ? s_value(cons[c] / s->consensus_records)
                                                 : s_absent(JURY_NOTE_NO_CONSENSUS);
    }
done:
    free(eq);
    free(cons);
    free(same);
    s_units_free(&u);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Spans
 * ------------------------------------------------------------------------------------------- */

static int s_cmp_span(const void *x, const void *y)
{
    const jury_span_t *p = x, *q = y;
    if (p->label != q->label)
        return p->label < q->label ? -1 : 1;
    if (p->start != q->start)
        return p->start < q->start ? -1 : 1;
    return (p->end > q->end) - (p->end < q->end);
}

/* Sorts spans and merges overlapping or touching ones of the same label in place; drops empty
 * spans. Returns the new count and adds the covered length to *len. */
static size_t s_spans_normalise(jury_span_t *s, size_t n, double *len)
{
    if (n > 1)
        qsort(s, n, sizeof(jury_span_t), s_cmp_span);
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].end <= s[i].start)
            continue;
        if (d > 0 && s[d - 1].label == s[i].label && s[i].start <= s[d - 1].end) {
            if (s[i].end > s[d - 1].end)
                s[d - 1].end = s[i].end;
            continue;
        }
        s[d++] = s[i];
    }
    *len = 0;
    for (size_t i = 0; i < d; i++)
        *len += (double)(s[i].end - s[i].start);
    return d;
}

jury_err jury_span_f1(const jury_span_t *a, size_t na, const jury_span_t *b, size_t nb,
                      jury_measure_t *out)
{
    if (!out || (na && !a) || (nb && !b))
        return JURY_EINVAL;
    jury_span_t *sa = malloc((na + nb + 1) * sizeof(jury_span_t));
    if (!sa)
        return JURY_ENOMEM;
    jury_span_t *sb = sa + na;
    if (na)
        memcpy(sa, a, na * sizeof(jury_span_t));
    if (nb)
        memcpy(sb, b, nb * sizeof(jury_span_t));
    double la, lb, inter = 0;
    na = s_spans_normalise(sa, na, &la);
    nb = s_spans_normalise(sb, nb, &lb);
    /* Both lists are disjoint within a label and sorted by (label, start): one merge pass. */
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (sa[i].label != sb[j].label) {
            if (sa[i].label < sb[j].label)
                i++;
            else
                j++;
            continue;
        }
        uint32_t lo = sa[i].start > sb[j].start ? sa[i].start : sb[j].start;
        uint32_t hi = sa[i].end < sb[j].end ? sa[i].end : sb[j].end;
        if (hi > lo)
            inter += (double)(hi - lo);
        if (sa[i].end < sb[j].end)
            i++;
        else
            j++;
    }
    free(sa);
    *out = la + lb == 0 ? s_value(1.0) : s_value(2.0 * inter / (la + lb));
    return JURY_OK;
}
