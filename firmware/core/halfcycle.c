/*
 * halfcycle.c - see halfcycle.h.
 */
#include "halfcycle.h"

#include "wmath.h"

enum { HC_IDLE = 0, HC_ACTIVE = 1, HC_ENDING = 2 };

/* Values detected on: the first ones after a (re)start may span a partial
 * half cycle. */
#define HC_SKIP_VALUES 2u

void hc_init(hc_t *h)
{
    *h = (hc_t){0};
    h->det[HC_DIP].below = true;
    h->det[HC_SWELL].below = false;
    h->det[HC_INTERRUPTION].below = true;
}

void hc_set_thresholds(hc_t *h, double dip, double swell, double hysteresis, double interruption)
{
    double lo_end = dip + hysteresis, hi_end = swell - hysteresis, int_end = interruption + hysteresis;
    h->det[HC_DIP].thr2 = dip * dip;
    h->det[HC_DIP].end2 = lo_end * lo_end;
    h->det[HC_SWELL].thr2 = swell * swell;
    h->det[HC_SWELL].end2 = hi_end > 0.0 ? hi_end * hi_end : 0.0;
    h->det[HC_INTERRUPTION].thr2 = interruption * interruption;
    h->det[HC_INTERRUPTION].end2 = int_end * int_end;
}

static double u2_at(const hc_t *h, uint32_t j)
{
    return h->u2[j % HC_HISTORY];
}

/* Boundary j, samples. */
static double b_at(const hc_t *h, uint32_t j)
{
    return (double)h->b_hist[j % HC_HISTORY] / 65536.0;
}

static uint64_t b_sample(const hc_t *h, uint32_t j)
{
    return h->b_hist[j % HC_HISTORY] >> 16;
}

/*
 * Weighted mean of the midpoints of the half cycles at which U^2 changed
 * in the given direction, over values lo..hi (clamped to those kept);
 * fallback when it did not change that way.
 */
static double centroid(const hc_t *h, uint32_t lo, uint32_t hi, bool rising, double fallback)
{
    uint32_t now = h->count;
    /* D_j needs values j-1, j and boundaries j-2, j-1 */
    uint32_t oldest = now >= HC_HISTORY - 2u ? now - (HC_HISTORY - 2u) : 0u;
    if (lo < oldest) {
        lo = oldest;
    }
    if (lo < h->first_value + 1u) {
        lo = h->first_value + 1u;
    }
    if (hi > now) {
        hi = now;
    }
    double sw = 0.0, swc = 0.0;
    for (uint32_t j = lo; j <= hi; j++) {
        double d = u2_at(h, j) - u2_at(h, j - 1u);
        if (!rising) {
            d = -d;
        }
        if (d > 0.0) {
            double mid = 0.5 * (b_at(h, j - 2u) + b_at(h, j - 1u));
            sw += d;
            swc += d * mid;
        }
    }
    return sw > 0.0 ? swc / sw : fallback;
}

static bool beyond(const hc_detector_t *d, double u2, double level2)
{
    return d->below ? u2 < level2 : u2 > level2;
}

static void refine_start(const hc_t *h, hc_detector_t *d)
{
    /* the r.m.s. moves away from normal: down for a dip, up for a swell */
    d->start = centroid(h, d->j0 - 2u, d->j0 + 2u, !d->below, b_at(h, d->j0 - 1u));
    d->start_done = true;
}

static void finish(hc_t *h, uint32_t which, hc_event_t *out)
{
    hc_detector_t *d = &h->det[which];
    if (!d->start_done) {
        refine_start(h, d);
    }
    double end = centroid(h, d->j1 - 2u, d->j1 + 2u, d->below, b_at(h, d->j1 - 1u));
    if (end <= d->start) {
        end = b_at(h, d->j1);
    }
    out->which = (uint8_t)which;
    out->start = d->start;
    out->duration = end - d->start;
    out->extreme = ww_sqrt(d->extreme2);
    uint32_t s = h->spans % HC_FLAG_SPANS;
    h->span_lo[s] = d->flag_from;
    h->span_hi[s] = b_sample(h, d->j1) + 1u;
    h->spans++;
    d->state = HC_IDLE;
}

static void begin(hc_t *h, hc_detector_t *d, uint32_t j, double u2)
{
    d->state = HC_ACTIVE;
    d->j0 = j;
    d->extreme2 = u2;
    d->start_done = false;
    d->flag_from = b_sample(h, j - 3u);
}

/* Value j of Urms(1/2)^2 is in; may finish an event into out. */
static uint32_t detect(hc_t *h, uint32_t which, uint32_t j, double u2, hc_event_t *out)
{
    hc_detector_t *d = &h->det[which];
    uint32_t done = 0;
    switch (d->state) {
    case HC_IDLE:
        if (h->armed && beyond(d, u2, d->thr2)) {
            begin(h, d, j, u2);
        }
        break;
    case HC_ACTIVE:
        if (beyond(d, u2, d->extreme2)) {
            d->extreme2 = u2;
        }
        if (!d->start_done && j >= d->j0 + 2u) {
            refine_start(h, d);
        }
        if (d->below ? u2 >= d->end2 : u2 <= d->end2) {
            d->state = HC_ENDING;
            d->j1 = j;
        }
        break;
    default: /* HC_ENDING: wait two values to time the end */
        if (beyond(d, u2, d->thr2)) {
            finish(h, which, out); /* with what is known: a new event begins */
            done = 1;
            begin(h, d, j, u2);
        } else if (j >= d->j1 + 2u) {
            finish(h, which, out);
            done = 1;
        }
        break;
    }
    return done;
}

/* Sums of x and x^2 over [a, b) (Q16 sample times); sample k stands for
 * [k, k+1), so the end samples count with the part inside. */
static void half_sums(const int16_t *ring, uint32_t mask, uint64_t a, uint64_t b, double *s1, double *s2)
{
    uint64_t ka = a >> 16, kb = b >> 16;
    double wa = 1.0 - (double)(a & 0xFFFFu) / 65536.0;
    double wb = (double)(b & 0xFFFFu) / 65536.0;
    int64_t i1 = 0, i2 = 0;
    for (uint64_t k = ka + 1u; k < kb; k++) {
        int32_t x = ring[k & mask];
        i1 += x;
        i2 += (int64_t)x * x;
    }
    double xa = (double)ring[ka & mask], xb = (double)ring[kb & mask];
    if (ka == kb) {
        double w = wa + wb - 1.0;
        *s1 = w * xa;
        *s2 = w * xa * xa;
        return;
    }
    *s1 = (double)i1 + wa * xa + wb * xb;
    *s2 = (double)i2 + wa * xa * xa + wb * xb * xb;
}

uint32_t hc_boundary(hc_t *h, const int16_t *ring, uint32_t mask, uint64_t b, hc_event_t *out)
{
    if (h->started && b <= h->last_b) {
        return 0; /* not after the last one */
    }
    if (!h->started || b - h->last_b > ((uint64_t)mask / 2u) << 16) {
        /* first boundary, or a gap: start over */
        h->started = true;
        h->have_prev = false;
        h->last_b = b;
        for (uint32_t w = 0; w < HC_DETECTORS; w++) {
            h->det[w].state = HC_IDLE; /* an event across a gap is lost */
        }
        h->halves++;
        h->b_hist[h->halves % HC_HISTORY] = b;
        return 0;
    }
    double s1, s2;
    half_sums(ring, mask, h->last_b, b, &s1, &s2);
    double n = (double)(b - h->last_b) / 65536.0;
    h->last_b = b;
    h->halves++;
    uint32_t j = h->halves;
    h->b_hist[j % HC_HISTORY] = b;
    if (!h->have_prev) {
        h->s1_prev = s1;
        h->s2_prev = s2;
        h->n_prev = n;
        h->have_prev = true;
        h->first_value = j + 1u;
        return 0;
    }
    double cn = n + h->n_prev;
    double mean = (s1 + h->s1_prev) / cn;
    double u2 = (s2 + h->s2_prev) / cn - mean * mean;
    h->s1_prev = s1;
    h->s2_prev = s2;
    h->n_prev = n;
    h->u2[j % HC_HISTORY] = u2 > 0.0 ? u2 : 0.0;
    h->count = j;
    if (j < h->first_value + HC_SKIP_VALUES) {
        return 0;
    }
    if (!h->armed && u2 >= h->det[HC_DIP].end2 && u2 <= h->det[HC_SWELL].end2) {
        h->armed = true;
    }
    uint32_t done = 0;
    for (uint32_t w = 0; w < HC_DETECTORS; w++) {
        done += detect(h, w, j, u2, &out[done]);
    }
    return done;
}

uint32_t hc_flush(hc_t *h, hc_event_t *out)
{
    uint32_t done = 0;
    for (uint32_t w = 0; w < HC_DETECTORS; w++) {
        if (h->det[w].state == HC_ENDING) {
            finish(h, w, &out[done++]);
        }
    }
    return done;
}

bool hc_flagged(const hc_t *h, uint64_t lo, uint64_t hi)
{
    for (uint32_t w = 0; w < HC_DETECTORS; w++) {
        if (h->det[w].state != HC_IDLE && h->det[w].flag_from < hi) {
            return true;
        }
    }
    uint32_t kept = h->spans < HC_FLAG_SPANS ? h->spans : HC_FLAG_SPANS;
    for (uint32_t k = 0; k < kept; k++) {
        if (h->span_lo[k] < hi && h->span_hi[k] > lo) {
            return true;
        }
    }
    return false;
}
