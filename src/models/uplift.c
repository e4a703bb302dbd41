/* src/models/uplift.c: meta-learners for uplift (include/promo/uplift.h).
 *
 * Every base model is an XGBoost booster behind promo/learner.h. The split of the training rows
 * for early stopping and the 2 cross-fitting folds are drawn once per fit, stratified by arm
 * from promo_rng streams of the seed, so every model sees the same held-out rows and the result
 * does not depend on the thread count. Base model k of a fit gets the seed seed + k.
 *
 * S: one model on [x | one-hot arm] (n_arms columns). T: one model per arm; with qini_stop (by
 * default from 10,000 validation rows per arm) they are boosted together round by round
 * (promo_gbdt_boost_*) and stopped on the validation Qini of their difference, sharing one set
 * of histogram bins. X (Kuenzel et al. 2019, "Metalearners for estimating heterogeneous
 * treatment effects using machine learning"):
 * T's models, then per treatment arm a regression of the imputed effects on each group, mixed
 * with g(x) = P(a | x, arm in {0, a}). R (Nie & Wager 2021, "Quasi-oracle estimation of
 * heterogeneous treatment effects"): per arm pair, m(x) and e(x) cross-fitted over 2 folds, then
 * the weighted regression of (y - m)/(t - e) with weights (t - e)^2 (the R-loss as a weighted
 * least squares). DR (Kennedy 2023, "Towards optimal doubly robust estimation of heterogeneous
 * causal effects"): cross-fitted per-arm outcome models and propensities, the AIPW
 * pseudo-outcome regressed on x. TREE and FOREST hand the rows to uplift_tree.c.
 * Departures: R and DR regress the pseudo-outcome on all rows of the pair at once rather than
 * fold by fold (Kennedy's second stage on the other half); the propensity used by S, T and X
 * and reported as overlap is fitted on all training rows (in-sample), the cross-fitted ones
 * only feed R and DR. DR's outcome predictions average its two fold models.
 * Propensities enter as the arm pair's conditional share g_a = e_a / (e_0 + e_a), clipped to
 * [clip, 1 - clip]; S and T weight rows by 1 / e_arm(x), clipped the same way. Weights passed
 * to XGBoost are rescaled to mean 1 over each model's training rows, so min_child_weight and
 * lambda keep their unweighted meaning.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/learner.h>
#include <promo/log.h>
#include <promo/rng.h>
#include <promo/uplift.h>

#include "models/uplift_internal.h"

#define MIN_ARM_ROWS 10 /* rows per arm: enough for 2 folds with a validation split each */

static const char *const learner_names[PROMO_UPLIFT_LEARNER_COUNT] = {"s",  "t",    "x",      "r",
                                                                      "dr", "tree", "forest", "ct"};

const char *promo_uplift_learner_name(promo_uplift_learner l)
{
    return (int)l >= 0 && l < PROMO_UPLIFT_LEARNER_COUNT ? learner_names[l] : "?";
}

int promo_uplift_learner_parse(const char *s, promo_uplift_learner *out)
{
    for (int i = 0; s && i < PROMO_UPLIFT_LEARNER_COUNT; i++)
        if (strcmp(s, learner_names[i]) == 0) {
            *out = (promo_uplift_learner)i;
            return PROMO_OK;
        }
    return promo_fail(PROMO_EUSAGE,
                      "uplift: unknown learner '%s' (s, t, x, r, dr, tree, forest, ct)",
                      s ? s : "(null)");
}

promo_uplift_params promo_uplift_params_default(promo_uplift_learner l)
{
    promo_uplift_params p;
    memset(&p, 0, sizeof p);
    p.learner = l;
    p.gbdt = promo_gbdt_params_default();
    /* Effects are small beside the outcome's own variation: shallower trees and bigger leaves
     * than the propensity defaults keep the effect models from chasing noise. */
    p.gbdt.max_depth = 4;
    p.gbdt.n_rounds = 300;
    p.gbdt.early_stopping_rounds = 20;
    p.gbdt.min_child_weight = 5.0;
    p.valid_frac = 0.2;
    p.propensity_weighting = 0;
    p.clip = 0.01;
    p.tree = promo_uplift_tree_params_default();
    if (l == PROMO_UPLIFT_TREE)
        p.tree.n_trees = 1;
    if (l == PROMO_UPLIFT_CT) {
        /* CT's label is a coin whose bias is (1 + tau) / 2: at tau ~ 0.05 a leaf needs
         * thousands of rows to see it (min_child_weight 1000 = ~4,000 rows at hessian 1/4;
         * fit_ct caps it for small data), and with leaves that big a larger step is safe: on
         * bench/uplift_speed.sh's 1M rows eta 0.15 reached at 45 rounds the validation Qini
         * eta 0.1 reached at 90. */
        p.gbdt.eta = 0.15;
        p.gbdt.min_child_weight = 1000.0;
    }
    p.seed = 1;
    p.n_threads = 0;
    p.qini_stop = -1;
    p.one_thread_cells = 2e6;
    return p;
}

void promo_uplift_free(promo_uplift *m)
{
    if (!m)
        return;
    size_t n_mu =
        m->learner == PROMO_UPLIFT_DR ? (size_t)N_FOLDS * (size_t)m->n_arms : (size_t)m->n_arms;
    size_t n_tau = (size_t)(m->n_arms - 1) * (m->learner == PROMO_UPLIFT_X ? 2 : 1);
    if (m->mu)
        for (size_t i = 0; i < n_mu; i++)
            promo_learner_free(m->mu[i]);
    if (m->tau)
        for (size_t i = 0; i < n_tau; i++)
            promo_learner_free(m->tau[i]);
    promo_free(m->mu);
    promo_free(m->tau);
    promo_learner_free(m->s);
    promo_learner_free(m->prop);
    promo_uplift_forest_free(m->forest);
    promo_free(m->share);
    promo_free(m);
}

int promo_uplift_n_arms(const promo_uplift *m)
{
    return m ? m->n_arms : 0;
}

size_t promo_uplift_n_features(const promo_uplift *m)
{
    return m ? m->d : 0;
}

promo_uplift_learner promo_uplift_get_learner(const promo_uplift *m)
{
    return m ? m->learner : PROMO_UPLIFT_LEARNER_COUNT;
}

static int learner_rounds(promo_learner *l)
{
    promo_gbdt *g = l ? promo_learner_gbdt(l) : NULL;
    return g ? promo_gbdt_n_rounds(g) : 0;
}

int promo_uplift_rounds_kept(promo_uplift *m)
{
    if (!m)
        return 0;
    size_t n_mu =
        m->learner == PROMO_UPLIFT_DR ? (size_t)N_FOLDS * (size_t)m->n_arms : (size_t)m->n_arms;
    size_t n_tau = (size_t)(m->n_arms - 1) * (m->learner == PROMO_UPLIFT_X ? 2 : 1);
    int r = learner_rounds(m->s);
    for (size_t i = 0; m->mu && i < n_mu; i++)
        r = learner_rounds(m->mu[i]) > r ? learner_rounds(m->mu[i]) : r;
    for (size_t i = 0; m->tau && i < n_tau; i++)
        r = learner_rounds(m->tau[i]) > r ? learner_rounds(m->tau[i]) : r;
    return r;
}

/* ------------------------------------------------------------ checks ---- */

static int check_params(const promo_uplift_params *p)
{
    if ((int)p->learner < 0 || p->learner >= PROMO_UPLIFT_LEARNER_COUNT)
        return promo_fail(PROMO_EUSAGE, "uplift: unknown learner %d", (int)p->learner);
    if (!(p->valid_frac >= 0.0 && p->valid_frac < 0.9))
        return promo_fail(PROMO_EUSAGE, "uplift: valid_frac %g is not in [0, 0.9)", p->valid_frac);
    if (!(p->clip >= 0.0 && p->clip < 0.5))
        return promo_fail(PROMO_EUSAGE, "uplift: clip %g is not in [0, 0.5)", p->clip);
    if (p->propensity_weighting != 0 && p->propensity_weighting != 1)
        return promo_fail(PROMO_EUSAGE, "uplift: propensity_weighting %d is not 0 or 1",
                          p->propensity_weighting);
    if (p->n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "uplift: n_threads %d is negative", p->n_threads);
    if (!(p->one_thread_cells >= 0.0))
        return promo_fail(PROMO_EUSAGE, "uplift: one_thread_cells %g is negative or NaN",
                          p->one_thread_cells);
    if (p->qini_stop < -1 || p->qini_stop > 1)
        return promo_fail(PROMO_EUSAGE, "uplift: qini_stop %d is not -1, 0 or 1", p->qini_stop);
    if (p->gbdt.mode != PROMO_GBDT_BOOST)
        return promo_fail(PROMO_EUSAGE, "uplift: base models must be boosting (gbdt.mode 0)");
    if (p->gbdt.n_rounds < 1)
        return promo_fail(PROMO_EUSAGE, "uplift: gbdt.n_rounds %d < 1", p->gbdt.n_rounds);
    return PROMO_OK;
}

static int check_shape(const promo_uplift_data *t)
{
    if (!t->x || !t->arm || !t->y)
        return promo_fail(PROMO_EUSAGE, "uplift: data needs x, arm and y");
    if (t->n == 0 || t->d == 0)
        return promo_fail(PROMO_EUSAGE, "uplift: data has %zu rows x %zu columns", t->n, t->d);
    if (t->n_arms < 2 || t->n_arms > 1000)
        return promo_fail(PROMO_EUSAGE, "uplift: n_arms %d is not in 2..1000", t->n_arms);
    if (t->binary != 0 && t->binary != 1)
        return promo_fail(PROMO_EUSAGE, "uplift: binary %d is not 0 or 1", t->binary);
    return PROMO_OK;
}

/* Outcomes, arms and weights; fills the per-arm row counts. */
static int check_data(const promo_uplift_data *t, size_t *count)
{
    for (size_t i = 0; i < t->n; i++) {
        float y = t->y[i];
        if (!isfinite(y))
            return promo_fail(PROMO_EINPUT, "uplift: outcome at row %zu is %s", i,
                              isnan(y) ? "NaN" : "infinite");
        if (t->binary && y != 0.0f && y != 1.0f)
            return promo_fail(PROMO_EINPUT, "uplift: binary outcome at row %zu is %g, not 0 or 1",
                              i, (double)y);
        if (t->arm[i] < 0 || t->arm[i] >= t->n_arms)
            return promo_fail(PROMO_EINPUT, "uplift: arm at row %zu is %d, not in 0..%d", i,
                              (int)t->arm[i], t->n_arms - 1);
        if (t->w && !(t->w[i] >= 0.0f && isfinite(t->w[i])))
            return promo_fail(PROMO_EINPUT, "uplift: weight at row %zu is %g", i, (double)t->w[i]);
        count[t->arm[i]]++;
    }
    for (int a = 0; a < t->n_arms; a++)
        if (count[a] < MIN_ARM_ROWS)
            return promo_fail(PROMO_EINPUT, "uplift: arm %d has %zu rows, at least %d needed", a,
                              count[a], MIN_ARM_ROWS);
    return PROMO_OK;
}

/* -------------------------------------------------------- base models ---- */

/* Threads for boosting a base model on n rows of d columns: one under p->one_thread_cells.
 * XGBoost opens a dozen OpenMP regions per round, and on rounds this small each region's start
 * and barrier cost more than the work they split; on a machine where the other core is busy
 * every barrier waits for a thread the scheduler has parked: the default world's uplift fit
 * (5,110 rows x 89 features) took 20.6 s on 2 threads and 0.68 s on one under a load of 12,
 * with the same trees (hist's histograms do not depend on the thread count). */
static int fit_threads(const promo_uplift_params *p, size_t n, size_t d)
{
    return (double)n * (double)d < p->one_thread_cells ? 1 : p->n_threads;
}

typedef struct fit_ctx {
    const promo_uplift_params *p;
    const uint8_t *valid; /* per training row: 1 = held for early stopping */
    uint64_t n_models;    /* base models trained so far: model k gets seed + k */
} fit_ctx;

/* Train one base model on rows[0..m) of x (row stride ld columns); lab[j] and wt[j] (wt may be
 * NULL) belong to rows[j]. The rows flagged valid drive early stopping. */
static int train_rows(fit_ctx *c,
                      promo_learner_objective obj,
                      int n_classes,
                      const float *x,
                      size_t ld,
                      const size_t *rows,
                      size_t m,
                      const float *lab,
                      const float *wt,
                      promo_learner **out)
{
    *out = NULL;
    size_t nv = 0;
    for (size_t j = 0; j < m; j++)
        nv += c->valid[rows[j]];
    if (nv == m) /* a tiny group: train on everything, no early stopping */
        nv = 0;
    int use_valid = nv > 0;
    size_t nt = m - nv;
    int rc = PROMO_OK;
    float *xt = promo_mallocn(m, ld * sizeof *xt);
    float *yt = promo_mallocn(m, sizeof *yt);
    float *wtt = wt ? promo_mallocn(m, sizeof *wtt) : NULL;
    if (!xt || !yt || (wt && !wtt)) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    /* Training rows first, validation rows after them, each in row order. */
    size_t it = 0, iv = nt;
    double sw = 0.0;
    for (size_t j = 0; j < m; j++) {
        size_t k = use_valid && c->valid[rows[j]] ? iv++ : it++;
        memcpy(xt + k * ld, x + rows[j] * ld, ld * sizeof *xt);
        yt[k] = lab[j];
        if (wt) {
            wtt[k] = wt[j];
            if (k < nt)
                sw += wt[j];
        }
    }
    if (wt) {
        if (!(sw > 0.0)) {
            rc = promo_fail(PROMO_EINPUT, "uplift: a base model's rows all have weight 0");
            goto done;
        }
        float scale = (float)((double)nt / sw);
        for (size_t k = 0; k < m; k++)
            wtt[k] *= scale;
    }
    promo_learner_params lp = promo_learner_params_default(PROMO_LEARNER_GBDT);
    lp.objective = obj;
    lp.gbdt = c->p->gbdt;
    lp.gbdt.nthread = fit_threads(c->p, m, ld);
    lp.gbdt.seed = c->p->seed + c->n_models++;
    lp.gbdt.eval_metric = NULL; /* each objective its own (a user "auc" would not fit them all) */
    lp.gbdt.scale_pos_weight = 1.0;
    promo_learner_data tr = {xt, nt, ld, yt, wtt, n_classes};
    promo_learner_data va = {xt + nt * ld, nv, ld, yt + nt, wtt ? wtt + nt : NULL, n_classes};
    rc = promo_learner_train(&lp, &tr, use_valid ? &va : NULL, out);
done:
    promo_free(xt);
    promo_free(yt);
    promo_free(wtt);
    return rc;
}

/* Predict rows[0..m) of x (stride ld) into out[j * n_out ...]. rows NULL: the first m rows. */
static int
predict_rows(promo_learner *l, const float *x, size_t ld, const size_t *rows, size_t m, float *out)
{
    if (!rows)
        return promo_learner_predict(l, x, m, ld, out);
    float *xs = promo_mallocn(m ? m : 1, ld * sizeof *xs);
    if (!xs)
        return PROMO_ENOMEM;
    for (size_t j = 0; j < m; j++)
        memcpy(xs + j * ld, x + rows[j] * ld, ld * sizeof *xs);
    int rc = promo_learner_predict(l, xs, m, ld, out);
    promo_free(xs);
    return rc;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The arm pair's conditional propensity of arm a, clipped: e_a / (e_0 + e_a). */
static double pair_prop(const float *e, int a, double clip)
{
    double e0 = e[0], ea = e[a];
    double g = e0 + ea > 0.0 ? ea / (e0 + ea) : 0.5;
    return clampd(g, clip, 1.0 - clip);
}

/* Propensities of n rows (n x n_arms): the model's, or the shares. */
static int
propensity(const promo_uplift *m, promo_learner *prop, const float *x, size_t n, float *e)
{
    if (prop)
        return promo_learner_predict(prop, x, n, m->d, e);
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < m->n_arms; a++)
            e[i * (size_t)m->n_arms + (size_t)a] = (float)m->share[a];
    return PROMO_OK;
}

/* ------------------------------------------------------------- fitting ---- */

/* Everything one fit needs beside the model. */
typedef struct fit_data {
    const promo_uplift_data *t;
    fit_ctx c;
    uint8_t *valid;  /* n */
    uint8_t *fold;   /* n: 0 or 1 */
    size_t *rows;    /* n scratch row list */
    float *lab, *wt; /* n scratch labels and weights */
    float *e;        /* n x n_arms in-sample propensities (all-row model or shares) */
} fit_data;

/* Row weight (1 without weights). */
static float roww(const promo_uplift_data *t, size_t i)
{
    return t->w ? t->w[i] : 1.0f;
}

/* Outcome model of arm a on its rows (all, or those outside fold `skip` when skip >= 0);
 * ipw: weight rows by 1 / e_a(x). */
static int
fit_arm_model(fit_data *f, promo_uplift *m, int a, int skip, int ipw, promo_learner **out)
{
    const promo_uplift_data *t = f->t;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->arm[i] != a || (skip >= 0 && f->fold[i] == skip))
            continue;
        f->rows[k] = i;
        f->lab[k] = t->y[i];
        double w = roww(t, i);
        if (ipw)
            w /= clampd(f->e[i * (size_t)t->n_arms + (size_t)a], m->clip, 1.0 - m->clip);
        f->wt[k] = (float)w;
        k++;
    }
    return train_rows(&f->c, t->binary ? PROMO_LEARNER_BINARY : PROMO_LEARNER_REGRESSION, 0, t->x,
                      t->d, f->rows, k, f->lab, (t->w || ipw) ? f->wt : NULL, out);
}

/* Multi-class propensity model on all rows (skip < 0) or those outside fold skip. */
static int fit_prop(fit_data *f, int skip, promo_learner **out)
{
    const promo_uplift_data *t = f->t;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (skip >= 0 && f->fold[i] == skip)
            continue;
        f->rows[k] = i;
        f->lab[k] = (float)t->arm[i];
        f->wt[k] = roww(t, i);
        k++;
    }
    return train_rows(&f->c, PROMO_LEARNER_MULTICLASS, t->n_arms, t->x, t->d, f->rows, k, f->lab,
                      t->w ? f->wt : NULL, out);
}

static int fit_s(fit_data *f, promo_uplift *m)
{
    const promo_uplift_data *t = f->t;
    size_t K = (size_t)t->n_arms, ld = t->d + K;
    float *xa = promo_mallocn(t->n, ld * sizeof *xa);
    if (!xa)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        memcpy(xa + i * ld, t->x + i * t->d, t->d * sizeof *xa);
        for (size_t a = 0; a < K; a++)
            xa[i * ld + t->d + a] = (size_t)t->arm[i] == a ? 1.0f : 0.0f;
        f->rows[i] = i;
        f->lab[i] = t->y[i];
        double w = roww(t, i);
        if (m->weighting)
            w /= clampd(f->e[i * K + (size_t)t->arm[i]], m->clip, 1.0 - m->clip);
        f->wt[i] = (float)w;
    }
    int rc = train_rows(&f->c, t->binary ? PROMO_LEARNER_BINARY : PROMO_LEARNER_REGRESSION, 0, xa,
                        ld, f->rows, t->n, f->lab, (t->w || m->weighting) ? f->wt : NULL, &m->s);
    promo_free(xa);
    return rc;
}

static int fit_t(fit_data *f, promo_uplift *m)
{
    int rc = PROMO_OK;
    for (int a = 0; a < m->n_arms && !rc; a++)
        rc = fit_arm_model(f, m, a, -1, m->weighting, &m->mu[a]);
    return rc;
}

/* ------------------------------------------- T: boosted together, Qini stop ---- */

/* Rounds between two looks at the validation Qini (a sort of the validation rows each). */
#define QINI_EVERY 5

/* (score, row) pairs for sorting by score. */
typedef struct scored {
    uint32_t key; /* the score as an unsigned key: larger score, larger key */
    uint32_t row;
} scored;

/* The float's bits as a key that sorts as the float does (NaN last). */
static uint32_t float_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* Sort v[0..n) by key, ascending, with tmp as scratch (LSD radix, 3 passes of 11 bits; stable,
 * so the order of ties does not matter for what follows but is fixed). */
static void radix_sort(scored *v, scored *tmp, size_t n)
{
    size_t count[2048];
    for (int pass = 0; pass < 3; pass++) {
        int shift = 11 * pass;
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(v[i].key >> shift) & 2047u]++;
        size_t sum = 0;
        for (size_t b = 0; b < 2048; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(v[i].key >> shift) & 2047u]++] = v[i];
        memcpy(v, tmp, n * sizeof *v);
    }
}

/* Area under the Qini curve of rows v[0..n), sorted by ascending score and read from the top:
 * at the end of every block of equal scores the point (rows so far, Y_T - Y_C N_T / N_C), from
 * (0, 0), trapezoids between points (scikit-uplift's qini_curve and auc). *q_end: the last
 * point's height. */
static double
qini_area(const scored *v, size_t n, const uint8_t *treated, const float *y, double *q_end)
{
    double area = 0.0, x0 = 0.0, q0 = 0.0, nt = 0.0, nc = 0.0, yt = 0.0, yc = 0.0;
    for (size_t j = n; j-- > 0;) {
        uint32_t r = v[j].row;
        if (treated[r]) {
            nt += 1.0;
            yt += y[r];
        } else {
            nc += 1.0;
            yc += y[r];
        }
        if (j > 0 && v[j - 1].key == v[j].key)
            continue;
        double x1 = nt + nc, q1 = yt - (nc > 0.0 ? yc * nt / nc : 0.0);
        area += (x1 - x0) * (q1 + q0) / 2.0;
        x0 = x1;
        q0 = q1;
    }
    *q_end = q0;
    return area;
}

/* One arm pair's validation rows and what their Qini needs. */
typedef struct qini_set {
    size_t n;
    uint32_t *row;     /* n indices into the validation rows */
    uint8_t *treated;  /* n: 1 = the treatment arm */
    float *y;          /* n outcomes */
    scored *v, *tmp;   /* n scratch */
    double base, span; /* random line's area; perfect area - base */
} qini_set;

/* Qini coefficient of scores s[0..n) of the set's rows (scikit-uplift's qini_auc_score). */
static double qini_of(qini_set *q, const float *s)
{
    for (size_t j = 0; j < q->n; j++)
        q->v[j] = (scored){float_key(s[j]), (uint32_t)j};
    radix_sort(q->v, q->tmp, q->n);
    double q_end;
    double a = qini_area(q->v, q->n, q->treated, q->y, &q_end);
    return q->span != 0.0 ? (a - q->base) / q->span : 0.0;
}

/* Base and span from the perfect ranking y t - y (1 - t). */
static void qini_prepare(qini_set *q, float *s)
{
    for (size_t j = 0; j < q->n; j++)
        s[j] = q->treated[j] ? q->y[j] : -q->y[j];
    for (size_t j = 0; j < q->n; j++)
        q->v[j] = (scored){float_key(s[j]), (uint32_t)j};
    radix_sort(q->v, q->tmp, q->n);
    double q_end;
    double perfect = qini_area(q->v, q->n, q->treated, q->y, &q_end);
    q->base = (double)q->n * q_end / 2.0;
    q->span = perfect - q->base;
}

/* Validation rows every arm needs before the auto qini_stop stops on the Qini: with fewer, its
 * noise from look to look is as large as what the models still gain (on a 4,000-row test case
 * the effects came out worse than with each model's own stop). */
#define QINI_STOP_MIN_VALID 10000

/* Whether T fits jointly with the Qini stop (*joint): asked for (or auto and enough validation
 * rows), with early stopping on, validation and training rows in every arm and trees promo can
 * walk (stepwise boosting keeps depth <= 12); otherwise T fits arm by arm. */
static int t_joint(const fit_data *f, int *joint)
{
    const promo_uplift_data *t = f->t;
    const promo_uplift_params *p = f->c.p;
    *joint = 0;
    if (p->qini_stop == 0 || !(p->valid_frac > 0.0) || p->gbdt.early_stopping_rounds < 1 ||
        p->gbdt.max_depth > 12)
        return PROMO_OK;
    size_t *nv = promo_calloc((size_t)t->n_arms * 2, sizeof *nv);
    if (!nv)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < t->n; i++)
        nv[(size_t)t->arm[i] * 2 + f->valid[i]]++;
    int ok = 1;
    for (int a = 0; a < t->n_arms; a++)
        ok &= nv[2 * a] > 0 && nv[2 * a + 1] > 0 &&
              (p->qini_stop == 1 || nv[2 * a + 1] >= QINI_STOP_MIN_VALID);
    promo_free(nv);
    *joint = ok;
    return PROMO_OK;
}

/* T with early stopping on what T is for: every arm's outcome model is boosted one round at a
 * time, all together, and every QINI_EVERY rounds the Qini coefficient of mu_a - mu_0 on each
 * arm pair's validation rows is read (their mean over the arms). Training stops when it has not
 * improved for early_stopping_rounds rounds, and every model keeps the rounds of the best look.
 * Each arm's own log loss keeps improving long after the ranking of the difference has stopped
 * improving (the treated model learns the main effects better and better); on the ranking the
 * models are judged by, they can stop. The arms share one set of histogram bins (the control
 * arm's quantile sketch). */
static int fit_t_joint(fit_data *f, promo_uplift *m)
{
    const promo_uplift_data *t = f->t;
    const promo_uplift_params *p = f->c.p;
    size_t K = (size_t)t->n_arms, d = t->d;
    int rc = PROMO_OK;
    promo_gbdt_boost **b = promo_calloc(K, sizeof *b);
    qini_set *qs = promo_calloc(K, sizeof *qs);
    size_t nv = 0;
    for (size_t i = 0; i < t->n; i++)
        nv += f->valid[i];
    size_t *vrow = promo_mallocn(nv ? nv : 1, sizeof *vrow);
    float *xv = promo_mallocn(nv ? nv : 1, d * sizeof *xv);
    float *xt = promo_mallocn(t->n, d * sizeof *xt);
    float *s = promo_mallocn(nv ? nv : 1, sizeof *s);
    if (!b || !qs || !vrow || !xv || !xt || !s) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    /* The validation rows of every arm, in row order: each model's margins are kept on all. */
    for (size_t i = 0, k = 0; i < t->n; i++)
        if (f->valid[i]) {
            vrow[k] = i;
            memcpy(xv + k * d, t->x + i * d, d * sizeof *xv);
            k++;
        }
    for (size_t a = 1; a < K; a++) {
        qini_set *q = &qs[a];
        for (size_t k = 0; k < nv; k++)
            q->n += t->arm[vrow[k]] == 0 || (size_t)t->arm[vrow[k]] == a;
        q->row = promo_mallocn(q->n ? q->n : 1, sizeof *q->row);
        q->treated = promo_mallocn(q->n ? q->n : 1, 1);
        q->y = promo_mallocn(q->n ? q->n : 1, sizeof *q->y);
        q->v = promo_mallocn(q->n ? q->n : 1, sizeof *q->v);
        q->tmp = promo_mallocn(q->n ? q->n : 1, sizeof *q->tmp);
        if (!q->row || !q->treated || !q->y || !q->v || !q->tmp) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        for (size_t k = 0, j = 0; k < nv; k++) {
            size_t i = vrow[k];
            if (t->arm[i] != 0 && (size_t)t->arm[i] != a)
                continue;
            q->row[j] = (uint32_t)k;
            q->treated[j] = t->arm[i] != 0;
            q->y[j] = t->y[i];
            j++;
        }
        qini_prepare(q, s);
    }
    /* One booster per arm on its training rows (IPW weights rescaled to mean 1 as in
     * train_rows). */
    for (size_t a = 0; a < K; a++) {
        size_t n = 0;
        double sw = 0.0;
        for (size_t i = 0; i < t->n; i++) {
            if ((size_t)t->arm[i] != a || f->valid[i])
                continue;
            memcpy(xt + n * d, t->x + i * d, d * sizeof *xt);
            f->lab[n] = t->y[i];
            double w = roww(t, i);
            if (m->weighting)
                w /= clampd(f->e[i * K + a], m->clip, 1.0 - m->clip);
            f->wt[n] = (float)w;
            sw += w;
            n++;
        }
        int weighted = t->w || m->weighting;
        if (weighted) {
            if (!(sw > 0.0)) {
                rc = promo_fail(PROMO_EINPUT, "uplift: a base model's rows all have weight 0");
                goto done;
            }
            float scale = (float)((double)n / sw);
            for (size_t k = 0; k < n; k++)
                f->wt[k] *= scale;
        }
        promo_gbdt_params gp = p->gbdt;
        gp.objective = t->binary ? PROMO_GBDT_BINARY : PROMO_GBDT_REGRESSION;
        gp.nthread = fit_threads(p, t->n, d);
        gp.seed = p->seed + f->c.n_models++;
        gp.eval_metric = NULL;
        gp.scale_pos_weight = 1.0;
        promo_gbdt_data tr = {xt, n, d, f->lab, weighted ? f->wt : NULL};
        if ((rc = promo_gbdt_boost_begin(&gp, &tr, xv, nv, a ? b[0] : NULL, &b[a])))
            goto done;
    }
    /* Boost together; look at the validation Qini every QINI_EVERY rounds and at the cap. */
    int cap = p->gbdt.n_rounds, patience = p->gbdt.early_stopping_rounds;
    int best_round = 0;
    double best = -INFINITY;
    for (int it = 1; it <= cap; it++) {
        for (size_t a = 0; a < K && !rc; a++)
            rc = promo_gbdt_boost_round(b[a]);
        if (rc)
            goto done;
        if (it % QINI_EVERY && it != cap)
            continue;
        double sum = 0.0;
        const float *m0 = NULL, *ma = NULL;
        if ((rc = promo_gbdt_boost_margins(b[0], &m0)))
            goto done;
        for (size_t a = 1; a < K; a++) {
            if ((rc = promo_gbdt_boost_margins(b[a], &ma)))
                goto done;
            qini_set *q = &qs[a];
            for (size_t j = 0; j < q->n; j++) {
                float u = ma[q->row[j]], c = m0[q->row[j]];
                s[j] = t->binary ? 1.0f / (1.0f + expf(-u)) - 1.0f / (1.0f + expf(-c)) : u - c;
            }
            sum += qini_of(q, s);
        }
        double v = sum / (double)(K - 1);
        promo_debug("uplift: T round %d, validation Qini %.5f", it, v);
        if (v > best) {
            best = v;
            best_round = it;
        } else if (patience > 0 && it - best_round >= patience) {
            break;
        }
    }
    for (size_t a = 0; a < K; a++) {
        promo_gbdt *g = NULL;
        rc = promo_gbdt_boost_end(b[a], best_round, &g);
        b[a] = NULL;
        if (rc || (rc = promo_learner_from_gbdt(g, &m->mu[a])))
            goto done;
    }
    promo_debug("uplift: T stopped on the validation Qini: %d rounds kept (Qini %.5f)", best_round,
                best);
done:
    for (size_t a = 0; b && a < K; a++)
        promo_gbdt_boost_free(b[a]);
    for (size_t a = 0; qs && a < K; a++) {
        promo_free(qs[a].row);
        promo_free(qs[a].treated);
        promo_free(qs[a].y);
        promo_free(qs[a].v);
        promo_free(qs[a].tmp);
    }
    promo_free(b);
    promo_free(qs);
    promo_free(vrow);
    promo_free(xv);
    promo_free(xt);
    promo_free(s);
    return rc;
}

/* X: T's outcome models, then per arm tau0 on the controls (mu_a(x) - y) and tau1 on the
 * treated (y - mu_0(x)). */
static int fit_x(fit_data *f, promo_uplift *m)
{
    const promo_uplift_data *t = f->t;
    int rc = fit_t(f, m);
    float *pred = rc ? NULL : promo_mallocn(t->n, sizeof *pred);
    if (!rc && !pred)
        rc = PROMO_ENOMEM;
    for (int a = 1; a < m->n_arms && !rc; a++) {
        for (int grp = 0; grp < 2 && !rc; grp++) {
            int arm = grp == 0 ? 0 : a; /* the rows the effect model learns from */
            promo_learner *other = m->mu[grp == 0 ? a : 0];
            size_t k = 0;
            for (size_t i = 0; i < t->n; i++)
                if (t->arm[i] == arm)
                    f->rows[k++] = i;
            if ((rc = predict_rows(other, t->x, t->d, f->rows, k, pred)))
                break;
            for (size_t j = 0; j < k; j++) {
                size_t i = f->rows[j];
                f->lab[j] = grp == 0 ? pred[j] - t->y[i] : t->y[i] - pred[j];
                f->wt[j] = roww(t, i);
            }
            rc = train_rows(&f->c, PROMO_LEARNER_REGRESSION, 0, t->x, t->d, f->rows, k, f->lab,
                            t->w ? f->wt : NULL, &m->tau[2 * (size_t)(a - 1) + (size_t)grp]);
        }
    }
    promo_free(pred);
    return rc;
}

/* Cross-fitted propensities of every row (n x n_arms): each fold from a model fitted on the
 * other one, or the shares without weighting. */
static int crossfit_prop(fit_data *f, promo_uplift *m, float *ecf)
{
    const promo_uplift_data *t = f->t;
    if (!m->weighting)
        return propensity(m, NULL, t->x, t->n, ecf);
    int rc = PROMO_OK;
    float *tmp = promo_mallocn(t->n, (size_t)t->n_arms * sizeof *tmp);
    if (!tmp)
        return PROMO_ENOMEM;
    for (int k = 0; k < N_FOLDS && !rc; k++) {
        promo_learner *pk = NULL;
        size_t nk = 0;
        if ((rc = fit_prop(f, k, &pk)))
            break;
        for (size_t i = 0; i < t->n; i++)
            if (f->fold[i] == k)
                f->rows[nk++] = i;
        rc = predict_rows(pk, t->x, t->d, f->rows, nk, tmp);
        for (size_t j = 0; j < nk && !rc; j++)
            memcpy(ecf + f->rows[j] * (size_t)t->n_arms, tmp + j * (size_t)t->n_arms,
                   (size_t)t->n_arms * sizeof *ecf);
        promo_learner_free(pk);
    }
    promo_free(tmp);
    return rc;
}

/* R: per arm pair, m(x) cross-fitted on the pair's rows, e from ecf, then the weighted
 * regression of (y - m)/(t - e) with weights (t - e)^2. */
static int fit_r(fit_data *f, promo_uplift *m, const float *ecf)
{
    const promo_uplift_data *t = f->t;
    size_t K = (size_t)t->n_arms;
    int rc = PROMO_OK;
    float *mhat = promo_mallocn(t->n, sizeof *mhat), *pred = promo_mallocn(t->n, sizeof *pred);
    size_t *prow = promo_mallocn(t->n, sizeof *prow);
    if (!mhat || !pred || !prow) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (int a = 1; a < m->n_arms && !rc; a++) {
        for (int k = 0; k < N_FOLDS && !rc; k++) {
            size_t nk = 0, np = 0;
            for (size_t i = 0; i < t->n; i++) {
                if (t->arm[i] != 0 && t->arm[i] != a)
                    continue;
                if (f->fold[i] == k) {
                    prow[np++] = i;
                } else {
                    f->rows[nk] = i;
                    f->lab[nk] = t->y[i];
                    f->wt[nk] = roww(t, i);
                    nk++;
                }
            }
            promo_learner *mk = NULL;
            rc = train_rows(&f->c, t->binary ? PROMO_LEARNER_BINARY : PROMO_LEARNER_REGRESSION, 0,
                            t->x, t->d, f->rows, nk, f->lab, t->w ? f->wt : NULL, &mk);
            if (!rc)
                rc = predict_rows(mk, t->x, t->d, prow, np, pred);
            for (size_t j = 0; j < np && !rc; j++)
                mhat[prow[j]] = pred[j];
            promo_learner_free(mk);
        }
        size_t np = 0;
        for (size_t i = 0; i < t->n && !rc; i++) {
            if (t->arm[i] != 0 && t->arm[i] != a)
                continue;
            double e = pair_prop(ecf + i * K, a, m->clip);
            double r = (t->arm[i] == a ? 1.0 : 0.0) - e; /* |r| >= clip, and > 0 by clipping */
            f->rows[np] = i;
            f->lab[np] = (float)(((double)t->y[i] - (double)mhat[i]) / r);
            f->wt[np] = (float)(r * r * roww(t, i));
            np++;
        }
        if (!rc)
            rc = train_rows(&f->c, PROMO_LEARNER_REGRESSION, 0, t->x, t->d, f->rows, np, f->lab,
                            f->wt, &m->tau[a - 1]);
    }
done:
    promo_free(mhat);
    promo_free(pred);
    promo_free(prow);
    return rc;
}

/* DR: per fold, per-arm outcome models on the other fold (kept: their average is DR's outcome
 * prediction); per arm pair the AIPW pseudo-outcome regressed on x. */
static int fit_dr(fit_data *f, promo_uplift *m, const float *ecf)
{
    const promo_uplift_data *t = f->t;
    size_t K = (size_t)t->n_arms;
    int rc = PROMO_OK;
    float *muhat = promo_mallocn(t->n, K * sizeof *muhat); /* cross-fitted mu_a(x_i) */
    float *pred = promo_mallocn(t->n, sizeof *pred);
    size_t *prow = promo_mallocn(t->n, sizeof *prow);
    if (!muhat || !pred || !prow) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (int k = 0; k < N_FOLDS && !rc; k++) {
        size_t np = 0;
        for (size_t i = 0; i < t->n; i++)
            if (f->fold[i] == k)
                prow[np++] = i;
        for (size_t a = 0; a < K && !rc; a++) {
            promo_learner **mk = &m->mu[(size_t)k * K + a];
            if ((rc = fit_arm_model(f, m, (int)a, k, 0, mk)))
                break;
            rc = predict_rows(*mk, t->x, t->d, prow, np, pred);
            for (size_t j = 0; j < np && !rc; j++)
                muhat[prow[j] * K + a] = pred[j];
        }
    }
    for (int a = 1; a < m->n_arms && !rc; a++) {
        size_t np = 0;
        for (size_t i = 0; i < t->n; i++) {
            if (t->arm[i] != 0 && t->arm[i] != a)
                continue;
            double e = pair_prop(ecf + i * K, a, m->clip);
            double mu0 = muhat[i * K], mu1 = muhat[i * K + (size_t)a], y = t->y[i];
            double phi = mu1 - mu0 + (t->arm[i] == a ? (y - mu1) / e : -(y - mu0) / (1.0 - e));
            f->rows[np] = i;
            f->lab[np] = (float)phi;
            f->wt[np] = roww(t, i);
            np++;
        }
        rc = train_rows(&f->c, PROMO_LEARNER_REGRESSION, 0, t->x, t->d, f->rows, np, f->lab,
                        t->w ? f->wt : NULL, &m->tau[a - 1]);
    }
done:
    promo_free(muhat);
    promo_free(pred);
    promo_free(prow);
    return rc;
}

/* ------------------------------------------------ CT: class transformation ---- */

/* Row i's CT label and weight for arm a (row i in arm 0 or a), g the pair's propensity of a.
 * Binary: z = y on the treated, 1 - y on the controls, weights 1/(2 g) and 1/(2 (1 - g)) so
 * the weighted P(z = 1 | x) = (mu_a + 1 - mu_0) / 2 = (1 + tau) / 2. Continuous: Athey and
 * Imbens' transformed outcome y (t - g) / (g (1 - g)), whose mean given x is tau. */
static void ct_label(const promo_uplift_data *t, int a, double g, size_t i, float *z, float *w)
{
    int tr = t->arm[i] == a;
    double y = t->y[i], rw = roww(t, i);
    if (t->binary) {
        *z = tr ? (float)y : (float)(1.0 - y);
        *w = (float)(rw * (tr ? 0.5 / g : 0.5 / (1.0 - g)));
    } else {
        *z = (float)(y * ((tr ? 1.0 : 0.0) - g) / (g * (1.0 - g)));
        *w = (float)rw;
    }
}

/* Rows of the quantile sketch behind CT's histogram bins on large data. */
#define CT_SKETCH_ROWS 65536

/* promo_gbdt_boost_begin, with the histogram bins cut from every k-th training row when there
 * are more than CT_SKETCH_ROWS: XGBoost's quantile sketch of all 560,000 rows of the 1M-row
 * benchmark took ~0.5 s of CPU, a tenth of the whole fit; 256 cuts from 65,536 evenly spread
 * rows (~250 rows a bin) are as fine, and the rows are then binned on them. */
static int ct_begin(const promo_gbdt_params *gp,
                    const promo_gbdt_data *tr,
                    const float *xv,
                    size_t nv,
                    promo_gbdt_boost **out)
{
    if (tr->n_rows <= 2 * CT_SKETCH_ROWS)
        return promo_gbdt_boost_begin(gp, tr, xv, nv, NULL, out);
    size_t d = tr->n_cols, step = tr->n_rows / CT_SKETCH_ROWS, ns = tr->n_rows / step;
    float *xs = promo_mallocn(ns, d * sizeof *xs), *ys = promo_mallocn(ns, sizeof *ys);
    promo_gbdt_boost *sk = NULL;
    int rc = PROMO_OK;
    if (!xs || !ys) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t j = 0; j < ns; j++) {
        memcpy(xs + j * d, tr->x + j * step * d, d * sizeof *xs);
        ys[j] = tr->y[j * step];
    }
    promo_gbdt_data sub = {xs, ns, d, ys, NULL};
    if (!(rc = promo_gbdt_boost_begin(gp, &sub, NULL, 0, NULL, &sk)))
        rc = promo_gbdt_boost_begin(gp, tr, xv, nv, sk, out);
done:
    promo_gbdt_boost_free(sk);
    promo_free(xs);
    promo_free(ys);
    return rc;
}

/* Boost arm a's CT model stepwise on the pair's training rows and stop it on the validation
 * Qini of its effect (the margin ranks rows as the effect does): rows[0..k) are the pair's rows,
 * lab/wt their labels and weights. */
static int fit_ct_qini(fit_data *f, int a, size_t k, promo_learner **out)
{
    const promo_uplift_data *t = f->t;
    const promo_uplift_params *p = f->c.p;
    size_t d = t->d, nv = 0;
    for (size_t j = 0; j < k; j++)
        nv += f->valid[f->rows[j]];
    size_t nt = k - nv;
    int rc = PROMO_OK;
    promo_gbdt_boost *b = NULL;
    qini_set q = {0};
    float *xt = promo_mallocn(nt ? nt : 1, d * sizeof *xt);
    float *xv = promo_mallocn(nv ? nv : 1, d * sizeof *xv);
    float *yt = promo_mallocn(nt ? nt : 1, sizeof *yt),
          *wt = promo_mallocn(nt ? nt : 1, sizeof *wt);
    float *s = promo_mallocn(nv ? nv : 1, sizeof *s);
    q.n = nv;
    q.row = promo_mallocn(nv ? nv : 1, sizeof *q.row);
    q.treated = promo_mallocn(nv ? nv : 1, 1);
    q.y = promo_mallocn(nv ? nv : 1, sizeof *q.y);
    q.v = promo_mallocn(nv ? nv : 1, sizeof *q.v);
    q.tmp = promo_mallocn(nv ? nv : 1, sizeof *q.tmp);
    if (!xt || !xv || !yt || !wt || !s || !q.row || !q.treated || !q.y || !q.v || !q.tmp) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    double sw = 0.0;
    for (size_t j = 0, it = 0, iv = 0; j < k; j++) {
        size_t i = f->rows[j];
        if (f->valid[i]) {
            memcpy(xv + iv * d, t->x + i * d, d * sizeof *xv);
            q.row[iv] = (uint32_t)iv;
            q.treated[iv] = t->arm[i] == a;
            q.y[iv] = t->y[i];
            iv++;
        } else {
            memcpy(xt + it * d, t->x + i * d, d * sizeof *xt);
            yt[it] = f->lab[j];
            wt[it] = f->wt[j];
            sw += f->wt[j];
            it++;
        }
    }
    if (!(sw > 0.0)) {
        rc = promo_fail(PROMO_EINPUT, "uplift: a base model's rows all have weight 0");
        goto done;
    }
    float scale = (float)((double)nt / sw); /* weights to mean 1, as train_rows does */
    double hess = 0.0;
    for (size_t j = 0; j < nt; j++) {
        wt[j] *= scale;
        hess += t->binary ? 0.25 * wt[j] : wt[j];
    }
    qini_prepare(&q, s);
    promo_gbdt_params gp = p->gbdt;
    gp.objective = t->binary ? PROMO_GBDT_BINARY : PROMO_GBDT_REGRESSION;
    gp.nthread = fit_threads(p, nt, d);
    gp.seed = p->seed + f->c.n_models++;
    gp.eval_metric = NULL;
    gp.scale_pos_weight = 1.0;
    /* small data: leaves of at most 1/16 of the hessian, so the trees can still split */
    if (gp.min_child_weight > hess / 16.0)
        gp.min_child_weight = hess / 16.0;
    promo_gbdt_data tr = {xt, nt, d, yt, wt};
    if ((rc = ct_begin(&gp, &tr, xv, nv, &b)))
        goto done;
    int cap = p->gbdt.n_rounds, patience = p->gbdt.early_stopping_rounds, best_round = 0;
    double best = -INFINITY;
    for (int it = 1; it <= cap; it++) {
        if ((rc = promo_gbdt_boost_round(b)))
            goto done;
        if (it % QINI_EVERY && it != cap)
            continue;
        const float *mg = NULL;
        if ((rc = promo_gbdt_boost_margins(b, &mg)))
            goto done;
        memcpy(s, mg, nv * sizeof *s);
        double v = qini_of(&q, s);
        promo_debug("uplift: CT arm %d round %d, validation Qini %.5f", a, it, v);
        if (v > best) {
            best = v;
            best_round = it;
        } else if (patience > 0 && it - best_round >= patience) {
            break;
        }
    }
    promo_gbdt *g = NULL;
    rc = promo_gbdt_boost_end(b, best_round, &g);
    b = NULL;
    if (rc || (rc = promo_learner_from_gbdt(g, out)))
        goto done;
    promo_debug("uplift: CT arm %d stopped on the validation Qini: %d rounds kept (Qini %.5f)", a,
                best_round, best);
done:
    promo_gbdt_boost_free(b);
    promo_free(xt);
    promo_free(xv);
    promo_free(yt);
    promo_free(wt);
    promo_free(s);
    promo_free(q.row);
    promo_free(q.treated);
    promo_free(q.y);
    promo_free(q.v);
    promo_free(q.tmp);
    return rc;
}

/* CT: per treatment arm, one model of the transformed label on the pair's rows; stopped on the
 * validation Qini (qini_stop as for T: auto from 10,000 validation rows in both arms) or on its
 * own validation loss, whose minimiser is the effect too. */
static int fit_ct(fit_data *f, promo_uplift *m)
{
    const promo_uplift_data *t = f->t;
    const promo_uplift_params *p = f->c.p;
    size_t K = (size_t)t->n_arms;
    int rc = PROMO_OK;
    for (int a = 1; a < m->n_arms && !rc; a++) {
        size_t k = 0, nv0 = 0, nva = 0, nt0 = 0, nta = 0;
        double hess = 0.0;
        for (size_t i = 0; i < t->n; i++) {
            if (t->arm[i] != 0 && t->arm[i] != a)
                continue;
            f->rows[k] = i;
            ct_label(t, a, pair_prop(f->e + i * K, a, m->clip), i, &f->lab[k], &f->wt[k]);
            if (f->valid[i]) {
                nv0 += t->arm[i] == 0;
                nva += t->arm[i] == a;
            } else {
                nt0 += t->arm[i] == 0;
                nta += t->arm[i] == a;
                hess += t->binary ? 0.25 : 1.0;
            }
            k++;
        }
        int qini =
            p->qini_stop != 0 && p->valid_frac > 0.0 && p->gbdt.early_stopping_rounds > 0 &&
            p->gbdt.max_depth <= 12 && nv0 > 0 && nva > 0 && nt0 > 0 && nta > 0 &&
            (p->qini_stop == 1 || (nv0 >= QINI_STOP_MIN_VALID && nva >= QINI_STOP_MIN_VALID));
        if (qini) {
            rc = fit_ct_qini(f, a, k, &m->tau[a - 1]);
            continue;
        }
        /* the same cap of min_child_weight as fit_ct_qini's (unweighted rows' hessian) */
        promo_uplift_params pc = *p;
        if (pc.gbdt.min_child_weight > hess / 16.0)
            pc.gbdt.min_child_weight = hess / 16.0;
        fit_ctx c = f->c;
        c.p = &pc;
        rc = train_rows(&c, t->binary ? PROMO_LEARNER_BINARY : PROMO_LEARNER_REGRESSION, 0, t->x,
                        t->d, f->rows, k, f->lab, f->wt, &m->tau[a - 1]);
        f->c.n_models = c.n_models;
    }
    return rc;
}

/* TREE, FOREST: uplift_tree.c on the rows as they are (weighted by 1 / e_arm(x) with
 * propensity weighting); seed and threads from the uplift parameters. */
static int fit_forest(fit_data *f, promo_uplift *m)
{
    const promo_uplift_data *t = f->t;
    const promo_uplift_params *p = f->c.p;
    promo_uplift_tree_params tp = p->tree;
    tp.seed = p->seed;
    tp.n_threads = p->n_threads;
    if (p->learner == PROMO_UPLIFT_TREE)
        tp.n_trees = 1;
    promo_uplift_data dw = *t;
    if (m->weighting) {
        for (size_t i = 0; i < t->n; i++)
            f->wt[i] = (float)(roww(t, i) / clampd(f->e[i * (size_t)t->n_arms + (size_t)t->arm[i]],
                                                   m->clip, 1.0 - m->clip));
        dw.w = f->wt;
    }
    return promo_uplift_forest_fit(&tp, &dw, &m->forest);
}

/* Stratified by arm: within each arm, rows in a seeded random order; the first valid_frac of
 * them are held for early stopping, and folds alternate along the same order. */
static int draw_splits(const promo_uplift_params *p,
                       const promo_uplift_data *t,
                       const size_t *count,
                       uint8_t *valid,
                       uint8_t *fold)
{
    size_t *perm = promo_mallocn(t->n, sizeof *perm);
    size_t *start = promo_calloc((size_t)t->n_arms + 1, sizeof *start);
    if (!perm || !start) {
        promo_free(perm);
        promo_free(start);
        return PROMO_ENOMEM;
    }
    for (int a = 0; a < t->n_arms; a++)
        start[a + 1] = start[a] + count[a];
    for (size_t i = 0; i < t->n; i++)
        perm[start[t->arm[i]]++] = i;
    for (int a = t->n_arms; a > 0; a--)
        start[a] = start[a - 1];
    start[0] = 0;
    promo_rng r;
    promo_rng_init(&r, p->seed, 0x75706c696674ULL); /* "uplift" */
    for (int a = 0; a < t->n_arms; a++) {
        size_t *g = perm + start[a], na = count[a];
        for (size_t j = na; j > 1; j--) { /* Fisher-Yates */
            size_t k = (size_t)promo_rng_below(&r, j);
            size_t tmp = g[j - 1];
            g[j - 1] = g[k];
            g[k] = tmp;
        }
        size_t nv = (size_t)floor(p->valid_frac * (double)na + 0.5);
        for (size_t j = 0; j < na; j++) {
            valid[g[j]] = j < nv;
            fold[g[j]] = (uint8_t)(j % N_FOLDS);
        }
    }
    promo_free(perm);
    promo_free(start);
    return PROMO_OK;
}

int promo_uplift_fit(const promo_uplift_params *p, const promo_uplift_data *t, promo_uplift **out)
{
    if (!p || !t || !out)
        return promo_fail(PROMO_EUSAGE, "uplift: fit needs params, data and out");
    *out = NULL;
    int rc;
    if ((rc = check_params(p)) || (rc = check_shape(t)))
        return rc;

    size_t K = (size_t)t->n_arms;
    promo_uplift *m = NULL;
    fit_data f;
    memset(&f, 0, sizeof f);
    float *ecf = NULL;
    size_t *count = promo_calloc(K, sizeof *count);
    if (!count)
        return PROMO_ENOMEM;
    if ((rc = check_data(t, count)))
        goto fail;

    m = promo_calloc(1, sizeof *m);
    if (!m) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    m->learner = p->learner;
    m->n_arms = t->n_arms;
    m->d = t->d;
    m->binary = t->binary;
    m->weighting = p->propensity_weighting;
    m->clip = p->clip;
    size_t n_mu = p->learner == PROMO_UPLIFT_DR ? N_FOLDS * K : K;
    size_t n_tau = (K - 1) * (p->learner == PROMO_UPLIFT_X ? 2 : 1);
    m->share = promo_calloc(K, sizeof *m->share);
    m->mu = promo_calloc(n_mu, sizeof *m->mu);
    m->tau = promo_calloc(n_tau, sizeof *m->tau);
    f.t = t;
    f.valid = promo_mallocn(t->n, 1);
    f.fold = promo_mallocn(t->n, 1);
    f.rows = promo_mallocn(t->n, sizeof *f.rows);
    f.lab = promo_mallocn(t->n, sizeof *f.lab);
    f.wt = promo_mallocn(t->n, sizeof *f.wt);
    f.e = promo_mallocn(t->n, K * sizeof *f.e);
    if (!m->share || !m->mu || !m->tau || !f.valid || !f.fold || !f.rows || !f.lab || !f.wt ||
        !f.e) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    f.c.p = p;
    f.c.valid = f.valid;
    if ((rc = draw_splits(p, t, count, f.valid, f.fold)))
        goto fail;

    /* Observed (weighted) arm shares. */
    double sw = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        m->share[t->arm[i]] += roww(t, i);
        sw += roww(t, i);
    }
    if (!(sw > 0.0)) {
        rc = promo_fail(PROMO_EINPUT, "uplift: every row has weight 0");
        goto fail;
    }
    for (size_t a = 0; a < K; a++)
        m->share[a] /= sw;

    /* Propensity on all rows, and the overlap it shows. */
    if (m->weighting && (rc = fit_prop(&f, -1, &m->prop)))
        goto fail;
    if ((rc = propensity(m, m->prop, t->x, t->n, f.e)))
        goto fail;
    size_t n_clipped = 0;
    double e_min = 1.0, e_max = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        int clipped = 0;
        for (size_t a = 0; a < K; a++) {
            double e = f.e[i * K + a];
            e_min = fmin(e_min, e);
            e_max = fmax(e_max, e);
            clipped |= e < m->clip || e > 1.0 - m->clip;
        }
        n_clipped += (size_t)clipped;
    }
    m->overlap.clipped_share = (double)n_clipped / (double)t->n;
    m->overlap.e_min = e_min;
    m->overlap.e_max = e_max;
    m->overlap.n_rows = t->n;

    switch (p->learner) {
    case PROMO_UPLIFT_S:
        rc = fit_s(&f, m);
        break;
    case PROMO_UPLIFT_T: {
        int joint = 0;
        if (!(rc = t_joint(&f, &joint)))
            rc = joint ? fit_t_joint(&f, m) : fit_t(&f, m);
        break;
    }
    case PROMO_UPLIFT_X:
        rc = fit_x(&f, m);
        break;
    case PROMO_UPLIFT_R:
    case PROMO_UPLIFT_DR:
        ecf = promo_mallocn(t->n, K * sizeof *ecf);
        if (!ecf) {
            rc = PROMO_ENOMEM;
            break;
        }
        if ((rc = crossfit_prop(&f, m, ecf)))
            break;
        rc = p->learner == PROMO_UPLIFT_R ? fit_r(&f, m, ecf) : fit_dr(&f, m, ecf);
        break;
    case PROMO_UPLIFT_TREE:
    case PROMO_UPLIFT_FOREST:
        rc = fit_forest(&f, m);
        break;
    case PROMO_UPLIFT_CT:
        rc = fit_ct(&f, m);
        break;
    default:
        rc = promo_fail(PROMO_EINTERNAL, "uplift: learner %d", (int)p->learner);
        break;
    }
    if (rc)
        goto fail;
    *out = m;
    m = NULL;
fail:
    promo_uplift_free(m);
    promo_free(ecf);
    promo_free(count);
    promo_free(f.valid);
    promo_free(f.fold);
    promo_free(f.rows);
    promo_free(f.lab);
    promo_free(f.wt);
    promo_free(f.e);
    return rc;
}

/* ---------------------------------------------------------- prediction ---- */

static int check_predict(const promo_uplift *m, const float *x, size_t n, size_t d, const void *out)
{
    if (!m || !out || (n && !x))
        return promo_fail(PROMO_EUSAGE, "uplift: predict needs a model, x and out");
    if (d != m->d)
        return promo_fail(PROMO_EUSAGE, "uplift: x has %zu columns, the model %zu", d, m->d);
    return PROMO_OK;
}

/* Outcomes under every arm (n x n_arms) for S, T, X, DR. */
static int outcomes(promo_uplift *m, const float *x, size_t n, float *mu)
{
    size_t K = (size_t)m->n_arms;
    int rc = PROMO_OK;
    float *col = promo_mallocn(n, sizeof *col), *col2 = NULL, *xa = NULL;
    if (!col)
        return PROMO_ENOMEM;
    if (m->learner == PROMO_UPLIFT_S) {
        size_t ld = m->d + K;
        xa = promo_mallocn(n, ld * sizeof *xa);
        if (!xa) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            memcpy(xa + i * ld, x + i * m->d, m->d * sizeof *xa);
            memset(xa + i * ld + m->d, 0, K * sizeof *xa);
        }
        for (size_t a = 0; a < K && !rc; a++) {
            for (size_t i = 0; i < n; i++) {
                if (a)
                    xa[i * ld + m->d + a - 1] = 0.0f;
                xa[i * ld + m->d + a] = 1.0f;
            }
            rc = promo_learner_predict(m->s, xa, n, ld, col);
            for (size_t i = 0; i < n && !rc; i++)
                mu[i * K + a] = col[i];
        }
    } else if (m->learner == PROMO_UPLIFT_DR) {
        col2 = promo_mallocn(n, sizeof *col2);
        if (!col2) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        for (size_t a = 0; a < K && !rc; a++) {
            if ((rc = promo_learner_predict(m->mu[a], x, n, m->d, col)) ||
                (rc = promo_learner_predict(m->mu[K + a], x, n, m->d, col2)))
                break;
            for (size_t i = 0; i < n; i++)
                mu[i * K + a] = 0.5f * (col[i] + col2[i]);
        }
    } else {
        for (size_t a = 0; a < K && !rc; a++) {
            rc = promo_learner_predict(m->mu[a], x, n, m->d, col);
            for (size_t i = 0; i < n && !rc; i++)
                mu[i * K + a] = col[i];
        }
    }
done:
    promo_free(col);
    promo_free(col2);
    promo_free(xa);
    return rc;
}

int promo_uplift_predict_outcomes(promo_uplift *m, const float *x, size_t n, size_t d, float *mu)
{
    int rc = check_predict(m, x, n, d, mu);
    if (rc)
        return rc;
    if (m->learner == PROMO_UPLIFT_R || m->learner == PROMO_UPLIFT_TREE ||
        m->learner == PROMO_UPLIFT_FOREST || m->learner == PROMO_UPLIFT_CT)
        return promo_fail(PROMO_EUSAGE, "uplift: the %s-learner has no outcome predictions",
                          promo_uplift_learner_name(m->learner));
    return n ? outcomes(m, x, n, mu) : PROMO_OK;
}

int promo_uplift_predict_propensity(promo_uplift *m, const float *x, size_t n, size_t d, float *e)
{
    int rc = check_predict(m, x, n, d, e);
    if (rc)
        return rc;
    return n ? propensity(m, m->prop, x, n, e) : PROMO_OK;
}

promo_learner *promo_uplift_arm_model(promo_uplift *m, int a)
{
    /* T and X: outcomes() predicts column a with mu[a] alone (S shares one model, DR averages
     * two folds') */
    if (!m || !m->mu || a < 0 || a >= m->n_arms ||
        (m->learner != PROMO_UPLIFT_T && m->learner != PROMO_UPLIFT_X))
        return NULL;
    return m->mu[a];
}

int promo_uplift_predict(promo_uplift *m, const float *x, size_t n, size_t d, float *effect)
{
    int rc = check_predict(m, x, n, d, effect);
    if (rc || n == 0)
        return rc;
    size_t K = (size_t)m->n_arms, E = K - 1;
    float *buf = NULL, *t0 = NULL, *t1 = NULL;
    switch (m->learner) {
    case PROMO_UPLIFT_S:
    case PROMO_UPLIFT_T:
        buf = promo_mallocn(n, K * sizeof *buf);
        if (!buf)
            return PROMO_ENOMEM;
        if (!(rc = outcomes(m, x, n, buf)))
            for (size_t i = 0; i < n; i++)
                for (size_t a = 1; a < K; a++)
                    effect[i * E + a - 1] = buf[i * K + a] - buf[i * K];
        break;
    case PROMO_UPLIFT_X:
        buf = promo_mallocn(n, K * sizeof *buf);
        t0 = promo_mallocn(n, sizeof *t0);
        t1 = promo_mallocn(n, sizeof *t1);
        if (!buf || !t0 || !t1) {
            rc = PROMO_ENOMEM;
            break;
        }
        if ((rc = propensity(m, m->prop, x, n, buf)))
            break;
        for (size_t a = 1; a < K && !rc; a++) {
            if ((rc = promo_learner_predict(m->tau[2 * (a - 1)], x, n, m->d, t0)) ||
                (rc = promo_learner_predict(m->tau[2 * (a - 1) + 1], x, n, m->d, t1)))
                break;
            for (size_t i = 0; i < n; i++) {
                double g = pair_prop(buf + i * K, (int)a, m->clip);
                effect[i * E + a - 1] = (float)(g * t0[i] + (1.0 - g) * t1[i]);
            }
        }
        break;
    case PROMO_UPLIFT_TREE:
    case PROMO_UPLIFT_FOREST:
        rc = promo_uplift_forest_predict(m->forest, x, n, m->d, effect);
        break;
    case PROMO_UPLIFT_R:
    case PROMO_UPLIFT_DR:
    case PROMO_UPLIFT_CT: { /* one effect model per arm */
        /* ct on a binary outcome models P(z = 1 | x) = (1 + tau) / 2 */
        int ct_binary = m->learner == PROMO_UPLIFT_CT && m->binary;
        t0 = promo_mallocn(n, sizeof *t0);
        if (!t0)
            return PROMO_ENOMEM;
        for (size_t a = 1; a < K && !rc; a++) {
            rc = promo_learner_predict(m->tau[a - 1], x, n, m->d, t0);
            for (size_t i = 0; i < n && !rc; i++)
                effect[i * E + a - 1] = ct_binary ? 2.0f * t0[i] - 1.0f : t0[i];
        }
        break;
    }
    default:
        rc = promo_fail(PROMO_EINTERNAL, "uplift: learner %d", (int)m->learner);
        break;
    }
    promo_free(buf);
    promo_free(t0);
    promo_free(t1);
    return rc;
}

int promo_uplift_overlap_get(const promo_uplift *m, promo_uplift_overlap *out)
{
    if (!m || !out)
        return promo_fail(PROMO_EUSAGE, "uplift: overlap needs a model and out");
    *out = m->overlap;
    return PROMO_OK;
}

int promo_uplift_policy(
    const float *effect, size_t n, int n_arms, double margin, const double *cost, int32_t *best_arm)
{
    if ((n && (!effect || !best_arm)) || n_arms < 2)
        return promo_fail(PROMO_EUSAGE, "uplift: policy needs effects, n_arms >= 2 and out");
    if (!isfinite(margin))
        return promo_fail(PROMO_EUSAGE, "uplift: margin %g is not finite", margin);
    for (int a = 0; cost && a < n_arms; a++)
        if (!isfinite(cost[a]))
            return promo_fail(PROMO_EUSAGE, "uplift: cost of arm %d is not finite", a);
    size_t E = (size_t)n_arms - 1;
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        double bv = cost ? -cost[0] : 0.0;
        for (size_t a = 1; a <= E; a++) {
            double v = (double)effect[i * E + a - 1] * margin - (cost ? cost[a] : 0.0);
            if (v > bv) {
                bv = v;
                best = (int)a;
            }
        }
        best_arm[i] = best;
    }
    return PROMO_OK;
}
