/* promo features: build the customer and product features of a workspace as of a cutoff and
 * store them (tables features_customers and features_products, meta features.as_of), and
 * optionally write the customer table as CSV (customer_id first).
 *
 * Missing values (NaN in the float matrix) are stored as SQL NULL / empty CSV fields.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static int push_num(promo_column *c, double v)
{
    return isnan(v) ? promo_column_push_null(c) : promo_column_push_f64(c, v);
}

static int customers_table(const promo_features *f, const uint8_t *label, promo_table **out)
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

static int products_table(const promo_features *f, const promo_table *products, promo_table **out)
{
    const promo_product_features *pf = &f->products;
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

int cmd_features(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *out_csv = NULL, *label = NULL;
    double horizon = 30;
    int json = 0;
    promo_feature_params fp = promo_feature_params_default();
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_AS_OF(&fp.as_of), .required = 1, .help = "the cutoff: rows dated before it are read"},
        {CLI_PATH("out", "FILE.csv", &out_csv),
         .help = "also write the customer features as CSV (customer_id first)"},
        {CLI_STRING("label", "TARGET", &label),
         .help = "add a column `label`: bought TARGET (any, product:ID, category:NAME) in "
                 "[DATE, DATE + horizon)"},
        {CLI_NUMBER("horizon", "DAYS", 1, 3650, &horizon), .help = "label window"},
        {CLI_NUMBER("half-life", "DAYS", 0.1, 3650, &fp.half_life_days),
         .help = "recency weighting of the interaction matrix"},
        {CLI_FLAG_CLEAR("no-clv", &fp.clv), .help = "skip the BG/NBD and Gamma-Gamma fits"},
        {CLI_JSON(&json), .help = "print a summary as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "features",
        .usage = "usage: promo features --ws DIR --as-of DATE [--out FILE.csv] [--label TARGET]\n"
                 "                      [--horizon DAYS] [--half-life DAYS] [--no-clv] [--json]\n",
        .about =
            "Build features from the rows of workspace DIR dated strictly before DATE and store\n"
            "them as tables features_customers and features_products (meta features.as_of).\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    static const char *const names[] = {"customers",  "products",  "transactions", "stores",
                                        "promotions", "exposures", "responses"};
    promo_table *tabs[7] = {NULL};
    promo_store *s = NULL;
    promo_features *f = NULL;
    promo_table *ct = NULL, *pt = NULL;
    uint8_t *y = NULL;
    int rc = promo_store_open(ws, 0, &s);
    if (rc)
        goto done;
    for (int k = 0; k < 7; k++) {
        if (!promo_store_has_table(s, names[k])) {
            if (k == 1 || k == 2) {
                rc = promo_fail(PROMO_ENOTFOUND,
                                "workspace %s has no %s table (run promo "
                                "ingest or promo generate first)",
                                ws, names[k]);
                goto done;
            }
            continue;
        }
        if ((rc = promo_store_read_table(s, names[k], &tabs[k])))
            goto done;
    }
    promo_feature_input in = {tabs[0], tabs[1], tabs[2], tabs[3], tabs[4], tabs[5], tabs[6]};
    double t0 = promo_now_s();
    if ((rc = promo_features_compute(&in, &fp, &f)))
        goto done;
    double secs = promo_now_s() - t0;
    if (label && (rc = promo_features_labels(f, &in, label, horizon, &y)))
        goto done;
    if ((rc = customers_table(f, y, &ct)) || (rc = products_table(f, tabs[1], &pt)))
        goto done;
    char day[32];
    promo_time_format(fp.as_of, 0, day, sizeof day);
    if ((rc = promo_store_begin(s)) || (rc = promo_store_write_table(s, ct)) ||
        (rc = promo_store_write_table(s, pt)) ||
        (rc = promo_store_meta_set(s, "features.as_of", day)) || (rc = promo_store_commit(s)))
        goto done;
    if (out_csv && (rc = promo_csv_write(out_csv, ct)))
        goto done;
    size_t pos = 0;
    for (size_t i = 0; y && i < f->n_customers; i++)
        pos += y[i];
    if (json) {
        printf("{\"as_of\":\"%s\",\"customers\":%zu,\"features\":%zu,\"products\":%u,"
               "\"seconds\":%.3f,\"clv\":",
               day, f->n_customers, f->n_features, f->products.n_products, secs);
        if (f->clv_status)
            printf("null");
        else
            printf("{\"r\":%.6g,\"alpha\":%.6g,\"a\":%.6g,\"b\":%.6g,\"p\":%.6g,\"q\":%.6g,"
                   "\"v\":%.6g}",
                   f->bgnbd.r, f->bgnbd.alpha, f->bgnbd.a, f->bgnbd.b, f->gamma_gamma.p,
                   f->gamma_gamma.q, f->gamma_gamma.v);
        if (y)
            printf(",\"label_positives\":%zu", pos);
        printf("}\n");
    } else {
        printf("features as of %s: %zu customers x %zu features, %u products (%.2fs)\n", day,
               f->n_customers, f->n_features, f->products.n_products, secs);
        if (f->clv_status)
            printf("CLV: not fitted: %s\n", f->clv_status);
        else
            printf("CLV: BG/NBD r=%.4g alpha=%.4g a=%.4g b=%.4g (days); Gamma-Gamma p=%.4g "
                   "q=%.4g v=%.4g\n",
                   f->bgnbd.r, f->bgnbd.alpha, f->bgnbd.a, f->bgnbd.b, f->gamma_gamma.p,
                   f->gamma_gamma.q, f->gamma_gamma.v);
        if (y)
            printf("label %s over %g days: %zu positives\n", label, horizon, pos);
    }
done:
    promo_free(y);
    promo_table_free(ct);
    promo_table_free(pt);
    promo_features_free(f);
    for (int k = 0; k < 7; k++)
        promo_table_free(tabs[k]);
    promo_store_close(s);
    return cli_report(rc);
}
