/* live_agreement.c: encoding of the live per-question agreement state. */
#include "live_agreement.h"

#include <stdlib.h>
#include <string.h>

#define HEADER 24

size_t jury_live_size(uint32_t k)
{
    return HEADER + sizeof(double) * ((size_t)k + (size_t)k * k);
}

void jury_live_encode(void *out, uint32_t k, jury_alpha_level_t level, uint64_t records,
                      const double *numeric, const double *matrix)
{
    unsigned char *p = out;
    uint32_t head[4] = {1, k, (uint32_t)level, 0};
    memcpy(p, head, sizeof head);
    memcpy(p + 16, &records, 8);
    memcpy(p + HEADER, numeric, sizeof(double) * k);
    memcpy(p + HEADER + sizeof(double) * k, matrix, sizeof(double) * k * k);
}

jury_err jury_live_decode(const void *p, size_t len, jury_live_state_t *out)
{
    uint32_t head[4];
    memset(out, 0, sizeof *out);
    if (len < HEADER)
        return JURY_ECORRUPT;
    memcpy(head, p, sizeof head);
    if (head[0] != 1 || head[1] == 0 || head[1] > 4096 || head[2] > JURY_ALPHA_RATIO ||
        len != jury_live_size(head[1]))
        return JURY_ECORRUPT;
    /* LMDB hands out values at any even address: copy the doubles out. */
    const unsigned char *b = p;
    size_t n = (size_t)head[1] + (size_t)head[1] * head[1];
    double *mem = malloc(n * sizeof *mem);
    if (!mem)
        return JURY_ENOMEM;
    memcpy(mem, b + HEADER, n * sizeof *mem);
    out->k = head[1];
    out->level = (jury_alpha_level_t)head[2];
    memcpy(&out->records, b + 16, 8);
    out->numeric = mem;
    out->matrix = mem + head[1];
    return JURY_OK;
}

void jury_live_free(jury_live_state_t *s)
{
    free(s->numeric);
    s->numeric = s->matrix = NULL;
}

jury_measure_t jury_live_alpha(const jury_live_state_t *s)
{
    return jury_alpha_from_coincidence(s->matrix, s->k, s->level, s->numeric);
}
