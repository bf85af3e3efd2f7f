/*
 * sha256.h - SHA-256 (FIPS 180-4), streaming. Portable, no allocation.
 */
#ifndef WW_SHA256_H
#define WW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BLOCK_SIZE 64u
#define SHA256_DIGEST_SIZE 32u

typedef struct {
    uint32_t state[8];
    uint64_t total_bytes;
    uint8_t block[SHA256_BLOCK_SIZE];
    uint32_t block_used;
} sha256_t;

void sha256_init(sha256_t *c);
void sha256_update(sha256_t *c, const void *data, size_t len);
void sha256_final(sha256_t *c, uint8_t digest[SHA256_DIGEST_SIZE]);

/* One-shot digest. */
void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_SIZE]);

#endif /* WW_SHA256_H */
