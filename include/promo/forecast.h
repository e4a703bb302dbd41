/* promo/forecast.h: campaign forecasts and the discount x target-count response surface, from
 * the workspace's uplift model (uplift_score.h), for the campaign optimizer, `promo campaign
 * --optimize` and the JSON API (/api/campaign, /api/optimize).
 *
 * Model. For an offer of product X at discount d (a fraction), the uplift scorer gives every
 * customer i, for each treatment arm a, the outcome without the offer p0_i (the learner's
 * control outcome model) and the effect tau_i; p1_i = p0_i + tau_i is the outcome with it.
 * Each customer is contacted through the arm of largest expected profit at that discount (the
 * arms' contact costs c_a are the mean exposures.cost of their rows). With m1 = price (1 - d) -
 * cost (the margin of a sale with the offer) and m0 = price - cost (without it):
 *   expected profit of i      p1 m1 - p0 m0 - c        (= uplift_score.h's profit: the sure
 *                                                       things' discount is counted)
 *   expected revenue of i     p1 price (1 - d)         (what the contacted customer is expected
 *                                                       to spend on the product)
 *   expected conversions      sum p1
 *   incremental conversions   sum tau
 *   incremental revenue       sum (p1 price (1 - d) - p0 price)
 *   discount cost             sum p1 price d           (the discount given to every buyer)
 *   contact cost              sum c
 *   incremental profit        sum (p1 m1 - p0 m0 - c)
 *   ROI                       incremental profit / (discount cost + contact cost)  (the
 *                             simulator's definition, synth.h); NaN when the costs are 0
 * p1 is clamped to [0, 1] (an effect larger than the room left by p0 is cut; tau = p1 - p0
 * after the cut). A learner without outcome models (the R-learner) has no p0: then p0 = 0 and p1 =
 * tau, so the sure things' discount is not counted and "conversions" are the incremental ones (said
 * in promo_forecast.outcomes = 0). The propensity model is NOT used as a p0 fallback: it predicts
 * a purchase in its own label window, not the no-offer outcome of the uplift log's window, and
 * mixing the two would make p1 - p0 disagree with the effect that ranks the customers.
 *
 * Interval on incremental profit (outcome noise only, not the model's own error): treated
 * buyers Y1_i ~ Bernoulli(p1_i) and the counterfactual buyers Y0_i ~ Bernoulli(p0_i), all
 * independent, so incremental profit = sum (Y1_i m1 - Y0_i m0 - c_i) has mean the expected
 * profit and variance
 *   V = sum_i [ p1_i (1 - p1_i) m1^2 + p0_i (1 - p0_i) m0^2 ]   (p clamped to [0, 1] here)
 * and the interval is mean -/+ z sqrt(V) (normal approximation; z = 1.645 for 90%, 1.960 for
 * 95%, the quantile of the level asked). V only grows with the contacts, so the interval
 * widens with N. Independence of Y1_i and Y0_i is conservative when the two are positively
 * correlated (a sure thing buys in both worlds).
 *
 * Surface. At each discount of a grid (default 0..50 step 1) the customers are sorted by their
 * expected profit at that discount, best first (ties: customer order), and the figures of the
 * best n customers are cumulative sums over that order; the target-count grid has at most
 * max_points values (default 200), ascending, ending at max_target, and always holds the
 * optimum's count. Each discount is sorted once (a radix sort, most significant digit first,
 * into buffers of the call: 34 bytes per customer and 12 MiB per thread) and the discounts run on
 * the handle's threads (each row of cells written by one thread: the same figures at any thread
 * count), the sums in the order of a point forecast's, so that a cell and the point forecast
 * of its (discount, n) agree bit for bit. The optimum is the (discount, n) of
 * the largest expected incremental profit over every discount of the grid and EVERY n <=
 * max_target (within the budget when one is set): at a fixed discount that n is the number of
 * customers with a positive expected profit (fewer under a budget), so the optimum is a cell of
 * the surface and no cell beats it. The customers of promo_surface_params.exclude are no rows:
 * the surface and its optimum are then those of the others.
 *
 * Support: the uplift model learnt the offer's effect from the discounts of its log only (the
 * workspace's promotions: 5-30% in a generated world); outside that range its trees answer with
 * the effect at the nearest edge, so a 0% "offer" would look as effective as a 5% one at no
 * discount cost. The optimum is therefore sought among the grid's discounts inside the log's
 * range [support_lo, support_hi] (promo_forecaster_discount_range) unless extrapolate is set;
 * the cells outside are still computed and shown. When no grid discount is inside, all are used.
 *
 * Anchors: the uplift model sees the discount as one float feature, and XGBoost's trees (the
 * histogram method, which the meta-learners' base models use) split a feature of few distinct
 * values only at those values (a split "x < v_j" between two of them) and at one point past
 * twice the largest. So every customer's scores are the same for all discounts from one log
 * discount v_j up to the next (below the smallest: as at the smallest; from the largest v_m to
 * 2 v_m: as at v_m), and the model is called once per log discount, its "anchor", instead of
 * once per discount asked: a surface over 0..50 in a world whose log holds 5, 10, ..., 30 costs
 * 6 model calls instead of 51, with the same figures bit for bit (tests/test_forecast.c
 * compares every cell with anchors off). Off when the log holds more than 64 distinct
 * discounts and for the uplift tree and forest (their thresholds are their own). The margins,
 * the best arm and the order are still computed at each discount.
 *
 * Caching: the handle keeps, per (product, discount) of a point forecast, every customer's p0,
 * p1, arm and, once a long list needed it, the profit order, least recently used first out when
 * the cache
 * passes its byte limit (promo_forecaster_set_cache_bytes; default 256 MiB), plus the model's
 * scores of the last 16 (product, anchor) pairs (4 bytes per customer for each outcome and
 * effect column: 12 for two arms) and the scorer's last prediction of each arm (uplift_score.h:
 * 4 bytes per customer and arm). A point forecast of N customers is a partial selection over
 * the customers (O(customers + N log N); the profit order when N > customers / 8 or already
 * sorted), and a repeated surface costs O(discounts x customers) without model calls (the
 * scores kept; the surface keeps no per-discount figures: sorting again is cheaper than 21
 * bytes per customer and discount of cache).
 *
 * Honest terms: three corrections from the workspace's own tables, read once at open (never the
 * truth of a generated world), because the model alone made the optimizer send to far too
 * many customers (bench/RESULTS.md, "fbias"):
 *   - economics: a conversion is not one unit at the catalogue price. price and cost above are
 *     those of a conversion: units x the shelf price now and units x the unit cost, where units
 *     is the mean quantity of the product's purchase lines and the shelf price the unit price
 *     of its latest line, both over the 28 days before as_of (fewer than 5 lines: one unit;
 *     none: the products table's price). On the default world the best seller's catalogue
 *     price is 370 against 429.88 on the shelf and 1.59 units a line: its margin per conversion
 *     was forecast at 70 LKR instead of 206; another's shelf price is under its list price, so
 *     a 10% offer sells it at a loss that the list price hid.
 *   - discount: the uplift model's effect is calibrated to one level for the whole log (5-30%
 *     off, forecast.h's Support), and its trees barely see the discount, so the effect at 5%
 *     came out as large as at 30% and the optimizer always took the cheapest. The log's
 *     randomised exposures (treatment against control, not the pooled "targeted" rows; windows
 *     of 30 days closed by as_of; converted = a converted response) give the A/B difference at
 *     each of its discounts; the saturating curve A (1 - exp(-d / S)) through them (weighted by
 *     their precision; S from a grid of 2.5..100 and infinity, a line through the origin, by the
 *     smallest weighted error) gives the effect's shape: every customer's effect is scaled by
 *     r(d) = g(d) / mean g over the log's rows, g(d) = 1 - exp(-d / S), so that the level the
 *     model's calibration fitted over the whole log stays, spread over the discounts as the
 *     A/B tests say (promo_forecaster_effect_factor; r = 1 without a fit: fewer than 3
 *     discounts with 20 rows per arm, no responses, no positive difference). Above the log's
 *     largest discount r is held at its value there; below the smallest the curve goes on to
 *     r(0) = 0 (an offer of nothing moves no one; the Support rule keeps the optimum off it).
 *   - baseline: the model's p0 (its control outcome model, learnt over every promotion of the
 *     log) knows the product only through the offer columns: on a 100,000-customer world it
 *     put the best seller's no-offer buyers at a quarter of the truth, so the discount the
 *     sure things take was a quarter of its cost. p0_i is instead the customer's own rate of
 *     buying the product: k_i lines of it in the 112 days before as_of, shrunk toward the
 *     product's rate over all customers by empirical Bayes (gamma-Poisson: the prior's mean m
 *     the product's lines per customer-day, its shape a by the method of moments from the
 *     counts' spread beyond Poisson, b = a / m days of pseudo-history, at most 1120), as the
 *     chance of a purchase in a campaign's 14 days: 1 - exp(-14 (k_i + a) / (112 + b)). A
 *     product a few customers buy often has a small a: who never bought it gets little. The history
 * ends where the campaign begins, and the year may turn there (a December history before a January
 * campaign: the rate came out 25% high on the default world), so the rate is multiplied by the
 * product's seasonal ratio a year before: its lines in the campaign's 14 days then against its
 * lines per 14 days in the 112 before them, shrunk toward the store's ratio by 5 pseudo-lines, kept
 * in [0.25, 4] (1 when the history does not cover that year-ago window). Every arm's outcome moves
 * with p0 (the model's effect is kept). Learners without outcome models keep p0 = 0.
 * promo_forecaster_set_corrections switches them (both on by default; off gives the figures
 * of the model alone, bit for bit as before). A term is left out (the model's own figure) only
 * when the workspace's tables cannot give it: no such table or column, a ts that is not a
 * timestamp (a table made by other means than promo's ingest); a damaged chunk or dictionary
 * in what it reads fails promo_forecaster_open with the store's PROMO_EINPUT.
 *
 * Usage:
 *   promo_forecaster *f = NULL;
 *   if (promo_forecaster_open(store, 0, 0, &f)) ...;           // loads the uplift model
 *   promo_forecast_request r = promo_forecast_request_default();
 *   r.product_id = "PROD00004"; r.discount_pct = 10; r.n_target = 50;
 *   promo_forecast *fc = NULL;
 *   promo_forecast_point(f, &r, &fc);  // fc->figures.incremental_profit, fc->picks[0..fc->n)
 *   promo_surface_params sp = promo_surface_params_default();
 *   sp.product_id = "PROD00004";
 *   promo_surface *sf = NULL;
 *   promo_forecast_surface(f, &sp, &sf); // sf->profit[i * sf->n_targets + j], sf->optimum
 *   promo_surface_free(sf); promo_forecast_free(fc); promo_forecaster_free(f);
 *
 * Ownership: the handle borrows the store during open only; results are the caller's. Thread-
 * safety: one thread per handle (the server holds its lock around every call). Errors:
 * PROMO_ENOTFOUND when the workspace has no uplift model (message: the command that trains
 * it), PROMO_EUSAGE for bad request fields (the message names the field as the API names it:
 * discount_pct, target, budget, rank_by, interval, discounts, max_target), PROMO_EINPUT for an
 * unknown product or one without a price (the message names product_id), PROMO_ENOMEM.
 */
#ifndef PROMO_FORECAST_H
#define PROMO_FORECAST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;
typedef struct promo_forecaster promo_forecaster;

/* Load the uplift model and every customer's features as of as_of (0 = the day after the last
 * transaction or response); n_threads for features and prediction (0 = all). */
int promo_forecaster_open(promo_store *s,
                          int64_t as_of,
                          int n_threads,
                          promo_forecaster **out /* OUT */);
void promo_forecaster_free(promo_forecaster *f); /* NULL-safe */

int64_t promo_forecaster_as_of(const promo_forecaster *f);
size_t promo_forecaster_n_customers(const promo_forecaster *f);
/* Customer i's id (0 <= i < n_customers), borrowed until the handle is freed; NULL out of
 * range. */
const char *promo_forecaster_customer_id(const promo_forecaster *f, size_t i);
/* The uplift scorer the handle forecasts with (borrowed until the handle is freed): the model's
 * own scores, without a second load of the model and the features. */
struct promo_uplift_scorer *promo_forecaster_scorer(promo_forecaster *f);
/* The discounts of the workspace's promotions log, min and max (0 and 90 when it has none). */
void promo_forecaster_discount_range(const promo_forecaster *f,
                                     double *lo /* OUT */,
                                     double *hi /* OUT */);
/* The cache's byte limit (0 = no caching beyond the call in progress; the kept score sets go
 * too). */
void promo_forecaster_set_cache_bytes(promo_forecaster *f, size_t bytes);
/* Anchors on (the default) or off: off, the model is called at every discount asked (see
 * Anchors above; for checking them). Switching empties the cache. */
void promo_forecaster_set_anchors(promo_forecaster *f, int on);
/* Model calls made by the handle so far (each scores every customer for one offer). */
size_t promo_forecaster_model_calls(const promo_forecaster *f);
/* Passes of an outcome model over every customer so far (uplift_score.h: S and T learners; a
 * T-learner's model call predicts only the arms whose trees tell the offer from the last). */
size_t promo_forecaster_model_passes(const promo_forecaster *f);

/* The corrections of "Honest terms" above (bits). */
#define PROMO_FORECAST_CORRECT_ECONOMICS 1u /* units per purchase at the shelf price now */
#define PROMO_FORECAST_CORRECT_DISCOUNT  2u /* the effect's level by discount, from the log */
#define PROMO_FORECAST_CORRECT_BASELINE  4u /* p0 from the customers' own purchases */
#define PROMO_FORECAST_CORRECT_ALL       7u
/* Switch them (the default: ALL; 0 = the model alone). Switching empties the cache. */
void promo_forecaster_set_corrections(promo_forecaster *f, unsigned flags);
unsigned promo_forecaster_corrections(const promo_forecaster *f);

/* The log's discount response (see Honest terms): the A/B difference of the randomised
 * exposures by discount, as a line on log(discount). */
typedef struct promo_forecast_discount_response {
    int fitted;             /* 0: no fit (the model's effect is used as it is) */
    size_t n_rows;          /* randomised exposures read */
    size_t n_discounts;     /* distinct discounts in the fit */
    double level, level_se; /* the precision-weighted mean A/B difference */
    double amplitude;       /* A of A (1 - exp(-d / S)) */
    double amplitude_se;    /* (given S) */
    double shape;           /* S, percentage points; INFINITY: A d / 100 */
    double mean_curve;      /* the curve's mean over the log's rows (1 - exp(-d / S)) */
    double lo, hi;          /* the discounts of the fit (the factor is held at hi above) */
} promo_forecast_discount_response;

const promo_forecast_discount_response *
promo_forecaster_discount_response(const promo_forecaster *f);
/* r(d): the factor on every customer's effect at discount_pct (1 without a fit or with the
 * correction off). */
double promo_forecaster_effect_factor(const promo_forecaster *f, double discount_pct);
/* A product's units per purchase and shelf price now (1 and NaN when the recent window has no
 * line of it, or with the correction off); returns 1 when the window has them. */
int promo_forecaster_product_economics(const promo_forecaster *f,
                                       const char *product_id,
                                       double *units /* OUT */,
                                       double *price /* OUT */);

/* How a point forecast ranks its customers. Append-only. */
typedef enum promo_forecast_rank {
    PROMO_FORECAST_RANK_PROFIT = 0,  /* expected incremental profit (the default) */
    PROMO_FORECAST_RANK_UPLIFT = 1,  /* the effect tau */
    PROMO_FORECAST_RANK_PROBABILITY, /* p1, the outcome with the offer */
    PROMO_FORECAST_RANK_COUNT
} promo_forecast_rank;

/* "profit", "uplift", "probability" (static); "?" out of range. */
const char *promo_forecast_rank_name(promo_forecast_rank r);
/* The rank of a name; PROMO_EUSAGE "rank_by: ..." for another word. */
int promo_forecast_rank_parse(const char *name, promo_forecast_rank *out /* OUT */);

typedef struct promo_forecast_request {
    const char *product_id; /* the product offered (borrowed; required) */
    double discount_pct;    /* 0..90 (default 10) */
    size_t n_target;        /* customers selected (default 50; 0 = every customer) */
    promo_forecast_rank rank_by;
    double budget;         /* cap on the selection's expected discount cost + contact cost:
                              the longest prefix of the ranking within it; INFINITY = none
                              (the default); must be >= 0 */
    double interval;       /* level of the profit interval, 0.5..0.999 (default 0.90) */
    double holdout_pct;    /* share of the selected kept back at random, not contacted, 0..50
                              (default 0): drawn as campaign.h's holdout (same seed stream), and
                              the figures count the contacted only */
    uint64_t holdout_seed; /* (default 1) */
} promo_forecast_request;

promo_forecast_request promo_forecast_request_default(void);

/* The forecast figures of a set of contacted customers (see the top of this file). */
typedef struct promo_forecast_figures {
    size_t contacts;
    double expected_conversions;
    double incremental_conversions;
    double incremental_revenue;
    double discount_cost;
    double contact_cost;
    double incremental_profit;
    double roi;        /* NaN when discount + contact cost is 0 */
    double profit_lo;  /* the interval on incremental_profit */
    double profit_hi;  /* */
    double interval;   /* its level (0.90, 0.95) */
    double profit_var; /* V above */
} promo_forecast_figures;

/* One selected customer. */
typedef struct promo_forecast_pick {
    uint32_t customer;       /* index in the handle (promo_forecaster_customer_id) */
    const char *customer_id; /* borrowed from the handle */
    double probability;      /* p1: the outcome with the offer */
    double p0;               /* the outcome without it */
    double uplift;           /* tau = p1 - p0 */
    double expected_profit;  /* p1 m1 - p0 m0 - c */
    double expected_revenue; /* p1 price (1 - d) */
    int arm;                 /* the treatment arm (uplift_score.h arm index, >= 1) */
    double contact_cost;     /* of that arm */
    int holdout;             /* 1: kept back, not contacted */
} promo_forecast_pick;

typedef struct promo_forecast {
    char product_id[256];
    double discount_pct;
    double price, cost;             /* of a conversion (Honest terms: units x shelf price,
                                       units x unit cost; cost 0 when unknown) */
    promo_forecast_rank rank_by;    /* as asked */
    size_t n_target;                /* as asked (0 resolved to every customer) */
    double budget;                  /* as asked */
    int budget_bound;               /* 1 when the budget stopped the selection before n_target */
    int outcomes;                   /* 1 when the learner has outcome models (p0 is real) */
    size_t n;                       /* picks (min(n_target, customers), or fewer by budget) */
    promo_forecast_pick *picks;     /* n, in rank order */
    size_t n_holdout;               /* picks kept back */
    promo_forecast_figures figures; /* of the contacted picks */
} promo_forecast;

/* Forecast one campaign. *out: new (promo_forecast_free). */
int promo_forecast_point(promo_forecaster *f,
                         const promo_forecast_request *r,
                         promo_forecast **out /* OUT */);
void promo_forecast_free(promo_forecast *fc); /* NULL-safe */

/* Every customer's figures at one (product, discount), in the handle's customer order (index
 * i = promo_forecaster_customer_id(f, i)): for fairness reports and other whole-population
 * views. *out: new (promo_forecast_values_free). Errors as the point forecast's. */
typedef struct promo_forecast_values {
    size_t n;            /* the handle's customers */
    double discount_pct; /* as asked */
    double *profit;      /* n: expected incremental profit (contacted through its best arm) */
    double *uplift;      /* n: tau = p1 - p0 */
    double *probability; /* n: p1 */
} promo_forecast_values;

int promo_forecast_customer_values(promo_forecaster *f,
                                   const char *product_id,
                                   double discount_pct,
                                   promo_forecast_values **out /* OUT */);
void promo_forecast_values_free(promo_forecast_values *v); /* NULL-safe */

/* The forecast of a given selection: customers[0..n_customers) (handle indices, distinct) at
 * r's product and discount, picks in r's rank order, r's holdout drawn over them; n_target
 * and budget are not applied (n_target reported = n_customers). For a selection re-chosen
 * elsewhere (fairness.h's enforcement). *out: new (promo_forecast_free). */
int promo_forecast_select(promo_forecaster *f,
                          const promo_forecast_request *r,
                          const uint32_t *customers,
                          size_t n_customers,
                          promo_forecast **out /* OUT */);

typedef struct promo_surface_params {
    const char *product_id;  /* required (borrowed) */
    const double *discounts; /* the discount grid, 0..90 each, strictly ascending; NULL =
                                0..50 step 1 */
    size_t n_discounts;      /* <= 91 */
    size_t max_target;       /* the largest count (0 = every customer) */
    size_t max_points;       /* target-count grid points, 2..1000 (default 200) */
    double budget;           /* the optimum's cap on discount + contact cost (INFINITY = none) */
    double interval;         /* level of the optimum's profit interval (default 0.90) */
    int extrapolate;         /* 1: the optimum may be at a discount outside the log's range */
    const uint8_t *exclude;  /* promo_forecaster_n_customers entries, 1 = not a candidate (as
                                promo_personalize_params.exclude: the customers a campaign's
                                fatigue rule leaves out); the excluded are no rows of the
                                surface, so every cell and the optimum are over the others and
                                the count grid ends at their number (max_target 0 or larger:
                                all of them); NULL = none (the default) */
} promo_surface_params;

promo_surface_params promo_surface_params_default(void);

/* The optimum of a surface. */
typedef struct promo_surface_optimum {
    double discount_pct;
    size_t target;                  /* its count */
    size_t discount_index;          /* its cell: discounts[discount_index] */
    size_t target_index;            /* targets[target_index] */
    promo_forecast_figures figures; /* its forecast, interval included */
} promo_surface_optimum;

typedef struct promo_surface {
    char product_id[256];
    double price, cost;
    size_t n_customers;  /* in the handle */
    size_t n_candidates; /* those not excluded (= n_customers without exclude) */
    size_t n_discounts, n_targets;
    double *discounts; /* n_discounts, ascending */
    size_t *targets;   /* n_targets, ascending, the last = max_target */
    /* n_discounts x n_targets, row-major by discount: [i * n_targets + j] is the best
     * targets[j] customers at discounts[i]. */
    double *profit;                  /* expected incremental profit */
    double *revenue;                 /* incremental revenue */
    double *conversions;             /* expected conversions */
    double *incremental_conversions; /* */
    double *roi;                     /* NaN where the costs are 0 */
    double *spend;                   /* discount cost + contact cost */
    int outcomes;                    /* as promo_forecast.outcomes */
    double support_lo, support_hi;   /* the log's discount range the optimum was sought in
                                        (0 and 90 with extrapolate) */
    promo_surface_optimum optimum;
} promo_surface;

/* The response surface of a product. *out: new (promo_surface_free). */
int promo_forecast_surface(promo_forecaster *f,
                           const promo_surface_params *p,
                           promo_surface **out /* OUT */);
void promo_surface_free(promo_surface *sf); /* NULL-safe */

/* ---- Personalised discounts under a budget ----------------------------------------------
 *
 * Each customer gets one discount of a ladder (default 5, 10, 15, 20, 25%) or no offer, so as to
 * maximise the total expected incremental profit with the total expected spend (discount cost
 * + contact cost) within the budget and at most max_contacts contacts: a multiple-choice
 * knapsack. Lagrangian relaxation of the budget: for lambda >= 0 every customer takes the rung k
 * of largest profit_k - lambda spend_k when positive, and
 *   L(lambda) = sum_i max(0, max_k (profit_ik - lambda spend_ik)) + lambda budget
 * bounds the optimum from above for every lambda >= 0 (the contact limit relaxed too). Bisection
 * finds the smallest lambda whose choice fits the budget (its spend only falls as lambda
 * grows); a greedy pass then spends what is left on the upgrades of largest marginal profit per
 * marginal spend (a new customer, or a rung up) while they fit; over max_contacts, the
 * customers of smallest profit are dropped. Reported: the allocation's expected profit, the
 * smallest bound L found and the gap between them (an upper bound on how far from optimal the
 * allocation is). Without a budget every customer takes the rung of largest positive profit and
 * the gap is 0. The ladder is used as given: rungs outside the log's discounts are the model's
 * extrapolation (see Support above). */
typedef struct promo_personalize_params {
    const char *product_id; /* required (borrowed) */
    const double *ladder;   /* discounts offered, 0..90 each, strictly ascending; NULL = 5..25
                               step 5 */
    size_t n_ladder;        /* 1..20 */
    double budget;          /* cap on expected discount + contact cost; INFINITY = none */
    size_t max_contacts;    /* 0 = no limit */
    double interval;        /* level of the profit interval (default 0.90) */
    const uint8_t *exclude; /* promo_forecaster_n_customers entries, 1 = not a candidate (the
                               customers a campaign's fatigue rule leaves out, so that their
                               budget goes to the next best); NULL = none (the default) */
} promo_personalize_params;

promo_personalize_params promo_personalize_params_default(void);

typedef struct promo_personalized {
    char product_id[256];
    size_t n;                       /* customers offered */
    promo_forecast_pick *picks;     /* n, by expected profit, best first */
    double *discount_pct;           /* n: each pick's discount */
    promo_forecast_figures figures; /* of the allocation (discount cost at each one's rung) */
    double budget;                  /* as asked */
    double upper_bound;             /* the smallest Lagrangian bound found */
    double gap;                     /* upper_bound - figures.incremental_profit (>= 0) */
    double lambda;                  /* the multiplier of the allocation (0 without a budget) */
    size_t n_by_rung[20];           /* customers at each rung of the ladder */
} promo_personalized;

/* Allocate personalised discounts. *out: new (promo_personalized_free). Errors as the point
 * forecast's (fields: product_id, ladder, budget, interval). */
int promo_forecast_personalize(promo_forecaster *f,
                               const promo_personalize_params *p,
                               promo_personalized **out /* OUT */);
void promo_personalized_free(promo_personalized *x); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
