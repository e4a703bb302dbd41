/* BPR: Rendle, Freudenthaler, Gantner & Schmidt-Thieme, "BPR: Bayesian Personalized Ranking
 * from Implicit Feedback" (UAI 2009), learnt by stochastic gradient ascent on sampled
 * triples (u, i bought by u, j not bought by u): ln sigma(x_u.(y_i - y_j) + b_i - b_j) minus
 * lambda times the squared norms, one update of x_u, y_i, y_j, b_i, b_j per triple.
 *
 * Sampling: an epoch draws nnz triples; (u, i) is a uniformly drawn non-zero (so active
 * customers weigh in proportion to their purchases, as in LightFM and implicit), j a uniform
 * item redrawn (up to 8 times) while u bought it.
 *
 * Parallelism: hogwild = 1 splits an epoch's draws over the threads, each with its own RNG
 * stream, updating the shared factors without locks (Recht, Re, Wright & Niu, "Hogwild!",
 * NIPS 2011: with sparse updates the collisions are rare and harmless); the result then
 * depends on the scheduling. hogwild = 0 (the default) draws from one stream and applies the
 * updates in that order on one thread: the same model for any thread count.
 *
 * Fold-in (a new customer, no retraining, which the established libraries offer for ALS
 * only): the same SGD on the one user's vector against the fixed item factors and biases,
 * from x = 0, with draws seeded by the purchases: deterministic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/log.h>
#include <promo/recommend.h>
#include <promo/rng.h>

#include "models/rec_internal.h"

#define BPR_DEFAULT_REG 0.01 /* recommend.h: promo_rec_params.regularization */
#define CLONES          __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define NEG_TRIES       8

typedef struct bpr {
    uint32_t n_users, n_items, k;
    float *U;             /* n_users x k */
    float *V;             /* n_items x k */
    float *b;             /* n_items item biases */
    double lr;            /* learning rate (fold-in uses it too) */
    double reg;           /* lambda */
    uint32_t fold_epochs; /* fold-in passes */
} bpr;

static void bpr_free(void *impl)
{
    bpr *m = impl;
    if (!m)
        return;
    promo_free(m->U);
    promo_free(m->V);
    promo_free(m->b);
    promo_free(m);
}

static bpr *bpr_alloc(uint32_t n_users, uint32_t n_items, uint32_t k)
{
    bpr *m = promo_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->n_users = n_users;
    m->n_items = n_items;
    m->k = k;
    m->U = promo_mallocn((size_t)(n_users ? n_users : 1) * k, sizeof *m->U);
    m->V = promo_mallocn((size_t)(n_items ? n_items : 1) * k, sizeof *m->V);
    m->b = promo_calloc(n_items ? n_items : 1, sizeof *m->b);
    if (!m->U || !m->V || !m->b) {
        bpr_free(m);
        return NULL;
    }
    return m;
}

/* One triple's update. x is updated unless update_items is 0 (fold-in). */
CLONES static void step(float *restrict x,
                        float *restrict yi,
                        float *restrict yj,
                        float *bi,
                        float *bj,
                        uint32_t k,
                        float lr,
                        float reg,
                        int update_items)
{
    float s = *bi - *bj;
#pragma omp simd reduction(+ : s)
    for (uint32_t f = 0; f < k; f++)
        s += x[f] * (yi[f] - yj[f]);
    float z = 1.0f / (1.0f + expf(s)); /* sigma(-s): the gradient's weight */
    if (update_items) {
#pragma omp simd
        for (uint32_t f = 0; f < k; f++) {
            float xf = x[f], a = yi[f], b = yj[f];
            x[f] += lr * (z * (a - b) - reg * xf);
            yi[f] += lr * (z * xf - reg * a);
            yj[f] += lr * (-z * xf - reg * b);
        }
        *bi += lr * (z - reg * *bi);
        *bj += lr * (-z - reg * *bj);
    } else {
#pragma omp simd
        for (uint32_t f = 0; f < k; f++)
            x[f] += lr * (z * (yi[f] - yj[f]) - reg * x[f]);
    }
}

/* Draws [0, n) of an epoch from stream (seed, stream). */
static void run_draws(bpr *m,
                      const promo_csr *R,
                      const uint32_t *entry_user,
                      uint64_t n,
                      uint64_t seed,
                      uint64_t stream)
{
    promo_rng g;
    promo_rng_init(&g, seed, stream);
    float lr = (float)m->lr, reg = (float)m->reg;
    for (uint64_t d = 0; d < n; d++) {
        uint64_t e = promo_rng_below(&g, R->nnz);
        uint32_t u = entry_user[e], i = R->col_idx[e];
        const uint32_t *cols = R->col_idx + R->row_ptr[u];
        uint64_t nu = R->row_ptr[u + 1] - R->row_ptr[u];
        uint32_t j = (uint32_t)promo_rng_below(&g, m->n_items);
        for (int t = 1; t < NEG_TRIES && promo_rec_sorted_contains(cols, nu, j); t++)
            j = (uint32_t)promo_rng_below(&g, m->n_items);
        if (promo_rec_sorted_contains(cols, nu, j))
            continue;
        step(m->U + (size_t)u * m->k, m->V + (size_t)i * m->k, m->V + (size_t)j * m->k, &m->b[i],
             &m->b[j], m->k, lr, reg, 1);
    }
}

static void score_vec(const bpr *m, const float *x, float *scores)
{
    for (uint32_t j = 0; j < m->n_items; j++) {
        const float *y = m->V + (size_t)j * m->k;
        float s = m->b[j];
#pragma omp simd reduction(+ : s)
        for (uint32_t f = 0; f < m->k; f++)
            s += x[f] * y[f];
        scores[j] = s;
    }
}

static int bpr_score_user(const void *impl, uint32_t user, float *scores)
{
    const bpr *m = impl;
    score_vec(m, m->U + (size_t)user * m->k, scores);
    return PROMO_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int fold_in(const bpr *m, const uint32_t *items, size_t n, float *x)
{
    memset(x, 0, m->k * sizeof *x);
    if (n == 0)
        return PROMO_OK; /* no purchase: the item biases alone (popularity-like) */
    uint32_t *h = promo_mallocn(n, sizeof *h);
    if (!h)
        return PROMO_ENOMEM;
    memcpy(h, items, n * sizeof *h);
    qsort(h, n, sizeof *h, cmp_u32);
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        if (nd == 0 || h[nd - 1] != h[i])
            h[nd++] = h[i];
    uint64_t seed = 0x6270722d666f6c64ULL; /* "bpr-fold" */
    for (size_t i = 0; i < nd; i++)
        seed = promo_fmix64(seed ^ h[i]);
    promo_rng g;
    promo_rng_init(&g, seed, 0);
    /* Start from the mean of the bought items' factors (a warm start SGD refines). */
    for (size_t i = 0; i < nd; i++) {
        const float *y = m->V + (size_t)h[i] * m->k;
        for (uint32_t f = 0; f < m->k; f++)
            x[f] += y[f] / (float)nd;
    }
    uint64_t draws = (uint64_t)m->fold_epochs * (nd < 20 ? 20 : nd);
    float lr = (float)m->lr, reg = (float)m->reg;
    for (uint64_t d = 0; d < draws; d++) {
        uint32_t i = h[promo_rng_below(&g, nd)];
        uint32_t j = (uint32_t)promo_rng_below(&g, m->n_items);
        for (int t = 1; t < NEG_TRIES && promo_rec_sorted_contains(h, nd, j); t++)
            j = (uint32_t)promo_rng_below(&g, m->n_items);
        if (promo_rec_sorted_contains(h, nd, j))
            continue;
        float bi = m->b[i], bj = m->b[j];
        step(x, m->V + (size_t)i * m->k, m->V + (size_t)j * m->k, &bi, &bj, m->k, lr, reg, 0);
    }
    promo_free(h);
    return PROMO_OK;
}

static int bpr_score_history(
    const void *impl, const uint32_t *items, const float *values, size_t n, float *scores)
{
    (void)values; /* BPR sees purchases, not their counts */
    const bpr *m = impl;
    float *x = promo_mallocn(m->k, sizeof *x);
    if (!x)
        return PROMO_ENOMEM;
    int rc = fold_in(m, items, n, x);
    if (!rc)
        score_vec(m, x, scores);
    promo_free(x);
    return rc;
}

static int bpr_factors(const void *impl, promo_rec_factors *out)
{
    const bpr *m = impl;
    out->n_users = m->n_users;
    out->n_items = m->n_items;
    out->k = m->k;
    out->U = m->U;
    out->V = m->V;
    out->item_bias = m->b;
    return PROMO_OK;
}

static int bpr_save(const void *impl, promo_rec_file *f)
{
    const bpr *m = impl;
    double params[3] = {m->lr, m->reg, (double)m->fold_epochs};
    int rc = promo_rec_file_add(f, "U", PROMO_REC_F32, m->n_users, m->k, m->U);
    if (!rc)
        rc = promo_rec_file_add(f, "V", PROMO_REC_F32, m->n_items, m->k, m->V);
    if (!rc)
        rc = promo_rec_file_add(f, "item_bias", PROMO_REC_F32, 1, m->n_items, m->b);
    if (!rc)
        rc = promo_rec_file_add(f, "params", PROMO_REC_F64, 1, 3, params);
    return rc;
}

static const promo_rec_ops bpr_ops = {
    .kind = "bpr",
    .score_user = bpr_score_user,
    .score_history = bpr_score_history,
    .factors = bpr_factors,
    .save = bpr_save,
    .free = bpr_free,
};

int promo_bpr_fit(const promo_rec_data *train, const promo_rec_params *p, promo_rec_model **out)
{
    *out = NULL;
    if (p->factors < 1 || p->factors > 4096)
        return promo_fail(PROMO_EUSAGE, "bpr: factors must be in 1..4096 (got %u)", p->factors);
    if (p->epochs < 1)
        return promo_fail(PROMO_EUSAGE, "bpr: epochs must be >= 1");
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return promo_fail(PROMO_EUSAGE, "bpr: learning_rate must be > 0");
    if (!isfinite(p->regularization))
        return promo_fail(PROMO_EUSAGE, "bpr: regularization must be finite");
    if (!(p->init_scale > 0) || !isfinite(p->init_scale))
        return promo_fail(PROMO_EUSAGE, "bpr: init_scale must be > 0");
    const promo_csr *R = &train->m;
    uint32_t k = p->factors;
    int nt = promo_rec_threads(p->n_threads);
    bpr *m = bpr_alloc(R->n_rows, R->n_cols, k);
    uint32_t *entry_user = promo_mallocn(R->nnz ? R->nnz : 1, sizeof *entry_user);
    if (!m || !entry_user) {
        bpr_free(m);
        promo_free(entry_user);
        return PROMO_ENOMEM;
    }
    m->lr = p->learning_rate;
    m->reg = p->regularization < 0 ? BPR_DEFAULT_REG : p->regularization;
    m->fold_epochs = 50;
    for (uint32_t u = 0; u < R->n_rows; u++)
        for (uint64_t e = R->row_ptr[u]; e < R->row_ptr[u + 1]; e++)
            entry_user[e] = u;
    double s = p->init_scale / sqrt((double)k);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (uint64_t r = 0; r < (uint64_t)R->n_rows + R->n_cols; r++) {
        promo_rng g;
        promo_rng_init(&g, p->seed, r);
        float *row = r < R->n_rows ? m->U + r * k : m->V + (r - R->n_rows) * k;
        for (uint32_t f = 0; f < k; f++)
            row[f] = (float)(s * promo_rng_normal(&g));
    }
    if (R->nnz && R->n_cols > 1) {
        for (uint32_t ep = 0; ep < p->epochs; ep++) {
            if (p->hogwild && nt > 1) {
#pragma omp parallel num_threads(nt)
                {
                    int t = omp_get_thread_num(), T = omp_get_num_threads();
                    uint64_t lo = R->nnz * (uint64_t)t / (uint64_t)T,
                             hi = R->nnz * (uint64_t)(t + 1) / (uint64_t)T;
                    run_draws(m, R, entry_user, hi - lo, p->seed,
                              ((uint64_t)ep << 20) + (uint64_t)t + 1);
                }
            } else {
                run_draws(m, R, entry_user, R->nnz, p->seed, ((uint64_t)ep << 20) + 1);
            }
            if (p->verbose)
                promo_log(PROMO_LOG_INFO, "bpr: epoch %u done", ep + 1);
        }
    }
    promo_free(entry_user);
    return promo_rec_model_new(&bpr_ops, m, train, out);
}

int promo_bpr_load(const promo_rec_file *f, const promo_rec_data *shape, promo_rec_model **out)
{
    *out = NULL;
    uint64_t ur, uc, vr, vc, br, bc, pr, pc;
    const float *U = promo_rec_file_get(f, "U", PROMO_REC_F32, &ur, &uc);
    const float *V = promo_rec_file_get(f, "V", PROMO_REC_F32, &vr, &vc);
    const float *b = promo_rec_file_get(f, "item_bias", PROMO_REC_F32, &br, &bc);
    const double *par = promo_rec_file_get(f, "params", PROMO_REC_F64, &pr, &pc);
    if (!U || !V || !b || !par || ur != shape->m.n_rows || vr != shape->m.n_cols || uc != vc ||
        uc < 1 || uc > 4096 || br * bc != vr || pr * pc != 3 || !(par[2] >= 0 && par[2] < 1e6))
        return promo_fail(PROMO_EINPUT, "bpr: model file: factor matrices missing or of the "
                                        "wrong shape");
    bpr *m = bpr_alloc((uint32_t)ur, (uint32_t)vr, (uint32_t)uc);
    if (!m)
        return PROMO_ENOMEM;
    memcpy(m->U, U, ur * uc * sizeof *U);
    memcpy(m->V, V, vr * vc * sizeof *V);
    memcpy(m->b, b, vr * sizeof *b);
    m->lr = par[0];
    m->reg = par[1];
    m->fold_epochs = (uint32_t)par[2];
    return promo_rec_model_new(&bpr_ops, m, shape, out);
}

int promo_bpr_fold_in(
    const promo_rec_model *m, const uint32_t *items, const float *values, size_t n, float *x)
{
    (void)values;
    if (strcmp(promo_rec_model_kind(m), "bpr") != 0)
        return promo_fail(PROMO_EUSAGE, "bpr: a %s model is not a BPR model",
                          promo_rec_model_kind(m));
    const bpr *b = promo_rec_model_impl(m);
    for (size_t i = 0; i < n; i++)
        if (items[i] >= b->n_items)
            return promo_fail(PROMO_EUSAGE, "bpr: item %u out of range", items[i]);
    return fold_in(b, items, n, x);
}
