/* bench/features_digest.h: the FNV-1a digest of every output of promo_features_compute,
 * shared by bench/features_bench.c (generated transactions) and bench/features_ws.c (a
 * workspace's own tables), so that both print the same digest for the same features. */
#ifndef PROMO_BENCH_FEATURES_DIGEST_H
#define PROMO_BENCH_FEATURES_DIGEST_H

#include <stdint.h>
#include <string.h>

#include <promo/csr.h>
#include <promo/features.h>

/* FNV-1a over bytes: a digest of every output, so a speed-up that changes any value (one
 * bit of one float) shows in the JSON line next to the timing. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t fnv_csr(uint64_t h, const promo_csr *m)
{
    h = fnv(h, &m->n_rows, sizeof m->n_rows);
    h = fnv(h, &m->n_cols, sizeof m->n_cols);
    h = fnv(h, m->row_ptr, ((size_t)m->n_rows + 1) * sizeof *m->row_ptr);
    h = fnv(h, m->col_idx, m->nnz * sizeof *m->col_idx);
    return fnv(h, m->values, m->nnz * sizeof *m->values);
}

static uint64_t digest(const promo_features *f)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t n = f->n_customers, np = f->products.n_products;
    const promo_product_features *pf = &f->products;
    h = fnv(h, f->X, n * f->n_features * sizeof *f->X);
    h = fnv(h, f->rfm_segment, n);
    h = fnv(h, f->spend_tier, n);
    for (size_t i = 0; i < n; i++)
        h = fnv(h, promo_features_customer_id(f, i), strlen(promo_features_customer_id(f, i)));
    for (int k = 0; k < 4; k++)
        h = fnv_csr(h, &f->interactions[k]);
    h = fnv_csr(h, &f->category_share);
    h = fnv_csr(h, &f->copurchase);
    h = fnv(h, pf->n_buyers, np * 4);
    h = fnv(h, pf->n_orders, np * 4);
    h = fnv(h, pf->units, np * 8);
    h = fnv(h, pf->revenue, np * 8);
    h = fnv(h, pf->avg_price, np * 8);
    h = fnv(h, pf->list_price, np * 8);
    h = fnv(h, pf->n_price_changes, np * 4);
    h = fnv(h, pf->category, np * 4);
    h = fnv(h, pf->repeat_rate, np * 8);
    h = fnv(h, pf->avg_discount, np * 8);
    h = fnv(h, pf->n_copurchased, np * 4);
    h = fnv(h, pf->copurchase_orders, np * 4);
    const promo_elasticity_result *el = &f->elasticity;
    for (uint32_t j = 0; j < el->n_products + el->n_categories; j++) {
        const promo_elasticity *e =
            j < el->n_products ? &el->product[j] : &el->category[j - el->n_products];
        h = fnv(h, &e->elasticity, 8);
        h = fnv(h, &e->se, 8);
        h = fnv(h, &e->n_obs, 4);
        h = fnv(h, &e->source, 1);
    }
    double clv[7] = {f->bgnbd.r,       f->bgnbd.alpha,   f->bgnbd.a,      f->bgnbd.b,
                     f->gamma_gamma.p, f->gamma_gamma.q, f->gamma_gamma.v};
    return fnv(h, clv, sizeof clv);
}

#endif
