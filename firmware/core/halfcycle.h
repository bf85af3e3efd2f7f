/*
 * halfcycle.h - Urms(1/2) and the dip, swell and interruption detectors of
 * IEC 61000-4-30.
 *
 * Urms(1/2): the r.m.s. voltage over one cycle, commencing at a zero
 * crossing and refreshed every half cycle. The caller hands in the
 * half-cycle boundaries (metrology.c: the voltage's crossings, interpolated;
 * in an interruption, the rhythm of the last half cycle). Each value is
 * computed from the sample ring, the partly covered samples at the ends
 * weighted, with the cycle's own mean removed.
 *
 * Detection follows the standard: a dip starts when Urms(1/2) falls below
 * the dip threshold and ends when it reaches the threshold plus the
 * hysteresis (a swell mirrors it; an interruption is a dip below 5 % of
 * Udin). The residual voltage is the lowest Urms(1/2) (the peak, the
 * highest). A detector arms only once it has seen a normal voltage.
 *
 * Timing is finer than the standard's (which stamps the start of the first
 * Urms(1/2) below threshold, up to 3/4 cycle early, and the end of the one
 * that ends it, up to 1.3 cycles late). Two half cycles after the start is
 * detected, the drops of the mean square between consecutive values around
 * it, D_j = U_{j-1}^2 - U_j^2 (negative ones ignored), are averaged with
 * the midpoints of the half cycles they enter at as weights. For a step of
 * the r.m.s. value inside half cycle p at fraction f, U_p^2, U_{p+1}^2 and
 * U_{p+2}^2 fall by f/2, 1/2 and (1-f)/2 of the step, and their weighted
 * mean is exactly the instant of the step. The end uses the rises the same
 * way. So a step dip is timed to a small fraction of a cycle whatever its
 * depth and phase.
 */
#ifndef WW_HALFCYCLE_H
#define WW_HALFCYCLE_H

#include <stdbool.h>
#include <stdint.h>

#define HC_HISTORY 8u /* values kept: the refinement looks 4 back */
#define HC_FLAG_SPANS 4u

enum { HC_DIP = 0, HC_SWELL = 1, HC_INTERRUPTION = 2, HC_DETECTORS = 3 };

typedef struct {
    uint8_t state;       /* HC_IDLE, HC_ACTIVE, HC_ENDING */
    bool below;          /* dip, interruption: the event is Urms(1/2) < threshold */
    double thr2;         /* threshold^2, counts^2 */
    double end2;         /* threshold -/+ hysteresis, squared */
    uint32_t j0, j1;     /* value index at which start / end were detected */
    double extreme2;     /* lowest (dip) or highest (swell) Urms(1/2)^2 */
    double start;        /* refined start, samples */
    bool start_done;
    uint64_t flag_from;  /* conservative start for flagging: b of j0-3 */
} hc_detector_t;

/* A finished event. */
typedef struct {
    uint8_t which;       /* HC_DIP, HC_SWELL, HC_INTERRUPTION */
    double start;        /* samples (absolute, fractional) */
    double duration;     /* samples */
    double extreme;      /* residual (dip, interruption) or peak (swell) Urms(1/2), counts */
} hc_event_t;

typedef struct {
    uint64_t last_b;     /* start of the half cycle in progress, Q16 samples */
    bool started;
    double s1_prev;      /* sums of the previous half cycle */
    double s2_prev;
    double n_prev;
    bool have_prev;
    uint32_t halves;     /* boundaries seen: boundary j is b_hist[j % HC_HISTORY], Q16 */
    uint64_t b_hist[HC_HISTORY];
    uint32_t count;      /* index of the last value: Urms(1/2)^2 over the two
                            half cycles before boundary j, counts^2, is
                            u2[j % HC_HISTORY] */
    uint32_t first_value; /* first value since the last (re)start */
    double u2[HC_HISTORY];
    bool armed;
    hc_detector_t det[HC_DETECTORS];
    /* conservative spans of finished events, for flagging windows */
    uint64_t span_lo[HC_FLAG_SPANS], span_hi[HC_FLAG_SPANS];
    uint32_t spans;
} hc_t;

/* Thresholds in counts (the detectors compare squares). */
void hc_init(hc_t *h);
void hc_set_thresholds(hc_t *h, double dip, double swell, double hysteresis, double interruption);

/* A half cycle ends at instant b (Q16 samples; the samples since the
 * previous boundary are in the ring, the partly covered ones at the ends
 * count with the part inside). Finished events go to out (room for
 * HC_DETECTORS); returns how many. */
uint32_t hc_boundary(hc_t *h, const int16_t *ring, uint32_t mask, uint64_t b, hc_event_t *out);

/* Events that have to be reported even though their refinement could use
 * more half cycles (end of input): finish every ending detector. */
uint32_t hc_flush(hc_t *h, hc_event_t *out);

/* Did an event (finished or in progress) touch samples [lo, hi)? Spans are
 * conservative: from 1.5 cycles before the start was detected to the end
 * of the value that ended it. */
bool hc_flagged(const hc_t *h, uint64_t lo, uint64_t hi);

#endif /* WW_HALFCYCLE_H */
