/* The forecast's honest terms (promo/forecast.h, "Honest terms"): a conversion's money from the
 * recent sales, the effect's shape in the discount from the log's randomised exposures, the
 * no-offer outcome from the customers' own purchases; and what they are for: on a generated world
 * where broadcasting loses money, the forecast of broadcast is near the simulator's truth and
 * the optimizer's choice does not lose what the model alone made it lose. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/store.h>
#include <promo/synth.h>

#include "t.h"

static const char *fixture(void)
{
    static char ws[1024];
    if (ws[0])
        return ws;
    char args[1500];
    /* 18 months (the seasonal ratio needs a year before the cutoff), enough promotions for six
     * discounts with 20 randomised rows per arm; broadcasting loses money in it */
    snprintf(ws, sizeof ws, "%s/fbias-ws", t_tmpdir());
    snprintf(args, sizeof args,
             "generate --ws %s -q --customers 800 --products 80 --categories 8 --promotions 200 "
             "--transactions 40000 --months 18 --stores 3 --no-events",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "train --ws %s --model uplift -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    return ws;
}

typedef struct best_ctx {
    char ids[3][64];
    int n;
} best_ctx;

static int best_row(void *ctx, int n_cols, const char *const *names, const char *const *values)
{
    (void)names;
    best_ctx *b = ctx;
    if (n_cols >= 1 && values[0] && b->n < 3)
        snprintf(b->ids[b->n++], sizeof b->ids[0], "%s", values[0]);
    return 0;
}

typedef struct num_ctx {
    double v[2];
    int rows;
} num_ctx;

static int num_row(void *ctx, int n_cols, const char *const *names, const char *const *values)
{
    (void)names;
    num_ctx *c = ctx;
    for (int j = 0; j < n_cols && j < 2; j++)
        c->v[j] = values[j] ? atof(values[j]) : NAN;
    c->rows++;
    return 0;
}

/* The simulator's expected incremental profit of offering product x at discount to the given
 * handle customers (day 0, 10:00). */
static double true_profit(const promo_world *w,
                          const promo_forecaster *f,
                          uint32_t x,
                          double discount,
                          const uint32_t *cust,
                          size_t n)
{
    promo_offer *o = promo_mallocn(n ? n : 1, sizeof *o);
    double *pr = promo_mallocn(n ? n : 1, sizeof *pr);
    T_ASSERT(o && pr);
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t i = promo_world_customer_index(w, promo_forecaster_customer_id(f, cust[j]));
        if (i != PROMO_SYNTH_NONE)
            o[k++] = (promo_offer){i, x, discount, 0, 10, PROMO_SYNTH_NONE};
    }
    promo_sim_params sp = promo_sim_params_default();
    T_OK(promo_simulate_expected(w, o, k, &sp, pr, NULL));
    double s = 0;
    for (size_t j = 0; j < k; j++)
        s += pr[j];
    promo_free(o);
    promo_free(pr);
    return s;
}

T_TEST(forecast_bias_economics_are_the_recent_sales)
{
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    T_OK(promo_store_open(fixture(), 0, &s));
    T_OK(promo_forecaster_open(s, 0, 1, &f));
    best_ctx b = {0};
    T_OK(promo_store_query(s,
                           "select product_id from transactions group by product_id order by "
                           "count(*) desc, product_id limit 1",
                           best_row, &b));
    T_ASSERT_EQ_INT(b.n, 1);
    /* the 28 days before the forecaster's cutoff, by SQL: mean quantity, latest unit price */
    int64_t as_of = promo_forecaster_as_of(f), from = as_of - 28 * 86400;
    char sql[600];
    num_ctx q = {{NAN, NAN}, 0}, p = {{NAN, NAN}, 0};
    snprintf(sql, sizeof sql,
             "select avg(quantity), count(*) from transactions where product_id = '%s' and "
             "ts >= %lld and ts < %lld",
             b.ids[0], (long long)from, (long long)as_of);
    T_OK(promo_store_query(s, sql, num_row, &q));
    snprintf(sql, sizeof sql,
             "select unit_price from transactions where product_id = '%s' and ts >= %lld and "
             "ts < %lld order by ts desc limit 1",
             b.ids[0], (long long)from, (long long)as_of);
    T_OK(promo_store_query(s, sql, num_row, &p));
    T_ASSERT(q.v[1] >= 5); /* the best seller has lines in the window */
    double units = 0, price = 0;
    T_ASSERT_EQ_INT(promo_forecaster_product_economics(f, b.ids[0], &units, &price), 1);
    T_ASSERT_NEAR(units, q.v[0], 1e-9);
    T_ASSERT_NEAR(price, p.v[0], 1e-9);
    /* a forecast's price and cost are a conversion's: units x shelf price */
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = b.ids[0];
    promo_forecast *fc = NULL;
    T_OK(promo_forecast_point(f, &r, &fc));
    T_ASSERT_NEAR(fc->price, units * price, 1e-6);
    promo_forecast_free(fc);
    /* off: the catalogue price, one unit */
    promo_forecaster_set_corrections(f, 0);
    T_ASSERT_EQ_INT(promo_forecaster_product_economics(f, b.ids[0], &units, &price), 0);
    T_ASSERT_NEAR(units, 1, 0);
    T_OK(promo_forecast_point(f, &r, &fc));
    num_ctx lp = {{NAN, NAN}, 0};
    snprintf(sql, sizeof sql, "select price from products where product_id = '%s'", b.ids[0]);
    T_OK(promo_store_query(s, sql, num_row, &lp));
    T_ASSERT_NEAR(fc->price, lp.v[0], 1e-9);
    promo_forecast_free(fc);
    promo_forecaster_free(f);
    promo_store_close(s);
}

T_TEST(forecast_bias_discount_response_from_the_randomised_log)
{
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    T_OK(promo_store_open(fixture(), 0, &s));
    T_OK(promo_forecaster_open(s, 0, 1, &f));
    const promo_forecast_discount_response *d = promo_forecaster_discount_response(f);
    T_ASSERT_MSG(d->fitted, "no fit: %zu rows, %zu discounts", d->n_rows, d->n_discounts);
    T_ASSERT(d->n_discounts >= 3 && d->amplitude > 0 && d->mean_curve > 0);
    /* the curve through the origin, rising, held above the log's largest discount */
    T_ASSERT_NEAR(promo_forecaster_effect_factor(f, 0), 0, 0);
    double prev = 0;
    for (double x = 1; x <= d->hi; x += 1) {
        double r = promo_forecaster_effect_factor(f, x);
        T_ASSERT(r >= prev);
        prev = r;
    }
    T_ASSERT_NEAR(promo_forecaster_effect_factor(f, d->hi + 20), prev, 1e-12);
    /* the factor scales every customer's effect: tau(d) = r(d) tau_model */
    const char *prod = "PROD00001";
    promo_forecast_values *on = NULL, *off = NULL;
    T_OK(promo_forecast_customer_values(f, prod, 20, &on));
    promo_forecaster_set_corrections(f,
                                     PROMO_FORECAST_CORRECT_ALL & ~PROMO_FORECAST_CORRECT_DISCOUNT);
    T_ASSERT_NEAR(promo_forecaster_effect_factor(f, 5), 1, 0);
    T_OK(promo_forecast_customer_values(f, prod, 20, &off));
    double r20 = 0;
    promo_forecaster_set_corrections(f, PROMO_FORECAST_CORRECT_ALL);
    r20 = promo_forecaster_effect_factor(f, 20);
    size_t checked = 0;
    for (size_t i = 0; i < on->n; i++) {
        double p0 = off->probability[i] - off->uplift[i];
        if (off->probability[i] >= 1 || p0 + r20 * off->uplift[i] >= 1 ||
            p0 + r20 * off->uplift[i] <= 0)
            continue; /* clamped */
        T_ASSERT_NEAR(on->uplift[i], r20 * off->uplift[i], 1e-6);
        checked++;
    }
    T_ASSERT(checked > on->n / 2);
    promo_forecast_values_free(on);
    promo_forecast_values_free(off);
    promo_forecaster_free(f);
    promo_store_close(s);
}

/* The point of it: in a world where broadcasting loses money, the forecast of broadcast is near
 * the simulator's expected value (nearer than the model alone, and within its own interval),
 * and the surface's optimum keeps the offer from the customers it would lose money on: its true
 * expected profit is at least the model alone's, and not a loss beyond the interval. */
T_TEST(forecast_bias_broadcast_is_forecast_near_the_truth_and_the_optimum_does_not_lose)
{
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    promo_world *w = NULL;
    T_OK(promo_store_open(fixture(), 0, &s));
    T_OK(promo_forecaster_open(s, 0, 1, &f));
    T_OK(promo_world_load(s, &w));
    best_ctx b = {0};
    T_OK(promo_store_query(s,
                           "select product_id from transactions group by product_id order by "
                           "count(*) desc, product_id limit 3",
                           best_row, &b));
    T_ASSERT_EQ_INT(b.n, 3);
    size_t n = promo_forecaster_n_customers(f);
    uint32_t *all = promo_mallocn(n, sizeof *all);
    T_ASSERT(all != NULL);
    for (size_t i = 0; i < n; i++)
        all[i] = (uint32_t)i;
    double err_on = 0, err_off = 0, opt_on = 0, opt_off = 0, truth_all = 0, half_all = 0;
    char log[1200] = "";
    for (int k = 0; k < b.n; k++) {
        uint32_t x = promo_world_product_index(w, b.ids[k]);
        T_ASSERT(x != PROMO_SYNTH_NONE);
        double truth = true_profit(w, f, x, 10, all, n);
        truth_all += truth;
        double fc_profit[2], opt_truth[2];
        for (int c = 0; c < 2; c++) {
            promo_forecaster_set_corrections(f, c ? PROMO_FORECAST_CORRECT_ALL : 0);
            promo_forecast_request r = promo_forecast_request_default();
            r.product_id = b.ids[k];
            r.n_target = 0; /* everyone */
            promo_forecast *fc = NULL;
            T_OK(promo_forecast_point(f, &r, &fc));
            fc_profit[c] = fc->figures.incremental_profit;
            if (c)
                half_all += fc->figures.profit_hi - fc->figures.incremental_profit;
            promo_forecast_free(fc);
            promo_surface_params sp = promo_surface_params_default();
            sp.product_id = b.ids[k];
            promo_surface *sf = NULL;
            T_OK(promo_forecast_surface(f, &sp, &sf));
            r.discount_pct = sf->optimum.discount_pct;
            r.n_target = sf->optimum.target;
            opt_truth[c] = 0;
            if (r.n_target) {
                T_OK(promo_forecast_point(f, &r, &fc));
                uint32_t *sel = promo_mallocn(fc->n ? fc->n : 1, sizeof *sel);
                T_ASSERT(sel != NULL);
                for (size_t j = 0; j < fc->n; j++)
                    sel[j] = fc->picks[j].customer;
                opt_truth[c] = true_profit(w, f, x, r.discount_pct, sel, fc->n);
                promo_free(sel);
                promo_forecast_free(fc);
            }
            promo_surface_free(sf);
        }
        err_off += fabs(fc_profit[0] - truth);
        err_on += fabs(fc_profit[1] - truth);
        opt_off += opt_truth[0];
        opt_on += opt_truth[1];
        size_t used = strlen(log);
        snprintf(log + used, sizeof log - used,
                 " [%s: broadcast at 10%%: truth %.1f, forecast %.1f (model alone %.1f); "
                 "optimum's truth %.1f (model alone %.1f)]",
                 b.ids[k], truth, fc_profit[1], fc_profit[0], opt_truth[1], opt_truth[0]);
    }
    T_ASSERT_MSG(truth_all < 0, "the world must be one where broadcasting loses: %.1f%s", truth_all,
                 log);
    T_ASSERT_MSG(err_on < err_off, "forecast error %.1f vs the model alone's %.1f%s", err_on,
                 err_off, log);
    T_ASSERT_MSG(err_on <= half_all, "forecast error %.1f beyond the intervals' %.1f%s", err_on,
                 half_all, log);
    T_ASSERT_MSG(opt_on >= opt_off, "optimum's truth %.1f vs the model alone's %.1f%s", opt_on,
                 opt_off, log);
    T_ASSERT_MSG(opt_on >= -half_all, "optimum loses %.1f%s", opt_on, log);
    /* the figures, for the record (T_VERBOSE=1) */
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "%s\n", log);
    promo_free(all);
    promo_world_free(w);
    promo_forecaster_free(f);
    promo_store_close(s);
}
