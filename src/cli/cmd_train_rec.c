/* promo train --model knn|mf|hybrid: the recommenders of issue 13 other than ALS and BPR.
 * Parsing stays in cmd_train.c (the options every model shares); this file runs the model's
 * library call and prints its report. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/features.h>
#include <promo/mf_category.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void print_num(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fprintf(f, "null");
}

static void print_mf(FILE *f, const promo_mf_report *r, int json)
{
    char a[24], b[24];
    promo_time_format(r->as_of, 1, a, sizeof a);
    promo_time_format(r->as_of + (int64_t)(r->horizon_days * 86400), 1, b, sizeof b);
    if (json) {
        fprintf(f,
                "{\"model\":\"mf\",\"as_of\":\"%s\",\"customers\":%zu,\"categories\":%u,"
                "\"observed\":%llu,\"k\":%u,\"epochs\":%zu,\"loss_first\":%.6g,"
                "\"loss_last\":%.6g,\"rmse_observed\":%.6g,\"test_customers\":%zu,\"hit2_mf\":",
                a, r->n_customers, r->n_categories, (unsigned long long)r->n_observed, r->k,
                r->n_epochs, r->loss_first, r->loss_last, r->rmse_observed, r->n_test);
        print_num(f, r->hit_mf, "%.6g");
        fprintf(f, ",\"hit2_popularity\":");
        print_num(f, r->hit_pop, "%.6g");
        fprintf(f, ",\"tiers\":[");
        for (int t = 0; t < PROMO_TIER_COUNT; t++) {
            const promo_mf_tier_report *tr = &r->tiers[t];
            fprintf(f, "%s{\"tier\":\"%s\",\"customers\":%zu,\"pred_spend\":%.2f,\"picks\":[",
                    t ? "," : "", promo_spend_tier_name(tr->tier), tr->n_customers, tr->pred_spend);
            for (size_t j = 0; j < tr->n_picks; j++) {
                fprintf(f, "%s{\"category\":", j ? "," : "");
                cli_json_str(f, r->category_names[tr->picks[j].category]);
                fprintf(f, ",\"customers\":%zu,\"mean_pred_spend\":%.2f}", tr->picks[j].n_customers,
                        tr->picks[j].mean_pred_spend);
            }
            fprintf(f, "],\"test_customers\":%zu,\"hit2_mf\":", tr->n_test);
            print_num(f, tr->hit_mf, "%.6g");
            fprintf(f, ",\"hit2_popularity\":");
            print_num(f, tr->hit_pop, "%.6g");
            fprintf(f, "}");
        }
        fprintf(f, "],\"model_path\":");
        if (r->model_path)
            cli_json_str(f, r->model_path);
        else
            fprintf(f, "null");
        fprintf(f, "}\n");
        return;
    }
    fprintf(f,
            "mf: customer x category spend before %s, %zu customers x %u categories, %llu "
            "observed cells\n",
            a, r->n_customers, r->n_categories, (unsigned long long)r->n_observed);
    fprintf(f,
            "  k %u, %zu gradient steps, loss %.4g -> %.4g, RMSE on the observed cells %.4f "
            "(normalised; training fit)\n",
            r->k, r->n_epochs, r->loss_first, r->loss_last, r->rmse_observed);
    fprintf(f, "  held out %s .. %s: %zu customers bought a category new to them; top-2 hit rate",
            a, b, r->n_test);
    fprintf(f, " mf ");
    print_num(f, r->hit_mf, "%.3f");
    fprintf(f, ", popularity ");
    print_num(f, r->hit_pop, "%.3f");
    fprintf(f, "\n");
    fprintf(f, "  tier  customers  top-2 predicted  hit mf  hit pop  most recommended new "
               "categories (customers, mean predicted spend)\n");
    for (int t = 0; t < PROMO_TIER_COUNT; t++) {
        const promo_mf_tier_report *tr = &r->tiers[t];
        fprintf(f, "  %-4s %10zu %16.2f  ", promo_spend_tier_name(tr->tier), tr->n_customers,
                tr->pred_spend);
        print_num(f, tr->hit_mf, "%6.3f");
        fprintf(f, "   ");
        print_num(f, tr->hit_pop, "%6.3f");
        fprintf(f, "  ");
        for (size_t j = 0; j < tr->n_picks; j++)
            fprintf(f, "%s%s (%zu, %.2f)", j ? ", " : "", r->category_names[tr->picks[j].category],
                    tr->picks[j].n_customers, tr->picks[j].mean_pred_spend);
        fprintf(f, "\n");
    }
    if (r->model_path)
        fprintf(f, "  model: %s\n", r->model_path);
}

static int train_mf(const char *ws, const cli_train_rec_opts *o)
{
    promo_mf_train_params p = promo_mf_train_params_default();
    p.as_of = o->as_of;
    p.horizon_days = o->horizon_days;
    p.n_threads = o->n_threads;
    p.mf.seed = o->seed;
    promo_store *s = NULL;
    promo_mf_report r;
    memset(&r, 0, sizeof r);
    int rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = promo_mf_category_train(s, &p, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    print_mf(stdout, &r, o->json);
    promo_mf_report_free(&r);
    return CLI_EXIT_OK;
}

int cli_train_rec(const char *ws, const char *model, const cli_train_rec_opts *o)
{
    if (!strcmp(model, "mf"))
        return train_mf(ws, o);
    return cli_usage_error("train", "--model %s: not a recommender of this build", model);
}
