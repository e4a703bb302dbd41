/* promo/fairness.h: who a campaign selects, by protected group, and a selection that holds a
 * minimum disparate-impact ratio at the least profit cost (`promo campaign --fairness`,
 * `--fair-attr A --fair-min-ratio R`).
 *
 * Groups. A protected attribute of the customers table splits the candidates into groups:
 *   gender    the column's values as they are ("F", "M", ...);
 *   age       bands <25, 25-34, 35-44, 45-54, 55-64, 65+ of the numeric age column;
 *   location  the column's values (cities).
 * A candidate whose value is missing (null, no customers row, an age that is not a number)
 * is in no group: counted in `unknown` and left out of the ratio, the difference and the
 * enforcement. A workspace whose customers table lacks the column, or has no value in it
 * (a retailer that does not record gender), has the attribute "not available":
 * promo_fair_groups.available = 0, every report of it empty.
 *
 * Report, per group g of population n_g (candidates of the group) with s_g selected:
 *   selection rate      r_g = s_g / n_g
 *   expected benefit    mean expected incremental profit of g's selected (and their mean
 *                       uplift, the model's effect), NaN when none is selected
 *   opportunity         o_g = (selected and qualified in g) / (qualified in g), NaN when g has
 *                       no qualified candidate. Qualified = the caller's `qualified` flags (true
 *                       responders where outcomes are known), else "predicted to respond to the
 *                       offer": uplift > 0 (the effect raises the chance of a purchase).
 * and over the groups of population >= min_group (the "rated" groups):
 *   disparate-impact ratio       DI = min_g r_g / max_g r_g; NaN when no rated group has a
 *                                selected member (max 0) or fewer than two groups are rated.
 *                                The four-fifths rule passes when DI >= 0.8.
 *   equal-opportunity difference EO = max_g o_g - min_g o_g over the rated groups with at least
 *                                one qualified candidate (0 = equal chances for the deserving
 *                                of every group); NaN with fewer than two such groups.
 *
 * Enforcement (promo_fairness_enforce): a selection of the same size k whose DI on one
 * attribute is >= min_ratio, of the largest total expected profit. Candidates outside the rated
 * groups (unknown, small groups) may be selected freely. Methods:
 *   exact   for each candidate minimum rate L = s / n_g (every group g, s = 1..n_g), each rated
 *           group's count is bounded to [ceil(L n_g), floor(L n_g / min_ratio)]; the best
 *           selection within those bounds takes each group's lower bound from its most
 *           profitable members and fills the rest with the most profitable of what the bounds
 *           still allow (optimal: every group's profit is concave in its count). The best L
 *           is the optimum, since the optimum's own minimum rate is one of the candidates.
 *           O(n x sum n_g): small selections.
 *   greedy  while DI < min_ratio: the lowest-profit selected member of the group of largest
 *           rate is swapped for the highest-profit unselected member of the group of smallest
 *           rate. Not always optimal; fast.
 *   auto    exact when n x sum n_g <= 2e7, else greedy.
 * Cost = profit before - profit after: >= 0 when the selection came in as the top k by
 * expected profit (the profit ranking and the optimizer's), since the result is then a
 * constrained version of the best; may be negative after another ranking. A selection that
 * already holds the ratio is kept as it is (cost 0), and so is one with nobody selected or with
 * fewer than two rated groups (nothing to compare); with two or more, a selection that takes
 * nobody from the rated groups has no ratio and does not hold it. The ratio cannot always be
 * reached with k selected (k = 1 and two groups): PROMO_EINPUT, the message says why.
 *
 * Ownership: results are the caller's (the _free functions, NULL-safe). Errors: PROMO_EUSAGE
 * for a bad attribute name or ratio, PROMO_EINPUT as above, PROMO_ENOMEM.
 */
#ifndef PROMO_FAIRNESS_H
#define PROMO_FAIRNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

typedef enum promo_fair_attr {
    PROMO_FAIR_GENDER = 0,
    PROMO_FAIR_AGE = 1,
    PROMO_FAIR_LOCATION = 2,
    PROMO_FAIR_ATTR_COUNT
} promo_fair_attr;

/* "gender", "age", "location" (static); "?" out of range. */
const char *promo_fair_attr_name(promo_fair_attr a);
/* PROMO_EUSAGE "--fair-attr: ..." for another word. */
int promo_fair_attr_parse(const char *name, promo_fair_attr *out /* OUT */);

#define PROMO_FAIR_NONE UINT32_MAX /* a candidate without a value */

/* The groups of one attribute over a list of candidates. */
typedef struct promo_fair_groups {
    promo_fair_attr attr;
    int available;   /* 0: the workspace does not record the attribute */
    size_t n;        /* candidates */
    uint32_t *group; /* n: each one's group, PROMO_FAIR_NONE when missing */
    size_t n_groups; /* groups (age: the 6 bands, in age order; others by first appearance in
                        the customers table) */
    char **names;    /* n_groups */
} promo_fair_groups;

/* The groups of ids[0..n) from the store's customers table. */
int promo_fair_groups_load(promo_store *s,
                           promo_fair_attr a,
                           const char *const *ids,
                           size_t n,
                           promo_fair_groups **out /* OUT */);
/* The same from values in memory (tests, other sources): values[i] the attribute's text
 * (NULL = missing; age: a number as text). */
int promo_fair_groups_from_values(promo_fair_attr a,
                                  const char *const *values,
                                  size_t n,
                                  promo_fair_groups **out /* OUT */);
void promo_fair_groups_free(promo_fair_groups *g);
/* The age band of an age (0..5), -1 for NaN or a negative age. */
int promo_fair_age_band(double age);

/* The candidates and their selection. */
typedef struct promo_fair_input {
    size_t n;                 /* candidates */
    const double *profit;     /* n: expected incremental profit */
    const double *uplift;     /* n or NULL: the model's effect */
    const uint8_t *selected;  /* n: 1 = selected */
    const uint8_t *qualified; /* n or NULL: see the top (NULL: uplift > 0; neither: no EO) */
    size_t min_group;         /* rated groups have at least this population (0 or 1: all) */
} promo_fair_input;

typedef struct promo_fair_group_stats {
    char name[64];
    size_t population, selected;
    double rate;        /* selected / population (NaN when empty) */
    double benefit;     /* mean expected profit of the selected (NaN when none) */
    double mean_uplift; /* mean uplift of the selected (NaN when none or no uplift given) */
    size_t qualified, qualified_selected;
    double opportunity; /* qualified_selected / qualified (NaN when none qualified) */
    int rated;          /* population >= min_group */
} promo_fair_group_stats;

typedef struct promo_fair_report {
    promo_fair_attr attr;
    int available;
    size_t n_groups;
    promo_fair_group_stats *groups;    /* n_groups */
    promo_fair_group_stats unknown;    /* the candidates without a value */
    double di_ratio;                   /* NaN when undefined */
    size_t di_min_group, di_max_group; /* the groups of min and max rate (when DI is defined) */
    int four_fifths;                   /* 1 passes, 0 fails, -1 undefined */
    double eo_difference;              /* NaN when undefined */
    int eo_available;                  /* 0: neither qualified nor uplift given */
} promo_fair_report;

int promo_fairness_report(const promo_fair_input *in,
                          const promo_fair_groups *g,
                          promo_fair_report **out /* OUT */);
void promo_fair_report_free(promo_fair_report *r);

/* The disparate-impact ratio alone (as in the report). */
double promo_fairness_di(const uint8_t *selected, const promo_fair_groups *g, size_t min_group);

typedef enum promo_fair_method {
    PROMO_FAIR_AUTO = 0,
    PROMO_FAIR_EXACT = 1,
    PROMO_FAIR_GREEDY = 2
} promo_fair_method;

typedef struct promo_fair_enforced {
    size_t n;
    uint8_t *selected; /* n: the new selection (as many selected as before) */
    size_t k;          /* selected */
    double profit_before, profit_after;
    double cost;  /* profit_before - profit_after */
    size_t swaps; /* candidates moved in (as many moved out) */
    double di_before, di_after;
    promo_fair_method method; /* the one used (exact or greedy) */
} promo_fair_enforced;

int promo_fairness_enforce(const promo_fair_input *in,
                           const promo_fair_groups *g,
                           double min_ratio,
                           promo_fair_method method,
                           promo_fair_enforced **out /* OUT */);
void promo_fair_enforced_free(promo_fair_enforced *e);

/* The report as a text table, and as one JSON object (no newline). */
void promo_fair_report_print(FILE *out, const promo_fair_report *r);
void promo_fair_report_json(FILE *out, const promo_fair_report *r);

#ifdef __cplusplus
}
#endif
#endif
