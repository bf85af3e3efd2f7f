/*
 * main.c - walking-skeleton superloop for the STM32F107 meter.
 *
 * No peripherals yet (the board layer with ADC/DMA/bxCAN/flash is a later
 * issue): the loop boots the meter from the provisioned configuration page,
 * feeds it from a static buffer that stands in for a DMA half-buffer (an
 * integer 50 Hz triangle wave), polls it with a SNAPSHOT remote frame after
 * each window, keeps the nonvolatile blob in a RAM stand-in for its flash
 * page and drains the TX queue, so that the whole protocol engine is linked
 * and its flash/RAM cost is measurable. Results go to volatile globals
 * visible to a debugger.
 */
#include <stdint.h>

#include "meter.h"

#define BLOCK 256u             /* stand-in for half of a circular DMA buffer */
#define PERIOD 128u            /* 6400 Hz / 50 Hz */
#define V_AMPL 900             /* counts, ~220 V peak with the CVCT scale */
#define I_AMPL 400             /* counts, ~9 A peak */

/* Written by meter-provision --ihex (at CONFIG_PAGE_ADDRESS, see the linker
 * script); volatile because its contents are not known at build time. */
__attribute__((section(".config_page"), used))
static volatile const uint8_t g_config_page[CONFIG_PAGE_SIZE];

static meter_t g_meter;
static adc_pair_t g_block[BLOCK];
static meter_nv_t g_nv_store; /* stand-in for the flash page of the blob */

volatile uint32_t g_online;
volatile uint32_t g_frames_sent;
volatile uint32_t g_windows;
volatile uint32_t g_nv_writes;

/* Triangle wave -ampl..+ampl with period PERIOD, integer only. */
static int32_t triangle(uint32_t phase, int32_t ampl)
{
    int32_t q = (int32_t)(phase % PERIOD);
    int32_t half = (int32_t)PERIOD / 2;
    int32_t x = q < half ? q : (int32_t)PERIOD - q; /* 0..half..0 */
    return (4 * ampl * x) / (int32_t)PERIOD - ampl;
}

static void fill_block(adc_pair_t *b, uint32_t n, uint32_t *phase)
{
    for (uint32_t k = 0; k < n; k++, (*phase)++) {
        b[k].v = (uint16_t)((int32_t)METER_DEFAULT_OFFSET + triangle(*phase, V_AMPL));
        b[k].i = (uint16_t)((int32_t)METER_DEFAULT_OFFSET + triangle(*phase + 8u, I_AMPL));
    }
}

int main(void)
{
    meter_config_t cfg;
    uint8_t page[CONFIG_PAGE_SIZE];
    uint32_t phase = 0;
    can_frame_t request = {0};
    can_frame_t tx;

    for (uint32_t k = 0; k < CONFIG_PAGE_SIZE; k++) {
        page[k] = g_config_page[k];
    }
    meter_config_default(&cfg);
    /* An erased or invalid page leaves the meter measuring but silent. */
    g_online = meter_boot(&g_meter, &cfg, page, &g_nv_store) ? 1u : 0u;
    request.id = PROTO_ID(PROTO_FN_SNAPSHOT, g_meter.id.node);
    request.dlc = 8u;
    request.flags = CAN_FLAG_RTR;

    for (;;) {
        fill_block(g_block, BLOCK, &phase);
        uint32_t done = meter_feed(&g_meter, g_block, BLOCK);
        if (done > 0u) {
            g_windows += done;
            (void)meter_on_can_rx(&g_meter, &request);
        }
        if (meter_nv_take_dirty(&g_meter)) {
            g_nv_store = *meter_nv(&g_meter); /* before anything queued goes out */
            g_nv_writes++;
        }
        while (meter_can_tx_pop(&g_meter, &tx)) {
            g_frames_sent++;
        }
    }
}
