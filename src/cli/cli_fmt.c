/* src/cli/cli_fmt.c: "%.6g" without printf (cli_fmt.h).
 *
 * Why it is exact: for e = floor(log10 |v|) in -4..5, |v| x 10^(5 - e) is one multiplication by
 * an exactly representable power of ten (10^0..10^9), so the computed s differs from the exact
 * product by at most half an ulp (under 1.2e-10 below 1e6). Rounding s to an integer then gives
 * the six significant digits printf's exact conversion gives, unless the exact product could
 * lie on the other side of a .5: those (|frac - 0.5| < 1e-6) are left to snprintf. With six
 * digits d and exponent e, "%.6g" is fixed-point with 5 - e decimals, trailing zeros and a bare
 * point removed (C11 7.21.6.1). A misjudged e (|v| within an ulp of a power of ten, whose double
 * is not the power itself) shows as s just under 1e5 (which rounds to 100000 at e: the same
 * text) or just under 1e6 (left to snprintf with every s that would round to 1000000). */
#include "cli/cli_fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static size_t slow(char *b, double v)
{
    int r = snprintf(b, 32, "%.6g", v);
    return r < 0 ? 0 : r > 31 ? 31 : (size_t)r;
}

size_t cli_fmt_g6(char *b, double v)
{
    static const double p10[] = {1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    static const uint32_t u10[] = {1,      10,      100,      1000,      10000,
                                   100000, 1000000, 10000000, 100000000, 1000000000};
    double a = fabs(v);
    if (a == 0.0) { /* "0" or "-0": a profit of not contacting, every other line */
        size_t n = 0;
        if (signbit(v))
            b[n++] = '-';
        b[n++] = '0';
        b[n] = 0;
        return n;
    }
    if (!(a >= p10[0] && a < p10[10])) /* NaN, inf, the exponent forms */
        return slow(b, v);
    int e = -4;
    while (a >= p10[e + 5]) /* p10[e + 4] <= a < p10[e + 5] */
        e++;
    double s = a * (double)u10[5 - e], fl = floor(s), fr = s - fl;
    if (s < 100000.0 - 1e-6 || s >= 999999.5 - 1e-6 || fabs(fr - 0.5) < 1e-6)
        return slow(b, v);
    uint32_t d = (uint32_t)fl + (fr > 0.5);
    uint32_t D = (uint32_t)(5 - e), ip = d / u10[D], fp = d % u10[D];
    char *o = b;
    if (signbit(v))
        *o++ = '-';
    char t[12];
    int k = 0;
    do {
        t[k++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (k)
        *o++ = t[--k];
    if (fp) {
        while (fp % 10 == 0) { /* trailing zeros go */
            fp /= 10;
            D--;
        }
        *o++ = '.';
        for (uint32_t q = D; q-- > 0;) {
            o[q] = (char)('0' + fp % 10);
            fp /= 10;
        }
        o += D;
    }
    *o = 0;
    return (size_t)(o - b);
}
