/* The evaluation report's generic part: rows {task, target, model, metric} -> value or text,
 * and the table `evaluations` that holds them (layout and reasons in include/promo/report.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/report.h>
#include <promo/store.h>

/* Column order of the table; the first four are strings. */
enum { C_TASK, C_TARGET, C_MODEL, C_METRIC, C_VALUE, C_TEXT, N_COLS };
static const char *const col_names[N_COLS] = {"task", "target", "model", "metric", "value", "text"};
static const promo_col_type col_types[N_COLS] = {PROMO_COL_STRING,  PROMO_COL_STRING,
                                                 PROMO_COL_STRING,  PROMO_COL_STRING,
                                                 PROMO_COL_FLOAT64, PROMO_COL_STRING};

struct promo_report_rows {
    promo_table *t; /* unsealed while rows are added */
};

static promo_table *table_new(void)
{
    promo_table *t = promo_table_new(PROMO_REPORT_TABLE);
    for (int j = 0; t && j < N_COLS; j++)
        if (promo_table_add_column(t, col_names[j], col_types[j], NULL)) {
            promo_table_free(t);
            return NULL;
        }
    return t;
}

int promo_report_rows_new(promo_report_rows **out)
{
    promo_report_rows *r = promo_calloc(1, sizeof *r);
    if (!r || !(r->t = table_new())) {
        promo_free(r);
        *out = NULL;
        return PROMO_ENOMEM;
    }
    *out = r;
    return PROMO_OK;
}

void promo_report_rows_free(promo_report_rows *r)
{
    if (!r)
        return;
    promo_table_free(r->t);
    promo_free(r);
}

static int push_s(promo_column *c, const char *s)
{
    return promo_column_push_str(c, s, strlen(s));
}

/* One row; exactly one of value (text == NULL) and text is the figure. */
static int add_row(promo_table *t,
                   const char *task,
                   const char *target,
                   const char *model,
                   const char *metric,
                   double value,
                   const char *text)
{
    promo_column **c = t->cols;
    if (push_s(c[C_TASK], task) || push_s(c[C_TARGET], target) || push_s(c[C_MODEL], model) ||
        push_s(c[C_METRIC], metric) ||
        (text ? promo_column_push_null(c[C_VALUE]) : promo_column_push_f64(c[C_VALUE], value)) ||
        (text ? push_s(c[C_TEXT], text) : promo_column_push_null(c[C_TEXT])))
        return PROMO_ENOMEM;
    return PROMO_OK;
}

int promo_report_rows_add(promo_report_rows *r,
                          const char *task,
                          const char *target,
                          const char *model,
                          const char *metric,
                          double value)
{
    return add_row(r->t, task, target, model, metric, value, NULL);
}

int promo_report_rows_add_text(promo_report_rows *r,
                               const char *task,
                               const char *target,
                               const char *model,
                               const char *metric,
                               const char *text)
{
    return add_row(r->t, task, target, model, metric, 0.0, text ? text : "");
}

/* The binary metrics by name: one table for writing and reading them. */
typedef struct binary_field {
    char name[32];
    double *v;  /* a double field, or NULL */
    size_t *sz; /* a size_t field, or NULL */
} binary_field;

enum { N_BINARY = 9 + 3 * PROMO_METRICS_N_K };

static void binary_fields(promo_binary_metrics *m, binary_field *f)
{
    static const char *const plain[] = {"n",      "n_pos",    "base_rate", "auc",
                                        "pr_auc", "log_loss", "brier"};
    memset(f, 0, N_BINARY * sizeof *f);
    int k = 0;
    for (int j = 0; j < 7; j++)
        snprintf(f[k++].name, sizeof f->name, "%s", plain[j]);
    f[0].sz = &m->n;
    f[1].sz = &m->n_pos;
    f[2].v = &m->base_rate;
    f[3].v = &m->auc;
    f[4].v = &m->pr_auc;
    f[5].v = &m->log_loss;
    f[6].v = &m->brier;
    for (int j = 0; j < PROMO_METRICS_N_K; j++) {
        snprintf(f[k].name, sizeof f->name, "precision_at_%zu", promo_metrics_k[j]);
        f[k++].v = &m->precision_at[j];
    }
    for (int j = 0; j < PROMO_METRICS_N_K; j++) {
        snprintf(f[k].name, sizeof f->name, "recall_at_%zu", promo_metrics_k[j]);
        f[k++].v = &m->recall_at[j];
    }
    for (int j = 0; j < PROMO_METRICS_N_K; j++) {
        snprintf(f[k].name, sizeof f->name, "ndcg_at_%zu", promo_metrics_k[j]);
        f[k++].v = &m->ndcg_at[j];
    }
    snprintf(f[k].name, sizeof f->name, "lift_top_decile");
    f[k++].v = &m->lift_top_decile;
    snprintf(f[k].name, sizeof f->name, "ece");
    f[k++].v = &m->ece;
}

int promo_report_rows_add_binary(promo_report_rows *r,
                                 const char *task,
                                 const char *target,
                                 const char *model,
                                 const promo_binary_metrics *m)
{
    promo_binary_metrics copy = *m;
    binary_field f[N_BINARY];
    binary_fields(&copy, f);
    for (int k = 0; k < N_BINARY; k++) {
        double v = f[k].v ? *f[k].v : (double)*f[k].sz;
        int rc = add_row(r->t, task, target, model, f[k].name, v, NULL);
        if (rc)
            return rc;
    }
    return PROMO_OK;
}

int promo_report_binary_set(promo_binary_metrics *m, const char *metric, double value)
{
    binary_field f[N_BINARY];
    binary_fields(m, f);
    for (int k = 0; k < N_BINARY; k++)
        if (strcmp(f[k].name, metric) == 0) {
            if (f[k].v)
                *f[k].v = value;
            else
                *f[k].sz = (size_t)value;
            return 1;
        }
    return 0;
}

/* ---- the table ---- */

/* Check that t has the columns of an evaluations table. */
static int check_table(const promo_table *t)
{
    for (int j = 0; j < N_COLS; j++) {
        const promo_column *c = promo_table_column(t, col_names[j]);
        if (!c || c->type != col_types[j])
            return promo_fail(PROMO_EINPUT, "table %s: no %s column %s", PROMO_REPORT_TABLE,
                              promo_col_type_name(col_types[j]), col_names[j]);
    }
    return PROMO_OK;
}

int promo_report_read(promo_store *s, promo_table **out)
{
    *out = NULL;
    if (!promo_store_has_table(s, PROMO_REPORT_TABLE))
        return PROMO_OK;
    promo_table *t = NULL;
    int rc = promo_store_read_table(s, PROMO_REPORT_TABLE, &t);
    if (!rc && (rc = check_table(t)))
        promo_table_free(t);
    else if (!rc)
        *out = t;
    return rc;
}

/* Append row i of src (an evaluations table) to dst. */
static int copy_row(promo_table *dst, const promo_table *src, size_t i)
{
    const promo_column *c[N_COLS];
    for (int j = 0; j < N_COLS; j++)
        c[j] = promo_table_column(src, col_names[j]);
    const char *text = promo_column_is_null(c[C_TEXT], i) ? NULL : promo_column_str(c[C_TEXT], i);
    double v = promo_column_is_null(c[C_VALUE], i) ? NAN : c[C_VALUE]->f64[i];
    return add_row(dst, promo_column_str(c[C_TASK], i), promo_column_str(c[C_TARGET], i),
                   promo_column_str(c[C_MODEL], i), promo_column_str(c[C_METRIC], i), v, text);
}

/* 1 if (task, target) of row i of a occurs in b. */
static int same_run_in(const promo_table *a, size_t i, const promo_table *b)
{
    const promo_column *ta = promo_table_column(a, "task"), *ga = promo_table_column(a, "target");
    const promo_column *tb = b->cols[C_TASK], *gb = b->cols[C_TARGET];
    const char *task = promo_column_str(ta, i), *target = promo_column_str(ga, i);
    for (size_t j = 0; j < tb->n; j++)
        if (!strcmp(promo_column_str(tb, j), task) && !strcmp(promo_column_str(gb, j), target))
            return 1;
    return 0;
}

int promo_report_write(promo_store *s, const promo_report_rows *r)
{
    promo_table *old = NULL, *t = table_new();
    int rc = t ? promo_report_read(s, &old) : PROMO_ENOMEM;
    if (rc)
        goto done;
    for (size_t i = 0; old && i < old->n_rows && !rc; i++)
        if (!same_run_in(old, i, r->t))
            rc = copy_row(t, old, i);
    for (size_t i = 0; i < r->t->cols[0]->n && !rc; i++)
        rc = copy_row(t, r->t, i);
    if (!rc && !(rc = promo_table_seal(t)))
        rc = promo_store_write_table(s, t);
done:
    promo_table_free(old);
    promo_table_free(t);
    return rc;
}
