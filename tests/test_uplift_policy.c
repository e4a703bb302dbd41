/* Tests of src/models/uplift_policy.c (the calibrated best-arm policy): three arms, binary
 * outcome, randomised. When the arms' effects differ only on average, the argmax of noisy
 * effects scatters rows over both treatments while the calibrated rule gives (almost) every row
 * the better arm; when the best arm truly depends on x0 the calibrated rule follows x0 too; costs
 * move the base arm; bad input. Few rounds keep it quick under ASan. */
#include <math.h>
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/rng.h>
#include <promo/uplift_policy.h>

#include "t.h"

#define D 4
#define N 6000

/* kind 0: tau1 = 0.10, tau2 = 0.18 everywhere; kind 1: tau1 = 0.25 when x0 > 0 else 0,
 * tau2 = 0.25 when x0 <= 0 else 0. Base rate 0.2 + 0.1 x1 (clipped). */
static void make(int kind, uint64_t seed, float *x, int32_t *arm, float *y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 31);
    for (size_t i = 0; i < N; i++) {
        float *row = x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        arm[i] = (int32_t)promo_rng_below(&r, 3);
        double p = fmin(fmax(0.2 + 0.1 * row[1], 0.05), 0.5);
        if (kind == 0)
            p += arm[i] == 1 ? 0.10 : arm[i] == 2 ? 0.18 : 0.0;
        else if (arm[i])
            p += (arm[i] == 1) == (row[0] > 0) ? 0.25 : 0.0;
        y[i] = (float)promo_rng_bernoulli(&r, p);
    }
}

static promo_uplift_params params(void)
{
    promo_uplift_params p = promo_uplift_params_default(PROMO_UPLIFT_T);
    p.gbdt.n_rounds = 40;
    p.gbdt.eta = 0.2;
    p.n_threads = 1;
    p.seed = 5;
    return p;
}

/* Fit on the first 2/3, calibrate on the same rows, and choose arms for the last 1/3 by both
 * rules. */
static void run(int kind,
                const double *cost,
                int32_t *best,
                int32_t *argmax,
                float **xte_out,
                promo_uplift_policy_cal **cal_out)
{
    float *x = promo_mallocn(N * D, sizeof *x), *y = promo_mallocn(N, sizeof *y);
    int32_t *arm = promo_mallocn(N, sizeof *arm);
    T_ASSERT(x && y && arm);
    make(kind, 11, x, arm, y);
    size_t ntr = N * 2 / 3, nte = N - ntr;
    promo_uplift_params p = params();
    promo_uplift_data d = {x, ntr, D, arm, 3, y, 1, NULL};
    promo_uplift *m = NULL;
    T_OK(promo_uplift_fit(&p, &d, &m));
    float *eff = promo_mallocn(nte * 2, sizeof *eff);
    T_ASSERT(eff);
    T_OK(promo_uplift_predict(m, x + ntr * D, nte, D, eff));
    T_OK(promo_uplift_policy(eff, nte, 3, 1.0, cost, argmax));
    T_OK(promo_uplift_policy_calibrate(&p, &d, 1.0, cost, cal_out));
    T_OK(promo_uplift_policy_apply(*cal_out, eff, nte, 1.0, cost, best));
    float *xte = promo_mallocn(nte * D, sizeof *xte);
    T_ASSERT(xte);
    memcpy(xte, x + ntr * D, nte * D * sizeof *xte);
    *xte_out = xte;
    promo_uplift_free(m);
    promo_free(eff);
    promo_free(x);
    promo_free(y);
    promo_free(arm);
}

T_TEST(uplift_policy_calibrated_keeps_the_best_arm_when_effects_differ_only_on_average)
{
    size_t nte = N - N * 2 / 3;
    int32_t *best = promo_mallocn(nte, sizeof *best), *amax = promo_mallocn(nte, sizeof *amax);
    float *xte = NULL;
    promo_uplift_policy_cal *c = NULL;
    T_ASSERT(best && amax);
    run(0, NULL, best, amax, &xte, &c);
    T_ASSERT_EQ_INT(c->base_arm, 2);
    T_ASSERT(c->value[2] > c->value[1] && c->value[1] > c->value[0]);
    T_ASSERT_MSG(fabs(c->level[1] + 0.08) < 0.04, "gain of arm 1 over 2: %g", c->level[1]);
    size_t cal2 = 0, max2 = 0;
    for (size_t i = 0; i < nte; i++) {
        cal2 += best[i] == 2;
        max2 += amax[i] == 2;
    }
    T_ASSERT_MSG(cal2 >= nte * 95 / 100, "calibrated: arm 2 for %zu of %zu", cal2, nte);
    T_ASSERT_MSG(max2 < cal2, "argmax %zu, calibrated %zu rows on arm 2", max2, cal2);
    promo_uplift_policy_cal_free(c);
    promo_free(best);
    promo_free(amax);
    promo_free(xte);
}

T_TEST(uplift_policy_calibrated_follows_a_real_difference_and_costs)
{
    size_t nte = N - N * 2 / 3;
    int32_t *best = promo_mallocn(nte, sizeof *best), *amax = promo_mallocn(nte, sizeof *amax);
    float *xte = NULL;
    promo_uplift_policy_cal *c = NULL;
    T_ASSERT(best && amax);
    run(1, NULL, best, amax, &xte, &c);
    T_ASSERT_MSG(c->c[c->base_arm == 1 ? 2 : 1] > 0.3, "slope used %g",
                 c->c[c->base_arm == 1 ? 2 : 1]);
    size_t hi = 0, hi1 = 0, lo = 0, lo2 = 0;
    for (size_t i = 0; i < nte; i++) {
        float x0 = xte[i * D];
        if (x0 > 0.5f) {
            hi++;
            hi1 += best[i] == 1;
        } else if (x0 < -0.5f) {
            lo++;
            lo2 += best[i] == 2;
        }
    }
    T_ASSERT_MSG(hi1 >= hi * 8 / 10 && lo2 >= lo * 8 / 10, "arm 1 on %zu/%zu, arm 2 on %zu/%zu",
                 hi1, hi, lo2, lo);
    promo_uplift_policy_cal_free(c);
    promo_free(xte);

    /* arm 1 costs twice its largest true gain: (almost) nobody gets it (a linear predictor of
     * the gain can still pass the cost at the tail of the predictions) */
    const double cost[3] = {0, 0.5, 0};
    run(1, cost, best, amax, &xte, &c);
    size_t n1 = 0, m1 = 0;
    for (size_t i = 0; i < nte; i++) {
        n1 += best[i] == 1;
        m1 += amax[i] == 1;
    }
    T_ASSERT_MSG(n1 <= nte / 50 && n1 <= m1, "arm 1 (cost 0.5) on %zu rows, argmax %zu", n1, m1);
    promo_uplift_policy_cal_free(c);
    promo_free(xte);
    promo_free(best);
    promo_free(amax);
}

T_TEST(uplift_policy_bad_input)
{
    promo_uplift_policy_cal *c = NULL;
    promo_uplift_params p = params();
    float x[D] = {0}, y[1] = {0}, eff[2] = {0};
    int32_t arm[1] = {0}, best[1];
    promo_uplift_data d = {x, 1, D, arm, 3, y, 1, NULL};
    T_ASSERT_EQ_INT(promo_uplift_policy_calibrate(NULL, &d, 1.0, NULL, &c), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_policy_calibrate(&p, &d, NAN, NULL, &c), PROMO_EUSAGE);
    T_ASSERT(c == NULL);
    /* one row: the folds' fits have arms without rows */
    T_ASSERT(promo_uplift_policy_calibrate(&p, &d, 1.0, NULL, &c) != PROMO_OK);
    T_ASSERT(c == NULL);
    T_ASSERT_EQ_INT(promo_uplift_policy_apply(NULL, eff, 1, 1.0, NULL, best), PROMO_EUSAGE);
}
