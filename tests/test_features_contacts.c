/* The individual-response and discount columns of the customer features (contacts.c):
 * control exposures and their conversions, the baseline rate without an offer (control
 * conversions and purchases of the promoted product or category just before each settled
 * treated exposure), the response lift, the share of lines on promotion and their discount
 * depth, all hand-computed on a tiny log; and the leakage rule: an exposure's own outcome
 * never enters the features the uplift panel gives its row, while a later exposure's do. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/panel.h>
#include <promo/schema.h>
#include <promo/timeutil.h>

#include "t.h"

static int64_t day(int n)
{
    int64_t t = 0;
    if (promo_time_parse("2024-01-01", 10, PROMO_DATE_ISO, &t))
        abort();
    return t + (int64_t)n * 86400;
}

static void push_s(promo_table *t, const char *col, const char *v)
{
    promo_column *c = promo_table_column(t, col);
    if (!c)
        abort();
    if (v)
        promo_column_push_str(c, v, strlen(v));
    else
        promo_column_push_null(c);
}

static void push_f(promo_table *t, const char *col, double v)
{
    promo_column *c = promo_table_column(t, col);
    if (!c)
        abort();
    if (isnan(v))
        promo_column_push_null(c);
    else if (c->type == PROMO_COL_FLOAT64)
        promo_column_push_f64(c, v);
    else if (c->type == PROMO_COL_BOOL)
        promo_column_push_bool(c, v != 0);
    else
        promo_column_push_i64(c, (int64_t)v);
}

typedef struct log_fixture {
    promo_table *cust, *prod, *tx, *promos, *expo, *resp;
} log_fixture;

static void log_free(log_fixture *f)
{
    promo_table_free(f->cust);
    promo_table_free(f->prod);
    promo_table_free(f->tx);
    promo_table_free(f->promos);
    promo_table_free(f->expo);
    promo_table_free(f->resp);
}

static void tx(log_fixture *f,
               const char *order,
               const char *cust,
               const char *prod,
               int64_t ts,
               double qty,
               double price,
               double disc,
               const char *promo)
{
    push_s(f->tx, "order_id", order);
    push_f(f->tx, "line", 1);
    push_s(f->tx, "customer_id", cust);
    push_s(f->tx, "product_id", prod);
    push_s(f->tx, "store_id", "S1");
    push_f(f->tx, "ts", (double)ts);
    push_f(f->tx, "quantity", qty);
    push_f(f->tx, "unit_price", price);
    push_f(f->tx, "discount", disc);
    push_s(f->tx, "promotion_id", promo);
    push_s(f->tx, "channel", NULL);
}

static void
promotion(log_fixture *f, const char *id, const char *prod, const char *cat, int start, int end)
{
    push_s(f->promos, "promotion_id", id);
    push_s(f->promos, "product_id", prod);
    push_s(f->promos, "category", cat);
    push_f(f->promos, "discount_pct", 10);
    push_f(f->promos, "coupon_value", NAN);
    push_f(f->promos, "start", (double)day(start));
    push_f(f->promos, "end", (double)day(end));
    push_s(f->promos, "channel", "email");
    push_f(f->promos, "cost_per_contact", 0.1);
}

/* An exposure and its response (converted 0/1, at day conv_day). */
static void exposure(log_fixture *f,
                     const char *promo,
                     const char *cust,
                     int64_t ts,
                     const char *arm,
                     int converted,
                     int64_t conv_ts)
{
    push_s(f->expo, "promotion_id", promo);
    push_s(f->expo, "customer_id", cust);
    push_f(f->expo, "ts", (double)ts);
    push_s(f->expo, "arm", arm);
    push_s(f->expo, "channel", "email");
    push_f(f->expo, "cost", 0.1);
    push_s(f->resp, "promotion_id", promo);
    push_s(f->resp, "customer_id", cust);
    push_f(f->resp, "ts", (double)conv_ts);
    push_f(f->resp, "converted", converted);
    push_f(f->resp, "revenue", converted ? 9 : 0);
}

/* The log (tests/test_features_contacts.c's hand computation below). own_conv: whether C1
 * converts on PM3 (sent on day 60), the outcome the leakage check flips. */
static void make_log(log_fixture *f, int own_conv)
{
    f->cust = promo_schema_new_table(promo_schema_find("customers"));
    f->prod = promo_schema_new_table(promo_schema_find("products"));
    f->tx = promo_schema_new_table(promo_schema_find("transactions"));
    f->promos = promo_schema_new_table(promo_schema_find("promotions"));
    f->expo = promo_schema_new_table(promo_schema_find("exposures"));
    f->resp = promo_schema_new_table(promo_schema_find("responses"));
    const char *ids[] = {"C1", "C2", "C3"};
    for (int i = 0; i < 3; i++) {
        push_s(f->cust, "customer_id", ids[i]);
        push_s(f->cust, "name", NULL);
        push_f(f->cust, "age", NAN);
        push_s(f->cust, "gender", NULL);
        push_s(f->cust, "location", NULL);
        push_f(f->cust, "signup_date", (double)day(-100));
        push_s(f->cust, "segment", NULL);
    }
    const char *pid[] = {"P1", "P2", "P3"}, *pcat[] = {"dairy", "bakery", "dairy"};
    for (int j = 0; j < 3; j++) {
        push_s(f->prod, "product_id", pid[j]);
        push_s(f->prod, "name", NULL);
        push_s(f->prod, "category", pcat[j]);
        push_s(f->prod, "subcategory", NULL);
        push_s(f->prod, "brand", NULL);
        push_f(f->prod, "price", 10);
        push_f(f->prod, "cost", NAN);
    }
    promotion(f, "PM1", "P1", NULL, 10, 24);
    promotion(f, "PM2", NULL, "bakery", 40, 54);
    promotion(f, "PM3", "P1", NULL, 60, 74);
    promotion(f, "PM4", "P1", NULL, 90, 104);
    int64_t h10 = 10 * 3600;
    exposure(f, "PM1", "C1", day(10) + h10, "treatment", 1, day(12));
    exposure(f, "PM2", "C1", day(40) + h10, "control", 1, day(45));
    exposure(f, "PM3", "C1", day(60) + h10, "treatment", own_conv, day(63));
    exposure(f, "PM4", "C1", day(90) + h10, "treatment", 0, day(95));
    exposure(f, "PM1", "C2", day(10) + h10, "control", 0, day(12));
    exposure(f, "PM2", "C2", day(40) + h10, "treatment", 0, day(45));
    exposure(f, "PM1", "C3", day(10) + h10, "treatment", 0, day(12));
    tx(f, "O1", "C1", "P1", day(5), 1, 10, 0, NULL);   /* before PM1: its baseline */
    tx(f, "O2", "C1", "P1", day(12), 1, 10, 1, "PM1"); /* PM1's conversion, 10% off */
    tx(f, "O3", "C1", "P2", day(20), 2, 5, 2, NULL);   /* on promotion, 20% off */
    tx(f, "O4", "C1", "P2", day(45), 1, 5, 0, NULL);   /* the control conversion of PM2 */
    if (own_conv)
        tx(f, "O5", "C1", "P1", day(63), 1, 10, 1, "PM3");
    tx(f, "O6", "C2", "P3", day(3), 1, 2, 0, NULL);
    tx(f, "O7", "C2", "P2", day(30), 1, 5, 0, NULL); /* bakery before PM2: its baseline */
    tx(f, "O8", "C3", "P1", day(2), 1, 10, 0, NULL); /* before PM1 */
    promo_table_seal(f->cust);
    promo_table_seal(f->prod);
    promo_table_seal(f->tx);
    promo_table_seal(f->promos);
    promo_table_seal(f->expo);
    promo_table_seal(f->resp);
}

static float col_of(const promo_features *f, size_t row, const char *name)
{
    int j = promo_features_column(f, name);
    if (j < 0) {
        fprintf(stderr, "no feature %s\n", name);
        abort();
    }
    return f->X[row * f->n_features + (size_t)j];
}

static size_t row_of(const promo_features *f, const char *id)
{
    for (size_t i = 0; i < f->n_customers; i++)
        if (strcmp(promo_features_customer_id(f, i), id) == 0)
            return i;
    abort();
}

/* As of day 80 every exposure but PM4's is settled. Unsmoothed (lift_prior_strength 0):
 *   C1: treated PM1 (converted) and PM3 (own_conv): r1 = (1 + own) / 2. Baseline: PM1's window
 *       before the send (13.6 days, from day -3.6) holds O1 (P1 on day 5): 1; PM3's (from day
 *       46.8) holds no P1: 0; the control PM2 converted: 1. r0 = 2 / 3.
 *       Lines: O1-O4 (+ O5): on promotion O2 (10% off), O3 (20%) (+ O5, 10%).
 *   C2: treated PM2 (not converted); baseline: bakery O7 on day 30 is in PM2's window before
 *       the send (from day 26.8): 1; control PM1 not converted: 0. r0 = 1/2, r1 = 0.
 *   C3: treated PM1 (not converted); baseline O8 (P1 on day 2): 1. r0 = 1, r1 = 0. */
T_TEST(features_contacts_individual_response)
{
    for (int own = 0; own <= 1; own++) {
        log_fixture lf;
        make_log(&lf, own);
        promo_feature_input in = {lf.cust, lf.prod, lf.tx, NULL, lf.promos, lf.expo, lf.resp};
        promo_feature_params p = promo_feature_params_default();
        p.as_of = day(80);
        p.lift_prior_strength = 0;
        p.clv = 0;
        promo_features *f = NULL;
        T_OK(promo_features_compute(&in, &p, &f));
        size_t c1 = row_of(f, "C1"), c2 = row_of(f, "C2"), c3 = row_of(f, "C3");
        T_ASSERT_NEAR(col_of(f, c1, "n_exposures"), 2, 0);
        T_ASSERT_NEAR(col_of(f, c1, "n_conversions"), 1 + own, 0);
        T_ASSERT_NEAR(col_of(f, c1, "n_control_exposures"), 1, 0);
        T_ASSERT_NEAR(col_of(f, c1, "control_conversions"), 1, 0);
        T_ASSERT_NEAR(col_of(f, c1, "baseline_rate"), 2.0 / 3.0, 1e-6);
        T_ASSERT_NEAR(col_of(f, c1, "response_lift"), (1 + own) / 2.0 - 2.0 / 3.0, 1e-6);
        T_ASSERT_NEAR(col_of(f, c1, "promo_line_share"), own ? 3.0 / 5.0 : 2.0 / 4.0, 1e-6);
        T_ASSERT_NEAR(col_of(f, c1, "discount_depth"), own ? 0.4 / 3.0 : 0.15, 1e-6);
        T_ASSERT_NEAR(col_of(f, c2, "n_exposures"), 1, 0);
        T_ASSERT_NEAR(col_of(f, c2, "n_control_exposures"), 1, 0);
        T_ASSERT_NEAR(col_of(f, c2, "control_conversions"), 0, 0);
        T_ASSERT_NEAR(col_of(f, c2, "baseline_rate"), 0.5, 1e-6);
        T_ASSERT_NEAR(col_of(f, c2, "response_lift"), -0.5, 1e-6);
        T_ASSERT_NEAR(col_of(f, c2, "promo_line_share"), 0, 0);
        T_ASSERT(isnan(col_of(f, c2, "discount_depth")));
        T_ASSERT_NEAR(col_of(f, c3, "baseline_rate"), 1, 1e-6);
        T_ASSERT_NEAR(col_of(f, c3, "response_lift"), -1, 1e-6);
        T_ASSERT_NEAR(col_of(f, c3, "n_control_exposures"), 0, 0);
        /* The contact columns still leave the control arm out: C1 was contacted twice. */
        T_ASSERT_NEAR(col_of(f, c1, "contacts_90d"), 2, 0);
        T_ASSERT_NEAR(col_of(f, c1, "days_since_contact"),
                      (double)(day(80) - day(60) - 10 * 3600) / 86400.0, 1e-4);
        promo_features_free(f);
        /* Smoothed (the default pseudo-count): toward the population, strictly between. */
        p.lift_prior_strength = promo_feature_params_default().lift_prior_strength;
        T_OK(promo_features_compute(&in, &p, &f));
        T_ASSERT(col_of(f, c3, "response_lift") > -1 && col_of(f, c3, "response_lift") < 0);
        T_ASSERT(col_of(f, c3, "baseline_rate") < 1);
        promo_features_free(f);
        /* Before PM1 ended (day 20) nothing is settled: population values for everyone. */
        p.as_of = day(20);
        T_OK(promo_features_compute(&in, &p, &f));
        T_ASSERT_NEAR(col_of(f, c1, "response_lift"), col_of(f, c3, "response_lift"), 0);
        T_ASSERT_NEAR(col_of(f, c1, "n_conversions"), 1, 0); /* the response itself is known */
        promo_features_free(f);
        log_free(&lf);
    }
}

/* The uplift rows' features (panel cut at each exposure's day): flipping C1's outcome on PM3
 * changes nothing in PM3's own row, and changes the row of PM4 (sent after PM3 settled). */
T_TEST(features_contacts_no_leak_of_own_outcome)
{
    log_fixture a, b;
    make_log(&a, 0);
    make_log(&b, 1);
    float *X[2] = {NULL, NULL};
    promo_panel_layout l[2] = {{0}, {0}};
    promo_panel_exposures e[2];
    log_fixture *fx[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        promo_panel d;
        memset(&d, 0, sizeof d);
        d.products = fx[k]->prod;
        d.transactions = fx[k]->tx;
        d.promotions = fx[k]->promos;
        d.exposures = fx[k]->expo;
        d.responses = fx[k]->resp;
        d.in = (promo_feature_input){fx[k]->cust,   fx[k]->prod, fx[k]->tx,  NULL,
                                     fx[k]->promos, fx[k]->expo, fx[k]->resp};
        d.n_threads = 1;
        promo_feature_params fp = promo_feature_params_default();
        fp.clv = 0;
        fp.n_threads = 1;
        T_OK(promo_panel_exposure_rows(&d, NULL, &e[k]));
        T_OK(promo_panel_exposure_matrix(&d, &e[k], &fp, &l[k], &X[k]));
    }
    T_ASSERT_EQ_INT(e[0].n, 7);
    T_ASSERT_EQ_INT(l[0].n, l[1].n);
    size_t dim = l[0].n, n_diff_own = 0, n_diff_later = 0;
    for (size_t i = 0; i < e[0].n; i++) {
        /* exposures rows 2 and 3 are C1's PM3 (its own outcome flipped) and PM4 (later) */
        T_ASSERT_EQ_INT(e[0].y[i], i == 2 ? 0 : e[1].y[i]);
        for (size_t j = 0; j < dim; j++) {
            float u = X[0][i * dim + j], v = X[1][i * dim + j];
            int same = (isnan(u) && isnan(v)) || u == v;
            if (e[0].erow[i] == 2)
                n_diff_own += !same;
            else if (e[0].erow[i] == 3)
                n_diff_later += !same;
            else
                T_ASSERT_MSG(same, "row %zu column %s: %g vs %g", i, l[0].names[j], (double)u,
                             (double)v);
        }
    }
    T_ASSERT_EQ_INT(e[1].y[2], 1);
    T_ASSERT_EQ_INT(n_diff_own, 0);
    T_ASSERT(n_diff_later >= 3); /* n_conversions, response_rate, response_lift, lines, ... */
    for (int k = 0; k < 2; k++) {
        promo_free(X[k]);
        promo_panel_layout_free(&l[k]);
        promo_panel_exposures_free(&e[k]);
    }
    log_free(&a);
    log_free(&b);
}
