/* The POST routes: a campaign with its forecast and the gap to the optimum, the response
 * surface, a simulation in the generated world, a product never sold, cross-sell rules.
 *
 * Campaigns and surfaces come from the forecast engine (promo/forecast.h) on the workspace's
 * uplift model. A workspace with a propensity model and no uplift model still gets campaigns
 * ranked by probability (promo_campaign_select), without forecast money figures or optimum;
 * any other ranking, and the surface, then answer 409 with the command that trains the uplift
 * model. Customers' names, locations and segments come from the scoring handle's tables; a
 * row's reason is the propensity model's one-line explanation when a model serves the product
 * (the first API_MAX_REASONS rows), else the forecast's own numbers in a sentence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/crosssell.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/forecast.h>
#include <promo/panel.h>
#include <promo/scorer.h>
#include <promo/similar.h>
#include <promo/synth.h>
#include <promo/table.h>

#include "server/api_internal.h"

#define API_MAX_REASONS 200 /* rows of a campaign explained by TreeSHAP (the rest: numbers) */

static const char *col_str(const promo_table *t, const char *name, size_t row)
{
    const promo_column *c = t ? promo_table_column(t, name) : NULL;
    return c && row < c->n && !promo_column_is_null(c, row) ? promo_column_str(c, row) : NULL;
}

/* The scorer and the product's products-table row; a 404 naming product_id when unknown.
 * Returns 0 with *row set, 1 when out holds the answer, or -rc for an internal failure. */
static int find_product(
    promo_api *api, promo_api_ctx *ctx, const char *id, uint32_t *row, promo_api_reply *out)
{
    promo_scorer *h = NULL;
    int rc = promo_api_scorer(api, ctx, &h);
    if (rc) {
        rc = promo_api_fail_engine(out, rc, NULL);
        return rc ? -rc : 1;
    }
    *row = api_product_row(api, id);
    if (*row == UINT32_MAX) {
        promo_api_fail(out, 404, "product_id", "no product '%s' in this workspace", id);
        return 1;
    }
    return 0;
}

static const char *product_name(promo_api *api, uint32_t row)
{
    return col_str(promo_scorer_panel(api->scorer)->products, "name", row);
}

/* A customer's segment as one string: the persona, else "segment N"; NULL when none. */
static const char *segment_label(promo_api *api, uint32_t frow, char *buf, size_t n)
{
    const api_segments *g = api->segs;
    if (!g || frow == UINT32_MAX || frow >= g->n_rows || g->seg[frow] == INT32_MIN)
        return NULL;
    int32_t v = g->seg[frow];
    const char *p = g->persona[v < 0 ? g->n_ids : v];
    if (p[0])
        return p;
    snprintf(buf, n, v < 0 ? "noise" : "segment %d", (int)v);
    return buf;
}

static cJSON *figures_json(const promo_forecast_figures *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "contacts", (double)f->contacts);
    api_add_num(o, "expected_conversions", f->expected_conversions);
    api_add_num(o, "incremental_conversions", f->incremental_conversions);
    api_add_num(o, "incremental_revenue", f->incremental_revenue);
    api_add_num(o, "discount_cost", f->discount_cost);
    api_add_num(o, "contact_cost", f->contact_cost);
    api_add_num(o, "incremental_profit", f->incremental_profit);
    api_add_num(o, "roi", f->roi);
    cJSON *iv = cJSON_AddArrayToObject(o, "profit_interval");
    cJSON_AddItemToArray(iv, isfinite(f->profit_lo) ? cJSON_CreateNumber(f->profit_lo)
                                                    : cJSON_CreateNull());
    cJSON_AddItemToArray(iv, isfinite(f->profit_hi) ? cJSON_CreateNumber(f->profit_hi)
                                                    : cJSON_CreateNull());
    api_add_num(o, "interval_level", f->interval);
    return o;
}

static cJSON *optimum_json(const promo_surface_optimum *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "discount_pct", o->discount_pct);
    cJSON_AddNumberToObject(j, "target", (double)o->target);
    const promo_forecast_figures *f = &o->figures;
    api_add_num(j, "incremental_profit", f->incremental_profit);
    api_add_num(j, "incremental_revenue", f->incremental_revenue);
    api_add_num(j, "expected_conversions", f->expected_conversions);
    api_add_num(j, "incremental_conversions", f->incremental_conversions);
    api_add_num(j, "roi", f->roi);
    cJSON *iv = cJSON_AddArrayToObject(j, "profit_interval");
    cJSON_AddItemToArray(iv, isfinite(f->profit_lo) ? cJSON_CreateNumber(f->profit_lo)
                                                    : cJSON_CreateNull());
    cJSON_AddItemToArray(iv, isfinite(f->profit_hi) ? cJSON_CreateNumber(f->profit_hi)
                                                    : cJSON_CreateNull());
    return j;
}

static int fatigue_exclude(
    promo_api *api, promo_api_ctx *ctx, promo_forecaster *f, uint8_t **mask, size_t *n_excluded);

/* The optimum of product's default surface (0..50 %, every customer; with fatigue, every
 * customer the fatigue rule does not suppress, as promo campaign --optimize) under budget,
 * from the cache or computed (under forecast_mu: one surface at a time, and a call that waited
 * for another computing the same finds it cached) and cached. *out: a copy. */
static int optimum_lookup(
    promo_api *api, const char *product, double budget, int fatigue, promo_surface_optimum *out)
{
    int found = 0;
    pthread_mutex_lock(&api->cache_mu);
    for (size_t k = api->n_optima; k-- > 0 && !found;)
        if (!strcmp(api->optima[k].product_id, product) && api->optima[k].fatigue == fatigue &&
            (api->optima[k].budget == budget || (isinf(budget) && isinf(api->optima[k].budget)))) {
            *out = api->optima[k].opt;
            found = 1;
        }
    pthread_mutex_unlock(&api->cache_mu);
    return found;
}

static int optimum_of(promo_api *api,
                      promo_api_ctx *ctx,
                      promo_forecaster *f,
                      const char *product,
                      double budget,
                      int fatigue,
                      promo_surface_optimum *out)
{
    if (optimum_lookup(api, product, budget, fatigue, out))
        return PROMO_OK;
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = product;
    sp.budget = budget;
    promo_surface *sf = NULL;
    uint8_t *mask = NULL;
    size_t n_ex = 0;
    int rc = fatigue ? fatigue_exclude(api, ctx, f, &mask, &n_ex) : PROMO_OK;
    if (rc)
        return rc;
    sp.exclude = mask;
    pthread_mutex_lock(&api->forecast_mu);
    if (!optimum_lookup(api, product, budget, fatigue, out))
        rc = promo_forecast_surface(f, &sp, &sf);
    pthread_mutex_unlock(&api->forecast_mu);
    promo_free(mask);
    if (rc || !sf)
        return rc;
    *out = sf->optimum;
    promo_surface_free(sf);
    pthread_mutex_lock(&api->cache_mu);
    if (api->n_optima == API_MAX_OPTIMA) {
        memmove(api->optima, api->optima + 1, (API_MAX_OPTIMA - 1) * sizeof *api->optima);
        api->n_optima--;
    }
    api_optimum *o = &api->optima[api->n_optima++];
    memset(o, 0, sizeof *o);
    snprintf(o->product_id, sizeof o->product_id, "%s", product);
    o->budget = budget;
    o->fatigue = fatigue;
    o->opt = *out;
    pthread_mutex_unlock(&api->cache_mu);
    return PROMO_OK;
}

/* One-line reasons for picks[0..n) from the propensity model serving the product (reasons[k]
 * stays "" when there is none). A reason depends on the product's model and the customer
 * only, so each is computed once per reload (api->reasons, keyed "product\x1fcustomer"; the
 * key "product\x1f" alone marks a product no model serves); TreeSHAP runs for the misses
 * only, under engine_mu. */
static int propensity_reasons(promo_api *api,
                              promo_api_ctx *ctx,
                              const char *product,
                              const char *const *ids,
                              size_t n,
                              char (*reasons)[512])
{
    char key[2 * API_ID_MAX + 2];
    size_t *miss = promo_mallocn(n ? n : 1, sizeof *miss);
    const char **miss_ids = promo_mallocn(n ? n : 1, sizeof *miss_ids);
    size_t n_miss = 0;
    int rc = PROMO_OK, no_model;
    if (!miss || !miss_ids) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    pthread_mutex_lock(&api->cache_mu);
    snprintf(key, sizeof key, "%s\x1f", product);
    no_model = api_cache_get(api->reasons, key) != NULL;
    for (size_t k = 0; k < n && !no_model; k++) {
        snprintf(key, sizeof key, "%s\x1f%s", product, ids[k]);
        const char *line = api_cache_get(api->reasons, key);
        if (line)
            snprintf(reasons[k], sizeof reasons[k], "%s", line);
        else {
            miss[n_miss] = k;
            miss_ids[n_miss++] = ids[k];
        }
    }
    pthread_mutex_unlock(&api->cache_mu);
    if (!n_miss)
        goto done;
    promo_store *s = NULL;
    if (promo_api_store(api, ctx, &s))
        goto done; /* busy: the rows get the forecast's sentence */
    char target[API_ID_MAX + 16];
    snprintf(target, sizeof target, "product:%s", product);
    promo_prop_explanation **ex = NULL;
    pthread_mutex_lock(&api->engine_mu);
    api_scorer_lend(api, ctx);
    rc = promo_scorer_retarget(api->scorer, target);
    if (!rc)
        rc = promo_scorer_explain(api->scorer, miss_ids, n_miss, &ex);
    api_scorer_unlend(api, ctx);
    pthread_mutex_unlock(&api->engine_mu);
    if (rc == PROMO_ENOTFOUND || rc == PROMO_EINPUT) {
        /* no model serves it: the rows get the forecast's sentence */
        snprintf(key, sizeof key, "%s\x1f", product);
        char *mark = promo_strdup("-");
        pthread_mutex_lock(&api->cache_mu);
        rc = mark ? api_cache_put(api->reasons, key, mark) : PROMO_ENOMEM;
        pthread_mutex_unlock(&api->cache_mu);
        goto done;
    }
    if (rc)
        goto done;
    for (size_t j = 0; j < n_miss; j++) {
        size_t k = miss[j];
        if (ex[j])
            promo_explain_line(ex[j], reasons[k], sizeof reasons[k]);
        promo_prop_explanation_free(ex[j]);
    }
    promo_free(ex);
    pthread_mutex_lock(&api->cache_mu);
    for (size_t j = 0; j < n_miss && !rc; j++) {
        char *line = promo_strdup(reasons[miss[j]]);
        snprintf(key, sizeof key, "%s\x1f%s", product, ids[miss[j]]);
        rc = line ? api_cache_put(api->reasons, key, line) : PROMO_ENOMEM;
    }
    pthread_mutex_unlock(&api->cache_mu);
done:
    promo_free(miss);
    promo_free(miss_ids);
    return rc;
}

/* The campaign engine's send time and fatigue of every customer, as promo campaign applies
 * them by default (each customer's usual weekday and hour; the fatigued suppressed): built
 * once per loaded workspace from the scorer's features and kept in the handle (api.h), so a
 * call pays dictionary look-ups only. */
static int api_profiles(promo_api *api, promo_api_ctx *ctx, const promo_campaign_profiles **out)
{
    *out = NULL;
    if (__atomic_load_n(&api->profiles_loaded, __ATOMIC_ACQUIRE)) {
        *out = api->profiles;
        return PROMO_OK;
    }
    promo_scorer *h = NULL;
    int rc = promo_api_scorer(api, ctx, &h);
    if (rc)
        return rc;
    pthread_mutex_lock(&api->load_mu);
    if (!api->profiles_loaded) {
        promo_campaign_targeting tg = promo_campaign_targeting_default();
        if (!(rc = promo_campaign_profiles_from_features(promo_scorer_features(h), &tg,
                                                         &api->profiles)))
            __atomic_store_n(&api->profiles_loaded, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&api->load_mu);
    *out = rc ? NULL : api->profiles;
    return rc;
}

/* The forecaster's customers the fatigue rule suppresses (the API's default rules, as promo
 * campaign applies them): *mask 1 for each (new, promo_free), NULL when it suppresses nobody
 * (or the workspace has no features to judge by); *n_excluded how many. */
static int fatigue_exclude(
    promo_api *api, promo_api_ctx *ctx, promo_forecaster *f, uint8_t **mask, size_t *n_excluded)
{
    *mask = NULL;
    *n_excluded = 0;
    const promo_campaign_profiles *pr = NULL;
    int rc = api_profiles(api, ctx, &pr);
    if (rc == PROMO_ENOTFOUND)
        return PROMO_OK;
    if (rc || !promo_campaign_profiles_fatigued(pr))
        return rc;
    size_t nc = promo_forecaster_n_customers(f), k = 0;
    uint8_t *m = promo_calloc(nc ? nc : 1, 1);
    if (!m)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < nc; i++)
        k += m[i] = (uint8_t)promo_campaign_suppressed(pr, promo_forecaster_customer_id(f, i));
    if (!k) {
        promo_free(m);
        return PROMO_OK;
    }
    *mask = m;
    *n_excluded = k;
    return PROMO_OK;
}

/* The campaign's send time and fatigue fields (the names of promo campaign --json). */
static void targeting_json(cJSON *b,
                           const api_campaign_req *r,
                           const promo_campaign_profiles *pr,
                           size_t n_suppressed,
                           size_t n_own_slot)
{
    int applied = r->fatigue && promo_campaign_fatigue_applied(pr);
    cJSON_AddStringToObject(b, "send_time", r->send_time_best ? "best" : "fixed");
    cJSON_AddNumberToObject(b, "send_time_own_slot", (double)n_own_slot);
    cJSON_AddStringToObject(b, "fatigue", r->fatigue ? "suppress" : "off");
    cJSON_AddBoolToObject(b, "fatigue_applied", applied);
    if (applied || !r->fatigue)
        cJSON_AddNullToObject(b, "fatigue_note");
    else
        cJSON_AddStringToObject(b, "fatigue_note",
                                "no contact history: the workspace has no "
                                "exposures before the cutoff");
    cJSON_AddNumberToObject(b, "fatigued_customers", (double)promo_campaign_profiles_fatigued(pr));
    cJSON_AddNumberToObject(b, "suppressed_fatigue", (double)n_suppressed);
}

/* A row's send day (days after the cutoff as_of) and hour: the customer's own slot in the
 * week from the cutoff; *own 1 when it is their own, not the population's. */
static void
row_slot(const promo_campaign_profiles *pr, const char *id, int64_t as_of, cJSON *o, size_t *own)
{
    promo_send_slot sl;
    promo_campaign_profile(pr, id, &sl, NULL, NULL);
    cJSON_AddNumberToObject(o, "send_day", promo_sendtime_days_to(as_of, sl.weekday));
    cJSON_AddNumberToObject(o, "send_hour", sl.hour);
    cJSON_AddStringToObject(o, "send_weekday", promo_weekday_name(sl.weekday));
    *own += !sl.population;
}

/* The product offered with the campaign's when the request asks for one (promo campaign
 * --bundle, src/engine/bundle.c): bu->product_id "" when none qualifies. Returns 0, 1 when
 * the reply is set (a bad "bundle"), or -status. */
static int campaign_bundle(promo_api *api,
                           promo_api_ctx *ctx,
                           const api_campaign_req *r,
                           int64_t as_of,
                           promo_campaign_bundle *bu,
                           promo_api_reply *out)
{
    memset(bu, 0, sizeof *bu);
    if (!r->bundle[0])
        return 0;
    /* Choosing reads every order of the year before the cutoff (0.2-0.3 s at 5M lines), and
     * the page asks again at every move of a slider: kept until the workspace moves. */
    char key[2 * API_ID_MAX + 32];
    snprintf(key, sizeof key, "%s\x1f%s\x1f%lld", r->product_id, r->bundle, (long long)as_of);
    pthread_mutex_lock(&api->cache_mu);
    const promo_campaign_bundle *hit = api_cache_get(api->bundles, key);
    if (hit)
        *bu = *hit;
    pthread_mutex_unlock(&api->cache_mu);
    if (hit)
        return 0;
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (!rc)
        rc = promo_campaign_bundle_choose(s, r->product_id, r->bundle, as_of, bu);
    if (!rc) {
        promo_campaign_bundle *copy = promo_malloc(sizeof *copy);
        if (!copy)
            return -PROMO_ENOMEM;
        *copy = *bu;
        pthread_mutex_lock(&api->cache_mu);
        rc = api_cache_put(api->bundles, key, copy);
        pthread_mutex_unlock(&api->cache_mu);
        return rc ? -rc : 0;
    }
    rc = promo_api_fail_engine(out, rc, "bundle");
    return rc ? -rc : 1;
}

/* The reply's "bundle": null when not asked; else the product (null when none qualifies)
 * with how often it was in the offered product's orders (the CLI's campaign --json). */
static void
bundle_json(promo_api *api, cJSON *b, const api_campaign_req *r, const promo_campaign_bundle *bu)
{
    if (!r->bundle[0]) {
        cJSON_AddNullToObject(b, "bundle");
        return;
    }
    cJSON *o = cJSON_AddObjectToObject(b, "bundle");
    uint32_t row = bu->product_id[0] ? api_product_row(api, bu->product_id) : UINT32_MAX;
    api_add_str(o, "product_id", bu->product_id[0] ? bu->product_id : NULL);
    api_add_str(o, "product_name", row != UINT32_MAX ? product_name(api, row) : NULL);
    cJSON_AddNumberToObject(o, "orders", (double)bu->orders);
    cJSON_AddNumberToObject(o, "together", (double)bu->together);
    api_add_num(o, "confidence", bu->confidence);
    api_add_num(o, "lift", bu->lift);
    char none[160];
    snprintf(none, sizeof none,
             "no product is in at least %d of the offered product's orders of the last year with "
             "a lift above 1",
             PROMO_CAMPAIGN_BUNDLE_MIN_ORDERS);
    cJSON_AddStringToObject(o, "note",
                            !bu->product_id[0] ? none
                                               : "its margin is not in the forecast (in a "
                                                 "generated world promo simulate plays it)");
}

/* The campaign without an uplift model: the propensity ranking (promo_campaign_select). */
static int campaign_propensity(promo_api *api,
                               promo_api_ctx *ctx,
                               const api_campaign_req *r,
                               uint32_t prow,
                               size_t n_rows,
                               promo_api_reply *out)
{
    const promo_campaign_profiles *pr = NULL;
    int rc = r->send_time_best || r->fatigue ? api_profiles(api, ctx, &pr) : PROMO_OK;
    if (rc)
        return promo_api_fail_engine(out, rc, NULL);
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    tg.send_time_best = r->send_time_best;
    if (!r->fatigue)
        tg.fatigue.mode = PROMO_FATIGUE_OFF;
    promo_campaign_params p = promo_campaign_params_default();
    p.product_id = r->product_id;
    p.discount_pct = r->discount_pct;
    p.n_target = (size_t)r->target;
    p.holdout_pct = r->holdout_pct;
    p.targeting = &tg;
    /* the kept profiles are the default rules'; another choice builds its own (a pass over
     * the features) */
    p.profiles = r->send_time_best && r->fatigue ? pr : NULL;
    promo_campaign_bundle bu;
    if ((rc = campaign_bundle(api, ctx, r, 0, &bu, out)))
        return rc < 0 ? -rc : 0;
    promo_campaign *c = NULL;
    promo_store *s = NULL;
    rc = promo_api_store(api, ctx, &s); /* the model file is found through the store */
    if (rc)
        return rc;
    pthread_mutex_lock(&api->engine_mu);
    api_scorer_lend(api, ctx);
    rc = promo_campaign_select(api->scorer, &p, &c);
    api_scorer_unlend(api, ctx);
    pthread_mutex_unlock(&api->engine_mu);
    if (rc)
        return promo_api_fail_engine(out, rc, "product_id");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "product_id", r->product_id);
    api_add_str(b, "product_name", product_name(api, prow));
    cJSON_AddNumberToObject(b, "discount_pct", r->discount_pct);
    cJSON_AddNumberToObject(b, "target", (double)c->n);
    cJSON_AddStringToObject(b, "rank_by", "probability");
    cJSON *fo = cJSON_AddObjectToObject(b, "forecast");
    cJSON_AddNumberToObject(fo, "contacts", (double)(c->n - c->n_holdout));
    api_add_num(fo, "expected_conversions", c->expected_buyers);
    static const char *const unknown[] = {"incremental_conversions", "incremental_revenue",
                                          "discount_cost",           "contact_cost",
                                          "incremental_profit",      "roi",
                                          "profit_interval"};
    for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++)
        cJSON_AddNullToObject(fo, unknown[k]);
    cJSON_AddNullToObject(b, "optimum");
    cJSON_AddNullToObject(b, "gap_to_optimum");
    cJSON_AddStringToObject(b, "note",
                            "no uplift model: customers ranked by the propensity "
                            "model, without money figures or optimum; for them run: "
                            "promo train --ws DIR --model uplift");
    cJSON *rows = cJSON_AddArrayToObject(b, "rows");
    char sb[32];
    for (size_t i = 0; i < c->n && i < n_rows; i++) {
        cJSON *o = cJSON_CreateObject();
        uint32_t frow = promo_api_customer_row(api, c->picks[i].customer_id);
        cJSON_AddStringToObject(o, "customer_id", c->picks[i].customer_id);
        api_add_str(o, "name", c->name[i][0] ? c->name[i] : NULL);
        api_add_str(o, "location", c->location[i][0] ? c->location[i] : NULL);
        api_add_str(o, "segment", segment_label(api, frow, sb, sizeof sb));
        api_add_num(o, "probability", c->picks[i].probability);
        cJSON_AddNullToObject(o, "uplift");
        cJSON_AddNullToObject(o, "expected_profit");
        cJSON_AddStringToObject(o, "reason", c->picks[i].reason);
        cJSON_AddBoolToObject(o, "holdout", c->holdout[i]);
        cJSON_AddNumberToObject(o, "send_day", c->send_day_row[i]);
        cJSON_AddNumberToObject(o, "send_hour", c->send_hour_row[i]);
        cJSON_AddItemToArray(rows, o);
    }
    targeting_json(b, r, pr, c->n_suppressed, c->n_send_match);
    bundle_json(api, b, r, &bu);
    promo_campaign_free(c);
    return api_ok(out, b);
}

int promo_api_campaign(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    api_campaign_req r;
    if (api_parse_campaign(call->body, &r, out))
        return 0;
    uint32_t prow = 0;
    int rc = find_product(api, call->ctx, r.product_id, &prow, out);
    if (rc)
        return rc < 0 ? -rc : 0;
    api_segments *g = NULL; /* the rows' segment labels (api->segs) */
    if ((rc = api_load_segments(api, call->ctx, &g)))
        return promo_api_fail_engine(out, rc, NULL);
    size_t n_rows = r.rows >= 0                               ? (size_t)r.rows
                    : (size_t)r.target < api->max_result_rows ? (size_t)r.target
                                                              : api->max_result_rows;
    promo_forecaster *f = NULL;
    rc = promo_api_forecaster(api, call->ctx, &f);
    if (rc == PROMO_ENOTFOUND && (r.rank_by < 0 || r.rank_by == API_RANK_PROBABILITY) &&
        !r.optimize && !r.has_budget)
        return campaign_propensity(api, call->ctx, &r, prow, n_rows, out);
    if (rc)
        return promo_api_fail_engine(out, rc, NULL);
    double budget = r.has_budget ? r.budget : INFINITY;
    promo_surface_optimum best;
    /* with fatigue, the optimum of the customers it leaves (the ranking below passes over the
     * others): the campaign sent at optimize: true is then the optimum, gap 0 */
    if ((rc = optimum_of(api, call->ctx, f, r.product_id, budget, r.fatigue, &best)))
        return promo_api_fail_engine(out, rc, "product_id");
    promo_campaign_bundle bu;
    if ((rc = campaign_bundle(api, call->ctx, &r, promo_forecaster_as_of(f), &bu, out)))
        return rc < 0 ? -rc : 0;
    const promo_campaign_profiles *pr = NULL;
    if ((r.send_time_best || r.fatigue) && (rc = api_profiles(api, call->ctx, &pr)))
        return promo_api_fail_engine(out, rc, NULL);
    const promo_campaign_profiles *pr_fat = r.fatigue ? pr : NULL;
    promo_forecast_request fr = promo_forecast_request_default();
    fr.product_id = r.product_id;
    fr.discount_pct = r.optimize ? best.discount_pct : r.discount_pct;
    fr.rank_by = r.rank_by < 0 || r.rank_by == API_RANK_PROFIT ? PROMO_FORECAST_RANK_PROFIT
                 : r.rank_by == API_RANK_UPLIFT                ? PROMO_FORECAST_RANK_UPLIFT
                                                               : PROMO_FORECAST_RANK_PROBABILITY;
    /* As promo campaign: the fatigued left out before the count, budget and holdout apply
     * (promo_campaign_refine), their places to the next. At most every fatigued customer is
     * among the first target + fatigued of the ranking, so that prefix is all the forecast
     * needs (not the whole ranking: a million picks per call). */
    promo_campaign_refine_params rp = promo_campaign_refine_params_default();
    rp.n_target = r.optimize ? (best.target ? best.target : 1) : (size_t)r.target;
    rp.budget = budget;
    rp.positive_only = 0; /* optimize takes the optimum's count, as before the rules */
    rp.holdout_pct = r.holdout_pct;
    rp.holdout_seed = fr.holdout_seed;
    rp.interval = fr.interval;
    fr.budget = INFINITY;
    fr.holdout_pct = 0;
    promo_forecast *fc = NULL, *fc_all = NULL;
    promo_campaign_excluded *ex = NULL;
    size_t n_ex = 0, n_fat = promo_campaign_profiles_fatigued(pr_fat);
    /* The prefix of the ranking the campaign needs: the target and room for the suppressed
     * among it, a few percent of it; when more of the prefix is suppressed than that, a longer
     * one, up to target + every fatigued customer, which always suffices. */
    size_t need = rp.n_target, ask = n_fat ? need + need / 8 + 16 : need;
    for (;;) {
        if (ask > need + n_fat)
            ask = need + n_fat;
        fr.n_target = ask;
        pthread_mutex_lock(&api->forecast_mu);
        rc = promo_forecast_point(f, &fr, &fc_all); /* the picks are copies: rendered unlocked */
        pthread_mutex_unlock(&api->forecast_mu);
        if (!rc)
            rc = promo_campaign_refine(pr_fat, fc_all, &rp, &fc, &ex, &n_ex);
        if (rc || fc->n >= need || fc->budget_bound || fc_all->n < ask || ask >= need + n_fat)
            break;
        promo_forecast_free(fc);
        promo_forecast_free(fc_all);
        promo_free(ex);
        fc = fc_all = NULL;
        ex = NULL;
        ask = 2 * ask;
    }
    promo_forecast_free(fc_all);
    promo_free(ex);
    if (rc)
        return promo_api_fail_engine(out, rc, "product_id");
    if (n_rows > fc->n)
        n_rows = fc->n;
    /* Reasons for the first rows. */
    size_t n_expl = n_rows < API_MAX_REASONS ? n_rows : API_MAX_REASONS;
    char(*reasons)[512] = promo_calloc(n_expl ? n_expl : 1, sizeof *reasons);
    const char **ids = promo_calloc(n_expl ? n_expl : 1, sizeof *ids);
    cJSON *b = NULL;
    if (!reasons || !ids) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n_expl; i++)
        ids[i] = fc->picks[i].customer_id;
    if ((rc = propensity_reasons(api, call->ctx, r.product_id, ids, n_expl, reasons)))
        goto done;
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "product_id", r.product_id);
    api_add_str(b, "product_name", product_name(api, prow));
    cJSON_AddNumberToObject(b, "discount_pct", fc->discount_pct);
    cJSON_AddNumberToObject(b, "target", (double)fc->n);
    cJSON_AddStringToObject(b, "rank_by", promo_forecast_rank_name(fc->rank_by));
    cJSON_AddBoolToObject(b, "budget_bound", fc->budget_bound);
    cJSON_AddItemToObject(b, "forecast", figures_json(&fc->figures));
    cJSON_AddItemToObject(b, "optimum", optimum_json(&best));
    api_add_num(b, "gap_to_optimum",
                best.figures.incremental_profit - fc->figures.incremental_profit);
    cJSON *rows = cJSON_AddArrayToObject(b, "rows");
    const promo_panel *d = promo_scorer_panel(api->scorer);
    char sb[32], line[512];
    size_t own = 0;
    int64_t as_of = promo_forecaster_as_of(f);
    for (size_t i = 0; i < n_rows; i++) {
        const promo_forecast_pick *p = &fc->picks[i];
        uint32_t frow = promo_api_customer_row(api, p->customer_id);
        uint32_t trow = frow != UINT32_MAX ? api->cust_table_row[frow] : UINT32_MAX;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "customer_id", p->customer_id);
        api_add_str(o, "name", trow != UINT32_MAX ? col_str(d->customers, "name", trow) : NULL);
        api_add_str(o, "location",
                    trow != UINT32_MAX ? col_str(d->customers, "location", trow) : NULL);
        api_add_str(o, "segment", segment_label(api, frow, sb, sizeof sb));
        api_add_num(o, "probability", p->probability);
        api_add_num(o, "uplift", p->uplift);
        api_add_num(o, "expected_profit", p->expected_profit);
        if (i < n_expl && reasons[i][0]) {
            cJSON_AddStringToObject(o, "reason", reasons[i]);
        } else {
            snprintf(line, sizeof line,
                     "expected to buy with the offer at %.0f%% against %.0f%% without it",
                     100 * p->probability, 100 * p->p0);
            cJSON_AddStringToObject(o, "reason", line);
        }
        cJSON_AddBoolToObject(o, "holdout", p->holdout);
        if (r.send_time_best) {
            row_slot(pr, p->customer_id, as_of, o, &own);
        } else {
            cJSON_AddNumberToObject(o, "send_day", 0);
            cJSON_AddNumberToObject(o, "send_hour", 10);
        }
        cJSON_AddItemToArray(rows, o);
    }
    targeting_json(b, &r, pr, n_ex, own);
    bundle_json(api, b, &r, &bu);
    rc = api_ok(out, b);
    b = NULL;
done:
    cJSON_Delete(b);
    promo_free(reasons);
    promo_free(ids);
    promo_forecast_free(fc);
    return rc;
}

static cJSON *matrix_json(const double *m, size_t rows, size_t cols)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < rows; i++) {
        cJSON *row = cJSON_CreateArray();
        for (size_t j = 0; j < cols; j++) {
            double v = m[i * cols + j];
            cJSON_AddItemToArray(row, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
        }
        cJSON_AddItemToArray(a, row);
    }
    return a;
}

int promo_api_optimize(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    api_optimize_req r;
    if (api_parse_optimize(call->body, &r, out))
        return 0;
    uint32_t prow = 0;
    int rc = find_product(api, call->ctx, r.product_id, &prow, out);
    if (rc)
        return rc < 0 ? -rc : 0;
    promo_forecaster *f = NULL;
    if ((rc = promo_api_forecaster(api, call->ctx, &f)))
        return promo_api_fail_engine(out, rc, NULL);
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = r.product_id;
    if (r.n_discounts) {
        sp.discounts = r.discounts;
        sp.n_discounts = r.n_discounts;
    }
    sp.max_target = r.max_target > 0 ? (size_t)r.max_target : 0;
    /* As promo campaign --optimize: the customers the fatigue rule suppresses are no rows, so
     * the surface is of the campaigns the engine sends */
    uint8_t *mask = NULL;
    size_t n_ex = 0;
    if (r.fatigue && (rc = fatigue_exclude(api, call->ctx, f, &mask, &n_ex)))
        return promo_api_fail_engine(out, rc, NULL);
    if (n_ex && n_ex == promo_forecaster_n_customers(f)) {
        promo_free(mask);
        return promo_api_fail(out, 400, "fatigue",
                              "every one of the %zu customers is suppressed for fatigue: no one "
                              "to target (\"fatigue\": \"off\")",
                              n_ex);
    }
    sp.exclude = mask;
    promo_surface *sf = NULL;
    pthread_mutex_lock(&api->forecast_mu);
    rc = promo_forecast_surface(f, &sp, &sf);
    pthread_mutex_unlock(&api->forecast_mu);
    promo_free(mask);
    if (rc)
        return promo_api_fail_engine(out, rc, "product_id");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "product_id", r.product_id);
    api_add_str(b, "product_name", product_name(api, prow));
    cJSON_AddNumberToObject(b, "n_customers", (double)sf->n_customers);
    cJSON_AddNumberToObject(b, "n_candidates", (double)sf->n_candidates);
    cJSON_AddStringToObject(b, "fatigue", r.fatigue ? "suppress" : "off");
    cJSON_AddNumberToObject(b, "suppressed_fatigue", (double)n_ex);
    cJSON *ds = cJSON_AddArrayToObject(b, "discounts");
    for (size_t i = 0; i < sf->n_discounts; i++)
        cJSON_AddItemToArray(ds, cJSON_CreateNumber(sf->discounts[i]));
    cJSON *ts = cJSON_AddArrayToObject(b, "targets");
    for (size_t j = 0; j < sf->n_targets; j++)
        cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)sf->targets[j]));
    cJSON_AddItemToObject(b, "profit", matrix_json(sf->profit, sf->n_discounts, sf->n_targets));
    cJSON_AddItemToObject(b, "revenue", matrix_json(sf->revenue, sf->n_discounts, sf->n_targets));
    cJSON_AddItemToObject(b, "conversions",
                          matrix_json(sf->conversions, sf->n_discounts, sf->n_targets));
    cJSON_AddItemToObject(b, "incremental_conversions",
                          matrix_json(sf->incremental_conversions, sf->n_discounts, sf->n_targets));
    cJSON_AddItemToObject(b, "roi", matrix_json(sf->roi, sf->n_discounts, sf->n_targets));
    /* The discounts the optimum was sought among (the log's range): cells outside it are the
     * model's extrapolation, shown but never the optimum. */
    cJSON *sup = cJSON_AddArrayToObject(b, "support");
    cJSON_AddItemToArray(sup, cJSON_CreateNumber(sf->support_lo));
    cJSON_AddItemToArray(sup, cJSON_CreateNumber(sf->support_hi));
    cJSON_AddItemToObject(b, "optimum", optimum_json(&sf->optimum));
    promo_surface_free(sf);
    return api_ok(out, b);
}

int promo_api_simulate(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    api_simulate_req r;
    if (api_parse_simulate(call->body, &r, out))
        return 0;
    uint32_t prow = 0;
    int rc = find_product(api, call->ctx, r.product_id, &prow, out);
    if (rc)
        return rc < 0 ? -rc : 0;
    promo_world *w = NULL;
    if ((rc = promo_api_world(api, call->ctx, &w)))
        return promo_api_fail_engine(out, rc, NULL);
    uint32_t wx = promo_world_product_index(w, r.product_id);
    if (wx == PROMO_SYNTH_NONE)
        return promo_api_fail(out, 404, "product_id", "product '%s' is not in the generated world",
                              r.product_id);
    /* The customers the campaign route would pick with its defaults, every one contacted. */
    const char **ids = NULL;
    size_t n = 0;
    const char *ranked = NULL;
    promo_forecast *fc = NULL;
    promo_campaign *c = NULL;
    promo_forecaster *f = NULL;
    rc = promo_api_forecaster(api, call->ctx, &f);
    if (!rc) {
        promo_forecast_request fr = promo_forecast_request_default();
        fr.product_id = r.product_id;
        fr.discount_pct = r.discount_pct;
        fr.n_target = (size_t)r.target;
        pthread_mutex_lock(&api->forecast_mu);
        rc = promo_forecast_point(f, &fr, &fc);
        pthread_mutex_unlock(&api->forecast_mu);
        if (rc)
            return promo_api_fail_engine(out, rc, "product_id");
        n = fc->n;
        ranked = "profit";
    } else if (rc == PROMO_ENOTFOUND) {
        promo_campaign_params p = promo_campaign_params_default();
        p.product_id = r.product_id;
        p.discount_pct = r.discount_pct;
        p.n_target = (size_t)r.target;
        p.holdout_pct = 0;
        promo_store *s = NULL;
        if ((rc = promo_api_store(api, call->ctx, &s)))
            return rc;
        pthread_mutex_lock(&api->engine_mu);
        api_scorer_lend(api, call->ctx);
        rc = promo_campaign_select(api->scorer, &p, &c);
        api_scorer_unlend(api, call->ctx);
        pthread_mutex_unlock(&api->engine_mu);
        if (rc)
            return promo_api_fail_engine(out, rc, "product_id");
        n = c->n;
        ranked = "probability";
    } else {
        return rc;
    }
    promo_offer *offers = promo_calloc(n ? n : 1, sizeof *offers);
    size_t m = 0;
    cJSON *b = NULL;
    if (!offers) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = fc ? fc->picks[i].customer_id : c->picks[i].customer_id;
        uint32_t wi = promo_world_customer_index(w, id);
        if (wi == PROMO_SYNTH_NONE)
            continue;
        offers[m++] = (promo_offer){wi, wx, r.discount_pct, 0, 10, PROMO_SYNTH_NONE};
    }
    promo_sim_params sp = promo_sim_params_default();
    sp.n_threads = api->n_threads;
    promo_sim_result res;
    pthread_mutex_lock(&api->engine_mu);
    rc = promo_simulate(w, offers, m, &sp, &res);
    pthread_mutex_unlock(&api->engine_mu);
    if (rc)
        goto done;
    (void)ids;
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "product_id", r.product_id);
    cJSON_AddNumberToObject(b, "discount_pct", r.discount_pct);
    cJSON_AddStringToObject(b, "ranked_by", ranked);
    api_add_num(b, "contacts", res.contacts.mean);
    api_add_num(b, "conversions", res.conversions.mean);
    api_add_num(b, "incremental_conversions", res.incremental_conversions.mean);
    api_add_num(b, "incremental_revenue", res.incremental_revenue.mean);
    api_add_num(b, "incremental_profit", res.incremental_profit.mean);
    api_add_num(b, "roi", res.roi.mean);
    cJSON_AddNumberToObject(b, "draws", res.n_draws);
    cJSON *iv = cJSON_AddObjectToObject(b, "interval");
    cJSON_AddNumberToObject(iv, "level", sp.interval);
    cJSON *ip = cJSON_AddArrayToObject(iv, "incremental_profit");
    cJSON_AddItemToArray(ip, cJSON_CreateNumber(res.incremental_profit.lo));
    cJSON_AddItemToArray(ip, cJSON_CreateNumber(res.incremental_profit.hi));
    rc = api_ok(out, b);
    b = NULL;
done:
    cJSON_Delete(b);
    promo_free(offers);
    promo_forecast_free(fc);
    promo_campaign_free(c);
    return rc;
}

int promo_api_similar_products(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    api_similar_req r;
    if (api_parse_similar(call->body, &r, out))
        return 0;
    promo_scorer *h = NULL;
    int rc = promo_api_scorer(api, call->ctx, &h);
    if (rc)
        return promo_api_fail_engine(out, rc, NULL);
    promo_similar_query q = promo_similar_query_default();
    q.category = r.category;
    q.price = r.price;
    q.name = r.has_name ? r.name : NULL;
    q.brand = r.has_brand ? r.brand : NULL;
    q.k = (size_t)r.k;
    q.n_threads = api->n_threads;
    promo_similar_result res;
    memset(&res, 0, sizeof res);
    pthread_mutex_lock(&api->engine_mu);
    rc = promo_similar_find_panel(promo_scorer_panel(h), &q, &res);
    pthread_mutex_unlock(&api->engine_mu);
    if (rc)
        return promo_api_fail_engine(out, rc, NULL);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddBoolToObject(b, "category_known", res.category_known);
    cJSON *nb = cJSON_AddArrayToObject(b, "neighbours");
    for (size_t i = 0; i < res.n_products; i++) {
        const promo_similar_product *p = &res.products[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "product_id", p->product_id);
        api_add_str(o, "name", p->name[0] ? p->name : NULL);
        api_add_str(o, "category", p->category[0] ? p->category : NULL);
        api_add_num(o, "price", p->price);
        api_add_num(o, "similarity", p->similarity);
        cJSON_AddItemToArray(nb, o);
    }
    cJSON *cs = cJSON_AddArrayToObject(b, "customers");
    for (size_t i = 0; i < res.n_customers; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "customer_id", res.customers[i].customer_id);
        api_add_num(o, "score", res.customers[i].score);
        cJSON_AddItemToArray(cs, o);
    }
    /* The suggested campaign: the closest neighbour at its optimum, when an uplift model can
     * forecast it. */
    promo_forecaster *f = NULL;
    promo_surface_optimum opt;
    promo_forecast *fc = NULL;
    int frc = res.n_products ? promo_api_forecaster(api, call->ctx, &f) : PROMO_ENOTFOUND;
    if (!frc)
        frc = optimum_of(api, call->ctx, f, res.products[0].product_id, INFINITY, 0, &opt);
    if (!frc) {
        promo_forecast_request fr = promo_forecast_request_default();
        fr.product_id = res.products[0].product_id;
        fr.discount_pct = opt.discount_pct;
        fr.n_target = opt.target ? opt.target : 1;
        pthread_mutex_lock(&api->forecast_mu);
        frc = promo_forecast_point(f, &fr, &fc);
        pthread_mutex_unlock(&api->forecast_mu);
    }
    if (!frc) {
        cJSON *sc = cJSON_AddObjectToObject(b, "suggested_campaign");
        cJSON_AddStringToObject(sc, "product_id", fc->product_id);
        cJSON_AddNumberToObject(sc, "discount_pct", fc->discount_pct);
        cJSON_AddNumberToObject(sc, "target", (double)fc->n);
        cJSON_AddItemToObject(sc, "forecast", figures_json(&fc->figures));
    } else if (frc == PROMO_ENOTFOUND || frc == PROMO_EINPUT) {
        cJSON_AddNullToObject(b, "suggested_campaign");
    } else {
        rc = frc;
    }
    promo_forecast_free(fc);
    promo_similar_result_free(&res);
    if (rc) {
        cJSON_Delete(b);
        return rc;
    }
    return api_ok(out, b);
}

int promo_api_crosssell(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    api_crosssell_req r;
    if (api_parse_crosssell(call->body, &r, out))
        return 0;
    uint32_t prow = 0;
    int rc = find_product(api, call->ctx, r.product_id, &prow, out);
    if (rc)
        return rc < 0 ? -rc : 0;
    /* The rules are mined from every order per request: the answer is kept per (product,
     * target) until the workspace moves. */
    char key[API_ID_MAX + 32];
    snprintf(key, sizeof key, "%s\x1f%ld", r.product_id, r.target);
    pthread_mutex_lock(&api->cache_mu);
    const cJSON *hit = api_cache_get(api->xsell, key);
    cJSON *b = hit ? cJSON_Duplicate(hit, 1) : NULL;
    pthread_mutex_unlock(&api->cache_mu);
    if (hit)
        return api_ok(out, b);
    promo_crosssell_params p = promo_crosssell_params_default();
    p.product_id = r.product_id;
    p.n_target = (size_t)r.target;
    p.n_threads = api->n_threads;
    promo_crosssell *c = NULL;
    promo_store *s = NULL;
    if ((rc = promo_api_store(api, call->ctx, &s)))
        return rc;
    if ((rc = promo_crosssell_build(s, &p, &c))) {
        if (rc == PROMO_ENOTFOUND) /* never bought: no rule can predict it */
            return promo_api_fail(out, 404, "product_id", "%s", promo_last_error());
        return promo_api_fail_engine(out, rc, "product_id");
    }
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "product_id", r.product_id);
    cJSON_AddNumberToObject(b, "orders", (double)c->n_orders);
    cJSON *rules = cJSON_AddArrayToObject(b, "rules");
    for (size_t i = 0; i < c->n_rules && i < PROMO_API_MAX_ROWS; i++) {
        const promo_crosssell_rule *ru = &c->rules[i];
        cJSON *o = cJSON_CreateObject();
        cJSON *ante = cJSON_AddArrayToObject(o, "antecedent");
        for (const char *a = ru->antecedent; a && *a;) {
            const char *e = strchr(a, '+');
            size_t len = e ? (size_t)(e - a) : strlen(a);
            char id[API_ID_MAX];
            snprintf(id, sizeof id, "%.*s", (int)(len < sizeof id ? len : sizeof id - 1), a);
            cJSON_AddItemToArray(ante, cJSON_CreateString(id));
            a += len + (e ? 1 : 0);
        }
        cJSON_AddStringToObject(o, "consequent", r.product_id);
        api_add_num(o, "support", ru->support);
        api_add_num(o, "confidence", ru->confidence);
        api_add_num(o, "lift", ru->lift);
        cJSON_AddItemToArray(rules, o);
    }
    cJSON *cs = cJSON_AddArrayToObject(b, "customers");
    const promo_table *t = c->file;
    const promo_column *cconf = t ? promo_table_column(t, "confidence") : NULL;
    for (size_t i = 0; t && i < t->n_rows && i < PROMO_API_MAX_ROWS; i++) {
        cJSON *o = cJSON_CreateObject();
        api_add_str(o, "customer_id", col_str(t, "customer_id", i));
        api_add_str(o, "antecedent_product_id", col_str(t, "bundle_product_id", i));
        api_add_num(o, "confidence",
                    cconf && !promo_column_is_null(cconf, i) ? promo_column_num(cconf, i) : NAN);
        cJSON_AddItemToArray(cs, o);
    }
    promo_crosssell_free(c);
    cJSON *copy = b ? cJSON_Duplicate(b, 1) : NULL;
    if (copy) {
        pthread_mutex_lock(&api->cache_mu);
        rc = api_cache_put(api->xsell, key, copy);
        pthread_mutex_unlock(&api->cache_mu);
        if (rc) {
            cJSON_Delete(b);
            return rc;
        }
    }
    return api_ok(out, b);
}
