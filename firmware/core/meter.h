/*
 * meter.h - the portable meter core: sample blocks in, CAN frames in,
 * CAN frames out. No registers, no I/O, no allocation; one meter_t holds the
 * complete state (static storage in the firmware and in the wasm build).
 *
 * Typical use (board superloop or simulator):
 *
 *     meter_config_t cfg;
 *     meter_config_default(&cfg, node);
 *     meter_init(&m, &cfg);
 *     ...
 *     if (meter_feed(&m, dma_half_buffer, n) > 0) { use meter_last_window(&m); }
 *     meter_on_can_rx(&m, &rx_frame);
 *     while (meter_can_tx_pop(&m, &tx_frame)) { send(tx_frame); }
 */
#ifndef WW_METER_H
#define WW_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "can_frame.h"
#include "meter_config.h"
#include "metrology.h"
#include "proto.h"

#define METER_UJ_PER_WH 3600000000ull

/* Energy register: integer Wh plus the sub-Wh remainder in microjoules
 * (0 <= rem_uj < 3.6e9), so no energy is lost to rounding or counted twice. */
typedef struct {
    uint64_t wh;
    uint32_t rem_uj;
} meter_energy_t;

void meter_energy_add(meter_energy_t *e, uint64_t uj);
double meter_energy_wh(const meter_energy_t *e);

typedef struct {
    meter_config_t cfg;
    mtr_t mtr;
    proto_t proto;
    meter_window_t last;    /* valid if has_window */
    bool has_window;
    bool initialised;
    uint32_t seq;           /* windows completed since init */
    meter_energy_t e_import; /* P > 0 */
    meter_energy_t e_export; /* P < 0 */
} meter_t;

/* Returns false if cfg is invalid (the meter then ignores all input). */
bool meter_init(meter_t *m, const meter_config_t *cfg);

/* Process count sample pairs; returns how many windows completed. */
uint32_t meter_feed(meter_t *m, const adc_pair_t *samples, uint32_t count);

/* Last completed window, or NULL before the first one. */
const meter_window_t *meter_last_window(const meter_t *m);

/* Hand a received frame to the meter; true if it was for us and understood
 * (see proto.h for what is answered). */
bool meter_on_can_rx(meter_t *m, const can_frame_t *f);

/* Pop the next frame to transmit; false if none. */
bool meter_can_tx_pop(meter_t *m, can_frame_t *out);

double meter_energy_import_wh(const meter_t *m);
double meter_energy_export_wh(const meter_t *m);

#endif /* WW_METER_H */
