/*
 * test_vectors.c - the shared vectors test-vectors/protocol.json (written by
 * the TypeScript side) against the C implementation: keys and the
 * configuration page (core and meter-provision), every message (MAC,
 * frames, decoded fields, and back), every rejection (the reason, and the
 * meter's counters when the meter would receive it).
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "meter_rig.h"
#include "tests.h"
#include "tharness.h"

#define MAX_NODES 40000

static json_node_t g_nodes[MAX_NODES];
static json_doc_t g_doc = {g_nodes, MAX_NODES, 0, NULL, 0};
static char *g_text;
static int g_root = -1;

/* Loads the file once; false (and the test is skipped) if it is absent. */
bool vectors_available(void)
{
    if (g_root >= 0) {
        return true;
    }
    if (g_vectors_path == NULL) {
        return false;
    }
    FILE *f = fopen(g_vectors_path, "rb");
    if (f == NULL) {
        return false;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    g_text = malloc((size_t)n + 1);
    size_t got = g_text != NULL ? fread(g_text, 1, (size_t)n, f) : 0;
    fclose(f);
    if (got != (size_t)n) {
        return false;
    }
    g_text[n] = '\0';
    g_root = json_parse(&g_doc, g_text, (size_t)n);
    if (g_root < 0) {
        printf("vectors: %s: %s at byte %zu\n", g_vectors_path, g_doc.error, g_doc.error_at);
    }
    return true; /* a parse error fails the tests */
}

/* ------------------------------------------------------------ json helpers */

static const json_node_t *node(int i)
{
    return &g_doc.nodes[i];
}

static bool get_number(int obj, const char *name, double *out)
{
    int n = json_get(&g_doc, obj, name);
    if (n < 0 || node(n)->type != JSON_NUMBER) {
        return false;
    }
    *out = node(n)->number;
    return true;
}

static int64_t get_int(int obj, const char *name)
{
    double v = 0;
    CHECK_MSG(get_number(obj, name, &v), "number \"%s\" missing", name);
    return (int64_t)v;
}

/* Hex member into out; returns the length (HEX_BAD on error). */
static size_t get_hex(int obj, const char *name, uint8_t *out, size_t cap)
{
    static char text[4096];
    int n = json_get(&g_doc, obj, name);
    if (!json_string(&g_doc, n, text, sizeof text)) {
        return HEX_BAD;
    }
    return hex_decode(text, out, cap);
}

static void get_name(int obj, char *out, size_t cap)
{
    if (!json_string(&g_doc, json_get(&g_doc, obj, "name"), out, cap)) {
        snprintf(out, cap, "(unnamed)");
    }
}

/* ------------------------------------------------------------ field tables */

typedef enum { U8, U16, I16, U32, I32, U48, U64, UID } ftype_t;

typedef struct {
    const char *name;
    size_t offset;
    ftype_t type;
} field_t;

#define FIELD(T, name, type) {#name, offsetof(T, name), type}

static const field_t relay_fields[] = {FIELD(proto_command_t, state, U8)};
static const field_t time_fields[] = {FIELD(proto_command_t, unix_ms, U48)};
static const field_t thresholds_fields[] = {
    FIELD(proto_command_t, opcode, U8), FIELD(proto_command_t, dip, U16),
    FIELD(proto_command_t, swell, U16), FIELD(proto_command_t, hysteresis, U16),
    FIELD(proto_command_t, udin, U32)};
static const field_t identify_fields[] = {FIELD(proto_command_t, opcode, U8),
                                          FIELD(proto_command_t, seconds, U8)};
static const field_t arm_fields[] = {FIELD(proto_command_t, opcode, U8)};
static const field_t confirm_fields[] = {
    FIELD(proto_command_t, opcode, U8), FIELD(proto_command_t, challenge, U32),
    FIELD(proto_command_t, uid, UID), FIELD(proto_command_t, import_mwh, U48),
    FIELD(proto_command_t, export_mwh, U48)};
static const field_t read_aggregates_fields[] = {FIELD(proto_command_t, opcode, U8),
                                                 FIELD(proto_command_t, from_s, U32),
                                                 FIELD(proto_command_t, max_count, U8)};
static const field_t read_events_fields[] = {FIELD(proto_command_t, opcode, U8),
                                             FIELD(proto_command_t, from_seq, U16),
                                             FIELD(proto_command_t, max_count, U8)};
static const field_t ack_fields[] = {
    FIELD(proto_ack_t, function, U8), FIELD(proto_ack_t, opcode, U8),
    FIELD(proto_ack_t, command_fv, U32), FIELD(proto_ack_t, result, U8),
    FIELD(proto_ack_t, value, U32)};
static const field_t snapshot_fields[] = {
    FIELD(proto_snapshot_t, time_s, U32), FIELD(proto_snapshot_t, time_cs, U8),
    FIELD(proto_snapshot_t, flags, U8),   FIELD(proto_snapshot_t, vrms, U16),
    FIELD(proto_snapshot_t, irms, U16),   FIELD(proto_snapshot_t, p, I32),
    FIELD(proto_snapshot_t, n, U32),
    FIELD(proto_snapshot_t, pf, I16),     FIELD(proto_snapshot_t, f, U16),
    FIELD(proto_snapshot_t, thd_v, U16),  FIELD(proto_snapshot_t, thd_i, U16)};
static const field_t energy_fields[] = {
    FIELD(proto_energy_t, time_s, U32),     FIELD(proto_energy_t, flags, U8),
    FIELD(proto_energy_t, import_mwh, U48), FIELD(proto_energy_t, export_mwh, U48),
    FIELD(proto_energy_t, epoch, U16),      FIELD(proto_energy_t, boots, U16)};
static const field_t status_fields[] = {
    FIELD(proto_status_rec_t, protocol, U8),         FIELD(proto_status_rec_t, firmware, U16),
    FIELD(proto_status_rec_t, build, U16),           FIELD(proto_status_rec_t, uid, UID),
    FIELD(proto_status_rec_t, flags, U8),            FIELD(proto_status_rec_t, uptime_s, U32),
    FIELD(proto_status_rec_t, boots, U16),           FIELD(proto_status_rec_t, rejected_mac, U16),
    FIELD(proto_status_rec_t, rejected_stale, U16),  FIELD(proto_status_rec_t, rejected_malformed, U16),
    FIELD(proto_status_rec_t, rate_limited, U16),    FIELD(proto_status_rec_t, tec, U8),
    FIELD(proto_status_rec_t, rec, U8)};
static const field_t aggregate_fields[] = {
    FIELD(proto_aggregate_t, start_s, U32),    FIELD(proto_aggregate_t, flags, U8),
    FIELD(proto_aggregate_t, vrms_mean, U16),  FIELD(proto_aggregate_t, vrms_min, U16),
    FIELD(proto_aggregate_t, vrms_max, U16),   FIELD(proto_aggregate_t, p_mean, I32),
    FIELD(proto_aggregate_t, p_min, I32),      FIELD(proto_aggregate_t, p_max, I32),
    FIELD(proto_aggregate_t, f_mean, U16),     FIELD(proto_aggregate_t, thd_v, U16),
    FIELD(proto_aggregate_t, thd_i, U16),      FIELD(proto_aggregate_t, import_mwh, U32),
    FIELD(proto_aggregate_t, export_mwh, U32)};
static const field_t event_fields[] = {
    FIELD(proto_event_t, seq, U16),     FIELD(proto_event_t, kind, U8),
    FIELD(proto_event_t, start_s, U32), FIELD(proto_event_t, start_ms, U16),
    FIELD(proto_event_t, duration_ms, U32), FIELD(proto_event_t, extreme, U16)};

#define N(a) (sizeof a / sizeof a[0])

typedef union {
    proto_command_t command;
    proto_ack_t ack;
    proto_snapshot_t snapshot;
    proto_energy_t energy;
    proto_status_rec_t status;
    proto_aggregate_t aggregate;
    proto_event_t event;
} any_payload_t;

/* The fields a payload of this function (and CONTROL opcode) carries. */
static bool layout_of(uint32_t fn, uint8_t opcode, const field_t **fields, size_t *n)
{
    static const struct {
        uint32_t fn;
        uint8_t opcode;
        const field_t *fields;
        size_t n;
    } layouts[] = {
        {PROTO_FN_RELAY, 0, relay_fields, N(relay_fields)},
        {PROTO_FN_TIME, 0, time_fields, N(time_fields)},
        {PROTO_FN_CONTROL, PROTO_OP_SET_THRESHOLDS, thresholds_fields, N(thresholds_fields)},
        {PROTO_FN_CONTROL, PROTO_OP_IDENTIFY, identify_fields, N(identify_fields)},
        {PROTO_FN_CONTROL, PROTO_OP_CLEAR_ENERGY_ARM, arm_fields, N(arm_fields)},
        {PROTO_FN_CONTROL, PROTO_OP_CLEAR_ENERGY_CONFIRM, confirm_fields, N(confirm_fields)},
        {PROTO_FN_CONTROL, PROTO_OP_READ_AGGREGATES, read_aggregates_fields, N(read_aggregates_fields)},
        {PROTO_FN_CONTROL, PROTO_OP_READ_EVENTS, read_events_fields, N(read_events_fields)},
        {PROTO_FN_ACK, 0, ack_fields, N(ack_fields)},
        {PROTO_FN_SNAPSHOT, 0, snapshot_fields, N(snapshot_fields)},
        {PROTO_FN_ENERGY, 0, energy_fields, N(energy_fields)},
        {PROTO_FN_STATUS, 0, status_fields, N(status_fields)},
        {PROTO_FN_AGGREGATE, 0, aggregate_fields, N(aggregate_fields)},
        {PROTO_FN_EVENT, 0, event_fields, N(event_fields)},
    };
    for (size_t k = 0; k < N(layouts); k++) {
        if (layouts[k].fn == fn && (fn != PROTO_FN_CONTROL || layouts[k].opcode == opcode)) {
            *fields = layouts[k].fields;
            *n = layouts[k].n;
            return true;
        }
    }
    return false;
}

static proto_status_t decode_any(uint32_t fn, const uint8_t *p, size_t len, any_payload_t *u)
{
    switch (fn) {
    case PROTO_FN_ACK:
        return proto_decode_ack(p, len, &u->ack);
    case PROTO_FN_SNAPSHOT:
        return proto_decode_snapshot(p, len, &u->snapshot);
    case PROTO_FN_ENERGY:
        return proto_decode_energy(p, len, &u->energy);
    case PROTO_FN_STATUS:
        return proto_decode_status(p, len, &u->status);
    case PROTO_FN_AGGREGATE:
        return proto_decode_aggregate(p, len, &u->aggregate);
    case PROTO_FN_EVENT:
        return proto_decode_event(p, len, &u->event);
    default:
        return proto_decode_command(fn, p, len, &u->command);
    }
}

static size_t encode_any(uint32_t fn, const any_payload_t *u, uint8_t *out)
{
    switch (fn) {
    case PROTO_FN_ACK:
        return proto_encode_ack(&u->ack, out);
    case PROTO_FN_SNAPSHOT:
        return proto_encode_snapshot(&u->snapshot, out);
    case PROTO_FN_ENERGY:
        return proto_encode_energy(&u->energy, out);
    case PROTO_FN_STATUS:
        return proto_encode_status(&u->status, out);
    case PROTO_FN_AGGREGATE:
        return proto_encode_aggregate(&u->aggregate, out);
    case PROTO_FN_EVENT:
        return proto_encode_event(&u->event, out);
    default:
        return proto_encode_command(&u->command, out);
    }
}

static int64_t read_field(const void *s, const field_t *f)
{
    const uint8_t *p = (const uint8_t *)s + f->offset;
    switch (f->type) {
    case U8:
        return *p;
    case U16:
        return *(const uint16_t *)(const void *)p;
    case I16:
        return *(const int16_t *)(const void *)p;
    case U32:
        return *(const uint32_t *)(const void *)p;
    case I32:
        return *(const int32_t *)(const void *)p;
    default: /* U48, U64 */
        return (int64_t) * (const uint64_t *)(const void *)p;
    }
}

static void write_field(void *s, const field_t *f, int64_t v)
{
    uint8_t *p = (uint8_t *)s + f->offset;
    switch (f->type) {
    case U8:
        *p = (uint8_t)v;
        break;
    case U16:
        *(uint16_t *)(void *)p = (uint16_t)v;
        break;
    case I16:
        *(int16_t *)(void *)p = (int16_t)v;
        break;
    case U32:
        *(uint32_t *)(void *)p = (uint32_t)v;
        break;
    case I32:
        *(int32_t *)(void *)p = (int32_t)v;
        break;
    default:
        *(uint64_t *)(void *)p = (uint64_t)v;
        break;
    }
}

/* Compare the decoded struct with the JSON "decoded" object, field by field
 * and name by name, both ways. */
static void check_decoded(const char *name, uint32_t fn, const any_payload_t *u, int decoded)
{
    const field_t *fields;
    size_t n;
    uint8_t opcode = fn == PROTO_FN_CONTROL ? u->command.opcode : 0;
    bool known = layout_of(fn, opcode, &fields, &n);
    CHECK_MSG(known, "%s: no layout for function %u", name, fn);
    if (!known) {
        return;
    }
    CHECK_MSG(node(decoded)->count == (int)n, "%s: %d decoded fields, the spec has %zu", name,
              node(decoded)->count, n);
    for (int c = node(decoded)->first; c >= 0; c = node(c)->next) {
        char key[64];
        const field_t *f = NULL;
        (void)json_key(&g_doc, c, key, sizeof key);
        for (size_t k = 0; k < n; k++) {
            if (strcmp(fields[k].name, key) == 0) {
                f = &fields[k];
            }
        }
        CHECK_MSG(f != NULL, "%s: decoded field \"%s\" is not in the spec's table", name, key);
        if (f == NULL) {
            continue;
        }
        if (f->type == UID) {
            uint8_t want[12];
            char text[64];
            CHECK_MSG(json_string(&g_doc, c, text, sizeof text) && hex_decode(text, want, 12) == 12 &&
                          memcmp(want, (const uint8_t *)u + f->offset, 12) == 0,
                      "%s: %s differs", name, key);
        } else {
            CHECK_MSG(node(c)->type == JSON_NUMBER && (double)read_field(u, f) == node(c)->number,
                      "%s: %s = %lld, vectors say %.17g", name, key, (long long)read_field(u, f),
                      node(c)->number);
        }
    }
}

/* The struct the JSON "decoded" object describes. */
static void build_from_decoded(uint32_t fn, int decoded, any_payload_t *u)
{
    memset(u, 0, sizeof *u);
    double opcode = 0;
    (void)get_number(decoded, "opcode", &opcode);
    const field_t *fields;
    size_t n;
    if (fn <= PROTO_FN_CONTROL) {
        u->command.function = (uint8_t)fn;
        u->command.opcode = (uint8_t)opcode;
    }
    if (!layout_of(fn, (uint8_t)opcode, &fields, &n)) {
        return;
    }
    for (size_t k = 0; k < n; k++) {
        int c = json_get(&g_doc, decoded, fields[k].name);
        if (fields[k].type == UID) {
            (void)get_hex(decoded, fields[k].name, (uint8_t *)u + fields[k].offset, 12);
        } else if (c >= 0 && node(c)->type == JSON_NUMBER) {
            write_field(u, &fields[k], (int64_t)node(c)->number);
        }
    }
}

/* ------------------------------------------------------------ keys */

static bool run_provision(const char *site_hex, const char *uid_hex, int node_id, uint8_t *page)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --site-key %s --uid %s --node %d", g_provision_path, site_hex,
             uid_hex, node_id);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return false;
    }
    size_t n = fread(page, 1, CONFIG_PAGE_SIZE + 1, p);
    return pclose(p) == 0 && n == CONFIG_PAGE_SIZE;
}

void test_vectors_keys(void)
{
    CHECK_MSG(g_root >= 0, "vectors: not parsed");
    CHECK_EQ_I(get_int(g_root, "protocol"), 1);
    int keys = json_get(&g_doc, g_root, "keys");
    CHECK(keys >= 0 && node(keys)->count >= 1);
    for (int i = 0; keys >= 0 && i < node(keys)->count; i++) {
        int k = json_at(&g_doc, keys, i);
        char name[128], site_hex[80], uid_hex[40];
        uint8_t site[32], mk[32], gk[32], page[CONFIG_PAGE_SIZE], mine[CONFIG_PAGE_SIZE];
        meter_identity_t id, parsed;
        get_name(k, name, sizeof name);
        CHECK_MSG(get_hex(k, "site_key", site, 32) == 32, "%s: site_key", name);
        CHECK_MSG(get_hex(k, "uid", id.uid, 12) == 12, "%s: uid", name);
        CHECK_MSG(get_hex(k, "meter_key", mk, 32) == 32, "%s: meter_key", name);
        CHECK_MSG(get_hex(k, "group_key", gk, 32) == 32, "%s: group_key", name);
        CHECK_MSG(get_hex(k, "config_page", page, sizeof page) == CONFIG_PAGE_SIZE, "%s: page", name);
        id.node = (uint8_t)get_int(k, "node");

        secure_derive_meter_key(site, id.uid, id.meter_key);
        secure_derive_group_key(site, id.group_key);
        CHECK_MSG(memcmp(id.meter_key, mk, 32) == 0, "%s: meter key differs", name);
        CHECK_MSG(memcmp(id.group_key, gk, 32) == 0, "%s: group key differs", name);
        config_page_build(&id, mine);
        CHECK_MSG(memcmp(mine, page, sizeof page) == 0, "%s: config page differs", name);
        CHECK_MSG(config_page_parse(page, &parsed) == CONFIG_OK && parsed.node == id.node &&
                      memcmp(parsed.uid, id.uid, 12) == 0 && memcmp(parsed.meter_key, mk, 32) == 0 &&
                      memcmp(parsed.group_key, gk, 32) == 0,
                  "%s: the page does not parse to its fields", name);

        hex_encode(site, 32, site_hex);
        hex_encode(id.uid, 12, uid_hex);
        if (g_provision_path != NULL) {
            uint8_t tool[CONFIG_PAGE_SIZE + 1];
            CHECK_MSG(run_provision(site_hex, uid_hex, id.node, tool) &&
                          memcmp(tool, page, CONFIG_PAGE_SIZE) == 0,
                      "%s: meter-provision writes another page", name);
        }
    }
}

/* ------------------------------------------------------------ messages */

/* Frames from a JSON array of hex strings; returns how many. */
static uint32_t get_frames(int obj, uint16_t id, can_frame_t *out, uint32_t cap)
{
    int arr = json_get(&g_doc, obj, "frames");
    uint32_t n = 0;
    for (int c = arr >= 0 ? node(arr)->first : -1; c >= 0 && n < cap; c = node(c)->next) {
        char text[64];
        can_frame_t *f = &out[n++];
        memset(f, 0, sizeof *f);
        f->id = id;
        size_t dlc = json_string(&g_doc, c, text, sizeof text) ? hex_decode(text, f->data, 8) : HEX_BAD;
        f->dlc = dlc == HEX_BAD ? 0 : (uint8_t)dlc;
    }
    return n;
}

void test_vectors_messages(void)
{
    int msgs = json_get(&g_doc, g_root, "messages");
    CHECK(msgs >= 0 && node(msgs)->count >= 1);
    for (int i = 0; msgs >= 0 && i < node(msgs)->count; i++) {
        int m = json_at(&g_doc, msgs, i);
        char name[160];
        uint8_t key[32], payload[128], mac[8], mine[8], body[FRAMES_BODY_MAX], enc[PROTO_LEN_MAX];
        can_frame_t want[20], got[FRAMES_MAX];
        any_payload_t u, from_json;
        get_name(m, name, sizeof name);
        uint32_t fn = (uint32_t)get_int(m, "function");
        uint32_t node_id = (uint32_t)get_int(m, "node");
        uint16_t id = (uint16_t)get_int(m, "id");
        uint32_t fv = (uint32_t)get_int(m, "fv");
        size_t len = get_hex(m, "payload", payload, sizeof payload);
        CHECK_MSG(get_hex(m, "key", key, 32) == 32 && len != HEX_BAD &&
                      get_hex(m, "mac", mac, 8) == 8,
                  "%s: bad hex", name);
        CHECK_MSG(id == PROTO_ID(fn, node_id), "%s: id 0x%x is not function << 7 | node", name, id);

        /* MAC, body and frames */
        secure_mac(key, id, payload, len, fv, mine);
        CHECK_MSG(memcmp(mine, mac, 8) == 0, "%s: MAC differs", name);
        size_t body_len = secure_seal(key, id, payload, len, fv, body);
        uint32_t n_got = frames_segment(id, body, body_len, got);
        uint32_t n_want = get_frames(m, id, want, 20);
        CHECK_MSG(n_got == n_want, "%s: %u frames, vectors have %u", name, n_got, n_want);
        for (uint32_t k = 0; k < n_got && k < n_want; k++) {
            CHECK_MSG(got[k].dlc == want[k].dlc && memcmp(got[k].data, want[k].data, got[k].dlc) == 0,
                      "%s: frame %u differs", name, k);
        }

        /* reassemble and open the vectors' frames */
        reasm_t r;
        secure_msg_t opened;
        reasm_init(&r);
        reasm_result_t res = REASM_PENDING;
        for (uint32_t k = 0; k < n_want; k++) {
            res = reasm_push(&r, &want[k], 0);
        }
        CHECK_MSG(res == REASM_MESSAGE, "%s: frames do not reassemble (%s)", name, reasm_result_name(res));
        CHECK_MSG(secure_open(key, id, r.body, r.body_len, fv - 1u, &opened) == SECURE_OK &&
                      opened.fv == fv && opened.len == len && memcmp(opened.payload, payload, len) == 0,
                  "%s: does not open", name);

        /* decode to the "decoded" fields, and encode them back */
        int decoded = json_get(&g_doc, m, "decoded");
        proto_status_t st = decode_any(fn, payload, len, &u);
        CHECK_MSG(st == PROTO_OK, "%s: decoder says %s", name, proto_status_name(st));
        check_decoded(name, fn, &u, decoded);
        build_from_decoded(fn, decoded, &from_json);
        size_t enc_len = encode_any(fn, &from_json, enc);
        CHECK_MSG(enc_len == len && memcmp(enc, payload, len) == 0, "%s: encoder writes another payload",
                  name);
    }
}

/* ------------------------------------------------------------ rejections */

typedef enum { R_OK, R_BAD_MAC, R_STALE, R_MALFORMED, R_BAD_VALUE } reason_t;

static const char *reason_name(reason_t r)
{
    static const char *const names[] = {"ok", "bad-mac", "stale", "malformed", "bad-value"};
    return names[r];
}

/* What a receiver makes of the frames: reassembly, open, payload. */
static reason_t receive(uint16_t id, const uint8_t *key, uint32_t last_fv, const can_frame_t *frames,
                        uint32_t n)
{
    reasm_t r;
    secure_msg_t msg;
    any_payload_t u;
    int messages = 0;
    uint8_t body[FRAMES_BODY_MAX];
    size_t body_len = 0;
    reasm_init(&r);
    for (uint32_t k = 0; k < n; k++) {
        if (reasm_push(&r, &frames[k], 0) == REASM_MESSAGE) {
            messages++;
            body_len = r.body_len;
            memcpy(body, r.body, body_len);
        }
    }
    uint32_t fn = PROTO_ID_FN(id);
    if (messages != 1 || !secure_split(body, body_len, &msg) ||
        !proto_payload_length_ok(fn, msg.payload, msg.len)) {
        return R_MALFORMED; /* the length is checked before the MAC */
    }
    secure_result_t s = secure_open(key, id, body, body_len, last_fv, &msg);
    if (s != SECURE_OK) {
        return s == SECURE_BAD_MAC ? R_BAD_MAC : s == SECURE_STALE ? R_STALE : R_MALFORMED;
    }
    proto_status_t st = decode_any(fn, msg.payload, msg.len, &u);
    return st == PROTO_OK ? R_OK : st == PROTO_BAD_LENGTH ? R_MALFORMED : R_BAD_VALUE;
}

static rig_t g_vrig;

/* A command rejection fed to a whole meter holding that key and last FV:
 * the right counter moves, nothing is executed. */
static void meter_receives(const char *name, uint16_t id, const uint8_t *key, uint32_t last_fv,
                           const can_frame_t *frames, uint32_t n, reason_t why)
{
    rig_t *r = &g_vrig;
    uint32_t node_id = PROTO_ID_NODE(id);
    rig_new(r, (uint8_t)(node_id != 0 ? node_id : 1), 6400);
    memcpy(r->id.meter_key, key, 32);
    memcpy(r->id.group_key, key, 32);
    config_page_build(&r->id, r->page);
    CHECK(rig_boot(r, true));
    r->meter.nv.rx_fv = last_fv;
    r->meter.nv.rx_group_fv = last_fv;
    for (uint32_t k = 0; k < n; k++) {
        CHECK_MSG(meter_on_can_rx(&r->meter, &frames[k]), "%s: frame %u not taken", name, k);
    }
    rig_run(r, 0.2); /* partial messages time out */
    const meter_counters_t *c = &r->meter.counters;
    CHECK_MSG(c->rejected_mac == (why == R_BAD_MAC ? 1u : 0u), "%s: rejected_mac %u", name,
              c->rejected_mac);
    CHECK_MSG(c->rejected_stale == (why == R_STALE ? 1u : 0u), "%s: rejected_stale %u", name,
              c->rejected_stale);
    CHECK_MSG((c->rejected_malformed > 0) == (why == R_MALFORMED), "%s: rejected_malformed %u", name,
              c->rejected_malformed);
    CHECK_MSG(r->meter.relay_on && !r->meter.time_valid && !r->meter.thresholds.set,
              "%s: the meter acted on it", name);
    /* an authentic command with an unreadable payload spends its FV and is
     * answered "bad arguments"; failures are answered at most "auth
     * failed"/"stale"; broadcasts never */
    proto_ack_t ack;
    bool acked = rig_ack(r, &ack);
    if (node_id == 0) {
        CHECK_MSG(!acked, "%s: a broadcast was answered", name);
    } else if (why == R_BAD_MAC || why == R_STALE) {
        CHECK_MSG(acked && ack.result == (why == R_BAD_MAC ? PROTO_RESULT_AUTH_FAILED : PROTO_RESULT_STALE),
                  "%s: no failure ACK", name);
    }
    if (acked && ack.result == PROTO_RESULT_BAD_ARGUMENTS) {
        CHECK_MSG(r->meter.nv.rx_fv == ack.command_fv, "%s: the FV was not spent", name);
    } else {
        CHECK_MSG(r->meter.nv.rx_fv == last_fv, "%s: the last FV moved", name);
    }
}

void test_vectors_rejections(void)
{
    int rejections = json_get(&g_doc, g_root, "rejections");
    CHECK(rejections >= 0 && node(rejections)->count >= 1);
    for (int i = 0; rejections >= 0 && i < node(rejections)->count; i++) {
        int j = json_at(&g_doc, rejections, i);
        char name[200], reason_text[32];
        uint8_t key[32];
        can_frame_t frames[20];
        get_name(j, name, sizeof name);
        uint16_t id = (uint16_t)get_int(j, "id");
        uint32_t last_fv = (uint32_t)get_int(j, "last_fv");
        CHECK_MSG(get_hex(j, "key", key, 32) == 32, "%s: key", name);
        CHECK(json_string(&g_doc, json_get(&g_doc, j, "reason"), reason_text, sizeof reason_text));
        uint32_t n = get_frames(j, id, frames, 20);
        reason_t got = receive(id, key, last_fv, frames, n);
        CHECK_MSG(strcmp(reason_name(got), reason_text) == 0, "%s: rejected as %s, vectors say %s", name,
                  reason_name(got), reason_text);
        if (PROTO_ID_FN(id) <= PROTO_FN_CONTROL && (PROTO_ID_NODE(id) != 0 || PROTO_ID_FN(id) == PROTO_FN_TIME)) {
            meter_receives(name, id, key, last_fv, frames, n, got);
        }
    }
}
