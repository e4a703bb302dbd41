/* bench/features_bench.c: promo_features_compute on a synthetic 10M-line, 1M-customer history
 * (all features + CSR matrices + product features + CLV), timed; then the same lines are
 * dumped as raw arrays for pandas (see bench/features.sh). Prints JSON lines.
 *
 * usage: features_bench N_TX N_CUSTOMERS DUMP_DIR|- [threads]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/rng.h>
#include <promo/schema.h>

#include "features_digest.h"

/* User + system CPU seconds of the process so far: the machine is shared, so wall time alone
 * says little. */
static double cpu_s(double *user)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
    return *user + (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static promo_column *col(promo_table *t, const char *n)
{
    return promo_table_column(t, n);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: features_bench N_TX N_CUSTOMERS DUMP_DIR|- [threads]\n");
        return 2;
    }
    size_t n_tx = strtoull(argv[1], NULL, 10), n_cust = strtoull(argv[2], NULL, 10);
    const char *dump = argv[3];
    int threads = argc > 4 ? atoi(argv[4]) : 0;
    const uint32_t n_prod = 10000, n_cat = 50, n_store = 200;
    char buf[64];
    double t0 = promo_now_s();
    promo_table *cu = promo_schema_new_table(promo_schema_find("customers"));
    promo_table *pr = promo_schema_new_table(promo_schema_find("products"));
    promo_table *tx = promo_schema_new_table(promo_schema_find("transactions"));
    promo_table_reserve(tx, n_tx);
    for (size_t i = 0; i < n_cust; i++) {
        int n = snprintf(buf, sizeof buf, "C%07zu", i);
        promo_column_push_str(col(cu, "customer_id"), buf, (size_t)n);
        for (size_t j = 1; j < cu->n_cols; j++)
            promo_column_push_null(cu->cols[j]);
    }
    for (uint32_t j = 0; j < n_prod; j++) {
        int n = snprintf(buf, sizeof buf, "P%05u", j);
        promo_column_push_str(col(pr, "product_id"), buf, (size_t)n);
        n = snprintf(buf, sizeof buf, "cat%02u", j % n_cat);
        promo_column_push_str(col(pr, "category"), buf, (size_t)n);
        promo_column_push_f64(col(pr, "price"), 1 + j % 50);
        for (size_t k = 0; k < pr->n_cols; k++)
            if (pr->cols[k]->n < (size_t)j + 1)
                promo_column_push_null(pr->cols[k]);
    }
    promo_table_seal(cu);
    promo_table_seal(pr);
    /* Orders of 1..7 lines (mean 4) for random customers over 540 days; prices move weekly. */
    promo_rng r;
    promo_rng_init(&r, 42, 0);
    int64_t start = 1672531200; /* 2023-01-01 */
    uint32_t *d_cust = NULL, *d_cat = NULL, *d_order = NULL;
    int64_t *d_ts = NULL;
    double *d_spend = NULL;
    if (strcmp(dump, "-") != 0) {
        d_cust = malloc(n_tx * 4);
        d_cat = malloc(n_tx * 4);
        d_order = malloc(n_tx * 4);
        d_ts = malloc(n_tx * 8);
        d_spend = malloc(n_tx * 8);
    }
    size_t row = 0, order = 0;
    promo_column *c_ord = col(tx, "order_id"), *c_line = col(tx, "line"),
                 *c_cu = col(tx, "customer_id"), *c_pr = col(tx, "product_id"),
                 *c_st = col(tx, "store_id"), *c_ts = col(tx, "ts"), *c_q = col(tx, "quantity"),
                 *c_up = col(tx, "unit_price"), *c_d = col(tx, "discount"),
                 *c_pm = col(tx, "promotion_id"), *c_ch = col(tx, "channel");
    /* Intern every id once and push dictionary codes: generating 10M rows through string
     * lookups took longer than the features themselves. */
    uint32_t *cu_code = malloc(n_cust * sizeof *cu_code),
             *pr_code = malloc(n_prod * sizeof *pr_code);
    uint32_t st_code[200], ch_code[2];
    for (size_t i = 0; i < n_cust; i++) {
        int n = snprintf(buf, sizeof buf, "C%07zu", i);
        cu_code[i] = promo_dict_intern(c_cu->dict, buf, (size_t)n);
    }
    for (uint32_t j = 0; j < n_prod; j++) {
        int n = snprintf(buf, sizeof buf, "P%05u", j);
        pr_code[j] = promo_dict_intern(c_pr->dict, buf, (size_t)n);
    }
    for (uint32_t j = 0; j < n_store; j++) {
        int n = snprintf(buf, sizeof buf, "S%03u", j);
        st_code[j] = promo_dict_intern(c_st->dict, buf, (size_t)n);
    }
    ch_code[0] = promo_dict_intern(c_ch->dict, "offline", 7);
    ch_code[1] = promo_dict_intern(c_ch->dict, "online", 6);
    while (row < n_tx) {
        uint32_t c = (uint32_t)promo_rng_below(&r, n_cust);
        int64_t ts = start + (int64_t)promo_rng_below(&r, 540 * 86400);
        int lines = 1 + (int)promo_rng_below(&r, 7);
        int online = promo_rng_bernoulli(&r, 0.3);
        uint32_t st = (uint32_t)promo_rng_below(&r, n_store);
        int n = snprintf(buf, sizeof buf, "O%09zu", order);
        uint32_t oc = promo_dict_intern(c_ord->dict, buf, (size_t)n);
        for (int l = 0; l < lines && row < n_tx; l++, row++) {
            uint32_t p = (uint32_t)promo_rng_below(&r, n_prod);
            double price = (1 + p % 50) * (1 + 0.1 * (double)((ts / 604800 + p) % 3));
            double q = 1 + (double)promo_rng_below(&r, 3);
            double disc = promo_rng_bernoulli(&r, 0.1) ? 0.2 * q * price : 0;
            promo_column_push_code(c_ord, oc);
            promo_column_push_i64(c_line, l + 1);
            promo_column_push_code(c_cu, cu_code[c]);
            promo_column_push_code(c_pr, pr_code[p]);
            if (online)
                promo_column_push_null(c_st);
            else
                promo_column_push_code(c_st, st_code[st]);
            promo_column_push_i64(c_ts, ts);
            promo_column_push_f64(c_q, q);
            promo_column_push_f64(c_up, price);
            promo_column_push_f64(c_d, disc);
            promo_column_push_null(c_pm);
            promo_column_push_code(c_ch, ch_code[online]);
            if (d_cust) {
                d_cust[row] = c;
                d_cat[row] = p % n_cat;
                d_order[row] = (uint32_t)order;
                d_ts[row] = ts;
                d_spend[row] = q * price - disc;
            }
        }
        order++;
    }
    free(cu_code);
    free(pr_code);
    promo_table_seal(tx);
    double t1 = promo_now_s();
    fprintf(stderr, "generated %zu lines, %zu orders in %.1fs\n", n_tx, order, t1 - t0);
    promo_feature_input in = {.customers = cu, .products = pr, .transactions = tx};
    promo_feature_params p = promo_feature_params_default();
    p.as_of = start + 540 * 86400;
    p.n_threads = threads;
    promo_log_set_level(PROMO_LOG_DEBUG);
    promo_features *f = NULL;
    double u2, u3, c2 = cpu_s(&u2), t2 = promo_now_s();
    int rc = promo_features_compute(&in, &p, &f);
    double t3 = promo_now_s(), c3 = cpu_s(&u3);
    if (rc) {
        fprintf(stderr, "features: %s\n", promo_last_error());
        return 1;
    }
    printf("{\"bench\":\"features\",\"what\":\"promo_features_compute (all features, 4 CSR, "
           "category CSR, products, co-purchase, elasticity, BG/NBD+GG)\",\"transactions\":%zu,"
           "\"customers\":%zu,\"products\":%u,\"threads\":%d,\"seconds\":%.3f,"
           "\"user_cpu_s\":%.3f,\"cpu_s\":%.3f,\"features\":%zu,\"nnz\":%llu,"
           "\"copurchase_nnz\":%llu,\"clv\":%s,\"digest\":\"%016llx\"}\n",
           n_tx, f->n_customers, n_prod, threads, t3 - t2, u3 - u2, c3 - c2, f->n_features,
           (unsigned long long)f->interactions[0].nnz, (unsigned long long)f->copurchase.nnz,
           f->clv_status ? "false" : "true", (unsigned long long)digest(f));
    if (d_cust) {
        const char *names[5] = {"cust.u32", "cat.u32", "order.u32", "ts.i64", "spend.f64"};
        const void *data[5] = {d_cust, d_cat, d_order, d_ts, d_spend};
        size_t sz[5] = {4, 4, 4, 8, 8};
        for (int k = 0; k < 5; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dump, names[k]);
            FILE *fo = fopen(path, "wb");
            if (!fo || fwrite(data[k], sz[k], n_tx, fo) != n_tx || fclose(fo)) {
                fprintf(stderr, "cannot write %s\n", path);
                return 1;
            }
        }
    }
    promo_features_free(f);
    promo_table_free(cu);
    promo_table_free(pr);
    promo_table_free(tx);
    free(d_cust);
    free(d_cat);
    free(d_order);
    free(d_ts);
    free(d_spend);
    return 0;
}
