/* jury_utf8.c: strict UTF-8 validation with an ASCII fast path. */
#include "jury_utf8.h"

#include <stdint.h>
#include <string.h>

bool jury_utf8_valid(const void *s, size_t len, size_t *bad_offset)
{
    const unsigned char *p = s;
    size_t i = 0;

    while (i < len) {
        /* Most record text is ASCII: skip 8 bytes at a time while no byte has
         * its high bit set. memcpy keeps the load free of alignment UB. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2, lo = 0xA0; /* no overlong 3-byte forms */
        } else if (c >= 0xE1 && c <= 0xEC) {
            need = 2;
        } else if (c == 0xED) {
            need = 2, hi = 0x9F; /* no UTF-16 surrogates */
        } else if (c >= 0xEE && c <= 0xEF) {
            need = 2;
        } else if (c == 0xF0) {
            need = 3, lo = 0x90; /* no overlong 4-byte forms */
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3, hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            goto bad; /* 0x80..0xC1 and 0xF5..0xFF never start a sequence */
        }
        if (len - i <= need)
            goto bad;
        if (p[i + 1] < lo || p[i + 1] > hi)
            goto bad;
        for (size_t k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                goto bad;
        i += need + 1;
    }
    return true;
bad:
    if (bad_offset)
        *bad_offset = i;
    return false;
}

size_t jury_utf8_codepoints(const void *s, size_t len)
{
    const unsigned char *p = s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (p[i] & 0xC0) != 0x80; /* count every byte that is not a continuation */
    return n;
}
