/*
 * eeprom_emul.h - a power-cut-safe key/value store in flash pages (EEPROM
 * emulation), over a small flash-operations interface: read a half-word,
 * program a half-word, erase a page. Portable, no allocation; the STM32
 * board implements the operations with the FLASH registers (RM0008 3.3),
 * the host tests with a simulated flash that can be cut in any operation.
 *
 * Log format (little-endian half-words, programmed in this order):
 *
 *   full record  h0 = 0xA500 | key (key < EE_KEYS)
 *                h1 = data length in bytes (<= EE_DATA_MAX)
 *                h2, h3 = sequence number (u32, one more per record written)
 *                data, padded with 0x00 to a whole half-word
 *                CRC-32 (crc32_ieee) of every byte before it, 2 half-words
 *   tick         h0 = 0xA580 | key << 2 | kind, h1 = ~h0: "counter `kind` of
 *                key went up by one" since the key's full record before it
 *                in the same page (the application folds ticks into the
 *                data at mount: ee_fold_fn)
 *   dead         h0 = 0x0000: an interrupted write, killed at mount
 *   blank        0xFFFF to the end of the page: where the next record goes
 *
 * Rules that make it survive a power cut at any instant (docs/firmware.md,
 * "EEPROM emulation"):
 *   1. A key's value is its full record with the highest sequence number
 *      (plus the ticks after it in its page); every record is
 *      self-checking (CRC, or the tick's complement), so a half-written
 *      one is never taken for a different value.
 *   2. A page is erased only if it holds no key's current record, so an
 *      interrupted erase can only destroy superseded data.
 *   3. At mount, before anything is written, the first unreadable record
 *      of every page is killed (h0 programmed to 0x0000, which flash allows
 *      over any contents) and nothing is appended after it: a torn record
 *      that one read sees as invalid can never come back valid next to a
 *      newer record with the same sequence number.
 *   4. Nothing is appended to a page written before the mount (its last
 *      record may be torn yet have read valid once): the first write after
 *      a mount starts a fresh page.
 *   5. The newest record found at mount may be the torn last write of the
 *      previous power cycle that happened to read valid: until its key is
 *      written again, the page of that key's previous record is not erased,
 *      and the first write after a mount rewrites that key first, so the
 *      value the meter now runs on becomes a record that was read back.
 *   6. A write counts as committed when ee_put/ee_tick returns true, after
 *      every half-word was read back.
 */
#ifndef WW_EEPROM_EMUL_H
#define WW_EEPROM_EMUL_H

#include <stdbool.h>
#include <stdint.h>

#define EE_KEYS 4u          /* keys 0..3 */
#define EE_TICK_KINDS 4u    /* counters per key that can tick */
#define EE_DATA_MAX 96u     /* bytes of one value */
#define EE_MAX_PAGES 32u

#define EE_REC_MAGIC 0xA500u
#define EE_TICK_MAGIC 0xA580u
#define EE_HDR_BYTES 8u
#define EE_CRC_BYTES 4u
#define EE_TICK_BYTES 4u

/* Bytes a full record of len data bytes takes in flash. */
#define EE_RECORD_BYTES(len) (EE_HDR_BYTES + (((uint32_t)(len) + 1u) & ~1u) + EE_CRC_BYTES)

typedef struct {
    uint32_t pages;     /* EE_KEYS + 2 .. EE_MAX_PAGES (every key's page, one pinned, one to erase) */
    uint32_t page_size; /* bytes, even */
    void *ctx;
    /* the half-word at byte offset off of page */
    uint16_t (*read)(void *ctx, uint32_t page, uint32_t off);
    /* false if the flash refused or failed (the store reads back anyway) */
    bool (*program)(void *ctx, uint32_t page, uint32_t off, uint16_t value);
    bool (*erase)(void *ctx, uint32_t page);
} ee_flash_t;

/* Adds ticks[kind] increments to a key's value (at mount, to the value of
 * its last full record). */
typedef void (*ee_fold_fn)(void *ctx, uint8_t key, uint8_t *data, uint16_t len,
                           const uint16_t ticks[EE_TICK_KINDS]);

typedef struct {
    bool present;
    uint32_t seq;
    uint32_t page;
    bool has_prev;       /* the record before the current one */
    uint32_t prev_seq, prev_page;
    uint16_t len;
    uint16_t ticks[EE_TICK_KINDS];
    uint8_t data[EE_DATA_MAX]; /* the current value, ticks folded in */
} ee_key_t;

typedef struct {
    uint32_t mounts;
    uint32_t records;    /* full records written */
    uint32_t ticks;      /* ticks written */
    uint32_t erases;
    uint32_t killed;     /* torn records killed at mount */
    uint32_t failures;   /* writes that did not read back */
} ee_stats_t;

typedef struct {
    const ee_flash_t *fl;
    ee_fold_fn fold;
    void *fold_ctx;
    bool mounted;
    uint32_t next_seq;
    bool has_head;
    uint32_t head;       /* page written last */
    uint32_t head_off;   /* where the next record goes */
    bool head_open;      /* head_off is blank to the end of the page */
    uint32_t page_seq[EE_MAX_PAGES]; /* highest sequence number in the page, 0: none */
    bool suspect_pending; /* rule 5: the newest record at mount is not yet rewritten */
    uint8_t suspect;
    ee_key_t key[EE_KEYS];
    ee_stats_t stats;
} ee_t;

/* Scans the flash, kills torn records, loads every key's current value.
 * Returns false for an unusable geometry (nothing is touched then). fold
 * may be NULL if no key ticks. */
bool ee_mount(ee_t *ee, const ee_flash_t *fl, ee_fold_fn fold, void *fold_ctx);

/* The current value of key (NULL if none), its length in *len. */
const uint8_t *ee_get(const ee_t *ee, uint8_t key, uint16_t *len);

/* Writes a new value; true once it is committed (read back). */
bool ee_put(ee_t *ee, uint8_t key, const uint8_t *data, uint16_t len);

/* Counter `kind` of key went up by one and the value is now data: writes a
 * 4-byte tick if the key's record is in the page being written, otherwise
 * the whole value (ee_put). True once committed. */
bool ee_tick(ee_t *ee, uint8_t key, uint8_t kind, const uint8_t *data, uint16_t len);

#endif /* WW_EEPROM_EMUL_H */
