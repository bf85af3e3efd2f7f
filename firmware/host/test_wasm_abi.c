/*
 * test_wasm_abi.c - the wasm ABI (wasm/meter_wasm.c) compiled natively.
 */
#include <math.h>
#include <string.h>

#include "meter.h"
#include "synth.h"
#include "tests.h"
#include "tharness.h"

/* The ABI, as declared in meter_wasm.c. */
void ww_init(uint32_t node_id);
adc_pair_t *ww_samples(void);
uint32_t ww_sample_capacity(void);
uint32_t ww_feed(uint32_t count);
can_frame_t *ww_frame(void);
uint32_t ww_rx(void);
uint32_t ww_tx(void);
double ww_vrms(void);
double ww_irms(void);
double ww_power(void);
double ww_frequency(void);
uint32_t ww_window_seq(void);
double ww_energy_import_wh(void);
double ww_energy_export_wh(void);
uint32_t ww_relay_on(void);

static void request(uint32_t node)
{
    can_frame_t *f = ww_frame();
    memset(f, 0, sizeof *f);
    f->id = PROTO_ID(PROTO_FN_ACTIVE_POWER, node);
    f->dlc = 4;
    f->flags = CAN_FLAG_RTR;
}

static uint32_t feed_seconds(synth_t *s, double seconds)
{
    uint32_t windows = 0, cap = ww_sample_capacity();
    uint64_t n = (uint64_t)(seconds * s->fs + 0.5);
    while (n > 0) {
        uint32_t k = n < cap ? (uint32_t)n : cap;
        synth_fill(s, ww_samples(), k);
        windows += ww_feed(k);
        n -= k;
    }
    return windows;
}

void test_wasm_abi(void)
{
    synth_t s;

    /* before ww_init: inert */
    CHECK_EQ_U(ww_feed(10), 0u);
    request(1);
    CHECK_EQ_U(ww_rx(), 0u);
    CHECK_EQ_U(ww_tx(), 0u);
    CHECK(ww_vrms() == 0.0 && ww_power() == 0.0 && ww_window_seq() == 0u);

    CHECK_EQ_U(ww_sample_capacity(), 1024u);
    CHECK(ww_samples() != NULL);
    CHECK(ww_frame() != NULL);
    CHECK_EQ_U(((uintptr_t)ww_samples()) % 4u, 0u);
    CHECK_EQ_U(((uintptr_t)ww_frame()) % 4u, 0u);
    CHECK_EQ_U(ww_relay_on(), 1u);

    ww_init(12);
    request(12);
    CHECK_EQ_U(ww_rx(), 1u);
    CHECK_EQ_U(ww_tx(), 0u); /* no window yet: no answer */

    synth_default(&s);
    s.phi_deg = 180.0; /* export */
    s.f = 49.9;
    uint32_t w = feed_seconds(&s, 2.0);
    CHECK(w >= 8u);
    CHECK_EQ_U(ww_window_seq(), w);
    CHECK_REL(ww_vrms(), 230.0, 1e-3);
    CHECK_REL(ww_irms(), 10.0, 1e-3);
    CHECK_REL(ww_power(), -2300.0, 2e-3);
    CHECK_NEAR(ww_frequency(), 49.9, 0.01);
    CHECK(ww_energy_import_wh() == 0.0);
    CHECK(ww_energy_export_wh() > 2300.0 * 1.5 / 3600.0);

    request(12);
    CHECK_EQ_U(ww_rx(), 1u);
    CHECK_EQ_U(ww_tx(), 1u);
    const can_frame_t *f = ww_frame();
    CHECK_EQ_U(f->id, (0x18u << 6) | 12u);
    CHECK_EQ_U(f->dlc, 4u);
    CHECK_EQ_U(f->flags, 0u);
    int32_t mw = (int32_t)((uint32_t)f->data[0] | ((uint32_t)f->data[1] << 8) |
                           ((uint32_t)f->data[2] << 16) | ((uint32_t)f->data[3] << 24));
    CHECK_NEAR(mw, ww_power() * 1000.0, 1.0);
    CHECK_EQ_U(ww_tx(), 0u);
    request(13);
    CHECK_EQ_U(ww_rx(), 0u);

    /* count is clamped to the capacity */
    synth_fill(&s, ww_samples(), 1024);
    (void)ww_feed(5000);

    /* re-init resets everything; an invalid node makes the meter inert */
    ww_init(12);
    CHECK_EQ_U(ww_window_seq(), 0u);
    CHECK(ww_energy_export_wh() == 0.0);
    ww_init(64);
    CHECK_EQ_U(feed_seconds(&s, 0.5), 0u);
    request(64 & 0x3F);
    CHECK_EQ_U(ww_rx(), 0u);
    ww_init(0x105); /* not truncated to node 5 */
    request(5);
    CHECK_EQ_U(ww_rx(), 0u);
}
