/* promo/timeutil.h: timestamps as int64 seconds since 1970-01-01 00:00:00, wall-clock.
 *
 * Retail data is recorded in the store's local time and carries no zone; promo keeps that wall
 * clock as if it were UTC (no DST shifts), which keeps weekdays and hours what the retailer saw.
 * An explicit offset ("+05:30", "Z") is applied, converting to UTC wall-clock.
 */
#ifndef PROMO_TIMEUTIL_H
#define PROMO_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROMO_SECONDS_PER_DAY 86400

typedef enum promo_date_order {
    PROMO_DATE_ISO = 0, /* YYYY-MM-DD[ T]HH:MM[:SS[.fff]][Z|+hh:mm] */
    PROMO_DATE_DMY = 1, /* dd/mm/yyyy [hh:mm[:ss]] */
    PROMO_DATE_MDY = 2, /* m/d/yyyy [h:mm[:ss]] (the UCI Online Retail xlsx export) */
    PROMO_DATE_ORDER_COUNT
} promo_date_order;

/* Parse s[0..n) as a timestamp. ISO is always accepted; slashed dates use `order`
 * (PROMO_DATE_ISO for slashed input means: day-first unless the first field exceeds 12).
 * Also accepts YYYYMMDD (8 digits). Returns 0 and sets *out, or -1 if s is not a valid date
 * (checks month lengths and leap years). Thread-safe, no locale. */
int promo_time_parse(const char *s, size_t n, promo_date_order order, int64_t *out);

/* Strict ISO 8601 as typed on the command line: YYYY-MM-DD, optionally followed by
 * [T ]HH:MM[:SS][Z|+hh:mm]. Slashed and 8-digit dates are refused (-1): 11/09/2010 is not
 * guessed. */
int promo_time_parse_iso(const char *s, size_t n, int64_t *out);
/* For a refused date s, the ISO form(s) it could mean, as "write 2010-11-09 ..." in buf. */
void promo_time_iso_hint(const char *s, char *buf, size_t n);

/* Days since 1970-01-01 for a civil date (proleptic Gregorian), and back. */
int64_t promo_days_from_civil(int y, unsigned m, unsigned d);
void promo_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

/* 0 = Monday .. 6 = Sunday. */
int promo_time_weekday(int64_t t);
int promo_time_hour(int64_t t);
/* Floor to the day (00:00:00). */
int64_t promo_time_day(int64_t t);

/* Write "YYYY-MM-DDTHH:MM:SS" (or "YYYY-MM-DD" when date_only) into buf (>= 20 bytes). */
void promo_time_format(int64_t t, int date_only, char *buf, size_t n);
/* A cutoff (--as-of) as the user can pass it back: "YYYY-MM-DD" at midnight, the full
 * "YYYY-MM-DDTHH:MM:SS" otherwise (a cutoff inside a day must not read as the day before). */
void promo_time_format_cutoff(int64_t t, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
