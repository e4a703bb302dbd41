/* Thread-local last-error message (XGBoost's XGBGetLastError, SQLite's sqlite3_errmsg): one
 * buffer per thread so OpenMP workers and HTTP handler threads never overwrite each other. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/error.h>

#define MSG_BYTES 4096

static _Thread_local char last_msg[MSG_BYTES];

const char *promo_last_error(void)
{
    return last_msg;
}

void promo_clear_error(void)
{
    last_msg[0] = '\0';
}

int promo_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return code;
}

int promo_fail_prefix(int code, const char *fmt, ...)
{
    char old[MSG_BYTES];
    memcpy(old, last_msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof last_msg - 2)
        return code;
    /* Append ": old" after the prefix, truncating the old message if it must. */
    size_t at = (size_t)n;
    last_msg[at++] = ':';
    last_msg[at++] = ' ';
    size_t room = sizeof last_msg - at - 1;
    size_t len = strnlen(old, room);
    memcpy(last_msg + at, old, len);
    last_msg[at + len] = '\0';
    return code;
}

const char *promo_strerror(int code)
{
    switch (code) {
    case PROMO_OK:
        return "ok";
    case PROMO_EINPUT:
        return "bad input";
    case PROMO_EUSAGE:
        return "bad usage";
    case PROMO_ENOMEM:
        return "out of memory";
    case PROMO_EIO:
        return "I/O error";
    case PROMO_EDB:
        return "database error";
    case PROMO_EVERSION:
        return "version mismatch";
    case PROMO_ENOTFOUND:
        return "not found";
    case PROMO_EMODEL:
        return "model library error";
    case PROMO_EINTERNAL:
        return "internal error";
    default:
        return "unknown status";
    }
}

void promo_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "promo: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
