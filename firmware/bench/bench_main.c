/*
 * bench_main.c - make -C firmware bench: the meter core on a Cortex-M3
 * under QEMU, counting the instructions the metrology spends on each second
 * of signal (both channels, windows, FFTs, half cycles, events), the worst
 * single DMA block, a secured SNAPSHOT answer, and the stack's depth.
 *
 * The signal is made on the target with integers (a DDS over the FFT's own
 * sine table): 230 V and 10 A at 49.95 Hz, PF 0.8, 8 % THD in five
 * harmonics up to the 39th on both channels, ADC noise of +-1 count, and a
 * dip to 50 % for 100 ms at 5 s. Only the meter's calls are counted.
 *
 * The results are checked (Vrms, Irms, P, f, THD, the dip), so the bench is
 * also a test of the core compiled for the target (soft float, 32-bit
 * longs): the program exits 1 if they are wrong or if the metrology needs
 * more than BUDGET_PERCENT of a 72 MHz Cortex-M3.
 */
#include "dsp_tables.h"
#include "harmonics.h"
#include "resample.h"
#include "meter.h"
#include "qemu_m3.h"

#define FS 6400u
#define SECONDS 10u
#define BLOCK 64u                 /* a DMA half-buffer */
#define CPU_HZ 72000000u
#define BUDGET_PERCENT 25u

static meter_t g_meter;
static adc_pair_t g_block[BLOCK];

/* sin(2 pi phase / 2^32) * 32767, from the quarter-wave table */
static int32_t dds_sin(uint32_t phase)
{
    uint32_t idx = phase >> 21;            /* 0..2047 */
    uint32_t q = idx & (DSP_SIN_QUARTER - 1u);
    int32_t v;
    switch (idx >> 9) {
    case 0: v = dsp_sin_q15[q]; break;
    case 1: v = dsp_sin_q15[DSP_SIN_QUARTER - q]; break;
    case 2: v = -dsp_sin_q15[q]; break;
    default: v = -dsp_sin_q15[DSP_SIN_QUARTER - q]; break;
    }
    return v;
}

typedef struct {
    uint32_t phase, step;
    uint32_t lcg;
    uint64_t n;
} gen_t;

static const uint8_t ORDERS[5] = {3, 11, 19, 27, 39};
/* 8 % / sqrt(5) of the fundamental each, in 1/32768 */
#define HARM_Q15 1172

static void fill(gen_t *g, adc_pair_t *b, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++, g->n++) {
        uint32_t th = g->phase;
        uint32_t ti = th - 0x1A1A1A1Au; /* current lags by ~36.9 degrees: PF 0.8 */
        int64_t v = (int64_t)dds_sin(th) * 32768;
        int64_t i = (int64_t)dds_sin(ti) * 32768;
        for (unsigned h = 0; h < 5; h++) {
            v += (int64_t)dds_sin(th * ORDERS[h] + 0x20000000u * h) * HARM_Q15;
            i += (int64_t)dds_sin(ti * ORDERS[h] + 0x31000000u * h) * HARM_Q15;
        }
        /* 230 V peak 325.3 V = 931 counts, 10 A peak = 620.6 counts */
        int32_t va = (g->n >= 5u * FS && g->n < 5u * FS + FS / 10u) ? 931 / 2 : 931;
        g->lcg = g->lcg * 1664525u + 1013904223u;
        int32_t nv = (int32_t)(g->lcg >> 30) - 1, ni = (int32_t)((g->lcg >> 28) & 3u) - 1;
        b[k].v = (uint16_t)(1865 + (int32_t)((v * va) >> 30) + nv);
        b[k].i = (uint16_t)(1859 + (int32_t)((i * 621) >> 30) + ni);
        g->phase += g->step;
    }
}

static void line(const char *label, uint64_t v, const char *unit)
{
    qm3_puts(label);
    qm3_put_u64(v);
    qm3_puts(unit);
}

static int check(const char *what, int ok)
{
    if (!ok) {
        qm3_puts("CHECK FAILED: ");
        qm3_puts(what);
        qm3_puts("\n");
    }
    return ok;
}

int main(void)
{
    qm3_init();

    /* a provisioned meter, so that it answers on CAN */
    static meter_identity_t id;
    static uint8_t page[CONFIG_PAGE_SIZE];
    id.node = 7;
    for (unsigned k = 0; k < SECURE_UID_SIZE; k++) {
        id.uid[k] = (uint8_t)(0x40 + k);
    }
    for (unsigned k = 0; k < SECURE_KEY_SIZE; k++) {
        id.meter_key[k] = (uint8_t)(k * 7u + 1u);
        id.group_key[k] = (uint8_t)(k * 5u + 3u);
    }
    config_page_build(&id, page);
    meter_config_t cfg;
    meter_config_default(&cfg);
    if (!meter_boot(&g_meter, &cfg, page, NULL)) {
        qm3_puts("boot failed\n");
        qm3_exit(0);
    }

    gen_t g = {0, 0, 12345u, 0};
    g.step = (uint32_t)(((uint64_t)4995u << 32) / (100u * FS)); /* 49.95 Hz */
    uint64_t feed = 0, worst = 0, snap = 0;
    uint32_t polls = 0, snap_frames = 0;
    can_frame_t rtr = {0};
    rtr.id = PROTO_ID(PROTO_FN_SNAPSHOT, id.node);
    rtr.dlc = 8u;
    rtr.flags = CAN_FLAG_RTR;
    for (uint32_t b = 0; b < SECONDS * FS / BLOCK; b++) {
        fill(&g, g_block, BLOCK);
        uint64_t t0 = qm3_instructions();
        (void)meter_feed(&g_meter, g_block, BLOCK);
        uint64_t t1 = qm3_instructions();
        feed += t1 - t0;
        if (t1 - t0 > worst) {
            worst = t1 - t0;
        }
        (void)meter_nv_take_dirty(&g_meter);
        if (b % (FS / BLOCK) == FS / BLOCK - 1u) {
            /* once a second: a SNAPSHOT poll, answered with a secured record */
            can_frame_t f;
            uint64_t s0 = qm3_instructions();
            (void)meter_on_can_rx(&g_meter, &rtr);
            while (meter_can_tx_pop(&g_meter, &f)) {
                snap_frames++;
            }
            snap += qm3_instructions() - s0;
            polls++;
        }
    }

    uint64_t per_s = feed / SECONDS;
    uint64_t permille = per_s * 1000u / CPU_HZ;
    qm3_puts("meter core on a Cortex-M3 (QEMU lm3s6965evb, -icount shift=0)\n");
    line("  signal: ", SECONDS, " s at 6400 Hz, 2 channels, 8 % THD, one dip\n");
    line("  metrology instructions per second of signal: ", per_s, "\n");
    qm3_puts("  share of a 72 MHz Cortex-M3 at 1 instruction per cycle: ");
    qm3_put_fixed((int64_t)permille, 1);
    qm3_puts(" %\n");
    line("  worst 64-sample block (10 ms of signal): ", worst, " instructions\n");
    line("  SNAPSHOT answer (HMAC-SHA256, 6 frames): ", polls ? snap / polls : 0, " instructions\n");
    line("  stack high-water mark: ", qm3_stack_used(), " bytes\n");

    /* the parts of one window's harmonic analysis, on the last window */
    {
        mtr_t *m = &g_meter.mtr;
        uint64_t start = (m->window.t_start + 20u) << 32;
        uint64_t len = (uint64_t)(1281.3 * 4294967296.0);
        uint64_t a0 = qm3_instructions();
        rs_window(m->ring_v, MTR_RING_MASK, start, len / FFT_N, 0, 72, FFT_INPUT_MAX, m->work, FFT_N);
        uint64_t a1 = qm3_instructions();
        fft_real_2048(m->work);
        uint64_t a2 = qm3_instructions();
        harm_result_t r;
        harm_analyse(m->ring_v, MTR_RING_MASK, start, len, 0, 931, m->work, &r);
        uint64_t a3 = qm3_instructions();
        line("  one channel: resampling to 2048 points ", a1 - a0, " instructions, ");
        line("FFT ", a2 - a1, ", ");
        line("whole THD ", a3 - a2, "\n");
    }

    const meter_window_t *w = meter_last_window(&g_meter);
    int ok = check("windows", w != NULL && g_meter.seq >= 45u);
    if (w != NULL) {
        qm3_puts("  last window: ");
        qm3_put_fixed((int64_t)((double)w->vrms * 100.0), 2);
        qm3_puts(" V, ");
        qm3_put_fixed((int64_t)((double)w->irms * 1000.0), 3);
        qm3_puts(" A, ");
        qm3_put_fixed((int64_t)w->p_mw, 3);
        qm3_puts(" W, ");
        qm3_put_fixed((int64_t)((double)w->frequency_hz * 10000.0), 4);
        qm3_puts(" Hz, THD ");
        qm3_put_fixed((int64_t)((double)w->thd_v * 1000.0), 3);
        qm3_puts(" % / ");
        qm3_put_fixed((int64_t)((double)w->thd_i * 1000.0), 3);
        qm3_puts(" %\n");
        /* 931 counts peak = 325.3 V: 230.0 V * 1.0032 (harmonics) */
        ok &= check("vrms", w->vrms > 230.0f && w->vrms < 231.2f);
        ok &= check("irms", w->irms > 9.95f && w->irms < 10.1f);
        ok &= check("frequency", w->frequency_hz > 49.948f && w->frequency_hz < 49.952f);
        ok &= check("thd", (w->flags & (MTR_WF_THD_V | MTR_WF_THD_I)) == (MTR_WF_THD_V | MTR_WF_THD_I) &&
                               w->thd_v > 7.9f && w->thd_v < 8.1f && w->thd_i > 7.9f && w->thd_i < 8.1f);
        ok &= check("p", w->p > 1830.0f && w->p < 1870.0f);
    }
    ok &= check("one dip", g_meter.events_total == 1u && g_meter.events[0].kind == PROTO_EVENT_DIP &&
                               g_meter.events[0].duration_ms >= 95u && g_meter.events[0].duration_ms <= 105u);
    ok &= check("polls answered", polls == SECONDS && snap_frames == 6u * SECONDS);
    ok &= check("budget", permille <= BUDGET_PERCENT * 10u);
    qm3_puts(ok ? "bench: ok\n" : "bench: FAILED\n");
    qm3_exit(ok);
}
