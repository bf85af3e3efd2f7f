/*
 * meter_can.c - the meter's protocol engine on the bus (docs/protocol.md):
 * remote frames answered with secured records, secured commands verified
 * and executed, ACKs, history reads, and the limits on what forged traffic
 * can cost.
 *
 * Order of checks for a command (each failure ends it), as the
 * aggregator's (src/lib/meter/) and test-vectors/protocol.json's:
 *   reassembly          -> rejected_malformed (bad frames, and partial
 *                          messages dropped by a new first frame or the
 *                          100 ms timeout)
 *   body and length     -> rejected_malformed (room for FV and MAC, the
 *                          payload length of the function and opcode)
 *   lockout             -> rate_limited (dropped unverified)
 *   MAC, then freshness -> rejected_mac / rejected_stale, and an ACK
 *                          "auth failed" / "stale" at most once a second
 *   argument values     -> the FV is spent (the command is authentic) and
 *                          it is answered "bad arguments"
 */
#include "meter_internal.h"
#include "wmath.h"

/* A history read keeps this many frames of the TX queue free, so polled
 * records (two of up to 7 frames) still fit while it runs. */
#define READ_RESERVED_FRAMES 14u
#define REMOTE_INTERVAL_MS 100u
#define REASSEMBLY_TIMEOUT_MS 100u
#define LOCKOUT_WINDOW_MS 1000u
#define LOCKOUT_MS 1000u
#define FAILURE_ACK_INTERVAL_MS 1000u
#define CLEAR_ARM_MS 10000u
/* SNAPSHOT bit3: below 5 % of Udin, the IEC 61000-4-30 interruption threshold */
#define NO_VOLTAGE_PERCENT 5.0

static uint64_t now(const meter_t *m)
{
    return meter_clock(m);
}

static uint64_t ms(const meter_t *m, uint64_t milliseconds)
{
    return meter_samples_in_ms(m, milliseconds);
}

/* ------------------------------------------------------------ sending */

static bool can_send(const meter_t *m)
{
    return m->online && m->tx_fv < SECURE_FV_MAX;
}

static bool fits(const meter_t *m, size_t payload_len, uint32_t spare_frames)
{
    return frames_count(payload_len + SECURE_OVERHEAD) + spare_frames <= txq_free(&m->txq);
}

/* Seals the payload with the next FV and queues all its frames; drops the
 * whole message (counted in txq.dropped, no FV used) if it does not fit. */
static bool send_secured(meter_t *m, uint32_t function, const uint8_t *payload, size_t len)
{
    uint8_t body[FRAMES_BODY_MAX];
    if (!can_send(m)) {
        return false; /* at 0xFFFFFFFF the meter stops until re-provisioned */
    }
    if (!fits(m, len, 0)) {
        m->txq.dropped++;
        return false;
    }
    uint32_t fv = m->tx_fv + 1u;
    if (fv > m->nv.tx_fv_reserved) {
        /* reserve the block starting here; persisted before it is used */
        uint32_t room = SECURE_FV_MAX - fv;
        m->nv.tx_fv_reserved = fv + (room < METER_FV_BLOCK - 1u ? room : METER_FV_BLOCK - 1u);
        meter_nv_changed(m);
    }
    m->tx_fv = fv;
    uint16_t id = PROTO_ID(function, m->id.node);
    size_t n = secure_seal(m->id.meter_key, id, payload, len, fv, body);
    return txq_push_message(&m->txq, id, body, n);
}

static bool send_ack(meter_t *m, uint8_t function, uint8_t opcode, uint32_t command_fv,
                     uint8_t result, uint32_t value)
{
    proto_ack_t a = {function, opcode, command_fv, result, value};
    uint8_t payload[PROTO_LEN_ACK];
    return send_secured(m, PROTO_FN_ACK, payload, proto_encode_ack(&a, payload));
}

/* ------------------------------------------------------------ records */

static uint16_t sat16(uint32_t v)
{
    return v > 0xFFFFu ? 0xFFFFu : (uint16_t)v;
}

/* x * scale rounded, limited to 0..max */
static uint32_t scaled(float x, double scale, uint32_t max)
{
    double v = (double)x * scale;
    if (!(v > 0.0)) {
        return 0;
    }
    return v >= (double)max ? max : (uint32_t)(v + 0.5);
}

static uint64_t register_mwh(const meter_energy_t *e)
{
    uint64_t mwh = meter_energy_mwh(e);
    return mwh > PROTO_U48_MAX ? PROTO_U48_MAX : mwh;
}

static uint8_t common_flags(const meter_t *m)
{
    return (uint8_t)((m->relay_on ? PROTO_FLAG_RELAY_ON : 0u) |
                     (m->time_valid ? PROTO_FLAG_TIME_VALID : 0u));
}

static uint32_t time_s_at(const meter_t *m, uint64_t sample)
{
    uint64_t s = meter_time_ms(m, sample) / 1000u;
    return s > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)s;
}

static double udin_volts(const meter_t *m)
{
    return m->thresholds.set ? (double)m->thresholds.udin / 100.0 : (double)m->cfg.udin_v;
}

/* The last window, timed at its end. */
static bool send_snapshot(meter_t *m)
{
    const meter_window_t *w = &m->last;
    proto_snapshot_t r;
    uint8_t payload[PROTO_LEN_SNAPSHOT];
    r.time_s = time_s_at(m, w->t_end);
    r.time_cs = (uint8_t)(meter_time_ms(m, w->t_end) % 1000u / 10u);
    r.flags = common_flags(m);
    if ((w->flags & MTR_WF_FLAGGED) != 0u) {
        r.flags |= PROTO_FLAG_WINDOW_FLAGGED; /* a dip, swell or interruption touched it */
    }
    if ((double)w->vrms < udin_volts(m) * NO_VOLTAGE_PERCENT / 100.0) {
        r.flags |= PROTO_FLAG_NO_VOLTAGE;
    }
    r.vrms = (uint16_t)scaled(w->vrms, 100.0, 0xFFFFu);
    r.irms = (uint16_t)scaled(w->irms, 1000.0, 0xFFFFu);
    r.p = w->p_mw;
    r.n = scaled(w->n, 1000.0, 0xFFFFFFFFu);
    int32_t pf = ww_round_i32((double)w->pf * 10000.0);
    r.pf = (int16_t)(pf > 10000 ? 10000 : pf < -10000 ? -10000 : pf);
    r.f = (w->flags & MTR_WF_FREQ) != 0u ? (uint16_t)scaled(w->frequency_hz, 1000.0, 0xFFFFu) : 0u;
    r.thd_v = (w->flags & MTR_WF_THD_V) != 0u ? meter_thd_centipercent(w->thd_v) : PROTO_NOT_MEASURED;
    r.thd_i = (w->flags & MTR_WF_THD_I) != 0u ? meter_thd_centipercent(w->thd_i) : PROTO_NOT_MEASURED;
    return send_secured(m, PROTO_FN_SNAPSHOT, payload, proto_encode_snapshot(&r, payload));
}

static bool send_energy(meter_t *m)
{
    proto_energy_t r;
    uint8_t payload[PROTO_LEN_ENERGY];
    r.time_s = time_s_at(m, now(m));
    r.flags = m->time_valid ? PROTO_FLAG_TIME_VALID : 0u;
    r.import_mwh = register_mwh(&m->e_import);
    r.export_mwh = register_mwh(&m->e_export);
    r.epoch = m->nv.energy_epoch;
    r.boots = (uint16_t)m->nv.boots;
    return send_secured(m, PROTO_FN_ENERGY, payload, proto_encode_energy(&r, payload));
}

static bool send_status(meter_t *m)
{
    proto_status_rec_t r;
    uint8_t payload[PROTO_LEN_STATUS];
    uint64_t uptime_s = now(m) / m->cfg.fs_hz;
    r.protocol = PROTO_VERSION;
    r.firmware = (uint16_t)(METER_FW_MAJOR << 8 | METER_FW_MINOR);
    r.build = (uint16_t)METER_FW_BUILD;
    for (unsigned k = 0; k < PROTO_UID_SIZE; k++) {
        r.uid[k] = m->id.uid[k];
    }
    r.flags = (uint8_t)(common_flags(m) |
                        (meter_identify_seconds_left(m) > 0u ? PROTO_FLAG_IDENTIFYING : 0u) |
                        (meter_lockout_active(m) ? PROTO_FLAG_LOCKOUT : 0u));
    r.uptime_s = uptime_s > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)uptime_s;
    r.boots = (uint16_t)m->nv.boots;
    r.rejected_mac = sat16(m->counters.rejected_mac);
    r.rejected_stale = sat16(m->counters.rejected_stale);
    r.rejected_malformed = sat16(m->counters.rejected_malformed);
    r.rate_limited = sat16(m->counters.rate_limited);
    r.tec = m->tec;
    r.rec = m->rec;
    return send_secured(m, PROTO_FN_STATUS, payload, proto_encode_status(&r, payload));
}

static void answer_remote(meter_t *m, uint32_t function)
{
    uint64_t *next = &m->remote_next[function - PROTO_FN_SNAPSHOT];
    if (function == PROTO_FN_SNAPSHOT && !m->has_window) {
        return; /* nothing measured yet: never a made-up zero */
    }
    if (now(m) < *next) {
        m->counters.rate_limited++;
        return;
    }
    bool sent = function == PROTO_FN_SNAPSHOT ? send_snapshot(m)
                : function == PROTO_FN_ENERGY ? send_energy(m)
                                              : send_status(m);
    if (sent) {
        *next = now(m) + ms(m, REMOTE_INTERVAL_MS);
    }
}

/* ------------------------------------------------------------ history reads */

/* The first entry at or after read_job.next that the read asks for. */
static bool find_entry(const meter_t *m, uint32_t *ordinal)
{
    const meter_read_job_t *j = &m->read_job;
    bool aggregates = j->opcode == PROTO_OP_READ_AGGREGATES;
    uint32_t total = aggregates ? m->aggregates_total : m->events_total;
    uint32_t size = aggregates ? METER_AGGREGATES : METER_EVENTS;
    uint32_t k = j->next;
    if (total > size && k < total - size) {
        k = total - size; /* older entries have been overwritten */
    }
    for (; k < total; k++) {
        uint32_t key = aggregates ? m->aggregates[k % size].start_s : m->events[k % size].seq;
        if (key >= j->from) {
            *ordinal = k;
            return true;
        }
    }
    return false;
}

/* An entry as the payload of its record; sets *function. */
static size_t encode_entry(const meter_t *m, uint32_t ordinal, uint8_t *payload, uint32_t *function)
{
    if (m->read_job.opcode == PROTO_OP_READ_AGGREGATES) {
        *function = PROTO_FN_AGGREGATE;
        return proto_encode_aggregate(&m->aggregates[ordinal % METER_AGGREGATES], payload);
    }
    *function = PROTO_FN_EVENT;
    return proto_encode_event(&m->events[ordinal % METER_EVENTS], payload);
}

/* Queues the next records of the read while the queue has room to spare,
 * then the ACK with the count. Called again whenever a frame leaves. */
static void pump_read(meter_t *m)
{
    meter_read_job_t *j = &m->read_job;
    while (j->opcode != 0) {
        uint8_t payload[PROTO_LEN_MAX];
        uint32_t ordinal = 0;
        if (!can_send(m)) {
            j->opcode = 0;
            return;
        }
        if (j->sent < j->max_count && find_entry(m, &ordinal)) {
            uint32_t function;
            size_t len = encode_entry(m, ordinal, payload, &function);
            if (!fits(m, len, READ_RESERVED_FRAMES)) {
                return;
            }
            (void)send_secured(m, function, payload, len);
            j->sent++;
            j->next = ordinal + 1u;
        } else {
            if (!fits(m, PROTO_LEN_ACK, READ_RESERVED_FRAMES)) {
                return;
            }
            (void)send_ack(m, PROTO_FN_CONTROL, j->opcode, j->command_fv, PROTO_RESULT_OK, j->sent);
            j->opcode = 0;
        }
    }
}

static void start_read(meter_t *m, const proto_command_t *c, uint32_t fv)
{
    meter_read_job_t *j = &m->read_job;
    if (j->opcode != 0) {
        (void)send_ack(m, PROTO_FN_CONTROL, c->opcode, fv, PROTO_RESULT_BUSY, 0);
        return;
    }
    *j = (meter_read_job_t){0};
    j->opcode = c->opcode;
    j->command_fv = fv;
    j->from = c->opcode == PROTO_OP_READ_AGGREGATES ? c->from_s : c->from_seq;
    j->max_count = c->max_count;
    pump_read(m);
}

/* ------------------------------------------------------------ commands */

static void arm_clear(meter_t *m, uint32_t fv)
{
    /* The challenge is the FV of the ACK that carries it: a value the
     * meter's counter never produces twice, not even across reboots. */
    uint32_t challenge = m->tx_fv + 1u;
    if (send_ack(m, PROTO_FN_CONTROL, PROTO_OP_CLEAR_ENERGY_ARM, fv, PROTO_RESULT_OK, challenge)) {
        m->clear_armed = true;
        m->clear_challenge = challenge;
        m->clear_armed_at = now(m);
    }
}

static uint8_t confirm_clear(meter_t *m, const proto_command_t *c)
{
    bool armed = m->clear_armed && now(m) - m->clear_armed_at < ms(m, CLEAR_ARM_MS);
    m->clear_armed = false; /* single use, whatever the outcome */
    if (!armed) {
        return PROTO_RESULT_NOT_ARMED;
    }
    if (c->challenge != m->clear_challenge || !secure_equal(c->uid, m->id.uid, PROTO_UID_SIZE) ||
        c->import_mwh != register_mwh(&m->e_import) ||
        c->export_mwh != register_mwh(&m->e_export)) {
        return PROTO_RESULT_MISMATCH;
    }
    meter_clear_energy(m);
    return PROTO_RESULT_OK;
}

static void execute_control(meter_t *m, const proto_command_t *c, uint32_t fv)
{
    uint8_t result = PROTO_RESULT_OK;
    switch (c->opcode) {
    case PROTO_OP_SET_THRESHOLDS:
        m->thresholds = (meter_thresholds_t){true, c->dip, c->swell, c->hysteresis, c->udin};
        meter_apply_thresholds(m);
        break;
    case PROTO_OP_IDENTIFY:
        m->identify_until = now(m) + (uint64_t)c->seconds * m->cfg.fs_hz;
        break;
    case PROTO_OP_CLEAR_ENERGY_ARM:
        arm_clear(m, fv);
        return;
    case PROTO_OP_CLEAR_ENERGY_CONFIRM:
        result = confirm_clear(m, c);
        break;
    default: /* READ_AGGREGATES, READ_EVENTS: the ACK follows the records */
        start_read(m, c, fv);
        return;
    }
    (void)send_ack(m, PROTO_FN_CONTROL, c->opcode, fv, result, 0);
}

static void execute(meter_t *m, const proto_command_t *c, uint32_t fv, bool broadcast)
{
    switch (c->function) {
    case PROTO_FN_RELAY:
        m->relay_on = c->state != 0u;
        (void)send_ack(m, PROTO_FN_RELAY, 0, fv, PROTO_RESULT_OK, m->relay_on ? 1u : 0u);
        break;
    case PROTO_FN_TIME:
        meter_set_time(m, c->unix_ms);
        if (!broadcast) { /* a broadcast is not answered */
            (void)send_ack(m, PROTO_FN_TIME, 0, fv, PROTO_RESULT_OK, 0);
        }
        break;
    default:
        execute_control(m, c, fv);
        break;
    }
}

/* A failed verification: counted, never acted upon; it may start a lockout
 * and be answered, at most once a second. */
static void reject(meter_t *m, uint32_t function, const secure_msg_t *msg, secure_result_t why,
                   bool broadcast)
{
    uint64_t t = now(m);
    if (why == SECURE_BAD_MAC) {
        m->counters.rejected_mac++;
    } else {
        m->counters.rejected_stale++;
    }
    m->failed_at[m->failed_next] = t;
    m->failed_next = (m->failed_next + 1u) % METER_LOCKOUT_FAILURES;
    if (m->failed_count < METER_LOCKOUT_FAILURES) {
        m->failed_count++;
    }
    /* failed_at[failed_next] is now the oldest of the last eight */
    if (m->failed_count == METER_LOCKOUT_FAILURES &&
        t - m->failed_at[m->failed_next] < ms(m, LOCKOUT_WINDOW_MS)) {
        m->lockout_until = t + ms(m, LOCKOUT_MS);
    }
    if (broadcast || t < m->failure_ack_next) {
        return;
    }
    m->failure_ack_next = t + ms(m, FAILURE_ACK_INTERVAL_MS);
    uint8_t opcode = function == PROTO_FN_CONTROL ? msg->payload[0] : 0u; /* length checked */
    (void)send_ack(m, (uint8_t)function, opcode, msg->fv,
                   why == SECURE_BAD_MAC ? PROTO_RESULT_AUTH_FAILED : PROTO_RESULT_STALE, 0);
}

static void on_message(meter_t *m, uint16_t id, const uint8_t *body, size_t len)
{
    uint32_t function = PROTO_ID_FN(id);
    bool broadcast = PROTO_ID_NODE(id) == PROTO_NODE_BROADCAST;
    secure_msg_t msg;
    proto_command_t cmd = {0};
    if (!secure_split(body, len, &msg) ||
        !proto_payload_length_ok(function, msg.payload, msg.len)) {
        m->counters.rejected_malformed++; /* before the MAC, as every receiver does */
        return;
    }
    if (meter_lockout_active(m)) {
        m->counters.rate_limited++;
        return;
    }
    /* Broadcasts keep their own freshness: a group key read out of one
     * meter can then at worst exhaust the broadcast counter, never block
     * the commands that use the meter keys. */
    uint32_t *last_fv = broadcast ? &m->nv.rx_group_fv : &m->nv.rx_fv;
    const uint8_t *key = broadcast ? m->id.group_key : m->id.meter_key;
    secure_result_t verdict = secure_open(key, id, body, len, *last_fv, &msg);
    if (verdict != SECURE_OK) {
        reject(m, function, &msg, verdict, broadcast);
        return;
    }
    *last_fv = msg.fv; /* persisted: no replay after a reboot either */
    meter_nv_changed(m);
    if (proto_decode_command(function, msg.payload, msg.len, &cmd) != PROTO_OK) {
        if (!broadcast) { /* authentic, but an argument is out of range */
            (void)send_ack(m, (uint8_t)function, cmd.opcode, msg.fv, PROTO_RESULT_BAD_ARGUMENTS, 0);
        }
        return;
    }
    execute(m, &cmd, msg.fv, broadcast);
}

/* A partial message over 100 ms old is dropped, and counted: it could not
 * be read. */
static void expire(meter_t *m, reasm_t *r)
{
    if (reasm_expire(r, now(m), ms(m, REASSEMBLY_TIMEOUT_MS))) {
        m->counters.rejected_malformed++;
    }
}

static reasm_t *reassembler(meter_t *m, uint32_t function, uint32_t node)
{
    if (node == PROTO_NODE_BROADCAST) {
        return function == PROTO_FN_TIME ? &m->rx_time_broadcast : NULL;
    }
    if (node != m->id.node) {
        return NULL;
    }
    switch (function) {
    case PROTO_FN_RELAY:
        return &m->rx_relay;
    case PROTO_FN_TIME:
        return &m->rx_time;
    case PROTO_FN_CONTROL:
        return &m->rx_control;
    default:
        return NULL; /* records on our own id are ours; reserved functions are ignored */
    }
}

bool meter_on_can_rx(meter_t *m, const can_frame_t *f)
{
    if (m == NULL || !m->online || f == NULL) {
        return false;
    }
    if ((f->flags & CAN_FLAG_EXT) != 0u || f->id > CAN_STD_ID_MASK) {
        return false;
    }
    uint32_t function = PROTO_ID_FN(f->id);
    uint32_t node = PROTO_ID_NODE(f->id);
    if ((f->flags & CAN_FLAG_RTR) != 0u) {
        if (node != m->id.node || function < PROTO_FN_SNAPSHOT || function > PROTO_FN_STATUS) {
            return false;
        }
        answer_remote(m, function); /* the request's DLC does not matter */
        return true;
    }
    reasm_t *r = reassembler(m, function, node);
    if (r == NULL) {
        return false;
    }
    expire(m, r);
    reasm_result_t got = reasm_push(r, f, now(m));
    if (r->replaced) {
        m->counters.rejected_malformed++; /* the dropped message could not be read */
    }
    if (got == REASM_MESSAGE) {
        on_message(m, (uint16_t)f->id, r->body, r->body_len);
    } else if (got != REASM_PENDING) {
        m->counters.rejected_malformed++;
    }
    return true;
}

void meter_can_expire(meter_t *m)
{
    expire(m, &m->rx_relay);
    expire(m, &m->rx_time);
    expire(m, &m->rx_time_broadcast);
    expire(m, &m->rx_control);
}

bool meter_can_tx_pop(meter_t *m, can_frame_t *out)
{
    if (m == NULL || !m->initialised || out == NULL || !txq_pop(&m->txq, out)) {
        return false;
    }
    pump_read(m);
    return true;
}
