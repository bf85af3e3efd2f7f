/*
 * proto.h - CAN request handling of the meter (provisional, walking-skeleton
 * protocol; a later issue replaces it with the authenticated protocol).
 *
 * Identifier (11-bit, standard frames only): id = (function << 6) | node,
 * function 5 bits (0..31), node 6 bits (1..63; 0 is reserved for the master /
 * broadcast and never answered here).
 *
 * Function PROTO_FN_ACTIVE_POWER (0x18): the master sends a REMOTE frame with
 * id (0x18 << 6) | node. The addressed meter queues a DATA frame with the same
 * id, DLC 4, payload = int32 little-endian active power of the last completed
 * window in milliwatts (rounded; > 0 import, < 0 export). The DLC of the
 * remote frame is not checked (masters differ: 0 or 4).
 *
 * Before the first window has completed the meter does NOT answer (the
 * request is still reported as consumed): the aggregator must never display
 * a made-up zero. The master simply times out and asks again.
 *
 * Ignored (proto_on_rx returns false): extended-id frames, data frames,
 * frames for other nodes, unknown functions.
 *
 * TX queue: PROTO_TXQ_LEN frames, FIFO. When it is full the NEW frame is
 * dropped and tx_dropped is incremented: the queued frames answer earlier
 * requests that are still pending, the master retries the newest one after
 * its timeout (same behaviour as finding all bxCAN TX mailboxes busy).
 */
#ifndef WW_PROTO_H
#define WW_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "can_frame.h"
#include "metrology.h"

#define PROTO_FN_SHIFT 6u
#define PROTO_NODE_MASK 0x3Fu
#define PROTO_FN_MASK 0x1Fu
#define PROTO_ID(fn, node) \
    ((((uint32_t)(fn) & PROTO_FN_MASK) << PROTO_FN_SHIFT) | ((uint32_t)(node) & PROTO_NODE_MASK))
#define PROTO_ID_FN(id) (((uint32_t)(id) >> PROTO_FN_SHIFT) & PROTO_FN_MASK)
#define PROTO_ID_NODE(id) ((uint32_t)(id) & PROTO_NODE_MASK)

#define PROTO_FN_ACTIVE_POWER 0x18u

#define PROTO_TXQ_LEN 8u

typedef struct {
    can_frame_t q[PROTO_TXQ_LEN];
    uint32_t head;    /* index of the oldest frame */
    uint32_t count;   /* frames queued */
    uint32_t dropped; /* frames dropped because the queue was full */
} can_txq_t;

void txq_init(can_txq_t *q);
/* Returns false (and counts a drop) if the queue is full. */
bool txq_push(can_txq_t *q, const can_frame_t *f);
bool txq_pop(can_txq_t *q, can_frame_t *out);

typedef struct {
    uint8_t node_id;
    can_txq_t txq;
    uint32_t rx_used;
    uint32_t rx_ignored;
} proto_t;

void proto_init(proto_t *p, uint8_t node_id);

/* last: the last completed window, or NULL if none exists yet.
 * Returns true if the frame was addressed to this meter and understood. */
bool proto_on_rx(proto_t *p, const meter_window_t *last, const can_frame_t *f);

#endif /* WW_PROTO_H */
