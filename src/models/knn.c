/* Item-kNN and user-kNN (promo/knn.h).
 *
 * Fit: weight the document x term matrix D (products x customers for item-kNN, its transpose
 * for user-kNN), then for each document i accumulate the dot products with every document
 * that shares a term, sum over t in D[i] of w(i,t) * D^T[t] (a sparse row times a sparse
 * matrix, Gustavson's method, into a dense per-thread accumulator with a touched list), turn
 * them into cosines and keep the n_neighbours largest with a bounded min-heap. The cost is
 * the sum over terms of df(t)^2, what an all-pairs cosine costs on sparse data; no dense
 * documents x documents matrix is ever formed.
 *
 * Determinism: row i is computed by one thread, terms and their documents in index order,
 * sums in double; ties in similarity go to the smaller index. So the neighbour lists do not
 * depend on the thread count.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/knn.h>
#include <promo/recommend.h>

#include "models/rec_internal.h"
#include "models/rec_sections.h"

#define KNN_FORMAT_VERSION 1 /* section "knn_version" */

struct promo_knn {
    promo_knn_params p; /* as fitted (n_threads as given) */
    uint32_t n_items;   /* products */
    uint32_t n_users;   /* customers in training */
    promo_csr S;        /* neighbours: products x products (item) or customers x customers */
};

promo_knn_params promo_knn_params_default(void)
{
    promo_knn_params p;
    memset(&p, 0, sizeof p);
    p.kind = PROMO_KNN_ITEM;
    p.weighting = PROMO_KNN_WEIGHT_BM25;
    p.n_neighbours = 100;
    p.binary = 1;
    p.bm25_k1 = 1.2;
    p.bm25_b = 0.75;
    p.shrink = 0.0;
    return p;
}

const char *promo_knn_kind_name(int kind)
{
    static const char *const names[] = {"item", "user"};
    return kind >= 0 && kind < PROMO_KNN_KIND_COUNT ? names[kind] : "?";
}

const char *promo_knn_weighting_name(int weighting)
{
    static const char *const names[] = {"none", "tfidf", "bm25"};
    return weighting >= 0 && weighting < PROMO_KNN_WEIGHT_COUNT ? names[weighting] : "?";
}

static int check_params(const promo_knn_params *p)
{
    if ((int)p->kind < 0 || p->kind >= PROMO_KNN_KIND_COUNT)
        return promo_fail(PROMO_EUSAGE, "knn: unknown kind %d", (int)p->kind);
    if ((int)p->weighting < 0 || p->weighting >= PROMO_KNN_WEIGHT_COUNT)
        return promo_fail(PROMO_EUSAGE, "knn: unknown weighting %d", (int)p->weighting);
    if (p->n_neighbours < 1)
        return promo_fail(PROMO_EUSAGE, "knn: n_neighbours must be >= 1");
    if (!(p->bm25_k1 > 0) || !isfinite(p->bm25_k1))
        return promo_fail(PROMO_EUSAGE, "knn: bm25_k1 must be > 0, got %g", p->bm25_k1);
    if (!(p->bm25_b >= 0 && p->bm25_b <= 1))
        return promo_fail(PROMO_EUSAGE, "knn: bm25_b must be in [0, 1], got %g", p->bm25_b);
    if (!(p->shrink >= 0) || !isfinite(p->shrink))
        return promo_fail(PROMO_EUSAGE, "knn: shrink must be >= 0, got %g", p->shrink);
    if (p->n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "knn: n_threads must be >= 0");
    return PROMO_OK;
}

/* Weight the documents of D in place (values) as the params say. */
static int weight_documents(promo_csr *D, const promo_knn_params *p)
{
    uint32_t *df = NULL;
    double *len = NULL;
    int rc = PROMO_OK;
    if (!(df = promo_calloc(D->n_cols ? D->n_cols : 1, sizeof *df)) ||
        !(len = promo_calloc(D->n_rows ? D->n_rows : 1, sizeof *len))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    double total = 0;
    for (uint32_t i = 0; i < D->n_rows; i++)
        for (uint64_t k = D->row_ptr[i]; k < D->row_ptr[i + 1]; k++) {
            if (p->binary)
                D->values[k] = 1.0f;
            df[D->col_idx[k]]++;
            len[i] += D->values[k];
        }
    for (uint32_t i = 0; i < D->n_rows; i++)
        total += len[i];
    double avglen = D->n_rows ? total / D->n_rows : 1.0;
    if (!(avglen > 0))
        avglen = 1.0;
    double N = D->n_rows;
    for (uint32_t i = 0; i < D->n_rows; i++)
        for (uint64_t k = D->row_ptr[i]; k < D->row_ptr[i + 1]; k++) {
            double x = D->values[k], idf = log((N + 1.0) / df[D->col_idx[k]]), w = x;
            if (p->weighting == PROMO_KNN_WEIGHT_TFIDF)
                w = sqrt(x) * idf;
            else if (p->weighting == PROMO_KNN_WEIGHT_BM25)
                w = x * (p->bm25_k1 + 1.0) /
                    (p->bm25_k1 * (1.0 - p->bm25_b + p->bm25_b * len[i] / avglen) + x) * idf;
            D->values[k] = (float)w;
        }
done:
    promo_free(df);
    promo_free(len);
    return rc;
}

/* The kept candidates of one row: a min-heap on (sim, -index) of at most cap entries. */
typedef struct knn_heap {
    uint32_t *idx;
    float *sim;
    uint32_t n, cap;
} knn_heap;

/* a is "worse" than b: smaller similarity, or equal and larger index */
static int worse(float sa, uint32_t ia, float sb, uint32_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void heap_swap(knn_heap *h, uint32_t a, uint32_t b)
{
    float ts = h->sim[a];
    uint32_t ti = h->idx[a];
    h->sim[a] = h->sim[b];
    h->idx[a] = h->idx[b];
    h->sim[b] = ts;
    h->idx[b] = ti;
}

static void heap_sift_down(knn_heap *h, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && worse(h->sim[l], h->idx[l], h->sim[m], h->idx[m]))
            m = l;
        if (r < h->n && worse(h->sim[r], h->idx[r], h->sim[m], h->idx[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_push(knn_heap *h, float s, uint32_t j)
{
    if (h->n < h->cap) {
        uint32_t i = h->n++;
        h->sim[i] = s;
        h->idx[i] = j;
        while (i > 0) {
            uint32_t up = (i - 1) / 2;
            if (!worse(h->sim[i], h->idx[i], h->sim[up], h->idx[up]))
                break;
            heap_swap(h, i, up);
            i = up;
        }
    } else if (worse(h->sim[0], h->idx[0], s, j)) {
        h->sim[0] = s;
        h->idx[0] = j;
        heap_sift_down(h, 0);
    }
}

/* Sort n (index, sim) pairs by index (insertion sort: n is the neighbour count, small). */
static void sort_by_index(uint32_t *idx, float *sim, uint32_t n)
{
    for (uint32_t a = 1; a < n; a++) {
        uint32_t ti = idx[a];
        float ts = sim[a];
        uint32_t b = a;
        while (b > 0 && idx[b - 1] > ti) {
            idx[b] = idx[b - 1];
            sim[b] = sim[b - 1];
            b--;
        }
        idx[b] = ti;
        sim[b] = ts;
    }
}

int promo_knn_fit(const promo_csr *R, const promo_knn_params *p, promo_knn **out)
{
    *out = NULL;
    int rc = check_params(p);
    if (rc)
        return rc;
    for (uint64_t k = 0; k < R->nnz; k++)
        if (!(R->values[k] >= 0) || !isfinite(R->values[k]))
            return promo_fail(PROMO_EINPUT, "knn: interaction value %g is negative or not finite",
                              (double)R->values[k]);
    promo_knn *m = NULL;
    promo_csr D = {0}, DT = {0};
    double *norm = NULL, *acc = NULL;
    uint32_t *touched = NULL, *kidx = NULL, *kn = NULL;
    float *ksim = NULL;
    if (!(m = promo_calloc(1, sizeof *m)))
        goto nomem;
    m->p = *p;
    m->n_items = R->n_cols;
    m->n_users = R->n_rows;
    m->S.owned = 1;
    /* D: documents x terms, a private copy whose values we weight */
    if (p->kind == PROMO_KNN_ITEM) {
        if ((rc = promo_csr_transpose(R, &D)))
            goto fail;
    } else {
        D.owned = 1;
        D.n_rows = R->n_rows;
        D.n_cols = R->n_cols;
        D.nnz = R->nnz;
        if (!(D.row_ptr = promo_mallocn((size_t)R->n_rows + 1, sizeof *D.row_ptr)) ||
            !(D.col_idx = promo_mallocn(R->nnz ? R->nnz : 1, sizeof *D.col_idx)) ||
            !(D.values = promo_mallocn(R->nnz ? R->nnz : 1, sizeof *D.values)))
            goto nomem;
        memcpy(D.row_ptr, R->row_ptr, ((size_t)R->n_rows + 1) * sizeof *D.row_ptr);
        if (R->nnz) {
            memcpy(D.col_idx, R->col_idx, R->nnz * sizeof *D.col_idx);
            memcpy(D.values, R->values, R->nnz * sizeof *D.values);
        }
    }
    if ((rc = weight_documents(&D, p)) || (rc = promo_csr_transpose(&D, &DT)))
        goto fail;
    uint32_t nd = D.n_rows, K = p->n_neighbours < nd ? p->n_neighbours : (nd ? nd - 1 : 0);
    if (!K)
        K = 1;
    if (!(norm = promo_calloc(nd ? nd : 1, sizeof *norm)))
        goto nomem;
    for (uint32_t i = 0; i < nd; i++) {
        double s = 0;
        for (uint64_t k = D.row_ptr[i]; k < D.row_ptr[i + 1]; k++)
            s += (double)D.values[k] * D.values[k];
        norm[i] = sqrt(s);
    }
    int nt = p->n_threads > 0 ? p->n_threads : omp_get_max_threads();
    if (nt < 1)
        nt = 1;
    size_t nds = nd ? nd : 1;
    if (!(acc = promo_calloc((size_t)nt * nds, sizeof *acc)) ||
        !(touched = promo_mallocn((size_t)nt * nds, sizeof *touched)) ||
        !(kidx = promo_mallocn(nds * K, sizeof *kidx)) ||
        !(ksim = promo_mallocn(nds * K, sizeof *ksim)) || !(kn = promo_calloc(nds, sizeof *kn)))
        goto nomem;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
    for (uint32_t i = 0; i < nd; i++) {
        int t = omp_get_thread_num();
        double *a = acc + (size_t)t * nds;
        uint32_t *tl = touched + (size_t)t * nds, nt_ = 0;
        for (uint64_t k = D.row_ptr[i]; k < D.row_ptr[i + 1]; k++) {
            uint32_t term = D.col_idx[k];
            double wi = D.values[k];
            if (wi == 0)
                continue;
            for (uint64_t q = DT.row_ptr[term]; q < DT.row_ptr[term + 1]; q++) {
                uint32_t j = DT.col_idx[q];
                if (j == i)
                    continue;
                if (a[j] == 0)
                    tl[nt_++] = j; /* first touch (a product of positive weights is > 0) */
                a[j] += wi * DT.values[q];
            }
        }
        knn_heap h = {kidx + (size_t)i * K, ksim + (size_t)i * K, 0, K};
        for (uint32_t q = 0; q < nt_; q++) {
            uint32_t j = tl[q];
            double den = norm[i] * norm[j] + p->shrink;
            float s = den > 0 ? (float)(a[j] / den) : 0.0f;
            a[j] = 0;
            if (s > 0)
                heap_push(&h, s, j);
        }
        sort_by_index(h.idx, h.sim, h.n);
        kn[i] = h.n;
    }
    /* compact into the CSR */
    m->S.n_rows = m->S.n_cols = nd;
    if (!(m->S.row_ptr = promo_mallocn(nds + 1, sizeof *m->S.row_ptr)))
        goto nomem;
    m->S.row_ptr[0] = 0;
    for (uint32_t i = 0; i < nd; i++)
        m->S.row_ptr[i + 1] = m->S.row_ptr[i] + kn[i];
    m->S.nnz = m->S.row_ptr[nd];
    if (!(m->S.col_idx = promo_mallocn(m->S.nnz ? m->S.nnz : 1, sizeof *m->S.col_idx)) ||
        !(m->S.values = promo_mallocn(m->S.nnz ? m->S.nnz : 1, sizeof *m->S.values)))
        goto nomem;
    for (uint32_t i = 0; i < nd; i++) {
        memcpy(m->S.col_idx + m->S.row_ptr[i], kidx + (size_t)i * K, kn[i] * sizeof *kidx);
        memcpy(m->S.values + m->S.row_ptr[i], ksim + (size_t)i * K, kn[i] * sizeof *ksim);
    }
    *out = m;
    m = NULL;
    rc = PROMO_OK;
    goto done;
nomem:
    rc = PROMO_ENOMEM;
fail:
    promo_knn_free(m);
done:
    promo_csr_free(&D);
    promo_csr_free(&DT);
    promo_free(norm);
    promo_free(acc);
    promo_free(touched);
    promo_free(kidx);
    promo_free(ksim);
    promo_free(kn);
    return rc;
}

void promo_knn_free(promo_knn *m)
{
    if (!m)
        return;
    promo_csr_free(&m->S);
    promo_free(m);
}

const promo_csr *promo_knn_neighbours(const promo_knn *m)
{
    return &m->S;
}

promo_knn_params promo_knn_params_of(const promo_knn *m)
{
    return m->p;
}

uint32_t promo_knn_n_items(const promo_knn *m)
{
    return m->n_items;
}

int promo_knn_score_items(
    const promo_knn *m, const uint32_t *items, const float *weights, size_t n, float *out)
{
    if (m->p.kind != PROMO_KNN_ITEM)
        return promo_fail(PROMO_EUSAGE, "knn: scoring a bare history needs an item-kNN model");
    memset(out, 0, (size_t)m->n_items * sizeof *out);
    for (size_t q = 0; q < n; q++) {
        uint32_t i = items[q];
        if (i >= m->n_items)
            return promo_fail(PROMO_EUSAGE, "knn: product %u outside the model's %u", i,
                              m->n_items);
        float x = m->p.binary || !weights ? 1.0f : weights[q];
        for (uint64_t k = m->S.row_ptr[i]; k < m->S.row_ptr[i + 1]; k++)
            out[m->S.col_idx[k]] += x * m->S.values[k];
    }
    return PROMO_OK;
}

int promo_knn_score(const promo_knn *m, const promo_csr *R, uint32_t u, float *out)
{
    if (R->n_cols != m->n_items || u >= R->n_rows)
        return promo_fail(PROMO_EUSAGE,
                          "knn: row %u of a %u x %u matrix does not fit a model of %u products", u,
                          R->n_rows, R->n_cols, m->n_items);
    if (m->p.kind == PROMO_KNN_ITEM)
        return promo_knn_score_items(m, R->col_idx + R->row_ptr[u], R->values + R->row_ptr[u],
                                     (size_t)(R->row_ptr[u + 1] - R->row_ptr[u]), out);
    if (R->n_rows != m->n_users)
        return promo_fail(PROMO_EUSAGE,
                          "knn: a user-kNN model scores its training matrix (%u customers), got %u",
                          m->n_users, R->n_rows);
    memset(out, 0, (size_t)m->n_items * sizeof *out);
    for (uint64_t k = m->S.row_ptr[u]; k < m->S.row_ptr[u + 1]; k++) {
        uint32_t v = m->S.col_idx[k];
        float s = m->S.values[k];
        for (uint64_t q = R->row_ptr[v]; q < R->row_ptr[v + 1]; q++)
            out[R->col_idx[q]] += s * (m->p.binary ? 1.0f : R->values[q]);
    }
    return PROMO_OK;
}

/* The model's sections: its parameters, shape and neighbour lists. */
static int knn_add_sections(const promo_knn *m, promo_rec_file *f)
{
    const double par[7] = {m->p.kind,    m->p.weighting, m->p.n_neighbours, m->p.binary,
                           m->p.bm25_k1, m->p.bm25_b,    m->p.shrink};
    const uint32_t shape[2] = {m->n_items, m->n_users};
    int rc;
    if ((rc = promo_rec_file_add_i64(f, "knn_version", KNN_FORMAT_VERSION)) ||
        (rc = promo_rec_file_add(f, "knn_params", PROMO_REC_F64, 1, 7, par)) ||
        (rc = promo_rec_file_add(f, "knn_items_users", PROMO_REC_U32, 1, 2, shape)))
        return rc;
    return rec_add_csr(f, "knn_S", &m->S);
}

static int knn_from_sections(const promo_rec_file *f, promo_knn **out)
{
    *out = NULL;
    int64_t version = 0;
    int rc = promo_rec_file_get_i64(f, "knn_version", &version);
    if (rc)
        return rc;
    if (version != KNN_FORMAT_VERSION)
        return promo_fail(PROMO_EVERSION, "knn model: format version %lld (this build reads %d)",
                          (long long)version, KNN_FORMAT_VERSION);
    double *par = NULL;
    uint32_t *shape = NULL;
    promo_knn *m = promo_calloc(1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    if ((rc = rec_get_copy(f, "knn_params", PROMO_REC_F64, 7, (void **)&par)) ||
        (rc = rec_get_copy(f, "knn_items_users", PROMO_REC_U32, 2, (void **)&shape)))
        goto fail;
    m->p = promo_knn_params_default();
    m->p.kind = par[0] == 1 ? PROMO_KNN_USER : par[0] == 0 ? PROMO_KNN_ITEM : PROMO_KNN_KIND_COUNT;
    m->p.weighting = par[1] >= 0 && par[1] < PROMO_KNN_WEIGHT_COUNT ? (promo_knn_weighting)par[1]
                                                                    : PROMO_KNN_WEIGHT_COUNT;
    m->p.n_neighbours = par[2] >= 1 && par[2] <= UINT32_MAX ? (uint32_t)par[2] : 0;
    m->p.binary = par[3] != 0;
    m->p.bm25_k1 = par[4];
    m->p.bm25_b = par[5];
    m->p.shrink = par[6];
    m->n_items = shape[0];
    m->n_users = shape[1];
    if ((rc = rec_get_csr(f, "knn_S", &m->S)))
        goto fail;
    if (check_params(&m->p) ||
        m->S.n_rows != (m->p.kind == PROMO_KNN_ITEM ? m->n_items : m->n_users) ||
        m->S.n_cols != m->S.n_rows) {
        rc = promo_fail(PROMO_EINPUT, "knn model: inconsistent fields");
        goto fail;
    }
    *out = m;
    m = NULL;
fail:
    promo_free(par);
    promo_free(shape);
    promo_knn_free(m);
    return rc;
}

static int knn_add_v(const void *m, promo_rec_file *f)
{
    return knn_add_sections(m, f);
}

static int knn_read_v(const promo_rec_file *f, void *out)
{
    return knn_from_sections(f, out);
}

int promo_knn_save(const promo_knn *m, void **buf, size_t *n)
{
    return rec_save_bytes("knn", knn_add_v, m, buf, n);
}

int promo_knn_load(const void *buf, size_t n, promo_knn **out)
{
    *out = NULL;
    return rec_load_bytes(buf, n, "knn", knn_read_v, out);
}

/* ------------------------------------------------ the recommend.h model handle ---- */

/* The handle's state: the model and the training matrix (the histories score_user reads). */
typedef struct knn_rec {
    promo_knn *m;
    promo_csr R;
} knn_rec;

static void knn_rec_free(void *impl)
{
    knn_rec *k = impl;
    if (!k)
        return;
    promo_knn_free(k->m);
    promo_csr_free(&k->R);
    promo_free(k);
}

static int knn_rec_score_user(const void *impl, uint32_t user, float *scores)
{
    const knn_rec *k = impl;
    return promo_knn_score(k->m, &k->R, user, scores);
}

static int knn_rec_score_history(
    const void *impl, const uint32_t *items, const float *values, size_t n, float *scores)
{
    const knn_rec *k = impl;
    if (k->m->p.kind != PROMO_KNN_ITEM)
        return promo_fail(PROMO_EUSAGE,
                          "user-kNN cannot score a customer it was not trained on (use knn)");
    return promo_knn_score_items(k->m, items, values, n, scores);
}

static int knn_rec_save(const void *impl, promo_rec_file *f)
{
    const knn_rec *k = impl;
    int rc = knn_add_sections(k->m, f);
    return rc ? rc : rec_add_csr(f, "knn_R", &k->R);
}

static const promo_rec_ops knn_item_ops = {
    .kind = "knn",
    .score_user = knn_rec_score_user,
    .score_history = knn_rec_score_history,
    .factors = NULL,
    .save = knn_rec_save,
    .free = knn_rec_free,
};

static const promo_rec_ops knn_user_ops = {
    .kind = "user-knn",
    .score_user = knn_rec_score_user,
    .score_history = knn_rec_score_history,
    .factors = NULL,
    .save = knn_rec_save,
    .free = knn_rec_free,
};

static int knn_copy_csr(const promo_csr *a, promo_csr *out)
{
    memset(out, 0, sizeof *out);
    out->owned = 1;
    out->n_rows = a->n_rows;
    out->n_cols = a->n_cols;
    out->nnz = a->nnz;
    if (!(out->row_ptr = promo_mallocn((size_t)a->n_rows + 1, sizeof *out->row_ptr)) ||
        !(out->col_idx = promo_mallocn(a->nnz ? a->nnz : 1, sizeof *out->col_idx)) ||
        !(out->values = promo_mallocn(a->nnz ? a->nnz : 1, sizeof *out->values))) {
        promo_csr_free(out);
        return PROMO_ENOMEM;
    }
    memcpy(out->row_ptr, a->row_ptr, ((size_t)a->n_rows + 1) * sizeof *out->row_ptr);
    if (a->nnz) {
        memcpy(out->col_idx, a->col_idx, a->nnz * sizeof *out->col_idx);
        memcpy(out->values, a->values, a->nnz * sizeof *out->values);
    }
    return PROMO_OK;
}

static int knn_rec_fit_kind(const promo_rec_data *train,
                            const promo_rec_params *rp,
                            promo_knn_kind kind,
                            promo_rec_model **out)
{
    *out = NULL;
    promo_knn_params p =
        rp->extra ? *(const promo_knn_params *)rp->extra : promo_knn_params_default();
    p.kind = kind;
    if (!rp->extra)
        p.n_threads = rp->n_threads;
    knn_rec *k = promo_calloc(1, sizeof *k);
    if (!k)
        return PROMO_ENOMEM;
    int rc = knn_copy_csr(&train->m, &k->R);
    if (!rc)
        rc = promo_knn_fit(&train->m, &p, &k->m);
    if (rc) {
        knn_rec_free(k);
        return rc;
    }
    return promo_rec_model_new(kind == PROMO_KNN_ITEM ? &knn_item_ops : &knn_user_ops, k, train,
                               out);
}

int promo_knn_rec_fit(const promo_rec_data *train, const promo_rec_params *p, promo_rec_model **out)
{
    return knn_rec_fit_kind(train, p, PROMO_KNN_ITEM, out);
}

int promo_knn_user_rec_fit(const promo_rec_data *train,
                           const promo_rec_params *p,
                           promo_rec_model **out)
{
    return knn_rec_fit_kind(train, p, PROMO_KNN_USER, out);
}

int promo_knn_rec_load(const promo_rec_file *f, const promo_rec_data *shape, promo_rec_model **out)
{
    *out = NULL;
    knn_rec *k = promo_calloc(1, sizeof *k);
    if (!k)
        return PROMO_ENOMEM;
    int rc = knn_from_sections(f, &k->m);
    if (!rc)
        rc = rec_get_csr(f, "knn_R", &k->R);
    if (!rc && (k->R.n_rows != shape->m.n_rows || k->R.n_cols != shape->m.n_cols ||
                k->m->n_items != shape->m.n_cols))
        rc = promo_fail(PROMO_EINPUT, "knn model: the matrices do not match the file's shape");
    if (rc) {
        knn_rec_free(k);
        return rc;
    }
    return promo_rec_model_new(k->m->p.kind == PROMO_KNN_ITEM ? &knn_item_ops : &knn_user_ops, k,
                               shape, out);
}
