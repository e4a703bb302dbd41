/* Basket files (promo/baskets.h). LINES is parsed here: the CSV reader wants one field count
 * per file and a basket line has as many fields as items. LONG goes through the CSV reader
 * and is grouped by basket id with a counting sort. */
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/baskets.h>
#include <promo/csv.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/infile.h>
#include <promo/store.h>
#include <promo/table.h>

struct promo_basket_file {
    size_t n;
    uint64_t *ptr;
    uint32_t *item;
    size_t cap_item;
    promo_dict *items;
    uint32_t *customer;    /* n customer keys (workspace baskets), else NULL */
    promo_dict *customers; /* their ids, else NULL */
};

promo_baskets_options promo_baskets_options_default(void)
{
    return (promo_baskets_options){.layout = PROMO_BASKETS_LINES,
                                   .delimiter = ',',
                                   .basket_col = "order_id",
                                   .item_col = "product_id",
                                   .max_basket_items = 1000000};
}

void promo_basket_file_free(promo_basket_file *f)
{
    if (!f)
        return;
    promo_free(f->ptr);
    promo_free(f->item);
    promo_dict_free(f->items);
    promo_free(f->customer);
    promo_dict_free(f->customers);
    promo_free(f);
}

uint32_t promo_basket_file_customer(const promo_basket_file *f, size_t b)
{
    return f->customer && b < f->n ? f->customer[b] : PROMO_DICT_NONE;
}

const char *promo_basket_file_customer_id(const promo_basket_file *f, uint32_t key)
{
    return f->customers && key < promo_dict_size(f->customers) ? promo_dict_key(f->customers, key)
                                                               : NULL;
}

uint32_t promo_basket_file_n_customers(const promo_basket_file *f)
{
    return f->customers ? promo_dict_size(f->customers) : 0;
}

uint32_t promo_basket_file_find_customer(const promo_basket_file *f, const char *id)
{
    return f->customers ? promo_dict_find(f->customers, id, strlen(id)) : PROMO_DICT_NONE;
}

uint32_t promo_basket_file_find_item(const promo_basket_file *f, const char *name)
{
    return promo_dict_find(f->items, name, strlen(name));
}

promo_baskets promo_basket_file_view(const promo_basket_file *f)
{
    return (promo_baskets){
        .n = f->n, .ptr = f->ptr, .item = f->item, .n_items = promo_dict_size(f->items)};
}

const char *promo_basket_file_item(const promo_basket_file *f, uint32_t item)
{
    return item < promo_dict_size(f->items) ? promo_dict_key(f->items, item) : NULL;
}

uint64_t promo_basket_file_occurrences(const promo_basket_file *f)
{
    return f->n ? f->ptr[f->n] : 0;
}

static int push_item(promo_basket_file *f, const char *s, size_t n)
{
    uint32_t code = promo_dict_intern(f->items, s, n);
    if (code == PROMO_DICT_NONE ||
        promo_grow((void **)&f->item, &f->cap_item, f->ptr[f->n] + 1, sizeof *f->item))
        return PROMO_ENOMEM;
    f->item[f->ptr[f->n]++] = code;
    return PROMO_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Baskets are sets: sort each basket's items and keep one of each (sorting, not a scan per
 * item, so a hostile basket of a million repeats costs n log n). */
static void make_sets(promo_basket_file *f)
{
    uint64_t w = 0;
    for (size_t b = 0; b < f->n; b++) {
        uint64_t a = f->ptr[b], e = f->ptr[b + 1];
        qsort(f->item + a, e - a, sizeof *f->item, cmp_u32);
        f->ptr[b] = w;
        for (uint64_t k = a; k < e; k++)
            if (k == a || f->item[k] != f->item[k - 1])
                f->item[w++] = f->item[k];
    }
    if (f->n)
        f->ptr[f->n] = w;
}

/* One basket per line; fields split on delim, "quoted" fields with "" for a quote. */
static int read_lines(
    promo_basket_file *f, const char *d, size_t n, const char *name, const promo_baskets_options *o)
{
    size_t cap_ptr = 0, i = 0;
    uint64_t line = 1;
    char *field = NULL;
    size_t cap_field = 0;
    int rc = promo_grow((void **)&f->ptr, &cap_ptr, 1, sizeof *f->ptr);
    if (rc)
        return rc;
    f->ptr[0] = 0;
    if (n >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3))
        i = 3;
    while (!rc && i < n) {
        size_t line_start = i;
        if (promo_grow((void **)&f->ptr, &cap_ptr, f->n + 2, sizeof *f->ptr))
            return PROMO_ENOMEM;
        f->n++;
        f->ptr[f->n] = f->ptr[f->n - 1];
        /* Fields until the end of the line. */
        while (!rc && i < n && d[i] != '\n' && d[i] != '\r') {
            size_t col = i - line_start + 1, len = 0;
            if (d[i] == '"') {
                uint64_t quote_line = line;
                i++;
                for (;;) {
                    if (i >= n) {
                        rc = promo_fail(PROMO_EINPUT, "%s:%llu:%zu: a quote that is never closed",
                                        name, (unsigned long long)quote_line, col);
                        break;
                    }
                    if (d[i] == '"' && (i + 1 >= n || d[i + 1] != '"'))
                        break;
                    if (d[i] == '"')
                        i++;
                    if (d[i] == '\n')
                        line++;
                    if (promo_grow((void **)&field, &cap_field, len + 1, 1)) {
                        rc = PROMO_ENOMEM;
                        break;
                    }
                    field[len++] = d[i++];
                }
                if (rc)
                    break;
                i++;
                if (i < n && d[i] != o->delimiter && d[i] != '\n' && d[i] != '\r') {
                    rc = promo_fail(PROMO_EINPUT,
                                    "%s:%llu:%zu: text after a closing quote (expected '%c' or "
                                    "the end of the line)",
                                    name, (unsigned long long)line, i - line_start + 1,
                                    o->delimiter);
                    break;
                }
            } else {
                size_t a = i;
                while (i < n && d[i] != o->delimiter && d[i] != '\n' && d[i] != '\r')
                    i++;
                if (promo_grow((void **)&field, &cap_field, i - a + 1, 1)) {
                    rc = PROMO_ENOMEM;
                    break;
                }
                memcpy(field, d + a, i - a);
                len = i - a;
            }
            if (len && memchr(field, 0, len)) { /* an empty quoted field leaves field NULL */
                rc = promo_fail(PROMO_EINPUT, "%s:%llu:%zu: a NUL byte in an item", name,
                                (unsigned long long)line, col);
                break;
            }
            size_t s = 0, e = len;
            while (s < e && (field[s] == ' ' || field[s] == '\t'))
                s++;
            while (e > s && (field[e - 1] == ' ' || field[e - 1] == '\t'))
                e--;
            if (e > s && (rc = push_item(f, field + s, e - s)))
                break;
            if (f->ptr[f->n] - f->ptr[f->n - 1] > o->max_basket_items) {
                rc = promo_fail(PROMO_EINPUT, "%s:%llu: a basket of more than %zu items", name,
                                (unsigned long long)line, o->max_basket_items);
                break;
            }
            if (i < n && d[i] == o->delimiter)
                i++;
        }
        if (rc)
            break;
        if (f->ptr[f->n] == f->ptr[f->n - 1])
            f->n--; /* a blank line, or only empty items */
        if (i < n && d[i] == '\r')
            i++;
        if (i < n && d[i] == '\n')
            i++;
        line++;
    }
    promo_free(field);
    return rc;
}

/* Pairs (basket, item) grouped by basket, baskets in order of first appearance. */
static int read_long(promo_basket_file *f,
                     const promo_table *t,
                     const char *name,
                     const promo_baskets_options *o)
{
    const promo_column *bc = promo_table_column(t, o->basket_col);
    const promo_column *ic = promo_table_column(t, o->item_col);
    if (!bc || !ic)
        return promo_fail(PROMO_EINPUT, "%s: no column '%s' (the basket id, --basket-col)", name,
                          bc ? o->item_col : o->basket_col);
    size_t rows = t->n_rows;
    uint32_t nb = promo_dict_size(bc->dict);
    uint32_t *icode = promo_mallocn(rows ? rows : 1, sizeof *icode);
    f->ptr = promo_calloc((size_t)nb + 1, sizeof *f->ptr);
    f->item = promo_mallocn(rows ? rows : 1, sizeof *f->item);
    uint64_t *fill = promo_calloc((size_t)nb + 1, sizeof *fill);
    int rc = icode && f->ptr && f->item && fill ? PROMO_OK : PROMO_ENOMEM;
    for (size_t r = 0; !rc && r < rows; r++) {
        const char *s = promo_column_str(ic, r);
        if (!*s || !*promo_column_str(bc, r)) {
            rc = promo_fail(PROMO_EINPUT, "%s: data row %zu: empty %s", name, r + 1,
                            *s ? o->basket_col : o->item_col);
            break;
        }
        if ((icode[r] = promo_dict_intern(f->items, s, strlen(s))) == PROMO_DICT_NONE)
            rc = PROMO_ENOMEM;
        else
            f->ptr[bc->codes[r] + 1]++;
    }
    for (uint32_t b = 0; !rc && b < nb; b++)
        f->ptr[b + 1] += f->ptr[b];
    for (size_t r = 0; !rc && r < rows; r++) {
        uint32_t b = bc->codes[r];
        f->item[f->ptr[b] + fill[b]++] = icode[r];
    }
    if (!rc)
        f->n = nb;
    promo_free(fill);
    promo_free(icode);
    return rc;
}

static int check_options(const promo_baskets_options *o)
{
    if (o->layout == PROMO_BASKETS_LINES &&
        (o->delimiter == 0 || o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r'))
        return promo_fail(PROMO_EUSAGE, "--sep: a basket line needs a separator other than a "
                                        "quote or a line end");
    if (o->layout == PROMO_BASKETS_LONG && (!o->basket_col || !o->item_col))
        return promo_fail(PROMO_EUSAGE, "basket and item columns must be named");
    return PROMO_OK;
}

static int read_any(const char *path,
                    const char *data,
                    size_t n,
                    const char *name,
                    const promo_baskets_options *o,
                    promo_basket_file **out)
{
    promo_baskets_options def = promo_baskets_options_default();
    if (!o)
        o = &def;
    if (!out)
        return promo_fail(PROMO_EUSAGE, "promo_baskets_read: NULL out");
    *out = NULL;
    int rc = check_options(o);
    if (rc)
        return rc;
    promo_basket_file *f = promo_calloc(1, sizeof *f);
    if (!f || !(f->items = promo_dict_new())) {
        promo_free(f);
        return PROMO_ENOMEM;
    }
    if (o->layout == PROMO_BASKETS_LINES)
        rc = read_lines(f, data, n, name, o);
    else {
        promo_csv_column want[2] = {{o->basket_col, PROMO_COL_STRING, 1},
                                    {o->item_col, PROMO_COL_STRING, 1}};
        promo_csv_options co = promo_csv_options_default();
        co.delimiter = o->delimiter;
        co.columns = want;
        co.n_columns = 2;
        promo_table *t = NULL;
        rc = path ? promo_csv_read(path, &co, &t, NULL)
                  : promo_csv_read_buffer(data, n, name, &co, &t, NULL);
        if (!rc)
            rc = read_long(f, t, name, o);
        promo_table_free(t);
    }
    if (rc) {
        promo_basket_file_free(f);
        return rc;
    }
    make_sets(f);
    *out = f;
    return PROMO_OK;
}

int promo_baskets_read_buffer(const char *data,
                              size_t n,
                              const char *name,
                              const promo_baskets_options *o,
                              promo_basket_file **out)
{
    if (n && !data)
        return promo_fail(PROMO_EUSAGE, "promo_baskets_read_buffer: NULL data");
    return read_any(NULL, data, n, name ? name : "baskets", o, out);
}

int promo_baskets_read(const char *path, const promo_baskets_options *o, promo_basket_file **out)
{
    if (!path)
        return promo_fail(PROMO_EUSAGE, "promo_baskets_read: NULL path");
    if (o && o->layout == PROMO_BASKETS_LONG)
        return read_any(path, NULL, 0, path, o, out);
    char *buf = NULL;
    size_t n = 0;
    int rc = promo_infile_read(path, PROMO_INFILE_STREAM, &buf, &n);
    if (!rc)
        rc = read_any(NULL, buf, n, path, o, out);
    promo_free(buf);
    return rc;
}

/* Category of each transactions product code ("unknown" when the product or its category is
 * missing), interned into items. */
static int
category_items(promo_store *s, const promo_column *tx_prod, promo_dict *items, uint32_t **out)
{
    static const char *const cols[] = {"product_id", "category"};
    promo_table *p = NULL;
    uint32_t n = promo_dict_size(tx_prod->dict), *row = NULL;
    int rc = promo_store_read_columns(s, "products", cols, 2, &p);
    if (rc)
        return rc;
    const promo_column *pid = promo_table_column(p, "product_id");
    const promo_column *cat = promo_table_column(p, "category");
    uint32_t *code = promo_mallocn(n ? n : 1, sizeof *code);
    uint32_t *at = promo_mallocn(p->n_rows ? p->n_rows : 1, sizeof *at);
    rc = code && at ? PROMO_OK : PROMO_ENOMEM;
    /* Product row of each transactions product code: map the products' ids onto the
     * transactions' dictionary, then invert. */
    if (!rc && (row = promo_mallocn(n ? n : 1, sizeof *row))) {
        for (uint32_t k = 0; k < n; k++)
            row[k] = PROMO_DICT_NONE;
        if (!(rc = promo_column_map_to(pid, tx_prod->dict, at)))
            for (size_t r = 0; r < p->n_rows; r++)
                if (at[r] != PROMO_DICT_NONE)
                    row[at[r]] = (uint32_t)r;
    } else if (!rc)
        rc = PROMO_ENOMEM;
    for (uint32_t k = 0; !rc && k < n; k++) {
        const char *c = row[k] != PROMO_DICT_NONE ? promo_column_str(cat, row[k]) : "";
        if (!*c)
            c = "unknown";
        if ((code[k] = promo_dict_intern(items, c, strlen(c))) == PROMO_DICT_NONE)
            rc = PROMO_ENOMEM;
    }
    promo_free(row);
    promo_free(at);
    promo_table_free(p);
    if (rc) {
        promo_free(code);
        return rc;
    }
    *out = code;
    return PROMO_OK;
}

int promo_baskets_from_store(promo_store *s,
                             int64_t before,
                             int by_category,
                             promo_basket_file **out)
{
    static const char *const cols[] = {"order_id", "customer_id", "product_id", "ts", "quantity"};
    if (!s || !out)
        return promo_fail(PROMO_EUSAGE, "promo_baskets_from_store: NULL argument");
    *out = NULL;
    promo_table *t = NULL;
    uint32_t *item_of = NULL;
    uint64_t *fill = NULL;
    promo_basket_file *f = promo_calloc(1, sizeof *f);
    int rc = f ? promo_store_read_columns(s, "transactions", cols, 5, &t) : PROMO_ENOMEM;
    if (rc)
        goto fail;
    const promo_column *order = promo_table_column(t, "order_id");
    const promo_column *cust = promo_table_column(t, "customer_id");
    const promo_column *prod = promo_table_column(t, "product_id");
    const promo_column *ts = promo_table_column(t, "ts");
    const promo_column *qty = promo_table_column(t, "quantity");
    if (order->type != PROMO_COL_STRING || cust->type != PROMO_COL_STRING ||
        prod->type != PROMO_COL_STRING) {
        rc = promo_fail(PROMO_EINPUT, "transactions: order_id, customer_id and product_id must "
                                      "be text columns");
        goto fail;
    }
    if (by_category) {
        if (!(f->items = promo_dict_new())) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        if ((rc = category_items(s, prod, f->items, &item_of)))
            goto fail;
    } else if (!(f->items = promo_dict_clone(prod->dict))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    if (!(f->customers = promo_dict_clone(cust->dict))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    uint32_t n_orders = promo_dict_size(order->dict);
    size_t rows = t->n_rows;
    /* Baskets are order codes that keep at least one line; counting sort by order code. */
    f->ptr = promo_calloc((size_t)n_orders + 1, sizeof *f->ptr);
    f->customer = promo_mallocn(n_orders ? n_orders : 1, sizeof *f->customer);
    f->item = promo_mallocn(rows ? rows : 1, sizeof *f->item);
    fill = promo_calloc((size_t)n_orders + 1, sizeof *fill);
    if (!f->ptr || !f->customer || !f->item || !fill) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
#define KEEP(r)                                                                \
    (!promo_column_is_null(order, r) && !promo_column_is_null(prod, r) &&      \
     !promo_column_is_null(cust, r) && (before == 0 || ts->i64[r] < before) && \
     (!qty || !(promo_column_num(qty, r) <= 0)))
    for (size_t r = 0; r < rows; r++)
        if (KEEP(r))
            f->ptr[order->codes[r] + 1]++;
    for (uint32_t o = 0; o < n_orders; o++)
        f->ptr[o + 1] += f->ptr[o];
    for (size_t r = 0; r < rows; r++)
        if (KEEP(r)) {
            uint32_t o = order->codes[r];
            if (fill[o] == 0)
                f->customer[o] = cust->codes[r];
            f->item[f->ptr[o] + fill[o]++] = item_of ? item_of[prod->codes[r]] : prod->codes[r];
        }
#undef KEEP
    /* Drop the orders with no line kept. */
    size_t nb = 0;
    uint64_t w = 0;
    for (uint32_t o = 0; o < n_orders; o++) {
        uint64_t a = f->ptr[o];
        if (!fill[o])
            continue;
        memmove(f->item + w, f->item + a, fill[o] * sizeof *f->item);
        f->customer[nb] = f->customer[o];
        f->ptr[nb++] = w;
        w += fill[o];
    }
    f->ptr[nb] = w;
    f->n = nb;
    make_sets(f);
    *out = f;
    f = NULL;
fail:
    promo_free(fill);
    promo_free(item_of);
    promo_table_free(t);
    promo_basket_file_free(f);
    return rc;
}
