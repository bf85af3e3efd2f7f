/*
 * bxcan_calc.h - the pure arithmetic of the bxCAN set-up (RM0008 24.7.7
 * "Bit timing", 24.7.4 "Identifier filtering", 24.9.2 CAN_BTR and the
 * filter bank registers): no register access, so the host tests run it
 * against the reference table (docs/firmware.md, "CAN bit timing").
 */
#ifndef WW_BXCAN_CALC_H
#define WW_BXCAN_CALC_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint16_t brp;   /* prescaler, 1..1024: tq = brp / f_pclk1 */
    uint8_t bs1;    /* time segment 1 (propagation + phase 1), 1..16 tq */
    uint8_t bs2;    /* phase segment 2, 1..8 tq */
    uint8_t sjw;    /* resynchronisation jump width, 1..4 tq */
    uint8_t tq;     /* tq per bit: 1 + bs1 + bs2 */
    uint16_t sample_permille; /* (1 + bs1) / tq */
    uint32_t btr;   /* the CAN_BTR value (LBKM and SILM clear) */
} bxcan_timing_t;

/*
 * The bit timing for bitrate from pclk1 with an exact prescaler, the sample
 * point nearest sp_permille (875: CiA 301 / J1939), and among equals the
 * most time quanta (finer resynchronisation). SJW = 1 tq. False if no exact
 * setting exists (the bit rate would be off) or an argument is 0.
 */
bool bxcan_timing(uint32_t pclk1_hz, uint32_t bitrate, uint16_t sp_permille, bxcan_timing_t *out);

/* The 16-bit identifier-list filter entry of a standard identifier
 * (RM0008 Figure 230: STID[10:0] << 5 | RTR << 4 | IDE << 3). */
uint16_t bxcan_filter16(uint16_t std_id, bool rtr);

/*
 * The meter's filter entries, two banks of four in 16-bit list mode:
 * bank 0 (FIFO 0) the data frames of RELAY, TIME and CONTROL to node and
 * the TIME broadcast; bank 1 (FIFO 1) the remote frames of SNAPSHOT,
 * ENERGY and STATUS to node (the last entry repeated). Exactly what
 * meter_on_can_rx() listens to, so nothing else wakes the CPU.
 */
#define BXCAN_METER_ENTRIES 8u
void bxcan_meter_filters(uint8_t node, uint16_t entries[BXCAN_METER_ENTRIES]);

/* A bank's two 32-bit filter registers from four 16-bit entries
 * (CAN_FiR1 = entry1 << 16 | entry0, CAN_FiR2 = entry3 << 16 | entry2). */
void bxcan_list_bank(const uint16_t entries[4], uint32_t *fr1, uint32_t *fr2);

#endif
