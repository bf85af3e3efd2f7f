/*
 * dsp_design.c - see dsp_design.h.
 */
#include "dsp_design.h"

#include <math.h>

#define PI 3.14159265358979323846

void dsp_design_sin(int16_t out[DSP_SIN_QUARTER + 1])
{
    for (int k = 0; k <= DSP_SIN_QUARTER; k++) {
        double v = floor(32768.0 * sin(2.0 * PI * k / DSP_SIN_N) + 0.5);
        out[k] = (int16_t)(v > 32767.0 ? 32767.0 : v);
    }
}

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 60; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < 1e-17 * sum) {
            break;
        }
    }
    return sum;
}

double dsp_design_kernel(double x)
{
    const double half = RS_TAPS / 2;
    double r = x / half;
    if (r <= -1.0 || r >= 1.0) {
        return 0.0;
    }
    double w = bessel_i0(DSP_DESIGN_KAISER_BETA * sqrt(1.0 - r * r)) / bessel_i0(DSP_DESIGN_KAISER_BETA);
    double s = x == 0.0 ? 1.0 : sin(PI * x) / (PI * x);
    return s * w;
}

void dsp_design_taps(int16_t out[RS_PHASES + 1][RS_TAPS])
{
    const double one = (double)(1 << RS_Q);
    for (int p = 0; p <= RS_PHASES; p++) {
        double d = (double)p / RS_PHASES;
        double h[RS_TAPS], sum = 0.0;
        for (int t = 0; t < RS_TAPS; t++) {
            /* tap t weighs sample m - (RS_TAPS/2 - 1) + t, which lies
             * t - (RS_TAPS/2 - 1) - d samples from the output instant */
            h[t] = dsp_design_kernel((double)(t - (RS_TAPS / 2 - 1)) - d);
            sum += h[t];
        }
        int total = 0, biggest = 0;
        for (int t = 0; t < RS_TAPS; t++) {
            out[p][t] = (int16_t)floor(h[t] / sum * one + 0.5);
            total += out[p][t];
            if (out[p][t] > out[p][biggest]) {
                biggest = t;
            }
        }
        /* unit DC gain exactly: the rounding residue goes to the largest tap */
        out[p][biggest] = (int16_t)(out[p][biggest] + ((1 << RS_Q) - total));
    }
}
