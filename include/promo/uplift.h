/* promo/uplift.h: uplift (heterogeneous treatment effect) models: whom an offer changes.
 *
 * Given rows x, the arm each row received (0 = control, 1..n_arms-1 treatments) and an outcome
 * (binary such as a visit, or continuous such as spend), a model estimates for every row and
 * every treatment arm a the conditional effect tau_a(x) = E[y | arm a, x] - E[y | control, x].
 * Meta-learners over XGBoost base models (promo/learner.h, gradient boosting):
 *   S  one outcome model on x plus the arm as one-hot columns; tau_a = f(x, a) - f(x, 0).
 *   T  one outcome model per arm; tau_a = mu_a(x) - mu_0(x).
 *   X  (Kuenzel et al. 2019) T's outcome models; imputed effects D1 = y - mu_0(x) on the
 *      treated, D0 = mu_a(x) - y on the controls, each regressed on x (tau1, tau0), combined
 *      with the propensity g(x) = P(a | x, arm in {0, a}): tau = g tau0 + (1 - g) tau1.
 *   R  (Nie & Wager 2021) residualise y on m(x) = E[y | x] and the arm on e(x), cross-fitted
 *      over 2 folds; regress the pseudo-outcome (y - m)/(t - e) on x with weights (t - e)^2.
 *   DR (Kennedy 2023) the AIPW pseudo-outcome mu1 - mu0 + t (y - mu1)/e - (1 - t)(y - mu0)/(1 - e)
 *      with cross-fitted (2 folds) mu0, mu1, e, regressed on x.
 *   TREE, FOREST: uplift trees and forests (promo/uplift_tree.h).
 *   CT (Jaskowski & Jaroszewicz 2012, class variable transformation; Athey & Imbens 2016's
 *      transformed outcome for continuous outcomes) one model per treatment arm on the rows of
 *      the arm pair: binary z = y on the treated, 1 - y on the controls, each group weighted
 *      to half the pair's weight, so P(z = 1 | x) = (1 + tau(x)) / 2 and tau = 2 P - 1;
 *      continuous: z = y (t - g) / (g (1 - g)), E[z | x] = tau(x), regressed on x. The model
 *      learns the effect alone, not the outcome, so at a given Qini it needs far fewer trees
 *      than T's two outcome models (bench/RESULTS.md, "uplift speed, fourth pass"). Its
 *      defaults differ: eta 0.15, min_child_weight 1000 (at most 1/16 of the training rows'
 *      hessian: the label is a near-fair coin, small leaves fit noise).
 * Several arms: every treatment arm against control, on the rows of those two arms. Binary
 * outcomes: outcome models are binary (probabilities), effect models regressions.
 *
 * Propensity: by default the observed arm shares (randomised logs). With propensity_weighting
 * = 1 a multi-class model of the arm on x estimates P(arm | x), clipped to [clip, 1 - clip]:
 * S, T, TREE and FOREST weight rows by 1 / e_arm(x), X uses the arm pair's conditional share
 * e_a / (e_0 + e_a) as g, R and DR as e; promo_uplift_overlap_get() reports how much clipping
 * there was on the training rows.
 *
 * Early stopping: every boosted model stops on a seeded split of its training rows (valid_frac,
 * stratified by arm): on its own validation loss, or (T with qini_stop) all arm models together
 * on the validation Qini of the effect they give (CT with qini_stop: each arm's model on the
 * validation Qini of its own effect).
 *
 * Usage:
 *   promo_uplift_params p = promo_uplift_params_default(PROMO_UPLIFT_T);
 *   promo_uplift_data d = {x, n, dim, arm, 3, y, 1, NULL};
 *   promo_uplift *m = NULL;
 *   if (promo_uplift_fit(&p, &d, &m)) fprintf(stderr, "%s\n", promo_last_error());
 *   float *eff = promo_mallocn(n_new, 2 * sizeof *eff);     // n_arms - 1 columns
 *   promo_uplift_predict(m, x_new, n_new, dim, eff);
 *   double cost[3] = {0, 0.5, 2.0};
 *   promo_uplift_policy(eff, n_new, 3, 10.0, cost, best);  // best arm per row
 *   promo_uplift_free(m);
 *
 * Determinism: a fixed seed gives the same model at any thread count (XGBoost hist, seeded
 * splits and folds; promo's tree walker predicts independently of threads).
 *
 * Ownership and threads: promo_uplift_fit returns a new handle (promo_uplift_free, NULL-safe);
 * data is borrowed for the call. A handle may predict from one thread at a time.
 *
 * Errors: PROMO_EUSAGE for bad parameters or shapes (checked before any work), PROMO_EINPUT for
 * bad data (NaN or infinite outcomes, binary outcomes not 0/1, arms out of range, an arm with
 * too few rows, negative weights), PROMO_EMODEL from XGBoost, PROMO_ENOMEM.
 */
#ifndef PROMO_UPLIFT_H
#define PROMO_UPLIFT_H

#include <stddef.h>
#include <stdint.h>

#include <promo/gbdt.h>
#include <promo/uplift_data.h>
#include <promo/uplift_tree.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which model. Append only. */
typedef enum promo_uplift_learner {
    PROMO_UPLIFT_S = 0,      /* S-learner: one model, the arm as a feature */
    PROMO_UPLIFT_T = 1,      /* T-learner: one outcome model per arm */
    PROMO_UPLIFT_X = 2,      /* X-learner */
    PROMO_UPLIFT_R = 3,      /* R-learner */
    PROMO_UPLIFT_DR = 4,     /* DR-learner */
    PROMO_UPLIFT_TREE = 5,   /* one uplift tree (uplift_tree.h) */
    PROMO_UPLIFT_FOREST = 6, /* uplift random forest (uplift_tree.h) */
    PROMO_UPLIFT_CT = 7,     /* class transformation: one model of a transformed label */
    PROMO_UPLIFT_LEARNER_COUNT
} promo_uplift_learner;

/* "s", "t", "x", "r", "dr", "tree", "forest", "ct" (static); "?" out of range. */
const char *promo_uplift_learner_name(promo_uplift_learner l);
/* The learner named s (as above, case-sensitive): 0 and *out set, or PROMO_EUSAGE. */
int promo_uplift_learner_parse(const char *s, promo_uplift_learner *out /* OUT */);

typedef struct promo_uplift_params {
    promo_uplift_learner learner;
    promo_gbdt_params gbdt;   /* base models of the meta-learners (boosting; objective, nthread,
                                 seed, eval_metric (the objective's own) and scale_pos_weight
                                 (1) are set per model) */
    double valid_frac;        /* share of the training rows held for early stopping, stratified
                                 by arm, in [0, 0.9); 0 = no early stopping (0.2) */
    int propensity_weighting; /* 1: estimate P(arm | x) and weight (non-randomised logs);
                                 0: use the observed arm shares (default 0) */
    double clip;              /* propensity clipping to [clip, 1 - clip], in [0, 0.5) (0.01) */
    promo_uplift_tree_params tree; /* TREE / FOREST (uplift_tree.h); its seed and n_threads
                                      are taken from the fields below, TREE forces n_trees 1 */
    uint64_t seed; /* splits, folds, the base models' sampling, the forest's draws */
    int n_threads; /* XGBoost / forest threads; 0 = all; results do not depend on it */
    int qini_stop; /* T: 1 = boost the arm models together and stop them on the validation Qini
                      of their difference (every 5 rounds; patience gbdt.early_stopping_rounds;
                      the arms share one set of histogram bins); CT: 1 = stop each arm's model
                      on the validation Qini of its effect; 0 = each model stops on its own
                      validation loss; -1 = 1 when every arm has at least 10,000 validation
                      rows (below that the Qini is too noisy to stop on), else 0 (default -1) */
    double one_thread_cells; /* a boosted base model with fewer training cells (rows x columns)
                                than this trains on one thread whatever n_threads (its rounds
                                are too small to split; results are the same); 0 = never
                                (default 2,000,000) */
} promo_uplift_params;

/* Defaults for a learner: gbdt boosting with depth 4, eta 0.1, 300 rounds, early stopping after
 * 20, min_child_weight 5, hist 256 bins (promo_gbdt_params_default() otherwise); valid_frac 0.2,
 * propensity_weighting 0, clip 0.01, seed 1, n_threads 0, qini_stop -1 (auto),
 * one_thread_cells 2e6; tree = promo_uplift_tree_params_default() (n_trees 1 for TREE). */
promo_uplift_params promo_uplift_params_default(promo_uplift_learner l);

typedef struct promo_uplift promo_uplift; /* opaque fitted model */

/* Fit on `train` (borrowed). Parameters are checked first (PROMO_EUSAGE), then the data
 * (PROMO_EINPUT: NaN/infinite or non-0/1 binary outcomes, arms outside 0..n_arms-1, an arm with
 * fewer than 2 rows, negative or NaN weights). *out: a new handle. */
int promo_uplift_fit(const promo_uplift_params *p,
                     const promo_uplift_data *train,
                     promo_uplift **out /* OUT */);
void promo_uplift_free(promo_uplift *m); /* NULL-safe */

int promo_uplift_n_arms(const promo_uplift *m);
size_t promo_uplift_n_features(const promo_uplift *m);
promo_uplift_learner promo_uplift_get_learner(const promo_uplift *m);
/* The most boosting rounds any outcome or effect model of m kept (the propensity model aside);
 * 0 when m has none (TREE, FOREST). */
int promo_uplift_rounds_kept(promo_uplift *m);

/* Effects: effect is the caller's n x (n_arms - 1) floats, row-major: column a - 1 is
 * E[y | arm a, x] - E[y | control, x] (a difference of probabilities for binary outcomes).
 * d must equal the training width. */
int promo_uplift_predict(
    promo_uplift *m, const float *x, size_t n, size_t d, float *effect /* OUT */);
/* Per-arm outcome predictions when the learner has them (S, T, X, DR: n x n_arms, column a =
 * E[y | arm a, x]; PROMO_EUSAGE for R, TREE, FOREST): for the four groups and doubly robust
 * policy values. */
int promo_uplift_predict_outcomes(
    promo_uplift *m, const float *x, size_t n, size_t d, float *mu /* OUT */);
/* Propensities P(arm a | x) for every arm (n x n_arms, rows sum to 1, not clipped): the model's
 * with propensity_weighting, the observed training shares otherwise. */
int promo_uplift_predict_propensity(
    promo_uplift *m, const float *x, size_t n, size_t d, float *e /* OUT */);

/* The base model that gives column a of promo_uplift_predict_outcomes by itself (T and X:
 * arm a's outcome model, predicting the same bits over the same x), borrowed (valid while m
 * lives, one thread at a time as m); NULL for the other learners or a out of range. For a
 * caller that predicts one arm alone (src/engine/uplift_score.c: an arm whose model gives the
 * same values at two discounts is predicted once). */
typedef struct promo_learner promo_learner;
promo_learner *promo_uplift_arm_model(promo_uplift *m, int a);

/* Overlap on the training rows (propensity_weighting = 1; without it: the shares, nothing
 * clipped). */
typedef struct promo_uplift_overlap {
    double clipped_share; /* share of rows with some arm's propensity outside [clip, 1 - clip] */
    double e_min, e_max;  /* smallest and largest estimated propensity of any arm, before clip */
    size_t n_rows;        /* training rows the figures are over */
} promo_uplift_overlap;
int promo_uplift_overlap_get(const promo_uplift *m, promo_uplift_overlap *out /* OUT */);

/* Best arm per row under costs: value of arm a = effect_a * margin - cost[a] (cost[0] is
 * control's, usually 0; cost NULL = all 0); 0 when no arm beats control (ties keep the lower
 * arm). effect: n x (n_arms - 1) as from promo_uplift_predict. */
int promo_uplift_policy(const float *effect,
                        size_t n,
                        int n_arms,
                        double margin,
                        const double *cost,
                        int32_t *best_arm /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
