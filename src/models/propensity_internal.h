/* src/models/propensity_internal.h: the data side of the propensity models, shared by
 * propensity_data.c (tables -> event index -> feature rows) and propensity.c (training,
 * evaluation, storage, scoring). */
#ifndef PROMO_PROPENSITY_INTERNAL_H
#define PROMO_PROPENSITY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/features.h>
#include <promo/propensity.h>
#include <promo/table.h>

#define PROP_NONE UINT32_MAX
#define PROP_DAY  ((int64_t)86400)

/* Target kinds; also the model kinds (one model serves every target of a kind). */
typedef enum prop_kind { PROP_ANY = 0, PROP_PRODUCT = 1, PROP_CATEGORY = 2 } prop_kind;

typedef struct prop_target {
    prop_kind kind;
    uint32_t item; /* products-table row (PRODUCT) or category index (CATEGORY); else NONE */
} prop_target;

/* Purchases indexed per customer: for customer key k, entries ptr[k] .. ptr[k+1] sorted by
 * (item, ts), one entry per (item, order). */
typedef struct prop_index {
    uint64_t *ptr;  /* n_keys + 1 */
    uint32_t *item; /* product row or category index */
    int64_t *ts;    /* seconds */
} prop_index;

/* The workspace's tables and what is derived once from them. */
typedef struct prop_data {
    promo_table *customers, *products, *transactions, *stores, *promotions, *exposures,
        *responses;                /* owned; NULL when absent (only products and
                                      transactions are required) */
    promo_feature_input in;        /* borrowed views of the tables above */
    uint32_t n_keys;               /* distinct transactions.customer_id strings */
    const promo_column *tx_cust;   /* transactions.customer_id (its dict gives keys) */
    uint32_t n_products;           /* products-table rows */
    uint32_t n_cats;               /* categories (products.category values + "unknown") */
    char **cat_names;              /* n_cats names (owned) */
    uint32_t *prod_cat;            /* n_products category index */
    const promo_column *prod_id;   /* products.product_id */
    const promo_column *prod_name; /* products.name or NULL */
    prop_index by_prod;            /* per customer, by product */
    prop_index by_cat;             /* per customer, by category */
    int64_t min_ts, max_ts;        /* purchase lines' range */
    int n_threads;
} prop_data;

int prop_data_load(promo_store *s, int n_threads, prop_data *d /* OUT */);
void prop_data_free(prop_data *d);

/* Parse "any" / "product:ID" / "category:NAME" against d. */
int prop_target_parse(const prop_data *d, const char *s, prop_target *out /* OUT */);

/* Features of one cutoff plus the maps the row builders need. */
typedef struct prop_cut {
    int64_t as_of;
    promo_features *f;              /* owned */
    uint32_t *key;                  /* f->n_customers: customer key (transactions dict) or NONE */
    uint32_t *fcat;                 /* d->n_cats: column of f->category_share, or NONE */
    float *item_pop30, *item_pop90; /* per item (product or category): orders, all customers */
    float *cat_pop30, *cat_pop90;   /* per category: orders in the last 30 / 90 days */
} prop_cut;

int prop_cut_build(const prop_data *d, int64_t as_of, prop_cut *out /* OUT */);
void prop_cut_free(prop_cut *c);

/* The model's column layout for a kind: customer feature names (those of the first cut
 * seen), then the kind's pair and item features. */
typedef struct prop_layout {
    prop_kind kind;
    size_t n_cust; /* customer feature columns */
    size_t n;      /* all columns */
    char **names;  /* n names (owned) */
} prop_layout;

int prop_layout_make(prop_kind kind, const promo_features *f, prop_layout *out /* OUT */);
/* From a saved comma-separated list. */
int prop_layout_parse(prop_kind kind, const char *names_csv, prop_layout *out /* OUT */);
/* Comma-separated names (promo_free). */
char *prop_layout_join(const prop_layout *l);
void prop_layout_free(prop_layout *l);

/* Rows to build: customer row `cust` of the cut, item (ignored for ANY), weight, label. */
typedef struct prop_rows {
    size_t n;
    uint32_t *cust;
    uint32_t *item;
    float *w;
    float *y;
} prop_rows;

void prop_rows_free(prop_rows *r);

/* Every customer of the cut for one target, labels from [as_of, as_of + horizon). */
int prop_rows_target(const prop_data *d,
                     const prop_cut *c,
                     prop_target t,
                     double horizon_days,
                     prop_rows *out /* OUT */);
/* Training/validation rows of a kind: ANY = every customer; pairs = positives, items bought
 * before, and sampled other items (rate so that about neg_per_pos per positive; weight 1/r).
 * items_mask (may be NULL = all) restricts the candidate items. stream separates the RNG
 * streams of windows. */
int prop_rows_sampled(const prop_data *d,
                      const prop_cut *c,
                      prop_kind kind,
                      double horizon_days,
                      const uint8_t *items_mask,
                      double neg_per_pos,
                      uint64_t seed,
                      uint64_t stream,
                      prop_rows *out /* OUT */);

/* Fill X (rows->n x l->n float32, row-major) for the rows of cut c. */
int prop_rows_matrix(const prop_data *d,
                     const prop_cut *c,
                     const prop_layout *l,
                     const prop_rows *r,
                     float *X /* OUT */);

/* Baseline heuristic scores (>= 0) for rows: popularity = past orders of the row's item
 * (ANY: all orders) by the customer; rfm = r + f + m scores with a recency tie-break. */
void prop_rows_popularity(const prop_data *d,
                          const prop_cut *c,
                          prop_kind kind,
                          const prop_rows *r,
                          double *out /* OUT */);
void prop_rows_rfm(const prop_cut *c, const prop_rows *r, double *out /* OUT */);

#endif
