/*
 * hkdf.h - HKDF-SHA256 (RFC 5869). Used by meter-provision and the tests;
 * the meter itself reads its derived keys from the configuration page.
 */
#ifndef WW_HKDF_H
#define WW_HKDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HKDF_SHA256_MAX_OUT (255u * 32u)

void hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                         uint8_t prk[32]);
/* false (and nothing written) if out_len > HKDF_SHA256_MAX_OUT. */
bool hkdf_sha256_expand(const uint8_t prk[32], const uint8_t *info, size_t info_len, uint8_t *out,
                        size_t out_len);
/* Extract then expand. */
bool hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                 const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

#endif /* WW_HKDF_H */
