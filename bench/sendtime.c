/* bench/sendtime: how often the campaign's send weekday is the generated world's true best
 * weekday (truth_customers.best_weekday), and its hour within one of best_hour (JSON lines).
 *
 * For each prior weight k (pseudo-orders at the population's profile; sendtime.h) and for the
 * raw profile (k 0, no hour kernel): the share of customers whose chosen weekday is the truth,
 * against two baselines measured in the same run: 1/7 (a random weekday) and everyone at the
 * population's best weekday; also by the customers' order count (1-4, 5-19, 20+). No model is
 * needed: the features of the cutoff (the day after the history).
 *   sendtime WS */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/uplift_ws.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sendtime WS\n");
        return 2;
    }
    promo_store *s = NULL;
    promo_table *t = NULL;
    static const char *const cols[] = {"customer_id", "best_weekday", "best_hour"};
    if (promo_store_open_read(argv[1], &s) ||
        promo_store_read_columns(s, "truth_customers", cols, 3, &t)) {
        fprintf(stderr, "%s\n", promo_last_error());
        return 1;
    }
    promo_panel d;
    promo_features *f = NULL;
    if (promo_panel_load_tables(s, 0, &d)) {
        fprintf(stderr, "%s\n", promo_last_error());
        return 1;
    }
    promo_feature_params fp = promo_feature_params_default();
    fp.as_of = promo_uplift_ws_default_as_of(&d); /* as promo campaign's default cutoff */
    fp.products = 0;
    fp.clv = 0;
    if (promo_features_compute(&d.in, &fp, &f)) {
        fprintf(stderr, "%s\n", promo_last_error());
        return 1;
    }
    static const double ks[] = {-1, 0, 1, 2, 5, 10, 20};
    for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
        promo_campaign_targeting tg = promo_campaign_targeting_default();
        tg.fatigue.mode = PROMO_FATIGUE_OFF;
        tg.sendtime.prior_orders = ks[q] < 0 ? 0 : ks[q];
        if (ks[q] < 0)
            tg.sendtime.hour_bandwidth = 0; /* the raw profile: the features' best_dow/hour */
        promo_campaign_profiles *pr = NULL;
        if (promo_campaign_profiles_from_features(f, &tg, &pr)) {
            fprintf(stderr, "%s\n", promo_last_error());
            return 1;
        }
        size_t n = 0, wd = 0, hr = 0, pop = 0, bn[3] = {0}, bm[3] = {0};
        promo_send_slot pslot;
        promo_campaign_profile(pr, "", &pslot, NULL, NULL); /* unknown: the population's */
        for (size_t r = 0; r < t->n_rows; r++) {
            promo_send_slot sl;
            if (!promo_campaign_profile(pr, promo_column_str(t->cols[0], r), &sl, NULL, NULL))
                continue;
            int tw = (int)t->cols[1]->i64[r], th = (int)t->cols[2]->i64[r];
            int dh = abs((int)sl.hour - th);
            dh = dh > 12 ? 24 - dh : dh;
            n++;
            wd += sl.weekday == tw;
            hr += dh <= 1;
            pop += pslot.weekday == tw;
            int b = sl.orders < 5 ? 0 : sl.orders < 20 ? 1 : 2;
            bn[b]++;
            bm[b] += sl.weekday == tw;
        }
        char kb[16];
        snprintf(kb, sizeof kb, ks[q] < 0 ? "\"raw\"" : "%g", ks[q]);
        printf("{\"bench\":\"sendtime\",\"ws\":\"%s\",\"prior_orders\":%s,\"hour_bandwidth\":%g,"
               "\"customers\":%zu,\"weekday_match\":%.4f,\"random_baseline\":%.4f,"
               "\"population_weekday_baseline\":%.4f,\"hour_within_1\":%.4f,"
               "\"weekday_match_orders_1_4\":%.4f,\"n_1_4\":%zu,\"weekday_match_orders_5_19\":%.4f,"
               "\"n_5_19\":%zu,\"weekday_match_orders_20plus\":%.4f,\"n_20plus\":%zu}\n",
               argv[1], kb, tg.sendtime.hour_bandwidth, n, n ? (double)wd / n : NAN, 1.0 / 7,
               n ? (double)pop / n : NAN, n ? (double)hr / n : NAN,
               bn[0] ? (double)bm[0] / bn[0] : NAN, bn[0], bn[1] ? (double)bm[1] / bn[1] : NAN,
               bn[1], bn[2] ? (double)bm[2] / bn[2] : NAN, bn[2]);
        fflush(stdout);
        promo_campaign_profiles_free(pr);
    }
    promo_features_free(f);
    promo_panel_free(&d);
    promo_table_free(t);
    promo_store_close(s);
    return 0;
}
