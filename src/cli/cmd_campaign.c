/* `promo campaign`: the customers to contact for a product, as a campaign file.
 *
 * Parses the options and prints. Three engines behind one command:
 *   - by propensity (the default): top N by the product model's probability with a one-line
 *     reason each (promo/campaign.h);
 *   - --rank-by uplift|profit alone: the uplift scorer's campaign (cli_uplift.h);
 *   - the forecaster (promo/forecast.h) for --optimize, --budget, --rank-by probability or
 *     --out-surface: the campaign's forecast with an interval, the optimum of the discount x
 *     count surface, and a file with uplift, expected_revenue and expected_profit per row.
 * Every campaign file is one `promo simulate` reads as it is. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/fairness.h>
#include <promo/forecast.h>
#include <promo/outfile.h>
#include <promo/plot.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

/* What the forecaster mode was asked. */
typedef struct fc_args {
    const char *ws, *product, *out_path, *surface_path;
    double discount, budget, holdout, interval;
    size_t n_target;
    int64_t as_of;
    int send_day, send_hour, optimize, json, rank_by, personalize;
    uint64_t holdout_seed;
    /* send time, fatigue, CLV weight, contact limit (issue 16: camp) */
    const promo_campaign_targeting *tg;
    size_t max_contacts;
    const char *show_path;   /* --show-suppressed */
    int fairness, fair_attr; /* fairness block below: --fairness; --fair-attr (-1: none) */
    double fair_min_ratio;
} fc_args;

/* ---- send time and fatigue: the summary lines, the JSON fields, --show-suppressed ---- */

/* Fatigue asked for, but the workspace has no contact before the cutoff: nothing to count. */
static int fatigue_no_history(const promo_campaign *cp, const promo_campaign_targeting *tg)
{
    return tg->fatigue.mode != PROMO_FATIGUE_OFF && cp->n_contacted == 0;
}

static void json_targeting(const promo_campaign *cp, const promo_campaign_targeting *tg)
{
    int none = fatigue_no_history(cp, tg);
    printf(",\"send_time\":\"%s\",\"send_time_own_slot\":%zu,\"fatigue\":\"%s\","
           "\"fatigue_applied\":%s,\"fatigue_note\":",
           tg->send_time_best ? "best" : "fixed", cp->n_send_match,
           promo_fatigue_mode_name(tg->fatigue.mode),
           tg->fatigue.mode != PROMO_FATIGUE_OFF && !none ? "true" : "false");
    if (none)
        printf("\"no contact history: the workspace has no exposures before the cutoff\"");
    else
        printf("null");
    printf(",\"fatigued_customers\":%zu,\"suppressed_fatigue\":%zu,\"cooled_down\":%zu,"
           "\"clv_weight\":%g",
           cp->n_fatigued, cp->n_suppressed, cp->n_cooled, tg->clv_weight);
    if (tg->bundle) {
        printf(",\"bundle\":");
        cli_bundle_json(&cp->bundle);
    }
}

static void print_bundle(const promo_campaign *cp, const promo_campaign_targeting *tg)
{
    const promo_campaign_bundle *b = &cp->bundle;
    if (!tg->bundle)
        return;
    char why[1024];
    cli_bundle_why(why, sizeof why, cp->product_id, b);
    if (!b->product_id[0])
        printf("bundle: none: %s\n", why);
    else
        printf("bundle: %s, %s; its margin is not in the forecast (in a generated world promo "
               "simulate plays it)\n",
               b->product_id, why);
}

static void print_targeting(const promo_campaign *cp, const promo_campaign_targeting *tg)
{
    print_bundle(cp, tg);
    if (tg->send_time_best)
        printf("send time: each customer's usual weekday and hour (%zu of %zu from their own "
               "orders, the rest the customers' usual slot)\n",
               cp->n_send_match, cp->n);
    if (fatigue_no_history(cp, tg))
        printf("fatigue: not applied: the workspace has no contact history (no exposures before "
               "the cutoff), so there are no recent offers to count\n");
    else if (tg->fatigue.mode == PROMO_FATIGUE_SUPPRESS)
        printf("suppressed for fatigue: %zu (%zu customers fatigued in the workspace: >= %g "
               "offers in 30 days or a response trend <= %g)\n",
               cp->n_suppressed, cp->n_fatigued, tg->fatigue.max_contacts_30d,
               tg->fatigue.min_trend);
    else if (tg->fatigue.mode == PROMO_FATIGUE_COOLDOWN)
        printf("cooled down for fatigue: %zu sent %d days after their last offer (%zu customers "
               "fatigued in the workspace)\n",
               cp->n_cooled, tg->fatigue.cooldown_days, cp->n_fatigued);
}

/* Schedule the campaign (send time, cool-down) and write --show-suppressed. */
/* Schedule the rows (send time, cool-downs; takes ex), list the fatigued with
 * --show-suppressed, and write the campaign file: --out, else the workspace's default path
 * (into path). */
static int campaign_finish(const fc_args *a,
                           promo_store *s,
                           const char *pid,
                           promo_campaign *cp,
                           const promo_campaign_profiles *pr,
                           int64_t as_of,
                           promo_campaign_excluded *ex,
                           size_t n_ex,
                           char *path,
                           size_t path_size)
{
    int rc = promo_campaign_schedule(cp, pr, as_of, ex, n_ex);
    if (rc) {
        promo_free(ex);
        return rc;
    }
    if (a->tg->bundle &&
        (rc = promo_campaign_bundle_choose(s, pid, a->tg->bundle, as_of, &cp->bundle)))
        return rc;
    if (a->show_path && (rc = promo_campaign_write_excluded(cp, a->show_path)))
        return rc;
    if (a->out_path)
        snprintf(path, path_size, "%s", a->out_path);
    else
        promo_campaign_default_path(s, pid, path, path_size);
    return promo_campaign_write(cp, path);
}

/* ---- end of send time and fatigue ---- */

static void jnum(double v)
{
    if (isfinite(v))
        printf("%.10g", v);
    else
        printf("null");
}

/* The figures' fields, without braces (the API contract's names). */
static void json_figure_fields(const promo_forecast_figures *g)
{
    printf("\"contacts\":%zu,\"expected_conversions\":", g->contacts);
    jnum(g->expected_conversions);
    printf(",\"incremental_conversions\":");
    jnum(g->incremental_conversions);
    printf(",\"incremental_revenue\":");
    jnum(g->incremental_revenue);
    printf(",\"discount_cost\":");
    jnum(g->discount_cost);
    printf(",\"contact_cost\":");
    jnum(g->contact_cost);
    printf(",\"incremental_profit\":");
    jnum(g->incremental_profit);
    printf(",\"roi\":");
    jnum(g->roi);
    printf(",\"profit_interval\":[");
    jnum(g->profit_lo);
    putchar(',');
    jnum(g->profit_hi);
    printf("],\"interval\":%g", g->interval);
}

static void json_figures(const promo_forecast_figures *g)
{
    putchar('{');
    json_figure_fields(g);
    putchar('}');
}

static void print_figures(const promo_forecast_figures *g)
{
    printf("  contacts                 %zu\n"
           "  expected conversions     %.1f\n"
           "  incremental conversions  %.1f\n"
           "  incremental revenue      %.0f\n"
           "  discount cost            %.0f\n"
           "  contact cost             %.0f\n"
           "  incremental profit       %.0f  [%.0f, %.0f] (%.0f%% interval, outcome noise only)\n",
           g->contacts, g->expected_conversions, g->incremental_conversions, g->incremental_revenue,
           g->discount_cost, g->contact_cost, g->incremental_profit, g->profit_lo, g->profit_hi,
           100 * g->interval);
    if (isfinite(g->roi))
        printf("  ROI                      %.2f\n", g->roi);
    else
        printf("  ROI                      -\n");
}

/* The surface as CSV: one row per (discount, count) cell. */
static int write_surface(const promo_surface *sf, const char *path)
{
    promo_outfile *o = NULL;
    int rc = promo_outfile_open(path, &o);
    if (rc)
        return rc;
    FILE *f = promo_outfile_stream(o);
    fprintf(f, "discount_pct,target,incremental_profit,incremental_revenue,expected_conversions,"
               "incremental_conversions,roi,spend,optimum\n");
    for (size_t i = 0; i < sf->n_discounts; i++)
        for (size_t j = 0; j < sf->n_targets; j++) {
            size_t c = i * sf->n_targets + j;
            fprintf(f, "%g,%zu,%.6f,%.6f,%.6f,%.6f,", sf->discounts[i], sf->targets[j],
                    sf->profit[c], sf->revenue[c], sf->conversions[c],
                    sf->incremental_conversions[c]);
            if (isfinite(sf->roi[c]))
                fprintf(f, "%.6f", sf->roi[c]);
            fprintf(f, ",%.6f,%d\n", sf->spend[c],
                    i == sf->optimum.discount_index && j == sf->optimum.target_index &&
                        sf->optimum.target > 0);
        }
    return promo_outfile_commit(o);
}

/* The two cuts through the optimum as PNG charts: profit by discount at the optimum's count
 * (DIR/out/profit_surface.png) and profit by count at its discount
 * (DIR/out/profit_by_target.png), the optimum marked on both. */
static int plot_surface(const promo_surface *sf, const char *out_dir, char *png, size_t n_png)
{
    const promo_surface_optimum *o = &sf->optimum;
    size_t nd = sf->n_discounts, nt = sf->n_targets, oj = o->target_index, oi = o->discount_index;
    double *x = promo_mallocn(nd + nt, sizeof *x), *y = promo_mallocn(nd + nt, sizeof *y);
    int rc = PROMO_ENOMEM;
    if (!x || !y)
        goto done;
    for (size_t i = 0; i < nd; i++) {
        x[i] = sf->discounts[i];
        y[i] = sf->profit[i * nt + oj];
    }
    for (size_t j = 0; j < nt; j++) {
        x[nd + j] = (double)sf->targets[j];
        y[nd + j] = sf->profit[oi * nt + j];
    }
    double ox = o->discount_pct, oy = o->figures.incremental_profit, on = (double)o->target;
    char title[512], path2[1400];
    snprintf(title, sizeof title,
             "%s: expected incremental profit by discount, best %zu customers\n"
             "optimum %.0f%% x %zu: %.0f (sought in the log's %g-%g%%; the model knows no others)",
             sf->product_id, o->target, ox, o->target, oy, sf->support_lo, sf->support_hi);
    promo_plot p = promo_plot_default();
    p.title = title;
    p.xlabel = "discount (%)";
    p.ylabel = "expected incremental profit";
    p.key = "top right";
    promo_plot_series s1[2] = {{"at the optimum's count", x, y, nd, "linespoints"},
                               {"optimum", &ox, &oy, 1, "points"}};
    snprintf(png, n_png, "%s/profit_surface.png", out_dir);
    if ((rc = promo_plot_lines(&p, s1, 2, png)))
        goto done;
    snprintf(title, sizeof title,
             "%s: expected incremental profit by customers contacted (best first), %.0f%% "
             "discount\noptimum %.0f%% x %zu: %.0f",
             sf->product_id, ox, ox, o->target, oy);
    p.xlabel = "customers contacted";
    p.key = "bottom center"; /* the curve rises to its optimum, often top right: keep clear */
    promo_plot_series s2[2] = {{"at the optimum's discount", x + nd, y + nd, nt, "lines"},
                               {"optimum", &on, &oy, 1, "points"}};
    snprintf(path2, sizeof path2, "%s/profit_by_target.png", out_dir);
    rc = promo_plot_lines(&p, s2, 2, path2);
done:
    promo_free(x);
    promo_free(y);
    return rc;
}

/* Short text tables of the surface through the optimum. */
static void print_surface(const promo_surface *sf)
{
    const promo_surface_optimum *o = &sf->optimum;
    size_t nt = sf->n_targets, oj = o->target_index, oi = o->discount_index;
    printf("profit by discount at %zu customers:\n ", o->target);
    size_t step = sf->n_discounts > 11 ? (sf->n_discounts + 9) / 10 : 1;
    for (size_t i = 0; i < sf->n_discounts; i++)
        if (i % step == 0 || i == oi)
            printf(" %g%%:%.0f%s", sf->discounts[i], sf->profit[i * nt + oj], i == oi ? "*" : "");
    printf("\nprofit by customers at %g%%:\n ", o->discount_pct);
    step = nt > 11 ? (nt + 9) / 10 : 1;
    for (size_t j = 0; j < nt; j++)
        if (j % step == 0 || j == oj || j + 1 == nt)
            printf(" %zu:%.0f%s", sf->targets[j], sf->profit[oi * nt + j], j == oj ? "*" : "");
    printf("\n");
}

/* --personalize: each customer's discount from the ladder under the budget. */
static int campaign_personalize(const fc_args *a,
                                promo_store *s,
                                promo_forecaster *f,
                                const promo_campaign_profiles *pr,
                                const char *pid)
{
    promo_personalized *x = NULL, *all = NULL, *free_all = NULL, *y = NULL;
    promo_campaign *cp = NULL;
    promo_forecast *one = NULL;
    promo_campaign_excluded *ex = NULL, *ex2 = NULL;
    size_t n_ex = 0, n_ex2 = 0, nc = promo_forecaster_n_customers(f);
    uint8_t *out_mask = NULL;
    char path[1300];
    promo_personalize_params pp = promo_personalize_params_default();
    pp.product_id = pid;
    pp.budget = a->budget;
    pp.interval = a->interval;
    pp.max_contacts = a->max_contacts;
    /* The fatigued that suppression leaves out are no candidates of the allocation, so the
     * budget and the contact limit go to the next best customers. */
    int rc = PROMO_ENOMEM, any = 0;
    if (!(out_mask = promo_calloc(nc ? nc : 1, 1)))
        goto done;
    for (size_t i = 0; i < nc; i++)
        any |= out_mask[i] =
            (uint8_t)promo_campaign_suppressed(pr, promo_forecaster_customer_id(f, i));
    pp.exclude = any ? out_mask : NULL;
    if ((rc = promo_forecast_personalize(f, &pp, &all)))
        goto done;
    /* the product's price and cost, for the figures after the CLV re-ranking */
    promo_forecast_request r1 = promo_forecast_request_default();
    r1.product_id = pid;
    r1.discount_pct = 5;
    r1.n_target = 1;
    if ((rc = promo_forecast_point(f, &r1, &one)) ||
        (rc = promo_campaign_refine_personalized(pr, all, one->price, one->cost, a->max_contacts,
                                                 a->interval, &x, &ex2, &n_ex2)))
        goto done;
    /* Who fatigue left out: the suppressed whom the allocation without the rule would have
     * offered a discount (listed by --show-suppressed, counted in the summary). */
    if (any) {
        pp.exclude = NULL;
        if ((rc = promo_forecast_personalize(f, &pp, &free_all)) ||
            (rc = promo_campaign_refine_personalized(pr, free_all, one->price, one->cost,
                                                     a->max_contacts, a->interval, &y, &ex, &n_ex)))
            goto done;
    }
    if ((rc = promo_campaign_from_personalized(s, x, promo_forecaster_as_of(f), a->send_day,
                                               a->send_hour, &cp)))
        goto done;
    rc = campaign_finish(a, s, pid, cp, pr, promo_forecaster_as_of(f), ex, n_ex, path, sizeof path);
    ex = NULL;
    if (rc)
        goto done;
    if (a->json) {
        printf("{\"product_id\":");
        cli_json_str(stdout, pid);
        printf(",\"personalized\":true,\"budget\":");
        jnum(a->budget);
        printf(",\"forecast\":");
        json_figures(&x->figures);
        printf(",\"upper_bound\":");
        jnum(x->upper_bound);
        printf(",\"gap\":");
        jnum(x->gap);
        printf(",\"lambda\":");
        jnum(x->lambda);
        printf(",\"max_contacts\":%zu", a->max_contacts);
        json_targeting(cp, a->tg);
        printf(",\"file\":");
        cli_json_str(stdout, path);
        printf(",\"customers\":[");
        for (size_t i = 0; i < x->n; i++) {
            printf("%s{\"customer_id\":", i ? "," : "");
            cli_json_str(stdout, x->picks[i].customer_id);
            printf(",\"discount_pct\":%g,\"expected_profit\":%.4f}", x->discount_pct[i],
                   x->picks[i].expected_profit);
        }
        printf("]}\n");
        goto done;
    }
    printf("personalised discounts for %s (5-25%% by 5, uplift model)%s: %zu customers\n", pid,
           isfinite(a->budget) ? " within the budget" : "", x->n);
    printf("  customers by discount:");
    for (int k = 0; k < 5; k++)
        printf(" %d%%:%zu", 5 * (k + 1), x->n_by_rung[k]);
    printf("\nforecast (model):\n");
    print_figures(&x->figures);
    printf("  upper bound (Lagrangian) %.0f: the allocation is within %.0f (%.1f%%) of the best "
           "possible under the model\n",
           x->upper_bound, x->gap, x->upper_bound > 0 ? 100 * x->gap / x->upper_bound : 0.0);
    print_targeting(cp, a->tg);
    if (a->show_path)
        printf("wrote the fatigued customers to %s\n", a->show_path);
    printf("wrote %s\n", path);
done:
    promo_free(ex);
    promo_free(ex2);
    promo_free(out_mask);
    promo_forecast_free(one);
    promo_campaign_free(cp);
    promo_personalized_free(all);
    promo_personalized_free(free_all);
    promo_personalized_free(y);
    promo_personalized_free(x);
    return rc;
}

/* ---- fairness: --fairness, --fair-attr, --fair-min-ratio (promo/fairness.h) ---------------
 * The report by gender, age band and location of the selection among every scored customer,
 * and with --fair-attr the selection re-chosen to hold --fair-min-ratio on that attribute at
 * the least profit cost (the campaign file then holds the re-chosen customers). */
typedef struct fair_out {
    promo_fair_report *rep[PROMO_FAIR_ATTR_COUNT];
    promo_fair_enforced *enf; /* with --fair-attr */
    size_t n;                 /* customers scored */
} fair_out;

static void fair_out_free(fair_out *z)
{
    for (int k = 0; k < PROMO_FAIR_ATTR_COUNT; k++)
        promo_fair_report_free(z->rep[k]);
    promo_fair_enforced_free(z->enf);
}

static int campaign_fairness(const fc_args *a,
                             promo_store *s,
                             const promo_campaign_profiles *pr,
                             promo_forecaster *f,
                             const promo_forecast_request *r,
                             promo_forecast **fc,
                             fair_out *z)
{
    if (!a->fairness && a->fair_attr < 0)
        return PROMO_OK;
    size_t n = promo_forecaster_n_customers(f);
    promo_forecast_values *v = NULL;
    promo_fair_groups *g = NULL;
    promo_forecast *fc2 = NULL;
    const char **ids = promo_mallocn(n ? n : 1, sizeof *ids);
    uint8_t *sel = promo_calloc(n ? n : 1, 1);
    uint32_t *cust = NULL, *row = NULL;
    int rc = PROMO_ENOMEM;
    if (!ids || !sel)
        goto done;
    if ((rc = promo_forecast_customer_values(f, r->product_id, (*fc)->discount_pct, &v)))
        goto done;
    for (size_t j = 0; j < (*fc)->n; j++)
        sel[(*fc)->picks[j].customer] = 1;
    /* The customers fatigue leaves out are not candidates: the re-selection must not bring
     * them back. The arrays are compacted to the others; row[] maps back to the handle's. */
    rc = PROMO_ENOMEM;
    if (!(row = promo_mallocn(n ? n : 1, sizeof *row)))
        goto done;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = promo_forecaster_customer_id(f, i);
        if (promo_campaign_suppressed(pr, id))
            continue;
        ids[m] = id;
        v->profit[m] = v->profit[i];
        v->uplift[m] = v->uplift[i];
        sel[m] = sel[i];
        row[m++] = (uint32_t)i;
    }
    n = m;
    z->n = n;
    promo_fair_input in = {.n = n, .profit = v->profit, .uplift = v->uplift, .selected = sel};
    if (a->fair_attr >= 0) {
        if ((rc = promo_fair_groups_load(s, (promo_fair_attr)a->fair_attr, ids, n, &g)) ||
            (rc = promo_fairness_enforce(&in, g, a->fair_min_ratio, PROMO_FAIR_AUTO, &z->enf)))
            goto done;
        promo_fair_groups_free(g);
        g = NULL;
        if (z->enf->swaps) { /* the re-chosen customers' forecast replaces the campaign's */
            rc = PROMO_ENOMEM;
            if (!(cust = promo_mallocn(z->enf->k ? z->enf->k : 1, sizeof *cust)))
                goto done;
            m = 0;
            for (size_t i = 0; i < n; i++)
                if (z->enf->selected[i])
                    cust[m++] = row[i];
            promo_forecast_request r2 = *r;
            r2.discount_pct = (*fc)->discount_pct;
            r2.rank_by = (*fc)->rank_by;
            if ((rc = promo_forecast_select(f, &r2, cust, m, &fc2)))
                goto done;
            promo_forecast_free(*fc);
            *fc = fc2;
            fc2 = NULL;
        }
        in.selected = z->enf->selected;
    }
    for (int k = 0; k < PROMO_FAIR_ATTR_COUNT; k++) {
        if ((rc = promo_fair_groups_load(s, (promo_fair_attr)k, ids, n, &g)) ||
            (rc = promo_fairness_report(&in, g, &z->rep[k])))
            goto done;
        promo_fair_groups_free(g);
        g = NULL;
    }
    rc = PROMO_OK;
done:
    promo_free(cust);
    promo_free(row);
    promo_free(ids);
    promo_free(sel);
    promo_fair_groups_free(g);
    promo_forecast_free(fc2);
    promo_forecast_values_free(v);
    return rc;
}

static void fair_print(const fc_args *a, const fair_out *z)
{
    const promo_fair_enforced *e = z->enf;
    if (a->json) {
        printf(",\"fairness\":{\"attributes\":[");
        for (int k = 0; k < PROMO_FAIR_ATTR_COUNT; k++) {
            if (k)
                putchar(',');
            promo_fair_report_json(stdout, z->rep[k]);
        }
        printf("],\"enforced\":");
        if (e) {
            printf("{\"attribute\":\"%s\",\"min_ratio\":%g,\"method\":\"%s\","
                   "\"swaps\":%zu,\"profit_before\":%.6f,\"profit_after\":%.6f,"
                   "\"cost\":%.6f,\"disparate_impact_before\":",
                   promo_fair_attr_name((promo_fair_attr)a->fair_attr), a->fair_min_ratio,
                   e->method == PROMO_FAIR_EXACT ? "exact" : "greedy", e->swaps, e->profit_before,
                   e->profit_after, e->cost);
            jnum(e->di_before);
            printf(",\"disparate_impact_after\":");
            jnum(e->di_after);
            putchar('}');
        } else {
            printf("null");
        }
        putchar('}');
        return;
    }
    printf("fairness of the selection among the %zu scored customers (benefit: mean expected "
           "profit of the selected; qualified: predicted to respond, uplift > 0):\n",
           z->n);
    for (int k = 0; k < PROMO_FAIR_ATTR_COUNT; k++)
        promo_fair_report_print(stdout, z->rep[k]);
    if (e)
        printf("held disparate impact >= %g on %s (%s): %zu customers swapped, expected profit "
               "%.2f -> %.2f (cost %.2f), ratio %.3f -> %.3f\n",
               a->fair_min_ratio, promo_fair_attr_name((promo_fair_attr)a->fair_attr),
               e->method == PROMO_FAIR_EXACT ? "exact" : "greedy", e->swaps, e->profit_before,
               e->profit_after, e->cost, e->di_before, e->di_after);
}
/* ---- end of the fairness block ---- */

static int campaign_forecast(const fc_args *a)
{
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    promo_surface *sf = NULL;
    promo_forecast *fc = NULL, *fc_all = NULL;
    promo_campaign *cp = NULL;
    promo_campaign_profiles *pr = NULL;
    promo_campaign_excluded *ex = NULL;
    size_t n_ex = 0;
    fair_out fz = {0};
    uint8_t *out_mask = NULL;
    char pid[256], path[1300], png[1400] = "";
    int rc = promo_store_open_read(a->ws, &s);
    if (rc)
        goto done;
    if (!strcmp(a->product, "best")) {
        if ((rc = promo_campaign_best_seller(s, pid, sizeof pid)))
            goto done;
    } else {
        snprintf(pid, sizeof pid, "%s", a->product);
    }
    /* the profiles (a second feature build) only when send time, fatigue or CLV is asked for */
    if ((rc = promo_forecaster_open(s, a->as_of, 0, &f)) ||
        ((a->tg->send_time_best || a->tg->fatigue.mode != PROMO_FATIGUE_OFF ||
          a->tg->clv_weight > 0) &&
         (rc = promo_campaign_profiles_open(s, promo_forecaster_as_of(f), a->tg, &pr))))
        goto done;
    if (a->personalize) {
        rc = campaign_personalize(a, s, f, pr, pid);
        goto done;
    }
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = pid;
    r.discount_pct = a->discount;
    r.n_target = a->n_target;
    r.rank_by = (promo_forecast_rank)a->rank_by;
    r.budget = a->budget;
    r.interval = a->interval;
    r.holdout_pct = a->holdout;
    r.holdout_seed = a->holdout_seed;
    if (a->optimize || a->surface_path) {
        promo_surface_params sp = promo_surface_params_default();
        sp.product_id = pid;
        sp.budget = a->budget;
        sp.interval = a->interval;
        /* The customers fatigue suppression leaves out are no rows of the surface (as in
         * campaign_personalize), so that its optimum is a campaign the engine below keeps whole,
         * not one less its fatigued. */
        size_t nc = promo_forecaster_n_customers(f);
        int any = 0;
        rc = PROMO_ENOMEM;
        if (pr && !(out_mask = promo_calloc(nc ? nc : 1, 1)))
            goto done;
        for (size_t i = 0; pr && i < nc; i++)
            any |= out_mask[i] =
                (uint8_t)promo_campaign_suppressed(pr, promo_forecaster_customer_id(f, i));
        sp.exclude = any ? out_mask : NULL;
        if (any) {
            size_t left = 0;
            for (size_t i = 0; i < nc; i++)
                left += !out_mask[i];
            if (!left) {
                rc = promo_fail(PROMO_EINPUT,
                                "--fatigue: every one of the %zu customers is suppressed for "
                                "fatigue: no one to target (--fatigue off or cooldown)",
                                nc);
                goto done;
            }
        }
        if ((rc = promo_forecast_surface(f, &sp, &sf)))
            goto done;
        if (a->optimize) {
            r.discount_pct = sf->optimum.discount_pct;
            r.n_target = sf->optimum.target;
            r.rank_by = PROMO_FORECAST_RANK_PROFIT;
            if (!r.n_target) {
                rc = promo_fail(PROMO_EINPUT,
                                "--budget %g: not even one customer's discount and contact cost "
                                "fit in it",
                                a->budget);
                goto done;
            }
        }
    }
    /* The whole ranking, then the campaign engine leaves the fatigued out, re-ranks by CLV and
     * applies the count, budget and holdout (promo_campaign_refine). */
    promo_campaign_refine_params rp = promo_campaign_refine_params_default();
    rp.n_target = r.n_target;
    rp.budget = r.budget;
    rp.positive_only = a->optimize;
    rp.holdout_pct = r.holdout_pct;
    rp.holdout_seed = r.holdout_seed;
    rp.interval = r.interval;
    r.n_target = 0;
    r.budget = INFINITY;
    r.holdout_pct = 0;
    if ((rc = promo_forecast_point(f, &r, &fc_all)) ||
        (rc = promo_campaign_refine(pr, fc_all, &rp, &fc, &ex, &n_ex)))
        goto done;
    /* A re-chosen selection keeps the campaign's holdout (the request as asked, not the
     * whole-ranking one above). */
    promo_forecast_request r_asked = r;
    r_asked.n_target = rp.n_target;
    r_asked.budget = rp.budget;
    r_asked.holdout_pct = rp.holdout_pct;
    if ((rc = campaign_fairness(a, s, pr, f, &r_asked, &fc, &fz)))
        goto done;
    if ((rc = promo_campaign_from_forecast(s, fc, promo_forecaster_as_of(f), a->send_day,
                                           a->send_hour, &cp)))
        goto done;
    rc = campaign_finish(a, s, pid, cp, pr, promo_forecaster_as_of(f), ex, n_ex, path, sizeof path);
    ex = NULL;
    if (rc)
        goto done;
    if (sf && a->surface_path && (rc = write_surface(sf, a->surface_path)))
        goto done;
    if (sf && promo_plot_available() && sf->optimum.target &&
        (rc = plot_surface(sf, promo_store_out_dir(s), png, sizeof png)))
        goto done;

    if (a->json) {
        printf("{\"product_id\":");
        cli_json_str(stdout, pid);
        printf(",\"discount_pct\":%g,\"target\":%zu,\"rank_by\":\"%s\",\"budget\":",
               fc->discount_pct, fc->n, promo_forecast_rank_name(fc->rank_by));
        jnum(a->budget);
        printf(",\"budget_bound\":%s", fc->budget_bound ? "true" : "false");
        json_targeting(cp, a->tg);
        printf(",\"forecast\":");
        json_figures(&fc->figures);
        printf(",\"optimum\":");
        if (sf) {
            printf("{\"discount_pct\":%g,\"target\":%zu,", sf->optimum.discount_pct,
                   sf->optimum.target);
            json_figure_fields(&sf->optimum.figures);
            printf("},\"gap_to_optimum\":");
            jnum(sf->optimum.figures.incremental_profit - fc->figures.incremental_profit);
        } else {
            printf("null");
        }
        printf(",\"file\":");
        cli_json_str(stdout, path);
        printf(",\"customers\":[");
        for (size_t i = 0; i < fc->n; i++) {
            const promo_forecast_pick *p = &fc->picks[i];
            printf("%s{\"rank\":%zu,\"customer_id\":", i ? "," : "", i + 1);
            cli_json_str(stdout, p->customer_id);
            printf(",\"name\":");
            cli_json_str(stdout, cp->name[i]);
            printf(",\"location\":");
            cli_json_str(stdout, cp->location[i]);
            printf(",\"probability\":%.6f,\"uplift\":%.6f,\"expected_profit\":%.4f,"
                   "\"expected_revenue\":%.4f,\"holdout\":%s,\"send_day\":%d,\"send_hour\":%d}",
                   p->probability, p->uplift, p->expected_profit, p->expected_revenue,
                   p->holdout ? "true" : "false", (int)cp->send_day_row[i],
                   (int)cp->send_hour_row[i]);
        }
        printf("]");
        if (fz.rep[0])
            fair_print(a, &fz);
        printf("}\n");
        goto done;
    }
    if (sf) {
        char left[96] = "";
        if (sf->n_candidates < sf->n_customers)
            snprintf(left, sizeof left, " (%zu suppressed for fatigue left out)",
                     sf->n_customers - sf->n_candidates);
        printf("optimum for %s over discounts %g-%g%% x 1-%zu customers%s (uplift model, "
               "expected incremental profit%s): %g%% to %zu customers (sought within the "
               "promotion log's discounts, %g-%g%%: the model knows no others)\n",
               pid, sf->discounts[0], sf->discounts[sf->n_discounts - 1], sf->n_candidates, left,
               isfinite(a->budget) ? " within the budget" : "", sf->optimum.discount_pct,
               sf->optimum.target, sf->support_lo, sf->support_hi);
        print_surface(sf);
    }
    printf("campaign for %s: %zu customers by %s, %g%% discount%s\n", pid, fc->n,
           fc->rank_by == PROMO_FORECAST_RANK_PROFIT   ? "expected incremental profit"
           : fc->rank_by == PROMO_FORECAST_RANK_UPLIFT ? "uplift"
                                                       : "probability with the offer",
           fc->discount_pct, fc->budget_bound ? " (the budget stopped the selection)" : "");
    printf("  %4s %-12s %-24s %11s %8s %9s\n", "rank", "customer", "name", "probability", "uplift",
           "profit");
    for (size_t i = 0; i < fc->n && i < 10; i++)
        printf("  %4zu %-12s %-24.24s %11.3f %8.3f %9.2f\n", i + 1, fc->picks[i].customer_id,
               cp->name[i][0] ? cp->name[i] : "-", fc->picks[i].probability, fc->picks[i].uplift,
               fc->picks[i].expected_profit);
    if (fc->n > 10)
        printf("  ... %zu more\n", fc->n - 10);
    printf("forecast (model; %zu held out):\n", fc->n_holdout);
    print_figures(&fc->figures);
    print_targeting(cp, a->tg);
    if (a->show_path)
        printf("wrote the fatigued customers to %s\n", a->show_path);
    if (fz.rep[0])
        fair_print(a, &fz);
    if (a->surface_path)
        printf("wrote the surface to %s\n", a->surface_path);
    if (png[0])
        printf("wrote %s and profit_by_target.png beside it\n", png);
    printf("wrote %s\n", path);
done:
    if (rc == PROMO_EINPUT && !strncmp(promo_last_error(), "product_id:", 11))
        rc = promo_fail(PROMO_EINPUT, "--product %s:%s", a->product, promo_last_error() + 11);
    promo_free(ex);
    promo_campaign_profiles_free(pr);
    promo_forecast_free(fc_all);
    fair_out_free(&fz);
    promo_campaign_free(cp);
    promo_forecast_free(fc);
    promo_surface_free(sf);
    promo_free(out_mask);
    promo_forecaster_free(f);
    promo_store_close(s);
    return cli_report(rc);
}

int cmd_campaign(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *product = NULL, *out_path = NULL;
    double discount = 10, target_n = 50, send_day = 0, send_hour = 10, holdout = 10;
    unsigned long long holdout_seed = 1;
    int64_t as_of = 0;
    int json = 0;
    static const char *const rank_words[] = {"propensity", "uplift", "profit", "probability", NULL};
    const char *surface_path = NULL;
    double budget = -1, interval = 90;
    int optimize = 0, personalize = 0;
    unsigned rank_by = 0;
    /* send time, fatigue, CLV weight, contact limit (issue 16: camp) */
    static const char *const send_time_words[] = {"best", "fixed", NULL};
    static const char *const fatigue_words[] = {"suppress", "cooldown", "off", NULL};
    unsigned send_time = 0, fatigue = 0;
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    double fatigue_max = tg.fatigue.max_contacts_30d, fatigue_trend = tg.fatigue.min_trend,
           cooldown_days = tg.fatigue.cooldown_days, clv_weight = 0, max_contacts = 0;
    const char *show_path = NULL;
    static const char *const fair_words[] = {"none", "gender", "age", "location", NULL};
    unsigned fair_attr = 0;
    int fairness = 0;
    double fair_min_ratio = -1; /* not given: 0.8 */
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_ENUM("rank-by", rank_words, &rank_by),
         .help = "rank by the propensity model, the uplift model's predicted effect, or its\n"
                 "expected incremental profit (positive only; promo train --model uplift;\n"
                 "the file gets uplift and expected_profit)"},
        {CLI_STRING("product", "ID|best", &product), .required = 1,
         .help = "the product; `best` = the best-selling one (most order lines)"},
        {CLI_NUMBER("discount", "PCT", 0, 90, &discount), .help = "offered discount, 0-90"},
        {CLI_UINT("target", "N", 1, 10000000, &target_n), .help = "customers to contact"},
        {CLI_AS_OF(&as_of), .help = "score as of this date", .def = "after the last transaction"},
        {CLI_UINT("send-day", "D", 0, 3650, &send_day),
         .help = "days after the history's end to send"},
        {CLI_UINT("send-hour", "H", 0, 23, &send_hour), .help = "hour to send, 0-23"},
        {CLI_PATH("out", "FILE.csv", &out_path), .help = "the campaign file",
         .def = "DIR/out/campaign_<product>.csv"},
        {CLI_NUMBER("holdout", "PCT", 0, 50, &holdout),
         .help = "share of the selected customers kept back at random, not contacted: the\n"
                 "control that `promo measure` compares with once the period is ingested"},
        {CLI_UINT("holdout-seed", "S", 0, UINT64_MAX, &holdout_seed),
         .help = "seed of the holdout's draw"},
        {CLI_FLAG("optimize", &optimize),
         .help = "choose the discount (0-50%) and the number of customers that maximise the\n"
                 "uplift model's expected incremental profit, and print the surface around it"},
        {CLI_FLAG("personalize", &personalize),
         .help = "a discount per customer (5-25% by 5) maximising the expected profit within\n"
                 "--budget: Lagrangian relaxation + greedy, the optimality gap reported"},
        {CLI_NUMBER("budget", "AMOUNT", 0, 1e15, &budget),
         .help = "cap on the expected discount cost + contact cost: the best customers that\n"
                 "fit (with --optimize: the optimum within it)"},
        {CLI_PATH("out-surface", "FILE.csv", &surface_path),
         .help = "write the discount x count profit surface (implies the optimizer's run)"},
        {CLI_NUMBER("interval", "PCT", 50, 99.9, &interval),
         .help = "level of the forecast's profit interval"},
        {CLI_FLAG("fairness", &fairness),
         .help = "report the selection by gender, age band and location: rates, expected "
                 "benefit, disparate-impact ratio (four-fifths rule), equal-opportunity "
                 "difference (uplift model's forecaster)"},
        {CLI_ENUM("fair-attr", fair_words, &fair_attr),
         .help = "re-choose the selection so that this attribute's disparate-impact ratio "
                 "is at least --fair-min-ratio, at the least expected-profit cost"},
        {CLI_NUMBER("fair-min-ratio", "R", 0.01, 1, &fair_min_ratio),
         .help = "the ratio --fair-attr holds (min group rate / max group rate)", .def = "0.8"},
        {CLI_JSON(&json), .help = "print the campaign (every customer) as JSON"},
        /* send time, fatigue, CLV weight, contact limit (issue 16: camp) */
        {CLI_ENUM("send-time", send_time_words, &send_time),
         .help = "best: each customer's usual weekday and hour from their orders (shrunk toward\n"
                 "everyone's when they have few), on or after the start (--send-day); fixed:\n"
                 "--send-day and --send-hour for everyone"},
        {CLI_ENUM("fatigue", fatigue_words, &fatigue),
         .help = "customers with too many recent offers or falling responses: left out\n"
                 "(suppress), sent after a cool-down (cooldown), or treated as the others (off)"},
        {CLI_NUMBER("fatigue-max-contacts-30d", "N", 1, 1e6, &fatigue_max),
         .help = "fatigued at this many offers in the last 30 days"},
        {CLI_NUMBER("fatigue-min-trend", "SLOPE", -1, 1, &fatigue_trend),
         .help = "fatigued at a response trend (slope of converted on contact, last 10) this low"},
        {CLI_UINT("cooldown-days", "D", 1, 365, &cooldown_days),
         .help = "--fatigue cooldown: days after a fatigued customer's last offer"},
        {CLI_PATH("show-suppressed", "FILE.csv", &show_path),
         .help = "write the fatigued customers the ranking reached (who, why, suppressed or\n"
                 "cooled down)"},
        {CLI_NUMBER("clv-weight", "W", 0, 1e6, &clv_weight),
         .help = "rank by expected profit + W x CLV (365-day Gamma-Gamma CLV; uses the uplift\n"
                 "model's forecaster): 0 = by profit, large = by CLV"},
        {CLI_UINT("max-contacts", "N", 1, 100000000, &max_contacts),
         .help = "--personalize: at most N customers (the most profitable)"},
        {CLI_STRING("bundle", "auto|ID", &tg.bundle),
         .help = "offer a second product with it (bundle_product_id in the file; promo\n"
                 "simulate plays it): auto = the product most often in the same orders over\n"
                 "the last year (in >= 5 of them, lift > 1), or a product id; its margin is not\n"
                 "in the forecast",
         .def = "none"},
        {0},
    };
    const cli_spec spec = {
        .name = "campaign",
        .usage =
            "usage: promo campaign --ws DIR --product ID|best [--discount PCT] [--target N]\n"
            "                      [--as-of DATE] [--send-day D] [--send-hour H] [--out "
            "FILE.csv]\n"
            "                      [--optimize | --personalize] [--budget AMOUNT]\n"
            "                      [--out-surface FILE.csv]\n"
            "                      [--rank-by propensity|uplift|profit|probability] [--json]\n"
            "                      [--send-time best|fixed] [--fatigue suppress|cooldown|off]\n"
            "                      [--fatigue-max-contacts-30d N] [--show-suppressed FILE.csv]\n"
            "                      [--clv-weight W] [--max-contacts N]\n",
        .about =
            "Rank every customer by the propensity model's probability of buying the product\n"
            "(train it first: promo train --model propensity --target product:ID), keep the top\n"
            "N with a one-line reason each, and write the campaign file (default\n"
            "DIR/out/campaign_<product>.csv), which `promo simulate` accepts as it is.\n"
            "With --optimize, --budget, --out-surface or --rank-by probability the uplift\n"
            "model's forecaster chooses instead (promo train --model uplift): the customers by\n"
            "expected incremental profit (or uplift, or probability with the offer), the\n"
            "forecast (conversions, incremental revenue and profit with an interval, costs,\n"
            "ROI), and with --optimize the discount and count of the largest expected profit,\n"
            "charted in DIR/out/profit_surface.png and profit_by_target.png.\n"
            "Each customer is sent on their usual weekday and hour (--send-time best), and\n"
            "customers with many recent offers or falling responses are left out (--fatigue).\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    /* send time, fatigue, CLV weight, contact limit (issue 16: camp) */
    tg.send_time_best = send_time == 0;
    tg.fatigue.mode = (promo_fatigue_mode)fatigue;
    tg.fatigue.max_contacts_30d = fatigue_max;
    tg.fatigue.min_trend = fatigue_trend;
    tg.fatigue.cooldown_days = (int)cooldown_days;
    tg.clv_weight = clv_weight;
    if (max_contacts > 0 && !personalize)
        return cli_report(promo_fail(PROMO_EUSAGE, "--max-contacts goes with --personalize "
                                                   "(--target counts the others)"));
    if (clv_weight > 0 && (rank_by == 1 || rank_by == 3))
        return cli_report(promo_fail(PROMO_EUSAGE,
                                     "--clv-weight goes with the ranking by "
                                     "expected profit, not --rank-by %s",
                                     rank_words[rank_by]));
    if (fair_min_ratio >= 0 && !fair_attr)
        return cli_report(promo_fail(PROMO_EUSAGE, "--fair-min-ratio goes with --fair-attr "
                                                   "gender|age|location (the attribute to hold "
                                                   "it on)"));
    if (fair_min_ratio < 0)
        fair_min_ratio = 0.8;
    if (fairness || fair_attr) {
        if (personalize) {
            fprintf(stderr, "promo campaign: --fairness and --fair-attr do not apply to "
                            "--personalize\n");
            return 2;
        }
        if (rank_by == 0)
            rank_by = 2; /* the forecaster's profit ranking: fairness needs everyone's profit */
    }
    if (optimize || personalize || budget >= 0 || rank_by == 3 || surface_path || clv_weight > 0 ||
        fairness || fair_attr || (tg.bundle && rank_by >= 1)) {
        /* the forecaster's ranks: profit 0, uplift 1, probability 2; propensity -> profit */
        static const int rank_map[] = {PROMO_FORECAST_RANK_PROFIT, PROMO_FORECAST_RANK_UPLIFT,
                                       PROMO_FORECAST_RANK_PROFIT, PROMO_FORECAST_RANK_PROBABILITY};
        fc_args a = {.ws = ws,
                     .product = product,
                     .out_path = out_path,
                     .surface_path = surface_path,
                     .discount = discount,
                     .budget = budget >= 0 ? budget : INFINITY,
                     .holdout = holdout,
                     .interval = interval / 100,
                     .n_target = (size_t)target_n,
                     .as_of = as_of,
                     .send_day = (int)send_day,
                     .send_hour = (int)send_hour,
                     .optimize = optimize,
                     .personalize = personalize,
                     .json = json,
                     .rank_by = rank_map[rank_by],
                     .holdout_seed = holdout_seed,
                     .tg = &tg,
                     .max_contacts = (size_t)max_contacts,
                     .show_path = show_path,
                     .fairness = fairness,
                     .fair_attr = (int)fair_attr - 1,
                     .fair_min_ratio = fair_min_ratio};
        return campaign_forecast(&a);
    }
    if (rank_by >= 1)
        return cli_campaign_uplift(ws, product, discount, (size_t)target_n, as_of, (int)send_day,
                                   (int)send_hour, rank_by == 2, out_path);

    promo_store *s = NULL;
    promo_campaign *cp = NULL;
    char pid[256], path[1300];
    int rc = promo_store_open_read(ws, &s);
    if (rc)
        goto done;
    if (!strcmp(product, "best")) {
        if ((rc = promo_campaign_best_seller(s, pid, sizeof pid)))
            goto done;
    } else {
        snprintf(pid, sizeof pid, "%s", product);
    }
    promo_campaign_params cpp = promo_campaign_params_default();
    cpp.product_id = pid;
    cpp.discount_pct = discount;
    cpp.n_target = (size_t)target_n;
    cpp.send_day = (int32_t)send_day;
    cpp.send_hour = (int32_t)send_hour;
    cpp.holdout_pct = holdout;
    cpp.holdout_seed = holdout_seed;
    cpp.targeting = &tg;
    if ((rc = promo_campaign_build(s, &cpp, as_of, &cp)))
        goto done;
    if (tg.bundle && (rc = promo_campaign_bundle_choose(s, pid, tg.bundle, as_of, &cp->bundle)))
        goto done;
    if (show_path && (rc = promo_campaign_write_excluded(cp, show_path)))
        goto done;
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else
        promo_campaign_default_path(s, pid, path, sizeof path);
    if ((rc = promo_campaign_write(cp, path)))
        goto done;

    if (json) {
        printf("{\"product_id\":");
        cli_json_str(stdout, pid);
        printf(",\"discount_pct\":%g,\"n\":%zu,\"holdout\":%zu,\"expected_buyers\":%.4f", discount,
               cp->n, cp->n_holdout, cp->expected_buyers);
        json_targeting(cp, &tg);
        printf(",\"file\":");
        cli_json_str(stdout, path);
        printf(",\"customers\":[");
        for (size_t i = 0; i < cp->n; i++) {
            printf("%s{\"rank\":%zu,\"customer_id\":", i ? "," : "", i + 1);
            cli_json_str(stdout, cp->picks[i].customer_id);
            printf(",\"name\":");
            cli_json_str(stdout, cp->name[i]);
            printf(",\"location\":");
            cli_json_str(stdout, cp->location[i]);
            printf(",\"probability\":%.6f,\"holdout\":%d,\"send_day\":%d,\"send_hour\":%d,"
                   "\"reason\":",
                   cp->picks[i].probability, cp->holdout[i], (int)cp->send_day_row[i],
                   (int)cp->send_hour_row[i]);
            cli_json_str(stdout, cp->picks[i].reason);
            putchar('}');
        }
        printf("]}\n");
        rc = PROMO_OK;
        goto done;
    }
    printf("campaign for %s: top %zu customers by propensity, %.0f%% discount\n", pid, cp->n,
           discount);
    printf("  %4s %-12s %-24s %-16s %11s  %s\n", "rank", "customer", "name", "location",
           "probability", "reason");
    for (size_t i = 0; i < cp->n && i < 10; i++)
        printf("  %4zu %-12s %-24.24s %-16s %11.3f  %s\n", i + 1, cp->picks[i].customer_id,
               cp->name[i][0] ? cp->name[i] : "-", cp->location[i][0] ? cp->location[i] : "-",
               cp->picks[i].probability, cp->picks[i].reason);
    if (cp->n > 10)
        printf("  ... %zu more\n", cp->n - 10);
    if (cp->n_holdout)
        printf("holdout: %zu of the %zu kept back at random, not contacted (holdout = 1 in the\n"
               "file): after the period, promo measure --campaign %s compares them\n",
               cp->n_holdout, cp->n, path);
    print_targeting(cp, &tg);
    if (show_path)
        printf("wrote the fatigued customers to %s\n", show_path);
    printf("expected buyers among the %zu contacted (model): %.1f\nwrote %s\n",
           cp->n - cp->n_holdout, cp->expected_buyers, path);
    rc = PROMO_OK;
done:
    promo_campaign_free(cp);
    promo_store_close(s);
    return cli_report(rc);
}
