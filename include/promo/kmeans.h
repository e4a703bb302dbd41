/* promo/kmeans.h: k-means clustering, silhouette, choice of K, column standardisation.
 *
 * k-means++ seeding (the greedy variant scikit-learn uses: 2 + log k candidates per new
 * center, the one lowering the potential most wins), n_init restarts keeping the lowest
 * inertia, and an exact accelerated Lloyd (Hamerly 2010: one upper and one lower distance
 * bound per point, half the distance to the nearest other center): the labels and centers are
 * those of plain Lloyd from the same seeding, only most distance computations are skipped.
 * Data are float32, row-major; sums (centers, inertia, potentials) accumulate in double.
 *
 * Usage:
 *   promo_kmeans_params p = promo_kmeans_params_default();
 *   p.k = 12;
 *   promo_kmeans *m = NULL;
 *   if (promo_kmeans_fit(&p, x, n, d, &m)) fprintf(stderr, "%s\n", promo_last_error());
 *   printf("inertia %g after %d iterations; row 0 in cluster %u\n", m->inertia, m->n_iter,
 *          m->labels[0]);
 *   promo_kmeans_free(m);
 *
 * Determinism: work runs over fixed blocks of rows whose partial sums are added in block
 * order, and every random draw comes from promo_rng streams of the seed, so results are
 * bit-identical at any thread count, and on any x86-64 CPU (the AVX2/AVX-512 kernels chosen at
 * run time compute the same bits as the plain C ones). With n_init >= 2, restarts run side by
 * side on the threads. Memory beyond x: a transposed copy of x, plus 40 + 4 (2 + log k) bytes
 * per row per concurrent restart. Thread-safety: no shared state; a fit is read-only.
 * Errors: PROMO_EUSAGE for bad parameters or shapes, PROMO_EINPUT for a NaN or infinite
 * value in x (row and column named), PROMO_ENOMEM.
 */
#ifndef PROMO_KMEANS_H
#define PROMO_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_kmeans_params {
    int k;         /* clusters, 1..n */
    int n_init;    /* restarts, best inertia kept (default 4) */
    int max_iter;  /* Lloyd iterations per restart (default 300) */
    double tol;    /* stop when the centers move less than tol x mean feature variance
                      (sklearn's rule: sum of squared center shifts; default 1e-4) */
    uint64_t seed; /* default 1 */
    int n_threads; /* 0 = OpenMP default; results do not depend on it */
} promo_kmeans_params;

/* k 8, n_init 4, max_iter 300, tol 1e-4, seed 1, n_threads 0. */
promo_kmeans_params promo_kmeans_params_default(void);

typedef struct promo_kmeans { /* a fit; owned, promo_kmeans_free */
    size_t n, d;
    int k;
    float *centers;   /* k x d, row-major */
    uint32_t *labels; /* n: the nearest center of each row (lowest index on a tie) */
    double inertia;   /* sum of squared distances to the nearest center */
    int n_iter;       /* iterations of the kept restart */
} promo_kmeans;

/* Cluster n rows of d floats (row-major) into p->k clusters. *out: a new fit
 * (promo_kmeans_free). An empty cluster is re-seeded with the row farthest from its center.
 * With fewer distinct rows than k some centers coincide (labels go to the lowest index). */
int promo_kmeans_fit(
    const promo_kmeans_params *p, const float *x, size_t n, size_t d, promo_kmeans **out /* OUT */);

void promo_kmeans_free(promo_kmeans *m); /* NULL-safe */

/* The k-means++ seeding promo_kmeans_fit uses for restart `restart` (0-based) of p->seed:
 * p->k rows of x copied into centers (caller's k x d floats). Same errors as the fit. */
int promo_kmeans_plusplus(const promo_kmeans_params *p,
                          const float *x,
                          size_t n,
                          size_t d,
                          int restart,
                          float *centers /* OUT: k x d */);

/* One Lloyd run (Hamerly) from the caller's p->k x d initial centers (p->n_init and p->seed
 * ignored): scikit-learn's KMeans(init=array, n_init=1). *out as promo_kmeans_fit. */
int promo_kmeans_fit_from(const promo_kmeans_params *p,
                          const float *x,
                          size_t n,
                          size_t d,
                          const float *init,
                          promo_kmeans **out /* OUT */);

/* The nearest center of each of n rows of d floats (d must equal m->d; lowest index on a
 * tie). labels: caller's n entries. Runs on OpenMP's default thread count. */
int promo_kmeans_assign(
    const promo_kmeans *m, const float *x, size_t n, size_t d, uint32_t *labels /* OUT: n */);

/* Mean silhouette of labels (k clusters) on a seeded sample of at most `sample` rows
 * (0 = all rows); exact on the sample (Euclidean distances in double, O(sample^2 d)), as
 * scikit-learn's silhouette_score(sample_size=...). A row alone in its cluster within the
 * sample scores 0. *out is NaN when the sample holds fewer than 2 clusters. Errors:
 * PROMO_EUSAGE (a label >= k, bad shapes), PROMO_ENOMEM. */
int promo_silhouette(const float *x,
                     size_t n,
                     size_t d,
                     const uint32_t *labels,
                     int k,
                     size_t sample,
                     uint64_t seed,
                     int n_threads,
                     double *out /* OUT */);

/* K chosen by silhouette over k_min..k_max, with the elbow curve. */
typedef struct promo_kmeans_choice {
    int k_min, k_max, best_k; /* best_k: highest silhouette (smaller K on a tie) */
    double *inertia;          /* k_max - k_min + 1 entries (owned): the elbow curve */
    double *silhouette;       /* same; NaN for K = 1 */
} promo_kmeans_choice;

/* Fit p (its k ignored) for every K in k_min..k_max (1 <= k_min <= k_max <= n, k_max >= 2)
 * and score each fit by promo_silhouette on a sample of `sample` rows (0 = all) drawn with
 * p->seed. *out is filled (free its arrays with promo_kmeans_choice_free). */
int promo_kmeans_choose_k(const promo_kmeans_params *p,
                          const float *x,
                          size_t n,
                          size_t d,
                          int k_min,
                          int k_max,
                          size_t sample,
                          promo_kmeans_choice *out /* OUT */);

/* Frees the arrays of *c and clears it; NULL-safe. */
void promo_kmeans_choice_free(promo_kmeans_choice *c);

/* Standardise columns in place (NaN -> column mean -> 0); means/sds: caller's d doubles
 * or NULL. Constant columns get sd 1. Means and population sds (ddof 0, as scikit-learn's
 * StandardScaler) are over the finite values; infinities are treated as missing too, and an
 * all-missing column gets mean 0. */
void promo_standardize(float *x, size_t n, size_t d, double *means, double *sds);

#ifdef __cplusplus
}
#endif
#endif
