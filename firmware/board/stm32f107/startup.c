/*
 * startup.c - STM32F107 (connectivity line, Cortex-M3) start-up code in C:
 * vector table in section .isr_vector, Reset_Handler that copies .data from
 * flash, zeroes .bss and calls main(). Every handler is a weak alias of
 * Default_Handler, which spins, so the board layer can override any of them
 * by defining a function with the same name.
 *
 * Reset_Handler also copies the vector table into RAM and points VTOR at
 * it, so that taking an interrupt reads no flash: the DMA and CAN handlers
 * (and the code they need, section .ramfunc, copied with .data) then keep
 * running while the flash erases a page (board.c). The clocks are set up
 * by board_init() (board.c), from main().
 */
#include <stddef.h>
#include <stdint.h>

/* Provided by stm32f107.ld */
extern uint32_t _sidata; /* load address of .data in flash */
extern uint32_t _sdata;  /* .data in RAM */
extern uint32_t _edata;
extern uint32_t _sbss;
extern uint32_t _ebss;
extern uint32_t _estack; /* top of RAM */

int main(void);
void Reset_Handler(void);
void Default_Handler(void);

#define WEAK_ALIAS __attribute__((weak, alias("Default_Handler")))

/* Cortex-M3 system exceptions */
void NMI_Handler(void) WEAK_ALIAS;
void HardFault_Handler(void) WEAK_ALIAS;
void MemManage_Handler(void) WEAK_ALIAS;
void BusFault_Handler(void) WEAK_ALIAS;
void UsageFault_Handler(void) WEAK_ALIAS;
void SVC_Handler(void) WEAK_ALIAS;
void DebugMon_Handler(void) WEAK_ALIAS;
void PendSV_Handler(void) WEAK_ALIAS;
void SysTick_Handler(void) WEAK_ALIAS;

/* STM32F105/107 peripheral interrupts, IRQ 0..67 (RM0008 vector table) */
void WWDG_IRQHandler(void) WEAK_ALIAS;
void PVD_IRQHandler(void) WEAK_ALIAS;
void TAMPER_IRQHandler(void) WEAK_ALIAS;
void RTC_IRQHandler(void) WEAK_ALIAS;
void FLASH_IRQHandler(void) WEAK_ALIAS;
void RCC_IRQHandler(void) WEAK_ALIAS;
void EXTI0_IRQHandler(void) WEAK_ALIAS;
void EXTI1_IRQHandler(void) WEAK_ALIAS;
void EXTI2_IRQHandler(void) WEAK_ALIAS;
void EXTI3_IRQHandler(void) WEAK_ALIAS;
void EXTI4_IRQHandler(void) WEAK_ALIAS;
void DMA1_Channel1_IRQHandler(void) WEAK_ALIAS;
void DMA1_Channel2_IRQHandler(void) WEAK_ALIAS;
void DMA1_Channel3_IRQHandler(void) WEAK_ALIAS;
void DMA1_Channel4_IRQHandler(void) WEAK_ALIAS;
void DMA1_Channel5_IRQHandler(void) WEAK_ALIAS;
void DMA1_Channel6_IRQHandler(void) WEAK_ALIAS;
void DMA1_Channel7_IRQHandler(void) WEAK_ALIAS;
void ADC1_2_IRQHandler(void) WEAK_ALIAS;
void CAN1_TX_IRQHandler(void) WEAK_ALIAS;
void CAN1_RX0_IRQHandler(void) WEAK_ALIAS;
void CAN1_RX1_IRQHandler(void) WEAK_ALIAS;
void CAN1_SCE_IRQHandler(void) WEAK_ALIAS;
void EXTI9_5_IRQHandler(void) WEAK_ALIAS;
void TIM1_BRK_IRQHandler(void) WEAK_ALIAS;
void TIM1_UP_IRQHandler(void) WEAK_ALIAS;
void TIM1_TRG_COM_IRQHandler(void) WEAK_ALIAS;
void TIM1_CC_IRQHandler(void) WEAK_ALIAS;
void TIM2_IRQHandler(void) WEAK_ALIAS;
void TIM3_IRQHandler(void) WEAK_ALIAS;
void TIM4_IRQHandler(void) WEAK_ALIAS;
void I2C1_EV_IRQHandler(void) WEAK_ALIAS;
void I2C1_ER_IRQHandler(void) WEAK_ALIAS;
void I2C2_EV_IRQHandler(void) WEAK_ALIAS;
void I2C2_ER_IRQHandler(void) WEAK_ALIAS;
void SPI1_IRQHandler(void) WEAK_ALIAS;
void SPI2_IRQHandler(void) WEAK_ALIAS;
void USART1_IRQHandler(void) WEAK_ALIAS;
void USART2_IRQHandler(void) WEAK_ALIAS;
void USART3_IRQHandler(void) WEAK_ALIAS;
void EXTI15_10_IRQHandler(void) WEAK_ALIAS;
void RTCAlarm_IRQHandler(void) WEAK_ALIAS;
void OTG_FS_WKUP_IRQHandler(void) WEAK_ALIAS;
void TIM5_IRQHandler(void) WEAK_ALIAS;
void SPI3_IRQHandler(void) WEAK_ALIAS;
void UART4_IRQHandler(void) WEAK_ALIAS;
void UART5_IRQHandler(void) WEAK_ALIAS;
void TIM6_IRQHandler(void) WEAK_ALIAS;
void TIM7_IRQHandler(void) WEAK_ALIAS;
void DMA2_Channel1_IRQHandler(void) WEAK_ALIAS;
void DMA2_Channel2_IRQHandler(void) WEAK_ALIAS;
void DMA2_Channel3_IRQHandler(void) WEAK_ALIAS;
void DMA2_Channel4_IRQHandler(void) WEAK_ALIAS;
void DMA2_Channel5_IRQHandler(void) WEAK_ALIAS;
void ETH_IRQHandler(void) WEAK_ALIAS;
void ETH_WKUP_IRQHandler(void) WEAK_ALIAS;
void CAN2_TX_IRQHandler(void) WEAK_ALIAS;
void CAN2_RX0_IRQHandler(void) WEAK_ALIAS;
void CAN2_RX1_IRQHandler(void) WEAK_ALIAS;
void CAN2_SCE_IRQHandler(void) WEAK_ALIAS;
void OTG_FS_IRQHandler(void) WEAK_ALIAS;

/* Entry 0 is the initial stack pointer, the others are handlers: a union
 * keeps the table free of object/function pointer casts. */
typedef union {
    void (*handler)(void);
    uint32_t *stack_top;
} vector_t;

#define V(h) {.handler = (h)}
#define RESERVED {.handler = NULL}

#define NUM_IRQS 68u
#define NUM_VECTORS (16u + NUM_IRQS)

__attribute__((section(".isr_vector"), used)) const vector_t g_vector_table[NUM_VECTORS] = {
    {.stack_top = &_estack},
    V(Reset_Handler),
    V(NMI_Handler),
    V(HardFault_Handler),
    V(MemManage_Handler),
    V(BusFault_Handler),
    V(UsageFault_Handler),
    RESERVED,
    RESERVED,
    RESERVED,
    RESERVED,
    V(SVC_Handler),
    V(DebugMon_Handler),
    RESERVED,
    V(PendSV_Handler),
    V(SysTick_Handler),
    /* IRQ 0 */ V(WWDG_IRQHandler),
    V(PVD_IRQHandler),
    V(TAMPER_IRQHandler),
    V(RTC_IRQHandler),
    V(FLASH_IRQHandler),
    V(RCC_IRQHandler),
    V(EXTI0_IRQHandler),
    V(EXTI1_IRQHandler),
    V(EXTI2_IRQHandler),
    V(EXTI3_IRQHandler),
    /* IRQ 10 */ V(EXTI4_IRQHandler),
    V(DMA1_Channel1_IRQHandler),
    V(DMA1_Channel2_IRQHandler),
    V(DMA1_Channel3_IRQHandler),
    V(DMA1_Channel4_IRQHandler),
    V(DMA1_Channel5_IRQHandler),
    V(DMA1_Channel6_IRQHandler),
    V(DMA1_Channel7_IRQHandler),
    V(ADC1_2_IRQHandler),
    V(CAN1_TX_IRQHandler),
    /* IRQ 20 */ V(CAN1_RX0_IRQHandler),
    V(CAN1_RX1_IRQHandler),
    V(CAN1_SCE_IRQHandler),
    V(EXTI9_5_IRQHandler),
    V(TIM1_BRK_IRQHandler),
    V(TIM1_UP_IRQHandler),
    V(TIM1_TRG_COM_IRQHandler),
    V(TIM1_CC_IRQHandler),
    V(TIM2_IRQHandler),
    V(TIM3_IRQHandler),
    /* IRQ 30 */ V(TIM4_IRQHandler),
    V(I2C1_EV_IRQHandler),
    V(I2C1_ER_IRQHandler),
    V(I2C2_EV_IRQHandler),
    V(I2C2_ER_IRQHandler),
    V(SPI1_IRQHandler),
    V(SPI2_IRQHandler),
    V(USART1_IRQHandler),
    V(USART2_IRQHandler),
    V(USART3_IRQHandler),
    /* IRQ 40 */ V(EXTI15_10_IRQHandler),
    V(RTCAlarm_IRQHandler),
    V(OTG_FS_WKUP_IRQHandler),
    /* IRQ 43..49 reserved */ RESERVED,
    RESERVED,
    RESERVED,
    RESERVED,
    RESERVED,
    RESERVED,
    RESERVED,
    /* IRQ 50 */ V(TIM5_IRQHandler),
    V(SPI3_IRQHandler),
    V(UART4_IRQHandler),
    V(UART5_IRQHandler),
    V(TIM6_IRQHandler),
    V(TIM7_IRQHandler),
    V(DMA2_Channel1_IRQHandler),
    V(DMA2_Channel2_IRQHandler),
    V(DMA2_Channel3_IRQHandler),
    V(DMA2_Channel4_IRQHandler),
    /* IRQ 60 */ V(DMA2_Channel5_IRQHandler),
    V(ETH_IRQHandler),
    V(ETH_WKUP_IRQHandler),
    V(CAN2_TX_IRQHandler),
    V(CAN2_RX0_IRQHandler),
    V(CAN2_RX1_IRQHandler),
    V(CAN2_SCE_IRQHandler),
    /* IRQ 67 */ V(OTG_FS_IRQHandler),
};

_Static_assert(sizeof g_vector_table == NUM_VECTORS * 4u, "one 32-bit word per vector");

/* VTOR needs the table aligned to its size rounded up to a power of two
 * (84 words -> 512 bytes; PM0056 4.4.4). Its own section, which the linker
 * script places first at ORIGIN(RAM) (aligned, so no padding ahead of
 * .data); NOLOAD, so neither the .data copy nor the .bss zeroing touches
 * it: the loop below fills every entry before VTOR points at it. */
static vector_t g_ram_vectors[NUM_VECTORS] __attribute__((section(".ram_vectors"), aligned(512), used));
#define SCB_VTOR_REG (*(volatile uint32_t *)0xE000ED08u)

void Reset_Handler(void)
{
    /* Word counts from the linker symbols (all 4-byte aligned by the script). */
    size_t data_words = ((uintptr_t)&_edata - (uintptr_t)&_sdata) / sizeof(uint32_t);
    size_t bss_words = ((uintptr_t)&_ebss - (uintptr_t)&_sbss) / sizeof(uint32_t);
    const uint32_t *src = &_sidata;
    uint32_t *dst = &_sdata;

    for (size_t k = 0; k < data_words; k++) {
        dst[k] = src[k];
    }
    dst = &_sbss;
    for (size_t k = 0; k < bss_words; k++) {
        dst[k] = 0u;
    }
    for (size_t k = 0; k < NUM_VECTORS; k++) {
        g_ram_vectors[k] = g_vector_table[k];
    }
    SCB_VTOR_REG = (uint32_t)(uintptr_t)g_ram_vectors;
    __asm__ volatile("dsb\n isb" ::: "memory");
    (void)main();
    for (;;) {
        /* main() must not return; if it does, stay here */
    }
}

void Default_Handler(void)
{
    for (;;) {
        /* unexpected interrupt or fault: spin (a debugger shows where) */
    }
}
