/*
 * meter_internal.h - what meter.c (measurement, time, history, persistence)
 * and meter_can.c (the protocol engine on the bus) share. Not for boards.
 */
#ifndef WW_METER_INTERNAL_H
#define WW_METER_INTERNAL_H

#include "meter.h"

/* Samples in ms milliseconds of meter time. */
uint64_t meter_samples_in_ms(const meter_t *m, uint64_t ms);

/* Recompute the blob's CRC and mark it for the board to persist. */
void meter_nv_changed(meter_t *m);

/* TIME: set the clock to unix_ms now. */
void meter_set_time(meter_t *m, uint64_t unix_ms);

/* Drop (and count) partial messages older than 100 ms. */
void meter_can_expire(meter_t *m);

/* CLEAR_ENERGY_CONFIRM succeeded: zero the registers, next epoch. */
void meter_clear_energy(meter_t *m);

/* THD (percent) as the records carry it: 0.01 %, below PROTO_NOT_MEASURED. */
uint16_t meter_thd_centipercent(float pct);

#endif /* WW_METER_INTERNAL_H */
