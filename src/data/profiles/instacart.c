/* Profile `instacart` (include/promo/profile.h): the Instacart 2017 files as transactions and
 * products. Order lines (order_products__prior.csv, order_products__train.csv: order_id,
 * product_id, add_to_cart_order, reordered) are joined onto the order headers (orders.csv:
 * order_id, user_id, eval_set, order_number, order_dow, order_hour_of_day,
 * days_since_prior_order) by order_id, so orders.csv must come in the same call. products.csv
 * gets its department as category and aisle as subcategory when departments.csv and
 * aisles.csv come too.
 *
 * What the source lacks: absolute dates, prices, quantities. ts is rebuilt per user: the
 * first order on the first day from 2017-01-01 with the order's weekday (order_dow, 0 =
 * Sunday), each later order days_since_prior_order days after the one before, at
 * order_hour_of_day; so gaps, weekdays and hours are the data's own and calendar dates are
 * not. quantity is 1 and unit_price 1 (monetary figures count items); line is
 * add_to_cart_order. Orders of eval_set "test" have no lines and give no rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/timeutil.h>

#include "data/ingest_internal.h"

int ingest_read_instacart(promo_ingest *ing, const char *path)
{
    char *base = ingest_base_name(path);
    if (!base)
        return PROMO_ENOMEM;
    ingest_src src = {.keep_all = 1, .quiet = 1};
    int rc = PROMO_OK;
    if (!strcmp(base, "orders"))
        src.table = "ic_orders";
    else if (!strncmp(base, "order_products", 14))
        src.table = "ic_lines", src.append = 1;
    else if (!strcmp(base, "aisles"))
        src.table = "ic_aisles";
    else if (!strcmp(base, "departments"))
        src.table = "ic_departments";
    else if (!strcmp(base, "products")) {
        src.table = "products";
        src.keep_all = 0;
        src.map = "name=product_name";
        src.keep = "aisle_id,department_id";
    } else
        rc = promo_fail(PROMO_EUSAGE,
                        "%s: instacart reads orders.csv, order_products__*.csv, products.csv, "
                        "aisles.csv and departments.csv",
                        path);
    promo_free(base);
    return rc ? rc : ingest_read_source(ing, path, &src, NULL);
}

/* A column as text ids: INT64 values printed, STRING as is. */
static const char *id_text(const promo_column *c, size_t r, char *buf, size_t n)
{
    if (c->type == PROMO_COL_STRING)
        return promo_column_str(c, r);
    snprintf(buf, n, "%lld", (long long)promo_column_num(c, r));
    return buf;
}

static int need(const promo_table *t, const char *const *cols, size_t n, const char *file)
{
    for (size_t i = 0; i < n; i++)
        if (!promo_table_column(t, cols[i]))
            return promo_fail(PROMO_EINPUT, "instacart: %s has no column '%s'", file, cols[i]);
    return PROMO_OK;
}

/* Map id -> name from a lookup table (aisles, departments) onto products' `col`. */
static int name_lookup(promo_ingest *ing,
                       const char *tab,
                       const char *id,
                       const char *nm,
                       const char *src_col,
                       const char *dst_col)
{
    item *li = ingest_find_item(ing, tab), *pi = ingest_find_item(ing, "products");
    if (!pi)
        return PROMO_OK;
    promo_table *p = pi->t;
    const promo_column *s = promo_table_column(p, src_col);
    if (!li || !s)
        return s ? promo_table_drop_column(p, src_col) : PROMO_OK;
    const promo_column *ic = promo_table_column(li->t, id), *nc = promo_table_column(li->t, nm);
    if (!ic || !nc)
        return promo_fail(PROMO_EINPUT, "instacart: %s needs columns %s and %s", li->path, id, nm);
    promo_column *d = NULL;
    int rc = promo_table_add_column(p, dst_col, PROMO_COL_STRING, &d);
    for (size_t r = 0; r < p->n_rows && !rc; r++) {
        const char *v = promo_column_str(s, r);
        size_t k = 0;
        for (; k < li->t->n_rows; k++) {
            char b[32];
            if (!strcmp(id_text(ic, k, b, sizeof b), v))
                break;
        }
        rc = k < li->t->n_rows ? promo_column_push_str(d, promo_column_str(nc, k),
                                                       strlen(promo_column_str(nc, k)))
                               : promo_column_push_null(d);
    }
    if (!rc)
        rc = promo_table_seal(p);
    if (!rc)
        rc = promo_table_drop_column(p, src_col);
    return rc;
}

typedef struct ord {
    int64_t user, number, ts;
    size_t row;
} ord;

static int ord_cmp(const void *a, const void *b)
{
    const ord *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return x->number < y->number ? -1 : x->number > y->number;
}

int ingest_finish_instacart(promo_ingest *ing)
{
    int rc = name_lookup(ing, "ic_departments", "department_id", "department", "department_id",
                         "category");
    if (!rc)
        rc = name_lookup(ing, "ic_aisles", "aisle_id", "aisle", "aisle_id", "subcategory");
    if (rc)
        return rc;
    item *li = ingest_find_item(ing, "ic_lines"), *oi = ingest_find_item(ing, "ic_orders");
    if (li && !oi)
        return promo_fail(PROMO_EUSAGE, "instacart: order lines need orders.csv in the same call "
                                        "(customers and times are on the order headers)");
    if (li) {
        static const char *const lc[] = {"order_id", "product_id", "add_to_cart_order"};
        static const char *const oc[] = {"order_id",          "user_id",
                                         "order_number",      "order_dow",
                                         "order_hour_of_day", "days_since_prior_order"};
        if ((rc = need(li->t, lc, 3, "order_products")) || (rc = need(oi->t, oc, 6, "orders.csv")))
            return rc;
        const promo_table *o = oi->t;
        size_t no = o->n_rows;
        ord *v = promo_mallocn(no ? no : 1, sizeof *v);
        if (!v)
            return PROMO_ENOMEM;
        const promo_column *ou = promo_table_column(o, "user_id"),
                           *on = promo_table_column(o, "order_number"),
                           *od = promo_table_column(o, "order_dow"),
                           *oh = promo_table_column(o, "order_hour_of_day"),
                           *og = promo_table_column(o, "days_since_prior_order"),
                           *oid = promo_table_column(o, "order_id");
        for (size_t r = 0; r < no; r++)
            v[r] = (ord){(int64_t)promo_column_num(ou, r), (int64_t)promo_column_num(on, r), 0, r};
        qsort(v, no, sizeof *v, ord_cmp);
        int64_t day = 0;
        for (size_t i = 0; i < no; i++) {
            size_t r = v[i].row;
            if (i == 0 || v[i].user != v[i - 1].user) {
                /* 2017-01-01 was a Sunday, order_dow 0 */
                int dow = (int)promo_column_num(od, r);
                day = promo_days_from_civil(2017, 1, 1) + (dow >= 0 && dow < 7 ? dow : 0);
            } else {
                double g = promo_column_num(og, r);
                day += g == g ? (int64_t)g : 0;
            }
            double h = promo_column_num(oh, r);
            v[i].ts = day * PROMO_SECONDS_PER_DAY + (h == h ? (int64_t)h : 0) * 3600;
        }
        /* order_id -> index into v, through the order ids' text */
        promo_dict *ids = promo_dict_new();
        int64_t *ts_of = promo_mallocn(no ? no : 1, sizeof *ts_of);
        char **user_of = promo_calloc(no ? no : 1, sizeof *user_of);
        if (!ids || !ts_of || !user_of)
            rc = PROMO_ENOMEM;
        for (size_t i = 0; i < no && !rc; i++) {
            size_t r = v[i].row;
            char b[32], ub[32];
            const char *k = id_text(oid, r, b, sizeof b);
            uint32_t code = promo_dict_intern(ids, k, strlen(k));
            if (code == PROMO_DICT_NONE) {
                rc = PROMO_ENOMEM;
                break;
            }
            if (code < i) {
                rc = promo_fail(PROMO_EINPUT, "instacart: orders.csv has order_id %s twice", k);
                break;
            }
            ts_of[code] = v[i].ts;
            if (!(user_of[code] = promo_strdup(id_text(ou, r, ub, sizeof ub))))
                rc = PROMO_ENOMEM;
        }
        promo_free(v);
        const promo_schema *sc = promo_schema_find("transactions");
        promo_table *t = rc ? NULL : promo_schema_new_table(sc);
        if (!rc && !t)
            rc = PROMO_ENOMEM;
        const promo_table *l = li->t;
        const promo_column *lo = promo_table_column(l, "order_id"),
                           *lp = promo_table_column(l, "product_id"),
                           *la = promo_table_column(l, "add_to_cart_order");
        for (size_t r = 0; r < (t ? l->n_rows : 0) && !rc; r++) {
            char b[32], pb[32];
            const char *k = id_text(lo, r, b, sizeof b);
            uint32_t code = promo_dict_find(ids, k, strlen(k));
            if (code == PROMO_DICT_NONE) {
                rc = promo_fail(PROMO_EINPUT,
                                "instacart: order line %zu has order_id %s, which orders.csv "
                                "does not have",
                                r + 1, k);
                break;
            }
            const char *pid = id_text(lp, r, pb, sizeof pb);
            for (size_t j = 0; j < t->n_cols && !rc; j++) {
                promo_column *c = t->cols[j];
                const char *n = c->name;
                if (!strcmp(n, "order_id"))
                    rc = promo_column_push_str(c, k, strlen(k));
                else if (!strcmp(n, "line"))
                    rc = promo_column_push_i64(c, (int64_t)promo_column_num(la, r));
                else if (!strcmp(n, "customer_id"))
                    rc = promo_column_push_str(c, user_of[code], strlen(user_of[code]));
                else if (!strcmp(n, "product_id"))
                    rc = promo_column_push_str(c, pid, strlen(pid));
                else if (!strcmp(n, "ts"))
                    rc = promo_column_push_i64(c, ts_of[code]);
                else if (!strcmp(n, "quantity") || !strcmp(n, "unit_price"))
                    rc = promo_column_push_f64(c, 1);
                else
                    rc = promo_column_push_null(c);
            }
        }
        for (size_t i = 0; user_of && i < no; i++)
            promo_free(user_of[i]);
        promo_free(user_of);
        promo_free(ts_of);
        promo_dict_free(ids);
        if (!rc)
            rc = promo_table_seal(t);
        /* not derived: (order_id, line) must be unique, and is checked */
        if ((rc = ingest_add_table(ing, rc, t, "transactions", 0)))
            return rc;
        promo_info("instacart: no prices or quantities in the source: quantity and unit_price "
                   "are 1; dates rebuilt from days_since_prior_order from 2017-01-01");
    }
    /* the helper tables are not written */
    for (size_t i = ing->n_items; i-- > 0;)
        if (ing->items[i].t && !strncmp(ing->items[i].t->name, "ic_", 3))
            ingest_remove_item(ing, i);
    return PROMO_OK;
}
