/*
 * meter_rig.h - test helpers: hex, and a booted meter on a synthetic line
 * with an aggregator's side (sealing commands, reassembling and opening
 * what the meter sends).
 */
#ifndef WW_METER_RIG_H
#define WW_METER_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hex.h"
#include "meter.h"
#include "synth.h"

extern const uint8_t RIG_SITE_KEY[32];

#define RIG_MAX_MESSAGES 64

typedef struct {
    uint16_t id;
    uint32_t fv;
    size_t len;
    uint8_t payload[SECURE_PAYLOAD_MAX];
} rig_msg_t;

typedef struct {
    meter_t meter;
    meter_config_t cfg;
    meter_identity_t id;
    uint8_t page[CONFIG_PAGE_SIZE];
    synth_t synth;
    uint32_t aggregator_fv;  /* the aggregator's counter: last value used */
    meter_nv_t store;        /* what "flash" holds */
    bool stored;
    uint32_t nv_writes;
    /* aggregator's view of what the meter sent */
    uint32_t last_meter_fv;  /* highest FV opened so far */
    uint32_t unverifiable;   /* messages that failed open or reassembly */
    uint32_t frames_seen;
    rig_msg_t msgs[RIG_MAX_MESSAGES];
    size_t n_msgs;
} rig_t;

/* A meter with node and uid derived from RIG_SITE_KEY, booted from the
 * stored blob (factory: blank). fs: sampling rate (lower = faster tests). */
void rig_new(rig_t *r, uint8_t node, uint32_t fs);
bool rig_boot(rig_t *r, bool factory);
/* Feed seconds of the synthetic line, persisting the blob when dirty. */
void rig_run(rig_t *r, double seconds);

/* Seal and deliver a message (any id, key, fv). */
void rig_send_raw(rig_t *r, uint16_t id, const uint8_t *key, uint32_t fv, const uint8_t *payload,
                  size_t len);
/* A unicast command with the meter key and the aggregator's next FV;
 * returns that FV. */
uint32_t rig_command(rig_t *r, const proto_command_t *c);
uint32_t rig_broadcast_time(rig_t *r, uint64_t unix_ms);
bool rig_remote(rig_t *r, uint32_t function);

/* Drain the TX queue; reassemble and open every message with the meter
 * key (FV strictly above the last one opened), into r->msgs. Returns how
 * many messages; failures count in r->unverifiable. */
size_t rig_collect(rig_t *r);
/* The n-th collected message of a function, or NULL. */
const rig_msg_t *rig_find(const rig_t *r, uint32_t function, size_t nth);
size_t rig_count(const rig_t *r, uint32_t function);
/* Collect, expect exactly one ACK among the messages. */
bool rig_ack(rig_t *r, proto_ack_t *ack);

#endif /* WW_METER_RIG_H */
