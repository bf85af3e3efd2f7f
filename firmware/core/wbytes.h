/*
 * wbytes.h - little-endian integer access to byte buffers (every integer
 * on the bus and in the configuration page is little-endian).
 */
#ifndef WW_WBYTES_H
#define WW_WBYTES_H

#include <stdint.h>

static inline void ww_put_le(uint8_t *d, uint64_t v, unsigned bytes)
{
    for (unsigned k = 0; k < bytes; k++) {
        d[k] = (uint8_t)(v >> (8u * k));
    }
}

static inline uint64_t ww_get_le(const uint8_t *d, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned k = bytes; k > 0; k--) {
        v = (v << 8) | d[k - 1];
    }
    return v;
}

static inline void ww_put_le16(uint8_t *d, uint16_t v) { ww_put_le(d, v, 2); }
static inline void ww_put_le32(uint8_t *d, uint32_t v) { ww_put_le(d, v, 4); }
static inline uint16_t ww_get_le16(const uint8_t *d) { return (uint16_t)ww_get_le(d, 2); }
static inline uint32_t ww_get_le32(const uint8_t *d) { return (uint32_t)ww_get_le(d, 4); }

#endif /* WW_WBYTES_H */
