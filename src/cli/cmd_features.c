/* promo features: build the customer and product features of a workspace as of a cutoff and
 * store them (tables features_customers and features_products, meta features.as_of), and
 * optionally write the customer table as CSV (customer_id first).
 *
 * Missing values (NaN in the float matrix) are stored as SQL NULL / empty CSV fields.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: promo features --ws DIR --as-of DATE [--out FILE.csv] [--label TARGET]\n"
            "                      [--horizon DAYS] [--half-life DAYS] [--no-clv] [--json]\n\n"
            "Build features from the rows of workspace DIR dated strictly before DATE and store\n"
            "them as tables features_customers and features_products (meta features.as_of).\n"
            "  --out FILE.csv     also write the customer features as CSV (customer_id first)\n"
            "  --label TARGET     add a column `label`: bought TARGET (any, product:ID,\n"
            "                     category:NAME) in [DATE, DATE + horizon)\n"
            "  --horizon DAYS     label window (default 30)\n"
            "  --half-life DAYS   recency weighting of the interaction matrix (default 30)\n"
            "  --no-clv           skip the BG/NBD and Gamma-Gamma fits\n"
            "  --json             print a summary as JSON\n");
}

int cmd_features(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ws", required_argument, NULL, 'w'},      {"as-of", required_argument, NULL, 'a'},
        {"out", required_argument, NULL, 'o'},     {"label", required_argument, NULL, 'l'},
        {"horizon", required_argument, NULL, 'h'}, {"half-life", required_argument, NULL, 'f'},
        {"no-clv", no_argument, NULL, 'n'},        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'H'},          {NULL, 0, NULL, 0},
    };
    const char *ws = CLI_DEFAULT_WS, *as_of_s = NULL, *out_csv = NULL, *label = NULL;
    double horizon = 30;
    int json = 0;
    promo_feature_params fp = promo_feature_params_default();
    optind = 1;
    int ch;
    int ec;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'w':
            ws = optarg;
            break;
        case 'a':
            as_of_s = optarg;
            break;
        case 'o':
            out_csv = optarg;
            break;
        case 'l':
            label = optarg;
            break;
        case 'h':
            if ((ec = cli_parse_number("features", "--horizon", optarg, 1, 3650, 0, &horizon)))
                return ec;
            break;
        case 'f':
            if ((ec = cli_parse_number("features", "--half-life", optarg, 0.1, 3650, 0,
                                       &fp.half_life_days)))
                return ec;
            break;
        case 'n':
            fp.clv = 0;
            break;
        case 'j':
            json = 1;
            break;
        case 'H':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("features", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("features", "unexpected argument '%s'", argv[optind]);
    if (!as_of_s)
        return cli_usage_error("features", "--as-of DATE is required");
    if (promo_time_parse(as_of_s, strlen(as_of_s), PROMO_DATE_ISO, &fp.as_of))
        return cli_usage_error("features", "--as-of: expected a date (YYYY-MM-DD), got '%s'",
                               as_of_s);
    promo_panel d;
    memset(&d, 0, sizeof d);
    promo_store *s = NULL;
    promo_features *f = NULL;
    promo_table *ct = NULL, *pt = NULL;
    uint8_t *y = NULL;
    int rc = promo_store_open(ws, 0, &s);
    if (rc || (rc = promo_panel_load_tables(s, fp.n_threads, &d)))
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
    char day[32];
    promo_time_format(fp.as_of, 0, day, sizeof day);
    if ((rc = promo_store_begin(s)) || (rc = promo_store_write_table(s, ct)) ||
        (rc = promo_store_write_table(s, pt)) ||
        (rc = promo_store_meta_set(s, "features.as_of", day)) || (rc = promo_store_commit(s)))
        goto done;
    if (out_csv && (rc = promo_csv_write(out_csv, ct)))
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
    promo_free(y);
    promo_table_free(ct);
    promo_table_free(pt);
    promo_features_free(f);
    promo_panel_free(&d);
    promo_store_close(s);
    return cli_report(rc);
}
