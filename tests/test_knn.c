/* Tests of src/models/knn.c: cosine on a hand-made matrix, every weighting against a naive dense
 * reference, the top-N cut, scoring (item and user), thread-count independence, save/load
 * bit-identical, damaged and foreign files refused, bad parameters. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/knn.h>
#include <promo/rng.h>

#include "t.h"

/* A CSR from a dense row-major matrix (zeros not stored). Caller frees with promo_csr_free. */
static promo_csr csr_from_dense(const float *a, uint32_t rows, uint32_t cols)
{
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = rows;
    m.n_cols = cols;
    m.row_ptr = promo_calloc((size_t)rows + 1, sizeof *m.row_ptr);
    size_t nnz = 0;
    for (size_t k = 0; k < (size_t)rows * cols; k++)
        nnz += a[k] != 0;
    m.col_idx = promo_mallocn(nnz ? nnz : 1, sizeof *m.col_idx);
    m.values = promo_mallocn(nnz ? nnz : 1, sizeof *m.values);
    for (uint32_t i = 0; i < rows; i++) {
        for (uint32_t j = 0; j < cols; j++)
            if (a[(size_t)i * cols + j] != 0) {
                m.col_idx[m.nnz] = j;
                m.values[m.nnz++] = a[(size_t)i * cols + j];
            }
        m.row_ptr[i + 1] = m.nnz;
    }
    return m;
}

static float *random_dense(uint32_t rows, uint32_t cols, double density, uint64_t seed)
{
    float *a = calloc((size_t)rows * cols, sizeof *a);
    promo_rng r;
    promo_rng_init(&r, seed, 0);
    for (size_t k = 0; k < (size_t)rows * cols; k++)
        if (promo_rng_uniform(&r) < density)
            a[k] = (float)(1 + promo_rng_below(&r, 5));
    return a;
}

/* The naive reference: weights of document d (row d of the documents x terms dense matrix). */
static void naive_weights(
    const float *doc, uint32_t nd, uint32_t nt, const promo_knn_params *p, double *w /* nd x nt */)
{
    double *len = calloc(nd, sizeof *len), avg = 0;
    uint32_t *df = calloc(nt, sizeof *df);
    for (uint32_t d = 0; d < nd; d++)
        for (uint32_t t = 0; t < nt; t++) {
            double x = doc[(size_t)d * nt + t];
            if (x != 0) {
                x = p->binary ? 1 : x;
                df[t]++;
                len[d] += x;
            }
        }
    for (uint32_t d = 0; d < nd; d++)
        avg += len[d] / nd;
    for (uint32_t d = 0; d < nd; d++)
        for (uint32_t t = 0; t < nt; t++) {
            double x = doc[(size_t)d * nt + t], v = 0;
            if (x != 0) {
                x = p->binary ? 1 : x;
                double idf = log((nd + 1.0) / df[t]);
                if (p->weighting == PROMO_KNN_WEIGHT_NONE)
                    v = x;
                else if (p->weighting == PROMO_KNN_WEIGHT_TFIDF)
                    v = sqrt(x) * idf;
                else
                    v = x * (p->bm25_k1 + 1) /
                        (p->bm25_k1 * (1 - p->bm25_b + p->bm25_b * len[d] / avg) + x) * idf;
            }
            w[(size_t)d * nt + t] = v;
        }
    free(len);
    free(df);
}

T_TEST(knn_cosine_by_hand)
{
    /* users x items: u0 {i0,i1}, u1 {i0,i1}, u2 {i1,i2} */
    const float a[] = {1, 1, 0, 1, 1, 0, 0, 1, 1};
    promo_csr R = csr_from_dense(a, 3, 3);
    promo_knn_params p = promo_knn_params_default();
    p.weighting = PROMO_KNN_WEIGHT_NONE;
    promo_knn *m = NULL;
    T_OK(promo_knn_fit(&R, &p, &m));
    const promo_csr *S = promo_knn_neighbours(m);
    /* i0 = (1,1,0), i1 = (1,1,1), i2 = (0,0,1) over users */
    T_ASSERT_NEAR(promo_csr_get(S, 0, 1), 2.0 / sqrt(6.0), 1e-6);
    T_ASSERT_NEAR(promo_csr_get(S, 1, 2), 1.0 / sqrt(3.0), 1e-6);
    T_ASSERT_NEAR(promo_csr_get(S, 2, 1), 1.0 / sqrt(3.0), 1e-6);
    T_ASSERT_EQ_INT(S->row_ptr[1] - S->row_ptr[0], 1); /* i0 and i2 share no buyer */
    T_ASSERT_EQ_INT(promo_csr_get(S, 0, 0), 0);        /* no self-similarity */
    /* u2 bought i1, i2: score(i0) = S(i1,i0) */
    float s[3];
    T_OK(promo_knn_score(m, &R, 2, s));
    T_ASSERT_NEAR(s[0], 2.0 / sqrt(6.0), 1e-6);
    promo_knn_free(m);
    /* user-kNN: u0 and u1 identical (cos 1); u2 shares i1 with both (1/2) */
    p.kind = PROMO_KNN_USER;
    T_OK(promo_knn_fit(&R, &p, &m));
    S = promo_knn_neighbours(m);
    T_ASSERT_NEAR(promo_csr_get(S, 0, 1), 1.0, 1e-6);
    T_ASSERT_NEAR(promo_csr_get(S, 2, 0), 0.5, 1e-6);
    /* u2's score for i0: S(u2,u0) + S(u2,u1) = 1 */
    T_OK(promo_knn_score(m, &R, 2, s));
    T_ASSERT_NEAR(s[0], 1.0, 1e-6);
    T_ASSERT_NEAR(s[2], 0.0, 1e-6); /* neither neighbour bought i2 */
    promo_knn_free(m);
    promo_csr_free(&R);
}

T_TEST(knn_weightings_match_naive_reference)
{
    const uint32_t U = 40, I = 25;
    float *a = random_dense(U, I, 0.2, 7);
    promo_csr R = csr_from_dense(a, U, I);
    /* item documents: transpose of a */
    float *docs = calloc((size_t)U * I, sizeof *docs);
    for (uint32_t u = 0; u < U; u++)
        for (uint32_t i = 0; i < I; i++)
            docs[(size_t)i * U + u] = a[(size_t)u * I + i];
    double *w = calloc((size_t)U * I, sizeof *w);
    for (int wt = 0; wt < PROMO_KNN_WEIGHT_COUNT; wt++)
        for (int binary = 0; binary <= 1; binary++) {
            promo_knn_params p = promo_knn_params_default();
            p.weighting = (promo_knn_weighting)wt;
            p.binary = binary;
            p.n_neighbours = I; /* keep all */
            promo_knn *m = NULL;
            T_OK(promo_knn_fit(&R, &p, &m));
            naive_weights(docs, I, U, &p, w);
            const promo_csr *S = promo_knn_neighbours(m);
            for (uint32_t i = 0; i < I; i++)
                for (uint32_t j = 0; j < I; j++) {
                    if (i == j)
                        continue;
                    double dot = 0, ni = 0, nj = 0;
                    for (uint32_t t = 0; t < U; t++) {
                        dot += w[(size_t)i * U + t] * w[(size_t)j * U + t];
                        ni += w[(size_t)i * U + t] * w[(size_t)i * U + t];
                        nj += w[(size_t)j * U + t] * w[(size_t)j * U + t];
                    }
                    double cos = ni > 0 && nj > 0 ? dot / sqrt(ni * nj) : 0;
                    T_ASSERT_NEAR(promo_csr_get(S, i, j), cos, 1e-5);
                }
            promo_knn_free(m);
        }
    free(a);
    free(docs);
    free(w);
    promo_csr_free(&R);
}

/* On 0/1 data BM25's length factor is per document and the cosine cancels it. */
T_TEST(knn_bm25_equals_tfidf_on_binary_data)
{
    float *a = random_dense(50, 20, 0.25, 5);
    promo_csr R = csr_from_dense(a, 50, 20);
    promo_knn_params p = promo_knn_params_default();
    p.n_neighbours = 20;
    promo_knn *bm = NULL, *tf = NULL;
    T_OK(promo_knn_fit(&R, &p, &bm));
    p.weighting = PROMO_KNN_WEIGHT_TFIDF;
    T_OK(promo_knn_fit(&R, &p, &tf));
    const promo_csr *A = promo_knn_neighbours(bm), *B = promo_knn_neighbours(tf);
    T_ASSERT_EQ_INT(A->nnz, B->nnz);
    for (uint64_t q = 0; q < A->nnz; q++) {
        T_ASSERT_EQ_INT(A->col_idx[q], B->col_idx[q]);
        T_ASSERT_NEAR(A->values[q], B->values[q], 1e-6);
    }
    promo_knn_free(bm);
    promo_knn_free(tf);
    free(a);
    promo_csr_free(&R);
}

T_TEST(knn_bm25_downweights_heavy_buyers)
{
    /* i0 and i1 share two buyers who buy everything; i0 and i2 share one buyer of just them.
     * Unweighted, i1 is i0's nearest; with BM25 (and TF-IDF) the specific buyer wins. */
    const uint32_t I = 8;
    float a[4 * 8] = {0};
    for (uint32_t i = 0; i < I; i++)
        if (i != 2)
            a[0 * I + i] = a[1 * I + i] = 1; /* two heavy buyers of all but i2 */
    a[2 * I + 0] = a[2 * I + 2] = 1;         /* one buyer of i0 and i2 */
    a[3 * I + 1] = 1;                        /* i1 has one more buyer */
    promo_csr R = csr_from_dense(a, 4, I);
    for (int wt = 0; wt < PROMO_KNN_WEIGHT_COUNT; wt++) {
        promo_knn_params p = promo_knn_params_default();
        p.weighting = (promo_knn_weighting)wt;
        promo_knn *m = NULL;
        T_OK(promo_knn_fit(&R, &p, &m));
        const promo_csr *S = promo_knn_neighbours(m);
        float s01 = promo_csr_get(S, 0, 1), s02 = promo_csr_get(S, 0, 2);
        if (wt == PROMO_KNN_WEIGHT_NONE)
            T_ASSERT_MSG(s01 > s02, "none: %g <= %g", (double)s01, (double)s02);
        else
            T_ASSERT_MSG(s02 > s01, "%s: %g <= %g", promo_knn_weighting_name(wt), (double)s02,
                         (double)s01);
        promo_knn_free(m);
    }
    promo_csr_free(&R);
}

T_TEST(knn_top_n_is_sparse_and_thread_independent)
{
    const uint32_t U = 300, I = 120;
    float *a = random_dense(U, I, 0.08, 11);
    promo_csr R = csr_from_dense(a, U, I);
    promo_knn_params p = promo_knn_params_default();
    p.n_neighbours = 5;
    p.n_threads = 1;
    promo_knn *m1 = NULL, *m2 = NULL, *all = NULL;
    T_OK(promo_knn_fit(&R, &p, &m1));
    p.n_threads = 2;
    T_OK(promo_knn_fit(&R, &p, &m2));
    p.n_neighbours = I;
    T_OK(promo_knn_fit(&R, &p, &all));
    const promo_csr *S1 = promo_knn_neighbours(m1), *S2 = promo_knn_neighbours(m2),
                    *SA = promo_knn_neighbours(all);
    T_OK(promo_csr_check(S1));
    T_ASSERT_EQ_INT(S1->nnz, S2->nnz);
    T_ASSERT(!memcmp(S1->col_idx, S2->col_idx, S1->nnz * sizeof *S1->col_idx));
    T_ASSERT(!memcmp(S1->values, S2->values, S1->nnz * sizeof *S1->values));
    for (uint32_t i = 0; i < I; i++) {
        uint64_t n = S1->row_ptr[i + 1] - S1->row_ptr[i];
        T_ASSERT(n <= 5);
        /* the kept five are the five largest of the full row */
        float kept_min = INFINITY;
        for (uint64_t k = S1->row_ptr[i]; k < S1->row_ptr[i + 1]; k++)
            kept_min = fminf(kept_min, S1->values[k]);
        uint32_t larger = 0;
        for (uint64_t k = SA->row_ptr[i]; k < SA->row_ptr[i + 1]; k++)
            larger += SA->values[k] > kept_min;
        T_ASSERT(larger <= n);
        if (n < 5)
            T_ASSERT_EQ_INT(SA->row_ptr[i + 1] - SA->row_ptr[i], n);
    }
    promo_knn_free(m1);
    promo_knn_free(m2);
    promo_knn_free(all);
    free(a);
    promo_csr_free(&R);
}

T_TEST(knn_save_load_bit_identical_and_corrupt_refused)
{
    const uint32_t U = 60, I = 30;
    float *a = random_dense(U, I, 0.15, 3);
    promo_csr R = csr_from_dense(a, U, I);
    for (int kind = 0; kind < PROMO_KNN_KIND_COUNT; kind++) {
        promo_knn_params p = promo_knn_params_default();
        p.kind = (promo_knn_kind)kind;
        p.n_neighbours = 7;
        promo_knn *m = NULL, *back = NULL;
        T_OK(promo_knn_fit(&R, &p, &m));
        void *b1 = NULL, *b2 = NULL;
        size_t n1 = 0, n2 = 0;
        T_OK(promo_knn_save(m, &b1, &n1));
        T_OK(promo_knn_load(b1, n1, &back));
        T_OK(promo_knn_save(back, &b2, &n2));
        T_ASSERT_EQ_INT(n1, n2);
        T_ASSERT(!memcmp(b1, b2, n1));
        float s1[30], s2[30];
        T_OK(promo_knn_score(m, &R, 5, s1));
        T_OK(promo_knn_score(back, &R, 5, s2));
        T_ASSERT(!memcmp(s1, s2, sizeof s1));
        promo_knn_free(back);
        back = NULL;
        /* a flipped byte anywhere, a cut file, another kind: refused with PROMO_EINPUT */
        unsigned char *c = b1;
        for (size_t at = 0; at < n1; at += n1 / 17 + 1) {
            c[at] ^= 0x20;
            int rc = promo_knn_load(b1, n1, &back);
            T_ASSERT_MSG(rc == PROMO_EINPUT || rc == PROMO_EVERSION, "byte %zu: rc %d", at, rc);
            T_ASSERT(back == NULL);
            c[at] ^= 0x20;
        }
        T_ASSERT_EQ_INT(promo_knn_load(b1, n1 - 9, &back), PROMO_EINPUT);
        T_ASSERT_EQ_INT(promo_knn_load(b1, 10, &back), PROMO_EINPUT);
        T_ASSERT_CONTAINS(promo_last_error(), "knn model");
        promo_free(b1);
        promo_free(b2);
        promo_knn_free(m);
    }
    free(a);
    promo_csr_free(&R);
}

T_TEST(knn_bad_input)
{
    const float a[] = {1, -1, 0, 1};
    promo_csr R = csr_from_dense(a, 2, 2);
    promo_knn_params p = promo_knn_params_default();
    promo_knn *m = NULL;
    T_ASSERT_EQ_INT(promo_knn_fit(&R, &p, &m), PROMO_EINPUT);
    R.values[1] = 1;
    p.n_neighbours = 0;
    T_ASSERT_EQ_INT(promo_knn_fit(&R, &p, &m), PROMO_EUSAGE);
    p = promo_knn_params_default();
    p.bm25_b = 2;
    T_ASSERT_EQ_INT(promo_knn_fit(&R, &p, &m), PROMO_EUSAGE);
    p = promo_knn_params_default();
    T_OK(promo_knn_fit(&R, &p, &m));
    float s[2];
    T_ASSERT_EQ_INT(promo_knn_score(m, &R, 2, s), PROMO_EUSAGE);
    const uint32_t bad = 9;
    T_ASSERT_EQ_INT(promo_knn_score_items(m, &bad, NULL, 1, s), PROMO_EUSAGE);
    promo_knn_free(m);
    promo_csr_free(&R);
}

#include <promo/recommend.h>

#include "t_world.h"

static char g_knn_ws[4096];

/* promo train --model knn through recommend.h's layer: evaluated beside popularity, saved in
 * the workspace, promo recommend reads it back; a damaged model file is refused. */
T_TEST(knn_cli_train_recommend_and_corrupt_model)
{
    const char *ws =
        g_knn_ws[0] ? g_knn_ws : t_world_write(g_knn_ws, sizeof g_knn_ws, 150, 30, 4, 4, 5000);
    char args[4400], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws '%s' --model knn", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "knn");
    T_ASSERT_CONTAINS(out, "popularity");
    free(out);
    free(err);
    char path[4200];
    snprintf(path, sizeof path, "%s/models/rec_knn.bin", ws);
    promo_rec_model *m = NULL;
    T_OK(promo_rec_model_load(path, &m));
    T_ASSERT_STR_EQ(promo_rec_model_kind(m), "knn");
    /* saved again, the bytes are the same */
    promo_rec_file *f = NULL;
    void *b = NULL;
    size_t nb = 0, n0 = 0;
    T_OK(promo_rec_model_to_file(m, &f));
    T_OK(promo_rec_file_bytes(f, &b, &nb));
    char *disk = t_read_file(path, &n0);
    T_ASSERT_EQ_INT(nb, n0);
    T_ASSERT(!memcmp(b, disk, nb));
    promo_free(b);
    promo_rec_file_free(f);
    promo_rec_model_free(m);
    snprintf(args, sizeof args, "recommend --ws '%s' --model knn --all --k 3", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "customer_id,product_id,rank,score");
    free(out);
    free(err);
    /* one flipped byte: refused, exit 2, the path named */
    disk[n0 / 2] ^= 0x10;
    t_write_file(path, disk, n0);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "rec_knn.bin");
    free(out);
    free(err);
    free(disk);
}

/* promo train --model knn with its own options; bad values exit 2 naming the option. */
T_TEST(knn_cli_options)
{
    const char *ws =
        g_knn_ws[0] ? g_knn_ws : t_world_write(g_knn_ws, sizeof g_knn_ws, 150, 30, 4, 4, 5000);
    char args[4400], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "train --ws '%s' --model user-knn --weighting tfidf --neighbours 10 --k 5 --json", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "\"model\": \"user-knn\"");
    T_ASSERT_CONTAINS(out, "\"k\": 5");
    free(out);
    free(err);
    static const char *const bad[][2] = {
        {"--weighting okapi", "--weighting"},
        {"--neighbours 0", "--neighbours"},
        {"--k -1", "--k"},
    };
    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "train --ws '%s' --model knn %s", ws, bad[i][0]);
        T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
        T_ASSERT_CONTAINS(err, bad[i][1]);
        free(out);
        free(err);
    }
}
