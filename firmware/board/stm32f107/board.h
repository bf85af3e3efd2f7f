/*
 * board.h - the STM32F107 meter board: the one layer that touches
 * registers (stm32f107.h). It brings up the clocks, the pins, the dual ADC
 * with its timer and DMA, bxCAN1, the flash pages of the EEPROM emulation
 * and the independent watchdog, and hands the portable main program
 * (core/meter_app.h) an app_board_t.
 *
 * Pins (change them here and in board.c only):
 *   PC0  ADC12_IN10  voltage channel of the CVCT (ADC1)
 *   PC1  ADC12_IN11  current channel of the CVCT (ADC2)
 *   PD0  CAN1_RX     (AFIO CAN1_REMAP = 11)
 *   PD1  CAN1_TX
 *   PC6  relay driver of the switching unit, high = closed (load on)
 *   PC7  status LED, high = lit
 */
#ifndef WW_BOARD_H
#define WW_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "meter_app.h"

#define BOARD_HSE_HZ 25000000u
#define BOARD_SYSCLK_HZ 72000000u
#define BOARD_PCLK1_HZ 36000000u
#define BOARD_FS_HZ 6400u
#define BOARD_CAN_BITRATE 500000u
/* Pairs per half of the DMA double buffer: 80 ms of signal, longer than a
 * flash page erase (up to 40 ms) stalls the main loop. */
#define BOARD_ADC_HALF 512u

/* EEPROM emulation: 31 pages of 2 KiB below the configuration page. */
#define BOARD_EEPROM_BASE 0x08030000u
#define BOARD_EEPROM_PAGES 31u

/* Clocks, pins, watchdog. Returns false if the crystal did not start
 * (the watchdog then resets the chip). */
bool board_init(void);

/* The interface for app_start/app_step. */
const app_board_t *board_app(void);

/* Start bxCAN1 for this node (filters, 500 kbit/s) and the sampling. */
bool board_start(uint8_t node, bool online);

/* True if an interrupt left work for the superloop (a DMA half, a frame). */
bool board_work_pending(void);

/* Board-side counters for the debugger and the display. */
typedef struct {
    uint32_t adc_halves, adc_overruns, dma_errors;
    uint32_t can_rx, can_rx_overruns, can_bus_off_events;
    uint32_t flash_errors;
    bool hse_ok, can_started, watchdog_reset;
} board_diag_t;
extern volatile board_diag_t g_board_diag;

/* The display hook: the board has no display driver yet; a build for a
 * board with one defines this function (weak default keeps the values). */
void board_display_hook(const app_display_t *d);

#endif /* WW_BOARD_H */
