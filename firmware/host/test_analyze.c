/*
 * test_analyze.c - run the meter-analyze binary on generated inputs.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "json.h"
#include "synth.h"
#include "tests.h"
#include "tharness.h"

#define OUT_MAX (1u << 20)

static char g_out[OUT_MAX];
static char g_err[4096];

static void path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_tmp_dir, name);
}

/* Write `seconds` of synthesised samples; sep is the separator string. */
static void write_input(const char *file, synth_t *s, double seconds, const char *sep)
{
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    uint64_t n = (uint64_t)(seconds * s->fs + 0.5);
    fprintf(f, "# v_code i_code\n");
    for (uint64_t k = 0; k < n; k++) {
        adc_pair_t p;
        synth_fill(s, &p, 1);
        fprintf(f, "%u%s%u\n", p.v, sep, p.i);
    }
    fclose(f);
}

static void write_text(const char *file, const char *text)
{
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Run the tool; returns its exit status (-1 if it did not exit normally). */
static int run_tool(const char *args, const char *input)
{
    char cmd[2048], errfile[512];
    path(errfile, sizeof errfile, "analyze_stderr.txt");
    snprintf(cmd, sizeof cmd, "'%s' %s < '%s' 2> '%s'", g_analyze_path, args, input, errfile);
    g_out[0] = '\0';
    g_err[0] = '\0';
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (p == NULL) {
        return -1;
    }
    size_t n = fread(g_out, 1, OUT_MAX - 1, p);
    g_out[n] = '\0';
    int st = pclose(p);
    FILE *e = fopen(errfile, "r");
    if (e != NULL) {
        size_t m = fread(g_err, 1, sizeof g_err - 1, e);
        g_err[m] = '\0';
        fclose(e);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* Value of "key": in the given JSON line (NAN if absent / null). */
static double json_num(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (p == NULL) {
        return NAN;
    }
    p += strlen(pat);
    if (strncmp(p, "null", 4) == 0) {
        return NAN;
    }
    return strtod(p, NULL);
}

/* Does the JSON object on this line have exactly these keys, in order? */
static bool keys_are(const char *line, const char *const *keys, int n)
{
    static json_node_t nodes[512];
    json_doc_t doc = {nodes, 512, 0, NULL, 0};
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    int root = json_parse(&doc, line, len);
    if (root < 0 || nodes[root].type != JSON_OBJECT || nodes[root].count != n) {
        return false;
    }
    for (int k = 0; k < n; k++) {
        char name[32];
        if (!json_key(&doc, json_at(&doc, root, k), name, sizeof name) || strcmp(name, keys[k]) != 0) {
            return false;
        }
    }
    return true;
}

static const char *const WINDOW_KEYS[] = {"t", "f", "vrms", "irms", "p", "s", "n", "pf", "thdv", "thdi"};
static const char *const EVENT_KEYS[] = {"event", "start", "duration", "residual"};
static const char *const SUMMARY_KEYS[] = {"summary", "energy_import_wh", "energy_export_wh", "f10s"};

/* The f10s array of the summary line: its length, values into out. */
static int f10s_of(const char *line, double *out, int cap)
{
    const char *p = strstr(line, "\"f10s\":[");
    if (p == NULL) {
        return -1;
    }
    p += 8;
    int n = 0;
    while (*p && *p != ']') {
        char *end;
        double v = strtod(p, &end);
        if (end == p) {
            return -1;
        }
        if (n < cap) {
            out[n] = v;
        }
        n++;
        p = end;
        if (*p == ',') {
            p++;
        }
    }
    return n;
}

/* Pointer to the start of line k (0-based) of g_out, or NULL. */
static const char *line_at(unsigned k)
{
    const char *p = g_out;
    while (k-- > 0) {
        p = strchr(p, '\n');
        if (p == NULL) {
            return NULL;
        }
        p++;
    }
    return *p ? p : NULL;
}

void test_analyze_defaults(void)
{
    char in[512];
    synth_t s;
    synth_default(&s);
    s.phi_deg = 60.0;
    s.f = 50.2;
    s.v3 = 0.05 * 230.0; /* THD of the voltage 5 % */
    path(in, sizeof in, "analyze_default.txt");
    write_input(in, &s, 2.0, " ");
    CHECK_EQ_I(run_tool("", in), 0);
    CHECK_MSG(g_err[0] == '\0', "unexpected stderr: %s", g_err);
    unsigned lines = count_lines(g_out);
    CHECK(lines >= 9u && lines <= 11u);
    const char *first = line_at(0);
    const char *last = line_at(lines - 1u);
    CHECK(first != NULL && last != NULL);
    if (first == NULL || last == NULL) {
        return;
    }
    /* the contract: these keys, in this order */
    for (unsigned k = 0; k + 1u < lines; k++) {
        CHECK_MSG(keys_are(line_at(k), WINDOW_KEYS, 10), "window line %u: %.120s", k, line_at(k));
    }
    CHECK(keys_are(last, SUMMARY_KEYS, 4));
    CHECK(strncmp(first, "{\"t\":", 5) == 0);
    CHECK_REL(json_num(first, "vrms"), synth_vrms(&s), 1e-3);
    CHECK_REL(json_num(first, "irms"), 10.0, 1e-3);
    CHECK_REL(json_num(first, "p"), 1150.0, 2e-3);
    CHECK_REL(json_num(first, "s"), synth_vrms(&s) * 10.0, 2e-3);
    CHECK_NEAR(json_num(first, "pf"), 1150.0 / (synth_vrms(&s) * 10.0), 1e-3);
    CHECK_NEAR(json_num(first, "f"), 50.2, 0.001);
    CHECK_NEAR(json_num(first, "thdv"), 5.0, 0.05);
    CHECK(json_num(first, "thdi") < 0.3);
    /* prefix (< 1 cycle) + 2 settling cycles + 10 cycles */
    CHECK(json_num(first, "t") > 0.23 && json_num(first, "t") < 0.29);
    const char *second = line_at(1);
    CHECK_NEAR(json_num(second, "t") - json_num(first, "t"), 10.0 / 50.2, 2.0 / 6400.0);
    CHECK(strncmp(last, "{\"summary\":true,", 16) == 0);
    /* exact energy of the samples up to the end of the last window (the
     * settling segment before the first one included) */
    double t_last = json_num(line_at(lines - 2u), "t");
    synth_default(&s);
    s.phi_deg = 60.0;
    s.f = 50.2;
    s.v3 = 0.05 * 230.0;
    {
        adc_pair_t p;
        uint64_t n = (uint64_t)(t_last * s.fs + 0.5);
        for (uint64_t k = 0; k < n; k++) {
            synth_fill(&s, &p, 1);
        }
    }
    CHECK_REL(json_num(last, "energy_import_wh"), s.e_j / 3600.0, 2e-4);
    CHECK(json_num(last, "energy_export_wh") == 0.0);
    double f10[4];
    CHECK_EQ_I(f10s_of(last, f10, 4), 0); /* 2 s: no complete 10-second interval */
}

void test_analyze_events(void)
{
    char in[512];
    synth_t s;
    synth_default(&s);
    s.theta0 = 0.0;
    s.f = 49.98;
    /* a dip to 35 % for 6 cycles at 12.3 s, a swell to 116 % for 4 cycles */
    s.steps[0] = (synth_step_t){12.3, 12.3 + 6.0 / 49.98, 0.35};
    s.steps[1] = (synth_step_t){15.0, 15.0 + 4.0 / 49.98, 1.16};
    s.nsteps = 2;
    path(in, sizeof in, "analyze_events.txt");
    write_input(in, &s, 21.0, ",");
    CHECK_EQ_I(run_tool("--udin 230", in), 0);
    unsigned lines = count_lines(g_out), events = 0;
    const char *dip = NULL, *swell = NULL;
    for (unsigned k = 0; k < lines; k++) {
        const char *l = line_at(k);
        if (strncmp(l, "{\"event\":", 9) == 0) {
            events++;
            CHECK(keys_are(l, EVENT_KEYS, 4));
            if (strncmp(l, "{\"event\":\"dip\",", 15) == 0) {
                dip = l;
            } else if (strncmp(l, "{\"event\":\"swell\",", 17) == 0) {
                swell = l;
            }
        }
    }
    CHECK_EQ_U(events, 2u);
    CHECK(dip != NULL && swell != NULL);
    if (dip == NULL || swell == NULL) {
        return;
    }
    const double cycle = 1.0 / 49.98;
    CHECK_NEAR(json_num(dip, "start"), 12.3, 0.5 * cycle);
    CHECK_NEAR(json_num(dip, "duration"), 6.0 * cycle, 0.5 * cycle);
    CHECK_NEAR(json_num(dip, "residual"), 0.35 * 230.0, 0.5);
    CHECK_NEAR(json_num(swell, "start"), 15.0, 0.5 * cycle);
    CHECK_NEAR(json_num(swell, "duration"), 4.0 * cycle, 0.5 * cycle);
    CHECK_NEAR(json_num(swell, "residual"), 1.16 * 230.0, 0.5); /* the peak */
    /* two complete 10 s intervals, the frequency within 1 mHz */
    double f10[4];
    CHECK_EQ_I(f10s_of(line_at(lines - 1u), f10, 4), 2);
    CHECK_NEAR(f10[0], 49.98, 1e-3);
    CHECK_NEAR(f10[1], 49.98, 1e-3);
    /* a threshold relative to --udin: the same dip is 66 % of 240 V... and
     * the swell (268 V) is below 110 % of 250 V */
    CHECK_EQ_I(run_tool("--udin 250", in), 0);
    CHECK(strstr(g_out, "\"event\":\"dip\"") != NULL);
    CHECK(strstr(g_out, "\"event\":\"swell\"") == NULL);
}

void test_analyze_options(void)
{
    char in[512];
    synth_t s;
    synth_default(&s);
    /* another front end: 8000 Hz, 0.5 V/count, 0.01 A/count, offset 2048 */
    s.fs = 8000.0;
    s.f = 60.0;
    s.v1 = 120.0;
    s.i1 = 5.0;
    s.phi_deg = 180.0;
    s.v_scale = 0.5;
    s.i_scale = 0.01;
    s.v_off = 2050.0;
    s.i_off = 2046.0;
    path(in, sizeof in, "analyze_options.txt");
    write_input(in, &s, 1.0, ", ");
    CHECK_EQ_I(run_tool("--fs 8000 --vscale 0.5 --iscale=0.01 --voffset 2048 --ioffset 2048 "
                        "--udin 120",
                        in),
               0);
    const char *first = line_at(0);
    CHECK(first != NULL);
    if (first == NULL) {
        return;
    }
    CHECK_REL(json_num(first, "vrms"), 120.0, 1e-3);
    CHECK_REL(json_num(first, "irms"), 5.0, 1e-3);
    CHECK_REL(json_num(first, "p"), -600.0, 2e-3);
    CHECK_NEAR(json_num(first, "f"), 60.0, 0.01);
    unsigned lines = count_lines(g_out);
    const char *last = line_at(lines - 1u);
    CHECK(json_num(last, "energy_export_wh") > 0.0);
    CHECK(json_num(last, "energy_import_wh") == 0.0);

    /* dead line: frequency is null, windows still come */
    synth_default(&s);
    s.v1 = 0.0;
    write_input(in, &s, 1.0, "\t");
    CHECK_EQ_I(run_tool("", in), 0);
    first = line_at(0);
    CHECK(first != NULL && strstr(first, "\"f\":null") != NULL);
    CHECK(first != NULL && strstr(first, "\"thdv\":null,\"thdi\":null}") != NULL);
    CHECK(count_lines(g_out) == 5u); /* 4 windows of 1524 + summary */

    CHECK_EQ_I(run_tool("--help", in), 0);
    CHECK(strstr(g_out, "usage:") != NULL);
}

void test_analyze_bad_input(void)
{
    char in[512];
    synth_t s;
    path(in, sizeof in, "analyze_bad.txt");

    write_text(in, "1862 1862\n1900 1800\nabc 12\n");
    CHECK_EQ_I(run_tool("", in), 1);
    CHECK(strstr(g_err, "line 3") != NULL);
    CHECK(g_out[0] == '\0');

    write_text(in, "1862 1862\n4096 1800\n");
    CHECK_EQ_I(run_tool("", in), 1);
    CHECK(strstr(g_err, "out of range") != NULL);

    write_text(in, "1862 -1\n");
    CHECK_EQ_I(run_tool("", in), 1);
    CHECK(strstr(g_err, "out of range") != NULL);

    write_text(in, "1862\n");
    CHECK_EQ_I(run_tool("", in), 1);
    CHECK(strstr(g_err, "line 1") != NULL);

    write_text(in, "1862 1862 7\n");
    CHECK_EQ_I(run_tool("", in), 1);

    write_text(in, "1862.5 1862\n");
    CHECK_EQ_I(run_tool("", in), 1);

    write_text(in, "1862,,1862\n");
    CHECK_EQ_I(run_tool("", in), 1);

    write_text(in, "");
    CHECK_EQ_I(run_tool("", in), 1);
    CHECK(strstr(g_err, "not enough") != NULL);

    synth_default(&s);
    write_input(in, &s, 0.1, " "); /* 640 samples: less than one window */
    CHECK_EQ_I(run_tool("", in), 1);
    CHECK(strstr(g_err, "not enough") != NULL);
    CHECK(g_out[0] == '\0');

    CHECK_EQ_I(run_tool("--bogus", in), 2);
    CHECK(strstr(g_err, "unknown option") != NULL);
    CHECK_EQ_I(run_tool("--fs", in), 2);
    CHECK_EQ_I(run_tool("--fs abc", in), 2);
    CHECK_EQ_I(run_tool("--fs 6400.5", in), 2);
    CHECK_EQ_I(run_tool("--vscale 0", in), 2);
    CHECK_EQ_I(run_tool("--voffset 5000", in), 2);
}
