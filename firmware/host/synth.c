#include "synth.h"

#include <math.h>

#define PI 3.14159265358979323846

void synth_default(synth_t *s)
{
    *s = (synth_t){0};
    s->fs = 6400.0;
    s->f = 50.0;
    s->v1 = 230.0;
    s->i1 = 10.0;
    s->v_off = 1869.3;
    s->i_off = 1855.6;
    s->noise = 1.5;
    s->v_scale = METER_DEFAULT_V_SCALE;
    s->i_scale = METER_DEFAULT_I_SCALE;
    s->theta0 = 0.7;
    s->lcg = 12345u;
}

static double uniform01(synth_t *s)
{
    s->lcg = s->lcg * 1664525u + 1013904223u;
    return ((double)(s->lcg >> 8) + 0.5) / 16777216.0; /* (0,1) */
}

static double noise(synth_t *s)
{
    double n = 0.0;
    if (s->noise != 0.0) {
        n += (2.0 * uniform01(s) - 1.0) * s->noise;
    }
    if (s->noise_sigma != 0.0) {
        /* Box-Muller, one of the pair */
        double u1 = uniform01(s), u2 = uniform01(s);
        n += s->noise_sigma * sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
    }
    return n;
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

static double envelope(const synth_t *s, double t)
{
    for (int k = 0; k < s->nsteps; k++) {
        if (t >= s->steps[k].t0 && t < s->steps[k].t1) {
            return s->steps[k].ratio;
        }
    }
    return 1.0;
}

static double voltage(const synth_t *s, double t)
{
    const double r2 = sqrt(2.0);
    double th = s->theta0 + 2.0 * PI * s->f * t;
    double v = r2 * s->v1 * sin(th) + r2 * s->v3 * sin(3.0 * th);
    for (int k = 0; k < s->nvh; k++) {
        v += r2 * s->v1 * s->vh[k].ratio * sin(s->vh[k].order * th + s->vh[k].phase);
    }
    return v * envelope(s, t);
}

static double current(const synth_t *s, double t)
{
    const double r2 = sqrt(2.0);
    const double phi = s->phi_deg * PI / 180.0;
    const double phi3 = s->phi3_deg * PI / 180.0;
    double th = s->theta0 + 2.0 * PI * s->f * t;
    double i = r2 * s->i1 * sin(th - phi) + r2 * s->i3 * sin(3.0 * th - phi3);
    for (int k = 0; k < s->nih; k++) {
        i += r2 * s->i1 * s->ih[k].ratio * sin(s->ih[k].order * (th - phi) + s->ih[k].phase);
    }
    return i;
}

void synth_fill(synth_t *s, adc_pair_t *out, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        double t = (double)s->n / s->fs;
        double v = voltage(s, t);
        double i = current(s, t);
        if (s->ecum != NULL && s->n < s->ecum_len) {
            s->ecum[s->n] = s->e_j;
        }
        s->e_j += v * i / s->fs;
        /* the front end's phase error: the current channel sees i(t - delay) */
        double i_seen = s->i_delay_s != 0.0 ? current(s, t - s->i_delay_s) : i;
        out[k].v = to_code(s->v_off + v / s->v_scale + noise(s));
        out[k].i = to_code(s->i_off + i_seen / s->i_scale + noise(s));
        s->n++;
    }
}

static double sum_sq(const synth_harmonic_t *h, int n)
{
    double q = 0.0;
    for (int k = 0; k < n; k++) {
        q += h[k].ratio * h[k].ratio;
    }
    return q;
}

double synth_vrms(const synth_t *s)
{
    return sqrt(s->v1 * s->v1 * (1.0 + sum_sq(s->vh, s->nvh)) + s->v3 * s->v3);
}

double synth_irms(const synth_t *s)
{
    return sqrt(s->i1 * s->i1 * (1.0 + sum_sq(s->ih, s->nih)) + s->i3 * s->i3);
}

double synth_p(const synth_t *s)
{
    double p = s->v1 * s->i1 * cos(s->phi_deg * PI / 180.0) +
               s->v3 * s->i3 * cos(s->phi3_deg * PI / 180.0);
    /* a voltage and a current harmonic of the same order work together:
     * v_h = sin(h th + a), i_h = sin(h th - h phi + b) */
    for (int a = 0; a < s->nvh; a++) {
        for (int b = 0; b < s->nih; b++) {
            if (s->vh[a].order == s->ih[b].order) {
                double lag = s->vh[a].phase - (s->ih[b].phase - s->ih[b].order * s->phi_deg * PI / 180.0);
                p += s->v1 * s->vh[a].ratio * s->i1 * s->ih[b].ratio * cos(lag);
            }
        }
    }
    return p;
}

double synth_thd_v(const synth_t *s)
{
    double h = s->v1 * s->v1 * sum_sq(s->vh, s->nvh) + s->v3 * s->v3;
    return s->v1 > 0.0 ? 100.0 * sqrt(h) / s->v1 : 0.0;
}

double synth_thd_i(const synth_t *s)
{
    double h = s->i1 * s->i1 * sum_sq(s->ih, s->nih) + s->i3 * s->i3;
    return s->i1 > 0.0 ? 100.0 * sqrt(h) / s->i1 : 0.0;
}
