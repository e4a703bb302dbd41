/* promo features: build the customer and product features of a workspace as of a cutoff and
 * store them (tables features_customers and features_products, meta features.as_of), and
 * optionally write the customer table as CSV (customer_id first). The matrix file and
 * fingerprint stored beside them (models/features_customers.bin, meta features.source,
 * panel.h) let promo score and the uplift scorer map them instead of recomputing while the
 * tables are unchanged.
 *
 * Missing values (NaN in the float matrix) are stored as SQL NULL / empty CSV fields.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/outfile.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/timeutil.h>
#include <promo/uplift_ws.h>

#include "cli/cli.h"

/* Wall and process CPU seconds since the last phase, under -v: where the time after the
 * features' own compute goes (bench/RESULTS.md, feat15). */
typedef struct phase_clock {
    double wall, cpu;
} phase_clock;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void phase(phase_clock *c, const char *what)
{
    double w = promo_now_s(), u = cpu_now();
    if (what)
        promo_debug("features: %s %.3fs wall, %.3fs CPU", what, w - c->wall, u - c->cpu);
    c->wall = w;
    c->cpu = u;
}

/* The customer and product tables, built on their own thread. */
typedef struct tables_job {
    const promo_features *f;
    const uint8_t *y;
    const promo_table *products;
    int keys;             /* the customer table without X, X as m (no --out CSV to write) */
    promo_store_matrix m; /* when keys */
    pthread_t thread;
    int started, rc;
    promo_table *ct, *pt;
    char msg[512]; /* the thread's promo_last_error() when rc != 0 */
} tables_job;

static void *tables_run(void *arg)
{
    tables_job *j = arg;
    j->rc = j->keys ? promo_features_customers_keys(j->f, j->y, &j->ct, &j->m)
                    : promo_features_customers_table(j->f, j->y, &j->ct);
    if (!j->rc)
        j->rc = promo_features_products_table(j->f, j->products, &j->pt);
    if (j->rc)
        snprintf(j->msg, sizeof j->msg, "%s", promo_last_error());
    return NULL;
}

/* Wait for the job (once; later calls return its status): its error becomes this thread's. */
static int tables_join(tables_job *j)
{
    if (j->started) {
        pthread_join(j->thread, NULL);
        j->started = 0;
        if (j->rc)
            promo_fail(j->rc, "%s", j->msg);
    }
    return j->rc;
}

/* The inputs and the features, freed on threads of their own as soon as nothing reads them:
 * 0.1 s of unmapping at 10M lines that then overlaps the table write and the commit instead of
 * following them. The inputs d once the tables thread (which reads d.products) is joined; the
 * features f by the last of their two holders: the matrix file's writer (it writes from f, and
 * frees f on its own thread when it is the last) and the main thread once the customer table
 * (written from f->X) is written. */
typedef struct free_job {
    promo_panel d;
    promo_features *f;
    pthread_t thread, d_thread;
    int started, d_started;
    atomic_int refs;
} free_job;

static void *free_run(void *arg)
{
    free_job *j = arg;
    promo_features_free(j->f);
    return NULL;
}

static void *free_inputs(void *arg)
{
    free_job *j = arg;
    promo_panel_free(&j->d);
    return NULL;
}

static void free_release(free_job *j, int spawn)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    if (spawn && pthread_create(&j->thread, NULL, free_run, j) == 0)
        j->started = 1;
    else
        free_run(j);
}

static void free_release_writer(void *arg)
{
    free_release(arg, 0);
}

/* What the summary prints of the features (they may be freed by then). */
typedef struct summary {
    size_t n_customers, n_features, pos;
    uint32_t n_products;
    promo_bgnbd bgnbd;
    promo_gamma_gamma gamma_gamma;
    int clv_fitted;
    char clv_status[512];
} summary;

int cmd_features(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *out_csv = NULL, *label = NULL;
    double horizon = 30;
    int json = 0;
    promo_feature_params fp = promo_feature_params_default();
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_AS_OF(&fp.as_of), .required = 1, .help = "the cutoff: rows dated before it are read"},
        {CLI_PATH("out", "FILE.csv", &out_csv),
         .help = "also write the customer features as CSV (customer_id first)"},
        {CLI_STRING("label", "TARGET", &label),
         .help = "add a column `label`: bought TARGET (any, product:ID, category:NAME) in "
                 "[DATE, DATE + horizon)"},
        {CLI_NUMBER("horizon", "DAYS", 1, 3650, &horizon), .help = "label window"},
        {CLI_NUMBER("half-life", "DAYS", 0.1, 3650, &fp.half_life_days),
         .help = "recency weighting of the interaction matrix"},
        {CLI_FLAG_CLEAR("no-clv", &fp.clv), .help = "skip the BG/NBD and Gamma-Gamma fits"},
        {CLI_JSON(&json), .help = "print a summary as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "features",
        .usage = "usage: promo features --ws DIR --as-of DATE [--out FILE.csv] [--label TARGET]\n"
                 "                      [--horizon DAYS] [--half-life DAYS] [--no-clv] [--json]\n",
        .about =
            "Build features from the rows of workspace DIR dated strictly before DATE and store\n"
            "them as tables features_customers and features_products (meta features.as_of).\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    promo_panel d;
    memset(&d, 0, sizeof d);
    promo_store *s = NULL;
    promo_features *f = NULL;
    promo_table *ct = NULL, *pt = NULL;
    uint8_t *y = NULL;
    promo_outfile *of = NULL;
    char *version = NULL, *source = NULL;
    tables_job tj = {0};
    free_job fj = {0};
    int main_ref = 0; /* this thread still holds fj */
    summary sm = {0};
    phase_clock pc;
    phase(&pc, NULL);
    int rc = promo_store_open(ws, 0, &s);
    /* The data version before any table is read: the fingerprint stored with the features
     * names it, so a change committed while we read makes them stale (panel.h). */
    if (!rc)
        version = promo_store_meta_get(s, "data.version");
    /* Only the columns the features (and the labels) read. */
    if (rc || (rc = promo_panel_load_for_features(s, fp.n_threads, &d)))
        goto done;
    phase(&pc, "read");
    double t0 = promo_now_s();
    if ((rc = promo_features_compute(&d.in, &fp, &f)))
        goto done;
    double secs = promo_now_s() - t0;
    phase(&pc, "compute");
    if (label && (rc = promo_features_labels(f, &d.in, label, horizon, &y)))
        goto done;
    sm = (summary){.n_customers = f->n_customers,
                   .n_features = f->n_features,
                   .n_products = f->products.n_products,
                   .bgnbd = f->bgnbd,
                   .gamma_gamma = f->gamma_gamma,
                   .clv_fitted = !f->clv_status};
    if (f->clv_status)
        snprintf(sm.clv_status, sizeof sm.clv_status, "%s", f->clv_status);
    for (size_t i = 0; y && i < f->n_customers; i++)
        sm.pos += y[i];
    /* The tables are built on a second thread while this one computes the fingerprint and
     * stages the matrix file: the build is pure CPU over f, read-only here. */
    tj = (tables_job){.f = f, .y = y, .products = d.products, .keys = !out_csv};
    if ((rc = pthread_create(&tj.thread, NULL, tables_run, &tj))) {
        rc = promo_fail(PROMO_ENOMEM, "features: cannot start a thread: %s", strerror(rc));
        goto done;
    }
    tj.started = 1;
    if (!(source =
              promo_panel_stored_source(version, &fp, &d, f, promo_uplift_ws_default_as_of(&d)))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    phase(&pc, "source");
    char day[32];
    promo_time_format(fp.as_of, 0, day, sizeof day);
    /* --out is opened (its path checked) before anything is staged, written before the
     * tables are committed and put in place after: a path that cannot be written fails the
     * command with the workspace unchanged. */
    if ((out_csv && (rc = promo_outfile_open(out_csv, &of))) || (rc = promo_store_begin(s)))
        goto done;
    /* f is the free job's from here on (free_job above): read by the tables thread, the matrix
     * file's writer and the customer table's write, freed as each is done; d once the tables
     * thread is joined. */
    fj.f = f;
    f = NULL;
    atomic_init(&fj.refs, 2);
    main_ref = 1;
    /* The matrix file is written on its own thread (mostly waiting for the disk: O_DIRECT,
     * store_stage.c) while this one joins the tables and writes them. */
    rc = promo_panel_stored_write_async(s, fj.f, source, free_release_writer, &fj);
    if (rc)
        goto done;
    phase(&pc, "stored_write");
    if ((rc = tables_join(&tj)))
        goto done;
    ct = tj.ct;
    pt = tj.pt;
    tj.ct = tj.pt = NULL;
    fj.d = d;
    memset(&d, 0, sizeof d);
    if (pthread_create(&fj.d_thread, NULL, free_inputs, &fj) == 0)
        fj.d_started = 1;
    else
        free_inputs(&fj);
    phase(&pc, "join");
    if (of && (rc = promo_csv_write_stream(promo_outfile_stream(of), ct)))
        goto done;
    /* Without --out, X is written from f as the table's feature columns (features_tables.c):
     * f is released once the tables are written. */
    if ((rc = tj.keys ? promo_store_write_table_matrix(s, ct, &tj.m)
                      : promo_store_write_table(s, ct)))
        goto done;
    main_ref = 0;
    free_release(&fj, 1);
    if ((rc = promo_store_write_table(s, pt)) ||
        (rc = promo_store_meta_set(s, "features.as_of", day)) ||
        (rc = promo_store_meta_set(s, PROMO_PANEL_FEATURES_SOURCE, source)))
        goto done;
    phase(&pc, "tables");
    if ((rc = promo_store_commit(s)))
        goto done;
    phase(&pc, "commit");
    rc = of ? promo_outfile_commit(of) : PROMO_OK;
    of = NULL;
    if (rc)
        goto done;
    if (json) {
        printf("{\"as_of\":\"%s\",\"customers\":%zu,\"features\":%zu,\"products\":%u,"
               "\"seconds\":%.3f,\"clv\":",
               day, sm.n_customers, sm.n_features, sm.n_products, secs);
        if (!sm.clv_fitted)
            printf("null");
        else
            printf("{\"r\":%.6g,\"alpha\":%.6g,\"a\":%.6g,\"b\":%.6g,\"p\":%.6g,\"q\":%.6g,"
                   "\"v\":%.6g}",
                   sm.bgnbd.r, sm.bgnbd.alpha, sm.bgnbd.a, sm.bgnbd.b, sm.gamma_gamma.p,
                   sm.gamma_gamma.q, sm.gamma_gamma.v);
        if (y)
            printf(",\"label_positives\":%zu", sm.pos);
        printf("}\n");
    } else {
        printf("features as of %s: %zu customers x %zu features, %u products (%.2fs)\n", day,
               sm.n_customers, sm.n_features, sm.n_products, secs);
        if (!sm.clv_fitted)
            printf("CLV: not fitted: %s\n", sm.clv_status);
        else
            printf("CLV: BG/NBD r=%.4g alpha=%.4g a=%.4g b=%.4g (days); Gamma-Gamma p=%.4g "
                   "q=%.4g v=%.4g\n",
                   sm.bgnbd.r, sm.bgnbd.alpha, sm.bgnbd.a, sm.bgnbd.b, sm.gamma_gamma.p,
                   sm.gamma_gamma.q, sm.gamma_gamma.v);
        if (y)
            printf("label %s over %g days: %zu positives\n", label, horizon, sm.pos);
    }
done:
    if (tj.started) /* a failure on this thread: its message stands */
        pthread_join(tj.thread, NULL);
    /* a failed table write beside a failed matrix file write (a full disk, a size limit): the
     * file's errno says more than SQLite's "disk I/O error" */
    if (rc && s && promo_store_stage_wait(s))
        rc = PROMO_EIO;
    if (main_ref)
        free_release(&fj, 0);
    if (fj.d_started)
        pthread_join(fj.d_thread, NULL);
    if (fj.started)
        pthread_join(fj.thread, NULL);
    promo_table_free(tj.ct);
    promo_table_free(tj.pt);
    promo_free(version);
    promo_free(source);
    promo_outfile_abort(of);
    promo_free(y);
    promo_table_free(ct);
    promo_table_free(pt);
    promo_features_free(f);
    promo_panel_free(&d);
    promo_store_close(s); /* after a failure: waits for the matrix file's writer and its release */
    phase(&pc, "print+free");
    return cli_report(rc);
}
