/*
 * test_characterise.c - the paper's characterisation in simulation
 * (meter-characterise --quick: the corners of its grids, energy over 10
 * minutes) must meet the goals: every Table 1 row at most half the paper's
 * figure, THD within 0.03 points, dips timed within half a cycle, energy
 * within 0.1 %. The full sweep runs in npm run bench.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "tests.h"
#include "tharness.h"

static char g_json[1 << 16];
static json_node_t g_nodes[1024];

static double num(const json_doc_t *d, int obj, const char *a, const char *b)
{
    int n = json_get(d, obj, a);
    if (n >= 0 && b != NULL) {
        n = json_get(d, n, b);
    }
    return n >= 0 && d->nodes[n].type == JSON_NUMBER ? d->nodes[n].number : 1e9;
}

void test_characterise_goals(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --quick", g_characterise_path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (p == NULL) {
        return;
    }
    size_t len = fread(g_json, 1, sizeof g_json - 1, p);
    g_json[len] = '\0';
    int status = pclose(p);
    CHECK_EQ_I(status, 0);
    json_doc_t d = {g_nodes, 1024, 0, NULL, 0};
    int root = json_parse(&d, g_json, len);
    CHECK_MSG(root >= 0, "meter-characterise output is not JSON: %.200s", g_json);
    if (root < 0) {
        return;
    }
    int sin_t = json_get(&d, root, "sinusoidal"), non_t = json_get(&d, root, "nonsinusoidal");
    /* Table 1 of the paper, halved */
    struct {
        const char *key;
        double sin_goal, non_goal;
    } rows[] = {
        {"vrms_pct", 0.03 / 2, 0.04 / 2},   {"irms_pct", 0.03 / 2, 0.04 / 2},
        {"freq_mhz", 0.67 / 2, 0.67 / 2},   {"p_pct_of_s", 0.043 / 2, 0.061 / 2},
        {"s_pct", 0.13 / 2, 0.15 / 2},      {"pf", 0.002 / 2, 0.002 / 2},
        {"n_pct_of_s", 0.60 / 2, 0.62 / 2},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        double a = num(&d, sin_t, rows[k].key, NULL), b = num(&d, non_t, rows[k].key, NULL);
        CHECK_MSG(a <= rows[k].sin_goal, "sinusoidal %s %.5f > %.5f", rows[k].key, a, rows[k].sin_goal);
        CHECK_MSG(b <= rows[k].non_goal, "non-sinusoidal %s %.5f > %.5f", rows[k].key, b, rows[k].non_goal);
    }
    CHECK_MSG(num(&d, non_t, "thdv_pp", NULL) <= 0.03, "THD of the voltage");
    CHECK_MSG(num(&d, non_t, "thdi_pp", NULL) <= 0.03, "THD of the current");
    int dips = json_get(&d, root, "dips");
    CHECK(num(&d, dips, "events", NULL) >= 40.0);
    CHECK_EQ_I((int)num(&d, dips, "missed", NULL), 0);
    CHECK_EQ_I((int)num(&d, dips, "extra", NULL), 0);
    CHECK_MSG(num(&d, dips, "start_max_cycles", NULL) < 0.5, "dip start");
    CHECK_MSG(num(&d, dips, "duration_max_cycles", NULL) < 0.5, "dip duration");
    CHECK_MSG(num(&d, dips, "residual_max_pct_udin", NULL) < 0.3, "dip residual");
    CHECK_MSG(num(&d, root, "energy", "max_error_pct") < 0.1, "energy");
    CHECK_EQ_I((int)num(&d, root, "failures", NULL), 0);
}
