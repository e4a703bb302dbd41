/* promo evaluate: print the propensity evaluations stored in the workspace (table
 * evaluations, written by promo train): every model and baseline on the test window,
 * as a table or --json; then the recommenders' (printed by cmd_train_recommend.c). Nothing is
 * retrained, so it is instant and always shows exactly the figures of the saved models. Also home
 * of the report printer promo train and promo demo use.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/propensity.h>
#include <promo/recommend.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

static void jnum(FILE *f, const char *key, double v, int comma)
{
    if (isfinite(v))
        fprintf(f, "\"%s\":%.6g%s", key, v, comma ? "," : "");
    else
        fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}

static void print_json_one(FILE *f, const promo_propensity_report *r)
{
    char a[24], v[24], t[24];
    promo_time_format_cutoff(r->as_of, a, sizeof a);
    promo_time_format_cutoff(r->valid_as_of, v, sizeof v);
    promo_time_format_cutoff(r->first_train_as_of, t, sizeof t);
    const promo_binary_metrics *x = &r->models[PROMO_PROP_XGBOOST].m;
    fprintf(f, "{\"target\":");
    cli_json_str(f, r->target);
    fprintf(f,
            ",\"as_of\":\"%s\",\"valid_as_of\":\"%s\",\"first_train_as_of\":\"%s\","
            "\"horizon_days\":%g,\"n_train_windows\":%d,\"n_train_rows\":%zu,"
            "\"n_train_pos\":%zu,\"n_valid_rows\":%zu,\"n_features\":%zu,\"n_rounds\":%d,"
            "\"calibration\":\"%s\",\"n\":%zu,\"n_pos\":%zu,",
            a, v, t, r->horizon_days, r->n_train_windows, r->n_train_rows, r->n_train_pos,
            r->n_valid_rows, r->n_features, r->n_rounds, promo_calib_kind_name(r->calibration),
            x->n, x->n_pos);
    jnum(f, "base_rate", x->base_rate, 1);
    fprintf(f, "\"models\":{");
    int first = 1;
    for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++) {
        const promo_prop_model_eval *e = &r->models[mi];
        if (!e->fitted)
            continue;
        const promo_binary_metrics *m = &e->m;
        fprintf(f, "%s\"%s\":{", first ? "" : ",", promo_prop_model_name(mi));
        first = 0;
        jnum(f, "auc", m->auc, 1);
        jnum(f, "pr_auc", m->pr_auc, 1);
        jnum(f, "log_loss", m->log_loss, 1);
        jnum(f, "brier", m->brier, 1);
        for (int k = 0; k < PROMO_METRICS_N_K; k++) {
            char key[32];
            snprintf(key, sizeof key, "precision_at_%zu", promo_metrics_k[k]);
            jnum(f, key, m->precision_at[k], 1);
            snprintf(key, sizeof key, "recall_at_%zu", promo_metrics_k[k]);
            jnum(f, key, m->recall_at[k], 1);
            snprintf(key, sizeof key, "ndcg_at_%zu", promo_metrics_k[k]);
            jnum(f, key, m->ndcg_at[k], 1);
        }
        jnum(f, "lift_top_decile", m->lift_top_decile, 1);
        jnum(f, "ece", m->ece, 1);
        jnum(f, "valid_auc", r->valid_auc[mi], 1);
        jnum(f, "train_seconds", e->train_seconds, 0);
        fputc('}', f);
    }
    fprintf(f, "},\"reliability\":[");
    for (int b = 0; b < 10; b++) {
        fprintf(f, "%s{", b ? "," : "");
        jnum(f, "mean_prob", r->reliability_mean[b], 1);
        jnum(f, "frac_pos", r->reliability_frac[b], 1);
        fprintf(f, "\"count\":%zu}", r->reliability_count[b]);
    }
    int stale = 0;
    if (promo_report_propensity_stale(r, &stale))
        stale = 0;
    fprintf(f, "],\"model_path\":");
    cli_json_str(f, r->model_path);
    fprintf(f, ",\"model_digest\":");
    cli_json_str(f, r->model_digest);
    fprintf(f, ",\"model_reused\":%s,\"model_changed_since\":%s",
            r->model_reused ? "true" : "false", stale ? "true" : "false");
    fprintf(f, ",\"plots\":{\"pr\":");
    cli_json_str(f, r->plot_paths[0]);
    fprintf(f, ",\"calibration\":");
    cli_json_str(f, r->plot_paths[1]);
    fprintf(f, ",\"lift\":");
    cli_json_str(f, r->plot_paths[2]);
    fprintf(f, "}}");
}

/* The guardrails: a model that learnt nothing, or ranks worse on the validation window than
 * a baseline, is said so with the better baseline and what to do. Returns the lines printed. */
static int print_guardrails(FILE *f, const promo_propensity_report *r)
{
    int n = 0;
    const promo_prop_model_eval *x = &r->models[PROMO_PROP_XGBOOST];
    if (!x->fitted)
        return 0;
    int best = -1;
    double best_auc = 0;
    for (int mi = 1; mi < PROMO_PROP_MODEL_COUNT; mi++)
        if (r->models[mi].fitted && isfinite(r->valid_auc[mi]) &&
            (best < 0 || r->valid_auc[mi] > best_auc)) {
            best = mi;
            best_auc = r->valid_auc[mi];
        }
    int constant = r->n_rounds <= 1 || fabs(x->m.auc - 0.5) < 1e-9;
    if (constant) {
        fprintf(f,
                "  warning: the model came out constant (%d boosting round%s, test AUC %.3f): it "
                "ranks no one above anyone",
                r->n_rounds, r->n_rounds == 1 ? "" : "s", x->m.auc);
        if (best >= 0)
            fprintf(f, "; %s ranks better (validation AUC %.3f)", promo_prop_model_name(best),
                    best_auc);
        fprintf(f, ".\n           Try a longer --horizon, more --windows, or a broader target");
        if (best == PROMO_PROP_POPULARITY || best == PROMO_PROP_RFM)
            fprintf(f, "; or target with the %s baseline: promo score --baseline %s",
                    promo_prop_model_name(best), promo_prop_model_name(best));
        fprintf(f, ".\n");
        n++;
    } else if (best >= 0 && isfinite(r->valid_auc[PROMO_PROP_XGBOOST]) &&
               r->valid_auc[PROMO_PROP_XGBOOST] < best_auc - 0.005) {
        fprintf(f,
                "  warning: %s ranks better than the model on the validation window (AUC %.3f "
                "vs %.3f)",
                promo_prop_model_name(best), best_auc, r->valid_auc[PROMO_PROP_XGBOOST]);
        if (best == PROMO_PROP_POPULARITY || best == PROMO_PROP_RFM)
            fprintf(f, ": to target with it, promo score --baseline %s",
                    promo_prop_model_name(best));
        fprintf(f, ".\n");
        n++;
    }
    return n;
}

static void print_table_one(FILE *f, const promo_propensity_report *r)
{
    char a[24], e[24], v[24], t[24];
    promo_time_format_cutoff(r->as_of, a, sizeof a);
    promo_time_format(r->as_of + (int64_t)(r->horizon_days * PROMO_SECONDS_PER_DAY) - 1, 1, e,
                      sizeof e);
    promo_time_format_cutoff(r->valid_as_of, v, sizeof v);
    promo_time_format_cutoff(r->first_train_as_of, t, sizeof t);
    const promo_binary_metrics *x = &r->models[PROMO_PROP_XGBOOST].m;
    fprintf(f,
            "target %s: test window %s .. %s (%g days), %zu customers, %zu buyers, base rate "
            "%.4f\n",
            r->target, a, e, r->horizon_days, x->n, x->n_pos, x->base_rate);
    fprintf(f,
            "  trained on %d window(s) from %s (%zu rows, %zu positive), validated on the "
            "window from %s (%zu rows); %zu features, %d rounds, %s calibration\n",
            r->n_train_windows, t, r->n_train_rows, r->n_train_pos, v, r->n_valid_rows,
            r->n_features, r->n_rounds, promo_calib_kind_name(r->calibration));
    fprintf(f, "  %-14s %6s %6s %7s %6s %6s %6s %6s %6s %6s %6s %7s %6s %6s %8s\n", "model", "auc",
            "pr_auc", "logloss", "brier", "p@50", "p@100", "p@500", "r@50", "r@100", "r@500",
            "ndcg100", "lift10", "ece", "train_s");
    for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++) {
        const promo_prop_model_eval *ev = &r->models[mi];
        if (!ev->fitted)
            continue;
        const promo_binary_metrics *m = &ev->m;
        /* A figure at K is only one where K is below the number of customers (P@500 of 64
         * customers is their base rate, not a precision at 500). */
        char k[7][8];
        const double kv[7] = {m->precision_at[0], m->precision_at[1], m->precision_at[2],
                              m->recall_at[0],    m->recall_at[1],    m->recall_at[2],
                              m->ndcg_at[1]};
        const size_t kk[7] = {promo_metrics_k[0], promo_metrics_k[1], promo_metrics_k[2],
                              promo_metrics_k[0], promo_metrics_k[1], promo_metrics_k[2],
                              promo_metrics_k[1]};
        for (int j = 0; j < 7; j++) {
            if (kk[j] < m->n)
                snprintf(k[j], sizeof k[j], "%.3f", kv[j]);
            else
                snprintf(k[j], sizeof k[j], "-");
        }
        fprintf(f,
                "  %-14s %6.3f %6.3f %7.4f %6.4f %6s %6s %6s %6s %6s %6s %7s "
                "%6.2f %6.3f %8.2f\n",
                promo_prop_model_name(mi), m->auc, m->pr_auc, m->log_loss, m->brier, k[0], k[1],
                k[2], k[3], k[4], k[5], k[6], m->lift_top_decile, m->ece, ev->train_seconds);
    }
    print_guardrails(f, r);
    if (r->model_path[0]) {
        int stale = 0;
        if (promo_report_propensity_stale(r, &stale))
            stale = 0;
        fprintf(f, "  model: %s%s%s\n", r->model_path,
                r->model_reused ? " (trained earlier with the same cutoff and parameters: reused)"
                                : "",
                stale ? " -- CHANGED since this evaluation" : "");
        if (stale) {
            char tq[PROMO_PROP_TARGET_MAX + 2];
            snprintf(tq, sizeof tq, "%s", r->target);
            fprintf(f,
                    "  warning: the model on disk is not the one these figures measured (it was "
                    "trained again since, with another target scope, cutoff or data): run "
                    "`promo train --target %s` to evaluate the model on disk\n",
                    tq);
        }
    }
    for (int p = 0; p < 3; p++)
        if (r->plot_paths[p][0])
            fprintf(f, "  chart: %s\n", r->plot_paths[p]);
}

void cli_print_propensity(FILE *f, const promo_propensity_report *r, size_t n, int json)
{
    if (json) {
        if (n == 1) {
            print_json_one(f, r);
        } else {
            fprintf(f, "{\"evaluations\":[");
            for (size_t k = 0; k < n; k++) {
                if (k)
                    fputc(',', f);
                print_json_one(f, &r[k]);
            }
            fprintf(f, "]}");
        }
        fputc('\n', f);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        if (k)
            fputc('\n', f);
        print_table_one(f, &r[k]);
    }
}

void cli_print_expansion(FILE *f, const struct promo_expansion_report *r, int json)
{
    char a[24], v[24], t[24];
    promo_time_format_cutoff(r->as_of, a, sizeof a);
    promo_time_format_cutoff(r->valid_as_of, v, sizeof v);
    promo_time_format_cutoff(r->first_train_as_of, t, sizeof t);
    if (json) {
        fprintf(f,
                "{\"task\": \"expansion\", \"as_of\": \"%s\", \"valid_as_of\": \"%s\", "
                "\"first_train_as_of\": \"%s\", \"horizon_days\": %g, \"n_train_windows\": %d, "
                "\"n_train_rows\": %zu, \"n_valid_rows\": %zu, \"n_test_rows\": %zu, "
                "\"n_features\": %zu, \"n_classes\": %u, \"n_rounds\": %d, "
                "\"valid_mlogloss\": %.6f, \"train_seconds\": %.3f, \"model_path\": ",
                a, v, t, r->horizon_days, r->n_train_windows, r->n_train_rows, r->n_valid_rows,
                r->n_test_rows, r->n_features, r->n_classes, r->n_rounds, r->valid_mlogloss,
                r->train_seconds);
        cli_json_str(f, r->model_path);
        fprintf(f, ", \"models\": {");
        for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++)
            fprintf(f, "%s\"%s\": {\"top1_accuracy\": %.6f, \"top3_accuracy\": %.6f}",
                    m ? ", " : "", promo_exp_model_name(m), r->top_accuracy[m][0],
                    r->top_accuracy[m][2]);
        fprintf(f, "}}\n");
        return;
    }
    fprintf(f, "expansion: the next new category within %g days of %s\n", r->horizon_days, a);
    fprintf(f, "  training: %d windows from %s, %zu rows; validation from %s, %zu rows\n",
            r->n_train_windows, t, r->n_train_rows, v, r->n_valid_rows);
    fprintf(f,
            "  test: %zu customers who bought a new category; %u categories, %zu features, "
            "%d rounds\n",
            r->n_test_rows, r->n_classes, r->n_features, r->n_rounds);
    fprintf(f, "  %-10s %8s %8s\n", "model", "top-1", "top-3");
    for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++)
        fprintf(f, "  %-10s %8.4f %8.4f\n", promo_exp_model_name(m), r->top_accuracy[m][0],
                r->top_accuracy[m][2]);
    if (r->model_path[0])
        fprintf(f, "  model: %s\n", r->model_path);
}

int cmd_evaluate(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *target = NULL;
    int json = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("target", "T", &target),
         .help = "only this target (any, product:ID, category:NAME), expansion, a\n"
                 "recommender (als, bpr, knn, user-knn, hybrid) or recommend (all of them)"},
        {CLI_JSON(&json), .help = "JSON instead of a table"},
        {0},
    };
    const cli_spec spec = {
        .name = "evaluate",
        .usage = "usage: promo evaluate --ws DIR [--target T] [--json]\n",
        .about = "Print the evaluation of the trained propensity models (promo train): ROC AUC,\n"
                 "PR AUC, log loss, Brier, Precision/Recall/NDCG at 50/100/500, top-decile lift\n"
                 "and calibration error of the model and its baselines, on the test window\n"
                 "(later in time than training). Charts: DIR/out/propensity_<target>_*.png.\n"
                 "Then the recommenders' (promo train --model als|bpr|knn|...): Precision,\n"
                 "Recall, NDCG, MAP at K, hit rate and coverage beside popularity.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (target && !strcmp(target, "uplift")) /* the uplift model's, cmd_train_uplift.c */
        return cli_evaluate_uplift(ws, json, 0);
    promo_store *s = NULL;
    promo_propensity_report *r = NULL;
    size_t n = 0;
    promo_expansion_report xr;
    int has_x = 0, want_x = target && !strcmp(target, "expansion");
    promo_rec_evaluation *re = NULL; /* the recommenders' (task "recommend") */
    size_t nre = 0;
    int rc = promo_store_open_read(ws, &s);
    /* Evaluations made before the data was replaced describe models of data that is gone. */
    if (!rc && promo_store_has_table(s, "evaluations") &&
        promo_store_check_table(s, "evaluations") == PROMO_EINPUT)
        fprintf(stderr, "promo evaluate: warning: %s\n", promo_last_error());
    if (!rc && !want_x)
        rc = promo_report_propensity_read(s, &r, &n);
    if (!rc && !want_x)
        rc = promo_rec_evaluations_read(s, &re, &nre);
    if (!rc && (want_x || (n == 0 && nre == 0)))
        rc = promo_report_expansion_read(s, &xr, &has_x);
    promo_store_close(s);
    if (rc) {
        promo_free(r);
        promo_free(re);
        return cli_report(rc);
    }
    /* Recommenders: all of them without --target (after the propensity targets), or the one
     * --target names, or every one for --target recommend. */
    size_t mre = 0;
    for (size_t k = 0; k < nre; k++)
        if (!target || !strcmp(target, "recommend") || !strcmp(re[k].r.kind, target))
            re[mre++] = re[k];
    if (target && mre) {
        promo_free(r);
        cli_print_recommend_evals(stdout, re, mre, json);
        promo_free(re);
        return CLI_EXIT_OK;
    }
    if (target && !strcmp(target, "recommend")) {
        promo_free(r);
        promo_free(re);
        promo_fail(PROMO_ENOTFOUND,
                   "no recommender evaluation in %s: run `promo train --ws %s --model als` (or "
                   "bpr, knn, user-knn, hybrid) first",
                   ws, ws);
        return cli_report(PROMO_ENOTFOUND);
    }
    if (n == 0 && mre) {
        cli_print_recommend_evals(stdout, re, mre, json);
        promo_free(r);
        promo_free(re);
        return CLI_EXIT_OK;
    }
    /* The expansion evaluation: asked for, or the only one there is. */
    if (has_x && (want_x || (n == 0 && !target))) {
        promo_free(r);
        cli_print_expansion(stdout, &xr, json);
        return CLI_EXIT_OK;
    }
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (!target || !strcmp(r[k].target, target))
            r[m++] = r[k];
    if (m == 0 && !target && (ec = cli_evaluate_uplift(ws, json, 1)) >= 0) {
        promo_free(r); /* no propensity evaluation: the uplift one, if any */
        return ec;
    }
    if (m == 0) {
        promo_free(r);
        promo_free(re);
        promo_fail(PROMO_ENOTFOUND,
                   "no propensity evaluation%s%s in %s: run `promo train --ws %s "
                   "--model propensity --target %s` first%s",
                   target ? " for " : "", target ? target : "", ws, ws, target ? target : "any",
                   target && strncmp(target, "any", 3) != 0
                       ? " (the saved model of its kind is reused when it can serve it: only "
                         "the evaluation is new)"
                       : "");
        return cli_report(PROMO_ENOTFOUND);
    }
    if (mre && json) { /* one document: the propensity targets, then the recommenders */
        printf("{\"evaluations\":[");
        for (size_t k = 0; k < m; k++) {
            if (k)
                putchar(',');
            print_json_one(stdout, &r[k]);
        }
        for (size_t k = 0; k < mre; k++) {
            putchar(',');
            cli_print_recommend_eval_json(stdout, &re[k]);
        }
        printf("]}\n");
    } else {
        cli_print_propensity(stdout, r, m, json);
        if (mre) {
            putchar('\n');
            cli_print_recommend_evals(stdout, re, mre, 0);
        }
    }
    promo_free(r);
    promo_free(re);
    return CLI_EXIT_OK;
}
