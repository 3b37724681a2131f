/* jury_keys.c: CURVE keypairs, Z85 (ZeroMQ RFC 32) and jury's key files, with secrets kept in
 * libsodium's guarded memory. */
#include "jury_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* A key file is a handful of short lines; anything larger is not one. */
#define KEYFILE_MAX  ((size_t)64 << 10)
#define KEYFILE_TEXT 2048

/* ---- Z85 (RFC 32) ---------------------------------------------------------------------------- */

static const char s_z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  ".-:+=^!/*?&<>()[]{}@%$#";

/* Value of a Z85 character, or -1. */
static int s_z85_value(unsigned char c)
{
    const char *p = c ? strchr(s_z85_chars, c) : NULL;
    return p ? (int)(p - s_z85_chars) : -1;
}

void jury_key_to_z85(const unsigned char key[JURY_KEY_BYTES], char out[JURY_KEY_Z85 + 1])
{
    /* Every 4 bytes, read as a big-endian number, give 5 base-85 digits, most significant first. */
    uint32_t value = 0;
    for (size_t i = 0, o = 0; i < JURY_KEY_BYTES; i += 4) {
        value = (uint32_t)key[i] << 24 | (uint32_t)key[i + 1] << 16 | (uint32_t)key[i + 2] << 8 |
                key[i + 3];
        for (int d = 4; d >= 0; d--) {
            out[o + (size_t)d] = s_z85_chars[value % 85];
            value /= 85;
        }
        o += 5;
    }
    out[JURY_KEY_Z85] = '\0';
    sodium_memzero(&value, sizeof value);
}

bool jury_key_from_z85(const char *text, unsigned char key[JURY_KEY_BYTES])
{
    if (!text || strnlen(text, JURY_KEY_Z85 + 1) != JURY_KEY_Z85)
        return false;
    uint64_t value = 0;
    bool ok = true;
    for (size_t i = 0, o = 0; i < JURY_KEY_Z85 && ok; i += 5) {
        value = 0;
        for (size_t d = 0; d < 5; d++) {
            int v = s_z85_value((unsigned char)text[i + d]);
            if (v < 0) {
                ok = false;
                break;
            }
            value = value * 85 + (uint64_t)v;
        }
        /* Five digits reach 85^5 - 1 > 2^32 - 1: larger groups are not Z85 of any bytes. */
        if (!ok || value > UINT32_MAX) {
            ok = false;
            break;
        }
        key[o] = (unsigned char)(value >> 24);
        key[o + 1] = (unsigned char)(value >> 16);
        key[o + 2] = (unsigned char)(value >> 8);
        key[o + 3] = (unsigned char)value;
        o += 4;
    }
    sodium_memzero(&value, sizeof value);
    if (!ok)
        sodium_memzero(key, JURY_KEY_BYTES);
    return ok;
}

/* ---- keypairs -------------------------------------------------------------------------------- */

jury_keypair_t *jury_keypair_new(void)
{
    jury_keypair_t *kp = sodium_malloc(sizeof *kp);
    if (!kp)
        return NULL;
    if (crypto_box_keypair(kp->public_key, kp->secret_key) != 0) {
        sodium_free(kp);
        return NULL;
    }
    return kp;
}

void jury_keypair_destroy(jury_keypair_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    /* sodium_free wipes as well; the explicit wipe states the intent. */
    sodium_memzero(*self_p, sizeof **self_p);
    sodium_free(*self_p);
    *self_p = NULL;
}

/* ---- key files: writing ---------------------------------------------------------------------- */

/* Whether s may be a one-line value: printable (no control bytes), and without surrounding blanks,
 * which a reader would trim. */
static bool s_value_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return n == 0 || (s[0] != ' ' && s[n - 1] != ' ');
}

/* Appends formatted text to buf (cap bytes, NUL-terminated); false when it does not fit. */
static bool s_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* Appends "name = <Z85 of key>\n"; the Z85 text passes through a wiped stack buffer only. */
static bool s_append_key(char *buf, size_t cap, size_t *len, const char *name,
                         const unsigned char key[JURY_KEY_BYTES])
{
    char z[JURY_KEY_Z85 + 1];
    jury_key_to_z85(key, z);
    bool ok = s_append(buf, cap, len, "%s = %s\n", name, z);
    sodium_memzero(z, sizeof z);
    return ok;
}

static jury_err s_errno_err(int e)
{
    switch (e) {
    case EACCES:
    case EPERM:
    case EROFS:
        return JURY_EPERM;
    case ENOMEM:
        return JURY_ENOMEM;
    default:
        return JURY_EIO;
    }
}

/* fsyncs the directory holding path, so that a rename or link in it is durable. */
static int s_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static bool s_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

jury_err jury_keyfile_write(const char *path, const jury_keyfile_t *kf, bool overwrite)
{
    if (!path || !*path || !kf || !s_value_ok(kf->annotator, sizeof kf->annotator - 1) ||
        !s_value_ok(kf->endpoint, sizeof kf->endpoint - 1))
        return JURY_EINVAL;

    /* The text is built in guarded memory and written with write(2): no stdio buffer ever holds
     * the secret. */
    char *text = sodium_malloc(KEYFILE_TEXT);
    if (!text)
        return JURY_ENOMEM;
    size_t len = 0;
    bool ok;
    if (kf->keys)
        ok = s_append(text, KEYFILE_TEXT, &len, "# jury %s key file: keep it secret (mode 0600)\n",
                      kf->annotator[0] ? "annotator" : "coordinator");
    else
        ok = s_append(text, KEYFILE_TEXT, &len, "# jury public key: safe to share\n");
    if (ok && kf->annotator[0])
        ok = s_append(text, KEYFILE_TEXT, &len, "annotator = %s\n", kf->annotator);
    if (ok)
        ok = s_append_key(text, KEYFILE_TEXT, &len, "public-key",
                          kf->keys ? kf->keys->public_key : kf->public_key);
    if (ok && kf->keys)
        ok = s_append_key(text, KEYFILE_TEXT, &len, "secret-key", kf->keys->secret_key);
    if (ok && kf->has_coordinator_key)
        ok = s_append_key(text, KEYFILE_TEXT, &len, "coordinator-key", kf->coordinator_key);
    if (ok && kf->endpoint[0])
        ok = s_append(text, KEYFILE_TEXT, &len, "endpoint = %s\n", kf->endpoint);
    if (!ok) {
        sodium_free(text);
        return JURY_EINVAL;
    }

    jury_err err = JURY_OK;
    size_t tl = strlen(path) + sizeof ".tmp-XXXXXX";
    char *tmp = malloc(tl);
    if (!tmp) {
        sodium_free(text);
        return JURY_ENOMEM;
    }
    snprintf(tmp, tl, "%s.tmp-XXXXXX", path);
    /* mkstemp creates the file with mode 0600 whatever the umask: the secret is never readable by
     * others, not even for a moment. */
    int fd = mkstemp(tmp);
    int saved = 0;
    if (fd < 0) {
        saved = errno;
        err = s_errno_err(saved);
        goto done;
    }
    if ((!kf->keys && fchmod(fd, 0644) != 0) || !s_write_all(fd, text, len) || fsync(fd) != 0) {
        saved = errno;
        err = s_errno_err(saved);
        close(fd);
        unlink(tmp);
        goto done;
    }
    if (close(fd) != 0) {
        saved = errno;
        err = s_errno_err(saved);
        unlink(tmp);
        goto done;
    }
    /* link(2) fails when path exists, so refusing to overwrite is atomic: no check-then-rename
     * window where another process could create path in between. */
    int rc = overwrite ? rename(tmp, path) : link(tmp, path);
    if (rc != 0) {
        saved = errno;
        err = saved == EEXIST ? JURY_EEXIST : s_errno_err(saved);
        unlink(tmp);
        goto done;
    }
    if (!overwrite)
        unlink(tmp);
    if (s_sync_dir(path) != 0) {
        saved = errno;
        err = JURY_EIO;
    }
done:
    sodium_free(text);
    free(tmp);
    errno = saved;
    return err;
}

/* ---- key files: reading ---------------------------------------------------------------------- */

enum { F_ANNOTATOR, F_PUBLIC, F_SECRET, F_COORDINATOR, F_ENDPOINT, F_COUNT };
static const char *const s_field_names[F_COUNT] = {"annotator", "public-key", "secret-key",
                                                   "coordinator-key", "endpoint"};

static void s_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Whether s (n bytes) may be echoed in a message: a short run of visible ASCII. A bad line may hold
 * a secret, so anything else is left out. */
static bool s_echoable(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* Parses the NUL-terminated text (in guarded memory) into out. mode: the file's mode bits. */
static jury_err s_parse(const char *path, char *text, mode_t mode, jury_keyfile_t *out, char *err,
                        size_t errlen)
{
    int seen[F_COUNT] = {0};
    int lineno = 0;
    char *line = text;
    while (*line) {
        lineno++;
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : line + strlen(line);
        char *end = nl ? nl : next;
        while (end > line && s_blank(end[-1]))
            end--;
        *end = '\0';
        while (s_blank(*line))
            line++;
        if (*line == '\0' || *line == '#') {
            line = next;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq) {
            s_seterr(err, errlen, "%s:%d: expected \"name = value\"", path, lineno);
            return JURY_EINVAL;
        }
        char *name_end = eq;
        while (name_end > line && s_blank(name_end[-1]))
            name_end--;
        size_t name_len = (size_t)(name_end - line);
        char *value = eq + 1;
        while (s_blank(*value))
            value++;
        int f;
        for (f = 0; f < F_COUNT; f++)
            if (strlen(s_field_names[f]) == name_len &&
                memcmp(s_field_names[f], line, name_len) == 0)
                break;
        if (f == F_COUNT) {
            if (s_echoable(line, name_len))
                s_seterr(err, errlen,
                         "%s:%d: unknown name \"%.*s\" (known: annotator, public-key, secret-key, "
                         "coordinator-key, endpoint)",
                         path, lineno, (int)name_len, line);
            else
                s_seterr(err, errlen, "%s:%d: unknown name", path, lineno);
            return JURY_EINVAL;
        }
        if (seen[f]) {
            s_seterr(err, errlen, "%s:%d: duplicate %s (first on line %d)", path, lineno,
                     s_field_names[f], seen[f]);
            return JURY_EINVAL;
        }
        seen[f] = lineno;
        switch (f) {
        case F_ANNOTATOR:
        case F_ENDPOINT: {
            size_t cap = f == F_ANNOTATOR ? sizeof out->annotator : sizeof out->endpoint;
            char *dst = f == F_ANNOTATOR ? out->annotator : out->endpoint;
            size_t n = strlen(value);
            if (n == 0 || n >= cap || !s_value_ok(value, cap - 1)) {
                s_seterr(err, errlen, "%s:%d: %s: must be 1 to %zu printable bytes", path, lineno,
                         s_field_names[f], cap - 1);
                return JURY_EINVAL;
            }
            memcpy(dst, value, n + 1);
            break;
        }
        case F_SECRET:
            /* Refuse before the secret is even decoded. */
            if (mode & 077) {
                s_seterr(err, errlen,
                         "%s: holds a secret key but its group or others may read it (mode %04o); "
                         "make it private with: chmod 600 %s",
                         path, (unsigned)(mode & 07777), path);
                return JURY_EPERM;
            }
            if (!out->keys && !(out->keys = sodium_malloc(sizeof *out->keys)))
                return JURY_ENOMEM;
            if (!jury_key_from_z85(value, out->keys->secret_key)) {
                s_seterr(err, errlen, "%s:%d: secret-key: not a key (40 characters of Z85)", path,
                         lineno);
                return JURY_EINVAL;
            }
            break;
        default: {
            unsigned char *dst = f == F_PUBLIC ? out->public_key : out->coordinator_key;
            if (!jury_key_from_z85(value, dst)) {
                s_seterr(err, errlen, "%s:%d: %s: not a key (40 characters of Z85)", path, lineno,
                         s_field_names[f]);
                return JURY_EINVAL;
            }
            if (f == F_COORDINATOR)
                out->has_coordinator_key = true;
            break;
        }
        }
        line = next;
    }
    if (!seen[F_PUBLIC]) {
        s_seterr(err, errlen, "%s: no public-key line: not a jury key file", path);
        return JURY_EINVAL;
    }
    if (out->keys) {
        unsigned char derived[JURY_KEY_BYTES];
        int rc = crypto_scalarmult_base(derived, out->keys->secret_key);
        bool match = rc == 0 && sodium_memcmp(derived, out->public_key, JURY_KEY_BYTES) == 0;
        sodium_memzero(derived, sizeof derived);
        if (!match) {
            s_seterr(err, errlen, "%s:%d: public-key does not belong to the secret-key (line %d)",
                     path, seen[F_PUBLIC], seen[F_SECRET]);
            return JURY_EINVAL;
        }
        memcpy(out->keys->public_key, out->public_key, JURY_KEY_BYTES);
    }
    return JURY_OK;
}

jury_err jury_keyfile_read(const char *path, jury_keyfile_t *out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!path || !out)
        return JURY_EINVAL;
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        s_seterr(err, errlen, "%s: %s", path, strerror(e));
        return e == ENOENT || e == ENOTDIR ? JURY_ENOTFOUND : s_errno_err(e);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        s_seterr(err, errlen, "%s: %s", path, strerror(e));
        return s_errno_err(e);
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > KEYFILE_MAX) {
        close(fd);
        s_seterr(err, errlen, "%s: not a key file (%s)", path,
                 S_ISREG(st.st_mode) ? "too large" : "not a regular file");
        return JURY_EINVAL;
    }
    /* Read one byte more than fstat promised, to notice a file that grew. */
    size_t cap = (size_t)st.st_size + 1;
    char *text = sodium_malloc(cap + 1);
    if (!text) {
        close(fd);
        return JURY_ENOMEM;
    }
    size_t len = 0;
    int rerr = 0;
    while (len < cap) {
        ssize_t n = read(fd, text + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rerr = errno;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    jury_err rc;
    if (rerr) {
        s_seterr(err, errlen, "%s: %s", path, strerror(rerr));
        rc = s_errno_err(rerr);
    } else if (len == cap) {
        s_seterr(err, errlen, "%s: changed while being read", path);
        rc = JURY_EIO;
    } else if (memchr(text, '\0', len)) {
        s_seterr(err, errlen, "%s: not a key file (binary data)", path);
        rc = JURY_EINVAL;
    } else {
        text[len] = '\0';
        rc = s_parse(path, text, st.st_mode, out, err, errlen);
    }
    sodium_memzero(text, cap + 1);
    sodium_free(text);
    if (rc != JURY_OK)
        jury_keyfile_clear(out);
    return rc;
}

void jury_keyfile_clear(jury_keyfile_t *kf)
{
    if (!kf)
        return;
    jury_keypair_destroy(&kf->keys);
    sodium_memzero(kf, sizeof *kf);
}

/* ---- web tokens -------------------------------------------------------- */

jury_err jury_web_token_new(const char *name, char *out, size_t cap,
                            unsigned char hash[JURY_KEY_BYTES])
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 200 || strchr(name, ':') || cap < n + 1 + JURY_WEB_TOKEN_SECRET + 1)
        return JURY_EINVAL;
    unsigned char secret[32];
    randombytes_buf(secret, sizeof secret);
    memcpy(out, name, n);
    out[n] = ':';
    sodium_bin2base64(out + n + 1, cap - n - 1, secret, sizeof secret,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    jury_web_token_hash(out, strlen(out), hash);
    return JURY_OK;
}

void jury_web_token_hash(const char *token, size_t len, unsigned char hash[JURY_KEY_BYTES])
{
    crypto_generichash(hash, JURY_KEY_BYTES, (const unsigned char *)token, len, NULL, 0);
}

size_t jury_web_token_name_len(const char *token, size_t len)
{
    const char *colon = memchr(token, ':', len);
    if (!colon || colon == token || len - (size_t)(colon - token) - 1 != JURY_WEB_TOKEN_SECRET)
        return 0;
    for (const char *p = colon + 1; p < token + len; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return (size_t)(colon - token);
}
