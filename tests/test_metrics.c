/* Tests of src/eval/metrics.c: hand-computed values (checked against scikit-learn), ties,
 * a naive O(n^2) AUC on random data, and input errors. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/metrics.h>
#include <promo/rng.h>

#include "t.h"

T_TEST(metrics_hand_computed)
{
    /* sklearn: roc_auc 7/9, average_precision 0.80556, ndcg@3 0.70392 */
    const double s[] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4};
    const uint8_t y[] = {1, 0, 1, 1, 0, 0};
    double auc, ap, p, r, g;
    T_OK(promo_roc_auc(s, y, 6, &auc));
    T_ASSERT_NEAR(auc, 7.0 / 9.0, 1e-12);
    T_OK(promo_pr_auc(s, y, 6, &ap));
    T_ASSERT_NEAR(ap, (1.0 + 2.0 / 3.0 + 0.75) / 3.0, 1e-12);
    T_OK(promo_at_k(s, y, 6, 3, &p, &r, &g));
    T_ASSERT_NEAR(p, 2.0 / 3.0, 1e-12);
    T_ASSERT_NEAR(r, 2.0 / 3.0, 1e-12);
    T_ASSERT_NEAR(g, 0.7039180890341348, 1e-12);
    T_OK(promo_at_k(s, y, 6, 2, &p, &r, NULL));
    T_ASSERT_NEAR(p, 0.5, 1e-12);
    T_ASSERT_NEAR(r, 1.0 / 3.0, 1e-12);
    /* K beyond n uses all rows. */
    T_OK(promo_at_k(s, y, 6, 100, &p, &r, NULL));
    T_ASSERT_NEAR(p, 0.5, 1e-12);
    T_ASSERT_NEAR(r, 1.0, 1e-12);
    /* Top decile of 6 rows is 1 row: a positive, lift = 1 / 0.5. */
    double lift;
    T_OK(promo_lift_at(s, y, 6, 0.1, &lift));
    T_ASSERT_NEAR(lift, 2.0, 1e-12);
}

T_TEST(metrics_ties)
{
    /* sklearn: roc_auc 0.125, average_precision 0.41667, ndcg@2 0.19343 */
    const double s[] = {0.9, 0.5, 0.5, 0.1};
    const uint8_t y[] = {0, 1, 0, 1};
    double auc, ap, p, g;
    T_OK(promo_roc_auc(s, y, 4, &auc));
    T_ASSERT_NEAR(auc, 0.125, 1e-12);
    T_OK(promo_pr_auc(s, y, 4, &ap));
    T_ASSERT_NEAR(ap, 5.0 / 12.0, 1e-12);
    T_OK(promo_at_k(s, y, 4, 2, &p, NULL, &g));
    T_ASSERT_NEAR(p, 0.25, 1e-12); /* half a positive expected in the second slot */
    T_ASSERT_NEAR(g, 0.19342640361727081, 1e-12);

    /* A constant score: AUC 0.5, precision = base rate at every K, lift 1. */
    const double c[] = {0.3, 0.3, 0.3, 0.3, 0.3};
    const uint8_t yc[] = {1, 0, 0, 1, 0};
    double lift;
    T_OK(promo_roc_auc(c, yc, 5, &auc));
    T_ASSERT_NEAR(auc, 0.5, 1e-12);
    T_OK(promo_at_k(c, yc, 5, 1, &p, NULL, NULL));
    T_ASSERT_NEAR(p, 0.4, 1e-12);
    T_OK(promo_lift_at(c, yc, 5, 0.1, &lift));
    T_ASSERT_NEAR(lift, 1.0, 1e-12);

    /* One class only: AUC undefined, not an error. */
    const uint8_t all1[] = {1, 1, 1, 1};
    T_OK(promo_roc_auc(s, all1, 4, &auc));
    T_ASSERT(isnan(auc));
}

T_TEST(metrics_probability_scores)
{
    const double p[] = {0.8, 0.3};
    const uint8_t y[] = {1, 0};
    double ll, b;
    T_OK(promo_log_loss(p, y, 2, &ll));
    T_ASSERT_NEAR(ll, 0.2899092476264711, 1e-12);
    T_OK(promo_brier(p, y, 2, &b));
    T_ASSERT_NEAR(b, 0.065, 1e-12);
    /* Clipping keeps a confident mistake finite. */
    const double q[] = {0.0};
    const uint8_t one[] = {1};
    T_OK(promo_log_loss(q, one, 1, &ll));
    T_ASSERT_NEAR(ll, -log(1e-15), 1e-9);

    const double r[] = {0.1, 0.2, 0.7, 0.9, 1.0};
    const uint8_t yr[] = {0, 1, 1, 1, 1};
    double mp[2], fp[2], ece;
    size_t cnt[2];
    T_OK(promo_reliability(r, yr, 5, 2, mp, fp, cnt, &ece));
    T_ASSERT_EQ_INT(cnt[0], 2);
    T_ASSERT_EQ_INT(cnt[1], 3); /* p = 1 lands in the last bin */
    T_ASSERT_NEAR(mp[0], 0.15, 1e-12);
    T_ASSERT_NEAR(fp[0], 0.5, 1e-12);
    T_ASSERT_NEAR(mp[1], 2.6 / 3.0, 1e-12);
    T_ASSERT_NEAR(ece, 0.4 * 0.35 + 0.6 * (1.0 - 2.6 / 3.0), 1e-12);
}

T_TEST(metrics_errors)
{
    const double s[] = {0.5, NAN};
    const uint8_t y[] = {1, 0};
    const uint8_t bad[] = {1, 2};
    double v;
    T_ASSERT_EQ_INT(promo_roc_auc(s, y, 2, &v), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "NaN");
    T_ASSERT_EQ_INT(promo_roc_auc(s, bad, 1, &v), PROMO_OK);
    T_ASSERT_EQ_INT(promo_roc_auc(s, bad, 2, &v), PROMO_EUSAGE);
    const double big[] = {1.5, 0.2};
    T_ASSERT_EQ_INT(promo_brier(big, y, 2, &v), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "outside [0, 1]");
    T_ASSERT_EQ_INT(promo_at_k(big, y, 2, 0, &v, NULL, NULL), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_roc_auc(big, y, 0, &v), PROMO_EUSAGE);
    /* Allocation failure is reported, not crashed on. */
    promo_alloc_fail_at(1);
    T_ASSERT_EQ_INT(promo_roc_auc(big, y, 2, &v), PROMO_ENOMEM);
    promo_alloc_fail_at(0);
}

static double naive_auc(const double *s, const uint8_t *y, size_t n)
{
    double u = 0.0, np = 0.0, nn = 0.0;
    for (size_t i = 0; i < n; i++) {
        np += y[i];
        nn += !y[i];
        if (!y[i])
            continue;
        for (size_t j = 0; j < n; j++)
            if (!y[j])
                u += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
    }
    return u / (np * nn);
}

/* Naive @K: expected hits among the top k under random order within ties, by brute force
 * over each item's chance to be in the top k. */
static double naive_hits(const double *s, const uint8_t *y, size_t n, size_t k)
{
    double h = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!y[i])
            continue;
        size_t above = 0, tie = 0;
        for (size_t j = 0; j < n; j++) {
            above += s[j] > s[i];
            tie += s[j] == s[i];
        }
        if (above >= k)
            continue;
        double slots = (double)(k - above);
        h += slots >= (double)tie ? 1.0 : slots / (double)tie;
    }
    return h;
}

T_TEST(metrics_random_vs_naive)
{
    promo_rng r;
    promo_rng_init(&r, 42, 0);
    size_t n = 1500;
    double *s = promo_mallocn(n, sizeof *s);
    uint8_t *y = promo_mallocn(n, sizeof *y);
    T_ASSERT(s && y);
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < n; i++) {
            y[i] = (uint8_t)promo_rng_bernoulli(&r, 0.2);
            double x = promo_rng_uniform(&r) + 0.5 * y[i];
            /* Coarse rounding in odd rounds makes many ties. */
            s[i] = (round & 1) ? floor(x * 10.0) / 10.0 : x;
        }
        double auc;
        T_OK(promo_roc_auc(s, y, n, &auc));
        T_ASSERT_NEAR(auc, naive_auc(s, y, n), 1e-12);
        size_t n_pos = 0;
        for (size_t i = 0; i < n; i++)
            n_pos += y[i];
        for (size_t k = 1; k < n; k = k * 3 + 1) {
            double p, rec;
            T_OK(promo_at_k(s, y, n, k, &p, &rec, NULL));
            double h = naive_hits(s, y, n, k);
            T_ASSERT_NEAR(p, h / (double)k, 1e-9);
            T_ASSERT_NEAR(rec, h / (double)n_pos, 1e-9);
        }
        /* The gains curve at its last step finds every positive, and agrees with lift_at. */
        double gain[10], lift[10], l1;
        T_OK(promo_gains_curve(s, y, n, 10, gain, lift));
        T_ASSERT_NEAR(gain[9], 1.0, 1e-12);
        T_ASSERT_NEAR(lift[9], 1.0, 1e-12);
        T_OK(promo_lift_at(s, y, n, 0.1, &l1));
        T_ASSERT_NEAR(lift[0], l1, 1e-12);
        for (int t = 1; t < 10; t++)
            T_ASSERT(gain[t] >= gain[t - 1]);
    }
    promo_free(s);
    promo_free(y);
}

T_TEST(metrics_pr_curve_and_summary)
{
    const double s[] = {0.9, 0.5, 0.5, 0.1};
    const uint8_t y[] = {0, 1, 0, 1};
    double *rec = NULL, *prec = NULL;
    size_t m = 0;
    T_OK(promo_pr_curve(s, y, 4, &rec, &prec, &m));
    T_ASSERT_EQ_INT(m, 3);
    T_ASSERT_NEAR(rec[0], 0.0, 1e-12);
    T_ASSERT_NEAR(prec[0], 0.0, 1e-12);
    T_ASSERT_NEAR(rec[1], 0.5, 1e-12);
    T_ASSERT_NEAR(prec[1], 1.0 / 3.0, 1e-12);
    T_ASSERT_NEAR(rec[2], 1.0, 1e-12);
    T_ASSERT_NEAR(prec[2], 0.5, 1e-12);
    promo_free(rec);
    promo_free(prec);

    promo_binary_metrics bm;
    T_OK(promo_metrics_binary(s, y, 4, &bm));
    T_ASSERT_EQ_INT(bm.n_pos, 2);
    T_ASSERT_NEAR(bm.base_rate, 0.5, 1e-12);
    T_ASSERT_NEAR(bm.auc, 0.125, 1e-12);
    T_ASSERT_NEAR(bm.pr_auc, 5.0 / 12.0, 1e-12);
    T_ASSERT_NEAR(bm.precision_at[1], 0.5, 1e-12); /* K = 100 > n: all rows */
    T_ASSERT_NEAR(bm.recall_at[1], 1.0, 1e-12);
    T_ASSERT(bm.lift_top_decile == 0.0);
    T_ASSERT(bm.brier > 0.0 && bm.log_loss > 0.0 && bm.ece >= 0.0);
}
