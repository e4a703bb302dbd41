/* bench/als_speed: implicit ALS speed on a generated matrix (issue 13: 100,000 users x 20,000
 * items x 5,000,000 non-zeros, 64 factors, 3 CG steps), beside the machine's cblas_sgemm peak
 * measured in the same run. JSON lines on stdout.
 *   als_speed gen FILE users items nnz seed     write the matrix (COO: int32 rows, int32 cols,
 *                                              float32 values, each nnz long, rows sorted)
 *   als_speed run FILE users items nnz factors cg_steps epochs threads
 * The matrix: item popularity Zipf-like (item j drawn with weight 1 / (j + 10)^0.8), user
 * activity likewise, values 1..3 orders; duplicates merged, so nnz is approximate.
 * FLOPs per epoch are counted from the algorithm (als.c): per half-sweep, the Gram matrix
 * (2 n_other k^2) and per row (cg_steps + 1) x (2 k^2 for the k x k product + 4 k per
 * non-zero) plus 10 k per CG step for the vector updates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/promo.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

/* Inverse-CDF draw from weights w_j = 1 / (j + 10)^0.8 through a cumulative table. */
static uint32_t draw(const double *cdf, uint32_t n, double u)
{
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double *zipf_cdf(uint32_t n)
{
    double *c = malloc(n * sizeof *c), s = 0;
    for (uint32_t j = 0; j < n; j++)
        c[j] = (s += pow(j + 10.0, -0.8));
    for (uint32_t j = 0; j < n; j++)
        c[j] /= s;
    return c;
}

static int gen(const char *path, uint32_t nu, uint32_t ni, uint64_t nnz, uint64_t seed)
{
    double *cu = zipf_cdf(nu), *ci = zipf_cdf(ni);
    uint64_t *pairs = malloc(nnz * sizeof *pairs);
    promo_rng g;
    promo_rng_init(&g, seed, 0);
    /* user ids permuted so that activity is not sorted by id */
    for (uint64_t e = 0; e < nnz; e++) {
        uint32_t u = draw(cu, nu, promo_rng_uniform(&g)), i = draw(ci, ni, promo_rng_uniform(&g));
        u = (uint32_t)(((uint64_t)u * 2654435761ULL) % nu);
        i = (uint32_t)(((uint64_t)i * 40503ULL) % ni);
        pairs[e] = ((uint64_t)u << 32) | i;
    }
    qsort(pairs, nnz, sizeof *pairs, cmp_pair);
    int32_t *r = malloc(nnz * 4), *c = malloc(nnz * 4);
    float *v = malloc(nnz * 4);
    uint64_t n = 0;
    for (uint64_t e = 0; e < nnz; e++) {
        if (n && pairs[e] == ((uint64_t)r[n - 1] << 32 | (uint32_t)c[n - 1])) {
            if (v[n - 1] < 3)
                v[n - 1] += 1;
            continue;
        }
        r[n] = (int32_t)(pairs[e] >> 32);
        c[n] = (int32_t)(pairs[e] & 0xffffffffu);
        v[n++] = 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    fwrite(&n, 8, 1, f);
    fwrite(r, 4, n, f);
    fwrite(c, 4, n, f);
    fwrite(v, 4, n, f);
    fclose(f);
    fprintf(stderr, "als_speed: wrote %llu non-zeros (%llu drawn) to %s\n", (unsigned long long)n,
            (unsigned long long)nnz, path);
    free(pairs);
    free(r);
    free(c);
    free(v);
    free(cu);
    free(ci);
    return 0;
}

/* OpenBLAS's Fortran-interface SGEMM (column-major). Called instead of cblas_sgemm because
 * promo's link line (pkg-config gsl gives -lgslcblas before -lopenblas) resolves cblas_* to
 * GSL's reference CBLAS, two orders of magnitude slower; sgemm_ exists only in OpenBLAS. */
extern void sgemm_(const char *ta,
                   const char *tb,
                   const int *m,
                   const int *n,
                   const int *k,
                   const float *alpha,
                   const float *a,
                   const int *lda,
                   const float *b,
                   const int *ldb,
                   const float *beta,
                   float *c,
                   const int *ldc);

extern void openblas_set_num_threads(int n);

/* OpenBLAS SGEMM of n x n matrices, best of 5 (GFLOP/s); *per_cpu: the best GFLOP per
 * CPU-second of the process (all threads), a figure the other processes' load moves less. */
static double sgemm_peak(int n, double *per_cpu)
{
    float *a = malloc((size_t)n * n * 4), *b = malloc((size_t)n * n * 4),
          *c = malloc((size_t)n * n * 4);
    for (size_t q = 0; q < (size_t)n * n; q++) {
        a[q] = (float)(q % 7) * 0.1f;
        b[q] = (float)(q % 5) * 0.1f;
    }
    double best = 0;
    *per_cpu = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s(), c0 = cpu_s();
        float one = 1.0f, zero = 0.0f;
        sgemm_("N", "N", &n, &n, &n, &one, a, &n, b, &n, &zero, c, &n);
        double g = 2.0 * n * (double)n * n / (now_s() - t0) / 1e9;
        double gc = 2.0 * n * (double)n * n / (cpu_s() - c0) / 1e9;
        if (g > best)
            best = g;
        if (gc > *per_cpu)
            *per_cpu = gc;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], (uint32_t)atol(argv[3]), (uint32_t)atol(argv[4]),
                   strtoull(argv[5], NULL, 10), strtoull(argv[6], NULL, 10));
    if (argc < 10 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: als_speed gen FILE users items nnz seed | run FILE users items "
                        "nnz factors cg_steps epochs threads\n");
        return 2;
    }
    uint32_t nu = (uint32_t)atol(argv[3]), ni = (uint32_t)atol(argv[4]);
    uint32_t k = (uint32_t)atoi(argv[6]), cg = (uint32_t)atoi(argv[7]),
             epochs = (uint32_t)atoi(argv[8]);
    int nt = atoi(argv[9]);
    FILE *f = fopen(argv[2], "rb");
    uint64_t n = 0;
    if (!f || fread(&n, 8, 1, f) != 1)
        return 1;
    int32_t *r = malloc(n * 4), *c = malloc(n * 4);
    float *v = malloc(n * 4);
    if (fread(r, 4, n, f) != n || fread(c, 4, n, f) != n || fread(v, 4, n, f) != n)
        return 1;
    fclose(f);
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = nu;
    m.n_cols = ni;
    m.nnz = n;
    m.row_ptr = promo_calloc(nu + 1, 8);
    m.col_idx = promo_mallocn(n, 4);
    m.values = promo_mallocn(n, 4);
    for (uint64_t e = 0; e < n; e++) {
        m.row_ptr[r[e] + 1]++;
        m.col_idx[e] = (uint32_t)c[e];
        m.values[e] = v[e];
    }
    for (uint32_t u = 0; u < nu; u++)
        m.row_ptr[u + 1] += m.row_ptr[u];
    free(r);
    free(c);
    free(v);
    promo_rec_data d;
    if (promo_rec_data_from_csr(&m, &d)) {
        fprintf(stderr, "%s\n", promo_last_error());
        return 1;
    }
    double load = 0;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf", &load) != 1)
            load = -1;
        fclose(la);
    }
    openblas_set_num_threads(nt);
    double peak_cpu = 0, peak = sgemm_peak(2000, &peak_cpu);
    promo_rec_params p = promo_rec_params_default();
    p.factors = k;
    p.cg_steps = cg;
    p.n_threads = nt;
    /* per-epoch time = (t(1 + epochs) - t(1)) / epochs: setup (transpose, confidences, init)
     * is paid once in both and cancels */
    double t[2], tc[2];
    for (int s = 0; s < 2; s++) {
        p.iterations = s ? 1 + epochs : 1;
        promo_rec_model *mod = NULL;
        double t0 = now_s(), c0 = cpu_s();
        if (promo_als_fit(&d, &p, &mod)) {
            fprintf(stderr, "%s\n", promo_last_error());
            return 1;
        }
        t[s] = now_s() - t0;
        tc[s] = cpu_s() - c0;
        promo_rec_model_free(mod);
    }
    double per_epoch = (t[1] - t[0]) / epochs;
    double kk = (double)k * k, steps = cg + 1.0;
    double flop = 2 * (double)ni * kk + nu * steps * 2 * kk + (double)n * steps * 4 * k +
                  nu * (double)cg * 10 * k + 2 * (double)nu * kk + ni * steps * 2 * kk +
                  (double)n * steps * 4 * k + ni * (double)cg * 10 * k;
    printf("{\"bench\": \"als_speed\", \"impl\": \"promo\", \"users\": %u, \"items\": %u, "
           "\"nnz\": %llu, \"factors\": %u, \"cg_steps\": %u, \"threads\": %d, "
           "\"epochs_timed\": %u, \"seconds_per_epoch\": %.4f, \"gflop_per_epoch\": %.2f, "
           "\"gflops\": %.2f, \"sgemm_peak_gflops\": %.1f, \"share_of_peak\": %.3f, "
           "\"setup_plus_one_epoch_s\": %.3f, \"cpu_seconds_per_epoch\": %.4f, "
           "\"gflops_per_cpu_second\": %.2f, \"sgemm_gflops_per_cpu_second\": %.2f, "
           "\"share_of_peak_per_cpu_second\": %.3f, \"load_before\": %.2f}\n",
           nu, ni, (unsigned long long)n, k, cg, nt, epochs, per_epoch, flop / 1e9,
           flop / per_epoch / 1e9, peak, flop / per_epoch / 1e9 / peak, t[0],
           (tc[1] - tc[0]) / epochs, flop / ((tc[1] - tc[0]) / epochs) / 1e9, peak_cpu,
           flop / ((tc[1] - tc[0]) / epochs) / 1e9 / peak_cpu, load);
    promo_rec_data_free(&d);
    return 0;
}
