/* Tests of the CT learner (class transformation, src/models/uplift.c fit_ct): on synthetic data
 * with a known effect its held-out effects are far closer to the truth than the ATE for
 * everyone, for binary outcomes (where they are 2 P(z = 1 | x) - 1, so within [-1, 1]) and
 * continuous ones (the transformed outcome), with two treatment arms of opposite effects and on
 * a non-randomised log with propensity weighting; its Qini stop (large data, bins cut from a
 * sample of the rows) keeps fewer rounds than the cap and gives the same effects at 1 and 2
 * threads; it has no outcome predictions; "ct" parses. */
#include "t.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/rng.h>
#include <promo/uplift.h>

#define D 5

typedef struct sim {
    float *x, *y, *tau; /* tau: n x (n_arms - 1) true effects */
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

/* kind 0: binary, p0 = 0.3 + 0.1 x1 (clipped), tau = 0.3 when x0 > 0, -0.1 otherwise;
 * kind 1: continuous, y = x1 + 0.5 x2^2 + (1 + x0) t + N(0, 0.5^2);
 * kind 2: three arms, continuous, tau1 = x0, tau2 = -x0;
 * kind 3: binary as 0, but P(t = 1) = 0.7 when x1 > 0, 0.2 otherwise (not randomised). */
static void make_sim(int kind, uint64_t seed, size_t n, sim *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->n_arms = kind == 2 ? 3 : 2;
    s->binary = kind == 0 || kind == 3;
    size_t E = (size_t)s->n_arms - 1;
    s->x = promo_mallocn(n * D, sizeof *s->x);
    s->y = promo_mallocn(n, sizeof *s->y);
    s->tau = promo_mallocn(n * E, sizeof *s->tau);
    s->arm = promo_mallocn(n, sizeof *s->arm);
    T_ASSERT(s->x && s->y && s->tau && s->arm);
    promo_rng r;
    promo_rng_init(&r, seed, 21);
    for (size_t i = 0; i < n; i++) {
        float *row = s->x + i * D;
        for (int j = 0; j < D; j++)
            row[j] = (float)promo_rng_normal(&r);
        if (s->binary) {
            double p0 = fmin(fmax(0.3 + 0.1 * row[1], 0.15), 0.5);
            double tau = row[0] > 0.0f ? 0.3 : -0.1;
            double pt = kind == 3 ? (row[1] > 0.0f ? 0.7 : 0.2) : 0.5;
            int t = promo_rng_bernoulli(&r, pt);
            s->arm[i] = t;
            s->tau[i] = (float)tau;
            s->y[i] = (float)promo_rng_bernoulli(&r, p0 + tau * t);
        } else if (kind == 2) {
            int t = (int)promo_rng_below(&r, 3);
            s->arm[i] = t;
            s->tau[2 * i] = row[0];
            s->tau[2 * i + 1] = -row[0];
            double eff = t == 0 ? 0.0 : s->tau[2 * i + (size_t)t - 1];
            s->y[i] = (float)(row[1] + eff + 0.5 * promo_rng_normal(&r));
        } else {
            int t = promo_rng_bernoulli(&r, 0.5);
            s->arm[i] = t;
            s->tau[i] = 1.0f + row[0];
            s->y[i] = (float)(row[1] + 0.5 * row[2] * row[2] + s->tau[i] * t +
                              0.5 * promo_rng_normal(&r));
        }
    }
}

static promo_uplift_params ct_params(void)
{
    promo_uplift_params p = promo_uplift_params_default(PROMO_UPLIFT_CT);
    p.gbdt.n_rounds = 80;
    p.gbdt.max_depth = 3;
    p.gbdt.early_stopping_rounds = 10;
    p.gbdt.max_bin = 64;
    p.n_threads = 1;
    p.seed = 7;
    return p;
}

/* Root mean squared error of effect column col against the truth, and of the true ATE. */
static void pehe(const float *eff, const sim *s, int col, double *err, double *ate_err)
{
    size_t E = (size_t)s->n_arms - 1;
    double ss = 0.0, m = 0.0, sa = 0.0;
    for (size_t i = 0; i < s->n; i++)
        m += s->tau[i * E + (size_t)col] / (double)s->n;
    for (size_t i = 0; i < s->n; i++) {
        double t = s->tau[i * E + (size_t)col], e = (double)eff[i * E + (size_t)col] - t;
        ss += e * e;
        sa += (t - m) * (t - m);
    }
    *err = sqrt(ss / (double)s->n);
    *ate_err = sqrt(sa / (double)s->n);
}

static float *fit_predict(const promo_uplift_params *p, const sim *tr, const sim *te)
{
    promo_uplift_data d = {tr->x, tr->n, D, tr->arm, tr->n_arms, tr->y, tr->binary, NULL};
    promo_uplift *m = NULL;
    T_OK(promo_uplift_fit(p, &d, &m));
    T_ASSERT_EQ_INT(promo_uplift_get_learner(m), PROMO_UPLIFT_CT);
    T_ASSERT(promo_uplift_rounds_kept(m) >= 1 && promo_uplift_rounds_kept(m) <= p->gbdt.n_rounds);
    float *eff = promo_mallocn(te->n, (size_t)(tr->n_arms - 1) * sizeof *eff);
    float *mu = promo_mallocn(te->n, (size_t)tr->n_arms * sizeof *mu);
    T_ASSERT(eff && mu);
    T_OK(promo_uplift_predict(m, te->x, te->n, D, eff));
    /* the effect is learnt without the outcomes */
    T_ASSERT_EQ_INT(promo_uplift_predict_outcomes(m, te->x, te->n, D, mu), PROMO_EUSAGE);
    promo_clear_error();
    promo_free(mu);
    promo_uplift_free(m);
    return eff;
}

T_TEST(uplift_ct_learns_the_effect)
{
    static const struct {
        int kind, weighting;
        size_t n;
        double ratio; /* PEHE at most this share of the ATE-for-all's */
    } cases[] = {{0, 0, 6000, 0.6}, {1, 0, 3000, 0.6}, {2, 0, 4500, 0.6}, {3, 1, 8000, 0.6}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sim tr, te;
        make_sim(cases[c].kind, 11 + c, cases[c].n, &tr);
        make_sim(cases[c].kind, 101 + c, 2000, &te);
        promo_uplift_params p = ct_params();
        p.propensity_weighting = cases[c].weighting;
        float *eff = fit_predict(&p, &tr, &te);
        for (int col = 0; col < tr.n_arms - 1; col++) {
            double e, base;
            pehe(eff, &te, col, &e, &base);
            printf("  uplift ct kind %d arm %d PEHE %.3f (ATE for all %.3f)\n", cases[c].kind,
                   col + 1, e, base);
            T_ASSERT_MSG(e < cases[c].ratio * base, "kind %d arm %d: PEHE %g vs %g", cases[c].kind,
                         col + 1, e, base);
        }
        for (size_t i = 0; tr.binary && i < te.n; i++)
            T_ASSERT(eff[i] >= -1.0f && eff[i] <= 1.0f);
        promo_free(eff);
        sim_free(&tr);
        sim_free(&te);
    }
}

/* Large enough for the Qini stop's bins from a sample (more than 2 x 65,536 training rows in the
 * pair); few rounds keep it quick. */
T_TEST(uplift_ct_qini_stop_threads_and_names)
{
    sim tr, te;
    make_sim(0, 5, 180000, &tr);
    make_sim(0, 6, 3000, &te);
    promo_uplift_params p = ct_params();
    p.gbdt.n_rounds = 60;
    p.gbdt.eta = 0.3;
    p.qini_stop = -1; /* auto: 18,000 validation rows per arm */
    float *e1 = fit_predict(&p, &tr, &te);
    p.n_threads = 2;
    p.one_thread_cells = 0;
    float *e2 = fit_predict(&p, &tr, &te);
    double e, base;
    pehe(e1, &te, 0, &e, &base);
    /* the stop reads the ranking: rows with the larger effect (x0 > 0) come first */
    size_t above = 0, agree = 0;
    double mean = 0.0;
    for (size_t i = 0; i < te.n; i++)
        mean += e1[i] / (double)te.n;
    for (size_t i = 0; i < te.n; i++) {
        above += e1[i] > mean;
        agree += (e1[i] > mean) == (te.x[i * D] > 0.0f);
    }
    printf("  uplift ct Qini stop PEHE %.3f (ATE for all %.3f), %zu of %zu rows on the right "
           "side of the mean effect\n",
           e, base, agree, te.n);
    T_ASSERT(e < 0.6 * base);
    T_ASSERT(above > 0 && agree >= 9 * te.n / 10);
    T_ASSERT(memcmp(e1, e2, te.n * sizeof *e1) == 0);
    promo_free(e1);
    promo_free(e2);

    /* the step function is learnt in a few rounds: the Qini stop ends well before the cap */
    promo_uplift_data d = {tr.x, tr.n, D, tr.arm, 2, tr.y, 1, NULL};
    promo_uplift *m = NULL;
    p.n_threads = 1;
    T_OK(promo_uplift_fit(&p, &d, &m));
    printf("  uplift ct Qini stop kept %d of at most %d rounds\n", promo_uplift_rounds_kept(m),
           p.gbdt.n_rounds);
    T_ASSERT(promo_uplift_rounds_kept(m) < p.gbdt.n_rounds - p.gbdt.early_stopping_rounds);
    promo_uplift_free(m);

    promo_uplift_learner l = PROMO_UPLIFT_T;
    T_OK(promo_uplift_learner_parse("ct", &l));
    T_ASSERT_EQ_INT(l, PROMO_UPLIFT_CT);
    T_ASSERT_STR_EQ(promo_uplift_learner_name(PROMO_UPLIFT_CT), "ct");
    T_ASSERT_EQ_INT(promo_uplift_learner_parse("c", &l), PROMO_EUSAGE);
    T_ASSERT(strstr(promo_last_error(), "ct") != NULL);
    promo_clear_error();
    sim_free(&tr);
    sim_free(&te);
}

/* The command line: `promo uplift --learner ct` on a CSV of three arms finds the planted effect
 * of "a" (where x1 > 0.5) and the negative one of "b", and writes one effect column per arm. */
T_TEST(uplift_ct_cli_finds_the_planted_effects)
{
    const char *dir = t_tmpdir();
    char path[700], pred[700], args[2000], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/ct.csv", dir);
    snprintf(pred, sizeof pred, "%s/ct_pred.csv", dir);
    static const char *const arms[] = {"control", "a", "b"};
    size_t n = 6000, cap = n * 48 + 64, at = 0;
    char *buf = promo_malloc(cap);
    T_ASSERT(buf);
    promo_rng r;
    promo_rng_init(&r, 17, 1);
    at += (size_t)snprintf(buf + at, cap - at, "x1,x2,group,visit\n");
    for (size_t i = 0; i < n; i++) {
        double x1 = promo_rng_uniform(&r), x2 = promo_rng_uniform(&r);
        int arm = (int)promo_rng_below(&r, 3);
        double p = 0.2 + 0.1 * x1 + (arm == 1 && x1 > 0.5 ? 0.4 : 0) - (arm == 2 ? 0.15 : 0);
        at += (size_t)snprintf(buf + at, cap - at, "%.6f,%.6f,%s,%d\n", x1, x2, arms[arm],
                               promo_rng_bernoulli(&r, p));
    }
    t_write_file(path, buf, at);
    promo_free(buf);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit --learner ct --seed 3 --json "
             "--policy argmax --predictions-out %s",
             path, pred);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(out, "\"learner\":\"ct\",\"rows\":6000,");
    const char *pa = strstr(out, "{\"arm\":\"a\""), *pb = strstr(out, "{\"arm\":\"b\"");
    T_ASSERT(pa && pb);
    double qa = atof(strstr(pa, "\"qini\":") + 7), atea = atof(strstr(pa, "\"ate\":") + 6);
    double ateb = atof(strstr(pb, "\"ate\":") + 6);
    printf("  uplift ct cli: Qini of a %.3f, ATE a %.3f, b %.3f\n", qa, atea, ateb);
    T_ASSERT_MSG(qa > 0.05 && atea > 0.1 && ateb < 0, "%s", out);
    free(out);
    free(err);
    char *csv = t_read_file(pred, NULL);
    T_ASSERT(csv);
    T_ASSERT_MSG(!strncmp(csv, "row,a,b,best_arm\n", 17), "%.40s", csv);
    free(csv);
}
