/* promo/explain.h: readable reasons for a propensity score, and the top customers for a target.
 *
 * The propensity model's TreeSHAP contributions (propensity.h) say which features pushed a
 * customer's log-odds up; this module turns the strongest positive ones into sentences a
 * marketer reads ("bought Bread 6 times in the last 90 days", "usually shops on Saturday
 * mornings"), using the customer's own feature values. Features without a template get a
 * plain "feature = value" line, so nothing is hidden.
 *
 * Usage (the demo's campaign file):
 *   promo_campaign_pick *picks = NULL; size_t n = 0;
 *   if (promo_explain_top_customers(store, "product:PROD00001", 0, 50, &picks, &n)) ...;
 *   for (size_t i = 0; i < n; i++)
 *       printf("%s,%.4f,%s\n", picks[i].customer_id, picks[i].probability, picks[i].reason);
 *   promo_free(picks);
 *
 * Thread-safety: promo_explain_reasons is pure; the store functions follow store.h.
 */
#ifndef PROMO_EXPLAIN_H
#define PROMO_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include <promo/propensity.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One reason. */
typedef struct promo_reason {
    char text[256];      /* the sentence */
    char feature[64];    /* the feature behind it: for merged windows, the one quoted */
    double contribution; /* its TreeSHAP contribution, log-odds (> 0: raises the score) */
} promo_reason;

/* The up-to-max strongest positive contributions of e as sentences, strongest first;
 * features that say the same thing (day-of-week and hour profile columns, windows of one
 * count) are merged into one sentence. out: caller's max entries; *n_out gets the count
 * (0 when nothing raised the score). Errors: PROMO_EUSAGE for NULL arguments. */
int promo_explain_reasons(const promo_prop_explanation *e,
                          size_t max,
                          promo_reason *out /* OUT */,
                          size_t *n_out /* OUT */);

/* The up-to-max strongest negative contributions (what lowers the score), strongest first,
 * grouped as above; contribution < 0. */
int promo_explain_lowering(const promo_prop_explanation *e,
                           size_t max,
                           promo_reason *out /* OUT */,
                           size_t *n_out /* OUT */);

/* The sentence of one feature at a value for e's customer and target (as the reasons word
 * it; grouped features read their siblings from e). Every feature name a propensity model
 * uses has one in plain words with units; an unknown name gives "their NAME". */
void promo_explain_sentence(const promo_prop_explanation *e,
                            const char *feature,
                            float value,
                            char *out /* OUT */,
                            size_t n);

/* One line: the top two personal reasons (the item's own popularity, price and buyers, the
 * same for every customer, left out) joined by "; " (or "no strong signal"), into buf. */
void promo_explain_line(const promo_prop_explanation *e, char *buf, size_t n);

/* A campaign candidate. */
typedef struct promo_campaign_pick {
    char customer_id[128];
    double probability; /* calibrated propensity */
    char reason[512];   /* promo_explain_line */
} promo_campaign_pick;

/* The k customers with the highest propensity for target at as_of (0 = after the last
 * transaction), with a one-line reason each: one scoring pass over every customer, then
 * TreeSHAP for the k chosen. Ties keep the customers' table order. One call opens and frees a
 * scoring handle (promo/scorer.h: promo_scorer_top ranks many times on one load). *out: new
 * array of *n picks (n = min(k, customers)), promo_free. Errors: as promo_propensity_score. */
int promo_explain_top_customers(promo_store *s,
                                const char *target,
                                int64_t as_of,
                                size_t k,
                                promo_campaign_pick **out /* OUT */,
                                size_t *n /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
