/* bench/uplift_forest: an uplift random forest on generated data, for bench/uplift_forest.sh.
 *   uplift_forest N D N_TREES THREADS SPLIT MAX_DEPTH MAX_FEATURES_COLS EFFECT
 * x ~ N(0, 1) float32 (n x d), arm ~ Bernoulli(1/2), y binary: P = 0.3 (+ 0.1 if treated and
 * x0 > 0 when EFFECT = 1; pure noise when 0, as in causalml issue #571's reproduction).
 * Prints one JSON line: fit and predict seconds, RSS before the fit and the high-water mark
 * (from /proc/self/status), the float matrix's bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/error.h>
#include <promo/rng.h>
#include <promo/uplift_tree.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0)
            v = atol(line + kl + 1);
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: uplift_forest N D N_TREES THREADS SPLIT MAX_DEPTH MF_COLS EFFECT\n");
        return 2;
    }
    size_t n = strtoull(argv[1], NULL, 10), d = strtoull(argv[2], NULL, 10);
    int n_trees = atoi(argv[3]), nt = atoi(argv[4]), depth = atoi(argv[6]);
    int mf = atoi(argv[7]), effect = atoi(argv[8]);
    promo_uplift_split split = PROMO_SPLIT_COUNT;
    for (int s = 0; s < PROMO_SPLIT_COUNT; s++)
        if (strcmp(argv[5], promo_uplift_split_name((promo_uplift_split)s)) == 0)
            split = (promo_uplift_split)s;
    float *x = malloc(n * d * sizeof *x), *y = malloc(n * sizeof *y);
    int32_t *arm = malloc(n * sizeof *arm);
    if (!x || !y || !arm)
        return 1;
    promo_rng r;
    promo_rng_init(&r, 2026, 0);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)promo_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        arm[i] = promo_rng_bernoulli(&r, 0.5);
        double p = 0.3 + (effect && arm[i] && x[i * d] > 0 ? 0.1 : 0.0);
        y[i] = (float)promo_rng_bernoulli(&r, p);
    }
    promo_uplift_data data = {.x = x, .n = n, .d = d, .arm = arm, .n_arms = 2, .y = y,
                              .binary = 1, .w = NULL};
    promo_uplift_tree_params p = promo_uplift_tree_params_default();
    p.split = split;
    p.n_trees = n_trees;
    p.n_threads = nt;
    p.max_depth = depth;
    p.max_features = mf > 0 ? (double)mf / (double)d : 0.0;
    long rss0 = status_kb("VmRSS:");
    double t0 = now();
    promo_uplift_forest *f = NULL;
    if (promo_uplift_forest_fit(&p, &data, &f)) {
        fprintf(stderr, "fit: %s\n", promo_last_error());
        return 1;
    }
    double t1 = now();
    float *e = malloc(n * sizeof *e);
    if (!e || promo_uplift_forest_predict(f, x, n, d, e)) {
        fprintf(stderr, "predict: %s\n", promo_last_error());
        return 1;
    }
    double t2 = now();
    double pehe = 0;
    for (size_t i = 0; i < n; i++) {
        double tau = effect && x[i * d] > 0 ? 0.1 : 0.0;
        pehe += (e[i] - tau) * (e[i] - tau);
    }
    long hwm = status_kb("VmHWM:");
    double xmb = (double)(n * d * sizeof(float)) / 1e6;
    printf("{\"bench\":\"uplift_forest\",\"n\":%zu,\"d\":%zu,\"n_trees\":%d,\"threads\":%d,"
           "\"split\":\"%s\",\"max_depth\":%d,\"max_features_cols\":%d,\"effect\":%d,"
           "\"fit_s\":%.3f,\"predict_s\":%.3f,\"pehe\":%.4f,\"x_mb\":%.1f,\"rss_before_fit_mb\":%.1f,"
           "\"peak_rss_mb\":%.1f,\"fit_peak_minus_before_mb\":%.1f,\"peak_over_x\":%.2f}\n",
           n, d, n_trees, nt, argv[5], depth, mf, effect, t1 - t0, t2 - t1, sqrt(pehe / (double)n),
           xmb, rss0 / 1024.0 * 1.048576, hwm / 1024.0 * 1.048576,
           (hwm - rss0) / 1024.0 * 1.048576, hwm * 1024.0 / 1e6 / xmb);
    promo_uplift_forest_free(f);
    free(e);
    free(x);
    free(y);
    free(arm);
    return 0;
}
