/* Features as tables: the customer matrix and the product features in the shape `promo
 * features` stores them (features_customers, features_products) and writes as CSV. A NaN
 * (missing) becomes a null.
 */
#include <math.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>

static int push_num(promo_column *c, double v)
{
    return isnan(v) ? promo_column_push_null(c) : promo_column_push_f64(c, v);
}

int promo_features_customers_table(const promo_features *f, const uint8_t *label, promo_table **out)
{
    promo_table *t = promo_table_new("features_customers");
    promo_column *id, *seg, *tier, *lab = NULL;
    promo_column **fc = promo_calloc(f->n_features ? f->n_features : 1, sizeof *fc);
    int rc = PROMO_ENOMEM;
    if (!t || !fc)
        goto fail;
    if ((rc = promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &id)))
        goto fail;
    for (size_t j = 0; j < f->n_features; j++)
        if ((rc = promo_table_add_column(t, f->feature_names[j], PROMO_COL_FLOAT64, &fc[j])))
            goto fail;
    if ((rc = promo_table_add_column(t, "rfm_segment", PROMO_COL_STRING, &seg)) ||
        (rc = promo_table_add_column(t, "tier", PROMO_COL_STRING, &tier)) ||
        (label && (rc = promo_table_add_column(t, "label", PROMO_COL_INT64, &lab))) ||
        (rc = promo_table_reserve(t, f->n_customers)))
        goto fail;
    for (size_t i = 0; i < f->n_customers; i++) {
        const char *cid = promo_features_customer_id(f, i);
        const char *sn = promo_rfm_segment_name(f->rfm_segment[i]);
        const char *tn = promo_spend_tier_name(f->spend_tier[i]);
        if ((rc = promo_column_push_str(id, cid, strlen(cid))))
            goto fail;
        for (size_t j = 0; j < f->n_features; j++)
            if ((rc = push_num(fc[j], f->X[i * f->n_features + j])))
                goto fail;
        if ((rc = promo_column_push_str(seg, sn, strlen(sn))) ||
            (rc = promo_column_push_str(tier, tn, strlen(tn))) ||
            (lab && (rc = promo_column_push_i64(lab, label[i]))))
            goto fail;
    }
    if ((rc = promo_table_seal(t)))
        goto fail;
    promo_free(fc);
    *out = t;
    return PROMO_OK;
fail:
    promo_free(fc);
    promo_table_free(t);
    return rc ? rc : PROMO_ENOMEM;
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

/* The index of name among the names of enum values (name_of(0..n)), or -1. */
static int enum_of(const char *s, const char *(*name_of)(int), int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(s, name_of(k)) == 0)
            return k;
    return -1;
}

/* Fill seg[0..n) from a STRING column of enum names (absent: 0 everywhere). */
static int enum_column(
    const promo_table *t, const char *col, const char *(*name_of)(int), int n_values, uint8_t *seg)
{
    const promo_column *c = promo_table_column(t, col);
    if (!c) {
        memset(seg, 0, t->n_rows);
        return PROMO_OK;
    }
    if (c->type != PROMO_COL_STRING)
        return promo_fail(PROMO_EINPUT, "%s.%s: expected names, not %s", t->name, col,
                          promo_col_type_name(c->type));
    /* One lookup per dictionary entry, then a code -> value array per row. */
    uint32_t nd = promo_dict_size(c->dict);
    uint8_t *val = promo_mallocn(nd ? nd : 1, 1);
    if (!val)
        return PROMO_ENOMEM;
    for (uint32_t k = 0; k < nd; k++) {
        int v = enum_of(promo_dict_key(c->dict, k), name_of, n_values);
        if (v < 0) {
            int rc = promo_fail(PROMO_EINPUT, "%s.%s: unknown value '%s'", t->name, col,
                                promo_dict_key(c->dict, k));
            promo_free(val);
            return rc;
        }
        val[k] = (uint8_t)v;
    }
    for (size_t i = 0; i < t->n_rows; i++)
        seg[i] = promo_column_is_null(c, i) ? 0 : val[c->codes[i]];
    promo_free(val);
    return PROMO_OK;
}

int promo_features_from_customers_table(const promo_table *t, int64_t as_of, promo_features **out)
{
    *out = NULL;
    const promo_column *id = promo_table_column(t, "customer_id");
    if (!id || id->type != PROMO_COL_STRING)
        return promo_fail(PROMO_EINPUT, "%s: no customer_id column of strings", t->name);
    if (id->n_null)
        return promo_fail(PROMO_EINPUT, "%s: a customer without an id", t->name);
    size_t n = t->n_rows, nf = 0;
    for (size_t j = 0; j < t->n_cols; j++)
        nf += t->cols[j]->type == PROMO_COL_FLOAT64;
    promo_features *f = promo_calloc(1, sizeof *f);
    if (!f)
        return PROMO_ENOMEM;
    f->as_of = as_of;
    f->n_customers = n;
    f->n_features = nf;
    int rc = PROMO_ENOMEM;
    const promo_column **fc = NULL;
    size_t pool = 0;
    for (size_t i = 0; i < n; i++)
        pool += strlen(promo_column_str(id, i)) + 1;
    if (!(f->X = promo_mallocn(n && nf ? n * nf : 1, sizeof *f->X)) ||
        !(f->feature_names = promo_calloc(nf ? nf : 1, sizeof *f->feature_names)) ||
        !(f->rfm_segment = promo_mallocn(n ? n : 1, 1)) ||
        !(f->spend_tier = promo_mallocn(n ? n : 1, 1)) ||
        !(f->id_pool = promo_malloc(pool ? pool : 1)) ||
        !(f->id_off = promo_mallocn(n ? n : 1, sizeof *f->id_off)))
        goto fail;
    /* The float64 columns are the features (the table's other columns are the id, the two
     * names and the integer label), in table order; a float32 stored as float64 comes back
     * exactly, a null is the NaN it was. */
    if (!(fc = promo_calloc(nf ? nf : 1, sizeof *fc)))
        goto fail;
    for (size_t j = 0, k = 0; j < t->n_cols; j++)
        if (t->cols[j]->type == PROMO_COL_FLOAT64)
            fc[k++] = t->cols[j];
    /* Blocks of rows, column by column inside a block: the block's rows stay in cache while
     * every column streams in (a column at a time over all rows would miss on every write). */
    enum { BLOCK = 512 };
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t i1 = n - i0 < BLOCK ? n : i0 + BLOCK;
        for (size_t k = 0; k < nf; k++) {
            const promo_column *c = fc[k];
            for (size_t i = i0; i < i1; i++)
                f->X[i * nf + k] = promo_column_is_null(c, i) ? NAN : (float)c->f64[i];
        }
    }
    for (size_t k = 0; k < nf; k++) {
        if (!(f->feature_names[k] = promo_strdup(fc[k]->name)))
            goto fail;
    }
    for (size_t i = 0, at = 0; i < n; i++) {
        const char *s = promo_column_str(id, i);
        size_t len = strlen(s) + 1;
        memcpy(f->id_pool + at, s, len);
        f->id_off[i] = at;
        at += len;
    }
    if ((rc = enum_column(t, "rfm_segment", promo_rfm_segment_name, PROMO_RFM_SEGMENT_COUNT,
                          f->rfm_segment)) ||
        (rc = enum_column(t, "tier", promo_spend_tier_name, PROMO_TIER_COUNT, f->spend_tier)))
        goto fail;
    promo_free(fc);
    *out = f;
    return PROMO_OK;
fail:
    promo_free(fc);
    promo_features_free(f);
    return rc;
}
