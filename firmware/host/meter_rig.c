/*
 * meter_rig.c - see meter_rig.h.
 */
#include "meter_rig.h"

#include <string.h>


const uint8_t RIG_SITE_KEY[32] = {0x5e, 0x17, 0x3a, 0x01, 0x99, 0x42, 0xc0, 0xde, 0x10, 0x20, 0x30,
                                  0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0,
                                  0xf0, 0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89};

void rig_new(rig_t *r, uint8_t node, uint32_t fs)
{
    memset(r, 0, sizeof *r);
    meter_config_default(&r->cfg);
    r->cfg.fs_hz = fs;
    r->id.node = node;
    for (unsigned k = 0; k < SECURE_UID_SIZE; k++) {
        r->id.uid[k] = (uint8_t)(0x30 + node + k);
    }
    secure_derive_meter_key(RIG_SITE_KEY, r->id.uid, r->id.meter_key);
    secure_derive_group_key(RIG_SITE_KEY, r->id.group_key);
    config_page_build(&r->id, r->page);
    synth_default(&r->synth);
    r->synth.fs = fs;
}

static void persist(rig_t *r)
{
    if (meter_nv_take_dirty(&r->meter)) {
        r->store = *meter_nv(&r->meter);
        r->stored = true;
        r->nv_writes++;
    }
}

bool rig_boot(rig_t *r, bool factory)
{
    bool ok = meter_boot(&r->meter, &r->cfg, r->page, factory || !r->stored ? NULL : &r->store);
    r->synth.n = 0; /* time restarts with the meter */
    persist(r);
    return ok;
}

void rig_run(rig_t *r, double seconds)
{
    static adc_pair_t buf[256];
    uint64_t n = (uint64_t)(seconds * r->synth.fs + 0.5);
    while (n > 0) {
        uint32_t k = n < 256 ? (uint32_t)n : 256;
        synth_fill(&r->synth, buf, k);
        (void)meter_feed(&r->meter, buf, k);
        persist(r);
        n -= k;
    }
}

void rig_send_raw(rig_t *r, uint16_t id, const uint8_t *key, uint32_t fv, const uint8_t *payload,
                  size_t len)
{
    uint8_t body[FRAMES_BODY_MAX];
    can_frame_t frames[FRAMES_MAX];
    size_t body_len = secure_seal(key, id, payload, len, fv, body);
    uint32_t n = frames_segment(id, body, body_len, frames);
    for (uint32_t k = 0; k < n; k++) {
        (void)meter_on_can_rx(&r->meter, &frames[k]);
    }
    persist(r);
}

uint32_t rig_command(rig_t *r, const proto_command_t *c)
{
    uint8_t payload[PROTO_LEN_MAX];
    size_t len = proto_encode_command(c, payload);
    uint32_t fv = ++r->aggregator_fv;
    rig_send_raw(r, PROTO_ID(c->function, r->id.node), r->id.meter_key, fv, payload, len);
    return fv;
}

uint32_t rig_broadcast_time(rig_t *r, uint64_t unix_ms)
{
    proto_command_t c = {.function = PROTO_FN_TIME, .unix_ms = unix_ms};
    uint8_t payload[PROTO_LEN_MAX];
    size_t len = proto_encode_command(&c, payload);
    uint32_t fv = ++r->aggregator_fv;
    rig_send_raw(r, PROTO_ID(PROTO_FN_TIME, 0), r->id.group_key, fv, payload, len);
    return fv;
}

bool rig_remote(rig_t *r, uint32_t function)
{
    can_frame_t f = {0};
    f.id = PROTO_ID(function, r->id.node);
    f.dlc = 8;
    f.flags = CAN_FLAG_RTR;
    return meter_on_can_rx(&r->meter, &f);
}

size_t rig_collect(rig_t *r)
{
    static reasm_t by_id[2048];
    static bool init;
    can_frame_t f;
    if (!init) {
        for (size_t k = 0; k < 2048; k++) {
            reasm_init(&by_id[k]);
        }
        init = true;
    }
    persist(r); /* the blob is saved before frames go out */
    r->n_msgs = 0;
    while (meter_can_tx_pop(&r->meter, &f)) {
        r->frames_seen++;
        reasm_t *ra = &by_id[f.id & 0x7FF];
        reasm_result_t got = reasm_push(ra, &f, 0);
        if (got == REASM_PENDING) {
            continue;
        }
        secure_msg_t m;
        if (got != REASM_MESSAGE ||
            secure_open(r->id.meter_key, (uint16_t)f.id, ra->body, ra->body_len, r->last_meter_fv,
                        &m) != SECURE_OK ||
            r->n_msgs >= RIG_MAX_MESSAGES) {
            r->unverifiable++;
            continue;
        }
        r->last_meter_fv = m.fv;
        rig_msg_t *out = &r->msgs[r->n_msgs++];
        out->id = (uint16_t)f.id;
        out->fv = m.fv;
        out->len = m.len;
        memcpy(out->payload, m.payload, m.len);
    }
    persist(r);
    return r->n_msgs;
}

const rig_msg_t *rig_find(const rig_t *r, uint32_t function, size_t nth)
{
    for (size_t k = 0; k < r->n_msgs; k++) {
        if (PROTO_ID_FN(r->msgs[k].id) == function && nth-- == 0) {
            return &r->msgs[k];
        }
    }
    return NULL;
}

size_t rig_count(const rig_t *r, uint32_t function)
{
    size_t n = 0;
    while (rig_find(r, function, n) != NULL) {
        n++;
    }
    return n;
}

bool rig_ack(rig_t *r, proto_ack_t *ack)
{
    (void)rig_collect(r);
    const rig_msg_t *m = rig_find(r, PROTO_FN_ACK, 0);
    if (m == NULL || rig_count(r, PROTO_FN_ACK) != 1) {
        return false;
    }
    return proto_decode_ack(m->payload, m->len, ack) == PROTO_OK;
}
