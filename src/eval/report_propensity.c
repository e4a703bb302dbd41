/* The evaluation report of propensity: figures from promo_propensity_fit's scores, the three
 * charts, the rows of `evaluations`, and training committed as one unit (report.h says how).
 *
 * Why here and not in the CLI or the model: the CLI parses and prints (DESIGN.md), and a model
 * may not call eval; eval may read anything, so the train -> evaluate -> commit sequence that
 * needs both the model and the report lives in the report.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/plot.h>
#include <promo/report.h>
#include <promo/store.h>

#define TASK      "propensity"
#define OLD_TABLE "propensity_eval" /* the wide table of workspaces before `evaluations` */
#define N_BINS    10

static const char *const plot_names[3] = {"pr", "calibration", "lift"};

/* ---------------------------------------------------------------- figures ---- */

int promo_report_propensity_evaluate(const promo_prop_fit *f, promo_propensity_report *out)
{
    memset(out, 0, f->n_tests * sizeof *out);
    for (size_t k = 0; k < f->n_tests; k++) {
        const promo_prop_test *t = &f->tests[k];
        promo_propensity_report *r = &out[k];
        snprintf(r->target, sizeof r->target, "%s", t->target);
        r->as_of = f->as_of;
        r->valid_as_of = f->valid_as_of;
        r->first_train_as_of = f->first_train_as_of;
        r->horizon_days = f->horizon_days;
        r->n_train_windows = f->n_train_windows;
        r->n_train_rows = f->n_train_rows;
        r->n_train_pos = f->n_train_pos;
        r->n_valid_rows = f->n_valid_rows;
        r->n_features = f->n_features;
        r->n_rounds = f->n_rounds;
        r->calibration = f->calibration;
        r->valid_logloss = f->valid_logloss;
        snprintf(r->model_digest, sizeof r->model_digest, "%s", f->model_digest);
        r->model_reused = f->reused;
        for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++)
            r->valid_auc[mi] = f->valid_auc[mi];
        for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++) {
            if (!t->prob[mi])
                continue;
            int rc = promo_metrics_binary(t->prob[mi], t->label, t->n, &r->models[mi].m);
            if (rc)
                return rc;
            r->models[mi].fitted = 1;
            r->models[mi].train_seconds = f->train_seconds[mi];
        }
        if (t->prob[PROMO_PROP_XGBOOST])
            promo_reliability(t->prob[PROMO_PROP_XGBOOST], t->label, t->n, N_BINS,
                              r->reliability_mean, r->reliability_frac, r->reliability_count, NULL);
    }
    return PROMO_OK;
}

/* ---------------------------------------------------------------- rows ---- */

/* The figures of the run (model ""), numeric, in table order. */
#define RUN_NUMS(X)                                       \
    X("as_of", r->as_of, int64_t)                         \
    X("valid_as_of", r->valid_as_of, int64_t)             \
    X("first_train_as_of", r->first_train_as_of, int64_t) \
    X("horizon_days", r->horizon_days, double)            \
    X("n_train_windows", r->n_train_windows, int)         \
    X("n_train_rows", r->n_train_rows, size_t)            \
    X("n_train_pos", r->n_train_pos, size_t)              \
    X("n_valid_rows", r->n_valid_rows, size_t)            \
    X("n_features", r->n_features, size_t)                \
    X("n_rounds", r->n_rounds, int)                       \
    X("valid_logloss", r->valid_logloss, double)

static int rows_add_report(promo_report_rows *rows, const promo_propensity_report *r)
{
    const char *tg = r->target;
    int rc = PROMO_OK;
#define ADD(name, field, type) \
    if (!rc)                   \
        rc = promo_report_rows_add(rows, TASK, tg, "", name, (double)(field));
    RUN_NUMS(ADD)
#undef ADD
    const char *texts[6][2] = {{"calibration", promo_calib_kind_name(r->calibration)},
                               {"model_path", r->model_path},
                               {"plot_pr", r->plot_paths[0]},
                               {"plot_calibration", r->plot_paths[1]},
                               {"plot_lift", r->plot_paths[2]},
                               {"model_digest", r->model_digest}};
    for (int j = 0; j < 6 && !rc; j++)
        rc = promo_report_rows_add_text(rows, TASK, tg, "", texts[j][0], texts[j][1]);
    for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT && !rc; mi++) {
        const promo_prop_model_eval *e = &r->models[mi];
        if (!e->fitted)
            continue;
        const char *model = promo_prop_model_name(mi);
        if ((rc = promo_report_rows_add_binary(rows, TASK, tg, model, &e->m)) ||
            (rc = promo_report_rows_add(rows, TASK, tg, model, "train_seconds", e->train_seconds)))
            break;
        if (isfinite(r->valid_auc[mi]) &&
            (rc = promo_report_rows_add(rows, TASK, tg, model, "valid_auc", r->valid_auc[mi])))
            break;
        for (int b = 0; b < N_BINS && mi == PROMO_PROP_XGBOOST && !rc; b++) {
            char name[3][32];
            snprintf(name[0], sizeof name[0], "reliability_mean_%d", b);
            snprintf(name[1], sizeof name[1], "reliability_frac_%d", b);
            snprintf(name[2], sizeof name[2], "reliability_count_%d", b);
            if (!(rc = promo_report_rows_add(rows, TASK, tg, model, name[0],
                                             r->reliability_mean[b])) &&
                !(rc = promo_report_rows_add(rows, TASK, tg, model, name[1],
                                             r->reliability_frac[b])))
                rc = promo_report_rows_add(rows, TASK, tg, model, name[2],
                                           (double)r->reliability_count[b]);
        }
    }
    return rc;
}

/* Set the figure `metric` of model mi (-1: the run) of r. Unknown names are skipped: a newer
 * promo may store figures this one does not print. */
static void
set_figure(promo_propensity_report *r, int mi, const char *metric, double v, const char *text)
{
    if (mi < 0) {
#define SET(name, field, type)          \
    if (!text && !strcmp(metric, name)) \
        field = (type)v;
        RUN_NUMS(SET)
#undef SET
        if (!text)
            return;
        if (!strcmp(metric, "calibration")) {
            int ck = promo_calib_kind_parse(text);
            r->calibration = ck < 0 ? PROMO_CALIB_NONE : (promo_calib_kind)ck;
        } else if (!strcmp(metric, "model_path")) {
            snprintf(r->model_path, sizeof r->model_path, "%s", text);
        } else if (!strcmp(metric, "model_digest")) {
            snprintf(r->model_digest, sizeof r->model_digest, "%s", text);
        } else {
            for (int p = 0; p < 3; p++) {
                char key[32];
                snprintf(key, sizeof key, "plot_%s", plot_names[p]);
                if (!strcmp(metric, key))
                    snprintf(r->plot_paths[p], sizeof r->plot_paths[p], "%s", text);
            }
        }
        return;
    }
    if (text)
        return;
    promo_prop_model_eval *e = &r->models[mi];
    e->fitted = 1;
    if (!strcmp(metric, "train_seconds")) {
        e->train_seconds = v;
        return;
    }
    if (!strcmp(metric, "valid_auc")) {
        r->valid_auc[mi] = v;
        return;
    }
    if (promo_report_binary_set(&e->m, metric, v) || mi != PROMO_PROP_XGBOOST)
        return;
    int b;
    char rest[32];
    if (sscanf(metric, "reliability_mean_%d%1s", &b, rest) == 1 && b >= 0 && b < N_BINS)
        r->reliability_mean[b] = v;
    else if (sscanf(metric, "reliability_frac_%d%1s", &b, rest) == 1 && b >= 0 && b < N_BINS)
        r->reliability_frac[b] = v;
    else if (sscanf(metric, "reliability_count_%d%1s", &b, rest) == 1 && b >= 0 && b < N_BINS)
        r->reliability_count[b] = (size_t)v;
}

/* A path recorded by training is as its command was given it (relative to that command's
 * directory, and the workspace may have moved since): the file of that name in this
 * workspace's directory `dir` is the one meant. */
static void rebase(char *path, size_t n, const char *dir)
{
    if (!path[0])
        return;
    const char *slash = strrchr(path, '/');
    char base[PROMO_PROP_PATH_MAX];
    snprintf(base, sizeof base, "%s", slash ? slash + 1 : path);
    if ((size_t)snprintf(path, n, "%s/%s", dir, base) >= n)
        path[0] = 0; /* too long to name: treated as absent */
}

int promo_report_propensity_read(promo_store *s, promo_propensity_report **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    promo_table *t = NULL;
    int rc = promo_report_read(s, &t);
    if (rc)
        return rc;
    if (!t) {
        if (promo_store_has_table(s, OLD_TABLE))
            return promo_fail(PROMO_EVERSION,
                              "workspace %s holds its propensity evaluations in an older "
                              "format (table %s): run `promo train --ws %s` again",
                              promo_store_ws_dir(s), OLD_TABLE, promo_store_ws_dir(s));
        return PROMO_OK;
    }
    const promo_column *task = promo_table_column(t, "task"), *tg = promo_table_column(t, "target"),
                       *model = promo_table_column(t, "model"),
                       *metric = promo_table_column(t, "metric"),
                       *value = promo_table_column(t, "value"),
                       *text = promo_table_column(t, "text");
    promo_propensity_report *r = promo_calloc(t->n_rows ? t->n_rows : 1, sizeof *r);
    if (!r) {
        promo_table_free(t);
        return PROMO_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(promo_column_str(task, i), TASK) != 0)
            continue;
        const char *target = promo_column_str(tg, i), *m = promo_column_str(model, i);
        int mi = -2;
        if (!*m)
            mi = -1;
        for (int j = 0; j < PROMO_PROP_MODEL_COUNT && mi == -2; j++)
            if (!strcmp(m, promo_prop_model_name(j)))
                mi = j;
        if (mi == -2)
            continue;
        size_t k = 0;
        while (k < n && strcmp(r[k].target, target) != 0)
            k++;
        if (k == n) {
            n++;
            snprintf(r[k].target, sizeof r[k].target, "%s", target);
            for (int b = 0; b < N_BINS; b++)
                r[k].reliability_mean[b] = r[k].reliability_frac[b] = NAN;
            for (int j = 0; j < PROMO_PROP_MODEL_COUNT; j++)
                r[k].valid_auc[j] = NAN;
        }
        const char *tx = promo_column_is_null(text, i) ? NULL : promo_column_str(text, i);
        double v = promo_column_is_null(value, i) ? NAN : value->f64[i];
        set_figure(&r[k], mi, promo_column_str(metric, i), v, tx);
    }
    promo_table_free(t);
    for (size_t k = 0; k < n; k++) {
        rebase(r[k].model_path, sizeof r[k].model_path, promo_store_models_dir(s));
        for (int p = 0; p < 3; p++)
            rebase(r[k].plot_paths[p], sizeof r[k].plot_paths[p], promo_store_out_dir(s));
    }
    if (n == 0) {
        promo_free(r);
        r = NULL;
    }
    *out = r;
    *n_out = n;
    return PROMO_OK;
}

int promo_report_propensity_stale(const promo_propensity_report *r, int *stale)
{
    *stale = 0;
    if (!r->model_path[0] || !r->model_digest[0])
        return PROMO_OK;
    char now[17];
    int rc = promo_prop_file_digest(r->model_path, now);
    if (rc == PROMO_ENOTFOUND) {
        promo_clear_error();
        *stale = 1;
        return PROMO_OK;
    }
    if (rc)
        return rc;
    *stale = strcmp(now, r->model_digest) != 0;
    return PROMO_OK;
}

/* ---------------------------------------------------------------- files ---- */

/* The whole file at path into *data (promo_free), *n bytes. */
static int read_whole(const char *path, char **data /* OUT */, size_t *n /* OUT */)
{
    *data = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int rc = promo_fail(PROMO_EIO, "%s: cannot read: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    size_t cap = (size_t)st.st_size, len = 0;
    char *b = promo_malloc(cap ? cap : 1);
    int rc = b ? PROMO_OK : PROMO_ENOMEM;
    while (!rc && len < cap) {
        ssize_t k = read(fd, b + len, cap - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            rc = promo_fail(PROMO_EIO, "%s: cannot read: %s", path,
                            k ? strerror(errno) : "file shrank");
        else
            len += (size_t)k;
    }
    close(fd);
    if (rc) {
        promo_free(b);
        return rc;
    }
    *data = b;
    *n = len;
    return PROMO_OK;
}

/* ---------------------------------------------------------------- training ---- */

/* Chart i of target t, drawn by gnuplot into a scratch file and staged at r->plot_paths[i]
 * (promo_store_stage_file: a temporary in out/, renamed at the commit). gnuplot only writes to
 * a path, and the store owns every temporary inside the workspace (names, fsync, rename,
 * removal on rollback and after a kill); one chart in memory at a time. A chart gnuplot
 * cannot draw is a warning and an empty path, as a missing gnuplot is; a chart that cannot
 * be staged is an error (the workspace itself cannot be written). */
static int stage_plot(promo_store *s, const promo_prop_test *t, int i, promo_propensity_report *r)
{
    char scratch[] = "/tmp/promo-chart-XXXXXX";
    int fd = mkstemp(scratch);
    if (fd < 0)
        return promo_fail(PROMO_EIO, "plot: cannot create a temporary file: %s", strerror(errno));
    close(fd);
    const double *prob = t->prob[PROMO_PROP_XGBOOST];
    /* The title a marketer reads: the product's name (its id after it), customers and
     * buyers in the test window. */
    size_t pos = 0;
    for (size_t j = 0; j < t->n; j++)
        pos += t->label[j];
    char title[600];
    if (t->target_name[0])
        snprintf(title, sizeof title, "%s (%s)\n%zu customers, %zu buyers in the test window",
                 t->target_name, t->target, t->n, pos);
    else
        snprintf(title, sizeof title, "%s\n%zu customers, %zu buyers in the test window",
                 strcmp(t->target, "any") ? t->target : "any purchase", t->n, pos);
    const double *sc[PROMO_PROP_MODEL_COUNT];
    const char *nm[PROMO_PROP_MODEL_COUNT];
    for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++) {
        sc[mi] = t->prob[mi];
        nm[mi] = mi == PROMO_PROP_XGBOOST ? "model (xgboost)" : promo_prop_model_name(mi);
    }
    int rc = i == 0 ? promo_plot_pr_curve(prob, t->label, t->n, title, scratch)
             : i == 1
                 ? promo_plot_calibration(prob, t->label, t->n, title, scratch)
                 : promo_plot_gains(sc, nm, PROMO_PROP_MODEL_COUNT, t->label, t->n, title, scratch);
    char *png = NULL;
    size_t n = 0;
    if (rc) {
        promo_warn("propensity: plot %s: %s", r->plot_paths[i], promo_last_error());
        r->plot_paths[i][0] = 0;
        rc = PROMO_OK;
    } else if (!(rc = read_whole(scratch, &png, &n))) {
        rc = promo_store_stage_file(s, r->plot_paths[i], png, n);
    }
    unlink(scratch);
    promo_free(png);
    return rc;
}

/* The three charts of target t. */
static int stage_plots(promo_store *s, const promo_prop_test *t, promo_propensity_report *r)
{
    if (!promo_plot_available()) {
        promo_warn("propensity: gnuplot not found, no plots (install gnuplot-nox)");
        return PROMO_OK;
    }
    char sl[200];
    promo_prop_slug(t->target, sl, sizeof sl);
    int rc = PROMO_OK;
    for (int i = 0; i < 3 && !rc; i++) {
        snprintf(r->plot_paths[i], sizeof r->plot_paths[i], "%s/propensity_%s_%s.png",
                 promo_store_out_dir(s), sl, plot_names[i]);
        rc = stage_plot(s, t, i, r);
    }
    return rc;
}

int promo_report_propensity_train_multi(promo_store *s,
                                        const promo_propensity_params *p,
                                        const char *const *targets,
                                        size_t n_targets,
                                        promo_propensity_report *out)
{
    promo_prop_fit *f = NULL;
    promo_report_rows *rows = NULL;
    int in_txn = 0;
    int rc = promo_propensity_fit(s, p, targets, n_targets, &f);
    if (rc)
        return rc;
    if ((rc = promo_report_propensity_evaluate(f, out)))
        goto fail;
    /* One transaction: charts and model staged (written beside their final names), rows
     * written, then one commit publishes them all (store.h, promo_store_stage_file). Without
     * save, the charts alone are written at once. */
    if (p->save) {
        if ((rc = promo_store_begin(s)))
            goto fail;
        in_txn = 1;
    }
    for (size_t k = 0; k < n_targets && p->plots; k++)
        if ((rc = stage_plots(s, &f->tests[k], &out[k])))
            goto fail;
    if (p->save) {
        if (f->model && (rc = promo_store_stage_file(s, f->model_path, f->model, f->model_size)))
            goto fail;
        for (size_t k = 0; k < n_targets; k++)
            snprintf(out[k].model_path, sizeof out[k].model_path, "%s", f->model_path);
        if ((rc = promo_report_rows_new(&rows)))
            goto fail;
        for (size_t k = 0; k < n_targets; k++)
            if ((rc = rows_add_report(rows, &out[k])))
                goto fail;
        if ((rc = promo_report_write(s, rows)) || (rc = promo_store_drop_table(s, OLD_TABLE)))
            goto fail;
        in_txn = 0;
        if ((rc = promo_store_commit(s)))
            goto fail;
    }
    promo_report_rows_free(rows);
    promo_prop_fit_free(f);
    return PROMO_OK;
fail:
    if (in_txn)
        promo_store_rollback(s);
    promo_report_rows_free(rows);
    promo_prop_fit_free(f);
    return rc;
}

int promo_report_propensity_train(promo_store *s,
                                  const promo_propensity_params *p,
                                  promo_propensity_report *out)
{
    const char *t = p->target ? p->target : "any";
    return promo_report_propensity_train_multi(s, p, &t, 1, out);
}
