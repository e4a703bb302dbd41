/* promo/uplift_io.h: a fitted uplift model (promo/uplift.h) as bytes, and back.
 *
 * The format is promo's own, little-endian, checksummed and versioned, so a workspace keeps
 * its uplift model under DIR/models/ and `promo score`/`campaign`/`explain` reload it:
 *
 *   offset  size  field
 *   0       8     magic "PROMOUPL"
 *   8       4     format version (PROMO_UPLIFT_FORMAT_VERSION)
 *   12      4     learner (promo_uplift_learner)
 *   16      4     n_arms (2..1000)
 *   20      4     binary outcome (0/1)
 *   24      8     d, features (1..1,000,000)
 *   32      4     propensity weighting at fit (0/1)
 *   36      8     clip (double, [0, 0.5))
 *   44      32    overlap: clipped_share, e_min, e_max (doubles), n_rows (u64)
 *   76      8 K   arm shares (doubles, finite, in [0, 1])
 *   ...     4     attributes: count, then per attribute key and value, each a u32 length and
 *                 that many bytes (no NUL; caller's strings: feature names, arm names, the
 *                 training window ...)
 *   ...           base models: the propensity model, S's model, n_mu outcome models, n_tau
 *                 effect models (as uplift.c holds them: n_mu = K, DR 2K; n_tau = K - 1, X
 *                 2(K - 1)), each a u64 length (0 = absent) and promo_learner_save_buffer's
 *                 bytes (XGBoost JSON)
 *   ...           TREE and FOREST only: a u64 length and the trees in uplift_tree.h's own format
 *                 (promo_uplift_forest_save: magic PROMOUFT, its version, its checksum)
 *   end-8   8     FNV-1a 64 of every byte before it
 *
 * Loading checks the length, magic, version (PROMO_EVERSION for another one) and checksum
 * first, then every field and every base model: present where the learner needs it, of the
 * right width (d, or d + K for S) and output count, and nothing after the last one. Damaged or
 * foreign bytes give PROMO_EINPUT, never a crash (fuzz/fuzz_uplift_model.c). Predictions of a
 * loaded model are bit-identical to the saved one's.
 *
 * TREE and FOREST models carry their trees as the last section (the S..DR layout is unchanged
 * by it, so files written before it still load under version 1).
 *
 * Usage:
 *   const char *attrs[] = {"features", "recency_days,frequency,..."};
 *   char *buf; size_t len;
 *   if (promo_uplift_save(m, attrs, 1, &buf, &len)) ...;   // then stage buf in the store
 *   promo_uplift *m2; char **kv; size_t n_kv;
 *   if (promo_uplift_load(buf, len, &m2, &kv, &n_kv)) ...;  // kv[2k] key, kv[2k+1] value
 *   promo_free(kv); promo_free(buf); promo_uplift_free(m2);
 *
 * Thread-safety: save reads the model (one thread at a time per handle, as predict); load is
 * reentrant.
 */
#ifndef PROMO_UPLIFT_IO_H
#define PROMO_UPLIFT_IO_H

#include <stddef.h>

#include <promo/uplift.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROMO_UPLIFT_FORMAT_VERSION 1u

/* m as bytes with n_attrs attributes attrs[2k] = key (non-empty), attrs[2k+1] = value
 * (attrs may be NULL when n_attrs is 0). *out: new buffer of *n bytes (promo_free).
 * PROMO_EUSAGE for a NULL/empty key, errors of
 * promo_learner_save_buffer, PROMO_ENOMEM. */
int promo_uplift_save(promo_uplift *m,
                      const char *const *attrs,
                      size_t n_attrs,
                      char **out /* OUT */,
                      size_t *n /* OUT */);

/* The model in data[0..n). attrs (may be NULL): a new array of 2 * *n_attrs NUL-terminated
 * strings, key then value, in the saved order, in one allocation (promo_free). *out: new
 * handle (promo_uplift_free). PROMO_EINPUT for damaged or foreign bytes, PROMO_EVERSION for
 * another format version, PROMO_ENOMEM. */
int promo_uplift_load(const void *data,
                      size_t n,
                      promo_uplift **out /* OUT */,
                      char ***attrs /* OUT, may be NULL */,
                      size_t *n_attrs /* OUT, may be NULL */);

/* The value of attribute key in a list from promo_uplift_load (borrowed), or NULL. */
const char *promo_uplift_attr(char *const *attrs, size_t n_attrs, const char *key);

#ifdef __cplusplus
}
#endif
#endif
