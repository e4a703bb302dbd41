/* BG/NBD and Gamma-Gamma by penalised maximum likelihood (see promo/clv.h for the models and
 * our departures from the papers).
 *
 * BG/NBD log-likelihood of one customer (FHL 2005 eq. 6, rearranged):
 *   ln L = lnG(r+x) - lnG(r) + lnB(a, b+x) - lnB(a, b) + r ln(alpha) - (r+x) ln(alpha+T)
 *          + ln(1 + D),   D = [x > 0] a / (b+x-1) * ((alpha+T) / (alpha+t_x))^(r+x)
 * The first four terms depend on x only, so they are summed once per distinct x (counts),
 * which makes an evaluation cost a few logs per customer. ln(1 + D) is evaluated from ln D as
 * a log-sum-exp (no overflow), and s = D / (1 + D) = 1 - P(alive) drives the gradient.
 *
 * Sums over customers use fixed blocks (not per-thread partials) so the objective, and hence
 * the fit, does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <gsl/gsl_vector.h>

#include <promo/alloc.h>
#include <promo/clv.h>
#include <promo/error.h>

#define N_BLOCKS 64 /* fixed reduction blocks: thread-count independent sums */
#define LOG_BOUND 30.0 /* |log theta| beyond this is treated as divergence */

promo_clv_params promo_clv_params_default(void)
{
    promo_clv_params p;
    p.penalty = 1e-6;
    p.max_iter = 200;
    p.max_customers = 20000;
    p.n_threads = 0;
    return p;
}

static int n_threads(int n)
{
    return n > 0 ? n : omp_get_max_threads();
}

/* ---- shared: distinct values with counts ---- */

typedef struct xcount {
    double x;   /* distinct value */
    double cnt; /* how many customers have it */
} xcount;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Distinct values of v[0..n) with their counts (sorted). */
static xcount *distinct_counts(const double *v, size_t n, size_t *n_out)
{
    double *s = promo_mallocn(n ? n : 1, sizeof *s);
    xcount *o = promo_mallocn(n ? n : 1, sizeof *o);
    if (!s || !o) {
        promo_free(s);
        promo_free(o);
        return NULL;
    }
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && o[k - 1].x == s[i])
            o[k - 1].cnt += 1;
        else
            o[k++] = (xcount){s[i], 1};
    }
    promo_free(s);
    *n_out = k;
    return o;
}

/* ln(1 + exp(u)) without overflow. */
static double log1pexp(double u)
{
    return u > 0 ? u + log1p(exp(-u)) : log1p(exp(u));
}

/* ---- BG/NBD ---- */

typedef struct bg_data {
    size_t n;         /* customers in the fit */
    const double *x;  /* n repeat purchases */
    const double *tx; /* n recency */
    const double *T;  /* n age */
    xcount *ux;       /* distinct x */
    size_t n_ux;
    double penalty;
    int n_threads;
} bg_data;

/* Objective and gradient (w.r.t. log-parameters) at theta = exp(lp). g may be NULL. */
static double bg_objective(const bg_data *d, const double *lp, double *g)
{
    for (int k = 0; k < 4; k++)
        if (!(fabs(lp[k]) < LOG_BOUND))
            return GSL_POSINF;
    double r = exp(lp[0]), al = exp(lp[1]), a = exp(lp[2]), b = exp(lp[3]);
    double ll = 0, gr = 0, gal = 0, ga = 0, gb = 0;
    double lnB0 = gsl_sf_lnbeta(a, b), lgr = gsl_sf_lngamma(r);
    double psi_r = gsl_sf_psi(r), psi_b = gsl_sf_psi(b), psi_ab = gsl_sf_psi(a + b);
    for (size_t i = 0; i < d->n_ux; i++) {
        double x = d->ux[i].x, c = d->ux[i].cnt;
        if (x == 0)
            continue; /* all four terms cancel */
        ll += c * (gsl_sf_lngamma(r + x) - lgr + gsl_sf_lnbeta(a, b + x) - lnB0);
        if (g) {
            double psi_abx = gsl_sf_psi(a + b + x);
            gr += c * (gsl_sf_psi(r + x) - psi_r);
            ga += c * (psi_ab - psi_abx);
            gb += c * (gsl_sf_psi(b + x) - psi_abx - psi_b + psi_ab);
        }
    }
    double bl[N_BLOCKS][5];
    double lal = log(al);
    size_t n = d->n;
#pragma omp parallel for schedule(static) num_threads(n_threads(d->n_threads)) if (d->n >= 20000)
    for (int blk = 0; blk < N_BLOCKS; blk++) {
        size_t lo = n * (size_t)blk / N_BLOCKS, hi = n * (size_t)(blk + 1) / N_BLOCKS;
        double s_ll = 0, s_r = 0, s_al = 0, s_a = 0, s_b = 0;
        for (size_t i = lo; i < hi; i++) {
            double x = d->x[i], T = d->T[i];
            double L1 = log(al + T);
            double term = r * lal - (r + x) * L1;
            double dr = lal - L1, dal = r / al - (r + x) / (al + T);
            if (x > 0) {
                double L2 = log(al + d->tx[i]);
                double lnD = log(a) - log(b + x - 1) + (r + x) * (L1 - L2);
                term += log1pexp(lnD);
                double s = 1.0 / (1.0 + exp(-lnD));
                dr += s * (L1 - L2);
                dal += s * (r + x) * (1.0 / (al + T) - 1.0 / (al + d->tx[i]));
                s_a += s / a;
                s_b -= s / (b + x - 1);
            }
            s_ll += term;
            s_r += dr;
            s_al += dal;
        }
        bl[blk][0] = s_ll;
        bl[blk][1] = s_r;
        bl[blk][2] = s_al;
        bl[blk][3] = s_a;
        bl[blk][4] = s_b;
    }
    for (int blk = 0; blk < N_BLOCKS; blk++) {
        ll += bl[blk][0];
        gr += bl[blk][1];
        gal += bl[blk][2];
        ga += bl[blk][3];
        gb += bl[blk][4];
    }
    double inv_n = 1.0 / (double)n, pen = 0;
    for (int k = 0; k < 4; k++)
        pen += lp[k] * lp[k];
    if (g) {
        g[0] = -gr * r * inv_n + 2 * d->penalty * lp[0];
        g[1] = -gal * al * inv_n + 2 * d->penalty * lp[1];
        g[2] = -ga * a * inv_n + 2 * d->penalty * lp[2];
        g[3] = -gb * b * inv_n + 2 * d->penalty * lp[3];
    }
    double f = -ll * inv_n + d->penalty * pen;
    return isfinite(f) ? f : GSL_POSINF;
}

/* ---- the optimiser driver, shared by both models ---- */

typedef double (*objective_fn)(const void *ctx, const double *lp, double *g);

typedef struct opt_ctx {
    objective_fn fn;
    const void *ctx;
    size_t dim;
} opt_ctx;

static double gsl_f(const gsl_vector *v, void *p)
{
    const opt_ctx *o = p;
    double lp[8];
    for (size_t k = 0; k < o->dim; k++)
        lp[k] = gsl_vector_get(v, k);
    return o->fn(o->ctx, lp, NULL);
}

static void gsl_fdf(const gsl_vector *v, void *p, double *f, gsl_vector *g)
{
    const opt_ctx *o = p;
    double lp[8], gg[8];
    for (size_t k = 0; k < o->dim; k++)
        lp[k] = gsl_vector_get(v, k);
    *f = o->fn(o->ctx, lp, gg);
    for (size_t k = 0; k < o->dim; k++)
        gsl_vector_set(g, k, isfinite(*f) ? gg[k] : 0.0);
}

static void gsl_df(const gsl_vector *v, void *p, gsl_vector *g)
{
    double f;
    gsl_fdf(v, p, &f, g);
}

static double grad_norm(const opt_ctx *o, const double *lp)
{
    double g[8], s = 0;
    if (!isfinite(o->fn(o->ctx, lp, g)))
        return GSL_POSINF;
    for (size_t k = 0; k < o->dim; k++)
        s += g[k] * g[k];
    return sqrt(s);
}

/* One BFGS2 run from lp (updated in place to the best point seen). Returns iterations. */
static int run_bfgs(const opt_ctx *o, double *lp, int max_iter)
{
    gsl_multimin_function_fdf F = {gsl_f, gsl_df, gsl_fdf, o->dim, (void *)o};
    gsl_vector *x = gsl_vector_alloc(o->dim);
    gsl_multimin_fdfminimizer *m =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, o->dim);
    int it = 0;
    if (!x || !m)
        goto done;
    for (size_t k = 0; k < o->dim; k++)
        gsl_vector_set(x, k, lp[k]);
    if (!isfinite(gsl_f(x, (void *)o)))
        goto done;
    if (gsl_multimin_fdfminimizer_set(m, &F, x, 0.05, 0.1) != GSL_SUCCESS)
        goto done;
    for (; it < max_iter; it++) {
        if (gsl_multimin_fdfminimizer_iterate(m) != GSL_SUCCESS)
            break;
        if (gsl_multimin_test_gradient(m->gradient, 1e-7) == GSL_SUCCESS)
            break;
    }
    if (isfinite(m->f))
        for (size_t k = 0; k < o->dim; k++)
            lp[k] = gsl_vector_get(m->x, k);
done:
    gsl_multimin_fdfminimizer_free(m);
    gsl_vector_free(x);
    return it;
}

/* One Nelder-Mead run from lp (updated in place). Returns iterations. */
static int run_nm(const opt_ctx *o, double *lp, int max_iter)
{
    gsl_multimin_function F = {gsl_f, o->dim, (void *)o};
    gsl_vector *x = gsl_vector_alloc(o->dim), *step = gsl_vector_alloc(o->dim);
    gsl_multimin_fminimizer *m =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, o->dim);
    int it = 0;
    if (!x || !step || !m)
        goto done;
    for (size_t k = 0; k < o->dim; k++)
        gsl_vector_set(x, k, lp[k]);
    gsl_vector_set_all(step, 0.5);
    if (!isfinite(gsl_f(x, (void *)o)))
        goto done;
    if (gsl_multimin_fminimizer_set(m, &F, x, step) != GSL_SUCCESS)
        goto done;
    for (; it < max_iter; it++) {
        if (gsl_multimin_fminimizer_iterate(m) != GSL_SUCCESS)
            break;
        if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 1e-9) == GSL_SUCCESS)
            break;
    }
    if (isfinite(m->fval))
        for (size_t k = 0; k < o->dim; k++)
            lp[k] = gsl_vector_get(m->x, k);
done:
    gsl_multimin_fminimizer_free(m);
    gsl_vector_free(step);
    gsl_vector_free(x);
    return it;
}

/* Minimise from each start; keep the best. If its gradient is not small, rescue with
 * Nelder-Mead then BFGS again. Returns 0 and the optimum in best, or -1 (no finite optimum /
 * no convergence) with *why set. */
static int minimise(const opt_ctx *o, const double *starts, int n_starts, int max_iter,
                    double *best, int *iters, int *fallback, const char **why)
{
    double best_f = GSL_POSINF, lp[8];
    *iters = 0;
    *fallback = 0;
    /* Short runs from every start, then the best one to convergence: degenerate data (no
     * dropout, say) put the optimum far along a flat ridge, and a full run from each start
     * would crawl along it four times. */
    for (int s = 0; s < n_starts; s++) {
        memcpy(lp, starts + (size_t)s * o->dim, o->dim * sizeof *lp);
        *iters += run_bfgs(o, lp, max_iter < 60 ? max_iter : 60);
        double f = o->fn(o->ctx, lp, NULL);
        if (f < best_f) {
            best_f = f;
            memcpy(best, lp, o->dim * sizeof *lp);
        }
    }
    if (!isfinite(best_f))
        memcpy(best, starts, o->dim * sizeof *best);
    *iters += run_bfgs(o, best, max_iter);
    best_f = o->fn(o->ctx, best, NULL);
    const double gtol = 1e-5;
    if (!isfinite(best_f) || grad_norm(o, best) > gtol) {
        *fallback = 1;
        *iters += run_nm(o, best, max_iter * 2);
        *iters += run_bfgs(o, best, max_iter);
        best_f = o->fn(o->ctx, best, NULL);
    }
    if (!isfinite(best_f)) {
        *why = "the likelihood is not finite at any starting point";
        return -1;
    }
    double gn = grad_norm(o, best);
    if (!(gn <= 1e-3)) {
        *why = "the optimiser did not reach a stationary point";
        return -1;
    }
    return 0;
}

int promo_bgnbd_fit(const double *x, const double *t_x, const double *T, size_t n,
                    const promo_clv_params *params, promo_bgnbd *out)
{
    promo_clv_params def = promo_clv_params_default();
    const promo_clv_params *p = params ? params : &def;
    memset(out, 0, sizeof *out);
    size_t n_rep = 0;
    double sum_T = 0, sum_x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] >= 0) || !(T[i] > 0) || !(t_x[i] >= 0) || t_x[i] > T[i] * (1 + 1e-12) ||
            !isfinite(x[i]) || !isfinite(T[i]) || (x[i] > 0 && !(t_x[i] > 0)))
            return promo_fail(PROMO_EUSAGE,
                              "bgnbd: customer %zu: need x >= 0, 0 <= t_x <= T, T > 0 and "
                              "t_x > 0 when x > 0 (got x=%g t_x=%g T=%g)",
                              i, x[i], t_x[i], T[i]);
        n_rep += x[i] > 0;
        sum_T += T[i];
        sum_x += x[i];
    }
    if (n < 10)
        return promo_fail(PROMO_EMODEL, "bgnbd: %zu customers: the model needs at least 10", n);
    if (n_rep == 0)
        return promo_fail(PROMO_EMODEL,
                          "bgnbd: no customer made a repeat purchase: the data cannot identify "
                          "purchase rates or dropout (use a longer history or an earlier cohort)");
    /* Deterministic stride subsample: the estimate needs ~1e5 customers, not 1e7. */
    size_t stride = p->max_customers && n > p->max_customers
                        ? (n + p->max_customers - 1) / p->max_customers
                        : 1;
    size_t m = (n + stride - 1) / stride;
    double *buf = NULL;
    bg_data d = {0};
    d.penalty = p->penalty;
    d.n_threads = p->n_threads;
    if (stride > 1) {
        buf = promo_mallocn(3 * m, sizeof *buf);
        if (!buf)
            return PROMO_ENOMEM;
        for (size_t i = 0, k = 0; i < n; i += stride, k++) {
            buf[k] = x[i];
            buf[m + k] = t_x[i];
            buf[2 * m + k] = T[i];
        }
        d.x = buf;
        d.tx = buf + m;
        d.T = buf + 2 * m;
        d.n = m;
    } else {
        d.x = x;
        d.tx = t_x;
        d.T = T;
        d.n = n;
    }
    d.ux = distinct_counts(d.x, d.n, &d.n_ux);
    if (!d.ux) {
        promo_free(buf);
        return PROMO_ENOMEM;
    }
    /* Starts: alpha scaled to the data (E[lambda] = r / alpha ~ purchases per unit time). */
    double rate = (sum_x / (double)n + 1) / (sum_T / (double)n);
    double starts[4 * 4] = {
        log(1.0), log(1.0 / rate), log(1.0), log(1.0),
        log(0.3), log(0.3 / rate), log(0.8), log(2.5),
        log(2.0), log(2.0 / rate), log(0.5), log(5.0),
        log(0.1), log(0.1 / rate), log(3.0), log(1.0),
    };
    opt_ctx o = {(objective_fn)bg_objective, &d, 4};
    double best[4];
    const char *why = NULL;
    int rc = minimise(&o, starts, 4, p->max_iter, best, &out->iterations, &out->used_fallback,
                      &why);
    if (rc == 0) {
        out->r = exp(best[0]);
        out->alpha = exp(best[1]);
        out->a = exp(best[2]);
        out->b = exp(best[3]);
        out->n_fit = d.n;
        out->loglik = promo_bgnbd_loglik(out, d.x, d.tx, d.T, d.n);
    }
    promo_free(d.ux);
    promo_free(buf);
    if (rc)
        return promo_fail(PROMO_EMODEL, "bgnbd: %s on %zu customers (%zu with repeat purchases): "
                          "the data cannot support the model",
                          why, n, n_rep);
    return PROMO_OK;
}

double promo_bgnbd_loglik(const promo_bgnbd *m, const double *x, const double *t_x,
                          const double *T, size_t n)
{
    double ll = 0;
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    for (size_t i = 0; i < n; i++) {
        double L1 = log(al + T[i]);
        ll += r * log(al) - (r + x[i]) * L1;
        if (x[i] > 0) {
            ll += gsl_sf_lngamma(r + x[i]) - gsl_sf_lngamma(r) + gsl_sf_lnbeta(a, b + x[i]) -
                  gsl_sf_lnbeta(a, b);
            double lnD = log(a) - log(b + x[i] - 1) + (r + x[i]) * (L1 - log(al + t_x[i]));
            ll += log1pexp(lnD);
        }
    }
    return ll;
}

double promo_bgnbd_p_alive(const promo_bgnbd *m, double x, double t_x, double T)
{
    if (x <= 0)
        return 1.0;
    double lnD = log(m->a) - log(m->b + x - 1) +
                 (m->r + x) * (log(m->alpha + T) - log(m->alpha + t_x));
    return 1.0 / (1.0 + exp(lnD));
}

double promo_hyp2f1(double a, double b, double c, double z)
{
    if (!(z >= 0 && z < 1) || !(c > 0))
        return NAN;
    double term = 1, sum = 1;
    for (long k = 0; k < 2000000; k++) {
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
        sum += term;
        if (term == 0)
            return sum;
        /* Only stop once terms shrink for good: the ratio tends to z < 1 as k grows. */
        if (fabs(term) < 1e-16 * fabs(sum) && (double)k > fabs(a) + fabs(b))
            return sum;
        if (!isfinite(sum))
            return NAN;
    }
    return NAN;
}

double promo_bgnbd_expected(const promo_bgnbd *m, double t, double x, double t_x, double T)
{
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    if (fabs(a - 1) < 1e-9) /* removable singularity of the closed form */
        a = 1 + 1e-9;
    double z = t / (al + T + t);
    /* Euler: (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z),
     * whose terms stay small for heavy buyers (the untransformed series overflows). */
    double h = promo_hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z);
    double num = (a + b + x - 1) / (a - 1) * (1 - pow(1 - z, a - 1) * h);
    double den = 1.0;
    if (x > 0)
        den += exp(log(a) - log(b + x - 1) + (r + x) * (log(al + T) - log(al + t_x)));
    return num / den;
}

double promo_bgnbd_expected_new(const promo_bgnbd *m, double t)
{
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    if (fabs(a - 1) < 1e-9)
        a = 1 + 1e-9;
    double z = t / (al + t);
    /* Same transformation as above with x = 0, T = 0. */
    double h = promo_hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z);
    return (a + b - 1) / (a - 1) * (1 - pow(1 - z, a - 1) * h);
}

/* ---- Gamma-Gamma ----
 * ln L_i = lnG(p x + q) - lnG(p x) - lnG(q) + q ln v + (p x - 1) ln m + p x ln x
 *          - (p x + q) ln(v + x m)
 * (the density of the mean of x Gamma(p, nu) spends, nu ~ Gamma(q, v)). */

typedef struct gg_data {
    size_t n;
    double *x, *m;  /* n customers with x > 0, m > 0 */
    double *lnm, *lnx; /* their logs */
    xcount *ux;
    size_t n_ux;
    double penalty;
    int n_threads;
} gg_data;

static double gg_objective(const gg_data *d, const double *lp, double *g)
{
    for (int k = 0; k < 3; k++)
        if (!(fabs(lp[k]) < LOG_BOUND))
            return GSL_POSINF;
    double p = exp(lp[0]), q = exp(lp[1]), v = exp(lp[2]);
    double n = (double)d->n, ll = 0, gp = 0, gq = 0, gv = 0;
    for (size_t i = 0; i < d->n_ux; i++) {
        double x = d->ux[i].x, c = d->ux[i].cnt;
        ll += c * (gsl_sf_lngamma(p * x + q) - gsl_sf_lngamma(p * x));
        if (g) {
            double ps = gsl_sf_psi(p * x + q);
            gp += c * x * (ps - gsl_sf_psi(p * x));
            gq += c * ps;
        }
    }
    ll += n * (q * log(v) - gsl_sf_lngamma(q));
    if (g) {
        gq += n * (log(v) - gsl_sf_psi(q));
        gv += n * q / v;
    }
    double bl[N_BLOCKS][4];
    size_t nn = d->n;
#pragma omp parallel for schedule(static) num_threads(n_threads(d->n_threads)) if (d->n >= 20000)
    for (int blk = 0; blk < N_BLOCKS; blk++) {
        size_t lo = nn * (size_t)blk / N_BLOCKS, hi = nn * (size_t)(blk + 1) / N_BLOCKS;
        double s_ll = 0, s_p = 0, s_q = 0, s_v = 0;
        for (size_t i = lo; i < hi; i++) {
            double x = d->x[i], vxm = v + x * d->m[i], L = log(vxm);
            s_ll += (p * x - 1) * d->lnm[i] + p * x * d->lnx[i] - (p * x + q) * L;
            s_p += x * (d->lnm[i] + d->lnx[i] - L);
            s_q -= L;
            s_v -= (p * x + q) / vxm;
        }
        bl[blk][0] = s_ll;
        bl[blk][1] = s_p;
        bl[blk][2] = s_q;
        bl[blk][3] = s_v;
    }
    for (int blk = 0; blk < N_BLOCKS; blk++) {
        ll += bl[blk][0];
        gp += bl[blk][1];
        gq += bl[blk][2];
        gv += bl[blk][3];
    }
    double pen = lp[0] * lp[0] + lp[1] * lp[1] + lp[2] * lp[2];
    if (g) {
        g[0] = -gp * p / n + 2 * d->penalty * lp[0];
        g[1] = -gq * q / n + 2 * d->penalty * lp[1];
        g[2] = -gv * v / n + 2 * d->penalty * lp[2];
    }
    double f = -ll / n + d->penalty * pen;
    return isfinite(f) ? f : GSL_POSINF;
}

int promo_gamma_gamma_fit(const double *x, const double *m, size_t n,
                          const promo_clv_params *params, promo_gamma_gamma *out)
{
    promo_clv_params def = promo_clv_params_default();
    const promo_clv_params *pp = params ? params : &def;
    memset(out, 0, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += x[i] > 0 && m[i] > 0 && isfinite(m[i]) && isfinite(x[i]);
    if (k < 10)
        return promo_fail(PROMO_EMODEL,
                          "gamma-gamma: %zu customers with repeat purchases and positive spend: "
                          "the model needs at least 10",
                          k);
    size_t stride = pp->max_customers && k > pp->max_customers
                        ? (k + pp->max_customers - 1) / pp->max_customers
                        : 1;
    size_t cap = (k + stride - 1) / stride;
    gg_data d = {0};
    d.penalty = pp->penalty;
    d.n_threads = pp->n_threads;
    double *buf = promo_mallocn(4 * cap, sizeof *buf);
    if (!buf)
        return PROMO_ENOMEM;
    d.x = buf;
    d.m = buf + cap;
    d.lnm = buf + 2 * cap;
    d.lnx = buf + 3 * cap;
    double sum_m = 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (!(x[i] > 0 && m[i] > 0 && isfinite(m[i]) && isfinite(x[i])))
            continue;
        if (j++ % stride)
            continue;
        d.x[d.n] = x[i];
        d.m[d.n] = m[i];
        d.lnm[d.n] = log(m[i]);
        d.lnx[d.n] = log(x[i]);
        sum_m += m[i];
        d.n++;
    }
    d.ux = distinct_counts(d.x, d.n, &d.n_ux);
    if (!d.ux) {
        promo_free(buf);
        return PROMO_ENOMEM;
    }
    /* Starts from the moment identity E[m] = p v / (q - 1). */
    double mm = sum_m / (double)d.n;
    double starts[3 * 3] = {
        log(1.0), log(2.0), log(mm),
        log(5.0), log(3.0), log(2.0 * mm / 5.0),
        log(2.0), log(5.0), log(2.0 * mm),
    };
    opt_ctx o = {(objective_fn)gg_objective, &d, 3};
    double best[3];
    const char *why = NULL;
    int rc = minimise(&o, starts, 3, pp->max_iter, best, &out->iterations, &out->used_fallback,
                      &why);
    if (rc == 0) {
        out->p = exp(best[0]);
        out->q = exp(best[1]);
        out->v = exp(best[2]);
        out->n_fit = d.n;
        out->loglik = promo_gamma_gamma_loglik(out, d.x, d.m, d.n);
    }
    size_t nfit = d.n;
    promo_free(d.ux);
    promo_free(buf);
    if (rc)
        return promo_fail(PROMO_EMODEL,
                          "gamma-gamma: %s on %zu customers: the data cannot support the model",
                          why, nfit);
    return PROMO_OK;
}

double promo_gamma_gamma_loglik(const promo_gamma_gamma *g, const double *x, const double *m,
                                size_t n)
{
    double p = g->p, q = g->q, v = g->v, ll = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > 0 && m[i] > 0))
            continue;
        double px = p * x[i];
        ll += gsl_sf_lngamma(px + q) - gsl_sf_lngamma(px) - gsl_sf_lngamma(q) + q * log(v) +
              (px - 1) * log(m[i]) + px * log(x[i]) - (px + q) * log(v + x[i] * m[i]);
    }
    return ll;
}

double promo_gamma_gamma_expected_spend(const promo_gamma_gamma *g, double x, double m)
{
    if (!(g->q > 1))
        return m > 0 ? m : NAN;
    if (x <= 0)
        return g->p * g->v / (g->q - 1);
    return g->p * (g->v + x * m) / (g->p * x + g->q - 1);
}
