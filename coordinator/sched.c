/* sched.c: overlapping assignment with leases: per-record annotator sets, two ordered queues of
 * records with free slots, per-annotator lease lists. */
#include "sched.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define LEASED                                                                                     \
    0x80000000u /* flag on an annotator entry of a record: holds a lease, has not answered */

enum { TIER_NONE = 0, TIER_STARTED = 1, TIER_FRESH = 2 };

/* One record. Its annotator entries are those who answered it (submitted or
 * discarded) and, with LEASED set, those who hold a lease on it now. */
typedef struct {
    uint32_t target;     /* submitted responses that complete it */
    uint32_t submitted;  /* submitted responses */
    uint32_t prev, next; /* neighbours in its tier's queue (record indices) */
    uint32_t *ann;       /* annotator entries (owned) */
    uint16_t leases;     /* active leases */
    uint16_t discards;   /* discarded responses */
    uint16_t nann, cap;  /* entries used and allocated */
    uint8_t done;        /* completed or set aside */
    uint8_t tier;        /* queue it is in, TIER_NONE when it has no free slot */
    uint8_t gold;        /* a gold record: in no queue, offered through the gold list */
} rec_t;

/* One lease, in its annotator's list. */
typedef struct {
    uint32_t rec;    /* record index (seq - 1) */
    bool delivered;  /* handed to the annotator's current session */
    int64_t expires; /* deadline */
} lease_t;

/* An annotator's leases. */
typedef struct {
    lease_t *v;          /* leases (owned) */
    uint64_t perm_pos;   /* random order: steps taken along this annotator's permutation */
    uint64_t perm_size;  /* records in the permutation perm_pos refers to */
    uint64_t answered;   /* records answered (submitted or discarded), for the quota */
    uint64_t given;      /* records handed out (leased) since the schedule was built */
    uint64_t gold_given; /* of those, gold records */
    uint32_t gold_pos;   /* where in the gold list the next gold record is looked for */
    uint32_t n, cap;     /* used and allocated */
} ann_t;

struct jury_sched {
    jury_sched_opts_t opts;    /* distribution */
    rec_t *recs;               /* records by index = seq - 1 */
    uint32_t nrecs, cap;       /* used and allocated */
    uint32_t head[3], tail[3]; /* queues of records with free slots, by tier */
    ann_t *anns;               /* annotators by id */
    uint32_t nanns;            /* allocated entries of anns */
    size_t leases;             /* active leases */
    size_t open;               /* records not done (gold records excepted) */
    uint32_t *gold;            /* gold records' indices, in order (owned) */
    uint32_t ngold, capgold;   /* used and allocated */
};

jury_sched_t *jury_sched_new(const jury_sched_opts_t *opts)
{
    jury_sched_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->opts = *opts;
    for (int t = 0; t < 3; t++)
        s->head[t] = s->tail[t] = NONE;
    return s;
}

void jury_sched_destroy(jury_sched_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jury_sched_t *s = *self_p;
    for (uint32_t i = 0; i < s->nrecs; i++)
        free(s->recs[i].ann);
    for (uint32_t i = 0; i < s->nanns; i++)
        free(s->anns[i].v);
    free(s->recs);
    free(s->anns);
    free(s->gold);
    free(s);
    *self_p = NULL;
}

uint64_t jury_sched_last_seq(const jury_sched_t *s)
{
    return s->nrecs;
}

size_t jury_sched_leases(const jury_sched_t *s)
{
    return s->leases;
}

size_t jury_sched_open(const jury_sched_t *s)
{
    return s->open;
}

size_t jury_sched_annotator_leases(const jury_sched_t *s, uint32_t annotator)
{
    return annotator < s->nanns ? s->anns[annotator].n : 0;
}

/* ---- queues ------------------------------------------------------------ */

static void s_unlink(jury_sched_t *s, uint32_t i)
{
    rec_t *r = &s->recs[i];
    if (r->tier == TIER_NONE)
        return;
    if (r->prev != NONE)
        s->recs[r->prev].next = r->next;
    else
        s->head[r->tier] = r->next;
    if (r->next != NONE)
        s->recs[r->next].prev = r->prev;
    else
        s->tail[r->tier] = r->prev;
    r->tier = TIER_NONE;
    r->prev = r->next = NONE;
}

static void s_link(jury_sched_t *s, uint32_t i, int tier, bool at_head)
{
    rec_t *r = &s->recs[i];
    r->tier = (uint8_t)tier;
    if (at_head) {
        r->prev = NONE;
        r->next = s->head[tier];
        if (r->next != NONE)
            s->recs[r->next].prev = i;
        else
            s->tail[tier] = i;
        s->head[tier] = i;
    } else {
        r->next = NONE;
        r->prev = s->tail[tier];
        if (r->prev != NONE)
            s->recs[r->prev].next = i;
        else
            s->head[tier] = i;
        s->tail[tier] = i;
    }
}

static bool s_has_slot(const rec_t *r)
{
    return !r->done && r->submitted + r->leases < r->target;
}

/*
 * Puts record i in the queue its state calls for. A record that comes back
 * (a lease ended) goes to the head of its queue: it is older work. A record
 * that just got its first submission joins the tail of the started queue.
 */
static void s_requeue(jury_sched_t *s, uint32_t i, bool at_head)
{
    rec_t *r = &s->recs[i];
    if (r->gold)
        return;
    int want = !s_has_slot(r) ? TIER_NONE : r->submitted > 0 ? TIER_STARTED : TIER_FRESH;
    if (want == r->tier)
        return;
    s_unlink(s, i);
    if (want != TIER_NONE)
        s_link(s, i, want, at_head);
}

/* ---- annotator entries of a record ------------------------------------- */

static int s_find_ann(const rec_t *r, uint32_t annotator)
{
    for (int k = 0; k < r->nann; k++)
        if ((r->ann[k] & ~LEASED) == annotator)
            return k;
    return -1;
}

static bool s_add_ann(rec_t *r, uint32_t entry)
{
    if (r->nann == r->cap) {
        uint16_t ncap = r->cap ? (uint16_t)(r->cap * 2) : 4;
        if (ncap <= r->cap)
            return false; /* 65535 annotators on one record: refuse, never overflow */
        uint32_t *v = realloc(r->ann, ncap * sizeof *v);
        if (!v)
            return false;
        r->ann = v;
        r->cap = ncap;
    }
    r->ann[r->nann++] = entry;
    return true;
}

static void s_del_ann(rec_t *r, int k)
{
    r->ann[k] = r->ann[--r->nann];
}

/* ---- annotators' leases -------------------------------------------------- */

static ann_t *s_ann(jury_sched_t *s, uint32_t annotator)
{
    if (annotator >= s->nanns) {
        uint32_t n = s->nanns ? s->nanns : 16;
        while (n <= annotator)
            n *= 2;
        ann_t *v = realloc(s->anns, n * sizeof *v);
        if (!v)
            return NULL;
        memset(v + s->nanns, 0, (n - s->nanns) * sizeof *v);
        s->anns = v;
        s->nanns = n;
    }
    return &s->anns[annotator];
}

static int s_find_lease(const jury_sched_t *s, uint32_t annotator, uint32_t rec)
{
    if (annotator >= s->nanns)
        return -1;
    const ann_t *a = &s->anns[annotator];
    for (uint32_t k = 0; k < a->n; k++)
        if (a->v[k].rec == rec)
            return (int)k;
    return -1;
}

/* Removes annotator's lease number k (its list entry and the record's entry). */
static void s_drop_lease(jury_sched_t *s, uint32_t annotator, int k)
{
    ann_t *a = &s->anns[annotator];
    uint32_t i = a->v[k].rec;
    a->v[k] = a->v[--a->n];
    rec_t *r = &s->recs[i];
    int e = s_find_ann(r, annotator);
    if (e >= 0 && (r->ann[e] & LEASED))
        s_del_ann(r, e);
    r->leases--;
    s->leases--;
}

/* ---- public -------------------------------------------------------------- */

jury_err jury_sched_add(jury_sched_t *s, uint64_t seq, uint32_t target, uint32_t submitted,
                        uint32_t discards, bool done, const uint32_t *responded, size_t nresponded)
{
    if (seq != (uint64_t)s->nrecs + 1 || target == 0 || seq >= NONE)
        return JURY_EINVAL;
    if (s->nrecs == s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 1024;
        rec_t *v = realloc(s->recs, ncap * sizeof *v);
        if (!v)
            return JURY_ENOMEM;
        s->recs = v;
        s->cap = ncap;
    }
    uint32_t i = s->nrecs;
    rec_t *r = &s->recs[i];
    memset(r, 0, sizeof *r);
    r->prev = r->next = NONE;
    r->target = target;
    r->submitted = submitted;
    r->discards = discards > UINT16_MAX ? UINT16_MAX : (uint16_t)discards;
    r->done = done || submitted >= target;
    if (!r->done) {
        for (size_t k = 0; k < nresponded; k++)
            if (!(responded[k] & LEASED) && !s_add_ann(r, responded[k])) {
                free(r->ann);
                return JURY_ENOMEM;
            }
        s->open++;
    }
    s->nrecs++;
    s_requeue(s, i, false);
    return JURY_OK;
}

/* Leases record i to annotator; false when out of memory. */
static bool s_lease(jury_sched_t *s, ann_t *a, uint32_t annotator, uint32_t i, int64_t expires)
{
    if (a->n == a->cap) {
        uint32_t ncap = a->cap ? a->cap * 2 : 16;
        lease_t *v = realloc(a->v, ncap * sizeof *v);
        if (!v)
            return false;
        a->v = v;
        a->cap = ncap;
    }
    rec_t *r = &s->recs[i];
    if (!s_add_ann(r, annotator | LEASED))
        return false;
    a->v[a->n++] = (lease_t){.rec = i, .delivered = true, .expires = expires};
    r->leases++;
    s->leases++;
    s_requeue(s, i, false);
    return true;
}

static bool s_offerable(const jury_sched_t *s, uint32_t i, uint32_t annotator)
{
    const rec_t *r = &s->recs[i];
    return s_has_slot(r) && s_find_ann(r, annotator) < 0;
}

/* Odd multiplier of a 64-bit mix; enough to spread annotators over start points. */
static uint64_t s_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    return x ^ (x >> 33);
}

static uint64_t s_gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/*
 * The gold records due in a fetch of n for annotator: every record while it is onboarding, then
 * as many as keep its share of gold at opts.gold_rate. Leases them (those it has not answered,
 * walking the gold list round from where it stopped) and returns how many.
 */
static size_t s_fetch_gold(jury_sched_t *s, ann_t *a, uint32_t annotator, size_t n,
                           int64_t deadline, uint64_t *seqs, int64_t *expires)
{
    if (s->ngold == 0 || (s->opts.gold_rate <= 0 && s->opts.onboarding == 0))
        return 0;
    size_t due = 0;
    uint64_t given = a->given, gold = a->gold_given;
    for (size_t k = 0; k < n; k++, given++)
        if (given < s->opts.onboarding || (double)gold < s->opts.gold_rate * (double)(given + 1)) {
            due++;
            gold++;
        }
    size_t got = 0;
    for (uint32_t tried = 0; tried < s->ngold && got < due; tried++) {
        uint32_t i = s->gold[a->gold_pos % s->ngold];
        a->gold_pos = (a->gold_pos + 1) % s->ngold;
        if (s_find_ann(&s->recs[i], annotator) >= 0)
            continue;
        if (!s_lease(s, a, annotator, i, deadline))
            break;
        seqs[got] = (uint64_t)i + 1;
        expires[got++] = deadline;
    }
    a->gold_given += got;
    return got;
}

static size_t s_fetch_normal(jury_sched_t *s, ann_t *a, uint32_t annotator, size_t n, int64_t now,
                             uint64_t *seqs, int64_t *expires, size_t got);

size_t jury_sched_fetch(jury_sched_t *s, uint32_t annotator, size_t n, int64_t now, uint64_t *seqs,
                        int64_t *expires)
{
    if (annotator & LEASED)
        return 0;
    ann_t *a = s_ann(s, annotator);
    if (!a)
        return 0;
    size_t got = 0;
    /* Leases held from before a reconnect come back first. */
    for (uint32_t k = 0; k < a->n && got < n; k++)
        if (!a->v[k].delivered && a->v[k].expires > now) {
            a->v[k].delivered = true;
            seqs[got] = (uint64_t)a->v[k].rec + 1;
            expires[got++] = a->v[k].expires;
        }
    /* The quota counts what the annotator answered and what it holds. */
    if (s->opts.max_per_annotator) {
        uint64_t used = a->answered + a->n;
        uint64_t room = used < s->opts.max_per_annotator ? s->opts.max_per_annotator - used : 0;
        if (n > got + room)
            n = got + (size_t)room;
    }
    int64_t gold_deadline = now + s->opts.lease_ms;
    size_t first_new = got;
    got += s_fetch_gold(s, a, annotator, n - got, gold_deadline, seqs + got, expires + got);
    size_t gold_got = got - first_new;
    size_t before_normal = got;
    got = s_fetch_normal(s, a, annotator, n, now, seqs, expires, got);
    a->given += gold_got + (got - before_normal);
    return got;
}

/* Leases up to n regular records (complete_first or random order) after the got already in seqs;
 * returns the new total. */
static size_t s_fetch_normal(jury_sched_t *s, ann_t *a, uint32_t annotator, size_t n, int64_t now,
                             uint64_t *seqs, int64_t *expires, size_t got)
{
    int64_t deadline = now + s->opts.lease_ms;
    if (!s->opts.random_order) {
        for (int tier = TIER_STARTED; tier <= TIER_FRESH && got < n; tier++) {
            uint32_t i = s->head[tier];
            while (i != NONE && got < n) {
                uint32_t next = s->recs[i].next; /* leasing may unlink i */
                if (s_find_ann(&s->recs[i], annotator) < 0) {
                    if (!s_lease(s, a, annotator, i, deadline))
                        return got;
                    seqs[got] = (uint64_t)i + 1;
                    expires[got++] = deadline;
                }
                i = next;
            }
        }
        return got;
    }
    /* Random order: walk all records along a permutation i -> (start + k * step) mod n
     * that is fixed per annotator, so each one sees its own order. */
    uint64_t m = s->nrecs;
    if (m == 0)
        return got;
    uint64_t h = s_mix(s->opts.seed ^ s_mix(annotator));
    uint64_t start = h % m, step = (s_mix(h) % m) | 1;
    while (s_gcd(step, m) != 1)
        step += 2;
    /* Resume where this annotator's last fetch stopped, so that a long
     * campaign does not rescan the records it already went past; a full
     * turn still visits every record once. New records change the
     * permutation, and the walk starts over. */
    if (a->perm_size != m) {
        a->perm_size = m;
        a->perm_pos = 0;
    }
    uint64_t i = (start + (a->perm_pos % m) * step) % m;
    for (uint64_t k = 0; k < m && got < n; k++) {
        uint64_t here = i;
        i = (i + step) % m;
        a->perm_pos = (a->perm_pos + 1) % m;
        if (!s_offerable(s, (uint32_t)here, annotator))
            continue;
        if (!s_lease(s, a, annotator, (uint32_t)here, deadline))
            return got;
        seqs[got] = here + 1;
        expires[got++] = deadline;
    }
    return got;
}

jury_err jury_sched_check(const jury_sched_t *s, uint32_t annotator, uint64_t seq, int64_t now)
{
    if (seq == 0 || seq > s->nrecs)
        return JURY_ENOTFOUND;
    int k = s_find_lease(s, annotator, (uint32_t)(seq - 1));
    if (k < 0 || s->anns[annotator].v[k].expires <= now)
        return JURY_ENOTLEASED;
    return JURY_OK;
}

jury_err jury_sched_add_gold(jury_sched_t *s, uint64_t seq, const uint32_t *responded,
                             size_t nresponded)
{
    if (s->ngold == s->capgold) {
        uint32_t ncap = s->capgold ? s->capgold * 2 : 64;
        uint32_t *v = realloc(s->gold, ncap * sizeof *v);
        if (!v)
            return JURY_ENOMEM;
        s->gold = v;
        s->capgold = ncap;
    }
    /* Added as a record that can never fill up, then taken out of the queues and the count of
     * open records. */
    jury_err err = jury_sched_add(s, seq, UINT32_MAX, 0, 0, false, responded, nresponded);
    if (err != JURY_OK)
        return err;
    uint32_t i = (uint32_t)(seq - 1);
    s_unlink(s, i);
    s->recs[i].gold = 1;
    s->open--;
    s->gold[s->ngold++] = i;
    return JURY_OK;
}

bool jury_sched_is_gold(const jury_sched_t *s, uint64_t seq)
{
    return seq >= 1 && seq <= s->nrecs && s->recs[seq - 1].gold;
}

jury_err jury_sched_claim(jury_sched_t *s, uint32_t annotator, uint64_t seq, int64_t now,
                          int64_t *expires)
{
    if (seq == 0 || seq > s->nrecs)
        return JURY_ENOTFOUND;
    if ((annotator & LEASED) || !s_offerable(s, (uint32_t)(seq - 1), annotator))
        return JURY_ENOTLEASED;
    ann_t *a = s_ann(s, annotator);
    if (a && s->opts.max_per_annotator && a->answered + a->n >= s->opts.max_per_annotator)
        return JURY_ENOTLEASED;
    int64_t deadline = now + s->opts.lease_ms;
    if (!a || !s_lease(s, a, annotator, (uint32_t)(seq - 1), deadline))
        return JURY_ENOMEM;
    *expires = deadline;
    return JURY_OK;
}

jury_err jury_sched_reopen(jury_sched_t *s, uint64_t seq, uint32_t target, uint32_t submitted,
                           const uint32_t *responded, size_t nresponded)
{
    if (seq == 0 || seq > s->nrecs || target <= submitted)
        return JURY_EINVAL;
    uint32_t i = (uint32_t)(seq - 1);
    rec_t *r = &s->recs[i];
    r->target = target;
    if (r->done) {
        for (size_t k = 0; k < nresponded; k++)
            if (!(responded[k] & LEASED) && s_find_ann(r, responded[k]) < 0 &&
                !s_add_ann(r, responded[k]))
                return JURY_ENOMEM;
        r->submitted = submitted;
        r->done = 0;
        s->open++;
    }
    s_requeue(s, i, true);
    return JURY_OK;
}

/* Ends annotator's lease on record i if it has one. */
static void s_end_lease(jury_sched_t *s, uint32_t annotator, uint32_t i)
{
    int k = s_find_lease(s, annotator, i);
    if (k >= 0)
        s_drop_lease(s, annotator, k);
}

/*
 * Whether a response of annotator to r was counted already. The store keeps
 * one response per annotator and record (a second one replaces the first),
 * so a repeated response must not count again. A finished record forgot who
 * answered it and takes no more counts.
 */
static bool s_answered(const rec_t *r, uint32_t annotator)
{
    int e = s_find_ann(r, annotator);
    return r->done || (e >= 0 && !(r->ann[e] & LEASED));
}

/* Notes that annotator answered r, so it is never offered r again. False when
 * out of memory: the caller then finishes the record, the safe way to keep
 * the promise that nobody answers it twice. */
static bool s_responded(rec_t *r, uint32_t annotator)
{
    return s_find_ann(r, annotator) >= 0 || s_add_ann(r, annotator);
}

static bool s_finish_if(jury_sched_t *s, uint32_t i, bool cond)
{
    rec_t *r = &s->recs[i];
    if (r->done || !cond)
        return false;
    r->done = 1;
    s->open--;
    /* Nobody can answer it any more: end the other annotators' leases. */
    for (int k = r->nann - 1; k >= 0; k--)
        if (r->ann[k] & LEASED) {
            uint32_t other = r->ann[k] & ~LEASED;
            s_end_lease(s, other, i);
        }
    free(r->ann);
    r->ann = NULL;
    r->nann = r->cap = 0;
    return true;
}

/* One more record answered by annotator (its quota). */
static void s_count_answer(jury_sched_t *s, uint32_t annotator)
{
    ann_t *a = s_ann(s, annotator);
    if (a)
        a->answered++;
}

jury_err jury_sched_set_answered(jury_sched_t *s, uint32_t annotator, uint64_t answered)
{
    ann_t *a = (annotator & LEASED) ? NULL : s_ann(s, annotator);
    if (!a)
        return JURY_ENOMEM;
    a->answered = answered;
    return JURY_OK;
}

uint64_t jury_sched_answered(const jury_sched_t *s, uint32_t annotator)
{
    return annotator < s->nanns ? s->anns[annotator].answered : 0;
}

bool jury_sched_submitted(jury_sched_t *s, uint32_t annotator, uint64_t seq)
{
    if (seq == 0 || seq > s->nrecs || (annotator & LEASED))
        return false;
    uint32_t i = (uint32_t)(seq - 1);
    rec_t *r = &s->recs[i];
    s_end_lease(s, annotator, i);
    if (s_answered(r, annotator))
        return false;
    s_count_answer(s, annotator);
    r->submitted++;
    bool noted = s_responded(r, annotator);
    bool finished = !r->gold && s_finish_if(s, i, !noted || r->submitted >= r->target);
    s_requeue(s, i, false);
    return finished;
}

bool jury_sched_discarded(jury_sched_t *s, uint32_t annotator, uint64_t seq)
{
    if (seq == 0 || seq > s->nrecs || (annotator & LEASED))
        return false;
    uint32_t i = (uint32_t)(seq - 1);
    rec_t *r = &s->recs[i];
    s_end_lease(s, annotator, i);
    if (s_answered(r, annotator))
        return false;
    s_count_answer(s, annotator);
    if (r->discards < UINT16_MAX)
        r->discards++;
    bool noted = s_responded(r, annotator);
    bool finished =
        !r->gold &&
        s_finish_if(s, i, !noted || (s->opts.max_discards && r->discards >= s->opts.max_discards));
    s_requeue(s, i, true);
    return finished;
}

int64_t jury_sched_draft(jury_sched_t *s, uint32_t annotator, uint64_t seq, int64_t now)
{
    if (seq == 0 || seq > s->nrecs)
        return 0;
    int k = s_find_lease(s, annotator, (uint32_t)(seq - 1));
    /* A lease past its deadline is dead (jury_sched_check says so) even before
     * jury_sched_expire sweeps it: a late draft must not bring it back. */
    if (k < 0 || s->anns[annotator].v[k].expires <= now)
        return 0;
    return s->anns[annotator].v[k].expires = now + s->opts.lease_ms;
}

bool jury_sched_release(jury_sched_t *s, uint32_t annotator, uint64_t seq)
{
    if (seq == 0 || seq > s->nrecs)
        return false;
    uint32_t i = (uint32_t)(seq - 1);
    int k = s_find_lease(s, annotator, i);
    if (k < 0)
        return false;
    s_drop_lease(s, annotator, k);
    s_requeue(s, i, true);
    return true;
}

size_t jury_sched_release_annotator(jury_sched_t *s, uint32_t annotator)
{
    if (annotator >= s->nanns)
        return 0;
    ann_t *a = &s->anns[annotator];
    size_t n = 0;
    while (a->n > 0) {
        uint32_t i = a->v[a->n - 1].rec;
        s_drop_lease(s, annotator, (int)a->n - 1);
        s_requeue(s, i, true);
        n++;
    }
    return n;
}

void jury_sched_redeliver(jury_sched_t *s, uint32_t annotator)
{
    if (annotator >= s->nanns)
        return;
    ann_t *a = &s->anns[annotator];
    for (uint32_t k = 0; k < a->n; k++)
        a->v[k].delivered = false;
}

size_t jury_sched_expire(jury_sched_t *s, int64_t now,
                         void (*expired)(uint32_t annotator, uint64_t seq, void *arg), void *arg)
{
    size_t n = 0;
    for (uint32_t id = 0; id < s->nanns; id++) {
        ann_t *a = &s->anns[id];
        for (uint32_t k = 0; k < a->n;) {
            if (a->v[k].expires > now) {
                k++;
                continue;
            }
            uint32_t i = a->v[k].rec;
            s_drop_lease(s, id, (int)k); /* moves the last lease into k */
            s_requeue(s, i, true);
            if (expired)
                expired(id, (uint64_t)i + 1, arg);
            n++;
        }
    }
    return n;
}
