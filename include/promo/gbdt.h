/* promo/gbdt.h: gradient-boosted trees and random forests through XGBoost's C API.
 *
 * A thin, typed wrapper of libxgboost (1.7, Debian's libxgboost-dev) on dense float32
 * row-major matrices (NaN = missing) for three objectives: binary classification
 * (binary:logistic, the default), regression (reg:squarederror) and multi-class
 * classification (multi:softprob). Most callers go through promo/learner.h. It owns the parts
 * promo needs to get right around XGBoost: early stopping on a later validation window,
 * imbalance (scale_pos_weight), the random-forest mode, TreeSHAP contributions, atomic saves
 * in XGBoost's JSON model format, a loader that checks the JSON before XGBoost sees it, and
 * every XGBoost failure turned into PROMO_EMODEL with XGBGetLastError()'s text.
 *
 * Usage (binary; for the others set p.objective, and p.n_classes for multi-class):
 *   promo_gbdt_params p = promo_gbdt_params_default();
 *   promo_gbdt_data tr = {x, n, d, y, NULL}, va = {xv, nv, d, yv, NULL};
 *   promo_gbdt *m = NULL;
 *   if (promo_gbdt_train(&p, &tr, &va, &m)) fprintf(stderr, "%s\n", promo_last_error());
 *   promo_gbdt_predict(m, x_new, n_new, d, 0, prob);       // prob: caller's n_new floats
 *   promo_gbdt_save(m, "ws/models/propensity.json");
 *   promo_gbdt_free(m);
 *
 * Determinism: with the hist method, a fixed seed and a fixed nthread, training is
 * reproducible. Early stopping reads a validation metric (log loss, RMSE or multi-class log
 * loss) promo computes as XGBoost does.
 * Predictions of a given model do not depend on nthread (each row is summed over the trees in
 * order). A model reloaded from its JSON predicts bit-for-bit the same.
 *
 * Thread-safety: a handle may be used for prediction from one thread at a time; separate
 * handles are independent.
 */
#ifndef PROMO_GBDT_H
#define PROMO_GBDT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_gbdt promo_gbdt;

typedef enum promo_gbdt_mode {
    PROMO_GBDT_BOOST = 0,  /* gradient boosting, one tree per round */
    PROMO_GBDT_FOREST = 1, /* random forest: one round of n_forest_trees parallel trees, eta 1 */
    PROMO_GBDT_MODE_COUNT
} promo_gbdt_mode;

/* What the trees predict. Append only. */
typedef enum promo_gbdt_objective {
    PROMO_GBDT_BINARY = 0,     /* binary:logistic: y in [0, 1]; predicts P(y = 1) */
    PROMO_GBDT_REGRESSION = 1, /* reg:squarederror: y finite; predicts E[y] */
    PROMO_GBDT_MULTICLASS = 2, /* multi:softprob: y in {0..n_classes-1}; class probabilities */
    PROMO_GBDT_OBJECTIVE_COUNT
} promo_gbdt_objective;

typedef struct promo_gbdt_params {
    promo_gbdt_mode mode;           /* boosting or random forest */
    promo_gbdt_objective objective; /* binary (default), regression or multi-class */
    int n_classes;                  /* MULTICLASS: number of classes, 2..1000; else ignored */
    int n_rounds;                   /* boosting rounds (upper bound with early stopping) */
    int early_stopping_rounds;      /* stop after this many rounds without validation gain; 0 off */
    int n_forest_trees;             /* FOREST: trees in the forest (num_parallel_tree) */
    int max_depth;                  /* tree depth limit, 1..30 */
    double eta;                     /* learning rate (FOREST forces 1) */
    double min_child_weight;        /* minimum hessian sum in a leaf */
    double subsample;               /* row sampling per tree, (0, 1] */
    double colsample_bytree;        /* column sampling per tree, (0, 1] */
    double colsample_bynode;        /* column sampling per split, (0, 1] (FOREST: ~sqrt(d)/d) */
    double lambda;                  /* L2 on leaf weights */
    double alpha;                   /* L1 on leaf weights */
    double gamma;                   /* minimum loss reduction to split */
    int max_bin;                    /* histogram bins per feature */
    double scale_pos_weight;        /* BINARY: weight of positives; 0 = n_neg / n_pos of training;
                                       other objectives: must stay 1 */
    const char *eval_metric;        /* early-stopping metric; NULL = the objective's own: "logloss"
                                       (BINARY; "auc" also accepted), "rmse" (REGRESSION),
                                       "mlogloss" (MULTICLASS), each computed as XGBoost does */
    int nthread;                    /* threads for training and prediction; 0 = OpenMP default */
    uint64_t seed;                  /* sampling seed */
} promo_gbdt_params;

/* Boosting defaults: binary objective, 500 rounds, early stopping after 30, depth 6, eta 0.1,
 * hist, 256 bins, subsample 0.8, colsample_bytree 0.8, min_child_weight 1, lambda 1,
 * scale_pos_weight 1, eval_metric NULL (logloss), nthread 0, seed 1. */
promo_gbdt_params promo_gbdt_params_default(void);
/* Random-forest defaults (XGBoost's RF mode): 100 trees, depth 12, subsample 0.632,
 * colsample_bynode 0 (= sqrt(d)/d, chosen at train time), eta 1, lambda 1e-5,
 * min_child_weight 1. */
promo_gbdt_params promo_gbdt_params_forest(void);

/* One data set: x is n_rows x n_cols float32, row-major, NaN = missing; y the labels (BINARY:
 * in [0, 1]; REGRESSION: finite; MULTICLASS: class index 0..n_classes-1 as float); w optional
 * per-row weights (NULL = 1). Borrowed for the duration of the call. */
typedef struct promo_gbdt_data {
    const float *x;
    size_t n_rows;
    size_t n_cols;
    const float *y;
    const float *w;
} promo_gbdt_data;

/* Train on `train`; `valid` (may be NULL) drives early stopping, and the kept model is cut at
 * the best round. The starting margin (XGBoost's base_score) is the weighted positive rate
 * (BINARY) or the weighted mean label (REGRESSION); MULTICLASS keeps XGBoost's 0.5 for every
 * class. *out is a new handle (promo_gbdt_free). Errors: PROMO_EUSAGE for bad params or shapes
 * (labels out of range for the objective, no rows, a single class with scale_pos_weight 0),
 * PROMO_EMODEL from XGBoost, PROMO_ENOMEM. */
int promo_gbdt_train(const promo_gbdt_params *p,
                     const promo_gbdt_data *train,
                     const promo_gbdt_data *valid,
                     promo_gbdt **out /* OUT */);

void promo_gbdt_free(promo_gbdt *m); /* NULL-safe */

/* Predict n_rows rows of x (n_cols must equal the model's feature count). out: caller's
 * n_rows x promo_gbdt_n_outputs() floats, row-major: BINARY the probability (margin = 1: the
 * log-odds); REGRESSION the value (margin and value are the same); MULTICLASS the class
 * probabilities of each row (margin = 1: the per-class margins before the softmax). promo
 * walks its own flattened copy of the trees (2-3x XGBoost's CPU predictor on 1M rows),
 * bit-for-bit XGBoost's result; trees deeper than 12 levels go through XGBoost's in-place
 * dense prediction. */
int promo_gbdt_predict(
    promo_gbdt *m, const float *x, size_t n_rows, size_t n_cols, int margin, float *out /* OUT */);

/* TreeSHAP contributions (exact, XGBoost's pred_contribs): out is caller's
 * n_rows x n_outputs x (n_cols + 1) floats, row-major (for MULTICLASS row i's class k block
 * starts at (i * n_classes + k) * (n_cols + 1)); the last entry of a block is the bias. Each
 * block sums to the margin prediction of its row and output. */
int promo_gbdt_contribs(
    promo_gbdt *m, const float *x, size_t n_rows, size_t n_cols, float *out /* OUT */);

/* Feature count, boosting rounds kept (best round + 1 after early stopping), the validation
 * metric at the best round (NaN without validation), and the mode. */
size_t promo_gbdt_n_features(const promo_gbdt *m);
int promo_gbdt_n_rounds(const promo_gbdt *m);
double promo_gbdt_best_score(const promo_gbdt *m);
/* The objective, and the values predicted per row (n_classes for MULTICLASS, else 1). */
promo_gbdt_objective promo_gbdt_get_objective(const promo_gbdt *m);
size_t promo_gbdt_n_outputs(const promo_gbdt *m);
/* Boosting or forest: a loaded model with more than one parallel tree per round is a forest. */
promo_gbdt_mode promo_gbdt_get_mode(const promo_gbdt *m);

/* Threads for later predictions (0 = OpenMP default). */
int promo_gbdt_set_nthread(promo_gbdt *m, int nthread);

/* String attributes stored inside the model JSON (promo keeps feature names, calibration and
 * training metadata here). set: value NULL deletes. get: malloc'd copy (promo_free) or NULL
 * when absent. */
int promo_gbdt_set_attr(promo_gbdt *m, const char *key, const char *value);
char *promo_gbdt_get_attr(promo_gbdt *m, const char *key);

/* The model as XGBoost JSON: *out is a new buffer of *n bytes (promo_free), not
 * NUL-terminated. */
int promo_gbdt_save_buffer(promo_gbdt *m, char **out /* OUT */, size_t *n /* OUT */);
/* Save atomically (path.tmp, fsync, rename). PROMO_EIO naming the path. */
int promo_gbdt_save(promo_gbdt *m, const char *path);

/* Load a model from XGBoost JSON bytes. The JSON is parsed and checked first (structure,
 * array lengths, child and feature indices in range) so a damaged or hostile file gives
 * PROMO_EINPUT, never a crash inside XGBoost. *out is a new handle. */
int promo_gbdt_load_buffer(const void *data, size_t n, promo_gbdt **out /* OUT */);
/* Load from a file: PROMO_ENOTFOUND if absent, PROMO_EINPUT (prefixed with the path) if bad. */
int promo_gbdt_load(const char *path, promo_gbdt **out /* OUT */);

/* Stepwise boosting, for a caller that decides itself when to stop (uplift's T-learner stops its
 * arm models together on the validation Qini of their difference). begin takes the parameters
 * of promo_gbdt_train (n_rounds, early_stopping_rounds and eval_metric are the caller's
 * business and ignored; boosting only, depth <= 12) and the training rows, which are binned
 * into XGBoost's quantile DMatrix during the call (borrowed for it only). x_eval (n_eval rows
 * of the training width, borrowed until end/free; may be NULL with n_eval 0) are rows whose
 * margins are given after any round, as promo_gbdt_predict(margin = 1) would give them. bins: NULL,
 * or a booster begun on the same width and max_bin whose histogram bins are reused (no second
 * quantile sketch; bins stays usable and must outlive the call only). round boosts one more round.
 * end keeps the first `keep` rounds (1..rounds) and returns them as a model like promo_gbdt_train's
 * (best_iteration = keep - 1, best score NaN); b is freed whatever end returns. Deterministic for a
 * fixed seed and nthread, like promo_gbdt_train; not bitwise its model (the bins come from the
 * quantile DMatrix's sketch). */
typedef struct promo_gbdt_boost promo_gbdt_boost;
int promo_gbdt_boost_begin(const promo_gbdt_params *p,
                           const promo_gbdt_data *train,
                           const float *x_eval,
                           size_t n_eval,
                           const promo_gbdt_boost *bins,
                           promo_gbdt_boost **out /* OUT */);
int promo_gbdt_boost_round(promo_gbdt_boost *b);
/* *out: n_eval x n_outputs margins after the rounds so far (borrowed until the next round;
 * NULL when n_eval is 0). The rounds boosted since the last call are added to them here. */
int promo_gbdt_boost_margins(promo_gbdt_boost *b, const float **out /* OUT */);
int promo_gbdt_boost_rounds(const promo_gbdt_boost *b);
int promo_gbdt_boost_end(promo_gbdt_boost *b, int keep, promo_gbdt **out /* OUT */);
void promo_gbdt_boost_free(promo_gbdt_boost *b); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
