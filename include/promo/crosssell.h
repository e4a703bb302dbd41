/* promo/crosssell.h: cross-sell campaigns from association rules.
 *
 * For a product X, mine the workspace's orders (as of a date) for the rules {A, ...} => {X}
 * (assoc.h, only the rules predicting X), then target the customers who bought a rule's
 * left-hand side but never X, each with the rule that fits them best (highest confidence,
 * then lift), and X offered with the rule's most bought antecedent as a bundle. The result
 * is a campaign file (campaign.h's columns, so `promo simulate` reads it; `probability` holds
 * the rule's confidence, P(X in the basket | the antecedents in it)) with the rule itself in
 * three more columns: antecedent, confidence, lift.
 *
 * Usage:
 *   promo_crosssell_params p = promo_crosssell_params_default();  p.product_id = "PROD00042";
 *   promo_crosssell *c = NULL;
 *   if (promo_crosssell_build(store, &p, &c) || promo_crosssell_write(c, path)) ...;
 *   promo_crosssell_free(c);
 */
#ifndef PROMO_CROSSSELL_H
#define PROMO_CROSSSELL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

typedef struct promo_crosssell_params {
    const char *product_id; /* X, the consequent (borrowed; required) */
    int64_t as_of;          /* orders before it (0 = all) */
    double min_support;     /* of a rule's itemset, fraction of orders (0.0005) */
    double min_confidence;  /* (0.05) */
    double min_lift;        /* (1.5): a rule must make X clearly more likely than usual */
    int max_len;            /* items in a rule, antecedents + X (3) */
    double discount_pct;    /* bundle discount, 0..90 (10) */
    size_t n_target;        /* customers to contact, 0 = every one a rule fits (0) */
    int32_t send_day;       /* days after the history's end, 0..3650 (0) */
    int32_t send_hour;      /* 0..23 (10) */
    int n_threads;          /* 0 = all cores */
} promo_crosssell_params;

promo_crosssell_params promo_crosssell_params_default(void);

/* One rule predicting X, for the report. */
typedef struct promo_crosssell_rule {
    char *antecedent; /* product ids joined by '+' (owned) */
    double support, confidence, lift;
    uint64_t count;   /* orders holding the antecedents and X */
    size_t customers; /* customers targeted through this rule (it is their best fit) */
    size_t fits;      /* customers who bought the antecedents but never X (>= customers);
                         0: everyone who bought them bought X too, the rule reaches no one */
} promo_crosssell_rule;

typedef struct promo_crosssell {
    char product_id[256];
    size_t n_orders;   /* baskets mined */
    uint64_t x_orders; /* of them holding X */
    size_t n_rules;
    promo_crosssell_rule *rules; /* by lift, descending */
    size_t n_matched;            /* customers some rule fits who never bought X */
    size_t n_buyers;             /* customers left out because they already bought X */
    promo_table *file;           /* the campaign file's rows, best first (owned) */
} promo_crosssell;

void promo_crosssell_free(promo_crosssell *c); /* NULL-safe */

/* Errors: PROMO_EUSAGE for bad params (and those of promo_assoc_mine), PROMO_ENOTFOUND when X
 * was never bought before as_of, the store's, PROMO_ENOMEM. No rule is not an error: n_rules
 * is 0 and the file is empty. */
int promo_crosssell_build(promo_store *s,
                          const promo_crosssell_params *p,
                          promo_crosssell **out /* OUT */);

/* <ws>/out/crosssell_<product_id>.csv */
void promo_crosssell_default_path(promo_store *s,
                                  const char *product_id,
                                  char *out /* OUT */,
                                  size_t n);

/* The campaign file, atomically (csv.h). */
int promo_crosssell_write(const promo_crosssell *c, const char *path);

#ifdef __cplusplus
}
#endif
#endif
