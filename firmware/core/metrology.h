/*
 * metrology.h - window accumulation: zero-crossing synchronised 10-cycle
 * windows over simultaneous voltage/current ADC samples.
 *
 * Portable, freestanding, no allocation, no I/O. Per sample only integer
 * arithmetic is used (the Cortex-M3 has no FPU); floating point is used only
 * when a window closes (about 5 times per second).
 *
 * Segmentation of the sample stream (every sample belongs to exactly one
 * segment, so energy is neither lost nor counted twice):
 *
 *  - A synchronised window starts at the sample at which a positive-going
 *    zero crossing of the (DC-corrected) voltage was detected and ends just
 *    before the sample of the crossing that completes MTR_WINDOW_CYCLES
 *    cycles. The next window starts at that very sample (gapless).
 *  - If no crossing completes the window within max_len samples (about ten
 *    cycles at 42.5 Hz: 1506 samples at 6400 Hz) the window is closed anyway
 *    and reported without MTR_WF_SYNC: dead lines and DC-only inputs still
 *    report. The next window is then unsynchronised.
 *  - At start-up and after a window closed on max_len the stream is not
 *    synchronised. This stretch, up to the first crossing, plus the two
 *    following cycles ("settling") form one segment that is NOT reported
 *    as a window (it is not an integer number of cycles, so its rms values
 *    would be meaningless) but whose energy is integrated (MTR_EV_SEGMENT).
 *    The first settling cycle alone gives the DC estimates: they are used
 *    for the segment's energy and for detecting all following crossings, so
 *    the first reported window starts and ends at crossings detected against
 *    the same estimate. (Otherwise a configured offset a few counts off would
 *    make the first window a fraction of a sample longer or shorter than 10
 *    cycles.)
 *
 * Zero-crossing detection: x = (code - offset) - DC estimate, where the DC
 * estimate is the mean of the previous reported window or of the first
 * settling cycle (initially the configured offset). A crossing is detected at the first sample with x >= 0
 * after x went below -hysteresis; crossings closer than half a nominal period
 * to the previous one are ignored. The crossing instant is linearly
 * interpolated between the two samples (Q16 sample units).
 *
 * Fractional boundaries: sample k stands for the interval [k, k+1). A window
 * that starts or ends at a crossing at k-1+a (0 < a <= 1) gets the sample
 * k-1 with weight (1-a) added at its start or removed at its end, so the
 * sums cover exactly the interval between the interpolated crossings and
 * the effective length D = N + a_end - a_start is not an integer. This
 * removes the +-0.5-sample truncation error of integer windows (up to
 * 4e-4 in P). Adjacent windows use the same weight on the same sample, so
 * energy still telescopes exactly. Accumulation stays integer; the weights
 * are applied in floating point at the close.
 */
#ifndef WW_METROLOGY_H
#define WW_METROLOGY_H

#include <stdbool.h>
#include <stdint.h>

#include "meter_config.h"

#define MTR_WINDOW_CYCLES 10u
/* Lowest fundamental that still fits one window: 50 Hz - 15 %. */
#define MTR_MIN_FREQ_NUM 17u /* f_min = nominal * 17 / 20 */
#define MTR_MIN_FREQ_DEN 20u
/* Window length limit that keeps the exact int64 DC-removal products in range. */
#define MTR_MAX_WINDOW_SAMPLES 65535u

/* meter_window_t.flags */
#define MTR_WF_SYNC 0x0001u /* window spans exactly MTR_WINDOW_CYCLES cycles */
#define MTR_WF_FREQ 0x0002u /* frequency_hz is valid (>= 2 crossings seen) */

/* Results of one closed window. Values are floats (reporting precision);
 * all accumulation is exact integer arithmetic. */
typedef struct {
    uint32_t seq;        /* 1, 2, 3, ... (set by meter.c; 0 = none yet) */
    uint32_t samples;    /* number of sample pairs in the window */
    float duration_s;    /* effective length D / fs between the boundaries */
    uint64_t t_end;      /* end of window (exclusive), samples since init */
    uint32_t flags;      /* MTR_WF_* */
    uint32_t cycles;     /* cycles between first and last crossing used for f */
    float frequency_hz;  /* 0 if no frequency could be measured */
    float vrms;          /* V */
    float irms;          /* A */
    float p;             /* W, > 0 import (consumption), < 0 export */
    float s;             /* VA = Vrms * Irms */
    float n;             /* var-like non-active power sqrt(S^2 - P^2) */
    float pf;            /* P / S (0 if S == 0) */
    float v_dc;          /* mean voltage code over the window (counts) */
    float i_dc;          /* mean current code over the window (counts) */
    int32_t p_mw;        /* p in milliwatts, rounded, saturated */
    int64_t energy_uj;   /* p * duration in microjoules (signed, rounded) */
} meter_window_t;

typedef struct {
    int64_t sv;  /* sum of (v - v_offset) */
    int64_t si;  /* sum of (i - i_offset) */
    int64_t svv; /* sum of (v - v_offset)^2 */
    int64_t sii; /* sum of (i - i_offset)^2 */
    int64_t svi; /* sum of (v - v_offset)(i - i_offset) */
    uint32_t n;
} mtr_sums_t;

typedef enum {
    MTR_EV_NONE = 0,    /* all samples consumed, nothing closed */
    MTR_EV_WINDOW = 1,  /* a window closed: see event.window */
    MTR_EV_SEGMENT = 2  /* an unreported segment closed: only energy_uj */
} mtr_event_kind_t;

typedef struct {
    mtr_event_kind_t kind;
    int64_t energy_uj;      /* signed energy of the closed segment/window */
    meter_window_t window;  /* valid for MTR_EV_WINDOW */
} mtr_event_t;

/* Running sums at a crossing (settling). */
typedef struct {
    double sv, si, d;
} mtr_mark_t;

/* mtr_t.phase */
#define MTR_PH_UNSYNC 0u /* no crossing yet / lost: waiting for one */
#define MTR_PH_SETTLE 1u /* two cycles: learn the DC estimates, unreported */
#define MTR_PH_SYNC 2u   /* reporting synchronised 10-cycle windows */

typedef struct {
    /* derived configuration */
    uint32_t fs_hz;
    int32_t v_off;
    int32_t i_off;
    int32_t hyst_q8;
    uint32_t max_len;
    uint32_t blank;       /* minimum samples between crossings */
    double v_scale;
    double i_scale;
    /* running state */
    uint64_t idx;         /* absolute index of the next sample */
    int32_t v_dc_q8;      /* DC estimate relative to v_off, Q8 counts */
    int32_t i_dc_q8;
    int32_t prev_x_q8;
    bool armed;           /* voltage went below -hysteresis */
    uint8_t phase;        /* MTR_PH_* */
    bool have_cross;      /* last_cross_idx is valid */
    uint32_t ncross;      /* crossings in the current window incl. the start */
    uint64_t first_cross_q16;
    uint64_t last_cross_q16;
    uint64_t last_cross_idx;
    int32_t prev_dv;      /* sample before the next one (offset removed) */
    int32_t prev_di;
    uint32_t start_w_q16; /* weight of the pre-window sample (0: none) */
    int32_t pre_dv;       /* that sample */
    int32_t pre_di;
    mtr_mark_t learn;     /* sums at the start of the first settling cycle */
    mtr_sums_t acc;
} mtr_t;

/* Returns false (and leaves *m unusable) if cfg is invalid. */
bool mtr_init(mtr_t *m, const meter_config_t *cfg);

/*
 * Consume samples until one segment or window closes or all are consumed.
 * Returns the number of samples consumed (>= 1 if count >= 1); ev->kind
 * tells whether something closed. Callers loop until count is exhausted.
 * The result does not depend on how the stream is split into blocks.
 */
uint32_t mtr_feed(mtr_t *m, const adc_pair_t *samples, uint32_t count, mtr_event_t *ev);

/* Longest window for a configuration (0 if invalid). */
uint32_t mtr_max_window_len(uint32_t fs_hz, uint32_t nominal_hz);

#endif /* WW_METROLOGY_H */
