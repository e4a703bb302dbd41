/* ALS and BPR (recommend.h): the loss goes down, the CG row solver matches an exact dense
 * solve, save/load is bit-identical, a corrupt file is refused, fold-in lands near the
 * trained vector, and results do not depend on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/recommend.h>

#include "t.h"

/* A planted implicit matrix: users and items in `groups` taste groups; a user buys each item
 * of their group with probability p_in, others with p_out (counter-based: reproducible). */
static void
planted(uint32_t nu, uint32_t ni, uint32_t groups, double p_in, double p_out, promo_rec_data *out)
{
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = nu;
    m.n_cols = ni;
    m.row_ptr = promo_calloc(nu + 1, sizeof *m.row_ptr);
    m.col_idx = promo_mallocn((size_t)nu * ni, sizeof *m.col_idx);
    m.values = promo_mallocn((size_t)nu * ni, sizeof *m.values);
    T_ASSERT(m.row_ptr && m.col_idx && m.values);
    for (uint32_t u = 0; u < nu; u++) {
        for (uint32_t i = 0; i < ni; i++) {
            double p = u % groups == i % groups ? p_in : p_out;
            uint64_t h = promo_fmix64(((uint64_t)u << 32) ^ i ^ 0xabcdefULL);
            if ((double)(h >> 11) / 9007199254740992.0 < p) {
                m.col_idx[m.nnz] = i;
                m.values[m.nnz++] = (float)(1 + h % 3);
            }
        }
        m.row_ptr[u + 1] = m.nnz;
    }
    T_OK(promo_rec_data_from_csr(&m, out));
}

static promo_rec_factors factors_of(const promo_rec_model *m)
{
    promo_rec_factors f;
    memset(&f, 0, sizeof f);
    T_OK(promo_rec_model_ops(m)->factors(promo_rec_model_impl(m), &f));
    return f;
}

T_TEST(als_loss_decreases_with_iterations)
{
    promo_rec_data d;
    planted(80, 50, 4, 0.5, 0.05, &d);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 8;
    p.regularization = 0.1;
    p.n_threads = 2;
    double prev = INFINITY, first = 0;
    for (uint32_t it = 1; it <= 8; it *= 2) {
        p.iterations = it;
        promo_rec_model *m = NULL;
        T_OK(promo_als_fit(&d, &p, &m));
        double loss;
        T_OK(promo_als_loss(m, &d, &p, &loss));
        if (it == 1)
            first = loss;
        T_ASSERT_MSG(loss <= prev * (1 + 1e-4), "iterations %u: loss %g after %g", it, loss, prev);
        prev = loss;
        promo_rec_model_free(m);
    }
    T_ASSERT_MSG(prev < 0.9 * first, "loss %g -> %g", first, prev);
    promo_rec_data_free(&d);
}

T_TEST(als_cg_matches_exact_dense_solve)
{
    /* k = 4: conjugate gradient reaches the exact solution of a 4 x 4 system in 4 steps (in
     * exact arithmetic), so one sweep with 8 CG steps must match the Cholesky solve. */
    promo_rec_data d;
    planted(12, 9, 3, 0.6, 0.1, &d);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 4;
    p.iterations = 1;
    p.regularization = 0.5;
    p.n_threads = 1;
    promo_rec_model *cg = NULL, *ex = NULL;
    p.cg_steps = 8;
    T_OK(promo_als_fit(&d, &p, &cg));
    p.cg_steps = 0;
    T_OK(promo_als_fit(&d, &p, &ex));
    promo_rec_factors a = factors_of(cg), b = factors_of(ex);
    for (size_t q = 0; q < (size_t)a.n_users * a.k; q++)
        T_ASSERT_NEAR(a.U[q], b.U[q], 1e-3 * (1 + fabsf(b.U[q])));
    for (size_t q = 0; q < (size_t)a.n_items * a.k; q++)
        T_ASSERT_NEAR(a.V[q], b.V[q], 1e-3 * (1 + fabsf(b.V[q])));
    /* and the exact solve satisfies the normal equations of the first half-sweep: checked
     * through fold-in, which solves the same system for one row against the final V. */
    float x[4];
    const promo_csr *R = &d.m;
    T_OK(promo_als_fold_in(ex, R->col_idx + R->row_ptr[0], R->values + R->row_ptr[0],
                           R->row_ptr[1] - R->row_ptr[0], x));
    /* residual of (V^T C V + lambda I) x = V^T C p, computed here in double */
    double A[16] = {0}, rhs[4] = {0};
    for (uint32_t j = 0; j < b.n_items; j++) {
        double c = 1.0;
        for (uint64_t e = R->row_ptr[0]; e < R->row_ptr[1]; e++)
            if (R->col_idx[e] == j)
                c = 1.0 + p.alpha * log1p(R->values[e]);
        int bought = promo_csr_get(R, 0, j) != 0.0f;
        for (int f = 0; f < 4; f++) {
            rhs[f] += bought ? c * b.V[j * 4 + f] : 0.0;
            for (int g = 0; g < 4; g++)
                A[f * 4 + g] += c * b.V[j * 4 + f] * b.V[j * 4 + g];
        }
    }
    for (int f = 0; f < 4; f++) {
        double r = -rhs[f] + 0.5 * x[f];
        for (int g = 0; g < 4; g++)
            r += A[f * 4 + g] * x[g];
        T_ASSERT_NEAR(r, 0.0, 1e-3);
    }
    promo_rec_model_free(cg);
    promo_rec_model_free(ex);
    promo_rec_data_free(&d);
}

T_TEST(als_vector_cg_at_32_64_128_factors_matches_exact_solve)
{
    /* k = 32, 64 and 128 take the register-blocked CG kernels (als.c: cg_row_v), every other
     * k the plain loops checked above. Conjugate gradient reaches the exact solution of a
     * k x k system in at most k steps, so one sweep with 2 k steps must match the Cholesky
     * solve; rows of 1..40 non-zeros cover the kernels' 4-at-a-time loop and its tail. */
    promo_rec_data d;
    planted(40, 60, 4, 0.5, 0.1, &d);
    static const uint32_t ks[] = {32, 64, 128};
    for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
        promo_rec_params p = promo_rec_params_default();
        p.factors = ks[t];
        p.iterations = 1;
        p.regularization = 2.0;
        p.n_threads = 2;
        promo_rec_model *cg = NULL, *ex = NULL;
        p.cg_steps = 2 * ks[t];
        T_OK(promo_als_fit(&d, &p, &cg));
        p.cg_steps = 0;
        T_OK(promo_als_fit(&d, &p, &ex));
        promo_rec_factors a = factors_of(cg), b = factors_of(ex);
        double worst = 0;
        for (size_t q = 0; q < (size_t)a.n_users * a.k; q++)
            worst = fmax(worst, fabs(a.U[q] - b.U[q]) / (1 + fabs(b.U[q])));
        for (size_t q = 0; q < (size_t)a.n_items * a.k; q++)
            worst = fmax(worst, fabs(a.V[q] - b.V[q]) / (1 + fabs(b.V[q])));
        T_ASSERT_MSG(worst < 1e-3, "k %u: CG vs exact differ by %g", ks[t], worst);
        promo_rec_model_free(cg);
        promo_rec_model_free(ex);
    }
    promo_rec_data_free(&d);
}

static void file_bytes(const promo_rec_model *m, void **b, size_t *n)
{
    promo_rec_file *f = NULL;
    T_OK(promo_rec_model_to_file(m, &f));
    T_OK(promo_rec_file_bytes(f, b, n));
    promo_rec_file_free(f);
}

T_TEST(als_bpr_save_load_bit_identical_and_same_scores)
{
    promo_rec_data d;
    planted(40, 30, 3, 0.5, 0.05, &d);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 6;
    p.iterations = 3;
    p.epochs = 5;
    const char *kinds[] = {"als", "bpr", "popularity"};
    for (int k = 0; k < 3; k++) {
        promo_rec_model *m = NULL, *back = NULL;
        T_OK(promo_rec_fit(kinds[k], &d, &p, &m));
        void *b1 = NULL, *b2 = NULL;
        size_t n1 = 0, n2 = 0;
        file_bytes(m, &b1, &n1);
        char path[600];
        snprintf(path, sizeof path, "%s/m_%s.bin", t_tmpdir(), kinds[k]);
        T_OK(promo_rec_model_save(m, NULL, path));
        T_OK(promo_rec_model_load(path, &back));
        T_ASSERT_STR_EQ(promo_rec_model_kind(back), kinds[k]);
        file_bytes(back, &b2, &n2);
        T_ASSERT_EQ_INT(n1, n2);
        T_ASSERT(memcmp(b1, b2, n1) == 0);
        float s1[30], s2[30];
        uint32_t items[2] = {1, 4};
        for (uint32_t u = 0; u < 40; u += 13) {
            T_OK(promo_rec_model_score_user(m, u, s1));
            T_OK(promo_rec_model_score_user(back, u, s2));
            T_ASSERT(memcmp(s1, s2, sizeof s1) == 0);
        }
        T_OK(promo_rec_model_score_history(m, items, NULL, 2, s1));
        T_OK(promo_rec_model_score_history(back, items, NULL, 2, s2));
        T_ASSERT(memcmp(s1, s2, sizeof s1) == 0);
        promo_free(b1);
        promo_free(b2);
        promo_rec_model_free(m);
        promo_rec_model_free(back);
    }
    promo_rec_data_free(&d);
}

T_TEST(rec_file_corrupt_truncated_or_other_version_refused)
{
    promo_rec_data d;
    planted(20, 10, 2, 0.5, 0.1, &d);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 4;
    p.iterations = 2;
    promo_rec_model *m = NULL, *back = NULL;
    T_OK(promo_rec_fit("als", &d, &p, &m));
    unsigned char *b = NULL;
    size_t n = 0;
    file_bytes(m, (void **)&b, &n);
    promo_rec_file *f = NULL;
    /* every single flipped byte (a sample of positions) is caught */
    for (size_t pos = 0; pos < n; pos += 7) {
        b[pos] ^= 0x20;
        int rc = promo_rec_file_parse(b, n, "m.bin", &f);
        T_ASSERT_MSG(rc == PROMO_EINPUT || rc == PROMO_EVERSION, "byte %zu: rc %d", pos, rc);
        T_ASSERT(f == NULL);
        b[pos] ^= 0x20;
    }
    T_ASSERT_EQ_INT(promo_rec_file_parse(b, n - 8, "m.bin", &f), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "m.bin");
    T_ASSERT_EQ_INT(promo_rec_file_parse(b, 20, "m.bin", &f), PROMO_EINPUT);
    b[8] = 99; /* version */
    T_ASSERT_EQ_INT(promo_rec_file_parse(b, n, "m.bin", &f), PROMO_EVERSION);
    T_ASSERT_CONTAINS(promo_last_error(), "version 99");
    b[8] = PROMO_REC_FILE_VERSION;
    T_OK(promo_rec_file_parse(b, n, "m.bin", &f));
    /* a well-formed file of an unknown kind, or with a section missing, is refused too */
    promo_rec_file *g = NULL;
    T_OK(promo_rec_file_new("nosuchmodel", &g));
    T_ASSERT_EQ_INT(promo_rec_model_from_file(g, &back), PROMO_ENOTFOUND);
    promo_rec_file_free(g);
    T_OK(promo_rec_file_new("als", &g));
    T_OK(promo_rec_file_add_i64(g, "as_of", 0));
    T_OK(promo_rec_file_add_i64(g, "from", 0));
    T_OK(promo_rec_file_add_i64(g, "n_users", 20));
    T_OK(promo_rec_file_add_i64(g, "n_items", 10));
    T_ASSERT(promo_rec_model_from_file(g, &back) != PROMO_OK);
    T_ASSERT(back == NULL);
    promo_rec_file_free(g);
    promo_rec_file_free(f);
    promo_free(b);
    promo_rec_model_free(m);
    promo_rec_data_free(&d);
}

static double cosine(const float *a, const float *b, uint32_t k)
{
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t f = 0; f < k; f++) {
        ab += (double)a[f] * b[f];
        aa += (double)a[f] * a[f];
        bb += (double)b[f] * b[f];
    }
    return ab / sqrt(aa * bb + 1e-30);
}

/* Mean, over users, of the share of other users whose trained vector is closer (cosine) to
 * the user's folded-in vector than the user's own trained vector. */
static double fold_in_rank(const promo_rec_model *m, const promo_rec_data *d, int bpr)
{
    promo_rec_factors fx = factors_of(m);
    float x[16];
    double sum = 0;
    const promo_csr *R = &d->m;
    for (uint32_t u = 0; u < fx.n_users; u++) {
        uint64_t b = R->row_ptr[u], n = R->row_ptr[u + 1] - b;
        if (bpr)
            T_OK(promo_bpr_fold_in(m, R->col_idx + b, R->values + b, n, x));
        else
            T_OK(promo_als_fold_in(m, R->col_idx + b, R->values + b, n, x));
        double own = cosine(x, fx.U + (size_t)u * fx.k, fx.k);
        size_t closer = 0;
        for (uint32_t v = 0; v < fx.n_users; v++)
            closer += v != u && cosine(x, fx.U + (size_t)v * fx.k, fx.k) > own;
        sum += (double)closer / (fx.n_users - 1);
    }
    return sum / fx.n_users;
}

/* Mean share of the top-10 items (bought ones included) that the fold-in of user u's history
 * shares with the trained list of user u (shift 0) or of user u + shift (another user). */
static double topk_overlap(const promo_rec_model *m, const promo_rec_data *d, uint32_t shift)
{
    promo_rec_query q = promo_rec_query_default();
    q.k = 10;
    q.exclude_bought = 0;
    uint32_t nu = promo_rec_model_n_users(m), a[10], b[10];
    float sa[10], sb[10];
    double sum = 0;
    const promo_csr *R = &d->m;
    for (uint32_t u = 0; u < nu; u++) {
        uint32_t v =
            (u + shift * (1 + u % 3)) % nu; /* shift 1: another user, often another group */
        size_t got = 0, hits = 0;
        promo_rec_topk t;
        T_OK(promo_rec_topk_users(m, &q, &v, 1, &t));
        memcpy(b, t.items, sizeof b);
        memcpy(sb, t.scores, sizeof sb);
        promo_rec_topk_free(&t);
        uint64_t e = R->row_ptr[u];
        T_OK(promo_rec_topk_history(m, &q, R->col_idx + e, R->values + e, R->row_ptr[u + 1] - e, a,
                                    sa, &got));
        for (size_t i = 0; i < got; i++)
            for (size_t j = 0; j < 10; j++)
                hits += a[i] == b[j];
        sum += (double)hits / 10;
    }
    return sum / nu;
}

T_TEST(fold_in_of_own_history_lands_near_trained_vector)
{
    promo_rec_data d;
    planted(60, 40, 4, 0.5, 0.08, &d);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 8;
    p.iterations = 20;
    p.regularization = 0.5;
    promo_rec_model *m = NULL;
    T_OK(promo_als_fit(&d, &p, &m));
    double r = fold_in_rank(m, &d, 0);
    T_ASSERT_MSG(r < 0.02, "ALS fold-in: %.3f of users closer than the own vector", r);
    promo_rec_model_free(m);
    p.epochs = 200;
    p.learning_rate = 0.05;
    p.regularization = 0.01;
    T_OK(promo_bpr_fit(&d, &p, &m));
    /* BPR's fold-in is SGD from the mean bought-item vector: near the trained vector, not
     * equal, so judged by what it is for: the top-10 lists of the folded-in and the trained
     * vector share most items, and far more than the lists of two random users do. */
    double same = topk_overlap(m, &d, 0), other = topk_overlap(m, &d, 1);
    T_ASSERT_MSG(same > 0.6 && same > other + 0.2,
                 "BPR fold-in: top-10 overlap %.3f (other "
                 "users %.3f)",
                 same, other);
    /* and a cold customer's list follows their few purchases: two items of group 1 put
     * group-1 items first */
    uint32_t items[2] = {1, 5}, top[5];
    float sc[5];
    size_t got = 0;
    promo_rec_query q = promo_rec_query_default();
    q.k = 5;
    T_OK(promo_rec_topk_history(m, &q, items, NULL, 2, top, sc, &got));
    T_ASSERT_EQ_INT(got, 5);
    size_t in_group = 0;
    for (int i = 0; i < 5; i++) {
        T_ASSERT(top[i] != 1 && top[i] != 5); /* bought: excluded */
        in_group += top[i] % 4 == 1;
    }
    T_ASSERT_MSG(in_group >= 4, "%zu of 5 in the customer's group", in_group);
    promo_rec_model_free(m);
    promo_rec_data_free(&d);
}

T_TEST(als_bpr_results_do_not_depend_on_thread_count)
{
    promo_rec_data d;
    planted(70, 45, 3, 0.4, 0.05, &d);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 8;
    p.iterations = 4;
    p.epochs = 10;
    /* the third: ALS at 64 factors (the vector kernels) */
    const char *kinds[] = {"als", "bpr", "als"};
    for (int k = 0; k < 3; k++) {
        p.factors = k == 2 ? 64 : 8;
        promo_rec_model *a = NULL, *b = NULL;
        p.n_threads = 1;
        T_OK(promo_rec_fit(kinds[k], &d, &p, &a));
        p.n_threads = 2;
        T_OK(promo_rec_fit(kinds[k], &d, &p, &b));
        void *ba = NULL, *bb = NULL;
        size_t na = 0, nb = 0;
        file_bytes(a, &ba, &na);
        file_bytes(b, &bb, &nb);
        T_ASSERT_EQ_INT(na, nb);
        T_ASSERT_MSG(memcmp(ba, bb, na) == 0, "%s differs between 1 and 2 threads", kinds[k]);
        promo_free(ba);
        promo_free(bb);
        promo_rec_model_free(a);
        promo_rec_model_free(b);
    }
    /* hogwild runs and learns (not bit-reproducible by design) */
    p.hogwild = 1;
    promo_rec_model *h = NULL;
    T_OK(promo_bpr_fit(&d, &p, &h));
    promo_rec_model_free(h);
    promo_rec_data_free(&d);
}

T_TEST(als_bpr_bad_parameters_named)
{
    promo_rec_data d;
    planted(10, 8, 2, 0.5, 0.1, &d);
    promo_rec_params p = promo_rec_params_default();
    promo_rec_model *m = NULL;
    p.factors = 0;
    T_ASSERT_EQ_INT(promo_als_fit(&d, &p, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "factors");
    T_ASSERT_EQ_INT(promo_bpr_fit(&d, &p, &m), PROMO_EUSAGE);
    p = promo_rec_params_default();
    p.learning_rate = 0;
    T_ASSERT_EQ_INT(promo_bpr_fit(&d, &p, &m), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "learning_rate");
    d.m.values[0] = -1;
    p = promo_rec_params_default();
    T_ASSERT_EQ_INT(promo_als_fit(&d, &p, &m), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_rec_fit("nosuch", &d, &p, &m), PROMO_ENOTFOUND);
    T_ASSERT(m == NULL);
    promo_rec_data_free(&d);
}

/* Fit, save, load and list for one kind; returns the first failing status. */
static int fit_save_load_list(const char *kind, const promo_rec_data *d, const promo_rec_params *p)
{
    promo_rec_model *m = NULL, *back = NULL;
    promo_rec_file *f = NULL, *g = NULL;
    void *b = NULL;
    size_t n = 0;
    promo_rec_topk t = {0};
    promo_rec_query q = promo_rec_query_default();
    q.k = 3;
    q.history = &d->m;
    q.n_threads = 1;
    uint32_t items[2] = {0, 3}, top[3];
    float sc[3];
    size_t got = 0;
    int rc = promo_rec_fit(kind, d, p, &m);
    if (!rc)
        rc = promo_rec_model_to_file(m, &f);
    if (!rc)
        rc = promo_rec_file_bytes(f, &b, &n);
    if (!rc)
        rc = promo_rec_file_parse(b, n, "m.bin", &g);
    if (!rc)
        rc = promo_rec_model_from_file(g, &back);
    if (!rc)
        rc = promo_rec_topk_all(back, &q, &t);
    if (!rc)
        rc = promo_rec_topk_history(back, &q, items, NULL, 2, top, sc, &got);
    promo_rec_topk_free(&t);
    promo_free(b);
    promo_rec_file_free(f);
    promo_rec_file_free(g);
    promo_rec_model_free(m);
    promo_rec_model_free(back);
    return rc;
}

T_TEST(als_bpr_allocation_failures_clean)
{
    /* Every allocation of fit + save + load + top-K failing in turn (the first 16 and 24 spread
     * over the rest) gives PROMO_ENOMEM and no leak (LSan checks at exit). One thread: the
     * allocation order is then fixed. */
    promo_rec_data d;
    planted(30, 12, 3, 0.5, 0.1, &d);
    promo_rec_params p = promo_rec_params_default();
    p.factors = 4;
    p.iterations = 2;
    p.epochs = 2;
    p.n_threads = 1;
    const char *kinds[] = {"als", "bpr", "popularity"};
    for (int k = 0; k < 3; k++) {
        promo_alloc_fail_at(0);
        T_OK(fit_save_load_list(kinds[k], &d, &p));
        long n_alloc = promo_alloc_count();
        T_ASSERT(n_alloc > 16);
        for (int s = 0; s < 40; s++) {
            long at = s < 16 ? s + 1 : 16 + (n_alloc - 16) * (s - 15) / 24;
            promo_alloc_fail_at(at);
            int rc = fit_save_load_list(kinds[k], &d, &p);
            promo_alloc_fail_at(0);
            T_ASSERT_MSG(rc == PROMO_ENOMEM, "%s: allocation %ld of %ld: %d %s", kinds[k], at,
                         n_alloc, rc, promo_last_error());
        }
    }
    promo_rec_data_free(&d);
}
