/*
 * stm32f107.h - the registers the meter uses, written from the reference
 * manual RM0008 (STM32F101xx-F107xx, Rev 21) and, for the Cortex-M3 core
 * peripherals, the programming manual PM0056; the flash program/erase
 * registers are in PM0075 (STM32F10xxx Flash programming manual), which
 * RM0008 3.3.3 refers to. No vendor header: only what this board uses,
 * each block citing its section. Only the board layer (board/stm32f107)
 * includes this.
 */
#ifndef WW_STM32F107_H
#define WW_STM32F107_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define BIT(n) (1u << (n))

/* ------------------------------------------------------------ memory map (RM0008 3.3, Table 3) */
#define FLASH_BASE 0x08000000u
#define FLASH_PAGE_SIZE 2048u /* connectivity line: 2 KiB pages (RM0008 3.3.3, Table 5) */
#define SRAM_BASE 0x20000000u
#define TIM3_BASE 0x40000400u
#define IWDG_BASE 0x40003000u
#define CAN1_BASE 0x40006400u
#define AFIO_BASE 0x40010000u
#define GPIOA_BASE 0x40010800u
#define GPIOB_BASE 0x40010C00u
#define GPIOC_BASE 0x40011000u
#define GPIOD_BASE 0x40011400u
#define GPIOE_BASE 0x40011800u
#define ADC1_BASE 0x40012400u
#define ADC2_BASE 0x40012800u
#define DMA1_BASE 0x40020000u
#define RCC_BASE 0x40021000u
#define FLASHIF_BASE 0x40022000u
#define DBGMCU_CR REG32(0xE0042004u) /* RM0008 31.16.3 */
#define DBGMCU_IWDG_STOP BIT(8)

/* ------------------------------------------------------------ RCC, connectivity line (RM0008 8.3) */
#define RCC_CR REG32(RCC_BASE + 0x00u)       /* 8.3.1 */
#define RCC_CR_HSION BIT(0)
#define RCC_CR_HSEON BIT(16)
#define RCC_CR_HSERDY BIT(17)
#define RCC_CR_CSSON BIT(19)
#define RCC_CR_PLLON BIT(24)
#define RCC_CR_PLLRDY BIT(25)
#define RCC_CR_PLL2ON BIT(26)
#define RCC_CR_PLL2RDY BIT(27)
#define RCC_CFGR REG32(RCC_BASE + 0x04u)     /* 8.3.2 */
#define RCC_CFGR_SW_PLL (2u << 0)
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_CFGR_HPRE_DIV1 (0u << 4)
#define RCC_CFGR_PPRE1_DIV2 (4u << 8)        /* APB1 <= 36 MHz */
#define RCC_CFGR_PPRE2_DIV1 (0u << 11)
#define RCC_CFGR_ADCPRE_DIV6 (2u << 14)      /* ADC clock <= 14 MHz */
#define RCC_CFGR_PLLSRC_PREDIV1 BIT(16)
#define RCC_CFGR_PLLMUL(x) ((uint32_t)((x) - 2u) << 18) /* x = 4..9 (0010..0111) */
#define RCC_CFGR_OTGFSPRE_VCO_DIV3 (0u << 22)
#define RCC_CIR REG32(RCC_BASE + 0x08u)      /* 8.3.3 */
#define RCC_AHBENR REG32(RCC_BASE + 0x14u)   /* 8.3.6 */
#define RCC_AHBENR_DMA1EN BIT(0)
#define RCC_APB2ENR REG32(RCC_BASE + 0x18u)  /* 8.3.7 */
#define RCC_APB2ENR_AFIOEN BIT(0)
#define RCC_APB2ENR_IOPAEN BIT(2)
#define RCC_APB2ENR_IOPBEN BIT(3)
#define RCC_APB2ENR_IOPCEN BIT(4)
#define RCC_APB2ENR_IOPDEN BIT(5)
#define RCC_APB2ENR_IOPEEN BIT(6)
#define RCC_APB2ENR_ADC1EN BIT(9)
#define RCC_APB2ENR_ADC2EN BIT(10)
#define RCC_APB1ENR REG32(RCC_BASE + 0x1Cu)  /* 8.3.8 */
#define RCC_APB1ENR_TIM3EN BIT(1)
#define RCC_APB1ENR_CAN1EN BIT(25)
#define RCC_CSR REG32(RCC_BASE + 0x24u)      /* 8.3.10 */
#define RCC_CSR_LSION BIT(0)
#define RCC_CSR_LSIRDY BIT(1)
#define RCC_CSR_RMVF BIT(24)
#define RCC_CSR_IWDGRSTF BIT(29)
#define RCC_CFGR2 REG32(RCC_BASE + 0x2Cu)    /* 8.3.12 */
#define RCC_CFGR2_PREDIV1(x) ((uint32_t)((x) - 1u) << 0)  /* /1../16 */
#define RCC_CFGR2_PREDIV2(x) ((uint32_t)((x) - 1u) << 4)  /* /1../16 */
#define RCC_CFGR2_PLL2MUL(x) ((uint32_t)((x) - 2u) << 8)  /* x = 8..14 (0110..1100) */
#define RCC_CFGR2_PREDIV1SRC_PLL2 BIT(16)

/* ------------------------------------------------------------ FLASH interface (RM0008 3.3.3; PM0075 3) */
#define FLASH_ACR REG32(FLASHIF_BASE + 0x00u)   /* wait states: RM0008 3.3.3 */
#define FLASH_ACR_LATENCY_2 (2u << 0)           /* 48 MHz < SYSCLK <= 72 MHz */
#define FLASH_ACR_PRFTBE BIT(4)
#define FLASH_KEYR REG32(FLASHIF_BASE + 0x04u)  /* PM0075 3.2 */
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR REG32(FLASHIF_BASE + 0x0Cu)    /* PM0075 3.4 */
#define FLASH_SR_BSY BIT(0)
#define FLASH_SR_PGERR BIT(2)                   /* programming a cell that is not erased */
#define FLASH_SR_WRPRTERR BIT(4)
#define FLASH_SR_EOP BIT(5)
#define FLASH_CR REG32(FLASHIF_BASE + 0x10u)    /* PM0075 3.5 */
#define FLASH_CR_PG BIT(0)
#define FLASH_CR_PER BIT(1)
#define FLASH_CR_STRT BIT(6)
#define FLASH_CR_LOCK BIT(7)
#define FLASH_AR REG32(FLASHIF_BASE + 0x14u)    /* PM0075 3.6 */

/* ------------------------------------------------------------ GPIO and AFIO (RM0008 9.2, 9.4) */
#define GPIO_CRL(base) REG32((base) + 0x00u)   /* 9.2.1: pins 0..7, 4 bits each */
#define GPIO_CRH(base) REG32((base) + 0x04u)   /* 9.2.2: pins 8..15 */
#define GPIO_IDR(base) REG32((base) + 0x08u)
#define GPIO_ODR(base) REG32((base) + 0x0Cu)
#define GPIO_BSRR(base) REG32((base) + 0x10u)  /* 9.2.5: set 15:0, reset 31:16 */
/* CNF[1:0] MODE[1:0] nibbles (RM0008 Table 20) */
#define GPIO_MODE_ANALOG 0x0u
#define GPIO_MODE_INPUT_FLOAT 0x4u
#define GPIO_MODE_INPUT_PULL 0x8u
#define GPIO_MODE_OUT_PP_2MHZ 0x2u
#define GPIO_MODE_AF_PP_50MHZ 0xBu
#define AFIO_MAPR REG32(AFIO_BASE + 0x04u)     /* 9.4.2 */
#define AFIO_MAPR_CAN1_REMAP_MASK (3u << 13)
#define AFIO_MAPR_CAN1_REMAP_PD0_PD1 (3u << 13) /* CAN1_RX PD0, CAN1_TX PD1 */
#define AFIO_MAPR_SWJ_CFG_MASK (7u << 24)

/* ------------------------------------------------------------ TIM2..TIM5 (RM0008 15.4) */
#define TIM_CR1(base) REG32((base) + 0x00u)
#define TIM_CR1_CEN BIT(0)
#define TIM_CR1_ARPE BIT(7)
#define TIM_CR2(base) REG32((base) + 0x04u)
#define TIM_CR2_MMS_UPDATE (2u << 4)           /* TRGO on update: the ADC trigger */
#define TIM_EGR(base) REG32((base) + 0x14u)
#define TIM_EGR_UG BIT(0)
#define TIM_CNT(base) REG32((base) + 0x24u)
#define TIM_PSC(base) REG32((base) + 0x28u)
#define TIM_ARR(base) REG32((base) + 0x2Cu)

/* ------------------------------------------------------------ ADC (RM0008 11.12) */
#define ADC_SR(base) REG32((base) + 0x00u)
#define ADC_SR_EOC BIT(1)
#define ADC_CR1(base) REG32((base) + 0x04u)    /* 11.12.2 */
#define ADC_CR1_SCAN BIT(8)
#define ADC_CR1_DUALMOD_REG_SIMULT (6u << 16)  /* 0110: regular simultaneous only (11.9.3) */
#define ADC_CR2(base) REG32((base) + 0x08u)    /* 11.12.3 */
#define ADC_CR2_ADON BIT(0)
#define ADC_CR2_CAL BIT(2)
#define ADC_CR2_RSTCAL BIT(3)
#define ADC_CR2_DMA BIT(8)
#define ADC_CR2_EXTSEL_TIM3_TRGO (4u << 17)    /* regular trigger 100 (Table 69) */
#define ADC_CR2_EXTSEL_SWSTART (7u << 17)
#define ADC_CR2_EXTTRIG BIT(20)
#define ADC_SMPR1(base) REG32((base) + 0x0Cu)  /* 11.12.4: channels 10..17 */
#define ADC_SMPR_239_5 7u                      /* 239.5 cycles */
#define ADC_SQR1(base) REG32((base) + 0x2Cu)   /* 11.12.9: L[3:0] at 23:20 */
#define ADC_SQR3(base) REG32((base) + 0x34u)   /* 11.12.11: SQ1 at 4:0 */
#define ADC_DR(base) REG32((base) + 0x4Cu)     /* 11.12.14: ADC1 in dual mode: ADC2 at 31:16 */

/* ------------------------------------------------------------ DMA1 (RM0008 13.4) */
#define DMA_ISR(base) REG32((base) + 0x00u)
#define DMA_IFCR(base) REG32((base) + 0x04u)
#define DMA_ISR_GIF(ch) BIT(4u * ((ch) - 1u))
#define DMA_ISR_TCIF(ch) BIT(4u * ((ch) - 1u) + 1u)
#define DMA_ISR_HTIF(ch) BIT(4u * ((ch) - 1u) + 2u)
#define DMA_ISR_TEIF(ch) BIT(4u * ((ch) - 1u) + 3u)
#define DMA_CCR(base, ch) REG32((base) + 0x08u + 20u * ((ch) - 1u))   /* 13.4.3 */
#define DMA_CCR_EN BIT(0)
#define DMA_CCR_TCIE BIT(1)
#define DMA_CCR_HTIE BIT(2)
#define DMA_CCR_TEIE BIT(3)
#define DMA_CCR_CIRC BIT(5)
#define DMA_CCR_MINC BIT(7)
#define DMA_CCR_PSIZE_32 (2u << 8)
#define DMA_CCR_MSIZE_32 (2u << 10)
#define DMA_CCR_PL_VERY_HIGH (3u << 12)
#define DMA_CNDTR(base, ch) REG32((base) + 0x0Cu + 20u * ((ch) - 1u)) /* 13.4.4 */
#define DMA_CPAR(base, ch) REG32((base) + 0x10u + 20u * ((ch) - 1u))  /* 13.4.5 */
#define DMA_CMAR(base, ch) REG32((base) + 0x14u + 20u * ((ch) - 1u))  /* 13.4.6 */
#define DMA_CH_ADC1 1u /* ADC1 requests on channel 1 (Table 78) */

/* ------------------------------------------------------------ bxCAN (RM0008 24.9) */
#define CAN_MCR(base) REG32((base) + 0x000u)   /* 24.9.2 */
#define CAN_MCR_INRQ BIT(0)
#define CAN_MCR_SLEEP BIT(1)
#define CAN_MCR_TXFP BIT(2)                    /* transmit in request order */
#define CAN_MCR_RFLM BIT(3)
#define CAN_MCR_NART BIT(4)
#define CAN_MCR_AWUM BIT(5)
#define CAN_MCR_ABOM BIT(6)                    /* automatic bus-off recovery */
#define CAN_MCR_TTCM BIT(7)
#define CAN_MCR_RESET BIT(15)
#define CAN_MCR_DBF BIT(16)                    /* frozen while debugging */
#define CAN_MSR(base) REG32((base) + 0x004u)
#define CAN_MSR_INAK BIT(0)
#define CAN_MSR_SLAK BIT(1)
#define CAN_TSR(base) REG32((base) + 0x008u)
#define CAN_TSR_TME(n) BIT(26u + (n))          /* mailbox n empty */
#define CAN_TSR_RQCP(n) BIT(8u * (n))
#define CAN_RFR(base, fifo) REG32((base) + 0x00Cu + 4u * (fifo))  /* RF0R, RF1R */
#define CAN_RFR_FMP_MASK 3u
#define CAN_RFR_FULL BIT(3)
#define CAN_RFR_FOVR BIT(4)
#define CAN_RFR_RFOM BIT(5)
#define CAN_IER(base) REG32((base) + 0x014u)
#define CAN_IER_FMPIE0 BIT(1)
#define CAN_IER_FMPIE1 BIT(4)
#define CAN_ESR(base) REG32((base) + 0x018u)   /* 24.9.2 CAN_ESR */
#define CAN_ESR_EWGF BIT(0)
#define CAN_ESR_EPVF BIT(1)
#define CAN_ESR_BOFF BIT(2)
#define CAN_ESR_LEC(v) (((v) >> 4) & 7u)
#define CAN_ESR_TEC(v) (((v) >> 16) & 0xFFu)
#define CAN_ESR_REC(v) (((v) >> 24) & 0xFFu)
#define CAN_BTR(base) REG32((base) + 0x01Cu)
#define CAN_BTR_LBKM BIT(30)
#define CAN_BTR_SILM BIT(31)
/* mailboxes (24.9.3) */
#define CAN_TIR(base, n) REG32((base) + 0x180u + 0x10u * (n))
#define CAN_TDTR(base, n) REG32((base) + 0x184u + 0x10u * (n))
#define CAN_TDLR(base, n) REG32((base) + 0x188u + 0x10u * (n))
#define CAN_TDHR(base, n) REG32((base) + 0x18Cu + 0x10u * (n))
#define CAN_TIR_TXRQ BIT(0)
#define CAN_RIR(base, f) REG32((base) + 0x1B0u + 0x10u * (f))
#define CAN_RDTR(base, f) REG32((base) + 0x1B4u + 0x10u * (f))
#define CAN_RDLR(base, f) REG32((base) + 0x1B8u + 0x10u * (f))
#define CAN_RDHR(base, f) REG32((base) + 0x1BCu + 0x10u * (f))
#define CAN_IR_RTR BIT(1)                      /* TIxR, RIxR */
#define CAN_IR_IDE BIT(2)
#define CAN_IR_STID(v) (((v) >> 21) & 0x7FFu)
/* filters (24.9.4); 28 banks shared by CAN1 and CAN2 on the connectivity line */
#define CAN_FMR(base) REG32((base) + 0x200u)
#define CAN_FMR_FINIT BIT(0)
#define CAN_FMR_CAN2SB(n) ((uint32_t)(n) << 8)
#define CAN_FMR_CAN2SB_MASK (0x3Fu << 8)
#define CAN_FM1R(base) REG32((base) + 0x204u)  /* 1: identifier list */
#define CAN_FS1R(base) REG32((base) + 0x20Cu)  /* 0: dual 16-bit */
#define CAN_FFA1R(base) REG32((base) + 0x214u) /* FIFO of each bank */
#define CAN_FA1R(base) REG32((base) + 0x21Cu)  /* active banks */
#define CAN_FR1(base, bank) REG32((base) + 0x240u + 8u * (bank))
#define CAN_FR2(base, bank) REG32((base) + 0x244u + 8u * (bank))

/* ------------------------------------------------------------ IWDG (RM0008 19.4) */
#define IWDG_KR REG32(IWDG_BASE + 0x00u)
#define IWDG_KEY_RELOAD 0xAAAAu
#define IWDG_KEY_ENABLE 0x5555u
#define IWDG_KEY_START 0xCCCCu
#define IWDG_PR REG32(IWDG_BASE + 0x04u)       /* prescaler /4 << PR */
#define IWDG_RLR REG32(IWDG_BASE + 0x08u)      /* 12-bit reload */
#define IWDG_SR REG32(IWDG_BASE + 0x0Cu)
#define IWDG_SR_PVU BIT(0)
#define IWDG_SR_RVU BIT(1)

/* ------------------------------------------------------------ Cortex-M3 core (PM0056 4.3-4.5) */
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))  /* 4.3.2 */
#define NVIC_IPR8(irq) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (irq)))  /* 4.3.7 */
#define SCB_AIRCR REG32(0xE000ED0Cu)                /* 4.4.5 */
#define SCB_AIRCR_RESET (0x05FA0000u | BIT(2))      /* VECTKEY, SYSRESETREQ */
#define SCB_VTOR REG32(0xE000ED08u)
#define SYST_CSR REG32(0xE000E010u)                 /* 4.5 */
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE BIT(0)
#define SYST_CSR_TICKINT BIT(1)
#define SYST_CSR_CLKSOURCE_CPU BIT(2)
#define DEMCR REG32(0xE000EDFCu)                    /* ARMv7-M ARM C1.6.5 */
#define DEMCR_TRCENA BIT(24)
#define DWT_CTRL REG32(0xE0001000u)                 /* ARMv7-M ARM C1.8.7 */
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_CTRL_CYCCNTENA BIT(0)

/* IRQ numbers of the connectivity line (RM0008 10.1.2, Table 61) */
#define IRQ_DMA1_CH1 11u
#define IRQ_CAN1_TX 19u
#define IRQ_CAN1_RX0 20u
#define IRQ_CAN1_RX1 21u
#define IRQ_CAN1_SCE 22u

static inline void nvic_enable(uint32_t irq, uint8_t priority)
{
    NVIC_IPR8(irq) = (uint8_t)(priority << 4); /* 4 priority bits on the STM32F1 */
    NVIC_ISER(irq >> 5) = BIT(irq & 31u);
}

static inline void irq_disable(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void irq_enable(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

static inline void wait_for_interrupt(void)
{
    __asm__ volatile("wfi");
}

#endif /* WW_STM32F107_H */
