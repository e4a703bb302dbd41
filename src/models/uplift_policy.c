/* src/models/uplift_policy.c: the calibrated treatment policy (include/promo/uplift_policy.h).
 *
 * Why not the argmax of the effects: on Hillstrom the Mens e-mail beats the Womens one on
 * average and the two are close for a large share of rows; an argmax sends the Womens e-mail
 * wherever the effect models' noise favours it, and that policy's value came out at or below
 * "Mens for everyone". The calibration below is the same best-linear-predictor test as the
 * workspace's effect calibration (report_uplift.c), applied to the difference between two arms
 * on out-of-fold predictions, so the policy departs from the best single arm only as far as
 * rows the model did not see confirm the predicted differences.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/rng.h>
#include <promo/uplift_policy.h>

#define N_FOLDS     2
#define FOLD_STREAM 0x706f6c6963790000ULL /* "policy": the folds' own rng stream */

void promo_uplift_policy_cal_free(promo_uplift_policy_cal *c)
{
    if (!c)
        return;
    promo_free(c->value);
    promo_free(c->level);
    promo_free(c->slope);
    promo_free(c->slope_se);
    promo_free(c->c);
    promo_free(c->mean_diff);
    promo_free(c);
}

typedef struct keyed {
    int32_t arm;
    uint64_t key;
    size_t i;
} keyed;

static int by_arm_key(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->arm != b->arm)
        return a->arm < b->arm ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* fold[i] in 0..N_FOLDS-1, alternating within each arm in a seeded random order. */
static int draw_folds(const promo_uplift_data *d, uint64_t seed, uint8_t *fold)
{
    keyed *k = promo_mallocn(d->n, sizeof *k);
    if (!k)
        return promo_fail(PROMO_ENOMEM, "uplift policy: out of memory");
    promo_rng r;
    promo_rng_init(&r, seed, FOLD_STREAM);
    for (size_t i = 0; i < d->n; i++)
        k[i] = (keyed){d->arm[i], promo_rng_u64(&r), i};
    qsort(k, d->n, sizeof *k, by_arm_key);
    for (size_t i = 0, j = 0; i < d->n; i++) {
        j = i && k[i].arm == k[i - 1].arm ? j + 1 : 0;
        fold[k[i].i] = (uint8_t)(j % N_FOLDS);
    }
    promo_free(k);
    return PROMO_OK;
}

/* Fit on the rows of every fold but f, predict the rows of fold f: effects into eff (n x E),
 * outcomes into mu (n x K), propensities into e (n x K), at the rows' own indices. */
static int cross_fit_fold(const promo_uplift_params *p,
                          const promo_uplift_data *d,
                          const uint8_t *fold,
                          int f,
                          float *eff,
                          float *mu,
                          float *e)
{
    size_t n = d->n, dim = d->d, K = (size_t)d->n_arms, E = K - 1, nin = 0, nout = 0;
    for (size_t i = 0; i < n; i++)
        nin += fold[i] != f;
    nout = n - nin;
    int rc = PROMO_OK;
    float *xi = promo_mallocn(nin * dim, sizeof *xi), *yi = promo_mallocn(nin, sizeof *yi);
    float *wi = d->w ? promo_mallocn(nin, sizeof *wi) : NULL;
    int32_t *ai = promo_mallocn(nin, sizeof *ai);
    float *xo = promo_mallocn(nout * dim, sizeof *xo);
    float *eo = promo_mallocn(nout * E, sizeof *eo), *mo = promo_mallocn(nout * K, sizeof *mo);
    float *po = promo_mallocn(nout * K, sizeof *po);
    double *sum = promo_calloc(K, sizeof *sum), *cnt = promo_calloc(K, sizeof *cnt);
    promo_uplift *m = NULL;
    if (!xi || !yi || (d->w && !wi) || !ai || !xo || !eo || !mo || !po || !sum || !cnt) {
        rc = promo_fail(PROMO_ENOMEM, "uplift policy: out of memory");
        goto done;
    }
    for (size_t i = 0, a = 0, b = 0; i < n; i++) {
        if (fold[i] != f) {
            memcpy(xi + a * dim, d->x + i * dim, dim * sizeof *xi);
            yi[a] = d->y[i];
            ai[a] = d->arm[i];
            if (wi)
                wi[a] = d->w[i];
            double w = d->w ? d->w[i] : 1.0;
            sum[d->arm[i]] += w * d->y[i];
            cnt[d->arm[i]] += w;
            a++;
        } else {
            memcpy(xo + b * dim, d->x + i * dim, dim * sizeof *xo);
            b++;
        }
    }
    promo_uplift_data sub = *d;
    sub.x = xi;
    sub.n = nin;
    sub.arm = ai;
    sub.y = yi;
    sub.w = wi;
    promo_uplift_params q = *p;
    q.seed = p->seed + 7919u * (uint64_t)(f + 1);
    q.gbdt.seed = q.seed;
    q.tree.seed = q.seed;
    if ((rc = promo_uplift_fit(&q, &sub, &m)) ||
        (rc = promo_uplift_predict(m, xo, nout, dim, eo)) ||
        (rc = promo_uplift_predict_propensity(m, xo, nout, dim, po)))
        goto done;
    if (promo_uplift_predict_outcomes(m, xo, nout, dim, mo) != PROMO_OK) {
        /* R, TREE, FOREST: no outcome model; the fold's arm means keep the scores doubly
         * robust in the randomised case (their variance is IPS's minus the mean's share) */
        promo_clear_error();
        for (size_t i = 0; i < nout; i++)
            for (size_t a = 0; a < K; a++)
                mo[i * K + a] = cnt[a] > 0 ? (float)(sum[a] / cnt[a]) : 0.0f;
    }
    for (size_t i = 0, b = 0; i < n; i++) {
        if (fold[i] != f)
            continue;
        memcpy(eff + i * E, eo + b * E, E * sizeof *eff);
        memcpy(mu + i * K, mo + b * K, K * sizeof *mu);
        memcpy(e + i * K, po + b * K, K * sizeof *e);
        b++;
    }
done:
    promo_uplift_free(m);
    promo_free(xi);
    promo_free(yi);
    promo_free(wi);
    promo_free(ai);
    promo_free(xo);
    promo_free(eo);
    promo_free(mo);
    promo_free(po);
    promo_free(sum);
    promo_free(cnt);
    return rc;
}

static int check_costs(int K, double margin, const double *cost)
{
    if (!isfinite(margin))
        return promo_fail(PROMO_EUSAGE, "uplift policy: margin %g is not finite", margin);
    for (int a = 0; cost && a < K; a++)
        if (!isfinite(cost[a]))
            return promo_fail(PROMO_EUSAGE, "uplift policy: cost of arm %d is not finite", a);
    return PROMO_OK;
}

int promo_uplift_policy_calibrate(const promo_uplift_params *p,
                                  const promo_uplift_data *train,
                                  double margin,
                                  const double *cost,
                                  promo_uplift_policy_cal **out)
{
    if (!p || !train || !out || train->n_arms < 2 || !train->arm || !train->y || !train->x)
        return promo_fail(PROMO_EUSAGE, "uplift policy: needs parameters, data and out");
    *out = NULL;
    int rc = check_costs(train->n_arms, margin, cost);
    if (rc)
        return rc;
    size_t n = train->n, K = (size_t)train->n_arms, E = K - 1;
    uint8_t *fold = promo_mallocn(n, sizeof *fold);
    float *eff = promo_mallocn(n * E, sizeof *eff), *mu = promo_mallocn(n * K, sizeof *mu);
    float *e = promo_mallocn(n * K, sizeof *e);
    double *g = promo_mallocn(n * K, sizeof *g);
    promo_uplift_policy_cal *c = promo_calloc(1, sizeof *c);
    if (!fold || !eff || !mu || !e || !g || !c) {
        rc = promo_fail(PROMO_ENOMEM, "uplift policy: out of memory");
        goto fail;
    }
    c->n_arms = (int)K;
    c->n_rows = n;
    c->value = promo_calloc(K, sizeof *c->value);
    c->level = promo_calloc(K, sizeof *c->level);
    c->slope = promo_calloc(K, sizeof *c->slope);
    c->slope_se = promo_calloc(K, sizeof *c->slope_se);
    c->c = promo_calloc(K, sizeof *c->c);
    c->mean_diff = promo_calloc(K, sizeof *c->mean_diff);
    if (!c->value || !c->level || !c->slope || !c->slope_se || !c->c || !c->mean_diff) {
        rc = promo_fail(PROMO_ENOMEM, "uplift policy: out of memory");
        goto fail;
    }
    if ((rc = draw_folds(train, p->seed, fold)))
        goto fail;
    for (int f = 0; f < N_FOLDS; f++)
        if ((rc = cross_fit_fold(p, train, fold, f, eff, mu, e)))
            goto fail;

    /* doubly robust scores and the best single arm */
    double clip = p->clip > 0 && p->clip < 0.5 ? p->clip : 0.01;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < K; a++) {
            double ea = fmin(fmax((double)e[i * K + a], clip), 1.0 - clip);
            double m = mu[i * K + a];
            g[i * K + a] = m + ((size_t)train->arm[i] == a ? (train->y[i] - m) / ea : 0.0);
            c->value[a] += g[i * K + a] / (double)n;
        }
    int base = 0;
    for (size_t a = 1; a < K; a++)
        if (margin * c->value[a] - (cost ? cost[a] : 0) >
            margin * c->value[base] - (cost ? cost[base] : 0))
            base = (int)a;
    c->base_arm = base;

    /* per other arm: BLP of the gain over the base arm by the predicted difference */
    for (size_t b = 0; b < K; b++) {
        if ((int)b == base) {
            c->slope[b] = c->slope_se[b] = NAN;
            continue;
        }
        double sm = 0, dm = 0;
        for (size_t i = 0; i < n; i++) {
            double s =
                (b ? eff[i * E + b - 1] : 0.0) - (base ? eff[i * E + (size_t)base - 1] : 0.0);
            sm += s / (double)n;
            dm += (g[i * K + b] - g[i * K + (size_t)base]) / (double)n;
        }
        double sxx = 0, sxy = 0;
        for (size_t i = 0; i < n; i++) {
            double s =
                (b ? eff[i * E + b - 1] : 0.0) - (base ? eff[i * E + (size_t)base - 1] : 0.0) - sm;
            sxx += s * s;
            sxy += s * (g[i * K + b] - g[i * K + (size_t)base] - dm);
        }
        double beta = sxx > 0 ? sxy / sxx : 0, v = 0;
        for (size_t i = 0; sxx > 0 && i < n; i++) {
            double s =
                (b ? eff[i * E + b - 1] : 0.0) - (base ? eff[i * E + (size_t)base - 1] : 0.0) - sm;
            double r = g[i * K + b] - g[i * K + (size_t)base] - dm - beta * s;
            v += s * s * r * r;
        }
        double se = sxx > 0 ? sqrt(v) / sxx : INFINITY;
        double cb = beta > 0 && isfinite(se) ? beta * beta * beta / (beta * beta + se * se) : 0;
        c->level[b] = dm;
        c->slope[b] = beta;
        c->slope_se[b] = se;
        c->c[b] = fmin(fmax(cb, 0.0), 1.0);
        c->mean_diff[b] = sm;
        promo_debug("uplift policy: arm %zu vs base %d: gain %.5g, slope %.4g +- %.4g -> %.4g", b,
                    base, dm, beta, se, c->c[b]);
    }
    promo_free(fold);
    promo_free(eff);
    promo_free(mu);
    promo_free(e);
    promo_free(g);
    *out = c;
    return PROMO_OK;
fail:
    promo_free(fold);
    promo_free(eff);
    promo_free(mu);
    promo_free(e);
    promo_free(g);
    promo_uplift_policy_cal_free(c);
    return rc;
}

int promo_uplift_policy_apply(const promo_uplift_policy_cal *c,
                              const float *effect,
                              size_t n,
                              double margin,
                              const double *cost,
                              int32_t *best_arm)
{
    if (!c || (n && (!effect || !best_arm)))
        return promo_fail(PROMO_EUSAGE, "uplift policy: needs a calibration, effects and out");
    int rc = check_costs(c->n_arms, margin, cost);
    if (rc)
        return rc;
    size_t K = (size_t)c->n_arms, E = K - 1, base = (size_t)c->base_arm;
    for (size_t i = 0; i < n; i++) {
        double sb = base ? effect[i * E + base - 1] : 0.0, bv = 0;
        int best = (int)base;
        for (size_t b = 0; b < K; b++) {
            if (b == base)
                continue;
            double s = (b ? effect[i * E + b - 1] : 0.0) - sb;
            double gain = margin * (c->level[b] + c->c[b] * (s - c->mean_diff[b])) -
                          (cost ? cost[b] - cost[base] : 0.0);
            if (gain > bv) {
                bv = gain;
                best = (int)b;
            }
        }
        best_arm[i] = best;
    }
    return PROMO_OK;
}
