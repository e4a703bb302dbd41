/* promo train: fit a model from the workspace. --model propensity (the default) builds the
 * rolling time windows, fits XGBoost with early stopping and calibration plus the baselines,
 * evaluates them on the test window, saves the model under DIR/models and the evaluation in
 * the workspace (promo evaluate prints it again), and draws the charts into DIR/out. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/error.h>
#include <promo/propensity.h>
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
    char *end;
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
            p.horizon_days = strtod(optarg, &end);
            if (*end || !(p.horizon_days >= 1 && p.horizon_days <= 3650))
                return cli_usage_error("train", "--horizon: expected 1..3650 days, got '%s'",
                                       optarg);
            break;
        case 'W':
            p.n_train_windows = (int)strtol(optarg, &end, 10);
            if (*end || p.n_train_windows < 1 || p.n_train_windows > 24)
                return cli_usage_error("train", "--windows: expected 1..24, got '%s'", optarg);
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
            p.neg_per_pos = strtod(optarg, &end);
            if (*end || !(p.neg_per_pos >= 0))
                return cli_usage_error("train", "--neg-per-pos: expected a number >= 0, got '%s'",
                                       optarg);
            break;
        case 'i':
            p.max_items = (size_t)strtoull(optarg, &end, 10);
            if (*end || optarg[0] == '-')
                return cli_usage_error("train", "--max-items: expected a count, got '%s'", optarg);
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
            p.gbdt.n_rounds = (int)strtol(optarg, &end, 10);
            if (*end || p.gbdt.n_rounds < 1 || p.gbdt.n_rounds > 100000)
                return cli_usage_error("train", "--rounds: expected 1..100000, got '%s'", optarg);
            break;
        case 'B':
            p.baselines = 0;
            break;
        case 'P':
            p.plots = 0;
            break;
        case 'S':
            p.seed = strtoull(optarg, &end, 10);
            if (*end || optarg[0] == '-')
                return cli_usage_error("train", "--seed: expected an integer, got '%s'", optarg);
            break;
        case 'T':
            p.n_threads = (int)strtol(optarg, &end, 10);
            if (*end || p.n_threads < 0 || p.n_threads > 1024)
                return cli_usage_error("train", "--threads: expected 0..1024, got '%s'", optarg);
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
        rc = promo_propensity_train(s, &p, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    cli_print_propensity(stdout, &r, 1, json);
    return CLI_EXIT_OK;
}
