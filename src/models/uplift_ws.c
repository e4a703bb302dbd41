/* src/models/uplift_ws.c: uplift training rows from the workspace's promotion log
 * (include/promo/uplift_ws.h).
 *
 * The exposure rows, their arms and the features as of each exposure come from the panel
 * (panel_exposures.c). What this file adds is time: the panel's outcome counts every response
 * of a (promotion, customer), whenever it came; here a response counts only inside the window
 * after its exposure, and an exposure is a row only once that window has closed by as_of. The
 * responses are joined again for that, as the panel does it: response keys mapped to the
 * exposures' dictionary codes, packed into 64-bit keys, sorted, found by binary search.
 *
 * The feature matrix is built for the eligible rows only (one feature computation per distinct
 * exposure day), then the offer columns are appended.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/panel.h>
#include <promo/timeutil.h>
#include <promo/uplift_ws.h>

promo_uplift_ws_params promo_uplift_ws_params_default(void)
{
    promo_uplift_ws_params p;
    memset(&p, 0, sizeof p);
    p.as_of = 0;
    p.window_days = 30.0;
    p.test_frac = 0.25;
    p.pool_arm = "targeted";
    p.pool_into = "treatment";
    p.clv = 1;
    p.n_threads = 0;
    return p;
}

void promo_uplift_ws_rows_free(promo_uplift_ws_rows *r)
{
    if (!r)
        return;
    if (r->names)
        for (size_t j = 0; j < r->d; j++)
            promo_free(r->names[j]);
    if (r->arm_names)
        for (int a = 0; a < r->n_arms; a++)
            promo_free(r->arm_names[a]);
    promo_free(r->names);
    promo_free(r->arm_names);
    promo_free(r->X);
    promo_free(r->arm);
    promo_free(r->randomised);
    promo_free(r->part);
    promo_free(r->y);
    promo_free(r->revenue);
    promo_free(r->ts);
    promo_free(r->erow);
    memset(r, 0, sizeof *r);
}

void promo_uplift_ws_cat_column(const char *category, char *out, size_t n)
{
    /* As features.c names its category-share columns. */
    size_t k = (size_t)snprintf(out, n, "cat_share_");
    for (const char *s = category; *s && k + 1 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        char o = isalnum(ch) ? (char)tolower(ch) : '_';
        if (o == '_' && k > 10 && out[k - 1] == '_')
            continue;
        out[k++] = o;
    }
    if (k < n)
        out[k] = 0;
}

/* Column `name` of t if it is a string column (want_str) or a numeric/time/bool one. */
static const promo_column *col_of(const promo_table *t, const char *name, int want_str)
{
    const promo_column *c = t ? promo_table_column(t, name) : NULL;
    if (!c)
        return NULL;
    return (c->type == PROMO_COL_STRING) == (want_str != 0) ? c : NULL;
}

/* A numeric cell as a double; NaN for null. */
static double num_at(const promo_column *c, size_t r)
{
    if (!c || promo_column_is_null(c, r))
        return NAN;
    switch (c->type) {
    case PROMO_COL_FLOAT64:
        return c->f64[r];
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        return (double)c->i64[r];
    case PROMO_COL_BOOL:
        return c->b[r] ? 1.0 : 0.0;
    default:
        return NAN;
    }
}

static int is_time(const promo_column *c)
{
    return c && (c->type == PROMO_COL_TIMESTAMP || c->type == PROMO_COL_INT64);
}

static int64_t col_max_time(const promo_table *t, const char *name)
{
    const promo_column *c = col_of(t, name, 0);
    int64_t m = 0;
    if (!is_time(c))
        return 0;
    for (size_t r = 0; r < t->n_rows; r++)
        if (!promo_column_is_null(c, r) && c->i64[r] > m)
            m = c->i64[r];
    return m;
}

int64_t promo_uplift_ws_default_as_of(const promo_panel *d)
{
    int64_t a = col_max_time(d->transactions, "ts"), b = col_max_time(d->responses, "ts");
    int64_t m = a > b ? a : b;
    if (m <= 0)
        return 0;
    return (m / PROMO_PANEL_DAY + 1) * PROMO_PANEL_DAY;
}

/* ------------------------------------------------------------ responses ---- */

typedef struct resp {
    uint64_t key; /* exposures promotion code << 32 | exposures customer code */
    uint32_t row; /* responses-table row */
} resp;

static int by_key(const void *a, const void *b)
{
    const resp *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* The responses of exposures-table row er inside [t0, t1): converted flag and revenue. */
static void outcome_of(const promo_table *rt,
                       const resp *rs,
                       size_t n_rs,
                       uint64_t key,
                       int64_t t0,
                       int64_t t1,
                       float *y,
                       double *rev)
{
    const promo_column *rts = col_of(rt, "ts", 0), *rconv = promo_table_column(rt, "converted"),
                       *rrev = promo_table_column(rt, "revenue");
    size_t lo = 0, hi = n_rs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *y = 0.0f;
    *rev = 0.0;
    for (size_t k = lo; k < n_rs && rs[k].key == key; k++) {
        size_t r = rs[k].row;
        if (!(num_at(rconv, r) > 0.0))
            continue;
        if (is_time(rts) && !promo_column_is_null(rts, r) &&
            (rts->i64[r] < t0 || rts->i64[r] >= t1))
            continue;
        *y = 1.0f;
        double v = num_at(rrev, r);
        if (isfinite(v))
            *rev += v;
    }
}

static int build_resp(const promo_table *et, const promo_table *rt, resp **out, size_t *n_out)
{
    const promo_column *ep = col_of(et, "promotion_id", 1), *ec = col_of(et, "customer_id", 1),
                       *rp = col_of(rt, "promotion_id", 1), *rc = col_of(rt, "customer_id", 1);
    *out = NULL;
    *n_out = 0;
    if (!rt) { /* no responses table: no responses (the outcome comes from purchases) */
        *out = promo_mallocn(1, sizeof **out);
        return *out ? PROMO_OK : PROMO_ENOMEM;
    }
    if (!ep || !ec || !rp || !rc)
        return promo_fail(PROMO_EINPUT, "uplift: exposures and responses need promotion_id "
                                        "and customer_id");
    uint32_t np = promo_dict_size(rp->dict), nc = promo_dict_size(rc->dict);
    uint32_t *pm = promo_mallocn(np ? np : 1, sizeof *pm), *cm = promo_mallocn(nc ? nc : 1, 4);
    resp *rs = promo_mallocn(rt->n_rows ? rt->n_rows : 1, sizeof *rs);
    if (!pm || !cm || !rs) {
        promo_free(pm);
        promo_free(cm);
        promo_free(rs);
        return PROMO_ENOMEM;
    }
    for (uint32_t k = 0; k < np; k++)
        pm[k] =
            promo_dict_find(ep->dict, promo_dict_key(rp->dict, k), promo_dict_key_len(rp->dict, k));
    for (uint32_t k = 0; k < nc; k++)
        cm[k] =
            promo_dict_find(ec->dict, promo_dict_key(rc->dict, k), promo_dict_key_len(rc->dict, k));
    size_t n = 0;
    for (size_t r = 0; r < rt->n_rows; r++) {
        if (promo_column_is_null(rp, r) || promo_column_is_null(rc, r))
            continue;
        uint32_t a = pm[rp->codes[r]], b = cm[rc->codes[r]];
        if (a == PROMO_DICT_NONE || b == PROMO_DICT_NONE)
            continue;
        rs[n++] = (resp){(uint64_t)a << 32 | b, (uint32_t)r};
    }
    qsort(rs, n, sizeof *rs, by_key);
    promo_free(pm);
    promo_free(cm);
    *out = rs;
    *n_out = n;
    return PROMO_OK;
}

/* ----------------------------------------------------------------- offers ---- */

/* Fill the offer columns of row i (dst: the row's PROMO_UPLIFT_WS_N_OFFER cells) from
 * promotions-table row pr; x is the row's customer features, cat_col the name -> column
 * lookup through the layout names. */
static void offer_cells(const promo_panel *d,
                        uint32_t pr,
                        const float *x,
                        char *const *names,
                        size_t n_cust,
                        const uint32_t *prod_row,
                        float *dst)
{
    for (int k = 0; k < PROMO_UPLIFT_WS_N_OFFER; k++)
        dst[k] = NAN;
    const promo_table *pt = d->promotions;
    if (!pt || pr == PROMO_PANEL_NONE)
        return;
    dst[0] = (float)num_at(promo_table_column(pt, "discount_pct"), pr);
    dst[1] = (float)num_at(promo_table_column(pt, "coupon_value"), pr);
    const promo_column *pcat = col_of(pt, "category", 1), *pprod = col_of(pt, "product_id", 1);
    const char *cat = NULL;
    if (pprod && !promo_column_is_null(pprod, pr)) {
        dst[3] = 0.0f;
        const promo_column *xc = col_of(d->products, "category", 1);
        uint32_t row = prod_row ? prod_row[pprod->codes[pr]] : PROMO_PANEL_NONE;
        if (xc && row != PROMO_PANEL_NONE && !promo_column_is_null(xc, row))
            cat = promo_column_str(xc, row);
    } else if (pcat && !promo_column_is_null(pcat, pr)) {
        dst[3] = 1.0f;
        cat = promo_column_str(pcat, pr);
    }
    if (!cat)
        return;
    char name[512];
    promo_uplift_ws_cat_column(cat, name, sizeof name);
    for (size_t j = 0; j < n_cust; j++)
        if (strcmp(names[j], name) == 0) {
            dst[2] = isnan(x[j]) ? 0.0f : x[j];
            break;
        }
}

/* promotions.product_id code -> products-table row (NONE when unknown). */
static uint32_t *product_rows(const promo_panel *d)
{
    const promo_column *pprod = col_of(d->promotions, "product_id", 1),
                       *xid = col_of(d->products, "product_id", 1);
    if (!pprod)
        return NULL;
    uint32_t n = promo_dict_size(pprod->dict);
    uint32_t *m = promo_mallocn(n ? n : 1, sizeof *m);
    if (!m)
        return NULL;
    for (uint32_t k = 0; k < n; k++)
        m[k] = PROMO_PANEL_NONE;
    if (xid) {
        uint32_t nx = promo_dict_size(xid->dict);
        uint32_t *code_row = promo_mallocn(nx ? nx : 1, sizeof *code_row);
        if (!code_row) {
            promo_free(m);
            return NULL;
        }
        for (uint32_t k = 0; k < nx; k++)
            code_row[k] = PROMO_PANEL_NONE;
        for (size_t r = 0; r < d->products->n_rows; r++)
            if (!promo_column_is_null(xid, r))
                code_row[xid->codes[r]] = (uint32_t)r;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t c = promo_dict_find(xid->dict, promo_dict_key(pprod->dict, k),
                                         promo_dict_key_len(pprod->dict, k));
            m[k] = c == PROMO_DICT_NONE ? PROMO_PANEL_NONE : code_row[c];
        }
        promo_free(code_row);
    }
    return m;
}

static int by_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ----------------------------------------------- outcomes from purchases ---- */

/* A purchase line: the exposures-dictionary customer code, time, transactions-table row. */
typedef struct buy {
    uint32_t cust;
    int64_t ts;
    uint32_t row;
} buy;

static int by_cust_ts(const void *a, const void *b)
{
    const buy *x = a, *y = b;
    if (x->cust != y->cust)
        return x->cust < y->cust ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Dictionary code map: every key of `from` looked up in `to` (PROMO_DICT_NONE if absent). */
static uint32_t *dict_map(const promo_column *from, const promo_column *to)
{
    uint32_t n = from ? promo_dict_size(from->dict) : 0;
    uint32_t *m = promo_mallocn(n ? n : 1, sizeof *m);
    if (!m)
        return NULL;
    for (uint32_t k = 0; k < n; k++)
        m[k] = to ? promo_dict_find(to->dict, promo_dict_key(from->dict, k),
                                    promo_dict_key_len(from->dict, k))
                  : PROMO_DICT_NONE;
    return m;
}

/* Outcomes when the log has no responses: an exposure converted if its customer bought the
 * promoted product (promotions.product_id), or any product of the promoted category
 * (promotions.category, through products.category), in [exposure, exposure + win); revenue =
 * quantity x unit_price of those lines. An exposure whose promotion names neither, or whose
 * product is never sold, has outcome 0. Rows k of r (r->erow, r->ts set), promotions rows
 * promo_of[k]. */
static int purchase_outcomes(const promo_panel *d,
                             const uint32_t *promo_of,
                             int64_t win,
                             promo_uplift_ws_rows *r)
{
    const promo_table *tt = d->transactions, *pt = d->promotions;
    const promo_column *tc = col_of(tt, "customer_id", 1), *tp = col_of(tt, "product_id", 1),
                       *tts = col_of(tt, "ts", 0), *tq = promo_table_column(tt, "quantity"),
                       *tu = promo_table_column(tt, "unit_price"),
                       *ec = col_of(d->exposures, "customer_id", 1),
                       *pp = col_of(pt, "product_id", 1), *pc = col_of(pt, "category", 1),
                       *xid = col_of(d->products, "product_id", 1),
                       *xcat = col_of(d->products, "category", 1);
    for (size_t k = 0; k < r->n; k++) {
        r->y[k] = 0.0f;
        r->revenue[k] = 0.0;
    }
    if (!tc || !tp || !is_time(tts) || !ec || !pt || (!pp && !pc))
        return promo_fail(PROMO_EINPUT,
                          "uplift: no responses are logged, and outcomes from purchases "
                          "need transactions (customer_id, product_id, ts) and promotions with "
                          "product_id or category");
    size_t nt = tt->n_rows;
    buy *b = promo_mallocn(nt ? nt : 1, sizeof *b);
    uint32_t *cm = dict_map(tc, ec), *pm = dict_map(pp, tp), *tx_prod_row = NULL, *tx_cat = NULL;
    int rc = PROMO_ENOMEM;
    if (!b || !cm || !pm)
        goto done;
    /* Each sold product's category as a code of promotions.category (category promotions). */
    if (pc && xid && xcat) {
        uint32_t np = promo_dict_size(tp->dict);
        uint32_t *to_x = dict_map(tp, xid), *cat_of_xcode = dict_map(xcat, pc);
        tx_cat = promo_mallocn(np ? np : 1, sizeof *tx_cat);
        uint32_t nx = promo_dict_size(xid->dict);
        tx_prod_row = promo_mallocn(nx ? nx : 1, sizeof *tx_prod_row);
        if (!to_x || !cat_of_xcode || !tx_cat || !tx_prod_row) {
            promo_free(to_x);
            promo_free(cat_of_xcode);
            goto done;
        }
        for (uint32_t k = 0; k < nx; k++)
            tx_prod_row[k] = PROMO_PANEL_NONE;
        for (size_t q = 0; q < d->products->n_rows; q++)
            if (!promo_column_is_null(xid, q))
                tx_prod_row[xid->codes[q]] = (uint32_t)q;
        for (uint32_t k = 0; k < np; k++) {
            uint32_t row = to_x[k] == PROMO_DICT_NONE ? PROMO_PANEL_NONE : tx_prod_row[to_x[k]];
            tx_cat[k] = row == PROMO_PANEL_NONE || promo_column_is_null(xcat, row)
                            ? PROMO_DICT_NONE
                            : cat_of_xcode[xcat->codes[row]];
        }
        promo_free(to_x);
        promo_free(cat_of_xcode);
    }
    size_t m = 0;
    for (size_t q = 0; q < nt; q++) {
        if (promo_column_is_null(tc, q) || promo_column_is_null(tp, q) ||
            promo_column_is_null(tts, q))
            continue;
        uint32_t c = cm[tc->codes[q]];
        if (c != PROMO_DICT_NONE)
            b[m++] = (buy){c, tts->i64[q], (uint32_t)q};
    }
    qsort(b, m, sizeof *b, by_cust_ts);
    for (size_t k = 0; k < r->n; k++) {
        uint32_t er = r->erow[k], pr = promo_of[k];
        if (pr == PROMO_PANEL_NONE || promo_column_is_null(ec, er))
            continue;
        uint32_t want_prod = PROMO_DICT_NONE, want_cat = PROMO_DICT_NONE;
        if (pp && !promo_column_is_null(pp, pr))
            want_prod = pm[pp->codes[pr]];
        else if (pc && !promo_column_is_null(pc, pr) && tx_cat)
            want_cat = pc->codes[pr];
        if (want_prod == PROMO_DICT_NONE && want_cat == PROMO_DICT_NONE)
            continue;
        uint32_t c = ec->codes[er];
        int64_t t0 = r->ts[k], t1 = t0 + win;
        size_t lo = 0, hi = m;
        while (lo < hi) { /* the customer's first line at or after t0 */
            size_t mid = lo + (hi - lo) / 2;
            if (b[mid].cust < c || (b[mid].cust == c && b[mid].ts < t0))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t q = lo; q < m && b[q].cust == c && b[q].ts < t1; q++) {
            uint32_t code = tp->codes[b[q].row];
            if (want_prod != PROMO_DICT_NONE ? code != want_prod : tx_cat[code] != want_cat)
                continue;
            r->y[k] = 1.0f;
            double v = num_at(tq, b[q].row) * num_at(tu, b[q].row);
            if (isfinite(v))
                r->revenue[k] += v;
        }
    }
    rc = PROMO_OK;
done:
    promo_free(b);
    promo_free(cm);
    promo_free(pm);
    promo_free(tx_prod_row);
    promo_free(tx_cat);
    return rc;
}

/* ------------------------------------------------------------------ build ---- */

int promo_uplift_ws_rows_build(const promo_panel *d,
                               const promo_uplift_ws_params *p,
                               promo_uplift_ws_rows *out)
{
    memset(out, 0, sizeof *out);
    if (!d || !p)
        return promo_fail(PROMO_EUSAGE, "uplift: rows need a panel and params");
    if (!(p->window_days > 0.0 && p->window_days <= 3650.0))
        return promo_fail(PROMO_EUSAGE, "uplift: window %g days is not in (0, 3650]",
                          p->window_days);
    if (!(p->test_frac > 0.0 && p->test_frac < 0.9))
        return promo_fail(PROMO_EUSAGE, "uplift: test share %g is not in (0, 0.9)", p->test_frac);
    promo_panel_exposures e, sub;
    memset(&e, 0, sizeof e);
    memset(&sub, 0, sizeof sub);
    promo_panel_layout l = {0};
    float *Xc = NULL;
    resp *rs = NULL;
    size_t n_rs = 0;
    uint32_t *prod_row = NULL, *sel = NULL;
    int32_t *arm_map = NULL;
    int64_t *tsort = NULL;
    double *disc = NULL;
    promo_uplift_ws_rows r;
    memset(&r, 0, sizeof r);
    int rc;
    promo_panel_exposure_params ep = promo_panel_exposure_params_default();
    if ((rc = promo_panel_exposure_rows(d, &ep, &e)))
        goto fail;
    r.as_of = p->as_of ? p->as_of : promo_uplift_ws_default_as_of(d);
    int64_t win = (int64_t)llround(p->window_days * (double)PROMO_PANEL_DAY);

    /* Arms: control first, the pooled arm counted as the one it is pooled into. */
    rc = PROMO_ENOMEM;
    arm_map = promo_mallocn(e.n_arms ? e.n_arms : 1, sizeof *arm_map);
    r.arm_names = promo_calloc(e.n_arms ? e.n_arms : 1, sizeof *r.arm_names);
    if (!arm_map || !r.arm_names)
        goto fail;
    if (!e.has_control) {
        rc = promo_fail(PROMO_EINPUT, "uplift: the exposures log has no 'control' arm, so no "
                                      "effect can be estimated");
        goto fail;
    }
    int32_t pooled = -1, into = -1;
    for (uint32_t k = 0; k < e.n_arms; k++) {
        if (p->pool_arm && strcmp(e.arm_names[k], p->pool_arm) == 0)
            pooled = (int32_t)k;
        if (p->pool_into && strcmp(e.arm_names[k], p->pool_into) == 0)
            into = (int32_t)k;
    }
    if (into < 0)
        pooled = -1;
    for (uint32_t k = 0; k < e.n_arms; k++) {
        if ((int32_t)k == pooled)
            continue;
        arm_map[k] = r.n_arms;
        if (!(r.arm_names[r.n_arms++] = promo_strdup(e.arm_names[k])))
            goto fail;
    }
    if (pooled >= 0)
        arm_map[pooled] = arm_map[into];
    if (r.n_arms < 2) {
        rc = promo_fail(PROMO_EINPUT, "uplift: the exposures log has only the control arm");
        goto fail;
    }

    /* Eligible rows: the outcome window closed by as_of. */
    sel = promo_mallocn(e.n ? e.n : 1, sizeof *sel);
    if (!sel)
        goto fail;
    size_t n = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.ts[i] == PROMO_PANEL_NO_TIME || e.ts[i] > r.as_of - win)
            r.n_late++;
        else
            sel[n++] = (uint32_t)i;
    }
    if (n == 0) {
        char buf[32];
        promo_time_format_cutoff(r.as_of, buf, sizeof buf);
        rc = promo_fail(PROMO_EINPUT,
                        "uplift: no exposure's %g-day outcome window closes by %s (--as-of): "
                        "nothing to learn from",
                        p->window_days, buf);
        goto fail;
    }
    rc = PROMO_ENOMEM;
    sub.n = n;
    sub.erow = promo_mallocn(n, sizeof *sub.erow);
    sub.cutoff = promo_mallocn(n, sizeof *sub.cutoff);
    r.n = n;
    r.arm = promo_mallocn(n, sizeof *r.arm);
    r.randomised = promo_mallocn(n, 1);
    r.part = promo_mallocn(n, 1);
    r.y = promo_mallocn(n, sizeof *r.y);
    r.revenue = promo_mallocn(n, sizeof *r.revenue);
    r.ts = promo_mallocn(n, sizeof *r.ts);
    r.erow = promo_mallocn(n, sizeof *r.erow);
    tsort = promo_mallocn(n, sizeof *tsort);
    disc = promo_mallocn(n, sizeof *disc);
    if (!sub.erow || !sub.cutoff || !r.arm || !r.randomised || !r.part || !r.y || !r.revenue ||
        !r.ts || !r.erow || !tsort || !disc)
        goto fail;
    if ((rc = build_resp(d->exposures, d->responses, &rs, &n_rs)))
        goto fail;
    const promo_column *ep_ = col_of(d->exposures, "promotion_id", 1),
                       *ec_ = col_of(d->exposures, "customer_id", 1);
    for (size_t k = 0; k < n; k++) {
        size_t i = sel[k];
        uint32_t er = e.erow[i];
        sub.erow[k] = er;
        sub.cutoff[k] = e.cutoff[i];
        r.erow[k] = er;
        r.ts[k] = e.ts[i];
        r.arm[k] = arm_map[e.arm[i]];
        r.randomised[k] = (int32_t)e.arm[i] != pooled;
        r.n_pooled += (int32_t)e.arm[i] == pooled;
        r.y[k] = 0.0f;
        r.revenue[k] = 0.0;
        if (d->responses && !promo_column_is_null(ep_, er) && !promo_column_is_null(ec_, er))
            outcome_of(d->responses, rs, n_rs, (uint64_t)ep_->codes[er] << 32 | ec_->codes[er],
                       e.ts[i], e.ts[i] + win, &r.y[k], &r.revenue[k]);
        tsort[k] = e.ts[i];
    }

    /* No responses logged at all: the outcome from purchases instead. */
    if (!d->responses || d->responses->n_rows == 0) {
        uint32_t *pr_of = promo_mallocn(n, sizeof *pr_of);
        if (!pr_of) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        for (size_t k = 0; k < n; k++)
            pr_of[k] = e.promo[sel[k]];
        rc = purchase_outcomes(d, pr_of, win, &r);
        promo_free(pr_of);
        if (rc)
            goto fail;
        r.outcome_from_purchases = 1;
    }

    /* Features as of each exposure, then the offer columns. */
    promo_feature_params fp = promo_feature_params_default();
    fp.clv = p->clv;
    fp.n_threads = d->n_threads;
    if ((rc = promo_panel_exposure_matrix(d, &sub, &fp, &l, &Xc)))
        goto fail;
    rc = PROMO_ENOMEM;
    r.d = l.n + PROMO_UPLIFT_WS_N_OFFER;
    r.names = promo_calloc(r.d, sizeof *r.names);
    r.X = promo_mallocn(n, r.d * sizeof *r.X);
    if (!r.names || !r.X)
        goto fail;
    static const char *const offer_names[PROMO_UPLIFT_WS_N_OFFER] = {
        "offer_discount_pct", "offer_coupon_value", "offer_cat_share", "offer_category_level"};
    for (size_t j = 0; j < r.d; j++)
        if (!(r.names[j] = promo_strdup(j < l.n ? l.names[j] : offer_names[j - l.n])))
            goto fail;
    prod_row = product_rows(d);
    if (!prod_row && col_of(d->promotions, "product_id", 1))
        goto fail;
    size_t n_disc = 0;
    for (size_t k = 0; k < n; k++) {
        float *dst = r.X + k * r.d;
        memcpy(dst, Xc + k * l.n, l.n * sizeof *dst);
        offer_cells(d, e.promo[sel[k]], dst, l.names, l.n, prod_row, dst + l.n);
        if (!isnan(dst[l.n]))
            disc[n_disc++] = dst[l.n];
    }
    qsort(disc, n_disc, sizeof *disc, by_double);
    r.discount_pct_median = n_disc ? disc[n_disc / 2] : NAN;

    /* Split by time. */
    qsort(tsort, n, sizeof *tsort, by_i64);
    size_t first_test = (size_t)floor((1.0 - p->test_frac) * (double)n);
    if (first_test >= n)
        first_test = n - 1;
    r.split_ts = tsort[first_test];
    for (size_t k = 0; k < n; k++) {
        if (r.ts[k] >= r.split_ts) {
            r.part[k] = PROMO_UPLIFT_WS_TEST;
            r.n_test++;
        } else if (r.ts[k] + win <= r.split_ts) {
            r.part[k] = PROMO_UPLIFT_WS_TRAIN;
            r.n_train++;
        } else {
            r.part[k] = PROMO_UPLIFT_WS_GAP;
            r.n_gap++;
        }
    }
    if (!r.n_train || !r.n_test) {
        rc = promo_fail(PROMO_EINPUT,
                        "uplift: %zu exposures have a closed outcome window, but the time split "
                        "leaves %zu training and %zu test rows (a longer history, an earlier "
                        "--window or a later --as-of helps)",
                        n, r.n_train, r.n_test);
        goto fail;
    }
    *out = r;
    memset(&r, 0, sizeof r);
    rc = PROMO_OK;
fail:
    promo_uplift_ws_rows_free(&r);
    promo_panel_exposures_free(&e);
    promo_free(sub.erow);
    promo_free(sub.cutoff);
    promo_panel_layout_free(&l);
    promo_free(Xc);
    promo_free(rs);
    promo_free(prod_row);
    promo_free(sel);
    promo_free(arm_map);
    promo_free(tsort);
    promo_free(disc);
    return rc;
}
