/* promo/log.h: log levels and a progress bar.
 *
 * The library never owns stdout (liblinear's set_print_string_function): log lines go to
 * stderr, filtered by level (-q = errors only, default = info, -v = debug). The progress bar
 * draws only when stderr is a terminal and the level is at least info, so piped runs are quiet.
 */
#ifndef PROMO_LOG_H
#define PROMO_LOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_log_level {
    PROMO_LOG_ERROR = 0,
    PROMO_LOG_WARN = 1,
    PROMO_LOG_INFO = 2,
    PROMO_LOG_DEBUG = 3,
    PROMO_LOG_LEVEL_COUNT
} promo_log_level;

void promo_log_set_level(promo_log_level level);
promo_log_level promo_log_get_level(void);
void promo_log(promo_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define promo_error(...) promo_log(PROMO_LOG_ERROR, __VA_ARGS__)
#define promo_warn(...)  promo_log(PROMO_LOG_WARN, __VA_ARGS__)
#define promo_info(...)  promo_log(PROMO_LOG_INFO, __VA_ARGS__)
#define promo_debug(...) promo_log(PROMO_LOG_DEBUG, __VA_ARGS__)

/* A progress bar over `total` units of work ("label [=====     ] 52% 1.2M/2.3M 3s").
 * Updates are cheap and rate-limited (at most ~10 redraws a second); call from one thread. */
typedef struct promo_progress {
    const char *label;  /* shown before the bar; borrowed */
    uint64_t total;     /* units of work in all */
    uint64_t done;      /* units done so far */
    double start_s;     /* monotonic start time, seconds */
    double last_draw_s; /* when we last drew */
    int enabled;        /* 1 if stderr is a terminal and the level allows it */
} promo_progress;

void promo_progress_begin(promo_progress *p, const char *label, uint64_t total);
void promo_progress_update(promo_progress *p, uint64_t done);
void promo_progress_end(promo_progress *p);

/* Monotonic clock in seconds, for timing and benchmarks. */
double promo_now_s(void);

#ifdef __cplusplus
}
#endif
#endif
