/* The hybrid (LightFM-style) recommender: promo/hybrid.h.
 *
 * Departures from LightFM: no user bias (it does not change a customer's ranking); item
 * features are stored with the model so that it can score the training catalogue on its
 * own; SGD is sequential (LightFM's Hogwild threads make a run depend on scheduling).
 */
#include <math.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hybrid.h>
#include <promo/rng.h>

#include "models/hybrid_internal.h"
#include "models/rec_sections.h"

#define HYBRID_FORMAT_VERSION 1 /* section "hybrid_version" */

struct promo_hybrid {
    promo_hybrid_params p;
    uint32_t n_uf, n_if, dim;
    float *EU;    /* n_uf x dim user-feature embeddings */
    float *EI;    /* n_if x dim item-feature embeddings */
    float *BI;    /* n_if item-feature biases */
    promo_csr IF; /* training item features (owned copy, rows L1-normalised) */
};

promo_hybrid_params promo_hybrid_params_default(void)
{
    promo_hybrid_params p;
    memset(&p, 0, sizeof p);
    p.dim = 32;
    p.loss = PROMO_HYBRID_WARP;
    p.epochs = 20;
    p.learning_rate = 0.05;
    p.l2 = 1e-6;
    p.max_sampled = 10;
    p.init_scale = 1.0;
    p.seed = 1;
    return p;
}

const char *promo_hybrid_loss_name(int loss)
{
    return loss == PROMO_HYBRID_WARP ? "warp" : loss == PROMO_HYBRID_BPR ? "bpr" : "?";
}

static int check_params(const promo_hybrid_params *p)
{
    if (p->dim < 1 || p->dim > 4096)
        return promo_fail(PROMO_EUSAGE, "hybrid: dim must be in 1..4096, got %u", p->dim);
    if ((int)p->loss < 0 || p->loss >= PROMO_HYBRID_LOSS_COUNT)
        return promo_fail(PROMO_EUSAGE, "hybrid: unknown loss %d", (int)p->loss);
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return promo_fail(PROMO_EUSAGE, "hybrid: learning_rate must be > 0");
    if (!(p->l2 >= 0) || !isfinite(p->l2) || !(p->init_scale > 0))
        return promo_fail(PROMO_EUSAGE, "hybrid: l2 must be >= 0 and init_scale > 0");
    if (p->max_sampled < 1)
        return promo_fail(PROMO_EUSAGE, "hybrid: max_sampled must be >= 1");
    return PROMO_OK;
}

static int check_weights(const promo_csr *F, const char *what)
{
    for (uint64_t q = 0; q < F->nnz; q++)
        if (!(F->values[q] >= 0) || !isfinite(F->values[q]))
            return promo_fail(PROMO_EINPUT,
                              "hybrid: %s feature weight %g is negative or not finite", what,
                              (double)F->values[q]);
    return PROMO_OK;
}

/* sum_f w_f E_f over a feature row, weights normalised to sum 1 */
static void
embed(const float *E, uint32_t dim, const uint32_t *f, const float *w, size_t n, float *out)
{
    memset(out, 0, dim * sizeof *out);
    double tot = 0;
    for (size_t q = 0; q < n; q++)
        tot += w ? w[q] : 1.0;
    if (!(tot > 0))
        return;
    for (size_t q = 0; q < n; q++) {
        float a = (float)((w ? w[q] : 1.0) / tot);
        const float *e = E + (size_t)f[q] * dim;
        for (uint32_t d = 0; d < dim; d++)
            out[d] += a * e[d];
    }
}

static float bias_of(const float *B, const uint32_t *f, const float *w, size_t n)
{
    double tot = 0, s = 0;
    for (size_t q = 0; q < n; q++)
        tot += w ? w[q] : 1.0;
    if (!(tot > 0))
        return 0;
    for (size_t q = 0; q < n; q++)
        s += (w ? w[q] : 1.0) / tot * B[f[q]];
    return (float)s;
}

static float dotf(const float *a, const float *b, uint32_t n)
{
    float s = 0;
    for (uint32_t d = 0; d < n; d++)
        s += a[d] * b[d];
    return s;
}

static int bought(const promo_csr *R, uint32_t u, uint32_t j)
{
    return promo_rec_sorted_contains(R->col_idx + R->row_ptr[u], R->row_ptr[u + 1] - R->row_ptr[u],
                                     j);
}

/* Adagrad step of -scale * g on the feature rows of one entity (grad of the entity's
 * embedding is g; each feature gets its weight's share). */
static void adagrad_rows(float *E,
                         float *G,
                         uint32_t dim,
                         const promo_csr *F,
                         uint32_t row,
                         const float *g,
                         double scale,
                         double lr,
                         double l2)
{
    double tot = 0;
    for (uint64_t q = F->row_ptr[row]; q < F->row_ptr[row + 1]; q++)
        tot += F->values[q];
    if (!(tot > 0))
        return;
    for (uint64_t q = F->row_ptr[row]; q < F->row_ptr[row + 1]; q++) {
        double a = F->values[q] / tot;
        float *e = E + (size_t)F->col_idx[q] * dim, *acc = G + (size_t)F->col_idx[q] * dim;
        for (uint32_t d = 0; d < dim; d++) {
            double gd = scale * a * g[d] + l2 * e[d];
            acc[d] += (float)(gd * gd);
            e[d] -= (float)(lr * gd / sqrt(acc[d]));
        }
    }
}

static void adagrad_bias(
    float *B, float *G, const promo_csr *F, uint32_t row, double scale, double lr, double l2)
{
    double tot = 0;
    for (uint64_t q = F->row_ptr[row]; q < F->row_ptr[row + 1]; q++)
        tot += F->values[q];
    if (!(tot > 0))
        return;
    for (uint64_t q = F->row_ptr[row]; q < F->row_ptr[row + 1]; q++) {
        uint32_t f = F->col_idx[q];
        double gd = scale * F->values[q] / tot + l2 * B[f];
        G[f] += (float)(gd * gd);
        B[f] -= (float)(lr * gd / sqrt(G[f]));
    }
}

static int copy_normalised(const promo_csr *F, promo_csr *out)
{
    memset(out, 0, sizeof *out);
    out->owned = 1;
    out->n_rows = F->n_rows;
    out->n_cols = F->n_cols;
    out->nnz = F->nnz;
    if (!(out->row_ptr = promo_mallocn((size_t)F->n_rows + 1, sizeof *out->row_ptr)) ||
        !(out->col_idx = promo_mallocn(F->nnz ? F->nnz : 1, sizeof *out->col_idx)) ||
        !(out->values = promo_mallocn(F->nnz ? F->nnz : 1, sizeof *out->values))) {
        promo_csr_free(out);
        return PROMO_ENOMEM;
    }
    memcpy(out->row_ptr, F->row_ptr, ((size_t)F->n_rows + 1) * sizeof *out->row_ptr);
    for (uint32_t i = 0; i < F->n_rows; i++) {
        double tot = 0;
        for (uint64_t q = F->row_ptr[i]; q < F->row_ptr[i + 1]; q++)
            tot += F->values[q];
        for (uint64_t q = F->row_ptr[i]; q < F->row_ptr[i + 1]; q++) {
            out->col_idx[q] = F->col_idx[q];
            out->values[q] = tot > 0 ? (float)(F->values[q] / tot) : 0.0f;
        }
    }
    return PROMO_OK;
}

int promo_hybrid_fit(const promo_csr *R,
                     const promo_csr *UF,
                     const promo_csr *IF,
                     const promo_hybrid_params *p,
                     promo_hybrid **out)
{
    *out = NULL;
    int rc = check_params(p);
    if (rc)
        return rc;
    if (UF->n_rows != R->n_rows || IF->n_rows != R->n_cols)
        return promo_fail(PROMO_EUSAGE,
                          "hybrid: %u x %u interactions need %u user feature rows (got %u) and "
                          "%u item feature rows (got %u)",
                          R->n_rows, R->n_cols, R->n_rows, UF->n_rows, R->n_cols, IF->n_rows);
    if (R->n_cols < 2)
        return promo_fail(PROMO_EINPUT, "hybrid: needs at least two items");
    if ((rc = check_weights(UF, "user")) || (rc = check_weights(IF, "item")))
        return rc;
    promo_hybrid *m = promo_calloc(1, sizeof *m);
    float *GU = NULL, *GI = NULL, *GB = NULL, *pu = NULL, *qi = NULL, *qj = NULL, *gu = NULL,
          *gi = NULL;
    uint32_t *pu_row = NULL;
    uint64_t *order = NULL;
    if (!m)
        return PROMO_ENOMEM;
    m->p = *p;
    m->dim = p->dim;
    m->n_uf = UF->n_cols;
    m->n_if = IF->n_cols;
    uint32_t dim = p->dim;
    size_t nu = (size_t)m->n_uf * dim, ni = (size_t)m->n_if * dim;
    if (!(m->EU = promo_mallocn(nu ? nu : 1, sizeof *m->EU)) ||
        !(m->EI = promo_mallocn(ni ? ni : 1, sizeof *m->EI)) ||
        !(m->BI = promo_calloc(m->n_if ? m->n_if : 1, sizeof *m->BI)) ||
        !(GU = promo_mallocn(nu ? nu : 1, sizeof *GU)) ||
        !(GI = promo_mallocn(ni ? ni : 1, sizeof *GI)) ||
        !(GB = promo_mallocn(m->n_if ? m->n_if : 1, sizeof *GB)) ||
        !(pu = promo_mallocn(dim, sizeof *pu)) || !(qi = promo_mallocn(dim, sizeof *qi)) ||
        !(qj = promo_mallocn(dim, sizeof *qj)) || !(gu = promo_mallocn(dim, sizeof *gu)) ||
        !(gi = promo_mallocn(dim, sizeof *gi)) ||
        !(order = promo_mallocn(R->nnz ? R->nnz : 1, sizeof *order)) ||
        !(pu_row = promo_mallocn(R->nnz ? R->nnz : 1, sizeof *pu_row)))
        goto nomem;
    if ((rc = copy_normalised(IF, &m->IF)))
        goto fail;
    promo_rng r;
    promo_rng_init(&r, p->seed, 0);
    for (size_t q = 0; q < nu; q++)
        m->EU[q] = (float)((promo_rng_uniform(&r) - 0.5) * 2 * p->init_scale / dim);
    for (size_t q = 0; q < ni; q++)
        m->EI[q] = (float)((promo_rng_uniform(&r) - 0.5) * 2 * p->init_scale / dim);
    /* Adagrad accumulators start at 1 (LightFM) so the first steps are lr-sized */
    for (size_t q = 0; q < nu; q++)
        GU[q] = 1;
    for (size_t q = 0; q < ni; q++)
        GI[q] = 1;
    for (uint32_t q = 0; q < m->n_if; q++)
        GB[q] = 1;
    for (uint32_t u = 0; u < R->n_rows; u++)
        for (uint64_t q = R->row_ptr[u]; q < R->row_ptr[u + 1]; q++)
            pu_row[q] = u;
    for (uint64_t q = 0; q < R->nnz; q++)
        order[q] = q;
    const uint32_t n_items = R->n_cols;
    const promo_csr *F = &m->IF;
    for (uint32_t ep = 0; ep < p->epochs; ep++) {
        for (uint64_t q = R->nnz; q > 1; q--) { /* Fisher-Yates */
            uint64_t j = promo_rng_below(&r, q), t = order[q - 1];
            order[q - 1] = order[j];
            order[j] = t;
        }
        for (uint64_t s = 0; s < R->nnz; s++) {
            uint64_t e = order[s];
            uint32_t u = pu_row[e], i = R->col_idx[e];
            embed(m->EU, dim, UF->col_idx + UF->row_ptr[u], UF->values + UF->row_ptr[u],
                  (size_t)(UF->row_ptr[u + 1] - UF->row_ptr[u]), pu);
            embed(m->EI, dim, F->col_idx + F->row_ptr[i], F->values + F->row_ptr[i],
                  (size_t)(F->row_ptr[i + 1] - F->row_ptr[i]), qi);
            float si = dotf(pu, qi, dim) + bias_of(m->BI, F->col_idx + F->row_ptr[i],
                                                   F->values + F->row_ptr[i],
                                                   (size_t)(F->row_ptr[i + 1] - F->row_ptr[i]));
            uint32_t j = UINT32_MAX;
            double scale = 0;
            uint32_t tries = p->loss == PROMO_HYBRID_WARP ? p->max_sampled : 10;
            for (uint32_t t = 1; t <= tries; t++) {
                uint32_t c = (uint32_t)promo_rng_below(&r, n_items);
                if (bought(R, u, c))
                    continue;
                embed(m->EI, dim, F->col_idx + F->row_ptr[c], F->values + F->row_ptr[c],
                      (size_t)(F->row_ptr[c + 1] - F->row_ptr[c]), qj);
                float sj = dotf(pu, qj, dim) + bias_of(m->BI, F->col_idx + F->row_ptr[c],
                                                       F->values + F->row_ptr[c],
                                                       (size_t)(F->row_ptr[c + 1] - F->row_ptr[c]));
                if (p->loss == PROMO_HYBRID_BPR) {
                    j = c;
                    scale = 1.0 / (1.0 + exp((double)si - sj)); /* sigmoid(-(si - sj)) */
                    break;
                }
                if (sj > si - 1.0f) {
                    j = c;
                    double rank = floor((double)(n_items - 1) / t);
                    scale = log(rank > 1 ? rank : 1.0);
                    if (scale <= 0)
                        scale = 0.1; /* still learn from the first draw of a tiny catalogue */
                    break;
                }
            }
            if (j == UINT32_MAX)
                continue;
            /* loss = scale-weighted (s_j - s_i): d/dpu = qj - qi, d/dqi = -pu, d/dqj = pu */
            for (uint32_t d = 0; d < dim; d++)
                gu[d] = qj[d] - qi[d];
            adagrad_rows(m->EU, GU, dim, UF, u, gu, scale, p->learning_rate, p->l2);
            for (uint32_t d = 0; d < dim; d++)
                gi[d] = -pu[d];
            adagrad_rows(m->EI, GI, dim, F, i, gi, scale, p->learning_rate, p->l2);
            adagrad_bias(m->BI, GB, F, i, -scale, p->learning_rate, p->l2);
            adagrad_rows(m->EI, GI, dim, F, j, pu, scale, p->learning_rate, p->l2);
            adagrad_bias(m->BI, GB, F, j, scale, p->learning_rate, p->l2);
        }
    }
    *out = m;
    m = NULL;
    rc = PROMO_OK;
    goto done;
nomem:
    rc = PROMO_ENOMEM;
fail:
    promo_hybrid_free(m);
done:
    promo_free(GU);
    promo_free(GI);
    promo_free(GB);
    promo_free(pu);
    promo_free(qi);
    promo_free(qj);
    promo_free(gu);
    promo_free(gi);
    promo_free(order);
    promo_free(pu_row);
    return rc;
}

void promo_hybrid_free(promo_hybrid *m)
{
    if (!m)
        return;
    promo_free(m->EU);
    promo_free(m->EI);
    promo_free(m->BI);
    promo_csr_free(&m->IF);
    promo_free(m);
}

uint32_t promo_hybrid_dim(const promo_hybrid *m)
{
    return m->dim;
}
uint32_t promo_hybrid_n_items(const promo_hybrid *m)
{
    return m->IF.n_rows;
}
const promo_csr *promo_hybrid_item_features(const promo_hybrid *m)
{
    return &m->IF;
}

uint32_t promo_hybrid_n_user_features(const promo_hybrid *m)
{
    return m->n_uf;
}
uint32_t promo_hybrid_n_item_features(const promo_hybrid *m)
{
    return m->n_if;
}

int promo_hybrid_user_vector(
    const promo_hybrid *m, const uint32_t *feats, const float *weights, size_t n, float *out)
{
    for (size_t q = 0; q < n; q++)
        if (feats[q] >= m->n_uf)
            return promo_fail(PROMO_EUSAGE, "hybrid: user feature %u outside the model's %u",
                              feats[q], m->n_uf);
    embed(m->EU, m->dim, feats, weights, n, out);
    return PROMO_OK;
}

int promo_hybrid_item_vector(const promo_hybrid *m,
                             const uint32_t *feats,
                             const float *weights,
                             size_t n,
                             float *vec,
                             float *bias)
{
    for (size_t q = 0; q < n; q++)
        if (feats[q] >= m->n_if)
            return promo_fail(PROMO_EUSAGE, "hybrid: item feature %u outside the model's %u",
                              feats[q], m->n_if);
    embed(m->EI, m->dim, feats, weights, n, vec);
    *bias = bias_of(m->BI, feats, weights, n);
    return PROMO_OK;
}

int promo_hybrid_score(const promo_hybrid *m,
                       const uint32_t *feats,
                       const float *weights,
                       size_t n,
                       const promo_csr *IF,
                       float *out)
{
    const promo_csr *F = IF ? IF : &m->IF;
    if (F->n_cols != m->n_if)
        return promo_fail(PROMO_EUSAGE, "hybrid: item features have %u columns, the model %u",
                          F->n_cols, m->n_if);
    float *pu = promo_mallocn(m->dim, sizeof *pu), *qi = promo_mallocn(m->dim, sizeof *qi);
    int rc = PROMO_OK;
    if (!pu || !qi) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if ((rc = promo_hybrid_user_vector(m, feats, weights, n, pu)))
        goto done;
    for (uint32_t i = 0; i < F->n_rows; i++) {
        const uint32_t *f = F->col_idx + F->row_ptr[i];
        const float *w = F->values + F->row_ptr[i];
        size_t nf = (size_t)(F->row_ptr[i + 1] - F->row_ptr[i]);
        float b = 0;
        if ((rc = promo_hybrid_item_vector(m, f, w, nf, qi, &b)))
            goto done;
        out[i] = dotf(pu, qi, m->dim) + b;
    }
done:
    promo_free(pu);
    promo_free(qi);
    return rc;
}

int promo_hybrid_score_vector(const promo_hybrid *m,
                              const float *user_vec,
                              const promo_csr *IF,
                              float *out)
{
    const promo_csr *F = IF ? IF : &m->IF;
    if (F->n_cols != m->n_if)
        return promo_fail(PROMO_EUSAGE, "hybrid: item features have %u columns, the model %u",
                          F->n_cols, m->n_if);
    float *qi = promo_mallocn(m->dim, sizeof *qi);
    if (!qi)
        return PROMO_ENOMEM;
    int rc = PROMO_OK;
    for (uint32_t i = 0; i < F->n_rows && !rc; i++) {
        float b = 0;
        rc = promo_hybrid_item_vector(m, F->col_idx + F->row_ptr[i], F->values + F->row_ptr[i],
                                      (size_t)(F->row_ptr[i + 1] - F->row_ptr[i]), qi, &b);
        out[i] = dotf(user_vec, qi, m->dim) + b;
    }
    promo_free(qi);
    return rc;
}

int hybrid_add_sections(const promo_hybrid *m, promo_rec_file *f)
{
    const double par[7] = {m->p.dim, m->p.loss,        m->p.epochs,    m->p.learning_rate,
                           m->p.l2,  m->p.max_sampled, m->p.init_scale};
    const uint32_t nf[2] = {m->n_uf, m->n_if};
    int rc;
    if ((rc = promo_rec_file_add_i64(f, "hybrid_version", HYBRID_FORMAT_VERSION)) ||
        (rc = promo_rec_file_add(f, "hybrid_params", PROMO_REC_F64, 1, 7, par)) ||
        (rc = promo_rec_file_add(f, "hybrid_seed", PROMO_REC_U64, 1, 1, &m->p.seed)) ||
        (rc = promo_rec_file_add(f, "hybrid_n_features", PROMO_REC_U32, 1, 2, nf)) ||
        (rc = promo_rec_file_add(f, "hybrid_user_emb", PROMO_REC_F32, m->n_uf, m->dim, m->EU)) ||
        (rc = promo_rec_file_add(f, "hybrid_item_emb", PROMO_REC_F32, m->n_if, m->dim, m->EI)) ||
        (rc = promo_rec_file_add(f, "hybrid_item_bias", PROMO_REC_F32, 1, m->n_if, m->BI)))
        return rc;
    return rec_add_csr(f, "hybrid_IF", &m->IF);
}

int hybrid_from_sections(const promo_rec_file *f, promo_hybrid **out)
{
    *out = NULL;
    int64_t version = 0;
    int rc = promo_rec_file_get_i64(f, "hybrid_version", &version);
    if (rc)
        return rc;
    if (version != HYBRID_FORMAT_VERSION)
        return promo_fail(PROMO_EVERSION, "hybrid model: format version %lld (this build reads %d)",
                          (long long)version, HYBRID_FORMAT_VERSION);
    double *par = NULL;
    uint32_t *nf = NULL;
    uint64_t *seed = NULL;
    promo_hybrid *m = promo_calloc(1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    if ((rc = rec_get_copy(f, "hybrid_params", PROMO_REC_F64, 7, (void **)&par)) ||
        (rc = rec_get_copy(f, "hybrid_seed", PROMO_REC_U64, 1, (void **)&seed)) ||
        (rc = rec_get_copy(f, "hybrid_n_features", PROMO_REC_U32, 2, (void **)&nf)))
        goto fail;
    m->p.dim = par[0] >= 1 && par[0] <= 4096 ? (uint32_t)par[0] : 0;
    m->p.loss = par[1] == 1   ? PROMO_HYBRID_BPR
                : par[1] == 0 ? PROMO_HYBRID_WARP
                              : PROMO_HYBRID_LOSS_COUNT;
    m->p.epochs = par[2] >= 0 && par[2] <= UINT32_MAX ? (uint32_t)par[2] : 0;
    m->p.learning_rate = par[3];
    m->p.l2 = par[4];
    m->p.max_sampled = par[5] >= 1 && par[5] <= UINT32_MAX ? (uint32_t)par[5] : 0;
    m->p.init_scale = par[6];
    m->p.seed = *seed;
    m->dim = m->p.dim;
    m->n_uf = nf[0];
    m->n_if = nf[1];
    if (check_params(&m->p)) {
        rc = promo_fail(PROMO_EINPUT, "hybrid model: bad parameters (%s)", promo_last_error());
        goto fail;
    }
    if ((rc = rec_get_copy(f, "hybrid_user_emb", PROMO_REC_F32, (uint64_t)m->n_uf * m->dim,
                           (void **)&m->EU)) ||
        (rc = rec_get_copy(f, "hybrid_item_emb", PROMO_REC_F32, (uint64_t)m->n_if * m->dim,
                           (void **)&m->EI)) ||
        (rc = rec_get_copy(f, "hybrid_item_bias", PROMO_REC_F32, m->n_if, (void **)&m->BI)) ||
        (rc = rec_get_csr(f, "hybrid_IF", &m->IF)))
        goto fail;
    if (m->IF.n_cols != m->n_if) {
        rc = promo_fail(PROMO_EINPUT, "hybrid model: inconsistent fields");
        goto fail;
    }
    *out = m;
    m = NULL;
fail:
    promo_free(par);
    promo_free(nf);
    promo_free(seed);
    promo_hybrid_free(m);
    return rc;
}

static int hybrid_add_v(const void *m, promo_rec_file *f)
{
    return hybrid_add_sections(m, f);
}

static int hybrid_read_v(const promo_rec_file *f, void *out)
{
    return hybrid_from_sections(f, out);
}

int promo_hybrid_save(const promo_hybrid *m, void **buf, size_t *n)
{
    return rec_save_bytes("hybrid", hybrid_add_v, m, buf, n);
}

int promo_hybrid_load(const void *buf, size_t n, promo_hybrid **out)
{
    *out = NULL;
    return rec_load_bytes(buf, n, "hybrid", hybrid_read_v, out);
}
