/*
 * resample.c - see resample.h.
 */
#include "resample.h"

#include "dsp_tables.h"

_Static_assert(RS_BEFORE == RS_TAPS / 2 - 1 && RS_AFTER == RS_TAPS / 2, "kernel span");

_Static_assert(RS_TAPS == 16, "dot() is written out for 16 taps");

/* Written out: the loop's compare and branch would cost as much as the
 * multiply-accumulates on the Cortex-M3. */
static inline int32_t dot(const int16_t *x, const int16_t *h)
{
#define T(k) ((int32_t)x[k] * h[k])
    return T(0) + T(1) + T(2) + T(3) + T(4) + T(5) + T(6) + T(7) + T(8) + T(9) + T(10) + T(11) + T(12) +
           T(13) + T(14) + T(15);
#undef T
}

int32_t rs_value(const int16_t *ring, uint32_t mask, uint64_t pos_q32)
{
    uint32_t m = (uint32_t)(pos_q32 >> 32);
    uint32_t frac = (uint32_t)pos_q32;
    /* the two tabulated positions around the instant, blended linearly */
    uint32_t p = frac >> (32 - RS_PHASE_BITS);
    uint32_t w = (frac >> (16 - RS_PHASE_BITS)) & 0xFFFFu; /* Q16 between p and p + 1 */
    uint32_t base = (m - RS_BEFORE) & mask;
    const int16_t *x = &ring[base];
    int16_t span[RS_TAPS];
    if (base + RS_TAPS > mask + 1u) {
        /* the kernel's samples wrap around the ring: gather them */
        for (uint32_t t = 0; t < RS_TAPS; t++) {
            span[t] = ring[(base + t) & mask];
        }
        x = span;
    }
    int32_t a = dot(x, rs_taps[p]);
    if (w == 0u) {
        return a;
    }
    int32_t b = dot(x, rs_taps[p + 1u]);
    /* a + (b - a) w, with the products in 64 bits (smull) */
    return (int32_t)(((int64_t)a * (int32_t)(65536u - w) + (int64_t)b * (int32_t)w + 32768) >> 16);
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
