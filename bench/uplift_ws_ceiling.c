/* bench/uplift_ws_ceiling: how much of a generated world's true individual effect the customer
 * features carry, with and without the individual-response columns (features.h: control
 * exposures, baseline_rate, response_lift, promo_line_share, discount_depth), for
 * bench/uplift_ws_ceiling.sh.
 *   uplift_ws_ceiling WS LABEL [threads=2] [seed=42] [clv=0] [max_rows=N]
 * Rows: the randomised exposures (treatment and control; the "targeted" ones left out), with
 * features as of each exposure's day (promo_panel_exposure_matrix) plus the offer's discount,
 * split 70/30 by customer. True effect: truth_exposures p1 - p0.
 * Per feature set ("all" and "without_new", the same rows and split):
 *   - ceiling: a boosted regression of the TRUE effect on the features (training rows), scored
 *     on the test rows: what the features could give a learner with noise-free labels. Its
 *     correlation with the truth and share of the effect's variance explained bound what any
 *     learner on these features can reach.
 *   - T-learner (promo/uplift.h defaults) from the observed outcomes: what is reached.
 * Plus the part of the true effect's variance that lies between promotions (the customer
 * features say nothing about it, the discount column some). JSON lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/gbdt.h>
#include <promo/hash.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/uplift.h>
#include <promo/uplift_metrics.h>

#define BENCH_NAME "uplift_ws_ceiling"
#include "uplift_truth.h"

static const char *const new_cols[] = {"n_control_exposures", "control_conversions",
                                       "baseline_rate",       "response_lift",
                                       "promo_line_share",    "discount_depth"};

static int is_new(const char *name)
{
    for (size_t k = 0; k < sizeof new_cols / sizeof *new_cols; k++)
        if (strcmp(name, new_cols[k]) == 0)
            return 1;
    return 0;
}

static double corr_of(const float *a, const double *b, size_t n, double *pehe)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0, se = 0;
    for (size_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
        se += (a[i] - b[i]) * (a[i] - b[i]);
    }
    *pehe = sqrt(se / (double)n);
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: uplift_ws_ceiling WS LABEL [threads=N] [seed=S] [clv=0|1]\n");
        return 2;
    }
    const char *ws = argv[1], *label = argv[2];
    int nt = 2, clv = 0;
    unsigned long long seed = 42;
    for (int a = 3; a < argc; a++) {
        if (strncmp(argv[a], "threads=", 8) == 0)
            nt = atoi(argv[a] + 8);
        else if (strncmp(argv[a], "seed=", 5) == 0)
            seed = strtoull(argv[a] + 5, NULL, 10);
        else if (strncmp(argv[a], "clv=", 4) == 0)
            clv = atoi(argv[a] + 4);
    }
    double t0 = now();
    promo_store *s = NULL;
    if (promo_store_open(ws, 0, &s))
        die("open");
    promo_panel d;
    if (promo_panel_load_tables(s, nt, &d))
        die("panel");
    promo_panel_exposures e;
    if (promo_panel_exposure_rows(&d, NULL, &e))
        die("exposure rows");
    promo_feature_params fp = promo_feature_params_default();
    fp.clv = clv;
    fp.n_threads = nt;
    promo_panel_layout l = {0};
    float *X = NULL;
    if (promo_panel_exposure_matrix(&d, &e, &fp, &l, &X))
        die("exposure matrix");
    double t_features = now() - t0;
    promo_table *tt = NULL;
    if (promo_store_read_table(s, "truth_exposures", &tt))
        die("truth_exposures");
    const promo_column *ep = col(d.exposures, "promotion_id"),
                       *ec = col(d.exposures, "customer_id");
    const promo_column *tp = col(tt, "promotion_id"), *tc = col(tt, "customer_id");
    const promo_column *tp0 = col(tt, "p0"), *tp1 = col(tt, "p1");
    const promo_column *pdisc = promo_table_column(d.promotions, "discount_pct");
    uint32_t *tpc = malloc(tt->n_rows * sizeof *tpc), *tcc = malloc(tt->n_rows * sizeof *tcc);
    map m = {0};
    for (m.cap = 16; m.cap < 2 * tt->n_rows; m.cap *= 2)
        ;
    m.key = malloc(m.cap * sizeof *m.key);
    m.val = malloc(m.cap * sizeof *m.val);
    if (!tpc || !tcc || !m.key || !m.val)
        return 1;
    memset(m.val, 0xff, m.cap * sizeof *m.val);
    if (promo_column_map_to(tp, ep->dict, tpc) || promo_column_map_to(tc, ec->dict, tcc))
        die("map truth keys");
    for (size_t r = 0; r < tt->n_rows; r++)
        if (tpc[r] != UINT32_MAX && tcc[r] != UINT32_MAX)
            map_put(&m, ((uint64_t)tpc[r] << 32) | tcc[r], (uint32_t)r);
    int a_treat = -1, a_ctrl = -1;
    for (uint32_t a = 0; a < e.n_arms; a++) {
        if (strcmp(e.arm_names[a], "treatment") == 0)
            a_treat = (int)a;
        if (strcmp(e.arm_names[a], "control") == 0)
            a_ctrl = (int)a;
    }
    if (a_treat < 0 || a_ctrl < 0) {
        fprintf(stderr, "uplift_ws_ceiling: no treatment/control arms\n");
        return 1;
    }
    /* Column sets: every customer feature + the discount; the same without the new ones. */
    size_t d_all = l.n + 1, d_old = 0;
    int *keep_old = malloc(d_all * sizeof *keep_old);
    for (size_t j = 0; j < d_all; j++) {
        keep_old[j] = j == l.n || !is_new(l.names[j]);
        d_old += (size_t)keep_old[j];
    }
    size_t n = 0, n_train = 0, n_test = 0;
    size_t *rows = malloc(e.n * sizeof *rows);
    uint8_t *is_test = malloc(e.n * sizeof *is_test);
    double *tau_all = malloc(e.n * sizeof *tau_all);
    uint32_t *promo_all = malloc(e.n * sizeof *promo_all);
    if (!rows || !is_test || !tau_all || !promo_all || !keep_old)
        return 1;
    for (size_t i = 0; i < e.n; i++) {
        if ((int)e.arm[i] != a_treat && (int)e.arm[i] != a_ctrl)
            continue;
        uint32_t er = e.erow[i];
        uint32_t tr = map_get(&m, ((uint64_t)ep->codes[er] << 32) | ec->codes[er]);
        if (tr == UINT32_MAX)
            continue;
        tau_all[n] = promo_column_num(tp1, tr) - promo_column_num(tp0, tr);
        promo_all[n] = e.promo[i];
        uint64_t h = promo_mix64(((uint64_t)ec->codes[er] + 1) ^ promo_mix64(seed));
        is_test[n] = (double)(h >> 11) * 0x1.0p-53 >= 0.7;
        n_test += is_test[n];
        n_train += !is_test[n];
        rows[n++] = i;
    }
    /* Between-promotion share of the test rows' true effect variance. */
    double tm = 0, tv = 0;
    size_t n_promo = d.promotions ? d.promotions->n_rows : 0;
    double *ps = calloc(n_promo + 1, sizeof *ps), *pc = calloc(n_promo + 1, sizeof *pc);
    for (size_t j = 0; j < n; j++)
        if (is_test[j]) {
            size_t k = promo_all[j] == PROMO_PANEL_NONE ? n_promo : promo_all[j];
            tm += tau_all[j];
            ps[k] += tau_all[j];
            pc[k] += 1;
        }
    tm /= (double)n_test;
    double between = 0;
    for (size_t j = 0; j < n; j++)
        if (is_test[j]) {
            size_t k = promo_all[j] == PROMO_PANEL_NONE ? n_promo : promo_all[j];
            tv += (tau_all[j] - tm) * (tau_all[j] - tm);
            between += (ps[k] / pc[k] - tm) * (ps[k] / pc[k] - tm);
        }
    printf("{\"bench\":\"uplift_ws_ceiling\",\"data\":\"%s\",\"rows\":%zu,\"train\":%zu,"
           "\"test\":%zu,\"features_all\":%zu,\"features_without_new\":%zu,\"clv\":%d,"
           "\"true_mean_test\":%.5f,\"true_sd_test\":%.5f,\"var_between_promotions\":%.3f,"
           "\"features_s\":%.1f}\n",
           label, n, n_train, n_test, d_all, d_old, clv, tm, sqrt(tv / (double)n_test),
           between / tv, t_features);
    fflush(stdout);
    for (int set = 0; set < 2; set++) {
        size_t dim = set == 0 ? d_all : d_old;
        float *xtr = malloc(n_train * dim * sizeof *xtr), *xte = malloc(n_test * dim * sizeof *xte);
        float *ytr = malloc(n_train * sizeof *ytr), *ttr = malloc(n_train * sizeof *ttr);
        int32_t *atr = malloc(n_train * sizeof *atr);
        double *tau = malloc(n_test * sizeof *tau);
        float *pred = malloc(n_test * sizeof *pred);
        if (!xtr || !xte || !ytr || !ttr || !atr || !tau || !pred)
            return 1;
        size_t itr = 0, ite = 0;
        for (size_t j = 0; j < n; j++) {
            size_t i = rows[j];
            float *dst = is_test[j] ? xte + ite * dim : xtr + itr * dim;
            size_t k = 0;
            for (size_t c = 0; c < d_all; c++) {
                if (set == 1 && !keep_old[c])
                    continue;
                dst[k++] = c < l.n ? X[i * l.n + c]
                           : pdisc && e.promo[i] != PROMO_PANEL_NONE
                               ? (float)promo_column_num(pdisc, e.promo[i])
                               : NAN;
            }
            if (is_test[j])
                tau[ite++] = tau_all[j];
            else {
                atr[itr] = (int)e.arm[i] == a_treat;
                ytr[itr] = e.y[i];
                ttr[itr++] = (float)tau_all[j];
            }
        }
        const char *set_name = set == 0 ? "all" : "without_new";
        /* Ceiling: regression on the true effect. */
        promo_gbdt_params gp = promo_gbdt_params_default();
        gp.objective = PROMO_GBDT_REGRESSION;
        gp.nthread = nt;
        gp.n_rounds = 300;
        gp.eta = 0.05;
        gp.max_depth = 4;
        size_t n_fit = n_train * 4 / 5; /* early stopping on the last fifth of the training rows */
        promo_gbdt_data tr = {xtr, n_fit, dim, ttr, NULL},
                        va = {xtr + n_fit * dim, n_train - n_fit, dim, ttr + n_fit, NULL};
        promo_gbdt *g = NULL;
        double t1 = now();
        if (promo_gbdt_train(&gp, &tr, &va, &g))
            die("ceiling fit");
        if (promo_gbdt_predict(g, xte, n_test, dim, 0, pred))
            die("ceiling predict");
        double pehe, c = corr_of(pred, tau, n_test, &pehe);
        printf("{\"bench\":\"uplift_ws_ceiling\",\"data\":\"%s\",\"features\":\"%s\","
               "\"model\":\"ceiling (regression on the true effect)\",\"corr_true\":%.4f,"
               "\"pehe\":%.5f,\"explained\":%.4f,\"fit_s\":%.1f}\n",
               label, set_name, c, pehe, 1 - pehe * pehe / (tv / (double)n_test), now() - t1);
        fflush(stdout);
        promo_gbdt_free(g);
        /* What a T-learner reaches from the outcomes. */
        promo_uplift_params up = promo_uplift_params_default(PROMO_UPLIFT_T);
        up.n_threads = nt;
        promo_uplift_data td = {xtr, n_train, dim, atr, 2, ytr, 1, NULL};
        promo_uplift *um = NULL;
        t1 = now();
        if (promo_uplift_fit(&up, &td, &um))
            die("T fit");
        if (promo_uplift_predict(um, xte, n_test, dim, pred))
            die("T predict");
        c = corr_of(pred, tau, n_test, &pehe);
        printf("{\"bench\":\"uplift_ws_ceiling\",\"data\":\"%s\",\"features\":\"%s\","
               "\"model\":\"T-learner on the outcomes\",\"corr_true\":%.4f,\"pehe\":%.5f,"
               "\"fit_s\":%.1f}\n",
               label, set_name, c, pehe, now() - t1);
        fflush(stdout);
        promo_uplift_free(um);
        free(xtr), free(xte), free(ytr), free(ttr), free(atr), free(tau), free(pred);
    }
    free(rows), free(is_test), free(tau_all), free(promo_all), free(keep_old), free(tpc), free(tcc);
    free(m.key), free(m.val), free(ps), free(pc);
    promo_free(X);
    promo_table_free(tt);
    promo_panel_layout_free(&l);
    promo_panel_exposures_free(&e);
    promo_panel_free(&d);
    promo_store_close(s);
    return 0;
}
