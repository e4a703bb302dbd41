/* The recommender layer (recommend.h): metrics on hand-made lists, top-K (exclusion, ties,
 * the GEMM path against per-user scoring, thread count), the reverse query against brute
 * force, the interaction matrix of a window against the transactions, its storage in the
 * workspace, and promo train / promo recommend end to end with bad input. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "t.h"
#include "t_world.h"

static promo_rec_data
small(const uint32_t *rows, const uint32_t *cols, size_t n, uint32_t nu, uint32_t ni)
{
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = nu;
    m.n_cols = ni;
    m.row_ptr = promo_calloc(nu + 1, sizeof *m.row_ptr);
    m.col_idx = promo_mallocn(n ? n : 1, sizeof *m.col_idx);
    m.values = promo_mallocn(n ? n : 1, sizeof *m.values);
    for (size_t e = 0; e < n; e++) { /* entries given sorted by (row, col) */
        m.row_ptr[rows[e] + 1]++;
        m.col_idx[e] = cols[e];
        m.values[e] = 1.0f;
    }
    for (uint32_t u = 0; u < nu; u++)
        m.row_ptr[u + 1] += m.row_ptr[u];
    m.nnz = n;
    promo_rec_data d;
    T_OK(promo_rec_data_from_csr(&m, &d));
    return d;
}

T_TEST(rec_metrics_hand_made_cases)
{
    const uint32_t ranked[3] = {3, 1, 7}, rel[2] = {1, 2};
    double p, r, n, ap;
    promo_rec_metrics_user(ranked, 3, rel, 2, &p, &r, &n, &ap);
    T_ASSERT_NEAR(p, 1.0 / 3, 1e-12);
    T_ASSERT_NEAR(r, 0.5, 1e-12);
    T_ASSERT_NEAR(n, (1 / log2(3.0)) / (1 + 1 / log2(3.0)), 1e-12);
    T_ASSERT_NEAR(ap, 0.5 / 2, 1e-12); /* hit at rank 2: precision 1/2, over min(3, 2) */
    /* perfect list: everything 1 except precision (K > relevant) */
    const uint32_t perfect[4] = {2, 1, 9, 8};
    promo_rec_metrics_user(perfect, 4, rel, 2, &p, &r, &n, &ap);
    T_ASSERT_NEAR(p, 0.5, 1e-12);
    T_ASSERT_NEAR(r, 1.0, 1e-12);
    T_ASSERT_NEAR(n, 1.0, 1e-12);
    T_ASSERT_NEAR(ap, 1.0, 1e-12);
    /* a list cut short by NONE counts the missing slots as misses */
    const uint32_t short_list[3] = {1, PROMO_REC_NONE, PROMO_REC_NONE};
    promo_rec_metrics_user(short_list, 3, rel, 2, &p, &r, &n, &ap);
    T_ASSERT_NEAR(p, 1.0 / 3, 1e-12);
    T_ASSERT_NEAR(r, 0.5, 1e-12);
    T_ASSERT_NEAR(ap, 0.5, 1e-12);
    /* no hit */
    const uint32_t miss[2] = {5, 6};
    promo_rec_metrics_user(miss, 2, rel, 2, &p, &r, &n, &ap);
    T_ASSERT_NEAR(p + r + n + ap, 0.0, 1e-12);
}

T_TEST(rec_evaluate_popularity_on_a_hand_made_split)
{
    /* 4 users x 5 items. Buyers before: item 0 by 3 users, item 1 by 2, item 2 by 1. */
    const uint32_t tr_r[] = {0, 0, 1, 1, 2, 2}, tr_c[] = {0, 1, 0, 2, 0, 1};
    /* after: user 0 buys 2 (new) and 0 (repeat), user 1 buys 1, user 3 buys 4 */
    const uint32_t te_r[] = {0, 0, 1, 3}, te_c[] = {0, 2, 1, 4};
    promo_rec_data tr = small(tr_r, tr_c, 6, 4, 5), te = small(te_r, te_c, 4, 4, 5);
    promo_rec_model *pop = NULL;
    T_OK(promo_rec_popularity_fit(&tr, NULL, &pop));
    promo_rec_query q = promo_rec_query_default();
    q.k = 1;
    promo_rec_metrics m;
    T_OK(promo_rec_evaluate(pop, &tr, &te, &q, &m));
    /* relevant (new only): u0 {2}, u1 {1}, u3 {4}. Lists (bought excluded, ties by index):
     * u0 -> 2 (hit), u1 -> 1 (hit), u3 -> 0 (miss). */
    T_ASSERT_EQ_INT(m.n_users, 3);
    T_ASSERT_NEAR(m.precision, 2.0 / 3, 1e-12);
    T_ASSERT_NEAR(m.recall, 2.0 / 3, 1e-12);
    T_ASSERT_NEAR(m.hit_rate, 2.0 / 3, 1e-12);
    T_ASSERT_NEAR(m.coverage, 3.0 / 5, 1e-12); /* items 2, 1, 0 */
    /* counting repeats: u0's relevant {0, 2}, nothing excluded: u0 -> 0 (hit), u1 -> 0, u3 -> 0 */
    q.exclude_bought = 0;
    T_OK(promo_rec_evaluate(pop, &tr, &te, &q, &m));
    T_ASSERT_EQ_INT(m.n_users, 3);
    T_ASSERT_NEAR(m.precision, 1.0 / 3, 1e-12);
    T_ASSERT_NEAR(m.recall, 0.5 / 3, 1e-12);
    T_ASSERT_NEAR(m.coverage, 1.0 / 5, 1e-12);
    promo_rec_model_free(pop);
    promo_rec_data_free(&tr);
    promo_rec_data_free(&te);
}

/* A random-ish matrix and an ALS model on it. */
static void model_on(uint32_t nu, uint32_t ni, promo_rec_data *d, promo_rec_model **m)
{
    uint32_t *r = promo_mallocn((size_t)nu * ni, sizeof *r),
             *c = promo_mallocn((size_t)nu * ni, sizeof *c);
    size_t n = 0;
    for (uint32_t u = 0; u < nu; u++)
        for (uint32_t i = 0; i < ni; i++)
            if ((u * 7 + i * 13 + u * i) % 5 == 0 || (u % 3 == i % 3 && (u + i) % 4 == 0)) {
                r[n] = u;
                c[n++] = i;
            }
    *d = small(r, c, n, nu, ni);
    promo_free(r);
    promo_free(c);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 6;
    p.iterations = 5;
    p.regularization = 0.1;
    T_OK(promo_als_fit(d, &p, m));
}

T_TEST(rec_topk_excludes_bought_matches_per_user_scoring_and_threads)
{
    promo_rec_data d;
    promo_rec_model *m = NULL;
    model_on(50, 37, &d, &m);
    promo_rec_query q = promo_rec_query_default();
    q.k = 8;
    q.history = &d.m;
    q.n_threads = 1;
    promo_rec_topk a, b;
    T_OK(promo_rec_topk_all(m, &q, &a));
    q.n_threads = 2;
    T_OK(promo_rec_topk_all(m, &q, &b));
    T_ASSERT_EQ_INT(a.n, 50);
    T_ASSERT(memcmp(a.items, b.items, a.n * a.k * sizeof *a.items) == 0);
    T_ASSERT(memcmp(a.scores, b.scores, a.n * a.k * sizeof *a.scores) == 0);
    float s[37];
    for (uint32_t u = 0; u < 50; u++) {
        T_OK(promo_rec_model_score_user(m, u, s));
        /* brute force: best unbought by (score desc, index asc) */
        uint8_t used[37] = {0};
        for (size_t r = 0; r < q.k; r++) {
            int best = -1;
            for (uint32_t j = 0; j < 37; j++) {
                if (used[j] || promo_csr_get(&d.m, u, j) != 0.0f)
                    continue;
                if (best < 0 || s[j] > s[best])
                    best = (int)j;
            }
            uint32_t got = a.items[u * a.k + r];
            if (best < 0) {
                T_ASSERT_EQ_INT(got, PROMO_REC_NONE);
                continue;
            }
            used[best] = 1;
            T_ASSERT_MSG(got == (uint32_t)best ||
                             fabsf(s[got] - s[best]) <= 1e-5f * (1 + fabsf(s[best])),
                         "user %u rank %zu: %u vs %d", u, r, got, best);
            T_ASSERT(promo_csr_get(&d.m, u, got) == 0.0f);
            T_ASSERT_NEAR(a.scores[u * a.k + r], s[got], 1e-4 * (1 + fabsf(s[got])));
        }
    }
    /* a subset of users gives the same rows */
    uint32_t users[3] = {7, 0, 49};
    promo_rec_topk c;
    T_OK(promo_rec_topk_users(m, &q, users, 3, &c));
    for (int r = 0; r < 3; r++)
        T_ASSERT(memcmp(c.items + r * c.k, a.items + users[r] * a.k, a.k * sizeof *a.items) == 0);
    /* item mask */
    uint8_t mask[37];
    for (int j = 0; j < 37; j++)
        mask[j] = j % 2 == 0;
    q.item_mask = mask;
    promo_rec_topk_free(&c);
    T_OK(promo_rec_topk_users(m, &q, users, 3, &c));
    for (size_t x = 0; x < c.n * c.k; x++)
        T_ASSERT(c.items[x] == PROMO_REC_NONE || c.items[x] % 2 == 0);
    /* bad k, and a history of another shape */
    promo_rec_topk_free(&c);
    q.k = 0;
    T_ASSERT_EQ_INT(promo_rec_topk_all(m, &q, &c), PROMO_EUSAGE);
    promo_rec_topk_free(&a);
    promo_rec_topk_free(&b);
    promo_rec_topk_free(&c);
    promo_rec_model_free(m);
    promo_rec_data_free(&d);
}

T_TEST(rec_reverse_query_matches_brute_force)
{
    promo_rec_data d;
    promo_rec_model *m = NULL;
    model_on(60, 20, &d, &m);
    promo_rec_query q = promo_rec_query_default();
    q.k = 10;
    q.history = &d.m;
    uint32_t users[10];
    float sc[10], s[20];
    size_t got = 0;
    T_OK(promo_rec_top_customers(m, &q, 3, users, sc, &got));
    T_ASSERT_EQ_INT(got, 10);
    float all[60];
    for (uint32_t u = 0; u < 60; u++) {
        T_OK(promo_rec_model_score_user(m, u, s));
        all[u] = s[3];
    }
    for (size_t r = 0; r < got; r++) {
        T_ASSERT(promo_csr_get(&d.m, users[r], 3) == 0.0f); /* bought it: not returned */
        T_ASSERT_NEAR(sc[r], all[users[r]], 1e-4);
        if (r)
            T_ASSERT(sc[r] <= sc[r - 1]);
    }
    /* nobody left out scores above the last one returned */
    for (uint32_t u = 0; u < 60; u++) {
        int in = 0;
        for (size_t r = 0; r < got; r++)
            in |= users[r] == u;
        if (!in && promo_csr_get(&d.m, u, 3) == 0.0f)
            T_ASSERT(all[u] <= sc[got - 1] + 1e-4f);
    }
    T_ASSERT_EQ_INT(promo_rec_top_customers(m, &q, 20, users, sc, &got), PROMO_EUSAGE);
    promo_rec_model_free(m);
    promo_rec_data_free(&d);
}

static const char *world(void)
{
    static char ws[700];
    return ws[0] ? ws : t_world_write(ws, sizeof ws, 150, 25, 4, 4, 5000);
}

T_TEST(rec_data_from_panel_counts_orders_and_is_stored)
{
    const char *ws = world();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_panel d;
    T_OK(promo_panel_load(s, 2, &d));
    int64_t as_of = (d.min_ts + d.max_ts) / 2;
    promo_rec_data a, b, all;
    T_OK(promo_rec_data_from_panel(&d, PROMO_REC_BEGIN, as_of, &a));
    T_OK(promo_rec_data_from_panel(&d, as_of, INT64_MAX, &b));
    T_OK(promo_rec_data_from_panel(&d, PROMO_REC_BEGIN, INT64_MAX, &all));
    T_OK(promo_csr_check(&a.m));
    T_ASSERT_EQ_INT(a.m.n_rows, d.n_keys);
    T_ASSERT_EQ_INT(a.m.n_cols, d.n_products);
    /* the two windows add up to the whole history, cell by cell */
    double sa = 0, sb = 0, sall = 0;
    for (uint64_t e = 0; e < a.m.nnz; e++)
        sa += a.m.values[e];
    for (uint64_t e = 0; e < b.m.nnz; e++)
        sb += b.m.values[e];
    for (uint64_t e = 0; e < all.m.nnz; e++)
        sall += all.m.values[e];
    T_ASSERT_NEAR(sa + sb, sall, 1e-6);
    for (uint32_t u = 0; u < all.m.n_rows; u += 7)
        for (uint32_t j = 0; j < all.m.n_cols; j++)
            T_ASSERT_NEAR(promo_csr_get(&a.m, u, j) + promo_csr_get(&b.m, u, j),
                          promo_csr_get(&all.m, u, j), 1e-6);
    /* ids: row u is the transactions' customer u, column j the products row j */
    T_ASSERT_EQ_INT(promo_rec_data_customer(&a, promo_dict_key(a.customers, 5)), 5);
    T_ASSERT_EQ_INT(promo_rec_data_item(&a, "no such"), PROMO_REC_NONE);
    /* stored once, then read back instead of rebuilt (equal, from the file) */
    promo_rec_data w1, w2;
    T_OK(promo_rec_data_workspace(s, &d, as_of, &w1));
    char *path = promo_rec_data_path(s, as_of);
    char *bytes = t_read_file(path, NULL);
    T_ASSERT(bytes != NULL);
    free(bytes);
    T_OK(promo_rec_data_workspace(s, NULL, as_of, &w2));
    T_ASSERT_EQ_INT(w2.m.nnz, a.m.nnz);
    T_ASSERT(memcmp(w2.m.col_idx, a.m.col_idx, a.m.nnz * sizeof *a.m.col_idx) == 0);
    T_ASSERT(memcmp(w2.m.values, a.m.values, a.m.nnz * sizeof *a.m.values) == 0);
    T_ASSERT_STR_EQ(promo_dict_key(w2.items, 3), promo_dict_key(a.items, 3));
    /* another cutoff without a panel: not stored, not found */
    promo_rec_data w3;
    T_ASSERT_EQ_INT(promo_rec_data_workspace(s, NULL, as_of + 86400, &w3), PROMO_ENOTFOUND);
    promo_free(path);
    promo_rec_data_free(&w1);
    promo_rec_data_free(&w2);
    promo_rec_data_free(&a);
    promo_rec_data_free(&b);
    promo_rec_data_free(&all);
    promo_panel_free(&d);
    promo_store_close(s);
}

/* Events as feedback (rec_events.c), by hand: C1 bought P1 in two orders and P2 once, C2
 * bought P2; before the cutoff C1 viewed P2 twice and put P3 in the cart, C2 favourited P1
 * (favourites not weighted here), C3 (no purchase: no row) viewed P1, and after the cutoff
 * C1 viewed P4. view=0.5,cart=2: C1's row is P1 2, P2 1 + 2 x 0.5 = 2, P3 2; C2's is P2 1. */
T_TEST(rec_events_add_their_weights_to_the_purchase_matrix)
{
    char ws[600], tx[600], ev[600], pr[600], args[3000], *err = NULL;
    snprintf(ws, sizeof ws, "%s/events-ws", t_tmpdir());
    snprintf(tx, sizeof tx, "%s/tx.csv", t_tmpdir());
    snprintf(ev, sizeof ev, "%s/events.csv", t_tmpdir());
    snprintf(pr, sizeof pr, "%s/products.csv", t_tmpdir());
    FILE *f = fopen(pr, "w");
    fputs("product_id,name\nP1,a\nP2,b\nP3,c\nP4,d\n", f);
    fclose(f);
    f = fopen(tx, "w");
    fputs("order_id,customer_id,product_id,ts,quantity,unit_price\n"
          "O1,C1,P1,2024-01-02,1,2\nO2,C1,P1,2024-01-03,1,2\nO2,C1,P2,2024-01-03,1,3\n"
          "O3,C2,P2,2024-01-04,1,3\nO4,C2,P1,2024-02-10,1,2\n",
          f);
    fclose(f);
    f = fopen(ev, "w");
    fputs("customer_id,product_id,ts,kind\n"
          "C1,P2,2024-01-05T10:00:00,view\nC1,P2,2024-01-06T10:00:00,view\n"
          "C1,P3,2024-01-06T11:00:00,cart\nC2,P1,2024-01-07,favorite\n"
          "C3,P1,2024-01-07,view\nC1,P4,2024-02-05,view\n",
          f);
    fclose(f);
    const char *tables[][2] = {{"products", pr}, {"transactions", tx}, {"events", ev}};
    int rc;
    for (int k = 0; k < 3; k++) {
        snprintf(args, sizeof args, "ingest --ws %s --unknown add --table %s %s", ws, tables[k][0],
                 tables[k][1]);
        rc = t_promo(args, NULL, &err);
        T_ASSERT_MSG(rc == 0, "ingest: %s", err);
        free(err);
        if (k == 1) { /* purchases only so far: --events has nothing to read */
            snprintf(args, sizeof args, "train --ws %s --model als --events view=1", ws);
            T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
            T_ASSERT_CONTAINS(err, "no events table");
            free(err);
        }
    }
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_panel d;
    T_OK(promo_panel_load(s, 1, &d));
    int64_t cut;
    T_ASSERT_EQ_INT(promo_time_parse_iso("2024-02-01", 10, &cut), 0);
    promo_rec_data buys, fit;
    T_OK(promo_rec_data_from_panel(&d, PROMO_REC_BEGIN, cut, &buys));
    double w[PROMO_REC_EVENT_KINDS];
    T_OK(promo_rec_event_weights_parse("view=0.5,cart=2", w));
    uint64_t n_events = 0;
    T_OK(promo_rec_data_add_events(s, &buys, w, &fit, &n_events));
    T_OK(promo_csr_check(&fit.m));
    T_ASSERT_EQ_INT(n_events, 3);
    T_ASSERT_EQ_INT(fit.m.n_rows, buys.m.n_rows);
    T_ASSERT_EQ_INT(fit.m.n_cols, buys.m.n_cols);
    uint32_t c1 = promo_rec_data_customer(&fit, "C1"), c2 = promo_rec_data_customer(&fit, "C2");
    uint32_t p1 = promo_rec_data_item(&fit, "P1"), p2 = promo_rec_data_item(&fit, "P2"),
             p3 = promo_rec_data_item(&fit, "P3"), p4 = promo_rec_data_item(&fit, "P4");
    T_ASSERT_EQ_INT(promo_rec_data_customer(&fit, "C3"), PROMO_REC_NONE);
    T_ASSERT_NEAR(promo_csr_get(&fit.m, c1, p1), 2.0, 1e-6);
    T_ASSERT_NEAR(promo_csr_get(&fit.m, c1, p2), 2.0, 1e-6);
    T_ASSERT_NEAR(promo_csr_get(&fit.m, c1, p3), 2.0, 1e-6);
    T_ASSERT_NEAR(promo_csr_get(&fit.m, c1, p4), 0.0, 1e-6);
    T_ASSERT_NEAR(promo_csr_get(&fit.m, c2, p2), 1.0, 1e-6);
    T_ASSERT_NEAR(promo_csr_get(&fit.m, c2, p1), 0.0, 1e-6); /* the purchase is after the cut */
    T_ASSERT_EQ_INT(fit.m.nnz, 4);
    /* the purchases themselves are untouched */
    T_ASSERT_NEAR(promo_csr_get(&buys.m, c1, p2), 1.0, 1e-6);
    promo_rec_data_free(&fit);
    /* weights: favourites too; purchase is not a kind; a weight must be in (0, 1000] */
    T_OK(promo_rec_event_weights_parse("favorite=1,view=0.5,cart=2", w));
    T_OK(promo_rec_data_add_events(s, &buys, w, &fit, &n_events));
    T_ASSERT_EQ_INT(n_events, 4);
    T_ASSERT_NEAR(promo_csr_get(&fit.m, c2, p1), 1.0, 1e-6);
    promo_rec_data_free(&fit);
    T_ASSERT_EQ_INT(promo_rec_event_weights_parse("purchase=1", w), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_rec_event_weights_parse("view=0", w), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_rec_event_weights_parse("view=1e9", w), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_rec_event_weights_parse("view", w), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_rec_event_weights_parse("view=nan", w), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_rec_event_weights_parse("view=0.1,", w), PROMO_OK);
    promo_rec_data_free(&buys);
    promo_panel_free(&d);
    promo_store_close(s);
    /* end to end: the report counts the events the model learnt from */
    char *out = NULL;
    snprintf(args, sizeof args,
             "train --ws %s --model als --factors 2 --iterations 2 --as-of 2024-02-01 "
             "--horizon 30 --events view=0.5,cart=2 --json",
             ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "train: %s", err);
    T_ASSERT_CONTAINS(out, "\"n_events\": 3");
    free(out);
    free(err);
    snprintf(args, sizeof args,
             "train --ws %s --model knn --as-of 2024-02-01 --horizon 30 --events view=0.5,cart=2 "
             "--json",
             ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "train knn: %s", err);
    T_ASSERT_CONTAINS(out, "\"n_events\": 3");
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws %s --model mf --events view=1", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "--events: for als, bpr, knn and user-knn");
    free(err);
}

T_TEST(rec_cli_train_recommend_and_reverse)
{
    const char *ws = world();
    char args[1200], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws %s --model als --factors 8 --iterations 5 --json", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    T_ASSERT_CONTAINS(out, "\"model\": \"als\"");
    T_ASSERT_CONTAINS(out, "\"popularity\"");
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws %s --model bpr --factors 8 --iterations 5", ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    T_ASSERT_CONTAINS(out, "bpr");
    free(out);
    free(err);
    /* every customer with a purchase, 3 each */
    snprintf(args, sizeof args, "recommend --ws %s --all --k 3", ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    T_ASSERT(strncmp(out, "customer_id,product_id,rank,score\n", 34) == 0);
    char cust[64] = "";
    sscanf(out + 34, "%63[^,]", cust);
    T_ASSERT(cust[0]);
    free(out);
    free(err);
    /* one customer, CSV and JSON, ALS and BPR, and by fold-in at a later cutoff */
    const char *variants[] = {"", "--json", "--model bpr", "--as-of 2030-01-01",
                              "--model bpr --as-of 2030-01-01 --include-bought"};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        snprintf(args, sizeof args, "recommend --ws %s --customer %s --k 4 %s", ws, cust,
                 variants[v]);
        rc = t_promo(args, &out, &err);
        T_ASSERT_MSG(rc == 0, "%s: %s", args, err);
        T_ASSERT_CONTAINS(out, cust);
        T_ASSERT_CONTAINS(out, v == 1 ? "\"rank\": 4" : ",4,");
        free(out);
        free(err);
    }
    /* the reverse query */
    snprintf(args, sizeof args, "recommend --ws %s --product PROD00001 --k 5", ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    T_ASSERT_CONTAINS(out, ",PROD00001,5,");
    free(out);
    free(err);
    /* evaluation rows are stored: recall_at_20 of als, bpr and popularity (twice) */
    promo_store *s = NULL;
    promo_table *t = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_report_read(s, &t));
    T_ASSERT(t != NULL);
    const promo_column *task = promo_table_column(t, "task"),
                       *metric = promo_table_column(t, "metric");
    size_t n_recall = 0;
    for (size_t r = 0; r < t->n_rows; r++)
        n_recall += strcmp(promo_dict_key(task->dict, task->codes[r]), "recommend") == 0 &&
                    strcmp(promo_dict_key(metric->dict, metric->codes[r]), "recall_at_20") == 0;
    T_ASSERT_EQ_INT(n_recall, 4);
    promo_table_free(t);
    promo_store_close(s);
}

/* The figure named key of the recommender `model` in promo evaluate's JSON (one object or
 * {"evaluations":[...]}), NAN when absent. */
static double eval_figure(const char *json, const char *model, const char *part, const char *key)
{
    double v = NAN;
    cJSON *doc = cJSON_Parse(json);
    T_ASSERT_MSG(doc != NULL, "not JSON: %s", json);
    cJSON *list = cJSON_GetObjectItem(doc, "evaluations");
    for (cJSON *e = list ? list->child : doc; e; e = list ? e->next : NULL) {
        cJSON *m = cJSON_GetObjectItem(e, "model"), *p = cJSON_GetObjectItem(e, part);
        cJSON *x = p ? cJSON_GetObjectItem(p, key) : NULL;
        if (cJSON_IsString(m) && !strcmp(m->valuestring, model) && cJSON_IsNumber(x))
            v = x->valuedouble;
    }
    cJSON_Delete(doc);
    return v;
}

T_TEST(rec_cli_evaluate_prints_the_stored_recommender_figures)
{
    /* promo evaluate prints what promo train --model KIND printed, read back from the
     * evaluations table: the same figures, for every trained kind, as a table and as JSON. */
    char ws[700], args[1200], *train = NULL, *out = NULL, *err = NULL;
    t_world_write(ws, sizeof ws, 120, 20, 4, 3, 4000);
    snprintf(args, sizeof args, "evaluate --ws %s --target recommend", ws);
    T_ASSERT(t_promo(args, NULL, &err) != 0); /* nothing trained yet: not found */
    free(err);
    snprintf(args, sizeof args, "train --ws %s --model als --factors 8 --iterations 4 --json", ws);
    int rc = t_promo(args, &train, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    free(err);
    snprintf(args, sizeof args, "train --ws %s --model knn", ws);
    rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    free(err);
    snprintf(args, sizeof args, "evaluate --ws %s --json", ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    const char *keys[] = {"precision", "recall", "ndcg", "map", "coverage"};
    for (int part = 0; part < 2; part++)
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            const char *pn = part ? "popularity" : "metrics";
            double a = eval_figure(train, "als", pn, keys[k]);
            double b = eval_figure(out, "als", pn, keys[k]);
            T_ASSERT_MSG(isfinite(a) && fabs(a - b) <= 1e-6 * (1 + fabs(a)),
                         "%s %s: train printed %g, evaluate %g", pn, keys[k], a, b);
        }
    T_ASSERT(isfinite(eval_figure(out, "knn", "metrics", "recall")));
    free(out);
    free(err);
    /* the table names both; --target picks one */
    snprintf(args, sizeof args, "evaluate --ws %s", ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    T_ASSERT_CONTAINS(out, "customers x 20 products");
    T_ASSERT_CONTAINS(out, "recommend: als on");
    T_ASSERT_CONTAINS(out, "recommend: knn on");
    T_ASSERT_CONTAINS(out, "  popularity ");
    free(out);
    free(err);
    snprintf(args, sizeof args, "evaluate --ws %s --target knn", ws);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "%s", err);
    T_ASSERT(strstr(out, "recommend: knn on") && !strstr(out, "recommend: als"));
    free(out);
    free(err);
    free(train);
}

T_TEST(rec_cli_bad_input_exits_2_workspace_unchanged)
{
    const char *ws = world();
    char args[1200], *err = NULL;
    snprintf(args, sizeof args, "train --ws %s --model als --factors 4 --iterations 2", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    char *before = t_dir_digest(ws);
    struct {
        const char *args, *want;
    } cases[] = {
        {"recommend --ws %s", "exactly one of --customer, --all, --product"},
        {"recommend --ws %s --all --customer X", "exactly one of"},
        {"recommend --ws %s --all --k 0", "--k: expected an integer"},
        {"recommend --ws %s --all --model nosuch", "--model nosuch: not a recommender"},
        {"recommend --ws %s --customer NOBODY", "--customer NOBODY: unknown customer"},
        {"recommend --ws %s --product NOTHING", "--product NOTHING"},
        {"recommend --ws %s --all --exclude-bought --include-bought", "conflict"},
        {"recommend --ws %s --all --as-of 2024-13-45", "--as-of"},
        {"train --ws %s --model als --factors 0", "--factors"},
        {"train --ws %s --model als --k -3", "--k"},
        {"train --ws %s --model als --as-of 1990-01-01", "leaves no purchases to learn from"},
        {"train --ws %s --model nosuch", "--model nosuch"},
        {"train --ws %s --model als --events purchase=1", "unknown kind 'purchase'"},
        {"train --ws %s --model als --events view=-1", "not a number in (0, 1000]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(args, sizeof args, cases[k].args, ws);
        int rc = t_promo(args, NULL, &err);
        T_ASSERT_MSG(rc == 2, "promo %s: exit %d: %s", args, rc, err);
        T_ASSERT_MSG(strstr(err, cases[k].want), "promo %s: want \"%s\", got %s", args,
                     cases[k].want, err);
        free(err);
    }
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(after);
    /* a model never trained, and a corrupt one */
    snprintf(args, sizeof args, "recommend --ws %s --all --model popularity", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "rec_popularity.bin");
    T_ASSERT_CONTAINS(err, "no popularity recommender");
    T_ASSERT_CONTAINS(err, "--model popularity");
    free(err);
    char path[800];
    snprintf(path, sizeof path, "%s/models/rec_als.bin", ws);
    size_t n = 0;
    char *bytes = t_read_file(path, &n);
    T_ASSERT(bytes && n > 100);
    bytes[n / 2] ^= 1;
    t_write_file(path, bytes, n);
    snprintf(args, sizeof args, "recommend --ws %s --all", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "checksum");
    free(err);
    free(bytes);
    free(before);
}
