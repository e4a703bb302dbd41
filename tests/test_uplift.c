/* Tests of src/models/uplift.c: on synthetic data with a known individual effect
 * (y = base(x) + tau(x) t + noise, tau depending on x0, randomised t; and a binary version)
 * every meta-learner's PEHE on held-out rows is far below predicting the ATE for everyone and
 * the T-learner's ATE is within a few standard errors of the truth; two treatment arms with
 * opposite effects and a policy under costs; a non-randomised log (t depends on x1) with the
 * overlap report; 1 vs 2 threads identical; bad input. Small n and few rounds keep it quick
 * under ASan. */
#include "t.h"

#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/rng.h>
#include <promo/uplift.h>

#define D 5

/* A data set with its true effects: tau is n x (n_arms - 1). */
typedef struct sim {
    float *x, *y, *tau;
    int32_t *arm;
    size_t n;
    int n_arms, binary;
} sim;

static void sim_free(sim *s)
{
    promo_free(s->x);
    promo_free(s->y);
    promo_free(s->tau);
    promo_free(s->arm);
}

/* kind 0: continuous, tau = 1 + x0; kind 1: binary, p0 = 0.3 + 0.1 x1 (clipped), tau = 0.4
 * when x0 > 0; kind 2: three arms, continuous, tau1 = x0, tau2 = -x0; kind 3: continuous as 0
 * but P(t = 1) = 0.5 when x1 < 1, 0.01 above, and base(x) rising with x1 (confounded). */
static void make_sim(int kind, uint64_t seed, size_t n, sim *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->n_arms = kind == 2 ? 3 : 2;
    s->binary = kind == 1;
    size_t E = (size_t)s->n_arms - 1;
    s->x = promo_mallocn(n * D, sizeof *s->x);
    s->y = promo_mallocn(n, sizeof *s->y);
    s->tau = promo_mallocn(n * E, sizeof *s->tau);
    s->arm = promo_mallocn(n, sizeof *s->arm);
    T_ASSERT(s->x && s->y && s->tau && s->arm);
    promo_rng r;
    promo_rng_init(&r, seed, 15);
    for (size_t i = 0; i < n; i++) {
        float *row = s->x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        double base = row[1] + 0.5 * row[2] * row[2] - 0.5;
        if (kind == 1) {
            double p0 = fmin(fmax(0.3 + 0.1 * row[1], 0.05), 0.6);
            double tau = row[0] > 0.0f ? 0.4 : 0.0;
            int t = promo_rng_bernoulli(&r, 0.5);
            s->arm[i] = t;
            s->tau[i] = (float)tau;
            s->y[i] = (float)promo_rng_bernoulli(&r, p0 + tau * t);
        } else if (kind == 2) {
            int t = (int)promo_rng_below(&r, 3);
            s->arm[i] = t;
            s->tau[2 * i] = row[0];
            s->tau[2 * i + 1] = -row[0];
            double eff = t == 0 ? 0.0 : s->tau[2 * i + (size_t)t - 1];
            s->y[i] = (float)(base + eff + 0.5 * promo_rng_normal(&r));
        } else {
            double tau = 1.0 + row[0];
            double pt = kind == 3 ? (row[1] < 1.0f ? 0.5 : 0.01) : 0.5;
            int t = promo_rng_bernoulli(&r, pt);
            s->arm[i] = t;
            s->tau[i] = (float)tau;
            s->y[i] = (float)(base + tau * t + 0.5 * promo_rng_normal(&r));
        }
    }
}

static promo_uplift_data data_of(const sim *s)
{
    promo_uplift_data d = {s->x, s->n, D, s->arm, s->n_arms, s->y, s->binary, NULL};
    return d;
}

static promo_uplift_params small_params(promo_uplift_learner l)
{
    promo_uplift_params p = promo_uplift_params_default(l);
    p.gbdt.n_rounds = 80;
    p.gbdt.eta = 0.15;
    p.gbdt.max_depth = 3;
    p.gbdt.early_stopping_rounds = 10;
    p.gbdt.max_bin = 64;
    p.tree.n_trees = l == PROMO_UPLIFT_FOREST ? 30 : 1;
    p.tree.max_features = l == PROMO_UPLIFT_FOREST ? 0.6 : 0.0;
    p.n_threads = 1;
    p.seed = 7;
    return p;
}

/* Root mean squared error of effect column `col` against the truth. */
static double pehe(const float *eff, const sim *s, int col)
{
    size_t E = (size_t)s->n_arms - 1;
    double ss = 0.0;
    for (size_t i = 0; i < s->n; i++) {
        double e = (double)eff[i * E + (size_t)col] - s->tau[i * E + (size_t)col];
        ss += e * e;
    }
    return sqrt(ss / (double)s->n);
}

/* PEHE of predicting the (true) ATE for everyone: the sd of the true effect. */
static double pehe_ate(const sim *s, int col)
{
    size_t E = (size_t)s->n_arms - 1;
    double m = 0.0, ss = 0.0;
    for (size_t i = 0; i < s->n; i++)
        m += s->tau[i * E + (size_t)col];
    m /= (double)s->n;
    for (size_t i = 0; i < s->n; i++) {
        double e = s->tau[i * E + (size_t)col] - m;
        ss += e * e;
    }
    return sqrt(ss / (double)s->n);
}

/* Fit learner l on tr and return its held-out effects on te (caller frees). */
static float *fit_predict(const promo_uplift_params *p, const sim *tr, const sim *te)
{
    promo_uplift_data d = data_of(tr);
    promo_uplift *m = NULL;
    T_OK(promo_uplift_fit(p, &d, &m));
    T_ASSERT_EQ_INT(promo_uplift_n_arms(m), tr->n_arms);
    float *eff = promo_mallocn(te->n, (size_t)(tr->n_arms - 1) * sizeof *eff);
    T_ASSERT(eff);
    T_OK(promo_uplift_predict(m, te->x, te->n, D, eff));
    promo_uplift_free(m);
    return eff;
}

static const promo_uplift_learner metas[] = {PROMO_UPLIFT_S,     PROMO_UPLIFT_T,  PROMO_UPLIFT_X,
                                             PROMO_UPLIFT_R,     PROMO_UPLIFT_DR, PROMO_UPLIFT_TREE,
                                             PROMO_UPLIFT_FOREST};
#define N_METAS (sizeof metas / sizeof metas[0])

T_TEST(uplift_continuous_pehe)
{
    sim tr, te;
    make_sim(0, 1, 2000, &tr);
    make_sim(0, 2, 1000, &te);
    double base = pehe_ate(&te, 0);
    for (size_t k = 0; k < N_METAS; k++) {
        promo_uplift_params p = small_params(metas[k]);
        float *eff = fit_predict(&p, &tr, &te);
        double e = pehe(eff, &te, 0);
        printf("  uplift continuous %-2s PEHE %.3f (ATE for all %.3f)\n",
               promo_uplift_learner_name(metas[k]), e, base);
        T_ASSERT_MSG(e < 0.5 * base, "%s PEHE %g vs ATE-for-all %g",
                     promo_uplift_learner_name(metas[k]), e, base);
        if (metas[k] == PROMO_UPLIFT_T) {
            /* The T-learner's ATE against the truth on the same rows, within 3 se of the
             * difference in means (the sd of y per arm over sqrt(n per arm)). */
            double ate = 0.0, truth = 0.0, s[2] = {0, 0}, ss[2] = {0, 0};
            size_t c[2] = {0, 0};
            for (size_t i = 0; i < te.n; i++) {
                ate += eff[i];
                truth += te.tau[i];
            }
            for (size_t i = 0; i < tr.n; i++) {
                c[tr.arm[i]]++;
                s[tr.arm[i]] += tr.y[i];
                ss[tr.arm[i]] += (double)tr.y[i] * tr.y[i];
            }
            double se = 0.0;
            for (int a = 0; a < 2; a++) {
                double m = s[a] / (double)c[a], v = ss[a] / (double)c[a] - m * m;
                se += v / (double)c[a];
            }
            se = sqrt(se);
            ate /= (double)te.n;
            truth /= (double)te.n;
            printf("  uplift T ATE %.3f, truth %.3f, se %.3f\n", ate, truth, se);
            T_ASSERT_MSG(fabs(ate - truth) < 3.0 * se, "ATE %g vs %g (se %g)", ate, truth, se);
        }
        promo_free(eff);
    }
    sim_free(&tr);
    sim_free(&te);
}

T_TEST(uplift_binary_pehe)
{
    sim tr, te;
    make_sim(1, 3, 4000, &tr);
    make_sim(1, 4, 1000, &te);
    double base = pehe_ate(&te, 0);
    for (size_t k = 0; k < N_METAS; k++) {
        promo_uplift_params p = small_params(metas[k]);
        float *eff = fit_predict(&p, &tr, &te);
        double e = pehe(eff, &te, 0);
        printf("  uplift binary %-2s PEHE %.3f (ATE for all %.3f)\n",
               promo_uplift_learner_name(metas[k]), e, base);
        T_ASSERT_MSG(e < 0.6 * base, "%s PEHE %g vs ATE-for-all %g",
                     promo_uplift_learner_name(metas[k]), e, base);
        promo_free(eff);
    }
    /* Outcome predictions are probabilities per arm, and the T-learner's effect is their
     * difference. */
    promo_uplift_params p = small_params(PROMO_UPLIFT_T);
    promo_uplift_data d = data_of(&tr);
    promo_uplift *m = NULL;
    T_OK(promo_uplift_fit(&p, &d, &m));
    float *mu = promo_mallocn(te.n, 2 * sizeof *mu), *eff = promo_mallocn(te.n, sizeof *eff);
    T_ASSERT(mu && eff);
    T_OK(promo_uplift_predict_outcomes(m, te.x, te.n, D, mu));
    T_OK(promo_uplift_predict(m, te.x, te.n, D, eff));
    for (size_t i = 0; i < te.n; i++) {
        T_ASSERT(mu[2 * i] >= 0.0f && mu[2 * i] <= 1.0f && mu[2 * i + 1] >= 0.0f &&
                 mu[2 * i + 1] <= 1.0f);
        T_ASSERT(eff[i] == mu[2 * i + 1] - mu[2 * i]);
    }
    promo_free(mu);
    promo_free(eff);
    promo_uplift_free(m);
    sim_free(&tr);
    sim_free(&te);
}

T_TEST(uplift_two_arms_and_policy)
{
    sim tr, te;
    make_sim(2, 5, 3000, &tr);
    make_sim(2, 6, 1000, &te);
    double cost[3] = {0.0, 0.3, 0.3};
    int32_t *best = promo_mallocn(te.n, sizeof *best);
    T_ASSERT(best);
    for (size_t k = 0; k < N_METAS; k++) {
        promo_uplift_params p = small_params(metas[k]);
        float *eff = fit_predict(&p, &tr, &te);
        double e1 = pehe(eff, &te, 0), e2 = pehe(eff, &te, 1);
        double b1 = pehe_ate(&te, 0), b2 = pehe_ate(&te, 1);
        printf("  uplift 3 arms %-2s PEHE %.3f / %.3f (ATE for all %.3f / %.3f)\n",
               promo_uplift_learner_name(metas[k]), e1, e2, b1, b2);
        T_ASSERT(e1 < 0.5 * b1 && e2 < 0.5 * b2);
        /* Arm 1 pays when x0 > 0.3, arm 2 when x0 < -0.3, neither in between: where the truth
         * is clear (|x0| > 0.8 or |x0| < 0.1) the policy agrees on nearly every row. */
        T_OK(promo_uplift_policy(eff, te.n, 3, 1.0, cost, best));
        size_t n_clear = 0, n_right = 0;
        for (size_t i = 0; i < te.n; i++) {
            float x0 = te.x[i * D];
            int truth = x0 > 0.3f ? 1 : x0 < -0.3f ? 2 : 0;
            if (fabsf(x0) > 0.8f || fabsf(x0) < 0.1f) {
                n_clear++;
                n_right += best[i] == truth;
            }
        }
        T_ASSERT_MSG(n_right >= 0.9 * (double)n_clear, "%s policy right on %zu of %zu",
                     promo_uplift_learner_name(metas[k]), n_right, n_clear);
        promo_free(eff);
    }
    promo_free(best);
    sim_free(&tr);
    sim_free(&te);
}

T_TEST(uplift_policy_rules)
{
    /* Two rows, three arms: value = effect * margin - cost. */
    float eff[4] = {0.5f, 0.2f, 0.05f, 0.06f};
    double cost[3] = {0.0, 1.0, 0.1};
    int32_t best[2];
    T_OK(promo_uplift_policy(eff, 2, 3, 10.0, cost, best));
    T_ASSERT_EQ_INT(best[0], 1); /* 5 - 1 = 4 beats 2 - 0.1 */
    T_ASSERT_EQ_INT(best[1], 2); /* 0.5 - 1 < 0 < 0.6 - 0.1 */
    double dear[3] = {0.0, 10.0, 10.0};
    T_OK(promo_uplift_policy(eff, 2, 3, 10.0, dear, best));
    T_ASSERT_EQ_INT(best[0], 0);
    T_ASSERT_EQ_INT(best[1], 0);
    T_OK(promo_uplift_policy(eff, 2, 3, 1.0, NULL, best));
    T_ASSERT_EQ_INT(best[0], 1);
    T_ASSERT_EQ_INT(best[1], 2);
    T_ASSERT_EQ_INT(promo_uplift_policy(eff, 2, 1, 1.0, NULL, best), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_policy(eff, 2, 3, NAN, NULL, best), PROMO_EUSAGE);
}

T_TEST(uplift_non_randomised_overlap)
{
    sim tr, te;
    make_sim(3, 8, 3000, &tr);
    make_sim(3, 9, 1000, &te);
    promo_uplift_data d = data_of(&tr);
    double share_hi = 0.0; /* rows with x1 >= 1: their true propensity 0.01 is clipped */
    for (size_t i = 0; i < tr.n; i++)
        share_hi += tr.x[i * D + 1] >= 1.0f;
    share_hi /= (double)tr.n;
    double base = pehe_ate(&te, 0);
    promo_uplift_learner ls[] = {PROMO_UPLIFT_T, PROMO_UPLIFT_X, PROMO_UPLIFT_DR};
    for (size_t k = 0; k < sizeof ls / sizeof ls[0]; k++) {
        double e[2];
        for (int wgt = 0; wgt < 2; wgt++) {
            promo_uplift_params p = small_params(ls[k]);
            p.propensity_weighting = wgt;
            p.clip = 0.05;
            promo_uplift *m = NULL;
            T_OK(promo_uplift_fit(&p, &d, &m));
            promo_uplift_overlap ov;
            T_OK(promo_uplift_overlap_get(m, &ov));
            T_ASSERT_EQ_INT(ov.n_rows, tr.n);
            if (wgt) {
                printf("  uplift confounded %-2s overlap: clipped share %.3f, e in [%.4f, %.4f]\n",
                       promo_uplift_learner_name(ls[k]), ov.clipped_share, ov.e_min, ov.e_max);
                T_ASSERT_MSG(fabs(ov.clipped_share - share_hi) < 0.05,
                             "clipped share %g, rows with x1 >= 1 %g", ov.clipped_share, share_hi);
                T_ASSERT(ov.e_min < 0.05 && ov.e_max > 0.95);
            } else {
                T_ASSERT(ov.clipped_share == 0.0);
                T_ASSERT(ov.e_min > 0.3 && ov.e_max < 0.7); /* the two observed shares */
            }
            float *eff = promo_mallocn(te.n, sizeof *eff);
            T_ASSERT(eff);
            T_OK(promo_uplift_predict(m, te.x, te.n, D, eff));
            e[wgt] = pehe(eff, &te, 0);
            promo_free(eff);
            promo_uplift_free(m);
        }
        printf("  uplift confounded %-2s PEHE %.3f unweighted, %.3f weighted (ATE for all "
               "%.3f; clipped share should be %.3f)\n",
               promo_uplift_learner_name(ls[k]), e[0], e[1], base, share_hi);
        T_ASSERT(e[1] < 0.5 * base);
        /* Weighting helps here (fixed seeds: T 0.40 -> 0.37, X 0.169 -> 0.164, DR 0.35 ->
         * 0.30 when written); the treated rows are scarce where x1 >= 1. */
        T_ASSERT_MSG(e[1] < e[0], "%s weighted PEHE %g, unweighted %g",
                     promo_uplift_learner_name(ls[k]), e[1], e[0]);
    }
    sim_free(&tr);
    sim_free(&te);
}

T_TEST(uplift_thread_count_independent)
{
    sim tr;
    make_sim(3, 10, 500, &tr);
    promo_uplift_data d = data_of(&tr);
    /* DR with weighting goes through every kind of base model (propensity, cross-fitted
     * outcomes, effect regression); S through the one-hot columns; the forest through
     * uplift_tree.c with propensity weights. Few rounds: 2 threads on a busy machine are slow. */
    promo_uplift_learner ls[] = {PROMO_UPLIFT_S, PROMO_UPLIFT_DR, PROMO_UPLIFT_FOREST};
    for (size_t k = 0; k < sizeof ls / sizeof ls[0]; k++) {
        float *eff[2];
        for (int th = 0; th < 2; th++) {
            promo_uplift_params p = small_params(ls[k]);
            p.n_threads = th + 1;
            p.one_thread_cells = 0; /* 500 x 4 cells: two threads only when asked for */
            p.propensity_weighting = 1;
            p.gbdt.n_rounds = 8;
            p.tree.min_leaf = 20;
            p.tree.n_trees = 8;
            promo_uplift *m = NULL;
            T_OK(promo_uplift_fit(&p, &d, &m));
            eff[th] = promo_mallocn(tr.n, sizeof *eff[th]);
            T_ASSERT(eff[th]);
            T_OK(promo_uplift_predict(m, tr.x, tr.n, D, eff[th]));
            promo_uplift_free(m);
        }
        T_ASSERT_MSG(memcmp(eff[0], eff[1], tr.n * sizeof *eff[0]) == 0,
                     "%s differs at 1 and 2 threads", promo_uplift_learner_name(ls[k]));
        promo_free(eff[0]);
        promo_free(eff[1]);
    }
    sim_free(&tr);
}

T_TEST(uplift_bad_input)
{
    sim tr;
    make_sim(0, 11, 200, &tr);
    promo_uplift_data d = data_of(&tr);
    promo_uplift *m = NULL;
    promo_uplift_params p = small_params(PROMO_UPLIFT_T);

    /* Names. */
    T_ASSERT_STR_EQ(promo_uplift_learner_name(PROMO_UPLIFT_DR), "dr");
    T_ASSERT_STR_EQ(promo_uplift_learner_name(PROMO_UPLIFT_FOREST), "forest");
    T_ASSERT_STR_EQ(promo_uplift_learner_name(PROMO_UPLIFT_LEARNER_COUNT), "?");
    promo_uplift_learner l;
    T_OK(promo_uplift_learner_parse("x", &l));
    T_ASSERT_EQ_INT(l, PROMO_UPLIFT_X);
    T_ASSERT_EQ_INT(promo_uplift_learner_parse("y", &l), PROMO_EUSAGE);

    /* Parameters first: a bad parameter wins over bad data. */
    promo_uplift_params bad = p;
    bad.valid_frac = 0.95;
    T_ASSERT_EQ_INT(promo_uplift_fit(&bad, &d, &m), PROMO_EUSAGE);
    bad = p;
    bad.clip = 0.5;
    T_ASSERT_EQ_INT(promo_uplift_fit(&bad, &d, &m), PROMO_EUSAGE);
    bad = p;
    bad.propensity_weighting = 2;
    T_ASSERT_EQ_INT(promo_uplift_fit(&bad, &d, &m), PROMO_EUSAGE);
    bad = p;
    bad.learner = PROMO_UPLIFT_LEARNER_COUNT;
    T_ASSERT_EQ_INT(promo_uplift_fit(&bad, &d, &m), PROMO_EUSAGE);
    bad = p;
    bad.n_threads = -1;
    float y0 = tr.y[3];
    tr.y[3] = NAN;
    T_ASSERT_EQ_INT(promo_uplift_fit(&bad, &d, &m), PROMO_EUSAGE);
    T_ASSERT(m == NULL);

    /* Then the data: NaN outcome, binary outcome not 0/1, arm out of range, too few rows. */
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &d, &m), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "row 3");
    T_ASSERT_CONTAINS(promo_last_error(), "NaN");
    tr.y[3] = y0;
    promo_uplift_data db = d;
    db.binary = 1;
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &db, &m), PROMO_EINPUT);
    int32_t a0 = tr.arm[5];
    tr.arm[5] = 2;
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &d, &m), PROMO_EINPUT);
    tr.arm[5] = a0;
    promo_uplift_data ds = d;
    ds.n = 12; /* fewer than 10 rows in some arm */
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &ds, &m), PROMO_EINPUT);
    ds = d;
    ds.n_arms = 1;
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &ds, &m), PROMO_EUSAGE);
    ds = d;
    ds.y = NULL;
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &ds, &m), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_fit(NULL, &d, &m), PROMO_EUSAGE);

    /* The tree's own checks come through: KL needs a binary outcome. */
    promo_uplift_params pt = small_params(PROMO_UPLIFT_TREE);
    pt.tree.split = PROMO_SPLIT_KL;
    T_ASSERT_EQ_INT(promo_uplift_fit(&pt, &d, &m), PROMO_EUSAGE);
    T_ASSERT(m == NULL);

    /* A fitted model: width checked; R has no outcome predictions; NULL-safe free. */
    p.learner = PROMO_UPLIFT_R;
    p.gbdt.n_rounds = 5;
    T_OK(promo_uplift_fit(&p, &d, &m));
    float out[8];
    T_ASSERT_EQ_INT(promo_uplift_predict(m, tr.x, 1, D - 1, out), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_uplift_predict_outcomes(m, tr.x, 1, D, out), PROMO_EUSAGE);
    T_OK(promo_uplift_predict_propensity(m, tr.x, 2, D, out));
    T_ASSERT_NEAR(out[0] + out[1], 1.0, 1e-6);
    T_OK(promo_uplift_predict(m, tr.x, 2, D, out));
    T_ASSERT(isfinite(out[0]) && isfinite(out[1]));
    promo_uplift_free(m);
    promo_uplift_free(NULL);
    sim_free(&tr);
}

T_TEST(uplift_alloc_failures)
{
    /* An allocation of a fit failing gives PROMO_ENOMEM, no model and no leak: the first 12
     * allocations and 24 spread over the rest (all of them would take a minute under ASan). */
    sim tr;
    make_sim(2, 12, 150, &tr);
    promo_uplift_data d = data_of(&tr);
    promo_uplift_learner ls[] = {PROMO_UPLIFT_S, PROMO_UPLIFT_X, PROMO_UPLIFT_R, PROMO_UPLIFT_DR,
                                 PROMO_UPLIFT_FOREST};
    for (size_t j = 0; j < sizeof ls / sizeof ls[0]; j++) {
        promo_uplift_params p = small_params(ls[j]);
        p.propensity_weighting = 1;
        p.gbdt.n_rounds = 2;
        p.tree.min_leaf = 10;
        p.tree.n_trees = 2;
        promo_uplift *m = NULL;
        promo_alloc_fail_at(0);
        T_OK(promo_uplift_fit(&p, &d, &m));
        long n_alloc = promo_alloc_count();
        promo_uplift_free(m);
        T_ASSERT(n_alloc > 12);
        for (int s = 0; s < 36; s++) {
            long k = s < 12 ? s + 1 : 12 + (n_alloc - 12) * (s - 11) / 25;
            m = NULL;
            promo_alloc_fail_at(k);
            int rc = promo_uplift_fit(&p, &d, &m);
            promo_alloc_fail_at(0);
            T_ASSERT_MSG(rc == PROMO_ENOMEM, "%s: allocation %ld of %ld: %d %s",
                         promo_uplift_learner_name(ls[j]), k, n_alloc, rc, promo_last_error());
            T_ASSERT(m == NULL);
        }
    }
    sim_free(&tr);
}

T_TEST(uplift_weights_and_no_early_stopping)
{
    /* Constant row weights change nothing (weights are rescaled to mean 1 per model); with
     * valid_frac 0 every row trains and the model still learns. */
    sim tr, te;
    make_sim(0, 13, 600, &tr);
    make_sim(0, 14, 300, &te);
    float *w = promo_mallocn(tr.n, sizeof *w);
    T_ASSERT(w);
    for (size_t i = 0; i < tr.n; i++)
        w[i] = 2.5f;
    promo_uplift_learner ls[] = {PROMO_UPLIFT_T, PROMO_UPLIFT_DR};
    for (size_t k = 0; k < sizeof ls / sizeof ls[0]; k++) {
        promo_uplift_params p = small_params(ls[k]);
        float *e0 = fit_predict(&p, &tr, &te);
        promo_uplift_data d = data_of(&tr);
        d.w = w;
        promo_uplift *m = NULL;
        T_OK(promo_uplift_fit(&p, &d, &m));
        float *e1 = promo_mallocn(te.n, sizeof *e1);
        T_ASSERT(e1);
        T_OK(promo_uplift_predict(m, te.x, te.n, D, e1));
        for (size_t i = 0; i < te.n; i++)
            T_ASSERT_NEAR(e0[i], e1[i], 1e-4);
        promo_uplift_free(m);
        promo_free(e1);
        promo_free(e0);
        p.valid_frac = 0.0;
        p.gbdt.n_rounds = 30;
        e0 = fit_predict(&p, &tr, &te);
        T_ASSERT(pehe(e0, &te, 0) < 0.6 * pehe_ate(&te, 0));
        promo_free(e0);
    }
    w[0] = -1.0f;
    promo_uplift_data d = data_of(&tr);
    d.w = w;
    promo_uplift *m = NULL;
    promo_uplift_params p = small_params(PROMO_UPLIFT_T);
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &d, &m), PROMO_EINPUT);
    promo_free(w);
    sim_free(&tr);
    sim_free(&te);
}

T_TEST(uplift_rounds_kept_and_one_thread_cells)
{
    /* rounds_kept: the most rounds a base model kept (no early stopping: all of them); none
     * for a forest. one_thread_cells changes where the threads go, not the model. */
    sim tr;
    make_sim(0, 21, 400, &tr);
    promo_uplift_data d = data_of(&tr);
    promo_uplift_params p = small_params(PROMO_UPLIFT_T);
    p.valid_frac = 0.0;
    p.gbdt.n_rounds = 9;
    p.n_threads = 2;
    float *eff[2];
    for (int k = 0; k < 2; k++) {
        p.one_thread_cells = k ? 0 : 2e6;
        promo_uplift *m = NULL;
        T_OK(promo_uplift_fit(&p, &d, &m));
        T_ASSERT_EQ_INT(promo_uplift_rounds_kept(m), 9);
        eff[k] = promo_mallocn(tr.n, sizeof *eff[k]);
        T_ASSERT(eff[k]);
        T_OK(promo_uplift_predict(m, tr.x, tr.n, D, eff[k]));
        promo_uplift_free(m);
    }
    T_ASSERT(memcmp(eff[0], eff[1], tr.n * sizeof *eff[0]) == 0);
    promo_free(eff[0]);
    promo_free(eff[1]);
    p = small_params(PROMO_UPLIFT_FOREST);
    promo_uplift *f = NULL;
    T_OK(promo_uplift_fit(&p, &d, &f));
    T_ASSERT_EQ_INT(promo_uplift_rounds_kept(f), 0);
    promo_uplift_free(f);
    T_ASSERT_EQ_INT(promo_uplift_rounds_kept(NULL), 0);
    p = small_params(PROMO_UPLIFT_T);
    p.one_thread_cells = -1;
    T_ASSERT_EQ_INT(promo_uplift_fit(&p, &d, &f), PROMO_EUSAGE);
    sim_free(&tr);
}
