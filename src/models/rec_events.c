/* Events (views, carts, favourites) as implicit feedback for the recommenders.
 *
 * On click logs such as Taobao's and Tmall's the purchases are the thin end: Taobao's sample
 * holds 75,693 views for 1,749 purchases. A recommender that learns from purchases alone sees
 * one item a customer; the events say what else they looked at. The training matrix becomes
 * purchases (orders holding the item, as promo_rec_data_from_panel counts them) plus, per
 * event of a named kind in the same window, that kind's weight. The shape stays the purchase
 * matrix's: customers who only browsed have no row (nothing to evaluate them on), products
 * are the catalogue's. Purchase events are the transactions already and are refused as a
 * kind. The evaluation still excludes only what was bought, so a viewed product stays a
 * candidate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/recommend.h>
#include <promo/store.h>

static const char *const kinds[] = {"view", "cart", "favorite"};
enum { N_KINDS = 3 };

int promo_rec_event_weights_parse(const char *spec, double w[PROMO_REC_EVENT_KINDS])
{
    for (int k = 0; k < N_KINDS; k++)
        w[k] = 0;
    if (!spec || !*spec)
        return promo_fail(PROMO_EUSAGE, "--events: expected KIND=WEIGHT,... (view, cart, "
                                        "favorite), got nothing");
    const char *p = spec;
    while (*p) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (!eq || eq > end)
            return promo_fail(PROMO_EUSAGE, "--events: expected KIND=WEIGHT at '%.*s'",
                              (int)(end - p), p);
        int k = -1;
        for (int i = 0; i < N_KINDS; i++)
            if ((size_t)(eq - p) == strlen(kinds[i]) && !strncmp(p, kinds[i], (size_t)(eq - p)))
                k = i;
        if (k < 0)
            return promo_fail(PROMO_EUSAGE,
                              "--events: unknown kind '%.*s' (view, cart or favorite; purchases "
                              "are the transactions and count already)",
                              (int)(eq - p), p);
        char num[64];
        size_t n = (size_t)(end - eq - 1);
        if (n == 0 || n >= sizeof num)
            return promo_fail(PROMO_EUSAGE, "--events: %s: expected a weight", kinds[k]);
        memcpy(num, eq + 1, n);
        num[n] = 0;
        char *e = NULL;
        double v = strtod(num, &e);
        if (*e || !isfinite(v) || v <= 0 || v > 1000)
            return promo_fail(PROMO_EUSAGE,
                              "--events: %s: weight '%s' is not a number in (0, 1000]", kinds[k],
                              num);
        w[k] = v;
        p = *end ? end + 1 : end;
    }
    return PROMO_OK;
}

typedef struct entry {
    uint32_t row, col;
    float w;
} entry;

static int by_row_col(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* The events of the weighted kinds in [from, to) on the purchase matrix's rows and columns,
 * sorted by (row, column); *n_out entries. */
static int read_entries(promo_store *s,
                        const promo_rec_data *purchases,
                        const double w[PROMO_REC_EVENT_KINDS],
                        entry **out,
                        size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    static const char *const cols[] = {"customer_id", "product_id", "kind"};
    promo_table *t = NULL;
    int rc = purchases->from == PROMO_REC_BEGIN
                 ? promo_store_read_range(s, "events", cols, 3, "ts", INT64_MIN, purchases->to, &t)
                 : promo_store_read_range(s, "events", cols, 3, "ts", purchases->from,
                                          purchases->to, &t);
    if (rc == PROMO_ENOTFOUND)
        return promo_fail(PROMO_EUSAGE,
                          "--events: the workspace has no events table (ingest a click log: "
                          "taobao, tmall, or --table events)");
    if (rc)
        return rc;
    const promo_column *cc = promo_table_column(t, "customer_id"),
                       *pc = promo_table_column(t, "product_id"),
                       *kc = promo_table_column(t, "kind");
    /* per dictionary code: the matrix row / column / kind weight, resolved once */
    uint32_t ncd = promo_dict_size(cc->dict), npd = promo_dict_size(pc->dict),
             nkd = promo_dict_size(kc->dict);
    uint32_t *row = promo_mallocn(ncd ? ncd : 1, sizeof *row);
    uint32_t *col = promo_mallocn(npd ? npd : 1, sizeof *col);
    float *kw = promo_mallocn(nkd ? nkd : 1, sizeof *kw);
    entry *e = promo_mallocn(t->n_rows ? t->n_rows : 1, sizeof *e);
    size_t n = 0;
    rc = row && col && kw && e ? PROMO_OK : PROMO_ENOMEM;
    for (uint32_t c = 0; !rc && c < ncd; c++)
        row[c] = promo_rec_data_customer(purchases, promo_dict_key(cc->dict, c));
    for (uint32_t c = 0; !rc && c < npd; c++)
        col[c] = promo_rec_data_item(purchases, promo_dict_key(pc->dict, c));
    for (uint32_t c = 0; !rc && c < nkd; c++) {
        kw[c] = 0;
        for (int k = 0; k < N_KINDS; k++)
            if (!strcmp(promo_dict_key(kc->dict, c), kinds[k]))
                kw[c] = (float)w[k];
    }
    for (size_t r = 0; !rc && r < t->n_rows; r++) {
        if (promo_column_is_null(cc, r) || promo_column_is_null(pc, r) ||
            promo_column_is_null(kc, r))
            continue;
        uint32_t i = row[cc->codes[r]], j = col[pc->codes[r]];
        float x = kw[kc->codes[r]];
        if (i != PROMO_REC_NONE && j != PROMO_REC_NONE && x > 0)
            e[n++] = (entry){i, j, x};
    }
    promo_free(row);
    promo_free(col);
    promo_free(kw);
    promo_table_free(t);
    if (rc) {
        promo_free(e);
        return rc;
    }
    qsort(e, n, sizeof *e, by_row_col);
    *out = e;
    *n_out = n;
    return PROMO_OK;
}

int promo_rec_data_add_events(promo_store *s,
                              const promo_rec_data *purchases,
                              const double w[PROMO_REC_EVENT_KINDS],
                              promo_rec_data *out,
                              uint64_t *n_events)
{
    memset(out, 0, sizeof *out);
    *n_events = 0;
    if (!purchases->customers || !purchases->items)
        return promo_fail(PROMO_EUSAGE, "--events: the matrix has no customer and product ids");
    entry *e = NULL;
    size_t ne = 0;
    int rc = read_entries(s, purchases, w, &e, &ne);
    if (rc)
        return rc;
    const promo_csr *a = &purchases->m;
    uint32_t nr = a->n_rows;
    rc = PROMO_ENOMEM;
    out->from = purchases->from;
    out->to = purchases->to;
    out->source_rows = purchases->source_rows;
    out->source_max_ts = purchases->source_max_ts;
    out->m.owned = 1;
    out->m.n_rows = nr;
    out->m.n_cols = a->n_cols;
    /* at most the two rows' lengths together: sized so, then compacted per row */
    uint64_t cap = a->nnz + ne;
    out->m.row_ptr = promo_calloc((size_t)nr + 1, sizeof *out->m.row_ptr);
    out->m.col_idx = promo_mallocn(cap ? cap : 1, sizeof *out->m.col_idx);
    out->m.values = promo_mallocn(cap ? cap : 1, sizeof *out->m.values);
    if (!out->m.row_ptr || !out->m.col_idx || !out->m.values)
        goto fail;
    uint64_t o = 0;
    size_t q = 0;
    for (uint32_t i = 0; i < nr; i++) {
        uint64_t p = a->row_ptr[i], pe = a->row_ptr[i + 1];
        size_t qe = q;
        while (qe < ne && e[qe].row == i)
            qe++;
        /* merge the purchase row (sorted by column) with the row's events (sorted) */
        while (p < pe || q < qe) {
            uint32_t c =
                p < pe && (q >= qe || a->col_idx[p] <= e[q].col) ? a->col_idx[p] : e[q].col;
            float v = 0;
            if (p < pe && a->col_idx[p] == c)
                v += a->values[p++];
            while (q < qe && e[q].col == c)
                v += e[q++].w;
            out->m.col_idx[o] = c;
            out->m.values[o++] = v;
        }
        out->m.row_ptr[i + 1] = o;
    }
    out->m.nnz = o;
    if (!(out->customers = promo_dict_clone(purchases->customers)) ||
        !(out->items = promo_dict_clone(purchases->items)))
        goto fail;
    promo_free(e);
    *n_events = ne;
    return PROMO_OK;
fail:
    promo_free(e);
    promo_rec_data_free(out);
    return rc;
}
