/* promo/elasticity.h: own-price elasticity of demand per product and per category.
 *
 * Model, per product with enough data (log-log, weekly):
 *   log(quantity_w) = a + e * log(price_w) + c1 * trend_w + c2 * sin(2 pi doy_w / 365.25)
 *                     + c3 * cos(2 pi doy_w / 365.25) + noise
 * where price_w is the effective (after discount) price paid in week w and the trend and
 * annual harmonics are the time controls (a trend plus one yearly cycle: weekly dummies would
 * eat the degrees of freedom of a 1-2 year history). OLS through GSL's gsl_multifit_linear;
 * the standard error of e comes from the fit's covariance.
 * Per category: the same regression pooled over its products with product fixed effects
 * (within transformation: every variable demeaned per product), SE with the fixed effects'
 * degrees of freedom removed. A product whose data are thin (fewer than min_weeks weeks with
 * sales, or a price that never moves: sd(log price) < min_log_price_sd) gets its category's
 * estimate and is flagged PROMO_ELASTICITY_POOLED.
 * Weeks without sales have no log quantity and are left out (the usual, documented bias for
 * slow movers).
 *
 * Usage:
 *   promo_elasticity_result r;
 *   if (promo_elasticity_fit(obs, n_obs, n_products, n_categories, NULL, &r)) ...;
 *   printf("%g +- %g %s\n", r.product[p].elasticity, r.product[p].se,
 *          promo_elasticity_source_name(r.product[p].source));
 *   promo_elasticity_result_free(&r);
 */
#ifndef PROMO_ELASTICITY_H
#define PROMO_ELASTICITY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One product-week observation. */
typedef struct promo_price_obs {
    uint32_t product;  /* product index (< n_products) */
    uint32_t category; /* its category index (< n_categories) */
    int32_t week;      /* week number (any origin; consecutive weeks differ by 1) */
    float day_of_year; /* mid-week day of year 0..365, for the seasonal controls */
    double quantity;   /* units sold in the week (> 0) */
    double price;      /* effective price per unit paid in the week (> 0) */
} promo_price_obs;

typedef enum promo_elasticity_source {
    PROMO_ELASTICITY_NONE = 0,   /* no estimate: no data, or the category is thin too (NaN) */
    PROMO_ELASTICITY_OWN = 1,    /* the product's own regression */
    PROMO_ELASTICITY_POOLED = 2, /* thin product data: the category's pooled estimate */
    PROMO_ELASTICITY_SOURCE_COUNT
} promo_elasticity_source;

typedef struct promo_elasticity {
    double elasticity; /* d log q / d log p; NaN with PROMO_ELASTICITY_NONE */
    double se;         /* its standard error */
    uint32_t n_obs;    /* weeks used (the category's when pooled) */
    uint8_t source;    /* promo_elasticity_source */
} promo_elasticity;

typedef struct promo_elasticity_params {
    int min_weeks;           /* fewer weeks with sales: pooled (default 12) */
    double min_log_price_sd; /* smaller sd of log price: pooled (default 0.01) */
    int n_threads;           /* 0 = OpenMP default; results do not depend on it */
} promo_elasticity_params;

promo_elasticity_params promo_elasticity_params_default(void);

typedef struct promo_elasticity_result {
    uint32_t n_products;        /* entries in product */
    uint32_t n_categories;      /* entries in category */
    promo_elasticity *product;  /* per product, owned */
    promo_elasticity *category; /* per category (pooled fixed-effects fit), owned */
} promo_elasticity_result;

/* Fit every product and category from n observations (any order; at most one per product and
 * week is expected: duplicates are used as given). params may be NULL. Errors: PROMO_EUSAGE
 * for an index out of range or a non-positive quantity/price (message names the row),
 * PROMO_ENOMEM. Products and categories without data get PROMO_ELASTICITY_NONE. */
int promo_elasticity_fit(const promo_price_obs *obs,
                         size_t n,
                         uint32_t n_products,
                         uint32_t n_categories,
                         const promo_elasticity_params *params,
                         promo_elasticity_result *out /* OUT, owned */);

void promo_elasticity_result_free(promo_elasticity_result *r); /* NULL-safe */

/* "none", "own", "pooled". */
const char *promo_elasticity_source_name(int source);

#ifdef __cplusplus
}
#endif
#endif
