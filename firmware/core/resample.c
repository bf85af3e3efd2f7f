/*
 * resample.c - see resample.h.
 */
#include "resample.h"

#include "dsp_tables.h"

_Static_assert(RS_BEFORE == RS_TAPS / 2 - 1 && RS_AFTER == RS_TAPS / 2, "kernel span");

static inline int32_t dot(const int16_t *ring, uint32_t mask, uint32_t base, const int16_t *h)
{
    int32_t acc = 0;
    for (uint32_t t = 0; t < RS_TAPS; t++) {
        acc += (int32_t)ring[(base + t) & mask] * h[t];
    }
    return acc;
}

int32_t rs_value(const int16_t *ring, uint32_t mask, uint64_t pos_q32)
{
    uint32_t m = (uint32_t)(pos_q32 >> 32);
    uint32_t frac = (uint32_t)pos_q32;
    /* the two tabulated positions around the instant, blended linearly */
    uint32_t p = frac >> (32 - RS_PHASE_BITS);
    uint32_t w = (frac >> (16 - RS_PHASE_BITS)) & 0xFFFFu; /* Q16 between p and p + 1 */
    uint32_t base = m - RS_BEFORE;
    int32_t a = dot(ring, mask, base, rs_taps[p]);
    if (w == 0u) {
        return a;
    }
    int32_t b = dot(ring, mask, base, rs_taps[p + 1u]);
    return (int32_t)(((int64_t)a * (int64_t)(65536u - w) + (int64_t)b * w + 32768) >> 16);
}

void rs_window(const int16_t *ring, uint32_t mask, uint64_t start_q32, uint64_t step_q32,
               int32_t dc_q14, int32_t gain_q16, int32_t limit, int16_t *out, uint32_t n)
{
    uint64_t pos = start_q32;
    for (uint32_t k = 0; k < n; k++, pos += step_q32) {
        int64_t v = ((int64_t)(rs_value(ring, mask, pos) - dc_q14) * gain_q16 + 32768) >> 16;
        out[k] = (int16_t)(v > limit ? limit : v < -limit ? -limit : v);
    }
}
