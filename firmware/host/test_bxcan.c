/*
 * test_bxcan.c - the pure bxCAN arithmetic of the STM32F107 board
 * (board/stm32f107/bxcan_calc.c): bit timing against the reference table
 * (shared reference, firmware.md section 5; docs/firmware.md), and the
 * acceptance filters against what the meter core listens to.
 */
#include <string.h>

#include "bxcan_calc.h"
#include "meter.h"
#include "tests.h"
#include "tharness.h"

#define PCLK1 36000000u

void test_can_bit_timing_table(void)
{
    static const struct {
        uint32_t rate;
        uint16_t brp;
        uint8_t tq, bs1, bs2;
        uint16_t sp;
        uint32_t btr;
    } table[] = {
        {125000u, 18, 16, 13, 2, 875, 0x001C0011u},
        {250000u, 9, 16, 13, 2, 875, 0x001C0008u},
        {500000u, 9, 8, 6, 1, 875, 0x00050008u},
        {1000000u, 2, 18, 15, 2, 889, 0x001E0001u},
    };
    for (unsigned k = 0; k < sizeof table / sizeof table[0]; k++) {
        bxcan_timing_t t;
        CHECK(bxcan_timing(PCLK1, table[k].rate, 875, &t));
        CHECK_EQ_U(t.brp, table[k].brp);
        CHECK_EQ_U(t.tq, table[k].tq);
        CHECK_EQ_U(t.bs1, table[k].bs1);
        CHECK_EQ_U(t.bs2, table[k].bs2);
        CHECK_EQ_U(t.sjw, 1u);
        CHECK_EQ_U(t.sample_permille, table[k].sp);
        CHECK_EQ_U(t.btr, table[k].btr);
        /* the bit rate is exact */
        CHECK_EQ_U((uint64_t)PCLK1 / ((uint64_t)t.brp * t.tq), table[k].rate);
        CHECK_EQ_U(PCLK1 % ((uint32_t)t.brp * t.tq), 0u);
    }
}

void test_can_bit_timing_search(void)
{
    bxcan_timing_t t;
    /* no exact prescaler: 36 MHz / 33.333 kbit/s is not a whole number of tq */
    CHECK(!bxcan_timing(PCLK1, 33333u, 875, &t));
    CHECK(!bxcan_timing(PCLK1, 0u, 875, &t));
    CHECK(!bxcan_timing(0u, 500000u, 875, &t));
    CHECK(!bxcan_timing(PCLK1, 500000u, 1000u, &t));
    /* faster than 3 tq per bit allows */
    CHECK(!bxcan_timing(PCLK1, 18000000u, 875, &t));
    /* a J1939 check at another clock: 8 MHz HSI, 250 kbit/s: 16 tq, 87.5 % */
    CHECK(bxcan_timing(8000000u, 250000u, 875, &t));
    CHECK_EQ_U(t.tq, 16u);
    CHECK_EQ_U(t.sample_permille, 875u);
    /* every result is inside the register's ranges and no other exact
     * setting is nearer the goal */
    static const uint32_t rates[] = {10000u, 20000u, 50000u, 83333u, 100000u, 125000u,
                                     250000u, 400000u, 500000u, 800000u, 1000000u};
    for (unsigned k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        for (uint16_t goal = 700; goal <= 900; goal += 25) {
            if (!bxcan_timing(PCLK1, rates[k], goal, &t)) {
                continue;
            }
            CHECK(t.brp >= 1u && t.brp <= 1024u && t.bs1 >= 1u && t.bs1 <= 16u && t.bs2 >= 1u &&
                  t.bs2 <= 8u && t.tq == 1u + t.bs1 + t.bs2);
            CHECK_EQ_U((uint64_t)t.brp * t.tq * rates[k], PCLK1);
            double best = 1e9;
            for (unsigned tq = 3; tq <= 25; tq++) {
                if (PCLK1 % (rates[k] * tq) != 0u || PCLK1 / (rates[k] * tq) > 1024u) {
                    continue;
                }
                for (unsigned bs2 = 1; bs2 <= 8; bs2++) {
                    unsigned bs1 = tq - 1u - bs2;
                    if (bs1 < 1u || bs1 > 16u || tq < 1u + bs2 + 1u) {
                        continue;
                    }
                    double d = (1.0 + bs1) / tq - goal / 1000.0;
                    d = d < 0 ? -d : d;
                    best = d < best ? d : best;
                }
            }
            double got = (1.0 + t.bs1) / t.tq - goal / 1000.0;
            got = got < 0 ? -got : got;
            CHECK_MSG(got <= best + 1e-12, "%u bit/s goal %u: %.4f vs best %.4f", rates[k], goal, got, best);
        }
    }
}

static bool filter_accepts(const uint16_t e[BXCAN_METER_ENTRIES], uint16_t id, bool rtr)
{
    uint16_t v = bxcan_filter16(id, rtr);
    for (unsigned k = 0; k < BXCAN_METER_ENTRIES; k++) {
        if (e[k] == v) {
            return true;
        }
    }
    return false;
}

void test_can_filters_match_meter(void)
{
    static meter_t m;
    meter_identity_t id;
    uint8_t page[CONFIG_PAGE_SIZE];
    memset(&id, 0, sizeof id);
    id.node = 42;
    config_page_build(&id, page);
    meter_config_t cfg;
    meter_config_default(&cfg);
    CHECK(meter_boot(&m, &cfg, page, NULL));
    uint16_t e[BXCAN_METER_ENTRIES];
    bxcan_meter_filters(42, e);
    /* RM0008 Figure 230: STID at 15:5, RTR at 4 */
    CHECK_EQ_U(e[4], (uint16_t)(PROTO_ID(PROTO_FN_SNAPSHOT, 42) << 5 | 0x10u));
    uint32_t disagree = 0, accepted = 0;
    for (uint16_t can_id = 0; can_id <= CAN_STD_ID_MASK; can_id++) {
        for (int rtr = 0; rtr < 2; rtr++) {
            can_frame_t f = {0};
            f.id = can_id;
            f.flags = rtr ? CAN_FLAG_RTR : 0u;
            bool core = meter_on_can_rx(&m, &f);
            bool hw = filter_accepts(e, can_id, rtr != 0);
            disagree += core != hw;
            accepted += hw;
            while (meter_can_tx_pop(&m, &f)) {
            }
        }
    }
    CHECK_EQ_U(disagree, 0u);
    CHECK_EQ_U(accepted, 7u);
    uint32_t fr1, fr2;
    bxcan_list_bank(e, &fr1, &fr2);
    CHECK_EQ_U(fr1, (uint32_t)e[1] << 16 | e[0]);
    CHECK_EQ_U(fr2, (uint32_t)e[3] << 16 | e[2]);
}
