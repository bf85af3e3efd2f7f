/*
 * test_eeprom.c - the EEPROM emulation (core/eeprom_emul.c) against a
 * simulated flash (flash_sim.c) that loses power in the middle of any
 * program or erase. The sweeps cut every operation of a meter's life in
 * turn (then every operation of the recovery after it), power on again and
 * check what the store mounts: nothing committed is ever lost, a key is
 * only ever its last committed value or the one being written at the cut,
 * and the freshness counter never goes back.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "eeprom_emul.h"
#include "flash_sim.h"
#include "tests.h"
#include "tharness.h"

enum { K_NV = 0, K_CFG = 1, K_CAL = 2, KEYS_USED = 3 };
#define NV_LEN 24u
#define CFG_LEN 88u
#define CAL_LEN 20u

typedef struct {
    bool present;
    uint16_t len;
    uint8_t d[EE_DATA_MAX];
} val_t;

typedef struct {
    fsim_t f;
    ee_t ee;
    val_t committed[KEYS_USED];
    /* every value written since the last commit of the key, whose write
     * was cut: any of them may read back (torn records read unreliably) */
    val_t inflight[KEYS_USED][8];
    unsigned n_inflight[KEYS_USED];
    unsigned bad;
    char why[100];
} world_t;

/* The NV-like blob: freshness reservation, energy (ticks), boots, CRC. */
static uint32_t nv_fv(const uint8_t *d) { uint32_t v; memcpy(&v, d, 4); return v; }
static uint64_t nv_energy(const uint8_t *d) { uint64_t v; memcpy(&v, d + 8, 8); return v; }

static val_t nv_make(uint32_t fv, uint64_t energy, uint32_t boots)
{
    val_t v = {true, NV_LEN, {0}};
    memcpy(v.d, &fv, 4);
    memcpy(v.d + 8, &energy, 8);
    memcpy(v.d + 16, &boots, 4);
    uint32_t crc = crc32_ieee(v.d, 20);
    memcpy(v.d + 20, &crc, 4);
    return v;
}

static bool nv_ok(const uint8_t *d)
{
    uint32_t crc;
    memcpy(&crc, d + 20, 4);
    return crc == crc32_ieee(d, 20);
}

static void fold(void *ctx, uint8_t key, uint8_t *data, uint16_t len, const uint16_t ticks[EE_TICK_KINDS])
{
    (void)ctx;
    if (key == K_NV && len == NV_LEN) {
        uint32_t boots;
        memcpy(&boots, data + 16, 4);
        val_t v = nv_make(nv_fv(data), nv_energy(data) + ticks[0], boots);
        memcpy(data, v.d, NV_LEN);
    }
}

static val_t blob(uint16_t len, uint8_t tag)
{
    val_t v = {true, len, {0}};
    for (unsigned k = 0; k < len; k++) {
        v.d[k] = (uint8_t)(tag * 31u + k);
    }
    return v;
}

static void world_init(world_t *w, uint32_t seed)
{
    memset(w, 0, sizeof *w);
    fsim_init(&w->f, EE_KEYS + 2u, 256, seed);
}

static void bad(world_t *w, const char *why)
{
    if (w->bad++ == 0) {
        snprintf(w->why, sizeof w->why, "%s", why);
    }
}

static bool same(const val_t *v, const uint8_t *d, uint16_t len)
{
    return v->present && v->len == len && memcmp(v->d, d, len) == 0;
}

/* Mounts and checks every key against the model. */
static void w_mount(world_t *w)
{
    if (!ee_mount(&w->ee, &w->f.ops_if, fold, NULL)) {
        bad(w, "mount refused");
        return;
    }
    if (w->f.off) {
        return; /* cut while killing a torn record: the program never ran */
    }
    for (unsigned k = 0; k < KEYS_USED; k++) {
        uint16_t len = 0;
        const uint8_t *d = ee_get(&w->ee, (uint8_t)k, &len);
        const val_t *c = &w->committed[k];
        bool inflight = false;
        for (unsigned j = 0; j < w->n_inflight[k] && d != NULL; j++) {
            inflight = inflight || same(&w->inflight[k][j], d, len);
        }
        if (d == NULL) {
            if (c->present) {
                char m[100];
                snprintf(m, sizeof m, "committed key %u is gone at mount %u (ops %llu)", k,
                         w->ee.stats.mounts, (unsigned long long)w->f.ops);
                bad(w, m);
            }
            continue;
        }
        if (!inflight && !same(c, d, len)) {
            bad(w, "a key is neither its committed value nor the one in flight");
        }
        if (k == K_NV && (!nv_ok(d) || (c->present && (nv_fv(d) < nv_fv(c->d) ||
                                                       nv_energy(d) < nv_energy(c->d))))) {
            bad(w, "the freshness counter or the energy went back");
        }
    }
}

static bool w_write(world_t *w, uint8_t key, bool tick, val_t v)
{
    if (w->f.off) {
        return false;
    }
    if (w->n_inflight[key] < 8u) {
        w->inflight[key][w->n_inflight[key]++] = v;
    } else {
        bad(w, "too many cut writes");
    }
    bool ok = tick ? ee_tick(&w->ee, key, 0, v.d, v.len) : ee_put(&w->ee, key, v.d, v.len);
    if (ok) {
        w->committed[key] = v;
        w->n_inflight[key] = 0;
    } else if (!w->f.off) {
        bad(w, "a write failed with the power on");
    }
    return ok;
}

#define LIFE_STEPS 300u

/* Boot, configuration, calibration, then energy ticks and freshness
 * reservations, with the calibration and configuration rewritten once. */
static void life(world_t *w)
{
    w_mount(w);
    if (!w_write(w, K_CFG, false, blob(CFG_LEN, 1)) || !w_write(w, K_CAL, false, blob(CAL_LEN, 2)) ||
        !w_write(w, K_NV, false, nv_make(256, 0, 1))) {
        return;
    }
    uint32_t fv = 256;
    uint64_t e = 0;
    for (uint32_t i = 0; i < LIFE_STEPS; i++) {
        bool ok;
        if (i % 9u == 4u) {
            fv += 256u;
            ok = w_write(w, K_NV, false, nv_make(fv, e, 1));
        } else {
            e++;
            ok = w_write(w, K_NV, true, nv_make(fv, e, 1));
        }
        if (ok && i == 50u) {
            ok = w_write(w, K_CAL, false, blob(CAL_LEN, 3));
        }
        if (ok && i == 200u) {
            ok = w_write(w, K_CFG, false, blob(CFG_LEN, 4));
        }
        if (!ok) {
            return;
        }
    }
}

/* After a power-up: mount, and the boot's write of the NV blob (boots + 1,
 * a new reservation above the mounted one, as meter_boot does). */
static void recover(world_t *w, uint64_t cut)
{
    fsim_power_on(&w->f, cut);
    w_mount(w);
    if (w->f.off) {
        return;
    }
    uint16_t len = 0;
    const uint8_t *d = ee_get(&w->ee, K_NV, &len);
    val_t next = d != NULL ? nv_make(nv_fv(d) + 256u, nv_energy(d) + 1u, 2) : nv_make(256, 1, 2);
    if (!w_write(w, K_NV, false, next)) {
        return;
    }
    w_mount(w);
}

/* Powered for good: mounts twice (torn cells read differently each time),
 * writes, and the write must be what the next mounts see. */
static void final_checks(world_t *w)
{
    fsim_power_on(&w->f, 0);
    w_mount(w);
    w_mount(w);
    uint16_t len = 0;
    const uint8_t *d = ee_get(&w->ee, K_NV, &len);
    val_t next = d != NULL ? nv_make(nv_fv(d) + 256u, nv_energy(d), 3) : nv_make(512, 0, 3);
    if (!w_write(w, K_NV, false, next)) {
        return;
    }
    for (int k = 0; k < 3; k++) {
        w_mount(w);
        d = ee_get(&w->ee, K_NV, &len);
        if (d == NULL || !same(&next, d, len)) {
            bad(w, "the write after recovery did not stick");
        }
    }
}

void test_eeprom_basics(void)
{
    static fsim_t f;
    static ee_t ee;
    fsim_init(&f, EE_KEYS + 2u, 256, 1);
    ee_flash_t tiny = f.ops_if;
    tiny.page_size = 128; /* cannot hold two of the largest records */
    CHECK(!ee_mount(&ee, &tiny, NULL, NULL));
    tiny = f.ops_if;
    tiny.pages = EE_KEYS + 1u;
    CHECK(!ee_mount(&ee, &tiny, NULL, NULL));
    CHECK(ee_mount(&ee, &f.ops_if, fold, NULL));
    CHECK(ee_get(&ee, K_NV, NULL) == NULL);
    uint8_t big[EE_DATA_MAX + 1] = {0};
    CHECK(!ee_put(&ee, K_NV, big, EE_DATA_MAX + 1));
    CHECK(!ee_put(&ee, EE_KEYS, big, 4));
    /* many writes wrap the pages many times; the other keys stay */
    val_t cfg = blob(CFG_LEN, 9);
    CHECK(ee_put(&ee, K_CFG, cfg.d, cfg.len));
    uint64_t e = 0;
    for (uint32_t i = 0; i < 2000u; i++) {
        val_t v = nv_make(i / 50u, ++e, 1);
        CHECK_MSG(ee_tick(&ee, K_NV, 0, v.d, v.len) || i % 50u == 0u, "tick %u", i);
        if (i % 50u == 0u) {
            CHECK(ee_put(&ee, K_NV, v.d, v.len));
        }
    }
    CHECK(ee_mount(&ee, &f.ops_if, fold, NULL));
    uint16_t len = 0;
    const uint8_t *d = ee_get(&ee, K_NV, &len);
    CHECK(d != NULL && len == NV_LEN && nv_energy(d) == e && nv_ok(d));
    d = ee_get(&ee, K_CFG, &len);
    CHECK(d != NULL && same(&cfg, d, len));
    /* ticks cost 4 bytes: far fewer erases than whole records */
    CHECK(ee.stats.ticks > 1000u && ee.stats.mounts == 2u);
    uint32_t erases = 0;
    for (unsigned p = 0; p < EE_KEYS + 2u; p++) {
        erases += f.erase_count[p];
    }
    CHECK_MSG(erases < 2000u * 36u / 256u / 2u, "%u erases", erases);
    /* the configuration's page is never erased while it is current */
    CHECK(ee.key[K_CFG].present);
}

/* Runs life with a cut at operation c, recovery with a cut at c2 (0: none),
 * then the final checks. Returns the number of violations. */
static unsigned run_cut(uint64_t c, uint64_t c2, uint32_t seed, char *why, size_t n)
{
    static world_t w;
    world_init(&w, seed);
    fsim_power_on(&w.f, c);
    life(&w);
    recover(&w, c2);
    final_checks(&w);
    if (w.bad > 0u) {
        snprintf(why, n, "%s", w.why);
    }
    return w.bad;
}

void test_eeprom_power_cut_sweep(void)
{
    static world_t w;
    world_init(&w, 7);
    life(&w);
    uint64_t total = w.f.ops;
    CHECK(w.bad == 0u);
    CHECK_MSG(total > 500u, "%llu operations in a life", (unsigned long long)total);
    unsigned violations = 0, runs = 0;
    char why[256] = "";
    for (uint32_t seed = 1; seed <= 4u; seed++) {
        for (uint64_t c = 1; c <= total; c++) {
            char w1[120];
            unsigned b = run_cut(c, 0, seed * 7919u + (uint32_t)c, w1, sizeof w1);
            runs++;
            if (b > 0u && violations++ == 0u) {
                snprintf(why, sizeof why, "cut %llu seed %u: %s", (unsigned long long)c, seed, w1);
            }
        }
    }
    CHECK_MSG(violations == 0u, "%u of %u runs: first %s", violations, runs, why);
    printf("  eeprom: a life of %llu flash operations, cut at each of them with 4 seeds: %u runs\n",
           (unsigned long long)total, runs);
}

/* A second cut during the recovery from the first (killing the torn
 * record, the boot's write, a page erase). */
void test_eeprom_double_cut_sweep(void)
{
    static world_t w, probe;
    world_init(&w, 3);
    life(&w);
    uint64_t total = w.f.ops;
    unsigned violations = 0, runs = 0;
    char why[256] = "";
    for (uint64_t c = 1; c <= total; c++) {
        world_init(&probe, 11u + (uint32_t)c);
        fsim_power_on(&probe.f, c);
        life(&probe);
        uint64_t before = probe.f.ops;
        recover(&probe, 0);
        uint64_t rec_ops = probe.f.ops - before;
        for (uint64_t c2 = 1; c2 <= rec_ops + 1u; c2++) {
            char w1[120];
            unsigned b = run_cut(c, c2, 11u + (uint32_t)c, w1, sizeof w1);
            runs++;
            if (b > 0u && violations++ == 0u) {
                snprintf(why, sizeof why, "cuts %llu, %llu: %s", (unsigned long long)c,
                         (unsigned long long)c2, w1);
            }
        }
    }
    CHECK_MSG(runs > 1000u, "%u runs", runs);
    CHECK_MSG(violations == 0u, "%u of %u runs: first %s", violations, runs, why);
    printf("  eeprom: every cut of the life, then every cut of the recovery after it: %u runs\n", runs);
}
