/*
 * test_engine.c - the meter's protocol engine end to end: a booted meter on
 * a synthetic line, an aggregator that seals commands and opens everything
 * the meter sends with its own code (meter_rig.c).
 */
#include <string.h>

#include "crc32.h"
#include "meter_rig.h"
#include "tests.h"
#include "tharness.h"

static rig_t g_r;
static rig_t g_r2;

static proto_command_t relay(uint8_t state)
{
    proto_command_t c = {.function = PROTO_FN_RELAY, .state = state};
    return c;
}

static proto_command_t control(uint8_t opcode)
{
    proto_command_t c = {.function = PROTO_FN_CONTROL, .opcode = opcode};
    return c;
}

static proto_command_t time_cmd(uint64_t unix_ms)
{
    proto_command_t c = {.function = PROTO_FN_TIME, .unix_ms = unix_ms};
    return c;
}

/* Send a command sealed with a wrong key. */
static void forge(rig_t *r, const proto_command_t *c, uint32_t fv)
{
    uint8_t wrong[32] = {0x66};
    uint8_t payload[PROTO_LEN_MAX];
    size_t len = proto_encode_command(c, payload);
    rig_send_raw(r, PROTO_ID(c->function, r->id.node), wrong, fv, payload, len);
}

/* Send again exactly what was sent with this FV. */
static void replay(rig_t *r, const proto_command_t *c, uint32_t fv)
{
    uint8_t payload[PROTO_LEN_MAX];
    size_t len = proto_encode_command(c, payload);
    rig_send_raw(r, PROTO_ID(c->function, r->id.node), r->id.meter_key, fv, payload, len);
}

/* Feed until n more windows have closed. */
static void run_windows(rig_t *r, uint32_t n)
{
    uint32_t until = r->meter.seq + n;
    while (r->meter.seq < until) {
        rig_run(r, 0.005);
    }
}

static bool snapshot_of(rig_t *r, proto_snapshot_t *s)
{
    (void)rig_collect(r);
    const rig_msg_t *m = rig_find(r, PROTO_FN_SNAPSHOT, 0);
    return m != NULL && proto_decode_snapshot(m->payload, m->len, s) == PROTO_OK;
}

/* ENERGY and STATUS wait 100 ms first: the meter answers each at most every
 * 100 ms. */
static bool energy_of(rig_t *r, proto_energy_t *e)
{
    rig_run(r, 0.1);
    CHECK(rig_remote(r, PROTO_FN_ENERGY));
    (void)rig_collect(r);
    const rig_msg_t *m = rig_find(r, PROTO_FN_ENERGY, 0);
    return m != NULL && proto_decode_energy(m->payload, m->len, e) == PROTO_OK;
}

static bool status_of(rig_t *r, proto_status_rec_t *s)
{
    rig_run(r, 0.1);
    CHECK(rig_remote(r, PROTO_FN_STATUS));
    (void)rig_collect(r);
    const rig_msg_t *m = rig_find(r, PROTO_FN_STATUS, 0);
    return m != NULL && proto_decode_status(m->payload, m->len, s) == PROTO_OK;
}

void test_engine_boot(void)
{
    rig_t *r = &g_r;
    can_frame_t f;
    rig_new(r, 9, 6400);
    r->page[30] ^= 1; /* a bit flip in the meter key: CRC fails */
    CHECK(!rig_boot(r, true));
    CHECK(!r->meter.online);
    rig_run(r, 0.5);
    CHECK(meter_last_window(&r->meter) != NULL); /* measures ... */
    CHECK(!rig_remote(r, PROTO_FN_STATUS));       /* ... but stays silent */
    CHECK(!meter_can_tx_pop(&r->meter, &f));
    CHECK_EQ_U(r->nv_writes, 0u);
    CHECK(!meter_boot(&r->meter, &r->cfg, NULL, NULL));

    rig_new(r, 9, 6400);
    CHECK(rig_boot(r, true));
    CHECK(r->meter.online && r->meter.relay_on);
    CHECK_EQ_U(r->meter.nv.boots, 1u);
    CHECK_EQ_U(r->nv_writes, 1u); /* the boot is persisted at once */
    CHECK(meter_nv_valid(&r->store));
    CHECK_EQ_U(r->meter.tx_fv, 0u);
    CHECK(!meter_nv_take_dirty(&r->meter));
    CHECK(!meter_can_tx_pop(&r->meter, &f));
    CHECK_EQ_U(meter_clock(&r->meter), 0u);
    meter_set_can_errors(&r->meter, 5, 6);
    proto_status_rec_t st;
    CHECK(status_of(r, &st));
    CHECK(st.protocol == 1 && st.firmware == (METER_FW_MAJOR << 8 | METER_FW_MINOR));
    CHECK(memcmp(st.uid, r->id.uid, 12) == 0);
    CHECK(st.flags == PROTO_FLAG_RELAY_ON && st.boots == 1 && st.uptime_s == 0);
    CHECK(st.tec == 5 && st.rec == 6);
    CHECK_EQ_U(r->last_meter_fv, 1u); /* the first FV used is 1 */
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_remote_records(void)
{
    rig_t *r = &g_r;
    proto_snapshot_t s;
    proto_energy_t e;
    proto_status_rec_t st;
    rig_new(r, 5, 6400);
    CHECK(rig_boot(r, true));
    /* no SNAPSHOT before the first window, nothing counted */
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK_EQ_U(rig_collect(r), 0u);
    CHECK_EQ_U(r->meter.counters.rate_limited, 0u);
    rig_run(r, 1.0);
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK(snapshot_of(r, &s));
    CHECK_NEAR(s.vrms, 23000, 30);
    CHECK_NEAR(s.irms, 10000, 15);
    CHECK_NEAR(s.p, 2300000, 5000);
    CHECK_NEAR(s.n, 0, 50000);
    CHECK_NEAR(s.pf, 10000, 5);
    CHECK_NEAR(s.f, 50000, 5);
    CHECK(s.flags == PROTO_FLAG_RELAY_ON); /* time not valid, voltage present, no event */
    /* a clean sine: THD measured, below 0.3 % (ADC noise) */
    CHECK(s.thd_v != PROTO_NOT_MEASURED && s.thd_v < 30 && s.thd_i != PROTO_NOT_MEASURED && s.thd_i < 30);
    /* timed at the end of the window, counted from boot */
    uint64_t end_ms = r->meter.last.t_end * 1000u / 6400u;
    CHECK_EQ_U(s.time_s, end_ms / 1000u);
    CHECK_EQ_U(s.time_cs, end_ms % 1000u / 10u);

    CHECK(energy_of(r, &e));
    CHECK_EQ_U(e.flags, 0u);
    /* 2.3 kW for 1.1 s, less the first cycles before the DC estimate */
    CHECK_NEAR((double)e.import_mwh, 2300.0 / 3.6 * 1.1, 40.0);
    CHECK_EQ_U(e.import_mwh, meter_energy_mwh(&r->meter.e_import));
    CHECK(e.export_mwh == 0 && e.epoch == 0 && e.boots == 1 && e.time_s == 1);
    CHECK(status_of(r, &st));
    CHECK_EQ_U(st.uptime_s, 1u);
    CHECK_EQ_U(r->unverifiable, 0u);

    /* a generator: negative power and power factor */
    r->synth.phi_deg = 180.0;
    rig_run(r, 1.0);
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK(snapshot_of(r, &s));
    CHECK_NEAR(s.p, -2300000, 5000);
    CHECK_NEAR(s.pf, -10000, 5);
    /* no voltage */
    r->synth.v1 = 0.0;
    r->synth.i1 = 0.0;
    rig_run(r, 1.0);
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK(snapshot_of(r, &s));
    CHECK((s.flags & PROTO_FLAG_NO_VOLTAGE) != 0);
    CHECK_EQ_U(s.f, 0u);

    /* what the meter does not answer */
    can_frame_t f = {0};
    f.flags = CAN_FLAG_RTR;
    f.dlc = 8;
    uint32_t ids[] = {PROTO_ID(PROTO_FN_SNAPSHOT, 6), PROTO_ID(PROTO_FN_SNAPSHOT, 0),
                      PROTO_ID(PROTO_FN_ACK, 5), PROTO_ID(PROTO_FN_AGGREGATE, 5),
                      PROTO_ID(PROTO_FN_RELAY, 5), PROTO_ID(9, 5), PROTO_ID(15, 5), 0x800u | 0x205u};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        f.id = ids[k];
        CHECK(!meter_on_can_rx(&r->meter, &f));
    }
    f.id = PROTO_ID(PROTO_FN_STATUS, 5);
    f.flags = CAN_FLAG_RTR | CAN_FLAG_EXT;
    CHECK(!meter_on_can_rx(&r->meter, &f));
    f.flags = 0; /* a data frame on our own record id: another sender's, ignored */
    CHECK(!meter_on_can_rx(&r->meter, &f));
    f.id = PROTO_ID(PROTO_FN_RELAY, 6);
    CHECK(!meter_on_can_rx(&r->meter, &f));
    CHECK(!meter_on_can_rx(&r->meter, NULL));
    CHECK(!meter_on_can_rx(NULL, &f));
    CHECK_EQ_U(rig_collect(r), 0u);
    /* the request's DLC does not matter */
    f.id = PROTO_ID(PROTO_FN_STATUS, 5);
    f.flags = CAN_FLAG_RTR;
    f.dlc = 0;
    CHECK(meter_on_can_rx(&r->meter, &f));
    CHECK_EQ_U(rig_collect(r), 1u);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_remote_rate_limit(void)
{
    rig_t *r = &g_r;
    rig_new(r, 7, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 0.5);
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT)); /* same instant */
    CHECK(rig_remote(r, PROTO_FN_ENERGY));   /* another function has its own limit */
    CHECK(rig_remote(r, PROTO_FN_STATUS));
    CHECK(rig_remote(r, PROTO_FN_STATUS));
    CHECK_EQ_U(rig_collect(r), 3u);
    CHECK_EQ_U(r->meter.counters.rate_limited, 2u);
    rig_run(r, 0.099);
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK_EQ_U(rig_collect(r), 0u);
    CHECK_EQ_U(r->meter.counters.rate_limited, 3u);
    rig_run(r, 0.001);
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK_EQ_U(rig_collect(r), 1u);
    /* a flood of 1000 requests in one second costs at most 10 answers each */
    for (int k = 0; k < 1000; k++) {
        (void)rig_remote(r, (uint32_t)(PROTO_FN_SNAPSHOT + k % 3));
        rig_run(r, 0.001);
        (void)rig_collect(r);
    }
    CHECK(r->last_meter_fv <= 4u + 3u * 11u);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_commands(void)
{
    rig_t *r = &g_r;
    proto_ack_t a;
    proto_command_t c;
    rig_new(r, 3, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 0.3);

    uint32_t fv = rig_command(r, (c = relay(0), &c));
    CHECK(rig_ack(r, &a));
    CHECK(a.function == PROTO_FN_RELAY && a.opcode == 0 && a.command_fv == fv &&
          a.result == PROTO_RESULT_OK && a.value == 0);
    CHECK(!r->meter.relay_on);
    CHECK_EQ_U(r->meter.nv.rx_fv, fv);
    CHECK(meter_nv_valid(&r->store) && r->store.rx_fv == fv); /* persisted */
    fv = rig_command(r, (c = relay(1), &c));
    CHECK(rig_ack(r, &a) && a.value == 1 && r->meter.relay_on);
    fv = rig_command(r, (c = relay(2), &c)); /* authentic, impossible state */
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_BAD_ARGUMENTS && a.command_fv == fv);
    CHECK(r->meter.relay_on);
    CHECK_EQ_U(r->meter.nv.rx_fv, fv); /* spent */

    /* TIME unicast */
    fv = rig_command(r, (c = time_cmd(1767225600123ull), &c));
    CHECK(rig_ack(r, &a) && a.function == PROTO_FN_TIME && a.result == PROTO_RESULT_OK);
    CHECK(r->meter.time_valid);
    CHECK(rig_remote(r, PROTO_FN_ENERGY));
    proto_energy_t e;
    (void)rig_collect(r);
    CHECK(proto_decode_energy(rig_find(r, PROTO_FN_ENERGY, 0)->payload, PROTO_LEN_ENERGY, &e) == PROTO_OK);
    CHECK(e.time_s == 1767225600u && e.flags == PROTO_FLAG_TIME_VALID);
    rig_run(r, 2.0);
    CHECK_EQ_U(meter_time_ms(&r->meter, meter_clock(&r->meter)), 1767225602123ull);

    /* SET_THRESHOLDS: stored; refused when inconsistent */
    c = control(PROTO_OP_SET_THRESHOLDS);
    c.dip = 9000;
    c.swell = 11000;
    c.hysteresis = 200;
    c.udin = 23000;
    fv = rig_command(r, &c);
    CHECK(rig_ack(r, &a) && a.function == PROTO_FN_CONTROL && a.opcode == PROTO_OP_SET_THRESHOLDS &&
          a.result == PROTO_RESULT_OK && a.command_fv == fv);
    CHECK(r->meter.thresholds.set && r->meter.thresholds.dip == 9000 &&
          r->meter.thresholds.swell == 11000 && r->meter.thresholds.hysteresis == 200 &&
          r->meter.thresholds.udin == 23000);
    c.dip = 12000;
    (void)rig_command(r, &c);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_BAD_ARGUMENTS);
    CHECK(r->meter.thresholds.dip == 9000);

    /* IDENTIFY counts down in meter time */
    c = control(PROTO_OP_IDENTIFY);
    c.seconds = 3;
    (void)rig_command(r, &c);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_OK);
    CHECK_EQ_U(meter_identify_seconds_left(&r->meter), 3u);
    proto_status_rec_t st;
    CHECK(status_of(r, &st) && (st.flags & PROTO_FLAG_IDENTIFYING) != 0);
    CHECK((st.flags & PROTO_FLAG_TIME_VALID) != 0);
    rig_run(r, 2.5);
    CHECK_EQ_U(meter_identify_seconds_left(&r->meter), 1u);
    rig_run(r, 0.5);
    CHECK_EQ_U(meter_identify_seconds_left(&r->meter), 0u);
    CHECK(status_of(r, &st) && (st.flags & PROTO_FLAG_IDENTIFYING) == 0);

    /* an unknown opcode, a CONTROL without opcode, a wrong length: malformed
     * before the MAC is even checked; not answered, the FV not spent */
    uint8_t payload[3] = {0x42, 0, 0};
    uint32_t accepted = r->meter.nv.rx_fv;
    rig_send_raw(r, PROTO_ID(PROTO_FN_CONTROL, 3), r->id.meter_key, ++r->aggregator_fv, payload, 1);
    rig_send_raw(r, PROTO_ID(PROTO_FN_CONTROL, 3), r->id.meter_key, ++r->aggregator_fv, payload, 0);
    payload[0] = PROTO_OP_IDENTIFY;
    rig_send_raw(r, PROTO_ID(PROTO_FN_CONTROL, 3), r->id.meter_key, ++r->aggregator_fv, payload, 3);
    rig_send_raw(r, PROTO_ID(PROTO_FN_RELAY, 3), r->id.meter_key, ++r->aggregator_fv, payload, 2);
    CHECK_EQ_U(r->meter.counters.rejected_malformed, 4u);
    CHECK_EQ_U(r->meter.nv.rx_fv, accepted);
    CHECK_EQ_U(rig_collect(r), 0u);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_replay_and_forgery(void)
{
    rig_t *r = &g_r;
    proto_ack_t a;
    proto_command_t c = relay(0);
    rig_new(r, 3, 6400);
    CHECK(rig_boot(r, true));
    uint32_t fv = rig_command(r, &c);
    CHECK(rig_ack(r, &a) && !r->meter.relay_on);
    CHECK(rig_command(r, (c = relay(1), &c)) == fv + 1u);
    CHECK(rig_ack(r, &a) && r->meter.relay_on);

    /* the first command again: stale, counted, not acted upon, answered */
    c = relay(0);
    replay(r, &c, fv);
    CHECK(r->meter.relay_on);
    CHECK_EQ_U(r->meter.counters.rejected_stale, 1u);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_STALE && a.command_fv == fv &&
          a.function == PROTO_FN_RELAY);
    CHECK_EQ_U(r->meter.nv.rx_fv, fv + 1u);

    /* forged MAC with a fresh FV: bad MAC, counted, not acted upon */
    rig_run(r, 1.0); /* past the once-a-second limit of failure ACKs */
    forge(r, &c, fv + 100u);
    CHECK(r->meter.relay_on);
    CHECK_EQ_U(r->meter.counters.rejected_mac, 1u);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_AUTH_FAILED && a.command_fv == fv + 100u);
    CHECK_EQ_U(r->meter.nv.rx_fv, fv + 1u); /* the forged FV is not taken */
    /* the next genuine command still works */
    CHECK(rig_command(r, &c) == fv + 2u);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_OK && !r->meter.relay_on);

    /* a command for another node, or sealed for another meter's id */
    uint8_t payload[1] = {1};
    rig_send_raw(r, PROTO_ID(PROTO_FN_RELAY, 4), r->id.meter_key, ++r->aggregator_fv, payload, 1);
    CHECK(!r->meter.relay_on);
    CHECK_EQ_U(rig_collect(r), 0u);
    proto_status_rec_t st;
    CHECK(status_of(r, &st));
    CHECK(st.rejected_mac == 1 && st.rejected_stale == 1 && st.rejected_malformed == 0);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_failure_ack_limit(void)
{
    rig_t *r = &g_r;
    proto_command_t c = relay(0);
    rig_new(r, 3, 6400);
    CHECK(rig_boot(r, true));
    /* 5 failures within a second: one ACK */
    for (uint32_t k = 0; k < 5; k++) {
        forge(r, &c, 100u + k);
        rig_run(r, 0.1);
    }
    CHECK_EQ_U(rig_collect(r), 1u);
    CHECK_EQ_U(rig_count(r, PROTO_FN_ACK), 1u);
    CHECK_EQ_U(r->meter.counters.rejected_mac, 5u);
    rig_run(r, 0.5); /* 1 s after the first ACK */
    forge(r, &c, 200u);
    CHECK_EQ_U(rig_collect(r), 1u);
    forge(r, &c, 201u);
    CHECK_EQ_U(rig_collect(r), 0u);
    CHECK(!meter_lockout_active(&r->meter)); /* 7 failures, spread over 1.5 s */
    /* broadcasts are never answered */
    rig_run(r, 1.0);
    uint8_t wrong[32] = {1};
    uint8_t payload[PROTO_LEN_TIME] = {0};
    rig_send_raw(r, PROTO_ID(PROTO_FN_TIME, 0), wrong, 5000, payload, PROTO_LEN_TIME);
    CHECK_EQ_U(r->meter.counters.rejected_mac, 8u);
    CHECK_EQ_U(rig_collect(r), 0u);
}

void test_engine_lockout(void)
{
    rig_t *r = &g_r;
    proto_command_t c = relay(0);
    proto_ack_t a;
    rig_new(r, 3, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 0.1);
    /* 7 failures in a second: no lockout yet */
    for (uint32_t k = 0; k < 7; k++) {
        forge(r, &c, 10u + k);
        rig_run(r, 0.1);
    }
    CHECK(!meter_lockout_active(&r->meter));
    forge(r, &c, 20u); /* the 8th within 0.7 s */
    CHECK(meter_lockout_active(&r->meter));
    (void)rig_collect(r);
    /* a genuine command now is dropped unverified, counted as rate-limited */
    uint32_t limited = r->meter.counters.rate_limited;
    uint32_t fv = rig_command(r, &c);
    CHECK(r->meter.relay_on);
    CHECK_EQ_U(r->meter.counters.rate_limited, limited + 1u);
    CHECK_EQ_U(r->meter.counters.rejected_mac, 8u); /* not even verified */
    CHECK_EQ_U(rig_collect(r), 0u);
    /* remote frames still work, and STATUS shows the lockout */
    proto_status_rec_t st;
    CHECK(status_of(r, &st) && (st.flags & PROTO_FLAG_LOCKOUT) != 0); /* 0.1 s later */
    CHECK(st.rate_limited == limited + 1u);
    rig_run(r, 0.899);
    CHECK(meter_lockout_active(&r->meter));
    rig_run(r, 0.002);
    CHECK(!meter_lockout_active(&r->meter));
    /* after a second the same command (its FV never accepted) goes through */
    replay(r, &c, fv);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_OK && !r->meter.relay_on);
    /* failures spaced over more than a second never lock out */
    for (uint32_t k = 0; k < 30; k++) {
        forge(r, &c, 100u + k);
        rig_run(r, 0.15);
    }
    CHECK(!meter_lockout_active(&r->meter));
    /* stale replays count as failed verifications too */
    for (uint32_t k = 0; k < 8; k++) {
        replay(r, &c, fv);
    }
    CHECK(meter_lockout_active(&r->meter));
}

static void energy_clear_setup(rig_t *r)
{
    rig_new(r, 11, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 2.0);
}

static uint32_t arm(rig_t *r)
{
    proto_command_t c = control(PROTO_OP_CLEAR_ENERGY_ARM);
    proto_ack_t a;
    uint32_t fv = rig_command(r, &c);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_OK && a.command_fv == fv &&
          a.opcode == PROTO_OP_CLEAR_ENERGY_ARM);
    /* the challenge is the FV of the ACK carrying it */
    CHECK_EQ_U(a.value, rig_find(r, PROTO_FN_ACK, 0)->fv);
    return a.value;
}

static proto_command_t confirm_for(rig_t *r, uint32_t challenge)
{
    proto_energy_t e;
    proto_command_t c = control(PROTO_OP_CLEAR_ENERGY_CONFIRM);
    CHECK(energy_of(r, &e));
    c.challenge = challenge;
    memcpy(c.uid, r->id.uid, 12);
    c.import_mwh = e.import_mwh;
    c.export_mwh = e.export_mwh;
    return c;
}

static uint8_t confirm_result(rig_t *r, const proto_command_t *c)
{
    proto_ack_t a;
    (void)rig_command(r, c);
    CHECK(rig_ack(r, &a));
    return a.result;
}

void test_engine_clear_energy(void)
{
    rig_t *r = &g_r;
    proto_command_t c;
    proto_energy_t e;

    /* success: registers to 0, epoch + 1, persisted */
    energy_clear_setup(r);
    uint32_t challenge = arm(r);
    c = confirm_for(r, challenge);
    CHECK(c.import_mwh > 1000u);
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_OK);
    CHECK(energy_of(r, &e) && e.import_mwh == 0 && e.export_mwh == 0 && e.epoch == 1);
    CHECK(r->store.energy_epoch == 1 && r->store.import_mwh == 0);
    /* the confirm replayed: stale */
    replay(r, &c, r->aggregator_fv);
    CHECK_EQ_U(r->meter.counters.rejected_stale, 1u);
    proto_ack_t a;
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_STALE);
    /* single use: the same challenge again (fresh FV) is not armed */
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_NOT_ARMED);

    /* not armed at all */
    energy_clear_setup(r);
    c = confirm_for(r, 1);
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_NOT_ARMED);
    /* wrong challenge: mismatch, and the challenge is gone */
    challenge = arm(r);
    c = confirm_for(r, challenge + 1u);
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_MISMATCH);
    c = confirm_for(r, challenge);
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_NOT_ARMED);
    /* wrong uid */
    challenge = arm(r);
    c = confirm_for(r, challenge);
    c.uid[0] ^= 1;
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_MISMATCH);
    /* wrong register values */
    challenge = arm(r);
    c = confirm_for(r, challenge);
    c.import_mwh -= 1;
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_MISMATCH);
    challenge = arm(r);
    c = confirm_for(r, challenge);
    c.export_mwh += 1;
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_MISMATCH);
    /* expired: 10 s after the ARM */
    challenge = arm(r);
    rig_run(r, 9.8); /* + 0.1 s in confirm_for */
    c = confirm_for(r, challenge);
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_OK);
    challenge = arm(r);
    rig_run(r, 10.0);
    c = confirm_for(r, challenge);
    CHECK_EQ_U(confirm_result(r, &c), PROTO_RESULT_NOT_ARMED);
    CHECK(energy_of(r, &e) && e.epoch == 1 && e.import_mwh > 0);
    /* challenges never repeat, not even across a reboot */
    uint32_t before = arm(r);
    CHECK(rig_boot(r, false));
    CHECK(arm(r) > before);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_broadcast_time(void)
{
    rig_t *r = &g_r;
    proto_ack_t a;
    proto_command_t c;
    rig_new(r, 20, 6400);
    CHECK(rig_boot(r, true));
    /* with the group key: accepted, not answered */
    uint32_t fv = rig_broadcast_time(r, 1767225600000ull);
    CHECK(r->meter.time_valid);
    CHECK_EQ_U(r->meter.nv.rx_group_fv, fv);
    CHECK_EQ_U(rig_collect(r), 0u);
    /* the same broadcast sealed with the meter key: rejected */
    c = time_cmd(1767229200000ull);
    uint8_t payload[8];
    size_t len = proto_encode_command(&c, payload);
    rig_send_raw(r, PROTO_ID(PROTO_FN_TIME, 0), r->id.meter_key, ++r->aggregator_fv, payload, len);
    CHECK_EQ_U(r->meter.counters.rejected_mac, 1u);
    CHECK_EQ_U(meter_time_ms(&r->meter, meter_clock(&r->meter)), 1767225600000ull);
    CHECK_EQ_U(rig_collect(r), 0u);
    /* unicast TIME sealed with the group key: rejected (and answered) */
    rig_send_raw(r, PROTO_ID(PROTO_FN_TIME, 20), r->id.group_key, ++r->aggregator_fv, payload, len);
    CHECK_EQ_U(r->meter.counters.rejected_mac, 2u);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_AUTH_FAILED);
    /* a replayed broadcast: stale */
    fv = rig_broadcast_time(r, 1767225601000ull);
    rig_send_raw(r, PROTO_ID(PROTO_FN_TIME, 0), r->id.group_key, fv, payload, len);
    CHECK_EQ_U(r->meter.counters.rejected_stale, 1u);
    /* broadcasts keep their own freshness: a broadcast far ahead (say, from
     * a meter whose group key leaked) does not block the unicast commands */
    rig_send_raw(r, PROTO_ID(PROTO_FN_TIME, 0), r->id.group_key, 0xFFFFFFFFu, payload, len);
    CHECK_EQ_U(r->meter.nv.rx_group_fv, 0xFFFFFFFFu);
    CHECK(rig_command(r, (c = relay(0), &c)) < 100u);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_OK && !r->meter.relay_on);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_reboot(void)
{
    rig_t *r = &g_r;
    proto_command_t c;
    proto_ack_t a;
    proto_energy_t e;
    rig_new(r, 33, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 3.0);
    uint32_t fv_relay = rig_command(r, (c = relay(0), &c));
    CHECK(rig_ack(r, &a));
    for (int k = 0; k < 300; k++) { /* cross the first reservation block */
        CHECK(rig_remote(r, (uint32_t)(PROTO_FN_SNAPSHOT + k % 3)));
        rig_run(r, 0.04);
        (void)rig_collect(r);
    }
    CHECK(r->last_meter_fv > METER_FV_BLOCK);
    CHECK_EQ_U(r->store.tx_fv_reserved, 2u * METER_FV_BLOCK);
    CHECK(energy_of(r, &e));
    uint32_t last_sent = r->last_meter_fv;
    uint64_t import_before = meter_energy_mwh(&r->meter.e_import);
    CHECK(import_before > 5000u);
    uint32_t writes = r->nv_writes;

    /* power loss and reboot from what was persisted */
    CHECK(rig_boot(r, false));
    CHECK(r->nv_writes == writes + 1u);
    CHECK_EQ_U(r->meter.nv.boots, 2u);
    CHECK(r->meter.relay_on); /* power-up state */
    uint64_t import_after = meter_energy_mwh(&r->meter.e_import);
    CHECK(import_after <= import_before && import_after + 1000u > import_before); /* < 1 Wh lost */
    CHECK(energy_of(r, &e));
    CHECK(r->last_meter_fv > last_sent);                      /* freshness continues above */
    CHECK_EQ_U(r->last_meter_fv, 2u * METER_FV_BLOCK + 1u);  /* from the persisted end */
    CHECK(e.boots == 2 && e.epoch == 0 && e.import_mwh >= import_after);
    /* the aggregator's last FV is still enforced */
    replay(r, (c = relay(0), &c), fv_relay);
    CHECK_EQ_U(r->meter.counters.rejected_stale, 1u);
    CHECK(r->meter.relay_on);

    /* a corrupt blob is not used: the meter starts blank */
    r->store.import_mwh ^= 1;
    CHECK(rig_boot(r, false));
    CHECK_EQ_U(r->meter.nv.boots, 1u);
    CHECK_EQ_U(r->meter.tx_fv, 0u);
    /* a blob of other keys neither */
    CHECK(rig_boot(r, false));
    CHECK_EQ_U(r->meter.nv.boots, 2u);
    rig_t *other = &g_r2;
    rig_new(other, 34, 6400);
    other->store = r->store;
    other->stored = true;
    CHECK(rig_boot(other, false));
    CHECK_EQ_U(other->meter.nv.boots, 1u);
    /* factory: ignores the blob */
    CHECK(rig_boot(r, true));
    CHECK_EQ_U(r->meter.nv.boots, 1u);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_counter_wrap(void)
{
    rig_t *r = &g_r;
    proto_command_t c;
    rig_new(r, 8, 6400);
    CHECK(rig_boot(r, true));
    r->store.tx_fv_reserved = 0xFFFFFFF0u;
    r->store.crc = crc32_ieee(&r->store, offsetof(meter_nv_t, crc));
    CHECK(rig_boot(r, false));
    r->last_meter_fv = 0xFFFFFFF0u;
    uint32_t sent = 0;
    for (int k = 0; k < 40; k++) {
        CHECK(rig_remote(r, PROTO_FN_STATUS));
        sent += (uint32_t)rig_collect(r);
        rig_run(r, 0.1);
    }
    CHECK_EQ_U(sent, 15u); /* 0xFFFFFFF1 .. 0xFFFFFFFF */
    CHECK_EQ_U(r->last_meter_fv, 0xFFFFFFFFu);
    CHECK_EQ_U(r->meter.tx_fv, 0xFFFFFFFFu);
    CHECK_EQ_U(r->store.tx_fv_reserved, 0xFFFFFFFFu);
    /* commands still act, but nothing secured is sent any more */
    (void)rig_command(r, (c = relay(0), &c));
    CHECK(!r->meter.relay_on);
    CHECK_EQ_U(rig_collect(r), 0u);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_tx_queue(void)
{
    rig_t *r = &g_r;
    rig_new(r, 2, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 0.5);
    /* without draining: 6 + 5 + 7 frames, then the next round does not fit */
    for (int round = 0; round < 3; round++) {
        CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
        CHECK(rig_remote(r, PROTO_FN_ENERGY));
        CHECK(rig_remote(r, PROTO_FN_STATUS));
        rig_run(r, 0.1);
    }
    CHECK_EQ_U(r->meter.txq.count, 18u + 6u + 5u);
    CHECK_EQ_U(r->meter.txq.dropped, 4u); /* STATUS of round 2, all of round 3 */
    CHECK_EQ_U(rig_collect(r), 5u);
    CHECK_EQ_U(r->unverifiable, 0u); /* never a split message */
    /* no FV was spent on a dropped record */
    CHECK_EQ_U(r->last_meter_fv, 5u);
}

void test_engine_malformed_frames(void)
{
    rig_t *r = &g_r;
    rig_new(r, 4, 6400);
    CHECK(rig_boot(r, true));
    can_frame_t f = {0};
    f.id = PROTO_ID(PROTO_FN_RELAY, 4);
    f.dlc = 1; /* no body byte */
    CHECK(meter_on_can_rx(&r->meter, &f));
    CHECK_EQ_U(r->meter.counters.rejected_malformed, 1u);
    f.dlc = 8;
    f.data[0] = 0x11; /* continuation without a start */
    CHECK(meter_on_can_rx(&r->meter, &f));
    CHECK_EQ_U(r->meter.counters.rejected_malformed, 2u);
    f.data[0] = 0x01; /* a start ... */
    CHECK(meter_on_can_rx(&r->meter, &f));
    CHECK(meter_on_can_rx(&r->meter, &f)); /* ... replaced by another */
    CHECK_EQ_U(r->meter.counters.rejected_malformed, 3u);
    rig_run(r, 0.1);
    CHECK_EQ_U(r->meter.counters.rejected_malformed, 3u);
    rig_run(r, 0.01); /* ... which times out */
    CHECK_EQ_U(r->meter.counters.rejected_malformed, 4u);
    /* a body too short for FV and MAC */
    f.data[0] = 0x00;
    f.dlc = 8;
    CHECK(meter_on_can_rx(&r->meter, &f));
    CHECK_EQ_U(r->meter.counters.rejected_malformed, 5u);
    CHECK_EQ_U(rig_collect(r), 0u);
}

void test_engine_aggregates(void)
{
    rig_t *r = &g_r;
    proto_command_t c;
    proto_ack_t a;
    proto_aggregate_t g[16];
    const uint64_t t0 = 1767225600000ull + 250000u; /* 4 min 10 s into an interval */
    rig_new(r, 12, 800);                            /* 800 Hz: hours run fast */
    CHECK(rig_boot(r, true));
    rig_run(r, 60.0);
    CHECK_EQ_U(r->meter.aggregates_total, 0u); /* no time, no aggregates */
    (void)rig_command(r, (c = time_cmd(t0), &c));
    CHECK(rig_ack(r, &a));
    rig_run(r, 2.0 * 3600.0 + 60.0); /* to 2:05:10 into the first interval */
    /* the partial first interval is not kept: 11 whole ones follow */
    CHECK_EQ_U(r->meter.aggregates_total, 11u);

    c = control(PROTO_OP_READ_AGGREGATES);
    c.from_s = 0;
    c.max_count = 16;
    uint32_t fv = rig_command(r, &c);
    (void)rig_collect(r);
    CHECK_EQ_U(rig_count(r, PROTO_FN_AGGREGATE), 11u);
    for (size_t k = 0; k < 11 && k < rig_count(r, PROTO_FN_AGGREGATE); k++) {
        const rig_msg_t *m = rig_find(r, PROTO_FN_AGGREGATE, k);
        CHECK(m != NULL && proto_decode_aggregate(m->payload, m->len, &g[k]) == PROTO_OK);
        CHECK_EQ_U(g[k].start_s, 1767225600u + 600u * (k + 1u));
        CHECK_NEAR(g[k].vrms_mean, 23000, 30);
        CHECK(g[k].vrms_min <= g[k].vrms_mean && g[k].vrms_mean <= g[k].vrms_max);
        CHECK_NEAR(g[k].p_mean, 2300000, 6000);
        CHECK(g[k].p_min <= g[k].p_mean && g[k].p_mean <= g[k].p_max);
        CHECK_NEAR(g[k].f_mean, 50000, 5);
        CHECK(g[k].thd_v != PROTO_NOT_MEASURED && g[k].thd_v < 60 && g[k].thd_i < 60);
        CHECK_NEAR(g[k].import_mwh, 2300.0 * 600.0 / 3.6, 1000.0);
        CHECK(g[k].export_mwh == 0 && g[k].flags == 0);
    }
    const rig_msg_t *ack = rig_find(r, PROTO_FN_ACK, 0);
    CHECK(ack != NULL && proto_decode_ack(ack->payload, ack->len, &a) == PROTO_OK);
    CHECK(a.command_fv == fv && a.opcode == PROTO_OP_READ_AGGREGATES && a.value == 11);
    CHECK(ack != NULL && ack->fv > rig_find(r, PROTO_FN_AGGREGATE, 10)->fv); /* after the records */

    /* from a start time, limited count */
    c.from_s = g[3].start_s;
    c.max_count = 2;
    (void)rig_command(r, &c);
    (void)rig_collect(r);
    CHECK_EQ_U(rig_count(r, PROTO_FN_AGGREGATE), 2u);
    proto_aggregate_t one;
    CHECK(proto_decode_aggregate(rig_find(r, PROTO_FN_AGGREGATE, 0)->payload, PROTO_LEN_AGGREGATE, &one) == PROTO_OK &&
          one.start_s == g[3].start_s);
    c.from_s = 0xFFFFFFFFu; /* nothing that new */
    c.max_count = 16;
    (void)rig_command(r, &c);
    CHECK(rig_ack(r, &a) && a.value == 0 && a.result == PROTO_RESULT_OK);
    c.max_count = 17;
    (void)rig_command(r, &c);
    CHECK(rig_ack(r, &a) && a.result == PROTO_RESULT_BAD_ARGUMENTS);

    /* while one read is being sent, another is busy */
    c.from_s = 0;
    c.max_count = 16;
    (void)rig_command(r, &c);
    CHECK(r->meter.read_job.opcode != 0); /* the queue could not take all 11 at once */
    CHECK(r->meter.txq.count <= TXQ_LEN - 14u);
    uint32_t busy_fv = rig_command(r, &c);
    (void)rig_collect(r);
    CHECK_EQ_U(rig_count(r, PROTO_FN_AGGREGATE), 11u);
    CHECK_EQ_U(rig_count(r, PROTO_FN_ACK), 2u);
    bool saw_busy = false;
    for (size_t k = 0; k < 2; k++) {
        CHECK(proto_decode_ack(rig_find(r, PROTO_FN_ACK, k)->payload, PROTO_LEN_ACK, &a) == PROTO_OK);
        saw_busy |= a.command_fv == busy_fv && a.result == PROTO_RESULT_BUSY;
    }
    CHECK(saw_busy);

    /* a dip inside an interval flags its aggregate (IEC 61000-4-30) */
    double now_s = (double)r->synth.n / r->synth.fs;
    r->synth.steps[0] = (synth_step_t){now_s + 1.0, now_s + 1.2, 0.5};
    r->synth.nsteps = 1;
    rig_run(r, 600.0);
    CHECK(r->meter.events_total >= 1u);
    CHECK_EQ_U(r->meter.aggregates_total, 12u);
    CHECK_EQ_U(r->meter.aggregates[11].flags, PROTO_AGG_FLAGGED);
    CHECK_EQ_U(r->meter.aggregates[10].flags, 0u);
    /* a TIME step into another interval drops the running one */
    (void)rig_command(r, (c = time_cmd(t0 + 5u * 3600000u), &c));
    CHECK(rig_ack(r, &a));
    rig_run(r, 900.0);
    CHECK_EQ_U(r->meter.aggregates_total, 12u);
    rig_run(r, 600.0);
    CHECK_EQ_U(r->meter.aggregates_total, 13u);
    CHECK_EQ_U(r->unverifiable, 0u);
}

void test_engine_events(void)
{
    rig_t *r = &g_r;
    proto_command_t c;
    proto_ack_t a;
    proto_event_t ev;
    proto_snapshot_t s;
    rig_new(r, 13, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 1.0);
    (void)rig_command(r, (c = time_cmd(1767225600000ull), &c));
    CHECK(rig_ack(r, &a));
    rig_run(r, 0.5);
    uint64_t start = meter_clock(&r->meter) - 3200u; /* 0.5 s ago: when TIME came */
    CHECK(!meter_log_event(&r->meter, 0, start, 1, 1));
    CHECK(!meter_log_event(&r->meter, 4, start, 1, 1));
    CHECK(meter_log_event(&r->meter, PROTO_EVENT_DIP, start, 480, 16100));
    CHECK(meter_nv(&r->meter)->event_seq == 1 && r->meter.nv_dirty); /* to be persisted */
    c = control(PROTO_OP_READ_EVENTS);
    c.from_seq = 0;
    c.max_count = 1;
    (void)rig_command(r, &c);
    (void)rig_collect(r);
    CHECK(proto_decode_event(rig_find(r, PROTO_FN_EVENT, 0)->payload, PROTO_LEN_EVENT, &ev) == PROTO_OK);
    CHECK(ev.seq == 0 && ev.kind == PROTO_EVENT_DIP && ev.duration_ms == 480 && ev.extreme == 16100);
    CHECK(ev.start_s == 1767225600u && ev.start_ms == 0u); /* the TIME was set at that sample */
    /* a real dip: logged by the metrology, its window flagged, the next not */
    double now_s = (double)r->synth.n / r->synth.fs;
    r->synth.steps[0] = (synth_step_t){now_s + 0.05, now_s + 0.09, 0.6};
    r->synth.nsteps = 1;
    uint32_t logged = r->meter.events_total;
    run_windows(r, 1);
    while (r->meter.last.t_end < (uint64_t)((now_s + 0.07) * r->synth.fs)) {
        run_windows(r, 1);
    }
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK(snapshot_of(r, &s) && (s.flags & PROTO_FLAG_WINDOW_FLAGGED) != 0);
    run_windows(r, 2);
    rig_run(r, 0.1);
    CHECK(rig_remote(r, PROTO_FN_SNAPSHOT));
    CHECK(snapshot_of(r, &s) && (s.flags & PROTO_FLAG_WINDOW_FLAGGED) == 0);
    CHECK_EQ_U(r->meter.events_total, logged + 1u);
    const proto_event_t *dip = &r->meter.events[logged % METER_EVENTS];
    CHECK(dip->kind == PROTO_EVENT_DIP && dip->seq == logged);
    CHECK_NEAR(dip->duration_ms, 40, 5);
    CHECK_NEAR(dip->extreme, 13800, 150);
    for (int k = 0; k < 70; k++) {
        CHECK(meter_log_event(&r->meter, (uint8_t)(1 + k % 3), meter_clock(&r->meter), (uint32_t)k, 0));
    }
    c = control(PROTO_OP_READ_EVENTS);
    c.from_seq = 0;
    c.max_count = 3;
    (void)rig_command(r, &c);
    (void)rig_collect(r);
    CHECK_EQ_U(rig_count(r, PROTO_FN_EVENT), 3u);
    CHECK(proto_decode_event(rig_find(r, PROTO_FN_EVENT, 0)->payload, PROTO_LEN_EVENT, &ev) == PROTO_OK);
    CHECK_EQ_U(ev.seq, 8u); /* 72 logged, the ring keeps the last 64 */
    c.from_seq = 69;
    c.max_count = 16;
    (void)rig_command(r, &c);
    (void)rig_collect(r);
    CHECK_EQ_U(rig_count(r, PROTO_FN_EVENT), 3u);
    CHECK(proto_decode_event(rig_find(r, PROTO_FN_EVENT, 2)->payload, PROTO_LEN_EVENT, &ev) == PROTO_OK);
    CHECK(ev.seq == 71 && ev.kind == 1 && ev.duration_ms == 69);
    CHECK(proto_decode_ack(rig_find(r, PROTO_FN_ACK, 0)->payload, PROTO_LEN_ACK, &a) == PROTO_OK && a.value == 3);
    /* numbers continue after a reboot */
    CHECK(rig_boot(r, false));
    CHECK(meter_log_event(&r->meter, PROTO_EVENT_SWELL, 0, 10, 26000));
    c.from_seq = 0;
    c.max_count = 16;
    (void)rig_command(r, &c);
    (void)rig_collect(r);
    CHECK_EQ_U(rig_count(r, PROTO_FN_EVENT), 1u);
    CHECK(proto_decode_event(rig_find(r, PROTO_FN_EVENT, 0)->payload, PROTO_LEN_EVENT, &ev) == PROTO_OK);
    CHECK(ev.seq == 72 && ev.kind == PROTO_EVENT_SWELL && ev.start_s == 0 && ev.extreme == 26000);
    CHECK_EQ_U(r->unverifiable, 0u);
}
