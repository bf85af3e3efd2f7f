/*
 * qemu_m3.h - a small harness for running code on a Cortex-M3 under QEMU
 * (machine lm3s6965evb) and counting its instructions: semihosting output and
 * exit status, SysTick as an instruction counter under -icount shift=0, and
 * the stack's high-water mark. Reusable by any firmware test or benchmark:
 * link qemu_m3.c and lm3s6965.ld, call qm3_init() first in main().
 *
 * Run:  qemu-system-arm -M lm3s6965evb -nographic -monitor none -serial none
 *         -icount shift=0,align=off,sleep=off
 *         -chardev stdio,id=sh0 -semihosting-config enable=on,target=native,chardev=sh0
 *         -kernel program.elf
 *
 * With -icount shift=0 QEMU advances its virtual clock by 1 ns per
 * instruction, deterministically, and SysTick (CPU clock) counts that clock;
 * qm3_init() measures how many ticks a known number of instructions takes,
 * so qm3_instructions() converts ticks to instructions. These are QEMU's
 * instruction counts, not Cortex-M3 cycles (no pipeline, no flash wait
 * states): calibrate a cycles-per-instruction factor once on hardware.
 */
#ifndef WW_QEMU_M3_H
#define WW_QEMU_M3_H

#include <stdint.h>

void qm3_init(void);

/* Instructions executed since qm3_init (SysTick, resolution ~80). */
uint64_t qm3_instructions(void);

void qm3_puts(const char *s);
void qm3_put_u64(uint64_t v);
/* v / 10^decimals with that many decimals */
void qm3_put_fixed(int64_t v, unsigned decimals);

/* Deepest the stack has been, bytes (the stack is painted at reset). */
uint32_t qm3_stack_used(void);

/* Ends the program: QEMU exits with status 0 (ok) or 1. */
_Noreturn void qm3_exit(int ok);

#endif
