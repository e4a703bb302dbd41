/* bench/propensity: the propensity pipeline on a workspace (UCI Online Retail in
 * bench/propensity.sh): target "any" and the N best-selling products (orders before the
 * cutoff), one JSON line per target and model with ROC AUC, Precision@100 and training time.
 * The training/validation/test matrices are exported (float32) so that the reference model
 * (scikit-learn, bench/propensity_sklearn.py) sees exactly the same rows and split.
 * usage: propensity WS EXPORT_DIR [as_of=2011-11-09] [horizon=30] [n_products=20]
 *                   [max_items=0] [max_train_rows=default]
 * The product model learns from every product (max_items 0, what `promo train` does) with the
 * library's defaults (no learnt baselines: `promo train` trains them only with --baselines);
 * "cpu_seconds" is the process CPU time of the training call (the machine may be shared).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/propensity.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/timeutil.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "propensity bench: %s: %s\n", what, promo_last_error());
    return 1;
}

static void print(const char *set, const promo_propensity_report *r, double t_total)
{
    for (int m = 0; m < PROMO_PROP_MODEL_COUNT; m++) {
        const promo_prop_model_eval *e = &r->models[m];
        if (!e->fitted)
            continue;
        printf("{\"bench\":\"propensity\",\"set\":\"%s\",\"target\":\"%s\",\"model\":\"%s\","
               "\"n\":%zu,\"n_pos\":%zu,\"base_rate\":%.5f,\"auc\":%.4f,\"pr_auc\":%.4f,"
               "\"precision_at_100\":%.3f,\"recall_at_100\":%.3f,\"train_rows\":%zu,"
               "\"features\":%zu,\"rounds\":%d,\"train_seconds\":%.2f,\"pipeline_seconds\":%.2f}\n",
               set, r->target, promo_prop_model_name(m), e->m.n, e->m.n_pos, e->m.base_rate,
               e->m.auc, e->m.pr_auc, e->m.precision_at[1], e->m.recall_at[1], r->n_train_rows,
               r->n_features, m == 0 ? r->n_rounds : 0, e->train_seconds, t_total);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: propensity WS EXPORT_DIR [as_of] [horizon] [n_products] "
                        "[max_items]\n");
        return 2;
    }
    const char *ws = argv[1], *exp = argv[2];
    const char *as_of_s = argc > 3 ? argv[3] : "2011-11-09";
    double horizon = argc > 4 ? atof(argv[4]) : 30.0;
    int n_prod = argc > 5 ? atoi(argv[5]) : 20;
    size_t max_items = argc > 6 ? (size_t)atol(argv[6]) : 0;
    promo_log_set_level(PROMO_LOG_WARN);
    promo_store *s = NULL;
    if (promo_store_open(ws, 0, &s))
        return die("open");
    promo_propensity_params p = promo_propensity_params_default();
    if (promo_time_parse(as_of_s, strlen(as_of_s), PROMO_DATE_ISO, &p.as_of))
        return die("as_of");
    p.horizon_days = horizon;
    if (argc > 7)
        p.max_train_rows = (size_t)atol(argv[7]);
    p.plots = 0;
    p.save = 0;
    char dir[1024];

    /* "any": will this customer buy again within the horizon. */
    snprintf(dir, sizeof dir, "%s/any", exp);
    mkdir(dir, 0755);
    p.export_dir = dir;
    const char *any = "any";
    p.baselines = PROMO_PROP_BASELINES_ALL; /* a few thousand rows: seconds */
    promo_propensity_report r;
    double t0 = promo_now_s();
    if (promo_report_propensity_train_multi(s, &p, &any, 1, &r))
        return die("train any");
    print("any", &r, promo_now_s() - t0);

    /* The best-selling products (distinct orders before the cutoff), one pair model. */
    sqlite3 *db = promo_store_db(s);
    sqlite3_stmt *st = NULL;
    const char *q = "SELECT product_id FROM transactions WHERE quantity > 0 AND customer_id IS "
                    "NOT NULL AND ts < ?1 GROUP BY product_id ORDER BY count(DISTINCT order_id) "
                    "DESC, product_id LIMIT ?2";
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
        return die("sql");
    sqlite3_bind_int64(st, 1, p.as_of);
    sqlite3_bind_int(st, 2, n_prod);
    char **targets = promo_calloc((size_t)n_prod, sizeof *targets);
    int n = 0;
    while (n < n_prod && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        size_t len = strlen(id) + 9;
        targets[n] = promo_malloc(len);
        snprintf(targets[n], len, "product:%s", id);
        n++;
    }
    sqlite3_finalize(st);
    snprintf(dir, sizeof dir, "%s/products", exp);
    mkdir(dir, 0755);
    p.max_items = max_items;
    p.baselines = PROMO_PROP_BASELINES_HEURISTIC;
    double c0 = cpu_s();
    promo_propensity_report *rs = promo_calloc((size_t)n, sizeof *rs);
    t0 = promo_now_s();
    if (promo_report_propensity_train_multi(s, &p, (const char *const *)targets, (size_t)n, rs))
        return die("train products");
    double t = promo_now_s() - t0;
    fprintf(stderr, "propensity bench: products: %.2f s wall, %.2f s CPU, %d targets\n", t,
            cpu_s() - c0, n);
    FILE *f = NULL;
    char tp[1100];
    snprintf(tp, sizeof tp, "%s/targets.txt", dir);
    f = fopen(tp, "w");
    for (int k = 0; k < n; k++) {
        print("products", &rs[k], t);
        if (f)
            fprintf(f, "%s\n", targets[k]);
        promo_free(targets[k]);
    }
    if (f)
        fclose(f);
    promo_free(targets);
    promo_free(rs);
    promo_store_close(s);
    return 0;
}
