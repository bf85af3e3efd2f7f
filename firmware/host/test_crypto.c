/*
 * test_crypto.c - SHA-256 (FIPS 180-2), HMAC-SHA256 (RFC 4231), HKDF-SHA256
 * (RFC 5869) and CRC-32 against their published vectors.
 */
#include <string.h>

#include "crc32.h"
#include "hkdf.h"
#include "hmac.h"
#include "meter_rig.h"
#include "sha256.h"
#include "tests.h"
#include "tharness.h"

static int digest_is(const uint8_t *got, size_t n, const char *hex)
{
    uint8_t want[256];
    return hex_decode(hex, want, sizeof want) == n && memcmp(got, want, n) == 0;
}

void test_sha256_vectors(void)
{
    static uint8_t million[1000000];
    uint8_t d[32];
    sha256_t c;

    sha256("abc", 3, d);
    CHECK(digest_is(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
    CHECK(digest_is(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    memset(million, 'a', sizeof million);
    sha256(million, sizeof million, d);
    CHECK(digest_is(d, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    sha256("", 0, d);
    CHECK(digest_is(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    /* streaming in odd pieces gives the one-shot digest */
    sha256_init(&c);
    for (size_t at = 0, step = 1; at < sizeof million; at += step, step = step * 3 % 1009 + 1) {
        sha256_update(&c, million + at, at + step <= sizeof million ? step : sizeof million - at);
    }
    sha256_final(&c, d);
    CHECK(digest_is(d, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

void test_hmac_vectors(void)
{
    static const struct {
        const char *key_hex, *data_hex, *mac_hex;
    } rfc4231[] = {
        /* 1 */ {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        /* 2 */ {"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        /* 3 */ {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
                 "dddddddddddddddddddddddd",
                 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        /* 4 */ {"0102030405060708090a0b0c0d0e0f10111213141516171819",
                 "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
                 "cdcdcdcdcdcdcdcdcdcdcdcd",
                 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        /* 5: the RFC gives only the first 128 bits */
        {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
         "a3b6167473100ee06e0c796c2955552b"},
        /* 6 */ {NULL, "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579"
                       "202d2048617368204b6579204669727374",
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        /* 7 */ {NULL, "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c"
                       "6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b"
                       "2d73697a6520646174612e20546865206b6579206e6565647320746f2062652068617368"
                       "6564206265666f7265206265696e6720757365642062792074686520484d414320616c67"
                       "6f726974686d2e",
                 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t k = 0; k < sizeof rfc4231 / sizeof rfc4231[0]; k++) {
        uint8_t key[131], data[200], mac[32], want[32];
        size_t key_len = 131;
        if (rfc4231[k].key_hex != NULL) {
            key_len = hex_decode(rfc4231[k].key_hex, key, sizeof key);
        } else {
            memset(key, 0xaa, sizeof key); /* cases 6 and 7: a key longer than a block */
        }
        size_t data_len = hex_decode(rfc4231[k].data_hex, data, sizeof data);
        size_t want_len = hex_decode(rfc4231[k].mac_hex, want, sizeof want);
        hmac_sha256(key, key_len, data, data_len, mac);
        CHECK_MSG(memcmp(mac, want, want_len) == 0, "RFC 4231 case %zu", k + 1);
    }
}

void test_hkdf_vectors(void)
{
    static const struct {
        const char *ikm, *salt, *info, *prk, *okm;
    } rfc5869[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
         "f0f1f2f3f4f5f6f7f8f9", "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a"
         "2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
         "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a"
         "8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
         "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9da"
         "dbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
         "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41"
         "c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
         "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
    for (size_t k = 0; k < sizeof rfc5869 / sizeof rfc5869[0]; k++) {
        uint8_t ikm[80], salt[80], info[80], prk[32], okm[82], want[82];
        size_t ikm_len = hex_decode(rfc5869[k].ikm, ikm, sizeof ikm);
        size_t salt_len = hex_decode(rfc5869[k].salt, salt, sizeof salt);
        size_t info_len = hex_decode(rfc5869[k].info, info, sizeof info);
        size_t okm_len = hex_decode(rfc5869[k].okm, want, sizeof want);
        hkdf_sha256_extract(salt, salt_len, ikm, ikm_len, prk);
        CHECK_MSG(digest_is(prk, 32, rfc5869[k].prk), "RFC 5869 case %zu PRK", k + 1);
        CHECK(hkdf_sha256(salt, salt_len, ikm, ikm_len, info, info_len, okm, okm_len));
        CHECK_MSG(memcmp(okm, want, okm_len) == 0, "RFC 5869 case %zu OKM", k + 1);
    }
    static uint8_t big[HKDF_SHA256_MAX_OUT + 1];
    uint8_t ikm[32] = {1};
    CHECK(!hkdf_sha256(NULL, 0, ikm, sizeof ikm, NULL, 0, big, sizeof big)); /* over 255 blocks */
    CHECK(hkdf_sha256(NULL, 0, ikm, sizeof ikm, NULL, 0, big, HKDF_SHA256_MAX_OUT));
}

void test_crc32_vectors(void)
{
    CHECK_EQ_U(crc32_ieee("123456789", 9), 0xCBF43926u);
    CHECK_EQ_U(crc32_ieee("", 0), 0u);
    CHECK_EQ_U(crc32_ieee("The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
}
