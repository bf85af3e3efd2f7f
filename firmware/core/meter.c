/*
 * meter.c - the meter's own side: configuration, boot, windows, energy
 * registers, clock, 10-minute aggregates, event log, nonvolatile state.
 * The protocol engine on the bus is in meter_can.c.
 */
#include <stddef.h>

#include "crc32.h"
#include "meter_internal.h"
#include "wmath.h"

void meter_config_default(meter_config_t *cfg)
{
    cfg->fs_hz = METER_DEFAULT_FS_HZ;
    cfg->nominal_hz = METER_DEFAULT_NOMINAL_HZ;
    cfg->v_scale = (float)METER_DEFAULT_V_SCALE;
    cfg->i_scale = (float)METER_DEFAULT_I_SCALE;
    cfg->v_offset = (uint16_t)METER_DEFAULT_OFFSET;
    cfg->i_offset = (uint16_t)METER_DEFAULT_OFFSET;
    cfg->zc_hyst_counts = (uint16_t)METER_DEFAULT_ZC_HYST;
    cfg->harmonics_every = 1u;
    cfg->udin_v = METER_DEFAULT_UDIN_V;
    cfg->phase_deg = 0.0f;
}

static bool finite_nonzero(float x)
{
    /* NaN fails both comparisons; infinities fail the bounds. */
    return (x > 0.0f && x < 1e30f) || (x < 0.0f && x > -1e30f);
}

bool meter_config_valid(const meter_config_t *cfg)
{
    if (cfg == NULL) {
        return false;
    }
    if (cfg->nominal_hz == 0u || cfg->fs_hz < 8u * cfg->nominal_hz) {
        return false; /* need several samples per cycle */
    }
    if (mtr_max_window_len(cfg->fs_hz, cfg->nominal_hz) == 0u) {
        return false;
    }
    /* the fundamental's filter: an eighth of a nominal period of delay line */
    if (mtr_zc_len(cfg->fs_hz, cfg->nominal_hz) > MTR_ZC_MAX_L) {
        return false;
    }
    if (!(cfg->phase_deg >= -METER_MAX_PHASE_DEG && cfg->phase_deg <= METER_MAX_PHASE_DEG)) {
        return false; /* also NaN */
    }
    if (!(cfg->udin_v > 0.0f && cfg->udin_v < 1e6f)) {
        return false;
    }
    if (cfg->harmonics_every > METER_MAX_HARMONICS_EVERY) {
        return false;
    }
    if (cfg->v_offset > METER_ADC_MAX_CODE || cfg->i_offset > METER_ADC_MAX_CODE ||
        cfg->zc_hyst_counts > METER_ADC_MAX_CODE) {
        return false;
    }
    return finite_nonzero(cfg->v_scale) && finite_nonzero(cfg->i_scale);
}

/* ------------------------------------------------------------ energy */

void meter_energy_add(meter_energy_t *e, uint64_t uj)
{
    uint64_t total = (uint64_t)e->rem_uj + uj;
    e->wh += total / METER_UJ_PER_WH;
    e->rem_uj = (uint32_t)(total % METER_UJ_PER_WH);
}

double meter_energy_wh(const meter_energy_t *e)
{
    return (double)e->wh + (double)e->rem_uj / (double)METER_UJ_PER_WH;
}

uint64_t meter_energy_mwh(const meter_energy_t *e)
{
    return e->wh * 1000u + e->rem_uj / METER_UJ_PER_MWH;
}

static void energy_from_mwh(meter_energy_t *e, uint64_t mwh)
{
    e->wh = mwh / 1000u;
    e->rem_uj = (uint32_t)(mwh % 1000u) * METER_UJ_PER_MWH;
}

/* Persist a register each time it crosses a whole Wh, and only the whole
 * Wh: a power loss then costs less than 1 Wh, the flash is written at most
 * once per Wh, and after a boot the register resumes from exactly
 * floor(last value), which lets the aggregator count what follows without
 * counting anything twice (docs/protocol.md, ENERGY). */
static bool register_moved(const meter_energy_t *e, uint64_t *persisted_mwh)
{
    uint64_t whole = meter_energy_mwh(e) / 1000u * 1000u;
    if (whole > *persisted_mwh) {
        *persisted_mwh = whole;
        return true;
    }
    return false;
}

static void add_energy(meter_t *m, int64_t uj)
{
    meter_aggregation_t *a = &m->aggregation;
    bool moved;
    if (uj > 0) {
        meter_energy_add(&m->e_import, (uint64_t)uj);
        a->import_uj += (uint64_t)uj;
        moved = register_moved(&m->e_import, &m->nv.import_mwh);
    } else if (uj < 0) {
        meter_energy_add(&m->e_export, (uint64_t)(-uj));
        a->export_uj += (uint64_t)(-uj);
        moved = register_moved(&m->e_export, &m->nv.export_mwh);
    } else {
        return;
    }
    if (moved && m->online) {
        meter_nv_changed(m);
    }
}

void meter_clear_energy(meter_t *m)
{
    m->e_import = (meter_energy_t){0, 0};
    m->e_export = (meter_energy_t){0, 0};
    m->nv.import_mwh = 0;
    m->nv.export_mwh = 0;
    m->nv.energy_epoch++;
    meter_nv_changed(m);
}

double meter_energy_import_wh(const meter_t *m)
{
    return meter_energy_wh(&m->e_import);
}

double meter_energy_export_wh(const meter_t *m)
{
    return meter_energy_wh(&m->e_export);
}

/* ------------------------------------------------------------ nonvolatile state */

bool meter_nv_valid(const meter_nv_t *nv)
{
    return nv != NULL && nv->magic == METER_NV_MAGIC && nv->version == METER_NV_VERSION &&
           nv->size == METER_NV_SIZE && nv->crc == crc32_ieee(nv, offsetof(meter_nv_t, crc));
}

void meter_nv_changed(meter_t *m)
{
    m->nv.crc = crc32_ieee(&m->nv, offsetof(meter_nv_t, crc));
    m->nv_dirty = true;
}

const meter_nv_t *meter_nv(const meter_t *m)
{
    return &m->nv;
}

bool meter_nv_take_dirty(meter_t *m)
{
    bool dirty = m->nv_dirty;
    m->nv_dirty = false;
    return dirty;
}

static uint32_t keys_crc(const meter_identity_t *id)
{
    uint8_t keys[2 * SECURE_KEY_SIZE];
    for (unsigned k = 0; k < SECURE_KEY_SIZE; k++) {
        keys[k] = id->meter_key[k];
        keys[SECURE_KEY_SIZE + k] = id->group_key[k];
    }
    return crc32_ieee(keys, sizeof keys);
}

/* ------------------------------------------------------------ init and boot */

static void clear_bytes(void *p, size_t n)
{
    uint8_t *b = p;
    while (n-- > 0) {
        *b++ = 0;
    }
}

bool meter_init(meter_t *m, const meter_config_t *cfg)
{
    if (m == NULL) {
        return false;
    }
    /* All-zero is the initial state of every part: empty queues and
     * reassemblers, no window, no time, counters at 0. */
    clear_bytes(m, sizeof *m);
    if (!mtr_init(&m->mtr, cfg)) {
        return false;
    }
    m->cfg = *cfg;
    meter_apply_thresholds(m);
    m->relay_on = true; /* power-up state */
    m->initialised = true;
    return true;
}

bool meter_boot(meter_t *m, const meter_config_t *cfg, const uint8_t page[CONFIG_PAGE_SIZE],
                const meter_nv_t *persisted)
{
    meter_nv_t nv;
    bool have_nv = persisted != NULL && meter_nv_valid(persisted);
    if (have_nv) {
        nv = *persisted; /* before meter_init: persisted may point at m->nv */
    }
    if (!meter_init(m, cfg) || page == NULL || config_page_parse(page, &m->id) != CONFIG_OK) {
        return false;
    }
    uint32_t keys = keys_crc(&m->id);
    if (!have_nv || nv.keys_crc != keys) {
        clear_bytes(&nv, sizeof nv);
        nv.magic = METER_NV_MAGIC;
        nv.version = METER_NV_VERSION;
        nv.size = METER_NV_SIZE;
        nv.keys_crc = keys;
    }
    m->nv = nv;
    /* Values up to the reservation may have been sent before the reset:
     * continue above all of them. */
    m->tx_fv = nv.tx_fv_reserved;
    energy_from_mwh(&m->e_import, nv.import_mwh);
    energy_from_mwh(&m->e_export, nv.export_mwh);
    m->nv.boots++;
    meter_nv_changed(m);
    m->online = true;
    return true;
}

/* ------------------------------------------------------------ clock */

uint64_t meter_clock(const meter_t *m)
{
    return m->mtr.in;
}

uint64_t meter_samples_in_ms(const meter_t *m, uint64_t ms)
{
    return ms * m->cfg.fs_hz / 1000u;
}

uint64_t meter_time_ms(const meter_t *m, uint64_t sample)
{
    uint64_t fs = m->cfg.fs_hz;
    if (!m->time_valid) {
        return sample * 1000u / fs;
    }
    if (sample >= m->time_base_sample) {
        return m->time_base_ms + (sample - m->time_base_sample) * 1000u / fs;
    }
    uint64_t back = (m->time_base_sample - sample) * 1000u / fs;
    return back < m->time_base_ms ? m->time_base_ms - back : 0u;
}

static uint32_t seconds_of(uint64_t ms)
{
    uint64_t s = ms / 1000u;
    return s > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)s;
}

static uint32_t interval_of(uint64_t ms)
{
    uint32_t s = seconds_of(ms);
    return s - s % METER_AGGREGATE_S;
}

void meter_set_time(meter_t *m, uint64_t unix_ms)
{
    meter_aggregation_t *a = &m->aggregation;
    /* A step into another interval would leave the running aggregate with
     * a hole or an overlap: drop it; the next whole interval starts at the
     * next boundary. A correction within the interval keeps it. */
    if (a->active && interval_of(unix_ms) != a->start_s) {
        a->active = false;
    }
    m->time_valid = true;
    m->time_base_ms = unix_ms;
    m->time_base_sample = meter_clock(m);
    /* the 10-second frequency intervals follow the clock */
    uint64_t to_tick_ms = (10000u - unix_ms % 10000u) % 10000u;
    mtr_align_f10(&m->mtr, m->time_base_sample + meter_samples_in_ms(m, to_tick_ms));
}

uint32_t meter_identify_seconds_left(const meter_t *m)
{
    uint64_t now = meter_clock(m);
    if (now >= m->identify_until) {
        return 0;
    }
    return (uint32_t)((m->identify_until - now + m->cfg.fs_hz - 1u) / m->cfg.fs_hz);
}

bool meter_lockout_active(const meter_t *m)
{
    return meter_clock(m) < m->lockout_until;
}

void meter_set_can_errors(meter_t *m, uint8_t tec, uint8_t rec)
{
    m->tec = tec;
    m->rec = rec;
}

/* ------------------------------------------------------------ 10-minute aggregates */

static uint16_t centivolts(float vrms)
{
    double cv = (double)vrms * 100.0;
    return cv >= 65535.0 ? 0xFFFFu : (uint16_t)ww_round_i64(cv > 0.0 ? cv : 0.0);
}

static int64_t div_round(int64_t num, int64_t den)
{
    return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

static uint32_t uj_to_mwh(uint64_t uj)
{
    uint64_t mwh = (uj + METER_UJ_PER_MWH / 2u) / METER_UJ_PER_MWH;
    return mwh > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)mwh;
}

/* Root of the mean of n squares, rounded, within a u16 (0xFFFF is "not
 * measured", so at most 0xFFFE). */
static uint16_t rms_of(uint64_t sq_sum, uint32_t n)
{
    double r = ww_sqrt((double)sq_sum / (double)n);
    return r >= 65534.0 ? 0xFFFEu : (uint16_t)ww_round_i64(r);
}

/* THD in 0.01 %, limited below PROTO_NOT_MEASURED. */
uint16_t meter_thd_centipercent(float pct)
{
    double v = (double)pct * 100.0;
    return v >= 65534.0 ? 0xFFFEu : v > 0.0 ? (uint16_t)ww_round_i64(v) : 0u;
}

static void store_aggregate(meter_t *m)
{
    const meter_aggregation_t *a = &m->aggregation;
    if (!a->whole || a->windows == 0) {
        return;
    }
    proto_aggregate_t *r = &m->aggregates[m->aggregates_total % METER_AGGREGATES];
    r->start_s = a->start_s;
    r->flags = a->flags;
    r->vrms_mean = rms_of(a->vrms_sq_sum, a->windows);
    r->vrms_min = a->vrms_min;
    r->vrms_max = a->vrms_max;
    r->p_mean = (int32_t)div_round(a->p_sum, a->windows);
    r->p_min = a->p_min;
    r->p_max = a->p_max;
    r->f_mean = a->f_windows > 0 ? (uint16_t)div_round((int64_t)a->f_sum, a->f_windows) : 0u;
    r->thd_v = a->thd_v_windows > 0 ? rms_of(a->thd_v_sq_sum, a->thd_v_windows) : PROTO_NOT_MEASURED;
    r->thd_i = a->thd_i_windows > 0 ? rms_of(a->thd_i_sq_sum, a->thd_i_windows) : PROTO_NOT_MEASURED;
    r->import_mwh = uj_to_mwh(a->import_uj);
    r->export_mwh = uj_to_mwh(a->export_uj);
    m->aggregates_total++;
}

static void begin_aggregation(meter_aggregation_t *a, uint32_t start_s, bool whole)
{
    *a = (meter_aggregation_t){0};
    a->active = true;
    a->whole = whole;
    a->start_s = start_s;
    a->vrms_min = 0xFFFFu;
    a->p_min = INT32_MAX;
    a->p_max = INT32_MIN;
}

/* Windows belong to the interval in which they end. */
static void aggregate_window(meter_t *m, const meter_window_t *w)
{
    meter_aggregation_t *a = &m->aggregation;
    if (!m->time_valid) {
        return; /* aggregates only while the time is valid */
    }
    uint32_t start = interval_of(meter_time_ms(m, w->t_end));
    if (a->active && start != a->start_s) {
        bool forward = start > a->start_s;
        store_aggregate(m);
        begin_aggregation(a, start, forward); /* crossed a boundary: a whole interval begins */
    } else if (!a->active) {
        begin_aggregation(a, start, false); /* time just became valid: partial interval */
    }
    uint16_t cv = centivolts(w->vrms);
    a->windows++;
    a->vrms_sq_sum += (uint64_t)cv * cv;
    if ((w->flags & MTR_WF_FLAGGED) != 0u) {
        a->flags |= PROTO_AGG_FLAGGED; /* a flagged value flags its aggregate */
    }
    if ((w->flags & (MTR_WF_THD_V | MTR_WF_THD_HELD)) == MTR_WF_THD_V) {
        uint64_t t = meter_thd_centipercent(w->thd_v);
        a->thd_v_sq_sum += t * t;
        a->thd_v_windows++;
    }
    if ((w->flags & (MTR_WF_THD_I | MTR_WF_THD_HELD)) == MTR_WF_THD_I) {
        uint64_t t = meter_thd_centipercent(w->thd_i);
        a->thd_i_sq_sum += t * t;
        a->thd_i_windows++;
    }
    a->vrms_min = cv < a->vrms_min ? cv : a->vrms_min;
    a->vrms_max = cv > a->vrms_max ? cv : a->vrms_max;
    a->p_sum += w->p_mw;
    a->p_min = w->p_mw < a->p_min ? w->p_mw : a->p_min;
    a->p_max = w->p_mw > a->p_max ? w->p_mw : a->p_max;
    if ((w->flags & MTR_WF_FREQ) != 0u) {
        double mhz = (double)w->frequency_hz * 1000.0;
        a->f_sum += mhz >= 65535.0 ? 0xFFFFu : (uint64_t)ww_round_i64(mhz);
        a->f_windows++;
    }
}

/* ------------------------------------------------------------ events */

bool meter_log_event(meter_t *m, uint8_t kind, uint64_t start_sample, uint32_t duration_ms,
                     uint16_t extreme)
{
    if (m == NULL || !m->initialised || kind < PROTO_EVENT_DIP || kind > PROTO_EVENT_INTERRUPTION) {
        return false;
    }
    uint64_t ms = meter_time_ms(m, start_sample);
    proto_event_t *e = &m->events[m->events_total % METER_EVENTS];
    e->seq = m->nv.event_seq;
    e->kind = kind;
    e->start_s = seconds_of(ms);
    e->start_ms = (uint16_t)(ms % 1000u);
    e->duration_ms = duration_ms;
    e->extreme = extreme;
    m->events_total++;
    m->nv.event_seq++; /* numbers never repeat, not even after a reboot */
    if (m->online) {
        meter_nv_changed(m);
    }
    return true;
}

/* ------------------------------------------------------------ 150-cycle aggregates */

static void agg150_close(meter_t *m)
{
    meter_agg150_acc_t *a = &m->acc150;
    if (a->windows == 0u) {
        return;
    }
    meter_agg150_t *r = &m->agg150;
    double n = (double)a->windows;
    r->seq++;
    r->t_start = a->t_start;
    r->t_end = a->t_end;
    r->windows = a->windows;
    r->flags = a->flags;
    r->vrms = (float)ww_sqrt(a->v2 / n);
    r->irms = (float)ww_sqrt(a->i2 / n);
    r->p = (float)(a->p / n);
    r->f = a->nf > 0u ? (float)(a->f / (double)a->nf) : 0.0f;
    r->thd_v = a->ntv > 0u ? (float)ww_sqrt(a->tv2 / (double)a->ntv) : -1.0f;
    r->thd_i = a->nti > 0u ? (float)ww_sqrt(a->ti2 / (double)a->nti) : -1.0f;
    *a = (meter_agg150_acc_t){0};
}

static void agg150_window(meter_t *m, const meter_window_t *w)
{
    meter_agg150_acc_t *a = &m->acc150;
    bool timed = m->time_valid;
    uint32_t interval = timed ? interval_of(meter_time_ms(m, w->t_end)) : 0u;
    /* resynchronised on the 10-minute clock: the value before it is short */
    if (a->windows > 0u && (a->timed != timed || a->interval_s != interval)) {
        agg150_close(m);
    }
    if (a->windows == 0u) {
        a->t_start = w->t_start;
        a->timed = timed;
        a->interval_s = interval;
    }
    a->windows++;
    a->t_end = w->t_end;
    if ((w->flags & MTR_WF_FLAGGED) != 0u) {
        a->flags |= PROTO_AGG_FLAGGED;
    }
    a->v2 += (double)w->vrms * (double)w->vrms;
    a->i2 += (double)w->irms * (double)w->irms;
    a->p += (double)w->p;
    if ((w->flags & MTR_WF_FREQ) != 0u) {
        a->f += (double)w->frequency_hz;
        a->nf++;
    }
    if ((w->flags & (MTR_WF_THD_V | MTR_WF_THD_HELD)) == MTR_WF_THD_V) {
        a->tv2 += (double)w->thd_v * (double)w->thd_v;
        a->ntv++;
    }
    if ((w->flags & (MTR_WF_THD_I | MTR_WF_THD_HELD)) == MTR_WF_THD_I) {
        a->ti2 += (double)w->thd_i * (double)w->thd_i;
        a->nti++;
    }
    if (a->windows == METER_AGG150_WINDOWS) {
        agg150_close(m);
    }
}

/* ------------------------------------------------------------ samples in */

void meter_apply_thresholds(meter_t *m)
{
    const meter_thresholds_t *t = &m->thresholds;
    double udin = t->set ? (double)t->udin / 100.0 : (double)m->cfg.udin_v;
    double dip = t->set ? (double)t->dip / 10000.0 : 0.90;
    double swell = t->set ? (double)t->swell / 10000.0 : 1.10;
    double hyst = t->set ? (double)t->hysteresis / 10000.0 : 0.02;
    /* interruption: 5 % of Udin (IEC 61000-4-30 / EN 50160) */
    mtr_set_thresholds(&m->mtr, udin * dip, udin * swell, udin * hyst, udin * 0.05);
}

static void on_window(meter_t *m, const meter_window_t *w)
{
    m->seq++;
    m->last = *w;
    m->last.seq = m->seq;
    m->has_window = true;
    aggregate_window(m, &m->last);
    agg150_window(m, &m->last);
}

static void on_pq_event(meter_t *m, const mtr_event_t *ev)
{
    double fs = (double)m->cfg.fs_hz;
    double start = ev->pq_start > 0.0 ? ev->pq_start : 0.0;
    double ms = ev->pq_duration * 1000.0 / fs;
    double cv = (double)ev->pq_extreme_v * 100.0;
    uint32_t duration_ms = ms >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)ww_round_i64(ms > 0.0 ? ms : 0.0);
    uint16_t extreme = cv >= 65535.0 ? 0xFFFFu : (uint16_t)ww_round_i64(cv > 0.0 ? cv : 0.0);
    (void)meter_log_event(m, ev->pq_kind, (uint64_t)start, duration_ms, extreme);
}

/* Everything the metrology has queued; returns the windows published. */
static uint32_t take_events(meter_t *m)
{
    uint32_t windows = 0u;
    mtr_event_t ev;
    while (mtr_next_event(&m->mtr, &ev)) {
        switch (ev.kind) {
        case MTR_EV_WINDOW:
            on_window(m, &m->mtr.window); /* first: it may start a new interval */
            windows++;
            add_energy(m, ev.energy_uj);
            break;
        case MTR_EV_SEGMENT:
            add_energy(m, ev.energy_uj);
            break;
        case MTR_EV_PQ:
            on_pq_event(m, &ev);
            break;
        case MTR_EV_F10:
            m->f10_hz = ev.f10_hz;
            m->f10_seq++;
            break;
        default:
            break;
        }
    }
    return windows;
}

uint32_t meter_feed(meter_t *m, const adc_pair_t *samples, uint32_t count)
{
    uint32_t windows = 0u;
    if (m == NULL || !m->initialised || samples == NULL) {
        return 0u;
    }
    while (count > 0u) {
        uint32_t used = mtr_feed(&m->mtr, samples, count);
        samples += used;
        count -= used;
        windows += take_events(m);
    }
    meter_can_expire(m);
    return windows;
}

uint32_t meter_flush(meter_t *m)
{
    if (m == NULL || !m->initialised) {
        return 0u;
    }
    mtr_flush(&m->mtr);
    return take_events(m);
}

const meter_window_t *meter_last_window(const meter_t *m)
{
    return (m != NULL && m->has_window) ? &m->last : NULL;
}
