/*
 * proto_frames.c - segmentation, reassembly, TX queue (see proto_frames.h).
 */
#include "proto_frames.h"

uint32_t frames_count(size_t len)
{
    if (len == 0 || len > FRAMES_BODY_MAX) {
        return 0;
    }
    return (uint32_t)((len + FRAMES_BODY_PER_FRAME - 1u) / FRAMES_BODY_PER_FRAME);
}

uint32_t frames_segment(uint16_t id, const uint8_t *body, size_t len, can_frame_t out[FRAMES_MAX])
{
    uint32_t n = frames_count(len);
    for (uint32_t index = 0; index < n; index++) {
        can_frame_t *f = &out[index];
        size_t at = index * FRAMES_BODY_PER_FRAME;
        size_t chunk = len - at < FRAMES_BODY_PER_FRAME ? len - at : FRAMES_BODY_PER_FRAME;
        *f = (can_frame_t){0};
        f->id = id;
        f->dlc = (uint8_t)(1u + chunk);
        f->data[0] = (uint8_t)(index << 4 | (n - 1u));
        for (size_t k = 0; k < chunk; k++) {
            f->data[1 + k] = body[at + k];
        }
    }
    return n;
}

const char *reasm_result_name(reasm_result_t r)
{
    switch (r) {
    case REASM_PENDING:
        return "pending";
    case REASM_MESSAGE:
        return "message";
    case REASM_BAD_LENGTH:
        return "bad frame length";
    case REASM_BAD_HEADER:
        return "frame index past the last index";
    case REASM_OUT_OF_SEQUENCE:
        return "frame out of sequence";
    case REASM_NO_START:
        return "continuation without a first frame";
    }
    return "?";
}

void reasm_init(reasm_t *r)
{
    r->active = false;
    r->replaced = false;
    r->last = 0;
    r->next_index = 0;
    r->started_at = 0;
    r->body_len = 0;
}

static reasm_result_t malformed(reasm_t *r, reasm_result_t why)
{
    r->active = false; /* a message with a bad frame cannot be trusted to continue */
    return why;
}

bool reasm_expire(reasm_t *r, uint64_t now, uint64_t timeout)
{
    if (r->active && now - r->started_at > timeout) {
        r->active = false;
        return true;
    }
    return false;
}

reasm_result_t reasm_push(reasm_t *r, const can_frame_t *f, uint64_t now)
{
    r->replaced = false;
    if (f->dlc < 2u || f->dlc > CAN_MAX_DLC) {
        return malformed(r, REASM_BAD_LENGTH);
    }
    uint8_t index = (uint8_t)(f->data[0] >> 4);
    uint8_t last = (uint8_t)(f->data[0] & 0x0Fu);
    if (index > last) {
        return malformed(r, REASM_BAD_HEADER);
    }
    if (index < last && f->dlc != CAN_MAX_DLC) {
        return malformed(r, REASM_BAD_LENGTH);
    }
    if (index == 0) {
        r->replaced = r->active;
        r->active = true;
        r->last = last;
        r->next_index = 0;
        r->started_at = now;
    } else if (!r->active) {
        return REASM_NO_START;
    } else if (index != r->next_index || last != r->last) {
        return malformed(r, REASM_OUT_OF_SEQUENCE);
    }
    size_t at = (size_t)index * FRAMES_BODY_PER_FRAME;
    for (uint32_t k = 1; k < f->dlc; k++) {
        r->body[at + k - 1u] = f->data[k];
    }
    r->next_index = (uint8_t)(index + 1u);
    if (index < last) {
        return REASM_PENDING;
    }
    r->active = false;
    r->body_len = at + f->dlc - 1u;
    return REASM_MESSAGE;
}

void txq_init(txq_t *q)
{
    q->head = 0;
    q->count = 0;
    q->dropped = 0;
}

uint32_t txq_free(const txq_t *q)
{
    return TXQ_LEN - q->count;
}

bool txq_push_message(txq_t *q, uint16_t id, const uint8_t *body, size_t len)
{
    can_frame_t frames[FRAMES_MAX];
    uint32_t n = frames_segment(id, body, len, frames);
    if (n == 0 || n > txq_free(q)) {
        q->dropped++;
        return false;
    }
    for (uint32_t k = 0; k < n; k++) {
        q->q[(q->head + q->count) % TXQ_LEN] = frames[k];
        q->count++;
    }
    return true;
}

bool txq_pop(txq_t *q, can_frame_t *out)
{
    if (q->count == 0) {
        return false;
    }
    *out = q->q[q->head];
    q->head = (q->head + 1u) % TXQ_LEN;
    q->count--;
    return true;
}
