/*
 * hkdf.c - HKDF-SHA256 (RFC 5869).
 */
#include "hkdf.h"

#include "hmac.h"

void hkdf_sha256_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                         uint8_t prk[32])
{
    /* RFC 5869 2.2: an absent salt is HashLen zero bytes, which HMAC pads
     * to the same block key as an empty one. */
    hmac_sha256(salt, salt_len, ikm, ikm_len, prk);
}

bool hkdf_sha256_expand(const uint8_t prk[32], const uint8_t *info, size_t info_len, uint8_t *out,
                        size_t out_len)
{
    uint8_t t[SHA256_DIGEST_SIZE];
    size_t t_len = 0;
    if (out_len > HKDF_SHA256_MAX_OUT) {
        return false;
    }
    for (uint8_t counter = 1; out_len > 0; counter++) {
        hmac_sha256_t c;
        hmac_sha256_init(&c, prk, SHA256_DIGEST_SIZE);
        hmac_sha256_update(&c, t, t_len);
        hmac_sha256_update(&c, info, info_len);
        hmac_sha256_update(&c, &counter, 1);
        hmac_sha256_final(&c, t);
        t_len = SHA256_DIGEST_SIZE;
        size_t n = out_len < t_len ? out_len : t_len;
        for (size_t k = 0; k < n; k++) {
            *out++ = t[k];
        }
        out_len -= n;
    }
    return true;
}

bool hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                 const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    uint8_t prk[SHA256_DIGEST_SIZE];
    if (out_len > HKDF_SHA256_MAX_OUT) {
        return false;
    }
    hkdf_sha256_extract(salt, salt_len, ikm, ikm_len, prk);
    return hkdf_sha256_expand(prk, info, info_len, out, out_len);
}
