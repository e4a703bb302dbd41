/* bench/score: scoring 1,000,000 customers x 30 features with a trained booster.
 *
 * Two boosters, each trained here on synthetic rows with signal:
 *   "default": promo_propensity_params_default()'s boosting parameters (the model `promo train`
 *              produces), with early stopping on a validation set, so the tree count is what
 *              training gives, not chosen by the bench;
 *   "200x6":   200 rounds of depth 6 (eta 0.1), the earlier figure, for comparison.
 * For each: our call (promo_gbdt_predict) beside XGBoost's own entry points, timed directly in
 * the same run on the same model (XGBoosterPredictFromDense, and XGDMatrixCreateFromMat +
 * XGBoosterPredictFromDMatrix), best of 3, wall and process CPU seconds, and whether our
 * predictions are bitwise XGBoost's. Then the score path after features for 1M customers:
 * rows gathered from a row-major customer feature table through a column map in blocks of
 * 65,536 (as propensity.c's predict_rows does with prop_rows_matrix), prediction, Platt
 * calibration. The gather is a stand-in for prop_rows_matrix (which needs a workspace).
 * JSON lines on stdout.
 * Last, if given, the model `promo train` saved for the default world ("default_world"), timed
 * the same way on rows of its width.
 * usage: score [n_rows] [nthread] [model.json]   (defaults 1000000 2)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xgboost/c_api.h>

#include <promo/alloc.h>
#include <promo/calibrate.h>
#include <promo/error.h>
#include <promo/gbdt.h>
#include <promo/log.h>
#include <promo/propensity.h>
#include <promo/rng.h>

#define D 30

/* Rows with signal in a few features, interactions, noise features and ~2% missing values
 * in two columns; base rate ~0.2. */
static void make(size_t n, uint64_t seed, float *x, float *y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        double z = row[0] - 0.8 * row[1] + 0.5 * row[2] * row[3] + 0.3 * row[4] * row[4] +
                   0.4 * (row[5] > 0.5) - 0.3 * fabs((double)row[6]) - 1.6;
        if (y)
            y[i] = (float)promo_rng_bernoulli(&r, 1.0 / (1.0 + exp(-z)));
        if (promo_rng_uniform(&r) < 0.02)
            row[7] = NAN;
        if (promo_rng_uniform(&r) < 0.02)
            row[0] = NAN;
    }
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "score: %s: %s\n", what, promo_last_error());
    return 1;
}

static int xgb_die(const char *what)
{
    fprintf(stderr, "score: %s: %s\n", what, XGBGetLastError());
    return 1;
}

/* Best of 3 (by wall time) of one path, with the CPU seconds of that repetition. */
typedef struct timing {
    double wall, cpu;
} timing;

static void keep_best(timing *t, double wall, double cpu)
{
    if (wall < t->wall) {
        t->wall = wall;
        t->cpu = cpu;
    }
}

/* Depth of the deepest tree: in XGBoost's text dump a node's line is indented by its depth. */
static int max_depth_of(BoosterHandle h)
{
    bst_ulong n = 0;
    const char **dump = NULL;
    if (XGBoosterDumpModelEx(h, "", 0, "text", &n, &dump))
        return -1;
    int depth = 0;
    for (bst_ulong t = 0; t < n; t++)
        for (const char *line = dump[t]; *line;) {
            size_t len = strcspn(line, "\n");
            int tabs = (int)strspn(line, "\t");
            if (memmem(line, len, "leaf=", 5) && tabs > depth)
                depth = tabs;
            line += len + (line[len] == '\n');
        }
    return depth;
}

static int bench_model(const char *name,
                       promo_gbdt *m,
                       double t_train,
                       double cpu_train,
                       size_t n_train,
                       const float *x,
                       size_t n,
                       int d,
                       int nthread,
                       float *ours)
{
    /* The same model in a raw XGBoost handle, for XGBoost's own entry points. */
    char *buf = NULL;
    size_t blen = 0;
    if (promo_gbdt_save_buffer(m, &buf, &blen))
        return die("save");
    BoosterHandle h;
    char nt[16];
    snprintf(nt, sizeof nt, "%d", nthread);
    if (XGBoosterCreate(NULL, 0, &h) || XGBoosterLoadModelFromBuffer(h, buf, blen) ||
        XGBoosterSetParam(h, "nthread", nt))
        return xgb_die("load");
    promo_free(buf);
    int depth = max_depth_of(h);
    if (n_train)
        printf("{\"bench\":\"score\",\"model\":\"%s\",\"what\":\"train\",\"rows\":%zu,"
               "\"features\":%d,\"trees\":%d,\"max_depth\":%d,\"nthread\":1,\"seconds\":%.3f,"
               "\"cpu_seconds\":%.3f}\n",
               name, n_train, d, promo_gbdt_n_rounds(m), depth, t_train, cpu_train);
    else /* a saved model: its size only */
        printf("{\"bench\":\"score\",\"model\":\"%s\",\"what\":\"loaded\",\"features\":%d,"
               "\"trees\":%d,\"max_depth\":%d}\n",
               name, d, promo_gbdt_n_rounds(m), depth);

    char arr[160], cfg[200];
    snprintf(arr, sizeof arr,
             "{\"data\":[%llu,true],\"shape\":[%zu,%d],\"typestr\":\"<f4\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n, d);
    snprintf(cfg, sizeof cfg,
             "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
             "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}");
    timing ours_t = {1e30, 0}, dense_t = {1e30, 0}, dm_t = {1e30, 0}, dm_create = {1e30, 0};
    int same = 1;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = promo_now_s(), c0 = cpu_s();
        if (promo_gbdt_predict(m, x, n, (size_t)d, 0, ours))
            return die("predict");
        keep_best(&ours_t, promo_now_s() - t0, cpu_s() - c0);

        const bst_ulong *shape;
        bst_ulong dim;
        const float *res;
        t0 = promo_now_s();
        c0 = cpu_s();
        if (XGBoosterPredictFromDense(h, arr, cfg, NULL, &shape, &dim, &res))
            return xgb_die("predict from dense");
        keep_best(&dense_t, promo_now_s() - t0, cpu_s() - c0);
        if (rep == 0)
            same = memcmp(ours, res, n * sizeof *ours) == 0;

        t0 = promo_now_s();
        c0 = cpu_s();
        DMatrixHandle dm;
        if (XGDMatrixCreateFromMat_omp(x, n, (bst_ulong)d, NAN, &dm, nthread))
            return xgb_die("DMatrix");
        keep_best(&dm_create, promo_now_s() - t0, cpu_s() - c0);
        if (XGBoosterPredictFromDMatrix(h, dm,
                                        "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                                        "\"iteration_end\":0,\"strict_shape\":false}",
                                        &shape, &dim, &res))
            return xgb_die("predict from DMatrix");
        keep_best(&dm_t, promo_now_s() - t0, cpu_s() - c0);
        XGDMatrixFree(dm);
    }
    const char *what[3] = {"promo_gbdt_predict", "xgboost_predict_from_dense",
                           "xgboost_dmatrix_create_and_predict"};
    const timing *tm[3] = {&ours_t, &dense_t, &dm_t};
    for (int k = 0; k < 3; k++)
        printf("{\"bench\":\"score\",\"model\":\"%s\",\"what\":\"%s\",\"rows\":%zu,\"trees\":%d,"
               "\"nthread\":%d,\"seconds\":%.4f,\"cpu_seconds\":%.4f,\"rows_per_s\":%.0f}\n",
               name, what[k], n, promo_gbdt_n_rounds(m), nthread, tm[k]->wall, tm[k]->cpu,
               (double)n / tm[k]->wall);
    printf("{\"bench\":\"score\",\"model\":\"%s\",\"what\":\"dmatrix_create\",\"seconds\":%.4f,"
           "\"cpu_seconds\":%.4f}\n",
           name, dm_create.wall, dm_create.cpu);
    printf("{\"bench\":\"score\",\"model\":\"%s\",\"what\":\"ours_vs_xgboost\","
           "\"ours_minus_xgboost_dense_s\":%.4f,\"speedup_vs_dense\":%.2f,"
           "\"same_predictions\":%s}\n",
           name, ours_t.wall - dense_t.wall, dense_t.wall / ours_t.wall, same ? "true" : "false");
    fflush(stdout);
    XGBoosterFree(h);
    return same ? 0 : 1;
}

/* The score path after features, as predict_rows in propensity.c: blocks of rows gathered
 * from the customer feature table through a column map, predicted, then calibrated. */
static int score_path(promo_gbdt *m,
                      const promo_calib *cal,
                      const float *table,
                      const int *cmap,
                      size_t n,
                      int nthread,
                      double *prob)
{
    enum { BLOCK = 65536 };
    float *X = promo_mallocn((size_t)BLOCK * D, sizeof *X), *o = promo_mallocn(BLOCK, sizeof *o);
    if (!X || !o)
        return PROMO_ENOMEM;
    int rc = PROMO_OK;
    for (size_t i0 = 0; i0 < n && !rc; i0 += BLOCK) {
        size_t nb = n - i0 < BLOCK ? n - i0 : BLOCK;
#pragma omp parallel for schedule(static) num_threads(nthread)
        for (size_t i = 0; i < nb; i++) {
            const float *src = table + (i0 + i) * D;
            float *row = X + i * D;
            for (int j = 0; j < D; j++)
                row[j] = cmap[j] >= 0 ? src[cmap[j]] : NAN;
        }
        if (!(rc = promo_gbdt_predict(m, X, nb, D, 0, o)))
            for (size_t i = 0; i < nb; i++)
                prob[i0 + i] = o[i];
    }
    if (!rc)
        promo_calib_apply(cal, prob, n, prob);
    promo_free(X);
    promo_free(o);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    int nthread = argc > 2 ? atoi(argv[2]) : 2;
    const char *model_path = argc > 3 ? argv[3] : NULL;
    size_t n_train = 100000, n_valid = 50000;
    float *xt = promo_mallocn(n_train * D, sizeof *xt), *yt = promo_mallocn(n_train, sizeof *yt);
    float *xv = promo_mallocn(n_valid * D, sizeof *xv), *yv = promo_mallocn(n_valid, sizeof *yv);
    /* p1 also takes the validation rows' predictions for the calibration fit */
    float *x = promo_mallocn(n * D, sizeof *x),
          *p1 = promo_mallocn(n > n_valid ? n : n_valid, sizeof *p1);
    double *prob = promo_mallocn(n, sizeof *prob), *pv = promo_mallocn(n_valid, sizeof *pv);
    uint8_t *lv = promo_mallocn(n_valid, sizeof *lv);
    int cmap[D];
    if (!xt || !yt || !xv || !yv || !x || !p1 || !prob || !pv || !lv)
        return die("alloc");
    make(n_train, 1, xt, yt);
    make(n_valid, 3, xv, yv);
    make(n, 2, x, NULL);
    promo_gbdt_data tr = {xt, n_train, D, yt, NULL}, va = {xv, n_valid, D, yv, NULL};

    /* The model training produces by default: propensity's boosting parameters, early stopping
     * on the validation rows. */
    promo_gbdt_params p = promo_propensity_params_default().gbdt;
    /* One training thread: the trees do not depend on it, and on a shared 2-core machine
     * OpenMP's barriers make two threads slower per round than one. */
    p.nthread = 1;
    promo_gbdt *m = NULL;
    double t0 = promo_now_s(), c0 = cpu_s();
    if (promo_gbdt_train(&p, &tr, &va, &m) || promo_gbdt_set_nthread(m, nthread))
        return die("train default");
    if (bench_model("default", m, promo_now_s() - t0, cpu_s() - c0, n_train, x, n, D, nthread, p1))
        return 1;

    /* Score path: Platt calibration fitted on the validation rows, as training does. */
    promo_calib *cal = NULL;
    if (promo_gbdt_predict(m, xv, n_valid, D, 0, p1))
        return die("predict validation");
    for (size_t i = 0; i < n_valid; i++) {
        pv[i] = p1[i];
        lv[i] = yv[i] > 0.5f;
    }
    if (promo_calib_fit(PROMO_CALIB_PLATT, pv, lv, NULL, n_valid, &cal))
        return die("calibrate");
    for (int j = 0; j < D; j++)
        cmap[j] = j;
    timing path = {1e30, 0};
    for (int rep = 0; rep < 3; rep++) {
        t0 = promo_now_s();
        c0 = cpu_s();
        if (score_path(m, cal, x, cmap, n, nthread, prob))
            return die("score path");
        keep_best(&path, promo_now_s() - t0, cpu_s() - c0);
    }
    printf(
        "{\"bench\":\"score\",\"model\":\"default\",\"what\":\"score_path_rows_predict_calibrate\","
        "\"rows\":%zu,\"trees\":%d,\"nthread\":%d,\"seconds\":%.4f,\"cpu_seconds\":%.4f,"
        "\"rows_per_s\":%.0f}\n",
        n, promo_gbdt_n_rounds(m), nthread, path.wall, path.cpu, (double)n / path.wall);
    promo_calib_free(cal);
    promo_gbdt_free(m);

    /* The earlier figure: 200 trees of depth 6, no early stopping. */
    p = promo_gbdt_params_default();
    p.n_rounds = 200;
    p.early_stopping_rounds = 0;
    p.nthread = 1;
    t0 = promo_now_s();
    c0 = cpu_s();
    if (promo_gbdt_train(&p, &tr, NULL, &m) || promo_gbdt_set_nthread(m, nthread))
        return die("train 200x6");
    if (bench_model("200x6", m, promo_now_s() - t0, cpu_s() - c0, n_train, x, n, D, nthread, p1))
        return 1;
    promo_gbdt_free(m);

    /* The model `promo train` wrote for the default world's PROD00001 (bench/score.sh trains
     * it): its real tree count and width, on 1M rows of non-negative counts with 2% missing.
     * Every row walks every tree to a leaf, so the timing depends on the trees, not on where
     * the rows fall. */
    if (model_path) {
        if (promo_gbdt_load(model_path, &m) || promo_gbdt_set_nthread(m, nthread))
            return die("load the default world's model");
        int d = (int)promo_gbdt_n_features(m);
        float *xw = promo_mallocn(n * (size_t)d, sizeof *xw);
        if (!xw)
            return die("alloc");
        promo_rng r;
        promo_rng_init(&r, 4, 0);
        for (size_t k = 0; k < n * (size_t)d; k++)
            xw[k] =
                promo_rng_uniform(&r) < 0.02 ? NAN : (float)floor(fabs(5 * promo_rng_normal(&r)));
        int rc = bench_model("default_world", m, 0, 0, 0, xw, n, d, nthread, p1);
        promo_free(xw);
        promo_gbdt_free(m);
        if (rc)
            return 1;
    }
    promo_free(xt);
    promo_free(yt);
    promo_free(xv);
    promo_free(yv);
    promo_free(x);
    promo_free(p1);
    promo_free(prob);
    promo_free(pv);
    promo_free(lv);
    return 0;
}
