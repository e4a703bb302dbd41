/* Tests of src/models/learner.c: every kind x objective learns a planted signal and beats a
 * trivial baseline on held-out rows; predictions survive a save/load round trip bit for bit;
 * bad parameters and shapes give PROMO_EUSAGE; damaged buffers give PROMO_EINPUT.
 * Small data (1,500 x 6, few trees) keeps this fast under ASan. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/learner.h>
#include <promo/rng.h>

#include "t.h"

#define D 6

/* Rows with a planted signal for the objective: binary y ~ Bernoulli(sigmoid(2 x0 - 1.5 x1 +
 * x2 x3)); regression y = 3 x0 - 2 x1 + x2 x3 + N(0, 0.5); three classes by the largest of
 * (2 x0, 2 x1, 1 - x0 - x1) plus Gumbel-ish noise. Some NaN in x4. */
static void make_data(uint64_t seed, size_t n, promo_learner_objective obj, float **x, float **y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 3);
    *x = promo_mallocn(n * D, sizeof **x);
    *y = promo_mallocn(n, sizeof **y);
    T_ASSERT(*x && *y);
    for (size_t i = 0; i < n; i++) {
        float *row = *x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        if (i % 13 == 0)
            row[4] = NAN;
        double z = 2.0 * row[0] - 1.5 * row[1] + row[2] * row[3];
        if (obj == PROMO_LEARNER_BINARY) {
            (*y)[i] = (float)promo_rng_bernoulli(&r, 1.0 / (1.0 + exp(-z)));
        } else if (obj == PROMO_LEARNER_REGRESSION) {
            (*y)[i] = (float)(3.0 * row[0] - 2.0 * row[1] + row[2] * row[3] +
                              0.5 * promo_rng_normal(&r));
        } else {
            double s[3] = {2.0 * row[0], 2.0 * row[1], 1.0 - row[0] - row[1]};
            int best = 0;
            for (int k = 0; k < 3; k++) {
                s[k] -= log(-log(promo_rng_uniform(&r) + 1e-12) + 1e-12) * 0.5;
                if (s[k] > s[best])
                    best = k;
            }
            (*y)[i] = (float)best;
        }
    }
}

/* Held-out loss of predictions p (n x k): log loss (binary, multi-class) or MSE. */
static double loss_of(promo_learner_objective obj, const float *p, const float *y, size_t n, int k)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (obj == PROMO_LEARNER_BINARY) {
            double q = fmin(fmax(p[i], 1e-7), 1.0 - 1e-7);
            s -= y[i] > 0.5f ? log(q) : log(1.0 - q);
        } else if (obj == PROMO_LEARNER_REGRESSION) {
            s += ((double)p[i] - y[i]) * ((double)p[i] - y[i]);
        } else {
            s -= log(fmax(p[i * (size_t)k + (size_t)y[i]], 1e-7));
        }
    }
    return s / (double)n;
}

/* The trivial baseline: the training mean (or class frequencies) for every held-out row. */
static double baseline_loss(
    promo_learner_objective obj, const float *ytr, size_t ntr, const float *y, size_t n, int k)
{
    double freq[8] = {0}, mean = 0.0;
    for (size_t i = 0; i < ntr; i++) {
        mean += ytr[i];
        if (obj == PROMO_LEARNER_MULTICLASS)
            freq[(int)ytr[i]] += 1.0 / (double)ntr;
    }
    mean /= (double)ntr;
    int w = obj == PROMO_LEARNER_MULTICLASS ? k : 1;
    float *p = promo_mallocn(n, (size_t)w * sizeof *p);
    T_ASSERT(p);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < w; c++)
            p[i * (size_t)w + (size_t)c] = (float)(obj == PROMO_LEARNER_MULTICLASS ? freq[c] : mean);
    double l = loss_of(obj, p, y, n, k);
    promo_free(p);
    return l;
}

static promo_learner_params small_params(promo_learner_kind kind, promo_learner_objective obj)
{
    promo_learner_params p = promo_learner_params_default(kind);
    p.objective = obj;
    p.gbdt.nthread = 1;
    p.logreg.nthread = 1;
    if (kind == PROMO_LEARNER_GBDT) {
        p.gbdt.n_rounds = 40;
        p.gbdt.early_stopping_rounds = 5;
        p.gbdt.max_depth = 3;
        p.gbdt.eta = 0.3;
    } else if (kind == PROMO_LEARNER_FOREST) {
        p.gbdt.n_forest_trees = 10;
        p.gbdt.max_depth = 6;
    }
    return p;
}

/* Train kind x obj, check it beats the baseline by `gain` (relative), that multi-class rows
 * sum to 1, and that a save/load round trip predicts the same bits and keeps the accessors. */
static void check_kind(promo_learner_kind kind, promo_learner_objective obj, double gain)
{
    size_t ntr = 1500, nva = 500, nte = 700;
    int k = obj == PROMO_LEARNER_MULTICLASS ? 3 : 0;
    float *x, *y, *xv, *yv, *xt, *yt;
    make_data(1, ntr, obj, &x, &y);
    make_data(2, nva, obj, &xv, &yv);
    make_data(3, nte, obj, &xt, &yt);
    promo_learner_params p = small_params(kind, obj);
    promo_learner_data tr = {x, ntr, D, y, NULL, k}, va = {xv, nva, D, yv, NULL, k};
    promo_learner *l = NULL, *l2 = NULL;
    T_OK(promo_learner_train(&p, &tr, &va, &l));
    T_ASSERT_EQ_INT(promo_learner_get_kind(l), kind);
    T_ASSERT_EQ_INT(promo_learner_get_objective(l), obj);
    T_ASSERT_EQ_INT(promo_learner_n_features(l), D);
    size_t w = promo_learner_n_outputs(l);
    T_ASSERT_EQ_INT(w, k ? (size_t)k : 1);
    T_ASSERT_STR_EQ(promo_learner_name(l), promo_learner_kind_name(kind));

    float *pred = promo_mallocn(nte, w * sizeof *pred), *pred2 = promo_mallocn(nte, w * sizeof *pred2);
    T_ASSERT(pred && pred2);
    T_OK(promo_learner_predict(l, xt, nte, D, pred));
    double lm = loss_of(obj, pred, yt, nte, k), lb = baseline_loss(obj, y, ntr, yt, nte, k);
    T_ASSERT_MSG(lm < (1.0 - gain) * lb, "%s objective %d: held-out loss %g vs baseline %g",
                 promo_learner_kind_name(kind), (int)obj, lm, lb);
    if (obj == PROMO_LEARNER_MULTICLASS)
        for (size_t i = 0; i < nte; i++) {
            double s = 0.0;
            for (size_t c = 0; c < w; c++) {
                T_ASSERT(pred[i * w + c] >= 0.0f && pred[i * w + c] <= 1.0f);
                s += pred[i * w + c];
            }
            T_ASSERT_NEAR(s, 1.0, 1e-5);
        }

    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_learner_save_buffer(l, &buf, &len));
    T_OK(promo_learner_load_buffer(buf, len, &l2));
    T_ASSERT_EQ_INT(promo_learner_get_kind(l2), kind);
    T_ASSERT_EQ_INT(promo_learner_get_objective(l2), obj);
    T_ASSERT_EQ_INT(promo_learner_n_features(l2), D);
    T_ASSERT_EQ_INT(promo_learner_n_outputs(l2), w);
    T_OK(promo_learner_set_nthread(l2, 2));
    T_OK(promo_learner_predict(l2, xt, nte, D, pred2));
    T_ASSERT(memcmp(pred, pred2, nte * w * sizeof *pred) == 0);

    /* A damaged copy is refused cleanly: a flipped byte in the middle, a cut. */
    buf[len / 2] ^= 0x5a;
    promo_learner *bad = NULL;
    int rc = promo_learner_load_buffer(buf, len, &bad);
    if (rc == PROMO_OK) /* a flip inside a JSON number can still parse: it must then predict */
        T_OK(promo_learner_predict(bad, xt, nte, D, pred2));
    else
        T_ASSERT_EQ_INT(rc, PROMO_EINPUT);
    promo_learner_free(bad);
    bad = NULL;
    buf[len / 2] ^= 0x5a;
    T_ASSERT_EQ_INT(promo_learner_load_buffer(buf, len - 9, &bad), PROMO_EINPUT);
    T_ASSERT(bad == NULL);

    promo_free(buf);
    promo_free(pred);
    promo_free(pred2);
    promo_learner_free(l);
    promo_learner_free(l2);
    promo_free(x);
    promo_free(y);
    promo_free(xv);
    promo_free(yv);
    promo_free(xt);
    promo_free(yt);
}

T_TEST(learner_binary_each_kind)
{
    check_kind(PROMO_LEARNER_GBDT, PROMO_LEARNER_BINARY, 0.2);
    check_kind(PROMO_LEARNER_FOREST, PROMO_LEARNER_BINARY, 0.2);
    check_kind(PROMO_LEARNER_LOGREG, PROMO_LEARNER_BINARY, 0.2);
}

/* The interface adds nothing to a gbdt: same parameters, same probabilities. Attributes pass
 * through to the XGBoost JSON; logreg keeps none. */
T_TEST(learner_gbdt_same_as_direct_and_attributes)
{
    float *x, *y;
    make_data(4, 1200, PROMO_LEARNER_BINARY, &x, &y);
    promo_learner_params p = small_params(PROMO_LEARNER_GBDT, PROMO_LEARNER_BINARY);
    p.gbdt.early_stopping_rounds = 0;
    p.gbdt.n_rounds = 10;
    promo_learner_data tr = {x, 1200, D, y, NULL, 0};
    promo_learner *l = NULL;
    T_OK(promo_learner_train(&p, &tr, NULL, &l));
    promo_gbdt_data gd = {x, 1200, D, y, NULL};
    promo_gbdt *g = NULL;
    T_OK(promo_gbdt_train(&p.gbdt, &gd, NULL, &g));
    float *a = promo_mallocn(1200, sizeof *a), *b = promo_mallocn(1200, sizeof *b);
    T_ASSERT(a && b);
    T_OK(promo_learner_predict(l, x, 1200, D, a));
    T_OK(promo_gbdt_predict(g, x, 1200, D, 0, b));
    T_ASSERT(memcmp(a, b, 1200 * sizeof *a) == 0);
    T_ASSERT(promo_learner_gbdt(l) != NULL && promo_learner_logreg(l) == NULL);
    T_ASSERT_EQ_INT(promo_gbdt_n_rounds(promo_learner_gbdt(l)), 10);

    T_OK(promo_learner_set_attr(l, "promo.target", "TEA"));
    char *buf = NULL;
    size_t len = 0;
    T_OK(promo_learner_save_buffer(l, &buf, &len));
    promo_learner *l2 = NULL;
    T_OK(promo_learner_load_buffer(buf, len, &l2));
    char *v = promo_learner_get_attr(l2, "promo.target");
    T_ASSERT_STR_EQ(v, "TEA");
    promo_free(v);
    T_ASSERT(promo_learner_get_attr(l2, "absent") == NULL);
    promo_free(buf);
    promo_learner_free(l2);

    promo_learner_params lp = small_params(PROMO_LEARNER_LOGREG, PROMO_LEARNER_BINARY);
    T_OK(promo_learner_train(&lp, &tr, NULL, &l2));
    T_ASSERT(promo_learner_gbdt(l2) == NULL && promo_learner_logreg(l2) != NULL);
    T_ASSERT_EQ_INT(promo_learner_set_attr(l2, "k", "v"), PROMO_EUSAGE);
    T_ASSERT(promo_learner_get_attr(l2, "k") == NULL);
    T_ASSERT_EQ_INT(promo_learner_set_nthread(l2, 2), PROMO_OK);
    promo_learner_free(l2);

    promo_free(a);
    promo_free(b);
    promo_gbdt_free(g);
    promo_learner_free(l);
    promo_free(x);
    promo_free(y);
}

T_TEST(learner_bad_params_and_shapes)
{
    float *x, *y;
    make_data(5, 200, PROMO_LEARNER_BINARY, &x, &y);
    promo_learner_data tr = {x, 200, D, y, NULL, 0};
    promo_learner *l = NULL;

    promo_learner_params p = small_params(PROMO_LEARNER_LOGREG, PROMO_LEARNER_REGRESSION);
    T_ASSERT_EQ_INT(promo_learner_train(&p, &tr, NULL, &l), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "binary only");
    p.objective = PROMO_LEARNER_MULTICLASS;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &tr, NULL, &l), PROMO_EUSAGE);
    p = small_params(PROMO_LEARNER_GBDT, PROMO_LEARNER_BINARY);
    p.kind = PROMO_LEARNER_KIND_COUNT;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &tr, NULL, &l), PROMO_EUSAGE);
    p.kind = PROMO_LEARNER_GBDT;
    p.objective = PROMO_LEARNER_OBJECTIVE_COUNT;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &tr, NULL, &l), PROMO_EUSAGE);

    /* Multi-class without a class count, labels beyond it, a fraction as a class. */
    p.objective = PROMO_LEARNER_MULTICLASS;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &tr, NULL, &l), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "n_classes");
    float yc[200];
    for (int i = 0; i < 200; i++)
        yc[i] = (float)(i % 3);
    promo_learner_data mc = {x, 200, D, yc, NULL, 2};
    T_ASSERT_EQ_INT(promo_learner_train(&p, &mc, NULL, &l), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "class index");
    mc.n_classes = 3;
    yc[7] = 0.5f;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &mc, NULL, &l), PROMO_EUSAGE);

    /* Binary labels outside [0, 1]; a class count on a binary objective; a NaN target. */
    p.objective = PROMO_LEARNER_BINARY;
    yc[7] = 1.0f;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &mc, NULL, &l), PROMO_EUSAGE);
    mc.n_classes = 0;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &mc, NULL, &l), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "not in [0, 1]");
    p.objective = PROMO_LEARNER_REGRESSION;
    yc[3] = NAN;
    T_ASSERT_EQ_INT(promo_learner_train(&p, &mc, NULL, &l), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "finite");

    /* Shapes: empty set, validation of another width, negative weight. */
    p.objective = PROMO_LEARNER_BINARY;
    promo_learner_data empty = {x, 0, D, y, NULL, 0};
    T_ASSERT_EQ_INT(promo_learner_train(&p, &empty, NULL, &l), PROMO_EUSAGE);
    promo_learner_data narrow = {x, 100, D - 1, y, NULL, 0};
    T_ASSERT_EQ_INT(promo_learner_train(&p, &tr, &narrow, &l), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "columns");
    float wt[200];
    for (int i = 0; i < 200; i++)
        wt[i] = i == 9 ? -1.0f : 1.0f;
    promo_learner_data weighted = {x, 200, D, y, wt, 0};
    T_ASSERT_EQ_INT(promo_learner_train(&p, &weighted, NULL, &l), PROMO_EUSAGE);
    T_ASSERT(l == NULL);

    /* Predicting the wrong width; loading nothing or foreign bytes. */
    p.gbdt.n_rounds = 3;
    T_OK(promo_learner_train(&p, &tr, NULL, &l));
    float out[200];
    T_ASSERT_EQ_INT(promo_learner_predict(l, x, 200, D + 1, out), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "expects 6");
    T_ASSERT_EQ_INT(promo_learner_set_nthread(l, -1), PROMO_EUSAGE);
    promo_learner_free(l);
    promo_learner_free(NULL);
    l = NULL;
    T_ASSERT_EQ_INT(promo_learner_load_buffer("", 0, &l), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_learner_load_buffer("hello", 5, &l), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_learner_load_buffer("{\"a\":1}", 7, &l), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_learner_load_buffer("PRMLOGR", 8, &l), PROMO_EINPUT);
    T_ASSERT(l == NULL);
    promo_free(x);
    promo_free(y);
}
