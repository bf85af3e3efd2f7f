/*
 * flash_sim.h - a simulated NOR flash with the STM32F1's rules (RM0008 3.3:
 * half-word programming of erased cells only, except that 0x0000 may be
 * programmed over anything; page erase to 0xFFFF) that loses power in the
 * middle of any chosen operation. A cut program leaves the half-word with
 * only some of its bits programmed, a cut erase leaves every half-word of
 * the page partly erased, and either kind of torn cell reads unreliably:
 * each read returns the old state, the intended state or a bitwise mix of
 * the two. After the cut every operation fails until fsim_power_on().
 * Implements ee_flash_t for the EEPROM emulation tests.
 */
#ifndef WW_FLASH_SIM_H
#define WW_FLASH_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "eeprom_emul.h"

#define FSIM_MAX_HALFWORDS 4096u

typedef struct {
    uint32_t pages, page_size;
    uint16_t val[FSIM_MAX_HALFWORDS]; /* what the cell holds firmly */
    uint16_t alt[FSIM_MAX_HALFWORDS]; /* torn: the state it was heading to */
    bool weak[FSIM_MAX_HALFWORDS];
    uint64_t ops;        /* programs and erases so far */
    uint64_t cut_at;     /* this operation is torn (0: never) */
    bool off;
    uint32_t rng;
    uint32_t erase_count[EE_MAX_PAGES];
    ee_flash_t ops_if;
} fsim_t;

void fsim_init(fsim_t *f, uint32_t pages, uint32_t page_size, uint32_t seed);
void fsim_power_on(fsim_t *f, uint64_t cut_at);

#endif
