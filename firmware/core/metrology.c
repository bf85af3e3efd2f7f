/*
 * metrology.c - windows, fundamental, half cycles, harmonics.
 * See metrology.h for the segmentation and boundary rules.
 */
#include "metrology.h"

#include "harmonics.h"
#include "resample.h"
#include "wmath.h"

#define Q8 256
#define Q16_SHIFT 16
#define Q16_ONE 65536u
#define PI 3.14159265358979323846

/* Defaults of the detectors, % of Udin (IEC 61000-4-30 practice). */
#define DIP_PERCENT 90.0
#define SWELL_PERCENT 110.0
#define HYSTERESIS_PERCENT 2.0
#define INTERRUPTION_PERCENT 5.0
/* Half-cycle boundaries counted after a window's end before it is
 * published: every Urms(1/2) that could start an event touching the window
 * has been evaluated by then (its start is refined up to 1.5 cycles back). */
#define PUBLISH_AFTER_HALVES 3u
/* Harmonic analysis needs this many fundamental crossings in the window. */
#define THD_MIN_CROSSINGS 6u
/* The DC estimates follow the windows' means with this time constant
 * (windows). */
#define DC_SMOOTHING 8
/* Input samples between the steps of a window's harmonic analysis. */
#define MTR_STAGE_GAP 64u

uint32_t mtr_zc_len(uint32_t fs_hz, uint32_t nominal_hz)
{
    /* an eighth of the nominal period: zeros at 8, 16, 24, ... times the
     * nominal frequency, the fundamental passed at 0.93 */
    return nominal_hz == 0u ? 0u : (fs_hz + 4u * nominal_hz) / (8u * nominal_hz);
}

uint32_t mtr_max_window_len(uint32_t fs_hz, uint32_t nominal_hz)
{
    if (fs_hz == 0u || nominal_hz == 0u) {
        return 0u;
    }
    /* ceil(cycles * fs / f_min), f_min = nominal * 17/20 */
    uint64_t num = (uint64_t)MTR_WINDOW_CYCLES * fs_hz * MTR_MIN_FREQ_DEN;
    uint64_t den = (uint64_t)nominal_hz * MTR_MIN_FREQ_NUM;
    uint64_t len = (num + den - 1u) / den;
    if (len > MTR_MAX_WINDOW_SAMPLES) {
        return 0u;
    }
    return (uint32_t)len;
}

static void sums_clear(mtr_sums_t *a)
{
    a->sv = 0;
    a->si = 0;
    a->svv = 0;
    a->sii = 0;
    a->svi = 0;
    a->svpi = 0;
    a->n = 0u;
}

static void extremes_reset(mtr_t *m)
{
    m->vmin = INT32_MAX;
    m->vmax = INT32_MIN;
    m->imin = INT32_MAX;
    m->imax = INT32_MIN;
}

void mtr_set_thresholds(mtr_t *m, double dip_v, double swell_v, double hysteresis_v,
                        double interruption_v)
{
    double k = 1.0 / ww_fabs(m->v_scale); /* counts per volt */
    hc_set_thresholds(&m->hc, dip_v * k, swell_v * k, hysteresis_v * k, interruption_v * k);
}

void mtr_align_f10(mtr_t *m, uint64_t origin)
{
    f10_align(&m->f10, origin);
}

bool mtr_init(mtr_t *m, const meter_config_t *cfg)
{
    if (m == NULL || !meter_config_valid(cfg)) {
        return false;
    }
    *m = (mtr_t){0};
    m->fs_hz = cfg->fs_hz;
    m->nominal_hz = cfg->nominal_hz;
    m->v_off = (int32_t)cfg->v_offset;
    m->i_off = (int32_t)cfg->i_offset;
    m->max_len = mtr_max_window_len(cfg->fs_hz, cfg->nominal_hz);
    m->hyst_q8 = (int32_t)cfg->zc_hyst_counts * Q8;
    m->blank = cfg->fs_hz / (2u * cfg->nominal_hz);
    m->hc_half = (uint64_t)m->blank << Q16_SHIFT;
    m->hc_half_min = ((uint64_t)(3u * m->blank) << Q16_SHIFT) / 4u;
    m->hc_half_max = ((uint64_t)(5u * m->blank) << Q16_SHIFT) / 4u;
    m->v_scale = (double)cfg->v_scale;
    m->i_scale = (double)cfg->i_scale;
    m->phase_rad = (double)cfg->phase_deg * PI / 180.0;
    m->harmonics_every = cfg->harmonics_every > 1u ? cfg->harmonics_every : 1u;
    m->since_analysis = m->harmonics_every - 1u; /* the first window is analysed */

    fz_init(&m->fz, mtr_zc_len(cfg->fs_hz, cfg->nominal_hz), cfg->zc_hyst_counts);
    /* the window engine runs behind the input by the filter's delay and
     * two samples, so every crossing is known when it gets there */
    m->delay = (m->fz.delay_q16 + Q16_ONE - 1u) / Q16_ONE + 2u;
    m->max_defer = (PUBLISH_AFTER_HALVES + 1u) * ((5u * m->blank) / 4u + m->blank / 2u);
    hc_init(&m->hc);
    double udin = (double)cfg->udin_v;
    mtr_set_thresholds(m, udin * DIP_PERCENT / 100.0, udin * SWELL_PERCENT / 100.0,
                       udin * HYSTERESIS_PERCENT / 100.0, udin * INTERRUPTION_PERCENT / 100.0);
    f10_init(&m->f10, cfg->fs_hz, 0u);

    m->phase = MTR_PH_UNSYNC;
    extremes_reset(m);
    sums_clear(&m->acc);
    return true;
}

/* ------------------------------------------------------------ events */

static void push_event(mtr_t *m, const mtr_event_t *ev)
{
    if (m->q_len == MTR_EVENT_QUEUE) {
        m->q_lost++; /* the caller did not take them: cannot happen with meter_feed */
        return;
    }
    m->queue[(m->q_head + m->q_len) % MTR_EVENT_QUEUE] = *ev;
    m->q_len++;
}

bool mtr_next_event(mtr_t *m, mtr_event_t *ev)
{
    if (m == NULL || m->q_len == 0u) {
        return false;
    }
    *ev = m->queue[m->q_head];
    m->q_head = (m->q_head + 1u) % MTR_EVENT_QUEUE;
    m->q_len--;
    return true;
}

/* ------------------------------------------------------------ window sums */

/* end_w_q16: weight of the last sample to remove (0 if the segment does not
 * end at a crossing); the last sample is m->prev_dv/prev_di. */
static void weighted_sums(const mtr_t *m, uint32_t end_w_q16, mtr_wsums_t *w)
{
    const mtr_sums_t *a = &m->acc;
    double ws = (double)m->start_w_q16 / (double)Q16_ONE;
    double we = (double)end_w_q16 / (double)Q16_ONE;
    double pv = (double)m->pre_dv, pc = (double)m->pre_di, pp = (double)m->pre_pv;
    double lv = (double)m->prev_dv, li = (double)m->prev_di, lp = (double)m->prev_pv;

    w->d = (double)a->n + ws - we;
    w->sv = (double)a->sv + ws * pv - we * lv;
    w->si = (double)a->si + ws * pc - we * li;
    w->svv = (double)a->svv + ws * pv * pv - we * lv * lv;
    w->sii = (double)a->sii + ws * pc * pc - we * li * li;
    w->svi = (double)a->svi + ws * pv * pc - we * lv * li;
    w->svpi = (double)a->svpi + ws * pp * pc - we * lp * li;
}

/*
 * Active power in W from the sums, with the front end's phase error
 * corrected at frequency f: the voltage is shifted by the current channel's
 * lag, as x v[n] + y v[n-1] (exact for a sinusoid at f; EmonLibCM's
 * method).
 */
static double active_power(const mtr_t *m, const mtr_wsums_t *s, double f_hz)
{
    double mv = s->sv / s->d, mi = s->si / s->d;
    double cov = s->svi / s->d - mv * mi;
    if (m->phase_rad != 0.0) {
        double a = 2.0 * PI * f_hz / (double)m->fs_hz;     /* one sample */
        double phi = m->phase_rad * f_hz / (double)m->nominal_hz;
        double y = ww_sin_small(phi) / ww_sin_small(a);
        double x = ww_cos_small(phi) - y * ww_cos_small(a);
        double cov1 = s->svpi / s->d - mv * mi;
        cov = x * cov + y * cov1;
    }
    return cov * m->v_scale * m->i_scale;
}

/* Energy in microjoules of power p_w over d samples. */
static int64_t energy_uj(const mtr_t *m, double p_w, double d)
{
    return ww_round_i64(p_w * d * 1e6 / (double)m->fs_hz);
}

/* ------------------------------------------------------------ publication */

/* Can the ring still give the kernel's span around [start, start + len)? */
static bool ring_covers(const mtr_t *m, uint64_t start_q32, uint64_t len_q32)
{
    uint64_t first = (start_q32 >> 32);
    uint64_t last = ((start_q32 + len_q32) >> 32) + RS_AFTER + 1u;
    if (first < RS_BEFORE || last >= m->in) {
        return false;
    }
    first -= RS_BEFORE;
    return m->in - first <= MTR_RING;
}

static int32_t peak_of(int32_t lo, int32_t hi, double mean)
{
    double a = (double)hi - mean, b = mean - (double)lo;
    double p = a > b ? a : b;
    return p > 0.0 ? (int32_t)(p + 1.0) : 1;
}

/*
 * The harmonic analysis of a closed window, in four steps (resample and
 * transform each channel), each MTR_STAGE_GAP input samples after the
 * previous one: no DMA half-buffer of the meter carries more than one.
 */
static void analysis_step(mtr_t *m)
{
    mtr_pending_t *p = &m->pend;
    uint64_t start_q32 = p->grid_start_q16 << 16;
    double mv = p->s.sv / p->s.d, mi = p->s.si / p->s.d;
    if ((p->stage == MTR_ST_RESAMPLE_V || p->stage == MTR_ST_RESAMPLE_I) &&
        !ring_covers(m, start_q32, p->grid_len_q32)) {
        p->stage = MTR_ST_DONE; /* cannot happen with the ring sized for the rate */
        return;
    }
    switch (p->stage) {
    case MTR_ST_RESAMPLE_V:
        p->gain = harm_resample(m->ring_v, MTR_RING_MASK, start_q32, p->grid_len_q32,
                                (int32_t)ww_round_i64(mv * 16384.0), peak_of(p->vmin, p->vmax, mv), m->work);
        break;
    case MTR_ST_SPECTRUM_V:
        harm_spectrum(m->work, p->gain, &p->thd_v);
        break;
    case MTR_ST_RESAMPLE_I:
        p->gain = harm_resample(m->ring_i, MTR_RING_MASK, start_q32, p->grid_len_q32,
                                (int32_t)ww_round_i64(mi * 16384.0), peak_of(p->imin, p->imax, mi), m->work);
        break;
    default: /* MTR_ST_SPECTRUM_I */
        harm_spectrum(m->work, p->gain, &p->thd_i);
        break;
    }
    p->stage++;
    p->stage_at = m->in + MTR_STAGE_GAP;
}

static void publish(mtr_t *m)
{
    mtr_pending_t *p = &m->pend;
    meter_window_t *w = &m->window;
    const mtr_wsums_t *s = &p->s;

    /* Analytic DC removal (EmonLibCM): mean of squares minus square of mean. */
    double mv = s->sv / s->d;
    double mi = s->si / s->d;
    double var_v = s->svv / s->d - mv * mv;
    double var_i = s->sii / s->d - mi * mi;

    w->seq = 0u;
    w->samples = p->samples;
    w->duration_s = (float)(s->d / (double)m->fs_hz);
    w->t_start = p->start;
    w->t_end = p->end;
    w->flags = p->sync ? MTR_WF_SYNC : 0u;
    w->cycles = 0u;
    w->frequency_hz = 0.0f;
    double f_hz = (double)m->nominal_hz;
    if (p->crossings >= 2u && p->period > 0.0) {
        f_hz = (double)m->fs_hz / p->period;
        w->cycles = p->crossings - 1u;
        w->frequency_hz = (float)f_hz;
        w->flags |= MTR_WF_FREQ;
    }

    double vrms = ww_sqrt(var_v) * ww_fabs(m->v_scale);
    double irms = ww_sqrt(var_i) * ww_fabs(m->i_scale);
    double pw = active_power(m, s, f_hz);
    double sa = vrms * irms;
    w->vrms = (float)vrms;
    w->irms = (float)irms;
    w->p = (float)pw;
    w->s = (float)sa;
    w->n = (float)ww_sqrt(sa * sa - pw * pw);
    w->pf = sa > 0.0 ? (float)(pw / sa) : 0.0f;
    w->v_dc = (float)((double)m->v_off + mv);
    w->i_dc = (float)((double)m->i_off + mi);
    w->p_mw = ww_round_i32(pw * 1000.0);
    w->energy_uj = energy_uj(m, pw, s->d);

    if (p->held) {
        p->thd_v = m->held_v;
        p->thd_i = m->held_i;
        w->flags |= (p->thd_v.valid || p->thd_i.valid) ? MTR_WF_THD_HELD : 0u;
    } else if (p->sync) {
        m->held_v = p->thd_v;
        m->held_i = p->thd_i;
    }
    w->thd_v = p->thd_v.valid ? p->thd_v.thd_pct : 0.0f;
    w->thd_i = p->thd_i.valid ? p->thd_i.thd_pct : 0.0f;
    w->flags |= (p->thd_v.valid ? MTR_WF_THD_V : 0u) | (p->thd_i.valid ? MTR_WF_THD_I : 0u);

    if (hc_flagged(&m->hc, p->start, p->end)) {
        w->flags |= MTR_WF_FLAGGED;
    }
    p->active = false;

    mtr_event_t ev = {0};
    ev.kind = MTR_EV_WINDOW;
    ev.energy_uj = w->energy_uj;
    push_event(m, &ev);
}

/* ------------------------------------------------------------ closing */

/* Close the window over m->acc ending before sample m->idx: it waits for
 * publication; the DC estimates move to its means now. */
static void close_window(mtr_t *m, bool sync, uint32_t end_w_q16, uint64_t end_q16)
{
    if (m->pend.active) {
        /* not reached with a sane configuration */
        while (m->pend.stage != MTR_ST_DONE) {
            analysis_step(m);
        }
        publish(m);
    }
    mtr_pending_t *p = &m->pend;
    weighted_sums(m, end_w_q16, &p->s);
    p->active = true;
    p->sync = sync;
    p->samples = m->acc.n;
    p->cycles = m->ncross > 0u ? m->ncross - 1u : 0u;
    p->start = m->start_idx;
    p->end = m->idx;
    p->start_q16 = m->start_cross_q16;
    p->end_q16 = end_q16;
    p->vmin = m->vmin;
    p->vmax = m->vmax;
    p->imin = m->imin;
    p->imax = m->imax;

    /* Frequency: least squares through the fundamental's crossings in the
     * window (its boundaries are rising ones; a quarter period of margin).
     * THD over exactly 10 of those periods from the first crossing. */
    uint64_t margin = ((uint64_t)m->fs_hz << Q16_SHIFT) / (4u * m->nominal_hz);
    uint64_t lo = p->start_q16 > margin ? p->start_q16 - margin : 0u;
    p->crossings = fz_period(&m->fz, lo, p->end_q16 + margin, &p->grid_start_q16, &p->period);
    p->thd_v = (harm_result_t){0};
    p->thd_i = (harm_result_t){0};
    p->stage = MTR_ST_DONE;
    p->held = false;
    bool analysable = sync && p->crossings >= THD_MIN_CROSSINGS && p->period > 0.0;
    if (!analysable) {
        m->held_v = (harm_result_t){0}; /* nothing to hold across a gap */
        m->held_i = (harm_result_t){0};
        m->since_analysis = m->harmonics_every - 1u; /* the next one is analysed */
    } else if (++m->since_analysis < m->harmonics_every) {
        p->held = true; /* the simulator's shortcut: the last window's THD */
        analysable = false;
    } else {
        m->since_analysis = 0u;
    }
    if (analysable) {
        p->grid_len_q32 = (uint64_t)((double)MTR_WINDOW_CYCLES * p->period * 4294967296.0);
        p->stage = MTR_ST_RESAMPLE_V;
        /* once the kernel's span after the last point is in */
        p->stage_at = (((p->grid_start_q16 << 16) + p->grid_len_q32) >> 32) + RS_AFTER + 2u;
    }
    /* the half cycles run ahead of the window engine: count those already
     * past the end */
    p->after = 0u;
    uint32_t kept = m->hc.halves < HC_HISTORY ? m->hc.halves : HC_HISTORY;
    for (uint32_t k = 0; k < kept; k++) {
        if ((m->hc.b_hist[(m->hc.halves - k) % HC_HISTORY] >> Q16_SHIFT) >= p->end) {
            p->after++;
        }
    }

    /* DC estimates for the next crossings and unsynchronised segments:
     * the windows' means, smoothed. One window's mean is off when the
     * voltage changes inside it (a dip starting mid-cycle moves it by a
     * few % of the amplitude), and at a dip's 10 % that would shift
     * rising against falling crossings by many samples; the ADC's offset
     * itself drifts slowly. */
    int32_t mv_q8 = (int32_t)ww_round_i64(p->s.sv / p->s.d * (double)Q8);
    int32_t mi_q8 = (int32_t)ww_round_i64(p->s.si / p->s.d * (double)Q8);
    m->v_dc_q8 += (mv_q8 - m->v_dc_q8) / DC_SMOOTHING;
    m->i_dc_q8 += (mi_q8 - m->i_dc_q8) / DC_SMOOTHING;
    sums_clear(&m->acc);
    extremes_reset(m);
}

/* Close the unreported segment (unsynchronised stretch + settling cycles)
 * that ends at a crossing: energy only, with the DC estimates learnt in the
 * first settling cycle removed instead of the segment's own means (the
 * segment is not an integer number of cycles, so its means are biased by
 * the AC signal). */
static void close_segment(mtr_t *m, uint32_t end_w_q16)
{
    mtr_wsums_t s;
    weighted_sums(m, end_w_q16, &s);
    double mv = (double)m->v_dc_q8 / (double)Q8;
    double mi = (double)m->i_dc_q8 / (double)Q8;
    /* sums of (v - mv)(i - mi) and (v[n-1] - mv)(i - mi) over the segment,
     * handed to active_power() as sums with zero means */
    mtr_wsums_t c = s;
    c.svi = s.svi - mv * s.si - mi * s.sv + s.d * mv * mi;
    c.svpi = s.svpi - mv * s.si - mi * s.sv + s.d * mv * mi;
    c.sv = 0.0;
    c.si = 0.0;
    double pw = s.d > 0.0 ? active_power(m, &c, (double)m->nominal_hz) : 0.0;

    mtr_event_t ev = {0};
    ev.kind = MTR_EV_SEGMENT;
    ev.energy_uj = energy_uj(m, pw, s.d);
    push_event(m, &ev);
    sums_clear(&m->acc);
    extremes_reset(m);
}

/* Sums of the stream up to the current crossing (the part of the previous
 * sample after the crossing excluded). */
static void learn_mark(const mtr_t *m, uint32_t w_q16, mtr_mark_t *mk)
{
    double w = (double)w_q16 / (double)Q16_ONE;
    mk->sv = (double)m->acc.sv - w * (double)m->prev_dv;
    mk->si = (double)m->acc.si - w * (double)m->prev_di;
    mk->d = (double)m->acc.n - w;
}

/* Settling: the first full cycle after (re)synchronisation gives the DC
 * estimates used for all following crossings, so that the first reported
 * window starts and ends at crossings detected against the same estimate. */
static void learn_dc(mtr_t *m, uint32_t w_q16)
{
    mtr_mark_t now;
    learn_mark(m, w_q16, &now);
    double d = now.d - m->learn.d;
    if (d > 0.0) {
        m->v_dc_q8 = (int32_t)ww_round_i64((now.sv - m->learn.sv) / d * (double)Q8);
        m->i_dc_q8 = (int32_t)ww_round_i64((now.si - m->learn.si) / d * (double)Q8);
    }
}

/* Start a window or settling segment at a crossing; the sample before it
 * (prev) enters with weight w_q16. */
static void start_span(mtr_t *m, uint64_t t_q16, uint32_t w_q16)
{
    m->ncross = 1u;
    m->start_cross_q16 = t_q16;
    m->start_idx = m->idx - 1u;
    m->start_w_q16 = w_q16;
    m->pre_dv = m->prev_dv;
    m->pre_di = m->prev_di;
    m->pre_pv = m->prev_pv;
    /* the pre-window sample belongs to this window too */
    extremes_reset(m);
    m->vmin = m->vmax = m->prev_dv;
    m->imin = m->imax = m->prev_di;
}

/* ------------------------------------------------------------ half cycles */

static void half_cycle(mtr_t *m, uint64_t b)
{
    hc_event_t evs[HC_DETECTORS];
    if (m->hc.started && b <= m->hc.last_b) {
        return;
    }
    uint32_t n = hc_boundary(&m->hc, m->ring_v, MTR_RING_MASK, b, evs);
    if (m->pend.active && (b >> Q16_SHIFT) >= m->pend.end) {
        m->pend.after++;
    }
    static const uint8_t kinds[HC_DETECTORS] = {MTR_PQ_DIP, MTR_PQ_SWELL, MTR_PQ_INTERRUPTION};
    double vs = ww_fabs(m->v_scale);
    for (uint32_t k = 0; k < n; k++) {
        mtr_event_t ev = {0};
        ev.kind = MTR_EV_PQ;
        ev.pq_kind = kinds[evs[k].which];
        ev.pq_start = evs[k].start;
        ev.pq_duration = evs[k].duration;
        ev.pq_extreme_v = (float)(evs[k].extreme * vs);
        push_event(m, &ev);
    }
}

/* The fundamental's rising crossings: 10-second frequency, and the
 * window engine's boundaries. */
static void fundamental_step(mtr_t *m)
{
    uint64_t t_q16;
    fz_kind_t kind = fz_step(&m->fz, m->ring_v, MTR_RING_MASK, m->in, m->v_dc_q8, &t_q16);
    if (kind != FZ_RISING) {
        return;
    }
    if (f10_crossing(&m->f10, t_q16)) {
        mtr_event_t ev = {0};
        ev.kind = MTR_EV_F10;
        ev.f10_hz = m->f10.value_hz;
        push_event(m, &ev);
    }
    /* for the window engine, which runs behind */
    if (m->xq_len < MTR_XQ) {
        m->xq[(m->xq_head + m->xq_len) % MTR_XQ] = t_q16;
        m->xq_len++;
    }
}

/*
 * Half-cycle boundaries: the voltage's crossings of either direction on the
 * raw samples (immediate, and right again when the voltage returns after an
 * interruption; the harmonics move them by a sample or two, which does not
 * matter to a one-cycle r.m.s.), with hysteresis and a quarter period of
 * blanking. Without crossings (an interruption) the boundaries keep the
 * rhythm of the last half cycle: one is forced a half period after the
 * last, once a quarter period more has shown that no crossing came instead.
 * So the Urms(1/2) of a supply that stops and comes back still spans whole
 * cycles of it.
 */
static void half_cycle_step(mtr_t *m, int32_t dv)
{
    int32_t x = dv * Q8 - m->v_dc_q8;
    int32_t prev = m->hc_prev_x;
    uint64_t n = m->in;
    bool crossing = false;
    m->hc_prev_x = x;
    if (m->hc_arm_rising && x >= 0) {
        m->hc_arm_rising = false;
        crossing = true;
    } else if (m->hc_arm_falling && x < 0) {
        m->hc_arm_falling = false;
        crossing = true;
    }
    if (x < -m->hyst_q8) {
        m->hc_arm_rising = true;
    } else if (x > m->hyst_q8) {
        m->hc_arm_falling = true;
    }
    uint64_t quarter = (uint64_t)(m->blank / 2u) << Q16_SHIFT;
    uint64_t now = n << Q16_SHIFT;
    uint64_t since = m->hc.started ? now - m->hc.last_b : 0u;
    if (crossing && n > 0u && (!m->hc.started || since >= quarter)) {
        /* between n-1 and n, linearly */
        int32_t num = prev < 0 ? -prev : prev;
        int32_t den = (x > prev ? x - prev : prev - x);
        uint64_t frac = den > 0 ? ((uint64_t)(uint32_t)num << Q16_SHIFT) / (uint32_t)den : Q16_ONE;
        if (frac > Q16_ONE) {
            frac = Q16_ONE;
        }
        uint64_t t = ((n - 1u) << Q16_SHIFT) + frac;
        if (m->hc.started && t > m->hc.last_b) {
            uint64_t len = t - m->hc.last_b;
            if (m->hc_crossed && len >= m->hc_half_min && len <= m->hc_half_max) {
                m->hc_half = len; /* the rhythm to keep */
            }
        }
        m->hc_crossed = true;
        half_cycle(m, t);
    } else if (m->hc.started && since >= m->hc_half + quarter) {
        m->hc_crossed = false;
        half_cycle(m, m->hc.last_b + m->hc_half); /* no crossing: interruption */
    }
}

/* ------------------------------------------------------------ the stream */

static void window_step(mtr_t *m);

void mtr_flush(mtr_t *m)
{
    if (m == NULL) {
        return;
    }
    /* the window engine catches up with the filter's horizon: up to there
     * every crossing is known (a window that a later crossing would close
     * stays open) */
    uint64_t horizon = m->in > 0u ? fz_horizon_q16(&m->fz, m->in) >> Q16_SHIFT : 0u;
    while (m->idx < horizon) {
        window_step(m);
    }
    if (m->pend.active) {
        while (m->pend.stage != MTR_ST_DONE) {
            analysis_step(m);
        }
        publish(m);
    }
    hc_event_t evs[HC_DETECTORS];
    uint32_t n = hc_flush(&m->hc, evs);
    static const uint8_t kinds[HC_DETECTORS] = {MTR_PQ_DIP, MTR_PQ_SWELL, MTR_PQ_INTERRUPTION};
    for (uint32_t k = 0; k < n; k++) {
        mtr_event_t ev = {0};
        ev.kind = MTR_EV_PQ;
        ev.pq_kind = kinds[evs[k].which];
        ev.pq_start = evs[k].start;
        ev.pq_duration = evs[k].duration;
        ev.pq_extreme_v = (float)(evs[k].extreme * ww_fabs(m->v_scale));
        push_event(m, &ev);
    }
}

/* A rising crossing of the fundamental (time t_q16) at delayed sample m,
 * which lies in [m-1, m): sample m-1 is split. */
static void window_crossing(mtr_t *m, uint64_t t_q16)
{
    uint64_t base = (m->idx - 1u) << Q16_SHIFT;
    uint64_t frac = t_q16 > base ? t_q16 - base : 0u;
    if (frac >= Q16_ONE) {
        frac = Q16_ONE - 1u;
    }
    uint32_t w_q16 = Q16_ONE - (uint32_t)frac; /* part of sample m-1 after it */
    uint64_t t = base + frac;
    if (m->have_cross && m->idx - m->last_cross_idx < m->blank) {
        return; /* not a new cycle */
    }
    m->have_cross = true;
    m->last_cross_idx = m->idx;
    switch (m->phase) {
    case MTR_PH_UNSYNC:
        /* Snapshot the sums at this crossing: the next cycle alone gives
         * the DC estimate. */
        m->phase = MTR_PH_SETTLE;
        m->ncross = 1u;
        learn_mark(m, w_q16, &m->learn);
        break;
    case MTR_PH_SETTLE:
        m->ncross++;
        if (m->ncross == 2u) {
            learn_dc(m, w_q16);
        } else {
            close_segment(m, w_q16);
            m->phase = MTR_PH_SYNC;
            start_span(m, t, w_q16);
        }
        break;
    default: /* MTR_PH_SYNC */
        m->ncross++;
        if (m->ncross > MTR_WINDOW_CYCLES) {
            close_window(m, true, w_q16, t);
            start_span(m, t, w_q16);
        }
        break;
    }
}

/* The window engine, MTR delay samples behind the input: sample m->idx. */
static void window_step(mtr_t *m)
{
    uint32_t at = (uint32_t)(m->idx & MTR_RING_MASK);
    int32_t dv = m->ring_v[at];
    int32_t di = m->ring_i[at];

    /* crossings in [idx-1, idx) */
    while (m->xq_len > 0u && m->xq[m->xq_head] < (m->idx << Q16_SHIFT)) {
        uint64_t t = m->xq[m->xq_head];
        m->xq_head = (m->xq_head + 1u) % MTR_XQ;
        m->xq_len--;
        if (m->idx > 0u) {
            window_crossing(m, t);
        }
    }

    if (m->acc.n >= m->max_len) {
        /* No crossing completed the window in time. */
        close_window(m, false, 0u, m->idx << Q16_SHIFT);
        m->phase = MTR_PH_UNSYNC;
        m->ncross = 0u;
        m->start_w_q16 = 0u;
        m->start_idx = m->idx;
        m->start_cross_q16 = m->idx << Q16_SHIFT;
    } else if (m->acc.n == 0u && m->phase != MTR_PH_SYNC && m->start_w_q16 == 0u) {
        /* first sample of an unsynchronised stretch */
        m->start_idx = m->idx;
        m->start_cross_q16 = m->idx << Q16_SHIFT;
    }

    m->acc.sv += dv;
    m->acc.si += di;
    m->acc.svv += (int64_t)(dv * dv);
    m->acc.sii += (int64_t)(di * di);
    m->acc.svi += (int64_t)(dv * di);
    m->acc.svpi += (int64_t)(m->prev_dv * di);
    m->acc.n++;
    m->vmin = dv < m->vmin ? dv : m->vmin;
    m->vmax = dv > m->vmax ? dv : m->vmax;
    m->imin = di < m->imin ? di : m->imin;
    m->imax = di > m->imax ? di : m->imax;
    m->prev_pv = m->prev_dv;
    m->prev_dv = dv;
    m->prev_di = di;
    m->idx++;
}

uint32_t mtr_feed(mtr_t *m, const adc_pair_t *samples, uint32_t count)
{
    if (samples == NULL) {
        return count;
    }
    for (uint32_t k = 0u; k < count; k++) {
        int32_t dv = (int32_t)samples[k].v - m->v_off;
        m->ring_v[m->in & MTR_RING_MASK] = (int16_t)dv;
        m->ring_i[m->in & MTR_RING_MASK] = (int16_t)((int32_t)samples[k].i - m->i_off);
        fundamental_step(m);
        half_cycle_step(m, dv);
        m->in++;
        if (m->in > m->delay) {
            window_step(m);
        }
        if (m->pend.active) {
            if (m->pend.stage != MTR_ST_DONE && m->in >= m->pend.stage_at) {
                analysis_step(m);
            } else if (m->pend.stage == MTR_ST_DONE &&
                       (m->pend.after >= PUBLISH_AFTER_HALVES || m->in >= m->pend.end + m->delay + m->max_defer)) {
                publish(m);
            }
        }
        if (m->q_len > 0u) {
            return k + 1u;
        }
    }
    return count;
}
