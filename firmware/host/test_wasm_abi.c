/*
 * test_wasm_abi.c - the wasm ABI v3 (wasm/meter_wasm.c) compiled natively.
 */
#include <string.h>

#include "meter_rig.h"
#include "tests.h"
#include "tharness.h"

/* The ABI, as declared in meter_wasm.c. */
uint8_t *ww_config(void);
uint8_t *ww_nv(void);
uint32_t ww_nv_size(void);
uint32_t ww_boot(uint32_t factory);
uint32_t ww_nv_dirty(void);
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
uint32_t ww_stat(uint32_t which);
double ww_thd_v(void);
double ww_thd_i(void);
uint32_t ww_window_flags(void);
double ww_frequency_10s(void);
uint32_t ww_events_total(void);
double ww_agg150(uint32_t which);

static void remote(uint32_t fn, uint32_t node)
{
    can_frame_t *f = ww_frame();
    memset(f, 0, sizeof *f);
    f->id = PROTO_ID(fn, node);
    f->dlc = 8;
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

/* Everything queued, reassembled and opened: the number of messages and
 * the payload of the last one. */
static uint32_t drain(const uint8_t *key, uint32_t *last_fv, uint8_t *payload, size_t *len)
{
    reasm_t r;
    uint32_t messages = 0;
    reasm_init(&r);
    while (ww_tx()) {
        secure_msg_t m;
        if (reasm_push(&r, ww_frame(), 0) == REASM_MESSAGE &&
            secure_open(key, (uint16_t)ww_frame()->id, r.body, r.body_len, *last_fv, &m) == SECURE_OK) {
            *last_fv = m.fv;
            memcpy(payload, m.payload, m.len);
            *len = m.len;
            messages++;
        }
    }
    return messages;
}

void test_wasm_abi(void)
{
    synth_t s;
    meter_identity_t id;
    uint8_t payload[SECURE_PAYLOAD_MAX], body[FRAMES_BODY_MAX], saved[METER_NV_SIZE];
    can_frame_t frames[FRAMES_MAX];
    size_t len = 0;
    uint32_t last_fv = 0;

    /* before ww_boot: inert */
    CHECK_EQ_U(ww_feed(10), 0u);
    remote(PROTO_FN_STATUS, 1);
    CHECK_EQ_U(ww_rx(), 0u);
    CHECK_EQ_U(ww_tx(), 0u);
    CHECK(ww_vrms() == 0.0 && ww_power() == 0.0 && ww_window_seq() == 0u);
    CHECK(ww_thd_v() == -1.0 && ww_thd_i() == -1.0 && ww_window_flags() == 0u);
    CHECK(ww_frequency_10s() == 0.0 && ww_events_total() == 0u && ww_agg150(0) == 0.0 && ww_agg150(7) == -1.0);
    CHECK_EQ_U(ww_relay_on(), 0u);
    CHECK_EQ_U(ww_stat(6), 0u);

    CHECK_EQ_U(ww_sample_capacity(), 1024u);
    CHECK_EQ_U(ww_nv_size(), METER_NV_SIZE);
    CHECK(ww_samples() != NULL && ww_frame() != NULL && ww_config() != NULL && ww_nv() != NULL);
    CHECK_EQ_U(((uintptr_t)ww_samples()) % 4u, 0u);
    CHECK_EQ_U(((uintptr_t)ww_frame()) % 4u, 0u);
    CHECK_EQ_U(((uintptr_t)ww_config()) % 4u, 0u);
    CHECK_EQ_U(((uintptr_t)ww_nv()) % 4u, 0u);

    /* an erased page: measures, silent */
    memset(ww_config(), 0xFF, CONFIG_PAGE_SIZE);
    CHECK_EQ_U(ww_boot(1), 0u);
    synth_default(&s);
    CHECK(feed_seconds(&s, 0.5) > 0u);
    remote(PROTO_FN_STATUS, 12);
    CHECK_EQ_U(ww_rx(), 0u);
    CHECK_EQ_U(ww_tx(), 0u);
    CHECK_EQ_U(ww_nv_dirty(), 0u);

    /* provisioned */
    memset(&id, 0, sizeof id);
    id.node = 12;
    id.uid[0] = 0x77;
    secure_derive_meter_key(RIG_SITE_KEY, id.uid, id.meter_key);
    secure_derive_group_key(RIG_SITE_KEY, id.group_key);
    config_page_build(&id, ww_config());
    CHECK_EQ_U(ww_boot(1), 1u);
    CHECK_EQ_U(ww_nv_dirty(), 1u); /* the boot count */
    CHECK_EQ_U(ww_nv_dirty(), 0u);
    CHECK_EQ_U(ww_stat(6), 1u);
    CHECK_EQ_U(ww_relay_on(), 1u);
    remote(PROTO_FN_SNAPSHOT, 12);
    CHECK_EQ_U(ww_rx(), 1u);
    CHECK_EQ_U(ww_tx(), 0u); /* no window yet: no answer */

    s.phi_deg = 180.0; /* export */
    s.f = 49.9;
    synth_default(&s);
    s.phi_deg = 180.0;
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
    CHECK(ww_thd_v() >= 0.0 && ww_thd_v() < 0.3);
    CHECK((ww_window_flags() & (MTR_WF_SYNC | MTR_WF_FREQ | MTR_WF_THD_V | MTR_WF_THD_I)) ==
          (MTR_WF_SYNC | MTR_WF_FREQ | MTR_WF_THD_V | MTR_WF_THD_I));
    CHECK_EQ_U(ww_events_total(), 0u);
    CHECK(ww_frequency_10s() == 0.0); /* 2 s: no 10-second value yet */

    /* harmonics, a dip, 12 s: THD, an event, a 10-second frequency, 150-cycle aggregates */
    s.v3 = 0.04 * 230.0;
    s.i3 = 0.2 * 10.0;
    double now = (double)s.n / s.fs;
    s.steps[0] = (synth_step_t){now + 1.0, now + 1.1, 0.5};
    s.nsteps = 1;
    w += feed_seconds(&s, 10.5);
    CHECK_NEAR(ww_thd_v(), 4.0, 0.05);
    CHECK_NEAR(ww_thd_i(), 20.0, 0.1);
    CHECK_EQ_U(ww_events_total(), 1u);
    CHECK_NEAR(ww_frequency_10s(), 49.9, 0.001);
    CHECK(ww_agg150(0) >= 3.0 && ww_agg150(1) == 15.0);
    CHECK_NEAR(ww_agg150(3), synth_vrms(&s), 0.3);
    CHECK_NEAR(ww_agg150(7), 4.0, 0.05);
    CHECK(ww_agg150(99) == 0.0);

    remote(PROTO_FN_SNAPSHOT, 12);
    CHECK_EQ_U(ww_rx(), 1u);
    CHECK_EQ_U(drain(id.meter_key, &last_fv, payload, &len), 1u);
    proto_snapshot_t snap;
    CHECK(proto_decode_snapshot(payload, len, &snap) == PROTO_OK);
    CHECK_NEAR(snap.p, ww_power() * 1000.0, 1.0);
    CHECK_NEAR(snap.f, 49900, 10);
    CHECK_NEAR(snap.thd_v, ww_thd_v() * 100.0, 0.6);
    CHECK_NEAR(snap.thd_i, ww_thd_i() * 100.0, 0.6);
    CHECK_EQ_U(ww_stat(0), last_fv);
    remote(PROTO_FN_SNAPSHOT, 12);
    CHECK_EQ_U(ww_rx(), 1u);
    CHECK_EQ_U(ww_tx(), 0u); /* within 100 ms */
    CHECK_EQ_U(ww_stat(5), 1u);
    remote(PROTO_FN_SNAPSHOT, 13);
    CHECK_EQ_U(ww_rx(), 0u);

    /* a command: RELAY off */
    uint8_t off = 0;
    size_t n = secure_seal(id.meter_key, PROTO_ID(PROTO_FN_RELAY, 12), &off, 1, 41, body);
    uint32_t count = frames_segment(PROTO_ID(PROTO_FN_RELAY, 12), body, n, frames);
    for (uint32_t k = 0; k < count; k++) {
        *ww_frame() = frames[k];
        CHECK_EQ_U(ww_rx(), 1u);
    }
    CHECK_EQ_U(ww_relay_on(), 0u);
    CHECK_EQ_U(ww_stat(1), 41u);
    CHECK_EQ_U(ww_nv_dirty(), 1u);
    memcpy(saved, ww_nv(), METER_NV_SIZE); /* the host persists the blob */
    CHECK_EQ_U(drain(id.meter_key, &last_fv, payload, &len), 1u);
    proto_ack_t ack;
    CHECK(proto_decode_ack(payload, len, &ack) == PROTO_OK && ack.command_fv == 41 && ack.value == 0);
    /* replayed: stale */
    for (uint32_t k = 0; k < count; k++) {
        *ww_frame() = frames[k];
        (void)ww_rx();
    }
    CHECK_EQ_U(ww_stat(3), 1u);
    CHECK_EQ_U(ww_stat(2) + ww_stat(4) + ww_stat(8) + ww_stat(9) + ww_stat(7), 0u);
    CHECK_EQ_U(ww_stat(99), 0u);

    /* reboot from the persisted blob */
    double export_before = ww_energy_export_wh();
    memcpy(ww_nv(), saved, METER_NV_SIZE);
    CHECK_EQ_U(ww_boot(0), 1u);
    CHECK_EQ_U(ww_stat(6), 2u);
    CHECK_EQ_U(ww_stat(1), 41u);
    CHECK_EQ_U(ww_relay_on(), 1u);
    CHECK_EQ_U(ww_window_seq(), 0u);
    CHECK(ww_energy_export_wh() <= export_before && ww_energy_export_wh() > export_before - 1.0);
    CHECK(ww_stat(0) >= METER_FV_BLOCK);  /* continues from the reservation */
    CHECK_EQ_U(ww_nv_dirty(), 1u);
    /* factory: blank */
    CHECK_EQ_U(ww_boot(1), 1u);
    CHECK_EQ_U(ww_stat(6), 1u);
    CHECK_EQ_U(ww_stat(1), 0u);
    CHECK_EQ_U(ww_stat(0), 0u);

    /* count is clamped to the capacity */
    synth_fill(&s, ww_samples(), 1024);
    (void)ww_feed(5000);
}
