/*
 * meter.c - meter core glue: configuration, window bookkeeping, energy
 * registers and CAN dispatch.
 */
#include "meter.h"

void meter_config_default(meter_config_t *cfg, uint8_t node_id)
{
    cfg->fs_hz = METER_DEFAULT_FS_HZ;
    cfg->nominal_hz = METER_DEFAULT_NOMINAL_HZ;
    cfg->v_scale = (float)METER_DEFAULT_V_SCALE;
    cfg->i_scale = (float)METER_DEFAULT_I_SCALE;
    cfg->v_offset = (uint16_t)METER_DEFAULT_OFFSET;
    cfg->i_offset = (uint16_t)METER_DEFAULT_OFFSET;
    cfg->zc_hyst_counts = (uint16_t)METER_DEFAULT_ZC_HYST;
    cfg->node_id = node_id;
    cfg->reserved0 = 0u;
    cfg->udin_v = METER_DEFAULT_UDIN_V;
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
    if (cfg->node_id < METER_NODE_MIN || cfg->node_id > METER_NODE_MAX) {
        return false;
    }
    if (cfg->nominal_hz == 0u || cfg->fs_hz < 8u * cfg->nominal_hz) {
        return false; /* need several samples per cycle */
    }
    if (mtr_max_window_len(cfg->fs_hz, cfg->nominal_hz) == 0u) {
        return false;
    }
    if (cfg->v_offset > METER_ADC_MAX_CODE || cfg->i_offset > METER_ADC_MAX_CODE ||
        cfg->zc_hyst_counts > METER_ADC_MAX_CODE) {
        return false;
    }
    return finite_nonzero(cfg->v_scale) && finite_nonzero(cfg->i_scale);
}

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

bool meter_init(meter_t *m, const meter_config_t *cfg)
{
    if (m == NULL) {
        return false;
    }
    m->initialised = false;
    m->has_window = false;
    m->seq = 0u;
    m->e_import.wh = 0u;
    m->e_import.rem_uj = 0u;
    m->e_export.wh = 0u;
    m->e_export.rem_uj = 0u;
    if (!mtr_init(&m->mtr, cfg)) {
        return false;
    }
    m->cfg = *cfg;
    proto_init(&m->proto, cfg->node_id);
    m->initialised = true;
    return true;
}

static void add_energy(meter_t *m, int64_t uj)
{
    if (uj > 0) {
        meter_energy_add(&m->e_import, (uint64_t)uj);
    } else if (uj < 0) {
        meter_energy_add(&m->e_export, (uint64_t)(-uj));
    }
}

uint32_t meter_feed(meter_t *m, const adc_pair_t *samples, uint32_t count)
{
    uint32_t windows = 0u;
    if (m == NULL || !m->initialised || samples == NULL) {
        return 0u;
    }
    while (count > 0u) {
        mtr_event_t ev;
        uint32_t used = mtr_feed(&m->mtr, samples, count, &ev);
        samples += used;
        count -= used;
        if (ev.kind == MTR_EV_WINDOW) {
            m->seq++;
            m->last = ev.window;
            m->last.seq = m->seq;
            m->has_window = true;
            windows++;
        }
        if (ev.kind != MTR_EV_NONE) {
            add_energy(m, ev.energy_uj);
        }
    }
    return windows;
}

const meter_window_t *meter_last_window(const meter_t *m)
{
    return (m != NULL && m->has_window) ? &m->last : NULL;
}

bool meter_on_can_rx(meter_t *m, const can_frame_t *f)
{
    if (m == NULL || !m->initialised) {
        return false;
    }
    return proto_on_rx(&m->proto, meter_last_window(m), f);
}

bool meter_can_tx_pop(meter_t *m, can_frame_t *out)
{
    if (m == NULL || !m->initialised || out == NULL) {
        return false;
    }
    return txq_pop(&m->proto.txq, out);
}

double meter_energy_import_wh(const meter_t *m)
{
    return meter_energy_wh(&m->e_import);
}

double meter_energy_export_wh(const meter_t *m)
{
    return meter_energy_wh(&m->e_export);
}
