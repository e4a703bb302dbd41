/* Tests of src/models/hdbscan*.c: known structure (blobs with noise, varying densities, two
 * moons, concentric rings) recovered with ARI near 1; Prim and Boruvka against each other and
 * against a naive O(n^2)-memory reference (full mutual-reachability matrix + Prim); thread
 * count independence; duplicates; tiny inputs; refused inputs; allocation failures. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hdbscan.h>
#include <promo/rng.h>

#include "t.h"

/* ---- data ---- */

typedef struct ds {
    float *x;
    int32_t *truth; /* -1 = generated as noise */
    size_t n, d;
} ds;

static void ds_alloc(ds *s, size_t n, size_t d)
{
    s->x = promo_mallocn(n * d, sizeof *s->x);
    s->truth = promo_mallocn(n, sizeof *s->truth);
    s->n = n;
    s->d = d;
    T_ASSERT(s->x && s->truth);
}

static void ds_free(ds *s)
{
    promo_free(s->x);
    promo_free(s->truth);
}

/* k Gaussian blobs of `per` points (sd sds[c]; centres spacing apart along the first axis)
 * and n_noise uniform points over [-spacing, spacing * k]^d. */
static void make_blobs(ds *s,
                       uint64_t seed,
                       size_t d,
                       int k,
                       size_t per,
                       const double *sds,
                       double spacing,
                       size_t n_noise)
{
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    ds_alloc(s, (size_t)k * per + n_noise, d);
    size_t i = 0;
    for (int c = 0; c < k; c++) {
        double centre[16];
        centre[0] = spacing * c;
        for (size_t j = 1; j < d; j++)
            centre[j] = 0.5 * spacing * (double)(((size_t)c * (j + 1)) % 3);
        for (size_t p = 0; p < per; p++, i++) {
            for (size_t j = 0; j < d; j++)
                s->x[i * d + j] = (float)(centre[j] + sds[c] * promo_rng_normal(&r));
            s->truth[i] = c;
        }
    }
    double lo = -spacing, hi = spacing * k;
    for (size_t p = 0; p < n_noise; p++, i++) {
        for (size_t j = 0; j < d; j++)
            s->x[i * d + j] = (float)(lo + (hi - lo) * promo_rng_uniform(&r));
        s->truth[i] = -1;
    }
}

/* Two interleaved half circles (scikit-learn's make_moons) with Gaussian jitter. */
static void make_moons(ds *s, uint64_t seed, size_t per, double jitter)
{
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    ds_alloc(s, 2 * per, 2);
    for (size_t i = 0; i < 2 * per; i++) {
        int c = i >= per;
        double t = M_PI * (double)(i % per) / (double)(per - 1);
        double px = c ? 1.0 - cos(t) : cos(t), py = c ? 0.5 - sin(t) : sin(t);
        s->x[2 * i] = (float)(px + jitter * promo_rng_normal(&r));
        s->x[2 * i + 1] = (float)(py + jitter * promo_rng_normal(&r));
        s->truth[i] = c;
    }
}

/* Concentric rings of radius 1 and 3. */
static void make_rings(ds *s, uint64_t seed, size_t per, double jitter)
{
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    ds_alloc(s, 2 * per, 2);
    for (size_t i = 0; i < 2 * per; i++) {
        int c = i >= per;
        double t = 2.0 * M_PI * promo_rng_uniform(&r), rad = c ? 3.0 : 1.0;
        s->x[2 * i] = (float)(rad * cos(t) + jitter * promo_rng_normal(&r));
        s->x[2 * i + 1] = (float)(rad * sin(t) + jitter * promo_rng_normal(&r));
        s->truth[i] = c;
    }
}

/* ---- adjusted Rand index (a label < 0 is its own singleton) ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double sum_pairs_of_runs(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    double s = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j] == v[i])
            j++;
        double c = (double)(j - i);
        s += c * (c - 1.0) / 2.0;
        i = j;
    }
    return s;
}

/* ARI of a and b over the items where mask is NULL or mask[i] >= 0. */
static double ari(const int32_t *a, const int32_t *b, size_t n, const int32_t *mask)
{
    uint64_t *va = promo_mallocn(n, sizeof *va), *vb = promo_mallocn(n, sizeof *vb);
    uint64_t *vab = promo_mallocn(n, sizeof *vab);
    T_ASSERT(va && vb && vab);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && mask[i] < 0)
            continue;
        uint64_t la = a[i] < 0 ? (1ull << 31) + i : (uint64_t)a[i];
        uint64_t lb = b[i] < 0 ? (1ull << 31) + i : (uint64_t)b[i];
        va[m] = la;
        vb[m] = lb;
        vab[m] = la << 32 | lb;
        m++;
    }
    double sa = sum_pairs_of_runs(va, m), sb = sum_pairs_of_runs(vb, m);
    double sab = sum_pairs_of_runs(vab, m), tot = (double)m * ((double)m - 1.0) / 2.0;
    promo_free(va);
    promo_free(vb);
    promo_free(vab);
    double expected = sa * sb / tot, maxi = 0.5 * (sa + sb);
    if (maxi == expected)
        return 1.0;
    return (sab - expected) / (maxi - expected);
}

T_TEST(hdbscan_test_ari_helper)
{
    int32_t a[6] = {0, 0, 1, 1, 2, 2}, b[6] = {5, 5, 3, 3, 9, 9}, c[6] = {0, 1, 0, 1, 0, 1};
    T_ASSERT_NEAR(ari(a, b, 6, NULL), 1.0, 1e-12);
    T_ASSERT(ari(a, c, 6, NULL) < 0.0);
}

/* ---- the naive reference: full matrix of mutual-reachability distances, Prim ---- */

static double naive_mst_weight(const float *x, size_t n, size_t d, size_t k)
{
    double *dm = promo_mallocn(n * n, sizeof *dm), *row = promo_mallocn(n, sizeof *row);
    double *core = promo_mallocn(n, sizeof *core), *best = promo_mallocn(n, sizeof *best);
    unsigned char *in = promo_calloc(n, 1);
    T_ASSERT(dm && row && core && best && in);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t t = 0; t < d; t++) {
                double u = (double)x[i * d + t] - (double)x[j * d + t];
                s += u * u;
            }
            dm[i * n + j] = sqrt(s);
        }
    for (size_t i = 0; i < n; i++) {
        memcpy(row, dm + i * n, n * sizeof *row);
        /* k-th smallest by selection sort of the first k (n is small) */
        for (size_t a = 0; a < k; a++)
            for (size_t b = a + 1; b < n; b++)
                if (row[b] < row[a]) {
                    double t = row[a];
                    row[a] = row[b];
                    row[b] = t;
                }
        core[i] = row[k - 1];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double w = dm[i * n + j];
            if (core[i] > w)
                w = core[i];
            if (core[j] > w)
                w = core[j];
            dm[i * n + j] = w;
        }
    for (size_t i = 0; i < n; i++)
        best[i] = INFINITY;
    double total = 0.0;
    size_t cur = 0;
    in[0] = 1;
    for (size_t e = 0; e + 1 < n; e++) {
        size_t next = n;
        for (size_t j = 0; j < n; j++) {
            if (in[j])
                continue;
            if (dm[cur * n + j] < best[j])
                best[j] = dm[cur * n + j];
            if (next == n || best[j] < best[next])
                next = j;
        }
        total += best[next];
        in[next] = 1;
        cur = next;
    }
    promo_free(dm);
    promo_free(row);
    promo_free(core);
    promo_free(best);
    promo_free(in);
    return total;
}

static promo_hdbscan *fit(const ds *s, size_t mcs, size_t ms, int alg, int threads)
{
    promo_hdbscan_params p = promo_hdbscan_params_default();
    p.min_cluster_size = mcs;
    p.min_samples = ms;
    p.algorithm = alg;
    p.n_threads = threads;
    promo_hdbscan *h = NULL;
    T_OK(promo_hdbscan_fit(&p, s->x, s->n, s->d, &h));
    T_ASSERT(h != NULL && h->n == s->n);
    for (size_t i = 0; i < s->n; i++) {
        T_ASSERT(h->labels[i] >= -1 && h->labels[i] < h->n_clusters);
        T_ASSERT(h->probabilities[i] >= 0.0f && h->probabilities[i] <= 1.0f);
        T_ASSERT(h->outlier_scores[i] >= 0.0f && h->outlier_scores[i] <= 1.0f);
        T_ASSERT(h->labels[i] >= 0 || h->probabilities[i] == 0.0f);
    }
    return h;
}

static void assert_same(const promo_hdbscan *a, const promo_hdbscan *b)
{
    T_ASSERT_EQ_INT(a->n, b->n);
    T_ASSERT_EQ_INT(a->n_clusters, b->n_clusters);
    T_ASSERT(a->mst_weight == b->mst_weight);
    T_ASSERT(memcmp(a->labels, b->labels, a->n * sizeof *a->labels) == 0);
    T_ASSERT(memcmp(a->probabilities, b->probabilities, a->n * sizeof(float)) == 0);
    T_ASSERT(memcmp(a->outlier_scores, b->outlier_scores, a->n * sizeof(float)) == 0);
}

/* ---- known structure ---- */

T_TEST(hdbscan_blobs_with_noise)
{
    double sds[4] = {0.5, 0.5, 0.5, 0.5};
    ds s;
    make_blobs(&s, 1, 2, 4, 250, sds, 10.0, 100);
    promo_hdbscan *h = fit(&s, 20, 0, PROMO_HDBSCAN_AUTO, 0);
    T_ASSERT_EQ_INT(h->n_clusters, 4);
    double a = ari(s.truth, h->labels, s.n, s.truth);
    T_ASSERT_MSG(a > 0.97, "ARI on the blob points %.4f", a);
    size_t noise_ok = 0, n_noise = 0, blob_noise = 0;
    double out_noise = 0.0, out_blob = 0.0, prob_noise = 0.0, prob_blob = 0.0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.truth[i] < 0) {
            n_noise++;
            noise_ok += h->labels[i] < 0;
            out_noise += h->outlier_scores[i];
            prob_noise += h->probabilities[i];
        } else {
            prob_blob += h->probabilities[i];
            blob_noise += h->labels[i] < 0;
            out_blob += h->outlier_scores[i];
        }
    }
    /* Uniform points near a blob join it before the blobs separate, and so belong to it (with
     * a low probability), as in every HDBSCAN; most of them are noise. */
    T_ASSERT_MSG(noise_ok >= n_noise * 3 / 4, "%zu of %zu noise points labelled -1", noise_ok,
                 n_noise);
    T_ASSERT_MSG(blob_noise <= 50, "%zu blob points labelled noise", blob_noise);
    T_ASSERT(out_noise / (double)n_noise > 2.0 * out_blob / (double)(s.n - n_noise));
    T_ASSERT(prob_noise / (double)(n_noise - noise_ok) < prob_blob / (double)(s.n - n_noise));
    promo_hdbscan_free(h);
    ds_free(&s);
}

T_TEST(hdbscan_varying_densities)
{
    double sds[3] = {0.2, 1.0, 2.0};
    ds s;
    make_blobs(&s, 2, 3, 3, 300, sds, 15.0, 0);
    promo_hdbscan *h = fit(&s, 25, 0, PROMO_HDBSCAN_AUTO, 0);
    T_ASSERT_EQ_INT(h->n_clusters, 3);
    double a = ari(s.truth, h->labels, s.n, NULL);
    T_ASSERT_MSG(a > 0.9, "ARI %.4f", a);
    promo_hdbscan_free(h);
    ds_free(&s);
}

T_TEST(hdbscan_two_moons)
{
    ds s;
    make_moons(&s, 3, 300, 0.05);
    promo_hdbscan *h = fit(&s, 15, 0, PROMO_HDBSCAN_AUTO, 0);
    T_ASSERT_EQ_INT(h->n_clusters, 2);
    double a = ari(s.truth, h->labels, s.n, NULL);
    T_ASSERT_MSG(a > 0.95, "ARI %.4f", a);
    promo_hdbscan_free(h);
    ds_free(&s);
}

T_TEST(hdbscan_concentric_rings)
{
    ds s;
    make_rings(&s, 4, 400, 0.08);
    promo_hdbscan *h = fit(&s, 15, 0, PROMO_HDBSCAN_AUTO, 0);
    T_ASSERT_EQ_INT(h->n_clusters, 2);
    double a = ari(s.truth, h->labels, s.n, NULL);
    T_ASSERT_MSG(a > 0.95, "ARI %.4f", a);
    promo_hdbscan_free(h);
    ds_free(&s);
}

/* ---- algorithms against each other and the reference ---- */

T_TEST(hdbscan_prim_boruvka_reference_agree)
{
    double sds[5] = {0.4, 1.0, 0.7, 2.0, 0.3};
    struct {
        size_t d;
        int k;
        size_t per, noise, mcs, ms;
    } cases[] = {
        {2, 3, 120, 40, 10, 0},
        {5, 5, 60, 30, 8, 3},
        {8, 4, 80, 50, 12, 1},
        {1, 3, 100, 20, 5, 5},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ds s;
        make_blobs(&s, 10 + c, cases[c].d, cases[c].k, cases[c].per, sds, 6.0, cases[c].noise);
        size_t ms = cases[c].ms ? cases[c].ms : cases[c].mcs;
        double ref = naive_mst_weight(s.x, s.n, s.d, ms);
        promo_hdbscan *hp = fit(&s, cases[c].mcs, cases[c].ms, PROMO_HDBSCAN_PRIM, 0);
        promo_hdbscan *hb = fit(&s, cases[c].mcs, cases[c].ms, PROMO_HDBSCAN_BORUVKA, 0);
        T_ASSERT_EQ_INT(hp->algorithm, PROMO_HDBSCAN_PRIM);
        T_ASSERT_EQ_INT(hb->algorithm, PROMO_HDBSCAN_BORUVKA);
        T_ASSERT_NEAR(hp->mst_weight, ref, 1e-9 * ref);
        assert_same(hp, hb);
        T_ASSERT(hp->n_clusters >= 1);
        promo_hdbscan_free(hp);
        promo_hdbscan_free(hb);
        ds_free(&s);
    }
    /* min_samples = 1: the core distance is 0 and the tree is the Euclidean MST. */
    ds s;
    make_moons(&s, 5, 150, 0.06);
    promo_hdbscan *hb = fit(&s, 10, 1, PROMO_HDBSCAN_BORUVKA, 0);
    T_ASSERT_NEAR(hb->mst_weight, naive_mst_weight(s.x, s.n, 2, 1), 1e-9 * hb->mst_weight);
    promo_hdbscan_free(hb);
    ds_free(&s);
}

T_TEST(hdbscan_large_boruvka_matches_prim)
{
    double sds[6] = {0.3, 0.6, 1.0, 0.5, 0.8, 1.5};
    ds s;
    make_blobs(&s, 21, 3, 6, 650, sds, 8.0, 600);
    promo_hdbscan *ha = fit(&s, 30, 10, PROMO_HDBSCAN_AUTO, 0);
    T_ASSERT_EQ_INT(ha->algorithm, PROMO_HDBSCAN_BORUVKA);
    promo_hdbscan *hp = fit(&s, 30, 10, PROMO_HDBSCAN_PRIM, 0);
    assert_same(ha, hp);
    double a = ari(s.truth, ha->labels, s.n, s.truth);
    T_ASSERT_MSG(a > 0.9, "ARI %.4f", a);
    promo_hdbscan_free(ha);
    promo_hdbscan_free(hp);
    ds_free(&s);
}

T_TEST(hdbscan_threads_identical)
{
    double sds[4] = {0.5, 1.0, 0.3, 0.8};
    ds s;
    make_blobs(&s, 31, 4, 4, 700, sds, 7.0, 300);
    for (int alg = PROMO_HDBSCAN_PRIM; alg <= PROMO_HDBSCAN_BORUVKA; alg++) {
        promo_hdbscan *h1 = fit(&s, 20, 5, alg, 1);
        promo_hdbscan *h2 = fit(&s, 20, 5, alg, 2);
        assert_same(h1, h2);
        promo_hdbscan_free(h1);
        promo_hdbscan_free(h2);
    }
    ds_free(&s);
}

/* ---- edge cases ---- */

T_TEST(hdbscan_duplicates)
{
    /* Each blob point three times: the copies share a label and the blobs are still found. */
    double sds[3] = {0.5, 0.5, 0.5};
    ds b, s;
    make_blobs(&b, 41, 2, 3, 150, sds, 10.0, 0);
    ds_alloc(&s, 3 * b.n, 2);
    for (size_t i = 0; i < s.n; i++) {
        memcpy(s.x + 2 * i, b.x + 2 * (i % b.n), 2 * sizeof(float));
        s.truth[i] = b.truth[i % b.n];
    }
    for (int alg = PROMO_HDBSCAN_PRIM; alg <= PROMO_HDBSCAN_BORUVKA; alg++) {
        promo_hdbscan *h = fit(&s, 15, 3, alg, 0);
        T_ASSERT_EQ_INT(h->n_clusters, 3);
        for (size_t i = b.n; i < s.n; i++)
            T_ASSERT_EQ_INT(h->labels[i], h->labels[i % b.n]);
        T_ASSERT(ari(s.truth, h->labels, s.n, NULL) > 0.95);
        promo_hdbscan_free(h);
    }
    /* Every point equal: no crash, finite outputs, one density level so no split. */
    for (size_t i = 0; i < 2 * 60; i++)
        s.x[i] = 1.5f;
    ds one = {s.x, s.truth, 60, 2};
    for (int alg = PROMO_HDBSCAN_PRIM; alg <= PROMO_HDBSCAN_BORUVKA; alg++) {
        promo_hdbscan *h = fit(&one, 5, 0, alg, 0);
        T_ASSERT(h->mst_weight == 0.0);
        promo_hdbscan_free(h);
    }
    /* Two groups of exact duplicates far apart: two clusters. */
    for (size_t i = 0; i < 60; i++)
        s.x[2 * i] = i < 30 ? 0.0f : 100.0f;
    for (int alg = PROMO_HDBSCAN_PRIM; alg <= PROMO_HDBSCAN_BORUVKA; alg++) {
        promo_hdbscan *h = fit(&one, 5, 0, alg, 0);
        T_ASSERT_EQ_INT(h->n_clusters, 2);
        T_ASSERT(h->labels[0] != h->labels[59] && h->labels[0] == h->labels[29]);
        promo_hdbscan_free(h);
    }
    ds_free(&b);
    ds_free(&s);
}

T_TEST(hdbscan_fewer_points_than_min_cluster_size)
{
    float x[8] = {0, 0, 1, 1, 2, 2, 9, 9};
    for (size_t n = 1; n <= 4; n++) {
        for (int alg = PROMO_HDBSCAN_PRIM; alg <= PROMO_HDBSCAN_BORUVKA; alg++) {
            ds s = {x, NULL, n, 2};
            promo_hdbscan *h = fit(&s, 5, 0, alg, 0);
            T_ASSERT_EQ_INT(h->n_clusters, 0);
            for (size_t i = 0; i < n; i++)
                T_ASSERT_EQ_INT(h->labels[i], -1);
            promo_hdbscan_free(h);
        }
    }
}

T_TEST(hdbscan_refuses_bad_input)
{
    float x[12] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
    promo_hdbscan_params p = promo_hdbscan_params_default();
    promo_hdbscan *h = (promo_hdbscan *)&p; /* must come back NULL */
    T_ASSERT_EQ_INT(promo_hdbscan_fit(NULL, x, 6, 2, &h), PROMO_EUSAGE);
    T_ASSERT(h == NULL);
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, NULL, 6, 2, &h), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, NULL), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 0, 2, &h), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 0, &h), PROMO_EUSAGE);
    p.min_cluster_size = 1;
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, &h), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "min_cluster_size");
    p.min_cluster_size = 0;
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, &h), PROMO_EUSAGE);
    p = promo_hdbscan_params_default();
    p.n_threads = -1;
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, &h), PROMO_EUSAGE);
    p = promo_hdbscan_params_default();
    p.algorithm = PROMO_HDBSCAN_ALGORITHM_COUNT;
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, &h), PROMO_EUSAGE);
    p.algorithm = -1;
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, &h), PROMO_EUSAGE);
    T_ASSERT(h == NULL);
    p = promo_hdbscan_params_default();
    x[7] = NAN;
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, &h), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "row 3, column 1");
    x[7] = INFINITY;
    T_ASSERT_EQ_INT(promo_hdbscan_fit(&p, x, 6, 2, &h), PROMO_EINPUT);
    T_ASSERT(h == NULL);
    promo_hdbscan_free(NULL);
}

T_TEST(hdbscan_allocation_failures)
{
    double sds[2] = {0.5, 0.5};
    ds s;
    make_blobs(&s, 51, 2, 2, 40, sds, 10.0, 5);
    for (int alg = PROMO_HDBSCAN_PRIM; alg <= PROMO_HDBSCAN_BORUVKA; alg++) {
        promo_hdbscan_params p = promo_hdbscan_params_default();
        p.algorithm = alg;
        p.n_threads = 1;
        int ok = 0;
        for (long k = 1; k <= 60 && !ok; k++) {
            promo_hdbscan *h = NULL;
            promo_alloc_fail_at(k);
            int rc = promo_hdbscan_fit(&p, s.x, s.n, s.d, &h);
            promo_alloc_fail_at(0);
            T_ASSERT(rc == PROMO_ENOMEM || rc == PROMO_OK);
            T_ASSERT((rc == PROMO_OK) == (h != NULL));
            ok = rc == PROMO_OK;
            promo_hdbscan_free(h);
        }
        T_ASSERT(ok);
    }
    ds_free(&s);
}

/* Integer-valued data: distances tie everywhere (many rows at exactly the k-th distance, many
 * exact duplicates), the case where the edge order's row numbers decide; Boruvka's shortcuts
 * (kNN lists, node row-number bounds) must still find Prim's tree. */
T_TEST(hdbscan_ties_integer_data)
{
    promo_rng r;
    promo_rng_init(&r, 61, 0);
    ds s;
    ds_alloc(&s, 2400, 3);
    for (size_t i = 0; i < s.n; i++) {
        int c = (int)(i % 3);
        for (size_t j = 0; j < 3; j++)
            s.x[i * 3 + j] = (float)(10 * c * (j == 0) + (int)promo_rng_below(&r, 3 + 2 * c));
        s.truth[i] = c;
    }
    size_t params[3][2] = {{20, 0}, {10, 4}, {30, 64}};
    for (int t = 0; t < 3; t++) {
        promo_hdbscan *hp = fit(&s, params[t][0], params[t][1], PROMO_HDBSCAN_PRIM, 0);
        promo_hdbscan *hb = fit(&s, params[t][0], params[t][1], PROMO_HDBSCAN_BORUVKA, 2);
        assert_same(hp, hb);
        T_ASSERT(ari(s.truth, hb->labels, s.n, NULL) > 0.9);
        promo_hdbscan_free(hp);
        promo_hdbscan_free(hb);
    }
    ds_free(&s);
}

/* Boruvka's pruning has many parts; random shapes, sizes and parameters, continuous and
 * integer-valued, each against Prim (which has none). */
T_TEST(hdbscan_boruvka_equals_prim_random)
{
    promo_rng r;
    promo_rng_init(&r, 71, 0);
    for (int t = 0; t < 10; t++) {
        size_t d = 1 + promo_rng_below(&r, 6), n = 300 + promo_rng_below(&r, 1200);
        int integer = t % 2, k = 1 + (int)promo_rng_below(&r, 6);
        ds s;
        ds_alloc(&s, n, d);
        for (size_t i = 0; i < n; i++) {
            int c = (int)promo_rng_below(&r, (uint64_t)k + 1) - 1; /* -1: uniform noise */
            double sd = 0.2 + 0.3 * (c + 1);
            for (size_t j = 0; j < d; j++) {
                double v = c < 0 ? 20.0 * promo_rng_uniform(&r)
                                 : 4.0 * c + (j % 2) * 3.0 * c + sd * promo_rng_normal(&r);
                s.x[i * d + j] = (float)(integer ? floor(v * 2.0) : v);
            }
            s.truth[i] = c;
        }
        size_t mcs = 2 + promo_rng_below(&r, 30), ms = promo_rng_below(&r, 20);
        promo_hdbscan *hp = fit(&s, mcs, ms, PROMO_HDBSCAN_PRIM, 1);
        promo_hdbscan *hb = fit(&s, mcs, ms, PROMO_HDBSCAN_BORUVKA, 2);
        assert_same(hp, hb);
        promo_hdbscan_free(hp);
        promo_hdbscan_free(hb);
        ds_free(&s);
    }
}
