/*
 * test_analyze.c - run the meter-analyze binary on generated inputs.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
    CHECK(strncmp(first, "{\"t\":", 5) == 0);
    CHECK_REL(json_num(first, "vrms"), 230.0, 1e-3);
    CHECK_REL(json_num(first, "irms"), 10.0, 1e-3);
    CHECK_REL(json_num(first, "p"), 1150.0, 2e-3);
    CHECK_REL(json_num(first, "s"), 2300.0, 2e-3);
    CHECK_REL(json_num(first, "n"), 1991.9, 2e-3);
    CHECK_NEAR(json_num(first, "pf"), 0.5, 1e-3);
    CHECK_NEAR(json_num(first, "f"), 50.2, 0.01);
    /* prefix (< 1 cycle) + 2 settling cycles + 10 cycles */
    CHECK(json_num(first, "t") > 0.23 && json_num(first, "t") < 0.27);
    const char *second = line_at(1);
    CHECK_NEAR(json_num(second, "t") - json_num(first, "t"), 10.0 / 50.2, 2.0 / 6400.0);
    CHECK(strncmp(last, "{\"summary\":true,", 16) == 0);
    /* exact energy of the samples up to the end of the last window */
    double t_last = json_num(line_at(lines - 2u), "t");
    synth_default(&s);
    s.phi_deg = 60.0;
    s.f = 50.2;
    {
        adc_pair_t p;
        uint64_t n = (uint64_t)(t_last * s.fs + 0.5);
        for (uint64_t k = 0; k < n; k++) {
            synth_fill(&s, &p, 1);
        }
    }
    CHECK_REL(json_num(last, "energy_import_wh"), s.e_j / 3600.0, 2e-4);
    CHECK(json_num(last, "energy_export_wh") == 0.0);
    CHECK_EQ_U((unsigned)json_num(last, "windows"), lines - 1u);
    CHECK_EQ_U((unsigned)json_num(last, "samples"), 12800u);
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
    CHECK(count_lines(g_out) == 5u); /* 4 windows of 1506 + summary */

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
