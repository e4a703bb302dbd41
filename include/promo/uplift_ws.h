/* promo/uplift_ws.h: uplift training rows from a workspace's own promotion log.
 *
 * Every exposure (a promotion sent to a customer, or held back as its control) is a row: the
 * arm it got, the customer's features as of the exposure (panel.h: promo_panel_exposure_matrix,
 * which reads only rows strictly before the exposure's day), the offer's own columns, and the
 * outcome in the window after it:
 *
 *   outcome   converted = 1 if a response of the (promotion, customer) has converted > 0 and a
 *             time in [exposure, exposure + window) (a converted response without a time
 *             counts: the log gives no reason to doubt it); revenue = their revenue.
 *             When the responses table is empty (a log of sends only), from the purchases
 *             instead: converted = 1 if the customer bought the promoted product
 *             (promotions.product_id), or any product of the promoted category
 *             (promotions.category, via products.category), in the same window; revenue =
 *             quantity x unit_price of those lines (outcome_from_purchases = 1).
 *   eligible  the window has closed by as_of: ts + window <= as_of. Later exposures are not
 *             rows at all (their outcome is not known yet at as_of): this is the leakage rule.
 *   split     by time: the latest test_frac of the eligible rows (by exposure time) are the
 *             test rows; the training rows are those whose outcome window closed by the first
 *             test exposure (split_ts), so the model is fitted on what was known when the test
 *             period began; rows between (window crossing split_ts) are left out.
 *   arms      "control" is arm 0; the other arm names in dictionary order, except that the
 *             pooled arm (default "targeted": synth.h's customers chosen by a naive rule, sent
 *             the same offer as "treatment") is counted as the arm it is pooled into when both
 *             are in the log, and its rows are marked non-randomised. A log with non-randomised
 *             rows needs the propensity weighting of uplift.h (report_uplift.h turns it on).
 *   offer     four columns after the customer features: offer_discount_pct and
 *             offer_coupon_value (the promotion's, NaN when it has none), offer_cat_share (the
 *             customer's spend share of the promotion's category, from the cat_share_* column
 *             features.h names after it; NaN without one), offer_category_level (1 for a
 *             category-wide promotion, 0 for a product). So one model learns from every
 *             promotion and scores any product offer (uplift_score.h fills them for it).
 *
 * Usage:
 *   promo_uplift_ws_params p = promo_uplift_ws_params_default();
 *   promo_uplift_ws_rows r;
 *   if (promo_uplift_ws_rows_build(&panel, &p, &r)) fprintf(stderr, "%s\n", promo_last_error());
 *   ... r.X (r.n x r.d), r.arm, r.y, r.part[i] (PROMO_UPLIFT_WS_TRAIN / _TEST / _GAP) ...
 *   promo_uplift_ws_rows_free(&r);
 *
 * Ownership: rows own their arrays (promo_uplift_ws_rows_free, NULL-safe on a zeroed struct);
 * the panel is borrowed. Errors: those of promo_panel_exposure_rows / _matrix; PROMO_EINPUT
 * when no exposure is eligible, no control arm is logged, or the split leaves no training or
 * test row; PROMO_EUSAGE for bad parameters; PROMO_ENOMEM.
 */
#ifndef PROMO_UPLIFT_WS_H
#define PROMO_UPLIFT_WS_H

#include <stddef.h>
#include <stdint.h>

#include <promo/panel.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROMO_UPLIFT_WS_N_OFFER 4 /* offer columns appended to the customer features */

typedef struct promo_uplift_ws_params {
    int64_t as_of;         /* seconds; 0 = the day after the last transaction or response */
    double window_days;    /* outcome window after each exposure, > 0 (30) */
    double test_frac;      /* latest share of eligible rows held out, in (0, 0.9) (0.25) */
    const char *pool_arm;  /* arm name counted as pool_into (NULL = none) ("targeted") */
    const char *pool_into; /* ("treatment") */
    int clv;               /* 1: the CLV feature columns (BG/NBD fits per exposure day, a large
                              share of the time); 0: NaN (1) */
    int n_threads;         /* feature computation; 0 = all */
} promo_uplift_ws_params;

promo_uplift_ws_params promo_uplift_ws_params_default(void);

enum { PROMO_UPLIFT_WS_TRAIN = 0, PROMO_UPLIFT_WS_TEST = 1, PROMO_UPLIFT_WS_GAP = 2 };

typedef struct promo_uplift_ws_rows {
    size_t n;            /* eligible exposures */
    size_t d;            /* columns of X: customer features, then the offer columns */
    float *X;            /* n x d, row-major, NaN = missing */
    char **names;        /* d column names */
    int32_t *arm;        /* n model arms, 0 = control */
    int n_arms;          /* >= 2 */
    char **arm_names;    /* n_arms names ("control" first) */
    uint8_t *randomised; /* n: 0 for rows of the pooled (non-random) arm */
    uint8_t *part;       /* n: PROMO_UPLIFT_WS_TRAIN, _TEST or _GAP */
    float *y;            /* n outcomes 0/1 (converted in the window) */
    double *revenue;     /* n response revenue in the window */
    int64_t *ts;         /* n exposure times, seconds */
    uint32_t *erow;      /* n exposures-table rows */
    int64_t as_of;       /* the cutoff used */
    int64_t split_ts;    /* first test exposure time */
    size_t n_train, n_test, n_gap;
    size_t n_late;              /* exposures left out: window not closed by as_of (or no time) */
    size_t n_pooled;            /* rows of the pooled arm */
    double discount_pct_median; /* of the eligible rows' promotions (NaN if none has one) */
    int outcome_from_purchases; /* 1: the responses table was empty, outcomes from purchases */
} promo_uplift_ws_rows;

int promo_uplift_ws_rows_build(const promo_panel *d,
                               const promo_uplift_ws_params *p,
                               promo_uplift_ws_rows *out /* OUT */);
void promo_uplift_ws_rows_free(promo_uplift_ws_rows *r);

/* The default cutoff of d (loaded with either loader): the day after the last transaction or
 * response time, floored to midnight UTC; 0 when there is none. */
int64_t promo_uplift_ws_default_as_of(const promo_panel *d);

/* The features.h column name of a category's spend share ("cat_share_" + the name lower-cased,
 * runs of other characters as one '_') into out (n bytes). */
void promo_uplift_ws_cat_column(const char *category, char *out /* OUT */, size_t n);

#ifdef __cplusplus
}
#endif
#endif
