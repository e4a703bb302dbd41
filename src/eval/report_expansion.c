/* The evaluation report of expansion prediction: top-k accuracy of the model and its
 * baselines from promo_expansion_train's masked probabilities, the rows of `evaluations`, and
 * training committed as one unit (the model file staged in the same store transaction as the
 * rows). As report_propensity.c: the model layer may not call eval, so the train -> evaluate
 * -> commit sequence lives here.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/report.h>
#include <promo/store.h>

#define TASK   "expansion"
#define TARGET "category"

int promo_topk_accuracy(
    const float *prob, const uint32_t *label, size_t n, uint32_t n_classes, int k, double *out)
{
    *out = NAN;
    if (k < 1)
        return promo_fail(PROMO_EUSAGE, "top-k accuracy: k must be >= 1");
    if (n == 0)
        return PROMO_OK;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t y = label[i];
        if (y >= n_classes)
            return promo_fail(PROMO_EUSAGE, "top-k accuracy: label %u of row %zu out of range", y,
                              i);
        const float *p = prob + i * n_classes;
        /* The label's rank: classes strictly more probable, or as probable with a lower index. */
        uint32_t above = 0;
        for (uint32_t j = 0; j < n_classes; j++)
            above += p[j] > p[y] || (p[j] == p[y] && j < y);
        hits += above < (uint32_t)k;
    }
    *out = (double)hits / (double)n;
    return PROMO_OK;
}

int promo_report_expansion_evaluate(const promo_expansion_fit *f, promo_expansion_report *out)
{
    memset(out, 0, sizeof *out);
    out->as_of = f->as_of;
    out->valid_as_of = f->valid_as_of;
    out->first_train_as_of = f->first_train_as_of;
    out->horizon_days = f->horizon_days;
    out->n_train_windows = f->n_train_windows;
    out->n_train_rows = f->n_train_rows;
    out->n_valid_rows = f->n_valid_rows;
    out->n_test_rows = f->n_test;
    out->n_features = f->n_features;
    out->n_classes = f->n_classes;
    out->n_rounds = f->n_rounds;
    out->valid_mlogloss = f->valid_mlogloss;
    out->train_seconds = f->train_seconds;
    for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++)
        for (int k = 1; k <= PROMO_EXP_TOP_K; k++) {
            int rc = promo_topk_accuracy(f->prob[m], f->test_label, f->n_test, f->n_classes, k,
                                         &out->top_accuracy[m][k - 1]);
            if (rc)
                return rc;
        }
    return PROMO_OK;
}

/* The figures of the run (model ""), in table order. */
#define RUN_NUMS(X)                              \
    X("as_of", r->as_of)                         \
    X("valid_as_of", r->valid_as_of)             \
    X("first_train_as_of", r->first_train_as_of) \
    X("horizon_days", r->horizon_days)           \
    X("n_train_windows", r->n_train_windows)     \
    X("n_train_rows", r->n_train_rows)           \
    X("n_valid_rows", r->n_valid_rows)           \
    X("n_test_rows", r->n_test_rows)             \
    X("n_features", r->n_features)               \
    X("n_classes", r->n_classes)                 \
    X("n_rounds", r->n_rounds)                   \
    X("valid_mlogloss", r->valid_mlogloss)       \
    X("train_seconds", r->train_seconds)

static int rows_add_report(promo_report_rows *rows, const promo_expansion_report *r)
{
    int rc = PROMO_OK;
#define ADD(name, field) \
    if (!rc)             \
        rc = promo_report_rows_add(rows, TASK, TARGET, "", name, (double)(field));
    RUN_NUMS(ADD)
#undef ADD
    if (!rc)
        rc = promo_report_rows_add_text(rows, TASK, TARGET, "", "model_path", r->model_path);
    for (int m = 0; m < PROMO_EXP_MODEL_COUNT && !rc; m++) {
        const char *model = promo_exp_model_name(m);
        rc = promo_report_rows_add(rows, TASK, TARGET, model, "n", (double)r->n_test_rows);
        for (int k = 1; k <= PROMO_EXP_TOP_K && !rc; k++) {
            char name[32];
            snprintf(name, sizeof name, "top%d_accuracy", k);
            rc = promo_report_rows_add(rows, TASK, TARGET, model, name, r->top_accuracy[m][k - 1]);
        }
    }
    return rc;
}

int promo_report_expansion_read(promo_store *s, promo_expansion_report *out, int *found)
{
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
    promo_expansion_report *r = out;
    for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++)
        for (int k = 0; k < PROMO_EXP_TOP_K; k++)
            r->top_accuracy[m][k] = NAN;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(promo_column_str(task, i), TASK) != 0)
            continue;
        *found = 1;
        const char *mo = promo_column_str(model, i), *me = promo_column_str(metric, i);
        double v = promo_column_is_null(value, i) ? NAN : value->f64[i];
        if (!*mo) {
            if (!strcmp(me, "model_path") && !promo_column_is_null(text, i))
                snprintf(r->model_path, sizeof r->model_path, "%s", promo_column_str(text, i));
#define SET(name, field)   \
    if (!strcmp(me, name)) \
        field = (__typeof__(field))v;
            RUN_NUMS(SET)
#undef SET
            continue;
        }
        int k;
        char rest[8];
        for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++)
            if (!strcmp(mo, promo_exp_model_name(m)) &&
                sscanf(me, "top%d_accuracy%1s", &k, rest) == 1 && k >= 1 && k <= PROMO_EXP_TOP_K)
                r->top_accuracy[m][k - 1] = v;
    }
    promo_table_free(t);
    return PROMO_OK;
}

int promo_report_expansion_train(promo_store *s,
                                 const promo_expansion_params *p,
                                 promo_expansion_report *out)
{
    promo_expansion_fit *f = NULL;
    promo_report_rows *rows = NULL;
    int in_txn = 0;
    int rc = promo_expansion_train(s, p, &f);
    if (rc)
        return rc;
    if ((rc = promo_report_expansion_evaluate(f, out)))
        goto done;
    if (p->save) {
        snprintf(out->model_path, sizeof out->model_path, "%s", f->model_path);
        if ((rc = promo_report_rows_new(&rows)) || (rc = rows_add_report(rows, out)))
            goto done;
        if ((rc = promo_store_begin(s)))
            goto done;
        in_txn = 1;
        if ((rc = promo_store_stage_file(s, f->model_path, f->model, f->model_size)) ||
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
    promo_expansion_fit_free(f);
    return rc;
}
