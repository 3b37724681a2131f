/* bench_edit.c: the edit distance benchmark: jury_distance_edit against the implementations it
 * replaced (the plain DP, then the bit-parallel one that decoded both texts whole). */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "bench_util.h"

static const char s_usage[] =
    "usage: bench_edit [--pairs N] [--length L] [--edits P] [--runs R]\n"
    "\n"
    "Generates N pairs of English-like texts of L code points (a few words carry\n"
    "accents, dashes and curly quotes), the second text of each pair being the\n"
    "first after P% random single code point substitutions, insertions and\n"
    "deletions (deterministic). Checks that jury_distance_edit, the plain dynamic\n"
    "programme and the previous bit-parallel version agree on every pair, then\n"
    "times all three over all pairs R times on one core and prints nanoseconds\n"
    "per pair.\n"
    "\n"
    "Then the same for drafts and their corrections, as consolidation compares\n"
    "them: N drafts of L code points, each paired with a copy that has a sentence\n"
    "appended or 1, 2 or 3 words replaced (N/4 pairs of each kind), timed with\n"
    "jury_distance_edit and with the previous bit-parallel version, which decoded\n"
    "both texts whole instead of stripping their common bytes first.\n"
    "\n"
    "options:\n"
    "  --pairs N    pairs (default 2000)\n"
    "  --length L   code points per text, 1 to 100000 (default 200)\n"
    "  --edits P    edits as a percentage of L, 0 to 100 (default 10)\n"
    "  --runs R     runs of each measurement, 1 to 99 (default 9)\n";

/* Words the texts are made of; the last few are not ASCII. */
static const char *const s_words[] = {"the",          "of",
                                      "and",          "to",
                                      "in",           "is",
                                      "that",         "it",
                                      "was",          "for",
                                      "on",           "are",
                                      "as",           "with",
                                      "his",          "they",
                                      "at",           "be",
                                      "this",         "from",
                                      "have",         "or",
                                      "by",           "one",
                                      "had",          "not",
                                      "but",          "what",
                                      "all",          "were",
                                      "when",         "we",
                                      "there",        "can",
                                      "an",           "your",
                                      "which",        "their",
                                      "said",         "if",
                                      "do",           "will",
                                      "each",         "about",
                                      "how",          "up",
                                      "out",          "them",
                                      "then",         "she",
                                      "many",         "some",
                                      "so",           "these",
                                      "would",        "other",
                                      "into",         "has",
                                      "more",         "her",
                                      "two",          "like",
                                      "him",          "see",
                                      "time",         "could",
                                      "no",           "make",
                                      "than",         "first",
                                      "been",         "its",
                                      "who",          "now",
                                      "people",       "my",
                                      "made",         "over",
                                      "did",          "down",
                                      "only",         "way",
                                      "find",         "use",
                                      "may",          "water",
                                      "long",         "little",
                                      "very",         "after",
                                      "words",        "called",
                                      "just",         "where",
                                      "most",         "know",
                                      "answer",       "model",
                                      "because",      "question",
                                      "response",     "helpful",
                                      "correct",      "explanation",
                                      "example",      "annotator",
                                      "label",        "caf\xc3\xa9",
                                      "na\xc3\xafve", "r\xc3\xa9sum\xc3\xa9",
                                      "\xe2\x80\x94", "\xe2\x80\x9cquoted\xe2\x80\x9d"};
/* Words from this index on are the non-ASCII ones, drawn less often. */
#define S_FIRST_WIDE 107

/* Keeps the timed results alive. */
static volatile double s_sink;

/* ---- the plain dynamic programme jury_distance_edit used before, kept as the baseline ---- */

/* The decoder as it was: counts when out is NULL. */
static size_t s_old_decode(const unsigned char *s, size_t len, uint32_t *out)
{
    size_t n = 0, i = 0;
    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp;
        size_t need;
        if (c < 0x80) {
            cp = c;
            need = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            cp = c & 0x1F;
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F;
            need = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07;
            need = 3;
        } else {
            cp = 0x110000u + c;
            need = 0;
        }
        bool ok = i + need < len || need == 0;
        for (size_t t = 1; ok && t <= need; t++) {
            if ((s[i + t] & 0xC0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (s[i + t] & 0x3F);
        }
        if (ok && need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (ok && need == 3 && (cp < 0x10000 || cp > 0x10FFFF))
            ok = false;
        if (!ok) {
            cp = 0x110000u + c;
            need = 0;
        }
        if (out)
            out[n] = cp;
        n++;
        i += need + 1;
    }
    return n;
}

/* The O(la x lb) Levenshtein programme, one row at a time, as it was. */
static int s_old_edit(const jury_text_t *a, const jury_text_t *b, double *out)
{
    const unsigned char *sa = (const unsigned char *)a->s, *sb = (const unsigned char *)b->s;
    size_t la = s_old_decode(sa, a->len, NULL), lb = s_old_decode(sb, b->len, NULL);
    if (la == 0 && lb == 0) {
        *out = 0.0;
        return 0;
    }
    if (la == 0 || lb == 0) {
        *out = 1.0;
        return 0;
    }
    uint32_t stack[3 * 256 + 1];
    uint32_t *heap = NULL, *ca = stack;
    if (la > 256 || lb > 256) {
        heap = malloc((la + 2 * lb + 1) * sizeof(uint32_t));
        if (!heap)
            return -1;
        ca = heap;
    }
    uint32_t *cb = ca + la, *row = cb + lb;
    s_old_decode(sa, a->len, ca);
    s_old_decode(sb, b->len, cb);
    for (size_t j = 0; j <= lb; j++)
        row[j] = (uint32_t)j;
    for (size_t i = 1; i <= la; i++) {
        uint32_t diag = row[0];
        row[0] = (uint32_t)i;
        for (size_t j = 1; j <= lb; j++) {
            uint32_t up = row[j];
            uint32_t best = diag + (ca[i - 1] != cb[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    *out = (double)row[lb] / (double)(la > lb ? la : lb);
    free(heap);
    return 0;
}

/* ---- the bit-parallel jury_distance_edit before it stripped common bytes, kept as the baseline
 * of the draft benchmark: it decodes both texts whole, then strips common code points ---- */

/*
 * Decodes UTF-8 into code points and returns how many there are. A byte that
 * does not start a well-formed sequence (RFC 3629: no overlongs, surrogates or
 * values above U+10FFFF) becomes the symbol 0x110000 + byte, so no input
 * fails. out receives them all when there are at most cap (out may be NULL
 * with cap 0 to count); otherwise its contents are unspecified. *wide counts
 * the symbols that are not ASCII.
 */
static size_t s_prev_decode(const unsigned char *s, size_t len, uint32_t *out, size_t cap,
                            size_t *wide)
{
    size_t n = 0, i = 0, w = 0;
    while (i < len) {
        /* Runs of ASCII, eight bytes at a time: most answers are mostly ASCII. */
        if (len - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if ((v & 0x8080808080808080u) == 0) {
                if (n + 8 <= cap) {
                    for (size_t k = 0; k < 8; k++)
                        out[n + k] = s[i + k];
                }
                n += 8;
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        uint32_t cp;
        size_t need;
        if (c < 0x80) {
            cp = c;
            need = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            cp = c & 0x1F;
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F;
            need = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07;
            need = 3;
        } else {
            cp = 0x110000u + c;
            need = 0;
        }
        bool ok = i + need < len || need == 0;
        for (size_t t = 1; ok && t <= need; t++) {
            if ((s[i + t] & 0xC0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (s[i + t] & 0x3F);
        }
        if (ok && need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (ok && need == 3 && (cp < 0x10000 || cp > 0x10FFFF))
            ok = false;
        if (!ok) {
            cp = 0x110000u + c;
            need = 0;
        }
        if (n < cap)
            out[n] = cp;
        w += c >= 0x80;
        n++;
        i += need + 1;
    }
    *wide = w;
    return n;
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
 * Blocks go in strips of up to S_PREV_STRIP, advanced together column by
 * column: each block's chain of operations is serial, and the blocks of a
 * strip are what keeps the processor busy. A pattern longer than one strip is
 * done strip after strip across the whole text, the deltas between two strips
 * kept as two bit rows (+1 and -1) as long as the text. The match masks are
 * thus needed for one strip at a time, which keeps memory at O(pattern + text)
 * however many distinct symbols the pattern has.
 *
 * The masks of a strip are a table of rows of `stride` words: row c for ASCII
 * c, row S_PREV_ABSENT (all zero) for any other symbol not in the pattern,
 * then one row per distinct non-ASCII symbol of the pattern, whose row numbers
 * an open-addressing hash hands out. Symbols are replaced by their row numbers
 * before the sweep, so a column costs one load per block.
 */

/* Texts up to this many code points are compared on the stack, without allocation. */
#define S_PREV_STACK 256
/* Blocks of 64 pattern rows advanced together. */
#define S_PREV_STRIP 4
/* The all-zero row of the mask table, for symbols the pattern does not have. */
#define S_PREV_ABSENT 128
/* Hash slots on the stack: twice the non-ASCII symbols a stack-sized pattern can have. */
#define S_PREV_HASH_STACK (2 * S_PREV_STACK)
/* Words of one bit row of deltas for a stack-sized text. */
#define S_PREV_CARRY_STACK ((S_PREV_STACK + 63) / 64)

/* One slot of the non-ASCII symbol hash. */
typedef struct {
    uint32_t cp;  /* code point (or 0x110000 + invalid byte) */
    uint32_t row; /* its row in the mask table; 0 marks an empty slot */
} s_prev_slot_t;

/* The non-ASCII symbols of a pattern: a hash from code point to mask table row. */
typedef struct {
    s_prev_slot_t *slots; /* a power of two of them, at most half used */
    uint32_t mask;        /* number of slots - 1 */
    uint32_t shift;       /* 32 - log2(slots), for Fibonacci hashing */
    uint32_t next;        /* the row the next new symbol gets */
} s_prev_names_t;

/* The slot of cp: where it is, or the empty slot where it belongs. */
static s_prev_slot_t *s_prev_slot(const s_prev_names_t *nm, uint32_t cp)
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
s_prev_step(uint64_t eq, uint64_t *vp, uint64_t *vn, uint64_t *hp, uint64_t *hn, unsigned bit)
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
    const uint32_t *t;   /* the text, as mask table rows */
    size_t n;            /* its length */
    const uint64_t *peq; /* the mask table: row r is peq[r * stride ..] */
    uint64_t *cp, *cn;   /* bit rows of deltas between strips, when not alone */
    size_t sum;          /* sum of the bottom deltas so far (wraps), when alone */
    uint64_t vp[S_PREV_STRIP], vn[S_PREV_STRIP]; /* each block's vertical deltas */
    uint64_t hp[S_PREV_STRIP], hn[S_PREV_STRIP]; /* delta waiting to enter block b >= 1 */
} s_prev_strip_t;

/*
 * Advances block b of a strip of nb blocks at diagonal j: block b is at
 * column j - b, the column block b - 1 finished in the previous diagonal, so
 * that the blocks of one diagonal do not wait for each other. With `guard`,
 * a block off the text (j < b or j - b >= n, before its first column or
 * after its last) stays as it is. b, nb, guard and alone are constants at
 * each call site. `alone` is a strip that is the whole pattern: +1 enters its
 * top and its bottom deltas are summed, instead of read from and written to
 * the bit rows.
 */
static inline __attribute__((always_inline)) void s_prev_block(s_prev_strip_t *s, size_t j,
                                                               const int b, const int nb,
                                                               unsigned top, const bool guard,
                                                               const bool alone)
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
    /* A lone strip's rows are nb words, others' S_PREV_STRIP: a constant either way. */
    size_t stride = alone ? (size_t)nb : S_PREV_STRIP;
    s_prev_step(s->peq[(size_t)s->t[c] * stride + (size_t)b], &s->vp[b], &s->vn[b], &hp, &hn,
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
static inline __attribute__((always_inline)) void s_prev_diagonal(s_prev_strip_t *s, size_t j,
                                                                  const int nb, unsigned top,
                                                                  const bool guard,
                                                                  const bool alone)
{
    if (nb > 3)
        s_prev_block(s, j, 3, nb, top, guard, alone);
    if (nb > 2)
        s_prev_block(s, j, 2, nb, top, guard, alone);
    if (nb > 1)
        s_prev_block(s, j, 1, nb, top, guard, alone);
    s_prev_block(s, j, 0, nb, top, guard, alone);
}

/*
 * Advances a strip of nb blocks (1 to S_PREV_STRIP, a constant at each call
 * site, so that its state stays in registers) across the whole text; `top` is
 * the bit of the strip's last row in its last block. Alone (the strip is the
 * whole pattern), returns the sum of its bottom deltas, D[m][n] - D[m][0],
 * modulo 2^64. Otherwise s->cp and s->cn hold, bit c for column c, the delta
 * entering the strip's top (+1 and -1), and are overwritten with the one
 * leaving its bottom; returns 0.
 */
static inline __attribute__((always_inline)) size_t s_prev_strip(s_prev_strip_t *s, const int nb,
                                                                 unsigned top, const bool alone)
{
    for (int b = 0; b < S_PREV_STRIP; b++) {
        s->vp[b] = ~(uint64_t)0; /* column 0 of the table is 0, 1, 2, ... */
        s->vn[b] = 0;
        s->hp[b] = s->hn[b] = 0;
    }
    s->sum = 0;
    /* Diagonals 0 .. n + nb - 2: the first and last nb - 1 have blocks off the text. */
    size_t lead = (size_t)nb - 1, n = s->n;
    for (size_t j = 0; j < lead; j++)
        s_prev_diagonal(s, j, nb, top, true, alone);
    for (size_t j = lead; j < n; j++)
        s_prev_diagonal(s, j, nb, top, false, alone);
    for (size_t k = 0; k < lead; k++) {
        if (n + k >= lead)
            s_prev_diagonal(s, n + k, nb, top, true, alone);
    }
    return s->sum;
}

/*
 * Levenshtein distance between x (lx symbols, at most wx of them not ASCII)
 * and y (ly, wy); both arrays are scratch and come back overwritten. Allocates
 * only when a string, after the common prefix and suffix, is longer than
 * S_PREV_STACK. Errors: JURY_ENOMEM.
 */
static jury_err s_prev_levenshtein(uint32_t *x, size_t lx, size_t wx, uint32_t *y, size_t ly,
                                   size_t wy, size_t *out)
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

    s_prev_names_t nm = {NULL, 0, 32, S_PREV_ABSENT + 1};
    size_t nslots = 0;
    if (wp > 0) {
        nslots = 16, nm.shift = 28;
        while (nslots < 2 * wp)
            nslots *= 2, nm.shift--;
        nm.mask = (uint32_t)nslots - 1;
    }
    size_t blocks = (m + 63) / 64, stride = blocks < S_PREV_STRIP ? blocks : S_PREV_STRIP;
    /* Bit rows of deltas between strips: only a pattern of several strips needs them. */
    size_t nwords = blocks > S_PREV_STRIP ? (n + 63) / 64 : 0, rows = S_PREV_ABSENT + 1 + wp;
    s_prev_slot_t slot_stack[S_PREV_HASH_STACK];
    uint64_t peq_stack[(S_PREV_ABSENT + 1 + S_PREV_STACK) * S_PREV_STRIP];
    uint64_t carry_stack[2 * S_PREV_CARRY_STACK];
    uint64_t *peq = peq_stack, *carry = carry_stack, *heap = NULL;
    nm.slots = slot_stack;
    if (m > S_PREV_STACK || nwords > S_PREV_CARRY_STACK || nslots > S_PREV_HASH_STACK) {
        /* rows <= 129 + n, stride <= 4, nwords <= n, nslots <= 4n + 16, a slot is a word;
         * rows are uint32_t. */
        if (n > (SIZE_MAX / sizeof(uint64_t) - 1024) / 16 || n > UINT32_MAX / 4)
            return JURY_ENOMEM;
        heap = malloc((rows * stride + 2 * nwords + nslots) * sizeof(uint64_t));
        if (!heap)
            return JURY_ENOMEM;
        peq = heap;
        carry = peq + rows * stride;
        nm.slots = (s_prev_slot_t *)(void *)(carry + 2 * nwords);
    }
    /* Symbols to mask table rows: ASCII is its own row. */
    if (wp > 0) {
        memset(nm.slots, 0, nslots * sizeof(s_prev_slot_t));
        for (size_t i = 0; i < m; i++) {
            if (p[i] >= 128) {
                s_prev_slot_t *sl = s_prev_slot(&nm, p[i]);
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
                uint32_t r = wp > 0 ? s_prev_slot(&nm, t[j])->row : 0;
                t[j] = r ? r : S_PREV_ABSENT;
            }
        }
    }
    memset(peq, 0, (size_t)nm.next * stride * sizeof(uint64_t));

    s_prev_strip_t st;
    st.t = t;
    st.n = n;
    st.peq = peq;
    st.cp = carry;
    st.cn = carry + nwords;
    size_t d = m;
    if (blocks <= S_PREV_STRIP) {
        for (size_t i = 0; i < m; i++)
            peq[p[i] * stride + i / 64] |= (uint64_t)1 << (i % 64);
        /* One call per width, each compiled with the strip's state in registers. D[m][n] is
         * D[m][0] = m plus the deltas along the bottom row. */
        unsigned top = (unsigned)((m - 1) % 64);
        switch (blocks) {
        case 1:
            d += s_prev_strip(&st, 1, top, true);
            break;
        case 2:
            d += s_prev_strip(&st, 2, top, true);
            break;
        case 3:
            d += s_prev_strip(&st, 3, top, true);
            break;
        default:
            d += s_prev_strip(&st, 4, top, true);
            break;
        }
    } else {
        /* Row 0 of the table is 0, 1, 2, ...: +1 enters the first strip at every column (and
         * none past the last, where the sum below would count it). */
        for (size_t w = 0; w < nwords; w++) {
            st.cp[w] = ~(uint64_t)0;
            st.cn[w] = 0;
        }
        if (n % 64)
            st.cp[nwords - 1] = ((uint64_t)1 << (n % 64)) - 1;
        for (size_t r0 = 0; r0 < m; r0 += 64 * S_PREV_STRIP) {
            size_t h = m - r0 < 64 * S_PREV_STRIP ? m - r0 : 64 * S_PREV_STRIP;
            for (size_t i = 0; i < h; i++)
                peq[p[r0 + i] * stride + i / 64] |= (uint64_t)1 << (i % 64);
            unsigned top = (unsigned)((h - 1) % 64);
            switch ((h + 63) / 64) {
            case 1:
                s_prev_strip(&st, 1, top, false);
                break;
            case 2:
                s_prev_strip(&st, 2, top, false);
                break;
            case 3:
                s_prev_strip(&st, 3, top, false);
                break;
            default:
                s_prev_strip(&st, 4, top, false);
                break;
            }
            for (size_t i = 0; i < h; i++)
                peq[p[r0 + i] * stride + i / 64] = 0;
        }
        for (size_t w = 0; w < nwords; w++)
            d = d + (size_t)__builtin_popcountll(st.cp[w]) - (size_t)__builtin_popcountll(st.cn[w]);
    }
    free(heap);
    *out = d;
    return JURY_OK;
}

static jury_err s_prev_edit(const jury_text_t *a, const jury_text_t *b, double *out)
{
    if (!a || !b || !out || (a->len && !a->s) || (b->len && !b->s))
        return JURY_EINVAL;
    if (a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0)) {
        *out = 0.0;
        return JURY_OK;
    }
    const unsigned char *sa = (const unsigned char *)a->s, *sb = (const unsigned char *)b->s;
    uint32_t stack_a[S_PREV_STACK], stack_b[S_PREV_STACK];
    size_t wa, wb;
    size_t la = s_prev_decode(sa, a->len, stack_a, S_PREV_STACK, &wa);
    size_t lb = s_prev_decode(sb, b->len, stack_b, S_PREV_STACK, &wb);
    uint32_t *ca = stack_a, *cb = stack_b, *heap = NULL;
    if (la > S_PREV_STACK || lb > S_PREV_STACK) {
        if (la > SIZE_MAX / sizeof(uint32_t) - lb)
            return JURY_ENOMEM;
        heap = malloc((la + lb) * sizeof(uint32_t));
        if (!heap)
            return JURY_ENOMEM;
        ca = heap;
        cb = heap + la;
        s_prev_decode(sa, a->len, ca, la, &wa);
        s_prev_decode(sb, b->len, cb, lb, &wb);
    }
    size_t d = 0;
    jury_err rc = s_prev_levenshtein(ca, la, wa, cb, lb, wb, &d);
    free(heap);
    if (rc != JURY_OK)
        return rc;
    *out = (double)d / (double)(la > lb ? la : lb);
    return JURY_OK;
}

/* ---- texts ---- */

/* Appends cp's UTF-8 bytes to out; returns how many. */
static size_t s_put_utf8(char *out, uint32_t cp)
{
    unsigned char *u = (unsigned char *)out;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | (cp >> 18));
    u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Fills cps with n code points of sentences made of s_words. */
static void s_sentences(bench_rng_t *r, uint32_t *cps, size_t n)
{
    size_t at = 0;
    bool start = true;
    while (at < n) {
        uint32_t w = bench_below(r, 40) == 0
                         ? S_FIRST_WIDE + bench_below(r, BENCH_COUNT(s_words) - S_FIRST_WIDE)
                         : bench_below(r, S_FIRST_WIDE);
        jury_text_t word = {s_words[w], strlen(s_words[w])};
        uint32_t tmp[32];
        size_t k = s_old_decode((const unsigned char *)word.s, word.len, tmp);
        for (size_t i = 0; i < k && at < n; i++)
            cps[at++] = start && i == 0 && tmp[i] >= 'a' && tmp[i] <= 'z' ? tmp[i] - 32 : tmp[i];
        start = false;
        uint32_t p = bench_below(r, 12);
        if (p == 0 && at < n) {
            cps[at++] = '.';
            start = true;
        } else if (p == 1 && at < n)
            cps[at++] = ',';
        if (at < n)
            cps[at++] = ' ';
    }
}

/* Encodes n code points as a new NUL-terminated string (caller frees) into *t. */
static int s_encode(const uint32_t *cps, size_t n, jury_text_t *t)
{
    char *s = malloc(4 * n + 1);
    if (!s)
        return -1;
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += s_put_utf8(s + len, cps[i]);
    s[len] = '\0';
    t->s = s;
    t->len = len;
    return 0;
}

/* A random lower-case letter or, now and then, a space. */
static uint32_t s_letter(bench_rng_t *r)
{
    uint32_t c = bench_below(r, 28);
    return c < 26 ? 'a' + c : ' ';
}

/*
 * Copies n code points of src to dst with `edits` random single code point
 * edits (a third each substitutions, insertions, deletions); returns the new
 * length. dst holds n + edits.
 */
static size_t s_mutate(bench_rng_t *r, const uint32_t *src, size_t n, size_t edits, uint32_t *dst)
{
    size_t len = n;
    memcpy(dst, src, n * sizeof(uint32_t));
    for (size_t e = 0; e < edits; e++) {
        uint32_t kind = bench_below(r, 3);
        size_t at = len ? bench_below(r, (uint32_t)len) : 0;
        if (kind == 0 && len > 0)
            dst[at] = s_letter(r);
        else if (kind == 1 || len == 0) {
            memmove(dst + at + 1, dst + at, (len - at) * sizeof(uint32_t));
            dst[at] = s_letter(r);
            len++;
        } else {
            memmove(dst + at, dst + at + 1, (len - at - 1) * sizeof(uint32_t));
            len--;
        }
    }
    return len;
}

/* ---- timing ---- */

typedef int (*edit_fn)(const jury_text_t *a, const jury_text_t *b, double *out);

static int s_new_edit(const jury_text_t *a, const jury_text_t *b, double *out)
{
    return jury_distance_edit(a, b, out) == JURY_OK ? 0 : -1;
}

static int s_prev_edit_fn(const jury_text_t *a, const jury_text_t *b, double *out)
{
    return s_prev_edit(a, b, out) == JURY_OK ? 0 : -1;
}

/* Nanoseconds per pair to compute the distances of n pairs a[i], b[i] with fn, or -1 when fn
 * fails. */
static double s_time_pairs(edit_fn fn, const jury_text_t *a, const jury_text_t *b, size_t n)
{
    double sum = 0, t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        double d;
        if (fn(&a[i], &b[i], &d) != 0)
            return -1;
        sum += d;
    }
    double t = bench_now() - t0;
    s_sink = sum;
    return t * 1e9 / (double)n;
}

/* Prints one row of timings: its name, each run, median, min and max. */
static void s_print_row(const char *name, const double *t, int runs)
{
    printf("%-34s", name);
    for (int r = 0; r < runs; r++)
        printf(" %9.0f", t[r]);
    printf("   median %9.0f  min %9.0f  max %9.0f\n", bench_median(t, runs), bench_min(t, runs),
           bench_max(t, runs));
}

/* ---- drafts and their corrections ---- */

/* Whether cp belongs to a word (is neither a space nor the punctuation s_sentences adds). */
static bool s_in_word(uint32_t cp)
{
    return cp != ' ' && cp != '.' && cp != ',';
}

/* Appends the code points of a random word (as s_sentences draws them) to dst at *len. */
static void s_put_word(bench_rng_t *r, uint32_t *dst, size_t *len)
{
    uint32_t w = bench_below(r, 40) == 0
                     ? S_FIRST_WIDE + bench_below(r, BENCH_COUNT(s_words) - S_FIRST_WIDE)
                     : bench_below(r, S_FIRST_WIDE);
    *len += s_old_decode((const unsigned char *)s_words[w], strlen(s_words[w]), dst + *len);
}

/* Most code points a correction adds to its draft. */
#define S_GROWTH 160

/*
 * Writes to dst (room for n + S_GROWTH) the draft cps (n code points)
 * corrected as an annotator would: kind 0 appends a sentence of 40 to 100
 * code points, kinds 1 to 3 replace that many different words (among the
 * draft's first 256) with other random words. Returns the new length.
 */
static size_t s_correct(bench_rng_t *r, const uint32_t *cps, size_t n, int kind, uint32_t *dst)
{
    memcpy(dst, cps, n * sizeof(uint32_t));
    if (kind == 0) {
        size_t len = n;
        if (len > 0 && dst[len - 1] != ' ')
            dst[len++] = ' ';
        size_t add = 40 + bench_below(r, 61);
        s_sentences(r, dst + len, add);
        return len + add;
    }
    /* The words of the draft: start and end of each run of word code points. */
    size_t start[256], end[256], nw = 0;
    for (size_t i = 0; i < n && nw < BENCH_COUNT(start);) {
        while (i < n && !s_in_word(cps[i]))
            i++;
        if (i == n)
            break;
        start[nw] = i;
        while (i < n && s_in_word(cps[i]))
            i++;
        end[nw++] = i;
    }
    bool pick[256] = {false};
    for (int k = 0; k < kind && k < (int)nw; k++) {
        uint32_t w;
        do
            w = bench_below(r, (uint32_t)nw);
        while (pick[w]);
        pick[w] = true;
    }
    size_t len = 0, from = 0;
    for (size_t w = 0; w < nw; w++) {
        if (!pick[w])
            continue;
        memcpy(dst + len, cps + from, (start[w] - from) * sizeof(uint32_t));
        len += start[w] - from;
        /* Another word: one that differs from the draft's. */
        size_t at = len;
        do {
            len = at;
            s_put_word(r, dst, &len);
        } while (len - at == end[w] - start[w] &&
                 memcmp(dst + at, cps + start[w], (len - at) * sizeof(uint32_t)) == 0);
        from = end[w];
    }
    memcpy(dst + len, cps + from, (n - from) * sizeof(uint32_t));
    return len + n - from;
}

/* ---- checking and timing ---- */

/*
 * Checks that the plain DP, the previous bit-parallel version and
 * jury_distance_edit agree to the last bit on each of the n pairs a[i], b[i]
 * and adds the distances to *sum. Returns 0, or -1 after saying why.
 */
static int s_check(const jury_text_t *a, const jury_text_t *b, size_t n, const char *what,
                   double *sum)
{
    for (size_t i = 0; i < n; i++) {
        double o = -1, p = -2, w = -3;
        if (s_old_edit(&a[i], &b[i], &o) != 0 || s_prev_edit_fn(&a[i], &b[i], &p) != 0 ||
            s_new_edit(&a[i], &b[i], &w) != 0) {
            fprintf(stderr, "bench_edit: out of memory\n");
            return -1;
        }
        if (o != w || p != w) {
            fprintf(stderr,
                    "bench_edit: %s pair %zu: DP gives %.17g, the previous version %.17g, "
                    "jury_distance_edit %.17g\n",
                    what, i, o, p, w);
            return -1;
        }
        *sum += w;
    }
    return 0;
}

/*
 * Times fns[0..nfn-1] over the n pairs a[i], b[i], `runs` times each,
 * interleaved so that a slow spell of the machine hits all alike; t[k][r] is
 * fns[k]'s ns per pair in run r. Returns 0, or -1 after saying why.
 */
static int s_time(const edit_fn *fns, int nfn, const jury_text_t *a, const jury_text_t *b, size_t n,
                  int runs, double t[][BENCH_RUNS_MAX])
{
    for (int r = 0; r < runs; r++) {
        for (int k = 0; k < nfn; k++) {
            t[k][r] = s_time_pairs(fns[k], a, b, n);
            if (t[k][r] < 0) {
                fprintf(stderr, "bench_edit: out of memory\n");
                return -1;
            }
        }
    }
    return 0;
}

static void s_free_texts(jury_text_t *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        free((char *)t[i].s);
    free(t);
}

int main(int argc, char **argv)
{
    long pairs = 2000, length = 200, edits = 10, runs = 9;
    static const struct option opts[] = {
        {"pairs", required_argument, NULL, 'n'}, {"length", required_argument, NULL, 'l'},
        {"edits", required_argument, NULL, 'e'}, {"runs", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'n':
            bad = bench_int_arg("bench_edit", "pairs", optarg, 1, 10000000, &pairs);
            break;
        case 'l':
            bad = bench_int_arg("bench_edit", "length", optarg, 1, 100000, &length);
            break;
        case 'e':
            bad = bench_int_arg("bench_edit", "edits", optarg, 0, 100, &edits);
            break;
        case 'r':
            bad = bench_int_arg("bench_edit", "runs", optarg, 1, BENCH_RUNS_MAX, &runs);
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        default:
            fputs(s_usage, stderr);
            return 2;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        fputs(s_usage, stderr);
        return 2;
    }

    size_t n = (size_t)length, nedits = ((size_t)length * (size_t)edits + 50) / 100;
    size_t np = (size_t)pairs, per_kind = np / 4 ? np / 4 : 1, nd = 4 * per_kind;
    jury_text_t *a = calloc(np, sizeof(jury_text_t)), *b = calloc(np, sizeof(jury_text_t));
    jury_text_t *da = calloc(nd, sizeof(jury_text_t)), *db = calloc(nd, sizeof(jury_text_t));
    uint32_t *ca = malloc(n * sizeof(uint32_t));
    uint32_t *cb = malloc((n + nedits + S_GROWTH) * sizeof(uint32_t));
    int rc = 1;
    if (!a || !b || !da || !db || !ca || !cb)
        goto oom;
    bench_rng_t rng = {0x5DEECE66DULL};
    size_t bytes = 0;
    for (size_t i = 0; i < np; i++) {
        s_sentences(&rng, ca, n);
        size_t nb = s_mutate(&rng, ca, n, nedits, cb);
        if (s_encode(ca, n, &a[i]) != 0 || s_encode(cb, nb, &b[i]) != 0)
            goto oom;
        bytes += a[i].len + b[i].len;
    }
    /* Drafts of kind k (see s_correct) are da[k * per_kind ..], a seed of their own. */
    bench_rng_t drng = {0xD4AF7ULL};
    size_t dbytes = 0;
    for (size_t i = 0; i < nd; i++) {
        s_sentences(&drng, ca, n);
        size_t nb = s_correct(&drng, ca, n, (int)(i / per_kind), cb);
        if (s_encode(ca, n, &da[i]) != 0 || s_encode(cb, nb, &db[i]) != 0)
            goto oom;
        dbytes += da[i].len;
    }

    /* Same answers, to the last bit, before any timing. */
    double mean = 0, dmean[4] = {0, 0, 0, 0};
    if (s_check(a, b, np, "random", &mean) != 0)
        goto done;
    mean /= (double)np;
    for (int k = 0; k < 4; k++) {
        if (s_check(da + k * per_kind, db + k * per_kind, per_kind, "draft", &dmean[k]) != 0)
            goto done;
        dmean[k] /= (double)per_kind;
    }

    bench_print_machine();
    printf("libraries: none (coordinator/agreement.c is plain C11)\n");
    char b1[32];
    printf("data: %s pairs of %ld code points (%.1f bytes per text), %zu edits per pair (%ld%%), "
           "mean normalised distance %.4f; %ld runs, ns per pair\n\n",
           bench_thousands(b1, sizeof(b1), (uint64_t)np), length,
           (double)bytes / (2.0 * (double)np), nedits, edits, mean, runs);

    static double t[3][BENCH_RUNS_MAX];
    const edit_fn fns[3] = {s_old_edit, s_prev_edit_fn, s_new_edit};
    if (s_time(fns, 3, a, b, np, (int)runs, t) != 0)
        goto done;
    s_print_row("plain DP (first)", t[0], (int)runs);
    s_print_row("bit-parallel, whole texts (before)", t[1], (int)runs);
    s_print_row("jury_distance_edit (after)", t[2], (int)runs);
    printf("\nspeed-up (medians): %.1fx over the DP, %.2fx over before\n",
           bench_median(t[0], (int)runs) / bench_median(t[2], (int)runs),
           bench_median(t[1], (int)runs) / bench_median(t[2], (int)runs));

    printf("\ndrafts and corrections: %s pairs of each kind, drafts of %ld code points (%.1f "
           "bytes); before = bit-parallel on whole texts, after = jury_distance_edit; ns per "
           "pair\n\n",
           bench_thousands(b1, sizeof(b1), (uint64_t)per_kind), length,
           (double)dbytes / (double)nd);
    static const char *const kinds[5] = {"sentence appended", "1 word replaced", "2 words replaced",
                                         "3 words replaced", "all four"};
    printf("%-20s %10s %10s %9s %9s\n", "correction", "before", "after", "speed-up", "distance");
    for (int k = 0; k < 5; k++) {
        size_t off = k < 4 ? (size_t)k * per_kind : 0, cnt = k < 4 ? per_kind : nd;
        if (s_time(fns + 1, 2, da + off, db + off, cnt, (int)runs, t) != 0)
            goto done;
        double before = bench_median(t[0], (int)runs), after = bench_median(t[1], (int)runs);
        double dist = k < 4 ? dmean[k] : (dmean[0] + dmean[1] + dmean[2] + dmean[3]) / 4.0;
        printf("%-20s %10.0f %10.0f %8.1fx %9.4f\n", kinds[k], before, after, before / after, dist);
    }
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "bench_edit: out of memory\n");
done:
    free(ca);
    free(cb);
    s_free_texts(a, np);
    s_free_texts(b, np);
    s_free_texts(da, nd);
    s_free_texts(db, nd);
    return rc;
}
