/* Recommender queries (recommend.h): top-K items for customers and the reverse query, top-K
 * customers for an item.
 *
 * Factor models: users are taken in blocks; a block's scores against every item are one
 * SGEMM (U_block V^T, OpenBLAS, called from this thread only: the pthread OpenBLAS must not
 * be entered from OpenMP threads), then each row keeps its K best with a bounded heap while
 * it walks its (sorted) history to skip bought items: O(n_items log K) per row, no sort of
 * the whole row. Other models score one user at a time in an OpenMP loop. Ties go to the
 * lower index, so lists are the same whatever the thread count. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/memguard.h>
#include <promo/recommend.h>

/* OpenBLAS's Fortran-interface SGEMM (column-major). Called instead of cblas_sgemm because
 * promo's link line (pkg-config gsl gives -lgslcblas before -lopenblas) resolves cblas_* to
 * GSL's reference CBLAS, two orders of magnitude slower; sgemm_ exists only in OpenBLAS. */
extern void sgemm_(const char *ta,
                   const char *tb,
                   const int *m,
                   const int *n,
                   const int *k,
                   const float *alpha,
                   const float *a,
                   const int *lda,
                   const float *b,
                   const int *ldb,
                   const float *beta,
                   float *c,
                   const int *ldc);

#define BLOCK_FLOATS ((size_t)1 << 22) /* scores per GEMM block (16 MiB) */

promo_rec_query promo_rec_query_default(void)
{
    promo_rec_query q;
    memset(&q, 0, sizeof q);
    q.k = 10;
    q.exclude_bought = 1;
    return q;
}

void promo_rec_topk_free(promo_rec_topk *t)
{
    if (!t)
        return;
    promo_free(t->users);
    promo_free(t->items);
    promo_free(t->scores);
    memset(t, 0, sizeof *t);
}

static int threads(int n)
{
    return n > 0 ? n : omp_get_max_threads();
}

/* a is worse than b: lower score, or equal score and higher index. */
static int worse(float sa, uint32_t ia, float sb, uint32_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

/* Bounded min-heap (the worst kept entry at the root) of up to k entries. */
typedef struct heap {
    size_t n, k;
    float *s;
    uint32_t *id;
} heap;

/* Move the root's hole down to where (s, id) belongs among h->n entries (the worst kept at the
 * root); returns that slot, which the caller fills. */
static size_t sift_down(heap *h, float s, uint32_t id)
{
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        float ms = s;
        uint32_t mid = id;
        if (l < h->n && worse(h->s[l], h->id[l], ms, mid)) {
            m = l;
            ms = h->s[l];
            mid = h->id[l];
        }
        if (r < h->n && worse(h->s[r], h->id[r], ms, mid))
            m = r;
        if (m == i)
            return i;
        h->s[i] = h->s[m];
        h->id[i] = h->id[m];
        i = m;
    }
}

static void heap_push(heap *h, float s, uint32_t id)
{
    if (h->k == 0 || isnan(s))
        return;
    size_t i;
    if (h->n < h->k) {
        i = h->n++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(s, id, h->s[p], h->id[p]))
                break;
            h->s[i] = h->s[p];
            h->id[i] = h->id[p];
            i = p;
        }
        h->s[i] = s;
        h->id[i] = id;
        return;
    }
    if (!worse(h->s[0], h->id[0], s, id))
        return; /* not better than the worst kept */
    size_t at = sift_down(h, s, id);
    h->s[at] = s;
    h->id[at] = id;
}

/* Pop everything into out (best first), padding to k with NONE / -inf. Returns the count. */
static size_t heap_drain(heap *h, uint32_t *ids, float *scores)
{
    size_t n = h->n;
    for (size_t i = n; i < h->k; i++) {
        ids[i] = PROMO_REC_NONE;
        scores[i] = -INFINITY;
    }
    while (h->n > 0) {
        size_t last = --h->n;
        ids[last] = h->id[0];
        scores[last] = h->s[0];
        /* sift the last element down from the root */
        float s = h->s[last];
        uint32_t id = h->id[last];
        size_t at = sift_down(h, s, id);
        if (h->n > 0) {
            h->s[at] = s;
            h->id[at] = id;
        }
    }
    return n;
}

/* Select the best k of scores[0..n_items) (+ bias), skipping excluded[0..n_ex) (sorted) and
 * masked items. */
static size_t select_row(const float *scores,
                         const float *bias,
                         uint32_t n_items,
                         const uint32_t *excluded,
                         uint64_t n_ex,
                         const uint8_t *mask,
                         heap *h,
                         uint32_t *ids,
                         float *out)
{
    h->n = 0;
    uint64_t e = 0;
    for (uint32_t j = 0; j < n_items; j++) {
        while (e < n_ex && excluded[e] < j)
            e++;
        if (e < n_ex && excluded[e] == j)
            continue;
        if (mask && !mask[j])
            continue;
        heap_push(h, bias ? scores[j] + bias[j] : scores[j], j);
    }
    return heap_drain(h, ids, out);
}

static int check_query(const promo_rec_model *m, const promo_rec_query *q)
{
    if (q->k < 1 || q->k > 1000000)
        return promo_fail(PROMO_EUSAGE, "recommend: k must be in 1..1000000");
    if (q->history && (q->history->n_rows != promo_rec_model_n_users(m) ||
                       q->history->n_cols != promo_rec_model_n_items(m)))
        return promo_fail(PROMO_EUSAGE, "recommend: history matrix is %ux%u, the model %ux%u",
                          q->history->n_rows, q->history->n_cols, promo_rec_model_n_users(m),
                          promo_rec_model_n_items(m));
    return PROMO_OK;
}

int promo_rec_topk_users(const promo_rec_model *m,
                         const promo_rec_query *q,
                         const uint32_t *users,
                         size_t n,
                         promo_rec_topk *out)
{
    memset(out, 0, sizeof *out);
    int rc = check_query(m, q);
    if (rc)
        return rc;
    uint32_t nu = promo_rec_model_n_users(m), ni = promo_rec_model_n_items(m);
    if (!users)
        n = nu;
    for (size_t r = 0; users && r < n; r++)
        if (users[r] >= nu)
            return promo_fail(PROMO_EUSAGE, "recommend: user %u out of range", users[r]);
    size_t k = q->k;
    out->n = n;
    out->k = k;
    out->users = promo_mallocn(n ? n : 1, sizeof *out->users);
    out->items = promo_mallocn(n && k ? n * k : 1, sizeof *out->items);
    out->scores = promo_mallocn(n && k ? n * k : 1, sizeof *out->scores);
    if (!out->users || !out->items || !out->scores) {
        promo_rec_topk_free(out);
        return PROMO_ENOMEM;
    }
    for (size_t r = 0; r < n; r++)
        out->users[r] = users ? users[r] : (uint32_t)r;
    const promo_csr *hist = q->exclude_bought ? q->history : NULL;
    int nt = threads(q->n_threads);
    const promo_rec_ops *ops = promo_rec_model_ops(m);
    promo_rec_factors fx;
    int use_gemm = ops->factors && ops->factors(promo_rec_model_impl(m), &fx) == PROMO_OK;
    size_t block = ni ? BLOCK_FLOATS / ni : n;
    if (block < 1)
        block = 1;
    if (block > 2048)
        block = 2048;
    if (!use_gemm)
        block = (size_t)nt * 64; /* rows per pass of the per-user scoring loop */
    float *S = promo_mallocn((block < n ? block : n ? n : 1) * (size_t)(ni ? ni : 1), sizeof *S);
    float *Ub = use_gemm ? promo_mallocn((block < n ? block
                                          : n       ? n
                                                    : 1) *
                                             (size_t)fx.k,
                                         sizeof *Ub)
                         : NULL;
    /* sgemm_ would spin, not fail, without room for OpenBLAS's buffer (memguard.h). */
    if (!S || (use_gemm && !Ub) || (use_gemm && ni && promo_blas_memory_check())) {
        promo_free(S);
        promo_free(Ub);
        promo_rec_topk_free(out);
        return PROMO_ENOMEM;
    }
    int failed = 0;
    for (size_t b0 = 0; b0 < n && !failed; b0 += block) {
        size_t nb = n - b0 < block ? n - b0 : block;
        if (use_gemm) {
            for (size_t r = 0; r < nb; r++)
                memcpy(Ub + r * fx.k, fx.U + (size_t)out->users[b0 + r] * fx.k, fx.k * sizeof *Ub);
            if (ni) {
                /* S row-major (nb x ni) = column-major S^T = V Ub^T, V stored as V^T */
                int m_ = (int)ni, n_ = (int)nb, k_ = (int)fx.k;
                float one = 1.0f, zero = 0.0f;
                sgemm_("T", "N", &m_, &n_, &k_, &one, fx.V, &k_, Ub, &k_, &zero, S, &m_);
            }
        }
#pragma omp parallel num_threads(nt) reduction(| : failed)
        {
            heap h = {0, k, promo_mallocn(k, sizeof(float)), promo_mallocn(k, sizeof(uint32_t))};
            if (!h.s || !h.id) {
                failed = 1;
            } else {
#pragma omp for schedule(dynamic, 16)
                for (size_t r = 0; r < nb; r++) {
                    uint32_t u = out->users[b0 + r];
                    float *row = S + r * ni;
                    if (!use_gemm && ops->score_user(promo_rec_model_impl(m), u, row)) {
                        failed = 1;
                        continue;
                    }
                    const uint32_t *ex = hist ? hist->col_idx + hist->row_ptr[u] : NULL;
                    uint64_t n_ex = hist ? hist->row_ptr[u + 1] - hist->row_ptr[u] : 0;
                    select_row(row, use_gemm ? fx.item_bias : NULL, ni, ex, n_ex, q->item_mask, &h,
                               out->items + (b0 + r) * k, out->scores + (b0 + r) * k);
                }
            }
            promo_free(h.s);
            promo_free(h.id);
        }
    }
    promo_free(S);
    promo_free(Ub);
    if (failed) {
        promo_rec_topk_free(out);
        return promo_fail(PROMO_ENOMEM, "recommend: scoring failed (out of memory)");
    }
    return PROMO_OK;
}

int promo_rec_topk_all(const promo_rec_model *m, const promo_rec_query *q, promo_rec_topk *out)
{
    return promo_rec_topk_users(m, q, NULL, 0, out);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int promo_rec_topk_history(const promo_rec_model *m,
                           const promo_rec_query *q,
                           const uint32_t *items,
                           const float *values,
                           size_t n,
                           uint32_t *items_out,
                           float *scores_out,
                           size_t *n_out)
{
    *n_out = 0;
    if (q->k < 1 || q->k > 1000000)
        return promo_fail(PROMO_EUSAGE, "recommend: k must be in 1..1000000");
    uint32_t ni = promo_rec_model_n_items(m);
    float *s = promo_mallocn(ni ? ni : 1, sizeof *s);
    uint32_t *ex = promo_mallocn(n ? n : 1, sizeof *ex);
    heap h = {0, q->k, promo_mallocn(q->k, sizeof(float)), promo_mallocn(q->k, sizeof(uint32_t))};
    int rc = PROMO_ENOMEM;
    if (!s || !ex || !h.s || !h.id)
        goto done;
    if ((rc = promo_rec_model_score_history(m, items, values, n, s)))
        goto done;
    memcpy(ex, items, n * sizeof *ex);
    qsort(ex, n, sizeof *ex, cmp_u32);
    *n_out = select_row(s, NULL, ni, ex, q->exclude_bought ? n : 0, q->item_mask, &h, items_out,
                        scores_out);
done:
    promo_free(s);
    promo_free(ex);
    promo_free(h.s);
    promo_free(h.id);
    return rc;
}

int promo_rec_item_scores(const promo_rec_model *m, uint32_t item, int n_threads, float *scores)
{
    uint32_t nu = promo_rec_model_n_users(m), ni = promo_rec_model_n_items(m);
    if (item >= ni)
        return promo_fail(PROMO_EUSAGE, "recommend: item %u out of range", item);
    const promo_rec_ops *ops = promo_rec_model_ops(m);
    const void *impl = promo_rec_model_impl(m);
    int nt = threads(n_threads);
    promo_rec_factors fx;
    if (ops->factors && ops->factors(impl, &fx) == PROMO_OK) {
        const float *v = fx.V + (size_t)item * fx.k;
        float b = fx.item_bias ? fx.item_bias[item] : 0.0f;
#pragma omp parallel for schedule(static) num_threads(nt)
        for (uint32_t u = 0; u < nu; u++) {
            const float *x = fx.U + (size_t)u * fx.k;
            float s = b;
            for (uint32_t f = 0; f < fx.k; f++)
                s += x[f] * v[f];
            scores[u] = s;
        }
        return PROMO_OK;
    }
    int failed = 0;
#pragma omp parallel num_threads(nt) reduction(| : failed)
    {
        float *row = promo_mallocn(ni, sizeof *row);
        if (!row)
            failed = 1;
#pragma omp for schedule(dynamic, 64)
        for (uint32_t u = 0; u < nu; u++) {
            if (!row || ops->score_user(impl, u, row)) {
                failed = 1;
                continue;
            }
            scores[u] = row[item];
        }
        promo_free(row);
    }
    return failed ? promo_fail(PROMO_ENOMEM, "recommend: scoring failed") : PROMO_OK;
}

int promo_rec_top_customers(const promo_rec_model *m,
                            const promo_rec_query *q,
                            uint32_t item,
                            uint32_t *users_out,
                            float *scores_out,
                            size_t *n_out)
{
    *n_out = 0;
    int rc = check_query(m, q);
    if (rc)
        return rc;
    uint32_t nu = promo_rec_model_n_users(m);
    float *s = promo_mallocn(nu ? nu : 1, sizeof *s);
    heap h = {0, q->k, promo_mallocn(q->k, sizeof(float)), promo_mallocn(q->k, sizeof(uint32_t))};
    rc = PROMO_ENOMEM;
    if (!s || !h.s || !h.id)
        goto done;
    if ((rc = promo_rec_item_scores(m, item, q->n_threads, s)))
        goto done;
    const promo_csr *hist = q->exclude_bought ? q->history : NULL;
    for (uint32_t u = 0; u < nu; u++) {
        if (hist && promo_csr_get(hist, u, item) != 0.0f)
            continue;
        heap_push(&h, s[u], u);
    }
    *n_out = heap_drain(&h, users_out, scores_out);
done:
    promo_free(s);
    promo_free(h.s);
    promo_free(h.id);
    return rc;
}
