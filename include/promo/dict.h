/* promo/dict.h: string <-> dense uint32 index dictionaries.
 *
 * IDs are strings outside ("CUST00148") and dense indices inside; one dictionary per table
 * maps between them (DESIGN.md). Indices are assigned 0, 1, 2, ... in insertion order, so a
 * dictionary built from the same input in the same order is identical. Not thread-safe for
 * writers; concurrent readers are fine.
 */
#ifndef PROMO_DICT_H
#define PROMO_DICT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROMO_DICT_NONE UINT32_MAX /* "no such key" */

typedef struct promo_dict promo_dict;

promo_dict *promo_dict_new(void);
void promo_dict_free(promo_dict *d); /* NULL-safe */

/* Index of key s[0..n), adding it if absent. Returns PROMO_DICT_NONE on allocation failure. */
uint32_t promo_dict_intern(promo_dict *d, const char *s, size_t n);
/* Index of key s[0..n), or PROMO_DICT_NONE. */
uint32_t promo_dict_find(const promo_dict *d, const char *s, size_t n);
/* Key of index i (NUL-terminated, borrowed: valid until the dictionary is freed). */
const char *promo_dict_key(const promo_dict *d, uint32_t i);
size_t promo_dict_key_len(const promo_dict *d, uint32_t i);
uint32_t promo_dict_size(const promo_dict *d);

/* Make room for n_keys keys in all, so that interning up to that many never rehashes (bulk
 * builders of large id dictionaries call it first). Returns 0 or PROMO_ENOMEM. */
int promo_dict_reserve(promo_dict *d, size_t n_keys);

/* Intern n keys (keys[k] of lens[k] bytes) as promo_dict_intern would, one after the other;
 * out[k] (may be NULL) receives each index. Faster than n calls on large dictionaries: it
 * hashes a batch first and prefetches the slots, so the cache misses overlap.
 * Returns 0 or PROMO_ENOMEM (keys interned before the failure stay). */
int promo_dict_intern_batch(promo_dict *d, const char *const *keys, const uint32_t *lens,
                            size_t n, uint32_t *out /* OUT, may be NULL */);

/* 64-bit hash of bytes (used by the dictionary; exposed for hash joins elsewhere). */
uint64_t promo_hash_bytes(const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
