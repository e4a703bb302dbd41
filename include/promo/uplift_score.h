/* promo/uplift_score.h: scoring customers with the workspace's uplift model
 * (DIR/models/uplift.bin, trained by `promo train --model uplift`, report_uplift.h).
 *
 * A handle loads the model and computes every customer's features as of a cutoff once; then
 *   - scores (promo_uplift_scorer_score): per customer the effect of every treatment arm
 *     against control for one offer (a product or category target and a discount), the
 *     outcome under control and each arm when the learner has outcome models, the expected
 *     incremental profit of each arm and the best arm under costs;
 *   - a campaign (promo_uplift_campaign): the n customers with the largest effect, written as a
 *     campaign file (campaign.h's written columns plus `uplift` and `expected_profit`), which
 *     `promo simulate` reads as it is;
 *   - an explanation (promo_uplift_scorer_explain) of one customer's effect.
 *
 * The offer: the model was trained with four offer columns (uplift_ws.h); scoring fills them
 * for the target: offer_discount_pct = the discount (NaN: the median of the training log),
 * offer_coupon_value NaN, offer_cat_share = the customer's share of the target's category,
 * offer_category_level 0 for a product, 1 for a category ("any": both NaN).
 *
 * Profit of arm a for one customer (price and cost of the target product from the products
 * table; discount d as a fraction; contact cost = the mean exposures.cost of the arm's rows):
 *   with outcome models   tau_a (price - cost) - (mu_0 + tau_a) price d - contact_a
 *                         = p1 (price (1 - d) - cost) - p0 (price - cost) - contact_a with
 *                         p0 = mu_0 (predicted outcome without the offer) and p1 = p0 + tau_a
 *                         (the learner's own effect: for S and T tau_a = mu_a - mu_0; X and DR
 *                         have their own): incremental margin, the discount given to every
 *                         buyer with the offer, the sure things' included (the simulator's
 *                         incremental_profit)
 *   without (R-learner)   tau_a (price (1 - d) - cost) - contact_a (the discount given to sure
 *                         things is not counted)
 * Without a price (a category or "any" target) the profit is tau_a - contact_a in outcome
 * units. best_arm is the arm with the largest profit, 0 (control: do not contact) when none is
 * positive.
 *
 * Explanation (what-if attribution, model-agnostic, the same for every learner): for each
 * feature j, the customer's effect minus the mean effect over R reference customers' values of
 * feature j put in its place (every other feature kept): how much of the customer's effect
 * this value explains against typical values. It is not additive (the contributions need not
 * sum to the effect minus the average effect) and it reads the model, not the world.
 *
 * Ownership: the handle borrows the store during open only; results are the caller's
 * (promo_uplift_scores_free, promo_uplift_explanation_free). Thread-safety: one thread per
 * handle. Errors: PROMO_ENOTFOUND when the workspace has no uplift model ("run promo train
 * --model uplift"), those of uplift_io.h for a damaged file, PROMO_EINPUT for an unknown
 * target or customer, PROMO_ENOMEM.
 */
#ifndef PROMO_UPLIFT_SCORE_H
#define PROMO_UPLIFT_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include <promo/uplift.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;
typedef struct promo_uplift_scorer promo_uplift_scorer;

/* Load <ws>/models/uplift.bin and the features of every customer as of as_of (0 = the day after
 * the last transaction or response). n_threads: feature computation (0 = all). */
int promo_uplift_scorer_open(promo_store *s,
                             int64_t as_of,
                             int n_threads,
                             promo_uplift_scorer **out /* OUT */);
void promo_uplift_scorer_free(promo_uplift_scorer *h); /* NULL-safe */

/* The same with parameters. names = 0: the customers table (1M rows read from SQLite: a tenth
 * of a million-customer score) is not read when the stored features are current, since only
 * promo_uplift_campaign's file (name, location) needs it; such a handle refuses a campaign
 * (PROMO_EUSAGE). promo_uplift_scorer_open is names = 1. */
typedef struct promo_uplift_scorer_params {
    int64_t as_of; /* 0: the default cutoff */
    int n_threads; /* 0: all */
    int names;     /* 1: read the customers' names (a campaign can be written) */
} promo_uplift_scorer_params;
int promo_uplift_scorer_open_params(promo_store *s,
                                    const promo_uplift_scorer_params *p,
                                    promo_uplift_scorer **out /* OUT */);

int64_t promo_uplift_scorer_as_of(const promo_uplift_scorer *h);
size_t promo_uplift_scorer_n_customers(const promo_uplift_scorer *h);
int promo_uplift_scorer_n_arms(const promo_uplift_scorer *h);
/* Arm a's name ("control" is 0), borrowed; NULL out of range. */
const char *promo_uplift_scorer_arm_name(const promo_uplift_scorer *h, int a);
promo_uplift_learner promo_uplift_scorer_learner(const promo_uplift_scorer *h);

/* T-learner: each arm's outcome model is predicted once per offer it tells apart (its trees'
 * thresholds on the discount column: two discounts between the same two thresholds take every
 * path alike), the last prediction kept per arm (4 bytes per customer and arm); the scores are
 * bit for bit those of predicting every arm at every offer. on = 0: predict every arm at every
 * offer (the straightforward path; default 1). */
void promo_uplift_scorer_set_reuse(promo_uplift_scorer *h, int on);
/* Drop the kept predictions (their memory back; the next score predicts every arm). */
void promo_uplift_scorer_forget(promo_uplift_scorer *h);
/* Outcome-model passes over every customer so far (S and T: one per arm predicted). */
size_t promo_uplift_scorer_predictions(const promo_uplift_scorer *h);

/* One offer. */
typedef struct promo_uplift_offer {
    const char *target;  /* "product:ID", "category:NAME" or "any" */
    double discount_pct; /* 0..90; NaN = the training log's median */
} promo_uplift_offer;

typedef struct promo_uplift_scores {
    size_t n;              /* customers */
    int n_arms;            /* control included */
    const char **customer; /* n ids, borrowed from the handle */
    float *effect;         /* n x (n_arms - 1): effect of arm a in column a - 1, calibrated:
                              effect_shift + effect_scale x the model's raw effect (the stored
                              calibration, report_uplift.h; 0 and 1 for older model files) */
    float *outcome;        /* n x n_arms predicted outcome per arm, or NULL (R-learner) */
    double *profit;        /* n x n_arms expected incremental profit (column 0: 0) */
    int32_t *best_arm;     /* n: the arm with the largest positive profit, else 0 */
    double price, cost;    /* of the target product (NaN when not a product) */
    double discount_pct;   /* the discount scored */
    double *contact_cost;  /* n_arms */
    int64_t as_of;
} promo_uplift_scores;

int promo_uplift_scorer_score(promo_uplift_scorer *h,
                              const promo_uplift_offer *o,
                              promo_uplift_scores **out /* OUT */);
void promo_uplift_scores_free(promo_uplift_scores *sc); /* NULL-safe */

/* One feature's part in a customer's effect. */
typedef struct promo_uplift_reason {
    char feature[96];    /* column name */
    double value;        /* the customer's value (NaN = missing) */
    double typical;      /* median of the reference customers' values (NaN if all missing) */
    double contribution; /* effect - mean effect with reference values (outcome units) */
} promo_uplift_reason;

typedef struct promo_uplift_explanation {
    char customer[128];
    int arm;            /* the arm explained (the one with the largest effect) */
    double effect;      /* its effect */
    double p_treated;   /* predicted outcome with that arm (NaN without outcome models) */
    double p_control;   /* without (NaN without outcome models) */
    double mean_effect; /* the arm's mean effect over all customers */
    size_t rank;        /* 1-based rank of the customer's effect among all customers */
    size_t n_customers;
    size_t n_reference; /* reference customers of the attribution */
    size_t n;           /* reasons, by |contribution| descending */
    promo_uplift_reason *reasons;
} promo_uplift_explanation;

/* Explain customer_id's effect for offer o with the `top` largest contributions. */
int promo_uplift_scorer_explain(promo_uplift_scorer *h,
                                const promo_uplift_offer *o,
                                const char *customer_id,
                                size_t top,
                                promo_uplift_explanation *out /* OUT */);
void promo_uplift_explanation_free(promo_uplift_explanation *e); /* NULL-safe */

/* One sentence for an explanation (into buf, cut to n bytes). */
void promo_uplift_explain_line(const promo_uplift_explanation *e, char *buf /* OUT */, size_t n);

/* A campaign ranked by uplift: the n_target customers with the largest effect of the best
 * treatment arm (ties: customer order), for product_id at discount_pct, written to path as a
 * campaign file. With by_profit: ranked by the expected incremental profit of their best arm
 * instead, and only customers whose expected profit is positive (so possibly fewer than
 * n_target, or none). *n_written: rows written; expected_incremental (may be NULL): the sum of
 * their effects (the model's expected incremental conversions). */
typedef struct promo_uplift_campaign_params {
    const char *product_id;
    double discount_pct;
    size_t n_target;
    int32_t send_day, send_hour;
    int by_profit; /* 0: rank by effect; 1: by expected profit, positive only */
} promo_uplift_campaign_params;

int promo_uplift_campaign(promo_uplift_scorer *h,
                          const promo_uplift_campaign_params *p,
                          const char *path,
                          size_t *n_written /* OUT */,
                          double *expected_incremental /* OUT, may be NULL */);

#ifdef __cplusplus
}
#endif
#endif
