/* promo simulate: play a campaign file forward in the workspace's generated world and report
 * its incremental effect against the no-campaign counterfactual (include/promo/synth.h).
 *
 * The campaign is a CSV with columns customer_id, product_id, discount_pct, send_day
 * (0 = first day after the history), send_hour (0-23) and optionally bundle_product_id; its
 * reader and checks (bad rows reported as FILE:LINE:COL) are promo/campaign.h's. This file
 * parses the options and prints. */
#include <errno.h>
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

    promo_sim_result res;
    size_t n_offers = 0;
    if ((rc = cli_simulate_file(ws, campaign, &sp, &res, &n_offers, NULL, NULL, 0)))
        return cli_report(rc);
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
    return CLI_EXIT_OK;
}

int cli_simulate_file(const char *ws,
                      const char *campaign,
                      const promo_sim_params *sp,
                      promo_sim_result *res,
                      size_t *n_offers,
                      double *discount,
                      char *bundle,
                      size_t n_bundle)
{
    promo_campaign_file *cf = NULL;
    promo_store *s = NULL;
    promo_world *w = NULL;
    promo_offer *offers = NULL;
    *n_offers = 0;
    /* The file first: a malformed campaign is reported before the world is loaded. */
    int rc = promo_campaign_read(campaign, &cf);
    if (!rc && !(rc = promo_store_open_read(ws, &s)) && !(rc = promo_world_load(s, &w)) &&
        !(rc = promo_campaign_file_offers(cf, w, &offers))) {
        *n_offers = promo_campaign_file_contacts(cf);
        rc = promo_simulate(w, offers, *n_offers, sp, res);
    }
    if (!rc && discount)
        *discount = *n_offers ? offers[0].discount_pct : NAN;
    if (!rc && bundle)
        snprintf(bundle, n_bundle, "%s",
                 *n_offers && offers[0].bundle_product != PROMO_SYNTH_NONE
                     ? promo_world_product_id(w, offers[0].bundle_product)
                     : "");
    promo_free(offers);
    promo_world_free(w);
    promo_store_close(s);
    promo_campaign_file_free(cf);
    return rc;
}
