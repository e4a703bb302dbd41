/* Transactions from purchase events (src/data/profiles/purchases.h). Every model of promo
 * learns from order lines; a behaviour log's purchases are those lines, so a Taobao or Tmall
 * workspace can be trained on right after its ingest, as one with a transactions file. */
#include "data/profiles/purchases.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/log.h>

int ingest_purchases_as_transactions(promo_ingest *ing, const char *profile)
{
    item *ev = ingest_find_item(ing, "events");
    const promo_column *kind = ev ? promo_table_column(ev->t, "kind") : NULL;
    const promo_column *cust = ev ? promo_table_column(ev->t, "customer_id") : NULL;
    const promo_column *prod = ev ? promo_table_column(ev->t, "product_id") : NULL;
    const promo_column *ts = ev ? promo_table_column(ev->t, "ts") : NULL;
    if (!kind || !cust || !prod || !ts || ingest_find_item(ing, "transactions"))
        return PROMO_OK;
    uint32_t purchase = promo_dict_find(kind->dict, "purchase", 8);
    if (purchase == PROMO_DICT_NONE)
        return PROMO_OK;
    const promo_schema *sc = promo_schema_find("transactions");
    promo_table *t = promo_schema_new_table(sc);
    promo_dict *orders = promo_dict_new();
    uint32_t *lines = NULL;
    size_t cap_lines = 0;
    int rc = t && orders ? PROMO_OK : PROMO_ENOMEM;
    for (size_t r = 0; r < ev->t->n_rows && !rc; r++) {
        if (kind->codes[r] != purchase || ingest_is_dropped(ev, r))
            continue;
        const char *c = promo_column_str(cust, r), *p = promo_column_str(prod, r);
        int64_t s = ts->i64[r];
        char oid[600];
        int k = snprintf(oid, sizeof oid, "%s@%" PRId64, c, s);
        if (k < 0 || (size_t)k >= sizeof oid) {
            rc = promo_fail(PROMO_EINPUT, "%s: customer_id '%.40s...' is too long for an order id",
                            profile, c);
            break;
        }
        uint32_t n_orders = promo_dict_size(orders);
        uint32_t o = promo_dict_intern(orders, oid, (size_t)k);
        if (o == PROMO_DICT_NONE ||
            promo_grow((void **)&lines, &cap_lines, (size_t)o + 1, sizeof *lines)) {
            rc = PROMO_ENOMEM;
            break;
        }
        if (o == n_orders)
            lines[o] = 0;
        for (size_t j = 0; j < t->n_cols && !rc; j++) {
            promo_column *col = t->cols[j];
            const char *n = col->name;
            if (!strcmp(n, "order_id"))
                rc = promo_column_push_str(col, oid, (size_t)k);
            else if (!strcmp(n, "line"))
                rc = promo_column_push_i64(col, ++lines[o]);
            else if (!strcmp(n, "customer_id"))
                rc = promo_column_push_str(col, c, strlen(c));
            else if (!strcmp(n, "product_id"))
                rc = promo_column_push_str(col, p, strlen(p));
            else if (!strcmp(n, "ts"))
                rc = promo_column_push_i64(col, s);
            else if (!strcmp(n, "quantity") || !strcmp(n, "unit_price"))
                rc = promo_column_push_f64(col, 1);
            else
                rc = promo_column_push_null(col);
        }
    }
    promo_free(lines);
    promo_dict_free(orders);
    if (!rc)
        rc = promo_table_seal(t);
    size_t n_lines = t ? t->n_rows : 0;
    if ((rc = ingest_add_table(ing, rc, t, "transactions", 1)))
        return rc;
    promo_info("%s: transactions from the %zu purchase events (no prices in the source: "
               "quantity and unit_price are 1)",
               profile, n_lines);
    return PROMO_OK;
}
