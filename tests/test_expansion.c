/* Expansion prediction (next new category): rows checked against the raw transactions
 * (leakage-free labels), masked probabilities, thread-count independence, the model against
 * the majority baseline on the default world, errors leaving the workspace unchanged, the CLI,
 * and the online-retail profile's derived categories. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/expansion.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/report.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/timeutil.h>

#include "t.h"

static char g_ws[512];

/* A small world: 8 categories, 10 months (enough windows of 30 days). */
static const char *small_world(void)
{
    if (g_ws[0])
        return g_ws;
    promo_log_set_level(PROMO_LOG_ERROR);
    snprintf(g_ws, sizeof g_ws, "%s/ws", t_tmpdir());
    promo_synth_params p = promo_synth_params_default();
    p.n_customers = 400;
    p.n_products = 60;
    p.n_categories = 8;
    p.n_stores = 3;
    p.n_promotions = 10;
    p.n_transactions = 15000;
    p.n_months = 10;
    p.with_events = 0;
    p.seed = 1;
    promo_synth_tables t;
    T_OK(promo_synth_generate(&p, NULL, &t));
    promo_store *s = NULL;
    T_OK(promo_store_open(g_ws, 1, &s));
    T_OK(promo_synth_write(s, &t, &p));
    promo_store_close(s);
    promo_synth_tables_free(&t);
    return g_ws;
}

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

static promo_expansion_params small_params(void)
{
    promo_expansion_params p = promo_expansion_params_default();
    p.n_train_windows = 3;
    p.gbdt.n_rounds = 60;
    p.save = 0;
    p.n_threads = 1;
    return p;
}

/* Every row's label, checked against the raw lines (not the panel's index): bought in
 * [T, T + H), never before T, no other new category bought earlier in the window; the
 * customer bought something before T; the counts are the orders before T. */
T_TEST(expansion_rows_leakage_free)
{
    const char *ws = small_world();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_panel d;
    T_OK(promo_panel_load(s, 1, &d));
    int64_t T = 0;
    T_OK(promo_time_parse("2024-03-01", 10, PROMO_DATE_ISO, &T));
    const int64_t H = 30 * PROMO_PANEL_DAY;
    promo_panel_cut c;
    T_OK(promo_panel_cut_build(&d, T, &c));
    promo_expansion_rows r;
    T_OK(promo_expansion_rows_build(&d, &c, 30, &r));
    T_ASSERT_MSG(r.n > 20, "%zu rows", r.n);
    T_ASSERT_EQ_INT(r.n_classes, d.n_cats);

    const promo_table *tx = d.transactions, *pr = d.products;
    const promo_column *cust = promo_table_column(tx, "customer_id"),
                       *prod = promo_table_column(tx, "product_id"),
                       *ts = promo_table_column(tx, "ts"), *q = promo_table_column(tx, "quantity"),
                       *order = promo_table_column(tx, "order_id"),
                       *pid = promo_table_column(pr, "product_id"),
                       *pcat = promo_table_column(pr, "category");
    /* Category name of each transaction line (NULL: not a purchase line). */
    const char **line_cat = calloc(tx->n_rows, sizeof *line_cat);
    T_ASSERT(line_cat);
    for (size_t i = 0; i < tx->n_rows; i++) {
        if (promo_column_is_null(ts, i) || !(q->f64[i] > 0))
            continue;
        const char *p = promo_column_str(prod, i);
        for (size_t k = 0; k < pr->n_rows; k++)
            if (!strcmp(promo_column_str(pid, k), p))
                line_cat[i] = promo_column_str(pcat, k);
    }
    size_t n_multi_order = 0;
    for (size_t k = 0; k < r.n; k++) {
        const char *id = promo_features_customer_id(c.f, r.cust[k]);
        const char *label = d.cat_names[r.label[k]];
        int64_t first_label = INT64_MAX, first_other_new = INT64_MAX;
        int before_any = 0;
        /* distinct orders per category before T, counted from the lines */
        double *orders = calloc(d.n_cats, sizeof *orders);
        char **seen = calloc(tx->n_rows, sizeof *seen);
        size_t n_seen = 0;
        for (size_t i = 0; i < tx->n_rows; i++) {
            if (!line_cat[i] || promo_column_is_null(cust, i) ||
                strcmp(promo_column_str(cust, i), id) != 0)
                continue;
            int64_t t = ts->i64[i];
            if (t < T) {
                before_any = 1;
                T_ASSERT_MSG(strcmp(line_cat[i], label) != 0,
                             "customer %s bought the label %s before the cutoff", id, label);
                char key[600];
                snprintf(key, sizeof key, "%s|%s", line_cat[i], promo_column_str(order, i));
                size_t j = 0;
                while (j < n_seen && strcmp(seen[j], key) != 0)
                    j++;
                if (j == n_seen) {
                    seen[n_seen++] = strdup(key);
                    for (uint32_t cc = 0; cc < d.n_cats; cc++)
                        if (!strcmp(d.cat_names[cc], line_cat[i]))
                            orders[cc] += 1;
                }
            } else if (t < T + H) {
                if (!strcmp(line_cat[i], label) && t < first_label)
                    first_label = t;
            }
        }
        /* Other categories new in the window (never before T) start no earlier. */
        for (size_t i = 0; i < tx->n_rows; i++) {
            if (!line_cat[i] || promo_column_is_null(cust, i) ||
                strcmp(promo_column_str(cust, i), id) != 0 || !strcmp(line_cat[i], label))
                continue;
            int64_t t = ts->i64[i];
            uint32_t cc = 0;
            while (cc < d.n_cats && strcmp(d.cat_names[cc], line_cat[i]) != 0)
                cc++;
            if (t >= T && t < T + H && orders[cc] == 0 && t < first_other_new)
                first_other_new = t;
        }
        T_ASSERT_MSG(before_any, "customer %s has no purchase before the cutoff", id);
        T_ASSERT_MSG(first_label < T + H, "label %s of %s not bought in the window", label, id);
        T_ASSERT(first_label <= first_other_new);
        for (uint32_t cc = 0; cc < d.n_cats; cc++)
            T_ASSERT_NEAR(r.orders[k * d.n_cats + cc], orders[cc], 0);
        T_ASSERT(r.orders[k * d.n_cats + r.label[k]] == 0);
        T_ASSERT(r.orders[k * d.n_cats + r.last[k]] > 0);
        n_multi_order += n_seen > 1;
        for (size_t j = 0; j < n_seen; j++)
            free(seen[j]);
        free(seen);
        free(orders);
    }
    T_ASSERT(n_multi_order > 0);
    free(line_cat);
    promo_expansion_rows_free(&r);
    promo_panel_cut_free(&c);
    promo_panel_free(&d);
    promo_store_close(s);
}

T_TEST(expansion_mask_renormalises)
{
    float orders[2 * 4] = {1, 0, 0, 2, 0, 0, 0, 0};
    float p[2 * 4] = {0.4f, 0.1f, 0.3f, 0.2f, 0.25f, 0.25f, 0.25f, 0.25f};
    promo_expansion_mask(orders, 2, 4, p);
    T_ASSERT(p[0] == 0 && p[3] == 0);
    T_ASSERT_NEAR(p[1], 0.25, 1e-6);
    T_ASSERT_NEAR(p[2], 0.75, 1e-6);
    T_ASSERT_NEAR(p[4] + p[5] + p[6] + p[7], 1.0, 1e-6);
    /* zero mass left: uniform over what is open */
    float o2[3] = {1, 0, 0}, p2[3] = {1, 0, 0};
    promo_expansion_mask(o2, 1, 3, p2);
    T_ASSERT(p2[0] == 0 && p2[1] == 0.5f && p2[2] == 0.5f);
    double acc = 0;
    float pk[2 * 3] = {0.5f, 0.3f, 0.2f, 0.2f, 0.2f, 0.6f};
    uint32_t y[2] = {1, 1};
    T_OK(promo_topk_accuracy(pk, y, 2, 3, 1, &acc));
    T_ASSERT_NEAR(acc, 0.0, 0);
    T_OK(promo_topk_accuracy(pk, y, 2, 3, 2, &acc));
    T_ASSERT_NEAR(acc, 0.5, 0); /* row 2: 0.6, then the tie 0.2 / 0.2 goes to index 0 */
    T_OK(promo_topk_accuracy(pk, y, 2, 3, 3, &acc));
    T_ASSERT_NEAR(acc, 1.0, 0);
    T_ASSERT_EQ_INT(promo_topk_accuracy(pk, y, 2, 3, 0, &acc), PROMO_EUSAGE);
}

/* Every model's test probabilities: 0 on what the customer bought, summing to 1 over the
 * rest; the label is never masked; 1 and 2 threads give the same bits. */
T_TEST(expansion_masked_probabilities_and_threads)
{
    const char *ws = small_world();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_expansion_params p = small_params();
    promo_expansion_fit *f1 = NULL, *f2 = NULL;
    T_OK(promo_expansion_train(s, &p, &f1));
    p.n_threads = 2;
    T_OK(promo_expansion_train(s, &p, &f2));
    promo_store_close(s);
    T_ASSERT(f1->n_test > 10 && f1->n_train_rows > f1->n_test);
    T_ASSERT_EQ_INT(f1->n_classes, 8);
    T_ASSERT(f1->n_rounds >= 1);
    uint32_t K = f1->n_classes;
    for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++) {
        for (size_t i = 0; i < f1->n_test; i++) {
            const float *pr = f1->prob[m] + i * K, *o = f1->test_orders + i * K;
            double sum = 0;
            for (uint32_t j = 0; j < K; j++) {
                if (o[j] > 0)
                    T_ASSERT_MSG(pr[j] == 0, "%s row %zu class %u bought but %g",
                                 promo_exp_model_name(m), i, j, pr[j]);
                else
                    sum += pr[j];
                T_ASSERT(pr[j] >= 0 && pr[j] <= 1);
            }
            T_ASSERT_NEAR(sum, 1.0, 1e-5);
            T_ASSERT(o[f1->test_label[i]] == 0);
        }
        T_ASSERT_MSG(memcmp(f1->prob[m], f2->prob[m], f1->n_test * K * sizeof(float)) == 0,
                     "%s differs between 1 and 2 threads", promo_exp_model_name(m));
    }
    T_ASSERT_EQ_INT(f1->model_size, f2->model_size);
    T_ASSERT(memcmp(f1->model, f2->model, f1->model_size) == 0);
    T_ASSERT(strstr(f1->model, "promo.classes"));
    promo_expansion_fit_free(f1);
    promo_expansion_fit_free(f2);
}

/* Errors: bad parameters, too little history, one category; nothing written. */
T_TEST(expansion_errors)
{
    const char *ws = world_copy();
    char *before = t_dir_digest(ws);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_expansion_params p = small_params();
    p.save = 1;
    promo_expansion_report r;
    p.horizon_days = 0;
    T_ASSERT_EQ_INT(promo_report_expansion_train(s, &p, &r), PROMO_EUSAGE);
    p.horizon_days = 30;
    p.max_class_weight = 0.5;
    T_ASSERT_EQ_INT(promo_report_expansion_train(s, &p, &r), PROMO_EUSAGE);
    p.max_class_weight = 3;
    p.as_of = (int64_t)4102444800; /* 2100-01-01: no test labels */
    T_ASSERT_EQ_INT(promo_report_expansion_train(s, &p, &r), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "earlier --as-of");
    T_OK(promo_time_parse("2023-08-15", 10, PROMO_DATE_ISO, &p.as_of)); /* 6 weeks in */
    T_ASSERT_EQ_INT(promo_report_expansion_train(s, &p, &r), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "too little history");
    promo_table *ev = NULL;
    T_OK(promo_report_read(s, &ev));
    T_ASSERT(ev == NULL);
    promo_store_close(s);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(after);

    /* CLI: exit 2, a clear message, the workspace unchanged. */
    char args[1200], *out = NULL, *err = NULL;
    static const char *const bad[][2] = {
        {"--model expansion --as-of 2023-08-15", "too little history"},
        {"--model expansion --as-of 2100-01-01", "earlier --as-of"},
        {"--model expansion --horizon 0", "expected"},
        {"--model nosuch", "--model nosuch: not available"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(args, sizeof args, "train --ws '%s' %s", ws, bad[k][0]);
        T_ASSERT_MSG(t_promo(args, &out, &err) == 2, "%s did not exit 2", bad[k][0]);
        T_ASSERT_MSG(err && strstr(err, bad[k][1]), "%s: stderr %s", bad[k][0], err);
        free(out);
        free(err);
    }
    after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);

    /* One category: nothing to expand into. */
    const char *dir = t_tmpdir();
    char ws1[600];
    snprintf(ws1, sizeof ws1, "%s/one", dir);
    snprintf(args, sizeof args,
             "generate --ws '%s' --customers 100 --products 10 --categories 1 --transactions 3000 "
             "--months 6 --promotions 5 --no-events -q",
             ws1);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws '%s' --model expansion", ws1);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "at least two product categories");
    free(out);
    free(err);
}

/* The figure: on the default world (promo generate, seed 42) the model's top-3 accuracy beats
 * the majority baseline's; the CLI prints it, stores the rows and the model. */
T_TEST(expansion_default_world_beats_majority)
{
    const char *dir = t_tmpdir();
    char ws[600], args[1200], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws", dir);
    snprintf(args, sizeof args, "generate --ws '%s' --seed 42 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    snprintf(args, sizeof args, "train --ws '%s' --model expansion --threads 2 --json", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "\"task\": \"expansion\"");
    T_ASSERT_CONTAINS(out, "\"majority\": {\"top1_accuracy\": ");
    fprintf(stderr, "    %s", out);
    /* promo evaluate prints the stored figures, the same bytes (the only evaluation there) */
    char *out2 = NULL, *err2 = NULL;
    snprintf(args, sizeof args, "evaluate --ws '%s' --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out2, &err2), 0);
    T_ASSERT_STR_EQ(out2, out);
    free(out2);
    free(err2);
    free(out);
    free(err);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_table *t = NULL;
    T_OK(promo_report_read(s, &t));
    T_ASSERT(t != NULL);
    const promo_column *task = promo_table_column(t, "task"),
                       *model = promo_table_column(t, "model"),
                       *metric = promo_table_column(t, "metric"),
                       *value = promo_table_column(t, "value"),
                       *text = promo_table_column(t, "text");
    double top3[PROMO_EXP_MODEL_COUNT] = {NAN, NAN, NAN};
    char path[1200] = "";
    for (size_t i = 0; i < t->n_rows; i++) {
        T_ASSERT_STR_EQ(promo_column_str(task, i), "expansion");
        for (int m = 0; m < PROMO_EXP_MODEL_COUNT; m++)
            if (!strcmp(promo_column_str(model, i), promo_exp_model_name(m)) &&
                !strcmp(promo_column_str(metric, i), "top3_accuracy"))
                top3[m] = value->f64[i];
        if (!strcmp(promo_column_str(metric, i), "model_path"))
            snprintf(path, sizeof path, "%s", promo_column_str(text, i));
    }
    promo_table_free(t);
    promo_store_close(s);
    T_ASSERT_MSG(top3[PROMO_EXP_XGBOOST] > top3[PROMO_EXP_MAJORITY], "top-3 %.4f vs majority %.4f",
                 top3[PROMO_EXP_XGBOOST], top3[PROMO_EXP_MAJORITY]);
    T_ASSERT(top3[PROMO_EXP_MARKOV] > 0.2);
    size_t n = 0;
    char *bytes = t_read_file(path, &n);
    T_ASSERT_MSG(bytes != NULL, "no model at %s", path);
    T_ASSERT(strstr(bytes, "\"promo.kind\"") && strstr(bytes, "expansion"));
    free(bytes);
    /* The table form. */
    snprintf(args, sizeof args, "train --ws '%s' --model expansion --rounds 5 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "top-1    top-3");
    T_ASSERT_CONTAINS(out, "markov");
    free(out);
    free(err);
}

/* online-retail: products.category from the Description keyword table. */
T_TEST(expansion_online_retail_categories)
{
    char ws[600], args[900], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    snprintf(
        args, sizeof args,
        "ingest --ws %s --format online-retail -q tests/fixtures/ingest/online_retail_small.csv",
        ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    free(out);
    free(err);
    promo_store *s = NULL;
    promo_table *p = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_read_table(s, "products", &p));
    promo_store_close(s);
    static const char *const want[][2] = {
        {"85123A", "candles_lights"}, /* WHITE HANGING HEART T-LIGHT HOLDER */
        {"71053", "candles_lights"},  /* WHITE METAL LANTERN */
        {"22726", "clocks"},          /* ALARM CLOCK BAKELIKE GREEN */
        {"22661", "bags"},            /* CHARLOTTE BAG DOLLY GIRL DESIGN */
        {"84029G", "textiles"},       /* KNITTED UNION FLAG HOT WATER BOTTLE */
        {"22629", "kitchen"},         /* SPACEBOY LUNCH BOX: the lunch box, not storage */
        {"21724", "easter"},          /* PANDA AND BUNNIES STICKER SHEET: the season word
                                         comes first in the table */
        {"22623", "toys_games"},      /* BOX OF VINTAGE JIGSAW BLOCKS */
        {"22310", "mugs_cups"},       /* IVORY KNITTED MUG COSY */
        {"48187", "textiles"},        /* DOORMAT NEW ENGLAND */
        {"D", "fees"},                /* Discount */
        {"22139", "other"},           /* no description */
    };
    const promo_column *id = promo_table_column(p, "product_id"),
                       *cat = promo_table_column(p, "category");
    T_ASSERT(cat != NULL);
    T_ASSERT_EQ_INT(cat->n_null, 0);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        size_t r = 0;
        while (r < p->n_rows && strcmp(promo_column_str(id, r), want[k][0]) != 0)
            r++;
        T_ASSERT_MSG(r < p->n_rows, "no product %s", want[k][0]);
        T_ASSERT_MSG(!strcmp(promo_column_str(cat, r), want[k][1]), "%s: %s, expected %s",
                     want[k][0], promo_column_str(cat, r), want[k][1]);
    }
    promo_table_free(p);
}

/* --windows and --rounds given on the command line reach the expansion model even when they
 * equal propensity's defaults (3 windows): the printout names the windows used. */
T_TEST(expansion_cli_honours_explicit_windows)
{
    const char *ws = world_copy();
    char args[1400], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws '%s' --model expansion --windows 3 --rounds 20", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "train: %s", err);
    T_ASSERT_CONTAINS(out, "training: 3 windows from");
    free(out);
    free(err);
}
