/*
 * main.c - walking-skeleton superloop for the STM32F107 meter.
 *
 * No peripherals yet (the board layer with ADC/DMA/bxCAN is a later issue):
 * the loop feeds the meter core from a static buffer that stands in for a
 * DMA half-buffer (filled with an integer 50 Hz triangle wave), hands it an
 * active-power remote request after each window and drains the TX queue, so
 * that the complete core is linked and its flash/RAM cost is measurable.
 * Results go to volatile globals visible to a debugger.
 */
#include <stdint.h>

#include "meter.h"

#define NODE_ID 1u
#define BLOCK 256u             /* stand-in for half of a circular DMA buffer */
#define PERIOD 128u            /* 6400 Hz / 50 Hz */
#define V_AMPL 900             /* counts, ~220 V peak with the CVCT scale */
#define I_AMPL 400             /* counts, ~9 A peak */

static meter_t g_meter;
static adc_pair_t g_block[BLOCK];

volatile int32_t g_last_power_mw;
volatile uint32_t g_frames_sent;
volatile uint32_t g_windows;

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
    uint32_t phase = 0;
    can_frame_t request = {0};
    can_frame_t tx;

    meter_config_default(&cfg, (uint8_t)NODE_ID);
    if (!meter_init(&g_meter, &cfg)) {
        for (;;) {
        }
    }
    request.id = PROTO_ID(PROTO_FN_ACTIVE_POWER, NODE_ID);
    request.dlc = 4u;
    request.flags = CAN_FLAG_RTR;

    for (;;) {
        fill_block(g_block, BLOCK, &phase);
        uint32_t done = meter_feed(&g_meter, g_block, BLOCK);
        if (done > 0u) {
            g_windows += done;
            (void)meter_on_can_rx(&g_meter, &request);
        }
        while (meter_can_tx_pop(&g_meter, &tx)) {
            g_last_power_mw = (int32_t)((uint32_t)tx.data[0] | ((uint32_t)tx.data[1] << 8) |
                                        ((uint32_t)tx.data[2] << 16) | ((uint32_t)tx.data[3] << 24));
            g_frames_sent++;
        }
    }
}
