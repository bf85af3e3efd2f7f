/*
 * meter_config.h - sample type and analogue configuration of one meter.
 *
 * Portable, freestanding: no registers, no libc I/O.
 */
#ifndef WW_METER_CONFIG_H
#define WW_METER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One simultaneous voltage/current sample pair, exactly the 32-bit word the
 * STM32F107 dual ADC writes in regular-simultaneous mode via DMA (ADC_DR of
 * ADC1: bits 15:0 = ADC1 = voltage, bits 31:16 = ADC2 = current). On a
 * little-endian target the low half-word is at the lower address, so the
 * DMA buffer can be read directly as an array of adc_pair_t. The wasm ABI
 * uses the same layout (4 bytes per pair, v at offset 0, i at offset 2).
 * Codes are 12-bit right-aligned: 0..4095.
 */
typedef struct {
    uint16_t v;
    uint16_t i;
} adc_pair_t;

_Static_assert(sizeof(adc_pair_t) == 4, "adc_pair_t must be one 32-bit DMA word");
_Static_assert(offsetof(adc_pair_t, v) == 0, "voltage (ADC1) is the low half-word");
_Static_assert(offsetof(adc_pair_t, i) == 2, "current (ADC2) is the high half-word");

#define METER_ADC_MAX_CODE 4095u

/* Paper's CVCT front end: +-460*sqrt(2) V and +-30*sqrt(2) A map to
 * +-1.5 V around 1.5 V; 12-bit ADC with 3.3 V reference. */
#define METER_SQRT2 1.41421356237309504880
#define METER_ADC_VREF 3.3
#define METER_ADC_COUNTS 4096.0
#define METER_CVCT_V_PEAK (460.0 * METER_SQRT2)
#define METER_CVCT_I_PEAK (30.0 * METER_SQRT2)
#define METER_CVCT_OUT_SWING 1.5 /* V peak at the CVCT output */
#define METER_CVCT_OUT_MID 1.5   /* V at the CVCT output with zero input */
#define METER_DEFAULT_V_SCALE \
    (METER_CVCT_V_PEAK / METER_CVCT_OUT_SWING * METER_ADC_VREF / METER_ADC_COUNTS)
#define METER_DEFAULT_I_SCALE \
    (METER_CVCT_I_PEAK / METER_CVCT_OUT_SWING * METER_ADC_VREF / METER_ADC_COUNTS)
/* 1.5 V / 3.3 V * 4096 = 1861.8 counts, rounded */
#define METER_DEFAULT_OFFSET 1862u
#define METER_DEFAULT_FS_HZ 6400u
#define METER_DEFAULT_NOMINAL_HZ 50u
#define METER_DEFAULT_UDIN_V 230.0f
#define METER_DEFAULT_ZC_HYST 16u

typedef struct {
    uint32_t fs_hz;          /* sampling rate of each channel, Hz (6400) */
    uint32_t nominal_hz;     /* nominal mains frequency, Hz (50) */
    float v_scale;           /* volts per ADC count (may be negative to undo
                                an inverting front end; the CVCT inverts both
                                channels, which cancels in P) */
    float i_scale;           /* amperes per ADC count */
    uint16_t v_offset;       /* nominal mid-scale code of the voltage channel;
                                only has to be close: the exact DC is removed
                                analytically per window */
    uint16_t i_offset;       /* nominal mid-scale code of the current channel */
    uint16_t zc_hyst_counts; /* zero-crossing hysteresis, ADC counts */
    uint16_t harmonics_every; /* harmonic analysis of one window in this many
                                 (0 and 1: every window, as the meter does; the
                                 simulator may save time: the windows in
                                 between carry the last THD, MTR_WF_THD_HELD) */
    float udin_v;            /* declared input voltage (IEC 61000-4-30 Udin):
                                the dip, swell and interruption thresholds
                                are relative to it until SET_THRESHOLDS */
    float phase_deg;         /* calibration: how far the current channel lags
                                the voltage channel in the front end, degrees
                                at the nominal frequency (a time delay, so
                                proportional to frequency); corrected in P.
                                |phase_deg| <= METER_MAX_PHASE_DEG */
} meter_config_t;

#define METER_MAX_PHASE_DEG 20.0f
#define METER_MAX_HARMONICS_EVERY 50u

/* Fill *cfg with the defaults above. (The CAN node, uid and keys come from
 * the configuration page, see secure.h.) */
void meter_config_default(meter_config_t *cfg);

/* true if the configuration can be used by meter_init(). */
bool meter_config_valid(const meter_config_t *cfg);

#endif /* WW_METER_CONFIG_H */
