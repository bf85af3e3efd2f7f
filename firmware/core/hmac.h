/*
 * hmac.h - HMAC-SHA256 (RFC 2104), streaming. Portable, no allocation.
 */
#ifndef WW_HMAC_H
#define WW_HMAC_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

typedef struct {
    sha256_t inner;
    uint8_t outer_key_pad[SHA256_BLOCK_SIZE]; /* key XOR opad, for the final hash */
} hmac_sha256_t;

void hmac_sha256_init(hmac_sha256_t *c, const uint8_t *key, size_t key_len);
void hmac_sha256_update(hmac_sha256_t *c, const void *data, size_t len);
void hmac_sha256_final(hmac_sha256_t *c, uint8_t mac[SHA256_DIGEST_SIZE]);

/* One-shot MAC. */
void hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                 uint8_t mac[SHA256_DIGEST_SIZE]);

#endif /* WW_HMAC_H */
