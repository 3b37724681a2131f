/* jury_utf8.h: strict UTF-8 validation for every string that enters jury (JSON lines, wire frames). */
#ifndef JURY_UTF8_H
#define JURY_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Checks that the len bytes at s are well-formed UTF-8 as RFC 3629 defines
 * it: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF, no truncated sequence at the end. NUL bytes are allowed (they are
 * valid UTF-8); callers that forbid them check separately.
 *
 * Returns true when valid. When invalid and bad_offset is not NULL, stores
 * the byte offset of the first byte of the first bad sequence there.
 * s is borrowed and may be NULL when len is 0.
 */
bool jury_utf8_valid(const void *s, size_t len, size_t *bad_offset);

/*
 * Counts the Unicode code points in the len bytes at s, which must be valid
 * UTF-8 (check with jury_utf8_valid first). Span offsets in records count
 * code points, as Python's str indices do, so a frontend in any language
 * agrees with jury on where a span starts.
 */
size_t jury_utf8_codepoints(const void *s, size_t len);

#endif
