/* Tests of src/eval/uplift_metrics.c: the curves and normalised areas against a hand-computed
 * case and against a naive O(n^2) implementation of scikit-uplift's formulas (sklift is not
 * packaged in Debian, so it cannot be called here), the sklift normalisation (perfect = 1,
 * random ~ 0, reversed < 0), policy value coverage in simulated randomised tests, the four
 * groups, ROI and the chart. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/plot.h>
#include <promo/rng.h>
#include <promo/uplift_metrics.h>

#include "t.h"

/* ---- the naive reference: every threshold recomputed from scratch ---- */

/* Area above the random line of the uplift (qini = 0) or Qini (qini = 1) curve when rows are
 * ranked by key; a threshold at every distinct key value v covers the rows with key >= v. */
static double naive_area(const double *key, const int32_t *t, const double *y, size_t n, int qini)
{
    double *v = malloc(n * sizeof *v);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < m; j++)
            seen |= v[j] == key[i];
        if (!seen)
            v[m++] = key[i];
    }
    for (size_t a = 0; a < m; a++) /* selection sort, descending */
        for (size_t b = a + 1; b < m; b++)
            if (v[b] > v[a]) {
                double s = v[a];
                v[a] = v[b];
                v[b] = s;
            }
    double area = 0.0, px = 0.0, pc = 0.0;
    for (size_t a = 0; a < m; a++) {
        double nt = 0, nc = 0, yt = 0, yc = 0;
        for (size_t i = 0; i < n; i++) {
            if (key[i] < v[a])
                continue;
            if (t[i]) {
                nt++;
                yt += y[i];
            } else {
                nc++;
                yc += y[i];
            }
        }
        double all = nt + nc, c;
        if (qini)
            c = yt - (nc > 0 ? yc * nt / nc : 0.0);
        else
            c = ((nt > 0 ? yt / nt : 0.0) - (nc > 0 ? yc / nc : 0.0)) * all;
        area += (all - px) * (c + pc) / 2.0;
        px = all;
        pc = c;
    }
    free(v);
    return area - px * pc / 2.0;
}

/* sklift's qini_auc_score and uplift_auc_score, naively. */
static void naive_scores(
    const double *score, const int32_t *t, const double *y, size_t n, double *qini, double *auuc)
{
    double *key = malloc(n * sizeof *key);
    for (size_t i = 0; i < n; i++)
        key[i] = t[i] ? y[i] : -y[i];
    *qini = naive_area(score, t, y, n, 1) / naive_area(key, t, y, n, 1);
    double cr = 0, tn = 0;
    for (size_t i = 0; i < n; i++) {
        cr += !t[i] && y[i] == 1.0;
        tn += t[i] && y[i] == 0.0;
    }
    for (size_t i = 0; i < n; i++)
        key[i] = 2.0 * (y[i] == (double)t[i]) + (cr > tn ? y[i] : (double)t[i]);
    *auuc = naive_area(score, t, y, n, 0) / naive_area(key, t, y, n, 0);
    free(key);
}

/* sklift's uplift_at_k(strategy='overall'): ranks by argsort(mergesort)[::-1]. */
static double naive_at(const double *score, const int32_t *t, const double *y, size_t n, double k)
{
    size_t top = (size_t)((double)n * k);
    double a = 0, na = 0, b = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        size_t rank = 0;
        for (size_t j = 0; j < n; j++)
            rank += score[j] > score[i] || (score[j] == score[i] && j > i);
        if (rank >= top)
            continue;
        if (t[i]) {
            a += y[i];
            na++;
        } else {
            b += y[i];
            nb++;
        }
    }
    return na > 0 && nb > 0 ? a / na - b / nb : NAN;
}

/* ---- curves and areas ---- */

/* Six rows, worked by hand (see the comments for the points). */
T_TEST(uplift_metrics_hand_case)
{
    const double s[6] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4};
    const int32_t t[6] = {1, 0, 1, 0, 1, 0};
    const double y[6] = {1, 0, 0, 1, 1, 0};
    promo_uplift_metrics m;
    promo_uplift_curve c = {0};
    T_OK(promo_uplift_evaluate(s, t, y, 6, 7, &m, &c));
    /* Qini at N = 0..6: 0 1 1 1 0 0.5 1; area 4, random 3 -> 1. Oracle key (y treated, -y
     * control) gives points (0,0) (2,2) (5,2) (6,1): area 9.5, minus 3 = 6.5. */
    T_ASSERT_NEAR(m.qini_area, 1.0, 1e-12);
    T_ASSERT_NEAR(m.qini_coef, 2.0 / 13.0, 1e-12);
    /* Uplift at N = 0..6: 0 1 2 1.5 0 5/6 2; area 19/3, random 6 -> 1/3. #(y=1, control) = 1
     * is not > #(y=0, treated) = 1, so the oracle key is 2 (y == t) + t: points (0,0) (2,2)
     * (4,4) (5,10/3) (6,2), area 43/3, minus 6 = 25/3. */
    T_ASSERT_NEAR(m.uplift_area, 1.0 / 3.0, 1e-12);
    T_ASSERT_NEAR(m.auuc, 1.0 / 25.0, 1e-12);
    T_ASSERT_NEAR(m.ate, 1.0 / 3.0, 1e-12);
    T_ASSERT_EQ_INT(m.n_treated, 3);
    T_ASSERT_EQ_INT(m.n_control, 3);
    /* floor(6 k) = 0, 1, 1 rows: never both groups. */
    for (int k = 0; k < 3; k++)
        T_ASSERT(isnan(m.uplift_at[k]));
    /* 7 points land on N = 0..6 exactly. */
    const double q[7] = {0, 1, 1, 1, 0, 0.5, 1}, u[7] = {0, 1, 2, 1.5, 0, 5.0 / 6.0, 2};
    const double pq[7] = {0, 1, 2, 2, 2, 2, 1}, pu[7] = {0, 1, 2, 3, 4, 10.0 / 3.0, 2};
    T_ASSERT_EQ_INT(c.n_points, 7);
    for (int j = 0; j < 7; j++) {
        T_ASSERT_NEAR(c.frac[j], j / 6.0, 1e-15);
        T_ASSERT_NEAR(c.qini[j], q[j], 1e-12);
        T_ASSERT_NEAR(c.uplift[j], u[j], 1e-12);
        T_ASSERT_NEAR(c.perfect_qini[j], pq[j], 1e-12);
        T_ASSERT_NEAR(c.perfect_uplift[j], pu[j], 1e-12);
        T_ASSERT_NEAR(c.random_qini[j], j / 6.0, 1e-12);
        T_ASSERT_NEAR(c.random_uplift[j], 2.0 * j / 6.0, 1e-12);
    }
    promo_uplift_curve_free(&c);
    T_ASSERT(c.frac == NULL && c.n_points == 0);
    promo_uplift_curve_free(&c); /* twice: harmless */
    promo_uplift_curve_free(NULL);
}

/* Ten rows: uplift@k with a tie straddling the cut, where sklift's reversed stable order
 * decides which tied rows are in. */
T_TEST(uplift_metrics_at_k)
{
    /* Sorted order (ties: later row first): 0, 1, 3, 2, ... top 2 = rows 0, 1; top 3 adds
     * row 3 (not row 2). */
    const double s[10] = {0.9, 0.8, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -1.0};
    const int32_t t[10] = {1, 0, 1, 1, 0, 1, 0, 1, 0, 0};
    const double y[10] = {1, 0, 0, 1, 1, 0, 1, 0, 0, 1};
    promo_uplift_metrics m;
    T_OK(promo_uplift_evaluate(s, t, y, 10, 0, &m, NULL));
    T_ASSERT(isnan(m.uplift_at[0]));                 /* top 1: treated only */
    T_ASSERT_NEAR(m.uplift_at[1], 1.0 - 0.0, 1e-12); /* rows 0 (t, 1), 1 (c, 0) */
    T_ASSERT_NEAR(m.uplift_at[2], 1.0 - 0.0, 1e-12); /* + row 3 (t, 1) */
    for (int k = 0; k < 3; k++) {
        double ref = naive_at(s, t, y, 10, promo_uplift_at_frac[k]);
        T_ASSERT(isnan(ref) == isnan(m.uplift_at[k]));
        if (!isnan(ref))
            T_ASSERT_NEAR(m.uplift_at[k], ref, 1e-12);
    }
    /* -0.0 and 0.0 are one score (one block), as they compare equal. */
    double z[10];
    memcpy(z, s, sizeof z);
    z[4] = -0.0;
    z[8] = 0.0;
    promo_uplift_metrics a, b;
    T_OK(promo_uplift_evaluate(z, t, y, 10, 0, &a, NULL));
    z[4] = 0.0;
    T_OK(promo_uplift_evaluate(z, t, y, 10, 0, &b, NULL));
    T_ASSERT(a.qini_coef == b.qini_coef && a.auuc == b.auuc);
}

/* Random sets with many ties, binary and continuous outcomes: the O(n log n) code agrees
 * with the naive O(n^2) formulas. */
T_TEST(uplift_metrics_match_naive_reference)
{
    promo_rng r;
    promo_rng_init(&r, 15, 0);
    size_t n = 400;
    double *s = promo_mallocn(n, sizeof *s), *y = promo_mallocn(n, sizeof *y);
    int32_t *t = promo_mallocn(n, sizeof *t);
    T_ASSERT(s && y && t);
    for (int rep = 0; rep < 8; rep++) {
        int continuous = rep & 1;
        double grid = rep < 4 ? 10.0 : 1000.0; /* coarse scores: many ties */
        for (size_t i = 0; i < n; i++) {
            double x = promo_rng_uniform(&r);
            t[i] = (int32_t)promo_rng_bernoulli(&r, 0.3 + 0.3 * (rep % 3 == 0));
            double p = 0.2 + (t[i] ? 0.4 * x : 0.1);
            int buy = promo_rng_bernoulli(&r, p);
            y[i] = continuous ? buy * 50.0 * promo_rng_uniform(&r) : buy;
            s[i] = floor((x + 0.5 * promo_rng_normal(&r)) * grid) / grid;
        }
        promo_uplift_metrics m;
        T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, NULL));
        double q, a;
        naive_scores(s, t, y, n, &q, &a);
        T_ASSERT_NEAR(m.qini_coef, q, 1e-9);
        T_ASSERT_NEAR(m.auuc, a, 1e-9);
        T_ASSERT_NEAR(m.qini_area, naive_area(s, t, y, n, 1), 1e-7);
        T_ASSERT_NEAR(m.uplift_area, naive_area(s, t, y, n, 0), 1e-7);
        for (int k = 0; k < 3; k++)
            T_ASSERT_NEAR(m.uplift_at[k], naive_at(s, t, y, n, promo_uplift_at_frac[k]), 1e-12);
    }
    promo_free(s);
    promo_free(y);
    promo_free(t);
}

/* sklift's normalisation: the oracle ranking scores 1, its reverse is negative, a random
 * ranking is about 0, and the order rows arrive in does not matter. */
T_TEST(uplift_metrics_perfect_random_reversed)
{
    promo_rng r;
    promo_rng_init(&r, 16, 0);
    size_t n = 20000;
    double *s = promo_mallocn(n, sizeof *s), *y = promo_mallocn(n, sizeof *y);
    double *tau = promo_mallocn(n, sizeof *tau);
    int32_t *t = promo_mallocn(n, sizeof *t);
    T_ASSERT(s && y && t && tau);
    for (size_t i = 0; i < n; i++) {
        double x = promo_rng_uniform(&r);
        tau[i] = 0.3 * x - 0.05; /* some sleeping dogs */
        t[i] = (int32_t)promo_rng_bernoulli(&r, 0.5);
        y[i] = promo_rng_bernoulli(&r, 0.2 + (t[i] ? tau[i] : 0.0));
    }
    promo_uplift_metrics m;
    /* Oracle keys: the Qini one gives Qini 1, the uplift one AUUC 1. */
    for (size_t i = 0; i < n; i++)
        s[i] = t[i] ? y[i] : -y[i];
    T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, NULL));
    T_ASSERT_NEAR(m.qini_coef, 1.0, 1e-12);
    for (size_t i = 0; i < n; i++)
        s[i] = -s[i];
    T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, NULL));
    T_ASSERT(m.qini_coef < -0.3); /* -0.47 */
    T_ASSERT(m.auuc < 0.0);
    for (size_t i = 0; i < n; i++)
        s[i] = 2.0 * (y[i] == (double)t[i]) + (double)t[i];
    T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, NULL));
    T_ASSERT_NEAR(m.auuc, 1.0, 1e-12);
    /* The true effect ranks well but not perfectly; its reverse is negative. */
    T_OK(promo_uplift_evaluate(tau, t, y, n, 0, &m, NULL));
    double good_q = m.qini_coef, good_a = m.auuc;
    T_ASSERT(good_q > 0.05 && good_q < 1.0);
    T_ASSERT(good_a > 0.05 && good_a < 1.0);
    for (size_t i = 0; i < n; i++)
        s[i] = -tau[i];
    T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, NULL));
    T_ASSERT(m.qini_coef < -0.05 && m.auuc < -0.05);
    /* Random rankings: about 0 on average and far below the true effect's score. */
    double sum_q = 0.0, sum_a = 0.0;
    for (int rep = 0; rep < 20; rep++) {
        for (size_t i = 0; i < n; i++)
            s[i] = promo_rng_uniform(&r);
        T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, NULL));
        T_ASSERT(fabs(m.qini_coef) < good_q / 2 && fabs(m.auuc) < good_a / 2);
        sum_q += m.qini_coef;
        sum_a += m.auuc;
    }
    T_ASSERT(fabs(sum_q / 20) < 0.02 && fabs(sum_a / 20) < 0.02);
    /* A constant score: one block, the curve is the random line, areas 0. */
    for (size_t i = 0; i < n; i++)
        s[i] = 1.0;
    T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, NULL));
    T_ASSERT_NEAR(m.qini_coef, 0.0, 1e-12);
    T_ASSERT_NEAR(m.auuc, 0.0, 1e-12);
    promo_free(s);
    promo_free(y);
    promo_free(t);
    promo_free(tau);
}

/* Row order does not change the curves (ties are whole blocks). */
T_TEST(uplift_metrics_order_free)
{
    promo_rng r;
    promo_rng_init(&r, 17, 0);
    size_t n = 1000;
    double s[1000], y[1000], s2[1000], y2[1000];
    int32_t t[1000], t2[1000];
    for (size_t i = 0; i < n; i++) {
        s[i] = (double)promo_rng_below(&r, 7);
        t[i] = (int32_t)promo_rng_bernoulli(&r, 0.5);
        y[i] = promo_rng_bernoulli(&r, 0.1 + 0.05 * s[i] * t[i]);
        s2[n - 1 - i] = s[i];
        t2[n - 1 - i] = t[i];
        y2[n - 1 - i] = y[i];
    }
    promo_uplift_metrics a, b;
    promo_uplift_curve ca = {0}, cb = {0};
    T_OK(promo_uplift_evaluate(s, t, y, n, 11, &a, &ca));
    T_OK(promo_uplift_evaluate(s2, t2, y2, n, 11, &b, &cb));
    T_ASSERT_NEAR(a.qini_coef, b.qini_coef, 1e-12);
    T_ASSERT_NEAR(a.auuc, b.auuc, 1e-12);
    for (size_t j = 0; j < 11; j++) {
        T_ASSERT_NEAR(ca.qini[j], cb.qini[j], 1e-9);
        T_ASSERT_NEAR(ca.uplift[j], cb.uplift[j], 1e-9);
    }
    T_ASSERT_NEAR(ca.frac[10], 1.0, 0.0);
    T_ASSERT_NEAR(ca.qini[10], ca.random_qini[10], 1e-12);
    promo_uplift_curve_free(&ca);
    promo_uplift_curve_free(&cb);
}

T_TEST(uplift_metrics_errors)
{
    const double s[3] = {1, 2, 3}, y[3] = {0, 1, 0}, bad[3] = {0, NAN, 0};
    const int32_t t[3] = {1, 0, 1}, all[3] = {1, 1, 1}, two[3] = {1, 2, 0};
    promo_uplift_metrics m;
    promo_uplift_curve c = {0};
    T_ASSERT_EQ_INT(promo_uplift_evaluate(s, t, y, 0, 0, &m, NULL), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_evaluate(NULL, t, y, 3, 0, &m, NULL), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_evaluate(s, all, y, 3, 0, &m, NULL), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "treated and control");
    T_ASSERT_EQ_INT(promo_uplift_evaluate(s, two, y, 3, 0, &m, NULL), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "row 1");
    T_ASSERT_EQ_INT(promo_uplift_evaluate(bad, t, y, 3, 0, &m, NULL), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_evaluate(s, t, bad, 3, 0, &m, NULL), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_evaluate(s, t, y, 3, 1, &m, &c), PROMO_EUSAGE);
    T_ASSERT(c.frac == NULL);
}

/* ---- policy value ---- */

/* Four rows by hand: two arms, P(arm 1) = 0.5 everywhere. */
T_TEST(uplift_policy_value_hand_case)
{
    const int32_t pol[4] = {1, 1, 0, 0}, arm[4] = {1, 0, 0, 1};
    const double y[4] = {2, 1, 3, 5};
    const double e[8] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    const double mu[8] = {1, 2, 1, 2, 1, 2, 1, 2}; /* mu(arm 0) = 1, mu(arm 1) = 2 */
    promo_policy_value v;
    T_OK(promo_policy_value_estimate(pol, arm, y, e, mu, 4, 2, &v));
    /* IPS terms: 2/0.5, 0, 3/0.5, 0 = 4 0 6 0: mean 2.5, sample variance 27/3 = 9, se 3/2. */
    T_ASSERT_NEAR(v.ips, 2.5, 1e-12);
    T_ASSERT_NEAR(v.ips_se, 1.5, 1e-12);
    T_ASSERT_NEAR(v.ips_lo, 2.5 - 1.959963984540054 * 1.5, 1e-12);
    T_ASSERT_NEAR(v.ips_hi, 2.5 + 1.959963984540054 * 1.5, 1e-12);
    /* DR terms: 2 + (2-2)/0.5 = 2; 2; 1 + (3-1)/0.5 = 5; 1: mean 2.5, variance 9/3 = 3. */
    T_ASSERT_NEAR(v.dr, 2.5, 1e-12);
    T_ASSERT_NEAR(v.dr_se, sqrt(3.0) / 2.0, 1e-12);
    T_ASSERT_EQ_INT(v.n_matched, 2);
    /* e = NULL: the observed shares are 0.5 and 0.5 here too. */
    promo_policy_value w;
    T_OK(promo_policy_value_estimate(pol, arm, y, NULL, NULL, 4, 2, &w));
    T_ASSERT_NEAR(w.ips, v.ips, 1e-12);
    T_ASSERT(isnan(w.dr));
    /* No overlap: the policy's arm has probability 0. */
    const double e0[8] = {1, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    T_ASSERT_EQ_INT(promo_policy_value_estimate(pol, arm, y, e0, mu, 4, 2, &v), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "overlap");
    const int32_t bad[4] = {0, 2, 0, 0};
    T_ASSERT_EQ_INT(promo_policy_value_estimate(bad, arm, y, e, mu, 4, 2, &v), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_policy_value_estimate(pol, arm, y, e, mu, 1, 2, &v), PROMO_EUSAGE);
}

/* A randomised three-arm test, x ~ U(0, 1), y = 1 + x + effect_a(x) + N(0, 1) with
 * effect_1 = 0.5 - x, effect_2 = 2x - 1; the policy "arm 1 if x < 0.5 else arm 2" has the
 * true value 1.5 + 0.125 + 0.25 = 1.875. Over 200 seeded tests both 95% intervals cover it
 * about 95% of the time, and with a good outcome model DR varies less than IPS. */
static double mean_under(double x, int a)
{
    return 1.0 + x + (a == 1 ? 0.5 - x : a == 2 ? 2.0 * x - 1.0 : 0.0);
}

T_TEST(uplift_policy_value_coverage)
{
    const double truth = 1.875, share[3] = {0.4, 0.3, 0.3};
    size_t n = 2000;
    int32_t *pol = promo_mallocn(n, sizeof *pol), *arm = promo_mallocn(n, sizeof *arm);
    double *y = promo_mallocn(n, sizeof *y), *e = promo_mallocn(3 * n, sizeof *e);
    double *mu = promo_mallocn(3 * n, sizeof *mu);
    T_ASSERT(pol && arm && y && e && mu);
    int cover_ips = 0, cover_dr = 0, cover_obs = 0;
    double s_ips = 0, q_ips = 0, s_dr = 0, q_dr = 0, w_ips = 0, w_dr = 0;
    const int reps = 200;
    for (int rep = 0; rep < reps; rep++) {
        promo_rng r;
        promo_rng_init(&r, 1000 + (uint64_t)rep, 0);
        for (size_t i = 0; i < n; i++) {
            double x = promo_rng_uniform(&r), u = promo_rng_uniform(&r);
            arm[i] = u < share[0] ? 0 : u < share[0] + share[1] ? 1 : 2;
            pol[i] = x < 0.5 ? 1 : 2;
            y[i] = mean_under(x, arm[i]) + promo_rng_normal(&r);
            for (int a = 0; a < 3; a++) {
                e[i * 3 + (size_t)a] = share[a];
                /* A good but imperfect outcome model. */
                mu[i * 3 + (size_t)a] = mean_under(x, a) + 0.1 * (x - 0.5);
            }
        }
        promo_policy_value v, o;
        T_OK(promo_policy_value_estimate(pol, arm, y, e, mu, n, 3, &v));
        T_OK(promo_policy_value_estimate(pol, arm, y, NULL, mu, n, 3, &o));
        cover_ips += v.ips_lo <= truth && truth <= v.ips_hi;
        cover_dr += v.dr_lo <= truth && truth <= v.dr_hi;
        cover_obs += o.dr_lo <= truth && truth <= o.dr_hi;
        s_ips += v.ips;
        q_ips += v.ips * v.ips;
        s_dr += v.dr;
        q_dr += v.dr * v.dr;
        w_ips += v.ips_hi - v.ips_lo;
        w_dr += v.dr_hi - v.dr_lo;
    }
    double var_ips = q_ips / reps - (s_ips / reps) * (s_ips / reps);
    double var_dr = q_dr / reps - (s_dr / reps) * (s_dr / reps);
    T_ASSERT_MSG(cover_ips >= 176 && cover_ips <= 198, "IPS covered %d of 200", cover_ips);
    T_ASSERT_MSG(cover_dr >= 176 && cover_dr <= 198, "DR covered %d of 200", cover_dr);
    T_ASSERT_MSG(cover_obs >= 176 && cover_obs <= 198, "DR (observed shares) covered %d of 200",
                 cover_obs);
    T_ASSERT_NEAR(s_ips / reps, truth, 0.03);
    T_ASSERT_NEAR(s_dr / reps, truth, 0.02);
    T_ASSERT_MSG(var_dr < 0.5 * var_ips, "var DR %g vs IPS %g", var_dr, var_ips);
    T_ASSERT(w_dr < w_ips);
    promo_free(pol);
    promo_free(arm);
    promo_free(y);
    promo_free(e);
    promo_free(mu);
}

/* A targeted (not randomised) log of the same world: P(arm | x) = (0.6, 0.2, 0.2) below
 * x = 0.5 and (0.2, 0.2, 0.6) above. Double robustness: with the true propensities IPS and a
 * DR with a useless outcome model (constant 0) cover the truth; with the wrong propensities
 * (the overall shares) DR with the true outcome model still does. */
T_TEST(uplift_policy_value_targeted_log)
{
    const double truth = 1.875;
    size_t n = 2000;
    int32_t *pol = promo_mallocn(n, sizeof *pol), *arm = promo_mallocn(n, sizeof *arm);
    double *y = promo_mallocn(n, sizeof *y), *e = promo_mallocn(3 * n, sizeof *e);
    double *mu0 = promo_calloc(3 * n, sizeof *mu0), *mu = promo_mallocn(3 * n, sizeof *mu);
    T_ASSERT(pol && arm && y && e && mu0 && mu);
    int cover_ips = 0, cover_dr_bad_mu = 0, cover_dr_bad_e = 0;
    const int reps = 200;
    for (int rep = 0; rep < reps; rep++) {
        promo_rng r;
        promo_rng_init(&r, 5000 + (uint64_t)rep, 0);
        for (size_t i = 0; i < n; i++) {
            double x = promo_rng_uniform(&r), u = promo_rng_uniform(&r);
            double p0 = x < 0.5 ? 0.6 : 0.2, p2 = x < 0.5 ? 0.2 : 0.6;
            arm[i] = u < p0 ? 0 : u < 1.0 - p2 ? 1 : 2;
            pol[i] = x < 0.5 ? 1 : 2;
            y[i] = mean_under(x, arm[i]) + promo_rng_normal(&r);
            e[i * 3] = p0;
            e[i * 3 + 1] = 0.2;
            e[i * 3 + 2] = p2;
            for (int a = 0; a < 3; a++)
                mu[i * 3 + (size_t)a] = mean_under(x, a);
        }
        promo_policy_value v, w;
        T_OK(promo_policy_value_estimate(pol, arm, y, e, mu0, n, 3, &v));
        T_OK(promo_policy_value_estimate(pol, arm, y, NULL, mu, n, 3, &w));
        cover_ips += v.ips_lo <= truth && truth <= v.ips_hi;
        cover_dr_bad_mu += v.dr_lo <= truth && truth <= v.dr_hi;
        cover_dr_bad_e += w.dr_lo <= truth && truth <= w.dr_hi;
    }
    T_ASSERT_MSG(cover_ips >= 176 && cover_ips <= 198, "IPS covered %d of 200", cover_ips);
    T_ASSERT_MSG(cover_dr_bad_mu >= 176 && cover_dr_bad_mu <= 198,
                 "DR (constant mu) covered %d of 200", cover_dr_bad_mu);
    T_ASSERT_MSG(cover_dr_bad_e >= 176 && cover_dr_bad_e <= 198,
                 "DR (wrong propensities) covered %d of 200", cover_dr_bad_e);
    promo_free(pol);
    promo_free(arm);
    promo_free(y);
    promo_free(e);
    promo_free(mu0);
    promo_free(mu);
}

/* ---- groups and ROI ---- */

T_TEST(uplift_groups)
{
    const double pt[5] = {0.9, 0.8, 0.1, 0.2, 0.5}, pc[5] = {0.1, 0.7, 0.2, 0.9, 0.5};
    int32_t g[5];
    size_t cnt[4];
    T_OK(promo_uplift_groups(pt, pc, 5, NAN, g, cnt));
    T_ASSERT_EQ_INT(g[0], PROMO_UPLIFT_PERSUADABLE);
    T_ASSERT_EQ_INT(g[1], PROMO_UPLIFT_SURE_THING);
    T_ASSERT_EQ_INT(g[2], PROMO_UPLIFT_LOST_CAUSE);
    T_ASSERT_EQ_INT(g[3], PROMO_UPLIFT_SLEEPING_DOG);
    T_ASSERT_EQ_INT(g[4], PROMO_UPLIFT_SURE_THING); /* 0.5 >= 0.5 on both */
    T_ASSERT_EQ_INT(cnt[0], 1);
    T_ASSERT_EQ_INT(cnt[1], 2);
    T_ASSERT_EQ_INT(cnt[2], 1);
    T_ASSERT_EQ_INT(cnt[3], 1);
    T_OK(promo_uplift_groups(pt, pc, 5, 0.75, NULL, cnt));
    T_ASSERT_EQ_INT(cnt[PROMO_UPLIFT_PERSUADABLE], 2); /* rows 0, 1 */
    T_ASSERT_EQ_INT(cnt[PROMO_UPLIFT_SLEEPING_DOG], 1);
    T_ASSERT_EQ_INT(cnt[PROMO_UPLIFT_LOST_CAUSE], 2);
    T_ASSERT_STR_EQ(promo_uplift_group_name(PROMO_UPLIFT_SLEEPING_DOG), "sleeping dogs");
    T_ASSERT_STR_EQ(promo_uplift_group_name(9), "?");
    const double nan_p[1] = {NAN};
    T_ASSERT_EQ_INT(promo_uplift_groups(nan_p, pc, 1, 0.5, NULL, cnt), PROMO_EUSAGE);
    /* Profiles: the mean of each column per group, NaN skipped, empty group NaN. */
    const double x[10] = {1, 10, 3, NAN, 5, 30, 7, 40, 9, 50};
    double mean[8];
    T_OK(promo_uplift_group_profile(x, 5, 2, g, mean));
    T_ASSERT_NEAR(mean[0], 1.0, 1e-12);  /* persuadables: row 0 */
    T_ASSERT_NEAR(mean[2], 6.0, 1e-12);  /* sure things: rows 1, 4 */
    T_ASSERT_NEAR(mean[3], 50.0, 1e-12); /* row 1's NaN skipped */
    T_ASSERT_NEAR(mean[7], 40.0, 1e-12); /* sleeping dogs: row 3 */
}

T_TEST(uplift_roi)
{
    /* 1000 contacted, 120 convert with the offer, 40 of them because of it: margin 30,
     * discount 5 per redemption, contact 0.1: 1200 - 600 - 100 = 500 on 700 spent. */
    promo_uplift_roi_params p = {30.0, 5.0, 0.1};
    promo_uplift_roi r;
    T_OK(promo_uplift_roi_compute(&p, 1000, 120, 40, &r));
    T_ASSERT_NEAR(r.incremental_revenue, 1200.0, 1e-9);
    T_ASSERT_NEAR(r.discount_total, 600.0, 1e-9);
    T_ASSERT_NEAR(r.contact_total, 100.0, 1e-9);
    T_ASSERT_NEAR(r.profit, 500.0, 1e-9);
    T_ASSERT_NEAR(r.roi, 500.0 / 700.0, 1e-12);
    promo_uplift_roi_params free_offer = {30.0, 0.0, 0.0};
    T_OK(promo_uplift_roi_compute(&free_offer, 10, 1, -1, &r));
    T_ASSERT_NEAR(r.profit, -30.0, 1e-12);
    T_ASSERT(isnan(r.roi));
    promo_uplift_roi_params neg = {30.0, -1.0, 0.0};
    T_ASSERT_EQ_INT(promo_uplift_roi_compute(&neg, 10, 1, 1, &r), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_roi_compute(&p, -1, 1, 1, &r), PROMO_EUSAGE);
    /* From a test set: the top 40% of the 10-row case of uplift_metrics_at_k = rows 0, 1, 3,
     * 2: treated 0, 3, 2 (y 1, 1, 0), control 1 (y 0): r_T = 2/3, r_C = 0. */
    const double s[10] = {0.9, 0.8, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -1.0};
    const int32_t t[10] = {1, 0, 1, 1, 0, 1, 0, 1, 0, 0};
    const double y[10] = {1, 0, 0, 1, 1, 0, 1, 0, 0, 1};
    T_OK(promo_uplift_roi_at(s, t, y, 10, 0.4, &p, &r));
    T_ASSERT_NEAR(r.n_contacted, 4.0, 1e-12);
    T_ASSERT_NEAR(r.conversions, 8.0 / 3.0, 1e-12);
    T_ASSERT_NEAR(r.incremental, 8.0 / 3.0, 1e-12);
    T_ASSERT_NEAR(r.profit, 80.0 - 40.0 / 3.0 - 0.4, 1e-9);
    T_ASSERT_EQ_INT(promo_uplift_roi_at(s, t, y, 10, 0.1, &p, &r), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_roi_at(s, t, y, 10, 1.5, &p, &r), PROMO_EUSAGE);
}

/* ---- chart ---- */

static int is_png(const char *path)
{
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return got == 8 && size > 1000 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8);
}

T_TEST(uplift_plot)
{
    promo_rng r;
    promo_rng_init(&r, 18, 0);
    size_t n = 2000;
    double *s = promo_mallocn(n, sizeof *s), *y = promo_mallocn(n, sizeof *y);
    int32_t *t = promo_mallocn(n, sizeof *t);
    T_ASSERT(s && y && t);
    for (size_t i = 0; i < n; i++) {
        s[i] = promo_rng_uniform(&r);
        t[i] = (int32_t)promo_rng_bernoulli(&r, 0.5);
        y[i] = promo_rng_bernoulli(&r, 0.1 + (t[i] ? 0.2 * s[i] : 0.0));
    }
    promo_uplift_metrics m;
    promo_uplift_curve c = {0};
    T_OK(promo_uplift_evaluate(s, t, y, n, 0, &m, &c));
    T_ASSERT_EQ_INT(c.n_points, 101);
    char path[512];
    snprintf(path, sizeof path, "%s/uplift.png", t_tmpdir());
    promo_uplift_curve empty = {0};
    T_ASSERT_EQ_INT(promo_plot_uplift(&empty, NULL, path), PROMO_EUSAGE);
    if (promo_plot_available()) {
        T_OK(promo_plot_uplift(&c, "T-learner 'visit'", path));
        T_ASSERT_MSG(is_png(path), "%s is not a PNG", path);
    }
    promo_uplift_curve_free(&c);
    promo_free(s);
    promo_free(y);
    promo_free(t);
}
