/* k-means: greedy k-means++ seeding, Hamerly's exact accelerated Lloyd, restarts, silhouette,
 * the choice of K, and column standardisation.
 *
 * Seeding is scikit-learn's greedy k-means++ (Arthur & Vassilvitskii 2007 with 2 + log k
 * candidates per step, the candidate that lowers the potential most kept): candidates are drawn
 * by inverting the cumulative squared distances, located through per-block sums.
 *
 * Lloyd runs as Hamerly (2010, "Making k-means even faster"): each row keeps an upper bound u on
 * the distance to its center and a lower bound l on the distance to every other center; after
 * the centers move by shift[j], u grows by shift[a] and l shrinks by the largest other shift.
 * A row keeps its center without any distance computation when u <= max(l, s[a]) with s[a]
 * half the distance from center a to its nearest other center; else u is tightened, and only
 * if the test still fails are all k distances computed. Departures from the paper:
 *  - Distances are computed in float from direct differences (x - c, so no cancellation: the
 *    relative error is about d float epsilons) and every bound carries a relative slack of
 *    (d + 8) epsilons, so a pruned row really is nearest to its center: the labels are those
 *    of plain Lloyd up to float rounding at exact ties.
 *  - Center sums are double and updated by the rows that moved, applied in row order with each
 *    thread owning a range of clusters (with one thread: during the assignment pass), so every
 *    cluster's sum sees the same sequence of additions at any thread count (determinism), at
 *    a cost proportional to the moves.
 *  - Iterations follow scikit-learn's loop: stop when no label changed (strict convergence) or
 *    the squared center shifts sum to at most tol x the mean column variance; without strict
 *    convergence one more assignment makes the labels match the returned centers.
 *  - An empty cluster is re-seeded with the row farthest from its center (exact double
 *    distances; rows at distance 0 or alone in their cluster are not taken), and that row's
 *    label moves with it so the sums stay consistent with the labels.
 * Inertia is recomputed exactly in double at the end of each restart; the lowest is kept (the
 * earliest restart on a tie). Row blocks are fixed by n alone, so results do not depend on the
 * thread count.
 *
 * Speed (1M x 16, k 12: bench/kmeans.sh):
 *  - The distance kernels exist as plain C and as AVX2 and AVX-512 versions chosen at run time
 *    (the Makefile targets x86-64-v2). Each lane does the same IEEE operations in the same
 *    order and -std=c11 keeps fused multiply-add off, so all three give the same bits.
 *  - Rows failing Hamerly's test are gathered 64 at a time for the kernel, four rows per pass
 *    over the transposed centers; tightening reads scattered rows, so they are prefetched.
 *  - k-means++ scores every row against 2 + log k candidates: rows are transposed once per fit
 *    into groups of 16 so the rows fill the vector lanes; the last pick's distances are folded
 *    into the next pass instead of a pass of their own. (Pruning rows by the triangle
 *    inequality skipped only 12% of them on overlapping blobs and cost more than it saved.)
 *  - With n_init >= 2 and several threads, restarts run side by side, one thread each (no
 *    barrier inside a restart: this matters on a shared machine); each restart gives the same
 *    bits on one thread as on many, so this changes nothing but the time.
 * Memory beyond the data: a transposed copy of x (k-means++), and per concurrent restart about
 * 40 + 4 (2 + log k) bytes per row plus the best labels.
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/kmeans.h>
#include <promo/rng.h>

#define BLOCK    2048  /* rows per block of parallel work (fixed: determinism) */
#define PREFETCH 16    /* rows ahead to prefetch in the bounds pass */
#define SUB      64    /* rows per call of the distance kernel */
#define LANES    8     /* centers are padded to a multiple of this in the transposed layout */
#define FAR      1e30f /* coordinate of a padding center: its distance is +inf */
#define NO_LABEL UINT32_MAX

static int threads_of(int n)
{
    return n > 0 ? n : omp_get_max_threads();
}

static size_t n_blocks(size_t n)
{
    return (n + BLOCK - 1) / BLOCK;
}

static size_t pad_lanes(size_t k)
{
    return (k + LANES - 1) / LANES * LANES;
}

/* ===================================================================== distance kernels === */

/* Squared distances of m rows (x + rows[r] * d) to the kp centers stored transposed
 * (ct[f * kp + j]) into out (m x kp), in float. Every lane computes acc += (x - c) * (x - c)
 * over the features in order, with no fused multiply-add (-std=c11 keeps contraction off), so
 * the generic, AVX2 and AVX-512 versions give the same bits and the choice among them, made at
 * run time (the Makefile targets x86-64-v2), changes only the speed. Four rows at a time keep
 * four independent chains of additions in flight. */
static void rows_generic(const float *x,
                         size_t d,
                         const uint32_t *rows,
                         size_t m,
                         const float *ct,
                         size_t kp,
                         float *out)
{
    for (size_t r = 0; r < m; r++) {
        const float *xi = x + (size_t)rows[r] * d;
        float *o = out + r * kp;
        for (size_t j = 0; j < kp; j++)
            o[j] = 0.0f;
        for (size_t f = 0; f < d; f++) {
            float v = xi[f];
            const float *c = ct + f * kp;
#pragma omp simd
            for (size_t j = 0; j < kp; j++) {
                float t = v - c[j];
                o[j] += t * t;
            }
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_KERNELS 1

__attribute__((target("avx2"))) static void rows_avx2(const float *x,
                                                      size_t d,
                                                      const uint32_t *rows,
                                                      size_t m,
                                                      const float *ct,
                                                      size_t kp,
                                                      float *out)
{
    size_t r = 0;
    for (; r + 4 <= m; r += 4) {
        const float *x0 = x + (size_t)rows[r] * d, *x1 = x + (size_t)rows[r + 1] * d;
        const float *x2 = x + (size_t)rows[r + 2] * d, *x3 = x + (size_t)rows[r + 3] * d;
        for (size_t c0 = 0; c0 < kp; c0 += 8) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t f = 0; f < d; f++) {
                __m256 cv = _mm256_loadu_ps(ct + f * kp + c0);
                __m256 t0 = _mm256_sub_ps(_mm256_set1_ps(x0[f]), cv);
                __m256 t1 = _mm256_sub_ps(_mm256_set1_ps(x1[f]), cv);
                __m256 t2 = _mm256_sub_ps(_mm256_set1_ps(x2[f]), cv);
                __m256 t3 = _mm256_sub_ps(_mm256_set1_ps(x3[f]), cv);
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(t0, t0));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(t1, t1));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(t2, t2));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(t3, t3));
            }
            _mm256_storeu_ps(out + r * kp + c0, a0);
            _mm256_storeu_ps(out + (r + 1) * kp + c0, a1);
            _mm256_storeu_ps(out + (r + 2) * kp + c0, a2);
            _mm256_storeu_ps(out + (r + 3) * kp + c0, a3);
        }
    }
    if (r < m)
        rows_generic(x, d, rows + r, m - r, ct, kp, out + r * kp);
}

__attribute__((target("avx512f"))) static void rows_avx512(const float *x,
                                                           size_t d,
                                                           const uint32_t *rows,
                                                           size_t m,
                                                           const float *ct,
                                                           size_t kp,
                                                           float *out)
{
    size_t r = 0;
    for (; r + 4 <= m; r += 4) {
        const float *x0 = x + (size_t)rows[r] * d, *x1 = x + (size_t)rows[r + 1] * d;
        const float *x2 = x + (size_t)rows[r + 2] * d, *x3 = x + (size_t)rows[r + 3] * d;
        for (size_t c0 = 0; c0 < kp; c0 += 16) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t f = 0; f < d; f++) {
                __m512 cv = _mm512_loadu_ps(ct + f * kp + c0);
                __m512 t0 = _mm512_sub_ps(_mm512_set1_ps(x0[f]), cv);
                __m512 t1 = _mm512_sub_ps(_mm512_set1_ps(x1[f]), cv);
                __m512 t2 = _mm512_sub_ps(_mm512_set1_ps(x2[f]), cv);
                __m512 t3 = _mm512_sub_ps(_mm512_set1_ps(x3[f]), cv);
                a0 = _mm512_add_ps(a0, _mm512_mul_ps(t0, t0));
                a1 = _mm512_add_ps(a1, _mm512_mul_ps(t1, t1));
                a2 = _mm512_add_ps(a2, _mm512_mul_ps(t2, t2));
                a3 = _mm512_add_ps(a3, _mm512_mul_ps(t3, t3));
            }
            _mm512_storeu_ps(out + r * kp + c0, a0);
            _mm512_storeu_ps(out + (r + 1) * kp + c0, a1);
            _mm512_storeu_ps(out + (r + 2) * kp + c0, a2);
            _mm512_storeu_ps(out + (r + 3) * kp + c0, a3);
        }
    }
    if (r < m)
        rows_generic(x, d, rows + r, m - r, ct, kp, out + r * kp);
}

/* argmin2 for 16 lanes: the minimum, its lowest lane, the minimum of the other lanes. */
__attribute__((target("avx512f"))) static uint32_t
argmin2_avx512(const float *dist, float *d1, float *d2)
{
    __m512 v = _mm512_loadu_ps(dist);
    float b1 = _mm512_reduce_min_ps(v);
    unsigned eq = (unsigned)_mm512_cmp_ps_mask(v, _mm512_set1_ps(b1), _CMP_EQ_OQ);
    uint32_t best = (uint32_t)__builtin_ctz(eq);
    __m512 w = _mm512_mask_mov_ps(v, (__mmask16)(1u << best), _mm512_set1_ps(INFINITY));
    *d1 = b1;
    *d2 = _mm512_reduce_min_ps(w);
    return best;
}

/* Horizontal minimum of 8 lanes. */
__attribute__((target("avx2"))) static float hmin8(__m256 v)
{
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/* argmin2 for 8 or 16 lanes. */
__attribute__((target("avx2"))) static uint32_t
argmin2_avx2(const float *dist, size_t kp, float *d1, float *d2)
{
    __m256 lo = _mm256_loadu_ps(dist);
    __m256 hi = kp == 16 ? _mm256_loadu_ps(dist + 8) : _mm256_set1_ps(INFINITY);
    float b1 = hmin8(_mm256_min_ps(lo, hi));
    __m256 bv = _mm256_set1_ps(b1);
    unsigned eq = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(lo, bv, _CMP_EQ_OQ)) |
                  (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(hi, bv, _CMP_EQ_OQ)) << 8;
    uint32_t best = (uint32_t)__builtin_ctz(eq);
    float tmp[16];
    _mm256_storeu_ps(tmp, lo);
    _mm256_storeu_ps(tmp + 8, hi);
    tmp[best] = INFINITY;
    *d1 = b1;
    *d2 = hmin8(_mm256_min_ps(_mm256_loadu_ps(tmp), _mm256_loadu_ps(tmp + 8)));
    return best;
}

__attribute__((target("avx512f"))) static void
group_avx512(const float *xt, size_t d, const float *cand, size_t m, float *out)
{
    for (size_t t = 0; t < m; t++) {
        const float *ct = cand + t * d;
        __m512 acc = _mm512_setzero_ps();
        for (size_t f = 0; f < d; f++) {
            __m512 u = _mm512_sub_ps(_mm512_loadu_ps(xt + f * 16), _mm512_set1_ps(ct[f]));
            acc = _mm512_add_ps(acc, _mm512_mul_ps(u, u));
        }
        _mm512_storeu_ps(out + t * 16, acc);
    }
}

__attribute__((target("avx2"))) static void
group_avx2(const float *xt, size_t d, const float *cand, size_t m, float *out)
{
    for (size_t t = 0; t < m; t++) {
        const float *ct = cand + t * d;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        for (size_t f = 0; f < d; f++) {
            __m256 cf = _mm256_set1_ps(ct[f]);
            __m256 u0 = _mm256_sub_ps(_mm256_loadu_ps(xt + f * 16), cf);
            __m256 u1 = _mm256_sub_ps(_mm256_loadu_ps(xt + f * 16 + 8), cf);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(u0, u0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(u1, u1));
        }
        _mm256_storeu_ps(out + t * 16, a0);
        _mm256_storeu_ps(out + t * 16 + 8, a1);
    }
}

__attribute__((target("avx512f"))) static void
pair8_avx512(const double *xt, size_t d, const double *xi, double *out)
{
    __m512d acc = _mm512_setzero_pd();
    for (size_t f = 0; f < d; f++) {
        __m512d u = _mm512_sub_pd(_mm512_loadu_pd(xt + f * 8), _mm512_set1_pd(xi[f]));
        acc = _mm512_add_pd(acc, _mm512_mul_pd(u, u));
    }
    _mm512_storeu_pd(out, _mm512_sqrt_pd(acc));
}

__attribute__((target("avx2"))) static void
pair8_avx2(const double *xt, size_t d, const double *xi, double *out)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    for (size_t f = 0; f < d; f++) {
        __m256d v = _mm256_set1_pd(xi[f]);
        __m256d u0 = _mm256_sub_pd(_mm256_loadu_pd(xt + f * 8), v);
        __m256d u1 = _mm256_sub_pd(_mm256_loadu_pd(xt + f * 8 + 4), v);
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(u0, u0));
        a1 = _mm256_add_pd(a1, _mm256_mul_pd(u1, u1));
    }
    _mm256_storeu_pd(out, _mm256_sqrt_pd(a0));
    _mm256_storeu_pd(out + 4, _mm256_sqrt_pd(a1));
}
#endif

/* Euclidean distances, in double, of row xi to a group of 8 rows stored transposed
 * (xt[f * 8 + r]): per lane the sum of (a - b)^2 over the features in order and a correctly
 * rounded sqrt, so every version gives the bits of the plain loop (silhouette). */
static void pair8_generic(const double *xt, size_t d, const double *xi, double *out)
{
    for (size_t r = 0; r < 8; r++)
        out[r] = 0.0;
    for (size_t f = 0; f < d; f++) {
        double v = xi[f];
#pragma omp simd
        for (size_t r = 0; r < 8; r++) {
            double u = xt[f * 8 + r] - v;
            out[r] += u * u;
        }
    }
    for (size_t r = 0; r < 8; r++)
        out[r] = sqrt(out[r]);
}

static void pair8(const double *xt, size_t d, const double *xi, double *out)
{
#ifdef HAVE_X86_KERNELS
    if (__builtin_cpu_supports("avx512f")) {
        pair8_avx512(xt, d, xi, out);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        pair8_avx2(xt, d, xi, out);
        return;
    }
#endif
    pair8_generic(xt, d, xi, out);
}

/* Squared distances of a group of 16 rows stored transposed (xt[f * 16 + r]) to m candidate
 * rows (m x d) into out (m x 16): the same per-lane arithmetic as dist_rows, with rows in the
 * lanes (k-means++ scores every row against a few candidates: no lane is wasted). */
static void group_generic(const float *xt, size_t d, const float *cand, size_t m, float *out)
{
    for (size_t t = 0; t < m; t++) {
        const float *ct = cand + t * d;
        float *o = out + t * 16;
        for (size_t r = 0; r < 16; r++)
            o[r] = 0.0f;
        for (size_t f = 0; f < d; f++) {
            float v = ct[f];
#pragma omp simd
            for (size_t r = 0; r < 16; r++) {
                float u = xt[f * 16 + r] - v;
                o[r] += u * u;
            }
        }
    }
}

static void dist_group(const float *xt, size_t d, const float *cand, size_t m, float *out)
{
#ifdef HAVE_X86_KERNELS
    if (__builtin_cpu_supports("avx512f")) {
        group_avx512(xt, d, cand, m, out);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        group_avx2(xt, d, cand, m, out);
        return;
    }
#endif
    group_generic(xt, d, cand, m, out);
}

static uint32_t argmin2_generic(const float *dist, size_t kp, float *d1, float *d2);

/* Nearest center of one distance row and the second nearest distance (argmin2_generic). */
static uint32_t argmin2(const float *dist, size_t kp, float *d1, float *d2)
{
#ifdef HAVE_X86_KERNELS
    if (kp == 16 && __builtin_cpu_supports("avx512f"))
        return argmin2_avx512(dist, d1, d2);
    if ((kp == 8 || kp == 16) && __builtin_cpu_supports("avx2"))
        return argmin2_avx2(dist, kp, d1, d2);
#endif
    return argmin2_generic(dist, kp, d1, d2);
}

static void dist_rows(const float *x,
                      size_t d,
                      const uint32_t *rows,
                      size_t m,
                      const float *ct,
                      size_t kp,
                      float *out)
{
#ifdef HAVE_X86_KERNELS
    if (kp % 16 == 0 && __builtin_cpu_supports("avx512f")) {
        rows_avx512(x, d, rows, m, ct, kp, out);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        rows_avx2(x, d, rows, m, ct, kp, out);
        return;
    }
#endif
    rows_generic(x, d, rows, m, ct, kp, out);
}

/* Squared distance of one row to one center: only for upper bounds, so the order of the
 * additions (vectorised) need not match dist_rows. */
static float dist_one(const float *xi, const float *c, size_t d)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t f = 0; f < d; f++) {
        float t = xi[f] - c[f];
        s += t * t;
    }
    return s;
}

static double dist2_double(const float *a, const float *b, size_t d)
{
    double s = 0.0;
    for (size_t f = 0; f < d; f++) {
        double t = (double)a[f] - (double)b[f];
        s += t * t;
    }
    return s;
}

/* Transpose m rows of d floats into ct (d x kp), padding lanes m..kp-1 with FAR. */
static void transpose_centers(const float *c, size_t m, size_t d, size_t kp, float *ct)
{
    for (size_t f = 0; f < d; f++) {
        for (size_t j = 0; j < m; j++)
            ct[f * kp + j] = c[j * d + f];
        for (size_t j = m; j < kp; j++)
            ct[f * kp + j] = FAR;
    }
}

/* Nearest of the kp entries of dist (lanes k..kp-1 are padding at +inf; lowest index on a
 * tie) and the second smallest. */
static uint32_t argmin2_generic(const float *dist, size_t kp, float *d1, float *d2)
{
    uint32_t best = 0;
    float b1 = dist[0], b2 = INFINITY;
    for (size_t j = 1; j < kp; j++) {
        float v = dist[j];
        if (v < b1) {
            b2 = b1;
            b1 = v;
            best = (uint32_t)j;
        } else if (v < b2) {
            b2 = v;
        }
    }
    *d1 = b1;
    *d2 = b2;
    return best;
}

/* First row with a NaN or infinite value (n if none); *col gets its column. */
static size_t first_nonfinite(const float *x, size_t n, size_t d, int nt, size_t *col)
{
    size_t nb = n_blocks(n), first = n;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) reduction(min : first)
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
        for (size_t i = lo; i < hi && i < first; i++) {
            const float *xi = x + i * d;
            int bad = 0;
            for (size_t f = 0; f < d; f++)
                bad |= !isfinite(xi[f]);
            if (bad) {
                first = i;
                break;
            }
        }
    }
    if (first < n) {
        *col = 0;
        while (isfinite(x[first * d + *col]))
            (*col)++;
    }
    return first;
}

/* ===================================================================== fit state ========== */

typedef struct fitctx {
    const float *x;        /* n x d rows (borrowed) */
    size_t n, d, k;        /* rows, features, clusters */
    size_t kp;             /* k padded to LANES */
    size_t nb;             /* row blocks */
    int nt;                /* threads */
    double rel;            /* relative slack of every distance bound */
    double tol;            /* tol x mean column variance */
    float *centers;        /* k x d, current */
    float *ct;             /* d x kp, current centers transposed */
    float *dbuf;           /* nt x SUB x kpt: distance rows per thread */
    uint32_t *ibuf;        /* nt x SUB: row indices per thread */
    uint32_t *tbuf;        /* nt x BLOCK: rows failing the bounds, per thread */
    double *mbuf;          /* nt x BLOCK: their bound max(l, s[a]) */
    double *sums;          /* k x d: sums of the rows of each cluster */
    int64_t *counts;       /* k: rows per cluster */
    uint32_t *labels;      /* n */
    double *upper;         /* n: upper bound on the distance to the own center */
    double *lower;         /* n: lower bound on the distance to every other center */
    uint32_t *mv_idx;      /* n: rows that moved, per block at the block's offset */
    uint32_t *mv_old;      /* n: their previous label (NO_LABEL in the first assignment) */
    size_t *b_moves;       /* nb: moves per block */
    double *b_acc;         /* nb x max(LANES, k): per-block partial sums */
    double *shift;         /* k: how far each center moved in the last update */
    double *half;          /* k: half the distance to the nearest other center, less the slack */
    size_t j_max;          /* center with the largest shift */
    double shift1;         /* largest shift */
    double shift2;         /* largest shift of the others */
    size_t accw;           /* width of a block's row of b_acc: max(k, candidates, LANES) */
    size_t kpt;            /* lanes of a distance row: max(kp, candidates padded) */
    float *cand_rows;      /* n_trials x d: k-means++ candidates */
    float *xt;             /* n x d rows transposed in groups of 16 (k-means++), or NULL */
    int xt_borrowed;       /* xt belongs to another context */
    float *newc;           /* k x d scratch: the next centers */
    uint32_t *best_labels; /* n: labels of the best restart this context ran */
    float *best_centers;   /* k x d: its centers */
    double best_inertia;   /* its inertia */
    int best_r;            /* its index (-1: none yet) */
    int best_iter;         /* its iterations */
    float *closest;        /* n: k-means++ squared distance to the nearest chosen center */
    float *cand_dist;      /* n_trials x n: k-means++ squared distances to the candidates */
    double *far;           /* n: exact distances for re-seeding empty clusters (lazily) */
} fitctx;

static void ctx_free(fitctx *c)
{
    promo_free(c->centers);
    promo_free(c->ct);
    promo_free(c->dbuf);
    promo_free(c->ibuf);
    promo_free(c->tbuf);
    promo_free(c->mbuf);
    promo_free(c->sums);
    promo_free(c->counts);
    promo_free(c->labels);
    promo_free(c->upper);
    promo_free(c->lower);
    promo_free(c->mv_idx);
    promo_free(c->mv_old);
    promo_free(c->b_moves);
    promo_free(c->b_acc);
    promo_free(c->shift);
    promo_free(c->half);
    promo_free(c->cand_rows);
    if (!c->xt_borrowed)
        promo_free(c->xt);
    promo_free(c->newc);
    promo_free(c->best_labels);
    promo_free(c->best_centers);
    promo_free(c->closest);
    promo_free(c->cand_dist);
    promo_free(c->far);
}

static size_t n_trials_of(size_t k)
{
    return 2 + (size_t)log((double)k);
}

static int ctx_init(fitctx *c, const float *x, size_t n, size_t d, int k, int nt)
{
    memset(c, 0, sizeof *c);
    c->x = x;
    c->n = n;
    c->d = d;
    c->k = (size_t)k;
    c->kp = pad_lanes(c->k);
    c->nb = n_blocks(n);
    c->nt = nt;
    c->rel = (double)(d + 8) * FLT_EPSILON;
    size_t nt_ = (size_t)nt, tr = n_trials_of(c->k);
    size_t accw = c->k > tr ? c->k : tr;
    accw = accw > LANES ? accw : LANES;
    c->accw = accw;
    size_t kpt = pad_lanes(tr) > c->kp ? pad_lanes(tr) : c->kp;
    c->kpt = kpt;
    if (!(c->centers = promo_mallocn(c->k * d, sizeof(float))) ||
        !(c->ct = promo_mallocn(kpt * d, sizeof(float))) ||
        !(c->dbuf = promo_mallocn(nt_ * SUB * kpt, sizeof(float))) ||
        !(c->ibuf = promo_mallocn(nt_ * SUB, sizeof(uint32_t))) ||
        !(c->tbuf = promo_mallocn(nt_ * BLOCK, sizeof(uint32_t))) ||
        !(c->mbuf = promo_mallocn(nt_ * BLOCK, sizeof(double))) ||
        !(c->sums = promo_mallocn(c->k * d, sizeof(double))) ||
        !(c->counts = promo_mallocn(c->k, sizeof(int64_t))) ||
        !(c->labels = promo_mallocn(n, sizeof(uint32_t))) ||
        !(c->upper = promo_mallocn(n, sizeof(double))) ||
        !(c->lower = promo_mallocn(n, sizeof(double))) ||
        !(c->mv_idx = promo_mallocn(n, sizeof(uint32_t))) ||
        !(c->mv_old = promo_mallocn(n, sizeof(uint32_t))) ||
        !(c->b_moves = promo_mallocn(c->nb, sizeof(size_t))) ||
        !(c->b_acc = promo_mallocn(c->nb * accw, sizeof(double))) ||
        !(c->shift = promo_mallocn(c->k, sizeof(double))) ||
        !(c->half = promo_mallocn(c->k, sizeof(double))) ||
        !(c->cand_rows = promo_mallocn(tr * d, sizeof(float))) ||
        !(c->closest = promo_mallocn(n, sizeof(float))) ||
        !(c->cand_dist = promo_mallocn(tr * n, sizeof(float))))
        return PROMO_ENOMEM;
    return PROMO_OK;
}

/* tol x the mean over columns of the population variance (scikit-learn's _tolerance). */
static void scaled_tol(fitctx *c, double tol)
{
    size_t n = c->n, d = c->d, nb = c->nb;
    double *mean = promo_calloc(d, sizeof(double));
    double *acc = promo_mallocn(nb * d, sizeof(double));
    if (!mean || !acc) {
        /* Without memory for the exact figure, tol applies unscaled: still a valid rule. */
        c->tol = tol;
        goto done;
    }
    for (int pass = 0; pass < 2; pass++) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->nt)
        for (size_t b = 0; b < nb; b++) {
            size_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
            double *a = acc + b * d;
            memset(a, 0, d * sizeof *a);
            if (pass) {
                for (size_t i = lo; i < hi; i++) {
                    const float *xi = c->x + i * d;
                    for (size_t f = 0; f < d; f++) {
                        double t = (double)xi[f] - mean[f];
                        a[f] += t * t;
                    }
                }
            } else {
                for (size_t i = lo; i < hi; i++) {
                    const float *xi = c->x + i * d;
                    for (size_t f = 0; f < d; f++)
                        a[f] += (double)xi[f];
                }
            }
        }
        double var = 0.0;
        for (size_t f = 0; f < d; f++) {
            double s = 0.0;
            for (size_t b = 0; b < nb; b++)
                s += acc[b * d + f];
            if (pass)
                var += s / (double)n;
            else
                mean[f] = s / (double)n;
        }
        if (pass)
            c->tol = tol * var / (double)d;
    }
done:
    promo_free(mean);
    promo_free(acc);
}

/* ===================================================================== k-means++ ========== */

/* The rows transposed in groups of 16 (xt[(g * d + f) * 16 + r] = x[g * 16 + r][f]; rows
 * past n are 0), built once per fit for k-means++. */
static int build_xt(fitctx *c)
{
    size_t n = c->n, d = c->d, ng = (n + 15) / 16;
    if (c->xt)
        return PROMO_OK;
    if (!(c->xt = promo_mallocn(ng * 16 * d, sizeof(float))))
        return PROMO_ENOMEM;
#pragma omp parallel for schedule(static) num_threads(c->nt)
    for (size_t g = 0; g < ng; g++) {
        float *o = c->xt + g * 16 * d;
        for (size_t r = 0; r < 16; r++) {
            size_t i = g * 16 + r;
            for (size_t f = 0; f < d; f++)
                o[f * 16 + r] = i < n ? c->x[i * d + f] : 0.0f;
        }
    }
    return PROMO_OK;
}

/* Squared distances of every row to the m candidate rows `cand` (m x d), into cand_dist
 * (m x n), and the potential sum_i min(closest_i, dist) per candidate and block into
 * b_acc[b * accw + t] (no min when use_closest is 0), summed row by row in order. closest
 * first takes min(closest, pending) when pending (the last pick's distances) is given. (Pruning
 * rows by the triangle inequality, as accelerated k-means++ does, skipped only 12% of the rows
 * on overlapping blobs and cost more than it saved.) */
static void
candidate_pass(fitctx *c, const float *cand, size_t m, int use_closest, const float *pending)
{
    size_t n = c->n, d = c->d;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->nt)
    for (size_t b = 0; b < c->nb; b++) {
        size_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
        size_t tid = (size_t)omp_get_thread_num();
        float *dist = c->dbuf + tid * SUB * c->kpt;
        double *pot = c->b_acc + b * c->accw;
        for (size_t t = 0; t < m; t++)
            pot[t] = 0.0;
        for (size_t g0 = lo; g0 < hi; g0 += 16) { /* BLOCK is a multiple of 16 */
            size_t nr = hi - g0 < 16 ? hi - g0 : 16;
            /* The last round's pick, folded in here rather than in a pass of its own (read
             * before this group's distances overwrite its row of cand_dist). */
            if (pending)
                for (size_t r = 0; r < nr; r++)
                    if (pending[g0 + r] < c->closest[g0 + r])
                        c->closest[g0 + r] = pending[g0 + r];
            dist_group(c->xt + g0 * d, d, cand, m, dist);
            for (size_t t = 0; t < m; t++)
                memcpy(c->cand_dist + t * n + g0, dist + t * 16, nr * sizeof(float));
            for (size_t r = 0; r < nr; r++) {
                float cl = use_closest ? c->closest[g0 + r] : INFINITY;
                for (size_t t = 0; t < m; t++) {
                    float v = dist[t * 16 + r];
                    pot[t] += (double)(v < cl ? v : cl);
                }
            }
        }
    }
}

/* The row where the cumulative sum of closest (blocks summed as b_acc[. * accw + t] holds
 * them) first reaches r: numpy's searchsorted(cumsum, r, 'left'), clipped to n - 1. closest
 * is read as min(closest, pending) when the last pick is still pending. */
static size_t sample_row(const fitctx *c, size_t t, const float *pending, double r)
{
    size_t accw = c->accw;
    double run = 0.0;
    for (size_t b = 0; b < c->nb; b++) {
        double bs = c->b_acc[b * accw + t];
        if (run + bs >= r) {
            size_t lo = b * BLOCK, hi = lo + BLOCK < c->n ? lo + BLOCK : c->n;
            /* The same additions in the same order as the block sum, so this reaches it. */
            double s = 0.0;
            for (size_t i = lo; i < hi; i++) {
                float cl = c->closest[i];
                if (pending && pending[i] < cl)
                    cl = pending[i];
                s += (double)cl;
                if (run + s >= r)
                    return i;
            }
            return hi - 1;
        }
        run += bs;
    }
    return c->n - 1;
}

static void kmeanspp(fitctx *c, promo_rng *rng)
{
    size_t n = c->n, d = c->d, k = c->k, tr = n_trials_of(k);
    size_t accw = c->accw;
    size_t first = (size_t)promo_rng_below(rng, n);
    memcpy(c->centers, c->x + first * d, d * sizeof(float));
    candidate_pass(c, c->x + first * d, 1, 0, NULL);
    memcpy(c->closest, c->cand_dist, n * sizeof(float));
    /* b_acc[. * accw + 0] now holds the block sums of closest (same order of additions). */
    double pot = 0.0;
    for (size_t b = 0; b < c->nb; b++)
        pot += c->b_acc[b * accw];
    /* The distances of the last pick: closest takes their minimum lazily, in the next pass. */
    const float *pending = NULL;
    for (size_t j = 1; j < k; j++) {
        for (size_t t = 0; t < tr; t++) {
            double r = promo_rng_uniform(rng) * pot;
            size_t row = sample_row(c, 0, pending, r);
            memcpy(c->cand_rows + t * d, c->x + row * d, d * sizeof(float));
        }
        candidate_pass(c, c->cand_rows, tr, 1, pending);
        size_t best = 0;
        double best_pot = INFINITY;
        for (size_t t = 0; t < tr; t++) {
            double s = 0.0;
            for (size_t b = 0; b < c->nb; b++)
                s += c->b_acc[b * accw + t];
            if (s < best_pot) {
                best_pot = s;
                best = t;
            }
        }
        memcpy(c->centers + j * d, c->cand_rows + best * d, d * sizeof(float));
        pot = best_pot;
        pending = c->cand_dist + best * n;
        /* Block sums of min(closest, pending) are exactly the chosen candidate's potentials. */
        for (size_t b = 0; b < c->nb; b++)
            c->b_acc[b * accw] = c->b_acc[b * accw + best];
    }
}

/* ===================================================================== Hamerly ============ */

/* Transposed centers, half the distance from each center to its nearest other (less the
 * slack), for the current centers. */
static void prepare_centers(fitctx *c)
{
    size_t k = c->k, d = c->d;
    transpose_centers(c->centers, k, d, c->kp, c->ct);
    for (size_t j = 0; j < k; j++)
        c->half[j] = INFINITY;
    for (size_t j = 0; j < k; j++)
        for (size_t j2 = j + 1; j2 < k; j2++) {
            double h = 0.5 * sqrt(dist2_double(c->centers + j * d, c->centers + j2 * d, d));
            if (h < c->half[j])
                c->half[j] = h;
            if (h < c->half[j2])
                c->half[j2] = h;
        }
    for (size_t j = 0; j < k; j++)
        c->half[j] *= 1.0 - c->rel;
}

/* All distances of the m pending rows: new labels and bounds, moves recorded after `*moves`
 * at the block's offset lo. */
static void flush_rows(
    fitctx *c, int full, const uint32_t *rows, size_t m, float *dist, size_t lo, size_t *moves)
{
    size_t k = c->k, kp = c->kp;
    double up = 1.0 + c->rel, lo_f = 1.0 - c->rel;
    dist_rows(c->x, c->d, rows, m, c->ct, kp, dist);
    for (size_t r = 0; r < m; r++) {
        uint32_t i = rows[r], a = full ? NO_LABEL : c->labels[i];
        float d1, d2;
        uint32_t best = argmin2(dist + r * kp, kp, &d1, &d2);
        c->upper[i] = (double)sqrtf(d1) * up;
        c->lower[i] = k > 1 ? (double)sqrtf(d2) * lo_f : INFINITY;
        if (best != a) {
            c->labels[i] = best;
            if (c->nt == 1) {
                /* One thread meets the moves in row order, as apply_moves would: apply them
                 * now, while the row is in cache (same additions, same order, same bits). */
                const float *xi = c->x + (size_t)i * c->d;
                if (a != NO_LABEL) {
                    double *so = c->sums + (size_t)a * c->d;
                    for (size_t f = 0; f < c->d; f++)
                        so[f] -= (double)xi[f];
                    c->counts[a]--;
                }
                double *sn = c->sums + (size_t)best * c->d;
                for (size_t f = 0; f < c->d; f++)
                    sn[f] += (double)xi[f];
                c->counts[best]++;
            } else {
                c->mv_idx[lo + *moves] = i;
                c->mv_old[lo + *moves] = a;
            }
            (*moves)++;
        }
    }
}

/* One assignment pass over every row: all distances when `full` (the first pass of a
 * restart), else Hamerly's bounds, moved by the pending shifts. Rows that fail the bounds are
 * gathered SUB at a time for the distance kernel. Rows whose label changes are recorded per
 * block (mv_idx/mv_old at the block's offset, in row order). Returns the number of moves. */
static size_t assign_pass(fitctx *c, int full)
{
    size_t n = c->n, d = c->d;
    double up = 1.0 + c->rel;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->nt)
    for (size_t b = 0; b < c->nb; b++) {
        size_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n, moves = 0, np = 0;
        size_t tid = (size_t)omp_get_thread_num();
        float *dist = c->dbuf + tid * SUB * c->kpt;
        uint32_t *rows = c->ibuf + tid * SUB;
        if (full) {
            for (size_t i = lo; i < hi; i++) {
                rows[np++] = (uint32_t)i;
                if (np == SUB) {
                    flush_rows(c, full, rows, np, dist, lo, &moves);
                    np = 0;
                }
            }
        } else {
            /* Pass 1 over the bounds alone (sequential, no row data); pass 2 tightens the
             * rows that failed, fetching their data ahead since they are scattered. */
            uint32_t *cand = c->tbuf + tid * BLOCK;
            double *mb = c->mbuf + tid * BLOCK;
            size_t nc = 0;
            for (size_t i = lo; i < hi; i++) {
                uint32_t a = c->labels[i];
                double u = c->upper[i] + c->shift[a];
                double l = c->lower[i] - (a == c->j_max ? c->shift2 : c->shift1);
                double m = l > c->half[a] ? l : c->half[a];
                c->upper[i] = u;
                c->lower[i] = l;
                if (u > m) {
                    cand[nc] = (uint32_t)i;
                    mb[nc++] = m;
                }
            }
            for (size_t j = 0; j < nc; j++) {
                if (j + PREFETCH < nc) {
                    const char *pf = (const char *)(c->x + (size_t)cand[j + PREFETCH] * d);
                    __builtin_prefetch(pf);
                    __builtin_prefetch(pf + d * sizeof(float) - 1);
                }
                uint32_t i = cand[j];
                const float *ci = c->centers + (size_t)c->labels[i] * d;
                double u = (double)sqrtf(dist_one(c->x + (size_t)i * d, ci, d)) * up;
                c->upper[i] = u;
                if (u <= mb[j])
                    continue;
                rows[np++] = i;
                if (np == SUB) {
                    flush_rows(c, full, rows, np, dist, lo, &moves);
                    np = 0;
                }
            }
        }
        if (np)
            flush_rows(c, full, rows, np, dist, lo, &moves);
        c->b_moves[b] = moves;
    }
    size_t total = 0;
    for (size_t b = 0; b < c->nb; b++)
        total += c->b_moves[b];
    return total;
}

/* Apply the recorded moves to sums and counts. Each thread owns a range of clusters and walks
 * every move in row order, so each cluster's sum gets the same additions in the same order
 * at any thread count. */
static void apply_moves(fitctx *c)
{
    size_t d = c->d, k = c->k;
#pragma omp parallel num_threads(c->nt)
    {
        size_t nt = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
        uint32_t j0 = (uint32_t)(k * t / nt), j1 = (uint32_t)(k * (t + 1) / nt);
        for (size_t b = 0; b < c->nb; b++) {
            size_t lo = b * BLOCK;
            for (size_t m = 0; m < c->b_moves[b]; m++) {
                size_t i = c->mv_idx[lo + m];
                uint32_t old = c->mv_old[lo + m], now = c->labels[i];
                const float *xi = c->x + i * d;
                if (old >= j0 && old < j1) {
                    double *s = c->sums + (size_t)old * d;
                    for (size_t f = 0; f < d; f++)
                        s[f] -= (double)xi[f];
                    c->counts[old]--;
                }
                if (now >= j0 && now < j1) {
                    double *s = c->sums + (size_t)now * d;
                    for (size_t f = 0; f < d; f++)
                        s[f] += (double)xi[f];
                    c->counts[now]++;
                }
            }
        }
    }
}

/* Re-seed empty clusters with the rows farthest from their centers (exact distances to the
 * centers the rows were just assigned with). Returns 1 if any was re-seeded, -1 on ENOMEM. */
static int reseed_empty(fitctx *c)
{
    size_t n = c->n, d = c->d, k = c->k;
    int any_empty = 0, done = 0;
    for (size_t j = 0; j < k; j++)
        any_empty |= c->counts[j] == 0;
    if (!any_empty)
        return 0;
    if (!c->far && !(c->far = promo_mallocn(n, sizeof(double))))
        return -1;
#pragma omp parallel for schedule(static) num_threads(c->nt)
    for (size_t i = 0; i < n; i++)
        c->far[i] = dist2_double(c->x + i * d, c->centers + (size_t)c->labels[i] * d, d);
    for (size_t j = 0; j < k; j++) {
        if (c->counts[j] != 0)
            continue;
        size_t pick = n;
        double best = 0.0;
        for (size_t i = 0; i < n; i++)
            if (c->far[i] > best && c->counts[c->labels[i]] > 1) {
                best = c->far[i];
                pick = i;
            }
        if (pick == n)
            break; /* every row sits on its center or alone: nothing to gain */
        uint32_t old = c->labels[pick];
        const float *xi = c->x + pick * d;
        for (size_t f = 0; f < d; f++) {
            c->sums[(size_t)old * d + f] -= (double)xi[f];
            c->sums[j * d + f] = (double)xi[f];
        }
        c->counts[old]--;
        c->counts[j] = 1;
        c->labels[pick] = (uint32_t)j;
        c->upper[pick] = 0.0;
        c->lower[pick] = 0.0; /* unknown: forces a full look next time */
        c->far[pick] = -1.0;
        done = 1;
    }
    return done;
}

/* New centers from the sums; shifts, their largest two; returns the sum of squared shifts. */
static double update_centers(fitctx *c, float *newc)
{
    size_t k = c->k, d = c->d;
    double tot = 0.0;
    c->shift1 = c->shift2 = 0.0;
    c->j_max = 0;
    for (size_t j = 0; j < k; j++) {
        float *nc = newc + j * d;
        const float *oc = c->centers + j * d;
        if (c->counts[j] > 0) {
            double inv = (double)c->counts[j];
            for (size_t f = 0; f < d; f++)
                nc[f] = (float)(c->sums[j * d + f] / inv);
        } else {
            memcpy(nc, oc, d * sizeof(float));
        }
        double s2 = dist2_double(nc, oc, d);
        tot += s2;
        /* The bounds move by at least the true shift: a hair of slack for its rounding. */
        double s = sqrt(s2) * (1.0 + 1e-12);
        c->shift[j] = s;
        if (s > c->shift1) {
            c->shift2 = c->shift1;
            c->shift1 = s;
            c->j_max = j;
        } else if (s > c->shift2) {
            c->shift2 = s;
        }
    }
    memcpy(c->centers, newc, k * d * sizeof(float));
    return tot;
}

/* Exact inertia of the current labels and centers, double, blocks summed in order. */
static double inertia_of(fitctx *c)
{
    size_t n = c->n, d = c->d;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->nt)
    for (size_t b = 0; b < c->nb; b++) {
        size_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++)
            s += dist2_double(c->x + i * d, c->centers + (size_t)c->labels[i] * d, d);
        c->b_acc[b * c->accw] = s;
    }
    double tot = 0.0;
    for (size_t b = 0; b < c->nb; b++)
        tot += c->b_acc[b * c->accw];
    return tot;
}

/* Lloyd's iterations from the seeded centers (scikit-learn's loop, Hamerly's pruning).
 * Returns the iteration count or -1 on ENOMEM. */
static int lloyd(fitctx *c, int max_iter)
{
    float *newc = c->newc;
    size_t k = c->k, d = c->d;
    int it, strict = 0;
    memset(c->sums, 0, k * d * sizeof(double));
    memset(c->counts, 0, k * sizeof(int64_t));
    prepare_centers(c);
    for (it = 0; it < max_iter; it++) {
        size_t moved = assign_pass(c, it == 0);
        if (c->nt > 1)
            apply_moves(c); /* with one thread assign_pass applied them */
        int re = reseed_empty(c);
        if (re < 0)
            return -1;
        double tot = update_centers(c, newc);
        prepare_centers(c);
        if (moved == 0 && re == 0) {
            strict = 1;
            it++;
            break;
        }
        if (tot <= c->tol) {
            it++;
            break;
        }
    }
    if (!strict)
        (void)assign_pass(c, 0); /* labels for the returned centers */
    return it;
}

/* ===================================================================== public: fit ======== */

promo_kmeans_params promo_kmeans_params_default(void)
{
    promo_kmeans_params p = {8, 4, 300, 1e-4, 1, 0};
    return p;
}

void promo_kmeans_free(promo_kmeans *m)
{
    if (!m)
        return;
    promo_free(m->centers);
    promo_free(m->labels);
    promo_free(m);
}

static int check_data(const char *what, const float *x, size_t n, size_t d, int nt)
{
    if (!x || n == 0 || d == 0)
        return promo_fail(PROMO_EUSAGE, "%s: no data (n %zu, d %zu)", what, n, d);
    if (n >= (size_t)UINT32_MAX)
        return promo_fail(PROMO_EUSAGE, "%s: %zu rows, at most %u", what, n, UINT32_MAX - 1);
    size_t col = 0, row = first_nonfinite(x, n, d, nt, &col);
    if (row < n)
        return promo_fail(PROMO_EINPUT, "%s: row %zu column %zu: %g is not a finite number", what,
                          row, col, (double)x[row * d + col]);
    return PROMO_OK;
}

static int check_params(const promo_kmeans_params *p, size_t n)
{
    if (!p)
        return promo_fail(PROMO_EUSAGE, "kmeans: NULL parameters");
    if (p->k < 1 || (size_t)p->k > n)
        return promo_fail(PROMO_EUSAGE, "kmeans: k %d outside 1..%zu (the row count)", p->k, n);
    if (p->n_init < 1)
        return promo_fail(PROMO_EUSAGE, "kmeans: n_init %d < 1", p->n_init);
    if (p->max_iter < 1)
        return promo_fail(PROMO_EUSAGE, "kmeans: max_iter %d < 1", p->max_iter);
    if (!(p->tol >= 0.0) || isinf(p->tol))
        return promo_fail(PROMO_EUSAGE, "kmeans: tol %g is not a finite number >= 0", p->tol);
    if (p->n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "kmeans: n_threads %d < 0", p->n_threads);
    return PROMO_OK;
}

/* The fit behind the public entry points: restarts seeded by k-means++ (init NULL) or one run
 * from init; with seed_only >= 0, only that restart's seeding, into seed_out. */
static int fit_core(const promo_kmeans_params *p,
                    const float *x,
                    size_t n,
                    size_t d,
                    const float *init,
                    int seed_only,
                    float *seed_out,
                    promo_kmeans **out)
{
    fitctx *cs = NULL;
    promo_kmeans *m = NULL;
    int rc, n_ctx = 0;
    if ((rc = check_params(p, n)) || (rc = check_data("kmeans", x, n, d, threads_of(p->n_threads))))
        return rc;
    int nt = threads_of(p->n_threads), runs = init || seed_only >= 0 ? 1 : p->n_init;
    size_t kd = (size_t)p->k * d;
    /* Restarts run side by side, one thread each, when there are enough of them: no barrier
     * inside a restart, which matters on a busy machine. Each restart computes the same bits
     * on one thread as on many, so the result does not depend on this choice. */
    int n_outer = runs >= 2 && nt >= 2 ? (nt < runs ? nt : runs) : 1;
    rc = PROMO_ENOMEM;
    if (!(cs = promo_calloc((size_t)n_outer, sizeof *cs)))
        goto fail;
    for (; n_ctx < n_outer; n_ctx++) {
        fitctx *c = &cs[n_ctx];
        if (ctx_init(c, x, n, d, p->k, n_outer > 1 ? 1 : nt) ||
            !(c->newc = promo_mallocn(kd, sizeof(float))) ||
            (seed_only < 0 && !(c->best_labels = promo_mallocn(n, sizeof(uint32_t)))) ||
            !(c->best_centers = promo_mallocn(kd, sizeof(float))))
            goto fail;
        c->best_r = -1;
    }
    /* Shared by every context: the tolerance and the transposed rows (built by all threads). */
    cs[0].nt = nt;
    scaled_tol(&cs[0], p->tol);
    if (!init && build_xt(&cs[0]))
        goto fail;
    cs[0].nt = n_outer > 1 ? 1 : nt;
    for (int o = 1; o < n_outer; o++) {
        cs[o].tol = cs[0].tol;
        cs[o].xt = cs[0].xt;
        cs[o].xt_borrowed = 1;
    }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_outer) reduction(| : failed)
    for (int r = 0; r < runs; r++) {
        fitctx *c = &cs[omp_get_thread_num()];
        if (init) {
            memcpy(c->centers, init, kd * sizeof(float));
        } else {
            promo_rng rng;
            promo_rng_init(&rng, p->seed, (uint64_t)(seed_only >= 0 ? seed_only : r));
            kmeanspp(c, &rng);
            if (seed_only >= 0) {
                memcpy(c->best_centers, c->centers, kd * sizeof(float));
                c->best_r = r;
                continue;
            }
        }
        int it = lloyd(c, p->max_iter);
        if (it < 0) {
            failed = 1;
            continue;
        }
        double inertia = inertia_of(c);
        /* A thread takes restarts in increasing order: strict < keeps the earliest on a tie. */
        if (c->best_r < 0 || inertia < c->best_inertia) {
            c->best_inertia = inertia;
            c->best_r = r;
            c->best_iter = it;
            memcpy(c->best_centers, c->centers, kd * sizeof(float));
            memcpy(c->best_labels, c->labels, n * sizeof(uint32_t));
        }
    }
    if (failed)
        goto fail;
    fitctx *best = NULL;
    for (int o = 0; o < n_outer; o++) {
        fitctx *c = &cs[o];
        if (c->best_r < 0)
            continue;
        if (!best || c->best_inertia < best->best_inertia ||
            (c->best_inertia == best->best_inertia && c->best_r < best->best_r))
            best = c;
    }
    PROMO_ASSERT(best != NULL);
    if (seed_only >= 0) {
        memcpy(seed_out, best->best_centers, kd * sizeof(float));
    } else {
        if (!(m = promo_calloc(1, sizeof *m)))
            goto fail;
        m->n = n;
        m->d = d;
        m->k = p->k;
        m->inertia = best->best_inertia;
        m->n_iter = best->best_iter;
        /* Hand the best buffers over instead of copying them. */
        m->centers = best->best_centers;
        m->labels = best->best_labels;
        best->best_centers = NULL;
        best->best_labels = NULL;
        *out = m;
    }
    for (int o = 0; o < n_ctx; o++)
        ctx_free(&cs[o]);
    promo_free(cs);
    return PROMO_OK;
fail:
    for (int o = 0; cs && o < n_ctx; o++)
        ctx_free(&cs[o]);
    promo_free(cs);
    promo_kmeans_free(m);
    return promo_fail(rc, "kmeans: out of memory for %zu x %zu rows, k %d", n, d, p->k);
}

int promo_kmeans_fit(
    const promo_kmeans_params *p, const float *x, size_t n, size_t d, promo_kmeans **out)
{
    if (!out)
        return promo_fail(PROMO_EUSAGE, "kmeans: NULL output");
    *out = NULL;
    return fit_core(p, x, n, d, NULL, -1, NULL, out);
}

int promo_kmeans_fit_from(const promo_kmeans_params *p,
                          const float *x,
                          size_t n,
                          size_t d,
                          const float *init,
                          promo_kmeans **out)
{
    if (!out || !init)
        return promo_fail(PROMO_EUSAGE, "kmeans: NULL output or initial centers");
    *out = NULL;
    if (p && p->k >= 1 && d > 0) {
        for (size_t i = 0; i < (size_t)p->k * d; i++)
            if (!isfinite(init[i]))
                return promo_fail(PROMO_EINPUT, "kmeans: initial center %zu is not finite", i / d);
    }
    return fit_core(p, x, n, d, init, -1, NULL, out);
}

int promo_kmeans_plusplus(
    const promo_kmeans_params *p, const float *x, size_t n, size_t d, int restart, float *centers)
{
    if (!centers || restart < 0)
        return promo_fail(PROMO_EUSAGE, "kmeans++: NULL centers or restart %d < 0", restart);
    return fit_core(p, x, n, d, NULL, restart, centers, NULL);
}

int promo_kmeans_assign(const promo_kmeans *m, const float *x, size_t n, size_t d, uint32_t *labels)
{
    if (!m || !labels)
        return promo_fail(PROMO_EUSAGE, "kmeans assign: NULL fit or labels");
    if (d != m->d)
        return promo_fail(PROMO_EUSAGE, "kmeans assign: %zu features, the fit has %zu", d, m->d);
    int nt = threads_of(0), rc;
    if ((rc = check_data("kmeans assign", x, n, d, nt)))
        return rc;
    size_t k = (size_t)m->k, kp = pad_lanes(k);
    float *ct = promo_mallocn(kp * d, sizeof(float));
    float *dbuf = promo_mallocn((size_t)nt * SUB * kp, sizeof(float));
    uint32_t *ibuf = promo_mallocn((size_t)nt * SUB, sizeof(uint32_t));
    if (!ct || !dbuf || !ibuf) {
        promo_free(ct);
        promo_free(dbuf);
        promo_free(ibuf);
        return PROMO_ENOMEM;
    }
    transpose_centers(m->centers, k, d, kp, ct);
    size_t nb = n_blocks(n);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
        size_t tid = (size_t)omp_get_thread_num();
        float *dist = dbuf + tid * SUB * kp;
        uint32_t *rows = ibuf + tid * SUB;
        for (size_t s0 = lo; s0 < hi; s0 += SUB) {
            size_t nr = hi - s0 < SUB ? hi - s0 : SUB;
            for (size_t r = 0; r < nr; r++)
                rows[r] = (uint32_t)(s0 + r);
            dist_rows(x, d, rows, nr, ct, kp, dist);
            for (size_t r = 0; r < nr; r++) {
                float d1, d2;
                labels[s0 + r] = argmin2(dist + r * kp, kp, &d1, &d2);
            }
        }
    }
    promo_free(ct);
    promo_free(dbuf);
    promo_free(ibuf);
    return PROMO_OK;
}

/* ===================================================================== silhouette ========= */

static int by_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int promo_silhouette(const float *x,
                     size_t n,
                     size_t d,
                     const uint32_t *labels,
                     int k,
                     size_t sample,
                     uint64_t seed,
                     int n_threads,
                     double *out)
{
    size_t *idx = NULL, *cnt = NULL;
    double *xs = NULL, *xt = NULL;
    uint32_t *ls = NULL;
    double *acc = NULL, *sil = NULL;
    int rc;
    if (!out || !labels || k < 1 || n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "silhouette: NULL output or labels, k %d, threads %d", k,
                          n_threads);
    int nt = threads_of(n_threads);
    if ((rc = check_data("silhouette", x, n, d, nt)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= (uint32_t)k)
            return promo_fail(PROMO_EUSAGE, "silhouette: label %u at row %zu is not below k %d",
                              labels[i], i, k);
    size_t s = sample == 0 || sample > n ? n : sample, kk = (size_t)k, ng = (s + 7) / 8;
    rc = PROMO_ENOMEM;
    if (!(idx = promo_mallocn(n, sizeof(size_t))) || !(xs = promo_mallocn(s * d, sizeof(double))) ||
        !(xt = promo_mallocn(ng * 8 * d, sizeof(double))) ||
        !(ls = promo_mallocn(s, sizeof(uint32_t))) || !(cnt = promo_calloc(kk, sizeof(size_t))) ||
        !(acc = promo_mallocn((size_t)nt * (kk + 8), sizeof(double))) ||
        !(sil = promo_mallocn(s, sizeof(double))))
        goto fail;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    if (s < n) {
        /* The first s of a seeded partial Fisher-Yates shuffle, in row order. */
        promo_rng rng;
        promo_rng_init(&rng, seed, 0);
        for (size_t i = 0; i < s; i++) {
            size_t j = i + (size_t)promo_rng_below(&rng, n - i), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        qsort(idx, s, sizeof *idx, by_size);
    }
    /* The sample in double, by rows and transposed in groups of 8 (padding rows are 0 and
     * never read back). */
    memset(xt, 0, ng * 8 * d * sizeof *xt);
    for (size_t i = 0; i < s; i++) {
        for (size_t f = 0; f < d; f++) {
            double v = (double)x[idx[i] * d + f];
            xs[i * d + f] = v;
            xt[(i / 8 * d + f) * 8 + i % 8] = v;
        }
        ls[i] = labels[idx[i]];
        cnt[ls[i]]++;
    }
    size_t n_nonempty = 0;
    for (size_t j = 0; j < kk; j++)
        n_nonempty += cnt[j] > 0;
    if (n_nonempty < 2) {
        *out = NAN;
        rc = PROMO_OK;
        goto fail;
    }
#pragma omp parallel for schedule(dynamic, 16) num_threads(nt)
    for (size_t i = 0; i < s; i++) {
        double *a = acc + (size_t)omp_get_thread_num() * (kk + 8), *dg = a + kk;
        memset(a, 0, kk * sizeof *a);
        /* Distances to every sampled row, self included (0), added in row order. */
        for (size_t g = 0; g < ng; g++) {
            pair8(xt + g * 8 * d, d, xs + i * d, dg);
            size_t nr = s - g * 8 < 8 ? s - g * 8 : 8;
            for (size_t r = 0; r < nr; r++)
                a[ls[g * 8 + r]] += dg[r];
        }
        uint32_t own = ls[i];
        if (cnt[own] < 2) {
            sil[i] = 0.0;
            continue;
        }
        double ai = a[own] / (double)(cnt[own] - 1), bi = INFINITY;
        for (size_t c = 0; c < kk; c++)
            if (c != own && cnt[c] > 0 && a[c] / (double)cnt[c] < bi)
                bi = a[c] / (double)cnt[c];
        double mx = ai > bi ? ai : bi;
        sil[i] = mx > 0.0 ? (bi - ai) / mx : 0.0;
    }
    double tot = 0.0;
    for (size_t i = 0; i < s; i++)
        tot += sil[i];
    *out = tot / (double)s;
    rc = PROMO_OK;
fail:
    promo_free(idx);
    promo_free(xs);
    promo_free(xt);
    promo_free(ls);
    promo_free(cnt);
    promo_free(acc);
    promo_free(sil);
    return rc;
}

/* ===================================================================== choice of K ======== */

void promo_kmeans_choice_free(promo_kmeans_choice *c)
{
    if (!c)
        return;
    promo_free(c->inertia);
    promo_free(c->silhouette);
    memset(c, 0, sizeof *c);
}

int promo_kmeans_choose_k(const promo_kmeans_params *p,
                          const float *x,
                          size_t n,
                          size_t d,
                          int k_min,
                          int k_max,
                          size_t sample,
                          promo_kmeans_choice *out)
{
    if (!p || !out)
        return promo_fail(PROMO_EUSAGE, "kmeans choose_k: NULL parameters or output");
    memset(out, 0, sizeof *out);
    if (k_min < 1 || k_max < 2 || k_min > k_max || (size_t)k_max > n)
        return promo_fail(PROMO_EUSAGE,
                          "kmeans choose_k: K range %d..%d (need 1 <= k_min <= k_max, "
                          "2 <= k_max <= %zu rows)",
                          k_min, k_max, n);
    size_t nk = (size_t)(k_max - k_min + 1);
    promo_kmeans_choice c = {k_min, k_max, 0, NULL, NULL};
    if (!(c.inertia = promo_mallocn(nk, sizeof(double))) ||
        !(c.silhouette = promo_mallocn(nk, sizeof(double)))) {
        promo_kmeans_choice_free(&c);
        return PROMO_ENOMEM;
    }
    double best = -INFINITY;
    for (int k = k_min; k <= k_max; k++) {
        promo_kmeans_params q = *p;
        promo_kmeans *m = NULL;
        q.k = k;
        int rc = promo_kmeans_fit(&q, x, n, d, &m);
        if (!rc)
            rc = promo_silhouette(x, n, d, m->labels, k, sample, p->seed, p->n_threads,
                                  &c.silhouette[k - k_min]);
        if (rc) {
            promo_kmeans_free(m);
            promo_kmeans_choice_free(&c);
            return rc;
        }
        c.inertia[k - k_min] = m->inertia;
        promo_kmeans_free(m);
        double sv = c.silhouette[k - k_min];
        if (!isnan(sv) && sv > best) {
            best = sv;
            c.best_k = k;
        }
    }
    if (c.best_k == 0)
        c.best_k = k_max; /* every silhouette undefined (all rows alike): any K is as good */
    *out = c;
    return PROMO_OK;
}

/* ===================================================================== standardise ======== */

void promo_standardize(float *x, size_t n, size_t d, double *means, double *sds)
{
    if (!x || n == 0 || d == 0)
        return;
    size_t nb = n_blocks(n);
    int nt = threads_of(0);
    /* Per block and column: count, sum, then sum of squared deviations (two passes, exact
     * enough for any scale). Without memory, fall back to one block (serial, same result
     * up to the order of additions). */
    double *acc = promo_mallocn(nb * d * 2, sizeof(double));
    double *mean = promo_mallocn(d, sizeof(double)), *sd = promo_mallocn(d, sizeof(double));
    if (!acc || !mean || !sd) {
        promo_free(acc);
        promo_free(mean);
        promo_free(sd);
        /* Nothing sensible to do without d doubles; leave the data as it is. */
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (size_t b = 0; b < nb; b++) {
            size_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
            double *a = acc + b * d * 2;
            memset(a, 0, d * 2 * sizeof *a);
            for (size_t i = lo; i < hi; i++) {
                const float *xi = x + i * d;
                for (size_t f = 0; f < d; f++) {
                    if (!isfinite(xi[f]))
                        continue;
                    if (pass) {
                        double t = (double)xi[f] - mean[f];
                        a[f] += t * t;
                    } else {
                        a[f] += 1.0;
                        a[d + f] += (double)xi[f];
                    }
                }
            }
        }
        for (size_t f = 0; f < d; f++) {
            if (pass) {
                double ss = 0.0;
                for (size_t b = 0; b < nb; b++)
                    ss += acc[b * d * 2 + f];
                double cntf = sd[f]; /* the count, parked there by pass 0 */
                double v = cntf > 0.0 ? ss / cntf : 0.0;
                sd[f] = v > 0.0 ? sqrt(v) : 1.0;
            } else {
                double cntf = 0.0, s = 0.0;
                for (size_t b = 0; b < nb; b++) {
                    cntf += acc[b * d * 2 + f];
                    s += acc[b * d * 2 + d + f];
                }
                mean[f] = cntf > 0.0 ? s / cntf : 0.0;
                sd[f] = cntf;
            }
        }
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t i = 0; i < n; i++) {
        float *xi = x + i * d;
        for (size_t f = 0; f < d; f++)
            xi[f] = isfinite(xi[f]) ? (float)(((double)xi[f] - mean[f]) / sd[f]) : 0.0f;
    }
    if (means)
        memcpy(means, mean, d * sizeof(double));
    if (sds)
        memcpy(sds, sd, d * sizeof(double));
    promo_free(acc);
    promo_free(mean);
    promo_free(sd);
}
