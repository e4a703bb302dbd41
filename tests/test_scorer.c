/* The scoring handle (promo/scorer.h) on a small generated world with two trained models
 * (product and any): open once and score twice gives the same bits, and every call gives the
 * bits of the one-call functions it replaces (promo_propensity_score, _explain,
 * promo_explain_top_customers); retargeting reuses the features; unknown customers and a
 * workspace without a model are PROMO_ENOTFOUND. Few trees: it runs under ASan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/propensity.h>
#include <promo/report.h>
#include <promo/scorer.h>
#include <promo/store.h>

#include "t.h"
#include "t_world.h"

static char g_world[512]; /* the generated world, no models */
static char g_ws[512];    /* a copy with the product and any models trained */

static const char *world(void)
{
    return g_world[0] ? g_world : t_world_write(g_world, sizeof g_world, 200, 30, 4, 10, 9000);
}

static const char *trained(void)
{
    if (g_ws[0])
        return g_ws;
    const char *src = world();
    char cmd[1200];
    snprintf(g_ws, sizeof g_ws, "%s/trained", t_tmpdir());
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", src, g_ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    promo_store *s = NULL;
    T_OK(promo_store_open(g_ws, 0, &s));
    promo_propensity_params p = promo_propensity_params_default();
    p.n_train_windows = 1;
    p.gbdt.n_rounds = 15;
    p.gbdt.early_stopping_rounds = 5;
    p.baselines = 0;
    p.plots = 0;
    p.n_threads = 1;
    promo_propensity_report r;
    p.target = "product:PROD00001";
    T_OK(promo_report_propensity_train(s, &p, &r));
    p.target = "any";
    T_OK(promo_report_propensity_train(s, &p, &r));
    promo_store_close(s);
    return g_ws;
}

/* The trained workspace opened into *s and a scorer on target (NULL = none) at the latest
 * cutoff on n_threads. */
static promo_scorer *open_trained(const char *target, int n_threads, promo_store **s)
{
    T_OK(promo_store_open(trained(), 0, s));
    promo_scorer *h = NULL;
    T_OK(promo_scorer_open(*s, target, 0, n_threads, &h));
    return h;
}

/* Same customers in the same order, same probability bits. */
static void assert_same_scores(const promo_prop_scores *a, const promo_prop_scores *b)
{
    T_ASSERT_EQ_INT(a->n, b->n);
    T_ASSERT_EQ_INT(a->as_of, b->as_of);
    T_ASSERT_STR_EQ(a->target, b->target);
    for (size_t i = 0; i < a->n; i++)
        T_ASSERT_STR_EQ(a->customer_id[i], b->customer_id[i]);
    T_ASSERT(memcmp(a->probability, b->probability, a->n * sizeof *a->probability) == 0);
}

static void assert_same_explanation(const promo_prop_explanation *a,
                                    const promo_prop_explanation *b)
{
    T_ASSERT_STR_EQ(a->customer_id, b->customer_id);
    T_ASSERT_STR_EQ(a->target, b->target);
    T_ASSERT_STR_EQ(a->target_name, b->target_name);
    T_ASSERT_STR_EQ(a->category_name, b->category_name);
    T_ASSERT_EQ_INT(a->as_of, b->as_of);
    T_ASSERT(memcmp(&a->probability, &b->probability, sizeof a->probability) == 0);
    T_ASSERT(memcmp(&a->bias, &b->bias, sizeof a->bias) == 0);
    T_ASSERT_EQ_INT(a->n_features, b->n_features);
    for (size_t j = 0; j < a->n_features; j++)
        T_ASSERT_STR_EQ(a->feature_names[j], b->feature_names[j]);
    T_ASSERT(memcmp(a->values, b->values, a->n_features * sizeof *a->values) == 0);
    T_ASSERT(memcmp(a->contribs, b->contribs, a->n_features * sizeof *a->contribs) == 0);
}

T_TEST(scorer_scores_like_propensity_score)
{
    promo_store *s = NULL;
    promo_scorer *h = open_trained("product:PROD00001", 1, &s);
    T_ASSERT_STR_EQ(promo_scorer_target(h), "product:PROD00001");
    promo_prop_scores *a = NULL, *b = NULL, *ref = NULL;
    T_OK(promo_scorer_score(h, &a));
    T_OK(promo_scorer_score(h, &b));
    assert_same_scores(a, b);
    T_OK(promo_propensity_score(s, "product:PROD00001", 0, &ref));
    assert_same_scores(a, ref);
    T_ASSERT_EQ_INT(promo_scorer_n_customers(h), a->n);
    T_ASSERT_EQ_INT(promo_scorer_as_of(h), a->as_of);
    /* One customer's lookup is its row of the full scoring. */
    for (size_t i = 0; i < a->n; i += a->n / 7 + 1) {
        double p = -1;
        T_OK(promo_scorer_lookup(h, a->customer_id[i], &p));
        T_ASSERT_MSG(memcmp(&p, &a->probability[i], sizeof p) == 0, "%s: %.17g vs %.17g",
                     a->customer_id[i], p, a->probability[i]);
    }
    double p = 0.5;
    T_ASSERT_EQ_INT(promo_scorer_lookup(h, "NOBODY", &p), PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "'NOBODY' is not known at the cutoff");
    promo_prop_scores_free(a);
    promo_prop_scores_free(b);
    promo_prop_scores_free(ref);
    /* An explicit cutoff is the one-call function's at that cutoff. */
    promo_scorer_free(h);
    int64_t as_of = 0;
    T_OK(promo_propensity_default_as_of(s, 30, &as_of));
    T_OK(promo_scorer_open(s, "product:PROD00003", as_of, 0, &h));
    T_OK(promo_scorer_score(h, &a));
    T_OK(promo_propensity_score(s, "product:PROD00003", as_of, &ref));
    assert_same_scores(a, ref);
    promo_prop_scores_free(a);
    promo_prop_scores_free(ref);
    promo_scorer_free(h);
    promo_store_close(s);
}

T_TEST(scorer_explains_like_propensity_explain)
{
    promo_store *s = NULL;
    promo_scorer *h = open_trained("product:PROD00002", 0, &s);
    promo_prop_scores *sc = NULL;
    T_OK(promo_scorer_score(h, &sc));
    T_ASSERT(sc->n > 10);
    const char *ids[4] = {sc->customer_id[5], "NOBODY", sc->customer_id[0], sc->customer_id[5]};
    promo_prop_explanation **ex = NULL, **ref = NULL;
    T_OK(promo_scorer_explain(h, ids, 4, &ex));
    T_OK(promo_propensity_explain_many(s, "product:PROD00002", 0, ids, 4, &ref));
    T_ASSERT(ex[1] == NULL && ref[1] == NULL);
    for (size_t k = 0; k < 4; k++)
        if (ex[k])
            assert_same_explanation(ex[k], ref[k]);
    T_ASSERT(memcmp(&ex[0]->probability, &sc->probability[5], sizeof(double)) == 0);
    for (size_t k = 0; k < 4; k++) {
        promo_prop_explanation_free(ex[k]);
        promo_prop_explanation_free(ref[k]);
    }
    promo_free(ex);
    promo_free(ref);
    /* One customer: the same as promo_propensity_explain; an unknown one is not found. */
    promo_prop_explanation *e = NULL, *r = NULL;
    T_OK(promo_scorer_explain_one(h, sc->customer_id[7], &e));
    T_OK(promo_propensity_explain(s, "product:PROD00002", 0, sc->customer_id[7], &r));
    assert_same_explanation(e, r);
    promo_prop_explanation_free(e);
    promo_prop_explanation_free(r);
    e = (promo_prop_explanation *)1;
    T_ASSERT_EQ_INT(promo_scorer_explain_one(h, "NOBODY", &e), PROMO_ENOTFOUND);
    T_ASSERT(e == NULL);
    T_ASSERT_STR_EQ(promo_last_error(), "propensity: customer 'NOBODY' is not known at the cutoff");
    promo_prop_scores_free(sc);
    promo_scorer_free(h);
    promo_store_close(s);
}

typedef struct ix {
    double p;
    size_t i;
} ix;

static int by_p_desc(const void *a, const void *b)
{
    const ix *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

T_TEST(scorer_top_k_is_the_sorted_scores)
{
    promo_store *s = NULL;
    promo_scorer *h = open_trained("product:PROD00001", 0, &s);
    promo_prop_scores *sc = NULL;
    T_OK(promo_scorer_score(h, &sc));
    ix *o = malloc(sc->n * sizeof *o);
    T_ASSERT(o);
    for (size_t i = 0; i < sc->n; i++)
        o[i] = (ix){sc->probability[i], i};
    qsort(o, sc->n, sizeof *o, by_p_desc);
    promo_campaign_pick *top = NULL, *ref = NULL;
    size_t n = 0, n_ref = 0;
    T_OK(promo_scorer_top(h, 12, &top, &n));
    T_ASSERT_EQ_INT(n, 12);
    for (size_t j = 0; j < n; j++) {
        T_ASSERT_STR_EQ(top[j].customer_id, sc->customer_id[o[j].i]);
        T_ASSERT(memcmp(&top[j].probability, &o[j].p, sizeof o[j].p) == 0);
        T_ASSERT(top[j].reason[0] != 0);
    }
    /* ... and what promo_explain_top_customers gives, reasons included. */
    T_OK(promo_explain_top_customers(s, "product:PROD00001", 0, 12, &ref, &n_ref));
    T_ASSERT_EQ_INT(n_ref, n);
    for (size_t j = 0; j < n; j++) {
        T_ASSERT_STR_EQ(top[j].customer_id, ref[j].customer_id);
        T_ASSERT_STR_EQ(top[j].reason, ref[j].reason);
    }
    promo_free(top);
    promo_free(ref);
    /* k beyond the customers gives every customer; k = 0 none. */
    T_OK(promo_scorer_top(h, sc->n + 100, &top, &n));
    T_ASSERT_EQ_INT(n, sc->n);
    T_ASSERT_STR_EQ(top[n - 1].customer_id, sc->customer_id[o[n - 1].i]);
    promo_free(top);
    T_OK(promo_scorer_top(h, 0, &top, &n));
    T_ASSERT_EQ_INT(n, 0);
    promo_free(top);
    free(o);
    promo_prop_scores_free(sc);
    promo_scorer_free(h);
    promo_store_close(s);
}

T_TEST(scorer_retarget_reuses_the_features)
{
    promo_store *s = NULL;
    promo_scorer *h = open_trained(NULL, 0, &s);
    T_ASSERT_STR_EQ(promo_scorer_target(h), "");
    promo_prop_scores *a = NULL, *ref = NULL;
    T_ASSERT_EQ_INT(promo_scorer_score(h, &a), PROMO_EUSAGE);
    T_ASSERT(a == NULL);
    static const char *const targets[] = {"product:PROD00004", "any", "product:PROD00001",
                                          "product:PROD00004"};
    for (size_t k = 0; k < sizeof targets / sizeof *targets; k++) {
        T_OK(promo_scorer_retarget(h, targets[k]));
        T_ASSERT_STR_EQ(promo_scorer_target(h), targets[k]);
        T_OK(promo_scorer_score(h, &a));
        T_OK(promo_propensity_score(s, targets[k], 0, &ref));
        assert_same_scores(a, ref);
        promo_prop_scores_free(a);
        promo_prop_scores_free(ref);
    }
    /* A failed retarget keeps the current target. */
    T_ASSERT_EQ_INT(promo_scorer_retarget(h, "product:NOPE"), PROMO_ENOTFOUND);
    T_ASSERT_EQ_INT(promo_scorer_retarget(h, "brand:x"), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_scorer_retarget(h, "category:Nope"), PROMO_ENOTFOUND);
    T_ASSERT_STR_EQ(promo_scorer_target(h), "product:PROD00004");
    /* No category model was trained: the hint names the command. */
    const promo_panel *d = promo_scorer_panel(h);
    char cat[300];
    snprintf(cat, sizeof cat, "category:%s", d->cat_names[0]);
    T_ASSERT_EQ_INT(promo_scorer_retarget(h, cat), PROMO_ENOTFOUND);
    /* ... with the category itself, ready to paste */
    char hint[400];
    snprintf(hint, sizeof hint, "--model propensity --target %s`)", cat);
    T_ASSERT_CONTAINS(promo_last_error(), hint);
    T_ASSERT_STR_EQ(promo_scorer_target(h), "product:PROD00004");
    promo_scorer_free(h);
    promo_scorer_free(NULL);
    promo_store_close(s);
}

T_TEST(scorer_without_model_is_not_found)
{
    promo_store *s = NULL;
    T_OK(promo_store_open(world(), 0, &s));
    promo_scorer *h = (promo_scorer *)1;
    T_ASSERT_EQ_INT(promo_scorer_open(s, "any", 0, 0, &h), PROMO_ENOTFOUND);
    T_ASSERT(h == NULL);
    T_ASSERT_CONTAINS(promo_last_error(), "no propensity model for any targets in");
    T_ASSERT_CONTAINS(promo_last_error(), "--model propensity --target any`)");
    T_ASSERT_EQ_INT(promo_scorer_open(s, "product:PROD00001", 0, 0, &h), PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "--target product:PROD00001`)");
    T_ASSERT_EQ_INT(promo_scorer_open(s, "product:NOPE", 0, 0, &h), PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "unknown product 'NOPE'");
    promo_store_close(s);
}
