/*
 * harmonics.h - THD of one synchronised 10-cycle window by FFT, with
 * harmonic subgroups (IEC 61000-4-7), up to the 40th harmonic.
 *
 * The window (exactly 10 fundamental periods, found by the fundamental's
 * zero crossings) is resampled to FFT_N = 2048 points, so FFT bin k is
 * k/10 of the fundamental: bins are 5 Hz apart at 50 Hz, harmonic h sits
 * on bin 10h and its subgroup is bins 10h-1 .. 10h+1. 2048 points reach
 * the 102nd harmonic; the paper's 256 points per 10 cycles stop at 12.8.
 *
 *   THD = sqrt(sum over h = 2..40 of G_h^2) / G_1,   G_h^2 = sum |X_k|^2
 *                                                   over the subgroup
 */
#ifndef WW_HARMONICS_H
#define WW_HARMONICS_H

#include <stdbool.h>
#include <stdint.h>

#include "fft.h"

#define HARM_MAX_ORDER 40u
#define HARM_BINS_PER_ORDER 10u /* 10 cycles per window */
/* Below this fundamental amplitude (counts) THD is not reported: the ADC's
 * noise would dominate it. */
#define HARM_MIN_AMPLITUDE_COUNTS 20.0

typedef struct {
    bool valid;
    float thd_pct;        /* percent of the fundamental */
    float fundamental;    /* amplitude of the fundamental, counts */
} harm_result_t;

/*
 * Analyse the window of `len` samples starting at `start` (both Q32.32,
 * absolute sample positions) of the ring (sample k at ring[k & mask]).
 * dc: mean of the window (counts, Q14); peak: largest |sample - mean| in
 * the window (counts), used to scale the FFT input. work: FFT_N scratch.
 * The caller guarantees the ring holds the window plus the kernel's span.
 *
 * In two steps, so that a meter can spread them over time (each is about
 * a third of a million Cortex-M3 instructions): harm_resample() fills work
 * and returns the gain it applied, harm_spectrum() transforms work in place
 * and computes the THD.
 */
int32_t harm_resample(const int16_t *ring, uint32_t mask, uint64_t start_q32, uint64_t len_q32,
                      int32_t dc_q14, int32_t peak, int16_t work[FFT_N]);
void harm_spectrum(int16_t work[FFT_N], int32_t gain, harm_result_t *out);
/* Both steps at once. */
void harm_analyse(const int16_t *ring, uint32_t mask, uint64_t start_q32, uint64_t len_q32,
                  int32_t dc_q14, int32_t peak, int16_t work[FFT_N], harm_result_t *out);

/* Subgroup powers of the last analysed spectrum in work (G_h^2, FFT units)
 * for h = 1..HARM_MAX_ORDER into g[h] (g[0] = 0). */
void harm_subgroups(const int16_t work[FFT_N], double g[HARM_MAX_ORDER + 1u]);

#endif /* WW_HARMONICS_H */
