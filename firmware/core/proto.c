/*
 * proto.c - provisional CAN request handling (see proto.h).
 */
#include "proto.h"

void txq_init(can_txq_t *q)
{
    q->head = 0u;
    q->count = 0u;
    q->dropped = 0u;
}

bool txq_push(can_txq_t *q, const can_frame_t *f)
{
    if (q->count >= PROTO_TXQ_LEN) {
        q->dropped++;
        return false;
    }
    q->q[(q->head + q->count) % PROTO_TXQ_LEN] = *f;
    q->count++;
    return true;
}

bool txq_pop(can_txq_t *q, can_frame_t *out)
{
    if (q->count == 0u) {
        return false;
    }
    *out = q->q[q->head];
    q->head = (q->head + 1u) % PROTO_TXQ_LEN;
    q->count--;
    return true;
}

void proto_init(proto_t *p, uint8_t node_id)
{
    p->node_id = node_id;
    txq_init(&p->txq);
    p->rx_used = 0u;
    p->rx_ignored = 0u;
}

static void put_le32(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)(v & 0xFFu);
    d[1] = (uint8_t)((v >> 8) & 0xFFu);
    d[2] = (uint8_t)((v >> 16) & 0xFFu);
    d[3] = (uint8_t)((v >> 24) & 0xFFu);
}

static bool ignore(proto_t *p)
{
    p->rx_ignored++;
    return false;
}

bool proto_on_rx(proto_t *p, const meter_window_t *last, const can_frame_t *f)
{
    if (f == NULL || (f->flags & CAN_FLAG_EXT) != 0u || f->id > CAN_STD_ID_MASK) {
        return ignore(p);
    }
    if (PROTO_ID_NODE(f->id) != p->node_id) {
        return ignore(p);
    }
    switch (PROTO_ID_FN(f->id)) {
    case PROTO_FN_ACTIVE_POWER: {
        if ((f->flags & CAN_FLAG_RTR) == 0u) {
            return ignore(p); /* data frames of this id are our own answers */
        }
        p->rx_used++;
        if (last != NULL) {
            can_frame_t r = {0};
            r.id = f->id;
            r.dlc = 4u;
            r.flags = 0u;
            put_le32(r.data, (uint32_t)last->p_mw);
            (void)txq_push(&p->txq, &r);
        }
        return true;
    }
    default:
        return ignore(p);
    }
}
