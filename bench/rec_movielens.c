/* bench/rec_movielens.c: item-kNN, user-kNN and the hybrid on MovieLens 100k, one JSON line
 * per figure. Usage: rec_movielens DIR [threads]  (DIR holds u.data, u.user, u.item).
 *   1. random 80/20 split of the ratings (every rating is an interaction; recommend.h's
 *      counter-based split, seed 42): Precision@10 / Recall@10 / NDCG@10 of item-kNN
 *      (BM25, 100 neighbours), user-kNN, the hybrid (WARP, identity + side features) and
 *      popularity, rated items excluded from the lists;
 *   2. cold customers: 20% of the users (seeded) removed from training, scored from age band,
 *      gender and occupation alone: Precision@10 against all their ratings, beside popularity;
 *   3. cold products: 20% of the movies removed from training, known by genres and release
 *      decade alone: for each, the 10 users the reverse query targets; Precision@10 = share
 *      of them who rated it, beside targeting the 10 most active users.
 * Every figure is on data the model did not see. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/hybrid.h>
#include <promo/knn.h>
#include <promo/log.h>
#include <promo/recommend.h>
#include <promo/rng.h>

#define NU 943
#define NI 1682

static uint32_t ratings_u[100000], ratings_i[100000];
static size_t n_ratings;
static char user_attr[NU][3][32]; /* age band, gender, occupation */
static uint8_t item_genre[NI][19];
static int item_decade[NI];

static int die(const char *what)
{
    fprintf(stderr, "rec_movielens: %s: %s\n", what, promo_last_error());
    exit(1);
}

static void read_files(const char *dir)
{
    char path[1024], line[2048];
    snprintf(path, sizeof path, "%s/u.data", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "rec_movielens: cannot open %s\n", path);
        exit(2);
    }
    unsigned u, i, r;
    unsigned long ts;
    while (n_ratings < 100000 && fscanf(f, "%u %u %u %lu", &u, &i, &r, &ts) == 4) {
        ratings_u[n_ratings] = u - 1;
        ratings_i[n_ratings++] = i - 1;
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/u.user", dir);
    if (!(f = fopen(path, "r")))
        exit(2);
    while (fgets(line, sizeof line, f)) {
        unsigned id, age;
        char g[8], occ[20];
        if (sscanf(line, "%u|%u|%7[^|]|%19[^|]", &id, &age, g, occ) == 4 && id >= 1 && id <= NU) {
            snprintf(user_attr[id - 1][0], 32, "age:%u", age / 10 * 10);
            snprintf(user_attr[id - 1][1], 32, "gender:%s", g);
            snprintf(user_attr[id - 1][2], 32, "occupation:%s", occ);
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/u.item", dir);
    if (!(f = fopen(path, "r")))
        exit(2);
    while (fgets(line, sizeof line, f)) {
        unsigned id = (unsigned)atoi(line);
        if (id < 1 || id > NI)
            continue;
        /* fields: id|title|release|video|url|19 flags */
        char *p = line;
        int field = 0;
        for (char *q = line; *q; q++)
            if (*q == '|') {
                field++;
                if (field == 2) {
                    const char *date = q + 1; /* dd-Mon-yyyy */
                    item_decade[id - 1] = strlen(date) >= 11 ? atoi(date + 7) / 10 * 10 : 0;
                }
                if (field >= 5 && field < 24)
                    item_genre[id - 1][field - 5] = q[1] == '1';
            }
        (void)p;
    }
    fclose(f);
}

/* rating matrix of the ratings r with keep(r) */
static promo_rec_data matrix(const uint8_t *user_out, const uint8_t *item_out, int want_out)
{
    promo_csr m = {0};
    m.owned = 1;
    m.n_rows = NU;
    m.n_cols = NI;
    m.row_ptr = promo_calloc(NU + 1, sizeof *m.row_ptr);
    m.col_idx = promo_mallocn(n_ratings, sizeof *m.col_idx);
    m.values = promo_mallocn(n_ratings, sizeof *m.values);
    static uint8_t seen[NU][NI];
    memset(seen, 0, sizeof seen);
    for (size_t k = 0; k < n_ratings; k++) {
        int out = (user_out && user_out[ratings_u[k]]) || (item_out && item_out[ratings_i[k]]);
        if (out == want_out)
            seen[ratings_u[k]][ratings_i[k]] = 1;
    }
    for (uint32_t u = 0; u < NU; u++) {
        for (uint32_t i = 0; i < NI; i++)
            if (seen[u][i]) {
                m.col_idx[m.nnz] = i;
                m.values[m.nnz++] = 1;
            }
        m.row_ptr[u + 1] = m.nnz;
    }
    promo_rec_data d;
    if (promo_rec_data_from_csr(&m, &d))
        die("matrix");
    return d;
}

/* side features: identity for users/items with training interactions, then attributes */
static promo_hybrid_features features(const promo_rec_data *tr)
{
    promo_hybrid_features f;
    memset(&f, 0, sizeof f);
    f.user_vocab = promo_dict_new();
    f.item_vocab = promo_dict_new();
    uint32_t *rows = malloc(sizeof(uint32_t) * (NU * 4 + NI * 22)), *cols = rows + NU * 4 + 0;
    (void)cols;
    promo_csr *UF = &f.UF, *IF = &f.IF;
    UF->owned = IF->owned = 1;
    UF->n_rows = NU;
    IF->n_rows = NI;
    UF->row_ptr = promo_calloc(NU + 1, sizeof *UF->row_ptr);
    UF->col_idx = promo_mallocn(NU * 4, sizeof *UF->col_idx);
    UF->values = promo_mallocn(NU * 4, sizeof *UF->values);
    IF->row_ptr = promo_calloc(NI + 1, sizeof *IF->row_ptr);
    IF->col_idx = promo_mallocn(NI * 22, sizeof *IF->col_idx);
    IF->values = promo_mallocn(NI * 22, sizeof *IF->values);
    char name[64];
    for (uint32_t u = 0; u < NU; u++) {
        uint32_t c[4], n = 0;
        if (tr->m.row_ptr[u + 1] > tr->m.row_ptr[u]) {
            snprintf(name, sizeof name, "user:%u", u + 1);
            c[n++] = promo_dict_intern(f.user_vocab, name, strlen(name));
        }
        for (int a = 0; a < 3; a++)
            if (user_attr[u][a][0])
                c[n++] = promo_dict_intern(f.user_vocab, user_attr[u][a], strlen(user_attr[u][a]));
        for (uint32_t x = 1; x < n; x++) /* sort */
            for (uint32_t y = x; y > 0 && c[y - 1] > c[y]; y--) {
                uint32_t t = c[y];
                c[y] = c[y - 1];
                c[y - 1] = t;
            }
        for (uint32_t x = 0; x < n; x++) {
            UF->col_idx[UF->nnz] = c[x];
            UF->values[UF->nnz++] = 1;
        }
        UF->row_ptr[u + 1] = UF->nnz;
    }
    uint8_t *bought = calloc(NI, 1);
    for (uint64_t q = 0; q < tr->m.nnz; q++)
        bought[tr->m.col_idx[q]] = 1;
    for (uint32_t i = 0; i < NI; i++) {
        uint32_t c[22], n = 0;
        if (bought[i]) {
            snprintf(name, sizeof name, "item:%u", i + 1);
            c[n++] = promo_dict_intern(f.item_vocab, name, strlen(name));
        }
        for (int g = 0; g < 19; g++)
            if (item_genre[i][g]) {
                snprintf(name, sizeof name, "genre:%d", g);
                c[n++] = promo_dict_intern(f.item_vocab, name, strlen(name));
            }
        if (item_decade[i]) {
            snprintf(name, sizeof name, "decade:%d", item_decade[i]);
            c[n++] = promo_dict_intern(f.item_vocab, name, strlen(name));
        }
        for (uint32_t x = 1; x < n; x++)
            for (uint32_t y = x; y > 0 && c[y - 1] > c[y]; y--) {
                uint32_t t = c[y];
                c[y] = c[y - 1];
                c[y - 1] = t;
            }
        for (uint32_t x = 0; x < n; x++) {
            IF->col_idx[IF->nnz] = c[x];
            IF->values[IF->nnz++] = 1;
        }
        IF->row_ptr[i + 1] = IF->nnz;
    }
    UF->n_cols = promo_dict_size(f.user_vocab);
    IF->n_cols = promo_dict_size(f.item_vocab);
    free(bought);
    free(rows);
    return f;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static promo_rec_model *hybrid_model(const promo_rec_data *tr, double *secs)
{
    promo_hybrid_features f = features(tr);
    promo_hybrid_params p = promo_hybrid_params_default();
    promo_hybrid *h = NULL;
    promo_rec_model *m = NULL;
    double t0 = now();
    if (promo_hybrid_fit(&tr->m, &f.UF, &f.IF, &p, &h) || promo_hybrid_rec_new(h, &f, tr, &m))
        die("hybrid");
    *secs = now() - t0;
    return m;
}

static void line(const char *protocol, const char *model, const promo_rec_metrics *e, double secs)
{
    printf("{\"bench\": \"rec_movielens\", \"protocol\": \"%s\", \"model\": \"%s\", \"k\": %zu, "
           "\"users\": %zu, \"precision\": %.4f, \"recall\": %.4f, \"ndcg\": %.4f, \"map\": %.4f, "
           "\"coverage\": %.4f, \"train_s\": %.3f}\n",
           protocol, model, e->k, e->n_users, e->precision, e->recall, e->ndcg, e->map,
           e->coverage, secs);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rec_movielens DIR [threads]\n");
        return 2;
    }
    promo_log_set_level(PROMO_LOG_ERROR);
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    read_files(argv[1]);
    promo_rec_query q = promo_rec_query_default();
    q.k = 10;
    q.n_threads = threads;
    /* 1. random 80/20 */
    promo_rec_data all = matrix(NULL, NULL, 0), tr, te;
    if (promo_rec_data_split_random(&all, 0.2, 42, &tr, &te))
        die("split");
    static const char *const kinds[] = {"knn", "user-knn", "popularity"};
    promo_rec_params rp = promo_rec_params_default();
    rp.n_threads = threads;
    for (size_t k = 0; k < 3; k++) {
        promo_rec_model *m = NULL;
        promo_rec_metrics e;
        double t0 = now();
        if (promo_rec_fit(kinds[k], &tr, &rp, &m))
            die(kinds[k]);
        double secs = now() - t0;
        if (promo_rec_evaluate(m, &tr, &te, &q, &e))
            die("evaluate");
        line("random_80_20", kinds[k], &e, secs);
        promo_rec_model_free(m);
    }
    double secs = 0;
    promo_rec_model *hm = hybrid_model(&tr, &secs);
    promo_rec_metrics e;
    if (promo_rec_evaluate(hm, &tr, &te, &q, &e))
        die("evaluate");
    line("random_80_20", "hybrid", &e, secs);
    promo_rec_model_free(hm);
    promo_rec_data_free(&tr);
    promo_rec_data_free(&te);
    /* 2. cold users */
    uint8_t user_out[NU] = {0}, item_out[NI] = {0};
    promo_rng r;
    promo_rng_init(&r, 42, 7);
    for (uint32_t u = 0; u < NU; u++)
        user_out[u] = promo_rng_uniform(&r) < 0.2;
    tr = matrix(user_out, NULL, 0);
    te = matrix(user_out, NULL, 1);
    hm = hybrid_model(&tr, &secs);
    if (promo_rec_evaluate(hm, &tr, &te, &q, &e))
        die("evaluate");
    line("cold_users_20pct", "hybrid", &e, secs);
    promo_rec_model *pop = NULL;
    if (promo_rec_fit("popularity", &tr, &rp, &pop) || promo_rec_evaluate(pop, &tr, &te, &q, &e))
        die("popularity");
    line("cold_users_20pct", "popularity", &e, 0);
    promo_rec_model_free(pop);
    promo_rec_model_free(hm);
    promo_rec_data_free(&tr);
    promo_rec_data_free(&te);
    /* 3. cold items: reverse query */
    for (uint32_t i = 0; i < NI; i++)
        item_out[i] = promo_rng_uniform(&r) < 0.2;
    tr = matrix(NULL, item_out, 0);
    te = matrix(NULL, item_out, 1);
    hm = hybrid_model(&tr, &secs);
    promo_csr teT = {0};
    if (promo_csr_transpose(&te.m, &teT))
        die("transpose");
    uint32_t active[10], got[10];
    float sc[10];
    size_t na = 0;
    for (uint32_t u = 0; u < NU; u++) { /* 10 most active users in training */
        uint64_t deg = tr.m.row_ptr[u + 1] - tr.m.row_ptr[u];
        size_t at = na < 10 ? na : 10;
        while (at > 0 && tr.m.row_ptr[active[at - 1] + 1] - tr.m.row_ptr[active[at - 1]] < deg)
            at--;
        if (at >= 10)
            continue;
        for (size_t j = (na < 10 ? na : 9); j > at; j--)
            active[j] = active[j - 1];
        active[at] = u;
        if (na < 10)
            na++;
    }
    double ph = 0, pa = 0;
    size_t n_items = 0;
    q.history = &tr.m;
    for (uint32_t i = 0; i < NI; i++) {
        if (!item_out[i] || teT.row_ptr[i + 1] == teT.row_ptr[i])
            continue;
        size_t ng = 0, hh = 0, ha = 0;
        if (promo_rec_top_customers(hm, &q, i, got, sc, &ng))
            die("reverse query");
        for (uint64_t k = teT.row_ptr[i]; k < teT.row_ptr[i + 1]; k++) {
            for (size_t j = 0; j < ng; j++)
                hh += got[j] == teT.col_idx[k];
            for (size_t j = 0; j < na; j++)
                ha += active[j] == teT.col_idx[k];
        }
        ph += hh / 10.0;
        pa += ha / 10.0;
        n_items++;
    }
    printf("{\"bench\": \"rec_movielens\", \"protocol\": \"cold_items_20pct_reverse\", \"k\": 10, "
           "\"items\": %zu, \"precision_hybrid\": %.4f, \"precision_most_active\": %.4f, "
           "\"train_s\": %.3f}\n",
           n_items, ph / n_items, pa / n_items, secs);
    promo_csr_free(&teT);
    promo_rec_model_free(hm);
    promo_rec_data_free(&tr);
    promo_rec_data_free(&te);
    promo_rec_data_free(&all);
    return 0;
}
