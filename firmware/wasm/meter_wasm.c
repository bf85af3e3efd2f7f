/*
 * meter_wasm.c - WebAssembly ABI (version 3) of the meter core for the
 * browser simulator.
 *
 * One static meter per wasm instance; instantiate the module once per
 * simulated meter. Built by firmware/wasm/build.mjs into
 * firmware/build/wasm/meter.wasm (no imports; exports "memory" and the
 * functions below). The same file compiles natively for the host tests.
 *
 * ABI (integers and pointers are wasm i32 = JS number; a pointer is a byte
 * offset into the exported memory; doubles are f64). JS sees an i32
 * result as signed: read uint32_t results that may reach 2^31 (the FVs of
 * ww_stat) as `value >>> 0`.
 *
 *   uint8_t  *ww_config(void)             the 88-byte configuration page
 *                                         (docs/protocol.md section 3): write
 *                                         it before ww_boot.
 *   uint8_t  *ww_nv(void)                 the nonvolatile-state blob, opaque,
 *   uint32_t  ww_nv_size(void)            ww_nv_size() bytes: write the saved
 *                                         copy before ww_boot; read it back
 *                                         whenever ww_nv_dirty() says so.
 *   void      ww_set_harmonics_every(uint32_t n)
 *                                         before ww_boot: analyse the harmonics
 *                                         of one window in n (default 1, every
 *                                         window, as the meter; 2..50 save the
 *                                         simulator time, the windows in
 *                                         between carrying the last THD)
 *   uint32_t  ww_boot(uint32_t factory)   (re)start the meter from the page
 *                                         and the blob; factory = 1 ignores
 *                                         the blob (first power-up after
 *                                         provisioning). Default analogue
 *                                         config: the paper's CVCT scales,
 *                                         6400 Hz, 50 Hz. Returns 1 if the
 *                                         page is valid; 0: the meter still
 *                                         measures but never talks on CAN.
 *                                         Before the first ww_boot the meter
 *                                         is inert: everything returns 0.
 *   uint32_t  ww_nv_dirty(void)           1 if the blob changed since the last
 *                                         call: copy it to storage now, before
 *                                         sending the frames ww_tx returns.
 *   adc_pair_t *ww_samples(void)          sample buffer: ww_sample_capacity()
 *                                         pairs of {uint16 v, uint16 i}, 4
 *                                         bytes each, v at +0, i at +2, 12-bit
 *                                         codes 0..4095 (dual-ADC DMA word).
 *   uint32_t  ww_sample_capacity(void)    1024
 *   uint32_t  ww_feed(uint32_t count)     process pairs [0, count) of the
 *                                         buffer (count clamped to capacity);
 *                                         returns windows completed. The
 *                                         meter's clock is its sample count:
 *                                         time passes only through ww_feed.
 *   can_frame_t *ww_frame(void)           the 16-byte frame exchange buffer
 *                                         (can_frame_t): +0 u32 id, +4 u8 dlc,
 *                                         +5 u8 flags (bit0 extended id, bit1
 *                                         remote), +6 u8[8] data, +14 u8[2] 0.
 *   uint32_t  ww_rx(void)                 hand the frame in the exchange
 *                                         buffer to the meter; 1 if it is
 *                                         addressed to this meter (its node,
 *                                         or broadcast TIME) with a function
 *                                         it listens to, else 0. Replies, if
 *                                         any, are queued for ww_tx.
 *   uint32_t  ww_tx(void)                 if a frame is queued, copy it into
 *                                         the exchange buffer and return 1;
 *                                         else return 0 (buffer unchanged).
 *                                         Frames of one message come out
 *                                         consecutively, in order.
 *   double    ww_vrms(void)               last window, V      (0 before any)
 *   double    ww_irms(void)               last window, A
 *   double    ww_power(void)              last window, W (>0 import, <0 export)
 *   double    ww_frequency(void)          last window, Hz (0 if no voltage)
 *   double    ww_thd_v(void)              last window, THD of the voltage, %
 *   double    ww_thd_i(void)              ... of the current (-1: not measured:
 *                                         no synchronised window, or too
 *                                         small a fundamental)
 *   uint32_t  ww_window_flags(void)       last window: bit0 synchronised,
 *                                         bit1 frequency valid, bit2 flagged
 *                                         (a dip, swell or interruption
 *                                         touched it), bit3 thd_v, bit4 thd_i
 *                                         valid (MTR_WF_* in metrology.h)
 *   double    ww_frequency_10s(void)      last IEC 61000-4-30 10-second
 *                                         frequency, Hz (0 before the first)
 *   uint32_t  ww_events_total(void)       dips, swells and interruptions
 *                                         logged since ww_boot (they are
 *                                         read over CAN: READ_EVENTS)
 *   double    ww_agg150(uint32_t which)   the last 150-cycle aggregate:
 *                                         0 sequence (0: none yet), 1 windows,
 *                                         2 flagged (0/1), 3 Vrms V, 4 Irms A,
 *                                         5 P W, 6 f Hz, 7 THD v %, 8 THD i %
 *                                         (-1: none), other: 0
 *   uint32_t  ww_window_seq(void)         windows completed since ww_boot
 *   double    ww_energy_import_wh(void)   import register, Wh
 *   double    ww_energy_export_wh(void)   export register, Wh
 *   uint32_t  ww_relay_on(void)           relay state (power-up: 1, on)
 *   uint32_t  ww_stat(uint32_t which)     0 tx_fv: last FV sent
 *                                         1 last FV accepted from the
 *                                           aggregator (meter key)
 *                                         2 rejected_mac
 *                                         3 rejected_stale
 *                                         4 rejected_malformed
 *                                         5 rate_limited
 *                                         6 boots
 *                                         7 energy epoch
 *                                         8 tx_dropped: whole messages that
 *                                           did not fit the TX queue
 *                                         9 identify: seconds left
 *                                         10 last FV accepted in a broadcast
 *                                           (group key)
 *                                         other: 0
 *
 * Memory: linear memory is fixed at 2 pages (128 KiB, initial = maximum) and
 * never grows (no allocator), so typed-array views on memory.buffer stay
 * valid for the life of the instance. Layout: 16 KiB stack first (an
 * overflow traps instead of corrupting data), then static data. Pointers
 * (byte offsets) are 4-byte aligned: use
 *   new Uint8Array(memory.buffer, ww_config(), 88)
 *   new Uint16Array(memory.buffer, ww_samples(), 2 * ww_sample_capacity())
 *   new DataView(memory.buffer, ww_frame(), 16)   (little-endian)
 *
 * Simulator loop: write the page, ww_boot(1) (or the saved blob and
 * ww_boot(0)); write n <= 1024 pairs, ww_feed(n); to poll, write a remote
 * frame {id: 4 << 7 | node, dlc: 8, flags: 2} and ww_rx(); commands are
 * data frames passed one by one to ww_rx(); while (ww_tx()) send the frame;
 * if (ww_nv_dirty()) save the blob.
 */
#include "meter.h"

#if defined(__wasm__)
#define WW_EXPORT(name) __attribute__((export_name(#name)))
#else
#define WW_EXPORT(name)
#endif

#define WW_SAMPLE_CAPACITY 1024u

/* Prototypes (also the host-test interface). */
WW_EXPORT(ww_config) uint8_t *ww_config(void);
WW_EXPORT(ww_nv) uint8_t *ww_nv(void);
WW_EXPORT(ww_nv_size) uint32_t ww_nv_size(void);
WW_EXPORT(ww_set_harmonics_every) void ww_set_harmonics_every(uint32_t n);
WW_EXPORT(ww_boot) uint32_t ww_boot(uint32_t factory);
WW_EXPORT(ww_nv_dirty) uint32_t ww_nv_dirty(void);
WW_EXPORT(ww_samples) adc_pair_t *ww_samples(void);
WW_EXPORT(ww_sample_capacity) uint32_t ww_sample_capacity(void);
WW_EXPORT(ww_feed) uint32_t ww_feed(uint32_t count);
WW_EXPORT(ww_frame) can_frame_t *ww_frame(void);
WW_EXPORT(ww_rx) uint32_t ww_rx(void);
WW_EXPORT(ww_tx) uint32_t ww_tx(void);
WW_EXPORT(ww_vrms) double ww_vrms(void);
WW_EXPORT(ww_irms) double ww_irms(void);
WW_EXPORT(ww_power) double ww_power(void);
WW_EXPORT(ww_frequency) double ww_frequency(void);
WW_EXPORT(ww_thd_v) double ww_thd_v(void);
WW_EXPORT(ww_thd_i) double ww_thd_i(void);
WW_EXPORT(ww_window_flags) uint32_t ww_window_flags(void);
WW_EXPORT(ww_frequency_10s) double ww_frequency_10s(void);
WW_EXPORT(ww_events_total) uint32_t ww_events_total(void);
WW_EXPORT(ww_agg150) double ww_agg150(uint32_t which);
WW_EXPORT(ww_window_seq) uint32_t ww_window_seq(void);
WW_EXPORT(ww_energy_import_wh) double ww_energy_import_wh(void);
WW_EXPORT(ww_energy_export_wh) double ww_energy_export_wh(void);
WW_EXPORT(ww_relay_on) uint32_t ww_relay_on(void);
WW_EXPORT(ww_stat) uint32_t ww_stat(uint32_t which);

static meter_t g_meter;
static uint8_t g_config[CONFIG_PAGE_SIZE] __attribute__((aligned(4)));
static adc_pair_t g_samples[WW_SAMPLE_CAPACITY];
static can_frame_t g_frame;
static uint16_t g_harmonics_every = 1u;

uint8_t *ww_config(void)
{
    return g_config;
}

/* The meter's own blob: written by the host before ww_boot (meter_boot
 * copies it before it resets the meter), kept current by the core after. */
uint8_t *ww_nv(void)
{
    return (uint8_t *)&g_meter.nv;
}

uint32_t ww_nv_size(void)
{
    return METER_NV_SIZE;
}

void ww_set_harmonics_every(uint32_t n)
{
    g_harmonics_every = (uint16_t)(n < 1u ? 1u : n > METER_MAX_HARMONICS_EVERY ? METER_MAX_HARMONICS_EVERY : n);
}

uint32_t ww_boot(uint32_t factory)
{
    meter_config_t cfg;
    meter_config_default(&cfg);
    cfg.harmonics_every = g_harmonics_every;
    g_frame = (can_frame_t){0};
    return meter_boot(&g_meter, &cfg, g_config, factory != 0u ? NULL : &g_meter.nv) ? 1u : 0u;
}

uint32_t ww_nv_dirty(void)
{
    return meter_nv_take_dirty(&g_meter) ? 1u : 0u;
}

adc_pair_t *ww_samples(void)
{
    return g_samples;
}

uint32_t ww_sample_capacity(void)
{
    return WW_SAMPLE_CAPACITY;
}

uint32_t ww_feed(uint32_t count)
{
    if (count > WW_SAMPLE_CAPACITY) {
        count = WW_SAMPLE_CAPACITY;
    }
    return meter_feed(&g_meter, g_samples, count);
}

can_frame_t *ww_frame(void)
{
    return &g_frame;
}

uint32_t ww_rx(void)
{
    return meter_on_can_rx(&g_meter, &g_frame) ? 1u : 0u;
}

uint32_t ww_tx(void)
{
    can_frame_t f;
    if (!meter_can_tx_pop(&g_meter, &f)) {
        return 0u;
    }
    g_frame = f;
    return 1u;
}

static const meter_window_t *last(void)
{
    return g_meter.initialised ? meter_last_window(&g_meter) : NULL;
}

double ww_vrms(void)
{
    const meter_window_t *w = last();
    return w != NULL ? (double)w->vrms : 0.0;
}

double ww_irms(void)
{
    const meter_window_t *w = last();
    return w != NULL ? (double)w->irms : 0.0;
}

double ww_power(void)
{
    const meter_window_t *w = last();
    return w != NULL ? (double)w->p : 0.0;
}

double ww_frequency(void)
{
    const meter_window_t *w = last();
    return w != NULL ? (double)w->frequency_hz : 0.0;
}

double ww_thd_v(void)
{
    const meter_window_t *w = last();
    return w != NULL && (w->flags & MTR_WF_THD_V) != 0u ? (double)w->thd_v : -1.0;
}

double ww_thd_i(void)
{
    const meter_window_t *w = last();
    return w != NULL && (w->flags & MTR_WF_THD_I) != 0u ? (double)w->thd_i : -1.0;
}

uint32_t ww_window_flags(void)
{
    const meter_window_t *w = last();
    return w != NULL ? w->flags : 0u;
}

double ww_frequency_10s(void)
{
    return g_meter.initialised && g_meter.f10_seq > 0u ? (double)g_meter.f10_hz : 0.0;
}

uint32_t ww_events_total(void)
{
    return g_meter.initialised ? g_meter.events_total : 0u;
}

double ww_agg150(uint32_t which)
{
    const meter_agg150_t *a = &g_meter.agg150;
    if (!g_meter.initialised || a->seq == 0u) {
        return which == 7u || which == 8u ? -1.0 : 0.0;
    }
    switch (which) {
    case 0:
        return (double)a->seq;
    case 1:
        return (double)a->windows;
    case 2:
        return (a->flags & PROTO_AGG_FLAGGED) != 0u ? 1.0 : 0.0;
    case 3:
        return (double)a->vrms;
    case 4:
        return (double)a->irms;
    case 5:
        return (double)a->p;
    case 6:
        return (double)a->f;
    case 7:
        return (double)a->thd_v;
    case 8:
        return (double)a->thd_i;
    default:
        return 0.0;
    }
}

uint32_t ww_window_seq(void)
{
    return g_meter.initialised ? g_meter.seq : 0u;
}

double ww_energy_import_wh(void)
{
    return g_meter.initialised ? meter_energy_import_wh(&g_meter) : 0.0;
}

double ww_energy_export_wh(void)
{
    return g_meter.initialised ? meter_energy_export_wh(&g_meter) : 0.0;
}

uint32_t ww_relay_on(void)
{
    return g_meter.initialised && g_meter.relay_on ? 1u : 0u;
}

uint32_t ww_stat(uint32_t which)
{
    const meter_t *m = &g_meter;
    if (!m->initialised) {
        return 0u;
    }
    switch (which) {
    case 0:
        return m->tx_fv;
    case 1:
        return m->nv.rx_fv;
    case 2:
        return m->counters.rejected_mac;
    case 3:
        return m->counters.rejected_stale;
    case 4:
        return m->counters.rejected_malformed;
    case 5:
        return m->counters.rate_limited;
    case 6:
        return m->nv.boots;
    case 7:
        return m->nv.energy_epoch;
    case 8:
        return m->txq.dropped;
    case 9:
        return meter_identify_seconds_left(m);
    case 10:
        return m->nv.rx_group_fv;
    default:
        return 0u;
    }
}
