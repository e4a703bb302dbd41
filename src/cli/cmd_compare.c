/* promo compare: targeting strategies played side by side in the generated world's simulator
 * (promo/compare.h). Parses and prints. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/campaign.h>
#include <promo/compare.h>
#include <promo/error.h>
#include <promo/plot.h>
#include <promo/report_html.h>
#include <promo/store.h>

#include "cli/cli.h"

static void num(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

static void print_json(const promo_compare *c)
{
    printf("{\"product_id\":");
    cli_json_str(stdout, c->product_id);
    printf(",\"discount_pct\":%g,\"n_target\":%zu,\"customers\":%zu", c->discount_pct, c->n_target,
           c->n_customers);
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++) {
        const promo_compare_row *r = &c->rows[k];
        printf(",\"%s\":{\"available\":%s,\"note\":", promo_strategy_name((promo_strategy)k),
               r->available ? "true" : "false");
        cli_json_str(stdout, r->note);
        if (r->available) {
            printf(",\"discount_pct\":%g,\"contacts\":%zu,\"incremental_conversions\":",
                   r->discount_pct, r->contacts);
            num(r->sim.incremental_conversions.mean);
            printf(",\"incremental_conversions_lo\":");
            num(r->sim.incremental_conversions.lo);
            printf(",\"incremental_conversions_hi\":");
            num(r->sim.incremental_conversions.hi);
            printf(",\"incremental_profit\":");
            num(r->sim.incremental_profit.mean);
            printf(",\"incremental_profit_lo\":");
            num(r->sim.incremental_profit.lo);
            printf(",\"incremental_profit_hi\":");
            num(r->sim.incremental_profit.hi);
            printf(",\"cost_per_incremental_conversion\":");
            num(r->cost_per_incremental_conversion);
            printf(",\"roi\":");
            num(r->sim.roi.mean);
            printf(",\"expected_profit\":");
            num(r->expected_profit);
        }
        printf("}");
    }
    printf("}\n");
}

static void print_text(const promo_compare *c, const promo_compare_params *p)
{
    printf("strategies for %s at %.0f%% off, %zu customers, N = %zu; %u paired draws, "
           "%.0f%% intervals, money in LKR\n",
           c->product_id, c->discount_pct, c->n_customers, c->n_target, p->sim.n_draws,
           100 * p->sim.interval);
    printf("  %-11s %5s %8s %22s %28s %13s %7s\n", "strategy", "off%", "contacts",
           "incremental conv.", "incremental profit", "cost/inc.conv", "ROI");
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++) {
        const promo_compare_row *r = &c->rows[k];
        if (!r->available) {
            printf("  %-11s %5s %8s  (%s)\n", promo_strategy_name((promo_strategy)k), "-", "-",
                   r->note);
            continue;
        }
        char conv[64], prof[64];
        snprintf(conv, sizeof conv, "%.1f [%.0f, %.0f]", r->sim.incremental_conversions.mean,
                 r->sim.incremental_conversions.lo, r->sim.incremental_conversions.hi);
        snprintf(prof, sizeof prof, "%.0f [%.0f, %.0f]", r->sim.incremental_profit.mean,
                 r->sim.incremental_profit.lo, r->sim.incremental_profit.hi);
        printf("  %-11s %5.0f %8zu %22s %28s %13.1f %7.2f\n",
               promo_strategy_name((promo_strategy)k), r->discount_pct, r->contacts, conv, prof,
               r->cost_per_incremental_conversion, r->sim.roi.mean);
    }
    const promo_compare_row *o = &c->rows[PROMO_STRATEGY_ORACLE];
    printf("oracle: the customers whose true expected profit at this discount is positive (the\n"
           "simulator's own model); expected profit of each selection by that model:\n ");
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++)
        if (c->rows[k].available)
            printf(" %s %.0f", promo_strategy_name((promo_strategy)k), c->rows[k].expected_profit);
    printf("\n");
    (void)o;
}

int cmd_compare(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *product = NULL;
    promo_compare_params p = promo_compare_params_default();
    double target = 0, draws = p.sim.n_draws, window = p.sim.window_days;
    unsigned long long seed = p.seed;
    int json = 0, no_chart = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("product", "ID|best", &product), .required = 1,
         .help = "the product offered; `best` = the best-selling one"},
        {CLI_FLAG("no-chart", &no_chart), .help = "skip DIR/out/strategy_comparison.png"},
        {CLI_NUMBER("discount", "PCT", 0, 90, &p.discount_pct), .help = "offered discount, 0-90"},
        {CLI_UINT("target", "N", 0, 100000000, &target),
         .help = "customers of the top-N strategies", .def = "a tenth of the customers"},
        {CLI_UINT("draws", "N", 1, 100000, &draws), .help = "simulated draws, shared by all"},
        {CLI_NUMBER("cost-per-contact", "X", 0, 1e6, &p.sim.cost_per_contact),
         .help = "LKR per contact"},
        {CLI_UINT("window", "DAYS", 1, 365, &window), .help = "purchase window after the send"},
        {CLI_SEED(&seed), .help = "the random strategy's seed"},
        {CLI_THREADS(&p.n_threads)},
        {CLI_JSON(&json), .help = "print the result as JSON, one object per strategy"},
        {0},
    };
    const cli_spec spec = {
        .name = "compare",
        .usage = "usage: promo compare --ws DIR --product ID|best [--discount PCT] [--target N] "
                 "[--json]\n",
        .about = "Play targeting strategies for one offer in the generated world's simulator with\n"
                 "the same random draws (paired): broadcast to all, random N, RFM top N,\n"
                 "propensity top N, uplift top N, optimized (positive expected profit under the\n"
                 "uplift model) and the oracle (positive TRUE expected profit). Reports contacts,\n"
                 "incremental conversions and profit with intervals, cost per incremental\n"
                 "conversion and ROI.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    p.n_target = (size_t)target;
    p.sim.n_draws = (uint32_t)draws;
    p.sim.window_days = (uint32_t)window;
    p.seed = seed;
    promo_store *s = NULL;
    promo_compare c;
    char pid[256];
    int rc = promo_store_open_read(ws, &s);
    if (!rc && !strcmp(product, "best"))
        rc = promo_campaign_best_seller(s, pid, sizeof pid);
    else
        snprintf(pid, sizeof pid, "%s", product);
    p.product_id = pid;
    rc = rc ? rc : promo_compare_run(s, &p, &c);
    char png[1300] = "";
    if (!rc && !no_chart && promo_plot_available()) {
        snprintf(png, sizeof png, "%s/strategy_comparison.png", promo_store_out_dir(s));
        if (promo_report_compare_chart(&c, p.sim.n_draws, p.sim.interval,
                                       png)) { /* a figure without its chart is still the answer */
            fprintf(stderr, "promo compare: no chart: %s\n", promo_last_error());
            png[0] = 0;
        }
    }
    if (!rc) {
        if (json)
            print_json(&c);
        else {
            print_text(&c, &p);
            if (png[0])
                printf("chart: %s\n", png);
        }
    }
    promo_store_close(s);
    return cli_report(rc);
}
