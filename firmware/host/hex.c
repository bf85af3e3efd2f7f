/*
 * hex.c - see hex.h.
 */
#include "hex.h"

#include <string.h>

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

size_t hex_decode(const char *hex, uint8_t *out, size_t max)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > max) {
        return HEX_BAD;
    }
    for (size_t k = 0; k < n / 2; k++) {
        int hi = nibble(hex[2 * k]), lo = nibble(hex[2 * k + 1]);
        if (hi < 0 || lo < 0) {
            return HEX_BAD;
        }
        out[k] = (uint8_t)(hi << 4 | lo);
    }
    return n / 2;
}

void hex_encode(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < n; k++) {
        out[2 * k] = digits[bytes[k] >> 4];
        out[2 * k + 1] = digits[bytes[k] & 15];
    }
    out[2 * n] = '\0';
}
