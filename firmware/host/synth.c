#include "synth.h"

#include <math.h>

#define PI 3.14159265358979323846

void synth_default(synth_t *s)
{
    s->fs = 6400.0;
    s->f = 50.0;
    s->v1 = 230.0;
    s->i1 = 10.0;
    s->phi_deg = 0.0;
    s->v3 = 0.0;
    s->i3 = 0.0;
    s->phi3_deg = 0.0;
    s->v_off = 1869.3;
    s->i_off = 1855.6;
    s->noise = 1.5;
    s->v_scale = METER_DEFAULT_V_SCALE;
    s->i_scale = METER_DEFAULT_I_SCALE;
    s->theta0 = 0.7;
    s->n = 0u;
    s->lcg = 12345u;
    s->e_j = 0.0;
    s->ecum = NULL;
    s->ecum_len = 0u;
}

static double noise(synth_t *s)
{
    s->lcg = s->lcg * 1664525u + 1013904223u;
    double u = (double)(s->lcg >> 8) / 16777216.0; /* [0,1) */
    return (2.0 * u - 1.0) * s->noise;
}

static uint16_t to_code(double c)
{
    double r = floor(c + 0.5);
    if (r < 0.0) {
        r = 0.0;
    }
    if (r > 4095.0) {
        r = 4095.0;
    }
    return (uint16_t)r;
}

void synth_fill(synth_t *s, adc_pair_t *out, uint32_t count)
{
    const double r2 = sqrt(2.0);
    const double phi = s->phi_deg * PI / 180.0;
    const double phi3 = s->phi3_deg * PI / 180.0;
    for (uint32_t k = 0; k < count; k++) {
        double th = s->theta0 + 2.0 * PI * s->f * (double)s->n / s->fs;
        double v = r2 * s->v1 * sin(th) + r2 * s->v3 * sin(3.0 * th);
        double i = r2 * s->i1 * sin(th - phi) + r2 * s->i3 * sin(3.0 * th - phi3);
        if (s->ecum != NULL && s->n < s->ecum_len) {
            s->ecum[s->n] = s->e_j;
        }
        s->e_j += v * i / s->fs;
        out[k].v = to_code(s->v_off + v / s->v_scale + noise(s));
        out[k].i = to_code(s->i_off + i / s->i_scale + noise(s));
        s->n++;
    }
}

double synth_vrms(const synth_t *s)
{
    return sqrt(s->v1 * s->v1 + s->v3 * s->v3);
}

double synth_irms(const synth_t *s)
{
    return sqrt(s->i1 * s->i1 + s->i3 * s->i3);
}

double synth_p(const synth_t *s)
{
    return s->v1 * s->i1 * cos(s->phi_deg * PI / 180.0) +
           s->v3 * s->i3 * cos(s->phi3_deg * PI / 180.0);
}
