/*
 * qemu_main.c - make -C firmware qemu: the meter's main program (the
 * superloop of core/meter_app.c with the measurement, CAN and display
 * tasks) on a Cortex-M3 under QEMU (lm3s6965evb), on the simulated board
 * (sim_board.c: synthesised ADC halves, loopback CAN, flash in RAM).
 *
 * It plays the aggregator: polls SNAPSHOT and STATUS with remote frames,
 * switches the relay off with a secured RELAY command, resets the meter
 * (the EEPROM in RAM survives) and polls SNAPSHOT and ENERGY again. Every
 * frame on the bus is printed ("FRAME boot dir id dlc data") so that the
 * TypeScript side (qemu/poll.test.ts) verifies the records with the app's
 * own code; this program checks them too (MAC, freshness across the
 * reset, boots), prints the instructions each task took, and exits 1 if
 * anything is wrong.
 */
#include "meter_app.h"
#include "qemu_m3.h"
#include "sim_board.h"

/* The demo site key of the app (src/lib/meter/keys.ts DEMO_SITE_KEY). */
static const char SITE_KEY[] = "wattwall demo site key: public!!";
#define NODE 7u

static sim_board_t g_sim;
static app_t g_app;
static reasm_t g_reasm;
static meter_identity_t g_id;
static uint32_t g_last_fv;
static int g_ok = 1;
static uint32_t g_boot = 1;
static uint32_t g_records;

static uint32_t instructions(void)
{
    return (uint32_t)qm3_instructions();
}

static void check(const char *what, int ok)
{
    if (!ok) {
        qm3_puts("CHECK FAILED: ");
        qm3_puts(what);
        qm3_puts("\n");
        g_ok = 0;
    }
}

static void put_hex(const uint8_t *b, uint32_t n)
{
    static const char digits[] = "0123456789abcdef";
    char s[2 * 16 + 1];
    uint32_t k = 0;
    for (; k < n && k < 16u; k++) {
        s[2 * k] = digits[b[k] >> 4];
        s[2 * k + 1] = digits[b[k] & 15u];
    }
    s[2 * k] = '\0';
    qm3_puts(s);
}

static void print_frame(const char *dir, const can_frame_t *f)
{
    uint8_t id[2] = {(uint8_t)(f->id >> 8), (uint8_t)f->id};
    qm3_puts("FRAME ");
    qm3_put_u64(g_boot);
    qm3_puts(" ");
    qm3_puts(dir);
    qm3_puts((f->flags & CAN_FLAG_RTR) != 0u ? " R " : " D ");
    put_hex(id, 2);
    qm3_puts(" ");
    qm3_put_u64(f->dlc);
    qm3_puts(" ");
    put_hex(f->data, (f->flags & CAN_FLAG_RTR) != 0u ? 0u : f->dlc);
    qm3_puts("\n");
}

/* The aggregator's receiver: reassembles, verifies, keeps the last FV. */
static void receive(const can_frame_t *f)
{
    print_frame("M>A", f);
    reasm_result_t r = reasm_push(&g_reasm, f, 0);
    if (r != REASM_MESSAGE) {
        check("frames reassemble", r == REASM_PENDING);
        return;
    }
    secure_msg_t msg;
    secure_result_t v = secure_open(g_id.meter_key, (uint16_t)f->id, g_reasm.body, g_reasm.body_len, g_last_fv, &msg);
    check("records are authentic and fresh", v == SECURE_OK);
    if (v == SECURE_OK) {
        g_last_fv = msg.fv;
        g_records++;
        if (PROTO_ID_FN(f->id) == PROTO_FN_ENERGY) {
            proto_energy_t e;
            check("ENERGY decodes", proto_decode_energy(msg.payload, msg.len, &e) == PROTO_OK);
            check("ENERGY counts the reset as the second boot", e.boots == 2u);
        }
    }
}

static void steps(uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        app_step(&g_app);
        can_frame_t f;
        while (sim_receive(&g_sim, &f)) {
            receive(&f);
        }
        sim_bus_idle(&g_sim);
    }
}

static void send(const can_frame_t *f)
{
    print_frame("A>M", f);
    check("the bus takes the frame", sim_send(&g_sim, f));
}

static void poll(uint32_t function)
{
    can_frame_t f = {0};
    f.id = PROTO_ID(function, NODE);
    f.flags = CAN_FLAG_RTR;
    send(&f);
}

/* A secured command from the aggregator, segmented as the app does. */
static void command(const proto_command_t *c, uint32_t fv)
{
    static txq_t q;
    uint8_t payload[PROTO_LEN_MAX], body[FRAMES_BODY_MAX];
    size_t n = proto_encode_command(c, payload);
    uint16_t id = PROTO_ID(c->function, NODE);
    size_t len = secure_seal(g_id.meter_key, id, payload, n, fv, body);
    txq_init(&q);
    check("command fits", txq_push_message(&q, id, body, len));
    can_frame_t f;
    while (txq_pop(&q, &f)) {
        send(&f);
    }
}

static void task_line(const char *name, unsigned t)
{
    const app_task_stats_t *s = &g_app.task[t];
    qm3_puts("TASK ");
    qm3_puts(name);
    qm3_puts(" runs ");
    qm3_put_u64(s->runs);
    qm3_puts(" mean ");
    qm3_put_u64(s->runs > 0u ? s->cycles / s->runs : 0u);
    qm3_puts(" max ");
    qm3_put_u64(s->max);
    qm3_puts("\n");
}

/* What this boot's superloop did: EEPROM writes, instructions per task. */
static void report(void)
{
    qm3_puts("BOOT ");
    qm3_put_u64(g_boot);
    qm3_puts(" passes ");
    qm3_put_u64(g_app.passes);
    qm3_puts(" EEPROM records ");
    qm3_put_u64(g_app.nv_writes);
    qm3_puts(" ticks ");
    qm3_put_u64(g_app.nv_ticks);
    qm3_puts(" erases so far ");
    qm3_put_u64(g_sim.erases);
    qm3_puts("\n");
    task_line("measure", APP_TASK_MEASURE);
    task_line("can", APP_TASK_CAN);
    task_line("display", APP_TASK_DISPLAY);
}

int main(void)
{
    qm3_init();
    sim_init(&g_sim, instructions);
    const uint8_t *site = (const uint8_t *)SITE_KEY;
    g_id.node = NODE;
    for (unsigned k = 0; k < SECURE_UID_SIZE; k++) {
        g_id.uid[k] = (uint8_t)(0x40u + k);
    }
    secure_derive_meter_key(site, g_id.uid, g_id.meter_key);
    secure_derive_group_key(site, g_id.group_key);
    config_page_build(&g_id, g_sim.config_page);
    reasm_init(&g_reasm);
    qm3_puts("QEMU meter: lm3s6965evb, the superloop of core/meter_app.c on a simulated board\n");
    qm3_puts("UID ");
    put_hex(g_id.uid, SECURE_UID_SIZE);
    qm3_puts(" NODE 7 SITE-KEY demo\n");

    check("online after the first boot", app_start(&g_app, &g_sim.board));
    check("the provisioned page is imported into the EEPROM", g_app.config_imported);
    steps(25); /* 2 s of signal: 10 windows */
    check("measuring", g_app.meter.seq >= 9u && g_sim.displays >= 9u);
    poll(PROTO_FN_SNAPSHOT);
    poll(PROTO_FN_STATUS);
    steps(6);
    uint32_t boot1_fv = g_last_fv;
    check("SNAPSHOT and STATUS answered", g_records == 2u);
    proto_command_t off = {0};
    off.function = PROTO_FN_RELAY;
    off.state = 0;
    command(&off, 1u);
    steps(3);
    check("the relay output follows the command", !g_sim.relay_on && g_sim.relay_switches == 1u);
    check("the command is acknowledged", g_records == 3u);

    report();
    /* reset: RAM is lost, the EEPROM is not */
    g_boot = 2;
    sim_reset(&g_sim);
    check("online after the reset", app_start(&g_app, &g_sim.board));
    check("the stored configuration is used", !g_app.config_imported);
    steps(5);
    poll(PROTO_FN_SNAPSHOT);
    poll(PROTO_FN_ENERGY);
    steps(6);
    check("answered after the reset", g_records == 5u);
    /* the first boot reserved FVs up to 256 and stored that before its first
     * record; the second continues above the whole reservation */
    check("the freshness counter continues above the first boot's", boot1_fv >= 2u && g_last_fv > METER_FV_BLOCK);
    check("the watchdog is kicked once a pass", g_sim.kicks == 45u);

    report();
    qm3_puts("STACK ");
    qm3_put_u64(qm3_stack_used());
    qm3_puts("\n");
    qm3_puts(g_ok ? "qemu: ok\n" : "qemu: FAILED\n");
    qm3_exit(g_ok);
}
