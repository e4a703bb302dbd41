/* Leveled logging to stderr and a terminal-only progress bar. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <promo/log.h>

static promo_log_level current_level = PROMO_LOG_INFO;

void promo_log_set_level(promo_log_level level)
{
    current_level = level;
}

promo_log_level promo_log_get_level(void)
{
    return current_level;
}

void promo_log(promo_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level > current_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    /* One fprintf per line so lines from threads do not interleave mid-line. */
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (level == PROMO_LOG_INFO)
        fprintf(stderr, "%s\n", buf);
    else
        fprintf(stderr, "promo: %s: %s\n", names[level], buf);
}

double promo_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void human(char *buf, size_t n, uint64_t v)
{
    if (v >= 10000000)
        snprintf(buf, n, "%.1fM", (double)v / 1e6);
    else if (v >= 10000)
        snprintf(buf, n, "%.1fk", (double)v / 1e3);
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
}

static void draw(promo_progress *p, int final)
{
    enum { WIDTH = 30 };
    double frac = p->total ? (double)p->done / (double)p->total : 1.0;
    if (frac > 1.0)
        frac = 1.0;
    int fill = (int)(frac * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '=' : ' ';
    bar[WIDTH] = '\0';
    char d[32], t[32];
    human(d, sizeof d, p->done);
    human(t, sizeof t, p->total);
    fprintf(stderr, "\r%-12s [%s] %3d%% %s/%s %.1fs%s", p->label, bar, (int)(frac * 100.0), d, t,
            promo_now_s() - p->start_s, final ? "\n" : "");
    fflush(stderr);
}

void promo_progress_begin(promo_progress *p, const char *label, uint64_t total)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->start_s = promo_now_s();
    p->last_draw_s = 0.0;
    p->enabled = current_level >= PROMO_LOG_INFO && isatty(STDERR_FILENO);
}

void promo_progress_update(promo_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    double now = promo_now_s();
    if (now - p->last_draw_s < 0.1)
        return;
    p->last_draw_s = now;
    draw(p, 0);
}

void promo_progress_end(promo_progress *p)
{
    if (!p->enabled)
        return;
    p->done = p->total;
    draw(p, 1);
}
