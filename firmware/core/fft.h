/*
 * fft.h - fixed-point FFT of a real 2048-point block, our own (no third-party
 * code), for the harmonic analysis of one 10-cycle window.
 *
 * Q15 data, in place, no allocation. A 1024-point complex radix-2
 * decimation-in-time FFT of the even/odd samples packed as re/im, then the
 * split into the 2048-point real spectrum. Every stage halves its output
 * with rounding (the butterfly's twiddle product is kept at full precision
 * until that one rounding), so nothing can overflow as long as every input
 * is within +-FFT_INPUT_MAX, and the result is the DFT divided by FFT_N:
 *
 *     X[k] = FFT_N * (x[2k] + j x[2k+1])   for k = 1 .. FFT_N/2 - 1
 *     X[0] = FFT_N * x[0],  X[FFT_N/2] = FFT_N * x[1]   (both real)
 *
 * A sinusoid of amplitude A on bin k reads |X[k]| / FFT_N = A / 2.
 */
#ifndef WW_FFT_H
#define WW_FFT_H

#include <stdint.h>

#define FFT_N 2048u
/* Inputs beyond this could overflow a stage: |x_2n + j x_2n+1| <= 32767. */
#define FFT_INPUT_MAX 23170

void fft_real_2048(int16_t x[FFT_N]);

/* sin and cos of 2 pi k / FFT_N in Q15, for 0 <= k <= FFT_N / 2. */
void fft_twiddle(uint32_t k, int32_t *c, int32_t *s);

#endif /* WW_FFT_H */
