/*
 * meter.h - the portable meter core: sample blocks in, CAN frames in, CAN
 * frames out, and the protocol engine of docs/protocol.md. No registers, no
 * I/O, no allocation; one meter_t holds the complete state (static storage
 * in the firmware and in the wasm build).
 *
 * Typical use (board superloop or simulator):
 *
 *     meter_config_t cfg;
 *     meter_config_default(&cfg);
 *     meter_boot(&m, &cfg, config_page, persisted_nv_or_NULL);
 *     ...
 *     meter_feed(&m, dma_half_buffer, n);
 *     meter_on_can_rx(&m, &rx_frame);
 *     if (meter_nv_take_dirty(&m)) { persist(meter_nv(&m)); }
 *     while (meter_can_tx_pop(&m, &tx_frame)) { send(tx_frame); }
 *
 * Time: the meter's clock is its sample count (samples / fs), so every
 * timeout, rate limit and timestamp follows the ADC, never a second clock.
 * Frames handed in between two meter_feed() calls share one instant.
 *
 * Persistence: the board (or the simulator) must save meter_nv() whenever
 * meter_nv_take_dirty() says so, and before transmitting frames queued
 * after that: the blob holds the reserved end of the transmit counter,
 * which has to be stored before a value of a new block goes on the bus.
 *
 * Transmission: frames must go on the bus in queue order (on bxCAN: TX FIFO
 * mode, TXFP = 1), so frames of one message stay in sequence.
 */
#ifndef WW_METER_H
#define WW_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "can_frame.h"
#include "meter_config.h"
#include "metrology.h"
#include "proto.h"
#include "proto_frames.h"
#include "secure.h"

#define METER_FW_MAJOR 1u
#define METER_FW_MINOR 0u
#ifndef METER_FW_BUILD
#define METER_FW_BUILD 1u
#endif

#define METER_UJ_PER_WH 3600000000ull
#define METER_UJ_PER_MWH 3600000u

/* Energy register: integer Wh plus the sub-Wh remainder in microjoules
 * (0 <= rem_uj < 3.6e9), so no energy is lost to rounding or counted twice. */
typedef struct {
    uint64_t wh;
    uint32_t rem_uj;
} meter_energy_t;

void meter_energy_add(meter_energy_t *e, uint64_t uj);
double meter_energy_wh(const meter_energy_t *e);
uint64_t meter_energy_mwh(const meter_energy_t *e); /* rounded down */

/*
 * Nonvolatile state: everything that must survive power loss. Fixed size,
 * versioned, CRC-checked; opaque to the board and the simulator, which
 * store the bytes as they are and hand them back at boot. Blank (all zero
 * counters) at the first boot after provisioning, and whenever the blob is
 * invalid or belongs to other keys (keys_crc), since new keys restart the
 * counters (docs/protocol.md section 3, Freshness).
 */
#define METER_NV_MAGIC 0x564E5757u /* "WWNV" */
#define METER_NV_VERSION 1u
#define METER_FV_BLOCK 256u /* transmit counter values reserved at a time */

typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t size;
    uint32_t keys_crc;       /* CRC-32 of the meter and group keys it belongs to */
    uint32_t tx_fv_reserved; /* transmit FVs up to this one may be used */
    uint32_t rx_fv;          /* last FV accepted from the aggregator (meter key) */
    uint32_t rx_group_fv;    /* last FV accepted in a broadcast (group key) */
    uint64_t import_mwh;     /* energy registers, persisted per whole Wh */
    uint64_t export_mwh;
    uint32_t boots;
    uint16_t energy_epoch;
    uint16_t event_seq;      /* number of the next event */
    uint32_t reserved;       /* 0; keeps the CRC the last field, without padding */
    uint32_t crc;            /* CRC-32 of every byte before it */
} meter_nv_t;

#define METER_NV_SIZE 56u
_Static_assert(sizeof(meter_nv_t) == METER_NV_SIZE, "meter_nv_t has no padding");

/* true if magic, version, size and CRC are right. */
bool meter_nv_valid(const meter_nv_t *nv);

/* Counters of the STATUS record (saturating there at 0xFFFF). */
typedef struct {
    uint32_t rejected_mac;
    uint32_t rejected_stale;
    uint32_t rejected_malformed;
    uint32_t rate_limited;
} meter_counters_t;

/* Dip/swell thresholds of SET_THRESHOLDS, kept for the detector. */
typedef struct {
    bool set;            /* false: never received */
    uint16_t dip;        /* 0.01 % of Udin */
    uint16_t swell;
    uint16_t hysteresis;
    uint32_t udin;       /* 0.01 V */
} meter_thresholds_t;

#define METER_AGGREGATES 144u /* 24 hours of 10-minute aggregates */
#define METER_EVENTS 64u
#define METER_AGGREGATE_S 600u

/* The 10-minute aggregate being accumulated (IEC 61000-4-30: from the
 * 10-cycle values; r.m.s. quantities as the root of the mean square). */
typedef struct {
    bool active;
    bool whole;          /* began on the boundary: only whole intervals are kept */
    uint32_t start_s;
    uint8_t flags;
    uint32_t windows;
    uint64_t vrms_sq_sum; /* (0.01 V)^2 */
    uint16_t vrms_min, vrms_max;
    int64_t p_sum;       /* mW */
    int32_t p_min, p_max;
    uint64_t f_sum;      /* mHz, windows with a frequency */
    uint32_t f_windows;
    uint64_t thd_v_sq_sum, thd_i_sq_sum; /* (0.01 %)^2, windows with a THD */
    uint32_t thd_v_windows, thd_i_windows;
    uint64_t import_uj, export_uj;
} meter_aggregation_t;

/* A 150-cycle (3 s) aggregate: 15 consecutive 10-cycle values, the last
 * one before a 10-minute clock boundary cut short (resynchronised), so
 * every window is in exactly one. */
#define METER_AGG150_WINDOWS 15u
typedef struct {
    uint32_t seq;        /* 1, 2, ... since boot (0: none yet) */
    uint64_t t_start;    /* samples: first window's start, last window's end */
    uint64_t t_end;
    uint32_t windows;
    uint8_t flags;       /* PROTO_AGG_FLAGGED: a flagged window inside */
    float vrms;          /* V, r.m.s. of the window values */
    float irms;          /* A */
    float p;             /* W, mean */
    float f;             /* Hz, mean of the windows with a frequency (0: none) */
    float thd_v;         /* %, r.m.s. of the window values (< 0: none) */
    float thd_i;
} meter_agg150_t;

typedef struct {
    uint32_t windows;
    uint32_t interval_s; /* 10-minute interval of the first window (time valid) */
    bool timed;
    uint64_t t_start, t_end;
    uint8_t flags;
    double v2, i2, p, f, tv2, ti2;
    uint32_t nf, ntv, nti;
} meter_agg150_acc_t;

/* READ_AGGREGATES / READ_EVENTS in progress: records are queued as the TX
 * queue drains, then the ACK. */
typedef struct {
    uint8_t opcode;      /* 0: idle */
    uint32_t command_fv;
    uint32_t next;       /* ordinal (count since boot) of the next entry to look at */
    uint32_t from;       /* from_s or from_seq */
    uint8_t max_count;
    uint8_t sent;
} meter_read_job_t;

#define METER_LOCKOUT_FAILURES 8u

typedef struct {
    /* metrology */
    meter_config_t cfg;
    mtr_t mtr;
    meter_window_t last;      /* valid if has_window */
    bool has_window;
    bool initialised;
    uint32_t seq;             /* windows completed since boot */
    meter_energy_t e_import;  /* P > 0 */
    meter_energy_t e_export;  /* P < 0 */

    /* identity and persistence */
    bool online;              /* valid configuration page: the meter talks */
    meter_identity_t id;
    meter_nv_t nv;
    bool nv_dirty;
    uint32_t tx_fv;           /* last FV sent; 0xFFFFFFFF: no more secured messages */

    /* outputs and settings */
    bool relay_on;
    uint64_t identify_until;  /* sample */
    meter_thresholds_t thresholds;
    uint8_t tec, rec;         /* CAN error counters, set by the board */

    /* time: Unix ms = time_base_ms + (sample - time_base_sample) / fs */
    bool time_valid;
    uint64_t time_base_ms;
    uint64_t time_base_sample;

    /* receiving */
    reasm_t rx_relay, rx_time, rx_time_broadcast, rx_control;
    meter_counters_t counters;
    uint64_t remote_next[3];  /* SNAPSHOT, ENERGY, STATUS: earliest next answer */
    uint64_t failed_at[METER_LOCKOUT_FAILURES]; /* the last failed verifications */
    uint32_t failed_next;
    uint32_t failed_count;
    uint64_t lockout_until;
    uint64_t failure_ack_next;

    /* CLEAR_ENERGY */
    bool clear_armed;
    uint32_t clear_challenge;
    uint64_t clear_armed_at;

    /* power quality */
    meter_agg150_acc_t acc150;
    meter_agg150_t agg150;    /* the last completed 150-cycle aggregate */
    float f10_hz;             /* the last 10-second frequency (IEC 61000-4-30) */
    uint32_t f10_seq;         /* 10-second values since boot */

    /* history */
    meter_aggregation_t aggregation;
    proto_aggregate_t aggregates[METER_AGGREGATES];
    uint32_t aggregates_total; /* kept since boot; entry k is at k % METER_AGGREGATES */
    proto_event_t events[METER_EVENTS];
    uint32_t events_total;
    meter_read_job_t read_job;

    /* sending */
    txq_t txq;
} meter_t;

/* Metrology only (meter-analyze, tests): the meter measures but stays
 * silent on CAN. Returns false if cfg is invalid (the meter then ignores all
 * input). */
bool meter_init(meter_t *m, const meter_config_t *cfg);

/*
 * meter_init, then the configuration page and the persisted state
 * (persisted = NULL: blank, as at the first power-up after provisioning).
 * Counts the boot and continues the transmit counter from the persisted
 * reservation. Returns false if cfg or the page is invalid; with an invalid
 * page the meter measures but stays silent. persisted may point at m->nv.
 */
bool meter_boot(meter_t *m, const meter_config_t *cfg, const uint8_t page[CONFIG_PAGE_SIZE],
                const meter_nv_t *persisted);

/* Process count sample pairs; returns how many windows were published. */
uint32_t meter_feed(meter_t *m, const adc_pair_t *samples, uint32_t count);

/* End of input (meter-analyze): publish what the metrology still holds
 * back (see mtr_flush); returns how many windows that published. */
uint32_t meter_flush(meter_t *m);

/* The detectors' thresholds (SET_THRESHOLDS, or the defaults from
 * cfg.udin_v) into the metrology. */
void meter_apply_thresholds(meter_t *m);

/* Last completed window, or NULL before the first one. */
const meter_window_t *meter_last_window(const meter_t *m);

/* Hand a received frame to the meter; true if it is addressed to this meter
 * (its node, or broadcast TIME) with a function it listens to. */
bool meter_on_can_rx(meter_t *m, const can_frame_t *f);

/* Pop the next frame to transmit; false if none. */
bool meter_can_tx_pop(meter_t *m, can_frame_t *out);

/* The blob to persist, and whether it changed since the last call. */
const meter_nv_t *meter_nv(const meter_t *m);
bool meter_nv_take_dirty(meter_t *m);

/*
 * Log a dip, swell or interruption in the EVENT ring (meter_feed calls this
 * when the metrology's detector finishes one). start_sample is the meter
 * clock at its start. (Windows and aggregates are flagged by the metrology,
 * from the event's span.) Returns false for an unknown kind.
 */
bool meter_log_event(meter_t *m, uint8_t kind, uint64_t start_sample, uint32_t duration_ms,
                     uint16_t extreme);

/* Samples since boot: the meter's clock. */
uint64_t meter_clock(const meter_t *m);
/* Unix ms of a sample if time is valid, else ms since boot. */
uint64_t meter_time_ms(const meter_t *m, uint64_t sample);
uint32_t meter_identify_seconds_left(const meter_t *m);
bool meter_lockout_active(const meter_t *m);
void meter_set_can_errors(meter_t *m, uint8_t tec, uint8_t rec);

double meter_energy_import_wh(const meter_t *m);
double meter_energy_export_wh(const meter_t *m);

#endif /* WW_METER_H */
