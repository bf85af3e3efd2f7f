/*
 * test_adc_halves.c - the ADC double buffer's hand-over (board/stm32f107/
 * adc_halves.h) against a simulated circular DMA: the main loop, late by
 * up to several halves, only ever reads a half the DMA is not writing, and
 * every half it does not get is counted as an overrun, exactly once.
 */
#include "adc_halves.h"
#include "tests.h"
#include "tharness.h"

#define HALF 512u

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

void test_adc_halves_rules(void)
{
    /* CNDTR counts down 1024..1: 1024..513 left is the first half */
    CHECK_EQ_U(adc_dma_half(2u * HALF, HALF), 0u);
    CHECK_EQ_U(adc_dma_half(HALF + 1u, HALF), 0u);
    CHECK_EQ_U(adc_dma_half(HALF, HALF), 1u);
    CHECK_EQ_U(adc_dma_half(1u, HALF), 1u);
    CHECK_EQ_U(adc_dma_half(0u, HALF), 0u);

    uint32_t ov = 0;
    CHECK_EQ_U(adc_halves_done(0u, 1u, &ov), 1u);
    CHECK_EQ_U(adc_halves_done(1u, 2u, &ov), 3u);
    CHECK_EQ_U(ov, 0u);
    CHECK_EQ_U(adc_halves_done(1u, 1u, &ov), 1u); /* again before released */
    CHECK_EQ_U(ov, 1u);
    CHECK_EQ_U(adc_halves_done(3u, 3u, &ov), 3u); /* both, in one late interrupt */
    CHECK_EQ_U(ov, 3u);

    /* Both ready after transfer complete: the DMA refills half 0, take half 1. */
    uint32_t ready = 3u;
    ov = 0;
    CHECK_EQ_U(adc_halves_take(&ready, 0u, &ov), 2u);
    CHECK_EQ_U(ready, 2u);
    CHECK_EQ_U(ov, 1u);
    /* Both ready after half transfer: the DMA refills half 1, take half 0. */
    ready = 3u;
    CHECK_EQ_U(adc_halves_take(&ready, 1u, &ov), 1u);
    CHECK_EQ_U(ready, 1u);
    CHECK_EQ_U(ov, 2u);
    /* Only the half being written is ready (its successor's flag not yet
     * raised): nothing to take, and that half is lost. */
    ready = 1u;
    CHECK_EQ_U(adc_halves_take(&ready, 0u, &ov), 0u);
    CHECK_EQ_U(ready, 0u);
    CHECK_EQ_U(ov, 3u);
    /* The normal case: one ready half, the DMA in the other. */
    ready = 2u;
    CHECK_EQ_U(adc_halves_take(&ready, 0u, &ov), 2u);
    CHECK_EQ_U(ready, 2u);
    CHECK_EQ_U(ov, 3u);
    ready = 0u;
    CHECK_EQ_U(adc_halves_take(&ready, 1u, &ov), 0u);
    CHECK_EQ_U(ov, 3u);
}

/* One sample per step: the DMA writes the sample's number into the buffer
 * and raises the half and full flags, whose handler runs at once. The main
 * loop takes at random times (now and then a half or more late), reads the
 * half at once and holds it for less than the DMA needs to come back to it. */
void test_adc_halves_simulated_dma(void)
{
    static uint32_t buf[2u * HALF];
    uint32_t seed = 12345u;
    uint32_t cndtr = 2u * HALF, ready = 0, taken = 0, overruns = 0;
    uint32_t completions = 0, halves_read = 0, late_takes = 0, next = 0, release = 0;
    uint32_t bad_half = 0, torn = 0, miscounted = 0;
    int64_t last = -1; /* the number of the last sample read */
    uint32_t counted = 0; /* overruns when it was read */
    for (uint32_t t = 0; t < 2000u * HALF; t++) {
        /* the DMA */
        buf[2u * HALF - cndtr] = t;
        cndtr--;
        uint32_t done = cndtr == HALF ? 1u : 0u;
        if (cndtr == 0u) {
            cndtr = 2u * HALF;
            done = 2u;
        }
        if (done != 0u) {
            completions++;
            ready = adc_halves_done(ready, done, &overruns);
        }
        /* the main loop */
        if (taken != 0u) {
            if (t >= release) {
                ready &= ~taken;
                taken = 0;
            }
            continue;
        }
        if (t < next) {
            continue;
        }
        uint32_t writing = adc_dma_half(cndtr, HALF);
        uint32_t both = ready == 3u;
        uint32_t take = adc_halves_take(&ready, writing, &overruns);
        if (take == 0u) {
            next = t + 1u + lcg(&seed) % 64u;
            continue;
        }
        late_takes += both;
        uint32_t h = take >> 1;
        bad_half += h == writing;
        const uint32_t *s = &buf[h * HALF];
        for (uint32_t k = 1; k < HALF; k++) {
            torn += s[k] != s[0] + k;
        }
        /* nothing lost silently: the gap since the last half read is the
         * halves counted as overruns meanwhile */
        miscounted += (int64_t)s[0] != last + 1 + (int64_t)(overruns - counted) * (int64_t)HALF;
        last = (int64_t)s[HALF - 1u];
        counted = overruns;
        halves_read++;
        taken = take;
        /* released before the DMA, now in the other half, comes back */
        uint32_t left = writing == 0u ? cndtr - HALF : cndtr;
        release = t + lcg(&seed) % left;
        /* the next take: mostly within a half, one in eight 1 to 4 halves late */
        next = release + ((lcg(&seed) & 7u) == 0u ? HALF + lcg(&seed) % (3u * HALF) : lcg(&seed) % HALF);
    }
    CHECK_EQ_U(bad_half, 0u);
    CHECK_EQ_U(torn, 0u);
    CHECK_EQ_U(miscounted, 0u);
    /* every half completed is read, lost (an overrun) or ready still */
    uint32_t pending = ready & ~taken;
    CHECK_EQ_U(halves_read + overruns + (pending & 1u) + (pending >> 1), completions);
    CHECK(late_takes > 50u);
    CHECK(overruns > 100u);
    CHECK(halves_read > 500u);
    printf("  adc halves: %u completed, %u read, %u lost as overruns (%u takes with both ready)\n",
           (unsigned)completions, (unsigned)halves_read, (unsigned)overruns, (unsigned)late_takes);
}
