/*
 * proto.h - Wattwall meter protocol v1 (docs/protocol.md): identifiers
 * (section 1) and the payloads of every command (section 4) and record
 * (section 5), with their encoders and decoders.
 *
 * Field names and order are the specification's tables: every field lies
 * inside one 7-byte frame chunk, with reserved bytes (written 0, ignored on
 * reading) in between; the 12-byte uid (the spec's uid_0 and uid_1) is
 * contiguous. Encoders write exactly PROTO_LEN_* bytes and return that
 * length. Decoders check the length (and, for commands, the opcode) first,
 * then the values (the rules of the specification plus what no encoder
 * writes: time_cs > 99, |pf| > 10000, unknown event kinds, ACKs of
 * non-commands), and say why they rejected a payload. Portable, no
 * allocation, no I/O.
 */
#ifndef WW_PROTO_H
#define WW_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1u

/* Identifiers: CAN 2.0A, id = function << 7 | node. */
#define PROTO_NODE_BITS 7u
#define PROTO_NODE_MASK 0x7Fu
#define PROTO_NODE_BROADCAST 0u /* the aggregator; broadcast address of commands */
#define PROTO_NODE_MIN 1u
#define PROTO_NODE_MAX 127u
#define PROTO_ID(fn, node) \
    ((uint16_t)(((uint32_t)(fn) << PROTO_NODE_BITS) | ((uint32_t)(node) & PROTO_NODE_MASK)))
#define PROTO_ID_FN(id) (((uint32_t)(id) >> PROTO_NODE_BITS) & 0x0Fu)
#define PROTO_ID_NODE(id) ((uint32_t)(id) & PROTO_NODE_MASK)

enum {
    PROTO_FN_RELAY = 0,
    PROTO_FN_TIME = 1,
    PROTO_FN_CONTROL = 2,
    PROTO_FN_ACK = 3,
    PROTO_FN_SNAPSHOT = 4,
    PROTO_FN_ENERGY = 5,
    PROTO_FN_STATUS = 6,
    PROTO_FN_AGGREGATE = 7,
    PROTO_FN_EVENT = 8,
};

enum {
    PROTO_OP_SET_THRESHOLDS = 0x01,
    PROTO_OP_IDENTIFY = 0x02,
    PROTO_OP_CLEAR_ENERGY_ARM = 0x03,
    PROTO_OP_CLEAR_ENERGY_CONFIRM = 0x04,
    PROTO_OP_READ_AGGREGATES = 0x05,
    PROTO_OP_READ_EVENTS = 0x06,
};

/* ACK result */
enum {
    PROTO_RESULT_OK = 0,
    PROTO_RESULT_BAD_ARGUMENTS = 1,
    PROTO_RESULT_NOT_ARMED = 2, /* not armed or expired */
    PROTO_RESULT_MISMATCH = 3,
    PROTO_RESULT_BUSY = 4,
    PROTO_RESULT_AUTH_FAILED = 5,
    PROTO_RESULT_STALE = 6,
};

/* Payload lengths, reserved bytes included */
#define PROTO_LEN_RELAY 1u
#define PROTO_LEN_TIME 6u
#define PROTO_LEN_SET_THRESHOLDS 11u /* opcode included, as all CONTROL lengths */
#define PROTO_LEN_IDENTIFY 2u
#define PROTO_LEN_CLEAR_ENERGY_ARM 1u
#define PROTO_LEN_CLEAR_ENERGY_CONFIRM 34u
#define PROTO_LEN_READ_AGGREGATES 6u
#define PROTO_LEN_READ_EVENTS 4u
#define PROTO_LEN_ACK 11u
#define PROTO_LEN_SNAPSHOT 28u
#define PROTO_LEN_ENERGY 23u
#define PROTO_LEN_STATUS 35u
#define PROTO_LEN_AGGREGATE 42u
#define PROTO_LEN_EVENT 16u
#define PROTO_LEN_MAX 42u /* longest payload */

#define PROTO_UID_SIZE 12u
#define PROTO_READ_MAX_COUNT 16u
#define PROTO_NOT_MEASURED 0xFFFFu /* thd_v, thd_i */

/* SNAPSHOT/STATUS flags (ENERGY uses only TIME_VALID) */
#define PROTO_FLAG_RELAY_ON 0x01u
#define PROTO_FLAG_TIME_VALID 0x02u
#define PROTO_FLAG_WINDOW_FLAGGED 0x04u /* SNAPSHOT */
#define PROTO_FLAG_NO_VOLTAGE 0x08u     /* SNAPSHOT */
#define PROTO_FLAG_IDENTIFYING 0x04u    /* STATUS */
#define PROTO_FLAG_LOCKOUT 0x08u        /* STATUS */
#define PROTO_AGG_FLAGGED 0x01u         /* AGGREGATE */

enum { PROTO_EVENT_DIP = 1, PROTO_EVENT_SWELL = 2, PROTO_EVENT_INTERRUPTION = 3 };

/* Why a decoder rejected a payload. */
typedef enum {
    PROTO_OK = 0,
    PROTO_BAD_LENGTH,   /* wrong length for the function (and opcode) */
    PROTO_BAD_FUNCTION, /* not a command (decode_command) */
    PROTO_BAD_OPCODE,   /* unknown CONTROL opcode */
    PROTO_BAD_VALUE,    /* well-formed, but an argument is out of range */
} proto_status_t;

const char *proto_status_name(proto_status_t s);

/* A command (aggregator -> meter). Only the fields of `function` (and, for
 * CONTROL, of `opcode`) are meaningful. */
typedef struct {
    uint8_t function; /* PROTO_FN_RELAY, _TIME or _CONTROL */
    uint8_t opcode;   /* CONTROL; 0 otherwise */
    uint8_t state;    /* RELAY: 0 off, 1 on */
    uint64_t unix_ms; /* TIME, u48 */
    uint16_t dip, swell, hysteresis; /* SET_THRESHOLDS, 0.01 % of Udin */
    uint32_t udin;                   /* SET_THRESHOLDS, 0.01 V */
    uint8_t seconds;                 /* IDENTIFY */
    uint32_t challenge;              /* CLEAR_ENERGY_CONFIRM */
    uint8_t uid[PROTO_UID_SIZE];
    uint64_t import_mwh, export_mwh; /* u48 */
    uint32_t from_s;    /* READ_AGGREGATES */
    uint16_t from_seq;  /* READ_EVENTS */
    uint8_t max_count;  /* READ_* */
} proto_command_t;

/* Largest TIME the records can carry: time_s is a u32. */
#define PROTO_UNIX_MS_MAX (0xFFFFFFFFull * 1000u + 999u)
#define PROTO_U48_MAX 0xFFFFFFFFFFFFull

typedef struct {
    uint8_t function, opcode;
    uint32_t command_fv;
    uint8_t result;
    uint32_t value;
} proto_ack_t;

/* No apparent power: S = Vrms * Irms for one phase. */
typedef struct {
    uint32_t time_s;
    uint8_t time_cs;
    uint8_t flags;
    uint16_t vrms; /* 0.01 V */
    uint16_t irms; /* mA */
    int32_t p;     /* mW */
    uint32_t n;    /* mvar */
    int16_t pf;    /* 0.0001 */
    uint16_t f;    /* mHz */
    uint16_t thd_v, thd_i;
} proto_snapshot_t;

typedef struct {
    uint32_t time_s;
    uint8_t flags;
    uint64_t import_mwh, export_mwh; /* u48 */
    uint16_t epoch;
    uint16_t boots;
} proto_energy_t;

typedef struct {
    uint8_t protocol;
    uint16_t firmware, build;
    uint8_t uid[PROTO_UID_SIZE];
    uint8_t flags;
    uint32_t uptime_s;
    uint16_t boots;
    uint16_t rejected_mac, rejected_stale, rejected_malformed, rate_limited;
    uint8_t tec, rec;
} proto_status_rec_t;

typedef struct {
    uint32_t start_s;
    uint8_t flags;
    uint16_t vrms_mean, vrms_min, vrms_max;
    int32_t p_mean, p_min, p_max;
    uint16_t f_mean;
    uint16_t thd_v, thd_i;
    uint32_t import_mwh, export_mwh;
} proto_aggregate_t;

typedef struct {
    uint16_t seq;
    uint8_t kind;
    uint32_t start_s;
    uint16_t start_ms;
    uint32_t duration_ms;
    uint16_t extreme;
} proto_event_t;

/* The payload length a message of this function must have (judged from the
 * opcode for CONTROL), or 0 if none can be right (unknown opcode, CONTROL
 * without one, reserved function). A receiver checks it before the MAC:
 * any other length is malformed. */
size_t proto_payload_length(uint32_t function, const uint8_t *payload, size_t len);
/* len is that length (and there is one). */
bool proto_payload_length_ok(uint32_t function, const uint8_t *payload, size_t len);

/* Checks the function, the opcode, the length, then the values. On
 * PROTO_BAD_VALUE *out holds the fields as read (for the ACK); on the other
 * failures it is untouched. */
proto_status_t proto_decode_command(uint32_t function, const uint8_t *payload, size_t len,
                                    proto_command_t *out);
/* Encodes the fields of cmd->function (and cmd->opcode); returns 0 for an
 * unknown function or opcode. out must hold PROTO_LEN_MAX bytes. */
size_t proto_encode_command(const proto_command_t *cmd, uint8_t *out);

size_t proto_encode_ack(const proto_ack_t *r, uint8_t *out);
size_t proto_encode_snapshot(const proto_snapshot_t *r, uint8_t *out);
size_t proto_encode_energy(const proto_energy_t *r, uint8_t *out);
size_t proto_encode_status(const proto_status_rec_t *r, uint8_t *out);
size_t proto_encode_aggregate(const proto_aggregate_t *r, uint8_t *out);
size_t proto_encode_event(const proto_event_t *r, uint8_t *out);

proto_status_t proto_decode_ack(const uint8_t *p, size_t len, proto_ack_t *out);
proto_status_t proto_decode_snapshot(const uint8_t *p, size_t len, proto_snapshot_t *out);
proto_status_t proto_decode_energy(const uint8_t *p, size_t len, proto_energy_t *out);
proto_status_t proto_decode_status(const uint8_t *p, size_t len, proto_status_rec_t *out);
proto_status_t proto_decode_aggregate(const uint8_t *p, size_t len, proto_aggregate_t *out);
proto_status_t proto_decode_event(const uint8_t *p, size_t len, proto_event_t *out);

#endif /* WW_PROTO_H */
