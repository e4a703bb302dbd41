/* The uplift panel's features per exposure day, built the fast way (distinct days side by side
 * on the threads, each day's customer pass in full only for the customers exposed that day:
 * promo_feature_params.only) against the plain way (every feature of every customer as of each
 * day, one promo_features_compute per distinct cutoff): every cell of every row bit for bit,
 * at 1 and 2 threads, with the CLV columns on. And the customer subset itself: the listed rows
 * equal the full computation's, the global columns of everyone too. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/panel.h>
#include <promo/store.h>

#include "t.h"
#include "t_world.h"

static char g_ws[512];

static const char *days_world(void)
{
    return g_ws[0] ? g_ws : t_world_write(g_ws, sizeof g_ws, 300, 30, 4, 10, 9000);
}

static void load(promo_panel *d, int nt)
{
    promo_store *s = NULL;
    T_OK(promo_store_open(days_world(), 0, &s));
    int rc = promo_panel_load_tables(s, nt, d);
    promo_store_close(s);
    T_OK(rc);
    T_ASSERT(d->exposures && d->exposures->n_rows > 100);
}

/* Bitwise equal, NaN equal to NaN. */
static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static size_t row_of(const promo_features *f, const char *id)
{
    for (size_t c = 0; c < f->n_customers; c++)
        if (strcmp(promo_features_customer_id(f, c), id) == 0)
            return c;
    return SIZE_MAX;
}

T_TEST(panel_exposure_days_equal_a_full_cut_per_day)
{
    for (int nt = 1; nt <= 2; nt++) {
        promo_panel d;
        load(&d, nt);
        promo_panel_exposures r;
        T_OK(promo_panel_exposure_rows(&d, NULL, &r));
        promo_feature_params fp = promo_feature_params_default();
        fp.n_threads = nt;
        promo_panel_layout l;
        memset(&l, 0, sizeof l);
        float *X = NULL;
        T_OK(promo_panel_exposure_matrix(&d, &r, &fp, &l, &X));
        const promo_column *ec = promo_table_column(d.exposures, "customer_id");
        T_ASSERT(ec != NULL);
        /* The plain way: each distinct cutoff, every customer, one thread. */
        uint8_t *done = promo_calloc(r.n, 1);
        T_ASSERT(done != NULL);
        size_t n_cuts = 0, n_known = 0, n_cells = 0;
        for (size_t i0 = 0; i0 < r.n; i0++) {
            if (done[i0] || r.cutoff[i0] == PROMO_PANEL_NO_TIME)
                continue;
            promo_feature_params q = promo_feature_params_default();
            q.as_of = r.cutoff[i0];
            q.products = 0;
            q.n_threads = 1;
            promo_features *f = NULL;
            T_OK(promo_features_compute(&d.in, &q, &f));
            T_ASSERT_EQ_INT(f->n_features, l.n);
            for (size_t j = 0; j < l.n; j++)
                T_ASSERT_STR_EQ(f->feature_names[j], l.names[j]);
            n_cuts++;
            for (size_t i = i0; i < r.n; i++) {
                if (r.cutoff[i] != r.cutoff[i0])
                    continue;
                done[i] = 1;
                const float *x = X + i * l.n;
                size_t c = row_of(f, promo_column_str(ec, r.erow[i]));
                if (c == SIZE_MAX) { /* not known at the cutoff */
                    for (size_t j = 0; j < l.n; j++)
                        T_ASSERT(isnan(x[j]));
                    continue;
                }
                n_known++;
                for (size_t j = 0; j < l.n; j++, n_cells++)
                    T_ASSERT_MSG(same_float(x[j], f->X[c * l.n + j]),
                                 "%d threads, row %zu, %s: %.9g, a full cut says %.9g", nt, i,
                                 l.names[j], (double)x[j], (double)f->X[c * l.n + j]);
            }
            promo_features_free(f);
        }
        /* Several days, most rows known, the CLV columns filled. */
        T_ASSERT(n_cuts >= 5);
        T_ASSERT(n_known > r.n / 2);
        size_t jc = 0;
        while (jc < l.n && strcmp(l.names[jc], "p_alive") != 0)
            jc++;
        T_ASSERT(jc < l.n);
        size_t n_alive = 0;
        for (size_t i = 0; i < r.n; i++)
            n_alive += !isnan(X[i * l.n + jc]);
        T_ASSERT(n_alive > 0);
        T_ASSERT(n_cells > 0);
        promo_free(done);
        promo_free(X);
        promo_panel_layout_free(&l);
        promo_panel_exposures_free(&r);
        promo_panel_free(&d);
    }
}

/* promo_feature_params.only: the listed customers' rows (and their interactions rows) are the
 * full computation's; everyone keeps the global columns (RFM scores, tier, segment). */
T_TEST(features_only_listed_rows_equal_the_full_rows)
{
    promo_panel d;
    load(&d, 2);
    promo_panel_exposures r;
    T_OK(promo_panel_exposure_rows(&d, NULL, &r));
    int64_t cut = r.cutoff[r.n / 2];
    promo_feature_params q = promo_feature_params_default();
    q.as_of = cut;
    q.n_threads = 2;
    promo_features *all = NULL, *some = NULL;
    T_OK(promo_features_compute(&d.in, &q, &all));
    T_ASSERT(all->n_customers > 20);
    /* Every third known customer, an unknown id and a NULL. */
    const char **ids = promo_mallocn(all->n_customers + 2, sizeof *ids);
    T_ASSERT(ids != NULL);
    size_t n_ids = 0;
    for (size_t c = 0; c < all->n_customers; c += 3)
        ids[n_ids++] = promo_features_customer_id(all, c);
    ids[n_ids++] = "NO-SUCH-CUSTOMER";
    ids[n_ids++] = NULL;
    q.only = ids;
    q.n_only = n_ids;
    T_OK(promo_features_compute(&d.in, &q, &some));
    T_ASSERT_EQ_INT(some->n_customers, all->n_customers);
    T_ASSERT_EQ_INT(some->n_features, all->n_features);
    const char *global[] = {"recency_days",  "frequency", "monetary",  "r_score",
                            "f_score",       "m_score",   "rfm_score", "tenure_days",
                            "purchase_days", "spend_tier"};
    size_t nf = all->n_features, n_diff_other = 0;
    for (size_t c = 0; c < all->n_customers; c++) {
        T_ASSERT_STR_EQ(promo_features_customer_id(some, c), promo_features_customer_id(all, c));
        T_ASSERT_EQ_INT(some->rfm_segment[c], all->rfm_segment[c]);
        T_ASSERT_EQ_INT(some->spend_tier[c], all->spend_tier[c]);
        const float *a = all->X + c * nf, *b = some->X + c * nf;
        if (c % 3 == 0) {
            for (size_t j = 0; j < nf; j++)
                T_ASSERT_MSG(same_float(a[j], b[j]), "listed row %zu, %s: %.9g vs %.9g", c,
                             all->feature_names[j], (double)b[j], (double)a[j]);
            for (int k = 0; k < 4; k++) {
                const promo_csr *x = &all->interactions[k], *y = &some->interactions[k];
                uint64_t n = x->row_ptr[c + 1] - x->row_ptr[c];
                T_ASSERT_EQ_INT(y->row_ptr[c + 1] - y->row_ptr[c], n);
                for (uint64_t e = 0; e < n; e++) {
                    T_ASSERT_EQ_INT(y->col_idx[y->row_ptr[c] + e], x->col_idx[x->row_ptr[c] + e]);
                    T_ASSERT(
                        same_float(y->values[y->row_ptr[c] + e], x->values[x->row_ptr[c] + e]));
                }
            }
            continue;
        }
        for (size_t g = 0; g < sizeof global / sizeof *global; g++) {
            int j = promo_features_column(all, global[g]);
            T_ASSERT(j >= 0);
            T_ASSERT_MSG(same_float(a[j], b[j]), "other row %zu, %s: %.9g vs %.9g", c, global[g],
                         (double)b[j], (double)a[j]);
        }
        for (size_t j = 0; j < nf; j++)
            n_diff_other += !same_float(a[j], b[j]);
    }
    /* The others were not computed in full (else the list saves nothing). */
    T_ASSERT(n_diff_other > 0);
    /* The fitted CLV models are the same: they saw everyone. */
    T_ASSERT(memcmp(&some->bgnbd, &all->bgnbd, sizeof all->bgnbd) == 0);
    promo_free(ids);
    promo_features_free(all);
    promo_features_free(some);
    promo_panel_exposures_free(&r);
    promo_panel_free(&d);
}

/* promo_features_days: each cut equals promo_features_compute's, every column and the
 * interactions, with the customers table and without it (the universe derived from the
 * buyers); a later cutoff or products = 1 is refused. */
T_TEST(features_days_cut_equals_a_fresh_compute)
{
    promo_panel d;
    load(&d, 2);
    promo_panel_exposures r;
    T_OK(promo_panel_exposure_rows(&d, NULL, &r));
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < r.n; i++)
        if (r.cutoff[i] != PROMO_PANEL_NO_TIME) {
            lo = r.cutoff[i] < lo ? r.cutoff[i] : lo;
            hi = r.cutoff[i] > hi ? r.cutoff[i] : hi;
        }
    T_ASSERT(lo < hi);
    for (int derived = 0; derived <= 1; derived++) {
        promo_feature_input in = d.in;
        if (derived)
            in.customers = NULL;
        promo_feature_params q = promo_feature_params_default();
        q.products = 0;
        q.n_threads = 2;
        q.as_of = hi;
        promo_features_days *days = NULL;
        T_OK(promo_features_days_open(&in, &q, &days));
        const int64_t cuts[3] = {lo, lo + (hi - lo) / 2 / 86400 * 86400, hi};
        for (int k = 0; k < 3; k++) {
            q.as_of = cuts[k];
            promo_features *a = NULL, *b = NULL;
            T_OK(promo_features_compute(&in, &q, &a));
            T_OK(promo_features_days_compute(days, &q, &b));
            T_ASSERT(a->n_customers > 10);
            T_ASSERT_EQ_INT(b->n_customers, a->n_customers);
            T_ASSERT_EQ_INT(b->n_features, a->n_features);
            size_t nf = a->n_features;
            for (size_t c = 0; c < a->n_customers; c++) {
                T_ASSERT_STR_EQ(promo_features_customer_id(b, c), promo_features_customer_id(a, c));
                for (size_t j = 0; j < nf; j++)
                    T_ASSERT_MSG(same_float(b->X[c * nf + j], a->X[c * nf + j]),
                                 "derived %d, cut %d, row %zu, %s: %.9g vs %.9g", derived, k, c,
                                 a->feature_names[j], (double)b->X[c * nf + j],
                                 (double)a->X[c * nf + j]);
            }
            for (int m = 0; m < 4; m++) {
                const promo_csr *x = &a->interactions[m], *y = &b->interactions[m];
                T_ASSERT_EQ_INT(y->nnz, x->nnz);
                T_ASSERT(memcmp(y->row_ptr, x->row_ptr, (x->n_rows + 1) * sizeof *x->row_ptr) == 0);
                T_ASSERT(memcmp(y->col_idx, x->col_idx, x->nnz * sizeof *x->col_idx) == 0);
                T_ASSERT(memcmp(y->values, x->values, x->nnz * sizeof *x->values) == 0);
            }
            promo_features_free(a);
            promo_features_free(b);
        }
        promo_features *f = NULL;
        q.as_of = hi + 86400;
        T_ASSERT_EQ_INT(promo_features_days_compute(days, &q, &f), PROMO_EUSAGE);
        T_ASSERT(f == NULL);
        q.as_of = hi;
        q.products = 1;
        T_ASSERT_EQ_INT(promo_features_days_compute(days, &q, &f), PROMO_EUSAGE);
        promo_features_days_free(days);
    }
    promo_panel_exposures_free(&r);
    promo_panel_free(&d);
}
