/* Date parsing and civil-calendar arithmetic without libc's locale- and zone-dependent calls.
 * days_from_civil / civil_from_days follow H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms" (2013). Parsing is hand-written because it is the hot path of CSV ingest
 * (pandas spends 70% of its read time on the timestamp column, PERF.md). */
#include <stdio.h>
#include <string.h>

#include <promo/timeutil.h>

int64_t promo_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void promo_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, unsigned m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* Read 1..maxd digits at s[*i]; returns -1 if none. */
static int digits(const char *s, size_t n, size_t *i, int mind, int maxd)
{
    int v = 0, k = 0;
    while (*i < n && k < maxd && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    return k >= mind ? v : -1;
}

static int parse_clock(const char *s, size_t n, size_t *i, int *hh, int *mi, int *ss)
{
    *hh = digits(s, n, i, 1, 2);
    if (*hh < 0 || *i >= n || s[*i] != ':')
        return -1;
    (*i)++;
    *mi = digits(s, n, i, 2, 2);
    if (*mi < 0)
        return -1;
    *ss = 0;
    if (*i < n && s[*i] == ':') {
        (*i)++;
        *ss = digits(s, n, i, 2, 2);
        if (*ss < 0)
            return -1;
        if (*i < n && (s[*i] == '.' || s[*i] == ',')) { /* fractional seconds: dropped */
            (*i)++;
            if (digits(s, n, i, 1, 9) < 0)
                return -1;
        }
    }
    if (*hh > 23 || *mi > 59 || *ss > 60)
        return -1;
    return 0;
}

int promo_time_parse(const char *s, size_t n, promo_date_order order, int64_t *out)
{
    size_t i = 0;
    int y, mo, d, hh = 0, mi = 0, ss = 0;
    long offset_s = 0;
    while (i < n && s[i] == ' ')
        i++;
    while (n > i && s[n - 1] == ' ')
        n--;
    size_t start = i;
    int a = digits(s, n, &i, 1, 8);
    if (a < 0)
        return -1;
    size_t alen = i - start;
    if (alen == 8 && i == n) { /* YYYYMMDD */
        y = a / 10000;
        mo = a / 100 % 100;
        d = a % 100;
    } else if (alen == 4 && i < n && s[i] == '-') {
        y = a;
        i++;
        mo = digits(s, n, &i, 1, 2);
        if (mo < 0 || i >= n || s[i] != '-')
            return -1;
        i++;
        d = digits(s, n, &i, 1, 2);
        if (d < 0)
            return -1;
    } else if (alen <= 2 && i < n && s[i] == '/') {
        i++;
        int b = digits(s, n, &i, 1, 2);
        if (b < 0 || i >= n || s[i] != '/')
            return -1;
        i++;
        size_t ystart = i;
        y = digits(s, n, &i, 2, 4);
        if (y < 0)
            return -1;
        if (i - ystart == 2)
            y += 2000;
        if (order == PROMO_DATE_MDY || (order == PROMO_DATE_ISO && a <= 12 && b > 12)) {
            mo = a;
            d = b;
        } else {
            d = a;
            mo = b;
        }
    } else {
        return -1;
    }
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
        return -1;
    if (i < n && (s[i] == 'T' || s[i] == ' ')) {
        i++;
        while (i < n && s[i] == ' ')
            i++;
        if (parse_clock(s, n, &i, &hh, &mi, &ss) < 0)
            return -1;
        if (i < n && s[i] == 'Z') {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i] == '-' ? -1 : 1;
            i++;
            int oh = digits(s, n, &i, 2, 2);
            if (oh < 0)
                return -1;
            int om = 0;
            if (i < n && s[i] == ':')
                i++;
            if (i < n) {
                om = digits(s, n, &i, 2, 2);
                if (om < 0)
                    return -1;
            }
            if (oh > 14 || om > 59)
                return -1;
            offset_s = sign * (oh * 3600L + om * 60L);
        }
    }
    if (i != n)
        return -1;
    int64_t days = promo_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = days * PROMO_SECONDS_PER_DAY + hh * 3600 + mi * 60 + ss - offset_s;
    return 0;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t promo_time_day(int64_t t)
{
    return floordiv(t, PROMO_SECONDS_PER_DAY) * PROMO_SECONDS_PER_DAY;
}

int promo_time_weekday(int64_t t)
{
    int64_t days = floordiv(t, PROMO_SECONDS_PER_DAY);
    /* 1970-01-01 was a Thursday (3 with Monday = 0). */
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

int promo_time_hour(int64_t t)
{
    return (int)((t - promo_time_day(t)) / 3600);
}

void promo_time_format(int64_t t, int date_only, char *buf, size_t n)
{
    int64_t days = floordiv(t, PROMO_SECONDS_PER_DAY);
    int64_t sec = t - days * PROMO_SECONDS_PER_DAY;
    int y;
    unsigned m, d;
    promo_civil_from_days(days, &y, &m, &d);
    if (date_only)
        snprintf(buf, n, "%04d-%02u-%02u", y, m, d);
    else
        snprintf(buf, n, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(sec / 3600),
                 (int)(sec / 60 % 60), (int)(sec % 60));
}

void promo_time_format_cutoff(int64_t t, char *buf, size_t n)
{
    promo_time_format(t, promo_time_day(t) == t, buf, n);
}

int promo_time_parse_iso(const char *s, size_t n, int64_t *out)
{
    /* YYYY-MM-DD first: slashed and 8-digit forms are other readings, refused here */
    if (n < 10)
        return -1;
    for (int i = 0; i < 10; i++)
        if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return -1;
    return promo_time_parse(s, n, PROMO_DATE_ISO, out);
}

void promo_time_iso_hint(const char *s, char *buf, size_t n)
{
    buf[0] = '\0';
    int a = 0, b = 0, y = 0, k = 0;
    if (sscanf(s, "%d/%d/%d%n", &y, &a, &b, &k) == 3 && k > 0 && y > 999) {
        snprintf(buf, n, "write %04d-%02d-%02d", y, a, b);
    } else if (sscanf(s, "%d/%d/%d%n", &a, &b, &y, &k) == 3 && k > 0) {
        if (y < 100)
            y += 2000;
        int ok_dmy = a >= 1 && a <= 31 && b >= 1 && b <= 12;
        int ok_mdy = a >= 1 && a <= 12 && b >= 1 && b <= 31;
        if (ok_dmy && ok_mdy && a != b)
            snprintf(buf, n, "write %04d-%02d-%02d (day first) or %04d-%02d-%02d (month first)", y,
                     b, a, y, a, b);
        else if (ok_dmy)
            snprintf(buf, n, "write %04d-%02d-%02d", y, b, a);
        else if (ok_mdy)
            snprintf(buf, n, "write %04d-%02d-%02d", y, a, b);
    } else if (strlen(s) == 8 && sscanf(s, "%4d%2d%2d", &y, &a, &b) == 3) {
        snprintf(buf, n, "write %04d-%02d-%02d", y, a, b);
    }
    if (!buf[0])
        snprintf(buf, n, "write it as YYYY-MM-DD, e.g. 2024-12-31");
}
