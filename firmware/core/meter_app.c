/*
 * meter_app.c - see meter_app.h.
 */
#include "meter_app.h"

#include <stddef.h>

#include "crc32.h"

static void copy_bytes(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t k = 0; k < n; k++) {
        d[k] = s[k];
    }
}

static bool same_bytes(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (size_t k = 0; k < n; k++) {
        if (x[k] != y[k]) {
            return false;
        }
    }
    return true;
}

static uint32_t cycles(const app_t *a)
{
    return a->b->cycles != NULL ? a->b->cycles(a->b->ctx) : 0u;
}

static void account(app_t *a, unsigned task, uint32_t t0)
{
    uint32_t d = cycles(a) - t0;
    app_task_stats_t *s = &a->task[task];
    s->runs++;
    s->cycles += d;
    if (d > s->max) {
        s->max = d;
    }
}

/* ------------------------------------------------------------ persistence */

/* The energy ticks of the NV blob, folded in at mount (eeprom_emul.h). */
static void fold_nv(void *ctx, uint8_t key, uint8_t *data, uint16_t len,
                    const uint16_t ticks[EE_TICK_KINDS])
{
    (void)ctx;
    meter_nv_t nv;
    if (key != APP_KEY_NV || len != METER_NV_SIZE) {
        return;
    }
    copy_bytes(&nv, data, sizeof nv);
    if (!meter_nv_valid(&nv)) {
        return; /* an invalid blob stays invalid */
    }
    nv.import_mwh += (uint64_t)ticks[APP_TICK_IMPORT_WH] * 1000u;
    nv.export_mwh += (uint64_t)ticks[APP_TICK_EXPORT_WH] * 1000u;
    nv.crc = crc32_ieee(&nv, offsetof(meter_nv_t, crc));
    copy_bytes(data, &nv, sizeof nv);
}

/* APP_TICK_* if the new blob is the stored one plus exactly 1 Wh of one
 * register (the common case: a 4-byte tick instead of a 68-byte record),
 * else -1. */
static int energy_tick(const uint8_t *old, uint16_t len, const meter_nv_t *nv)
{
    meter_nv_t o;
    if (old == NULL || len != METER_NV_SIZE) {
        return -1;
    }
    for (int kind = APP_TICK_IMPORT_WH; kind <= APP_TICK_EXPORT_WH; kind++) {
        copy_bytes(&o, old, sizeof o);
        if (kind == APP_TICK_IMPORT_WH) {
            o.import_mwh += 1000u;
        } else {
            o.export_mwh += 1000u;
        }
        o.crc = crc32_ieee(&o, offsetof(meter_nv_t, crc));
        if (same_bytes(&o, nv, sizeof o)) {
            return kind;
        }
    }
    return -1;
}

/* Stores the blob if it changed. Until that succeeds nv_pending stays set
 * and no frame goes out (meter.h: persist before transmitting). */
static void persist(app_t *a)
{
    if (meter_nv_take_dirty(&a->meter)) {
        a->nv_pending = true;
    }
    if (!a->nv_pending) {
        return;
    }
    if (!a->eeprom_ok) {
        a->nv_failures++;
        return;
    }
    const meter_nv_t *nv = meter_nv(&a->meter);
    uint16_t len = 0;
    const uint8_t *old = ee_get(&a->ee, APP_KEY_NV, &len);
    int kind = energy_tick(old, len, nv);
    bool ok = kind >= 0 ? ee_tick(&a->ee, APP_KEY_NV, (uint8_t)kind, (const uint8_t *)nv, METER_NV_SIZE)
                        : ee_put(&a->ee, APP_KEY_NV, (const uint8_t *)nv, METER_NV_SIZE);
    if (ok) {
        a->nv_pending = false;
        if (kind >= 0) {
            a->nv_ticks++;
        } else {
            a->nv_writes++;
        }
    } else {
        a->nv_failures++;
    }
}

/* ------------------------------------------------------------ start */

static bool calibration_valid(const uint8_t *d, uint16_t len, app_calibration_t *out)
{
    if (d == NULL || len != sizeof *out) {
        return false;
    }
    copy_bytes(out, d, sizeof *out);
    return out->magic == APP_CAL_MAGIC &&
           out->crc == crc32_ieee(out, offsetof(app_calibration_t, crc));
}

bool app_start(app_t *a, const app_board_t *b)
{
    uint8_t *raw = (uint8_t *)a;
    for (size_t k = 0; k < sizeof *a; k++) {
        raw[k] = 0u;
    }
    a->b = b;
    a->eeprom_ok = b->flash != NULL && ee_mount(&a->ee, b->flash, fold_nv, NULL);

    /* The provisioned page is an import mailbox: a valid page that the
     * store does not hold yet is stored; the meter runs on the store. */
    meter_identity_t id;
    uint8_t page[CONFIG_PAGE_SIZE];
    const uint8_t *use = NULL;
    uint16_t len = 0;
    const uint8_t *stored = a->eeprom_ok ? ee_get(&a->ee, APP_KEY_CONFIG, &len) : NULL;
    bool stored_ok = stored != NULL && len == CONFIG_PAGE_SIZE && config_page_parse(stored, &id) == CONFIG_OK;
    bool provisioned_ok = b->config_page != NULL && config_page_parse(b->config_page, &id) == CONFIG_OK;
    if (provisioned_ok && (!stored_ok || !same_bytes(stored, b->config_page, CONFIG_PAGE_SIZE))) {
        a->config_imported = a->eeprom_ok && ee_put(&a->ee, APP_KEY_CONFIG, b->config_page, CONFIG_PAGE_SIZE);
        use = b->config_page;
    } else if (stored_ok) {
        use = stored;
    }
    if (use != NULL) {
        copy_bytes(page, use, CONFIG_PAGE_SIZE);
    }

    meter_config_t cfg;
    meter_config_default(&cfg);
    app_calibration_t cal;
    const uint8_t *c = a->eeprom_ok ? ee_get(&a->ee, APP_KEY_CALIBRATION, &len) : NULL;
    if (calibration_valid(c, len, &cal)) {
        meter_config_t try_cfg = cfg;
        try_cfg.v_scale = cal.v_scale;
        try_cfg.i_scale = cal.i_scale;
        try_cfg.v_offset = cal.v_offset;
        try_cfg.i_offset = cal.i_offset;
        try_cfg.phase_deg = cal.phase_deg;
        if (meter_config_valid(&try_cfg)) {
            cfg = try_cfg;
        }
    }

    meter_nv_t nv;
    const uint8_t *n = a->eeprom_ok ? ee_get(&a->ee, APP_KEY_NV, &len) : NULL;
    bool have_nv = n != NULL && len == METER_NV_SIZE;
    if (have_nv) {
        copy_bytes(&nv, n, sizeof nv);
    }
    /* An invalid page leaves the meter measuring but silent. */
    (void)meter_boot(&a->meter, &cfg, use != NULL ? page : NULL, have_nv ? &nv : NULL);
    persist(a); /* the boot count and the reservation, before anything is sent */
    return a->meter.online;
}

bool app_store_calibration(app_t *a, const app_calibration_t *cal)
{
    app_calibration_t c = *cal;
    c.magic = APP_CAL_MAGIC;
    c.crc = crc32_ieee(&c, offsetof(app_calibration_t, crc));
    return a->eeprom_ok && ee_put(&a->ee, APP_KEY_CALIBRATION, (const uint8_t *)&c, sizeof c);
}

/* ------------------------------------------------------------ the superloop */

static void task_measure(app_t *a)
{
    uint32_t n = 0;
    uint32_t t0 = cycles(a);
    const adc_pair_t *s = a->b->adc_take(a->b->ctx, &n);
    if (s == NULL) {
        return;
    }
    (void)meter_feed(&a->meter, s, n);
    a->b->adc_release(a->b->ctx);
    account(a, APP_TASK_MEASURE, t0);
}

static void task_can(app_t *a)
{
    const app_board_t *b = a->b;
    uint32_t t0 = cycles(a);
    bool work = false;
    can_frame_t f;
    /* first, so that a STATUS answered below carries this pass's TEC and
     * REC; bus-off shows as TEC 255 */
    b->can_status(b->ctx, &a->can);
    meter_set_can_errors(&a->meter, a->can.bus_off ? 255u : a->can.tec, a->can.rec);
    while (b->can_rx(b->ctx, &f)) {
        (void)meter_on_can_rx(&a->meter, &f);
        a->frames_in++;
        work = true;
    }
    persist(a);
    if (!a->nv_pending) {
        uint32_t room = b->can_tx_free(b->ctx);
        while (room > 0u && meter_can_tx_pop(&a->meter, &f)) {
            if (b->can_tx(b->ctx, &f)) {
                a->frames_out++;
            }
            room--;
            work = true;
        }
    }
    if (work) {
        account(a, APP_TASK_CAN, t0);
    }
}

static void task_display(app_t *a)
{
    const app_board_t *b = a->b;
    const meter_t *m = &a->meter;
    if (!a->relay_known || a->relay_shown != m->relay_on) {
        b->relay(b->ctx, m->relay_on);
        a->relay_shown = m->relay_on;
        a->relay_known = true;
    }
    if (m->seq == a->last_seq) {
        return;
    }
    uint32_t t0 = cycles(a);
    a->last_seq = m->seq;
    /* heartbeat: toggles with every window while online and on the bus,
     * steady on otherwise (not provisioned, or bus-off) */
    a->led_phase++;
    b->led(b->ctx, !m->online || a->can.bus_off || (a->led_phase & 1u) != 0u);
    if (b->display != NULL) {
        const meter_window_t *w = meter_last_window(m);
        app_display_t d = {0};
        if (w != NULL) {
            d.vrms = w->vrms;
            d.irms = w->irms;
            d.p = w->p;
            d.frequency_hz = w->frequency_hz;
        }
        d.import_wh = meter_energy_import_wh(m);
        d.export_wh = meter_energy_export_wh(m);
        d.relay_on = m->relay_on;
        d.online = m->online;
        d.bus_off = a->can.bus_off;
        d.node = m->id.node;
        b->display(b->ctx, &d);
    }
    account(a, APP_TASK_DISPLAY, t0);
}

void app_step(app_t *a)
{
    task_measure(a);
    task_can(a);
    task_display(a);
    a->b->watchdog_kick(a->b->ctx);
    a->passes++;
}
