/* promo/report.h: the evaluation report: figures from a model's scores, the charts, and the
 * stored evaluations that `promo evaluate` prints without retraining.
 *
 * Models hand over scores, not figures (propensity.h: promo_propensity_fit gives every
 * model's calibrated test-window probabilities with the test labels); the report computes the
 * metrics (metrics.h), draws the charts (plot.h) and stores one generic row per figure.
 *
 * Table `evaluations` (long format; one row per figure):
 *     task    string   what was evaluated: "propensity" (next: "uplift", "ranking", ...)
 *     target  string   e.g. "any", "product:PROD00001"
 *     model   string   "xgboost", "logreg", ...; "" for figures of the whole run
 *     metric  string   "auc", "precision_at_100", "ece", "train_seconds", "as_of", ...
 *     value   float64  the figure (null for a text row)
 *     text    string   a text figure: "calibration", "model_path", "plot_pr", ... (else null)
 * Why long, not one wide row per model: a new task or metric (Qini and AUUC for uplift,
 * MAP@K for recommenders) is new rows, not a new schema, and `promo evaluate` of an older
 * workspace still reads every figure it knows. Writing the rows of a (task, target) replaces
 * that target's previous rows and keeps the others, in their order.
 *
 * Propensity's rows, per target: model "" holds the run (as_of, valid_as_of and
 * first_train_as_of in seconds, horizon_days, n_train_windows, n_train_rows, n_train_pos,
 * n_valid_rows, n_features, n_rounds, valid_logloss; text: calibration, model_path, plot_pr,
 * plot_calibration, plot_lift); each fitted model holds the binary metrics (n, n_pos,
 * base_rate, auc, pr_auc, log_loss, brier, precision_at_K, recall_at_K, ndcg_at_K for K in
 * promo_metrics_k, lift_top_decile, ece) and train_seconds; xgboost also its reliability curve
 * (reliability_mean_B, reliability_frac_B, reliability_count_B for bins B = 0..9).
 *
 * Training is one unit (promo_report_propensity_train): the model file, the evaluation rows
 * and the charts are committed together, in one store transaction: the charts and the model
 * bytes are staged with promo_store_stage_file (written and fsynced beside their final names
 * at once), the rows replaced, and the commit renames the files into place (store.h says
 * what can still fail then). Every step that can fail for want of space, permission, memory
 * or the write lock comes before the commit point, and a failure there rolls back, so the
 * workspace is left exactly as it was: no new model beside the old evaluation.
 *
 * A workspace evaluated before this table existed holds `propensity_eval` instead: reading
 * it fails with PROMO_EVERSION asking to re-run `promo train`; training drops it.
 *
 * Usage:
 *   promo_propensity_params p = promo_propensity_params_default();
 *   p.target = "product:PROD00001";
 *   promo_propensity_report r;
 *   if (promo_report_propensity_train(store, &p, &r)) fprintf(stderr, "%s\n", promo_last_error());
 *   printf("auc %.3f p@100 %.3f\n", r.models[PROMO_PROP_XGBOOST].m.auc,
 *          r.models[PROMO_PROP_XGBOOST].m.precision_at[1]);
 *
 * Errors: those of propensity.h and store.h; PROMO_EINPUT for an `evaluations` table that is
 * not one (a missing or mistyped column). Thread-safety: as the store's (one thread).
 */
#ifndef PROMO_REPORT_H
#define PROMO_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <promo/expansion.h>
#include <promo/metrics.h>
#include <promo/propensity.h>
#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROMO_REPORT_TABLE "evaluations"

/* ---- generic rows ---- */

/* A set of evaluation rows to write (a promo_table with the columns above, owned). */
typedef struct promo_report_rows promo_report_rows;

int promo_report_rows_new(promo_report_rows **out /* OUT */);
void promo_report_rows_free(promo_report_rows *r); /* NULL-safe */
/* One number; model may be "" (a figure of the run). */
int promo_report_rows_add(promo_report_rows *r,
                          const char *task,
                          const char *target,
                          const char *model,
                          const char *metric,
                          double value);
/* One text figure (a path, a method name). */
int promo_report_rows_add_text(promo_report_rows *r,
                               const char *task,
                               const char *target,
                               const char *model,
                               const char *metric,
                               const char *text);
/* Every figure of m, named as in the table description above. */
int promo_report_rows_add_binary(promo_report_rows *r,
                                 const char *task,
                                 const char *target,
                                 const char *model,
                                 const promo_binary_metrics *m);
/* Set the field of m that metric names (as add_binary writes it) to value: 1 if metric is a
 * binary metric, else 0. */
int promo_report_binary_set(promo_binary_metrics *m, const char *metric, double value);

/* Replace the stored rows of every (task, target) that r holds rows of by r's rows; rows of
 * other targets and tasks stay, in order. Inside the store's open transaction, else in its
 * own. */
int promo_report_write(promo_store *s, const promo_report_rows *r);
/* The stored rows (table `evaluations`, checked: the columns above with their types), or
 * *out = NULL when nothing was evaluated yet. *out: promo_table_free. */
int promo_report_read(promo_store *s, promo_table **out /* OUT */);

/* ---- propensity ---- */

/* One model's figures on the test window. */
typedef struct promo_prop_model_eval {
    int fitted;             /* 1 if the model was fitted and evaluated */
    promo_binary_metrics m; /* metrics of the calibrated probabilities */
    double train_seconds;   /* wall time to fit (0 for the heuristics) */
} promo_prop_model_eval;

/* What a propensity training measured, for one target. */
typedef struct promo_propensity_report {
    char target[PROMO_PROP_TARGET_MAX]; /* the evaluated target */
    int64_t as_of;                      /* test cutoff T */
    int64_t valid_as_of;                /* validation cutoff T - H */
    int64_t first_train_as_of;          /* earliest training cutoff */
    double horizon_days;                /* H */
    int n_train_windows;                /* stacked training windows */
    size_t n_train_rows;                /* training rows (after sampling) */
    size_t n_train_pos;                 /* positive training rows */
    size_t n_valid_rows;                /* validation rows */
    size_t n_features;                  /* model features */
    int n_rounds;                       /* boosting rounds kept after early stopping */
    promo_calib_kind calibration;       /* calibration method */
    double valid_logloss;               /* validation log loss at the best round (weighted) */
    promo_prop_model_eval models[PROMO_PROP_MODEL_COUNT]; /* indexed by promo_prop_model */
    double reliability_mean[10];              /* xgboost calibration curve on the test window: mean
                                                 probability per bin (NaN when empty) */
    double reliability_frac[10];              /* fraction of positives per bin */
    size_t reliability_count[10];             /* rows per bin */
    char model_path[PROMO_PROP_PATH_MAX];     /* saved XGBoost JSON ("" when not saved) */
    char model_digest[17];                    /* identity of the model file these figures
                                                 measured (promo_prop_digest; "" if unknown) */
    int model_reused;                         /* 1: the model on disk served, not retrained */
    double valid_auc[PROMO_PROP_MODEL_COUNT]; /* validation ROC AUC per model (NaN: none) */
    char plot_paths[3][PROMO_PROP_PATH_MAX];  /* pr, calibration, lift PNGs ("" if none) */
} promo_propensity_report;

/* The figures of a fit: out[k] (f->n_tests reports) for f->tests[k]; no paths. Pure. */
int promo_report_propensity_evaluate(const promo_prop_fit *f,
                                     promo_propensity_report *out /* OUT: f->n_tests */);

/* Train (promo_propensity_fit), evaluate every model on each target's test window, and as
 * one unit (see the top): with p->plots draw the charts into <ws>/out/propensity_<target>_
 * {pr,calibration,lift}.png (skipped with a warning when gnuplot is absent), with p->save
 * store the model at f->model_path and the rows in `evaluations`. out[k] for targets[k];
 * p->target is ignored. The store must hold no open transaction. */
int promo_report_propensity_train_multi(promo_store *s,
                                        const promo_propensity_params *p,
                                        const char *const *targets,
                                        size_t n_targets,
                                        promo_propensity_report *out /* OUT: n_targets */);
/* As above for the one target p->target (NULL = "any"). */
int promo_report_propensity_train(promo_store *s,
                                  const promo_propensity_params *p,
                                  promo_propensity_report *out /* OUT */);

/* The stored propensity evaluations, one report per target in the order first trained
 * (paths and the reliability curve included). *out: new array of *n reports (promo_free);
 * *n = 0 and *out = NULL when nothing was evaluated yet (not an error). */
/* Does the model file r measured still hold that model? *stale = 1 when r names a model
 * file and a digest and the file is missing or its digest differs (it was retrained since,
 * with another cutoff, scope or data); 0 otherwise. Errors: PROMO_EIO, PROMO_ENOMEM. */
int promo_report_propensity_stale(const promo_propensity_report *r, int *stale /* OUT */);

int promo_report_propensity_read(promo_store *s,
                                 promo_propensity_report **out /* OUT */,
                                 size_t *n /* OUT */);

/* ---- expansion (expansion.h) ----
 *
 * Rows: task "expansion", target "category"; model "" holds the run (as_of, valid_as_of,
 * first_train_as_of, horizon_days, n_train_windows, n_train_rows, n_valid_rows, n_test_rows,
 * n_features, n_classes, n_rounds, valid_mlogloss, train_seconds; text: model_path); each
 * model ("xgboost", "majority", "markov") holds n and top1_accuracy .. top3_accuracy. */

#define PROMO_EXP_TOP_K 3 /* top-1 .. top-K accuracy is reported */

typedef struct promo_expansion_report {
    int64_t as_of;             /* test cutoff T */
    int64_t valid_as_of;       /* validation cutoff T - H */
    int64_t first_train_as_of; /* earliest training cutoff */
    double horizon_days;       /* H */
    int n_train_windows;       /* stacked training windows */
    size_t n_train_rows;       /* training rows */
    size_t n_valid_rows;       /* validation rows */
    size_t n_test_rows;        /* test rows (customers with a new category in the window) */
    size_t n_features;         /* model features */
    uint32_t n_classes;        /* categories */
    int n_rounds;              /* boosting rounds kept */
    double valid_mlogloss;     /* validation multi-class log loss at the best round */
    double train_seconds;      /* boosting wall time */
    double top_accuracy[PROMO_EXP_MODEL_COUNT][PROMO_EXP_TOP_K]; /* [model][k-1]: share of
                                  test rows whose new category is among the model's k most
                                  probable (ties: lower category index first) */
    char model_path[1024]; /* saved model ("" when not saved) */
} promo_expansion_report;

/* Top-k accuracy of n rows of n_classes probabilities against labels: the share of rows whose
 * label is among the k most probable classes (ties broken by lower class index). n = 0 gives
 * NaN. PROMO_EUSAGE for k < 1 or a label out of range. */
int promo_topk_accuracy(const float *prob,
                        const uint32_t *label,
                        size_t n,
                        uint32_t n_classes,
                        int k,
                        double *out /* OUT */);

/* The figures of a fit. Pure. */
int promo_report_expansion_evaluate(const promo_expansion_fit *f,
                                    promo_expansion_report *out /* OUT */);

/* Train (promo_expansion_train), evaluate, and with p->save store the model at
 * <ws>/models/expansion.json (promo_store_stage_file) and the rows in `evaluations` in one
 * store transaction: a failure leaves the workspace as it was. The store must hold no open
 * transaction. */
int promo_report_expansion_train(promo_store *s,
                                 const promo_expansion_params *p,
                                 promo_expansion_report *out /* OUT */);

/* The stored expansion evaluation: *found = 0 (out zeroed) when none was stored. */
int promo_report_expansion_read(promo_store *s,
                                promo_expansion_report *out /* OUT */,
                                int *found /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
