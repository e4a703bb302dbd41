/* Tests of src/models/linear.c: gradient by finite differences, optimality of the fit,
 * recovery of known coefficients, NaN imputation, thread-count independence. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/linear.h>
#include <promo/rng.h>

#include "t.h"

T_TEST(logreg_gradient_finite_differences)
{
    promo_rng r;
    promo_rng_init(&r, 11, 0);
    size_t n = 300, d = 5;
    double *z = promo_mallocn(n * d, sizeof *z);
    float *y = promo_mallocn(n, sizeof *y), *w = promo_mallocn(n, sizeof *w);
    T_ASSERT(z && y && w);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            z[i * d + j] = promo_rng_normal(&r);
        y[i] = (float)promo_rng_bernoulli(&r, 0.3);
        w[i] = (float)(0.5 + promo_rng_uniform(&r));
    }
    double beta[5] = {0.3, -0.7, 0.1, 1.2, -0.4}, b = -0.5, grad[6];
    promo_logreg_objective(z, n, d, y, w, 2.0, beta, b, grad);
    for (size_t j = 0; j <= d; j++) {
        double h = 1e-5, bp[5], bm[5];
        memcpy(bp, beta, sizeof bp);
        memcpy(bm, beta, sizeof bm);
        double b_p = b, b_m = b;
        if (j < d) {
            bp[j] += h;
            bm[j] -= h;
        } else {
            b_p += h;
            b_m -= h;
        }
        double fd = (promo_logreg_objective(z, n, d, y, w, 2.0, bp, b_p, NULL) -
                     promo_logreg_objective(z, n, d, y, w, 2.0, bm, b_m, NULL)) /
                    (2.0 * h);
        T_ASSERT_NEAR(grad[j], fd, 1e-5 * (1.0 + fabs(fd)));
    }
    promo_free(z);
    promo_free(y);
    promo_free(w);
}

static void make(uint64_t seed, size_t n, float **x, float **y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    *x = promo_mallocn(n * 3, sizeof **x);
    *y = promo_mallocn(n, sizeof **y);
    T_ASSERT(*x && *y);
    for (size_t i = 0; i < n; i++) {
        float *xi = *x + i * 3;
        xi[0] = (float)promo_rng_normal(&r);
        xi[1] = (float)(5.0 + 2.0 * promo_rng_normal(&r)); /* sd 2: coefficient 0.5 per sd */
        xi[2] = 7.0f;                                       /* constant column */
        double m = 1.0 * xi[0] - 0.25 * (xi[1] - 5.0) - 0.5;
        (*y)[i] = (float)promo_rng_bernoulli(&r, 1.0 / (1.0 + exp(-m)));
    }
}

T_TEST(logreg_recovers_coefficients)
{
    float *x, *y;
    size_t n = 20000;
    make(3, n, &x, &y);
    promo_logreg_params p = promo_logreg_params_default();
    p.nthread = 1;
    promo_logreg *m = NULL;
    T_OK(promo_logreg_train(&p, x, n, 3, y, NULL, &m));
    size_t d = 0;
    const double *c = promo_logreg_coef(m, &d);
    T_ASSERT_EQ_INT(d, 3);
    T_ASSERT_NEAR(c[0], 1.0, 0.06);
    T_ASSERT_NEAR(c[1], -0.5, 0.06); /* standardised: -0.25 * sd 2 */
    T_ASSERT_NEAR(c[2], 0.0, 1e-12);
    T_ASSERT_NEAR(promo_logreg_intercept(m), -0.5, 0.06);
    T_ASSERT(promo_logreg_iterations(m) < 20);

    /* At the optimum the gradient vanishes (checked on the standardised data). */
    double *z = promo_mallocn(n * 3, sizeof *z), g[4];
    T_ASSERT(z);
    double sd1 = 0.0, mu1 = 0.0, mu0 = 0.0, sd0 = 0.0;
    for (size_t i = 0; i < n; i++) {
        mu0 += x[i * 3] / (double)n;
        mu1 += x[i * 3 + 1] / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        sd0 += (x[i * 3] - mu0) * (x[i * 3] - mu0) / (double)n;
        sd1 += (x[i * 3 + 1] - mu1) * (x[i * 3 + 1] - mu1) / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        z[i * 3] = (x[i * 3] - mu0) / sqrt(sd0);
        z[i * 3 + 1] = (x[i * 3 + 1] - mu1) / sqrt(sd1);
        z[i * 3 + 2] = 0.0;
    }
    promo_logreg_objective(z, n, 3, y, NULL, p.l2, c, promo_logreg_intercept(m), g);
    for (int j = 0; j < 4; j++)
        T_ASSERT_NEAR(g[j], 0.0, 1e-4);

    /* NaN is the training mean: same prediction as a row holding the mean. */
    float rows[6] = {NAN, (float)mu1, 7.0f, (float)mu0, (float)mu1, 7.0f}, pr[2];
    T_OK(promo_logreg_predict(m, rows, 2, 3, pr));
    T_ASSERT_NEAR(pr[0], pr[1], 1e-5);
    T_ASSERT_EQ_INT(promo_logreg_predict(m, rows, 2, 2, pr), PROMO_EUSAGE);

    /* Same coefficients at 2 threads, bit for bit. */
    promo_logreg *m2 = NULL;
    p.nthread = 2;
    T_OK(promo_logreg_train(&p, x, n, 3, y, NULL, &m2));
    size_t d2;
    T_ASSERT(memcmp(c, promo_logreg_coef(m2, &d2), 3 * sizeof *c) == 0);
    promo_logreg_free(m2);
    promo_free(z);
    promo_logreg_free(m);
    promo_free(x);
    promo_free(y);
}

T_TEST(logreg_bad_input)
{
    float x[2] = {1, 2}, y[2] = {0, 3};
    promo_logreg_params p = promo_logreg_params_default();
    promo_logreg *m = NULL;
    T_ASSERT_EQ_INT(promo_logreg_train(&p, x, 2, 1, y, NULL, &m), PROMO_EUSAGE);
    p.l2 = -1;
    y[1] = 1;
    T_ASSERT_EQ_INT(promo_logreg_train(&p, x, 2, 1, y, NULL, &m), PROMO_EUSAGE);
    T_ASSERT(m == NULL);
    /* Allocation failures are reported cleanly, whichever allocation fails. */
    p = promo_logreg_params_default();
    for (long k = 1; k <= 12; k++) {
        promo_alloc_fail_at(k);
        int rc = promo_logreg_train(&p, x, 2, 1, y, NULL, &m);
        promo_alloc_fail_at(0);
        T_ASSERT(rc == PROMO_ENOMEM || rc == PROMO_OK);
        promo_logreg_free(m);
        m = NULL;
    }
}

/* The saved format: a reload predicts the same bits and keeps every coefficient; a flipped
 * byte anywhere, a cut, a later version or a foreign buffer is refused with PROMO_EINPUT. */
T_TEST(logreg_save_load_roundtrip_and_damage)
{
    float *x, *y;
    size_t n = 3000;
    make(5, n, &x, &y);
    for (size_t i = 0; i < n; i += 11)
        x[i * 3 + 1] = NAN;
    promo_logreg_params p = promo_logreg_params_default();
    p.nthread = 1;
    promo_logreg *m = NULL, *m2 = NULL;
    T_OK(promo_logreg_train(&p, x, n, 3, y, NULL, &m));
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_logreg_save_buffer(m, &buf, &len));
    T_ASSERT_EQ_INT(len, 24 + 10 * 8 + 8);
    T_ASSERT(promo_logreg_is_model(buf, len));
    T_OK(promo_logreg_load_buffer(buf, len, &m2));
    size_t d = 0, d2 = 0;
    const double *c = promo_logreg_coef(m, &d), *c2 = promo_logreg_coef(m2, &d2);
    T_ASSERT_EQ_INT(d2, 3);
    T_ASSERT(memcmp(c, c2, 3 * sizeof *c) == 0);
    double b = promo_logreg_intercept(m), b2 = promo_logreg_intercept(m2);
    T_ASSERT(memcmp(&b, &b2, sizeof b) == 0);
    T_ASSERT_EQ_INT(promo_logreg_iterations(m2), promo_logreg_iterations(m));
    float *pa = promo_mallocn(n, sizeof *pa), *pb = promo_mallocn(n, sizeof *pb);
    T_ASSERT(pa && pb);
    T_OK(promo_logreg_predict(m, x, n, 3, pa));
    T_OK(promo_logreg_predict(m2, x, n, 3, pb));
    T_ASSERT(memcmp(pa, pb, n * sizeof *pa) == 0);
    promo_logreg_free(m2);
    m2 = NULL;
    /* The same model saves to the same bytes. */
    char *again = NULL;
    size_t len2 = 0;
    T_OK(promo_logreg_save_buffer(m, &again, &len2));
    T_ASSERT(len2 == len && memcmp(buf, again, len) == 0);
    promo_free(again);

    for (size_t k = 0; k < len; k++) {
        buf[k] ^= 0x10;
        int rc = promo_logreg_load_buffer(buf, len, &m2);
        T_ASSERT_MSG(rc == PROMO_EINPUT || rc == PROMO_EVERSION,
                     "flipped byte %zu: status %d", k, rc);
        T_ASSERT(m2 == NULL);
        buf[k] ^= 0x10;
    }
    for (size_t cut = 0; cut < len; cut += 7)
        T_ASSERT_EQ_INT(promo_logreg_load_buffer(buf, cut, &m2), PROMO_EINPUT);
    buf[8] = 2; /* a later version, checksum fixed up by saving nothing else: still refused */
    T_ASSERT(promo_logreg_load_buffer(buf, len, &m2) != PROMO_OK);
    T_ASSERT(m2 == NULL);
    T_ASSERT_EQ_INT(promo_logreg_load_buffer("{}", 2, &m2), PROMO_EINPUT);
    T_ASSERT(!promo_logreg_is_model("{}", 2));
    promo_free(buf);
    promo_free(pa);
    promo_free(pb);
    promo_logreg_free(m);
    promo_free(x);
    promo_free(y);
}
