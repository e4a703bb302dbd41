/* Tests of src/models/kmeans.c (k-means, silhouette, choice of K, standardisation) and of the
 * adjusted Rand index in src/eval/metrics.c: blobs recovered, Hamerly against a naive Lloyd
 * from the same seeding, thread-count independence, edge cases, input errors, silhouette
 * against a naive O(n^2) reference, ARI against hand-computed values. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/kmeans.h>
#include <promo/metrics.h>
#include <promo/rng.h>

#include "t.h"

/* n rows of d floats around k centers drawn in [-box, box]^d, normal noise of sd `sd`;
 * truth labels (may be NULL). box < 0: the centers are corners of [box, -box]^d instead.
 * Caller frees x. */
static float *blobs(size_t n, size_t d, int k, double box, double sd, uint64_t seed, int32_t *truth)
{
    float *x = malloc(n * d * sizeof *x);
    double *c = malloc((size_t)k * d * sizeof *c);
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    for (size_t j = 0; j < (size_t)k * d; j++) /* box < 0: corners of the cube, by bits */
        c[j] = box < 0 ? ((j / d) >> (j % d) & 1 ? box : -box)
                       : (2.0 * promo_rng_uniform(&r) - 1.0) * box;
    for (size_t i = 0; i < n; i++) {
        int j = (int)(i % (size_t)k);
        if (truth)
            truth[i] = j;
        for (size_t f = 0; f < d; f++)
            x[i * d + f] = (float)(c[(size_t)j * d + f] + sd * promo_rng_normal(&r));
    }
    free(c);
    return x;
}

static double d2(const float *a, const float *b, size_t d)
{
    double s = 0.0;
    for (size_t f = 0; f < d; f++) {
        double t = (double)a[f] - (double)b[f];
        s += t * t;
    }
    return s;
}

static void assign_naive(const float *x, size_t n, size_t d, const float *c, int k, uint32_t *lab)
{
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        for (int j = 0; j < k; j++) {
            double v = d2(x + i * d, c + (size_t)j * d, d);
            if (v < best) {
                best = v;
                lab[i] = (uint32_t)j;
            }
        }
    }
}

/* Plain Lloyd with scikit-learn's loop (strict convergence, tol on squared shifts, a final
 * assignment), double distances. Returns the iteration count; centers updated in place. */
static int lloyd_naive(const float *x,
                       size_t n,
                       size_t d,
                       int k,
                       float *c,
                       int max_iter,
                       double tol,
                       uint32_t *lab,
                       double *inertia)
{
    uint32_t *old = malloc(n * sizeof *old);
    double *sum = malloc((size_t)k * d * sizeof *sum), var = 0.0;
    size_t *cnt = malloc((size_t)k * sizeof *cnt);
    for (size_t f = 0; f < d; f++) {
        double m = 0.0, v = 0.0;
        for (size_t i = 0; i < n; i++)
            m += x[i * d + f];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            v += ((double)x[i * d + f] - m) * ((double)x[i * d + f] - m);
        var += v / (double)n;
    }
    tol *= var / (double)d;
    for (size_t i = 0; i < n; i++)
        old[i] = UINT32_MAX;
    int it, strict = 0;
    for (it = 0; it < max_iter; it++) {
        assign_naive(x, n, d, c, k, lab);
        memset(sum, 0, (size_t)k * d * sizeof *sum);
        memset(cnt, 0, (size_t)k * sizeof *cnt);
        for (size_t i = 0; i < n; i++) {
            cnt[lab[i]]++;
            for (size_t f = 0; f < d; f++)
                sum[lab[i] * d + f] += x[i * d + f];
        }
        double shift = 0.0;
        for (int j = 0; j < k; j++) {
            if (!cnt[j])
                continue;
            for (size_t f = 0; f < d; f++) {
                float nc = (float)(sum[(size_t)j * d + f] / (double)cnt[j]);
                double t = (double)nc - (double)c[(size_t)j * d + f];
                shift += t * t;
                c[(size_t)j * d + f] = nc;
            }
        }
        if (memcmp(old, lab, n * sizeof *lab) == 0) {
            strict = 1;
            it++;
            break;
        }
        if (shift <= tol) {
            it++;
            break;
        }
        memcpy(old, lab, n * sizeof *lab);
    }
    if (!strict)
        assign_naive(x, n, d, c, k, lab);
    *inertia = 0.0;
    for (size_t i = 0; i < n; i++)
        *inertia += d2(x + i * d, c + lab[i] * d, d);
    free(old);
    free(sum);
    free(cnt);
    return it;
}

static double ari_u32(const uint32_t *a, const int32_t *truth, size_t n)
{
    int32_t *l = malloc(n * sizeof *l);
    for (size_t i = 0; i < n; i++)
        l[i] = (int32_t)a[i];
    double r = NAN;
    T_OK(promo_adjusted_rand_index(l, truth, n, &r));
    free(l);
    return r;
}

T_TEST(kmeans_recovers_blobs)
{
    size_t n = 1500, d = 4;
    int32_t *truth = malloc(n * sizeof *truth);
    float *x = blobs(n, d, 5, 20.0, 0.5, 3, truth);
    promo_kmeans_params p = promo_kmeans_params_default();
    p.k = 5;
    promo_kmeans *m = NULL;
    T_OK(promo_kmeans_fit(&p, x, n, d, &m));
    T_ASSERT_NEAR(ari_u32(m->labels, truth, n), 1.0, 1e-12);
    T_ASSERT_EQ_INT(m->k, 5);
    T_ASSERT(m->n_iter >= 1 && m->n_iter <= p.max_iter);
    /* Inertia is the sum of squared distances to the returned centers. */
    double in = 0.0;
    for (size_t i = 0; i < n; i++)
        in += d2(x + i * d, m->centers + m->labels[i] * d, d);
    T_ASSERT_NEAR(m->inertia, in, 1e-9 * in);
    /* assign() gives the fit's labels back. */
    uint32_t *lab = malloc(n * sizeof *lab);
    T_OK(promo_kmeans_assign(m, x, n, d, lab));
    T_ASSERT(memcmp(lab, m->labels, n * sizeof *lab) == 0);
    free(lab);
    promo_kmeans_free(m);
    free(x);
    free(truth);
}

/* Overlapping blobs so Lloyd needs many iterations and the bounds do real work. */
static void check_against_naive(size_t n, size_t d, int k, int n_blobs, uint64_t seed)
{
    float *x = blobs(n, d, n_blobs, 3.0, 1.5, seed, NULL);
    promo_kmeans_params p = promo_kmeans_params_default();
    p.k = k;
    p.seed = seed;
    p.n_init = 1;
    p.tol = 1e-6;
    float *c = malloc((size_t)k * d * sizeof *c);
    T_OK(promo_kmeans_plusplus(&p, x, n, d, 0, c));
    promo_kmeans *m = NULL, *m2 = NULL;
    T_OK(promo_kmeans_fit(&p, x, n, d, &m));
    T_OK(promo_kmeans_fit_from(&p, x, n, d, c, &m2));
    uint32_t *lab = malloc(n * sizeof *lab);
    double inertia;
    int it = lloyd_naive(x, n, d, k, c, p.max_iter, p.tol, lab, &inertia);
    T_ASSERT_MSG(it >= 3, "only %d iterations: the test exercises too little", it);
    T_ASSERT_EQ_INT(m->n_iter, it);
    T_ASSERT_EQ_INT(m2->n_iter, it);
    T_ASSERT(memcmp(lab, m->labels, n * sizeof *lab) == 0);
    T_ASSERT(memcmp(lab, m2->labels, n * sizeof *lab) == 0);
    T_ASSERT_NEAR(m->inertia, inertia, 1e-6 * inertia);
    T_ASSERT_NEAR(m2->inertia, inertia, 1e-6 * inertia);
    for (size_t j = 0; j < (size_t)k * d; j++)
        T_ASSERT_NEAR(m->centers[j], c[j], 1e-5 * (1.0 + fabs(c[j])));
    free(lab);
    free(c);
    promo_kmeans_free(m);
    promo_kmeans_free(m2);
    free(x);
}

T_TEST(kmeans_hamerly_equals_naive_lloyd)
{
    check_against_naive(3000, 3, 6, 4, 11);
    check_against_naive(2500, 8, 10, 7, 12);
    check_against_naive(1200, 2, 3, 3, 13);
}

T_TEST(kmeans_same_at_1_and_2_threads)
{
    size_t n = 9000, d = 6; /* several row blocks */
    float *x = blobs(n, d, 8, 4.0, 1.0, 21, NULL);
    promo_kmeans_params p = promo_kmeans_params_default();
    p.k = 8;
    /* n_init 1: threads share each restart's rows; 3: restarts run side by side. */
    const int inits[] = {1, 3};
    for (int v = 0; v < 2; v++) {
        promo_kmeans *a = NULL, *b = NULL, *c = NULL;
        p.n_init = inits[v];
        p.n_threads = 1;
        T_OK(promo_kmeans_fit(&p, x, n, d, &a));
        p.n_threads = 2;
        T_OK(promo_kmeans_fit(&p, x, n, d, &b));
        p.n_threads = 3;
        T_OK(promo_kmeans_fit(&p, x, n, d, &c));
        const promo_kmeans *o[2] = {b, c};
        for (int t = 0; t < 2; t++) {
            T_ASSERT(memcmp(&a->inertia, &o[t]->inertia, sizeof(double)) == 0);
            T_ASSERT_EQ_INT(a->n_iter, o[t]->n_iter);
            T_ASSERT(memcmp(a->centers, o[t]->centers, 8 * d * sizeof(float)) == 0);
            T_ASSERT(memcmp(a->labels, o[t]->labels, n * sizeof(uint32_t)) == 0);
        }
        if (v == 1) {
            double s1, s2;
            T_OK(promo_silhouette(x, n, d, a->labels, 8, 500, 5, 1, &s1));
            T_OK(promo_silhouette(x, n, d, a->labels, 8, 500, 5, 2, &s2));
            T_ASSERT(memcmp(&s1, &s2, sizeof s1) == 0);
        }
        promo_kmeans_free(a);
        promo_kmeans_free(b);
        promo_kmeans_free(c);
    }
    free(x);
}

T_TEST(kmeans_k_1_and_k_n)
{
    size_t n = 40, d = 3;
    float *x = blobs(n, d, 4, 5.0, 1.0, 31, NULL);
    promo_kmeans_params p = promo_kmeans_params_default();
    p.k = 1;
    promo_kmeans *m = NULL;
    T_OK(promo_kmeans_fit(&p, x, n, d, &m));
    double in = 0.0;
    for (size_t f = 0; f < d; f++) {
        double mean = 0.0;
        for (size_t i = 0; i < n; i++)
            mean += x[i * d + f];
        mean /= (double)n;
        T_ASSERT_NEAR(m->centers[f], mean, 1e-5);
        for (size_t i = 0; i < n; i++)
            in += (x[i * d + f] - mean) * (x[i * d + f] - mean);
    }
    T_ASSERT_NEAR(m->inertia, in, 1e-6 * in);
    for (size_t i = 0; i < n; i++)
        T_ASSERT_EQ_INT(m->labels[i], 0);
    promo_kmeans_free(m);
    /* k = n: every row its own center, inertia 0, labels a permutation. */
    p.k = (int)n;
    T_OK(promo_kmeans_fit(&p, x, n, d, &m));
    T_ASSERT_NEAR(m->inertia, 0.0, 1e-12);
    int seen[40] = {0};
    for (size_t i = 0; i < n; i++)
        seen[m->labels[i]]++;
    for (size_t j = 0; j < n; j++)
        T_ASSERT_EQ_INT(seen[j], 1);
    promo_kmeans_free(m);
    free(x);
}

T_TEST(kmeans_duplicate_points)
{
    /* 30 rows of only 3 distinct points; k = 5 > 3 distinct and k = n. */
    size_t n = 30, d = 2;
    float x[60];
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = (float)(i % 3);
        x[2 * i + 1] = (float)(i % 3) * 2.0f;
    }
    promo_kmeans_params p = promo_kmeans_params_default();
    int ks[] = {2, 3, 5, 30};
    for (size_t t = 0; t < 4; t++) {
        p.k = ks[t];
        promo_kmeans *m = NULL;
        T_OK(promo_kmeans_fit(&p, x, n, d, &m));
        if (ks[t] >= 3)
            T_ASSERT_NEAR(m->inertia, 0.0, 1e-12);
        else
            T_ASSERT(m->inertia > 0.0);
        for (size_t i = 3; i < n; i++) /* equal rows share a label */
            T_ASSERT_EQ_INT(m->labels[i], m->labels[i % 3]);
        promo_kmeans_free(m);
    }
    /* All rows identical. */
    float y[20] = {0};
    p.k = 4;
    promo_kmeans *m = NULL;
    T_OK(promo_kmeans_fit(&p, y, 10, 2, &m));
    T_ASSERT_NEAR(m->inertia, 0.0, 0.0);
    promo_kmeans_free(m);
}

T_TEST(kmeans_empty_cluster_reseeded)
{
    size_t n = 600, d = 2;
    float *x = blobs(n, d, 3, 10.0, 0.5, 41, NULL);
    /* Three centers on the data, a fourth far away: its cluster starts empty and takes the
     * row farthest from its center. */
    float init[8] = {x[0], x[1], x[2], x[3], x[4], x[5], 1000.0f, 1000.0f};
    promo_kmeans_params p = promo_kmeans_params_default();
    p.k = 4;
    promo_kmeans *m = NULL;
    T_OK(promo_kmeans_fit_from(&p, x, n, d, init, &m));
    size_t cnt[4] = {0};
    for (size_t i = 0; i < n; i++)
        cnt[m->labels[i]]++;
    for (int j = 0; j < 4; j++)
        T_ASSERT_MSG(cnt[j] > 0, "cluster %d empty", j);
    T_ASSERT(fabsf(m->centers[6]) < 100.0f);
    promo_kmeans_free(m);
    free(x);
}

T_TEST(kmeans_input_errors)
{
    size_t n = 20, d = 2;
    float *x = blobs(n, d, 2, 5.0, 1.0, 51, NULL);
    promo_kmeans_params p = promo_kmeans_params_default();
    p.k = 2;
    promo_kmeans *m = NULL;
    x[7 * 2 + 1] = NAN;
    T_ASSERT_EQ_INT(promo_kmeans_fit(&p, x, n, d, &m), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "row 7 column 1");
    T_ASSERT(m == NULL);
    x[7 * 2 + 1] = INFINITY;
    T_ASSERT_EQ_INT(promo_kmeans_fit(&p, x, n, d, &m), PROMO_EINPUT);
    x[7 * 2 + 1] = 0.0f;
    promo_kmeans_params bad[7];
    for (int i = 0; i < 7; i++)
        bad[i] = p;
    bad[0].k = 0;
    bad[1].k = 21;
    bad[2].n_init = 0;
    bad[3].max_iter = 0;
    bad[4].tol = -1.0;
    bad[5].tol = NAN;
    bad[6].n_threads = -1;
    for (int i = 0; i < 7; i++)
        T_ASSERT_EQ_INT(promo_kmeans_fit(&bad[i], x, n, d, &m), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_kmeans_fit(NULL, x, n, d, &m), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_kmeans_fit(&p, NULL, n, d, &m), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_kmeans_fit(&p, x, n, 0, &m), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_kmeans_fit(&p, x, 0, d, &m), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_kmeans_fit(&p, x, n, d, NULL), PROMO_EUSAGE);
    T_OK(promo_kmeans_fit(&p, x, n, d, &m));
    uint32_t lab[20];
    T_ASSERT_EQ_INT(promo_kmeans_assign(m, x, n, 3, lab), PROMO_EUSAGE);
    x[3] = NAN;
    T_ASSERT_EQ_INT(promo_kmeans_assign(m, x, n, d, lab), PROMO_EINPUT);
    x[3] = 0.0f;
    lab[0] = 5;
    double s;
    T_ASSERT_EQ_INT(promo_silhouette(x, n, d, lab, 2, 0, 1, 0, &s), PROMO_EUSAGE);
    promo_kmeans_choice ch;
    T_ASSERT_EQ_INT(promo_kmeans_choose_k(&p, x, n, d, 3, 2, 0, &ch), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_kmeans_choose_k(&p, x, n, d, 1, 1, 0, &ch), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_kmeans_choose_k(&p, x, n, d, 2, 21, 0, &ch), PROMO_EUSAGE);
    promo_kmeans_free(m);
    free(x);
}

/* Naive silhouette on all rows: O(n^2), double. */
static double silhouette_naive(const float *x, size_t n, size_t d, const uint32_t *lab, int k)
{
    double tot = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = 0.0, b = INFINITY;
        size_t na = 0;
        for (int c = 0; c < k; c++) {
            double s = 0.0;
            size_t cnt = 0;
            for (size_t j = 0; j < n; j++)
                if (lab[j] == (uint32_t)c && j != i) {
                    s += sqrt(d2(x + i * d, x + j * d, d));
                    cnt++;
                }
            if ((uint32_t)c == lab[i]) {
                a = s;
                na = cnt;
            } else if (cnt > 0 && s / (double)cnt < b) {
                b = s / (double)cnt;
            }
        }
        if (na == 0)
            continue; /* singleton: 0 */
        a /= (double)na;
        tot += (b - a) / (a > b ? a : b);
    }
    return tot / (double)n;
}

T_TEST(kmeans_silhouette_matches_naive)
{
    size_t n = 90, d = 3;
    float *x = blobs(n, d, 3, 3.0, 1.0, 61, NULL);
    uint32_t lab[90];
    for (size_t i = 0; i < n; i++)
        lab[i] = (uint32_t)(i % 7 == 0 ? 3 : i % 3); /* cluster 3: a few rows */
    lab[5] = 4;                                      /* a singleton */
    double s, s_all, ref = silhouette_naive(x, n, d, lab, 5);
    T_OK(promo_silhouette(x, n, d, lab, 5, 0, 1, 0, &s));
    T_ASSERT_NEAR(s, ref, 1e-12);
    T_OK(promo_silhouette(x, n, d, lab, 5, n + 10, 1, 0, &s_all));
    T_ASSERT_NEAR(s_all, ref, 1e-12);
    /* A sample: the naive value over the sampled rows, which we recover by relabelling. */
    double s1, s2;
    T_OK(promo_silhouette(x, n, d, lab, 5, 40, 9, 0, &s1));
    T_OK(promo_silhouette(x, n, d, lab, 5, 40, 9, 2, &s2));
    T_ASSERT(s1 == s2);
    T_ASSERT(s1 >= -1.0 && s1 <= 1.0);
    /* One cluster only: undefined. */
    uint32_t one[90] = {0};
    T_OK(promo_silhouette(x, n, d, one, 1, 0, 1, 0, &s));
    T_ASSERT(isnan(s));
    free(x);
}

T_TEST(kmeans_choose_k_finds_blobs)
{
    size_t n = 800, d = 3;
    float *x = blobs(n, d, 4, -5.0, 0.8, 71, NULL);
    promo_kmeans_params p = promo_kmeans_params_default();
    p.n_init = 2;
    promo_kmeans_choice c;
    T_OK(promo_kmeans_choose_k(&p, x, n, d, 1, 7, 300, &c));
    T_ASSERT_EQ_INT(c.best_k, 4);
    T_ASSERT_EQ_INT(c.k_min, 1);
    T_ASSERT_EQ_INT(c.k_max, 7);
    T_ASSERT(isnan(c.silhouette[0]));
    for (int k = 2; k <= 7; k++)
        T_ASSERT(c.inertia[k - 1] <= c.inertia[k - 2] * (1.0 + 1e-9));
    T_ASSERT(c.silhouette[3] > 0.7);
    promo_kmeans_choice_free(&c);
    T_ASSERT(c.inertia == NULL);
    promo_kmeans_choice_free(NULL);
    free(x);
}

T_TEST(kmeans_standardize)
{
    /* Columns: 1,2,3,NaN (mean 2, sd sqrt(2/3)); constant 5; all NaN; with an infinity. */
    float x[16] = {1, 5, NAN, 0, 2, 5, NAN, 2, 3, 5, NAN, 4, NAN, 5, NAN, INFINITY};
    double mean[4], sd[4];
    promo_standardize(x, 4, 4, mean, sd);
    T_ASSERT_NEAR(mean[0], 2.0, 1e-12);
    T_ASSERT_NEAR(sd[0], sqrt(2.0 / 3.0), 1e-12);
    T_ASSERT_NEAR(x[0], -1.0 / sqrt(2.0 / 3.0), 1e-6);
    T_ASSERT_NEAR(x[4], 0.0, 0.0);
    T_ASSERT_NEAR(x[12], 0.0, 0.0); /* NaN -> mean -> 0 */
    T_ASSERT_NEAR(mean[1], 5.0, 0.0);
    T_ASSERT_NEAR(sd[1], 1.0, 0.0);
    T_ASSERT_NEAR(x[5], 0.0, 0.0);
    T_ASSERT_NEAR(mean[2], 0.0, 0.0);
    T_ASSERT_NEAR(sd[2], 1.0, 0.0);
    T_ASSERT_NEAR(x[2], 0.0, 0.0);
    T_ASSERT_NEAR(mean[3], 2.0, 1e-12);
    T_ASSERT_NEAR(x[15], 0.0, 0.0);
    /* Again, without outputs: the constant column stays 0, the first gets mean 0. */
    promo_standardize(x, 4, 4, NULL, NULL);
    T_ASSERT_NEAR(x[1] + x[5] + x[9] + x[13], 0.0, 0.0);
    T_ASSERT_NEAR(x[0] + x[4] + x[8] + x[12], 0.0, 1e-6);
}

T_TEST(ari_hand_computed)
{
    const int32_t a[] = {0, 0, 1, 1}, b[] = {1, 1, 0, 0}, c[] = {0, 0, 1, 2}, e[] = {0, 1, 0, 1};
    const int32_t one[] = {0, 0, 0, 0}, sing[] = {0, 1, 2, 3}, neg[] = {-1, -1, -1, -1};
    double r;
    T_OK(promo_adjusted_rand_index(a, a, 4, &r));
    T_ASSERT_NEAR(r, 1.0, 1e-15);
    T_OK(promo_adjusted_rand_index(a, b, 4, &r)); /* relabelled: still identical */
    T_ASSERT_NEAR(r, 1.0, 1e-15);
    /* Hand: pairs tp 2, fp 2, fn 0, tn 8 (ordered) -> 2 * (2*8 - 0) / (2*8 + 4*10) = 4/7. */
    T_OK(promo_adjusted_rand_index(c, a, 4, &r));
    T_ASSERT_NEAR(r, 4.0 / 7.0, 1e-15);
    T_OK(promo_adjusted_rand_index(a, c, 4, &r));
    T_ASSERT_NEAR(r, 4.0 / 7.0, 1e-15);
    T_OK(promo_adjusted_rand_index(a, e, 4, &r)); /* tp 0, fp 4, fn 4, tn 4 -> -0.5 */
    T_ASSERT_NEAR(r, -0.5, 1e-15);
    T_OK(promo_adjusted_rand_index(one, sing, 4, &r)); /* sklearn: 0 */
    T_ASSERT_NEAR(r, 0.0, 1e-15);
    T_OK(promo_adjusted_rand_index(one, one, 4, &r));
    T_ASSERT_NEAR(r, 1.0, 0.0);
    /* Negative labels are singletons: same partition as sing. */
    T_OK(promo_adjusted_rand_index(neg, sing, 4, &r));
    T_ASSERT_NEAR(r, 1.0, 0.0);
    T_OK(promo_adjusted_rand_index(neg, one, 4, &r));
    T_ASSERT_NEAR(r, 0.0, 1e-15);
    /* sklearn: adjusted_rand_score([0,0,0,1,1,1], [0,0,1,1,2,2]) = 0.24242424... (8/33). */
    const int32_t f[] = {0, 0, 0, 1, 1, 1}, g[] = {0, 0, 1, 1, 2, 2};
    T_OK(promo_adjusted_rand_index(f, g, 6, &r));
    T_ASSERT_NEAR(r, 8.0 / 33.0, 1e-15);
    T_ASSERT_EQ_INT(promo_adjusted_rand_index(NULL, a, 4, &r), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_adjusted_rand_index(a, a, 0, &r), PROMO_EUSAGE);
}

T_TEST(ari_permutation_invariant)
{
    size_t n = 500;
    int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    int32_t *a2 = malloc(n * sizeof *a2), *b2 = malloc(n * sizeof *b2);
    promo_rng r;
    promo_rng_init(&r, 5, 0);
    for (size_t i = 0; i < n; i++) {
        a[i] = (int32_t)promo_rng_below(&r, 6);
        b[i] = promo_rng_uniform(&r) < 0.7 ? a[i] : (int32_t)promo_rng_below(&r, 4);
    }
    double r1, r2, r3;
    T_OK(promo_adjusted_rand_index(a, b, n, &r1));
    T_ASSERT(r1 > 0.2 && r1 < 0.9);
    T_OK(promo_adjusted_rand_index(b, a, n, &r2)); /* symmetric */
    T_ASSERT_NEAR(r1, r2, 1e-12);
    /* Rename the labels (a bijection) and shuffle the items together. */
    size_t *perm = malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)promo_rng_below(&r, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        a2[i] = 1000 - 7 * a[perm[i]];
        b2[i] = b[perm[i]] * 3 + 100000;
    }
    T_OK(promo_adjusted_rand_index(a2, b2, n, &r3));
    T_ASSERT_NEAR(r1, r3, 1e-12);
    /* Independent labelings: about 0. */
    for (size_t i = 0; i < n; i++)
        b[i] = (int32_t)promo_rng_below(&r, 6);
    T_OK(promo_adjusted_rand_index(a, b, n, &r1));
    T_ASSERT(fabs(r1) < 0.05);
    free(a);
    free(b);
    free(a2);
    free(b2);
    free(perm);
}
