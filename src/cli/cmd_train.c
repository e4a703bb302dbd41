/* promo train: fit a model from the workspace. --model propensity (the default) builds the
 * rolling time windows, fits XGBoost with early stopping and calibration plus the baselines,
 * evaluates them on the test window, saves the model under DIR/models and the evaluation in
 * the workspace (promo evaluate prints it again), and draws the charts into DIR/out.
 * --model expansion predicts the next new category (expansion.h) and prints top-1/top-3
 * accuracy beside the majority and Markov baselines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/expansion.h>
#include <promo/propensity.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

/* --model expansion: the options it shares with propensity (horizon, as-of, rounds, seed,
 * threads), its own defaults otherwise. */
static int train_expansion(
    const char *ws, const promo_propensity_params *pp, int windows, int rounds, int json)
{
    promo_expansion_params e = promo_expansion_params_default();
    e.as_of = pp->as_of;
    e.horizon_days = pp->horizon_days;
    e.seed = pp->seed;
    e.n_threads = pp->n_threads;
    if (windows) /* 0: not given, expansion's own default */
        e.n_train_windows = windows;
    if (rounds)
        e.gbdt.n_rounds = rounds;
    promo_store *s = NULL;
    promo_expansion_report r;
    int rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = promo_report_expansion_train(s, &e, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    cli_print_expansion(stdout, &r, json);
    return CLI_EXIT_OK;
}

static void free_targets(char **t, size_t n)
{
    for (size_t k = 0; t && k < n; k++)
        promo_free(t[k]);
    promo_free(t);
}

/* "product:A,product:B" -> its targets: split at the commas that start another target (a
 * category name may hold a comma: "category:Bags, boxes" stays one). 1 for an empty one. */
static int split_targets(const char *s, char ***out, size_t *n_out)
{
    size_t cap = 1;
    for (const char *q = s; *q; q++)
        cap += *q == ',';
    char **t = promo_calloc(cap, sizeof *t);
    if (!t)
        return 1;
    size_t n = 0;
    const char *start = s;
    for (const char *q = s;; q++) {
        int end = !*q || (*q == ',' &&
                          (!strncmp(q + 1, "product:", 8) || !strncmp(q + 1, "category:", 9) ||
                           !strcmp(q + 1, "any") || !strncmp(q + 1, "any,", 4)));
        if (!end)
            continue;
        size_t len = (size_t)(q - start);
        if (len == 0 || !(t[n] = promo_malloc(len + 1))) {
            free_targets(t, n);
            return 1;
        }
        memcpy(t[n], start, len);
        t[n++][len] = 0;
        if (!*q)
            break;
        start = q + 1;
    }
    *out = t;
    *n_out = n;
    return 0;
}

int cmd_train(int argc, char **argv)
{
    if (cli_wants_uplift(argc, argv)) /* its own options: cmd_train_uplift.c */
        return cmd_train_uplift(argc, argv);
    static const char *const scope_words[] = {"all", "category", NULL};
    static const char *const calibration_words[] = {"none", "platt", "isotonic", NULL};
    if (cli_train_is_rec(argc, argv))
        return cmd_train_rec(argc, argv);
    if (cli_train_is_recommender(argc, argv))
        return cmd_train_recommend(argc, argv);
    const char *ws = CLI_DEFAULT_WS, *model = "propensity";
    promo_propensity_params p = promo_propensity_params_default();
    int json = 0, windows = 0, rounds = 0; /* 0: not given, the model's default */
    int retrain = 0, all_baselines = 0, no_baselines = 0;
    p.reuse = 1;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("model", "NAME", &model),
         .help = "propensity, expansion (the next new category) or uplift (promo train --model\n"
                 "uplift --help); als, bpr, knn, user-knn, mf, hybrid: recommenders (promo train\n"
                 "--model als --help)"},
        {CLI_STRING("target", "T", &p.target),
         .help = "any, product:ID or category:NAME; several of one kind separated by commas "
                 "(product:A,product:B) are evaluated against one training"},
        {CLI_AS_OF(&p.as_of), .help = "test cutoff", .def = "the last complete window"},
        {CLI_NUMBER("horizon", "DAYS", 1, 3650, &p.horizon_days), .help = "label window"},
        {CLI_UINT("windows", "N", 1, 24, &windows), .help = "rolling training windows",
         .def = "3; expansion 6"},
        {CLI_ENUM("scope", scope_words, &p.scope),
         .help = "product targets: learn from every product or the target's category only"},
        {CLI_NUMBER("neg-per-pos", "R", 0, 1e6, &p.neg_per_pos),
         .help = "sampled never-bought negatives per positive"},
        {CLI_UINT("max-items", "N", 0, 1000000000, &p.max_items),
         .help = "learn from the N most-ordered products, 0 = all"},
        {CLI_UINT("max-train-rows", "N", 0, 1000000000, &p.max_train_rows),
         .help = "product and category models: keep every positive and thin the negatives to "
                 "about N training rows in all (reweighted), 0 = all"},
        {CLI_UINT("max-valid-rows", "N", 0, 1000000000, &p.max_valid_rows),
         .help = "the same for the validation window"},
        {CLI_ENUM("calibration", calibration_words, &p.calibration),
         .help = "probability calibration"},
        {CLI_UINT("rounds", "N", 1, 100000, &rounds),
         .help = "boosting rounds at most (early stopping)", .def = "600"},
        {CLI_FLAG("baselines", &all_baselines),
         .help = "also train logistic regression and a random forest (slow); popularity "
                 "and RFM, which cost nothing, are evaluated unless --no-baselines"},
        {CLI_FLAG("no-baselines", &no_baselines), .help = "the model alone, no baselines"},
        {CLI_FLAG("retrain", &retrain),
         .help = "train even when the saved model of the same kind, cutoff, parameters "
                 "and data can serve the target (by default only the evaluation is new)"},
        {CLI_FLAG_CLEAR("no-plots", &p.plots), .help = "skip the PNG charts"},
        {CLI_SEED(&p.seed), .help = "sampling and model seed"},
        {CLI_THREADS(&p.n_threads)},
        {CLI_JSON(&json), .help = "print the evaluation as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "train",
        .usage = "usage: promo train --ws DIR [--model propensity] [--target T] [--as-of DATE]\n"
                 "                   [--horizon DAYS] [options]\n"
                 "       promo train --ws DIR --model expansion [--as-of DATE] [--horizon DAYS]\n"
                 "                   [--json]\n",
        .about = "Train a purchase-propensity model: for target T, the probability that each\n"
                 "customer buys it within DAYS after a cutoff. The test window starts at DATE\n"
                 "(default: the last complete window of the data); validation is one horizon\n"
                 "earlier, training the windows before it. Prints the evaluation (as promo\n"
                 "evaluate) of the model and its baselines.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (strcmp(model, "expansion") == 0)
        return train_expansion(ws, &p, windows, rounds, json);
    if (windows)
        p.n_train_windows = windows;
    if (rounds)
        p.gbdt.n_rounds = rounds;
    if (strcmp(model, "propensity") != 0)
        return cli_usage_error("train",
                               "--model %s: not available in this build (models: "
                               "propensity, expansion)",
                               model);
    if (retrain)
        p.reuse = 0;
    if (all_baselines && no_baselines)
        return cli_usage_error("train", "--baselines and --no-baselines: choose one");
    if (all_baselines)
        p.baselines = PROMO_PROP_BASELINES_ALL;
    if (no_baselines)
        p.baselines = PROMO_PROP_BASELINES_NONE;
    char **targets = NULL;
    size_t n_targets = 0;
    if (split_targets(p.target ? p.target : "any", &targets, &n_targets))
        return cli_usage_error("train", "--target %s: empty target", p.target);
    promo_store *s = NULL;
    promo_propensity_report *r = promo_calloc(n_targets, sizeof *r);
    int rc = r ? promo_store_open(ws, 0, &s) : PROMO_ENOMEM;
    if (!rc)
        rc = promo_report_propensity_train_multi(s, &p, (const char *const *)targets, n_targets, r);
    promo_store_close(s);
    free_targets(targets, n_targets);
    if (rc) {
        promo_free(r);
        return cli_report(rc);
    }
    cli_print_propensity(stdout, r, n_targets, json);
    promo_free(r);
    return CLI_EXIT_OK;
}
