/* HDBSCAN: from the mutual-reachability minimum spanning tree to labels (promo/hdbscan.h).
 *
 * Campello, Moulavi & Sander, "Density-based clustering based on hierarchical density
 * estimates" (PAKDD 2013), and Campello et al. (TKDD 2015) for GLOSH; the steps and the
 * definitions follow the `hdbscan` package (McInnes, Healy & Astels 2017, _hdbscan_tree.pyx)
 * and scikit-learn 1.3's port of it:
 *
 *  1. core distances and the MST (hdbscan_mst.c), edges sorted by (weight, a, b);
 *  2. single linkage: a union-find over the sorted edges gives n - 1 merges, merge e being
 *     node n + e, so a parent's number is above its children's;
 *  3. condensed tree: walking the merges from the root down, a split where both sides have at
 *     least min_cluster_size points makes two new clusters, otherwise the small side's points
 *     "fall out" of the current cluster at lambda = 1 / distance;
 *  4. excess of mass: stability(C) = sum over its points of (lambda_p - lambda_birth(C));
 *     bottom-up, a cluster is kept unless its children's total stability is larger; the root
 *     is never selected (allow_single_cluster off); points outside every selected cluster are
 *     noise (-1);
 *  5. probability: lambda_p / the largest lambda at which a point leaves its cluster (capped
 *     at 1); GLOSH: 1 - lambda_p / the largest lambda reached in the subtree of the cluster
 *     the point left.
 *
 * Departures: a merge at distance 0 (duplicates) takes the lambda of the smallest positive
 * merge distance instead of infinity, so stabilities stay finite (the Python code gets inf or
 * NaN there); condensed-tree clusters are numbered in the order of the merges from the root
 * (a parent before its children, as in the Python code's breadth-first order), labels in that
 * order. Everything after the MST is O(n) memory and sequential, so the labels do not depend
 * on the thread count.
 */
#include <math.h>
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hdbscan.h>

#include "hdbscan_internal.h"

promo_hdbscan_params promo_hdbscan_params_default(void)
{
    promo_hdbscan_params p = {5, 0, 0, PROMO_HDBSCAN_AUTO};
    return p;
}

void promo_hdbscan_free(promo_hdbscan *h)
{
    if (!h)
        return;
    promo_free(h->labels);
    promo_free(h->probabilities);
    promo_free(h->outlier_scores);
    promo_free(h);
}

static int edge_cmp(const void *pa, const void *pb)
{
    const hdb_edge *a = pa, *b = pb;
    if (hdb_key_less(a->w, a->a, a->b, b->w, b->a, b->b))
        return -1;
    if (hdb_key_less(b->w, b->a, b->b, a->w, a->a, a->b))
        return 1;
    return 0;
}

static uint32_t find_root(uint32_t *parent, uint32_t i)
{
    uint32_t r = i;
    while (parent[r] != r)
        r = parent[r];
    while (parent[i] != r) {
        uint32_t next = parent[i];
        parent[i] = r;
        i = next;
    }
    return r;
}

/* The condensed tree and what is read off it. Points: pc (the cluster a point fell out of)
 * and pl (the lambda at which it did). Clusters 0..n_cl-1, 0 the root: cpar, cbirth, csize. */
typedef struct condensed {
    int32_t *pc;
    double *pl;
    int32_t *cpar;
    double *cbirth;
    uint32_t *csize;
    size_t n_cl, cap;
} condensed;

/* Steps 2 and 3: single linkage over the sorted edges, then the condensed tree. */
static int build_condensed(const hdb_edge *edges, size_t n, size_t m, condensed *ct)
{
    size_t ni = n - 1, nn = 2 * n - 1;
    int rc = PROMO_ENOMEM;
    uint32_t *uf = promo_mallocn(nn, sizeof *uf);
    uint32_t *size = promo_mallocn(nn, sizeof *size);
    uint32_t *left = promo_mallocn(ni, sizeof *left), *right = promo_mallocn(ni, sizeof *right);
    double *dist = promo_mallocn(ni, sizeof *dist);
    int32_t *ccl = promo_mallocn(ni, sizeof *ccl);
    unsigned char *fall = promo_calloc(ni, 1);
    double *flam = promo_mallocn(ni, sizeof *flam);
    if (!uf || !size || !left || !right || !dist || !ccl || !fall || !flam)
        goto done;

    for (size_t i = 0; i < nn; i++) {
        uf[i] = (uint32_t)i;
        size[i] = 1;
    }
    double dfloor = 0.0;
    for (size_t e = 0; e < ni; e++) {
        uint32_t a = find_root(uf, edges[e].a), b = find_root(uf, edges[e].b);
        PROMO_ASSERT(a != b);
        uint32_t node = (uint32_t)(n + e);
        left[e] = a;
        right[e] = b;
        dist[e] = sqrt(edges[e].w);
        if (dfloor == 0.0 && dist[e] > 0.0)
            dfloor = dist[e];
        size[node] = size[a] + size[b];
        uf[a] = node;
        uf[b] = node;
    }
    if (dfloor == 0.0)
        dfloor = 1.0; /* every point equal: any positive constant */

    ct->cap = 2 * (n / m) + 2;
    ct->pc = promo_mallocn(n, sizeof *ct->pc);
    ct->pl = promo_mallocn(n, sizeof *ct->pl);
    ct->cpar = promo_mallocn(ct->cap, sizeof *ct->cpar);
    ct->cbirth = promo_mallocn(ct->cap, sizeof *ct->cbirth);
    ct->csize = promo_mallocn(ct->cap, sizeof *ct->csize);
    if (!ct->pc || !ct->pl || !ct->cpar || !ct->cbirth || !ct->csize)
        goto done;
    ct->cpar[0] = -1;
    ct->cbirth[0] = 0.0;
    ct->csize[0] = (uint32_t)n;
    ct->n_cl = 1;
    ccl[ni - 1] = 0;
    for (size_t e = ni; e-- > 0;) {
        uint32_t ch[2] = {left[e], right[e]};
        int32_t cl = ccl[e];
        double lam = fall[e] ? flam[e] : 1.0 / (dist[e] > dfloor ? dist[e] : dfloor);
        int split = !fall[e] && size[ch[0]] >= m && size[ch[1]] >= m;
        for (int s = 0; s < 2; s++) {
            uint32_t c = ch[s];
            int32_t to = cl;
            int falls = fall[e] || size[c] < m;
            if (split) {
                PROMO_ASSERT(ct->n_cl < ct->cap);
                to = (int32_t)ct->n_cl++;
                ct->cpar[to] = cl;
                ct->cbirth[to] = lam;
                ct->csize[to] = size[c];
            }
            if (c < n) {
                PROMO_ASSERT(falls);
                ct->pc[c] = to;
                ct->pl[c] = lam;
            } else {
                ccl[c - n] = to;
                fall[c - n] = (unsigned char)falls;
                flam[c - n] = lam;
            }
        }
    }
    rc = PROMO_OK;
done:
    promo_free(uf);
    promo_free(size);
    promo_free(left);
    promo_free(right);
    promo_free(dist);
    promo_free(ccl);
    promo_free(fall);
    promo_free(flam);
    return rc;
}

static void condensed_free(condensed *ct)
{
    promo_free(ct->pc);
    promo_free(ct->pl);
    promo_free(ct->cpar);
    promo_free(ct->cbirth);
    promo_free(ct->csize);
    ct->pc = NULL;
    ct->pl = NULL;
    ct->cpar = NULL;
    ct->cbirth = NULL;
    ct->csize = NULL;
}

/* Steps 4 and 5 into h's labels, probabilities and outlier scores. */
static int select_clusters(const condensed *ct, size_t n, promo_hdbscan *h)
{
    size_t C = ct->n_cl;
    int rc = PROMO_ENOMEM;
    double *stab = promo_calloc(C, sizeof *stab);
    double *child_sum = promo_calloc(C, sizeof *child_sum);
    double *dd = promo_calloc(C, sizeof *dd); /* largest lambda among direct children */
    double *ds = promo_calloc(C, sizeof *ds); /* largest lambda in the subtree */
    unsigned char *sel = promo_calloc(C, 1);
    int32_t *anc = promo_mallocn(C, sizeof *anc); /* selected ancestor-or-self, -1 none */
    int32_t *lab = promo_mallocn(C, sizeof *lab);
    if (!stab || !child_sum || !dd || !ds || !sel || !anc || !lab)
        goto done;

    for (size_t i = 0; i < n; i++) {
        int32_t c = ct->pc[i];
        stab[c] += ct->pl[i] - ct->cbirth[c];
        if (ct->pl[i] > dd[c])
            dd[c] = ct->pl[i];
    }
    for (size_t c = 1; c < C; c++) {
        int32_t p = ct->cpar[c];
        stab[p] += (ct->cbirth[c] - ct->cbirth[p]) * (double)ct->csize[c];
        if (ct->cbirth[c] > dd[p])
            dd[p] = ct->cbirth[c];
    }
    for (size_t c = 0; c < C; c++)
        ds[c] = dd[c];
    /* Children have larger numbers than their parent: one descending pass is bottom-up. */
    for (size_t c = C; c-- > 1;) {
        int32_t p = ct->cpar[c];
        if (child_sum[c] > stab[c]) {
            stab[c] = child_sum[c];
        } else {
            sel[c] = 1;
        }
        child_sum[p] += stab[c];
        if (ds[c] > ds[p])
            ds[p] = ds[c];
    }
    /* A selected cluster's descendants are not clusters of their own. */
    anc[0] = -1;
    int n_clusters = 0;
    for (size_t c = 1; c < C; c++) {
        int32_t up = anc[ct->cpar[c]];
        if (up >= 0 || !sel[c]) {
            anc[c] = up;
            lab[c] = -1;
        } else {
            anc[c] = (int32_t)c;
            lab[c] = n_clusters++;
        }
    }
    h->n_clusters = n_clusters;
    for (size_t i = 0; i < n; i++) {
        int32_t c = ct->pc[i], s = anc[c];
        double l = ct->pl[i];
        if (s < 0) {
            h->labels[i] = -1;
            h->probabilities[i] = 0.0f;
        } else {
            h->labels[i] = lab[s];
            double ml = dd[s];
            h->probabilities[i] = ml > 0.0 ? (float)((l < ml ? l : ml) / ml) : 1.0f;
        }
        double lm = ds[c];
        h->outlier_scores[i] = lm > 0.0 ? (float)((lm - l) / lm) : 0.0f;
    }
    rc = PROMO_OK;
done:
    promo_free(stab);
    promo_free(child_sum);
    promo_free(dd);
    promo_free(ds);
    promo_free(sel);
    promo_free(anc);
    promo_free(lab);
    return rc;
}

int promo_hdbscan_fit(
    const promo_hdbscan_params *p, const float *x, size_t n, size_t d, promo_hdbscan **out)
{
    if (out)
        *out = NULL;
    if (!p || !x || !out)
        return promo_fail(PROMO_EUSAGE, "hdbscan: NULL argument");
    if (n == 0 || d == 0)
        return promo_fail(PROMO_EUSAGE, "hdbscan: no data (%zu rows, %zu columns)", n, d);
    if (n >= ((size_t)1 << 31))
        return promo_fail(PROMO_EUSAGE, "hdbscan: %zu rows, at most 2^31 - 1", n);
    if (p->min_cluster_size < 2)
        return promo_fail(PROMO_EUSAGE, "hdbscan: min_cluster_size must be >= 2, got %zu",
                          p->min_cluster_size);
    if (p->n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "hdbscan: n_threads must be >= 0, got %d", p->n_threads);
    if (p->algorithm < 0 || p->algorithm >= PROMO_HDBSCAN_ALGORITHM_COUNT)
        return promo_fail(PROMO_EUSAGE, "hdbscan: unknown algorithm %d", p->algorithm);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j]))
                return promo_fail(PROMO_EINPUT, "hdbscan: row %zu, column %zu: not a finite number",
                                  i, j);

    size_t m = p->min_cluster_size;
    size_t k = p->min_samples ? p->min_samples : m;
    if (k > n)
        k = n;
    int alg = p->algorithm;
    if (alg == PROMO_HDBSCAN_AUTO)
        alg = n > 4096 && d <= 16 ? PROMO_HDBSCAN_BORUVKA : PROMO_HDBSCAN_PRIM;

    int rc = PROMO_ENOMEM;
    double *core2 = NULL;
    hdb_edge *edges = NULL;
    condensed ct = {0};
    promo_hdbscan *h = promo_calloc(1, sizeof *h);
    if (!h)
        goto fail;
    h->n = n;
    h->algorithm = alg;
    h->labels = promo_mallocn(n, sizeof *h->labels);
    h->probabilities = promo_mallocn(n, sizeof *h->probabilities);
    h->outlier_scores = promo_mallocn(n, sizeof *h->outlier_scores);
    if (!h->labels || !h->probabilities || !h->outlier_scores)
        goto fail;
    if (n == 1) {
        h->labels[0] = -1;
        h->probabilities[0] = 0.0f;
        h->outlier_scores[0] = 0.0f;
        *out = h;
        return PROMO_OK;
    }
    core2 = promo_mallocn(n, sizeof *core2);
    edges = promo_mallocn(n - 1, sizeof *edges);
    if (!core2 || !edges)
        goto fail;
    if (alg == PROMO_HDBSCAN_PRIM) {
        rc = hdb_core_brute(x, n, d, k, p->n_threads, core2);
        if (!rc)
            rc = hdb_mst_prim(x, n, d, core2, p->n_threads, edges);
    } else {
        rc = hdb_mst_boruvka(x, n, d, k, p->n_threads, core2, edges);
    }
    if (rc)
        goto fail;
    promo_free(core2);
    core2 = NULL;
    qsort(edges, n - 1, sizeof *edges, edge_cmp);
    h->mst_weight = 0.0;
    for (size_t e = 0; e + 1 < n; e++)
        h->mst_weight += sqrt(edges[e].w);
    rc = build_condensed(edges, n, m, &ct);
    promo_free(edges);
    edges = NULL;
    if (!rc)
        rc = select_clusters(&ct, n, h);
    condensed_free(&ct);
    if (rc)
        goto fail;
    *out = h;
    return PROMO_OK;
fail:
    promo_free(core2);
    promo_free(edges);
    condensed_free(&ct);
    promo_hdbscan_free(h);
    if (rc == PROMO_ENOMEM)
        return promo_fail(PROMO_ENOMEM, "hdbscan: out of memory (%zu rows)", n);
    return rc;
}
