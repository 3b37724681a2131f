/* jury_log.h: leveled logging to stderr, shared by every part so that errors are logged where they
 * are translated. */
#ifndef JURY_LOG_H
#define JURY_LOG_H

/* Severity, most severe first. Messages above the threshold are dropped. */
typedef enum {
    JURY_LOG_ERROR = 0, /* an operation failed */
    JURY_LOG_WARN = 1,  /* something unexpected that jury handled */
    JURY_LOG_INFO = 2,  /* lifecycle events worth an operator's glance */
    JURY_LOG_DEBUG = 3  /* detail for developers */
} jury_log_level;

/* Sets the threshold (default JURY_LOG_WARN). Not thread-safe: call at start-up. */
void jury_log_set_level(jury_log_level level);

/* Returns the current threshold. */
jury_log_level jury_log_get_level(void);

/*
 * Writes one line "jury: <level>: <message>" to stderr when level is at or
 * below the threshold. fmt is printf-style; a trailing newline is added.
 */
void jury_log(jury_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
