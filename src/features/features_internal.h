/* src/features/features_internal.h: state shared by features.c (customers) and products.c. */
#ifndef PROMO_FEATURES_INTERNAL_H
#define PROMO_FEATURES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/features.h>

#define FX_NONE        UINT32_MAX
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
} fx_ctx;

/* Fault in a fresh array of `bytes` that is about to be written whole, on nt threads
 * (features.c). A hint: ignored where unsupported. */
void fx_prefault(void *p, size_t bytes, int nt);

/* Product features, co-purchase and elasticity from the slots (products.c). Frees c->rec (and
 * sets it to NULL) as soon as the slots are read, so that its memory is reused. */
int fx_products(fx_ctx *c, promo_features *f);

#endif
