/* promo train --model hybrid (promo/hybrid.h): side features from the workspace, the fit,
 * recommend.h's evaluation beside popularity, and the cold-start figures, committed as one
 * unit with the model file and the interaction matrix.
 *
 * Cold start, on the held-out window [as_of, as_of + horizon):
 *   - new customers (no purchase before the cutoff, one or more after): their list comes from
 *     their attributes alone (they have no identity feature); Precision@k_cold against what
 *     they bought, beside popularity's list for them;
 *   - new products (in the catalogue, never bought before the cutoff, bought after): the
 *     k_cold customers the reverse query targets from the product's attributes; Precision =
 *     share of them who bought it in the window, beside targeting the most active customers
 *     (most purchases before the cutoff), the popularity baseline of a reverse query, and
 *     beside promo similar's answer (the buyers of the registered products most like it).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hybrid.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/report.h>
#include <promo/similar.h>
#include <promo/store.h>

#define TASK "recommend"

promo_hybrid_train_params promo_hybrid_train_params_default(void)
{
    promo_hybrid_train_params p;
    memset(&p, 0, sizeof p);
    p.model = promo_hybrid_params_default();
    p.horizon_days = 30;
    p.k = 20;
    p.k_cold = 10;
    p.save = 1;
    return p;
}

/* Precision@k of the cold customers: model and popularity. */
static int cold_users(const promo_rec_model *m,
                      const promo_rec_model *pop,
                      const promo_rec_data *tr,
                      const promo_rec_data *te,
                      size_t k,
                      int n_threads,
                      promo_hybrid_report *out)
{
    uint32_t *users = promo_mallocn((size_t)tr->m.n_rows + 1, sizeof *users);
    promo_rec_topk a = {0}, b = {0};
    size_t n = 0;
    int rc = PROMO_OK;
    if (!users)
        return PROMO_ENOMEM;
    for (uint32_t u = 0; u < tr->m.n_rows; u++)
        if (tr->m.row_ptr[u + 1] == tr->m.row_ptr[u] && te->m.row_ptr[u + 1] > te->m.row_ptr[u])
            users[n++] = u;
    out->n_cold_users = n;
    out->cold_user_p = out->cold_user_p_pop = NAN;
    if (n) {
        promo_rec_query q = promo_rec_query_default();
        q.k = k;
        q.history = &tr->m;
        q.n_threads = n_threads;
        if ((rc = promo_rec_topk_users(m, &q, users, n, &a)) ||
            (rc = promo_rec_topk_users(pop, &q, users, n, &b)))
            goto done;
        double sa = 0, sb = 0;
        for (size_t r = 0; r < n; r++) {
            uint32_t u = users[r];
            const uint32_t *rel = te->m.col_idx + te->m.row_ptr[u];
            size_t nrel = (size_t)(te->m.row_ptr[u + 1] - te->m.row_ptr[u]);
            double pa = 0, pb = 0;
            promo_rec_metrics_user(a.items + r * k, k, rel, nrel, &pa, NULL, NULL, NULL);
            promo_rec_metrics_user(b.items + r * k, k, rel, nrel, &pb, NULL, NULL, NULL);
            sa += pa;
            sb += pb;
        }
        out->cold_user_p = sa / (double)n;
        out->cold_user_p_pop = sb / (double)n;
    }
done:
    promo_rec_topk_free(&a);
    promo_rec_topk_free(&b);
    promo_free(users);
    return rc;
}

/* The customers promo similar would target for product row i (its own attributes, itself
 * excluded, purchases before as_of): how many of them are among the sorted buyers. */
static int similar_hits(const promo_panel *d,
                        uint32_t i,
                        int64_t as_of,
                        size_t k,
                        const uint32_t *buyers,
                        uint64_t nb,
                        const promo_rec_data *tr,
                        size_t *hits)
{
    *hits = 0;
    const promo_table *P = d->products;
    const promo_column *cat = promo_table_column(P, "category"),
                       *name = promo_table_column(P, "name"),
                       *brand = promo_table_column(P, "brand"),
                       *price = promo_table_column(P, "price");
    promo_similar_query q = promo_similar_query_default();
    q.category = cat && cat->type == PROMO_COL_STRING && !promo_column_is_null(cat, i) &&
                         *promo_column_str(cat, i)
                     ? promo_column_str(cat, i)
                     : "unknown";
    double pr = price ? promo_column_num(price, i) : NAN;
    q.price = pr > 0 && isfinite(pr) ? pr : 1.0;
    q.name = name && name->type == PROMO_COL_STRING && !promo_column_is_null(name, i)
                 ? promo_column_str(name, i)
                 : NULL;
    q.brand = brand && brand->type == PROMO_COL_STRING && !promo_column_is_null(brand, i)
                  ? promo_column_str(brand, i)
                  : NULL;
    q.k = 10;
    q.n_customers = k;
    q.as_of = as_of;
    q.exclude_row = i;
    promo_similar_result r;
    int rc = promo_similar_find_panel(d, &q, &r);
    if (rc)
        return rc;
    for (size_t j = 0; j < r.n_customers; j++) {
        uint32_t u = promo_rec_data_customer(tr, r.customers[j].customer_id);
        if (u != PROMO_REC_NONE && promo_rec_sorted_contains(buyers, nb, u))
            (*hits)++;
    }
    promo_similar_result_free(&r);
    return PROMO_OK;
}

/* Precision@k of the reverse query for the cold products: model, most active customers, and
 * promo similar's buyers of the nearest registered products. */
static int cold_items(const promo_panel *d,
                      const promo_rec_model *m,
                      const promo_rec_data *tr,
                      const promo_rec_data *te,
                      size_t k,
                      int n_threads,
                      promo_hybrid_report *out)
{
    promo_csr trT = {0}, teT = {0};
    uint32_t *active = NULL, *got = NULL;
    float *sc = NULL;
    int rc;
    if ((rc = promo_csr_transpose(&tr->m, &trT)) || (rc = promo_csr_transpose(&te->m, &teT)))
        goto done;
    uint32_t nu = tr->m.n_rows;
    if (!(active = promo_mallocn((size_t)nu + 1, sizeof *active)) ||
        !(got = promo_mallocn(k, sizeof *got)) || !(sc = promo_mallocn(k, sizeof *sc))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    /* the k most active customers (most products bought before the cutoff, ties by row) */
    size_t na = 0;
    for (uint32_t u = 0; u < nu; u++) {
        uint64_t deg = tr->m.row_ptr[u + 1] - tr->m.row_ptr[u];
        size_t at = na < k ? na : k;
        while (at > 0 && tr->m.row_ptr[active[at - 1] + 1] - tr->m.row_ptr[active[at - 1]] < deg)
            at--;
        if (at >= k)
            continue;
        for (size_t j = (na < k ? na : k - 1); j > at; j--)
            active[j] = active[j - 1];
        active[at] = u;
        if (na < k)
            na++;
    }
    promo_rec_query q = promo_rec_query_default();
    q.k = k;
    q.history = &tr->m;
    q.n_threads = n_threads;
    size_t n = 0;
    double sa = 0, sb = 0, ss = 0;
    for (uint32_t i = 0; i < trT.n_rows; i++) {
        if (trT.row_ptr[i + 1] > trT.row_ptr[i] || teT.row_ptr[i + 1] == teT.row_ptr[i])
            continue;
        const uint32_t *buyers = teT.col_idx + teT.row_ptr[i];
        uint64_t nb = teT.row_ptr[i + 1] - teT.row_ptr[i];
        size_t ng = 0, ha = 0, hb = 0;
        if ((rc = promo_rec_top_customers(m, &q, i, got, sc, &ng)))
            goto done;
        for (size_t j = 0; j < ng; j++)
            ha += (size_t)promo_rec_sorted_contains(buyers, nb, got[j]);
        for (size_t j = 0; j < na; j++)
            hb += (size_t)promo_rec_sorted_contains(buyers, nb, active[j]);
        size_t hs = 0;
        if ((rc = similar_hits(d, i, tr->to, k, buyers, nb, tr, &hs)))
            goto done;
        sa += (double)ha / (double)k;
        sb += (double)hb / (double)k;
        ss += (double)hs / (double)k;
        n++;
    }
    out->n_cold_items = n;
    out->cold_item_p = n ? sa / (double)n : NAN;
    out->cold_item_p_pop = n ? sb / (double)n : NAN;
    out->cold_item_p_similar = n ? ss / (double)n : NAN;
done:
    promo_csr_free(&trT);
    promo_csr_free(&teT);
    promo_free(active);
    promo_free(got);
    promo_free(sc);
    return rc;
}

int promo_hybrid_train_workspace(promo_store *s,
                                 const promo_hybrid_train_params *p,
                                 promo_hybrid_report *out)
{
    memset(out, 0, sizeof *out);
    if (p->k < 1 || p->k > 100000 || p->k_cold < 1 || p->k_cold > 100000)
        return promo_fail(PROMO_EUSAGE, "hybrid: k must be in 1..100000");
    promo_rec_split sp;
    promo_hybrid_features feats;
    memset(&feats, 0, sizeof feats);
    promo_hybrid *hm = NULL;
    promo_rec_model *m = NULL, *pop = NULL;
    promo_report_rows *rows = NULL;
    char *path = NULL;
    int rc = promo_rec_split_open(s, p->as_of, p->horizon_days, p->n_threads, "hybrid", &sp);
    if (rc)
        return rc;
    int in_txn = 1;
    if ((rc = promo_hybrid_features_build(&sp.panel, &sp.train, &feats)))
        goto fail;
    promo_rec_train_report *b = &out->base;
    snprintf(b->kind, sizeof b->kind, "hybrid");
    out->k_cold = p->k_cold;
    out->n_user_features = feats.UF.n_cols;
    out->n_item_features = feats.IF.n_cols;
    double t0 = promo_now_s();
    if ((rc = promo_hybrid_fit(&sp.train.m, &feats.UF, &feats.IF, &p->model, &hm)))
        goto fail;
    rc = promo_hybrid_rec_new(hm, &feats, &sp.train, &m);
    hm = NULL;
    if (rc)
        goto fail;
    b->train_seconds = promo_now_s() - t0;
    promo_rec_query q = promo_rec_query_default();
    q.k = p->k;
    q.n_threads = p->n_threads;
    if ((rc = promo_rec_split_evaluate(&sp, m, &q, b, &pop)))
        goto fail;
    if (sp.test.m.nnz > 0) {
        if ((rc = cold_users(m, pop, &sp.train, &sp.test, p->k_cold, p->n_threads, out)) ||
            (rc = cold_items(&sp.panel, m, &sp.train, &sp.test, p->k_cold, p->n_threads, out)))
            goto fail;
    } else {
        out->cold_user_p = out->cold_user_p_pop = out->cold_item_p = out->cold_item_p_pop =
            out->cold_item_p_similar = NAN;
    }
    if (!(path = promo_rec_model_path(s, "hybrid"))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    snprintf(b->model_path, sizeof b->model_path, "%s", path);
    if (p->save && (rc = promo_rec_model_save(m, s, path)))
        goto fail;
    if ((rc = promo_report_rows_new(&rows)) || (rc = promo_rec_rows_add_train(rows, b)))
        goto fail;
    if (b->evaluated) {
        char metric[64];
        snprintf(metric, sizeof metric, "cold_user_precision_at_%zu", p->k_cold);
        if (out->n_cold_users && ((rc = promo_report_rows_add(rows, TASK, "hybrid", "hybrid",
                                                              metric, out->cold_user_p)) ||
                                  (rc = promo_report_rows_add(rows, TASK, "hybrid", "popularity",
                                                              metric, out->cold_user_p_pop))))
            goto fail;
        snprintf(metric, sizeof metric, "cold_item_precision_at_%zu", p->k_cold);
        if (out->n_cold_items && ((rc = promo_report_rows_add(rows, TASK, "hybrid", "hybrid",
                                                              metric, out->cold_item_p)) ||
                                  (rc = promo_report_rows_add(rows, TASK, "hybrid", "popularity",
                                                              metric, out->cold_item_p_pop))))
            goto fail;
    }
    if ((rc = promo_report_write(s, rows)))
        goto fail;
    in_txn = 0;
    if ((rc = promo_store_commit(s)))
        goto fail;
    promo_free(path);
    path = promo_rec_model_path(s, "hybrid");
    if (path)
        snprintf(b->model_path, sizeof b->model_path, "%s", path);
    rc = PROMO_OK;
fail:
    if (in_txn)
        promo_store_rollback(s);
    promo_free(path);
    promo_report_rows_free(rows);
    promo_hybrid_free(hm);
    promo_hybrid_features_free(&feats);
    promo_rec_model_free(m);
    promo_rec_model_free(pop);
    promo_rec_split_free(&sp);
    return rc;
}
