/* promo/alloc.h: every allocation in promo goes through here (Redis zmalloc, sqlite3_malloc).
 *
 * Why: sizes are overflow-checked, and tests can make the Nth allocation fail
 * (PROMO_FAIL_ALLOC_AT=N in the environment, or promo_alloc_fail_at(N)) to prove each failure
 * path reports PROMO_ENOMEM cleanly and leaks nothing (curl's torture mode, SQLite faultsim).
 *
 * The arena serves transient data of one command or request: many small allocations freed at
 * once by promo_arena_free (ggml's context).
 */
#ifndef PROMO_ALLOC_H
#define PROMO_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* malloc/calloc/realloc that set promo_last_error() and return NULL on failure. */
void *promo_malloc(size_t n_bytes);
void *promo_calloc(size_t n, size_t size);
/* n * size bytes; fails (NULL, PROMO_ENOMEM message) if the product overflows. */
void *promo_mallocn(size_t n, size_t size);
void *promo_reallocn(void *p, size_t n, size_t size);
char *promo_strdup(const char *s);
char *promo_strndup(const char *s, size_t n);
void promo_free(void *p); /* NULL-safe */

/* Make the n-th allocation from now fail (1 = the next one); 0 turns injection off.
 * Returns how many allocations were counted since the last call. Not thread-safe: for tests. */
long promo_alloc_fail_at(long n);
/* How many allocations have been counted since the last promo_alloc_fail_at(). */
long promo_alloc_count(void);

/* Fault in the whole pages of [p, p + n_bytes) for writing, in one call on the calling thread
 * (madvise MADV_POPULATE_WRITE, Linux >= 5.14): about a third less CPU than faulting them one
 * by one on first write (no trap per 4 KiB page). Best effort, no error: the pages fault as
 * usual where it is not available; ranges under 16 KiB are left alone. For fresh arrays that
 * are about to be written whole (bench/RESULTS.md, helper read20). */
void promo_prefault(void *p, size_t n_bytes);

/* Growable array helper: ensure *cap >= need, growing by doubling. Returns 0 or PROMO_ENOMEM. */
int promo_grow(void **p, size_t *cap, size_t need, size_t elem_size);

typedef struct promo_arena promo_arena;

/* An arena handing out memory in blocks of at least block_bytes (0 = 1 MiB). */
promo_arena *promo_arena_new(size_t block_bytes);
/* n_bytes aligned to 16; NULL on failure. Valid until promo_arena_free/promo_arena_reset. */
void *promo_arena_alloc(promo_arena *a, size_t n_bytes);
char *promo_arena_strndup(promo_arena *a, const char *s, size_t n);
/* Forget every allocation but keep the first block for reuse. */
void promo_arena_reset(promo_arena *a);
/* Total bytes handed out. */
size_t promo_arena_used(const promo_arena *a);
void promo_arena_free(promo_arena *a); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
