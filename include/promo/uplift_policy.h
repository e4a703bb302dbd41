/* promo/uplift_policy.h: a treatment policy that changes arm only where the data confirm it.
 *
 * promo_uplift_policy (uplift.h) gives every row the arm of its largest predicted effect. With
 * several arms whose effects differ little (Hillstrom: the Mens and Womens e-mails), that argmax
 * follows the noise of the effect models and can do worse than giving everyone the best arm.
 * The calibrated policy asks the training rows how much of the predicted differences is real:
 *   1. Cross-fitting: the learner is refitted on each half of the training rows (2 folds,
 *      stratified by arm, seeded) and predicts the other half: out-of-fold effects delta_i(a)
 *      (delta(0) = 0) and outcomes m_i(a) (the fold's arm means when the learner has no outcome
 *      model: R, TREE, FOREST).
 *   2. Doubly robust scores per row and arm: G_i(a) = m_i(a) + 1{A_i = a} (y_i - m_i(a)) / e_a,
 *      e_a the arm's share of the training rows (or the fold model's propensity with
 *      propensity_weighting), clipped to [clip, 1 - clip].
 *   3. The base arm a* = argmax_a margin x mean G(a) - cost[a]: the best single arm, estimated
 *      on the training rows.
 *   4. Per other arm b: the best linear predictor of G_i(b) - G_i(a*) (the row's gain from b over
 *      a*) by the predicted difference s_i = delta_i(b) - delta_i(a*): level L_b (the mean
 *      gain) and slope beta_b with its heteroskedasticity-robust standard error, shrunk by its
 *      noise to c_b = beta^3 / (beta^2 + se^2) (0 when beta <= 0), kept in [0, 1].
 * A new row gets arm b when margin x (L_b + c_b (s - mean s_b)) - (cost[b] - cost[a*]) is
 * positive and the largest such gain, else a*. When no slope stands out of its noise, every
 * row gets the best single arm; the argmax policy is c = 1 with no level.
 * Cost: two fits of the learner on half the training rows.
 *
 * Usage:
 *   promo_uplift_policy_cal *c = NULL;
 *   if (promo_uplift_policy_calibrate(&p, &train, margin, cost, &c)) fail(promo_last_error());
 *   promo_uplift_predict(m, x_new, n_new, d, eff);             // the model fitted on all rows
 *   promo_uplift_policy_apply(c, eff, n_new, margin, cost, best);
 *   promo_uplift_policy_cal_free(c);
 *
 * Errors: those of promo_uplift_fit (PROMO_EUSAGE, PROMO_EINPUT, PROMO_EMODEL), PROMO_EUSAGE
 * for a non-finite margin or cost or mismatched arms, PROMO_ENOMEM. Deterministic for a seed;
 * a calibration is read-only once made (apply from any thread).
 */
#ifndef PROMO_UPLIFT_POLICY_H
#define PROMO_UPLIFT_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <promo/uplift.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_uplift_policy_cal {
    int n_arms;
    int base_arm;      /* a*: the best single arm on the training rows */
    double *value;     /* n_arms: cross-fitted DR mean outcome of each single arm */
    double *level;     /* n_arms: L_b, mean gain of b over a* (0 for a*) */
    double *slope;     /* n_arms: beta_b before shrinking (NaN for a*) */
    double *slope_se;  /* n_arms: its robust standard error */
    double *c;         /* n_arms: the slope used, in [0, 1] */
    double *mean_diff; /* n_arms: mean out-of-fold predicted difference s over the rows */
    size_t n_rows;     /* training rows scored out of fold */
} promo_uplift_policy_cal;

int promo_uplift_policy_calibrate(const promo_uplift_params *p,
                                  const promo_uplift_data *train,
                                  double margin,
                                  const double *cost, /* n_arms or NULL (all 0) */
                                  promo_uplift_policy_cal **out /* OUT */);
/* best_arm[i] for n rows of effects (n x (n_arms - 1), as from promo_uplift_predict). */
int promo_uplift_policy_apply(const promo_uplift_policy_cal *c,
                              const float *effect,
                              size_t n,
                              double margin,
                              const double *cost,
                              int32_t *best_arm /* OUT */);
void promo_uplift_policy_cal_free(promo_uplift_policy_cal *c); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
