/* promo/features.h: everything the models read, built as of a cutoff date.
 *
 * Leakage is won or lost here, so the rule is one line: features read only rows with
 * ts < as_of (strictly before the cutoff), labels only rows with as_of <= ts < as_of + horizon.
 * (The "(cutoff, cutoff + horizon]" is realised as this half-open window so that every
 * transaction belongs to exactly one side.) Rows without a usable timestamp never count.
 *
 * Customers: the matrix has one row per customer *known at the cutoff*: a signup_date before
 * it or a purchase before it, in customers-table order. Without a customers table (or with an
 * empty one) the universe is the customers with a purchase before the cutoff, ordered by id
 * string (so appending later transactions never renumbers anyone).
 *
 * What is computed (promo_features_compute):
 *   - customer matrix X (float32, row-major n_customers x n_features, NaN = missing, named
 *     columns): RFM (recency, frequency = distinct orders, monetary = spend) and quintile
 *     scores; tenure; inter-purchase gap mean/sd; basket size; distinct products, categories,
 *     stores; online share; recent spend; promotion sensitivity (share of spend on promotion,
 *     smoothed response rate to exposures); individual response (control
 *     exposures and their conversions, the customer's smoothed rate without an offer and the
 *     treated rate's lift over it, see below); discount sensitivity (share of purchase lines on
 *     promotion, mean discount depth of them); fatigue (contacts in the last 7/30/90 days,
 *     response trend over the last 10 contacts, days since last contact); spend tier;
 *     day-of-week and hour-of-day profile and best send slot; BG/NBD P(alive), expected
 *     purchases and Gamma-Gamma CLV; category spend shares (when few enough categories);
 *   - per-customer labels: RFM segment and spend tier (enums with names);
 *   - customer x product CSR (counts, spend, recency-weighted, implicit confidence) and
 *     customer x category spend-share CSR (input of the category matrix factorisation);
 *   - product features, the product x product co-purchase CSR, price elasticities.
 *
 * Definitions that matter downstream:
 *   - a purchase line is a transaction row with ts < as_of, quantity > 0 and unit_price >= 0
 *     (returns and cancellations, quantity <= 0, are left out of every feature);
 *   - spend = quantity * unit_price - discount, `discount` being the money taken off the
 *     whole line (as the generator writes it; clamped to [0, quantity * unit_price]); lines
 *     with a promotion_id or a discount > 0 are "on promotion";
 *   - an order is a distinct order_id; lines with a null or unknown customer_id count for
 *     product features (buyers excepted) but not for any customer;
 *   - exposures with arm "control" are not contacts; a response counts if converted and its
 *     ts is before the cutoff (a null ts counts only when its promotion ended before it).
 *   - baseline_rate and response_lift use the "settled" exposures: those whose promotion ended
 *     before the cutoff (or, without an end, 14 days passed). The baseline rate pools the
 *     customer's control conversions with, for each settled treated exposure, whether they
 *     bought the promoted product (or category) in a window as long as the promotion's just
 *     before the exposure; it is smoothed toward the control arm's rate with
 *     lift_prior_strength pseudo-exposures. response_lift = the settled treated conversion
 *     rate (smoothed the same way toward the population's) minus baseline_rate. An exposure's
 *     own outcome never enters its features: the panel cuts at or before the exposure, and
 *     only exposures strictly before the cutoff count.
 *
 * Usage:
 *   promo_feature_input in = {.customers = c, .products = p, .transactions = t};
 *   promo_feature_params fp = promo_feature_params_default();
 *   promo_time_parse("2011-11-09", 10, PROMO_DATE_ISO, &fp.as_of);
 *   promo_features *f = NULL;
 *   if (promo_features_compute(&in, &fp, &f)) fprintf(stderr, "%s\n", promo_last_error());
 *   float r = f->X[i * f->n_features + promo_features_column(f, "recency_days")];
 *   uint8_t *y = NULL;
 *   promo_features_labels(f, &in, "any", 30, &y);   // aligned with f's rows
 *   promo_free(y); promo_features_free(f);
 */
#ifndef PROMO_FEATURES_H
#define PROMO_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include <promo/clv.h>
#include <promo/csr.h>
#include <promo/elasticity.h>
#include <promo/store.h>
#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Borrowed canonical tables (schema.h). Only transactions and products are required. */
typedef struct promo_feature_input {
    const promo_table *customers;    /* customer_id [, signup_date]; NULL/empty: derived */
    const promo_table *products;     /* product_id [, category, price] */
    const promo_table *transactions; /* order_id, customer_id, product_id, ts, quantity,
                                        unit_price [, store_id, discount, promotion_id, channel] */
    const promo_table *stores;       /* optional: store_id, channel ("online" = online) */
    const promo_table *promotions;   /* optional: promotion_id, end */
    const promo_table *exposures;    /* optional: promotion_id, customer_id, ts [, arm] */
    const promo_table *responses;    /* optional: promotion_id, customer_id, converted [, ts] */
} promo_feature_input;

typedef struct promo_feature_params {
    int64_t as_of;                  /* cutoff, seconds since the epoch (timeutil.h); required */
    double half_life_days;          /* recency-weighted interactions: weight of a purchase
                                       `age` days old is 2^(-age / half_life) (default 30) */
    double confidence_alpha;        /* implicit confidence 1 + alpha * log(1 + count / eps)
                                       (Hu, Koren & Volinsky 2008) (default 40) */
    double confidence_eps;          /* (default 1) */
    double response_prior_strength; /* pseudo-exposures at the overall response rate in the
                                       smoothed rate (default 10) */
    double lift_prior_strength;     /* pseudo-exposures at the population rates in the
                                       baseline_rate and response_lift columns (default 4) */
    size_t max_category_columns;    /* category shares join X when there are at most this many
                                       categories (default 64) */
    int clv;                        /* 1 (default): fit BG/NBD + Gamma-Gamma, add p_alive,
                                       exp_purchases, clv; 0: those columns are NaN */
    double expected_days;           /* horizon of exp_purchases (default 30) */
    double clv_horizon_days;        /* horizon of clv (expected revenue, undiscounted) (365) */
    int products;                   /* 1 (default): product features, co-purchase, elasticity */
    int elasticity;                 /* 1 (default): fit the price elasticities (with products);
                                       0: f->elasticity stays zeroed (the panel's cuts, which
                                       never read it: the fit was a third of a cut's product
                                       time) and promo_features_products_table fails */
    promo_clv_params clv_params;    /* BG/NBD / Gamma-Gamma fitting */
    promo_elasticity_params elasticity_params;
    int n_threads; /* 0 = OpenMP default; results do not depend on it */
    /* Customers whose rows are wanted (the panel's exposed customers of one day): NULL
     * (default) = every row in full. Else only the rows of these n_only ids (unknown ids are
     * skipped) are complete, bit for bit what they are without the list; every customer
     * known at the cutoff keeps its row, and the other rows hold only what the global steps
     * read (recency_days, frequency, monetary, tenure_days, purchase_days and the RFM scores,
     * spend_tier, rfm_segment: the other columns are unspecified), their interactions and
     * category-share rows are empty, and p_alive, exp_purchases, clv are evaluated for the
     * listed ones only. The CLV fits, the quintiles and the priors still see everyone. */
    const char *const *only;
    size_t n_only;
} promo_feature_params;

promo_feature_params promo_feature_params_default(void);

/* RFM segments (the usual R x F score map). Append-only. */
typedef enum promo_rfm_segment {
    PROMO_RFM_PROSPECT = 0,           /* no purchase before the cutoff */
    PROMO_RFM_CHAMPIONS = 1,          /* R 5, F 4-5 */
    PROMO_RFM_LOYAL = 2,              /* R 3-4, F 4-5 */
    PROMO_RFM_POTENTIAL_LOYALIST = 3, /* R 4-5, F 2-3 */
    PROMO_RFM_NEW_CUSTOMER = 4,       /* R 5, F 1 */
    PROMO_RFM_PROMISING = 5,          /* R 4, F 1 */
    PROMO_RFM_NEED_ATTENTION = 6,     /* R 3, F 3 */
    PROMO_RFM_ABOUT_TO_SLEEP = 7,     /* R 3, F 1-2 */
    PROMO_RFM_AT_RISK = 8,            /* R 1-2, F 3-4 */
    PROMO_RFM_CANNOT_LOSE = 9,        /* R 1-2, F 5 */
    PROMO_RFM_HIBERNATING = 10,       /* R 1-2, F 1-2 */
    PROMO_RFM_SEGMENT_COUNT
} promo_rfm_segment;

/* Spend tiers by spend quartile among buyers (non-buyers are G1). Append-only. */
typedef enum promo_spend_tier {
    PROMO_TIER_G1 = 0, /* lowest quartile */
    PROMO_TIER_G2 = 1,
    PROMO_TIER_G3 = 2,
    PROMO_TIER_VIP = 3, /* top quartile */
    PROMO_TIER_COUNT
} promo_spend_tier;

/* "champions", "loyal", ... ; "VIP", "G3", "G2", "G1". Static strings. */
const char *promo_rfm_segment_name(int segment);
const char *promo_spend_tier_name(int tier);

/* Product-level features, one entry per products-table row. */
typedef struct promo_product_features {
    uint32_t n_products;
    uint32_t *n_buyers;          /* distinct known customers who bought it */
    uint32_t *n_orders;          /* orders containing it (anonymous ones included) */
    double *units;               /* units sold */
    double *revenue;             /* spend on it */
    double *avg_price;           /* revenue / units (effective price paid); NaN if unsold */
    double *list_price;          /* products.price, else mean unit_price paid */
    uint32_t *n_price_changes;   /* weeks whose mean effective price moved > 1% from the previous
                                    week with sales */
    uint32_t *category;          /* index into promo_features.category_names */
    double *repeat_rate;         /* share of buyers who bought it in >= 2 orders; NaN: no buyer */
    double *avg_discount;        /* 1 - revenue / list revenue */
    uint32_t *n_copurchased;     /* distinct products bought in the same orders */
    uint32_t *copurchase_orders; /* its orders that contain another product */
} promo_product_features;

typedef struct promo_features {
    int64_t as_of;             /* the cutoff */
    size_t n_customers;        /* rows of X: customers known at the cutoff */
    size_t n_features;         /* columns of X */
    float *X;                  /* n_customers x n_features, row-major, NaN = missing */
    char **feature_names;      /* n_features snake_case names */
    uint8_t *rfm_segment;      /* n_customers promo_rfm_segment */
    uint8_t *spend_tier;       /* n_customers promo_spend_tier */
    uint32_t n_categories;     /* categories (products.category values, "unknown" for null) */
    char **category_names;     /* n_categories */
    promo_csr interactions[4]; /* customer x product, same structure, values: counts (orders),
                                  spend, recency-weighted, confidence (see PROMO_IX_*) */
    promo_csr category_share;  /* customer x category spend share (rows sum to 1 for buyers) */
    promo_product_features products;    /* zeroed when params.products = 0 */
    promo_csr copurchase;               /* product x product: orders containing both */
    promo_elasticity_result elasticity; /* per product and category */
    promo_bgnbd bgnbd;                  /* the fitted CLV models (zero when not fitted) */
    promo_gamma_gamma gamma_gamma;
    char *clv_status; /* NULL when the CLV models fitted, else why not */
    /* private */
    char *id_pool;            /* customer ids, NUL-separated */
    uint64_t *id_off;         /* n_customers offsets into id_pool */
    uint32_t *universe_index; /* n_customers: row in customers table (or derived index) */
} promo_features;

enum { PROMO_IX_COUNT = 0, PROMO_IX_SPEND = 1, PROMO_IX_RECENCY = 2, PROMO_IX_CONFIDENCE = 3 };

/* Build every feature as of params->as_of. Tables are borrowed for the call; the result owns
 * all its memory (free with promo_features_free). Errors: PROMO_EINPUT for missing required
 * columns or duplicate customer/product ids (message names the table and column), PROMO_EUSAGE
 * for bad params, PROMO_ENOMEM. A CLV model that cannot be fitted is not an error: its columns
 * are NaN and clv_status says why. The result does not depend on the thread count. */
int promo_features_compute(const promo_feature_input *in,
                           const promo_feature_params *params,
                           promo_features **out /* OUT */);

void promo_features_free(promo_features *f); /* NULL-safe */

/* Many cutoffs of the same tables (the uplift panel: one per exposure day). Open reads and
 * sorts the purchase lines before params->as_of (the latest cutoff to be asked for) once;
 * each promo_features_days_compute then gives exactly promo_features_compute(in, params)
 * (same bits) for a params->as_of not after it, with params->products = 0 (required), at
 * less cost: it copies each known customer's lines instead of reading every row again.
 * in's tables are borrowed until promo_features_days_free. Computes may run concurrently on
 * one handle (it is read only). Errors: those of promo_features_compute; PROMO_EUSAGE for
 * products = 1 or a later cutoff. */
typedef struct promo_features_days promo_features_days;

int promo_features_days_open(const promo_feature_input *in,
                             const promo_feature_params *params,
                             promo_features_days **out /* OUT */);
int promo_features_days_compute(const promo_features_days *days,
                                const promo_feature_params *params,
                                promo_features **out /* OUT */);
void promo_features_days_free(promo_features_days *days); /* NULL-safe */

/* Column index of a feature name, or -1. */
int promo_features_column(const promo_features *f, const char *name);

/* Customer id of row i (borrowed, valid until f is freed). */
const char *promo_features_customer_id(const promo_features *f, size_t i);

/* Labels aligned with f's rows: out[i] = 1 if customer i bought the target in
 * [f->as_of, f->as_of + horizon_days). target: "any", "product:ID" or "category:NAME".
 * `in` must describe the same customers as when f was computed (later transactions may be
 * added: that is the point). *out is owned by the caller (promo_free). Errors: PROMO_EUSAGE
 * for a malformed target or horizon, PROMO_ENOTFOUND for an unknown product or category,
 * PROMO_EINPUT if the customers differ, PROMO_ENOMEM. */
int promo_features_labels(const promo_features *f,
                          const promo_feature_input *in,
                          const char *target,
                          double horizon_days,
                          uint8_t **out /* OUT */);

/* The customer table's other columns (customer_id, rfm_segment, tier, label when label is not
 * NULL) in *out, and X as the matrix to write at column 1 (promo_store_write_table_matrix):
 * stored, the same table as promo_features_customers_table's, bit for bit, without the 8-byte
 * copy of X. m points into f. Errors: PROMO_ENOMEM. */
int promo_features_customers_keys(const promo_features *f,
                                  const uint8_t *label,
                                  promo_table **out /* OUT */,
                                  promo_store_matrix *m /* OUT */);

/* The customer features as a table named "features_customers": customer_id, every column of
 * X (float64, NaN stored as null), rfm_segment and tier (names), and `label` (int64) when label
 * is not NULL (f->n_customers 0/1 values, e.g. from promo_features_labels). *out is sealed and
 * owned by the caller (promo_table_free). Errors: PROMO_ENOMEM. */
int promo_features_customers_table(const promo_features *f,
                                   const uint8_t *label,
                                   promo_table **out /* OUT */);

/* The product features as a table named "features_products": product_id, category, the
 * numeric product features and the price elasticity with its source. products is the products
 * table f was computed from (for the ids). Errors: PROMO_ENOMEM. */
int promo_features_products_table(const promo_features *f,
                                  const promo_table *products,
                                  promo_table **out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
