/* Uplift trees and forests (include/promo/uplift_tree.h).
 *
 * Layout: the features are binned once into a column-major d x n uint8 matrix (code 0 = NaN,
 * codes 1..nb[f] the value bins, upper edges edge[f][0..nb[f]-2]): a histogram pass reads one
 * feature's column (n bytes, cache-resident at 150k rows) per chosen feature, where row-major
 * codes cost a cache miss per row and feature. A tree is grown depth first
 * over an array of row indices partitioned in place; at each node one histogram per chosen
 * feature holds, per code and arm, (rows, sum w, sum w y), and every "code <= b" cut is scored
 * from prefix sums. Each tree owns its index arrays, histograms and RNG stream and is grown by
 * a single thread, so the forest does not depend on the thread count; the data (x, the codes,
 * arm, y, w) are shared read-only.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/rng.h>
#include <promo/uplift_tree.h>

#define BIN_SAMPLE 100000 /* rows sampled per feature to place the bin edges */

typedef struct node {
    int32_t feature; /* -1: leaf */
    int32_t bin;     /* code <= bin goes left */
    float thr;       /* the same test on raw values: NaN, or bin > 0 and x <= thr */
    int32_t left, right;
    int32_t parent;
    float *effect; /* leaf: n_arms - 1 effects (into the tree's value array) */
} node;

typedef struct utree {
    node *nodes;
    size_t n_nodes, cap;
    float *values; /* n_nodes x (n_arms - 1), filled for leaves */
} utree;

struct promo_uplift_forest {
    promo_uplift_tree_params p;
    size_t d;
    int n_arms;
    int n_trees;
    int n_codes;  /* 1 + the largest nb: histogram rows per feature */
    int *nb;      /* d: value bins per feature */
    float **edge; /* d: nb[f] - 1 upper edges */
    utree *trees;
    double *importance; /* d */
};

/* Per-arm sums of one node side: rows, sum of weights, sum of weighted outcomes. */
typedef struct acc {
    double n, sw, swy;
} acc;

/* What one growing tree owns. */
typedef struct grower {
    const promo_uplift_forest *f;
    const promo_uplift_data *data;
    const uint8_t *codes;
    promo_rng rng;
    int *feat_perm;    /* d */
    size_t n_feat;     /* features drawn per split */
    acc *hist;         /* n_feat x n_codes x n_arms */
    uint32_t *scratch; /* m: the right child's rows while partitioning */
    acc *tot;          /* n_arms */
    acc *lt;           /* n_arms */
    acc *rt;           /* n_arms */
    acc *stats;        /* per node n_arms (grown with the tree) */
    size_t stats_cap;
    double *imp; /* d */
    utree *t;
    double n_root; /* rows at the root (share weights of the gain) */
} grower;

const char *promo_uplift_split_name(promo_uplift_split s)
{
    static const char *names[] = {"kl", "ed", "chi", "cts"};
    return (unsigned)s < PROMO_SPLIT_COUNT ? names[s] : NULL;
}

promo_uplift_tree_params promo_uplift_tree_params_default(void)
{
    promo_uplift_tree_params p;
    memset(&p, 0, sizeof p);
    p.split = PROMO_SPLIT_ED;
    p.max_depth = 6;
    p.min_leaf = 100;
    p.n_trees = 100;
    p.max_features = 0.0;
    p.subsample = 1.0;
    p.honest = 0;
    p.max_bins = 64;
    p.seed = 42;
    p.n_threads = 0;
    return p;
}

/* ---- binning ---- */

/* Sort m non-NaN floats ascending: LSD radix sort on order-preserving 32-bit keys (qsort with a
 * comparator dominated binning at 220 features). tmp has room for m floats. */
static void sort_floats(float *v, float *tmp, size_t m)
{
    uint32_t *a = (uint32_t *)(void *)v, *b = (uint32_t *)(void *)tmp;
    for (size_t i = 0; i < m; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        a[i] = u & 0x80000000u ? ~u : u | 0x80000000u;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        size_t cnt[257] = {0};
        for (size_t i = 0; i < m; i++)
            cnt[((a[i] >> shift) & 255) + 1]++;
        for (int c = 0; c < 256; c++)
            cnt[c + 1] += cnt[c];
        for (size_t i = 0; i < m; i++)
            b[cnt[(a[i] >> shift) & 255]++] = a[i];
        uint32_t *t = a;
        a = b;
        b = t;
    }
    /* four passes: the result is back in v */
    for (size_t i = 0; i < m; i++) {
        uint32_t u = a[i] & 0x80000000u ? a[i] & 0x7fffffffu : ~a[i];
        memcpy(&v[i], &u, 4);
    }
}

/* Code of value v in feature f: 0 for NaN, else 1 + the first edge >= v. */
static inline uint8_t bin_code(const float *edge, int nb, float v)
{
    if (isnan(v))
        return 0;
    /* branchless lower bound: the number of edges < v, in 0..nb-1 (binning is dominated by this
     * search, whose branches a CPU cannot predict) */
    size_t len = (size_t)nb - 1;
    if (len == 0)
        return 1;
    const float *base = edge;
    while (len > 1) {
        size_t half = len / 2;
        base = base[half] < v ? base + half : base;
        len -= half;
    }
    return (uint8_t)(1 + (base - edge) + (*base < v));
}

#define BIN_GROUP 16 /* features sampled per pass over the rows: one cache line of x */

/* Quantile edges from the m sampled non-NaN values of one feature in buf (sorted here, tmp
 * has room for m); edge for max_bins - 2. Returns the number of value bins (>= 1). */
static int bin_feature(float *buf, size_t m, int max_vbins, float *tmp, float *edge)
{
    if (m == 0)
        return 1;
    sort_floats(buf, tmp, m);
    /* distinct values: if few, each gets its own bin */
    size_t n_distinct = 1;
    for (size_t i = 1; i < m; i++)
        n_distinct += buf[i] != buf[i - 1];
    int ne = 0;
    if (n_distinct <= (size_t)max_vbins) {
        for (size_t i = 0; i + 1 < m; i++)
            if (buf[i] != buf[i + 1])
                edge[ne++] = buf[i];
    } else {
        for (int k = 1; k < max_vbins; k++) {
            float v = buf[(size_t)((double)k * (double)m / max_vbins)];
            if (v == buf[m - 1])
                break; /* the top bin holds the rest */
            if (ne == 0 || v > edge[ne - 1])
                edge[ne++] = v;
        }
    }
    return ne + 1;
}

/* ---- criteria ---- */

#define PCLIP 1e-6

static double clip01(double p)
{
    return p < PCLIP ? PCLIP : p > 1.0 - PCLIP ? 1.0 - PCLIP : p;
}

/* Divergence between treatment mean/probability t and control c. */
static double divergence(promo_uplift_split s, int binary, double t, double c)
{
    double dd = t - c;
    switch (s) {
    case PROMO_SPLIT_KL: {
        double q = clip01(c);
        double r = 0.0;
        if (t > 0)
            r += t * log2(t / q);
        if (t < 1)
            r += (1 - t) * log2((1 - t) / (1 - q));
        return r;
    }
    case PROMO_SPLIT_ED:
        return binary ? 2.0 * dd * dd : dd * dd;
    case PROMO_SPLIT_CHI: {
        double q = clip01(c);
        return dd * dd / q + dd * dd / (1 - q);
    }
    default:
        return 0.0;
    }
}

static double mean_of(const acc *a)
{
    return a->sw > 0 ? a->swy / a->sw : 0.0;
}

/* The node-level value: for KL/ED/chi the mean divergence of the treatments from control,
 * for CTS the best arm's mean. */
static double node_value(promo_uplift_split s, int binary, const acc *a, int k)
{
    if (s == PROMO_SPLIT_CTS) {
        double best = -INFINITY;
        for (int j = 0; j < k; j++)
            if (a[j].sw > 0 && mean_of(&a[j]) > best)
                best = mean_of(&a[j]);
        return best;
    }
    double c = mean_of(&a[0]), r = 0.0;
    for (int j = 1; j < k; j++)
        r += divergence(s, binary, mean_of(&a[j]), c);
    return r / (k - 1);
}

static double entropy2(double p)
{
    double r = 0.0;
    if (p > 0)
        r -= p * log2(p);
    if (p < 1)
        r -= (1 - p) * log2(1 - p);
    return r;
}

static double gini2(double p)
{
    return 1.0 - p * p - (1 - p) * (1 - p);
}

/* R&J's normaliser for a binary test, treatments pooled (alpha = 1): with P(A) the left share
 * within a group, I = H(N^T/N) D(P^T(A):P^C(A)) + sum_i N^Ti/N H(P^Ti(A)) + N^C/N H(P^C(A))
 * + 1/2, H entropy and D KL for KL, Gini and ED for ED and chi-square. */
static double normaliser(promo_uplift_split s, const acc *l, const acc *r, int k)
{
    double swt = 0, swtl = 0, sw = 0;
    for (int j = 0; j < k; j++) {
        sw += l[j].sw + r[j].sw;
        if (j > 0) {
            swt += l[j].sw + r[j].sw;
            swtl += l[j].sw;
        }
    }
    double swc = l[0].sw + r[0].sw;
    double pt = swt / sw, pat = swtl / swt, pac = l[0].sw / swc;
    int kl = s == PROMO_SPLIT_KL;
    double i = kl ? entropy2(pt) * divergence(PROMO_SPLIT_KL, 1, pat, pac)
                  : gini2(pt) * divergence(PROMO_SPLIT_ED, 1, pat, pac);
    for (int j = 1; j < k; j++) {
        double nj = l[j].sw + r[j].sw, pa = l[j].sw / nj;
        i += nj / sw * (kl ? entropy2(pa) : gini2(pa));
    }
    i += swc / sw * (kl ? entropy2(pac) : gini2(pac));
    return i + 0.5;
}

/* ---- growing ---- */

static int tree_add(grower *g, int32_t parent)
{
    utree *t = g->t;
    int k = g->f->n_arms;
    if (t->n_nodes == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        node *nn = promo_reallocn(t->nodes, cap, sizeof *nn);
        if (!nn)
            return -1;
        t->nodes = nn;
        acc *st = promo_reallocn(g->stats, cap * (size_t)k, sizeof *st);
        if (!st)
            return -1;
        g->stats = st;
        t->cap = cap;
    }
    node *nd = &t->nodes[t->n_nodes];
    nd->feature = -1;
    nd->bin = 0;
    nd->left = nd->right = -1;
    nd->parent = parent;
    nd->effect = NULL;
    memset(g->stats + t->n_nodes * (size_t)k, 0, (size_t)k * sizeof(acc));
    return (int)t->n_nodes++;
}

static void sums(const grower *g, const uint32_t *idx, size_t m, acc *out)
{
    const promo_uplift_data *D = g->data;
    int k = g->f->n_arms;
    memset(out, 0, (size_t)k * sizeof *out);
    for (size_t r = 0; r < m; r++) {
        uint32_t i = idx[r];
        double w = D->w ? D->w[i] : 1.0;
        acc *a = &out[D->arm[i]];
        a->n += 1;
        a->sw += w;
        a->swy += w * D->y[i];
    }
}

/* Grow node `id` over rows idx[0..m). */
static int grow(grower *g, int id, uint32_t *idx, size_t m, int depth)
{
    const promo_uplift_forest *f = g->f;
    const promo_uplift_data *D = g->data;
    const promo_uplift_tree_params *p = &f->p;
    int k = f->n_arms;
    size_t d = f->d;
    acc *tot = g->tot;
    sums(g, idx, m, tot);
    memcpy(g->stats + (size_t)id * (size_t)k, tot, (size_t)k * sizeof *tot);
    if (depth >= p->max_depth)
        return 0;
    for (int j = 0; j < k; j++)
        if (tot[j].n < 2.0 * (double)p->min_leaf)
            return 0;

    /* the features of this split: a partial Fisher-Yates shuffle of the tree's permutation */
    size_t nf = g->n_feat;
    if (nf < d)
        for (size_t j = 0; j < nf; j++) {
            size_t r = j + (size_t)promo_rng_below(&g->rng, d - j);
            int tmp = g->feat_perm[j];
            g->feat_perm[j] = g->feat_perm[r];
            g->feat_perm[r] = tmp;
        }
    size_t hk = (size_t)f->n_codes * (size_t)k;
    memset(g->hist, 0, nf * hk * sizeof *g->hist);
    const uint8_t *codes = g->codes;
    size_t n = D->n;
    const int32_t *arm = D->arm;
    const float *y = D->y, *wt = D->w;
    /* rows ascending: arm, y and the column are read forwards (no per-node gathered copy, so
     * a tree in flight costs 8 bytes per sampled row) */
    for (size_t j = 0; j < nf; j++) {
        const uint8_t *col = codes + (size_t)g->feat_perm[j] * n;
        acc *hj = g->hist + j * hk;
        if (wt)
            for (size_t r = 0; r < m; r++) {
                uint32_t i = idx[r];
                acc *h = &hj[(size_t)col[i] * (size_t)k + (size_t)arm[i]];
                h->n += 1;
                h->sw += wt[i];
                h->swy += (double)wt[i] * y[i];
            }
        else
            for (size_t r = 0; r < m; r++) {
                uint32_t i = idx[r];
                acc *h = &hj[(size_t)col[i] * (size_t)k + (size_t)arm[i]];
                h->n += 1;
                h->sw += 1.0;
                h->swy += y[i];
            }
    }

    double parent_val = node_value(p->split, D->binary, tot, k);
    double sw_node = 0;
    for (int j = 0; j < k; j++)
        sw_node += tot[j].sw;
    double best = 1e-12, best_raw = 0;
    int best_f = -1, best_b = -1;
    acc *lt = g->lt, *rt = g->rt;
    for (size_t j = 0; j < nf; j++) {
        int fe = g->feat_perm[j];
        const acc *h = g->hist + j * hk;
        memset(lt, 0, (size_t)k * sizeof *lt);
        for (int b = 0; b < f->nb[fe]; b++) { /* cut after code b; the last code has no cut */
            int ok = 1;
            for (int a = 0; a < k; a++) {
                lt[a].n += h[(size_t)b * k + a].n;
                lt[a].sw += h[(size_t)b * k + a].sw;
                lt[a].swy += h[(size_t)b * k + a].swy;
                rt[a].n = tot[a].n - lt[a].n;
                rt[a].sw = tot[a].sw - lt[a].sw;
                rt[a].swy = tot[a].swy - lt[a].swy;
                if (lt[a].n < (double)p->min_leaf || rt[a].n < (double)p->min_leaf ||
                    lt[a].sw <= 0 || rt[a].sw <= 0)
                    ok = 0;
            }
            if (!ok)
                continue;
            double swl = 0;
            for (int a = 0; a < k; a++)
                swl += lt[a].sw;
            double sl = swl / sw_node;
            double after = sl * node_value(p->split, D->binary, lt, k) +
                           (1 - sl) * node_value(p->split, D->binary, rt, k);
            double raw = after - parent_val;
            double gain = p->split == PROMO_SPLIT_CTS ? raw : raw / normaliser(p->split, lt, rt, k);
            if (gain > best) {
                best = gain;
                best_raw = raw;
                best_f = fe;
                best_b = b;
            }
        }
    }
    if (best_f < 0)
        return 0;
    g->imp[best_f] += best_raw * (double)m / g->n_root;

    /* stable partition (code <= best_b to the front): rows stay in ascending order, so the
     * column reads of the children's histograms move forward through memory */
    const uint8_t *bcol = codes + (size_t)best_f * n;
    size_t lo = 0, nr = 0;
    for (size_t r = 0; r < m; r++) {
        uint32_t i = idx[r];
        if (bcol[i] <= best_b)
            idx[lo++] = i;
        else
            g->scratch[nr++] = i;
    }
    memcpy(idx + lo, g->scratch, nr * sizeof *idx);
    int l = tree_add(g, id), r;
    if (l < 0)
        return PROMO_ENOMEM;
    r = tree_add(g, id);
    if (r < 0)
        return PROMO_ENOMEM;
    node *nd = &g->t->nodes[id];
    nd->feature = best_f;
    nd->bin = best_b;
    nd->thr = best_b > 0 ? f->edge[best_f][best_b - 1] : -INFINITY;
    nd->left = l;
    nd->right = r;
    int rc = grow(g, l, idx, lo, depth + 1);
    if (rc)
        return rc;
    return grow(g, r, idx + lo, m - lo, depth + 1);
}

/* Honest estimation: recompute every node's sums from the estimation rows. */
static void refill(grower *g, const uint32_t *idx, size_t m)
{
    const promo_uplift_data *D = g->data;
    const utree *t = g->t;
    int k = g->f->n_arms;
    size_t n = D->n;
    memset(g->stats, 0, t->n_nodes * (size_t)k * sizeof *g->stats);
    for (size_t r = 0; r < m; r++) {
        uint32_t i = idx[r];
        double w = D->w ? D->w[i] : 1.0;
        int nid = 0;
        for (;;) {
            acc *a = &g->stats[(size_t)nid * (size_t)k + (size_t)D->arm[i]];
            a->n += 1;
            a->sw += w;
            a->swy += w * D->y[i];
            const node *nd = &t->nodes[nid];
            if (nd->feature < 0)
                break;
            nid = g->codes[(size_t)nd->feature * n + i] <= nd->bin ? nd->left : nd->right;
        }
    }
}

/* Leaf effects from the node sums, an arm (or control) without weight in a leaf borrowing
 * the nearest ancestor's mean. */
static int leaf_values(grower *g)
{
    utree *t = g->t;
    int k = g->f->n_arms;
    t->values = promo_mallocn(t->n_nodes * (size_t)(k - 1), sizeof(float));
    if (!t->values)
        return PROMO_ENOMEM;
    for (size_t id = 0; id < t->n_nodes; id++) {
        node *nd = &t->nodes[id];
        if (nd->feature >= 0)
            continue;
        nd->effect = t->values + id * (size_t)(k - 1);
        double mean[256];
        for (int a = 0; a < k; a++) {
            int32_t q = (int32_t)id;
            while (q >= 0 && g->stats[(size_t)q * (size_t)k + (size_t)a].sw <= 0)
                q = t->nodes[q].parent;
            mean[a] = q >= 0 ? mean_of(&g->stats[(size_t)q * (size_t)k + (size_t)a]) : 0.0;
        }
        for (int a = 1; a < k; a++)
            nd->effect[a - 1] = (float)(mean[a] - mean[0]);
    }
    return 0;
}

/* Sort row indices ascending (LSD radix, 16-bit digits); tmp has room for m. */
static int sort_rows(uint32_t *v, size_t m, uint32_t *tmp)
{
    uint32_t *a = v, *b = tmp;
    size_t *cnt = promo_calloc(65537, sizeof *cnt);
    if (!cnt)
        return PROMO_ENOMEM;
    for (int shift = 0; shift < 32; shift += 16) {
        memset(cnt, 0, 65537 * sizeof *cnt);
        for (size_t i = 0; i < m; i++)
            cnt[((a[i] >> shift) & 65535) + 1]++;
        for (size_t c = 0; c < 65536; c++)
            cnt[c + 1] += cnt[c];
        for (size_t i = 0; i < m; i++)
            b[cnt[(a[i] >> shift) & 65535]++] = a[i];
        uint32_t *t = a;
        a = b;
        b = t;
    }
    promo_free(cnt); /* two passes: the result is back in v */
    return 0;
}

/* Grow tree number ti. */
static int grow_tree(const promo_uplift_forest *f,
                     const promo_uplift_data *D,
                     const uint8_t *codes,
                     int ti,
                     utree *t,
                     double *imp)
{
    const promo_uplift_tree_params *p = &f->p;
    size_t n = D->n, d = f->d;
    int k = f->n_arms, rc = PROMO_ENOMEM;
    grower g;
    memset(&g, 0, sizeof g);
    g.f = f;
    g.data = D;
    g.codes = codes;
    g.t = t;
    g.imp = imp;
    promo_rng_init(&g.rng, p->seed, (uint64_t)ti + 1);
    int single = f->n_trees == 1;
    double mfs = p->max_features > 0 ? p->max_features : single ? 1.0 : sqrt((double)d) / (double)d;
    g.n_feat = (size_t)(mfs * (double)d + 0.5);
    if (g.n_feat < 1)
        g.n_feat = 1;
    if (g.n_feat > d)
        g.n_feat = d;

    size_t m = single ? n : (size_t)(p->subsample * (double)n + 0.5);
    if (m < 1)
        m = 1;
    if (m > n && (single || p->honest))
        m = n;
    uint32_t *idx = promo_mallocn(m, sizeof *idx);
    g.feat_perm = promo_mallocn(d, sizeof *g.feat_perm);
    g.hist = promo_mallocn(g.n_feat * (size_t)f->n_codes * (size_t)k, sizeof *g.hist);
    g.scratch = promo_mallocn(m, sizeof *g.scratch);
    g.tot = promo_mallocn((size_t)k * 3, sizeof *g.tot);
    uint32_t *perm = NULL;
    if (!idx || !g.feat_perm || !g.hist || !g.tot || !g.scratch)
        goto fail;
    g.lt = g.tot + k;
    g.rt = g.tot + 2 * k;
    for (size_t j = 0; j < d; j++)
        g.feat_perm[j] = (int)j;

    if (single && !p->honest) {
        for (size_t i = 0; i < n; i++)
            idx[i] = (uint32_t)i;
    } else if (single || p->honest) {
        /* without replacement: the first m of a random permutation (shuffled in idx itself
         * when every row is drawn) */
        uint32_t *pa = idx;
        if (m < n) {
            perm = promo_mallocn(n, sizeof *perm);
            if (!perm)
                goto fail;
            pa = perm;
        }
        for (size_t i = 0; i < n; i++)
            pa[i] = (uint32_t)i;
        for (size_t i = 0; i < m; i++) {
            size_t r = i + (size_t)promo_rng_below(&g.rng, n - i);
            uint32_t tmp = pa[i];
            pa[i] = pa[r];
            pa[r] = tmp;
        }
        if (perm) {
            memcpy(idx, perm, m * sizeof *idx);
            promo_free(perm);
            perm = NULL;
        }
    } else {
        for (size_t i = 0; i < m; i++)
            idx[i] = (uint32_t)promo_rng_below(&g.rng, n);
    }
    /* ascending rows (each half separately when honest): see the partition in grow() */
    if (!(single && !p->honest)) {
        size_t h = p->honest ? m / 2 : m;
        if (sort_rows(idx, h, g.scratch) || sort_rows(idx + h, m - h, g.scratch))
            goto fail;
    }
    size_t m_split = p->honest ? m / 2 : m;
    g.n_root = (double)m_split;
    if (tree_add(&g, -1) < 0)
        goto fail;
    rc = grow(&g, 0, idx, m_split, 0);
    if (rc)
        goto fail;
    if (p->honest)
        refill(&g, idx + m_split, m - m_split);
    rc = leaf_values(&g);
    if (rc)
        goto fail;
    rc = 0;
    goto done;
fail:
    if (!rc)
        rc = PROMO_ENOMEM;
done:
    promo_free(idx);
    promo_free(perm);
    promo_free(g.feat_perm);
    promo_free(g.hist);
    promo_free(g.scratch);
    promo_free(g.tot);
    promo_free(g.stats);
    return rc;
}

/* ---- checks ---- */

static int check_params(const promo_uplift_tree_params *p)
{
    if (!p)
        return promo_fail(PROMO_EUSAGE, "uplift tree: NULL parameters");
    if ((unsigned)p->split >= PROMO_SPLIT_COUNT)
        return promo_fail(PROMO_EUSAGE, "uplift tree: unknown split criterion %d", (int)p->split);
    if (p->max_depth < 0 || p->max_depth > 64)
        return promo_fail(PROMO_EUSAGE, "uplift tree: max_depth %d outside 0..64", p->max_depth);
    if (p->min_leaf < 1)
        return promo_fail(PROMO_EUSAGE, "uplift tree: min_leaf must be >= 1");
    if (p->n_trees < 1)
        return promo_fail(PROMO_EUSAGE, "uplift tree: n_trees %d < 1", p->n_trees);
    if (!(p->max_features >= 0.0 && p->max_features <= 1.0))
        return promo_fail(PROMO_EUSAGE, "uplift tree: max_features %g outside [0, 1]",
                          p->max_features);
    if (!(p->subsample > 0.0 && p->subsample <= 1.0))
        return promo_fail(PROMO_EUSAGE, "uplift tree: subsample %g outside (0, 1]", p->subsample);
    if (p->max_bins < 2 || p->max_bins > 256)
        return promo_fail(PROMO_EUSAGE, "uplift tree: max_bins %d outside 2..256", p->max_bins);
    if (p->n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "uplift tree: n_threads %d < 0", p->n_threads);
    return 0;
}

static int check_data(const promo_uplift_tree_params *p, const promo_uplift_data *D)
{
    if (!D || !D->x || !D->arm || !D->y)
        return promo_fail(PROMO_EUSAGE, "uplift tree: NULL data");
    if (D->n == 0 || D->d == 0)
        return promo_fail(PROMO_EUSAGE, "uplift tree: no data (n %zu, d %zu)", D->n, D->d);
    if (D->n >= UINT32_MAX)
        return promo_fail(PROMO_EUSAGE, "uplift tree: %zu rows, at most %u", D->n, UINT32_MAX - 1);
    if (D->d > INT32_MAX)
        return promo_fail(PROMO_EUSAGE, "uplift tree: %zu columns", D->d);
    if (D->n_arms < 2 || D->n_arms > 256)
        return promo_fail(PROMO_EUSAGE, "uplift tree: n_arms %d outside 2..256", D->n_arms);
    if (!D->binary && (p->split == PROMO_SPLIT_KL || p->split == PROMO_SPLIT_CHI))
        return promo_fail(PROMO_EUSAGE,
                          "uplift tree: the %s criterion needs a binary outcome (use ed or cts)",
                          promo_uplift_split_name(p->split));
    size_t seen[256] = {0};
    for (size_t i = 0; i < D->n; i++) {
        int32_t a = D->arm[i];
        if (a < 0 || a >= D->n_arms)
            return promo_fail(PROMO_EINPUT, "uplift tree: row %zu: arm %d outside 0..%d", i, (int)a,
                              D->n_arms - 1);
        seen[a]++;
        float y = D->y[i];
        if (!isfinite(y) || (D->binary && y != 0.0f && y != 1.0f))
            return promo_fail(PROMO_EINPUT, "uplift tree: row %zu: outcome %g is not %s", i,
                              (double)y, D->binary ? "0 or 1" : "a finite number");
        if (D->w && !(isfinite(D->w[i]) && D->w[i] >= 0.0f))
            return promo_fail(PROMO_EINPUT,
                              "uplift tree: row %zu: weight %g is not a finite "
                              "number >= 0",
                              i, (double)D->w[i]);
    }
    for (int a = 0; a < D->n_arms; a++)
        if (!seen[a])
            return promo_fail(PROMO_EINPUT, "uplift tree: arm %d has no rows", a);
    return 0;
}

static int n_threads_of(int n)
{
    return n > 0 ? n : omp_get_max_threads();
}

/* ---- public ---- */

int promo_uplift_forest_fit(const promo_uplift_tree_params *p,
                            const promo_uplift_data *D,
                            promo_uplift_forest **out)
{
    if (!out)
        return promo_fail(PROMO_EUSAGE, "uplift tree: NULL output");
    *out = NULL;
    int rc = check_params(p);
    if (rc)
        return rc;
    rc = check_data(p, D);
    if (rc)
        return rc;
    size_t n = D->n, d = D->d;
    int nt = n_threads_of(p->n_threads);
    uint8_t *codes = NULL;
    float *bufs = NULL;
    int *errs = NULL;
    promo_uplift_forest *f = promo_calloc(1, sizeof *f);
    if (!f)
        return PROMO_ENOMEM;
    f->p = *p;
    f->d = d;
    f->n_arms = D->n_arms;
    f->n_trees = p->n_trees;
    f->nb = promo_calloc(d, sizeof *f->nb);
    f->edge = promo_calloc(d, sizeof *f->edge);
    f->trees = promo_calloc((size_t)p->n_trees, sizeof *f->trees);
    f->importance = promo_calloc(d, sizeof *f->importance);
    if (!f->nb || !f->edge || !f->trees || !f->importance)
        goto fail;
    int max_vbins = p->max_bins - 1;
    for (size_t j = 0; j < d; j++) {
        f->edge[j] = promo_mallocn(max_vbins > 1 ? (size_t)max_vbins - 1 : 1, sizeof(float));
        if (!f->edge[j])
            goto fail;
    }
    size_t bs = n < BIN_SAMPLE ? n : BIN_SAMPLE;
    bufs = promo_mallocn((size_t)nt * (BIN_GROUP + 1) * bs, sizeof *bufs);
    codes = promo_mallocn(n, d);
    errs = promo_calloc((size_t)p->n_trees, sizeof *errs);
    if (!bufs || !codes || !errs)
        goto fail;
    /* the edges from at most BIN_SAMPLE evenly strided rows, BIN_GROUP features per pass (one
     * feature per pass reads a cache line of x per value) */
    size_t n_groups = (d + BIN_GROUP - 1) / BIN_GROUP;
    size_t step = n > BIN_SAMPLE ? (n + BIN_SAMPLE - 1) / BIN_SAMPLE : 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t gi = 0; gi < n_groups; gi++) {
        float *buf = bufs + (size_t)omp_get_thread_num() * (BIN_GROUP + 1) * bs;
        size_t j0 = gi * BIN_GROUP, j1 = j0 + BIN_GROUP < d ? j0 + BIN_GROUP : d;
        size_t cnt[BIN_GROUP] = {0};
        for (size_t i = 0; i < n; i += step)
            for (size_t j = j0; j < j1; j++) {
                float v = D->x[i * d + j];
                if (!isnan(v))
                    buf[(j - j0) * bs + cnt[j - j0]++] = v;
            }
        for (size_t j = j0; j < j1; j++)
            f->nb[j] = bin_feature(buf + (j - j0) * bs, cnt[j - j0], max_vbins,
                                   buf + BIN_GROUP * bs, f->edge[j]);
    }
    promo_free(bufs);
    bufs = NULL;
    for (size_t j = 0; j < d; j++)
        if (f->nb[j] + 1 > f->n_codes)
            f->n_codes = f->nb[j] + 1;
    /* by blocks of rows: x is read in order, each column written in runs */
    size_t n_blk = (n + 4095) / 4096;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t b = 0; b < n_blk; b++) {
        size_t end = (b + 1) * 4096 < n ? (b + 1) * 4096 : n;
        for (size_t i = b * 4096; i < end; i++)
            for (size_t j = 0; j < d; j++)
                codes[j * n + i] = bin_code(f->edge[j], f->nb[j], D->x[i * d + j]);
    }

    /* per-tree importance rows summed in tree order afterwards, for determinism */
    double *imp = promo_calloc((size_t)p->n_trees * d, sizeof *imp);
    if (!imp)
        goto fail;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int t = 0; t < p->n_trees; t++)
        errs[t] = grow_tree(f, D, codes, t, &f->trees[t], imp + (size_t)t * d);
    for (int t = 0; t < p->n_trees; t++) {
        if (errs[t]) {
            promo_free(imp);
            promo_fail(errs[t], "uplift tree: out of memory growing tree %d", t);
            goto fail;
        }
        for (size_t j = 0; j < d; j++)
            f->importance[j] += imp[(size_t)t * d + j] / p->n_trees;
    }
    promo_free(imp);
    promo_free(codes);
    promo_free(errs);
    *out = f;
    return 0;
fail:
    promo_free(bufs);
    promo_free(codes);
    promo_free(errs);
    promo_uplift_forest_free(f);
    return PROMO_ENOMEM;
}

void promo_uplift_forest_free(promo_uplift_forest *f)
{
    if (!f)
        return;
    if (f->edge)
        for (size_t j = 0; j < f->d; j++)
            promo_free(f->edge[j]);
    if (f->trees)
        for (int t = 0; t < f->n_trees; t++) {
            promo_free(f->trees[t].nodes);
            promo_free(f->trees[t].values);
        }
    promo_free(f->edge);
    promo_free(f->nb);
    promo_free(f->trees);
    promo_free(f->importance);
    promo_free(f);
}

#define PRED_BLOCK 256

int promo_uplift_forest_predict(
    const promo_uplift_forest *f, const float *x, size_t n, size_t d, float *effect)
{
    if (!f || (!x && n) || (!effect && n))
        return promo_fail(PROMO_EUSAGE, "uplift tree predict: NULL argument");
    if (d != f->d)
        return promo_fail(PROMO_EUSAGE, "uplift tree predict: %zu columns, the model has %zu", d,
                          f->d);
    int k1 = f->n_arms - 1, nt = n_threads_of(f->p.n_threads);
    size_t n_blocks = (n + PRED_BLOCK - 1) / PRED_BLOCK;
    double *accs = promo_mallocn((size_t)nt * (size_t)k1, sizeof *accs);
    if (!accs)
        return PROMO_ENOMEM;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t b = 0; b < n_blocks; b++) {
        int tid = omp_get_thread_num();
        double *s = accs + (size_t)tid * (size_t)k1;
        size_t end = (b + 1) * PRED_BLOCK < n ? (b + 1) * PRED_BLOCK : n;
        for (size_t i = b * PRED_BLOCK; i < end; i++) {
            const float *xi = x + i * d;
            for (int a = 0; a < k1; a++)
                s[a] = 0.0;
            for (int t = 0; t < f->n_trees; t++) {
                const node *nodes = f->trees[t].nodes;
                int nid = 0;
                while (nodes[nid].feature >= 0) {
                    /* the training test "code <= bin" on the raw value (bin_code's order) */
                    const node *nd = &nodes[nid];
                    float v = xi[nd->feature];
                    int left = isnan(v) || (nd->bin > 0 && v <= nd->thr);
                    nid = left ? nd->left : nd->right;
                }
                for (int a = 0; a < k1; a++)
                    s[a] += nodes[nid].effect[a];
            }
            for (int a = 0; a < k1; a++)
                effect[i * (size_t)k1 + (size_t)a] = (float)(s[a] / f->n_trees);
        }
    }
    promo_free(accs);
    return 0;
}

int promo_uplift_forest_n_arms(const promo_uplift_forest *f)
{
    return f ? f->n_arms : 0;
}

int promo_uplift_forest_n_trees(const promo_uplift_forest *f)
{
    return f ? f->n_trees : 0;
}

size_t promo_uplift_forest_n_features(const promo_uplift_forest *f)
{
    return f ? f->d : 0;
}

int promo_uplift_forest_root_feature(const promo_uplift_forest *f, int tree)
{
    if (!f || tree < 0 || tree >= f->n_trees)
        return -1;
    return f->trees[tree].nodes[0].feature;
}

int promo_uplift_forest_importance(const promo_uplift_forest *f, double *imp)
{
    if (!f || !imp)
        return promo_fail(PROMO_EUSAGE, "uplift tree importance: NULL argument");
    memcpy(imp, f->importance, f->d * sizeof *imp);
    return 0;
}

/* ---- file format (include/promo/uplift_tree.h) ---- */

#define FOREST_MAGIC     "PROMOUFT"
#define FOREST_HEADER    44 /* magic .. max_bins */
#define FOREST_MAX_ARMS  1000
#define FOREST_MAX_D     1000000u
#define FOREST_MAX_TREES 1000000u

static uint64_t forest_fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void wr(uint8_t **w, const void *v, size_t n)
{
    memcpy(*w, v, n); /* the host is little-endian (checked in the save) */
    *w += n;
}

int promo_uplift_forest_save(const promo_uplift_forest *f, char **out, size_t *n)
{
    if (!f || !out || !n)
        return promo_fail(PROMO_EUSAGE, "uplift tree save: NULL argument");
    *out = NULL;
    *n = 0;
    const uint16_t probe = 1;
    uint8_t lo;
    memcpy(&lo, &probe, 1);
    if (lo != 1)
        return promo_fail(PROMO_EINTERNAL, "uplift tree save: big-endian hosts are not supported");
    size_t k1 = (size_t)f->n_arms - 1, len = FOREST_HEADER + f->d * 8;
    for (int t = 0; t < f->n_trees; t++) {
        len += 4 + f->trees[t].n_nodes * 24;
        for (size_t id = 0; id < f->trees[t].n_nodes; id++)
            len += f->trees[t].nodes[id].feature < 0 ? k1 * 4 : 0;
    }
    len += 8;
    uint8_t *b = promo_malloc(len), *w = b;
    if (!b)
        return PROMO_ENOMEM;
    uint32_t u32;
    uint64_t u64;
    int32_t i32;
    wr(&w, FOREST_MAGIC, 8);
    u32 = PROMO_UPLIFT_FOREST_FORMAT_VERSION;
    wr(&w, &u32, 4);
    u32 = (uint32_t)f->n_arms;
    wr(&w, &u32, 4);
    u64 = f->d;
    wr(&w, &u64, 8);
    u32 = (uint32_t)f->n_trees;
    wr(&w, &u32, 4);
    u32 = (uint32_t)f->p.split;
    wr(&w, &u32, 4);
    i32 = f->p.max_depth;
    wr(&w, &i32, 4);
    u32 = (uint32_t)f->p.honest;
    wr(&w, &u32, 4);
    u32 = (uint32_t)f->p.max_bins;
    wr(&w, &u32, 4);
    wr(&w, f->importance, f->d * 8);
    for (int t = 0; t < f->n_trees; t++) {
        const utree *tr = &f->trees[t];
        u32 = (uint32_t)tr->n_nodes;
        wr(&w, &u32, 4);
        for (size_t id = 0; id < tr->n_nodes; id++) {
            const node *nd = &tr->nodes[id];
            wr(&w, &nd->feature, 4);
            wr(&w, &nd->bin, 4);
            wr(&w, &nd->thr, 4);
            wr(&w, &nd->left, 4);
            wr(&w, &nd->right, 4);
            wr(&w, &nd->parent, 4);
        }
        for (size_t id = 0; id < tr->n_nodes; id++)
            if (tr->nodes[id].feature < 0)
                wr(&w, tr->nodes[id].effect, k1 * 4);
    }
    u64 = forest_fnv(b, (size_t)(w - b));
    wr(&w, &u64, 8);
    *out = (char *)b;
    *n = len;
    return PROMO_OK;
}

typedef struct rd {
    const uint8_t *p;
    size_t n, at;
} rd;

static int rd_take(rd *r, void *v, size_t n)
{
    if (n > r->n - r->at)
        return promo_fail(PROMO_EINPUT, "uplift tree model: truncated at byte %zu", r->at);
    memcpy(v, r->p + r->at, n);
    r->at += n;
    return PROMO_OK;
}

/* One tree's nodes, checked: ids in range, children after their parent (so a walk from the
 * root always ends at a leaf), the root first and parentless, finite leaf effects. */
static int load_tree(rd *r, size_t d, size_t k1, utree *t)
{
    uint32_t nn = 0;
    if (rd_take(r, &nn, 4))
        return PROMO_EINPUT;
    if (nn == 0 || (size_t)nn > (r->n - r->at) / 24)
        return promo_fail(PROMO_EINPUT, "uplift tree model: a tree of %u nodes", nn);
    t->nodes = promo_calloc(nn, sizeof *t->nodes);
    if (!t->nodes)
        return PROMO_ENOMEM;
    t->n_nodes = t->cap = nn;
    size_t n_leaves = 0;
    for (uint32_t id = 0; id < nn; id++) {
        node *nd = &t->nodes[id];
        if (rd_take(r, &nd->feature, 4) || rd_take(r, &nd->bin, 4) || rd_take(r, &nd->thr, 4) ||
            rd_take(r, &nd->left, 4) || rd_take(r, &nd->right, 4) || rd_take(r, &nd->parent, 4))
            return PROMO_EINPUT;
        nd->effect = NULL;
        int ok = id == 0 ? nd->parent == -1 : nd->parent >= 0 && (uint32_t)nd->parent < id;
        if (nd->feature >= 0)
            ok &= (size_t)nd->feature < d && nd->bin >= 0 && nd->left > (int32_t)id &&
                  (uint32_t)nd->left < nn && nd->right > (int32_t)id && (uint32_t)nd->right < nn &&
                  !isnan(nd->thr);
        else
            ok &= nd->feature == -1;
        if (!ok)
            return promo_fail(PROMO_EINPUT, "uplift tree model: node %u is malformed", id);
        n_leaves += nd->feature < 0;
    }
    t->values = promo_mallocn(nn, (k1 ? k1 : 1) * sizeof(float));
    if (!t->values)
        return PROMO_ENOMEM;
    (void)n_leaves;
    for (uint32_t id = 0; id < nn; id++) {
        node *nd = &t->nodes[id];
        if (nd->feature >= 0)
            continue;
        nd->effect = t->values + (size_t)id * k1;
        if (rd_take(r, nd->effect, k1 * 4))
            return PROMO_EINPUT;
        for (size_t a = 0; a < k1; a++)
            if (!isfinite(nd->effect[a]))
                return promo_fail(PROMO_EINPUT, "uplift tree model: leaf %u effect not finite", id);
    }
    return PROMO_OK;
}

int promo_uplift_forest_load(const void *data, size_t n, promo_uplift_forest **out)
{
    if (!out || (n && !data))
        return promo_fail(PROMO_EUSAGE, "uplift tree load: needs data and out");
    *out = NULL;
    const uint8_t *p = data;
    if (n < FOREST_HEADER + 8 || memcmp(p, FOREST_MAGIC, 8) != 0)
        return promo_fail(PROMO_EINPUT, "uplift tree model: no %s header (%zu bytes)", FOREST_MAGIC,
                          n);
    rd r = {p, n - 8, 8};
    uint32_t version = 0, K = 0, n_trees = 0, split = 0, honest = 0, max_bins = 0;
    int32_t depth = 0;
    uint64_t d = 0, sum = 0;
    rd_take(&r, &version, 4);
    if (version != PROMO_UPLIFT_FOREST_FORMAT_VERSION)
        return promo_fail(PROMO_EVERSION,
                          "uplift tree model: format version %u; this promo reads version %u",
                          version, PROMO_UPLIFT_FOREST_FORMAT_VERSION);
    memcpy(&sum, p + n - 8, 8);
    if (sum != forest_fnv(p, n - 8))
        return promo_fail(PROMO_EINPUT, "uplift tree model: checksum mismatch (damaged)");
    rd_take(&r, &K, 4);
    rd_take(&r, &d, 8);
    rd_take(&r, &n_trees, 4);
    rd_take(&r, &split, 4);
    rd_take(&r, &depth, 4);
    rd_take(&r, &honest, 4);
    rd_take(&r, &max_bins, 4);
    if (K < 2 || K > FOREST_MAX_ARMS || d < 1 || d > FOREST_MAX_D || n_trees < 1 ||
        n_trees > FOREST_MAX_TREES || split >= PROMO_SPLIT_COUNT || depth < 0 || honest > 1 ||
        max_bins < 2 || max_bins > 256 || d > (r.n - r.at) / 8)
        return promo_fail(PROMO_EINPUT,
                          "uplift tree model: bad header (arms %u, features %llu, trees %u)", K,
                          (unsigned long long)d, n_trees);
    promo_uplift_forest *f = promo_calloc(1, sizeof *f);
    int rc = PROMO_ENOMEM;
    if (!f)
        return rc;
    f->p = promo_uplift_tree_params_default();
    f->p.split = (promo_uplift_split)split;
    f->p.max_depth = depth;
    f->p.honest = (int)honest;
    f->p.max_bins = (int)max_bins;
    f->p.n_trees = (int)n_trees;
    f->p.n_threads = 0; /* prediction on all cores (its results do not depend on it) */
    f->d = (size_t)d;
    f->n_arms = (int)K;
    f->importance = promo_mallocn(f->d, sizeof *f->importance);
    if (!f->importance)
        goto fail;
    rd_take(&r, f->importance, f->d * 8);
    for (size_t j = 0; j < f->d; j++)
        if (!isfinite(f->importance[j])) {
            rc = promo_fail(PROMO_EINPUT, "uplift tree model: importance %zu not finite", j);
            goto fail;
        }
    if ((size_t)n_trees > (r.n - r.at) / 28) {
        rc = promo_fail(PROMO_EINPUT, "uplift tree model: %u trees in %zu bytes", n_trees,
                        r.n - r.at);
        goto fail;
    }
    f->trees = promo_calloc(n_trees, sizeof *f->trees);
    if (!f->trees)
        goto fail;
    f->n_trees = (int)n_trees;
    for (uint32_t t = 0; t < n_trees; t++)
        if ((rc = load_tree(&r, f->d, (size_t)K - 1, &f->trees[t])))
            goto fail;
    if (r.at != r.n) {
        rc = promo_fail(PROMO_EINPUT, "uplift tree model: %zu unexpected bytes", r.n - r.at);
        goto fail;
    }
    *out = f;
    return PROMO_OK;
fail:
    promo_uplift_forest_free(f);
    return rc;
}
