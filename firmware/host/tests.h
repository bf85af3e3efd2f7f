#ifndef WW_TESTS_H
#define WW_TESTS_H

#include <stdbool.h>

/* Set by test_main from argv: the host tools, a scratch dir, the vectors. */
extern const char *g_analyze_path;
extern const char *g_tmp_dir;
extern const char *g_provision_path;
extern const char *g_vectors_path;
extern const char *g_characterise_path;

/* Loads test-vectors/protocol.json; false if it is not there. */
bool vectors_available(void);

void test_dsp_tables(void);
void test_dsp_fft(void);
void test_dsp_resample(void);
void test_dsp_harmonics(void);
void test_dsp_fundamental(void);
void test_dsp_frequency_10s(void);
void test_dsp_half_cycles(void);

void test_config_defaults(void);
void test_invalid_config(void);
void test_accuracy_pf1(void);
void test_accuracy_pf05_lagging(void);
void test_accuracy_generator(void);
void test_accuracy_harmonics(void);
void test_offset_tolerance(void);
void test_block_independence(void);
void test_frequency(void);
void test_energy_register(void);
void test_soft_sqrt(void);
void test_energy_minute(void);
void test_energy_minute_export(void);
void test_dead_line(void);
void test_voltage_loss_and_return(void);
void test_thd_to_the_40th(void);
void test_phase_calibration(void);
void test_dips_and_swells(void);
void test_dip_thresholds(void);
void test_frequency_10s(void);
void test_aggregates_150_cycles(void);
void test_harmonics_every(void);

void test_eeprom_basics(void);
void test_eeprom_power_cut_sweep(void);
void test_eeprom_double_cut_sweep(void);
void test_can_bit_timing_table(void);
void test_can_bit_timing_search(void);
void test_can_filters_match_meter(void);
void test_adc_halves_rules(void);
void test_adc_halves_simulated_dma(void);
void test_app_nv_persistence(void);
void test_app_no_frame_before_persisted(void);
void test_app_calibration_and_relay(void);
void test_app_power_cut_sweep(void);

void test_sha256_vectors(void);
void test_hmac_vectors(void);
void test_hkdf_vectors(void);
void test_crc32_vectors(void);

void test_can_frame_layout(void);
void test_frames_segmentation(void);
void test_frames_reassembly_errors(void);
void test_txq_whole_messages(void);
void test_secure_open_reasons(void);
void test_config_page(void);
void test_codecs(void);

void test_vectors_keys(void);
void test_vectors_messages(void);
void test_vectors_rejections(void);

void test_engine_boot(void);
void test_engine_remote_records(void);
void test_engine_remote_rate_limit(void);
void test_engine_commands(void);
void test_engine_replay_and_forgery(void);
void test_engine_failure_ack_limit(void);
void test_engine_lockout(void);
void test_engine_clear_energy(void);
void test_engine_broadcast_time(void);
void test_engine_reboot(void);
void test_engine_counter_wrap(void);
void test_engine_tx_queue(void);
void test_engine_malformed_frames(void);
void test_engine_aggregates(void);
void test_engine_events(void);

void test_fuzz_layers(void);
void test_fuzz_meter(void);

void test_wasm_abi(void);

void test_provision_output(void);
void test_provision_errors(void);

void test_characterise_goals(void);

void test_analyze_defaults(void);
void test_analyze_options(void);
void test_analyze_events(void);
void test_analyze_bad_input(void);

#endif
