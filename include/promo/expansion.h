/* promo/expansion.h: expansion prediction: which NEW category a customer buys next.
 *
 * From a customer's purchases before a cutoff T, the first category they had never bought
 * before T that they buy in [T, T + H). One row per customer known at T with at least one
 * purchase before T and a new category in the window (customers without one are not rows:
 * the question is "which", not "whether"; propensity answers "whether"). Ties (two new
 * categories first bought in the same order) go to the category with more orders in the
 * window, then to the lower category index.
 *
 * Features (one row per customer, promo_expansion_feature_names):
 *   - count-encoded category usage: cat_orders_<c> = orders containing category c before T
 *     and cat_orders_90d_<c> = the same over the last 90 days (counts, not one-hot: how much
 *     a customer uses a category says more than whether they did), and cat_days_since_<c>,
 *     days since the last order of c (NaN if never: where the customer is now, which the
 *     Markov baseline reads from the last category alone);
 *   - markov_<c>: the Markov baseline's P(c | last category), counted over the windows
 *     before the row's own (out of time: a row never sees its own label; the oldest window's
 *     are NaN), so the model starts where the baseline stands;
 *   - customer features of the cut (features.h): recency, frequency, monetary, tenure,
 *     average order value, inter-purchase gap, basket size, distinct products/categories/
 *     stores, online share, recent spend and orders, promotion share, P(alive), CLV.
 *
 * Time split, as propensity's (propensity.h), windows of H days:
 *     train cutoffs T-(k+1)H .. T-2H  |  validation cutoff T-H  |  test cutoff T
 * The k training windows are stacked; the validation window drives early stopping.
 *
 * Models, all scored on the same test rows:
 *   xgboost   multi-class XGBoost (softmax probabilities, learner.h PROMO_LEARNER_MULTICLASS),
 *             rows weighted by inverse class frequency (n / (K n_c), capped at
 *             max_class_weight) so rare categories are learnt;
 *   majority  the categories ranked by how often they were the new category in the training
 *             and validation windows;
 *   markov    first-order transitions: P(next new category | last category bought before the
 *             cutoff), counted over the training and validation windows, additively smoothed
 *             towards the majority distribution (alpha pseudo-counts).
 * Every model's probabilities are masked: categories the customer bought before the cutoff
 * get 0 and the rest are renormalised to sum to 1 (promo_expansion_mask). The report
 * (report.h) computes top-1 / top-3 accuracy from them.
 *
 * Storage: the xgboost model as XGBoost JSON for <ws>/models/expansion.json with attributes
 * promo.kind = "expansion", promo.as_of, promo.horizon_days, promo.features (comma-separated)
 * and promo.classes (comma-separated category names, class order). Training here writes
 * nothing; promo_report_expansion_train (report.h) commits model and figures as one unit.
 *
 * Usage:
 *   promo_expansion_params p = promo_expansion_params_default();
 *   promo_expansion_fit *f = NULL;
 *   if (promo_expansion_train(store, &p, &f)) fprintf(stderr, "%s\n", promo_last_error());
 *   // f->prob[PROMO_EXP_XGBOOST][i * f->n_classes + c]: P(test row i's new category is c)
 *   promo_expansion_fit_free(f);
 *
 * Errors: PROMO_EUSAGE (bad params), PROMO_EINPUT (too little history for the windows, fewer
 * than two categories, no expansion row in a window), PROMO_EMODEL, PROMO_EDB, PROMO_ENOMEM.
 * Results do not depend on the thread count. Thread-safety: as the store's (one thread).
 */
#ifndef PROMO_EXPANSION_H
#define PROMO_EXPANSION_H

#include <stddef.h>
#include <stdint.h>

#include <promo/gbdt.h>
#include <promo/panel.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

/* The models of one evaluation, in report order. Append-only. */
typedef enum promo_exp_model {
    PROMO_EXP_XGBOOST = 0,  /* multi-class gradient boosting: the model promo uses */
    PROMO_EXP_MAJORITY = 1, /* most common new category */
    PROMO_EXP_MARKOV = 2,   /* last category -> next new category transitions */
    PROMO_EXP_MODEL_COUNT
} promo_exp_model;

/* "xgboost", "majority", "markov"; "unknown" otherwise. */
const char *promo_exp_model_name(int model);

typedef struct promo_expansion_params {
    int64_t as_of;           /* test cutoff T (seconds); 0 = last purchase day + 1 - H */
    double horizon_days;     /* H, days, 1..3650 (default 30) */
    int n_train_windows;     /* rolling training cutoffs before the validation one, 1..24
                                (default 6; fewer when history is short, with a warning) */
    double max_class_weight; /* cap of the inverse-frequency class weights, >= 1 (3) */
    double markov_alpha;     /* Markov smoothing pseudo-counts per row, >= 0 (default 1) */
    promo_gbdt_params gbdt;  /* boosting (defaults: depth 2, eta 0.05, 600 rounds, patience
                                20, min_child_weight 20, colsample 0.5, lambda 5, 32 bins) */
    int save;                /* 1 (default): store the model and the figures; read by the
                                report (report.h promo_report_expansion_train) */
    uint64_t seed;           /* model seed (default 1) */
    int n_threads;           /* 0 = OpenMP default; results do not depend on it */
} promo_expansion_params;

promo_expansion_params promo_expansion_params_default(void);

/* Expansion rows of one cut (see the top): the label and the count-encoded usage. */
typedef struct promo_expansion_rows {
    size_t n;           /* rows */
    uint32_t n_classes; /* categories (d->n_cats) */
    uint32_t *cust;     /* n: row of the cut's feature matrix */
    uint32_t *label;    /* n: the new category */
    uint32_t *last;     /* n: category of the last purchase before the cutoff */
    float *orders;      /* n x n_classes: orders per category before the cutoff */
    float *orders_90d;  /* n x n_classes: the same in the 90 days before it */
    float *days_since;  /* n x n_classes: days from the last order of the category to the
                           cutoff; NaN when never bought */
} promo_expansion_rows;

/* The rows of cut c with labels from [c->as_of, c->as_of + horizon_days). *out: the
 * caller's, freed with promo_expansion_rows_free. Errors: PROMO_ENOMEM. */
int promo_expansion_rows_build(const promo_panel *d,
                               const promo_panel_cut *c,
                               double horizon_days,
                               promo_expansion_rows *out /* OUT */);
void promo_expansion_rows_free(promo_expansion_rows *r); /* NULL-safe on a zeroed struct */

/* Feature names of the model for panel d (the customer features, then the category counts;
 * a customer feature a cut lacks is NaN): *names is a new array of *n new strings (free
 * each, then the array, with promo_free). */
int promo_expansion_feature_names(const promo_panel *d,
                                  char ***names /* OUT */,
                                  size_t *n /* OUT */);

/* Fill X (r->n x the feature count float32, row-major) for rows r of cut c. trans: the
 * transition counts (n_cats x n_cats, row = last category, column = new category) of the
 * windows before c, for the markov_<c> features (smoothed with alpha as the Markov baseline);
 * NULL or all zero = NaN. */
int promo_expansion_matrix(const promo_panel *d,
                           const promo_panel_cut *c,
                           const promo_expansion_rows *r,
                           const double *trans,
                           double alpha,
                           float *X /* OUT */);

/* Mask and renormalise n rows of k class probabilities in place: class j of row i gets 0
 * when orders[i * k + j] > 0 (bought before), the others are scaled to sum to 1 (uniform
 * among them when their sum is 0). A row with every class bought is left all 0. */
void promo_expansion_mask(const float *orders, size_t n, uint32_t k, float *prob /* IN/OUT */);

/* What promo_expansion_train fitted: windows, test rows, every model's masked probabilities
 * and the model's bytes. */
typedef struct promo_expansion_fit {
    int64_t as_of;                      /* test cutoff T */
    int64_t valid_as_of;                /* validation cutoff T - H */
    int64_t first_train_as_of;          /* earliest training cutoff */
    double horizon_days;                /* H */
    int n_train_windows;                /* stacked training windows */
    size_t n_train_rows;                /* training rows */
    size_t n_valid_rows;                /* validation rows */
    size_t n_features;                  /* model features */
    int n_rounds;                       /* boosting rounds kept after early stopping */
    double valid_mlogloss;              /* validation multi-class log loss at the best round */
    double train_seconds;               /* wall time of the boosting */
    uint32_t n_classes;                 /* categories */
    char **class_names;                 /* n_classes names (owned) */
    size_t n_test;                      /* test rows */
    uint32_t *test_label;               /* n_test true new categories */
    float *test_orders;                 /* n_test x n_classes orders before T (0 = not bought) */
    float *prob[PROMO_EXP_MODEL_COUNT]; /* n_test x n_classes masked probabilities */
    char model_path[1024];              /* where the model belongs: <ws>/models/expansion.json */
    char *model;                        /* XGBoost JSON with the promo.* attributes (owned) */
    size_t model_size;                  /* bytes of model */
} promo_expansion_fit;

void promo_expansion_fit_free(promo_expansion_fit *f); /* NULL-safe */

/* Build the windows, fit the xgboost model and both baselines, score every model on the test
 * rows. Writes nothing to the workspace. *out: new (promo_expansion_fit_free). */
int promo_expansion_train(promo_store *s,
                          const promo_expansion_params *p,
                          promo_expansion_fit **out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
