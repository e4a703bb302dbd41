/* Open-addressing hash dictionary (linear probing, power-of-two capacity, load <= 1/2).
 * Slots hold index+1 (0 = empty) and the low 32 bits of the key's hash, so probes rarely touch
 * key bytes. 8 bytes a slot: a 5M-key id dictionary's table is 134 MB, not 268 (page faults
 * and cache misses are what building and probing it cost). The home slot is hash & (cap-1),
 * so while cap <= 2^32 it is recomputed from the stored bits alone.
 * Keys live contiguously in an arena; a parallel array gives key pointers by index.
 *
 * The index may be stale (promo_dict_append_sorted, promo_dict_reserve of an empty table): the
 * slot array is allocated at its size but not filled, and the first operation that probes it
 * fills it (index_ensure), once, under a lock, so concurrent readers stay safe. Filling needs
 * no allocation, so it cannot fail. Why: ingest appends millions of sorted order ids that no
 * later step of the command looks up; zeroing and filling their 134 MB table was a fifth of
 * the ingest's CPU. */
#include <omp.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/hash.h>

typedef struct slot {
    uint32_t hash;  /* low 32 bits of the key's hash */
    uint32_t index; /* key index + 1; 0 = empty */
} slot;

struct promo_dict {
    slot *slots;       /* cap entries */
    size_t cap;        /* power of two */
    const char **keys; /* keys[i] for index i */
    uint32_t *lens;    /* length of keys[i] */
    size_t n;          /* number of keys */
    size_t keys_cap;   /* capacity of keys/lens */
    promo_arena *arena;
    int stale;  /* 1: slots (cap of them, cap > 2 n) are not filled yet; read atomically */
    int sorted; /* 1: every key was added greater than the one before (see key_cmp) */
};

/* Byte order, a prefix before its extensions (the CSV reader's sorted-id order). */
static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    return promo_key_cmp(a, an, b, bn);
}

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
    uint64_t w = promo_load_upto8(s, n);
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
    d->sorted = 1;
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

/* Home slot of an occupied slot in a table of mask + 1 slots. */
static inline size_t slot_home(const promo_dict *d, const slot *sl, size_t mask)
{
    if (mask <= UINT32_MAX)
        return sl->hash & mask;
    uint32_t k = sl->index - 1; /* more than 2^31 keys: the stored bits are too few */
    return promo_hash_bytes(d->keys[k], d->lens[k]) & mask;
}

static int grow_slots_to(promo_dict *d, size_t ncap);

static int rehash(promo_dict *d)
{
    return grow_slots_to(d, d->cap * 2);
}

/* Fill the stale slot array with keys [0, n): hashes a batch ahead with their slots
 * prefetched (at millions of keys every placement is a cache miss). */
static void index_fill(promo_dict *d)
{
    enum { FB = 32 };
    memset(d->slots, 0, d->cap * sizeof *d->slots);
    size_t mask = d->cap - 1;
    uint64_t h[FB];
    for (size_t k0 = 0; k0 < d->n; k0 += FB) {
        size_t m = d->n - k0 < FB ? d->n - k0 : FB;
        for (size_t i = 0; i < m; i++) {
            h[i] = promo_hash_bytes(d->keys[k0 + i], d->lens[k0 + i]);
            __builtin_prefetch(&d->slots[h[i] & mask], 1);
        }
        for (size_t i = 0; i < m; i++) {
            size_t j = h[i] & mask;
            while (d->slots[j].index)
                j = (j + 1) & mask;
            d->slots[j].hash = (uint32_t)h[i];
            d->slots[j].index = (uint32_t)(k0 + i) + 1;
        }
    }
}

/* The index, filled if stale. Logically const: a reader may be the one that fills it, and
 * several may try at once (double-checked under one lock). */
static void index_ensure(const promo_dict *cd)
{
    promo_dict *d = (promo_dict *)cd;
    if (!__atomic_load_n(&d->stale, __ATOMIC_ACQUIRE))
        return;
#pragma omp critical(promo_dict_index)
    {
        if (__atomic_load_n(&d->stale, __ATOMIC_ACQUIRE)) {
            index_fill(d);
            __atomic_store_n(&d->stale, 0, __ATOMIC_RELEASE);
        }
    }
}

/* Replace the slots with an unfilled array of ncap (> 2 n) slots, to be filled on first use.
 * For a stale or empty index only: nothing in the old slots is kept. */
static int slots_replace_stale(promo_dict *d, size_t ncap)
{
    slot *ns = promo_mallocn(ncap, sizeof *ns);
    if (!ns)
        return PROMO_ENOMEM;
    promo_free(d->slots);
    d->slots = ns;
    d->cap = ncap;
    d->stale = 1;
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
        if (sl->hash == (uint32_t)h && d->lens[k] == n && memcmp(d->keys[k], s, n) == 0)
            return j;
        j = (j + 1) & (d->cap - 1);
    }
}

uint32_t promo_dict_find(const promo_dict *d, const char *s, size_t n)
{
    index_ensure(d);
    uint64_t h = promo_hash_bytes(s, n);
    size_t j = probe(d, s, n, h);
    return d->slots[j].index ? d->slots[j].index - 1 : PROMO_DICT_NONE;
}

/* Exactly `cap` keys of room in keys/lens (slots untouched). */
static int grow_keys_exact(promo_dict *d, size_t cap)
{
    if (cap <= d->keys_cap)
        return PROMO_OK;
    const char **nk = promo_reallocn(d->keys, cap, sizeof *nk);
    if (!nk)
        return PROMO_ENOMEM;
    d->keys = nk;
    uint32_t *nl = promo_reallocn(d->lens, cap, sizeof *nl);
    if (!nl)
        return PROMO_ENOMEM;
    d->lens = nl;
    d->keys_cap = cap;
    return PROMO_OK;
}

/* Room for `need` keys, growing by doubling so appends stay amortised O(1). */
static int grow_keys(promo_dict *d, size_t need)
{
    if (need <= d->keys_cap)
        return PROMO_OK;
    size_t cap = d->keys_cap ? d->keys_cap : 64;
    while (cap < need)
        cap *= 2;
    return grow_keys_exact(d, cap);
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
    /* only the key arrays grow here: slot j must stay valid until it is written */
    if (grow_keys(d, d->n + 1))
        return PROMO_DICT_NONE;
    char *copy = promo_arena_strndup(d->arena, s, n);
    if (!copy)
        return PROMO_DICT_NONE;
    uint32_t idx = (uint32_t)d->n;
    if (d->sorted && idx && key_cmp(s, n, d->keys[idx - 1], d->lens[idx - 1]) < 0)
        d->sorted = 0;
    d->keys[idx] = copy;
    d->lens[idx] = (uint32_t)n;
    d->n++;
    d->slots[j].hash = (uint32_t)h;
    d->slots[j].index = idx + 1;
    /* The key is stored even if the table cannot grow: keep going at a higher load, and
     * report failure only when it would fill. */
    if (d->n * 2 > d->cap && rehash(d) && d->n + 1 >= d->cap)
        return PROMO_DICT_NONE;
    return idx;
}

uint32_t promo_dict_intern(promo_dict *d, const char *s, size_t n)
{
    index_ensure(d);
    return intern_hashed(d, s, n, promo_hash_bytes(s, n));
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
    /* One rehash to the final size, not one per doubling: each would allocate and sweep a
     * table (a 5M-key reserve went through 17 of them). */
    size_t ncap = d->cap;
    while (n_keys * 2 > ncap)
        ncap *= 2;
    /* Nothing to keep in an empty or stale index: the new one is filled on first use (an
     * append_sorted that follows never needs it). */
    if (ncap > d->cap && (d->n == 0 || d->stale) ? slots_replace_stale(d, ncap)
                                                 : grow_slots_to(d, ncap))
        return PROMO_ENOMEM;
    return grow_keys(d, n_keys);
}

int promo_dict_intern_batch(
    promo_dict *d, const char *const *keys, const uint32_t *lens, size_t n, uint32_t *out)
{
    enum { BATCH = 32 };
    if (promo_dict_reserve(d, d->n + n))
        return PROMO_ENOMEM;
    index_ensure(d);
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

/* ---- bulk builders ---- */

#define REGION_BITS  15    /* slots per region of the parallel index build: 32 Ki (512 KiB) */
#define APPEND_CHUNK 65536 /* keys per chunk of the parallel passes (fixed: no thread effect) */
#define SORTED_BLOCK (1u << 20) /* bytes of packed keys per arena block of append_sorted */

/* Grow the slot array straight to ncap (one pass, unlike repeated doubling). */
static int grow_slots_to(promo_dict *d, size_t ncap)
{
    if (ncap <= d->cap)
        return PROMO_OK;
    /* malloc + memset, not calloc: a large calloc is fresh zero pages, and placing reads a
     * slot before writing it, so every page would fault twice (the read maps the shared zero
     * page, the write copies it). memset faults each page once, writing. */
    slot *ns = promo_mallocn(ncap, sizeof *ns);
    if (!ns)
        return PROMO_ENOMEM;
    memset(ns, 0, ncap * sizeof *ns);
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->slots[i].index)
            continue;
        size_t j = slot_home(d, &d->slots[i], ncap - 1);
        while (ns[j].index)
            j = (j + 1) & (ncap - 1);
        ns[j] = d->slots[i];
    }
    promo_free(d->slots);
    d->slots = ns;
    d->cap = ncap;
    return PROMO_OK;
}

/* Grow keys/lens to exactly `need` entries (reserve doubles, which costs 50% more at 20M). */
/* Place index idx (hash h) by linear probing from its home slot; without wrap, stop at slot
 * `end`. Returns 1 if placed, 0 if the probe reached `end`, -1 if an equal key is there. Key
 * bytes are read only when the stored hash bits match (rare), so a placement touches the
 * slots alone. */
static int place(promo_dict *d, uint64_t h, uint32_t idx, size_t end, int wrap)
{
    size_t mask = d->cap - 1, j = h & mask;
    for (size_t steps = 0; steps < d->cap; steps++) {
        slot *sl = &d->slots[j];
        if (!sl->index) {
            sl->hash = (uint32_t)h;
            sl->index = idx + 1;
            return 1;
        }
        uint32_t k = sl->index - 1;
        if (sl->hash == (uint32_t)h && d->lens[k] == d->lens[idx] &&
            memcmp(d->keys[k], d->keys[idx], d->lens[idx]) == 0)
            return -1;
        j++;
        if (!wrap && j >= end)
            return 0;
        j &= mask;
    }
    return 0;
}

int promo_dict_append_distinct(
    promo_dict *d, size_t n, promo_dict_key_fn key, void *ctx, int n_threads)
{
    if (n == 0)
        return PROMO_OK;
    if (d->n + n >= UINT32_MAX - 1)
        return promo_fail(PROMO_EINPUT, "dictionary too large");
    int nt = n_threads > 0 ? n_threads : omp_get_max_threads();
    index_ensure(d);
    size_t old = d->n, total = old + n, ncap = d->cap;
    while (total * 2 > ncap)
        ncap *= 2;
    if (grow_slots_to(d, ncap) || grow_keys_exact(d, total))
        return PROMO_ENOMEM;
    /* Pass 1: lengths, then each key's place in one packed block (NUL-terminated keys). */
    int bad = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
    for (size_t k = 0; k < n; k++) {
        char buf[PROMO_DICT_KEY_MAX];
        size_t len = key(ctx, k, buf);
        bad |= len > PROMO_DICT_KEY_MAX;
        d->lens[old + k] = (uint32_t)(len > PROMO_DICT_KEY_MAX ? 0 : len);
    }
    if (bad)
        return promo_fail(PROMO_EINPUT, "dictionary key longer than %d bytes", PROMO_DICT_KEY_MAX);
    size_t bytes = 0;
    for (size_t k = 0; k < n; k++)
        bytes += d->lens[old + k] + 1;
    char *base = promo_arena_alloc(d->arena, bytes);
    if (!base)
        return PROMO_ENOMEM;
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        d->keys[old + k] = base + off;
        off += d->lens[old + k] + 1;
    }
    /* Pass 2: format in place, hash, count keys per (chunk, region). */
    unsigned log_cap = (unsigned)__builtin_ctzll(d->cap);
    unsigned shift = log_cap > REGION_BITS ? log_cap - REGION_BITS : 0;
    size_t n_reg = (size_t)1 << shift, n_chunk = (n + APPEND_CHUNK - 1) / APPEND_CHUNK;
    unsigned reg_shift = log_cap - shift; /* region of slot j = j >> reg_shift */
    size_t *cnt = promo_calloc(n_chunk * n_reg, sizeof *cnt);
    size_t *reg_start = promo_calloc(n_reg + 1, sizeof *reg_start);
    size_t *reg_ovf = promo_calloc(n_reg, sizeof *reg_ovf);
    uint64_t *ph = promo_mallocn(n, sizeof *ph); /* hashes, in region order */
    uint32_t *pi = promo_mallocn(n, sizeof *pi); /* key indices, in region order */
    int rc = PROMO_ENOMEM;
    if (!cnt || !reg_start || !reg_ovf || !ph || !pi)
        goto done;
    size_t mask = d->cap - 1;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t c = 0; c < n_chunk; c++) {
        size_t k1 = (c + 1) * APPEND_CHUNK < n ? (c + 1) * APPEND_CHUNK : n;
        size_t *cc = cnt + c * n_reg;
        for (size_t k = c * APPEND_CHUNK; k < k1; k++) {
            char *dst = (char *)d->keys[old + k];
            size_t len = key(ctx, k, dst);
            dst[len] = '\0';
            cc[(promo_hash_bytes(dst, len) & mask) >> reg_shift]++;
        }
    }
    /* Region r's keys in key order: chunks in order within each region. */
    size_t pos = 0;
    for (size_t r = 0; r < n_reg; r++) {
        reg_start[r] = pos;
        for (size_t c = 0; c < n_chunk; c++) {
            size_t v = cnt[c * n_reg + r];
            cnt[c * n_reg + r] = pos;
            pos += v;
        }
    }
    reg_start[n_reg] = pos;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t c = 0; c < n_chunk; c++) {
        size_t k1 = (c + 1) * APPEND_CHUNK < n ? (c + 1) * APPEND_CHUNK : n;
        size_t *cc = cnt + c * n_reg;
        for (size_t k = c * APPEND_CHUNK; k < k1; k++) {
            uint64_t h = promo_hash_bytes(d->keys[old + k], d->lens[old + k]);
            size_t q = cc[(h & mask) >> reg_shift]++;
            ph[q] = h;
            pi[q] = (uint32_t)(old + k);
        }
    }
    /* Pass 3: each region fills its own cache-sized run of slots (no sharing between threads);
     * keys whose probe runs past the region's end are kept, at the front of the region's list,
     * for a serial pass that wraps normally. */
    int dup = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 8) reduction(| : dup)
    for (size_t r = 0; r < n_reg; r++) {
        size_t end = (r + 1) << reg_shift, ov = reg_start[r];
        for (size_t q = reg_start[r]; q < reg_start[r + 1]; q++) {
            int pr = place(d, ph[q], pi[q], end, 0);
            if (pr == 0) {
                ph[ov] = ph[q];
                pi[ov++] = pi[q];
            }
            dup |= pr < 0;
        }
        reg_ovf[r] = ov - reg_start[r];
    }
    for (size_t r = 0; r < n_reg; r++)
        for (size_t q = reg_start[r]; q < reg_start[r] + reg_ovf[r]; q++)
            dup |= place(d, ph[q], pi[q], 0, 1) < 0;
    d->n = total;
    d->sorted = 0; /* not checked here */
    rc = dup ? promo_fail(PROMO_EINPUT, "dictionary: appended keys are not distinct") : PROMO_OK;
done:
    promo_free(cnt);
    promo_free(reg_start);
    promo_free(reg_ovf);
    promo_free(ph);
    promo_free(pi);
    return rc;
}

int promo_dict_append_sorted(promo_dict *d, size_t n, promo_dict_key_fn key, void *ctx)
{
    if (n == 0)
        return PROMO_OK;
    if (d->n + n >= UINT32_MAX - 1)
        return promo_fail(PROMO_EINPUT, "dictionary too large");
    if (!d->sorted)
        return promo_fail(PROMO_EINPUT, "dictionary: sorted keys appended to unsorted ones");
    size_t old = d->n, total = old + n, ncap = d->cap;
    while (total * 2 > ncap)
        ncap *= 2;
    if (grow_keys_exact(d, total))
        return PROMO_ENOMEM;
    /* One pass: each key formatted straight into a packed block (NUL-terminated), blocks of
     * up to SORTED_BLOCK bytes taken from the arena as they fill. */
    const char *prev = old ? d->keys[old - 1] : NULL;
    size_t prev_n = old ? d->lens[old - 1] : 0, room = 0;
    char *dst = NULL;
    for (size_t k = 0; k < n; k++) {
        if (room < PROMO_DICT_KEY_MAX + 1) {
            size_t left = (n - k) * (PROMO_DICT_KEY_MAX + 1);
            room = left < SORTED_BLOCK ? left : SORTED_BLOCK;
            if (!(dst = promo_arena_alloc(d->arena, room)))
                return PROMO_ENOMEM;
        }
        size_t len = key(ctx, k, dst);
        if (len > PROMO_DICT_KEY_MAX)
            return promo_fail(PROMO_EINPUT, "dictionary key longer than %d bytes",
                              PROMO_DICT_KEY_MAX);
        dst[len] = '\0';
        /* Strictly increasing keys are distinct: what makes a probe per key unnecessary. */
        if (prev && key_cmp(dst, len, prev, prev_n) <= 0)
            return promo_fail(PROMO_EINPUT, "dictionary: appended keys are not increasing");
        d->keys[old + k] = dst;
        d->lens[old + k] = (uint32_t)len;
        prev = dst;
        prev_n = len;
        dst += len + 1;
        room -= len + 1;
    }
    /* The keys are in. A live index that has room places them now (each probe ends at an
     * empty slot: they are new); else the index is rebuilt when first probed. */
    if (ncap > d->cap || d->stale || old == 0) {
        if (ncap > d->cap && slots_replace_stale(d, ncap))
            return PROMO_ENOMEM;
        d->stale = 1;
    } else {
        for (size_t k = old; k < total; k++)
            place(d, promo_hash_bytes(d->keys[k], d->lens[k]), (uint32_t)k, 0, 1);
    }
    d->n = total;
    return PROMO_OK;
}

promo_dict *promo_dict_clone(const promo_dict *d)
{
    promo_dict *c = promo_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t bytes = 0;
    for (size_t k = 0; k < d->n; k++)
        bytes += d->lens[k] + 1;
    size_t nk = d->n ? d->n : 1;
    c->cap = d->cap;
    c->slots = promo_mallocn(d->cap, sizeof *c->slots);
    c->keys = promo_mallocn(nk, sizeof *c->keys);
    c->lens = promo_mallocn(nk, sizeof *c->lens);
    c->arena = promo_arena_new(64 * 1024);
    char *base = c->arena && bytes ? promo_arena_alloc(c->arena, bytes) : NULL;
    if (!c->slots || !c->keys || !c->lens || !c->arena || (bytes && !base)) {
        promo_dict_free(c);
        return NULL;
    }
    c->keys_cap = nk;
    c->n = d->n;
    c->sorted = d->sorted;
    if (__atomic_load_n(&d->stale, __ATOMIC_ACQUIRE))
        c->stale = 1; /* filled on first use, as d's */
    else
        memcpy(c->slots, d->slots, d->cap * sizeof *c->slots);
    if (d->n)
        memcpy(c->lens, d->lens, d->n * sizeof *c->lens);
    size_t off = 0;
    for (size_t k = 0; k < d->n; k++) {
        memcpy(base + off, d->keys[k], d->lens[k] + 1);
        c->keys[k] = base + off;
        off += d->lens[k] + 1;
    }
    return c;
}
