/* bench/compare_bias.c: how far the campaign forecast is from the simulator's truth, term by
 * term (issue 16: the optimized campaign sends to too many customers because its forecast of
 * incremental profit is optimistic where the truth is a loss).
 *
 *   compare_bias WS DISCOUNT PRODUCT...
 *
 * For each product, the forecaster's per-customer figures at DISCOUNT (promo/forecast.h:
 * p0, p1 = p0 + tau, expected profit p1 m1 - p0 m0 - c) beside the simulator's truth for the
 * same offer (day 0, 10:00, the history's fatigue: promo_world_offer_probs and
 * promo_simulate_expected), summed over two selections: broadcast (everyone) and the
 * forecast's own choice (every customer of positive expected profit). One JSON line per product
 * and selection:
 *   n, model_p0 / true_p0 (the buyers anyway: they take the discount), model_tau / true_tau
 *   (incremental conversions), model_profit / true_profit (LKR), true_profit_unit (the truth's
 *   p0 and tau priced as the forecast prices them: one unit at list price), and the terms of
 *   the forecast's profit (effect margin tau m1, the sure things' discount p0 price d, contact
 *   cost) in model and truth.
 * The truth is read only here, never by the forecast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/store.h>
#include <promo/synth.h>

typedef struct sums {
    size_t n;
    double mp0, mtau, mprofit, tp0, ttau, tprofit, tprofit_unit;
    double m_eff, m_disc, t_eff, t_disc, cc;
} sums;

static void add(sums *s,
                double mp0,
                double mp1,
                double mprof,
                double tp0,
                double tp1,
                double tprof,
                double price,
                double cost,
                double d,
                double c)
{
    double m1 = price * (1 - d) - cost;
    s->n++;
    s->mp0 += mp0;
    s->mtau += mp1 - mp0;
    s->mprofit += mprof;
    s->tp0 += tp0;
    s->ttau += tp1 - tp0;
    s->tprofit += tprof;
    s->tprofit_unit += (tp1 - tp0) * m1 - tp0 * price * d - c;
    s->m_eff += (mp1 - mp0) * m1;
    s->m_disc += mp0 * price * d;
    s->t_eff += (tp1 - tp0) * m1;
    s->t_disc += tp0 * price * d;
    s->cc += c;
}

static void print(const char *prod, const char *sel, double disc, const sums *s)
{
    printf("{\"bench\":\"compare_bias\",\"product\":\"%s\",\"selection\":\"%s\","
           "\"discount_pct\":%g,\"n\":%zu,\"model_p0\":%.3f,\"true_p0\":%.3f,\"model_tau\":%.3f,"
           "\"true_tau\":%.3f,\"model_profit\":%.1f,\"true_profit\":%.1f,"
           "\"true_profit_unit\":%.1f,\"model_effect_margin\":%.1f,\"true_effect_margin\":%.1f,"
           "\"model_sure_discount\":%.1f,\"true_sure_discount\":%.1f,\"contact_cost\":%.1f}\n",
           prod, sel, disc, s->n, s->mp0, s->tp0, s->mtau, s->ttau, s->mprofit, s->tprofit,
           s->tprofit_unit, s->m_eff, s->t_eff, s->m_disc, s->t_disc, s->cc);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: compare_bias WS DISCOUNT PRODUCT...\n");
        return 2;
    }
    double disc = atof(argv[2]);
    promo_store *st = NULL;
    promo_world *w = NULL;
    promo_forecaster *f = NULL;
    int rc = promo_store_open_read(argv[1], &st);
    if (!rc)
        rc = promo_world_load(st, &w);
    if (!rc)
        rc = promo_forecaster_open(st, 0, 2, &f);
    if (rc) {
        fprintf(stderr, "compare_bias: %s\n", promo_last_error());
        return 1;
    }
    /* CORRECTIONS=0..3 (forecast.h's PROMO_FORECAST_CORRECT_* bits; default all) */
    const char *cenv = getenv("CORRECTIONS");
    unsigned corr = cenv && *cenv ? (unsigned)atoi(cenv) : PROMO_FORECAST_CORRECT_ALL;
    promo_forecaster_set_corrections(f, corr);
    const promo_forecast_discount_response *dr = promo_forecaster_discount_response(f);
    char shape[32] = "null"; /* JSON has no infinity: null is the line through the origin */
    if (isfinite(dr->shape))
        snprintf(shape, sizeof shape, "%g", dr->shape);
    printf("{\"bench\":\"compare_bias\",\"corrections\":%u,\"discount_response\":{\"fitted\":%d,"
           "\"rows\":%zu,\"discounts\":%zu,\"level\":%.5f,\"level_se\":%.5f,"
           "\"amplitude\":%.5f,\"amplitude_se\":%.5f,\"shape\":%s,\"mean_curve\":%.4f,"
           "\"factor_at\":{\"5\":%.3f,\"10\":%.3f,\"20\":%.3f,\"30\":%.3f}}}\n",
           corr, dr->fitted, dr->n_rows, dr->n_discounts, dr->level, dr->level_se, dr->amplitude,
           dr->amplitude_se, shape, dr->mean_curve, promo_forecaster_effect_factor(f, 5),
           promo_forecaster_effect_factor(f, 10), promo_forecaster_effect_factor(f, 20),
           promo_forecaster_effect_factor(f, 30));
    size_t n = promo_forecaster_n_customers(f);
    promo_offer *of = promo_mallocn(n, sizeof *of);
    double *tprof = promo_mallocn(n, sizeof *tprof), *tup = promo_mallocn(n, sizeof *tup);
    uint32_t *wi = promo_mallocn(n, sizeof *wi);
    promo_sim_params sp = promo_sim_params_default();
    for (int a = 3; a < argc && !rc; a++) {
        const char *prod = argv[a];
        uint32_t x = promo_world_product_index(w, prod);
        promo_forecast_values *v = NULL;
        if (x == PROMO_SYNTH_NONE || (rc = promo_forecast_customer_values(f, prod, disc, &v))) {
            fprintf(stderr, "compare_bias: %s: %s\n", prod, promo_last_error());
            rc = 1;
            break;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            wi[i] = promo_world_customer_index(w, promo_forecaster_customer_id(f, i));
            if (wi[i] == PROMO_SYNTH_NONE)
                continue;
            of[m++] = (promo_offer){wi[i], x, disc, 0, 10, PROMO_SYNTH_NONE};
        }
        if ((rc = promo_simulate_expected(w, of, m, &sp, tprof, tup))) {
            fprintf(stderr, "compare_bias: %s\n", promo_last_error());
            promo_forecast_values_free(v);
            break;
        }
        double price = promo_world_product_price(w, x), cost = promo_world_product_cost(w, x);
        double units = 1, now = NAN;
        promo_forecaster_product_economics(f, prod, &units, &now);
        printf("{\"bench\":\"compare_bias\",\"product\":\"%s\",\"list_price\":%.2f,"
               "\"cost\":%.2f,\"units_per_purchase\":%.3f,\"shelf_price\":%.2f}\n",
               prod, price, cost, units, isfinite(now) ? now : -1.0);
        sums all = {0}, pos = {0};
        for (size_t i = 0, k = 0; i < n; i++) {
            if (wi[i] == PROMO_SYNTH_NONE)
                continue;
            double tp0, tp1;
            promo_world_offer_probs(w, wi[i], x, disc, 0, 10, 0.0, 14, &tp0, &tp1);
            tp1 = tp0 + tup[k]; /* with the history's fatigue, as the simulator plays it */
            double mp1 = v->probability[i], mp0 = mp1 - v->uplift[i];
            add(&all, mp0, mp1, v->profit[i], tp0, tp1, tprof[k], price, cost, disc / 100,
                sp.cost_per_contact);
            if (v->profit[i] > 0)
                add(&pos, mp0, mp1, v->profit[i], tp0, tp1, tprof[k], price, cost, disc / 100,
                    sp.cost_per_contact);
            k++;
        }
        print(prod, "broadcast", disc, &all);
        print(prod, "positive", disc, &pos);
        promo_forecast_values_free(v);
    }
    promo_free(of);
    promo_free(tprof);
    promo_free(tup);
    promo_free(wi);
    promo_forecaster_free(f);
    promo_world_free(w);
    promo_store_close(st);
    return rc ? 1 : 0;
}
