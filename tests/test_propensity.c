/* Propensity pipeline on a small generated world: training and evaluation of the model and its
 * baselines, the stored evaluation, save/reload/score consistency with the TreeSHAP
 * explanation, thread-count independence, top-K campaign picks, errors, and the CLI commands
 * (train, evaluate, score, explain). Small world and few trees: it runs under ASan. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/calibrate.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/gbdt.h>
#include <promo/panel.h>
#include <promo/plot.h>
#include <promo/propensity.h>
#include <promo/report.h>
#include <promo/store.h>

#include "t.h"
#include "t_world.h"

/* One small world per test run, written once into a workspace (copied per test that writes). */
static char g_ws[512];

static const char *small_world(void)
{
    return g_ws[0] ? g_ws : t_world_write(g_ws, sizeof g_ws, 250, 40, 5, 10, 12000);
}

/* A copy of the world's workspace (tests that save models must not see each other's). */
static const char *world_copy(void)
{
    const char *src = small_world();
    const char *dir = t_tmpdir();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s/ws'", src, dir);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    static char path[8][512];
    static int k;
    char *p = path[k++ & 7];
    snprintf(p, 512, "%s/ws", dir);
    return p;
}

static promo_propensity_params small_params(void)
{
    promo_propensity_params p = promo_propensity_params_default();
    p.n_train_windows = 2;
    p.gbdt.n_rounds = 25;
    p.gbdt.early_stopping_rounds = 10;
    p.forest.n_forest_trees = 8;
    p.forest.max_depth = 6;
    p.plots = 0;
    p.n_threads = 1;
    return p;
}

T_TEST(propensity_product_model_and_baselines)
{
    const char *ws = world_copy();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_propensity_params p = small_params();
    p.target = "product:PROD00001";
    p.baselines = PROMO_PROP_BASELINES_ALL; /* the learnt ones are trained only when asked */
    promo_propensity_report r;
    T_OK(promo_report_propensity_train(s, &p, &r));
    T_ASSERT_STR_EQ(r.target, "product:PROD00001");
    T_ASSERT(r.as_of > r.valid_as_of && r.valid_as_of > r.first_train_as_of);
    T_ASSERT_EQ_INT(r.valid_as_of + 30 * 86400, r.as_of);
    for (int m = 0; m < PROMO_PROP_MODEL_COUNT; m++) {
        T_ASSERT_MSG(r.models[m].fitted, "model %s not fitted", promo_prop_model_name(m));
        const promo_binary_metrics *x = &r.models[m].m;
        T_ASSERT(x->n > 100 && x->n_pos > 0);
        T_ASSERT(x->log_loss > 0 && x->brier > 0 && x->brier < 0.5);
    }
    const promo_binary_metrics *x = &r.models[PROMO_PROP_XGBOOST].m;
    /* A learned model must rank buyers clearly better than chance on a later window. */
    T_ASSERT_MSG(x->auc > 0.65, "auc %.3f", x->auc);
    T_ASSERT(x->lift_top_decile > 1.5);
    T_ASSERT(r.n_rounds >= 1 && r.n_rounds <= 25);
    T_ASSERT(r.n_features > 20);
    /* Stored evaluation equals the returned one. */
    promo_propensity_report *ev = NULL;
    size_t n = 0;
    T_OK(promo_report_propensity_read(s, &ev, &n));
    T_ASSERT_EQ_INT(n, 1);
    T_ASSERT_STR_EQ(ev[0].target, r.target);
    for (int m = 0; m < PROMO_PROP_MODEL_COUNT; m++) {
        T_ASSERT_NEAR(ev[0].models[m].m.auc, r.models[m].m.auc, 1e-12);
        T_ASSERT_NEAR(ev[0].models[m].m.precision_at[1], r.models[m].m.precision_at[1], 1e-12);
    }
    T_ASSERT_STR_EQ(ev[0].model_path, r.model_path);
    promo_free(ev);

    /* Scoring any product with the one model; explanation consistent with the saved model:
     * calibrate(sigmoid(bias + sum contribs)) == the scored probability. */
    promo_prop_scores *sc = NULL;
    T_OK(promo_propensity_score(s, "product:PROD00002", 0, &sc));
    T_ASSERT(sc->n >= x->n);
    for (size_t i = 0; i < sc->n; i++)
        T_ASSERT(sc->probability[i] >= 0 && sc->probability[i] <= 1);
    promo_prop_explanation *e = NULL;
    T_OK(promo_propensity_explain(s, "product:PROD00002", 0, sc->customer_id[3], &e));
    T_ASSERT_NEAR(e->probability, sc->probability[3], 1e-12);
    promo_gbdt *g = NULL;
    T_OK(promo_gbdt_load(r.model_path, &g));
    char *cs = promo_gbdt_get_attr(g, "promo.calibration");
    T_ASSERT(cs != NULL);
    promo_calib *cal = NULL;
    T_OK(promo_calib_from_string(cs, &cal));
    double margin = e->bias;
    for (size_t j = 0; j < e->n_features; j++)
        margin += e->contribs[j];
    float raw = 0;
    T_OK(promo_gbdt_predict(g, e->values, 1, e->n_features, 0, &raw));
    T_ASSERT_NEAR(1.0 / (1.0 + exp(-margin)), raw, 1e-4);
    T_ASSERT_NEAR(promo_calib_one(cal, raw), e->probability, 1e-9);
    promo_reason rs[5];
    size_t nr = 0;
    T_OK(promo_explain_reasons(e, 5, rs, &nr));
    for (size_t k = 0; k < nr; k++) {
        T_ASSERT(rs[k].text[0] != 0 && rs[k].contribution > 0);
        if (k)
            T_ASSERT(rs[k].contribution <= rs[k - 1].contribution);
    }
    promo_calib_free(cal);
    promo_free(cs);
    promo_gbdt_free(g);
    promo_prop_explanation_free(e);
    promo_prop_scores_free(sc);

    /* Top customers: sorted, with reasons, and the best is the scorer's maximum. */
    promo_campaign_pick *pk = NULL;
    size_t np = 0;
    T_OK(promo_explain_top_customers(s, "product:PROD00001", 0, 10, &pk, &np));
    T_ASSERT_EQ_INT(np, 10);
    for (size_t k = 1; k < np; k++)
        T_ASSERT(pk[k].probability <= pk[k - 1].probability);
    T_ASSERT(pk[0].reason[0] != 0);
    promo_free(pk);
    promo_store_close(s);
}

T_TEST(propensity_any_thread_independent_and_replaced)
{
    const char *ws = world_copy();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_propensity_params p = small_params();
    p.baselines = 0;
    p.target = "any";
    promo_propensity_report a, b;
    T_OK(promo_report_propensity_train(s, &p, &a));
    p.n_threads = 2;
    T_OK(promo_report_propensity_train(s, &p, &b));
    T_ASSERT_EQ_INT(a.n_train_rows, b.n_train_rows);
    T_ASSERT_EQ_INT(a.n_rounds, b.n_rounds);
    T_ASSERT_NEAR(a.models[0].m.auc, b.models[0].m.auc, 0);
    T_ASSERT_NEAR(a.models[0].m.log_loss, b.models[0].m.log_loss, 0);
    T_ASSERT(a.models[0].m.auc > 0.65);
    T_ASSERT(!a.models[PROMO_PROP_LOGREG].fitted);
    /* Retraining a target replaces its stored rows; another target adds one. */
    p.target = "category:Bakery";
    promo_propensity_report c;
    int rc = promo_report_propensity_train(s, &p, &c);
    promo_propensity_report *ev = NULL;
    size_t n = 0;
    T_OK(promo_report_propensity_read(s, &ev, &n));
    T_ASSERT_EQ_INT(n, rc == 0 ? 2 : 1);
    T_ASSERT_STR_EQ(ev[0].target, "any");
    promo_free(ev);
    promo_prop_scores *sc = NULL;
    T_OK(promo_propensity_score(s, "any", 0, &sc));
    T_ASSERT(sc->n > 200);
    promo_prop_scores_free(sc);
    promo_store_close(s);
}

/* Merged windows: the 30/90/365-day counts give one sentence from the shortest window with a
 * purchase, and the reason's feature is that window, not the group's strongest member. */
T_TEST(propensity_reason_names_the_window_it_quotes)
{
    static const char *const names[4] = {"item_orders_30d", "item_orders_90d", "item_orders_365d",
                                         "item_days_since"};
    const float values[4] = {0, 2, 9, 40}, contribs[4] = {0.1f, 0.2f, 1.0f, 0.3f};
    char *fn[4];
    promo_prop_explanation e;
    memset(&e, 0, sizeof e);
    snprintf(e.target, sizeof e.target, "product:P1");
    snprintf(e.target_name, sizeof e.target_name, "Bread");
    e.n_features = 4;
    for (int k = 0; k < 4; k++)
        fn[k] = (char *)names[k];
    e.feature_names = fn;
    e.values = (float *)values;
    e.contribs = (float *)contribs;
    promo_reason r[4];
    size_t n = 0;
    T_OK(promo_explain_reasons(&e, 4, r, &n));
    T_ASSERT_EQ_INT(n, 2);
    T_ASSERT_STR_EQ(r[0].text, "bought Bread 2 times in the last 90 days");
    T_ASSERT_STR_EQ(r[0].feature, "item_orders_90d");
    T_ASSERT_NEAR(r[0].contribution, 1.3, 1e-6); /* the group's members summed */
    T_ASSERT_STR_EQ(r[1].text, "last bought Bread 40 days ago");
    T_ASSERT_STR_EQ(r[1].feature, "item_days_since");
}

/* --scope category: the model learns from one category's products only, is saved under the
 * category's name, and scoring a product of that category picks it over the shared model; a
 * product of another category still finds the shared one, or says none exists. */
T_TEST(propensity_category_scope)
{
    const char *ws = world_copy();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_propensity_params p = small_params();
    p.baselines = 0;
    p.scope = PROMO_PROP_SCOPE_CATEGORY;
    p.target = "product:PROD00001";
    promo_propensity_report r;
    T_OK(promo_report_propensity_train(s, &p, &r));
    T_ASSERT_MSG(strstr(r.model_path, "propensity_product_") &&
                     !strstr(r.model_path, "propensity_product.json"),
                 "path %s", r.model_path);
    T_ASSERT(r.models[PROMO_PROP_XGBOOST].m.auc > 0.5);
    /* Fewer candidate products than the shared model's, so fewer training rows. */
    promo_propensity_params all = p;
    all.scope = PROMO_PROP_SCOPE_ALL;
    all.save = 0;
    promo_propensity_report ra;
    T_OK(promo_report_propensity_train(s, &all, &ra));
    T_ASSERT_MSG(r.n_train_rows < ra.n_train_rows, "%zu rows vs %zu", r.n_train_rows,
                 ra.n_train_rows);
    promo_prop_scores *sc = NULL;
    T_OK(promo_propensity_score(s, "product:PROD00001", 0, &sc));
    T_ASSERT(sc->n > 100);
    for (size_t i = 0; i < sc->n; i++)
        T_ASSERT(sc->probability[i] >= 0 && sc->probability[i] <= 1);
    promo_prop_scores_free(sc);
    /* Products of other categories have no model yet. */
    int other = 0;
    for (int k = 2; k <= 40 && !other; k++) {
        char t[64];
        snprintf(t, sizeof t, "product:PROD%05d", k);
        sc = NULL;
        int rc = promo_propensity_score(s, t, 0, &sc);
        if (rc == PROMO_ENOTFOUND) {
            other = 1;
            T_ASSERT_CONTAINS(promo_last_error(), "promo train");
        } else {
            T_OK(rc);
        }
        promo_prop_scores_free(sc);
    }
    T_ASSERT_MSG(other, "every product scored with the category model");
    promo_store_close(s);
}

T_TEST(propensity_errors)
{
    const char *ws = world_copy();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_propensity_params p = small_params();
    promo_propensity_report r;
    p.target = "product:NOPE";
    T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_ENOTFOUND);
    p.target = "brand:x";
    T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_EUSAGE);
    p.target = "any";
    p.horizon_days = 0;
    T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_EUSAGE);
    p.horizon_days = 30;
    p.as_of = (int64_t)4102444800; /* 2100-01-01: no test labels */
    T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "earlier --as-of");
    promo_prop_scores *sc = NULL;
    T_ASSERT_EQ_INT(promo_propensity_score(s, "any", 0, &sc), PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "promo train");
    T_ASSERT(sc == NULL);
    promo_propensity_report *ev = NULL;
    size_t n = 9;
    T_OK(promo_report_propensity_read(s, &ev, &n));
    T_ASSERT_EQ_INT(n, 0);
    promo_store_close(s);
}

/* The evaluations table is generic: another task's rows (uplift's Qini, say) survive a
 * propensity training, retraining a target replaces its rows, and a workspace evaluated
 * before the table existed (propensity_eval) is named as such and cleaned up by training. */
T_TEST(propensity_report_rows_other_tasks_and_old_workspaces)
{
    const char *ws = world_copy();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    t_world_write_old_eval(s);
    promo_propensity_report *ev = NULL;
    size_t n = 9;
    T_ASSERT_EQ_INT(promo_report_propensity_read(s, &ev, &n), PROMO_EVERSION);
    T_ASSERT_CONTAINS(promo_last_error(), "promo train");
    T_ASSERT(ev == NULL && n == 0);

    promo_report_rows *rows = NULL;
    T_OK(promo_report_rows_new(&rows));
    T_OK(promo_report_rows_add(rows, "uplift", "promo:P1", "t_learner", "qini", 0.125));
    T_OK(promo_report_rows_add_text(rows, "uplift", "promo:P1", "", "outcome", "converted"));
    T_OK(promo_report_write(s, rows));
    promo_report_rows_free(rows);
    T_OK(promo_report_propensity_read(s, &ev, &n));
    T_ASSERT_EQ_INT(n, 0);

    promo_propensity_params p = small_params();
    p.baselines = 0;
    p.target = "any";
    promo_propensity_report r;
    T_OK(promo_report_propensity_train(s, &p, &r));
    T_ASSERT(!promo_store_has_table(s, "propensity_eval"));
    promo_table *t = NULL;
    T_OK(promo_report_read(s, &t));
    size_t n_rows = t->n_rows;
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "task"), 0), "uplift");
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "metric"), 0), "qini");
    T_ASSERT_NEAR(promo_table_column(t, "value")->f64[0], 0.125, 0);
    T_ASSERT(promo_column_is_null(promo_table_column(t, "text"), 0));
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "text"), 1), "converted");
    T_ASSERT(promo_column_is_null(promo_table_column(t, "value"), 1));
    promo_table_free(t);
    T_OK(promo_report_propensity_train(s, &p, &r));
    T_OK(promo_report_read(s, &t));
    T_ASSERT_EQ_INT(t->n_rows, n_rows);
    promo_table_free(t);
    T_OK(promo_report_propensity_read(s, &ev, &n));
    T_ASSERT_EQ_INT(n, 1);
    T_ASSERT_STR_EQ(ev[0].target, "any");
    T_ASSERT(ev[0].models[PROMO_PROP_XGBOOST].fitted && !ev[0].models[PROMO_PROP_RFM].fitted);
    T_ASSERT_NEAR(ev[0].models[0].m.auc, r.models[0].m.auc, 0);
    T_ASSERT_NEAR(ev[0].models[0].m.ece, r.models[0].m.ece, 0);
    T_ASSERT_EQ_INT(ev[0].models[0].m.n, r.models[0].m.n);
    T_ASSERT_EQ_INT(ev[0].n_train_rows, r.n_train_rows);
    T_ASSERT_EQ_INT(ev[0].as_of, r.as_of);
    T_ASSERT_EQ_INT(ev[0].calibration, r.calibration);
    for (int b = 0; b < 10; b++) {
        T_ASSERT_EQ_INT(ev[0].reliability_count[b], r.reliability_count[b]);
        T_ASSERT(ev[0].reliability_count[b] == 0
                     ? isnan(ev[0].reliability_mean[b])
                     : ev[0].reliability_mean[b] == r.reliability_mean[b]);
    }
    promo_free(ev);
    promo_store_close(s);
}

/* Training is one unit: when the evaluation cannot be written (the write lock held by another
 * process, a damaged evaluations table, an allocation failing anywhere near the end), the
 * workspace is left byte for byte as it was: no new model beside the old evaluation, no new
 * chart, no temporary. */
T_TEST(propensity_train_commits_model_evaluation_and_charts_together)
{
    const char *ws = world_copy(), *ws2 = world_copy();
    promo_store *s = NULL;
    promo_propensity_params p = small_params();
    p.baselines = 0;
    p.plots = promo_plot_available();
    p.target = "product:PROD00001";
    promo_propensity_report r;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_report_propensity_train(s, &p, &r));
    promo_store_close(s);
    p.target = "any";

    /* Another process holds the write lock: training fails after fitting, changes nothing. */
    char db_path[600];
    snprintf(db_path, sizeof db_path, "%s/promo.db", ws);
    char *before = t_dir_digest(ws);
    sqlite3 *db = NULL;
    T_ASSERT_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_EDB);
    promo_store_close(s);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(after);

    /* A damaged evaluations table: reading the rows to keep fails inside the transaction. */
    T_OK(promo_store_open(ws, 0, &s));
    promo_table *bad = promo_table_new("evaluations");
    T_ASSERT(bad);
    T_OK(promo_table_add_column(bad, "task", PROMO_COL_STRING, NULL));
    T_OK(promo_column_push_str(bad->cols[0], "propensity", 10));
    T_OK(promo_table_seal(bad));
    T_OK(promo_store_write_table(s, bad));
    promo_table_free(bad);
    promo_store_close(s);
    free(before);
    before = t_dir_digest(ws);
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "evaluations");
    promo_propensity_report *ev = NULL;
    size_t n = 0;
    T_ASSERT_EQ_INT(promo_report_propensity_read(s, &ev, &n), PROMO_EINPUT);
    promo_store_close(s);
    after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);

    /* The model file cannot be written (models/ is not a directory here; as root, a
     * read-only directory would not stop us): the rows are not written either. */
    const char *ws4 = world_copy();
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -r '%s/models' && echo x > '%s/models'", ws4, ws4);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    before = t_dir_digest(ws4);
    T_OK(promo_store_open(ws4, 0, &s));
    T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_EIO);
    T_ASSERT(!promo_store_has_table(s, "evaluations"));
    promo_store_close(s);
    after = t_dir_digest(ws4);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);

    /* The charts cannot be written (out/ is not a directory): staging them fails inside the
     * transaction, so the model and the rows are not committed either. */
    if (p.plots) {
        const char *ws5 = world_copy();
        snprintf(cmd, sizeof cmd, "rm -r '%s/out' && echo x > '%s/out'", ws5, ws5);
        T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
        before = t_dir_digest(ws5);
        T_OK(promo_store_open(ws5, 0, &s));
        T_ASSERT_EQ_INT(promo_report_propensity_train(s, &p, &r), PROMO_EIO);
        T_ASSERT_CONTAINS(promo_last_error(), "/out/propensity_any_pr.png");
        promo_store_close(s);
        after = t_dir_digest(ws5);
        T_ASSERT_STR_EQ(before, after);
        free(before);
        free(after);
    }
    /* A successful run leaves no temporary beside its files. */
    snprintf(cmd, sizeof cmd, "ls -a '%s/models' '%s/out' | grep -c '[.]tmp-' || true", ws, ws);
    char *listing = NULL;
    T_ASSERT_EQ_INT(t_sh(cmd, &listing, NULL), 0);
    T_ASSERT_STR_EQ(listing, "0\n");
    free(listing);

    /* Allocation failures in the last steps (rows, table write, commit): count the
     * allocations of a successful run on a copy, then fail each of a few late ones. */
    const char *ws3 = world_copy();
    T_OK(promo_store_open(ws3, 0, &s));
    promo_alloc_fail_at(0);
    T_OK(promo_report_propensity_train(s, &p, &r));
    long total = promo_alloc_count();
    promo_store_close(s);
    static const long back[] = {1, 3, 10, 30, 100};
    int failed = 0;
    for (size_t k = 0; k < sizeof back / sizeof *back; k++) {
        before = t_dir_digest(ws2);
        T_OK(promo_store_open(ws2, 0, &s));
        promo_alloc_fail_at(total - back[k]);
        int rc = promo_report_propensity_train(s, &p, &r);
        promo_alloc_fail_at(0);
        promo_store_close(s);
        after = t_dir_digest(ws2);
        if (rc) {
            failed++;
            T_ASSERT_EQ_INT(rc, PROMO_ENOMEM);
            T_ASSERT_STR_EQ(before, after);
        }
        free(before);
        free(after);
        if (!rc)
            break; /* it committed: the next runs would start from another workspace */
    }
    T_ASSERT_MSG(failed > 0, "no injected failure hit the training");
}

T_TEST(propensity_cli)
{
    const char *ws = world_copy();
    char args[1200], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "train --ws '%s' --target product:PROD00003 --rounds 10 --windows 1 --no-baselines "
             "--no-plots --json",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"auc\":");
    T_ASSERT_CONTAINS(out, "\"precision_at_100\":");
    T_ASSERT_CONTAINS(out, "\"ndcg_at_500\":");
    free(out);
    free(err);
    snprintf(args, sizeof args, "evaluate --ws '%s'", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "base rate");
    T_ASSERT_CONTAINS(out, "xgboost");
    free(out);
    free(err);
    snprintf(args, sizeof args, "score --ws '%s' --target product:PROD00005 --out '%s/s.csv'", ws,
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    char path[600];
    snprintf(path, sizeof path, "%s/s.csv", ws);
    size_t n = 0;
    char *csv = t_read_file(path, &n);
    T_ASSERT(csv != NULL);
    T_ASSERT(strncmp(csv, "customer_id,probability\n", 24) == 0);
    free(csv);
    snprintf(args, sizeof args,
             "explain --ws '%s' --customer CUST0000001 --target product:PROD00005 --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"probability\":");
    T_ASSERT_CONTAINS(out, "\"reasons\":[");
    free(out);
    free(err);
    snprintf(args, sizeof args, "explain --ws '%s' --customer NOBODY --target any", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    free(out);
    free(err);
    /* Every numeric flag refuses what is not a number in its range, before touching the
     * workspace. */
    static const char *const bad[] = {
        "train --horizon zero",
        "train --horizon inf",
        "train --windows 0",
        "train --windows 2.5",
        "train --seed ''",
        "train --seed -1",
        "train --max-items ''",
        "train --rounds 1e9",
        "train --neg-per-pos nan",
        "train --threads -1",
        "explain --top 0",
        "explain --top 51",
        "features --as-of 2024-12-02 --half-life nan",
        "features --as-of 2024-12-02 --horizon 0",
    };
    char *before = t_dir_digest(ws);
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        const char *sp = strchr(bad[k], ' ');
        snprintf(args, sizeof args, "%.*s --ws '%s'%s", (int)(sp - bad[k]), bad[k], ws, sp);
        T_ASSERT_MSG(t_promo(args, &out, &err) == 2, "%s did not exit 2", bad[k]);
        T_ASSERT_MSG(err && strstr(err, "expected"), "%s: no usage message", bad[k]);
        free(out);
        free(err);
    }
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
    T_ASSERT_EQ_INT(t_promo("score --help", &out, &err), 0);
    T_ASSERT_CONTAINS(out, "customer_id, probability");
    free(out);
    free(err);
}

/* Every feature a propensity model can use (the layouts of all three kinds on a generated
 * world, whose customers have every optional table) has a sentence in plain words: no raw
 * name, no "name = value", no exponent, whatever its value (missing, zero, typical). */
T_TEST(propensity_every_feature_has_a_sentence)
{
    const char *ws = world_copy();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_panel d;
    T_OK(promo_panel_load(s, 1, &d));
    promo_panel_cut c;
    T_OK(promo_panel_cut_build(&d, promo_prop_scoring_cutoff(&d), &c));
    promo_prop_explanation e;
    memset(&e, 0, sizeof e);
    snprintf(e.target, sizeof e.target, "product:P1");
    snprintf(e.target_name, sizeof e.target_name, "Bread");
    snprintf(e.category_name, sizeof e.category_name, "Bakery");
    snprintf(e.currency, sizeof e.currency, "GBP");
    size_t n_checked = 0;
    for (int kind = 0; kind < 3; kind++) {
        promo_panel_layout l;
        T_OK(promo_panel_layout_make((promo_panel_kind)kind, c.f, &l));
        for (size_t j = 0; j < l.n; j++) {
            const float vals[4] = {NAN, 0.0f, 0.37f, 156000.0f};
            for (int k = 0; k < 4; k++) {
                char text[256];
                promo_explain_sentence(&e, l.names[j], vals[k], text, sizeof text);
                T_ASSERT_MSG(text[0] != 0, "%s: empty sentence", l.names[j]);
                T_ASSERT_MSG(!strstr(text, l.names[j]), "%s: raw name in \"%s\"", l.names[j], text);
                T_ASSERT_MSG(!strstr(text, " = ") && !strstr(text, "e+"), "%s: raw dump \"%s\"",
                             l.names[j], text);
                T_ASSERT_MSG(!strstr(text, "nan") && !strstr(text, "inf"), "%s: \"%s\"", l.names[j],
                             text);
                n_checked++;
            }
        }
        promo_panel_layout_free(&l);
    }
    T_ASSERT(n_checked > 400);
    promo_panel_cut_free(&c);
    promo_panel_free(&d);
    promo_store_close(s);
}

/* The sentences issue 12 found wrong, each now right. */
T_TEST(propensity_sentences_issue_12)
{
    promo_prop_explanation e;
    memset(&e, 0, sizeof e);
    snprintf(e.target, sizeof e.target, "product:85123A");
    snprintf(e.target_name, sizeof e.target_name, "WHITE HANGING HEART T-LIGHT HOLDER");
    snprintf(e.category_name, sizeof e.category_name, "candles_lights");
    snprintf(e.currency, sizeof e.currency, "GBP");
    char t[256];
    promo_explain_sentence(&e, "rfm_score", 9, t, sizeof t);
    T_ASSERT_CONTAINS(t, "9 of 15"); /* was "RFM score 9 of 5" */
    promo_explain_sentence(&e, "purchase_days", 43, t, sizeof t);
    T_ASSERT_STR_EQ(t, "has shopped on 43 different days");
    promo_explain_sentence(&e, "ipg_sd_days", 7.32f, t, sizeof t);
    T_ASSERT_STR_EQ(t, "the gap between their orders varies by about 7 days");
    promo_explain_sentence(&e, "spend_tier", 3, t, sizeof t);
    T_ASSERT_STR_EQ(t, "is in the top quarter (VIP) of customers by spend");
    promo_explain_sentence(&e, "cat_pop_90d", 156000, t, sizeof t);
    T_ASSERT_STR_EQ(t, "candles_lights was in 156,000 orders of all customers in the last 90 days");
    promo_explain_sentence(&e, "item_repeat_rate", NAN, t, sizeof t);
    T_ASSERT_STR_EQ(t, "WHITE HANGING HEART T-LIGHT HOLDER has no repeat buyers on record yet");
    promo_explain_sentence(&e, "clv_365d", 276806, t, sizeof t);
    T_ASSERT_STR_EQ(t, "is expected to spend \xc2\xa3"
                       "276,806 over the next year");
    promo_explain_sentence(&e, "item_buyers", 0, t, sizeof t);
    T_ASSERT_STR_EQ(t, "no customer had bought WHITE HANGING HEART T-LIGHT HOLDER before");
    promo_explain_sentence(&e, "item_expected_all", 0.0001f, t, sizeof t);
    T_ASSERT_STR_EQ(t, "their long-run shopping suggests buying WHITE HANGING HEART T-LIGHT "
                       "HOLDER less than once a year"); /* was "about 0.0 purchases" */
    promo_explain_sentence(&e, "item_price", 2.95f, t, sizeof t);
    T_ASSERT_STR_EQ(t, "WHITE HANGING HEART T-LIGHT HOLDER costs \xc2\xa3"
                       "2.95");
    /* What lowers the score is said too, strongest first, with negative contributions. */
    static const char *const names[3] = {"recency_days", "frequency", "item_orders_all"};
    const float values[3] = {200, 1, 0}, contribs[3] = {-0.8f, -0.2f, 0.4f};
    char *fn[3] = {(char *)names[0], (char *)names[1], (char *)names[2]};
    e.n_features = 3;
    e.feature_names = fn;
    e.values = (float *)values;
    e.contribs = (float *)contribs;
    promo_reason r[3];
    size_t n = 0;
    T_OK(promo_explain_lowering(&e, 3, r, &n));
    T_ASSERT_EQ_INT(n, 2);
    T_ASSERT_STR_EQ(r[0].text, "last shopped 7 months ago");
    T_ASSERT(r[0].contribution < r[1].contribution && r[1].contribution < 0);
    T_ASSERT_STR_EQ(r[1].text, "has placed 1 order");
    T_OK(promo_explain_reasons(&e, 3, r, &n));
    T_ASSERT_EQ_INT(n, 1);
    T_ASSERT_STR_EQ(r[0].text, "has never bought WHITE HANGING HEART T-LIGHT HOLDER");
}

/* One product model serves every product: a second target at the same cutoff reuses the
 * saved model (same file bytes, only its evaluation is new); several targets evaluate against
 * one training; the evaluation keeps the model's digest and evaluate says when the model on
 * disk changed since; score ranks, explains, ranks by a baseline and writes JSON. */
T_TEST(propensity_model_reused_across_targets)
{
    const char *ws = world_copy();
    char args[1400], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "train --ws '%s' --target product:PROD00003,product:PROD00004 --rounds 10 "
             "--windows 1 --no-plots --threads 1",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "target product:PROD00003");
    T_ASSERT_CONTAINS(out, "target product:PROD00004");
    T_ASSERT_CONTAINS(out, "popularity"); /* the heuristics cost nothing: always there */
    T_ASSERT(!strstr(out, "logreg"));     /* the learnt baselines only with --baselines */
    free(out);
    free(err);
    char model[700];
    snprintf(model, sizeof model, "%s/models/propensity_product.json", ws);
    char d1[17], d2[17];
    T_OK(promo_prop_file_digest(model, d1));
    snprintf(args, sizeof args,
             "train --ws '%s' --target product:PROD00005 --rounds 10 --windows 1 --no-plots "
             "--threads 1",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "reused");
    free(out);
    free(err);
    T_OK(promo_prop_file_digest(model, d2));
    T_ASSERT_STR_EQ(d1, d2);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_propensity_report *ev = NULL;
    size_t n = 0;
    T_OK(promo_report_propensity_read(s, &ev, &n));
    T_ASSERT_EQ_INT(n, 3);
    for (size_t k = 0; k < n; k++) {
        T_ASSERT_STR_EQ(ev[k].model_digest, d1);
        int stale = 1;
        T_OK(promo_report_propensity_stale(&ev[k], &stale));
        T_ASSERT_EQ_INT(stale, 0);
    }
    promo_free(ev);
    promo_store_close(s);
    /* Another cutoff retrains the one product model: the older evaluations now describe a
     * model that is no longer on disk, and evaluate says so. */
    snprintf(args, sizeof args,
             "train --ws '%s' --target product:PROD00005 --rounds 10 --windows 1 --no-plots "
             "--threads 1 --horizon 20",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT(!strstr(out, "reused"));
    free(out);
    free(err);
    snprintf(args, sizeof args, "evaluate --ws '%s' --target product:PROD00003", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "CHANGED since this evaluation");
    T_ASSERT_CONTAINS(out, "promo train --target product:PROD00003");
    free(out);
    free(err);
    snprintf(args, sizeof args, "evaluate --ws '%s' --target product:PROD00009", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "--target product:PROD00009");
    free(out);
    free(err);
    /* score: most likely first, with rank and reason; JSON; a baseline ranking. */
    snprintf(args, sizeof args, "score --ws '%s' --target product:PROD00005 --reasons", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT(strncmp(out, "customer_id,probability,rank,name,reason\n", 41) == 0);
    double prev = 2;
    size_t rows = 0;
    for (char *line = strchr(out, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char *c = strchr(line + 1, ',');
        T_ASSERT(c != NULL);
        double p = atof(c + 1);
        T_ASSERT(p <= prev);
        prev = p;
        rows++;
    }
    T_ASSERT(rows > 100);
    T_ASSERT_CONTAINS(out, ",1,");
    free(out);
    free(err);
    snprintf(args, sizeof args, "score --ws '%s' --target product:PROD00005 --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"rank\":1,");
    T_ASSERT_CONTAINS(out, "\"n_left_out\":");
    free(out);
    free(err);
    snprintf(args, sizeof args, "score --ws '%s' --target product:PROD00005 --baseline popularity",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT(strncmp(out, "customer_id,score\n", 18) == 0);
    free(out);
    free(err);
}

/* Unknown product, category and customer ids name the nearest known one (case, a typo). */
T_TEST(propensity_unknown_ids_suggest_the_nearest)
{
    const char *names[] = {"PROD00005", "PROD00050", "Bakery", NULL, "Dairy"};
    char out[64];
    promo_panel_nearest(names, 5, "prod00005", out, sizeof out);
    T_ASSERT_STR_EQ(out, "PROD00005");
    promo_panel_nearest(names, 5, "Bakry", out, sizeof out);
    T_ASSERT_STR_EQ(out, "Bakery");
    promo_panel_nearest(names, 5, "Meat", out, sizeof out);
    T_ASSERT_STR_EQ(out, "");
    const char *ws = world_copy();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_panel d;
    T_OK(promo_panel_load(s, 1, &d));
    promo_panel_target t;
    T_ASSERT_EQ_INT(promo_panel_target_parse(&d, "product:prod00005", &t), PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "did you mean 'PROD00005'?");
    T_ASSERT_EQ_INT(promo_panel_target_parse(&d, "category:bakery", &t), PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "did you mean 'Bakery'?");
    promo_panel_free(&d);
    promo_store_close(s);
}

/* The model file is a function of the data and the parameters: the same training on two
 * copies of a workspace writes the same bytes (no clock in it), so digests compare models and
 * a killed-and-rerun train is recognisable (bench/soak.sh). */
T_TEST(propensity_same_training_same_model_bytes)
{
    char ws[1024], cmd[4000];
    t_world_write(ws, sizeof ws, 200, 20, 4, 10, 6000);
    snprintf(cmd, sizeof cmd, "cp -a %s %s.copy", ws, ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "train --ws %s%s -q --no-baselines --rounds 20", ws,
                 k ? ".copy" : "");
        T_ASSERT_EQ_INT(t_promo(cmd, NULL, NULL), 0);
    }
    char a[1200], b[1300];
    snprintf(a, sizeof a, "%s/models/propensity_any.json", ws);
    snprintf(b, sizeof b, "%s.copy/models/propensity_any.json", ws);
    size_t na = 0, nb = 0;
    char *x = t_read_file(a, &na), *y = t_read_file(b, &nb);
    T_ASSERT(x && y);
    T_ASSERT_MSG(na == nb && !memcmp(x, y, na), "two identical trainings wrote different models");
    free(x);
    free(y);
}
