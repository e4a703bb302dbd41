/* bench/features_ws.c: promo_features_compute on a workspace's own tables (e.g. UCI Online
 * Retail after promo ingest) at a cutoff, timed (wall, user and system CPU, repeated), with the
 * FNV digest of every output that bench/features_bench.c prints: a change to the feature code
 * that is meant to be a pure speed-up must leave the digest as it was. JSON lines.
 *
 * usage: features_ws WS YYYY-MM-DD [repeats] [threads]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/timeutil.h>

static void cpu_s(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
    *sys = (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* FNV-1a over bytes: a digest of every output, so a speed-up that changes any value (one
 * bit of one float) shows in the JSON line next to the timing. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t fnv_csr(uint64_t h, const promo_csr *m)
{
    h = fnv(h, &m->n_rows, sizeof m->n_rows);
    h = fnv(h, &m->n_cols, sizeof m->n_cols);
    h = fnv(h, m->row_ptr, ((size_t)m->n_rows + 1) * sizeof *m->row_ptr);
    h = fnv(h, m->col_idx, m->nnz * sizeof *m->col_idx);
    return fnv(h, m->values, m->nnz * sizeof *m->values);
}

static uint64_t digest(const promo_features *f)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t n = f->n_customers, np = f->products.n_products;
    const promo_product_features *pf = &f->products;
    h = fnv(h, f->X, n * f->n_features * sizeof *f->X);
    h = fnv(h, f->rfm_segment, n);
    h = fnv(h, f->spend_tier, n);
    for (size_t i = 0; i < n; i++)
        h = fnv(h, promo_features_customer_id(f, i), strlen(promo_features_customer_id(f, i)));
    for (int k = 0; k < 4; k++)
        h = fnv_csr(h, &f->interactions[k]);
    h = fnv_csr(h, &f->category_share);
    h = fnv_csr(h, &f->copurchase);
    h = fnv(h, pf->n_buyers, np * 4);
    h = fnv(h, pf->n_orders, np * 4);
    h = fnv(h, pf->units, np * 8);
    h = fnv(h, pf->revenue, np * 8);
    h = fnv(h, pf->avg_price, np * 8);
    h = fnv(h, pf->list_price, np * 8);
    h = fnv(h, pf->n_price_changes, np * 4);
    h = fnv(h, pf->category, np * 4);
    h = fnv(h, pf->repeat_rate, np * 8);
    h = fnv(h, pf->avg_discount, np * 8);
    h = fnv(h, pf->n_copurchased, np * 4);
    h = fnv(h, pf->copurchase_orders, np * 4);
    const promo_elasticity_result *el = &f->elasticity;
    for (uint32_t j = 0; j < el->n_products + el->n_categories; j++) {
        const promo_elasticity *e =
            j < el->n_products ? &el->product[j] : &el->category[j - el->n_products];
        h = fnv(h, &e->elasticity, 8);
        h = fnv(h, &e->se, 8);
        h = fnv(h, &e->n_obs, 4);
        h = fnv(h, &e->source, 1);
    }
    double clv[7] = {f->bgnbd.r,       f->bgnbd.alpha,   f->bgnbd.a,      f->bgnbd.b,
                     f->gamma_gamma.p, f->gamma_gamma.q, f->gamma_gamma.v};
    return fnv(h, clv, sizeof clv);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: features_ws WS YYYY-MM-DD [repeats] [threads]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3, threads = argc > 4 ? atoi(argv[4]) : 0;
    promo_store *s = NULL;
    promo_panel d = {0};
    promo_feature_params fp = promo_feature_params_default();
    fp.n_threads = threads;
    if (promo_time_parse(argv[2], strlen(argv[2]), PROMO_DATE_ISO, &fp.as_of) ||
        promo_store_open(argv[1], 0, &s) || promo_panel_load_tables(s, threads, &d)) {
        fprintf(stderr, "features_ws: %s\n", promo_last_error());
        return 1;
    }
    for (int r = 0; r < reps; r++) {
        promo_features *f = NULL;
        double u0, s0, u1, s1, t0 = promo_now_s();
        cpu_s(&u0, &s0);
        if (promo_features_compute(&d.in, &fp, &f)) {
            fprintf(stderr, "features_ws: %s\n", promo_last_error());
            return 1;
        }
        double t1 = promo_now_s();
        cpu_s(&u1, &s1);
        printf("{\"bench\":\"features_ws\",\"ws\":\"%s\",\"as_of\":\"%s\",\"customers\":%zu,"
               "\"seconds\":%.3f,\"user_s\":%.3f,\"sys_s\":%.3f,\"copurchase_nnz\":%llu,"
               "\"digest\":\"%016llx\"}\n",
               argv[1], argv[2], f->n_customers, t1 - t0, u1 - u0, s1 - s0,
               (unsigned long long)f->copurchase.nnz, (unsigned long long)digest(f));
        promo_features_free(f);
    }
    promo_panel_free(&d);
    promo_store_close(s);
    return 0;
}
