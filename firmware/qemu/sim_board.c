/*
 * sim_board.c - see sim_board.h.
 */
#include "sim_board.h"

#include "dsp_tables.h"

/* sin(2 pi phase / 2^32) * 32767 from the quarter-wave table */
static int32_t dds_sin(uint32_t phase)
{
    uint32_t idx = phase >> 21;
    uint32_t q = idx & (DSP_SIN_QUARTER - 1u);
    switch (idx >> 9) {
    case 0: return dsp_sin_q15[q];
    case 1: return dsp_sin_q15[DSP_SIN_QUARTER - q];
    case 2: return -dsp_sin_q15[q];
    default: return -dsp_sin_q15[DSP_SIN_QUARTER - q];
    }
}

/* ------------------------------------------------------------ ADC */

static const adc_pair_t *adc_take(void *ctx, uint32_t *n)
{
    sim_board_t *s = ctx;
    if (!s->adc_on) {
        return NULL;
    }
    for (uint32_t k = 0; k < SIM_ADC_HALF; k++) {
        uint32_t th = s->phase;
        /* 230 V rms = 931 counts peak, 10 A rms = 621; current lags 36.87 deg */
        int32_t v = dds_sin(th) * 931 / 32767;
        int32_t i = dds_sin(th - 0x1A36E2EBu) * 621 / 32767;
        s->lcg = s->lcg * 1664525u + 1013904223u;
        s->half[k].v = (uint16_t)(1862 + v + (int32_t)(s->lcg >> 31));
        s->half[k].i = (uint16_t)(1862 + i + (int32_t)((s->lcg >> 29) & 1u));
        s->phase += s->step;
    }
    s->samples += SIM_ADC_HALF;
    *n = SIM_ADC_HALF;
    return s->half;
}

static void adc_release(void *ctx)
{
    (void)ctx;
}

/* ------------------------------------------------------------ CAN */

bool sim_send(sim_board_t *s, const can_frame_t *f)
{
    if (s->to_head - s->to_tail >= SIM_RING) {
        return false;
    }
    s->to_meter[s->to_head++ & (SIM_RING - 1u)] = *f;
    return true;
}

bool sim_receive(sim_board_t *s, can_frame_t *out)
{
    if (s->from_tail == s->from_head) {
        return false;
    }
    *out = s->from_meter[s->from_tail++ & (SIM_RING - 1u)];
    return true;
}

void sim_bus_idle(sim_board_t *s)
{
    s->mailboxes_busy = 0;
}

static bool can_rx(void *ctx, can_frame_t *out)
{
    sim_board_t *s = ctx;
    if (s->to_tail == s->to_head) {
        return false;
    }
    *out = s->to_meter[s->to_tail++ & (SIM_RING - 1u)];
    return true;
}

static uint32_t can_tx_free(void *ctx)
{
    sim_board_t *s = ctx;
    return s->bus_off ? 0u : 3u - s->mailboxes_busy;
}

static bool can_tx(void *ctx, const can_frame_t *f)
{
    sim_board_t *s = ctx;
    if (s->mailboxes_busy >= 3u || s->from_head - s->from_tail >= SIM_RING) {
        return false;
    }
    s->mailboxes_busy++;
    s->from_meter[s->from_head++ & (SIM_RING - 1u)] = *f;
    return true;
}

static void can_status(void *ctx, app_can_status_t *out)
{
    sim_board_t *s = ctx;
    app_can_status_t st = {0};
    st.tec = s->tec;
    st.rec = s->rec;
    st.bus_off = s->bus_off;
    st.error_passive = s->tec > 127u || s->rec > 127u;
    *out = st;
}

/* ------------------------------------------------------------ flash (NOR rules of the STM32F1) */

static uint16_t fl_read(void *ctx, uint32_t page, uint32_t off)
{
    sim_board_t *s = ctx;
    return s->flash[(page * SIM_FLASH_PAGE + off) / 2u];
}

static bool fl_program(void *ctx, uint32_t page, uint32_t off, uint16_t v)
{
    sim_board_t *s = ctx;
    if (page >= SIM_FLASH_PAGES || off >= SIM_FLASH_PAGE || (off & 1u) != 0u) {
        return false;
    }
    uint16_t *cell = &s->flash[(page * SIM_FLASH_PAGE + off) / 2u];
    if (v != 0u && *cell != 0xFFFFu) {
        return false; /* PGERR */
    }
    *cell = (uint16_t)(*cell & v);
    s->programs++;
    return true;
}

static bool fl_erase(void *ctx, uint32_t page)
{
    sim_board_t *s = ctx;
    if (page >= SIM_FLASH_PAGES) {
        return false;
    }
    for (uint32_t k = 0; k < SIM_FLASH_PAGE / 2u; k++) {
        s->flash[page * SIM_FLASH_PAGE / 2u + k] = 0xFFFFu;
    }
    s->erases++;
    return true;
}

/* ------------------------------------------------------------ outputs */

static void relay(void *ctx, bool on)
{
    sim_board_t *s = ctx;
    s->relay_switches += s->relay_on != on;
    s->relay_on = on;
}

static void led(void *ctx, bool on)
{
    sim_board_t *s = ctx;
    s->led_on = on;
}

static void display(void *ctx, const app_display_t *d)
{
    sim_board_t *s = ctx;
    s->shown = *d;
    s->displays++;
}

static void kick(void *ctx)
{
    sim_board_t *s = ctx;
    s->kicks++;
}

static uint32_t cycles(void *ctx)
{
    sim_board_t *s = ctx;
    return s->cycles != NULL ? s->cycles() : 0u;
}

/* ------------------------------------------------------------ set-up */

void sim_reset(sim_board_t *s)
{
    s->to_head = s->to_tail = s->from_head = s->from_tail = 0;
    s->mailboxes_busy = 0;
    s->relay_on = true; /* the relay closes at power-up (board.c) */
    s->adc_on = true;
    s->board = (app_board_t){
        .ctx = s,
        .adc_take = adc_take,
        .adc_release = adc_release,
        .can_rx = can_rx,
        .can_tx_free = can_tx_free,
        .can_tx = can_tx,
        .can_status = can_status,
        .relay = relay,
        .led = led,
        .display = display,
        .watchdog_kick = kick,
        .cycles = cycles,
        .flash = &s->flash_if,
        .config_page = s->config_page,
    };
}

void sim_init(sim_board_t *s, uint32_t (*cyc)(void))
{
    uint8_t *raw = (uint8_t *)s;
    for (uint32_t k = 0; k < sizeof *s; k++) {
        raw[k] = 0u;
    }
    for (uint32_t k = 0; k < SIM_FLASH_PAGES * SIM_FLASH_PAGE / 2u; k++) {
        s->flash[k] = 0xFFFFu;
    }
    s->cycles = cyc;
    s->lcg = 12345u;
    s->step = (uint32_t)(((uint64_t)50u << 32) / 6400u);
    s->flash_if = (ee_flash_t){SIM_FLASH_PAGES, SIM_FLASH_PAGE, s, fl_read, fl_program, fl_erase};
    sim_reset(s);
}
