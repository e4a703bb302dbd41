/* POST /api/optimize and /api/campaign's optimum with the fatigue rule (issue 16): the
 * customers fatigue suppresses are no rows of the surface, as promo campaign --optimize leaves
 * them out, so the optimum is the campaign sent (gap_to_optimum 0). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/store.h>

#include "server/api.h"
#include "t.h"
#include "t_http.h"
#include "t_world.h"

/* A world with contact history (the default fatigue rule suppresses some) and its uplift
 * model. */
static const char *fixture(void)
{
    static char ws[1024];
    if (ws[0])
        return ws;
    char args[1300];
    t_world_write(ws, sizeof ws, 400, 40, 5, 10, 20000);
    snprintf(args, sizeof args, "train --ws %s --model uplift --rounds 40 --threads 1 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    return ws;
}

static int api_call(promo_api *api, promo_api_handler fn, const char *body, promo_api_reply *out)
{
    return t_api_call(api, fn, NULL, NULL, NULL, body, out);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    T_ASSERT_MSG(cJSON_IsNumber(v), "%s is not a number", key);
    return v->valuedouble;
}

/* The reply's surface against sf: every profit cell, the counts and the optimum. */
static void same_surface(const cJSON *b, const promo_surface *sf)
{
    T_ASSERT_EQ_INT(num(b, "n_candidates"), sf->n_candidates);
    const cJSON *ts = cJSON_GetObjectItem(b, "targets"), *pm = cJSON_GetObjectItem(b, "profit");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(ts), sf->n_targets);
    T_ASSERT_EQ_INT(cJSON_GetArraySize(pm), sf->n_discounts);
    size_t j = 0;
    for (const cJSON *t = ts->child; t; t = t->next, j++)
        T_ASSERT_EQ_INT(t->valuedouble, sf->targets[j]);
    size_t i = 0;
    for (const cJSON *row = pm->child; row; row = row->next, i++) {
        j = 0;
        for (const cJSON *c = row->child; c; c = c->next, j++)
            T_ASSERT_NEAR(c->valuedouble, sf->profit[i * sf->n_targets + j],
                          1e-9 * (1 + fabs(sf->profit[i * sf->n_targets + j])));
    }
    const cJSON *o = cJSON_GetObjectItem(b, "optimum");
    T_ASSERT_NEAR(num(o, "discount_pct"), sf->optimum.discount_pct, 0);
    T_ASSERT_EQ_INT(num(o, "target"), sf->optimum.target);
    T_ASSERT_NEAR(num(o, "incremental_profit"), sf->optimum.figures.incremental_profit,
                  1e-9 * (1 + fabs(sf->optimum.figures.incremental_profit)));
}

T_TEST(api_optimize_leaves_the_fatigued_out_as_campaign_does)
{
    const char *ws = fixture();
    /* the surface promo campaign --optimize computes: the suppressed are no rows */
    promo_store *s = NULL;
    promo_forecaster *f = NULL;
    promo_campaign_profiles *pr = NULL;
    T_OK(promo_store_open_read(ws, &s));
    T_OK(promo_forecaster_open(s, 0, 1, &f));
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    T_OK(promo_campaign_profiles_open(s, promo_forecaster_as_of(f), &tg, &pr));
    size_t n = promo_forecaster_n_customers(f), n_out = 0;
    uint8_t *mask = promo_calloc(n, 1);
    T_ASSERT(mask != NULL);
    for (size_t i = 0; i < n; i++)
        n_out += mask[i] =
            (uint8_t)promo_campaign_suppressed(pr, promo_forecaster_customer_id(f, i));
    T_ASSERT_MSG(n_out > 0 && n_out < n, "%zu of %zu suppressed: the test needs some", n_out, n);
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = "PROD00001";
    sp.exclude = mask;
    promo_surface *kept = NULL, *all = NULL;
    T_OK(promo_forecast_surface(f, &sp, &kept));
    sp.exclude = NULL;
    T_OK(promo_forecast_surface(f, &sp, &all));

    promo_api *api = NULL;
    T_OK(promo_api_open(ws, &api));
    promo_api_reply r;
    T_ASSERT_EQ_INT(api_call(api, promo_api_optimize, "{\"product_id\": \"PROD00001\"}", &r), 200);
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(r.body, "fatigue")->valuestring, "suppress");
    T_ASSERT_EQ_INT(num(r.body, "n_customers"), n);
    T_ASSERT_EQ_INT(num(r.body, "suppressed_fatigue"), n_out);
    same_surface(r.body, kept);
    cJSON_Delete(r.body);
    /* "off": every customer, the surface as before */
    T_ASSERT_EQ_INT(api_call(api, promo_api_optimize,
                             "{\"product_id\": \"PROD00001\", \"fatigue\": \"off\"}", &r),
                    200);
    T_ASSERT_EQ_INT(num(r.body, "suppressed_fatigue"), 0);
    same_surface(r.body, all);
    cJSON_Delete(r.body);
    T_ASSERT_EQ_INT(api_call(api, promo_api_optimize,
                             "{\"product_id\": \"PROD00001\", \"fatigue\": \"sometimes\"}", &r),
                    400);
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "error"), "field")->valuestring,
                    "fatigue");
    cJSON_Delete(r.body);

    /* /api/campaign at optimize: true sends the optimum of those it keeps: no gap, the
     * optimum's count, nobody suppressed among the rows */
    T_ASSERT_EQ_INT(api_call(api, promo_api_campaign,
                             "{\"product_id\": \"PROD00001\", \"optimize\": true, "
                             "\"holdout_pct\": 0, \"rows\": 10000}",
                             &r),
                    200);
    const cJSON *o = cJSON_GetObjectItem(r.body, "optimum");
    T_ASSERT_NEAR(num(o, "discount_pct"), kept->optimum.discount_pct, 0);
    T_ASSERT_EQ_INT(num(o, "target"), kept->optimum.target);
    T_ASSERT_NEAR(num(r.body, "discount_pct"), kept->optimum.discount_pct, 0);
    T_ASSERT_EQ_INT(num(r.body, "target"), kept->optimum.target);
    double best = kept->optimum.figures.incremental_profit;
    T_ASSERT_NEAR(num(r.body, "gap_to_optimum"), 0, 1e-9 * (1 + fabs(best)));
    const cJSON *rows = cJSON_GetObjectItem(r.body, "rows");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(rows), kept->optimum.target);
    for (const cJSON *w = rows->child; w; w = w->next)
        T_ASSERT(
            !promo_campaign_suppressed(pr, cJSON_GetObjectItem(w, "customer_id")->valuestring));
    cJSON_Delete(r.body);
    /* fatigue off: the optimum of every customer */
    T_ASSERT_EQ_INT(api_call(api, promo_api_campaign,
                             "{\"product_id\": \"PROD00001\", \"optimize\": true, "
                             "\"holdout_pct\": 0, \"rows\": 0, \"fatigue\": \"off\"}",
                             &r),
                    200);
    o = cJSON_GetObjectItem(r.body, "optimum");
    T_ASSERT_EQ_INT(num(o, "target"), all->optimum.target);
    T_ASSERT_NEAR(num(o, "incremental_profit"), all->optimum.figures.incremental_profit,
                  1e-9 * (1 + fabs(all->optimum.figures.incremental_profit)));
    T_ASSERT_NEAR(num(r.body, "gap_to_optimum"), 0,
                  1e-9 * (1 + fabs(all->optimum.figures.incremental_profit)));
    cJSON_Delete(r.body);
    promo_api_free(api);
    promo_surface_free(kept);
    promo_surface_free(all);
    promo_free(mask);
    promo_campaign_profiles_free(pr);
    promo_forecaster_free(f);
    promo_store_close(s);
}
