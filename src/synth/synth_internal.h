/* src/synth/synth_internal.h: the latent world shared by the generator and the simulator.
 * Private to src/synth; the public contract (and the response model) is in promo/synth.h. */
#ifndef PROMO_SYNTH_INTERNAL_H
#define PROMO_SYNTH_INTERNAL_H

#include <stdint.h>

#include <promo/dict.h>
#include <promo/rng.h>
#include <promo/synth.h>

/* ---- the static catalogue (catalog.c) ---- */

#define SYN_MAX_CATEGORIES   15
#define SYN_MAX_COMPLEMENTS  3
#define SYN_MAX_STAPLES      6    /* a customer's habitual products (PROMO_SYNTH_NONE pad) */
#define SYN_FATIGUE_TAU_DAYS 14.0 /* decay of a contact's fatigue, days */
/* Shelf prices: each product's price is its list price times a multiplier exp(sd z), z a
 * standard normal clipped at z_max, drawn afresh every period; demand for the product follows
 * m^e with its own elasticity e in [-SYN_MAX_ELASTICITY, -0.5]. */
#define SYN_PRICE_PERIOD_DAYS 28
#define SYN_PRICE_SD          0.10
#define SYN_PRICE_Z_MAX       1.5
#define SYN_MAX_ELASTICITY    2.5
/* The price acceptance a = m^e / exp(SYN_MAX_ELASTICITY sd z_max) averages E[m^e] / that bound,
 * between 0.688 (e = -0.5) and 0.704 (e = -2.5); habit shares stay below the smaller value, so
 * the staple coin h / SYN_MEAN_ACCEPT is a probability (and staple shares are the model's to
 * within 2.5%). */
#define SYN_MEAN_ACCEPT 0.688
#define SYN_MAX_HABIT   0.68
/* Days past the history the season table covers (campaign days 0..3650 plus a window). */
#define SYN_FUTURE_DAYS (3650 + 400)

typedef struct syn_item {
    const char *name; /* readable base name ("Bread", "Basmati Rice 5kg") */
    double price;     /* typical list price, LKR */
} syn_item;

typedef struct syn_category {
    const char *name;     /* "Bakery" */
    const char *slug;     /* column-safe name ("bakery") for taste_<slug> */
    double weight;        /* relative share of the average shopper's baskets */
    double margin;        /* typical gross margin, fraction of price */
    double quantity_mean; /* mean units per line */
    const syn_item *items;
    uint32_t n_items;
} syn_category;

typedef struct syn_pair {
    uint32_t a, b;   /* category indices */
    double strength; /* 0..1 */
} syn_pair;

typedef struct syn_named_pair {
    const char *from, *to; /* base item names: a buyer of `from` often adds `to` */
} syn_named_pair;

typedef struct syn_city {
    const char *name;
    double weight; /* share of customers living near it */
} syn_city;

typedef struct syn_names {
    const char *const *male, *const *female, *const *last;
    uint32_t n_male, n_female, n_last;
    double weight; /* share of the population */
} syn_names;

extern const syn_category syn_categories[SYN_MAX_CATEGORIES];
extern const syn_pair syn_category_pairs[];
extern const uint32_t syn_n_category_pairs;
extern const syn_named_pair syn_named_pairs[];
extern const uint32_t syn_n_named_pairs;
extern const char *const syn_brands[];
extern const uint32_t syn_n_brands;
extern const syn_city syn_cities[];
extern const uint32_t syn_n_cities;
extern const syn_names syn_name_groups[];
extern const uint32_t syn_n_name_groups;
extern const char *const syn_segment_names[4];
extern const char *const syn_type_names[PROMO_RESP_TYPE_COUNT];

/* ---- the world ---- */

struct promo_world {
    uint64_t seed;      /* master seed */
    uint32_t n_cust;    /* customers */
    uint32_t n_prod;    /* products */
    uint32_t n_cat;     /* categories */
    uint32_t n_days;    /* history days */
    int64_t start_day;  /* history day 0, days since the epoch */
    uint32_t n_season;  /* entries of season (history + future) */
    double *season;     /* relative demand on history day d (mean 1 over the history) */
    double *season_cum; /* season_cum[d] = sum of season[0..d), n_season + 1 entries */
    char **cat_names;   /* n_cat category names, owned */

    /* products */
    uint16_t *p_cat;     /* category */
    double *p_share;     /* pi: popularity share within the category */
    double *p_price;     /* list price, LKR */
    double *p_cost;      /* unit cost, LKR */
    double *p_qmean;     /* mean quantity per line */
    double *p_elast;     /* true price elasticity of demand (< 0) */
    uint32_t *p_comp;    /* SYN_MAX_COMPLEMENTS complements per product (PROMO_SYNTH_NONE pad) */
    float *p_comp_w;     /* their strengths */
    uint32_t *cat_start; /* n_cat + 1 offsets into cat_prods */
    uint32_t *cat_prods; /* product indices grouped by category, most popular first */
    double *alias_p;     /* per cat_prods slot: alias-method probability */
    uint32_t *alias_j;   /* per cat_prods slot: alias (a cat_prods slot) */

    /* customers */
    uint8_t *c_seg;     /* true segment 0 frequent .. 3 rare */
    uint8_t *c_type;    /* promo_response_type */
    uint8_t *c_bwd;     /* best weekday, 0 = Monday */
    uint8_t *c_bhour;   /* best hour 0-23 */
    uint32_t *c_store;  /* home store */
    int32_t *c_from;    /* first active history day */
    int32_t *c_churn;   /* churn history day, INT32_MAX if none */
    double *c_visit;    /* visits per day (calibrated to the history's size) */
    double *c_bmean;    /* mean lines per basket */
    double *c_effect;   /* e_i */
    double *c_dsens;    /* delta_i, percent */
    double *c_fsens;    /* kappa_i */
    double *c_psens;    /* price sensitivity 0..1 */
    double *c_online;   /* share of orders online */
    double *c_fat_end;  /* fatigue F at the end of the history */
    float *c_taste;     /* n_cust x n_cat, rows sum to 1 */
    double *c_habit;    /* share of basket lines that are one of the customer's staples */
    uint32_t *c_staple; /* n_cust x SYN_MAX_STAPLES habitual products, PROMO_SYNTH_NONE pad */

    promo_dict *cust_ids; /* "CUST0000001" -> index */
    promo_dict *prod_ids; /* "PROD00001" -> index */

    /* Shelf prices and acceptances of the history's price periods (syn_world_price_cache),
     * or NULL: the generator asks for them on every basket line, each a log, cos, exp and pow
     * otherwise. n_prod x px_n pairs (shelf price, acceptance) side by side (one cache line
     * for both), period px_k0 + j of product x at [2 * (x * px_n + j)]. */
    int64_t px_k0;
    uint32_t px_n;
    double *px;
};

/* Allocate every array of a world with the given sizes (zeroed). NULL on failure. */
promo_world *syn_world_alloc(uint32_t n_cust, uint32_t n_prod, uint32_t n_cat, uint32_t n_days);
/* Season tables and per-category alias tables, from the fields already set. */
int syn_world_finish(promo_world *w);
/* Tabulate syn_shelf_price and syn_price_accept over the history's price periods (the same
 * values, computed once per product and period; n_threads as OpenMP's num_threads). Optional:
 * without it they are computed on each call. */
int syn_world_price_cache(promo_world *w, int n_threads);
/* Relative demand on history day d (any d >= 0). */
double syn_season_at(int64_t start_day, int64_t d);
/* Sum of season over active days of customer i in [d0, d0 + len) (history days). */
double syn_active_season(const promo_world *w, uint32_t i, int64_t d0, int64_t len);
/* rho_i, the response type's base multiplier. */
double syn_type_base(int type);
/* The effect multiplier u of the model for a contact; fatigue F given. */
double syn_effect(
    const promo_world *w, uint32_t i, double discount_pct, int64_t hday, int hour, double fatigue);
/* Shelf price of product x on history day hday (list price x the period's multiplier, to the
 * cent), the multiplier itself, and the probability with which a basket line drawn as x is
 * kept at that price (m^e over its maximum; a refused draw is drawn again). */
double syn_shelf_price(const promo_world *w, uint32_t x, int64_t hday);
double syn_price_multiplier(const promo_world *w, uint32_t x, int64_t hday);
double syn_price_accept(const promo_world *w, uint32_t x, int64_t hday);
/* Expected share of customer i's basket lines that are product x, or any product of category
 * cat when x is PROMO_SYNTH_NONE: (1 - h_i) theta_i,c pi_x + h_i * (staples matching) / S_i. */
double syn_line_share(const promo_world *w, uint32_t i, uint32_t cat, uint32_t x);
/* Number of staples of customer i (the non-pad entries). */
uint32_t syn_n_staples(const promo_world *w, uint32_t i);
/* A product drawn from customer i's category taste, then by popularity within it. */
uint32_t syn_taste_pick(const promo_world *w, uint32_t i, promo_rng *r);
/* p0/p1 of an offer on history day hday, for product x of category cat, or for any product of
 * cat (a category offer) when x is PROMO_SYNTH_NONE. */
void syn_probs(const promo_world *w,
               uint32_t i,
               uint32_t cat,
               uint32_t x,
               double discount_pct,
               int64_t hday,
               int hour,
               double fatigue,
               int window,
               double *p0,
               double *p1);
/* Draw a product of category c by popularity (alias method). */
static inline uint32_t syn_pick_in_cat(const promo_world *w, uint32_t c, promo_rng *r)
{
    uint32_t a = w->cat_start[c], n = w->cat_start[c + 1] - a;
    uint32_t k = a + (uint32_t)promo_rng_below(r, n);
    return promo_rng_uniform(r) < w->alias_p[k] ? w->cat_prods[k] : w->cat_prods[w->alias_j[k]];
}
/* Quantity with mean qmean: 1 + geometric, capped at 12, from a uniform. */
int syn_quantity(double qmean, double u);

/* Id formatting. */
void syn_customer_id(uint32_t i, char *buf, size_t n);
void syn_product_id(uint32_t x, char *buf, size_t n);

#endif
