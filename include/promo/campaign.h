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
#include <promo/scorer.h>
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
} promo_campaign_params;

promo_campaign_params promo_campaign_params_default(void);

/* A targeted campaign: the picks, best first, with the customers' details. */
typedef struct promo_campaign {
    char product_id[256]; /* the product offered */
    double discount_pct;  /* as in the params */
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
