/*
 * fft.c - see fft.h.
 */
#include "fft.h"

#include "dsp_tables.h"

#define CN (FFT_N / 2u) /* complex points */
#define CN_LOG2 10u

_Static_assert(DSP_SIN_N == FFT_N, "the sine table is one FFT circle");
_Static_assert((1u << CN_LOG2) == CN, "CN_LOG2");

void fft_twiddle(uint32_t k, int32_t *c, int32_t *s)
{
    /* half circle from the quarter table: k in [0, FFT_N/2] */
    const uint32_t q = DSP_SIN_QUARTER;
    if (k <= q) {
        *s = dsp_sin_q15[k];
        *c = dsp_sin_q15[q - k];
    } else {
        *s = dsp_sin_q15[2u * q - k];
        *c = -(int32_t)dsp_sin_q15[k - q];
    }
}

/* Round (a * 2^15 + t) / 2^16: one butterfly output, halved. */
static inline int16_t half_round(int32_t a, int32_t t)
{
    return (int16_t)((a * 32768 + t + 32768) >> 16);
}

static void bit_reverse(int16_t *x)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < CN - 1u; i++) {
        if (i < j) {
            int16_t tr = x[2u * i], ti = x[2u * i + 1u];
            x[2u * i] = x[2u * j];
            x[2u * i + 1u] = x[2u * j + 1u];
            x[2u * j] = tr;
            x[2u * j + 1u] = ti;
        }
        uint32_t bit = CN >> 1;
        while (j & bit) {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
    }
}

/* Halve with rounding. */
static inline int16_t half(int32_t v)
{
    return (int16_t)((v + 1) >> 1);
}

/* In-place complex FFT of CN points, each stage halved: Z / CN. */
static void cfft(int16_t *x)
{
    bit_reverse(x);
    /* the first two stages need no multiplication: twiddles 1 and -j */
    for (uint32_t i = 0; i < CN; i += 4u) {
        int16_t *p = &x[2u * i];
        int32_t ar = p[0], ai = p[1], br = p[2], bi = p[3];
        int32_t cr = p[4], ci = p[5], dr = p[6], di = p[7];
        /* stage 1: (a, b) and (c, d), twiddle 1 */
        int32_t s0r = half(ar + br), s0i = half(ai + bi), s1r = half(ar - br), s1i = half(ai - bi);
        int32_t s2r = half(cr + dr), s2i = half(ci + di), s3r = half(cr - dr), s3i = half(ci - di);
        /* stage 2: (s0, s2) with 1, (s1, s3) with -j: -j (r + j i) = i - j r */
        p[0] = half(s0r + s2r);
        p[1] = half(s0i + s2i);
        p[4] = half(s0r - s2r);
        p[5] = half(s0i - s2i);
        p[2] = half(s1r + s3i);
        p[3] = half(s1i - s3r);
        p[6] = half(s1r - s3i);
        p[7] = half(s1i + s3r);
    }
    for (uint32_t hf = 4u; hf < CN; hf <<= 1) {
        uint32_t step = FFT_N / (2u * hf); /* twiddle index step on the FFT_N circle */
        for (uint32_t k = 0; k < hf; k++) {
            int32_t c, s;
            fft_twiddle(k * step, &c, &s);
            for (uint32_t i = k; i < CN; i += 2u * hf) {
                int16_t *a = &x[2u * i];
                int16_t *b = &x[2u * (i + hf)];
                int32_t br = b[0], bi = b[1];
                /* t = b * e^{-j theta} in Q15 * Q15 (not rounded yet) */
                int32_t tr = br * c + bi * s;
                int32_t ti = bi * c - br * s;
                int32_t ar = a[0], ai = a[1];
                a[0] = half_round(ar, tr);
                a[1] = half_round(ai, ti);
                b[0] = half_round(ar, -tr);
                b[1] = half_round(ai, -ti);
            }
        }
    }
}

void fft_real_2048(int16_t x[FFT_N])
{
    cfft(x);
    /* Split: X[k] = (A + W^k B) / 2 with A, B the spectra of the even and
     * odd samples, from Z[k] and conj Z[CN - k]; halved once more (the
     * total is then the DFT / FFT_N). */
    int32_t zr = x[0], zi = x[1];
    x[0] = (int16_t)((zr + zi + 1) >> 1);
    x[1] = (int16_t)((zr - zi + 1) >> 1);
    for (uint32_t k = 1u; k <= CN / 2u; k++) {
        uint32_t m = CN - k;
        int32_t kr = x[2u * k], ki = x[2u * k + 1u];
        int32_t mr = x[2u * m], mi = x[2u * m + 1u];
        int32_t sr = kr + mr, si = ki - mi;   /* Z[k] + conj Z[m] = 2A */
        int32_t btr = ki + mi, bti = mr - kr; /* (Z[k] - conj Z[m]) / j = 2B */
        int32_t c, s;
        fft_twiddle(k, &c, &s);
        /* W^k * 2B, W = e^{-j pi / CN}, in Q15 */
        int32_t wr = btr * c + bti * s;
        int32_t wi = bti * c - btr * s;
        /* X[k] = (2A + W 2B) / 4, X[m] = conj(2A - W 2B) / 4; the sums
         * can exceed 32 bits */
        int64_t sr15 = (int64_t)sr * 32768, si15 = (int64_t)si * 32768;
        x[2u * k] = (int16_t)((sr15 + wr + 65536) >> 17);
        x[2u * k + 1u] = (int16_t)((si15 + wi + 65536) >> 17);
        if (m != k) {
            x[2u * m] = (int16_t)((sr15 - wr + 65536) >> 17);
            x[2u * m + 1u] = (int16_t)((-si15 + wi + 65536) >> 17);
        }
    }
}
