/* bench/kmeans: promo_kmeans_fit on a float32 data file, timed; and the seeded generator of
 * that file. JSON lines on stdout.
 *
 *   kmeans_bench gen FILE n d k seed      blobs: k centers uniform in [-4, 4]^d, cluster
 *                                         sds 1.0..2.5, cluster sizes uneven (weights 1..3)
 *   kmeans_bench fit FILE n d k n_init threads [OUT_PREFIX]
 *                                         fit, print time/inertia/iterations; with OUT_PREFIX
 *                                         write OUT_PREFIX.labels (uint32) and .centers (f32)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/kmeans.h>
#include <promo/rng.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static int gen(const char *path, size_t n, size_t d, int k, uint64_t seed)
{
    double *c = malloc((size_t)k * d * sizeof *c), *sd = malloc((size_t)k * sizeof *sd);
    double *cum = malloc((size_t)k * sizeof *cum);
    float *row = malloc(d * sizeof *row);
    FILE *f = fopen(path, "wb");
    if (!c || !sd || !cum || !row || !f) {
        fprintf(stderr, "kmeans_bench gen: cannot write %s\n", path);
        return 1;
    }
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    double tot = 0.0;
    for (int j = 0; j < k; j++) {
        for (size_t t = 0; t < d; t++)
            c[(size_t)j * d + t] = (2.0 * promo_rng_uniform(&r) - 1.0) * 4.0;
        sd[j] = 1.0 + 1.5 * promo_rng_uniform(&r);
        tot += 1.0 + 2.0 * promo_rng_uniform(&r);
        cum[j] = tot;
    }
    for (size_t i = 0; i < n; i++) {
        double u = promo_rng_uniform(&r) * tot;
        int j = 0;
        while (j < k - 1 && cum[j] <= u)
            j++;
        for (size_t t = 0; t < d; t++)
            row[t] = (float)(c[(size_t)j * d + t] + sd[j] * promo_rng_normal(&r));
        if (fwrite(row, sizeof *row, d, f) != d) {
            fprintf(stderr, "kmeans_bench gen: write failed\n");
            return 1;
        }
    }
    if (fclose(f) != 0)
        return 1;
    printf("{\"bench\":\"kmeans\",\"what\":\"generate\",\"file\":\"%s\",\"n\":%zu,\"d\":%zu,"
           "\"blobs\":%d,\"seed\":%llu}\n",
           path, n, d, k, (unsigned long long)seed);
    free(c);
    free(sd);
    free(cum);
    free(row);
    return 0;
}

static int fit(const char *path, size_t n, size_t d, int k, int n_init, int nt, const char *out)
{
    float *x = malloc(n * d * sizeof *x);
    FILE *f = fopen(path, "rb");
    if (!x || !f || fread(x, sizeof *x, n * d, f) != n * d) {
        fprintf(stderr, "kmeans_bench fit: cannot read %zu x %zu floats from %s\n", n, d, path);
        return 1;
    }
    fclose(f);
    promo_kmeans_params p = promo_kmeans_params_default();
    p.k = k;
    p.n_init = n_init;
    p.n_threads = nt;
    promo_kmeans *m = NULL;
    double t0 = now_s(), c0 = cpu_s();
    int rc = promo_kmeans_fit(&p, x, n, d, &m);
    double t = now_s() - t0, c = cpu_s() - c0;
    if (rc) {
        fprintf(stderr, "kmeans_bench fit: %s\n", promo_last_error());
        return 1;
    }
    printf("{\"bench\":\"kmeans\",\"impl\":\"promo\",\"n\":%zu,\"d\":%zu,\"k\":%d,\"n_init\":%d,"
           "\"threads\":%d,\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"inertia\":%.6e,"
           "\"n_iter_kept\":%d}\n",
           n, d, k, n_init, nt, t, c, m->inertia, m->n_iter);
    fflush(stdout);
    if (out) {
        char pth[4096];
        snprintf(pth, sizeof pth, "%s.labels", out);
        FILE *g = fopen(pth, "wb");
        if (!g || fwrite(m->labels, sizeof(uint32_t), n, g) != n || fclose(g) != 0)
            return 1;
        snprintf(pth, sizeof pth, "%s.centers", out);
        g = fopen(pth, "wb");
        if (!g || fwrite(m->centers, sizeof(float), (size_t)k * d, g) != (size_t)k * d ||
            fclose(g) != 0)
            return 1;
    }
    if (out) {
        /* The same Lloyd from a fixed seeding on both sides: promo's restart-0 k-means++
         * centers, written for scikit-learn's KMeans(init=array, n_init=1). */
        float *seeds = malloc((size_t)k * d * sizeof *seeds);
        promo_kmeans *s = NULL;
        char pth[4096];
        snprintf(pth, sizeof pth, "%s.seeds", out);
        FILE *g = fopen(pth, "wb");
        if (!seeds || promo_kmeans_plusplus(&p, x, n, d, 0, seeds) || !g ||
            fwrite(seeds, sizeof(float), (size_t)k * d, g) != (size_t)k * d || fclose(g) != 0)
            return 1;
        /* Best of 3 (both sides): one run is short enough for a busy machine to skew it. */
        double best_t = INFINITY;
        for (int rep = 0; rep < 3; rep++) {
            promo_kmeans_free(s);
            s = NULL;
            t0 = now_s();
            if (promo_kmeans_fit_from(&p, x, n, d, seeds, &s))
                return 1;
            double tt = now_s() - t0;
            best_t = tt < best_t ? tt : best_t;
        }
        printf("{\"bench\":\"kmeans\",\"impl\":\"promo\",\"what\":\"lloyd_from_promo_seeds\","
               "\"seconds_best_of_3\":%.3f,\"inertia\":%.9e,\"n_iter\":%d,"
               "\"ms_per_iter\":%.1f}\n",
               best_t, s->inertia, s->n_iter, 1e3 * best_t / s->n_iter);
        promo_kmeans_free(s);
        free(seeds);
    }
    promo_kmeans_free(m);
    free(x);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                   atoi(argv[5]), strtoull(argv[6], NULL, 10));
    if (argc >= 8 && strcmp(argv[1], "fit") == 0)
        return fit(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                   atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), argc > 8 ? argv[8] : NULL);
    fprintf(stderr, "usage: kmeans_bench gen FILE n d k seed | fit FILE n d k n_init threads "
                    "[OUT_PREFIX]\n");
    return 2;
}
