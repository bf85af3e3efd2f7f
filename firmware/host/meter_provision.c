/*
 * meter_provision.c - host tool: derive a meter's keys from the site key
 * and its unique id, and write its configuration page
 * (docs/protocol.md section 3).
 *
 *   meter-provision --site-key HEX64 --uid HEX24 --node N [--out FILE] [--ihex]
 *
 * Output: the 88-byte page, binary (default) or as Intel HEX at 0x0803F800
 * for the flash programmer; to stdout unless --out is given.
 * Exit status: 0 ok, 1 cannot write, 2 bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "proto.h"
#include "secure.h"

static void usage(FILE *out)
{
    fputs("usage: meter-provision --site-key HEX64 --uid HEX24 --node N [--out FILE] [--ihex]\n"
          "  --site-key HEX64  the site key, 32 bytes as 64 hex digits\n"
          "  --uid HEX24       the meter's 96-bit unique id, 12 bytes as 24 hex digits\n"
          "  --node N          CAN node, 1..127\n"
          "  --out FILE        write to FILE instead of stdout\n"
          "  --ihex            Intel HEX at 0x0803F800 instead of the 88 raw bytes\n",
          out);
}

/* Exactly 2 * n hex digits. */
static int parse_hex(const char *text, uint8_t *out, size_t n)
{
    return strlen(text) == 2 * n && hex_decode(text, out, n) == n;
}

static int parse_node(const char *text, uint8_t *node)
{
    char *end;
    if (text[0] < '0' || text[0] > '9') {
        return 0;
    }
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0' || v < PROTO_NODE_MIN || v > PROTO_NODE_MAX) {
        return 0;
    }
    *node = (uint8_t)v;
    return 1;
}

/* One Intel HEX record: :LLAAAATT<data>CC, CC = two's complement of the sum. */
static void ihex_record(FILE *f, uint8_t type, uint16_t address, const uint8_t *data, uint8_t n)
{
    unsigned sum = n + (address >> 8) + (address & 0xFFu) + type;
    fprintf(f, ":%02X%04X%02X", n, address, type);
    for (unsigned k = 0; k < n; k++) {
        fprintf(f, "%02X", data[k]);
        sum += data[k];
    }
    fprintf(f, "%02X\n", (0x100u - (sum & 0xFFu)) & 0xFFu);
}

static void write_ihex(FILE *f, const uint8_t page[CONFIG_PAGE_SIZE])
{
    const uint8_t upper[2] = {(uint8_t)(CONFIG_PAGE_ADDRESS >> 24),
                              (uint8_t)(CONFIG_PAGE_ADDRESS >> 16)};
    ihex_record(f, 0x04, 0, upper, 2); /* extended linear address */
    for (unsigned at = 0; at < CONFIG_PAGE_SIZE; at += 16u) {
        unsigned n = CONFIG_PAGE_SIZE - at < 16u ? CONFIG_PAGE_SIZE - at : 16u;
        ihex_record(f, 0x00, (uint16_t)((CONFIG_PAGE_ADDRESS & 0xFFFFu) + at), page + at, (uint8_t)n);
    }
    ihex_record(f, 0x01, 0, NULL, 0); /* end of file */
}

static int bad(const char *fmt, const char *what)
{
    fputs("meter-provision: ", stderr);
    fprintf(stderr, fmt, what);
    fputs("\n", stderr);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *site_hex = NULL, *uid_hex = NULL, *node_text = NULL, *out_path = NULL;
    int ihex = 0;
    uint8_t site_key[SECURE_KEY_SIZE];
    meter_identity_t id;
    uint8_t page[CONFIG_PAGE_SIZE];

    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        const char **value = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--ihex") == 0) {
            ihex = 1;
            continue;
        } else if (strcmp(a, "--site-key") == 0) {
            value = &site_hex;
        } else if (strcmp(a, "--uid") == 0) {
            value = &uid_hex;
        } else if (strcmp(a, "--node") == 0) {
            value = &node_text;
        } else if (strcmp(a, "--out") == 0) {
            value = &out_path;
        } else {
            return bad("unknown argument '%s'", a);
        }
        if (k + 1 >= argc) {
            return bad("%s needs a value", a);
        }
        if (*value != NULL) {
            return bad("%s given twice", a);
        }
        *value = argv[++k];
    }
    if (site_hex == NULL || uid_hex == NULL || node_text == NULL) {
        return bad("%s", "--site-key, --uid and --node are required");
    }
    if (!parse_hex(site_hex, site_key, sizeof site_key)) {
        return bad("--site-key must be 64 hex digits (32 bytes), got '%s'", site_hex);
    }
    if (!parse_hex(uid_hex, id.uid, sizeof id.uid)) {
        return bad("--uid must be 24 hex digits (12 bytes), got '%s'", uid_hex);
    }
    if (!parse_node(node_text, &id.node)) {
        return bad("--node must be a number from 1 to 127, got '%s'", node_text);
    }
    secure_derive_meter_key(site_key, id.uid, id.meter_key);
    secure_derive_group_key(site_key, id.group_key);
    config_page_build(&id, page);

    FILE *f = out_path != NULL ? fopen(out_path, ihex ? "w" : "wb") : stdout;
    if (f == NULL) {
        perror(out_path);
        return 1;
    }
    if (ihex) {
        write_ihex(f, page);
    } else {
        fwrite(page, 1, sizeof page, f);
    }
    int failed = ferror(f);
    failed |= f != stdout ? fclose(f) : fflush(f);
    if (failed) {
        fprintf(stderr, "meter-provision: cannot write %s\n", out_path != NULL ? out_path : "stdout");
        return 1;
    }
    return 0;
}
