/*
 * test_provision.c - the meter-provision tool: arguments, binary and Intel
 * HEX output, errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "meter_rig.h"
#include "tests.h"
#include "tharness.h"

#define SITE "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define UID "0102030405060708090a0b0c"

static char g_out[8192];
static size_t g_out_len;
static char g_err[4096];

/* Run the tool; returns its exit status (-1 if it did not exit normally). */
static int run(const char *args)
{
    char cmd[2048], errfile[512];
    snprintf(errfile, sizeof errfile, "%s/provision_stderr.txt", g_tmp_dir);
    snprintf(cmd, sizeof cmd, "'%s' %s 2> '%s'", g_provision_path, args, errfile);
    FILE *p = popen(cmd, "r");
    g_out_len = 0;
    g_err[0] = '\0';
    if (p == NULL) {
        return -1;
    }
    g_out_len = fread(g_out, 1, sizeof g_out - 1, p);
    g_out[g_out_len] = '\0';
    int st = pclose(p);
    FILE *e = fopen(errfile, "r");
    if (e != NULL) {
        size_t n = fread(g_err, 1, sizeof g_err - 1, e);
        g_err[n] = '\0';
        fclose(e);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expected_page(uint8_t node, uint8_t page[CONFIG_PAGE_SIZE])
{
    uint8_t site[32];
    meter_identity_t id;
    (void)hex_decode(SITE, site, 32);
    (void)hex_decode(UID, id.uid, 12);
    id.node = node;
    secure_derive_meter_key(site, id.uid, id.meter_key);
    secure_derive_group_key(site, id.group_key);
    config_page_build(&id, page);
}

void test_provision_output(void)
{
    uint8_t page[CONFIG_PAGE_SIZE], file_page[CONFIG_PAGE_SIZE + 1];
    char args[1024], path[512];
    expected_page(42, page);

    CHECK_EQ_I(run("--site-key " SITE " --uid " UID " --node 42"), 0);
    CHECK(g_out_len == CONFIG_PAGE_SIZE && memcmp(g_out, page, CONFIG_PAGE_SIZE) == 0);
    CHECK_EQ_I(run("--node 42 --uid " UID " --site-key " SITE), 0); /* any order */
    CHECK(g_out_len == CONFIG_PAGE_SIZE && memcmp(g_out, page, CONFIG_PAGE_SIZE) == 0);
    CHECK_EQ_I(run("--site-key 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF --uid "
                   "0102030405060708090A0B0C --node 42"), 0);
    CHECK(g_out_len == CONFIG_PAGE_SIZE && memcmp(g_out, page, CONFIG_PAGE_SIZE) == 0);

    snprintf(path, sizeof path, "%s/page.bin", g_tmp_dir);
    snprintf(args, sizeof args, "--site-key " SITE " --uid " UID " --node 42 --out '%s'", path);
    CHECK_EQ_I(run(args), 0);
    CHECK_EQ_U(g_out_len, 0u);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK_EQ_U(fread(file_page, 1, sizeof file_page, f), CONFIG_PAGE_SIZE);
        CHECK(memcmp(file_page, page, CONFIG_PAGE_SIZE) == 0);
        fclose(f);
    }
    meter_identity_t id;
    CHECK(config_page_parse(page, &id) == CONFIG_OK && id.node == 42);

    /* Intel HEX: extended linear address 0x0803, data at 0xF800, EOF */
    expected_page(127, page);
    CHECK_EQ_I(run("--site-key " SITE " --uid " UID " --node 127 --ihex"), 0);
    uint8_t image[CONFIG_PAGE_SIZE];
    uint32_t upper = 0, covered = 0;
    int eof = 0, lines = 0;
    for (char *line = strtok(g_out, "\n"); line != NULL; line = strtok(NULL, "\n"), lines++) {
        uint8_t rec[64];
        size_t n = line[0] == ':' ? hex_decode(line + 1, rec, sizeof rec) : HEX_BAD;
        CHECK_MSG(n != HEX_BAD && n >= 5 && n == (size_t)rec[0] + 5u, "bad record %s", line);
        if (n == HEX_BAD || n < 5) {
            continue;
        }
        unsigned sum = 0;
        for (size_t k = 0; k < n; k++) {
            sum += rec[k];
        }
        CHECK_MSG((sum & 0xFF) == 0, "checksum of %s", line);
        uint32_t offset = (uint32_t)rec[1] << 8 | rec[2];
        if (rec[3] == 4) {
            upper = (uint32_t)rec[4] << 8 | rec[5];
        } else if (rec[3] == 0) {
            uint32_t address = upper << 16 | offset;
            CHECK(address >= CONFIG_PAGE_ADDRESS && address + rec[0] <= CONFIG_PAGE_ADDRESS + CONFIG_PAGE_SIZE);
            if (address >= CONFIG_PAGE_ADDRESS && address + rec[0] <= CONFIG_PAGE_ADDRESS + CONFIG_PAGE_SIZE) {
                memcpy(image + (address - CONFIG_PAGE_ADDRESS), rec + 4, rec[0]);
                covered += rec[0];
            }
        } else if (rec[3] == 1) {
            eof = 1;
        }
    }
    CHECK_EQ_U(upper, 0x0803u);
    CHECK_EQ_U(covered, CONFIG_PAGE_SIZE);
    CHECK(eof && lines == 8);
    CHECK(memcmp(image, page, CONFIG_PAGE_SIZE) == 0);
}

void test_provision_errors(void)
{
    static const char *const bad[] = {
        "",
        "--site-key " SITE " --uid " UID,
        "--site-key " SITE " --node 1",
        "--uid " UID " --node 1",
        "--site-key 0011 --uid " UID " --node 1",
        "--site-key " SITE "00 --uid " UID " --node 1",
        "--site-key " SITE " --uid 0102030405060708090a0b0g --node 1",
        "--site-key " SITE " --uid 0102 --node 1",
        "--site-key " SITE " --uid " UID " --node 0",
        "--site-key " SITE " --uid " UID " --node 128",
        "--site-key " SITE " --uid " UID " --node -1",
        "--site-key " SITE " --uid " UID " --node 1x",
        "--site-key " SITE " --uid " UID " --node ''",
        "--site-key " SITE " --uid " UID " --node 1 --bogus",
        "--site-key " SITE " --uid " UID " --node 1 --node 2",
        "--site-key " SITE " --uid " UID " --node",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK_MSG(run(bad[k]) == 2, "exit status for '%s'", bad[k]);
        CHECK_MSG(g_out_len == 0, "output for '%s'", bad[k]);
        CHECK_MSG(strncmp(g_err, "meter-provision: ", 17) == 0 && strstr(g_err, "usage:") != NULL,
                  "message for '%s': %s", bad[k], g_err);
    }
    CHECK_EQ_I(run("--site-key " SITE " --uid " UID " --node 5 --out /nonexistent-dir/page.bin"), 1);
    CHECK(strstr(g_err, "/nonexistent-dir/page.bin") != NULL);
    CHECK_EQ_I(run("--help"), 0);
    CHECK(strstr(g_out, "usage: meter-provision") != NULL);
}
