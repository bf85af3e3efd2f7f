/*
 * main.c - the STM32F107 meter: board bring-up, then the portable main
 * program (core/meter_app.c) in a superloop that sleeps until an interrupt
 * (a DMA half-buffer, a CAN frame) leaves it work.
 */
#include "board.h"
#include "stm32f107.h"

static app_t g_app;

int main(void)
{
    if (!board_init()) {
        /* no 25 MHz crystal: the clocks, the ADC rate and the CAN bit rate
         * would all be wrong. Stop with the LED lit; the IWDG resets and
         * the next boot tries again. */
        for (;;) {
        }
    }
    bool online = app_start(&g_app, board_app());
    (void)board_start(g_app.meter.id.node, online);
    for (;;) {
        app_step(&g_app);
        /* sleep unless an interrupt came in while the pass ran; WFI wakes
         * on a pending interrupt even with PRIMASK set, so none is missed */
        irq_disable();
        if (!board_work_pending()) {
            wait_for_interrupt();
        }
        irq_enable();
    }
}
