/* jury_err.h: the one error type shared by every part of jury, and its messages. */
#ifndef JURY_ERR_H
#define JURY_ERR_H

/*
 * Every fallible function in jury returns a jury_err. Values are stable: they
 * travel on the wire in ERROR replies (protocol/SPEC.md), so new codes are only
 * ever appended. Library codes (LMDB, msgpack, errno) are translated where they
 * are met and the original is logged there.
 */
typedef enum {
    JURY_OK = 0,          /* success */
    JURY_ENOMEM = 1,      /* an allocation failed */
    JURY_EINVAL = 2,      /* an argument or an input document breaks a rule */
    JURY_ENOTFOUND = 3,   /* the named thing does not exist */
    JURY_EEXIST = 4,      /* the thing to create exists already */
    JURY_EIO = 5,         /* the operating system failed a read, write or open */
    JURY_EPROTO = 6,      /* a malformed or over-limit message or encoded value */
    JURY_EVERSION = 7,    /* an incompatible version (store schema or protocol) */
    JURY_EFULL = 8,       /* the store cannot grow any further */
    JURY_EBUSY = 9,       /* the resource is locked or in use by someone else */
    JURY_EPERM = 10,      /* not allowed: permissions, read-only store or access rights */
    JURY_ETOOBIG = 11,    /* a value exceeds a size limit */
    JURY_ECORRUPT = 12,   /* stored data does not have the shape jury wrote */
    JURY_EINTERNAL = 13,  /* a bug in jury; please report it */
    JURY_ENOTLEASED = 14, /* the record is not (or no longer) leased to this annotator */
    JURY_ENOSESSION = 15, /* no session on this connection: send hello first */
    JURY_ELIMIT = 16      /* over a rate or quota: too many messages a second, or leases held */
} jury_err;

/* Marks a function whose jury_err result must not be ignored (libsodium's habit). */
#if defined(__GNUC__) || defined(__clang__)
#define JURY_MUST_CHECK __attribute__((warn_unused_result))
#else
#define JURY_MUST_CHECK
#endif

/* Number of defined codes; valid codes are 0 .. JURY_ERR_COUNT - 1. */
#define JURY_ERR_COUNT 17

/*
 * Returns a short English message for err, e.g. "not found". Never NULL:
 * unknown values give "unknown error". The string is static; do not free it.
 */
const char *jury_strerror(jury_err err);

/*
 * Returns the stable symbolic name of err as used on the wire and in JSON
 * output, e.g. "ENOTFOUND". Never NULL: unknown values give "EUNKNOWN".
 */
const char *jury_errname(jury_err err);

#endif
