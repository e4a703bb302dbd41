/* promo/uplift_metrics.h: evaluating uplift models and treatment policies.
 *
 * Uplift curve, Qini curve, Qini coefficient, AUUC and uplift@k are defined exactly as
 * scikit-uplift (sklift 0.5, sklift.metrics) defines uplift_curve, qini_curve,
 * perfect_uplift_curve, perfect_qini_curve (negative_effect=True), uplift_auc_score,
 * qini_auc_score and uplift_at_k(strategy='overall'), so figures are comparable with
 * published sklift numbers. With rows sorted by score, descending:
 *
 *   order      stable sort, ties in REVERSE input order (numpy's
 *              argsort(score, kind="mergesort")[::-1]); the curves only use the ends of
 *              blocks of equal scores, so they do not depend on the order inside a block;
 *              uplift@k cuts inside a block in that reverse input order.
 *   points     one per block end t (and (0, 0) first): N = rows up to t, N_T / N_C of them
 *              treated / control, Y_T / Y_C the sums of their outcomes;
 *   uplift     U(N) = (Y_T / N_T - Y_C / N_C) * N      (a ratio with a zero count is 0)
 *   Qini       Q(N) = Y_T - Y_C * N_T / N_C            (N_T / N_C is 0 when N_C = 0)
 *   area       trapezoidal rule over the points (x = N, so areas are in rows x outcome);
 *   random     the straight line from (0, 0) to the curve's last point (n, C(n));
 *   perfect    the same curve over an oracle ordering of the observed outcomes:
 *              Qini:   key = y for treated rows, -y for control rows;
 *              uplift: key = 2 * (y == t) + s, s = y if #(y = 1, control) >
 *                      #(y = 0, treated) else t (so binary outcomes: treated responders,
 *                      control non-responders, ... as sklift; for a continuous outcome this
 *                      key is sklift's literal formula, not an optimum);
 *   qini_coef  (area(Q) - area(random)) / (area(perfect Q) - area(random))
 *   auuc       (area(U) - area(random)) / (area(perfect U) - area(random))
 *              so a perfect ranking scores 1, a random one about 0 and a reversed one < 0;
 *              NaN when the denominator is 0.
 *   uplift@k   the top floor(n * k) rows: mean y of their treated - mean y of their control
 *              (NaN when either is empty), k = 0.1, 0.2, 0.3.
 * Outcomes may be binary (0/1) or continuous (spend): the formulas are the same. Caveat
 * (sklift's, kept for comparability): with a continuous outcome the oracle uplift key is not
 * an optimum, so the AUUC denominator can be small or negative and AUUC can leave [-1, 1];
 * for spend report the Qini coefficient (its oracle, treated outcomes first and control ones
 * last, means the same for any outcome) or the unnormalised uplift_area.
 *
 * Policy value (promo_policy_value_estimate): the mean outcome if every row i received arm
 * pi_i, from logged (arm A_i, outcome Y_i) with P(arm a | row i) = e_ia:
 *   IPS  V = mean_i  1{A_i = pi_i} Y_i / e_i,pi_i
 *   DR   V = mean_i  mu_i,pi_i + 1{A_i = pi_i} (Y_i - mu_i,pi_i) / e_i,pi_i
 * Each is the mean of per-row terms phi_i (their influence function), so its standard error
 * is sd(phi) / sqrt(n) and the 95% interval V +- 1.96 se (normal approximation). e = NULL uses
 * the observed arm shares n_a / n (a randomised test); the interval then ignores that the
 * shares were estimated (slightly conservative for IPS).
 *
 * Usage:
 *   promo_uplift_metrics m;
 *   promo_uplift_curve c = {0};
 *   if (promo_uplift_evaluate(score, treated, y, n, 101, &m, &c)) fail(promo_last_error());
 *   printf("qini %.4f auuc %.4f uplift@10%% %.4f\n", m.qini_coef, m.auuc, m.uplift_at[0]);
 *   promo_plot_uplift(&c, "T-learner, visit", "out/uplift.png");
 *   promo_uplift_curve_free(&c);
 *
 * Errors: PROMO_EUSAGE for n == 0, a NULL array, a treated flag other than 0/1, no treated or
 * no control row, a NaN or infinite score or outcome, an arm out of range; PROMO_ENOMEM.
 * Thread-safe (no shared state); the plot needs gnuplot (plot.h).
 */
#ifndef PROMO_UPLIFT_METRICS_H
#define PROMO_UPLIFT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The k of uplift_at[] (shares of the rows, best scores first). */
#define PROMO_UPLIFT_N_AT 3
extern const double promo_uplift_at_frac[PROMO_UPLIFT_N_AT]; /* {0.1, 0.2, 0.3} */

/* Cumulative curves over rows sorted by score (desc), n_points equally spaced: point j is at
 * frac[j] = j / (n_points - 1) of the rows, the exact curve (above) linearly interpolated
 * there. Values are sklift's, in outcome units (incremental conversions or spend), not
 * divided by n. Arrays owned by the struct: free with promo_uplift_curve_free. */
typedef struct promo_uplift_curve {
    size_t n_points;
    double *frac;           /* share of rows targeted, 0 .. 1 */
    double *uplift;         /* uplift curve U */
    double *qini;           /* Qini curve Q */
    double *random_qini;    /* random targeting: frac * Q(n) */
    double *random_uplift;  /* random targeting: frac * U(n) */
    double *perfect_qini;   /* the oracle Qini curve */
    double *perfect_uplift; /* the oracle uplift curve */
} promo_uplift_curve;

typedef struct promo_uplift_metrics {
    double qini_coef; /* area between the Qini curve and the random line, normalised as
                         scikit-uplift's qini_auc_score (perfect = 1, random ~ 0) */
    double auuc;      /* area under the uplift curve, normalised as sklift's
                         uplift_auc_score */
    double uplift_at[PROMO_UPLIFT_N_AT]; /* uplift in the top 10%, 20%, 30% (NaN if the top
                                            share has no treated or no control row) */
    double ate;                          /* treated mean - control mean, all rows */
    size_t n_treated, n_control;
    double qini_area;   /* unnormalised: area(Q) - area(random), rows x outcome */
    double uplift_area; /* unnormalised: area(U) - area(random) */
} promo_uplift_metrics;

/* One treatment vs control: treated[i] 1/0, y outcome (binary or continuous), score the
 * predicted effect (higher = target first). n_points >= 2 points for the curve (0 = 101);
 * curve may be NULL (no curve). On success the caller owns curve's arrays. O(n log n). */
int promo_uplift_evaluate(const double *score,
                          const int32_t *treated,
                          const double *y,
                          size_t n,
                          size_t n_points,
                          promo_uplift_metrics *out /* OUT */,
                          promo_uplift_curve *curve /* OUT, may be NULL */);

/* Frees the arrays and zeroes the struct. NULL-safe. */
void promo_uplift_curve_free(promo_uplift_curve *c);

/* Policy value (mean outcome if every row got policy[i]) by IPS and doubly robust
 * estimators with a normal 95% interval (formulas above); e[i*n_arms+a] = P(arm a | row i)
 * (NULL = observed arm shares); mu[i*n_arms+a] = predicted outcome under a (DR only; NULL:
 * the dr fields are NaN). policy[i] and arm[i] in 0 .. n_arms - 1, n >= 2.
 * PROMO_EUSAGE also when e[i*n_arms + policy[i]] is not in (0, 1] (no overlap: the policy's
 * arm could never have been logged for that row). */
typedef struct promo_policy_value {
    double ips, ips_lo, ips_hi; /* IPS estimate and its 95% interval */
    double dr, dr_lo, dr_hi;    /* doubly robust estimate and its 95% interval */
    double ips_se, dr_se;       /* standard errors */
    size_t n_matched;           /* rows whose logged arm is the policy's */
} promo_policy_value;
int promo_policy_value_estimate(const int32_t *policy,
                                const int32_t *arm,
                                const double *y,
                                const double *e,
                                const double *mu,
                                size_t n,
                                int n_arms,
                                promo_policy_value *out /* OUT */);

/* The four groups (append-only). */
typedef enum promo_uplift_group {
    PROMO_UPLIFT_PERSUADABLE = 0,  /* treated high, control low: the offer makes them buy */
    PROMO_UPLIFT_SURE_THING = 1,   /* both high: buy anyway, the discount is wasted */
    PROMO_UPLIFT_LOST_CAUSE = 2,   /* both low: do not buy either way */
    PROMO_UPLIFT_SLEEPING_DOG = 3, /* control high, treated low: the offer loses the sale */
    PROMO_UPLIFT_GROUP_COUNT
} promo_uplift_group;

/* "persuadables", "sure things", "lost causes", "sleeping dogs"; "?" out of range. */
const char *promo_uplift_group_name(int group);

/* The four groups from per-row P(y | treated) and P(y | control) (or predicted outcomes):
 * "high" means >= threshold on each (NaN threshold = 0.5). group may be NULL (counts only).
 * PROMO_EUSAGE for NaN predictions. */
int promo_uplift_groups(const double *p_treated,
                        const double *p_control,
                        size_t n,
                        double threshold,
                        int32_t *group /* OUT: n values 0..3, may be NULL */,
                        size_t counts[4] /* OUT */);

/* Mean profile of each group: mean[g*d + j] = mean of x[i*d + j] over the rows of group g
 * (NaN values skipped; NaN when a group has no value). For "who are the persuadables". */
int promo_uplift_group_profile(
    const double *x, size_t n, size_t d, const int32_t *group, double *mean /* OUT: 4 x d */);

/* Incremental ROI of a campaign:
 *   revenue  = incremental conversions x margin
 *   discount = conversions among the contacted x discount cost  (every redemption costs the
 *              discount, also from the sure things who would have bought anyway)
 *   contact  = contacted x contact cost
 *   profit   = revenue - discount - contact;  roi = profit / (discount + contact) (NaN when
 *   nothing was spent). */
typedef struct promo_uplift_roi_params {
    double margin;        /* profit per incremental conversion, before the discount (>= 0) */
    double discount_cost; /* cost of the offer per converting contacted customer (>= 0) */
    double contact_cost;  /* cost per contacted customer (>= 0) */
} promo_uplift_roi_params;

typedef struct promo_uplift_roi {
    double n_contacted;         /* customers contacted */
    double conversions;         /* conversions among them (with the offer) */
    double incremental;         /* conversions caused by the offer */
    double incremental_revenue; /* incremental x margin */
    double discount_total;      /* conversions x discount_cost */
    double contact_total;       /* n_contacted x contact_cost */
    double profit;              /* incremental_revenue - discount_total - contact_total */
    double roi;                 /* profit / (discount_total + contact_total) */
} promo_uplift_roi;

/* From counts (expected or observed). PROMO_EUSAGE for negative or NaN inputs. */
int promo_uplift_roi_compute(const promo_uplift_roi_params *p,
                             double n_contacted,
                             double conversions,
                             double incremental,
                             promo_uplift_roi *out /* OUT */);

/* ROI of contacting the top share `frac` (0 < frac <= 1) of n rows by score, estimated from
 * a randomised test set: the top N = floor(n * frac) rows with treated / control response
 * rates r_T, r_C give conversions = r_T N and incremental = (r_T - r_C) N (the uplift curve
 * at N). PROMO_EUSAGE when the top share has no treated or no control row. */
int promo_uplift_roi_at(const double *score,
                        const int32_t *treated,
                        const double *y,
                        size_t n,
                        double frac,
                        const promo_uplift_roi_params *p,
                        promo_uplift_roi *out /* OUT */);

/* PNG: uplift and Qini curves with their random lines against the share targeted (gnuplot
 * via plot.h's promo_plot_lines). title may be NULL. Errors as promo_plot_lines. */
int promo_plot_uplift(const promo_uplift_curve *c, const char *title, const char *path);

#ifdef __cplusplus
}
#endif
#endif
