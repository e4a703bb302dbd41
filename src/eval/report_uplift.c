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
#include <promo/hash.h>
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

/* ------------------------------------------------ effect calibration ---- */

#define CAL_FOLDS     2    /* cross-fitting folds of the calibration */
#define CAL_MIN_ROWS  50   /* randomised training rows per arm of a pair, at least */
#define CAL_MIN_SLOPE 0.01 /* the slope's floor: keeps the model's ranking (a tie-free order) */

/* Solve the 3 x 3 system a b = r (Gaussian elimination, partial pivoting); 0 if singular. */
static int solve3(double a[3][3], double r[3], double b[3])
{
    int ix[3] = {0, 1, 2};
    for (int c = 0; c < 3; c++) {
        int pv = c;
        for (int q = c + 1; q < 3; q++)
            if (fabs(a[ix[q]][c]) > fabs(a[ix[pv]][c]))
                pv = q;
        int t = ix[c];
        ix[c] = ix[pv];
        ix[pv] = t;
        if (!(fabs(a[ix[c]][c]) > 1e-300))
            return 0;
        for (int q = c + 1; q < 3; q++) {
            double f = a[ix[q]][c] / a[ix[c]][c];
            for (int v = c; v < 3; v++)
                a[ix[q]][v] -= f * a[ix[c]][v];
            r[ix[q]] -= f * r[ix[c]];
        }
    }
    for (int c = 2; c >= 0; c--) {
        double v = r[ix[c]];
        for (int q = c + 1; q < 3; q++)
            v -= a[ix[c]][q] * b[q];
        b[c] = v / a[ix[c]][c];
    }
    return 1;
}

/* The calibration of arm a's effect from out-of-fold effects on the randomised training rows
 * (oof: r->n x E, NaN where not computed), as the best linear predictor of Chernozhukov,
 * Demirer, Duflo & Fernandez-Val (2018): y = b0 + b1 (t - e) + b2 (t - e)(s - mean s) by least
 * squares over the arm pair's randomised rows (t = got arm a, e = its share there, s the
 * out-of-fold effect): b1 is the effect's level (about the difference in means), b2 how much of the
 * model's spread the outcomes confirm (1 = all, 0 = none). b2 is shrunk toward 0 by its own
 * noise (b2 x b2^2 / (b2^2 + se^2)) and kept in [CAL_MIN_SLOPE, 1]; the calibrated effect is
 * b1 + c (raw - mean_full), mean_full the full model's mean effect over the same rows. Too few
 * rows (or a singular fit): the raw effect (scale 1, shift 0), cal_level NaN. */
static int calibrate_arm(const promo_uplift_ws_rows *r,
                         const float *oof,
                         const float *eff,
                         size_t E,
                         int a,
                         promo_uplift_ws_arm_eval *o)
{
    o->cal_n = 0;
    o->cal_level = o->cal_slope = o->cal_slope_se = NAN;
    o->effect_scale = 1;
    o->effect_shift = 0;
    if (!oof)
        return PROMO_OK;
    size_t n = 0, n1 = 0;
    double *t = promo_mallocn(r->n_train ? r->n_train : 1, 3 * sizeof *t);
    if (!t)
        return PROMO_ENOMEM;
    double *sv = t + r->n_train, *yv = sv + r->n_train, st = 0, ss = 0, sf = 0;
    for (size_t i = 0; i < r->n; i++) {
        float s = oof[i * E + (size_t)a - 1];
        if (r->part[i] != PROMO_UPLIFT_WS_TRAIN || !r->randomised[i] || isnan(s) ||
            (r->arm[i] != 0 && r->arm[i] != a))
            continue;
        t[n] = r->arm[i] == a;
        sv[n] = s;
        yv[n] = r->y[i];
        n1 += r->arm[i] == a;
        st += t[n];
        ss += s;
        sf += eff[i * E + (size_t)a - 1];
        n++;
    }
    o->cal_n = n;
    if (n1 < CAL_MIN_ROWS || n - n1 < CAL_MIN_ROWS)
        goto done;
    double e = st / (double)n, ms = ss / (double)n, mf = sf / (double)n;
    double A[3][3] = {{0}}, rhs[3] = {0}, b[3], A2[3][3], unit[3] = {0, 0, 1}, inv[3];
    for (size_t i = 0; i < n; i++) {
        double tc = t[i] - e, z[3] = {1, tc, tc * (sv[i] - ms)};
        for (int u = 0; u < 3; u++) {
            rhs[u] += z[u] * yv[i];
            for (int v = 0; v < 3; v++)
                A[u][v] += z[u] * z[v];
        }
    }
    memcpy(A2, A, sizeof A);
    if (!solve3(A2, rhs, b))
        goto done;
    /* The slope's standard error: residual variance times the [2][2] entry of (Z'Z)^-1. */
    memcpy(A2, A, sizeof A);
    if (!solve3(A2, unit, inv) || !(inv[2] > 0))
        goto done;
    double rss = 0;
    for (size_t i = 0; i < n; i++) {
        double tc = t[i] - e, f = b[0] + b[1] * tc + b[2] * tc * (sv[i] - ms);
        rss += (yv[i] - f) * (yv[i] - f);
    }
    double se = sqrt(rss / (double)(n - 3) * inv[2]), b2 = b[2];
    double c = b2 > 0 ? b2 * b2 * b2 / (b2 * b2 + se * se) : 0;
    c = c < CAL_MIN_SLOPE ? CAL_MIN_SLOPE : c > 1 ? 1 : c;
    o->cal_level = b[1];
    o->cal_slope = b2;
    o->cal_slope_se = se;
    o->effect_scale = c;
    o->effect_shift = b[1] - c * mf;
done:
    promo_free(t);
    return PROMO_OK;
}

/* Out-of-fold effects of the randomised training rows: the training rows split in CAL_FOLDS
 * by customer (a customer's exposures in one fold), the learner refitted on the other folds
 * with the same parameters, each randomised row predicted by the model that did not see it.
 * oof: r->n x E, NaN for the rows not predicted.
 * The calibration reads the slope of the outcomes on these effects, not the best model, so the
 * refits save what the full fit already knows (they were as long as the full fit itself):
 * - at most the rounds the full model kept (a fold has half its rows: it needs no more);
 * - S and T with propensity weighting take their rows' weights 1 / P(arm | x) from the full
 *   model's propensity (the same clipping) instead of fitting a propensity model per fold:
 *   the weights only balance the arms, the effects still come from the fold's own outcome
 *   models. (X, R and DR use the propensity inside the learner: they refit it.) */
static int crossfit_effects(const promo_panel *d,
                            const promo_uplift_ws_rows *r,
                            const promo_uplift_params *up_full,
                            promo_uplift *full,
                            float *oof)
{
    size_t E = (size_t)r->n_arms - 1, K = (size_t)r->n_arms, nt = r->n_train ? r->n_train : 1;
    promo_uplift_params upv = *up_full, *up = &upv;
    int kept = promo_uplift_rounds_kept(full);
    if (kept > 0 && kept < up->gbdt.n_rounds)
        up->gbdt.n_rounds = kept;
    int reuse_prop = up->propensity_weighting &&
                     (up->learner == PROMO_UPLIFT_S || up->learner == PROMO_UPLIFT_T);
    if (reuse_prop)
        up->propensity_weighting = 0;
    const promo_column *ec = promo_table_column(d->exposures, "customer_id");
    uint8_t *fold = promo_mallocn(r->n ? r->n : 1, 1);
    float *xk = promo_mallocn(nt, r->d * sizeof *xk);
    float *yk = promo_mallocn(nt, sizeof *yk);
    float *ek = promo_mallocn(nt, (reuse_prop ? K : E) * sizeof *ek);
    float *wk = reuse_prop ? promo_mallocn(nt, sizeof *wk) : NULL;
    int32_t *ak = promo_mallocn(nt, sizeof *ak);
    size_t *idx = promo_mallocn(nt, sizeof *idx);
    promo_uplift *mk = NULL;
    int rc = PROMO_ENOMEM;
    if (!fold || !xk || !yk || !ek || (reuse_prop && !wk) || !ak || !idx || !ec || !ec->codes)
        goto done;
    for (size_t i = 0; i < r->n * E; i++)
        oof[i] = NAN;
    for (size_t i = 0; i < r->n; i++) {
        uint64_t h = promo_mix64(((uint64_t)ec->codes[r->erow[i]] + 1) ^ promo_mix64(up->seed));
        fold[i] = (uint8_t)(h % CAL_FOLDS);
    }
    rc = PROMO_OK;
    for (int k = 0; k < CAL_FOLDS && !rc; k++) {
        size_t m = 0, q = 0;
        for (size_t i = 0; i < r->n; i++)
            if (r->part[i] == PROMO_UPLIFT_WS_TRAIN && fold[i] != k) {
                memcpy(xk + m * r->d, r->X + i * r->d, r->d * sizeof *xk);
                yk[m] = r->y[i];
                ak[m++] = r->arm[i];
            }
        if (reuse_prop) { /* the full model's 1 / P(arm | x), clipped as the fit clips it */
            if ((rc = promo_uplift_predict_propensity(full, xk, m, r->d, ek)))
                break;
            for (size_t j = 0; j < m; j++) {
                double e = ek[j * K + (size_t)ak[j]];
                e = e < up->clip ? up->clip : e > 1.0 - up->clip ? 1.0 - up->clip : e;
                wk[j] = (float)(1.0 / e);
            }
        }
        promo_uplift_data kd = {xk, m, r->d, ak, r->n_arms, yk, 1, wk};
        if ((rc = promo_uplift_fit(up, &kd, &mk)))
            break;
        for (size_t i = 0; i < r->n; i++)
            if (r->part[i] == PROMO_UPLIFT_WS_TRAIN && fold[i] == k && r->randomised[i]) {
                memcpy(xk + q * r->d, r->X + i * r->d, r->d * sizeof *xk);
                idx[q++] = i;
            }
        if (q && (rc = promo_uplift_predict(mk, xk, q, r->d, ek)))
            break;
        for (size_t j = 0; j < q; j++)
            memcpy(oof + idx[j] * E, ek + j * E, E * sizeof *oof);
        promo_uplift_free(mk);
        mk = NULL;
    }
done:
    promo_uplift_free(mk);
    promo_free(fold);
    promo_free(xk);
    promo_free(yk);
    promo_free(ek);
    promo_free(wk);
    promo_free(ak);
    promo_free(idx);
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
               {"train_seconds", o->train_seconds},
               {"outcome_from_purchases", (double)o->outcome_from_purchases},
               {"weighting_auto", (double)o->weighting_auto},
               {"calibration_seconds", o->calibration_seconds}};
    int rc = PROMO_OK;
    for (size_t k = 0; k < sizeof run / sizeof *run && !rc; k++)
        rc = promo_report_rows_add(rows, TASK, TARGET, "", run[k].k, run[k].v);
    if (!rc)
        rc = promo_report_rows_add_text(rows, TASK, TARGET, "", "learner", L);
    if (!rc && o->model_path[0])
        rc = promo_report_rows_add_text(rows, TASK, TARGET, "", "model_path", o->model_path);
    char arms[PROMO_UPLIFT_WS_MAX_ARMS * 65] = "";
    for (int a = 0; a < o->n_arms; a++)
        snprintf(arms + strlen(arms), sizeof arms - strlen(arms), "%s%s", a ? "," : "",
                 o->arm_names[a]);
    if (!rc)
        rc = promo_report_rows_add_text(rows, TASK, TARGET, "", "arms", arms);
    if (!rc && o->pooled_arm[0])
        rc = promo_report_rows_add_text(rows, TASK, TARGET, "", "pooled_arm", o->pooled_arm);
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
        const promo_uplift_ws_arm_eval *e = &o->arms[a];
        struct {
            const char *k;
            double v;
        } c[] = {{"mean_effect", e->mean_effect},   {"mean_calibrated", e->mean_calibrated},
                 {"effect_scale", e->effect_scale}, {"effect_shift", e->effect_shift},
                 {"cal_level", e->cal_level},       {"cal_slope", e->cal_slope},
                 {"cal_slope_se", e->cal_slope_se}, {"cal_n", (double)e->cal_n}};
        for (size_t k = 0; k < sizeof c / sizeof *c && !rc; k++) {
            char name[128];
            snprintf(name, sizeof name, "%s:%s", c[k].k, o->arm_names[a]);
            rc = promo_report_rows_add(rows, TASK, TARGET, L, name, c[k].v);
        }
    }
    return rc;
}

/* Every row's predictions as a CSV: promotion_id, customer_id, arm, part, randomised, y,
 * effect_<arm> per treatment arm (the model's raw effect), then calibrated_<arm> per treatment
 * arm (what scoring uses: effect_shift + effect_scale x raw). */
static int write_predictions(const char *path,
                             const promo_panel *d,
                             const promo_uplift_ws_rows *r,
                             const float *eff,
                             const promo_uplift_ws_report *o)
{
    static const char *const parts[] = {"train", "test", "gap"};
    size_t E = (size_t)r->n_arms - 1;
    promo_table *t = promo_table_new("predictions");
    if (!t)
        return PROMO_ENOMEM;
    const promo_column *ep = promo_table_column(d->exposures, "promotion_id"),
                       *ec = promo_table_column(d->exposures, "customer_id");
    promo_column *c[6 + 2 * PROMO_UPLIFT_WS_MAX_ARMS];
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
    for (size_t a = 0; a < E && !rc; a++) {
        char name[96];
        snprintf(name, sizeof name, "calibrated_%s", r->arm_names[a + 1]);
        rc = promo_table_add_column(t, name, PROMO_COL_FLOAT64, &c[6 + E + a]);
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
        for (size_t a = 0; a < E && !rc; a++)
            rc = promo_column_push_f64(c[6 + E + a],
                                       o->arms[a + 1].effect_shift +
                                           o->arms[a + 1].effect_scale * eff[i * E + a]);
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
    if (p->weighting < -1 || p->weighting > 1)
        return promo_fail(PROMO_EUSAGE, "uplift train: weighting %d is not -1, 0 or 1",
                          p->weighting);
    promo_panel d;
    memset(&d, 0, sizeof d);
    promo_uplift_ws_rows r;
    memset(&r, 0, sizeof r);
    promo_uplift *m = NULL;
    promo_report_rows *rows = NULL;
    float *xt = NULL, *yt = NULL, *eff = NULL, *mu = NULL, *score = NULL, *oof = NULL;
    int32_t *at = NULL;
    size_t *test = NULL;
    char *buf = NULL, *features = NULL, *arms = NULL;
    size_t len = 0;
    int in_txn = 0;
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
    out->outcome_from_purchases = r.outcome_from_purchases;
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
    /* Out-of-fold effects for the calibration (when the log has randomised training rows). */
    size_t n_rand_train = 0;
    for (size_t i = 0; i < r.n; i++)
        n_rand_train += r.part[i] == PROMO_UPLIFT_WS_TRAIN && r.randomised[i];
    if (n_rand_train >= 2 * CAL_MIN_ROWS) {
        if (!(oof = promo_mallocn(r.n, ((size_t)r.n_arms - 1) * sizeof *oof))) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        t0 = promo_now_s();
        rc = crossfit_effects(&d, &r, &up, m, oof);
        out->calibration_seconds = promo_now_s() - t0;
        if (rc == PROMO_EINPUT) { /* a fold too small for the learner: no calibration */
            promo_warn("uplift: no effect calibration: %s", promo_last_error());
            promo_free(oof);
            oof = NULL;
            rc = PROMO_OK;
        } else if (rc)
            goto done;
    }

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
        double sum = 0.0;
        for (j = 0; j < r.n_test; j++) {
            score[j] = eff[test[j] * E + a - 1];
            sum += score[j];
        }
        out->arms[a].mean_effect = r.n_test ? sum / (double)r.n_test : NAN;
        if ((rc = eval_arm(&r, test, r.n_test, score, 1, (int)a, &out->arms[a].model)))
            goto done;
        if ((rc = calibrate_arm(&r, oof, eff, E, (int)a, &out->arms[a])))
            goto done;
        double sc_sum = 0.0;
        for (j = 0; j < r.n_test; j++)
            sc_sum += out->arms[a].effect_shift + out->arms[a].effect_scale * score[j];
        out->arms[a].mean_calibrated = r.n_test ? sc_sum / (double)r.n_test : NAN;
        metrics_nan(&out->arms[a].outcome);
        if (mu) {
            for (j = 0; j < r.n_test; j++)
                score[j] = mu[test[j] * K + a];
            if ((rc = eval_arm(&r, test, r.n_test, score, 1, (int)a, &out->arms[a].outcome)))
                goto done;
        }
    }
    if (p->predictions_out && (rc = write_predictions(p->predictions_out, &d, &r, eff, out)))
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
        char as_of[32], win[32], disc[32], wt[8], clv[8],
            scale[32 * PROMO_UPLIFT_WS_MAX_ARMS] = "", shift[32 * PROMO_UPLIFT_WS_MAX_ARMS] = "";
        for (int a = 1; a < r.n_arms; a++) {
            snprintf(scale + strlen(scale), sizeof scale - strlen(scale), "%s%.17g",
                     a > 1 ? "," : "", out->arms[a].effect_scale);
            snprintf(shift + strlen(shift), sizeof shift - strlen(shift), "%s%.17g",
                     a > 1 ? "," : "", out->arms[a].effect_shift);
        }
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
                               scale,
                               "effect_shift",
                               shift};
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
    promo_free(oof);
    promo_free(buf);
    promo_free(features);
    promo_free(arms);
    return rc;
}

/* ------------------------------------------------------------------ reading ---- */

/* Index of arm `name` in out (added after the known ones when new; -1 when full). */
static int arm_index(promo_uplift_ws_report *out, const char *name)
{
    for (int a = 1; a < out->n_arms; a++)
        if (!strcmp(out->arm_names[a], name))
            return a;
    if (out->n_arms >= PROMO_UPLIFT_WS_MAX_ARMS)
        return -1;
    int a = out->n_arms++;
    snprintf(out->arm_names[a], sizeof out->arm_names[a], "%s", name);
    metrics_nan(&out->arms[a].model);
    metrics_nan(&out->arms[a].outcome);
    promo_uplift_ws_arm_eval *e = &out->arms[a];
    e->mean_effect = e->mean_calibrated = e->cal_level = e->cal_slope = e->cal_slope_se = NAN;
    e->effect_scale = 1;
    e->effect_shift = 0;
    return a;
}

static void set_metric(promo_uplift_metrics *m, const char *k, double v)
{
    if (!strcmp(k, "qini_coef"))
        m->qini_coef = v;
    else if (!strcmp(k, "auuc"))
        m->auuc = v;
    else if (!strcmp(k, "uplift_at_10"))
        m->uplift_at[0] = v;
    else if (!strcmp(k, "uplift_at_20"))
        m->uplift_at[1] = v;
    else if (!strcmp(k, "uplift_at_30"))
        m->uplift_at[2] = v;
    else if (!strcmp(k, "ate"))
        m->ate = v;
    else if (!strcmp(k, "n_treated"))
        m->n_treated = isfinite(v) ? (size_t)v : 0;
    else if (!strcmp(k, "n_control"))
        m->n_control = isfinite(v) ? (size_t)v : 0;
}

static void set_calibration(promo_uplift_ws_arm_eval *e, const char *k, double v)
{
    if (!strcmp(k, "mean_effect"))
        e->mean_effect = v;
    else if (!strcmp(k, "mean_calibrated"))
        e->mean_calibrated = v;
    else if (!strcmp(k, "effect_scale"))
        e->effect_scale = v;
    else if (!strcmp(k, "effect_shift"))
        e->effect_shift = v;
    else if (!strcmp(k, "cal_level"))
        e->cal_level = v;
    else if (!strcmp(k, "cal_slope"))
        e->cal_slope = v;
    else if (!strcmp(k, "cal_slope_se"))
        e->cal_slope_se = v;
    else if (!strcmp(k, "cal_n"))
        e->cal_n = isfinite(v) ? (size_t)v : 0;
}

int promo_report_uplift_read(promo_store *s, promo_uplift_ws_report *out, int *found)
{
    if (!s || !out || !found)
        return promo_fail(PROMO_EUSAGE, "uplift read: needs a store and out");
    memset(out, 0, sizeof *out);
    *found = 0;
    promo_table *t = NULL;
    int rc = promo_report_read(s, &t);
    if (rc || !t)
        return rc;
    const promo_column *task = promo_table_column(t, "task"),
                       *model = promo_table_column(t, "model"),
                       *metric = promo_table_column(t, "metric"),
                       *value = promo_table_column(t, "value"),
                       *text = promo_table_column(t, "text");
    char learner[16] = "";
    out->n_arms = 1;
    snprintf(out->arm_names[0], sizeof out->arm_names[0], "control");
    out->clip = NAN;
    /* The run first: the learner names the model rows, the arms their order. */
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(promo_column_str(task, i), TASK) != 0 || *promo_column_str(model, i))
            continue;
        *found = 1;
        const char *me = promo_column_str(metric, i);
        const char *tx = promo_column_is_null(text, i) ? NULL : promo_column_str(text, i);
        double v = promo_column_is_null(value, i) ? NAN : value->f64[i];
        size_t z = isfinite(v) && v >= 0 ? (size_t)v : 0;
        if (!strcmp(me, "learner") && tx)
            snprintf(learner, sizeof learner, "%s", tx);
        else if (!strcmp(me, "pooled_arm") && tx)
            snprintf(out->pooled_arm, sizeof out->pooled_arm, "%s", tx);
        else if (!strcmp(me, "model_path") && tx)
            snprintf(out->model_path, sizeof out->model_path, "%s", tx);
        else if (!strcmp(me, "arms") && tx) {
            char buf[PROMO_UPLIFT_WS_MAX_ARMS * 65];
            snprintf(buf, sizeof buf, "%s", tx);
            char *save = NULL, *tok = strtok_r(buf, ",", &save);
            if (tok)
                snprintf(out->arm_names[0], sizeof out->arm_names[0], "%s", tok);
            while ((tok = strtok_r(NULL, ",", &save)))
                arm_index(out, tok);
        } else if (!strcmp(me, "as_of"))
            out->as_of = (int64_t)v;
        else if (!strcmp(me, "split_ts"))
            out->split_ts = (int64_t)v;
        else if (!strcmp(me, "window_days"))
            out->window_days = v;
        else if (!strcmp(me, "n_rows"))
            out->n_rows = z;
        else if (!strcmp(me, "n_train"))
            out->n_train = z;
        else if (!strcmp(me, "n_test"))
            out->n_test = z;
        else if (!strcmp(me, "n_test_randomised"))
            out->n_test_randomised = z;
        else if (!strcmp(me, "n_gap"))
            out->n_gap = z;
        else if (!strcmp(me, "n_late"))
            out->n_late = z;
        else if (!strcmp(me, "n_pooled"))
            out->n_pooled = z;
        else if (!strcmp(me, "n_features"))
            out->n_features = z;
        else if (!strcmp(me, "weighting"))
            out->weighting = v > 0;
        else if (!strcmp(me, "clip"))
            out->clip = v;
        else if (!strcmp(me, "clipped_share"))
            out->overlap.clipped_share = v;
        else if (!strcmp(me, "e_min"))
            out->overlap.e_min = v;
        else if (!strcmp(me, "e_max"))
            out->overlap.e_max = v;
        else if (!strcmp(me, "train_seconds"))
            out->train_seconds = v;
        else if (!strcmp(me, "outcome_from_purchases"))
            out->outcome_from_purchases = v > 0;
        else if (!strcmp(me, "weighting_auto"))
            out->weighting_auto = v > 0;
        else if (!strcmp(me, "calibration_seconds"))
            out->calibration_seconds = v;
    }
    if (*found) {
        promo_uplift_learner_parse(learner, &out->learner);
        for (size_t i = 0; i < t->n_rows; i++) {
            const char *mo = promo_column_str(model, i), *me = promo_column_str(metric, i);
            if (strcmp(promo_column_str(task, i), TASK) != 0 || !*mo)
                continue;
            int outc = !strcmp(mo, "outcome_ranking");
            if (!outc && strcmp(mo, learner) != 0)
                continue;
            const char *colon = strchr(me, ':');
            if (!colon)
                continue;
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(colon - me), me);
            int a = arm_index(out, colon + 1);
            if (a < 1)
                continue;
            double v = promo_column_is_null(value, i) ? NAN : value->f64[i];
            if (outc)
                set_metric(&out->arms[a].outcome, key, v);
            else {
                set_metric(&out->arms[a].model, key, v);
                set_calibration(&out->arms[a], key, v);
            }
        }
    }
    promo_table_free(t);
    return PROMO_OK;
}
