/* promo/hdbscan.h: density-based clustering with noise (HDBSCAN).
 *
 * Campello, Moulavi & Sander (2013) as accelerated by McInnes & Healy (2017): core distances,
 * the minimum spanning tree of the mutual-reachability graph, the single-linkage hierarchy,
 * the condensed tree (min_cluster_size), excess-of-mass cluster selection (a single cluster
 * is never selected, as allow_single_cluster=False), noise labelled -1, membership
 * probabilities and GLOSH outlier scores; the definitions of the `hdbscan` Python package and
 * scikit-learn's HDBSCAN.
 *
 * Core distance convention (scikit-learn's): the distance from a point to its min_samples-th
 * nearest point, the point itself included, so min_samples = 1 gives 0 and the `hdbscan`
 * package's min_samples = m is our m + 1. Distances are Euclidean.
 *
 * Memory is O(n) beyond the data (never an n x n matrix): Prim's algorithm in O(n^2) time for
 * small or high-dimensional data, Boruvka over a k-d tree for large low-dimensional data.
 * Both find the same tree (edges are ordered by weight, then by their end points, so the
 * minimum spanning tree is unique) and so the same labels.
 *
 * Cost: the kNN search for the core distances grows with min_samples, which defaults to
 * min_cluster_size (as in scikit-learn). For large clusters set min_samples explicitly to a
 * small k: on 100,000 x 8 (bench/hdbscan.sh) min_cluster_size 1000 takes 18.8 s with the
 * default min_samples (1000) and 2.9 s with min_samples 10, same clusters (ARI 1.0 on the blob
 * rows either way). Boruvka time also grows faster than n (21 s at 400,000 x 8).
 *
 * Usage:
 *   promo_hdbscan_params p = promo_hdbscan_params_default();
 *   p.min_cluster_size = 50;
 *   promo_hdbscan *h = NULL;
 *   if (promo_hdbscan_fit(&p, x, n, d, &h)) ... promo_last_error() ...;
 *   for (size_t i = 0; i < h->n; i++) ... h->labels[i] ... // -1 = noise
 *   promo_hdbscan_free(h);
 *
 * Determinism: the result depends only on the data and the parameters, not on the thread
 * count. Thread-safety: fits on different data may run concurrently.
 */
#ifndef PROMO_HDBSCAN_H
#define PROMO_HDBSCAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the minimum spanning tree is built; the result is the same either way. */
typedef enum promo_hdbscan_algorithm {
    PROMO_HDBSCAN_AUTO = 0,    /* Boruvka over a k-d tree when n > 4096 and d <= 16, else Prim */
    PROMO_HDBSCAN_PRIM = 1,    /* O(n^2) time, O(n) memory, any dimension */
    PROMO_HDBSCAN_BORUVKA = 2, /* k-d tree kNN + Boruvka rounds; fast in low dimension */
    PROMO_HDBSCAN_ALGORITHM_COUNT
} promo_hdbscan_algorithm;

typedef struct promo_hdbscan_params {
    size_t min_cluster_size; /* smallest cluster kept, >= 2 (default 5) */
    size_t min_samples;      /* k of the core distance, the point itself counted; 0 =
                                min_cluster_size; capped at n */
    int n_threads;           /* 0 = OpenMP default; results do not depend on it */
    int algorithm;           /* a promo_hdbscan_algorithm (default PROMO_HDBSCAN_AUTO) */
} promo_hdbscan_params;

/* min_cluster_size 5, min_samples 0, n_threads 0, algorithm AUTO. */
promo_hdbscan_params promo_hdbscan_params_default(void);

typedef struct promo_hdbscan { /* a fit; owned, promo_hdbscan_free */
    size_t n;                  /* rows clustered */
    int n_clusters;            /* clusters selected (0 when everything is noise) */
    int32_t *labels;           /* n: 0..n_clusters-1, -1 = noise */
    float *probabilities;      /* n: membership strength in [0, 1]; 0 for noise */
    float *outlier_scores;     /* n: GLOSH in [0, 1]; higher = more of an outlier */
    double mst_weight;         /* sum of the mutual-reachability MST's edge lengths */
    int algorithm;             /* the promo_hdbscan_algorithm that built the tree */
} promo_hdbscan;

/* Cluster n rows of d float32 features (row-major). *out: a new fit (promo_hdbscan_free).
 * Labels are numbered in a fixed order of the condensed tree (not by size).
 * Errors: PROMO_EUSAGE for a NULL argument, n = 0, d = 0, n >= 2^31, min_cluster_size < 2 or
 * a bad n_threads/algorithm; PROMO_EINPUT for a NaN or infinite value (the message names the
 * row and column); PROMO_ENOMEM. On error *out is NULL. */
int promo_hdbscan_fit(const promo_hdbscan_params *p,
                      const float *x,
                      size_t n,
                      size_t d,
                      promo_hdbscan **out /* OUT */);

void promo_hdbscan_free(promo_hdbscan *h); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
