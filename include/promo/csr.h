/* promo/csr.h: compressed sparse row matrices (float32 values) for customer x product and
 * customer x category data.
 *
 * Row i holds columns col_idx[row_ptr[i] .. row_ptr[i+1]) in strictly increasing order, with
 * values[k] for col_idx[k]. This is the layout the recommenders (ALS, BPR, kNN) and the
 * category matrix factorisation read directly.
 *
 * Usage:
 *   promo_csr m = ...;                         // e.g. promo_interactions_view(..)
 *   for (uint32_t i = 0; i < m.n_rows; i++)
 *       for (uint64_t k = m.row_ptr[i]; k < m.row_ptr[i + 1]; k++)
 *           use(i, m.col_idx[k], m.values[k]);
 *   float v = promo_csr_get(&m, 3, 17);        // 0 when absent
 */
#ifndef PROMO_CSR_H
#define PROMO_CSR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_csr {
    uint32_t n_rows;   /* rows */
    uint32_t n_cols;   /* columns */
    uint64_t nnz;      /* stored entries = row_ptr[n_rows] */
    uint64_t *row_ptr; /* n_rows + 1 offsets into col_idx/values */
    uint32_t *col_idx; /* nnz column indices, increasing within a row */
    float *values;     /* nnz values */
    int owned;         /* 1: the arrays belong to this struct (promo_csr_free frees them);
                          0: a borrowed view of another object's arrays */
} promo_csr;

/* Free the arrays of an owned matrix and zero the struct. NULL-safe; a no-op on views. */
void promo_csr_free(promo_csr *m);

/* Value at (row, col), 0 when not stored (binary search in the row). */
float promo_csr_get(const promo_csr *m, uint32_t row, uint32_t col);

/* Check the invariants (monotone row_ptr, columns increasing and < n_cols, finite values).
 * Returns 0 or PROMO_EINTERNAL with a message naming the first bad row. */
int promo_csr_check(const promo_csr *m);

/* The transpose as a new owned matrix (columns become rows, still sorted). The result does
 * not depend on the thread count. Errors: PROMO_ENOMEM. */
int promo_csr_transpose(const promo_csr *m, promo_csr *out /* OUT, owned */);

#ifdef __cplusplus
}
#endif
#endif
