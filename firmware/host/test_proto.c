/*
 * test_proto.c - provisional CAN protocol: remote request -> data reply.
 */
#include <stddef.h>
#include <string.h>

#include "meter.h"
#include "synth.h"
#include "tests.h"
#include "tharness.h"

static meter_t g_pm;
static adc_pair_t g_pbuf[512];

static void meter_with_window(meter_t *m, uint8_t node, double phi_deg)
{
    meter_config_t cfg;
    synth_t s;
    meter_config_default(&cfg, node);
    CHECK(meter_init(m, &cfg));
    synth_default(&s);
    s.phi_deg = phi_deg;
    for (int k = 0; k < 10; k++) {
        synth_fill(&s, g_pbuf, 512);
        (void)meter_feed(m, g_pbuf, 512);
    }
    CHECK(meter_last_window(m) != NULL);
}

static can_frame_t remote(uint32_t fn, uint32_t node)
{
    can_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = PROTO_ID(fn, node);
    f.flags = CAN_FLAG_RTR;
    f.dlc = 4;
    return f;
}

static int32_t le32(const uint8_t *d)
{
    return (int32_t)((uint32_t)d[0] | ((uint32_t)d[1] << 8) | ((uint32_t)d[2] << 16) |
                     ((uint32_t)d[3] << 24));
}

void test_can_frame_layout(void)
{
    CHECK_EQ_U(sizeof(can_frame_t), 16u);
    CHECK_EQ_U(offsetof(can_frame_t, data), 6u);
    CHECK_EQ_U(sizeof(adc_pair_t), 4u);
    CHECK_EQ_U(PROTO_ID(0x18, 5), 0x605u);
    CHECK_EQ_U(PROTO_ID_FN(0x605u), 0x18u);
    CHECK_EQ_U(PROTO_ID_NODE(0x605u), 5u);
}

void test_can_reply(void)
{
    can_frame_t rq = remote(PROTO_FN_ACTIVE_POWER, 5), tx;
    meter_with_window(&g_pm, 5, 0.0);
    const meter_window_t *w = meter_last_window(&g_pm);
    CHECK(!meter_can_tx_pop(&g_pm, &tx));
    CHECK(meter_on_can_rx(&g_pm, &rq));
    memset(&tx, 0xAA, sizeof tx);
    CHECK(meter_can_tx_pop(&g_pm, &tx));
    CHECK_EQ_U(tx.id, 0x605u);
    CHECK_EQ_U(tx.dlc, 4u);
    CHECK_EQ_U(tx.flags, 0u);
    CHECK_EQ_I(le32(tx.data), w->p_mw);
    CHECK_NEAR(le32(tx.data), 2300000.0, 2300.0); /* 230 V * 10 A in mW, 0.1 % */
    CHECK_EQ_U(tx.data[4] | tx.data[5] | tx.data[6] | tx.data[7], 0u);
    CHECK_EQ_U(tx.reserved[0] | tx.reserved[1], 0u);
    CHECK(!meter_can_tx_pop(&g_pm, &tx));

    /* negative power is sent as negative int32 (two's complement LE) */
    meter_with_window(&g_pm, 63, 180.0);
    rq = remote(PROTO_FN_ACTIVE_POWER, 63);
    CHECK(meter_on_can_rx(&g_pm, &rq));
    CHECK(meter_can_tx_pop(&g_pm, &tx));
    CHECK_EQ_U(tx.id, (0x18u << 6) | 63u);
    CHECK_NEAR(le32(tx.data), -2300000.0, 2300.0);
    CHECK_EQ_U(tx.data[3], 0xFFu);

    /* the DLC of the request does not matter */
    rq.dlc = 0;
    CHECK(meter_on_can_rx(&g_pm, &rq));
    CHECK(meter_can_tx_pop(&g_pm, &tx));
    CHECK_EQ_U(tx.dlc, 4u);
}

void test_can_ignored(void)
{
    can_frame_t f, tx;
    meter_with_window(&g_pm, 5, 0.0);
    f = remote(PROTO_FN_ACTIVE_POWER, 6); /* other node */
    CHECK(!meter_on_can_rx(&g_pm, &f));
    f = remote(PROTO_FN_ACTIVE_POWER, 0); /* node 0 (master/broadcast) */
    CHECK(!meter_on_can_rx(&g_pm, &f));
    f = remote(0x17, 5); /* other function */
    CHECK(!meter_on_can_rx(&g_pm, &f));
    f = remote(0x00, 5);
    CHECK(!meter_on_can_rx(&g_pm, &f));
    f = remote(PROTO_FN_ACTIVE_POWER, 5); /* data frame, same id */
    f.flags = 0;
    CHECK(!meter_on_can_rx(&g_pm, &f));
    f = remote(PROTO_FN_ACTIVE_POWER, 5); /* extended frame */
    f.flags = CAN_FLAG_EXT | CAN_FLAG_RTR;
    CHECK(!meter_on_can_rx(&g_pm, &f));
    f = remote(PROTO_FN_ACTIVE_POWER, 5); /* id beyond 11 bits */
    f.id |= 0x800u;
    CHECK(!meter_on_can_rx(&g_pm, &f));
    CHECK(!meter_on_can_rx(&g_pm, NULL));
    CHECK(!meter_can_tx_pop(&g_pm, &tx));
    CHECK_EQ_U(g_pm.proto.rx_ignored, 8u);
    CHECK_EQ_U(g_pm.proto.rx_used, 0u);
}

void test_can_no_reply_before_window(void)
{
    meter_config_t cfg;
    can_frame_t rq = remote(PROTO_FN_ACTIVE_POWER, 9), tx;
    synth_t s;
    meter_config_default(&cfg, 9);
    CHECK(meter_init(&g_pm, &cfg));
    CHECK(meter_on_can_rx(&g_pm, &rq)); /* understood ... */
    CHECK(!meter_can_tx_pop(&g_pm, &tx)); /* ... but not answered */
    /* most of a window: still nothing */
    synth_default(&s);
    synth_fill(&s, g_pbuf, 512);
    CHECK_EQ_U(meter_feed(&g_pm, g_pbuf, 512), 0u);
    CHECK(meter_on_can_rx(&g_pm, &rq));
    CHECK(!meter_can_tx_pop(&g_pm, &tx));
    /* earlier requests are not answered retroactively */
    for (int k = 0; k < 4; k++) {
        synth_fill(&s, g_pbuf, 512);
        (void)meter_feed(&g_pm, g_pbuf, 512);
    }
    CHECK(meter_last_window(&g_pm) != NULL);
    CHECK(!meter_can_tx_pop(&g_pm, &tx));
    CHECK(meter_on_can_rx(&g_pm, &rq));
    CHECK(meter_can_tx_pop(&g_pm, &tx));
}

void test_txq_overflow(void)
{
    can_frame_t rq, tx;
    can_txq_t q;
    meter_with_window(&g_pm, 5, 0.0);
    rq = remote(PROTO_FN_ACTIVE_POWER, 5);
    for (int k = 0; k < 11; k++) {
        CHECK(meter_on_can_rx(&g_pm, &rq));
    }
    CHECK_EQ_U(g_pm.proto.txq.count, PROTO_TXQ_LEN);
    CHECK_EQ_U(g_pm.proto.txq.dropped, 3u);
    int popped = 0;
    while (meter_can_tx_pop(&g_pm, &tx)) {
        popped++;
        CHECK_EQ_U(tx.id, 0x605u);
    }
    CHECK_EQ_I(popped, (int)PROTO_TXQ_LEN);

    /* FIFO order, newest dropped, wrap-around */
    txq_init(&q);
    memset(&tx, 0, sizeof tx);
    for (uint32_t k = 0; k < 10; k++) {
        tx.id = k;
        CHECK(txq_push(&q, &tx) == (k < PROTO_TXQ_LEN));
    }
    CHECK_EQ_U(q.dropped, 2u);
    for (uint32_t k = 0; k < 5; k++) {
        CHECK(txq_pop(&q, &tx));
        CHECK_EQ_U(tx.id, k);
    }
    for (uint32_t k = 100; k < 105; k++) {
        tx.id = k;
        CHECK(txq_push(&q, &tx) == (k < 105));
    }
    uint32_t expect[] = {5, 6, 7, 100, 101, 102, 103, 104};
    for (uint32_t k = 0; k < 8; k++) {
        CHECK(txq_pop(&q, &tx));
        CHECK_EQ_U(tx.id, expect[k]);
    }
    CHECK(!txq_pop(&q, &tx));
}
