/* consolidate.c: majority, weighted vote, Dawid-Skene EM, rating statistics (see consolidate.h). */
#include "consolidate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Allocates a zeroed array of a x b elements of size sz, or NULL (also on overflow). */
static void *s_calloc2(size_t a, size_t b, size_t sz)
{
    if (a == 0 || b == 0)
        return calloc(1, sz);
    if (a > SIZE_MAX / b)
        return NULL;
    return calloc(a * b, sz);
}

/* Checks every rating's indices. */
static jury_err s_check(const jury_rating_t *r, size_t n, uint32_t nunits, uint32_t ncoders,
                        uint32_t k)
{
    if (n > 0 && !r)
        return JURY_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (r[i].unit >= nunits || r[i].coder >= ncoders || r[i].value >= k)
            return JURY_EINVAL;
    return JURY_OK;
}

static jury_err s_check_tiebreak(const jury_tiebreak_t *tb, uint32_t nunits, uint32_t k)
{
    if (tb && tb->suggestion)
        for (uint32_t u = 0; u < nunits; u++)
            if (tb->suggestion[u] != JURY_CONSOLIDATE_NONE && tb->suggestion[u] >= k)
                return JURY_EINVAL;
    return JURY_OK;
}

static void s_none(jury_choice_t *c)
{
    *c = (jury_choice_t){.ok = false, .note = JURY_NOTE_NO_ANSWERS};
}

/*
 * Picks one value of a unit from its scores (votes or weight sums) over the k values; only
 * values with cnt > 0 are candidates. relbest (k entries, or NULL) is the largest reliability
 * among the coders who gave each value. Fills c except nanswers.
 */
static void s_decide(const double *score, const uint32_t *cnt, const double *relbest, uint32_t k,
                     uint32_t sugg, jury_choice_t *c)
{
    double best = -1, total = 0;
    uint32_t first = UINT32_MAX;
    for (uint32_t v = 0; v < k; v++) {
        if (cnt[v] == 0)
            continue;
        total += score[v];
        if (first == UINT32_MAX || score[v] > best) {
            best = score[v];
            first = v;
        }
    }
    if (first == UINT32_MAX) {
        s_none(c);
        return;
    }
    double eps = 1e-12 * (best > 0 ? best : 1);
    uint32_t ntied = 0;
    for (uint32_t v = 0; v < k; v++)
        if (cnt[v] > 0 && score[v] >= best - eps)
            ntied++;
    uint32_t pick = first;
    jury_decided_t by = JURY_DECIDED_VOTE;
    if (ntied > 1) {
        by = JURY_DECIDED_LABEL_ORDER;
        if (sugg < k && cnt[sugg] > 0 && score[sugg] >= best - eps) {
            pick = sugg;
            by = JURY_DECIDED_SUGGESTION;
        } else if (relbest) {
            double top = -INFINITY;
            uint32_t ntop = 0, at = first;
            for (uint32_t v = 0; v < k; v++) {
                if (cnt[v] == 0 || score[v] < best - eps)
                    continue;
                if (relbest[v] > top) {
                    top = relbest[v];
                    ntop = 1;
                    at = v;
                } else if (relbest[v] == top) {
                    ntop++;
                }
            }
            pick = at; /* the first with the top reliability */
            if (ntop == 1)
                by = JURY_DECIDED_RELIABILITY;
        }
    }
    *c = (jury_choice_t){.ok = true,
                         .value = pick,
                         .support = total > 0 ? score[pick] / total : 0,
                         .decided_by = by,
                         .note = NULL};
}

/*
 * The shared vote: w (ncoders weights, or NULL for 1 each). Fills out[nunits]. Scratch is
 * allocated per call: counts, scores and (with reliabilities) best reliabilities, nunits x k.
 */
static jury_err s_vote(const jury_rating_t *r, size_t n, uint32_t nunits, uint32_t k,
                       const jury_tiebreak_t *tb, const double *w, jury_choice_t *out)
{
    jury_err rc = JURY_ENOMEM;
    const double *rel = tb ? tb->reliability : NULL;
    uint32_t *cnt = s_calloc2(nunits, k, sizeof(*cnt));
    double *score = s_calloc2(nunits, k, sizeof(*score));
    double *relbest = rel ? s_calloc2(nunits, k, sizeof(*relbest)) : NULL;
    if (!cnt || !score || (rel && !relbest))
        goto done;
    for (size_t i = 0; i < n; i++) {
        size_t at = (size_t)r[i].unit * k + r[i].value;
        if (rel && (cnt[at] == 0 || rel[r[i].coder] > relbest[at]))
            relbest[at] = rel[r[i].coder];
        cnt[at]++;
        score[at] += w ? w[r[i].coder] : 1.0;
    }
    for (uint32_t u = 0; u < nunits; u++) {
        size_t base = (size_t)u * k;
        uint32_t m = 0;
        for (uint32_t v = 0; v < k; v++)
            m += cnt[base + v];
        uint32_t sugg = tb && tb->suggestion ? tb->suggestion[u] : JURY_CONSOLIDATE_NONE;
        s_decide(score + base, cnt + base, relbest ? relbest + base : NULL, k, sugg, &out[u]);
        out[u].nanswers = m;
    }
    rc = JURY_OK;
done:
    free(cnt);
    free(score);
    free(relbest);
    return rc;
}

jury_err jury_consolidate_majority(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                   uint32_t ncoders, uint32_t k, const jury_tiebreak_t *tiebreak,
                                   jury_choice_t *out)
{
    jury_err rc;
    if (!out && nunits > 0)
        return JURY_EINVAL;
    if ((rc = s_check(ratings, n, nunits, ncoders, k)) != JURY_OK ||
        (rc = s_check_tiebreak(tiebreak, nunits, k)) != JURY_OK)
        return rc;
    return s_vote(ratings, n, nunits, k, tiebreak, NULL, out);
}

bool jury_consolidate_gold_accuracy(const jury_gold_t *gold, uint32_t c, double *acc)
{
    if (!gold || !gold->answered || !gold->correct ||
        gold->answered[c] < JURY_CONSOLIDATE_GOLD_MIN || gold->correct[c] > gold->answered[c])
        return false;
    *acc = (double)gold->correct[c] / (double)gold->answered[c];
    return true;
}

static jury_err s_check_gold(const jury_gold_t *gold, uint32_t ncoders)
{
    if (!gold)
        return JURY_OK;
    if (!gold->answered || !gold->correct)
        return JURY_EINVAL;
    for (uint32_t c = 0; c < ncoders; c++)
        if (gold->correct[c] > gold->answered[c])
            return JURY_EINVAL;
    return JURY_OK;
}

jury_err jury_consolidate_weighted(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                   uint32_t ncoders, uint32_t k, const jury_tiebreak_t *tiebreak,
                                   jury_choice_t *out, double *weights)
{
    return jury_consolidate_weighted_gold(ratings, n, nunits, ncoders, k, tiebreak, NULL, out,
                                          weights);
}

jury_err jury_consolidate_weighted_gold(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                        uint32_t ncoders, uint32_t k,
                                        const jury_tiebreak_t *tiebreak, const jury_gold_t *gold,
                                        jury_choice_t *out, double *weights)
{
    jury_err rc;
    if (!out && nunits > 0)
        return JURY_EINVAL;
    if ((rc = s_check(ratings, n, nunits, ncoders, k)) != JURY_OK ||
        (rc = s_check_tiebreak(tiebreak, nunits, k)) != JURY_OK ||
        (rc = s_check_gold(gold, ncoders)) != JURY_OK)
        return rc;
    double *w = s_calloc2(ncoders, 1, sizeof(*w));
    uint32_t *agree = s_calloc2(ncoders, 1, sizeof(*agree));
    uint32_t *total = s_calloc2(ncoders, 1, sizeof(*total));
    rc = JURY_ENOMEM;
    if (!w || !agree || !total)
        goto done;
    /* The majority pass writes into out, which the weighted pass then overwrites. */
    if ((rc = s_vote(ratings, n, nunits, k, tiebreak, NULL, out)) != JURY_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const jury_choice_t *mv = &out[ratings[i].unit];
        if (!mv->ok)
            continue;
        total[ratings[i].coder]++;
        if (ratings[i].value == mv->value)
            agree[ratings[i].coder]++;
    }
    /* Gold accuracy is measured against known answers, agreement only against the majority that
     * the annotator helped to make; with enough gold answers the former is the better weight. */
    for (uint32_t c = 0; c < ncoders; c++)
        if (!jury_consolidate_gold_accuracy(gold, c, &w[c]))
            w[c] = total[c] ? (double)agree[c] / total[c] : 0;
    if ((rc = s_vote(ratings, n, nunits, k, tiebreak, w, out)) != JURY_OK)
        goto done;
    if (weights)
        memcpy(weights, w, (size_t)ncoders * sizeof(*w));
done:
    free(w);
    free(agree);
    free(total);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Dawid-Skene
 * ------------------------------------------------------------------------------------------- */

void jury_ds_result_destroy(jury_ds_result_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jury_ds_result_t *d = *self_p;
    free(d->posterior);
    free(d->marginal);
    free(d->confusion);
    free(d->accuracy);
    free(d->choice);
    free(d);
    *self_p = NULL;
}

jury_err jury_consolidate_dawid_skene(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                      uint32_t ncoders, uint32_t k, const jury_ds_opts_t *opts,
                                      jury_ds_result_t **out)
{
    jury_err rc;
    if (!out || k == 0)
        return JURY_EINVAL;
    const jury_gold_t *gold = opts ? opts->gold : NULL;
    if ((rc = s_check(ratings, n, nunits, ncoders, k)) != JURY_OK ||
        (rc = s_check_gold(gold, ncoders)) != JURY_OK)
        return rc;
    uint32_t max_iter = opts && opts->max_iter ? opts->max_iter : 100;
    double tol = opts && opts->tol > 0 ? opts->tol : 1e-6;

    rc = JURY_ENOMEM;
    size_t kk = (size_t)k * k;
    jury_ds_result_t *d = calloc(1, sizeof(*d));
    size_t *start = s_calloc2((size_t)nunits + 1, 1, sizeof(*start)); /* CSR by unit */
    size_t *order = s_calloc2(n, 1, sizeof(*order));
    double *lp = s_calloc2(k, 1, sizeof(*lp));
    double *logpi = NULL;
    if (!d || !start || !order || !lp)
        goto fail;
    d->nunits = nunits, d->ncoders = ncoders, d->k = k;
    d->posterior = s_calloc2(nunits, k, sizeof(double));
    d->marginal = s_calloc2(k, 1, sizeof(double));
    d->confusion = s_calloc2(ncoders, kk, sizeof(double));
    d->accuracy = s_calloc2(ncoders, 1, sizeof(jury_measure_t));
    d->choice = s_calloc2(nunits, 1, sizeof(jury_choice_t));
    logpi = s_calloc2(ncoders, kk, sizeof(double));
    if (!d->posterior || !d->marginal || !d->confusion || !d->accuracy || !d->choice || !logpi)
        goto fail;

    /* Counting sort of the answers by unit. */
    for (size_t i = 0; i < n; i++)
        start[ratings[i].unit + 1]++;
    for (uint32_t u = 0; u < nunits; u++)
        start[u + 1] += start[u];
    {
        size_t *fill = s_calloc2((size_t)nunits + 1, 1, sizeof(*fill));
        if (!fill)
            goto fail;
        memcpy(fill, start, ((size_t)nunits + 1) * sizeof(*fill));
        for (size_t i = 0; i < n; i++)
            order[fill[ratings[i].unit]++] = i;
        free(fill);
    }
    uint32_t nactive = 0;
    double *T = d->posterior;
    for (uint32_t u = 0; u < nunits; u++) {
        size_t m = start[u + 1] - start[u];
        if (m == 0)
            continue;
        nactive++;
        for (size_t a = start[u]; a < start[u + 1]; a++)
            T[(size_t)u * k + ratings[order[a]].value] += 1.0 / (double)m;
    }

    double ll = 0, prev = 0;
    uint32_t it = 0;
    bool converged = nactive == 0; /* nothing to fit */
    while (nactive > 0 && it < max_iter) {
        it++;
        /* M step. */
        memset(d->marginal, 0, k * sizeof(double));
        memset(d->confusion, 0, (size_t)ncoders * kk * sizeof(double));
        for (uint32_t u = 0; u < nunits; u++) {
            if (start[u + 1] == start[u])
                continue;
            for (uint32_t j = 0; j < k; j++)
                d->marginal[j] += T[(size_t)u * k + j];
        }
        for (uint32_t j = 0; j < k; j++)
            d->marginal[j] /= nactive;
        for (size_t i = 0; i < n; i++) {
            const jury_rating_t *r = &ratings[i];
            double *pi = d->confusion + (size_t)r->coder * kk;
            for (uint32_t j = 0; j < k; j++)
                pi[(size_t)j * k + r->value] += T[(size_t)r->unit * k + j];
        }
        /* The gold prior (see consolidate.h): pseudo-counts of the coder's gold answers. */
        for (uint32_t c = 0; gold && k >= 2 && c < ncoders; c++) {
            double acc;
            if (!jury_consolidate_gold_accuracy(gold, c, &acc))
                continue;
            double g = (double)gold->answered[c], right = (double)gold->correct[c];
            double on = right / k, off = (g - right) / ((double)k * (k - 1));
            double *pi = d->confusion + (size_t)c * kk;
            for (uint32_t j = 0; j < k; j++)
                for (uint32_t l = 0; l < k; l++)
                    pi[(size_t)j * k + l] += j == l ? on : off;
        }
        for (size_t row = 0; row < (size_t)ncoders * k; row++) {
            double *p = d->confusion + row * k, s = 0;
            for (uint32_t l = 0; l < k; l++)
                s += p[l];
            for (uint32_t l = 0; l < k; l++) {
                if (s > 0)
                    p[l] /= s;
                logpi[row * k + l] = p[l] > 0 ? log(p[l]) : -INFINITY;
            }
        }
        /* E step and log-likelihood, in logs. */
        ll = 0;
        for (uint32_t u = 0; u < nunits; u++) {
            if (start[u + 1] == start[u])
                continue;
            double mx = -INFINITY;
            for (uint32_t j = 0; j < k; j++) {
                double s = d->marginal[j] > 0 ? log(d->marginal[j]) : -INFINITY;
                for (size_t a = start[u]; a < start[u + 1] && s > -INFINITY; a++) {
                    const jury_rating_t *r = &ratings[order[a]];
                    s += logpi[((size_t)r->coder * k + j) * k + r->value];
                }
                lp[j] = s;
                if (s > mx)
                    mx = s;
            }
            if (mx == -INFINITY)
                continue; /* impossible under every class: keep the previous posterior */
            double sum = 0;
            for (uint32_t j = 0; j < k; j++)
                sum += lp[j] > -INFINITY ? exp(lp[j] - mx) : 0;
            for (uint32_t j = 0; j < k; j++)
                T[(size_t)u * k + j] = lp[j] > -INFINITY ? exp(lp[j] - mx) / sum : 0;
            ll += mx + log(sum);
        }
        if (it > 1 && fabs(ll - prev) < tol) {
            converged = true;
            break;
        }
        prev = ll;
    }
    d->log_likelihood = ll;
    d->iterations = it;
    d->converged = converged;

    /* Choices, posteriors of units without answers, accuracies. */
    for (uint32_t u = 0; u < nunits; u++) {
        jury_choice_t *c = &d->choice[u];
        uint32_t m = (uint32_t)(start[u + 1] - start[u]);
        if (m == 0) {
            s_none(c);
            if (nactive > 0)
                memcpy(T + (size_t)u * k, d->marginal, k * sizeof(double));
            continue;
        }
        uint32_t best = 0;
        for (uint32_t j = 1; j < k; j++)
            if (T[(size_t)u * k + j] > T[(size_t)u * k + best])
                best = j;
        *c = (jury_choice_t){.ok = true,
                             .value = best,
                             .nanswers = m,
                             .support = T[(size_t)u * k + best],
                             .decided_by = JURY_DECIDED_VOTE};
    }
    {
        double *hit = s_calloc2(ncoders, 1, sizeof(*hit));
        uint32_t *cnt = s_calloc2(ncoders, 1, sizeof(*cnt));
        if (!hit || !cnt) {
            free(hit);
            free(cnt);
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            hit[ratings[i].coder] += T[(size_t)ratings[i].unit * k + ratings[i].value];
            cnt[ratings[i].coder]++;
        }
        for (uint32_t c = 0; c < ncoders; c++)
            d->accuracy[c] = cnt[c] ? (jury_measure_t){.ok = true, .value = hit[c] / cnt[c]}
                                    : (jury_measure_t){.ok = false, .note = JURY_NOTE_NO_ANSWERS};
        free(hit);
        free(cnt);
    }
    free(start);
    free(order);
    free(lp);
    free(logpi);
    *out = d;
    return JURY_OK;
fail:
    jury_ds_result_destroy(&d);
    free(start);
    free(order);
    free(lp);
    free(logpi);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Ratings
 * ------------------------------------------------------------------------------------------- */

jury_err jury_consolidate_rating(jury_rating_method_t method, const jury_rating_t *ratings,
                                 size_t n, uint32_t nunits, uint32_t ncoders, const double *values,
                                 uint32_t k, const jury_tiebreak_t *tiebreak, jury_choice_t *out)
{
    jury_err rc;
    if ((!out && nunits > 0) || !values || k == 0)
        return JURY_EINVAL;
    for (uint32_t v = 0; v < k; v++)
        if (!isfinite(values[v]) || (v > 0 && !(values[v] > values[v - 1])))
            return JURY_EINVAL;
    if ((rc = s_check(ratings, n, nunits, ncoders, k)) != JURY_OK ||
        (rc = s_check_tiebreak(tiebreak, nunits, k)) != JURY_OK)
        return rc;
    if (method == JURY_RATING_MAJORITY)
        return s_vote(ratings, n, nunits, k, tiebreak, NULL, out);
    if (method != JURY_RATING_MEAN && method != JURY_RATING_MEDIAN && method != JURY_RATING_MIN &&
        method != JURY_RATING_MAX)
        return JURY_EINVAL;

    uint32_t *cnt = s_calloc2(nunits, k, sizeof(*cnt));
    if (!cnt)
        return JURY_ENOMEM;
    for (size_t i = 0; i < n; i++)
        cnt[(size_t)ratings[i].unit * k + ratings[i].value]++;
    for (uint32_t u = 0; u < nunits; u++) {
        const uint32_t *cu = cnt + (size_t)u * k;
        uint32_t m = 0, lo = UINT32_MAX, hi = 0;
        double sum = 0;
        for (uint32_t v = 0; v < k; v++) {
            if (!cu[v])
                continue;
            m += cu[v];
            sum += cu[v] * values[v];
            if (lo == UINT32_MAX)
                lo = v;
            hi = v;
        }
        if (m == 0) {
            s_none(&out[u]);
            continue;
        }
        uint32_t pick = lo;
        double support = 0;
        if (method == JURY_RATING_MEAN) {
            double mean = sum / m;
            /* The nearest allowed value; at a halfway point (within 1e-9) the larger one. */
            pick = 0;
            for (uint32_t v = 1; v < k; v++) {
                double dv = fabs(values[v] - mean), dp = fabs(values[pick] - mean);
                if (dv < dp - 1e-9 || (fabs(dv - dp) <= 1e-9 && values[v] > values[pick]))
                    pick = v;
            }
            support = mean;
        } else {
            if (method == JURY_RATING_MAX) {
                pick = hi;
            } else if (method == JURY_RATING_MEDIAN) {
                uint32_t want = (m - 1) / 2, seen = 0; /* 0-based position of the lower median */
                for (uint32_t v = 0; v < k; v++) {
                    seen += cu[v];
                    if (seen > want) {
                        pick = v;
                        break;
                    }
                }
            }
            support = (double)cu[pick] / m;
        }
        out[u] = (jury_choice_t){.ok = true,
                                 .value = pick,
                                 .nanswers = m,
                                 .support = support,
                                 .decided_by = JURY_DECIDED_STATISTIC};
    }
    free(cnt);
    return JURY_OK;
}

/* ---------------------------------------------------------------------------------------------
 * One record at a time: multi-label, ranking, text, span
 * ------------------------------------------------------------------------------------------- */

/* Stack scratch sizes: answers per record, items per ranking, labels per question, spans in all
 * answers of one record. Larger inputs fall back to malloc. */
#define S_STACK_M     16
#define S_STACK_ITEMS 64
#define S_STACK_K     256
#define S_STACK_SPANS 256

/* Returns stack (cap elements) when n fits, else a malloc'ed array of n elements of size sz (or
 * NULL, also on overflow). Free with s_scratch_free. */
static void *s_scratch(void *stack, size_t cap, size_t n, size_t sz)
{
    if (n <= cap)
        return stack;
    if (n > SIZE_MAX / sz)
        return NULL;
    return malloc(n * sz);
}

static void s_scratch_free(void *p, const void *stack)
{
    if (p != stack)
        free(p);
}

/* Sorts n elements of sz <= 32 bytes. Short arrays, the per-record common case, take an insertion
 * sort: no call through qsort's machinery and never an allocation. The orders used here are total,
 * so stability does not matter. */
static void s_sort(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
    if (n > 32) {
        qsort(base, n, sz, cmp);
        return;
    }
    unsigned char *b = base, tmp[32];
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        memcpy(tmp, b + i * sz, sz);
        for (; j > 0 && cmp(b + (j - 1) * sz, tmp) > 0; j--)
            memcpy(b + j * sz, b + (j - 1) * sz, sz);
        memcpy(b + j * sz, tmp, sz);
    }
}

static uint32_t s_nanswers(size_t m)
{
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* Checks a label set: labels < k, strictly ascending. */
static bool s_labelset_ok(const jury_labelset_t *s, uint32_t k)
{
    if (s->n > 0 && !s->labels)
        return false;
    for (size_t j = 0; j < s->n; j++)
        if (s->labels[j] >= k || (j > 0 && s->labels[j] <= s->labels[j - 1]))
            return false;
    return true;
}

jury_err jury_consolidate_multi_label(const jury_labelset_t *answers, size_t m, uint32_t k,
                                      const jury_labelset_t *suggestion, uint32_t *out_labels,
                                      size_t *out_n, jury_choice_t *out)
{
    if (!out_n || !out || (m > 0 && (!answers || (k > 0 && !out_labels))))
        return JURY_EINVAL;
    if (suggestion && !s_labelset_ok(suggestion, k))
        return JURY_EINVAL;
    for (size_t i = 0; i < m; i++)
        if (!s_labelset_ok(&answers[i], k))
            return JURY_EINVAL;
    if (m == 0) {
        *out_n = 0;
        s_none(out);
        return JURY_OK;
    }
    uint32_t stack[S_STACK_K];
    uint32_t *cnt = s_scratch(stack, S_STACK_K, k, sizeof(*cnt));
    if (!cnt)
        return JURY_ENOMEM;
    if (k > 0)
        memset(cnt, 0, (size_t)k * sizeof(*cnt));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < answers[i].n; j++)
            cnt[answers[i].labels[j]]++;
    /* Agreement counted in answers (out of m per label) keeps the support exact. */
    size_t n = 0, s = 0, nunion = 0;
    uint64_t agree = 0;
    bool tied = false;
    for (uint32_t l = 0; l < k; l++) {
        if (cnt[l] == 0)
            continue;
        nunion++;
        bool in = 2 * (uint64_t)cnt[l] > m;
        if (2 * (uint64_t)cnt[l] == m) {
            tied = true;
            while (suggestion && s < suggestion->n && suggestion->labels[s] < l)
                s++;
            in = suggestion && s < suggestion->n && suggestion->labels[s] == l;
        }
        if (in)
            out_labels[n++] = l;
        agree += in ? cnt[l] : m - cnt[l];
    }
    s_scratch_free(cnt, stack);
    *out_n = n;
    *out = (jury_choice_t){.ok = true,
                           .value = 0,
                           .nanswers = s_nanswers(m),
                           .support = nunion ? (double)agree / ((double)m * (double)nunion) : 1.0,
                           .decided_by =
                               tied && suggestion ? JURY_DECIDED_SUGGESTION : JURY_DECIDED_VOTE,
                           .note = NULL};
    return JURY_OK;
}

/* Checks a ranking: n ranks, each < n. */
static bool s_ranking_ok(const jury_ranking_t *r, uint32_t n)
{
    if (r->n != n || !r->rank)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (r->rank[i] >= n)
            return false;
    return true;
}

/* A Borda sort key: the items' rank sum (the mean times m, so equal means compare exactly), the
 * suggestion's rank (0 without one) and the item index. */
typedef struct {
    uint64_t sum;
    uint32_t sugg;
    uint32_t item;
} s_borda_key_t;

static int s_borda_cmp(const void *pa, const void *pb)
{
    const s_borda_key_t *a = pa, *b = pb;
    if (a->sum != b->sum)
        return a->sum < b->sum ? -1 : 1;
    if (a->sugg != b->sugg)
        return a->sugg < b->sugg ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

static jury_err s_ranking_borda(const jury_ranking_t *answers, size_t m, uint32_t n,
                                const jury_ranking_t *suggestion, uint32_t *out_rank,
                                jury_choice_t *out)
{
    s_borda_key_t stack[S_STACK_ITEMS];
    s_borda_key_t *key = s_scratch(stack, S_STACK_ITEMS, n, sizeof(*key));
    if (!key)
        return JURY_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        key[i] = (s_borda_key_t){.sum = 0, .sugg = suggestion ? suggestion->rank[i] : 0, .item = i};
    for (size_t a = 0; a < m; a++)
        for (uint32_t i = 0; i < n; i++)
            key[i].sum += answers[a].rank[i];
    s_sort(key, n, sizeof(*key), s_borda_cmp);
    /* What settled the order: the weakest rule any pair of equal means needed. */
    jury_decided_t by = JURY_DECIDED_VOTE;
    for (uint32_t p = 0; p < n; p++) {
        out_rank[key[p].item] = p;
        if (p == 0 || key[p].sum != key[p - 1].sum)
            continue;
        if (key[p].sugg == key[p - 1].sugg)
            by = JURY_DECIDED_LABEL_ORDER;
        else if (by == JURY_DECIDED_VOTE)
            by = JURY_DECIDED_SUGGESTION;
    }
    s_scratch_free(key, stack);
    const jury_ranking_t result = {.rank = out_rank, .n = n};
    double dist = 0;
    for (size_t a = 0; a < m; a++)
        dist += jury_distance_kendall_tau(&result, &answers[a]);
    *out = (jury_choice_t){.ok = true,
                           .value = 0,
                           .nanswers = s_nanswers(m),
                           .support = 1.0 - dist / (double)m,
                           .decided_by = by,
                           .note = NULL};
    return JURY_OK;
}

static jury_err s_ranking_majority(const jury_ranking_t *answers, size_t m, uint32_t n,
                                   const jury_ranking_t *suggestion, const double *rel,
                                   uint32_t *out_rank, jury_choice_t *out)
{
    /* Groups of equal answers, each named by its first answer: cnt[g] answers, relbest[g] the
     * largest rel among them, for g the index of that first answer. */
    size_t cstack[S_STACK_M];
    double rstack[S_STACK_M];
    uint32_t pstack[S_STACK_ITEMS + 1];
    size_t *cnt = s_scratch(cstack, S_STACK_M, m, sizeof(*cnt));
    double *relbest = s_scratch(rstack, S_STACK_M, m, sizeof(*relbest));
    uint32_t *pos = s_scratch(pstack, S_STACK_ITEMS + 1, (size_t)n + 1, sizeof(*pos));
    jury_err rc = JURY_ENOMEM;
    if (!cnt || !relbest || !pos)
        goto done;
    size_t bytes = (size_t)n * sizeof(uint32_t), best = 0;
    for (size_t i = 0; i < m; i++) {
        size_t g = 0;
        cnt[i] = 0;
        while (g < i && (cnt[g] == 0 || memcmp(answers[g].rank, answers[i].rank, bytes) != 0))
            g++;
        if (g == i)
            relbest[i] = rel ? rel[i] : 0;
        else if (rel && rel[i] > relbest[g])
            relbest[g] = rel[i];
        if (++cnt[g] > best)
            best = cnt[g];
    }
    /* The tie rules over the groups with the most answers, in order of their first answer. */
    size_t pick = SIZE_MAX, ntied = 0, ntop = 0;
    double top = -INFINITY;
    for (size_t g = 0; g < m; g++) {
        if (cnt[g] != best)
            continue;
        ntied++;
        if (pick == SIZE_MAX)
            pick = g;
    }
    jury_decided_t by = JURY_DECIDED_VOTE;
    if (ntied > 1) {
        size_t sugg = SIZE_MAX, at = pick;
        for (size_t g = 0; g < m; g++) {
            if (cnt[g] != best)
                continue;
            if (suggestion && sugg == SIZE_MAX &&
                memcmp(suggestion->rank, answers[g].rank, bytes) == 0)
                sugg = g;
            if (rel && relbest[g] > top) {
                top = relbest[g];
                ntop = 1;
                at = g;
            } else if (rel && relbest[g] == top) {
                ntop++;
            }
        }
        by = JURY_DECIDED_LABEL_ORDER;
        if (sugg != SIZE_MAX) {
            pick = sugg;
            by = JURY_DECIDED_SUGGESTION;
        } else if (rel) {
            pick = at; /* the first with the top reliability */
            if (ntop == 1)
                by = JURY_DECIDED_RELIABILITY;
        }
    }
    /* Strict ranks by a counting sort over ranks (all < n): item index order within a tie. */
    const uint32_t *r = answers[pick].rank;
    memset(pos, 0, ((size_t)n + 1) * sizeof(*pos));
    for (uint32_t i = 0; i < n; i++)
        pos[r[i] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        pos[v + 1] += pos[v];
    for (uint32_t i = 0; i < n; i++)
        out_rank[i] = pos[r[i]]++;
    *out = (jury_choice_t){.ok = true,
                           .value = 0,
                           .nanswers = s_nanswers(m),
                           .support = (double)best / (double)m,
                           .decided_by = by,
                           .note = NULL};
    rc = JURY_OK;
done:
    s_scratch_free(cnt, cstack);
    s_scratch_free(relbest, rstack);
    s_scratch_free(pos, pstack);
    return rc;
}

jury_err jury_consolidate_ranking(jury_ranking_method_t method, const jury_ranking_t *answers,
                                  size_t m, uint32_t n, const jury_ranking_t *suggestion,
                                  const double *rel, uint32_t *out_rank, jury_choice_t *out)
{
    if ((method != JURY_RANKING_BORDA && method != JURY_RANKING_MAJORITY) || n == 0 || n > 65535 ||
        !out_rank || !out || (m > 0 && !answers))
        return JURY_EINVAL;
    if (suggestion && !s_ranking_ok(suggestion, n))
        return JURY_EINVAL;
    for (size_t i = 0; i < m; i++)
        if (!s_ranking_ok(&answers[i], n))
            return JURY_EINVAL;
    if (m == 0) {
        s_none(out);
        return JURY_OK;
    }
    if (method == JURY_RANKING_BORDA)
        return s_ranking_borda(answers, m, n, suggestion, out_rank, out);
    return s_ranking_majority(answers, m, n, suggestion, rel, out_rank, out);
}

static bool s_text_same(const jury_text_t *a, const jury_text_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

jury_err jury_consolidate_text_similarity(const jury_text_t *answers, size_t m, double *means)
{
    if (m > 0 && (!answers || !means))
        return JURY_EINVAL;
    for (size_t i = 0; i < m; i++)
        if (answers[i].len > 0 && !answers[i].s)
            return JURY_EINVAL;
    if (m == 1)
        means[0] = 1.0;
    if (m < 2)
        return JURY_OK;
    /* rep[i] is the first answer with the same bytes as answer i, mult[r] how many answers share
     * text r, sum[r] the sum of text r's distances to all m answers: only distinct texts are
     * compared, each pair once. */
    size_t rstack[S_STACK_M], mstack[S_STACK_M];
    double sstack[S_STACK_M];
    size_t *rep = s_scratch(rstack, S_STACK_M, m, sizeof(*rep));
    size_t *mult = s_scratch(mstack, S_STACK_M, m, sizeof(*mult));
    double *sum = s_scratch(sstack, S_STACK_M, m, sizeof(*sum));
    jury_err rc = JURY_ENOMEM;
    if (!rep || !mult || !sum)
        goto done;
    for (size_t i = 0; i < m; i++) {
        size_t r = 0;
        while (r < i && (rep[r] != r || !s_text_same(&answers[r], &answers[i])))
            r++;
        rep[i] = r;
        mult[i] = 0;
        sum[i] = 0;
        mult[r]++;
    }
    for (size_t x = 0; x < m; x++) {
        if (rep[x] != x)
            continue;
        for (size_t y = x + 1; y < m; y++) {
            if (rep[y] != y)
                continue;
            double d;
            if ((rc = jury_distance_edit(&answers[x], &answers[y], &d)) != JURY_OK)
                goto done;
            sum[x] += d * (double)mult[y];
            sum[y] += d * (double)mult[x];
        }
    }
    for (size_t i = 0; i < m; i++)
        means[i] = 1.0 - sum[rep[i]] / (double)(m - 1);
    rc = JURY_OK;
done:
    s_scratch_free(rep, rstack);
    s_scratch_free(mult, mstack);
    s_scratch_free(sum, sstack);
    return rc;
}

jury_err jury_consolidate_text_choose(jury_text_method_t method, const jury_text_t *answers,
                                      const double *means, size_t m, const double *rel,
                                      jury_choice_t *out)
{
    if ((method != JURY_TEXT_MEDOID && method != JURY_TEXT_BEST_ANNOTATOR) || !out ||
        (m > 0 && (!answers || !means)))
        return JURY_EINVAL;
    for (size_t i = 0; i < m; i++)
        if ((answers[i].len > 0 && !answers[i].s) || !isfinite(means[i]))
            return JURY_EINVAL;
    if (m == 0) {
        s_none(out);
        return JURY_OK;
    }
    size_t pick = 0;
    jury_decided_t by = JURY_DECIDED_VOTE;
    if (method == JURY_TEXT_BEST_ANNOTATOR) {
        /* The largest rel, the first on equal rel; ties count only between different texts. */
        bool shared = false, distinct = false;
        for (size_t i = 1; i < m; i++) {
            distinct |= !s_text_same(&answers[i], &answers[0]);
            if (!rel)
                continue;
            if (rel[i] > rel[pick]) {
                pick = i;
                shared = false;
            } else if (rel[i] == rel[pick] && !s_text_same(&answers[i], &answers[pick])) {
                shared = true;
            }
        }
        if (distinct)
            by = rel && !shared ? JURY_DECIDED_RELIABILITY : JURY_DECIDED_LABEL_ORDER;
    } else {
        /* The highest mean similarity; within 1e-9 it is a tie. Answers with the same text
         * always tie and do not make the choice a tie. */
        double high = means[0];
        for (size_t i = 1; i < m; i++)
            if (means[i] > high)
                high = means[i];
        size_t ntop = 0, first = SIZE_MAX;
        bool tied = false;
        double top = -INFINITY;
        pick = SIZE_MAX;
        for (size_t i = 0; i < m; i++) {
            if (means[i] < high - 1e-9)
                continue;
            if (first == SIZE_MAX)
                first = i;
            else if (!s_text_same(&answers[i], &answers[first]))
                tied = true;
            if (pick == SIZE_MAX)
                pick = i;
            if (!rel)
                continue;
            if (rel[i] > top) {
                top = rel[i];
                pick = i;
                ntop = 1;
            } else if (rel[i] == top && !s_text_same(&answers[i], &answers[pick])) {
                ntop++;
            }
        }
        if (tied)
            by = rel && ntop == 1 ? JURY_DECIDED_RELIABILITY : JURY_DECIDED_LABEL_ORDER;
    }
    *out = (jury_choice_t){.ok = true,
                           .value = (uint32_t)pick,
                           .nanswers = s_nanswers(m),
                           .support = means[pick],
                           .decided_by = by,
                           .note = NULL};
    return JURY_OK;
}

jury_err jury_consolidate_text(jury_text_method_t method, const jury_text_t *answers, size_t m,
                               const double *rel, jury_choice_t *out)
{
    if ((method != JURY_TEXT_MEDOID && method != JURY_TEXT_BEST_ANNOTATOR) || !out ||
        (m > 0 && !answers))
        return JURY_EINVAL;
    double stack[S_STACK_M];
    double *means = s_scratch(stack, S_STACK_M, m ? m : 1, sizeof(*means));
    if (!means)
        return JURY_ENOMEM;
    jury_err rc = jury_consolidate_text_similarity(answers, m, means);
    if (rc == JURY_OK)
        rc = jury_consolidate_text_choose(method, answers, means, m, rel, out);
    s_scratch_free(means, stack);
    return rc;
}

/* A span with the answer that marked it, sorted by span then answer. */
typedef struct {
    jury_span_t span;
    size_t answer;
} s_span_key_t;

static int s_span_cmp(const void *pa, const void *pb)
{
    const s_span_key_t *a = pa, *b = pb;
    if (a->span.start != b->span.start)
        return a->span.start < b->span.start ? -1 : 1;
    if (a->span.end != b->span.end)
        return a->span.end < b->span.end ? -1 : 1;
    if (a->span.label != b->span.label)
        return a->span.label < b->span.label ? -1 : 1;
    return (a->answer > b->answer) - (a->answer < b->answer);
}

static bool s_span_eq(const jury_span_t *a, const jury_span_t *b)
{
    return a->start == b->start && a->end == b->end && a->label == b->label;
}

jury_err jury_consolidate_span(const jury_span_t *const *answers, const size_t *nspans, size_t m,
                               jury_span_t *out, size_t out_cap, size_t *out_n,
                               jury_choice_t *out_choice)
{
    if (!out_n || !out_choice || (out_cap > 0 && !out) || (m > 0 && (!answers || !nspans)))
        return JURY_EINVAL;
    size_t total = 0;
    for (size_t i = 0; i < m; i++) {
        if (nspans[i] > 0 && !answers[i])
            return JURY_EINVAL;
        if (nspans[i] > SIZE_MAX - total)
            return JURY_ENOMEM;
        total += nspans[i];
    }
    if (m == 0) {
        *out_n = 0;
        s_none(out_choice);
        return JURY_OK;
    }
    s_span_key_t stack[S_STACK_SPANS];
    s_span_key_t *key = s_scratch(stack, S_STACK_SPANS, total, sizeof(*key));
    if (!key)
        return JURY_ENOMEM;
    size_t t = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < nspans[i]; j++)
            key[t++] = (s_span_key_t){.span = answers[i][j], .answer = i};
    s_sort(key, total, sizeof(*key), s_span_cmp);
    /* Two walks over the runs of equal spans: count first, so that nothing is written when the
     * result does not fit. */
    size_t nunion = 0, n = 0;
    for (int pass = 0; pass < 2; pass++) {
        nunion = n = 0;
        for (size_t a = 0; a < total;) {
            size_t b = a + 1, voters = 1;
            for (; b < total && s_span_eq(&key[b].span, &key[a].span); b++)
                voters += key[b].answer != key[b - 1].answer;
            nunion++;
            if (2 * voters > m) {
                if (pass == 1)
                    out[n] = key[a].span;
                n++;
            }
            a = b;
        }
        if (n > out_cap) {
            s_scratch_free(key, stack);
            return JURY_ETOOBIG;
        }
    }
    s_scratch_free(key, stack);
    *out_n = n;
    *out_choice = (jury_choice_t){.ok = true,
                                  .value = 0,
                                  .nanswers = s_nanswers(m),
                                  .support = nunion ? (double)n / (double)nunion : 1.0,
                                  .decided_by = JURY_DECIDED_VOTE,
                                  .note = NULL};
    return JURY_OK;
}

double jury_posterior_confidence(const uint32_t *answers, const double *accuracy, size_t n,
                                 uint32_t k, uint32_t *best)
{
    if (best)
        *best = 0;
    if (k < 2)
        return 1.0;
    /* Log-likelihood of each category: log a_j where j chose it, log((1 - a_j) / (k - 1))
     * elsewhere; a category nobody chose starts from the same sum of the latter. */
    double *score = calloc(k, sizeof *score);
    if (!score)
        return 0.0;
    for (size_t j = 0; j < n; j++) {
        if (answers[j] >= k)
            continue;
        double a = accuracy[j] < 0.001 ? 0.001 : accuracy[j] > 0.999 ? 0.999 : accuracy[j];
        double miss = log((1.0 - a) / (double)(k - 1)), hit = log(a);
        for (uint32_t c = 0; c < k; c++)
            score[c] += c == answers[j] ? hit : miss;
    }
    uint32_t top = 0;
    for (uint32_t c = 1; c < k; c++)
        if (score[c] > score[top] + 1e-12) /* rounding must not break a tie */
            top = c;
    double sum = 0;
    for (uint32_t c = 0; c < k; c++)
        sum += exp(score[c] - score[top]);
    free(score);
    if (best)
        *best = top;
    return 1.0 / sum;
}
