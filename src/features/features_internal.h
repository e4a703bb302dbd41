/* src/features/features_internal.h: what the feature files share: features.c (the customers:
 * bucketing, the customer pass, the global steps), products.c (product features, co-purchase,
 * elasticity), contacts.c (exposures and responses: fatigue and promotion sensitivity) and
 * labels.c (purchase labels after the cutoff). Hot helpers are static inline here so that
 * every file's loops keep them inlined. */
#ifndef PROMO_FEATURES_INTERNAL_H
#define PROMO_FEATURES_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <promo/features.h>
#include <promo/table.h>

#define FX_NONE        UINT32_MAX
#define DAY            86400.0     /* seconds */
#define AUX_STORE_MASK 0x3fffffffu /* store code; all ones = no store */
#define AUX_ONLINE     (1u << 30)
#define AUX_PROMO      (1u << 31)

/* One purchase line, copied into customer-bucketed order (40 bytes: the hot loops read these
 * sequentially instead of gathering from ten columns). */
typedef struct fx_line {
    int64_t ts;       /* seconds */
    double rev;       /* spend after discount */
    float list;       /* quantity * unit_price */
    float qty;        /* units */
    uint32_t product; /* products-table row */
    uint32_t order;   /* order_id dictionary code */
    uint32_t aux;     /* store code | AUX_ONLINE | AUX_PROMO */
    uint32_t pad;
} fx_line;

/* An "order slot": one (order, distinct product) pair. Slots of one order are contiguous, so
 * co-purchase reads an order's products as a run. */
typedef struct fx_slot {
    double rev;       /* spend */
    float qty;        /* units of the product in the order */
    float list;       /* list-price revenue */
    uint32_t product; /* products-table row, FX_NONE for unused slots */
    uint32_t gn;      /* distinct products in the order (the run length) */
    int32_t week;     /* week number of the order: floor((day + 3) / 7), Monday-based */
} fx_slot;

/* A customer's records hold its lines until the customer pass is done with them, then its
 * slots (a customer has at most as many slots as lines; the rest are marked unused): the
 * slots cost no memory of their own, which matters as much as the copying (first-touch page
 * faults are a large share of the time on a fresh 10M-line buffer). */
typedef union fx_rec {
    fx_line line;
    fx_slot slot;
} fx_rec;

#define N_CONF_TABLE 64 /* order counts whose implicit confidence is tabulated */

typedef struct fx_ctx {
    const promo_feature_input *in;
    const promo_feature_params *p;
    int nt;                     /* threads */
    uint32_t n_prod;            /* products-table rows */
    uint32_t n_cat;             /* categories */
    uint32_t *prod_cat;         /* n_prod category index */
    size_t n_lines;             /* purchase lines kept */
    size_t n_univ;              /* universe size; bucket n_univ holds anonymous lines */
    uint64_t *off;              /* n_univ + 2 bucket offsets into rec */
    fx_rec *rec;                /* n_lines: lines, then slots (see fx_rec) */
    int32_t week_min, week_max; /* weeks spanned by the lines */
    uint32_t n_store_codes;
    float confidence[N_CONF_TABLE]; /* implicit confidence of the counts 0..N_CONF_TABLE-1 */
    int presorted; /* each bucket's lines already in the customer pass's order (days.c) */
} fx_ctx;

/* Fault in a fresh array of `bytes` that is about to be written whole, on nt threads
 * (features.c). A hint: ignored where unsupported. */
void fx_prefault(void *p, size_t bytes, int nt);

/* Product features, co-purchase and elasticity from the slots (products.c). Frees c->rec (and
 * sets it to NULL) as soon as the slots are read, so that its memory is reused. */
int fx_products(fx_ctx *c, promo_features *f);

/* Columns of X before the category shares. */
enum {
    C_RECENCY,
    C_FREQUENCY,
    C_MONETARY,
    C_R_SCORE,
    C_F_SCORE,
    C_M_SCORE,
    C_RFM_SCORE,
    C_TENURE,
    C_AOV,
    C_IPG_MEAN,
    C_IPG_SD,
    C_BASKET_ITEMS,
    C_BASKET_LINES,
    C_N_PRODUCTS,
    C_N_CATEGORIES,
    C_N_STORES,
    C_ONLINE_SHARE,
    C_SPEND_30,
    C_SPEND_90,
    C_ORDERS_30,
    C_ORDERS_90,
    C_PROMO_SHARE,
    C_N_EXPOSURES,
    C_N_CONVERSIONS,
    C_RESPONSE_RATE,
    C_CONTACTS_7,
    C_CONTACTS_30,
    C_CONTACTS_90,
    C_DAYS_SINCE_CONTACT,
    C_RESPONSE_TREND,
    C_SPEND_TIER,
    C_DOW0,
    C_HOUR0 = C_DOW0 + 7,
    C_BEST_DOW = C_HOUR0 + 24,
    C_BEST_HOUR,
    C_BEST_SLOT,
    C_PURCHASE_DAYS,
    C_P_ALIVE,
    C_EXP_PURCHASES,
    C_EXP_SPEND,
    C_CLV,
    C_N_CONTROL,        /* control exposures (distinct promotions) */
    C_CONTROL_CONV,     /* their conversions */
    C_BASELINE_RATE,    /* smoothed rate without an offer (see contacts.c) */
    C_RESPONSE_LIFT,    /* smoothed treated rate minus the customer's baseline rate */
    C_PROMO_LINE_SHARE, /* share of purchase lines on promotion */
    C_DISCOUNT_DEPTH,   /* mean share taken off on those lines */
    C_BASE_COUNT
};

/* ---------------------------------------------------------------- column access ---- */

/* Accepted column types, as masks of 1 << promo_col_type. */
#define T_STR  (1 << PROMO_COL_STRING)
#define T_NUM  ((1 << PROMO_COL_INT64) | (1 << PROMO_COL_FLOAT64))
#define T_TIME ((1 << PROMO_COL_TIMESTAMP) | (1 << PROMO_COL_INT64))
#define T_FLAG ((1 << PROMO_COL_BOOL) | (1 << PROMO_COL_INT64) | (1 << PROMO_COL_FLOAT64))

/* Column `name` of t (named `table` in messages) of a type in type_mask; PROMO_EINPUT if
 * missing or of another type. */
int fx_need_col(const promo_table *t,
                const char *table,
                const char *name,
                int type_mask,
                const promo_column **out /* OUT */);
/* Optional column of an accepted type, else NULL. */
const promo_column *fx_opt_col(const promo_table *t, const char *name, int type_mask);
/* Dictionary code of c's key k in target, mapped through code_row (target code -> row) when
 * given; FX_NONE when absent. NULL on ENOMEM; the caller frees. */
uint32_t *
fx_code_map(const promo_column *c, const promo_dict *target, const uint32_t *code_row, int nt);

static inline double num_at(const promo_column *c, size_t r)
{
    if (promo_column_is_null(c, r))
        return NAN;
    switch (c->type) {
    case PROMO_COL_FLOAT64:
        return c->f64[r];
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        return (double)c->i64[r];
    case PROMO_COL_BOOL:
        return c->b[r];
    default:
        return NAN;
    }
}

/* The transaction columns every step reads. */
typedef struct tx_cols {
    const promo_column *order, *cust, *prod, *ts, *qty, *price, *store, *disc, *promo, *chan;
} tx_cols;

int fx_get_tx_cols(const promo_table *t, tx_cols *x /* OUT */);

/* The purchase-line filter, shared by features and the derived universe. */
static inline int purchase_line(const tx_cols *x, size_t r, int64_t lo, int64_t hi)
{
    if (promo_column_is_null(x->ts, r))
        return 0;
    int64_t ts = x->ts->i64[r];
    if (ts < lo || ts >= hi)
        return 0;
    double q = num_at(x->qty, r), p = num_at(x->price, r);
    return q > 0 && p >= 0 && isfinite(q) && isfinite(p) && !promo_column_is_null(x->prod, r);
}

/* ---------------------------------------------------------------- the universe ---- */

typedef struct universe {
    size_t n;                   /* customers in the universe */
    uint32_t *tx_cust;          /* transactions.customer_id code -> universe index, FX_NONE */
    const promo_column *id_col; /* column holding the ids */
    uint32_t *id_code;          /* n: code of each customer's id in id_col->dict */
    int64_t *signup;            /* n signup dates or NULL (INT64_MAX = none) */
    size_t n_known;             /* customers known at the cutoff */
    uint32_t *known;            /* n_known universe indices, increasing */
} universe;

void fx_universe_free(universe *u);

/* Purchase lines before as_of per transactions.customer_id code and part of the rows (see
 * features.c). */
void fx_count_lines(const tx_cols *x,
                    size_t n_rows,
                    const uint32_t *tx_prod,
                    int64_t as_of,
                    int n_parts,
                    uint32_t n_codes,
                    uint32_t *cnt,
                    uint64_t *keep);
/* The customers known at as_of from fx_count_lines' counters (see features.h). */
int fx_build_universe(const promo_feature_input *in,
                      const tx_cols *x,
                      const uint32_t *cnt,
                      int n_parts,
                      int64_t as_of,
                      int nt,
                      universe *u /* OUT */);

typedef struct prod_map {
    uint32_t n_prod;
    uint32_t *tx_prod; /* transactions.product_id code -> products row */
    const promo_column *pid;
} prod_map;

/* transactions.product_id codes -> products rows; fails on duplicate product ids. */
int fx_map_products(const promo_feature_input *in,
                    const tx_cols *x,
                    int nt,
                    prod_map *pm /* OUT */);
/* The inputs and params every entry point needs. */
int fx_check_params(const promo_feature_input *in, const promo_feature_params *p);

/* ---------------------------------------------------------------- contacts (contacts.c) ---- */

typedef struct fx_contact {
    int64_t ts;      /* exposure time */
    uint32_t promo;  /* exposures.promotion_id code */
    uint8_t conv;    /* 1 if a counted conversion exists for (promo, customer) */
    uint8_t control; /* 1 for the control arm (not a contact) */
    uint8_t settled; /* 1 if the promotion's response window closed before the cutoff */
    uint8_t pad;
} fx_contact;

typedef struct contacts {
    uint64_t *off; /* n_univ + 1 */
    fx_contact *e; /* exposures before the cutoff, control ones marked, by customer then ts */
    double prior;  /* overall conversion rate per exposed (treated) promotion */
    double prior_settled; /* the same over settled treated exposures */
    double prior0;        /* conversion rate of settled control exposures (prior_settled when
                             there are none) */
    uint32_t n_promo;     /* exposures.promotion_id codes */
    uint32_t *promo_prod; /* n_promo: products row of the promoted product, FX_NONE */
    uint32_t *promo_cat;  /* n_promo: category index of a category promotion, FX_NONE */
    int64_t *promo_end;   /* n_promo: promotions.end, INT64_MAX when unknown */
} contacts;

/* One slot of a customer, for its interactions row and the baseline of the promoted products
 * (features.c sorts a customer's by product, then time). */
typedef struct fx_prow {
    uint32_t product;
    uint32_t pad;
    int64_t ts;     /* the order's time */
    double rev;     /* spend */
    double recency; /* the order's recency weight 2^(-age / half_life) */
} fx_prow;

/* Exposures before as_of of the universe's customers (control ones marked), by customer then
 * time, each marked with whether its (customer, promotion) converted before as_of and whether
 * its promotion ended before as_of; the promoted product or category of each promotion
 * (prod_cat: products row -> category index); and the prior conversion rates. Zeroed (ct->off
 * NULL) without exposures. */
int fx_build_contacts(const promo_feature_input *in,
                      const prod_map *pm,
                      const uint32_t *prod_cat,
                      const universe *u,
                      int64_t as_of,
                      int nt,
                      contacts *ct /* OUT */);
void fx_contacts_free(contacts *ct);
/* The contact and response columns of X for universe customer u (row x); pr[0..m) are the
 * customer's purchase slots sorted by product then time, prod_cat as above. */
void fx_contact_features(const contacts *ct,
                         uint32_t u,
                         const promo_feature_params *p,
                         const fx_prow *pr,
                         size_t m,
                         const uint32_t *prod_cat,
                         float *x);

#endif
