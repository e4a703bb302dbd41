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
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/clv.h>
#include <promo/error.h>
#include <promo/hash.h>

#define N_BLOCKS   64   /* fixed reduction blocks: thread-count independent sums */
#define MAX_STARTS 4    /* optimiser starting points, at most */
#define LOG_BOUND  30.0 /* |log theta| beyond this is treated as divergence */

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

/* ---- exact grouping: distinct values and triples ----
 * Open addressing on the bit patterns (so -0/+0 or NaN never reach here: inputs are checked),
 * filled in customer order: the distinct lists come out in first-seen order, the same for
 * any thread count. */

static inline uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

typedef struct vmap {
    uint64_t *key; /* cap slots of keys (1 or 3 words each) */
    uint32_t *idx; /* slot -> distinct index + 1, 0 = empty */
    size_t cap, n, words;
} vmap;

static int vmap_init(vmap *m, size_t words)
{
    m->cap = 1024;
    m->key = promo_mallocn(m->cap * words, sizeof *m->key);
    m->idx = promo_calloc(m->cap, sizeof *m->idx);
    m->n = 0;
    m->words = words;
    return m->key && m->idx ? 0 : -1;
}

static void vmap_free(vmap *m)
{
    promo_free(m->key);
    promo_free(m->idx);
    memset(m, 0, sizeof *m);
}

static size_t vmap_slot(const vmap *m, const uint64_t *k)
{
    uint64_t h = k[0];
    for (size_t w = 1; w < m->words; w++)
        h = h * 0x9e3779b97f4a7c15ULL ^ k[w];
    return (size_t)promo_fmix64(h) & (m->cap - 1);
}

static int vmap_grow(vmap *m)
{
    vmap g = *m;
    g.cap = m->cap * 2;
    g.key = promo_mallocn(g.cap * g.words, sizeof *g.key);
    g.idx = promo_calloc(g.cap, sizeof *g.idx);
    if (!g.key || !g.idx) {
        promo_free(g.key);
        promo_free(g.idx);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->idx[i])
            continue;
        const uint64_t *k = m->key + i * m->words;
        size_t j = vmap_slot(&g, k);
        while (g.idx[j])
            j = (j + 1) & (g.cap - 1);
        memcpy(g.key + j * g.words, k, g.words * sizeof *k);
        g.idx[j] = m->idx[i];
    }
    promo_free(m->key);
    promo_free(m->idx);
    *m = g;
    return 0;
}

/* Index of key k (words long), inserting it as the next distinct index when new (*is_new).
 * Returns UINT32_MAX when out of memory. */
static uint32_t vmap_get(vmap *m, const uint64_t *k, int *is_new)
{
    if (2 * (m->n + 1) > m->cap && vmap_grow(m))
        return UINT32_MAX;
    size_t mask = m->cap - 1, i = vmap_slot(m, k);
    for (;; i = (i + 1) & mask) {
        uint32_t v = m->idx[i];
        if (!v) {
            memcpy(m->key + i * m->words, k, m->words * sizeof *k);
            m->idx[i] = (uint32_t)++m->n;
            *is_new = 1;
            return (uint32_t)(m->n - 1);
        }
        if (memcmp(m->key + i * m->words, k, m->words * sizeof *k) == 0) {
            *is_new = 0;
            return v - 1;
        }
    }
}

/* Make room for index i in an array of elements of size sz with capacity *cap. */
static int grow_to(void **a, size_t *cap, size_t i, size_t sz)
{
    if (i < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    while (c <= i)
        c *= 2;
    void *na = promo_reallocn(*a, c, sz);
    if (!na)
        return -1;
    *a = na;
    *cap = c;
    return 0;
}

/* ---- BG/NBD ----
 * The likelihood depends on a customer only through (x, t_x, T): the fit works on distinct
 * triples weighted by their counts (exact). Per evaluation, log(alpha + T) and
 * log(alpha + t_x) are computed once per distinct T and t_x value and the terms without D are
 * summed per distinct T, leaving one exp and one log1p per distinct repeat-buyer triple. */

typedef struct bg_data {
    double n;                         /* customers in the fit (sum of weights) */
    size_t n_tri;                     /* distinct repeat-buyer triples (x > 0) */
    uint32_t *tri_x, *tri_T, *tri_tx; /* their indices into ux, uT, utx */
    double *tri_w;                    /* their counts */
    xcount *ux;                       /* distinct x with counts */
    size_t n_ux;
    double *uT, *nT, *xT; /* distinct T; customers and sum of x per T */
    size_t n_uT;
    double *utx; /* distinct t_x of repeat buyers */
    size_t n_utx;
    double *scratch; /* 4 * (n_uT + n_utx) + 2 * n_ux per-evaluation tables */
    double penalty;
    int n_threads;
} bg_data;

static void bg_data_free(bg_data *d)
{
    promo_free(d->tri_x);
    promo_free(d->tri_T);
    promo_free(d->tri_tx);
    promo_free(d->tri_w);
    promo_free(d->ux);
    promo_free(d->uT);
    promo_free(d->nT);
    promo_free(d->xT);
    promo_free(d->utx);
    promo_free(d->scratch);
    memset(d, 0, offsetof(bg_data, penalty));
}

static size_t bg_scratch_len(const bg_data *d)
{
    return 4 * (d->n_uT + d->n_utx) + 2 * d->n_ux + 1;
}

/* Group customers idx = 0, stride, 2 stride, ... < n. Returns 0, -1 on ENOMEM, 1 when more
 * than max_tri distinct repeat-buyer triples appear (max_tri = 0: no limit). */
static int bg_group(bg_data *d,
                    const double *x,
                    const double *t_x,
                    const double *T,
                    size_t n,
                    size_t stride,
                    size_t max_tri)
{
    vmap mt = {0}, mT = {0}, mx = {0}, mtx = {0};
    size_t c_tri = 0, c_T = 0, c_x = 0, c_tx = 0;
    int rc = -1;
    memset(d, 0, offsetof(bg_data, penalty));
    if (vmap_init(&mt, 3) || vmap_init(&mT, 1) || vmap_init(&mx, 1) || vmap_init(&mtx, 1))
        goto done;
    for (size_t i = 0; i < n; i += stride) {
        int fresh;
        uint64_t kT = dbits(T[i]), kx = dbits(x[i]);
        uint32_t jT = vmap_get(&mT, &kT, &fresh);
        if (jT == UINT32_MAX)
            goto done;
        if (fresh) {
            size_t c0 = c_T, c1 = c_T;
            if (grow_to((void **)&d->uT, &c0, jT, sizeof *d->uT) ||
                grow_to((void **)&d->nT, &c1, jT, sizeof *d->nT) ||
                grow_to((void **)&d->xT, &c_T, jT, sizeof *d->xT))
                goto done;
            d->uT[jT] = T[i];
            d->nT[jT] = d->xT[jT] = 0;
            d->n_uT++;
        }
        d->nT[jT] += 1;
        d->xT[jT] += x[i];
        uint32_t jx = vmap_get(&mx, &kx, &fresh);
        if (jx == UINT32_MAX)
            goto done;
        if (fresh) {
            if (grow_to((void **)&d->ux, &c_x, jx, sizeof *d->ux))
                goto done;
            d->ux[jx] = (xcount){x[i], 0};
            d->n_ux++;
        }
        d->ux[jx].cnt += 1;
        d->n += 1;
        if (x[i] == 0)
            continue;
        uint64_t k3[3] = {kx, dbits(t_x[i]), kT};
        uint32_t jt = vmap_get(&mt, k3, &fresh);
        if (jt == UINT32_MAX)
            goto done;
        if (fresh) {
            if (max_tri && mt.n > max_tri) {
                rc = 1;
                goto done;
            }
            uint32_t jtx = vmap_get(&mtx, &k3[1], &fresh);
            if (jtx == UINT32_MAX)
                goto done;
            if (fresh) {
                if (grow_to((void **)&d->utx, &c_tx, jtx, sizeof *d->utx))
                    goto done;
                d->utx[jtx] = t_x[i];
                d->n_utx++;
            }
            size_t c0 = c_tri, c1 = c_tri, c2 = c_tri;
            if (grow_to((void **)&d->tri_x, &c0, jt, sizeof *d->tri_x) ||
                grow_to((void **)&d->tri_T, &c1, jt, sizeof *d->tri_T) ||
                grow_to((void **)&d->tri_tx, &c2, jt, sizeof *d->tri_tx) ||
                grow_to((void **)&d->tri_w, &c_tri, jt, sizeof *d->tri_w))
                goto done;
            d->tri_x[jt] = jx;
            d->tri_T[jt] = jT;
            d->tri_tx[jt] = jtx;
            d->tri_w[jt] = 0;
            d->n_tri++;
        }
        d->tri_w[jt] += 1;
    }
    d->scratch = promo_mallocn(bg_scratch_len(d), sizeof *d->scratch);
    rc = d->scratch ? 0 : -1;
done:
    vmap_free(&mt);
    vmap_free(&mT);
    vmap_free(&mx);
    vmap_free(&mtx);
    if (rc)
        bg_data_free(d);
    return rc;
}

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
    double la = log(a), lal = log(al);
    double *lT = d->scratch, *iT = lT + d->n_uT, *ltx = iT + d->n_uT, *itx = ltx + d->n_utx;
    double *cx = itx + d->n_utx, *ibx = cx + d->n_ux;
    for (size_t i = 0; i < d->n_ux; i++) {
        double x = d->ux[i].x, c = d->ux[i].cnt;
        if (x == 0)
            continue; /* all four terms cancel */
        ll += c * (gsl_sf_lngamma(r + x) - lgr + gsl_sf_lnbeta(a, b + x) - lnB0);
        cx[i] = la - log(b + x - 1);
        ibx[i] = 1.0 / (b + x - 1);
        if (g) {
            double psi_abx = gsl_sf_psi(a + b + x);
            gr += c * (gsl_sf_psi(r + x) - psi_r);
            ga += c * (psi_ab - psi_abx);
            gb += c * (gsl_sf_psi(b + x) - psi_abx - psi_b + psi_ab);
        }
    }
    /* Terms without D, per distinct T: r ln(alpha) - (r + x) ln(alpha + T). */
    for (size_t k = 0; k < d->n_uT; k++) {
        lT[k] = log(al + d->uT[k]);
        iT[k] = 1.0 / (al + d->uT[k]);
        double rx = r * d->nT[k] + d->xT[k];
        ll += d->nT[k] * r * lal - rx * lT[k];
        gr += d->nT[k] * (lal - lT[k]);
        gal += d->nT[k] * r / al - rx * iT[k];
    }
    for (size_t k = 0; k < d->n_utx; k++) {
        ltx[k] = log(al + d->utx[k]);
        itx[k] = 1.0 / (al + d->utx[k]);
    }
    double bl[N_BLOCKS][5];
    size_t n = d->n_tri;
#pragma omp parallel for schedule(static) num_threads(n_threads(d->n_threads)) if (n >= 20000)
    for (int blk = 0; blk < N_BLOCKS; blk++) {
        size_t lo = n * (size_t)blk / N_BLOCKS, hi = n * (size_t)(blk + 1) / N_BLOCKS;
        double s_ll = 0, s_r = 0, s_al = 0, s_a = 0, s_b = 0;
        /* The line searches ask for the value alone about half the time. */
        for (size_t i = lo; !g && i < hi; i++) {
            uint32_t jx = d->tri_x[i], jT = d->tri_T[i], jt = d->tri_tx[i];
            double lnD = cx[jx] + (r + d->ux[jx].x) * (lT[jT] - ltx[jt]);
            s_ll += d->tri_w[i] * ((lnD > 0 ? lnD : 0) + log1p(exp(-fabs(lnD))));
        }
        for (size_t i = lo; g && i < hi; i++) {
            uint32_t jx = d->tri_x[i], jT = d->tri_T[i], jt = d->tri_tx[i];
            double w = d->tri_w[i], x = d->ux[jx].x, rx = r + x;
            double dl = lT[jT] - ltx[jt];
            double lnD = cx[jx] + rx * dl;
            /* ln(1 + e^u) and e^u / (1 + e^u) from one exp: no overflow either way. */
            double e = exp(-fabs(lnD)), s = lnD > 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            s_ll += w * ((lnD > 0 ? lnD : 0) + log1p(e));
            double ws = w * s;
            s_r += ws * dl;
            s_al += ws * rx * (iT[jT] - itx[jt]);
            s_a += ws;
            s_b -= ws * ibx[jx];
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
        ga += bl[blk][3] / a;
        gb += bl[blk][4];
    }
    double inv_n = 1.0 / d->n, pen = 0;
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

/* The objective of one BFGS run through a one-point memo. GSL's BFGS asks for the value at a
 * trial point and then, when it takes the point, for the gradient there: three evaluations in
 * seven were that repeat (a 100,000-customer fit). Both are computed the first time and the
 * second is answered from memory; the value is the same sum with or without the gradient, so
 * the run is the same bit for bit. */
typedef struct opt_memo {
    const opt_ctx *o;
    int valid;
    double lp[8], f, g[8];
} opt_memo;

static void memo_eval(opt_memo *m, const gsl_vector *v)
{
    double lp[8] = {0};
    for (size_t k = 0; k < m->o->dim; k++)
        lp[k] = gsl_vector_get(v, k);
    if (m->valid && memcmp(lp, m->lp, m->o->dim * sizeof *lp) == 0)
        return;
    memcpy(m->lp, lp, m->o->dim * sizeof *lp);
    m->f = m->o->fn(m->o->ctx, lp, m->g);
    m->valid = 1;
}

static double memo_f(const gsl_vector *v, void *p)
{
    opt_memo *m = p;
    memo_eval(m, v);
    return m->f;
}

static void memo_fdf(const gsl_vector *v, void *p, double *f, gsl_vector *g)
{
    opt_memo *m = p;
    memo_eval(m, v);
    *f = m->f;
    for (size_t k = 0; k < m->o->dim; k++)
        gsl_vector_set(g, k, isfinite(m->f) ? m->g[k] : 0.0);
}

static void memo_df(const gsl_vector *v, void *p, gsl_vector *g)
{
    double f;
    memo_fdf(v, p, &f, g);
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
    opt_memo memo = {o, 0, {0}, 0, {0}};
    gsl_multimin_function_fdf F = {memo_f, memo_df, memo_fdf, o->dim, &memo};
    gsl_vector *x = gsl_vector_alloc(o->dim);
    gsl_multimin_fdfminimizer *m =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, o->dim);
    int it = 0;
    if (!x || !m)
        goto done;
    for (size_t k = 0; k < o->dim; k++)
        gsl_vector_set(x, k, lp[k]);
    if (!isfinite(memo_f(x, &memo)))
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
 * Nelder-Mead then BFGS again. start_ctx: one objective context per start (the short runs
 * from the starts run concurrently, so an objective with scratch needs one each); n_threads
 * for them. Returns 0 and the optimum in best, or -1 (no finite optimum / no convergence)
 * with *why set. */
static int minimise(const opt_ctx *o,
                    const void *const *start_ctx,
                    const double *starts,
                    int n_starts,
                    int max_iter,
                    int n_threads_,
                    double *best,
                    int *iters,
                    int *fallback,
                    const char **why)
{
    PROMO_ASSERT(n_starts <= MAX_STARTS);
    double best_f = GSL_POSINF, lp[MAX_STARTS][8], f[MAX_STARTS];
    int it[MAX_STARTS];
    *iters = 0;
    *fallback = 0;
    /* Short runs from every start, then the best one to convergence: degenerate data (no
     * dropout, say) put the optimum far along a flat ridge, and a full run from each start
     * would crawl along it four times. The runs are independent, so they run in parallel
     * (the objectives' own parallel sums are then inactive); the best is picked in start
     * order, so the result does not depend on the thread count. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads(n_threads_))
    for (int s = 0; s < n_starts; s++) {
        opt_ctx os = {o->fn, start_ctx[s], o->dim};
        memcpy(lp[s], starts + (size_t)s * o->dim, o->dim * sizeof *lp[s]);
        it[s] = run_bfgs(&os, lp[s], max_iter < 60 ? max_iter : 60);
        f[s] = os.fn(os.ctx, lp[s], NULL);
    }
    for (int s = 0; s < n_starts; s++) {
        *iters += it[s];
        if (f[s] < best_f) {
            best_f = f[s];
            memcpy(best, lp[s], o->dim * sizeof *lp[s]);
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

int promo_bgnbd_fit(const double *x,
                    const double *t_x,
                    const double *T,
                    size_t n,
                    const promo_clv_params *params,
                    promo_bgnbd *out)
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
    /* All customers as distinct (x, t_x, T) triples when there are few enough of them (times
     * in whole days repeat massively); else a deterministic stride subsample. */
    bg_data d;
    memset(&d, 0, sizeof d);
    d.penalty = p->penalty;
    d.n_threads = p->n_threads;
    size_t stride = 1;
    int g = bg_group(&d, x, t_x, T, n, 1, p->max_customers);
    if (g == 1) {
        stride = (n + p->max_customers - 1) / p->max_customers;
        g = bg_group(&d, x, t_x, T, n, stride, 0);
    }
    if (g)
        return PROMO_ENOMEM;
    /* Starts: alpha scaled to the data (E[lambda] = r / alpha ~ purchases per unit time). */
    double rate = (sum_x / (double)n + 1) / (sum_T / (double)n);
    double starts[4 * 4] = {
        log(1.0), log(1.0 / rate), log(1.0), log(1.0),        log(0.3), log(0.3 / rate),
        log(0.8), log(2.5),        log(2.0), log(2.0 / rate), log(0.5), log(5.0),
        log(0.1), log(0.1 / rate), log(3.0), log(1.0),
    };
    opt_ctx o = {(objective_fn)bg_objective, &d, 4};
    bg_data per_start[MAX_STARTS];
    const void *start_ctx[MAX_STARTS];
    int rc = 0;
    for (int s = 0; s < MAX_STARTS; s++) {
        per_start[s] = d; /* the data are shared read-only; the scratch is not */
        per_start[s].scratch = promo_mallocn(bg_scratch_len(&d), sizeof *d.scratch);
        start_ctx[s] = &per_start[s];
        rc |= !per_start[s].scratch;
    }
    double best[4];
    const char *why = NULL;
    if (rc) {
        for (int s = 0; s < MAX_STARTS; s++)
            promo_free(per_start[s].scratch);
        bg_data_free(&d);
        return PROMO_ENOMEM;
    }
    rc = minimise(&o, start_ctx, starts, 4, p->max_iter, d.n_threads, best, &out->iterations,
                  &out->used_fallback, &why);
    for (int s = 0; s < MAX_STARTS; s++)
        promo_free(per_start[s].scratch);
    if (rc == 0) {
        out->r = exp(best[0]);
        out->alpha = exp(best[1]);
        out->a = exp(best[2]);
        out->b = exp(best[3]);
        out->n_fit = (size_t)d.n;
        /* The objective without its penalty, scaled back to a sum over customers. */
        double pen = 0;
        for (int k = 0; k < 4; k++)
            pen += best[k] * best[k];
        out->loglik = -(bg_objective(&d, best, NULL) - d.penalty * pen) * d.n;
    }
    bg_data_free(&d);
    if (rc)
        return promo_fail(PROMO_EMODEL,
                          "bgnbd: %s on %zu customers (%zu with repeat purchases): "
                          "the data cannot support the model",
                          why, n, n_rep);
    (void)stride;
    return PROMO_OK;
}

double promo_bgnbd_loglik(
    const promo_bgnbd *m, const double *x, const double *t_x, const double *T, size_t n)
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
    double lnD =
        log(m->a) - log(m->b + x - 1) + (m->r + x) * (log(m->alpha + T) - log(m->alpha + t_x));
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

/* (a + b + x - 1) / (a - 1) * (1 - (1-z)^(a-1) 2F1(...)): the part of FHL eq. 10 that
 * depends on (x, T) only. */
static double bg_expected_num(const promo_bgnbd *m, double t, double x, double T)
{
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    if (fabs(a - 1) < 1e-9) /* removable singularity of the closed form */
        a = 1 + 1e-9;
    double z = t / (al + T + t);
    /* Euler: (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z),
     * whose terms stay small for heavy buyers (the untransformed series overflows). */
    double h = promo_hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z);
    return (a + b + x - 1) / (a - 1) * (1 - pow(1 - z, a - 1) * h);
}

static double bg_expected_den(const promo_bgnbd *m, double x, double t_x, double T)
{
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    if (fabs(a - 1) < 1e-9)
        a = 1 + 1e-9;
    double den = 1.0;
    if (x > 0)
        den += exp(log(a) - log(b + x - 1) + (r + x) * (log(al + T) - log(al + t_x)));
    return den;
}

double promo_bgnbd_expected(const promo_bgnbd *m, double t, double x, double t_x, double T)
{
    return bg_expected_num(m, t, x, T) / bg_expected_den(m, x, t_x, T);
}

int promo_bgnbd_expected_many(const promo_bgnbd *m,
                              double t,
                              const double *x,
                              const double *t_x,
                              const double *T,
                              size_t n,
                              int n_threads_,
                              double *out)
{
    vmap mp = {0};
    uint32_t *grp = promo_mallocn(n ? n : 1, sizeof *grp);
    double *num = NULL;
    size_t cap = 0;
    int rc = PROMO_ENOMEM;
    if (!grp || vmap_init(&mp, 2))
        goto done;
    /* The series is the expensive part and depends on (x, T) only: once per distinct pair. */
    for (size_t i = 0; i < n; i++) {
        uint64_t k[2] = {dbits(x[i]), dbits(T[i])};
        int fresh;
        uint32_t g = vmap_get(&mp, k, &fresh);
        if (g == UINT32_MAX || grow_to((void **)&num, &cap, g, sizeof *num))
            goto done;
        grp[i] = g;
    }
    {
        size_t ng = mp.n;
        double *gx = promo_mallocn(2 * (ng ? ng : 1), sizeof *gx);
        if (!gx)
            goto done;
        double *gT = gx + ng;
        for (size_t i = 0; i < mp.cap; i++)
            if (mp.idx[i]) {
                double v;
                memcpy(&v, &mp.key[2 * i], sizeof v);
                gx[mp.idx[i] - 1] = v;
                memcpy(&v, &mp.key[2 * i + 1], sizeof v);
                gT[mp.idx[i] - 1] = v;
            }
#pragma omp parallel for schedule(dynamic, 16) num_threads(n_threads(n_threads_))
        for (size_t g = 0; g < ng; g++)
            num[g] = bg_expected_num(m, t, gx[g], gT[g]);
        promo_free(gx);
    }
#pragma omp parallel for schedule(static) num_threads(n_threads(n_threads_))
    for (size_t i = 0; i < n; i++)
        out[i] = num[grp[i]] / bg_expected_den(m, x[i], t_x[i], T[i]);
    rc = PROMO_OK;
done:
    vmap_free(&mp);
    promo_free(grp);
    promo_free(num);
    if (rc)
        promo_fail(rc, "bgnbd: out of memory");
    return rc;
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
    double *x, *m;     /* n customers with x > 0, m > 0 */
    double *lnm, *lnx; /* their logs */
    double sum_a;      /* sum of x (ln m + ln x) */
    double sum_b;      /* sum of ln m */
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
    /* Only log(v + x m) varies with the parameters per customer: the rest is A and B. */
    double bl[N_BLOCKS][4];
    size_t nn = d->n;
#pragma omp parallel for schedule(static) num_threads(n_threads(d->n_threads)) if (d->n >= 20000)
    for (int blk = 0; blk < N_BLOCKS; blk++) {
        size_t lo = nn * (size_t)blk / N_BLOCKS, hi = nn * (size_t)(blk + 1) / N_BLOCKS;
        double s_xl = 0, s_l = 0, s_xi = 0, s_i = 0;
        for (size_t i = lo; i < hi; i++) {
            double x = d->x[i], vxm = v + x * d->m[i], L = log(vxm), iv = 1.0 / vxm;
            s_xl += x * L;
            s_l += L;
            s_xi += x * iv;
            s_i += iv;
        }
        bl[blk][0] = s_xl;
        bl[blk][1] = s_l;
        bl[blk][2] = s_xi;
        bl[blk][3] = s_i;
    }
    double xl = 0, l = 0, xi = 0, iv = 0;
    for (int blk = 0; blk < N_BLOCKS; blk++) {
        xl += bl[blk][0];
        l += bl[blk][1];
        xi += bl[blk][2];
        iv += bl[blk][3];
    }
    ll += p * d->sum_a - d->sum_b - p * xl - q * l;
    gp += d->sum_a - xl;
    gq -= l;
    gv -= p * xi + q * iv;
    double pen = lp[0] * lp[0] + lp[1] * lp[1] + lp[2] * lp[2];
    if (g) {
        g[0] = -gp * p / n + 2 * d->penalty * lp[0];
        g[1] = -gq * q / n + 2 * d->penalty * lp[1];
        g[2] = -gv * v / n + 2 * d->penalty * lp[2];
    }
    double f = -ll / n + d->penalty * pen;
    return isfinite(f) ? f : GSL_POSINF;
}

int promo_gamma_gamma_fit(const double *x,
                          const double *m,
                          size_t n,
                          const promo_clv_params *params,
                          promo_gamma_gamma *out)
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
        d.sum_a += x[i] * (d.lnm[d.n] + d.lnx[d.n]);
        d.sum_b += d.lnm[d.n];
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
        log(1.0), log(2.0), log(mm),       log(5.0), log(3.0), log(2.0 * mm / 5.0),
        log(2.0), log(5.0), log(2.0 * mm),
    };
    opt_ctx o = {(objective_fn)gg_objective, &d, 3};
    const void *start_ctx[3] = {&d, &d, &d}; /* gg_objective keeps no scratch */
    double best[3];
    const char *why = NULL;
    int rc = minimise(&o, start_ctx, starts, 3, pp->max_iter, d.n_threads, best, &out->iterations,
                      &out->used_fallback, &why);
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

double
promo_gamma_gamma_loglik(const promo_gamma_gamma *g, const double *x, const double *m, size_t n)
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
