/*
 * eeprom_emul.c - see eeprom_emul.h for the format and the rules.
 */
#include "eeprom_emul.h"

#include <stddef.h>

#include "crc32.h"
#include "wbytes.h"

#define BLANK 0xFFFFu

static uint16_t rd(const ee_t *ee, uint32_t page, uint32_t off)
{
    return ee->fl->read(ee->fl->ctx, page, off);
}

/* Programs one half-word and reads it back. */
static bool prog(ee_t *ee, uint32_t page, uint32_t off, uint16_t v)
{
    bool ok = ee->fl->program(ee->fl->ctx, page, off, v);
    return ok && rd(ee, page, off) == v;
}

static bool blank_from(const ee_t *ee, uint32_t page, uint32_t off)
{
    for (; off + 2u <= ee->fl->page_size; off += 2u) {
        if (rd(ee, page, off) != BLANK) {
            return false;
        }
    }
    return true;
}

/* The record's bytes before the CRC: header and padded data. */
static uint32_t image(uint8_t key, const uint8_t *data, uint16_t len, uint32_t seq,
                      uint8_t out[EE_HDR_BYTES + EE_DATA_MAX])
{
    uint32_t n = EE_HDR_BYTES + (((uint32_t)len + 1u) & ~1u);
    uint16_t h0 = (uint16_t)(EE_REC_MAGIC | key);
    ww_put_le16(&out[0], h0);
    ww_put_le16(&out[2], len);
    ww_put_le32(&out[4], seq);
    for (uint32_t k = 0; k < n - EE_HDR_BYTES; k++) {
        out[EE_HDR_BYTES + k] = k < len ? data[k] : 0u;
    }
    return n;
}

/* ------------------------------------------------------------ mount */

/* Reads the full record at off into buf (one read of each half-word, so
 * the checks and the data agree even on cells that read unreliably).
 * Returns its size, or 0 if it is not a valid record. */
static uint32_t read_record(const ee_t *ee, uint32_t page, uint32_t off, uint16_t h0,
                            uint8_t buf[EE_HDR_BYTES + EE_DATA_MAX], uint32_t *seq)
{
    uint32_t ps = ee->fl->page_size;
    if (off + 4u > ps) {
        return 0;
    }
    uint16_t len = rd(ee, page, off + 2u);
    if (len > EE_DATA_MAX || off + EE_RECORD_BYTES(len) > ps) {
        return 0;
    }
    uint32_t body = EE_HDR_BYTES + (((uint32_t)len + 1u) & ~1u);
    ww_put_le16(&buf[0], h0);
    ww_put_le16(&buf[2], len);
    for (uint32_t k = 4; k < body; k += 2u) {
        ww_put_le16(&buf[k], rd(ee, page, off + k));
    }
    uint32_t crc = (uint32_t)rd(ee, page, off + body) | (uint32_t)rd(ee, page, off + body + 2u) << 16;
    if (crc != crc32_ieee(buf, body)) {
        return 0;
    }
    *seq = ww_get_le32(&buf[4]);
    return body + EE_CRC_BYTES;
}

/* Scans one page: its records into the keys, its end into *end. Returns
 * true if the page is blank from *end on (open for appending). */
static bool scan_page(ee_t *ee, uint32_t p, uint32_t *end)
{
    uint32_t ps = ee->fl->page_size;
    uint32_t off = 0;
    uint8_t buf[EE_HDR_BYTES + EE_DATA_MAX];
    ee->page_seq[p] = 0;
    while (off + 2u <= ps) {
        uint16_t h0 = rd(ee, p, off);
        if (h0 == BLANK) {
            if (blank_from(ee, p, off)) {
                *end = off;
                return true;
            }
        } else if ((h0 & 0xFF80u) == EE_TICK_MAGIC) {
            uint8_t key = (uint8_t)((h0 >> 2) & 0x1Fu);
            uint16_t inv = (uint16_t)(h0 ^ 0xFFFFu);
            uint16_t h1 = off + EE_TICK_BYTES <= ps ? rd(ee, p, off + 2u) : BLANK;
            if (off + EE_TICK_BYTES <= ps && h1 == inv && key < EE_KEYS) {
                ee_key_t *k = &ee->key[key];
                /* only ticks after the key's current record, in its page */
                if (k->present && k->page == p && k->ticks[h0 & 3u] < 0xFFFFu) {
                    k->ticks[h0 & 3u]++;
                }
                off += EE_TICK_BYTES;
                continue;
            }
        } else if ((h0 & 0xFF80u) == EE_REC_MAGIC && (h0 & 0x7Fu) < EE_KEYS) {
            uint32_t seq = 0;
            uint32_t size = read_record(ee, p, off, h0, buf, &seq);
            if (size > 0u) {
                ee_key_t *k = &ee->key[h0 & 0x7Fu];
                if (!k->present || seq > k->seq) {
                    if (k->present) {
                        k->has_prev = true;
                        k->prev_seq = k->seq;
                        k->prev_page = k->page;
                    }
                    k->present = true;
                    k->seq = seq;
                    k->page = p;
                    k->len = ww_get_le16(&buf[2]);
                    for (uint32_t j = 0; j < EE_TICK_KINDS; j++) {
                        k->ticks[j] = 0;
                    }
                    for (uint32_t j = 0; j < k->len; j++) {
                        k->data[j] = buf[EE_HDR_BYTES + j];
                    }
                }
                else if (!k->has_prev || seq > k->prev_seq) {
                    k->has_prev = true;
                    k->prev_seq = seq;
                    k->prev_page = p;
                }
                if (seq > ee->page_seq[p]) {
                    ee->page_seq[p] = seq;
                }
                off += size;
                continue;
            }
        }
        /* Unreadable: a torn write or an interrupted erase. Kill it so that
         * it stays unreadable, and append nothing after it (rule 3). */
        if (h0 != 0u) {
            (void)ee->fl->program(ee->fl->ctx, p, off, 0u);
            ee->stats.killed++;
        }
        *end = off;
        return false;
    }
    *end = off;
    return false; /* full */
}

bool ee_mount(ee_t *ee, const ee_flash_t *fl, ee_fold_fn fold, void *fold_ctx)
{
    if (ee == NULL || fl == NULL || fl->pages < EE_KEYS + 2u || fl->pages > EE_MAX_PAGES ||
        fl->page_size < 2u * EE_RECORD_BYTES(EE_DATA_MAX) || (fl->page_size & 1u) != 0u ||
        fl->read == NULL || fl->program == NULL || fl->erase == NULL) {
        return false;
    }
    ee_stats_t stats = ee->mounted ? ee->stats : (ee_stats_t){0};
    *ee = (ee_t){0};
    ee->stats = stats;
    ee->stats.mounts++;
    ee->fl = fl;
    ee->fold = fold;
    ee->fold_ctx = fold_ctx;
    uint32_t max_seq = 0, ends[EE_MAX_PAGES];
    for (uint32_t p = 0; p < fl->pages; p++) {
        (void)scan_page(ee, p, &ends[p]);
        if (ee->page_seq[p] > max_seq) {
            max_seq = ee->page_seq[p];
            ee->has_head = true;
            ee->head = p;
        }
    }
    /* Nothing is appended to a page written before this mount: its last
     * record may have been torn and read valid just now, and could read
     * invalid at the next mount, hiding whatever followed it. The first
     * write after a mount starts a fresh page (one erase per power-up). */
    if (ee->has_head) {
        ee->head_off = ends[ee->head];
    }
    ee->head_open = false;
    for (uint32_t k = 0; k < EE_KEYS && ee->has_head; k++) {
        if (ee->key[k].present && ee->key[k].seq == max_seq) {
            ee->suspect = (uint8_t)k;
            ee->suspect_pending = true;
        }
    }
    ee->next_seq = max_seq + 1u;
    for (uint32_t k = 0; k < EE_KEYS; k++) {
        ee_key_t *key = &ee->key[k];
        bool ticked = false;
        for (uint32_t j = 0; j < EE_TICK_KINDS; j++) {
            ticked = ticked || key->ticks[j] > 0u;
        }
        if (key->present && ticked && fold != NULL) {
            fold(fold_ctx, (uint8_t)k, key->data, key->len, key->ticks);
        }
    }
    ee->mounted = true;
    return true;
}

const uint8_t *ee_get(const ee_t *ee, uint8_t key, uint16_t *len)
{
    if (ee == NULL || !ee->mounted || key >= EE_KEYS || !ee->key[key].present) {
        return NULL;
    }
    if (len != NULL) {
        *len = ee->key[key].len;
    }
    return ee->key[key].data;
}

/* ------------------------------------------------------------ writing */

/* Moves the head to a page holding no key's current record (rule 2): the
 * oldest such page, erased and checked blank. */
static bool next_page(ee_t *ee)
{
    bool found = false;
    uint32_t best = 0;
    for (uint32_t p = 0; p < ee->fl->pages; p++) {
        bool live = ee->has_head && p == ee->head;
        for (uint32_t k = 0; k < EE_KEYS; k++) {
            live = live || (ee->key[k].present && ee->key[k].page == p);
        }
        const ee_key_t *sk = &ee->key[ee->suspect];
        live = live || (ee->suspect_pending && sk->has_prev && sk->prev_page == p);
        if (!live && (!found || ee->page_seq[p] < ee->page_seq[best])) {
            best = p;
            found = true;
        }
    }
    if (!found) {
        return false;
    }
    ee->stats.erases++;
    ee->head = best;
    ee->has_head = true;
    ee->head_off = 0;
    ee->page_seq[best] = 0;
    ee->head_open = ee->fl->erase(ee->fl->ctx, best) && blank_from(ee, best, 0);
    return ee->head_open;
}

/* A failed write leaves the head closed: nothing goes after it. */
static void close_head(ee_t *ee)
{
    ee->head_open = false;
    ee->stats.failures++;
}

static bool write_record(ee_t *ee, uint8_t key, const uint8_t *data, uint16_t len)
{
    uint8_t buf[EE_HDR_BYTES + EE_DATA_MAX];
    uint32_t size = EE_RECORD_BYTES(len);
    if (!ee->has_head || !ee->head_open || ee->head_off + size > ee->fl->page_size) {
        if (!next_page(ee)) {
            return false;
        }
    }
    uint32_t seq = ee->next_seq;
    uint32_t n = image(key, data, len, seq, buf);
    uint32_t crc = crc32_ieee(buf, n);
    uint32_t p = ee->head, off = ee->head_off;
    ee->next_seq++; /* even if the write fails: a torn record keeps its number */
    bool ok = true;
    for (uint32_t k = 0; k < n && ok; k += 2u) {
        ok = prog(ee, p, off + k, ww_get_le16(&buf[k]));
    }
    ok = ok && prog(ee, p, off + n, (uint16_t)crc) && prog(ee, p, off + n + 2u, (uint16_t)(crc >> 16));
    if (!ok) {
        close_head(ee);
        return false;
    }
    ee->head_off = off + size;
    ee->page_seq[p] = seq;
    ee_key_t *kk = &ee->key[key];
    kk->present = true;
    kk->seq = seq;
    kk->page = p;
    kk->len = len;
    for (uint32_t j = 0; j < EE_TICK_KINDS; j++) {
        kk->ticks[j] = 0;
    }
    for (uint32_t j = 0; j < len; j++) {
        kk->data[j] = data[j];
    }
    if (key == ee->suspect) {
        ee->suspect_pending = false;
    }
    ee->stats.records++;
    return true;
}

bool ee_put(ee_t *ee, uint8_t key, const uint8_t *data, uint16_t len)
{
    if (ee == NULL || !ee->mounted || key >= EE_KEYS || len > EE_DATA_MAX || (data == NULL && len > 0u)) {
        return false;
    }
    if (ee->suspect_pending && key != ee->suspect) {
        /* rule 5: the value read at mount becomes a record read back */
        uint8_t copy[EE_DATA_MAX];
        const ee_key_t *sk = &ee->key[ee->suspect];
        uint16_t slen = sk->len;
        for (uint32_t j = 0; j < slen; j++) {
            copy[j] = sk->data[j];
        }
        if (!write_record(ee, ee->suspect, copy, slen) && !write_record(ee, ee->suspect, copy, slen)) {
            return false;
        }
    }
    /* One retry in a fresh page if the head refused the record. */
    return write_record(ee, key, data, len) || write_record(ee, key, data, len);
}

bool ee_tick(ee_t *ee, uint8_t key, uint8_t kind, const uint8_t *data, uint16_t len)
{
    if (ee == NULL || !ee->mounted || key >= EE_KEYS || kind >= EE_TICK_KINDS || len > EE_DATA_MAX ||
        data == NULL) {
        return false;
    }
    ee_key_t *k = &ee->key[key];
    if (!k->present || k->len != len || !ee->has_head || k->page != ee->head || !ee->head_open ||
        ee->head_off + EE_TICK_BYTES > ee->fl->page_size || k->ticks[kind] == 0xFFFFu) {
        return ee_put(ee, key, data, len);
    }
    uint16_t h0 = (uint16_t)(EE_TICK_MAGIC | (uint32_t)key << 2 | kind);
    uint32_t off = ee->head_off;
    if (!prog(ee, ee->head, off, h0) || !prog(ee, ee->head, off + 2u, (uint16_t)(h0 ^ 0xFFFFu))) {
        close_head(ee);
        return ee_put(ee, key, data, len);
    }
    ee->head_off = off + EE_TICK_BYTES;
    k->ticks[kind]++;
    for (uint32_t j = 0; j < len; j++) {
        k->data[j] = data[j];
    }
    ee->stats.ticks++;
    return true;
}
