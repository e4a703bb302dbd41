/* The uplift model of a workspace: fit on the promotion log's training rows, evaluation on the
 * randomised test rows, and the model file with the `evaluations` rows committed as one unit
 * (include/promo/report_uplift.h). As report_propensity.c: the model layer may not call eval,
 * so the rows -> fit -> evaluate -> commit sequence lives here.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/report.h>
#include <promo/report_uplift.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>
#include <promo/uplift_io.h>

#define TASK   "uplift"
#define TARGET "workspace"

promo_uplift_ws_train_params promo_uplift_ws_train_params_default(void)
{
    promo_uplift_ws_train_params p;
    memset(&p, 0, sizeof p);
    p.rows = promo_uplift_ws_params_default();
    p.uplift = promo_uplift_params_default(PROMO_UPLIFT_T);
    p.weighting = -1;
    p.save = 1;
    p.predictions_out = NULL;
    return p;
}

static int has_outcomes(promo_uplift_learner l)
{
    return l == PROMO_UPLIFT_S || l == PROMO_UPLIFT_T || l == PROMO_UPLIFT_X ||
           l == PROMO_UPLIFT_DR;
}

static void metrics_nan(promo_uplift_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->qini_coef = m->auuc = m->ate = m->qini_area = m->uplift_area = NAN;
    for (int k = 0; k < PROMO_UPLIFT_N_AT; k++)
        m->uplift_at[k] = NAN;
}

/* Figures of arm a on the randomised test rows (score[j] for test row j of `rows`). */
static int eval_arm(const promo_uplift_ws_rows *r,
                    const size_t *test,
                    size_t nt,
                    const float *score,
                    size_t stride,
                    int a,
                    promo_uplift_metrics *out)
{
    metrics_nan(out);
    double *sc = promo_mallocn(nt ? nt : 1, sizeof *sc), *y = promo_mallocn(nt ? nt : 1, 8);
    int32_t *tr = promo_mallocn(nt ? nt : 1, sizeof *tr);
    int rc = PROMO_ENOMEM;
    if (!sc || !y || !tr)
        goto done;
    size_t m = 0, n1 = 0, n0 = 0;
    for (size_t j = 0; j < nt; j++) {
        size_t i = test[j];
        if (!r->randomised[i] || (r->arm[i] != 0 && r->arm[i] != a))
            continue;
        sc[m] = score[j * stride];
        tr[m] = r->arm[i] == a;
        y[m] = r->y[i];
        n1 += tr[m] == 1;
        n0 += tr[m] == 0;
        m++;
    }
    rc = PROMO_OK;
    if (n1 && n0) /* else: nothing to evaluate, the figures stay NaN */
        rc = promo_uplift_evaluate(sc, tr, y, m, 0, out, NULL);
done:
    promo_free(sc);
    promo_free(y);
    promo_free(tr);
    return rc;
}

/* The rows of the run and of each model. */
static int add_rows(promo_report_rows *rows, const promo_uplift_ws_report *o)
{
    const char *L = promo_uplift_learner_name(o->learner);
    struct {
        const char *k;
        double v;
    } run[] = {{"as_of", (double)o->as_of},
               {"split_ts", (double)o->split_ts},
               {"window_days", o->window_days},
               {"n_rows", (double)o->n_rows},
               {"n_train", (double)o->n_train},
               {"n_test", (double)o->n_test},
               {"n_test_randomised", (double)o->n_test_randomised},
               {"n_gap", (double)o->n_gap},
               {"n_late", (double)o->n_late},
               {"n_pooled", (double)o->n_pooled},
               {"n_features", (double)o->n_features},
               {"weighting", (double)o->weighting},
               {"clip", o->clip},
               {"clipped_share", o->overlap.clipped_share},
               {"e_min", o->overlap.e_min},
               {"e_max", o->overlap.e_max},
               {"train_seconds", o->train_seconds}};
    int rc = PROMO_OK;
    for (size_t k = 0; k < sizeof run / sizeof *run && !rc; k++)
        rc = promo_report_rows_add(rows, TASK, TARGET, "", run[k].k, run[k].v);
    if (!rc)
        rc = promo_report_rows_add_text(rows, TASK, TARGET, "", "learner", L);
    if (!rc && o->model_path[0])
        rc = promo_report_rows_add_text(rows, TASK, TARGET, "", "model_path", o->model_path);
    for (int a = 1; a < o->n_arms && !rc; a++) {
        for (int which = 0; which < 2 && !rc; which++) {
            const promo_uplift_metrics *m = which ? &o->arms[a].outcome : &o->arms[a].model;
            if (which && !has_outcomes(o->learner))
                continue;
            const char *model = which ? "outcome_ranking" : L;
            struct {
                const char *k;
                double v;
            } f[] = {{"qini_coef", m->qini_coef},         {"auuc", m->auuc},
                     {"uplift_at_10", m->uplift_at[0]},   {"uplift_at_20", m->uplift_at[1]},
                     {"uplift_at_30", m->uplift_at[2]},   {"ate", m->ate},
                     {"n_treated", (double)m->n_treated}, {"n_control", (double)m->n_control}};
            for (size_t k = 0; k < sizeof f / sizeof *f && !rc; k++) {
                char name[128];
                snprintf(name, sizeof name, "%s:%s", f[k].k, o->arm_names[a]);
                rc = promo_report_rows_add(rows, TASK, TARGET, model, name, f[k].v);
            }
        }
    }
    return rc;
}

/* Every row's predictions as a CSV: promotion_id, customer_id, arm, part, randomised, y,
 * effect_<arm> per treatment arm. */
static int write_predictions(const char *path,
                             const promo_panel *d,
                             const promo_uplift_ws_rows *r,
                             const float *eff)
{
    static const char *const parts[] = {"train", "test", "gap"};
    size_t E = (size_t)r->n_arms - 1;
    promo_table *t = promo_table_new("predictions");
    if (!t)
        return PROMO_ENOMEM;
    const promo_column *ep = promo_table_column(d->exposures, "promotion_id"),
                       *ec = promo_table_column(d->exposures, "customer_id");
    promo_column *c[6 + PROMO_UPLIFT_WS_MAX_ARMS];
    int rc = promo_table_add_column(t, "promotion_id", PROMO_COL_STRING, &c[0]);
    if (!rc)
        rc = promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &c[1]);
    if (!rc)
        rc = promo_table_add_column(t, "arm", PROMO_COL_STRING, &c[2]);
    if (!rc)
        rc = promo_table_add_column(t, "part", PROMO_COL_STRING, &c[3]);
    if (!rc)
        rc = promo_table_add_column(t, "randomised", PROMO_COL_INT64, &c[4]);
    if (!rc)
        rc = promo_table_add_column(t, "y", PROMO_COL_FLOAT64, &c[5]);
    for (size_t a = 0; a < E && !rc; a++) {
        char name[96];
        snprintf(name, sizeof name, "effect_%s", r->arm_names[a + 1]);
        rc = promo_table_add_column(t, name, PROMO_COL_FLOAT64, &c[6 + a]);
    }
    for (size_t i = 0; i < r->n && !rc; i++) {
        const char *pid = promo_column_str(ep, r->erow[i]), *cid = promo_column_str(ec, r->erow[i]);
        const char *an = r->arm_names[r->arm[i]], *pn = parts[r->part[i]];
        if ((rc = promo_column_push_str(c[0], pid, strlen(pid))) ||
            (rc = promo_column_push_str(c[1], cid, strlen(cid))) ||
            (rc = promo_column_push_str(c[2], an, strlen(an))) ||
            (rc = promo_column_push_str(c[3], pn, strlen(pn))) ||
            (rc = promo_column_push_i64(c[4], r->randomised[i])) ||
            (rc = promo_column_push_f64(c[5], r->y[i])))
            break;
        for (size_t a = 0; a < E && !rc; a++)
            rc = promo_column_push_f64(c[6 + a], eff[i * E + a]);
    }
    if (!rc)
        rc = promo_table_seal(t);
    if (!rc)
        rc = promo_csv_write(path, t);
    promo_table_free(t);
    return rc;
}

int promo_report_uplift_train(promo_store *s,
                              const promo_uplift_ws_train_params *p,
                              promo_uplift_ws_report *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !p)
        return promo_fail(PROMO_EUSAGE, "uplift train: needs a store and params");
    promo_uplift_learner L = p->uplift.learner;
    if (p->save && (L == PROMO_UPLIFT_TREE || L == PROMO_UPLIFT_FOREST))
        return promo_fail(PROMO_EUSAGE,
                          "--learner %s: tree and forest models cannot be stored in a workspace "
                          "yet (use s, t, x, r or dr)",
                          promo_uplift_learner_name(L));
    if (p->weighting < -1 || p->weighting > 1)
        return promo_fail(PROMO_EUSAGE, "uplift train: weighting %d is not -1, 0 or 1",
                          p->weighting);
    promo_panel d;
    memset(&d, 0, sizeof d);
    promo_uplift_ws_rows r;
    memset(&r, 0, sizeof r);
    promo_uplift *m = NULL;
    promo_report_rows *rows = NULL;
    float *xt = NULL, *yt = NULL, *eff = NULL, *mu = NULL, *score = NULL;
    int32_t *at = NULL;
    size_t *test = NULL;
    char *buf = NULL, *features = NULL, *arms = NULL;
    size_t len = 0;
    int in_txn = 0;
    double effect_scale[PROMO_UPLIFT_WS_MAX_ARMS + 1];
    for (size_t a = 0; a <= PROMO_UPLIFT_WS_MAX_ARMS; a++)
        effect_scale[a] = 1;
    int rc = promo_panel_load_tables(s, p->rows.n_threads, &d);
    if (rc || (rc = promo_uplift_ws_rows_build(&d, &p->rows, &r)))
        goto done;
    if (r.n_arms > PROMO_UPLIFT_WS_MAX_ARMS) {
        rc = promo_fail(PROMO_EINPUT, "uplift: the log has %d arms, at most %d are supported",
                        r.n_arms, PROMO_UPLIFT_WS_MAX_ARMS);
        goto done;
    }
    out->learner = L;
    out->as_of = r.as_of;
    out->split_ts = r.split_ts;
    out->window_days = p->rows.window_days;
    out->n_rows = r.n;
    out->n_train = r.n_train;
    out->n_test = r.n_test;
    out->n_gap = r.n_gap;
    out->n_late = r.n_late;
    out->n_pooled = r.n_pooled;
    out->n_features = r.d;
    out->n_arms = r.n_arms;
    for (int a = 0; a < r.n_arms; a++)
        snprintf(out->arm_names[a], sizeof out->arm_names[a], "%s", r.arm_names[a]);
    if (r.n_pooled)
        snprintf(out->pooled_arm, sizeof out->pooled_arm, "%s", p->rows.pool_arm);
    out->weighting_auto = p->weighting < 0;
    out->weighting = p->weighting < 0 ? r.n_pooled > 0 : p->weighting;

    /* The training rows. */
    rc = PROMO_ENOMEM;
    xt = promo_mallocn(r.n_train, r.d * sizeof *xt);
    yt = promo_mallocn(r.n_train, sizeof *yt);
    at = promo_mallocn(r.n_train, sizeof *at);
    test = promo_mallocn(r.n_test, sizeof *test);
    if (!xt || !yt || !at || !test)
        goto done;
    size_t k = 0, j = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.part[i] == PROMO_UPLIFT_WS_TRAIN) {
            memcpy(xt + k * r.d, r.X + i * r.d, r.d * sizeof *xt);
            yt[k] = r.y[i];
            at[k++] = r.arm[i];
        } else if (r.part[i] == PROMO_UPLIFT_WS_TEST) {
            test[j++] = i;
            out->n_test_randomised += r.randomised[i];
        }
    }
    promo_uplift_params up = p->uplift;
    up.propensity_weighting = out->weighting;
    out->clip = up.clip;
    promo_uplift_data td = {xt, r.n_train, r.d, at, r.n_arms, yt, 1, NULL};
    double t0 = promo_now_s();
    if ((rc = promo_uplift_fit(&up, &td, &m)))
        goto done;
    out->train_seconds = promo_now_s() - t0;
    promo_uplift_overlap_get(m, &out->overlap);

    /* Every row's effects (the predictions file wants them all), then the test figures. */
    size_t E = (size_t)r.n_arms - 1, K = (size_t)r.n_arms;
    rc = PROMO_ENOMEM;
    eff = promo_mallocn(r.n, E * sizeof *eff);
    score = promo_mallocn(r.n_test ? r.n_test : 1, K * sizeof *score);
    if (!eff || !score)
        goto done;
    if ((rc = promo_uplift_predict(m, r.X, r.n, r.d, eff)))
        goto done;
    if (has_outcomes(L)) {
        rc = PROMO_ENOMEM;
        if (!(mu = promo_mallocn(r.n, K * sizeof *mu)))
            goto done;
        if ((rc = promo_uplift_predict_outcomes(m, r.X, r.n, r.d, mu)))
            goto done;
    }
    for (size_t a = 1; a < K; a++) {
        double sum = 0.0, sum_rand = 0.0;
        size_t n_rand = 0;
        for (j = 0; j < r.n_test; j++) {
            score[j] = eff[test[j] * E + a - 1];
            sum += score[j];
            if (r.randomised[test[j]] && (r.arm[test[j]] == 0 || r.arm[test[j]] == (int)a)) {
                sum_rand += score[j];
                n_rand++;
            }
        }
        out->arms[a].mean_effect = r.n_test ? sum / (double)r.n_test : NAN;
        if ((rc = eval_arm(&r, test, r.n_test, score, 1, (int)a, &out->arms[a].model)))
            goto done;
        /* Calibration of the effect's size (not its ranking): the treated-minus-control
         * difference measured on the randomised test rows over the mean predicted effect on the
         * same rows, kept in [0, 1] (only ever shrinking), so that what the optimizer adds up
         * as expected profit is on the scale the log shows. */
        double mean_rand = n_rand ? sum_rand / (double)n_rand : NAN;
        double ate = out->arms[a].model.ate;
        double sc_a = isfinite(ate) && isfinite(mean_rand) && mean_rand > 0 ? ate / mean_rand : 1;
        effect_scale[a] = sc_a < 0 ? 0 : sc_a > 1 ? 1 : sc_a;
        out->arms[a].effect_scale = effect_scale[a];
        metrics_nan(&out->arms[a].outcome);
        if (mu) {
            for (j = 0; j < r.n_test; j++)
                score[j] = mu[test[j] * K + a];
            if ((rc = eval_arm(&r, test, r.n_test, score, 1, (int)a, &out->arms[a].outcome)))
                goto done;
        }
    }
    if (p->predictions_out && (rc = write_predictions(p->predictions_out, &d, &r, eff)))
        goto done;

    if (p->save) {
        /* Attributes: what scoring needs to rebuild the rows of a customer. */
        size_t fl = 1, al = 1;
        for (size_t c = 0; c < r.d; c++)
            fl += strlen(r.names[c]) + 1;
        for (int a = 0; a < r.n_arms; a++)
            al += strlen(r.arm_names[a]) + 1;
        rc = PROMO_ENOMEM;
        features = promo_malloc(fl);
        arms = promo_malloc(al);
        if (!features || !arms)
            goto done;
        features[0] = arms[0] = 0;
        for (size_t c = 0; c < r.d; c++)
            strcat(strcat(features, c ? "," : ""), r.names[c]);
        for (int a = 0; a < r.n_arms; a++)
            strcat(strcat(arms, a ? "," : ""), r.arm_names[a]);
        char as_of[32], win[32], disc[32], wt[8], clv[8], scale[32 * PROMO_UPLIFT_WS_MAX_ARMS] = "";
        for (int a = 1; a < r.n_arms; a++)
            snprintf(scale + strlen(scale), sizeof scale - strlen(scale), "%s%.17g",
                     a > 1 ? "," : "", effect_scale[a]);
        snprintf(clv, sizeof clv, "%d", p->rows.clv ? 1 : 0);
        snprintf(as_of, sizeof as_of, "%lld", (long long)r.as_of);
        snprintf(win, sizeof win, "%.17g", p->rows.window_days);
        snprintf(disc, sizeof disc, "%.17g", r.discount_pct_median);
        snprintf(wt, sizeof wt, "%d", out->weighting);
        const char *attrs[] = {"features",
                               features,
                               "arms",
                               arms,
                               "as_of",
                               as_of,
                               "window_days",
                               win,
                               "learner",
                               promo_uplift_learner_name(L),
                               "weighting",
                               wt,
                               "discount_pct_median",
                               disc,
                               "effect_scale",
                               scale};
        if ((rc = promo_uplift_save(m, attrs, sizeof attrs / sizeof *attrs / 2, &buf, &len)))
            goto done;
        snprintf(out->model_path, sizeof out->model_path, "%s/%s", promo_store_models_dir(s),
                 PROMO_UPLIFT_WS_MODEL);
        if ((rc = promo_report_rows_new(&rows)) || (rc = add_rows(rows, out)))
            goto done;
        if ((rc = promo_store_begin(s)))
            goto done;
        in_txn = 1;
        if ((rc = promo_store_stage_file(s, out->model_path, buf, len)) ||
            (rc = promo_report_write(s, rows)))
            goto done;
        in_txn = 0;
        rc = promo_store_commit(s);
    }
done:
    if (in_txn)
        promo_store_rollback(s);
    if (rc)
        out->model_path[0] = 0;
    promo_report_rows_free(rows);
    promo_uplift_free(m);
    promo_uplift_ws_rows_free(&r);
    promo_panel_free(&d);
    promo_free(xt);
    promo_free(yt);
    promo_free(at);
    promo_free(test);
    promo_free(eff);
    promo_free(mu);
    promo_free(score);
    promo_free(buf);
    promo_free(features);
    promo_free(arms);
    return rc;
}
