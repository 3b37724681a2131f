/* jury_err.c: messages and wire names for jury_err. */
#include "jury_err.h"

static const struct {
    const char *name;
    const char *message;
} s_errors[JURY_ERR_COUNT] = {
    [JURY_OK] = {"OK", "success"},
    [JURY_ENOMEM] = {"ENOMEM", "out of memory"},
    [JURY_EINVAL] = {"EINVAL", "invalid input"},
    [JURY_ENOTFOUND] = {"ENOTFOUND", "not found"},
    [JURY_EEXIST] = {"EEXIST", "already exists"},
    [JURY_EIO] = {"EIO", "input/output error"},
    [JURY_EPROTO] = {"EPROTO", "malformed or over-limit message"},
    [JURY_EVERSION] = {"EVERSION", "incompatible version"},
    [JURY_EFULL] = {"EFULL", "store is full"},
    [JURY_EBUSY] = {"EBUSY", "resource busy"},
    [JURY_EPERM] = {"EPERM", "permission denied"},
    [JURY_ETOOBIG] = {"ETOOBIG", "value too large"},
    [JURY_ECORRUPT] = {"ECORRUPT", "stored data is corrupt"},
    [JURY_EINTERNAL] = {"EINTERNAL", "internal error"},
    [JURY_ENOTLEASED] = {"ENOTLEASED", "record not leased to this annotator"},
    [JURY_ENOSESSION] = {"ENOSESSION", "no session: send hello first"},
    [JURY_ELIMIT] = {"ELIMIT", "over a rate or quota limit"},
};

const char *jury_strerror(jury_err err)
{
    if ((unsigned)err >= JURY_ERR_COUNT)
        return "unknown error";
    return s_errors[err].message;
}

const char *jury_errname(jury_err err)
{
    if ((unsigned)err >= JURY_ERR_COUNT)
        return "EUNKNOWN";
    return s_errors[err].name;
}
