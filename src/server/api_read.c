/* The read-only routes: health, the product search, a customer's profile, the segments. They
 * answer from the scoring handle's panel and features (loaded once, api.c), the stored
 * `segments` table, and the workspace's recommender when one was trained. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/features.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/scorer.h>
#include <promo/segment.h>
#include <promo/store.h>

#include "server/api.h"
#include "server/api_internal.h"

/* ------------------------------------------------------------------ health ---- */

static long long count_rows(promo_store *s, const char *table)
{
    if (!promo_store_has_table(s, table))
        return 0;
    sqlite3 *db = promo_store_db(s);
    sqlite3_stmt *st = NULL;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    long long n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* 1 if models/ holds a file whose name starts with prefix and ends with suffix. */
static int has_model_in(const char *models, const char *prefix, const char *suffix)
{
    DIR *d = opendir(models);
    struct dirent *e;
    int found = 0;
    size_t np = strlen(prefix), ns = strlen(suffix);
    while (d && !found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        found =
            n >= np + ns && !strncmp(e->d_name, prefix, np) && !strcmp(e->d_name + n - ns, suffix);
    }
    if (d)
        closedir(d);
    return found;
}

int promo_api_health(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    promo_api_ctx *ctx = call->ctx;
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (rc && !ctx->busy)
        return rc;
    char models[4200];
    snprintf(models, sizeof models, "%s/models", api->ws);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "status", "ok");
    cJSON_AddStringToObject(b, "workspace", api->ws);
    if (s) {
        /* Counted once per reload (a count scans the table: seconds on 1M rows), by the first
         * call; the calls that arrive meanwhile wait for it rather than scan too. */
        pthread_mutex_lock(&api->count_mu);
        if (api->n_customers < 0)
            api->n_customers = count_rows(s, "customers");
        if (api->n_products < 0)
            api->n_products = count_rows(s, "products");
        long long nc = api->n_customers, np = api->n_products;
        pthread_mutex_unlock(&api->count_mu);
        cJSON_AddNumberToObject(b, "customers", (double)nc);
        cJSON_AddNumberToObject(b, "products", (double)np);
    } else {
        /* Busy (another command writes the workspace): what the loaded panel holds. */
        promo_scorer *h = NULL;
        promo_api_scorer(api, ctx, &h); /* loaded, or NULL: nothing to count */
        const promo_panel *d = h ? promo_scorer_panel(h) : NULL;
        api_add_num(b, "customers", d && d->customers ? (double)d->customers->n_rows : NAN);
        api_add_num(b, "products", d && d->products ? (double)d->products->n_rows : NAN);
    }
    cJSON *m = cJSON_AddObjectToObject(b, "models");
    cJSON_AddBoolToObject(m, "propensity", has_model_in(models, "propensity_", ".json"));
    cJSON_AddBoolToObject(m, "uplift", has_model_in(models, "uplift.bin", ""));
    cJSON_AddBoolToObject(m, "recommender", has_model_in(models, "rec_", ".bin"));
    if (s) {
        cJSON_AddBoolToObject(b, "generated", promo_store_has_table(s, "truth_customers"));
        char *ver = promo_store_meta_get(s, "data.version");
        api_add_str(b, "data_version", ver);
        promo_free(ver);
    } else {
        cJSON_AddNullToObject(b, "generated");
        cJSON_AddNullToObject(b, "data_version");
    }
    cJSON_AddBoolToObject(b, "busy", ctx->busy);
    cJSON_AddNumberToObject(b, "reloads", (double)api->n_reloads);
    return api_ok(out, b);
}

/* ---------------------------------------------------------------- products ---- */

static const char *col_str(const promo_table *t, const char *name, size_t row)
{
    const promo_column *c = t ? promo_table_column(t, name) : NULL;
    return c && row < c->n && !promo_column_is_null(c, row) ? promo_column_str(c, row) : NULL;
}

static double col_num(const promo_table *t, const char *name, size_t row)
{
    const promo_column *c = t ? promo_table_column(t, name) : NULL;
    if (!c || row >= c->n || promo_column_is_null(c, row) || c->type == PROMO_COL_STRING)
        return NAN;
    return promo_column_num(c, row);
}

static int contains_nocase(const char *hay, const char *needle)
{
    if (!hay)
        return 0;
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return 1;
    return n == 0;
}

typedef struct prod_rank {
    uint32_t row;
    uint32_t orders;
} prod_rank;

static int by_orders_desc(const void *a, const void *b)
{
    const prod_rank *x = a, *y = b;
    if (x->orders != y->orders)
        return x->orders < y->orders ? 1 : -1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* One product as the contract writes it. */
static cJSON *product_json(const promo_panel *d, const promo_features *f, uint32_t r)
{
    cJSON *o = cJSON_CreateObject();
    api_add_str(o, "product_id", col_str(d->products, "product_id", r));
    api_add_str(o, "name", col_str(d->products, "name", r));
    api_add_str(o, "category", col_str(d->products, "category", r));
    api_add_num(o, "price", col_num(d->products, "price", r));
    api_add_num(o, "cost", col_num(d->products, "cost", r));
    cJSON_AddNumberToObject(
        o, "orders",
        f->products.n_orders && r < f->products.n_products ? (double)f->products.n_orders[r] : 0.0);
    return o;
}

int promo_api_products(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    const char *q = call->query ? call->query(call, "query") : NULL;
    const char *lim = call->query ? call->query(call, "limit") : NULL;
    long limit = 20;
    if (q && strlen(q) >= API_ID_MAX)
        return promo_api_fail(out, 400, "query", "longer than %d bytes", API_ID_MAX - 1);
    if (lim) {
        char *end = NULL;
        limit = strtol(lim, &end, 10);
        if (!*lim || *end || limit < 1 || limit > 100)
            return promo_api_fail(out, 400, "limit", "expected a whole number from 1 to 100");
    }
    promo_scorer *h = NULL;
    int rc = promo_api_scorer(api, call->ctx, &h);
    if (rc)
        return promo_api_fail_engine(out, rc, NULL);
    const promo_panel *d = promo_scorer_panel(h);
    const promo_features *f = promo_scorer_features(h);
    size_t n = d->products ? d->products->n_rows : 0, m = 0;
    prod_rank *rk = promo_mallocn(n ? n : 1, sizeof *rk);
    if (!rk)
        return PROMO_ENOMEM;
    for (size_t r = 0; r < n; r++) {
        if (q && *q && !contains_nocase(col_str(d->products, "product_id", r), q) &&
            !contains_nocase(col_str(d->products, "name", r), q) &&
            !contains_nocase(col_str(d->products, "category", r), q))
            continue;
        rk[m].row = (uint32_t)r;
        rk[m++].orders =
            f->products.n_orders && r < f->products.n_products ? f->products.n_orders[r] : 0;
    }
    qsort(rk, m, sizeof *rk, by_orders_desc);
    cJSON *b = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(b, "products");
    for (size_t k = 0; k < m && k < (size_t)limit; k++)
        cJSON_AddItemToArray(arr, product_json(d, f, rk[k].row));
    cJSON_AddNumberToObject(b, "matches", (double)m);
    promo_free(rk);
    return api_ok(out, b);
}

/* ---------------------------------------------------------------- segments ---- */

void api_segments_free(api_segments *g)
{
    if (!g)
        return;
    promo_free(g->seg);
    promo_free(g->persona);
    promo_free(g);
}

/* The stored segments of the first method present (personas, kmeans, hdbscan; tiers are the
 * features' own spend tiers and need no table), by features row. NULL without any. */
static int load_segments(promo_api *api, promo_scorer *h, promo_store *s);

int api_load_segments(promo_api *api, promo_api_ctx *ctx, api_segments **out)
{
    *out = NULL;
    if (__atomic_load_n(&api->segs_loaded, __ATOMIC_ACQUIRE)) {
        *out = api->segs;
        return PROMO_OK;
    }
    promo_scorer *h = NULL;
    int rc = promo_api_scorer(api, ctx, &h);
    if (rc)
        return rc;
    promo_store *s = NULL;
    if ((rc = promo_api_store(api, ctx, &s)))
        return ctx->busy ? PROMO_OK : rc; /* busy: no segments until the writer is done (not
                                              cached) */
    pthread_mutex_lock(&api->load_mu);
    if (!api->segs_loaded && !(rc = load_segments(api, h, s)))
        __atomic_store_n(&api->segs_loaded, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&api->load_mu);
    *out = rc ? NULL : api->segs;
    return rc;
}

/* Under load_mu. */
static int load_segments(promo_api *api, promo_scorer *h, promo_store *s)
{
    int rc;
    if (!promo_store_has_table(s, "segments"))
        return PROMO_OK;
    promo_table *t = NULL;
    if ((rc = promo_store_read_table(s, "segments", &t)))
        return rc;
    const promo_column *cid = promo_table_column(t, "customer_id"),
                       *cm = promo_table_column(t, "method"),
                       *cs = promo_table_column(t, "segment"),
                       *cp = promo_table_column(t, "persona");
    static const char *const order[] = {"personas", "kmeans", "hdbscan"};
    const char *method = NULL;
    for (size_t k = 0; k < 3 && !method && cid && cm && cs; k++)
        for (size_t r = 0; r < t->n_rows && !method; r++) {
            const char *mv = promo_column_str(cm, r);
            if (mv && !strcmp(mv, order[k]))
                method = order[k];
        }
    api_segments *g = NULL;
    if (method) {
        const promo_features *f = promo_scorer_features(h);
        g = promo_calloc(1, sizeof *g);
        int max_id = -1;
        for (size_t r = 0; r < t->n_rows; r++) {
            const char *mv = promo_column_str(cm, r);
            double v = promo_column_num(cs, r);
            if (mv && !strcmp(mv, method) && isfinite(v) && v > max_id && v < 4096)
                max_id = (int)v;
        }
        if (g) {
            snprintf(g->method, sizeof g->method, "%s", method);
            g->n_rows = f->n_customers;
            g->n_ids = max_id + 1;
            g->seg = promo_mallocn(f->n_customers ? f->n_customers : 1, sizeof *g->seg);
            g->persona = promo_calloc((size_t)g->n_ids + 1, sizeof *g->persona);
        }
        if (!g || !g->seg || !g->persona) {
            api_segments_free(g);
            promo_table_free(t);
            return PROMO_ENOMEM;
        }
        for (size_t i = 0; i < f->n_customers; i++)
            g->seg[i] = INT32_MIN;
        for (size_t r = 0; r < t->n_rows; r++) {
            const char *mv = promo_column_str(cm, r), *id = promo_column_str(cid, r);
            double v = promo_column_num(cs, r);
            if (!mv || strcmp(mv, method) || !id || !isfinite(v) || v < -1 || v > max_id)
                continue;
            uint32_t row = promo_api_customer_row(api, id);
            if (row == UINT32_MAX)
                continue;
            g->seg[row] = (int32_t)v;
            const char *pv = cp ? col_str(t, "persona", r) : NULL;
            size_t slot = v < 0 ? (size_t)g->n_ids : (size_t)v;
            if (pv && !g->persona[slot][0])
                snprintf(g->persona[slot], sizeof g->persona[slot], "%s", pv);
        }
    }
    promo_table_free(t);
    api->segs = g;
    return PROMO_OK;
}

int promo_api_segments(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    (void)call;
    promo_scorer *h = NULL;
    api_segments *g = NULL;
    int rc = promo_api_scorer(api, call->ctx, &h);
    if (!rc)
        rc = api_load_segments(api, call->ctx, &g);
    if (rc)
        return promo_api_fail_engine(out, rc, NULL);
    const promo_features *f = promo_scorer_features(h);
    int jm = promo_features_column(f, "monetary"), jf = promo_features_column(f, "frequency");
    /* Groups: the stored segments (noise last, as id -1), else the spend tiers, VIP first. */
    int n_groups = g ? g->n_ids + 1 : PROMO_TIER_COUNT;
    size_t *count = promo_calloc((size_t)n_groups, sizeof *count);
    double *spend = promo_calloc((size_t)n_groups, sizeof *spend),
           *orders = promo_calloc((size_t)n_groups, sizeof *orders);
    size_t(*tiers)[PROMO_TIER_COUNT] = promo_calloc((size_t)n_groups, sizeof *tiers);
    cJSON *b = NULL;
    if (!count || !spend || !orders || !tiers) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    size_t total = 0;
    for (size_t i = 0; i < f->n_customers; i++) {
        int k;
        if (g) {
            if (g->seg[i] == INT32_MIN)
                continue;
            k = g->seg[i] < 0 ? g->n_ids : g->seg[i];
        } else {
            k = PROMO_TIER_VIP - f->spend_tier[i];
        }
        float ms = jm >= 0 ? f->X[i * f->n_features + (size_t)jm] : NAN;
        float fr = jf >= 0 ? f->X[i * f->n_features + (size_t)jf] : NAN;
        count[k]++;
        total++;
        spend[k] += isfinite(ms) ? ms : 0;
        orders[k] += isfinite(fr) ? fr : 0;
        if (f->spend_tier[i] < PROMO_TIER_COUNT)
            tiers[k][f->spend_tier[i]]++;
    }
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "method", g ? g->method : "tiers");
    if (!g)
        cJSON_AddStringToObject(b, "note",
                                "spend tiers from the features; for personas run: "
                                "promo segment --ws DIR --method personas");
    cJSON *arr = cJSON_AddArrayToObject(b, "segments");
    for (int k = 0; k < n_groups; k++) {
        if (!count[k])
            continue;
        cJSON *o = cJSON_CreateObject();
        int id = g ? (k == g->n_ids ? -1 : k) : PROMO_TIER_VIP - k;
        cJSON_AddNumberToObject(o, "id", id);
        int top = 0;
        for (int t = 1; t < PROMO_TIER_COUNT; t++)
            if (tiers[k][t] > tiers[k][top])
                top = t;
        api_add_str(o, "persona", g && g->persona[k][0] ? g->persona[k] : NULL);
        cJSON_AddStringToObject(o, "tier", promo_spend_tier_name(g ? top : id));
        cJSON_AddNumberToObject(o, "customers", (double)count[k]);
        cJSON_AddNumberToObject(o, "share", total ? (double)count[k] / (double)total : 0.0);
        api_add_num(o, "mean_spend", spend[k] / (double)count[k]);
        api_add_num(o, "mean_orders", orders[k] / (double)count[k]);
        cJSON_AddItemToArray(arr, o);
    }
    rc = api_ok(out, b);
    b = NULL;
done:
    cJSON_Delete(b);
    promo_free(count);
    promo_free(spend);
    promo_free(orders);
    promo_free(tiers);
    return rc;
}

/* ---------------------------------------------------------------- customer ---- */

/* Up to k recommendations for features row `row` from the workspace's recommender. */
static int
add_recommendations(promo_api *api, promo_api_ctx *ctx, const char *id, cJSON *arr, size_t k)
{
    promo_rec_model *m = NULL;
    int rc = promo_api_recommender(api, ctx, &m);
    if (rc || !m)
        return rc;
    const promo_rec_data *hist = api->rec_hist;
    uint32_t u = promo_rec_data_customer(hist, id);
    if (u == PROMO_REC_NONE)
        return PROMO_OK;
    promo_rec_query q = promo_rec_query_default();
    q.k = k;
    q.history = &hist->m;
    q.n_threads = 1;
    promo_rec_topk top = {0};
    pthread_mutex_lock(&api->engine_mu);
    rc = promo_rec_topk_users(m, &q, &u, 1, &top);
    pthread_mutex_unlock(&api->engine_mu);
    if (rc)
        return rc;
    const promo_dict *items = promo_rec_model_items(m);
    const promo_panel *d = promo_scorer_panel(api->scorer);
    for (size_t r = 0; r < top.k; r++) {
        uint32_t j = top.items[r];
        if (j == PROMO_REC_NONE || !items)
            break;
        const char *pid = promo_dict_key(items, j);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "product_id", pid);
        uint32_t prow = api_product_row(api, pid);
        api_add_str(o, "name", prow != UINT32_MAX ? col_str(d->products, "name", prow) : NULL);
        api_add_num(o, "score", (double)top.scores[r]);
        cJSON_AddItemToArray(arr, o);
    }
    promo_rec_topk_free(&top);
    return PROMO_OK;
}

/* The reasons of the customer's propensity to buy anything (the `any` model), when trained. */
static int add_reasons(promo_api *api, promo_api_ctx *ctx, const char *id, cJSON *arr)
{
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (rc)
        return ctx->busy ? PROMO_OK : rc; /* busy: the model's path needs the store */
    pthread_mutex_lock(&api->engine_mu);
    api_scorer_lend(api, ctx);
    promo_scorer *h = api->scorer;
    promo_prop_explanation *e = NULL;
    rc = promo_scorer_retarget(h, "any");
    if (!rc)
        rc = promo_scorer_explain_one(h, id, &e);
    api_scorer_unlend(api, ctx);
    pthread_mutex_unlock(&api->engine_mu);
    if (rc == PROMO_ENOTFOUND || rc == PROMO_EINPUT)
        return PROMO_OK; /* no model, or not a customer it scores: no reasons */
    if (rc)
        return rc;
    promo_reason rs[3];
    size_t n = 0;
    if (!(rc = promo_explain_reasons(e, 3, rs, &n)))
        for (size_t k = 0; k < n; k++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(rs[k].text));
    promo_prop_explanation_free(e);
    return rc;
}

int promo_api_customer(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    const char *id = call->path_param;
    if (!id || !*id || strlen(id) >= API_ID_MAX)
        return promo_api_fail(out, 400, "id", "expected a customer id of 1 to %d bytes",
                              API_ID_MAX - 1);
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p < 0x20)
            return promo_api_fail(out, 400, "id", "control character in the customer id");
    promo_scorer *h = NULL;
    int rc = promo_api_scorer(api, call->ctx, &h);
    if (rc)
        return promo_api_fail_engine(out, rc, NULL);
    uint32_t row = promo_api_customer_row(api, id);
    if (row == UINT32_MAX)
        return promo_api_fail(out, 404, "id", "no customer '%s' in this workspace", id);
    const promo_features *f = promo_scorer_features(h);
    const promo_panel *d = promo_scorer_panel(h);
    uint32_t trow = api->cust_table_row[row];
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "customer_id", id);
    api_add_str(b, "name", trow != UINT32_MAX ? col_str(d->customers, "name", trow) : NULL);
    api_add_str(b, "location", trow != UINT32_MAX ? col_str(d->customers, "location", trow) : NULL);
    api_segments *g = NULL;
    if ((rc = api_load_segments(api, call->ctx, &g)))
        goto fail;
    if (g && g->seg[row] != INT32_MIN) {
        cJSON *s = cJSON_AddObjectToObject(b, "segment");
        int32_t v = g->seg[row];
        cJSON_AddNumberToObject(s, "id", v);
        const char *p = g->persona[v < 0 ? g->n_ids : v];
        api_add_str(s, "persona", p[0] ? p : NULL);
        cJSON_AddStringToObject(s, "method", g->method);
    } else {
        cJSON_AddNullToObject(b, "segment");
    }
    cJSON_AddStringToObject(b, "tier", promo_spend_tier_name(f->spend_tier[row]));
    double clv = NAN;
    for (size_t j = 0; j < f->n_features; j++)
        if (!strncmp(f->feature_names[j], "clv_", 4)) {
            clv = f->X[(size_t)row * f->n_features + j];
            break;
        }
    api_add_num(b, "clv", clv);
    cJSON *recs = cJSON_AddArrayToObject(b, "recommendations");
    if ((rc = add_recommendations(api, call->ctx, id, recs, 5)))
        goto fail;
    cJSON *reasons = cJSON_AddArrayToObject(b, "reasons");
    if ((rc = add_reasons(api, call->ctx, id, reasons)))
        goto fail;
    return api_ok(out, b);
fail:
    cJSON_Delete(b);
    return rc;
}
