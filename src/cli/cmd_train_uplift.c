/* promo train --model uplift: learn whom the offers change from the workspace's own promotion
 * log (report_uplift.h), print the held-out evaluation, and store the model for promo score,
 * campaign and explain. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/report_uplift.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

int cli_wants_uplift(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--model=uplift") == 0 ||
            (strcmp(argv[i], "--model") == 0 && i + 1 < argc && strcmp(argv[i + 1], "uplift") == 0))
            return 1;
    }
    return 0;
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void print_metrics_json(FILE *f, const promo_uplift_metrics *m)
{
    fputs("{\"qini_coef\": ", f);
    json_num(f, m->qini_coef);
    fputs(", \"auuc\": ", f);
    json_num(f, m->auuc);
    fputs(", \"uplift_at_10\": ", f);
    json_num(f, m->uplift_at[0]);
    fputs(", \"uplift_at_20\": ", f);
    json_num(f, m->uplift_at[1]);
    fputs(", \"uplift_at_30\": ", f);
    json_num(f, m->uplift_at[2]);
    fputs(", \"ate\": ", f);
    json_num(f, m->ate);
    fprintf(f, ", \"n_treated\": %zu, \"n_control\": %zu}", m->n_treated, m->n_control);
}

static void print_report(FILE *f, const promo_uplift_ws_report *r, int json)
{
    char as_of[32], split[32];
    promo_time_format_cutoff(r->as_of, as_of, sizeof as_of);
    promo_time_format(r->split_ts, 1, split, sizeof split);
    const char *L = promo_uplift_learner_name(r->learner);
    if (json) {
        fprintf(f, "{\"task\": \"uplift\", \"learner\": \"%s\", \"as_of\": \"%s\", ", L, as_of);
        fprintf(f, "\"window_days\": %g, \"outcome\": \"%s\", ", r->window_days,
                r->outcome_from_purchases ? "purchases" : "responses");
        fprintf(f, "\"split\": \"%s\", \"n_rows\": %zu, \"n_train\": %zu, ", split, r->n_rows,
                r->n_train);
        fprintf(f, "\"n_test\": %zu, \"n_test_randomised\": %zu, \"n_gap\": %zu, ", r->n_test,
                r->n_test_randomised, r->n_gap);
        fprintf(f, "\"n_late\": %zu, \"n_features\": %zu, \"pooled_arm\": ", r->n_late,
                r->n_features);
        if (r->pooled_arm[0])
            cli_json_str(f, r->pooled_arm);
        else
            fputs("null", f);
        fprintf(f, ", \"n_pooled\": %zu, \"weighting\": {\"propensity\": %s, \"auto\": %s, ",
                r->n_pooled, r->weighting ? "true" : "false", r->weighting_auto ? "true" : "false");
        fputs("\"clip\": ", f);
        json_num(f, r->clip);
        fputs(", \"clipped_share\": ", f);
        json_num(f, r->overlap.clipped_share);
        fputs(", \"e_min\": ", f);
        json_num(f, r->overlap.e_min);
        fputs(", \"e_max\": ", f);
        json_num(f, r->overlap.e_max);
        fputs("}, \"train_seconds\": ", f);
        json_num(f, r->train_seconds);
        fputs(", \"arms\": [", f);
        for (int a = 1; a < r->n_arms; a++) {
            fputs(a > 1 ? ", {\"arm\": " : "{\"arm\": ", f);
            cli_json_str(f, r->arm_names[a]);
            fputs(", \"mean_effect\": ", f);
            json_num(f, r->arms[a].mean_effect);
            fputs(", \"mean_calibrated\": ", f);
            json_num(f, r->arms[a].mean_calibrated);
            fputs(", \"effect_scale\": ", f);
            json_num(f, r->arms[a].effect_scale);
            fputs(", \"effect_shift\": ", f);
            json_num(f, r->arms[a].effect_shift);
            fputs(", \"calibration\": {\"level\": ", f);
            json_num(f, r->arms[a].cal_level);
            fputs(", \"slope\": ", f);
            json_num(f, r->arms[a].cal_slope);
            fputs(", \"slope_se\": ", f);
            json_num(f, r->arms[a].cal_slope_se);
            fprintf(f, ", \"n\": %zu}", r->arms[a].cal_n);
            fputs(", \"model\": ", f);
            print_metrics_json(f, &r->arms[a].model);
            fputs(", \"outcome_ranking\": ", f);
            print_metrics_json(f, &r->arms[a].outcome);
            fputs("}", f);
        }
        fputs("], \"model_path\": ", f);
        if (r->model_path[0])
            cli_json_str(f, r->model_path);
        else
            fputs("null", f);
        fputs("}\n", f);
        return;
    }
    fprintf(f, "uplift model (%s-learner) from the promotion log, as of %s\n", L, as_of);
    fprintf(f,
            "  rows: %zu exposures whose %g-day outcome window closed (%zu later ones not used)\n",
            r->n_rows, r->window_days, r->n_late);
    if (r->outcome_from_purchases)
        fprintf(f, "  outcome: no responses are logged (table empty or absent), so a purchase of "
                   "the promoted "
                   "product (or category) in the window counts as a conversion\n");
    fprintf(f, "  split by time at %s: %zu training rows, %zu test rows, %zu left out between\n",
            split, r->n_train, r->n_test, r->n_gap);
    fprintf(f, "  arms: ");
    for (int a = 0; a < r->n_arms; a++)
        fprintf(f, "%s%s", a ? ", " : "", r->arm_names[a]);
    fprintf(f, "; %zu features\n", r->n_features);
    if (r->pooled_arm[0])
        fprintf(f, "  '%s' (%zu rows, chosen by a rule, not at random) counted as '%s'\n",
                r->pooled_arm, r->n_pooled, r->n_arms > 1 ? r->arm_names[1] : "?");
    if (r->weighting)
        fprintf(f,
                "  propensity weighting: on (%s); P(arm | x) clipped to [%g, %g]: %.1f%% of "
                "training rows clipped, estimated P in [%.3g, %.3g]\n",
                r->weighting_auto ? "automatic: the log is not fully randomised" : "asked", r->clip,
                1.0 - r->clip, 100.0 * r->overlap.clipped_share, r->overlap.e_min,
                r->overlap.e_max);
    else
        fprintf(f, "  propensity weighting: off (%s)\n",
                r->weighting_auto ? "automatic: every row was randomised" : "asked");
    fprintf(f, "  held-out evaluation on the %zu randomised test rows (converted in the window):\n",
            r->n_test_randomised);
    fprintf(f, "    %-14s %-16s %8s %8s %10s %10s %10s %8s\n", "arm", "ranking", "qini", "auuc",
            "uplift@10%", "uplift@20%", "uplift@30%", "ate");
    for (int a = 1; a < r->n_arms; a++) {
        for (int w = 0; w < 2; w++) {
            const promo_uplift_metrics *m = w ? &r->arms[a].outcome : &r->arms[a].model;
            if (w && isnan(m->qini_coef) && m->n_treated == 0)
                continue;
            fprintf(f, "    %-14.14s %-16s %8.4f %8.4f %10.4f %10.4f %10.4f %8.4f\n",
                    w ? "" : r->arm_names[a], w ? "outcome (P buy)" : "uplift (model)",
                    m->qini_coef, m->auuc, m->uplift_at[0], m->uplift_at[1], m->uplift_at[2],
                    m->ate);
        }
    }
    fprintf(f, "  effect calibration (out of fold on the randomised training rows; scoring uses "
               "it, ranking unchanged):\n");
    for (int a = 1; a < r->n_arms; a++) {
        const promo_uplift_ws_arm_eval *e = &r->arms[a];
        if (isnan(e->cal_level)) {
            fprintf(f, "    %-14.14s none (%zu randomised training rows): raw effects\n",
                    r->arm_names[a], e->cal_n);
            continue;
        }
        fprintf(f,
                "    %-14.14s level %+.4f (%zu rows), slope %.3f +- %.3f "
                "-> x%.3f;\n"
                "                   mean effect on the test rows %.4f (raw %.4f)\n",
                r->arm_names[a], e->cal_level, e->cal_n, e->cal_slope, e->cal_slope_se,
                e->effect_scale, e->mean_calibrated, e->mean_effect);
    }
    fprintf(f, "  fit: %.2f s (calibration refits %.2f s)\n", r->train_seconds,
            r->calibration_seconds);
    if (r->model_path[0])
        fprintf(f, "  model: %s\n", r->model_path);
}

int cli_evaluate_uplift(const char *ws, int json, int quiet_if_none)
{
    promo_store *s = NULL;
    promo_uplift_ws_report r;
    int found = 0;
    int rc = promo_store_open_read(ws, &s);
    if (!rc)
        rc = promo_report_uplift_read(s, &r, &found);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    if (!found) {
        if (quiet_if_none)
            return -1;
        promo_fail(PROMO_ENOTFOUND,
                   "no uplift evaluation in %s: run `promo train --ws %s --model uplift` first", ws,
                   ws);
        return cli_report(PROMO_ENOTFOUND);
    }
    print_report(stdout, &r, json);
    return CLI_EXIT_OK;
}

int cmd_train_uplift(int argc, char **argv)
{
    static const char *const learner_words[] = {"s",    "t",      "x",  "r", "dr",
                                                "tree", "forest", "ct", NULL};
    static const char *const weighting_words[] = {"auto", "on", "off", NULL};
    const char *ws = CLI_DEFAULT_WS, *model = "uplift", *pred_out = NULL;
    promo_uplift_ws_train_params p = promo_uplift_ws_train_params_default();
    unsigned learner = 1, weighting = 0;
    unsigned long long seed = 1;
    unsigned n_threads = 0, rounds = 300;
    double clip = p.uplift.clip;
    int json = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("model", "NAME", &model), .help = "uplift"},
        {CLI_AS_OF(&p.rows.as_of),
         .help = "learn from exposures whose outcome window closed by this date",
         .def = "the day after the last transaction or response"},
        {CLI_NUMBER("window", "DAYS", 1, 3650, &p.rows.window_days),
         .help = "outcome window after each exposure: converted in [exposure, +DAYS)"},
        {CLI_NUMBER("test-frac", "F", 0.01, 0.89, &p.rows.test_frac),
         .help = "latest share of the exposures (by time) held out for the evaluation"},
        {CLI_ENUM("learner", learner_words, &learner),
         .help = "S-, T-, X-, R-, DR-learner (XGBoost base models), uplift tree or forest,\n"
                 "class transformation (one XGBoost model of the effect per arm)"},
        {CLI_ENUM("weighting", weighting_words, &weighting),
         .help = "propensity weighting: auto = on when the log holds non-randomised exposures"},
        {CLI_NUMBER("clip", "C", 0, 0.49, &clip), .help = "propensity clipping to [C, 1 - C]"},
        {CLI_UINT("rounds", "N", 1, 100000, &rounds),
         .help = "boosting rounds at most per base model (early stopping)"},
        {CLI_FLAG_CLEAR("no-clv", &p.rows.clv),
         .help = "leave out the CLV features (their fits per exposure day take most of the time)"},
        {CLI_PATH("predictions-out", "FILE.csv", &pred_out),
         .help = "write every row's promotion_id, customer_id, arm, part (train/test/gap),\n"
                 "randomised, y and effect_<arm>"},
        {CLI_SEED(&seed), .help = "model seed"},
        {CLI_THREADS(&n_threads)},
        {CLI_JSON(&json), .help = "print the evaluation as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "train",
        .usage =
            "usage: promo train --ws DIR --model uplift [--as-of DATE] [--window DAYS]\n"
            "                   [--learner s|t|x|r|dr|tree|forest|ct] [--weighting auto|on|off]\n"
            "                   [--json]\n",
        .about = "Learn whom the promotions change from the workspace's own log: every exposure\n"
                 "(its arm, control included) with the customer's features as of the exposure\n"
                 "and the offer's discount and category, the outcome = converted in the window\n"
                 "after it. Only exposures whose window closed by --as-of are used; the latest\n"
                 "are held out (by time) and the Qini coefficient, AUUC and uplift@k are\n"
                 "measured on their randomised rows. Non-randomised exposures (the 'targeted'\n"
                 "arm, counted as 'treatment') switch on propensity weighting. The model goes to\n"
                 "DIR/models/uplift.bin for promo score/campaign/explain --model uplift.\n",
        .opts = opts,
        .epilog = "exit status: 0 ok, 1 internal failure, 2 bad input or usage\n",
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (strcmp(model, "uplift") != 0)
        return cli_usage_error("train", "--model %s: this form of train is for uplift", model);
    p.uplift = promo_uplift_params_default((promo_uplift_learner)learner);
    p.uplift.seed = seed;
    p.uplift.n_threads = (int)n_threads;
    p.uplift.gbdt.n_rounds = (int)rounds;
    p.uplift.clip = clip;
    p.rows.n_threads = (int)n_threads;
    p.weighting = weighting == 0 ? -1 : weighting == 1 ? 1 : 0;
    p.predictions_out = pred_out;
    promo_store *s = NULL;
    promo_uplift_ws_report r;
    int rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = promo_report_uplift_train(s, &p, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    print_report(stdout, &r, json);
    return CLI_EXIT_OK;
}
