/*
 * tharness.h - minimal assertion harness for the host tests.
 *
 * Every CHECK counts as one pass or one failure. A failure prints exactly one
 * line "FAIL file:line: test: message". test_main prints the final line
 * "N passed, M failed" and exits non-zero if M > 0.
 */
#ifndef WW_THARNESS_H
#define WW_THARNESS_H

#include <stdio.h>

extern unsigned th_passed;
extern unsigned th_failed;
extern const char *th_test;

void th_fail_msg(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                   \
    do {                                                              \
        if (cond) {                                                   \
            th_passed++;                                              \
        } else {                                                      \
            th_fail_msg(__FILE__, __LINE__, "CHECK(%s)", #cond);      \
        }                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                          \
    do {                                                              \
        if (cond) {                                                   \
            th_passed++;                                              \
        } else {                                                      \
            th_fail_msg(__FILE__, __LINE__, __VA_ARGS__);             \
        }                                                             \
    } while (0)

#define CHECK_EQ_U(a, b)                                                        \
    do {                                                                        \
        unsigned long long th_a_ = (unsigned long long)(a);                     \
        unsigned long long th_b_ = (unsigned long long)(b);                     \
        CHECK_MSG(th_a_ == th_b_, "%s == %s (%llu != %llu)", #a, #b, th_a_, th_b_); \
    } while (0)

#define CHECK_EQ_I(a, b)                                                      \
    do {                                                                      \
        long long th_a_ = (long long)(a);                                     \
        long long th_b_ = (long long)(b);                                     \
        CHECK_MSG(th_a_ == th_b_, "%s == %s (%lld != %lld)", #a, #b, th_a_, th_b_); \
    } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double th_a_ = (double)(a);                                            \
        double th_b_ = (double)(b);                                            \
        double th_t_ = (double)(tol);                                          \
        double th_d_ = th_a_ - th_b_;                                          \
        CHECK_MSG(th_d_ <= th_t_ && th_d_ >= -th_t_, "%s ~ %s: %.9g vs %.9g (tol %.3g)", \
                  #a, #b, th_a_, th_b_, th_t_);                                \
    } while (0)

/* |a - b| <= rel * |b| */
#define CHECK_REL(a, b, rel)                                                   \
    do {                                                                       \
        double th_a_ = (double)(a);                                            \
        double th_b_ = (double)(b);                                            \
        double th_t_ = (double)(rel) * (th_b_ < 0 ? -th_b_ : th_b_);           \
        double th_d_ = th_a_ - th_b_;                                          \
        CHECK_MSG(th_d_ <= th_t_ && th_d_ >= -th_t_,                           \
                  "%s ~ %s: %.9g vs %.9g (rel err %.3g > %.3g)", #a, #b, th_a_, th_b_, \
                  th_b_ != 0 ? (th_d_ / th_b_) : th_d_, (double)(rel));        \
    } while (0)

#endif /* WW_THARNESS_H */
