/* audit.h: the audit log: one logfmt line per change of who may do what, in STORE/audit.log. */
#ifndef JURY_AUDIT_H
#define JURY_AUDIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "jury_err.h"

/* The audit log's file name inside the store directory. */
#define JURY_AUDIT_FILE "audit.log"

/*
 * Appends one line to STORE_DIR/audit.log, creating it with mode 0600 (it
 * names annotators and keys), in logfmt:
 *
 *     ts=2026-11-28T02:10:00.123Z event=annotator.add annotator=ana role=annotator by=cli
 *
 * ts is the wall clock in UTC with milliseconds. After event come key,
 * value pairs of strings, ended by NULL: jury_audit_append(dir,
 * "annotator.grant", "annotator", "ana", "dataset", "a", "by", "cli", NULL).
 * A value that is empty or holds a blank, '=', '"', '\\' or a control
 * character is written in double quotes with '"', '\\', newline, return
 * and tab escaped as \" \\ \n \r \t and other control bytes as \u00XX; a
 * NULL value is written as "". Keys must be 1 or more bytes of letters,
 * digits, '_', '.' and '-'. The line goes out in one write(2) on a file
 * opened O_APPEND, so concurrent writers (the CLI and `jury serve`) never
 * interleave within a line; it is not fsynced. Never pass a secret.
 * Errors: JURY_EINVAL (a bad key, NULL event), JURY_ENOMEM, JURY_EPERM,
 * JURY_EIO (errno tells why, for the message).
 */
JURY_MUST_CHECK jury_err jury_audit_append(const char *store_dir, const char *event, ...)
    __attribute__((sentinel));

/* The same with the key, value pairs in a va_list. */
JURY_MUST_CHECK jury_err jury_audit_vappend(const char *store_dir, const char *event, va_list ap);

/*
 * Formats the line jury_audit_vappend would write for time now_ms
 * (milliseconds since the Unix epoch), with its newline, into a new
 * NUL-terminated buffer in *out (the caller frees it). Errors: JURY_EINVAL,
 * JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_audit_format(char **out, int64_t now_ms, const char *event,
                                           va_list ap);

#endif
