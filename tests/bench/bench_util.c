/* bench_util.c: what the benchmarks share: PRNG, clock, statistics, work dirs, LMDB set-up. */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_rand(bench_rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

uint32_t bench_below(bench_rng_t *r, uint32_t n)
{
    return (uint32_t)(((bench_rand(r) >> 32) * n) >> 32);
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *bench_thousands(char *out, size_t cap, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(const double *v, int n)
{
    double s[BENCH_RUNS_MAX];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof s[0], s_cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double bench_min(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

double bench_max(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

void bench_remove_env(const char *dir)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "serve.status", "serve.status.tmp"};
    char path[4096];
    for (size_t i = 0; i < BENCH_COUNT(files); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

void bench_proc_value(const char *path, const char *key, char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0 || !strchr(line, ':'))
            continue;
        const char *v = strchr(line, ':') + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}

void bench_print_machine(void)
{
    char model[256], mem[64];
    bench_proc_value("/proc/cpuinfo", "model name", model, sizeof model);
    bench_proc_value("/proc/meminfo", "MemTotal", mem, sizeof mem);
    struct utsname u;
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "unknown");
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) != 3)
        load[0] = load[1] = load[2] = -1;
    printf("machine:   %ld CPUs online (nproc), %s, %s RAM, Linux %s %s, load %.2f %.2f %.2f\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, mem, u.release, u.machine, load[0], load[1],
           load[2]);
}

void bench_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

int bench_work_dir(const char *prog, const char *arg, const char *tmpl, char *dir, size_t cap,
                   bool *made)
{
    *made = false;
    if (arg) {
        if (strlen(arg) >= cap) {
            fprintf(stderr, "%s: --dir: at most %zu bytes\n", prog, cap - 1);
            return 2;
        }
        snprintf(dir, cap, "%s", arg);
        if (mkdir(dir, 0750) == 0)
            *made = true;
        else if (errno != EEXIST) {
            fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
            return 1;
        }
        return 0;
    }
    snprintf(dir, cap, "%s", tmpl);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "%s: mkdtemp: %s\n", prog, strerror(errno));
        return 1;
    }
    *made = true;
    return 0;
}

static void s_mdb_fail(const char *prog, const char *label, const char *step, int rc)
{
    fprintf(stderr, "%s: %s: %s: %s\n", prog, label, step, mdb_strerror(rc));
}

int bench_lmdb_fresh(const char *prog, const char *label, const char *dir, size_t mapsize,
                     const char *table, MDB_env **env, MDB_dbi *dbi)
{
    *env = NULL;
    bench_remove_env(dir);
    if (mkdir(dir, 0750) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
        return -1;
    }
    MDB_env *e;
    MDB_txn *txn;
    const char *step = "create";
    int rc = mdb_env_create(&e);
    if (rc != MDB_SUCCESS)
        goto fail;
    mdb_env_set_maxdbs(e, 1);
    mdb_env_set_mapsize(e, mapsize);
    step = "open";
    if ((rc = mdb_env_open(e, dir, MDB_NOTLS, 0640)) != MDB_SUCCESS)
        goto fail_env;
    step = "open table";
    if ((rc = mdb_txn_begin(e, NULL, 0, &txn)) != MDB_SUCCESS)
        goto fail_env;
    if ((rc = mdb_dbi_open(txn, table, MDB_CREATE, dbi)) != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        goto fail_env;
    }
    /* A failed commit frees the transaction too. */
    if ((rc = mdb_txn_commit(txn)) != MDB_SUCCESS)
        goto fail_env;
    *env = e;
    return 0;
fail_env:
    mdb_env_close(e);
fail:
    s_mdb_fail(prog, label, step, rc);
    return -1;
}

int bench_lmdb_commit(const char *prog, const char *label, MDB_txn **txn)
{
    if (!*txn)
        return 0;
    int rc = mdb_txn_commit(*txn);
    *txn = NULL;
    if (rc != MDB_SUCCESS) {
        s_mdb_fail(prog, label, "commit", rc);
        return -1;
    }
    return 0;
}

int bench_int_arg(const char *prog, const char *name, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "%s: --%s: give %ld to %ld\n", prog, name, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

void bench_print_log(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f) && n++ < 40)
        fprintf(stderr, "  | %s", line);
    fclose(f);
}
