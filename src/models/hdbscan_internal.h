/* Internals of promo/hdbscan.h shared by hdbscan.c (hierarchy, condensed tree, selection)
 * and hdbscan_mst.c (core distances and the mutual-reachability minimum spanning tree).
 *
 * Weights are SQUARED mutual-reachability distances, max(core2[a], core2[b], |x_a - x_b|^2):
 * squaring is monotone, so the tree is the same and no square root is taken in the inner
 * loops. Edges are ordered by (w, a, b) with a < b the original row numbers: a total order,
 * so the minimum spanning tree is unique and Prim and Boruvka find the same one.
 */
#ifndef PROMO_HDBSCAN_INTERNAL_H
#define PROMO_HDBSCAN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct hdb_edge {
    uint32_t a, b; /* original rows, a < b */
    double w;      /* squared mutual-reachability distance */
} hdb_edge;

/* Squared Euclidean distance, summed in dimension order in double. Every distance and every
 * box bound goes through this order, so the same pair gives the same bits everywhere and a
 * box bound is never above a distance it bounds (rounding is monotone). */
static inline double hdb_sqdist(const float *a, const float *b, size_t d)
{
    double s = 0.0;
    for (size_t j = 0; j < d; j++) {
        double t = (double)a[j] - (double)b[j];
        s += t * t;
    }
    return s;
}

/* (w, a, b) < (w2, a2, b2) lexicographically; a <= b and a2 <= b2. */
static inline int
hdb_key_less(double w, uint32_t a, uint32_t b, double w2, uint32_t a2, uint32_t b2)
{
    if (w != w2)
        return w < w2;
    if (a != a2)
        return a < a2;
    return b < b2;
}

/* Squared core distances by brute force: core2[i] = the k-th smallest |x_i - x_j|^2 over all
 * j (i included), 1 <= k <= n. O(n^2 d) time, O(k) memory per thread. */
int hdb_core_brute(
    const float *x, size_t n, size_t d, size_t k, int n_threads, double *core2 /* OUT: n */);

/* Prim's algorithm on the implicit complete mutual-reachability graph: n - 1 edges (in the
 * order added) into edges. O(n^2 d) time, O(n) memory. */
int hdb_mst_prim(const float *x,
                 size_t n,
                 size_t d,
                 const double *core2,
                 int n_threads,
                 hdb_edge *edges /* OUT: n - 1 */);

/* Core distances by kNN queries through a k-d tree, then Boruvka rounds over the same tree:
 * n - 1 edges into edges, squared core distances into core2. O(n) memory beyond the data. */
int hdb_mst_boruvka(const float *x,
                    size_t n,
                    size_t d,
                    size_t k,
                    int n_threads,
                    double *core2 /* OUT: n */,
                    hdb_edge *edges /* OUT: n - 1 */);

#endif
