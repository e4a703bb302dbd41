/* Checked allocation with failure injection, and a block arena. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>

static long fail_at;     /* 0 = off; else the count at which to fail */
static long alloc_count; /* allocations since the last promo_alloc_fail_at */
static int env_checked;

static int should_fail(void)
{
    if (!env_checked) {
        env_checked = 1;
        const char *e = getenv("PROMO_FAIL_ALLOC_AT");
        if (e && *e)
            fail_at = atol(e);
    }
    long n = __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED);
    return fail_at > 0 && n == fail_at;
}

long promo_alloc_fail_at(long n)
{
    long old = alloc_count;
    env_checked = 1;
    fail_at = n;
    alloc_count = 0;
    return old;
}

long promo_alloc_count(void)
{
    return alloc_count;
}

void *promo_malloc(size_t n_bytes)
{
    if (should_fail()) {
        promo_fail(PROMO_ENOMEM, "out of memory (injected failure)");
        return NULL;
    }
    void *p = malloc(n_bytes ? n_bytes : 1);
    if (!p)
        promo_fail(PROMO_ENOMEM, "out of memory allocating %zu bytes", n_bytes);
    return p;
}

void *promo_mallocn(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        promo_fail(PROMO_ENOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    return promo_malloc(n * size);
}

void *promo_calloc(size_t n, size_t size)
{
    if (should_fail()) {
        promo_fail(PROMO_ENOMEM, "out of memory (injected failure)");
        return NULL;
    }
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        promo_fail(PROMO_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *promo_reallocn(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        promo_fail(PROMO_ENOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    if (should_fail()) {
        promo_fail(PROMO_ENOMEM, "out of memory (injected failure)");
        return NULL;
    }
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        promo_fail(PROMO_ENOMEM, "out of memory reallocating %zu bytes", n * size);
    return q;
}

char *promo_strndup(const char *s, size_t n)
{
    char *d = promo_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *promo_strdup(const char *s)
{
    return promo_strndup(s, strlen(s));
}

void promo_free(void *p)
{
    free(p);
}

int promo_grow(void **p, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return PROMO_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return promo_fail(PROMO_ENOMEM, "array too large");
        ncap *= 2;
    }
    void *q = promo_reallocn(*p, ncap, elem_size);
    if (!q)
        return PROMO_ENOMEM;
    *p = q;
    *cap = ncap;
    return PROMO_OK;
}

void promo_prefault(void *p, size_t n_bytes)
{
#ifdef MADV_POPULATE_WRITE
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
    /* whole pages inside the range only: the pages at its ends may belong to others */
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1),
              hi = ((uintptr_t)p + n_bytes) & ~(page - 1);
    if (hi >= lo + 4 * page)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n_bytes;
#endif
}

/* ---- arena ---- */

typedef struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used; /* bytes handed out */
    max_align_t data[];
} block;

struct promo_arena {
    block *head;        /* current block (others follow through next) */
    size_t block_bytes; /* default block size */
    size_t total_used;  /* bytes handed out over all blocks */
};

promo_arena *promo_arena_new(size_t block_bytes)
{
    promo_arena *a = promo_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->block_bytes = block_bytes ? block_bytes : (size_t)1 << 20;
    return a;
}

void *promo_arena_alloc(promo_arena *a, size_t n_bytes)
{
    size_t need = (n_bytes + 15) & ~(size_t)15;
    if (need < n_bytes) {
        promo_fail(PROMO_ENOMEM, "arena allocation overflows");
        return NULL;
    }
    block *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t sz = need > a->block_bytes ? need : a->block_bytes;
        block *nb = promo_malloc(sizeof(block) + sz);
        if (!nb)
            return NULL;
        nb->size = sz;
        nb->used = 0;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    a->total_used += need;
    return p;
}

char *promo_arena_strndup(promo_arena *a, const char *s, size_t n)
{
    char *d = promo_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void promo_arena_reset(promo_arena *a)
{
    block *b = a->head;
    if (!b)
        return;
    /* keep the oldest block (the last in the chain) */
    while (b->next) {
        block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->total_used = 0;
}

size_t promo_arena_used(const promo_arena *a)
{
    return a->total_used;
}

void promo_arena_free(promo_arena *a)
{
    if (!a)
        return;
    block *b = a->head;
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}
