/* The panel's promotion outcomes on a small generated world: one row per exposure with its arm
 * and its response, the treated-minus-control conversion difference as computed straight
 * from the tables, cutoffs never after the exposure, and features with no leakage (a row's
 * features are the same when every row at or after its cutoff is deleted). */
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/panel.h>
#include <promo/store.h>

#include "t.h"
#include "t_world.h"

/* One small world per test run, written once into a workspace (read only here). */
static char g_ws[512];

static const char *small_world(void)
{
    return g_ws[0] ? g_ws : t_world_write(g_ws, sizeof g_ws, 200, 30, 4, 8, 8000);
}

static void load(promo_panel *d)
{
    promo_store *s = NULL;
    T_OK(promo_store_open(small_world(), 0, &s));
    int rc = promo_panel_load_tables(s, 1, d);
    promo_store_close(s);
    T_OK(rc);
    T_ASSERT(d->exposures && d->responses && d->exposures->n_rows > 100);
}

static const promo_column *col(const promo_table *t, const char *name)
{
    const promo_column *c = promo_table_column(t, name);
    T_ASSERT_MSG(c != NULL, "table %s has no column %s", t->name, name);
    return c;
}

/* The response of exposures row r, found by its id strings (a scan: nothing shared with the
 * panel's join). -1 if none. */
static long response_of(const promo_panel *d, size_t r)
{
    const promo_column *ep = col(d->exposures, "promotion_id"),
                       *ec = col(d->exposures, "customer_id"),
                       *rp = col(d->responses, "promotion_id"),
                       *rc = col(d->responses, "customer_id");
    const char *p = promo_column_str(ep, r), *c = promo_column_str(ec, r);
    for (size_t k = 0; k < d->responses->n_rows; k++)
        if (strcmp(promo_column_str(rp, k), p) == 0 && strcmp(promo_column_str(rc, k), c) == 0)
            return (long)k;
    return -1;
}

T_TEST(panel_exposure_rows_match_the_tables)
{
    promo_panel d;
    load(&d);
    promo_panel_exposures r;
    T_OK(promo_panel_exposure_rows(&d, NULL, &r));
    const promo_table *et = d.exposures;
    const promo_column *arm = col(et, "arm"), *ts = col(et, "ts"),
                       *rconv = col(d.responses, "converted"), *rrev = col(d.responses, "revenue"),
                       *ep = col(et, "promotion_id"), *pid = col(d.promotions, "promotion_id");
    /* One row per exposure, in table order. */
    T_ASSERT_EQ_INT(r.n, et->n_rows);
    T_ASSERT(r.has_control);
    T_ASSERT_STR_EQ(r.arm_names[0], "control");
    T_ASSERT_EQ_INT(r.n_arms, 3); /* the generator's treatment, control and targeted */
    size_t n_pos = 0;
    for (size_t i = 0; i < r.n; i++) {
        T_ASSERT_EQ_INT(r.erow[i], i);
        T_ASSERT_STR_EQ(r.arm_names[r.arm[i]], promo_column_str(arm, i));
        T_ASSERT(r.ts[i] == ts->i64[i]);
        T_ASSERT(r.cutoff[i] <= r.ts[i] && r.ts[i] - r.cutoff[i] < PROMO_PANEL_DAY);
        T_ASSERT_EQ_INT(r.cutoff[i] % PROMO_PANEL_DAY, 0);
        T_ASSERT(r.promo[i] != PROMO_PANEL_NONE);
        T_ASSERT_STR_EQ(promo_column_str(pid, r.promo[i]), promo_column_str(ep, i));
        /* Labels: the response of the same (promotion, customer). */
        long k = response_of(&d, i);
        double want_y = k >= 0 && promo_column_num(rconv, (size_t)k) > 0;
        double want_rev = k >= 0 && !promo_column_is_null(rrev, (size_t)k)
                              ? promo_column_num(rrev, (size_t)k)
                              : 0.0;
        T_ASSERT(r.y[i] == want_y);
        T_ASSERT(r.revenue[i] == want_rev);
        n_pos += r.y[i] > 0;
    }
    T_ASSERT(n_pos > 0 && n_pos < r.n);
    promo_panel_exposures_free(&r);

    /* One promotion; cutoffs at its start. */
    const char *one = promo_column_str(ep, 0);
    promo_panel_exposure_params p = promo_panel_exposure_params_default();
    p.promotion_id = one;
    p.cutoff = PROMO_PANEL_CUT_START;
    p.bucket_s = 0;
    T_OK(promo_panel_exposure_rows(&d, &p, &r));
    size_t want = 0;
    for (size_t i = 0; i < et->n_rows; i++)
        want += strcmp(promo_column_str(ep, i), one) == 0;
    T_ASSERT_EQ_INT(r.n, want);
    const promo_column *start = col(d.promotions, "start");
    for (size_t i = 0; i < r.n; i++) {
        T_ASSERT_STR_EQ(promo_column_str(ep, r.erow[i]), one);
        int64_t st = start->i64[r.promo[i]];
        T_ASSERT(r.cutoff[i] == (st < r.ts[i] ? st : r.ts[i]));
    }
    promo_panel_exposures_free(&r);
    p.promotion_id = "NO-SUCH-PROMOTION";
    T_ASSERT_EQ_INT(promo_panel_exposure_rows(&d, &p, &r), PROMO_ENOTFOUND);
    promo_panel_free(&d);
}

T_TEST(panel_uplift_difference_matches_the_tables)
{
    promo_panel d;
    load(&d);
    /* Straight from the tables: conversion rate of the exposures not in control minus that of
     * control, each exposure's outcome its response. */
    const promo_column *arm = col(d.exposures, "arm"), *rconv = col(d.responses, "converted");
    double n_t = 0, c_t = 0, n_c = 0, c_c = 0;
    for (size_t i = 0; i < d.exposures->n_rows; i++) {
        long k = response_of(&d, i);
        double y = k >= 0 && promo_column_num(rconv, (size_t)k) > 0;
        if (strcmp(promo_column_str(arm, i), "control") == 0) {
            n_c++;
            c_c += y;
        } else {
            n_t++;
            c_t += y;
        }
    }
    T_ASSERT(n_c > 0 && n_t > 0);
    double direct = c_t / n_t - c_c / n_c;
    promo_panel_exposures r;
    T_OK(promo_panel_exposure_rows(&d, NULL, &r));
    double m[2] = {0, 0}, s[2] = {0, 0};
    for (size_t i = 0; i < r.n; i++) {
        int treated = r.arm[i] != 0;
        m[treated]++;
        s[treated] += r.y[i];
    }
    T_ASSERT_NEAR(s[1] / m[1] - s[0] / m[0], direct, 1e-12);
    promo_panel_exposures_free(&r);
    promo_panel_free(&d);
}

/* Bitwise equal, NaN equal to NaN. */
static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* t without the rows whose column `ts_col` is at or after cutoff (null kept unless
 * drop_null). */
static promo_table *before(const promo_table *t, const char *ts_col, int64_t cutoff, int drop_null)
{
    const promo_column *c = col(t, ts_col);
    uint8_t *keep = promo_calloc(t->n_rows ? t->n_rows : 1, 1);
    T_ASSERT(keep != NULL);
    for (size_t r = 0; r < t->n_rows; r++)
        keep[r] = promo_column_is_null(c, r) ? !drop_null : c->i64[r] < cutoff;
    promo_table *o = promo_table_filter(t, keep);
    promo_free(keep);
    T_ASSERT(o != NULL);
    return o;
}

T_TEST(panel_exposure_features_do_not_leak)
{
    promo_panel d;
    load(&d);
    promo_panel_exposures r;
    T_OK(promo_panel_exposure_rows(&d, NULL, &r));
    promo_feature_params fp = promo_feature_params_default();
    fp.n_threads = 1;
    promo_panel_layout l;
    memset(&l, 0, sizeof l);
    float *X = NULL;
    T_OK(promo_panel_exposure_matrix(&d, &r, &fp, &l, &X));
    T_ASSERT(l.n > 0 && l.n == l.n_cust);
    /* Three days of exposures, taken from the table (not from the rows' cutoffs): the first,
     * one in the middle, the last. */
    const promo_column *ets = col(d.exposures, "ts");
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < d.exposures->n_rows; i++) {
        lo = ets->i64[i] < lo ? ets->i64[i] : lo;
        hi = ets->i64[i] > hi ? ets->i64[i] : hi;
    }
    const int64_t days[3] = {lo, ets->i64[d.exposures->n_rows / 2], hi};
    const promo_column *ec = col(d.exposures, "customer_id");
    size_t n_checked = 0, n_known = 0;
    for (int q = 0; q < 3; q++) {
        int64_t cut = days[q] / PROMO_PANEL_DAY * PROMO_PANEL_DAY; /* midnight (ts > 0) */
        /* The workspace as it was at midnight before the exposure: nothing dated at or after
         * it. */
        promo_table *tx = before(d.transactions, "ts", cut, 1),
                    *ex = before(d.exposures, "ts", cut, 1),
                    *re = before(d.responses, "ts", cut, 0),
                    *pr = before(d.promotions, "start", cut, 0);
        promo_feature_input in = d.in;
        in.transactions = tx;
        in.exposures = ex;
        in.responses = re;
        in.promotions = pr;
        fp.as_of = cut;
        fp.products = 0;
        promo_features *f = NULL;
        T_OK(promo_features_compute(&in, &fp, &f));
        T_ASSERT_EQ_INT(f->n_features, l.n);
        for (size_t i = 0; i < r.n; i++) {
            if (ets->i64[r.erow[i]] / PROMO_PANEL_DAY * PROMO_PANEL_DAY != cut)
                continue;
            const char *id = promo_column_str(ec, r.erow[i]);
            const float *x = X + i * l.n;
            size_t row = SIZE_MAX;
            for (size_t c = 0; c < f->n_customers && row == SIZE_MAX; c++)
                if (strcmp(promo_features_customer_id(f, c), id) == 0)
                    row = c;
            n_checked++;
            if (row == SIZE_MAX) { /* not known at the cutoff: no features */
                for (size_t j = 0; j < l.n; j++)
                    T_ASSERT(isnan(x[j]));
                continue;
            }
            n_known++;
            for (size_t j = 0; j < l.n; j++)
                T_ASSERT_MSG(same_float(x[j], f->X[row * f->n_features + j]),
                             "row %zu (%s), feature %s: %g with everything, %g without the "
                             "rows after the cutoff",
                             i, id, l.names[j], (double)x[j],
                             (double)f->X[row * f->n_features + j]);
        }
        promo_features_free(f);
        promo_table_free(tx);
        promo_table_free(ex);
        promo_table_free(re);
        promo_table_free(pr);
    }
    T_ASSERT(n_checked >= 3 && n_known > 0);
    promo_free(X);
    promo_panel_layout_free(&l);
    promo_panel_exposures_free(&r);
    promo_panel_free(&d);
}
