/*
 * metrology.c - zero-crossing synchronised window accumulation.
 * See metrology.h for the segmentation and boundary rules.
 */
#include "metrology.h"

#include "wmath.h"

#define Q8 256
#define Q16_SHIFT 16
#define Q16_ONE 65536u

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
    a->n = 0u;
}

bool mtr_init(mtr_t *m, const meter_config_t *cfg)
{
    if (m == NULL || !meter_config_valid(cfg)) {
        return false;
    }
    m->fs_hz = cfg->fs_hz;
    m->v_off = (int32_t)cfg->v_offset;
    m->i_off = (int32_t)cfg->i_offset;
    m->hyst_q8 = (int32_t)cfg->zc_hyst_counts * Q8;
    m->max_len = mtr_max_window_len(cfg->fs_hz, cfg->nominal_hz);
    m->blank = cfg->fs_hz / (2u * cfg->nominal_hz);
    m->v_scale = (double)cfg->v_scale;
    m->i_scale = (double)cfg->i_scale;

    m->idx = 0u;
    m->v_dc_q8 = 0;
    m->i_dc_q8 = 0;
    m->prev_x_q8 = 0;
    m->armed = false;
    m->phase = MTR_PH_UNSYNC;
    m->have_cross = false;
    m->ncross = 0u;
    m->first_cross_q16 = 0u;
    m->last_cross_q16 = 0u;
    m->last_cross_idx = 0u;
    m->prev_dv = 0;
    m->prev_di = 0;
    m->start_w_q16 = 0u;
    m->pre_dv = 0;
    m->pre_di = 0;
    m->learn.sv = 0.0;
    m->learn.si = 0.0;
    m->learn.d = 0.0;
    sums_clear(&m->acc);
    return true;
}

/* Sums over the exact interval between the segment's boundaries. */
typedef struct {
    double d; /* effective length in samples */
    double sv, si, svv, sii, svi;
} wsums_t;

/* end_w_q16: weight of the last sample to remove (0 if the segment does not
 * end at a crossing); the last sample is m->prev_dv/prev_di. */
static void weighted_sums(const mtr_t *m, uint32_t end_w_q16, wsums_t *w)
{
    const mtr_sums_t *a = &m->acc;
    double ws = (double)m->start_w_q16 / (double)Q16_ONE;
    double we = (double)end_w_q16 / (double)Q16_ONE;
    double pv = (double)m->pre_dv, pc = (double)m->pre_di;
    double lv = (double)m->prev_dv, li = (double)m->prev_di;

    w->d = (double)a->n + ws - we;
    w->sv = (double)a->sv + ws * pv - we * lv;
    w->si = (double)a->si + ws * pc - we * li;
    w->svv = (double)a->svv + ws * pv * pv - we * lv * lv;
    w->sii = (double)a->sii + ws * pc * pc - we * li * li;
    w->svi = (double)a->svi + ws * pv * pc - we * lv * li;
}

/* Energy in microjoules of power p_w over d samples. */
static int64_t energy_uj(const mtr_t *m, double p_w, double d)
{
    return ww_round_i64(p_w * d * 1e6 / (double)m->fs_hz);
}

/* Close a reported window over m->acc ending before sample m->idx. */
static void close_window(mtr_t *m, bool sync, uint32_t end_w_q16, mtr_event_t *ev)
{
    meter_window_t *w = &ev->window;
    wsums_t s;
    weighted_sums(m, end_w_q16, &s);

    /* Analytic DC removal (EmonLibCM): mean of squares minus square of mean. */
    double mv = s.sv / s.d;
    double mi = s.si / s.d;
    double var_v = s.svv / s.d - mv * mv;
    double var_i = s.sii / s.d - mi * mi;
    double cov = s.svi / s.d - mv * mi;

    double vrms = ww_sqrt(var_v) * ww_fabs(m->v_scale);
    double irms = ww_sqrt(var_i) * ww_fabs(m->i_scale);
    double p = cov * m->v_scale * m->i_scale;
    double sa = vrms * irms;

    w->seq = 0u;
    w->samples = m->acc.n;
    w->duration_s = (float)(s.d / (double)m->fs_hz);
    w->t_end = m->idx;
    w->flags = sync ? MTR_WF_SYNC : 0u;
    w->cycles = 0u;
    w->frequency_hz = 0.0f;
    if (m->ncross >= 2u && m->last_cross_q16 > m->first_cross_q16) {
        double span = (double)(m->last_cross_q16 - m->first_cross_q16) / (double)Q16_ONE;
        w->cycles = m->ncross - 1u;
        w->frequency_hz = (float)((double)w->cycles * (double)m->fs_hz / span);
        w->flags |= MTR_WF_FREQ;
    }
    w->vrms = (float)vrms;
    w->irms = (float)irms;
    w->p = (float)p;
    w->s = (float)sa;
    w->n = (float)ww_sqrt(sa * sa - p * p);
    w->pf = sa > 0.0 ? (float)(p / sa) : 0.0f;
    w->v_dc = (float)((double)m->v_off + mv);
    w->i_dc = (float)((double)m->i_off + mi);
    w->p_mw = ww_round_i32(p * 1000.0);
    w->energy_uj = energy_uj(m, p, s.d);

    ev->kind = MTR_EV_WINDOW;
    ev->energy_uj = w->energy_uj;

    /* DC estimates for the next crossings / unsynchronised segments. */
    m->v_dc_q8 = (int32_t)ww_round_i64(mv * (double)Q8);
    m->i_dc_q8 = (int32_t)ww_round_i64(mi * (double)Q8);
    sums_clear(&m->acc);
}

/* Close the unreported segment (unsynchronised stretch + settling cycles)
 * that ends at a crossing: energy only, with the DC estimates learnt in the
 * first settling cycle removed instead of the segment's own means (the
 * segment is not an integer number of cycles, so its means are biased by
 * the AC signal). */
static void close_segment(mtr_t *m, uint32_t end_w_q16, mtr_event_t *ev)
{
    wsums_t s;
    weighted_sums(m, end_w_q16, &s);
    double mv = (double)m->v_dc_q8 / (double)Q8;
    double mi = (double)m->i_dc_q8 / (double)Q8;
    /* sum((v - mv)(i - mi)) over the segment */
    double e_counts = s.svi - mv * s.si - mi * s.sv + s.d * mv * mi;

    ev->kind = MTR_EV_SEGMENT;
    ev->energy_uj = ww_round_i64(e_counts * m->v_scale * m->i_scale * 1e6 / (double)m->fs_hz);
    sums_clear(&m->acc);
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

/*
 * The crossing that closes a window was detected against the old DC estimate;
 * close_window() has just replaced it. For the frequency of the next window,
 * move that crossing to where the new estimate would have put it, using the
 * slope between the two samples around it (linear, so only accurate for small
 * changes; only the start-up window after a badly configured offset sees a
 * large one). Window boundaries are not moved: gapless.
 */
static uint64_t rethreshold_q16(const mtr_t *m, uint64_t t_q16, int32_t delta_q8, uint32_t slope_q8)
{
    int64_t corr = ((int64_t)delta_q8 * (int64_t)Q16_ONE) / (int64_t)slope_q8;
    int64_t lim = (int64_t)m->blank * (int64_t)(Q16_ONE / 2u); /* quarter period */
    if (corr > lim) {
        corr = lim;
    } else if (corr < -lim) {
        corr = -lim;
    }
    if (corr < 0 && (uint64_t)(-corr) > t_q16) {
        return 0u;
    }
    return corr < 0 ? t_q16 - (uint64_t)(-corr) : t_q16 + (uint64_t)corr;
}

/* Start a window or settling segment at a crossing; the sample before it
 * (prev) enters with weight w_q16. */
static void start_span(mtr_t *m, uint64_t t_q16, uint32_t w_q16)
{
    m->ncross = 1u;
    m->first_cross_q16 = t_q16;
    m->last_cross_q16 = t_q16;
    m->start_w_q16 = w_q16;
    m->pre_dv = m->prev_dv;
    m->pre_di = m->prev_di;
}

uint32_t mtr_feed(mtr_t *m, const adc_pair_t *samples, uint32_t count, mtr_event_t *ev)
{
    ev->kind = MTR_EV_NONE;
    ev->energy_uj = 0;
    if (samples == NULL) {
        return count;
    }
    for (uint32_t k = 0u; k < count; k++) {
        int32_t dv = (int32_t)samples[k].v - m->v_off;
        int32_t di = (int32_t)samples[k].i - m->i_off;
        int32_t x = dv * Q8 - m->v_dc_q8;
        bool closed = false;

        if (m->armed) {
            if (x >= 0) {
                m->armed = false;
                if (!m->have_cross || m->idx - m->last_cross_idx >= m->blank) {
                    /* prev < 0 <= x: crossing at idx-1 + frac, frac in (0, 1] */
                    uint32_t num = (uint32_t)(-m->prev_x_q8);
                    uint32_t den = (uint32_t)(x - m->prev_x_q8);
                    uint32_t frac = (uint32_t)(((uint64_t)num << Q16_SHIFT) / den);
                    uint64_t t_q16 = ((m->idx - 1u) << Q16_SHIFT) + frac;
                    uint32_t w_q16 = Q16_ONE - frac; /* part of sample idx-1 after it */

                    m->have_cross = true;
                    m->last_cross_idx = m->idx;
                    switch (m->phase) {
                    case MTR_PH_UNSYNC:
                        /* Snapshot the sums at this crossing: the next cycle
                         * alone gives the DC estimate. */
                        m->phase = MTR_PH_SETTLE;
                        m->ncross = 1u;
                        learn_mark(m, w_q16, &m->learn);
                        break;
                    case MTR_PH_SETTLE:
                        m->ncross++;
                        if (m->ncross == 2u) {
                            learn_dc(m, w_q16);
                        } else {
                            close_segment(m, w_q16, ev);
                            closed = true;
                            m->phase = MTR_PH_SYNC;
                            start_span(m, t_q16, w_q16);
                        }
                        break;
                    default: /* MTR_PH_SYNC */
                        m->ncross++;
                        m->last_cross_q16 = t_q16;
                        if (m->ncross > MTR_WINDOW_CYCLES) {
                            int32_t old_dc = m->v_dc_q8;
                            close_window(m, true, w_q16, ev);
                            closed = true;
                            start_span(m, rethreshold_q16(m, t_q16, m->v_dc_q8 - old_dc, den),
                                       w_q16);
                        }
                        break;
                    }
                }
            }
        } else if (x < -m->hyst_q8) {
            m->armed = true;
        }

        if (!closed && m->acc.n >= m->max_len) {
            /* No crossing completed the window in time. */
            close_window(m, false, 0u, ev);
            closed = true;
            m->phase = MTR_PH_UNSYNC;
            m->ncross = 0u;
            m->start_w_q16 = 0u;
        }

        m->acc.sv += dv;
        m->acc.si += di;
        m->acc.svv += (int64_t)(dv * dv);
        m->acc.sii += (int64_t)(di * di);
        m->acc.svi += (int64_t)(dv * di);
        m->acc.n++;
        m->prev_x_q8 = x;
        m->prev_dv = dv;
        m->prev_di = di;
        m->idx++;

        if (closed) {
            return k + 1u;
        }
    }
    return count;
}
