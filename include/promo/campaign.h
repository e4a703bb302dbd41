/* promo/campaign.h: campaigns and the campaign file, one contract for its writer and its reader.
 *
 * A campaign offers one product at one discount to chosen customers on a send day and hour.
 * Targeting by propensity (the first strategy of DESIGN.md): score every customer with the
 * saved product model, keep the top N, explain each pick in one line (TreeSHAP, explain.h),
 * and join the customers' name and location for the marketer. Budget-constrained optimisation
 * and uplift-based targeting come with the campaign-optimizer work.
 *
 * The campaign file is a CSV (comma, header line, RFC 4180 quoting) whose columns are
 * promo_campaign_columns below: the writer writes the WRITTEN ones in that order, the reader
 * reads the READ ones by name (any order, other columns ignored), so `promo simulate` accepts
 * what `promo campaign` writes as it is, and hand-written files need only the offer columns:
 *
 *   customer_id,name,location,probability,reason,product_id,discount_pct,send_day,send_hour
 *   CUST0000163,Yasodha Senanayake,Jaffna,0.685,bought Basmati Rice 5kg ...,PROD00004,10,0,10
 *
 * Reading is two steps, so that a malformed file is reported before the world is loaded: the
 * CSV with its column types (promo_campaign_read; csv.h's FILE:LINE:COL messages), then the
 * offers checked against a world (promo_campaign_file_offers): unknown customers and products,
 * discounts outside 0-90, send days outside 0-3650, hours outside 0-23, each reported as
 * `FILE:LINE:COL: column 'NAME': what`, LINE counting the header as line 1.
 *
 * Usage:
 *   promo_campaign_params p = promo_campaign_params_default();
 *   p.product_id = "PROD00001";
 *   promo_campaign *c = NULL;
 *   if (promo_campaign_build(store, &p, 0, &c) || promo_campaign_write(c, "c.csv")) ...;
 *   promo_campaign_free(c);
 *   promo_campaign_file *f = NULL;  promo_offer *o = NULL;
 *   if (promo_campaign_read("c.csv", &f) || promo_campaign_file_offers(f, world, &o)) ...;
 *   promo_simulate(world, o, promo_campaign_file_rows(f), &sp, &res);
 *   promo_free(o); promo_campaign_file_free(f);
 *
 * Thread-safety: the store and the scoring handle are used by one thread at a time; a read
 * file is read-only.
 */
#ifndef PROMO_CAMPAIGN_H
#define PROMO_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include <promo/explain.h>
#include <promo/fatigue.h>
#include <promo/scorer.h>
#include <promo/sendtime.h>
#include <promo/synth.h>
#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

/* The campaign file's columns, in the writer's order. Append-only. */
typedef enum promo_campaign_col {
    PROMO_CAMPAIGN_CUSTOMER_ID = 0,       /* the customer contacted */
    PROMO_CAMPAIGN_NAME = 1,              /* customers.name ("" when unknown) */
    PROMO_CAMPAIGN_LOCATION = 2,          /* customers.location ("" when unknown) */
    PROMO_CAMPAIGN_PROBABILITY = 3,       /* calibrated propensity */
    PROMO_CAMPAIGN_REASON = 4,            /* one-line reason (promo_explain_line) */
    PROMO_CAMPAIGN_PRODUCT_ID = 5,        /* the product offered */
    PROMO_CAMPAIGN_DISCOUNT_PCT = 6,      /* 0..90 */
    PROMO_CAMPAIGN_SEND_DAY = 7,          /* days after the history's end, 0..3650 */
    PROMO_CAMPAIGN_SEND_HOUR = 8,         /* 0..23 */
    PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID = 9, /* optional second product ("" = none) */
    PROMO_CAMPAIGN_HOLDOUT = 10,          /* 1: selected, kept back, not contacted (optional) */
    PROMO_CAMPAIGN_SEND_DATE = 11,        /* the send day as a date, for promo measure */
    PROMO_CAMPAIGN_UPLIFT = 12,           /* the uplift model's effect (OPTIONAL) */
    PROMO_CAMPAIGN_EXPECTED_REVENUE = 13, /* p1 x price x (1 - discount) (OPTIONAL) */
    PROMO_CAMPAIGN_EXPECTED_PROFIT = 14,  /* expected incremental profit (OPTIONAL) */
    PROMO_CAMPAIGN_SEGMENT = 15,          /* the stored segment's persona or number (OPTIONAL) */
    PROMO_CAMPAIGN_COL_COUNT
} promo_campaign_col;

#define PROMO_CAMPAIGN_WRITTEN  1u /* promo_campaign_write writes it */
#define PROMO_CAMPAIGN_READ     2u /* promo_campaign_read reads it */
#define PROMO_CAMPAIGN_REQUIRED 4u /* promo_campaign_read refuses a file without it */
#define PROMO_CAMPAIGN_OPTIONAL                                   \
    8u /* promo_campaign_write writes it when the campaign has it \
          (its array is not NULL), after the WRITTEN ones */

typedef struct promo_campaign_column {
    const char *name;    /* header name */
    promo_col_type type; /* its type in the file */
    unsigned flags;      /* PROMO_CAMPAIGN_WRITTEN | _READ | _REQUIRED */
} promo_campaign_column;

/* The one definition, indexed by promo_campaign_col. */
extern const promo_campaign_column promo_campaign_columns[PROMO_CAMPAIGN_COL_COUNT];

/* The product with the most order lines in the workspace (ties: the first in the
 * transactions' product dictionary), its id into out (n bytes). PROMO_EINPUT when there are no
 * transactions. */
int promo_campaign_best_seller(promo_store *s, char *out /* OUT */, size_t n);

typedef struct promo_campaign_params {
    const char *product_id; /* the product offered (borrowed; required) */
    double discount_pct;    /* offered discount, 0..90 (default 10) */
    size_t n_target;        /* customers to contact (default 50) */
    int32_t send_day;       /* days after the history's end, 0..3650 (default 0) */
    int32_t send_hour;      /* 0..23 (default 10) */
    double holdout_pct;     /* share of the selected customers kept back at random as the
                               control that promo measure compares with, 0..50 (default 10) */
    uint64_t holdout_seed;  /* the holdout's draw (default 1) */
    /* Send time and fatigue (below; borrowed): NULL (the default) = every row at send_day and
     * send_hour, nobody left out. Its clv_weight must be 0 (the propensity ranking has no
     * expected profit to add CLV to). */
    const struct promo_campaign_targeting *targeting;
    /* The profiles of that targeting already built (borrowed; may be NULL: built from the
     * scoring handle's features): a server builds them once per loaded workspace. */
    const struct promo_campaign_profiles *profiles;
} promo_campaign_params;

promo_campaign_params promo_campaign_params_default(void);

/* A targeted campaign: the picks, best first, with the customers' details. */
/* The product offered with the campaign's (--bundle; bundle.c): "" = none. */
/* A product is offered as the bundle ("auto") only when it is in at least this many of the
 * offered product's orders (and its lift is above 1). */
#define PROMO_CAMPAIGN_BUNDLE_MIN_ORDERS 5

typedef struct promo_campaign_bundle {
    char product_id[256];
    size_t orders;     /* orders of the offered product in the year before the cutoff */
    size_t together;   /* of them, holding the bundle product too */
    double confidence; /* together / orders */
    double lift;       /* confidence / the bundle product's share of all orders */
} promo_campaign_bundle;

/* spec "auto": the product most often in the same orders as `product` over the year before
 * as_of (0: all the data), among those in >= 5 of its orders with a lift above 1 (none such:
 * out->product_id ""); else spec names the product (checked against the workspace; the
 * offered product itself is PROMO_EUSAGE) and gets its figures. */
int promo_campaign_bundle_choose(promo_store *s,
                                 const char *product,
                                 const char *spec,
                                 int64_t as_of,
                                 promo_campaign_bundle *out /* OUT */);

typedef struct promo_campaign {
    char product_id[256];         /* the product offered */
    promo_campaign_bundle bundle; /* offered with it (bundle_product_id), "" = none */
    double discount_pct;          /* as in the params */
    int32_t send_day, send_hour;
    size_t n;                   /* customers chosen: min(n_target, customers known) */
    promo_campaign_pick *picks; /* n picks: id, probability, reason (owned) */
    char **name;                /* n customers.name values, "" when unknown (owned) */
    char **location;            /* n customers.location values, "" when unknown (owned) */
    double expected_buyers;     /* sum of the contacted picks' probabilities (the model's
                                   expectation) */
    uint8_t *holdout;           /* n: 1 = kept back, not contacted (owned) */
    size_t n_holdout;           /* picks kept back */
    int64_t send_date;          /* the send day's date (seconds, 00:00) */
    /* Optional columns (NULL: not written; owned): the forecaster's figures per pick
     * (forecast.h) and the customers' stored segment. */
    double *uplift;           /* n: effect tau */
    double *expected_revenue; /* n */
    double *expected_profit;  /* n */
    char **segment;           /* n: "" when the customer has none */
    double *discount_row;     /* n: each row's discount (personalised); NULL: discount_pct */
    /* Send time and fatigue (promo_campaign_schedule, promo_campaign_select with targeting):
     * per-row send day and hour (NULL: send_day / send_hour for every row), and the customers
     * the ranking reached but fatigue left out (suppress) or sent later (cool-down). */
    int32_t *send_day_row;  /* n: days after the cutoff (owned) */
    int32_t *send_hour_row; /* n (owned) */
    int send_time_best;     /* 1: the rows' slots are each customer's own (sendtime.h) */
    size_t n_send_match;    /* rows whose slot is the customer's own, not the population's */
    promo_fatigue_mode fatigue_mode;
    size_t n_fatigued;   /* customers fatigued in the whole workspace */
    size_t n_suppressed; /* of them, left out of this campaign */
    size_t n_cooled;     /* of them, in it but sent after the cool-down */
    size_t n_excluded;   /* rows of excluded: the suppressed, then the cooled */
    size_t n_contacted;  /* customers with a contact (a non-control exposure) before the
                            cutoff: 0 = no contact history, so fatigue could not be judged and
                            was not applied (a retailer without a promotion log) */
    struct promo_campaign_excluded *excluded; /* (owned) */
} promo_campaign;

void promo_campaign_free(promo_campaign *c); /* NULL-safe */

/* The campaign of p for the product, scored and explained by handle h, which is retargeted to
 * "product:<p->product_id>" (its features are reused as they are). Errors: PROMO_EUSAGE for
 * bad params, those of promo_scorer_retarget and promo_scorer_top, PROMO_ENOTFOUND when the
 * workspace has no customers table. *out: new (promo_campaign_free). */
int promo_campaign_select(promo_scorer *h,
                          const promo_campaign_params *p,
                          promo_campaign **out /* OUT */);

/* The same in one call: open a handle for the product as of as_of (0 = after the last
 * transaction), select, free the handle. */
int promo_campaign_build(promo_store *s,
                         const promo_campaign_params *p,
                         int64_t as_of,
                         promo_campaign **out /* OUT */);

/* The campaign of a forecast (forecast.h): its picks in rank order with their probability
 * (p1), uplift, expected revenue and profit, the holdout drawn by the forecast, a reason in
 * words (with and without the offer, the effect, the expected profit), the customers' name and
 * location, and their stored segment (table `segments`: the persona, else the segment number,
 * of the personas method first, then tiers, then any) when the workspace has one. as_of: the
 * forecaster's cutoff (the send date counts from it). *out: new (promo_campaign_free). */
typedef struct promo_forecast promo_forecast;
int promo_campaign_from_forecast(promo_store *s,
                                 const promo_forecast *fc,
                                 int64_t as_of,
                                 int32_t send_day,
                                 int32_t send_hour,
                                 promo_campaign **out /* OUT */);

/* The same for personalised discounts (forecast.h's promo_forecast_personalize): each row
 * with its own discount_pct, no holdout. */
typedef struct promo_personalized promo_personalized;
int promo_campaign_from_personalized(promo_store *s,
                                     const promo_personalized *x,
                                     int64_t as_of,
                                     int32_t send_day,
                                     int32_t send_hour,
                                     promo_campaign **out /* OUT */);

/* ---- Send time, fatigue and CLV weighting --------------------------------------------------
 *
 * The ranking of a campaign says who; these say when and whom to spare:
 *   - send time (sendtime.h): each row at its customer's best weekday and hour, the send date
 *     the next occurrence of that weekday on or after the campaign start (the cutoff +
 *     send_day); the reason ends with "send Saturday 10:00: usually shops on Saturday
 *     mornings";
 *   - fatigue (fatigue.h): the fatigued are left out (their places go to the next customers of
 *     the ranking) or kept and sent after a cool-down; the campaign counts them and lists who
 *     and why (promo_campaign_write_excluded);
 *   - CLV weighting: the forecaster's customers re-ranked by expected profit + clv_weight x CLV
 *     (features.h's Gamma-Gamma CLV over 365 days, 0 when it cannot be fitted), so a weight of 0
 *     keeps the forecaster's order and a large one orders by CLV.
 * The profiles hold what these need per customer, from the features as of the cutoff. */
typedef struct promo_campaign_targeting {
    int send_time_best; /* 1 (default): each customer's own slot; 0: send_day / send_hour */
    promo_sendtime_params sendtime;
    promo_fatigue_params fatigue;
    double clv_weight;  /* >= 0 (default 0) */
    const char *bundle; /* NULL (default): no bundle; "auto" or a product id (bundle.c) */
} promo_campaign_targeting;

promo_campaign_targeting promo_campaign_targeting_default(void);

typedef struct promo_campaign_profiles promo_campaign_profiles;

/* Build the features as of as_of (0 = after the last transaction; the CLV models only when
 * t->clv_weight > 0) and the profiles from them. Errors: the store's and the features', those
 * of promo_sendtime_compute / promo_fatigue_compute, PROMO_EUSAGE (a negative clv_weight).
 * *out: new (promo_campaign_profiles_free). */
int promo_campaign_profiles_open(promo_store *s,
                                 int64_t as_of,
                                 const promo_campaign_targeting *t,
                                 promo_campaign_profiles **out /* OUT */);
/* The same from features already built (borrowed: f must outlive the profiles). */
int promo_campaign_profiles_from_features(const promo_features *f,
                                          const promo_campaign_targeting *t,
                                          promo_campaign_profiles **out /* OUT */);
void promo_campaign_profiles_free(promo_campaign_profiles *pr); /* NULL-safe */
/* Customers fatigued in the whole workspace (0 for NULL). */
size_t promo_campaign_profiles_fatigued(const promo_campaign_profiles *pr);
/* Customers with any contact before the cutoff (0 for NULL): 0 means the workspace has no
 * contact history (no exposures), so the fatigue rule has nothing to count and nobody is
 * fatigued; say so rather than "0 suppressed". */
size_t promo_campaign_profiles_contacted(const promo_campaign_profiles *pr);
/* 1 when the fatigue rule was applied: profiles, a mode other than off, a contact history. */
int promo_campaign_fatigue_applied(const promo_campaign_profiles *pr);
/* A customer's slot, fatigue verdict and CLV (NaN when unknown; any OUT may be NULL); returns 1
 * when the customer is known, else 0 (then the population's slot, no fatigue, CLV NaN). */
int promo_campaign_profile(const promo_campaign_profiles *pr,
                           const char *customer_id,
                           promo_send_slot *slot /* OUT */,
                           promo_fatigue_verdict *verdict /* OUT */,
                           double *clv /* OUT */);

/* 1 if fatigue leaves this customer out (suppress mode, and fatigued); 0 without profiles. */
int promo_campaign_suppressed(const promo_campaign_profiles *pr, const char *customer_id);

/* A customer the ranking reached whom fatigue left out or sent later. */
typedef struct promo_campaign_excluded {
    char customer_id[128];
    double probability;     /* as ranked (p1, or the propensity) */
    double expected_profit; /* NaN for the propensity ranking */
    promo_fatigue_verdict verdict;
    int32_t send_day; /* cool-down: the day sent; -1: left out */
} promo_campaign_excluded;

/* What promo_campaign_refine keeps of a ranking. */
typedef struct promo_campaign_refine_params {
    size_t n_target;       /* customers to keep (0 = every one left) */
    double budget;         /* the longest prefix within it (expected discount + contact cost);
                              INFINITY = none */
    int positive_only;     /* 1: only customers of positive expected profit (the optimum) */
    double holdout_pct;    /* 0..50, drawn as promo_campaign_select draws it */
    uint64_t holdout_seed; /* */
    double interval;       /* level of the figures' profit interval */
} promo_campaign_refine_params;

promo_campaign_refine_params promo_campaign_refine_params_default(void);

/* From a forecast of the whole ranking (a point forecast with n_target 0, no budget, no
 * holdout), the campaign's own forecast: the fatigued left out (SUPPRESS), the rest re-ranked
 * by expected profit + clv_weight x CLV (stable: weight 0 keeps the order), then n_target,
 * budget, positive_only and the holdout as the forecaster applies them, and the figures
 * recomputed as forecast.h defines them. pr NULL: nobody left out, no CLV. *out: new
 * (promo_forecast_free); *excluded: new array of the *n_excluded suppressed customers that were
 * ranked above the last one kept (promo_free). Errors: PROMO_EUSAGE (a clv_weight with a ranking
 * other than profit, bad params), PROMO_ENOMEM. */
int promo_campaign_refine(const promo_campaign_profiles *pr,
                          const promo_forecast *all,
                          const promo_campaign_refine_params *rp,
                          promo_forecast **out /* OUT */,
                          promo_campaign_excluded **excluded /* OUT */,
                          size_t *n_excluded /* OUT */);

/* The same for personalised discounts: the fatigued left out, the rest ordered by expected
 * profit + clv_weight x CLV and cut to max_contacts (0 = no limit), the figures recomputed
 * (price and cost: the product's, promo_forecast.price/cost), the bound kept and the gap to it.
 * Leaving the fatigued out here does not re-spend their budget: allocate without them
 * (promo_personalize_params.exclude, from promo_campaign_suppressed) and this finds none to
 * leave out; run it on an allocation with them to list whom the rule kept out (promo campaign
 * --personalize does both). */
int promo_campaign_refine_personalized(const promo_campaign_profiles *pr,
                                       const promo_personalized *x,
                                       double price,
                                       double cost,
                                       size_t max_contacts,
                                       double interval,
                                       promo_personalized **out /* OUT */,
                                       promo_campaign_excluded **excluded /* OUT */,
                                       size_t *n_excluded /* OUT */);

/* Give c's rows their send day and hour: each customer's own slot (targeting send_time_best)
 * on or after the cutoff + c->send_day, else c->send_day / c->send_hour; in cool-down mode the
 * fatigued no earlier than their cool-down day (listed in c->excluded with that day). The
 * reasons get the send time and why. Takes ownership of excluded (the suppressed, from
 * promo_campaign_refine; may be NULL). pr NULL: send_day / send_hour for every row, no fatigue
 * (what --send-time fixed --fatigue off asks, without building the features). Errors:
 * PROMO_ENOMEM (c is then as before). */
int promo_campaign_schedule(promo_campaign *c,
                            const promo_campaign_profiles *pr,
                            int64_t as_of,
                            promo_campaign_excluded *excluded,
                            size_t n_excluded);

/* The excluded customers as CSV: customer_id, action (suppressed | cooled down), send_day,
 * probability, expected_profit, contacts_30d, response_trend, days_since_contact, reason. */
int promo_campaign_write_excluded(const promo_campaign *c, const char *path);

/* Where a campaign of product_id goes by default: <ws>/out/campaign_<product_id>.csv. */
void promo_campaign_default_path(promo_store *s,
                                 const char *product_id,
                                 char *out /* OUT */,
                                 size_t n);

/* Write c as a campaign file (the WRITTEN columns, one row per pick), atomically (csv.h).
 * Errors: PROMO_EIO naming the file, PROMO_ENOMEM. */
int promo_campaign_write(const promo_campaign *c, const char *path);

/* A campaign file read and typed, not yet checked against a world. */
typedef struct promo_campaign_file promo_campaign_file;

/* Read path's READ columns with their types. Errors: those of promo_csv_read (PROMO_ENOTFOUND
 * for a missing file, PROMO_EIO; PROMO_EINPUT "FILE:1: missing required column ..." or
 * "FILE:LINE:COL: column ...: expected a number, got ..."), PROMO_ENOMEM. *out: new
 * (promo_campaign_file_free). */
int promo_campaign_read(const char *path, promo_campaign_file **out /* OUT */);
void promo_campaign_file_free(promo_campaign_file *f); /* NULL-safe */

/* Rows of the file, and of them the offers actually sent (rows without holdout = 1). */
size_t promo_campaign_file_rows(const promo_campaign_file *f);
size_t promo_campaign_file_contacts(const promo_campaign_file *f);

/* The file's rows as offers in world w, checked row by row; the first bad row is an error
 * PROMO_EINPUT "FILE:LINE:COL: column 'NAME': what" (COL: the column's field in the header).
 * Holdout rows are checked but are not offers: *out is a new array of
 * promo_campaign_file_contacts(f) offers in file order (promo_free). */
int promo_campaign_file_offers(const promo_campaign_file *f,
                               const promo_world *w,
                               promo_offer **out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
