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

jury_err jury_consolidate_weighted(const jury_rating_t *ratings, size_t n, uint32_t nunits,
                                   uint32_t ncoders, uint32_t k, const jury_tiebreak_t *tiebreak,
                                   jury_choice_t *out, double *weights)
{
    jury_err rc;
    if (!out && nunits > 0)
        return JURY_EINVAL;
    if ((rc = s_check(ratings, n, nunits, ncoders, k)) != JURY_OK ||
        (rc = s_check_tiebreak(tiebreak, nunits, k)) != JURY_OK)
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
    for (uint32_t c = 0; c < ncoders; c++)
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
    if ((rc = s_check(ratings, n, nunits, ncoders, k)) != JURY_OK)
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
