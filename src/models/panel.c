/* src/models/panel.c: from workspace tables to model rows (include/promo/panel.h).
 *
 * Built once per command: the tables, and a per-customer purchase index (one entry per
 * (customer, item, order), sorted by item then time; one keyed by product, one by category).
 * Everything windowed (a customer's orders of an item in the last 30/90/365 days, days since
 * the last one, labels in [cutoff, cutoff + H)) is two binary searches in that index, so any
 * number of cutoffs reuse it. Customer features come from features.h at each cutoff.
 *
 * Negative sampling for pair models (customer x item): positives and items the customer bought
 * before are kept (they are the informative negatives); the other items are kept with
 * probability r, chosen per window so that they number about neg_per_pos per positive, and
 * weighted 1/r so that weighted sums (XGBoost's loss, the calibration) estimate the full
 * population. Each customer draws from its own RNG stream, so the rows do not depend on the
 * thread count or on the other customers.
 */
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/uplift_ws.h>

/* ------------------------------------------------------------------ tables ---- */

static int read_opt(promo_store *s, const char *name, promo_table **out)
{
    *out = NULL;
    if (!promo_store_has_table(s, name))
        return PROMO_OK;
    return promo_store_read_table(s, name, out);
}

void promo_panel_free(promo_panel *d)
{
    if (!d)
        return;
    promo_table_free(d->customers);
    promo_table_free(d->products);
    promo_table_free(d->transactions);
    promo_table_free(d->stores);
    promo_table_free(d->promotions);
    promo_table_free(d->exposures);
    promo_table_free(d->responses);
    if (d->cat_names)
        for (uint32_t k = 0; k < d->n_cats; k++)
            promo_free(d->cat_names[k]);
    promo_free(d->cat_names);
    promo_free(d->prod_cat);
    promo_free(d->by_prod.ptr);
    promo_free(d->by_prod.item);
    promo_free(d->by_prod.ts);
    promo_free(d->by_cat.ptr);
    promo_free(d->by_cat.item);
    promo_free(d->by_cat.ts);
    memset(d, 0, sizeof *d);
}

typedef struct ev {
    uint32_t key, item, order, pad;
    int64_t ts;
} ev;

/* Within one key: by item, time, order. Inline: glibc's qsort calls its comparator through
 * a pointer, and those calls were most of the sort's time. */
static inline int ev_less(const ev *x, const ev *y)
{
    if (x->item != y->item)
        return x->item < y->item;
    if (x->ts != y->ts)
        return x->ts < y->ts;
    return x->order < y->order;
}

/* Stable merge sort of a[0..n) by ev_less, s[0..n) scratch; the result is in a. */
static void sort_run(ev *a, ev *s, size_t n)
{
    enum { RUN = 16 };
    for (size_t lo = 0; lo < n; lo += RUN) {
        size_t hi = lo + RUN < n ? lo + RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            ev v = a[i];
            size_t j = i;
            for (; j > lo && ev_less(&v, &a[j - 1]); j--)
                a[j] = a[j - 1];
            a[j] = v;
        }
    }
    ev *src = a, *dst = s;
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = ev_less(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        ev *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* e sorted by (key, item, ts, order): bucketed by key (a counting sort), then each key's run
 * sorted; the same order as one qsort over the four fields (a total order up to equal events)
 * at a fraction of the cost (the qsort was a sixth of `promo score`'s CPU on Online Retail). */
static int sort_events(ev *e, size_t n, uint32_t n_keys)
{
    uint64_t *at = promo_calloc((size_t)n_keys + 1, sizeof *at);
    ev *tmp = promo_mallocn(n ? n : 1, sizeof *tmp);
    if (!at || !tmp) {
        promo_free(at);
        promo_free(tmp);
        return PROMO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        at[e[i].key + 1]++;
    for (uint32_t k = 0; k < n_keys; k++)
        at[k + 1] += at[k];
    for (size_t i = 0; i < n; i++)
        tmp[at[e[i].key]++] = e[i];
    /* at[k] is now the end of key k's run; e is free to serve as the scratch. */
    for (uint64_t lo = 0, k = 0; k < n_keys; k++) {
        sort_run(tmp + lo, e + lo, at[k] - lo);
        lo = at[k];
    }
    memcpy(e, tmp, n * sizeof *e);
    promo_free(at);
    promo_free(tmp);
    return PROMO_OK;
}

/* Sort events and keep one per (key, item, order) in idx. */
static int build_index(ev *e, size_t n, uint32_t n_keys, promo_panel_index *idx)
{
    if (sort_events(e, n, n_keys))
        return PROMO_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && e[m - 1].key == e[i].key && e[m - 1].item == e[i].item &&
            e[m - 1].order == e[i].order)
            continue;
        e[m++] = e[i];
    }
    idx->ptr = promo_calloc((size_t)n_keys + 1, sizeof *idx->ptr);
    idx->item = promo_mallocn(m ? m : 1, sizeof *idx->item);
    idx->ts = promo_mallocn(m ? m : 1, sizeof *idx->ts);
    if (!idx->ptr || !idx->item || !idx->ts)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < m; i++) {
        idx->ptr[e[i].key + 1]++;
        idx->item[i] = e[i].item;
        idx->ts[i] = e[i].ts;
    }
    for (uint32_t k = 0; k < n_keys; k++)
        idx->ptr[k + 1] += idx->ptr[k];
    return PROMO_OK;
}

static double col_num(const promo_column *c, size_t r)
{
    return promo_column_num(c, r);
}

static int finish_tables(promo_store *s, promo_panel *d);

/* A retailer whose data has no catalogue (CDNOW: only customers, dates and amounts) still has
 * products: the distinct product ids of its transactions, without category or price, as the
 * features derive customers when the customers table is absent. */
static int products_from_transactions(promo_panel *d)
{
    const promo_column *id = promo_table_column(d->transactions, "product_id");
    if (!id || id->type != PROMO_COL_STRING)
        return PROMO_OK; /* the features' own check names what is missing */
    promo_table *t = promo_table_new("products");
    promo_column *c = NULL;
    uint32_t n = promo_dict_size(id->dict);
    int rc = t ? promo_table_add_column(t, "product_id", PROMO_COL_STRING, &c) : PROMO_ENOMEM;
    for (uint32_t k = 0; !rc && k < n; k++) {
        const char *key = promo_dict_key(id->dict, k);
        rc = promo_column_push_str(c, key, strlen(key));
    }
    if (!rc)
        rc = promo_table_seal(t);
    if (rc) {
        promo_table_free(t);
        return rc;
    }
    d->products = t;
    return PROMO_OK;
}

int promo_panel_load_tables(promo_store *s, int n_threads, promo_panel *d)
{
    memset(d, 0, sizeof *d);
    d->n_threads = n_threads;
    int rc;
    if ((rc = read_opt(s, "customers", &d->customers)) ||
        (rc = read_opt(s, "products", &d->products)) ||
        (rc = read_opt(s, "transactions", &d->transactions)) ||
        (rc = read_opt(s, "stores", &d->stores)) ||
        (rc = read_opt(s, "promotions", &d->promotions)) ||
        (rc = read_opt(s, "exposures", &d->exposures)) ||
        (rc = read_opt(s, "responses", &d->responses)))
        goto fail;
    return finish_tables(s, d);
fail:
    promo_panel_free(d);
    return rc;
}

/* Shared tail of the two table loaders: the required tables, and the views in d->in. */
static int finish_tables(promo_store *s, promo_panel *d)
{
    int rc;
    if (!d->products && d->transactions && (rc = products_from_transactions(d)))
        goto fail;
    if (!d->products || !d->transactions) {
        rc = promo_fail(PROMO_ENOTFOUND,
                        "workspace %s has no %s table (run promo ingest or promo generate "
                        "first)",
                        promo_store_ws_dir(s), d->products ? "transactions" : "products");
        goto fail;
    }
    d->in.customers = d->customers && d->customers->n_rows ? d->customers : NULL;
    d->in.products = d->products;
    d->in.transactions = d->transactions;
    d->in.stores = d->stores;
    d->in.promotions = d->promotions;
    d->in.exposures = d->exposures;
    d->in.responses = d->responses;
    return PROMO_OK;
fail:
    promo_panel_free(d);
    return rc;
}

/* The columns the feature code reads (fx_need_col / fx_opt_col in src/features/), per table;
 * a workspace may lack the optional ones. */
static const char *const FX_TX_COLS[] = {"order_id",     "customer_id", "product_id", "store_id",
                                         "ts",           "quantity",    "unit_price", "discount",
                                         "promotion_id", "channel"};
static const char *const FX_EXP_COLS[] = {"promotion_id", "customer_id", "ts", "arm"};
static const char *const FX_RESP_COLS[] = {"promotion_id", "customer_id", "ts", "converted"};
static const char *const FX_CUST_COLS[] = {"customer_id", "signup_date"};

typedef struct want_cols {
    const char *const *want;
    size_t n_want;
    uint8_t have[16];
} want_cols;

static int mark_col(void *ctx, int n_cols, const char *const *names, const char *const *values)
{
    (void)names;
    want_cols *w = ctx;
    for (size_t k = 0; n_cols > 0 && values[0] && k < w->n_want; k++)
        if (strcmp(values[0], w->want[k]) == 0)
            w->have[k] = 1;
    return 0;
}

/* Table `name` (NULL when absent) with only those of want[] it has: read_table minus the
 * other columns. Every row is read, so the store checks every row as read_table does (a
 * timestamp outside 1900..2199 in a promo.db changed by other means is refused, also after
 * the cutoff; a ts range read would skip such rows and whole chunks unchecked). */
static int read_pruned(
    promo_store *s, const char *name, const char *const *want, size_t n_want, promo_table **out)
{
    *out = NULL;
    if (!promo_store_has_table(s, name))
        return PROMO_OK;
    want_cols w = {want, n_want, {0}};
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s')", name);
    int rc = promo_store_query(s, sql, mark_col, &w);
    if (rc)
        return rc;
    const char *cols[16];
    size_t n = 0;
    for (size_t k = 0; k < n_want; k++)
        if (w.have[k])
            cols[n++] = want[k];
    if (n == 0) /* none of them: what the features will report is the table's own columns */
        return promo_store_read_table(s, name, out);
    return promo_store_read_columns(s, name, cols, n, out);
}

int promo_panel_load_for_features(promo_store *s, int n_threads, promo_panel *d)
{
    memset(d, 0, sizeof *d);
    d->n_threads = n_threads;
    int rc;
    if ((rc = read_pruned(s, "customers", FX_CUST_COLS, 2, &d->customers)) ||
        (rc = read_opt(s, "products", &d->products)) ||
        (rc = read_pruned(s, "transactions", FX_TX_COLS, sizeof FX_TX_COLS / sizeof *FX_TX_COLS,
                          &d->transactions)) ||
        (rc = read_opt(s, "stores", &d->stores)) ||
        (rc = read_opt(s, "promotions", &d->promotions)) ||
        (rc = read_pruned(s, "exposures", FX_EXP_COLS, 4, &d->exposures)) ||
        (rc = read_pruned(s, "responses", FX_RESP_COLS, 4, &d->responses)))
        goto fail;
    return finish_tables(s, d);
fail:
    promo_panel_free(d);
    return rc;
}

int promo_panel_load(promo_store *s, int n_threads, promo_panel *d)
{
    int rc;
    ev *e = NULL;
    uint32_t *tx_prod = NULL;
    if ((rc = promo_panel_load_tables(s, n_threads, d)))
        return rc;
    const promo_table *t = d->transactions;
    const promo_column *cust = promo_table_column(t, "customer_id"),
                       *prod = promo_table_column(t, "product_id"),
                       *ts = promo_table_column(t, "ts"), *qty = promo_table_column(t, "quantity"),
                       *price = promo_table_column(t, "unit_price"),
                       *order = promo_table_column(t, "order_id");
    d->prod_id = promo_table_column(d->products, "product_id");
    if (!cust || cust->type != PROMO_COL_STRING || !prod || prod->type != PROMO_COL_STRING || !ts ||
        ts->type != PROMO_COL_TIMESTAMP || !qty || !price || !order ||
        order->type != PROMO_COL_STRING || !d->prod_id || d->prod_id->type != PROMO_COL_STRING) {
        rc = promo_fail(PROMO_EINPUT, "propensity: transactions need customer_id, product_id, "
                                      "order_id (strings), ts, quantity, unit_price; products "
                                      "needs product_id");
        goto fail;
    }
    d->tx_cust = cust;
    d->n_keys = promo_dict_size(cust->dict);
    d->n_products = (uint32_t)d->products->n_rows;
    const promo_column *pn = promo_table_column(d->products, "name");
    d->prod_name = pn && pn->type == PROMO_COL_STRING ? pn : NULL;

    /* Categories: products.category values in dictionary order, then "unknown" if needed. */
    const promo_column *pc = promo_table_column(d->products, "category");
    if (pc && pc->type != PROMO_COL_STRING)
        pc = NULL;
    uint32_t n_named = pc ? promo_dict_size(pc->dict) : 0;
    int need_unknown = !pc || pc->n_null > 0;
    d->n_cats = n_named + (need_unknown ? 1 : 0);
    d->cat_names = promo_calloc(d->n_cats ? d->n_cats : 1, sizeof *d->cat_names);
    d->prod_cat = promo_mallocn(d->n_products ? d->n_products : 1, sizeof *d->prod_cat);
    rc = PROMO_ENOMEM;
    if (!d->cat_names || !d->prod_cat)
        goto fail;
    for (uint32_t k = 0; k < n_named; k++)
        if (!(d->cat_names[k] = promo_strdup(promo_dict_key(pc->dict, k))))
            goto fail;
    if (need_unknown && !(d->cat_names[n_named] = promo_strdup("unknown")))
        goto fail;
    for (uint32_t r = 0; r < d->n_products; r++)
        d->prod_cat[r] = pc && !promo_column_is_null(pc, r) ? pc->codes[r] : n_named;

    /* Product of each transactions.product_id code (products rows). */
    uint32_t np_codes = promo_dict_size(prod->dict);
    tx_prod = promo_mallocn(np_codes ? np_codes : 1, sizeof *tx_prod);
    if (!tx_prod)
        goto fail;
    {
        uint32_t *row_of = promo_mallocn(promo_dict_size(d->prod_id->dict) + 1, sizeof *row_of);
        if (!row_of)
            goto fail;
        memset(row_of, 0xff, (promo_dict_size(d->prod_id->dict) + 1) * sizeof *row_of);
        for (uint32_t r = 0; r < d->n_products; r++)
            if (!promo_column_is_null(d->prod_id, r))
                row_of[d->prod_id->codes[r]] = r;
        for (uint32_t k = 0; k < np_codes; k++) {
            uint32_t c = promo_dict_find(d->prod_id->dict, promo_dict_key(prod->dict, k),
                                         promo_dict_key_len(prod->dict, k));
            tx_prod[k] = c == PROMO_DICT_NONE ? PROMO_PANEL_NONE : row_of[c];
        }
        promo_free(row_of);
    }

    /* Purchase lines, the same filter as features.h: ts known, quantity > 0, price >= 0. */
    e = promo_mallocn(t->n_rows ? t->n_rows : 1, sizeof *e);
    if (!e)
        goto fail;
    size_t n = 0;
    d->min_ts = INT64_MAX;
    d->max_ts = INT64_MIN;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(ts, r) || promo_column_is_null(cust, r) ||
            promo_column_is_null(prod, r))
            continue;
        double q = col_num(qty, r), p = col_num(price, r);
        if (!(q > 0) || !(p >= 0) || !isfinite(q) || !isfinite(p))
            continue;
        uint32_t x = tx_prod[prod->codes[r]];
        if (x == PROMO_PANEL_NONE)
            continue;
        e[n].key = cust->codes[r];
        e[n].item = x;
        /* A line without an order id is its own order (codes above the dictionary's). */
        e[n].order = promo_column_is_null(order, r) ? promo_dict_size(order->dict) + (uint32_t)r
                                                    : order->codes[r];
        e[n].pad = 0;
        e[n].ts = ts->i64[r];
        if (e[n].ts < d->min_ts)
            d->min_ts = e[n].ts;
        if (e[n].ts > d->max_ts)
            d->max_ts = e[n].ts;
        n++;
    }
    if (n == 0) {
        rc = promo_fail(PROMO_EINPUT, "propensity: no purchase lines (quantity > 0 with a "
                                      "timestamp, a customer and a known product)");
        goto fail;
    }
    if ((rc = build_index(e, n, d->n_keys, &d->by_prod)))
        goto fail;
    /* The same events keyed by category: rebuild items, re-sort, dedupe per order. */
    {
        /* e[0..m) holds the deduplicated, sorted events (build_index compacted it). */
        size_t m = d->by_prod.ptr[d->n_keys];
        for (size_t i = 0; i < m; i++)
            e[i].item = d->prod_cat[e[i].item];
        if ((rc = build_index(e, m, d->n_keys, &d->by_cat)))
            goto fail;
    }
    promo_free(e);
    promo_free(tx_prod);
    return PROMO_OK;
fail:
    promo_free(e);
    promo_free(tx_prod);
    promo_panel_free(d);
    return rc ? rc : PROMO_ENOMEM;
}

/* Levenshtein distance of a and b, capped: any value > cap is returned as cap + 1. */
static size_t edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap + 1;
    if ((la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0], best = row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t v = sub < up + 1 ? sub : up + 1;
            row[j] = v < row[j - 1] + 1 ? v : row[j - 1] + 1;
            diag = up;
            if (row[j] < best)
                best = row[j];
        }
        if (best > cap)
            return cap + 1;
    }
    return row[lb];
}

/* Lower-case copy of s into out (n bytes). */
static void lower(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; s[k] && k + 1 < n; k++)
        out[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] - 'A' + 'a' : s[k]);
    out[k] = 0;
}

void promo_panel_nearest(const char *const *keys, size_t n_keys, const char *s, char *out, size_t n)
{
    out[0] = 0;
    char ls[72], lk[72];
    lower(s, ls, sizeof ls);
    size_t cap = strlen(s) / 3 > 2 ? strlen(s) / 3 : 2, best = cap + 1;
    for (size_t i = 0; i < n_keys; i++) {
        if (!keys[i])
            continue;
        lower(keys[i], lk, sizeof lk);
        size_t dist = strcmp(ls, lk) == 0 ? 0 : edit_distance(ls, lk, cap);
        if (dist < best) {
            best = dist;
            snprintf(out, n, "%s", keys[i]);
            if (dist == 0)
                return;
        }
    }
}

/* " (did you mean 'X'?)" for the nearest of keys to s, or "". */
static void suggestion(const char *const *keys, size_t n_keys, const char *s, char *out, size_t n)
{
    char near[256];
    promo_panel_nearest(keys, n_keys, s, near, sizeof near);
    if (near[0])
        snprintf(out, n, " (did you mean '%s'?)", near);
    else
        out[0] = 0;
}

int promo_panel_target_parse(const promo_panel *d, const char *s, promo_panel_target *out)
{
    out->item = PROMO_PANEL_NONE;
    if (!s || !*s)
        return promo_fail(PROMO_EUSAGE, "propensity: empty target (expected any, product:ID "
                                        "or category:NAME)");
    if (strcmp(s, "any") == 0) {
        out->kind = PROMO_PANEL_ANY;
        return PROMO_OK;
    }
    if (strncmp(s, "product:", 8) == 0) {
        out->kind = PROMO_PANEL_PRODUCT;
        uint32_t c = promo_dict_find(d->prod_id->dict, s + 8, strlen(s + 8));
        if (c != PROMO_DICT_NONE)
            for (uint32_t r = 0; r < d->n_products; r++)
                if (!promo_column_is_null(d->prod_id, r) && d->prod_id->codes[r] == c) {
                    out->item = r;
                    return PROMO_OK;
                }
        size_t nk = promo_dict_size(d->prod_id->dict);
        const char **keys = promo_mallocn(nk ? nk : 1, sizeof *keys);
        char hint[300] = "";
        if (keys) {
            for (size_t k = 0; k < nk; k++)
                keys[k] = promo_dict_key(d->prod_id->dict, (uint32_t)k);
            suggestion(keys, nk, s + 8, hint, sizeof hint);
            promo_free(keys);
        }
        return promo_fail(PROMO_ENOTFOUND, "propensity: unknown product '%s'%s", s + 8, hint);
    }
    if (strncmp(s, "category:", 9) == 0) {
        out->kind = PROMO_PANEL_CATEGORY;
        for (uint32_t k = 0; k < d->n_cats; k++)
            if (strcmp(d->cat_names[k], s + 9) == 0) {
                out->item = k;
                return PROMO_OK;
            }
        char hint[300];
        suggestion((const char *const *)d->cat_names, d->n_cats, s + 9, hint, sizeof hint);
        return promo_fail(PROMO_ENOTFOUND, "propensity: unknown category '%s'%s", s + 9, hint);
    }
    return promo_fail(PROMO_EUSAGE,
                      "propensity: target '%s': expected any, product:ID or "
                      "category:NAME",
                      s);
}

/* ------------------------------------------------------------------ cutoffs ---- */

void promo_panel_cut_free(promo_panel_cut *c)
{
    if (!c)
        return;
    promo_features_free(c->f);
    promo_free(c->key);
    promo_free(c->fcat);
    promo_free(c->item_pop30);
    promo_free(c->item_pop90);
    promo_free(c->cat_pop30);
    promo_free(c->cat_pop90);
    memset(c, 0, sizeof *c);
}

int promo_panel_cut_build(const promo_panel *d, int64_t as_of, promo_panel_cut *c)
{
    memset(c, 0, sizeof *c);
    c->as_of = as_of;
    promo_feature_params fp = promo_feature_params_default();
    fp.as_of = as_of;
    fp.n_threads = d->n_threads;
    fp.elasticity = 0; /* no row reads it */
    int rc = promo_features_compute(&d->in, &fp, &c->f);
    if (rc)
        return rc;
    const promo_features *f = c->f;
    c->key = promo_mallocn(f->n_customers ? f->n_customers : 1, sizeof *c->key);
    c->fcat = promo_mallocn(d->n_cats ? d->n_cats : 1, sizeof *c->fcat);
    size_t n_items = d->n_products > d->n_cats ? d->n_products : d->n_cats;
    c->item_pop30 = promo_calloc(n_items ? n_items : 1, sizeof *c->item_pop30);
    c->item_pop90 = promo_calloc(n_items ? n_items : 1, sizeof *c->item_pop90);
    c->cat_pop30 = promo_calloc(d->n_cats ? d->n_cats : 1, sizeof *c->cat_pop30);
    c->cat_pop90 = promo_calloc(d->n_cats ? d->n_cats : 1, sizeof *c->cat_pop90);
    if (!c->key || !c->fcat || !c->item_pop30 || !c->item_pop90 || !c->cat_pop30 || !c->cat_pop90) {
        promo_panel_cut_free(c);
        return PROMO_ENOMEM;
    }
    for (size_t i = 0; i < f->n_customers; i++) {
        const char *id = promo_features_customer_id(f, i);
        uint32_t k = promo_dict_find(d->tx_cust->dict, id, strlen(id));
        c->key[i] = k == PROMO_DICT_NONE ? PROMO_PANEL_NONE : k;
    }
    for (uint32_t k = 0; k < d->n_cats; k++) {
        c->fcat[k] = PROMO_PANEL_NONE;
        for (uint32_t j = 0; j < f->n_categories; j++)
            if (strcmp(f->category_names[j], d->cat_names[k]) == 0)
                c->fcat[k] = j;
    }
    /* Item popularity: orders of each product in the last 30 and 90 days (all customers with
     * an id; anonymous lines are not in the index). */
    const promo_panel_index *ix = &d->by_prod;
    int64_t t30 = as_of - 30 * PROMO_PANEL_DAY, t90 = as_of - 90 * PROMO_PANEL_DAY;
    for (uint32_t k = 0; k < d->n_keys; k++)
        for (uint64_t i = ix->ptr[k]; i < ix->ptr[k + 1]; i++) {
            int64_t ts = ix->ts[i];
            if (ts >= as_of || ts < t90)
                continue;
            c->item_pop90[ix->item[i]] += 1.0f;
            c->cat_pop90[d->prod_cat[ix->item[i]]] += 1.0f;
            if (ts >= t30) {
                c->item_pop30[ix->item[i]] += 1.0f;
                c->cat_pop30[d->prod_cat[ix->item[i]]] += 1.0f;
            }
        }
    return PROMO_OK;
}

/* ------------------------------------------------------------------ layout ---- */

static const char *const product_cols[] = {
    "item_orders_30d",   "item_orders_90d",   "item_orders_365d", "item_orders_all",
    "item_days_since",   "item_order_share",  "cat_orders_30d",   "cat_orders_90d",
    "cat_orders_365d",   "cat_days_since",    "cat_share",        "item_affinity",
    "item_pop_30d",      "item_pop_90d",      "item_buyers",      "item_repeat_rate",
    "item_price",        "item_avg_discount", "cat_pop_90d",      "item_share_in_cat",
    "item_expected_90d", "item_expected_all",
};
enum {
    P_IO30,
    P_IO90,
    P_IO365,
    P_IOALL,
    P_IDAYS,
    P_ISHARE,
    P_CO30,
    P_CO90,
    P_CO365,
    P_CDAYS,
    P_CSHARE,
    P_AFF,
    P_POP30,
    P_POP90,
    P_BUYERS,
    P_REPEAT,
    P_PRICE,
    P_DISC,
    P_CPOP90,
    P_INCAT,
    P_EXP90,
    P_EXPALL,
    P_COUNT
};
static const char *const category_cols[] = {
    "cat_orders_30d", "cat_orders_90d", "cat_orders_365d", "cat_orders_all",
    "cat_days_since", "cat_share",      "cat_pop_30d",     "cat_pop_90d",
};
enum { C_O30, C_O90, C_O365, C_OALL, C_DAYS, C_SHARE, C_POP30, C_POP90, C_COUNT };

void promo_panel_layout_free(promo_panel_layout *l)
{
    if (!l)
        return;
    if (l->names)
        for (size_t j = 0; j < l->n; j++)
            promo_free(l->names[j]);
    promo_free(l->names);
    memset(l, 0, sizeof *l);
}

static size_t n_extra(promo_panel_kind kind)
{
    return kind == PROMO_PANEL_PRODUCT ? P_COUNT : kind == PROMO_PANEL_CATEGORY ? C_COUNT : 0;
}

int promo_panel_layout_make(promo_panel_kind kind, const promo_features *f, promo_panel_layout *l)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->n_cust = f->n_features;
    l->n = f->n_features + n_extra(kind);
    l->names = promo_calloc(l->n, sizeof *l->names);
    if (!l->names)
        return PROMO_ENOMEM;
    for (size_t j = 0; j < l->n; j++) {
        const char *nm = j < l->n_cust                 ? f->feature_names[j]
                         : kind == PROMO_PANEL_PRODUCT ? product_cols[j - l->n_cust]
                                                       : category_cols[j - l->n_cust];
        if (!(l->names[j] = promo_strdup(nm))) {
            promo_panel_layout_free(l);
            return PROMO_ENOMEM;
        }
    }
    return PROMO_OK;
}

int promo_panel_layout_parse(promo_panel_kind kind, const char *csv, promo_panel_layout *l)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    size_t n = 1;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    size_t extra = n_extra(kind);
    if (!*csv || n < extra)
        return promo_fail(PROMO_EINPUT, "propensity model: bad feature list");
    l->names = promo_calloc(n, sizeof *l->names);
    if (!l->names)
        return PROMO_ENOMEM;
    const char *p = csv;
    for (size_t j = 0; j < n; j++) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (!(l->names[j] = promo_strndup(p, len))) {
            l->n = j;
            promo_panel_layout_free(l);
            return PROMO_ENOMEM;
        }
        p = q ? q + 1 : p + len;
    }
    l->n = n;
    l->n_cust = n - extra;
    return PROMO_OK;
}

char *promo_panel_layout_join(const promo_panel_layout *l)
{
    size_t len = 1;
    for (size_t j = 0; j < l->n; j++)
        len += strlen(l->names[j]) + 1;
    char *s = promo_malloc(len), *p = s;
    if (!s)
        return NULL;
    for (size_t j = 0; j < l->n; j++) {
        size_t k = strlen(l->names[j]);
        memcpy(p, l->names[j], k);
        p += k;
        *p++ = j + 1 < l->n ? ',' : '\0';
    }
    if (l->n == 0)
        *p = '\0';
    return s;
}

/* ------------------------------------------------------------------ rows ---- */

void promo_panel_rows_free(promo_panel_rows *r)
{
    if (!r)
        return;
    promo_free(r->cust);
    promo_free(r->item);
    promo_free(r->w);
    promo_free(r->y);
    memset(r, 0, sizeof *r);
}

static int rows_alloc(promo_panel_rows *r, size_t n)
{
    memset(r, 0, sizeof *r);
    size_t m = n ? n : 1;
    r->cust = promo_mallocn(m, sizeof *r->cust);
    r->item = promo_mallocn(m, sizeof *r->item);
    r->w = promo_mallocn(m, sizeof *r->w);
    r->y = promo_mallocn(m, sizeof *r->y);
    if (!r->cust || !r->item || !r->w || !r->y) {
        promo_panel_rows_free(r);
        return PROMO_ENOMEM;
    }
    r->n = n;
    return PROMO_OK;
}

/* Double the capacity of every array of r (the sampled count can exceed its estimate). */
static int rows_grow(promo_panel_rows *r, size_t *cap)
{
    size_t nc = *cap * 2;
    uint32_t *a = promo_reallocn(r->cust, nc, sizeof *a);
    if (!a)
        return PROMO_ENOMEM;
    r->cust = a;
    uint32_t *b = promo_reallocn(r->item, nc, sizeof *b);
    if (!b)
        return PROMO_ENOMEM;
    r->item = b;
    float *w = promo_reallocn(r->w, nc, sizeof *w);
    if (!w)
        return PROMO_ENOMEM;
    r->w = w;
    float *y = promo_reallocn(r->y, nc, sizeof *y);
    if (!y)
        return PROMO_ENOMEM;
    r->y = y;
    *cap = nc;
    return PROMO_OK;
}

/* First index in [lo, hi) of ts[] >= t (ts sorted within the range). */
static uint64_t lower_ts(const int64_t *ts, uint64_t lo, uint64_t hi, int64_t t)
{
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Range of `item` in customer key k's entries of ix. */
static void item_range(
    const promo_panel_index *ix, uint32_t k, uint32_t item, uint64_t *lo_out, uint64_t *hi_out)
{
    uint64_t lo = ix->ptr[k], hi = ix->ptr[k + 1];
    uint64_t a = lo, b = hi;
    while (a < b) {
        uint64_t mid = a + (b - a) / 2;
        if (ix->item[mid] < item)
            a = mid + 1;
        else
            b = mid;
    }
    uint64_t s = a;
    b = hi;
    while (a < b) {
        uint64_t mid = a + (b - a) / 2;
        if (ix->item[mid] <= item)
            a = mid + 1;
        else
            b = mid;
    }
    *lo_out = s;
    *hi_out = a;
}

/* Does customer key k have an entry of item (PROMO_PANEL_NONE: any item) in [t0, t1)? */
static int bought_in(const promo_panel_index *ix, uint32_t k, uint32_t item, int64_t t0, int64_t t1)
{
    if (k == PROMO_PANEL_NONE)
        return 0;
    if (item == PROMO_PANEL_NONE) {
        for (uint64_t i = ix->ptr[k]; i < ix->ptr[k + 1]; i++)
            if (ix->ts[i] >= t0 && ix->ts[i] < t1)
                return 1;
        return 0;
    }
    uint64_t lo, hi;
    item_range(ix, k, item, &lo, &hi);
    uint64_t i = lower_ts(ix->ts, lo, hi, t0);
    return i < hi && ix->ts[i] < t1;
}

int promo_panel_rows_target(const promo_panel *d,
                            const promo_panel_cut *c,
                            promo_panel_target t,
                            double horizon_days,
                            promo_panel_rows *out)
{
    size_t n = c->f->n_customers;
    int rc = rows_alloc(out, n);
    if (rc)
        return rc;
    int64_t t1 = c->as_of + (int64_t)llround(horizon_days * (double)PROMO_PANEL_DAY);
    const promo_panel_index *ix = t.kind == PROMO_PANEL_CATEGORY ? &d->by_cat : &d->by_prod;
    for (size_t i = 0; i < n; i++) {
        out->cust[i] = (uint32_t)i;
        out->item[i] = t.item;
        out->w[i] = 1.0f;
        out->y[i] = horizon_days > 0 &&
                    bought_in(ix, c->key[i], t.kind == PROMO_PANEL_ANY ? PROMO_PANEL_NONE : t.item,
                              c->as_of, t1);
    }
    return PROMO_OK;
}

/* Items of customer key k: mark[item] |= 1 bought before the cutoff, |= 2 bought in the label
 * window. Returns the number of distinct items marked; their ids go to touched[]. */
static size_t mark_items(const promo_panel_index *ix,
                         uint32_t k,
                         int64_t as_of,
                         int64_t t1,
                         uint8_t *mark,
                         uint32_t *touched)
{
    size_t nt = 0;
    if (k == PROMO_PANEL_NONE)
        return 0;
    for (uint64_t i = ix->ptr[k]; i < ix->ptr[k + 1]; i++) {
        uint8_t bit = ix->ts[i] < as_of ? 1 : ix->ts[i] < t1 ? 2 : 0;
        if (!bit)
            continue;
        uint32_t x = ix->item[i];
        if (!mark[x])
            touched[nt++] = x;
        mark[x] |= bit;
    }
    return nt;
}

int promo_panel_rows_sampled(const promo_panel *d,
                             const promo_panel_cut *c,
                             promo_panel_kind kind,
                             double horizon_days,
                             const uint8_t *items_mask,
                             double neg_per_pos,
                             uint64_t seed,
                             uint64_t stream,
                             promo_panel_rows *out)
{
    memset(out, 0, sizeof *out);
    size_t n = c->f->n_customers;
    if (kind == PROMO_PANEL_ANY) {
        promo_panel_target t = {PROMO_PANEL_ANY, PROMO_PANEL_NONE};
        return promo_panel_rows_target(d, c, t, horizon_days, out);
    }
    const promo_panel_index *ix = kind == PROMO_PANEL_CATEGORY ? &d->by_cat : &d->by_prod;
    uint32_t n_items = kind == PROMO_PANEL_CATEGORY ? d->n_cats : d->n_products;
    int64_t t1 = c->as_of + (int64_t)llround(horizon_days * (double)PROMO_PANEL_DAY);
    uint8_t *mark = promo_calloc(n_items ? n_items : 1, 1);
    uint32_t *touched = promo_mallocn(n_items ? n_items : 1, sizeof *touched);
    int rc = PROMO_ENOMEM;
    if (!mark || !touched)
        goto done;
    size_t n_cand = 0;
    for (uint32_t x = 0; x < n_items; x++)
        n_cand += !items_mask || items_mask[x];
    /* Pass 1: positives and kept negatives, to choose the sampling rate. */
    size_t n_pos = 0, n_kept = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nt = mark_items(ix, c->key[i], c->as_of, t1, mark, touched);
        for (size_t j = 0; j < nt; j++) {
            uint32_t x = touched[j];
            if (!items_mask || items_mask[x]) {
                n_pos += (mark[x] & 2) != 0;
                n_kept++;
            }
            mark[x] = 0;
        }
    }
    double n_other = (double)n * (double)n_cand - (double)n_kept;
    double rate = neg_per_pos <= 0 || n_other <= 0
                      ? 1.0
                      : fmin(1.0, neg_per_pos * (double)(n_pos ? n_pos : 1) / n_other);
    size_t cap = n_kept + (size_t)(rate * n_other * 1.2) + 1024;
    if ((rc = rows_alloc(out, cap)))
        goto done;
    size_t m = 0;
    float w_other = (float)(1.0 / rate);
    for (size_t i = 0; i < n; i++) {
        promo_rng rng;
        promo_rng_init(&rng, seed, (stream << 32) ^ (uint64_t)i);
        size_t nt = mark_items(ix, c->key[i], c->as_of, t1, mark, touched);
        for (uint32_t x = 0; x < n_items; x++) {
            if (items_mask && !items_mask[x])
                continue;
            float w = 1.0f;
            if (!mark[x]) {
                if (rate < 1.0 && promo_rng_uniform(&rng) >= rate)
                    continue;
                w = w_other;
            }
            if (m == cap && (rc = rows_grow(out, &cap)))
                goto done;
            out->cust[m] = (uint32_t)i;
            out->item[m] = x;
            out->w[m] = w;
            out->y[m] = (mark[x] & 2) ? 1.0f : 0.0f;
            m++;
        }
        for (size_t j = 0; j < nt; j++)
            mark[touched[j]] = 0;
    }
    out->n = m;
    rc = PROMO_OK;
done:
    if (rc)
        promo_panel_rows_free(out);
    promo_free(mark);
    promo_free(touched);
    return rc;
}

/* ------------------------------------------------------------------ matrix ---- */

typedef struct win_counts {
    float o30, o90, o365, all, days; /* orders in windows, all before the cutoff; days since */
} win_counts;

static win_counts counts_of(const promo_panel_index *ix, uint32_t k, uint32_t item, int64_t as_of)
{
    win_counts w = {0, 0, 0, 0, NAN};
    if (k == PROMO_PANEL_NONE)
        return w;
    uint64_t lo, hi;
    item_range(ix, k, item, &lo, &hi);
    uint64_t end = lower_ts(ix->ts, lo, hi, as_of);
    if (end == lo)
        return w;
    w.all = (float)(end - lo);
    w.o365 = (float)(end - lower_ts(ix->ts, lo, end, as_of - 365 * PROMO_PANEL_DAY));
    w.o90 = (float)(end - lower_ts(ix->ts, lo, end, as_of - 90 * PROMO_PANEL_DAY));
    w.o30 = (float)(end - lower_ts(ix->ts, lo, end, as_of - 30 * PROMO_PANEL_DAY));
    w.days = (float)((double)(as_of - ix->ts[end - 1]) / (double)PROMO_PANEL_DAY);
    return w;
}

/* Co-purchase affinity of product x for customer key k: the largest P(x | j) = orders with x
 * and j / orders with j over the products j (!= x) the customer bought in the last 365 days. */
static float affinity(const promo_panel *d, const promo_panel_cut *c, uint32_t k, uint32_t x)
{
    const promo_features *f = c->f;
    if (k == PROMO_PANEL_NONE || !f->copurchase.row_ptr || x >= f->copurchase.n_rows)
        return 0.0f;
    const promo_panel_index *ix = &d->by_prod;
    int64_t t0 = c->as_of - 365 * PROMO_PANEL_DAY;
    float best = 0.0f;
    uint64_t i = ix->ptr[k], hi = ix->ptr[k + 1];
    while (i < hi) {
        uint32_t j = ix->item[i];
        uint64_t e = i;
        int recent = 0;
        while (e < hi && ix->item[e] == j) {
            recent |= ix->ts[e] >= t0 && ix->ts[e] < c->as_of;
            e++;
        }
        if (recent && j != x && j < f->products.n_products && f->products.n_orders[j] > 0) {
            float co = promo_csr_get(&f->copurchase, x, j);
            float pr = co / (float)f->products.n_orders[j];
            if (pr > best)
                best = pr;
        }
        i = e;
    }
    return best;
}

/* Affinity of every product for customer key k at once, into aff (n_products, zeroed on
 * entry; the products set go to touched, their count returned): the same maxima as affinity()
 * from the rows of the co-purchase matrix (symmetric: orders holding both products) of the
 * products bought in the last 365 days. A customer with many rows (the sampled training pairs)
 * pays the sum of those rows' lengths once instead of a binary search per (row, product
 * bought): 14 s -> under 1 s of the row building on UCI Online Retail. */
static size_t affinity_all(
    const promo_panel *d, const promo_panel_cut *c, uint32_t k, float *aff, uint32_t *touched)
{
    const promo_features *f = c->f;
    const promo_csr *m = &f->copurchase;
    size_t nt = 0;
    if (k == PROMO_PANEL_NONE || !m->row_ptr)
        return 0;
    const promo_panel_index *ix = &d->by_prod;
    int64_t t0 = c->as_of - 365 * PROMO_PANEL_DAY;
    uint64_t i = ix->ptr[k], hi = ix->ptr[k + 1];
    while (i < hi) {
        uint32_t j = ix->item[i];
        uint64_t e = i;
        int recent = 0;
        while (e < hi && ix->item[e] == j) {
            recent |= ix->ts[e] >= t0 && ix->ts[e] < c->as_of;
            e++;
        }
        if (recent && j < m->n_rows && j < f->products.n_products && f->products.n_orders[j] > 0) {
            for (uint64_t q = m->row_ptr[j]; q < m->row_ptr[j + 1]; q++) {
                uint32_t x = m->col_idx[q];
                if (x == j || x >= d->n_products)
                    continue;
                /* co / n as affinity() divides, so the maxima are bit-identical. */
                float pr = m->values[q] / (float)f->products.n_orders[j];
                if (aff[x] == 0.0f && pr > 0.0f)
                    touched[nt++] = x;
                if (pr > aff[x])
                    aff[x] = pr;
            }
        }
        i = e;
    }
    return nt;
}

/* Rows of one customer in a row at least this long use affinity_all (cheaper from here on). */
#define AFF_DENSE_MIN_ROWS 32

int promo_panel_rows_matrix(const promo_panel *d,
                            const promo_panel_cut *c,
                            const promo_panel_layout *l,
                            const promo_panel_rows *r,
                            float *X)
{
    const promo_features *f = c->f;
    /* Layout column j of the customer block -> column of f (names may differ in order or
     * set between the cut that defined the layout and this one). */
    int *cmap = promo_mallocn(l->n_cust ? l->n_cust : 1, sizeof *cmap);
    if (!cmap)
        return PROMO_ENOMEM;
    for (size_t j = 0; j < l->n_cust; j++)
        cmap[j] = j < f->n_features && strcmp(f->feature_names[j], l->names[j]) == 0
                      ? (int)j
                      : promo_features_column(f, l->names[j]);
    int c_freq = promo_features_column(f, "frequency"),
        c_o90 = promo_features_column(f, "orders_90d"),
        c_ten = promo_features_column(f, "tenure_days");
    const promo_product_features *pf = &f->products;
    size_t d_all = l->n, nc = l->n_cust;
    int nt = d->n_threads > 0 ? d->n_threads : omp_get_max_threads();
    /* Rows come grouped by customer (promo_panel_rows_sampled); a thread takes a block of
     * whole customers, so that it can reuse one customer's affinities over their rows. */
    int dense = l->kind == PROMO_PANEL_PRODUCT && f->copurchase.row_ptr;
    float *aff_buf = NULL;
    uint32_t *touch_buf = NULL;
    if (dense) {
        size_t np = d->n_products ? d->n_products : 1;
        aff_buf = promo_calloc((size_t)nt * np, sizeof *aff_buf);
        touch_buf = promo_mallocn((size_t)nt * np, sizeof *touch_buf);
        if (!aff_buf || !touch_buf) {
            promo_free(aff_buf);
            promo_free(touch_buf);
            promo_free(cmap);
            return PROMO_ENOMEM;
        }
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), nth = omp_get_num_threads();
        size_t b0 = r->n * (size_t)tid / (size_t)nth, b1 = r->n * (size_t)(tid + 1) / (size_t)nth;
        /* Move both ends to customer boundaries (a block may then be empty). */
        while (b0 > 0 && b0 < r->n && r->cust[b0] == r->cust[b0 - 1])
            b0++;
        while (b1 > 0 && b1 < r->n && r->cust[b1] == r->cust[b1 - 1])
            b1++;
        float *aff = dense ? aff_buf + (size_t)tid * d->n_products : NULL;
        uint32_t *touched = dense ? touch_buf + (size_t)tid * d->n_products : NULL;
        size_t n_touched = 0, run_end = b0;
        int use_dense = 0;
        for (size_t i = b0; i < b1; i++) {
            float *row = X + i * d_all;
            uint32_t cu = r->cust[i], x = r->item[i];
            const float *src = f->X + (size_t)cu * f->n_features;
            for (size_t j = 0; j < nc; j++)
                row[j] = cmap[j] >= 0 ? src[cmap[j]] : NAN;
            float *e = row + nc;
            uint32_t k = c->key[cu];
            if (dense && i == run_end) {
                for (size_t q = 0; q < n_touched; q++)
                    aff[touched[q]] = 0.0f;
                n_touched = 0;
                while (run_end < b1 && r->cust[run_end] == cu)
                    run_end++;
                use_dense = run_end - i >= AFF_DENSE_MIN_ROWS;
                if (use_dense)
                    n_touched = affinity_all(d, c, k, aff, touched);
            }
            if (l->kind == PROMO_PANEL_PRODUCT) {
                uint32_t cat = d->prod_cat[x];
                win_counts wi = counts_of(&d->by_prod, k, x, c->as_of);
                win_counts wc = counts_of(&d->by_cat, k, cat, c->as_of);
                float freq = c_freq >= 0 ? src[c_freq] : NAN;
                e[P_IO30] = wi.o30;
                e[P_IO90] = wi.o90;
                e[P_IO365] = wi.o365;
                e[P_IOALL] = wi.all;
                e[P_IDAYS] = wi.days;
                e[P_ISHARE] = freq > 0 ? wi.all / freq : 0.0f;
                e[P_CO30] = wc.o30;
                e[P_CO90] = wc.o90;
                e[P_CO365] = wc.o365;
                e[P_CDAYS] = wc.days;
                e[P_CSHARE] = c->fcat[cat] != PROMO_PANEL_NONE && f->category_share.row_ptr
                                  ? promo_csr_get(&f->category_share, cu, c->fcat[cat])
                                  : 0.0f;
                e[P_AFF] = use_dense ? aff[x] : affinity(d, c, k, x);
                e[P_POP30] = c->item_pop30[x];
                e[P_POP90] = c->item_pop90[x];
                int have = pf->n_products > x;
                e[P_BUYERS] = have ? (float)pf->n_buyers[x] : NAN;
                e[P_REPEAT] = have ? (float)pf->repeat_rate[x] : NAN;
                e[P_PRICE] = have ? (float)pf->list_price[x] : NAN;
                e[P_DISC] = have ? (float)pf->avg_discount[x] : NAN;
                e[P_CPOP90] = c->cat_pop90[cat];
                e[P_INCAT] = c->cat_pop90[cat] > 0 ? c->item_pop90[x] / c->cat_pop90[cat] : 0.0f;
                /* The purchase rate the data suggest, as a product the trees cannot form by
                 * themselves: customer order rate x category share x item share in category
                 * (recent and whole-history rates). */
                float o90 = c_o90 >= 0 && isfinite(src[c_o90]) ? src[c_o90] : 0.0f;
                float ten = c_ten >= 0 && isfinite(src[c_ten]) ? fmaxf(src[c_ten], 30.0f) : NAN;
                float theta =
                    (wc.o365 + 0.5f) / (wc.o365 > 0 || freq > 0 ? fmaxf(freq, 1.0f) + 1.0f : 15.0f);
                e[P_EXP90] = o90 * theta * e[P_INCAT];
                e[P_EXPALL] = isfinite(ten) && freq > 0 ? freq / ten * theta * e[P_INCAT] : 0.0f;
            } else if (l->kind == PROMO_PANEL_CATEGORY) {
                win_counts wc = counts_of(&d->by_cat, k, x, c->as_of);
                e[C_O30] = wc.o30;
                e[C_O90] = wc.o90;
                e[C_O365] = wc.o365;
                e[C_OALL] = wc.all;
                e[C_DAYS] = wc.days;
                e[C_SHARE] = c->fcat[x] != PROMO_PANEL_NONE && f->category_share.row_ptr
                                 ? promo_csr_get(&f->category_share, cu, c->fcat[x])
                                 : 0.0f;
                e[C_POP30] = c->cat_pop30[x];
                e[C_POP90] = c->cat_pop90[x];
            }
        }
    }
    promo_free(aff_buf);
    promo_free(touch_buf);
    promo_free(cmap);
    return PROMO_OK;
}

/* ------------------------------------------------------------------ baselines ---- */

void promo_panel_rows_popularity(const promo_panel *d,
                                 const promo_panel_cut *c,
                                 promo_panel_kind kind,
                                 const promo_panel_rows *r,
                                 double *out)
{
    int c_freq = promo_features_column(c->f, "frequency");
    for (size_t i = 0; i < r->n; i++) {
        uint32_t cu = r->cust[i], k = c->key[cu];
        if (kind == PROMO_PANEL_ANY) {
            float v = c_freq >= 0 ? c->f->X[(size_t)cu * c->f->n_features + c_freq] : NAN;
            out[i] = isfinite(v) ? v : 0.0;
        } else {
            const promo_panel_index *ix = kind == PROMO_PANEL_CATEGORY ? &d->by_cat : &d->by_prod;
            out[i] = counts_of(ix, k, r->item[i], c->as_of).all;
        }
    }
}

void promo_panel_rows_rfm(const promo_panel_cut *c, const promo_panel_rows *r, double *out)
{
    const promo_features *f = c->f;
    int cr = promo_features_column(f, "r_score"), cf = promo_features_column(f, "f_score"),
        cm = promo_features_column(f, "m_score"), crec = promo_features_column(f, "recency_days");
    for (size_t i = 0; i < r->n; i++) {
        const float *x = f->X + (size_t)r->cust[i] * f->n_features;
        double s = 0.0;
        if (cr >= 0 && isfinite(x[cr]))
            s += x[cr];
        if (cf >= 0 && isfinite(x[cf]))
            s += x[cf];
        if (cm >= 0 && isfinite(x[cm]))
            s += x[cm];
        /* Recency breaks ties inside a score: at most +0.5 for a purchase yesterday. */
        double rec = crec >= 0 && isfinite(x[crec]) ? x[crec] : 1e9;
        out[i] = s + 0.5 / (1.0 + rec / 30.0);
    }
}

/* ------------------------------------------------------------ stored features ---- */

int64_t promo_panel_purchase_max_ts(const promo_panel *d)
{
    /* The filter of promo_panel_load's purchase lines (ts, customer and a known product,
     * quantity > 0, price >= 0), on tables however loaded. */
    const promo_table *t = d->transactions;
    const promo_column *cust = t ? promo_table_column(t, "customer_id") : NULL,
                       *prod = t ? promo_table_column(t, "product_id") : NULL,
                       *ts = t ? promo_table_column(t, "ts") : NULL,
                       *qty = t ? promo_table_column(t, "quantity") : NULL,
                       *price = t ? promo_table_column(t, "unit_price") : NULL,
                       *pid = d->products ? promo_table_column(d->products, "product_id") : NULL;
    if (!cust || !prod || !ts || !qty || !price || !pid || prod->type != PROMO_COL_STRING ||
        pid->type != PROMO_COL_STRING || ts->type != PROMO_COL_TIMESTAMP)
        return INT64_MIN;
    uint32_t np = promo_dict_size(prod->dict);
    uint8_t *known = promo_calloc(np ? np : 1, 1);
    if (!known)
        return INT64_MIN;
    /* A product id is known when some products row carries it (a non-null row). */
    uint8_t *used = promo_calloc(promo_dict_size(pid->dict) + 1, 1);
    if (!used) {
        promo_free(known);
        return INT64_MIN;
    }
    for (size_t r = 0; r < d->products->n_rows; r++)
        if (!promo_column_is_null(pid, r))
            used[pid->codes[r]] = 1;
    for (uint32_t k = 0; k < np; k++) {
        uint32_t c = promo_dict_find(pid->dict, promo_dict_key(prod->dict, k),
                                     promo_dict_key_len(prod->dict, k));
        known[k] = c != PROMO_DICT_NONE && used[c];
    }
    promo_free(used);
    /* A max: the same on any team (10M lines: a serial step of `promo features`). */
    int64_t m = INT64_MIN;
    int nt = d->n_threads > 0 ? d->n_threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(nt) reduction(max : m) if (t->n_rows > 65536)
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(ts, r) || promo_column_is_null(cust, r) ||
            promo_column_is_null(prod, r) || !known[prod->codes[r]] || ts->i64[r] <= m)
            continue;
        double q = promo_column_num(qty, r), p = promo_column_num(price, r);
        if (q > 0 && p >= 0 && isfinite(q) && isfinite(p))
            m = ts->i64[r];
    }
    promo_free(known);
    return m;
}

/* FNV-1a over s, finished with promo_fmix64: a digest for the fingerprint, not security. */
static uint64_t digest_add(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return (h ^ ',') * 0x100000001b3ULL;
}

/* The feature parameters that change X, as text (as_of, the product features, elasticity
 * and the thread count do not). */
static uint64_t params_digest(const promo_feature_params *fp)
{
    char b[512];
    snprintf(b, sizeof b, "%.17g %.17g %.17g %.17g %.17g %zu %d %.17g %.17g %.17g %d %zu",
             fp->half_life_days, fp->confidence_alpha, fp->confidence_eps,
             fp->response_prior_strength, fp->lift_prior_strength, fp->max_category_columns,
             fp->clv, fp->expected_days, fp->clv_horizon_days, fp->clv_params.penalty,
             fp->clv_params.max_iter, fp->clv_params.max_customers);
    return promo_fmix64(digest_add(0xcbf29ce484222325ULL, b));
}

#define SOURCE_FMT_W                                                                       \
    "v1 data=%s as_of=%lld max_ts=%lld uplift_cutoff=%lld keys=%u rows=%zu names=%016llx " \
    "params=%016llx code=%s"
#define SOURCE_FMT_R                                                                      \
    "v1 data=%95s as_of=%lld max_ts=%lld uplift_cutoff=%lld keys=%u rows=%zu names=%llx " \
    "params=%llx code=%64s"

char *promo_panel_stored_source(const char *data_version,
                                const promo_feature_params *fp,
                                const promo_panel *d,
                                const promo_features *f,
                                int64_t uplift_cutoff)
{
    uint64_t nh = 0xcbf29ce484222325ULL;
    for (size_t j = 0; j < f->n_features; j++)
        nh = digest_add(nh, f->feature_names[j]);
    const promo_column *cust =
        d->transactions ? promo_table_column(d->transactions, "customer_id") : NULL;
    uint32_t n_keys = cust && cust->type == PROMO_COL_STRING ? promo_dict_size(cust->dict) : 0;
    char *s = promo_malloc(512);
    if (!s)
        return NULL;
    snprintf(s, 512, SOURCE_FMT_W, data_version && *data_version ? data_version : "none",
             (long long)fp->as_of, (long long)promo_panel_purchase_max_ts(d),
             (long long)uplift_cutoff, n_keys, f->n_customers, (unsigned long long)promo_fmix64(nh),
             (unsigned long long)params_digest(fp), PROMO_PANEL_FEATURES_CODE);
    return s;
}

/* ---- the stored matrix: <ws>/models/features_customers.bin ----
 *
 * What a reader needs of the features, laid out to be mapped and used in place (a reader of
 * the features_customers table would decode a hundred-odd float64 columns into fresh memory:
 * 6.5 s for 1M customers here, against 0.04 s to map this):
 *   0    "PROMOFX1", u64 n (customers), u64 nf (features), i64 as_of, u64 names bytes,
 *        u64 id bytes, u64 total bytes, u64 0
 *   64   the fingerprint (PROMO_PANEL_FEATURES_SOURCE), NUL-padded to 512 bytes
 *   576  feature names, NUL-separated, padded to 8
 *        u64 id_off[n] (into the ids), the ids NUL-terminated (padded to 8)
 *        u8 rfm_segment[n], u8 spend_tier[n] (padded to 8)
 *        float32 X[n x nf], row-major (the features' own bits, NaN included)
 * Native byte order: the file lives beside promo.db and is rewritten by `promo features`. It is
 * staged in the transaction that writes the tables, so the two are committed together. */
enum { FX_HDR = 64, FX_SRC = 512 };
#define FX_MAGIC "PROMOFX1"

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

typedef struct fx_layout {
    size_t names, ids, off_names, off_idoff, off_ids, off_seg, off_x, total;
} fx_layout;

static fx_layout fx_layout_of(size_t n, size_t nf, size_t names_bytes, size_t id_bytes)
{
    fx_layout l;
    l.names = pad8(names_bytes);
    l.ids = pad8(id_bytes);
    l.off_names = FX_HDR + FX_SRC;
    l.off_idoff = l.off_names + l.names;
    l.off_ids = l.off_idoff + 8 * n;
    l.off_seg = l.off_ids + l.ids;
    l.off_x = l.off_seg + pad8(2 * n);
    l.total = l.off_x + 4 * n * nf;
    return l;
}

static void stored_path(promo_store *s, char *out, size_t n)
{
    snprintf(out, n, "%s/features_customers.bin", promo_store_models_dir(s));
}

/* What the matrix file's writer frees when it is done: the header, then the caller's done. */
typedef struct stored_done {
    char *b;
    void (*done)(void *);
    void *arg;
} stored_done;

static void stored_done_run(void *arg)
{
    stored_done *d = arg;
    promo_free(d->b);
    if (d->done)
        d->done(d->arg);
    promo_free(d);
}

int promo_panel_stored_write_async(
    promo_store *s, const promo_features *f, const char *source, void (*done)(void *arg), void *arg)
{
    size_t n = f->n_customers, nf = f->n_features, names_bytes = 0;
    for (size_t j = 0; j < nf; j++)
        names_bytes += strlen(f->feature_names[j]) + 1;
    size_t id_bytes = n ? f->id_off[n - 1] + strlen(promo_features_customer_id(f, n - 1)) + 1 : 0;
    if (strlen(source) >= FX_SRC) {
        if (done)
            done(arg);
        return promo_fail(PROMO_EUSAGE, "panel: fingerprint longer than %d bytes", FX_SRC - 1);
    }
    fx_layout l = fx_layout_of(n, nf, names_bytes, id_bytes);
    /* The header, fingerprint and names in a small buffer; every array written from where it
     * is (at 1M customers a 0.4 GB buffer was filled for one write), its fsync left to the
     * commit (store.h: promo_store_stage_parts_async). */
    char *b = promo_calloc(1, l.off_idoff);
    stored_done *sd = promo_malloc(sizeof *sd);
    if (!b || !sd) {
        promo_free(b);
        promo_free(sd);
        if (done)
            done(arg);
        return PROMO_ENOMEM;
    }
    uint64_t h[8] = {0, n, nf, (uint64_t)f->as_of, names_bytes, id_bytes, l.total, 0};
    memcpy(h, FX_MAGIC, 8);
    memcpy(b, h, sizeof h);
    memcpy(b + FX_HDR, source, strlen(source));
    char *p = b + l.off_names;
    for (size_t j = 0; j < nf; j++) {
        size_t k = strlen(f->feature_names[j]) + 1;
        memcpy(p, f->feature_names[j], k);
        p += k;
    }
    static const char zero[8];
    promo_store_part parts[] = {
        {b, l.off_idoff},
        {f->id_off, 8 * n},
        {f->id_pool, id_bytes},
        {zero, l.ids - id_bytes},
        {f->rfm_segment, n},
        {f->spend_tier, n},
        {zero, pad8(2 * n) - 2 * n},
        {f->X, 4 * n * nf},
    };
    char path[1200];
    stored_path(s, path, sizeof path);
    size_t np = sizeof parts / sizeof *parts;
    *sd = (stored_done){b, done, arg};
    return promo_store_stage_parts_async(s, path, parts, np, stored_done_run, sd);
}

/* The file's fingerprint equals the metadata's, and the store records it as made from the
 * current data: why stays "" when so. */
static int stored_file_ok(promo_store *s, const char *src, char *why, size_t n_why)
{
    char path[1200], head[FX_HDR + FX_SRC];
    stored_path(s, path, sizeof path);
    FILE *in = fopen(path, "rb");
    size_t got = in ? fread(head, 1, sizeof head, in) : 0;
    if (in)
        fclose(in);
    if (got != sizeof head || memcmp(head, FX_MAGIC, 8) != 0) {
        snprintf(why, n_why, "no stored feature matrix (%s)", path);
        return PROMO_OK;
    }
    head[sizeof head - 1] = 0;
    if (strcmp(head + FX_HDR, src) != 0) {
        snprintf(why, n_why, "%s is not the one stored with the features", path);
        return PROMO_OK;
    }
    if (promo_store_check_file(s, path) != PROMO_OK)
        snprintf(why, n_why, "%s was made from other data", path);
    return PROMO_OK;
}

int promo_panel_stored_check(promo_store *s,
                             const promo_feature_params *fp,
                             promo_panel_stored *out,
                             char *why,
                             size_t n_why)
{
    memset(out, 0, sizeof *out);
    why[0] = 0;
    char *src = NULL, *now = NULL;
    int rc = PROMO_OK;
    if (!(src = promo_store_meta_get(s, PROMO_PANEL_FEATURES_SOURCE))) {
        snprintf(why, n_why, "no stored features");
        goto done;
    }
    char data[96] = "", code[72] = "";
    long long as_of = 0, max_ts = 0, up = 0;
    unsigned long long names = 0, params = 0;
    unsigned keys = 0;
    size_t rows = 0;
    if (sscanf(src, SOURCE_FMT_R, data, &as_of, &max_ts, &up, &keys, &rows, &names, &params,
               code) != 9) {
        snprintf(why, n_why, "stored features of another promo version");
        goto done;
    }
    now = promo_store_meta_get(s, "data.version");
    if (!now || strcmp(now, data) != 0) {
        snprintf(why, n_why,
                 "the tables changed since `promo features` stored them (data version %s, now "
                 "%s)",
                 data, now ? now : "none");
        goto done;
    }
    if (strcmp(code, PROMO_PANEL_FEATURES_CODE) != 0) {
        snprintf(why, n_why, "stored by another version of the feature code (%s, now %s)", code,
                 PROMO_PANEL_FEATURES_CODE);
        goto done;
    }
    if ((unsigned long long)params_digest(fp) != params) {
        snprintf(why, n_why, "stored with other feature parameters");
        goto done;
    }
    if ((rc = stored_file_ok(s, src, why, n_why)) || why[0])
        goto done;
    out->current = 1;
    out->as_of = as_of;
    out->max_ts = max_ts;
    out->uplift_cutoff = up;
    out->n_keys = keys;
    out->n_customers = rows;
done:
    promo_free(src);
    promo_free(now);
    return rc;
}

struct promo_panel_fmap {
    void *base; /* the mapping */
    size_t len;
};

void promo_panel_stored_unmap(promo_panel_fmap *m, promo_features *f)
{
    if (f && m) { /* borrowed from the mapping: not the features' to free */
        f->X = NULL;
        f->id_pool = NULL;
        f->id_off = NULL;
        f->rfm_segment = NULL;
        f->spend_tier = NULL;
    }
    promo_features_free(f);
    if (m) {
        munmap(m->base, m->len);
        promo_free(m);
    }
}

int promo_panel_stored_map(promo_store *s,
                           const promo_panel_stored *st,
                           int copy,
                           promo_features **out,
                           promo_panel_fmap **map)
{
    *out = NULL;
    if (map)
        *map = NULL;
    if (!st->current || (!copy && !map))
        return promo_fail(PROMO_EUSAGE, "panel: the stored features are not current");
    char path[1200];
    stored_path(s, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || (size_t)sb.st_size < FX_HDR + FX_SRC) {
        if (fd >= 0)
            close(fd);
        return promo_fail(PROMO_EIO, "%s: cannot read the stored features", path);
    }
    size_t len = (size_t)sb.st_size;
    /* Populated: the pages are in the page cache after `promo features`, so mapping them all
     * at once costs less than a fault per page later. */
    void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return promo_fail(PROMO_EIO, "%s: cannot map the stored features", path);
    const char *b = base;
    uint64_t h[8];
    memcpy(h, b, sizeof h);
    size_t n = h[1], nf = h[2];
    fx_layout l = fx_layout_of(n, nf, h[4], h[5]);
    promo_features *f = NULL;
    promo_panel_fmap *m = NULL;
    int rc = PROMO_EINPUT;
    if (memcmp(b, FX_MAGIC, 8) != 0 || n != st->n_customers || h[6] != len || l.total != len ||
        (int64_t)h[3] != st->as_of || nf > (1u << 20)) {
        promo_fail(PROMO_EINPUT, "%s: damaged (sizes do not add up)", path);
        goto fail;
    }
    rc = PROMO_ENOMEM;
    if (!(f = promo_calloc(1, sizeof *f)) ||
        !(f->feature_names = promo_calloc(nf ? nf : 1, sizeof *f->feature_names)))
        goto fail;
    f->as_of = st->as_of;
    f->n_customers = n;
    f->n_features = nf;
    const char *p = b + l.off_names, *pe = b + l.off_names + h[4];
    for (size_t j = 0; j < nf; j++) {
        size_t k = p < pe ? strnlen(p, (size_t)(pe - p)) : 0;
        if (p + k >= pe) {
            rc = promo_fail(PROMO_EINPUT, "%s: damaged (feature names)", path);
            goto fail;
        }
        if (!(f->feature_names[j] = promo_strdup(p)))
            goto fail;
        p += k + 1;
    }
    const uint64_t *idoff = (const uint64_t *)(const void *)(b + l.off_idoff);
    int ids_ok = n == 0 || b[l.off_ids + h[5] - 1] == 0; /* the last id NUL-terminated */
    for (size_t i = 0; i < n && ids_ok; i++)             /* every id inside the ids */
        ids_ok = idoff[i] < h[5];
    if (!ids_ok) {
        rc = promo_fail(PROMO_EINPUT, "%s: damaged (customer ids)", path);
        goto fail;
    }
    if (copy) {
        if (!(f->X = promo_mallocn(n && nf ? n * nf : 1, sizeof *f->X)) ||
            !(f->id_pool = promo_malloc(h[5] ? h[5] : 1)) ||
            !(f->id_off = promo_mallocn(n ? n : 1, sizeof *f->id_off)) ||
            !(f->rfm_segment = promo_malloc(n ? n : 1)) ||
            !(f->spend_tier = promo_malloc(n ? n : 1)))
            goto fail;
        memcpy(f->X, b + l.off_x, 4 * n * nf);
        memcpy(f->id_pool, b + l.off_ids, h[5]);
        memcpy(f->id_off, idoff, 8 * n);
        memcpy(f->rfm_segment, b + l.off_seg, n);
        memcpy(f->spend_tier, b + l.off_seg + n, n);
        munmap(base, len);
        *out = f;
        return PROMO_OK;
    }
    if (!(m = promo_calloc(1, sizeof *m)))
        goto fail;
    m->base = base;
    m->len = len;
    /* The mapping is read-only; the features are never written after they are built. */
    f->X = (float *)(uintptr_t)(b + l.off_x);
    f->id_pool = (char *)(uintptr_t)(b + l.off_ids);
    f->id_off = (uint64_t *)(uintptr_t)idoff;
    f->rfm_segment = (uint8_t *)(uintptr_t)(b + l.off_seg);
    f->spend_tier = (uint8_t *)(uintptr_t)(b + l.off_seg + n);
    *out = f;
    *map = m;
    return PROMO_OK;
fail:
    if (f && !copy) {
        f->X = NULL;
        f->id_pool = NULL;
        f->id_off = NULL;
    }
    promo_features_free(f);
    munmap(base, len);
    return rc;
}

int promo_panel_uplift_features(promo_store *s,
                                const promo_feature_params *fp,
                                promo_panel *d,
                                promo_features **f,
                                promo_panel_fmap **map,
                                int customers)
{
    *f = NULL;
    if (map)
        *map = NULL;
    memset(d, 0, sizeof *d);
    d->n_threads = fp->n_threads;
    promo_feature_params p = *fp;
    promo_panel_stored st;
    char why[256] = "";
    int rc = promo_panel_stored_check(s, &p, &st, why, sizeof why);
    if (rc)
        return rc;
    int64_t as_of = p.as_of ? p.as_of : st.uplift_cutoff;
    if (st.current && as_of != st.as_of)
        snprintf(why, sizeof why, "stored as of another cutoff");
    else if (st.current && (rc = promo_panel_stored_map(s, &st, !map, f, map)) && rc != PROMO_EIO &&
             rc != PROMO_EINPUT)
        return rc;
    else if (st.current && rc) { /* unreadable: computing them still works */
        promo_warn("uplift: the stored features are not used: %s", promo_last_error());
        snprintf(why, sizeof why, "unreadable");
    } else if (st.current) {
        /* Beside the features the scorer reads the small tables and, of the exposures, the
         * arms and their costs: not transactions or responses. */
        static const char *const exp_cols[] = {"arm", "cost"};
        if ((customers && (rc = read_opt(s, "customers", &d->customers))) ||
            (rc = read_opt(s, "products", &d->products)) ||
            (rc = read_opt(s, "stores", &d->stores)) ||
            (rc = read_opt(s, "promotions", &d->promotions)) ||
            (rc = read_pruned(s, "exposures", exp_cols, 2, &d->exposures)))
            goto fail;
        d->in.customers = d->customers && d->customers->n_rows ? d->customers : NULL;
        d->in.products = d->products;
        d->in.stores = d->stores;
        d->in.promotions = d->promotions;
        d->in.exposures = d->exposures;
        promo_debug("uplift: the stored features of the cutoff (%zu customers x %zu): the tables "
                    "are unchanged since promo features",
                    (*f)->n_customers, (*f)->n_features);
        return PROMO_OK;
    }
    promo_debug("uplift: computing the features from the tables (stored ones not used: %s)", why);
    if ((rc = promo_panel_load_tables(s, p.n_threads, d)))
        return rc;
    p.as_of = p.as_of ? p.as_of : promo_uplift_ws_default_as_of(d);
    if ((rc = promo_features_compute(&d->in, &p, f)))
        goto fail;
    return PROMO_OK;
fail:
    if (map && *map)
        promo_panel_stored_unmap(*map, *f);
    else
        promo_features_free(*f);
    *f = NULL;
    if (map)
        *map = NULL;
    promo_panel_free(d);
    return rc;
}
