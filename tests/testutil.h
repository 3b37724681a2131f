/* testutil.h: what jury's tests share: temporary directories, file helpers and running real jury
 * processes. */
#ifndef JURY_TESTUTIL_H
#define JURY_TESTUTIL_H

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Output of a child process. */
typedef struct {
    int status; /* exit code, or 128 + signal */
    char *out;  /* everything it wrote to stdout (NUL-terminated, owned) */
    char *err;  /* everything it wrote to stderr (NUL-terminated, owned) */
} tu_result_t;

/* Makes a fresh directory under $JURY_TEST_TMP (else /tmp) and writes its path to out. */
static inline void tu_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("JURY_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(out, cap, "%s/jury-test-XXXXXX", base);
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        abort();
    }
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes a directory tree. */
static inline void tu_rmrf(const char *path)
{
    nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes n bytes to a new file at path. */
static inline void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Reads a whole file into a NUL-terminated buffer the caller frees; NULL if unreadable. */
static inline char *tu_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

/* Path of an environment variable that ctest sets; aborts with a message when missing. */
static inline const char *tu_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set: run the tests through ctest\n", name);
        abort();
    }
    return v;
}

static inline void tu_drain(int fd, char **buf, size_t *len, size_t *cap)
{
    if (*cap - *len < 4096)
        *buf = realloc(*buf, *cap = *cap * 2 + 4096);
    ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
    if (n > 0)
        *len += (size_t)n;
}

/*
 * Runs argv (argv[0] a path) with stdin_data on its standard input (NULL for
 * /dev/null) and collects its exit status, stdout and stderr. Free with tu_result_free.
 */
static inline tu_result_t tu_run(char *const argv[], const char *stdin_data)
{
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err))
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]), close(out[1]), close(err[1]);
    if (stdin_data) {
        size_t n = strlen(stdin_data), off = 0;
        signal(SIGPIPE, SIG_IGN);
        while (off < n) {
            ssize_t w = write(in[1], stdin_data + off, n - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    close(in[1]);
    size_t olen = 0, ocap = 0, elen = 0, ecap = 0;
    char *obuf = NULL, *ebuf = NULL;
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            size_t before = i ? elen : olen;
            if (i)
                tu_drain(p[i].fd, &ebuf, &elen, &ecap);
            else
                tu_drain(p[i].fd, &obuf, &olen, &ocap);
            if ((i ? elen : olen) == before) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            }
        }
    }
    int st;
    waitpid(pid, &st, 0);
    tu_result_t r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), obuf, ebuf};
    if (!r.out)
        r.out = calloc(1, 1);
    else
        r.out[olen] = '\0';
    if (!r.err)
        r.err = calloc(1, 1);
    else
        r.err[elen] = '\0';
    return r;
}

static inline void tu_result_free(tu_result_t *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

#endif
