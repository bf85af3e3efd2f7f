/*
 * dsp_tables.h - constant tables of the signal processing, in flash:
 * a quarter wave of sine for the FFT's twiddle factors and the polyphase
 * taps of the resampler. dsp_tables.c is generated (host/gen_tables.c).
 */
#ifndef WW_DSP_TABLES_H
#define WW_DSP_TABLES_H

#include <stdint.h>

/* Full circle of the sine table: the real FFT's length. */
#define DSP_SIN_N 2048
#define DSP_SIN_QUARTER (DSP_SIN_N / 4)
extern const int16_t dsp_sin_q15[DSP_SIN_QUARTER + 1];

/* Resampler: RS_TAPS-tap windowed-sinc kernel at RS_PHASES + 1 fractional
 * positions 0, 1/RS_PHASES, ..., 1 per input sample (the resampler blends
 * the two around an instant), coefficients in Q(RS_Q). */
#define RS_TAPS 16
#define RS_PHASES 128
#define RS_PHASE_BITS 7
#define RS_Q 14
extern const int16_t rs_taps[RS_PHASES + 1][RS_TAPS];

#endif /* WW_DSP_TABLES_H */
