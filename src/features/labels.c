/* Labels: did each customer of a feature matrix buy a target in [as_of, as_of + horizon)
 * (see promo_features_labels in promo/features.h). The customers are rebuilt with the same
 * universe rule as the features, so the labels line up with f's rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>

#include "features/features_internal.h"

int promo_features_labels(const promo_features *f,
                          const promo_feature_input *in,
                          const char *target,
                          double horizon_days,
                          uint8_t **out)
{
    *out = NULL;
    if (!target || !(horizon_days > 0))
        return promo_fail(PROMO_EUSAGE, "labels: need a target and a horizon > 0 days");
    promo_feature_params p = promo_feature_params_default();
    p.as_of = f->as_of;
    int rc = fx_check_params(in, &p);
    if (rc)
        return rc;
    tx_cols x;
    if ((rc = fx_get_tx_cols(in->transactions, &x)))
        return rc;
    prod_map pm;
    if ((rc = fx_map_products(in, &x, 1, &pm)))
        return rc;
    universe u;
    uint8_t *y = NULL, *want_prod = NULL;
    uint32_t *row_of = NULL, n_codes = promo_dict_size(x.cust->dict);
    uint32_t *cnt = promo_calloc((size_t)n_codes + 1, sizeof *cnt);
    if (!cnt) {
        promo_free(pm.tx_prod);
        return PROMO_ENOMEM;
    }
    fx_count_lines(&x, in->transactions->n_rows, pm.tx_prod, f->as_of, 1, n_codes, cnt, NULL);
    rc = fx_build_universe(in, &x, cnt, 1, f->as_of, 1, &u);
    promo_free(cnt);
    if (rc) {
        promo_free(pm.tx_prod);
        return rc;
    }
    rc = PROMO_EINPUT;
    if (u.n_known != f->n_customers) {
        promo_fail(PROMO_EINPUT, "labels: %zu customers known at the cutoff, the features have %zu",
                   u.n_known, f->n_customers);
        goto done;
    }
    for (size_t r = 0; r < u.n_known; r++)
        if (strcmp(promo_dict_key(u.id_col->dict, u.id_code[u.known[r]]),
                   promo_features_customer_id(f, r)) != 0) {
            promo_fail(PROMO_EINPUT, "labels: customer %zu differs from the features' (%s)", r,
                       promo_features_customer_id(f, r));
            goto done;
        }
    rc = PROMO_ENOMEM;
    want_prod = promo_calloc(pm.n_prod ? pm.n_prod : 1, 1);
    row_of = promo_mallocn(u.n ? u.n : 1, sizeof *row_of);
    y = promo_calloc(f->n_customers ? f->n_customers : 1, 1);
    if (!want_prod || !row_of || !y)
        goto done;
    if (strcmp(target, "any") == 0) {
        memset(want_prod, 1, pm.n_prod);
    } else if (strncmp(target, "product:", 8) == 0) {
        uint32_t k = promo_dict_find(pm.pid->dict, target + 8, strlen(target + 8));
        if (k == PROMO_DICT_NONE) {
            rc = promo_fail(PROMO_ENOTFOUND, "labels: unknown product '%s'", target + 8);
            goto done;
        }
        for (size_t r = 0; r < pm.pid->n; r++)
            if (pm.pid->codes[r] == k)
                want_prod[r] = 1;
    } else if (strncmp(target, "category:", 9) == 0) {
        const promo_column *pc = fx_opt_col(in->products, "category", T_STR);
        uint32_t k =
            pc ? promo_dict_find(pc->dict, target + 9, strlen(target + 9)) : PROMO_DICT_NONE;
        if (k == PROMO_DICT_NONE) {
            rc = promo_fail(PROMO_ENOTFOUND, "labels: unknown category '%s'", target + 9);
            goto done;
        }
        for (size_t r = 0; r < pc->n; r++)
            want_prod[r] = !promo_column_is_null(pc, r) && pc->codes[r] == k;
    } else {
        rc = promo_fail(PROMO_EUSAGE,
                        "labels: target '%s': expected any, product:ID or category:NAME", target);
        goto done;
    }
    memset(row_of, 0xff, u.n * sizeof *row_of);
    for (size_t r = 0; r < u.n_known; r++)
        row_of[u.known[r]] = (uint32_t)r;
    int64_t hi = f->as_of + (int64_t)llround(horizon_days * DAY);
    const promo_table *t = in->transactions;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(x.cust, r) || !purchase_line(&x, r, f->as_of, hi))
            continue;
        uint32_t pr = pm.tx_prod[x.prod->codes[r]], cu = u.tx_cust[x.cust->codes[r]];
        if (pr == FX_NONE || cu == FX_NONE || !want_prod[pr] || row_of[cu] == FX_NONE)
            continue;
        y[row_of[cu]] = 1;
    }
    *out = y;
    y = NULL;
    rc = PROMO_OK;
done:
    promo_free(y);
    promo_free(want_prod);
    promo_free(row_of);
    promo_free(pm.tx_prod);
    fx_universe_free(&u);
    return rc;
}
