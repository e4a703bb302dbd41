/* Open-addressing hash dictionary (linear probing, power-of-two capacity, load <= 1/2).
 * Slots hold index+1 (0 = empty) and the key's hash, so probes rarely touch key bytes.
 * Keys live contiguously in an arena; a parallel array gives key pointers by index. */
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>

typedef struct slot {
    uint64_t hash;  /* full hash of the key */
    uint32_t index; /* key index + 1; 0 = empty */
    uint32_t pad;
} slot;

struct promo_dict {
    slot *slots;      /* cap entries */
    size_t cap;       /* power of two */
    const char **keys;/* keys[i] for index i */
    uint32_t *lens;   /* length of keys[i] */
    size_t n;         /* number of keys */
    size_t keys_cap;  /* capacity of keys/lens */
    promo_arena *arena;
};

uint64_t promo_hash_bytes(const void *p, size_t n)
{
    /* 64-bit multiply-mix over 8-byte words; good enough for ids and fast on short keys. */
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    return h;
}

promo_dict *promo_dict_new(void)
{
    promo_dict *d = promo_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cap = 64;
    d->slots = promo_calloc(d->cap, sizeof *d->slots);
    d->arena = promo_arena_new(64 * 1024);
    if (!d->slots || !d->arena) {
        promo_dict_free(d);
        return NULL;
    }
    return d;
}

void promo_dict_free(promo_dict *d)
{
    if (!d)
        return;
    promo_free(d->slots);
    promo_free(d->keys);
    promo_free(d->lens);
    promo_arena_free(d->arena);
    promo_free(d);
}

static int rehash(promo_dict *d)
{
    size_t ncap = d->cap * 2;
    slot *ns = promo_calloc(ncap, sizeof *ns);
    if (!ns)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->slots[i].index)
            continue;
        size_t j = d->slots[i].hash & (ncap - 1);
        while (ns[j].index)
            j = (j + 1) & (ncap - 1);
        ns[j] = d->slots[i];
    }
    promo_free(d->slots);
    d->slots = ns;
    d->cap = ncap;
    return PROMO_OK;
}

static size_t probe(const promo_dict *d, const char *s, size_t n, uint64_t h)
{
    size_t j = h & (d->cap - 1);
    for (;;) {
        const slot *sl = &d->slots[j];
        if (!sl->index)
            return j;
        uint32_t k = sl->index - 1;
        if (sl->hash == h && d->lens[k] == n && memcmp(d->keys[k], s, n) == 0)
            return j;
        j = (j + 1) & (d->cap - 1);
    }
}

uint32_t promo_dict_find(const promo_dict *d, const char *s, size_t n)
{
    uint64_t h = promo_hash_bytes(s, n);
    size_t j = probe(d, s, n, h);
    return d->slots[j].index ? d->slots[j].index - 1 : PROMO_DICT_NONE;
}

uint32_t promo_dict_intern(promo_dict *d, const char *s, size_t n)
{
    uint64_t h = promo_hash_bytes(s, n);
    size_t j = probe(d, s, n, h);
    if (d->slots[j].index)
        return d->slots[j].index - 1;
    if (d->n >= UINT32_MAX - 1 || n > UINT32_MAX) {
        promo_fail(PROMO_EINPUT, "dictionary too large");
        return PROMO_DICT_NONE;
    }
    if (d->n + 1 > d->keys_cap) {
        size_t cap = d->keys_cap;
        if (promo_grow((void **)&d->keys, &cap, d->n + 1, sizeof *d->keys))
            return PROMO_DICT_NONE;
        size_t cap2 = d->keys_cap;
        if (promo_grow((void **)&d->lens, &cap2, d->n + 1, sizeof *d->lens))
            return PROMO_DICT_NONE;
        d->keys_cap = cap < cap2 ? cap : cap2;
    }
    char *copy = promo_arena_strndup(d->arena, s, n);
    if (!copy)
        return PROMO_DICT_NONE;
    uint32_t idx = (uint32_t)d->n;
    d->keys[idx] = copy;
    d->lens[idx] = (uint32_t)n;
    d->n++;
    d->slots[j].hash = h;
    d->slots[j].index = idx + 1;
    if (d->n * 2 > d->cap && rehash(d)) {
        /* The key is stored; only the table could not grow. Keep going at higher load,
         * and report failure if it would fill. */
        if (d->n + 1 >= d->cap)
            return PROMO_DICT_NONE;
    }
    return idx;
}

const char *promo_dict_key(const promo_dict *d, uint32_t i)
{
    PROMO_ASSERT(i < d->n);
    return d->keys[i];
}

size_t promo_dict_key_len(const promo_dict *d, uint32_t i)
{
    PROMO_ASSERT(i < d->n);
    return d->lens[i];
}

uint32_t promo_dict_size(const promo_dict *d)
{
    return (uint32_t)d->n;
}

int promo_dict_reserve(promo_dict *d, size_t n_keys)
{
    while (n_keys * 2 > d->cap)
        if (rehash(d))
            return PROMO_ENOMEM;
    if (n_keys > d->keys_cap) {
        size_t cap = d->keys_cap;
        if (promo_grow((void **)&d->keys, &cap, n_keys, sizeof *d->keys))
            return PROMO_ENOMEM;
        size_t cap2 = d->keys_cap;
        if (promo_grow((void **)&d->lens, &cap2, n_keys, sizeof *d->lens))
            return PROMO_ENOMEM;
        d->keys_cap = cap < cap2 ? cap : cap2;
    }
    return PROMO_OK;
}

/* promo_dict_intern with the hash already computed. */
static uint32_t intern_hashed(promo_dict *d, const char *s, size_t n, uint64_t h)
{
    size_t j = probe(d, s, n, h);
    if (d->slots[j].index)
        return d->slots[j].index - 1;
    if (d->n >= UINT32_MAX - 1 || n > UINT32_MAX) {
        promo_fail(PROMO_EINPUT, "dictionary too large");
        return PROMO_DICT_NONE;
    }
    if (d->n + 1 > d->keys_cap && promo_dict_reserve(d, d->keys_cap ? d->keys_cap * 2 : 64))
        return PROMO_DICT_NONE;
    char *copy = promo_arena_strndup(d->arena, s, n);
    if (!copy)
        return PROMO_DICT_NONE;
    uint32_t idx = (uint32_t)d->n;
    d->keys[idx] = copy;
    d->lens[idx] = (uint32_t)n;
    d->n++;
    d->slots[j].hash = h;
    d->slots[j].index = idx + 1;
    if (d->n * 2 > d->cap && rehash(d) && d->n + 1 >= d->cap)
        return PROMO_DICT_NONE;
    return idx;
}

int promo_dict_intern_batch(promo_dict *d, const char *const *keys, const uint32_t *lens,
                            size_t n, uint32_t *out)
{
    enum { BATCH = 32 };
    if (promo_dict_reserve(d, d->n + n))
        return PROMO_ENOMEM;
    uint64_t h[BATCH];
    for (size_t k0 = 0; k0 < n; k0 += BATCH) {
        size_t m = n - k0 < BATCH ? n - k0 : BATCH;
        for (size_t k = 0; k < m; k++) {
            h[k] = promo_hash_bytes(keys[k0 + k], lens[k0 + k]);
            __builtin_prefetch(&d->slots[h[k] & (d->cap - 1)], 1);
        }
        for (size_t k = 0; k < m; k++) {
            uint32_t idx = intern_hashed(d, keys[k0 + k], lens[k0 + k], h[k]);
            if (idx == PROMO_DICT_NONE)
                return PROMO_ENOMEM;
            if (out)
                out[k0 + k] = idx;
        }
    }
    return PROMO_OK;
}
