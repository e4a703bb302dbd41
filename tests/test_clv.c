/* BG/NBD and Gamma-Gamma: closed forms against published figures, the CDNOW fit, recovery of
 * known parameters from simulated data, and failure modes. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/clv.h>
#include <promo/error.h>
#include <promo/rng.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_hyperg.h>

#include "t.h"

static const promo_bgnbd cdnow_published = {.r = 0.243, .alpha = 4.414, .a = 0.793, .b = 2.426};

T_TEST(clv_hyp2f1_matches_gsl)
{
    const double cases[][4] = {{1.5, 2.0, 3.5, 0.3}, {0.243, 2.426, 2.219, 0.45},
                               {-0.2, 0.7, 4.0, 0.2}, {5.0, 7.0, 13.0, 0.1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double want = gsl_sf_hyperg_2F1(cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
        double got = promo_hyp2f1(cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
        T_ASSERT_NEAR(got, want, 1e-12 * fabs(want));
    }
    T_ASSERT(isnan(promo_hyp2f1(1, 1, 2, 1.0)));
}

/* FHL 2005 report, for CDNOW customer 1 (x = 2, t_x = 30.43, T = 38.86 weeks), 1.226 expected
 * purchases in the next 39 weeks under the published parameters. */
T_TEST(clv_bgnbd_expected_published_example)
{
    double e = promo_bgnbd_expected(&cdnow_published, 39, 2, 30.43, 38.86);
    T_ASSERT_NEAR(e, 1.226, 0.002);
    /* Heavy buyer: the untransformed series would overflow; ours stays finite and sane. */
    double h = promo_bgnbd_expected(&cdnow_published, 39, 400, 38.86, 38.86);
    T_ASSERT(isfinite(h) && h > 200 && h < 400 * 39 / 38.86);
    /* Euler-transformed evaluation == the textbook form where the latter is safe. */
    {
        const promo_bgnbd *m = &cdnow_published;
        double x = 16, tx = 30, T = 38.86, t = 39, z = t / (m->alpha + T + t);
        double f = gsl_sf_hyperg_2F1(m->r + x, m->b + x, m->a + m->b + x - 1, z);
        double num = (m->a + m->b + x - 1) / (m->a - 1) *
                     (1 - pow((m->alpha + T) / (m->alpha + T + t), m->r + x) * f);
        double den = 1 + m->a / (m->b + x - 1) * pow((m->alpha + T) / (m->alpha + tx), m->r + x);
        T_ASSERT_NEAR(promo_bgnbd_expected(m, t, x, tx, T), num / den, 1e-9 * num / den);
    }
    double pa = promo_bgnbd_p_alive(&cdnow_published, 2, 30.43, 38.86);
    T_ASSERT(pa > 0 && pa < 1);
    T_ASSERT_NEAR(promo_bgnbd_p_alive(&cdnow_published, 0, 0, 38.86), 1.0, 0);
    /* E[X(t)] for a new customer rises with t and is 0 at t = 0. */
    T_ASSERT_NEAR(promo_bgnbd_expected_new(&cdnow_published, 0), 0, 1e-12);
    T_ASSERT(promo_bgnbd_expected_new(&cdnow_published, 39) <
             promo_bgnbd_expected_new(&cdnow_published, 78));
}

/* The CDNOW summaries are plain numeric CSV with a header: read columns c0..c3 of each row
 * (no dependency on the CSV module, so this file tests the model alone). */
static size_t read_numeric_csv(const char *path, int n_cols, double **cols)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    size_t n = 0, cap = 4096;
    for (int c = 0; c < n_cols; c++)
        cols[c] = promo_mallocn(cap, sizeof(double));
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        if (n == cap) {
            cap *= 2;
            for (int c = 0; c < n_cols; c++)
                cols[c] = promo_reallocn(cols[c], cap, sizeof(double));
        }
        char *p = line;
        for (int c = 0; c < n_cols; c++) {
            cols[c][n] = strtod(p, &p);
            if (*p == ',')
                p++;
        }
        n++;
    }
    fclose(f);
    return n;
}

T_TEST(clv_bgnbd_cdnow_published_fit)
{
    const char *path = t_shared_data("cdnow/cdnow_customers_summary.csv");
    if (!path)
        T_SKIP("../shared/data/cdnow/cdnow_customers_summary.csv is absent");
    double *c[4];
    size_t n = read_numeric_csv(path, 4, c); /* ID,frequency,recency,T */
    T_ASSERT_EQ_INT(n, 2357);
    double *x = c[1], *tx = c[2], *T = c[3];
    promo_bgnbd m;
    T_OK(promo_bgnbd_fit(x, tx, T, n, NULL, &m));
    fprintf(stderr, "    cdnow bgnbd: r=%.4f alpha=%.4f a=%.4f b=%.4f ll=%.2f iters=%d\n", m.r,
            m.alpha, m.a, m.b, m.loglik, m.iterations);
    T_ASSERT_NEAR(m.r, 0.243, 0.01 * 0.243);
    T_ASSERT_NEAR(m.alpha, 4.414, 0.01 * 4.414);
    T_ASSERT_NEAR(m.a, 0.793, 0.01 * 0.793);
    T_ASSERT_NEAR(m.b, 2.426, 0.01 * 2.426);
    T_ASSERT_NEAR(m.loglik, -9582.4, 0.5);
    for (int k = 0; k < 4; k++)
        promo_free(c[k]);
}

T_TEST(clv_gamma_gamma_cdnow_published_fit)
{
    const char *path = t_shared_data("cdnow/cdnow_customers_summary_with_transactions.csv");
    if (!path)
        T_SKIP("../shared/data/cdnow/cdnow_customers_summary_with_transactions.csv is absent");
    double *c[5];
    size_t n = read_numeric_csv(path, 5, c); /* ID,x,t_x,T,zbar */
    T_ASSERT_EQ_INT(n, 2357);
    double *x = c[1], *zb = c[4];
    promo_gamma_gamma g;
    T_OK(promo_gamma_gamma_fit(x, zb, n, NULL, &g));
    fprintf(stderr, "    cdnow gamma-gamma: p=%.4f q=%.4f v=%.4f n=%zu\n", g.p, g.q, g.v, g.n_fit);
    T_ASSERT_NEAR(g.p, 6.25, 0.02 * 6.25);
    T_ASSERT_NEAR(g.q, 3.74, 0.02 * 3.74);
    T_ASSERT_NEAR(g.v, 15.44, 0.02 * 15.44);
    for (int k = 0; k < 5; k++)
        promo_free(c[k]);
}

/* Simulate BG/NBD customers with known parameters over [first purchase, T]. */
static void simulate_bgnbd(const promo_bgnbd *truth, size_t n, uint64_t seed, double *x,
                           double *tx, double *T)
{
    gsl_rng *g = promo_rng_gsl(seed, 0);
    for (size_t i = 0; i < n; i++) {
        double lam = gsl_ran_gamma(g, truth->r, 1.0 / truth->alpha);
        double p = gsl_ran_beta(g, truth->a, truth->b);
        T[i] = 26 + 26 * gsl_rng_uniform(g); /* cohorts of different ages, weeks */
        double t = 0, last = 0;
        int k = 0;
        for (;;) {
            t += gsl_ran_exponential(g, 1.0 / lam);
            if (t > T[i])
                break;
            k++;
            last = t;
            if (gsl_rng_uniform(g) < p) /* drops out after this purchase */
                break;
        }
        x[i] = k;
        tx[i] = last;
    }
    gsl_rng_free(g);
}

T_TEST(clv_bgnbd_recovers_simulated_parameters)
{
    const promo_bgnbd truth = {.r = 0.5, .alpha = 3.0, .a = 0.8, .b = 3.0};
    size_t n = 10000;
    double *buf = promo_mallocn(3 * n, sizeof *buf);
    T_ASSERT(buf);
    simulate_bgnbd(&truth, n, 7, buf, buf + n, buf + 2 * n);
    promo_bgnbd m;
    T_OK(promo_bgnbd_fit(buf, buf + n, buf + 2 * n, n, NULL, &m));
    fprintf(stderr, "    simulated bgnbd: r=%.3f alpha=%.3f a=%.3f b=%.3f (truth 0.5 3 0.8 3)\n",
            m.r, m.alpha, m.a, m.b);
    /* Tolerances ~3 standard errors at n = 10000 (a and b are the least precise). */
    T_ASSERT_NEAR(m.r, truth.r, 0.07);
    T_ASSERT_NEAR(m.alpha, truth.alpha, 0.6);
    T_ASSERT_NEAR(m.a, truth.a, 0.35);
    T_ASSERT_NEAR(m.b, truth.b, 1.7);
    /* The fit beats the truth on the data (it is the maximum) but not by much. */
    double ll_truth = promo_bgnbd_loglik(&truth, buf, buf + n, buf + 2 * n, n);
    T_ASSERT(m.loglik >= ll_truth - 1e-6);
    T_ASSERT(m.loglik - ll_truth < 20);
    /* The batch prediction equals the one-at-a-time one bit for bit (times in whole weeks so
     * that (x, T) pairs repeat, as they do in days in the features). */
    {
        size_t nb = 2000;
        double *bx = promo_mallocn(4 * nb, sizeof *bx), *bt = bx + nb, *bT = bx + 2 * nb,
               *be = bx + 3 * nb;
        T_ASSERT(bx);
        for (size_t i = 0; i < nb; i++) {
            bT[i] = ceil(buf[2 * n + i]);
            bx[i] = buf[i];
            bt[i] = bx[i] > 0 ? fmin(ceil(buf[n + i]), bT[i]) : 0;
        }
        T_OK(promo_bgnbd_expected_many(&m, 10, bx, bt, bT, nb, 2, be));
        for (size_t i = 0; i < nb; i++)
            T_ASSERT_MSG(be[i] == promo_bgnbd_expected(&m, 10, bx[i], bt[i], bT[i]), "row %zu", i);
        promo_free(bx);
    }
    /* Same fit with 1 thread (block sums make it thread-count independent). */
    promo_clv_params p1 = promo_clv_params_default(), p2 = p1;
    p1.n_threads = 1;
    p2.n_threads = 2;
    promo_bgnbd m1, m2;
    T_OK(promo_bgnbd_fit(buf, buf + n, buf + 2 * n, 3000, &p1, &m1));
    T_OK(promo_bgnbd_fit(buf, buf + n, buf + 2 * n, 3000, &p2, &m2));
    T_ASSERT(m1.r == m2.r && m1.alpha == m2.alpha && m1.a == m2.a && m1.b == m2.b);
    promo_free(buf);
}

T_TEST(clv_gamma_gamma_recovers_simulated_parameters)
{
    double p = 4.0, q = 3.0, v = 20.0;
    size_t n = 10000;
    double *x = promo_mallocn(n, sizeof *x), *m = promo_mallocn(n, sizeof *m);
    T_ASSERT(x && m);
    gsl_rng *g = promo_rng_gsl(11, 0);
    for (size_t i = 0; i < n; i++) {
        double nu = gsl_ran_gamma(g, q, 1.0 / v);
        x[i] = 1 + gsl_rng_uniform_int(g, 8);
        double s = 0;
        for (int k = 0; k < (int)x[i]; k++)
            s += gsl_ran_gamma(g, p, 1.0 / nu);
        m[i] = s / x[i];
    }
    gsl_rng_free(g);
    promo_gamma_gamma gg;
    T_OK(promo_gamma_gamma_fit(x, m, n, NULL, &gg));
    fprintf(stderr, "    simulated gamma-gamma: p=%.3f q=%.3f v=%.3f (truth 4 3 20)\n", gg.p, gg.q,
            gg.v);
    T_ASSERT_NEAR(gg.p, p, 0.4);
    T_ASSERT_NEAR(gg.q, q, 0.5);
    T_ASSERT_NEAR(gg.v, v, 5.0);
    double e = promo_gamma_gamma_expected_spend(&gg, 3, 10);
    T_ASSERT(e > 0 && isfinite(e));
    promo_free(x);
    promo_free(m);
}

T_TEST(clv_bgnbd_rejects_unsupported_data)
{
    double x[20] = {0}, tx[20] = {0}, T[20];
    for (int i = 0; i < 20; i++)
        T[i] = 10 + i;
    promo_bgnbd m;
    T_ASSERT_EQ_INT(promo_bgnbd_fit(x, tx, T, 20, NULL, &m), PROMO_EMODEL);
    T_ASSERT_CONTAINS(promo_last_error(), "no customer made a repeat purchase");
    x[3] = 2; /* t_x = 0 with x > 0 is invalid */
    T_ASSERT_EQ_INT(promo_bgnbd_fit(x, tx, T, 20, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "customer 3");
    T_ASSERT_EQ_INT(promo_bgnbd_fit(x, tx, T, 5, NULL, &m), PROMO_EUSAGE);
    /* Degenerate but valid: everyone buys exactly once more at the very end. The penalty
     * keeps the parameters finite, so it either fits or says why, never NaN. */
    for (int i = 0; i < 20; i++) {
        x[i] = 1;
        tx[i] = T[i];
    }
    int rc = promo_bgnbd_fit(x, tx, T, 20, NULL, &m);
    T_ASSERT(rc == PROMO_OK || rc == PROMO_EMODEL);
    if (rc == PROMO_OK)
        T_ASSERT(isfinite(m.r) && isfinite(m.alpha) && isfinite(m.a) && isfinite(m.b));
}
