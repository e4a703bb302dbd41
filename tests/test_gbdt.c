/* Tests of src/models/gbdt.c: training with early stopping, forest mode, predictions vs
 * margins vs TreeSHAP contributions, bitwise save/load, thread-count independence, loader
 * checks on damaged models. Small data (2,000 x 10, <= 60 trees) keeps this fast under ASan. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/gbdt.h>
#include <promo/metrics.h>
#include <promo/rng.h>

#include "t.h"

#define D 10

/* y ~ Bernoulli(sigmoid(2 x0 - 1.5 x1 + x2 x3 - 1)), a few NaNs in x4. */
static void make_data(uint64_t seed, size_t n, float **x, float **y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 7);
    *x = promo_mallocn(n * D, sizeof **x);
    *y = promo_mallocn(n, sizeof **y);
    T_ASSERT(*x && *y);
    for (size_t i = 0; i < n; i++) {
        float *row = *x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        if (i % 17 == 0)
            row[4] = NAN;
        double z = 2.0 * row[0] - 1.5 * row[1] + row[2] * row[3] - 1.0;
        (*y)[i] = (float)promo_rng_bernoulli(&r, 1.0 / (1.0 + exp(-z)));
    }
}

static double auc_of(const float *p, const float *y, size_t n)
{
    double *s = promo_mallocn(n, sizeof *s);
    uint8_t *l = promo_mallocn(n, sizeof *l);
    T_ASSERT(s && l);
    for (size_t i = 0; i < n; i++) {
        s[i] = p[i];
        l[i] = (uint8_t)y[i];
    }
    double auc = NAN;
    T_OK(promo_roc_auc(s, l, n, &auc));
    promo_free(s);
    promo_free(l);
    return auc;
}

static promo_gbdt_params small_params(int nthread)
{
    promo_gbdt_params p = promo_gbdt_params_default();
    p.n_rounds = 40;
    p.early_stopping_rounds = 5;
    p.max_depth = 3;
    p.eta = 0.3;
    p.nthread = nthread;
    return p;
}

T_TEST(gbdt_train_predict_contribs)
{
    float *x, *y, *xt, *yt;
    make_data(1, 2000, &x, &y);
    make_data(2, 1000, &xt, &yt);
    promo_gbdt_params p = small_params(1);
    promo_gbdt_data tr = {x, 2000, D, y, NULL}, va = {xt, 1000, D, yt, NULL};
    promo_gbdt *m = NULL;
    T_OK(promo_gbdt_train(&p, &tr, &va, &m));
    T_ASSERT_EQ_INT(promo_gbdt_n_features(m), D);
    T_ASSERT(promo_gbdt_n_rounds(m) >= 1 && promo_gbdt_n_rounds(m) <= 40);
    T_ASSERT(promo_gbdt_best_score(m) > 0.0 && promo_gbdt_best_score(m) < 0.69);

    float *prob = promo_mallocn(1000, sizeof *prob), *mar = promo_mallocn(1000, sizeof *mar);
    float *con = promo_mallocn(1000 * (D + 1), sizeof *con);
    T_ASSERT(prob && mar && con);
    T_OK(promo_gbdt_predict(m, xt, 1000, D, 0, prob));
    T_OK(promo_gbdt_predict(m, xt, 1000, D, 1, mar));
    double auc = auc_of(prob, yt, 1000);
    T_ASSERT_MSG(auc > 0.8, "auc %g", auc);
    T_OK(promo_gbdt_contribs(m, xt, 1000, D, con));
    for (size_t i = 0; i < 1000; i++) {
        T_ASSERT_NEAR(prob[i], 1.0 / (1.0 + exp(-(double)mar[i])), 1e-5);
        double s = 0.0;
        for (int j = 0; j <= D; j++)
            s += con[i * (D + 1) + j];
        T_ASSERT_NEAR(s, mar[i], 1e-3);
    }
    /* x0 drives the label most: its mean |contribution| beats an unused feature's. */
    double c0 = 0.0, c9 = 0.0;
    for (size_t i = 0; i < 1000; i++) {
        c0 += fabs(con[i * (D + 1) + 0]);
        c9 += fabs(con[i * (D + 1) + 9]);
    }
    T_ASSERT(c0 > 5.0 * c9);

    T_ASSERT_EQ_INT(promo_gbdt_predict(m, xt, 1000, D - 1, 0, prob), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "expects 10");
    promo_free(prob);
    promo_free(mar);
    promo_free(con);
    promo_gbdt_free(m);
    promo_free(x);
    promo_free(y);
    promo_free(xt);
    promo_free(yt);
}

T_TEST(gbdt_save_load_bitwise)
{
    float *x, *y;
    make_data(3, 2000, &x, &y);
    promo_gbdt_params p = small_params(1);
    p.early_stopping_rounds = 0;
    p.n_rounds = 20;
    promo_gbdt_data tr = {x, 2000, D, y, NULL};
    promo_gbdt *m = NULL, *m2 = NULL;
    T_OK(promo_gbdt_train(&p, &tr, NULL, &m));
    T_ASSERT_EQ_INT(promo_gbdt_n_rounds(m), 20);
    T_OK(promo_gbdt_set_attr(m, "promo.features", "a,b,c"));
    char path[512];
    snprintf(path, sizeof path, "%s/m.json", t_tmpdir());
    T_OK(promo_gbdt_save(m, path));
    T_OK(promo_gbdt_load(path, &m2));
    T_ASSERT_EQ_INT(promo_gbdt_n_rounds(m2), 20);
    char *a = promo_gbdt_get_attr(m2, "promo.features");
    T_ASSERT_STR_EQ(a, "a,b,c");
    promo_free(a);
    T_ASSERT(promo_gbdt_get_attr(m2, "absent") == NULL);

    float *p1 = promo_mallocn(2000, sizeof *p1), *p2 = promo_mallocn(2000, sizeof *p2);
    T_ASSERT(p1 && p2);
    T_OK(promo_gbdt_predict(m, x, 2000, D, 0, p1));
    T_OK(promo_gbdt_predict(m2, x, 2000, D, 0, p2));
    T_ASSERT(memcmp(p1, p2, 2000 * sizeof *p1) == 0);
    /* Prediction does not depend on the thread count. */
    T_OK(promo_gbdt_set_nthread(m2, 2));
    T_OK(promo_gbdt_predict(m2, x, 2000, D, 0, p2));
    T_ASSERT(memcmp(p1, p2, 2000 * sizeof *p1) == 0);

    /* Saved buffer is JSON and identical across a reload. */
    char *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    T_OK(promo_gbdt_save_buffer(m, &b1, &n1));
    T_OK(promo_gbdt_save_buffer(m2, &b2, &n2));
    T_ASSERT(n1 > 0 && b1[0] == '{');
    T_ASSERT_EQ_INT(n1, n2);
    T_ASSERT(memcmp(b1, b2, n1) == 0);
    promo_free(b1);
    promo_free(b2);
    promo_free(p1);
    promo_free(p2);
    promo_gbdt_free(m);
    promo_gbdt_free(m2);
    promo_free(x);
    promo_free(y);
}

T_TEST(gbdt_thread_count_independent)
{
    float *x, *y;
    make_data(4, 2000, &x, &y);
    promo_gbdt_data tr = {x, 2000, D, y, NULL};
    float *p1 = promo_mallocn(2000, sizeof *p1), *p2 = promo_mallocn(2000, sizeof *p2);
    T_ASSERT(p1 && p2);
    promo_gbdt *m1 = NULL, *m2 = NULL;
    promo_gbdt_params a = small_params(1), b = small_params(2);
    a.early_stopping_rounds = b.early_stopping_rounds = 0;
    a.n_rounds = b.n_rounds = 8;
    T_OK(promo_gbdt_train(&a, &tr, NULL, &m1));
    T_OK(promo_gbdt_train(&b, &tr, NULL, &m2));
    T_OK(promo_gbdt_predict(m1, x, 2000, D, 1, p1));
    T_OK(promo_gbdt_predict(m2, x, 2000, D, 1, p2));
    double maxd = 0.0;
    for (size_t i = 0; i < 2000; i++)
        maxd = fmax(maxd, fabs((double)p1[i] - (double)p2[i]));
    T_ASSERT_MSG(maxd == 0.0, "training at 1 and 2 threads differs by %g", maxd);
    promo_gbdt_free(m1);
    promo_gbdt_free(m2);
    promo_free(p1);
    promo_free(p2);
    promo_free(x);
    promo_free(y);
}

T_TEST(gbdt_forest_and_imbalance)
{
    float *x, *y, *xt, *yt;
    make_data(5, 2000, &x, &y);
    make_data(6, 1000, &xt, &yt);
    promo_gbdt_params p = promo_gbdt_params_forest();
    p.n_forest_trees = 30;
    p.max_depth = 6;
    p.nthread = 1;
    promo_gbdt_data tr = {x, 2000, D, y, NULL};
    promo_gbdt *m = NULL;
    T_OK(promo_gbdt_train(&p, &tr, NULL, &m));
    T_ASSERT_EQ_INT(promo_gbdt_n_rounds(m), 1);
    float *prob = promo_mallocn(1000, sizeof *prob);
    T_ASSERT(prob);
    T_OK(promo_gbdt_predict(m, xt, 1000, D, 0, prob));
    double auc = auc_of(prob, yt, 1000);
    T_ASSERT_MSG(auc > 0.75, "forest auc %g", auc);
    promo_gbdt_free(m);

    /* Automatic scale_pos_weight raises the mean prediction towards 1/2. */
    promo_gbdt_params b = small_params(1);
    b.early_stopping_rounds = 0;
    b.n_rounds = 10;
    b.scale_pos_weight = 0.0;
    T_OK(promo_gbdt_train(&b, &tr, NULL, &m));
    T_OK(promo_gbdt_predict(m, xt, 1000, D, 0, prob));
    double mean = 0.0, rate = 0.0;
    for (size_t i = 0; i < 1000; i++) {
        mean += prob[i] / 1000.0;
        rate += yt[i] / 1000.0;
    }
    T_ASSERT(rate < 0.45);
    T_ASSERT_MSG(fabs(mean - 0.5) < 0.1, "mean %g", mean);
    promo_gbdt_free(m);
    promo_free(prob);
    promo_free(x);
    promo_free(y);
    promo_free(xt);
    promo_free(yt);
}

T_TEST(gbdt_bad_params_and_data)
{
    float x[4] = {0, 1, 2, 3}, y[2] = {0, 2};
    promo_gbdt_data tr = {x, 2, 2, y, NULL};
    promo_gbdt *m = NULL;
    promo_gbdt_params p = promo_gbdt_params_default();
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "label");
    y[1] = 1;
    p.eta = 0.0;
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "eta");
    p = promo_gbdt_params_default();
    p.eval_metric = "rmse";
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT(m == NULL);
}

/* Train a tiny model and return its JSON (promo_free). */
static char *tiny_model_json(size_t *n)
{
    float *x, *y;
    make_data(8, 300, &x, &y);
    promo_gbdt_params p = small_params(1);
    p.early_stopping_rounds = 0;
    p.n_rounds = 2;
    p.max_depth = 2;
    promo_gbdt_data tr = {x, 300, D, y, NULL};
    promo_gbdt *m = NULL;
    T_OK(promo_gbdt_train(&p, &tr, NULL, &m));
    char *buf = NULL;
    T_OK(promo_gbdt_save_buffer(m, &buf, n));
    promo_gbdt_free(m);
    promo_free(x);
    promo_free(y);
    return buf;
}

static int load_str(const char *s)
{
    promo_gbdt *m = NULL;
    int rc = promo_gbdt_load_buffer(s, strlen(s), &m);
    promo_gbdt_free(m);
    return rc;
}

T_TEST(gbdt_loader_rejects_damage)
{
    size_t n = 0;
    char *json = tiny_model_json(&n);
    char *z = promo_malloc(n + 64);
    T_ASSERT(z);
    memcpy(z, json, n);
    z[n] = '\0';
    T_OK(load_str(z));

    T_ASSERT_EQ_INT(load_str("not json"), PROMO_EINPUT);
    T_ASSERT_EQ_INT(load_str("{}"), PROMO_EINPUT);
    promo_gbdt *m = NULL;
    T_ASSERT_EQ_INT(promo_gbdt_load_buffer(z, n - 1, &m), PROMO_EINPUT); /* truncated */

    /* A child pointing back at the root would loop forever in XGBoost's traversal. */
    char *lc = strstr(z, "\"left_children\":[1,");
    T_ASSERT(lc != NULL);
    lc[strlen("\"left_children\":[")] = '0';
    T_ASSERT_EQ_INT(load_str(z), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "children");
    lc[strlen("\"left_children\":[")] = '1';

    /* A split on a feature the model does not have (the root's feature becomes 12). */
    char *si = strstr(z, "\"split_indices\":[");
    T_ASSERT(si != NULL);
    si += strlen("\"split_indices\":[");
    size_t digits = strspn(si, "0123456789");
    T_ASSERT(digits == 1);
    char *bad = promo_malloc(n + 8);
    T_ASSERT(bad);
    size_t at = (size_t)(si - z);
    memcpy(bad, z, at);
    memcpy(bad + at, "12", 2);
    memcpy(bad + at + 2, si + 1, n - at); /* includes the terminator */
    T_ASSERT_EQ_INT(load_str(bad), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "out of range");
    promo_free(bad);
    T_OK(load_str(z));

    /* Trailing garbage, and a repeated key. */
    memcpy(z + n, " x", 3);
    T_ASSERT_EQ_INT(load_str(z), PROMO_EINPUT);
    T_ASSERT_EQ_INT(load_str("{\"learner\":{},\"learner\":{}}"), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "repeated");

    char path[512];
    snprintf(path, sizeof path, "%s/absent.json", t_tmpdir());
    T_ASSERT_EQ_INT(promo_gbdt_load(path, &m), PROMO_ENOTFOUND);
    promo_free(z);
    promo_free(json);
}

int fuzz_model_one(const uint8_t *d, size_t n);

/* Whole file as bytes (t_read_file stops at a NUL; fuzz inputs may hold them). */
static char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (promo_grow((void **)&buf, &cap, *n + 4096, 1)) {
            fclose(f);
            promo_free(buf);
            return NULL;
        }
        size_t got = fread(buf + *n, 1, cap - *n, f);
        *n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    return buf;
}

/* Replay the model-loader fuzz corpus: every seed loads or fails cleanly. */
T_TEST(gbdt_fuzz_corpus_replay)
{
    char *out = NULL;
    T_ASSERT_EQ_INT(t_sh("ls fuzz/corpus/model", &out, NULL), 0);
    int n_files = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char path[512];
        snprintf(path, sizeof path, "fuzz/corpus/model/%s", line);
        size_t n = 0;
        char *data = read_bytes(path, &n);
        T_ASSERT_MSG(data != NULL, "cannot read %s", path);
        T_ASSERT_EQ_INT(fuzz_model_one((const uint8_t *)data, n), 0);
        promo_free(data);
        n_files++;
    }
    free(out);
    T_ASSERT(n_files >= 3);
    /* The trained seeds really load (a corpus of rejects would test little). */
    size_t n = 0;
    char *data = read_bytes("fuzz/corpus/model/boost2.json", &n);
    T_ASSERT(data != NULL);
    promo_gbdt *m = NULL;
    T_OK(promo_gbdt_load_buffer(data, n, &m));
    T_ASSERT_EQ_INT(promo_gbdt_n_features(m), 3);
    promo_gbdt_free(m);
    promo_free(data);
}

/* Regression and multi-class: contributions sum to the margins (multi-class: one block of
 * n_cols + 1 per class), the loaded kind is kept, and objective-specific misuse is refused. */
T_TEST(gbdt_regression_multiclass_contribs_and_checks)
{
    float *x, *y0;
    make_data(9, 1200, &x, &y0);
    float *y = promo_mallocn(1200, sizeof *y);
    T_ASSERT(y);
    for (int o = PROMO_GBDT_REGRESSION; o <= PROMO_GBDT_MULTICLASS; o++) {
        for (size_t i = 0; i < 1200; i++) {
            const float *r = x + i * D;
            y[i] = o == PROMO_GBDT_REGRESSION ? 2.0f * r[0] - r[1] + 0.5f
                                              : (float)(r[0] > 0.5f   ? 2
                                                        : r[1] > 0.0f ? 1
                                                                      : 0);
        }
        size_t k = o == PROMO_GBDT_MULTICLASS ? 3 : 1;
        promo_gbdt_params p = small_params(1);
        p.objective = (promo_gbdt_objective)o;
        p.n_classes = (int)(k == 3 ? 3 : 0);
        p.early_stopping_rounds = 0;
        p.n_rounds = 8;
        promo_gbdt_data tr = {x, 1200, D, y, NULL};
        promo_gbdt *m = NULL;
        T_OK(promo_gbdt_train(&p, &tr, NULL, &m));
        T_ASSERT_EQ_INT(promo_gbdt_get_objective(m), o);
        T_ASSERT_EQ_INT(promo_gbdt_n_outputs(m), k);
        T_ASSERT_EQ_INT(promo_gbdt_get_mode(m), PROMO_GBDT_BOOST);
        T_ASSERT_EQ_INT(promo_gbdt_n_rounds(m), 8);
        float *mar = promo_mallocn(200 * k, sizeof *mar),
              *val = promo_mallocn(200 * k, sizeof *val);
        float *con = promo_mallocn(200 * k * (D + 1), sizeof *con);
        T_ASSERT(mar && val && con);
        T_OK(promo_gbdt_predict(m, x, 200, D, 1, mar));
        T_OK(promo_gbdt_predict(m, x, 200, D, 0, val));
        T_OK(promo_gbdt_contribs(m, x, 200, D, con));
        for (size_t i = 0; i < 200 * k; i++) {
            double s = 0.0;
            for (int j = 0; j <= D; j++)
                s += con[i * (D + 1) + (size_t)j];
            T_ASSERT_NEAR(s, mar[i], 1e-3 * (1.0 + fabs(mar[i])));
            if (o == PROMO_GBDT_REGRESSION)
                T_ASSERT(memcmp(&mar[i], &val[i], sizeof *mar) == 0);
        }
        promo_free(mar);
        promo_free(val);
        promo_free(con);
        promo_gbdt_free(m);
    }

    /* Misuse: labels the objective cannot take, class counts, metrics, scale_pos_weight. */
    promo_gbdt_params p = small_params(1);
    promo_gbdt_data tr = {x, 1200, D, y, NULL};
    promo_gbdt *m = NULL;
    p.objective = PROMO_GBDT_MULTICLASS;
    p.n_classes = 1;
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "n_classes");
    p.n_classes = 2; /* labels go up to 2 */
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "class");
    p.n_classes = 3;
    p.eval_metric = "logloss";
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "mlogloss");
    p.eval_metric = NULL;
    p.scale_pos_weight = 0.0;
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "scale_pos_weight");
    p = small_params(1);
    p.objective = PROMO_GBDT_REGRESSION;
    y[5] = INFINITY;
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "finite");
    p.objective = PROMO_GBDT_OBJECTIVE_COUNT;
    T_ASSERT_EQ_INT(promo_gbdt_train(&p, &tr, NULL, &m), PROMO_EUSAGE);
    T_ASSERT(m == NULL);
    promo_free(y);
    promo_free(y0);
    promo_free(x);
}

/* Replace the first `from` in s (n bytes, NUL-terminated) by `to`; a new string. */
static char *replace_once(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    T_ASSERT_MSG(at != NULL, "'%s' not in the model", from);
    size_t n = strlen(s), lf = strlen(from), lt = strlen(to);
    char *r = promo_malloc(n - lf + lt + 1);
    T_ASSERT(r);
    memcpy(r, s, (size_t)(at - s));
    memcpy(r + (at - s), to, lt);
    memcpy(r + (at - s) + lt, at + lf, n - (size_t)(at - s) - lf + 1);
    return r;
}

/* The loader's multi-class and regression checks: class counts that disagree, a tree of a
 * class the model does not have, an unknown objective, a non-finite base_score, bytes that
 * XGBoost would not parse as cJSON does; and byte flips all over a multi-class model load or
 * fail cleanly (the fuzz target's contract). */
T_TEST(gbdt_loader_rejects_damage_objectives)
{
    size_t n = 0;
    char *z = t_read_file("fuzz/corpus/model/multi3.json", &n); /* NUL-terminated */
    T_ASSERT(z != NULL);
    promo_gbdt *m = NULL;
    T_OK(promo_gbdt_load_buffer(z, n, &m));
    T_ASSERT_EQ_INT(promo_gbdt_get_objective(m), PROMO_GBDT_MULTICLASS);
    T_ASSERT_EQ_INT(promo_gbdt_n_outputs(m), 3);
    promo_gbdt_free(m);
    static const char *const damage[][2] = {
        {"\"softmax_multiclass_param\":{\"num_class\":\"3\"}",
         "\"softmax_multiclass_param\":{\"num_class\":\"4\"}"},
        {"\"num_class\":\"3\",\"num_feature\"", "\"num_class\":\"2\",\"num_feature\""},
        {"\"num_class\":\"3\",\"num_feature\"", "\"num_class\":\"0\",\"num_feature\""},
        {"\"tree_info\":[0,1,2,0,1,2]", "\"tree_info\":[0,1,3,0,1,2]"},
        {"\"tree_info\":[0,1,2,0,1,2]", "\"tree_info\":[0,1,2,0,1,-1]"},
        {"\"multi:softprob\"", "\"multi:softmax\""},
        {"\"base_score\":\"5E-1\"", "\"base_score\":\"inf\""},
    };
    for (size_t k = 0; k < sizeof damage / sizeof *damage; k++) {
        char *bad = replace_once(z, damage[k][0], damage[k][1]);
        T_ASSERT_MSG(promo_gbdt_load_buffer(bad, strlen(bad), &m) == PROMO_EINPUT,
                     "damage %zu loaded", k);
        T_ASSERT(m == NULL);
        promo_free(bad);
    }
    /* Bytes XGBoost would not read as text JSON (a leading space sends it to its legacy
     * binary loader; cJSON skips control bytes as whitespace, XGBoost does not). */
    char *ctl = replace_once(z, ",\"feature_names\"", ",\x17\"feature_names\"");
    T_ASSERT_EQ_INT(promo_gbdt_load_buffer(ctl, strlen(ctl), &m), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "control byte");
    promo_free(ctl);
    char *lead = replace_once(z, "{\"learner\"", " {\"learner\"");
    T_ASSERT_EQ_INT(promo_gbdt_load_buffer(lead, strlen(lead), &m), PROMO_EINPUT);
    promo_free(lead);
    /* A regression model's base_score may lie outside (0, 1); a binary one's may not. */
    size_t nr = 0;
    char *rz = t_read_file("fuzz/corpus/model/reg2.json", &nr);
    T_ASSERT(rz != NULL);
    char *big = replace_once(rz, "\"base_score\":\"", "\"base_score\":\"-3");
    T_OK(promo_gbdt_load_buffer(big, strlen(big), &m));
    T_ASSERT_EQ_INT(promo_gbdt_get_objective(m), PROMO_GBDT_REGRESSION);
    promo_gbdt_free(m);
    promo_free(big);
    char *asbin = replace_once(rz, "\"reg:squarederror\"", "\"binary:logistic\"");
    char *asbin2 = replace_once(asbin, "\"base_score\":\"", "\"base_score\":\"-3");
    T_ASSERT_EQ_INT(promo_gbdt_load_buffer(asbin2, strlen(asbin2), &m), PROMO_EINPUT);
    promo_free(asbin);
    promo_free(asbin2);
    /* Byte flips at a stride over the whole file. */
    for (size_t i = 0; i < n; i += 7) {
        char c = z[i];
        z[i] = (char)(c ^ 0x21);
        T_ASSERT_EQ_INT(fuzz_model_one((const uint8_t *)z, n), 0);
        z[i] = c;
    }
    free(rz);
    free(z);
}
