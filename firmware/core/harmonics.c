/*
 * harmonics.c - see harmonics.h.
 */
#include "harmonics.h"

#include "resample.h"
#include "wmath.h"

/* The FFT input peaks near this (of FFT_INPUT_MAX), leaving room for the
 * interpolation to overshoot the samples' peak. */
#define HARM_INPUT_PEAK 18000

_Static_assert(HARM_BINS_PER_ORDER * HARM_MAX_ORDER + 1u < FFT_N / 2u, "subgroups inside the spectrum");

void harm_subgroups(const int16_t work[FFT_N], double g[HARM_MAX_ORDER + 1u])
{
    g[0] = 0.0;
    for (uint32_t h = 1u; h <= HARM_MAX_ORDER; h++) {
        int64_t sum = 0;
        for (uint32_t k = HARM_BINS_PER_ORDER * h - 1u; k <= HARM_BINS_PER_ORDER * h + 1u; k++) {
            int32_t re = work[2u * k], im = work[2u * k + 1u];
            sum += (int64_t)re * re + (int64_t)im * im;
        }
        g[h] = (double)sum;
    }
}

int32_t harm_resample(const int16_t *ring, uint32_t mask, uint64_t start_q32, uint64_t len_q32,
                      int32_t dc_q14, int32_t peak, int16_t work[FFT_N])
{
    if (peak < 1) {
        peak = 1;
    }
    /* input = (value_q14 - dc) * gain / 2^16 = counts * gain / 4 peaks
     * at HARM_INPUT_PEAK */
    int32_t gain = (int32_t)(4 * HARM_INPUT_PEAK / peak);
    if (gain < 1) {
        gain = 1;
    }
    rs_window(ring, mask, start_q32, len_q32 / FFT_N, dc_q14, gain, FFT_INPUT_MAX, work, FFT_N);
    return gain;
}

void harm_spectrum(int16_t work[FFT_N], int32_t gain, harm_result_t *out)
{
    out->valid = false;
    out->thd_pct = 0.0f;
    out->fundamental = 0.0f;
    fft_real_2048(work);
    double g[HARM_MAX_ORDER + 1u];
    harm_subgroups(work, g);
    /* counts per FFT unit: the input is counts * gain / 4, a bin reads A / 2 */
    double fund = 2.0 * ww_sqrt(g[1]) * 4.0 / (double)gain;
    out->fundamental = (float)fund;
    if (fund < HARM_MIN_AMPLITUDE_COUNTS) {
        return;
    }
    double sum = 0.0;
    for (uint32_t h = 2u; h <= HARM_MAX_ORDER; h++) {
        sum += g[h];
    }
    out->thd_pct = (float)(100.0 * ww_sqrt(sum / g[1]));
    out->valid = true;
}

void harm_analyse(const int16_t *ring, uint32_t mask, uint64_t start_q32, uint64_t len_q32,
                  int32_t dc_q14, int32_t peak, int16_t work[FFT_N], harm_result_t *out)
{
    int32_t gain = harm_resample(ring, mask, start_q32, len_q32, dc_q14, peak, work);
    harm_spectrum(work, gain, out);
}
