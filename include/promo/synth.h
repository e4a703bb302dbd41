/* promo/synth.h: a synthetic retail world with known ground truth, and the campaign simulator.
 *
 * promo_synth_generate() draws a latent world (customers, products, stores, an affinity graph,
 * every customer's true response to promotions) and plays 18 months of retail history in it:
 * the canonical tables of schema.h (customers, products, stores, promotions, transactions,
 * exposures, responses, events) plus truth_* tables holding the latent parameters. Models
 * read only the canonical tables; the truth_* tables are for the simulator and evaluation.
 * promo_simulate() plays a campaign forward in the same world against its no-campaign
 * counterfactual (common random numbers) and reports incremental profit with intervals.
 *
 * Currency: Sri Lankan rupees (LKR) throughout (prices, costs, revenue, contact cost).
 *
 * Days. The history covers days 0 .. n_days-1 from params.start_date. The campaign API counts
 * days from the end of the history: day 0 is the first day after it, day -1 its last day.
 *
 * The true response model (customer i, product x of category c, offer at discount d percent
 * sent on day t at hour h, window of W days, default 14):
 *
 *   active(i, t)  = active_from_i <= t < churn_day_i   (churned customers buy nothing, with or
 *                   without an offer)
 *   lambda_i,x(s) = v_i * b_i * s_i,x * f_x(s)         expected lines of x on active day s:
 *                   v_i visits a day, b_i lines per basket, s_i,x the share of i's lines
 *                   that are x:
 *   s_i,x         = (1 - h_i) theta_i,c pi_x + h_i [x in staples_i] / |staples_i|
 *                   theta_i,c taste (sums to 1 over categories), pi_x popularity share of x
 *                   in its category (sums to 1), h_i the habit share: the share of lines
 *                   that are one of the customer's 3-6 staples (habitual products)
 *   f_x(s)        = m_x(s)^e_x / E[m^e_x]               the price response: the shelf price is
 *                   the list price times m_x(s) = exp(0.1 z), z a standard normal (clipped at
 *                   +-2) drawn afresh for each product every 28 days from the seed; e_x is the
 *                   product's true elasticity, in [-2.5, -0.5] (truth_products.elasticity)
 *   p0            = 1 - exp(-rho_i * sum_{s in [t, t+W), active} lambda_i,x(s) season(s))
 *                   the probability of buying x in the window without an offer; season has
 *                   mean 1 over the history (December peak, weekly cycle, slight growth);
 *                   rho_i depends on the response type: sure thing 2.5, lost cause 0.25,
 *                   persuadable and sleeping dog 1
 *   u             = e_i * g_i(d) * f_i * m_i(t, h)     the offer's effect:
 *                   e_i     effect size: persuadable > 0 (typically 0.05-0.4), sleeping dog < 0,
 *                           sure thing and lost cause ~ 0
 *                   g_i(d)  = 1 - exp(-d / delta_i), increasing and concave in the discount;
 *                           delta_i (discount_sensitivity, percent) is small for price-sensitive
 *                           customers
 *                   f_i     = exp(-kappa_i * F), fatigue: F = sum over earlier contacts of
 *                           exp(-(days since contact) / 14), kappa_i fatigue sensitivity
 *                   m_i     = (0.6 + 0.4 exp(-dh^2 / 8)) * (1 if weekday(t) = best_weekday_i
 *                           else 0.8), send-time match; dh = circular distance to best_hour_i
 *   p1            = p0 + u (1 - p0) if u >= 0, else p0 (1 + u)
 *   true uplift   = p1 - p0
 *
 * Category-level offers use pi = 1 and count every staple of the category (any product of it).
 * History exposures follow the same model, so the exposure log carries the truth (table
 * truth_exposures: p0, p1 of each exposure). In the history, a promotion's randomised audience is
 * split into arms "treatment" and "control" (control is not contacted), so uplift is identifiable;
 * a further share is chosen by a naive rule (customers with a taste for the category) and logged
 * with arm "targeted", so naive exposed-vs-not estimates are biased as in real logs.
 *
 * The simulator's figures (per draw; reported as mean and an interval over draws):
 *   contacts                 offers sent (rows of the campaign)
 *   conversions              offers whose customer buys the product in the window
 *   incremental_conversions  conversions - conversions without the campaign
 *   revenue                  sum over buyers of q * price * (1 - d/100), plus bundle revenue
 *                            (price: the shelf price on the send day)
 *   incremental_revenue      revenue - revenue without the campaign (q * price per buyer)
 *   discount_cost            sum over ALL buyers with the offer of q * price * d/100, i.e. the
 *                            discount given to new buyers and to those who would have bought
 *                            anyway
 *   contact_cost             contacts * cost_per_contact
 *   incremental_profit       (margin with the campaign - margin without) - contact_cost, where
 *                            margin = sum over buyers of q * (unit price paid - unit cost); so
 *                            it equals new buyers' margin at list price - discount_cost -
 *                            contact_cost (+ the bundle's incremental margin)
 *   roi                      incremental_profit / (discount_cost + contact_cost)
 * Treated and counterfactual outcomes share one uniform per (draw, customer, product, day)
 * (common random numbers): the customer buys without the offer iff U < p0 and with it iff
 * U < p1, so the same customer-product pair gets the same uniform in every campaign and
 * comparisons between strategies are paired. q (quantity) is drawn once and shared too.
 * Bundle: a buyer of x offered bundle item y also buys y with probability 0.1 + 0.5 a(x, y)
 * with the offer and 0.5 a(x, y) * 0.5 without (a = affinity strength in [0, 1], 0 when the
 * pair is not in the affinity graph); y is sold at its shelf price, without discount.
 *
 * Usage:
 *   promo_synth_params p = promo_synth_params_default();
 *   promo_synth_tables t; promo_world *w = NULL;
 *   if (promo_synth_generate(&p, &w, &t)) fprintf(stderr, "%s\n", promo_last_error());
 *   promo_offer o = {.customer = 3, .product = 7, .discount_pct = 15, .send_day = 2,
 *                    .send_hour = 18, .bundle_product = PROMO_SYNTH_NONE};
 *   promo_sim_params sp = promo_sim_params_default();
 *   promo_sim_result r;
 *   promo_simulate(w, &o, 1, &sp, &r);   // r.incremental_profit.mean, .lo, .hi
 *   promo_synth_tables_free(&t); promo_world_free(w);
 *
 * Thread-safety: a promo_world is read-only after creation; any number of threads may call
 * promo_simulate and the promo_world_* queries on the same world at once.
 */
#ifndef PROMO_SYNTH_H
#define PROMO_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROMO_SYNTH_NONE UINT32_MAX /* "no product" (no bundle item) */

/* Response types (append only). */
typedef enum promo_response_type {
    PROMO_RESP_PERSUADABLE = 0,  /* buys more when offered */
    PROMO_RESP_SURE_THING = 1,   /* buys anyway: high base, ~0 effect */
    PROMO_RESP_LOST_CAUSE = 2,   /* does not buy either way: low base, ~0 effect */
    PROMO_RESP_SLEEPING_DOG = 3, /* buys less when contacted: negative effect */
    PROMO_RESP_TYPE_COUNT
} promo_response_type;

/* Generation parameters. Every size is a `promo generate` flag. */
typedef struct promo_synth_params {
    uint64_t seed;                /* master seed; same seed + params = identical tables */
    uint32_t n_customers;         /* customers (default 1000) */
    uint32_t n_products;          /* products (default 250) */
    uint32_t n_categories;        /* categories, 1..15 (default 15) */
    uint32_t n_stores;            /* physical stores (default 10, Sri Lankan cities) */
    uint32_t n_promotions;        /* promotions in the history (default 200) */
    uint64_t n_transactions;      /* transaction lines, exactly (default 50000) */
    uint32_t n_months;            /* history length in months (default 18) */
    int64_t start_date;           /* first history day, seconds since the epoch (2023-07-01) */
    double contacts_per_customer; /* mean promotion exposures per customer (default 10) */
    double targeted_share;        /* share of exposures chosen by the naive rule (0.3) */
    double control_share;         /* share of the randomised audience held out (0.5) */
    int with_events;              /* 1: generate the events table (default 1) */
    int n_threads;                /* 0 = OpenMP default; results do not depend on it */
} promo_synth_params;

promo_synth_params promo_synth_params_default(void);

/* Check sizes and shares; PROMO_EUSAGE with a message naming the parameter if out of range. */
int promo_synth_params_check(const promo_synth_params *p);

/* The generated tables. Canonical tables follow schema.h; truth_* tables:
 *   truth_customers  customer_id, segment_true, visit_rate (visits/day), basket_mean,
 *                    active_from (history day), churn_day (history day or NULL), response_type,
 *                    effect_size, discount_sensitivity, fatigue_sensitivity, best_weekday
 *                    (0 = Monday), best_hour, price_sensitivity, online_affinity, home_store,
 *                    fatigue_end (F at the end of the history), taste_<category> (one column
 *                    per category, summing to 1), habit_share, staple_1 .. staple_6 (product
 *                    ids of the habitual products, NULL past the customer's count)
 *   truth_products   product_id, category, share (pi), quantity_mean, price (list), cost,
 *                    elasticity (e_x)
 *   truth_affinity   product_id, complement_id, strength (basket co-occurrence graph)
 *   truth_category_affinity  category_a, category_b, strength (the configured pairs)
 *   truth_exposures  promotion_id, customer_id, p0, p1 (true probabilities of each exposure)
 *   truth_params     key, value (seed, start date, days, sizes: what promo_world_load needs)
 * All tables are owned by the struct; free with promo_synth_tables_free. */
enum { PROMO_SYNTH_N_TABLES = 14 };
typedef struct promo_synth_tables {
    promo_table *customers, *products, *stores, *promotions, *transactions, *exposures, *responses,
        *events;
    promo_table *truth_customers, *truth_products, *truth_affinity, *truth_category_affinity,
        *truth_exposures, *truth_params;
} promo_synth_tables;

/* All tables of t in write order (canonical first); NULL entries are skipped by callers.
 * Returns PROMO_SYNTH_N_TABLES and fills out[0..PROMO_SYNTH_N_TABLES). */
size_t promo_synth_tables_list(const promo_synth_tables *t, const promo_table **out /* OUT */);
void promo_synth_tables_free(promo_synth_tables *t); /* NULL-safe; zeroes the struct */

typedef struct promo_world promo_world;

/* Generate a world and its history. world (may be NULL) receives the latent world (free with
 * promo_world_free); tables receives every table (free with promo_synth_tables_free). On
 * failure nothing is returned (both zeroed/NULL). Errors: PROMO_EUSAGE (bad params),
 * PROMO_ENOMEM. Uses n_threads OpenMP threads; output is identical for any thread count. */
int promo_synth_generate(const promo_synth_params *p,
                         promo_world **world /* OUT, may be NULL */,
                         promo_synth_tables *tables /* OUT */);

/* Rebuild the latent world from the truth_* tables (and products/customers ids in them).
 * Needs truth_customers, truth_products, truth_affinity and truth_params; other fields may be
 * NULL. *out owned by the caller. PROMO_EINPUT if a table is missing a column. */
int promo_world_from_tables(const promo_synth_tables *t, promo_world **out /* OUT */);

void promo_world_free(promo_world *w); /* NULL-safe */

/* Sizes and ids. Ids are borrowed, valid until the world is freed. */
uint32_t promo_world_n_customers(const promo_world *w);
uint32_t promo_world_n_products(const promo_world *w);
uint32_t promo_world_n_days(const promo_world *w); /* history length */
uint64_t promo_world_seed(const promo_world *w);
const char *promo_world_customer_id(const promo_world *w, uint32_t i);
const char *promo_world_product_id(const promo_world *w, uint32_t x);
/* Dense index of an id string, or PROMO_SYNTH_NONE. */
uint32_t promo_world_customer_index(const promo_world *w, const char *id);
uint32_t promo_world_product_index(const promo_world *w, const char *id);
double promo_world_product_price(const promo_world *w, uint32_t x); /* list price, LKR */
double promo_world_product_cost(const promo_world *w, uint32_t x);  /* LKR */
promo_response_type promo_world_response_type(const promo_world *w, uint32_t i);

/* The true uplift p1 - p0 (see the top comment) of an offer of product x at discount_pct to
 * customer i sent on `day` (0 = first day after the history; negative = in it) at hour
 * (0-23), with the fatigue the history's contacts leave on that day and the default 14-day
 * window. Pure function of the world; thread-safe. */
double promo_world_true_uplift(const promo_world *w,
                               uint32_t customer,
                               uint32_t product,
                               double discount_pct,
                               int day,
                               int hour);
/* The same model's two probabilities, with an explicit fatigue F (number-equivalent of recent
 * contacts) and window. */
void promo_world_offer_probs(const promo_world *w,
                             uint32_t customer,
                             uint32_t product,
                             double discount_pct,
                             int day,
                             int hour,
                             double fatigue,
                             int window_days,
                             double *p0 /* OUT */,
                             double *p1 /* OUT */);

/* ---- the simulator ---- */

/* One row of a campaign. */
typedef struct promo_offer {
    uint32_t customer;       /* dense customer index */
    uint32_t product;        /* dense product index */
    double discount_pct;     /* 0..90 */
    int32_t send_day;        /* 0 = first day after the history, .. 3650 */
    int32_t send_hour;       /* 0..23 */
    uint32_t bundle_product; /* dense index or PROMO_SYNTH_NONE */
} promo_offer;

typedef struct promo_sim_params {
    uint32_t n_draws;        /* repeated draws (default 200) */
    uint64_t seed;           /* draw seed (default 0 = derived from the world seed) */
    double cost_per_contact; /* LKR per contact (default 1.0: about an SMS) */
    uint32_t window_days;    /* purchase window after the send (default 14) */
    double interval;         /* central interval level (default 0.90) */
    int n_threads;           /* 0 = OpenMP default, 1 = serial; results do not depend on it */
} promo_sim_params;

promo_sim_params promo_sim_params_default(void);

/* A figure: mean over draws and the central `interval` quantiles. */
typedef struct promo_sim_figure {
    double mean; /* mean over draws */
    double lo;   /* lower quantile */
    double hi;   /* upper quantile */
} promo_sim_figure;

typedef struct promo_sim_result {
    promo_sim_figure contacts, conversions, incremental_conversions, revenue, incremental_revenue,
        discount_cost, contact_cost, incremental_profit, roi;
    uint32_t n_draws; /* draws used */
} promo_sim_result;

/* Simulate a campaign of n offers (see the top comment for the figures' definitions).
 * Offers of the same customer fatigue each other in (send_day, send_hour, row) order.
 * Errors: PROMO_EUSAGE (an index out of range, discount outside 0..90, hour outside 0..23,
 * day outside 0..3650, bad params), PROMO_ENOMEM. Thread-safe; cost O(n log n + n * draws). */
int promo_simulate(const promo_world *w,
                   const promo_offer *offers,
                   size_t n,
                   const promo_sim_params *p,
                   promo_sim_result *out /* OUT */);

/* The expected value of each offer as promo_simulate scores it, before any draw: profit[k] the
 * expected incremental profit (LKR: the expected incremental margin over the window, bundle
 * included, minus the contact cost), uplift[k] (may be NULL) the true p1 - p0, both with the
 * campaign's own fatigue as in promo_simulate. For oracles: the best any targeting could
 * know. Errors as promo_simulate. */
int promo_simulate_expected(const promo_world *w,
                            const promo_offer *offers,
                            size_t n,
                            const promo_sim_params *p,
                            double *profit /* OUT: n */,
                            double *uplift /* OUT: n, may be NULL */);

/* One realisation (draw `draw`) per offer, for bandits that need an observed reward. */
typedef struct promo_sim_outcome {
    uint8_t converted;          /* bought with the offer */
    uint8_t converted_baseline; /* would have bought without it */
    double revenue;             /* LKR paid, incl. bundle */
    double profit;              /* incremental profit of this offer (same definition) */
} promo_sim_outcome;

int promo_simulate_outcomes(const promo_world *w,
                            const promo_offer *offers,
                            size_t n,
                            const promo_sim_params *p,
                            uint32_t draw,
                            promo_sim_outcome *out /* OUT: n entries */);

/* ---- workspace ---- */

typedef struct promo_store promo_store;

/* Write every table of t and the run metadata (generate.* keys) into the workspace in ONE
 * transaction (begin .. commit here; rollback on failure, leaving promo.db as it was). Existing
 * tables of the same names are replaced. */
int promo_synth_write(promo_store *s, const promo_synth_tables *t, const promo_synth_params *p);

/* promo_synth_generate (without the world) and promo_synth_write in one: the same tables, the
 * same single transaction, but the tables that are complete before the history (customers,
 * products, stores, promotions, exposures, responses, truth_*) are written on a second thread
 * while the history (transactions, events) is generated, which leaves cores idle part of the
 * time; then the history's tables. On failure nothing is returned and promo.db is as it was.
 * *tail_s (may be NULL): the seconds spent writing after the generation ended. */
int promo_synth_generate_into(promo_store *s,
                              const promo_synth_params *p,
                              promo_synth_tables *tables /* OUT */,
                              double *tail_s /* OUT, may be NULL */);

/* Rebuild the world from a workspace's truth_* tables. PROMO_ENOTFOUND if the workspace has no
 * generated world. *out owned by the caller. */
int promo_world_load(promo_store *s, promo_world **out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
