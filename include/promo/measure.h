/* promo/measure.h: what a campaign actually did, measured on the data that came in after it.
 *
 * A campaign file marks a random share of its selected customers as a holdout (column
 * `holdout` = 1: selected, not contacted). Once the period's transactions are ingested, the
 * treated customers' purchases of the offered product in [send date, send date + window) are
 * compared with the holdout's: conversion rates, incremental conversions, incremental revenue
 * and profit, each with a confidence interval (Wald for the difference of rates, Welch for the
 * difference of mean revenue), and a verdict that says when the holdout is too small or the
 * interval too wide to tell. The customers are the same kind (both selected by the same
 * model, split at random), so the difference is the campaign's effect on those it targeted.
 *
 * With log set, the measured campaign joins the workspace's promotion log in one transaction:
 * a promotions row, an exposures row per customer (arm "treatment" or "control") and a
 * responses row per customer (converted, revenue), so uplift models trained afterwards learn
 * from it. Logging the same promotion_id twice is refused.
 *
 * Money: revenue is quantity x unit_price of the offered product's lines in the window; the
 * margin is (price - cost) / price from the products table when both are there, else
 * params.margin; the discount cost assumes every treated buyer redeemed the offer
 * (discount_pct of their revenue in the window); contacts cost params.cost_per_contact each.
 */
#ifndef PROMO_MEASURE_H
#define PROMO_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

typedef struct promo_measure_params {
    const char *campaign_path; /* the campaign file (required) */
    int64_t sent;              /* send time for rows without send_date (0: the file must have
                                  send_date) */
    double window_days;        /* outcome window after the send (14) */
    double margin;             /* gross margin share when products have no cost (0.3) */
    double cost_per_contact;   /* per treated customer (0) */
    double level;              /* interval level (0.95) */
    const char *promotion_id;  /* id in the log (NULL: "measured:<file name>") */
    int log;                   /* 1: append the promotion, exposures and responses */
} promo_measure_params;

promo_measure_params promo_measure_params_default(void);

typedef struct promo_measure_arm {
    size_t n;       /* customers */
    size_t buyers;  /* who bought the offered product in their window */
    double revenue; /* their revenue from it */
    double rate;    /* buyers / n */
    double mean_revenue;
} promo_measure_arm;

typedef enum promo_measure_verdict {
    PROMO_MEASURE_TOO_SMALL = 0, /* fewer than 20 in an arm: nothing can be told */
    PROMO_MEASURE_UNCLEAR = 1,   /* the profit interval holds zero */
    PROMO_MEASURE_GAIN = 2,      /* the whole interval above zero */
    PROMO_MEASURE_LOSS = 3       /* the whole interval below zero */
} promo_measure_verdict;

typedef struct promo_measure {
    promo_measure_arm treated, holdout;
    int64_t first_send, last_end; /* the windows' span */
    int64_t data_end;             /* the last transaction's time */
    int complete;                 /* 1: the data covers every window */
    double level;
    double diff, diff_lo, diff_hi;                    /* rate difference, interval */
    double inc_conversions, inc_conv_lo, inc_conv_hi; /* treated n x difference */
    double inc_revenue, inc_rev_lo, inc_rev_hi;       /* treated n x mean-revenue difference */
    double discount_cost, contact_cost;
    double inc_profit, inc_profit_lo, inc_profit_hi; /* inc revenue x margin - costs */
    double margin;                                   /* the margin used (revenue-weighted) */
    promo_measure_verdict verdict;
    const char *verdict_text; /* a sentence, static */
    char promotion_id[256];
    size_t logged; /* exposures appended (0 without log) */
} promo_measure;

/* Errors: PROMO_EINPUT for a malformed campaign file (FILE:LINE:COL), unknown customers or
 * products, a file without holdout rows or without send dates; PROMO_EUSAGE for bad params
 * or a promotion_id already in the log; the store's; PROMO_ENOMEM. On error nothing is
 * written. */
int promo_measure_run(promo_store *s, const promo_measure_params *p, promo_measure *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
