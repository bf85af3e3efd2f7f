/*
 * proto.c - payload encoders and decoders (docs/protocol.md sections 4-5).
 *
 * Each payload is written and read field by field through a cursor, row by
 * row in the order of the specification's tables (reserved bytes included),
 * so one function per direction and payload is the whole layout.
 */
#include "proto.h"

#include "wbytes.h"

typedef struct {
    uint8_t *p;
    size_t at;
} writer_t;

typedef struct {
    const uint8_t *p;
    size_t at;
} reader_t;

static void put(writer_t *w, uint64_t v, unsigned bytes)
{
    ww_put_le(w->p + w->at, v, bytes);
    w->at += bytes;
}

static void put_reserved(writer_t *w, unsigned bytes)
{
    put(w, 0, bytes);
}

static void put_bytes(writer_t *w, const uint8_t *src, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        w->p[w->at++] = src[k];
    }
}

static uint64_t get(reader_t *r, unsigned bytes)
{
    uint64_t v = ww_get_le(r->p + r->at, bytes);
    r->at += bytes;
    return v;
}

static void skip_reserved(reader_t *r, unsigned bytes)
{
    r->at += bytes; /* ignored on reading */
}

static uint8_t get8(reader_t *r) { return (uint8_t)get(r, 1); }
static uint16_t get16(reader_t *r) { return (uint16_t)get(r, 2); }
static uint32_t get32(reader_t *r) { return (uint32_t)get(r, 4); }
static int16_t geti16(reader_t *r) { return (int16_t)get16(r); }
static int32_t geti32(reader_t *r) { return (int32_t)get32(r); }

static void get_bytes(reader_t *r, uint8_t *dst, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        dst[k] = r->p[r->at++];
    }
}

const char *proto_status_name(proto_status_t s)
{
    switch (s) {
    case PROTO_OK:
        return "ok";
    case PROTO_BAD_LENGTH:
        return "wrong payload length";
    case PROTO_BAD_FUNCTION:
        return "not a command function";
    case PROTO_BAD_OPCODE:
        return "unknown CONTROL opcode";
    case PROTO_BAD_VALUE:
        return "argument out of range";
    }
    return "?";
}

/* ------------------------------------------------------------ lengths */

static size_t control_length(uint8_t opcode)
{
    switch (opcode) {
    case PROTO_OP_SET_THRESHOLDS:
        return PROTO_LEN_SET_THRESHOLDS;
    case PROTO_OP_IDENTIFY:
        return PROTO_LEN_IDENTIFY;
    case PROTO_OP_CLEAR_ENERGY_ARM:
        return PROTO_LEN_CLEAR_ENERGY_ARM;
    case PROTO_OP_CLEAR_ENERGY_CONFIRM:
        return PROTO_LEN_CLEAR_ENERGY_CONFIRM;
    case PROTO_OP_READ_AGGREGATES:
        return PROTO_LEN_READ_AGGREGATES;
    case PROTO_OP_READ_EVENTS:
        return PROTO_LEN_READ_EVENTS;
    default:
        return 0;
    }
}

size_t proto_payload_length(uint32_t function, const uint8_t *payload, size_t len)
{
    switch (function) {
    case PROTO_FN_RELAY:
        return PROTO_LEN_RELAY;
    case PROTO_FN_TIME:
        return PROTO_LEN_TIME;
    case PROTO_FN_CONTROL:
        return len > 0 ? control_length(payload[0]) : 0;
    case PROTO_FN_ACK:
        return PROTO_LEN_ACK;
    case PROTO_FN_SNAPSHOT:
        return PROTO_LEN_SNAPSHOT;
    case PROTO_FN_ENERGY:
        return PROTO_LEN_ENERGY;
    case PROTO_FN_STATUS:
        return PROTO_LEN_STATUS;
    case PROTO_FN_AGGREGATE:
        return PROTO_LEN_AGGREGATE;
    case PROTO_FN_EVENT:
        return PROTO_LEN_EVENT;
    default:
        return 0;
    }
}

bool proto_payload_length_ok(uint32_t function, const uint8_t *payload, size_t len)
{
    size_t want = proto_payload_length(function, payload, len);
    return want != 0 && len == want;
}

/* ------------------------------------------------------------ commands */

/* Argument rules of section 4 beyond the field widths. */
static proto_status_t check_values(const proto_command_t *c)
{
    bool ok = true;
    switch (c->function) {
    case PROTO_FN_RELAY:
        ok = c->state <= 1u;
        break;
    case PROTO_FN_TIME:
        ok = c->unix_ms <= PROTO_UNIX_MS_MAX; /* the records' time_s is a u32 */
        break;
    default:
        switch (c->opcode) {
        case PROTO_OP_SET_THRESHOLDS:
            /* hysteresis < 10 % = 1000 in 0.01 %; Udin 0 would scale every
             * threshold to 0 V */
            ok = c->dip < c->swell && c->hysteresis < 1000u && c->udin > 0u;
            break;
        case PROTO_OP_READ_AGGREGATES:
        case PROTO_OP_READ_EVENTS:
            ok = c->max_count <= PROTO_READ_MAX_COUNT;
            break;
        default:
            break;
        }
        break;
    }
    return ok ? PROTO_OK : PROTO_BAD_VALUE;
}

proto_status_t proto_decode_command(uint32_t function, const uint8_t *payload, size_t len,
                                    proto_command_t *out)
{
    reader_t r = {payload, 0};
    proto_command_t c = {0};
    if (function > PROTO_FN_CONTROL) {
        return PROTO_BAD_FUNCTION;
    }
    size_t want = proto_payload_length(function, payload, len);
    if (want == 0) {
        return len == 0 ? PROTO_BAD_LENGTH : PROTO_BAD_OPCODE; /* no opcode, or an unknown one */
    }
    if (len != want) {
        return PROTO_BAD_LENGTH;
    }
    c.function = (uint8_t)function;
    if (function == PROTO_FN_RELAY) {
        c.state = get8(&r);
    } else if (function == PROTO_FN_TIME) {
        c.unix_ms = get(&r, 6);
    } else {
        c.opcode = get8(&r);
        switch (c.opcode) {
        case PROTO_OP_SET_THRESHOLDS:
            c.dip = get16(&r);
            c.swell = get16(&r);
            c.hysteresis = get16(&r);
            c.udin = get32(&r);
            break;
        case PROTO_OP_IDENTIFY:
            c.seconds = get8(&r);
            break;
        case PROTO_OP_CLEAR_ENERGY_CONFIRM:
            c.challenge = get32(&r);
            skip_reserved(&r, 2);
            get_bytes(&r, c.uid, PROTO_UID_SIZE); /* uid_0, uid_1 */
            skip_reserved(&r, 2);
            c.import_mwh = get(&r, 6);
            skip_reserved(&r, 1);
            c.export_mwh = get(&r, 6);
            break;
        case PROTO_OP_READ_AGGREGATES:
            c.from_s = get32(&r);
            c.max_count = get8(&r);
            break;
        case PROTO_OP_READ_EVENTS:
            c.from_seq = get16(&r);
            c.max_count = get8(&r);
            break;
        default: /* CLEAR_ENERGY_ARM: no arguments */
            break;
        }
    }
    *out = c;
    return check_values(&c);
}

size_t proto_encode_command(const proto_command_t *c, uint8_t *out)
{
    writer_t w = {out, 0};
    switch (c->function) {
    case PROTO_FN_RELAY:
        put(&w, c->state, 1);
        return w.at;
    case PROTO_FN_TIME:
        put(&w, c->unix_ms, 6);
        return w.at;
    case PROTO_FN_CONTROL:
        break;
    default:
        return 0;
    }
    put(&w, c->opcode, 1);
    switch (c->opcode) {
    case PROTO_OP_SET_THRESHOLDS:
        put(&w, c->dip, 2);
        put(&w, c->swell, 2);
        put(&w, c->hysteresis, 2);
        put(&w, c->udin, 4);
        break;
    case PROTO_OP_IDENTIFY:
        put(&w, c->seconds, 1);
        break;
    case PROTO_OP_CLEAR_ENERGY_ARM:
        break;
    case PROTO_OP_CLEAR_ENERGY_CONFIRM:
        put(&w, c->challenge, 4);
        put_reserved(&w, 2);
        put_bytes(&w, c->uid, PROTO_UID_SIZE);
        put_reserved(&w, 2);
        put(&w, c->import_mwh, 6);
        put_reserved(&w, 1);
        put(&w, c->export_mwh, 6);
        break;
    case PROTO_OP_READ_AGGREGATES:
        put(&w, c->from_s, 4);
        put(&w, c->max_count, 1);
        break;
    case PROTO_OP_READ_EVENTS:
        put(&w, c->from_seq, 2);
        put(&w, c->max_count, 1);
        break;
    default:
        return 0;
    }
    return w.at;
}

/* ------------------------------------------------------------ records */

size_t proto_encode_ack(const proto_ack_t *r, uint8_t *out)
{
    writer_t w = {out, 0};
    put(&w, r->command_fv, 4);
    put(&w, r->function, 1);
    put(&w, r->opcode, 1);
    put(&w, r->result, 1);
    put(&w, r->value, 4);
    return w.at;
}

proto_status_t proto_decode_ack(const uint8_t *p, size_t len, proto_ack_t *out)
{
    reader_t r = {p, 0};
    if (len != PROTO_LEN_ACK) {
        return PROTO_BAD_LENGTH;
    }
    out->command_fv = get32(&r);
    out->function = get8(&r);
    out->opcode = get8(&r);
    out->result = get8(&r);
    out->value = get32(&r);
    bool ok = out->function <= PROTO_FN_CONTROL && out->result <= PROTO_RESULT_STALE &&
              (out->function == PROTO_FN_CONTROL || out->opcode == 0u);
    return ok ? PROTO_OK : PROTO_BAD_VALUE;
}

size_t proto_encode_snapshot(const proto_snapshot_t *r, uint8_t *out)
{
    writer_t w = {out, 0};
    put(&w, r->time_s, 4);
    put(&w, r->time_cs, 1);
    put(&w, r->vrms, 2);
    put(&w, (uint32_t)r->p, 4);
    put(&w, r->irms, 2);
    put(&w, r->flags, 1);
    put(&w, r->n, 4);
    put(&w, (uint16_t)r->pf, 2);
    put_reserved(&w, 1);
    put(&w, r->f, 2);
    put(&w, r->thd_v, 2);
    put(&w, r->thd_i, 2);
    put_reserved(&w, 1);
    return w.at;
}

proto_status_t proto_decode_snapshot(const uint8_t *p, size_t len, proto_snapshot_t *out)
{
    reader_t r = {p, 0};
    if (len != PROTO_LEN_SNAPSHOT) {
        return PROTO_BAD_LENGTH;
    }
    out->time_s = get32(&r);
    out->time_cs = get8(&r);
    out->vrms = get16(&r);
    out->p = geti32(&r);
    out->irms = get16(&r);
    out->flags = get8(&r);
    out->n = get32(&r);
    out->pf = geti16(&r);
    skip_reserved(&r, 1);
    out->f = get16(&r);
    out->thd_v = get16(&r);
    out->thd_i = get16(&r);
    bool ok = out->time_cs <= 99u && out->pf >= -10000 && out->pf <= 10000;
    return ok ? PROTO_OK : PROTO_BAD_VALUE;
}

size_t proto_encode_energy(const proto_energy_t *r, uint8_t *out)
{
    writer_t w = {out, 0};
    put(&w, r->import_mwh, 6);
    put(&w, r->flags, 1);
    put(&w, r->export_mwh, 6);
    put_reserved(&w, 1);
    put(&w, r->time_s, 4);
    put(&w, r->epoch, 2);
    put_reserved(&w, 1);
    put(&w, r->boots, 2);
    return w.at;
}

proto_status_t proto_decode_energy(const uint8_t *p, size_t len, proto_energy_t *out)
{
    reader_t r = {p, 0};
    if (len != PROTO_LEN_ENERGY) {
        return PROTO_BAD_LENGTH;
    }
    out->import_mwh = get(&r, 6);
    out->flags = get8(&r);
    out->export_mwh = get(&r, 6);
    skip_reserved(&r, 1);
    out->time_s = get32(&r);
    out->epoch = get16(&r);
    skip_reserved(&r, 1);
    out->boots = get16(&r);
    return PROTO_OK;
}

size_t proto_encode_status(const proto_status_rec_t *r, uint8_t *out)
{
    writer_t w = {out, 0};
    put(&w, r->protocol, 1);
    put(&w, r->firmware, 2);
    put(&w, r->build, 2);
    put(&w, r->flags, 1);
    put(&w, r->tec, 1);
    put_bytes(&w, r->uid, PROTO_UID_SIZE); /* uid_0, uid_1 */
    put(&w, r->boots, 2);
    put(&w, r->uptime_s, 4);
    put(&w, r->rejected_mac, 2);
    put(&w, r->rec, 1);
    put(&w, r->rejected_stale, 2);
    put(&w, r->rejected_malformed, 2);
    put(&w, r->rate_limited, 2);
    put_reserved(&w, 1);
    return w.at;
}

proto_status_t proto_decode_status(const uint8_t *p, size_t len, proto_status_rec_t *out)
{
    reader_t r = {p, 0};
    if (len != PROTO_LEN_STATUS) {
        return PROTO_BAD_LENGTH;
    }
    out->protocol = get8(&r);
    out->firmware = get16(&r);
    out->build = get16(&r);
    out->flags = get8(&r);
    out->tec = get8(&r);
    get_bytes(&r, out->uid, PROTO_UID_SIZE);
    out->boots = get16(&r);
    out->uptime_s = get32(&r);
    out->rejected_mac = get16(&r);
    out->rec = get8(&r);
    out->rejected_stale = get16(&r);
    out->rejected_malformed = get16(&r);
    out->rate_limited = get16(&r);
    return PROTO_OK;
}

size_t proto_encode_aggregate(const proto_aggregate_t *r, uint8_t *out)
{
    writer_t w = {out, 0};
    put(&w, r->start_s, 4);
    put(&w, r->flags, 1);
    put(&w, r->f_mean, 2);
    put(&w, (uint32_t)r->p_mean, 4);
    put(&w, r->vrms_mean, 2);
    put_reserved(&w, 1);
    put(&w, (uint32_t)r->p_min, 4);
    put(&w, r->vrms_min, 2);
    put_reserved(&w, 1);
    put(&w, (uint32_t)r->p_max, 4);
    put(&w, r->vrms_max, 2);
    put_reserved(&w, 1);
    put(&w, r->import_mwh, 4);
    put(&w, r->thd_v, 2);
    put_reserved(&w, 1);
    put(&w, r->export_mwh, 4);
    put(&w, r->thd_i, 2);
    put_reserved(&w, 1);
    return w.at;
}

proto_status_t proto_decode_aggregate(const uint8_t *p, size_t len, proto_aggregate_t *out)
{
    reader_t r = {p, 0};
    if (len != PROTO_LEN_AGGREGATE) {
        return PROTO_BAD_LENGTH;
    }
    out->start_s = get32(&r);
    out->flags = get8(&r);
    out->f_mean = get16(&r);
    out->p_mean = geti32(&r);
    out->vrms_mean = get16(&r);
    skip_reserved(&r, 1);
    out->p_min = geti32(&r);
    out->vrms_min = get16(&r);
    skip_reserved(&r, 1);
    out->p_max = geti32(&r);
    out->vrms_max = get16(&r);
    skip_reserved(&r, 1);
    out->import_mwh = get32(&r);
    out->thd_v = get16(&r);
    skip_reserved(&r, 1);
    out->export_mwh = get32(&r);
    out->thd_i = get16(&r);
    return PROTO_OK;
}

size_t proto_encode_event(const proto_event_t *r, uint8_t *out)
{
    writer_t w = {out, 0};
    put(&w, r->start_s, 4);
    put(&w, r->seq, 2);
    put(&w, r->kind, 1);
    put(&w, r->duration_ms, 4);
    put(&w, r->start_ms, 2);
    put_reserved(&w, 1);
    put(&w, r->extreme, 2);
    return w.at;
}

proto_status_t proto_decode_event(const uint8_t *p, size_t len, proto_event_t *out)
{
    reader_t r = {p, 0};
    if (len != PROTO_LEN_EVENT) {
        return PROTO_BAD_LENGTH;
    }
    out->start_s = get32(&r);
    out->seq = get16(&r);
    out->kind = get8(&r);
    out->duration_ms = get32(&r);
    out->start_ms = get16(&r);
    skip_reserved(&r, 1);
    out->extreme = get16(&r);
    bool ok = out->kind >= PROTO_EVENT_DIP && out->kind <= PROTO_EVENT_INTERRUPTION &&
              out->start_ms <= 999u;
    return ok ? PROTO_OK : PROTO_BAD_VALUE;
}
