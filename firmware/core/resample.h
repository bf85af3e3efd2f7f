/*
 * resample.h - band-limited interpolation of a sample ring at arbitrary
 * instants: one 10-cycle window, sampled at a fixed rate that is not locked
 * to the mains, becomes exactly FFT_N points per 10 cycles (IEC 61000-4-7
 * synchronisation).
 *
 * The kernel is a 16-tap Kaiser-windowed sinc (beta 6) tabulated at 128
 * fractional positions per sample (dsp_tables.c); the two positions around
 * an instant are blended linearly. Flat to 0.2 % up to 0.36 of the
 * sampling rate (the 40th harmonic of 57.5 Hz at 6400 Hz), where the
 * paper's linear interpolation between two samples loses 28 % of the 39th
 * harmonic.
 */
#ifndef WW_RESAMPLE_H
#define WW_RESAMPLE_H

#include <stdint.h>

/* Samples the kernel reads before and after the instant's sample. */
#define RS_BEFORE 7u
#define RS_AFTER 8u

/* Value at instant pos (Q32.32 absolute sample index; the ring holds
 * sample k at ring[k & mask]), in Q14 counts. */
int32_t rs_value(const int16_t *ring, uint32_t mask, uint64_t pos_q32);

/*
 * out[k] = (value(start + k * step) - dc_q14) * gain_q16 / 2^16, rounded and
 * limited to +-limit, for k = 0 .. n-1.
 */
void rs_window(const int16_t *ring, uint32_t mask, uint64_t start_q32, uint64_t step_q32,
               int32_t dc_q14, int32_t gain_q16, int32_t limit, int16_t *out, uint32_t n);

#endif /* WW_RESAMPLE_H */
