/*
 * secure.h - secured messages, keys and the configuration page
 * (docs/protocol.md section 3).
 *
 *   body = payload || FV (u32) || MAC (8 bytes)
 *   MAC  = HMAC-SHA256(key, id (u16) || payload || FV (u32)), first 8 bytes
 *
 * Portable, no allocation, no I/O.
 */
#ifndef WW_SECURE_H
#define WW_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto_frames.h"

#define SECURE_KEY_SIZE 32u
#define SECURE_UID_SIZE 12u
#define SECURE_FV_SIZE 4u
#define SECURE_MAC_SIZE 8u
#define SECURE_OVERHEAD (SECURE_FV_SIZE + SECURE_MAC_SIZE)
#define SECURE_PAYLOAD_MAX (FRAMES_BODY_MAX - SECURE_OVERHEAD) /* 100 */
#define SECURE_FV_MAX 0xFFFFFFFFu

void secure_mac(const uint8_t key[SECURE_KEY_SIZE], uint16_t id, const uint8_t *payload,
                size_t len, uint32_t fv, uint8_t mac[SECURE_MAC_SIZE]);

/* Writes the body (len + 12 bytes) and returns its length; 0 if the
 * payload is over SECURE_PAYLOAD_MAX. */
size_t secure_seal(const uint8_t key[SECURE_KEY_SIZE], uint16_t id, const uint8_t *payload,
                   size_t len, uint32_t fv, uint8_t *body);

typedef enum {
    SECURE_OK = 0,
    SECURE_MALFORMED, /* body too short (or too long) for FV and MAC */
    SECURE_BAD_MAC,
    SECURE_STALE,     /* authentic, but FV not above the last accepted */
} secure_result_t;

const char *secure_result_name(secure_result_t r);

/* The parts of a body, as claimed by the sender (valid unless MALFORMED). */
typedef struct {
    const uint8_t *payload; /* points into the body */
    size_t len;
    uint32_t fv;
} secure_msg_t;

/* Splits the body; false if it cannot hold FV and MAC. */
bool secure_split(const uint8_t *body, size_t body_len, secure_msg_t *out);

/* Verifies the MAC (constant time) and then that FV > last_fv. Fills *out
 * as claimed whatever the result (except MALFORMED). The caller stores
 * out->fv as the new last accepted FV only on SECURE_OK. */
secure_result_t secure_open(const uint8_t key[SECURE_KEY_SIZE], uint16_t id, const uint8_t *body,
                            size_t body_len, uint32_t last_fv, secure_msg_t *out);

/* Compares every byte whatever the first difference. */
bool secure_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* ------------------------------------------------------------ keys */

/* meter key = HKDF-SHA256(site key, salt "wattwall meter key v1", info uid, 32)
 * group key = HKDF-SHA256(site key, salt "wattwall group key v1", info "", 32) */
void secure_derive_meter_key(const uint8_t site_key[SECURE_KEY_SIZE],
                             const uint8_t uid[SECURE_UID_SIZE], uint8_t out[SECURE_KEY_SIZE]);
void secure_derive_group_key(const uint8_t site_key[SECURE_KEY_SIZE], uint8_t out[SECURE_KEY_SIZE]);

/* ------------------------------------------------------------ configuration page */

#define CONFIG_PAGE_SIZE 88u
#define CONFIG_PAGE_ADDRESS 0x0803F800u /* last 2 KiB page of the STM32F107's flash */
#define CONFIG_PAGE_VERSION 1u

typedef struct {
    uint8_t node; /* 1..127 */
    uint8_t uid[SECURE_UID_SIZE];
    uint8_t meter_key[SECURE_KEY_SIZE];
    uint8_t group_key[SECURE_KEY_SIZE];
} meter_identity_t;

typedef enum {
    CONFIG_OK = 0,
    CONFIG_BAD_MAGIC,
    CONFIG_BAD_VERSION,
    CONFIG_BAD_NODE,
    CONFIG_BAD_CRC,
} config_result_t;

const char *config_result_name(config_result_t r);

/* Checks CRC, magic, version and node, in that order. */
config_result_t config_page_parse(const uint8_t page[CONFIG_PAGE_SIZE], meter_identity_t *out);
void config_page_build(const meter_identity_t *id, uint8_t page[CONFIG_PAGE_SIZE]);

#endif /* WW_SECURE_H */
