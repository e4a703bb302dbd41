/* Product features, the product x product co-purchase matrix and the weekly price/quantity
 * series behind the elasticities, all read from the order slots that the customer pass wrote
 * over the line records (one slot per (order, distinct product); slots of one order are
 * contiguous).
 *
 * Slots (packed) and co-purchase partners (emitted per order, or, for orders of many products,
 * read from a copy of each order's products: see scatter_slots) are bucketed by product with the
 * same stable parallel counting sort as the lines; the slot records are then freed. Each
 * product is independent: a first parallel pass counts its distinct partners (placing its
 * co-purchase row), a second builds its weekly bins, price changes and co-purchase row with
 * per-thread dense scratch (a counter per product, reset through a touched list) straight into
 * the output, and chunk-ordered buffers of observations, so the output does not depend on
 * threads.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/timeutil.h>

#include "features/features_internal.h"

#define N_CHUNK_PRODUCTS 64
#define PF_SLOTS         8 /* prefetch distance of the slot scatter, in slots */

typedef struct pchunk {
    promo_price_obs *obs; /* weekly observations */
    size_t n_obs, cap_obs;
} pchunk;

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

/* A slot's fields the per-product pass reads, copied into product order by the counting sort
 * so that the pass reads them sequentially (gathering them from the slots cost a cache miss
 * each). The spend goes to an array of its own: 20 bytes a slot instead of a padded 24. */
typedef struct pslot {
    float qty, list;
    uint32_t week; /* week - week_min, | PSLOT_MULTI if the order holds other products */
    uint32_t run;  /* with PSLOT_MULTI: where the order's products start in oprod */
} pslot;

#define PSLOT_MULTI (1u << 31)
#define OPROD_END   (1u << 31) /* in oprod: the last product of its order */

typedef struct pscratch {
    uint32_t *cnt;   /* n_prod co-occurrence counters */
    uint32_t *touch; /* touched products */
    double *wq, *wr; /* per week: units, revenue */
    uint8_t *wseen;
} pscratch;

/* First slot of part q of n_parts: the first bucket start at or after an even split, so that
 * no order's run of slots straddles two parts. */
static uint64_t part_start(const fx_ctx *c, int q, int n_parts)
{
    uint64_t want = c->n_lines * (uint64_t)q / (uint64_t)n_parts;
    size_t lo = 0, hi = c->n_univ + 1; /* off[0..n_univ + 1] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->off[mid] < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return c->off[lo];
}

/* Slots per product and co-purchase partners per product, counted per part. */
static void count_slots(const fx_ctx *c, int n_parts, uint32_t *cnt, uint64_t *pcnt)
{
    size_t np = c->n_prod;
#pragma omp parallel for schedule(static, 1) num_threads(n_parts)
    for (int q = 0; q < n_parts; q++) {
        uint32_t *my = cnt + (size_t)q * np;
        uint64_t *myp = pcnt + (size_t)q * np;
        uint64_t k = part_start(c, q, n_parts), hi = part_start(c, q + 1, n_parts);
        while (k < hi) {
            uint32_t gn = c->rec[k].slot.gn;
            if (c->rec[k].slot.product == FX_NONE) {
                k++;
                continue;
            }
            for (uint32_t g = 0; g < gn; g++) {
                uint32_t j = c->rec[k + g].slot.product;
                my[j]++;
                myp[j] += gn - 1;
            }
            k += gn;
        }
    }
}

/* Turn per-part counts into write positions, product-major and part-minor (a stable counting
 * sort); off receives each product's first position (np + 1 entries). */
static void positions_u32(uint32_t *cnt, size_t np, int n_parts, uint64_t *off)
{
    uint64_t run = 0;
    for (size_t j = 0; j < np; j++) {
        off[j] = run;
        for (int q = 0; q < n_parts; q++) {
            uint32_t v = cnt[(size_t)q * np + j];
            cnt[(size_t)q * np + j] = (uint32_t)run;
            run += v;
        }
    }
    off[np] = run;
}

static void positions_u64(uint64_t *cnt, size_t np, int n_parts, uint64_t *off)
{
    uint64_t run = 0;
    for (size_t j = 0; j < np; j++) {
        off[j] = run;
        for (int q = 0; q < n_parts; q++) {
            uint64_t v = cnt[(size_t)q * np + j];
            cnt[(size_t)q * np + j] = run;
            run += v;
        }
    }
    off[np] = run;
}

/* Slots into product order (sidx), and the co-purchase partners in one of two layouts:
 *   - partner != NULL: for every order, each of its products' partners (the other products of
 *     the run) into that product's partner range (ppos), so that the per-product passes read
 *     them sequentially instead of a cache miss per (product, order). Its size is the number
 *     of pairs, sum over orders of gn (gn - 1): right for baskets of a few products;
 *   - else the products of every order of several products, in slot order, into oprod (4
 *     bytes a slot, the last of each order marked OPROD_END), each multi-product slot keeping
 *     where its order starts there; the per-product passes read an order's partners from that
 *     copy. Wholesale orders of hundreds of lines made the pair array 169 MB on Online Retail
 *     II (80 pairs a slot), and faulting it in was half the time of `promo score`.
 * The counts built from either are integers, so the order of partners within a product is
 * free. */
static void scatter_slots(const fx_ctx *c,
                          int n_parts,
                          uint32_t *pos,
                          uint64_t *ppos,
                          pslot *sidx,
                          double *srev,
                          uint32_t *partner,
                          uint32_t *oprod)
{
    size_t np = c->n_prod;
#pragma omp parallel for schedule(static, 1) num_threads(n_parts)
    for (int q = 0; q < n_parts; q++) {
        uint32_t *my = pos + (size_t)q * np;
        uint64_t *myp = ppos + (size_t)q * np;
        uint64_t k = part_start(c, q, n_parts), hi = part_start(c, q + 1, n_parts);
        while (k < hi) {
            const fx_slot *run = &c->rec[k].slot;
            uint32_t gn = run->gn;
            if (run->product == FX_NONE) {
                k++;
                continue;
            }
            for (uint32_t g = 0; g < gn; g++) {
                const fx_slot *sl = &c->rec[k + g].slot;
                /* Each product is a write stream of its own: fetch a later slot's targets. */
                if (k + g + PF_SLOTS < hi && c->rec[k + g + PF_SLOTS].slot.product != FX_NONE) {
                    uint32_t ahead = c->rec[k + g + PF_SLOTS].slot.product;
                    __builtin_prefetch(&sidx[my[ahead]], 1);
                    __builtin_prefetch(&srev[my[ahead]], 1);
                    if (partner)
                        __builtin_prefetch(&partner[myp[ahead]], 1);
                }
                uint32_t at = my[sl->product]++;
                srev[at] = sl->rev;
                sidx[at] = (pslot){sl->qty, sl->list,
                                   (uint32_t)(sl->week - c->week_min) | (gn > 1 ? PSLOT_MULTI : 0),
                                   (uint32_t)k};
                if (gn < 2)
                    continue;
                if (!partner) {
                    oprod[k + g] = sl->product | (g + 1 == gn ? OPROD_END : 0);
                    continue;
                }
                uint32_t *dst = partner + myp[sl->product];
                for (uint32_t h = 0; h < g; h++)
                    *dst++ = c->rec[k + h].slot.product;
                for (uint32_t h = g + 1; h < gn; h++)
                    *dst++ = c->rec[k + h].slot.product;
                myp[sl->product] += gn - 1;
            }
            k += gn;
        }
    }
}

/* Partners per slot above which the pairs are not materialised (see scatter_slots): 8 keeps
 * the pair array within 32 bytes a slot, where reading it sequentially still beats a cache
 * miss per slot (10M generated lines: 1.0 s against 2.4 s of CPU for the products step). */
#define MAX_PAIRS_PER_SLOT 8

int fx_products(fx_ctx *c, promo_features *f)
{
    uint32_t np = c->n_prod;
    size_t ns = c->n_lines;
    int nt = c->nt, rc = PROMO_ENOMEM;
    promo_product_features *pf = &f->products;
    promo_csr *m = &f->copurchase;
    size_t npa = np ? np : 1;
    uint32_t *cnt = promo_calloc((size_t)nt * npa, sizeof *cnt);
    uint64_t *pcnt = promo_calloc((size_t)nt * npa, sizeof *pcnt);
    uint64_t *poff = promo_mallocn(npa + 1, sizeof *poff);
    uint64_t *pairoff = promo_mallocn(npa + 1, sizeof *pairoff);
    uint32_t *oprod = NULL, *partner = NULL;
    pslot *sidx = promo_mallocn(ns ? ns : 1, sizeof *sidx);
    double *srev = promo_mallocn(ns ? ns : 1, sizeof *srev);
    uint32_t *buy = promo_calloc((size_t)nt * 2 * npa, sizeof *buy);
    size_t n_chunks = ((size_t)np + N_CHUNK_PRODUCTS - 1) / N_CHUNK_PRODUCTS;
    pchunk *ch = promo_calloc(n_chunks + 1, sizeof *ch);
    promo_price_obs *obs = NULL;
    /* In 64 bits: weeks from timestamps near INT64_MIN/MAX would overflow and loop for ages. */
    int64_t span = c->n_lines ? (int64_t)c->week_max - c->week_min + 1 : 1;
    int32_t n_weeks = span >= 1 && span <= 52 * 400 ? (int32_t)span : 0;
    pf->n_products = np;
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
    memset(m, 0, sizeof *m);
    m->owned = 1;
    m->n_rows = m->n_cols = np;
    m->row_ptr = promo_mallocn(npa + 1, sizeof *m->row_ptr);
    if (!cnt || !poff || !pcnt || !pairoff || !sidx || !srev || !buy || !ch || !m->row_ptr ||
        !pf->n_buyers || !pf->n_orders || !pf->units || !pf->revenue || !pf->avg_price ||
        !pf->list_price || !pf->n_price_changes || !pf->category || !pf->repeat_rate ||
        !pf->avg_discount || !pf->n_copurchased || !pf->copurchase_orders)
        goto done;
    if (!n_weeks) {
        rc = promo_fail(PROMO_EINPUT, "transactions span %lld weeks: a timestamp is out of range",
                        (long long)span);
        goto done;
    }
    double t0 = promo_now_s();
    count_slots(c, nt, cnt, pcnt);
    positions_u32(cnt, np, nt, poff);
    positions_u64(pcnt, np, nt, pairoff);
    /* The order runs hold 32-bit slot positions and product ids (the top bit marks an order's
     * end): beyond that, the pairs. */
    if (pairoff[np] <= (uint64_t)MAX_PAIRS_PER_SLOT * ns || ns >= UINT32_MAX || np >= OPROD_END) {
        partner = promo_mallocn(pairoff[np] ? pairoff[np] : 1, sizeof *partner);
        if (!partner)
            goto done;
        fx_prefault(partner, pairoff[np] * sizeof *partner, nt);
    } else {
        oprod = promo_mallocn(ns ? ns : 1, sizeof *oprod);
        if (!oprod)
            goto done;
        fx_prefault(oprod, ns * sizeof *oprod, nt);
    }
    fx_prefault(sidx, ns * sizeof *sidx, nt);
    fx_prefault(srev, ns * sizeof *srev, nt);
    scatter_slots(c, nt, cnt, pcnt, sidx, srev, partner, oprod);
    /* The slots are read: their memory goes back before the co-purchase matrix is filled. */
    promo_free(c->rec);
    c->rec = NULL;
    /* Buyers and repeat buyers from the interaction counts (integer sums: any order). */
    const promo_csr *ix = &f->interactions[PROMO_IX_COUNT];
#pragma omp parallel num_threads(nt)
    {
        uint32_t *my = buy + (size_t)omp_get_thread_num() * 2 * npa;
#pragma omp for schedule(static)
        for (size_t r = 0; r < ix->n_rows; r++)
            for (uint64_t k = ix->row_ptr[r]; k < ix->row_ptr[r + 1]; k++) {
                my[ix->col_idx[k]]++;
                my[npa + ix->col_idx[k]] += ix->values[k] >= 2;
            }
    }
    for (int t = 0; t < nt; t++)
        for (uint32_t j = 0; j < np; j++) {
            pf->n_buyers[j] += buy[(size_t)t * 2 * npa + j];
            pf->repeat_rate[j] += buy[(size_t)t * 2 * npa + npa + j];
        }
    double t1 = promo_now_s();
    /* Distinct partners per product, to place each co-purchase row before it is filled: a
     * stamp per partner (the product's index + 1) marks the ones already seen. */
    int failed = 0;
#pragma omp parallel num_threads(nt)
    {
        uint32_t *seen = promo_calloc(npa, sizeof *seen);
        if (!seen) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, N_CHUNK_PRODUCTS)
        for (uint32_t j = 0; j < np; j++) {
            uint32_t d = 0;
            for (uint64_t a = pairoff[j]; seen && partner && a < pairoff[j + 1]; a++) {
                d += seen[partner[a]] != j + 1;
                seen[partner[a]] = j + 1;
            }
            for (uint64_t a = poff[j]; seen && !partner && a < poff[j + 1]; a++) {
                if (!(sidx[a].week & PSLOT_MULTI))
                    continue;
                for (uint32_t k = sidx[a].run;; k++) {
                    uint32_t v = oprod[k], o = v & ~OPROD_END;
                    if (o != j) {
                        d += seen[o] != j + 1;
                        seen[o] = j + 1;
                    }
                    if (v & OPROD_END)
                        break;
                }
            }
            m->row_ptr[j + 1] = d;
        }
        promo_free(seen);
    }
    if (failed)
        goto done;
    m->row_ptr[0] = 0;
    for (uint32_t j = 0; j < np; j++)
        m->row_ptr[j + 1] += m->row_ptr[j];
    m->nnz = m->row_ptr[np];
    m->col_idx = promo_mallocn(m->nnz ? m->nnz : 1, sizeof *m->col_idx);
    m->values = promo_mallocn(m->nnz ? m->nnz : 1, sizeof *m->values);
    if (!m->col_idx || !m->values)
        goto done;
    fx_prefault(m->col_idx, m->nnz * sizeof *m->col_idx, nt);
    fx_prefault(m->values, m->nnz * sizeof *m->values, nt);
    double t2 = promo_now_s();
    const promo_column *price = promo_table_column(c->in->products, "price");
    if (price && price->type != PROMO_COL_FLOAT64 && price->type != PROMO_COL_INT64)
        price = NULL;
#pragma omp parallel num_threads(nt)
    {
        pscratch w;
        w.cnt = promo_calloc(npa, sizeof *w.cnt);
        w.touch = promo_mallocn(npa, sizeof *w.touch);
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
                if (partner && dense) {
                    for (uint64_t a = pairoff[j]; a < pairoff[j + 1]; a++)
                        w.cnt[partner[a]]++;
                } else if (partner) {
                    for (uint64_t a = pairoff[j]; a < pairoff[j + 1]; a++)
                        if (w.cnt[partner[a]]++ == 0)
                            w.touch[n_touch++] = partner[a];
                }
                for (uint64_t a = poff[j]; !partner && a < poff[j + 1]; a++) {
                    if (!(sidx[a].week & PSLOT_MULTI))
                        continue;
                    for (uint32_t k = sidx[a].run;; k++) {
                        uint32_t v = oprod[k], o = v & ~OPROD_END;
                        if (o != j && w.cnt[o]++ == 0 && !dense)
                            w.touch[n_touch++] = o;
                        if (v & OPROD_END)
                            break;
                    }
                }
                for (uint64_t a = poff[j]; a < poff[j + 1]; a++) {
                    const pslot *sl = &sidx[a];
                    units += sl->qty;
                    rev += srev[a];
                    list += sl->list;
                    uint32_t wk = sl->week & ~PSLOT_MULTI;
                    if (!w.wseen[wk]) {
                        w.wseen[wk] = 1;
                        w.wq[wk] = w.wr[wk] = 0;
                        n_wt++;
                    }
                    w.wq[wk] += sl->qty;
                    w.wr[wk] += srev[a];
                    co_orders += (sl->week & PSLOT_MULTI) != 0;
                }
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
                uint32_t *col = m->col_idx + m->row_ptr[j];
                float *val = m->values + m->row_ptr[j];
                uint32_t n_co = (uint32_t)(m->row_ptr[j + 1] - m->row_ptr[j]);
                if (dense) {
                    /* Branch-free: every counter is written at the next free place, which
                     * only advances past a non-zero one (a third of them here, a branch
                     * the predictor loses); the place stays inside the row. */
                    for (uint32_t o = 0, i = 0; o < np && i < n_co; o++) {
                        uint32_t v = w.cnt[o];
                        col[i] = o;
                        val[i] = (float)v;
                        i += v != 0;
                        w.cnt[o] = 0;
                    }
                } else {
                    qsort(w.touch, n_touch, sizeof *w.touch, by_u32);
                    for (uint32_t i = 0; i < n_touch; i++) {
                        col[i] = w.touch[i];
                        val[i] = (float)w.cnt[w.touch[i]];
                        w.cnt[w.touch[i]] = 0;
                    }
                }
                pf->n_copurchased[j] = n_co;
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
                    if (!c->p->elasticity)
                        continue;
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
    size_t n_obs = 0;
    for (size_t q = 0; q < n_chunks; q++)
        n_obs += ch[q].n_obs;
    obs = promo_mallocn(n_obs ? n_obs : 1, sizeof *obs);
    if (!obs)
        goto done;
    for (size_t q = 0, o = 0; q < n_chunks; q++) {
        if (ch[q].n_obs)
            memcpy(obs + o, ch[q].obs, ch[q].n_obs * sizeof *obs);
        o += ch[q].n_obs;
    }
    double t3 = promo_now_s();
    promo_elasticity_params ep = c->p->elasticity_params;
    if (ep.n_threads == 0)
        ep.n_threads = nt;
    if (c->p->elasticity &&
        (rc = promo_elasticity_fit(obs, n_obs, np, c->n_cat, &ep, &f->elasticity)))
        goto done;
    promo_debug("features: products: slots by product %.3fs, buyers and row sizes %.3fs, "
                "per product %.3fs, elasticity %.3fs (%zu weekly observations)",
                t1 - t0, t2 - t1, t3 - t2, promo_now_s() - t3, n_obs);
    rc = PROMO_OK;
done:
    for (size_t q = 0; ch && q < n_chunks; q++)
        promo_free(ch[q].obs);
    promo_free(ch);
    promo_free(obs);
    promo_free(cnt);
    promo_free(poff);
    promo_free(pcnt);
    promo_free(pairoff);
    promo_free(oprod);
    promo_free(partner);
    promo_free(sidx);
    promo_free(srev);
    promo_free(buy);
    return rc;
}
