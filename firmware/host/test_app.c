/*
 * test_app.c - the portable main program (core/meter_app.c) natively, on
 * the simulated board of the QEMU run (qemu/sim_board.c): persistence of
 * the blob before any frame goes out, energy as EEPROM ticks that survive
 * a reset, the imported configuration, the calibration, the CAN error
 * counters in STATUS, the relay output, and a power cut in every flash
 * operation of the first seconds of a meter's life.
 */
#include <string.h>

#include "meter_app.h"
#include "sim_board.h"
#include "tests.h"
#include "tharness.h"

#define NODE 9u

static sim_board_t g_s;
static app_t g_a;
static meter_identity_t g_id;

static void provision(void)
{
    memset(&g_id, 0, sizeof g_id);
    g_id.node = NODE;
    for (unsigned k = 0; k < SECURE_KEY_SIZE; k++) {
        g_id.meter_key[k] = (uint8_t)(k + 1u);
        g_id.group_key[k] = (uint8_t)(k + 101u);
    }
    for (unsigned k = 0; k < SECURE_UID_SIZE; k++) {
        g_id.uid[k] = (uint8_t)(0xA0u + k);
    }
    config_page_build(&g_id, g_s.config_page);
}

static void run(uint32_t passes)
{
    for (uint32_t k = 0; k < passes; k++) {
        app_step(&g_a);
        sim_bus_idle(&g_s);
    }
}

/* Polls function; the record's payload (opened with the meter key) into
 * out, its FV into *fv. Returns the payload length (0: no valid answer). */
static size_t poll(uint32_t function, uint8_t *out, uint32_t *fv)
{
    static reasm_t r;
    can_frame_t f = {0};
    f.id = PROTO_ID(function, NODE);
    f.flags = CAN_FLAG_RTR;
    (void)sim_send(&g_s, &f);
    reasm_init(&r);
    size_t got = 0;
    for (int pass = 0; pass < 6 && got == 0; pass++) {
        app_step(&g_a);
        sim_bus_idle(&g_s);
        while (sim_receive(&g_s, &f)) {
            if (reasm_push(&r, &f, 0) == REASM_MESSAGE && PROTO_ID_FN(f.id) == function) {
                secure_msg_t m;
                if (secure_open(g_id.meter_key, (uint16_t)f.id, r.body, r.body_len, 0, &m) == SECURE_OK) {
                    memcpy(out, m.payload, m.len);
                    *fv = m.fv;
                    got = m.len;
                }
            }
        }
    }
    return got;
}

void test_app_nv_persistence(void)
{
    sim_init(&g_s, NULL);
    /* not provisioned: measures, stays silent */
    CHECK(!app_start(&g_a, &g_s.board));
    run(5);
    CHECK(g_a.meter.seq >= 1u && g_s.from_head == 0u);
    uint8_t p[PROTO_LEN_MAX];
    uint32_t fv = 0;
    CHECK(poll(PROTO_FN_SNAPSHOT, p, &fv) == 0u);

    provision();
    sim_reset(&g_s);
    CHECK(app_start(&g_a, &g_s.board));
    CHECK(g_a.config_imported);
    CHECK(g_a.nv_writes == 1u && !g_a.nv_pending); /* the boot, stored before anything is sent */
    run(125); /* 10 s at 1.84 kW: 5.1 Wh */
    CHECK_MSG(g_a.nv_ticks >= 4u && g_a.nv_ticks <= 6u, "%u ticks", g_a.nv_ticks);
    CHECK(g_a.nv_writes == 1u);
    proto_snapshot_t snap;
    size_t n = poll(PROTO_FN_SNAPSHOT, p, &fv);
    CHECK(n == PROTO_LEN_SNAPSHOT && proto_decode_snapshot(p, n, &snap) == PROTO_OK);
    CHECK(snap.vrms > 22900u && snap.vrms < 23100u && snap.p > 1800000 && snap.p < 1880000);
    uint32_t fv1 = fv;
    double wh = meter_energy_import_wh(&g_a.meter);

    /* reset: the stored configuration, the energy to the last whole Wh,
     * the FV above the whole reservation, one more boot */
    sim_reset(&g_s);
    CHECK(app_start(&g_a, &g_s.board));
    CHECK(!g_a.config_imported);
    CHECK_NEAR(meter_energy_import_wh(&g_a.meter), (double)(uint64_t)wh, 1e-9);
    proto_energy_t e;
    n = poll(PROTO_FN_ENERGY, p, &fv);
    CHECK(n == PROTO_LEN_ENERGY && proto_decode_energy(p, n, &e) == PROTO_OK);
    CHECK_EQ_U(e.boots, 2u);
    /* resumed from the stored whole Wh, plus what the poll's passes measured */
    CHECK_MSG(e.import_mwh >= (uint64_t)wh * 1000u && e.import_mwh < (uint64_t)wh * 1000u + 300u,
              "%llu mWh after %.3f Wh", (unsigned long long)e.import_mwh, wh);
    CHECK(fv > METER_FV_BLOCK && fv > fv1);

    /* the CAN error counters reach STATUS; bus-off shows as TEC 255 and
     * holds every frame back */
    g_s.tec = 96;
    g_s.rec = 17;
    proto_status_rec_t st;
    n = poll(PROTO_FN_STATUS, p, &fv);
    CHECK(n == PROTO_LEN_STATUS && proto_decode_status(p, n, &st) == PROTO_OK);
    CHECK_EQ_U(st.tec, 96u);
    CHECK_EQ_U(st.rec, 17u);
    CHECK_EQ_U(st.boots, 2u);
    g_s.bus_off = true;
    uint32_t sent = g_s.from_head;
    CHECK(poll(PROTO_FN_STATUS, p, &fv) == 0u);
    CHECK(g_s.from_head == sent);
    g_s.bus_off = false;
    n = poll(PROTO_FN_STATUS, p, &fv); /* the queued answer leaves after recovery */
    CHECK(n == PROTO_LEN_STATUS && proto_decode_status(p, n, &st) == PROTO_OK);
    CHECK_EQ_U(st.tec, 255u);
}

static bool fail_program(void *ctx, uint32_t page, uint32_t off, uint16_t v)
{
    (void)ctx;
    (void)page;
    (void)off;
    (void)v;
    return false;
}

void test_app_no_frame_before_persisted(void)
{
    sim_init(&g_s, NULL);
    provision();
    static ee_flash_t broken;
    static app_board_t board;
    broken = g_s.flash_if;
    broken.program = fail_program;
    board = g_s.board;
    board.flash = &broken;
    CHECK(app_start(&g_a, &board));
    CHECK(g_a.nv_pending && g_a.nv_failures >= 1u);
    can_frame_t f = {0};
    f.id = PROTO_ID(PROTO_FN_SNAPSHOT, NODE);
    f.flags = CAN_FLAG_RTR;
    for (int k = 0; k < 10; k++) {
        (void)sim_send(&g_s, &f);
        app_step(&g_a);
        sim_bus_idle(&g_s);
    }
    /* the meter measures, but sends nothing it could not store the FV of */
    CHECK(g_a.meter.seq >= 3u);
    CHECK_EQ_U(g_s.from_head, 0u);
    CHECK_EQ_U(g_a.frames_out, 0u);
}

void test_app_calibration_and_relay(void)
{
    sim_init(&g_s, NULL);
    provision();
    CHECK(app_start(&g_a, &g_s.board));
    run(10);
    float v1 = g_a.meter.last.vrms;
    app_calibration_t cal = {0};
    meter_config_t def;
    meter_config_default(&def);
    cal.v_scale = def.v_scale * 1.01f;
    cal.i_scale = def.i_scale;
    cal.v_offset = def.v_offset;
    cal.i_offset = def.i_offset;
    cal.phase_deg = 0.0f;
    CHECK(app_store_calibration(&g_a, &cal));
    sim_reset(&g_s);
    CHECK(app_start(&g_a, &g_s.board));
    run(10);
    CHECK_REL(g_a.meter.last.vrms, v1 * 1.01f, 2e-3);
    CHECK(g_s.relay_on && g_s.displays >= 3u && g_s.shown.online && g_s.shown.node == NODE);

    /* a secured RELAY off from the aggregator opens the relay output */
    static txq_t q;
    proto_command_t c = {0};
    c.function = PROTO_FN_RELAY;
    c.state = 0;
    uint8_t payload[PROTO_LEN_MAX], body[FRAMES_BODY_MAX];
    size_t n = proto_encode_command(&c, payload);
    uint16_t id = PROTO_ID(PROTO_FN_RELAY, NODE);
    size_t len = secure_seal(g_id.meter_key, id, payload, n, 1u, body);
    txq_init(&q);
    CHECK(txq_push_message(&q, id, body, len));
    can_frame_t f;
    while (txq_pop(&q, &f)) {
        (void)sim_send(&g_s, &f);
    }
    run(2);
    CHECK(!g_s.relay_on && g_s.relay_switches == 1u);
}

/* ------------------------------------------------------------ power cuts through the main program */

#include "flash_sim.h"

typedef struct {
    uint32_t max_fv;        /* highest FV seen on the bus */
    uint32_t min_fv;        /* lowest FV seen (after the reset) */
    uint64_t max_import_mwh; /* highest import any ENERGY record reported */
    uint32_t records;
} seen_t;

/* Reads what the meter sent: verifies, notes FVs and the ENERGY import. */
static void drain(seen_t *seen, reasm_t *r)
{
    can_frame_t f;
    while (sim_receive(&g_s, &f)) {
        if (reasm_push(r, &f, 0) != REASM_MESSAGE) {
            continue;
        }
        secure_msg_t m;
        if (secure_open(g_id.meter_key, (uint16_t)f.id, r->body, r->body_len, 0, &m) != SECURE_OK) {
            seen->records = 0xFFFFFFFFu; /* never: a forged or broken record */
            return;
        }
        seen->records++;
        seen->max_fv = m.fv > seen->max_fv ? m.fv : seen->max_fv;
        seen->min_fv = seen->min_fv == 0u || m.fv < seen->min_fv ? m.fv : seen->min_fv;
        proto_energy_t e;
        if (PROTO_ID_FN(f.id) == PROTO_FN_ENERGY && proto_decode_energy(m.payload, m.len, &e) == PROTO_OK &&
            e.import_mwh > seen->max_import_mwh) {
            seen->max_import_mwh = e.import_mwh;
        }
    }
}

/* Passes of the main program with a poll every fourth. When the flash's
 * cut operation comes, the CPU runs four more passes with every flash
 * operation failing, as in a brown-out (flash programming fails at a
 * supply the core still runs on), then stops. */
static void live(fsim_t *f, seen_t *seen, uint32_t passes)
{
    static reasm_t r;
    uint32_t after_cut = 0;
    reasm_init(&r);
    for (uint32_t k = 0; k < passes && after_cut < 4u; k++) {
        after_cut += f->off;
        if (k % 4u == 3u) {
            can_frame_t q = {0};
            q.id = PROTO_ID(k % 8u == 3u ? PROTO_FN_SNAPSHOT : PROTO_FN_ENERGY, NODE);
            q.flags = CAN_FLAG_RTR;
            (void)sim_send(&g_s, &q);
        }
        app_step(&g_a);
        drain(seen, &r);
        sim_bus_idle(&g_s);
    }
}

/* A power cut in every flash operation of a meter's first 48 passes (the
 * import of the configuration, the boot, FV reservations, energy ticks):
 * after the reset the meter is online, never sends an FV it sent before,
 * and its energy is not below any ENERGY record it had sent. */
void test_app_power_cut_sweep(void)
{
    static fsim_t f;
    static app_board_t board;
    uint64_t total = 0;
    unsigned violations = 0, runs = 0;
    char why[160] = "";
    for (uint64_t cut = 0; cut == 0u || cut <= total; cut++) {
        fsim_init(&f, EE_KEYS + 2u, 1024, 77u + (uint32_t)cut);
        sim_init(&g_s, NULL);
        provision();
        board = g_s.board;
        board.flash = &f.ops_if;
        fsim_power_on(&f, cut);
        seen_t before = {0}, after = {0};
        bool online = app_start(&g_a, &board);
        live(&f, &before, 48);
        if (cut == 0u) {
            total = f.ops;
            CHECK(online && before.records >= 10u && before.max_import_mwh >= 1000u);
            continue;
        }
        runs++;
        /* power returns: RAM is gone, the flash keeps what it holds */
        fsim_power_on(&f, 0);
        sim_reset(&g_s);
        board = g_s.board;
        board.flash = &f.ops_if;
        const char *bad = NULL;
        if (!app_start(&g_a, &board)) {
            bad = "offline after the reset";
        } else {
            live(&f, &after, 12);
            if (before.records == 0xFFFFFFFFu || after.records == 0xFFFFFFFFu) {
                bad = "a record did not verify";
            } else if (after.records < 2u) {
                bad = "no answers after the reset";
            } else if (before.records > 0u && after.min_fv <= before.max_fv) {
                bad = "an FV was sent again after the reset";
            } else if (meter_energy_import_wh(&g_a.meter) * 1000.0 < (double)(before.max_import_mwh / 1000u * 1000u)) {
                bad = "energy went below a reported whole Wh";
            }
        }
        if (bad != NULL && violations++ == 0u) {
            snprintf(why, sizeof why, "cut %llu: %s", (unsigned long long)cut, bad);
        }
    }
    CHECK_MSG(total > 100u, "%llu operations", (unsigned long long)total);
    CHECK_MSG(violations == 0u, "%u of %u runs: first %s", violations, runs, why);
    printf("  app: a power cut in each of %llu flash operations of the main program: %u runs\n",
           (unsigned long long)total, runs);
}
