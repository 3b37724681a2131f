/* config.c: `jury serve`'s option table, set from the command line and from a config file. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* The largest config file read, in bytes. */
#define CONFIG_MAX ((size_t)1 << 20)
/* Room for the options table's flags below; a static assertion keeps the table within it. */
#define KEYS_MAX 64

/* How an option's value is read. */
typedef enum {
    K_STRING, /* any text (a check may narrow it) */
    K_FLAG,   /* a boolean: no value on the command line, a boolean word in a file */
    K_LEVEL,  /* a log level: error, warn, info or debug */
    K_NUMBER  /* a whole number within lo..hi, stored times scale */
} kind_t;

struct jury_serve_config {
    jury_serve_opts_t serve; /* jury_serve_run's options; strings point into strings */
    const char *store;       /* the store directory, or NULL */
    const char *metrics;     /* the metrics address, or NULL */
    uint64_t map_max;        /* the store's map limit in bytes, 0 for none */
    bool cli[KEYS_MAX];      /* per key: set from the command line (a file keeps off it) */
    char **strings;          /* copies of every string value set (owned) */
    size_t nstrings;         /* entries in strings */
    size_t capstrings;       /* room in strings */
};

/* One option of `jury serve`, which is also a config key. */
typedef struct {
    const char *name;     /* the option's long name without "--", and the key */
    kind_t kind;          /* how its value is read */
    unsigned long lo, hi; /* K_NUMBER: the values accepted */
    unsigned long scale;  /* K_NUMBER: the field holds the value times this (seconds -> ms) */
    bool empty_ok;        /* K_STRING: "" is accepted and means NULL (none) */
    bool (*check)(const char *value, char *why, size_t cap); /* K_STRING: a further check */
    size_t offset; /* the field in struct jury_serve_config */
    size_t size;   /* the field's size (K_NUMBER: 4 or 8 bytes, unsigned or int) */
} option_t;

static bool s_check_metrics(const char *value, char *why, size_t cap)
{
    struct sockaddr_storage addr;
    socklen_t len;
    return jury_metrics_addr_parse(value, &addr, &len, why, cap) == JURY_OK;
}

#define FIELD(f)                                                                                   \
    .offset = offsetof(struct jury_serve_config, f),                                               \
    .size = sizeof(((struct jury_serve_config *)0)->f)

/* Every option, in the order of `jury serve --help`. A new option is one line here (and its
 * field, its line in the usage text and in ops/jury.conf). */
static const option_t s_options[] = {
    {.name = "bind", .kind = K_STRING, FIELD(serve.bind)},
    {.name = "insecure", .kind = K_FLAG, FIELD(serve.insecure)},
    {.name = "log-level", .kind = K_LEVEL, FIELD(serve.log_level)},
    {.name = "heartbeat-ms", .kind = K_NUMBER, .lo = 100, .hi = 60000, FIELD(serve.heartbeat_ms)},
    {.name = "store", .kind = K_STRING, FIELD(store)},
    {.name = "metrics",
     .kind = K_STRING,
     .empty_ok = true,
     .check = s_check_metrics,
     FIELD(metrics)},
    {.name = "map-max-mib",
     .kind = K_NUMBER,
     .lo = 1,
     .hi = 1ul << 30,
     .scale = 1ul << 20,
     FIELD(map_max)},
    {.name = "max-message-bytes",
     .kind = K_NUMBER,
     .lo = 1024,
     .hi = 8388608,
     FIELD(serve.max_message_bytes)},
    {.name = "batch-max", .kind = K_NUMBER, .lo = 1, .hi = 100, FIELD(serve.batch_max)},
    {.name = "max-leases", .kind = K_NUMBER, .lo = 1, .hi = 1000000, FIELD(serve.max_leases)},
    {.name = "max-response-bytes",
     .kind = K_NUMBER,
     .lo = 1024,
     .hi = 8388608,
     FIELD(serve.max_response_bytes)},
    {.name = "max-rate", .kind = K_NUMBER, .lo = 1, .hi = 1000000, FIELD(serve.max_rate)},
    {.name = "burst", .kind = K_NUMBER, .lo = 1, .hi = 10000000, FIELD(serve.burst)},
    {.name = "abuse-max", .kind = K_NUMBER, .lo = 1, .hi = 1000000, FIELD(serve.abuse_max)},
    {.name = "abuse-window-s",
     .kind = K_NUMBER,
     .lo = 1,
     .hi = 3600,
     .scale = 1000,
     FIELD(serve.abuse_window_ms)},
    {.name = "max-malformed",
     .kind = K_NUMBER,
     .lo = 1,
     .hi = 1000000000,
     FIELD(serve.max_malformed)},
};

#define NKEYS (sizeof s_options / sizeof s_options[0])
_Static_assert(NKEYS <= KEYS_MAX, "raise KEYS_MAX");

static const char *const s_levels[] = {"error", "warn", "info", "debug"};

size_t jury_serve_config_key_count(void)
{
    return NKEYS;
}

const char *jury_serve_config_key_name(size_t i)
{
    return i < NKEYS ? s_options[i].name : NULL;
}

bool jury_serve_config_key_is_flag(size_t i)
{
    return i < NKEYS && s_options[i].kind == K_FLAG;
}

static const option_t *s_find(const char *key, size_t len)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(s_options[i].name) == len && memcmp(s_options[i].name, key, len) == 0)
            return &s_options[i];
    return NULL;
}

jury_serve_config_t *jury_serve_config_new(void)
{
    jury_serve_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->serve.bind = "tcp://127.0.0.1:5555";
    cfg->serve.heartbeat_ms = 1000;
    cfg->serve.log_level = JURY_LOG_INFO;
    return cfg;
}

void jury_serve_config_destroy(jury_serve_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jury_serve_config_t *cfg = *self_p;
    for (size_t i = 0; i < cfg->nstrings; i++)
        free(cfg->strings[i]);
    free(cfg->strings);
    free(cfg);
    *self_p = NULL;
}

/* Keeps a copy of the n bytes at s; NULL when out of memory. */
static char *s_keep(jury_serve_config_t *cfg, const char *s, size_t n)
{
    if (cfg->nstrings == cfg->capstrings) {
        size_t ncap = cfg->capstrings ? cfg->capstrings * 2 : 8;
        char **v = realloc(cfg->strings, ncap * sizeof *v);
        if (!v)
            return NULL;
        cfg->strings = v;
        cfg->capstrings = ncap;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    cfg->strings[cfg->nstrings++] = copy;
    return copy;
}

/* Reads a boolean word into *out. */
static bool s_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/*
 * Checks value for option o and, when store is set, writes it into cfg. A flag takes NULL as
 * true. On a bad value why gets the reason (without the key) and the result is JURY_EINVAL.
 */
static jury_err s_apply(jury_serve_config_t *cfg, const option_t *o, const char *value, bool store,
                        char *why, size_t cap)
{
    char *field = (char *)cfg + o->offset;
    switch (o->kind) {
    case K_FLAG: {
        bool b = true;
        if (value && !s_bool(value, &b)) {
            snprintf(why, cap, "'%.100s' is not true or false (nor yes/no, on/off, 1/0)", value);
            return JURY_EINVAL;
        }
        if (store)
            memcpy(field, &b, sizeof b);
        return JURY_OK;
    }
    case K_LEVEL: {
        int k = 0;
        while (value && k < 4 && strcmp(value, s_levels[k]) != 0)
            k++;
        if (!value || k == 4) {
            snprintf(why, cap, "'%.100s' is not error, warn, info or debug", value ? value : "");
            return JURY_EINVAL;
        }
        jury_log_level level = (jury_log_level)k;
        if (store)
            memcpy(field, &level, sizeof level);
        return JURY_OK;
    }
    case K_NUMBER: {
        char *end;
        errno = 0;
        unsigned long v = value ? strtoul(value, &end, 10) : 0;
        if (!value || value[0] < '0' || value[0] > '9' || *end || errno || v < o->lo || v > o->hi) {
            snprintf(why, cap, "'%.100s' is not a whole number within %lu..%lu", value ? value : "",
                     o->lo, o->hi);
            return JURY_EINVAL;
        }
        if (o->scale)
            v *= o->scale;
        if (store) {
            if (o->size == sizeof(uint64_t)) {
                uint64_t x = v;
                memcpy(field, &x, sizeof x);
            } else {
                /* 4 bytes: uint32_t, or an int whose range (hi) keeps it positive. */
                uint32_t x = (uint32_t)v;
                memcpy(field, &x, sizeof x);
            }
        }
        return JURY_OK;
    }
    case K_STRING:
    default: {
        const char *s = value ? value : "";
        if (!*s && !o->empty_ok) {
            snprintf(why, cap, "a value is required");
            return JURY_EINVAL;
        }
        if (*s && o->check && !o->check(s, why, cap))
            return JURY_EINVAL;
        if (!store)
            return JURY_OK;
        const char *copy = NULL;
        if (*s && !(copy = s_keep(cfg, s, strlen(s)))) {
            snprintf(why, cap, "out of memory");
            return JURY_ENOMEM;
        }
        memcpy(field, &copy, sizeof copy);
        return JURY_OK;
    }
    }
}

jury_err jury_serve_config_set(jury_serve_config_t *cfg, const char *key, const char *value,
                               char *why, size_t cap)
{
    if (!cfg || !key)
        return JURY_EINVAL;
    const option_t *o = s_find(key, strlen(key));
    if (!o) {
        snprintf(why, cap, "unknown option");
        return JURY_ENOTFOUND;
    }
    jury_err err = s_apply(cfg, o, value, true, why, cap);
    if (err == JURY_OK)
        cfg->cli[o - s_options] = true;
    return err;
}

static bool s_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Formats a message about line `line` of path into why: "PATH:LINE: " then the rest. */
static jury_err s_line_error(char *why, size_t cap, const char *path, size_t line, jury_err err,
                             const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static jury_err s_line_error(char *why, size_t cap, const char *path, size_t line, jury_err err,
                             const char *fmt, ...)
{
    int n = snprintf(why, cap, "%s:%zu: ", path, line);
    if (n > 0 && (size_t)n < cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why + n, cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return err;
}

/*
 * Reads the value of a line from p (blanks after '=' skipped) to end, into a new string *out
 * (the caller frees it): quoted, with \" and \\ unescaped, or bare, up to a '#' after a blank (a
 * comment), with the blanks at its end dropped. On a malformed value why gets the reason and out
 * stays NULL.
 */
static jury_err s_value(const char *p, const char *end, char **out, char *why, size_t cap)
{
    *out = NULL;
    char *v = malloc((size_t)(end - p) + 1);
    if (!v) {
        snprintf(why, cap, "out of memory");
        return JURY_ENOMEM;
    }
    size_t n = 0;
    if (p < end && *p == '"') {
        for (p++;; p++) {
            if (p == end) {
                free(v);
                snprintf(why, cap, "the quoted value has no closing '\"'");
                return JURY_EINVAL;
            }
            if (*p == '"')
                break;
            if (*p == '\\') {
                if (p + 1 == end || (p[1] != '"' && p[1] != '\\')) {
                    free(v);
                    snprintf(why, cap, "in quotes, '\\' comes only before '\"' or '\\'");
                    return JURY_EINVAL;
                }
                p++;
            }
            v[n++] = *p;
        }
        for (p++; p < end && s_blank(*p); p++)
            ;
        if (p < end && *p != '#') {
            free(v);
            snprintf(why, cap, "text after the closing '\"' (a comment starts with '#')");
            return JURY_EINVAL;
        }
    } else {
        /* p follows the '=' and the blanks after it, so q[-1] is always there. */
        for (const char *q = p; q < end; q++) {
            if (*q == '#' && s_blank(q[-1]))
                break;
            v[n++] = *q;
        }
        while (n > 0 && s_blank(v[n - 1]))
            n--;
    }
    v[n] = '\0';
    *out = v;
    return JURY_OK;
}

jury_err jury_serve_config_parse(jury_serve_config_t *cfg, const char *path, const char *text,
                                 size_t len, char *why, size_t cap)
{
    if (!cfg || !path || (!text && len))
        return JURY_EINVAL;
    size_t seen[NKEYS] = {0}; /* the line each key was set on in this file, 0: not yet */
    size_t line = 0;
    const char *p = text, *stop = text + len;
    while (p < stop) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        const char *end = eol ? eol : stop;
        const char *next = eol ? eol + 1 : stop;
        if (end > p && end[-1] == '\r')
            end--;
        if (end > p && memchr(p, '\0', (size_t)(end - p)))
            return s_line_error(why, cap, path, line, JURY_EINVAL,
                                "a NUL byte: this is not a text file");
        while (p < end && s_blank(*p))
            p++;
        if (p == end || *p == '#') {
            p = next;
            continue;
        }
        const char *key = p;
        while (p < end && !s_blank(*p) && *p != '=')
            p++;
        size_t klen = (size_t)(p - key);
        while (p < end && s_blank(*p))
            p++;
        if (klen == 0)
            return s_line_error(why, cap, path, line, JURY_EINVAL,
                                "a line is 'key = value'; the key is missing");
        if (p == end || *p != '=')
            return s_line_error(why, cap, path, line, JURY_EINVAL,
                                "%.*s: a line is 'key = value'; '=' is missing",
                                (int)(klen > 100 ? 100 : klen), key);
        const option_t *o = s_find(key, klen);
        if (!o) {
            /* An underscore for a dash is the likeliest slip. */
            char alt[128];
            const option_t *near = NULL;
            if (klen < sizeof alt) {
                for (size_t i = 0; i < klen; i++)
                    alt[i] = key[i] == '_' ? '-' : key[i];
                near = s_find(alt, klen);
            }
            if (near)
                return s_line_error(why, cap, path, line, JURY_EINVAL,
                                    "%.*s: unknown key (did you mean %s?)", (int)klen, key,
                                    near->name);
            return s_line_error(why, cap, path, line, JURY_EINVAL,
                                "%.*s: unknown key (the keys are the options of `jury serve "
                                "--help` without their '--')",
                                (int)(klen > 100 ? 100 : klen), key);
        }
        size_t i = (size_t)(o - s_options);
        if (seen[i])
            return s_line_error(why, cap, path, line, JURY_EINVAL,
                                "%s: set again (first on line %zu); a key appears once", o->name,
                                seen[i]);
        seen[i] = line;
        for (p++; p < end && s_blank(*p); p++)
            ;
        char *value, reason[512];
        jury_err err = s_value(p, end, &value, reason, sizeof reason);
        if (err == JURY_OK && o->kind == K_FLAG && !*value) {
            /* On the command line a flag alone means true; in a file it says which. */
            snprintf(reason, sizeof reason, "a value is required: true or false");
            err = JURY_EINVAL;
        } else if (err == JURY_OK) {
            err = s_apply(cfg, o, value, !cfg->cli[i], reason, sizeof reason);
        }
        free(value);
        if (err != JURY_OK)
            return s_line_error(why, cap, path, line, err, "%s: %s", o->name, reason);
        p = next;
    }
    return JURY_OK;
}

jury_err jury_serve_config_read(jury_serve_config_t *cfg, const char *path, char *why, size_t cap)
{
    if (!cfg || !path)
        return JURY_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        return JURY_EIO;
    }
    char *buf = malloc(CONFIG_MAX + 1);
    if (!buf) {
        fclose(f);
        snprintf(why, cap, "%s: out of memory", path);
        return JURY_ENOMEM;
    }
    size_t n = fread(buf, 1, CONFIG_MAX + 1, f);
    int saved = errno;
    bool failed = ferror(f);
    fclose(f);
    jury_err err = JURY_OK;
    if (failed) {
        snprintf(why, cap, "%s: %s", path, strerror(saved));
        err = JURY_EIO;
    } else if (n > CONFIG_MAX) {
        snprintf(why, cap, "%s: larger than %zu bytes; this is not a config file", path,
                 CONFIG_MAX);
        err = JURY_EIO;
    } else {
        err = jury_serve_config_parse(cfg, path, buf, n, why, cap);
    }
    free(buf);
    return err;
}

const jury_serve_opts_t *jury_serve_config_opts(const jury_serve_config_t *cfg)
{
    return cfg ? &cfg->serve : NULL;
}

const char *jury_serve_config_store(const jury_serve_config_t *cfg)
{
    return cfg ? cfg->store : NULL;
}

const char *jury_serve_config_metrics(const jury_serve_config_t *cfg)
{
    return cfg ? cfg->metrics : NULL;
}

uint64_t jury_serve_config_map_max(const jury_serve_config_t *cfg)
{
    return cfg ? cfg->map_max : 0;
}

bool jury_serve_config_from_cli(const jury_serve_config_t *cfg, const char *key)
{
    const option_t *o = cfg && key ? s_find(key, strlen(key)) : NULL;
    return o && cfg->cli[o - s_options];
}
