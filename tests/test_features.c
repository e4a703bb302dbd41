/* Features as of a cutoff: hand-computed RFM on a tiny fixture, leakage (appending rows after
 * the cutoff changes nothing), thread-count independence, labels, CSR invariants, elasticity
 * recovery, and P(alive) on UCI Online Retail. */
#include <gsl/gsl_randist.h>
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/elasticity.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/metrics.h>
#include <promo/rng.h>
#include <promo/schema.h>
#include <promo/synth.h>
#include <promo/timeutil.h>

#include "t.h"

static int64_t ts_of(const char *s)
{
    int64_t t = 0;
    if (promo_time_parse(s, strlen(s), PROMO_DATE_ISO, &t))
        abort();
    return t;
}

static promo_table *new_canonical(const char *name)
{
    return promo_schema_new_table(promo_schema_find(name));
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
    if (isnan(v))
        promo_column_push_null(c);
    else if (c->type == PROMO_COL_FLOAT64)
        promo_column_push_f64(c, v);
    else if (c->type == PROMO_COL_BOOL)
        promo_column_push_bool(c, v != 0);
    else
        promo_column_push_i64(c, (int64_t)v);
}

static void add_tx(promo_table *t,
                   const char *order,
                   const char *cust,
                   const char *prod,
                   int64_t ts,
                   double qty,
                   double price,
                   double disc,
                   const char *store)
{
    push_s(t, "order_id", order);
    push_f(t, "line", (double)promo_table_column(t, "line")->n + 1);
    push_s(t, "customer_id", cust);
    push_s(t, "product_id", prod);
    push_s(t, "store_id", store);
    push_f(t, "ts", (double)ts);
    push_f(t, "quantity", qty);
    push_f(t, "unit_price", price);
    push_f(t, "discount", disc);
    push_s(t, "promotion_id", NULL);
    push_s(t, "channel", NULL);
}

static void add_customer(promo_table *t, const char *id, const char *signup)
{
    push_s(t, "customer_id", id);
    push_s(t, "name", NULL);
    push_f(t, "age", NAN);
    push_s(t, "gender", NULL);
    push_s(t, "location", NULL);
    push_f(t, "signup_date", signup ? (double)ts_of(signup) : NAN);
    push_s(t, "segment", NULL);
}

static void add_product(promo_table *t, const char *id, const char *cat, double price)
{
    push_s(t, "product_id", id);
    push_s(t, "name", NULL);
    push_s(t, "category", cat);
    push_s(t, "subcategory", NULL);
    push_s(t, "brand", NULL);
    push_f(t, "price", price);
    push_f(t, "cost", NAN);
}

typedef struct fixture {
    promo_table *cust, *prod, *tx, *stores;
} fixture;

static void fixture_free(fixture *f)
{
    promo_table_free(f->cust);
    promo_table_free(f->prod);
    promo_table_free(f->tx);
    promo_table_free(f->stores);
}

/* The tiny fixture (tests/fixtures/features/README.md has the hand computation). */
static void tiny(fixture *f, int with_future)
{
    f->cust = new_canonical("customers");
    add_customer(f->cust, "C1", NULL);
    add_customer(f->cust, "C2", NULL);
    add_customer(f->cust, "C3", NULL);
    add_customer(f->cust, "C4", "2024-01-01");
    add_customer(f->cust, "C5", "2024-04-01");
    promo_table_seal(f->cust);
    f->prod = new_canonical("products");
    add_product(f->prod, "P1", "A", 10);
    add_product(f->prod, "P2", "B", 5);
    add_product(f->prod, "P3", "A", 7);
    promo_table_seal(f->prod);
    f->stores = new_canonical("stores");
    push_s(f->stores, "store_id", "S1");
    push_s(f->stores, "name", NULL);
    push_s(f->stores, "city", NULL);
    push_s(f->stores, "channel", "offline");
    push_s(f->stores, "store_id", "WEB");
    push_s(f->stores, "name", NULL);
    push_s(f->stores, "city", NULL);
    push_s(f->stores, "channel", "online");
    promo_table_seal(f->stores);
    promo_table *t = f->tx = new_canonical("transactions");
    add_tx(t, "O1", "C1", "P1", ts_of("2024-01-10T10:00:00"), 2, 10, 0, "S1");
    add_tx(t, "O1", "C1", "P2", ts_of("2024-01-10T10:00:00"), 1, 5, 0, "S1");
    add_tx(t, "O2", "C1", "P1", ts_of("2024-02-20T15:00:00"), 1, 10, 5, "WEB"); /* 5 off */
    add_tx(t, "O4", "C2", "P2", ts_of("2024-02-01T09:00:00"), 3, 5, 0, "S1");
    add_tx(t, "O5", "C3", "P3", ts_of("2023-12-01T12:00:00"), 1, 7, 0, "S1");
    add_tx(t, "O6", "C3", "P3", ts_of("2024-01-05T12:00:00"), -1, 7, 0, "S1"); /* a return */
    add_tx(t, "O7", NULL, "P1", ts_of("2024-02-10T11:00:00"), 5, 10, 0, "S1"); /* anonymous */
    if (with_future) {
        add_tx(t, "O3", "C1", "P3", ts_of("2024-03-05T10:00:00"), 1, 7, 0, "S1");
        add_tx(t, "O8", "C2", "P1", ts_of("2024-03-01T00:00:00"), 4, 10, 0, "S1");
        add_tx(t, "O9", "C5", "P2", ts_of("2024-04-02T00:00:00"), 1, 5, 0, "S1");
        add_tx(t, "O10", "C9", "P2", ts_of("2024-03-02T00:00:00"), 1, 5, 0, "S1");
    }
    promo_table_seal(t);
}

static float feat(const promo_features *f, size_t row, const char *name)
{
    int j = promo_features_column(f, name);
    if (j < 0) {
        fprintf(stderr, "no feature %s\n", name);
        abort();
    }
    return f->X[row * f->n_features + (size_t)j];
}

T_TEST(features_rfm_hand_computed)
{
    fixture fx;
    tiny(&fx, 1);
    promo_feature_input in = {
        .customers = fx.cust, .products = fx.prod, .transactions = fx.tx, .stores = fx.stores};
    promo_feature_params p = promo_feature_params_default();
    p.as_of = ts_of("2024-03-01");
    promo_features *f = NULL;
    T_OK(promo_features_compute(&in, &p, &f));
    T_ASSERT_EQ_INT(f->n_customers, 4); /* C5 signed up after the cutoff */
    T_ASSERT_STR_EQ(promo_features_customer_id(f, 0), "C1");
    T_ASSERT_STR_EQ(promo_features_customer_id(f, 3), "C4");
    /* C1: 2 orders, spend 2*10 + 5 + (10 - 5) = 30, last order 9 days 9 hours before. */
    T_ASSERT_NEAR(feat(f, 0, "frequency"), 2, 0);
    T_ASSERT_NEAR(feat(f, 0, "monetary"), 30, 1e-5);
    T_ASSERT_NEAR(feat(f, 0, "recency_days"), 9.375, 1e-5); /* 2024 is a leap year */
    T_ASSERT_NEAR(feat(f, 0, "tenure_days"), 50 + 14.0 / 24, 1e-4);
    T_ASSERT_NEAR(feat(f, 0, "online_share"), 0.5, 1e-6);
    T_ASSERT_NEAR(feat(f, 0, "promo_spend_share"), 5.0 / 30, 1e-6);
    T_ASSERT_NEAR(feat(f, 0, "n_products"), 2, 0);
    T_ASSERT_NEAR(feat(f, 0, "n_categories"), 2, 0);
    T_ASSERT_NEAR(feat(f, 0, "n_stores"), 2, 0);
    T_ASSERT_NEAR(feat(f, 0, "ipg_mean_days"), 41 + 5.0 / 24, 1e-4);
    T_ASSERT_NEAR(feat(f, 0, "cat_share_a"), 25.0 / 30, 1e-6);
    T_ASSERT_NEAR(feat(f, 0, "cat_share_b"), 5.0 / 30, 1e-6);
    /* C2: one order of 15, 28 days 15 hours before; C3: the return is ignored. */
    T_ASSERT_NEAR(feat(f, 1, "monetary"), 15, 1e-5);
    T_ASSERT_NEAR(feat(f, 1, "recency_days"), 28.625, 1e-5);
    T_ASSERT_NEAR(feat(f, 2, "monetary"), 7, 1e-5);
    T_ASSERT_NEAR(feat(f, 2, "frequency"), 1, 0);
    T_ASSERT_NEAR(feat(f, 2, "recency_days"), 90.5, 1e-5);
    /* C4: a prospect, known through the signup date. */
    T_ASSERT_NEAR(feat(f, 3, "frequency"), 0, 0);
    T_ASSERT(isnan(feat(f, 3, "recency_days")));
    T_ASSERT_NEAR(feat(f, 3, "tenure_days"), 60, 1e-6);
    /* Scores by mid-rank quintiles among the 3 buyers. */
    T_ASSERT_NEAR(feat(f, 0, "r_score"), 5, 0);
    T_ASSERT_NEAR(feat(f, 1, "r_score"), 3, 0);
    T_ASSERT_NEAR(feat(f, 2, "r_score"), 1, 0);
    T_ASSERT_NEAR(feat(f, 0, "f_score"), 5, 0);
    T_ASSERT_NEAR(feat(f, 1, "f_score"), 2, 0);
    T_ASSERT_NEAR(feat(f, 2, "f_score"), 2, 0);
    T_ASSERT_NEAR(feat(f, 0, "m_score"), 5, 0);
    T_ASSERT_NEAR(feat(f, 1, "m_score"), 3, 0);
    T_ASSERT_NEAR(feat(f, 2, "m_score"), 1, 0);
    T_ASSERT_STR_EQ(promo_rfm_segment_name(f->rfm_segment[0]), "champions");
    T_ASSERT_STR_EQ(promo_rfm_segment_name(f->rfm_segment[1]), "about_to_sleep");
    T_ASSERT_STR_EQ(promo_rfm_segment_name(f->rfm_segment[2]), "hibernating");
    T_ASSERT_STR_EQ(promo_rfm_segment_name(f->rfm_segment[3]), "prospect");
    T_ASSERT_STR_EQ(promo_spend_tier_name(f->spend_tier[0]), "VIP");
    T_ASSERT_STR_EQ(promo_spend_tier_name(f->spend_tier[1]), "G3");
    T_ASSERT_STR_EQ(promo_spend_tier_name(f->spend_tier[2]), "G1");
    /* Interactions: C1 bought P1 in 2 orders (spend 25) and P2 once. */
    const promo_csr *cnt = &f->interactions[PROMO_IX_COUNT];
    T_OK(promo_csr_check(cnt));
    T_ASSERT_NEAR(promo_csr_get(cnt, 0, 0), 2, 0);
    T_ASSERT_NEAR(promo_csr_get(cnt, 0, 1), 1, 0);
    T_ASSERT_NEAR(promo_csr_get(&f->interactions[PROMO_IX_SPEND], 0, 0), 25, 1e-5);
    T_ASSERT_NEAR(promo_csr_get(cnt, 3, 0), 0, 0);
    double w = exp2(-(50 + 14.0 / 24) / 30) + exp2(-9.375 / 30);
    T_ASSERT_NEAR(promo_csr_get(&f->interactions[PROMO_IX_RECENCY], 0, 0), w, 1e-5);
    T_ASSERT_NEAR(promo_csr_get(&f->interactions[PROMO_IX_CONFIDENCE], 0, 0), 1 + 40 * log(3),
                  1e-4);
    T_OK(promo_csr_check(&f->category_share));
    /* Products: P1 in O1, O2 and the anonymous O7; one buyer, who repeated. */
    const promo_product_features *pf = &f->products;
    T_ASSERT_EQ_INT(pf->n_orders[0], 3);
    T_ASSERT_EQ_INT(pf->n_buyers[0], 1);
    T_ASSERT_NEAR(pf->repeat_rate[0], 1.0, 0);
    T_ASSERT_NEAR(pf->units[0], 8, 1e-9);
    T_ASSERT_NEAR(pf->revenue[0], 75, 1e-9);
    T_ASSERT_NEAR(promo_csr_get(&f->copurchase, 0, 1), 1, 0);
    T_ASSERT_NEAR(promo_csr_get(&f->copurchase, 1, 0), 1, 0);
    T_ASSERT_EQ_INT(pf->copurchase_orders[0], 1);
    T_OK(promo_csr_check(&f->copurchase));
    /* CLV cannot be fitted on 3 buyers: NaN columns and a reason, not a failure. */
    T_ASSERT(f->clv_status != NULL);
    T_ASSERT(isnan(feat(f, 0, "p_alive")));
    /* Labels over [cutoff, cutoff + 30 days). */
    uint8_t *y = NULL;
    T_OK(promo_features_labels(f, &in, "any", 30, &y));
    T_ASSERT_EQ_INT(y[0], 1);
    T_ASSERT_EQ_INT(y[1], 1); /* bought exactly at the cutoff: the label side */
    T_ASSERT_EQ_INT(y[2], 0);
    T_ASSERT_EQ_INT(y[3], 0);
    promo_free(y);
    T_OK(promo_features_labels(f, &in, "category:A", 30, &y));
    T_ASSERT_EQ_INT(y[0] + y[1] + y[2] + y[3], 2);
    promo_free(y);
    T_OK(promo_features_labels(f, &in, "product:P2", 30, &y));
    T_ASSERT_EQ_INT(y[0] + y[1] + y[2] + y[3], 0);
    promo_free(y);
    T_ASSERT_EQ_INT(promo_features_labels(f, &in, "product:NOPE", 30, &y), PROMO_ENOTFOUND);
    T_ASSERT_EQ_INT(promo_features_labels(f, &in, "bogus", 30, &y), PROMO_EUSAGE);
    /* As tables (what promo features stores): customer_id, every feature, rfm_segment, tier
     * and the label; NaN stored as null. */
    T_OK(promo_features_labels(f, &in, "any", 30, &y));
    promo_table *ct = NULL, *pt = NULL;
    T_OK(promo_features_customers_table(f, y, &ct));
    promo_free(y);
    T_ASSERT_EQ_INT(ct->n_rows, f->n_customers);
    T_ASSERT_EQ_INT(ct->n_cols, f->n_features + 4);
    for (size_t i = 0; i < f->n_customers; i++)
        T_ASSERT_STR_EQ(promo_column_str(promo_table_column(ct, "customer_id"), i),
                        promo_features_customer_id(f, i));
    T_ASSERT(promo_column_is_null(promo_table_column(ct, "p_alive"), 0));
    T_ASSERT_NEAR(promo_column_num(promo_table_column(ct, "frequency"), 0), feat(f, 0, "frequency"),
                  0);
    T_ASSERT_NEAR(promo_column_num(promo_table_column(ct, "label"), 1), 1, 0);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(ct, "rfm_segment"), 0),
                    promo_rfm_segment_name(f->rfm_segment[0]));
    T_OK(promo_features_products_table(f, in.products, &pt));
    T_ASSERT_EQ_INT(pt->n_rows, f->products.n_products);
    T_ASSERT_NEAR(promo_column_num(promo_table_column(pt, "n_orders"), 0), f->products.n_orders[0],
                  0);
    promo_table_free(ct);
    promo_table_free(pt);
    promo_features_free(f);
    fixture_free(&fx);
}

/* Every output of two feature sets is bit-identical. */
static void assert_same(const promo_features *a, const promo_features *b)
{
    T_ASSERT_EQ_INT(a->n_customers, b->n_customers);
    T_ASSERT_EQ_INT(a->n_features, b->n_features);
    for (size_t j = 0; j < a->n_features; j++)
        T_ASSERT_STR_EQ(a->feature_names[j], b->feature_names[j]);
    for (size_t i = 0; i < a->n_customers; i++)
        T_ASSERT_STR_EQ(promo_features_customer_id(a, i), promo_features_customer_id(b, i));
    for (size_t k = 0; k < a->n_customers * a->n_features; k++)
        T_ASSERT_MSG(memcmp(&a->X[k], &b->X[k], sizeof(float)) == 0,
                     "feature %s of customer %s: %.9g vs %.9g", a->feature_names[k % a->n_features],
                     promo_features_customer_id(a, k / a->n_features), a->X[k], b->X[k]);
    T_ASSERT(memcmp(a->rfm_segment, b->rfm_segment, a->n_customers) == 0);
    T_ASSERT(memcmp(a->spend_tier, b->spend_tier, a->n_customers) == 0);
    const promo_csr *ma[6] = {&a->interactions[0], &a->interactions[1], &a->interactions[2],
                              &a->interactions[3], &a->category_share,  &a->copurchase};
    const promo_csr *mb[6] = {&b->interactions[0], &b->interactions[1], &b->interactions[2],
                              &b->interactions[3], &b->category_share,  &b->copurchase};
    for (int k = 0; k < 6; k++) {
        T_ASSERT_EQ_INT(ma[k]->nnz, mb[k]->nnz);
        T_ASSERT(memcmp(ma[k]->row_ptr, mb[k]->row_ptr, (ma[k]->n_rows + 1) * 8) == 0);
        T_ASSERT(memcmp(ma[k]->col_idx, mb[k]->col_idx, ma[k]->nnz * 4) == 0);
        T_ASSERT_MSG(memcmp(ma[k]->values, mb[k]->values, ma[k]->nnz * 4) == 0, "csr %d values", k);
    }
    uint32_t np = a->products.n_products;
    T_ASSERT_EQ_INT(np, b->products.n_products);
    T_ASSERT(memcmp(a->products.n_orders, b->products.n_orders, np * 4) == 0);
    T_ASSERT(memcmp(a->products.n_buyers, b->products.n_buyers, np * 4) == 0);
    T_ASSERT(memcmp(a->products.revenue, b->products.revenue, np * 8) == 0);
    T_ASSERT(memcmp(a->products.avg_price, b->products.avg_price, np * 8) == 0);
    T_ASSERT(memcmp(a->products.n_price_changes, b->products.n_price_changes, np * 4) == 0);
    T_ASSERT(memcmp(a->products.repeat_rate, b->products.repeat_rate, np * 8) == 0);
    T_ASSERT(memcmp(a->elasticity.product, b->elasticity.product,
                    np * sizeof *a->elasticity.product) == 0);
    T_ASSERT(a->bgnbd.r == b->bgnbd.r && a->bgnbd.b == b->bgnbd.b);
}

T_TEST(features_tiny_leakage)
{
    fixture f0, f1;
    tiny(&f0, 0);
    tiny(&f1, 1);
    promo_feature_params p = promo_feature_params_default();
    p.as_of = ts_of("2024-03-01");
    for (int derived = 0; derived < 2; derived++) {
        promo_feature_input a = {.customers = derived ? NULL : f0.cust,
                                 .products = f0.prod,
                                 .transactions = f0.tx,
                                 .stores = f0.stores};
        promo_feature_input b = a;
        b.transactions = f1.tx;
        promo_features *fa = NULL, *fb = NULL;
        T_OK(promo_features_compute(&a, &p, &fa));
        T_OK(promo_features_compute(&b, &p, &fb));
        T_ASSERT_EQ_INT(fa->n_customers, derived ? 3 : 4);
        assert_same(fa, fb);
        promo_features_free(fa);
        promo_features_free(fb);
    }
    fixture_free(&f0);
    fixture_free(&f1);
}

/* A random retail history with promotions, exposures and responses, up to `until`; rows after
 * the cutoff only when until is later. Deterministic in seed. */
typedef struct world {
    promo_table *cust, *prod, *tx, *promos, *expo, *resp;
} world;

static void world_free(world *w)
{
    promo_table_free(w->cust);
    promo_table_free(w->prod);
    promo_table_free(w->tx);
    promo_table_free(w->promos);
    promo_table_free(w->expo);
    promo_table_free(w->resp);
}

static void make_world(world *w, int n_cust, int64_t start, int64_t until, uint64_t seed)
{
    char id[32], oid[32], pid[32];
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    w->cust = new_canonical("customers");
    for (int i = 0; i < n_cust; i++) {
        snprintf(id, sizeof id, "CU%05d", i);
        add_customer(w->cust, id, NULL);
    }
    promo_table_seal(w->cust);
    w->prod = new_canonical("products");
    for (int j = 0; j < 40; j++) {
        snprintf(pid, sizeof pid, "PR%03d", j);
        add_product(w->prod, pid,
                    j % 4 == 0   ? "dairy"
                    : j % 4 == 1 ? "bakery"
                    : j % 4 == 2 ? "produce"
                                 : "drinks",
                    2 + j % 7);
    }
    promo_table_seal(w->prod);
    w->promos = new_canonical("promotions");
    w->expo = new_canonical("exposures");
    w->resp = new_canonical("responses");
    for (int k = 0; k < 12; k++) {
        snprintf(pid, sizeof pid, "PM%d", k);
        int64_t t0 = start + (int64_t)k * 50 * 86400;
        push_s(w->promos, "promotion_id", pid);
        push_s(w->promos, "product_id", "PR001");
        push_s(w->promos, "category", NULL);
        push_f(w->promos, "discount_pct", 10);
        push_f(w->promos, "coupon_value", NAN);
        push_f(w->promos, "start", (double)t0);
        push_f(w->promos, "end", (double)(t0 + 14 * 86400));
        push_s(w->promos, "channel", "email");
        push_f(w->promos, "cost_per_contact", 0.1);
        promo_rng_init(&r, seed, 1000 + (uint64_t)k); /* one stream per promotion */
        for (int i = 0; i < n_cust; i++) {
            int exposed = promo_rng_bernoulli(&r, 0.5);
            int control = promo_rng_bernoulli(&r, 0.1);
            int conv = promo_rng_bernoulli(&r, 0.2);
            if (t0 >= until || !exposed)
                continue;
            snprintf(id, sizeof id, "CU%05d", i);
            push_s(w->expo, "promotion_id", pid);
            push_s(w->expo, "customer_id", id);
            push_f(w->expo, "ts", (double)t0);
            push_s(w->expo, "arm", control ? "control" : "email");
            push_s(w->expo, "channel", "email");
            push_f(w->expo, "cost", 0.1);
            push_s(w->resp, "promotion_id", pid);
            push_s(w->resp, "customer_id", id);
            push_f(w->resp, "ts", (double)(t0 + 3 * 86400));
            push_f(w->resp, "converted", conv);
            push_f(w->resp, "revenue", conv ? 10 : 0);
        }
    }
    promo_table_seal(w->promos);
    promo_table_seal(w->expo);
    promo_table_seal(w->resp);
    w->tx = new_canonical("transactions");
    for (int i = 0; i < n_cust; i++) {
        int n_ord = 0;
        promo_rng_init(&r, seed, (uint64_t)i); /* one stream per customer: histories are prefixes */
        snprintf(id, sizeof id, "CU%05d", i);
        double rate = 0.02 + 0.1 * promo_rng_uniform(&r); /* orders per day */
        double t = (double)start + promo_rng_uniform(&r) * 200 * 86400;
        double life = (double)start + promo_rng_uniform(&r) * 600 * 86400;
        while (t < (double)until && t < life) {
            snprintf(oid, sizeof oid, "OR%05d-%04d", i, n_ord++);
            int lines = 1 + (int)promo_rng_below(&r, 4);
            for (int l = 0; l < lines; l++) {
                snprintf(pid, sizeof pid, "PR%03d", (int)promo_rng_below(&r, 40));
                double disc =
                    promo_rng_bernoulli(&r, 0.2) ? 0.5 * (1 + (double)promo_rng_below(&r, 3)) : 0;
                add_tx(w->tx, oid, promo_rng_bernoulli(&r, 0.03) ? NULL : id, pid, (int64_t)t,
                       1 + (double)promo_rng_below(&r, 3), 1 + (double)promo_rng_below(&r, 9), disc,
                       promo_rng_bernoulli(&r, 0.3) ? "WEB" : "S1");
            }
            t += -log(1 - promo_rng_uniform(&r)) / rate * 86400;
        }
    }
    promo_table_seal(w->tx);
}

T_TEST(features_leakage_and_threads)
{
    int64_t start = ts_of("2023-01-01"), cut = ts_of("2024-01-01"), end = ts_of("2024-09-01");
    world a, b;
    make_world(&a, 400, start, cut, 5);
    make_world(&b, 400, start, end, 5); /* same history, plus 8 months after the cutoff */
    T_ASSERT(b.tx->n_rows > a.tx->n_rows + 1000);
    T_ASSERT(b.expo->n_rows > a.expo->n_rows);
    promo_feature_params p = promo_feature_params_default();
    p.as_of = cut;
    promo_feature_input ia = {a.cust, a.prod, a.tx, NULL, a.promos, a.expo, a.resp};
    promo_feature_input ib = {b.cust, b.prod, b.tx, NULL, b.promos, b.expo, b.resp};
    promo_features *fa = NULL, *fb = NULL, *f1 = NULL;
    T_OK(promo_features_compute(&ia, &p, &fa));
    T_ASSERT_MSG(fa->clv_status == NULL, "clv: %s", fa->clv_status);
    if (0)
        fprintf(stderr,
                "    bgnbd r=%g alpha=%g a=%g b=%g iters=%d fallback=%d; gg iters=%d fallback=%d\n",
                fa->bgnbd.r, fa->bgnbd.alpha, fa->bgnbd.a, fa->bgnbd.b, fa->bgnbd.iterations,
                fa->bgnbd.used_fallback, fa->gamma_gamma.iterations, fa->gamma_gamma.used_fallback);
    T_OK(promo_features_compute(&ib, &p, &fb));
    assert_same(fa, fb);
    /* Every feature column carries information on this data (no all-NaN column). */
    for (size_t j = 0; j < fa->n_features; j++) {
        size_t ok = 0;
        for (size_t i = 0; i < fa->n_customers; i++)
            ok += !isnan(fa->X[i * fa->n_features + j]);
        T_ASSERT_MSG(ok > 0, "feature %s is all missing", fa->feature_names[j]);
    }
    T_ASSERT(feat(fa, 0, "response_rate") > 0 && feat(fa, 0, "response_rate") < 1);
    /* Thread count does not change a bit. */
    p.n_threads = 1;
    T_OK(promo_features_compute(&ib, &p, &f1));
    assert_same(fb, f1);
    /* Labels see the future, features do not. */
    uint8_t *y = NULL;
    T_OK(promo_features_labels(fb, &ib, "any", 30, &y));
    size_t pos = 0;
    for (size_t i = 0; i < fb->n_customers; i++)
        pos += y[i];
    T_ASSERT(pos > 10 && pos < fb->n_customers);
    promo_free(y);
    promo_features_free(fa);
    promo_features_free(fb);
    promo_features_free(f1);
    world_free(&a);
    world_free(&b);
}

/* The co-purchase matrix of f against a count by brute force over w's orders (distinct
 * products of each order before the cutoff, every ordered pair of them). Products are PR000..
 * PR039 in rows 0..39. */
static void check_copurchase(const world *w, int64_t cut, const promo_features *f)
{
    enum { NP = 40 };
    static uint32_t want[NP][NP];
    memset(want, 0, sizeof want);
    const promo_column *oc = promo_table_column(w->tx, "order_id"),
                       *pc = promo_table_column(w->tx, "product_id"),
                       *tc = promo_table_column(w->tx, "ts"),
                       *cc = promo_table_column(w->tx, "customer_id");
    /* Products of the current order, a bit each: its lines with a customer and its anonymous
     * ones apart (anonymous lines are bucketed on their own, so they form their own order). */
    uint64_t in_order[2] = {0, 0};
    for (size_t r = 0; r <= w->tx->n_rows; r++) {
        /* an order's lines are contiguous here */
        if (r == w->tx->n_rows ||
            (r > 0 && strcmp(promo_column_str(oc, r), promo_column_str(oc, r - 1)) != 0)) {
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < NP; i++)
                    for (int j = 0; j < NP; j++)
                        want[i][j] += i != j && (in_order[h] >> i & 1) && (in_order[h] >> j & 1);
            in_order[0] = in_order[1] = 0;
        }
        if (r < w->tx->n_rows && tc->i64[r] < cut)
            in_order[promo_column_is_null(cc, r)] |= 1ull << atoi(promo_column_str(pc, r) + 2);
    }
    uint64_t nnz = 0;
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < NP; j++) {
            nnz += want[i][j] != 0;
            T_ASSERT_MSG(
                promo_csr_get(&f->copurchase, (uint32_t)i, (uint32_t)j) == (float)want[i][j],
                "copurchase %d,%d: %g, brute force %u", i, j,
                (double)promo_csr_get(&f->copurchase, (uint32_t)i, (uint32_t)j), want[i][j]);
        }
    T_ASSERT_EQ_INT(f->copurchase.nnz, nnz);
    T_OK(promo_csr_check(&f->copurchase));
}

/* Wholesale baskets: orders of 10-30 distinct products out of 40 (some bought on two lines),
 * 3% of lines anonymous: more than 8 partners a slot, the layout that does not materialise
 * the pairs (products.c). */
static void make_wholesale(world *w, int64_t start, uint64_t seed)
{
    char id[32], oid[32], pid[32];
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    memset(w, 0, sizeof *w);
    w->cust = new_canonical("customers");
    w->prod = new_canonical("products");
    for (int j = 0; j < 40; j++) {
        snprintf(pid, sizeof pid, "PR%03d", j);
        add_product(w->prod, pid, j % 2 ? "gifts" : "kitchen", 1 + j % 5);
    }
    w->tx = new_canonical("transactions");
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "CU%05d", i);
        add_customer(w->cust, id, NULL);
        for (int o = 0; o < 12; o++) {
            snprintf(oid, sizeof oid, "W%03d-%02d", i, o);
            int64_t t = start + (int64_t)(o * 40 + i) * 86400;
            uint64_t used = 0;
            int n = 10 + (int)promo_rng_below(&r, 21);
            while (n > 0) {
                int j = (int)promo_rng_below(&r, 40);
                if (used >> j & 1 && !promo_rng_bernoulli(&r, 0.1))
                    continue;
                n -= !(used >> j & 1);
                used |= 1ull << j;
                snprintf(pid, sizeof pid, "PR%03d", j);
                add_tx(w->tx, oid, promo_rng_bernoulli(&r, 0.03) ? NULL : id, pid, t,
                       1 + (double)promo_rng_below(&r, 24), 1 + (double)promo_rng_below(&r, 9), 0,
                       "S1");
            }
        }
    }
    promo_table_seal(w->cust);
    promo_table_seal(w->prod);
    promo_table_seal(w->tx);
}

/* Co-purchase in both layouts against brute force, and params.elasticity = 0: the same
 * features without the elasticity fit, and no products table. */
T_TEST(features_copurchase_brute_force_and_no_elasticity)
{
    int64_t start = ts_of("2023-01-01"), cut = ts_of("2024-01-01");
    world w, ws;
    make_world(&w, 300, start, ts_of("2024-06-01"), 11);
    make_wholesale(&ws, start, 12);
    promo_feature_params p = promo_feature_params_default();
    p.as_of = cut;
    promo_feature_input in = {w.cust, w.prod, w.tx, NULL, w.promos, w.expo, w.resp};
    promo_feature_input iws = {ws.cust, ws.prod, ws.tx, NULL, NULL, NULL, NULL};
    promo_features *f = NULL, *g = NULL, *h = NULL;
    T_OK(promo_features_compute(&in, &p, &f));
    check_copurchase(&w, cut, f);
    T_OK(promo_features_compute(&iws, &p, &h));
    T_ASSERT(h->copurchase.nnz > 1000);
    check_copurchase(&ws, cut, h);
    promo_features_free(h);
    h = NULL;
    p.n_threads = 1;
    T_OK(promo_features_compute(&iws, &p, &h));
    check_copurchase(&ws, cut, h);
    p.n_threads = 0;
    p.elasticity = 0;
    T_OK(promo_features_compute(&in, &p, &g));
    T_ASSERT(g->elasticity.product == NULL);
    T_ASSERT(memcmp(f->X, g->X, f->n_customers * f->n_features * sizeof *f->X) == 0);
    T_ASSERT_EQ_INT(g->copurchase.nnz, f->copurchase.nnz);
    T_ASSERT(memcmp(f->copurchase.values, g->copurchase.values, f->copurchase.nnz * 4) == 0);
    T_ASSERT(memcmp(f->products.n_price_changes, g->products.n_price_changes, 40 * 4) == 0);
    promo_table *pt = NULL;
    T_ASSERT_EQ_INT(promo_features_products_table(g, w.prod, &pt), PROMO_EUSAGE);
    T_ASSERT(pt == NULL);
    T_ASSERT_CONTAINS(promo_last_error(), "elasticit");
    promo_features_free(f);
    promo_features_free(g);
    promo_features_free(h);
    world_free(&w);
    world_free(&ws);
}

/* Weekly sales with a known elasticity: log q = a_p + e * log p + trend + season + noise,
 * Poisson quantities. Products 0..19 have 80 weeks of varying prices; product 20 has 6 weeks
 * (thin: must get the category's pooled estimate). */
T_TEST(features_elasticity_recovers_truth)
{
    const double e_true = -1.8;
    size_t cap = 21 * 80, n = 0;
    promo_price_obs *obs = promo_mallocn(cap, sizeof *obs);
    gsl_rng *g = promo_rng_gsl(3, 0);
    for (uint32_t p = 0; p <= 20; p++) {
        int weeks = p == 20 ? 6 : 80;
        double a = 5 + 0.05 * p, base = 2 + 0.1 * p;
        for (int w = 0; w < weeks; w++) {
            double price = base * exp(gsl_ran_flat(g, -0.25, 0.25));
            float doy = (float)fmod(w * 7.0 + 3, 365.25);
            double mu =
                exp(a + e_true * log(price) + 0.1 * w / 52.0 + 0.2 * sin(2 * M_PI * doy / 365.25));
            double q = (double)gsl_ran_poisson(g, mu);
            if (q <= 0)
                continue;
            obs[n++] = (promo_price_obs){p, 0, 2800 + w, doy, q, price};
        }
    }
    gsl_rng_free(g);
    promo_elasticity_result r;
    T_OK(promo_elasticity_fit(obs, n, 22, 1, NULL, &r));
    int covered = 0;
    for (uint32_t p = 0; p < 20; p++) {
        const promo_elasticity *e = &r.product[p];
        T_ASSERT_EQ_INT(e->source, PROMO_ELASTICITY_OWN);
        covered += fabs(e->elasticity - e_true) <= 1.96 * e->se;
        T_ASSERT(e->se > 0 && e->se < 0.2);
    }
    fprintf(stderr,
            "    elasticity: product 0 %.3f +- %.3f, category %.3f +- %.3f (truth %.1f); "
            "%d of 20 95%% intervals cover\n",
            r.product[0].elasticity, r.product[0].se, r.category[0].elasticity, r.category[0].se,
            e_true, covered);
    T_ASSERT(covered >= 17); /* 95% intervals: 19 expected */
    T_ASSERT(fabs(r.category[0].elasticity - e_true) <= 1.96 * r.category[0].se);
    T_ASSERT_STR_EQ(promo_elasticity_source_name(r.product[20].source), "pooled");
    T_ASSERT_NEAR(r.product[20].elasticity, r.category[0].elasticity, 0);
    T_ASSERT_EQ_INT(r.product[21].source, PROMO_ELASTICITY_NONE);
    T_ASSERT(isnan(r.product[21].elasticity));
    promo_elasticity_result_free(&r);
    /* Bad input names the row. */
    obs[3].price = 0;
    T_ASSERT_EQ_INT(promo_elasticity_fit(obs, n, 22, 1, NULL, &r), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "observation 3");
    promo_free(obs);
}

/* The generated world's shelf prices move every four weeks and each product's demand follows
 * its own true elasticity (truth_products.elasticity): the weekly log-log regression must find
 * it. Demand renormalises within a basket (a line a dear product loses goes to another
 * product), which damps each product's response a little: seeds 42, 7 and 11 give a mean
 * error of +0.05..+0.10, 112-113 of 120 intervals covering, correlation 0.69-0.74. */
T_TEST(features_elasticity_recovers_the_generated_worlds)
{
    promo_synth_params sp = promo_synth_params_default();
    sp.n_customers = 3000;
    sp.n_products = 120;
    sp.n_categories = 12;
    sp.n_transactions = 500000;
    sp.n_promotions = 20;
    sp.with_events = 0;
    promo_synth_tables t;
    T_OK(promo_synth_generate(&sp, NULL, &t));
    promo_feature_input in = {
        .customers = t.customers, .products = t.products, .transactions = t.transactions};
    promo_feature_params fp = promo_feature_params_default();
    fp.as_of = sp.start_date + (int64_t)600 * PROMO_SECONDS_PER_DAY; /* after the history */
    fp.clv = 0;
    promo_features *f = NULL;
    T_OK(promo_features_compute(&in, &fp, &f));
    const promo_column *truth = promo_table_column(t.truth_products, "elasticity");
    T_ASSERT(truth && f->elasticity.n_products == sp.n_products);
    uint32_t own = 0, covered = 0;
    double mt = 0, me = 0, stt = 0, see = 0, ste = 0;
    for (uint32_t j = 0; j < sp.n_products; j++) {
        const promo_elasticity *e = &f->elasticity.product[j];
        /* the products table and truth_products list products in the same order */
        T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t.products, "product_id"), j),
                        promo_column_str(promo_table_column(t.truth_products, "product_id"), j));
        if (e->source != PROMO_ELASTICITY_OWN)
            continue;
        own++;
        covered += fabs(e->elasticity - truth->f64[j]) <= 1.96 * e->se;
        mt += truth->f64[j];
        me += e->elasticity;
    }
    T_ASSERT_EQ_INT(own, sp.n_products);
    mt /= own;
    me /= own;
    for (uint32_t j = 0; j < sp.n_products; j++) {
        double a = truth->f64[j] - mt, b = f->elasticity.product[j].elasticity - me;
        stt += a * a;
        see += b * b;
        ste += a * b;
    }
    double corr = ste / sqrt(stt * see);
    fprintf(stderr,
            "    generated world: %u of %u 95%% intervals cover the true elasticity; "
            "mean error %+.3f, correlation %.3f\n",
            covered, own, me - mt, corr);
    T_ASSERT_MSG(covered >= own * 8 / 10, "%u of %u cover", covered, own);
    T_ASSERT_MSG(fabs(me - mt) < 0.25, "mean error %.3f", me - mt);
    T_ASSERT_MSG(corr > 0.5, "correlation %.3f", corr);
    promo_features_free(f);
    promo_synth_tables_free(&t);
}

/* UCI Online Retail, cutoff 2011-11-09: does P(alive) separate the customers who bought in
 * the month after the cutoff from those who did not? */
T_TEST(features_online_retail_p_alive_auc)
{
    const char *path = t_shared_data("online_retail/online_retail.csv");
    if (!path)
        T_SKIP("../shared/data/online_retail/online_retail.csv is absent");
    promo_csv_options o = promo_csv_options_default();
    promo_csv_column cols[] = {
        {"InvoiceNo", PROMO_COL_STRING, 1},  {"StockCode", PROMO_COL_STRING, 1},
        {"Quantity", PROMO_COL_FLOAT64, 1},  {"InvoiceDate", PROMO_COL_TIMESTAMP, 1},
        {"UnitPrice", PROMO_COL_FLOAT64, 1}, {"CustomerID", PROMO_COL_STRING, 1}};
    o.columns = cols;
    o.n_columns = 6;
    promo_table *raw = NULL;
    double t0 = promo_now_s();
    T_OK(promo_csv_read(path, &o, &raw, NULL));
    double t1 = promo_now_s();
    /* The typed CSV columns are the transactions table once renamed (features only need the
     * canonical names and types); products come from the StockCode dictionary. Building the
     * table row by row took most of this test's time under ASan. */
    const promo_column *sc = promo_table_column(raw, "StockCode");
    static const char *const ren[6][2] = {
        {"InvoiceNo", "order_id"}, {"StockCode", "product_id"}, {"Quantity", "quantity"},
        {"InvoiceDate", "ts"},     {"UnitPrice", "unit_price"}, {"CustomerID", "customer_id"}};
    for (int k = 0; k < 6; k++)
        T_OK(promo_table_rename_column(raw, ren[k][0], ren[k][1]));
    promo_table *tx = raw, *prod = new_canonical("products");
    for (uint32_t k = 0; k < promo_dict_size(sc->dict); k++)
        add_product(prod, promo_dict_key(sc->dict, k), NULL, NAN);
    promo_table_seal(prod);
    promo_feature_input in = {.products = prod, .transactions = tx};
    promo_feature_params p = promo_feature_params_default();
    p.as_of = ts_of("2011-11-09");
    p.products = 0; /* not needed here; keeps the test fast under ASan */
    promo_features *f = NULL;
    double t2 = promo_now_s();
    T_OK(promo_features_compute(&in, &p, &f));
    fprintf(stderr, "    read %.2fs, tables %.2fs, features %.2fs\n", t1 - t0, t2 - t1,
            promo_now_s() - t2);
    T_ASSERT_MSG(f->clv_status == NULL, "clv: %s", f->clv_status);
    uint8_t *y = NULL;
    T_OK(promo_features_labels(f, &in, "any", 30, &y));
    size_t n = f->n_customers, pos = 0;
    double *s1 = promo_mallocn(3 * n, sizeof *s1), *s2 = s1 + n, *s3 = s1 + 2 * n;
    uint8_t *y3 = promo_malloc(n);
    size_t n3 = 0;
    int ja = promo_features_column(f, "p_alive"),
        je = promo_features_column(f, "exp_purchases_30d");
    for (size_t i = 0; i < n; i++) {
        s1[i] = f->X[i * f->n_features + (size_t)ja];
        s2[i] = f->X[i * f->n_features + (size_t)je];
        pos += y[i];
        if (feat(f, i, "purchase_days") >= 2) { /* P(alive) is 1 by construction otherwise */
            s3[n3] = s1[i];
            y3[n3++] = y[i];
        }
    }
    double auc_alive = 0, auc_exp = 0, auc_rep = 0;
    T_OK(promo_roc_auc(s1, y, n, &auc_alive));
    T_OK(promo_roc_auc(s2, y, n, &auc_exp));
    T_OK(promo_roc_auc(s3, y3, n3, &auc_rep));
    fprintf(stderr, "    repeat buyers (%zu): AUC p_alive %.4f\n", n3, auc_rep);
    promo_free(y3);
    fprintf(
        stderr,
        "    online retail @2011-11-09: %zu customers, %zu bought in the next 30 days; "
        "bgnbd r=%.3f alpha=%.2f a=%.3f b=%.3f (days); AUC p_alive %.4f, exp_purchases_30d %.4f\n",
        n, pos, f->bgnbd.r, f->bgnbd.alpha, f->bgnbd.a, f->bgnbd.b, auc_alive, auc_exp);
    /* BG/NBD gives P(alive) = 1 to every one-time buyer, who rarely returns: over all
     * customers P(alive) ranks worse than chance; among repeat buyers it separates. */
    T_ASSERT(auc_rep > 0.62);
    T_ASSERT(auc_exp > 0.70);
    promo_free(s1);
    promo_free(y);
    promo_features_free(f);
    promo_table_free(tx);
    promo_table_free(prod);
}
