/*
 * test_fuzz.c - seeded random input into every layer that reads bus data:
 * reassembly, open, the payload decoders, the configuration page and the
 * nonvolatile blob, and the whole meter. Run under ASan/UBSan: nothing may
 * crash or read out of bounds, every rejection carries a named reason, and
 * whatever the meter sends still verifies.
 */
#include <string.h>

#include "meter_rig.h"
#include "tests.h"
#include "tharness.h"

#define ITERATIONS 200000u

static uint64_t g_state;

static uint32_t rnd(void)
{
    /* xorshift64*: fixed seeds, the same run every time */
    g_state ^= g_state >> 12;
    g_state ^= g_state << 25;
    g_state ^= g_state >> 27;
    return (uint32_t)((g_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        p[k] = (uint8_t)rnd();
    }
}

static can_frame_t random_frame(void)
{
    can_frame_t f;
    memset(&f, 0, sizeof f);
    uint32_t pick = rnd() % 8;
    /* mostly ids the meter listens to, sometimes anything */
    f.id = pick < 3   ? PROTO_ID(rnd() % 3, rnd() % 2 ? 1 : 0)
           : pick < 6 ? PROTO_ID(rnd() % 16, rnd() % 3)
           : pick < 7 ? rnd() & 0x7FF
                      : rnd();
    f.dlc = (uint8_t)(rnd() % 10 < 8 ? rnd() % 9 : rnd() % 16);
    f.flags = (uint8_t)(rnd() % 8 == 0 ? rnd() & 3 : 0);
    fill(f.data, 8);
    if (rnd() % 2) { /* a plausible header */
        uint8_t last = (uint8_t)(rnd() % 4);
        f.data[0] = (uint8_t)((rnd() % (last + 1u)) << 4 | last);
    }
    return f;
}

void test_fuzz_layers(void)
{
    g_state = 0x9E3779B97F4A7C15ull;
    reasm_t r;
    reasm_init(&r);
    uint32_t messages = 0, rejected = 0;
    for (uint32_t i = 0; i < ITERATIONS; i++) {
        can_frame_t f = random_frame();
        uint64_t now = i;
        if (reasm_expire(&r, now, rnd() % 50)) {
            rejected++;
        }
        reasm_result_t got = reasm_push(&r, &f, now);
        if (got > REASM_NO_START || strcmp(reasm_result_name(got), "?") == 0) {
            CHECK_MSG(0, "reassembly result %d has no name", (int)got);
        }
        if (got == REASM_MESSAGE) {
            messages++;
            CHECK(r.body_len >= 1 && r.body_len <= FRAMES_BODY_MAX);
            secure_msg_t m;
            uint8_t key[32];
            fill(key, sizeof key);
            secure_result_t s = secure_open(key, (uint16_t)(f.id & 0x7FF), r.body, r.body_len, rnd(), &m);
            CHECK(s == SECURE_MALFORMED || s == SECURE_BAD_MAC); /* never accepted */
        } else if (got != REASM_PENDING) {
            rejected++;
        }
    }
    CHECK(messages > 100 && rejected > 1000);

    /* bodies into open: right key, random tampering */
    for (uint32_t i = 0; i < ITERATIONS / 4; i++) {
        uint8_t key[32], payload[SECURE_PAYLOAD_MAX], body[FRAMES_BODY_MAX + 4];
        secure_msg_t m;
        fill(key, sizeof key);
        size_t len = rnd() % (SECURE_PAYLOAD_MAX + 1);
        fill(payload, len);
        uint16_t id = (uint16_t)(rnd() & 0x7FF);
        uint32_t fv = rnd();
        size_t n = secure_seal(key, id, payload, len, fv, body);
        uint32_t last = rnd() % 4 == 0 ? fv - 1u : rnd();
        uint32_t flip = rnd() % 3;
        if (flip == 1) {
            body[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
        } else if (flip == 2) {
            n = rnd() % (FRAMES_BODY_MAX + 2);
        }
        secure_result_t s = secure_open(key, id, body, n, last, &m);
        CHECK_MSG(strcmp(secure_result_name(s), "?") != 0, "open result %d", (int)s);
        if (flip == 0) {
            CHECK(s == (fv > last ? SECURE_OK : SECURE_STALE));
        } else if (flip == 1) {
            CHECK(s == SECURE_BAD_MAC);
        }
    }

    /* payloads into every decoder: a named verdict; what decodes re-encodes */
    for (uint32_t i = 0; i < ITERATIONS / 2; i++) {
        uint8_t p[PROTO_LEN_MAX + 8], again[PROTO_LEN_MAX];
        size_t len = rnd() % 5 == 0 ? rnd() % sizeof p : (size_t)(rnd() % 40);
        uint32_t fn = rnd() % 10;
        fill(p, len);
        if (rnd() % 2 && fn <= PROTO_FN_CONTROL) {
            p[0] = (uint8_t)(1 + rnd() % 6);
            len = proto_payload_length(fn, p, 1);
        } else if (rnd() % 2 && fn > PROTO_FN_CONTROL) {
            len = proto_payload_length(fn, p, len);
        }
        proto_status_t s;
        size_t n = 0;
        union {
            proto_command_t c;
            proto_ack_t a;
            proto_snapshot_t s;
            proto_energy_t e;
            proto_status_rec_t st;
            proto_aggregate_t g;
            proto_event_t v;
        } u;
        switch (fn) {
        case PROTO_FN_ACK:
            s = proto_decode_ack(p, len, &u.a);
            n = s == PROTO_OK ? proto_encode_ack(&u.a, again) : 0;
            break;
        case PROTO_FN_SNAPSHOT:
            s = proto_decode_snapshot(p, len, &u.s);
            n = s == PROTO_OK ? proto_encode_snapshot(&u.s, again) : 0;
            break;
        case PROTO_FN_ENERGY:
            s = proto_decode_energy(p, len, &u.e);
            n = s == PROTO_OK ? proto_encode_energy(&u.e, again) : 0;
            break;
        case PROTO_FN_STATUS:
            s = proto_decode_status(p, len, &u.st);
            n = s == PROTO_OK ? proto_encode_status(&u.st, again) : 0;
            break;
        case PROTO_FN_AGGREGATE:
            s = proto_decode_aggregate(p, len, &u.g);
            n = s == PROTO_OK ? proto_encode_aggregate(&u.g, again) : 0;
            break;
        case PROTO_FN_EVENT:
            s = proto_decode_event(p, len, &u.v);
            n = s == PROTO_OK ? proto_encode_event(&u.v, again) : 0;
            break;
        default:
            s = proto_decode_command(fn, p, len, &u.c);
            n = s == PROTO_OK ? proto_encode_command(&u.c, again) : 0;
            break;
        }
        CHECK_MSG(strcmp(proto_status_name(s), "?") != 0, "decoder verdict %d", (int)s);
        if (s == PROTO_OK) {
            /* the same bytes, except reserved ones, which are written 0 */
            bool same = n == len;
            for (size_t k = 0; same && k < len; k++) {
                same = again[k] == p[k] || again[k] == 0;
            }
            CHECK_MSG(same, "function %u: decode/encode differ", fn);
        }
    }

    /* configuration pages and blobs: random, and valid ones with a flip */
    for (uint32_t i = 0; i < ITERATIONS / 20; i++) {
        uint8_t page[CONFIG_PAGE_SIZE];
        meter_identity_t id;
        fill(page, sizeof page);
        if (rnd() % 2) {
            fill((uint8_t *)&id, sizeof id);
            id.node = (uint8_t)(rnd() % 130);
            config_page_build(&id, page);
            if (rnd() % 2) {
                page[rnd() % CONFIG_PAGE_SIZE] ^= (uint8_t)(1u << (rnd() % 8));
            }
        }
        config_result_t c = config_page_parse(page, &id);
        CHECK_MSG(strcmp(config_result_name(c), "?") != 0, "page verdict %d", (int)c);
        meter_nv_t nv;
        fill((uint8_t *)&nv, sizeof nv);
        CHECK(!meter_nv_valid(&nv));
    }
}

static rig_t g_fr;

void test_fuzz_meter(void)
{
    rig_t *r = &g_fr;
    g_state = 0xD1B54A32D192ED03ull;
    rig_new(r, 1, 6400);
    CHECK(rig_boot(r, true));
    rig_run(r, 0.3);
    uint32_t accepted_before = r->meter.nv.rx_fv;
    for (uint32_t i = 0; i < ITERATIONS; i++) {
        uint32_t what = rnd() % 100;
        if (what < 70) {
            can_frame_t f = random_frame();
            (void)meter_on_can_rx(&r->meter, &f);
        } else if (what < 80) {
            /* a genuine command, mangled or not, or a replay */
            uint8_t payload[PROTO_LEN_MAX + 4], body[FRAMES_BODY_MAX];
            can_frame_t frames[FRAMES_MAX];
            uint32_t fn = rnd() % 3;
            size_t len = rnd() % (PROTO_LEN_MAX + 4);
            fill(payload, sizeof payload);
            payload[0] = (uint8_t)(fn == PROTO_FN_CONTROL ? rnd() % 8 : rnd() % 3);
            if (rnd() % 4 != 0) { /* mostly the right length, so the MAC is checked */
                len = proto_payload_length(fn, payload, 1);
            }
            uint32_t fv = rnd() % 4 == 0 ? r->aggregator_fv : ++r->aggregator_fv;
            uint16_t id = PROTO_ID(fn, rnd() % 8 == 0 ? 0 : 1);
            const uint8_t *key = PROTO_ID_NODE(id) == 0 ? r->id.group_key : r->id.meter_key;
            size_t n = secure_seal(key, id, payload, len, fv, body);
            uint32_t count = frames_segment(id, body, n, frames);
            if (rnd() % 3 == 0) {
                frames[rnd() % count].data[rnd() % 8] ^= (uint8_t)(1u << (rnd() % 8));
            }
            for (uint32_t k = 0; k < count; k++) {
                if (rnd() % 50 != 0) { /* sometimes a frame is lost */
                    (void)meter_on_can_rx(&r->meter, &frames[k]);
                }
            }
        } else if (what < 85) {
            rig_run(r, (double)(rnd() % 200) / 1000.0);
        } else if (what < 88) {
            (void)meter_log_event(&r->meter, (uint8_t)(rnd() % 5), meter_clock(&r->meter) - rnd() % 1000,
                                  rnd(), (uint16_t)rnd());
        } else {
            (void)rig_collect(r);
        }
        CHECK_MSG(r->meter.txq.count <= TXQ_LEN, "queue overflow at %u", i);
    }
    (void)rig_collect(r);
    rig_run(r, 0.2);
    const meter_counters_t *c = &r->meter.counters;
    CHECK_MSG(c->rejected_malformed > 0 && c->rejected_mac > 0 && c->rejected_stale > 0,
              "malformed %u, bad MAC %u, stale %u", c->rejected_malformed, c->rejected_mac,
              c->rejected_stale);
    CHECK(r->meter.nv.rx_fv > accepted_before); /* genuine commands got through */
    CHECK(r->frames_seen > 1000);
    CHECK_EQ_U(r->unverifiable, 0u); /* all it sent verifies, FVs strictly increasing */
    CHECK(meter_nv_valid(&r->store));
}
