/* bench_util.h: what the benchmarks share: PRNG, clock, statistics, work dirs, LMDB set-up. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

/* Most runs a benchmark takes; bench_median works on at most this many values. */
#define BENCH_RUNS_MAX 99

/* Number of elements of an array (not a pointer). */
#define BENCH_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * xorshift64*: small, fast and good enough to make text look varied. Seed
 * the state with any non-zero value; the same seed gives the same sequence.
 */
typedef struct {
    uint64_t s; /* state, never 0 */
} bench_rng_t;

/* Advances r and returns its next 64-bit value. */
uint64_t bench_rand(bench_rng_t *r);

/*
 * Returns a uniform integer in 0 .. n-1 from the high bits of the next value
 * of r; n must be at least 1 and small against 2^32.
 */
uint32_t bench_below(bench_rng_t *r, uint32_t n);

/* Returns the monotonic clock in seconds, for measuring intervals only. */
double bench_now(void);

/*
 * Formats v in decimal with a comma every three digits ("1,234,567") into
 * out, which holds cap bytes (32 is always enough). The result is cut short
 * rather than overflowing out, and is always NUL-terminated. Returns out, so
 * that the call can stand as a printf argument.
 */
const char *bench_thousands(char *out, size_t cap, uint64_t v);

/*
 * Returns the median of the n values of v (the mean of the middle two when n
 * is even). n must be 1 to BENCH_RUNS_MAX; v is left as it is.
 */
double bench_median(const double *v, int n);

/* Returns the smallest of the n values of v; n must be at least 1. */
double bench_min(const double *v, int n);

/* Returns the largest of the n values of v; n must be at least 1. */
double bench_max(const double *v, int n);

/*
 * Removes an LMDB environment directory dir and what jury or a benchmark run
 * leaves in it (data.mdb, lock.mdb, serve.status and its temporary). Missing
 * files are no error; a directory that still holds anything else stays.
 */
void bench_remove_env(const char *dir);

/*
 * Copies the value of the first "key<spaces>: value" line of the /proc file
 * at path (such as "/proc/meminfo", "MemTotal") into out (cap bytes), without
 * its newline; "unknown" when the file or the key is missing.
 */
void bench_proc_value(const char *path, const char *key, char *out, size_t cap);

/*
 * Prints the "machine:" line of a report to stdout: CPUs online, CPU model,
 * memory, kernel release and architecture, load averages. Each benchmark
 * prints its own "libraries:" line after it.
 */
void bench_print_machine(void);

/* Stores the low `bytes` bytes of v at p, most significant first (big-endian); bytes is 1 to 8. */
void bench_be(unsigned char *p, uint64_t v, int bytes);

/*
 * Makes the work directory of a benchmark into dir (cap bytes): `arg` (the
 * --dir option, which may name a directory that exists already) when not
 * NULL, else a new directory from the mkdtemp(3) template tmpl. Sets *made
 * when this call created the directory, so that the caller removes it at the
 * end. Returns 0, or the status main should exit with after printing why,
 * prefixed by prog: 2 when arg does not fit in cap, 1 when the directory
 * cannot be made.
 */
int bench_work_dir(const char *prog, const char *arg, const char *tmpl, char *dir, size_t cap,
                   bool *made) __attribute__((warn_unused_result));

/*
 * Opens a fresh LMDB environment in dir for a reference run, set up as jury's
 * store sets up its own (MDB_NOTLS, mode 0640, one named table) with a map of
 * mapsize bytes, and creates the table `table` in it. What a previous run
 * left in dir is removed first. On success the caller owns *env and must
 * close it with mdb_env_close; *dbi is the table. Returns 0, or -1 after
 * printing why ("<prog>: <dir>: <reason>" when the directory cannot be made,
 * "<prog>: <label>: <step>: <LMDB error>" when LMDB fails), with nothing left
 * open.
 */
int bench_lmdb_fresh(const char *prog, const char *label, const char *dir, size_t mapsize,
                     const char *table, MDB_env **env, MDB_dbi *dbi)
    __attribute__((warn_unused_result));

/*
 * Commits *txn when it is not NULL and sets it to NULL, as a failed commit
 * frees the transaction too. Returns 0, or -1 after printing
 * "<prog>: <label>: commit: <LMDB error>".
 */
int bench_lmdb_commit(const char *prog, const char *label, MDB_txn **txn)
    __attribute__((warn_unused_result));

/*
 * Parses option --name's value s as a decimal integer within lo..hi into
 * *out. Returns 0, or -1 after printing "PROG: --name: give LO to HI" to
 * stderr. s and name are borrowed.
 */
int bench_int_arg(const char *prog, const char *name, const char *s, long lo, long hi, long *out)
    __attribute__((warn_unused_result));

/* Prints the first 40 lines of the file at log to stderr, each behind "  | " (nothing if
 * unreadable). */
void bench_print_log(const char *log);

#endif
