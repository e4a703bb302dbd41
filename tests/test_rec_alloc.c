/* Allocation torture for the kNN, category-MF and hybrid models (STYLE.md 3.7): make every
 * allocation of fit + save + load fail in turn; each must give PROMO_ENOMEM (or succeed when
 * the failure point is past the last allocation), never crash, and leak nothing (LeakSanitizer
 * fails the run otherwise). */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hybrid.h>
#include <promo/knn.h>
#include <promo/mf_category.h>
#include <promo/rng.h>

#include "t.h"

static promo_csr small(uint32_t rows, uint32_t cols, uint64_t seed)
{
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = rows;
    m.n_cols = cols;
    m.row_ptr = promo_calloc(rows + 1, sizeof *m.row_ptr);
    m.col_idx = promo_mallocn((size_t)rows * cols, sizeof *m.col_idx);
    m.values = promo_mallocn((size_t)rows * cols, sizeof *m.values);
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    for (uint32_t i = 0; i < rows; i++) {
        for (uint32_t j = 0; j < cols; j++)
            if (promo_rng_uniform(&r) < 0.4 || j == i % cols) {
                m.col_idx[m.nnz] = j;
                m.values[m.nnz++] = (float)(1 + promo_rng_below(&r, 3));
            }
        m.row_ptr[i + 1] = m.nnz;
    }
    return m;
}

static int knn_round(const promo_csr *R)
{
    promo_knn_params p = promo_knn_params_default();
    p.n_threads = 1;
    promo_knn *m = NULL, *back = NULL;
    void *b = NULL;
    size_t n = 0;
    int rc = promo_knn_fit(R, &p, &m);
    if (!rc)
        rc = promo_knn_save(m, &b, &n);
    if (!rc)
        rc = promo_knn_load(b, n, &back);
    promo_free(b);
    promo_knn_free(m);
    promo_knn_free(back);
    return rc;
}

static int mf_round(const promo_csr *R)
{
    promo_mf_params p = promo_mf_params_default();
    p.n_epochs = 5;
    promo_mf *m = NULL, *back = NULL;
    void *b = NULL;
    size_t n = 0;
    int rc = promo_mf_fit(R, &p, &m);
    if (!rc)
        rc = promo_mf_save(m, &b, &n);
    if (!rc)
        rc = promo_mf_load(b, n, &back);
    promo_free(b);
    promo_mf_free(m);
    promo_mf_free(back);
    return rc;
}

static const promo_csr *g_uf, *g_if;

static int hybrid_round(const promo_csr *R)
{
    promo_hybrid_params p = promo_hybrid_params_default();
    p.epochs = 2;
    p.dim = 4;
    promo_hybrid *m = NULL, *back = NULL;
    void *b = NULL;
    size_t n = 0;
    int rc = promo_hybrid_fit(R, g_uf, g_if, &p, &m);
    if (!rc)
        rc = promo_hybrid_save(m, &b, &n);
    if (!rc)
        rc = promo_hybrid_load(b, n, &back);
    promo_free(b);
    promo_hybrid_free(m);
    promo_hybrid_free(back);
    return rc;
}

static void torture(int (*round)(const promo_csr *), const promo_csr *R, const char *what)
{
    int done = 0;
    for (long k = 1; k < 2000 && !done; k++) {
        promo_alloc_fail_at(k);
        int rc = round(R);
        long used = promo_alloc_count();
        promo_alloc_fail_at(0);
        T_ASSERT_MSG(rc == PROMO_OK || rc == PROMO_ENOMEM,
                     "%s: failure at allocation %ld: rc %d (%s)", what, k, rc, promo_last_error());
        done = rc == PROMO_OK && used < k;
    }
    T_ASSERT_MSG(done, "%s: still failing after 2000 allocations", what);
}

T_TEST(rec_models_survive_alloc_failures)
{
    promo_csr R = small(12, 7, 1), UF = small(12, 5, 2), IF = small(7, 4, 3);
    g_uf = &UF;
    g_if = &IF;
    torture(knn_round, &R, "knn");
    torture(mf_round, &R, "mf");
    torture(hybrid_round, &R, "hybrid");
    promo_csr_free(&R);
    promo_csr_free(&UF);
    promo_csr_free(&IF);
}
