/*
 * wmath.h - the few maths helpers the core needs, without libc/libm headers.
 *
 * ww_sqrt: where the target has a square-root instruction __builtin_sqrt is
 * used (f64.sqrt on wasm32, sqrtsd on x86-64; the builds use -fno-math-errno
 * so no errno fallback call is emitted). On targets without an FPU (the
 * Cortex-M3) __builtin_sqrt would become a call into libm, whose wrapper
 * also drags in errno and newlib's reentrancy data, so ww_sqrt_soft (Newton
 * iteration) is used instead: the core links without libm.
 */
#ifndef WW_WMATH_H
#define WW_WMATH_H

#include <stdint.h>

/* sqrt for finite x > 0 without a hardware instruction: initial guess by
 * halving the binary exponent (relative error < 6.1 %), then Newton steps,
 * each squaring the relative error (6e-2, 2e-3, 2e-6, 2e-12, < 1 ulp). */
static inline double ww_sqrt_soft(double x)
{
    union {
        double d;
        uint64_t u;
    } b;
    if (!(x > 0.0)) {
        return 0.0; /* also NaN */
    }
    if (x > 1.7e308) {
        return x; /* +inf or huge: not reached by the core */
    }
    b.d = x;
    b.u = (b.u >> 1) + 0x1FF8000000000000ull;
    double y = b.d;
    for (int k = 0; k < 5; k++) {
        y = 0.5 * (y + x / y);
    }
    return y;
}

#if defined(__wasm__) || defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
    (defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 8))
#define WW_HW_SQRT 1
#endif

static inline double ww_sqrt(double x)
{
#if defined(WW_HW_SQRT)
    return x > 0.0 ? __builtin_sqrt(x) : 0.0;
#else
    return ww_sqrt_soft(x);
#endif
}

static inline double ww_fabs(double x)
{
    return x < 0.0 ? -x : x;
}

/* sin and cos by their Taylor series, for |x| <= 1.6 (error < 1e-10 there):
 * the core only needs small angles (phase corrections, the angle of one
 * sample at the mains frequency) and links without libm. */
static inline double ww_sin_small(double x)
{
    double x2 = x * x;
    return x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0 * (1.0 - x2 / 110.0 * (1.0 - x2 / 156.0))))));
}

static inline double ww_cos_small(double x)
{
    double x2 = x * x;
    return 1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0 * (1.0 - x2 / 90.0 * (1.0 - x2 / 132.0 * (1.0 - x2 / 182.0))))));
}

/* Round half away from zero and saturate to int64. */
static inline int64_t ww_round_i64(double x)
{
    if (x >= 9.2e18) {
        return INT64_MAX;
    }
    if (x <= -9.2e18) {
        return INT64_MIN;
    }
    return x >= 0.0 ? (int64_t)(x + 0.5) : -(int64_t)(-x + 0.5);
}

/* Round half away from zero and saturate to int32. */
static inline int32_t ww_round_i32(double x)
{
    if (x >= 2147483647.0) {
        return INT32_MAX;
    }
    if (x <= -2147483648.0) {
        return INT32_MIN;
    }
    return (int32_t)ww_round_i64(x);
}

#endif /* WW_WMATH_H */
