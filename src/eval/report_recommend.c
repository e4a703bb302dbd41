/* Recommender evaluation (recommend.h): ranking metrics at K on a held-out matrix, the
 * evaluation rows, and `promo train --model KIND` for any registered recommender as one unit
 * (model file, interaction matrix and rows committed together).
 *
 * Protocol: the model ranks every item for each customer who bought something in the
 * held-out window; with exclude_bought, items the customer bought before the cutoff are
 * neither recommended nor counted as hits (a model cannot earn points for "you will buy your
 * usual milk again", and a recommender is there to find what is new to the customer).
 * Popularity (most buyers before the cutoff) is evaluated on the same customers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/report.h>
#include <promo/store.h>

#define TASK "recommend"

/* ------------------------------------------------------------------- metrics ---- */

static int contains(const uint32_t *sorted, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && sorted[lo] == x;
}

void promo_rec_metrics_user(const uint32_t *ranked,
                            size_t k,
                            const uint32_t *relevant,
                            size_t n_relevant,
                            double *precision,
                            double *recall,
                            double *ndcg,
                            double *ap)
{
    double hits = 0, dcg = 0, idcg = 0, sum_prec = 0;
    size_t ideal = n_relevant < k ? n_relevant : k;
    for (size_t r = 0; r < k; r++) {
        if (ranked[r] == PROMO_REC_NONE)
            break;
        if (contains(relevant, n_relevant, ranked[r])) {
            hits += 1;
            dcg += 1.0 / log2((double)r + 2.0);
            sum_prec += hits / (double)(r + 1);
        }
    }
    for (size_t r = 0; r < ideal; r++)
        idcg += 1.0 / log2((double)r + 2.0);
    if (precision)
        *precision = k ? hits / (double)k : NAN;
    if (recall)
        *recall = n_relevant ? hits / (double)n_relevant : NAN;
    if (ndcg)
        *ndcg = idcg > 0 ? dcg / idcg : NAN;
    if (ap)
        *ap = ideal ? sum_prec / (double)ideal : NAN;
}

int promo_rec_evaluate(const promo_rec_model *m,
                       const promo_rec_data *train,
                       const promo_rec_data *test,
                       const promo_rec_query *q,
                       promo_rec_metrics *out)
{
    memset(out, 0, sizeof *out);
    uint32_t nu = promo_rec_model_n_users(m), ni = promo_rec_model_n_items(m);
    if (train->m.n_rows != nu || test->m.n_rows != nu || train->m.n_cols != ni ||
        test->m.n_cols != ni)
        return promo_fail(PROMO_EUSAGE,
                          "recommend: evaluation matrices do not match the model "
                          "(%ux%u)",
                          nu, ni);
    promo_rec_query qq = *q;
    qq.history = &train->m;
    const promo_csr *tr = &train->m, *te = &test->m;
    /* Relevant items per user: test items (minus train items when excluding). */
    uint64_t *rp = promo_calloc((size_t)nu + 1, sizeof *rp);
    uint32_t *rel = promo_mallocn(te->nnz ? te->nnz : 1, sizeof *rel);
    uint32_t *users = promo_mallocn(nu ? nu : 1, sizeof *users);
    uint8_t *seen = promo_calloc(ni ? ni : 1, 1);
    promo_rec_topk top = {0};
    int rc = PROMO_ENOMEM;
    if (!rp || !rel || !users || !seen)
        goto done;
    size_t n_eval = 0;
    uint64_t o = 0;
    for (uint32_t u = 0; u < nu; u++) {
        uint64_t start = o;
        for (uint64_t e = te->row_ptr[u]; e < te->row_ptr[u + 1]; e++) {
            uint32_t j = te->col_idx[e];
            if (q->exclude_bought &&
                contains(tr->col_idx + tr->row_ptr[u], tr->row_ptr[u + 1] - tr->row_ptr[u], j))
                continue;
            rel[o++] = j;
        }
        rp[u + 1] = o;
        if (o > start)
            users[n_eval++] = u;
    }
    out->k = q->k;
    if (n_eval == 0) {
        rc = PROMO_OK;
        out->precision = out->recall = out->ndcg = out->map = out->hit_rate = out->coverage = NAN;
        goto done;
    }
    if ((rc = promo_rec_topk_users(m, &qq, users, n_eval, &top)))
        goto done;
    double sp = 0, sr = 0, sn = 0, sm = 0, sh = 0;
    for (size_t r = 0; r < n_eval; r++) {
        uint32_t u = users[r];
        const uint32_t *ranked = top.items + r * top.k;
        double p, rc_, n, ap;
        promo_rec_metrics_user(ranked, top.k, rel + rp[u], rp[u + 1] - rp[u], &p, &rc_, &n, &ap);
        sp += p;
        sr += rc_;
        sn += n;
        sm += ap;
        sh += p > 0;
        for (size_t i = 0; i < top.k && ranked[i] != PROMO_REC_NONE; i++)
            seen[ranked[i]] = 1;
    }
    size_t covered = 0;
    for (uint32_t j = 0; j < ni; j++)
        covered += seen[j];
    out->n_users = n_eval;
    out->precision = sp / (double)n_eval;
    out->recall = sr / (double)n_eval;
    out->ndcg = sn / (double)n_eval;
    out->map = sm / (double)n_eval;
    out->hit_rate = sh / (double)n_eval;
    out->coverage = ni ? (double)covered / ni : NAN;
    rc = PROMO_OK;
done:
    promo_rec_topk_free(&top);
    promo_free(rp);
    promo_free(rel);
    promo_free(users);
    promo_free(seen);
    return rc;
}

int promo_report_rows_add_recommend(promo_report_rows *r,
                                    const char *target,
                                    const char *model,
                                    const promo_rec_metrics *m)
{
    char name[64];
    const struct {
        const char *name;
        double v;
    } f[] = {{"precision", m->precision}, {"recall", m->recall},
             {"ndcg", m->ndcg},           {"map", m->map},
             {"hit_rate", m->hit_rate},   {"coverage", m->coverage}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        snprintf(name, sizeof name, "%s_at_%zu", f[i].name, m->k);
        int rc = promo_report_rows_add(r, TASK, target, model, name, f[i].v);
        if (rc)
            return rc;
    }
    return promo_report_rows_add(r, TASK, target, model, "n_users", (double)m->n_users);
}

/* ------------------------------------------------------------- workspace training ---- */

promo_rec_train_params promo_rec_train_params_default(void)
{
    promo_rec_train_params p;
    memset(&p, 0, sizeof p);
    p.kind = "als";
    p.horizon_days = 30;
    p.k = 20;
    p.exclude_bought = 1;
    p.model = promo_rec_params_default();
    return p;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int promo_rec_train_workspace(promo_store *s,
                              const promo_rec_train_params *p,
                              promo_rec_train_report *out)
{
    memset(out, 0, sizeof *out);
    if (!p->kind || !promo_rec_kind_find(p->kind) || !promo_rec_kind_find(p->kind)->fit)
        return promo_fail(PROMO_EUSAGE, "recommend: unknown model '%s'",
                          p->kind ? p->kind : "(null)");
    if (!(p->horizon_days > 0 && p->horizon_days <= 3650))
        return promo_fail(PROMO_EUSAGE, "recommend: horizon must be in (0, 3650] days");
    if (p->k < 1 || p->k > 100000)
        return promo_fail(PROMO_EUSAGE, "recommend: k must be in 1..100000");
    promo_panel d;
    memset(&d, 0, sizeof d);
    promo_rec_data tr, te;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    promo_rec_model *m = NULL, *pop = NULL;
    promo_report_rows *rows = NULL;
    char *path = NULL;
    int in_txn = 0;
    int rc = promo_panel_load(s, p->model.n_threads, &d);
    if (rc)
        goto fail;
    int64_t H = (int64_t)(p->horizon_days * 86400.0);
    int64_t as_of = p->as_of;
    if (as_of == 0) /* the last complete window: its end is the day after the last purchase */
        as_of = (d.max_ts / 86400 + 1) * 86400 - H;
    if (as_of <= d.min_ts)
        return promo_panel_free(&d),
               promo_fail(PROMO_EUSAGE, "recommend: --as-of is before the first purchase");
    if ((rc = promo_store_begin(s)))
        goto fail;
    in_txn = 1;
    if ((rc = promo_rec_data_workspace(s, &d, as_of, &tr)))
        goto fail;
    if ((rc = promo_rec_data_from_panel(&d, as_of, as_of + H, &te)))
        goto fail;
    snprintf(out->kind, sizeof out->kind, "%s", p->kind);
    out->as_of = as_of;
    out->horizon_days = p->horizon_days;
    out->n_users = tr.m.n_rows;
    out->n_items = tr.m.n_cols;
    out->nnz = tr.m.nnz;
    double t0 = now_s();
    if ((rc = promo_rec_fit(p->kind, &tr, &p->model, &m)))
        goto fail;
    out->train_seconds = now_s() - t0;
    promo_rec_query q = promo_rec_query_default();
    q.k = p->k;
    q.exclude_bought = p->exclude_bought;
    q.n_threads = p->model.n_threads;
    if (te.m.nnz > 0) {
        if ((rc = promo_rec_evaluate(m, &tr, &te, &q, &out->model)))
            goto fail;
        if ((rc = promo_rec_popularity_fit(&tr, &p->model, &pop)) ||
            (rc = promo_rec_evaluate(pop, &tr, &te, &q, &out->popularity)))
            goto fail;
        out->evaluated = out->model.n_users > 0;
    }
    if (!(path = promo_rec_model_path(s, p->kind))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    snprintf(out->model_path, sizeof out->model_path, "%s", path);
    if ((rc = promo_rec_model_save(m, s, path)))
        goto fail;
    if ((rc = promo_report_rows_new(&rows)))
        goto fail;
    const char *target = p->kind;
    if ((rc = promo_report_rows_add(rows, TASK, target, "", "as_of", (double)as_of)) ||
        (rc = promo_report_rows_add(rows, TASK, target, "", "horizon_days", p->horizon_days)) ||
        (rc = promo_report_rows_add(rows, TASK, target, "", "n_users", out->n_users)) ||
        (rc = promo_report_rows_add(rows, TASK, target, "", "n_items", out->n_items)) ||
        (rc = promo_report_rows_add(rows, TASK, target, "", "nnz", (double)out->nnz)) ||
        (rc = promo_report_rows_add(rows, TASK, target, p->kind, "train_seconds",
                                    out->train_seconds)) ||
        (rc = promo_report_rows_add_text(rows, TASK, target, "", "model_path", path)))
        goto fail;
    if (out->evaluated &&
        ((rc = promo_report_rows_add_recommend(rows, target, p->kind, &out->model)) ||
         (rc = promo_report_rows_add_recommend(rows, target, "popularity", &out->popularity))))
        goto fail;
    if ((rc = promo_report_write(s, rows)))
        goto fail;
    in_txn = 0;
    if ((rc = promo_store_commit(s)))
        goto fail;
    /* The path as committed (a new workspace's models dir moves at the first commit). */
    promo_free(path);
    path = promo_rec_model_path(s, p->kind);
    if (path)
        snprintf(out->model_path, sizeof out->model_path, "%s", path);
    rc = PROMO_OK;
fail:
    if (in_txn)
        promo_store_rollback(s);
    promo_free(path);
    promo_report_rows_free(rows);
    promo_rec_model_free(m);
    promo_rec_model_free(pop);
    promo_rec_data_free(&tr);
    promo_rec_data_free(&te);
    promo_panel_free(&d);
    return rc;
}
