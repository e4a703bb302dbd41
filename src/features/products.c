/* Product features, the product x product co-purchase matrix and the weekly price/quantity
 * series behind the elasticities, all read from the order slots that the customer pass wrote
 * (one slot per (order, distinct product); slots of one order are contiguous).
 *
 * Slots (packed) and co-purchase partners (emitted per order) are bucketed by product with the
 * same stable parallel counting sort as the lines; each product is then independent: its weekly
 * bins, price changes and co-purchase row are built with per-thread dense scratch (a counter per
 * product, reset through a touched list) into per-chunk buffers concatenated in chunk order, so the
 * output does not depend on threads.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/timeutil.h>

#include "features/features_internal.h"

#define N_CHUNK_PRODUCTS 64

typedef struct pchunk {
    uint32_t *col; /* co-purchase columns */
    float *val;    /* co-purchase counts */
    size_t n, cap;
    promo_price_obs *obs; /* weekly observations */
    size_t n_obs, cap_obs;
} pchunk;

static int push_co(pchunk *b, uint32_t col, float v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        uint32_t *c = promo_reallocn(b->col, cap, sizeof *c);
        if (!c)
            return -1;
        b->col = c;
        float *f = promo_reallocn(b->val, cap, sizeof *f);
        if (!f)
            return -1;
        b->val = f;
        b->cap = cap;
    }
    b->col[b->n] = col;
    b->val[b->n++] = v;
    return 0;
}

static int push_obs(pchunk *b, const promo_price_obs *o)
{
    if (b->n_obs == b->cap_obs) {
        size_t cap = b->cap_obs ? b->cap_obs * 2 : 256;
        promo_price_obs *n = promo_reallocn(b->obs, cap, sizeof *n);
        if (!n)
            return -1;
        b->obs = n;
        b->cap_obs = cap;
    }
    b->obs[b->n_obs++] = *o;
    return 0;
}

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static float day_of_year_mid_week(int32_t week)
{
    int64_t thu = (int64_t)week * 7; /* week w spans days 7w-3 (Monday) .. 7w+3; day 0 = Thu */
    int y;
    unsigned m, d;
    promo_civil_from_days(thu, &y, &m, &d);
    return (float)(thu - promo_days_from_civil(y, 1, 1));
}

/* A slot's fields, copied into product order by the counting sort so that the per-product
 * pass reads them sequentially (gathering them from six arrays cost a cache miss each). */
typedef struct pslot {
    uint32_t glo, gn; /* the order's slot run */
    double rev;
    float qty, list;
    int32_t week;
    uint32_t pad;
} pslot;

typedef struct pscratch {
    uint32_t *cnt;   /* n_prod co-occurrence counters */
    uint32_t *touch; /* touched products */
    double *wq, *wr; /* per week: units, revenue */
    uint8_t *wseen;
} pscratch;

int fx_products(fx_ctx *c, promo_features *f)
{
    uint32_t np = c->n_prod;
    size_t ns = c->n_lines;
    int nt = c->nt, rc = PROMO_ENOMEM;
    promo_product_features *pf = &f->products;
    uint64_t *cnt = promo_calloc((size_t)nt * ((size_t)np + 1), sizeof *cnt);
    uint64_t *poff = promo_calloc((size_t)np + 2, sizeof *poff);
    uint64_t *pcnt = promo_calloc((size_t)nt * ((size_t)np + 1), sizeof *pcnt);
    uint64_t *pairoff = promo_calloc((size_t)np + 2, sizeof *pairoff);
    uint32_t *partner = NULL;
    pslot *sidx = promo_mallocn(ns ? ns : 1, sizeof *sidx);
    uint32_t *buy = promo_calloc((size_t)nt * 2 * ((size_t)np + 1), sizeof *buy);
    size_t n_chunks = ((size_t)np + N_CHUNK_PRODUCTS - 1) / N_CHUNK_PRODUCTS;
    pchunk *ch = promo_calloc(n_chunks + 1, sizeof *ch);
    uint32_t *co_nnz = promo_calloc((size_t)np + 1, sizeof *co_nnz);
    promo_price_obs *obs = NULL;
    int32_t n_weeks = c->n_lines ? c->week_max - c->week_min + 1 : 1;
    pf->n_products = np;
    size_t npa = np ? np : 1;
    pf->n_buyers = promo_calloc(npa, sizeof *pf->n_buyers);
    pf->n_orders = promo_calloc(npa, sizeof *pf->n_orders);
    pf->units = promo_calloc(npa, sizeof *pf->units);
    pf->revenue = promo_calloc(npa, sizeof *pf->revenue);
    pf->avg_price = promo_calloc(npa, sizeof *pf->avg_price);
    pf->list_price = promo_calloc(npa, sizeof *pf->list_price);
    pf->n_price_changes = promo_calloc(npa, sizeof *pf->n_price_changes);
    pf->category = promo_calloc(npa, sizeof *pf->category);
    pf->repeat_rate = promo_calloc(npa, sizeof *pf->repeat_rate);
    pf->avg_discount = promo_calloc(npa, sizeof *pf->avg_discount);
    pf->n_copurchased = promo_calloc(npa, sizeof *pf->n_copurchased);
    pf->copurchase_orders = promo_calloc(npa, sizeof *pf->copurchase_orders);
    if (!cnt || !poff || !pcnt || !pairoff || !sidx || !buy || !ch || !co_nnz || !pf->n_buyers ||
        !pf->n_orders || !pf->units || !pf->revenue || !pf->avg_price || !pf->list_price ||
        !pf->n_price_changes || !pf->category || !pf->repeat_rate || !pf->avg_discount ||
        !pf->n_copurchased || !pf->copurchase_orders)
        goto done;
    /* Slots by product: stable parallel counting sort. */
    size_t nb = (size_t)np + 1;
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), T = omp_get_num_threads();
        size_t lo = ns * (size_t)tid / (size_t)T, hi = ns * (size_t)(tid + 1) / (size_t)T;
        uint64_t *my = cnt + (size_t)tid * nb;
        for (size_t k = lo; k < hi; k++)
            if (c->s.prod[k] != FX_NONE)
                my[c->s.prod[k]]++;
    }
    uint64_t run = 0;
    for (size_t b = 0; b < np; b++) {
        poff[b] = run;
        for (int k = 0; k < nt; k++) {
            uint64_t v = cnt[(size_t)k * nb + b];
            cnt[(size_t)k * nb + b] = run;
            run += v;
        }
    }
    poff[np] = run;
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), T = omp_get_num_threads();
        size_t lo = ns * (size_t)tid / (size_t)T, hi = ns * (size_t)(tid + 1) / (size_t)T;
        uint64_t *my = cnt + (size_t)tid * nb;
        for (size_t k = lo; k < hi; k++)
            if (c->s.prod[k] != FX_NONE)
                sidx[my[c->s.prod[k]]++] =
                    (pslot){c->s.glo[k],  c->s.gn[k], c->s.rev[k], c->s.qty[k], c->s.list[k],
                            c->s.week[k], 0};
    }
    /* Co-purchase partners bucketed by product: every order (a run of slots) emits, for each
     * of its products, the other products of the run. Reading the orders sequentially here
     * replaces a cache miss per (product, order) in the per-product pass. Same stable
     * parallel counting sort as above; the counts built from it are integers. */
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), T = omp_get_num_threads();
        size_t lo = ns * (size_t)tid / (size_t)T, hi = ns * (size_t)(tid + 1) / (size_t)T;
        uint64_t *my = pcnt + (size_t)tid * nb;
        for (size_t k = lo; k < hi; k++)
            if (c->s.prod[k] != FX_NONE && c->s.glo[k] == k && c->s.gn[k] > 1)
                for (uint32_t g = 0; g < c->s.gn[k]; g++)
                    my[c->s.prod[k + g]] += c->s.gn[k] - 1;
    }
    run = 0;
    for (size_t b = 0; b < np; b++) {
        pairoff[b] = run;
        for (int k = 0; k < nt; k++) {
            uint64_t v = pcnt[(size_t)k * nb + b];
            pcnt[(size_t)k * nb + b] = run;
            run += v;
        }
    }
    pairoff[np] = run;
    partner = promo_mallocn(run ? run : 1, sizeof *partner);
    if (!partner)
        goto done;
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), T = omp_get_num_threads();
        size_t lo = ns * (size_t)tid / (size_t)T, hi = ns * (size_t)(tid + 1) / (size_t)T;
        uint64_t *my = pcnt + (size_t)tid * nb;
        for (size_t k = lo; k < hi; k++) {
            if (c->s.prod[k] == FX_NONE || c->s.glo[k] != k || c->s.gn[k] < 2)
                continue;
            const uint32_t *run_p = c->s.prod + k;
            uint32_t gn = c->s.gn[k];
            for (uint32_t g = 0; g < gn; g++) {
                uint32_t *dst = partner + my[run_p[g]];
                for (uint32_t h = 0; h < gn; h++)
                    if (h != g)
                        *dst++ = run_p[h];
                my[run_p[g]] += gn - 1;
            }
        }
    }
    /* Buyers and repeat buyers from the interaction counts (integer sums: any order). */
    const promo_csr *ix = &f->interactions[PROMO_IX_COUNT];
#pragma omp parallel num_threads(nt)
    {
        uint32_t *my = buy + (size_t)omp_get_thread_num() * 2 * nb;
#pragma omp for schedule(static)
        for (size_t r = 0; r < ix->n_rows; r++)
            for (uint64_t k = ix->row_ptr[r]; k < ix->row_ptr[r + 1]; k++) {
                my[ix->col_idx[k]]++;
                my[nb + ix->col_idx[k]] += ix->values[k] >= 2;
            }
    }
    for (int t = 0; t < nt; t++)
        for (uint32_t j = 0; j < np; j++) {
            pf->n_buyers[j] += buy[(size_t)t * 2 * nb + j];
            pf->repeat_rate[j] += buy[(size_t)t * 2 * nb + nb + j];
        }
    const promo_column *price = promo_table_column(c->in->products, "price");
    if (price && price->type != PROMO_COL_FLOAT64 && price->type != PROMO_COL_INT64)
        price = NULL;
    int failed = 0;
#pragma omp parallel num_threads(nt)
    {
        pscratch w;
        w.cnt = promo_calloc(nb, sizeof *w.cnt);
        w.touch = promo_mallocn(nb, sizeof *w.touch);
        w.wq = promo_calloc((size_t)n_weeks, sizeof *w.wq);
        w.wr = promo_calloc((size_t)n_weeks, sizeof *w.wr);
        w.wseen = promo_calloc((size_t)n_weeks, 1);
        int bad = !w.cnt || !w.touch || !w.wq || !w.wr || !w.wseen;
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < n_chunks; q++) {
            uint32_t j1 =
                (uint32_t)((q + 1) * N_CHUNK_PRODUCTS < np ? (q + 1) * N_CHUNK_PRODUCTS : np);
            for (uint32_t j = (uint32_t)(q * N_CHUNK_PRODUCTS); j < j1 && !bad; j++) {
                double units = 0, rev = 0, list = 0;
                uint32_t n_touch = 0, n_wt = 0, co_orders = 0;
                /* With many partners, count densely and scan all counters in column order;
                 * with few, track the touched ones and sort them. */
                uint64_t bound = pairoff[j + 1] - pairoff[j];
                int dense = bound * 16 > np;
                if (dense) {
                    for (uint64_t a = pairoff[j]; a < pairoff[j + 1]; a++)
                        w.cnt[partner[a]]++;
                } else {
                    for (uint64_t a = pairoff[j]; a < pairoff[j + 1]; a++)
                        if (w.cnt[partner[a]]++ == 0)
                            w.touch[n_touch++] = partner[a];
                }
                for (uint64_t a = poff[j]; a < poff[j + 1]; a++) {
                    const pslot *sl = &sidx[a];
                    units += sl->qty;
                    rev += sl->rev;
                    list += sl->list;
                    uint32_t wk = (uint32_t)(sl->week - c->week_min);
                    if (!w.wseen[wk]) {
                        w.wseen[wk] = 1;
                        w.wq[wk] = w.wr[wk] = 0;
                        n_wt++;
                    }
                    w.wq[wk] += sl->qty;
                    w.wr[wk] += sl->rev;
                    co_orders += sl->gn > 1;
                }
                if (dense)
                    n_touch = 0;
                pf->n_orders[j] = (uint32_t)(poff[j + 1] - poff[j]);
                pf->units[j] = units;
                pf->revenue[j] = rev;
                pf->avg_price[j] = units > 0 ? rev / units : NAN;
                pf->avg_discount[j] = list > 0 ? 1 - rev / list : NAN;
                pf->list_price[j] =
                    price && !promo_column_is_null(price, j)
                        ? (price->type == PROMO_COL_FLOAT64 ? price->f64[j] : (double)price->i64[j])
                    : units > 0 ? list / units
                                : NAN;
                pf->category[j] = c->prod_cat[j];
                pf->copurchase_orders[j] = co_orders;
                pf->repeat_rate[j] = pf->n_buyers[j] ? pf->repeat_rate[j] / pf->n_buyers[j] : NAN;
                if (dense) {
                    for (uint32_t o = 0; o < np && !bad; o++)
                        if (w.cnt[o]) {
                            bad = push_co(&ch[q], o, (float)w.cnt[o]);
                            w.cnt[o] = 0;
                            n_touch++;
                        }
                } else {
                    qsort(w.touch, n_touch, sizeof *w.touch, by_u32);
                    for (uint32_t i = 0; i < n_touch && !bad; i++) {
                        bad = push_co(&ch[q], w.touch[i], (float)w.cnt[w.touch[i]]);
                        w.cnt[w.touch[i]] = 0;
                    }
                }
                co_nnz[j] = n_touch;
                pf->n_copurchased[j] = n_touch;
                /* Weekly series in time order: price changes and elasticity observations. */
                double prev = NAN;
                uint32_t changes = 0;
                for (uint32_t wk = 0; wk < (uint32_t)n_weeks && n_wt && !bad; wk++) {
                    if (!w.wseen[wk])
                        continue;
                    w.wseen[wk] = 0;
                    n_wt--;
                    if (!(w.wq[wk] > 0) || !(w.wr[wk] > 0))
                        continue;
                    double pw = w.wr[wk] / w.wq[wk];
                    if (!isnan(prev) && fabs(pw - prev) > 0.01 * prev)
                        changes++;
                    prev = pw;
                    promo_price_obs o = {j,
                                         c->prod_cat[j],
                                         (int32_t)wk + c->week_min,
                                         day_of_year_mid_week((int32_t)wk + c->week_min),
                                         w.wq[wk],
                                         pw};
                    bad = push_obs(&ch[q], &o);
                }
                pf->n_price_changes[j] = changes;
            }
        }
        if (bad) {
#pragma omp atomic write
            failed = 1;
        }
        promo_free(w.cnt);
        promo_free(w.touch);
        promo_free(w.wq);
        promo_free(w.wr);
        promo_free(w.wseen);
    }
    if (failed)
        goto done;
    /* Co-purchase CSR. */
    promo_csr *m = &f->copurchase;
    memset(m, 0, sizeof *m);
    m->owned = 1;
    m->n_rows = m->n_cols = np;
    m->row_ptr = promo_mallocn((size_t)np + 1, sizeof *m->row_ptr);
    if (!m->row_ptr)
        goto done;
    m->row_ptr[0] = 0;
    for (uint32_t j = 0; j < np; j++)
        m->row_ptr[j + 1] = m->row_ptr[j] + co_nnz[j];
    m->nnz = m->row_ptr[np];
    m->col_idx = promo_mallocn(m->nnz ? m->nnz : 1, sizeof *m->col_idx);
    m->values = promo_mallocn(m->nnz ? m->nnz : 1, sizeof *m->values);
    if (!m->col_idx || !m->values)
        goto done;
    size_t n_obs = 0;
    for (size_t q = 0, o = 0; q < n_chunks; q++) {
        if (ch[q].n) {
            memcpy(m->col_idx + o, ch[q].col, ch[q].n * sizeof *m->col_idx);
            memcpy(m->values + o, ch[q].val, ch[q].n * sizeof *m->values);
        }
        o += ch[q].n;
        n_obs += ch[q].n_obs;
    }
    obs = promo_mallocn(n_obs ? n_obs : 1, sizeof *obs);
    if (!obs)
        goto done;
    for (size_t q = 0, o = 0; q < n_chunks; q++) {
        if (ch[q].n_obs)
            memcpy(obs + o, ch[q].obs, ch[q].n_obs * sizeof *obs);
        o += ch[q].n_obs;
    }
    promo_elasticity_params ep = c->p->elasticity_params;
    if (ep.n_threads == 0)
        ep.n_threads = nt;
    if ((rc = promo_elasticity_fit(obs, n_obs, np, c->n_cat, &ep, &f->elasticity)))
        goto done;
    rc = PROMO_OK;
done:
    for (size_t q = 0; ch && q < n_chunks; q++) {
        promo_free(ch[q].col);
        promo_free(ch[q].val);
        promo_free(ch[q].obs);
    }
    promo_free(ch);
    promo_free(obs);
    promo_free(co_nnz);
    promo_free(cnt);
    promo_free(poff);
    promo_free(pcnt);
    promo_free(pairoff);
    promo_free(partner);
    promo_free(sidx);
    promo_free(buy);
    return rc;
}
