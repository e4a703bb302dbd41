/* bench/als_movielens: ALS, BPR and popularity on MovieLens 100k (u.data: user, item,
 * rating, time), every rating an implicit positive, a random split of the ratings (test
 * fraction given), Precision/Recall/NDCG/MAP@K with the training items excluded from the
 * lists (the protocol of the Microsoft Recommenders benchmark table). JSON lines on stdout.
 *   als_movielens u.data test_frac seed k factors als_iters als_reg als_alpha bpr_epochs
 *                 bpr_lr bpr_reg threads */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/promo.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_entry(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static void report(const char *model, double secs, const promo_rec_metrics *m, double frac)
{
    printf("{\"bench\": \"als_movielens\", \"model\": \"%s\", \"test_frac\": %g, \"k\": %zu, "
           "\"n_users\": %zu, \"precision\": %.4f, \"recall\": %.4f, \"ndcg\": %.4f, "
           "\"map\": %.4f, \"coverage\": %.4f, \"train_seconds\": %.3f}\n",
           model, frac, m->k, m->n_users, m->precision, m->recall, m->ndcg, m->map, m->coverage,
           secs);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 13) {
        fprintf(stderr, "usage: als_movielens u.data test_frac seed k factors als_iters als_reg "
                        "als_alpha bpr_epochs bpr_lr bpr_reg threads\n");
        return 2;
    }
    double frac = atof(argv[2]);
    uint64_t seed = strtoull(argv[3], NULL, 10);
    size_t k = (size_t)atoi(argv[4]);
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    size_t n = 0, cap = 1 << 17;
    uint32_t *e = malloc(cap * 2 * sizeof *e);
    unsigned u, i, r;
    unsigned long t;
    uint32_t nu = 0, ni = 0;
    while (fscanf(f, "%u %u %u %lu", &u, &i, &r, &t) == 4) {
        if (n == cap)
            e = realloc(e, (cap *= 2) * 2 * sizeof *e);
        e[2 * n] = u - 1;
        e[2 * n + 1] = i - 1;
        if (u > nu)
            nu = u;
        if (i > ni)
            ni = i;
        n++;
    }
    fclose(f);
    qsort(e, n, 2 * sizeof *e, cmp_entry);
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = nu;
    m.n_cols = ni;
    m.row_ptr = promo_calloc(nu + 1, sizeof *m.row_ptr);
    m.col_idx = promo_mallocn(n, sizeof *m.col_idx);
    m.values = promo_mallocn(n, sizeof *m.values);
    for (size_t x = 0; x < n; x++) {
        m.row_ptr[e[2 * x] + 1]++;
        m.col_idx[x] = e[2 * x + 1];
        m.values[x] = 1.0f;
    }
    for (uint32_t x = 0; x < nu; x++)
        m.row_ptr[x + 1] += m.row_ptr[x];
    m.nnz = n;
    free(e);
    promo_rec_data all, tr, te;
    if (promo_rec_data_from_csr(&m, &all) ||
        promo_rec_data_split_random(&all, frac, seed, &tr, &te)) {
        fprintf(stderr, "%s\n", promo_last_error());
        return 1;
    }
    promo_rec_params p = promo_rec_params_default();
    p.factors = (uint32_t)atoi(argv[5]);
    p.iterations = (uint32_t)atoi(argv[6]);
    p.regularization = atof(argv[7]);
    p.alpha = atof(argv[8]);
    p.n_threads = atoi(argv[12]);
    p.seed = seed;
    promo_rec_query q = promo_rec_query_default();
    q.k = k;
    q.n_threads = p.n_threads;
    const char *kinds[3] = {"als", "bpr", "popularity"};
    for (int kk = 0; kk < 3; kk++) {
        promo_rec_params pk = p;
        if (kk == 1) {
            pk.epochs = (uint32_t)atoi(argv[9]);
            pk.learning_rate = atof(argv[10]);
            pk.regularization = atof(argv[11]);
        }
        promo_rec_model *mod = NULL;
        promo_rec_metrics met;
        double t0 = now_s();
        if (promo_rec_fit(kinds[kk], &tr, &pk, &mod)) {
            fprintf(stderr, "%s\n", promo_last_error());
            return 1;
        }
        double secs = now_s() - t0;
        if (promo_rec_evaluate(mod, &tr, &te, &q, &met)) {
            fprintf(stderr, "%s\n", promo_last_error());
            return 1;
        }
        report(kinds[kk], secs, &met, frac);
        promo_rec_model_free(mod);
    }
    promo_rec_data_free(&all);
    promo_rec_data_free(&tr);
    promo_rec_data_free(&te);
    return 0;
}
