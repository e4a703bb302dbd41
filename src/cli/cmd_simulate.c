/* promo simulate: play a campaign file forward in the workspace's generated world and report
 * its incremental effect against the no-campaign counterfactual (include/promo/synth.h).
 *
 * The campaign is a CSV with columns customer_id, product_id, discount_pct, send_day
 * (0 = first day after the history), send_hour (0-23) and optionally bundle_product_id.
 * Bad rows are reported as FILE:LINE:COL; LINE assumes one physical line per record (the
 * header on line 1), which holds for any file whose ids contain no newline. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/synth.h>

#include "cli/cli.h"

/* 1-based field numbers of the wanted columns, from the file's header line (simple split on
 * the delimiter, honouring quotes), so messages can name the column position. */
static void header_positions(const char *path, const char *const *names, int n, int *pos)
{
    for (int k = 0; k < n; k++)
        pos[k] = k + 1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char line[4096];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return;
    }
    fclose(f);
    char *p = line;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3;
    int field = 1;
    while (*p && *p != '\n' && *p != '\r') {
        char name[256] = {0};
        size_t m = 0;
        int quoted = 0;
        while (*p == ' ')
            p++;
        while (*p && *p != '\n' && *p != '\r' && (quoted || *p != ',')) {
            if (*p == '"')
                quoted = !quoted;
            else if (m + 1 < sizeof name)
                name[m++] = *p;
            p++;
        }
        while (m && name[m - 1] == ' ')
            m--;
        name[m] = 0;
        for (int k = 0; k < n; k++)
            if (!strcmp(name, names[k]))
                pos[k] = field;
        if (*p == ',')
            p++;
        field++;
    }
}

/* Map and check the campaign rows into offers. */
static int
to_offers(const promo_world *w, const promo_table *t, const char *path, promo_offer **out)
{
    static const char *const names[6] = {"customer_id", "product_id", "discount_pct",
                                         "send_day",    "send_hour",  "bundle_product_id"};
    int pos[6];
    header_positions(path, names, 6, pos);
    const promo_column *cc = promo_table_column(t, names[0]), *pc = promo_table_column(t, names[1]),
                       *dc = promo_table_column(t, names[2]), *sd = promo_table_column(t, names[3]),
                       *sh = promo_table_column(t, names[4]), *bc = promo_table_column(t, names[5]);
    promo_offer *o = promo_mallocn(t->n_rows ? t->n_rows : 1, sizeof *o);
    if (!o)
        return PROMO_ENOMEM;
    for (size_t r = 0; r < t->n_rows; r++) {
        unsigned long long line = (unsigned long long)r + 2;
        const char *cid = promo_column_str(cc, r), *pid = promo_column_str(pc, r);
        uint32_t ci = promo_world_customer_index(w, cid);
        uint32_t pi = promo_world_product_index(w, pid);
        int bad = -1;
        char what[300];
        if (ci == PROMO_SYNTH_NONE) {
            bad = 0;
            snprintf(what, sizeof what, "unknown customer \"%.200s\"", cid);
        } else if (pi == PROMO_SYNTH_NONE) {
            bad = 1;
            snprintf(what, sizeof what, "unknown product \"%.200s\"", pid);
        } else if (promo_column_is_null(dc, r) || !(dc->f64[r] >= 0 && dc->f64[r] <= 90)) {
            bad = 2;
            snprintf(what, sizeof what, "expected a discount from 0 to 90 (percent), got %s",
                     promo_column_is_null(dc, r) ? "nothing" : "a value outside");
            if (!promo_column_is_null(dc, r))
                snprintf(what, sizeof what, "expected a discount from 0 to 90 (percent), got %g",
                         dc->f64[r]);
        } else if (promo_column_is_null(sd, r) || sd->i64[r] < 0 || sd->i64[r] > 3650) {
            bad = 3;
            snprintf(what, sizeof what, "expected a day from 0 to 3650, got %lld",
                     promo_column_is_null(sd, r) ? -1LL : (long long)sd->i64[r]);
        } else if (promo_column_is_null(sh, r) || sh->i64[r] < 0 || sh->i64[r] > 23) {
            bad = 4;
            snprintf(what, sizeof what, "expected an hour from 0 to 23, got %lld",
                     promo_column_is_null(sh, r) ? -1LL : (long long)sh->i64[r]);
        }
        uint32_t bi = PROMO_SYNTH_NONE;
        if (bad < 0 && bc && !promo_column_is_null(bc, r) && *promo_column_str(bc, r)) {
            bi = promo_world_product_index(w, promo_column_str(bc, r));
            if (bi == PROMO_SYNTH_NONE) {
                bad = 5;
                snprintf(what, sizeof what, "unknown product \"%.200s\"", promo_column_str(bc, r));
            }
        }
        if (bad >= 0) {
            promo_free(o);
            return promo_fail(PROMO_EINPUT, "%s:%llu:%d: column '%s': %s", path, line, pos[bad],
                              names[bad], what);
        }
        o[r] = (promo_offer){ci, pi, dc->f64[r], (int32_t)sd->i64[r], (int32_t)sh->i64[r], bi};
    }
    *out = o;
    return PROMO_OK;
}

static void print_fig_json(const char *key, promo_sim_figure f, int last)
{
    printf("  \"%s\": {\"mean\": %.6g, \"lo\": %.6g, \"hi\": %.6g}%s\n", key, f.mean, f.lo, f.hi,
           last ? "" : ",");
}

static void print_fig(const char *name, promo_sim_figure f, int money)
{
    if (f.lo == f.hi && f.lo == f.mean)
        printf("  %-24s %14.*f\n", name, money ? 2 : 0, f.mean);
    else
        printf("  %-24s %14.*f %14.*f %14.*f\n", name, money ? 2 : 3, f.mean, money ? 2 : 3, f.lo,
               money ? 2 : 3, f.hi);
}

int cmd_simulate(int argc, char **argv)
{
    promo_sim_params sp = promo_sim_params_default();
    const char *ws = CLI_DEFAULT_WS, *campaign = NULL;
    int json = 0, rc;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_PATH("campaign", "FILE", &campaign), .required = 1, .help = "the campaign CSV"},
        {CLI_UINT("draws", "N", 1, 1000000, &sp.n_draws), .help = "repeated draws"},
        {CLI_SEED(&sp.seed), .help = "seed of the draws, 0 = from the world's seed"},
        {CLI_NUMBER("cost-per-contact", "X", 0, 1e6, &sp.cost_per_contact),
         .help = "LKR per contact"},
        {CLI_UINT("window", "DAYS", 1, 365, &sp.window_days),
         .help = "purchase window after a send"},
        {CLI_NUMBER("interval", "P", 0.01, 0.999, &sp.interval),
         .help = "central interval level, 0-1"},
        {CLI_THREADS(&sp.n_threads)},
        {CLI_JSON(&json), .help = "print the figures as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "simulate",
        .usage = "usage: promo simulate --ws DIR --campaign FILE.csv [options]\n",
        .about =
            "Simulate the campaign in the workspace's generated world (see `promo generate`)\n"
            "against the no-campaign counterfactual, with common random numbers, and report\n"
            "contacts, conversions, revenue, discount and contact cost, incremental profit and\n"
            "ROI, each as the mean and a central interval over repeated draws. Money in LKR.\n\n"
            "FILE.csv columns: customer_id, product_id, discount_pct (0-90), send_day (0 = the\n"
            "first day after the history, up to 3650), send_hour (0-23), optional\n"
            "bundle_product_id.\n",
        .opts = opts,
        .epilog =
            "exit status: 0 ok, 2 bad usage or campaign (FILE:LINE:COL: message), 1 internal\n",
    };
    if ((rc = cli_parse(&spec, argc, argv, NULL)) != CLI_CONTINUE)
        return rc;

    promo_csv_column cols[] = {
        {"customer_id", PROMO_COL_STRING, 1},   {"product_id", PROMO_COL_STRING, 1},
        {"discount_pct", PROMO_COL_FLOAT64, 1}, {"send_day", PROMO_COL_INT64, 1},
        {"send_hour", PROMO_COL_INT64, 1},      {"bundle_product_id", PROMO_COL_STRING, 0},
    };
    promo_csv_options co = promo_csv_options_default();
    co.columns = cols;
    co.n_columns = sizeof cols / sizeof *cols;
    co.delimiter = ',';
    promo_table *t = NULL;
    promo_store *s = NULL;
    promo_world *w = NULL;
    promo_offer *offers = NULL;
    promo_sim_result res;
    if ((rc = promo_csv_read(campaign, &co, &t, NULL)))
        goto done;
    if ((rc = promo_store_open(ws, 0, &s)) || (rc = promo_world_load(s, &w)))
        goto done;
    if ((rc = to_offers(w, t, campaign, &offers)))
        goto done;
    if ((rc = promo_simulate(w, offers, t->n_rows, &sp, &res)))
        goto done;
    double lo_pct = 50.0 * (1.0 - sp.interval), hi_pct = 100.0 - lo_pct;
    if (json) {
        printf("{\n  \"campaign\": ");
        cli_json_str(stdout, campaign);
        printf(",\n  \"draws\": %u,\n  \"interval\": %g,\n  \"currency\": \"LKR\",\n", res.n_draws,
               sp.interval);
        print_fig_json("contacts", res.contacts, 0);
        print_fig_json("conversions", res.conversions, 0);
        print_fig_json("incremental_conversions", res.incremental_conversions, 0);
        print_fig_json("revenue", res.revenue, 0);
        print_fig_json("incremental_revenue", res.incremental_revenue, 0);
        print_fig_json("discount_cost", res.discount_cost, 0);
        print_fig_json("contact_cost", res.contact_cost, 0);
        print_fig_json("incremental_profit", res.incremental_profit, 0);
        print_fig_json("roi", res.roi, 1);
        printf("}\n");
    } else {
        printf("simulated %s: %zu offers, %u draws, %g%% intervals, money in LKR\n", campaign,
               t->n_rows, res.n_draws, 100 * sp.interval);
        printf("  %-24s %14s %13.1f%% %13.1f%%\n", "figure", "mean", lo_pct, hi_pct);
        print_fig("contacts", res.contacts, 0);
        print_fig("conversions", res.conversions, 0);
        print_fig("incremental conversions", res.incremental_conversions, 0);
        print_fig("revenue", res.revenue, 1);
        print_fig("incremental revenue", res.incremental_revenue, 1);
        print_fig("discount cost", res.discount_cost, 1);
        print_fig("contact cost", res.contact_cost, 1);
        print_fig("incremental profit", res.incremental_profit, 1);
        printf("  %-24s %14.3f %14.3f %14.3f\n", "ROI", res.roi.mean, res.roi.lo, res.roi.hi);
    }
done:
    promo_free(offers);
    promo_world_free(w);
    promo_store_close(s);
    promo_table_free(t);
    return cli_report(rc);
}
