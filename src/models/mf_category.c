/* Explicit matrix factorisation of the customer x category spend matrix (promo/mf_category.h).
 *
 * Full-batch gradient descent (not SGD): every epoch is the exact gradient of L, so the loss
 * curve is reproducible to the bit and the step control below can guarantee it never rises.
 * Step control is the "bold driver" of Battiti (1989): after a step that lowers L the rate
 * grows by 5%, after one that raises it the step is undone and the rate halved. Gradients of
 * P are summed over each row's cells, of Q over each column's (through the transpose), both
 * in index order, so threads do not change a result.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/mf_category.h>
#include <promo/panel.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "models/rec_sections.h"

#define MF_FORMAT_VERSION 1 /* section "mf_version" */

struct promo_mf {
    promo_mf_params p;
    uint32_t rows, cols, k;
    float *P, *Q;    /* rows x k, cols x k */
    double *lo, *hi; /* per column: MinMax range of the (log1p) observed values */
    double *loss;    /* n_loss entries */
    size_t n_loss;
};

promo_mf_params promo_mf_params_default(void)
{
    promo_mf_params p;
    memset(&p, 0, sizeof p);
    p.k = 4;
    p.learning_rate = 0.05;
    p.l2 = 0.02;
    p.n_epochs = 2000;
    p.tol = 1e-7;
    p.init_sd = 0.1;
    p.normalise = 1;
    p.seed = 42;
    p.zero_weight = 0;
    return p;
}

static int check_params(const promo_mf_params *p)
{
    if (p->k < 1 || p->k > 64)
        return promo_fail(PROMO_EUSAGE, "mf: k must be in 1..64, got %u", p->k);
    if (!(p->zero_weight >= 0 && p->zero_weight <= 1))
        return promo_fail(PROMO_EUSAGE, "mf: zero_weight must be in [0, 1], got %g",
                          p->zero_weight);
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return promo_fail(PROMO_EUSAGE, "mf: learning_rate must be > 0");
    if (!(p->l2 >= 0) || !isfinite(p->l2))
        return promo_fail(PROMO_EUSAGE, "mf: l2 must be >= 0");
    if (!(p->tol >= 0) || !(p->init_sd > 0) || !isfinite(p->init_sd))
        return promo_fail(PROMO_EUSAGE, "mf: tol must be >= 0 and init_sd > 0");
    return PROMO_OK;
}

static double norm_value(const promo_mf *m, uint32_t c, double v)
{
    if (!m->p.normalise)
        return v;
    double x = log1p(v), r = m->hi[c] - m->lo[c];
    return r > 0 ? (x - m->lo[c]) / r : 1.0;
}

static double dot(const float *a, const float *b, uint32_t k)
{
    double s = 0;
    for (uint32_t f = 0; f < k; f++)
        s += (double)a[f] * b[f];
    return s;
}

/* L at (P, Q) over the normalised observed values y (aligned with X's cells). */
static double
loss_at(const promo_mf *m, const promo_csr *X, const float *y, const float *P, const float *Q)
{
    double s = 0, r2 = 0, z = 0, w0 = m->p.zero_weight;
    const uint32_t k = m->k;
    for (uint32_t u = 0; u < X->n_rows; u++)
        for (uint64_t q = X->row_ptr[u]; q < X->row_ptr[u + 1]; q++) {
            double pq = dot(P + (size_t)u * k, Q + (size_t)X->col_idx[q] * k, k), e = y[q] - pq;
            s += e * e - w0 * pq * pq; /* the zero term's observed cells taken back out */
        }
    for (size_t i = 0; i < (size_t)m->rows * k; i++)
        r2 += (double)P[i] * P[i];
    for (size_t i = 0; i < (size_t)m->cols * k; i++)
        r2 += (double)Q[i] * Q[i];
    if (w0 > 0) { /* sum over every cell of (p.q)^2 = sum_ab (P^T P)_ab (Q^T Q)_ab */
        for (uint32_t a = 0; a < k; a++)
            for (uint32_t b = 0; b < k; b++) {
                double gp = 0, gq = 0;
                for (uint32_t u = 0; u < m->rows; u++)
                    gp += (double)P[(size_t)u * k + a] * P[(size_t)u * k + b];
                for (uint32_t c = 0; c < m->cols; c++)
                    gq += (double)Q[(size_t)c * k + a] * Q[(size_t)c * k + b];
                z += gp * gq;
            }
    }
    return 0.5 * s + 0.5 * w0 * z + 0.5 * m->p.l2 * r2;
}

int promo_mf_fit(const promo_csr *X, const promo_mf_params *p, promo_mf **out)
{
    *out = NULL;
    int rc = check_params(p);
    if (rc)
        return rc;
    if (!X->n_rows || !X->n_cols || !X->nnz)
        return promo_fail(PROMO_EINPUT, "mf: the matrix has no observed cell");
    for (uint64_t q = 0; q < X->nnz; q++)
        if (!(X->values[q] >= 0) || !isfinite(X->values[q]))
            return promo_fail(PROMO_EINPUT, "mf: value %g is negative or not finite",
                              (double)X->values[q]);
    promo_mf *m = promo_calloc(1, sizeof *m);
    float *y = NULL, *gP = NULL, *gQ = NULL, *P2 = NULL, *Q2 = NULL;
    promo_csr XT = {0};
    if (!m)
        return PROMO_ENOMEM;
    m->p = *p;
    m->rows = X->n_rows;
    m->cols = X->n_cols;
    m->k = p->k;
    size_t np = (size_t)m->rows * m->k, nq = (size_t)m->cols * m->k;
    if (!(m->P = promo_mallocn(np, sizeof *m->P)) || !(m->Q = promo_mallocn(nq, sizeof *m->Q)) ||
        !(m->lo = promo_mallocn(m->cols, sizeof *m->lo)) ||
        !(m->hi = promo_mallocn(m->cols, sizeof *m->hi)) ||
        !(m->loss = promo_mallocn((size_t)p->n_epochs + 1, sizeof *m->loss)) ||
        !(y = promo_mallocn(X->nnz, sizeof *y)) || !(gP = promo_mallocn(np, sizeof *gP)) ||
        !(gQ = promo_mallocn(nq, sizeof *gQ)) || !(P2 = promo_mallocn(np, sizeof *P2)) ||
        !(Q2 = promo_mallocn(nq, sizeof *Q2)))
        goto nomem;
    for (uint32_t c = 0; c < m->cols; c++) {
        m->lo[c] = INFINITY;
        m->hi[c] = -INFINITY;
    }
    for (uint64_t q = 0; q < X->nnz; q++) {
        double v = log1p(X->values[q]);
        uint32_t c = X->col_idx[q];
        m->lo[c] = fmin(m->lo[c], v);
        m->hi[c] = fmax(m->hi[c], v);
    }
    for (uint32_t c = 0; c < m->cols; c++)
        if (!isfinite(m->lo[c]))
            m->lo[c] = m->hi[c] = 0; /* never bought by anyone */
    for (uint64_t q = 0; q < X->nnz; q++)
        y[q] = (float)norm_value(m, X->col_idx[q], X->values[q]);
    promo_rng r;
    promo_rng_init(&r, p->seed, 0);
    for (size_t i = 0; i < np; i++)
        m->P[i] = (float)(p->init_sd * promo_rng_normal(&r));
    promo_rng_init(&r, p->seed, 1);
    for (size_t i = 0; i < nq; i++)
        m->Q[i] = (float)(p->init_sd * promo_rng_normal(&r));
    if ((rc = promo_csr_transpose(X, &XT)))
        goto fail;
    /* the transpose carries the normalised values (the gradient of Q reads them by column) */
    for (uint32_t c = 0; c < XT.n_rows; c++)
        for (uint64_t q = XT.row_ptr[c]; q < XT.row_ptr[c + 1]; q++)
            XT.values[q] = (float)norm_value(m, c, promo_csr_get(X, XT.col_idx[q], c));
    double L = loss_at(m, X, y, m->P, m->Q), lr = p->learning_rate;
    m->loss[m->n_loss++] = L;
    uint32_t k = m->k;
    for (uint32_t ep = 0; ep < p->n_epochs; ep++) {
        /* gradients at (P, Q); with zero_weight w0 the unobserved cells pull p.q towards 0:
         * w0 (Q^T Q) p_u over every cell, minus the observed cells' share */
        const double w0 = p->zero_weight;
        double GP[64 * 64], GQ[64 * 64];
        if (w0 > 0)
            for (uint32_t a = 0; a < k; a++)
                for (uint32_t b = 0; b < k; b++) {
                    double gp = 0, gq = 0;
                    for (uint32_t u = 0; u < m->rows; u++)
                        gp += (double)m->P[(size_t)u * k + a] * m->P[(size_t)u * k + b];
                    for (uint32_t c = 0; c < m->cols; c++)
                        gq += (double)m->Q[(size_t)c * k + a] * m->Q[(size_t)c * k + b];
                    GP[a * k + b] = gp;
                    GQ[a * k + b] = gq;
                }
        for (uint32_t u = 0; u < m->rows; u++) {
            float *g = gP + (size_t)u * k;
            const float *pu = m->P + (size_t)u * k;
            for (uint32_t f = 0; f < k; f++) {
                double z = 0;
                if (w0 > 0)
                    for (uint32_t b = 0; b < k; b++)
                        z += GQ[f * k + b] * pu[b];
                g[f] = (float)(p->l2 * pu[f] + w0 * z);
            }
            for (uint64_t q = X->row_ptr[u]; q < X->row_ptr[u + 1]; q++) {
                const float *qc = m->Q + (size_t)X->col_idx[q] * k;
                double pq = dot(pu, qc, k), e = y[q] - pq + w0 * pq;
                for (uint32_t f = 0; f < k; f++)
                    g[f] -= (float)(e * qc[f]);
            }
        }
        for (uint32_t c = 0; c < m->cols; c++) {
            float *g = gQ + (size_t)c * k;
            const float *qc = m->Q + (size_t)c * k;
            for (uint32_t f = 0; f < k; f++) {
                double z = 0;
                if (w0 > 0)
                    for (uint32_t b = 0; b < k; b++)
                        z += GP[f * k + b] * qc[b];
                g[f] = (float)(p->l2 * qc[f] + w0 * z);
            }
            for (uint64_t q = XT.row_ptr[c]; q < XT.row_ptr[c + 1]; q++) {
                const float *pu = m->P + (size_t)XT.col_idx[q] * k;
                double pq = dot(pu, qc, k), e = XT.values[q] - pq + w0 * pq;
                for (uint32_t f = 0; f < k; f++)
                    g[f] -= (float)(e * pu[f]);
            }
        }
        /* a step that does not lower L is retried with half the rate (at most 30 times) */
        double L2 = INFINITY;
        int tries = 0;
        for (; tries < 30; tries++) {
            for (size_t i = 0; i < np; i++)
                P2[i] = (float)(m->P[i] - lr * gP[i]);
            for (size_t i = 0; i < nq; i++)
                Q2[i] = (float)(m->Q[i] - lr * gQ[i]);
            L2 = loss_at(m, X, y, P2, Q2);
            if (L2 < L)
                break;
            lr *= 0.5;
        }
        if (!(L2 < L))
            break; /* at a (numerical) minimum */
        memcpy(m->P, P2, np * sizeof *P2);
        memcpy(m->Q, Q2, nq * sizeof *Q2);
        double drop = L - L2;
        L = L2;
        m->loss[m->n_loss++] = L;
        lr *= 1.05;
        if (drop < p->tol * L)
            break;
    }
    *out = m;
    m = NULL;
    rc = PROMO_OK;
    goto done;
nomem:
    rc = PROMO_ENOMEM;
fail:
    promo_mf_free(m);
done:
    promo_csr_free(&XT);
    promo_free(y);
    promo_free(gP);
    promo_free(gQ);
    promo_free(P2);
    promo_free(Q2);
    return rc;
}

void promo_mf_free(promo_mf *m)
{
    if (!m)
        return;
    promo_free(m->P);
    promo_free(m->Q);
    promo_free(m->lo);
    promo_free(m->hi);
    promo_free(m->loss);
    promo_free(m);
}

const double *promo_mf_loss(const promo_mf *m, size_t *n)
{
    *n = m->n_loss;
    return m->loss;
}
uint32_t promo_mf_rows(const promo_mf *m)
{
    return m->rows;
}
uint32_t promo_mf_cols(const promo_mf *m)
{
    return m->cols;
}
uint32_t promo_mf_k(const promo_mf *m)
{
    return m->k;
}
const float *promo_mf_row_factors(const promo_mf *m)
{
    return m->P;
}
const float *promo_mf_col_factors(const promo_mf *m)
{
    return m->Q;
}

double promo_mf_predict_normalised(const promo_mf *m, uint32_t row, uint32_t col)
{
    if (row >= m->rows || col >= m->cols)
        return NAN;
    return dot(m->P + (size_t)row * m->k, m->Q + (size_t)col * m->k, m->k);
}

double promo_mf_predict(const promo_mf *m, uint32_t row, uint32_t col)
{
    double z = promo_mf_predict_normalised(m, row, col);
    if (!m->p.normalise || isnan(z))
        return z;
    z = z < 0 ? 0 : z > 1 ? 1 : z;
    return expm1(m->lo[col] + z * (m->hi[col] - m->lo[col]));
}

int promo_mf_top(const promo_mf *m,
                 const promo_csr *X,
                 uint32_t row,
                 uint32_t k,
                 uint32_t *cols,
                 double *pred,
                 size_t *n)
{
    *n = 0;
    if (row >= m->rows || row >= X->n_rows || X->n_cols != m->cols)
        return promo_fail(PROMO_EUSAGE, "mf: row %u of a %u x %u matrix does not fit the model",
                          row, X->n_rows, X->n_cols);
    double best[64];
    if (k > 64)
        k = 64;
    uint64_t q = X->row_ptr[row], end = X->row_ptr[row + 1];
    for (uint32_t c = 0; c < m->cols; c++) {
        while (q < end && X->col_idx[q] < c)
            q++;
        if (q < end && X->col_idx[q] == c)
            continue; /* bought */
        double z = promo_mf_predict_normalised(m, row, c);
        size_t at = *n;
        while (at > 0 && best[at - 1] < z)
            at--;
        if (at >= k)
            continue;
        size_t last = *n < k ? *n : k - 1;
        for (size_t j = last; j > at; j--) {
            best[j] = best[j - 1];
            cols[j] = cols[j - 1];
        }
        best[at] = z;
        cols[at] = c;
        if (*n < k)
            (*n)++;
    }
    for (size_t j = 0; j < *n; j++)
        pred[j] = promo_mf_predict(m, row, cols[j]);
    return PROMO_OK;
}

static int mf_add_sections(const void *mv, promo_rec_file *f)
{
    const promo_mf *m = mv;
    const double par[8] = {m->p.k,   m->p.learning_rate, m->p.l2,        m->p.n_epochs,
                           m->p.tol, m->p.init_sd,       m->p.normalise, m->p.zero_weight};
    const uint32_t shape[2] = {m->rows, m->cols};
    int rc;
    if ((rc = promo_rec_file_add_i64(f, "mf_version", MF_FORMAT_VERSION)) ||
        (rc = promo_rec_file_add(f, "mf_params", PROMO_REC_F64, 1, 8, par)) ||
        (rc = promo_rec_file_add(f, "mf_seed", PROMO_REC_U64, 1, 1, &m->p.seed)) ||
        (rc = promo_rec_file_add(f, "mf_shape", PROMO_REC_U32, 1, 2, shape)) ||
        (rc = promo_rec_file_add(f, "mf_P", PROMO_REC_F32, m->rows, m->k, m->P)) ||
        (rc = promo_rec_file_add(f, "mf_Q", PROMO_REC_F32, m->cols, m->k, m->Q)) ||
        (rc = promo_rec_file_add(f, "mf_lo", PROMO_REC_F64, 1, m->cols, m->lo)) ||
        (rc = promo_rec_file_add(f, "mf_hi", PROMO_REC_F64, 1, m->cols, m->hi)))
        return rc;
    return promo_rec_file_add(f, "mf_loss", PROMO_REC_F64, 1, m->n_loss, m->loss);
}

int promo_mf_save(const promo_mf *m, void **buf, size_t *n)
{
    return rec_save_bytes("mf_category", mf_add_sections, m, buf, n);
}

int promo_mf_load(const void *buf, size_t n, promo_mf **out)
{
    *out = NULL;
    promo_rec_file *f = NULL;
    double *par = NULL;
    uint64_t *seed = NULL, nl = 0, one = 0;
    uint32_t *shape = NULL;
    promo_mf *m = NULL;
    int64_t version = 0;
    int rc = rec_file_from_bytes(buf, n, "mf_category", &f);
    if (rc)
        return rc;
    if ((rc = promo_rec_file_get_i64(f, "mf_version", &version)))
        goto fail;
    if (version != MF_FORMAT_VERSION) {
        rc = promo_fail(PROMO_EVERSION,
                        "mf_category model: format version %lld (this build "
                        "reads %d)",
                        (long long)version, MF_FORMAT_VERSION);
        goto fail;
    }
    if (!(m = promo_calloc(1, sizeof *m))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    if ((rc = rec_get_copy(f, "mf_params", PROMO_REC_F64, 8, (void **)&par)) ||
        (rc = rec_get_copy(f, "mf_seed", PROMO_REC_U64, 1, (void **)&seed)) ||
        (rc = rec_get_copy(f, "mf_shape", PROMO_REC_U32, 2, (void **)&shape)))
        goto fail;
    m->p.k = m->k = par[0] >= 1 && par[0] <= 64 ? (uint32_t)par[0] : 0;
    m->p.learning_rate = par[1];
    m->p.l2 = par[2];
    m->p.n_epochs = par[3] >= 0 && par[3] <= UINT32_MAX ? (uint32_t)par[3] : 0;
    m->p.tol = par[4];
    m->p.init_sd = par[5];
    m->p.normalise = par[6] != 0;
    m->p.zero_weight = par[7];
    m->p.seed = *seed;
    m->rows = shape[0];
    m->cols = shape[1];
    if (check_params(&m->p)) {
        rc = promo_fail(PROMO_EINPUT, "mf_category model: bad parameters (%s)", promo_last_error());
        goto fail;
    }
    if (!promo_rec_file_get(f, "mf_loss", PROMO_REC_F64, &one, &nl) || one != 1) {
        rc = promo_fail(PROMO_EINPUT, "mf_category model: section 'mf_loss' missing");
        goto fail;
    }
    m->n_loss = (size_t)nl;
    if ((rc = rec_get_copy(f, "mf_P", PROMO_REC_F32, (uint64_t)m->rows * m->k, (void **)&m->P)) ||
        (rc = rec_get_copy(f, "mf_Q", PROMO_REC_F32, (uint64_t)m->cols * m->k, (void **)&m->Q)) ||
        (rc = rec_get_copy(f, "mf_lo", PROMO_REC_F64, m->cols, (void **)&m->lo)) ||
        (rc = rec_get_copy(f, "mf_hi", PROMO_REC_F64, m->cols, (void **)&m->hi)) ||
        (rc = rec_get_copy(f, "mf_loss", PROMO_REC_F64, m->n_loss, (void **)&m->loss)))
        goto fail;
    *out = m;
    m = NULL;
fail:
    promo_free(par);
    promo_free(seed);
    promo_free(shape);
    promo_mf_free(m);
    promo_rec_file_free(f);
    return rc;
}

/* ------------------------------------------------------------ on a workspace ---- */

promo_mf_train_params promo_mf_train_params_default(void)
{
    promo_mf_train_params p;
    memset(&p, 0, sizeof p);
    p.mf = promo_mf_params_default();
    p.horizon_days = 30;
    p.save = 1;
    return p;
}

void promo_mf_report_free(promo_mf_report *r)
{
    if (!r)
        return;
    if (r->category_names)
        for (uint32_t c = 0; c < r->n_categories; c++)
            promo_free(r->category_names[c]);
    promo_free(r->category_names);
    if (r->picks)
        for (size_t i = 0; i < r->n_customers; i++)
            promo_free(r->picks[i].customer_id);
    promo_free(r->picks);
    promo_free(r->model_path);
    memset(r, 0, sizeof *r);
}

/* Columns of row u of X in descending pop order that u never bought and are not masked, at
 * most k. */
static size_t pop_top(const promo_csr *X,
                      uint32_t u,
                      const uint32_t *order,
                      const uint8_t *masked,
                      uint32_t k,
                      uint32_t *out)
{
    size_t n = 0;
    for (uint32_t j = 0; j < X->n_cols && n < k; j++)
        if (!masked[order[j]] && promo_csr_get(X, u, order[j]) == 0)
            out[n++] = order[j];
    return n;
}

/* masked[j] = 1 for each category named in the comma-separated list (PROMO_EUSAGE naming an
 * unknown one); returns the count in *n_masked. */
static int mask_categories(
    const char *list, char *const *names, uint32_t n_cols, uint8_t *masked, uint32_t *n_masked)
{
    *n_masked = 0;
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        uint32_t j = 0;
        while (j < n_cols && !(strlen(names[j]) == len && !strncmp(names[j], p, len)))
            j++;
        if (len && j == n_cols)
            return promo_fail(PROMO_EUSAGE, "mf: --exclude-category: no category '%.*s'", (int)len,
                              p);
        if (len && !masked[j]) {
            masked[j] = 1;
            (*n_masked)++;
        }
        p = e ? e + 1 : p + len;
    }
    return PROMO_OK;
}

int promo_mf_category_train(promo_store *s, const promo_mf_train_params *p, promo_mf_report *out)
{
    memset(out, 0, sizeof *out);
    if (!(p->horizon_days >= 1))
        return promo_fail(PROMO_EUSAGE, "mf: horizon must be >= 1 day");
    promo_panel d;
    promo_panel_cut c;
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    promo_csr X = {0};
    promo_mf *m = NULL;
    uint32_t *order = NULL, *ncat_buyers = NULL;
    size_t *pick_count = NULL;
    double *pick_spend = NULL;
    uint8_t *seen = NULL, *masked = NULL;
    void *buf = NULL;
    size_t nbuf = 0;
    double t0 = promo_now_s();
    int rc = promo_panel_load(s, p->n_threads, &d);
    if (rc)
        goto fail;
    const int64_t H = (int64_t)(p->horizon_days * PROMO_PANEL_DAY);
    const int64_t T = p->as_of ? p->as_of : promo_time_day(d.max_ts) + PROMO_PANEL_DAY - H;
    if ((rc = promo_panel_cut_build(&d, T, &c)))
        goto fail;
    const promo_features *f = c.f;
    int mcol = promo_features_column(f, "monetary");
    if (mcol < 0) {
        rc = promo_fail(PROMO_EINPUT, "mf: the features lack 'monetary'");
        goto fail;
    }
    /* X = category share x monetary (same structure as f->category_share) */
    const promo_csr *cs = &f->category_share;
    X.owned = 1;
    X.n_rows = cs->n_rows;
    X.n_cols = cs->n_cols;
    X.nnz = cs->nnz;
    if (!(X.row_ptr = promo_mallocn((size_t)X.n_rows + 1, sizeof *X.row_ptr)) ||
        !(X.col_idx = promo_mallocn(X.nnz ? X.nnz : 1, sizeof *X.col_idx)) ||
        !(X.values = promo_mallocn(X.nnz ? X.nnz : 1, sizeof *X.values)))
        goto nomem;
    memcpy(X.row_ptr, cs->row_ptr, ((size_t)X.n_rows + 1) * sizeof *X.row_ptr);
    size_t nb = 0;
    for (uint32_t u = 0; u < X.n_rows; u++) {
        float mon = f->X[(size_t)u * f->n_features + (size_t)mcol];
        nb += X.row_ptr[u + 1] > X.row_ptr[u];
        for (uint64_t q = X.row_ptr[u]; q < X.row_ptr[u + 1]; q++) {
            X.col_idx[q] = cs->col_idx[q];
            float v = cs->values[q] * (isfinite(mon) ? mon : 0.0f);
            X.values[q] = v > 0 ? v : 0.0f;
        }
    }
    if (!nb) {
        rc = promo_fail(PROMO_EINPUT, "mf: no customer bought anything before the cutoff");
        goto fail;
    }
    if ((rc = promo_mf_fit(&X, &p->mf, &m)))
        goto fail;
    out->as_of = T;
    out->horizon_days = p->horizon_days;
    out->n_customers = nb;
    out->n_categories = X.n_cols;
    out->n_observed = X.nnz;
    out->k = p->mf.k;
    size_t nl = 0;
    const double *loss = promo_mf_loss(m, &nl);
    out->n_epochs = nl - 1;
    out->loss_first = loss[0];
    out->loss_last = loss[nl - 1];
    double se = 0;
    for (uint32_t u = 0; u < X.n_rows; u++)
        for (uint64_t q = X.row_ptr[u]; q < X.row_ptr[u + 1]; q++) {
            double e = norm_value(m, X.col_idx[q], X.values[q]) -
                       promo_mf_predict_normalised(m, u, X.col_idx[q]);
            se += e * e;
        }
    out->rmse_observed = sqrt(se / (double)X.nnz);
    if (!(out->category_names = promo_calloc(X.n_cols ? X.n_cols : 1, sizeof(char *))))
        goto nomem;
    for (uint32_t j = 0; j < X.n_cols; j++)
        if (!(out->category_names[j] = promo_strdup(f->category_names[j])))
            goto nomem;
    /* popularity: buyers per category before the cutoff */
    if (!(order = promo_mallocn(X.n_cols, sizeof *order)) ||
        !(ncat_buyers = promo_calloc(X.n_cols, sizeof *ncat_buyers)) ||
        !(pick_count = promo_calloc((size_t)PROMO_TIER_COUNT * X.n_cols, sizeof *pick_count)) ||
        !(pick_spend = promo_calloc((size_t)PROMO_TIER_COUNT * X.n_cols, sizeof *pick_spend)) ||
        !(seen = promo_calloc(X.n_cols, 1)) || !(masked = promo_calloc(X.n_cols, 1)))
        goto nomem;
    uint32_t n_masked = 0;
    if ((rc = mask_categories(p->exclude, out->category_names, X.n_cols, masked, &n_masked)))
        goto fail;
    for (uint64_t q = 0; q < X.nnz; q++)
        ncat_buyers[X.col_idx[q]]++;
    for (uint32_t j = 0; j < X.n_cols; j++) {
        uint32_t at = j;
        while (at > 0 && ncat_buyers[order[at - 1]] < ncat_buyers[j]) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = j;
    }
    size_t hits_mf[PROMO_TIER_COUNT] = {0}, hits_pop[PROMO_TIER_COUNT] = {0}, n_pick = 0;
    for (int t = 0; t < PROMO_TIER_COUNT; t++)
        out->tiers[t].tier = PROMO_TIER_COUNT - 1 - t;
    if (!(out->picks = promo_calloc(nb, sizeof *out->picks)))
        goto nomem;
    for (uint32_t u = 0; u < X.n_rows; u++) {
        if (X.row_ptr[u + 1] == X.row_ptr[u])
            continue; /* not a buyer */
        int ti = PROMO_TIER_COUNT - 1 - (int)f->spend_tier[u];
        promo_mf_tier_report *tr = &out->tiers[ti];
        tr->n_customers++;
        uint32_t top[64], ptop[PROMO_MF_TOP];
        double pred[64];
        size_t nt = 0, kept = 0;
        /* enough candidates that PROMO_MF_TOP remain once the masked ones are dropped */
        uint32_t want = PROMO_MF_TOP + n_masked < 64 ? PROMO_MF_TOP + n_masked : 64;
        if ((rc = promo_mf_top(m, &X, u, want, top, pred, &nt)))
            goto fail;
        for (size_t j = 0; j < nt && kept < PROMO_MF_TOP; j++)
            if (!masked[top[j]]) {
                top[kept] = top[j];
                pred[kept++] = pred[j];
            }
        nt = kept;
        promo_mf_customer_pick *cp = &out->picks[n_pick++];
        if (!(cp->customer_id = promo_strdup(promo_features_customer_id(f, u))))
            goto nomem;
        cp->tier = f->spend_tier[u];
        cp->n = nt;
        for (size_t j = 0; j < nt; j++) {
            cp->category[j] = top[j];
            cp->pred_spend[j] = pred[j];
        }
        for (size_t j = 0; j < nt; j++) {
            pick_count[(size_t)ti * X.n_cols + top[j]]++;
            pick_spend[(size_t)ti * X.n_cols + top[j]] += pred[j];
            tr->pred_spend += pred[j];
        }
        size_t npop = pop_top(&X, u, order, masked, PROMO_MF_TOP, ptop);
        /* categories first bought in the test window */
        uint32_t key = c.key ? c.key[u] : PROMO_PANEL_NONE;
        if (key == PROMO_PANEL_NONE)
            continue;
        int any_new = 0, hit_m = 0, hit_p = 0;
        for (uint64_t e = d.by_cat.ptr[key]; e < d.by_cat.ptr[key + 1]; e++) {
            uint32_t cat = d.by_cat.item[e];
            uint32_t col = c.fcat ? c.fcat[cat] : PROMO_PANEL_NONE;
            int64_t ts = d.by_cat.ts[e];
            if (col == PROMO_PANEL_NONE || ts < T || ts >= T + H || masked[col] ||
                promo_csr_get(&X, u, col) != 0)
                continue;
            any_new = 1;
            for (size_t j = 0; j < nt; j++)
                hit_m |= top[j] == col;
            for (size_t j = 0; j < npop; j++)
                hit_p |= ptop[j] == col;
        }
        if (any_new) {
            tr->n_test++;
            hits_mf[ti] += (size_t)hit_m;
            hits_pop[ti] += (size_t)hit_p;
        }
    }
    size_t all_mf = 0, all_pop = 0;
    for (int t = 0; t < PROMO_TIER_COUNT; t++) {
        promo_mf_tier_report *tr = &out->tiers[t];
        tr->hit_mf = tr->n_test ? (double)hits_mf[t] / (double)tr->n_test : NAN;
        tr->hit_pop = tr->n_test ? (double)hits_pop[t] / (double)tr->n_test : NAN;
        out->n_test += tr->n_test;
        all_mf += hits_mf[t];
        all_pop += hits_pop[t];
        /* the most often recommended categories of the tier */
        memset(seen, 0, X.n_cols);
        for (size_t r = 0; r < PROMO_MF_TIER_PICKS; r++) {
            size_t best = 0;
            uint32_t bj = UINT32_MAX;
            for (uint32_t j = 0; j < X.n_cols; j++) {
                size_t cnt = pick_count[(size_t)t * X.n_cols + j];
                if (!seen[j] && cnt > best) {
                    best = cnt;
                    bj = j;
                }
            }
            if (bj == UINT32_MAX)
                break;
            seen[bj] = 1;
            promo_mf_tier_pick *pk = &tr->picks[tr->n_picks++];
            pk->category = bj;
            pk->n_customers = best;
            pk->mean_pred_spend = pick_spend[(size_t)t * X.n_cols + bj] / (double)best;
        }
    }
    out->hit_mf = out->n_test ? (double)all_mf / (double)out->n_test : NAN;
    out->hit_pop = out->n_test ? (double)all_pop / (double)out->n_test : NAN;
    if (p->save) {
        char path[4096];
        snprintf(path, sizeof path, "%s/mf_category.bin", promo_store_models_dir(s));
        if ((rc = promo_mf_save(m, &buf, &nbuf)) || (rc = promo_store_begin(s)))
            goto fail;
        if ((rc = promo_store_stage_file(s, path, buf, nbuf)) || (rc = promo_store_commit(s))) {
            promo_store_rollback(s);
            goto fail;
        }
        if (!(out->model_path = promo_strdup(path)))
            goto nomem;
    }
    out->train_s = promo_now_s() - t0;
    rc = PROMO_OK;
    goto done;
nomem:
    rc = PROMO_ENOMEM;
fail:
    promo_mf_report_free(out);
done:
    promo_free(buf);
    promo_free(order);
    promo_free(ncat_buyers);
    promo_free(pick_count);
    promo_free(pick_spend);
    promo_free(seen);
    promo_free(masked);
    promo_mf_free(m);
    promo_csr_free(&X);
    promo_panel_cut_free(&c);
    promo_panel_free(&d);
    return rc;
}
