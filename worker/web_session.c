/* web_session.c: the pure part of `juror web`: secrets, web sessions with their records, the
 * failed-login limit and the checks on names, addresses, origins and roles. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "web_session.h"

/* The most hash buckets of a session table, whatever its maximum. */
#define S_BUCKETS_MAX 65536u
/* The window of the failed-login limit. */
#define S_LOGIN_WINDOW_MS 60000
/* Bytes of a client address the limiter keeps. */
#define S_ADDR_MAX 64

void juror_web_secret_new(char out[JUROR_WEB_SECRET_SIZE])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, JUROR_WEB_SECRET_SIZE, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void juror_web_hash(const char *text, size_t len, unsigned char out[JUROR_WEB_HASH_BYTES])
{
    crypto_generichash(out, JUROR_WEB_HASH_BYTES, (const unsigned char *)text, len, NULL, 0);
}

bool juror_web_secret_matches(const char *text, size_t len,
                              const unsigned char hash[JUROR_WEB_HASH_BYTES])
{
    unsigned char h[JUROR_WEB_HASH_BYTES];
    juror_web_hash(text, len, h);
    return sodium_memcmp(h, hash, JUROR_WEB_HASH_BYTES) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Web sessions.
 */

struct juror_web_session {
    unsigned char hash[JUROR_WEB_HASH_BYTES]; /* hash of the cookie value */
    char csrf[JUROR_WEB_SECRET_SIZE];         /* CSRF token, sent to the page */
    void *owner;                              /* the caller's, given at open */
    int64_t last_used;                        /* monotonic ms of the last find (or the open) */
    cJSON *records[JUROR_WEB_QUEUE_MAX];      /* leased records, oldest first (owned) */
    size_t nrecords;                          /* records held */
    struct juror_web_session *bucket_next;    /* next session in the same hash bucket */
    struct juror_web_session *prev, *next;    /* all sessions, least recently used first */
};

struct juror_web_sessions {
    juror_web_session_t **buckets; /* by the first bytes of the cookie hash */
    size_t mask;                   /* bucket count - 1 (a power of two) */
    juror_web_session_t *first;    /* least recently used */
    juror_web_session_t *last;     /* most recently used */
    size_t count;                  /* sessions held */
    size_t max;                    /* the most sessions held at once */
    int64_t idle_ms;               /* unused this long: ended */
};

juror_web_sessions_t *juror_web_sessions_new(size_t max, int64_t idle_ms)
{
    if (max < 1 || max > 1000000 || idle_ms <= 0)
        return NULL;
    juror_web_sessions_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t n = 16;
    while (n < max && n < S_BUCKETS_MAX)
        n *= 2;
    t->buckets = calloc(n, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = n - 1;
    t->max = max;
    t->idle_ms = idle_ms;
    return t;
}

static void s_session_free(juror_web_session_t *s)
{
    for (size_t i = 0; i < s->nrecords; i++)
        cJSON_Delete(s->records[i]);
    sodium_memzero(s, sizeof *s);
    free(s);
}

void juror_web_sessions_destroy(juror_web_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    juror_web_sessions_t *t = *self_p;
    juror_web_session_t *s = t->first;
    while (s) {
        juror_web_session_t *next = s->next;
        s_session_free(s);
        s = next;
    }
    free(t->buckets);
    free(t);
    *self_p = NULL;
}

static size_t s_bucket(const juror_web_sessions_t *t, const unsigned char *hash)
{
    size_t b = 0;
    for (size_t i = 0; i < sizeof b; i++)
        b = (b << 8) | hash[i];
    return b & t->mask;
}

static void s_list_unlink(juror_web_sessions_t *t, juror_web_session_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        t->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        t->last = s->prev;
    s->prev = s->next = NULL;
}

static void s_list_append(juror_web_sessions_t *t, juror_web_session_t *s)
{
    s->prev = t->last;
    s->next = NULL;
    if (t->last)
        t->last->next = s;
    else
        t->first = s;
    t->last = s;
}

jury_err juror_web_sessions_open(juror_web_sessions_t *t, void *owner, int64_t now_ms,
                                 char cookie[JUROR_WEB_SECRET_SIZE], juror_web_session_t **out)
{
    if (!t || !owner || !cookie || !out)
        return JURY_EINVAL;
    if (t->count >= t->max)
        return JURY_ELIMIT;
    juror_web_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return JURY_ENOMEM;
    juror_web_secret_new(cookie);
    juror_web_hash(cookie, JUROR_WEB_SECRET_LEN, s->hash);
    juror_web_secret_new(s->csrf);
    s->owner = owner;
    s->last_used = now_ms;
    size_t b = s_bucket(t, s->hash);
    s->bucket_next = t->buckets[b];
    t->buckets[b] = s;
    s_list_append(t, s);
    t->count++;
    *out = s;
    return JURY_OK;
}

juror_web_session_t *juror_web_sessions_find(juror_web_sessions_t *t, const char *cookie,
                                             int64_t now_ms)
{
    if (!t || !cookie)
        return NULL;
    unsigned char hash[JUROR_WEB_HASH_BYTES];
    juror_web_hash(cookie, strlen(cookie), hash);
    juror_web_session_t *found = NULL;
    /* Every session of the bucket is compared, also after a match. */
    for (juror_web_session_t *s = t->buckets[s_bucket(t, hash)]; s; s = s->bucket_next)
        if (sodium_memcmp(s->hash, hash, sizeof hash) == 0)
            found = s;
    if (!found || now_ms - found->last_used > t->idle_ms)
        return NULL;
    found->last_used = now_ms;
    s_list_unlink(t, found);
    s_list_append(t, found);
    return found;
}

void juror_web_sessions_close(juror_web_sessions_t *t, juror_web_session_t **s_p)
{
    if (!t || !s_p || !*s_p)
        return;
    juror_web_session_t *s = *s_p;
    juror_web_session_t **at = &t->buckets[s_bucket(t, s->hash)];
    while (*at && *at != s)
        at = &(*at)->bucket_next;
    if (*at)
        *at = s->bucket_next;
    s_list_unlink(t, s);
    t->count--;
    s_session_free(s);
    *s_p = NULL;
}

size_t juror_web_sessions_count(const juror_web_sessions_t *t)
{
    return t ? t->count : 0;
}

juror_web_session_t *juror_web_sessions_next(const juror_web_sessions_t *t,
                                             const juror_web_session_t *prev, const void *owner)
{
    if (!t)
        return NULL;
    juror_web_session_t *s = prev ? prev->next : t->first;
    while (s && owner && s->owner != owner)
        s = s->next;
    return s;
}

juror_web_session_t *juror_web_sessions_idle(const juror_web_sessions_t *t, int64_t now_ms)
{
    /* The list is in order of use: only the first can be the oldest. */
    if (!t || !t->first || now_ms - t->first->last_used <= t->idle_ms)
        return NULL;
    return t->first;
}

void *juror_web_session_owner(const juror_web_session_t *s)
{
    return s ? s->owner : NULL;
}

const char *juror_web_session_csrf(const juror_web_session_t *s)
{
    return s ? s->csrf : "";
}

bool juror_web_session_csrf_ok(const juror_web_session_t *s, const char *header)
{
    if (!s || !header || strlen(header) != JUROR_WEB_SECRET_LEN)
        return false;
    return sodium_memcmp(s->csrf, header, JUROR_WEB_SECRET_LEN) == 0;
}

/* ---- records ---- */

size_t juror_web_session_queued(const juror_web_session_t *s)
{
    return s ? s->nrecords : 0;
}

const cJSON *juror_web_session_record(const juror_web_session_t *s, size_t i)
{
    return s && i < s->nrecords ? s->records[i] : NULL;
}

/* The id of a record object, or NULL when it has no string id. */
static const char *s_record_id(const cJSON *record)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(record, "id");
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

const char *juror_web_session_record_id(const juror_web_session_t *s, size_t i)
{
    return s && i < s->nrecords ? s_record_id(s->records[i]) : NULL;
}

/* The index of the record of that id, or -1. */
static long s_find_record(const juror_web_session_t *s, const char *id)
{
    if (!s || !id)
        return -1;
    for (size_t i = 0; i < s->nrecords; i++) {
        const char *rid = s_record_id(s->records[i]);
        if (rid && strcmp(rid, id) == 0)
            return (long)i;
    }
    return -1;
}

bool juror_web_session_has(const juror_web_session_t *s, const char *id)
{
    return s_find_record(s, id) >= 0;
}

jury_err juror_web_session_push(juror_web_session_t *s, cJSON **record_p)
{
    if (!s || !record_p || !cJSON_IsObject(*record_p))
        return JURY_EINVAL;
    const char *id = s_record_id(*record_p);
    if (!id)
        return JURY_EINVAL;
    if (s_find_record(s, id) >= 0)
        return JURY_EEXIST;
    if (s->nrecords >= JUROR_WEB_QUEUE_MAX)
        return JURY_ELIMIT;
    s->records[s->nrecords++] = *record_p;
    *record_p = NULL;
    return JURY_OK;
}

/* Removes the i-th record, keeping the order of the others. */
static void s_remove_at(juror_web_session_t *s, size_t i)
{
    cJSON_Delete(s->records[i]);
    memmove(&s->records[i], &s->records[i + 1], (s->nrecords - i - 1) * sizeof s->records[0]);
    s->nrecords--;
}

bool juror_web_session_drop(juror_web_session_t *s, const char *id)
{
    long i = s_find_record(s, id);
    if (i < 0)
        return false;
    s_remove_at(s, (size_t)i);
    return true;
}

/* Sets member key of obj to item, replacing the one there; takes item even on failure. */
static bool s_set_member(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return false;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

jury_err juror_web_session_draft(juror_web_session_t *s, const char *id, const cJSON *values,
                                 int64_t lease_expires_ms)
{
    long i = s_find_record(s, id);
    if (i < 0)
        return JURY_ENOTFOUND;
    cJSON *record = s->records[i];
    cJSON *copy = values ? cJSON_Duplicate(values, true) : cJSON_CreateNull();
    if (!s_set_member(record, "draft", copy))
        return JURY_ENOMEM;
    if (lease_expires_ms > 0) {
        char iso[40];
        juror_web_iso8601(lease_expires_ms, iso, sizeof iso);
        if (!s_set_member(record, "lease_expires", cJSON_CreateString(iso)))
            return JURY_ENOMEM;
    }
    return JURY_OK;
}

size_t juror_web_session_drop_expired(juror_web_session_t *s, int64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; s && i < s->nrecords;) {
        const cJSON *le = cJSON_GetObjectItemCaseSensitive(s->records[i], "lease_expires");
        int64_t ms;
        if (cJSON_IsString(le) && juror_web_iso8601_parse(le->valuestring, &ms) && ms < now_ms) {
            s_remove_at(s, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

/* ---------------------------------------------------------------------------------------------
 * Failed logins.
 */

/* One address's failures. */
typedef struct {
    char addr[S_ADDR_MAX]; /* the address ("" : a free slot) */
    int64_t start;         /* when the counting window began */
    int64_t last;          /* the latest failure */
    unsigned count;        /* failures since start */
} s_fails_t;

struct juror_web_limiter {
    s_fails_t *slots; /* one per address remembered */
    size_t nslots;    /* their number */
};

juror_web_limiter_t *juror_web_limiter_new(size_t slots)
{
    if (slots < 1 || slots > 1000000)
        return NULL;
    juror_web_limiter_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->slots = calloc(slots, sizeof *l->slots);
    if (!l->slots) {
        free(l);
        return NULL;
    }
    l->nslots = slots;
    return l;
}

void juror_web_limiter_destroy(juror_web_limiter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

static s_fails_t *s_fails_of(const juror_web_limiter_t *l, const char *addr)
{
    if (!l || !addr || !*addr)
        return NULL;
    for (size_t i = 0; i < l->nslots; i++)
        if (l->slots[i].addr[0] && strncmp(l->slots[i].addr, addr, S_ADDR_MAX - 1) == 0)
            return &l->slots[i];
    return NULL;
}

bool juror_web_limiter_blocked(const juror_web_limiter_t *l, const char *addr, int64_t now_ms)
{
    const s_fails_t *f = s_fails_of(l, addr);
    return f && now_ms - f->start < S_LOGIN_WINDOW_MS && f->count >= JUROR_WEB_LOGIN_FAILS_MAX;
}

void juror_web_limiter_failed(juror_web_limiter_t *l, const char *addr, int64_t now_ms)
{
    if (!l || !addr || !*addr)
        return;
    s_fails_t *f = s_fails_of(l, addr);
    if (!f) {
        /* A free slot, else the one that failed longest ago. */
        f = &l->slots[0];
        for (size_t i = 0; i < l->nslots && f->addr[0]; i++)
            if (!l->slots[i].addr[0] || l->slots[i].last < f->last)
                f = &l->slots[i];
        memset(f, 0, sizeof *f);
        snprintf(f->addr, sizeof f->addr, "%s", addr);
        f->start = now_ms;
    }
    if (now_ms - f->start >= S_LOGIN_WINDOW_MS) {
        f->start = now_ms;
        f->count = 0;
    }
    f->count++;
    f->last = now_ms;
}

/* ---------------------------------------------------------------------------------------------
 * Checks.
 */

bool juror_web_name_ok(const char *name, size_t len)
{
    if (!name || len < 1 || len > JUROR_WEB_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Parses 1..5 decimal digits as a port 0..65535. */
static bool s_port(const char *text, uint16_t *out)
{
    size_t n = strlen(text);
    if (n < 1 || n > 5)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(text[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

jury_err juror_web_listen_parse(const char *text, struct sockaddr_storage *addr,
                                socklen_t *addr_len, char *why, size_t cap)
{
    char host[64];
    const char *port_text;
    uint16_t port;
    if (!text || !addr || !addr_len) {
        snprintf(why, cap, "no address given");
        return JURY_EINVAL;
    }
    memset(addr, 0, sizeof *addr);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') {
            snprintf(why, cap, "'%.100s' is not [IPv6]:PORT", text);
            return JURY_EINVAL;
        }
        size_t n = (size_t)(close - text - 1);
        if (n == 0 || n >= sizeof host) {
            snprintf(why, cap, "'%.100s': not an IPv6 address", text);
            return JURY_EINVAL;
        }
        memcpy(host, text + 1, n);
        host[n] = '\0';
        port_text = close + 2;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            snprintf(why, cap, "'%.100s': '%s' is not an IPv6 address", text, host);
            return JURY_EINVAL;
        }
        if (!s_port(port_text, &port)) {
            snprintf(why, cap, "'%.100s': the port must be a number 0..65535", text);
            return JURY_EINVAL;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *addr_len = sizeof *a6;
        return JURY_OK;
    }
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text) {
        snprintf(why, cap, "'%.100s' is not ADDRESS:PORT (e.g. 127.0.0.1:8080)", text);
        return JURY_EINVAL;
    }
    size_t n = (size_t)(colon - text);
    if (n >= sizeof host || memchr(text, ':', n)) {
        snprintf(why, cap, "'%.100s': write an IPv6 address in brackets, [::1]:8080", text);
        return JURY_EINVAL;
    }
    memcpy(host, text, n);
    host[n] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        snprintf(why, cap, "'%.100s': '%s' is not an IPv4 address (A.B.C.D)", text, host);
        return JURY_EINVAL;
    }
    if (!s_port(colon + 1, &port)) {
        snprintf(why, cap, "'%.100s': the port must be a number 0..65535", text);
        return JURY_EINVAL;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *addr_len = sizeof *a4;
    return JURY_OK;
}

/* Splits an authority "host[:port]" or "[v6][:port]" (len bytes) into host and port (port_len 0:
 * none). Returns false when it is malformed. */
static bool s_authority(const char *a, size_t len, const char **host, size_t *host_len,
                        const char **port, size_t *port_len)
{
    *port = NULL;
    *port_len = 0;
    if (len == 0)
        return false;
    if (a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (!close)
            return false;
        *host = a;
        *host_len = (size_t)(close - a) + 1;
        size_t rest = len - *host_len;
        if (rest == 0)
            return true;
        if (close[1] != ':' || rest == 1)
            return false;
        *port = close + 2;
        *port_len = rest - 1;
        return true;
    }
    const char *colon = memchr(a, ':', len);
    *host = a;
    if (!colon) {
        *host_len = len;
        return true;
    }
    *host_len = (size_t)(colon - a);
    *port = colon + 1;
    *port_len = len - *host_len - 1;
    return *host_len > 0 && *port_len > 0 && !memchr(*port, ':', *port_len);
}

/* Whether two ports agree, an empty one standing for dflt. */
static bool s_same_port(const char *a, size_t alen, const char *b, size_t blen, const char *dflt)
{
    if (alen == 0) {
        a = dflt;
        alen = strlen(dflt);
    }
    if (blen == 0) {
        b = dflt;
        blen = strlen(dflt);
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

bool juror_web_origin_ok(const char *origin, const char *host)
{
    if (!origin)
        return true;
    if (!host)
        return false;
    const char *rest;
    const char *dflt;
    if (strncasecmp(origin, "http://", 7) == 0) {
        rest = origin + 7;
        dflt = "80";
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        rest = origin + 8;
        dflt = "443";
    } else {
        return false; /* "null", file:, other schemes */
    }
    size_t olen = strcspn(rest, "/");
    if (rest[olen] == '/' && rest[olen + 1] != '\0')
        return false; /* an origin has no path */
    const char *oh, *op, *hh, *hp;
    size_t ohl, opl, hhl, hpl;
    if (!s_authority(rest, olen, &oh, &ohl, &op, &opl) ||
        !s_authority(host, strlen(host), &hh, &hhl, &hp, &hpl))
        return false;
    return ohl == hhl && strncasecmp(oh, hh, ohl) == 0 && s_same_port(op, opl, hp, hpl, dflt);
}

bool juror_web_role_reviews(const char *role)
{
    return role && (strcmp(role, "reviewer") == 0 || strcmp(role, "admin") == 0);
}

bool juror_web_question(const char *reason, char *out, size_t cap)
{
    if (!reason || !out || cap == 0)
        return false;
    for (const char *p = strstr(reason, "values/"); p; p = strstr(p + 1, "values/")) {
        if (p != reason && p[-1] != '/' && p[-1] != '.')
            continue;
        const char *q = p + strlen("values/");
        size_t n = 0;
        bool fits = true;
        for (; *q && *q != '/' && *q != ':' && *q != ' '; q++) {
            char c = *q;
            if (c == '~' && (q[1] == '0' || q[1] == '1')) {
                c = q[1] == '0' ? '~' : '/';
                q++;
            }
            if (n + 1 >= cap) {
                fits = false;
                break;
            }
            out[n++] = c;
        }
        out[n] = '\0';
        if (!fits)
            return false;
        if (n > 0)
            return true;
    }
    out[0] = '\0';
    return false;
}

void juror_web_iso8601(int64_t ms, char *out, size_t cap)
{
    int64_t secs = ms / 1000;
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, cap, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Reads exactly n digits at *p, advancing it. */
static bool s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool juror_web_iso8601_parse(const char *text, int64_t *ms)
{
    if (!text || !ms)
        return false;
    const char *p = text;
    int y, mo, d, h, mi, s;
    if (!s_digits(&p, 4, &y) || *p++ != '-' || !s_digits(&p, 2, &mo) || *p++ != '-' ||
        !s_digits(&p, 2, &d) || *p++ != 'T' || !s_digits(&p, 2, &h) || *p++ != ':' ||
        !s_digits(&p, 2, &mi) || *p++ != ':' || !s_digits(&p, 2, &s))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return false;
    int frac = 0, digits = 0;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && digits < 9) {
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0)
            return false;
        for (int i = digits; i < 3; i++)
            frac *= 10;
    }
    if (*p++ != 'Z' || *p != '\0')
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *ms = (int64_t)t * 1000 + frac;
    return true;
}
