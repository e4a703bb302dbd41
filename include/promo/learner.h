/* promo/learner.h: one train / predict / save / load interface over promo's supervised models.
 *
 * A learner is gradient boosting or a random forest (XGBoost, promo/gbdt.h) or an L2 logistic
 * regression (promo/linear.h) behind one opaque handle, so a model (propensity's baselines,
 * uplift meta-learners, expansion prediction) picks its learner by a parameter and stores it
 * through one buffer format. Objectives: binary classification (every kind), regression and
 * multi-class classification (gbdt and forest only).
 *
 * Usage:
 *   promo_learner_params p = promo_learner_params_default(PROMO_LEARNER_GBDT);
 *   p.objective = PROMO_LEARNER_BINARY;
 *   promo_learner_data tr = {x, n, d, y, NULL, 0}, va = {xv, nv, d, yv, NULL, 0};
 *   promo_learner *l = NULL;
 *   if (promo_learner_train(&p, &tr, &va, &l)) fprintf(stderr, "%s\n", promo_last_error());
 *   float *prob = promo_mallocn(n_new, promo_learner_n_outputs(l) * sizeof *prob);
 *   promo_learner_predict(l, x_new, n_new, d, prob);
 *   char *buf; size_t len;
 *   promo_learner_save_buffer(l, &buf, &len);      // stage the bytes in the store
 *   promo_learner_free(l);
 *   promo_learner_load_buffer(buf, len, &l);       // any kind: the bytes say which
 *   promo_free(buf);
 *
 * Buffers: gbdt and forest save XGBoost's JSON model (recognised by its opening '{'), logistic
 * regression promo's little-endian format (recognised by its magic, see promo/linear.h). The
 * kind of a loaded XGBoost model is read from it: more than one parallel tree per round is a
 * forest (so a one-tree forest reloads as gbdt, predicting the same). Predictions after a
 * save/load round trip are bit-for-bit those before.
 *
 * Ownership: promo_learner_train and promo_learner_load_buffer return a new handle, freed by
 * promo_learner_free (NULL-safe). Data passed in is borrowed for the call. Buffers from
 * promo_learner_save_buffer and strings from promo_learner_get_attr are the caller's
 * (promo_free).
 *
 * Thread-safety: a handle may predict from one thread at a time; separate handles are
 * independent. Determinism: as the underlying learner (a fixed seed and thread count train the
 * same model; predictions do not depend on the thread count).
 *
 * Errors: every int function returns PROMO_OK or a promo_status with promo_last_error() set:
 * PROMO_EUSAGE for bad parameters, shapes, labels, or an objective the kind does not offer;
 * PROMO_EINPUT for a damaged or foreign buffer; PROMO_EVERSION for another logreg format version;
 * PROMO_EMODEL when XGBoost or LAPACK fails; PROMO_ENOMEM.
 */
#ifndef PROMO_LEARNER_H
#define PROMO_LEARNER_H

#include <stddef.h>

#include <promo/gbdt.h>
#include <promo/linear.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_learner promo_learner;

/* The model behind the handle. Append only. */
typedef enum promo_learner_kind {
    PROMO_LEARNER_GBDT = 0,   /* gradient boosting (XGBoost), early stopping on `valid` */
    PROMO_LEARNER_FOREST = 1, /* random forest (XGBoost's RF mode) */
    PROMO_LEARNER_LOGREG = 2, /* L2 logistic regression (IRLS); binary only */
    PROMO_LEARNER_KIND_COUNT
} promo_learner_kind;

/* What is learnt; the values are promo_gbdt_objective's. Append only. */
typedef enum promo_learner_objective {
    PROMO_LEARNER_BINARY = 0,     /* y in [0, 1]; predicts P(y = 1), one value per row */
    PROMO_LEARNER_REGRESSION = 1, /* y finite; predicts E[y], one value per row (squared error) */
    PROMO_LEARNER_MULTICLASS = 2, /* y in {0..n_classes-1}; n_classes probabilities per row */
    PROMO_LEARNER_OBJECTIVE_COUNT
} promo_learner_objective;

typedef struct promo_learner_params {
    promo_learner_kind kind;           /* which learner */
    promo_learner_objective objective; /* what it learns */
    promo_gbdt_params gbdt;            /* GBDT and FOREST: the booster's parameters; mode,
                                          objective and n_classes are set from kind, objective
                                          and the training data */
    promo_logreg_params logreg;        /* LOGREG: the regression's parameters */
} promo_learner_params;

/* Defaults for a kind: binary objective; gbdt = promo_gbdt_params_default() (GBDT) or
 * promo_gbdt_params_forest() (FOREST); logreg = promo_logreg_params_default(). */
promo_learner_params promo_learner_params_default(promo_learner_kind kind);

/* One data set, borrowed for the call. x: n_rows x n_cols float32, row-major, NaN = missing;
 * y: n_rows labels (see the objectives); w: optional per-row weights >= 0 (NULL = 1);
 * n_classes: MULTICLASS the number of classes (2..1000; a validation set may give 0 = the
 * training set's), otherwise 0. */
typedef struct promo_learner_data {
    const float *x;
    size_t n_rows;
    size_t n_cols;
    const float *y;
    const float *w;
    int n_classes;
} promo_learner_data;

/* Train on `train`. `valid` (may be NULL) is a later validation set: gbdt stops early on it
 * (the objective's own metric: log loss, RMSE or multi-class log loss) and keeps the best
 * round; forest and logreg only check its shape. *out: a new handle. */
int promo_learner_train(const promo_learner_params *p,
                        const promo_learner_data *train,
                        const promo_learner_data *valid,
                        promo_learner **out /* OUT */);

void promo_learner_free(promo_learner *l); /* NULL-safe */

/* Predict n_rows rows of x (n_cols must equal the training width): out is the caller's
 * n_rows x promo_learner_n_outputs(l) floats, row-major: the probability (BINARY), the value
 * (REGRESSION) or the class probabilities, summing to 1 (MULTICLASS). */
int promo_learner_predict(
    promo_learner *l, const float *x, size_t n_rows, size_t n_cols, float *out /* OUT */);

/* The model as bytes (see above): *out is a new buffer of *n bytes (promo_free). */
int promo_learner_save_buffer(promo_learner *l, char **out /* OUT */, size_t *n /* OUT */);
/* Load any kind from bytes saved by promo_learner_save_buffer (or promo_gbdt_save_buffer /
 * promo_logreg_save_buffer). Damaged or foreign bytes give PROMO_EINPUT, never a crash. */
int promo_learner_load_buffer(const void *data, size_t n, promo_learner **out /* OUT */);

/* Accessors. name: "gbdt", "forest" or "logreg" (static). */
promo_learner_kind promo_learner_get_kind(const promo_learner *l);
promo_learner_objective promo_learner_get_objective(const promo_learner *l);
size_t promo_learner_n_features(const promo_learner *l);
size_t promo_learner_n_outputs(const promo_learner *l);
const char *promo_learner_name(const promo_learner *l);
/* The name of a kind ("gbdt", "forest", "logreg"; "?" if out of range). */
const char *promo_learner_kind_name(promo_learner_kind kind);

/* Threads for later predictions (0 = OpenMP default). */
int promo_learner_set_nthread(promo_learner *l, int nthread);

/* String attributes saved with the model (promo keeps feature names, calibration and training
 * metadata there), for every kind: in XGBoost's JSON for gbdt and forest, in the logreg
 * format's attribute list for logreg. set: value NULL deletes; PROMO_EUSAGE for an empty key.
 * get: a new string (promo_free), or NULL when absent. */
int promo_learner_set_attr(promo_learner *l, const char *key, const char *value);
char *promo_learner_get_attr(promo_learner *l, const char *key);

/* The learner underneath, borrowed (valid until l is freed), for what only it offers (TreeSHAP
 * contributions, boosting rounds, coefficients): NULL when l is of another kind. */
promo_gbdt *promo_learner_gbdt(promo_learner *l);
const promo_logreg *promo_learner_logreg(const promo_learner *l);

/* A learner over a boosted model the caller trained itself (promo_gbdt_boost_end), taking
 * ownership of g (freed with the learner, or here on failure). kind GBDT; the objective is g's. */
int promo_learner_from_gbdt(promo_gbdt *g, promo_learner **out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
