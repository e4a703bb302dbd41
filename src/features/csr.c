/* CSR helpers: free, lookup, invariant check, transpose (counting sort by column, so the
 * transposed rows come out sorted without a comparison sort). */
#include <math.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csr.h>
#include <promo/error.h>

void promo_csr_free(promo_csr *m)
{
    if (!m || !m->owned)
        return;
    promo_free(m->row_ptr);
    promo_free(m->col_idx);
    promo_free(m->values);
    memset(m, 0, sizeof *m);
}

float promo_csr_get(const promo_csr *m, uint32_t row, uint32_t col)
{
    if (row >= m->n_rows)
        return 0.0f;
    uint64_t lo = m->row_ptr[row], hi = m->row_ptr[row + 1];
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (m->col_idx[mid] < col)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->row_ptr[row + 1] && m->col_idx[lo] == col ? m->values[lo] : 0.0f;
}

int promo_csr_check(const promo_csr *m)
{
    if (m->n_rows && !m->row_ptr)
        return promo_fail(PROMO_EINTERNAL, "csr: no row_ptr");
    if (m->row_ptr && (m->row_ptr[0] != 0 || m->row_ptr[m->n_rows] != m->nnz))
        return promo_fail(PROMO_EINTERNAL, "csr: row_ptr does not span 0..nnz");
    for (uint32_t i = 0; i < m->n_rows; i++) {
        if (m->row_ptr[i + 1] < m->row_ptr[i])
            return promo_fail(PROMO_EINTERNAL, "csr: row_ptr decreases at row %u", i);
        for (uint64_t k = m->row_ptr[i]; k < m->row_ptr[i + 1]; k++) {
            if (m->col_idx[k] >= m->n_cols)
                return promo_fail(PROMO_EINTERNAL, "csr: row %u: column %u >= %u", i, m->col_idx[k],
                                  m->n_cols);
            if (k > m->row_ptr[i] && m->col_idx[k] <= m->col_idx[k - 1])
                return promo_fail(PROMO_EINTERNAL, "csr: row %u: columns not increasing", i);
            if (!isfinite(m->values[k]))
                return promo_fail(PROMO_EINTERNAL, "csr: row %u: non-finite value", i);
        }
    }
    return PROMO_OK;
}

int promo_csr_transpose(const promo_csr *m, promo_csr *out)
{
    memset(out, 0, sizeof *out);
    out->owned = 1;
    out->n_rows = m->n_cols;
    out->n_cols = m->n_rows;
    out->nnz = m->nnz;
    out->row_ptr = promo_calloc((size_t)m->n_cols + 1, sizeof *out->row_ptr);
    out->col_idx = promo_mallocn(m->nnz ? m->nnz : 1, sizeof *out->col_idx);
    out->values = promo_mallocn(m->nnz ? m->nnz : 1, sizeof *out->values);
    if (!out->row_ptr || !out->col_idx || !out->values) {
        promo_csr_free(out);
        return PROMO_ENOMEM;
    }
    for (uint64_t k = 0; k < m->nnz; k++)
        out->row_ptr[m->col_idx[k] + 1]++;
    for (uint32_t j = 0; j < m->n_cols; j++)
        out->row_ptr[j + 1] += out->row_ptr[j];
    /* Scanning rows in order makes each transposed row come out with increasing columns. */
    uint64_t *next = promo_mallocn((size_t)m->n_cols + 1, sizeof *next);
    if (!next) {
        promo_csr_free(out);
        return PROMO_ENOMEM;
    }
    memcpy(next, out->row_ptr, ((size_t)m->n_cols + 1) * sizeof *next);
    for (uint32_t i = 0; i < m->n_rows; i++)
        for (uint64_t k = m->row_ptr[i]; k < m->row_ptr[i + 1]; k++) {
            uint64_t d = next[m->col_idx[k]]++;
            out->col_idx[d] = i;
            out->values[d] = m->values[k];
        }
    promo_free(next);
    return PROMO_OK;
}
