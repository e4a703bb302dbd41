/* bench/forecast_speed: the forecaster's speed on a workspace with an uplift model (JSON lines).
 *
 * Opens the forecaster once (features + model load, reported apart), then times for one product:
 *   surface_cold     the full surface (51 discounts x <= 200 counts), every (product, discount)
 *                    scored by the model for the first time (51 model calls)
 *   surface_warm     the same again: every discount in the cache, no model call
 *   point_cold       a point forecast (10%, N = 1% of the customers) with an empty cache
 *   point_warm       the same again, (product, 10%) cached: O(N)
 *   point_warm_all   N = every customer, cached
 * Each timed figure is the median of `reps` runs; a reference in the same run: one
 * promo_uplift_scorer_score of the same offer (a model call over every customer), which is what
 * a cache miss costs.
 *   forecast_speed WS PRODUCT [reps] */
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

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what)
{
    fprintf(stderr, "forecast_speed: %s: %s\n", what, promo_last_error());
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: forecast_speed WS PRODUCT [reps]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (reps < 1 || reps > 99)
        reps = 5;
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    if (promo_store_open_read(argv[1], &s))
        die("open");
    double t0 = now();
    if (promo_forecaster_open(s, 0, 0, &f))
        die("forecaster");
    double t_open = now() - t0;
    size_t n = promo_forecaster_n_customers(f);
    printf("{\"bench\":\"forecast_open\",\"customers\":%zu,\"seconds\":%.3f}\n", n, t_open);
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = argv[2];
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = argv[2];
    r.discount_pct = 10;
    r.n_target = n / 100 ? n / 100 : 1;
    static const char *const names[] = {"surface_cold", "surface_warm", "point_cold", "point_warm",
                                        "point_warm_all"};
    double times[5][99];
    double opt_profit = 0, opt_d = 0;
    size_t opt_n = 0;
    for (int k = 0; k < reps; k++) {
        promo_surface *sf = NULL;
        promo_forecast *fc = NULL;
        promo_forecaster_set_cache_bytes(f, 0); /* empties the cache */
        promo_forecaster_set_cache_bytes(f, (size_t)1 << 30);
        t0 = now();
        if (promo_forecast_surface(f, &sp, &sf))
            die("surface");
        times[0][k] = now() - t0;
        opt_profit = sf->optimum.figures.incremental_profit;
        opt_d = sf->optimum.discount_pct;
        opt_n = sf->optimum.target;
        promo_surface_free(sf);
        t0 = now();
        if (promo_forecast_surface(f, &sp, &sf))
            die("surface");
        times[1][k] = now() - t0;
        promo_surface_free(sf);
        promo_forecaster_set_cache_bytes(f, 0);
        promo_forecaster_set_cache_bytes(f, (size_t)1 << 30);
        t0 = now();
        if (promo_forecast_point(f, &r, &fc))
            die("point");
        times[2][k] = now() - t0;
        promo_forecast_free(fc);
        t0 = now();
        if (promo_forecast_point(f, &r, &fc))
            die("point");
        times[3][k] = now() - t0;
        promo_forecast_free(fc);
        size_t keep = r.n_target;
        r.n_target = 0;
        t0 = now();
        if (promo_forecast_point(f, &r, &fc))
            die("point");
        times[4][k] = now() - t0;
        promo_forecast_free(fc);
        r.n_target = keep;
    }
    for (int b = 0; b < 5; b++) {
        qsort(times[b], (size_t)reps, sizeof(double), cmp_d);
        printf("{\"bench\":\"forecast_%s\",\"customers\":%zu,\"n_target\":%zu,\"reps\":%d,"
               "\"median_ms\":%.3f,\"min_ms\":%.3f}\n",
               names[b], n,
               b == 4   ? n
               : b >= 2 ? r.n_target
                        : (size_t)0,
               reps, 1e3 * times[b][reps / 2], 1e3 * times[b][0]);
    }
    printf("{\"bench\":\"forecast_optimum\",\"product\":\"%s\",\"discount_pct\":%g,\"target\":%zu,"
           "\"incremental_profit\":%.2f}\n",
           argv[2], opt_d, opt_n, opt_profit);
    promo_forecaster_free(f);
    promo_store_close(s);
    return 0;
}
