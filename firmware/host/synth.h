/*
 * synth.h - deterministic synthetic ADC code generator for the host tests
 * and the characterisation: the paper's CVCT front end and a 12-bit ADC
 * with an offset, noise and quantisation, fed by analytic waveforms with
 * harmonics and voltage dips or swells.
 */
#ifndef WW_SYNTH_H
#define WW_SYNTH_H

#include <stdint.h>

#include "meter_config.h"

#define SYNTH_MAX_HARMONICS 8
#define SYNTH_MAX_STEPS 8

typedef struct {
    int order;
    double ratio;    /* rms relative to the fundamental's */
    double phase;    /* rad, at the harmonic's frequency (sin reference) */
} synth_harmonic_t;

/* The voltage's amplitude is `ratio` times normal during [t0, t1) s. */
typedef struct {
    double t0, t1, ratio;
} synth_step_t;

typedef struct {
    double fs;        /* Hz */
    double f;         /* fundamental, Hz */
    double v1, i1;    /* fundamental rms, V / A */
    double phi_deg;   /* current lags voltage by this angle (180 = generator) */
    double v3, i3;    /* 3rd harmonic rms */
    double phi3_deg;  /* 3rd-harmonic current lag behind 3rd-harmonic voltage */
    synth_harmonic_t vh[SYNTH_MAX_HARMONICS]; /* further harmonics */
    synth_harmonic_t ih[SYNTH_MAX_HARMONICS];
    int nvh, nih;
    synth_step_t steps[SYNTH_MAX_STEPS];
    int nsteps;
    double v_off;     /* true DC offset of the channels, counts */
    double i_off;
    double noise;     /* uniform noise amplitude, counts */
    double noise_sigma; /* Gaussian noise, standard deviation in counts */
    double i_delay_s; /* the front end delays the current channel by this */
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

/* Analytic values of the steady signal (no steps). */
double synth_vrms(const synth_t *s);
double synth_irms(const synth_t *s);
double synth_p(const synth_t *s);
/* THD (percent of the fundamental) of the voltage and the current. */
double synth_thd_v(const synth_t *s);
double synth_thd_i(const synth_t *s);

#endif
