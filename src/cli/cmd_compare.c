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
    int none = c->fatigue_mode != PROMO_FATIGUE_OFF && c->n_contacted == 0;
    printf(",\"send_time\":\"%s\",\"fatigue\":\"%s\",\"fatigue_applied\":%s,"
           "\"fatigued_customers\":%zu,\"cooled_customers\":%zu,\"oracle_discount_pct\":%g",
           c->send_time_best ? "best" : "fixed", promo_fatigue_mode_name(c->fatigue_mode),
           c->fatigue_mode != PROMO_FATIGUE_OFF && !none ? "true" : "false", c->n_fatigued,
           c->n_cooled, c->oracle_discount_pct);
    printf(",\"bundle\":");
    if (c->has_bundle)
        cli_bundle_json(&c->bundle);
    else
        printf("null");
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
            printf(",\"targeted\":%s,\"suppressed_fatigue\":%zu,\"cooled_down\":%zu",
                   r->targeted ? "true" : "false", r->suppressed, r->cooled);
        }
        printf("}");
    }
    printf("}\n");
}

static void print_text(const promo_compare *c,
                       const promo_compare_params *p,
                       const promo_campaign_targeting *tg)
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
    if (c->has_bundle) {
        char why[1024];
        cli_bundle_why(why, sizeof why, c->product_id, &c->bundle);
        if (c->bundle.product_id[0])
            printf("every offer comes with %s as a bundle, %s\n", c->bundle.product_id, why);
        else
            printf("no bundle: %s\n", why);
    }
    /* when each strategy sends, and whom fatigue left out */
    printf("broadcast and random send everyone on day 0 at 10:00; rfm, propensity, uplift and "
           "optimized\nsend as promo campaign does: %s",
           c->send_time_best ? "each customer at their usual weekday and hour" : "day 0 at 10:00");
    if (c->fatigue_mode == PROMO_FATIGUE_OFF)
        printf(", no fatigue rule\n");
    else if (c->n_contacted == 0)
        printf(";\nfatigue not applied: no contact history (no exposures before day 0)\n");
    else if (c->fatigue_mode == PROMO_FATIGUE_COOLDOWN) {
        printf(", the fatigued sent\nno earlier than %d days after their last offer (%zu customers "
               "fatigued, %zu of them cooled down; sent later:",
               tg->fatigue.cooldown_days, c->n_fatigued, c->n_cooled);
        for (int k = 0; k < PROMO_STRATEGY_ORACLE; k++)
            if (c->rows[k].available && c->rows[k].targeted)
                printf(" %s %zu", promo_strategy_name((promo_strategy)k), c->rows[k].cooled);
        printf(")\n");
    } else {
        printf(", the fatigued left out\n(%zu customers fatigued; passed over:", c->n_fatigued);
        for (int k = 0; k < PROMO_STRATEGY_ORACLE; k++)
            if (c->rows[k].available && c->rows[k].targeted)
                printf(" %s %zu", promo_strategy_name((promo_strategy)k), c->rows[k].suppressed);
        printf(")\n");
    }
    printf("oracle: the true best policy under the same rules (the simulator's own model): "
           "every customer\nwhose true expected profit is positive, %s, at %.0f%%;\n"
           "expected profit of each selection by that model:\n ",
           c->send_time_best ? "each at their true best weekday and hour" : "day 0 at 10:00",
           c->oracle_discount_pct);
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++)
        if (c->rows[k].available)
            printf(" %s %.0f", promo_strategy_name((promo_strategy)k), c->rows[k].expected_profit);
    printf("\n");
}

int cmd_compare(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *product = NULL;
    promo_compare_params p = promo_compare_params_default();
    double target = 0, draws = p.sim.n_draws, window = p.sim.window_days;
    unsigned long long seed = p.seed;
    int json = 0, no_chart = 0;
    static const char *const send_time_words[] = {"best", "fixed", NULL};
    /* in promo_fatigue_mode's order */
    static const char *const fatigue_words[] = {"suppress", "cooldown", "off", NULL};
    unsigned send_time = 0, fatigue = 0;
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    double fatigue_max = tg.fatigue.max_contacts_30d, cooldown_days = tg.fatigue.cooldown_days;
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
        {CLI_ENUM("send-time", send_time_words, &send_time),
         .help = "the targeted strategies (rfm, propensity, uplift, optimized): best = each\n"
                 "customer at their usual weekday and hour, as promo campaign sends; fixed =\n"
                 "day 0 at 10:00 like broadcast and random"},
        {CLI_ENUM("fatigue", fatigue_words, &fatigue),
         .help = "the targeted strategies leave out the customers with too many recent offers\n"
                 "or falling responses (suppress), as promo campaign does, send to them after a\n"
                 "cool-down (cooldown), or treat them as the others (off)"},
        {CLI_NUMBER("fatigue-max-contacts-30d", "N", 1, 1e6, &fatigue_max),
         .help = "fatigued at this many offers in the last 30 days"},
        {CLI_UINT("cooldown-days", "D", 1, 365, &cooldown_days),
         .help = "--fatigue cooldown: days after a fatigued customer's last offer"},
        {CLI_PATH("optimized-out", "FILE.csv", &p.optimized_path),
         .help = "write the optimized row's offers as a campaign file promo simulate reads\n"
                 "(customer_id, product_id, discount_pct, send_day, send_hour[,\n"
                 "bundle_product_id])"},
        {CLI_STRING("bundle", "auto|ID", &tg.bundle),
         .help = "every strategy offers this second product with it, as promo campaign\n"
                 "--bundle: auto = the one most often in the same orders over the last year"},
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
                 "conversion and ROI. The targeted strategies send as promo campaign does: each\n"
                 "customer at their usual weekday and hour, the fatigued left out or sent after\n"
                 "a cool-down (--send-time, --fatigue); the oracle is the true best policy under\n"
                 "the same rules.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    p.n_target = (size_t)target;
    p.sim.n_draws = (uint32_t)draws;
    p.sim.window_days = (uint32_t)window;
    p.seed = seed;
    tg.send_time_best = send_time == 0;
    tg.fatigue.mode = (promo_fatigue_mode)fatigue;
    tg.fatigue.cooldown_days = (int)cooldown_days;
    tg.fatigue.max_contacts_30d = fatigue_max;
    p.targeting = &tg;
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
            print_text(&c, &p, &tg);
            if (png[0])
                printf("chart: %s\n", png);
            if (p.optimized_path && c.rows[PROMO_STRATEGY_OPTIMIZED].available)
                printf("optimized row's offers: %s\n", p.optimized_path);
        }
    }
    promo_store_close(s);
    return cli_report(rc);
}
