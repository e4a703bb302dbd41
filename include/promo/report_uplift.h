/* promo/report_uplift.h: training an uplift model on the workspace's promotion log, its
 * held-out evaluation, and storing both as one unit (`promo train --model uplift`).
 *
 * Rows come from promo/uplift_ws.h (exposures whose outcome window closed by as_of, features as
 * of each exposure, split by time). The model (uplift.h) is fitted on the training rows. When
 * the log holds non-randomised rows (the pooled "targeted" arm) the propensity weighting of
 * uplift.h is on unless switched off (weighting 0): P(arm | x) is estimated, clipped to
 * [clip, 1 - clip], and the overlap reported. The evaluation uses the RANDOMISED test rows only
 * (control and the arms assigned at random): a Qini curve over targeted rows would reward
 * finding whom the naive rule picked, not whom the offer changes. Per treatment arm: Qini
 * coefficient, AUUC, uplift@10/20/30% and the test ATE (uplift_metrics.h), beside the same
 * figures for ranking by the predicted outcome under the arm (what a propensity model ranks
 * by; learners with outcome models: S, T, X, DR).
 *
 * Stored (p->save): the model at <ws>/models/uplift.bin (uplift_io.h, attributes: features,
 * arms, as_of, window_days, learner, weighting, discount_pct_median) staged with
 * promo_store_stage_file, and the rows of `evaluations` (report.h): task "uplift", target
 * "workspace"; model "" holds the run (as_of, split_ts, window_days, n_rows, n_train, n_test,
 * n_gap, n_late, n_pooled, n_features, weighting, clip, clipped_share, e_min, e_max,
 * train_seconds; text learner, model_path); model "<learner>" and "outcome_ranking" the
 * metrics, named "<metric>:<arm>" (qini_coef, auuc, uplift_at_10, uplift_at_20, uplift_at_30,
 * ate, n_treated, n_control). One store transaction: a failure leaves the workspace as it was.
 *
 * Errors: those of uplift_ws.h, uplift.h, uplift_io.h, store.h; PROMO_EUSAGE for bad
 * parameters.
 */
#ifndef PROMO_REPORT_UPLIFT_H
#define PROMO_REPORT_UPLIFT_H

#include <stddef.h>
#include <stdint.h>

#include <promo/uplift.h>
#include <promo/uplift_metrics.h>
#include <promo/uplift_ws.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

#define PROMO_UPLIFT_WS_MAX_ARMS 16 /* arms reported (control included) */
#define PROMO_UPLIFT_WS_MODEL    "uplift.bin"

typedef struct promo_uplift_ws_train_params {
    promo_uplift_ws_params rows; /* the rows (as_of, window, test share, pooling) */
    promo_uplift_params uplift;  /* the learner; propensity_weighting is set from weighting */
    int weighting;               /* -1: on when the log has non-randomised rows; 0 off; 1 on */
    int save;                    /* 1: store the model and the rows (default 1) */
    const char *predictions_out; /* CSV of the test rows' predictions (NULL = none) */
} promo_uplift_ws_train_params;

/* rows defaults, T-learner defaults, weighting -1, save 1. */
promo_uplift_ws_train_params promo_uplift_ws_train_params_default(void);

/* One treatment arm's figures on the randomised test rows. */
typedef struct promo_uplift_ws_arm_eval {
    promo_uplift_metrics model;   /* ranking by the predicted effect */
    promo_uplift_metrics outcome; /* ranking by the predicted outcome under the arm (NaN
                                     fields when the learner has no outcome models) */
    double mean_effect;           /* mean raw predicted effect over the test rows */
    /* The calibration stored with the model (scoring applies it: calibrated effect =
     * effect_shift + effect_scale x raw effect; the ranking is unchanged). Fitted on
     * out-of-fold effects of the randomised TRAINING rows (2 folds by customer, the learner
     * refitted on each), never on the test rows: the best linear predictor y = b0 + b1 (t - e)
     * + b2 (t - e)(raw - mean); level b1 = the treatment effect on those
     * rows (their difference in means, adjusted for the interaction), slope b2 shrunk by its
     * noise (b2^3 / (b2^2 + se^2)) and kept in [0.01, 1] (the floor keeps the ranking). Without
     * enough randomised training rows (50 per arm): scale 1, shift 0, cal_level NaN. */
    double effect_scale;    /* the slope c, in [0.01, 1] (1 when not calibrated) */
    double effect_shift;    /* level - c x the full model's mean raw effect on those rows */
    double cal_level;       /* b1: the effect's level on the randomised training rows */
    double cal_slope;       /* b2 before shrinking (NaN when not calibrated) */
    double cal_slope_se;    /* its standard error */
    size_t cal_n;           /* randomised training rows of the arm pair */
    double mean_calibrated; /* mean calibrated effect over the test rows */
} promo_uplift_ws_arm_eval;

typedef struct promo_uplift_ws_report {
    promo_uplift_learner learner;
    int weighting;      /* 1 if propensity weighting was used */
    int weighting_auto; /* 1 if chosen automatically (weighting -1) */
    double clip;        /* propensity clipping */
    promo_uplift_overlap overlap;
    int64_t as_of, split_ts; /* seconds */
    double window_days;
    size_t n_rows, n_train, n_test, n_test_randomised, n_gap, n_late, n_pooled;
    size_t n_features;
    int n_arms; /* control included, at most PROMO_UPLIFT_WS_MAX_ARMS */
    char arm_names[PROMO_UPLIFT_WS_MAX_ARMS][64];
    char pooled_arm[64]; /* the pooled arm's name ("" if none was pooled) */
    promo_uplift_ws_arm_eval arms[PROMO_UPLIFT_WS_MAX_ARMS]; /* [a] for arm a >= 1 */
    double train_seconds;
    double calibration_seconds; /* the cross-fitted refits of the calibration */
    int outcome_from_purchases; /* 1: no responses logged, outcomes from purchases (uplift_ws.h) */
    char model_path[1024];      /* "" when not saved */
} promo_uplift_ws_report;

/* Train, evaluate and (p->save) store, as above. The store must hold no open transaction. */
int promo_report_uplift_train(promo_store *s,
                              const promo_uplift_ws_train_params *p,
                              promo_uplift_ws_report *out /* OUT */);

/* The stored evaluation of the workspace's uplift model (rows of `evaluations`, task "uplift"),
 * for `promo evaluate`: *found 0 when there is none. The overlap's n_rows is not stored (0);
 * evaluations written before the arm list, pooled arm and calibration rows were stored read
 * arm 0 as "control", no pooled name and uncalibrated effects. */
int promo_report_uplift_read(promo_store *s, promo_uplift_ws_report *out /* OUT */, int *found);

#ifdef __cplusplus
}
#endif
#endif
