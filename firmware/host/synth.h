/*
 * synth.h - deterministic synthetic ADC code generator for the host tests.
 */
#ifndef WW_SYNTH_H
#define WW_SYNTH_H

#include <stdint.h>

#include "meter_config.h"

typedef struct {
    double fs;        /* Hz */
    double f;         /* fundamental, Hz */
    double v1, i1;    /* fundamental rms, V / A */
    double phi_deg;   /* current lags voltage by this angle (180 = generator) */
    double v3, i3;    /* 3rd harmonic rms */
    double phi3_deg;  /* 3rd-harmonic current lag behind 3rd-harmonic voltage */
    double v_off;     /* true DC offset of the channels, counts */
    double i_off;
    double noise;     /* uniform noise amplitude, counts */
    double v_scale;   /* V per count */
    double i_scale;   /* A per count */
    double theta0;    /* initial phase, rad */
    uint64_t n;       /* next sample index */
    uint32_t lcg;     /* noise state */
    double e_j;       /* exact energy sum(v*i)/fs of the samples so far, J */
    double *ecum;     /* optional: ecum[n] = e_j before sample n (n < ecum_len) */
    uint64_t ecum_len;
} synth_t;

/* 230 V / 10 A / 50 Hz / PF 1, default CVCT scales, offsets not exactly
 * mid-scale, 3rd harmonics off, noise 1.5 counts. */
void synth_default(synth_t *s);
void synth_fill(synth_t *s, adc_pair_t *out, uint32_t count);

double synth_vrms(const synth_t *s);
double synth_irms(const synth_t *s);
double synth_p(const synth_t *s);

#endif
