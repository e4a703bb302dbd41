/* promo/similar.h: the nearest registered products to a product we have never sold, and the
 * customers their buyers suggest targeting (the answer to "a product we have never sold").
 *
 * A new product is described by its attributes: category, price, and optionally name and
 * brand. Its similarity to each product of the catalogue is a weighted mean of
 *     category  1 if the same category (case-insensitive), else 0          (weight 1)
 *     price     2^(-|log2(p / p')|): 1 at the same price, 0.5 at double or half (weight 1)
 *     brand     1 if the same brand (only when a brand is given)            (weight 0.5)
 *     name      cosine of the TF-IDF vectors of the names' words (3+ letters, lower-cased;
 *               idf over the catalogue's names; only when a name is given)  (weight 1.5)
 * over the attributes both sides have (a catalogue product without a price scores 0 on
 * price). The k most similar products (ties: more buyers first, then catalogue order) are
 * the neighbours. Each customer who bought a neighbour before the cutoff gets
 *     score = sum over the neighbours they bought of similarity x log(1 + orders of it)
 * (a customer who bought several close products, repeatedly, ranks first; log because a
 * weekly staple should not drown everything else) and the n_customers best are returned.
 *
 * Usage:
 *   promo_similar_query q = promo_similar_query_default();
 *   q.category = "Dairy"; q.price = 350; q.name = "Greek yoghurt 400g";
 *   promo_similar_result r;
 *   if (promo_similar_find(store, &q, &r)) fprintf(stderr, "%s\n", promo_last_error());
 *   ... r.products[0 .. r.n_products), r.customers[0 .. r.n_customers) ...
 *   promo_similar_result_free(&r);
 *
 * Ownership: the result owns its strings and arrays (promo_similar_result_free). Thread-safety:
 * the store's.
 */
#ifndef PROMO_SIMILAR_H
#define PROMO_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

typedef struct promo_similar_query {
    const char *category;                        /* required */
    double price;                                /* required, > 0 */
    const char *name;                            /* optional (NULL) */
    const char *brand;                           /* optional (NULL) */
    size_t k;                                    /* neighbours (default 10) */
    size_t n_customers;                          /* customers to target (default 20) */
    int64_t as_of;                               /* purchases before it count (0 = all) */
    double w_category, w_price, w_brand, w_name; /* weights (defaults above) */
    uint32_t exclude_row; /* a products-table row left out of the neighbours (the product
                             itself, when it is in the table); UINT32_MAX (default) = none */
    int n_threads;
} promo_similar_query;

promo_similar_query promo_similar_query_default(void);

typedef struct promo_similar_product {
    uint32_t row;                                        /* products-table row */
    char *product_id;                                    /* owned */
    char *name;                                          /* owned; "" when the table has none */
    char *category;                                      /* owned; "" when none */
    double price;                                        /* NaN when none */
    double similarity;                                   /* weighted mean, in [0, 1] */
    double sim_category, sim_price, sim_brand, sim_name; /* the parts */
    uint32_t n_buyers; /* customers who bought it before the cutoff */
} promo_similar_product;

typedef struct promo_similar_customer {
    char *customer_id;   /* owned */
    double score;        /* see the top */
    uint32_t n_products; /* neighbours they bought */
    uint32_t n_orders;   /* orders of neighbours */
} promo_similar_customer;

typedef struct promo_similar_result {
    int category_known; /* 1 if some catalogue product has the query's category */
    size_t n_catalogue; /* products compared */
    size_t n_products;
    promo_similar_product *products; /* best first */
    size_t n_customers;
    promo_similar_customer *customers; /* best first */
} promo_similar_result;

/* Errors: PROMO_EUSAGE for a missing category, a price <= 0 or not finite, k or n_customers
 * 0 or over 100000; the panel's (PROMO_ENOTFOUND without products or transactions);
 * PROMO_ENOMEM. */
int promo_similar_find(promo_store *s,
                       const promo_similar_query *q,
                       promo_similar_result *out /* OUT */);
void promo_similar_result_free(promo_similar_result *r); /* NULL-safe on a zeroed result */

/* The same on a loaded panel (promo_panel_load), for many queries on one load. */
typedef struct promo_panel promo_panel;
int promo_similar_find_panel(const promo_panel *d,
                             const promo_similar_query *q,
                             promo_similar_result *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
