/* bench/expansion_bench.c: expansion prediction on a workspace, one JSON line per run.
 * Usage: expansion_bench WS LABEL [key=value ...] with keys windows, horizon, cap, alpha,
 * rounds, depth, eta, mcw,
 * colsample, lambda, threads. Trains without saving (the workspace is not changed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/error.h>
#include <promo/log.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/timeutil.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: expansion_bench WS LABEL [key=value ...]\n");
        return 2;
    }
    promo_log_set_level(PROMO_LOG_ERROR);
    promo_expansion_params p = promo_expansion_params_default();
    p.save = 0;
    for (int i = 3; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "bad argument %s\n", argv[i]);
            return 2;
        }
        double v = atof(eq + 1);
        size_t n = (size_t)(eq - argv[i]);
#define KEY(k) (n == strlen(k) && !strncmp(argv[i], k, n))
        if (KEY("windows"))
            p.n_train_windows = (int)v;
        else if (KEY("horizon"))
            p.horizon_days = v;
        else if (KEY("cap"))
            p.max_class_weight = v;
        else if (KEY("alpha"))
            p.markov_alpha = v;
        else if (KEY("rounds"))
            p.gbdt.n_rounds = (int)v;
        else if (KEY("depth"))
            p.gbdt.max_depth = (int)v;
        else if (KEY("eta"))
            p.gbdt.eta = v;
        else if (KEY("mcw"))
            p.gbdt.min_child_weight = v;
        else if (KEY("colsample"))
            p.gbdt.colsample_bytree = v;
        else if (KEY("lambda"))
            p.gbdt.lambda = v;
        else if (KEY("threads"))
            p.n_threads = (int)v;
        else {
            fprintf(stderr, "unknown key %s\n", argv[i]);
            return 2;
        }
    }
    promo_store *s = NULL;
    promo_expansion_report r;
    double t0 = promo_now_s();
    int rc = promo_store_open(argv[1], 0, &s);
    if (!rc)
        rc = promo_report_expansion_train(s, &p, &r);
    promo_store_close(s);
    if (rc) {
        fprintf(stderr, "expansion_bench: %s\n", promo_last_error());
        return 1;
    }
    char a[24];
    promo_time_format(r.as_of, 1, a, sizeof a);
    printf("{\"bench\": \"expansion\", \"data\": \"%s\", \"as_of\": \"%s\", \"horizon_days\": %g, "
           "\"train_windows\": %d, \"class_weight_cap\": %g, \"train_rows\": %zu, "
           "\"valid_rows\": %zu, \"test_rows\": %zu, \"categories\": %u, \"rounds\": %d",
           argv[2], a, r.horizon_days, r.n_train_windows, p.max_class_weight, r.n_train_rows,
           r.n_valid_rows, r.n_test_rows, r.n_classes, r.n_rounds);
    for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++)
        printf(", \"%s_top1\": %.4f, \"%s_top3\": %.4f", promo_exp_model_name(m),
               r.top_accuracy[m][0], promo_exp_model_name(m), r.top_accuracy[m][2]);
    printf(", \"seconds\": %.2f}\n", promo_now_s() - t0);
    fflush(stdout);
    return 0;
}
