/*
 * flash_sim.c - see flash_sim.h.
 */
#include "flash_sim.h"

#include <string.h>

static uint16_t rnd(fsim_t *f)
{
    f->rng = f->rng * 1103515245u + 12345u;
    return (uint16_t)(f->rng >> 12);
}

static uint16_t sim_read(void *ctx, uint32_t page, uint32_t off)
{
    fsim_t *f = ctx;
    uint32_t i = (page * f->page_size + off) / 2u;
    if (!f->weak[i]) {
        return f->val[i];
    }
    switch (rnd(f) % 3u) {
    case 0: return f->val[i];
    case 1: return f->alt[i];
    default: {
        uint16_t m = rnd(f);
        return (uint16_t)((f->val[i] & m) | (f->alt[i] & (uint16_t)~m));
    }
    }
}

/* true if this operation may run; on the cut one, power goes. */
static bool begin(fsim_t *f, bool *torn)
{
    if (f->off) {
        return false;
    }
    f->ops++;
    *torn = f->cut_at != 0u && f->ops == f->cut_at;
    if (*torn) {
        f->off = true;
    }
    return true;
}

static bool sim_program(void *ctx, uint32_t page, uint32_t off, uint16_t v)
{
    fsim_t *f = ctx;
    bool torn;
    if (page >= f->pages || off + 2u > f->page_size || (off & 1u) || !begin(f, &torn)) {
        return false;
    }
    uint32_t i = (page * f->page_size + off) / 2u;
    /* the hardware checks the cell (as it reads now) before programming */
    if (v != 0u && sim_read(f, page, off) != 0xFFFFu) {
        return false; /* PGERR */
    }
    uint16_t target = (uint16_t)(f->val[i] & v);
    if (torn) {
        uint16_t r;
        switch (rnd(f) % 4u) {
        case 0: r = 0xFFFFu; break;  /* nothing programmed yet */
        case 1: r = 0u; break;       /* all bits programmed, weakly */
        default: r = rnd(f); break;
        }
        f->alt[i] = target;
        f->val[i] = (uint16_t)(f->val[i] & (v | r));
        f->weak[i] = true;
        return false;
    }
    f->val[i] = target;
    f->weak[i] = false;
    return true;
}

static bool sim_erase(void *ctx, uint32_t page)
{
    fsim_t *f = ctx;
    bool torn;
    if (page >= f->pages || !begin(f, &torn)) {
        return false;
    }
    uint32_t n = f->page_size / 2u, base = page * n;
    uint32_t mode = torn ? rnd(f) % 4u : 0u;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = base + k;
        if (!torn) {
            f->val[i] = 0xFFFFu;
            f->weak[i] = false;
            continue;
        }
        /* 0: nothing erased yet, 1: erased but weak, else partly */
        uint16_t r = mode == 0u ? 0u : mode == 1u ? 0xFFFFu : rnd(f);
        f->alt[i] = 0xFFFFu;
        f->val[i] = (uint16_t)(f->val[i] | r);
        f->weak[i] = f->val[i] != 0xFFFFu || mode == 1u;
    }
    if (!torn) {
        f->erase_count[page]++;
    }
    return !torn;
}

void fsim_init(fsim_t *f, uint32_t pages, uint32_t page_size, uint32_t seed)
{
    memset(f, 0, sizeof *f);
    f->pages = pages;
    f->page_size = page_size;
    f->rng = seed;
    for (uint32_t k = 0; k < pages * page_size / 2u; k++) {
        f->val[k] = 0xFFFFu;
    }
    f->ops_if = (ee_flash_t){pages, page_size, f, sim_read, sim_program, sim_erase};
}

void fsim_power_on(fsim_t *f, uint64_t cut_at)
{
    f->off = false;
    f->cut_at = cut_at == 0u ? 0u : f->ops + cut_at;
}
