/*
 * board.c - see board.h. Sections of RM0008 are cited at each step.
 */
#include "board.h"

#include <stddef.h>

#include "adc_halves.h"
#include "bxcan_calc.h"
#include "stm32f107.h"
#include "wbytes.h" /* static inline: safe in the RAM functions (no call into flash) */

/* Code and data the interrupt handlers use live in RAM, and the vector
 * table is copied there (startup.c): while the flash erases a page (up to
 * 40 ms) a fetch from flash stalls, but RAM code keeps draining the CAN
 * FIFOs and taking the DMA flags. */
#define RAMFUNC __attribute__((section(".ramfunc"), noinline))

volatile board_diag_t g_board_diag;

/* the handlers this file defines (weak defaults in startup.c) */
void DMA1_Channel1_IRQHandler(void);
void CAN1_RX0_IRQHandler(void);
void CAN1_RX1_IRQHandler(void);

/* ------------------------------------------------------------ clocks (RM0008 8.2) */

static bool wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t tries)
{
    while ((*reg & mask) != mask) {
        if (tries-- == 0u) {
            return false;
        }
    }
    return true;
}

/* 25 MHz HSE -> PREDIV2 /5 = 5 MHz -> PLL2 x8 = 40 MHz -> PREDIV1 /5 = 8 MHz
 * -> PLL x9 = 72 MHz SYSCLK (RM0008 8.2, Figure 11). AHB 72, APB1 36,
 * APB2 72, ADC 12 MHz, USB OTG 48 MHz (VCO 144 / 3). */
static bool clocks_init(void)
{
    RCC_CR |= RCC_CR_HSEON;
    if (!wait_set(&RCC_CR, RCC_CR_HSERDY, 500000u)) {
        return false; /* stay on HSI; the caller stops and the IWDG resets */
    }
    RCC_CFGR2 = RCC_CFGR2_PREDIV2(5u) | RCC_CFGR2_PLL2MUL(8u) | RCC_CFGR2_PREDIV1SRC_PLL2 |
                RCC_CFGR2_PREDIV1(5u);
    RCC_CR |= RCC_CR_PLL2ON;
    if (!wait_set(&RCC_CR, RCC_CR_PLL2RDY, 500000u)) {
        return false;
    }
    /* two wait states above 48 MHz, prefetch on (RM0008 3.3.3), before the switch */
    FLASH_ACR = FLASH_ACR_PRFTBE | FLASH_ACR_LATENCY_2;
    RCC_CFGR = RCC_CFGR_HPRE_DIV1 | RCC_CFGR_PPRE1_DIV2 | RCC_CFGR_PPRE2_DIV1 | RCC_CFGR_ADCPRE_DIV6 |
               RCC_CFGR_PLLSRC_PREDIV1 | RCC_CFGR_PLLMUL(9u) | RCC_CFGR_OTGFSPRE_VCO_DIV3;
    RCC_CR |= RCC_CR_PLLON;
    if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, 500000u)) {
        return false;
    }
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    uint32_t tries = 500000u;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
        if (tries-- == 0u) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ pins (RM0008 9.1, 9.3) */

static void pin_mode(uint32_t port, uint32_t pin, uint32_t mode)
{
    volatile uint32_t *cr = pin < 8u ? &GPIO_CRL(port) : &GPIO_CRH(port);
    uint32_t shift = 4u * (pin & 7u);
    *cr = (*cr & ~(0xFu << shift)) | (mode << shift);
}

#define RELAY_PORT GPIOC_BASE
#define RELAY_PIN 6u
#define LED_PORT GPIOC_BASE
#define LED_PIN 7u

static void pins_init(void)
{
    RCC_APB2ENR |= RCC_APB2ENR_AFIOEN | RCC_APB2ENR_IOPCEN | RCC_APB2ENR_IOPDEN;
    pin_mode(GPIOC_BASE, 0u, GPIO_MODE_ANALOG);
    pin_mode(GPIOC_BASE, 1u, GPIO_MODE_ANALOG);
    /* the relay closes at power-up, as the core's relay_on does */
    GPIO_BSRR(RELAY_PORT) = BIT(RELAY_PIN);
    pin_mode(RELAY_PORT, RELAY_PIN, GPIO_MODE_OUT_PP_2MHZ);
    GPIO_BSRR(LED_PORT) = BIT(LED_PIN);
    pin_mode(LED_PORT, LED_PIN, GPIO_MODE_OUT_PP_2MHZ);
    /* CAN1 on PD0/PD1 (RM0008 9.3.3, Table 28) */
    AFIO_MAPR = (AFIO_MAPR & ~AFIO_MAPR_CAN1_REMAP_MASK) | AFIO_MAPR_CAN1_REMAP_PD0_PD1;
    pin_mode(GPIOD_BASE, 0u, GPIO_MODE_INPUT_PULL);
    GPIO_BSRR(GPIOD_BASE) = BIT(0); /* pull-up: recessive while no transceiver drives */
    pin_mode(GPIOD_BASE, 1u, GPIO_MODE_AF_PP_50MHZ);
}

/* ------------------------------------------------------------ watchdog (RM0008 19.3) */

/* LSI ~40 kHz / 32 = 1250 Hz, reload 625: ~0.5 s (0.33..0.67 s over the
 * LSI's 30..60 kHz). Once started it cannot be stopped; a debugger halt
 * freezes it (DBGMCU_CR). */
static void watchdog_init(void)
{
    g_board_diag.watchdog_reset = (RCC_CSR & RCC_CSR_IWDGRSTF) != 0u;
    RCC_CSR |= RCC_CSR_RMVF;
    DBGMCU_CR |= DBGMCU_IWDG_STOP;
    IWDG_KR = IWDG_KEY_START;
    IWDG_KR = IWDG_KEY_ENABLE;
    IWDG_PR = 3u; /* /32 */
    IWDG_RLR = 625u;
    while ((IWDG_SR & (IWDG_SR_PVU | IWDG_SR_RVU)) != 0u) {
    }
    IWDG_KR = IWDG_KEY_RELOAD;
}

static void watchdog_kick(void *ctx)
{
    (void)ctx;
    IWDG_KR = IWDG_KEY_RELOAD;
}

/* ------------------------------------------------------------ ADC + TIM3 + DMA (RM0008 11, 13, 15) */

static adc_pair_t g_adc_buf[2u * BOARD_ADC_HALF] __attribute__((aligned(4)));
static volatile uint32_t g_adc_ready;  /* bit 0: first half full, bit 1: second half */
static uint32_t g_adc_taken;           /* the half the main loop holds (bit) */

/* Half transfer: the first half is full while the DMA fills the second;
 * transfer complete: the other way round (circular mode, 13.3.5). */
RAMFUNC void DMA1_Channel1_IRQHandler(void)
{
    uint32_t isr = DMA_ISR(DMA1_BASE);
    uint32_t done = 0;
    if ((isr & DMA_ISR_HTIF(DMA_CH_ADC1)) != 0u) {
        done |= 1u;
    }
    if ((isr & DMA_ISR_TCIF(DMA_CH_ADC1)) != 0u) {
        done |= 2u;
    }
    if ((isr & DMA_ISR_TEIF(DMA_CH_ADC1)) != 0u) {
        g_board_diag.dma_errors++;
    }
    DMA_IFCR(DMA1_BASE) = DMA_ISR_GIF(DMA_CH_ADC1) | DMA_ISR_TCIF(DMA_CH_ADC1) |
                          DMA_ISR_HTIF(DMA_CH_ADC1) | DMA_ISR_TEIF(DMA_CH_ADC1);
    /* a half that completes again before the main loop released it is an overrun */
    uint32_t overruns = g_board_diag.adc_overruns;
    g_adc_ready = adc_halves_done(g_adc_ready, done, &overruns);
    g_board_diag.adc_overruns = overruns;
    g_board_diag.adc_halves += (done & 1u) + (done >> 1);
}

static const adc_pair_t *adc_take(void *ctx, uint32_t *n)
{
    (void)ctx;
    if (g_adc_ready == 0u) {
        return NULL;
    }
    /* Both ready (the main loop was late by a half) or a flag not yet
     * raised: the DMA is overwriting one of the ready halves. Take the one
     * it is not filling (CNDTR); the other is lost, an overrun. */
    irq_disable();
    uint32_t ready = g_adc_ready, overruns = g_board_diag.adc_overruns;
    uint32_t writing = adc_dma_half(DMA_CNDTR(DMA1_BASE, DMA_CH_ADC1), BOARD_ADC_HALF);
    uint32_t take = adc_halves_take(&ready, writing, &overruns);
    g_adc_ready = ready;
    g_board_diag.adc_overruns = overruns;
    irq_enable();
    if (take == 0u) {
        return NULL;
    }
    uint32_t half = take >> 1;
    g_adc_taken = take;
    *n = BOARD_ADC_HALF;
    return &g_adc_buf[half * BOARD_ADC_HALF];
}

static void adc_release(void *ctx)
{
    (void)ctx;
    irq_disable();
    g_adc_ready &= ~g_adc_taken;
    irq_enable();
    g_adc_taken = 0;
}

static void adc_calibrate(uint32_t adc)
{
    ADC_CR2(adc) |= ADC_CR2_RSTCAL; /* 11.4 */
    while ((ADC_CR2(adc) & ADC_CR2_RSTCAL) != 0u) {
    }
    ADC_CR2(adc) |= ADC_CR2_CAL;
    while ((ADC_CR2(adc) & ADC_CR2_CAL) != 0u) {
    }
}

static void sampling_start(void)
{
    RCC_APB2ENR |= RCC_APB2ENR_ADC1EN | RCC_APB2ENR_ADC2EN;
    RCC_APB1ENR |= RCC_APB1ENR_TIM3EN;
    RCC_AHBENR |= RCC_AHBENR_DMA1EN;

    /* DMA1 channel 1: ADC1_DR (ADC2 in 31:16 in dual mode) -> the double
     * buffer, 32-bit words, circular, interrupts at half and full. */
    DMA_CCR(DMA1_BASE, DMA_CH_ADC1) = 0u;
    DMA_CPAR(DMA1_BASE, DMA_CH_ADC1) = (uint32_t)(uintptr_t)&ADC_DR(ADC1_BASE);
    DMA_CMAR(DMA1_BASE, DMA_CH_ADC1) = (uint32_t)(uintptr_t)g_adc_buf;
    DMA_CNDTR(DMA1_BASE, DMA_CH_ADC1) = 2u * BOARD_ADC_HALF;
    DMA_CCR(DMA1_BASE, DMA_CH_ADC1) = DMA_CCR_MINC | DMA_CCR_PSIZE_32 | DMA_CCR_MSIZE_32 | DMA_CCR_CIRC |
                                      DMA_CCR_HTIE | DMA_CCR_TCIE | DMA_CCR_TEIE | DMA_CCR_PL_VERY_HIGH |
                                      DMA_CCR_EN;
    nvic_enable(IRQ_DMA1_CH1, 1u);

    /* ADC1 master, ADC2 slave, regular simultaneous (11.9.3): one channel
     * each, the same 239.5-cycle sample time (21 us per conversion at
     * 12 MHz); ADC1 on TIM3 TRGO, ADC2 on SWSTART with the trigger enabled,
     * as 11.9 requires for the slave. */
    ADC_CR1(ADC1_BASE) = ADC_CR1_DUALMOD_REG_SIMULT;
    ADC_CR1(ADC2_BASE) = 0u;
    ADC_SMPR1(ADC1_BASE) = ADC_SMPR_239_5 << 0; /* channel 10 */
    ADC_SMPR1(ADC2_BASE) = ADC_SMPR_239_5 << 3; /* channel 11 */
    ADC_SQR1(ADC1_BASE) = 0u;                   /* L = 0: one conversion */
    ADC_SQR1(ADC2_BASE) = 0u;
    ADC_SQR3(ADC1_BASE) = 10u;
    ADC_SQR3(ADC2_BASE) = 11u;
    ADC_CR2(ADC1_BASE) = ADC_CR2_ADON;
    ADC_CR2(ADC2_BASE) = ADC_CR2_ADON;
    for (volatile uint32_t k = 0; k < 1000u; k++) {
        /* tSTAB, 1 us, before calibrating */
    }
    adc_calibrate(ADC1_BASE);
    adc_calibrate(ADC2_BASE);
    ADC_CR2(ADC2_BASE) = ADC_CR2_ADON | ADC_CR2_EXTSEL_SWSTART | ADC_CR2_EXTTRIG;
    ADC_CR2(ADC1_BASE) = ADC_CR2_ADON | ADC_CR2_EXTSEL_TIM3_TRGO | ADC_CR2_EXTTRIG | ADC_CR2_DMA;

    /* TIM3 at 72 MHz (APB1 /2, so the timer clock is x2, RM0008 8.2):
     * 72 MHz / 11250 = 6400 Hz exactly, TRGO on update. */
    TIM_PSC(TIM3_BASE) = 0u;
    TIM_ARR(TIM3_BASE) = BOARD_SYSCLK_HZ / BOARD_FS_HZ - 1u;
    TIM_CR2(TIM3_BASE) = TIM_CR2_MMS_UPDATE;
    TIM_EGR(TIM3_BASE) = TIM_EGR_UG;
    TIM_CR1(TIM3_BASE) = TIM_CR1_ARPE | TIM_CR1_CEN;
}

/* ------------------------------------------------------------ bxCAN1 (RM0008 24) */

#define CAN_RING 32u /* frames; a power of two */
static can_frame_t g_rx_ring[CAN_RING];
static volatile uint32_t g_rx_head, g_rx_tail;

/* In RAM too, once, called by both RAM handlers. */
static RAMFUNC void rx_fifo(uint32_t fifo)
{
    while ((CAN_RFR(CAN1_BASE, fifo) & CAN_RFR_FMP_MASK) != 0u) {
        uint32_t rir = CAN_RIR(CAN1_BASE, fifo);
        uint32_t rdtr = CAN_RDTR(CAN1_BASE, fifo);
        uint32_t lo = CAN_RDLR(CAN1_BASE, fifo), hi = CAN_RDHR(CAN1_BASE, fifo);
        uint32_t head = g_rx_head;
        if (head - g_rx_tail < CAN_RING && (rir & CAN_IR_IDE) == 0u) {
            can_frame_t *f = &g_rx_ring[head & (CAN_RING - 1u)];
            f->id = CAN_IR_STID(rir);
            f->dlc = (uint8_t)((rdtr & 0xFu) > 8u ? 8u : rdtr & 0xFu);
            f->flags = (rir & CAN_IR_RTR) != 0u ? CAN_FLAG_RTR : 0u;
            ww_put_le32(&f->data[0], lo);
            ww_put_le32(&f->data[4], hi);
            f->reserved[0] = 0u;
            f->reserved[1] = 0u;
            g_rx_head = head + 1u;
            g_board_diag.can_rx++;
        } else if ((rir & CAN_IR_IDE) == 0u) {
            g_board_diag.can_rx_overruns++;
        }
        CAN_RFR(CAN1_BASE, fifo) = CAN_RFR_RFOM; /* release the output mailbox */
    }
    if ((CAN_RFR(CAN1_BASE, fifo) & CAN_RFR_FOVR) != 0u) {
        g_board_diag.can_rx_overruns++;
        CAN_RFR(CAN1_BASE, fifo) = CAN_RFR_FOVR;
    }
}

/* Commands in FIFO 0, remote-frame polls in FIFO 1 (bxcan_meter_filters). */
RAMFUNC void CAN1_RX0_IRQHandler(void)
{
    rx_fifo(0u);
}

RAMFUNC void CAN1_RX1_IRQHandler(void)
{
    rx_fifo(1u);
}

static bool can_rx(void *ctx, can_frame_t *out)
{
    (void)ctx;
    uint32_t tail = g_rx_tail;
    if (tail == g_rx_head) {
        return false;
    }
    *out = g_rx_ring[tail & (CAN_RING - 1u)];
    g_rx_tail = tail + 1u;
    return true;
}

static uint32_t can_tx_free(void *ctx)
{
    (void)ctx;
    if (!g_board_diag.can_started) {
        return 0u;
    }
    uint32_t tsr = CAN_TSR(CAN1_BASE), n = 0;
    for (uint32_t k = 0; k < 3u; k++) {
        n += (tsr & CAN_TSR_TME(k)) != 0u;
    }
    return n;
}

/* Into an empty mailbox; with TXFP they leave in request order, so a
 * message's frames stay in sequence whichever mailbox each takes. */
static bool can_tx(void *ctx, const can_frame_t *f)
{
    (void)ctx;
    uint32_t tsr = CAN_TSR(CAN1_BASE);
    for (uint32_t k = 0; k < 3u; k++) {
        if ((tsr & CAN_TSR_TME(k)) == 0u) {
            continue;
        }
        CAN_TDTR(CAN1_BASE, k) = f->dlc & 0xFu;
        CAN_TDLR(CAN1_BASE, k) = ww_get_le32(&f->data[0]);
        CAN_TDHR(CAN1_BASE, k) = ww_get_le32(&f->data[4]);
        CAN_TIR(CAN1_BASE, k) = (f->id & 0x7FFu) << 21 | ((f->flags & CAN_FLAG_RTR) != 0u ? CAN_IR_RTR : 0u) |
                                CAN_TIR_TXRQ;
        return true;
    }
    return false;
}

static bool g_was_bus_off;

static void can_status(void *ctx, app_can_status_t *out)
{
    (void)ctx;
    uint32_t esr = CAN_ESR(CAN1_BASE);
    bool boff = (esr & CAN_ESR_BOFF) != 0u;
    if (boff && !g_was_bus_off) {
        g_board_diag.can_bus_off_events++; /* ABOM recovers after 128 x 11 recessive bits */
    }
    g_was_bus_off = boff;
    out->tec = (uint8_t)CAN_ESR_TEC(esr);
    out->rec = (uint8_t)CAN_ESR_REC(esr);
    out->lec = (uint8_t)CAN_ESR_LEC(esr);
    out->error_passive = (esr & CAN_ESR_EPVF) != 0u;
    out->bus_off = boff;
    out->bus_off_events = g_board_diag.can_bus_off_events;
    out->rx_overruns = g_board_diag.can_rx_overruns;
    if (out->lec != 0u && out->lec != 7u) {
        CAN_ESR(CAN1_BASE) = 7u << 4; /* LEC 7: software sees the next code fresh */
    }
}

static bool can_start(uint8_t node)
{
    bxcan_timing_t t;
    if (!bxcan_timing(BOARD_PCLK1_HZ, BOARD_CAN_BITRATE, 875u, &t)) {
        return false;
    }
    RCC_APB1ENR |= RCC_APB1ENR_CAN1EN;
    /* initialisation mode (24.4.1) */
    CAN_MCR(CAN1_BASE) = (CAN_MCR(CAN1_BASE) & ~CAN_MCR_SLEEP) | CAN_MCR_INRQ;
    if (!wait_set(&CAN_MSR(CAN1_BASE), CAN_MSR_INAK, 100000u)) {
        return false;
    }
    /* TX in request order, automatic bus-off recovery, no time stamps in
     * the data, frozen under the debugger */
    CAN_MCR(CAN1_BASE) = CAN_MCR_INRQ | CAN_MCR_TXFP | CAN_MCR_ABOM | CAN_MCR_DBF;
    CAN_BTR(CAN1_BASE) = t.btr;

    /* filters (24.7.4): banks 0 and 1 of CAN1, 16-bit identifier lists */
    uint16_t e[BXCAN_METER_ENTRIES];
    uint32_t fr1, fr2;
    bxcan_meter_filters(node, e);
    CAN_FMR(CAN1_BASE) = (CAN_FMR(CAN1_BASE) & ~CAN_FMR_CAN2SB_MASK) | CAN_FMR_CAN2SB(14u) | CAN_FMR_FINIT;
    CAN_FA1R(CAN1_BASE) = 0u;
    CAN_FM1R(CAN1_BASE) = 3u;  /* banks 0, 1: list mode */
    CAN_FS1R(CAN1_BASE) = 0u;  /* 16-bit */
    CAN_FFA1R(CAN1_BASE) = 2u; /* bank 1 -> FIFO 1 */
    bxcan_list_bank(&e[0], &fr1, &fr2);
    CAN_FR1(CAN1_BASE, 0u) = fr1;
    CAN_FR2(CAN1_BASE, 0u) = fr2;
    bxcan_list_bank(&e[4], &fr1, &fr2);
    CAN_FR1(CAN1_BASE, 1u) = fr1;
    CAN_FR2(CAN1_BASE, 1u) = fr2;
    CAN_FA1R(CAN1_BASE) = 3u;
    CAN_FMR(CAN1_BASE) &= ~CAN_FMR_FINIT;

    CAN_IER(CAN1_BASE) = CAN_IER_FMPIE0 | CAN_IER_FMPIE1;
    nvic_enable(IRQ_CAN1_RX0, 2u);
    nvic_enable(IRQ_CAN1_RX1, 2u);
    /* leave initialisation: needs 11 recessive bits on the bus */
    CAN_MCR(CAN1_BASE) &= ~CAN_MCR_INRQ;
    uint32_t tries = 1000000u;
    while ((CAN_MSR(CAN1_BASE) & CAN_MSR_INAK) != 0u) {
        if (tries-- == 0u) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ flash pages (PM0075 2.3, 2.4) */

static void flash_unlock(void)
{
    if ((FLASH_CR & FLASH_CR_LOCK) != 0u) {
        FLASH_KEYR = FLASH_KEY1;
        FLASH_KEYR = FLASH_KEY2;
    }
}

static bool flash_wait(void)
{
    while ((FLASH_SR & FLASH_SR_BSY) != 0u) {
    }
    uint32_t sr = FLASH_SR;
    FLASH_SR = FLASH_SR_EOP | FLASH_SR_PGERR | FLASH_SR_WRPRTERR; /* write 1 to clear */
    if ((sr & (FLASH_SR_PGERR | FLASH_SR_WRPRTERR)) != 0u) {
        g_board_diag.flash_errors++;
        return false;
    }
    return true;
}

static uintptr_t page_address(uint32_t page, uint32_t off)
{
    return BOARD_EEPROM_BASE + page * FLASH_PAGE_SIZE + off;
}

static uint16_t flash_read(void *ctx, uint32_t page, uint32_t off)
{
    (void)ctx;
    return *(volatile const uint16_t *)page_address(page, off);
}

/* Half-word programming; the hardware refuses (PGERR) a cell that is not
 * erased unless the value is 0x0000, which the EEPROM's kill relies on. */
static bool flash_program(void *ctx, uint32_t page, uint32_t off, uint16_t v)
{
    (void)ctx;
    if (page >= BOARD_EEPROM_PAGES || off >= FLASH_PAGE_SIZE) {
        return false;
    }
    flash_unlock();
    (void)flash_wait();
    FLASH_CR |= FLASH_CR_PG;
    *(volatile uint16_t *)page_address(page, off) = v;
    bool ok = flash_wait();
    FLASH_CR &= ~FLASH_CR_PG;
    return ok;
}

static bool flash_erase(void *ctx, uint32_t page)
{
    (void)ctx;
    if (page >= BOARD_EEPROM_PAGES) {
        return false;
    }
    flash_unlock();
    (void)flash_wait();
    IWDG_KR = IWDG_KEY_RELOAD; /* an erase takes up to 40 ms */
    FLASH_CR |= FLASH_CR_PER;
    FLASH_AR = (uint32_t)page_address(page, 0u);
    FLASH_CR |= FLASH_CR_STRT;
    bool ok = flash_wait();
    FLASH_CR &= ~FLASH_CR_PER;
    return ok;
}

static const ee_flash_t g_flash = {
    BOARD_EEPROM_PAGES, FLASH_PAGE_SIZE, NULL, flash_read, flash_program, flash_erase,
};

/* ------------------------------------------------------------ outputs */

static void relay(void *ctx, bool on)
{
    (void)ctx;
    GPIO_BSRR(RELAY_PORT) = on ? BIT(RELAY_PIN) : BIT(RELAY_PIN + 16u);
}

static void led(void *ctx, bool on)
{
    (void)ctx;
    GPIO_BSRR(LED_PORT) = on ? BIT(LED_PIN) : BIT(LED_PIN + 16u);
}

volatile app_display_t g_display;

__attribute__((weak)) void board_display_hook(const app_display_t *d)
{
    g_display = *d; /* for a debugger until a display driver defines the hook */
}

static void display(void *ctx, const app_display_t *d)
{
    (void)ctx;
    board_display_hook(d);
}

static uint32_t cycles(void *ctx)
{
    (void)ctx;
    return DWT_CYCCNT;
}

/* ------------------------------------------------------------ the board */

/* Written by meter-provision --ihex (at CONFIG_PAGE_ADDRESS, see the linker
 * script); volatile because its contents are not known at build time. */
__attribute__((section(".config_page"), used)) static volatile const uint8_t g_config_page[CONFIG_PAGE_SIZE];
static uint8_t g_config_copy[CONFIG_PAGE_SIZE];

static const app_board_t g_board = {
    .ctx = NULL,
    .adc_take = adc_take,
    .adc_release = adc_release,
    .can_rx = can_rx,
    .can_tx_free = can_tx_free,
    .can_tx = can_tx,
    .can_status = can_status,
    .relay = relay,
    .led = led,
    .display = display,
    .watchdog_kick = watchdog_kick,
    .cycles = cycles,
    .flash = &g_flash,
    .config_page = g_config_copy,
};

bool board_init(void)
{
    watchdog_init(); /* first: a hang in what follows resets the chip */
    g_board_diag.hse_ok = clocks_init();
    pins_init();
    DEMCR |= DEMCR_TRCENA;
    DWT_CYCCNT = 0u;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    for (uint32_t k = 0; k < CONFIG_PAGE_SIZE; k++) {
        g_config_copy[k] = g_config_page[k];
    }
    return g_board_diag.hse_ok;
}

const app_board_t *board_app(void)
{
    return &g_board;
}

bool board_start(uint8_t node, bool online)
{
    /* an unprovisioned meter measures (and displays) but stays off the bus */
    g_board_diag.can_started = online && can_start(node);
    sampling_start();
    return g_board_diag.can_started || !online;
}

bool board_work_pending(void)
{
    return g_adc_ready != 0u || g_rx_head != g_rx_tail;
}
