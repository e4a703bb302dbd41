/* Similar products for an unregistered product and the customers their buyers suggest
 * (promo/similar.h). One pass over the catalogue for the similarities, one over the panel's
 * purchase index (per customer, sorted by product) for the buyers. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/panel.h>
#include <promo/similar.h>
#include <promo/table.h>

promo_similar_query promo_similar_query_default(void)
{
    promo_similar_query q;
    memset(&q, 0, sizeof q);
    q.k = 10;
    q.n_customers = 20;
    q.w_category = 1.0;
    q.w_price = 1.0;
    q.w_brand = 0.5;
    q.w_name = 1.5;
    q.exclude_row = UINT32_MAX;
    return q;
}

void promo_similar_result_free(promo_similar_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_products; i++) {
        promo_free(r->products[i].product_id);
        promo_free(r->products[i].name);
        promo_free(r->products[i].category);
    }
    promo_free(r->products);
    for (size_t i = 0; i < r->n_customers; i++)
        promo_free(r->customers[i].customer_id);
    promo_free(r->customers);
    memset(r, 0, sizeof *r);
}

/* The distinct lower-cased words (3+ letters) of s into d; their indices appended to out
 * (at most cap). Returns the count or -1 when out of memory. */
static long words_of(const char *s, promo_dict *d, uint32_t *out, size_t cap)
{
    char w[64];
    size_t n = 0, k = 0;
    for (const char *p = s ? s : "";; p++) {
        if (*p && isalpha((unsigned char)*p)) {
            if (n < sizeof w - 1)
                w[n++] = (char)tolower((unsigned char)*p);
            continue;
        }
        if (n >= 3 && k < cap) {
            uint32_t i = promo_dict_intern(d, w, n);
            if (i == PROMO_DICT_NONE)
                return -1;
            int dup = 0;
            for (size_t j = 0; j < k; j++)
                dup |= out[j] == i;
            if (!dup)
                out[k++] = i;
        }
        n = 0;
        if (!*p)
            break;
    }
    return (long)k;
}

#define MAX_WORDS 32

typedef struct cand {
    uint32_t row;
    double sim, sc, sp, sb, sn;
    uint32_t buyers;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->sim != y->sim)
        return x->sim > y->sim ? -1 : 1;
    if (x->buyers != y->buyers)
        return x->buyers > y->buyers ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

typedef struct cust {
    uint32_t key;
    double score;
    uint32_t n_products, n_orders;
} cust;

static int cust_cmp(const void *a, const void *b)
{
    const cust *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static char *dup_col(const promo_column *c, size_t r)
{
    return promo_strdup(c && c->type == PROMO_COL_STRING && !promo_column_is_null(c, r)
                            ? promo_column_str(c, r)
                            : "");
}

int promo_similar_find(promo_store *s, const promo_similar_query *q, promo_similar_result *out)
{
    memset(out, 0, sizeof *out);
    promo_panel d;
    memset(&d, 0, sizeof d);
    int rc = promo_panel_load(s, q->n_threads, &d);
    if (!rc)
        rc = promo_similar_find_panel(&d, q, out);
    promo_panel_free(&d);
    return rc;
}

int promo_similar_find_panel(const promo_panel *dp,
                             const promo_similar_query *q,
                             promo_similar_result *out)
{
    memset(out, 0, sizeof *out);
    if (!q->category || !*q->category)
        return promo_fail(PROMO_EUSAGE, "similar: a category is required");
    if (!(q->price > 0) || !isfinite(q->price))
        return promo_fail(PROMO_EUSAGE, "similar: the price must be a number > 0, got %g",
                          q->price);
    if (q->k < 1 || q->k > 100000 || q->n_customers < 1 || q->n_customers > 100000)
        return promo_fail(PROMO_EUSAGE, "similar: k and the customer count must be in 1..100000");
    const promo_panel d = *dp; /* a shallow copy for the d.x spelling; not freed */
    promo_dict *wd = NULL;
    uint32_t *df = NULL, *pw = NULL, *pn = NULL, *buyers = NULL, *nb_slot = NULL;
    cand *cs = NULL;
    cust *cu = NULL;
    size_t df_cap = 0;
    int rc = PROMO_OK;
    const promo_table *P = d.products;
    const size_t np = P->n_rows;
    const promo_column *pid = promo_table_column(P, "product_id"),
                       *name = promo_table_column(P, "name"),
                       *cat = promo_table_column(P, "category"),
                       *brand = promo_table_column(P, "brand"),
                       *price = promo_table_column(P, "price");
    const int64_t as_of = q->as_of ? q->as_of : INT64_MAX;
    if (!(wd = promo_dict_new()) || !(pw = promo_mallocn(np * MAX_WORDS + 1, sizeof *pw)) ||
        !(pn = promo_calloc(np + 1, sizeof *pn)) ||
        !(buyers = promo_calloc(np + 1, sizeof *buyers)) ||
        !(cs = promo_mallocn(np + 1, sizeof *cs)))
        goto nomem;
    /* buyers per product before the cutoff (one per customer: entries are sorted by item) */
    for (uint32_t k = 0; k < d.n_keys; k++) {
        uint32_t last = UINT32_MAX;
        for (uint64_t e = d.by_prod.ptr[k]; e < d.by_prod.ptr[k + 1]; e++)
            if (d.by_prod.ts[e] < as_of && d.by_prod.item[e] != last && d.by_prod.item[e] < np) {
                last = d.by_prod.item[e];
                buyers[last]++;
            }
    }
    /* name words and their document frequency */
    for (size_t r = 0; r < np; r++) {
        long n = name && name->type == PROMO_COL_STRING && !promo_column_is_null(name, r)
                     ? words_of(promo_column_str(name, r), wd, pw + r * MAX_WORDS, MAX_WORDS)
                     : 0;
        if (n < 0)
            goto nomem;
        pn[r] = (uint32_t)n;
        void *p = df;
        size_t old = df_cap;
        if (promo_grow(&p, &df_cap, (size_t)promo_dict_size(wd) + 1, sizeof *df))
            goto nomem;
        df = p;
        if (df_cap > old)
            memset(df + old, 0, (df_cap - old) * sizeof *df);
        for (long j = 0; j < n; j++)
            df[pw[r * MAX_WORDS + j]]++;
    }
    uint32_t qw[MAX_WORDS];
    long nq = 0;
    if (q->name && *q->name) {
        if ((nq = words_of(q->name, wd, qw, MAX_WORDS)) < 0)
            goto nomem;
        void *p = df;
        size_t old = df_cap;
        if (promo_grow(&p, &df_cap, (size_t)promo_dict_size(wd) + 1, sizeof *df))
            goto nomem;
        df = p;
        if (df_cap > old)
            memset(df + old, 0, (df_cap - old) * sizeof *df);
    }
    /* idf with the query as one more document */
    double qnorm = 0;
    for (long j = 0; j < nq; j++) {
        double idf = log((np + 2.0) / (df[qw[j]] + 1.0));
        qnorm += idf * idf;
    }
    qnorm = sqrt(qnorm);
    const int use_brand = q->brand && *q->brand, use_name = nq > 0;
    const double wsum =
        q->w_category + q->w_price + (use_brand ? q->w_brand : 0) + (use_name ? q->w_name : 0);
    for (size_t r = 0; r < np; r++) {
        cand *c = &cs[r];
        c->row = (uint32_t)r;
        c->buyers = buyers[r];
        c->sc = cat && cat->type == PROMO_COL_STRING && !promo_column_is_null(cat, r) &&
                        !strcasecmp(promo_column_str(cat, r), q->category)
                    ? 1.0
                    : 0.0;
        if (c->sc > 0)
            out->category_known = 1;
        double pr = price ? promo_column_num(price, r) : NAN;
        c->sp = pr > 0 && isfinite(pr) ? exp2(-fabs(log2(pr / q->price))) : 0.0;
        c->sb = use_brand && brand && brand->type == PROMO_COL_STRING &&
                        !promo_column_is_null(brand, r) &&
                        !strcasecmp(promo_column_str(brand, r), q->brand)
                    ? 1.0
                    : 0.0;
        c->sn = 0;
        if (use_name && pn[r] && qnorm > 0) {
            double dot = 0, nr = 0;
            for (uint32_t j = 0; j < pn[r]; j++) {
                uint32_t w = pw[r * MAX_WORDS + j];
                double idf = log((np + 2.0) / (df[w] + 1.0));
                nr += idf * idf;
                for (long t = 0; t < nq; t++)
                    if (qw[t] == w)
                        dot += idf * idf;
            }
            c->sn = nr > 0 ? dot / (sqrt(nr) * qnorm) : 0;
        }
        c->sim = (q->w_category * c->sc + q->w_price * c->sp +
                  (use_brand ? q->w_brand * c->sb : 0) + (use_name ? q->w_name * c->sn : 0)) /
                 (wsum > 0 ? wsum : 1);
    }
    if (q->exclude_row < np)
        cs[q->exclude_row].sim = -1; /* sorts last, dropped below */
    qsort(cs, np, sizeof *cs, cand_cmp);
    size_t n_ok = np - (q->exclude_row < np);
    size_t k = q->k < n_ok ? q->k : n_ok;
    out->n_catalogue = np;
    if (!(out->products = promo_calloc(k ? k : 1, sizeof *out->products)))
        goto nomem;
    for (size_t i = 0; i < k; i++) {
        promo_similar_product *o = &out->products[i];
        const cand *c = &cs[i];
        out->n_products = i + 1;
        o->row = c->row;
        o->similarity = c->sim;
        o->sim_category = c->sc;
        o->sim_price = c->sp;
        o->sim_brand = c->sb;
        o->sim_name = c->sn;
        o->n_buyers = c->buyers;
        double pr = price ? promo_column_num(price, c->row) : NAN;
        o->price = pr;
        if (!(o->product_id = dup_col(pid, c->row)) || !(o->name = dup_col(name, c->row)) ||
            !(o->category = dup_col(cat, c->row)))
            goto nomem;
    }
    /* the neighbours' buyers: slot of each product row among the neighbours (or NONE) */
    if (!(nb_slot = promo_mallocn(np + 1, sizeof *nb_slot)) ||
        !(cu = promo_calloc((size_t)d.n_keys + 1, sizeof *cu)))
        goto nomem;
    for (size_t r = 0; r < np; r++)
        nb_slot[r] = UINT32_MAX;
    for (size_t i = 0; i < k; i++)
        nb_slot[out->products[i].row] = (uint32_t)i;
    size_t nc = 0;
    for (uint32_t key = 0; key < d.n_keys; key++) {
        cust c = {key, 0, 0, 0};
        uint64_t e = d.by_prod.ptr[key], end = d.by_prod.ptr[key + 1];
        while (e < end) {
            uint32_t item = d.by_prod.item[e], orders = 0;
            for (; e < end && d.by_prod.item[e] == item; e++)
                orders += d.by_prod.ts[e] < as_of;
            if (!orders || item >= np || nb_slot[item] == UINT32_MAX)
                continue;
            c.score += out->products[nb_slot[item]].similarity * log1p((double)orders);
            c.n_products++;
            c.n_orders += orders;
        }
        if (c.n_products)
            cu[nc++] = c;
    }
    qsort(cu, nc, sizeof *cu, cust_cmp);
    size_t m = nc < q->n_customers ? nc : q->n_customers;
    if (!(out->customers = promo_calloc(m ? m : 1, sizeof *out->customers)))
        goto nomem;
    const promo_dict *ids = d.tx_cust->dict;
    for (size_t i = 0; i < m; i++) {
        promo_similar_customer *o = &out->customers[i];
        out->n_customers = i + 1;
        o->score = cu[i].score;
        o->n_products = cu[i].n_products;
        o->n_orders = cu[i].n_orders;
        if (!(o->customer_id = promo_strdup(promo_dict_key(ids, cu[i].key))))
            goto nomem;
    }
    rc = PROMO_OK;
    goto done;
nomem:
    rc = PROMO_ENOMEM;
    promo_similar_result_free(out);
done:
    promo_dict_free(wd);
    promo_free(df);
    promo_free(pw);
    promo_free(pn);
    promo_free(buyers);
    promo_free(nb_slot);
    promo_free(cs);
    promo_free(cu);
    return rc;
}
