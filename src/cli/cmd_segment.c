/* promo segment: customer segments of a workspace (k-means, HDBSCAN, spend tiers, personas),
 * printed as a profile table, stored in table `segments`; or clustering of any numeric CSV
 * (--data). The work is promo/segment.h's; this file parses, prints and writes files. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/kmeans.h>
#include <promo/metrics.h>
#include <promo/segment.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

/* A number for JSON: null when not finite. */
static void json_num(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

static void
print_curve(int json, int k_min, int k_max, const double *in, const double *sil, int best)
{
    if (!in)
        return;
    if (json) {
        printf(",\"elbow\":[");
        for (int k = k_min; k <= k_max; k++) {
            printf("%s{\"k\":%d,\"inertia\":", k > k_min ? "," : "", k);
            json_num(in[k - k_min]);
            printf(",\"silhouette\":");
            json_num(sil[k - k_min]);
            printf("}");
        }
        printf("]");
        return;
    }
    printf("K by silhouette (elbow curve):\n   k       inertia  silhouette\n");
    for (int k = k_min; k <= k_max; k++)
        printf("  %2d  %12.6g  %10.4f%s\n", k, in[k - k_min], sil[k - k_min],
               k == best ? "  <- chosen" : "");
}

static void print_profiles_text(const promo_segment_result *r)
{
    printf("%-8s %-10s %7s %6s %6s %9s %6s %7s %6s %6s %5s %6s %9s %7s  %s\n", "segment", "persona",
           "size", "share", "rev%", "spend", "orders", "recency", "gap", "stores", "cats", "online",
           "clv", "p_alive", "description");
    for (size_t q = 0; q < r->n_profiles + 1; q++) {
        const promo_segment_profile *s = q < r->n_profiles ? &r->profiles[q] : &r->population;
        char seg[16];
        if (q == r->n_profiles)
            snprintf(seg, sizeof seg, "all");
        else if (r->method == PROMO_SEGMENT_TIERS)
            snprintf(seg, sizeof seg, "%s", promo_spend_tier_name(s->segment));
        else if (s->segment < 0)
            snprintf(seg, sizeof seg, "noise");
        else
            snprintf(seg, sizeof seg, "%d", (int)s->segment);
        printf("%-8s %-10s %7zu %5.1f%% %5.1f%% %9.1f %6.1f %7.1f %6.1f %6.2f %5.1f %5.0f%% %9.1f "
               "%6.0f%%  %s\n",
               seg, s->persona >= 0 ? promo_segment_persona_name(s->persona) : "-", s->size,
               100 * s->size_share, 100 * s->revenue_share, s->spend, s->frequency, s->recency_days,
               s->gap_days, s->n_stores, s->n_categories, 100 * s->online_share, s->clv,
               100 * s->p_alive, s->description);
    }
}

static void print_profiles_json(const promo_segment_result *r)
{
    printf(",\"segments\":[");
    for (size_t q = 0; q < r->n_profiles + 1; q++) {
        const promo_segment_profile *s = q < r->n_profiles ? &r->profiles[q] : &r->population;
        if (q == r->n_profiles)
            printf("],\"population\":{");
        else
            printf("%s{\"segment\":", q ? "," : "");
        if (q < r->n_profiles) {
            if (r->method == PROMO_SEGMENT_TIERS)
                cli_json_str(stdout, promo_spend_tier_name(s->segment));
            else
                printf("%d", (int)s->segment);
            printf(",\"persona\":");
            if (s->persona >= 0)
                cli_json_str(stdout, promo_segment_persona_name(s->persona));
            else
                printf("null");
            printf(",");
        }
        printf("\"size\":%zu,\"share\":", s->size);
        const double v[] = {s->size_share,   s->revenue_share, s->spend,    s->frequency,
                            s->recency_days, s->gap_days,      s->n_stores, s->n_categories,
                            s->online_share, s->clv,           s->p_alive,  s->repeat_share};
        const char *const names[] = {"share",        "revenue_share", "spend",   "frequency",
                                     "recency_days", "gap_days",      "stores",  "categories",
                                     "online_share", "clv",           "p_alive", "repeat_share"};
        json_num(v[0]);
        for (size_t j = 1; j < sizeof v / sizeof v[0]; j++) {
            printf(",\"%s\":", names[j]);
            json_num(v[j]);
        }
        printf(",\"description\":");
        cli_json_str(stdout, s->description);
        printf("}");
    }
}

static void print_tiers(const promo_segment_result *r, int json)
{
    const promo_features *f = r->f;
    int by_product = promo_segment_no_categories(f);
    if (json)
        printf(",\"tiers\":[");
    else
        printf("spend tiers (quartiles of spend among buyers as of the cutoff; non-buyers are "
               "G1):\n%-4s %8s %7s %12s %12s %14s %6s  %s\n",
               "tier", "customers", "buyers", "spend from", "spend to", "revenue", "rev%",
               by_product ? "top products (no categories; share of the tier's revenue)"
                          : "top categories (share of the tier's revenue)");
    for (int k = 0; k < PROMO_TIER_COUNT; k++) {
        const promo_segment_tier *t = &r->tiers[k];
        if (json) {
            printf("%s{\"tier\":", k ? "," : "");
            cli_json_str(stdout, promo_spend_tier_name(t->tier));
            printf(",\"customers\":%zu,\"buyers\":%zu,\"spend_min\":", t->n_customers, t->n_buyers);
            json_num(t->spend_min);
            printf(",\"spend_max\":");
            json_num(t->spend_max);
            printf(",\"revenue\":");
            json_num(t->revenue);
            printf(",\"revenue_share\":");
            json_num(t->revenue_share);
            printf(",\"top_categories\":[");
            for (size_t c = 0; c < t->n_top; c++) {
                printf("%s{\"category\":", c ? "," : "");
                cli_json_str(stdout, f->category_names[t->top_category[c]]);
                printf(",\"share\":");
                json_num(t->top_share[c]);
                printf("}");
            }
            printf("],\"top_products\":[");
            for (size_t c = 0; c < t->n_top_products; c++) {
                printf("%s{\"product\":", c ? "," : "");
                cli_json_str(stdout, promo_segment_product_name(r, t->top_product[c]));
                printf(",\"share\":");
                json_num(t->top_product_share[c]);
                printf("}");
            }
            printf("]}");
            continue;
        }
        printf("%-4s %8zu %7zu %12.2f %12.2f %14.2f %5.1f%%  ", promo_spend_tier_name(t->tier),
               t->n_customers, t->n_buyers, t->spend_min, t->spend_max, t->revenue,
               100 * t->revenue_share);
        size_t nt = by_product ? t->n_top_products : t->n_top;
        for (size_t c = 0; c < nt; c++)
            printf("%s%s %.1f%%", c ? ", " : "",
                   by_product ? promo_segment_product_name(r, t->top_product[c])
                              : f->category_names[t->top_category[c]],
                   100 * (by_product ? t->top_product_share[c] : t->top_share[c]));
        printf("\n");
    }
    if (json)
        printf("]");
}

/* ARI of r's segments against the generator's true segments, over the customers clustered
 * (all customers for tiers) whose true segment is known. NaN when there is no truth. */
static double truth_ari(promo_store *s, const promo_segment_result *r, size_t *n_out)
{
    int32_t *truth = NULL, *a = NULL, *b = NULL;
    double ari = NAN;
    *n_out = 0;
    if (promo_segment_truth(s, r, &truth))
        return NAN;
    size_t nc = r->f->n_customers, n = 0;
    a = promo_mallocn(nc ? nc : 1, sizeof *a);
    b = promo_mallocn(nc ? nc : 1, sizeof *b);
    if (a && b) {
        for (size_t i = 0; i < nc; i++)
            if (truth[i] >= 0 && (r->method == PROMO_SEGMENT_TIERS || r->clustered[i])) {
                a[n] = r->segment[i];
                b[n++] = truth[i];
            }
        if (n && promo_adjusted_rand_index(a, b, n, &ari))
            ari = NAN;
    }
    *n_out = n;
    promo_free(truth);
    promo_free(a);
    promo_free(b);
    return ari;
}

/* customer_id,segment (tiers: the tier name) as CSV, atomically. */
static int write_ws_labels(const char *path, const promo_segment_result *r)
{
    promo_table *t = promo_table_new("segments");
    promo_column *id = NULL, *seg = NULL;
    int tiers = r->method == PROMO_SEGMENT_TIERS;
    int rc = !t ? PROMO_ENOMEM : promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &id);
    if (!rc)
        rc = promo_table_add_column(t, "segment", tiers ? PROMO_COL_STRING : PROMO_COL_INT64, &seg);
    for (size_t i = 0; !rc && i < r->f->n_customers; i++) {
        const char *cid = promo_features_customer_id(r->f, i);
        const char *tn = promo_spend_tier_name(r->segment[i]);
        if (!(rc = promo_column_push_str(id, cid, strlen(cid))))
            rc = tiers ? promo_column_push_str(seg, tn, strlen(tn))
                       : promo_column_push_i64(seg, r->segment[i]);
    }
    if (!rc && !(rc = promo_table_seal(t)))
        rc = promo_csv_write(path, t);
    promo_table_free(t);
    return rc;
}

static int write_data_labels(const char *path, const promo_segment_data *d)
{
    promo_table *t = promo_table_new("labels");
    promo_column *seg = NULL, *pr = NULL, *os = NULL;
    int rc = !t ? PROMO_ENOMEM : promo_table_add_column(t, "segment", PROMO_COL_INT64, &seg);
    if (!rc && d->probability &&
        !(rc = promo_table_add_column(t, "probability", PROMO_COL_FLOAT64, &pr)))
        rc = promo_table_add_column(t, "outlier_score", PROMO_COL_FLOAT64, &os);
    for (size_t i = 0; !rc && i < d->n; i++) {
        rc = promo_column_push_i64(seg, d->labels[i]);
        if (!rc && pr && !(rc = promo_column_push_f64(pr, d->probability[i])))
            rc = promo_column_push_f64(os, d->outlier_score[i]);
    }
    if (!rc && !(rc = promo_table_seal(t)))
        rc = promo_csv_write(path, t);
    promo_table_free(t);
    return rc;
}

static int run_data(
    const char *data, const char *out, const promo_segment_params *p, int standardize, int json)
{
    promo_segment_data d;
    int rc = promo_segment_data_run(data, p, standardize, &d);
    if (rc)
        return cli_report(rc);
    if ((rc = write_data_labels(out, &d))) {
        promo_segment_data_free(&d);
        return cli_report(rc);
    }
    size_t *size = promo_calloc((size_t)d.n_clusters + 1, sizeof *size);
    if (!size) {
        promo_segment_data_free(&d);
        return cli_report(PROMO_ENOMEM);
    }
    for (size_t i = 0; i < d.n; i++)
        size[d.labels[i] < 0 ? (size_t)d.n_clusters : (size_t)d.labels[i]]++;
    const char *method = promo_segment_method_name(p->method);
    if (json) {
        printf("{\"method\":\"%s\",\"rows\":%zu,\"columns\":%zu,\"standardized\":%s,"
               "\"clusters\":%d,\"noise\":%zu,\"inertia\":",
               method, d.n, d.d, standardize ? "true" : "false", d.n_clusters, size[d.n_clusters]);
        json_num(d.inertia);
        printf(",\"silhouette\":");
        json_num(d.silhouette);
        printf(",\"sizes\":[");
        for (int c = 0; c < d.n_clusters; c++)
            printf("%s%zu", c ? "," : "", size[c]);
        printf("]");
        print_curve(1, d.k_min, d.k_max, d.curve_inertia, d.curve_silhouette, d.n_clusters);
        printf(",\"out\":");
        cli_json_str(stdout, out);
        printf("}\n");
    } else {
        print_curve(0, d.k_min, d.k_max, d.curve_inertia, d.curve_silhouette, d.n_clusters);
        printf("%s on %zu rows x %zu columns%s: %d clusters", method, d.n, d.d,
               standardize ? " (standardised)" : "", d.n_clusters);
        if (p->method == PROMO_SEGMENT_HDBSCAN)
            printf(", %zu noise points", size[d.n_clusters]);
        if (isfinite(d.inertia))
            printf(", inertia %.6g", d.inertia);
        if (isfinite(d.silhouette))
            printf(", silhouette %.4f", d.silhouette);
        printf("\nsizes:");
        for (int c = 0; c < d.n_clusters; c++)
            printf(" %zu", size[c]);
        printf("\nlabels written to %s\n", out);
    }
    promo_free(size);
    promo_segment_data_free(&d);
    return CLI_EXIT_OK;
}

int cmd_segment(int argc, char **argv)
{
    static const char *const method_words[] = {"kmeans", "hdbscan", "tiers", "personas", NULL};
    const char *ws = NULL, *data = NULL, *out = NULL;
    promo_segment_params p = promo_segment_params_default();
    unsigned method = 0, k = 0, k_max = (unsigned)p.k_max;
    unsigned long long seed = p.seed;
    size_t min_cluster_size = 0;
    int json = 0, standardize = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws), .def = CLI_DEFAULT_WS},
        {CLI_PATH("data", "FILE.csv", &data),
         .help = "cluster this numeric CSV (header, every column a number) instead of a "
                 "workspace's customers; needs --out"},
        {CLI_ENUM("method", method_words, &method), .metavar = "kmeans|hdbscan|tiers|personas",
         .required = 1,
         .help = "k-means, HDBSCAN, spend tiers, or k-means with personas (--data: kmeans or "
                 "hdbscan)"},
        {CLI_UINT("k", "K", 1, 1000, &k), .help = "clusters", .def = "chosen by silhouette"},
        {CLI_UINT("k-max", "K", 2, 100, &k_max), .help = "largest K tried when choosing K"},
        {CLI_UINT("min-cluster-size", "N", 2, 1000000000, &min_cluster_size),
         .help = "HDBSCAN's smallest cluster", .def = "5, or buyers/100 on a workspace"},
        {CLI_FLAG("standardize", &standardize),
         .help = "--data: standardise the columns first (the workspace's are always)"},
        {CLI_AS_OF(&p.as_of), .help = "features from rows dated before DATE",
         .def = "the day after the last transaction"},
        {CLI_PATH("out", "FILE.csv", &out),
         .help = "write customer_id,segment (--data: one segment per row)"},
        {CLI_FLAG_CLEAR("no-clv", &p.clv), .help = "skip the BG/NBD fit (no p_alive, clv)"},
        {CLI_SEED(&seed), .help = "k-means seed"},
        {CLI_THREADS(&p.n_threads)},
        {CLI_JSON(&json), .help = "print the result as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "segment",
        .usage = "usage: promo segment --ws DIR --method kmeans|hdbscan|tiers|personas [--k K]\n"
                 "                     [--as-of DATE] [--json] [--out FILE.csv]\n"
                 "       promo segment --data FILE.csv --method kmeans|hdbscan [--k K]\n"
                 "                     [--min-cluster-size N] [--standardize] --out LABELS.csv\n",
        .about =
            "Segment the customers of workspace DIR from their features as of DATE: k-means or\n"
            "HDBSCAN on eleven standardised features (spend, orders, recency, basket, breadth,\n"
            "channel, promotion share, P(alive); see promo/segment.h), spend tiers VIP/G3/G2/G1\n"
            "by spend quartile, or personas (k-means clusters named loyal, regular, entry or\n"
            "churn-risk against the population). Prints each segment's profile and stores the\n"
            "segments in table `segments` (replacing the rows of the same method). Without --k,\n"
            "K is chosen by silhouette over 2..K-MAX (personas: 4..K-MAX). On a generated\n"
            "world the adjusted Rand index against the true segments is printed too.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    p.method = (promo_segment_method)method;
    p.k = (int)k;
    p.k_max = (int)k_max;
    p.seed = seed;
    p.min_cluster_size = min_cluster_size;
    if (data) {
        if (ws)
            return cli_usage_error("segment", "--data and --ws: give one of them");
        if (!out)
            return cli_usage_error("segment", "--data needs --out LABELS.csv");
        if (p.method != PROMO_SEGMENT_KMEANS && p.method != PROMO_SEGMENT_HDBSCAN)
            return cli_usage_error("segment", "--data: --method must be kmeans or hdbscan");
        if (p.as_of)
            return cli_usage_error("segment", "--as-of applies to a workspace, not --data");
        return run_data(data, out, &p, standardize, json);
    }
    if (standardize)
        return cli_usage_error("segment", "--standardize applies to --data (a workspace's "
                                          "features are always standardised)");
    if (!ws)
        ws = CLI_DEFAULT_WS;
    promo_store *s = NULL;
    promo_segment_result r;
    memset(&r, 0, sizeof r);
    int rc = promo_store_open(ws, 0, &s);
    if (rc || (rc = promo_segment_run(s, &p, &r)) || (rc = promo_segment_store(s, &r)))
        goto done;
    if (out && (rc = write_ws_labels(out, &r)))
        goto done;
    size_t n_truth = 0;
    double ari = truth_ari(s, &r, &n_truth);
    char day[32];
    promo_time_format_cutoff(r.as_of, day, sizeof day);
    const char *method_name = promo_segment_method_name(r.method);
    if (json) {
        printf("{\"method\":\"%s\",\"as_of\":\"%s\",\"customers\":%zu,\"clustered\":%zu,",
               method_name, day, r.f->n_customers, r.n_clustered);
        if (r.method != PROMO_SEGMENT_TIERS) {
            printf("\"k\":%d,\"columns\":[", r.n_segments);
            for (int j = 0; j < PROMO_SEGMENT_N_COLUMNS; j++) {
                printf("%s", j ? "," : "");
                cli_json_str(stdout, promo_segment_columns[j]);
            }
            printf("],\"inertia\":");
            json_num(r.inertia);
            printf(",\"silhouette\":");
            json_num(r.silhouette);
            printf(",\"noise\":%zu,", r.n_noise);
        }
        printf("\"ari_truth\":");
        json_num(ari);
        printf(",\"ari_customers\":%zu", n_truth);
        print_curve(1, r.k_min, r.k_max, r.curve_inertia, r.curve_silhouette, r.n_segments);
        if (r.has_tiers)
            print_tiers(&r, 1);
        print_profiles_json(&r);
        printf("}\n");
    } else {
        printf("segments (%s) as of %s: %zu customers, %zu with a purchase", method_name, day,
               r.f->n_customers, r.n_clustered);
        if (r.method == PROMO_SEGMENT_HDBSCAN)
            printf(", %d clusters, %zu noise", r.n_segments, r.n_noise);
        else if (r.method != PROMO_SEGMENT_TIERS)
            printf(", k = %d", r.n_segments);
        printf("\n");
        print_curve(0, r.k_min, r.k_max, r.curve_inertia, r.curve_silhouette, r.n_segments);
        if (isfinite(r.inertia))
            printf("inertia %.6g", r.inertia);
        if (isfinite(r.silhouette))
            printf(", silhouette %.4f", r.silhouette);
        if (isfinite(r.inertia))
            printf("\n");
        if (r.has_tiers)
            print_tiers(&r, 0);
        if (r.method == PROMO_SEGMENT_TIERS)
            printf("tier profiles (buyers):\n");
        print_profiles_text(&r);
        if (isfinite(ari))
            printf("adjusted Rand index against the generator's true segments: %.4f (%zu "
                   "customers)\n",
                   ari, n_truth);
        printf("stored in table segments (method %s)%s%s\n", method_name, out ? "; wrote " : "",
               out ? out : "");
    }
done:
    promo_segment_result_free(&r);
    promo_store_close(s);
    return cli_report(rc);
}
