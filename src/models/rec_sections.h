/* src/models/rec_sections.h (private to src/models): reading and writing the sections the
 * kNN, category-MF and hybrid models keep in recommend.h's file (promo_rec_file): a CSR as
 * three sections, and typed arrays copied out with their sizes checked, so a file whose
 * checksum is right but whose shapes disagree is refused (PROMO_EINPUT naming the section)
 * instead of read out of bounds. */
#ifndef PROMO_REC_SECTIONS_H
#define PROMO_REC_SECTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <promo/csr.h>
#include <promo/recommend.h>

/* Sections "<prefix>_ptr" (U64, n_rows + 1), "<prefix>_col" (U32, nnz), "<prefix>_val"
 * (F32, nnz) and "<prefix>_shape" (U32 1 x 2: rows, cols). */
int rec_add_csr(promo_rec_file *f, const char *prefix, const promo_csr *m);
/* Read them back into *m (owned), checked with promo_csr_check. */
int rec_get_csr(const promo_rec_file *f, const char *prefix, promo_csr *m /* OUT */);
/* Section `name` of dtype with exactly n elements, copied into a new array (promo_free). */
int rec_get_copy(
    const promo_rec_file *f, const char *name, promo_rec_dtype dtype, uint64_t n, void **out);
/* Bytes of a model file of `kind` into *buf (promo_free); a parsed file back, of that kind. */
int rec_file_to_bytes(promo_rec_file *f /* consumed */, void **buf, size_t *n);
int rec_file_from_bytes(const void *buf, size_t n, const char *kind, promo_rec_file **out);
/* A standalone model's bytes (promo_knn_save & co): a file of `kind` whose sections add(m, f)
 * writes; and back: read(f, out) on the parsed file of that kind (out: the model's OUT
 * pointer, e.g. a promo_knn **). */
int rec_save_bytes(const char *kind,
                   int (*add)(const void *m, promo_rec_file *f),
                   const void *m,
                   void **buf /* OUT */,
                   size_t *n /* OUT */);
int rec_load_bytes(const void *buf,
                   size_t n,
                   const char *kind,
                   int (*read)(const promo_rec_file *f, void *out),
                   void *out);

#endif
