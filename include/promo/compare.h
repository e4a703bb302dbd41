/* promo/compare.h: targeting strategies played against each other in the generated world.
 *
 * Every strategy offers one product at one discount and is played by the simulator (synth.h)
 * with the same draws, so the comparison is paired (common random numbers): a customer chosen
 * by two strategies buys or not alike in both.
 *
 * When: the untargeted baselines (broadcast, random) send everyone on the first day after the
 * history (day 0) at 10:00. The targeted strategies (rfm, propensity, uplift, optimized) play
 * by the campaign engine's rules, as promo campaign sends (campaign.h's targeting, default
 * promo_campaign_targeting_default): each customer at their usual weekday and hour in the
 * week from day 0 (sendtime.h), and without the customers its fatigue rule suppresses
 * (fatigue.h), whose places go to the next of each ranking; in cool-down mode they stay in
 * the rankings and are sent at their slot on or after their cool-down day instead, as
 * promo_campaign_schedule sends them). The oracle plays by the same rules with the truth: see
 * below. The strategies:
 *   broadcast    every customer
 *   random       N customers drawn at random (seeded)
 *   rfm          the top N by RFM score (monetary breaks ties)
 *   propensity   the top N by the propensity model's probability (needs the product model)
 *   uplift       the top N by the uplift model's effect (needs promo train --model uplift)
 *   optimized    what promo campaign --optimize sends: the optimum (discount and count) of
 *                the forecast's discount x count surface over the customers the fatigue rule
 *                keeps (forecast.h: the uplift model with its honest terms), its top
 *                customers by expected profit, those of positive profit
 *   oracle       the true best policy under the same rules: for each discount of {the
 *                asked, the optimized row's}, each customer at the slot of largest TRUE expected
 *                incremental profit (the simulator's own model, read from the truth tables)
 *                that the rules allow (with send time: any day of the week from day 0 at
 *                their true best hour; fixed: day 0 at 10:00; a cooled customer also the
 *                same days from their cool-down day), taken when it is positive; the
 *                discount of the largest total. Every other row's offers are allowed to it
 *                (their discount is in the set, their slot among its slots), so its true
 *                expected profit bounds theirs: the regret of the others is measured to it
 * A strategy whose model is missing is reported as unavailable with the command that trains
 * it, not as an error.
 */
#ifndef PROMO_COMPARE_H
#define PROMO_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include <promo/campaign.h>
#include <promo/fatigue.h>
#include <promo/synth.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;
struct promo_campaign_targeting;

typedef enum promo_strategy {
    PROMO_STRATEGY_BROADCAST = 0,
    PROMO_STRATEGY_RANDOM,
    PROMO_STRATEGY_RFM,
    PROMO_STRATEGY_PROPENSITY,
    PROMO_STRATEGY_UPLIFT,
    PROMO_STRATEGY_OPTIMIZED,
    PROMO_STRATEGY_ORACLE,
    PROMO_STRATEGY_COUNT
} promo_strategy;

/* "broadcast", "random", ... (static). */
const char *promo_strategy_name(promo_strategy s);

typedef struct promo_compare_params {
    const char *product_id; /* required */
    double discount_pct;    /* 0..90 (10) */
    size_t n_target;        /* N of random, rfm, propensity, uplift (0: a tenth of the
                               customers) */
    uint64_t seed;          /* the random strategy's draw (1) */
    promo_sim_params sim;   /* draws, contact cost, window, interval: shared by all */
    int n_threads;          /* features (0 = all cores) */
    /* The targeted strategies' send time and fatigue (campaign.h; borrowed): NULL = the
     * campaign engine's defaults (each customer's own slot, the fatigued suppressed);
     * send_time_best 0 and fatigue off = every strategy on day 0 at 10:00, nobody left out;
     * fatigue cooldown = the fatigued sent on or after their cool-down day. clv_weight is
     * ignored. bundle ("auto" or a product id, as promo campaign --bundle): every strategy's
     * offer, the oracle's too, comes with that product (chosen over the year before day 0). */
    const struct promo_campaign_targeting *targeting;
    /* NULL, or where the optimized row's offers go, in its order, as a campaign file promo
     * simulate reads: customer_id, product_id, discount_pct, send_day, send_hour, and
     * bundle_product_id with a bundle (nothing is written when the row is unavailable). */
    const char *optimized_path;
} promo_compare_params;

promo_compare_params promo_compare_params_default(void);

typedef struct promo_compare_row {
    int available;
    char note[256]; /* why unavailable, or how the selection was made */
    size_t contacts;
    promo_sim_result sim;                   /* simulated figures */
    double cost_per_incremental_conversion; /* (discount + contact cost) / incremental
                                               conversions, NaN when those are <= 0 */
    double expected_profit;                 /* true expected incremental profit of the selection */
    double discount_pct;                    /* the discount offered */
    int targeted;      /* 1: played by the campaign engine's send time and fatigue rules */
    size_t suppressed; /* customers the ranking reached whom fatigue left out */
    size_t cooled;     /* contacts sent after their cool-down (fatigue cooldown) */
} promo_compare_row;

typedef struct promo_compare {
    char product_id[256];
    double discount_pct;
    size_t n_target;               /* N used */
    size_t n_customers;            /* in the world */
    double optimized_discount_pct; /* the optimizer's discount */
    double optimized_model_profit; /* the forecast's expected incremental profit of the
                                      optimized row: the optimum of promo campaign --optimize's
                                      surface over the customers the fatigue rule keeps (NaN
                                      without a model) */
    double oracle_discount_pct;    /* the oracle's */
    int send_time_best;            /* the targeted rows at each customer's own slot */
    promo_fatigue_mode fatigue_mode;
    size_t n_fatigued;  /* customers fatigued in the world (the rule's verdict) */
    size_t n_contacted; /* customers with a contact before day 0 (0: fatigue had nothing to
                           count) */
    size_t n_cooled;    /* fatigue cooldown: customers of the world whose first allowed send
                           day is after day 0 */
    int has_bundle;     /* the targeting asked for a bundle */
    promo_campaign_bundle bundle; /* the one offered ("" when none qualified) */
    promo_compare_row rows[PROMO_STRATEGY_COUNT];
} promo_compare;

/* Errors: PROMO_EINPUT when the workspace is not a generated world (no truth tables),
 * PROMO_EINPUT for an unknown product, PROMO_EUSAGE for bad params, those of the models that
 * are present and fail, those of writing optimized_path, PROMO_ENOMEM. */
int promo_compare_run(promo_store *s, const promo_compare_params *p, promo_compare *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
