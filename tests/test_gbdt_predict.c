/* Tests of promo_gbdt_predict's flattened trees against XGBoost's own in-place prediction:
 * bitwise the same probabilities and margins (boosting with early stopping, the random-forest
 * mode, stumps, missing values in every column, a trained and a reloaded model), and the
 * early stopping that promo computes itself against XGBoost's evaluation. */
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

/* XGBoost's own prediction (type 0 probabilities, 1 margins) of model m's saved JSON. */
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
    memcpy(out, res, n * sizeof *out);
    XGBoosterFree(h);
    promo_free(buf);
}

/* m, and m reloaded from its JSON, predict XGBoost's bits on x (n rows, not a multiple of the
 * block or lane sizes). */
static void assert_same_as_xgboost(promo_gbdt *m, const float *x, size_t n)
{
    float *ours = promo_mallocn(n, sizeof *ours), *ref = promo_mallocn(n, sizeof *ref);
    T_ASSERT(ours && ref);
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_gbdt_save_buffer(m, &buf, &len));
    promo_gbdt *m2 = NULL;
    T_OK(promo_gbdt_load_buffer(buf, len, &m2));
    promo_free(buf);
    for (int type = 0; type <= 1; type++) {
        xgb_predict(m, x, n, type, ref);
        T_OK(promo_gbdt_predict(m, x, n, D, type, ours));
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += memcmp(&ours[i], &ref[i], sizeof *ours) != 0;
        T_ASSERT_MSG(diff == 0, "%zu of %zu %s differ from XGBoost's", diff, n,
                     type ? "margins" : "probabilities");
        T_OK(promo_gbdt_set_nthread(m2, 2));
        T_OK(promo_gbdt_predict(m2, x, n, D, type, ours));
        T_ASSERT(memcmp(ours, ref, n * sizeof *ours) == 0);
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
    promo_gbdt *all = NULL;
    T_OK(promo_gbdt_train(&p, &tr, NULL, &all));
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_gbdt_save_buffer(all, &buf, &len));
    BoosterHandle h = NULL;
    DMatrixHandle dv = NULL;
    T_ASSERT(XGBoosterCreate(NULL, 0, &h) == 0);
    T_ASSERT(XGBoosterLoadModelFromBuffer(h, buf, len) == 0);
    T_ASSERT(XGDMatrixCreateFromMat(xv, 1500, D, NAN, &dv) == 0);
    T_ASSERT(XGDMatrixSetFloatInfo(dv, "label", yv, 1500) == 0);
    T_ASSERT(XGDMatrixSetFloatInfo(dv, "weight", w, 1500) == 0);
    T_ASSERT(XGBoosterSetParam(h, "eval_metric", "logloss") == 0);
    double xbest = NAN;
    int xround = -1;
    for (int r = 1; r <= p.n_rounds; r++) {
        BoosterHandle s = NULL;
        T_ASSERT(XGBoosterSlice(h, 0, r, 1, &s) == 0);
        T_ASSERT(XGBoosterSetParam(s, "eval_metric", "logloss") == 0);
        const char *names[] = {"valid"}, *res = NULL;
        T_ASSERT(XGBoosterEvalOneIter(s, 0, &dv, names, 1, &res) == 0);
        double v = strtod(strrchr(res, ':') + 1, NULL);
        if (xround < 0 || v < xbest) {
            xbest = v;
            xround = r;
        }
        XGBoosterFree(s);
    }
    T_ASSERT_EQ_INT(xround, kept);
    T_ASSERT_NEAR(xbest, best, 1e-12 * xbest);
    XGDMatrixFree(dv);
    XGBoosterFree(h);
    promo_free(buf);
    promo_gbdt_free(all);
    promo_gbdt_free(m);
    promo_free(w);
    promo_free(x);
    promo_free(y);
    promo_free(xv);
    promo_free(yv);
}
