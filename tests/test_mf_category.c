/* Tests of src/models/mf_category.c: the loss never rises and falls a lot, a low-rank matrix
 * is reconstructed on cells the fit never saw, top-2 skips bought categories, save/load
 * bit-identical, damaged files refused, and `promo train --model mf` on a small world. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/mf_category.h>
#include <promo/rng.h>

#include "t.h"
#include "t_world.h"

/* A rows x cols rank-2 matrix with entries in about [0.2, 1.8]; the cells with mask 1 are
 * stored in the CSR. */
static promo_csr low_rank(uint32_t rows, uint32_t cols, double keep, double *full, uint8_t *mask)
{
    promo_rng r;
    promo_rng_init(&r, 5, 0);
    double *a = malloc(rows * 2 * sizeof *a), *b = malloc(cols * 2 * sizeof *b);
    for (uint32_t i = 0; i < rows * 2; i++)
        a[i] = 0.3 + 0.7 * promo_rng_uniform(&r);
    for (uint32_t j = 0; j < cols * 2; j++)
        b[j] = 0.3 + 0.7 * promo_rng_uniform(&r);
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = rows;
    m.n_cols = cols;
    m.row_ptr = promo_calloc(rows + 1, sizeof *m.row_ptr);
    m.col_idx = promo_mallocn((size_t)rows * cols, sizeof *m.col_idx);
    m.values = promo_mallocn((size_t)rows * cols, sizeof *m.values);
    for (uint32_t i = 0; i < rows; i++) {
        for (uint32_t j = 0; j < cols; j++) {
            double v = a[2 * i] * b[2 * j] + a[2 * i + 1] * b[2 * j + 1];
            full[(size_t)i * cols + j] = v;
            mask[(size_t)i * cols + j] = promo_rng_uniform(&r) < keep;
            if (mask[(size_t)i * cols + j]) {
                m.col_idx[m.nnz] = j;
                m.values[m.nnz++] = (float)v;
            }
        }
        m.row_ptr[i + 1] = m.nnz;
    }
    free(a);
    free(b);
    return m;
}

T_TEST(mf_loss_decreases_and_reconstructs_low_rank)
{
    const uint32_t R = 40, C = 12;
    double full[40 * 12];
    uint8_t mask[40 * 12];
    promo_csr X = low_rank(R, C, 0.6, full, mask);
    promo_mf_params p = promo_mf_params_default();
    p.normalise = 0;
    p.k = 2;
    p.l2 = 1e-4;
    p.n_epochs = 5000;
    p.tol = 1e-10;
    promo_mf *m = NULL;
    T_OK(promo_mf_fit(&X, &p, &m));
    size_t n = 0;
    const double *loss = promo_mf_loss(m, &n);
    T_ASSERT(n > 10);
    for (size_t i = 1; i < n; i++)
        T_ASSERT_MSG(loss[i] < loss[i - 1], "epoch %zu: %g >= %g", i, loss[i], loss[i - 1]);
    T_ASSERT_MSG(loss[n - 1] < 0.01 * loss[0], "loss %g -> %g", loss[0], loss[n - 1]);
    double se = 0, mean = 0;
    size_t nh = 0;
    for (uint32_t i = 0; i < R; i++)
        for (uint32_t j = 0; j < C; j++)
            if (!mask[i * C + j]) {
                double e = promo_mf_predict(m, i, j) - full[i * C + j];
                se += e * e;
                mean += full[i * C + j];
                nh++;
            }
    T_ASSERT(nh > 50);
    double rmse = sqrt(se / nh);
    T_ASSERT_MSG(rmse < 0.05 * (mean / nh), "held-out RMSE %g (mean %g)", rmse, mean / nh);
    promo_mf_free(m);
    promo_csr_free(&X);
}

T_TEST(mf_top_skips_bought_and_normalises)
{
    const uint32_t R = 30, C = 8;
    double full[30 * 8];
    uint8_t mask[30 * 8];
    promo_csr X = low_rank(R, C, 0.5, full, mask);
    for (uint64_t q = 0; q < X.nnz; q++)
        X.values[q] *= 1000; /* money */
    promo_mf_params p = promo_mf_params_default();
    promo_mf *m = NULL;
    T_OK(promo_mf_fit(&X, &p, &m));
    for (uint32_t u = 0; u < R; u++) {
        uint32_t top[2];
        double pred[2];
        size_t n = 0;
        T_OK(promo_mf_top(m, &X, u, 2, top, pred, &n));
        size_t unbought = 0;
        for (uint32_t j = 0; j < C; j++)
            unbought += !mask[u * C + j];
        T_ASSERT_EQ_INT(n, unbought < 2 ? unbought : 2);
        for (size_t j = 0; j < n; j++) {
            T_ASSERT(!mask[u * C + top[j]]);
            /* a prediction lies in the category's observed spend range */
            double lo = INFINITY, hi = -INFINITY;
            for (uint32_t i = 0; i < R; i++)
                if (mask[i * C + top[j]]) {
                    lo = fmin(lo, (float)(full[i * C + top[j]] * 1000));
                    hi = fmax(hi, (float)(full[i * C + top[j]] * 1000));
                }
            T_ASSERT(pred[j] >= lo * 0.999 && pred[j] <= hi * 1.001);
        }
        if (n == 2)
            T_ASSERT(promo_mf_predict_normalised(m, u, top[0]) >=
                     promo_mf_predict_normalised(m, u, top[1]));
    }
    promo_mf_free(m);
    promo_csr_free(&X);
}

T_TEST(mf_save_load_bit_identical_and_corrupt_refused)
{
    double full[20 * 6];
    uint8_t mask[20 * 6];
    promo_csr X = low_rank(20, 6, 0.7, full, mask);
    promo_mf_params p = promo_mf_params_default();
    p.n_epochs = 50;
    promo_mf *m = NULL, *back = NULL;
    T_OK(promo_mf_fit(&X, &p, &m));
    void *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    T_OK(promo_mf_save(m, &b1, &n1));
    T_OK(promo_mf_load(b1, n1, &back));
    T_OK(promo_mf_save(back, &b2, &n2));
    T_ASSERT_EQ_INT(n1, n2);
    T_ASSERT(!memcmp(b1, b2, n1));
    T_ASSERT(promo_mf_predict(m, 3, 4) == promo_mf_predict(back, 3, 4));
    promo_mf_free(back);
    back = NULL;
    unsigned char *c = b1;
    for (size_t at = 0; at < n1; at += n1 / 13 + 1) {
        c[at] ^= 1;
        int rc = promo_mf_load(b1, n1, &back);
        T_ASSERT_MSG(rc == PROMO_EINPUT || rc == PROMO_EVERSION, "byte %zu: rc %d", at, rc);
        T_ASSERT(!back);
        c[at] ^= 1;
    }
    T_ASSERT_EQ_INT(promo_mf_load(b1, n1 / 2, &back), PROMO_EINPUT);
    promo_free(b1);
    promo_free(b2);
    promo_mf_free(m);
    promo_csr_free(&X);
}

T_TEST(mf_bad_params)
{
    double full[5 * 4];
    uint8_t mask[5 * 4];
    promo_csr X = low_rank(5, 4, 1.0, full, mask);
    promo_mf_params p = promo_mf_params_default();
    promo_mf *m = NULL;
    p.k = 0;
    T_ASSERT_EQ_INT(promo_mf_fit(&X, &p, &m), PROMO_EUSAGE);
    p = promo_mf_params_default();
    p.l2 = -1;
    T_ASSERT_EQ_INT(promo_mf_fit(&X, &p, &m), PROMO_EUSAGE);
    p = promo_mf_params_default();
    X.values[0] = -3;
    T_ASSERT_EQ_INT(promo_mf_fit(&X, &p, &m), PROMO_EINPUT);
    T_ASSERT(!m);
    promo_csr_free(&X);
}

static char g_ws[4096];

T_TEST(mf_cli_train_per_tier)
{
    const char *ws = g_ws[0] ? g_ws : t_world_write(g_ws, sizeof g_ws, 200, 30, 5, 5, 6000);
    char args[8800], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws '%s' --model mf", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "customer x category spend");
    T_ASSERT_CONTAINS(out, "top-2 hit rate mf");
    T_ASSERT_CONTAINS(out, "VIP");
    T_ASSERT_CONTAINS(out, "G1");
    free(out);
    free(err);
    char path[4200];
    snprintf(path, sizeof path, "%s/models/mf_category.bin", ws);
    size_t n = 0;
    char *bytes = t_read_file(path, &n);
    T_ASSERT(bytes != NULL);
    promo_mf *m = NULL;
    T_OK(promo_mf_load(bytes, n, &m));
    T_ASSERT_EQ_INT(promo_mf_k(m), 4);
    promo_mf_free(m);
    free(bytes);
    /* each customer's top-2 as CSV: two rows per buyer with at least two unbought categories */
    char csv[4300];
    snprintf(csv, sizeof csv, "%s/../mf_picks.csv", ws);
    snprintf(args, sizeof args, "train --ws '%s' --model mf --out '%s'", ws, csv);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    size_t nc = 0;
    char *text = t_read_file(csv, &nc);
    T_ASSERT(text != NULL);
    T_ASSERT(!strncmp(text, "customer_id,tier,rank,category,predicted_spend\n", 47));
    T_ASSERT_CONTAINS(text, ",1,");
    T_ASSERT_CONTAINS(text, ",2,");
    /* --exclude-category: the first customer's first pick is never recommended again */
    char cat[128] = "", needle[160];
    T_ASSERT(sscanf(text + 47, "%*[^,],%*[^,],%*[^,],%127[^,\n]", cat) == 1);
    free(text);
    snprintf(args, sizeof args, "train --ws '%s' --model mf --out '%s' --exclude-category '%s'", ws,
             csv, cat);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    text = t_read_file(csv, &nc);
    T_ASSERT(text != NULL);
    snprintf(needle, sizeof needle, ",%s,", cat);
    T_ASSERT_MSG(strstr(text, needle) == NULL, "%s still recommended", cat);
    T_ASSERT_CONTAINS(text, ",2,");
    free(text);
    snprintf(args, sizeof args, "train --ws '%s' --model mf --exclude-category 'no such'", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "no category 'no such'");
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws '%s' --model hybrid --out '%s'", ws, csv);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "--out");
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws '%s' --model mf --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"hit2_mf\"");
    free(out);
    free(err);
    /* bad input: exit 2, message names the option */
    snprintf(args, sizeof args, "train --ws '%s' --model mf --horizon 0", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "--horizon");
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws '%s/nope' --model mf", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    free(out);
    free(err);
}

/* zero_weight 1 makes the objective the dense one on the zero-filled matrix: with as many
 * factors as columns it is fitted exactly, zeros included (which checks the gradient of the
 * Gram-matrix form of the unobserved cells' term). */
T_TEST(mf_zero_weight_one_fits_the_zero_filled_matrix)
{
    const uint32_t R = 12, C = 5;
    double full[12 * 5];
    uint8_t mask[12 * 5];
    promo_csr X = low_rank(R, C, 0.5, full, mask);
    promo_mf_params p = promo_mf_params_default();
    p.normalise = 0;
    p.zero_weight = 1;
    p.k = C;
    p.l2 = 1e-7;
    p.n_epochs = 20000;
    p.tol = 0;
    promo_mf *m = NULL;
    T_OK(promo_mf_fit(&X, &p, &m));
    size_t n = 0;
    const double *loss = promo_mf_loss(m, &n);
    for (size_t i = 1; i < n; i++)
        T_ASSERT(loss[i] < loss[i - 1]);
    for (uint32_t i = 0; i < R; i++)
        for (uint32_t j = 0; j < C; j++) {
            double want = mask[i * C + j] ? full[i * C + j] : 0.0;
            T_ASSERT_NEAR(promo_mf_predict(m, i, j), want, 0.02);
        }
    promo_mf_free(m);
    promo_csr_free(&X);
}
