/*
 * qemu_m3.c - see qemu_m3.h: vector table, reset, semihosting, SysTick.
 */
#include "qemu_m3.h"

#include <stddef.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
static void fault(void);

#define STACK_PAINT 0xA5A5A5A5u

__attribute__((section(".isr_vector"), used)) static void (*const g_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, Reset_Handler, fault, fault, fault, fault, fault, NULL,
    NULL, NULL, NULL, fault, fault, NULL, fault, SysTick_Handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; dst++) {
        *dst = 0u;
    }
    /* paint the stack below the current frame (with a margin) */
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &_sstack; (uintptr_t)p < sp - 64u; p++) {
        *p = STACK_PAINT;
    }
    qm3_exit(main() == 0);
}

/* ------------------------------------------------------------ semihosting */

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void qm3_puts(const char *s)
{
    (void)semihost(0x04, s); /* SYS_WRITE0 */
}

void qm3_put_u64(uint64_t v)
{
    char b[24];
    int k = 23;
    b[k] = '\0';
    do {
        b[--k] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v > 0u);
    qm3_puts(&b[k]);
}

void qm3_put_fixed(int64_t v, unsigned decimals)
{
    uint64_t scale = 1u;
    for (unsigned k = 0; k < decimals; k++) {
        scale *= 10u;
    }
    if (v < 0) {
        qm3_puts("-");
        v = -v;
    }
    qm3_put_u64((uint64_t)v / scale);
    if (decimals > 0u) {
        char b[24];
        uint64_t f = (uint64_t)v % scale;
        b[decimals] = '\0';
        for (int k = (int)decimals - 1; k >= 0; k--) {
            b[k] = (char)('0' + f % 10u);
            f /= 10u;
        }
        qm3_puts(".");
        qm3_puts(b);
    }
}

_Noreturn void qm3_exit(int ok)
{
    /* SYS_EXIT: ADP_Stopped_ApplicationExit -> status 0, RunTimeErrorUnknown -> 1 */
    (void)semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026u : 0x20023u));
    for (;;) {
    }
}

static void fault(void)
{
    qm3_puts("qemu_m3: fault\n");
    qm3_exit(0 == 1);
}

/* ------------------------------------------------------------ SysTick */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static volatile uint32_t g_wraps;
static uint64_t g_ticks_per_kinsn_q16; /* SysTick ticks per 1000 instructions, Q16 */

void SysTick_Handler(void)
{
    g_wraps++;
}

static uint64_t ticks(void)
{
    uint32_t w, v;
    do {
        w = g_wraps;
        v = SYST_CVR;
    } while (w != g_wraps);
    return (uint64_t)w * (SYST_RELOAD + 1u) + (SYST_RELOAD - v);
}

/* 3 instructions per round: subs, bne, and one nop to fill. */
static void known_loop(uint32_t rounds)
{
    __asm__ volatile("1: subs %0, %0, #1\n nop\n bne 1b\n" : "+r"(rounds) : : "cc");
}

/* LM3S6965 system control: QEMU derives the CPU clock (and SysTick's) from
 * RCC, and only once it is written. Reset value: main oscillator, PLL
 * bypassed, /1. */
#define SYSCTL_RCC (*(volatile uint32_t *)0x400FE060u)
#define SYSCTL_RCC_RESET 0x078E3AC0u

void qm3_init(void)
{
    SYSCTL_RCC = SYSCTL_RCC_RESET;
    /* the clock source first, then enable (QEMU before 7.0 mishandles both
     * at once) */
    SYST_CSR = 0x4u; /* CPU clock */
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0u;
    SYST_CSR = 0x7u; /* enable, interrupt, CPU clock */
    /* the counter loads the reload value on its first tick */
    while (SYST_CVR == 0u) {
    }
    g_wraps = 0u;
    /* calibrate: 3 million instructions */
    uint64_t t0 = ticks();
    known_loop(1000000u);
    uint64_t t1 = ticks();
    g_ticks_per_kinsn_q16 = ((t1 - t0) << 16) / 3000u;
}

uint64_t qm3_instructions(void)
{
    return g_ticks_per_kinsn_q16 > 0u ? (ticks() << 16) * 1000u / g_ticks_per_kinsn_q16 : 0u;
}

uint32_t qm3_stack_used(void)
{
    uint32_t *p = &_sstack;
    while (p < &_estack && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}
