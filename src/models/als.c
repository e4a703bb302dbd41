/* Implicit ALS: Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback
 * Datasets" (ICDM 2008), with the conjugate-gradient row solver of Takacs, Pilaszy & Tikk,
 * "Applications of the Conjugate Gradient Method for Implicit Feedback Collaborative
 * Filtering" (RecSys 2011), the solver benfred/implicit also uses.
 *
 * Objective: sum over every (u, i) of c_ui (p_ui - x_u . y_i)^2 + lambda (|x|^2 + |y|^2),
 * p_ui = 1 where the customer bought the item, c_ui = 1 + alpha * t(r_ui) there and 1
 * elsewhere. Alternating: fixing Y, every x_u solves (Y^T Y + lambda I + Y_u^T (C_u - I) Y_u)
 * x_u = Y_u^T c_u. Y^T Y is computed once per half-sweep; each row then runs cg_steps
 * steps of conjugate gradient warm-started from its previous x_u, touching only its own
 * non-zeros: 2k^2 + 4k nnz_u flops a step instead of the k^3 of a direct solve. Rows are
 * independent, so the loop over users (items) is an OpenMP loop and the result does not
 * depend on the thread count (no reduction crosses rows).
 *
 * Departures: t(r) = log(1 + r) by default (the paper's log scaling with eps = 1) so that a
 * product bought in 40 orders does not weigh 40 times one bought once; the kernels are
 * compiled for AVX-512, AVX2+FMA and baseline x86-64 and chosen at load time (target_clones).
 * Fold-in (a new customer, no retraining) is one exact solve of the same normal equations
 * against the trained item factors (Cholesky, in double). */
#include <math.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/recommend.h>
#include <promo/rng.h>

#include "models/rec_internal.h"

#define ALS_DEFAULT_REG 30.0 /* recommend.h: promo_rec_params.regularization */
#define CLONES          __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

typedef struct als {
    uint32_t n_users, n_items, k;
    float *U;      /* n_users x k */
    float *V;      /* n_items x k */
    float *VtV;    /* k x k: V^T V (for fold-in) */
    double reg;    /* lambda */
    double alpha;  /* confidence scale */
    int transform; /* 1: log(1 + r) */
} als;

static void als_free(void *impl)
{
    als *a = impl;
    if (!a)
        return;
    promo_free(a->U);
    promo_free(a->V);
    promo_free(a->VtV);
    promo_free(a);
}

static float confidence(const als *a, float r)
{
    double t = a->transform ? log1p((double)r) : (double)r;
    return (float)(1.0 + a->alpha * t);
}

/* ------------------------------------------------------------------ kernels ---- */

static inline __attribute__((always_inline)) float
dotf(const float *restrict a, const float *restrict b, uint32_t k)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (uint32_t f = 0; f < k; f++)
        s = fmaf(a[f], b[f], s);
    return s;
}

static inline __attribute__((always_inline)) void
axpyf(float w, const float *restrict x, float *restrict y, uint32_t k)
{
#pragma omp simd
    for (uint32_t f = 0; f < k; f++)
        y[f] = fmaf(w, x[f], y[f]);
}

/* y = A x for a symmetric k x k A (row-major): rows of A four at a time, so y is loaded and
 * stored once per four rows. */
static inline __attribute__((always_inline)) void
symvf(const float *restrict A, const float *restrict x, float *restrict y, uint32_t k)
{
    for (uint32_t g = 0; g < k; g++)
        y[g] = 0.0f;
    uint32_t f = 0;
    for (; f + 4 <= k; f += 4) {
        const float *a0 = A + (size_t)f * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;
        float x0 = x[f], x1 = x[f + 1], x2 = x[f + 2], x3 = x[f + 3];
#pragma omp simd
        for (uint32_t g = 0; g < k; g++)
            y[g] = fmaf(x3, a3[g], fmaf(x2, a2[g], fmaf(x1, a1[g], fmaf(x0, a0[g], y[g]))));
    }
    for (; f < k; f++)
        axpyf(x[f], A + (size_t)f * k, y, k);
}

/* d[i] = y_{cols[i]} . v, four rows at a time: four independent accumulations instead of one
 * dependent chain per row. */
static inline __attribute__((always_inline)) void dots4(const float *restrict Y,
                                                        uint32_t k,
                                                        const uint32_t *restrict cols,
                                                        uint64_t n,
                                                        const float *restrict v,
                                                        float *restrict d)
{
    uint64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *y0 = Y + (size_t)cols[i] * k, *y1 = Y + (size_t)cols[i + 1] * k,
                    *y2 = Y + (size_t)cols[i + 2] * k, *y3 = Y + (size_t)cols[i + 3] * k;
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (uint32_t f = 0; f < k; f++) {
            s0 = fmaf(y0[f], v[f], s0);
            s1 = fmaf(y1[f], v[f], s1);
            s2 = fmaf(y2[f], v[f], s2);
            s3 = fmaf(y3[f], v[f], s3);
        }
        d[i] = s0;
        d[i + 1] = s1;
        d[i + 2] = s2;
        d[i + 3] = s3;
    }
    for (; i < n; i++)
        d[i] = dotf(Y + (size_t)cols[i] * k, v, k);
}

/* out += sum_i w[i] y_{cols[i]}, four rows per pass over out. */
static inline __attribute__((always_inline)) void axpy4(const float *restrict Y,
                                                        uint32_t k,
                                                        const uint32_t *restrict cols,
                                                        uint64_t n,
                                                        const float *restrict w,
                                                        float *restrict out)
{
    uint64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *y0 = Y + (size_t)cols[i] * k, *y1 = Y + (size_t)cols[i + 1] * k,
                    *y2 = Y + (size_t)cols[i + 2] * k, *y3 = Y + (size_t)cols[i + 3] * k;
        float w0 = w[i], w1 = w[i + 1], w2 = w[i + 2], w3 = w[i + 3];
#pragma omp simd
        for (uint32_t f = 0; f < k; f++)
            out[f] = fmaf(w3, y3[f], fmaf(w2, y2[f], fmaf(w1, y1[f], fmaf(w0, y0[f], out[f]))));
    }
    for (; i < n; i++)
        axpyf(w[i], Y + (size_t)cols[i] * k, out, k);
}

/* cg_steps of conjugate gradient on row x (see the top). YtY holds Y^T Y + lambda I. c[i] is
 * the confidence of cols[i]. r, p, Ap: k floats of scratch; d: n floats of scratch. */
static inline __attribute__((always_inline)) void cg_row_t(const float *restrict YtY,
                                                           const float *restrict Y,
                                                           uint32_t k,
                                                           const uint32_t *restrict cols,
                                                           const float *restrict c,
                                                           uint64_t n,
                                                           int steps,
                                                           float *restrict x,
                                                           float *restrict r,
                                                           float *restrict p,
                                                           float *restrict Ap,
                                                           float *restrict d)
{
    /* r = b - A x = -YtY x + sum_i (c_i - (c_i - 1) y_i.x) y_i */
    symvf(YtY, x, r, k);
    for (uint32_t f = 0; f < k; f++)
        r[f] = -r[f];
    dots4(Y, k, cols, n, x, d);
    for (uint64_t i = 0; i < n; i++)
        d[i] = c[i] - (c[i] - 1.0f) * d[i];
    axpy4(Y, k, cols, n, d, r);
    memcpy(p, r, k * sizeof *p);
    float rs = dotf(r, r, k);
    for (int s = 0; s < steps; s++) {
        if (rs < 1e-20f)
            break;
        symvf(YtY, p, Ap, k);
        dots4(Y, k, cols, n, p, d);
        for (uint64_t i = 0; i < n; i++)
            d[i] *= c[i] - 1.0f;
        axpy4(Y, k, cols, n, d, Ap);
        float pAp = dotf(p, Ap, k);
        if (!(pAp > 0.0f))
            break;
        float step = rs / pAp;
        axpyf(step, p, x, k);
        axpyf(-step, Ap, r, k);
        float rs_new = dotf(r, r, k);
        float beta = rs_new / rs;
#pragma omp simd
        for (uint32_t f = 0; f < k; f++)
            p[f] = r[f] + beta * p[f];
        rs = rs_new;
    }
}

/* ---- the same row solver on GCC vector types, for k a multiple of 16 (the common factor
 * counts). What the plain loops above leave on the table, found with perf on the bench's
 * 100k x 20k x 5M matrix: the `omp simd` reductions in dots4 end in a scalar loop over the
 * 16 lanes of each of the four sums (a quarter of the solver's time); symvf stores and
 * reloads y every four rows of A; and the first gather of each row's item vectors waits on
 * memory. Here every accumulator stays in a register, four dot products are reduced together
 * by shuffles, and the item vectors a few non-zeros ahead are prefetched. Same arithmetic,
 * other summation order: results agree with cg_row_t to float rounding. */
/* The helpers below pass 64-byte vectors by value; they are always inlined, so the ABI note
 * GCC gives for a baseline build does not apply (GCC reports it at the end of the file, so
 * it is silenced to the end). */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

#define INL static inline __attribute__((always_inline))

INL v16 ld16(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

INL void st16(float *p, v16 v)
{
    memcpy(p, &v, sizeof v);
}

INL v16 splat16(float s)
{
    return (v16){0} + s;
}

/* Two-vector and one-vector shuffles with constant lanes: GCC's __builtin_shuffle takes a mask
 * vector, clang's __builtin_shufflevector the lanes themselves (make fuzz builds with clang). */
#if defined(__clang__)
#define SHUF2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define SHUF1(a, ...)    __builtin_shufflevector(a, a, __VA_ARGS__)
#else
#define SHUF2(a, b, ...) __builtin_shuffle(a, b, (v16i){__VA_ARGS__})
#define SHUF1(a, ...)    __builtin_shuffle(a, (v16i){__VA_ARGS__})
#endif

/* Lanes 0, 4, 8, 12 of the result: the sums of a, b, c, d. */
INL v16 hsum4(v16 a, v16 b, v16 c, v16 d)
{
#define LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define LO4 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define HI4 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
    v16 ab = SHUF2(a, b, LO8) + SHUF2(a, b, HI8); /* a|b, 8 each */
    v16 cd = SHUF2(c, d, LO8) + SHUF2(c, d, HI8);
    v16 q = SHUF2(ab, cd, LO4) + SHUF2(ab, cd, HI4); /* 4 each */
    q += SHUF1(q, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    return q + SHUF1(q, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
#undef LO8
#undef HI8
#undef LO4
#undef HI4
}

/* GCC's vector arithmetic is contracted into FMAs only under fp-contract=fast (-std=c11
 * turns it off for the whole file); the scalar code above uses fmaf explicitly. */
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")

/* out = A v for the symmetric k x k A, k = 16 K: two sets of K accumulators (even and odd
 * rows of A) so that 2 K FMA chains are in flight. */
INL void symv_v(const float *restrict A, const float *restrict v, float *restrict out, int K)
{
    const uint32_t k = 16u * (uint32_t)K;
    v16 a0[8], a1[8];
#pragma GCC unroll 8
    for (int c = 0; c < K; c++)
        a0[c] = a1[c] = (v16){0};
    for (uint32_t f = 0; f < k; f += 2) {
        v16 s0 = splat16(v[f]), s1 = splat16(v[f + 1]);
        const float *r0 = A + (size_t)f * k, *r1 = r0 + k;
#pragma GCC unroll 8
        for (int c = 0; c < K; c++) {
            a0[c] += s0 * ld16(r0 + 16 * c);
            a1[c] += s1 * ld16(r1 + 16 * c);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < K; c++)
        st16(out + 16 * c, a0[c] + a1[c]);
}

/* The sparse half of A v for one row, in one pass over its item vectors:
 *   out += sum_i w_i y_{cols[i]},  w_i = a_i + b_i (y_{cols[i]} . v)
 * with (a_i, b_i) = (c_i, 1 - c_i) for the first residual (b - A x) and (0, c_i - 1) in the CG
 * steps (init picks). Four non-zeros at a time: their vectors are loaded once into
 * registers for both the dot products and the update; the four dots are reduced together;
 * the vectors PF_AHEAD non-zeros ahead are prefetched (their first use waits on memory). */
#define PF_AHEAD 8
INL void sparse_v(const float *restrict Y,
                  const uint32_t *restrict cols,
                  const float *restrict c,
                  uint64_t n,
                  const float *restrict v,
                  float *restrict out,
                  int K,
                  int init)
{
    const uint32_t k = 16u * (uint32_t)K;
    v16 vv[8], a0[8], a1[8];
#pragma GCC unroll 8
    for (int q = 0; q < K; q++) {
        vv[q] = ld16(v + 16 * q);
        a0[q] = ld16(out + 16 * q);
        a1[q] = (v16){0};
    }
    uint64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (uint64_t j = i + PF_AHEAD; j < i + PF_AHEAD + 4 && j < n; j++)
#pragma GCC unroll 8
            for (int q = 0; q < K; q++)
                __builtin_prefetch(Y + (size_t)cols[j] * k + 16 * q, 0, 3);
        const float *y0 = Y + (size_t)cols[i] * k, *y1 = Y + (size_t)cols[i + 1] * k,
                    *y2 = Y + (size_t)cols[i + 2] * k, *y3 = Y + (size_t)cols[i + 3] * k;
        v16 r0[8], r1[8], r2[8], r3[8];
        v16 s0 = (v16){0}, s1 = s0, s2 = s0, s3 = s0;
#pragma GCC unroll 8
        for (int q = 0; q < K; q++) {
            r0[q] = ld16(y0 + 16 * q);
            r1[q] = ld16(y1 + 16 * q);
            r2[q] = ld16(y2 + 16 * q);
            r3[q] = ld16(y3 + 16 * q);
            s0 += r0[q] * vv[q];
            s1 += r1[q] * vv[q];
            s2 += r2[q] * vv[q];
            s3 += r3[q] * vv[q];
        }
        v16 h = hsum4(s0, s1, s2, s3);
        float w0, w1, w2, w3;
        if (init) {
            w0 = c[i] + (1.0f - c[i]) * h[0];
            w1 = c[i + 1] + (1.0f - c[i + 1]) * h[4];
            w2 = c[i + 2] + (1.0f - c[i + 2]) * h[8];
            w3 = c[i + 3] + (1.0f - c[i + 3]) * h[12];
        } else {
            w0 = (c[i] - 1.0f) * h[0];
            w1 = (c[i + 1] - 1.0f) * h[4];
            w2 = (c[i + 2] - 1.0f) * h[8];
            w3 = (c[i + 3] - 1.0f) * h[12];
        }
        v16 b0 = splat16(w0), b1 = splat16(w1), b2 = splat16(w2), b3 = splat16(w3);
#pragma GCC unroll 8
        for (int q = 0; q < K; q++) {
            a0[q] += b0 * r0[q];
            a1[q] += b1 * r1[q];
            a0[q] += b2 * r2[q];
            a1[q] += b3 * r3[q];
        }
    }
    for (; i < n; i++) {
        const float *y = Y + (size_t)cols[i] * k;
        v16 s = (v16){0}, z = (v16){0};
#pragma GCC unroll 8
        for (int q = 0; q < K; q++)
            s += ld16(y + 16 * q) * vv[q];
        float dt = hsum4(s, z, z, z)[0];
        v16 b = splat16(init ? c[i] + (1.0f - c[i]) * dt : (c[i] - 1.0f) * dt);
#pragma GCC unroll 8
        for (int q = 0; q < K; q++)
            a0[q] += b * ld16(y + 16 * q);
    }
#pragma GCC unroll 8
    for (int q = 0; q < K; q++)
        st16(out + 16 * q, a0[q] + a1[q]);
}

INL float dot_v(const float *restrict a, const float *restrict b, int K)
{
    v16 s = (v16){0};
#pragma GCC unroll 8
    for (int c = 0; c < K; c++)
        s += ld16(a + 16 * c) * ld16(b + 16 * c);
    v16 z = (v16){0};
    return hsum4(s, z, z, z)[0];
}

/* cg_row_t with the kernels above (k = 16 K). */
INL void cg_row_v(const float *restrict YtY,
                  const float *restrict Y,
                  int K,
                  const uint32_t *restrict cols,
                  const float *restrict c,
                  uint64_t n,
                  int steps,
                  float *restrict x,
                  float *restrict r,
                  float *restrict p,
                  float *restrict Ap)
{
    symv_v(YtY, x, r, K);
#pragma GCC unroll 8
    for (int q = 0; q < K; q++)
        st16(r + 16 * q, -ld16(r + 16 * q));
    sparse_v(Y, cols, c, n, x, r, K, 1);
    memcpy(p, r, (size_t)K * 16 * sizeof *p);
    float rs = dot_v(r, r, K);
    for (int s = 0; s < steps; s++) {
        if (rs < 1e-20f)
            break;
        symv_v(YtY, p, Ap, K);
        sparse_v(Y, cols, c, n, p, Ap, K, 0);
        float pAp = dot_v(p, Ap, K);
        if (!(pAp > 0.0f))
            break;
        float step = rs / pAp;
        v16 st = splat16(step), rn = (v16){0};
#pragma GCC unroll 8
        for (int q = 0; q < K; q++) {
            st16(x + 16 * q, ld16(x + 16 * q) + st * ld16(p + 16 * q));
            v16 rq = ld16(r + 16 * q) - st * ld16(Ap + 16 * q);
            st16(r + 16 * q, rq);
            rn += rq * rq;
        }
        v16 z = (v16){0};
        float rs_new = hsum4(rn, z, z, z)[0];
        v16 beta = splat16(rs_new / rs);
#pragma GCC unroll 8
        for (int q = 0; q < K; q++)
            st16(p + 16 * q, ld16(r + 16 * q) + beta * ld16(p + 16 * q));
        rs = rs_new;
    }
}

/* cg_row_v compiled for the common factor counts as constants (the loops over k unroll and
 * the vectors stay in registers), cg_row_t for any other k; each for AVX-512, AVX2 and
 * baseline. */
#define CG_ARGS                                                                               \
    const float *restrict YtY, const float *restrict Y, const uint32_t *restrict cols,        \
        const float *restrict c, uint64_t n, int steps, float *restrict x, float *restrict r, \
        float *restrict p, float *restrict Ap, float *restrict d
CLONES static void cg_row_32(CG_ARGS)
{
    (void)d; /* no scratch: the dot products stay in registers */
    cg_row_v(YtY, Y, 2, cols, c, n, steps, x, r, p, Ap);
}
CLONES static void cg_row_64(CG_ARGS)
{
    (void)d; /* no scratch: the dot products stay in registers */
    cg_row_v(YtY, Y, 4, cols, c, n, steps, x, r, p, Ap);
}
CLONES static void cg_row_128(CG_ARGS)
{
    (void)d; /* no scratch: the dot products stay in registers */
    cg_row_v(YtY, Y, 8, cols, c, n, steps, x, r, p, Ap);
}
#pragma GCC pop_options
CLONES static void cg_row_any(uint32_t k, CG_ARGS)
{
    cg_row_t(YtY, Y, k, cols, c, n, steps, x, r, p, Ap, d);
}

static void cg_row(const float *restrict YtY,
                   const float *restrict Y,
                   uint32_t k,
                   const uint32_t *restrict cols,
                   const float *restrict c,
                   uint64_t n,
                   int steps,
                   float *restrict x,
                   float *restrict r,
                   float *restrict p,
                   float *restrict Ap,
                   float *restrict d)
{
    if (k == 64)
        cg_row_64(YtY, Y, cols, c, n, steps, x, r, p, Ap, d);
    else if (k == 32)
        cg_row_32(YtY, Y, cols, c, n, steps, x, r, p, Ap, d);
    else if (k == 128)
        cg_row_128(YtY, Y, cols, c, n, steps, x, r, p, Ap, d);
    else
        cg_row_any(k, YtY, Y, cols, c, n, steps, x, r, p, Ap, d);
}

/* Exact solve of the same system (Cholesky in double): A = YtY + sum (c_i - 1) y_i y_i^T,
 * b = sum c_i y_i. A: k*k doubles, b: k doubles of scratch. Returns 0, or -1 if A is not
 * positive definite (lambda = 0 with too few items). */
static int exact_row(const float *YtY,
                     const float *Y,
                     uint32_t k,
                     const uint32_t *cols,
                     const float *c,
                     uint64_t n,
                     double *A,
                     double *b,
                     float *x)
{
    for (size_t q = 0; q < (size_t)k * k; q++)
        A[q] = YtY[q];
    memset(b, 0, k * sizeof *b);
    for (uint64_t i = 0; i < n; i++) {
        const float *y = Y + (size_t)cols[i] * k;
        double w = (double)c[i] - 1.0;
        for (uint32_t f = 0; f < k; f++) {
            b[f] += (double)c[i] * y[f];
            for (uint32_t g = 0; g <= f; g++)
                A[(size_t)f * k + g] += w * y[f] * y[g];
        }
    }
    /* Cholesky A = L L^T in the lower triangle. */
    for (uint32_t j = 0; j < k; j++) {
        double d = A[(size_t)j * k + j];
        for (uint32_t q = 0; q < j; q++)
            d -= A[(size_t)j * k + q] * A[(size_t)j * k + q];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        A[(size_t)j * k + j] = d;
        for (uint32_t i = j + 1; i < k; i++) {
            double s = A[(size_t)i * k + j];
            for (uint32_t q = 0; q < j; q++)
                s -= A[(size_t)i * k + q] * A[(size_t)j * k + q];
            A[(size_t)i * k + j] = s / d;
        }
    }
    for (uint32_t i = 0; i < k; i++) { /* L z = b */
        double s = b[i];
        for (uint32_t q = 0; q < i; q++)
            s -= A[(size_t)i * k + q] * b[q];
        b[i] = s / A[(size_t)i * k + i];
    }
    for (uint32_t i = k; i-- > 0;) { /* L^T x = z */
        double s = b[i];
        for (uint32_t q = i + 1; q < k; q++)
            s -= A[(size_t)q * k + i] * b[q];
        b[i] = s / A[(size_t)i * k + i];
    }
    for (uint32_t f = 0; f < k; f++)
        x[f] = (float)b[f];
    return 0;
}

/* G = Y^T Y + reg I (k x k). OpenMP over blocks of G's rows: each element is one sum over
 * Y's rows in order, so G does not depend on the thread count. Not OpenBLAS: its pthread
 * workers keep spinning after a call and then fight the OpenMP row loop for the cores. */
CLONES static void gram_rows(
    const float *restrict Y, uint32_t n, uint32_t k, uint32_t f0, uint32_t f1, float *restrict G)
{
    for (uint32_t f = f0; f < f1; f++)
        memset(G + (size_t)f * k, 0, k * sizeof *G);
    for (uint32_t i = 0; i < n; i++) {
        const float *y = Y + (size_t)i * k;
        for (uint32_t f = f0; f < f1; f++) {
            float yf = y[f];
            float *g = G + (size_t)f * k;
#pragma omp simd
            for (uint32_t h = 0; h < k; h++)
                g[h] = fmaf(yf, y[h], g[h]);
        }
    }
}

static void gram(const float *Y, uint32_t n, uint32_t k, double reg, int nt, float *G)
{
    uint32_t block = 8, n_blocks = (k + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1) num_threads(promo_rec_threads(nt))
    for (uint32_t b = 0; b < n_blocks; b++)
        gram_rows(Y, n, k, b * block, (b + 1) * block < k ? (b + 1) * block : k, G);
    for (uint32_t f = 0; f < k; f++)
        G[(size_t)f * k + f] += (float)reg;
}

/* One half-sweep: every row of X (rows of R) solved against fixed Y. */
static int half_sweep(const promo_csr *R,
                      const float *conf,
                      const float *Y,
                      uint32_t n_y,
                      uint32_t k,
                      double reg,
                      int steps,
                      int nt,
                      float *X,
                      float *G)
{
    gram(Y, n_y, k, reg, nt, G);
    uint64_t max_n = 1;
    for (uint32_t u = 0; u < R->n_rows; u++)
        if (R->row_ptr[u + 1] - R->row_ptr[u] > max_n)
            max_n = R->row_ptr[u + 1] - R->row_ptr[u];
    int oom = 0, not_pd = 0;
#pragma omp parallel num_threads(nt) reduction(| : oom, not_pd)
    {
        float *buf = promo_mallocn((size_t)3 * k + max_n, sizeof *buf);
        double *A = steps ? NULL : promo_mallocn((size_t)k * k + k, sizeof *A);
        if (!buf || (!steps && !A)) {
            oom = 1;
        } else {
#pragma omp for schedule(dynamic, 64)
            for (uint32_t u = 0; u < R->n_rows; u++) {
                uint64_t b = R->row_ptr[u], n = R->row_ptr[u + 1] - b;
                float *x = X + (size_t)u * k;
                if (steps)
                    cg_row(G, Y, k, R->col_idx + b, conf + b, n, steps, x, buf, buf + k,
                           buf + 2 * k, buf + 3 * (size_t)k);
                else if (exact_row(G, Y, k, R->col_idx + b, conf + b, n, A, A + (size_t)k * k, x))
                    not_pd = 1;
            }
        }
        promo_free(buf);
        promo_free(A);
    }
    if (oom)
        return promo_fail(PROMO_ENOMEM, "als: out of memory");
    return not_pd ? promo_fail(PROMO_EMODEL, "als: a row's system is not positive definite "
                                             "(raise the regularization)")
                  : PROMO_OK;
}

/* ------------------------------------------------------------------ the model ---- */

/* A plain dot product for the scoring paths (compiled for the baseline, where fmaf would be a
 * library call per element). */
static float dotp(const float *restrict a, const float *restrict b, uint32_t k)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (uint32_t f = 0; f < k; f++)
        s += a[f] * b[f];
    return s;
}

static int als_score_user(const void *impl, uint32_t user, float *scores)
{
    const als *a = impl;
    const float *x = a->U + (size_t)user * a->k;
    for (uint32_t j = 0; j < a->n_items; j++)
        scores[j] = dotp(x, a->V + (size_t)j * a->k, a->k);
    return PROMO_OK;
}

static int fold_in(const als *a, const uint32_t *items, const float *values, size_t n, float *x)
{
    int rc = PROMO_ENOMEM;
    float *c = promo_mallocn(n ? n : 1, sizeof *c);
    double *A = promo_mallocn((size_t)a->k * a->k + a->k, sizeof *A);
    float *G = promo_mallocn((size_t)a->k * a->k, sizeof *G);
    if (!c || !A || !G)
        goto done;
    for (size_t i = 0; i < n; i++)
        c[i] = confidence(a, values ? values[i] : 1.0f);
    memcpy(G, a->VtV, (size_t)a->k * a->k * sizeof *G);
    for (uint32_t f = 0; f < a->k; f++)
        G[(size_t)f * a->k + f] += (float)a->reg;
    rc = exact_row(G, a->V, a->k, items, c, n, A, A + (size_t)a->k * a->k, x)
             ? promo_fail(PROMO_EMODEL, "als: fold-in system is not positive definite")
             : PROMO_OK;
done:
    promo_free(c);
    promo_free(A);
    promo_free(G);
    return rc;
}

static int als_score_history(
    const void *impl, const uint32_t *items, const float *values, size_t n, float *scores)
{
    const als *a = impl;
    float *x = promo_mallocn(a->k ? a->k : 1, sizeof *x);
    if (!x)
        return PROMO_ENOMEM;
    int rc = fold_in(a, items, values, n, x);
    if (!rc)
        for (uint32_t j = 0; j < a->n_items; j++)
            scores[j] = dotp(x, a->V + (size_t)j * a->k, a->k);
    promo_free(x);
    return rc;
}

static int als_factors(const void *impl, promo_rec_factors *out)
{
    const als *a = impl;
    out->n_users = a->n_users;
    out->n_items = a->n_items;
    out->k = a->k;
    out->U = a->U;
    out->V = a->V;
    out->item_bias = NULL;
    return PROMO_OK;
}

static int als_save(const void *impl, promo_rec_file *f)
{
    const als *a = impl;
    double params[3] = {a->reg, a->alpha, (double)a->transform};
    int rc = promo_rec_file_add(f, "U", PROMO_REC_F32, a->n_users, a->k, a->U);
    if (!rc)
        rc = promo_rec_file_add(f, "V", PROMO_REC_F32, a->n_items, a->k, a->V);
    if (!rc)
        rc = promo_rec_file_add(f, "params", PROMO_REC_F64, 1, 3, params);
    return rc;
}

static const promo_rec_ops als_ops = {
    .kind = "als",
    .score_user = als_score_user,
    .score_history = als_score_history,
    .factors = als_factors,
    .save = als_save,
    .free = als_free,
};

static als *als_alloc(uint32_t n_users, uint32_t n_items, uint32_t k)
{
    als *a = promo_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->n_users = n_users;
    a->n_items = n_items;
    a->k = k;
    a->U = promo_mallocn((size_t)(n_users ? n_users : 1) * k, sizeof *a->U);
    a->V = promo_mallocn((size_t)(n_items ? n_items : 1) * k, sizeof *a->V);
    a->VtV = promo_mallocn((size_t)k * k, sizeof *a->VtV);
    if (!a->U || !a->V || !a->VtV) {
        als_free(a);
        return NULL;
    }
    return a;
}

/* Row r of M (n x k) ~ N(0, scale^2 / k), from RNG stream (seed, stream_base + r): the same
 * values for any thread count. */
static void init_rows(
    float *M, uint32_t n, uint32_t k, double scale, uint64_t seed, uint64_t stream_base, int nt)
{
    double s = scale / sqrt((double)k);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (uint32_t r = 0; r < n; r++) {
        promo_rng g;
        promo_rng_init(&g, seed, stream_base + r);
        for (uint32_t f = 0; f < k; f++)
            M[(size_t)r * k + f] = (float)(s * promo_rng_normal(&g));
    }
}

static int check_params(const promo_rec_data *train, const promo_rec_params *p)
{
    if (p->factors < 1 || p->factors > 4096)
        return promo_fail(PROMO_EUSAGE, "als: factors must be in 1..4096 (got %u)", p->factors);
    if (p->iterations < 1)
        return promo_fail(PROMO_EUSAGE, "als: iterations must be >= 1");
    if (p->cg_steps > 1000)
        return promo_fail(PROMO_EUSAGE, "als: cg_steps must be in 0..1000");
    if (!isfinite(p->regularization))
        return promo_fail(PROMO_EUSAGE, "als: regularization must be finite");
    if (!(p->alpha >= 0) || !isfinite(p->alpha))
        return promo_fail(PROMO_EUSAGE, "als: alpha must be >= 0");
    if (!(p->init_scale > 0) || !isfinite(p->init_scale))
        return promo_fail(PROMO_EUSAGE, "als: init_scale must be > 0");
    for (uint64_t e = 0; e < train->m.nnz; e++)
        if (!(train->m.values[e] >= 0) || !isfinite(train->m.values[e]))
            return promo_fail(PROMO_EINPUT, "als: interaction values must be finite and >= 0");
    return PROMO_OK;
}

int promo_als_fit(const promo_rec_data *train, const promo_rec_params *p, promo_rec_model **out)
{
    *out = NULL;
    int rc = check_params(train, p);
    if (rc)
        return rc;
    const promo_csr *R = &train->m;
    uint32_t k = p->factors;
    int nt = promo_rec_threads(p->n_threads);
    promo_csr Rt = {0};
    float *conf = NULL, *conf_t = NULL, *G = NULL;
    als *a = als_alloc(R->n_rows, R->n_cols, k);
    rc = PROMO_ENOMEM;
    if (!a)
        goto fail;
    a->reg = p->regularization < 0 ? ALS_DEFAULT_REG : p->regularization;
    a->alpha = p->alpha;
    a->transform = p->confidence ? 1 : 0;
    if ((rc = promo_csr_transpose(R, &Rt)))
        goto fail;
    rc = PROMO_ENOMEM;
    conf = promo_mallocn(R->nnz ? R->nnz : 1, sizeof *conf);
    conf_t = promo_mallocn(R->nnz ? R->nnz : 1, sizeof *conf_t);
    G = promo_mallocn((size_t)k * k, sizeof *G);
    if (!conf || !conf_t || !G)
        goto fail;
    for (uint64_t e = 0; e < R->nnz; e++) {
        conf[e] = confidence(a, R->values[e]);
        conf_t[e] = confidence(a, Rt.values[e]);
    }
    init_rows(a->U, a->n_users, k, p->init_scale, p->seed, 0, nt);
    init_rows(a->V, a->n_items, k, p->init_scale, p->seed, (uint64_t)1 << 40, nt);
    for (uint32_t it = 0; it < p->iterations; it++) {
        if ((rc = half_sweep(R, conf, a->V, a->n_items, k, a->reg, (int)p->cg_steps, nt, a->U, G)))
            goto fail;
        if ((rc = half_sweep(&Rt, conf_t, a->U, a->n_users, k, a->reg, (int)p->cg_steps, nt, a->V,
                             G)))
            goto fail;
        if (p->verbose)
            promo_log(PROMO_LOG_INFO, "als: iteration %u done", it + 1);
    }
    gram(a->V, a->n_items, k, 0.0, nt, a->VtV);
    promo_csr_free(&Rt);
    promo_free(conf);
    promo_free(conf_t);
    promo_free(G);
    return promo_rec_model_new(&als_ops, a, train, out);
fail:
    promo_csr_free(&Rt);
    promo_free(conf);
    promo_free(conf_t);
    promo_free(G);
    als_free(a);
    return rc;
}

int promo_als_load(const promo_rec_file *f, const promo_rec_data *shape, promo_rec_model **out)
{
    *out = NULL;
    uint64_t ur, uc, vr, vc, pr, pc;
    const float *U = promo_rec_file_get(f, "U", PROMO_REC_F32, &ur, &uc);
    const float *V = promo_rec_file_get(f, "V", PROMO_REC_F32, &vr, &vc);
    const double *par = promo_rec_file_get(f, "params", PROMO_REC_F64, &pr, &pc);
    if (!U || !V || !par || ur != shape->m.n_rows || vr != shape->m.n_cols || uc != vc || uc < 1 ||
        uc > 4096 || pr * pc != 3)
        return promo_fail(PROMO_EINPUT, "als: model file: factor matrices missing or of the "
                                        "wrong shape");
    als *a = als_alloc((uint32_t)ur, (uint32_t)vr, (uint32_t)uc);
    if (!a)
        return PROMO_ENOMEM;
    memcpy(a->U, U, ur * uc * sizeof *U);
    memcpy(a->V, V, vr * vc * sizeof *V);
    a->reg = par[0];
    a->alpha = par[1];
    a->transform = par[2] != 0.0;
    gram(a->V, a->n_items, a->k, 0.0, 0, a->VtV);
    return promo_rec_model_new(&als_ops, a, shape, out);
}

static const als *als_of(const promo_rec_model *m)
{
    if (strcmp(promo_rec_model_kind(m), "als") != 0) {
        promo_fail(PROMO_EUSAGE, "als: a %s model is not an ALS model", promo_rec_model_kind(m));
        return NULL;
    }
    return promo_rec_model_impl(m);
}

int promo_als_fold_in(
    const promo_rec_model *m, const uint32_t *items, const float *values, size_t n, float *x)
{
    const als *a = als_of(m);
    if (!a)
        return PROMO_EUSAGE;
    for (size_t i = 0; i < n; i++)
        if (items[i] >= a->n_items)
            return promo_fail(PROMO_EUSAGE, "als: item %u out of range", items[i]);
    return fold_in(a, items, values, n, x);
}

int promo_als_loss(const promo_rec_model *m,
                   const promo_rec_data *train,
                   const promo_rec_params *p,
                   double *out)
{
    (void)p;
    const als *a = als_of(m);
    if (!a)
        return PROMO_EUSAGE;
    const promo_csr *R = &train->m;
    if (R->n_rows != a->n_users || R->n_cols != a->n_items)
        return promo_fail(PROMO_EUSAGE, "als: loss on a matrix of another shape");
    uint32_t k = a->k;
    /* sum over all cells of (x.y)^2 = sum_fg (X^T X)_fg (Y^T Y)_fg; observed cells then
     * replace their (x.y)^2 by c (1 - x.y)^2. */
    double *XtX = promo_calloc((size_t)k * k, sizeof *XtX);
    double *YtY = promo_calloc((size_t)k * k, sizeof *YtY);
    if (!XtX || !YtY) {
        promo_free(XtX);
        promo_free(YtY);
        return PROMO_ENOMEM;
    }
    double reg = 0.0;
    for (uint32_t u = 0; u < a->n_users; u++) {
        const float *x = a->U + (size_t)u * k;
        for (uint32_t f = 0; f < k; f++) {
            reg += (double)x[f] * x[f];
            for (uint32_t g = 0; g < k; g++)
                XtX[(size_t)f * k + g] += (double)x[f] * x[g];
        }
    }
    for (uint32_t j = 0; j < a->n_items; j++) {
        const float *y = a->V + (size_t)j * k;
        for (uint32_t f = 0; f < k; f++) {
            reg += (double)y[f] * y[f];
            for (uint32_t g = 0; g < k; g++)
                YtY[(size_t)f * k + g] += (double)y[f] * y[g];
        }
    }
    double loss = 0.0;
    for (size_t q = 0; q < (size_t)k * k; q++)
        loss += XtX[q] * YtY[q];
    for (uint32_t u = 0; u < R->n_rows; u++)
        for (uint64_t e = R->row_ptr[u]; e < R->row_ptr[u + 1]; e++) {
            double s = 0.0;
            const float *x = a->U + (size_t)u * k, *y = a->V + (size_t)R->col_idx[e] * k;
            for (uint32_t f = 0; f < k; f++)
                s += (double)x[f] * y[f];
            loss += (double)confidence(a, R->values[e]) * (1.0 - s) * (1.0 - s) - s * s;
        }
    promo_free(XtX);
    promo_free(YtY);
    *out = loss + a->reg * reg;
    return PROMO_OK;
}
