/* Workspace uplift (issue 15's workspace half): promo train --model uplift on the small
 * generated world, the model file (uplift_io.h: save/load bit-identical predictions, damaged
 * files refused, the fuzz corpus replayed), the leakage rule of the training rows (no outcome
 * window crosses --as-of, none crosses the time split), a failed train leaving the workspace
 * byte for byte as it was, promo score / explain / campaign with the uplift model, and bad
 * options exiting 2. Few boosting rounds: it runs under ASan. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/panel.h>
#include <promo/report.h>
#include <promo/report_uplift.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>
#include <promo/uplift_io.h>
#include <promo/uplift_score.h>
#include <promo/uplift_ws.h>

#include "t.h"
#include "t_world.h"

int fuzz_uplift_model_one(const uint8_t *d, size_t n);

static char g_world[512]; /* the generated world, no model */
static char g_ws[512];    /* a copy with the uplift model trained (CLI) */

static const char *world(void)
{
    return g_world[0] ? g_world : t_world_write(g_world, sizeof g_world, 300, 30, 4, 12, 12000);
}

/* A fresh copy of the world. */
static const char *world_copy(char *buf, size_t n)
{
    const char *src = world();
    char cmd[1200];
    snprintf(buf, n, "%s/ws", t_tmpdir());
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", src, buf);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    return buf;
}

static const char *trained(void)
{
    if (g_ws[0])
        return g_ws;
    world_copy(g_ws, sizeof g_ws);
    char args[1200], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws '%s' --model uplift --rounds 15 --threads 1 --json",
             g_ws);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "train exit %d: %s", ec, err);
    T_ASSERT_CONTAINS(out, "\"task\": \"uplift\"");
    T_ASSERT_CONTAINS(out, "\"pooled_arm\": \"targeted\"");
    T_ASSERT_CONTAINS(out, "\"propensity\": true");
    T_ASSERT_CONTAINS(out, "\"qini_coef\"");
    free(out);
    free(err);
    return g_ws;
}

/* ------------------------------------------------------------------ training ---- */

T_TEST(uplift_ws_train_stores_model_and_evaluation)
{
    const char *ws = trained();
    char path[1200];
    snprintf(path, sizeof path, "%s/models/uplift.bin", ws);
    size_t n = 0;
    char *bytes = t_read_file(path, &n);
    T_ASSERT(bytes && n > 100);
    T_ASSERT(memcmp(bytes, "PROMOUPL", 8) == 0);
    /* The effect calibration the optimizer relies on: a shrink factor per treatment arm. */
    promo_uplift *m = NULL;
    char **kv = NULL;
    size_t nkv = 0;
    T_OK(promo_uplift_load(bytes, n, &m, &kv, &nkv));
    const char *scale = promo_uplift_attr(kv, nkv, "effect_scale");
    T_ASSERT(scale != NULL);
    double v = strtod(scale, NULL);
    T_ASSERT_MSG(v >= 0 && v <= 1, "effect_scale %s", scale);
    promo_uplift_free(m);
    promo_free(kv);
    free(bytes);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_table *t = NULL;
    T_OK(promo_report_read(s, &t));
    T_ASSERT(t != NULL);
    const promo_column *task = promo_table_column(t, "task"),
                       *metric = promo_table_column(t, "metric");
    size_t n_uplift = 0, n_qini = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (strcmp(promo_column_str(task, r), "uplift") != 0)
            continue;
        n_uplift++;
        n_qini += strcmp(promo_column_str(metric, r), "qini_coef:treatment") == 0;
    }
    T_ASSERT(n_uplift > 20);
    T_ASSERT_EQ_INT(n_qini, 2); /* the model and the outcome ranking */
    promo_table_free(t);
    promo_store_close(s);
}

/* The rows: every one's outcome window closes by as_of, the training rows' by the split, the
 * test rows come after it; together with the late ones they are every exposure. An earlier
 * as_of gives fewer rows, never a row whose window crosses it. */
T_TEST(uplift_ws_rows_no_leakage)
{
    promo_store *s = NULL;
    T_OK(promo_store_open(world(), 0, &s));
    promo_panel d;
    T_OK(promo_panel_load_tables(s, 1, &d));
    promo_uplift_ws_params p = promo_uplift_ws_params_default();
    p.n_threads = 1;
    promo_uplift_ws_rows r;
    T_OK(promo_uplift_ws_rows_build(&d, &p, &r));
    int64_t win = (int64_t)(p.window_days * 86400);
    T_ASSERT_EQ_INT(r.n + r.n_late, d.exposures->n_rows);
    T_ASSERT(r.n_pooled > 0);
    T_ASSERT_EQ_INT(r.n_arms, 2);
    T_ASSERT_STR_EQ(r.arm_names[0], "control");
    for (size_t i = 0; i < r.n; i++) {
        T_ASSERT_MSG(r.ts[i] + win <= r.as_of, "row %zu: window ends after as_of", i);
        if (r.part[i] == PROMO_UPLIFT_WS_TRAIN)
            T_ASSERT_MSG(r.ts[i] + win <= r.split_ts, "training row %zu crosses the split", i);
        if (r.part[i] == PROMO_UPLIFT_WS_TEST)
            T_ASSERT(r.ts[i] >= r.split_ts);
    }
    size_t n_all = r.n;
    int64_t as_of = r.as_of;
    promo_uplift_ws_rows_free(&r);

    p.as_of = as_of - 45 * 86400;
    T_OK(promo_uplift_ws_rows_build(&d, &p, &r));
    T_ASSERT(r.n < n_all);
    for (size_t i = 0; i < r.n; i++)
        T_ASSERT(r.ts[i] + win <= p.as_of);
    promo_uplift_ws_rows_free(&r);

    /* Nothing closed by the first day: an input error naming --as-of. */
    T_OK(promo_time_parse("2023-07-02", 10, PROMO_DATE_ISO, &p.as_of));
    T_ASSERT_EQ_INT(promo_uplift_ws_rows_build(&d, &p, &r), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "--as-of");
    promo_panel_free(&d);
    promo_store_close(s);
}

/* A training whose commit fails (an `evaluations` table that is not one) leaves the workspace
 * byte for byte as it was: no model file, no rows. */
T_TEST(uplift_ws_failed_train_leaves_workspace)
{
    char buf[600];
    const char *ws = world_copy(buf, sizeof buf);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_table *bad = promo_table_new("evaluations");
    T_ASSERT(bad);
    T_OK(promo_table_add_column(bad, "oops", PROMO_COL_INT64, NULL));
    T_OK(promo_column_push_i64(bad->cols[0], 1));
    T_OK(promo_table_seal(bad));
    T_OK(promo_store_write_table(s, bad));
    promo_table_free(bad);
    promo_store_close(s);
    char *before = t_dir_digest(ws);
    char args[1200], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws '%s' --model uplift --rounds 5 --threads 1", ws);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec != 0, "train on a broken evaluations table succeeded: %s", out);
    free(out);
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
    char path[1200];
    snprintf(path, sizeof path, "%s/models/uplift.bin", ws);
    FILE *f = fopen(path, "rb");
    T_ASSERT(f == NULL);
}

/* ------------------------------------------------------------------ the model file ---- */

/* A small randomised problem with a real effect on x0. */
static void toy(size_t n, size_t dim, float *x, int32_t *arm, float *y)
{
    promo_rng r;
    promo_rng_init(&r, 7, 1);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dim; j++)
            x[i * dim + j] = (float)promo_rng_uniform(&r);
        arm[i] = (int32_t)promo_rng_below(&r, 3);
        double p = 0.2 + (arm[i] ? 0.3 * x[i * dim] : 0.0) + (arm[i] == 2 ? 0.1 : 0.0);
        y[i] = promo_rng_uniform(&r) < p ? 1.0f : 0.0f;
    }
}

T_TEST(uplift_ws_save_load_bit_identical)
{
    enum { N = 600, D = 4 };
    float *x = promo_mallocn(N * D, sizeof *x), *y = promo_mallocn(N, sizeof *y);
    int32_t *arm = promo_mallocn(N, sizeof *arm);
    T_ASSERT(x && y && arm);
    toy(N, D, x, arm, y);
    promo_uplift_data data = {x, N, D, arm, 3, y, 1, NULL};
    static const promo_uplift_learner L[] = {PROMO_UPLIFT_S, PROMO_UPLIFT_T,  PROMO_UPLIFT_X,
                                             PROMO_UPLIFT_R, PROMO_UPLIFT_DR, PROMO_UPLIFT_CT};
    for (size_t k = 0; k < sizeof L / sizeof *L; k++) {
        promo_uplift_params p = promo_uplift_params_default(L[k]);
        p.gbdt.n_rounds = 10;
        p.n_threads = 1;
        p.propensity_weighting = k % 2; /* the propensity model saved too, every other time */
        promo_uplift *m = NULL, *m2 = NULL;
        T_OK(promo_uplift_fit(&p, &data, &m));
        const char *attrs[] = {"features", "a,b,c,d", "arms", "control,x,y"};
        char *buf = NULL, **kv = NULL;
        size_t len = 0, nkv = 0;
        T_OK(promo_uplift_save(m, attrs, 2, &buf, &len));
        T_OK(promo_uplift_load(buf, len, &m2, &kv, &nkv));
        T_ASSERT_EQ_INT(nkv, 2);
        T_ASSERT_STR_EQ(promo_uplift_attr(kv, nkv, "arms"), "control,x,y");
        T_ASSERT(promo_uplift_attr(kv, nkv, "nope") == NULL);
        T_ASSERT_EQ_INT(promo_uplift_get_learner(m2), L[k]);
        float e1[N * 2], e2[N * 2], p1[N * 3], p2[N * 3];
        T_OK(promo_uplift_predict(m, x, N, D, e1));
        T_OK(promo_uplift_predict(m2, x, N, D, e2));
        T_ASSERT_MSG(memcmp(e1, e2, sizeof e1) == 0, "learner %s: effects differ after reload",
                     promo_uplift_learner_name(L[k]));
        T_OK(promo_uplift_predict_propensity(m, x, N, D, p1));
        T_OK(promo_uplift_predict_propensity(m2, x, N, D, p2));
        T_ASSERT(memcmp(p1, p2, sizeof p1) == 0);
        promo_uplift_overlap o1, o2;
        T_OK(promo_uplift_overlap_get(m, &o1));
        T_OK(promo_uplift_overlap_get(m2, &o2));
        T_ASSERT(o1.clipped_share == o2.clipped_share && o1.n_rows == o2.n_rows);

        /* Damage: any flipped byte, a truncation, another version, foreign bytes. */
        promo_uplift *bad = NULL;
        for (size_t at = 0; at < len; at += len / 7 + 1) {
            buf[at] ^= 0x5a;
            int rc = promo_uplift_load(buf, len, &bad, NULL, NULL);
            T_ASSERT_MSG(rc == PROMO_EINPUT || rc == PROMO_EVERSION, "byte %zu: rc %d", at, rc);
            T_ASSERT(bad == NULL);
            buf[at] ^= 0x5a;
        }
        T_ASSERT_EQ_INT(promo_uplift_load(buf, len - 1, &bad, NULL, NULL), PROMO_EINPUT);
        T_ASSERT_EQ_INT(promo_uplift_load(buf, 10, &bad, NULL, NULL), PROMO_EINPUT);
        buf[8] = 9; /* version 9 */
        T_ASSERT_EQ_INT(promo_uplift_load(buf, len, &bad, NULL, NULL), PROMO_EVERSION);
        T_ASSERT_EQ_INT(promo_uplift_load("{\"learner\": 1}", 15, &bad, NULL, NULL), PROMO_EINPUT);
        promo_free(buf);
        promo_free(kv);
        promo_uplift_free(m);
        promo_uplift_free(m2);
    }
    /* Trees and forests: their trees in their own section, reloaded bit for bit; a damaged
     * byte anywhere (the inner forest section included) refused. */
    for (int forest = 0; forest < 2; forest++) {
        promo_uplift_params p =
            promo_uplift_params_default(forest ? PROMO_UPLIFT_FOREST : PROMO_UPLIFT_TREE);
        p.tree.min_leaf = 20;
        p.tree.n_trees = forest ? 7 : 1;
        p.n_threads = 1;
        p.propensity_weighting = forest;
        promo_uplift *m = NULL, *m2 = NULL;
        T_OK(promo_uplift_fit(&p, &data, &m));
        char *buf = NULL;
        size_t len = 0;
        T_OK(promo_uplift_save(m, NULL, 0, &buf, &len));
        T_OK(promo_uplift_load(buf, len, &m2, NULL, NULL));
        T_ASSERT_EQ_INT(promo_uplift_get_learner(m2), p.learner);
        float e1[N * 2], e2[N * 2];
        T_OK(promo_uplift_predict(m, x, N, D, e1));
        T_OK(promo_uplift_predict(m2, x, N, D, e2));
        T_ASSERT_MSG(memcmp(e1, e2, sizeof e1) == 0, "%s: effects differ after reload",
                     forest ? "forest" : "tree");
        promo_uplift *bad = NULL;
        for (size_t at = 0; at < len; at += len / 11 + 1) {
            buf[at] ^= 0x21;
            int rc = promo_uplift_load(buf, len, &bad, NULL, NULL);
            T_ASSERT_MSG(rc == PROMO_EINPUT || rc == PROMO_EVERSION, "byte %zu: rc %d", at, rc);
            T_ASSERT(bad == NULL);
            buf[at] ^= 0x21;
        }
        T_ASSERT_EQ_INT(promo_uplift_load(buf, len - 3, &bad, NULL, NULL), PROMO_EINPUT);
        promo_free(buf);
        promo_uplift_free(m);
        promo_uplift_free(m2);
    }
    promo_free(x);
    promo_free(y);
    promo_free(arm);
}

/* The workspace's model reloaded through the scorer predicts what the file holds, and a damaged
 * file is refused with the file named (exit 2), not used. */
T_TEST(uplift_ws_corrupt_model_refused)
{
    char buf[600], cmd[2400], path[1200];
    const char *src = trained();
    snprintf(buf, sizeof buf, "%s/ws", t_tmpdir());
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", src, buf);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    snprintf(path, sizeof path, "%s/models/uplift.bin", buf);
    size_t n = 0;
    char *bytes = t_read_file(path, &n);
    T_ASSERT(bytes && n > 200);
    bytes[n / 2] ^= 0x01;
    t_write_file(path, bytes, n);
    free(bytes);
    char args[1300], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "score --ws '%s' --model uplift --target any", buf);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    T_ASSERT_CONTAINS(err, "uplift.bin");
    T_ASSERT_CONTAINS(err, "checksum");
    free(out);
    free(err);
}

/* A tree model is stored and scored like the meta-learners; the calibration it stores makes the
 * mean scored effect over the randomised training rows the level of the best linear predictor
 * (report_uplift.h; about their difference in means), and the predictions file's calibrated
 * column is what the stored shift and scale give. */
T_TEST(uplift_ws_tree_stored_calibrated_and_scored)
{
    char buf[600], args[2000], pred[1300], *out = NULL, *err = NULL;
    world_copy(buf, sizeof buf);
    snprintf(pred, sizeof pred, "%s/pred.csv", t_tmpdir());
    snprintf(args, sizeof args,
             "train --ws '%s' --model uplift --learner tree --threads 1 --json "
             "--predictions-out '%s'",
             buf, pred);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "train exit %d: %s", ec, err);
    T_ASSERT_CONTAINS(out, "\"learner\": \"tree\"");
    T_ASSERT_CONTAINS(out, "\"effect_shift\"");
    int calibrated = strstr(out, "\"level\": null") == NULL;
    const char *lv = strstr(out, "\"level\": ");
    double level = lv ? strtod(lv + 9, NULL) : NAN;
    free(out);
    free(err);
    size_t n = 0;
    char *csv = t_read_file(pred, &n);
    T_ASSERT(csv);
    static const char head[] = "promotion_id,customer_id,arm,part,randomised,y,effect_treatment,"
                               "calibrated_treatment\n";
    T_ASSERT(strncmp(csv, head, sizeof head - 1) == 0);
    double y1 = 0, n1 = 0, y0 = 0, n0 = 0, cal = 0, k = 0;
    size_t rows = 0;
    for (char *line = strchr(csv, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char arm[32], part[16];
        int rnd = 0;
        double y = 0, raw = 0, c = 0;
        T_ASSERT(sscanf(line, "%*[^,],%*[^,],%31[^,],%15[^,],%d,%lf,%lf,%lf", arm, part, &rnd, &y,
                        &raw, &c) == 6);
        if (!calibrated)
            T_ASSERT_NEAR(c, raw, 1e-12);
        rows++;
        if (strcmp(part, "train") == 0 && rnd && strcmp(arm, "targeted") != 0) {
            int t = strcmp(arm, "control") != 0;
            *(t ? &y1 : &y0) += y;
            *(t ? &n1 : &n0) += 1;
            cal += c;
            k++;
        }
    }
    T_ASSERT(rows > 100);
    if (calibrated) {
        T_ASSERT(n1 >= 50 && n0 >= 50);
        T_ASSERT_NEAR(cal / k, level, 1e-5);           /* the level, on those rows */
        T_ASSERT_NEAR(level, y1 / n1 - y0 / n0, 0.01); /* about their difference in means */
    }
    free(csv);
    snprintf(args, sizeof args, "score --ws '%s' --model uplift --target any", buf);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT(strncmp(out, "customer_id,effect_treatment,", 29) == 0);
    free(out);
    free(err);
}

/* The class-transformation learner trains on the workspace's log like the others (uplift.bin),
 * and the scoring, the forecaster behind campaign --optimize and compare read it. */
T_TEST(uplift_ws_ct_trained_scored_and_campaigned)
{
    char buf[600], args[2000], *out = NULL, *err = NULL;
    world_copy(buf, sizeof buf);
    snprintf(args, sizeof args, "train --ws '%s' --model uplift --learner ct --threads 1 --json",
             buf);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "train exit %d: %s", ec, err);
    T_ASSERT_CONTAINS(out, "\"learner\": \"ct\"");
    free(out);
    free(err);
    snprintf(args, sizeof args, "score --ws '%s' --model uplift --target any", buf);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT(strncmp(out, "customer_id,effect_treatment,", 29) == 0);
    free(out);
    free(err);
    snprintf(args, sizeof args,
             "campaign --ws '%s' --product best --optimize --holdout 0 --out '%s/ct.csv'", buf,
             t_tmpdir());
    ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "campaign exit %d: %s", ec, err);
    T_ASSERT_CONTAINS(out, "incremental profit");
    free(out);
    free(err);
}

/* The y column of a predictions file, in row order (rows: *n). */
static char *pred_y(const char *path, size_t *n)
{
    size_t len = 0;
    char *csv = t_read_file(path, &len);
    T_ASSERT(csv);
    char *y = malloc(len);
    T_ASSERT(y);
    *n = 0;
    for (char *line = strchr(csv, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        double v = 0;
        T_ASSERT(sscanf(line, "%*[^,],%*[^,],%*[^,],%*[^,],%*d,%lf", &v) == 1);
        y[(*n)++] = v > 0.5;
    }
    free(csv);
    return y;
}

/* A log of sends without responses: the outcome is a purchase of the promoted product (or
 * category) in the window. On the generated world every converted response is such a purchase,
 * so with the responses table emptied every row that converted before still converts, and
 * purchases without a response (bought anyway) convert too. */
T_TEST(uplift_ws_outcomes_from_purchases)
{
    char a[600], b[600], c[600], pa[1300], pb[1300], pc[1300], args[3000], *out = NULL, *err = NULL;
    world_copy(a, sizeof a);
    snprintf(b, sizeof b, "%s/ws_noresp", t_tmpdir());
    snprintf(c, sizeof c, "%s/ws_noresp_table", t_tmpdir());
    snprintf(args, sizeof args, "cp -r '%s' '%s' && cp -r '%s' '%s'", a, b, a, c);
    T_ASSERT_EQ_INT(t_sh(args, NULL, NULL), 0);
    /* b: the responses table emptied through the store (its rows are column chunks) */
    promo_store *st = NULL;
    promo_table *responses = NULL, *none = NULL;
    T_OK(promo_store_open(b, 0, &st));
    T_OK(promo_store_read_table(st, "responses", &responses));
    T_ASSERT(responses->n_rows > 0);
    uint8_t *keep = promo_calloc(responses->n_rows, 1);
    T_ASSERT(keep != NULL);
    none = promo_table_filter(responses, keep);
    T_ASSERT(none != NULL && none->n_rows == 0);
    T_OK(promo_store_begin(st));
    T_OK(promo_store_write_table(st, none));
    T_OK(promo_store_commit(st));
    promo_free(keep);
    promo_table_free(none);
    promo_table_free(responses);
    promo_store_close(st);
    /* c: a retailer that logs exposures and transactions only: no responses table at all */
    T_OK(promo_store_open(c, 0, &st));
    T_OK(promo_store_begin(st));
    T_OK(promo_store_drop_table(st, "responses"));
    T_OK(promo_store_commit(st));
    T_ASSERT(!promo_store_has_table(st, "responses"));
    promo_store_close(st);
    snprintf(pa, sizeof pa, "%s/pa.csv", t_tmpdir());
    snprintf(pb, sizeof pb, "%s/pb.csv", t_tmpdir());
    snprintf(pc, sizeof pc, "%s/pc.csv", t_tmpdir());
    const char *ws[3] = {a, b, c}, *pred[3] = {pa, pb, pc};
    for (int k = 0; k < 3; k++) {
        snprintf(args, sizeof args,
                 "train --ws '%s' --model uplift --rounds 5 --threads 1 --no-clv --json "
                 "--predictions-out '%s'",
                 ws[k], pred[k]);
        int ec = t_promo(args, &out, &err);
        T_ASSERT_MSG(ec == 0, "train (workspace %d) exit %d: %s", k, ec, err);
        T_ASSERT_CONTAINS(out, k ? "\"outcome\": \"purchases\"" : "\"outcome\": \"responses\"");
        free(out);
        free(err);
    }
    size_t na = 0, nb = 0, nc = 0, resp = 0, bought = 0, lost = 0;
    char *ya = pred_y(pa, &na), *yb = pred_y(pb, &nb), *yc = pred_y(pc, &nc);
    T_ASSERT_EQ_INT(na, nb);
    for (size_t i = 0; i < na; i++) {
        resp += (size_t)ya[i];
        bought += (size_t)yb[i];
        lost += ya[i] && !yb[i];
    }
    T_ASSERT_MSG(lost == 0, "%zu converted responses without a purchase in the window", lost);
    T_ASSERT(resp > 0);
    T_ASSERT_MSG(bought > resp, "purchases %zu, responses %zu", bought, resp);
    /* without the table the outcomes are those of the emptied one, row for row */
    T_ASSERT_EQ_INT(nc, nb);
    T_ASSERT(memcmp(yb, yc, nb) == 0);
    free(ya);
    free(yb);
    free(yc);
}

/* promo evaluate prints the stored uplift evaluation as train printed it (table and JSON), and
 * says how to make one when there is none. */
T_TEST(uplift_ws_evaluate_prints_the_stored_figures)
{
    const char *ws = trained();
    char args[1400], *out = NULL, *err = NULL, *tr = NULL;
    snprintf(args, sizeof args, "evaluate --ws '%s' --target uplift --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"task\": \"uplift\"");
    T_ASSERT_CONTAINS(out, "\"arm\": \"treatment\"");
    T_ASSERT_CONTAINS(out, "\"pooled_arm\": \"targeted\"");
    /* the figures are those of the training run (stored, not recomputed) */
    const char *q = strstr(out, "\"qini_coef\": ");
    T_ASSERT(q);
    double qe = strtod(q + 13, NULL);
    free(out);
    free(err);
    snprintf(args, sizeof args, "evaluate --ws '%s' --target uplift", ws);
    T_ASSERT_EQ_INT(t_promo(args, &tr, &err), 0);
    T_ASSERT_CONTAINS(tr, "uplift (model)");
    T_ASSERT_CONTAINS(tr, "effect calibration");
    free(err);
    char num[32];
    snprintf(num, sizeof num, "%.4f", qe);
    T_ASSERT_MSG(strstr(tr, num) != NULL, "qini %s not in %s", num, tr);
    free(tr);
    /* no propensity evaluation in this workspace: evaluate alone shows the uplift one */
    snprintf(args, sizeof args, "evaluate --ws '%s'", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "uplift model (t-learner)");
    free(out);
    free(err);
    snprintf(args, sizeof args, "evaluate --ws '%s' --target uplift", world());
    T_ASSERT(t_promo(args, &out, &err) != 0);
    T_ASSERT_CONTAINS(err, "promo train --ws");
    T_ASSERT_CONTAINS(err, "--model uplift");
    free(out);
    free(err);
}

T_TEST(uplift_ws_fuzz_corpus_replay)
{
    T_ASSERT(t_replay_corpus("fuzz/corpus/uplift_model", fuzz_uplift_model_one) >= 3);
}

/* ---------------------------------------------------------- score, explain, campaign ---- */

T_TEST(uplift_ws_score_explain_campaign)
{
    const char *ws = trained();
    char args[1400], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "score --ws '%s' --model uplift --target product:PROD00001", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT(strncmp(out, "customer_id,effect_treatment,p_control,p_treatment,best_arm,", 60) == 0);
    size_t lines = 0;
    for (const char *c = out; *c; c++)
        lines += *c == '\n';
    T_ASSERT(lines > 100);
    free(out);
    free(err);

    /* The same scores through the library: the CLI's second customer line matches. */
    promo_store *s = NULL;
    promo_uplift_scorer *h = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_uplift_scorer_open(s, 0, 1, &h));
    promo_uplift_offer o = {"product:PROD00001", NAN};
    promo_uplift_scores *sc = NULL;
    T_OK(promo_uplift_scorer_score(h, &o, &sc));
    T_ASSERT(sc->n == promo_uplift_scorer_n_customers(h));
    T_ASSERT(sc->outcome != NULL);
    for (size_t i = 0; i < sc->n; i++) {
        T_ASSERT(isfinite(sc->effect[i]));
        T_ASSERT_NEAR(sc->effect[i], sc->outcome[2 * i + 1] - sc->outcome[2 * i], 1e-6);
        T_ASSERT(sc->best_arm[i] == 0 || sc->profit[2 * i + 1] > 0);
    }
    char cust[128];
    snprintf(cust, sizeof cust, "%s", sc->customer[0]);
    promo_uplift_explanation e;
    T_OK(promo_uplift_scorer_explain(h, &o, cust, 5, &e));
    T_ASSERT_NEAR(e.effect, sc->effect[0], 1e-7);
    T_ASSERT(e.rank >= 1 && e.rank <= sc->n);
    T_ASSERT(e.n <= 5);
    promo_uplift_explanation_free(&e);
    T_ASSERT_EQ_INT(promo_uplift_scorer_explain(h, &o, "NOBODY", 5, &e), PROMO_EINPUT);
    promo_uplift_scores_free(sc);
    promo_uplift_scorer_free(h);
    promo_store_close(s);

    snprintf(args, sizeof args,
             "explain --ws '%s' --model uplift --target product:PROD00001 --customer %s", ws, cust);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "the offer");
    T_ASSERT_CONTAINS(out, "points");
    free(out);
    free(err);
    snprintf(args, sizeof args,
             "explain --ws '%s' --model uplift --target product:PROD00001 --customer %s --json", ws,
             cust);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"method\": \"what-if");
    free(out);
    free(err);

    char path[1300];
    snprintf(path, sizeof path, "%s/c.csv", t_tmpdir());
    snprintf(args, sizeof args,
             "campaign --ws '%s' --product PROD00001 --rank-by uplift --target 25 --out '%s'", ws,
             path);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    free(out);
    free(err);
    size_t n = 0;
    char *csv = t_read_file(path, &n);
    T_ASSERT(csv);
    T_ASSERT_CONTAINS(csv, "customer_id,name,location,probability,reason,product_id,discount_pct");
    T_ASSERT_CONTAINS(csv, ",uplift,expected_profit\n");
    lines = 0;
    for (const char *c = csv; *c; c++)
        lines += *c == '\n';
    T_ASSERT_EQ_INT(lines, 26);
    free(csv);
    /* By expected profit: at most N rows, each with a positive expected profit. */
    char path2[1300];
    snprintf(path2, sizeof path2, "%s/p.csv", t_tmpdir());
    snprintf(args, sizeof args,
             "campaign --ws '%s' --product PROD00001 --rank-by profit --target 25 --out '%s'", ws,
             path2);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "expected incremental profit");
    free(out);
    free(err);
    char *pcsv = t_read_file(path2, &n);
    T_ASSERT(pcsv);
    size_t prow = 0;
    for (char *line = strchr(pcsv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *last = line + 1;
        const char *end = strchr(last, '\n');
        const char *comma = NULL;
        for (const char *c = last; c < end; c++)
            if (*c == ',')
                comma = c;
        T_ASSERT(comma && strtod(comma + 1, NULL) > 0.0);
        prow++;
    }
    T_ASSERT(prow <= 25);
    free(pcsv);
    /* promo simulate reads it as it is. */
    snprintf(args, sizeof args, "simulate --ws '%s' --campaign '%s' --json", ws, path);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "incremental_profit");
    free(out);
    free(err);
}

T_TEST(uplift_ws_bad_options_exit_2)
{
    const char *ws = trained();
    static const char *const bad[][2] = {
        {"train --model uplift --learner zz", "--learner"},
        {"train --model uplift --window 0", "--window"},
        {"train --model uplift --test-frac 0.95", "--test-frac"},
        {"train --model uplift --weighting maybe", "--weighting"},
        {"train --model uplift --as-of 2023-07-02", "--as-of"},
        {"score --model nosuch --target any", "--model nosuch"},
        {"score --model uplift --target product:NOPE", "NOPE"},
        {"explain --model uplift --target any --customer NOBODY", "NOBODY"},
        {"campaign --product PROD00001 --rank-by nothing", "--rank-by"},
    };
    char args[1400], *out = NULL, *err = NULL;
    char *before = t_dir_digest(ws);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(args, sizeof args, "%.*s --ws '%s'%s", (int)strcspn(bad[k][0], " "), bad[k][0], ws,
                 bad[k][0] + strcspn(bad[k][0], " "));
        int ec = t_promo(args, &out, &err);
        T_ASSERT_MSG(ec == 2, "%s: exit %d (%s)", bad[k][0], ec, err);
        T_ASSERT_MSG(err && strstr(err, bad[k][1]), "%s: stderr %s", bad[k][0], err);
        free(out);
        free(err);
    }
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);

    /* No model yet: score says how to make one. */
    snprintf(args, sizeof args, "score --ws '%s' --model uplift --target any", world());
    T_ASSERT(t_promo(args, &out, &err) != 0);
    T_ASSERT_CONTAINS(err, "promo train --model uplift");
    free(out);
    free(err);
    T_ASSERT_EQ_INT(t_promo("train --model uplift --help", &out, &err), 0);
    T_ASSERT_CONTAINS(out, "--learner");
    free(out);
    free(err);
}
