/* The campaign forecaster (promo/forecast.h): point forecasts, the response surface, its
 * optimum, budgets, intervals, the cache, and promo campaign --optimize / --budget. */
#include "t.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/plot.h>
#include <promo/store.h>
#include <promo/synth.h>

#include "t_world.h"

/* One small world with its uplift model, trained once for every test of this file. */
static const char *fixture(void)
{
    static char ws[1024];
    if (ws[0])
        return ws;
    char args[1300];
    t_world_write(ws, sizeof ws, 400, 40, 5, 10, 20000);
    snprintf(args, sizeof args, "train --ws %s --model uplift -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    return ws;
}

static promo_forecaster *open_fc(promo_store **s)
{
    promo_forecaster *f = NULL;
    T_OK(promo_store_open(fixture(), 0, s));
    T_OK(promo_forecaster_open(*s, 0, 1, &f));
    return f;
}

T_TEST(forecast_surface_is_cumulative_and_its_optimum_is_its_max)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    size_t n = promo_forecaster_n_customers(f);
    T_ASSERT(n > 100);
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = "PROD00001";
    sp.max_points = 50;
    promo_surface *sf = NULL;
    T_OK(promo_forecast_surface(f, &sp, &sf));
    T_ASSERT_EQ_INT(sf->n_discounts, 51);
    T_ASSERT(sf->n_targets <= 50 && sf->n_targets >= 2);
    T_ASSERT_EQ_INT(sf->targets[sf->n_targets - 1], n);
    for (size_t j = 1; j < sf->n_targets; j++)
        T_ASSERT(sf->targets[j] > sf->targets[j - 1]);
    double best = -INFINITY;
    size_t bi = 0, bj = 0;
    for (size_t i = 0; i < sf->n_discounts; i++) {
        T_ASSERT_NEAR(sf->discounts[i], (double)i, 0);
        for (size_t j = 0; j < sf->n_targets; j++) {
            size_t c = i * sf->n_targets + j;
            /* more customers: never fewer expected buyers, never less spent */
            if (j) {
                T_ASSERT(sf->conversions[c] >= sf->conversions[c - 1] - 1e-12);
                T_ASSERT(sf->spend[c] >= sf->spend[c - 1] - 1e-12);
            }
            int inside = sf->discounts[i] >= sf->support_lo && sf->discounts[i] <= sf->support_hi;
            if (inside && sf->profit[c] > best) {
                best = sf->profit[c];
                bi = i;
                bj = j;
            }
        }
        /* best first: the mean profit of the first customers is at least everyone's */
        T_ASSERT(sf->profit[i * sf->n_targets] / (double)sf->targets[0] >=
                 sf->profit[i * sf->n_targets + sf->n_targets - 1] / (double)n - 1e-9);
    }
    /* the log's discounts (5-30% in a generated world) bound where the optimum is sought */
    double lo = 0, hi = 0;
    promo_forecaster_discount_range(f, &lo, &hi);
    T_ASSERT(lo >= 5 && lo <= hi && hi <= 30);
    T_ASSERT(sf->support_lo == lo && sf->support_hi == hi);
    /* the optimum is a cell, and no cell of the supported discounts beats it */
    const promo_surface_optimum *o = &sf->optimum;
    T_ASSERT_NEAR(o->figures.incremental_profit, best, 1e-9);
    T_ASSERT_EQ_INT(o->discount_index, bi);
    T_ASSERT_EQ_INT(o->target_index, bj);
    T_ASSERT_EQ_INT(sf->targets[o->target_index], o->target);
    T_ASSERT_NEAR(o->discount_pct, sf->discounts[o->discount_index], 0);
    T_ASSERT(o->figures.profit_lo <= o->figures.incremental_profit &&
             o->figures.incremental_profit <= o->figures.profit_hi);
    /* the optimum's count at its discount: every customer of positive expected profit */
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = "PROD00001";
    r.discount_pct = o->discount_pct;
    r.n_target = 0;
    promo_forecast *all = NULL;
    T_OK(promo_forecast_point(f, &r, &all));
    size_t pos = 0;
    for (size_t k = 0; k < all->n; k++) {
        pos += all->picks[k].expected_profit > 0;
        if (k)
            T_ASSERT(all->picks[k].expected_profit <= all->picks[k - 1].expected_profit);
    }
    T_ASSERT_EQ_INT(o->target, pos ? pos : 1);
    promo_forecast_free(all);
    promo_surface_free(sf);
    promo_forecaster_free(f);
    promo_store_close(s);
}

T_TEST(forecast_point_equals_the_surface_cell)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    static const double grid[] = {0, 7, 15, 30};
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = "PROD00002";
    sp.discounts = grid;
    sp.n_discounts = 4;
    sp.max_target = 300;
    sp.max_points = 20;
    promo_surface *sf = NULL;
    T_OK(promo_forecast_surface(f, &sp, &sf));
    T_ASSERT_EQ_INT(sf->targets[sf->n_targets - 1], 300);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < sf->n_targets; j += 3) {
            promo_forecast_request r = promo_forecast_request_default();
            r.product_id = "PROD00002";
            r.discount_pct = grid[i];
            r.n_target = sf->targets[j];
            promo_forecast *fc = NULL;
            T_OK(promo_forecast_point(f, &r, &fc));
            size_t c = i * sf->n_targets + j;
            T_ASSERT_EQ_INT(fc->n, sf->targets[j]);
            T_ASSERT_EQ_INT(fc->figures.contacts, sf->targets[j]);
            T_ASSERT_NEAR(fc->figures.incremental_profit, sf->profit[c], 1e-9);
            T_ASSERT_NEAR(fc->figures.incremental_revenue, sf->revenue[c], 1e-9);
            T_ASSERT_NEAR(fc->figures.expected_conversions, sf->conversions[c], 1e-9);
            T_ASSERT_NEAR(fc->figures.incremental_conversions, sf->incremental_conversions[c],
                          1e-9);
            double sum = 0;
            for (size_t k = 0; k < fc->n; k++) {
                const promo_forecast_pick *p = &fc->picks[k];
                sum += p->expected_profit;
                T_ASSERT_NEAR(p->uplift, p->probability - p->p0, 1e-12);
                T_ASSERT_STR_EQ(p->customer_id, promo_forecaster_customer_id(f, p->customer));
            }
            T_ASSERT_NEAR(sum, fc->figures.incremental_profit, 1e-6);
            promo_forecast_free(fc);
        }
    promo_surface_free(sf);
    promo_forecaster_free(f);
    promo_store_close(s);
}

T_TEST(forecast_budget_interval_rankings_and_cache)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = "PROD00001";
    r.discount_pct = 20;
    r.n_target = 200;
    promo_forecast *a = NULL, *b = NULL;
    T_OK(promo_forecast_point(f, &r, &a));
    double full = a->figures.discount_cost + a->figures.contact_cost;
    T_ASSERT(full > 0);
    /* a budget of a third of that: within it, and the next customer would not fit */
    r.budget = full / 3;
    T_OK(promo_forecast_point(f, &r, &b));
    double spent = b->figures.discount_cost + b->figures.contact_cost;
    T_ASSERT_MSG(spent <= r.budget + 1e-9, "spent %g of %g", spent, r.budget);
    T_ASSERT(b->budget_bound);
    T_ASSERT(b->n < a->n && b->n > 0);
    for (size_t k = 0; k < b->n; k++) /* the same customers first */
        T_ASSERT_EQ_INT(b->picks[k].customer, a->picks[k].customer);
    const promo_forecast_pick *nx = &a->picks[b->n];
    T_ASSERT(spent + nx->probability * a->price * 0.20 + nx->contact_cost > r.budget);
    promo_forecast_free(b);
    b = NULL;
    /* intervals: contain the estimate, widen with N */
    double prev_w = -1;
    for (size_t n = 10; n <= 400; n *= 2) {
        r.budget = INFINITY;
        r.n_target = n;
        T_OK(promo_forecast_point(f, &r, &b));
        const promo_forecast_figures *g = &b->figures;
        T_ASSERT(g->profit_lo <= g->incremental_profit && g->incremental_profit <= g->profit_hi);
        double w = g->profit_hi - g->profit_lo;
        T_ASSERT_MSG(w >= prev_w, "width %g after %g", w, prev_w);
        prev_w = w;
        promo_forecast_free(b);
        b = NULL;
    }
    /* 95% is wider than 90% */
    r.n_target = 100;
    r.interval = 0.95;
    T_OK(promo_forecast_point(f, &r, &b));
    promo_forecast *c90 = NULL;
    r.interval = 0.90;
    T_OK(promo_forecast_point(f, &r, &c90));
    T_ASSERT(b->figures.profit_hi - b->figures.profit_lo >
             c90->figures.profit_hi - c90->figures.profit_lo);
    promo_forecast_free(b);
    b = NULL;
    /* rankings */
    r.rank_by = PROMO_FORECAST_RANK_UPLIFT;
    T_OK(promo_forecast_point(f, &r, &b));
    for (size_t k = 1; k < b->n; k++)
        T_ASSERT(b->picks[k].uplift <= b->picks[k - 1].uplift);
    promo_forecast_free(b);
    r.rank_by = PROMO_FORECAST_RANK_PROBABILITY;
    T_OK(promo_forecast_point(f, &r, &b));
    for (size_t k = 1; k < b->n; k++)
        T_ASSERT(b->picks[k].probability <= b->picks[k - 1].probability);
    promo_forecast_free(b);
    /* the holdout: round(n x share) kept back, the figures count the contacted */
    r.rank_by = PROMO_FORECAST_RANK_PROFIT;
    r.holdout_pct = 10;
    T_OK(promo_forecast_point(f, &r, &b));
    T_ASSERT_EQ_INT(b->n_holdout, 10);
    T_ASSERT_EQ_INT(b->figures.contacts, 90);
    promo_forecast_free(b);
    r.holdout_pct = 0;
    /* without a cache the figures are the same */
    promo_forecaster_set_cache_bytes(f, 0);
    T_OK(promo_forecast_point(f, &r, &b));
    T_ASSERT(b->figures.incremental_profit == c90->figures.incremental_profit);
    promo_forecast_free(b);
    promo_forecast_free(c90);
    promo_forecast_free(a);
    /* bad requests name the field */
    static const struct {
        double discount, budget, interval;
        const char *product, *field;
    } bad[] = {
        {95, INFINITY, 0.9, "PROD00001", "discount_pct"},
        {10, -1, 0.9, "PROD00001", "budget"},
        {10, INFINITY, 1.5, "PROD00001", "interval"},
        {10, INFINITY, 0.9, "NOPE", "product_id"},
        {10, INFINITY, 0.9, "", "product_id"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        r.discount_pct = bad[k].discount;
        r.budget = bad[k].budget;
        r.interval = bad[k].interval;
        r.product_id = bad[k].product;
        b = NULL;
        T_ASSERT(promo_forecast_point(f, &r, &b) != 0);
        T_ASSERT(b == NULL);
        T_ASSERT_CONTAINS(promo_last_error(), bad[k].field);
    }
    promo_forecast_rank rk;
    T_OK(promo_forecast_rank_parse("uplift", &rk));
    T_ASSERT_EQ_INT(rk, PROMO_FORECAST_RANK_UPLIFT);
    T_ASSERT(promo_forecast_rank_parse("nope", &rk) == PROMO_EUSAGE);
    promo_forecaster_free(f);
    promo_store_close(s);
}

T_TEST(forecast_surface_budget_caps_the_optimum)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = "PROD00001";
    promo_surface *free_sf = NULL, *sf = NULL;
    T_OK(promo_forecast_surface(f, &sp, &free_sf));
    const promo_forecast_figures *g = &free_sf->optimum.figures;
    double cap = (g->discount_cost + g->contact_cost) / 2;
    sp.budget = cap;
    T_OK(promo_forecast_surface(f, &sp, &sf));
    const promo_forecast_figures *h = &sf->optimum.figures;
    T_ASSERT(h->discount_cost + h->contact_cost <= cap + 1e-9);
    T_ASSERT(h->incremental_profit <= g->incremental_profit + 1e-9);
    T_ASSERT(sf->optimum.target >= 1);
    /* a budget too small for anyone: the empty campaign */
    promo_surface_free(sf);
    sp.budget = 0;
    T_OK(promo_forecast_surface(f, &sp, &sf));
    T_ASSERT_EQ_INT(sf->optimum.target, 0);
    T_ASSERT_NEAR(sf->optimum.figures.incremental_profit, 0, 0);
    promo_surface_free(sf);
    promo_surface_free(free_sf);
    promo_forecaster_free(f);
    promo_store_close(s);
}

/* The optimizer's campaign, played in the simulator, earns more than sending the offer to
 * everyone (at the compare default of 10%). */
T_TEST(forecast_optimized_campaign_beats_broadcast_in_the_simulator)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    promo_world *w = NULL;
    T_OK(promo_world_load(s, &w));
    const char *prod = "PROD00001";
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = prod;
    promo_surface *sf = NULL;
    T_OK(promo_forecast_surface(f, &sp, &sf));
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = prod;
    r.discount_pct = sf->optimum.discount_pct;
    r.n_target = sf->optimum.target;
    promo_forecast *fc = NULL;
    T_OK(promo_forecast_point(f, &r, &fc));
    uint32_t x = promo_world_product_index(w, prod), nc = promo_world_n_customers(w);
    promo_offer *o = promo_mallocn(nc, sizeof *o);
    size_t k = 0;
    for (size_t j = 0; j < fc->n; j++) {
        uint32_t i = promo_world_customer_index(w, fc->picks[j].customer_id);
        if (i != PROMO_SYNTH_NONE)
            o[k++] = (promo_offer){i, x, r.discount_pct, 0, 10, PROMO_SYNTH_NONE};
    }
    promo_sim_params sim = promo_sim_params_default();
    sim.n_draws = 100;
    promo_sim_result opt, all;
    T_OK(promo_simulate(w, o, k, &sim, &opt));
    for (uint32_t i = 0; i < nc; i++)
        o[i] = (promo_offer){i, x, 10, 0, 10, PROMO_SYNTH_NONE};
    T_OK(promo_simulate(w, o, nc, &sim, &all));
    T_ASSERT_MSG(opt.incremental_profit.mean > all.incremental_profit.mean,
                 "optimized (%.0f%%, %zu) %.1f vs broadcast %.1f", r.discount_pct, k,
                 opt.incremental_profit.mean, all.incremental_profit.mean);
    promo_free(o);
    promo_forecast_free(fc);
    promo_surface_free(sf);
    promo_world_free(w);
    promo_forecaster_free(f);
    promo_store_close(s);
}

T_TEST(forecast_missing_model_is_not_found)
{
    char ws[1024];
    t_world_write(ws, sizeof ws, 60, 10, 3, 4, 2000);
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(promo_forecaster_open(s, 0, 1, &f), PROMO_ENOTFOUND);
    T_ASSERT(f == NULL);
    T_ASSERT_CONTAINS(promo_last_error(), "promo train --model uplift");
    promo_store_close(s);
}

static double json_num(const char *s, const char *key)
{
    const char *p = s ? strstr(s, key) : NULL;
    return p ? atof(p + strlen(key)) : NAN;
}

T_TEST(forecast_cli_optimize_budget_json_and_bad_input)
{
    const char *ws = fixture();
    char args[2600], csv[1200], surf[1200], *out = NULL, *err = NULL;
    snprintf(csv, sizeof csv, "%s/out/opt.csv", ws);
    snprintf(surf, sizeof surf, "%s/out/surface.csv", ws);
    /* Optimize mode picks the optimum itself, with fatigue suppression (the default) as
     * without: the suppressed are no rows of the surface, so the optimum is a campaign of the
     * others and the engine keeps it whole (gap 0, its count). The fixture's uplift ranking puts
     * fatigued customers among the best, so with the rule on the two optima differ. */
    int rc = 0;
    double d = 0, n = 0, n_free = 0, n_fatigued = 0;
    for (int fatigue = 0; fatigue < 2; fatigue++) {
        snprintf(args, sizeof args,
                 "campaign --ws %s --product PROD00001 --optimize --holdout 0 --json --out %s "
                 "--out-surface %s%s",
                 ws, csv, surf, fatigue ? "" : " --fatigue off");
        rc = t_promo(args, &out, &err);
        T_ASSERT_MSG(rc == 0, "campaign --optimize (fatigue %d): %s", fatigue, err);
        T_ASSERT_CONTAINS(out, "\"optimum\":{\"discount_pct\":");
        T_ASSERT_CONTAINS(out, "\"profit_interval\":[");
        T_ASSERT_CONTAINS(out, "\"gap_to_optimum\":0");
        d = json_num(out, "\"discount_pct\":");
        n = json_num(out, "\"target\":");
        T_ASSERT(d >= 5 && d <= 30); /* within the log's discounts */
        T_ASSERT(n >= 1 && n <= 400);
        const char *opt = strstr(out, "\"optimum\":{");
        T_ASSERT(opt != NULL);
        T_ASSERT_MSG(json_num(opt, "\"target\":") == n, "fatigue %d: target %g, optimum %g",
                     fatigue, n, json_num(opt, "\"target\":"));
        T_ASSERT(json_num(opt, "\"discount_pct\":") == d);
        if (fatigue)
            n_fatigued = n;
        else
            n_free = n;
        free(out);
        free(err);
        out = err = NULL;
    }
    T_ASSERT_MSG(n_fatigued < n_free, "optimum %g with fatigue, %g without", n_fatigued, n_free);
    /* the file has the forecaster's columns, and promo simulate reads it as it is */
    size_t len = 0;
    char *text = t_read_file(csv, &len);
    T_ASSERT(text != NULL);
    T_ASSERT_CONTAINS(text, ",uplift,expected_revenue,expected_profit");
    free(text);
    text = t_read_file(surf, &len);
    T_ASSERT(text != NULL);
    T_ASSERT_CONTAINS(text, "discount_pct,target,incremental_profit,incremental_revenue,");
    size_t lines = 0;
    for (size_t k = 0; k < len; k++)
        lines += text[k] == '\n';
    T_ASSERT(lines > 51 && lines <= 51 * 200 + 1);
    free(text);
    snprintf(args, sizeof args, "simulate --ws %s --campaign %s --draws 20", ws, csv);
    rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "simulate: %s", err);
    free(err);
    err = NULL;
    /* with a stored segmentation the file names each customer's segment */
    snprintf(args, sizeof args, "segment --ws %s --method tiers -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --rank-by probability --target 20 --out %s -q",
             ws, csv);
    rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "campaign --rank-by probability: %s", err);
    free(err);
    err = NULL;
    text = t_read_file(csv, &len);
    T_ASSERT(text != NULL);
    T_ASSERT_CONTAINS(text, ",expected_profit,segment\n");
    free(text);
    /* a budget caps the spend */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --discount 20 --target 300 --budget 500 "
             "--holdout 0 --json --out %s",
             ws, csv);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign --budget: %s", err);
    double spent = json_num(out, "\"discount_cost\":") + json_num(out, "\"contact_cost\":");
    T_ASSERT_MSG(spent <= 500 + 1e-6, "spent %g", spent);
    T_ASSERT_CONTAINS(out, "\"budget\":500");
    free(out);
    free(err);
    out = err = NULL;
    /* personalised discounts: the gap reported, the file's rows each with their discount */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --personalize --budget 200 --json --out %s", ws,
             csv);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign --personalize: %s", err);
    T_ASSERT_CONTAINS(out, "\"gap\":");
    T_ASSERT(json_num(out, "\"discount_cost\":") + json_num(out, "\"contact_cost\":") <=
             200 + 1e-6);
    free(out);
    free(err);
    out = err = NULL;
    snprintf(args, sizeof args, "simulate --ws %s --campaign %s --draws 20", ws, csv);
    rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "simulate personalised: %s", err);
    free(err);
    err = NULL;
    /* text mode prints the optimum and the surface's cuts */
    snprintf(args, sizeof args, "campaign --ws %s --product PROD00001 --optimize --out %s", ws,
             csv);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign --optimize: %s", err);
    T_ASSERT_CONTAINS(out, "profit by discount at");
    T_ASSERT_CONTAINS(out, "incremental profit");
    free(out);
    free(err);
    /* bad input: exit 2, the option named, nothing written */
    static const struct {
        const char *args, *needle;
    } bad[] = {
        {"--product PROD00001 --budget -5", "--budget"},
        {"--product PROD00001 --optimize --discount 95", "--discount"},
        {"--product NOPE --optimize", "--product"},
        {"--product PROD00001 --rank-by luck", "--rank-by"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *before = t_dir_digest(ws);
        snprintf(args, sizeof args, "campaign --ws %s %s", ws, bad[k].args);
        err = NULL;
        rc = t_promo(args, NULL, &err);
        T_ASSERT_MSG(rc == 2, "%s: exit %d", bad[k].args, rc);
        T_ASSERT_CONTAINS(err, bad[k].needle);
        char *after = t_dir_digest(ws);
        T_ASSERT_STR_EQ(before, after);
        free(before);
        free(after);
        free(err);
    }
}

T_TEST(forecast_personalized_discounts_fit_the_budget_with_a_bound)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    promo_personalize_params pp = promo_personalize_params_default();
    pp.product_id = "PROD00001";
    promo_personalized *free_x = NULL, *x = NULL;
    /* without a budget: every customer of positive profit at their best rung, gap 0 */
    T_OK(promo_forecast_personalize(f, &pp, &free_x));
    T_ASSERT(free_x->n > 0);
    T_ASSERT_NEAR(free_x->gap, 0, 1e-6);
    double sum = 0;
    for (size_t i = 0; i < free_x->n; i++) {
        T_ASSERT(free_x->picks[i].expected_profit > 0);
        double d = free_x->discount_pct[i];
        T_ASSERT(d == 5 || d == 10 || d == 15 || d == 20 || d == 25);
        sum += free_x->picks[i].expected_profit;
    }
    T_ASSERT_NEAR(sum, free_x->figures.incremental_profit, 1e-6);
    /* a budget of a third of that spend: within it, a bound above, the gap reported */
    const promo_forecast_figures *g = &free_x->figures;
    pp.budget = (g->discount_cost + g->contact_cost) / 3;
    T_OK(promo_forecast_personalize(f, &pp, &x));
    double spent = x->figures.discount_cost + x->figures.contact_cost;
    T_ASSERT_MSG(spent <= pp.budget + 1e-6, "spent %g of %g", spent, pp.budget);
    T_ASSERT(x->upper_bound >= x->figures.incremental_profit - 1e-9);
    T_ASSERT(x->upper_bound <= free_x->figures.incremental_profit + 1e-6);
    T_ASSERT(x->gap >= 0 && x->lambda > 0);
    T_ASSERT(x->figures.incremental_profit > 0);
    /* it earns at least what the best single discount earns within the same budget */
    double best_single = 0;
    for (double r = 5; r <= 25; r += 5) {
        promo_forecast_request q = promo_forecast_request_default();
        q.product_id = "PROD00001";
        q.discount_pct = r;
        q.n_target = 0;
        q.budget = pp.budget;
        promo_forecast *fc = NULL;
        T_OK(promo_forecast_point(f, &q, &fc));
        /* the best prefix within the budget: only the positive part counts */
        double cum = 0, best = 0;
        for (size_t k = 0; k < fc->n; k++) {
            cum += fc->picks[k].expected_profit;
            best = cum > best ? cum : best;
        }
        best_single = best > best_single ? best : best_single;
        promo_forecast_free(fc);
    }
    /* Greedy on marginal profit per cost is near-optimal, not exact: it may end a fraction
     * below the best uniform discount (seen: 70.71 vs 70.76 with the calibrated effects), never
     * far below it. */
    T_ASSERT_MSG(x->figures.incremental_profit >= 0.99 * best_single - 1e-6,
                 "personalised %g < 0.99 x %g", x->figures.incremental_profit, best_single);
    promo_personalized_free(x);
    promo_personalized_free(free_x);
    /* a bad ladder names the field */
    static const double bad[] = {10, 5};
    pp.ladder = bad;
    pp.n_ladder = 2;
    x = NULL;
    T_ASSERT(promo_forecast_personalize(f, &pp, &x) == PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "ladder");
    promo_forecaster_free(f);
    promo_store_close(s);
}

/* --fairness and --fair-attr on the forecaster's campaign (promo/fairness.h; its own tests in
 * test_fairness.c): the table, its JSON, the re-chosen selection and its cost. */
T_TEST(forecast_cli_fairness_report_and_enforcement)
{
    const char *ws = fixture();
    char args[2600], csv[1200], *out = NULL, *err = NULL;
    snprintf(csv, sizeof csv, "%s/out/fair.csv", ws);
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --target 120 --fairness --out %s", ws, csv);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign --fairness: %s", err);
    T_ASSERT_CONTAINS(out, "  gender:");
    T_ASSERT_CONTAINS(out, "  age:");
    T_ASSERT_CONTAINS(out, "  location:");
    T_ASSERT_CONTAINS(out, "disparate impact");
    free(out);
    free(err);
    out = err = NULL;
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --target 120 --fair-attr gender "
             "--fair-min-ratio 0.95 --holdout 0 --json --out %s",
             ws, csv);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign --fair-attr: %s", err);
    T_ASSERT_CONTAINS(out, "\"fairness\":{\"attributes\":[{\"attribute\":\"gender\"");
    T_ASSERT_CONTAINS(out, "\"enforced\":{\"attribute\":\"gender\",\"min_ratio\":0.95");
    double after = json_num(out, "\"disparate_impact_after\":");
    double cost = json_num(out, "\"cost\":");
    double before = json_num(out, "\"profit_before\":");
    double pafter = json_num(out, "\"profit_after\":");
    T_ASSERT_MSG(after >= 0.95, "ratio after %g", after);
    T_ASSERT(cost >= -1e-6);
    T_ASSERT_NEAR(before - pafter, cost, 1e-3);
    /* the campaign's figures are those of the re-chosen customers (no holdout: all of them) */
    double fprofit = json_num(out, "\"incremental_profit\":");
    T_ASSERT_NEAR(fprofit, pafter, 1e-3);
    T_ASSERT_EQ_INT((long long)json_num(out, "\"contacts\":"), 120);
    free(out);
    free(err);
    out = err = NULL;
    /* not with --personalize; a bad attribute is a usage error */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --personalize --fair-attr age --out %s", ws,
             csv);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    free(err);
    err = NULL;
    snprintf(args, sizeof args, "campaign --ws %s --product PROD00001 --fair-attr race", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "--fair-attr");
    free(err);
}

/* Anchors (forecast.h): the model called once per log discount gives the same surface and the
 * same point forecasts, bit for bit, as a call at every discount. */
T_TEST(forecast_anchors_equal_a_model_call_per_discount)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = "PROD00001";
    promo_surface *a = NULL, *b = NULL;
    size_t c0 = promo_forecaster_model_calls(f);
    T_OK(promo_forecast_surface(f, &sp, &a));
    size_t calls_anchored = promo_forecaster_model_calls(f) - c0;
    promo_forecaster_set_anchors(f, 0);
    c0 = promo_forecaster_model_calls(f);
    T_OK(promo_forecast_surface(f, &sp, &b));
    size_t calls_every = promo_forecaster_model_calls(f) - c0;
    T_ASSERT_EQ_INT(calls_every, 51);
    double lo = 0, hi = 0;
    promo_forecaster_discount_range(f, &lo, &hi);
    /* the generated log's discounts are 5, 10, ..., 30: six anchors cover 0..50 */
    T_ASSERT_MSG(calls_anchored >= 1 && calls_anchored <= 6, "%zu model calls", calls_anchored);
    T_ASSERT_EQ_INT(a->n_targets, b->n_targets);
    T_ASSERT_EQ_INT(a->optimum.target, b->optimum.target);
    T_ASSERT(a->optimum.discount_pct == b->optimum.discount_pct);
    size_t cells = a->n_discounts * a->n_targets;
    for (size_t c = 0; c < cells; c++) {
        T_ASSERT_MSG(a->profit[c] == b->profit[c], "cell %zu: %.17g vs %.17g", c, a->profit[c],
                     b->profit[c]);
        T_ASSERT(a->revenue[c] == b->revenue[c]);
        T_ASSERT(a->conversions[c] == b->conversions[c]);
        T_ASSERT(a->spend[c] == b->spend[c]);
    }
    promo_surface_free(a);
    promo_surface_free(b);
    /* point forecasts: a partial selection (small N) equals the walk of the sorted order, for
     * every ranking, at discounts inside and between the log's values */
    static const double ds[] = {3, 12, 25, 33};
    for (size_t di = 0; di < 4; di++)
        for (int rk = 0; rk < PROMO_FORECAST_RANK_COUNT; rk++) {
            promo_forecast_request r = promo_forecast_request_default();
            r.product_id = "PROD00001";
            r.discount_pct = ds[di];
            r.rank_by = (promo_forecast_rank)rk;
            r.n_target = 30;
            promo_forecast *x = NULL, *y = NULL;
            promo_forecaster_set_anchors(f, 1); /* empties the cache: partial selection */
            T_OK(promo_forecast_point(f, &r, &x));
            promo_forecaster_set_anchors(f, 0);
            promo_forecast_request every = r; /* every customer: leaves the entry sorted */
            every.n_target = 0;
            promo_forecast *z = NULL;
            T_OK(promo_forecast_point(f, &every, &z));
            promo_forecast_free(z);
            T_OK(promo_forecast_point(f, &r, &y));
            T_ASSERT_EQ_INT(x->n, y->n);
            for (size_t j = 0; j < x->n; j++)
                T_ASSERT_MSG(x->picks[j].customer == y->picks[j].customer,
                             "discount %g rank %d pick %zu", ds[di], rk, j);
            T_ASSERT(x->figures.incremental_profit == y->figures.incremental_profit);
            promo_forecast_free(x);
            promo_forecast_free(y);
        }
    promo_forecaster_free(f);
    promo_store_close(s);
}

static int same_figures(const promo_forecast_figures *a, const promo_forecast_figures *b)
{
    return a->contacts == b->contacts && a->expected_conversions == b->expected_conversions &&
           a->incremental_conversions == b->incremental_conversions &&
           a->incremental_revenue == b->incremental_revenue &&
           a->discount_cost == b->discount_cost && a->contact_cost == b->contact_cost &&
           a->incremental_profit == b->incremental_profit && a->profit_var == b->profit_var &&
           a->profit_lo == b->profit_lo && a->profit_hi == b->profit_hi;
}

/* The surface sorts each discount by its own most-significant-digit radix sort and walks rows
 * of its own; its cells must be, bit for bit, the point forecasts of the same (discount,
 * count), which sort an entry (radix_order) and add its picks one by one: the same customers
 * in the same order (ties by customer index), the same sums. Over every count of the grid, at
 * discounts below, at and between the log's values, for a plain surface, one of fewer counts
 * than customers, and one under a budget (its optimum too). */
T_TEST(forecast_surface_cells_equal_the_point_forecasts_bit_for_bit)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    size_t n = promo_forecaster_n_customers(f);
    static const size_t check[] = {0, 4, 5, 17, 30, 50};
    for (int variant = 0; variant < 3; variant++) {
        promo_surface_params sp = promo_surface_params_default();
        sp.product_id = variant == 1 ? "PROD00002" : "PROD00001";
        if (variant == 1) {
            sp.max_target = n / 3;
            sp.max_points = 40;
        }
        if (variant == 2) {
            promo_surface *free_sf = NULL;
            T_OK(promo_forecast_surface(f, &sp, &free_sf));
            const promo_forecast_figures *g = &free_sf->optimum.figures;
            sp.budget = (g->discount_cost + g->contact_cost) / 3;
            promo_surface_free(free_sf);
        }
        promo_surface *sf = NULL;
        T_OK(promo_forecast_surface(f, &sp, &sf));
        for (size_t ci = 0; ci < sizeof check / sizeof check[0]; ci++) {
            size_t i = check[ci];
            for (size_t j = 0; j < sf->n_targets; j++) {
                promo_forecast_request r = promo_forecast_request_default();
                r.product_id = sp.product_id;
                r.discount_pct = sf->discounts[i];
                r.n_target = sf->targets[j];
                promo_forecast *fc = NULL;
                T_OK(promo_forecast_point(f, &r, &fc));
                size_t c = i * sf->n_targets + j;
                const promo_forecast_figures *g = &fc->figures;
                T_ASSERT_MSG(g->incremental_profit == sf->profit[c],
                             "variant %d discount %g count %zu: %.17g vs %.17g", variant,
                             sf->discounts[i], sf->targets[j], g->incremental_profit,
                             sf->profit[c]);
                T_ASSERT(g->incremental_revenue == sf->revenue[c]);
                T_ASSERT(g->expected_conversions == sf->conversions[c]);
                T_ASSERT(g->incremental_conversions == sf->incremental_conversions[c]);
                T_ASSERT(g->discount_cost + g->contact_cost == sf->spend[c]);
                T_ASSERT((isnan(g->roi) && isnan(sf->roi[c])) || g->roi == sf->roi[c]);
                promo_forecast_free(fc);
            }
        }
        /* the optimum: its forecast, interval included */
        const promo_surface_optimum *o = &sf->optimum;
        T_ASSERT(o->target >= 1);
        promo_forecast_request r = promo_forecast_request_default();
        r.product_id = sp.product_id;
        r.discount_pct = o->discount_pct;
        r.n_target = o->target;
        promo_forecast *fc = NULL;
        T_OK(promo_forecast_point(f, &r, &fc));
        T_ASSERT_MSG(same_figures(&fc->figures, &o->figures), "variant %d optimum", variant);
        if (variant == 2)
            T_ASSERT(o->figures.discount_cost + o->figures.contact_cost <= sp.budget);
        promo_forecast_free(fc);
        promo_surface_free(sf);
    }
    promo_forecaster_free(f);
    promo_store_close(s);
}

/* The figures of the best t customers at discount d among those exclude leaves in: from the
 * whole ranking of a point forecast (profit order, ties by customer index), the first t not
 * excluded, forecast as a given selection (summed in that order). */
static promo_forecast *
top_not_excluded(promo_forecaster *f, const char *pid, double d, const uint8_t *ex, size_t t)
{
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = pid;
    r.discount_pct = d;
    r.n_target = 0;
    promo_forecast *all = NULL, *fc = NULL;
    T_OK(promo_forecast_point(f, &r, &all));
    uint32_t *cust = malloc((t ? t : 1) * sizeof *cust);
    T_ASSERT(cust != NULL);
    size_t m = 0;
    for (size_t k = 0; k < all->n && m < t; k++)
        if (!ex[all->picks[k].customer])
            cust[m++] = all->picks[k].customer;
    T_ASSERT_EQ_INT(m, t);
    T_OK(promo_forecast_select(f, &r, cust, m, &fc));
    free(cust);
    promo_forecast_free(all);
    return fc;
}

/* With customers excluded (a campaign's fatigued), every cell is the forecast of the best
 * targets[j] of the others, bit for bit, the count grid ends at their number, and the optimum
 * is theirs: at its discount (no budget), the number of them with a positive expected profit.
 * The excluded are every third customer and the best five at 10%, so that the exclusion moves
 * the top of every discount's ranking. */
T_TEST(forecast_surface_exclude_is_the_surface_of_the_others)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    size_t n = promo_forecaster_n_customers(f);
    uint8_t *ex = calloc(n, 1);
    T_ASSERT(ex != NULL);
    for (size_t i = 0; i < n; i += 3)
        ex[i] = 1;
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = "PROD00001";
    r.n_target = 5;
    promo_forecast *top = NULL;
    T_OK(promo_forecast_point(f, &r, &top));
    for (size_t k = 0; k < top->n; k++)
        ex[top->picks[k].customer] = 1;
    promo_forecast_free(top);
    size_t n_in = 0;
    for (size_t i = 0; i < n; i++)
        n_in += !ex[i];
    static const size_t check[] = {0, 5, 12, 30, 50};
    for (int variant = 0; variant < 3; variant++) {
        promo_surface_params sp = promo_surface_params_default();
        sp.product_id = "PROD00001";
        sp.exclude = ex;
        if (variant == 1) {
            sp.max_target = n_in / 2;
            sp.max_points = 30;
        }
        if (variant == 2) {
            promo_surface *free_sf = NULL;
            T_OK(promo_forecast_surface(f, &sp, &free_sf));
            const promo_forecast_figures *g = &free_sf->optimum.figures;
            sp.budget = (g->discount_cost + g->contact_cost) / 3;
            promo_surface_free(free_sf);
        }
        promo_surface *sf = NULL;
        T_OK(promo_forecast_surface(f, &sp, &sf));
        T_ASSERT_EQ_INT(sf->n_customers, n);
        T_ASSERT_EQ_INT(sf->n_candidates, n_in);
        T_ASSERT_EQ_INT(sf->targets[sf->n_targets - 1], variant == 1 ? n_in / 2 : n_in);
        for (size_t ci = 0; ci < sizeof check / sizeof check[0]; ci++) {
            size_t i = check[ci];
            for (size_t j = 0; j < sf->n_targets; j += variant == 1 ? 1 : 7) {
                promo_forecast *fc =
                    top_not_excluded(f, sp.product_id, sf->discounts[i], ex, sf->targets[j]);
                size_t c = i * sf->n_targets + j;
                const promo_forecast_figures *g = &fc->figures;
                T_ASSERT_MSG(g->incremental_profit == sf->profit[c],
                             "variant %d discount %g count %zu: %.17g vs %.17g", variant,
                             sf->discounts[i], sf->targets[j], g->incremental_profit,
                             sf->profit[c]);
                T_ASSERT(g->incremental_revenue == sf->revenue[c]);
                T_ASSERT(g->expected_conversions == sf->conversions[c]);
                T_ASSERT(g->incremental_conversions == sf->incremental_conversions[c]);
                T_ASSERT(g->discount_cost + g->contact_cost == sf->spend[c]);
                promo_forecast_free(fc);
            }
        }
        const promo_surface_optimum *o = &sf->optimum;
        T_ASSERT(o->target >= 1 && o->target <= n_in);
        promo_forecast *fc = top_not_excluded(f, sp.product_id, o->discount_pct, ex, o->target);
        T_ASSERT_MSG(same_figures(&fc->figures, &o->figures), "variant %d optimum", variant);
        if (variant == 0) {
            promo_forecast_values *v = NULL;
            T_OK(promo_forecast_customer_values(f, sp.product_id, o->discount_pct, &v));
            size_t pos = 0;
            for (size_t i = 0; i < n; i++)
                pos += !ex[i] && v->profit[i] > 0;
            T_ASSERT_MSG(o->target == pos, "optimum %zu, %zu positive", o->target, pos);
            promo_forecast_values_free(v);
        }
        if (variant == 2)
            T_ASSERT(o->figures.discount_cost + o->figures.contact_cost <= sp.budget);
        promo_forecast_free(fc);
        promo_surface_free(sf);
    }
    /* everyone excluded: a clear error, not an empty surface */
    memset(ex, 1, n);
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = "PROD00001";
    sp.exclude = ex;
    promo_surface *sf = NULL;
    T_ASSERT_EQ_INT(promo_forecast_surface(f, &sp, &sf), PROMO_EINPUT);
    T_ASSERT(sf == NULL);
    T_ASSERT_CONTAINS(promo_last_error(), "exclude");
    free(ex);
    promo_forecaster_free(f);
    promo_store_close(s);
}
