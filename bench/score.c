/* bench/score: scoring 1,000,000 customers x 30 features with a trained booster.
 *
 * Prints JSON lines: our call (promo_gbdt_predict: XGBoost's in-place dense prediction plus
 * our checks and copy) beside XGBoost's own entry points timed directly in the same run
 * (XGBoosterPredictFromDense, and the classic DMatrix path XGDMatrixCreateFromMat +
 * XGBoosterPredictFromDMatrix), so our overhead is visible.
 * usage: score [n_rows] [n_trees] [nthread]   (defaults 1000000 200 2)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/gbdt.h>
#include <promo/log.h>
#include <promo/rng.h>

#define D 30

static void make(size_t n, uint64_t seed, float *x, float *y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        double z = row[0] - 0.8 * row[1] + 0.5 * row[2] * row[3] + 0.3 * row[4] * row[4] - 2.0;
        if (y)
            y[i] = (float)promo_rng_bernoulli(&r, 1.0 / (1.0 + exp(-z)));
    }
}

static int die(const char *what)
{
    fprintf(stderr, "score: %s: %s\n", what, promo_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    int trees = argc > 2 ? atoi(argv[2]) : 200;
    int nthread = argc > 3 ? atoi(argv[3]) : 2;
    size_t n_train = 100000;
    float *xt = promo_mallocn(n_train * D, sizeof *xt), *yt = promo_mallocn(n_train, sizeof *yt);
    float *x = promo_mallocn(n * D, sizeof *x), *p1 = promo_mallocn(n, sizeof *p1);
    if (!xt || !yt || !x || !p1)
        return die("alloc");
    make(n_train, 1, xt, yt);
    make(n, 2, x, NULL);
    promo_gbdt_params p = promo_gbdt_params_default();
    p.n_rounds = trees;
    p.early_stopping_rounds = 0;
    p.nthread = nthread;
    promo_gbdt_data tr = {xt, n_train, D, yt, NULL};
    promo_gbdt *m = NULL;
    double t0 = promo_now_s();
    if (promo_gbdt_train(&p, &tr, NULL, &m))
        return die("train");
    double t_train = promo_now_s() - t0;
    printf("{\"bench\":\"score\",\"what\":\"train\",\"rows\":%zu,\"features\":%d,\"trees\":%d,"
           "\"nthread\":%d,\"seconds\":%.3f}\n",
           n_train, D, trees, nthread, t_train);

    /* Best of 3 for each path, same input. */
    double best_ours = 1e30, best_dense = 1e30, best_dm = 1e30, best_dm_create = 1e30;
    char arr[160], cfg[200];
    snprintf(arr, sizeof arr,
             "{\"data\":[%llu,true],\"shape\":[%zu,%d],\"typestr\":\"<f4\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n, D);
    snprintf(cfg, sizeof cfg,
             "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
             "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}");
    /* The raw XGBoost handle is private to promo_gbdt; load the same model into one here. */
    char *buf = NULL;
    size_t blen = 0;
    if (promo_gbdt_save_buffer(m, &buf, &blen))
        return die("save");
    BoosterHandle h;
    char nt[16];
    snprintf(nt, sizeof nt, "%d", nthread);
    if (XGBoosterCreate(NULL, 0, &h) || XGBoosterLoadModelFromBuffer(h, buf, blen) ||
        XGBoosterSetParam(h, "nthread", nt))
        return fprintf(stderr, "%s\n", XGBGetLastError()), 1;
    double checksum_ours = 0.0, checksum_xgb = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        t0 = promo_now_s();
        if (promo_gbdt_predict(m, x, n, D, 0, p1))
            return die("predict");
        best_ours = fmin(best_ours, promo_now_s() - t0);

        const bst_ulong *shape;
        bst_ulong dim;
        const float *res;
        t0 = promo_now_s();
        if (XGBoosterPredictFromDense(h, arr, cfg, NULL, &shape, &dim, &res))
            return fprintf(stderr, "%s\n", XGBGetLastError()), 1;
        best_dense = fmin(best_dense, promo_now_s() - t0);
        if (rep == 0)
            for (size_t i = 0; i < n; i++) {
                checksum_ours += p1[i];
                checksum_xgb += res[i];
            }

        t0 = promo_now_s();
        DMatrixHandle dm;
        if (XGDMatrixCreateFromMat_omp(x, n, D, NAN, &dm, nthread))
            return fprintf(stderr, "%s\n", XGBGetLastError()), 1;
        double t_create = promo_now_s() - t0;
        if (XGBoosterPredictFromDMatrix(h, dm,
                                        "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                                        "\"iteration_end\":0,\"strict_shape\":false}",
                                        &shape, &dim, &res))
            return fprintf(stderr, "%s\n", XGBGetLastError()), 1;
        best_dm = fmin(best_dm, promo_now_s() - t0);
        best_dm_create = fmin(best_dm_create, t_create);
        XGDMatrixFree(dm);
    }
    printf("{\"bench\":\"score\",\"what\":\"promo_gbdt_predict\",\"rows\":%zu,\"trees\":%d,"
           "\"nthread\":%d,\"seconds\":%.4f,\"rows_per_s\":%.0f}\n",
           n, trees, nthread, best_ours, (double)n / best_ours);
    printf("{\"bench\":\"score\",\"what\":\"xgboost_predict_from_dense\",\"rows\":%zu,"
           "\"trees\":%d,\"nthread\":%d,\"seconds\":%.4f,\"rows_per_s\":%.0f}\n",
           n, trees, nthread, best_dense, (double)n / best_dense);
    printf("{\"bench\":\"score\",\"what\":\"xgboost_dmatrix_create_and_predict\",\"rows\":%zu,"
           "\"trees\":%d,\"nthread\":%d,\"seconds\":%.4f,\"dmatrix_seconds\":%.4f}\n",
           n, trees, nthread, best_dm, best_dm_create);
    printf("{\"bench\":\"score\",\"what\":\"overhead\",\"ours_minus_xgboost_s\":%.4f,"
           "\"same_predictions\":%s}\n",
           best_ours - best_dense, checksum_ours == checksum_xgb ? "true" : "false");
    XGBoosterFree(h);
    promo_free(buf);
    promo_gbdt_free(m);
    promo_free(xt);
    promo_free(yt);
    promo_free(x);
    promo_free(p1);
    return 0;
}
