/* src/synth/gen_internal.h: state shared by the generator's phases (generate.c, history.c,
 * truth.c). Private to src/synth. */
#ifndef PROMO_SYNTH_GEN_INTERNAL_H
#define PROMO_SYNTH_GEN_INTERNAL_H

#include <stdint.h>

#include "synth/synth_internal.h"

/* Customers per block. Fixed (never derived from the thread count) so every block's RNG
 * stream, and so the output, is the same whatever the number of threads. */
#define GEN_BLOCK            4096
#define GEN_MAX_CONV_PER_DAY 3 /* promo purchases of one customer on one day */
#define GEN_MAX_BROWSE       8 /* browsed-not-bought products per online order */

/* RNG stream kinds; a stream id is (kind << 40) | index. */
enum {
    ST_PRODUCTS = 1,
    ST_PROMOS = 2,
    ST_ALLOC = 3,
    ST_CUST = 4,
    ST_CUST_GSL = 5,
    ST_EXPO = 6,
    ST_PLAN = 7,
    ST_PLAN_GSL = 8,
    ST_FILL = 9,
    ST_SLOT = 10,
};
#define GEN_STREAM(kind, idx) (((uint64_t)(kind) << 40) | (uint64_t)(idx))

/* One exposure of a customer to a promotion. */
typedef struct gen_expo {
    uint32_t promo; /* promotion index */
    uint8_t arm;    /* 0 treatment, 1 control, 2 targeted */
    uint8_t converted;
    int64_t ts;      /* send time, epoch seconds */
    int64_t conv_ts; /* purchase time when converted */
    double revenue;  /* LKR paid when converted */
    double p0, p1;   /* true probabilities */
} gen_expo;

/* One purchase caused or observed by an exposure: a transaction line. */
typedef struct gen_conv {
    int32_t day;      /* history day */
    uint32_t product; /* product index */
    uint32_t promo;   /* promotion index, or PROMO_SYNTH_NONE (control group, paid full) */
    double qty;       /* units */
    double discount;  /* LKR off the line */
} gen_conv;

/* One planned order. */
typedef struct gen_order {
    int32_t day;      /* history day */
    int32_t sec;      /* time of day, seconds (gen_order_slot) */
    uint16_t n_bg;    /* background lines */
    uint16_t n_conv;  /* promotion lines (first in the order) */
    uint8_t online;   /* channel */
    uint8_t n_browse; /* products viewed but not bought (online) */
    uint16_t n_fav;   /* lines also favourited (online) */
} gen_order;

typedef struct gen_block {
    uint32_t c0, c1; /* customers [c0, c1) */
    gen_expo *ex;    /* exposures, grouped by customer */
    size_t n_ex, cap_ex;
    uint32_t *ex_start; /* per customer of the block + 1: offsets into ex */
    gen_conv *cv;       /* promo purchases, grouped by customer, sorted by day */
    size_t n_cv, cap_cv;
    uint32_t *cv_start; /* per customer + 1: offsets into cv */
    gen_order *ord;     /* planned orders, grouped by customer, sorted by day */
    size_t n_ord, cap_ord;
    uint32_t *ord_start;                        /* per customer + 1: offsets into ord */
    uint64_t n_lines, n_events;                 /* totals of the block */
    uint64_t ex_off, ord_off, line_off, ev_off; /* global offsets of the block's rows */
} gen_block;

typedef struct gen {
    const promo_synth_params *p;
    promo_world *w;
    int nt; /* threads */
    uint32_t n_stores;
    uint32_t maxb; /* max lines per basket */
    /* customers: canonical attributes the world does not need */
    uint8_t *c_group;  /* name community */
    uint8_t *c_gender; /* 0 female, 1 male */
    uint8_t *c_age;
    uint8_t *c_tier; /* observed loyalty tier 0 gold .. 3 basic */
    uint16_t *c_first, *c_last;
    int32_t *c_signup; /* history day (negative = before the history) */
    /* promotions */
    uint32_t n_promo;
    int32_t *pr_start, *pr_end;     /* history days, inclusive */
    uint32_t *pr_prod;              /* product (for category-level: a representative product) */
    uint8_t *pr_catlevel;           /* 1: any product of pr_prod's category */
    double *pr_pct;                 /* discount percent, or 0 for a coupon */
    double *pr_coupon;              /* coupon LKR, or 0 */
    uint8_t *pr_channel;            /* 0 email, 1 sms, 2 app */
    uint8_t *pr_hour;               /* send hour */
    double *pr_cost;                /* LKR per contact */
    uint32_t *prc_start, *prc_list; /* promotions by category */
    /* blocks */
    size_t n_blocks;
    gen_block *blocks;
    uint32_t *alloc_lines; /* background lines per customer */
    uint64_t n_orders, n_lines, n_events, n_ex;
    double t0; /* promo_now_s() at the start, for the -v phase timings */
} gen;

extern const char *const gen_channel_names[3];
extern const char *const gen_arm_names[3];
extern const char *const gen_tier_names[4];

/* generate.c: promo_synth_generate in two steps, so that a caller may write the first
 * tables while the history is generated (workspace.c). gen_start: the world and every table
 * but transactions and events (on failure everything is freed, *g and *t zeroed). gen_finish:
 * the history; *world as promo_synth_generate's. gen_abort: after a failed gen_finish, free
 * the world, g and every table (sets the out-of-memory message when rc says so and none is
 * set). */
int gen_start(gen *g, const promo_synth_params *p, promo_synth_tables *t);
int gen_finish(gen *g, promo_world **world /* OUT, may be NULL */, promo_synth_tables *t);
void gen_abort(gen *g, promo_synth_tables *t, int rc);
/* history.c: plan and fill the transactions and events tables. */
int gen_history(gen *g, promo_synth_tables *t);
/* truth.c: the truth_* tables from the world and the exposure log. */
int gen_truth_tables(const gen *g, promo_synth_tables *t);
/* The time of day (seconds) and channel of customer i's order on history day `day`: a pure
 * function of (seed, i, day), so promotion purchases and the history agree. */
void gen_order_slot(const gen *g, uint32_t i, int32_t day, int32_t *sec, uint8_t *online);
/* Bulk-fill helpers. */
int gen_intern_ids(promo_column *c, uint32_t n, void (*fmt)(uint32_t, char *, size_t));
/* Give an empty STRING column a copy of an id dictionary (codes = indices), no hashing. */
int gen_set_ids(promo_column *c, const promo_dict *ids);
/* Size an empty column to n rows without zeroing them (the caller writes every row). */
int gen_column_size(promo_column *c, size_t n);
/* prefix[0..plen) + at least `width` decimal digits of v into buf (no NUL); returns the length.
 * buf needs plen + 20 bytes. */
size_t gen_fmt_id(char *buf, const char *prefix, size_t plen, unsigned width, uint64_t v);
/* promo_dict_key_fn of the order ids "ORD00000001".. (k = order index). */
size_t gen_key_order(void *ctx, size_t k, char *buf);
void gen_store_id(uint32_t s, char *buf, size_t n);
void gen_promo_id(uint32_t k, char *buf, size_t n);
void gen_order_id(uint32_t k, char *buf, size_t n);
int gen_threads(int n_threads);

#endif
