/* promo simulate: play a campaign file forward in the workspace's generated world and report
 * its incremental effect against the no-campaign counterfactual (include/promo/synth.h).
 *
 * The campaign is a CSV with columns customer_id, product_id, discount_pct, send_day
 * (0 = first day after the history), send_hour (0-23) and optionally bundle_product_id; its
 * reader and checks (bad rows reported as FILE:LINE:COL) are promo/campaign.h's. This file
 * parses the options and prints. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/synth.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    promo_sim_params d = promo_sim_params_default();
    fprintf(f,
            "usage: promo simulate --ws DIR --campaign FILE.csv [options]\n\n"
            "Simulate the campaign in the workspace's generated world (see `promo generate`)\n"
            "against the no-campaign counterfactual, with common random numbers, and report\n"
            "contacts, conversions, revenue, discount and contact cost, incremental profit and\n"
            "ROI, each as the mean and a central interval over repeated draws. Money in LKR.\n\n"
            "FILE.csv columns: customer_id, product_id, discount_pct (0-90), send_day (0 = the\n"
            "first day after the history, up to 3650), send_hour (0-23), optional\n"
            "bundle_product_id.\n\n"
            "  --ws DIR               workspace directory (default %s)\n"
            "  --campaign FILE        the campaign CSV\n"
            "  --draws N              repeated draws (default %u)\n"
            "  --seed S               seed of the draws (default: from the world's seed)\n"
            "  --cost-per-contact X   LKR per contact (default %.2f)\n"
            "  --window DAYS          purchase window after a send (default %u)\n"
            "  --interval P           central interval level, 0-1 (default %.2f)\n"
            "  --threads T            worker threads (default: all cores)\n"
            "  --json                 print the figures as JSON\n"
            "  --help                 this text\n\n"
            "exit status: 0 ok, 2 bad usage or campaign (FILE:LINE:COL: message), 1 internal\n",
            CLI_DEFAULT_WS, d.n_draws, d.cost_per_contact, d.window_days, d.interval);
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
    static const struct option opts[] = {
        {"ws", required_argument, NULL, 'w'},
        {"campaign", required_argument, NULL, 'c'},
        {"draws", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 'S'},
        {"cost-per-contact", required_argument, NULL, 'k'},
        {"window", required_argument, NULL, 'W'},
        {"interval", required_argument, NULL, 'i'},
        {"threads", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    promo_sim_params sp = promo_sim_params_default();
    const char *ws = CLI_DEFAULT_WS, *campaign = NULL;
    int json = 0, c, rc;
    double v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            ws = optarg;
            break;
        case 'c':
            campaign = optarg;
            break;
        case 'd':
            if ((rc = cli_parse_number("simulate", "--draws", optarg, 1, 1000000, 1, &v)))
                return rc;
            sp.n_draws = (uint32_t)v;
            break;
        case 'S':
            if ((rc = cli_parse_number("simulate", "--seed", optarg, 0, 9007199254740992.0, 1, &v)))
                return rc;
            sp.seed = (uint64_t)v;
            break;
        case 'k':
            if ((rc = cli_parse_number("simulate", "--cost-per-contact", optarg, 0, 1e6, 0,
                                       &sp.cost_per_contact)))
                return rc;
            break;
        case 'W':
            if ((rc = cli_parse_number("simulate", "--window", optarg, 1, 365, 1, &v)))
                return rc;
            sp.window_days = (uint32_t)v;
            break;
        case 'i':
            if ((rc = cli_parse_number("simulate", "--interval", optarg, 0.01, 0.999, 0,
                                       &sp.interval)))
                return rc;
            break;
        case 'T':
            if ((rc = cli_parse_number("simulate", "--threads", optarg, 1, 1024, 1, &v)))
                return rc;
            sp.n_threads = (int)v;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case ':':
            return cli_usage_error("simulate", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("simulate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
    if (!campaign)
        return cli_usage_error("simulate", "--campaign FILE.csv is required");

    promo_campaign_file *cf = NULL;
    promo_store *s = NULL;
    promo_world *w = NULL;
    promo_offer *offers = NULL;
    promo_sim_result res;
    size_t n_offers = 0;
    /* The file first: a malformed campaign is reported before the world is loaded. */
    if ((rc = promo_campaign_read(campaign, &cf)))
        goto done;
    if ((rc = promo_store_open(ws, 0, &s)) || (rc = promo_world_load(s, &w)))
        goto done;
    if ((rc = promo_campaign_file_offers(cf, w, &offers)))
        goto done;
    n_offers = promo_campaign_file_rows(cf);
    if ((rc = promo_simulate(w, offers, n_offers, &sp, &res)))
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
               n_offers, res.n_draws, 100 * sp.interval);
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
    promo_campaign_file_free(cf);
    return cli_report(rc);
}
