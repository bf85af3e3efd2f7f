/*
 * fundamental.c - see fundamental.h.
 */
#include "fundamental.h"

#define Q16_ONE 65536u

void fz_init(fz_t *z, uint32_t len, uint32_t hyst_counts)
{
    len = len < 1u ? 1u : len;
    if (len > MTR_ZC_MAX_L) {
        len = MTR_ZC_MAX_L;
    }
    z->len = len;
    z->pos = 0u;
    z->filled = 0u;
    z->s1 = 0;
    z->s2 = 0;
    z->s3 = 0;
    for (uint32_t k = 0; k < MTR_ZC_MAX_L; k++) {
        z->dl2[k] = 0;
        z->dl3[k] = 0;
    }
    /* the fundamental passes with a gain of about 0.93 L^3 */
    int64_t l3 = (int64_t)len * len * len;
    z->hyst = (int64_t)hyst_counts * l3 * 7 / 8;
    z->y_prev = 0;
    z->dc_q8 = 0;
    z->dc_term = 0;
    z->arm_rising = false;
    z->arm_falling = false;
    z->delay_q16 = 3u * (len - 1u) * (Q16_ONE / 2u);
    for (uint32_t k = 0; k < FZ_KEEP; k++) {
        z->rising[k] = 0u;
        z->falling[k] = 0u;
    }
    z->n_rising = 0u;
    z->n_falling = 0u;
}

uint64_t fz_horizon_q16(const fz_t *z, uint64_t n_next)
{
    /* the filter output of sample n_next - 1 is known: signal time
     * n_next - 1 - delay */
    uint64_t t = (n_next - 1u) << 16;
    return t > z->delay_q16 ? t - z->delay_q16 : 0u;
}

fz_kind_t fz_step(fz_t *z, const int16_t *ring, uint32_t mask, uint64_t n, int32_t dc_q8,
                  uint64_t *t_q16)
{
    int32_t x = ring[n & mask];
    /* before the ring has L samples this reads its zero-initialised end */
    int32_t old1 = ring[(n - z->len) & mask];
    z->s1 += x - old1;
    int32_t old2 = z->dl2[z->pos];
    z->dl2[z->pos] = z->s1;
    z->s2 += z->s1 - old2;
    int32_t old3 = z->dl3[z->pos];
    z->dl3[z->pos] = z->s2;
    z->s3 += (int64_t)z->s2 - old3;
    z->pos = z->pos + 1u == z->len ? 0u : z->pos + 1u;
    if (z->filled < 3u * z->len) {
        z->filled++;
        return FZ_NONE; /* the sums are not full yet */
    }
    if (dc_q8 != z->dc_q8) {
        z->dc_q8 = dc_q8;
        z->dc_term = ((int64_t)z->len * z->len * z->len * dc_q8) >> 8;
    }
    int64_t y = z->s3 - z->dc_term;
    int64_t prev = z->y_prev;
    z->y_prev = y;
    fz_kind_t kind = FZ_NONE;
    if (z->arm_rising && y >= 0) {
        z->arm_rising = false;
        kind = FZ_RISING;
    } else if (z->arm_falling && y < 0) {
        z->arm_falling = false;
        kind = FZ_FALLING;
    }
    if (y < -z->hyst) {
        z->arm_rising = true;
    } else if (y > z->hyst) {
        z->arm_falling = true;
    }
    if (kind == FZ_NONE) {
        return FZ_NONE;
    }
    /* between n-1 and n: n - 1 + prev / (prev - y) */
    uint64_t num = (uint64_t)(prev < 0 ? -prev : prev);
    uint64_t den = (uint64_t)(prev < y ? y - prev : prev - y);
    uint64_t frac = den > 0u ? (num << 16) / den : Q16_ONE;
    if (frac > Q16_ONE) {
        frac = Q16_ONE;
    }
    uint64_t t = ((n - 1u) << 16) + frac;
    *t_q16 = t > z->delay_q16 ? t - z->delay_q16 : 0u;
    if (kind == FZ_RISING) {
        z->rising[z->n_rising % FZ_KEEP] = *t_q16;
        z->n_rising++;
    } else {
        z->falling[z->n_falling % FZ_KEEP] = *t_q16;
        z->n_falling++;
    }
    return kind;
}

/* Sums for a least-squares line through crossings of one direction. */
typedef struct {
    uint32_t n;
    uint64_t first;
    double sk, st, skk, skt;
} line_t;

static void line_of(const uint64_t *times, uint32_t total, uint64_t lo, uint64_t hi, uint64_t origin,
                    line_t *l)
{
    uint32_t kept = total < FZ_KEEP ? total : FZ_KEEP;
    *l = (line_t){0};
    for (uint32_t k = total - kept; k < total; k++) {
        uint64_t t = times[k % FZ_KEEP];
        if (t < lo || t >= hi) {
            continue;
        }
        if (l->n == 0u) {
            l->first = t;
        }
        /* the crossing's index in its own sequence, time from origin */
        double x = (double)(k - (total - kept));
        double y = t >= origin ? (double)(t - origin) / (double)Q16_ONE : -(double)(origin - t) / (double)Q16_ONE;
        l->sk += x;
        l->st += y;
        l->skk += x * x;
        l->skt += x * y;
        l->n++;
    }
}

uint32_t fz_period(const fz_t *z, uint64_t lo_q16, uint64_t hi_q16, uint64_t *first_q16,
                   double *period)
{
    /* one slope (the period), an intercept for each direction: a DC error
     * moves rising and falling crossings oppositely, the slope not */
    line_t r, f;
    line_of(z->rising, z->n_rising, lo_q16, hi_q16, lo_q16, &r);
    line_of(z->falling, z->n_falling, lo_q16, hi_q16, lo_q16, &f);
    *first_q16 = r.first;
    *period = 0.0;
    double sxx = 0.0, sxy = 0.0;
    if (r.n >= 2u) {
        double n = (double)r.n;
        sxx += r.skk - r.sk * r.sk / n;
        sxy += r.skt - r.sk * r.st / n;
    }
    if (f.n >= 2u) {
        double n = (double)f.n;
        sxx += f.skk - f.sk * f.sk / n;
        sxy += f.skt - f.sk * f.st / n;
    }
    if (r.n >= 2u && sxx > 0.0) {
        *period = sxy / sxx;
    }
    return r.n;
}

void f10_init(f10_t *f, uint32_t fs_hz, uint64_t origin)
{
    f->fs_hz = fs_hz;
    f->interval = 10u * (uint64_t)fs_hz;
    f->seq = 0u;
    f->value_hz = 0.0f;
    f10_align(f, origin);
}

void f10_align(f10_t *f, uint64_t origin)
{
    f->end = origin;
    f->active = false;
    f->count = 0u;
    f->first_q16 = 0u;
    f->last_q16 = 0u;
}

bool f10_crossing(f10_t *f, uint64_t t_q16)
{
    uint64_t t = t_q16 >> 16;
    bool produced = false;
    if (t >= f->end) {
        if (f->active && f->count >= 2u && f->last_q16 > f->first_q16) {
            double span = (double)(f->last_q16 - f->first_q16) / (double)Q16_ONE;
            f->value_hz = (float)((double)(f->count - 1u) * (double)f->fs_hz / span);
            f->seq++;
            produced = true;
        }
        /* next interval containing t (intervals without crossings give none) */
        uint64_t skip = (t - f->end) / f->interval;
        f->end += (skip + 1u) * f->interval;
        f->active = true;
        f->count = 0u;
    }
    if (f->active) {
        if (f->count == 0u) {
            f->first_q16 = t_q16;
        }
        f->last_q16 = t_q16;
        f->count++;
    }
    return produced;
}
