/*
 * test_main.c - host unit tests of the meter core and of meter-analyze.
 *
 * usage: test_main [meter-analyze [scratch-dir [meter-provision [protocol.json
 *                  [meter-characterise]]]]]
 * Tests that need a tool or the shared vectors are skipped without them.
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
const char *g_provision_path;
const char *g_vectors_path;
const char *g_characterise_path;

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

enum { NEEDS_NOTHING, NEEDS_ANALYZE, NEEDS_PROVISION, NEEDS_VECTORS, NEEDS_CHARACTERISE };

typedef struct {
    const char *name;
    void (*fn)(void);
    int needs;
} test_entry_t;

#define T(name) {#name, name, NEEDS_NOTHING}
#define TT(name) {#name, name, NEEDS_ANALYZE}
#define TP(name) {#name, name, NEEDS_PROVISION}
#define TV(name) {#name, name, NEEDS_VECTORS}
#define TC(name) {#name, name, NEEDS_CHARACTERISE}

/* Why a test cannot run here, or NULL. */
static const char *missing(int needs)
{
    switch (needs) {
    case NEEDS_ANALYZE:
        return g_analyze_path == NULL ? "no meter-analyze path given" : NULL;
    case NEEDS_PROVISION:
        return g_provision_path == NULL ? "no meter-provision path given" : NULL;
    case NEEDS_VECTORS:
        return vectors_available() ? NULL : "test-vectors/protocol.json not found";
    case NEEDS_CHARACTERISE:
        return g_characterise_path == NULL ? "no meter-characterise path given" : NULL;
    default:
        return NULL;
    }
}

static const test_entry_t tests[] = {
    T(test_wasm_abi), /* first: checks the state before ww_boot */
    T(test_dsp_tables),
    T(test_dsp_fft),
    T(test_dsp_resample),
    T(test_dsp_harmonics),
    T(test_dsp_fundamental),
    T(test_dsp_frequency_10s),
    T(test_dsp_half_cycles),
    T(test_config_defaults),
    T(test_invalid_config),
    T(test_sha256_vectors),
    T(test_hmac_vectors),
    T(test_hkdf_vectors),
    T(test_crc32_vectors),
    T(test_can_frame_layout),
    T(test_frames_segmentation),
    T(test_frames_reassembly_errors),
    T(test_txq_whole_messages),
    T(test_secure_open_reasons),
    T(test_config_page),
    T(test_codecs),
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
    T(test_thd_to_the_40th),
    T(test_phase_calibration),
    T(test_dips_and_swells),
    T(test_dip_thresholds),
    T(test_frequency_10s),
    T(test_aggregates_150_cycles),
    T(test_harmonics_every),
    T(test_eeprom_basics),
    T(test_eeprom_power_cut_sweep),
    T(test_eeprom_double_cut_sweep),
    T(test_can_bit_timing_table),
    T(test_can_bit_timing_search),
    T(test_can_filters_match_meter),
    T(test_adc_halves_rules),
    T(test_adc_halves_simulated_dma),
    T(test_app_nv_persistence),
    T(test_app_no_frame_before_persisted),
    T(test_app_calibration_and_relay),
    T(test_app_power_cut_sweep),
    T(test_engine_boot),
    T(test_engine_remote_records),
    T(test_engine_remote_rate_limit),
    T(test_engine_commands),
    T(test_engine_replay_and_forgery),
    T(test_engine_failure_ack_limit),
    T(test_engine_lockout),
    T(test_engine_clear_energy),
    T(test_engine_broadcast_time),
    T(test_engine_reboot),
    T(test_engine_counter_wrap),
    T(test_engine_tx_queue),
    T(test_engine_malformed_frames),
    T(test_engine_aggregates),
    T(test_engine_events),
    TV(test_vectors_keys),
    TV(test_vectors_messages),
    TV(test_vectors_rejections),
    T(test_fuzz_layers),
    T(test_fuzz_meter),
    TP(test_provision_output),
    TP(test_provision_errors),
    TC(test_characterise_goals),
    TT(test_analyze_defaults),
    TT(test_analyze_options),
    TT(test_analyze_events),
    TT(test_analyze_bad_input),
};

int main(int argc, char **argv)
{
    g_analyze_path = argc > 1 ? argv[1] : NULL;
    g_tmp_dir = argc > 2 ? argv[2] : ".";
    g_provision_path = argc > 3 ? argv[3] : NULL;
    g_vectors_path = argc > 4 ? argv[4] : NULL;
    g_characterise_path = argc > 5 ? argv[5] : NULL;
    unsigned passed = 0, failed = 0, skipped = 0;
    for (size_t k = 0; k < sizeof tests / sizeof tests[0]; k++) {
        th_test = tests[k].name;
        const char *why = missing(tests[k].needs);
        if (why != NULL) {
            printf("SKIP %s: %s\n", th_test, why);
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
