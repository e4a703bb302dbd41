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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int rc = promo_store_open(ws, 0, &s);
    /* The data version before any table is read: the fingerprint stored with the features
     * names it, so a change committed while we read makes them stale (panel.h). */
    if (!rc)
        version = promo_store_meta_get(s, "data.version");
    /* Only the columns the features (and the labels) read. */
    if (rc || (rc = promo_panel_load_for_features(s, fp.n_threads, &d)))
        goto done;
    double t0 = promo_now_s();
    if ((rc = promo_features_compute(&d.in, &fp, &f)))
        goto done;
    double secs = promo_now_s() - t0;
    if (label && (rc = promo_features_labels(f, &d.in, label, horizon, &y)))
        goto done;
    if ((rc = promo_features_customers_table(f, y, &ct)) ||
        (rc = promo_features_products_table(f, d.products, &pt)))
        goto done;
    if (!(source =
              promo_panel_stored_source(version, &fp, &d, f, promo_uplift_ws_default_as_of(&d)))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    char day[32];
    promo_time_format(fp.as_of, 0, day, sizeof day);
    /* --out is written before the tables are committed and put in place after: a path that
     * cannot be written fails the command with the workspace unchanged. */
    if (out_csv && (!(rc = promo_outfile_open(out_csv, &of)) &&
                    (rc = promo_csv_write_stream(promo_outfile_stream(of), ct))))
        goto done;
    if (rc || (rc = promo_store_begin(s)) || (rc = promo_store_write_table(s, ct)) ||
        (rc = promo_store_write_table(s, pt)) ||
        (rc = promo_store_meta_set(s, "features.as_of", day)) ||
        (rc = promo_store_meta_set(s, PROMO_PANEL_FEATURES_SOURCE, source)) ||
        (rc = promo_panel_stored_write(s, f, source)) || (rc = promo_store_commit(s)))
        goto done;
    rc = of ? promo_outfile_commit(of) : PROMO_OK;
    of = NULL;
    if (rc)
        goto done;
    size_t pos = 0;
    for (size_t i = 0; y && i < f->n_customers; i++)
        pos += y[i];
    if (json) {
        printf("{\"as_of\":\"%s\",\"customers\":%zu,\"features\":%zu,\"products\":%u,"
               "\"seconds\":%.3f,\"clv\":",
               day, f->n_customers, f->n_features, f->products.n_products, secs);
        if (f->clv_status)
            printf("null");
        else
            printf("{\"r\":%.6g,\"alpha\":%.6g,\"a\":%.6g,\"b\":%.6g,\"p\":%.6g,\"q\":%.6g,"
                   "\"v\":%.6g}",
                   f->bgnbd.r, f->bgnbd.alpha, f->bgnbd.a, f->bgnbd.b, f->gamma_gamma.p,
                   f->gamma_gamma.q, f->gamma_gamma.v);
        if (y)
            printf(",\"label_positives\":%zu", pos);
        printf("}\n");
    } else {
        printf("features as of %s: %zu customers x %zu features, %u products (%.2fs)\n", day,
               f->n_customers, f->n_features, f->products.n_products, secs);
        if (f->clv_status)
            printf("CLV: not fitted: %s\n", f->clv_status);
        else
            printf("CLV: BG/NBD r=%.4g alpha=%.4g a=%.4g b=%.4g (days); Gamma-Gamma p=%.4g "
                   "q=%.4g v=%.4g\n",
                   f->bgnbd.r, f->bgnbd.alpha, f->bgnbd.a, f->bgnbd.b, f->gamma_gamma.p,
                   f->gamma_gamma.q, f->gamma_gamma.v);
        if (y)
            printf("label %s over %g days: %zu positives\n", label, horizon, pos);
    }
done:
    promo_free(version);
    promo_free(source);
    promo_outfile_abort(of);
    promo_free(y);
    promo_table_free(ct);
    promo_table_free(pt);
    promo_features_free(f);
    promo_panel_free(&d);
    promo_store_close(s);
    return cli_report(rc);
}
