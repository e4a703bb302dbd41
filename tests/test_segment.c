/* Customer segments (promo/segment.h, promo segment): spend tiers with exact quartiles, revenue
 * shares and top categories on a hand-made workspace; the `segments` table (one method's rows
 * replaced, the others kept); profiles and the persona rules; the clustering matrix; the CLI
 * end to end on a small generated world (K by silhouette, personas, tiers, --out, ARI against
 * the true segments); --data on a numeric CSV; bad input exits 2 and leaves the workspace as
 * it was. */
#include "t.h"

#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/schema.h>
#include <promo/segment.h>
#include <promo/store.h>
#include <promo/timeutil.h>

static int64_t ts_of(const char *s)
{
    int64_t t = 0;
    if (promo_time_parse(s, strlen(s), PROMO_DATE_ISO, &t))
        abort();
    return t;
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
                   const char *ts,
                   double qty,
                   double price)
{
    push_s(t, "order_id", order);
    push_f(t, "line", (double)promo_table_column(t, "line")->n + 1);
    push_s(t, "customer_id", cust);
    push_s(t, "product_id", prod);
    push_s(t, "store_id", "S1");
    push_f(t, "ts", (double)ts_of(ts));
    push_f(t, "quantity", qty);
    push_f(t, "unit_price", price);
    push_f(t, "discount", 0);
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

static void add_product(promo_table *t, const char *id, const char *cat)
{
    push_s(t, "product_id", id);
    push_s(t, "name", NULL);
    push_s(t, "category", cat);
    push_s(t, "subcategory", NULL);
    push_s(t, "brand", NULL);
    push_f(t, "price", 10);
    push_f(t, "cost", NAN);
}

/* The hand-made workspace: C1..C7 spend 10, 20, .., 70 on category A (one order each), C8
 * spends 50 on A and 30 on B in one order, C9 signed up but never bought. Spend 360 in all.
 * Quartiles by mid-rank among the 8 buyers: G1 {C1, C2} (+ C9), G2 {C3, C4}, G3 {C5, C6},
 * VIP {C7, C8}. */
static void hand_ws(const char *ws)
{
    promo_table *c = promo_schema_new_table(promo_schema_find("customers"));
    promo_table *p = promo_schema_new_table(promo_schema_find("products"));
    promo_table *t = promo_schema_new_table(promo_schema_find("transactions"));
    char id[16], order[16], day[32];
    for (int i = 1; i <= 9; i++) {
        snprintf(id, sizeof id, "C%d", i);
        add_customer(c, id, i == 9 ? "2024-01-02" : NULL);
    }
    add_product(p, "PA", "A");
    add_product(p, "PB", "B");
    for (int i = 1; i <= 7; i++) {
        snprintf(id, sizeof id, "C%d", i);
        snprintf(order, sizeof order, "O%d", i);
        snprintf(day, sizeof day, "2024-01-%02dT10:00:00", 10 + i);
        add_tx(t, order, id, "PA", day, 1, 10.0 * i);
    }
    add_tx(t, "O8", "C8", "PA", "2024-01-20T10:00:00", 5, 10);
    add_tx(t, "O8", "C8", "PB", "2024-01-20T10:00:00", 1, 30);
    T_OK(promo_table_seal(c));
    T_OK(promo_table_seal(p));
    T_OK(promo_table_seal(t));
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, c));
    T_OK(promo_store_write_table(s, p));
    T_OK(promo_store_write_table(s, t));
    T_OK(promo_store_commit(s));
    promo_store_close(s);
    promo_table_free(c);
    promo_table_free(p);
    promo_table_free(t);
}

/* Rows of table segments for method m (and the row of customer id there: segment, persona). */
static size_t segment_rows(const char *ws,
                           const char *m,
                           const char *id,
                           long long *seg,
                           const char **persona_out,
                           char *persona_buf,
                           size_t n_buf)
{
    promo_store *s = NULL;
    promo_table *t = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_read_table(s, "segments", &t));
    const promo_column *cid = promo_table_column(t, "customer_id"),
                       *meth = promo_table_column(t, "method"),
                       *sg = promo_table_column(t, "segment"),
                       *pe = promo_table_column(t, "persona"), *ao = promo_table_column(t, "as_of");
    T_ASSERT(cid && meth && sg && pe && ao);
    T_ASSERT_EQ_INT(sg->type, PROMO_COL_INT64);
    T_ASSERT_EQ_INT(ao->type, PROMO_COL_TIMESTAMP);
    size_t n = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(promo_column_str(meth, i), m))
            continue;
        n++;
        if (id && !strcmp(promo_column_str(cid, i), id)) {
            *seg = sg->i64[i];
            snprintf(persona_buf, n_buf, "%s",
                     promo_column_is_null(pe, i) ? "(null)" : promo_column_str(pe, i));
            *persona_out = persona_buf;
        }
    }
    promo_table_free(t);
    promo_store_close(s);
    return n;
}

T_TEST(segment_tiers_exact_quartiles_shares_and_categories)
{
    char ws[700];
    snprintf(ws, sizeof ws, "%s/hand", t_tmpdir());
    hand_ws(ws);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_segment_params p = promo_segment_params_default();
    p.method = PROMO_SEGMENT_TIERS;
    p.as_of = ts_of("2024-02-01");
    p.clv = 0;
    promo_segment_result r;
    T_OK(promo_segment_run(s, &p, &r));
    T_ASSERT_EQ_INT(r.f->n_customers, 9);
    T_ASSERT_EQ_INT(r.n_clustered, 8);
    static const char *const names[4] = {"VIP", "G3", "G2", "G1"};
    static const size_t customers[4] = {2, 2, 2, 3}, buyers[4] = {2, 2, 2, 2};
    static const double lo[4] = {70, 50, 30, 10}, hi[4] = {80, 60, 40, 20};
    static const double revenue[4] = {150, 110, 70, 30};
    for (int k = 0; k < 4; k++) {
        const promo_segment_tier *t = &r.tiers[k];
        T_ASSERT_STR_EQ(promo_spend_tier_name(t->tier), names[k]);
        T_ASSERT_EQ_INT(t->n_customers, customers[k]);
        T_ASSERT_EQ_INT(t->n_buyers, buyers[k]);
        T_ASSERT_NEAR(t->spend_min, lo[k], 1e-4);
        T_ASSERT_NEAR(t->spend_max, hi[k], 1e-4);
        T_ASSERT_NEAR(t->revenue, revenue[k], 1e-3);
        T_ASSERT_NEAR(t->revenue_share, revenue[k] / 360, 1e-6);
        T_ASSERT(t->n_top >= 1);
        T_ASSERT_STR_EQ(r.f->category_names[t->top_category[0]], "A");
    }
    /* VIP: C7 70 on A, C8 50 on A and 30 on B: A 120/150, B 30/150; the others all A */
    T_ASSERT_EQ_INT(r.tiers[0].n_top, 2);
    T_ASSERT_NEAR(r.tiers[0].top_share[0], 0.8, 1e-6);
    T_ASSERT_STR_EQ(r.f->category_names[r.tiers[0].top_category[1]], "B");
    T_ASSERT_NEAR(r.tiers[0].top_share[1], 0.2, 1e-6);
    T_ASSERT_EQ_INT(r.tiers[3].n_top, 1);
    T_ASSERT_NEAR(r.tiers[3].top_share[0], 1, 1e-6);
    /* tier profiles over the buyers, VIP first */
    T_ASSERT_EQ_INT(r.n_profiles, 4);
    T_ASSERT_EQ_INT(r.profiles[0].segment, PROMO_TIER_VIP);
    T_ASSERT_NEAR(r.profiles[0].spend, 75, 1e-4);
    T_ASSERT_NEAR(r.profiles[0].revenue_share, 150.0 / 360, 1e-6);
    T_ASSERT_NEAR(r.profiles[3].spend, 15, 1e-4);
    T_ASSERT_NEAR(r.population.spend, 45, 1e-4);
    T_ASSERT_EQ_INT(r.population.size, 8);
    /* stored: one row per customer, segment = tier, persona = its name */
    T_OK(promo_segment_store(s, &r));
    promo_segment_result_free(&r);
    promo_store_close(s);
    long long seg = -9;
    const char *persona = NULL;
    char buf[32];
    T_ASSERT_EQ_INT(segment_rows(ws, "tiers", "C8", &seg, &persona, buf, sizeof buf), 9);
    T_ASSERT_EQ_INT(seg, PROMO_TIER_VIP);
    T_ASSERT_STR_EQ(persona, "VIP");
    T_ASSERT_EQ_INT(segment_rows(ws, "tiers", "C9", &seg, &persona, buf, sizeof buf), 9);
    T_ASSERT_EQ_INT(seg, PROMO_TIER_G1);
}

T_TEST(segment_store_replaces_only_its_method)
{
    char ws[700], args[1600], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/hand", t_tmpdir());
    hand_ws(ws);
    snprintf(args, sizeof args, "segment --ws %s --method tiers --as-of 2024-02-01 --no-clv", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "VIP");
    free(out);
    free(err);
    snprintf(args, sizeof args, "segment --ws %s --method kmeans --k 2 --as-of 2024-02-01", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    long long seg = -9;
    const char *persona = NULL;
    char buf[32];
    T_ASSERT_EQ_INT(segment_rows(ws, "tiers", NULL, &seg, &persona, buf, sizeof buf), 9);
    T_ASSERT_EQ_INT(segment_rows(ws, "kmeans", "C9", &seg, &persona, buf, sizeof buf), 9);
    T_ASSERT_EQ_INT(seg, -1); /* no purchase: not clustered */
    T_ASSERT_STR_EQ(persona, "(null)");
    /* again: the kmeans rows are replaced, the tiers kept */
    snprintf(args, sizeof args, "segment --ws %s --method kmeans --k 3 --as-of 2024-02-01", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    T_ASSERT_EQ_INT(segment_rows(ws, "kmeans", "C1", &seg, &persona, buf, sizeof buf), 9);
    T_ASSERT(seg >= 0 && seg < 3);
    T_ASSERT_EQ_INT(segment_rows(ws, "tiers", NULL, &seg, &persona, buf, sizeof buf), 9);
}

/* A profile with the fields the rules read. */
static promo_segment_profile
prof(int32_t seg, double spend, double freq, double rec, double p_alive)
{
    promo_segment_profile p;
    memset(&p, 0, sizeof p);
    p.segment = seg;
    p.spend = spend;
    p.frequency = freq;
    p.recency_days = rec;
    p.p_alive = p_alive;
    p.gap_days = 7;
    p.repeat_share = 1;
    return p;
}

T_TEST(segment_persona_rules)
{
    promo_segment_profile pop = prof(-2, 1000, 10, 50, 0.8);
    /* churn-risk: quiet for long, or P(alive) well below the population's */
    promo_segment_profile a = prof(0, 3000, 30, 75, 0.9);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_CHURN_RISK);
    a = prof(0, 3000, 30, 10, 0.65);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_CHURN_RISK);
    a = prof(0, 3000, 30, 10, 0.66); /* 0.14 below: not yet */
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_LOYAL);
    /* loyal needs both frequency >= 1.5x and spend >= 1.25x */
    a = prof(0, 1250, 15, 10, 0.9);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_LOYAL);
    a = prof(0, 1200, 15, 10, 0.9);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_REGULAR);
    /* entry: few orders or little spend */
    a = prof(0, 1000, 5, 40, 0.9);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_ENTRY);
    a = prof(0, 400, 10, 40, 0.9);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_ENTRY);
    a = prof(0, 500, 6, 40, 0.9); /* below average, not entry-level */
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_REGULAR);
    a = prof(0, 900, 9, 60, 0.8);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_REGULAR);
    /* without P(alive) only recency counts; noise has no persona */
    a = prof(0, 3000, 30, 10, NAN);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_LOYAL);
    a = prof(-1, 3000, 30, 10, 0.9);
    T_ASSERT_EQ_INT(promo_segment_persona_of(&a, &pop), PROMO_PERSONA_NONE);
    T_ASSERT_STR_EQ(promo_segment_persona_name(PROMO_PERSONA_CHURN_RISK), "churn-risk");
    T_ASSERT_STR_EQ(promo_segment_persona_name(PROMO_PERSONA_NONE), "none");
}

T_TEST(segment_profiles_means_noise_and_descriptions)
{
    char ws[700];
    snprintf(ws, sizeof ws, "%s/hand", t_tmpdir());
    hand_ws(ws);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_segment_params p = promo_segment_params_default();
    p.method = PROMO_SEGMENT_TIERS;
    p.as_of = ts_of("2024-02-01");
    promo_segment_result r;
    T_OK(promo_segment_run(s, &p, &r));
    promo_store_close(s);
    /* the clustering matrix: the 8 buyers, standardised columns */
    float *X = NULL;
    uint32_t *rows = NULL;
    size_t n = 0;
    T_OK(promo_segment_matrix(r.f, &X, &rows, &n));
    T_ASSERT_EQ_INT(n, 8);
    for (int j = 0; j < PROMO_SEGMENT_N_COLUMNS; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) {
            T_ASSERT(isfinite(X[i * PROMO_SEGMENT_N_COLUMNS + (size_t)j]));
            m += X[i * PROMO_SEGMENT_N_COLUMNS + (size_t)j];
        }
        T_ASSERT_NEAR(m / (double)n, 0, 1e-5);
    }
    T_ASSERT_STR_EQ(promo_segment_columns[0], "log1p(monetary)");
    /* labels: C1..C4 -> 0, C5..C7 -> 1, C8 noise */
    int32_t lab[8];
    for (size_t i = 0; i < n; i++)
        lab[i] = i < 4 ? 0 : i < 7 ? 1 : -1;
    promo_segment_profile *pr = NULL, pop;
    size_t np = 0;
    T_OK(promo_segment_profiles(r.f, rows, lab, n, 2, &pr, &np, &pop));
    T_ASSERT_EQ_INT(np, 3);
    T_ASSERT_EQ_INT(pr[0].segment, 0);
    T_ASSERT_EQ_INT(pr[0].size, 4);
    T_ASSERT_NEAR(pr[0].spend, 25, 1e-4);
    T_ASSERT_NEAR(pr[0].revenue_share, 100.0 / 360, 1e-6);
    T_ASSERT_NEAR(pr[1].spend, 60, 1e-4);
    T_ASSERT_EQ_INT(pr[2].segment, -1);
    T_ASSERT_EQ_INT(pr[2].size, 1);
    T_ASSERT_NEAR(pr[2].frequency, 1, 0);
    T_ASSERT_NEAR(pr[2].repeat_share, 0, 0);
    T_ASSERT_NEAR(pop.spend, 45, 1e-4);
    T_ASSERT_NEAR(pop.size_share, 1, 0);
    /* one order each: no gap, "mostly single orders" */
    T_ASSERT_CONTAINS(pr[0].description, "below-average spend, mostly single orders");
    T_ASSERT_CONTAINS(pr[1].description, "average spend");
    promo_segment_personas(pr, np, &pop);
    T_ASSERT_EQ_INT(pr[2].persona, PROMO_PERSONA_NONE);
    /* a label out of range is refused */
    lab[0] = 2;
    promo_segment_profile *bad = NULL;
    T_ASSERT_EQ_INT(promo_segment_profiles(r.f, rows, lab, n, 2, &bad, &np, &pop), PROMO_EINPUT);
    T_ASSERT(bad == NULL);
    /* the description of a weekly shopper with P(alive) */
    promo_segment_profile w = prof(0, 2000, 30, 3, 0.92), wp = prof(-2, 1000, 10, 20, 0.9);
    w.gap_days = 6;
    promo_segment_personas(&w, 1, &wp);
    promo_segment_describe(&w, &wp);
    T_ASSERT_EQ_INT(w.persona, PROMO_PERSONA_LOYAL);
    T_ASSERT_STR_EQ(w.description, "high spend, shops weekly, 92% still active");
    /* a quiet one says since when */
    promo_segment_profile q = prof(1, 900, 9, 40, 0.95);
    q.gap_days = 30;
    promo_segment_personas(&q, 1, &wp);
    promo_segment_describe(&q, &wp);
    T_ASSERT_EQ_INT(q.persona, PROMO_PERSONA_CHURN_RISK);
    T_ASSERT_STR_EQ(q.description,
                    "average spend, shops monthly, last order 40 days ago, 95% still active");
    /* one-order customers: BG/NBD's P(alive) = 1 is no news, so recency instead */
    promo_segment_profile o = prof(2, 900, 1, 12, 1.0);
    o.repeat_share = 0.1;
    o.gap_days = NAN;
    promo_segment_describe(&o, &wp);
    T_ASSERT_STR_EQ(o.description, "average spend, mostly single orders, last order 12 days ago");
    /* orders hours apart are no weekly habit */
    promo_segment_profile b = prof(3, 900, 30, 3, 0.9);
    b.gap_days = 0.2;
    promo_segment_describe(&b, &wp);
    T_ASSERT_STR_EQ(b.description,
                    "average spend, orders in bursts, several a day, 90% still active");
    promo_free(pr);
    promo_free(X);
    promo_free(rows);
    promo_segment_result_free(&r);
}

/* ---- the CLI on a small generated world ---- */

static const char *world(void)
{
    static char ws[700];
    if (ws[0])
        return ws;
    snprintf(ws, sizeof ws, "%s/world", t_tmpdir());
    char args[1000], *err = NULL;
    snprintf(args, sizeof args,
             "generate --ws %s --customers 300 --products 40 --transactions 9000 --seed 5", ws);
    int rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "generate: %s", err);
    free(err);
    return ws;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

T_TEST(segment_cli_kmeans_chooses_k_and_scores_against_the_truth)
{
    const char *ws = world();
    char args[1600], out_csv[800], *out = NULL, *err = NULL;
    snprintf(out_csv, sizeof out_csv, "%s/km.csv", t_tmpdir());
    snprintf(args, sizeof args, "segment --ws %s --method kmeans --k-max 6 --json --out %s", ws,
             out_csv);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "segment: %s", err);
    T_ASSERT_CONTAINS(out, "{\"method\":\"kmeans\",\"as_of\":\"");
    T_ASSERT_CONTAINS(out, "\"elbow\":[{\"k\":2,\"inertia\":");
    T_ASSERT_CONTAINS(out, "{\"k\":6,");
    T_ASSERT_CONTAINS(out, "\"columns\":[\"log1p(monetary)\"");
    const char *a = strstr(out, "\"ari_truth\":");
    T_ASSERT(a);
    double ari = atof(a + strlen("\"ari_truth\":"));
    T_ASSERT_MSG(ari > 0.1 && ari <= 1, "ARI %g", ari);
    char *csv = t_read_file(out_csv, NULL);
    T_ASSERT(csv && !strncmp(csv, "customer_id,segment\n", 20));
    T_ASSERT_EQ_INT(count_lines(csv), 301); /* every generated customer signed up before */
    free(csv);
    free(out);
    free(err);
}

T_TEST(segment_cli_personas_and_tiers_tables)
{
    const char *ws = world();
    char args[1600], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "segment --ws %s --method personas --k 4", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "segment: %s", err);
    T_ASSERT_CONTAINS(out, "segments (personas) as of ");
    T_ASSERT_CONTAINS(out, "k = 4");
    T_ASSERT_CONTAINS(out, "VIP");
    T_ASSERT_CONTAINS(out, "still active");
    T_ASSERT_CONTAINS(out, "adjusted Rand index against the generator's true segments");
    int n_personas = 0;
    for (int k = 0; k < PROMO_PERSONA_COUNT; k++)
        n_personas += strstr(out, promo_segment_persona_name(k)) != NULL;
    T_ASSERT(n_personas >= 2);
    free(out);
    free(err);
    long long seg = 0;
    const char *persona = NULL;
    char buf[32];
    T_ASSERT_EQ_INT(segment_rows(ws, "personas", "CUST0000001", &seg, &persona, buf, sizeof buf),
                    300);
    T_ASSERT(persona != NULL);
    T_ASSERT_MSG(seg == -1 || strcmp(persona, "(null)") != 0, "segment %lld persona %s", seg,
                 persona);
    snprintf(args, sizeof args, "segment --ws %s --method tiers --json", ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "segment: %s", err);
    T_ASSERT_CONTAINS(out, "\"tiers\":[{\"tier\":\"VIP\"");
    T_ASSERT_CONTAINS(out, "\"top_categories\":[{\"category\":");
    free(out);
    free(err);
}

T_TEST(segment_cli_data_clusters_a_numeric_csv)
{
    const char *dir = t_tmpdir();
    char path[700], labels[700], args[1600], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/blobs.csv", dir);
    snprintf(labels, sizeof labels, "%s/labels.csv", dir);
    /* two well-separated blobs of 30 points, the second scaled up in x */
    char buf[8192];
    size_t at = (size_t)snprintf(buf, sizeof buf, "x,y\n");
    for (int i = 0; i < 60; i++) {
        double jx = (double)((i * 7) % 11) / 11 - 0.5, jy = (double)((i * 5) % 13) / 13 - 0.5;
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%g,%g\n", i < 30 ? jx : 100 + jx,
                               i < 30 ? jy : 50 + jy);
    }
    t_write_file(path, buf, at);
    snprintf(args, sizeof args, "segment --data %s --method kmeans --k 2 --out %s", path, labels);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "segment --data: %s", err);
    T_ASSERT_CONTAINS(out, "kmeans on 60 rows x 2 columns: 2 clusters");
    char *csv = t_read_file(labels, NULL);
    T_ASSERT(csv && !strncmp(csv, "segment\n", 8));
    T_ASSERT_EQ_INT(count_lines(csv), 61);
    /* the first 30 rows share a label, the last 30 the other */
    const char *p = csv + 8;
    char first = p[0], second = p[30 * 2];
    T_ASSERT(first != second);
    for (int i = 0; i < 60; i++)
        T_ASSERT_EQ_INT(p[2 * i], i < 30 ? first : second);
    free(csv);
    free(out);
    free(err);
    /* K by silhouette, standardised, JSON */
    snprintf(args, sizeof args, "segment --data %s --method kmeans --standardize --json --out %s",
             path, labels);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "segment --data: %s", err);
    T_ASSERT_CONTAINS(out, "\"clusters\":2,");
    T_ASSERT_CONTAINS(out, "\"standardized\":true");
    free(out);
    free(err);
    /* HDBSCAN: the same two blobs, with membership and outlier scores */
    snprintf(args, sizeof args,
             "segment --data %s --method hdbscan --min-cluster-size 5 --json --out %s", path,
             labels);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "segment --data hdbscan: %s", err);
    T_ASSERT_CONTAINS(out, "\"method\":\"hdbscan\",\"rows\":60,\"columns\":2,");
    T_ASSERT_CONTAINS(out, "\"clusters\":2,");
    csv = t_read_file(labels, NULL);
    T_ASSERT(csv && !strncmp(csv, "segment,probability,outlier_score\n", 34));
    T_ASSERT_EQ_INT(count_lines(csv), 61);
    free(csv);
    free(out);
    free(err);
}

T_TEST(segment_cli_hdbscan_on_a_workspace)
{
    const char *ws = world();
    char args[1600], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "segment --ws %s --method hdbscan --min-cluster-size 10 --json",
             ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "segment: %s", err);
    T_ASSERT_CONTAINS(out, "{\"method\":\"hdbscan\"");
    T_ASSERT_CONTAINS(out, "\"noise\":");
    free(out);
    free(err);
    long long seg = 0;
    const char *persona = NULL;
    char buf[32];
    T_ASSERT_EQ_INT(segment_rows(ws, "hdbscan", "CUST0000001", &seg, &persona, buf, sizeof buf),
                    300);
    T_ASSERT(seg >= -1);
}

T_TEST(segment_cli_bad_input_exits_2_workspace_unchanged)
{
    const char *ws = world(), *dir = t_tmpdir();
    char args[1600], path[700], labels[700], *err = NULL;
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    snprintf(labels, sizeof labels, "%s/bad_labels.csv", dir);
    const char *bad = "a,b\n1,2\n3,x4\n5,6\n";
    t_write_file(path, bad, strlen(bad));
    char *before = t_dir_digest(ws);
    struct {
        const char *args, *want;
    } cases[] = {
        {"--ws %s --method spectral", "--method: expected kmeans, hdbscan, tiers or personas"},
        {"--ws %s --method kmeans --k 0", "--k: expected an integer from 1 to 1000"},
        {"--ws %s --method kmeans --k 100000", "--k: expected an integer from 1 to 1000"},
        {"--ws %s --method kmeans --k 1000", "more than the"},
        {"--ws %s --method tiers --standardize", "--standardize applies to --data"},
        {"--ws %s --method kmeans --data x.csv --out y.csv", "--data and --ws"},
        {"--method kmeans --data %s", "--data needs --out"},
        {"--method tiers --data %s --out y.csv", "--method must be kmeans or hdbscan"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char a[800];
        snprintf(a, sizeof a, cases[k].args, k < 6 ? ws : path);
        snprintf(args, sizeof args, "segment %s", a);
        int rc = t_promo(args, NULL, &err);
        T_ASSERT_MSG(rc == 2, "promo %s: exit %d: %s", args, rc, err);
        T_ASSERT_MSG(strstr(err, cases[k].want), "promo %s: want \"%s\", got %s", args,
                     cases[k].want, err);
        free(err);
    }
    /* a non-numeric field is located */
    snprintf(args, sizeof args, "segment --data %s --method kmeans --k 2 --out %s", path, labels);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    char want[800];
    snprintf(want, sizeof want, "%s:3:2: column 'b': expected a number, got \"x4\"", path);
    T_ASSERT_CONTAINS(err, want);
    free(err);
    T_ASSERT(t_read_file(labels, NULL) == NULL);
    /* a missing value too */
    bad = "a,b\n1,2\n3,\n5,6\n";
    t_write_file(path, bad, strlen(bad));
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    snprintf(want, sizeof want, "%s:3:2: column 'b': missing value", path);
    T_ASSERT_CONTAINS(err, want);
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}
