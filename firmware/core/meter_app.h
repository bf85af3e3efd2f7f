/*
 * meter_app.h - the meter's main program, portable: a cooperative
 * superloop running the paper's three tasks (measurement, CAN, display)
 * around the meter core, with the persistent data in the EEPROM emulation.
 * It touches no register: a board hands it an app_board_t. The STM32F107
 * board (board/stm32f107/board.c) implements it with ADC/DMA, bxCAN, the
 * flash and the IWDG; the QEMU test board (qemu/) with a simulated ADC
 * source, a loopback CAN and a flash in RAM; the host tests with fakes.
 *
 * Order inside one pass (app_step), which the protocol needs:
 *   measurement  a full DMA half-buffer, if one is ready, into meter_feed
 *   CAN in       every received frame into meter_on_can_rx
 *   persist      the nonvolatile blob, if it changed, into the EEPROM
 *   CAN out      only while the blob is persisted: frames from the core's
 *                queue into free transmit mailboxes, in queue order
 *   display      the latest window, after each new one; relay and LED
 *   watchdog     one kick per pass
 */
#ifndef WW_METER_APP_H
#define WW_METER_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "eeprom_emul.h"
#include "meter.h"

/* EEPROM keys */
enum { APP_KEY_NV = 0, APP_KEY_CONFIG = 1, APP_KEY_CALIBRATION = 2 };
/* ticks of APP_KEY_NV */
enum { APP_TICK_IMPORT_WH = 0, APP_TICK_EXPORT_WH = 1 };

/* Calibration record (APP_KEY_CALIBRATION), written at production. */
#define APP_CAL_MAGIC 0x4C414357u /* "WCAL" */
typedef struct {
    uint32_t magic;
    float v_scale, i_scale;
    uint16_t v_offset, i_offset;
    float phase_deg;
    uint32_t crc; /* crc32_ieee of the bytes before it */
} app_calibration_t;

/* What the display shows (the paper's LCD: V, I, P, energy, status). */
typedef struct {
    float vrms, irms, p, frequency_hz;
    double import_wh, export_wh;
    bool relay_on, online, bus_off;
    uint8_t node;
} app_display_t;

typedef struct {
    uint8_t tec, rec, lec; /* CAN_ESR */
    bool error_passive, bus_off;
    uint32_t bus_off_events; /* recoveries since boot */
    uint32_t rx_overruns;    /* frames lost: FIFO or software ring full */
} app_can_status_t;

typedef struct {
    void *ctx;
    /* a completed half of the ADC's double buffer, or NULL (*n pairs) */
    const adc_pair_t *(*adc_take)(void *ctx, uint32_t *n);
    void (*adc_release)(void *ctx);
    bool (*can_rx)(void *ctx, can_frame_t *out);
    uint32_t (*can_tx_free)(void *ctx);      /* empty transmit mailboxes */
    bool (*can_tx)(void *ctx, const can_frame_t *f);
    void (*can_status)(void *ctx, app_can_status_t *out);
    void (*relay)(void *ctx, bool on);
    void (*led)(void *ctx, bool on);
    void (*display)(void *ctx, const app_display_t *d); /* may be NULL */
    void (*watchdog_kick)(void *ctx);
    uint32_t (*cycles)(void *ctx);           /* free-running cycle counter */
    const ee_flash_t *flash;                 /* the EEPROM pages */
    const uint8_t *config_page;              /* the provisioned page (meter-provision) */
} app_board_t;

enum { APP_TASK_MEASURE, APP_TASK_CAN, APP_TASK_DISPLAY, APP_TASKS };

typedef struct {
    uint32_t runs;   /* passes in which the task had work */
    uint64_t cycles; /* in those passes */
    uint32_t max;    /* the longest single run */
} app_task_stats_t;

typedef struct {
    const app_board_t *b;
    meter_t meter;
    ee_t ee;
    bool eeprom_ok;
    bool config_imported;   /* the provisioned page was new: stored at boot */
    bool nv_pending;        /* the blob changed and is not yet stored */
    uint32_t nv_writes, nv_ticks, nv_failures;
    uint32_t last_seq;      /* windows shown */
    bool relay_shown, relay_known;
    uint32_t led_phase;
    uint32_t passes;
    uint32_t frames_in, frames_out;
    app_can_status_t can;
    app_task_stats_t task[APP_TASKS];
} app_t;

/* Mounts the EEPROM, takes the configuration (importing a newly
 * provisioned page), applies the calibration, boots the meter and stores
 * its blob. Returns true if the meter is online (talks on CAN). */
bool app_start(app_t *a, const app_board_t *b);

/* One pass of the superloop. */
void app_step(app_t *a);

/* Stores a calibration (production step) and applies it at the next boot. */
bool app_store_calibration(app_t *a, const app_calibration_t *cal);

#endif /* WW_METER_APP_H */
