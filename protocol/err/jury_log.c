/* jury_log.c: leveled logging to stderr. */
#include "jury_log.h"

#include <stdarg.h>
#include <stdio.h>

static jury_log_level s_level = JURY_LOG_WARN;

void jury_log_set_level(jury_log_level level)
{
    s_level = level;
}

jury_log_level jury_log_get_level(void)
{
    return s_level;
}

void jury_log(jury_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level > s_level)
        return;
    /* One fprintf per part keeps the line whole enough for a terminal; the
     * buffer makes it one write so concurrent processes do not interleave. */
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(line, sizeof line, "jury: %s: ", names[level]);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
