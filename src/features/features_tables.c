/* Features as tables: the customer matrix and the product features in the shape `promo
 * features` stores them (features_customers, features_products) and writes as CSV. A NaN
 * (missing) becomes a null.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>

static int push_num(promo_column *c, double v)
{
    return isnan(v) ? promo_column_push_null(c) : promo_column_push_f64(c, v);
}

/* The feature columns fc[0..nf) from X, set in place instead of one push per value (18M pushes
 * at 200k customers, on the critical path of `promo features` once the matrix file stopped
 * taking longer): each column sized by one resize (its pages first touched on the team), then
 * the rows in blocks of 4096 (whole words of the null bitmaps, so no two threads share one)
 * on the team, reading X in its row order. A NaN is a null with 0.0 in its slot and every
 * other value is as pushed, so the table is the one push_num builds, bit for bit. */
static int fill_features(const promo_features *f, promo_column **fc)
{
    size_t n = f->n_customers, nf = f->n_features;
    int bad = 0;
    for (size_t j = 0; j < nf; j++) /* bitmaps as promo_column_push_null sizes them */
        if (!(fc[j]->nulls = promo_calloc((fc[j]->cap + 63) / 64 ? (fc[j]->cap + 63) / 64 : 1,
                                          sizeof *fc[j]->nulls)))
            return PROMO_ENOMEM;
#pragma omp parallel for schedule(dynamic, 4) reduction(| : bad)
    for (size_t j = 0; j < nf; j++)
        bad |= promo_column_resize(fc[j], n) != PROMO_OK;
    if (bad)
        return PROMO_ENOMEM;
    enum { BLOCK = 4096 };
    size_t n_blocks = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t q = 0; q < n_blocks; q++) {
        size_t i1 = (q + 1) * BLOCK < n ? (q + 1) * BLOCK : n;
        for (size_t i = q * BLOCK; i < i1; i++) {
            const float *x = f->X + i * nf;
            for (size_t j = 0; j < nf; j++) {
                double v = x[j];
                if (isnan(v)) {
                    fc[j]->f64[i] = 0.0;
                    fc[j]->nulls[i >> 6] |= (uint64_t)1 << (i & 63);
                } else {
                    fc[j]->f64[i] = v;
                }
            }
        }
    }
    for (size_t j = 0; j < nf; j++) { /* no null: no bitmap (table.h) */
        size_t k = 0;
        for (size_t w = 0; w < (n + 63) / 64; w++)
            k += (size_t)__builtin_popcountll(fc[j]->nulls[w]);
        fc[j]->n_null = k;
        if (!k) {
            promo_free(fc[j]->nulls);
            fc[j]->nulls = NULL;
        }
    }
    return PROMO_OK;
}

/* Every customer's id, RFM segment, tier and (lab non-NULL) label: the customer table's columns
 * beside the features. */
static int push_keys(const promo_features *f,
                     const uint8_t *label,
                     promo_column *id,
                     promo_column *seg,
                     promo_column *tier,
                     promo_column *lab)
{
    int rc = PROMO_OK;
    for (size_t i = 0; i < f->n_customers && !rc; i++) {
        const char *cid = promo_features_customer_id(f, i);
        const char *sn = promo_rfm_segment_name(f->rfm_segment[i]);
        const char *tn = promo_spend_tier_name(f->spend_tier[i]);
        if (!(rc = promo_column_push_str(id, cid, strlen(cid))) &&
            !(rc = promo_column_push_str(seg, sn, strlen(sn))) &&
            !(rc = promo_column_push_str(tier, tn, strlen(tn))) && lab)
            rc = promo_column_push_i64(lab, label[i]);
    }
    return rc;
}

/* The customer table: customer_id, the features (with_features), rfm_segment, tier and (label
 * non-NULL) label. */
static int
customers_table(const promo_features *f, const uint8_t *label, int with_features, promo_table **out)
{
    size_t nf = with_features ? f->n_features : 0;
    promo_table *t = promo_table_new("features_customers");
    promo_column *id, *seg, *tier, *lab = NULL;
    promo_column **fc = promo_calloc(nf ? nf : 1, sizeof *fc);
    int rc = PROMO_ENOMEM;
    if (!t || !fc)
        goto fail;
    if ((rc = promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &id)))
        goto fail;
    for (size_t j = 0; j < nf; j++)
        if ((rc = promo_table_add_column(t, f->feature_names[j], PROMO_COL_FLOAT64, &fc[j])))
            goto fail;
    if ((rc = promo_table_add_column(t, "rfm_segment", PROMO_COL_STRING, &seg)) ||
        (rc = promo_table_add_column(t, "tier", PROMO_COL_STRING, &tier)) ||
        (label && (rc = promo_table_add_column(t, "label", PROMO_COL_INT64, &lab))) ||
        (rc = promo_table_reserve(t, f->n_customers)))
        goto fail;
    if ((nf && (rc = fill_features(f, fc))) || (rc = push_keys(f, label, id, seg, tier, lab)) ||
        (rc = promo_table_seal(t)))
        goto fail;
    promo_free(fc);
    *out = t;
    return PROMO_OK;
fail:
    promo_free(fc);
    promo_table_free(t);
    return rc ? rc : PROMO_ENOMEM;
}

/* The customer table's columns but the features (customer_id, rfm_segment, tier, label), and
 * the features as a matrix to write beside them at column 1
 * (promo_store_write_table_matrix): the same stored table as promo_features_customers_table
 * writes, bit for bit (a NaN is a null with 0.0 in its slot either way). */
int promo_features_customers_keys(const promo_features *f,
                                  const uint8_t *label,
                                  promo_table **out,
                                  promo_store_matrix *m)
{
    int rc = customers_table(f, label, 0, out);
    if (!rc)
        *m = (promo_store_matrix){.x = f->X,
                                  .stride = f->n_features,
                                  .first = 1,
                                  .n = f->n_features,
                                  .names = (const char *const *)f->feature_names};
    return rc;
}

int promo_features_customers_table(const promo_features *f, const uint8_t *label, promo_table **out)
{
    return customers_table(f, label, 1, out);
}

int promo_features_products_table(const promo_features *f,
                                  const promo_table *products,
                                  promo_table **out)
{
    const promo_product_features *pf = &f->products;
    if (pf->n_products && !f->elasticity.product)
        return promo_fail(PROMO_EUSAGE, "features: computed without elasticities "
                                        "(params.elasticity = 0): no products table");
    const promo_column *pid = promo_table_column(products, "product_id");
    promo_table *t = promo_table_new("features_products");
    static const char *const num[] = {
        "n_buyers",          "n_orders",        "units",         "revenue",         "avg_price",
        "list_price",        "n_price_changes", "repeat_rate",   "avg_discount",    "n_copurchased",
        "copurchase_orders", "elasticity",      "elasticity_se", "elasticity_n_obs"};
    enum { N_NUM = sizeof num / sizeof num[0] };
    promo_column *id, *cat, *src, *c[N_NUM];
    int rc = PROMO_ENOMEM;
    if (!t || !pid)
        goto fail;
    if ((rc = promo_table_add_column(t, "product_id", PROMO_COL_STRING, &id)) ||
        (rc = promo_table_add_column(t, "category", PROMO_COL_STRING, &cat)))
        goto fail;
    for (int k = 0; k < N_NUM; k++)
        if ((rc = promo_table_add_column(t, num[k], PROMO_COL_FLOAT64, &c[k])))
            goto fail;
    if ((rc = promo_table_add_column(t, "elasticity_source", PROMO_COL_STRING, &src)))
        goto fail;
    for (uint32_t j = 0; j < pf->n_products; j++) {
        const char *s = promo_column_str(pid, j);
        const char *cn = f->category_names[pf->category[j]];
        const promo_elasticity *e = &f->elasticity.product[j];
        const char *en = promo_elasticity_source_name(e->source);
        double v[N_NUM] = {pf->n_buyers[j],
                           pf->n_orders[j],
                           pf->units[j],
                           pf->revenue[j],
                           pf->avg_price[j],
                           pf->list_price[j],
                           pf->n_price_changes[j],
                           pf->repeat_rate[j],
                           pf->avg_discount[j],
                           pf->n_copurchased[j],
                           pf->copurchase_orders[j],
                           e->elasticity,
                           e->se,
                           e->n_obs};
        if ((rc = promo_column_push_str(id, s, strlen(s))) ||
            (rc = promo_column_push_str(cat, cn, strlen(cn))))
            goto fail;
        for (int k = 0; k < N_NUM; k++)
            if ((rc = push_num(c[k], v[k])))
                goto fail;
        if ((rc = promo_column_push_str(src, en, strlen(en))))
            goto fail;
    }
    if ((rc = promo_table_seal(t)))
        goto fail;
    *out = t;
    return PROMO_OK;
fail:
    promo_table_free(t);
    return rc ? rc : PROMO_ENOMEM;
}
