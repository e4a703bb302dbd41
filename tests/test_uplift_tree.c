/* Tests of src/models/uplift_tree.c: the tree finds the feature the effect depends on and its
 * leaves recover the effects, every criterion, CTS picks the right one of two opposite arms,
 * honest estimation shrinks spurious effects, a forest beats a tree on PEHE, thread-count
 * independence, NaN rows in their own (missing) bin, bad parameters and data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/rng.h>
#include <promo/uplift_tree.h>

#include "t.h"

typedef struct set {
    float *x, *y, *tau; /* tau: n x (n_arms - 1) true effects */
    int32_t *arm;
    promo_uplift_data d;
} set;

static void set_free(set *s)
{
    free(s->x);
    free(s->y);
    free(s->tau);
    free(s->arm);
}

/* kind 0: binary, base 0.3, effect 0.25 when x0 > 0.5 else 0 (2 arms).
 * kind 1: three arms, binary, base 0.4: arm 1 +0.2 when x0 < 0.5 and -0.2 otherwise, arm 2
 *         the opposite.
 * kind 2: continuous, y = x1 + tau + noise, tau = 2 x0 + x2 (smooth).
 * kind 3: binary, no effect at all. */
static void make(set *s, int kind, size_t n, size_t d, uint64_t seed)
{
    int k = kind == 1 ? 3 : 2;
    s->x = malloc(n * d * sizeof *s->x);
    s->y = malloc(n * sizeof *s->y);
    s->tau = malloc(n * (size_t)(k - 1) * sizeof *s->tau);
    s->arm = malloc(n * sizeof *s->arm);
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        float *xi = s->x + i * d;
        for (size_t j = 0; j < d; j++)
            xi[j] = (float)promo_rng_uniform(&r);
        int a = (int)promo_rng_below(&r, (uint64_t)k);
        s->arm[i] = a;
        double y;
        if (kind == 0) {
            s->tau[i] = xi[0] > 0.5f ? 0.25f : 0.0f;
            y = promo_rng_bernoulli(&r, 0.3 + (a ? s->tau[i] : 0.0));
        } else if (kind == 1) {
            float e = xi[0] < 0.5f ? 0.2f : -0.2f;
            s->tau[i * 2] = e;
            s->tau[i * 2 + 1] = -e;
            y = promo_rng_bernoulli(&r, 0.4 + (a ? s->tau[i * 2 + (size_t)a - 1] : 0.0));
        } else if (kind == 2) {
            s->tau[i] = 2.0f * xi[0] + xi[2];
            y = xi[1] + (a ? s->tau[i] : 0.0) + 0.5 * promo_rng_normal(&r);
        } else {
            s->tau[i] = 0.0f;
            y = promo_rng_bernoulli(&r, 0.3);
        }
        s->y[i] = (float)y;
    }
    memset(&s->d, 0, sizeof s->d);
    s->d.x = s->x;
    s->d.n = n;
    s->d.d = d;
    s->d.arm = s->arm;
    s->d.n_arms = k;
    s->d.y = s->y;
    s->d.binary = kind != 2;
}

static double pehe(const float *pred, const float *tau, size_t m)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        s += ((double)pred[i] - tau[i]) * ((double)pred[i] - tau[i]);
    return sqrt(s / (double)m);
}

static promo_uplift_tree_params tree_params(promo_uplift_split s, int depth)
{
    promo_uplift_tree_params p = promo_uplift_tree_params_default();
    p.split = s;
    p.max_depth = depth;
    p.n_trees = 1;
    p.n_threads = 1;
    return p;
}

T_TEST(uplift_tree_finds_the_effect_feature)
{
    set s;
    make(&s, 0, 20000, 5, 1);
    for (int c = 0; c < PROMO_SPLIT_COUNT; c++) {
        promo_uplift_tree_params p = tree_params((promo_uplift_split)c, 1);
        promo_uplift_forest *f = NULL;
        T_ASSERT_MSG(promo_uplift_forest_fit(&p, &s.d, &f) == 0, "%s", promo_last_error());
        T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 0), 0);
        T_ASSERT_EQ_INT(promo_uplift_forest_n_arms(f), 2);
        float q[2 * 5] = {0.2f, 0.5f, 0.5f, 0.5f, 0.5f, 0.8f, 0.5f, 0.5f, 0.5f, 0.5f};
        float e[2];
        T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, q, 2, 5, e), 0);
        T_ASSERT_NEAR(e[0], 0.0, 0.04);
        T_ASSERT_NEAR(e[1], 0.25, 0.04);
        double imp[5];
        T_ASSERT_EQ_INT(promo_uplift_forest_importance(f, imp), 0);
        T_ASSERT(imp[0] > 0 && imp[1] == 0 && imp[4] == 0);
        promo_uplift_forest_free(f);
    }
    /* deeper: still recovers the effect on average over rows */
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_ED, 4);
    promo_uplift_forest *f = NULL;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), 0);
    float *e = malloc(s.d.n * sizeof *e);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, s.x, s.d.n, 5, e), 0);
    T_ASSERT(pehe(e, s.tau, s.d.n) < 0.06);
    free(e);
    promo_uplift_forest_free(f);
    set_free(&s);
}

T_TEST(uplift_tree_continuous)
{
    set s;
    make(&s, 2, 8000, 4, 2);
    promo_uplift_split ok[2] = {PROMO_SPLIT_ED, PROMO_SPLIT_CTS};
    for (int c = 0; c < 2; c++) {
        promo_uplift_tree_params p = tree_params(ok[c], 3);
        promo_uplift_forest *f = NULL;
        T_ASSERT_MSG(promo_uplift_forest_fit(&p, &s.d, &f) == 0, "%s", promo_last_error());
        float *e = malloc(s.d.n * sizeof *e);
        T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, s.x, s.d.n, 4, e), 0);
        if (c == 0) /* ED on means splits on x0 (the larger slope) first */
            T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 0), 0);
        T_ASSERT_MSG(pehe(e, s.tau, s.d.n) < 0.45, "pehe %g", pehe(e, s.tau, s.d.n));
        free(e);
        promo_uplift_forest_free(f);
    }
    /* KL and chi-square need a binary outcome */
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_KL, 3);
    promo_uplift_forest *f = NULL;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), PROMO_EUSAGE);
    T_ASSERT(f == NULL);
    p.split = PROMO_SPLIT_CHI;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), PROMO_EUSAGE);
    set_free(&s);
}

T_TEST(uplift_tree_cts_picks_the_right_arm)
{
    set s;
    make(&s, 1, 24000, 4, 3);
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_CTS, 2);
    promo_uplift_forest *f = NULL;
    T_ASSERT_MSG(promo_uplift_forest_fit(&p, &s.d, &f) == 0, "%s", promo_last_error());
    T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 0), 0);
    size_t n = s.d.n, right = 0;
    float *e = malloc(n * 2 * sizeof *e);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, s.x, n, 4, e), 0);
    for (size_t i = 0; i < n; i++) {
        int best = e[2 * i] > e[2 * i + 1] ? 1 : 2;
        int truth = s.x[i * 4] < 0.5f ? 1 : 2;
        right += best == truth;
    }
    T_ASSERT_MSG(right > n * 95 / 100, "%zu of %zu", right, n);
    T_ASSERT(pehe(e, s.tau, 2 * n) < 0.06);
    free(e);
    promo_uplift_forest_free(f);
    set_free(&s);
}

T_TEST(uplift_tree_honest)
{
    /* no effect: the adaptive tree's leaves show the noise it chose splits on; honest leaves
     * (filled by the other half) are much closer to zero on average */
    set s;
    make(&s, 3, 12000, 5, 4);
    double err[2];
    for (int h = 0; h < 2; h++) {
        promo_uplift_tree_params p = tree_params(PROMO_SPLIT_ED, 4);
        p.min_leaf = 50;
        p.honest = h;
        promo_uplift_forest *f = NULL;
        T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), 0);
        float *e = malloc(s.d.n * sizeof *e);
        T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, s.x, s.d.n, 5, e), 0);
        err[h] = pehe(e, s.tau, s.d.n);
        free(e);
        promo_uplift_forest_free(f);
    }
    T_ASSERT_MSG(err[1] < 0.8 * err[0], "honest %g vs adaptive %g", err[1], err[0]);
    /* honest still recovers a real effect */
    set r;
    make(&r, 0, 20000, 5, 5);
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_ED, 2);
    p.honest = 1;
    promo_uplift_forest *f = NULL;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &r.d, &f), 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 0), 0);
    float *e = malloc(r.d.n * sizeof *e);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, r.x, r.d.n, 5, e), 0);
    T_ASSERT(pehe(e, r.tau, r.d.n) < 0.06);
    free(e);
    promo_uplift_forest_free(f);
    set_free(&r);
    set_free(&s);
}

T_TEST(uplift_forest_beats_a_tree_and_ignores_threads)
{
    set s, t;
    make(&s, 2, 6000, 6, 6);
    make(&t, 2, 2000, 6, 7);
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_ED, 5);
    p.min_leaf = 30;
    promo_uplift_forest *tr = NULL, *f1 = NULL, *f2 = NULL;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &tr), 0);
    p.n_trees = 24;
    p.max_features = 0.5;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f1), 0);
    p.n_threads = 2;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f2), 0);
    size_t m = t.d.n;
    float *a = malloc(m * sizeof *a), *b = malloc(m * sizeof *b), *c = malloc(m * sizeof *c);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(tr, t.x, m, 6, a), 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f1, t.x, m, 6, b), 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f2, t.x, m, 6, c), 0);
    T_ASSERT(memcmp(b, c, m * sizeof *b) == 0);
    double ptree = pehe(a, t.tau, m), pforest = pehe(b, t.tau, m);
    T_ASSERT_MSG(pforest < 0.8 * ptree, "forest %g vs tree %g", pforest, ptree);
    double i1[6], i2[6];
    promo_uplift_forest_importance(f1, i1);
    promo_uplift_forest_importance(f2, i2);
    T_ASSERT(memcmp(i1, i2, sizeof i1) == 0);
    T_ASSERT(i1[0] > i1[2] && i1[2] > i1[3]);
    /* honest forest, also thread-independent */
    promo_uplift_forest_free(f1);
    promo_uplift_forest_free(f2);
    p.honest = 1;
    p.n_threads = 1;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f1), 0);
    p.n_threads = 2;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f2), 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f1, t.x, m, 6, b), 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f2, t.x, m, 6, c), 0);
    T_ASSERT(memcmp(b, c, m * sizeof *b) == 0);
    T_ASSERT(pehe(b, t.tau, m) < ptree);
    free(a);
    free(b);
    free(c);
    promo_uplift_forest_free(tr);
    promo_uplift_forest_free(f1);
    promo_uplift_forest_free(f2);
    set_free(&s);
    set_free(&t);
}

T_TEST(uplift_tree_nan_goes_to_the_missing_bin)
{
    /* x0 is missing on 30% of the rows, which alone carry an effect of 0.3 */
    set s;
    make(&s, 3, 20000, 3, 8);
    promo_rng r;
    promo_rng_init(&r, 9, 0);
    for (size_t i = 0; i < s.d.n; i++)
        if (promo_rng_uniform(&r) < 0.3) {
            s.x[i * 3] = NAN;
            s.y[i] = (float)promo_rng_bernoulli(&r, s.arm[i] ? 0.6 : 0.3);
        }
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_KL, 1);
    promo_uplift_forest *f = NULL;
    T_ASSERT_MSG(promo_uplift_forest_fit(&p, &s.d, &f) == 0, "%s", promo_last_error());
    T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 0), 0);
    float q[6] = {NAN, 0.5f, 0.5f, 0.01f, 0.5f, 0.5f}, e[2];
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, q, 2, 3, e), 0);
    T_ASSERT_NEAR(e[0], 0.3, 0.05);
    T_ASSERT_NEAR(e[1], 0.0, 0.04);
    promo_uplift_forest_free(f);
    set_free(&s);
}

T_TEST(uplift_tree_bad_input)
{
    set s;
    make(&s, 0, 500, 3, 10);
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_ED, 3), q;
    promo_uplift_forest *f = NULL;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(NULL, &s.d, &f), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, NULL, &f), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, NULL), PROMO_EUSAGE);
#define BAD(field, value)                                                     \
    do {                                                                      \
        q = p;                                                                \
        q.field = value;                                                      \
        T_ASSERT_EQ_INT(promo_uplift_forest_fit(&q, &s.d, &f), PROMO_EUSAGE); \
        T_ASSERT(f == NULL);                                                  \
    } while (0)
    BAD(split, PROMO_SPLIT_COUNT);
    BAD(max_depth, -1);
    BAD(min_leaf, 0);
    BAD(n_trees, 0);
    BAD(max_features, 1.5);
    BAD(max_features, NAN);
    BAD(subsample, 0.0);
    BAD(subsample, 1.01);
    BAD(max_bins, 1);
    BAD(max_bins, 257);
    BAD(n_threads, -1);
#undef BAD
    T_ASSERT_CONTAINS(promo_last_error(), "n_threads");
    promo_uplift_data d = s.d;
    d.n_arms = 1;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &d, &f), PROMO_EUSAGE);
    d = s.d;
    d.n = 0;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &d, &f), PROMO_EUSAGE);
    d = s.d;
    d.n_arms = 3; /* arm 2 has no rows */
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &d, &f), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "arm 2");
    s.arm[7] = 5;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "row 7");
    s.arm[7] = 1;
    float y7 = s.y[7];
    s.y[7] = 0.5f;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), PROMO_EINPUT);
    s.y[7] = NAN;
    s.d.binary = 0;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), PROMO_EINPUT);
    s.y[7] = y7;
    s.d.binary = 1;
    float *w = malloc(s.d.n * sizeof *w);
    for (size_t i = 0; i < s.d.n; i++)
        w[i] = 1.0f;
    w[3] = -1.0f;
    s.d.w = w;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), PROMO_EINPUT);
    w[3] = 2.0f;
    /* weights, too few rows for any split: a single leaf, the weighted difference of means */
    q = p;
    q.min_leaf = 10000;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&q, &s.d, &f), 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 0), -1);
    T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 1), -1);
    double sw[2] = {0, 0}, swy[2] = {0, 0};
    for (size_t i = 0; i < s.d.n; i++) {
        sw[s.arm[i]] += w[i];
        swy[s.arm[i]] += w[i] * s.y[i];
    }
    float e;
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, s.x, 1, 3, &e), 0);
    T_ASSERT_NEAR(e, swy[1] / sw[1] - swy[0] / sw[0], 1e-6);
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, s.x, 1, 4, &e), PROMO_EUSAGE);
    promo_uplift_forest_free(f);
    promo_uplift_forest_free(NULL);
    T_ASSERT_STR_EQ(promo_uplift_split_name(PROMO_SPLIT_CTS), "cts");
    T_ASSERT(promo_uplift_split_name(PROMO_SPLIT_COUNT) == NULL);
    free(w);
    set_free(&s);
}

T_TEST(uplift_tree_alloc_failures)
{
    set s;
    make(&s, 0, 2000, 3, 11);
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_ED, 3);
    p.n_trees = 2;
    p.min_leaf = 50;
    int fitted = 0;
    for (long k = 1; k < 200 && !fitted; k++) {
        promo_uplift_forest *f = NULL;
        promo_alloc_fail_at(k);
        int rc = promo_uplift_forest_fit(&p, &s.d, &f);
        promo_alloc_fail_at(0);
        if (rc == 0) {
            promo_uplift_forest_free(f);
            fitted = 1;
            continue;
        }
        T_ASSERT_EQ_INT(rc, PROMO_ENOMEM);
        T_ASSERT(f == NULL);
    }
    T_ASSERT(fitted);
    set_free(&s);
}

T_TEST(uplift_tree_discrete_values_split_exactly)
{
    /* x0 in 0..9, effect 0.3 from 5 up: values sit on the bin edges, and prediction (which
     * compares raw values with the edges) must route rows as training (bin codes) did */
    set s;
    make(&s, 3, 10000, 2, 12);
    promo_rng r;
    promo_rng_init(&r, 13, 0);
    double sw[2][2] = {{0, 0}, {0, 0}}, sy[2][2] = {{0, 0}, {0, 0}};
    for (size_t i = 0; i < s.d.n; i++) {
        s.x[i * 2] = (float)promo_rng_below(&r, 10);
        int hi = s.x[i * 2] >= 5.0f;
        s.y[i] = (float)promo_rng_bernoulli(&r, 0.3 + (hi && s.arm[i] ? 0.3 : 0.0));
        sw[hi][s.arm[i]] += 1;
        sy[hi][s.arm[i]] += s.y[i];
    }
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_ED, 1);
    promo_uplift_forest *f = NULL;
    T_ASSERT_EQ_INT(promo_uplift_forest_fit(&p, &s.d, &f), 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(f, 0), 0);
    float q[4] = {4.0f, 0.5f, 5.0f, 0.5f}, e[2];
    T_ASSERT_EQ_INT(promo_uplift_forest_predict(f, q, 2, 2, e), 0);
    for (int h = 0; h < 2; h++)
        T_ASSERT_NEAR(e[h], sy[h][1] / sw[h][1] - sy[h][0] / sw[h][0], 1e-6);
    promo_uplift_forest_free(f);
    set_free(&s);
}

/* FNV-1a 64 of b[0..n) into its last 8 bytes (uplift_tree.c's checksum), so a test reaches the
 * node checks behind it. */
static void reseal(uint8_t *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n - 8; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    for (int i = 0; i < 8; i++)
        b[n - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
}

T_TEST(uplift_forest_save_load)
{
    set s;
    make(&s, 1, 3000, 5, 11);
    promo_uplift_tree_params p = tree_params(PROMO_SPLIT_CTS, 4);
    p.n_trees = 5;
    p.min_leaf = 30;
    promo_uplift_forest *f = NULL, *g = NULL;
    T_OK(promo_uplift_forest_fit(&p, &s.d, &f));
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_uplift_forest_save(f, &buf, &len));
    T_ASSERT(len > 44 && memcmp(buf, "PROMOUFT", 8) == 0);
    T_OK(promo_uplift_forest_load(buf, len, &g));
    T_ASSERT_EQ_INT(promo_uplift_forest_n_trees(g), 5);
    T_ASSERT_EQ_INT(promo_uplift_forest_n_arms(g), 3);
    float *e1 = malloc(3000 * 2 * sizeof *e1), *e2 = malloc(3000 * 2 * sizeof *e2);
    double i1[5], i2[5];
    T_OK(promo_uplift_forest_predict(f, s.x, 3000, 5, e1));
    T_OK(promo_uplift_forest_predict(g, s.x, 3000, 5, e2));
    T_ASSERT(memcmp(e1, e2, 3000 * 2 * sizeof *e1) == 0);
    T_OK(promo_uplift_forest_importance(f, i1));
    T_OK(promo_uplift_forest_importance(g, i2));
    T_ASSERT(memcmp(i1, i2, sizeof i1) == 0);
    T_ASSERT_EQ_INT(promo_uplift_forest_root_feature(g, 0), promo_uplift_forest_root_feature(f, 0));
    promo_uplift_forest_free(g);
    g = NULL;

    /* Hostile but well-sealed bytes: the first tree's root pointing at itself (a walk that
     * would never end), a feature out of range, a NaN leaf; then another version, a
     * truncation, foreign bytes. */
    uint8_t *b = (uint8_t *)buf;
    size_t root = 44 + 5 * 8 + 4; /* header, importance, the first tree's node count */
    int32_t v;
    memcpy(&v, b + root + 12, 4); /* left */
    int32_t self = 0;
    memcpy(b + root + 12, &self, 4);
    reseal(b, len);
    T_ASSERT_EQ_INT(promo_uplift_forest_load(b, len, &g), PROMO_EINPUT);
    memcpy(b + root + 12, &v, 4);
    memcpy(&v, b + root, 4); /* feature */
    int32_t far = 5;
    memcpy(b + root, &far, 4);
    reseal(b, len);
    T_ASSERT_EQ_INT(promo_uplift_forest_load(b, len, &g), PROMO_EINPUT);
    memcpy(b + root, &v, 4);
    float nan = NAN;
    memcpy(b + len - 12, &nan, 4); /* the last leaf's last effect */
    reseal(b, len);
    T_ASSERT_EQ_INT(promo_uplift_forest_load(b, len, &g), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_uplift_forest_load(b, len - 1, &g), PROMO_EINPUT);
    b[8] = 7;
    T_ASSERT_EQ_INT(promo_uplift_forest_load(b, len, &g), PROMO_EVERSION);
    T_ASSERT_EQ_INT(promo_uplift_forest_load("PROMOUPL", 8, &g), PROMO_EINPUT);
    T_ASSERT(g == NULL);
    promo_free(buf);
    free(e1);
    free(e2);
    promo_uplift_forest_free(f);
    set_free(&s);
}
