/* `promo campaign`: the customers most likely to buy a product, as a campaign file.
 *
 * Parses the options and prints; the campaign (top N by propensity with a one-line reason
 * each, the customers' name and location) and its file, which `promo simulate` reads as it
 * is, are promo/campaign.h's. Budget-constrained optimisation and uplift-based targeting come
 * with the campaign-optimizer work; this command ranks by propensity only, and says so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

int cmd_campaign(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *product = NULL, *out_path = NULL;
    double discount = 10, target_n = 50, send_day = 0, send_hour = 10, holdout = 10;
    unsigned long long holdout_seed = 1;
    int64_t as_of = 0;
    int json = 0;
    static const char *const rank_words[] = {"propensity", "uplift", "profit", NULL};
    unsigned rank_by = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_ENUM("rank-by", rank_words, &rank_by),
         .help = "rank by the propensity model, the uplift model's predicted effect, or its\n"
                 "expected incremental profit (positive only; promo train --model uplift;\n"
                 "the file gets uplift and expected_profit)"},
        {CLI_STRING("product", "ID|best", &product), .required = 1,
         .help = "the product; `best` = the best-selling one (most order lines)"},
        {CLI_NUMBER("discount", "PCT", 0, 90, &discount), .help = "offered discount, 0-90"},
        {CLI_UINT("target", "N", 1, 10000000, &target_n), .help = "customers to contact"},
        {CLI_AS_OF(&as_of), .help = "score as of this date", .def = "after the last transaction"},
        {CLI_UINT("send-day", "D", 0, 3650, &send_day),
         .help = "days after the history's end to send"},
        {CLI_UINT("send-hour", "H", 0, 23, &send_hour), .help = "hour to send, 0-23"},
        {CLI_PATH("out", "FILE.csv", &out_path), .help = "the campaign file",
         .def = "DIR/out/campaign_<product>.csv"},
        {CLI_NUMBER("holdout", "PCT", 0, 50, &holdout),
         .help = "share of the selected customers kept back at random, not contacted: the\n"
                 "control that `promo measure` compares with once the period is ingested"},
        {CLI_UINT("holdout-seed", "S", 0, UINT64_MAX, &holdout_seed),
         .help = "seed of the holdout's draw"},
        {CLI_JSON(&json), .help = "print the campaign (every customer) as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "campaign",
        .usage = "usage: promo campaign --ws DIR --product ID|best [--discount PCT] [--target N]\n"
                 "                      [--as-of DATE] [--send-day D] [--send-hour H] [--out "
                 "FILE.csv]\n"
                 "                      [--json]\n",
        .about =
            "Rank every customer by the propensity model's probability of buying the product\n"
            "(train it first: promo train --model propensity --target product:ID), keep the top\n"
            "N with a one-line reason each, and write the campaign file (default\n"
            "DIR/out/campaign_<product>.csv), which `promo simulate` accepts as it is.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (rank_by >= 1)
        return cli_campaign_uplift(ws, product, discount, (size_t)target_n, as_of, (int)send_day,
                                   (int)send_hour, rank_by == 2, out_path);

    promo_store *s = NULL;
    promo_campaign *cp = NULL;
    char pid[256], path[1300];
    int rc = promo_store_open_read(ws, &s);
    if (rc)
        goto done;
    if (!strcmp(product, "best")) {
        if ((rc = promo_campaign_best_seller(s, pid, sizeof pid)))
            goto done;
    } else {
        snprintf(pid, sizeof pid, "%s", product);
    }
    promo_campaign_params cpp = promo_campaign_params_default();
    cpp.product_id = pid;
    cpp.discount_pct = discount;
    cpp.n_target = (size_t)target_n;
    cpp.send_day = (int32_t)send_day;
    cpp.send_hour = (int32_t)send_hour;
    cpp.holdout_pct = holdout;
    cpp.holdout_seed = holdout_seed;
    if ((rc = promo_campaign_build(s, &cpp, as_of, &cp)))
        goto done;
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else
        promo_campaign_default_path(s, pid, path, sizeof path);
    if ((rc = promo_campaign_write(cp, path)))
        goto done;

    if (json) {
        printf("{\"product_id\":");
        cli_json_str(stdout, pid);
        printf(",\"discount_pct\":%g,\"n\":%zu,\"holdout\":%zu,\"expected_buyers\":%.4f,"
               "\"file\":",
               discount, cp->n, cp->n_holdout, cp->expected_buyers);
        cli_json_str(stdout, path);
        printf(",\"customers\":[");
        for (size_t i = 0; i < cp->n; i++) {
            printf("%s{\"rank\":%zu,\"customer_id\":", i ? "," : "", i + 1);
            cli_json_str(stdout, cp->picks[i].customer_id);
            printf(",\"name\":");
            cli_json_str(stdout, cp->name[i]);
            printf(",\"location\":");
            cli_json_str(stdout, cp->location[i]);
            printf(",\"probability\":%.6f,\"holdout\":%d,\"reason\":", cp->picks[i].probability,
                   cp->holdout[i]);
            cli_json_str(stdout, cp->picks[i].reason);
            putchar('}');
        }
        printf("]}\n");
        rc = PROMO_OK;
        goto done;
    }
    printf("campaign for %s: top %zu customers by propensity, %.0f%% discount\n", pid, cp->n,
           discount);
    printf("  %4s %-12s %-24s %-16s %11s  %s\n", "rank", "customer", "name", "location",
           "probability", "reason");
    for (size_t i = 0; i < cp->n && i < 10; i++)
        printf("  %4zu %-12s %-24.24s %-16s %11.3f  %s\n", i + 1, cp->picks[i].customer_id,
               cp->name[i][0] ? cp->name[i] : "-", cp->location[i][0] ? cp->location[i] : "-",
               cp->picks[i].probability, cp->picks[i].reason);
    if (cp->n > 10)
        printf("  ... %zu more\n", cp->n - 10);
    if (cp->n_holdout)
        printf("holdout: %zu of the %zu kept back at random, not contacted (holdout = 1 in the\n"
               "file): after the period, promo measure --campaign %s compares them\n",
               cp->n_holdout, cp->n, path);
    printf("expected buyers among the %zu contacted (model): %.1f\nwrote %s\n",
           cp->n - cp->n_holdout, cp->expected_buyers, path);
    rc = PROMO_OK;
done:
    promo_campaign_free(cp);
    promo_store_close(s);
    return cli_report(rc);
}
