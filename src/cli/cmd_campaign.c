/* `promo campaign`: the customers most likely to buy a product, as a campaign file.
 *
 * Parses the options and prints; the campaign (top N by propensity with a one-line reason
 * each, the customers' name and location) and its file, which `promo simulate` reads as it
 * is, are promo/campaign.h's. Budget-constrained optimisation and uplift-based targeting come
 * with the campaign-optimizer work; this command ranks by propensity only, and says so. */
#include <getopt.h>
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

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: promo campaign --ws DIR --product ID|best [--discount PCT] [--target N]\n"
        "                      [--as-of DATE] [--send-day D] [--send-hour H] [--out FILE.csv]\n\n"
        "Rank every customer by the propensity model's probability of buying the product\n"
        "(train it first: promo train --model propensity --target product:ID), keep the top\n"
        "N with a one-line reason each, and write the campaign file (default\n"
        "DIR/out/campaign_<product>.csv), which `promo simulate` accepts as it is.\n\n"
        "  --product ID|best  the product; `best` = the best-selling one (most order lines)\n"
        "  --discount PCT     offered discount, 0-90 (default 10)\n"
        "  --target N         customers to contact (default 50)\n"
        "  --as-of DATE       score as of this date (default: after the last transaction)\n"
        "  --send-day D       days after the history's end to send (default 0)\n"
        "  --send-hour H      hour to send, 0-23 (default 10)\n");
}

int cmd_campaign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ws", required_argument, NULL, 'w'},
        {"product", required_argument, NULL, 'p'},
        {"discount", required_argument, NULL, 'd'},
        {"target", required_argument, NULL, 'n'},
        {"as-of", required_argument, NULL, 'a'},
        {"send-day", required_argument, NULL, 'D'},
        {"send-hour", required_argument, NULL, 'H'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *ws = CLI_DEFAULT_WS, *product = NULL, *out_path = NULL;
    double discount = 10, target_n = 50, send_day = 0, send_hour = 10;
    int64_t as_of = 0;
    int c, ec;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            ws = optarg;
            break;
        case 'p':
            product = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'd':
            if ((ec = cli_parse_number("campaign", "--discount", optarg, 0, 90, 0, &discount)))
                return ec;
            break;
        case 'n':
            if ((ec = cli_parse_number("campaign", "--target", optarg, 1, 10000000, 1, &target_n)))
                return ec;
            break;
        case 'D':
            if ((ec = cli_parse_number("campaign", "--send-day", optarg, 0, 3650, 1, &send_day)))
                return ec;
            break;
        case 'H':
            if ((ec = cli_parse_number("campaign", "--send-hour", optarg, 0, 23, 1, &send_hour)))
                return ec;
            break;
        case 'a':
            if ((ec = cli_parse_date("campaign", "--as-of", optarg, &as_of)))
                return ec;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("campaign", "unknown or incomplete option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("campaign", "unexpected argument '%s'", argv[optind]);
    if (!product)
        return cli_usage_error("campaign", "--product ID (or `best`) is required");

    promo_store *s = NULL;
    promo_campaign *cp = NULL;
    char pid[256], path[1300];
    int rc = promo_store_open(ws, 0, &s);
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
    if ((rc = promo_campaign_build(s, &cpp, as_of, &cp)))
        goto done;
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else
        promo_campaign_default_path(s, pid, path, sizeof path);
    if ((rc = promo_campaign_write(cp, path)))
        goto done;

    printf("campaign for %s: top %zu customers by propensity, %.0f%% discount\n", pid, cp->n,
           discount);
    printf("  %-12s %-24s %-12s %11s  %s\n", "customer", "name", "location", "probability",
           "reason");
    for (size_t i = 0; i < cp->n && i < 10; i++)
        printf("  %-12s %-24.24s %-12.12s %11.3f  %s\n", cp->picks[i].customer_id, cp->name[i],
               cp->location[i], cp->picks[i].probability, cp->picks[i].reason);
    if (cp->n > 10)
        printf("  ... %zu more\n", cp->n - 10);
    printf("expected buyers among them (model): %.1f\nwrote %s\n", cp->expected_buyers, path);
    rc = PROMO_OK;
done:
    promo_campaign_free(cp);
    promo_store_close(s);
    return cli_report(rc);
}
