/*
 * test_proto.c - the protocol layers on their own: identifiers, frames
 * (segmentation, reassembly, TX queue), secured bodies, the configuration
 * page and the payload codecs.
 */
#include <stddef.h>
#include <string.h>

#include "crc32.h"
#include "meter.h"
#include "meter_rig.h"
#include "wbytes.h"
#include "tests.h"
#include "tharness.h"

void test_can_frame_layout(void)
{
    CHECK_EQ_U(sizeof(can_frame_t), 16u);
    CHECK_EQ_U(offsetof(can_frame_t, data), 6u);
    CHECK_EQ_U(sizeof(adc_pair_t), 4u);
    CHECK_EQ_U(PROTO_ID(PROTO_FN_SNAPSHOT, 5), 0x205u);
    CHECK_EQ_U(PROTO_ID(PROTO_FN_EVENT, 127), 0x47Fu);
    CHECK_EQ_U(PROTO_ID(PROTO_FN_TIME, PROTO_NODE_BROADCAST), 0x80u);
    CHECK_EQ_U(PROTO_ID_FN(0x47Fu), 8u);
    CHECK_EQ_U(PROTO_ID_NODE(0x47Fu), 127u);
    CHECK_EQ_U(PROTO_ID_FN(0x7FFu), 15u);
}

static can_frame_t data_frame(uint16_t id, const char *hex)
{
    can_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.dlc = (uint8_t)hex_decode(hex, f.data, 8);
    return f;
}

void test_frames_segmentation(void)
{
    uint8_t body[FRAMES_BODY_MAX + 1];
    can_frame_t f[FRAMES_MAX];
    for (size_t k = 0; k < sizeof body; k++) {
        body[k] = (uint8_t)(k + 1);
    }
    CHECK_EQ_U(frames_count(0), 0u);
    CHECK_EQ_U(frames_count(1), 1u);
    CHECK_EQ_U(frames_count(7), 1u);
    CHECK_EQ_U(frames_count(8), 2u);
    CHECK_EQ_U(frames_count(112), 16u);
    CHECK_EQ_U(frames_count(113), 0u);
    CHECK_EQ_U(frames_segment(0x101, body, 0, f), 0u);
    CHECK_EQ_U(frames_segment(0x101, body, 113, f), 0u);
    /* 23 bytes (an ACK body): 7 + 7 + 7 + 2, headers 0x03 0x13 0x23 0x33 */
    CHECK_EQ_U(frames_segment(0x181, body, 23, f), 4u);
    CHECK_EQ_U(f[0].data[0], 0x03u);
    CHECK_EQ_U(f[3].data[0], 0x33u);
    CHECK_EQ_U(f[0].dlc, 8u);
    CHECK_EQ_U(f[3].dlc, 3u);
    CHECK_EQ_U(f[3].data[2], 23u);
    CHECK_EQ_U(f[2].id, 0x181u);
    CHECK_EQ_U(f[2].flags, 0u);
    /* every length round-trips through reassembly */
    for (size_t len = 1; len <= FRAMES_BODY_MAX; len++) {
        reasm_t r;
        uint32_t n = frames_segment(0x7F, body, len, f);
        reasm_init(&r);
        reasm_result_t got = REASM_PENDING;
        for (uint32_t k = 0; k < n; k++) {
            CHECK(got == REASM_PENDING);
            got = reasm_push(&r, &f[k], 0);
        }
        CHECK(got == REASM_MESSAGE && r.body_len == len && memcmp(r.body, body, len) == 0);
    }
}

void test_frames_reassembly_errors(void)
{
    reasm_t r;
    can_frame_t a = data_frame(1, "0201020304050607"), b = data_frame(1, "1208090a0b0c0d0e"),
                c = data_frame(1, "220f10");
    reasm_init(&r);
    CHECK(reasm_push(&r, &a, 0) == REASM_PENDING);
    CHECK(reasm_push(&r, &c, 0) == REASM_OUT_OF_SEQUENCE); /* skipped frame 1 */
    CHECK(reasm_push(&r, &b, 0) == REASM_NO_START);        /* the partial was dropped */
    CHECK(reasm_push(&r, &a, 0) == REASM_PENDING);
    CHECK(!r.replaced);
    CHECK(reasm_push(&r, &a, 0) == REASM_PENDING);         /* index 0 again: restarts */
    CHECK(r.replaced);
    CHECK(reasm_push(&r, &b, 0) == REASM_PENDING);
    CHECK(!r.replaced);
    CHECK(reasm_push(&r, &c, 0) == REASM_MESSAGE);
    CHECK_EQ_U(r.body_len, 16u);

    can_frame_t short7 = data_frame(1, "01010203040506"); /* not last, DLC 7 */
    can_frame_t dlc1 = data_frame(1, "00");
    can_frame_t beyond = data_frame(1, "2101020304050607"); /* index 2 > last 1 */
    can_frame_t other_last = data_frame(1, "1308090a0b0c0d0e");
    CHECK(reasm_push(&r, &short7, 0) == REASM_BAD_LENGTH);
    CHECK(reasm_push(&r, &dlc1, 0) == REASM_BAD_LENGTH);
    CHECK(reasm_push(&r, &beyond, 0) == REASM_BAD_HEADER);
    CHECK(reasm_push(&r, &a, 0) == REASM_PENDING);
    CHECK(reasm_push(&r, &other_last, 0) == REASM_OUT_OF_SEQUENCE);
    can_frame_t dlc9 = a;
    dlc9.dlc = 9;
    CHECK(reasm_push(&r, &dlc9, 0) == REASM_BAD_LENGTH);
    /* a single frame is a message (too short to be a secured one) */
    can_frame_t single = data_frame(1, "00aabb");
    CHECK(reasm_push(&r, &single, 0) == REASM_MESSAGE);
    CHECK_EQ_U(r.body_len, 2u);
    /* timeout: strictly older than the limit */
    CHECK(reasm_push(&r, &a, 1000) == REASM_PENDING);
    CHECK(!reasm_expire(&r, 1100, 100));
    CHECK(reasm_expire(&r, 1101, 100));
    CHECK(!reasm_expire(&r, 1102, 100));
    CHECK(reasm_push(&r, &b, 1101) == REASM_NO_START);
    for (int k = REASM_PENDING; k <= REASM_NO_START; k++) {
        CHECK(strcmp(reasm_result_name((reasm_result_t)k), "?") != 0);
    }
}

void test_txq_whole_messages(void)
{
    txq_t q;
    uint8_t body[49] = {0};
    can_frame_t f;
    txq_init(&q);
    /* two whole 7-frame records fit, with room to spare */
    CHECK(TXQ_LEN >= 14u);
    uint32_t fitted = 0;
    for (uint16_t id = 0; id < 10; id++) {
        if (txq_push_message(&q, (uint16_t)(0x300 + id), body, sizeof body)) {
            fitted++;
        }
    }
    CHECK_EQ_U(fitted, TXQ_LEN / 7u);
    CHECK_EQ_U(q.dropped, 10u - TXQ_LEN / 7u);
    CHECK_EQ_U(q.count, 7u * fitted);
    /* a smaller message still fits into the rest */
    bool room = txq_free(&q) >= 4u;
    CHECK(txq_push_message(&q, 0x181, body, 23) == room);
    /* order: frames of one message consecutive, messages in order */
    uint32_t prev_id = 0, index = 0;
    while (txq_pop(&q, &f)) {
        if (f.id != prev_id) {
            CHECK_EQ_U(f.data[0] >> 4, 0u);
            index = 0;
            prev_id = f.id;
        }
        CHECK_EQ_U(f.data[0] >> 4, index);
        index++;
    }
    CHECK(!txq_push_message(&q, 1, body, 0));
    CHECK(!txq_pop(&q, &f));
}

void test_secure_open_reasons(void)
{
    uint8_t key[32] = {1, 2, 3}, other[32] = {3, 2, 1}, payload[3] = {9, 8, 7}, body[40];
    secure_msg_t m;
    size_t n = secure_seal(key, 0x101, payload, 3, 5, body);
    CHECK_EQ_U(n, 15u);
    CHECK(secure_open(key, 0x101, body, n, 4, &m) == SECURE_OK);
    CHECK(m.fv == 5 && m.len == 3 && memcmp(m.payload, payload, 3) == 0);
    CHECK(secure_open(key, 0x101, body, n, 5, &m) == SECURE_STALE);
    CHECK(secure_open(key, 0x101, body, n, 0xFFFFFFFFu, &m) == SECURE_STALE);
    CHECK(secure_open(other, 0x101, body, n, 4, &m) == SECURE_BAD_MAC);
    CHECK(secure_open(key, 0x102, body, n, 4, &m) == SECURE_BAD_MAC); /* id is authenticated */
    CHECK_EQ_U(m.fv, 5u); /* the claim, for the ACK */
    body[n - 1] ^= 1;
    CHECK(secure_open(key, 0x101, body, n, 4, &m) == SECURE_BAD_MAC);
    body[n - 1] ^= 1;
    body[3] ^= 0x80; /* FV */
    CHECK(secure_open(key, 0x101, body, n, 4, &m) == SECURE_BAD_MAC);
    CHECK(secure_open(key, 0x101, body, 11, 0, &m) == SECURE_MALFORMED);
    CHECK(secure_open(key, 0x101, body, 12, 0, &m) == SECURE_BAD_MAC); /* empty payload */
    CHECK_EQ_U(secure_seal(key, 1, body, SECURE_PAYLOAD_MAX + 1, 1, body), 0u);
    CHECK(secure_equal(key, key, 32));
    CHECK(!secure_equal(key, other, 32));
    CHECK(strcmp(secure_result_name(SECURE_BAD_MAC), "bad-mac") == 0);
    CHECK(strcmp(secure_result_name(SECURE_STALE), "stale") == 0);
    CHECK(strcmp(secure_result_name(SECURE_MALFORMED), "malformed") == 0);
}

void test_config_page(void)
{
    meter_identity_t id, back;
    uint8_t page[CONFIG_PAGE_SIZE];
    memset(&id, 0, sizeof id);
    id.node = 127;
    for (unsigned k = 0; k < 12; k++) {
        id.uid[k] = (uint8_t)k;
    }
    id.meter_key[0] = 0xAA;
    id.group_key[31] = 0x55;
    config_page_build(&id, page);
    CHECK(memcmp(page, "WWCF\x01\x00\x7f\x00", 8) == 0);
    CHECK(config_page_parse(page, &back) == CONFIG_OK);
    CHECK(back.node == 127 && memcmp(back.uid, id.uid, 12) == 0 &&
          memcmp(back.meter_key, id.meter_key, 32) == 0 && memcmp(back.group_key, id.group_key, 32) == 0);

    uint8_t bad[CONFIG_PAGE_SIZE];
    memcpy(bad, page, sizeof bad);
    bad[40] ^= 1;
    CHECK(config_page_parse(bad, &back) == CONFIG_BAD_CRC);
    memset(bad, 0xFF, sizeof bad); /* erased flash */
    CHECK(config_page_parse(bad, &back) == CONFIG_BAD_CRC);
    id.node = 0;
    config_page_build(&id, bad);
    CHECK(config_page_parse(bad, &back) == CONFIG_BAD_NODE);
    id.node = 128;
    config_page_build(&id, bad);
    CHECK(config_page_parse(bad, &back) == CONFIG_BAD_NODE);
    id.node = 1;
    config_page_build(&id, bad);
    bad[0] = 'X';
    ww_put_le32(bad + 84, crc32_ieee(bad, 84));
    CHECK(config_page_parse(bad, &back) == CONFIG_BAD_MAGIC);
    config_page_build(&id, bad);
    bad[4] = 2;
    ww_put_le32(bad + 84, crc32_ieee(bad, 84));
    CHECK(config_page_parse(bad, &back) == CONFIG_BAD_VERSION);
    for (int r = CONFIG_OK; r <= CONFIG_BAD_CRC; r++) {
        CHECK(strcmp(config_result_name((config_result_t)r), "?") != 0);
    }
}

void test_codecs(void)
{
    uint8_t p[PROTO_LEN_MAX + 1], q[PROTO_LEN_MAX];
    proto_command_t c, d;

    /* lengths of section 4 and 5 */
    static const struct {
        uint32_t fn;
        uint8_t opcode;
        size_t len;
    } lengths_of[] = {
        {PROTO_FN_RELAY, 0, 1},      {PROTO_FN_TIME, 0, 6},       {PROTO_FN_CONTROL, 1, 11},
        {PROTO_FN_CONTROL, 2, 2},    {PROTO_FN_CONTROL, 3, 1},    {PROTO_FN_CONTROL, 4, 34},
        {PROTO_FN_CONTROL, 5, 6},    {PROTO_FN_CONTROL, 6, 4},    {PROTO_FN_CONTROL, 7, 0},
        {PROTO_FN_CONTROL, 0, 0},    {PROTO_FN_ACK, 0, 11},       {PROTO_FN_SNAPSHOT, 0, 28},
        {PROTO_FN_ENERGY, 0, 23},    {PROTO_FN_STATUS, 0, 35},    {PROTO_FN_AGGREGATE, 0, 42},
        {PROTO_FN_EVENT, 0, 16},     {9, 0, 0},                   {15, 0, 0},
    };
    for (size_t k = 0; k < sizeof lengths_of / sizeof lengths_of[0]; k++) {
        p[0] = lengths_of[k].opcode;
        CHECK_EQ_U(proto_payload_length(lengths_of[k].fn, p, 1), lengths_of[k].len);
    }
    CHECK_EQ_U(proto_payload_length(PROTO_FN_CONTROL, p, 0), 0u); /* no opcode */
    /* frames per record body: ACK 4, SNAPSHOT 6, ENERGY 5, STATUS 7, AGGREGATE 8, EVENT 4 */
    CHECK_EQ_U(frames_count(PROTO_LEN_ACK + SECURE_OVERHEAD), 4u);
    CHECK_EQ_U(frames_count(PROTO_LEN_SNAPSHOT + SECURE_OVERHEAD), 6u);
    CHECK_EQ_U(frames_count(PROTO_LEN_ENERGY + SECURE_OVERHEAD), 5u);
    CHECK_EQ_U(frames_count(PROTO_LEN_STATUS + SECURE_OVERHEAD), 7u);
    CHECK_EQ_U(frames_count(PROTO_LEN_AGGREGATE + SECURE_OVERHEAD), 8u);
    CHECK_EQ_U(frames_count(PROTO_LEN_EVENT + SECURE_OVERHEAD), 4u);

    /* every command round-trips; one byte more or less is a length error */
    static const uint8_t opcodes[] = {1, 2, 3, 4, 5, 6};
    static const size_t lengths[] = {11, 2, 1, 34, 6, 4};
    for (size_t k = 0; k < 6; k++) {
        memset(&c, 0, sizeof c);
        c.function = PROTO_FN_CONTROL;
        c.opcode = opcodes[k];
        c.dip = 9000;
        c.swell = 11000;
        c.hysteresis = 200;
        c.udin = 23000;
        c.seconds = 30;
        c.challenge = 0xDEADBEEF;
        c.uid[11] = 7;
        c.import_mwh = PROTO_U48_MAX;
        c.export_mwh = 12345;
        c.from_s = 1767225600;
        c.from_seq = 65535;
        c.max_count = 16;
        size_t n = proto_encode_command(&c, p);
        CHECK_EQ_U(n, lengths[k]);
        CHECK(proto_decode_command(PROTO_FN_CONTROL, p, n, &d) == PROTO_OK);
        CHECK(d.opcode == c.opcode);
        CHECK(proto_decode_command(PROTO_FN_CONTROL, p, n + 1, &d) == PROTO_BAD_LENGTH);
        CHECK(proto_decode_command(PROTO_FN_CONTROL, p, n - 1, &d) == PROTO_BAD_LENGTH);
    }
    CHECK(d.from_seq == 65535 && d.max_count == 16);
    p[0] = 0;
    CHECK(proto_decode_command(PROTO_FN_CONTROL, p, 1, &d) == PROTO_BAD_OPCODE);
    p[0] = 7;
    CHECK(proto_decode_command(PROTO_FN_CONTROL, p, 1, &d) == PROTO_BAD_OPCODE);
    CHECK(proto_decode_command(PROTO_FN_CONTROL, p, 0, &d) == PROTO_BAD_LENGTH);
    CHECK(proto_decode_command(PROTO_FN_ACK, p, 11, &d) == PROTO_BAD_FUNCTION);
    c.function = PROTO_FN_ACK;
    CHECK_EQ_U(proto_encode_command(&c, p), 0u);
    c.function = PROTO_FN_CONTROL;
    c.opcode = 9;
    CHECK_EQ_U(proto_encode_command(&c, p), 0u);

    /* values */
    p[0] = 2;
    CHECK(proto_decode_command(PROTO_FN_RELAY, p, 1, &d) == PROTO_BAD_VALUE);
    CHECK(d.state == 2); /* read as claimed */
    p[0] = 1;
    CHECK(proto_decode_command(PROTO_FN_RELAY, p, 1, &d) == PROTO_OK && d.state == 1);
    memset(&c, 0, sizeof c);
    c.function = PROTO_FN_TIME;
    c.unix_ms = PROTO_UNIX_MS_MAX;
    CHECK_EQ_U(proto_encode_command(&c, p), 6u);
    CHECK(proto_decode_command(PROTO_FN_TIME, p, 6, &d) == PROTO_OK && d.unix_ms == PROTO_UNIX_MS_MAX);
    c.unix_ms++;
    CHECK(proto_decode_command(PROTO_FN_TIME, p, proto_encode_command(&c, p), &d) == PROTO_BAD_VALUE);
    struct {
        uint16_t dip, swell, hysteresis;
        uint32_t udin;
        proto_status_t want;
    } thresholds[] = {
        {9000, 11000, 999, 23000, PROTO_OK},        {9000, 9000, 100, 23000, PROTO_BAD_VALUE},
        {11000, 9000, 100, 23000, PROTO_BAD_VALUE}, {9000, 11000, 1000, 23000, PROTO_BAD_VALUE},
        {9000, 11000, 100, 0, PROTO_BAD_VALUE},
    };
    for (size_t k = 0; k < sizeof thresholds / sizeof thresholds[0]; k++) {
        memset(&c, 0, sizeof c);
        c.function = PROTO_FN_CONTROL;
        c.opcode = PROTO_OP_SET_THRESHOLDS;
        c.dip = thresholds[k].dip;
        c.swell = thresholds[k].swell;
        c.hysteresis = thresholds[k].hysteresis;
        c.udin = thresholds[k].udin;
        CHECK(proto_decode_command(PROTO_FN_CONTROL, p, proto_encode_command(&c, p), &d) ==
              thresholds[k].want);
    }
    c.opcode = PROTO_OP_READ_EVENTS;
    c.max_count = 17;
    CHECK(proto_decode_command(PROTO_FN_CONTROL, p, proto_encode_command(&c, p), &d) == PROTO_BAD_VALUE);

    /* records: round trip, length and value errors */
    proto_snapshot_t s = {1, 99, 15, 65535, 1, INT32_MIN, 6, -10000, 50000, 0xFFFF, 0}, s2;
    CHECK_EQ_U(proto_encode_snapshot(&s, p), 28u);
    CHECK(proto_decode_snapshot(p, 28, &s2) == PROTO_OK && proto_encode_snapshot(&s2, q) == 28 && memcmp(p, q, 28) == 0);
    CHECK(s2.p == INT32_MIN && s2.pf == -10000 && s2.vrms == 65535 && s2.f == 50000);
    CHECK(p[20] == 0 && p[27] == 0); /* reserved */
    p[20] = 0xFF; /* reserved bytes are ignored */
    CHECK(proto_decode_snapshot(p, 28, &s2) == PROTO_OK);
    CHECK(proto_decode_snapshot(p, 29, &s2) == PROTO_BAD_LENGTH);
    s.time_cs = 100;
    (void)proto_encode_snapshot(&s, p);
    CHECK(proto_decode_snapshot(p, 28, &s2) == PROTO_BAD_VALUE);
    s.time_cs = 0;
    s.pf = 10001;
    (void)proto_encode_snapshot(&s, p);
    CHECK(proto_decode_snapshot(p, 28, &s2) == PROTO_BAD_VALUE);

    proto_ack_t a = {PROTO_FN_CONTROL, 3, 77, PROTO_RESULT_STALE, 9}, a2;
    CHECK_EQ_U(proto_encode_ack(&a, p), 11u);
    CHECK(proto_decode_ack(p, 11, &a2) == PROTO_OK && proto_encode_ack(&a2, q) == 11 && memcmp(p, q, 11) == 0);
    a.result = 7;
    (void)proto_encode_ack(&a, p);
    CHECK(proto_decode_ack(p, 11, &a2) == PROTO_BAD_VALUE);
    a.result = 0;
    a.function = PROTO_FN_RELAY; /* opcode only on CONTROL */
    (void)proto_encode_ack(&a, p);
    CHECK(proto_decode_ack(p, 11, &a2) == PROTO_BAD_VALUE);
    a.function = PROTO_FN_ACK;
    a.opcode = 0;
    (void)proto_encode_ack(&a, p);
    CHECK(proto_decode_ack(p, 11, &a2) == PROTO_BAD_VALUE);
    CHECK(proto_decode_ack(p, 12, &a2) == PROTO_BAD_LENGTH);

    proto_energy_t e = {7, 2, PROTO_U48_MAX, 1, 65535, 3}, e2;
    CHECK_EQ_U(proto_encode_energy(&e, p), 23u);
    CHECK(proto_decode_energy(p, 23, &e2) == PROTO_OK && proto_encode_energy(&e2, q) == 23 && memcmp(p, q, 23) == 0);
    CHECK(e2.import_mwh == PROTO_U48_MAX && e2.export_mwh == 1 && e2.time_s == 7 && e2.boots == 3);
    CHECK(proto_decode_energy(p, 22, &e2) == PROTO_BAD_LENGTH);

    proto_status_rec_t st, st2;
    memset(&st, 0, sizeof st);
    st.protocol = 1;
    st.uid[0] = 0xEE;
    st.rec = 200;
    CHECK_EQ_U(proto_encode_status(&st, p), 35u);
    CHECK(p[7] == 0xEE); /* uid_0 at offset 7 */
    CHECK(proto_decode_status(p, 35, &st2) == PROTO_OK && proto_encode_status(&st2, q) == 35 && memcmp(p, q, 35) == 0);
    CHECK(proto_decode_status(p, 34, &st2) == PROTO_BAD_LENGTH);

    proto_aggregate_t g, g2;
    memset(&g, 0, sizeof g);
    g.start_s = 600;
    g.p_min = INT32_MIN;
    g.export_mwh = 0xFFFFFFFF;
    CHECK_EQ_U(proto_encode_aggregate(&g, p), 42u);
    CHECK(proto_decode_aggregate(p, 42, &g2) == PROTO_OK && proto_encode_aggregate(&g2, q) == 42 && memcmp(p, q, 42) == 0);
    CHECK(g2.p_min == INT32_MIN && g2.export_mwh == 0xFFFFFFFF && g2.start_s == 600);
    CHECK(proto_decode_aggregate(p, 37, &g2) == PROTO_BAD_LENGTH);

    proto_event_t v = {65535, 3, 1, 999, 4000000000u, 23000}, v2;
    CHECK_EQ_U(proto_encode_event(&v, p), 16u);
    CHECK(proto_decode_event(p, 16, &v2) == PROTO_OK && proto_encode_event(&v2, q) == 16 && memcmp(p, q, 16) == 0);
    CHECK(v2.seq == 65535 && v2.duration_ms == 4000000000u && v2.extreme == 23000);
    CHECK(proto_decode_event(p, 15, &v2) == PROTO_BAD_LENGTH);
    v.kind = 4;
    (void)proto_encode_event(&v, p);
    CHECK(proto_decode_event(p, 16, &v2) == PROTO_BAD_VALUE);
    v.kind = 1;
    v.start_ms = 1000;
    (void)proto_encode_event(&v, p);
    CHECK(proto_decode_event(p, 16, &v2) == PROTO_BAD_VALUE);
    for (int k = PROTO_OK; k <= PROTO_BAD_VALUE; k++) {
        CHECK(strcmp(proto_status_name((proto_status_t)k), "?") != 0);
    }
}
