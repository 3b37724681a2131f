/* bot.c: `juror bot`: an automated annotator that answers leased records with an external command
 * (--exec) or the built-in simulator (--simulate). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "juror_cli.h"
#include "jury_utf8.h"
#include "simulate.h"

static const char s_usage[] =
    "usage: juror bot (--exec CMD | --simulate SPEC) --dataset NAME\n"
    "                 (--key FILE | --annotator NAME) [--connect ENDPOINT] [--batch N]\n"
    "                 [--max N] [--idle-exit SECONDS] [--exec-timeout-ms MS] [-v]\n"
    "\n"
    "An automated annotator: fetches batches of leased records, answers each one and\n"
    "submits the answer (status submitted, or discarded), until nothing is available\n"
    "for --idle-exit seconds or --max records are answered. Prints one summary line\n"
    "to stderr at the end: answered, discarded, released, errors.\n"
    "SIGINT or SIGTERM: finish the record in hand, give back the rest and stop; no\n"
    "call waits more than 2 s after it, so a bot whose coordinator is gone still\n"
    "stops within seconds (exit 1: what was not acknowledged is said). A second\n"
    "signal ends it at once.\n"
    "\n"
    "  --exec CMD            answer with CMD, run once with /bin/sh -c as a long-lived\n"
    "                        child (started again when it exits or times out)\n"
    "  --simulate SPEC       answer as a simulated annotator of known quality (below)\n"
    "  --batch N             records per fetch, 1..100 (default 10)\n"
    "  --max N               stop after N records answered (submitted or discarded)\n"
    "  --idle-exit SECONDS   stop when nothing was available for this long (default 3)\n"
    "  --exec-timeout-ms MS  longest wait for CMD's answer to one record (default 30000)\n"
    "\n"
    "--exec: each record goes to CMD's standard input as one line of compact JSON:\n"
    "  {\"record\": RECORD, \"settings\": SETTINGS}\n"
    "RECORD is the record as leased: {\"id\", \"fields\", \"suggestions\", \"metadata\",\n"
    "\"lease_expires\", \"draft\"}; SETTINGS is the dataset's settings as annotators see\n"
    "them (guidelines, fields, questions, visible metadata, distribution). CMD answers\n"
    "every line with one line on its standard output (flush it after each line):\n"
    "  {\"QUESTION\": VALUE, ...}   values by question name (protocol/SPEC.md 9.6): submitted\n"
    "  {\"discard\": true}          discard the record\n"
    "A boolean \"discard\" member is never sent as a value. When CMD gives no line within\n"
    "--exec-timeout-ms, prints a line that is not a JSON object, answers with values the\n"
    "coordinator refuses, or exits, the record is released with the reason on stderr\n"
    "(\"juror: bot: record ID released: REASON\") and the bot goes on; a record released\n"
    "so is not tried again by this run. CMD's standard error is the bot's.\n"
    "\n"
    "--simulate SPEC: comma-separated key=value items, all optional:\n"
    "  error=P        probability of a wrong answer per label, rating, multi-label and\n"
    "                 ranking question: a different label, rating, set or order (0)\n"
    "  discard=P      probability of discarding a record (0)\n"
    "  edit=P         probability of editing a suggested text answer: a few words\n"
    "                 changed or a sentence appended; otherwise it is kept (0)\n"
    "  think=MS or think=MIN..MAX   think time per record in ms, uniform (0)\n"
    "  gold=NAME      the true answer of the first label or rating question is the\n"
    "                 record's metadata property NAME (it must be visible to annotators)\n"
    "  seed=N         PRNG seed (default: derived from the annotator name)\n"
    "True answers come from gold, else the record's suggestion, else the first label,\n"
    "the middle rating, the first label (multi-label), the settings order (ranking), no\n"
    "spans, or a fixed text. A record's answer depends only on the seed and the record,\n"
    "so runs are reproducible. Example: --simulate error=0.1,discard=0.02,think=0..50\n"
    "\n"
    "exit codes: 0 done, 1 runtime failure (no coordinator), 2 bad usage\n";

/* The longest answer line read from CMD. */
#define S_LINE_MAX (16u << 20)
/* Pause between fetches while nothing is available, ms. */
#define S_IDLE_PAUSE_MS 250
/* While idle, how often records parked by s_run are given back, ms. */
#define S_UNPARK_IDLE_MS 5000
/* How long a CMD whose standard input was closed may take to exit, ms. */
#define S_EXIT_GRACE_MS 2000

/* Set by SIGINT and SIGTERM: finish the record in hand, return the rest, summarise. */
static volatile sig_atomic_t s_stop;
/* The juror the signal also hurries (juror_interrupt: no call waits more than 2 s after it), so
 * that the bot stops within seconds even when the coordinator is gone; NULL when there is none. */
static juror_t *volatile s_stop_juror;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
    juror_interrupt(s_stop_juror);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------------
 * A set of record ids (the ones this run gave up on).
 */

typedef struct {
    char **slots; /* open addressing, NULL = empty (owned strings) */
    size_t cap;   /* power of two, or 0 */
    size_t count; /* entries */
} s_idset;

static size_t s_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return (size_t)h;
}

/* The set's own copy of id, or NULL when id is not in the set. */
static const char *s_idset_get(const s_idset *set, const char *id)
{
    if (set->cap == 0)
        return NULL;
    for (size_t i = s_hash(id) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        if (!set->slots[i])
            return NULL;
        if (strcmp(set->slots[i], id) == 0)
            return set->slots[i];
    }
}

/* Adds id (copied). Returns false when out of memory. */
static bool s_idset_add(s_idset *set, const char *id)
{
    if (s_idset_get(set, id))
        return true;
    if ((set->count + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return false;
        for (size_t k = 0; k < set->cap; k++)
            if (set->slots[k]) {
                size_t i = s_hash(set->slots[k]) & (cap - 1);
                while (slots[i])
                    i = (i + 1) & (cap - 1);
                slots[i] = set->slots[k];
            }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t i = s_hash(id) & (set->cap - 1);
    while (set->slots[i])
        i = (i + 1) & (set->cap - 1);
    if (!(set->slots[i] = strdup(id)))
        return false;
    set->count++;
    return true;
}

static void s_idset_clear(s_idset *set)
{
    for (size_t k = 0; k < set->cap; k++)
        free(set->slots[k]);
    free(set->slots);
    memset(set, 0, sizeof *set);
}

/* ---------------------------------------------------------------------------------------------
 * The bot.
 */

/* The command line of `juror bot`. */
typedef struct {
    const char *exec;     /* --exec CMD, or NULL */
    const char *simulate; /* --simulate SPEC, or NULL */
    uint32_t batch;       /* records per fetch */
    uint64_t max;         /* records to answer, 0: no limit */
    int64_t idle_exit_ms; /* stop after this long without records */
    int exec_timeout_ms;  /* longest wait for one answer of CMD */
} s_opts;

/* The --exec child. */
typedef struct {
    pid_t pid;  /* its process id (and process group), 0 when not running */
    int in_fd;  /* our end of its standard input, -1 when closed */
    int out_fd; /* our end of its standard output, -1 when closed */
    char *buf;  /* bytes read from its standard output, not yet taken (owned) */
    size_t len; /* bytes in buf */
    size_t cap; /* room in buf */
    bool eof;   /* its standard output is closed */
    int max_fd; /* highest descriptor the child closes before exec */
} s_child;

/* What the bot counts. */
typedef struct {
    uint64_t answered;  /* submitted responses acknowledged */
    uint64_t discarded; /* discarded responses acknowledged */
    uint64_t released;  /* records given up on and released, with a logged reason */
    uint64_t errors;    /* responses refused or unacknowledged, failed releases */
    uint64_t kept[2];   /* kept by libjuror to resend, by status (submitted, discarded) */
    uint64_t wrong;     /* simulate: questions answered wrongly on purpose */
    uint64_t edited;    /* simulate: text answers edited */
} s_stats;

/* One run of `juror bot`. */
typedef struct {
    const juror_cli_t *cli; /* common options */
    s_opts o;               /* bot options */
    juror_t *j;             /* the session (owned) */
    char *settings;         /* compact settings JSON (owned) */
    juror_sim_t *sim;       /* --simulate: the simulator (owned) */
    uint64_t seed;          /* --simulate: the seed */
    s_child child;          /* --exec: the child */
    s_idset given_up;       /* records released with a reason: never tried again */
    const char **parked;    /* given-up records that came back, kept leased (borrowed) */
    size_t nparked;         /* entries in parked */
    size_t parked_cap;      /* room in parked */
    s_stats st;             /* counts for the summary */
} s_bot;

/* What to do with one record. */
typedef enum { S_SUBMIT, S_DISCARD, S_RELEASE } s_verdict;

/*
 * Waits until one of fds (n entries, may be 0) is ready or the monotonic
 * clock reaches deadline, calling juror_tick whenever the juror's descriptor
 * fires or a heartbeat is due, so the session stays alive however long CMD
 * or a think time takes. Returns the number of ready fds (revents set), 0
 * when the deadline passed, -1 when a stop signal arrived.
 */
static int s_poll(s_bot *b, struct pollfd *fds, size_t n, int64_t deadline)
{
    struct pollfd all[4];
    for (;;) {
        if (s_stop)
            return -1;
        int64_t now = s_now_ms();
        int64_t wait = deadline > now ? deadline - now : 0;
        int due = juror_timeout_ms(b->j);
        if (due == 0) {
            /* Due now, or messages already waiting that the edge-triggered fd will not report. */
            jury_err terr = juror_tick(b->j);
            (void)terr;
            due = juror_timeout_ms(b->j);
        }
        if (due >= 0 && due < wait)
            wait = due > 0 ? due : 1; /* still due right after a tick: never spin */
        size_t k = 0;
        for (; k < n; k++)
            all[k] = fds[k], all[k].revents = 0;
        int jfd = juror_fd(b->j);
        if (jfd >= 0)
            all[k++] = (struct pollfd){.fd = jfd, .events = POLLIN};
        int r = poll(all, (nfds_t)k, (int)(wait > INT_MAX ? INT_MAX : wait));
        if (r < 0 && errno != EINTR)
            return -1;
        /* ZMQ_FD is edge-triggered: tick on every wake-up, not only when it fired. */
        jury_err terr = juror_tick(b->j);
        (void)terr; /* EIO while reconnecting: the juror keeps trying by itself */
        int ready = 0;
        for (size_t i = 0; i < n; i++) {
            fds[i].revents = r > 0 ? all[i].revents : 0;
            ready += fds[i].revents != 0;
        }
        if (ready > 0)
            return ready;
        if (s_now_ms() >= deadline)
            return s_stop ? -1 : 0;
    }
}

/* Sleeps until deadline, keeping the session alive. False when a stop signal came first. */
static bool s_sleep_until(s_bot *b, int64_t deadline)
{
    return s_poll(b, NULL, 0, deadline) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * --exec: the child process.
 */

static void s_child_init(s_child *c)
{
    memset(c, 0, sizeof *c);
    c->in_fd = c->out_fd = -1;
    long open_max = sysconf(_SC_OPEN_MAX);
    c->max_fd = open_max > 0 && open_max < 65536 ? (int)open_max : 65536;
}

/* Starts CMD as `/bin/sh -c CMD` in its own process group, with pipes on its stdin and stdout. */
static bool s_child_start(s_child *c, const char *cmd, char *why, size_t cap)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe(in) != 0 || pipe(out) != 0) {
        snprintf(why, cap, "cannot start CMD: pipe: %s", strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "cannot start CMD: fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* The child: only async-signal-safe calls until exec. Its own process group lets a
         * timeout stop everything CMD started; SIGPIPE is ignored in the bot, and ignored
         * dispositions survive exec, so restore it. */
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
            _exit(127);
        for (int fd = 3; fd < c->max_fd; fd++)
            close(fd);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so that a kill of the group never races the child's own */
    close(in[0]);
    close(out[1]);
    c->pid = pid;
    c->in_fd = in[1];
    c->out_fd = out[0];
    c->len = 0;
    c->eof = false;
    fcntl(c->in_fd, F_SETFD, FD_CLOEXEC);
    fcntl(c->out_fd, F_SETFD, FD_CLOEXEC);
    fcntl(c->in_fd, F_SETFL, fcntl(c->in_fd, F_GETFL) | O_NONBLOCK);
    fcntl(c->out_fd, F_SETFL, fcntl(c->out_fd, F_GETFL) | O_NONBLOCK);
    return true;
fail:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    return false;
}

/* Describes a wait status: "exited with status 3", "was killed by signal 9 (Killed)". */
static void s_describe_status(int status, char *out, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, cap, "stopped (status 0x%x)", (unsigned)status);
}

/* Whether the child has ended, without reaping it: its pid and process group stay ours. */
static bool s_child_ended(const s_child *c)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == c->pid;
}

/*
 * Stops the child: closes its standard input, gives it grace_ms to exit,
 * then kills its process group (whatever CMD started dies with it) and
 * reaps it. Writes how it ended to how (when not NULL).
 */
static void s_child_stop(s_bot *b, int64_t grace_ms, char *how, size_t cap)
{
    s_child *c = &b->child;
    if (how && cap)
        how[0] = '\0';
    if (c->in_fd >= 0)
        close(c->in_fd);
    c->in_fd = -1;
    if (c->pid > 0) {
        int64_t deadline = s_now_ms() + grace_ms;
        bool ended = s_child_ended(c);
        /* Keep the session alive while CMD winds down; a stop signal cuts the grace short. */
        while (!ended && s_now_ms() < deadline && s_sleep_until(b, s_now_ms() + 10))
            ended = s_child_ended(c);
        /* Killed before it is reaped, so the process group id cannot have been reused. */
        kill(-c->pid, SIGKILL);
        int status = 0;
        pid_t r;
        do
            r = waitpid(c->pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (how && cap) {
            if (!ended)
                snprintf(how, cap, "did not exit and was killed");
            else if (r == c->pid)
                s_describe_status(status, how, cap);
        }
        c->pid = 0;
    }
    if (c->out_fd >= 0)
        close(c->out_fd);
    c->out_fd = -1;
    c->len = 0;
    c->eof = false;
}

/* Reads what CMD's standard output holds now into the buffer. False when out of memory. */
static bool s_child_read(s_child *c)
{
    for (;;) {
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 131072;
            char *buf = realloc(c->buf, cap);
            if (!buf)
                return false;
            c->buf = buf;
            c->cap = cap;
        }
        ssize_t r = read(c->out_fd, c->buf + c->len, c->cap - c->len - 1);
        if (r > 0) {
            c->len += (size_t)r;
            if (c->len > S_LINE_MAX)
                return true;
            continue;
        }
        if (r == 0)
            c->eof = true;
        else if (errno == EINTR)
            continue;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            c->eof = true;
        return true;
    }
}

/* A printable excerpt for a log line: up to 60 characters, others as '?', no final newline. */
static void s_excerpt(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0, limit = cap > 64 ? 60 : cap - 4;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    for (size_t i = 0; i < n && k < limit; i++)
        out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > limit)
        out[k++] = '.', out[k++] = '.', out[k++] = '.';
    out[k] = '\0';
}

/* Turns CMD's answer line (NUL-terminated, len bytes) into a verdict. */
static s_verdict s_exec_verdict(char *line, size_t len, char **values, char *why, size_t cap)
{
    char ex[80];
    s_excerpt(line, len, ex, sizeof ex);
    if (memchr(line, '\0', len) || !jury_utf8_valid(line, len, NULL)) {
        snprintf(why, cap, "CMD's answer is not valid UTF-8 text: \"%s\"", ex);
        return S_RELEASE;
    }
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithOpts(line, &end, true);
    if (!v || !cJSON_IsObject(v)) {
        snprintf(why, cap, "CMD's answer is not a JSON object: \"%s\"", ex);
        cJSON_Delete(v);
        return S_RELEASE;
    }
    cJSON *discard = cJSON_GetObjectItemCaseSensitive(v, "discard");
    if (cJSON_IsTrue(discard)) {
        cJSON_Delete(v);
        return S_DISCARD;
    }
    /* A boolean discard is an instruction to the bot, never a question's value. */
    if (cJSON_IsBool(discard))
        cJSON_DeleteItemFromObjectCaseSensitive(v, "discard");
    *values = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    if (!*values) {
        snprintf(why, cap, "out of memory");
        return S_RELEASE;
    }
    return S_SUBMIT;
}

/*
 * Ends an exchange that failed with CMD out of step or gone: stops CMD
 * (started again for the next record) and writes the reason: what went
 * wrong, then how CMD ended when that says more.
 */
static s_verdict s_exec_gone(s_bot *b, const char *what, bool say_how, char *why, size_t cap)
{
    char how[160];
    s_child_stop(b, S_EXIT_GRACE_MS, how, sizeof how);
    if (say_how && how[0])
        snprintf(why, cap, "%s: CMD %s (it is started again for the next record)", what, how);
    else
        snprintf(why, cap, "%s (CMD was stopped and is started again for the next record)", what);
    return S_RELEASE;
}

/*
 * Gives one record to CMD and reads its answer. Returns S_SUBMIT with
 * *values (caller frees), S_DISCARD, or S_RELEASE with the reason in why.
 */
static s_verdict s_exec_answer(s_bot *b, const char *record, char **values, char *why, size_t cap)
{
    s_child *c = &b->child;
    *values = NULL;
    if (c->pid > 0 && s_child_ended(c)) {
        char how[160];
        s_child_stop(b, 0, how, sizeof how);
        if (b->cli->verbose)
            juror_cli_error("bot: CMD %s between records; starting it again", how);
    }
    if (c->pid == 0 && !s_child_start(c, b->o.exec, why, cap))
        return S_RELEASE;
    /* Output CMD printed unasked would be taken for this record's answer: drop it. */
    if (!s_child_read(c)) {
        snprintf(why, cap, "out of memory");
        return S_RELEASE;
    }
    if (c->len > 0) {
        char ex[80];
        s_excerpt(c->buf, c->len, ex, sizeof ex);
        juror_cli_error("bot: dropping %zu bytes CMD printed unasked: \"%s\"", c->len, ex);
        c->len = 0;
    }
    if (c->eof)
        s_child_stop(b, S_EXIT_GRACE_MS, NULL, 0);
    if (c->pid == 0 && !s_child_start(c, b->o.exec, why, cap))
        return S_RELEASE;

    size_t rlen = strlen(record), slen = strlen(b->settings);
    size_t total = rlen + slen + 26;
    char *line = malloc(total + 1);
    if (!line) {
        snprintf(why, cap, "out of memory");
        return S_RELEASE;
    }
    total =
        (size_t)snprintf(line, total + 1, "{\"record\":%s,\"settings\":%s}\n", record, b->settings);
    size_t off = 0;
    int64_t deadline = s_now_ms() + b->o.exec_timeout_ms;
    s_verdict verdict = S_RELEASE;
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        /* An answer counts once the whole record is written, so that CMD's input stays in step. */
        if (nl && off == total) {
            size_t n = (size_t)(nl - c->buf);
            *nl = '\0';
            if (n > 0 && c->buf[n - 1] == '\r')
                c->buf[--n] = '\0';
            verdict = s_exec_verdict(c->buf, n, values, why, cap);
            size_t used = (size_t)(nl - c->buf) + 1;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            break;
        }
        if (c->len > S_LINE_MAX) {
            verdict = s_exec_gone(b, "CMD printed a line longer than 16 MiB", false, why, cap);
            break;
        }
        if (c->eof) {
            verdict = s_exec_gone(b, "no answer", true, why, cap);
            break;
        }
        struct pollfd fds[2] = {{.fd = c->out_fd, .events = POLLIN}, {.fd = -1}};
        size_t n = 1;
        if (off < total)
            fds[n++] = (struct pollfd){.fd = c->in_fd, .events = POLLOUT};
        int r = s_poll(b, fds, n, deadline);
        if (r < 0) {
            snprintf(why, cap, "the bot was stopped");
            break;
        }
        if (r == 0) {
            char what[96];
            snprintf(what, sizeof what, "no answer within %d ms", b->o.exec_timeout_ms);
            if (c->pid > 0)
                kill(-c->pid, SIGKILL);
            verdict = s_exec_gone(b, what, false, why, cap);
            break;
        }
        if (n > 1 && fds[1].revents) {
            ssize_t w = write(c->in_fd, line + off, total - off);
            if (w > 0) {
                off += (size_t)w;
            } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                /* EPIPE: CMD closed its input, probably by exiting; its output says the rest. */
                close(c->in_fd);
                c->in_fd = -1;
                off = total;
                verdict = s_exec_gone(b, "CMD stopped reading its input", true, why, cap);
                break;
            }
        }
        if (fds[0].revents && !s_child_read(c)) {
            snprintf(why, cap, "out of memory");
            break;
        }
    }
    free(line);
    return verdict;
}

/* ---------------------------------------------------------------------------------------------
 * The loop.
 */

/* Gives a record back. With a reason, logs it and never tries the record again in this run. */
static void s_release(s_bot *b, const char *id, const char *why)
{
    const char *ids[1] = {id};
    jury_err err = juror_release(b->j, ids, 1);
    if (why) {
        juror_cli_error("bot: record %s released: %s", id, why);
        b->st.released++;
        if (!s_idset_add(&b->given_up, id))
            juror_cli_error("bot: out of memory");
    } else if (b->cli->verbose > 1) {
        juror_cli_error("bot: record %s returned", id);
    }
    if (err != JURY_OK && err != JURY_ENOTLEASED) {
        juror_cli_error("bot: record %s: release failed: %s", id,
                        *juror_error(b->j) ? juror_error(b->j) : jury_strerror(err));
        b->st.errors++;
    }
}

/* Sends a final response; on refused values gives the record back with the reason. */
static void s_respond(s_bot *b, const char *id, s_verdict v, const char *values)
{
    juror_status status = v == S_DISCARD ? JUROR_DISCARDED : JUROR_SUBMITTED;
    jury_err err = juror_submit(b->j, id, status, v == S_DISCARD ? NULL : values, NULL);
    if (err == JURY_OK) {
        if (v == S_DISCARD)
            b->st.discarded++;
        else
            b->st.answered++;
        if (b->cli->verbose)
            juror_cli_error("bot: record %s %s", id, juror_status_name(status));
        return;
    }
    const char *msg = *juror_error(b->j) ? juror_error(b->j) : jury_strerror(err);
    char why[1200];
    switch (err) {
    case JURY_EINVAL:
        snprintf(why, sizeof why, "the coordinator refused the values: %s", msg);
        s_release(b, id, why);
        return;
    case JURY_EPROTO:
    case JURY_ETOOBIG:
        /* Refused by libjuror before sending: the values break a wire rule. */
        snprintf(why, sizeof why, "the values cannot be sent: %s", msg);
        s_release(b, id, why);
        return;
    case JURY_EIO:
    case JURY_EINTERNAL:
    case JURY_EFULL:
    case JURY_EBUSY:
    case JURY_ENOMEM:
        /* Passing faults: libjuror keeps the response and sends it again; s_run settles it. */
        juror_cli_error("bot: record %s: not acknowledged yet (%s: %s); it is sent again", id,
                        jury_errname(err), msg);
        b->st.kept[v == S_DISCARD]++;
        return;
    default:
        juror_cli_error("bot: record %s: %s refused: %s: %s", id, juror_status_name(status),
                        jury_errname(err), msg);
        b->st.errors++;
        return;
    }
}

/* Decides and sends the answer to one record (JSON object text, its id). */
static void s_handle(s_bot *b, const char *id, const char *record)
{
    char why[1024] = "";
    char *values = NULL;
    s_verdict v;
    if (b->sim) {
        juror_sim_rng_t rng;
        juror_sim_answer_t a;
        juror_sim_rng_record(&rng, b->seed, id);
        if (juror_sim_answer(b->sim, record, &rng, &a, why, sizeof why) != JURY_OK) {
            s_release(b, id, why);
            return;
        }
        if (a.think_ms > 0 && !s_sleep_until(b, s_now_ms() + a.think_ms)) {
            juror_sim_answer_clear(&a);
            s_release(b, id, NULL);
            return;
        }
        b->st.wrong += a.wrong;
        b->st.edited += a.edited;
        v = a.discard ? S_DISCARD : S_SUBMIT;
        values = a.values_json;
        a.values_json = NULL;
        juror_sim_answer_clear(&a);
    } else {
        v = s_exec_answer(b, record, &values, why, sizeof why);
        if (v == S_RELEASE && s_stop) {
            /* Interrupted, not failed: give it back quietly. */
            free(values);
            s_release(b, id, NULL);
            return;
        }
    }
    if (v == S_RELEASE)
        s_release(b, id, why);
    else
        s_respond(b, id, v, values);
    free(values);
}

/* Responses sent so far that count toward --max: acknowledged or kept for resending. */
static uint64_t s_done(const s_bot *b)
{
    return b->st.answered + b->st.discarded + b->st.kept[0] + b->st.kept[1];
}

/* Gives every parked record back (see s_run). */
static void s_unpark(s_bot *b)
{
    for (size_t i = 0; i < b->nparked;) {
        size_t n = b->nparked - i < 100 ? b->nparked - i : 100;
        jury_err err = juror_release(b->j, b->parked + i, n);
        if (err != JURY_OK && err != JURY_ENOTLEASED && err != JURY_ENOTFOUND) {
            juror_cli_error("bot: giving back %zu records failed: %s", n,
                            *juror_error(b->j) ? juror_error(b->j) : jury_strerror(err));
            b->st.errors++;
        }
        i += n;
    }
    b->nparked = 0;
}

/* Keeps a given-up record that came back leased for now. False when out of memory. */
static bool s_park(s_bot *b, const char *id)
{
    if (b->nparked == b->parked_cap) {
        size_t cap = b->parked_cap ? b->parked_cap * 2 : 64;
        const char **p = realloc(b->parked, cap * sizeof *p);
        if (!p)
            return false;
        b->parked = p;
        b->parked_cap = cap;
    }
    b->parked[b->nparked++] = id;
    return true;
}

/*
 * Fetches and answers until idle, --max or a stop signal. Returns an exit code.
 *
 * A record released with a reason goes back to the head of the coordinator's
 * queue, so it comes back to this bot first. Released again at once, enough of
 * them would fill every fetch and hide the records behind them; so one that
 * comes back is parked: kept leased (out of this bot's next fetches) while
 * fetches come back full, which means more may be behind, and given back as
 * soon as a fetch comes back short (nothing more for this bot now), then every
 * S_UNPARK_IDLE_MS while idle, and at the end.
 */
static int s_run(s_bot *b)
{
    int64_t idle_since = -1, unparked = 0;
    int rc = JUROR_EXIT_OK;
    while (!s_stop) {
        uint64_t done = s_done(b);
        if (b->o.max && done >= b->o.max)
            break;
        uint64_t want = b->o.batch;
        if (b->o.max && b->o.max - done < want)
            want = b->o.max - done;
        char *json = NULL;
        size_t count = 0;
        jury_err err = juror_fetch(b->j, (uint32_t)want, &json, &count);
        if (err != JURY_OK) {
            juror_cli_error("bot: fetch failed: %s",
                            *juror_error(b->j) ? juror_error(b->j) : jury_strerror(err));
            rc = JUROR_EXIT_FAILURE;
            break;
        }
        cJSON *arr = count ? cJSON_Parse(json) : NULL;
        free(json);
        if (count && !cJSON_IsArray(arr)) {
            juror_cli_error("bot: fetch returned something other than a JSON array");
            cJSON_Delete(arr);
            rc = JUROR_EXIT_FAILURE;
            break;
        }
        size_t fresh = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, arr)
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
            if (!id)
                continue;
            const char *gone = s_idset_get(&b->given_up, id);
            if (gone) {
                if (!s_park(b, gone))
                    s_release(b, id, NULL);
                continue;
            }
            done = s_done(b);
            if (s_stop || (b->o.max && done >= b->o.max)) {
                s_release(b, id, NULL);
                continue;
            }
            fresh++;
            char *text = cJSON_PrintUnformatted(r);
            if (!text) {
                s_release(b, id, "out of memory");
                continue;
            }
            s_handle(b, id, text);
            free(text);
        }
        cJSON_Delete(arr);
        bool dry = count < want;
        int64_t now = s_now_ms();
        /* Parked records go back when the fetches run dry, and while idle every so often
         * (walking past them again costs a fetch per batch of them). */
        if (dry && b->nparked > 0 && (idle_since < 0 || now - unparked >= S_UNPARK_IDLE_MS)) {
            s_unpark(b);
            unparked = now;
        }
        if (fresh > 0) {
            idle_since = -1;
            continue;
        }
        if (!dry)
            continue; /* a full batch of parked records: fetch further at once */
        if (idle_since < 0)
            idle_since = now;
        if (now - idle_since >= b->o.idle_exit_ms)
            break;
        int64_t until = idle_since + b->o.idle_exit_ms;
        if (until > now + S_IDLE_PAUSE_MS)
            until = now + S_IDLE_PAUSE_MS;
        s_sleep_until(b, until);
    }
    s_unpark(b);
    /* Settle the responses libjuror kept: all acknowledged, or not all (then which is unknown). */
    uint64_t kept = b->st.kept[0] + b->st.kept[1];
    jury_err err = kept || juror_pending(b->j) ? juror_flush(b->j) : JURY_OK;
    if (err == JURY_OK) {
        b->st.answered += b->st.kept[0];
        b->st.discarded += b->st.kept[1];
    } else {
        juror_cli_error("bot: of %llu responses sent again, not all were acknowledged: %s",
                        (unsigned long long)kept,
                        *juror_error(b->j) ? juror_error(b->j) : jury_strerror(err));
        b->st.errors += kept;
        if (err == JURY_EIO)
            rc = JUROR_EXIT_FAILURE;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Options.
 */

static bool s_uint_arg(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!*v || *v == '-' || *v == '+')
        return false;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

/* Parses bot's options into o. Returns -1 to go on, else an exit code. */
static int s_parse(int argc, char **argv, s_opts *o)
{
    *o = (s_opts){.batch = 10, .idle_exit_ms = 3000, .exec_timeout_ms = 30000};
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        uint64_t n;
        if ((v = juror_cli_take(argc, argv, &i, "--exec", &missing))) {
            if (!*v) {
                juror_cli_error("bot: --exec needs a command");
                return JUROR_EXIT_USAGE;
            }
            o->exec = v;
        } else if ((v = juror_cli_take(argc, argv, &i, "--simulate", &missing))) {
            o->simulate = v;
        } else if ((v = juror_cli_take(argc, argv, &i, "--batch", &missing))) {
            if (!s_uint_arg(v, 1, 100, &n)) {
                juror_cli_error("bot: --batch: '%s' is not a number of records within 1..100", v);
                return JUROR_EXIT_USAGE;
            }
            o->batch = (uint32_t)n;
        } else if ((v = juror_cli_take(argc, argv, &i, "--max", &missing))) {
            if (!s_uint_arg(v, 1, UINT64_MAX, &n)) {
                juror_cli_error("bot: --max: '%s' is not a positive number of records", v);
                return JUROR_EXIT_USAGE;
            }
            o->max = n;
        } else if ((v = juror_cli_take(argc, argv, &i, "--idle-exit", &missing))) {
            char *end;
            double s = strtod(v, &end);
            if (!*v || *end || !(s >= 0 && s <= 86400)) {
                juror_cli_error("bot: --idle-exit: '%s' is not a number of seconds within "
                                "0..86400",
                                v);
                return JUROR_EXIT_USAGE;
            }
            o->idle_exit_ms = (int64_t)(s * 1000 + 0.5);
        } else if ((v = juror_cli_take(argc, argv, &i, "--exec-timeout-ms", &missing))) {
            if (!s_uint_arg(v, 1, 86400000, &n)) {
                juror_cli_error("bot: --exec-timeout-ms: '%s' is not a number of milliseconds "
                                "within 1..86400000",
                                v);
                return JUROR_EXIT_USAGE;
            }
            o->exec_timeout_ms = (int)n;
        } else if (missing) {
            juror_cli_error("bot: %s needs a value", argv[i]);
            return JUROR_EXIT_USAGE;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(s_usage, stdout);
            return JUROR_EXIT_OK;
        } else {
            juror_cli_error("bot: unknown option '%s' (see juror bot --help)", argv[i]);
            return JUROR_EXIT_USAGE;
        }
    }
    if (!o->exec == !o->simulate) {
        juror_cli_error("bot: give exactly one of --exec CMD and --simulate SPEC (see juror bot "
                        "--help)");
        return JUROR_EXIT_USAGE;
    }
    return -1;
}

/* Compacts the session's settings (CMD reads one line per record, so no newline may be inside). */
static char *s_compact_settings(juror_t *j)
{
    const char *text = juror_settings(j);
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    char *out = cJSON_IsObject(v) ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    return out;
}

/* Prepares --simulate: the simulator and its seed, with warnings about a gold property it cannot
 * see. */
static int s_setup_simulate(s_bot *b, const juror_sim_spec_t *spec)
{
    char why[512];
    jury_err err = juror_sim_new(&b->sim, juror_settings(b->j), spec, why, sizeof why);
    if (err != JURY_OK) {
        juror_cli_error("bot: --simulate: %s", why);
        return JUROR_EXIT_FAILURE;
    }
    b->seed = spec->has_seed ? spec->seed : juror_sim_seed_of_name(juror_annotator(b->j));
    if (spec->gold[0] && !juror_sim_gold_question(b->sim))
        juror_cli_error("bot: --simulate gold=%s: the dataset has no label_selection or rating "
                        "question, so gold is not used",
                        spec->gold);
    else if (spec->gold[0] && !juror_sim_gold_visible(b->sim))
        juror_cli_error("bot: --simulate gold=%s: the dataset's settings do not show metadata "
                        "property \"%s\" to annotators (visible_for_annotators), so the bot "
                        "cannot see it and answers from suggestions instead",
                        spec->gold, spec->gold);
    if (b->cli->verbose)
        juror_cli_error("bot: simulating with seed %llu%s%s", (unsigned long long)b->seed,
                        juror_sim_gold_question(b->sim) ? ", gold answers question " : "",
                        juror_sim_gold_question(b->sim) ? juror_sim_gold_question(b->sim) : "");
    return -1;
}

int juror_cmd_bot(const juror_cli_t *cli, int argc, char **argv)
{
    s_bot b = {.cli = cli};
    juror_sim_spec_t spec;
    char why[512];
    int rc = s_parse(argc, argv, &b.o);
    if (rc >= 0)
        return rc;
    /* A bad SPEC is a usage error, found before connecting. */
    if (b.o.simulate && juror_sim_spec_parse(&spec, b.o.simulate, why, sizeof why) != JURY_OK) {
        juror_cli_error("bot: --simulate: %s", why);
        return JUROR_EXIT_USAGE;
    }
    s_child_init(&b.child);
    s_stop = 0;
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a signal wakes poll. SA_RESETHAND: a second Ctrl-C stops at once. */
    sa.sa_flags = SA_RESETHAND;
    struct sigaction old_int, old_term, old_pipe;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    /* A CMD that dies makes writes to it fail with EPIPE instead of killing the bot. */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);

    int64_t t0 = s_now_ms();
    if (!(b.j = juror_cli_connect(cli))) {
        rc = JUROR_EXIT_FAILURE;
        goto done;
    }
    s_stop_juror = b.j;
    if (s_stop) /* a signal before there was a juror to hurry */
        juror_interrupt(b.j);
    if (!(b.settings = s_compact_settings(b.j))) {
        juror_cli_error("bot: the session's settings are not a JSON object");
        rc = JUROR_EXIT_FAILURE;
        goto done;
    }
    if (b.o.simulate && (rc = s_setup_simulate(&b, &spec)) >= 0)
        goto done;
    rc = s_run(&b);
    if (b.child.pid > 0) {
        char how[160];
        s_child_stop(&b, S_EXIT_GRACE_MS, how, sizeof how);
        if (cli->verbose)
            juror_cli_error("bot: CMD %s", how);
    }
    juror_cli_error("bot: answered %llu, discarded %llu, released %llu, errors %llu "
                    "(%s, %.1f s%s)",
                    (unsigned long long)b.st.answered, (unsigned long long)b.st.discarded,
                    (unsigned long long)b.st.released, (unsigned long long)b.st.errors,
                    b.sim ? "simulated" : "exec", (double)(s_now_ms() - t0) / 1000.0,
                    s_stop ? ", stopped by a signal" : "");
    if (b.sim)
        juror_cli_error("bot: simulated: %llu wrong answers, %llu edited texts, seed %llu",
                        (unsigned long long)b.st.wrong, (unsigned long long)b.st.edited,
                        (unsigned long long)b.seed);
done:
    if (b.child.pid > 0 || b.child.in_fd >= 0 || b.child.out_fd >= 0)
        s_child_stop(&b, 0, NULL, 0);
    free(b.child.buf);
    s_stop_juror = NULL;
    juror_destroy(&b.j);
    juror_sim_destroy(&b.sim);
    free(b.settings);
    free(b.parked);
    s_idset_clear(&b.given_up);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    return rc;
}
