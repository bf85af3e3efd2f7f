/*
 * crc32.h - CRC-32 (IEEE 802.3, reflected, as zlib's crc32()).
 */
#ifndef WW_CRC32_H
#define WW_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32_ieee(const void *data, size_t len);

#endif /* WW_CRC32_H */
