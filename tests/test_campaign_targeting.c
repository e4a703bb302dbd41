/* Send time, fatigue, CLV weighting and the contact limit of campaigns (promo/sendtime.h,
 * promo/fatigue.h, campaign.h's profiles / refine / schedule, and promo campaign's options). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/fatigue.h>
#include <promo/forecast.h>
#include <promo/sendtime.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "server/api.h"
#include "t.h"
#include "t_http.h"
#include "t_world.h"

/* ---- hand-made features: the columns the profiles read, one row per customer ---- */

enum { F_FREQ = 0, F_DOW = 1, F_HOUR = 8, F_C30 = 32, F_TREND = 33, F_SINCE = 34, F_CLV = 35, F_N };

static promo_features *fake_features(size_t n)
{
    promo_features *f = promo_calloc(1, sizeof *f);
    T_ASSERT(f != NULL);
    static const char *const dows[7] = {"dow_mon", "dow_tue", "dow_wed", "dow_thu",
                                        "dow_fri", "dow_sat", "dow_sun"};
    f->n_customers = n;
    f->n_features = F_N;
    f->feature_names = promo_calloc(F_N, sizeof *f->feature_names);
    f->X = promo_calloc(n * F_N, sizeof *f->X);
    f->id_pool = promo_calloc(n, 8);
    f->id_off = promo_calloc(n, sizeof *f->id_off);
    T_ASSERT(f->feature_names && f->X && f->id_pool && f->id_off);
    char nm[32];
    for (int j = 0; j < F_N; j++) {
        const char *s = j == F_FREQ    ? "frequency"
                        : j < F_HOUR   ? dows[j - F_DOW]
                        : j < F_C30    ? (snprintf(nm, sizeof nm, "hour_%02d", j - F_HOUR), nm)
                        : j == F_C30   ? "contacts_30d"
                        : j == F_TREND ? "response_trend"
                        : j == F_SINCE ? "days_since_contact"
                                       : "clv_365d";
        f->feature_names[j] = promo_strdup(s);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(f->id_pool + 8 * i, 8, "C%u", (unsigned)(i % 1000));
        f->id_off[i] = 8 * i;
        f->X[i * F_N + F_TREND] = NAN;
        f->X[i * F_N + F_SINCE] = NAN;
    }
    return f;
}

/* Customer i: `orders` orders, all on weekday wd at hour h. */
static void shops(promo_features *f, size_t i, float orders, int wd, int h)
{
    float *x = f->X + i * F_N;
    x[F_FREQ] = orders;
    for (int d = 0; d < 7; d++)
        x[F_DOW + d] = orders > 0 && d == wd ? 1.0f : 0.0f;
    for (int k = 0; k < 24; k++)
        x[F_HOUR + k] = orders > 0 && k == h ? 1.0f : 0.0f;
}

T_TEST(sendtime_own_profile_shrunk_toward_the_population)
{
    promo_features *f = fake_features(4);
    shops(f, 0, 10, 5, 9);  /* ten Saturday mornings */
    shops(f, 1, 1, 0, 20);  /* one Monday evening */
    shops(f, 2, 30, 5, 10); /* thirty Saturdays */
    shops(f, 3, 0, 0, 0);   /* no order */
    promo_sendtime_params p = promo_sendtime_params_default();
    promo_send_slot *s = NULL, pop;
    T_OK(promo_sendtime_compute(f, &p, &s, &pop));
    T_ASSERT_EQ_INT(s[0].weekday, 5);
    T_ASSERT_EQ_INT(s[0].hour, 9);
    T_ASSERT_EQ_INT(s[0].population, 0);
    char why[128];
    promo_sendtime_phrase(&s[0], why, sizeof why);
    T_ASSERT_STR_EQ(why, "usually shops on Saturday mornings");
    /* one Monday order against 40 Saturday ones with a prior of 5 orders: Saturday */
    T_ASSERT_EQ_INT(s[1].weekday, 5);
    T_ASSERT(s[1].weekday_share > 0.7f);
    /* no order: the population's slot, said so */
    T_ASSERT_EQ_INT(s[3].population, 1);
    T_ASSERT_EQ_INT(s[3].weekday, pop.weekday);
    promo_sendtime_phrase(&s[3], why, sizeof why);
    T_ASSERT_CONTAINS(why, "no shopping history");
    promo_free(s);
    /* without the prior the single order decides */
    p.prior_orders = 0;
    T_OK(promo_sendtime_compute(f, &p, &s, NULL));
    T_ASSERT_EQ_INT(s[1].weekday, 0);
    T_ASSERT_EQ_INT(s[1].hour, 20);
    promo_free(s);
    /* the kernel: orders at 17:00 and 19:00 are best reached at 18:00 */
    float *x = f->X + 0 * F_N;
    x[F_HOUR + 9] = 0;
    x[F_HOUR + 17] = 0.5f;
    x[F_HOUR + 19] = 0.5f;
    p = promo_sendtime_params_default();
    T_OK(promo_sendtime_compute(f, &p, &s, NULL));
    T_ASSERT_EQ_INT(s[0].hour, 18);
    promo_free(s);
    p.prior_orders = -1;
    T_ASSERT_EQ_INT(promo_sendtime_compute(f, &p, &s, NULL), PROMO_EUSAGE);
    /* 2024-01-01 is a Monday: the next Saturday is 5 days on, the same Monday 0 */
    int64_t mon = promo_days_from_civil(2024, 1, 1) * PROMO_SECONDS_PER_DAY + 3600;
    T_ASSERT_EQ_INT(promo_sendtime_days_to(mon, 5), 5);
    T_ASSERT_EQ_INT(promo_sendtime_days_to(mon, 0), 0);
    T_ASSERT_EQ_INT(promo_sendtime_days_to(mon + PROMO_SECONDS_PER_DAY, 0), 6);
    promo_features_free(f);
}

T_TEST(fatigue_flags_contacts_and_falling_responses)
{
    promo_features *f = fake_features(4);
    f->X[0 * F_N + F_C30] = 5; /* many recent offers */
    f->X[0 * F_N + F_SINCE] = 3;
    f->X[1 * F_N + F_TREND] = -0.3f; /* bought, then stopped */
    f->X[2 * F_N + F_C30] = 1;
    f->X[2 * F_N + F_TREND] = 0.1f;
    promo_fatigue_params p = promo_fatigue_params_default();
    promo_fatigue_verdict *v = NULL;
    size_t n = 0;
    T_OK(promo_fatigue_compute(f, &p, &v, &n));
    T_ASSERT_EQ_INT(n, 2);
    T_ASSERT_EQ_INT(v[0].why, PROMO_FATIGUE_CONTACTS);
    T_ASSERT_EQ_INT(v[1].why, PROMO_FATIGUE_TREND);
    T_ASSERT_EQ_INT(v[2].why, 0);
    T_ASSERT_EQ_INT(v[3].why, 0);
    char why[160];
    promo_fatigue_describe(&v[0], &p, why, sizeof why);
    T_ASSERT_STR_EQ(why, "5 offers in the last 30 days (limit 3)");
    promo_fatigue_describe(&v[1], &p, why, sizeof why);
    T_ASSERT_CONTAINS(why, "responses falling (trend -0.30");
    /* cool-down: 14 days after a contact 3 days ago is day 11 */
    T_ASSERT_EQ_INT(promo_fatigue_cooldown_day(&v[0], &p, 0), 11);
    T_ASSERT_EQ_INT(promo_fatigue_cooldown_day(&v[0], &p, 20), 20);
    T_ASSERT_EQ_INT(promo_fatigue_cooldown_day(&v[2], &p, 0), 0);
    promo_free(v);
    p.mode = PROMO_FATIGUE_OFF;
    T_OK(promo_fatigue_compute(f, &p, &v, &n));
    T_ASSERT_EQ_INT(n, 0);
    T_ASSERT_EQ_INT(v[0].why, 0);
    promo_free(v);
    p = promo_fatigue_params_default();
    p.max_contacts_30d = 0;
    T_ASSERT_EQ_INT(promo_fatigue_compute(f, &p, &v, &n), PROMO_EUSAGE);
    promo_features_free(f);
}

/* ---- on a generated world with its uplift model ---- */

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

T_TEST(sendtime_finds_the_true_weekday_more_often_than_chance)
{
    promo_store *s = NULL;
    T_OK(promo_store_open_read(fixture(), &s));
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    promo_campaign_profiles *pr = NULL;
    T_OK(promo_campaign_profiles_open(s, 0, &tg, &pr));
    static const char *const cols[] = {"customer_id", "best_weekday"};
    promo_table *t = NULL;
    T_OK(promo_store_read_columns(s, "truth_customers", cols, 2, &t));
    size_t n = 0, hit = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        promo_send_slot sl;
        if (!promo_campaign_profile(pr, promo_column_str(t->cols[0], r), &sl, NULL, NULL))
            continue;
        T_ASSERT(sl.weekday < 7 && sl.hour < 24);
        n++;
        hit += sl.weekday == t->cols[1]->i64[r];
    }
    /* chance is 1/7 = 0.14; the default world gives 0.37 (bench/RESULTS.md) */
    T_ASSERT_MSG(n > 300 && (double)hit / (double)n > 0.25, "weekday match %zu of %zu", hit, n);
    promo_table_free(t);
    promo_campaign_profiles_free(pr);
    promo_store_close(s);
}

static promo_forecaster *open_fc(promo_store **s)
{
    promo_forecaster *f = NULL;
    T_OK(promo_store_open_read(fixture(), s));
    T_OK(promo_forecaster_open(*s, 0, 1, &f));
    return f;
}

T_TEST(campaign_refine_without_fatigue_or_clv_is_the_forecast)
{
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    tg.fatigue.mode = PROMO_FATIGUE_OFF;
    promo_campaign_profiles *pr = NULL;
    T_OK(promo_campaign_profiles_open(s, promo_forecaster_as_of(f), &tg, &pr));
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = "PROD00001";
    r.n_target = 60;
    r.holdout_pct = 10;
    r.budget = 400;
    promo_forecast *want = NULL, *all = NULL, *got = NULL;
    T_OK(promo_forecast_point(f, &r, &want));
    promo_campaign_refine_params rp = promo_campaign_refine_params_default();
    rp.n_target = r.n_target;
    rp.holdout_pct = r.holdout_pct;
    rp.budget = r.budget;
    r.n_target = 0;
    r.holdout_pct = 0;
    r.budget = INFINITY;
    T_OK(promo_forecast_point(f, &r, &all));
    promo_campaign_excluded *ex = NULL;
    size_t n_ex = 9;
    T_OK(promo_campaign_refine(pr, all, &rp, &got, &ex, &n_ex));
    T_ASSERT_EQ_INT(n_ex, 0);
    T_ASSERT_EQ_INT(got->n, want->n);
    T_ASSERT_EQ_INT(got->n_holdout, want->n_holdout);
    T_ASSERT_EQ_INT(got->budget_bound, want->budget_bound);
    for (size_t j = 0; j < got->n; j++) {
        T_ASSERT_STR_EQ(got->picks[j].customer_id, want->picks[j].customer_id);
        T_ASSERT_EQ_INT(got->picks[j].holdout, want->picks[j].holdout);
    }
    T_ASSERT_EQ_INT(got->figures.contacts, want->figures.contacts);
    T_ASSERT_NEAR(got->figures.incremental_profit, want->figures.incremental_profit, 1e-9);
    T_ASSERT_NEAR(got->figures.profit_lo, want->figures.profit_lo, 1e-9);
    T_ASSERT_NEAR(got->figures.discount_cost, want->figures.discount_cost, 1e-9);
    T_ASSERT_NEAR(got->figures.incremental_revenue, want->figures.incremental_revenue, 1e-9);
    promo_free(ex);
    promo_forecast_free(got);
    promo_forecast_free(want);

    /* a large CLV weight orders by CLV; a weight with another ranking is refused */
    promo_campaign_profiles_free(pr);
    tg.clv_weight = 1e6;
    T_OK(promo_campaign_profiles_open(s, promo_forecaster_as_of(f), &tg, &pr));
    rp = promo_campaign_refine_params_default();
    rp.n_target = 40;
    T_OK(promo_campaign_refine(pr, all, &rp, &got, &ex, &n_ex));
    T_ASSERT_EQ_INT(got->n, 40);
    double prev = INFINITY;
    size_t with_clv = 0;
    for (size_t j = 0; j < got->n; j++) {
        double clv = NAN;
        promo_campaign_profile(pr, got->picks[j].customer_id, NULL, NULL, &clv);
        if (!isfinite(clv))
            clv = 0;
        with_clv += clv > 0;
        T_ASSERT_MSG(clv <= prev + 1e-3, "pick %zu clv %g after %g", j, clv, prev);
        prev = clv;
    }
    T_ASSERT(with_clv > 0);
    promo_free(ex);
    promo_forecast_free(got);
    promo_forecast_request ru = r;
    ru.rank_by = PROMO_FORECAST_RANK_UPLIFT;
    ru.n_target = 10;
    promo_forecast *up = NULL;
    T_OK(promo_forecast_point(f, &ru, &up));
    T_ASSERT_EQ_INT(promo_campaign_refine(pr, up, &rp, &got, &ex, &n_ex), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "clv_weight");
    promo_forecast_free(up);
    promo_forecast_free(all);
    promo_campaign_profiles_free(pr);
    promo_forecaster_free(f);
    promo_store_close(s);
}

/* The ids of a campaign file's rows (customer_id is its first column), newline-joined. */
static char *file_ids(const char *path, size_t *rows)
{
    char *data = t_read_file(path, NULL);
    T_ASSERT(data != NULL);
    size_t n = 0, k = 0;
    char *out = calloc(strlen(data) + 1, 1);
    const char *p = strchr(data, '\n');
    while (p && p[1]) {
        p++;
        const char *e = strchr(p, ',');
        memcpy(out + k, p, (size_t)(e - p));
        k += (size_t)(e - p);
        out[k++] = '\n';
        n++;
        /* rows may hold quoted newlines? reasons have none: the next line starts a row */
        p = strchr(p, '\n');
    }
    free(data);
    *rows = n;
    return out;
}

T_TEST(campaign_fatigue_leaves_out_the_tired_and_counts_them)
{
    const char *ws = fixture();
    char args[4200], off[1200], on[1200], sup[1200];
    snprintf(off, sizeof off, "%s/off.csv", t_tmpdir());
    snprintf(on, sizeof on, "%s/on.csv", t_tmpdir());
    snprintf(sup, sizeof sup, "%s/sup.csv", t_tmpdir());
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --rank-by probability --target 60 --holdout 0 "
             "--fatigue off --out %s --json",
             ws, off);
    char *out = NULL;
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"suppressed_fatigue\":0");
    free(out);
    /* a limit of 1 offer in 30 days: everyone contacted in the last month is tired */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --rank-by probability --target 60 --holdout 0 "
             "--fatigue-max-contacts-30d 1 --out %s --show-suppressed %s --json",
             ws, on, sup);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    const char *q = strstr(out, "\"suppressed_fatigue\":");
    T_ASSERT(q != NULL);
    long n_sup = strtol(q + 21, NULL, 10);
    T_ASSERT_MSG(n_sup > 0, "nobody suppressed: %s", out);
    free(out);
    size_t n_off = 0, n_on = 0;
    char *ids_off = file_ids(off, &n_off), *ids_on = file_ids(on, &n_on);
    T_ASSERT_EQ_INT(n_off, 60);
    T_ASSERT_EQ_INT(n_on, 60); /* the places go to the next customers */
    /* every customer of the first run missing from the second is listed as suppressed, with
     * an offer in the last 30 days or a falling trend, and the count is theirs */
    char *listed = t_read_file(sup, NULL);
    T_ASSERT(listed != NULL);
    size_t missing = 0;
    for (char *p = ids_off, *e; (e = strchr(p, '\n')); p = e + 1) {
        *e = 0;
        char key[160];
        snprintf(key, sizeof key, "\n%s\n", p);
        char probe[170];
        snprintf(probe, sizeof probe, "\n%s,suppressed,", p);
        char *hay = NULL;
        size_t hn = strlen(ids_on) + 2;
        hay = calloc(hn + 1, 1);
        hay[0] = '\n';
        memcpy(hay + 1, ids_on, hn - 2);
        if (!strstr(hay, key)) {
            missing++;
            T_ASSERT_MSG(strstr(listed, probe) != NULL, "%s left out but not listed", p);
        }
        free(hay);
    }
    /* the listed may also hold tired customers ranked between the 60th and the last kept */
    T_ASSERT_MSG(missing <= (size_t)n_sup, "%zu missing, %ld suppressed", missing, n_sup);
    size_t rows = 0;
    for (const char *p = listed; (p = strstr(p, ",suppressed,")); p++)
        rows++;
    T_ASSERT_EQ_INT(rows, n_sup);
    /* and nobody in the campaign is tired */
    promo_store *s = NULL;
    T_OK(promo_store_open_read(ws, &s));
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    tg.fatigue.max_contacts_30d = 1;
    promo_campaign_profiles *pr = NULL;
    T_OK(promo_campaign_profiles_open(s, 0, &tg, &pr));
    for (char *p = ids_on, *e; (e = strchr(p, '\n')); p = e + 1) {
        *e = 0;
        promo_fatigue_verdict v;
        T_ASSERT(promo_campaign_profile(pr, p, NULL, &v, NULL));
        T_ASSERT_MSG(v.why == 0, "%s is tired (%g contacts)", p, (double)v.contacts_30d);
    }
    promo_campaign_profiles_free(pr);
    promo_store_close(s);
    free(listed);
    free(ids_off);
    free(ids_on);
}

T_TEST(campaign_send_time_per_customer_in_the_file)
{
    const char *ws = fixture();
    char args[4200], path[1200];
    snprintf(path, sizeof path, "%s/c.csv", t_tmpdir());
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --rank-by probability --target 30 --send-day 3 "
             "--out %s",
             ws, path);
    char *out = NULL;
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "send time: each customer's usual weekday and hour");
    T_ASSERT_CONTAINS(out, "suppressed for fatigue: ");
    free(out);
    promo_campaign_file *cf = NULL;
    T_OK(promo_campaign_read(path, &cf));
    promo_campaign_file_free(cf);
    char *data = t_read_file(path, NULL);
    T_ASSERT_CONTAINS(data, "usually shops on ");
    free(data);
    /* each row's day is in the week from the start and falls on the customer's weekday */
    promo_store *s = NULL;
    promo_forecaster *f = open_fc(&s);
    int64_t as_of = promo_forecaster_as_of(f);
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    promo_campaign_profiles *pr = NULL;
    T_OK(promo_campaign_profiles_open(s, as_of, &tg, &pr));
    promo_table *t = NULL;
    promo_csv_options co = promo_csv_options_default();
    co.delimiter = ',';
    T_OK(promo_csv_read(path, &co, &t, NULL));
    const promo_column *id = promo_table_column(t, "customer_id"),
                       *sd = promo_table_column(t, "send_day"),
                       *sh = promo_table_column(t, "send_hour");
    T_ASSERT(id && sd && sh);
    int hours = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        promo_send_slot sl;
        promo_campaign_profile(pr, promo_column_str(id, r), &sl, NULL, NULL);
        double day = promo_column_num(sd, r), hr = promo_column_num(sh, r);
        T_ASSERT(day >= 3 && day <= 9);
        T_ASSERT_EQ_INT(promo_time_weekday(as_of + (int64_t)day * PROMO_SECONDS_PER_DAY),
                        sl.weekday);
        T_ASSERT_EQ_INT((int)hr, sl.hour);
        hours |= 1 << (int)hr;
    }
    T_ASSERT(__builtin_popcount((unsigned)hours) > 1); /* not one hour for everyone */
    promo_table_free(t);
    promo_campaign_profiles_free(pr);
    promo_forecaster_free(f);
    promo_store_close(s); /* the command below takes the workspace's lock */
    /* --send-time fixed keeps --send-day and --send-hour */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --rank-by probability --target 30 --send-day 3 "
             "--send-hour 19 --send-time fixed --out %s",
             ws, path);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    T_OK(promo_csv_read(path, &co, &t, NULL));
    sd = promo_table_column(t, "send_day");
    sh = promo_table_column(t, "send_hour");
    for (size_t r = 0; r < t->n_rows; r++) {
        T_ASSERT_EQ_INT((int)promo_column_num(sd, r), 3);
        T_ASSERT_EQ_INT((int)promo_column_num(sh, r), 19);
    }
    promo_table_free(t);
}

T_TEST(campaign_clv_weight_and_contact_limit_options)
{
    const char *ws = fixture();
    char args[4200], path[1200];
    snprintf(path, sizeof path, "%s/c.csv", t_tmpdir());
    char *out = NULL, *err = NULL;
    /* --max-contacts caps --personalize */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --personalize --max-contacts 5 --out %s --json",
             ws, path);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"max_contacts\":5");
    T_ASSERT_CONTAINS(out, "\"suppressed_fatigue\":");
    size_t n = 0;
    for (const char *p = strstr(out, "\"customers\":["); p && (p = strstr(p, "\"customer_id\""));
         p++)
        n++;
    T_ASSERT(n >= 1 && n <= 5);
    free(out);
    /* (W = 0 equals the forecaster's ranking: campaign_refine_without_fatigue_or_clv_...) */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --target 10 --clv-weight 2 --json --out %s", ws,
             path);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"clv_weight\":2");
    free(out);
    /* misuse: exit 2 naming the option */
    static const char *const bad[] = {"--max-contacts 5",  "--clv-weight 1 --rank-by uplift",
                                      "--clv-weight -1",   "--fatigue sometimes",
                                      "--send-time never", "--fatigue-max-contacts-30d 0"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(args, sizeof args, "campaign --ws %s --product PROD00001 %s --out %s", ws, bad[k],
                 path);
        T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
        const char *opt = bad[k] + 2;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(opt, " "), opt);
        if (k == 1)
            snprintf(name, sizeof name, "clv-weight");
        T_ASSERT_CONTAINS(err, name);
        free(err);
        err = NULL;
    }
}

/* A retailer without a promotion log: fatigue has no contact to count, and the campaign says
 * it was not applied and why instead of "suppressed for fatigue: 0" (issue 16). */
T_TEST(campaign_without_contact_history_says_fatigue_not_applied)
{
    char ws[1100], args[1400];
    snprintf(ws, sizeof ws, "%s/nolog", t_tmpdir());
    snprintf(args, sizeof args,
             "generate --ws %s --customers 150 --products 30 --transactions 6000 --seed 7 "
             "--promotions 0 -q",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args,
             "train --ws %s --target product:PROD00001 --no-baselines --no-plots --rounds 20 "
             "--windows 1 -q",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    char *out = NULL;
    snprintf(args, sizeof args, "campaign --ws %s --product PROD00001 --target 20", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "fatigue: not applied: the workspace has no contact history");
    T_ASSERT(strstr(out, "suppressed for fatigue") == NULL);
    free(out);
    snprintf(args, sizeof args, "campaign --ws %s --product PROD00001 --target 20 --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"fatigue_applied\":false");
    T_ASSERT_CONTAINS(out, "\"fatigue_note\":\"no contact history");
    free(out);
    /* a workspace with a log applies it */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --rank-by probability --target 20 --json",
             fixture());
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"fatigue_applied\":true");
    T_ASSERT_CONTAINS(out, "\"fatigue_note\":null");
    free(out);
}

/* The figures of a --json campaign: spend (discount + contact cost) and contacts. */
static void json_spend(const char *out, double *spend, long *contacts, long *suppressed)
{
    const char *q = strstr(out, "\"forecast\":{");
    T_ASSERT(q != NULL);
    const char *dc = strstr(q, "\"discount_cost\":"), *cc = strstr(q, "\"contact_cost\":"),
               *n = strstr(q, "\"contacts\":"), *s = strstr(out, "\"suppressed_fatigue\":");
    T_ASSERT(dc && cc && n && s);
    *spend = strtod(dc + 16, NULL) + strtod(cc + 15, NULL);
    *contacts = strtol(n + 11, NULL, 10);
    *suppressed = strtol(s + 21, NULL, 10);
}

/* --personalize under a budget: the customers fatigue suppresses are left out BEFORE the
 * allocation, so the budget they would have used goes to the next best customers (issue 16);
 * before, they were dropped after it and their share of the budget was simply not spent. */
T_TEST(campaign_personalize_budget_respent_after_fatigue)
{
    const char *ws = fixture();
    char args[4200], path[1200], sup[1200];
    snprintf(path, sizeof path, "%s/pb.csv", t_tmpdir());
    snprintf(sup, sizeof sup, "%s/pb_sup.csv", t_tmpdir());
    const double budget = 120;
    char *out = NULL;
    double s_off = 0, s_on = 0;
    long n_off = 0, n_on = 0, sup_off = 0, sup_on = 0;
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --personalize --budget %g --fatigue off "
             "--out %s --json",
             ws, budget, path);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    json_spend(out, &s_off, &n_off, &sup_off);
    free(out);
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --personalize --budget %g "
             "--fatigue-max-contacts-30d 1 --show-suppressed %s --out %s --json",
             ws, budget, sup, path);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    json_spend(out, &s_on, &n_on, &sup_on);
    free(out);
    T_ASSERT_EQ_INT(sup_off, 0);
    T_ASSERT_MSG(sup_on > 0, "nobody suppressed");
    T_ASSERT_MSG(s_off > 0.97 * budget && s_off <= budget + 1e-6, "spend %.2f of %g", s_off,
                 budget);
    /* the budget binds in both, and the suppressed customers' share is spent on others */
    T_ASSERT_MSG(s_on > 0.97 * budget && s_on <= budget + 1e-6,
                 "with %ld suppressed: spend %.2f of %g (%ld contacts; %.2f, %ld contacts "
                 "without the rule)",
                 sup_on, s_on, budget, n_on, s_off, n_off);
    /* nobody the rule suppressed is in the campaign file */
    size_t n_ids = 0, n_sup = 0;
    char *ids = file_ids(path, &n_ids), *sids = file_ids(sup, &n_sup);
    T_ASSERT_EQ_INT(n_sup, (size_t)sup_on);
    T_ASSERT(n_ids > 0);
    char *all = calloc(strlen(ids) + 2, 1);
    all[0] = '\n';
    strcat(all, ids);
    for (char *l = sids, *e; (e = strchr(l, '\n')); l = e + 1) {
        char key[160];
        snprintf(key, sizeof key, "\n%.*s\n", (int)(e - l), l);
        T_ASSERT_MSG(strstr(all, key) == NULL, "suppressed %.*s in the campaign", (int)(e - l), l);
    }
    free(all);
    free(ids);
    free(sids);
}

/* POST /api/campaign through the API handle (as test_server.c calls handlers). */
static int api_campaign(promo_api *api, const char *body, promo_api_reply *out)
{
    return t_api_call(api, promo_api_campaign, NULL, NULL, NULL, body, out);
}

/* The API's campaign sends and spares as promo campaign does (issue 16): each row at the
 * customer's own slot in the week from the cutoff, nobody the fatigue rule suppresses (their
 * places to the next, so the count is still met), the profiles built once per loaded
 * workspace and kept in the handle. */
T_TEST(api_campaign_uses_send_time_and_fatigue)
{
    promo_api *api = NULL;
    T_OK(promo_api_open(fixture(), &api));
    promo_api_reply r;
    T_ASSERT_EQ_INT(api_campaign(api,
                                 "{\"product_id\": \"PROD00001\", \"target\": 60, "
                                 "\"holdout_pct\": 0, \"rows\": 60}",
                                 &r),
                    200);
    const cJSON *b = r.body;
    T_ASSERT(api->profiles != NULL);
    const promo_campaign_profiles *kept = api->profiles;
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(b, "send_time")->valuestring, "best");
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(b, "fatigue")->valuestring, "suppress");
    T_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(b, "fatigue_applied")));
    T_ASSERT(cJSON_GetObjectItem(b, "fatigued_customers")->valuedouble > 0);
    T_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(b, "suppressed_fatigue")));
    const cJSON *rows = cJSON_GetObjectItem(b, "rows");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(rows), 60);
    int hours = 0;
    for (const cJSON *w = rows->child; w; w = w->next) {
        const char *id = cJSON_GetObjectItem(w, "customer_id")->valuestring;
        promo_send_slot sl;
        promo_campaign_profile(api->profiles, id, &sl, NULL, NULL);
        T_ASSERT_EQ_INT(cJSON_GetObjectItem(w, "send_hour")->valueint, sl.hour);
        int d = cJSON_GetObjectItem(w, "send_day")->valueint;
        T_ASSERT(d >= 0 && d <= 6);
        T_ASSERT_STR_EQ(cJSON_GetObjectItem(w, "send_weekday")->valuestring,
                        promo_weekday_name(sl.weekday));
        T_ASSERT_MSG(!promo_campaign_suppressed(api->profiles, id), "%s is fatigued", id);
        hours |= 1 << sl.hour;
    }
    T_ASSERT(__builtin_popcount((unsigned)hours) > 1);
    cJSON_Delete(r.body);
    /* a second call reuses the profiles (built once per loaded workspace) */
    T_ASSERT_EQ_INT(api_campaign(api, "{\"product_id\": \"PROD00001\", \"optimize\": true}", &r),
                    200);
    T_ASSERT(api->profiles == kept);
    cJSON_Delete(r.body);
    promo_api_free(api);
}

/* "bundle" in POST /api/campaign is promo campaign --bundle: the same product (chosen over
 * the year before the same cutoff), null when not asked, and a bad one is the field's 400. */
T_TEST(api_campaign_offers_the_bundle_the_cli_chooses)
{
    char args[1400], *out = NULL, *err = NULL;
    snprintf(
        args, sizeof args,
        "campaign --ws %s --product PROD00001 --target 20 --rank-by profit --bundle auto --json "
        "--out %s/b.csv",
        fixture(), t_tmpdir());
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    free(err);
    cJSON *cli = cJSON_Parse(out);
    T_ASSERT(cli);
    const cJSON *cb = cJSON_GetObjectItem(cli, "bundle");
    T_ASSERT(cJSON_IsObject(cb));
    const cJSON *cid = cJSON_GetObjectItem(cb, "product_id");
    T_ASSERT(cJSON_IsString(cid)); /* this world has a partner for its best seller */

    promo_api *api = NULL;
    T_OK(promo_api_open(fixture(), &api));
    promo_api_reply r;
    T_ASSERT_EQ_INT(api_campaign(api,
                                 "{\"product_id\": \"PROD00001\", \"target\": 20, "
                                 "\"bundle\": \"auto\"}",
                                 &r),
                    200);
    const cJSON *ab = cJSON_GetObjectItem(r.body, "bundle");
    T_ASSERT(cJSON_IsObject(ab));
    const cJSON *aid = cJSON_GetObjectItem(ab, "product_id");
    T_ASSERT(cJSON_IsString(aid));
    T_ASSERT_STR_EQ(aid->valuestring, cid->valuestring);
    T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(ab, "product_name")));
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(ab, "orders")->valueint,
                    cJSON_GetObjectItem(cb, "orders")->valueint);
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(ab, "together")->valueint,
                    cJSON_GetObjectItem(cb, "together")->valueint);
    cJSON_Delete(r.body);
    /* asked again (another target: the page's slider), from the API's cache: the same */
    T_ASSERT_EQ_INT(api_campaign(api,
                                 "{\"product_id\": \"PROD00001\", \"target\": 30, "
                                 "\"bundle\": \"auto\"}",
                                 &r),
                    200);
    ab = cJSON_GetObjectItem(r.body, "bundle");
    T_ASSERT(cJSON_IsObject(ab) && cJSON_IsString(cJSON_GetObjectItem(ab, "product_id")));
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(ab, "product_id")->valuestring, cid->valuestring);
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(ab, "together")->valueint,
                    cJSON_GetObjectItem(cb, "together")->valueint);
    cJSON_Delete(r.body);

    T_ASSERT_EQ_INT(api_campaign(api, "{\"product_id\": \"PROD00001\", \"bundle\": null}", &r),
                    200);
    T_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.body, "bundle")));
    cJSON_Delete(r.body);

    static const char *const bad[] = {
        "{\"product_id\": \"PROD00001\", \"bundle\": \"PROD00001\"}",
        "{\"product_id\": \"PROD00001\", \"bundle\": \"NO-SUCH\"}",
        "{\"product_id\": \"PROD00001\", \"bundle\": 7}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        T_ASSERT_EQ_INT(api_campaign(api, bad[k], &r), 400);
        const cJSON *f = cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "error"), "field");
        T_ASSERT_MSG(cJSON_IsString(f) && !strcmp(f->valuestring, "bundle"), "%s", bad[k]);
        cJSON_Delete(r.body);
    }
    promo_api_free(api);
    cJSON_Delete(cli);
    free(out);
}
