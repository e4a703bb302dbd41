/* promo/linear.h: L2-regularised logistic regression (a baseline for propensity).
 *
 * Small and exact: Newton's method (IRLS) with the Hessian solved by LAPACK's Cholesky
 * (LAPACKE_dposv), a step-halving line search, on standardised features. Missing values
 * (NaN) are imputed with the training mean, i.e. 0 after standardisation. The intercept is
 * not penalised. Objective, with z the standardised rows and w the row weights:
 *
 *   L(beta, b) = sum_i w_i * logloss(y_i, sigmoid(beta . z_i + b)) + l2 / 2 * |beta|^2
 *
 * Usage:
 *   promo_logreg_params p = promo_logreg_params_default();
 *   promo_logreg *m = NULL;
 *   if (promo_logreg_train(&p, x, n, d, y, NULL, &m)) ...;
 *   promo_logreg_predict(m, x_new, n_new, d, prob);   // prob: caller's n_new floats
 *   promo_logreg_save_buffer(m, &buf, &len);          // bytes for the workspace store
 *   promo_logreg_free(m);
 *
 * Determinism: sums run over fixed blocks of rows added in order, so results do not depend on
 * the thread count. Thread-safety: a trained model is read-only; predict from any thread.
 */
#ifndef PROMO_LINEAR_H
#define PROMO_LINEAR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_logreg promo_logreg;

typedef struct promo_logreg_params {
    double l2;    /* L2 penalty on standardised coefficients (not the intercept), >= 0 */
    int max_iter; /* Newton iterations at most */
    double tol;   /* stop when the largest step component is below this */
    int nthread;  /* threads for the sums; 0 = OpenMP default */
} promo_logreg_params;

/* l2 1.0, max_iter 50, tol 1e-8, nthread 0. */
promo_logreg_params promo_logreg_params_default(void);

/* Fit on x (n rows x d float32, row-major, NaN = missing), y in [0, 1], optional weights w
 * (NULL = 1). *out: new model (promo_logreg_free). Errors: PROMO_EUSAGE for bad shapes or
 * labels, PROMO_EMODEL if LAPACK fails to solve, PROMO_ENOMEM. */
int promo_logreg_train(const promo_logreg_params *p,
                       const float *x,
                       size_t n,
                       size_t d,
                       const float *y,
                       const float *w,
                       promo_logreg **out /* OUT */);

void promo_logreg_free(promo_logreg *m); /* NULL-safe */

/* Probabilities for n rows of d features (d must match training). out: caller's n floats. */
int promo_logreg_predict(
    const promo_logreg *m, const float *x, size_t n, size_t d, float *out /* OUT */);

/* The model as bytes: a little-endian binary format, locale-free and exact (doubles stored
 * bit for bit, so a reload predicts the same bits):
 *
 *   offset 0   8 bytes  magic "PRMLOGR\0"
 *          8   u32      format version (1)
 *         12   u32      d, features (1..4096)
 *         16   u32      Newton iterations run
 *         20   u32      reserved, 0
 *         24   f64 x d  training means of the features
 *              f64 x d  reciprocal standard deviations (0 for a constant column)
 *              f64 x d  coefficients on standardised features
 *              f64      intercept
 *              u64      FNV-1a 64 of every byte before it
 *
 * *out is a new buffer of *n bytes (promo_free). Errors: PROMO_ENOMEM. */
int promo_logreg_save_buffer(const promo_logreg *m, char **out /* OUT */, size_t *n /* OUT */);
/* Load the format above. Anything else (wrong magic, another version, a size that does not
 * match d, a checksum mismatch, a non-finite number) gives PROMO_EINPUT (PROMO_EVERSION for a
 * later version) and *out NULL. */
int promo_logreg_load_buffer(const void *data, size_t n, promo_logreg **out /* OUT */);
/* 1 if data starts with the format's magic (a cheap test to pick a loader), else 0. */
int promo_logreg_is_model(const void *data, size_t n);

/* Coefficients on standardised features (d entries, borrowed, valid until freed), the
 * intercept, the Newton iterations used and the final objective value. */
const double *promo_logreg_coef(const promo_logreg *m, size_t *d /* OUT */);
double promo_logreg_intercept(const promo_logreg *m);
int promo_logreg_iterations(const promo_logreg *m);

/* The objective L above and its gradient at (beta, b) for already standardised, NaN-free z
 * (n x d doubles): grad (caller's d + 1 doubles; may be NULL) gets dL/dbeta then dL/db.
 * Exposed so tests can check the gradient by finite differences. */
double promo_logreg_objective(const double *z,
                              size_t n,
                              size_t d,
                              const float *y,
                              const float *w,
                              double l2,
                              const double *beta,
                              double b,
                              double *grad /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
