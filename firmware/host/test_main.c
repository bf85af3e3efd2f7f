/*
 * test_main.c - host unit tests of the meter core and of meter-analyze.
 *
 * usage: test_main [path/to/meter-analyze [scratch-dir]]
 * Prints one line per failed check, one line per test, and finally
 * "N passed, M failed" counting tests (a test fails when any of its checks does).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests.h"
#include "tharness.h"

unsigned th_passed;
unsigned th_failed;
const char *th_test = "";
const char *g_analyze_path;
const char *g_tmp_dir;

void th_fail_msg(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    th_failed++;
    printf("FAIL %s:%d: %s: ", file, line, th_test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

typedef struct {
    const char *name;
    void (*fn)(void);
    int needs_tool;
} test_entry_t;

#define T(name) {#name, name, 0}
#define TT(name) {#name, name, 1}

static const test_entry_t tests[] = {
    T(test_wasm_abi), /* first: checks the state before ww_init */
    T(test_config_defaults),
    T(test_invalid_config),
    T(test_can_frame_layout),
    T(test_accuracy_pf1),
    T(test_accuracy_pf05_lagging),
    T(test_accuracy_generator),
    T(test_accuracy_harmonics),
    T(test_offset_tolerance),
    T(test_block_independence),
    T(test_frequency),
    T(test_energy_register),
    T(test_soft_sqrt),
    T(test_energy_minute),
    T(test_energy_minute_export),
    T(test_dead_line),
    T(test_voltage_loss_and_return),
    T(test_can_reply),
    T(test_can_ignored),
    T(test_can_no_reply_before_window),
    T(test_txq_overflow),
    TT(test_analyze_defaults),
    TT(test_analyze_options),
    TT(test_analyze_bad_input),
};

int main(int argc, char **argv)
{
    g_analyze_path = argc > 1 ? argv[1] : NULL;
    g_tmp_dir = argc > 2 ? argv[2] : ".";
    unsigned passed = 0, failed = 0, skipped = 0;
    for (size_t k = 0; k < sizeof tests / sizeof tests[0]; k++) {
        th_test = tests[k].name;
        if (tests[k].needs_tool && g_analyze_path == NULL) {
            printf("SKIP %s: no meter-analyze path given\n", th_test);
            skipped++;
            continue;
        }
        unsigned failed_before = th_failed, passed_before = th_passed;
        tests[k].fn();
        int ok = th_failed == failed_before;
        printf("%s %s (%u checks)\n", ok ? "ok  " : "FAIL", th_test, th_passed - passed_before + th_failed - failed_before);
        if (ok)
            passed++;
        else
            failed++;
    }
    printf("%u checks: %u passed, %u failed\n", th_passed + th_failed, th_passed, th_failed);
    if (skipped > 0)
        printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    else
        printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
