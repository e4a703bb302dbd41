/* bench/uplift_synth: uplift learners against the true individual effect of a generated world,
 * for bench/uplift_synth.sh.
 *   uplift_synth WS LABEL [threads=2] [seed=42] [clv=0]
 * Rows: the exposures of the workspace's promotion log whose arm is "treatment" or "control"
 * (the randomised audience; the "targeted" rows, chosen by the generator's naive rule, are
 * left out, so no propensity weighting is needed). Features: promo_panel_exposure_matrix, as
 * of each exposure's day (clv=0 skips the CLV fits, for time). Outcome: converted. Split 70/30
 * by customer (hash of the customer's code with the seed). True effect of a row: p1 - p0 of
 * truth_exposures, matched on (promotion_id, customer_id).
 * On the held-out rows, per learner: PEHE = sqrt(mean((tau_hat - tau)^2)), beside the constant
 * (true ATE of the held-out rows for everyone) and the oracle (tau: PEHE 0); share of
 * heterogeneity explained = 1 - PEHE^2 / var(tau); Qini coefficient of tau_hat on the observed
 * outcomes beside the oracle ranking's (by tau). One JSON line per learner plus a header. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/hash.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/uplift.h>
#include <promo/uplift_metrics.h>

#define BENCH_NAME "uplift_synth"
#include "uplift_truth.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: uplift_synth WS LABEL [threads=N] [seed=S] [clv=0|1]\n");
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

    /* Truth: map its key strings onto the exposures table's dictionaries. */
    promo_table *tt = NULL;
    if (promo_store_read_table(s, "truth_exposures", &tt))
        die("truth_exposures");
    const promo_column *ep = col(d.exposures, "promotion_id"),
                       *ec = col(d.exposures, "customer_id");
    const promo_column *tp = col(tt, "promotion_id"), *tc = col(tt, "customer_id");
    const promo_column *tp0 = col(tt, "p0"), *tp1 = col(tt, "p1");
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

    /* Randomised rows only. */
    int a_treat = -1, a_ctrl = -1;
    for (uint32_t a = 0; a < e.n_arms; a++) {
        if (strcmp(e.arm_names[a], "treatment") == 0)
            a_treat = (int)a;
        if (strcmp(e.arm_names[a], "control") == 0)
            a_ctrl = (int)a;
    }
    if (a_treat < 0 || a_ctrl < 0) {
        fprintf(stderr, "uplift_synth: no treatment/control arms\n");
        return 1;
    }
    size_t dim = l.n, n = 0, n_train = 0, n_test = 0, n_targeted = 0, n_unmatched = 0;
    size_t *rows = malloc(e.n * sizeof *rows);
    uint8_t *is_test = malloc(e.n * sizeof *is_test);
    uint32_t *pr_te = malloc(e.n * sizeof *pr_te);
    double *tau_all = malloc(e.n * sizeof *tau_all);
    if (!rows || !is_test || !tau_all)
        return 1;
    for (size_t i = 0; i < e.n; i++) {
        if ((int)e.arm[i] != a_treat && (int)e.arm[i] != a_ctrl) {
            n_targeted++;
            continue;
        }
        uint32_t er = e.erow[i];
        uint64_t k = ((uint64_t)ep->codes[er] << 32) | ec->codes[er];
        uint32_t tr = map_get(&m, k);
        if (tr == UINT32_MAX) {
            n_unmatched++;
            continue;
        }
        tau_all[n] = promo_column_num(tp1, tr) - promo_column_num(tp0, tr);
        /* 70/30 by customer: a customer's rows are all train or all test. */
        uint64_t h = promo_mix64(((uint64_t)ec->codes[er] + 1) ^ promo_mix64(seed));
        is_test[n] = (double)(h >> 11) * 0x1.0p-53 >= 0.7;
        n_test += is_test[n];
        n_train += !is_test[n];
        rows[n++] = i;
    }
    float *xtr = malloc(n_train * dim * sizeof *xtr), *xte = malloc(n_test * dim * sizeof *xte);
    float *ytr = malloc(n_train * sizeof *ytr);
    int32_t *atr = malloc(n_train * sizeof *atr), *ate = malloc(n_test * sizeof *ate);
    double *yte = malloc(n_test * sizeof *yte), *tau = malloc(n_test * sizeof *tau);
    double *score = malloc(n_test * sizeof *score);
    float *eff = malloc(n_test * sizeof *eff);
    if (!xtr || !xte || !ytr || !atr || !ate || !yte || !tau || !score || !eff)
        return 1;
    size_t itr = 0, ite = 0, n_treated_tr = 0;
    double y_tr_t = 0, y_tr_c = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = rows[j];
        int32_t arm = (int)e.arm[i] == a_treat;
        if (is_test[j]) {
            memcpy(xte + ite * dim, X + i * dim, dim * sizeof *X);
            ate[ite] = arm;
            yte[ite] = e.y[i];
            pr_te[ite] = e.promo[i];
            tau[ite++] = tau_all[j];
        } else {
            memcpy(xtr + itr * dim, X + i * dim, dim * sizeof *X);
            atr[itr] = arm;
            ytr[itr++] = e.y[i];
            n_treated_tr += (size_t)arm;
            *(arm ? &y_tr_t : &y_tr_c) += e.y[i];
        }
    }
    double tau_mean = 0, tau_var = 0, tau_min = INFINITY, tau_max = -INFINITY;
    for (size_t i = 0; i < n_test; i++)
        tau_mean += tau[i];
    tau_mean /= (double)n_test;
    for (size_t i = 0; i < n_test; i++) {
        tau_var += (tau[i] - tau_mean) * (tau[i] - tau_mean);
        tau_min = fmin(tau_min, tau[i]);
        tau_max = fmax(tau_max, tau[i]);
    }
    tau_var /= (double)n_test;
    /* How much of the true effect's variance lies between promotions: the customer features
     * carry nothing about the promotion (its product, discount), so no learner here can
     * explain that part. */
    size_t n_promo = d.promotions ? d.promotions->n_rows : 0;
    double *ps = calloc(n_promo + 1, sizeof *ps), *pc = calloc(n_promo + 1, sizeof *pc);
    if (!ps || !pc)
        return 1;
    for (size_t i = 0; i < n_test; i++) {
        size_t k = pr_te[i] == PROMO_PANEL_NONE ? n_promo : pr_te[i];
        ps[k] += tau[i];
        pc[k] += 1;
    }
    double between = 0;
    for (size_t i = 0; i < n_test; i++) {
        size_t k = pr_te[i] == PROMO_PANEL_NONE ? n_promo : pr_te[i];
        double mk = ps[k] / pc[k];
        between += (mk - tau_mean) * (mk - tau_mean);
    }
    between /= (double)n_test * tau_var;
    free(ps), free(pc), free(pr_te);
    promo_uplift_metrics om;
    if (promo_uplift_evaluate(tau, ate, yte, n_test, 0, &om, NULL))
        die("oracle qini");
    printf(
        "{\"bench\":\"uplift_synth\",\"data\":\"%s\",\"rows\":\"randomised (treatment+control)\","
        "\"exposures\":%zu,\"targeted_dropped\":%zu,\"unmatched\":%zu,\"features\":%zu,"
        "\"clv\":%d,\"train\":%zu,\"train_treated\":%zu,\"train_rate_t\":%.5f,"
        "\"train_rate_c\":%.5f,\"test\":%zu,\"test_treated\":%zu,\"true_ate_test\":%.6f,"
        "\"true_sd_test\":%.6f,\"true_var_between_promotions\":%.3f,\"true_min\":%.5f,\"true_max\":"
        "%.5f,\"observed_ate_test\":%.6f,"
        "\"constant_pehe\":%.6f,\"oracle_qini\":%.4f,\"oracle_auuc\":%.4f,"
        "\"features_s\":%.2f}\n",
        label, e.n, n_targeted, n_unmatched, dim, clv, n_train, n_treated_tr,
        y_tr_t / (double)(n_treated_tr ? n_treated_tr : 1),
        y_tr_c / (double)(n_train - n_treated_tr ? n_train - n_treated_tr : 1), n_test,
        om.n_treated, tau_mean, sqrt(tau_var), between, tau_min, tau_max, om.ate, sqrt(tau_var),
        om.qini_coef, om.auuc, t_features);
    fflush(stdout);

    promo_uplift_data td = {xtr, n_train, dim, atr, 2, ytr, 1, NULL};
    for (int li = 0; li < PROMO_UPLIFT_LEARNER_COUNT; li++) {
        promo_uplift_params p = promo_uplift_params_default((promo_uplift_learner)li);
        p.n_threads = nt;
        promo_uplift *um = NULL;
        double t1 = now();
        if (promo_uplift_fit(&p, &td, &um)) {
            printf("{\"bench\":\"uplift_synth\",\"data\":\"%s\",\"learner\":\"%s\",\"error\":\"%"
                   "s\"}\n",
                   label, promo_uplift_learner_name((promo_uplift_learner)li), promo_last_error());
            continue;
        }
        double t_fit = now() - t1;
        if (promo_uplift_predict(um, xte, n_test, dim, eff))
            die("predict");
        double se = 0, pm = 0, cov = 0, pv = 0;
        for (size_t i = 0; i < n_test; i++) {
            score[i] = eff[i];
            se += (eff[i] - tau[i]) * (eff[i] - tau[i]);
            pm += eff[i];
        }
        pm /= (double)n_test;
        for (size_t i = 0; i < n_test; i++) {
            cov += (eff[i] - pm) * (tau[i] - tau_mean);
            pv += (eff[i] - pm) * (eff[i] - pm);
        }
        double pehe = sqrt(se / (double)n_test);
        double corr = pv > 0 ? cov / sqrt(pv * tau_var * (double)n_test) : NAN;
        promo_uplift_metrics um_m;
        if (promo_uplift_evaluate(score, ate, yte, n_test, 0, &um_m, NULL))
            die("qini");
        printf("{\"bench\":\"uplift_synth\",\"data\":\"%s\",\"learner\":\"%s\",\"pehe\":%.6f,"
               "\"constant_pehe\":%.6f,\"pehe_ratio\":%.4f,\"explained\":%.4f,"
               "\"pred_mean\":%.6f,\"corr_true\":%.4f,\"qini\":%.4f,\"oracle_qini\":%.4f,"
               "\"qini_over_oracle\":%.3f,\"auuc\":%.4f,\"fit_s\":%.2f}\n",
               label, promo_uplift_learner_name((promo_uplift_learner)li), pehe, sqrt(tau_var),
               pehe / sqrt(tau_var), 1 - pehe * pehe / tau_var, pm, corr, um_m.qini_coef,
               om.qini_coef, um_m.qini_coef / om.qini_coef, um_m.auuc, t_fit);
        fflush(stdout);
        promo_uplift_free(um);
    }
    free(xtr), free(xte), free(ytr), free(atr), free(ate), free(yte), free(tau), free(score);
    free(eff), free(rows), free(is_test), free(tau_all), free(tpc), free(tcc), free(m.key);
    free(m.val);
    promo_free(X);
    promo_table_free(tt);
    promo_panel_layout_free(&l);
    promo_panel_exposures_free(&e);
    promo_panel_free(&d);
    promo_store_close(s);
    return 0;
}
