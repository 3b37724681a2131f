/* export.c: `jury export`: a dataset's consolidated records written as JSON Lines for SFT, DPO,
 * reward modelling and Chain of Hindsight, or every record and response, from one read snapshot. */
#include "export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "agreement.h"
#include "decision.h"
#include "settings.h"

/* First chunk of the zone that decodes one record (payload, decision, responses); a record that
 * needs more gets more, and clearing keeps the first chunk for the next record. */
#define S_ZONE_CHUNK ((size_t)64 << 10)

/* Deepest nesting of a value written as JSON (jury_jsonpack_to_json's limit). */
#define S_DEPTH_MAX 64

/* Most values of a unified ranking that pairs are made from (a ranking question has at most 50). */
#define S_RANK_MAX 64

/* Records walked between two looks at the clock for the progress bar. */
#define S_PROGRESS_EVERY 4096

/* The default Chain of Hindsight text (Liu et al. 2023, "Chain of Hindsight Aligns Language
 * Models with Feedback"). */
static const char s_coh_default[] =
    "{prompt} A helpful answer: {chosen} An unhelpful answer: {rejected}";

static const char *const s_format_names[JURY_EXPORT_NFORMATS] = {
    "sft", "sft-messages", "dpo", "rm", "coh", "records", "responses"};

const char *jury_export_format_name(jury_export_format f)
{
    return (unsigned)f < JURY_EXPORT_NFORMATS ? s_format_names[f] : NULL;
}

bool jury_export_format_parse(const char *name, jury_export_format *out)
{
    for (int i = 0; name && i < JURY_EXPORT_NFORMATS; i++) {
        if (strcmp(name, s_format_names[i]) == 0) {
            *out = (jury_export_format)i;
            return true;
        }
    }
    return false;
}

/* ---- the line buffer ---------------------------------------------------------------------- */

/* A growing byte buffer holding the line being built. After a failed allocation it ignores every
 * append and remembers the failure, so that writers check once per line. */
typedef struct {
    char *p;    /* bytes (owned) */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed since the last reset */
} s_buf;

static bool s_grow(s_buf *b, size_t n)
{
    if (b->oom)
        return false;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static inline bool s_room(s_buf *b, size_t n)
{
    return (b->cap - b->len >= n && !b->oom) || s_grow(b, n);
}

static inline void s_put(s_buf *b, const void *s, size_t n)
{
    if (n && s_room(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

/* Appends a string literal (only a literal: "" s does not compile otherwise). */
#define s_lit(b, s) s_put((b), "" s, sizeof(s) - 1)

static inline void s_byte(s_buf *b, char c)
{
    if (s_room(b, 1))
        b->p[b->len++] = c;
}

/* Appends the n bytes at s escaped for the inside of a JSON string (RFC 8259): runs of plain
 * bytes are copied at once. The store holds valid UTF-8 only, so bytes >= 0x80 go as they are. */
static void s_chars(s_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        /* Skip 8 plain bytes at a time (SWAR): a byte's high bit ends up set in m when it is below
         * 0x20, '"' or '\\'; bytes >= 0x80 (UTF-8) are masked out by ~x, and with no such byte
         * in the word no subtraction borrows, so m is 0 exactly for plain words. */
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
            uint64_t m = ((x - ones * 0x20) | (q - ones) | (bs - ones)) & ~x & highs;
            if (m)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        s_put(b, s + start, i - start);
        start = i + 1;
        if (!s_room(b, 6))
            return;
        char *o = b->p + b->len;
        o[0] = '\\';
        switch (c) {
        case '"':
        case '\\':
            o[1] = (char)c;
            b->len += 2;
            break;
        case '\n':
            o[1] = 'n';
            b->len += 2;
            break;
        case '\t':
            o[1] = 't';
            b->len += 2;
            break;
        case '\r':
            o[1] = 'r';
            b->len += 2;
            break;
        case '\b':
            o[1] = 'b';
            b->len += 2;
            break;
        case '\f':
            o[1] = 'f';
            b->len += 2;
            break;
        default:
            memcpy(o + 1, "u00", 3);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            b->len += 6;
        }
    }
    s_put(b, s + start, n - start);
}

/* Appends a JSON string literal. */
static void s_str(s_buf *b, const char *s, size_t n)
{
    s_byte(b, '"');
    s_chars(b, s, n);
    s_byte(b, '"');
}

/* Appends a NUL-terminated string as a JSON string literal. */
static void s_cstr(s_buf *b, const char *s)
{
    s_str(b, s, strlen(s));
}

static void s_u64(s_buf *b, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    s_put(b, tmp + n, sizeof tmp - n);
}

static void s_i64(s_buf *b, int64_t v)
{
    if (v < 0) {
        s_byte(b, '-');
        s_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        s_u64(b, (uint64_t)v);
    }
}

/* The shortest of %.15g, %.16g and %.17g that reads back as the same double: exact like %.17g,
 * but 0.1 stays 0.1. Not finite (never stored by jury) gives null. */
static void s_double(s_buf *b, double d)
{
    if (!isfinite(d)) {
        s_lit(b, "null");
        return;
    }
    char tmp[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d)
            break;
    }
    s_put(b, tmp, (size_t)n);
}

/* Appends msgpack object o as JSON (maps need string keys). Errors: JURY_ECORRUPT for what JSON
 * cannot hold (bin, ext, a non-string key, nesting deeper than S_DEPTH_MAX). */
static jury_err s_value(s_buf *b, const msgpack_object *o, int depth)
{
    if (depth > S_DEPTH_MAX)
        return JURY_ECORRUPT;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        s_lit(b, "null");
        return JURY_OK;
    case MSGPACK_OBJECT_BOOLEAN:
        if (o->via.boolean)
            s_lit(b, "true");
        else
            s_lit(b, "false");
        return JURY_OK;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        s_u64(b, o->via.u64);
        return JURY_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        s_i64(b, o->via.i64);
        return JURY_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        s_double(b, o->via.f64);
        return JURY_OK;
    case MSGPACK_OBJECT_STR:
        s_str(b, o->via.str.ptr, o->via.str.size);
        return JURY_OK;
    case MSGPACK_OBJECT_ARRAY:
        s_byte(b, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                s_lit(b, ", ");
            jury_err err = s_value(b, &o->via.array.ptr[i], depth + 1);
            if (err != JURY_OK)
                return err;
        }
        s_byte(b, ']');
        return JURY_OK;
    case MSGPACK_OBJECT_MAP:
        s_byte(b, '{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return JURY_ECORRUPT;
            if (i)
                s_lit(b, ", ");
            s_str(b, kv->key.via.str.ptr, kv->key.via.str.size);
            s_lit(b, ": ");
            jury_err err = s_value(b, &kv->val, depth + 1);
            if (err != JURY_OK)
                return err;
        }
        s_byte(b, '}');
        return JURY_OK;
    default:
        return JURY_ECORRUPT;
    }
}

/* Appends a map as JSON, or {} when o is NULL or nil. */
static jury_err s_map_or_empty(s_buf *b, const msgpack_object *o)
{
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
        s_lit(b, "{}");
        return JURY_OK;
    }
    return s_value(b, o, 0);
}

static bool s_key_is(const msgpack_object *k, const char *s, size_t n)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

/* The value under key (n bytes) of map m, or NULL. Borrowed from m. */
static const msgpack_object *s_get(const msgpack_object *m, const char *key, size_t n)
{
    if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++)
        if (s_key_is(&m->via.map.ptr[i].key, key, n))
            return &m->via.map.ptr[i].val;
    return NULL;
}

/* ---- templates ---------------------------------------------------------------------------- */

/* One piece of a template: literal bytes, or a slot filled per record. */
typedef struct {
    const char *lit; /* literal bytes (borrowed from the template text), when slot < 0 */
    size_t len;      /* bytes at lit */
    int slot;        /* a field index (prompt) or a placeholder (coh); -1 for a literal */
} s_seg;

/* A compiled template. */
typedef struct {
    s_seg *segs; /* pieces in order (owned) */
    size_t n;    /* pieces */
} s_tmpl;

/* The coh template's placeholders, in slot order. */
static const char *const s_coh_slots[] = {"prompt", "chosen", "rejected"};

enum { S_COH_PROMPT = 0, S_COH_CHOSEN = 1, S_COH_REJECTED = 2 };

/* The slot of name (len bytes): a field index of s when s is not NULL, else a coh placeholder;
 * -1 when unknown. */
static int s_slot(const jury_settings_t *s, const char *name, size_t len)
{
    if (s == NULL) {
        for (int i = 0; i < 3; i++)
            if (strlen(s_coh_slots[i]) == len && memcmp(s_coh_slots[i], name, len) == 0)
                return i;
        return -1;
    }
    size_t n = jury_settings_field_count(s);
    for (size_t i = 0; i < n; i++) {
        const char *f = jury_settings_field_name(s, i);
        if (strlen(f) == len && memcmp(f, name, len) == 0)
            return (int)i;
    }
    return -1;
}

/* Writes "a, b, c": the names of the dataset's fields. */
static void s_field_list(const jury_settings_t *s, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < jury_settings_field_count(s) && off < cap; i++) {
        int n =
            snprintf(out + off, cap - off, "%s%s", i ? ", " : "", jury_settings_field_name(s, i));
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

/*
 * Compiles template text, whose "{name}" slots name fields of settings s (or, with s NULL, the
 * coh placeholders); "{{" and "}}" are literal braces. what names the option in messages.
 * Errors: JURY_EINVAL (an unclosed "{", a lone "}", an unknown name; message in err),
 * JURY_ENOMEM.
 */
static jury_err s_tmpl_compile(s_tmpl *t, const char *text, const char *what,
                               const jury_settings_t *s, const char *dataset, char *err,
                               size_t errlen)
{
    size_t len = strlen(text);
    t->n = 0;
    t->segs = malloc((len + 1) * sizeof *t->segs);
    if (t->segs == NULL)
        return JURY_ENOMEM;
    size_t i = 0, lit = 0;
    while (i < len) {
        char c = text[i];
        if (c != '{' && c != '}') {
            i++;
            continue;
        }
        if (i > lit)
            t->segs[t->n++] = (s_seg){text + lit, i - lit, -1};
        if (i + 1 < len && text[i + 1] == c) {
            t->segs[t->n++] = (s_seg){text + i, 1, -1};
            i += 2;
            lit = i;
            continue;
        }
        if (c == '}') {
            snprintf(err, errlen, "%s: a lone \"}\" at byte %zu (write \"}}\" for a brace)", what,
                     i + 1);
            return JURY_EINVAL;
        }
        const char *close = memchr(text + i + 1, '}', len - i - 1);
        const char *open = memchr(text + i + 1, '{', len - i - 1);
        if (close == NULL || (open != NULL && open < close)) {
            snprintf(err, errlen, "%s: unclosed \"{\" at byte %zu (write \"{{\" for a brace)", what,
                     i + 1);
            return JURY_EINVAL;
        }
        const char *name = text + i + 1;
        size_t nlen = (size_t)(close - name);
        int slot = s_slot(s, name, nlen);
        if (slot < 0) {
            if (s != NULL) {
                char fields[1024];
                s_field_list(s, fields, sizeof fields);
                snprintf(err, errlen, "%s: dataset %s has no field \"%.*s\"; its fields are: %s",
                         what, dataset, (int)(nlen > 200 ? 200 : nlen), name, fields);
            } else {
                snprintf(err, errlen,
                         "%s: unknown placeholder \"{%.*s}\"; use {prompt}, {chosen} and "
                         "{rejected}",
                         what, (int)(nlen > 200 ? 200 : nlen), name);
            }
            return JURY_EINVAL;
        }
        t->segs[t->n++] = (s_seg){NULL, 0, slot};
        i += nlen + 2;
        lit = i;
    }
    if (len > lit)
        t->segs[t->n++] = (s_seg){text + lit, len - lit, -1};
    return JURY_OK;
}

/* ---- the export ---------------------------------------------------------------------------- */

/* One response of the current record. */
typedef struct {
    const char *name;            /* annotator name, borrowed from the transaction */
    jury_response_status status; /* its status */
    int64_t updated_ms;          /* last change */
    msgpack_object values;       /* {question: value}; nil when not decoded or empty */
} s_resp;

/* One value of a unified ranking that names a field with text in the current record. */
typedef struct {
    const msgpack_object *text; /* the field's text (a string) */
    uint32_t group;             /* rank position: equal groups are tied */
} s_ranked;

/* Everything a walk needs. */
typedef struct {
    const jury_export_opts_t *opts;    /* the caller's options */
    const jury_settings_t *set;        /* the dataset's settings */
    const char *dataset;               /* its name */
    jury_txn_t *txn;                   /* the snapshot */
    FILE *const *outs;                 /* one stream per part */
    size_t nouts;                      /* streams at outs */
    double cum[JURY_EXPORT_SPLIT_MAX]; /* upper end of each part's interval of [0, 1) */
    bool consolidated;                 /* `jury consolidate` has run on the dataset */

    bool pairs;                   /* the format takes (chosen, rejected) pairs */
    jury_pairs_source source;     /* RANKING or EDITS when pairs */
    int completion;               /* the completion (or edits) text question, -1 when unused */
    const char *completion_name;  /* its name */
    int ranking;                  /* the ranking question, -1 when unused */
    const char *ranking_name;     /* its name */
    const char *const *rank_vals; /* its values (borrowed from settings) */
    size_t nrank;                 /* how many */
    int rank_field[S_RANK_MAX];   /* the field each value names */
    double min_edit;              /* edits: least normalised distance of a pair */
    int prompt_field;             /* the default prompt's field, -1 when none */
    bool prompt_chat;             /* sft-messages: the prompt is the chat field's turns */
    s_tmpl prompt;                /* the prompt template */
    s_tmpl coh;                   /* the coh template */
    s_buf meta_method;            /* the "method" object of --with-meta, the same on every line */
    bool need_responses;          /* read responses (records, responses, --with-meta) */
    bool need_values;             /* decode their values (records, responses) */

    msgpack_zone zone;             /* decodes one record, cleared after each */
    const msgpack_object **fieldv; /* the current record's value of each field, or NULL */
    size_t *fieldlen;              /* the length of each field's name */
    size_t nfields;                /* fields of the dataset */
    s_resp *resp;                  /* the current record's responses */
    size_t nresp, resp_cap;        /* used and allocated entries at resp */
    const char **names;            /* annotator names by id, looked up once each */
    uint32_t nnames;               /* room in names */
    s_buf line;                    /* the line being built */
    jury_export_stats_t stats;     /* counts so far */

    bool tty;           /* draw progress on stderr */
    uint64_t total;     /* records of the dataset, for the progress bar */
    struct timespec t0; /* start */
    double last_draw;   /* seconds since t0 at the last redraw */
    char why[512];      /* what went wrong with a record */
} s_ctx;

/* ---- split -------------------------------------------------------------------------------- */

static uint64_t s_fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

/* The part of the split that the record with external id (len bytes) goes to. */
static size_t s_part(const s_ctx *c, const char *id, size_t len)
{
    if (c->nouts < 2)
        return 0;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * UINT64_C(0x100000001b3);
    double u = (double)(s_fmix64(h ^ c->opts->seed) >> 11) * 0x1p-53;
    for (size_t k = 0; k + 1 < c->nouts; k++)
        if (u < c->cum[k])
            return k;
    return c->nouts - 1;
}

static bool s_split_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static jury_err s_check_split(s_ctx *c, char *err, size_t errlen)
{
    const jury_export_opts_t *o = c->opts;
    if (o->nsplit == 0) {
        if (c->nouts != 1) {
            snprintf(err, errlen, "one output stream without a split, not %zu", c->nouts);
            return JURY_EINVAL;
        }
        return JURY_OK;
    }
    if (o->split == NULL || o->nsplit < 2 || o->nsplit > JURY_EXPORT_SPLIT_MAX) {
        snprintf(err, errlen, "--split: 2 to %d parts, not %zu", JURY_EXPORT_SPLIT_MAX, o->nsplit);
        return JURY_EINVAL;
    }
    if (c->nouts != o->nsplit) {
        snprintf(err, errlen, "--split: %zu parts but %zu output streams", o->nsplit, c->nouts);
        return JURY_EINVAL;
    }
    double sum = 0;
    for (size_t k = 0; k < o->nsplit; k++) {
        const jury_split_part_t *p = &o->split[k];
        if (!s_split_name_ok(p->name)) {
            snprintf(err, errlen,
                     "--split: part name \"%.64s\" must be 1 to 64 letters, digits, '_' or '-'",
                     p->name ? p->name : "");
            return JURY_EINVAL;
        }
        for (size_t j = 0; j < k; j++) {
            if (strcmp(o->split[j].name, p->name) == 0) {
                snprintf(err, errlen, "--split: part \"%s\" is named twice", p->name);
                return JURY_EINVAL;
            }
        }
        if (!(p->share > 0) || !isfinite(p->share)) {
            snprintf(err, errlen, "--split: the share of \"%s\" must be a number above 0", p->name);
            return JURY_EINVAL;
        }
        sum += p->share;
        c->cum[k] = sum;
    }
    if (fabs(sum - 1) > 1e-9) {
        snprintf(err, errlen, "--split: the shares add up to %g, not 1", sum);
        return JURY_EINVAL;
    }
    return JURY_OK;
}

/* ---- what the options resolve to ------------------------------------------------------------ */

/* Whether question q is a ranking whose values all name text fields; fills c's ranking table. */
static bool s_ranking_of_fields(s_ctx *c, size_t q)
{
    if (jury_settings_question_type(c->set, q) != JURY_QUESTION_RANKING)
        return false;
    size_t n;
    const char *const *vals = jury_settings_question_options(c->set, q, &n);
    if (vals == NULL || n < 2 || n > S_RANK_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        int f = jury_settings_field_index(c->set, vals[i]);
        if (f < 0 || jury_settings_field_type(c->set, (size_t)f) != JURY_FIELD_TEXT)
            return false;
        c->rank_field[i] = f;
    }
    c->ranking = (int)q;
    c->ranking_name = jury_settings_question_name(c->set, q);
    c->rank_vals = vals;
    c->nrank = n;
    return true;
}

static bool s_is_candidate(const s_ctx *c, size_t field)
{
    for (size_t i = 0; c->ranking >= 0 && i < c->nrank; i++)
        if (c->rank_field[i] == (int)field)
            return true;
    return false;
}

/* Writes "a, b": the text questions, or "none" when there are none. */
static void s_text_questions(const jury_settings_t *s, char *out, size_t cap)
{
    size_t off = 0;
    snprintf(out, cap, "none");
    for (size_t q = 0; q < jury_settings_question_count(s) && off < cap; q++) {
        if (jury_settings_question_type(s, q) != JURY_QUESTION_TEXT)
            continue;
        int n = snprintf(out + off, cap - off, "%s%s", off ? ", " : "",
                         jury_settings_question_name(s, q));
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static const char *s_question_type_name(jury_question_type t)
{
    static const char *const names[] = {
        "text", "rating", "label_selection", "multi_label_selection", "ranking", "span"};
    return (unsigned)t < 6 ? names[t] : "unknown";
}

/* Resolves the completion question: opts->completion or the first text question. Returns
 * JURY_ENOTFOUND without a message when the default is wanted and there is none. */
static jury_err s_resolve_completion(s_ctx *c, char *err, size_t errlen)
{
    const char *want = c->opts->completion;
    char list[1024];
    if (want != NULL) {
        int q = jury_settings_question_index(c->set, want);
        s_text_questions(c->set, list, sizeof list);
        if (q < 0) {
            snprintf(err, errlen,
                     "--completion: dataset %s has no question \"%.200s\"; its text "
                     "questions are: %s",
                     c->dataset, want, list);
            return JURY_EINVAL;
        }
        jury_question_type t = jury_settings_question_type(c->set, (size_t)q);
        if (t != JURY_QUESTION_TEXT) {
            snprintf(err, errlen,
                     "--completion: \"%s\" is a %s question, not a text question; "
                     "the text questions are: %s",
                     want, s_question_type_name(t), list);
            return JURY_EINVAL;
        }
        c->completion = q;
    } else {
        for (size_t q = 0; q < jury_settings_question_count(c->set) && c->completion < 0; q++)
            if (jury_settings_question_type(c->set, q) == JURY_QUESTION_TEXT)
                c->completion = (int)q;
        if (c->completion < 0)
            return JURY_ENOTFOUND;
    }
    c->completion_name = jury_settings_question_name(c->set, (size_t)c->completion);
    return JURY_OK;
}

/* Resolves the pair source of dpo, rm and coh. */
static jury_err s_resolve_pairs(s_ctx *c, char *err, size_t errlen)
{
    const jury_export_opts_t *o = c->opts;
    const char *fmt = s_format_names[o->format];
    if (o->source != JURY_PAIRS_AUTO && o->source != JURY_PAIRS_RANKING &&
        o->source != JURY_PAIRS_EDITS) {
        snprintf(err, errlen, "--source: unknown pair source %d", (int)o->source);
        return JURY_EINVAL;
    }
    if (o->source != JURY_PAIRS_EDITS) {
        if (o->ranking != NULL) {
            int q = jury_settings_question_index(c->set, o->ranking);
            if (q < 0) {
                snprintf(err, errlen, "--ranking: dataset %s has no question \"%.200s\"",
                         c->dataset, o->ranking);
                return JURY_EINVAL;
            }
            if (!s_ranking_of_fields(c, (size_t)q)) {
                snprintf(err, errlen,
                         "--ranking: \"%s\" is not a ranking question whose values all name text "
                         "fields of dataset %s",
                         o->ranking, c->dataset);
                return JURY_EINVAL;
            }
        } else {
            for (size_t q = 0; q < jury_settings_question_count(c->set) && c->ranking < 0; q++)
                (void)s_ranking_of_fields(c, q);
        }
        if (c->ranking >= 0) {
            c->source = JURY_PAIRS_RANKING;
            return JURY_OK;
        }
        if (o->source == JURY_PAIRS_RANKING) {
            snprintf(err, errlen,
                     "dataset %s has no ranking question whose values name text fields: nothing "
                     "to rank for %s",
                     c->dataset, fmt);
            return JURY_EINVAL;
        }
    }
    jury_err e = s_resolve_completion(c, err, errlen);
    if (e == JURY_ENOTFOUND) {
        if (o->source == JURY_PAIRS_EDITS)
            snprintf(err, errlen,
                     "dataset %s has no text question: no edits to contrast with suggestions for "
                     "%s",
                     c->dataset, fmt);
        else
            snprintf(err, errlen,
                     "dataset %s has no ranking question whose values name fields and no text "
                     "question: nothing to contrast for %s",
                     c->dataset, fmt);
        return JURY_EINVAL;
    }
    if (e == JURY_OK) {
        c->source = JURY_PAIRS_EDITS;
        c->min_edit = o->min_edit < 0 ? 0.1 : o->min_edit;
        if (!(c->min_edit <= 1)) {
            snprintf(err, errlen, "--min-edit: %g is not within 0..1", o->min_edit);
            return JURY_EINVAL;
        }
    }
    return e;
}

/* Resolves everything the options name against the settings. */
static jury_err s_resolve(s_ctx *c, char *err, size_t errlen)
{
    const jury_export_opts_t *o = c->opts;
    jury_err e;
    c->completion = c->ranking = c->prompt_field = -1;
    bool training = o->format <= JURY_EXPORT_COH;
    c->pairs =
        o->format == JURY_EXPORT_DPO || o->format == JURY_EXPORT_RM || o->format == JURY_EXPORT_COH;
    if (o->format == JURY_EXPORT_SFT || o->format == JURY_EXPORT_SFT_MESSAGES) {
        e = s_resolve_completion(c, err, errlen);
        if (e == JURY_ENOTFOUND) {
            snprintf(err, errlen, "dataset %s has no text question to take completions from",
                     c->dataset);
            return JURY_EINVAL;
        }
        if (e != JURY_OK)
            return e;
    } else if (c->pairs && (e = s_resolve_pairs(c, err, errlen)) != JURY_OK) {
        return e;
    }
    if (training) {
        /* The default prompt: the first required field that is not a candidate, else the first
         * optional one. */
        for (int pass = 0; pass < 2 && c->prompt_field < 0; pass++)
            for (size_t f = 0; f < c->nfields && c->prompt_field < 0; f++)
                if ((pass || jury_settings_field_required(c->set, f)) && !s_is_candidate(c, f))
                    c->prompt_field = (int)f;
        if (o->prompt != NULL) {
            if ((e = s_tmpl_compile(&c->prompt, o->prompt, "--prompt", c->set, c->dataset, err,
                                    errlen)) != JURY_OK)
                return e;
        } else {
            if (c->prompt_field < 0) {
                snprintf(err, errlen,
                         "dataset %s has no field for the prompt besides the ranked candidates: "
                         "pass --prompt",
                         c->dataset);
                return JURY_EINVAL;
            }
            c->prompt.segs = malloc(sizeof *c->prompt.segs);
            if (c->prompt.segs == NULL)
                return JURY_ENOMEM;
            c->prompt.segs[0] = (s_seg){NULL, 0, c->prompt_field};
            c->prompt.n = 1;
            c->prompt_chat =
                o->format == JURY_EXPORT_SFT_MESSAGES &&
                jury_settings_field_type(c->set, (size_t)c->prompt_field) == JURY_FIELD_CHAT;
        }
    }
    if (o->format == JURY_EXPORT_COH &&
        (e = s_tmpl_compile(&c->coh, o->coh_template ? o->coh_template : s_coh_default,
                            "--coh-template", NULL, c->dataset, err, errlen)) != JURY_OK)
        return e;
    c->need_values = o->format == JURY_EXPORT_RECORDS || o->format == JURY_EXPORT_RESPONSES;
    c->need_responses = c->need_values || (training && o->with_meta);
    if (training && o->with_meta) {
        s_buf *b = &c->meta_method;
        s_lit(b, ", \"method\": {");
        for (size_t q = 0; q < jury_settings_question_count(c->set); q++) {
            if (q)
                s_lit(b, ", ");
            s_cstr(b, jury_settings_question_name(c->set, q));
            s_lit(b, ": ");
            const char *m = jury_method_name(jury_settings_method(c->set, q));
            s_cstr(b, m ? m : "");
        }
        s_lit(b, "}");
        if (b->oom)
            return JURY_ENOMEM;
    }
    return JURY_OK;
}

/* ---- one record ---------------------------------------------------------------------------- */

/* The current record's payload, decoded. */
typedef struct {
    const msgpack_object *id;          /* its external id, a string */
    const msgpack_object *fields;      /* its fields map, or NULL */
    const msgpack_object *metadata;    /* its metadata map, or NULL */
    const msgpack_object *suggestions; /* its suggestions map, or NULL */
    size_t part;                       /* the output it goes to */
} s_rec;

/* Annotator id's name, looked up in the store once per export. */
static jury_err s_annotator(s_ctx *c, uint32_t id, const char **name)
{
    if (id >= c->nnames) {
        uint32_t n = c->nnames ? c->nnames : 64;
        while (n <= id && n < UINT32_MAX / 2)
            n *= 2;
        if (n <= id)
            return jury_store_annotator_name(c->txn, id, name);
        const char **names = realloc(c->names, (size_t)n * sizeof *names);
        if (names == NULL)
            return JURY_ENOMEM;
        memset(names + c->nnames, 0, (size_t)(n - c->nnames) * sizeof *names);
        c->names = names;
        c->nnames = n;
    }
    if (c->names[id] == NULL) {
        jury_err err = jury_store_annotator_name(c->txn, id, &c->names[id]);
        if (err != JURY_OK)
            return err;
    }
    *name = c->names[id];
    return JURY_OK;
}

static jury_err s_on_response(const jury_response_t *r, void *arg)
{
    s_ctx *c = arg;
    if (c->nresp == c->resp_cap) {
        size_t cap = c->resp_cap ? c->resp_cap * 2 : 16;
        s_resp *resp = realloc(c->resp, cap * sizeof *resp);
        if (resp == NULL)
            return JURY_ENOMEM;
        c->resp = resp;
        c->resp_cap = cap;
    }
    s_resp *x = &c->resp[c->nresp];
    jury_err err = s_annotator(c, r->annotator, &x->name);
    if (err != JURY_OK)
        return err;
    x->status = r->status;
    x->updated_ms = r->updated_ms;
    x->values.type = MSGPACK_OBJECT_NIL;
    if (c->need_values && r->values_len &&
        (msgpack_unpack(r->values, r->values_len, NULL, &c->zone, &x->values) !=
             MSGPACK_UNPACK_SUCCESS ||
         x->values.type != MSGPACK_OBJECT_MAP)) {
        snprintf(c->why, sizeof c->why, "the response of \"%s\" does not decode", x->name);
        return JURY_ECORRUPT;
    }
    c->nresp++;
    return JURY_OK;
}

/* Appends the text of field f: a text as it is, a chat as "role: content" lines. */
static void s_field_text(s_ctx *c, s_buf *b, int f)
{
    const msgpack_object *v = f >= 0 && (size_t)f < c->nfields ? c->fieldv[f] : NULL;
    if (v == NULL)
        return;
    if (v->type == MSGPACK_OBJECT_STR) {
        s_chars(b, v->via.str.ptr, v->via.str.size);
    } else if (v->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            const msgpack_object *role = s_get(&v->via.array.ptr[i], "role", 4);
            const msgpack_object *content = s_get(&v->via.array.ptr[i], "content", 7);
            if (i)
                s_lit(b, "\\n");
            if (role && role->type == MSGPACK_OBJECT_STR)
                s_chars(b, role->via.str.ptr, role->via.str.size);
            s_lit(b, ": ");
            if (content && content->type == MSGPACK_OBJECT_STR)
                s_chars(b, content->via.str.ptr, content->via.str.size);
        }
    }
}

/* Appends the prompt, escaped for the inside of a JSON string. */
static void s_prompt(s_ctx *c, s_buf *b)
{
    for (size_t i = 0; i < c->prompt.n; i++) {
        const s_seg *g = &c->prompt.segs[i];
        if (g->slot < 0)
            s_chars(b, g->lit, g->len);
        else
            s_field_text(c, b, g->slot);
    }
}

/* Appends ", \"meta\": {...}" and the closing brace of the line when --with-meta, else just the
 * brace. */
static jury_err s_end_line(s_ctx *c, const s_rec *r, const jury_decision_t *d)
{
    s_buf *b = &c->line;
    if (c->opts->with_meta) {
        s_lit(b, ", \"meta\": {\"id\": ");
        s_str(b, r->id->via.str.ptr, r->id->via.str.size);
        s_lit(b, ", \"annotators\": [");
        bool first = true;
        for (size_t i = 0; i < c->nresp; i++) {
            if (c->resp[i].status != JURY_RESPONSE_SUBMITTED)
                continue;
            if (!first)
                s_lit(b, ", ");
            first = false;
            s_cstr(b, c->resp[i].name);
        }
        s_lit(b, "], \"agreement\": ");
        jury_err err = s_map_or_empty(b, &d->agreement);
        if (err != JURY_OK)
            return err;
        s_put(b, c->meta_method.p, c->meta_method.len);
        s_lit(b, ", \"reviewed_by\": ");
        if (d->reviewed_by)
            s_str(b, d->reviewed_by, d->reviewed_by_len);
        else
            s_lit(b, "null");
        s_byte(b, '}');
    }
    s_lit(b, "}\n");
    return JURY_OK;
}

/* Writes the line in c->line to the record's output. */
static jury_err s_emit(s_ctx *c, const s_rec *r)
{
    s_buf *b = &c->line;
    if (b->oom)
        return JURY_ENOMEM;
    if (fwrite(b->p, 1, b->len, c->outs[r->part]) != b->len)
        return JURY_EIO;
    c->stats.lines[r->part]++;
    return JURY_OK;
}

static void s_reset(s_buf *b)
{
    b->len = 0;
    b->oom = false;
}

/* One dpo, rm or coh line. */
static jury_err s_pair_line(s_ctx *c, const s_rec *r, const jury_decision_t *d, const char *ch,
                            size_t chn, const char *rj, size_t rjn)
{
    s_buf *b = &c->line;
    s_reset(b);
    switch (c->opts->format) {
    case JURY_EXPORT_DPO:
        s_lit(b, "{\"prompt\": \"");
        s_prompt(c, b);
        s_lit(b, "\", \"chosen\": ");
        s_str(b, ch, chn);
        s_lit(b, ", \"rejected\": ");
        s_str(b, rj, rjn);
        break;
    case JURY_EXPORT_RM:
        for (int k = 0; k < 2; k++) {
            if (k)
                s_lit(b, ", \"rejected\": \"");
            else
                s_lit(b, "{\"chosen\": \"");
            size_t before = b->len;
            s_prompt(c, b);
            if (b->len > before)
                s_lit(b, "\\n\\n");
            if (k)
                s_chars(b, rj, rjn);
            else
                s_chars(b, ch, chn);
            s_byte(b, '"');
        }
        break;
    default: /* coh */
        s_lit(b, "{\"text\": \"");
        for (size_t i = 0; i < c->coh.n; i++) {
            const s_seg *g = &c->coh.segs[i];
            if (g->slot < 0)
                s_chars(b, g->lit, g->len);
            else if (g->slot == S_COH_PROMPT)
                s_prompt(c, b);
            else if (g->slot == S_COH_CHOSEN)
                s_chars(b, ch, chn);
            else
                s_chars(b, rj, rjn);
        }
        s_byte(b, '"');
        break;
    }
    jury_err err = s_end_line(c, r, d);
    return err == JURY_OK ? s_emit(c, r) : err;
}

/* The index of ranking value v (a string) among the question's values, or -1. */
static int s_rank_value(const s_ctx *c, const msgpack_object *v)
{
    if (v->type != MSGPACK_OBJECT_STR)
        return -1;
    for (size_t i = 0; i < c->nrank; i++)
        if (strlen(c->rank_vals[i]) == v->via.str.size &&
            memcmp(c->rank_vals[i], v->via.str.ptr, v->via.str.size) == 0)
            return (int)i;
    return -1;
}

/* Adds ranking value v at rank group g when its field holds text in the record. */
static void s_rank_add(const s_ctx *c, const msgpack_object *v, uint32_t g, s_ranked *out,
                       size_t *n)
{
    int k = s_rank_value(c, v);
    if (k < 0 || *n == S_RANK_MAX)
        return;
    const msgpack_object *t = c->fieldv[c->rank_field[k]];
    if (t != NULL && t->type == MSGPACK_OBJECT_STR)
        out[(*n)++] = (s_ranked){t, g};
}

/* The pairs of a ranking record: best against worst, or every better against every worse. */
static jury_err s_ranking_pairs(s_ctx *c, const s_rec *r, const jury_decision_t *d, uint64_t *lines)
{
    const msgpack_object *u = jury_decision_unified(d, c->ranking_name);
    if (u == NULL || u->type != MSGPACK_OBJECT_ARRAY)
        return JURY_OK;
    s_ranked items[S_RANK_MAX];
    size_t n = 0;
    for (uint32_t i = 0; i < u->via.array.size; i++) {
        const msgpack_object *it = &u->via.array.ptr[i];
        if (it->type == MSGPACK_OBJECT_ARRAY) /* values tied at one rank */
            for (uint32_t j = 0; j < it->via.array.size; j++)
                s_rank_add(c, &it->via.array.ptr[j], i, items, &n);
        else
            s_rank_add(c, it, i, items, &n);
    }
    if (n < 2 || items[0].group == items[n - 1].group)
        return JURY_OK;
    jury_err err = JURY_OK;
    if (!c->opts->pairs_all) {
        const msgpack_object *a = items[0].text, *b = items[n - 1].text;
        err =
            s_pair_line(c, r, d, a->via.str.ptr, a->via.str.size, b->via.str.ptr, b->via.str.size);
        *lines += err == JURY_OK;
        return err;
    }
    for (size_t i = 0; i < n && err == JURY_OK; i++) {
        for (size_t j = i + 1; j < n && err == JURY_OK; j++) {
            if (items[i].group == items[j].group)
                continue;
            const msgpack_object *a = items[i].text, *b = items[j].text;
            err = s_pair_line(c, r, d, a->via.str.ptr, a->via.str.size, b->via.str.ptr,
                              b->via.str.size);
            *lines += err == JURY_OK;
        }
    }
    return err;
}

/* The pair of an edits record: the unified answer against its suggestion, when they differ
 * enough. */
static jury_err s_edit_pair(s_ctx *c, const s_rec *r, const jury_decision_t *d, uint64_t *lines)
{
    const msgpack_object *u = jury_decision_unified(d, c->completion_name);
    const msgpack_object *sug =
        s_get(r->suggestions, c->completion_name, strlen(c->completion_name));
    const msgpack_object *sv = s_get(sug, "value", 5);
    if (u == NULL || u->type != MSGPACK_OBJECT_STR || sv == NULL || sv->type != MSGPACK_OBJECT_STR)
        return JURY_OK;
    jury_text_t a = {u->via.str.ptr, u->via.str.size}, b = {sv->via.str.ptr, sv->via.str.size};
    double dist;
    jury_err err = jury_distance_edit(&a, &b, &dist);
    /* Identical texts never make a pair, whatever --min-edit says: no preference is expressed. */
    if (err != JURY_OK || dist < c->min_edit || dist <= 0)
        return err;
    err = s_pair_line(c, r, d, a.s, a.len, b.s, b.len);
    *lines += err == JURY_OK;
    return err;
}

/* The sft or sft-messages line of an accepted record. */
static jury_err s_sft(s_ctx *c, const s_rec *r, const jury_decision_t *d, uint64_t *lines)
{
    const msgpack_object *u = jury_decision_unified(d, c->completion_name);
    if (u == NULL || u->type != MSGPACK_OBJECT_STR)
        return JURY_OK;
    s_buf *b = &c->line;
    s_reset(b);
    if (c->opts->format == JURY_EXPORT_SFT) {
        s_lit(b, "{\"prompt\": \"");
        s_prompt(c, b);
        s_lit(b, "\", \"completion\": ");
    } else {
        s_lit(b, "{\"messages\": [");
        if (c->opts->system) {
            s_lit(b, "{\"role\": \"system\", \"content\": ");
            s_cstr(b, c->opts->system);
            s_lit(b, "}, ");
        }
        const msgpack_object *chat = c->prompt_chat ? c->fieldv[c->prompt_field] : NULL;
        if (c->prompt_chat) {
            for (uint32_t i = 0;
                 chat && chat->type == MSGPACK_OBJECT_ARRAY && i < chat->via.array.size; i++) {
                jury_err err = s_value(b, &chat->via.array.ptr[i], 0);
                if (err != JURY_OK)
                    return err;
                s_lit(b, ", ");
            }
        } else {
            s_lit(b, "{\"role\": \"user\", \"content\": \"");
            s_prompt(c, b);
            s_lit(b, "\"}, ");
        }
        s_lit(b, "{\"role\": \"assistant\", \"content\": ");
    }
    s_str(b, u->via.str.ptr, u->via.str.size);
    if (c->opts->format == JURY_EXPORT_SFT_MESSAGES)
        s_lit(b, "}]");
    jury_err err = s_end_line(c, r, d);
    if (err == JURY_OK && (err = s_emit(c, r)) == JURY_OK)
        (*lines)++;
    return err;
}

/* The records line of any record. */
static jury_err s_records_line(s_ctx *c, const s_rec *r, const jury_record_state_t *st,
                               jury_decision_kind kind, const jury_decision_t *d)
{
    s_buf *b = &c->line;
    jury_err err;
    s_reset(b);
    s_lit(b, "{\"id\": ");
    s_str(b, r->id->via.str.ptr, r->id->via.str.size);
    s_lit(b, ", \"fields\": ");
    if ((err = s_map_or_empty(b, r->fields)) != JURY_OK)
        return err;
    s_lit(b, ", \"metadata\": ");
    if ((err = s_map_or_empty(b, r->metadata)) != JURY_OK)
        return err;
    s_lit(b, ", \"suggestions\": ");
    if ((err = s_map_or_empty(b, r->suggestions)) != JURY_OK)
        return err;
    /* Argilla's shape: per question, the submitted answers in annotator order. */
    s_lit(b, ", \"responses\": {");
    bool first_q = true;
    for (size_t q = 0; q < jury_settings_question_count(c->set); q++) {
        const char *qn = jury_settings_question_name(c->set, q);
        size_t qlen = strlen(qn);
        bool first = true;
        for (size_t i = 0; i < c->nresp; i++) {
            if (c->resp[i].status != JURY_RESPONSE_SUBMITTED)
                continue;
            const msgpack_object *v = s_get(&c->resp[i].values, qn, qlen);
            if (v == NULL || v->type == MSGPACK_OBJECT_NIL)
                continue;
            if (first) {
                if (!first_q)
                    s_lit(b, ", ");
                first_q = false;
                s_str(b, qn, qlen);
                s_lit(b, ": [");
            } else {
                s_lit(b, ", ");
            }
            first = false;
            s_lit(b, "{\"value\": ");
            if ((err = s_value(b, v, 1)) != JURY_OK)
                return err;
            s_lit(b, ", \"user_id\": ");
            s_cstr(b, c->resp[i].name);
            s_byte(b, '}');
        }
        if (!first)
            s_byte(b, ']');
    }
    s_lit(b, "}, \"status\": ");
    s_cstr(b, jury_record_status_name(st->status) ? jury_record_status_name(st->status) : "");
    s_lit(b, ", \"unified\": ");
    if ((err = s_map_or_empty(b, d ? &d->unified : NULL)) != JURY_OK)
        return err;
    s_lit(b, ", \"decision\": ");
    s_cstr(b, jury_decision_name(kind));
    s_lit(b, ", \"reason\": ");
    if (d && d->reason)
        s_str(b, d->reason, d->reason_len);
    else
        s_lit(b, "null");
    /* Who reviewed it, on every line (null when nobody did) so that lines keep one shape. */
    bool reviewed = d && d->reviewed_by;
    s_lit(b, ", \"reviewed_by\": ");
    if (reviewed)
        s_str(b, d->reviewed_by, d->reviewed_by_len);
    else
        s_lit(b, "null");
    s_lit(b, ", \"reviewed_ms\": ");
    if (reviewed)
        s_i64(b, d->reviewed_ms);
    else
        s_lit(b, "null");
    s_lit(b, ", \"review_note\": ");
    if (reviewed && d->review_note)
        s_str(b, d->review_note, d->review_note_len);
    else
        s_lit(b, "null");
    s_lit(b, "}\n");
    return s_emit(c, r);
}

/* The responses lines of any record. */
static jury_err s_responses_lines(s_ctx *c, const s_rec *r)
{
    s_buf *b = &c->line;
    for (size_t i = 0; i < c->nresp; i++) {
        const s_resp *x = &c->resp[i];
        s_reset(b);
        s_lit(b, "{\"record\": ");
        s_str(b, r->id->via.str.ptr, r->id->via.str.size);
        s_lit(b, ", \"annotator\": ");
        s_cstr(b, x->name);
        s_lit(b, ", \"status\": ");
        const char *st = jury_response_status_name(x->status);
        s_cstr(b, st ? st : "");
        s_lit(b, ", \"values\": ");
        jury_err err = s_map_or_empty(b, &x->values);
        if (err != JURY_OK)
            return err;
        s_lit(b, ", \"updated_ms\": ");
        s_i64(b, x->updated_ms);
        s_lit(b, "}\n");
        if ((err = s_emit(c, r)) != JURY_OK)
            return err;
    }
    return JURY_OK;
}

/* Decodes the payload of record rid into *r (and the field values into c->fieldv). */
static jury_err s_decode_record(s_ctx *c, uint64_t rid, s_rec *r)
{
    const void *payload;
    size_t len;
    jury_err err = jury_store_record_get(c->txn, rid, &payload, &len, NULL);
    if (err != JURY_OK)
        return err;
    msgpack_object o;
    if (msgpack_unpack(payload, len, NULL, &c->zone, &o) != MSGPACK_UNPACK_SUCCESS ||
        o.type != MSGPACK_OBJECT_MAP) {
        snprintf(c->why, sizeof c->why, "record %llu does not decode", (unsigned long long)rid);
        return JURY_ECORRUPT;
    }
    memset(r, 0, sizeof *r);
    const msgpack_object *m = NULL;
    for (uint32_t i = 0; i < o.via.map.size; i++) {
        const msgpack_object *k = &o.via.map.ptr[i].key, *v = &o.via.map.ptr[i].val;
        if (s_key_is(k, "id", 2) && v->type == MSGPACK_OBJECT_STR)
            r->id = v;
        else if (s_key_is(k, "fields", 6) && v->type == MSGPACK_OBJECT_MAP)
            r->fields = m = v;
        else if (s_key_is(k, "metadata", 8) && v->type == MSGPACK_OBJECT_MAP)
            r->metadata = v;
        else if (s_key_is(k, "suggestions", 11) && v->type == MSGPACK_OBJECT_MAP)
            r->suggestions = v;
    }
    if (r->id == NULL) {
        snprintf(c->why, sizeof c->why, "record %llu has no id", (unsigned long long)rid);
        return JURY_ECORRUPT;
    }
    memset(c->fieldv, 0, c->nfields * sizeof *c->fieldv);
    for (uint32_t i = 0; m && i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        for (size_t f = 0; f < c->nfields; f++) {
            if (c->fieldlen[f] == k->via.str.size &&
                memcmp(jury_settings_field_name(c->set, f), k->via.str.ptr, k->via.str.size) == 0) {
                c->fieldv[f] = &m->via.map.ptr[i].val;
                break;
            }
        }
    }
    r->part = s_part(c, r->id->via.str.ptr, r->id->via.str.size);
    return JURY_OK;
}

static double s_elapsed(const s_ctx *c)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - c->t0.tv_sec) + (double)(t.tv_nsec - c->t0.tv_nsec) / 1e9;
}

static void s_progress(s_ctx *c)
{
    double t = s_elapsed(c);
    if (t - c->last_draw < 0.1)
        return;
    c->last_draw = t;
    uint64_t done = c->stats.records;
    double frac = c->total ? (double)done / (double)c->total : 0;
    if (frac > 1)
        frac = 1;
    char bar[31] = {0};
    for (int i = 0; i < 30; i++)
        bar[i] = i < (int)(frac * 30) ? '#' : '.';
    double rate = t > 0 ? (double)done / t : 0;
    double eta = frac > 0 ? t / frac - t : 0;
    fprintf(stderr, "\r\033[K[%s] %3.0f%%  %llu records  %.0f records/s  ETA %.0fs", bar,
            frac * 100, (unsigned long long)done, rate, eta);
}

static jury_err s_record(uint64_t rid, const jury_record_state_t *st, void *arg)
{
    s_ctx *c = arg;
    if (st->gold)
        return JURY_OK; /* known answers, not training data */
    msgpack_zone_clear(&c->zone);
    c->nresp = 0;
    c->stats.records++;
    if (c->tty && c->stats.records % S_PROGRESS_EVERY == 0)
        s_progress(c);

    /* The decision, unless responses changed since it was taken. */
    jury_decision_t d;
    const jury_decision_t *dp = NULL;
    jury_decision_kind kind = JURY_DECISION_PENDING;
    const void *blob;
    size_t blen;
    jury_err err = jury_store_decision_get(c->txn, rid, &blob, &blen);
    if (err == JURY_OK) {
        if (jury_decision_decode(blob, blen, &c->zone, &d) != JURY_OK) {
            snprintf(c->why, sizeof c->why, "the decision of record %llu does not decode",
                     (unsigned long long)rid);
            return JURY_ECORRUPT;
        }
        /* A pending decision of a record still pending stays right whatever came in since. */
        bool stale = d.kind == JURY_DECISION_PENDING ? st->status == JURY_RECORD_COMPLETED
                                                     : d.submitted != st->submitted;
        if (stale) {
            c->stats.stale++;
        } else {
            kind = d.kind;
            dp = &d;
        }
    } else if (err == JURY_ENOTFOUND) {
        if (c->consolidated && st->status == JURY_RECORD_COMPLETED)
            c->stats.stale++; /* completed since the last consolidation */
    } else {
        return err;
    }
    if (kind == JURY_DECISION_ACCEPTED)
        c->stats.accepted++;
    else if (kind == JURY_DECISION_REJECTED)
        c->stats.rejected++;
    else
        c->stats.pending++;

    jury_export_format f = c->opts->format;
    bool training = f <= JURY_EXPORT_COH;
    if (training && kind != JURY_DECISION_ACCEPTED)
        return JURY_OK;
    s_rec r;
    if ((err = s_decode_record(c, rid, &r)) != JURY_OK)
        return err;
    if (c->need_responses &&
        (err = jury_store_response_each(c->txn, rid, s_on_response, c)) != JURY_OK) {
        if (err == JURY_ECORRUPT)
            snprintf(c->why + strlen(c->why), sizeof c->why - strlen(c->why), " (record \"%.*s\")",
                     (int)(r.id->via.str.size > 200 ? 200 : r.id->via.str.size), r.id->via.str.ptr);
        return err;
    }
    if (f == JURY_EXPORT_RECORDS)
        return s_records_line(c, &r, st, kind, dp);
    if (f == JURY_EXPORT_RESPONSES)
        return s_responses_lines(c, &r);
    uint64_t lines = 0;
    if (f == JURY_EXPORT_SFT || f == JURY_EXPORT_SFT_MESSAGES)
        err = s_sft(c, &r, dp, &lines);
    else if (c->source == JURY_PAIRS_RANKING)
        err = s_ranking_pairs(c, &r, dp, &lines);
    else
        err = s_edit_pair(c, &r, dp, &lines);
    if (err == JURY_OK && lines == 0)
        c->stats.skipped++;
    if (err == JURY_ECORRUPT && !c->why[0])
        snprintf(c->why, sizeof c->why, "record \"%.*s\" holds a value JSON cannot carry",
                 (int)(r.id->via.str.size > 200 ? 200 : r.id->via.str.size), r.id->via.str.ptr);
    return err;
}

jury_err jury_export_run(jury_store_t *store, const char *name, const jury_export_opts_t *opts,
                         FILE *const *outs, size_t nouts, jury_export_stats_t *stats, char *err,
                         size_t errlen)
{
    char dummy[1];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (store == NULL || name == NULL || opts == NULL || outs == NULL ||
        !jury_export_format_name(opts->format)) {
        snprintf(err, errlen, "bad arguments");
        return JURY_EINVAL;
    }
    for (size_t k = 0; k < nouts; k++) {
        if (outs[k] == NULL) {
            snprintf(err, errlen, "output stream %zu is NULL", k);
            return JURY_EINVAL;
        }
    }
    s_ctx c = {.opts = opts, .dataset = name, .outs = outs, .nouts = nouts};
    jury_settings_t *set = NULL;
    bool zone = false;
    jury_err e = s_check_split(&c, err, errlen);
    if (e == JURY_OK)
        e = jury_store_read(store, &c.txn);
    jury_dataset_t ds;
    if (e == JURY_OK && (e = jury_store_dataset_get(c.txn, name, &ds)) == JURY_ENOTFOUND)
        snprintf(err, errlen, "no dataset %s", name);
    if (e == JURY_OK) {
        char why[512];
        e = jury_settings_parse(&set, ds.settings, ds.settings_len, why, sizeof why);
        if (e == JURY_EINVAL) {
            snprintf(err, errlen, "the stored settings of %s do not parse: %s", name, why);
            e = JURY_ECORRUPT;
        }
    }
    if (e == JURY_OK) {
        c.set = set;
        c.nfields = jury_settings_field_count(set);
        c.fieldv = calloc(c.nfields ? c.nfields : 1, sizeof *c.fieldv);
        c.fieldlen = calloc(c.nfields ? c.nfields : 1, sizeof *c.fieldlen);
        for (size_t i = 0; c.fieldlen && i < c.nfields; i++)
            c.fieldlen[i] = strlen(jury_settings_field_name(set, i));
        e = c.fieldv && c.fieldlen ? s_resolve(&c, err, errlen) : JURY_ENOMEM;
    }
    if (e == JURY_OK) {
        const void *blob;
        size_t blen;
        e = jury_store_consolidation_get(c.txn, ds.id, &blob, &blen);
        c.consolidated = e == JURY_OK;
        if (e == JURY_ENOTFOUND)
            e = JURY_OK;
    }
    if (e == JURY_OK) {
        zone = msgpack_zone_init(&c.zone, S_ZONE_CHUNK);
        e = zone ? JURY_OK : JURY_ENOMEM;
    }
    if (e == JURY_OK && opts->progress && isatty(2)) {
        jury_counts_t counts;
        c.tty = true;
        c.total = jury_store_dataset_counts(c.txn, ds.id, &counts) == JURY_OK ? counts.records : 0;
        clock_gettime(CLOCK_MONOTONIC, &c.t0);
    }
    if (e == JURY_OK) {
        e = jury_store_record_each(c.txn, ds.id, 0, s_record, &c);
        if (c.tty) {
            s_progress(&c);
            fputs("\r\033[K", stderr);
        }
        if (e != JURY_OK && !err[0])
            snprintf(err, errlen, "%s%s%s", jury_strerror(e), c.why[0] ? ": " : "", c.why);
    }
    if (stats)
        *stats = c.stats;
    jury_txn_abort(&c.txn);
    if (zone)
        msgpack_zone_destroy(&c.zone);
    free(c.prompt.segs);
    free(c.coh.segs);
    free(c.meta_method.p);
    free(c.line.p);
    free(c.fieldv);
    free(c.fieldlen);
    free(c.resp);
    free(c.names);
    jury_settings_destroy(&set);
    if (e != JURY_OK && !err[0])
        snprintf(err, errlen, "%s", jury_strerror(e));
    return e;
}
