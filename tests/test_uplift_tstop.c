/* The T-learner's joint boosting (src/models/uplift.c) and the stepwise boosting under it
 * (promo_gbdt_boost_*, src/models/gbdt.c): on data built so that the effect is simple and
 * learnt early while the outcome itself keeps improving with more trees, the T-learner's stop
 * on the validation Qini keeps fewer rounds than each arm model's own log-loss stop would;
 * results are identical for a seed at 1 and 2 threads; the stepwise booster's margins are those
 * of the model it ends with; bad calls are refused. And `promo uplift` reads a column that looks
 * numeric at the top of the file but holds text further down as the text column it is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/gbdt.h>
#include <promo/learner.h>
#include <promo/rng.h>
#include <promo/uplift.h>

#include "t.h"

#define D 6

/* Binary outcome: the control rate rises smoothly with x1..x5 (a logistic of their sum: small
 * trees go on lowering its log loss for many rounds); the treatment adds 0.35 to the rate when
 * x0 > 0 (a stump learns it). Arms at random. */
static void make_plateau(size_t n, uint64_t seed, float *x, int32_t *arm, float *y)
{
    promo_rng r;
    promo_rng_init(&r, seed, 3);
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * D;
        double z = 0.0;
        for (int j = 0; j < D; j++) {
            row[j] = (float)promo_rng_normal(&r);
            z += j ? row[j] : 0.0;
        }
        double p0 = 0.6 / (1.0 + exp(0.8 - 2.5 * z / sqrt(5.0)));
        arm[i] = promo_rng_bernoulli(&r, 0.5);
        double p = p0 + (arm[i] && row[0] > 0.0f ? 0.35 : 0.0);
        y[i] = (float)promo_rng_bernoulli(&r, p);
    }
}

static int cmp_float(const void *a, const void *b)
{
    float u = *(const float *)a, v = *(const float *)b;
    return (u > v) - (u < v);
}

static promo_uplift_params tparams(int cap, int threads)
{
    promo_uplift_params p = promo_uplift_params_default(PROMO_UPLIFT_T);
    p.gbdt.n_rounds = cap;
    p.gbdt.eta = 0.1;
    p.gbdt.max_depth = 3;
    p.gbdt.early_stopping_rounds = 15;
    p.gbdt.max_bin = 64;
    p.n_threads = threads;
    p.seed = 5;
    p.qini_stop = 1; /* auto would not: a few thousand rows */
    return p;
}

static float *t_effects(const promo_uplift_params *p, const promo_uplift_data *d)
{
    promo_uplift *m = NULL;
    T_OK(promo_uplift_fit(p, d, &m));
    float *eff = promo_mallocn(d->n, sizeof *eff);
    T_ASSERT(eff);
    T_OK(promo_uplift_predict(m, d->x, d->n, d->d, eff));
    promo_uplift_free(m);
    return eff;
}

T_TEST(uplift_t_stops_on_the_validation_qini_before_the_log_loss_does)
{
    size_t n = 16000;
    float *x = promo_mallocn(n * D, sizeof *x), *y = promo_mallocn(n, sizeof *y);
    int32_t *arm = promo_mallocn(n, sizeof *arm);
    T_ASSERT(x && y && arm);
    make_plateau(n, 11, x, arm, y);
    promo_uplift_data d = {x, n, D, arm, 2, y, 1, NULL};

    /* A cap of 400 and one of 50 give the same model: the Qini stop came (with its 15 rounds
     * of patience) before round 50. Were it not stopping, the 400-round models would differ. */
    promo_uplift_params p400 = tparams(400, 1), p45 = tparams(50, 1);
    float *e400 = t_effects(&p400, &d), *e45 = t_effects(&p45, &d);
    T_ASSERT_MSG(memcmp(e400, e45, n * sizeof *e400) == 0,
                 "the Qini stop did not come before round 50 of 400");
    /* ... and it ranks as the planted effect does: of the rows with the larger half of the
     * predicted effects, nearly all have x0 > 0 (the magnitudes are shrunk after few rounds at
     * eta 0.1; the ranking is what the stop judged). */
    size_t above = 0, top = 0;
    float *sorted = promo_mallocn(n, sizeof *sorted);
    T_ASSERT(sorted);
    memcpy(sorted, e400, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_float);
    float median = sorted[n / 2];
    for (size_t i = 0; i < n; i++)
        if (e400[i] > median) {
            top++;
            above += x[i * D] > 0.0f;
        }
    T_ASSERT_MSG(top > n / 3 && (double)above > 0.9 * (double)top,
                 "%zu of the %zu rows with the larger effects have x0 > 0", above, top);
    promo_free(sorted);

    /* The treated arm's own model with the log-loss stop, same parameters and a 20% validation
     * share: it keeps more than 50 rounds (the outcome goes on improving). */
    size_t nt = 0, nv = 0;
    float *xt = promo_mallocn(n * D, sizeof *xt), *yt = promo_mallocn(n, sizeof *yt);
    float *xv = promo_mallocn(n * D, sizeof *xv), *yv = promo_mallocn(n, sizeof *yv);
    T_ASSERT(xt && yt && xv && yv);
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!arm[i])
            continue;
        if (k++ % 5 == 0) {
            memcpy(xv + nv * D, x + i * D, D * sizeof *x);
            yv[nv++] = y[i];
        } else {
            memcpy(xt + nt * D, x + i * D, D * sizeof *x);
            yt[nt++] = y[i];
        }
    }
    promo_learner_params lp = promo_learner_params_default(PROMO_LEARNER_GBDT);
    lp.gbdt = p400.gbdt;
    lp.gbdt.nthread = 1;
    promo_learner_data tr = {xt, nt, D, yt, NULL, 0}, va = {xv, nv, D, yv, NULL, 0};
    promo_learner *l = NULL;
    T_OK(promo_learner_train(&lp, &tr, &va, &l));
    int rounds = promo_gbdt_n_rounds(promo_learner_gbdt(l));
    T_ASSERT_MSG(rounds > 50, "the log-loss stop kept only %d rounds", rounds);
    promo_learner_free(l);

    promo_free(e400);
    promo_free(e45);
    promo_free(xt);
    promo_free(yt);
    promo_free(xv);
    promo_free(yv);
    promo_free(x);
    promo_free(y);
    promo_free(arm);
}

T_TEST(uplift_t_joint_is_deterministic_and_thread_free)
{
    size_t n = 3000;
    float *x = promo_mallocn(n * D, sizeof *x), *y = promo_mallocn(n, sizeof *y);
    int32_t *arm = promo_mallocn(n, sizeof *arm);
    T_ASSERT(x && y && arm);
    make_plateau(n, 12, x, arm, y);
    /* three arms: the second treatment copies the first's outcomes on its own rows */
    for (size_t i = 0; i < n; i += 3)
        arm[i] = arm[i] ? 2 : 0;
    promo_uplift_data d = {x, n, D, arm, 3, y, 1, NULL};
    promo_uplift_params p1 = tparams(60, 1), p2 = tparams(60, 2);
    promo_uplift *m[3] = {NULL, NULL, NULL};
    T_OK(promo_uplift_fit(&p1, &d, &m[0]));
    T_OK(promo_uplift_fit(&p1, &d, &m[1]));
    T_OK(promo_uplift_fit(&p2, &d, &m[2]));
    float *eff[3];
    for (int k = 0; k < 3; k++) {
        eff[k] = promo_mallocn(n * 2, sizeof *eff[k]);
        T_ASSERT(eff[k]);
        T_OK(promo_uplift_predict(m[k], x, n, D, eff[k]));
    }
    T_ASSERT_MSG(memcmp(eff[0], eff[1], n * 2 * sizeof *eff[0]) == 0, "two fits differ");
    T_ASSERT_MSG(memcmp(eff[0], eff[2], n * 2 * sizeof *eff[0]) == 0, "1 and 2 threads differ");
    /* outcome predictions are the arm models' (T keeps them for the groups and DR values) */
    float *mu = promo_mallocn(n * 3, sizeof *mu);
    T_ASSERT(mu);
    T_OK(promo_uplift_predict_outcomes(m[0], x, n, D, mu));
    for (size_t i = 0; i < n; i++)
        T_ASSERT(eff[0][i * 2] == mu[i * 3 + 1] - mu[i * 3] && mu[i * 3] > 0 && mu[i * 3] < 1);
    promo_free(mu);
    for (int k = 0; k < 3; k++) {
        promo_uplift_free(m[k]);
        promo_free(eff[k]);
    }
    promo_free(x);
    promo_free(y);
    promo_free(arm);
}

T_TEST(gbdt_boost_margins_are_the_ended_models_and_bins_are_shared)
{
    size_t n = 2000, ne = 300;
    float *x = promo_mallocn(n * D, sizeof *x), *y = promo_mallocn(n, sizeof *y);
    int32_t *arm = promo_mallocn(n, sizeof *arm);
    T_ASSERT(x && y && arm);
    make_plateau(n, 13, x, arm, y);
    promo_gbdt_params p = promo_gbdt_params_default();
    p.max_depth = 3;
    p.max_bin = 32;
    p.nthread = 1;
    promo_gbdt_data a = {x, n / 2, D, y, NULL}, b = {x + (n / 2) * D, n / 2, D, y + n / 2, NULL};
    promo_gbdt_boost *ba = NULL, *bb = NULL;
    T_OK(promo_gbdt_boost_begin(&p, &a, x, ne, NULL, &ba));
    T_OK(promo_gbdt_boost_begin(&p, &b, x, ne, ba, &bb));
    for (int r = 0; r < 12; r++) {
        T_OK(promo_gbdt_boost_round(ba));
        T_OK(promo_gbdt_boost_round(bb));
    }
    T_ASSERT_EQ_INT(promo_gbdt_boost_rounds(bb), 12);
    float *keep = promo_mallocn(ne, sizeof *keep), *pred = promo_mallocn(ne, sizeof *pred);
    T_ASSERT(keep && pred);
    const float *mb = NULL;
    T_OK(promo_gbdt_boost_margins(bb, &mb));
    memcpy(keep, mb, ne * sizeof *keep);
    /* bins from another width or bin count are refused */
    promo_gbdt_params q = p;
    q.max_bin = 64;
    promo_gbdt_boost *bad = NULL;
    T_ASSERT_EQ_INT(promo_gbdt_boost_begin(&q, &b, x, ne, ba, &bad), PROMO_EUSAGE);
    T_ASSERT(bad == NULL);
    promo_gbdt *g = NULL;
    T_OK(promo_gbdt_boost_end(bb, 12, &g));
    T_OK(promo_gbdt_predict(g, x, ne, D, 1, pred));
    T_ASSERT_MSG(memcmp(keep, pred, ne * sizeof *pred) == 0, "kept margins differ from the model");
    T_ASSERT_EQ_INT(promo_gbdt_n_rounds(g), 12);
    promo_gbdt_free(g);
    /* keep out of range: refused, and the booster is freed anyway (ASan checks) */
    T_ASSERT_EQ_INT(promo_gbdt_boost_end(ba, 13, &g), PROMO_EUSAGE);
    T_ASSERT(g == NULL);
    /* a learner over a cut model predicts like it */
    promo_gbdt_boost *bc = NULL;
    T_OK(promo_gbdt_boost_begin(&p, &a, NULL, 0, NULL, &bc));
    for (int r = 0; r < 5; r++)
        T_OK(promo_gbdt_boost_round(bc));
    T_OK(promo_gbdt_boost_margins(bc, &mb));
    T_ASSERT(mb == NULL);
    T_OK(promo_gbdt_boost_end(bc, 3, &g));
    promo_learner *l = NULL;
    T_OK(promo_learner_from_gbdt(g, &l));
    T_ASSERT_EQ_INT(promo_gbdt_n_rounds(promo_learner_gbdt(l)), 3);
    T_ASSERT_EQ_INT((int)promo_learner_get_objective(l), (int)PROMO_LEARNER_BINARY);
    T_OK(promo_learner_predict(l, x, ne, D, pred));
    for (size_t i = 0; i < ne; i++)
        T_ASSERT(pred[i] > 0 && pred[i] < 1);
    promo_learner_free(l);
    promo_free(keep);
    promo_free(pred);
    promo_free(x);
    promo_free(y);
    promo_free(arm);
}

/* More than the 256 KiB the reader samples to guess the numeric columns: column z is a number
 * in every row but the last, which says "n/a". */
T_TEST(uplift_cli_a_column_numeric_only_at_the_top_is_read_as_text)
{
    const char *dir = t_tmpdir();
    char path[700], args[1000], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/late_text.csv", dir);
    size_t rows = 20000, cap = rows * 48 + 64, at = 0;
    char *buf = malloc(cap);
    T_ASSERT(buf);
    uint64_t s = 99;
    at += (size_t)snprintf(buf + at, cap - at, "x1,z,group,visit\n");
    for (size_t i = 0; i < rows; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) * 0x1.0p-53;
        int treated = (s >> 7) & 1, visit = u < (treated && u > 0.3 ? 0.6 : 0.2);
        if (i + 1 < rows)
            at += (size_t)snprintf(buf + at, cap - at, "%.6f,%d,%s,%d\n", u, (int)(i % 3),
                                   treated ? "mail" : "control", visit);
        else
            at += (size_t)snprintf(buf + at, cap - at, "%.6f,n/a,%s,%d\n", u,
                                   treated ? "mail" : "control", visit);
    }
    T_ASSERT(at > 256 * 1024);
    t_write_file(path, buf, at);
    free(buf);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit --learner s --seed 3 --json "
             "--threads 1",
             path);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    /* z has 4 levels (0, 1, 2, n/a): one-hot, as the type inference makes it */
    T_ASSERT_CONTAINS(out, "{\"column\":\"z\",\"encoding\":\"one-hot\",\"width\":4}");
    T_ASSERT_CONTAINS(out, "{\"column\":\"x1\",\"encoding\":\"numeric\",\"width\":1}");
    /* the feature order is the header's */
    T_ASSERT(strstr(out, "\"x1\"") < strstr(out, "\"z\""));
    free(out);
    free(err);
}

T_TEST(uplift_t_joint_alloc_failures)
{
    /* An allocation of the joint fit failing gives PROMO_ENOMEM, no model and no leak: the first
     * 10 and 20 spread over the rest. */
    size_t n = 400;
    float *x = promo_mallocn(n * D, sizeof *x), *y = promo_mallocn(n, sizeof *y);
    int32_t *arm = promo_mallocn(n, sizeof *arm);
    T_ASSERT(x && y && arm);
    make_plateau(n, 14, x, arm, y);
    promo_uplift_data d = {x, n, D, arm, 2, y, 1, NULL};
    promo_uplift_params p = tparams(6, 1);
    promo_uplift *m = NULL;
    promo_alloc_fail_at(0);
    T_OK(promo_uplift_fit(&p, &d, &m));
    long n_alloc = promo_alloc_count();
    promo_uplift_free(m);
    T_ASSERT(n_alloc > 10);
    for (int s = 0; s < 30; s++) {
        long k = s < 10 ? s + 1 : 10 + (n_alloc - 10) * (s - 9) / 21;
        m = NULL;
        promo_alloc_fail_at(k);
        int rc = promo_uplift_fit(&p, &d, &m);
        promo_alloc_fail_at(0);
        T_ASSERT_MSG(rc == PROMO_ENOMEM, "allocation %ld of %ld: %d %s", k, n_alloc, rc,
                     promo_last_error());
        T_ASSERT(m == NULL);
    }
    promo_free(x);
    promo_free(y);
    promo_free(arm);
}
