/* Tests of promo_gbdt_predict's flattened trees against XGBoost's own in-place prediction:
 * bitwise the same probabilities, values and margins (binary, regression and multi-class;
 * boosting with early stopping, the random-forest mode, stumps, missing values in every
 * column, a trained and a reloaded model, 1 and 2 threads), and the early stopping that promo
 * computes itself (log loss, RMSE, multi-class log loss) against XGBoost's evaluation. */
#include "t.h"

#include <stdlib.h>
#include <xgboost/c_api.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/gbdt.h>
#include <promo/rng.h>

#define D 12

/* y ~ Bernoulli(sigmoid(2 x0 - 1.5 x1 + x2 x3 - 1)); about 10% NaN in every column. */
static void make_data(uint64_t seed, size_t n, float **x, float **y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 11);
    *x = promo_mallocn(n * D, sizeof **x);
    *y = promo_mallocn(n, sizeof **y);
    T_ASSERT(*x && *y);
    for (size_t i = 0; i < n; i++) {
        float *row = *x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        double z = 2.0 * row[0] - 1.5 * row[1] + row[2] * row[3] - 1.0;
        (*y)[i] = (float)promo_rng_bernoulli(&r, 1.0 / (1.0 + exp(-z)));
        for (int j = 0; j < D; j++)
            if (promo_rng_uniform(&r) < 0.1)
                row[j] = NAN;
    }
}

/* Regression and 3-class labels from the same rows: y = 2 x0 - 1.5 x1 + x2 x3 + noise, and the
 * class of the largest of (x0, x1, 0.5 - x2) after noise. NaN rows are kept as they are. */
static void relabel(uint64_t seed, const float *x, size_t n, promo_gbdt_objective obj, float *y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 12);
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * D;
        double a = isnan(row[0]) ? 0.0 : row[0], b = isnan(row[1]) ? 0.0 : row[1];
        double c = isnan(row[2]) ? 0.0 : row[2], e = isnan(row[3]) ? 0.0 : row[3];
        if (obj == PROMO_GBDT_REGRESSION) {
            y[i] = (float)(2.0 * a - 1.5 * b + c * e + 0.3 * promo_rng_normal(&r));
        } else {
            double s[3] = {a, b, 0.5 - c};
            int best = 0;
            for (int k = 0; k < 3; k++) {
                s[k] += 0.7 * promo_rng_normal(&r);
                best = s[k] > s[best] ? k : best;
            }
            y[i] = (float)best;
        }
    }
}

/* XGBoost's own prediction (type 0 transformed, 1 margins) of model m's saved JSON: n rows x
 * promo_gbdt_n_outputs(m) values. */
static void xgb_predict(promo_gbdt *m, const float *x, size_t n, int type, float *out)
{
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_gbdt_save_buffer(m, &buf, &len));
    BoosterHandle h = NULL;
    T_ASSERT(XGBoosterCreate(NULL, 0, &h) == 0);
    T_ASSERT(XGBoosterLoadModelFromBuffer(h, buf, len) == 0);
    char arr[160], cfg[200];
    snprintf(arr, sizeof arr,
             "{\"data\":[%llu,true],\"shape\":[%zu,%d],\"typestr\":\"<f4\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n, D);
    snprintf(cfg, sizeof cfg,
             "{\"type\":%d,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
             "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}",
             type);
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    T_ASSERT(XGBoosterPredictFromDense(h, arr, cfg, NULL, &shape, &dim, &res) == 0);
    size_t total = 1;
    for (bst_ulong k = 0; k < dim; k++)
        total *= (size_t)shape[k];
    T_ASSERT_EQ_INT(total, n * promo_gbdt_n_outputs(m));
    memcpy(out, res, total * sizeof *out);
    XGBoosterFree(h);
    promo_free(buf);
}

/* m, and m reloaded from its JSON, predict XGBoost's bits on x (n rows, not a multiple of the
 * block or lane sizes). */
static void assert_same_as_xgboost(promo_gbdt *m, const float *x, size_t n)
{
    size_t k = promo_gbdt_n_outputs(m);
    float *ours = promo_mallocn(n * k, sizeof *ours), *ref = promo_mallocn(n * k, sizeof *ref);
    T_ASSERT(ours && ref);
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_gbdt_save_buffer(m, &buf, &len));
    promo_gbdt *m2 = NULL;
    T_OK(promo_gbdt_load_buffer(buf, len, &m2));
    promo_free(buf);
    T_ASSERT_EQ_INT(promo_gbdt_get_objective(m2), promo_gbdt_get_objective(m));
    T_ASSERT_EQ_INT(promo_gbdt_n_outputs(m2), k);
    T_ASSERT_EQ_INT(promo_gbdt_get_mode(m2), promo_gbdt_get_mode(m));
    for (int type = 0; type <= 1; type++) {
        xgb_predict(m, x, n, type, ref);
        T_OK(promo_gbdt_predict(m, x, n, D, type, ours));
        size_t diff = 0;
        for (size_t i = 0; i < n * k; i++)
            diff += memcmp(&ours[i], &ref[i], sizeof *ours) != 0;
        T_ASSERT_MSG(diff == 0, "%zu of %zu %s differ from XGBoost's", diff, n * k,
                     type ? "margins" : "predictions");
        T_OK(promo_gbdt_set_nthread(m2, 2));
        T_OK(promo_gbdt_predict(m2, x, n, D, type, ours));
        T_ASSERT(memcmp(ours, ref, n * k * sizeof *ours) == 0);
    }
    promo_gbdt_free(m2);
    promo_free(ours);
    promo_free(ref);
}

T_TEST(gbdt_predict_bitwise_xgboost)
{
    float *x, *y, *xv, *yv;
    make_data(21, 3000, &x, &y);
    make_data(22, 1037, &xv, &yv);
    promo_gbdt_data tr = {x, 3000, D, y, NULL}, va = {xv, 1037, D, yv, NULL};
    promo_gbdt *m = NULL;

    /* Boosting with early stopping (depths vary: some leaves sit above the last level). */
    promo_gbdt_params p = promo_gbdt_params_default();
    p.n_rounds = 60;
    p.early_stopping_rounds = 5;
    p.max_depth = 5;
    p.eta = 0.3;
    p.nthread = 1;
    T_OK(promo_gbdt_train(&p, &tr, &va, &m));
    assert_same_as_xgboost(m, xv, 1037);
    promo_gbdt_free(m);

    /* Stumps, and gamma large enough that later trees are single leaves. */
    p.max_depth = 1;
    p.early_stopping_rounds = 0;
    p.n_rounds = 15;
    p.gamma = 50.0;
    T_OK(promo_gbdt_train(&p, &tr, NULL, &m));
    assert_same_as_xgboost(m, xv, 1037);
    promo_gbdt_free(m);

    /* The random-forest mode: parallel trees in one round. */
    promo_gbdt_params f = promo_gbdt_params_forest();
    f.n_forest_trees = 12;
    f.max_depth = 7;
    f.nthread = 1;
    T_OK(promo_gbdt_train(&f, &tr, NULL, &m));
    assert_same_as_xgboost(m, xv, 1037);
    promo_gbdt_free(m);

    /* Deeper than promo flattens: XGBoost predicts, same call. */
    p = promo_gbdt_params_default();
    p.max_depth = 14;
    p.min_child_weight = 0.0;
    p.n_rounds = 3;
    p.early_stopping_rounds = 0;
    p.nthread = 1;
    T_OK(promo_gbdt_train(&p, &tr, NULL, &m));
    assert_same_as_xgboost(m, xv, 1037);
    promo_gbdt_free(m);
    promo_free(x);
    promo_free(y);
    promo_free(xv);
    promo_free(yv);
}

/* XGBoost's own evaluation, with its metric, of the trees that p trains on tr (p without early
 * stopping): every prefix of 1..p->n_rounds rounds scored on va (labels and weights) on one
 * thread; the round with the lowest value (the first on ties) and that value. */
static void xgb_best_round(const promo_gbdt_params *p,
                           const promo_gbdt_data *tr,
                           const promo_gbdt_data *va,
                           const char *metric,
                           int *round,
                           double *best)
{
    promo_gbdt *all = NULL;
    T_OK(promo_gbdt_train(p, tr, NULL, &all));
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_gbdt_save_buffer(all, &buf, &len));
    BoosterHandle h = NULL;
    DMatrixHandle dv = NULL;
    T_ASSERT(XGBoosterCreate(NULL, 0, &h) == 0);
    T_ASSERT(XGBoosterLoadModelFromBuffer(h, buf, len) == 0);
    T_ASSERT(XGDMatrixCreateFromMat(va->x, va->n_rows, D, NAN, &dv) == 0);
    T_ASSERT(XGDMatrixSetFloatInfo(dv, "label", va->y, va->n_rows) == 0);
    T_ASSERT(XGDMatrixSetFloatInfo(dv, "weight", va->w, va->n_rows) == 0);
    *best = NAN;
    *round = -1;
    for (int r = 1; r <= p->n_rounds; r++) {
        BoosterHandle s = NULL;
        T_ASSERT(XGBoosterSlice(h, 0, r, 1, &s) == 0);
        T_ASSERT(XGBoosterSetParam(s, "eval_metric", metric) == 0);
        T_ASSERT(XGBoosterSetParam(s, "nthread", "1") == 0);
        const char *names[] = {"valid"}, *res = NULL;
        T_ASSERT(XGBoosterEvalOneIter(s, 0, &dv, names, 1, &res) == 0);
        T_ASSERT_CONTAINS(res, metric);
        double v = strtod(strrchr(res, ':') + 1, NULL);
        if (*round < 0 || v < *best) {
            *best = v;
            *round = r;
        }
        XGBoosterFree(s);
    }
    XGDMatrixFree(dv);
    XGBoosterFree(h);
    promo_free(buf);
    promo_gbdt_free(all);
}

/* promo's own validation log loss (weighted here) keeps the round, and reports the score,
 * that XGBoost's own evaluation of the same trees gives. */
T_TEST(gbdt_own_validation_matches_xgboost_eval)
{
    float *x, *y, *xv, *yv;
    make_data(23, 3000, &x, &y);
    make_data(24, 1500, &xv, &yv);
    float *w = promo_mallocn(1500, sizeof *w);
    T_ASSERT(w);
    for (size_t i = 0; i < 1500; i++)
        w[i] = 0.5f + (float)(i % 3);
    promo_gbdt_data tr = {x, 3000, D, y, NULL}, va = {xv, 1500, D, yv, w};
    promo_gbdt_params p = promo_gbdt_params_default();
    p.n_rounds = 80;
    p.early_stopping_rounds = 8;
    p.max_depth = 4;
    p.eta = 0.3;
    p.nthread = 1;
    promo_gbdt *m = NULL;
    T_OK(promo_gbdt_train(&p, &tr, &va, &m));
    int kept = promo_gbdt_n_rounds(m);
    double best = promo_gbdt_best_score(m);
    T_ASSERT(kept >= 1 && kept < 80);

    /* XGBoost's own evaluation of each round of the same trees (no early stopping). */
    p.n_rounds = kept + p.early_stopping_rounds;
    p.early_stopping_rounds = 0;
    int xround;
    double xbest;
    xgb_best_round(&p, &tr, &va, "logloss", &xround, &xbest);
    T_ASSERT_EQ_INT(xround, kept);
    T_ASSERT_NEAR(xbest, best, 1e-12 * xbest);
    promo_gbdt_free(m);
    promo_free(w);
    promo_free(x);
    promo_free(y);
    promo_free(xv);
    promo_free(yv);
}

/* Regression and multi-class: the same bitwise agreement, boosted (with early stopping on the
 * objective's own metric) and as a forest, trained and reloaded, at 1 and 2 threads. */
T_TEST(gbdt_predict_bitwise_xgboost_regression_multiclass)
{
    float *x, *y0, *xv, *yv0;
    make_data(31, 2000, &x, &y0);
    make_data(32, 777, &xv, &yv0);
    float *y = promo_mallocn(2000, sizeof *y), *yv = promo_mallocn(777, sizeof *yv);
    T_ASSERT(y && yv);
    for (int o = PROMO_GBDT_REGRESSION; o <= PROMO_GBDT_MULTICLASS; o++) {
        relabel(33, x, 2000, (promo_gbdt_objective)o, y);
        relabel(34, xv, 777, (promo_gbdt_objective)o, yv);
        promo_gbdt_data tr = {x, 2000, D, y, NULL}, va = {xv, 777, D, yv, NULL};
        promo_gbdt *m = NULL;
        promo_gbdt_params p = promo_gbdt_params_default();
        p.objective = (promo_gbdt_objective)o;
        p.n_classes = o == PROMO_GBDT_MULTICLASS ? 3 : 0;
        p.n_rounds = 40;
        p.early_stopping_rounds = 4;
        p.max_depth = 4;
        p.eta = 0.3;
        p.nthread = 1;
        T_OK(promo_gbdt_train(&p, &tr, &va, &m));
        T_ASSERT_EQ_INT(promo_gbdt_n_outputs(m), o == PROMO_GBDT_MULTICLASS ? 3 : 1);
        T_ASSERT(promo_gbdt_n_rounds(m) >= 1 && promo_gbdt_n_rounds(m) <= 40);
        assert_same_as_xgboost(m, xv, 777);
        promo_gbdt_free(m);

        promo_gbdt_params f = promo_gbdt_params_forest();
        f.objective = p.objective;
        f.n_classes = p.n_classes;
        f.n_forest_trees = 6;
        f.max_depth = 6;
        f.nthread = 1;
        T_OK(promo_gbdt_train(&f, &tr, NULL, &m));
        T_ASSERT_EQ_INT(promo_gbdt_get_mode(m), PROMO_GBDT_FOREST);
        assert_same_as_xgboost(m, xv, 777);
        promo_gbdt_free(m);

        /* Deeper than promo flattens: XGBoost's own predictor behind the same call. */
        p.max_depth = 14;
        p.min_child_weight = 0.0;
        p.n_rounds = 2;
        p.early_stopping_rounds = 0;
        T_OK(promo_gbdt_train(&p, &tr, NULL, &m));
        assert_same_as_xgboost(m, xv, 777);
        promo_gbdt_free(m);
    }
    promo_free(x);
    promo_free(y0);
    promo_free(xv);
    promo_free(yv0);
    promo_free(y);
    promo_free(yv);
}

/* The round kept and the score reported by promo's own RMSE and multi-class log loss
 * (weighted) are XGBoost's own evaluation of the same trees. */
T_TEST(gbdt_own_validation_matches_xgboost_eval_rmse_mlogloss)
{
    float *x, *y0, *xv, *yv0;
    make_data(41, 2500, &x, &y0);
    make_data(42, 1200, &xv, &yv0);
    float *y = promo_mallocn(2500, sizeof *y), *yv = promo_mallocn(1200, sizeof *yv);
    float *w = promo_mallocn(1200, sizeof *w);
    T_ASSERT(y && yv && w);
    for (size_t i = 0; i < 1200; i++)
        w[i] = 0.5f + (float)(i % 3);
    for (int o = PROMO_GBDT_REGRESSION; o <= PROMO_GBDT_MULTICLASS; o++) {
        relabel(43, x, 2500, (promo_gbdt_objective)o, y);
        relabel(44, xv, 1200, (promo_gbdt_objective)o, yv);
        promo_gbdt_data tr = {x, 2500, D, y, NULL}, va = {xv, 1200, D, yv, w};
        promo_gbdt_params p = promo_gbdt_params_default();
        p.objective = (promo_gbdt_objective)o;
        p.n_classes = o == PROMO_GBDT_MULTICLASS ? 3 : 0;
        p.n_rounds = 80;
        p.early_stopping_rounds = 6;
        p.max_depth = 4;
        p.eta = 0.4;
        p.nthread = 1;
        promo_gbdt *m = NULL;
        T_OK(promo_gbdt_train(&p, &tr, &va, &m));
        int kept = promo_gbdt_n_rounds(m);
        double best = promo_gbdt_best_score(m);
        T_ASSERT_MSG(kept >= 1 && kept < 80, "kept %d", kept);

        p.n_rounds = kept + p.early_stopping_rounds;
        p.early_stopping_rounds = 0;
        int xround;
        double xbest;
        xgb_best_round(&p, &tr, &va, o == PROMO_GBDT_REGRESSION ? "rmse" : "mlogloss", &xround,
                       &xbest);
        T_ASSERT_EQ_INT(xround, kept);
        T_ASSERT_NEAR(xbest, best, 1e-12 * xbest);
        promo_gbdt_free(m);
    }
    promo_free(w);
    promo_free(x);
    promo_free(y0);
    promo_free(xv);
    promo_free(yv0);
    promo_free(y);
    promo_free(yv);
}
