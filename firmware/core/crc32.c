/*
 * crc32.c - CRC-32, bitwise: it only covers the 84-byte configuration page
 * and the small nonvolatile blob, so a 1 KiB table would be wasted flash.
 */
#include "crc32.h"

uint32_t crc32_ieee(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    while (len-- > 0) {
        crc ^= *p++;
        for (unsigned bit = 0; bit < 8u; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
