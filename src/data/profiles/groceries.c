/* Profile `groceries` (include/promo/profile.h): one basket per line, a comma-separated list
 * of item names (the arules Groceries data), as transactions and products. The source has no
 * order ids, customers, times, quantities or prices: order_id is synthetic ("B00001" for the
 * basket on the file's first line, ...), line the item's position in the basket, product_id
 * and the product's name the item name, customer_id null, quantity 1, unit_price 1 (so
 * monetary figures count items) and ts a placeholder, 2000-01-01 for every basket: nothing
 * should read time or money from it; it is basket data for co-occurrence. */
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/schema.h>

#include "data/ingest_internal.h"

#define GROCERIES_TS 946684800 /* 2000-01-01 */

int ingest_read_groceries(promo_ingest *ing, const char *path)
{
    if (ingest_find_item(ing, "transactions"))
        return promo_fail(PROMO_EUSAGE, "%s: groceries takes one file per ingest", path);
    const char *data;
    size_t n;
    int rc = ingest_map_file(path, &data, &n);
    if (rc)
        return rc;
    if (n == 0) {
        ingest_unmap_file(data, n);
        return promo_fail(PROMO_EINPUT, "%s: empty file (0 bytes)", path);
    }
    const promo_schema *sc = promo_schema_find("transactions");
    promo_table *t = promo_schema_new_table(sc);
    promo_table *p = promo_schema_new_table(promo_schema_find("products"));
    char *field = NULL;
    if (!t || !p || !(field = promo_malloc(n + 1)))
        rc = PROMO_ENOMEM;
    promo_column *o = NULL, *l = NULL, *c = NULL, *pr = NULL, *ts = NULL, *q = NULL, *u = NULL;
    if (!rc) {
        o = promo_table_column(t, "order_id");
        l = promo_table_column(t, "line");
        c = promo_table_column(t, "customer_id");
        pr = promo_table_column(t, "product_id");
        ts = promo_table_column(t, "ts");
        q = promo_table_column(t, "quantity");
        u = promo_table_column(t, "unit_price");
    }
    /* Lines are split by hand: baskets have any number of items, which a CSV reader (one
     * field count per file) would reject. Item names have no quotes in this format. */
    size_t basket = 0;
    uint64_t line = 0;
    for (size_t i = 0; i < n && !rc;) {
        const char *e = memchr(data + i, '\n', n - i);
        size_t end = e ? (size_t)(e - data) : n, len = end;
        line++;
        if (len > i && data[len - 1] == '\r')
            len--;
        if (len > i) {
            basket++;
            char oid[32];
            int k = snprintf(oid, sizeof oid, "B%05zu", basket);
            size_t f = 0;
            for (size_t a = i; a <= len && !rc; f++) {
                const char *cm = memchr(data + a, ',', len - a);
                size_t b = cm ? (size_t)(cm - data) : len;
                size_t s0 = a, s1 = b;
                while (s0 < s1 && data[s0] == ' ')
                    s0++;
                while (s1 > s0 && data[s1 - 1] == ' ')
                    s1--;
                if (s1 == s0 || memchr(data + s0, '"', s1 - s0)) {
                    rc = promo_fail(PROMO_EINPUT, "%s:%llu:%zu: %s", path, (unsigned long long)line,
                                    f + 1,
                                    s1 == s0 ? "an empty item name"
                                             : "a quote in an item name (one basket per line, "
                                               "items separated by commas, no quoting)");
                    break;
                }
                memcpy(field, data + s0, s1 - s0);
                if ((rc = promo_column_push_str(o, oid, (size_t)k)) ||
                    (rc = promo_column_push_i64(l, (int64_t)f + 1)) ||
                    (rc = promo_column_push_null(c)) ||
                    (rc = promo_column_push_str(pr, field, s1 - s0)) ||
                    (rc = promo_column_push_i64(ts, GROCERIES_TS)) ||
                    (rc = promo_column_push_f64(q, 1)) || (rc = promo_column_push_f64(u, 1)))
                    break;
                a = b + 1;
            }
        }
        i = end + 1;
    }
    /* the other columns of transactions are null */
    for (size_t j = 0; !rc && j < t->n_cols; j++)
        while (!rc && t->cols[j]->n < o->n)
            rc = promo_column_push_null(t->cols[j]);
    if (!rc)
        rc = promo_table_seal(t);
    /* products: every item name once, as id and name */
    if (!rc) {
        promo_column *pid = promo_table_column(p, "product_id");
        promo_column *nm = promo_table_column(p, "name");
        for (uint32_t k = 0; k < promo_dict_size(pr->dict) && !rc; k++) {
            const char *s = promo_dict_key(pr->dict, k);
            size_t len = promo_dict_key_len(pr->dict, k);
            if (!(rc = promo_column_push_str(pid, s, len)))
                rc = promo_column_push_str(nm, s, len);
        }
        for (size_t j = 0; !rc && j < p->n_cols; j++)
            while (!rc && p->cols[j]->n < pid->n)
                rc = promo_column_push_null(p->cols[j]);
        if (!rc)
            rc = promo_table_seal(p);
    }
    promo_free(field);
    ingest_unmap_file(data, n);
    item *ti = rc ? NULL : ingest_new_item(ing);
    if (!rc && !ti)
        rc = PROMO_ENOMEM;
    if (!rc && !(ti->path = promo_strdup(path)))
        rc = PROMO_ENOMEM;
    if (rc) {
        promo_table_free(t);
        promo_table_free(p);
        return rc;
    }
    ti->t = t;
    ti->sc = sc;
    ti->no_header = 1;
    ti->derived = 1; /* keys are unique by construction */
    ing->stats.rows_read += basket;
    return ingest_add_table(ing, PROMO_OK, p, "products", 1);
}
