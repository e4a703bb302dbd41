/* Number parsing and formatting for the CSV reader and writer, independent of the locale.
 *
 * Floats: the grammar is checked by hand; when the significant digits fit in 19 decimal digits,
 * the mantissa M is at most 2^53 and the decimal exponent E is within [-22, 22], both M and
 * 10^|E| are exact doubles, so one IEEE multiplication or division gives the correctly rounded
 * result (W. D. Clinger, "How to read floating point numbers accurately", PLDI 1990). That
 * covers prices, quantities and most measurements. Everything else (long mantissas, large
 * exponents) goes to strtod_l in the C locale, so results always equal strtod's. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>

#include "data/csv_internal.h"

static locale_t c_loc;
static pthread_once_t c_loc_once = PTHREAD_ONCE_INIT;

static void c_loc_init(void)
{
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The C locale, created once; (locale_t)0 if that failed (callers then use the global one,
 * which is "C" unless the program called setlocale). */
static locale_t c_locale(void)
{
    pthread_once(&c_loc_once, c_loc_init);
    return c_loc;
}

static inline int is_digit(char c)
{
    return (unsigned)((unsigned char)c - '0') <= 9;
}

static void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t m = *n;
    while (m && (*p == ' ' || *p == '\t')) {
        p++;
        m--;
    }
    while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
        m--;
    *s = p;
    *n = m;
}

int csv_parse_i64(const char *s, size_t n, int64_t *out)
{
    /* The common case first: up to 18 bare digits cannot overflow, and need no trim or sign. */
    if (n && n <= 18) {
        uint64_t v = 0;
        size_t i = 0;
        for (; i < n; i++) {
            unsigned d = (unsigned char)s[i] - '0';
            if (d > 9)
                break;
            v = v * 10 + d;
        }
        if (i == n) {
            *out = (int64_t)v;
            return CSV_CV_OK;
        }
    }
    trim(&s, &n);
    if (!n)
        return CSV_CV_NULL;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return CSV_CV_BAD;
    /* Accumulate as a negative number so INT64_MIN fits. */
    int64_t v = 0;
    int range = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return CSV_CV_BAD;
        if (!range &&
            (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, (int64_t)d, &v)))
            range = 1;
    }
    if (range)
        return CSV_CV_RANGE;
    if (!neg) {
        if (v == INT64_MIN)
            return CSV_CV_RANGE;
        v = -v;
    }
    *out = v;
    return CSV_CV_OK;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int csv_parse_f64(const char *s, size_t n, double *out)
{
    /* The common case first: "123" or "123.45", without the bookkeeping below. */
    if (csv_parse_f64_short(s, n, out))
        return CSV_CV_OK;
    trim(&s, &n);
    if (!n)
        return CSV_CV_NULL;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    uint64_t m = 0;
    int nd = 0;      /* significant digits held in m */
    int digits = 0;  /* mantissa digits seen */
    int inexact = 0; /* a nonzero digit did not fit in m */
    long e10 = 0;
    for (; i < n && is_digit(s[i]); i++, digits++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (nd < 19) {
            m = m * 10 + d;
            nd += m != 0;
        } else {
            e10++;
            inexact |= d != 0;
        }
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && is_digit(s[i]); i++, digits++) {
            unsigned d = (unsigned char)s[i] - '0';
            if (nd < 19) {
                m = m * 10 + d;
                nd += m != 0;
                e10--;
            } else {
                inexact |= d != 0;
            }
        }
    }
    if (!digits)
        return CSV_CV_BAD;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i == n || !is_digit(s[i]))
            return CSV_CV_BAD;
        long e = 0;
        for (; i < n && is_digit(s[i]); i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        e10 += eneg ? -e : e;
    }
    if (i != n)
        return CSV_CV_BAD;
    if (m == 0 && !inexact) {
        *out = neg ? -0.0 : 0.0;
        return CSV_CV_OK;
    }
    if (!inexact && m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        *out = neg ? -d : d;
        return CSV_CV_OK;
    }
    /* The hard cases: strtod on a NUL-terminated copy of the validated text. */
    char small[128];
    char *buf = n < sizeof small ? small : promo_malloc(n + 1);
    if (!buf)
        return CSV_CV_NOMEM;
    memcpy(buf, s, n);
    buf[n] = '\0';
    locale_t loc = c_locale();
    errno = 0;
    double d = loc ? strtod_l(buf, NULL, loc) : strtod(buf, NULL);
    int err = errno;
    if (buf != small)
        promo_free(buf);
    if (err == ERANGE && isinf(d))
        return CSV_CV_RANGE;
    *out = d;
    return CSV_CV_OK;
}

static int lower_eq(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (n != k)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

int csv_parse_bool(const char *s, size_t n, int strict, int *out)
{
    trim(&s, &n);
    if (!n)
        return CSV_CV_NULL;
    static const char *const yes[] = {"true", "t", "yes", "y", "1"};
    static const char *const no[] = {"false", "f", "no", "n", "0"};
    size_t n_words = strict ? 1 : sizeof yes / sizeof yes[0];
    for (size_t k = 0; k < n_words; k++) {
        if (lower_eq(s, n, yes[k])) {
            *out = 1;
            return CSV_CV_OK;
        }
        if (lower_eq(s, n, no[k])) {
            *out = 0;
            return CSV_CV_OK;
        }
    }
    return CSV_CV_BAD;
}

size_t csv_format_f64(double v, char *buf, size_t cap)
{
    locale_t loc = c_locale();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(buf, cap, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    if (loc)
        uselocale(old);
    return len < 0 ? 0 : (size_t)len;
}
