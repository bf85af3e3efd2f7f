/*
 * dsp_design.h - how the constant tables of core/dsp_tables.c are computed
 * (double precision, libm). Used by gen-tables, which writes that file, and
 * by the tests, which check the committed tables against these functions.
 */
#ifndef WW_DSP_DESIGN_H
#define WW_DSP_DESIGN_H

#include <stdint.h>

#include "dsp_tables.h"

/* Kaiser window parameter of the interpolation kernel. */
#define DSP_DESIGN_KAISER_BETA 6.0

/* sin(2 pi k / DSP_SIN_N) in Q15, k = 0..DSP_SIN_QUARTER (32768 clamped). */
void dsp_design_sin(int16_t out[DSP_SIN_QUARTER + 1]);

/* The interpolation kernel at offset x samples from the output instant:
 * sinc(x) times a Kaiser window over +-RS_TAPS/2 samples. */
double dsp_design_kernel(double x);

/* Polyphase taps in Q14: row p interpolates at fraction p / RS_PHASES past
 * sample m from samples m - (RS_TAPS/2 - 1) .. m + RS_TAPS/2, p = 0 ..
 * RS_PHASES (the last row is the next sample, so that rows can be blended
 * linearly); every row sums to exactly 1 << RS_Q (unit gain at DC). */
void dsp_design_taps(int16_t out[RS_PHASES + 1][RS_TAPS]);

#endif
