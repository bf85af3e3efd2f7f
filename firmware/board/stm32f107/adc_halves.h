/*
 * adc_halves.h - the hand-over of the ADC's circular DMA buffer (two
 * halves) between the DMA interrupt and the main loop, as pure functions:
 * board.c passes them its flags and the DMA's count, the host tests
 * (host/test_adc_halves.c) a simulated DMA. static inline, so that the
 * RAM interrupt handler that uses them calls nothing in flash.
 *
 * ready: bit h (h = 0, 1) set while half h holds samples the main loop
 * has not released. In circular mode (RM0008 13.3.5) the DMA fills half 0,
 * then half 1, then half 0 again: once a half completes, the other one is
 * being overwritten.
 */
#ifndef WW_ADC_HALVES_H
#define WW_ADC_HALVES_H

#include <stdint.h>

/* The half the DMA is filling, from its remaining-transfer count (CNDTR
 * counts down from 2 * half and reloads; RM0008 13.4.4): more than half
 * left is the first half; 0, the instant before the reload, is too. */
static inline uint32_t adc_dma_half(uint32_t cndtr, uint32_t half)
{
    return cndtr > half || cndtr == 0u ? 0u : 1u;
}

/* The interrupt: the halves in done (bits) are full. A half that completes
 * again while still ready was not taken or released in time: its previous
 * samples are lost, one overrun each. Returns the new ready bits. */
static inline uint32_t adc_halves_done(uint32_t ready, uint32_t done, uint32_t *overruns)
{
    uint32_t again = ready & done;
    *overruns += (again & 1u) + (again >> 1);
    return ready | done;
}

/* The main loop takes the ready half the DMA is not filling (writing, from
 * adc_dma_half). A ready half the DMA is filling has begun to be
 * overwritten: it is dropped from *ready and counted as an overrun. Returns
 * the bit of the half to read (1: half 0, 2: half 1), or 0 if none. */
static inline uint32_t adc_halves_take(uint32_t *ready, uint32_t writing, uint32_t *overruns)
{
    uint32_t stale = *ready & (1u << writing);
    if (stale != 0u) {
        *ready &= ~stale;
        (*overruns)++;
    }
    return *ready & 3u; /* at most one bit: the half not being written */
}

#endif /* WW_ADC_HALVES_H */
