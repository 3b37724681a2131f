/* audit.c: appending logfmt lines to the store's audit log. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool s_key_ok(const char *k)
{
    if (!k || !*k)
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '.' || *k == '-'))
            return false;
    return true;
}

static bool s_needs_quotes(const char *v)
{
    if (!*v)
        return true;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f)
            return true;
    }
    return false;
}

static void s_put_value(FILE *f, const char *v)
{
    if (!v)
        v = "";
    if (!s_needs_quotes(v)) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

jury_err jury_audit_format(char **out, int64_t now_ms, const char *event, va_list ap)
{
    if (!out || !s_key_ok(event))
        return JURY_EINVAL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return JURY_ENOMEM;
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    char ts[32];
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(f, "ts=%s.%03dZ event=%s", ts, (int)(now_ms % 1000), event);
    jury_err err = JURY_OK;
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        if (!s_key_ok(key)) {
            err = JURY_EINVAL;
            break;
        }
        fprintf(f, " %s=", key);
        s_put_value(f, value);
    }
    fputc('\n', f);
    if (fclose(f) != 0 && err == JURY_OK)
        err = JURY_ENOMEM;
    if (err != JURY_OK) {
        free(buf);
        return err;
    }
    *out = buf;
    return JURY_OK;
}

jury_err jury_audit_vappend(const char *store_dir, const char *event, va_list ap)
{
    if (!store_dir)
        return JURY_EINVAL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char *line = NULL;
    jury_err err =
        jury_audit_format(&line, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, event, ap);
    if (err != JURY_OK)
        return err;
    size_t pl = strlen(store_dir) + sizeof "/" JURY_AUDIT_FILE;
    char *path = malloc(pl);
    if (!path) {
        free(line);
        return JURY_ENOMEM;
    }
    snprintf(path, pl, "%s/%s", store_dir, JURY_AUDIT_FILE);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    int saved = 0;
    if (fd < 0) {
        saved = errno;
        err = saved == EACCES || saved == EPERM || saved == EROFS ? JURY_EPERM : JURY_EIO;
    } else {
        size_t n = strlen(line);
        ssize_t w;
        do
            w = write(fd, line, n);
        while (w < 0 && errno == EINTR);
        if (w < 0 || (size_t)w != n) {
            saved = w < 0 ? errno : EIO;
            err = JURY_EIO;
        }
        if (close(fd) != 0 && err == JURY_OK) {
            saved = errno;
            err = JURY_EIO;
        }
    }
    free(line);
    errno = saved;
    return err;
}

jury_err jury_audit_append(const char *store_dir, const char *event, ...)
{
    va_list ap;
    va_start(ap, event);
    jury_err err = jury_audit_vappend(store_dir, event, ap);
    va_end(ap);
    return err;
}
