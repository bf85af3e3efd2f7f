/*
 * meter_wasm.c - WebAssembly ABI of the meter core for the browser simulator.
 *
 * One static meter per wasm instance; instantiate the module once per
 * simulated meter. Built by firmware/wasm/build.mjs into
 * firmware/build/wasm/meter.wasm (no imports; exports "memory" and the
 * functions below). The same file compiles natively for the host tests.
 *
 * ABI (integers and pointers are wasm i32 = JS number; a pointer is a byte
 * offset into the exported memory; doubles are f64):
 *
 *   void      ww_init(uint32_t node_id)   default config (paper's CVCT scales,
 *                                         6400 Hz, 50 Hz), CAN node 1..63.
 *                                         An invalid node leaves the meter
 *                                         uninitialised: ww_feed/ww_rx/ww_tx
 *                                         and the getters then return 0.
 *                                         Calling it again resets everything.
 *   adc_pair_t *ww_samples(void)          byte offset in memory of the sample
 *                                         buffer: ww_sample_capacity() pairs
 *                                         of {uint16 v, uint16 i}, 4 bytes
 *                                         each, v at +0, i at +2, 12-bit codes
 *                                         0..4095 (dual-ADC DMA word layout).
 *   uint32_t  ww_sample_capacity(void)    1024
 *   uint32_t  ww_feed(uint32_t count)     process pairs [0, count) of the
 *                                         buffer (count clamped to capacity);
 *                                         returns windows completed.
 *   can_frame_t *ww_frame(void)           byte offset of the 16-byte frame
 *                                         exchange buffer (can_frame_t):
 *                                         +0 u32 id, +4 u8 dlc, +5 u8 flags
 *                                         (bit0 extended id, bit1 remote),
 *                                         +6 u8[8] data, +14 u8[2] reserved.
 *   uint32_t  ww_rx(void)                 hand the frame in the exchange
 *                                         buffer to the meter; 1 if it was
 *                                         addressed to this meter and
 *                                         understood (a reply may or may not
 *                                         be queued: before the first window
 *                                         nothing is answered), else 0.
 *   uint32_t  ww_tx(void)                 if a frame is queued, copy it into
 *                                         the exchange buffer and return 1;
 *                                         else return 0 (buffer unchanged).
 *   double    ww_vrms(void)               last window, V      (0 before any)
 *   double    ww_irms(void)               last window, A
 *   double    ww_power(void)              last window, W (>0 import, <0 export)
 *   double    ww_frequency(void)          last window, Hz (0 if no voltage)
 *   uint32_t  ww_window_seq(void)         windows completed since ww_init
 *   double    ww_energy_import_wh(void)   import register, Wh
 *   double    ww_energy_export_wh(void)   export register, Wh
 *   uint32_t  ww_relay_on(void)           1 (relay commands come later)
 *
 * Memory: linear memory is fixed at 2 pages (128 KiB, initial = maximum) and
 * never grows (no allocator), so typed-array views on memory.buffer stay
 * valid for the life of the instance. Layout: 16 KiB stack first (an
 * overflow traps instead of corrupting data), then static data. Pointers
 * (byte offsets) are 4-byte aligned: use
 *   new Uint16Array(memory.buffer, ww_samples(), 2 * ww_sample_capacity())
 *   new DataView(memory.buffer, ww_frame(), 16)   (little-endian)
 *
 * Simulator loop: write n <= 1024 pairs, ww_feed(n); to ask for power, write a
 * remote frame {id: (0x18 << 6) | node, dlc: 4, flags: 2} and ww_rx(); then
 * while (ww_tx()) read the reply (DLC 4, int32 LE milliwatts).
 */
#include "meter.h"

#if defined(__wasm__)
#define WW_EXPORT(name) __attribute__((export_name(#name)))
#else
#define WW_EXPORT(name)
#endif

#define WW_SAMPLE_CAPACITY 1024u

/* Prototypes (also the host-test interface). */
WW_EXPORT(ww_init) void ww_init(uint32_t node_id);
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
WW_EXPORT(ww_window_seq) uint32_t ww_window_seq(void);
WW_EXPORT(ww_energy_import_wh) double ww_energy_import_wh(void);
WW_EXPORT(ww_energy_export_wh) double ww_energy_export_wh(void);
WW_EXPORT(ww_relay_on) uint32_t ww_relay_on(void);

static meter_t g_meter;
static adc_pair_t g_samples[WW_SAMPLE_CAPACITY];
static can_frame_t g_frame;

void ww_init(uint32_t node_id)
{
    meter_config_t cfg;
    meter_config_default(&cfg, (uint8_t)(node_id > 255u ? 0u : node_id));
    (void)meter_init(&g_meter, &cfg);
    g_frame = (can_frame_t){0};
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
    return 1u;
}
