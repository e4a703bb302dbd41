/* promo/scorer.h: the scoring handle: load once, then score, explain and rank many times.
 *
 * Opening reads the workspace's tables into a panel and builds the features of one cutoff
 * (promo/panel.h) once; the saved propensity model that serves the current target is loaded
 * beside them. Every call after that reuses them: scoring every customer, explaining chosen
 * customers (TreeSHAP), the top k with one-line reasons, one customer's probability. A
 * campaign builds its features once; the API server keeps a handle per workspace.
 *
 * Targets. The panel and the cut do not depend on the target, so one handle serves any number
 * of targets: promo_scorer_retarget switches the current one at the cost of parsing it (and,
 * the first time a model file is needed, loading it; loaded models are kept, so going back and
 * forth between products costs nothing). The calls act on the current target, so their
 * signatures stay those of one target; a server scoring many products retargets per request.
 *
 * Usage:
 *   promo_scorer *h = NULL;
 *   if (promo_scorer_open(store, "product:PROD00001", 0, 0, &h)) ...promo_last_error()...;
 *   promo_prop_scores *sc = NULL;      promo_scorer_score(h, &sc);
 *   promo_campaign_pick *top = NULL;   size_t n = 0;  promo_scorer_top(h, 50, &top, &n);
 *   promo_scorer_retarget(h, "product:PROD00002");  // same features, another product
 *   ...; promo_free(top); promo_prop_scores_free(sc); promo_scorer_free(h);
 *
 * Results are those of promo_propensity_score / promo_propensity_explain_many /
 * promo_explain_top_customers bit for bit (they run the same code on the same rows), and do
 * not depend on the thread count.
 *
 * Ownership: the handle borrows the store (it must outlive the handle; it is used again only
 * to load another model file) and owns everything else. Results are new, owned by the caller.
 * Thread-safety: a handle is used by one thread at a time (retargeting and the first
 * customer lookup change it); different handles are independent.
 */
#ifndef PROMO_SCORER_H
#define PROMO_SCORER_H

#include <stddef.h>
#include <stdint.h>

#include <promo/explain.h>
#include <promo/panel.h>
#include <promo/propensity.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_scorer promo_scorer;

/* Load the panel, parse target ("any", "product:ID", "category:NAME"; NULL = none yet: call
 * promo_scorer_retarget before scoring), load the model serving it, and build the features as
 * of as_of (0 = the day after the last transaction: the future), in that order. n_threads: 0 =
 * OpenMP default. Errors: as promo_propensity_score (PROMO_ENOTFOUND with the `promo train` to
 * run when no model of the target's kind exists; PROMO_EUSAGE / PROMO_ENOTFOUND for a bad
 * target). *out: new handle (promo_scorer_free). */
int promo_scorer_open(
    promo_store *s, const char *target, int64_t as_of, int n_threads, promo_scorer **out /* OUT */);
void promo_scorer_free(promo_scorer *h); /* NULL-safe */
/* How to open a handle (promo_scorer_open sets target, as_of and n_threads, the rest 0). */
typedef struct promo_scorer_params {
    const char *target; /* as promo_scorer_open */
    int64_t as_of;      /* as promo_scorer_open */
    int n_threads;      /* as promo_scorer_open */
    int baseline;       /* 0: the model serving target is loaded; PROMO_PROP_POPULARITY or
                           PROMO_PROP_RFM: no model, the caller scores that baseline of target
                           (promo_scorer_score_baseline) */
    int stored;         /* 1: when target is "any" and the features `promo features` stored are
                           current for the cutoff (panel.h: same data version, build, parameters
                           and cutoff), map them (no copy) instead of loading the tables and
                           computing them; the results are the same bit for bit. The handle then
                           serves "any" only (another target is PROMO_EUSAGE), its panel holds no
                           table (with names: customers' ids and names) and its features only X,
                           names and ids. Not current: computed as without it (-v says why). */
    int names;          /* with stored: read customers.customer_id and name into the panel */
} promo_scorer_params;

int promo_scorer_open_params(promo_store *s,
                             const promo_scorer_params *p,
                             promo_scorer **out /* OUT */);
/* 1 when the handle's features are the stored ones (promo_scorer_params.stored). */
int promo_scorer_stored(const promo_scorer *h);

/* Make target the current one: the model serving it is loaded unless already held. On failure
 * the handle keeps its previous target. */
int promo_scorer_retarget(promo_scorer *h, const char *target);

/* The current target ("" when none), the cutoff of the features, customers known at it, and
 * the panel (borrowed, valid until the handle is freed: e.g. its customers table). */
const char *promo_scorer_target(const promo_scorer *h);
int64_t promo_scorer_as_of(const promo_scorer *h);
size_t promo_scorer_n_customers(const promo_scorer *h);
const promo_panel *promo_scorer_panel(const promo_scorer *h);
promo_store *promo_scorer_store(const promo_scorer *h);
/* The features of the cutoff (borrowed, valid until the handle is freed): customer rows,
 * spend tiers, CLV columns, product figures. */
const promo_features *promo_scorer_features(const promo_scorer *h);

/* Lend the handle another store (or NULL between uses): for a long-lived handle whose store is
 * opened only while it is used (the API server must not hold the workspace lock between
 * requests). Calls that load a model file or read the workspace's metadata need a store: with
 * NULL they fail with PROMO_EUSAGE. The caller keeps the store open while it lends it. */
void promo_scorer_set_store(promo_scorer *h, promo_store *s);

/* Every customer known at the cutoff, in the features' customer order (the shape of
 * promo_propensity_score). *out: new (promo_prop_scores_free). */
int promo_scorer_score(promo_scorer *h, promo_prop_scores **out /* OUT */);

/* Every customer known at the cutoff ranked by a baseline instead of the model (what the
 * training's guardrail suggests when the model ranks worse): model PROMO_PROP_POPULARITY (the
 * customer's past orders of the target; "any": all orders) or PROMO_PROP_RFM (r + f + m
 * scores, recency breaking ties). out->probability holds that score (>= 0, higher = more
 * likely; not a probability). Needs no trained model. *out: new (promo_prop_scores_free).
 * Errors: PROMO_EUSAGE for another model, those of promo_panel_target_parse. */
int promo_scorer_score_baseline(promo_scorer *h,
                                const char *target,
                                int model,
                                promo_prop_scores **out /* OUT */);

/* One customer's calibrated probability. PROMO_ENOTFOUND for a customer not known at the
 * cutoff. */
int promo_scorer_lookup(promo_scorer *h, const char *customer_id, double *probability /* OUT */);

/* Explanations of customers ids[0..n) in one pass: out[k] for ids[k], NULL for a customer not
 * known at the cutoff (as promo_propensity_explain_many). *out: new array of n pointers; free
 * each entry with promo_prop_explanation_free and the array with promo_free. */
int promo_scorer_explain(promo_scorer *h,
                         const char *const *ids,
                         size_t n,
                         promo_prop_explanation ***out /* OUT */);

/* One customer's explanation; PROMO_ENOTFOUND ("customer '...' is not known at the cutoff")
 * for an unknown one. *out: new (promo_prop_explanation_free). */
int promo_scorer_explain_one(promo_scorer *h,
                             const char *customer_id,
                             promo_prop_explanation **out /* OUT */);

/* The k customers with the highest probability (ties: the features' customer order), with a
 * one-line reason each (promo_explain_line): one scoring pass, then TreeSHAP for the k chosen.
 * *out: new array of *n = min(k, customers) picks, promo_free. */
int promo_scorer_top(promo_scorer *h,
                     size_t k,
                     promo_campaign_pick **out /* OUT */,
                     size_t *n /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
