#ifndef WW_TESTS_H
#define WW_TESTS_H

/* Set by test_main from argv: the meter-analyze binary and a scratch dir. */
extern const char *g_analyze_path;
extern const char *g_tmp_dir;

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

void test_can_reply(void);
void test_can_ignored(void);
void test_can_no_reply_before_window(void);
void test_txq_overflow(void);
void test_can_frame_layout(void);

void test_wasm_abi(void);

void test_analyze_defaults(void);
void test_analyze_options(void);
void test_analyze_bad_input(void);

#endif
