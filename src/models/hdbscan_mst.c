/* The mutual-reachability minimum spanning tree of HDBSCAN, in O(n) memory.
 *
 * Prim (small or high-dimensional data): the complete graph is never stored; each step
 * relaxes every outside vertex against the vertex just added and picks the lightest edge
 * into the tree, O(n^2 d) time. Core distances by brute-force kNN with a k-heap per thread.
 *
 * Boruvka over a k-d tree (McInnes & Healy 2017, "Accelerated hierarchical density
 * clustering", with per-point queries instead of their dual-tree traversal): the tree (median
 * split on the widest box side, leaves of at most LEAF rows, rows copied in tree order for
 * locality) answers the kNN queries for the core distances; then each round every point finds
 * its lightest edge to a point of another component, every component keeps the lightest of
 * its points' edges, and those edges join the forest, at least halving the number of
 * components. Pruning, each step only skipping edges that cannot be a component's lightest:
 *  - a node's lower bound is max(core2[q], box distance^2, the smallest core2 of its rows
 *    outside the component of its densest row when q is in that component, else of all its
 *    rows): a node of q's own component is skipped, and so nearly is one of q's cluster with
 *    a few sparse noise rows;
 *  - against the point's best key so far, with the node's smallest row number deciding at a
 *    weight tie (ties are common: duplicates, and every edge at a core distance);
 *  - against the best edge any point of the component has found this round (a shared bound,
 *    an atomic minimum); a point whose lower bound exceeds it is not queried at all;
 *  - across rounds a point keeps its edge and a lower bound on its lightest edge (the points
 *    outside its component only become fewer): a still-valid edge seeds the shared bound, an
 *    edge known to be the point's lightest needs no new query;
 *  - the first round starts from each row's kNN list; a row whose list is its whole closed
 *    kNN ball (no row left out at exactly the k-th distance) and holds an edge at the row's
 *    core distance has its lightest edge without a query.
 *
 * Ties: edges are compared by (weight, a, b), a total order, so the lightest edge of every
 * component is unique, Boruvka never closes a cycle and both algorithms return the one
 * minimum spanning tree. The shared bounds make a point's own result depend on the schedule,
 * never a component's lightest edge, so the tree does not depend on the thread count.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>

#include "hdbscan_internal.h"

#define LEAF     32
#define KNN_KEEP 32 /* keep the kNN lists for the first Boruvka round up to this k */

static int n_threads_of(int n)
{
    return n > 0 ? n : omp_get_max_threads();
}

/* ---- a max-heap of the k smallest squared distances seen ---- */

/* hid: NULL, or the ids of the heap's entries (id is pushed along with v). */
static void heap_push(double *h, uint32_t *hid, size_t *len, size_t k, double v, uint32_t id)
{
    if (*len < k) {
        size_t i = (*len)++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (h[p] >= v)
                break;
            h[i] = h[p];
            if (hid)
                hid[i] = hid[p];
            i = p;
        }
        h[i] = v;
        if (hid)
            hid[i] = id;
        return;
    }
    if (v >= h[0])
        return;
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        double mv = v;
        if (l < k && h[l] > mv) {
            m = l;
            mv = h[l];
        }
        if (r < k && h[r] > mv)
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        if (hid)
            hid[i] = hid[m];
        i = m;
    }
    h[i] = v;
    if (hid)
        hid[i] = id;
}

int hdb_core_brute(const float *x, size_t n, size_t d, size_t k, int n_threads, double *core2)
{
    int nt = n_threads_of(n_threads);
    double *heaps = promo_mallocn((size_t)nt * k, sizeof *heaps);
    if (!heaps)
        return PROMO_ENOMEM;
#pragma omp parallel num_threads(nt)
    {
        double *h = heaps + (size_t)omp_get_thread_num() * k;
#pragma omp for schedule(dynamic, 16)
        for (size_t i = 0; i < n; i++) {
            size_t len = 0;
            for (size_t j = 0; j < n; j++)
                heap_push(h, NULL, &len, k, hdb_sqdist(x + i * d, x + j * d, d), 0);
            core2[i] = h[0];
        }
    }
    promo_free(heaps);
    return PROMO_OK;
}

/* ---- Prim ---- */

int hdb_mst_prim(
    const float *x, size_t n, size_t d, const double *core2, int n_threads, hdb_edge *edges)
{
    int nt = n_threads_of(n_threads);
    unsigned char *in = promo_calloc(n, 1);
    double *bw = promo_mallocn(n, sizeof *bw);   /* lightest edge weight into the tree */
    uint32_t *bf = promo_mallocn(n, sizeof *bf); /* its tree end */
    int rc = PROMO_ENOMEM;
    if (!in || !bw || !bf)
        goto done;
    for (size_t j = 0; j < n; j++) {
        bw[j] = INFINITY;
        bf[j] = 0;
    }
    uint32_t cur = 0;
    in[0] = 1;
    for (size_t e = 0; e + 1 < n; e++) {
        uint32_t next = UINT32_MAX;
#pragma omp parallel num_threads(nt) if (n >= 2048)
        {
            uint32_t mine = UINT32_MAX;
            const float *xc = x + (size_t)cur * d;
            double cc = core2[cur];
#pragma omp for schedule(static)
            for (size_t j = 0; j < n; j++) {
                if (in[j])
                    continue;
                double w = cc > core2[j] ? cc : core2[j];
                double dd = hdb_sqdist(xc, x + j * d, d);
                if (dd > w)
                    w = dd;
                uint32_t jj = (uint32_t)j, lo = cur < jj ? cur : jj, hi = cur < jj ? jj : cur;
                uint32_t blo = bf[j] < jj ? bf[j] : jj, bhi = bf[j] < jj ? jj : bf[j];
                if (hdb_key_less(w, lo, hi, bw[j], blo, bhi)) {
                    bw[j] = w;
                    bf[j] = cur;
                }
                if (mine == UINT32_MAX) {
                    mine = jj;
                } else {
                    uint32_t m = mine;
                    uint32_t mlo = bf[m] < m ? bf[m] : m, mhi = bf[m] < m ? m : bf[m];
                    blo = bf[j] < jj ? bf[j] : jj;
                    bhi = bf[j] < jj ? jj : bf[j];
                    if (hdb_key_less(bw[j], blo, bhi, bw[m], mlo, mhi))
                        mine = jj;
                }
            }
#pragma omp critical(hdb_prim)
            {
                if (mine != UINT32_MAX) {
                    if (next == UINT32_MAX) {
                        next = mine;
                    } else {
                        uint32_t a = mine, b = next;
                        if (hdb_key_less(bw[a], bf[a] < a ? bf[a] : a, bf[a] < a ? a : bf[a], bw[b],
                                         bf[b] < b ? bf[b] : b, bf[b] < b ? b : bf[b]))
                            next = mine;
                    }
                }
            }
        }
        PROMO_ASSERT(next != UINT32_MAX);
        edges[e].a = bf[next] < next ? bf[next] : next;
        edges[e].b = bf[next] < next ? next : bf[next];
        edges[e].w = bw[next];
        in[next] = 1;
        cur = next;
    }
    rc = PROMO_OK;
done:
    promo_free(in);
    promo_free(bw);
    promo_free(bf);
    return rc;
}

/* ---- k-d tree ---- */

typedef struct kd_node {
    uint32_t start, end; /* rows [start, end) in tree order */
    int32_t left, right; /* children, -1 for a leaf */
} kd_node;

typedef struct kd_tree {
    size_t n, d;
    float *xs;      /* n x d rows in tree order */
    uint32_t *perm; /* tree position -> original row */
    kd_node *nodes; /* pre-order: a parent before its children */
    float *lo, *hi; /* n_nodes x d bounding boxes */
    size_t n_nodes, cap;
} kd_tree;

static void kd_free(kd_tree *t)
{
    promo_free(t->xs);
    promo_free(t->perm);
    promo_free(t->nodes);
    promo_free(t->lo);
    promo_free(t->hi);
}

/* Move the rows of perm[lo, hi) so that perm[mid] holds the mid-th smallest coordinate dim,
 * smaller or equal ones before it and larger or equal ones after (Hoare's selection with the
 * middle element as pivot: deterministic). */
static void
kd_select(const float *x, size_t d, uint32_t *perm, size_t lo, size_t hi, size_t mid, size_t dim)
{
    hi--;
    while (lo < hi) {
        float pivot = x[(size_t)perm[lo + (hi - lo) / 2] * d + dim];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (x[(size_t)perm[i] * d + dim] < pivot)
                i++;
            while (x[(size_t)perm[j] * d + dim] > pivot)
                j--;
            if (i <= j) {
                uint32_t t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (mid <= j)
            hi = j;
        else if (mid >= i)
            lo = i;
        else
            break;
    }
}

static void
kd_box(const float *x, size_t d, const uint32_t *perm, size_t s, size_t e, float *lo, float *hi)
{
    for (size_t j = 0; j < d; j++) {
        lo[j] = x[(size_t)perm[s] * d + j];
        hi[j] = lo[j];
    }
    for (size_t i = s + 1; i < e; i++) {
        const float *r = x + (size_t)perm[i] * d;
        for (size_t j = 0; j < d; j++) {
            if (r[j] < lo[j])
                lo[j] = r[j];
            if (r[j] > hi[j])
                hi[j] = r[j];
        }
    }
}

static int32_t kd_build_node(kd_tree *t, const float *x, size_t s, size_t e)
{
    size_t d = t->d;
    PROMO_ASSERT(t->n_nodes < t->cap);
    int32_t id = (int32_t)t->n_nodes++;
    kd_node *nd = &t->nodes[id];
    nd->start = (uint32_t)s;
    nd->end = (uint32_t)e;
    nd->left = nd->right = -1;
    float *lo = t->lo + (size_t)id * d, *hi = t->hi + (size_t)id * d;
    kd_box(x, d, t->perm, s, e, lo, hi);
    if (e - s <= LEAF)
        return id;
    size_t dim = 0;
    float spread = hi[0] - lo[0];
    for (size_t j = 1; j < d; j++) {
        if (hi[j] - lo[j] > spread) {
            spread = hi[j] - lo[j];
            dim = j;
        }
    }
    /* All rows equal (duplicates): still split, by position, so no leaf grows beyond LEAF. */
    size_t mid = s + (e - s) / 2;
    kd_select(x, d, t->perm, s, e, mid, dim);
    int32_t l = kd_build_node(t, x, s, mid);
    int32_t r = kd_build_node(t, x, mid, e);
    t->nodes[id].left = l;
    t->nodes[id].right = r;
    return id;
}

static int kd_build(kd_tree *t, const float *x, size_t n, size_t d)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    t->d = d;
    /* Leaves hold >= LEAF/2 rows except when a split is uneven; 2n/LEAF*2 + 1 bounds the count
     * with median splits (each leaf > LEAF/2 rows unless n is small). */
    t->cap = 4 * (n / (LEAF / 2) + 1) + 1;
    t->perm = promo_mallocn(n, sizeof *t->perm);
    t->xs = promo_mallocn(n * d, sizeof *t->xs);
    t->nodes = promo_mallocn(t->cap, sizeof *t->nodes);
    t->lo = promo_mallocn(t->cap * d, sizeof *t->lo);
    t->hi = promo_mallocn(t->cap * d, sizeof *t->hi);
    if (!t->perm || !t->xs || !t->nodes || !t->lo || !t->hi) {
        kd_free(t);
        return PROMO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        t->perm[i] = (uint32_t)i;
    kd_build_node(t, x, 0, n);
    for (size_t i = 0; i < n; i++)
        memcpy(t->xs + i * d, x + (size_t)t->perm[i] * d, d * sizeof *t->xs);
    return PROMO_OK;
}

/* Squared distance from q to the box of node id (0 inside). */
static double kd_boxdist(const kd_tree *t, int32_t id, const float *q)
{
    size_t d = t->d;
    const float *lo = t->lo + (size_t)id * d, *hi = t->hi + (size_t)id * d;
    double s = 0.0;
    for (size_t j = 0; j < d; j++) {
        double u = 0.0;
        if (q[j] < lo[j])
            u = (double)lo[j] - (double)q[j];
        else if (q[j] > hi[j])
            u = (double)q[j] - (double)hi[j];
        s += u * u;
    }
    return s;
}

/* The k nearest rows of q into the heap h/hid. *tie: set to a distance at which a row was
 * left out of a full heap; when it equals the final h[0], rows at exactly the k-th distance
 * are missing from the list (the list is not the whole closed ball). Subtrees at exactly the
 * k-th distance are visited until such a row is seen. */
static void kd_knn(const kd_tree *t,
                   int32_t id,
                   const float *q,
                   double *h,
                   uint32_t *hid,
                   size_t *len,
                   size_t k,
                   double *tie)
{
    const kd_node *nd = &t->nodes[id];
    if (nd->left < 0) {
        for (size_t i = nd->start; i < nd->end; i++) {
            double v = hdb_sqdist(q, t->xs + i * t->d, t->d);
            if (*len < k) {
                heap_push(h, hid, len, k, v, (uint32_t)i);
            } else if (v == h[0]) {
                *tie = v;
            } else if (v < h[0]) {
                double e = h[0];
                heap_push(h, hid, len, k, v, (uint32_t)i);
                if (h[0] == e)
                    *tie = e;
            }
        }
        return;
    }
    double bl = kd_boxdist(t, nd->left, q), br = kd_boxdist(t, nd->right, q);
    int32_t first = nd->left, second = nd->right;
    if (br < bl) {
        first = nd->right;
        second = nd->left;
        double tmp = bl;
        bl = br;
        br = tmp;
    }
    /* At exactly the k-th distance only until a left-out row has been seen there. */
    if (*len < k || bl < h[0] || (bl == h[0] && *tie != h[0]))
        kd_knn(t, first, q, h, hid, len, k, tie);
    if (*len < k || br < h[0] || (br == h[0] && *tie != h[0]))
        kd_knn(t, second, q, h, hid, len, k, tie);
}

/* ---- Boruvka ---- */

typedef struct bv_ctx {
    const kd_tree *t;
    const double *core2;   /* tree order */
    const uint32_t *comp;  /* tree order: component representative (a tree position) */
    const uint32_t *nx;    /* per node: the component of its row of smallest core2 */
    const double *omin;    /* per node: a lower bound on core2 of its rows outside nx (inf:
                              all its rows are in nx) */
    const double *mincore; /* per node: smallest core2 of its rows */
    const uint32_t *minid; /* per node: smallest original row number of its rows */
    uint64_t *cbound;      /* per representative: bits of the best weight found this round */
} bv_ctx;

typedef struct bv_best {
    double w;
    uint32_t lo, hi; /* original rows of the edge, lo < hi */
    uint32_t other;  /* tree position of the far end, UINT32_MAX for none */
    double lower;    /* no edge of the point to another component is lighter than this */
    double cut;      /* during a query: the smallest bound of a subtree skipped for the
                        component's sake rather than the point's */
    int exact;       /* the edge is the point's lightest by the full (w, lo, hi) order: a
                        lower bound equal to w is not enough, a tie may hide a smaller key */
} bv_best;

static double bits_double(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* Non-negative doubles order like their bit patterns, so an unsigned atomic minimum works. */
static void atomic_min_double(uint64_t *p, double w)
{
    uint64_t v;
    memcpy(&v, &w, sizeof v);
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < cur &&
           !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* A lower bound on the weight of an edge from q (component qc) to a row of node id outside
 * qc; infinity when every row of the node is in qc. */
static double bv_lower(const bv_ctx *c, int32_t id, const float *q, uint32_t qc, double cq)
{
    double m = c->nx[id] == qc ? c->omin[id] : c->mincore[id];
    if (m == INFINITY)
        return m;
    double lb = kd_boxdist(c->t, id, q);
    if (cq > lb)
        lb = cq;
    return m > lb ? m : lb;
}

static void bv_query(const bv_ctx *c, int32_t id, uint32_t qp, uint32_t qc, double cq, bv_best *b)
{
    const kd_tree *t = c->t;
    const kd_node *nd = &t->nodes[id];
    const float *q = t->xs + (size_t)qp * t->d;
    uint32_t qo = t->perm[qp];
    if (nd->left < 0) {
        for (uint32_t i = nd->start; i < nd->end; i++) {
            if (c->comp[i] == qc)
                continue;
            double w = cq > c->core2[i] ? cq : c->core2[i];
            if (w > b->w)
                continue;
            double dd = hdb_sqdist(q, t->xs + (size_t)i * t->d, t->d);
            if (dd > w)
                w = dd;
            uint32_t o = t->perm[i], lo = o < qo ? o : qo, hi = o < qo ? qo : o;
            if (hdb_key_less(w, lo, hi, b->w, b->lo, b->hi)) {
                b->w = w;
                b->lo = lo;
                b->hi = hi;
                b->other = i;
            }
        }
        return;
    }
    int32_t ch[2] = {nd->left, nd->right};
    double lb[2];
    for (int s = 0; s < 2; s++)
        lb[s] = bv_lower(c, ch[s], q, qc, cq);
    if (lb[1] < lb[0]) {
        int32_t ti = ch[0];
        ch[0] = ch[1];
        ch[1] = ti;
        double tl = lb[0];
        lb[0] = lb[1];
        lb[1] = tl;
    }
    for (int s = 0; s < 2; s++) {
        if (lb[s] == INFINITY)
            continue;
        /* The lightest key the node could give: at weight ties (duplicates, or edges at a core
         * distance) the row numbers decide, and a subtree of larger ones is skipped. */
        uint32_t mi = c->minid[ch[s]], klo = mi < qo ? mi : qo, khi = mi < qo ? qo : mi;
        if (!hdb_key_less(lb[s], klo, khi, b->w, b->lo, b->hi))
            continue;
        double bound = bits_double(__atomic_load_n(&c->cbound[qc], __ATOMIC_RELAXED));
        if (lb[s] > bound) {
            if (lb[s] < b->cut)
                b->cut = lb[s]; /* a lighter edge of the point may lie there, not of its
                                   component */
            continue;
        }
        bv_query(c, ch[s], qp, qc, cq, b);
    }
}

static uint32_t uf_find(uint32_t *parent, uint32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

int hdb_mst_boruvka(
    const float *x, size_t n, size_t d, size_t k, int n_threads, double *core2, hdb_edge *edges)
{
    int nt = n_threads_of(n_threads);
    kd_tree t;
    int rc = kd_build(&t, x, n, d);
    if (rc)
        return rc;
    rc = PROMO_ENOMEM;
    double *heaps = promo_mallocn((size_t)nt * k, sizeof *heaps);
    double *tcore = promo_mallocn(n, sizeof *tcore); /* core2 in tree order */
    uint32_t *uf = promo_mallocn(n, sizeof *uf);     /* union-find over tree positions */
    uint32_t *usz = promo_mallocn(n, sizeof *usz);   /* component sizes at the roots */
    uint32_t *comp = promo_mallocn(n, sizeof *comp); /* flattened representative */
    uint32_t *nx = promo_mallocn(t.n_nodes, sizeof *nx);
    double *omin = promo_mallocn(t.n_nodes, sizeof *omin);
    double *mincore = promo_mallocn(t.n_nodes, sizeof *mincore);
    uint32_t *minid = promo_mallocn(t.n_nodes, sizeof *minid);
    uint64_t *cbound = promo_mallocn(n, sizeof *cbound);
    bv_best *res = promo_mallocn(n, sizeof *res);   /* per point, kept across rounds */
    bv_best *cres = promo_mallocn(n, sizeof *cres); /* per component representative */
    /* The k nearest rows of each row (tree positions), to start the first round from: only
     * for a small k, so memory stays O(n). */
    size_t kk = k <= KNN_KEEP ? k : 0;
    uint32_t *nbr = promo_mallocn(n * kk + 1, sizeof *nbr);
    uint32_t *hids = promo_mallocn((size_t)nt * k, sizeof *hids);
    unsigned char *ball = promo_mallocn(n, 1); /* 1: the kNN list is the whole closed ball */
    if (!heaps || !tcore || !uf || !usz || !comp || !nx || !omin || !mincore || !minid || !cbound ||
        !res || !cres || !nbr || !hids || !ball)
        goto done;

        /* Core distances: kNN through the tree, in tree order. */
#pragma omp parallel num_threads(nt)
    {
        double *h = heaps + (size_t)omp_get_thread_num() * k;
        uint32_t *hid = hids + (size_t)omp_get_thread_num() * k;
#pragma omp for schedule(dynamic, 64)
        for (size_t i = 0; i < n; i++) {
            size_t len = 0;
            double tie = -1.0;
            kd_knn(&t, 0, t.xs + i * d, h, hid, &len, k, &tie);
            tcore[i] = h[0];
            ball[i] = tie != h[0];
            if (kk)
                memcpy(nbr + i * kk, hid, kk * sizeof *nbr);
        }
    }
    for (size_t i = 0; i < n; i++)
        core2[t.perm[i]] = tcore[i];
    /* Smallest core distance and row number under each node: children come after their
     * parent. */
    for (size_t id = t.n_nodes; id-- > 0;) {
        const kd_node *nd = &t.nodes[id];
        if (nd->left < 0) {
            double m = INFINITY;
            uint32_t mi = UINT32_MAX;
            for (uint32_t i = nd->start; i < nd->end; i++) {
                if (tcore[i] < m)
                    m = tcore[i];
                if (t.perm[i] < mi)
                    mi = t.perm[i];
            }
            mincore[id] = m;
            minid[id] = mi;
        } else {
            double a = mincore[nd->left], b = mincore[nd->right];
            mincore[id] = a < b ? a : b;
            uint32_t ia = minid[nd->left], ib = minid[nd->right];
            minid[id] = ia < ib ? ia : ib;
        }
    }

    for (size_t i = 0; i < n; i++) {
        uf[i] = (uint32_t)i;
        usz[i] = 1;
        res[i].other = UINT32_MAX;
        res[i].lower = 0.0;
        res[i].exact = 0;
    }
    /* First round: start each row from its lightest edge to one of its k nearest rows, a
     * valid edge and often the lightest, so the queries prune from the start. */
#pragma omp parallel for schedule(static) num_threads(nt) if (kk)
    for (size_t i = 0; i < n * (kk > 0); i++) {
        bv_best *b = &res[i];
        b->w = INFINITY;
        b->lo = b->hi = UINT32_MAX;
        uint32_t qo = t.perm[i];
        for (size_t s = 0; s < kk; s++) {
            uint32_t j = nbr[i * kk + s];
            if (j == i)
                continue;
            double w = tcore[i] > tcore[j] ? tcore[i] : tcore[j];
            double dd = hdb_sqdist(t.xs + i * d, t.xs + (size_t)j * d, d);
            if (dd > w)
                w = dd;
            uint32_t o = t.perm[j], lo = o < qo ? o : qo, hi = o < qo ? qo : o;
            if (hdb_key_less(w, lo, hi, b->w, b->lo, b->hi)) {
                b->w = w;
                b->lo = lo;
                b->hi = hi;
                b->other = j;
            }
        }
        /* Every edge of row i weighs at least core2[i], and those that weigh exactly that
         * join rows of its closed kNN ball: if the list is the whole ball, the lightest
         * there is the lightest of all. */
        if (b->other != UINT32_MAX && b->w == tcore[i] && ball[i]) {
            b->lower = b->w;
            b->exact = 1;
        }
    }
    const uint64_t inf_bits = 0x7FF0000000000000ull;
    size_t n_edges = 0;
    bv_ctx c = {&t, tcore, comp, nx, omin, mincore, minid, cbound};
    while (n_edges + 1 < n) {
        for (size_t i = 0; i < n; i++) {
            comp[i] = uf_find(uf, (uint32_t)i);
            cbound[i] = inf_bits;
        }
        for (size_t id = t.n_nodes; id-- > 0;) {
            const kd_node *nd = &t.nodes[id];
            /* The component of the densest row, and how dense the others can be: a node of
             * one cluster with a few sparse noise rows is nearly as good as a pure one. */
            if (nd->left < 0) {
                uint32_t best = nd->start;
                for (uint32_t i = nd->start + 1; i < nd->end; i++)
                    if (tcore[i] < tcore[best])
                        best = i;
                uint32_t xc = comp[best];
                double m = INFINITY;
                for (uint32_t i = nd->start; i < nd->end; i++)
                    if (comp[i] != xc && tcore[i] < m)
                        m = tcore[i];
                nx[id] = xc;
                omin[id] = m;
            } else {
                int32_t a = nd->left, b = nd->right;
                if (mincore[b] < mincore[a]) {
                    a = nd->right;
                    b = nd->left;
                }
                double ob = nx[b] == nx[a] ? omin[b] : mincore[b];
                nx[id] = nx[a];
                omin[id] = omin[a] < ob ? omin[a] : ob;
            }
        }
        /* Last round's edge of a point still leaves its component: a valid edge, so an upper
         * bound for the component from the start. The points outside a component only become
         * fewer, so a point's lower bound stays true and its exact lightest edge, if still
         * valid, stays its lightest: no query for either a point with such an edge or one
         * whose bound exceeds its component's best. */
        for (size_t i = 0; i < n; i++) {
            if (res[i].other != UINT32_MAX && comp[res[i].other] != comp[i])
                atomic_min_double(&cbound[comp[i]], res[i].w);
            else
                res[i].other = UINT32_MAX;
        }
#pragma omp parallel for schedule(dynamic, 256) num_threads(nt)
        for (size_t i = 0; i < n; i++) {
            uint32_t qc = comp[i];
            bv_best b = res[i];
            if (b.other != UINT32_MAX && b.exact)
                continue;
            b.exact = 0;
            if (b.other == UINT32_MAX) {
                b.w = INFINITY;
                b.lo = b.hi = UINT32_MAX;
            }
            if (tcore[i] > b.lower)
                b.lower = tcore[i];
            double bound = bits_double(__atomic_load_n(&cbound[qc], __ATOMIC_RELAXED));
            if (!(b.lower > bound)) {
                b.cut = INFINITY;
                bv_query(&c, 0, (uint32_t)i, qc, tcore[i], &b);
                double low = b.w < b.cut ? b.w : b.cut;
                if (low > b.lower)
                    b.lower = low;
                b.exact = b.other != UINT32_MAX && b.cut > b.w;
                if (b.other != UINT32_MAX)
                    atomic_min_double(&cbound[qc], b.w);
            }
            res[i] = b;
        }
        /* Each component's lightest edge: exact, whatever the schedule, since the point that
         * owns it is never cut short (its bounds never exceed that edge's weight). */
        for (size_t i = 0; i < n; i++)
            cres[i].other = UINT32_MAX;
        for (size_t i = 0; i < n; i++) {
            bv_best *br = &cres[comp[i]], *bi = &res[i];
            if (bi->other != UINT32_MAX &&
                (br->other == UINT32_MAX ||
                 hdb_key_less(bi->w, bi->lo, bi->hi, br->w, br->lo, br->hi)))
                *br = *bi;
        }
        size_t before = n_edges;
        for (size_t i = 0; i < n; i++) {
            const bv_best *br = &cres[i];
            if (comp[i] != i || br->other == UINT32_MAX)
                continue;
            uint32_t a = uf_find(uf, (uint32_t)i), b = uf_find(uf, br->other);
            if (a == b)
                continue; /* the other component chose the same edge */
            if (usz[a] < usz[b]) {
                uint32_t tmp = a;
                a = b;
                b = tmp;
            }
            uf[b] = a;
            usz[a] += usz[b];
            edges[n_edges].a = br->lo;
            edges[n_edges].b = br->hi;
            edges[n_edges].w = br->w;
            n_edges++;
        }
        PROMO_ASSERT(n_edges > before);
    }
    rc = PROMO_OK;
done:
    promo_free(heaps);
    promo_free(tcore);
    promo_free(uf);
    promo_free(usz);
    promo_free(comp);
    promo_free(nx);
    promo_free(omin);
    promo_free(mincore);
    promo_free(minid);
    promo_free(nbr);
    promo_free(hids);
    promo_free(ball);
    promo_free(cbound);
    promo_free(res);
    promo_free(cres);
    kd_free(&t);
    return rc;
}
