/* promo/metrics.h: offline metrics for binary scores (propensity, churn, uplift responses).
 *
 * Every function takes scores (higher = more likely positive; probabilities where the metric
 * needs them) and 0/1 labels, both length n, and writes its result through an OUT pointer.
 * Ranking metrics are tie-aware: items with equal scores are treated as one block, and a
 * block that straddles a cut-off (the K of Precision@K, the decile of the lift) contributes
 * its expected value under a random order inside the block. So results never depend on the
 * order rows happen to arrive in, and a constant score gets AUC 0.5 and the base rate as
 * precision.
 *
 * Usage:
 *   promo_binary_metrics m;
 *   if (promo_metrics_binary(prob, label, n, &m)) fprintf(stderr, "%s\n", promo_last_error());
 *   printf("auc %.4f  p@100 %.3f  base rate %.4f\n", m.auc, m.precision_at[1], m.base_rate);
 *
 * Undefined values (AUC with one class only, recall with no positives) are NaN, not errors.
 * Errors: PROMO_EUSAGE for a label other than 0/1, a NaN score, n == 0, or a probability
 * outside [0, 1] where one is required; PROMO_ENOMEM. Thread-safe (no shared state).
 */
#ifndef PROMO_METRICS_H
#define PROMO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The K of Precision@K, Recall@K and NDCG@K reported by promo_metrics_binary (DESIGN.md). */
#define PROMO_METRICS_N_K 3
extern const size_t promo_metrics_k[PROMO_METRICS_N_K]; /* {50, 100, 500} */

/* Area under the ROC curve (Mann-Whitney U with average ranks for ties), O(n log n).
 * NaN when all labels are equal. */
int promo_roc_auc(const double *score, const uint8_t *label, size_t n, double *out /* OUT */);

/* Average precision (area under the precision-recall curve as a step function, as
 * scikit-learn's average_precision_score): sum over distinct thresholds of
 * (R_t - R_{t-1}) * P_t. NaN with no positives. */
int promo_pr_auc(const double *score, const uint8_t *label, size_t n, double *out /* OUT */);

/* Mean negative log-likelihood; probabilities are clipped to [1e-15, 1 - 1e-15]. */
int promo_log_loss(const double *prob, const uint8_t *label, size_t n, double *out /* OUT */);

/* Mean squared error of the probability. */
int promo_brier(const double *prob, const uint8_t *label, size_t n, double *out /* OUT */);

/* Precision, recall and NDCG (binary gains, log2 discount) of the K highest scores.
 * K > n uses all n rows. Any OUT pointer may be NULL. Recall is NaN with no positives,
 * NDCG is NaN with no positives. */
int promo_at_k(const double *score,
               const uint8_t *label,
               size_t n,
               size_t k,
               double *precision /* OUT */,
               double *recall /* OUT */,
               double *ndcg /* OUT */);

/* Lift of the top fraction (0 < frac <= 1) of scores: precision there / base rate. The top
 * decile is frac = 0.1 (rounded to the nearest row, at least one). NaN with no positives. */
int promo_lift_at(
    const double *score, const uint8_t *label, size_t n, double frac, double *out /* OUT */);

/* Reliability curve with n_bins equal-width bins on [0, 1] (bin b holds b/n_bins <= p <
 * (b+1)/n_bins; p = 1 falls in the last). Each array has n_bins entries, caller-allocated;
 * any may be NULL. Empty bins get count 0 and NaN means. ece (may be NULL) = sum over bins of
 * count/n * |mean_prob - frac_positive|. */
int promo_reliability(const double *prob,
                      const uint8_t *label,
                      size_t n,
                      size_t n_bins,
                      double *mean_prob /* OUT */,
                      double *frac_pos /* OUT */,
                      size_t *count /* OUT */,
                      double *ece /* OUT */);

/* Precision-recall curve: one point per distinct threshold, from the highest score down.
 * *recall and *precision are new arrays of *n_points entries (promo_free each). */
int promo_pr_curve(const double *score,
                   const uint8_t *label,
                   size_t n,
                   double **recall /* OUT */,
                   double **precision /* OUT */,
                   size_t *n_points /* OUT */);

/* Cumulative gains for a lift chart: for i = 1..n_steps, the share of all positives found in
 * the top i/n_steps of scores (tie-aware), and the lift there. Arrays of n_steps entries,
 * caller-allocated; either may be NULL. */
int promo_gains_curve(const double *score,
                      const uint8_t *label,
                      size_t n,
                      size_t n_steps,
                      double *gain /* OUT */,
                      double *lift /* OUT */);

/* Everything promo evaluate reports, for probabilities. */
typedef struct promo_binary_metrics {
    size_t n;                               /* rows */
    size_t n_pos;                           /* positive labels */
    double base_rate;                       /* n_pos / n */
    double auc;                             /* ROC AUC */
    double pr_auc;                          /* average precision */
    double log_loss;                        /* mean negative log-likelihood, nats */
    double brier;                           /* mean squared error */
    double precision_at[PROMO_METRICS_N_K]; /* Precision@K for K in promo_metrics_k */
    double recall_at[PROMO_METRICS_N_K];    /* Recall@K */
    double ndcg_at[PROMO_METRICS_N_K];      /* NDCG@K */
    double lift_top_decile;                 /* precision in the top 10% / base rate */
    double ece;                             /* expected calibration error, 10 bins */
} promo_binary_metrics;

/* Compute every field of *out from probabilities in [0, 1]. */
int promo_metrics_binary(const double *prob,
                         const uint8_t *label,
                         size_t n,
                         promo_binary_metrics *out /* OUT */);

/* Adjusted Rand index of two labelings of n items (any non-negative ints; a label < 0 is its
 * own singleton cluster), as scikit-learn's adjusted_rand_score (pair-counting form): 1 for
 * identical partitions whatever the label values, about 0 for independent ones, negative below
 * chance. Identical trivial partitions (one cluster, or all singletons) give 1. Errors:
 * PROMO_EUSAGE for NULL arrays or n == 0, PROMO_ENOMEM. */
int promo_adjusted_rand_index(const int32_t *a, const int32_t *b, size_t n, double *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
