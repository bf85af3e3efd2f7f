/*
 * proto_frames.h - messages over several frames (docs/protocol.md section 2):
 * segmentation, per-identifier reassembly, and the meter's TX queue, which
 * only ever takes whole messages.
 *
 * Byte 0 of each frame is index << 4 | last; bytes 1..7 carry the body.
 * Every frame but the last has DLC 8, the last DLC 2..8.
 */
#ifndef WW_PROTO_FRAMES_H
#define WW_PROTO_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "can_frame.h"

#define FRAMES_BODY_PER_FRAME 7u
#define FRAMES_MAX 16u
#define FRAMES_BODY_MAX (FRAMES_BODY_PER_FRAME * FRAMES_MAX) /* 112 */

/* Frames needed for a body of len bytes (0 if len is 0 or over 112). */
uint32_t frames_count(size_t len);

/* Writes the frames of body (data frames on the standard id) to out[];
 * returns how many (0 if the body is empty or too long). */
uint32_t frames_segment(uint16_t id, const uint8_t *body, size_t len, can_frame_t out[FRAMES_MAX]);

/* ------------------------------------------------------------ reassembly */

typedef enum {
    REASM_PENDING = 0,     /* frame taken, message not complete yet */
    REASM_MESSAGE,         /* message complete: body_len bytes in body */
    /* malformed frames: the frame and any partial message are dropped */
    REASM_BAD_LENGTH,      /* DLC 0 or 1, or DLC != 8 before the last frame */
    REASM_BAD_HEADER,      /* index > last */
    REASM_OUT_OF_SEQUENCE, /* not the next index, or another `last` */
    REASM_NO_START,        /* a continuation with no message in progress */
} reasm_result_t;

const char *reasm_result_name(reasm_result_t r);

/* One partial message (one identifier). Times are in the caller's ticks. */
typedef struct {
    bool active;
    bool replaced;   /* the last push dropped a partial message: index 0 again */
    uint8_t last;
    uint8_t next_index;
    uint64_t started_at;
    size_t body_len; /* valid after REASM_MESSAGE */
    uint8_t body[FRAMES_BODY_MAX];
} reasm_t;

void reasm_init(reasm_t *r);

/* Adds a data frame (the caller has filtered remote and extended frames,
 * picked the reassembler of the frame's id and expired it). */
reasm_result_t reasm_push(reasm_t *r, const can_frame_t *f, uint64_t now);

/* Drops a partial message older than timeout ticks; true if it did. */
bool reasm_expire(reasm_t *r, uint64_t now, uint64_t timeout);

/* ------------------------------------------------------------ TX queue */

/* Room for four of the longest records (AGGREGATE, 8 frames), or two
 * history records and two polled ones at once (meter_can.c). */
#define TXQ_LEN 32u

typedef struct {
    can_frame_t q[TXQ_LEN];
    uint32_t head;    /* index of the oldest frame */
    uint32_t count;   /* frames queued */
    uint32_t dropped; /* whole messages dropped because they did not fit */
} txq_t;

void txq_init(txq_t *q);
uint32_t txq_free(const txq_t *q);
/* Queues all frames of the message, or none (then counts a drop and
 * returns false): frames of one message are never split or interleaved. */
bool txq_push_message(txq_t *q, uint16_t id, const uint8_t *body, size_t len);
bool txq_pop(txq_t *q, can_frame_t *out);

#endif /* WW_PROTO_FRAMES_H */
