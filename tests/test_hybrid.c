/* Tests of src/models/hybrid.c: a new customer known only by an attribute and a new product
 * known only by its category are recommended from their features; WARP and BPR both learn;
 * determinism; save/load bit-identical; damaged files refused; bad input. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hybrid.h>
#include <promo/rng.h>

#include "t.h"

/* CSR from row lists: row i has cols[off[i] .. off[i+1]) (sorted), all weights 1. */
static promo_csr csr_rows(uint32_t rows, uint32_t ncols, const uint32_t *off, const uint32_t *cols)
{
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = rows;
    m.n_cols = ncols;
    m.nnz = off[rows];
    m.row_ptr = promo_mallocn(rows + 1, sizeof *m.row_ptr);
    m.col_idx = promo_mallocn(m.nnz ? m.nnz : 1, sizeof *m.col_idx);
    m.values = promo_mallocn(m.nnz ? m.nnz : 1, sizeof *m.values);
    for (uint32_t i = 0; i <= rows; i++)
        m.row_ptr[i] = off[i];
    for (uint64_t q = 0; q < m.nnz; q++) {
        m.col_idx[q] = cols[q];
        m.values[q] = 1;
    }
    return m;
}

/* 40 users in two groups (feature 40 = group A, 41 = group B, plus identity 0..39), 20 items
 * in two categories (feature 20 = cat A, 21 = cat B, plus identity 0..19). A users buy A
 * items, B users B items, each 4 random ones. */
typedef struct world {
    promo_csr R, UF, IF;
} world;

static world make_world(void)
{
    const uint32_t U = 40, I = 20;
    uint32_t off[41], cols[40 * 4], uoff[41], ucols[80], ioff[21], icols[40];
    promo_rng r;
    promo_rng_init(&r, 9, 0);
    off[0] = uoff[0] = 0;
    for (uint32_t u = 0; u < U; u++) {
        int a = u < U / 2;
        uint8_t pick[10] = {0};
        uint32_t n = 0;
        while (n < 4) {
            uint32_t k = (uint32_t)promo_rng_below(&r, 10);
            if (!pick[k]) {
                pick[k] = 1;
                n++;
            }
        }
        uint32_t at = off[u];
        for (uint32_t k = 0; k < 10; k++)
            if (pick[k])
                cols[at++] = (a ? 0 : 10) + k;
        off[u + 1] = at;
        ucols[2 * u] = u;
        ucols[2 * u + 1] = a ? 40 : 41;
        uoff[u + 1] = 2 * (u + 1);
    }
    ioff[0] = 0;
    for (uint32_t i = 0; i < I; i++) {
        icols[2 * i] = i;
        icols[2 * i + 1] = i < 10 ? 20 : 21;
        ioff[i + 1] = 2 * (i + 1);
    }
    world w = {csr_rows(U, I, off, cols), csr_rows(U, 42, uoff, ucols),
               csr_rows(I, 22, ioff, icols)};
    return w;
}

static void free_world(world *w)
{
    promo_csr_free(&w->R);
    promo_csr_free(&w->UF);
    promo_csr_free(&w->IF);
}

T_TEST(hybrid_new_customer_from_features_alone)
{
    world w = make_world();
    for (int loss = 0; loss < PROMO_HYBRID_LOSS_COUNT; loss++) {
        promo_hybrid_params p = promo_hybrid_params_default();
        p.loss = (promo_hybrid_loss)loss;
        p.dim = 8;
        p.epochs = 40;
        promo_hybrid *m = NULL;
        T_OK(promo_hybrid_fit(&w.R, &w.UF, &w.IF, &p, &m));
        /* a new customer: only the group feature, no identity */
        for (int g = 0; g < 2; g++) {
            const uint32_t feat = 40 + (uint32_t)g;
            float s[20];
            T_OK(promo_hybrid_score(m, &feat, NULL, 1, NULL, s));
            /* every item of the customer's category outscores every item of the other */
            float min_in = INFINITY, max_out = -INFINITY;
            for (uint32_t i = 0; i < 20; i++) {
                int in = (i < 10) == (g == 0);
                if (in)
                    min_in = fminf(min_in, s[i]);
                else
                    max_out = fmaxf(max_out, s[i]);
            }
            T_ASSERT_MSG(min_in > max_out, "%s, group %d: %g <= %g", promo_hybrid_loss_name(loss),
                         g, (double)min_in, (double)max_out);
        }
        /* a new product: only its category feature, scored for an A customer and a B one */
        uint32_t noff[2] = {0, 1}, ncol[1] = {20};
        promo_csr NI = csr_rows(1, 22, noff, ncol);
        const uint32_t fa = 40, fb = 41;
        float sa = 0, sb = 0;
        T_OK(promo_hybrid_score(m, &fa, NULL, 1, &NI, &sa));
        T_OK(promo_hybrid_score(m, &fb, NULL, 1, &NI, &sb));
        T_ASSERT_MSG(sa > sb, "new A product: A customer %g <= B customer %g", (double)sa,
                     (double)sb);
        promo_csr_free(&NI);
        promo_hybrid_free(m);
    }
    free_world(&w);
}

T_TEST(hybrid_deterministic_save_load_corrupt)
{
    world w = make_world();
    promo_hybrid_params p = promo_hybrid_params_default();
    p.dim = 4;
    p.epochs = 3;
    promo_hybrid *a = NULL, *b = NULL, *back = NULL;
    T_OK(promo_hybrid_fit(&w.R, &w.UF, &w.IF, &p, &a));
    T_OK(promo_hybrid_fit(&w.R, &w.UF, &w.IF, &p, &b));
    void *ba = NULL, *bb = NULL, *bc = NULL;
    size_t na = 0, nb = 0, nc = 0;
    T_OK(promo_hybrid_save(a, &ba, &na));
    T_OK(promo_hybrid_save(b, &bb, &nb));
    T_ASSERT_EQ_INT(na, nb);
    T_ASSERT(!memcmp(ba, bb, na)); /* same seed, same model */
    T_OK(promo_hybrid_load(ba, na, &back));
    T_OK(promo_hybrid_save(back, &bc, &nc));
    T_ASSERT_EQ_INT(na, nc);
    T_ASSERT(!memcmp(ba, bc, na));
    promo_hybrid_free(back);
    back = NULL;
    unsigned char *c = ba;
    for (size_t at = 0; at < na; at += na / 11 + 1) {
        c[at] ^= 4;
        int rc = promo_hybrid_load(ba, na, &back);
        T_ASSERT_MSG(rc == PROMO_EINPUT || rc == PROMO_EVERSION, "byte %zu: rc %d", at, rc);
        T_ASSERT(!back);
        c[at] ^= 4;
    }
    T_ASSERT_EQ_INT(promo_hybrid_load(ba, na - 1, &back), PROMO_EINPUT);
    /* a knn file is not a hybrid model */
    T_ASSERT_EQ_INT(promo_hybrid_load("PROMOMDL", 8, &back), PROMO_EINPUT);
    promo_free(ba);
    promo_free(bb);
    promo_free(bc);
    promo_hybrid_free(a);
    promo_hybrid_free(b);
    free_world(&w);
}

T_TEST(hybrid_bad_input)
{
    world w = make_world();
    promo_hybrid_params p = promo_hybrid_params_default();
    promo_hybrid *m = NULL;
    T_ASSERT_EQ_INT(promo_hybrid_fit(&w.R, &w.IF, &w.IF, &p, &m), PROMO_EUSAGE); /* shapes */
    p.dim = 0;
    T_ASSERT_EQ_INT(promo_hybrid_fit(&w.R, &w.UF, &w.IF, &p, &m), PROMO_EUSAGE);
    p = promo_hybrid_params_default();
    w.UF.values[0] = NAN;
    T_ASSERT_EQ_INT(promo_hybrid_fit(&w.R, &w.UF, &w.IF, &p, &m), PROMO_EINPUT);
    w.UF.values[0] = 1;
    p.epochs = 1;
    T_OK(promo_hybrid_fit(&w.R, &w.UF, &w.IF, &p, &m));
    const uint32_t bad = 99;
    float s[20];
    T_ASSERT_EQ_INT(promo_hybrid_score(m, &bad, NULL, 1, NULL, s), PROMO_EUSAGE);
    promo_hybrid_free(m);
    free_world(&w);
}

#include <promo/recommend.h>

#include "t_world.h"

static char g_hws[4096];

/* promo train --model hybrid on a small world: evaluated beside popularity, cold start
 * reported, the saved model loads through recommend.h's registry and reloads bit-identical,
 * promo recommend --model hybrid answers; bad options exit 2. */
T_TEST(hybrid_cli_train_cold_start_and_recommend)
{
    const char *ws = g_hws[0] ? g_hws : t_world_write(g_hws, sizeof g_hws, 150, 30, 4, 4, 5000);
    char args[4400], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws '%s' --model hybrid --epochs 3 --factors 8", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "hybrid");
    T_ASSERT_CONTAINS(out, "popularity");
    T_ASSERT_CONTAINS(out, "cold start");
    T_ASSERT_CONTAINS(out, "side features");
    free(out);
    free(err);
    char path[4200];
    snprintf(path, sizeof path, "%s/models/rec_hybrid.bin", ws);
    promo_rec_model *m = NULL;
    T_OK(promo_rec_model_load(path, &m));
    T_ASSERT_STR_EQ(promo_rec_model_kind(m), "hybrid");
    promo_rec_file *f = NULL;
    void *b = NULL;
    size_t nb = 0, n0 = 0;
    T_OK(promo_rec_model_to_file(m, &f));
    T_OK(promo_rec_file_bytes(f, &b, &nb));
    char *disk = t_read_file(path, &n0);
    T_ASSERT_EQ_INT(nb, n0);
    T_ASSERT(!memcmp(b, disk, nb));
    free(disk);
    promo_free(b);
    promo_rec_file_free(f);
    /* a new customer with two purchases (fold-in by the mean product embedding) */
    float *s = promo_mallocn(promo_rec_model_n_items(m), sizeof *s);
    const uint32_t items[2] = {0, 1};
    T_OK(promo_rec_model_score_history(m, items, NULL, 2, s));
    T_ASSERT(isfinite(s[2]));
    promo_free(s);
    promo_rec_model_free(m);
    snprintf(args, sizeof args, "recommend --ws '%s' --model hybrid --all --k 2", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "customer_id,product_id,rank,score");
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws '%s' --model hybrid --loss hinge", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "--loss");
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws '%s' --model hybrid --factors 0", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "--factors");
    free(out);
    free(err);
}
