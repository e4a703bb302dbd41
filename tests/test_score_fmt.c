/* cli_fmt_g6 (src/cli/cli_fmt.h: promo score's "%.6g" without printf) against snprintf, byte
 * for byte: log-uniform values over 1e-9..1e9 of both signs, float values widened to double
 * (the scores' effects and outcomes), values on and beside the rounding ties of the sixth
 * digit, powers of ten and their neighbours, integers, and the specials. */
#include "t.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <promo/rng.h>

#include "cli/cli_fmt.h"

/* Fails with the value when the two disagree. */
static void same(double v)
{
    char want[64], got[64];
    memset(got, 'x', sizeof got);
    int w = snprintf(want, sizeof want, "%.6g", v);
    size_t n = cli_fmt_g6(got, v);
    T_ASSERT_MSG(n == (size_t)w && strcmp(got, want) == 0,
                 "%.17g (%a): cli_fmt_g6 \"%s\" (%zu), snprintf \"%s\" (%d)", v, v, got, n, want,
                 w);
}

T_TEST(score_fmt_g6_is_printf)
{
    promo_rng r;
    promo_rng_init(&r, 10, 0);
    for (int i = 0; i < 300000; i++) { /* log-uniform, both signs */
        double v = pow(10.0, -9.0 + 18.0 * promo_rng_uniform(&r));
        same(promo_rng_u64(&r) & 1 ? -v : v);
    }
    for (int i = 0; i < 300000; i++) { /* floats widened: effects, outcomes */
        float f = (float)(pow(10.0, -6.0 + 8.0 * promo_rng_uniform(&r)) *
                          (promo_rng_u64(&r) & 1 ? -1 : 1));
        same((double)f);
    }
    for (int i = 0; i < 200000; i++) { /* the ties of the sixth digit and their neighbours */
        int e = (int)promo_rng_below(&r, 14) - 6;
        double t = ((double)(100000 + promo_rng_below(&r, 900000)) + 0.5) * pow(10.0, e - 5);
        same(t);
        same(nextafter(t, 0.0));
        same(nextafter(t, INFINITY));
        same(-t);
    }
    for (int e = -12; e <= 12; e++) { /* powers of ten, their neighbours, the 9s below them */
        double p = pow(10.0, e);
        double near[] = {p,
                         nextafter(p, 0.0),
                         nextafter(p, INFINITY),
                         p * 0.9999995,
                         nextafter(p * 0.9999995, 0.0),
                         nextafter(p * 0.9999995, INFINITY),
                         p * 0.99999949999,
                         p * 0.99999950001,
                         p * 0.999999};
        for (size_t k = 0; k < sizeof near / sizeof *near; k++) {
            same(near[k]);
            same(-near[k]);
        }
    }
    for (int i = -100000; i <= 2000000; i += 7) /* integers, profits in whole units */
        same((double)i);
    double specials[] = {
        0.0,       -0.0,   NAN,           -NAN,          INFINITY,        -INFINITY,
        1e-300,    5e-324, 1.7e308,       999999.5,      999999.49999999, 99999.95,
        0.1,       0.2,    0.3,           1.0 / 3.0,     2.0 / 3.0,       123456.5,
        1234565.0, 0.0001, 0.00010000005, 0.000099999949};
    for (size_t k = 0; k < sizeof specials / sizeof *specials; k++)
        same(specials[k]);
}
