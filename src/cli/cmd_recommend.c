/* promo recommend: the top-K products for one customer or for every customer, or the top-K
 * customers for one product (the reverse query), from a recommender promo train saved.
 * Reads the model file and the interaction matrix stored beside it, not the tables, unless
 * --as-of asks for another cutoff: then the purchases before DATE are read from the
 * workspace and each customer's vector is folded in from them (no retraining), which is also
 * how a customer the model never saw gets recommendations. CSV columns customer_id,
 * product_id, rank, score (or JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/outfile.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

typedef struct out_ctx {
    FILE *f;
    int json;
    size_t n_rows;
} out_ctx;

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static void emit(out_ctx *o, const char *cust, const char *prod, size_t rank, float score)
{
    if (o->json) {
        fprintf(o->f, "%s\n  {\"customer_id\": ", o->n_rows ? "," : "");
        cli_json_str(o->f, cust);
        fprintf(o->f, ", \"product_id\": ");
        cli_json_str(o->f, prod);
        fprintf(o->f, ", \"rank\": %zu, \"score\": %.6g}", rank, (double)score);
    } else {
        csv_field(o->f, cust);
        fputc(',', o->f);
        csv_field(o->f, prod);
        fprintf(o->f, ",%zu,%.6g\n", rank, (double)score);
    }
    o->n_rows++;
}

/* A customer's purchases in hist (row h), as model item indices (products the model does not
 * know are left out). *items / *values: new arrays (promo_free). */
static int history_of(const promo_rec_data *hist,
                      uint32_t h,
                      const promo_rec_model *m,
                      uint32_t **items,
                      float **values,
                      size_t *n)
{
    const promo_csr *a = &hist->m;
    uint64_t b = a->row_ptr[h], e = a->row_ptr[h + 1];
    *n = 0;
    *items = promo_mallocn(e - b ? e - b : 1, sizeof **items);
    *values = promo_mallocn(e - b ? e - b : 1, sizeof **values);
    if (!*items || !*values)
        return PROMO_ENOMEM;
    const promo_dict *mi = promo_rec_model_items(m);
    for (uint64_t x = b; x < e; x++) {
        uint32_t j = a->col_idx[x];
        if (hist->items && mi) {
            j = promo_dict_find(mi, promo_dict_key(hist->items, j),
                                promo_dict_key_len(hist->items, j));
            if (j == PROMO_DICT_NONE)
                continue;
        }
        (*items)[*n] = j;
        (*values)[(*n)++] = a->values[x];
    }
    return PROMO_OK;
}

/* Id i of dictionary d, or i itself written into buf when the model has no dictionary. */
static const char *id_of(const promo_dict *d, uint32_t i, char *buf, size_t n)
{
    if (d)
        return promo_dict_key(d, i);
    snprintf(buf, n, "%u", i);
    return buf;
}

static const char *item_id(const promo_rec_model *m, uint32_t j, char *buf, size_t n)
{
    return id_of(promo_rec_model_items(m), j, buf, n);
}

static const char *user_id(const promo_rec_model *m, uint32_t u, char *buf, size_t n)
{
    return id_of(promo_rec_model_customers(m), u, buf, n);
}

/* One customer by fold-in from hist row h. */
static int fold_one(const promo_rec_model *m,
                    const promo_rec_query *q,
                    const promo_rec_data *hist,
                    uint32_t h,
                    out_ctx *o,
                    uint32_t *ids,
                    float *sc)
{
    uint32_t *items = NULL;
    float *values = NULL;
    size_t n = 0, got = 0;
    int rc = history_of(hist, h, m, &items, &values, &n);
    if (!rc)
        rc = promo_rec_topk_history(m, q, items, values, n, ids, sc, &got);
    char b[32];
    for (size_t r = 0; !rc && r < got; r++)
        emit(o, promo_dict_key(hist->customers, h), item_id(m, ids[r], b, sizeof b), r + 1, sc[r]);
    promo_free(items);
    promo_free(values);
    return rc;
}

static int run(const char *ws,
               const char *model_kind,
               const char *customer,
               int all,
               const char *product,
               int64_t as_of,
               const promo_rec_query *query,
               out_ctx *o)
{
    promo_rec_query qq = *query, *q = &qq; /* q->history is set below */
    promo_store *s = NULL;
    promo_rec_model *m = NULL;
    promo_rec_data hist, trained;
    promo_panel d;
    memset(&hist, 0, sizeof hist);
    memset(&trained, 0, sizeof trained);
    memset(&d, 0, sizeof d);
    char *path = NULL;
    uint32_t *ids = NULL, *users = NULL;
    float *sc = NULL;
    promo_rec_topk top = {0};
    int rc = promo_store_open(ws, 0, &s);
    if (rc)
        goto done;
    if (!(path = promo_rec_model_path(s, model_kind))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if ((rc = promo_rec_model_load(path, &m))) {
        if (rc == PROMO_ENOTFOUND && access(path, F_OK) != 0)
            rc =
                promo_fail(rc, "no %s recommender in %s (%s: run `promo train --ws %s --model %s`)",
                           model_kind, ws, path, ws, model_kind);
        goto done;
    }
    int64_t m_as_of = promo_rec_model_as_of(m);
    int fold = as_of != 0 && as_of != m_as_of;
    if ((rc = promo_rec_data_workspace(s, NULL, m_as_of, &trained)))
        goto done;
    if (trained.m.n_rows != promo_rec_model_n_users(m) ||
        trained.m.n_cols != promo_rec_model_n_items(m)) {
        rc = promo_fail(PROMO_EINPUT, "recommend: the stored matrix does not match the model "
                                      "(re-run promo train)");
        goto done;
    }
    if (fold) {
        if ((rc = promo_panel_load(s, q->n_threads, &d)) ||
            (rc = promo_rec_data_from_panel(&d, PROMO_REC_BEGIN, as_of, &hist)))
            goto done;
    }
    ids = promo_mallocn(q->k, sizeof *ids);
    sc = promo_mallocn(q->k, sizeof *sc);
    if (!ids || !sc) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    char b1[32], b2[32];
    if (product) {
        uint32_t j = promo_rec_data_item(&trained, product);
        if (j == PROMO_REC_NONE) {
            rc = promo_fail(PROMO_ENOTFOUND, "--product %s: not in the model's products", product);
            goto done;
        }
        q->history = &trained.m;
        size_t got = 0;
        if ((rc = promo_rec_top_customers(m, q, j, ids, sc, &got)))
            goto done;
        for (size_t r = 0; r < got; r++)
            emit(o, user_id(m, ids[r], b1, sizeof b1), product, r + 1, sc[r]);
        goto done;
    }
    if (customer) {
        uint32_t u = promo_rec_data_customer(&trained, customer);
        if (fold || u == PROMO_REC_NONE) {
            const promo_rec_data *h = fold ? &hist : &trained;
            uint32_t r = promo_rec_data_customer(h, customer);
            if (r == PROMO_REC_NONE) {
                rc = promo_fail(PROMO_ENOTFOUND, "--customer %s: unknown customer", customer);
                goto done;
            }
            rc = fold_one(m, q, h, r, o, ids, sc);
            goto done;
        }
        q->history = &trained.m;
        if ((rc = promo_rec_topk_users(m, q, &u, 1, &top)))
            goto done;
    } else if (all && fold) {
        for (uint32_t r = 0; r < hist.m.n_rows && !rc; r++)
            if (hist.m.row_ptr[r + 1] > hist.m.row_ptr[r])
                rc = fold_one(m, q, &hist, r, o, ids, sc);
        goto done;
    } else {
        /* Every customer with a purchase before the cutoff. */
        size_t n = 0;
        if (!(users = promo_mallocn(trained.m.n_rows ? trained.m.n_rows : 1, sizeof *users))) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        for (uint32_t u = 0; u < trained.m.n_rows; u++)
            if (trained.m.row_ptr[u + 1] > trained.m.row_ptr[u])
                users[n++] = u;
        q->history = &trained.m;
        if ((rc = promo_rec_topk_users(m, q, users, n, &top)))
            goto done;
    }
    for (size_t r = 0; r < top.n; r++)
        for (size_t i = 0; i < top.k && top.items[r * top.k + i] != PROMO_REC_NONE; i++)
            emit(o, user_id(m, top.users[r], b1, sizeof b1),
                 item_id(m, top.items[r * top.k + i], b2, sizeof b2), i + 1,
                 top.scores[r * top.k + i]);
done:
    promo_rec_topk_free(&top);
    promo_free(ids);
    promo_free(users);
    promo_free(sc);
    promo_free(path);
    promo_rec_data_free(&hist);
    promo_rec_data_free(&trained);
    promo_panel_free(&d);
    promo_rec_model_free(m);
    promo_store_close(s);
    return rc;
}

int cmd_recommend(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *customer = NULL, *product = NULL, *model = "als", *out = NULL;
    int all = 0, json = 0, exclude = 0, include = 0;
    unsigned long long k = 10;
    int64_t as_of = 0;
    promo_rec_query q = promo_rec_query_default();
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("customer", "ID", &customer), .help = "recommend for this customer"},
        {CLI_FLAG("all", &all), .help = "recommend for every customer with a purchase"},
        {CLI_STRING("product", "ID", &product),
         .help = "the reverse query: the customers most likely to want this product"},
        {CLI_STRING("model", "NAME", &model), .help = "which trained recommender (als, bpr, ...)"},
        {CLI_UINT("k", "K", 1, 100000, &k), .help = "list length"},
        {CLI_AS_OF(&as_of),
         .help = "take purchases before DATE (customers folded in, no retraining)",
         .def = "the model's cutoff"},
        {CLI_FLAG("exclude-bought", &exclude),
         .help = "leave out products the customer bought (the default)"},
        {CLI_FLAG("include-bought", &include), .help = "allow products already bought"},
        {CLI_PATH("out", "FILE.csv", &out), .help = "output file", .def = "stdout"},
        {CLI_THREADS(&q.n_threads)},
        {CLI_JSON(&json), .help = "a JSON array instead of CSV"},
        {0},
    };
    const cli_spec spec = {
        .name = "recommend",
        .usage = "usage: promo recommend --ws DIR (--customer ID | --all | --product ID)\n"
                 "                       [--model als|bpr|...] [--k 10] [--as-of DATE]\n"
                 "                       [--exclude-bought | --include-bought] [--out FILE.csv]\n"
                 "                       [--json]\n",
        .about = "The top K products for a customer (or for every customer who bought\n"
                 "something), or with --product the top K customers for that product, from the\n"
                 "recommender promo train --model NAME saved. CSV columns: customer_id,\n"
                 "product_id, rank, score; to FILE.csv (written atomically) or stdout.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if ((customer != NULL) + all + (product != NULL) != 1)
        return cli_usage_error("recommend", "give exactly one of --customer, --all, --product");
    if (exclude && include)
        return cli_usage_error("recommend", "--exclude-bought and --include-bought conflict");
    if (!promo_rec_kind_find(model))
        return cli_usage_error("recommend", "--model %s: not a recommender", model);
    if (product && as_of)
        return cli_usage_error("recommend", "--product uses the model's cutoff (no --as-of)");
    q.k = (size_t)k;
    q.exclude_bought = !include;
    char *buf = NULL;
    size_t len = 0;
    out_ctx o = {open_memstream(&buf, &len), json, 0};
    if (!o.f)
        return cli_report(promo_fail(PROMO_ENOMEM, "out of memory"));
    if (json)
        fputc('[', o.f);
    else
        fputs("customer_id,product_id,rank,score\n", o.f);
    int rc = run(ws, model, customer, all, product, as_of, &q, &o);
    if (json)
        fputs(o.n_rows ? "\n]\n" : "]\n", o.f);
    if (fclose(o.f) != 0 && !rc)
        rc = promo_fail(PROMO_ENOMEM, "out of memory");
    if (!rc) {
        if (out) {
            rc = promo_outfile_write(out, buf, len);
            if (!rc)
                promo_info("%zu recommendations into %s", o.n_rows, out);
        } else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
            rc = promo_fail(PROMO_EIO, "writing to stdout failed");
        }
    }
    free(buf);
    return cli_report(rc);
}
