/*
 * hmac.c - HMAC-SHA256 (RFC 2104).
 */
#include "hmac.h"

void hmac_sha256_init(hmac_sha256_t *c, const uint8_t *key, size_t key_len)
{
    uint8_t block_key[SHA256_BLOCK_SIZE] = {0};
    uint8_t inner_key_pad[SHA256_BLOCK_SIZE];
    if (key_len > SHA256_BLOCK_SIZE) {
        sha256(key, key_len, block_key); /* long keys are hashed first */
    } else {
        for (size_t k = 0; k < key_len; k++) {
            block_key[k] = key[k];
        }
    }
    for (unsigned k = 0; k < SHA256_BLOCK_SIZE; k++) {
        inner_key_pad[k] = (uint8_t)(block_key[k] ^ 0x36u);
        c->outer_key_pad[k] = (uint8_t)(block_key[k] ^ 0x5cu);
    }
    sha256_init(&c->inner);
    sha256_update(&c->inner, inner_key_pad, sizeof inner_key_pad);
}

void hmac_sha256_update(hmac_sha256_t *c, const void *data, size_t len)
{
    sha256_update(&c->inner, data, len);
}

void hmac_sha256_final(hmac_sha256_t *c, uint8_t mac[SHA256_DIGEST_SIZE])
{
    uint8_t inner_digest[SHA256_DIGEST_SIZE];
    sha256_t outer;
    sha256_final(&c->inner, inner_digest);
    sha256_init(&outer);
    sha256_update(&outer, c->outer_key_pad, sizeof c->outer_key_pad);
    sha256_update(&outer, inner_digest, sizeof inner_digest);
    sha256_final(&outer, mac);
}

void hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                 uint8_t mac[SHA256_DIGEST_SIZE])
{
    hmac_sha256_t c;
    hmac_sha256_init(&c, key, key_len);
    hmac_sha256_update(&c, data, len);
    hmac_sha256_final(&c, mac);
}
