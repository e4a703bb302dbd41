/* bench/campaign_speed: the campaign engine's speed over every customer of a workspace with an
 * uplift model (JSON lines on stdout; run by bench/campaign_speed.sh).
 *
 *   open            the forecaster: every customer's features + the model (once)
 *   fixed_cold      a fixed-mode campaign (PRODUCT at 10%, the best 50 by expected profit) on an
 *                   empty cache: one model call over every customer + the selection
 *   fixed_scored    the same again, every customer already scored: the selection alone
 *                   (profits + a partial selection over every customer + the forecast)
 *   surface_cold    optimize mode: the surface (0..50% x <= 200 counts) and its optimum on an
 *                   empty cache, the model called once per anchor (forecast.h)
 *   surface_warm    the same again: the model's scores kept (no model call), the figures of
 *                   each discount in the cache as far as its default 256 MiB hold them
 *   surface_every   the surface with anchors off: a model call per discount (the old way)
 * References measured in the same run: qsort of as many doubles as customers, and one pass
 * summing two double arrays of that length (the memory a selection must read).
 *   campaign_speed WS PRODUCT [reps] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/store.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* FNV-1a over the bytes of every cell and of the optimum: equal digests, equal surfaces bit for
 * bit (for checking a new surface path against the old one on the same world). */
static uint64_t surface_digest(const promo_surface *sf)
{
    uint64_t h = 1469598103934665603ull;
    size_t cells = sf->n_discounts * sf->n_targets;
    const double *m[6] = {sf->profit, sf->revenue, sf->conversions, sf->incremental_conversions,
                          sf->roi,    sf->spend};
    for (int k = 0; k < 6; k++) {
        const unsigned char *b = (const unsigned char *)m[k];
        for (size_t i = 0; i < cells * sizeof(double); i++)
            h = (h ^ b[i]) * 1099511628211ull;
    }
    const unsigned char *o = (const unsigned char *)&sf->optimum.figures;
    for (size_t i = 0; i < sizeof sf->optimum.figures; i++)
        h = (h ^ o[i]) * 1099511628211ull;
    for (size_t j = 0; j < sf->n_targets; j++)
        h = (h ^ sf->targets[j]) * 1099511628211ull;
    return h;
}

static void die(const char *what)
{
    fprintf(stderr, "campaign_speed: %s: %s\n", what, promo_last_error());
    exit(1);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[n / 2];
}

static void
line(const char *what, size_t n, int reps, double *t, double *c, size_t calls, const char *extra)
{
    double mn = t[0];
    for (int k = 1; k < reps; k++)
        mn = t[k] < mn ? t[k] : mn;
    double cmn = c[0];
    for (int k = 1; k < reps; k++)
        cmn = c[k] < cmn ? c[k] : cmn;
    /* wall_ms and cpu_ms: medians of the reps (cpu: the process's, every thread); min_*: the
     * least of them (the figure least disturbed by a loaded machine) */
    printf("{\"bench\":\"campaign_speed\",\"what\":\"%s\",\"customers\":%zu,\"reps\":%d,"
           "\"wall_ms\":%.3f,\"cpu_ms\":%.3f,\"min_wall_ms\":%.3f,\"min_cpu_ms\":%.3f,"
           "\"model_calls\":%zu%s}\n",
           what, n, reps, 1e3 * median(t, reps), 1e3 * median(c, reps), 1e3 * mn, 1e3 * cmn, calls,
           extra ? extra : "");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: campaign_speed WS PRODUCT [reps]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1 || reps > 50)
        reps = 3;
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    if (promo_store_open_read(argv[1], &s))
        die("open");
    double t0 = now(), c_open = cpu();
    if (promo_forecaster_open(s, 0, 0, &f))
        die("forecaster");
    double t_open = now() - t0;
    c_open = cpu() - c_open;
    size_t n = promo_forecaster_n_customers(f);
    line("open", n, 1, &t_open, &c_open, 0, NULL);
    double lo = 0, hi = 0;
    promo_forecaster_discount_range(f, &lo, &hi);
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = argv[2];
    r.discount_pct = 10;
    r.n_target = 50;
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = argv[2];
    double tc[50], tw[50], sc[50], sw[50], ctc[50], ctw[50], csc[50], csw[50], c0t;
    size_t calls_fixed = 0, calls_surface = 0, passes_surface = 0;
    char extra[256] = "";
    for (int k = 0; k < reps; k++) {
        promo_forecast *fc = NULL;
        promo_surface *sf = NULL;
        promo_forecaster_set_cache_bytes(f, 0); /* empties the cache and the score sets */
        promo_forecaster_set_cache_bytes(f, (size_t)256 << 20);
        size_t c0 = promo_forecaster_model_calls(f);
        c0t = cpu();
        t0 = now();
        if (promo_forecast_point(f, &r, &fc))
            die("point");
        tc[k] = now() - t0;
        ctc[k] = cpu() - c0t;
        calls_fixed = promo_forecaster_model_calls(f) - c0;
        promo_forecast_free(fc);
        c0t = cpu();
        t0 = now();
        if (promo_forecast_point(f, &r, &fc))
            die("point");
        tw[k] = now() - t0;
        ctw[k] = cpu() - c0t;
        promo_forecast_free(fc);
        promo_forecaster_set_cache_bytes(f, 0);
        promo_forecaster_set_cache_bytes(f, (size_t)256 << 20);
        c0 = promo_forecaster_model_calls(f);
        size_t p0 = promo_forecaster_model_passes(f);
        c0t = cpu();
        t0 = now();
        if (promo_forecast_surface(f, &sp, &sf))
            die("surface");
        sc[k] = now() - t0;
        csc[k] = cpu() - c0t;
        calls_surface = promo_forecaster_model_calls(f) - c0;
        passes_surface = promo_forecaster_model_passes(f) - p0;
        /* model_passes: outcome-model passes over every customer (a T-learner's arm is
         * predicted once per offer its trees tell apart, uplift_score.h) */
        snprintf(extra, sizeof extra,
                 ",\"model_passes\":%zu,\"optimum_discount_pct\":%g,\"optimum_target\":%zu,"
                 "\"optimum_profit\":%.2f,\"log_discounts\":\"%g-%g\",\"digest\":\"%016llx\"",
                 passes_surface, sf->optimum.discount_pct, sf->optimum.target,
                 sf->optimum.figures.incremental_profit, lo, hi,
                 (unsigned long long)surface_digest(sf));
        promo_surface_free(sf);
        c0t = cpu();
        t0 = now();
        if (promo_forecast_surface(f, &sp, &sf))
            die("surface");
        sw[k] = now() - t0;
        csw[k] = cpu() - c0t;
        promo_surface_free(sf);
    }
    line("fixed_cold", n, reps, tc, ctc, calls_fixed, NULL);
    line("fixed_scored", n, reps, tw, ctw, 0, NULL);
    line("surface_cold", n, reps, sc, csc, calls_surface, extra);
    line("surface_warm", n, reps, sw, csw, 0, NULL);
    if (getenv("EVERY")) { /* the old way, once: a model call per discount */
        promo_surface *sf = NULL;
        promo_forecaster_set_cache_bytes(f, 0);
        promo_forecaster_set_cache_bytes(f, (size_t)256 << 20);
        promo_forecaster_set_anchors(f, 0);
        size_t c0 = promo_forecaster_model_calls(f);
        double ce = cpu();
        t0 = now();
        if (promo_forecast_surface(f, &sp, &sf))
            die("surface");
        double te = now() - t0;
        ce = cpu() - ce;
        size_t calls = promo_forecaster_model_calls(f) - c0;
        snprintf(extra, sizeof extra,
                 ",\"optimum_discount_pct\":%g,\"optimum_target\":%zu,\"optimum_profit\":%.2f,"
                 "\"digest\":\"%016llx\"",
                 sf->optimum.discount_pct, sf->optimum.target,
                 sf->optimum.figures.incremental_profit, (unsigned long long)surface_digest(sf));
        promo_surface_free(sf);
        line("surface_every_discount", n, 1, &te, &ce, calls, extra);
    }
    promo_forecaster_free(f);
    promo_store_close(s);
    /* references: sort n doubles; read two arrays of n doubles */
    double *v = malloc((n ? n : 1) * sizeof *v), *w = malloc((n ? n : 1) * sizeof *w);
    if (!v || !w)
        return 1;
    double tq[50], tr[50], cq[50], cr[50], sink = 0;
    for (int k = 0; k < reps; k++) {
        uint64_t x = 88172645463325252ull + (uint64_t)k;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v[i] = (double)(x >> 11) / 9007199254740992.0 - 0.3;
            w[i] = v[i] * 0.5;
        }
        c0t = cpu();
        t0 = now();
        double acc = 0;
        for (size_t i = 0; i < n; i++)
            acc += v[i] * 0.7 - w[i];
        tr[k] = now() - t0;
        cr[k] = cpu() - c0t;
        sink += acc;
        c0t = cpu();
        t0 = now();
        qsort(v, n, sizeof *v, cmp_d);
        tq[k] = now() - t0;
        cq[k] = cpu() - c0t;
    }
    snprintf(extra, sizeof extra, ",\"reference\":true,\"sink\":%.3g", sink);
    line("ref_qsort_doubles", n, reps, tq, cq, 0, extra);
    line("ref_read_two_double_arrays", n, reps, tr, cr, 0, extra);
    free(v);
    free(w);
    return 0;
}
