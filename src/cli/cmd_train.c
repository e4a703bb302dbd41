/* promo train: fit a model from the workspace. --model propensity (the default) builds the
 * rolling time windows, fits XGBoost with early stopping and calibration plus the baselines,
 * evaluates them on the test window, saves the model under DIR/models and the evaluation in
 * the workspace (promo evaluate prints it again), and draws the charts into DIR/out. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/error.h>
#include <promo/propensity.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: promo train --ws DIR [--model propensity] [--target T] [--as-of DATE]\n"
            "                   [--horizon DAYS] [options]\n\n"
            "Train a purchase-propensity model: for target T, the probability that each\n"
            "customer buys it within DAYS after a cutoff. The test window starts at DATE\n"
            "(default: the last complete window of the data); validation is one horizon\n"
            "earlier, training the windows before it. Prints the evaluation (as promo\n"
            "evaluate) of the model and its baselines.\n\n"
            "  --ws DIR             workspace (default %s)\n"
            "  --model NAME         propensity (the only model of this command so far)\n"
            "  --target T           any (default), product:ID or category:NAME\n"
            "  --as-of DATE         test cutoff, YYYY-MM-DD\n"
            "  --horizon DAYS       label window (default 30)\n"
            "  --windows N          rolling training windows (default 3)\n"
            "  --scope all|category product targets: learn from every product (default) or\n"
            "                       the target's category only\n"
            "  --neg-per-pos R      sampled never-bought negatives per positive (default 5)\n"
            "  --max-items N        learn from the N most-ordered products (default all)\n"
            "  --calibration M      platt (default), isotonic or none\n"
            "  --rounds N           boosting rounds at most (default 600, early stopping)\n"
            "  --no-baselines       skip popularity, RFM, logistic regression, random forest\n"
            "  --no-plots           skip the PNG charts\n"
            "  --seed S             sampling and model seed (default 1)\n"
            "  --threads N          threads (default: all cores)\n"
            "  --json               print the evaluation as JSON\n"
            "  --help               this text\n",
            CLI_DEFAULT_WS);
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {{"ws", required_argument, NULL, 'w'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"target", required_argument, NULL, 't'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {"horizon", required_argument, NULL, 'H'},
                                         {"windows", required_argument, NULL, 'W'},
                                         {"scope", required_argument, NULL, 's'},
                                         {"neg-per-pos", required_argument, NULL, 'n'},
                                         {"max-items", required_argument, NULL, 'i'},
                                         {"calibration", required_argument, NULL, 'c'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {"no-baselines", no_argument, NULL, 'B'},
                                         {"no-plots", no_argument, NULL, 'P'},
                                         {"seed", required_argument, NULL, 'S'},
                                         {"threads", required_argument, NULL, 'T'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *ws = CLI_DEFAULT_WS, *model = "propensity";
    promo_propensity_params p = promo_propensity_params_default();
    int json = 0, c, ec;
    double v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            ws = optarg;
            break;
        case 'm':
            model = optarg;
            break;
        case 't':
            p.target = optarg;
            break;
        case 'a':
            if ((ec = cli_parse_date("train", "--as-of", optarg, &p.as_of)))
                return ec;
            break;
        case 'H':
            if ((ec = cli_parse_number("train", "--horizon", optarg, 1, 3650, 0, &p.horizon_days)))
                return ec;
            break;
        case 'W':
            if ((ec = cli_parse_number("train", "--windows", optarg, 1, 24, 1, &v)))
                return ec;
            p.n_train_windows = (int)v;
            break;
        case 's':
            if (!strcmp(optarg, "all"))
                p.scope = PROMO_PROP_SCOPE_ALL;
            else if (!strcmp(optarg, "category"))
                p.scope = PROMO_PROP_SCOPE_CATEGORY;
            else
                return cli_usage_error("train", "--scope: expected all or category, got '%s'",
                                       optarg);
            break;
        case 'n':
            if ((ec =
                     cli_parse_number("train", "--neg-per-pos", optarg, 0, 1e6, 0, &p.neg_per_pos)))
                return ec;
            break;
        case 'i':
            if ((ec = cli_parse_number("train", "--max-items", optarg, 0, 1e9, 1, &v)))
                return ec;
            p.max_items = (size_t)v;
            break;
        case 'c': {
            int k = promo_calib_kind_parse(optarg);
            if (k < 0)
                return cli_usage_error("train",
                                       "--calibration: expected isotonic, platt or "
                                       "none, got '%s'",
                                       optarg);
            p.calibration = (promo_calib_kind)k;
            break;
        }
        case 'r':
            if ((ec = cli_parse_number("train", "--rounds", optarg, 1, 100000, 1, &v)))
                return ec;
            p.gbdt.n_rounds = (int)v;
            break;
        case 'B':
            p.baselines = 0;
            break;
        case 'P':
            p.plots = 0;
            break;
        case 'S': {
            unsigned long long seed;
            if ((ec = cli_parse_uint("train", "--seed", optarg, 0, UINT64_MAX, &seed)))
                return ec;
            p.seed = seed;
            break;
        }
        case 'T':
            if ((ec = cli_parse_number("train", "--threads", optarg, 0, 1024, 1, &v)))
                return ec;
            p.n_threads = (int)v;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("train", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (strcmp(model, "propensity") != 0)
        return cli_usage_error("train",
                               "--model %s: not available in this build (models: "
                               "propensity)",
                               model);
    promo_store *s = NULL;
    promo_propensity_report r;
    int rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = promo_report_propensity_train(s, &p, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    cli_print_propensity(stdout, &r, 1, json);
    return CLI_EXIT_OK;
}
