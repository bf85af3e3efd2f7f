/*
 * metrology.h - the meter's measurements over simultaneous voltage/current
 * ADC samples (docs/metrology.md): zero-crossing synchronised gapless
 * 10-cycle windows (Vrms, Irms, P, S, N, PF, frequency, THD of both
 * channels), Urms(1/2) dips, swells and interruptions, and the 10-second
 * frequency of IEC 61000-4-30.
 *
 * Portable, freestanding, no allocation, no I/O. Per sample only integer
 * arithmetic is used (the Cortex-M3 has no FPU); floating point only when a
 * half cycle or a window ends. The harmonic analysis (resampling to 2048
 * points, Q15 FFT) runs once per window, in steps after it closes.
 *
 * Segmentation of the sample stream (every sample belongs to exactly one
 * segment, so energy is neither lost nor counted twice):
 *
 *  - A synchronised window starts at a rising zero crossing of the
 *    fundamental (fundamental.h: found on the filtered voltage, immune to
 *    harmonics, its delay removed) and ends at the crossing that completes
 *    MTR_WINDOW_CYCLES cycles; the next window starts there (gapless). The
 *    window engine runs `delay` samples (the filter's delay and two) behind
 *    the input, so it knows every crossing before it gets there.
 *  - If no crossing completes the window within max_len samples (ten cycles
 *    at 42 Hz: 1524 samples at 6400 Hz) the window is closed anyway and
 *    reported without MTR_WF_SYNC: dead lines and DC-only inputs still
 *    report. The next window is then unsynchronised.
 *  - At start-up and after a window closed on max_len the stream is not
 *    synchronised. This stretch, up to the first crossing, plus the two
 *    following cycles ("settling") form one segment that is NOT reported
 *    as a window (it is not an integer number of cycles, so its rms values
 *    would be meaningless) but whose energy is integrated (MTR_EV_SEGMENT).
 *    The first settling cycle alone gives the DC estimates, used for the
 *    segment's energy and for finding all following crossings, so the first
 *    reported window starts and ends at crossings found against the same
 *    estimate. After that the estimates follow the windows' means, smoothed.
 *
 * Fractional boundaries: sample k stands for the interval [k, k+1). A window
 * that starts or ends at a crossing at k-1+a (0 <= a < 1) gets the sample
 * k-1 with weight (1-a) added at its start or removed at its end, so the
 * sums cover exactly the interval between the crossings and the effective
 * length D = N + a_end - a_start is not an integer. Adjacent windows use the
 * same weight on the same sample, so energy still telescopes exactly.
 * Accumulation stays integer; the weights are applied at the close.
 *
 * Half cycles (Urms(1/2)) take the voltage's crossings of either direction
 * on the raw samples, at once; dips, swells and interruptions are detected
 * on them (halfcycle.h).
 *
 * Publication: a window is closed at its last crossing; its harmonic
 * analysis runs in four steps 64 input samples apart; it is published (as
 * MTR_EV_WINDOW, with its energy) once that is done and three half cycles
 * have passed its end, so that every dip, swell or interruption that
 * touches it is known and its flag (IEC 61000-4-30 flagging) is right:
 * about 35 ms after its end at 6400 Hz.
 */
#ifndef WW_METROLOGY_H
#define WW_METROLOGY_H

#include <stdbool.h>
#include <stdint.h>

#include "fft.h"
#include "fundamental.h"
#include "halfcycle.h"
#include "harmonics.h"
#include "meter_config.h"

#define MTR_WINDOW_CYCLES 10u
/* Lowest fundamental that still fits one window: 50 Hz - 16 % (42 Hz),
 * a margin below the 42.5 Hz the standard asks for. */
#define MTR_MIN_FREQ_NUM 21u /* f_min = nominal * 21 / 25 */
#define MTR_MIN_FREQ_DEN 25u
/* Window length limit that keeps the exact int64 DC-removal products in range. */
#define MTR_MAX_WINDOW_SAMPLES 65535u

/* Sample ring (both channels, int16 each): a window, the kernel's span and
 * the time a window waits for publication must fit. 2^11 covers 6400 Hz;
 * the host build raises it for meter-analyze --fs. */
#ifndef MTR_RING_LOG2
#define MTR_RING_LOG2 11u
#endif
#define MTR_RING (1u << MTR_RING_LOG2)
#define MTR_RING_MASK (MTR_RING - 1u)

/* meter_window_t.flags */
#define MTR_WF_SYNC 0x0001u    /* window spans exactly MTR_WINDOW_CYCLES cycles */
#define MTR_WF_FREQ 0x0002u    /* frequency_hz is valid (>= 2 crossings seen) */
#define MTR_WF_FLAGGED 0x0004u /* a dip, swell or interruption touched it */
#define MTR_WF_THD_V 0x0008u   /* thd_v is valid */
#define MTR_WF_THD_I 0x0010u   /* thd_i is valid */
#define MTR_WF_THD_HELD 0x0020u /* the THD is that of an earlier window
                                   (cfg.harmonics_every > 1): not aggregated */

/* Events of the detectors (the protocol's EVENT kinds). */
#define MTR_PQ_DIP 1u
#define MTR_PQ_SWELL 2u
#define MTR_PQ_INTERRUPTION 3u

/* Results of one published window. Values are floats (reporting
 * precision); all accumulation is exact integer arithmetic. */
typedef struct {
    uint32_t seq;        /* 1, 2, 3, ... (set by meter.c; 0 = none yet) */
    uint32_t samples;    /* number of sample pairs in the window */
    float duration_s;    /* effective length D / fs between the boundaries */
    uint64_t t_start;    /* first sample of the window */
    uint64_t t_end;      /* end of window (exclusive), samples since init */
    uint32_t flags;      /* MTR_WF_* */
    uint32_t cycles;     /* cycles between the first and last crossing used for f */
    float frequency_hz;  /* 0 if no frequency could be measured */
    float vrms;          /* V */
    float irms;          /* A */
    float p;             /* W, > 0 import (consumption), < 0 export */
    float s;             /* VA = Vrms * Irms */
    float n;             /* var-like non-active power sqrt(S^2 - P^2) */
    float pf;            /* P / S (0 if S == 0) */
    float thd_v;         /* % of the fundamental (MTR_WF_THD_V) */
    float thd_i;         /* % (MTR_WF_THD_I) */
    float v_dc;          /* mean voltage code over the window (counts) */
    float i_dc;          /* mean current code over the window (counts) */
    int32_t p_mw;        /* p in milliwatts, rounded, saturated */
    int64_t energy_uj;   /* p * duration in microjoules (signed, rounded) */
} meter_window_t;

typedef struct {
    int64_t sv;   /* sum of (v - v_offset) */
    int64_t si;   /* sum of (i - i_offset) */
    int64_t svv;  /* sum of (v - v_offset)^2 */
    int64_t sii;  /* sum of (i - i_offset)^2 */
    int64_t svi;  /* sum of (v - v_offset)(i - i_offset) */
    int64_t svpi; /* sum of (v[n-1] - v_offset)(i[n] - i_offset): phase correction */
    uint32_t n;
} mtr_sums_t;

/* Sums over the exact interval between a segment's boundaries. */
typedef struct {
    double d; /* effective length in samples */
    double sv, si, svv, sii, svi, svpi;
} mtr_wsums_t;

typedef enum {
    MTR_EV_NONE = 0,    /* nothing happened */
    MTR_EV_WINDOW = 1,  /* a window was published: mtr_t.window */
    MTR_EV_SEGMENT = 2, /* an unreported segment closed: only energy_uj */
    MTR_EV_PQ = 3,      /* a dip, swell or interruption ended: pq_* */
    MTR_EV_F10 = 4      /* a 10-second frequency: f10_hz */
} mtr_event_kind_t;

typedef struct {
    mtr_event_kind_t kind;
    uint8_t pq_kind;        /* MTR_PQ_* */
    int64_t energy_uj;      /* WINDOW, SEGMENT: signed energy */
    double pq_start;        /* PQ: start, samples since init (fractional) */
    double pq_duration;     /* PQ: samples */
    float pq_extreme_v;     /* PQ: residual (dip, interruption) or peak (swell) Urms(1/2), V */
    float f10_hz;           /* F10 */
} mtr_event_t;

/* Running sums at a crossing (settling). */
typedef struct {
    double sv, si, d;
} mtr_mark_t;

/* mtr_pending_t.stage: the harmonic analysis, step by step */
enum { MTR_ST_RESAMPLE_V = 0, MTR_ST_SPECTRUM_V, MTR_ST_RESAMPLE_I, MTR_ST_SPECTRUM_I, MTR_ST_DONE };

/* A closed window waiting for publication. */
typedef struct {
    bool active;
    bool sync;
    uint32_t samples;
    uint32_t cycles;         /* raw crossings - 1 */
    uint64_t start;          /* first sample */
    uint64_t end;            /* exclusive */
    uint64_t start_q16;      /* boundary instants, Q16 samples */
    uint64_t end_q16;
    mtr_wsums_t s;
    int32_t vmin, vmax, imin, imax;
    uint32_t after;          /* half-cycle boundaries at or after end so far */
    uint32_t crossings;      /* the fundamental's rising crossings in it */
    double period;           /* samples, least squares (0: none) */
    uint64_t grid_start_q16; /* harmonic analysis: 10 periods from here */
    uint64_t grid_len_q32;
    uint32_t stage;          /* MTR_ST_* */
    uint64_t stage_at;       /* input sample at which the next step runs */
    int32_t gain;            /* of the resampled channel in work */
    bool held;               /* not analysed: carries the last analysed THD */
    harm_result_t thd_v, thd_i;
} mtr_pending_t;

#define MTR_EVENT_QUEUE 8u
#define MTR_XQ 4u

/* mtr_t.phase */
#define MTR_PH_UNSYNC 0u /* no crossing yet / lost: waiting for one */
#define MTR_PH_SETTLE 1u /* two cycles: learn the DC estimates, unreported */
#define MTR_PH_SYNC 2u   /* reporting synchronised 10-cycle windows */

typedef struct {
    /* derived configuration */
    uint32_t fs_hz;
    uint32_t nominal_hz;
    int32_t v_off;
    int32_t i_off;
    uint32_t max_len;
    int32_t hyst_q8;      /* half-cycle crossings: hysteresis, Q8 counts */
    uint32_t blank;       /* minimum samples between crossings */
    uint64_t hc_half;     /* length of the last regular half cycle, Q16 samples */
    uint64_t hc_half_min, hc_half_max; /* the range it is believed in */
    uint32_t max_defer;   /* longest wait for a window's publication */
    double v_scale;
    double i_scale;
    double phase_rad;     /* current-channel lag to correct, at nominal frequency */
    uint32_t harmonics_every; /* analyse one synchronised window in this many */
    uint32_t since_analysis;  /* synchronised windows since the last analysed one */
    harm_result_t held_v, held_i; /* the last analysed window's THD */
    uint32_t delay;       /* samples the window engine runs behind the input */
    /* running state */
    uint64_t in;          /* absolute index of the next input sample */
    uint64_t idx;         /* the window engine's next sample (in - delay) */
    int32_t v_dc_q8;      /* DC estimate relative to v_off, Q8 counts */
    int32_t i_dc_q8;
    uint8_t phase;        /* MTR_PH_* */
    bool hc_arm_rising;   /* half cycles: the voltage went below -hysteresis */
    bool hc_arm_falling;  /* ... above +hysteresis */
    bool hc_crossed;      /* the last boundary was a crossing (not forced) */
    int32_t hc_prev_x;    /* the previous sample, DC removed, Q8 */
    bool have_cross;      /* last_cross_idx is valid */
    uint32_t ncross;      /* crossings in the current window incl. the start */
    uint64_t start_cross_q16;
    uint64_t start_idx;   /* first sample of the current span */
    uint64_t last_cross_idx;
    int32_t prev_dv;      /* sample before the next one (offset removed) */
    int32_t prev_di;
    int32_t prev_pv;      /* voltage before prev_dv */
    uint32_t start_w_q16; /* weight of the pre-window sample (0: none) */
    int32_t pre_dv;       /* that sample */
    int32_t pre_di;
    int32_t pre_pv;       /* the voltage before it */
    int32_t vmin, vmax, imin, imax; /* extremes of the current span */
    mtr_mark_t learn;     /* sums at the start of the first settling cycle */
    mtr_sums_t acc;
    mtr_pending_t pend;
    meter_window_t window; /* the last published window */
    /* rising crossings of the fundamental not yet reached by the window engine */
    uint64_t xq[MTR_XQ];
    uint32_t xq_head, xq_len;
    /* fundamental, half cycles, 10-second frequency */
    fz_t fz;
    hc_t hc;
    f10_t f10;
    /* events not yet taken by mtr_next_event */
    mtr_event_t queue[MTR_EVENT_QUEUE];
    uint32_t q_head, q_len;
    uint32_t q_lost;      /* events dropped because the queue was full */
    /* sample ring (offset removed) and the FFT's scratch */
    int16_t ring_v[MTR_RING];
    int16_t ring_i[MTR_RING];
    int16_t work[FFT_N];
} mtr_t;

/* Returns false (and leaves *m unusable) if cfg is invalid. */
bool mtr_init(mtr_t *m, const meter_config_t *cfg);

/*
 * Consume samples until an event is queued or all are consumed. Returns
 * the number of samples consumed (>= 1 if count >= 1); take the events with
 * mtr_next_event() before feeding on. The results do not depend on how the
 * stream is split into blocks.
 */
uint32_t mtr_feed(mtr_t *m, const adc_pair_t *samples, uint32_t count);

/* Take the oldest queued event; false if none. */
bool mtr_next_event(mtr_t *m, mtr_event_t *ev);

/* End of input: publish the window waiting for publication (with what is
 * known: its THD only if the ring already holds its whole span) and the
 * events whose end is detected. Events still in progress are not
 * reported. */
void mtr_flush(mtr_t *m);

/* Dip, swell and interruption thresholds and hysteresis, in volts. */
void mtr_set_thresholds(mtr_t *m, double dip_v, double swell_v, double hysteresis_v,
                        double interruption_v);

/* Align the 10-second frequency intervals: one begins at sample origin. */
void mtr_align_f10(mtr_t *m, uint64_t origin);

/* Length of the fundamental filter's moving sums for a configuration. */
uint32_t mtr_zc_len(uint32_t fs_hz, uint32_t nominal_hz);

/* Longest window for a configuration (0 if invalid). */
uint32_t mtr_max_window_len(uint32_t fs_hz, uint32_t nominal_hz);

#endif /* WW_METROLOGY_H */
