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

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#define TASK "recommend"

/* ------------------------------------------------------------------- metrics ---- */

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
        if (promo_rec_sorted_contains(relevant, n_relevant, ranked[r])) {
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
                promo_rec_sorted_contains(tr->col_idx + tr->row_ptr[u],
                                          tr->row_ptr[u + 1] - tr->row_ptr[u], j))
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

int promo_rec_split_open(promo_store *s,
                         int64_t as_of,
                         double horizon_days,
                         int n_threads,
                         const char *who,
                         promo_rec_split *out)
{
    memset(out, 0, sizeof *out);
    if (!(horizon_days > 0 && horizon_days <= 3650))
        return promo_fail(PROMO_EUSAGE, "%s: horizon must be in (0, 3650] days", who);
    int rc = promo_panel_load(s, n_threads, &out->panel);
    if (rc)
        return rc;
    int64_t H = (int64_t)(horizon_days * 86400.0);
    if (as_of == 0) /* the last complete window: its end is the day after the last purchase */
        as_of = (out->panel.max_ts / 86400 + 1) * 86400 - H;
    out->as_of = as_of;
    out->horizon_days = horizon_days;
    if (as_of <= out->panel.min_ts) {
        char a[32], first[32], last[32];
        promo_time_format(as_of, 1, a, sizeof a);
        promo_time_format(out->panel.min_ts, 1, first, sizeof first);
        promo_time_format(out->panel.max_ts, 1, last, sizeof last);
        promo_rec_split_free(out);
        return promo_fail(PROMO_EUSAGE,
                          "%s: the held-out window (%g days from %s) leaves no purchases to "
                          "learn from: the purchases run from %s to %s; pass a shorter "
                          "--horizon or an --as-of between them",
                          who, horizon_days, a, first, last);
    }
    if ((rc = promo_store_begin(s))) {
        promo_rec_split_free(out);
        return rc;
    }
    if ((rc = promo_rec_data_workspace(s, &out->panel, as_of, &out->train)) ||
        (rc = promo_rec_data_from_panel(&out->panel, as_of, as_of + H, &out->test))) {
        promo_store_rollback(s);
        promo_rec_split_free(out);
        return rc;
    }
    return PROMO_OK;
}

void promo_rec_split_free(promo_rec_split *sp)
{
    if (!sp)
        return;
    promo_rec_data_free(&sp->train);
    promo_rec_data_free(&sp->test);
    promo_panel_free(&sp->panel);
    memset(sp, 0, sizeof *sp);
}

int promo_rec_split_evaluate(const promo_rec_split *sp,
                             const promo_rec_model *m,
                             const promo_rec_query *q,
                             promo_rec_train_report *r,
                             promo_rec_model **pop_out)
{
    if (pop_out)
        *pop_out = NULL;
    r->as_of = sp->as_of;
    r->horizon_days = sp->horizon_days;
    r->n_users = sp->train.m.n_rows;
    r->n_items = sp->train.m.n_cols;
    r->nnz = sp->train.m.nnz;
    r->evaluated = 0;
    promo_rec_model *pop = NULL;
    int rc = promo_rec_popularity_fit(&sp->train, NULL, &pop);
    if (!rc && sp->test.m.nnz > 0 &&
        !(rc = promo_rec_evaluate(m, &sp->train, &sp->test, q, &r->model)) &&
        !(rc = promo_rec_evaluate(pop, &sp->train, &sp->test, q, &r->popularity)))
        r->evaluated = r->model.n_users > 0;
    if (!rc && pop_out)
        *pop_out = pop;
    else
        promo_rec_model_free(pop);
    return rc;
}

int promo_rec_rows_add_train(promo_report_rows *rows, const promo_rec_train_report *r)
{
    const char *t = r->kind;
    int rc;
    if ((rc = promo_report_rows_add(rows, TASK, t, "", "as_of", (double)r->as_of)) ||
        (rc = promo_report_rows_add(rows, TASK, t, "", "horizon_days", r->horizon_days)) ||
        (rc = promo_report_rows_add(rows, TASK, t, "", "n_users", r->n_users)) ||
        (rc = promo_report_rows_add(rows, TASK, t, "", "n_items", r->n_items)) ||
        (rc = promo_report_rows_add(rows, TASK, t, "", "nnz", (double)r->nnz)) ||
        (rc = promo_report_rows_add(rows, TASK, t, "", "n_events", (double)r->n_events)) ||
        (rc = promo_report_rows_add(rows, TASK, t, t, "train_seconds", r->train_seconds)) ||
        (rc = promo_report_rows_add_text(rows, TASK, t, "", "model_path", r->model_path)))
        return rc;
    if (r->evaluated &&
        ((rc = promo_report_rows_add_recommend(rows, t, t, &r->model)) ||
         (rc = promo_report_rows_add_recommend(rows, t, "popularity", &r->popularity))))
        return rc;
    return PROMO_OK;
}

/* One stored figure into e: model "" (the run), the kind's own, or "popularity". */
static void set_figure(
    promo_rec_evaluation *e, const char *model, const char *metric, double v, const char *text)
{
    promo_rec_train_report *r = &e->r;
    int own = !strcmp(model, r->kind), pop = !strcmp(model, "popularity");
    if (!*model) {
        if (!strcmp(metric, "as_of"))
            r->as_of = isfinite(v) ? (int64_t)v : 0;
        else if (!strcmp(metric, "horizon_days"))
            r->horizon_days = v;
        else if (!strcmp(metric, "n_users"))
            r->n_users = v >= 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
        else if (!strcmp(metric, "n_items"))
            r->n_items = v >= 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
        else if (!strcmp(metric, "nnz"))
            r->nnz = v >= 0 ? (uint64_t)v : 0;
        else if (!strcmp(metric, "n_events"))
            r->n_events = v >= 0 ? (uint64_t)v : 0;
        else if (!strcmp(metric, "model_path") && text)
            snprintf(r->model_path, sizeof r->model_path, "%s", text);
        return;
    }
    if (!own && !pop)
        return;
    promo_rec_metrics *m = own ? &r->model : &r->popularity;
    if (own && !strcmp(metric, "train_seconds")) {
        r->train_seconds = v;
        return;
    }
    if (!strcmp(metric, "n_users")) {
        m->n_users = v >= 0 ? (size_t)v : 0;
        return;
    }
    static const char *const cold[2] = {"cold_user_precision_at_", "cold_item_precision_at_"};
    for (int c = 0; c < 2; c++)
        if (!strncmp(metric, cold[c], strlen(cold[c]))) {
            e->k_cold = (size_t)strtoull(metric + strlen(cold[c]), NULL, 10);
            (c ? e->cold_item_precision : e->cold_user_precision)[own ? 0 : 1] = v;
            return;
        }
    const char *at = strstr(metric, "_at_");
    if (!at)
        return;
    size_t len = (size_t)(at - metric);
    struct {
        const char *name;
        double *field;
    } f[] = {{"precision", &m->precision}, {"recall", &m->recall},
             {"ndcg", &m->ndcg},           {"map", &m->map},
             {"hit_rate", &m->hit_rate},   {"coverage", &m->coverage}};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (strlen(f[i].name) == len && !strncmp(metric, f[i].name, len)) {
            *f[i].field = v;
            m->k = (size_t)strtoull(at + 4, NULL, 10);
        }
}

int promo_rec_evaluations_read(promo_store *s, promo_rec_evaluation **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    promo_table *t = NULL;
    int rc = promo_report_read(s, &t);
    if (rc || !t)
        return rc;
    const promo_column *task = promo_table_column(t, "task"), *tg = promo_table_column(t, "target"),
                       *model = promo_table_column(t, "model"),
                       *metric = promo_table_column(t, "metric"),
                       *value = promo_table_column(t, "value"),
                       *text = promo_table_column(t, "text");
    promo_rec_evaluation *e = promo_calloc(t->n_rows ? t->n_rows : 1, sizeof *e);
    if (!e) {
        promo_table_free(t);
        return PROMO_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(promo_column_str(task, i), TASK) != 0)
            continue;
        const char *target = promo_column_str(tg, i);
        size_t k = 0;
        while (k < n && strcmp(e[k].r.kind, target) != 0)
            k++;
        if (k == n) {
            n++;
            snprintf(e[k].r.kind, sizeof e[k].r.kind, "%s", target);
            e[k].r.model.precision = e[k].r.model.recall = e[k].r.model.ndcg = NAN;
            e[k].r.model.map = e[k].r.model.hit_rate = e[k].r.model.coverage = NAN;
            e[k].r.popularity = e[k].r.model;
            e[k].cold_user_precision[0] = e[k].cold_user_precision[1] = NAN;
            e[k].cold_item_precision[0] = e[k].cold_item_precision[1] = NAN;
        }
        const char *tx = promo_column_is_null(text, i) ? NULL : promo_column_str(text, i);
        double v = promo_column_is_null(value, i) ? NAN : value->f64[i];
        set_figure(&e[k], promo_column_str(model, i), promo_column_str(metric, i), v, tx);
    }
    promo_table_free(t);
    for (size_t k = 0; k < n; k++)
        e[k].r.evaluated = e[k].r.model.n_users > 0;
    if (n == 0) {
        promo_free(e);
        e = NULL;
    }
    *out = e;
    *n_out = n;
    return PROMO_OK;
}

int promo_rec_train_workspace(promo_store *s,
                              const promo_rec_train_params *p,
                              promo_rec_train_report *out)
{
    memset(out, 0, sizeof *out);
    if (!p->kind || !promo_rec_kind_find(p->kind) || !promo_rec_kind_find(p->kind)->fit)
        return promo_fail(PROMO_EUSAGE, "recommend: unknown model '%s'",
                          p->kind ? p->kind : "(null)");
    if (p->k < 1 || p->k > 100000)
        return promo_fail(PROMO_EUSAGE, "recommend: k must be in 1..100000");
    promo_rec_split sp;
    promo_rec_model *m = NULL;
    promo_report_rows *rows = NULL;
    char *path = NULL;
    int rc =
        promo_rec_split_open(s, p->as_of, p->horizon_days, p->model.n_threads, "recommend", &sp);
    if (rc)
        return rc;
    int in_txn = 1;
    promo_rec_data fit; /* what the model learns from: the purchases, with events if asked */
    memset(&fit, 0, sizeof fit);
    snprintf(out->kind, sizeof out->kind, "%s", p->kind);
    if (p->events) {
        double w[PROMO_REC_EVENT_KINDS];
        if ((rc = promo_rec_event_weights_parse(p->events, w)) ||
            (rc = promo_rec_data_add_events(s, &sp.train, w, &fit, &out->n_events)))
            goto fail;
    }
    double t0 = promo_now_s();
    if ((rc = promo_rec_fit(p->kind, p->events ? &fit : &sp.train, &p->model, &m)))
        goto fail;
    out->train_seconds = promo_now_s() - t0;
    promo_rec_query q = promo_rec_query_default();
    q.k = p->k;
    q.exclude_bought = p->exclude_bought;
    q.n_threads = p->model.n_threads;
    if ((rc = promo_rec_split_evaluate(&sp, m, &q, out, NULL)))
        goto fail;
    if (!(path = promo_rec_model_path(s, p->kind))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    snprintf(out->model_path, sizeof out->model_path, "%s", path);
    if ((rc = promo_rec_model_save(m, s, path)) || (rc = promo_report_rows_new(&rows)) ||
        (rc = promo_rec_rows_add_train(rows, out)) || (rc = promo_report_write(s, rows)))
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
    promo_rec_data_free(&fit);
    promo_rec_split_free(&sp);
    return rc;
}
