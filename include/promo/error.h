/* promo/error.h: status codes and the thread-local last-error message.
 *
 * Every fallible promo function returns an int: PROMO_OK (0) or a promo_status. On failure it
 * leaves a message for promo_last_error(), valid until the next promo call on the same thread.
 * Input errors carry their location: "FILE:LINE:COL: column 'quantity': expected a number,
 * got \"abc\"". The CLI maps PROMO_EINPUT/PROMO_EUSAGE to exit 2 and the rest to exit 1.
 */
#ifndef PROMO_ERROR_H
#define PROMO_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_status {
    PROMO_OK = 0,        /* success */
    PROMO_EINPUT = 1,    /* bad input data: malformed file, wrong type, unknown id */
    PROMO_EUSAGE = 2,    /* bad arguments or options from the caller */
    PROMO_ENOMEM = 3,    /* an allocation failed (or was made to fail in tests) */
    PROMO_EIO = 4,       /* reading or writing a file failed */
    PROMO_EDB = 5,       /* SQLite reported an error */
    PROMO_EVERSION = 6,  /* a workspace or model file of another version */
    PROMO_ENOTFOUND = 7, /* a named table, model, id or file does not exist */
    PROMO_EMODEL = 8,    /* a model library (XGBoost, GSL, BLAS) reported an error */
    PROMO_EINTERNAL = 9, /* a bug: an invariant did not hold */
    PROMO_STATUS_COUNT
} promo_status;

/* The message of the last failure on this thread ("" if none). Borrowed: valid until the next
 * promo call on this thread. */
const char *promo_last_error(void);

/* Set the message and return `code`, so callers can write `return promo_fail(PROMO_EINPUT,
 * "...")`. printf-style. */
int promo_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with "prefix: " (used to add a file name as an error travels
 * up). Returns `code` unchanged. */
int promo_fail_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear the message. */
void promo_clear_error(void);

/* A static name for a status code ("bad input", "out of memory", ...). */
const char *promo_strerror(int code);

/* Invariants: on in every build, never used on user input. Prints and aborts. */
#define PROMO_ASSERT(x)                                \
    do {                                               \
        if (!(x))                                      \
            promo_assert_fail(#x, __FILE__, __LINE__); \
    } while (0)
void promo_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif
#endif
