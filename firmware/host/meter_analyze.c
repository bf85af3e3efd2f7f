/*
 * meter_analyze.c - host tool: run recorded or synthetic ADC samples
 * through the meter's metrology and print what it measures. A stable
 * interface that other tools script against (docs/metrology.md).
 *
 * usage: meter-analyze [options] < samples.txt
 *
 * Input: one sample pair per line, "<v_code> <i_code>" (separated by spaces,
 * tabs and/or one comma), integer ADC codes 0..4095. Empty lines and lines
 * starting with '#' are skipped.
 *
 * Options: --fs HZ (6400), --vscale V_PER_COUNT, --iscale A_PER_COUNT,
 * --voffset COUNTS, --ioffset COUNTS, --udin VOLTS (230). The defaults are
 * the paper's CVCT front end: +-460 sqrt2 V and +-30 sqrt2 A onto 0..3 V
 * around 1.5 V, 12-bit ADC, 3.3 V reference.
 *
 * Output, JSON Lines on stdout:
 *   one object per 10-cycle window, when it is published:
 *     {"t":<s, end of window>,"f":<Hz>,"vrms":<V>,"irms":<A>,"p":<W>,
 *      "s":<VA>,"n":<var>,"pf":<->,"thdv":<%>,"thdi":<%>}
 *     ("f" is null when no frequency could be measured, "thdv"/"thdi" when
 *     the window is not synchronised or the fundamental is too small);
 *   one object per dip or swell (IEC 61000-4-30 Urms(1/2), thresholds 90 %
 *   and 110 % of --udin, hysteresis 2 %), when it has ended:
 *     {"event":"dip"|"swell","start":<s>,"duration":<s>,"residual":<V>}
 *     ("residual" is the lowest Urms(1/2) of a dip, the highest of a swell;
 *     an interruption is a dip whose residual is below 5 % of --udin);
 *   last:
 *     {"summary":true,"energy_import_wh":X,"energy_export_wh":Y,"f10s":[...]}
 *     (energy of every window and settling segment; f10s: the 10-second
 *     frequencies, Hz, of the complete 10 s intervals counted from the
 *     first sample).
 * Times are seconds from the first sample.
 *
 * Exit status: 0 ok, 1 bad input data (message on stderr), 2 usage error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter.h"

#define PROG "meter-analyze"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [options] < samples.txt\n"
            "  input: lines \"<v_code> <i_code>\" (ADC codes 0..4095, space or comma separated)\n"
            "  --fs HZ              sampling rate (default %u)\n"
            "  --vscale V_PER_COUNT voltage scale (default %.9g, CVCT 460 Vrms)\n"
            "  --iscale A_PER_COUNT current scale (default %.9g, CVCT 30 Arms)\n"
            "  --voffset COUNTS     nominal voltage mid-scale (default %.4g)\n"
            "  --ioffset COUNTS     nominal current mid-scale (default %.4g)\n"
            "  --udin VOLTS         declared input voltage (default %.4g)\n"
            "  --help               this text\n"
            "output: JSON Lines: one object per 10-cycle window\n"
            "  {\"t\",\"f\",\"vrms\",\"irms\",\"p\",\"s\",\"n\",\"pf\",\"thdv\",\"thdi\"},\n"
            "  one per dip or swell {\"event\":\"dip\"|\"swell\",\"start\",\"duration\",\"residual\"},\n"
            "  last {\"summary\":true,\"energy_import_wh\",\"energy_export_wh\",\"f10s\":[...]}\n",
            METER_DEFAULT_FS_HZ, METER_DEFAULT_V_SCALE, METER_DEFAULT_I_SCALE,
            1.5 / 3.3 * 4096.0, 1.5 / 3.3 * 4096.0, (double)METER_DEFAULT_UDIN_V);
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, PROG ": %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "try '" PROG " --help'\n");
    return 2;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v)) {
        return 0;
    }
    *out = v;
    return 1;
}

/* Parse "<int> <sep> <int>" where sep is whitespace and/or one comma. */
static int parse_line(const char *line, long *v, long *i)
{
    const char *p = line;
    char *end;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (!(*p == '-' || *p == '+' || (*p >= '0' && *p <= '9'))) {
        return 0;
    }
    errno = 0;
    *v = strtol(p, &end, 10);
    if (end == p || errno != 0) {
        return 0;
    }
    p = end;
    int sep = 0, commas = 0;
    while (*p == ' ' || *p == '\t' || *p == ',') {
        commas += *p == ',';
        sep = 1;
        p++;
    }
    if (!sep || commas > 1) {
        return 0;
    }
    if (!(*p == '-' || *p == '+' || (*p >= '0' && *p <= '9'))) {
        return 0;
    }
    errno = 0;
    *i = strtol(p, &end, 10);
    if (end == p || errno != 0) {
        return 0;
    }
    p = end;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
        p++;
    }
    return *p == '\0';
}

static void print_window(const meter_window_t *w, double fs)
{
    printf("{\"t\":%.6f,", (double)w->t_end / fs);
    if (w->flags & MTR_WF_FREQ) {
        printf("\"f\":%.4f,", (double)w->frequency_hz);
    } else {
        printf("\"f\":null,");
    }
    printf("\"vrms\":%.4f,\"irms\":%.5f,\"p\":%.3f,\"s\":%.3f,\"n\":%.3f,\"pf\":%.5f,",
           (double)w->vrms, (double)w->irms, (double)w->p, (double)w->s, (double)w->n,
           (double)w->pf);
    if (w->flags & MTR_WF_THD_V) {
        printf("\"thdv\":%.4f,", (double)w->thd_v);
    } else {
        printf("\"thdv\":null,");
    }
    if (w->flags & MTR_WF_THD_I) {
        printf("\"thdi\":%.4f}\n", (double)w->thd_i);
    } else {
        printf("\"thdi\":null}\n");
    }
}

typedef struct {
    double fs;
    meter_energy_t e_import, e_export;
    unsigned long windows;
    double *f10s; /* the host tool may allocate: this is not firmware */
    size_t n_f10s, cap_f10s;
} analysis_t;

static void add_energy(analysis_t *a, int64_t uj)
{
    if (uj > 0) {
        meter_energy_add(&a->e_import, (uint64_t)uj);
    } else if (uj < 0) {
        meter_energy_add(&a->e_export, (uint64_t)(-uj));
    }
}

static void take_events(mtr_t *m, analysis_t *a)
{
    mtr_event_t ev;
    while (mtr_next_event(m, &ev)) {
        switch (ev.kind) {
        case MTR_EV_WINDOW:
            a->windows++;
            print_window(&m->window, a->fs);
            add_energy(a, ev.energy_uj);
            break;
        case MTR_EV_SEGMENT:
            add_energy(a, ev.energy_uj);
            break;
        case MTR_EV_PQ:
            if (ev.pq_kind == MTR_PQ_DIP || ev.pq_kind == MTR_PQ_SWELL) {
                printf("{\"event\":\"%s\",\"start\":%.6f,\"duration\":%.6f,\"residual\":%.3f}\n",
                       ev.pq_kind == MTR_PQ_DIP ? "dip" : "swell", ev.pq_start / a->fs,
                       ev.pq_duration / a->fs, (double)ev.pq_extreme_v);
            }
            break;
        case MTR_EV_F10:
            if (a->n_f10s == a->cap_f10s) {
                size_t cap = a->cap_f10s ? 2 * a->cap_f10s : 256;
                double *grown = realloc(a->f10s, cap * sizeof *grown);
                if (grown == NULL) {
                    fprintf(stderr, PROG ": out of memory\n");
                    exit(1);
                }
                a->f10s = grown;
                a->cap_f10s = cap;
            }
            a->f10s[a->n_f10s++] = (double)ev.f10_hz;
            break;
        default:
            break;
        }
    }
}

int main(int argc, char **argv)
{
    meter_config_t cfg;
    meter_config_default(&cfg);
    double fs = METER_DEFAULT_FS_HZ;
    double voff = 1.5 / 3.3 * 4096.0, ioff = voff;

    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        static const char *const opts[] = {"--fs", "--vscale", "--iscale", "--voffset",
                                           "--ioffset", "--udin"};
        int which = -1;
        const char *val = NULL;
        for (int o = 0; o < 6; o++) {
            size_t len = strlen(opts[o]);
            if (strncmp(a, opts[o], len) == 0 && (a[len] == '\0' || a[len] == '=')) {
                which = o;
                if (a[len] == '=') {
                    val = a + len + 1;
                } else if (k + 1 < argc) {
                    val = argv[++k];
                } else {
                    return usage_error("missing value for option", a);
                }
                break;
            }
        }
        if (which < 0) {
            return usage_error("unknown option", a);
        }
        double x;
        if (!parse_double(val, &x)) {
            return usage_error("not a number", val);
        }
        switch (which) {
        case 0:
            if (x < 400.0 || x > 1e6 || x != floor(x)) {
                return usage_error("--fs must be an integer rate in Hz >= 400", val);
            }
            fs = x;
            cfg.fs_hz = (uint32_t)x;
            break;
        case 1:
            if (x == 0.0) {
                return usage_error("--vscale must not be 0", val);
            }
            cfg.v_scale = (float)x;
            break;
        case 2:
            if (x == 0.0) {
                return usage_error("--iscale must not be 0", val);
            }
            cfg.i_scale = (float)x;
            break;
        case 3:
            if (x < 0.0 || x > 4095.0) {
                return usage_error("--voffset must be within 0..4095", val);
            }
            voff = x;
            break;
        case 4:
            if (x < 0.0 || x > 4095.0) {
                return usage_error("--ioffset must be within 0..4095", val);
            }
            ioff = x;
            break;
        default:
            if (x <= 0.0 || x >= 1e6) {
                return usage_error("--udin must be positive (volts)", val);
            }
            cfg.udin_v = (float)x;
            break;
        }
    }
    /* The core takes integer nominal offsets; the exact DC is removed
     * analytically per window, so rounding here does not matter. */
    cfg.v_offset = (uint16_t)floor(voff + 0.5);
    cfg.i_offset = (uint16_t)floor(ioff + 0.5);

    static mtr_t m;
    static analysis_t an;
    if (!mtr_init(&m, &cfg)) {
        return usage_error("invalid configuration (--fs must be 400..25000 Hz for 50 Hz mains; "
                           "check the scales)",
                           NULL);
    }
    an.fs = fs;

    char line[256];
    unsigned long lineno = 0, samples = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(stdin)) {
            fprintf(stderr, PROG ": line %lu: line too long\n", lineno);
            return 1;
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#') {
            continue;
        }
        long v, i;
        if (!parse_line(line, &v, &i)) {
            line[strcspn(line, "\r\n")] = '\0';
            fprintf(stderr, PROG ": line %lu: expected two integer ADC codes \"<v_code> <i_code>\", got \"%s\"\n",
                    lineno, line);
            return 1;
        }
        if (v < 0 || v > 4095 || i < 0 || i > 4095) {
            fprintf(stderr, PROG ": line %lu: ADC code out of range 0..4095 (v=%ld, i=%ld)\n",
                    lineno, v, i);
            return 1;
        }
        adc_pair_t s = {(uint16_t)v, (uint16_t)i};
        samples++;
        (void)mtr_feed(&m, &s, 1u);
        take_events(&m, &an);
    }
    if (ferror(stdin)) {
        fprintf(stderr, PROG ": read error on stdin\n");
        return 1;
    }
    mtr_flush(&m);
    take_events(&m, &an);
    if (an.windows == 0) {
        fprintf(stderr,
                PROG ": %lu samples are not enough for one complete window "
                "(10 mains cycles; at most %u samples at %u Hz)\n",
                samples, mtr_max_window_len(cfg.fs_hz, cfg.nominal_hz), cfg.fs_hz);
        return 1;
    }
    printf("{\"summary\":true,\"energy_import_wh\":%.9f,\"energy_export_wh\":%.9f,\"f10s\":[",
           meter_energy_wh(&an.e_import), meter_energy_wh(&an.e_export));
    for (size_t k = 0; k < an.n_f10s; k++) {
        printf("%s%.5f", k == 0 ? "" : ",", an.f10s[k]);
    }
    printf("]}\n");
    free(an.f10s);
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": write error on stdout\n");
        return 1;
    }
    return 0;
}
