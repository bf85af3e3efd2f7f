/*
 * sim_board.h - a simulated meter board for the portable main program
 * (core/meter_app.h), with no registers: an ADC source that synthesises the
 * CVCT's two channels with integers (230 V, 10 A, PF 0.8, 50 Hz), a
 * loopback CAN with three transmit mailboxes and a receive ring, and a
 * flash of 2 KiB pages in RAM with NOR rules. Runs the same code on the
 * Cortex-M3 under QEMU (qemu_main.c) and natively (host/test_app.c).
 */
#ifndef WW_SIM_BOARD_H
#define WW_SIM_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "meter_app.h"

#define SIM_ADC_HALF 512u       /* pairs per DMA half, as on the board */
#define SIM_FLASH_PAGES 6u      /* EE_KEYS + 2 */
#define SIM_FLASH_PAGE 2048u
#define SIM_RING 64u            /* frames each way; a power of two */

typedef struct {
    /* ADC */
    adc_pair_t half[SIM_ADC_HALF];
    uint32_t phase, step, lcg;
    uint64_t samples;
    bool adc_on;
    /* CAN: the aggregator's side reads what the meter sent */
    can_frame_t to_meter[SIM_RING], from_meter[SIM_RING];
    uint32_t to_head, to_tail, from_head, from_tail;
    uint32_t mailboxes_busy; /* frames sent since the bus last took them */
    uint8_t tec, rec;
    bool bus_off;
    /* flash */
    uint16_t flash[SIM_FLASH_PAGES * SIM_FLASH_PAGE / 2u];
    uint32_t erases, programs;
    ee_flash_t flash_if;
    /* outputs */
    bool relay_on, led_on;
    uint32_t relay_switches, displays, kicks;
    app_display_t shown;
    uint32_t (*cycles)(void);
    uint8_t config_page[CONFIG_PAGE_SIZE];
    app_board_t board;
} sim_board_t;

/* Blank flash, no provisioned page; cycles may be NULL. */
void sim_init(sim_board_t *s, uint32_t (*cycles)(void));
/* Power-up after a reset: the flash keeps its contents, the rest starts
 * over (the signal continues). */
void sim_reset(sim_board_t *s);

/* The aggregator's side of the loopback bus. */
bool sim_send(sim_board_t *s, const can_frame_t *f);
bool sim_receive(sim_board_t *s, can_frame_t *out);
/* The bus takes the frames in the mailboxes (they "leave"). */
void sim_bus_idle(sim_board_t *s);

#endif
