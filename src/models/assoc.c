/* FP-growth (Han, Pei & Yin 2000) and single-consequent rules, as promo/assoc.h describes.
 *
 * Trees are built from sorted paths rather than by inserting basket after basket: the paths
 * of a (conditional) pattern base, each sorted by item rank, are sorted lexicographically,
 * so paths sharing a prefix are adjacent and the trie falls out of one pass that compares
 * each path with the previous one. No child lists or hash tables, nodes laid out in
 * depth-first order (a single-path tree is then simply parent[k] == k - 1), and the work is
 * a sort, which stays fast on wide baskets where child lists degrade. */
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/assoc.h>
#include <promo/error.h>
#include <promo/hash.h>

#define ROOT UINT32_MAX

struct promo_assoc {
    size_t n_baskets;
    uint32_t n_items;
    uint64_t *item_count; /* n_items, every item */
    size_t n_sets;
    uint32_t *set_items; /* concatenated, ascending within a set */
    size_t *set_off;     /* n_sets + 1 */
    uint64_t *set_count;
    size_t n_rules;
    promo_assoc_rule *rules;
    uint32_t *rule_items; /* lhs items */
};

promo_assoc_params promo_assoc_params_default(void)
{
    return (promo_assoc_params){.min_support = 0.001,
                                .min_confidence = 0.8,
                                .min_lift = 0,
                                .max_len = 10,
                                .max_itemsets = 10000000,
                                .rhs_only = -1,
                                .n_threads = 0};
}

/* An FP-tree over local item ranks (0 = the most frequent item of this tree). */
typedef struct fp_tree {
    size_t n;             /* nodes */
    uint32_t *item;       /* local rank */
    uint32_t *parent;     /* ROOT for the root's children */
    uint64_t *count;      /* baskets through the node */
    uint32_t *link;       /* next node of the same item, ROOT at the end */
    uint32_t n_items;     /* local items */
    uint32_t *head;       /* n_items: first node of each item */
    uint64_t *item_count; /* n_items: support of each item in this tree */
    uint32_t *global;     /* n_items: input item id */
} fp_tree;

static void tree_free(fp_tree *t)
{
    promo_free(t->item);
    promo_free(t->parent);
    promo_free(t->count);
    promo_free(t->link);
    promo_free(t->head);
    promo_free(t->item_count);
    promo_free(t->global);
    memset(t, 0, sizeof *t);
}

/* A pattern base: paths of local ranks, each ascending, with a count. */
typedef struct paths {
    size_t n, n_items_total;
    uint32_t *items;
    size_t *off; /* n + 1 */
    uint64_t *cnt;
} paths;

static int cmp_path(const void *a, const void *b, void *ctx)
{
    const paths *p = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const uint32_t *x = p->items + p->off[i], *y = p->items + p->off[j];
    size_t nx = p->off[i + 1] - p->off[i], ny = p->off[j + 1] - p->off[j];
    for (size_t k = 0; k < nx && k < ny; k++)
        if (x[k] != y[k])
            return x[k] < y[k] ? -1 : 1;
    return nx < ny ? -1 : nx > ny;
}

/* Build t's nodes from p (t->n_items, global, item_count already set). */
static int tree_build(fp_tree *t, const paths *p)
{
    size_t total = p->n_items_total, max_len = 0;
    if (total >= ROOT)
        return promo_fail(PROMO_EUSAGE, "association rules: more than 4 billion basket items "
                                        "above the support; raise --min-support");
    size_t *order = promo_mallocn(p->n ? p->n : 1, sizeof *order);
    t->item = promo_mallocn(total ? total : 1, sizeof *t->item);
    t->parent = promo_mallocn(total ? total : 1, sizeof *t->parent);
    t->count = promo_mallocn(total ? total : 1, sizeof *t->count);
    t->link = promo_mallocn(total ? total : 1, sizeof *t->link);
    t->head = promo_mallocn(t->n_items ? t->n_items : 1, sizeof *t->head);
    if (!order || !t->item || !t->parent || !t->count || !t->link || !t->head) {
        promo_free(order);
        return PROMO_ENOMEM;
    }
    for (size_t i = 0; i < p->n; i++) {
        order[i] = i;
        size_t len = p->off[i + 1] - p->off[i];
        if (len > max_len)
            max_len = len;
    }
    qsort_r(order, p->n, sizeof *order, cmp_path, (void *)p);
    uint32_t *stack = promo_mallocn(max_len ? max_len : 1, sizeof *stack);
    if (!stack) {
        promo_free(order);
        return PROMO_ENOMEM;
    }
    const uint32_t *prev = NULL;
    size_t prev_len = 0, n = 0;
    for (size_t k = 0; k < p->n; k++) {
        size_t i = order[k], len = p->off[i + 1] - p->off[i];
        const uint32_t *x = p->items + p->off[i];
        size_t l = 0;
        while (l < len && l < prev_len && x[l] == prev[l])
            l++;
        for (size_t d = 0; d < l; d++)
            t->count[stack[d]] += p->cnt[i];
        for (size_t d = l; d < len; d++) {
            t->item[n] = x[d];
            t->parent[n] = d ? stack[d - 1] : ROOT;
            t->count[n] = p->cnt[i];
            stack[d] = (uint32_t)n++;
        }
        if (len) {
            prev = x;
            prev_len = len;
        }
    }
    t->n = n;
    for (uint32_t j = 0; j < t->n_items; j++)
        t->head[j] = ROOT;
    for (size_t v = n; v-- > 0;) {
        t->link[v] = t->head[t->item[v]];
        t->head[t->item[v]] = (uint32_t)v;
    }
    promo_free(stack);
    promo_free(order);
    return PROMO_OK;
}

/* Itemsets found by one thread: items (global ids, ascending), lengths, counts. */
typedef struct found {
    uint32_t *items;
    size_t n_items, cap_items;
    uint32_t *len;
    uint64_t *count;
    size_t n, cap_len, cap_count;
} found;

typedef struct miner {
    uint64_t minsup;
    int max_len;
    size_t max_itemsets;
    atomic_size_t n_found;
    atomic_int stop; /* a limit or an allocation failed */
} miner;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Record suffix[0..len) (global ids, any order) with its count. */
static int emit(miner *m, found *f, const uint32_t *suffix, uint32_t len, uint64_t count)
{
    if (atomic_fetch_add(&m->n_found, 1) >= m->max_itemsets) {
        atomic_store(&m->stop, 1);
        return PROMO_EUSAGE;
    }
    if (promo_grow((void **)&f->items, &f->cap_items, f->n_items + len, sizeof *f->items))
        return PROMO_ENOMEM;
    if (promo_grow((void **)&f->len, &f->cap_len, f->n + 1, sizeof *f->len) ||
        promo_grow((void **)&f->count, &f->cap_count, f->n + 1, sizeof *f->count))
        return PROMO_ENOMEM;
    uint32_t *dst = f->items + f->n_items;
    memcpy(dst, suffix, len * sizeof *dst);
    qsort(dst, len, sizeof *dst, cmp_u32);
    f->n_items += len;
    f->len[f->n] = len;
    f->count[f->n++] = count;
    return PROMO_OK;
}

static int mine_tree(miner *m, found *f, const fp_tree *t, uint32_t *suffix, uint32_t suffix_len);

/* A single-path tree: every non-empty subset of its nodes is frequent, with the count of its
 * deepest node. Choose up to `room` more nodes among 0..below-1, deepest first, so the first
 * one chosen gives the count (UINT64_MAX: none chosen yet). */
static int enum_path(miner *m,
                     found *f,
                     const fp_tree *t,
                     uint32_t *suffix,
                     uint32_t len,
                     size_t below,
                     int room,
                     uint64_t count)
{
    for (size_t v = below; v-- > 0 && room > 0;) {
        if (atomic_load(&m->stop))
            return PROMO_EUSAGE;
        uint64_t c = count == UINT64_MAX ? t->count[v] : count;
        suffix[len] = t->global[t->item[v]];
        int rc = emit(m, f, suffix, len + 1, c);
        if (!rc && room > 1)
            rc = enum_path(m, f, t, suffix, len + 1, v, room - 1, c);
        if (rc)
            return rc;
    }
    return PROMO_OK;
}

/* Itemset suffix + item i of t, then everything its conditional tree holds. */
static int
mine_item(miner *m, found *f, const fp_tree *t, uint32_t i, uint32_t *suffix, uint32_t suffix_len)
{
    suffix[suffix_len] = t->global[i];
    int rc = emit(m, f, suffix, suffix_len + 1, t->item_count[i]);
    if (rc || (int)suffix_len + 1 >= m->max_len || i == 0)
        return rc;
    /* The conditional pattern base of i: the path above each node of i. Ancestors have
     * lower ranks, so only items 0..i-1 occur. */
    uint64_t *cc = promo_calloc(i, sizeof *cc);
    uint32_t *rank = promo_mallocn(i, sizeof *rank);
    fp_tree c = {0};
    paths p = {0};
    rc = cc && rank ? PROMO_OK : PROMO_ENOMEM;
    size_t total = 0;
    for (uint32_t v = t->head[i]; !rc && v != ROOT; v = t->link[v]) {
        p.n++;
        for (uint32_t a = t->parent[v]; a != ROOT; a = t->parent[a]) {
            cc[t->item[a]] += t->count[v];
            total++;
        }
    }
    uint32_t n_freq = 0;
    for (uint32_t j = 0; !rc && j < i; j++)
        if (cc[j] >= m->minsup)
            rank[n_freq++] = j;
    if (rc || n_freq == 0)
        goto done;
    /* Ranks by conditional support (descending), ties by the parent tree's rank. */
    for (uint32_t a = 1; a < n_freq; a++)
        for (uint32_t b = a; b > 0 && cc[rank[b]] > cc[rank[b - 1]]; b--) {
            uint32_t tmp = rank[b];
            rank[b] = rank[b - 1];
            rank[b - 1] = tmp;
        }
    c.n_items = n_freq;
    c.global = promo_mallocn(n_freq, sizeof *c.global);
    c.item_count = promo_mallocn(n_freq, sizeof *c.item_count);
    p.items = promo_mallocn(total ? total : 1, sizeof *p.items);
    p.off = promo_mallocn(p.n + 1, sizeof *p.off);
    p.cnt = promo_mallocn(p.n ? p.n : 1, sizeof *p.cnt);
    if (!c.global || !c.item_count || !p.items || !p.off || !p.cnt) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    /* cc now maps an old rank to its new rank + 1 (0: not frequent here). */
    for (uint32_t r = 0; r < n_freq; r++) {
        c.global[r] = t->global[rank[r]];
        c.item_count[r] = cc[rank[r]];
    }
    memset(cc, 0, i * sizeof *cc);
    for (uint32_t r = 0; r < n_freq; r++)
        cc[rank[r]] = r + 1;
    size_t k = 0, at = 0;
    for (uint32_t v = t->head[i]; v != ROOT; v = t->link[v], k++) {
        p.off[k] = at;
        p.cnt[k] = t->count[v];
        for (uint32_t a = t->parent[v]; a != ROOT; a = t->parent[a])
            if (cc[t->item[a]])
                p.items[at++] = (uint32_t)cc[t->item[a]] - 1;
        qsort(p.items + p.off[k], at - p.off[k], sizeof *p.items, cmp_u32);
    }
    p.off[k] = at;
    p.n_items_total = at;
    if (!(rc = tree_build(&c, &p)))
        rc = mine_tree(m, f, &c, suffix, suffix_len + 1);
done:
    promo_free(p.items);
    promo_free(p.off);
    promo_free(p.cnt);
    tree_free(&c);
    promo_free(cc);
    promo_free(rank);
    return rc;
}

static int mine_tree(miner *m, found *f, const fp_tree *t, uint32_t *suffix, uint32_t suffix_len)
{
    int single = 1;
    for (size_t v = 0; v < t->n && single; v++)
        single = t->parent[v] == (v ? v - 1 : ROOT);
    if (single)
        return enum_path(m, f, t, suffix, suffix_len, t->n, m->max_len - (int)suffix_len,
                         UINT64_MAX);
    for (uint32_t i = t->n_items; i-- > 0;) {
        if (atomic_load(&m->stop))
            return PROMO_EUSAGE;
        int rc = mine_item(m, f, t, i, suffix, suffix_len);
        if (rc)
            return rc;
    }
    return PROMO_OK;
}

/* Baskets of t holding every item of set (global ids; all frequent in t). */
static uint64_t tree_support(
    const fp_tree *t, const uint32_t *rank_of, const uint32_t *set, uint32_t len, uint8_t *mark)
{
    uint32_t deepest = 0;
    for (uint32_t k = 0; k < len; k++) {
        uint32_t r = rank_of[set[k]];
        mark[r] = 1;
        if (r > deepest)
            deepest = r;
    }
    uint64_t sum = 0;
    for (uint32_t v = t->head[deepest]; v != ROOT; v = t->link[v]) {
        uint32_t got = 0;
        for (uint32_t a = t->parent[v]; a != ROOT && got + 1 < len; a = t->parent[a])
            got += mark[t->item[a]];
        if (got + 1 == len)
            sum += t->count[v];
    }
    for (uint32_t k = 0; k < len; k++)
        mark[rank_of[set[k]]] = 0;
    return sum;
}

typedef struct set_ref {
    const uint32_t *items;
    uint32_t len;
    uint64_t count;
} set_ref;

static int cmp_items(const uint32_t *x, uint32_t nx, const uint32_t *y, uint32_t ny)
{
    if (nx != ny)
        return nx < ny ? -1 : 1;
    for (uint32_t k = 0; k < nx; k++)
        if (x[k] != y[k])
            return x[k] < y[k] ? -1 : 1;
    return 0;
}

static int cmp_set(const void *a, const void *b)
{
    const set_ref *x = a, *y = b;
    return cmp_items(x->items, x->len, y->items, y->len);
}

static uint64_t hash_items(const uint32_t *x, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    for (uint32_t k = 0; k < n; k++)
        h = promo_mix64(h ^ x[k]);
    return h;
}

static int cmp_rule(const void *a, const void *b, void *ctx)
{
    const promo_assoc_rule *x = a, *y = b;
    const uint32_t *items = ctx;
    if (x->lift != y->lift)
        return x->lift > y->lift ? -1 : 1;
    if (x->confidence != y->confidence)
        return x->confidence > y->confidence ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->rhs != y->rhs)
        return x->rhs < y->rhs ? -1 : 1;
    return cmp_items(items + x->lhs_off, x->lhs_len, items + y->lhs_off, y->lhs_len);
}

/* Gather the threads' itemsets into a in canonical order. */
static int collect_sets(promo_assoc *a, found *fs, int n_fs)
{
    size_t n = 0, n_items = 0;
    for (int k = 0; k < n_fs; k++) {
        n += fs[k].n;
        n_items += fs[k].n_items;
    }
    set_ref *ref = promo_mallocn(n ? n : 1, sizeof *ref);
    a->set_items = promo_mallocn(n_items ? n_items : 1, sizeof *a->set_items);
    a->set_off = promo_mallocn(n + 1, sizeof *a->set_off);
    a->set_count = promo_mallocn(n ? n : 1, sizeof *a->set_count);
    if (!ref || !a->set_items || !a->set_off || !a->set_count) {
        promo_free(ref);
        return PROMO_ENOMEM;
    }
    size_t r = 0;
    for (int k = 0; k < n_fs; k++)
        for (size_t i = 0, at = 0; i < fs[k].n; at += fs[k].len[i++])
            ref[r++] = (set_ref){fs[k].items + at, fs[k].len[i], fs[k].count[i]};
    qsort(ref, n, sizeof *ref, cmp_set);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        a->set_off[i] = at;
        memcpy(a->set_items + at, ref[i].items, ref[i].len * sizeof *a->set_items);
        at += ref[i].len;
        a->set_count[i] = ref[i].count;
    }
    a->set_off[n] = at;
    a->n_sets = n;
    promo_free(ref);
    return PROMO_OK;
}

/* Rules with one consequent from the itemsets; lhs supports from the itemsets themselves (all
 * subsets of a frequent set were mined) or, when only one rhs was mined, from the tree. */
static int
make_rules(promo_assoc *a, const promo_assoc_params *p, const fp_tree *t, const uint32_t *rank_of)
{
    size_t cap_slots = 1;
    while (cap_slots < 2 * a->n_sets + 2)
        cap_slots <<= 1;
    size_t *slot = NULL;
    uint8_t *mark = NULL;
    uint32_t *lhs = promo_mallocn((size_t)p->max_len + 1, sizeof *lhs);
    size_t cap_rules = 0, cap_items = 0, n_items = 0;
    int rc = lhs ? PROMO_OK : PROMO_ENOMEM;
    if (!rc && p->rhs_only < 0) {
        if (!(slot = promo_calloc(cap_slots, sizeof *slot)))
            rc = PROMO_ENOMEM;
        for (size_t i = 0; !rc && i < a->n_sets; i++) {
            size_t h = hash_items(a->set_items + a->set_off[i],
                                  (uint32_t)(a->set_off[i + 1] - a->set_off[i])) &
                       (cap_slots - 1);
            while (slot[h])
                h = (h + 1) & (cap_slots - 1);
            slot[h] = i + 1;
        }
    } else if (!rc && !(mark = promo_calloc(t->n_items ? t->n_items : 1, 1)))
        rc = PROMO_ENOMEM;
    double nb = (double)a->n_baskets;
    for (size_t i = 0; !rc && i < a->n_sets; i++) {
        const uint32_t *s = a->set_items + a->set_off[i];
        uint32_t len = (uint32_t)(a->set_off[i + 1] - a->set_off[i]);
        if (len < 2)
            continue;
        for (uint32_t j = 0; !rc && j < len; j++) {
            if (p->rhs_only >= 0 && s[j] != (uint32_t)p->rhs_only)
                continue;
            for (uint32_t k = 0, m = 0; k < len; k++)
                if (k != j)
                    lhs[m++] = s[k];
            uint64_t cl = 0;
            if (slot) {
                size_t h = hash_items(lhs, len - 1) & (cap_slots - 1);
                for (; slot[h]; h = (h + 1) & (cap_slots - 1)) {
                    size_t q = slot[h] - 1;
                    if (cmp_items(a->set_items + a->set_off[q],
                                  (uint32_t)(a->set_off[q + 1] - a->set_off[q]), lhs,
                                  len - 1) == 0) {
                        cl = a->set_count[q];
                        break;
                    }
                }
            } else
                cl = tree_support(t, rank_of, lhs, len - 1, mark);
            if (cl == 0) {
                rc = promo_fail(PROMO_EINTERNAL, "association rules: a subset of a frequent "
                                                 "itemset was not counted");
                break;
            }
            double conf = (double)a->set_count[i] / (double)cl;
            double srhs = (double)a->item_count[s[j]] / nb;
            double lift = conf / srhs;
            if (conf < p->min_confidence * (1 - 1e-12) || lift < p->min_lift * (1 - 1e-12))
                continue;
            if (promo_grow((void **)&a->rules, &cap_rules, a->n_rules + 1, sizeof *a->rules) ||
                promo_grow((void **)&a->rule_items, &cap_items, n_items + len - 1,
                           sizeof *a->rule_items)) {
                rc = PROMO_ENOMEM;
                break;
            }
            memcpy(a->rule_items + n_items, lhs, (len - 1) * sizeof *lhs);
            a->rules[a->n_rules++] =
                (promo_assoc_rule){.lhs_off = n_items,
                                   .lhs_len = len - 1,
                                   .rhs = s[j],
                                   .count = a->set_count[i],
                                   .support = (double)a->set_count[i] / nb,
                                   .coverage = (double)cl / nb,
                                   .confidence = conf,
                                   .lift = lift,
                                   .conviction = conf >= 1 ? INFINITY : (1 - srhs) / (1 - conf)};
            n_items += len - 1;
        }
    }
    if (!rc && a->n_rules)
        qsort_r(a->rules, a->n_rules, sizeof *a->rules, cmp_rule, a->rule_items);
    promo_free(slot);
    promo_free(mark);
    promo_free(lhs);
    return rc;
}

int promo_assoc_mine(const promo_assoc_params *p, const promo_baskets *b, promo_assoc **out)
{
    if (!p || !b || !out || (b->n && (!b->ptr || (!b->item && b->ptr[b->n]))))
        return promo_fail(PROMO_EUSAGE, "promo_assoc_mine: NULL argument");
    *out = NULL;
    if (!(p->min_support > 0 && p->min_support <= 1))
        return promo_fail(PROMO_EUSAGE, "--min-support: expected a fraction in (0, 1], got %g",
                          p->min_support);
    if (!(p->min_confidence >= 0 && p->min_confidence <= 1))
        return promo_fail(PROMO_EUSAGE, "--min-confidence: expected a number in [0, 1], got %g",
                          p->min_confidence);
    if (!(p->min_lift >= 0) || !isfinite(p->min_lift))
        return promo_fail(PROMO_EUSAGE, "--min-lift: expected a finite number >= 0, got %g",
                          p->min_lift);
    if (p->max_len < 1 || p->max_len > 64)
        return promo_fail(PROMO_EUSAGE, "--max-len: expected 1 to 64, got %d", p->max_len);
    if (p->rhs_only >= (int64_t)b->n_items)
        return promo_fail(PROMO_EUSAGE, "association rules: rhs item %lld out of range",
                          (long long)p->rhs_only);
    promo_assoc *a = promo_calloc(1, sizeof *a);
    uint64_t *seen = promo_calloc(b->n_items ? b->n_items : 1, sizeof *seen);
    uint32_t *rank_of = promo_mallocn(b->n_items ? b->n_items : 1, sizeof *rank_of);
    uint32_t *by_rank = promo_mallocn(b->n_items ? b->n_items : 1, sizeof *by_rank);
    fp_tree t = {0};
    paths ps = {0};
    found *fs = NULL;
    int n_threads = p->n_threads > 0 ? p->n_threads : omp_get_max_threads();
    int rc = a && seen && rank_of && by_rank ? PROMO_OK : PROMO_ENOMEM;
    if (rc)
        goto fail;
    a->n_baskets = b->n;
    a->n_items = b->n_items;
    if (!(a->item_count = promo_calloc(b->n_items ? b->n_items : 1, sizeof *a->item_count))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    /* Item supports, each item once per basket (seen holds basket + 1). */
    for (size_t i = 0; i < b->n; i++)
        for (uint64_t k = b->ptr[i]; k < b->ptr[i + 1]; k++) {
            uint32_t it = b->item[k];
            if (it >= b->n_items) {
                rc = promo_fail(PROMO_EUSAGE, "basket %zu: item %u out of range (%u items)", i, it,
                                b->n_items);
                goto fail;
            }
            if (seen[it] != i + 1) {
                seen[it] = i + 1;
                a->item_count[it]++;
            }
        }
    double want = ceil(p->min_support * (double)b->n * (1 - 1e-12));
    miner m = {.minsup = want < 1 ? 1 : (uint64_t)want,
               .max_len = p->max_len,
               .max_itemsets = p->max_itemsets ? p->max_itemsets : SIZE_MAX};
    atomic_init(&m.n_found, 0);
    atomic_init(&m.stop, 0);
    uint32_t n_freq = 0;
    for (uint32_t it = 0; it < b->n_items; it++)
        if (a->item_count[it] >= m.minsup)
            by_rank[n_freq++] = it;
    /* Most frequent first (ties by id): shared prefixes, a small tree. An item's conditional
     * tree holds only the items ranked before it, so the one rhs asked for goes last: its
     * conditional tree is then every itemset that holds it. */
    for (uint32_t x = 1; x < n_freq; x++)
        for (uint32_t y = x; y > 0 && a->item_count[by_rank[y]] > a->item_count[by_rank[y - 1]];
             y--) {
            uint32_t tmp = by_rank[y];
            by_rank[y] = by_rank[y - 1];
            by_rank[y - 1] = tmp;
        }
    for (uint32_t x = 0; p->rhs_only >= 0 && x + 1 < n_freq; x++)
        if (by_rank[x] == (uint32_t)p->rhs_only) {
            memmove(by_rank + x, by_rank + x + 1, (n_freq - x - 1) * sizeof *by_rank);
            by_rank[n_freq - 1] = (uint32_t)p->rhs_only;
            break;
        }
    for (uint32_t it = 0; it < b->n_items; it++)
        rank_of[it] = ROOT;
    for (uint32_t r = 0; r < n_freq; r++)
        rank_of[by_rank[r]] = r;
    /* One path per basket: its frequent items' ranks, once each, ascending. */
    size_t total = 0;
    memset(seen, 0, (b->n_items ? b->n_items : 1) * sizeof *seen);
    ps.n = b->n;
    ps.off = promo_mallocn(b->n + 1, sizeof *ps.off);
    ps.cnt = promo_mallocn(b->n ? b->n : 1, sizeof *ps.cnt);
    ps.items = promo_mallocn(b->n ? b->ptr[b->n] + 1 : 1, sizeof *ps.items);
    if (!ps.off || !ps.cnt || !ps.items) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < b->n; i++) {
        ps.off[i] = total;
        ps.cnt[i] = 1;
        for (uint64_t k = b->ptr[i]; k < b->ptr[i + 1]; k++) {
            uint32_t it = b->item[k];
            if (rank_of[it] != ROOT && seen[it] != i + 1) {
                seen[it] = i + 1;
                ps.items[total++] = rank_of[it];
            }
        }
        qsort(ps.items + ps.off[i], total - ps.off[i], sizeof *ps.items, cmp_u32);
    }
    ps.off[b->n] = total;
    ps.n_items_total = total;
    t.n_items = n_freq;
    t.global = promo_mallocn(n_freq ? n_freq : 1, sizeof *t.global);
    t.item_count = promo_mallocn(n_freq ? n_freq : 1, sizeof *t.item_count);
    if (!t.global || !t.item_count) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (uint32_t r = 0; r < n_freq; r++) {
        t.global[r] = by_rank[r];
        t.item_count[r] = a->item_count[by_rank[r]];
    }
    if ((rc = tree_build(&t, &ps)))
        goto fail;
    promo_free(ps.items);
    ps.items = NULL;

    /* Each frequent item's conditional tree is independent of the others': one task each. */
    if (!(fs = promo_calloc((size_t)n_threads, sizeof *fs))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    int64_t first = 0, last = n_freq;
    if (p->rhs_only >= 0) {
        first = rank_of[p->rhs_only] == ROOT ? 0 : rank_of[p->rhs_only];
        last = rank_of[p->rhs_only] == ROOT ? 0 : first + 1;
    }
    atomic_int err;
    atomic_init(&err, 0);
#pragma omp parallel num_threads(n_threads)
    {
        uint32_t suffix[65];
        found *f = &fs[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = last - 1; i >= first; i--) {
            if (atomic_load(&err))
                continue;
            int e = mine_item(&m, f, &t, (uint32_t)i, suffix, 0);
            if (e) {
                int zero = 0;
                atomic_compare_exchange_strong(&err, &zero, e);
                atomic_store(&m.stop, 1);
            }
        }
    }
    if ((rc = atomic_load(&err))) {
        if (atomic_load(&m.n_found) > m.max_itemsets)
            rc = promo_fail(PROMO_EUSAGE,
                            "association rules: more than %zu frequent itemsets at support %g "
                            "(%llu of %zu baskets); raise --min-support or lower --max-len",
                            m.max_itemsets, p->min_support, (unsigned long long)m.minsup, b->n);
        else if (rc == PROMO_ENOMEM)
            rc = promo_fail(PROMO_ENOMEM,
                            "association rules: out of memory at support %g; "
                            "raise --min-support or lower --max-len",
                            p->min_support);
        goto fail;
    }
    if ((rc = collect_sets(a, fs, n_threads)) || (rc = make_rules(a, p, &t, rank_of)))
        goto fail;
    *out = a;
    a = NULL;
fail:
    for (int k = 0; fs && k < n_threads; k++) {
        promo_free(fs[k].items);
        promo_free(fs[k].len);
        promo_free(fs[k].count);
    }
    promo_free(fs);
    promo_free(ps.items);
    promo_free(ps.off);
    promo_free(ps.cnt);
    tree_free(&t);
    promo_free(seen);
    promo_free(rank_of);
    promo_free(by_rank);
    promo_assoc_free(a);
    return rc;
}

void promo_assoc_free(promo_assoc *a)
{
    if (!a)
        return;
    promo_free(a->item_count);
    promo_free(a->set_items);
    promo_free(a->set_off);
    promo_free(a->set_count);
    promo_free(a->rules);
    promo_free(a->rule_items);
    promo_free(a);
}

size_t promo_assoc_n_baskets(const promo_assoc *a)
{
    return a->n_baskets;
}

uint64_t promo_assoc_item_count(const promo_assoc *a, uint32_t item)
{
    return item < a->n_items ? a->item_count[item] : 0;
}

size_t promo_assoc_n_itemsets(const promo_assoc *a)
{
    return a->n_sets;
}

const uint32_t *promo_assoc_itemset(const promo_assoc *a, size_t k, uint32_t *len, uint64_t *count)
{
    if (k >= a->n_sets)
        return NULL;
    if (len)
        *len = (uint32_t)(a->set_off[k + 1] - a->set_off[k]);
    if (count)
        *count = a->set_count[k];
    return a->set_items + a->set_off[k];
}

size_t promo_assoc_n_rules(const promo_assoc *a)
{
    return a->n_rules;
}

const promo_assoc_rule *promo_assoc_rule_at(const promo_assoc *a, size_t r)
{
    return r < a->n_rules ? &a->rules[r] : NULL;
}

const uint32_t *promo_assoc_rule_lhs(const promo_assoc *a, size_t r)
{
    return r < a->n_rules ? a->rule_items + a->rules[r].lhs_off : NULL;
}
