/* promo/assoc.h: frequent itemsets and association rules from baskets, by FP-growth.
 *
 * A basket is a set of items (an order's products, a receipt's categories). The miner finds
 * every itemset bought together in at least min_support of the baskets, then the rules
 * {a, b} => {c} whose confidence P(c | a, b) reaches min_confidence. Conventions follow the
 * arules package (R), the reference users compare with: support is a fraction of baskets,
 * a rule has exactly one item on its right-hand side and at least one on its left, an
 * itemset has at most max_len items (arules' maxlen, default 10). Rules also carry
 * lift = confidence / support(rhs) and conviction = (1 - support(rhs)) / (1 - confidence)
 * (INFINITY for a rule that always holds).
 *
 * Memory is bounded: the FP-tree holds each basket's frequent items once, the conditional
 * trees of one recursion path are at most max_len deep, and the itemsets found are counted
 * against max_itemsets. Where a low support would make the answer itself explode (the known
 * failure of popular Python miners, which materialise candidate sets), mining stops with
 * PROMO_EUSAGE and a message naming the limit, instead of exhausting memory.
 * With rhs_only set, only the rules predicting that item are mined: the conditional tree of
 * that one item, which is what a cross-sell campaign needs and costs a fraction of the whole.
 *
 * Usage:
 *   promo_baskets b = {.n = 3, .ptr = ptr, .item = items, .n_items = 5};
 *   promo_assoc_params p = promo_assoc_params_default();  p.min_support = 0.01;
 *   promo_assoc *a = NULL;
 *   if (promo_assoc_mine(&p, &b, &a)) fprintf(stderr, "%s\n", promo_last_error());
 *   for (size_t r = 0; r < promo_assoc_n_rules(a); r++) {
 *       const promo_assoc_rule *x = promo_assoc_rule_at(a, r);
 *       ... promo_assoc_rule_lhs(a, r) has x->lhs_len items; x->rhs is the consequent ...
 *   }
 *   promo_assoc_free(a);
 *
 * Results do not depend on the thread count: itemsets and rules come out in a canonical
 * order (rules by lift, then confidence, then support, descending; ties by items).
 */
#ifndef PROMO_ASSOC_H
#define PROMO_ASSOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Baskets in CSR form, borrowed: basket i holds item[ptr[i] .. ptr[i+1]), each < n_items.
 * An item repeated within a basket counts once. */
typedef struct promo_baskets {
    size_t n;
    const uint64_t *ptr; /* n + 1 */
    const uint32_t *item;
    uint32_t n_items;
} promo_baskets;

typedef struct promo_assoc_params {
    double min_support;    /* fraction of baskets, (0, 1] (0.001) */
    double min_confidence; /* [0, 1] (0.8) */
    double min_lift;       /* rules below are dropped (0: none) */
    int max_len;           /* items per itemset, >= 1 (10, arules' maxlen) */
    size_t max_itemsets;   /* frequent itemsets allowed before mining stops (10,000,000: about
                              0.5 GB with their rules) */
    int64_t rhs_only;      /* >= 0: mine only the rules whose rhs is this item (-1: all) */
    int n_threads;         /* 0 = all cores */
} promo_assoc_params;

promo_assoc_params promo_assoc_params_default(void);

typedef struct promo_assoc_rule {
    size_t lhs_off;    /* into the rule items: promo_assoc_rule_lhs */
    uint32_t lhs_len;  /* >= 1 */
    uint32_t rhs;      /* the consequent item */
    uint64_t count;    /* baskets holding lhs and rhs */
    double support;    /* count / baskets */
    double coverage;   /* support of lhs */
    double confidence; /* count / baskets holding lhs */
    double lift;
    double conviction; /* INFINITY when confidence is 1 */
} promo_assoc_rule;

typedef struct promo_assoc promo_assoc;

/* Mine b. Errors: PROMO_EUSAGE for parameters out of range, an item id >= n_items or more
 * frequent itemsets than max_itemsets (the message gives the support reached and what to
 * raise); PROMO_ENOMEM. */
int promo_assoc_mine(const promo_assoc_params *p,
                     const promo_baskets *b,
                     promo_assoc **out /* OUT */);
void promo_assoc_free(promo_assoc *a); /* NULL-safe */

size_t promo_assoc_n_baskets(const promo_assoc *a);
/* Baskets holding item i (every item of the input, frequent or not). */
uint64_t promo_assoc_item_count(const promo_assoc *a, uint32_t item);

/* Frequent itemsets (all of them, or, with rhs_only, those holding that item), items
 * ascending, ordered by size then items. */
size_t promo_assoc_n_itemsets(const promo_assoc *a);
const uint32_t *promo_assoc_itemset(const promo_assoc *a,
                                    size_t k,
                                    uint32_t *len /* OUT */,
                                    uint64_t *count /* OUT */);

size_t promo_assoc_n_rules(const promo_assoc *a);
const promo_assoc_rule *promo_assoc_rule_at(const promo_assoc *a, size_t r);
const uint32_t *promo_assoc_rule_lhs(const promo_assoc *a, size_t r); /* lhs_len, ascending */

#ifdef __cplusplus
}
#endif
#endif
