/* promo measure: a campaign's realised effect, treated against its holdout (promo/measure.h).
 * Parses, prints; the measuring and the logging are measure.h's. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/measure.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void json_num(const char *key, double v)
{
    printf(",\"%s\":", key);
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

static void print_json(const promo_measure *m)
{
    static const char *const verdicts[] = {"too_small", "unclear", "gain", "loss"};
    const promo_measure_arm *arm[2] = {&m->treated, &m->holdout};
    static const char *const names[2] = {"treated", "holdout"};
    printf("{\"promotion_id\":");
    cli_json_str(stdout, m->promotion_id);
    printf(",\"complete\":%s,\"level\":%g", m->complete ? "true" : "false", m->level);
    for (int a = 0; a < 2; a++) {
        printf(",\"%s\":{\"customers\":%zu,\"buyers\":%zu", names[a], arm[a]->n, arm[a]->buyers);
        json_num("revenue", arm[a]->revenue);
        json_num("conversion_rate", arm[a]->rate);
        json_num("revenue_per_customer", arm[a]->mean_revenue);
        printf("}");
    }
    json_num("rate_difference", m->diff);
    json_num("rate_difference_lo", m->diff_lo);
    json_num("rate_difference_hi", m->diff_hi);
    json_num("incremental_conversions", m->inc_conversions);
    json_num("incremental_conversions_lo", m->inc_conv_lo);
    json_num("incremental_conversions_hi", m->inc_conv_hi);
    json_num("incremental_revenue", m->inc_revenue);
    json_num("incremental_revenue_lo", m->inc_rev_lo);
    json_num("incremental_revenue_hi", m->inc_rev_hi);
    json_num("margin", m->margin);
    json_num("discount_cost", m->discount_cost);
    json_num("contact_cost", m->contact_cost);
    json_num("incremental_profit", m->inc_profit);
    json_num("incremental_profit_lo", m->inc_profit_lo);
    json_num("incremental_profit_hi", m->inc_profit_hi);
    printf(",\"verdict\":\"%s\",\"logged\":%zu}\n", verdicts[m->verdict], m->logged);
}

static void print_text(const promo_measure *m, const char *path)
{
    char a[32], b[32], c[32];
    promo_time_format(m->first_send, 1, a, sizeof a);
    promo_time_format(m->last_end - 1, 1, b, sizeof b);
    promo_time_format(m->data_end, 1, c, sizeof c);
    printf("measured %s: sends from %s, windows to %s; data to %s%s\n", path, a, b, c,
           m->complete ? "" : " (NOT complete: the last windows are cut short)");
    printf("  %-24s %12s %12s\n", "", "treated", "holdout");
    printf("  %-24s %12zu %12zu\n", "customers", m->treated.n, m->holdout.n);
    printf("  %-24s %12zu %12zu\n", "bought the product", m->treated.buyers, m->holdout.buyers);
    printf("  %-24s %11.2f%% %11.2f%%\n", "conversion rate", 100 * m->treated.rate,
           100 * m->holdout.rate);
    printf("  %-24s %12.2f %12.2f\n", "revenue per customer", m->treated.mean_revenue,
           m->holdout.mean_revenue);
    int pct = (int)lround(100 * m->level);
    printf("effect on the %zu treated (%d%% intervals):\n", m->treated.n, pct);
    printf("  %-24s %+11.2f pts [%+.2f, %+.2f]\n", "conversion rate", 100 * m->diff,
           100 * m->diff_lo, 100 * m->diff_hi);
    printf("  %-24s %+12.1f [%+.1f, %+.1f]\n", "incremental conversions", m->inc_conversions,
           m->inc_conv_lo, m->inc_conv_hi);
    printf("  %-24s %+12.2f [%+.2f, %+.2f]\n", "incremental revenue", m->inc_revenue, m->inc_rev_lo,
           m->inc_rev_hi);
    printf("  %-24s %12.2f (margin %.0f%%)\n", "discount cost", m->discount_cost, 100 * m->margin);
    printf("  %-24s %12.2f\n", "contact cost", m->contact_cost);
    printf("  %-24s %+12.2f [%+.2f, %+.2f]\n", "incremental profit", m->inc_profit,
           m->inc_profit_lo, m->inc_profit_hi);
    printf("verdict: %s\n", m->verdict_text);
    if (m->logged)
        printf("logged promotion '%s': %zu exposures and responses (the uplift models learn "
               "from them)\n",
               m->promotion_id, m->logged);
}

int cmd_measure(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *campaign = NULL, *promotion_id = NULL;
    promo_measure_params p = promo_measure_params_default();
    int json = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_PATH("campaign", "FILE.csv", &campaign), .required = 1,
         .help = "the campaign file, with its holdout column (promo campaign --holdout)"},
        {CLI_NUMBER("window", "DAYS", 1, 3650, &p.window_days),
         .help = "days after each send in which a purchase counts"},
        {CLI_DATE("sent", &p.sent), .help = "the send date of rows without send_date",
         .def = "the file's send_date"},
        {CLI_NUMBER("margin", "F", 0, 1, &p.margin),
         .help = "gross margin share of revenue, where products have no price and cost"},
        {CLI_NUMBER("cost-per-contact", "X", 0, 1e9, &p.cost_per_contact),
         .help = "cost of contacting one treated customer"},
        {CLI_NUMBER("level", "P", 0.51, 0.999, &p.level), .help = "interval level"},
        {CLI_FLAG("log", &p.log),
         .help = "append the campaign to the promotion log (promotions, exposures, responses)"},
        {CLI_STRING("promotion-id", "ID", &promotion_id), .help = "the promotion's id in the log",
         .def = "measured:<file name>"},
        {CLI_JSON(&json), .help = "print the result as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "measure",
        .usage = "usage: promo measure --ws DIR --campaign FILE.csv [--window DAYS] [--log] "
                 "[--json]\n",
        .about = "After a campaign's period is ingested, compare the customers it contacted with\n"
                 "its random holdout (selected, not contacted): purchases of the offered product\n"
                 "in the window after each send, incremental conversions, revenue and profit with\n"
                 "intervals, and whether the holdout is large enough to tell. --log adds the\n"
                 "campaign to the promotion log that `promo train --model uplift` learns from.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    p.campaign_path = campaign;
    p.promotion_id = promotion_id;
    promo_store *s = NULL;
    promo_measure m;
    int rc = p.log ? promo_store_open(ws, 0, &s) : promo_store_open_read(ws, &s);
    rc = rc ? rc : promo_measure_run(s, &p, &m);
    if (!rc) {
        if (json)
            print_json(&m);
        else
            print_text(&m, campaign);
    }
    promo_store_close(s);
    return cli_report(rc);
}
