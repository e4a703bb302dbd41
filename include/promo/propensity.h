/* promo/propensity.h: purchase propensity, the heart of targeting.
 *
 * For a target ("any", "product:ID", "category:NAME") and a horizon of H days, a probability
 * for every customer known at a cutoff that they buy the target in [cutoff, cutoff + H).
 *
 * Time windows (all H days long, strictly ordered, no label ever used twice):
 *
 *     train cutoffs T-(k+1)H .. T-2H  |  validation cutoff T-H  |  test cutoff T  | future
 *     features <  cutoff, labels in [cutoff, cutoff+H)           (labels in [T, T+H))
 *
 * T is the test cutoff (`as_of`; default: the day after the last transaction minus H, so the
 * test window is complete). The k rolling training windows are stacked; the validation window
 * drives XGBoost's early stopping and fits the calibration; every figure is measured on the
 * test window, later in time than anything the models saw.
 *
 * Rows. "any": one row per customer (customer features, features.h). "product:ID" and
 * "category:NAME": one model serves every product (or category): rows are customer x item
 * pairs with customer features, item features (popularity over 30/90 days and in all history,
 * price, discount, repeat rate, category popularity) and customer-item features (orders of the
 * item and of its category in the last 30/90/365 days, days since the last one, the
 * customer's spend share of the category, co-purchase affinity with what the customer bought,
 * and the expected purchase rate order rate x category share x item share in its category).
 * Training pairs keep every positive and every item the customer bought before; the other
 * negatives are sampled at rate r and weighted 1/r (so sums and the calibration see the
 * population). With scope PROMO_PROP_SCOPE_CATEGORY a product model is trained only on the
 * products of the target's category.
 *
 * Models, all scored on the same test rows (the evaluation report, report.h, measures them):
 *   xgboost        hist, early stopping on the validation window, scale_pos_weight for the
 *                  imbalance, calibrated (Platt or isotonic) on the validation window;
 *   popularity     how often the customer bought the target before (all history);
 *   rfm            the customer's RFM score (r + f + m quintiles, recency breaking ties);
 *   logreg         L2 logistic regression on the same rows and features (linear.h);
 *   random_forest  XGBoost's random-forest mode (the original spec's model).
 * Every model's score is calibrated on the validation window with the same method, so log loss,
 * Brier and ECE compare like with like; rankings (AUC, P@K) are unchanged by calibration.
 *
 * Storage. The xgboost model is saved as XGBoost JSON in <ws>/models/propensity_<kind>.json
 * (kind: any, product, product_<category>, category) with attributes promo.* holding the
 * target, cutoffs, horizon, feature names and the calibration; it reloads with bit-identical
 * predictions. Training here writes nothing: promo_propensity_fit returns every model's
 * calibrated test scores and the model's bytes; the evaluation report (report.h,
 * promo_report_propensity_train) computes the figures, stores the model file, the table
 * `evaluations` and the charts <ws>/out/propensity_<target>_{pr,calibration,lift}.png as one
 * unit, so `promo evaluate` prints without retraining.
 *
 * Usage:
 *   promo_propensity_params p = promo_propensity_params_default();
 *   p.target = "product:PROD00001";
 *   const char *t = "product:PROD00001";
 *   promo_prop_fit *f = NULL;
 *   if (promo_propensity_fit(store, &p, &t, 1, &f)) fprintf(stderr, "%s\n", promo_last_error());
 *   // f->tests[0].prob[PROMO_PROP_XGBOOST]: calibrated test-window probabilities
 *   promo_prop_fit_free(f);
 *   promo_prop_scores *sc = NULL;
 *   promo_propensity_score(store, "product:PROD00001", 0, &sc);  // every customer, latest data
 *   promo_prop_scores_free(sc);
 *
 * Errors: PROMO_EUSAGE (bad target or params), PROMO_ENOTFOUND (unknown product/category, no
 * model trained for the target's kind), PROMO_EINPUT (too little history for the windows, a
 * window without both classes), PROMO_EMODEL, PROMO_EDB, PROMO_EIO, PROMO_ENOMEM. Results do
 * not depend on the thread count (per-customer RNG streams; XGBoost hist with a fixed seed).
 * Thread-safety: a promo_store is used by one thread at a time (store.h), so are these calls.
 */
#ifndef PROMO_PROPENSITY_H
#define PROMO_PROPENSITY_H

#include <stddef.h>
#include <stdint.h>

#include <promo/calibrate.h>
#include <promo/gbdt.h>
#include <promo/linear.h>
#include <promo/panel.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

/* The models of one evaluation, in report order. Append-only. */
typedef enum promo_prop_model {
    PROMO_PROP_XGBOOST = 0,       /* gradient boosting, calibrated: the model promo uses */
    PROMO_PROP_POPULARITY = 1,    /* the customer's past purchases of the target */
    PROMO_PROP_RFM = 2,           /* RFM score heuristic */
    PROMO_PROP_LOGREG = 3,        /* logistic regression */
    PROMO_PROP_RANDOM_FOREST = 4, /* XGBoost random-forest mode */
    PROMO_PROP_MODEL_COUNT
} promo_prop_model;

/* "xgboost", "popularity", "rfm", "logreg", "random_forest"; "unknown" otherwise. */
const char *promo_prop_model_name(int model);

/* Which pairs a product model learns from. */
typedef enum promo_prop_scope {
    PROMO_PROP_SCOPE_ALL = 0,      /* every product: one model serves all products */
    PROMO_PROP_SCOPE_CATEGORY = 1, /* the products of the target's category only */
    PROMO_PROP_SCOPE_COUNT
} promo_prop_scope;

/* Which baselines a training evaluates beside the model (promo_propensity_params.baselines). */
enum {
    PROMO_PROP_BASELINES_NONE = 0,      /* the model alone */
    PROMO_PROP_BASELINES_ALL = 1,       /* popularity, RFM, logistic regression, random forest */
    PROMO_PROP_BASELINES_HEURISTIC = 2, /* popularity and RFM: no training, no cost */
};

typedef struct promo_propensity_params {
    const char *target;           /* "any", "product:ID" or "category:NAME"; borrowed */
    int64_t as_of;                /* test cutoff T (seconds, timeutil.h); 0 = last transaction
                                     day + 1 - horizon */
    double horizon_days;          /* H, days (default 30) */
    int n_train_windows;          /* rolling training cutoffs before the validation one (3) */
    promo_prop_scope scope;       /* product targets: all products or the target's category */
    double neg_per_pos;           /* never-bought negatives sampled per positive pair (5);
                                     0 = keep every pair */
    size_t max_items;             /* pair models: learn from the max_items most-ordered items
                                     before each cutoff plus the target (0 = all; default 0) */
    promo_calib_kind calibration; /* PROMO_CALIB_PLATT (default: smooth, never exactly 0 or 1,
                                    and it undoes scale_pos_weight's shift), ISOTONIC or NONE */
    int baselines;                /* PROMO_PROP_BASELINES_HEURISTIC (default): popularity and
                                     RFM, which cost nothing; _ALL: also train logistic
                                     regression and the random forest (minutes on a real
                                     catalogue); _NONE: the model alone */
    int reuse;                    /* 1: when the model file of the target's kind (and scope)
                                     holds a model trained with the same windows, parameters
                                     and data (promo.train_key), score the targets with it
                                     instead of training again (only its evaluation is new);
                                     0 (default): always train */
    int plots;                    /* 1 (default): PNG charts into <ws>/out (skipped with a
                                     warning when gnuplot is absent); read by the report */
    int save;                     /* 1 (default): save the model and the evaluation; read by
                                     the report (report.h) */
    promo_gbdt_params gbdt;       /* boosting parameters (defaults: depth 4, eta 0.05,
                                     600 rounds, patience 50, min_child_weight 20,
                                     colsample 0.3, lambda 10, scale_pos_weight 1; 0 =
                                     automatic, capped at 10) */
    promo_gbdt_params forest;     /* random-forest baseline (promo_gbdt_params_forest) */
    promo_logreg_params logreg;   /* logistic-regression baseline */
    size_t small_data_rows;       /* below this many training rows, boosting uses depth <= 3,
                                     eta <= 0.05, min_child_weight >= 5 and one thread (50000;
                                     0 = never) */
    size_t max_train_rows;        /* pair models: at most about this many training rows in
                                     all windows, every positive kept and the negatives
                                     thinned (weights 1/rate); 0 = no limit (default 120000:
                                     UCI Online Retail's 858k rows, same AUC, 4x faster) */
    size_t max_valid_rows;        /* the same for the validation window (default 100000) */
    double gbdt_large_eta;        /* learning rate above small_data_rows rows (default 0.1;
                                     0 = gbdt.eta): half the rounds of 0.05 on pair models */
    size_t max_logreg_rows;       /* logistic regression learns from at most this many
                                     training rows, a fixed-seed subsample (200000) */
    const char *export_dir;       /* benchmarks: when set, the training, validation and test
                                     matrices are written there (see promo_propensity_fit)
                                     for an external reference model; NULL (default) = no */
    uint64_t seed;                /* negative sampling and model seeds (default 1) */
    int n_threads;                /* 0 = OpenMP default; results do not depend on it */
} promo_propensity_params;

promo_propensity_params promo_propensity_params_default(void);

#define PROMO_PROP_TARGET_MAX 256 /* bytes of a target string, NUL included */
#define PROMO_PROP_PATH_MAX   1024

/* One target's test window as every model scored it: what an evaluation needs, no figures. */
typedef struct promo_prop_test {
    char target[PROMO_PROP_TARGET_MAX];
    char target_name[256];                /* the product's name or the category ("" for any):
                                             what charts and messages call the target */
    size_t n;                             /* test rows (customers known at the test cutoff) */
    uint8_t *label;                       /* n labels: bought the target in the window */
    float *weight;                        /* n row weights */
    double *prob[PROMO_PROP_MODEL_COUNT]; /* n calibrated probabilities per model, indexed by
                                             promo_prop_model; NULL when not fitted */
} promo_prop_test;

/* What promo_propensity_fit trained: the windows, the test scores and the model's bytes. */
typedef struct promo_prop_fit {
    int64_t as_of;                            /* test cutoff T */
    int64_t valid_as_of;                      /* validation cutoff T - H */
    int64_t first_train_as_of;                /* earliest training cutoff */
    double horizon_days;                      /* H */
    int n_train_windows;                      /* stacked training windows */
    size_t n_train_rows;                      /* training rows (after sampling) */
    size_t n_train_pos;                       /* positive training rows */
    size_t n_valid_rows;                      /* validation rows */
    size_t n_features;                        /* model features */
    int n_rounds;                             /* boosting rounds kept after early stopping */
    promo_calib_kind calibration;             /* calibration method */
    double valid_logloss;                     /* validation log loss at the best round (weighted) */
    double valid_auc[PROMO_PROP_MODEL_COUNT]; /* validation ROC AUC of each fitted model (NaN
                                                 when not fitted or reused): the guardrail */
    int reused;                               /* 1: the model on disk was reused (model is NULL) */
    char model_digest[17]; /* 16 hex digits: FNV-1a/fmix64 of the model file's bytes,
                              the identity stored with its evaluation */
    double train_seconds[PROMO_PROP_MODEL_COUNT]; /* wall time to fit (0 for heuristics) */
    size_t n_tests;                               /* targets, in the order asked */
    promo_prop_test *tests;                       /* n_tests test windows (owned) */
    char model_path[PROMO_PROP_PATH_MAX];         /* where the model belongs in the workspace */
    char *model;       /* the xgboost model, XGBoost JSON with the promo.* attributes: the
                          bytes to store at model_path (owned); NULL when reused */
    size_t model_size; /* bytes of model */
} promo_prop_fit;

void promo_prop_fit_free(promo_prop_fit *f); /* NULL-safe */

/* Build the windows from the workspace's tables, fit the xgboost model and (with
 * p->baselines) the baselines, and score every fitted model, calibrated, on each target's
 * test rows. One model serves all targets: every target must be of the kind of targets[0]
 * ("any", products, or categories); p->target is ignored. Writes nothing to the workspace
 * (p->save and p->plots are for the caller; the evaluation report, report.h, stores and
 * draws). With p->export_dir set, it writes there: train.f32 / valid.f32 (row-major float32
 * features), train.lab / valid.lab (float32 label, weight pairs), and test_<k>.f32 /
 * test_<k>.lab for each target, plus meta.json (rows, columns, feature names); PROMO_EIO
 * naming the file on failure. *out: new (promo_prop_fit_free). Errors: see the top. */
int promo_propensity_fit(promo_store *s,
                         const promo_propensity_params *p,
                         const char *const *targets,
                         size_t n_targets,
                         promo_prop_fit **out /* OUT */);

/* Probabilities for every customer known at a cutoff. */
typedef struct promo_prop_scores {
    size_t n;            /* customers */
    char **customer_id;  /* n ids (owned) */
    double *probability; /* n calibrated probabilities */
    int64_t as_of;       /* the cutoff scored */
    char target[PROMO_PROP_TARGET_MAX];
} promo_prop_scores;

void promo_prop_scores_free(promo_prop_scores *s); /* NULL-safe */

/* Score every customer known at as_of (0 = the day after the last transaction: the future)
 * for target with the saved model of the target's kind. One call computes the features once
 * and predicts all rows at once. *out: new scores (promo_prop_scores_free). */
int promo_propensity_score(promo_store *s,
                           const char *target,
                           int64_t as_of,
                           promo_prop_scores **out /* OUT */);

/* One customer's explanation: the model's TreeSHAP contributions (log-odds) per feature. */
typedef struct promo_prop_explanation {
    char customer_id[128];
    char currency[8]; /* the workspace's currency code ("GBP", "LKR"; "" = unknown), for
                         amounts in sentences (promo_prop_currency) */
    char target[PROMO_PROP_TARGET_MAX];
    char target_name[256];   /* product or category name ("" for any) */
    char category_name[256]; /* the product's category (product targets), else "" */
    int64_t as_of;           /* the cutoff */
    double probability;      /* calibrated probability */
    double bias;             /* the contributions' bias term (log-odds) */
    size_t n_features;       /* entries below */
    char **feature_names;    /* n_features names (owned) */
    float *values;           /* the customer's feature values (NaN = missing) */
    float *contribs;         /* TreeSHAP contributions, log-odds; sum + bias = margin */
} promo_prop_explanation;

void promo_prop_explanation_free(promo_prop_explanation *e); /* NULL-safe */

/* Explain the saved model's score of customer_id for target at as_of (0 = latest).
 * PROMO_ENOTFOUND for a customer not known at the cutoff. *out: new (free as above). */
int promo_propensity_explain(promo_store *s,
                             const char *target,
                             int64_t as_of,
                             const char *customer_id,
                             promo_prop_explanation **out /* OUT */);

/* Explanations of several customers in one pass (features computed once): out[k] for
 * customer_ids[k]; unknown customers give NULL entries. *out: new array of n pointers; free
 * each entry with promo_prop_explanation_free and the array with promo_free. */
int promo_propensity_explain_many(promo_store *s,
                                  const char *target,
                                  int64_t as_of,
                                  const char *const *customer_ids,
                                  size_t n,
                                  promo_prop_explanation ***out /* OUT */);

/* A saved model loaded for scoring: the lower layer under the calls above and under the
 * scoring handle (promo/scorer.h), which holds a panel, a cut and such models so that any
 * number of calls build the features once. The caller owns the panel and the cut (panel.h)
 * and passes them to each call; the model borrows nothing.
 *
 *   promo_prop_loaded *m = NULL;
 *   promo_prop_load(store, &panel, t, 0, &m);                // t: promo_panel_target_parse
 *   promo_prop_loaded_score(m, &panel, &cut, t, "product:PROD00001", &sc);
 *   promo_prop_loaded_free(m);
 *
 * Thread-safety: a loaded model is used by one thread at a time. */
typedef struct promo_prop_loaded promo_prop_loaded;

/* The file that serves target t: for a product, the model scoped to its category when one was
 * trained, else the model of t's kind (<ws>/models/propensity_<kind>.json); into out. */
void promo_prop_model_file(
    promo_store *s, const promo_panel *d, promo_panel_target t, char *out /* OUT */, size_t n);

/* The scoring cutoff of a panel: the day after its last purchase (what as_of = 0 means in the
 * calls above). */
int64_t promo_prop_scoring_cutoff(const promo_panel *d);

/* Load the model that serves t (promo_prop_model_file) with its layout and calibration, its
 * predictions on n_threads (0 = OpenMP default; results do not depend on it). Errors:
 * PROMO_ENOTFOUND when no model of t's kind was trained (the message names the `promo train`
 * to run), PROMO_EINPUT when the file is not a propensity model of that kind, PROMO_EMODEL,
 * PROMO_ENOMEM. *out: new (promo_prop_loaded_free). */
int promo_prop_load(promo_store *s,
                    const promo_panel *d,
                    promo_panel_target t,
                    int n_threads,
                    promo_prop_loaded **out /* OUT */);
void promo_prop_loaded_free(promo_prop_loaded *m); /* NULL-safe */

/* The file it was loaded from, the kind it serves, its feature columns (borrowed, valid until
 * m is freed). */
const char *promo_prop_loaded_path(const promo_prop_loaded *m);
promo_panel_kind promo_prop_loaded_kind(const promo_prop_loaded *m);
const promo_panel_layout *promo_prop_loaded_layout(const promo_prop_loaded *m);

/* Calibrated probabilities of rows r of cut c (prob: caller's r->n), predicted in blocks. */
int promo_prop_loaded_predict(const promo_prop_loaded *m,
                              const promo_panel *d,
                              const promo_panel_cut *c,
                              const promo_panel_rows *r,
                              double *prob /* OUT */);

/* Every customer of cut c for target t (target: its text, copied into the result), in the
 * cut's customer order; as promo_propensity_score. *out: new (promo_prop_scores_free). */
int promo_prop_loaded_score(const promo_prop_loaded *m,
                            const promo_panel *d,
                            const promo_panel_cut *c,
                            promo_panel_target t,
                            const char *target,
                            promo_prop_scores **out /* OUT */);

/* Explanations of the cut's customer rows cust[0..n) for target t in one pass: out[k] (caller's
 * array of n pointers) gets a new explanation of cust[k] (promo_prop_explanation_free); all
 * NULL on failure. */
int promo_prop_loaded_explain(const promo_prop_loaded *m,
                              const promo_panel *d,
                              const promo_panel_cut *c,
                              promo_panel_target t,
                              const char *target,
                              const uint32_t *cust,
                              size_t n,
                              promo_prop_explanation **out /* OUT: n */);

/* The currency of the workspace's amounts: the store's "currency" setting, else what its
 * source implies ("generate.currency" of a generated world; GBP for the online-retail
 * profile, a UK retailer), else "". Into out (8 bytes). */
void promo_prop_currency(promo_store *s, char out[8] /* OUT */);

/* The identity of a model file's bytes: 16 lowercase hex digits into out (17 bytes). */
void promo_prop_digest(const void *data, size_t n, char out[17] /* OUT */);
/* The digest of the file at path; PROMO_ENOTFOUND when it does not exist, PROMO_EIO. */
int promo_prop_file_digest(const char *path, char out[17] /* OUT */);

/* s with every byte other than [A-Za-z0-9.-] as '_', truncated to n - 1 bytes, into out:
 * "product:PROD 1" -> "product_PROD_1", the file-name form of a target or category in model
 * and chart names. */
void promo_prop_slug(const char *s, char *out /* OUT */, size_t n);

/* The default test cutoff for a horizon: the day after the last transaction minus horizon
 * days (the latest cutoff with a complete label window); with horizon 0, the day after the
 * last transaction (the scoring cutoff). PROMO_EINPUT when there are no transactions. */
int promo_propensity_default_as_of(promo_store *s, double horizon_days, int64_t *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
