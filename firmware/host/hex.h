/*
 * hex.h - hexadecimal text for the host tools and tests.
 */
#ifndef WW_HEX_H
#define WW_HEX_H

#include <stddef.h>
#include <stdint.h>

#define HEX_BAD ((size_t)-1)

/* Bytes written, or HEX_BAD if the text is not hex or does not fit. */
size_t hex_decode(const char *hex, uint8_t *out, size_t max);
/* Lowercase, NUL-terminated: out holds 2 * n + 1 chars. */
void hex_encode(const uint8_t *bytes, size_t n, char *out);

#endif /* WW_HEX_H */
