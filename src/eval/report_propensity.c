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
    const char *texts[5][2] = {{"calibration", promo_calib_kind_name(r->calibration)},
                               {"model_path", r->model_path},
                               {"plot_pr", r->plot_paths[0]},
                               {"plot_calibration", r->plot_paths[1]},
                               {"plot_lift", r->plot_paths[2]}};
    for (int j = 0; j < 5 && !rc; j++)
        rc = promo_report_rows_add_text(rows, TASK, tg, "", texts[j][0], texts[j][1]);
    for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT && !rc; mi++) {
        const promo_prop_model_eval *e = &r->models[mi];
        if (!e->fitted)
            continue;
        const char *model = promo_prop_model_name(mi);
        if ((rc = promo_report_rows_add_binary(rows, TASK, tg, model, &e->m)) ||
            (rc = promo_report_rows_add(rows, TASK, tg, model, "train_seconds", e->train_seconds)))
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
        }
        const char *tx = promo_column_is_null(text, i) ? NULL : promo_column_str(text, i);
        double v = promo_column_is_null(value, i) ? NAN : value->f64[i];
        set_figure(&r[k], mi, promo_column_str(metric, i), v, tx);
    }
    promo_table_free(t);
    if (n == 0) {
        promo_free(r);
        r = NULL;
    }
    *out = r;
    *n_out = n;
    return PROMO_OK;
}

/* ---------------------------------------------------------------- files ---- */

/* Files written to PATH.tmp-<pid> before the commit and renamed onto PATH after it. */
typedef struct pending {
    char **tmp, **dst;
    size_t n, cap;
} pending;

static int pending_add(pending *p, const char *dst, char **tmp_out)
{
    if (promo_grow((void **)&p->tmp, &p->cap, p->n + 1, sizeof *p->tmp))
        return PROMO_ENOMEM;
    size_t cap = p->cap;
    char **d = promo_reallocn(p->dst, cap, sizeof *d);
    if (!d)
        return PROMO_ENOMEM;
    p->dst = d;
    size_t len = strlen(dst) + 32;
    char *t = promo_malloc(len), *dd = promo_strdup(dst);
    if (!t || !dd) {
        promo_free(t);
        promo_free(dd);
        return PROMO_ENOMEM;
    }
    snprintf(t, len, "%s.tmp-%ld", dst, (long)getpid());
    p->tmp[p->n] = t;
    p->dst[p->n] = dd;
    p->n++;
    *tmp_out = t;
    return PROMO_OK;
}

/* Remove what was not published (unlink_tmp) and free. */
static void pending_free(pending *p, int unlink_tmp)
{
    for (size_t i = 0; i < p->n; i++) {
        if (unlink_tmp)
            unlink(p->tmp[i]);
        promo_free(p->tmp[i]);
        promo_free(p->dst[i]);
    }
    promo_free(p->tmp);
    promo_free(p->dst);
    memset(p, 0, sizeof *p);
}

static int io_fail(const char *path, const char *what)
{
    return promo_fail(PROMO_EIO, "%s: %s: %s", path, what, strerror(errno));
}

/* data into path (a temporary), fsynced; nothing left on failure. */
static int write_synced(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_fail(path, "cannot create");
    const char *b = data;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, b + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int rc = io_fail(path, "write failed");
            close(fd);
            unlink(path);
            return rc;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        int rc = io_fail(path, "fsync failed");
        close(fd);
        unlink(path);
        return rc;
    }
    if (close(fd) != 0) {
        int rc = io_fail(path, "write failed");
        unlink(path);
        return rc;
    }
    return PROMO_OK;
}

static void fsync_dir_of(const char *path)
{
    char dir[PROMO_PROP_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Rename every temporary onto its destination: after the commit, so only a rename (no space,
 * no new permission) is left to fail. */
static int pending_publish(pending *p)
{
    int rc = PROMO_OK;
    for (size_t i = 0; i < p->n; i++) {
        if (!rc && rename(p->tmp[i], p->dst[i]) != 0)
            rc = io_fail(p->dst[i], "cannot rename into place");
        else if (!rc)
            fsync_dir_of(p->dst[i]);
        if (rc)
            unlink(p->tmp[i]);
    }
    return rc;
}

/* ---------------------------------------------------------------- training ---- */

/* The three charts of target t into temporaries; a chart that fails is a warning and an
 * empty path, as a missing gnuplot is. */
static int
draw_plots(promo_store *s, const promo_prop_test *t, promo_propensity_report *r, pending *files)
{
    if (!promo_plot_available()) {
        promo_warn("propensity: gnuplot not found, no plots (install gnuplot-nox)");
        return PROMO_OK;
    }
    const double *prob = t->prob[PROMO_PROP_XGBOOST];
    char sl[200];
    promo_prop_slug(t->target, sl, sizeof sl);
    for (int i = 0; i < 3; i++) {
        char *tmp = NULL;
        snprintf(r->plot_paths[i], sizeof r->plot_paths[i], "%s/propensity_%s_%s.png",
                 promo_store_out_dir(s), sl, plot_names[i]);
        int rc = pending_add(files, r->plot_paths[i], &tmp);
        if (rc)
            return rc;
        rc = i == 0   ? promo_plot_pr_curve(prob, t->label, t->n, t->target, tmp)
             : i == 1 ? promo_plot_calibration(prob, t->label, t->n, t->target, tmp)
                      : promo_plot_lift(prob, t->label, t->n, t->target, tmp);
        if (rc) {
            promo_warn("propensity: plot %s: %s", r->plot_paths[i], promo_last_error());
            r->plot_paths[i][0] = 0;
            unlink(tmp);
            promo_free(tmp);
            promo_free(files->dst[--files->n]);
        }
    }
    return PROMO_OK;
}

int promo_report_propensity_train_multi(promo_store *s,
                                        const promo_propensity_params *p,
                                        const char *const *targets,
                                        size_t n_targets,
                                        promo_propensity_report *out)
{
    promo_prop_fit *f = NULL;
    promo_report_rows *rows = NULL;
    pending files = {0};
    int in_txn = 0;
    int rc = promo_propensity_fit(s, p, targets, n_targets, &f);
    if (rc)
        return rc;
    if ((rc = promo_report_propensity_evaluate(f, out)))
        goto fail;
    for (size_t k = 0; k < n_targets && p->plots; k++)
        if ((rc = draw_plots(s, &f->tests[k], &out[k], &files)))
            goto fail;
    if (p->save) {
        char *tmp = NULL;
        if ((rc = pending_add(&files, f->model_path, &tmp)) ||
            (rc = write_synced(tmp, f->model, f->model_size)))
            goto fail;
        for (size_t k = 0; k < n_targets; k++)
            snprintf(out[k].model_path, sizeof out[k].model_path, "%s", f->model_path);
        if ((rc = promo_report_rows_new(&rows)))
            goto fail;
        for (size_t k = 0; k < n_targets; k++)
            if ((rc = rows_add_report(rows, &out[k])))
                goto fail;
        if ((rc = promo_store_begin(s)))
            goto fail;
        in_txn = 1;
        if ((rc = promo_report_write(s, rows)) || (rc = promo_store_drop_table(s, OLD_TABLE)))
            goto fail;
        in_txn = 0;
        if ((rc = promo_store_commit(s)))
            goto fail;
    }
    rc = pending_publish(&files);
    pending_free(&files, 0);
    promo_report_rows_free(rows);
    promo_prop_fit_free(f);
    return rc;
fail:
    if (in_txn)
        promo_store_rollback(s);
    pending_free(&files, 1);
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
