/*
 * test_dsp.c - the signal processing blocks on their own: generated tables,
 * FFT, resampler, harmonic subgroups, the fundamental's crossings and the
 * 10-second frequency, Urms(1/2) and the event detectors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp_design.h"
#include "fft.h"
#include "fundamental.h"
#include "halfcycle.h"
#include "harmonics.h"
#include "resample.h"
#include "tests.h"
#include "tharness.h"

#define PI 3.14159265358979323846
#define RING (1u << 13)
#define MASK (RING - 1u)

static int16_t g_ring[RING];
static int16_t g_work[FFT_N];

void test_dsp_tables(void)
{
    /* the committed dsp_tables.c is what gen_tables computes */
    static int16_t sin_q15[DSP_SIN_QUARTER + 1];
    static int16_t taps[RS_PHASES + 1][RS_TAPS];
    dsp_design_sin(sin_q15);
    dsp_design_taps(taps);
    CHECK(memcmp(sin_q15, dsp_sin_q15, sizeof sin_q15) == 0);
    CHECK(memcmp(taps, rs_taps, sizeof taps) == 0);
    CHECK_EQ_I(dsp_sin_q15[0], 0);
    CHECK_EQ_I(dsp_sin_q15[DSP_SIN_QUARTER], 32767);
    for (int p = 0; p <= RS_PHASES; p++) {
        int sum = 0;
        for (int t = 0; t < RS_TAPS; t++) {
            sum += rs_taps[p][t];
        }
        CHECK_EQ_I(sum, 1 << RS_Q);
    }
    /* phase 0 is the sample itself, the last one the next sample */
    CHECK_EQ_I(rs_taps[0][RS_BEFORE], 1 << RS_Q);
    CHECK_EQ_I(rs_taps[RS_PHASES][RS_BEFORE + 1], 1 << RS_Q);
}

static uint32_t g_lcg = 99u;
static int rnd(int span)
{
    g_lcg = g_lcg * 1664525u + 1013904223u;
    return (int)((g_lcg >> 8) % (uint32_t)(2 * span + 1)) - span;
}

void test_dsp_fft(void)
{
    static double xd[FFT_N];
    /* a tone, a small one near the top, noise: against a double DFT */
    for (uint32_t n = 0; n < FFT_N; n++) {
        double v = 16000.0 * sin(2.0 * PI * 10.0 * n / FFT_N + 0.3) + 700.0 * sin(2.0 * PI * 401.0 * n / FFT_N + 1.0) +
                   rnd(300);
        xd[n] = floor(v + 0.5);
        g_work[n] = (int16_t)xd[n];
    }
    fft_real_2048(g_work);
    double worst = 0.0;
    for (uint32_t k = 1; k < FFT_N / 2u; k += 7u) {
        double re = 0.0, im = 0.0;
        for (uint32_t n = 0; n < FFT_N; n++) {
            re += xd[n] * cos(2.0 * PI * k * n / FFT_N);
            im -= xd[n] * sin(2.0 * PI * k * n / FFT_N);
        }
        re /= FFT_N;
        im /= FFT_N;
        worst = fmax(worst, hypot(re - g_work[2 * k], im - g_work[2 * k + 1]));
    }
    CHECK_MSG(worst < 2.5, "FFT off the DFT by %.2f units", worst);
    /* the tone's bin reads half its amplitude */
    CHECK_NEAR(hypot(g_work[20], g_work[21]), 8000.0, 3.0);
    CHECK_NEAR(hypot(g_work[802], g_work[803]), 350.0, 3.0);
    double dc = 0.0, ny = 0.0;
    for (uint32_t n = 0; n < FFT_N; n++) {
        dc += xd[n];
        ny += (n & 1u) ? -xd[n] : xd[n];
    }
    CHECK_NEAR(g_work[0], dc / FFT_N, 1.5);
    CHECK_NEAR(g_work[1], ny / FFT_N, 1.5);
    /* full-scale inputs do not overflow: a square wave at the limit */
    for (uint32_t n = 0; n < FFT_N; n++) {
        g_work[n] = (int16_t)((n / 64u) % 2u ? -FFT_INPUT_MAX : FFT_INPUT_MAX);
    }
    fft_real_2048(g_work);
    /* fundamental of a square wave: 4/pi of its height, halved */
    CHECK_NEAR(hypot(g_work[2 * 16], g_work[2 * 16 + 1]), FFT_INPUT_MAX * 2.0 / PI, 4.0);
    CHECK_REL(hypot(g_work[2 * 48], g_work[2 * 48 + 1]), FFT_INPUT_MAX * 2.0 / PI / 3.0, 2e-3);
}

/* Fills the ring with a band-limited signal: sum of (amplitude, cycles per
 * sample, phase) from sample 0. */
static void fill_ring(uint32_t n, const double (*c)[3], int nc)
{
    for (uint32_t k = 0; k < n; k++) {
        double v = 0.0;
        for (int j = 0; j < nc; j++) {
            v += c[j][0] * sin(2.0 * PI * c[j][1] * k + c[j][2]);
        }
        g_ring[k & MASK] = (int16_t)floor(v + 0.5);
    }
}

void test_dsp_resample(void)
{
    /* a constant is exact at every phase */
    for (uint32_t k = 0; k < 64; k++) {
        g_ring[k] = 1234;
    }
    for (uint64_t pos = (uint64_t)10 << 32; pos < (uint64_t)40 << 32; pos += 123456789u) {
        CHECK_EQ_I(rs_value(g_ring, MASK, pos), 1234 << RS_Q);
    }
    /* tones up to 0.36 of the rate between the samples: within 0.2 % of
     * their amplitude (the kernel's ripple) plus the samples' rounding */
    static const double f[] = {0.0078, 0.1, 0.25, 0.36};
    for (size_t j = 0; j < 4; j++) {
        const double tone[1][3] = {{1500.0, f[j], 0.4}};
        fill_ring(2000, tone, 1);
        double worst = 0.0;
        for (uint32_t k = 0; k < 300; k++) {
            double t = 100.0 + k * 3.7137;
            uint64_t pos = (uint64_t)(t * 4294967296.0);
            double got = (double)rs_value(g_ring, MASK, pos) / (1 << RS_Q);
            double want = 1500.0 * sin(2.0 * PI * f[j] * t + 0.4);
            worst = fmax(worst, fabs(got - want));
        }
        CHECK_MSG(worst < 0.002 * 1500.0 + 0.7, "tone %.4f: off by %.2f counts of 1500", f[j], worst);
    }
}

void test_dsp_harmonics(void)
{
    /* 10 cycles at 50 Hz in 6400 Hz samples, not locked (10 cycles =
     * 1276.3 samples): 2 % of the 3rd, 1 % of the 25th, 1.5 % of the 40th,
     * and an interharmonic (7.5th) of 1 % that must not count */
    const double f0 = 50.14 / 6400.0;
    const double c[5][3] = {
        {1000.0, f0, 0.2}, {20.0, 3 * f0, 1.0}, {10.0, 25 * f0, 2.0}, {15.0, 40 * f0, 0.5}, {10.0, 7.5 * f0, 0.1},
    };
    fill_ring(3000, c, 5);
    double period = 1.0 / f0;
    uint64_t start = (uint64_t)(200.0 * 4294967296.0);
    uint64_t len = (uint64_t)(10.0 * period * 4294967296.0);
    harm_result_t r;
    harm_analyse(g_ring, MASK, start, len, 0, 1030, g_work, &r);
    CHECK(r.valid);
    CHECK_NEAR(r.fundamental, 1000.0, 0.5);
    CHECK_NEAR(r.thd_pct, 100.0 * sqrt(0.02 * 0.02 + 0.01 * 0.01 + 0.015 * 0.015), 0.01);
    double g[HARM_MAX_ORDER + 1u];
    harm_subgroups(g_work, g);
    CHECK_NEAR(sqrt(g[40] / g[1]), 0.015, 1e-4); /* the 40th: beyond any 256-point FFT */
    CHECK_NEAR(sqrt(g[7] / g[1]), 0.0, 1e-3);
    /* too small a fundamental: not measured */
    const double tiny[1][3] = {{8.0, f0, 0.0}};
    fill_ring(3000, tiny, 1);
    harm_analyse(g_ring, MASK, start, len, 0, 9, g_work, &r);
    CHECK(!r.valid);
}

void test_dsp_fundamental(void)
{
    /* 49.87 Hz with a 39th harmonic of 3.6 %: the crossings, delay removed,
     * are those of the fundamental within 0.01 sample */
    static fz_t z;
    fz_init(&z, 16u, 16u);
    const double f = 49.87 / 6400.0, ph = 0.3;
    double worst = 0.0;
    uint32_t rising = 0;
    for (uint64_t n = 0; n < 20000u; n++) {
        double th = 2.0 * PI * f * (double)n + ph;
        double v = 900.0 * sin(th) + 900.0 * 0.036 * sin(39.0 * th + 1.0) + 37.0;
        g_ring[n & MASK] = (int16_t)floor(v + 0.5);
        uint64_t t;
        fz_kind_t k = fz_step(&z, g_ring, MASK, n, 37 * 256, &t);
        if (k == FZ_NONE) {
            continue;
        }
        /* the fundamental crosses where th is a multiple of pi */
        double tt = (double)t / 65536.0;
        double cyc = (2.0 * PI * f * tt + ph) / PI;
        double err = (cyc - floor(cyc + 0.5)) / (2.0 * f);
        worst = fmax(worst, fabs(err));
        rising += k == FZ_RISING;
        CHECK((k == FZ_RISING) == (((long)floor(cyc + 0.5)) % 2 == 0));
    }
    CHECK_MSG(worst < 0.02, "a crossing is %.4f samples off", worst);
    CHECK(rising >= 154u && rising <= 156u);
    /* the period through the crossings */
    uint64_t first;
    double period;
    uint32_t n = fz_period(&z, (uint64_t)18000u << 16, (uint64_t)20000u << 16, &first, &period);
    CHECK(n >= 15u && n <= 16u);
    CHECK_REL(period, 1.0 / f, 1e-6);
    CHECK(fz_horizon_q16(&z, 20000u) < ((uint64_t)20000u << 16));
}

void test_dsp_frequency_10s(void)
{
    f10_t f;
    f10_init(&f, 6400u, 1000u);
    /* crossings every 128.2 samples from sample 0: the first interval
     * starts at 1000 and ends at 65000 */
    uint32_t produced = 0;
    for (int k = 0; k < 1100; k++) {
        uint64_t t = (uint64_t)(k * 128.2 * 65536.0);
        produced += f10_crossing(&f, t);
    }
    CHECK_EQ_U(produced, 2u);
    CHECK_EQ_U(f.seq, 2u);
    CHECK_NEAR(f.value_hz, 6400.0 / 128.2, 1e-4);
    /* a new clock drops the interval in progress */
    f10_align(&f, (uint64_t)(1100 * 128.2) + 10000u);
    for (int k = 1100; k < 1500; k++) {
        produced += f10_crossing(&f, (uint64_t)(k * 128.2 * 65536.0));
    }
    CHECK_EQ_U(produced, 2u);
}

/* Urms(1/2) through hc_boundary on a synthetic 50 Hz sine with a dip. */
void test_dsp_half_cycles(void)
{
    static hc_t h;
    hc_init(&h);
    /* thresholds in counts: 230 V = 658 counts r.m.s. */
    const double udin = 658.0;
    hc_set_thresholds(&h, 0.9 * udin, 1.1 * udin, 0.02 * udin, 0.05 * udin);
    const double T = 128.0;                   /* samples per cycle */
    const double t0 = 40.0 * T + 37.3, t1 = t0 + 5.0 * T; /* a dip to 50 % */
    hc_event_t ev[HC_DETECTORS];
    uint32_t total = 0;
    hc_event_t got = {0};
    uint64_t next_b = 0;
    for (uint64_t n = 0; n < 100u * 128u; n++) {
        double a = (n >= t0 && n < t1) ? 0.5 : 1.0;
        g_ring[n & MASK] = (int16_t)floor(a * udin * sqrt(2.0) * sin(2.0 * PI * n / T) + 0.5);
        if (n == next_b + 1u) {
            /* the boundary a half period on: exact crossings of the sine */
            uint32_t k = hc_boundary(&h, g_ring, MASK, next_b << 16, ev);
            for (uint32_t j = 0; j < k; j++) {
                got = ev[j];
                total++;
            }
            next_b += 64u;
        }
    }
    CHECK_EQ_U(total, 1u);
    CHECK_EQ_U(got.which, HC_DIP);
    CHECK_NEAR(got.start, t0, 0.25 * T);
    CHECK_NEAR(got.duration, t1 - t0, 0.3 * T);
    CHECK_NEAR(got.extreme, 0.5 * udin, 1.0);
    CHECK(hc_flagged(&h, (uint64_t)t0, (uint64_t)t0 + 10u));
    CHECK(!hc_flagged(&h, (uint64_t)t1 + 300u, (uint64_t)t1 + 1000u));
    CHECK(!hc_flagged(&h, 0u, (uint64_t)t0 - 300u));
}
