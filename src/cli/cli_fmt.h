/* src/cli/cli_fmt.h: number formatting for the large CSV outputs (promo score).
 *
 * cli_fmt_g6 writes exactly what snprintf(b, 32, "%.6g", v) writes, faster: a million-line
 * uplift score prints five or more numbers a line, and glibc's printf (its multi-precision
 * decimal conversion) was a quarter of the command's CPU. The fast path covers the values a
 * score prints (zero, and 1e-4 <= |v| < 1e6 where "%.6g" is fixed-point, when the sixth
 * significant digit is not within 1e-6 of a rounding tie); everything else (NaN, infinities,
 * the exponent forms, near-ties) goes to snprintf. tests/test_score_fmt.c compares the two
 * on millions of values. */
#ifndef PROMO_CLI_FMT_H
#define PROMO_CLI_FMT_H

#include <stddef.h>

/* "%.6g" of v at b (at least 32 bytes of room), NUL-terminated; returns its length. */
size_t cli_fmt_g6(char *b, double v);

#endif
