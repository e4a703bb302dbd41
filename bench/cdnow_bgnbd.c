/* BG/NBD on CDNOW from an ingested workspace (promo ingest --format cdnow), against the
 * published fit (Fader, Hardie & Lee 2005, "Counting your customers the easy way": r = 0.243,
 * alpha = 4.414, a = 0.793, b = 2.426 on the 2,357-customer sample, 39-week calibration).
 *
 *   cdnow_bgnbd WS [SUMMARY.csv]
 *
 * Per customer from the workspace's transactions: purchase days up to the end of the
 * calibration period (1997-09-30, the day that gives the published T = 38.86 weeks for a
 * first purchase on 1997-01-01), x = repeat purchase days, t_x = weeks from the first to the
 * last, T = weeks from the first to 1997-09-30. With SUMMARY (cdnow_customers_summary.csv:
 * ID,frequency,recency,T, keyed by the sample id the profile keeps in customers.segment), the
 * per-customer figures are compared first. Prints one JSON line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/clv.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>

typedef struct cust {
    int64_t first, last, n_days, prev;
} cust;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cdnow_bgnbd WS [SUMMARY.csv]\n");
        return 2;
    }
    promo_store *s = NULL;
    promo_table *t = NULL, *c = NULL;
    if (promo_store_open(argv[1], 0, &s) || promo_store_read_table(s, "transactions", &t)) {
        fprintf(stderr, "%s\n", promo_last_error());
        return 1;
    }
    int has_c =
        promo_store_has_table(s, "customers") && promo_store_read_table(s, "customers", &c) == 0;
    const promo_column *cid = promo_table_column(t, "customer_id");
    const promo_column *ts = promo_table_column(t, "ts");
    uint32_t nc = promo_dict_size(cid->dict);
    cust *v = calloc(nc, sizeof *v);
    int64_t end = promo_days_from_civil(1997, 9, 30);
    for (size_t r = 0; r < t->n_rows; r++) {
        cust *x = &v[cid->codes[r]];
        int64_t d = promo_time_day(ts->i64[r]) / PROMO_SECONDS_PER_DAY;
        if (d > end)
            continue;
        if (!x->n_days || d < x->first)
            x->first = d;
        if (!x->n_days || d > x->last)
            x->last = d;
        /* rows come in date order per customer in CDNOW; count distinct days */
        if (!x->n_days || d != x->prev)
            x->n_days++;
        x->prev = d;
    }
    double *X = malloc(nc * sizeof *X), *TX = malloc(nc * sizeof *TX),
           *TT = malloc(nc * sizeof *TT);
    size_t n = 0;
    for (uint32_t k = 0; k < nc; k++) {
        if (!v[k].n_days)
            continue;
        X[n] = (double)(v[k].n_days - 1);
        TX[n] = (double)(v[k].last - v[k].first) / 7.0;
        TT[n] = (double)(end - v[k].first) / 7.0;
        n++;
    }
    /* against the published per-customer summary */
    long checked = 0, mismatched = 0;
    if (argc > 2 && has_c) {
        FILE *f = fopen(argv[2], "r");
        char line[256];
        const promo_column *ccid = promo_table_column(c, "customer_id");
        const promo_column *seg = promo_table_column(c, "segment");
        while (f && fgets(line, sizeof line, f)) {
            int id;
            double fr, rec, T;
            if (sscanf(line, "%d,%lf,%lf,%lf", &id, &fr, &rec, &T) != 4)
                continue;
            char key[32];
            snprintf(key, sizeof key, "sample:%04d", id);
            for (size_t r = 0; seg && r < c->n_rows; r++) {
                if (strcmp(promo_column_str(seg, r), key))
                    continue;
                const char *cs = promo_column_str(ccid, r);
                uint32_t k = promo_dict_find(cid->dict, cs, strlen(cs));
                checked++;
                if (k == PROMO_DICT_NONE || fabs((double)(v[k].n_days - 1) - fr) > 0 ||
                    fabs((double)(v[k].last - v[k].first) / 7.0 - rec) > 0.006 ||
                    fabs((double)(end - v[k].first) / 7.0 - T) > 0.006)
                    mismatched++;
                break;
            }
        }
        if (f)
            fclose(f);
    }
    promo_clv_params p = promo_clv_params_default();
    p.max_customers = 0;
    promo_bgnbd m;
    if (promo_bgnbd_fit(X, TX, TT, n, &p, &m)) {
        fprintf(stderr, "%s\n", promo_last_error());
        return 1;
    }
    printf("{\"bench\": \"cdnow_bgnbd\", \"ws\": \"%s\", \"customers\": %zu, \"r\": %.4f, "
           "\"alpha\": %.4f, \"a\": %.4f, \"b\": %.4f, \"loglik\": %.3f, "
           "\"published\": {\"r\": 0.243, \"alpha\": 4.414, \"a\": 0.793, \"b\": 2.426}, "
           "\"summary_checked\": %ld, \"summary_mismatched\": %ld}\n",
           argv[1], n, m.r, m.alpha, m.a, m.b, m.loglik, checked, mismatched);
    free(v);
    free(X);
    free(TX);
    free(TT);
    promo_table_free(t);
    promo_table_free(c);
    promo_store_close(s);
    return 0;
}
