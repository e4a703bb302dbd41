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

/* An "order slot": one (order, distinct product) pair, stored in the customer's line range.
 * Slots of one order are contiguous, so co-purchase reads an order's products as a run. */
typedef struct fx_slots {
    uint32_t *prod; /* product, FX_NONE for unused slots */
    uint32_t *glo;  /* first slot of the same order */
    uint32_t *gn;   /* distinct products in the order */
    float *qty;     /* units of the product in the order */
    double *rev;    /* spend */
    float *list;    /* list-price revenue */
    int32_t *week;  /* week number of the order: floor((day + 3) / 7), Monday-based */
    uint8_t *known; /* 1 if the order's customer is known (counts for buyers) */
} fx_slots;

typedef struct fx_ctx {
    const promo_feature_input *in;
    const promo_feature_params *p;
    int nt;                     /* threads */
    uint32_t n_prod;            /* products-table rows */
    uint32_t n_cat;             /* categories */
    uint32_t *prod_cat;         /* n_prod category index */
    size_t n_lines;             /* purchase lines kept */
    size_t n_univ;              /* universe size; bucket n_univ holds anonymous lines */
    uint64_t *off;              /* n_univ + 2 bucket offsets into lines/slots */
    fx_line *lines;             /* n_lines */
    fx_slots s;                 /* n_lines slots */
    int32_t week_min, week_max; /* weeks spanned by the lines */
    uint32_t n_store_codes;
} fx_ctx;

/* Product features, co-purchase and elasticity from the slots (products.c). */
int fx_products(fx_ctx *c, promo_features *f);

#endif
