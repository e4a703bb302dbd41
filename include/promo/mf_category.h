/* promo/mf_category.h: explicit matrix factorisation of the customer x category spend matrix,
 * and the category manager's reading of it.
 *
 * The matrix: spend of each customer in each category before the cutoff (category share x
 * monetary, features.h), observed where the customer bought the category, missing elsewhere.
 * Each category's observed log1p(spend) is MinMax-normalised to [0, 1] (log first: spend is
 * heavy-tailed, and a plain MinMax would squash all but the biggest spenders near 0). The
 * model fits X ~ P Q^T on the observed cells only, k factors (default 4), by full-batch
 * gradient descent on
 *     L = 1/2 sum_observed (x_uc - p_u . q_c)^2 + l2/2 (|P|^2 + |Q|^2)
 * with a "bold driver" step (a step that raises L is undone and the step halved; one that
 * lowers it grows the step by 5%), so L never increases. Predictions for never-bought
 * categories are mapped back to money through the category's MinMax range.
 *
 * Each customer's top-2 recommended categories: the two never-bought categories with the
 * highest predicted normalised spend (the customer's affinity relative to the category's
 * usual spend, comparable across categories), printed with the predicted spend.
 *
 * Usage:
 *   promo_mf_params p = promo_mf_params_default();
 *   promo_mf *m = NULL;
 *   promo_mf_fit(&spend, &p, &m);               // spend: customers x categories CSR
 *   double s = promo_mf_predict(m, u, c);       // predicted spend (money)
 *   uint32_t top[2]; double pred[2]; size_t n;
 *   promo_mf_top(m, &spend, u, 2, top, pred, &n); // never-bought categories, best first
 *   promo_mf_free(m);
 *
 * Ownership: the model owns its arrays. Thread-safety: a fitted model is read-only. The fit is
 * deterministic (seeded initialisation, full-batch sums in a fixed order).
 */
#ifndef PROMO_MF_CATEGORY_H
#define PROMO_MF_CATEGORY_H

#include <stddef.h>
#include <stdint.h>

#include <promo/csr.h>
#include <promo/features.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

typedef struct promo_mf_params {
    uint32_t k;           /* factors, 1..64 (default 4) */
    double learning_rate; /* first step (default 0.05; adapted, see above) */
    double l2;            /* L2 penalty (default 0.02) */
    uint32_t n_epochs;    /* gradient steps at most (default 2000) */
    double tol;           /* stop when an accepted step lowers L by less than tol * L
                             (default 1e-7) */
    double init_sd;       /* factors start N(0, init_sd^2) (default 0.1) */
    int normalise;        /* 1 (default): log1p + per-column MinMax; 0: fit the raw values */
    uint64_t seed;        /* initialisation (default 42) */
    double zero_weight;   /* weight in [0, 1] of the never-bought cells as spend 0 (default
                             0: observed cells only, the classic explicit MF) */
} promo_mf_params;

promo_mf_params promo_mf_params_default(void);

typedef struct promo_mf promo_mf;

/* Fit on X (rows x columns, stored cells observed, values >= 0). Errors: PROMO_EUSAGE for bad
 * params, PROMO_EINPUT for a negative or non-finite value or an empty matrix, PROMO_ENOMEM. */
int promo_mf_fit(const promo_csr *X, const promo_mf_params *p, promo_mf **out /* OUT */);
void promo_mf_free(promo_mf *m); /* NULL-safe */

/* Loss after each accepted epoch (borrowed; *n entries, the first is the loss at the start). */
const double *promo_mf_loss(const promo_mf *m, size_t *n /* OUT */);
uint32_t promo_mf_rows(const promo_mf *m);
uint32_t promo_mf_cols(const promo_mf *m);
uint32_t promo_mf_k(const promo_mf *m);
/* Row and column factors (borrowed; rows x k and cols x k, row-major). */
const float *promo_mf_row_factors(const promo_mf *m);
const float *promo_mf_col_factors(const promo_mf *m);

/* p_u . q_c, in the normalised scale the model was fitted on. */
double promo_mf_predict_normalised(const promo_mf *m, uint32_t row, uint32_t col);
/* The prediction in the original unit (money): the inverse of the normalisation, the
 * normalised value clamped to [0, 1] first (a category's range is all we know of it). */
double promo_mf_predict(const promo_mf *m, uint32_t row, uint32_t col);

/* The k columns not stored in row `row` of X (never bought) with the highest normalised
 * prediction, best first (ties: smaller column): cols[*n], pred[*n] in money. X must be the
 * matrix the model was fitted on (or one of the same shape). */
int promo_mf_top(const promo_mf *m,
                 const promo_csr *X,
                 uint32_t row,
                 uint32_t k,
                 uint32_t *cols /* OUT */,
                 double *pred /* OUT */,
                 size_t *n /* OUT */);

/* Serialise / load (recommenders' container, kind "mf_category"); bit-identical round trip.
 * Errors: PROMO_EINPUT for a damaged or foreign file, PROMO_EVERSION, PROMO_ENOMEM. */
int promo_mf_save(const promo_mf *m, void **buf /* OUT */, size_t *n /* OUT */);
int promo_mf_load(const void *buf, size_t n, promo_mf **out /* OUT */);

/* ------------------------------------------------------------ on a workspace ---- */

#define PROMO_MF_TOP 2 /* recommended categories per customer */

/* One recommended category within a tier. */
typedef struct promo_mf_tier_pick {
    uint32_t category;      /* index into the report's category_names */
    size_t n_customers;     /* customers of the tier with it in their top-2 */
    double mean_pred_spend; /* their mean predicted spend in it (money) */
} promo_mf_tier_pick;

#define PROMO_MF_TIER_PICKS 3

typedef struct promo_mf_tier_report {
    int tier;           /* promo_spend_tier */
    size_t n_customers; /* buyers of the tier (rows of the matrix) */
    double pred_spend;  /* sum over them of the top-2 predicted spend (money) */
    size_t n_picks;     /* <= PROMO_MF_TIER_PICKS */
    promo_mf_tier_pick picks[PROMO_MF_TIER_PICKS]; /* most often recommended, first */
    size_t n_test;          /* of them, customers who bought a new category in the
                               test window */
    double hit_mf, hit_pop; /* share of those whose new category is in the model's /
                               the popularity baseline's top-2 */
} promo_mf_tier_report;

/* One customer's top-2 never-bought categories. */
typedef struct promo_mf_customer_pick {
    char *customer_id;               /* owned */
    int tier;                        /* promo_spend_tier */
    size_t n;                        /* picks (< PROMO_MF_TOP when fewer never bought) */
    uint32_t category[PROMO_MF_TOP]; /* index into the report's category_names */
    double pred_spend[PROMO_MF_TOP]; /* predicted spend there (money) */
} promo_mf_customer_pick;

typedef struct promo_mf_report {
    int64_t as_of;         /* cutoff: the matrix is built before it */
    double horizon_days;   /* test window [as_of, as_of + horizon) */
    size_t n_customers;    /* matrix rows: customers with a purchase before the cutoff */
    uint32_t n_categories; /* matrix columns */
    uint64_t n_observed;   /* stored cells */
    uint32_t k;
    size_t n_epochs; /* accepted epochs */
    double loss_first, loss_last;
    double rmse_observed;   /* on the observed cells, normalised scale (training fit) */
    size_t n_test;          /* customers with a new category in the test window */
    double hit_mf, hit_pop; /* held-out hit rate of the top-2: model, popularity */
    promo_mf_tier_report tiers[PROMO_TIER_COUNT]; /* VIP first */
    char **category_names;                        /* n_categories (owned) */
    promo_mf_customer_pick *picks; /* n_customers, in the features' customer order (owned) */
    char *model_path;              /* where the model was saved (owned; NULL when not saved) */
    double train_s;
} promo_mf_report;

typedef struct promo_mf_train_params {
    promo_mf_params mf;
    int64_t as_of;       /* 0: the last horizon of the data is held out */
    double horizon_days; /* default 30 */
    int save;            /* 1 (default): <ws>/models/mf_category.bin */
    const char *exclude; /* comma-separated category names never recommended (by the model or
                            popularity) nor counted as a customer's new category, e.g. UCI's
                            "fees" (postage, bank charges); still fitted. NULL: none */
    int n_threads;
} promo_mf_train_params;

promo_mf_train_params promo_mf_train_params_default(void);

/* Build the spend matrix as of the cutoff, fit, evaluate the top-2 on the test window against
 * popularity (categories with the most buyers before the cutoff, never-bought ones), report
 * per spend tier, and save the model (one store transaction). Errors: the panel's, PROMO_EINPUT
 * when no customer bought before the cutoff, the fit's, the store's. */
int promo_mf_category_train(promo_store *s,
                            const promo_mf_train_params *p,
                            promo_mf_report *out /* OUT */);
void promo_mf_report_free(promo_mf_report *r); /* NULL-safe on a zeroed report */

#ifdef __cplusplus
}
#endif
#endif
