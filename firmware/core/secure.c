/*
 * secure.c - secured messages, key derivation, configuration page.
 */
#include "secure.h"

#include "crc32.h"
#include "hkdf.h"
#include "hmac.h"
#include "proto.h"
#include "wbytes.h"

void secure_mac(const uint8_t key[SECURE_KEY_SIZE], uint16_t id, const uint8_t *payload,
                size_t len, uint32_t fv, uint8_t mac[SECURE_MAC_SIZE])
{
    uint8_t id_le[2], fv_le[SECURE_FV_SIZE], full[32];
    hmac_sha256_t c;
    ww_put_le16(id_le, id);
    ww_put_le32(fv_le, fv);
    hmac_sha256_init(&c, key, SECURE_KEY_SIZE);
    hmac_sha256_update(&c, id_le, sizeof id_le);
    hmac_sha256_update(&c, payload, len);
    hmac_sha256_update(&c, fv_le, sizeof fv_le);
    hmac_sha256_final(&c, full);
    for (unsigned k = 0; k < SECURE_MAC_SIZE; k++) {
        mac[k] = full[k];
    }
}

size_t secure_seal(const uint8_t key[SECURE_KEY_SIZE], uint16_t id, const uint8_t *payload,
                   size_t len, uint32_t fv, uint8_t *body)
{
    if (len > SECURE_PAYLOAD_MAX) {
        return 0;
    }
    for (size_t k = 0; k < len; k++) {
        body[k] = payload[k];
    }
    ww_put_le32(body + len, fv);
    secure_mac(key, id, payload, len, fv, body + len + SECURE_FV_SIZE);
    return len + SECURE_OVERHEAD;
}

const char *secure_result_name(secure_result_t r)
{
    switch (r) {
    case SECURE_OK:
        return "ok";
    case SECURE_MALFORMED:
        return "malformed";
    case SECURE_BAD_MAC:
        return "bad-mac";
    case SECURE_STALE:
        return "stale";
    }
    return "?";
}

bool secure_split(const uint8_t *body, size_t body_len, secure_msg_t *out)
{
    if (body_len < SECURE_OVERHEAD || body_len > FRAMES_BODY_MAX) {
        return false;
    }
    out->payload = body;
    out->len = body_len - SECURE_OVERHEAD;
    out->fv = ww_get_le32(body + out->len);
    return true;
}

bool secure_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t diff = 0;
    for (size_t k = 0; k < n; k++) {
        diff |= (uint8_t)(a[k] ^ b[k]);
    }
    return diff == 0;
}

secure_result_t secure_open(const uint8_t key[SECURE_KEY_SIZE], uint16_t id, const uint8_t *body,
                            size_t body_len, uint32_t last_fv, secure_msg_t *out)
{
    uint8_t mac[SECURE_MAC_SIZE];
    if (!secure_split(body, body_len, out)) {
        return SECURE_MALFORMED;
    }
    secure_mac(key, id, out->payload, out->len, out->fv, mac);
    /* MAC first: a forged FV is always BAD_MAC, STALE only counts authentic
     * replays. */
    if (!secure_equal(mac, out->payload + out->len + SECURE_FV_SIZE, SECURE_MAC_SIZE)) {
        return SECURE_BAD_MAC;
    }
    return out->fv > last_fv ? SECURE_OK : SECURE_STALE;
}

static const uint8_t meter_key_salt[] = "wattwall meter key v1";
static const uint8_t group_key_salt[] = "wattwall group key v1";

void secure_derive_meter_key(const uint8_t site_key[SECURE_KEY_SIZE],
                             const uint8_t uid[SECURE_UID_SIZE], uint8_t out[SECURE_KEY_SIZE])
{
    /* sizeof - 1: the salt is the text without its terminating NUL */
    (void)hkdf_sha256(meter_key_salt, sizeof meter_key_salt - 1u, site_key, SECURE_KEY_SIZE, uid,
                      SECURE_UID_SIZE, out, SECURE_KEY_SIZE);
}

void secure_derive_group_key(const uint8_t site_key[SECURE_KEY_SIZE], uint8_t out[SECURE_KEY_SIZE])
{
    (void)hkdf_sha256(group_key_salt, sizeof group_key_salt - 1u, site_key, SECURE_KEY_SIZE, NULL,
                      0, out, SECURE_KEY_SIZE);
}

/* Page layout */
#define PAGE_MAGIC 0
#define PAGE_VERSION 4
#define PAGE_NODE 6
#define PAGE_RESERVED 7
#define PAGE_UID 8
#define PAGE_METER_KEY 20
#define PAGE_GROUP_KEY 52
#define PAGE_CRC 84

static const uint8_t page_magic[4] = {'W', 'W', 'C', 'F'};

const char *config_result_name(config_result_t r)
{
    switch (r) {
    case CONFIG_OK:
        return "ok";
    case CONFIG_BAD_MAGIC:
        return "bad magic";
    case CONFIG_BAD_VERSION:
        return "unknown layout version";
    case CONFIG_BAD_NODE:
        return "node outside 1..127";
    case CONFIG_BAD_CRC:
        return "CRC mismatch";
    }
    return "?";
}

static void copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        dst[k] = src[k];
    }
}

config_result_t config_page_parse(const uint8_t page[CONFIG_PAGE_SIZE], meter_identity_t *out)
{
    if (crc32_ieee(page, PAGE_CRC) != ww_get_le32(page + PAGE_CRC)) {
        return CONFIG_BAD_CRC; /* also an erased (all 0xFF) page */
    }
    if (!secure_equal(page + PAGE_MAGIC, page_magic, sizeof page_magic)) {
        return CONFIG_BAD_MAGIC;
    }
    if (ww_get_le16(page + PAGE_VERSION) != CONFIG_PAGE_VERSION) {
        return CONFIG_BAD_VERSION;
    }
    uint8_t node = page[PAGE_NODE];
    if (node < PROTO_NODE_MIN || node > PROTO_NODE_MAX) {
        return CONFIG_BAD_NODE;
    }
    out->node = node;
    copy(out->uid, page + PAGE_UID, SECURE_UID_SIZE);
    copy(out->meter_key, page + PAGE_METER_KEY, SECURE_KEY_SIZE);
    copy(out->group_key, page + PAGE_GROUP_KEY, SECURE_KEY_SIZE);
    return CONFIG_OK;
}

void config_page_build(const meter_identity_t *id, uint8_t page[CONFIG_PAGE_SIZE])
{
    copy(page + PAGE_MAGIC, page_magic, sizeof page_magic);
    ww_put_le16(page + PAGE_VERSION, CONFIG_PAGE_VERSION);
    page[PAGE_NODE] = id->node;
    page[PAGE_RESERVED] = 0;
    copy(page + PAGE_UID, id->uid, SECURE_UID_SIZE);
    copy(page + PAGE_METER_KEY, id->meter_key, SECURE_KEY_SIZE);
    copy(page + PAGE_GROUP_KEY, id->group_key, SECURE_KEY_SIZE);
    ww_put_le32(page + PAGE_CRC, crc32_ieee(page, PAGE_CRC));
}
