/* src/data/csv_internal.h: number and field helpers shared by the CSV reader and writer.
 * Private to src/data; not part of the public API. */
#ifndef PROMO_CSV_INTERNAL_H
#define PROMO_CSV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/hash.h>

/* Results of converting one field's text. */
enum {
    CSV_CV_OK = 0,    /* converted */
    CSV_CV_NULL = 1,  /* empty (or only spaces): a null */
    CSV_CV_BAD = 2,   /* not of the type */
    CSV_CV_RANGE = 3, /* of the type but out of range (int64 overflow, float overflow) */
    CSV_CV_NOMEM = 4, /* a very long number needed a buffer and the allocation failed */
};

/* Parse s[0..n) (surrounding spaces/tabs ignored) as a decimal int64: [+-]digits. */
int csv_parse_i64(const char *s, size_t n, int64_t *out /* OUT */);

/* Parse s[0..n) (surrounding spaces/tabs ignored) as a decimal float:
 * [+-] digits [. digits] [(e|E) [+-] digits], at least one mantissa digit. No hex, inf or nan.
 * Exact (the same double as strtod) everywhere: short mantissas with small exponents take a
 * fast path that is correctly rounded by construction (Clinger 1990); the rest go to strtod_l
 * in the C locale. */
int csv_parse_f64(const char *s, size_t n, double *out /* OUT */);

/* The number whose n decimal digits (1 <= n <= 8) are the low n bytes of w, first digit in
 * byte 0: returns 1 and sets *out if every one of those bytes is a digit, else 0. The digits
 * are right-aligned in a word of '0's, checked and combined 8 at a time (the pairwise
 * multiply-and-shift of simdjson's parse_eight_digits_unrolled); the bytes above n must be 0. */
static inline __attribute__((always_inline)) int
csv_digits_word(uint64_t w, size_t n, uint64_t *out /* OUT */)
{
    w <<= 8 * (8 - n);
    if (n < 8)
        w |= 0x3030303030303030ULL >> (8 * n);
    if ((w & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL ||
        ((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL)
        return 0;
    w = (w & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
    w = (w & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
    *out = (w & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32;
    return 1;
}

static const double csv_p10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

/* csv_parse_f64_short for 1 <= n <= 8 characters held in the low n bytes of w (first in byte
 * 0, zero above): one word, no loop. The first '.' (the lowest zero byte of w ^ '.'s; the bit
 * trick's false positives only lie above a true one) is cut out by moving the bytes above it
 * down one, and what is left must be all digits. */
static inline __attribute__((always_inline)) int
csv_parse_f64_word(uint64_t w, size_t n, double *out /* OUT */)
{
    uint64_t t = w ^ 0x2E2E2E2E2E2E2E2EULL, m;
    uint64_t dots = (t - 0x0101010101010101ULL) & ~t & 0x8080808080808080ULL;
    if (n < 8)
        dots &= ((uint64_t)1 << (8 * n)) - 1;
    if (!dots)
        return csv_digits_word(w, n, &m) ? (*out = (double)m, 1) : 0;
    unsigned d = (unsigned)__builtin_ctzll(dots) >> 3; /* the '.' is byte d */
    if (d == 0)
        return 0;
    uint64_t below = ((uint64_t)1 << (8 * d)) - 1;
    if (!csv_digits_word((w & below) | (w >> 8 & ~below), n - 1, &m))
        return 0;
    size_t frac = n - 1 - d;
    *out = frac ? (double)m / csv_p10[frac] : (double)m;
    return 1;
}

/* The common float form, "123" or "123.45" (at most 18 characters, no sign, space or exponent):
 * returns 1 and sets *out to the correctly rounded double (the mantissa is at most 2^53 and the
 * fraction under 10^18, both exact, so one division rounds correctly: Clinger 1990), or 0 when
 * s is not of that form (then csv_parse_f64 decides). csv_parse_f64 starts with it, and the
 * reader's row path calls it inline. */
static inline __attribute__((always_inline)) int
csv_parse_f64_short(const char *s, size_t n, double *out /* OUT */)
{
    if (n - 1 < 8)
        return csv_parse_f64_word(promo_load_upto8((const unsigned char *)s, n), n, out);
    if (!n || n > 18 || (unsigned)((unsigned char)s[0] - '0') > 9)
        return 0;
    uint64_t m = 0;
    size_t i = 0;
    unsigned d;
    while (i < n && (d = (unsigned)((unsigned char)s[i] - '0')) <= 9) {
        m = m * 10 + d;
        i++;
    }
    size_t frac = 0;
    if (i < n && s[i] == '.')
        for (i++; i < n && (d = (unsigned)((unsigned char)s[i] - '0')) <= 9; i++, frac++)
            m = m * 10 + d;
    if (i != n || m > (UINT64_C(1) << 53))
        return 0;
    *out = frac ? (double)m / csv_p10[frac] : (double)m;
    return 1;
}

/* Parse a boolean. strict=1 (inference): true/false in any case. strict=0 (a BOOL column):
 * also t/f, yes/no, y/n, 1/0. */
int csv_parse_bool(const char *s, size_t n, int strict, int *out /* OUT */);

/* How the reader finds the structure of plain records (csv.c, scan_fast): CSV_SIMD_OFF byte by
 * byte only; SCALAR, SSE2, AVX2 64-byte masks built that way; AUTO (the default) the best the
 * CPU has. A level the CPU lacks falls back to the best it has. For tests and the fuzzer, which
 * compare the paths: set it only while no read is running. Returns the previous setting. */
enum {
    CSV_SIMD_OFF = -1,
    CSV_SIMD_SCALAR = 0,
    CSV_SIMD_SSE2 = 1,
    CSV_SIMD_AVX2 = 2,
    CSV_SIMD_AVX512 = 3, /* AVX-512BW: one compare gives a 64-bit mask */
    CSV_SIMD_AUTO = 4
};
int csv_simd_force(int level);

/* Shortest "%.Ng" (N = 15..17) that reads back as exactly v, in the C locale. Returns the
 * length written to buf (>= 32 bytes). v must be finite. */
size_t csv_format_f64(double v, char *buf, size_t cap);

#endif
