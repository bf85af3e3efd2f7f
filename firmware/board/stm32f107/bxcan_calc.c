/*
 * bxcan_calc.c - see bxcan_calc.h.
 */
#include "bxcan_calc.h"

#include "proto.h"

bool bxcan_timing(uint32_t pclk1_hz, uint32_t bitrate, uint16_t sp_permille, bxcan_timing_t *out)
{
    bool found = false;
    bxcan_timing_t best = {0};
    uint32_t best_err = 0;
    if (pclk1_hz == 0u || bitrate == 0u || out == NULL || sp_permille == 0u || sp_permille >= 1000u) {
        return false;
    }
    /* 1 + BS1 + BS2 with BS1 <= 16, BS2 <= 8: 3..25 tq */
    for (uint32_t tq = 25u; tq >= 3u; tq--) {
        uint64_t per_bit = (uint64_t)bitrate * tq;
        if (pclk1_hz % per_bit != 0u) {
            continue;
        }
        uint64_t brp = pclk1_hz / per_bit;
        if (brp < 1u || brp > 1024u) {
            continue;
        }
        for (uint32_t bs2 = 1u; bs2 <= 8u; bs2++) {
            uint32_t bs1 = tq - 1u - bs2;
            if (bs1 < 1u || bs1 > 16u) {
                continue;
            }
            /* sample point in 1/1000, rounded, and its distance from the goal */
            uint32_t sp = ((1u + bs1) * 1000u + tq / 2u) / tq;
            uint32_t err = (uint32_t)((1u + bs1) * 1000u > sp_permille * tq
                                          ? (1u + bs1) * 1000u - sp_permille * tq
                                          : sp_permille * tq - (1u + bs1) * 1000u);
            /* compare |sp - goal| exactly: err / tq against best_err / best.tq */
            if (!found || (uint64_t)err * best.tq < (uint64_t)best_err * tq) {
                found = true;
                best_err = err;
                best.brp = (uint16_t)brp;
                best.bs1 = (uint8_t)bs1;
                best.bs2 = (uint8_t)bs2;
                best.sjw = 1u;
                best.tq = (uint8_t)tq;
                best.sample_permille = (uint16_t)sp;
            }
        }
    }
    if (!found) {
        return false;
    }
    /* RM0008 24.9.2 CAN_BTR: SJW[1:0] 25:24, TS2[2:0] 22:20, TS1[3:0] 19:16, BRP[9:0] 9:0,
     * each field holding its value minus one */
    best.btr = (uint32_t)(best.sjw - 1u) << 24 | (uint32_t)(best.bs2 - 1u) << 20 |
               (uint32_t)(best.bs1 - 1u) << 16 | (uint32_t)(best.brp - 1u);
    *out = best;
    return true;
}

uint16_t bxcan_filter16(uint16_t std_id, bool rtr)
{
    return (uint16_t)((uint32_t)(std_id & 0x7FFu) << 5 | (rtr ? 1u << 4 : 0u));
}

void bxcan_meter_filters(uint8_t node, uint16_t entries[BXCAN_METER_ENTRIES])
{
    entries[0] = bxcan_filter16(PROTO_ID(PROTO_FN_RELAY, node), false);
    entries[1] = bxcan_filter16(PROTO_ID(PROTO_FN_TIME, node), false);
    entries[2] = bxcan_filter16(PROTO_ID(PROTO_FN_CONTROL, node), false);
    entries[3] = bxcan_filter16(PROTO_ID(PROTO_FN_TIME, PROTO_NODE_BROADCAST), false);
    entries[4] = bxcan_filter16(PROTO_ID(PROTO_FN_SNAPSHOT, node), true);
    entries[5] = bxcan_filter16(PROTO_ID(PROTO_FN_ENERGY, node), true);
    entries[6] = bxcan_filter16(PROTO_ID(PROTO_FN_STATUS, node), true);
    entries[7] = entries[6];
}

void bxcan_list_bank(const uint16_t entries[4], uint32_t *fr1, uint32_t *fr2)
{
    *fr1 = (uint32_t)entries[1] << 16 | entries[0];
    *fr2 = (uint32_t)entries[3] << 16 | entries[2];
}
