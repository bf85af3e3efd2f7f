/*
 * fundamental.h - zero crossings of the voltage's fundamental, for the
 * frequency (per window and the IEC 61000-4-30 10-second value), the
 * boundaries of the 10-cycle windows and the synchronisation of their
 * harmonic analysis.
 *
 * Crossings of the raw samples move with the harmonics: a 39th harmonic of
 * 3.6 % steepens or flattens the wave around zero differently at every
 * crossing, because the sampling grid is not locked to the mains (up to
 * 0.1 sample, 4 mHz of frequency error). So the crossings are found on the
 * voltage filtered by three cascaded moving sums of an eighth of the nominal
 * period (L = fs / (8 f_nominal) samples, 16 at 6400 Hz: zeros at the 8th,
 * 16th, 24th ... harmonics, the others attenuated about as 1/h^3, the
 * fundamental passed at 0.93). The filter has linear phase, so every
 * crossing is delayed by exactly 3 (L - 1) / 2 samples, which is
 * subtracted: the times are those of the fundamental's crossings.
 *
 * The filtered signal is smooth, so a crossing is the linear interpolation
 * between the two samples around it (the paper refines raw crossings by a
 * least-squares line; here a least-squares line through all the crossings
 * of a window gives its period, see fz_period()).
 *
 * Integer arithmetic per sample; no allocation.
 */
#ifndef WW_FUNDAMENTAL_H
#define WW_FUNDAMENTAL_H

#include <stdbool.h>
#include <stdint.h>

/* Longest moving sum, samples (delay lines are this long). The meter's
 * 6400 Hz at 50 Hz needs 16; the host build (any --fs) raises it. */
#ifndef MTR_ZC_MAX_L
#define MTR_ZC_MAX_L 16u
#endif
/* Crossings of each direction kept: a window's 11 and those that come while
 * it waits for publication. */
#define FZ_KEEP 16u

typedef enum { FZ_NONE = 0, FZ_RISING = 1, FZ_FALLING = 2 } fz_kind_t;

typedef struct {
    uint32_t len;        /* L */
    uint32_t pos;        /* next slot of the delay lines */
    uint32_t filled;     /* samples seen, up to 3 L (then the output is valid) */
    int32_t s1, s2;      /* running sums of stages 1 and 2 */
    int64_t s3;          /* stage 3 */
    int32_t dl2[MTR_ZC_MAX_L]; /* stage-1 outputs of the last L samples */
    int32_t dl3[MTR_ZC_MAX_L]; /* stage-2 outputs */
    int64_t hyst;        /* hysteresis on the output */
    int64_t y_prev;
    int32_t dc_q8;       /* the DC estimate last used, and its share of the output */
    int64_t dc_term;
    bool arm_rising, arm_falling;
    uint32_t delay_q16;  /* group delay 3 (L - 1) / 2, Q16 samples */
    uint64_t rising[FZ_KEEP]; /* times (Q16 absolute samples) of the last rising crossings */
    uint32_t n_rising;   /* rising crossings since init (rising[n % FZ_KEEP]) */
    uint64_t falling[FZ_KEEP];
    uint32_t n_falling;
} fz_t;

/* len: L (>= 1, <= MTR_ZC_MAX_L); hyst_counts: hysteresis on the voltage
 * (the output's is scaled by the filter's gain). */
void fz_init(fz_t *z, uint32_t len, uint32_t hyst_counts);

/*
 * One sample: n is its absolute index, already stored in ring[n & mask]
 * (the ring, zero-initialised, must hold more than L samples); dc_q8 the DC
 * estimate (counts relative to the offset, Q8). Returns the kind of crossing whose time is
 * in *t_q16 (absolute, delay removed), or FZ_NONE.
 */
fz_kind_t fz_step(fz_t *z, const int16_t *ring, uint32_t mask, uint64_t n, int32_t dc_q8,
                  uint64_t *t_q16);

/* Latest signal time (Q16 samples) up to which every crossing is known. */
uint64_t fz_horizon_q16(const fz_t *z, uint64_t n_next);

/*
 * The crossings with lo <= t < hi (Q16): the number of rising ones, the
 * first of them in *first_q16, and the period by least squares through the
 * rising and the falling ones (one slope, an intercept for each; samples,
 * *period; 0 with fewer than 2 rising ones).
 */
uint32_t fz_period(const fz_t *z, uint64_t lo_q16, uint64_t hi_q16, uint64_t *first_q16,
                   double *period);

/* IEC 61000-4-30 10-second frequency: integer cycles within each interval
 * of the 10 s clock divided by their duration. */
typedef struct {
    uint32_t fs_hz;
    uint64_t interval;   /* samples per interval (10 fs) */
    uint64_t end;        /* end of the current interval, samples */
    bool active;         /* false until the first boundary after an alignment */
    uint32_t count;      /* rising crossings in the current interval */
    uint64_t first_q16, last_q16;
    uint32_t seq;        /* values produced */
    float value_hz;      /* the last value */
} f10_t;

/* First interval boundary at sample `origin` (later ones every 10 s). */
void f10_init(f10_t *f, uint32_t fs_hz, uint64_t origin);
/* A new clock: the interval in progress is dropped. */
void f10_align(f10_t *f, uint64_t origin);
/* A rising crossing; true when it closed an interval with a value. */
bool f10_crossing(f10_t *f, uint64_t t_q16);

#endif /* WW_FUNDAMENTAL_H */
