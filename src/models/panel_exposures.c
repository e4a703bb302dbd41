/* src/models/panel_exposures.c: promotion outcomes as panel rows, for uplift (promo/panel.h).
 *
 * One row per exposures-table row: its arm, its response and the cutoff its features are taken
 * at. Responses are joined on (promotion_id, customer_id) through the exposures' dictionaries:
 * the response keys are mapped to exposures codes once per distinct string, packed into 64-bit
 * keys and sorted, so each exposure finds its responses by binary search.
 *
 * The matrix computes the customer features (features.h) once per distinct cutoff, in
 * increasing order, and scatters each customer's row to the exposures cut there. Bucketing
 * the cutoffs (a day by default) is what keeps that number small: a promotion's exposures
 * spread over days, not seconds. A bucketed cutoff is floored, never rounded up, so it stays at
 * or before the exposure: features read rows strictly before it and see nothing the exposure
 * caused.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/panel.h>

promo_panel_exposure_params promo_panel_exposure_params_default(void)
{
    promo_panel_exposure_params p;
    memset(&p, 0, sizeof p);
    p.promotion_id = NULL;
    p.cutoff = PROMO_PANEL_CUT_EXPOSURE;
    p.bucket_s = PROMO_PANEL_DAY;
    return p;
}

void promo_panel_exposures_free(promo_panel_exposures *r)
{
    if (!r)
        return;
    promo_free(r->erow);
    promo_free(r->promo);
    promo_free(r->arm);
    promo_free(r->y);
    promo_free(r->revenue);
    promo_free(r->ts);
    promo_free(r->cutoff);
    if (r->arm_names)
        for (uint32_t k = 0; k < r->n_arms; k++)
            promo_free(r->arm_names[k]);
    promo_free(r->arm_names);
    memset(r, 0, sizeof *r);
}

/* Column `name` of t, of a string type (want_str) or a numeric/time/bool one; else NULL. */
static const promo_column *col_of(const promo_table *t, const char *name, int want_str)
{
    const promo_column *c = t ? promo_table_column(t, name) : NULL;
    if (!c)
        return NULL;
    return (c->type == PROMO_COL_STRING) == (want_str != 0) ? c : NULL;
}

static int is_time(const promo_column *c)
{
    return c && (c->type == PROMO_COL_TIMESTAMP || c->type == PROMO_COL_INT64);
}

static int64_t floor_to(int64_t t, int64_t b)
{
    if (b <= 0 || t == PROMO_PANEL_NO_TIME)
        return t;
    int64_t m = t % b;
    return m < 0 ? t - m - b : t - m;
}

/* Dictionary code of each key of c's dictionary in target, PROMO_PANEL_NONE if absent. */
static uint32_t *map_codes(const promo_column *c, const promo_dict *target)
{
    uint32_t n = promo_dict_size(c->dict);
    uint32_t *m = promo_mallocn(n ? n : 1, sizeof *m);
    if (!m)
        return NULL;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t t =
            promo_dict_find(target, promo_dict_key(c->dict, k), promo_dict_key_len(c->dict, k));
        m[k] = t == PROMO_DICT_NONE ? PROMO_PANEL_NONE : t;
    }
    return m;
}

/* A response: (promotion, customer) as exposures codes, and its outcome. */
typedef struct resp {
    uint64_t key; /* promo code << 32 | customer code */
    double conv, rev;
} resp;

static int by_resp_key(const void *a, const void *b)
{
    const resp *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

int promo_panel_exposure_rows(const promo_panel *d,
                              const promo_panel_exposure_params *params,
                              promo_panel_exposures *out)
{
    promo_panel_exposure_params p = params ? *params : promo_panel_exposure_params_default();
    memset(out, 0, sizeof *out);
    const promo_table *et = d->exposures, *rt = d->responses;
    /* No responses table (a retailer that logs its sends but not their redemptions): every
     * outcome here is 0 and the caller takes it from the purchases (uplift_ws.c). */
    if (!et)
        return promo_fail(PROMO_ENOTFOUND, "panel: the workspace has no exposures table");
    const promo_column *ep = col_of(et, "promotion_id", 1), *ec = col_of(et, "customer_id", 1),
                       *ets = col_of(et, "ts", 0), *earm = col_of(et, "arm", 1),
                       *rp = col_of(rt, "promotion_id", 1), *rc_ = col_of(rt, "customer_id", 1),
                       *rconv = col_of(rt, "converted", 0), *rrev = col_of(rt, "revenue", 0);
    if (!ep || !ec || !is_time(ets) || (rt && (!rp || !rc_ || !rconv)))
        return promo_fail(PROMO_EINPUT, "panel: exposures need promotion_id, customer_id "
                                        "(strings) and ts; responses need promotion_id, "
                                        "customer_id and converted");
    const promo_column *pid = col_of(d->promotions, "promotion_id", 1),
                       *pstart = col_of(d->promotions, "start", 0);
    if (!is_time(pstart))
        pstart = NULL;
    int rc = PROMO_ENOMEM;
    uint32_t *rp_map = NULL, *rc_map = NULL, *prow = NULL, *arm_of = NULL;
    resp *rs = NULL;
    size_t n_rs = 0;
    uint32_t want = PROMO_PANEL_NONE; /* exposures promotion code of the filter */
    if (p.promotion_id) {
        want = promo_dict_find(ep->dict, p.promotion_id, strlen(p.promotion_id));
        if (want == PROMO_DICT_NONE)
            return promo_fail(PROMO_ENOTFOUND, "panel: no exposures of promotion '%s'",
                              p.promotion_id);
    }
    /* Responses as sorted exposures-coded keys. */
    size_t n_rt = rt ? rt->n_rows : 0;
    rp_map = rt ? map_codes(rp, ep->dict) : NULL;
    rc_map = rt ? map_codes(rc_, ec->dict) : NULL;
    rs = promo_mallocn(n_rt ? n_rt : 1, sizeof *rs);
    if ((rt && (!rp_map || !rc_map)) || !rs)
        goto fail;
    for (size_t r = 0; r < n_rt; r++) {
        if (promo_column_is_null(rp, r) || promo_column_is_null(rc_, r))
            continue;
        uint32_t a = rp_map[rp->codes[r]], b = rc_map[rc_->codes[r]];
        if (a == PROMO_PANEL_NONE || b == PROMO_PANEL_NONE)
            continue;
        double cv = promo_column_num(rconv, r), rv = rrev ? promo_column_num(rrev, r) : 0.0;
        rs[n_rs++] = (resp){(uint64_t)a << 32 | b, cv > 0 ? 1.0 : 0.0, isfinite(rv) ? rv : 0.0};
    }
    qsort(rs, n_rs, sizeof *rs, by_resp_key);
    /* Promotions-table row of each exposures promotion code. */
    uint32_t n_pc = promo_dict_size(ep->dict);
    prow = promo_mallocn(n_pc ? n_pc : 1, sizeof *prow);
    if (!prow)
        goto fail;
    for (uint32_t k = 0; k < n_pc; k++)
        prow[k] = PROMO_PANEL_NONE;
    if (pid)
        for (size_t r = 0; r < d->promotions->n_rows; r++) {
            if (promo_column_is_null(pid, r))
                continue;
            const char *s = promo_column_str(pid, r);
            uint32_t k = promo_dict_find(ep->dict, s, strlen(s));
            if (k != PROMO_DICT_NONE && prow[k] == PROMO_PANEL_NONE)
                prow[k] = (uint32_t)r;
        }
    /* The rows. */
    size_t n = 0;
    for (size_t r = 0; r < et->n_rows; r++)
        n += want == PROMO_PANEL_NONE || (!promo_column_is_null(ep, r) && ep->codes[r] == want);
    size_t m = n ? n : 1;
    out->erow = promo_mallocn(m, sizeof *out->erow);
    out->promo = promo_mallocn(m, sizeof *out->promo);
    out->arm = promo_mallocn(m, sizeof *out->arm);
    out->y = promo_mallocn(m, sizeof *out->y);
    out->revenue = promo_mallocn(m, sizeof *out->revenue);
    out->ts = promo_mallocn(m, sizeof *out->ts);
    out->cutoff = promo_mallocn(m, sizeof *out->cutoff);
    if (!out->erow || !out->promo || !out->arm || !out->y || !out->revenue || !out->ts ||
        !out->cutoff)
        goto fail;
    /* Arms: arm-column code + 1 (0 = null or no column = "treatment") -> arm index, assigned
     * after a first pass that sees which arms occur. */
    uint32_t n_codes = earm ? promo_dict_size(earm->dict) : 0;
    arm_of = promo_calloc((size_t)n_codes + 1, sizeof *arm_of);
    if (!arm_of)
        goto fail;
    size_t i = 0;
    for (size_t r = 0; r < et->n_rows; r++) {
        int null_p = promo_column_is_null(ep, r);
        if (want != PROMO_PANEL_NONE && (null_p || ep->codes[r] != want))
            continue;
        uint32_t pc = null_p ? PROMO_PANEL_NONE : ep->codes[r];
        out->erow[i] = (uint32_t)r;
        out->promo[i] = pc == PROMO_PANEL_NONE ? PROMO_PANEL_NONE : prow[pc];
        out->arm[i] = earm && !promo_column_is_null(earm, r) ? earm->codes[r] + 1 : 0;
        arm_of[out->arm[i]] = 1;
        out->ts[i] = promo_column_is_null(ets, r) ? PROMO_PANEL_NO_TIME : ets->i64[r];
        /* The outcome: every response of (promotion, customer). */
        double cv = 0, rv = 0;
        if (pc != PROMO_PANEL_NONE && !promo_column_is_null(ec, r)) {
            resp key = {(uint64_t)pc << 32 | ec->codes[r], 0, 0};
            size_t lo = 0, hi = n_rs;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (rs[mid].key < key.key)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (; lo < n_rs && rs[lo].key == key.key; lo++) {
                cv = fmax(cv, rs[lo].conv);
                rv += rs[lo].rev;
            }
        }
        out->y[i] = (float)cv;
        out->revenue[i] = rv;
        /* The cutoff: the exposure, or its promotion's start when that is known and not
         * later (a start after the exposure would let the features see it). */
        int64_t cut = out->ts[i];
        uint32_t pr = out->promo[i];
        if (p.cutoff == PROMO_PANEL_CUT_START && pr != PROMO_PANEL_NONE && pstart &&
            !promo_column_is_null(pstart, pr)) {
            int64_t st = pstart->i64[pr];
            if (cut == PROMO_PANEL_NO_TIME || st < cut)
                cut = st;
        }
        out->cutoff[i] = floor_to(cut, p.bucket_s);
        i++;
    }
    out->n = n;
    /* Arm names: control first, then the arm column's dictionary order, then "treatment" for
     * null arms (which join an arm named "treatment" when there is one). */
    uint32_t control = PROMO_PANEL_NONE, treat = PROMO_PANEL_NONE;
    for (uint32_t k = 0; k < n_codes; k++) {
        const char *a = promo_dict_key(earm->dict, k);
        if (strcmp(a, "control") == 0)
            control = k + 1;
        else if (strcmp(a, "treatment") == 0)
            treat = k + 1;
    }
    if (arm_of[0] && treat != PROMO_PANEL_NONE) {
        for (size_t j = 0; j < n; j++)
            if (out->arm[j] == 0)
                out->arm[j] = treat;
        arm_of[treat] = 1;
        arm_of[0] = 0;
    }
    uint32_t n_arms = 0;
    for (uint32_t k = 0; k <= n_codes; k++)
        n_arms += arm_of[k] != 0;
    out->arm_names = promo_calloc(n_arms ? n_arms : 1, sizeof *out->arm_names);
    if (!out->arm_names)
        goto fail;
    out->n_arms = n_arms;
    out->has_control = control != PROMO_PANEL_NONE && arm_of[control];
    uint32_t next = 0;
    for (uint32_t q = 0; q <= n_codes + 1; q++) {
        /* slot order: control, codes 1..n_codes but control, then 0 (null) */
        uint32_t k = q == 0 ? control : q <= n_codes ? q : 0;
        if (k == PROMO_PANEL_NONE || (q > 0 && k == control) || !arm_of[k])
            continue;
        const char *a = k ? promo_dict_key(earm->dict, k - 1) : "treatment";
        if (!(out->arm_names[next] = promo_strdup(a)))
            goto fail;
        arm_of[k] = next++;
    }
    for (size_t j = 0; j < n; j++)
        out->arm[j] = arm_of[out->arm[j]];
    rc = PROMO_OK;
fail:
    if (rc) {
        promo_panel_exposures_free(out);
        if (rc == PROMO_ENOMEM)
            promo_fail(PROMO_ENOMEM, "panel: out of memory");
    }
    promo_free(rp_map);
    promo_free(rc_map);
    promo_free(prow);
    promo_free(arm_of);
    promo_free(rs);
    return rc;
}

/* ------------------------------------------------------------------ matrix ---- */

typedef struct cut_row {
    int64_t cutoff;
    uint32_t i; /* row */
    uint32_t pad;
} cut_row;

static int by_cut(const void *a, const void *b)
{
    const cut_row *x = a, *y = b;
    if (x->cutoff != y->cutoff)
        return x->cutoff < y->cutoff ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The customer ids of rows order[a..b) into ids (b - a entries; null customers left out), for
 * promo_feature_params.only. Returns their count. */
static size_t cut_ids(const promo_panel_exposures *r,
                      const promo_column *ec,
                      const cut_row *order,
                      size_t a,
                      size_t b,
                      const char **ids)
{
    size_t n = 0;
    for (size_t k = a; k < b; k++) {
        uint32_t er = r->erow[order[k].i];
        if (!promo_column_is_null(ec, er))
            ids[n++] = promo_dict_key(ec->dict, ec->codes[er]);
    }
    return n;
}

/* Column of f for each layout column (-1: absent). */
static void layout_map(const promo_features *f, const promo_panel_layout *l, int *cmap)
{
    for (size_t j = 0; j < l->n; j++)
        cmap[j] = j < f->n_features && strcmp(f->feature_names[j], l->names[j]) == 0
                      ? (int)j
                      : promo_features_column(f, l->names[j]);
}

/* Rows order[a..b) (one cutoff) take their customer's row of f; frow and cmap are scratch of
 * n_codes and l->n entries. Each cutoff writes its own rows of X only. */
static void scatter_cut(const promo_features *f,
                        const promo_panel_exposures *r,
                        const promo_column *ec,
                        const cut_row *order,
                        size_t a,
                        size_t b,
                        const promo_panel_layout *l,
                        float *X,
                        uint32_t *frow,
                        int *cmap)
{
    uint32_t n_codes = promo_dict_size(ec->dict);
    layout_map(f, l, cmap);
    for (uint32_t k = 0; k < n_codes; k++)
        frow[k] = PROMO_PANEL_NONE;
    for (size_t c = 0; c < f->n_customers; c++) {
        const char *id = promo_features_customer_id(f, c);
        uint32_t k = promo_dict_find(ec->dict, id, strlen(id));
        if (k != PROMO_DICT_NONE)
            frow[k] = (uint32_t)c;
    }
    for (size_t k = a; k < b; k++) {
        uint32_t i = order[k].i, er = r->erow[i];
        if (promo_column_is_null(ec, er) || frow[ec->codes[er]] == PROMO_PANEL_NONE)
            continue;
        const float *src = f->X + (size_t)frow[ec->codes[er]] * f->n_features;
        float *dst = X + (size_t)i * l->n;
        for (size_t j = 0; j < l->n; j++)
            dst[j] = cmap[j] >= 0 ? src[cmap[j]] : NAN;
    }
}

int promo_panel_exposure_matrix(const promo_panel *d,
                                const promo_panel_exposures *r,
                                const promo_feature_params *fp_in,
                                promo_panel_layout *l,
                                float **X_out)
{
    *X_out = NULL;
    const promo_column *ec = d->exposures ? col_of(d->exposures, "customer_id", 1) : NULL;
    if (!ec)
        return promo_fail(PROMO_EINPUT, "panel: exposures need customer_id (strings)");
    promo_feature_params fp = fp_in ? *fp_in : promo_feature_params_default();
    fp.products = 0; /* X only */
    if (!fp_in)
        fp.n_threads = d->n_threads;
    int nt = fp.n_threads > 0 ? fp.n_threads : omp_get_max_threads();
    int made_layout = l->n == 0;
    int rc = PROMO_ENOMEM;
    cut_row *order = promo_mallocn(r->n ? r->n : 1, sizeof *order);
    size_t *grp = promo_mallocn(r->n + 1, sizeof *grp); /* first row of each distinct cutoff */
    const char **ids = NULL; /* per thread: the customers of a cutoff (fp.only) */
    uint32_t n_codes = promo_dict_size(ec->dict);
    uint32_t *frow = NULL; /* per thread: code -> f row */
    int *cmap = NULL;      /* per thread: layout column -> f column */
    float *X = NULL;
    promo_features *f = NULL;
    promo_features_days *days = NULL; /* the lines read and sorted once for every cutoff */
    if (!order || !grp)
        goto fail;
    for (size_t i = 0; i < r->n; i++)
        order[i] = (cut_row){r->cutoff[i], (uint32_t)i, 0};
    qsort(order, r->n, sizeof *order, by_cut);
    /* Rows without a cutoff sort first (PROMO_PANEL_NO_TIME is the smallest): NaN. */
    size_t a = 0, n_grp = 0;
    while (a < r->n && order[a].cutoff == PROMO_PANEL_NO_TIME)
        a++;
    for (size_t b; a < r->n; a = b) {
        for (b = a; b < r->n && order[b].cutoff == order[a].cutoff; b++)
            ;
        grp[n_grp++] = a;
    }
    grp[n_grp] = r->n;
    size_t max_grp = 0;
    for (size_t g = 0; g < n_grp; g++)
        if (grp[g + 1] - grp[g] > max_grp)
            max_grp = grp[g + 1] - grp[g];
    ids = promo_mallocn((size_t)nt * (max_grp ? max_grp : 1), sizeof *ids);
    if (!ids)
        goto fail;
    /* The first (earliest) cutoff on every thread: it gives the layout when none is given. */
    if (n_grp) {
        fp.as_of = order[r->n - 1].cutoff;
        if ((rc = promo_features_days_open(&d->in, &fp, &days)))
            goto fail;
        fp.as_of = order[grp[0]].cutoff;
        fp.n_only = cut_ids(r, ec, order, grp[0], grp[1], ids);
        fp.only = ids;
        if ((rc = promo_features_days_compute(days, &fp, &f)))
            goto fail;
        rc = PROMO_ENOMEM;
        if (made_layout && (rc = promo_panel_layout_make(PROMO_PANEL_ANY, f, l)))
            goto fail;
        rc = PROMO_ENOMEM;
    } else if (made_layout) { /* no row with a cutoff: the layout cannot come from a cut */
        rc = promo_fail(PROMO_EINPUT, "panel: no exposure row has a cutoff");
        goto fail;
    }
    X = promo_mallocn(r->n ? r->n * l->n : 1, sizeof *X);
    frow = promo_mallocn((size_t)nt * (n_codes ? n_codes : 1), sizeof *frow);
    cmap = promo_mallocn((size_t)nt * (l->n ? l->n : 1), sizeof *cmap);
    if (!X || !frow || !cmap)
        goto fail;
    for (size_t k = 0; k < r->n * l->n; k++)
        X[k] = NAN;
    if (f) {
        scatter_cut(f, r, ec, order, grp[0], grp[1], l, X, frow, cmap);
        promo_features_free(f);
        f = NULL;
    }
    /* The other cutoffs, one per thread at a time, each computed on one thread: a cut of a
     * 100,000-customer world spends much of its time in short parallel loops and the CLV
     * fits' starts, whose barriers cost more than they split on a shared machine; distinct
     * cutoffs share nothing but the input tables. Each cut's features do not depend on the
     * thread count (promo_features_compute), so neither does X. */
    int failed = PROMO_OK;
    char why[512] = ""; /* the first failure's message: promo_last_error is per thread */
#pragma omp parallel num_threads(nt) if (n_grp > 2 && nt > 1)
    {
        int me = omp_get_thread_num();
        promo_feature_params fq = fp;
        fq.n_threads = omp_get_num_threads() > 1 ? 1 : nt;
        uint32_t *my_frow = frow + (size_t)me * (n_codes ? n_codes : 1);
        int *my_cmap = cmap + (size_t)me * (l->n ? l->n : 1);
        const char **my_ids = ids + (size_t)me * (max_grp ? max_grp : 1);
        fq.only = my_ids;
#pragma omp for schedule(dynamic, 1)
        for (size_t g = 1; g < n_grp; g++) {
            int bad;
#pragma omp atomic read
            bad = failed;
            if (bad)
                continue;
            promo_features *fg = NULL;
            fq.as_of = order[grp[g]].cutoff;
            fq.n_only = cut_ids(r, ec, order, grp[g], grp[g + 1], my_ids);
            int e = promo_features_days_compute(days, &fq, &fg);
            if (e) {
                /* The message is this thread's: keep the first failure's. */
#pragma omp critical(panel_exposures_fail)
                if (!failed) {
                    failed = e;
                    snprintf(why, sizeof why, "%s", promo_last_error());
                }
                continue;
            }
            scatter_cut(fg, r, ec, order, grp[g], grp[g + 1], l, X, my_frow, my_cmap);
            promo_features_free(fg);
        }
    }
    if (failed) {
        rc = promo_fail(failed, "%s", why);
        goto fail;
    }
    *X_out = X;
    X = NULL;
    rc = PROMO_OK;
fail:
    if (rc && made_layout)
        promo_panel_layout_free(l);
    promo_features_free(f);
    promo_features_days_free(days);
    promo_free(X);
    promo_free(cmap);
    promo_free(frow);
    promo_free(grp);
    promo_free(ids);
    promo_free(order);
    return rc;
}
