/* The evaluation report as a web page: report.html, its charts and evaluation_report.txt
 * (include/promo/report_html.h says what each section shows and where its data come from).
 *
 * The page is built in memory (the summary at its top needs the figures of every section, so
 * the sections are rendered first into a buffer), the charts are drawn or copied one by one as
 * the sections need them, and report.html is written last.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/compare.h>
#include <promo/csv.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/infile.h>
#include <promo/log.h>
#include <promo/outfile.h>
#include <promo/panel.h>
#include <promo/plot.h>
#include <promo/report.h>
#include <promo/report_html.h>
#include <promo/report_uplift.h>
#include <promo/segment.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>
#include <promo/uplift_io.h>
#include <promo/uplift_metrics.h>
#include <promo/uplift_ws.h>

static const char *const section_names[PROMO_REPORT_SECTION_COUNT] = {
    "summary", "propensity", "uplift", "strategies", "segments", "recommenders"};
static const char *const section_titles[PROMO_REPORT_SECTION_COUNT] = {
    "Summary",
    "Who will buy: the propensity model",
    "Who buys because of the offer: uplift",
    "Strategy comparison",
    "Customer segments",
    "Recommenders"};

const char *promo_report_section_name(promo_report_section s)
{
    return (unsigned)s < PROMO_REPORT_SECTION_COUNT ? section_names[s] : "?";
}

promo_report_params promo_report_params_default(void)
{
    promo_report_params p;
    memset(&p, 0, sizeof p);
    p.discount_pct = 10;
    p.n_draws = 200;
    p.compare = 1;
    p.segments = 1;
    return p;
}

/* What the summary says, gathered while the sections are rendered. */
typedef struct facts {
    int prop;                /* a propensity evaluation of the model */
    char prop_what[300];     /* "Bananas 1kg (PROD00010)" or "any purchase" */
    size_t prop_n, prop_pos; /* test customers, buyers */
    double prop_lift, prop_auc, prop_horizon;
    int uplift;
    double up_at10, up_ate; /* first treatment arm */
    char up_arm[64];
    int compare;
    promo_compare cmp;
    char cmp_what[300]; /* "Bananas 1kg (PROD00010)" */
    double interval;
    int segments;
    char seg_method[32];
    int seg_n;
    char seg_top[300]; /* the segment with the most revenue, in words */
} facts;

typedef struct ctx {
    promo_store *s;
    const promo_report_params *p;
    promo_report_result *res;
    char out_dir[PROMO_REPORT_PATH_MAX];
    int same_out;          /* out_dir is the workspace's out/ (its charts need no copy) */
    promo_table *ev;       /* evaluations (NULL: none) */
    promo_table *products; /* for names (NULL: none) */
    FILE *body;            /* the sections' HTML */
    FILE *text;            /* the extra figures of evaluation_report.txt */
    facts f;
} ctx;

/* ------------------------------------------------------------------ helpers ---- */

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A number for a table cell: "-" when not finite. */
static void cell(FILE *f, const char *fmt, double v)
{
    fputs("<td>", f);
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("-", f);
    fputs("</td>", f);
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static void join(char *buf, size_t n, const char *dir, const char *name)
{
    /* paths are bounded by PROMO_REPORT_PATH_MAX; a longer one is cut (and then not found) */
    int k = snprintf(buf, n, "%s/", dir);
    if (k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, "%s", name);
}

/* Remember a chart the page shows. */
static void add_chart(ctx *c, const char *path)
{
    if (c->res->n_charts < PROMO_REPORT_MAX_CHARTS)
        snprintf(c->res->charts[c->res->n_charts++], PROMO_REPORT_PATH_MAX, "%s", path);
}

/* <figure> of the chart at `path` (in out_dir) with its one line on how to read it. */
static void figure(ctx *c, const char *path, const char *alt, const char *how)
{
    add_chart(c, path);
    fputs("<figure><img src=\"", c->body);
    esc(c->body, base_name(path));
    fputs("\" alt=\"", c->body);
    esc(c->body, alt);
    fputs("\"><figcaption><b>How to read it:</b> ", c->body);
    esc(c->body, how);
    fputs("</figcaption></figure>\n", c->body);
}

static void note(FILE *f, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(FILE *f, const char *cls, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(f, "<p class=\"%s\">", cls);
    esc(f, buf);
    fputs("</p>\n", f);
}

/* "run this" line of a missing piece: text, then the command in <code>. */
static void todo(ctx *c, const char *why, const char *cmd)
{
    fputs("<p class=\"todo\">", c->body);
    esc(c->body, why);
    if (cmd) {
        fputs(" Run: <code>", c->body);
        esc(c->body, cmd);
        fputs("</code>", c->body);
    }
    fputs("</p>\n", c->body);
}

static void section_open(ctx *c, promo_report_section s)
{
    fprintf(c->body, "<section id=\"%s\"><h2>", section_names[s]);
    esc(c->body, section_titles[s]);
    fputs("</h2>\n", c->body);
}

/* The product's name from the products table, else "" */
static const char *product_name(ctx *c, const char *id)
{
    if (!c->products)
        return "";
    const promo_column *pid = promo_table_column(c->products, "product_id"),
                       *nm = promo_table_column(c->products, "name");
    if (!pid || !nm || pid->type != PROMO_COL_STRING || nm->type != PROMO_COL_STRING)
        return "";
    for (size_t i = 0; i < c->products->n_rows; i++)
        if (!strcmp(promo_column_str(pid, i), id))
            return promo_column_is_null(nm, i) ? "" : promo_column_str(nm, i);
    return "";
}

/* The value of a numeric column at row i (INT64, TIMESTAMP, FLOAT64, BOOL); NaN otherwise. */
static double num_at(const promo_column *col, size_t i)
{
    if (!col || promo_column_is_null(col, i))
        return NAN;
    switch (col->type) {
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        return (double)col->i64[i];
    case PROMO_COL_FLOAT64:
        return col->f64[i];
    case PROMO_COL_BOOL:
        return col->b[i];
    default:
        return NAN;
    }
}

/* A stored figure of the evaluations table: 1 when found. */
static int ev_num(const ctx *c,
                  const char *task,
                  const char *target,
                  const char *model,
                  const char *metric,
                  double *v)
{
    if (!c->ev)
        return 0;
    const promo_column *ct = promo_table_column(c->ev, "task"),
                       *cg = promo_table_column(c->ev, "target"),
                       *cm = promo_table_column(c->ev, "model"),
                       *cx = promo_table_column(c->ev, "metric"),
                       *cv = promo_table_column(c->ev, "value");
    for (size_t i = 0; i < c->ev->n_rows; i++)
        if (!strcmp(promo_column_str(ct, i), task) && !strcmp(promo_column_str(cg, i), target) &&
            !strcmp(promo_column_str(cm, i), model) && !strcmp(promo_column_str(cx, i), metric)) {
            *v = num_at(cv, i);
            return 1;
        }
    return 0;
}

static const char *
ev_text(const ctx *c, const char *task, const char *target, const char *model, const char *metric)
{
    if (!c->ev)
        return NULL;
    const promo_column *ct = promo_table_column(c->ev, "task"),
                       *cg = promo_table_column(c->ev, "target"),
                       *cm = promo_table_column(c->ev, "model"),
                       *cx = promo_table_column(c->ev, "metric"),
                       *cs = promo_table_column(c->ev, "text");
    for (size_t i = 0; i < c->ev->n_rows; i++)
        if (!strcmp(promo_column_str(ct, i), task) && !strcmp(promo_column_str(cg, i), target) &&
            !strcmp(promo_column_str(cm, i), model) && !strcmp(promo_column_str(cx, i), metric))
            return promo_column_is_null(cs, i) ? NULL : promo_column_str(cs, i);
    return NULL;
}

/* Put the chart drawn at `src` into out_dir (a copy unless it is there already); the path the
 * page shows into dst. 0: not available (missing file: a warning). Training records the path
 * as it was given (relative to that command's directory, and the workspace may have moved
 * since): the chart of that name in the workspace's own out/ is read first. */
static int place_chart(ctx *c, const char *src, char *dst, size_t n)
{
    if (!src || !*src)
        return 0;
    char *data = NULL;
    size_t len = 0;
    char in_ws[PROMO_REPORT_PATH_MAX];
    join(in_ws, sizeof in_ws, promo_store_out_dir(c->s), base_name(src));
    if (access(in_ws, R_OK) == 0)
        src = in_ws;
    if (promo_infile_read(src, 0, &data, &len) || len < 8 || memcmp(data, "\x89PNG", 4) != 0) {
        promo_warn("report: chart %s is missing or not a PNG: left out", src);
        promo_clear_error();
        promo_free(data);
        return 0;
    }
    join(dst, n, c->out_dir, base_name(src));
    int ok = 1;
    if (!c->same_out && promo_outfile_write(dst, data, len)) {
        promo_warn("report: cannot copy %s: %s", src, promo_last_error());
        promo_clear_error();
        ok = 0;
    }
    promo_free(data);
    return ok;
}

/* ---------------------------------------------------------------- propensity ---- */

static void propensity_one(ctx *c, const promo_propensity_report *r)
{
    FILE *b = c->body;
    const promo_prop_model_eval *x = &r->models[PROMO_PROP_XGBOOST];
    char what[300], a[24], e[24];
    const char *pid = !strncmp(r->target, "product:", 8) ? r->target + 8 : NULL;
    const char *nm = pid ? product_name(c, pid) : "";
    if (pid && *nm)
        snprintf(what, sizeof what, "%s (%s)", nm, pid);
    else if (!strcmp(r->target, "any"))
        snprintf(what, sizeof what, "any purchase");
    else
        snprintf(what, sizeof what, "%s", r->target);
    promo_time_format_cutoff(r->as_of, a, sizeof a);
    promo_time_format(r->as_of + (int64_t)(r->horizon_days * PROMO_SECONDS_PER_DAY) - 1, 1, e,
                      sizeof e);
    fputs("<h3>", b);
    esc(b, what);
    fputs("</h3>\n", b);
    fprintf(b,
            "<p>Test window %s to %s (%g days, later than every training window): %zu "
            "customers, %zu bought (base rate %.2f%%). Trained on %d window(s), %zu rows; %zu "
            "features, %d boosting rounds.</p>\n",
            a, e, r->horizon_days, x->m.n, x->m.n_pos, 100 * x->m.base_rate, r->n_train_windows,
            r->n_train_rows, r->n_features, r->n_rounds);
    fputs("<table><tr><th>model</th><th>ROC AUC</th><th>PR AUC</th><th>log loss</th><th>Brier</th>",
          b);
    for (int k = 0; k < PROMO_METRICS_N_K; k++)
        fprintf(b, "<th>P@%zu</th>", promo_metrics_k[k]);
    for (int k = 0; k < PROMO_METRICS_N_K; k++)
        fprintf(b, "<th>R@%zu</th>", promo_metrics_k[k]);
    fputs("<th>top-10% lift</th><th>ECE</th></tr>\n", b);
    for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++) {
        const promo_prop_model_eval *ev = &r->models[mi];
        if (!ev->fitted)
            continue;
        const promo_binary_metrics *m = &ev->m;
        fprintf(b, "<tr%s><td>%s</td>", mi == PROMO_PROP_XGBOOST ? " class=\"ours\"" : "",
                promo_prop_model_name(mi));
        cell(b, "%.3f", m->auc);
        cell(b, "%.3f", m->pr_auc);
        cell(b, "%.4f", m->log_loss);
        cell(b, "%.4f", m->brier);
        /* a figure at K only where K is below the customers (as promo evaluate prints) */
        for (int k = 0; k < PROMO_METRICS_N_K; k++)
            cell(b, "%.3f", promo_metrics_k[k] < m->n ? m->precision_at[k] : NAN);
        for (int k = 0; k < PROMO_METRICS_N_K; k++)
            cell(b, "%.3f", promo_metrics_k[k] < m->n ? m->recall_at[k] : NAN);
        cell(b, "%.2f", m->lift_top_decile);
        cell(b, "%.3f", m->ece);
        fputs("</tr>\n", b);
    }
    fputs("</table>\n", b);
    int stale = 0;
    if (promo_report_propensity_stale(r, &stale)) {
        promo_clear_error();
        stale = 0;
    }
    if (stale)
        note(b, "warn",
             "The model file %s was trained again since these figures were measured: run "
             "`promo train --target %s` to evaluate the model on disk.",
             r->model_path, r->target);
    static const char *const how[3] = {
        "each point is a cut-off down the ranked list: the share of the customers picked who "
        "buy (precision, up) against the share of all buyers they include (recall, right); the "
        "higher above the base-rate line, the better the targeting.",
        "customers grouped by predicted probability: a point on the diagonal means those "
        "predicted to buy 20% of the time did buy 20% of the time; below it the model promises "
        "too much, above it too little.",
        "the share of all buyers reached (up) when the best-scored share of customers is "
        "contacted (right); the gap above the random line is what targeting adds, and the "
        "baselines show how much of it simple rules already get."};
    static const char *const alt[3] = {"precision-recall curve", "calibration curve",
                                       "cumulative gains"};
    int drawn = 0;
    fputs("<div class=\"figs\">\n", b);
    for (int k = 0; k < 3; k++) {
        char dst[PROMO_REPORT_PATH_MAX];
        if (place_chart(c, r->plot_paths[k], dst, sizeof dst)) {
            figure(c, dst, alt[k], how[k]);
            drawn++;
        }
    }
    fputs("</div>\n", b);
    if (!drawn)
        todo(c, "No charts were drawn when this model was trained (gnuplot missing?).",
             "promo train --model propensity --target <T>");
    if (!c->f.prop && x->fitted) {
        c->f.prop = 1;
        snprintf(c->f.prop_what, sizeof c->f.prop_what, "%s", what);
        c->f.prop_n = x->m.n;
        c->f.prop_pos = x->m.n_pos;
        c->f.prop_lift = x->m.lift_top_decile;
        c->f.prop_auc = x->m.auc;
        c->f.prop_horizon = r->horizon_days;
    }
}

static int section_propensity(ctx *c)
{
    promo_propensity_report *r = NULL;
    size_t n = 0;
    int rc = promo_report_propensity_read(c->s, &r, &n);
    if (rc)
        return rc;
    section_open(c, PROMO_REPORT_PROPENSITY);
    if (n == 0) {
        todo(c, "No propensity model has been trained and evaluated in this workspace.",
             "promo train --ws DIR --model propensity --target product:ID");
    } else {
        c->res->present[PROMO_REPORT_PROPENSITY] = 1;
        fputs("<p>The model estimates each customer's probability of buying in the next "
              "window from their history up to the cutoff; it is scored on a later window that "
              "no model saw, beside simple baselines (popularity, RFM).</p>\n",
              c->body);
        for (size_t k = 0; k < n; k++)
            propensity_one(c, &r[k]);
    }
    fputs("</section>\n", c->body);
    promo_free(r);
    return PROMO_OK;
}

/* ------------------------------------------------------------------- uplift ---- */

#define UP_TASK   "uplift"
#define UP_TARGET "workspace"

/* The treatment arms named in the stored uplift rows ("qini_coef:<arm>" of the learner). */
static size_t uplift_arms(const ctx *c, const char *learner, char arms[][64], size_t max)
{
    size_t n = 0;
    const promo_column *ct = promo_table_column(c->ev, "task"),
                       *cm = promo_table_column(c->ev, "model"),
                       *cx = promo_table_column(c->ev, "metric");
    for (size_t i = 0; i < c->ev->n_rows && n < max; i++) {
        const char *m = promo_column_str(cx, i);
        if (strcmp(promo_column_str(ct, i), UP_TASK) || strcmp(promo_column_str(cm, i), learner) ||
            strncmp(m, "qini_coef:", 10))
            continue;
        snprintf(arms[n++], 64, "%s", m + 10);
    }
    return n;
}

/* The uplift model's held-out randomised test rows with their predicted effects: from the
 * predictions file training wrote, or recomputed from the stored model on the same time split.
 * Loaded once per report. */
typedef struct qsrc {
    int state;                                /* 0 not tried, 1 loaded, -1 failed (why) */
    char why[1600];                           /* why not */
    char source[64];                          /* how the rows were obtained */
    char where[PROMO_REPORT_PATH_MAX];        /* the file, or the model */
    int from_file;                            /* 1: rows from a predictions file */
    int n_arms;                               /* control first */
    char names[PROMO_UPLIFT_WS_MAX_ARMS][64]; /* arm names */
    size_t n;                                 /* rows */
    int32_t *arm;                             /* n arm indices */
    double *y;                                /* n outcomes */
    double *eff;                              /* n x (n_arms - 1) predicted effects */
} qsrc;

static void qsrc_free(qsrc *q)
{
    promo_free(q->arm);
    promo_free(q->y);
    promo_free(q->eff);
    q->arm = NULL;
    q->y = q->eff = NULL;
}

static int qsrc_alloc(qsrc *q, size_t n)
{
    size_t E = q->n_arms > 1 ? (size_t)q->n_arms - 1 : 1;
    q->arm = promo_mallocn(n + 1, sizeof *q->arm);
    q->y = promo_mallocn(n + 1, sizeof *q->y);
    q->eff = promo_mallocn((n + 1) * E, sizeof *q->eff);
    if (q->arm && q->y && q->eff)
        return PROMO_OK;
    qsrc_free(q);
    snprintf(q->why, sizeof q->why, "out of memory");
    return PROMO_ENOMEM;
}

/* From a predictions CSV (report_uplift.h: promotion_id, customer_id, arm, part, randomised,
 * y, effect_<arm>...). 0 or -1 (reason in q->why). */
static int qsrc_from_file(qsrc *q, const char *path)
{
    promo_table *t = NULL;
    promo_csv_options o = promo_csv_options_default();
    snprintf(q->where, sizeof q->where, "%s", path);
    q->from_file = 1;
    if (promo_csv_read(path, &o, &t, NULL)) {
        snprintf(q->why, sizeof q->why, "%s", promo_last_error());
        promo_clear_error();
        return -1;
    }
    int rc = -1;
    const promo_column *ca = promo_table_column(t, "arm"), *cp = promo_table_column(t, "part"),
                       *cr = promo_table_column(t, "randomised"), *cy = promo_table_column(t, "y");
    const promo_column *ce[PROMO_UPLIFT_WS_MAX_ARMS];
    q->n_arms = 1;
    snprintf(q->names[0], sizeof q->names[0], "control");
    for (size_t j = 0; j < t->n_cols && q->n_arms < PROMO_UPLIFT_WS_MAX_ARMS; j++)
        if (!strncmp(t->cols[j]->name, "effect_", 7)) {
            ce[q->n_arms - 1] = t->cols[j];
            snprintf(q->names[q->n_arms++], sizeof q->names[0], "%.63s", t->cols[j]->name + 7);
        }
    if (!ca || !cp || !cr || !cy || ca->type != PROMO_COL_STRING || cp->type != PROMO_COL_STRING ||
        q->n_arms < 2) {
        snprintf(q->why, sizeof q->why,
                 "%s is not a predictions file (columns arm, part, randomised, y, effect_<arm>)",
                 path);
        goto done;
    }
    if (qsrc_alloc(q, t->n_rows))
        goto done;
    size_t E = (size_t)q->n_arms - 1;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(promo_column_str(cp, i), "test") || num_at(cr, i) != 1)
            continue;
        const char *an = promo_column_str(ca, i);
        int a = 0;
        while (a < q->n_arms && strcmp(q->names[a], an))
            a++;
        if (a == q->n_arms)
            continue;
        q->arm[q->n] = a;
        q->y[q->n] = num_at(cy, i);
        for (size_t e = 0; e < E; e++)
            q->eff[q->n * E + e] = num_at(ce[e], i);
        q->n++;
    }
    snprintf(q->source, sizeof q->source, "held-out predictions");
    rc = 0;
done:
    promo_table_free(t);
    return rc;
}

/* Recomputed: the stored model scores the test rows of the same time split (its cutoff and
 * window; the split must give the stored split time and test count, the model's features the
 * rows' columns). 0 or -1 (reason in q->why). */
static int qsrc_from_model(ctx *c, qsrc *q)
{
    const char *mp = ev_text(c, UP_TASK, UP_TARGET, "", "model_path");
    double split = NAN, n_test = NAN;
    ev_num(c, UP_TASK, UP_TARGET, "", "split_ts", &split);
    ev_num(c, UP_TASK, UP_TARGET, "", "n_test", &n_test);
    q->from_file = 0;
    snprintf(q->where, sizeof q->where, "%s", mp ? mp : "?");
    if (!mp || !*mp) {
        snprintf(q->why, sizeof q->why, "the evaluation names no model file");
        return -1;
    }
    char *buf = NULL, **kv = NULL;
    size_t len = 0, nkv = 0;
    promo_uplift *m = NULL;
    promo_panel d;
    memset(&d, 0, sizeof d);
    promo_uplift_ws_rows r;
    memset(&r, 0, sizeof r);
    float *xt = NULL, *ft = NULL;
    size_t *idx = NULL;
    int rc = -1;
    if (promo_infile_read(mp, 0, &buf, &len) || promo_uplift_load(buf, len, &m, &kv, &nkv)) {
        snprintf(q->why, sizeof q->why, "%s", promo_last_error());
        promo_clear_error();
        goto done;
    }
    const char *as_of = promo_uplift_attr(kv, nkv, "as_of"),
               *win = promo_uplift_attr(kv, nkv, "window_days"),
               *feat = promo_uplift_attr(kv, nkv, "features");
    if (!as_of || !win || !feat) {
        snprintf(q->why, sizeof q->why, "%s does not say its cutoff, window and features", mp);
        goto done;
    }
    promo_uplift_ws_params rp = promo_uplift_ws_params_default();
    rp.as_of = strtoll(as_of, NULL, 10);
    rp.window_days = strtod(win, NULL);
    rp.n_threads = c->p->n_threads;
    if (promo_panel_load_tables(c->s, c->p->n_threads, &d) ||
        promo_uplift_ws_rows_build(&d, &rp, &r)) {
        snprintf(q->why, sizeof q->why, "%s", promo_last_error());
        promo_clear_error();
        goto done;
    }
    /* the same split and the same columns, or the figures would not be this model's */
    size_t fl = 0;
    int same = r.d == promo_uplift_n_features(m) && (double)r.split_ts == split &&
               (double)r.n_test == n_test && r.n_arms == promo_uplift_n_arms(m) &&
               r.n_arms <= PROMO_UPLIFT_WS_MAX_ARMS;
    for (size_t j = 0; same && j < r.d; j++) {
        size_t k = strlen(r.names[j]);
        same = !strncmp(feat + fl, r.names[j], k) && (feat[fl + k] == ',' || !feat[fl + k]);
        fl += k + 1;
    }
    if (!same) {
        snprintf(q->why, sizeof q->why,
                 "the workspace's promotion log no longer gives the split the model was "
                 "evaluated on (trained with other --test-frac or data since?)");
        goto done;
    }
    size_t nt = 0, E = (size_t)r.n_arms - 1;
    q->n_arms = r.n_arms;
    for (int a = 0; a < r.n_arms; a++)
        snprintf(q->names[a], sizeof q->names[a], "%.63s", r.arm_names[a]);
    for (size_t i = 0; i < r.n; i++)
        nt += r.part[i] == PROMO_UPLIFT_WS_TEST && r.randomised[i];
    xt = promo_mallocn(nt + 1, r.d * sizeof *xt);
    ft = promo_mallocn(nt + 1, (E ? E : 1) * sizeof *ft);
    idx = promo_mallocn(nt + 1, sizeof *idx);
    if (!xt || !ft || !idx || qsrc_alloc(q, nt)) {
        snprintf(q->why, sizeof q->why, "out of memory");
        goto done;
    }
    for (size_t i = 0, k = 0; i < r.n; i++)
        if (r.part[i] == PROMO_UPLIFT_WS_TEST && r.randomised[i]) {
            memcpy(xt + k * r.d, r.X + i * r.d, r.d * sizeof *xt);
            idx[k++] = i;
        }
    if (nt && promo_uplift_predict(m, xt, nt, r.d, ft)) {
        snprintf(q->why, sizeof q->why, "%s", promo_last_error());
        promo_clear_error();
        goto done;
    }
    for (size_t k = 0; k < nt; k++) {
        q->arm[k] = r.arm[idx[k]];
        q->y[k] = r.y[idx[k]];
        for (size_t e = 0; e < E; e++)
            q->eff[k * E + e] = ft[k * E + e];
    }
    q->n = nt;
    snprintf(q->source, sizeof q->source, "recomputed on the test split");
    rc = 0;
done:
    promo_free(xt);
    promo_free(ft);
    promo_free(idx);
    promo_uplift_ws_rows_free(&r);
    promo_panel_free(&d);
    promo_uplift_free(m);
    promo_free(kv);
    promo_free(buf);
    return rc;
}

/* The Qini coefficient of arm a on q's rows into *qc and the curve into cu. 0 or -1 (why). */
static int qsrc_eval(qsrc *q, int a, double *qc, promo_uplift_curve *cu, size_t *n_rows)
{
    size_t E = (size_t)q->n_arms - 1, m = 0;
    double *sc = promo_mallocn(q->n + 1, sizeof *sc), *y = promo_mallocn(q->n + 1, sizeof *y);
    int32_t *tr = promo_mallocn(q->n + 1, sizeof *tr);
    int rc = -1;
    if (!sc || !y || !tr) {
        snprintf(q->why, sizeof q->why, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < q->n; i++) {
        if (q->arm[i] != 0 && q->arm[i] != a)
            continue;
        sc[m] = q->eff[i * E + (size_t)a - 1];
        y[m] = q->y[i];
        tr[m++] = q->arm[i] == a;
    }
    promo_uplift_metrics um;
    if (m < 2 || promo_uplift_evaluate(sc, tr, y, m, 101, &um, cu)) {
        snprintf(q->why, sizeof q->why, "no randomised test rows of both arms to evaluate");
        promo_clear_error();
        goto done;
    }
    *qc = um.qini_coef;
    *n_rows = m;
    rc = 0;
done:
    promo_free(sc);
    promo_free(y);
    promo_free(tr);
    return rc;
}

/* The held-out rows, once: the predictions file (the one named, or <ws>/out's), else (no file
 * named) recomputed from the model. */
static qsrc *qsrc_get(ctx *c, qsrc *q)
{
    if (q->state)
        return q->state > 0 ? q : NULL;
    char path[PROMO_REPORT_PATH_MAX];
    if (c->p->uplift_predictions)
        snprintf(path, sizeof path, "%s", c->p->uplift_predictions);
    else
        join(path, sizeof path, promo_store_out_dir(c->s), PROMO_REPORT_UPLIFT_PRED);
    struct stat st;
    if (stat(path, &st) == 0 && qsrc_from_file(q, path) == 0) {
        q->state = 1;
        return q;
    }
    if (c->p->uplift_predictions) {
        if (!q->why[0])
            snprintf(q->why, sizeof q->why, "no file %s", path);
        q->state = -1;
        return NULL;
    }
    q->state = qsrc_from_model(c, q) == 0 ? 1 : -1;
    return q->state > 0 ? q : NULL;
}

/* The Qini curve of arm `arm` on the held-out randomised test rows, drawn only when those
 * rows reproduce the stored Qini coefficient. Returns 1 when drawn (chart path into png), 0
 * otherwise with the reason in why. A predictions file of another training is replaced by
 * the recomputation when no file was named. */
static int qini_chart(ctx *c,
                      qsrc *q,
                      const char *arm,
                      double stored_qini,
                      char *png,
                      size_t pn,
                      char *why,
                      size_t wn)
{
    promo_uplift_curve cu;
    memset(&cu, 0, sizeof cu);
    double qc = NAN;
    size_t m = 0;
    int ok = 0;
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
        if (!qsrc_get(c, q)) {
            snprintf(why, wn, "%s", q->why);
            return 0;
        }
        int a = 1;
        while (a < q->n_arms && strcmp(q->names[a], arm))
            a++;
        if (a == q->n_arms) {
            snprintf(why, wn, "%s has no arm %s", q->where, arm);
        } else if (qsrc_eval(q, a, &qc, &cu, &m)) {
            snprintf(why, wn, "%s", q->why);
        } else if (!(fabs(qc - stored_qini) <= 1e-6 * (1 + fabs(stored_qini)))) {
            snprintf(why, wn,
                     "the held-out rows of %s give a Qini coefficient of %.4f, not the stored "
                     "%.4f: they come from another training",
                     q->where, qc, stored_qini);
            promo_uplift_curve_free(&cu);
        } else {
            ok = 1;
            break;
        }
        /* a stale default file: recompute from the model instead, once */
        if (!q->from_file || c->p->uplift_predictions)
            return 0;
        qsrc_free(q);
        q->state = qsrc_from_model(c, q) == 0 ? 1 : -1;
    }
    if (!ok)
        return 0;
    /* x as a share of the test rows, y as incremental buyers per 100 test customers (the raw
     * curve is in rows, which says nothing to a marketer). */
    double scale = 100.0 / (double)m;
    for (size_t k = 0; k < cu.n_points; k++) {
        cu.qini[k] *= scale;
        cu.random_qini[k] *= scale;
        cu.frac[k] *= 100;
    }
    char title[400];
    snprintf(title, sizeof title,
             "Qini curve: arm %s, %zu randomised test rows (Qini coefficient %.3f)", arm, m, qc);
    promo_plot pl = promo_plot_default();
    pl.title = title;
    pl.xlabel = "% of customers targeted, highest predicted effect first";
    pl.ylabel = "extra buyers per 100 test customers (Qini)";
    pl.xmin = 0;
    pl.xmax = 100;
    pl.key = "bottom right";
    /* The oracle's curve is left out: it rises many times higher and would flatten the
     * model's (the Qini coefficient in the title is the model's area relative to it). */
    promo_plot_series s[2] = {{"uplift model", cu.frac, cu.qini, cu.n_points, "lines"},
                              {"random targeting", cu.frac, cu.random_qini, cu.n_points, "lines"}};
    char name[160];
    snprintf(name, sizeof name, "report_qini_%s.png", arm);
    for (char *x = name; *x; x++)
        if (*x == '/' || *x == ' ')
            *x = '_';
    join(png, pn, c->out_dir, name);
    if (promo_plot_lines(&pl, s, 2, png)) {
        snprintf(why, wn, "%s", promo_last_error());
        promo_clear_error();
        ok = 0;
    }
    promo_uplift_curve_free(&cu);
    return ok;
}

void promo_report_uplift_hint(promo_store *s, char *out, size_t n, int *has_exposures)
{
    promo_store_table_info *ti = NULL;
    int has = promo_store_has_table(s, "exposures") && !promo_store_describe(s, "exposures", &ti) &&
              ti->n_rows > 0;
    promo_store_table_info_free(ti);
    promo_clear_error(); /* a missing table is the answer, not an error */
    const char *ws = promo_store_ws_dir(s);
    if (has)
        snprintf(out, n,
                 "promo train --ws %s --model uplift --predictions-out %s/out/"
                 "uplift_predictions.csv",
                 ws, ws);
    else
        snprintf(out, n,
                 "an uplift model learns from a promotion log (exposures: who was offered "
                 "what, with a randomised control) and %s has none: ingest the exposures "
                 "(and responses) first, then promo train --ws %s --model uplift",
                 ws, ws);
    if (has_exposures)
        *has_exposures = has;
}

static int section_uplift(ctx *c)
{
    FILE *b = c->body;
    section_open(c, PROMO_REPORT_UPLIFT);
    const char *learner = c->ev ? ev_text(c, UP_TASK, UP_TARGET, "", "learner") : NULL;
    if (!learner) {
        char hint[2600];
        int has = 0;
        promo_report_uplift_hint(c->s, hint, sizeof hint, &has);
        todo(c,
             has ? "No uplift model: it learns from the promotion log who buys because of an "
                   "offer (not who would buy anyway)."
                 : "No uplift model, and none can be trained yet: it learns from the promotion "
                   "log who buys because of an offer (not who would buy anyway).",
             has ? hint : NULL);
        if (!has) {
            fputs("<p class=\"todo\">", c->body);
            esc(c->body, hint);
            fputs("</p>\n", c->body);
        }
        fputs("</section>\n", b);
        return PROMO_OK;
    }
    c->res->present[PROMO_REPORT_UPLIFT] = 1;
    double as_of = NAN, split = NAN, n_train = NAN, n_test = NAN, n_rand = NAN, w = NAN;
    ev_num(c, UP_TASK, UP_TARGET, "", "as_of", &as_of);
    ev_num(c, UP_TASK, UP_TARGET, "", "split_ts", &split);
    ev_num(c, UP_TASK, UP_TARGET, "", "n_train", &n_train);
    ev_num(c, UP_TASK, UP_TARGET, "", "n_test", &n_test);
    ev_num(c, UP_TASK, UP_TARGET, "", "n_test_randomised", &n_rand);
    ev_num(c, UP_TASK, UP_TARGET, "", "weighting", &w);
    char a[24] = "?", sp[24] = "?";
    if (isfinite(as_of))
        promo_time_format((int64_t)as_of, 1, a, sizeof a);
    if (isfinite(split))
        promo_time_format((int64_t)split, 1, sp, sizeof sp);
    fprintf(b,
            "<p>%s-learner fitted on %.0f exposures of the promotion log before %s; evaluated on "
            "the %.0f randomised exposures of the %.0f after it (data as of %s)%s. Ranked by the "
            "predicted effect of the offer, against ranking by the predicted chance to buy "
            "(what a propensity model does).</p>\n",
            learner, n_train, sp, n_rand, n_test, a,
            w == 1 ? "; the non-random part of the log is corrected by propensity weighting" : "");
    char arms[8][64];
    size_t na = uplift_arms(c, learner, arms, 8);
    qsrc qs;
    memset(&qs, 0, sizeof qs);
    fputs("<table><tr><th>arm</th><th>ranking</th><th>Qini coef.</th><th>AUUC</th>"
          "<th>uplift@10%</th><th>uplift@20%</th><th>uplift@30%</th><th>ATE</th>"
          "<th>treated</th><th>control</th></tr>\n",
          b);
    static const char *const mets[] = {"qini_coef",    "auuc", "uplift_at_10", "uplift_at_20",
                                       "uplift_at_30", "ate",  "n_treated",    "n_control"};
    for (size_t k = 0; k < na; k++) {
        for (int which = 0; which < 2; which++) {
            const char *model = which ? "outcome_ranking" : learner;
            double v0;
            char key[640];
            snprintf(key, sizeof key, "qini_coef:%s", arms[k]);
            if (!ev_num(c, UP_TASK, UP_TARGET, model, key, &v0))
                continue;
            fprintf(b, "<tr%s><td>", which ? "" : " class=\"ours\"");
            esc(b, arms[k]);
            fprintf(b, "</td><td>%s</td>", which ? "predicted outcome" : "uplift model");
            for (size_t j = 0; j < sizeof mets / sizeof *mets; j++) {
                double v = NAN;
                snprintf(key, sizeof key, "%s:%s", mets[j], arms[k]);
                ev_num(c, UP_TASK, UP_TARGET, model, key, &v);
                cell(b, j >= 6 ? "%.0f" : "%.4f", v);
            }
            fputs("</tr>\n", b);
        }
    }
    fputs("</table>\n", b);
    for (size_t k = 0; k < na; k++) {
        double q = NAN;
        char key[640], png[PROMO_REPORT_PATH_MAX], why[1600];
        snprintf(key, sizeof key, "qini_coef:%s", arms[k]);
        ev_num(c, UP_TASK, UP_TARGET, learner, key, &q);
        if (k == 0) {
            c->f.uplift = 1;
            snprintf(c->f.up_arm, sizeof c->f.up_arm, "%.63s", arms[k]);
            snprintf(key, sizeof key, "uplift_at_10:%s", arms[k]);
            c->f.up_at10 = NAN;
            ev_num(c, UP_TASK, UP_TARGET, learner, key, &c->f.up_at10);
            snprintf(key, sizeof key, "ate:%s", arms[k]);
            c->f.up_ate = NAN;
            ev_num(c, UP_TASK, UP_TARGET, learner, key, &c->f.up_ate);
        }
        if (qini_chart(c, &qs, arms[k], q, png, sizeof png, why, sizeof why)) {
            figure(c, png, "Qini curve",
                   "customers sorted by the predicted effect of the offer, best first: the curve "
                   "is how many more buyers the offer made among the share contacted (right), "
                   "measured on held-out randomised exposures; above the straight random line the "
                   "model finds the persuadable customers first (the Qini coefficient in the "
                   "title: 0 is random, 1 the best any ranking could do).");
            snprintf(c->res->qini_source, sizeof c->res->qini_source, "%s", qs.source);
            if (qs.from_file)
                note(b, "meta",
                     "The curve's rows: the held-out predictions training wrote (%s), which "
                     "reproduce the stored Qini coefficient.",
                     qs.where);
            else
                note(b, "meta",
                     "The curve's rows: the stored model (%s) scored again on the randomised "
                     "test exposures of its own time split, which reproduce the stored Qini "
                     "coefficient.",
                     qs.where);
        } else {
            char msg[1800];
            snprintf(msg, sizeof msg, "No Qini curve for arm %s: %s.", arms[k], why);
            todo(c, msg,
                 "promo train --ws DIR --model uplift --predictions-out DIR/out/"
                 "uplift_predictions.csv");
        }
    }
    qsrc_free(&qs);
    fputs("</section>\n", b);
    return PROMO_OK;
}

/* --------------------------------------------------------------- strategies ---- */

int promo_report_compare_chart(const promo_compare *cm,
                               unsigned n_draws,
                               double interval,
                               const char *path)
{
    double x[PROMO_STRATEGY_COUNT], y[PROMO_STRATEGY_COUNT], ex[2 * PROMO_STRATEGY_COUNT],
        ey[2 * PROMO_STRATEGY_COUNT];
    const char *names[PROMO_STRATEGY_COUNT];
    size_t n = 0;
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++) {
        const promo_compare_row *r = &cm->rows[k];
        if (!r->available)
            continue;
        x[n] = ex[2 * n] = ex[2 * n + 1] = (double)n;
        y[n] = r->sim.incremental_profit.mean;
        ey[2 * n] = r->sim.incremental_profit.lo;
        ey[2 * n + 1] = r->sim.incremental_profit.hi;
        names[n++] = promo_strategy_name((promo_strategy)k);
    }
    if (n == 0)
        return promo_fail(PROMO_EINPUT, "no strategy could be played");
    char title[700], band[64], with[300] = "";
    if (cm->has_bundle && cm->bundle.product_id[0])
        snprintf(with, sizeof with, ", with %.200s as a bundle", cm->bundle.product_id);
    snprintf(title, sizeof title,
             "Incremental profit by strategy: %.200s at %.0f%% off%s\n%zu customers, %u paired "
             "simulator draws",
             cm->product_id, cm->discount_pct, with, cm->n_customers, n_draws);
    snprintf(band, sizeof band, "%.0f%% interval (ends)", 100 * interval);
    promo_plot pl = promo_plot_default();
    pl.title = title;
    pl.ylabel = "incremental profit (LKR)";
    pl.xlabel = "strategy (oracle: knows the true effects, the best possible)";
    pl.xmin = -0.6;
    pl.xmax = (double)n - 0.4;
    pl.xtic_labels = names;
    pl.n_xtics = n;
    pl.key = "top left";
    pl.width_px = 1000;
    promo_plot_series s[2] = {{"mean incremental profit", x, y, n, "boxes"},
                              {band, ex, ey, 2 * n, "points"}};
    return promo_plot_lines(&pl, s, 2, path);
}

static int section_strategies(ctx *c)
{
    FILE *b = c->body;
    section_open(c, PROMO_REPORT_STRATEGIES);
    if (!c->p->compare) {
        todo(c, "The strategy comparison was not asked for (--no-compare).",
             "promo report --ws DIR");
        fputs("</section>\n", b);
        return PROMO_OK;
    }
    if (!promo_store_has_table(c->s, "truth_params")) {
        todo(c,
             "Strategies are played in a generated world's simulator, whose true customer "
             "responses are known; this workspace holds real data. Measure real campaigns with "
             "a holdout instead (promo measure), or try a generated world.",
             "promo generate --ws DIR2 && promo demo --ws DIR2");
        fputs("</section>\n", b);
        return PROMO_OK;
    }
    char pid[256];
    int rc = PROMO_OK;
    if (c->p->product_id)
        snprintf(pid, sizeof pid, "%s", c->p->product_id);
    else if ((rc = promo_campaign_best_seller(c->s, pid, sizeof pid)))
        return rc;
    promo_compare_params cp = promo_compare_params_default();
    cp.product_id = pid;
    cp.discount_pct = c->p->discount_pct;
    cp.n_target = c->p->n_target;
    cp.sim.n_draws = c->p->n_draws ? c->p->n_draws : cp.sim.n_draws;
    cp.n_threads = c->p->n_threads;
    c->f.interval = cp.sim.interval;
    promo_compare *cm = &c->f.cmp;
    if ((rc = promo_compare_run(c->s, &cp, cm)))
        return rc;
    c->f.compare = 1;
    c->res->present[PROMO_REPORT_STRATEGIES] = 1;
    const char *nm = product_name(c, pid);
    if (*nm)
        snprintf(c->f.cmp_what, sizeof c->f.cmp_what, "%.200s (%.80s)", nm, pid);
    else
        snprintf(c->f.cmp_what, sizeof c->f.cmp_what, "%.200s", pid);
    fprintf(b, "<p>One offer, %.0f%% off ", cm->discount_pct);
    esc(b, nm);
    fputs(*nm ? " (" : "", b);
    esc(b, pid);
    fprintf(b,
            "%s, sent the day after the history by each strategy and played %u times in the "
            "simulator with the same random draws for all (a customer chosen by two strategies "
            "buys or not alike in both). The top-N strategies contact N = %zu of the %zu "
            "customers; the optimized one picks its own count and discount. Money in LKR; "
            "intervals are %.0f%% of the draws.</p>\n",
            *nm ? ")" : "", cp.sim.n_draws, cm->n_target, cm->n_customers, 100 * cp.sim.interval);
    fputs("<table><tr><th>strategy</th><th>off %</th><th>contacts</th><th>incremental "
          "buyers</th><th>incremental profit</th><th>cost per incremental buyer</th>"
          "<th>ROI</th></tr>\n",
          b);
    fprintf(c->text, "\nstrategy comparison: %s at %.0f%% off, %zu customers, N = %zu, %u draws\n",
            pid, cm->discount_pct, cm->n_customers, cm->n_target, cp.sim.n_draws);
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++) {
        const promo_compare_row *r = &cm->rows[k];
        const char *sn = promo_strategy_name((promo_strategy)k);
        fprintf(b, "<tr%s><td>%s</td>", k == PROMO_STRATEGY_OPTIMIZED ? " class=\"ours\"" : "", sn);
        if (!r->available) {
            fputs("<td colspan=\"6\">", b);
            esc(b, r->note);
            fputs("</td></tr>\n", b);
            fprintf(c->text, "  %-11s unavailable: %s\n", sn, r->note);
            continue;
        }
        const promo_sim_result *m = &r->sim;
        fprintf(b, "<td>%.0f</td><td>%zu</td><td>%.1f [%.0f, %.0f]</td><td>%.0f [%.0f, %.0f]</td>",
                r->discount_pct, r->contacts, m->incremental_conversions.mean,
                m->incremental_conversions.lo, m->incremental_conversions.hi,
                m->incremental_profit.mean, m->incremental_profit.lo, m->incremental_profit.hi);
        cell(b, "%.1f", r->cost_per_incremental_conversion);
        cell(b, "%.2f", m->roi.mean);
        fputs("</tr>\n", b);
        fprintf(c->text,
                "  %-11s off %.0f%% contacts %zu incremental_conversions %.2f [%.0f, %.0f] "
                "incremental_profit %.2f [%.0f, %.0f] cost_per_incremental_conversion %.2f roi "
                "%.3f\n",
                sn, r->discount_pct, r->contacts, m->incremental_conversions.mean,
                m->incremental_conversions.lo, m->incremental_conversions.hi,
                m->incremental_profit.mean, m->incremental_profit.lo, m->incremental_profit.hi,
                r->cost_per_incremental_conversion, m->roi.mean);
    }
    fputs("</table>\n", b);
    const promo_compare_row *o = &cm->rows[PROMO_STRATEGY_OPTIMIZED],
                            *bc = &cm->rows[PROMO_STRATEGY_BROADCAST];
    if (o->available && bc->available)
        snprintf(c->res->compare_line, sizeof c->res->compare_line,
                 "optimized campaign for %.200s: %zu customers at %.0f%% off, simulated "
                 "incremental profit %.0f LKR (%.0f%% interval %.0f to %.0f); broadcast to %zu: "
                 "%.0f LKR (%.0f to %.0f)",
                 pid, o->contacts, o->discount_pct, o->sim.incremental_profit.mean,
                 100 * cp.sim.interval, o->sim.incremental_profit.lo, o->sim.incremental_profit.hi,
                 bc->contacts, bc->sim.incremental_profit.mean, bc->sim.incremental_profit.lo,
                 bc->sim.incremental_profit.hi);
    char png[PROMO_REPORT_PATH_MAX];
    join(png, sizeof png, c->out_dir, "report_strategies.png");
    if (promo_report_compare_chart(cm, cp.sim.n_draws, cp.sim.interval, png)) {
        note(b, "warn", "No chart: %s", promo_last_error());
        promo_clear_error();
    } else {
        figure(c, png, "incremental profit by strategy",
               "each bar is a strategy's mean simulated incremental profit for the same offer "
               "(what it earns beyond what the customers would have bought anyway, after the "
               "discount and contact costs); the two points are its interval, and a bar below "
               "zero is a campaign that loses money.");
        snprintf(c->res->compare_chart, sizeof c->res->compare_chart, "%s", png);
    }
    fputs("</section>\n", b);
    return PROMO_OK;
}

/* ----------------------------------------------------------------- segments ---- */

static int segment_method_rank(const char *m)
{
    static const char *const order[] = {"personas", "kmeans", "hdbscan", "tiers"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(m, order[k]))
            return k;
    return -1;
}

static int segments_chart(
    ctx *c, const promo_segment_profile *pr, size_t n, const char *const *names, const char *path)
{
    double *x = promo_mallocn(n, sizeof *x), *rs = promo_mallocn(n, sizeof *rs),
           *ss = promo_mallocn(n, sizeof *ss);
    int rc = PROMO_ENOMEM;
    if (x && rs && ss) {
        for (size_t k = 0; k < n; k++) {
            x[k] = (double)k;
            rs[k] = 100 * pr[k].revenue_share;
            ss[k] = 100 * pr[k].size_share;
        }
        char title[200];
        snprintf(title, sizeof title, "Segments (%s): share of revenue and of customers",
                 c->f.seg_method);
        promo_plot pl = promo_plot_default();
        pl.title = title;
        pl.ylabel = "% of all revenue / of all customers";
        pl.xlabel = "segment";
        pl.xmin = -0.6;
        pl.xmax = (double)n - 0.4;
        pl.ymin = 0;
        double top = 0;
        for (size_t k = 0; k < n; k++)
            top = fmax(top, fmax(rs[k], ss[k]));
        pl.ymax = top * 1.3 + 1; /* room for the legend above the tallest bar */
        pl.xtic_labels = names;
        pl.n_xtics = n;
        pl.key = "top right";
        pl.width_px = 900;
        promo_plot_series s[2] = {{"share of revenue", x, rs, n, "boxes"},
                                  {"share of customers", x, ss, n, "points"}};
        rc = promo_plot_lines(&pl, s, 2, path);
    }
    promo_free(x);
    promo_free(rs);
    promo_free(ss);
    return rc;
}

static int section_segments(ctx *c)
{
    FILE *b = c->body;
    section_open(c, PROMO_REPORT_SEGMENTS);
    if (!c->p->segments || !promo_store_has_table(c->s, "segments")) {
        if (!c->p->segments)
            todo(c, "The segment profiles were not asked for (--no-segments).",
                 "promo report --ws DIR");
        else
            todo(c, "No segmentation is stored in this workspace.",
                 "promo segment --ws DIR --method personas");
        fputs("</section>\n", b);
        return PROMO_OK;
    }
    promo_table *t = NULL;
    promo_segment_result sr;
    memset(&sr, 0, sizeof sr);
    promo_dict *ids = NULL;
    uint32_t *rows = NULL;
    int32_t *labels = NULL;
    promo_segment_profile *pr = NULL, pop;
    size_t npr = 0;
    char **persona = NULL;
    int rc = promo_store_read_table(c->s, "segments", &t);
    if (rc)
        return rc;
    const promo_column *cc = promo_table_column(t, "customer_id"),
                       *cm = promo_table_column(t, "method"),
                       *cs = promo_table_column(t, "segment"),
                       *cp = promo_table_column(t, "persona"), *ca = promo_table_column(t, "as_of");
    if (!cc || !cm || !cs || cc->type != PROMO_COL_STRING || cm->type != PROMO_COL_STRING) {
        rc = promo_fail(PROMO_EINPUT, "table segments: no customer_id, method or segment column");
        goto done;
    }
    /* the most descriptive method stored */
    int best = -1;
    for (size_t i = 0; i < t->n_rows; i++) {
        int r = segment_method_rank(promo_column_str(cm, i));
        if (r >= 0 && (best < 0 || r < best))
            best = r;
    }
    static const char *const order[] = {"personas", "kmeans", "hdbscan", "tiers"};
    if (best < 0) {
        todo(c, "The stored segments are of no method this promo knows.",
             "promo segment --ws DIR --method personas");
        goto close;
    }
    snprintf(c->f.seg_method, sizeof c->f.seg_method, "%s", order[best]);
    int64_t as_of = 0;
    int n_labels = 0;
    rc = PROMO_ENOMEM;
    if (!(ids = promo_dict_new()))
        goto done;
    /* stored label per customer id (dictionary index -> label) */
    int32_t *lab = promo_mallocn(t->n_rows + 1, sizeof *lab);
    if (!lab)
        goto done;
    labels = lab;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(promo_column_str(cm, i), order[best]))
            continue;
        const char *id = promo_column_str(cc, i);
        uint32_t k = promo_dict_intern(ids, id, strlen(id));
        if (k == PROMO_DICT_NONE)
            goto done;
        double v = num_at(cs, i);
        if (isfinite(v) && (v > 100000 || v < -1)) {
            rc = promo_fail(PROMO_EINPUT, "table segments: segment %.0f of %s is out of range", v,
                            id);
            goto done;
        }
        lab[k] = isfinite(v) ? (int32_t)v : -1;
        if (lab[k] + 1 > n_labels)
            n_labels = lab[k] + 1;
        double a = num_at(ca, i);
        if (isfinite(a) && !as_of)
            as_of = (int64_t)a;
    }
    if (n_labels == 0) {
        rc = PROMO_OK;
        todo(c, "The stored segmentation has no segment with members.",
             "promo segment --ws DIR --method personas");
        goto close;
    }
    persona = promo_calloc((size_t)n_labels, sizeof *persona);
    if (!persona)
        goto done;
    for (size_t i = 0; cp && i < t->n_rows; i++) {
        if (strcmp(promo_column_str(cm, i), order[best]) || promo_column_is_null(cp, i))
            continue;
        double v = num_at(cs, i);
        if (isfinite(v) && v >= 0 && v < n_labels && !persona[(int)v])
            persona[(int)v] = (char *)promo_column_str(cp, i);
    }
    /* the features as of the segmentation's cutoff (tiers: no clustering is refitted) */
    promo_segment_params sp = promo_segment_params_default();
    sp.method = PROMO_SEGMENT_TIERS;
    sp.as_of = as_of;
    sp.n_threads = c->p->n_threads;
    if ((rc = promo_segment_run(c->s, &sp, &sr)))
        goto done;
    rc = PROMO_ENOMEM;
    size_t nc = sr.f->n_customers, m = 0;
    if (!(rows = promo_mallocn(nc + 1, sizeof *rows)))
        goto done;
    int32_t *lr = promo_mallocn(nc + 1, sizeof *lr);
    if (!lr)
        goto done;
    for (size_t i = 0; i < nc; i++) {
        const char *id = promo_features_customer_id(sr.f, i);
        uint32_t k = promo_dict_find(ids, id, strlen(id));
        if (k == PROMO_DICT_NONE || lab[k] < 0)
            continue;
        rows[m] = (uint32_t)i;
        lr[m++] = lab[k];
    }
    promo_free(labels);
    labels = lr;
    if ((rc = promo_segment_profiles(sr.f, rows, labels, m, n_labels, &pr, &npr, &pop)))
        goto done;
    c->res->present[PROMO_REPORT_SEGMENTS] = 1;
    c->f.segments = 1;
    c->f.seg_n = (int)npr;
    for (size_t k = 0, best_k = 0; k < npr; k++) {
        if (pr[k].revenue_share > pr[best_k].revenue_share)
            best_k = k;
        if (k + 1 == npr) {
            const promo_segment_profile *g = &pr[best_k];
            const char *pn = g->segment >= 0 && g->segment < n_labels && persona[g->segment]
                                 ? persona[g->segment]
                                 : "";
            snprintf(c->f.seg_top, sizeof c->f.seg_top,
                     "segment %d%s%s%s holds %.0f%% of the revenue with %.0f%% of the customers "
                     "(%s)",
                     g->segment, *pn ? " (" : "", pn, *pn ? ")" : "", 100 * g->revenue_share,
                     100 * g->size_share, g->description);
        }
    }
    char day[24];
    promo_time_format(sr.as_of, 1, day, sizeof day);
    fprintf(b,
            "<p>The stored <b>%s</b> segmentation, profiled on the customers' features as of %s "
            "(%zu customers in a segment).</p>\n",
            order[best], day, m);
    fputs("<table><tr><th>segment</th><th>persona</th><th>customers</th><th>% customers</th>"
          "<th>% revenue</th><th>mean spend</th><th>orders</th><th>days since last "
          "order</th><th>repeat buyers</th><th>in words</th></tr>\n",
          b);
    const char **names = promo_mallocn(npr + 1, sizeof *names);
    char(*nbuf)[48] = promo_mallocn(npr + 1, sizeof *nbuf);
    if (!names || !nbuf) {
        promo_free(names);
        promo_free(nbuf);
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < npr; k++) {
        const promo_segment_profile *g = &pr[k];
        const char *pn = g->segment >= 0 && g->segment < n_labels && persona[g->segment]
                             ? persona[g->segment]
                             : "";
        snprintf(nbuf[k], sizeof nbuf[k], "%d%s%.30s", g->segment, *pn ? " " : "", pn);
        names[k] = nbuf[k];
        fprintf(b, "<tr><td>%d</td><td>", g->segment);
        esc(b, pn);
        fprintf(b, "</td><td>%zu</td>", g->size);
        cell(b, "%.1f", 100 * g->size_share);
        cell(b, "%.1f", 100 * g->revenue_share);
        cell(b, "%.0f", g->spend);
        cell(b, "%.1f", g->frequency);
        cell(b, "%.0f", g->recency_days);
        cell(b, "%.0f%%", 100 * g->repeat_share);
        fputs("<td>", b);
        esc(b, g->description);
        fputs("</td></tr>\n", b);
    }
    fputs("</table>\n", b);
    char png[PROMO_REPORT_PATH_MAX];
    join(png, sizeof png, c->out_dir, "report_segments.png");
    if (segments_chart(c, pr, npr, names, png)) {
        note(b, "warn", "No chart: %s", promo_last_error());
        promo_clear_error();
    } else {
        figure(c, png, "segment profiles",
               "each bar is a segment's share of all revenue, the point its share of customers: "
               "a bar above its point is a segment worth more than its size (protect it), a "
               "bar below it one that buys little (grow it or spend less on it).");
    }
    promo_free(names);
    promo_free(nbuf);
close:
    rc = PROMO_OK;
done:
    fputs("</section>\n", b);
    promo_free(persona);
    promo_free(pr);
    promo_free(rows);
    promo_free(labels);
    promo_dict_free(ids);
    promo_segment_result_free(&sr);
    promo_table_free(t);
    return rc;
}

/* -------------------------------------------------------------- recommenders ---- */

static int section_recommenders(ctx *c)
{
    FILE *b = c->body;
    section_open(c, PROMO_REPORT_RECOMMENDERS);
    int any = 0;
    if (c->ev) {
        const promo_column *ct = promo_table_column(c->ev, "task"),
                           *cg = promo_table_column(c->ev, "target"),
                           *cm = promo_table_column(c->ev, "model"),
                           *cx = promo_table_column(c->ev, "metric"),
                           *cv = promo_table_column(c->ev, "value");
        size_t n = c->ev->n_rows;
        /* one table per target: models as rows, metrics (in stored order) as columns */
        for (size_t i = 0; i < n; i++) {
            if (strcmp(promo_column_str(ct, i), "recommend"))
                continue;
            const char *tg = promo_column_str(cg, i);
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = !strcmp(promo_column_str(ct, j), "recommend") &&
                       !strcmp(promo_column_str(cg, j), tg);
            if (seen)
                continue;
            any = 1;
            fputs("<h3>", b);
            esc(b, tg);
            fputs("</h3>\n<table><tr><th>model</th>", b);
            /* the metric columns: names of rows of a named model, first seen order */
            const char *mets[64];
            size_t nm = 0;
            for (size_t j = i; j < n; j++) {
                if (strcmp(promo_column_str(ct, j), "recommend") ||
                    strcmp(promo_column_str(cg, j), tg) || !*promo_column_str(cm, j) ||
                    promo_column_is_null(cv, j) ||
                    !strcmp(promo_column_str(cx, j), "train_seconds"))
                    continue;
                const char *x = promo_column_str(cx, j);
                size_t q = 0;
                while (q < nm && strcmp(mets[q], x))
                    q++;
                if (q == nm && nm < 64)
                    mets[nm++] = x;
            }
            for (size_t q = 0; q < nm; q++) {
                fputs("<th>", b);
                esc(b, mets[q]);
                fputs("</th>", b);
            }
            fputs("</tr>\n", b);
            const char *models[32];
            size_t nmod = 0;
            for (size_t j = i; j < n; j++) {
                const char *md = promo_column_str(cm, j);
                if (strcmp(promo_column_str(ct, j), "recommend") ||
                    strcmp(promo_column_str(cg, j), tg) || !*md)
                    continue;
                size_t q = 0;
                while (q < nmod && strcmp(models[q], md))
                    q++;
                if (q == nmod && nmod < 32)
                    models[nmod++] = md;
            }
            for (size_t q = 0; q < nmod; q++) {
                fputs("<tr><td>", b);
                esc(b, models[q]);
                fputs("</td>", b);
                for (size_t k = 0; k < nm; k++) {
                    double v = NAN;
                    ev_num(c, "recommend", tg, models[q], mets[k], &v);
                    cell(b, fabs(v) >= 100 ? "%.0f" : "%.4f", v);
                }
                fputs("</tr>\n", b);
            }
            fputs("</table>\n", b);
        }
    }
    if (any) {
        c->res->present[PROMO_REPORT_RECOMMENDERS] = 1;
        fputs("<p>Each recommender ranks products for every customer from the history before the "
              "cutoff; the figures are on the purchases after it (hit rates, precision, recall "
              "and NDCG of the top-K).</p>\n",
              b);
    } else {
        todo(c, "No recommender has been trained and evaluated.",
             "promo train --ws DIR --model als");
    }
    fputs("</section>\n", b);
    return PROMO_OK;
}

/* ------------------------------------------------------------------ summary ---- */

static void money(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%s%.0f LKR", v < 0 ? "-" : "", fabs(v));
}

static void summary(ctx *c, FILE *h)
{
    const facts *f = &c->f;
    fprintf(h, "<section id=\"summary\"><h2>Summary</h2>\n<ul>\n");
    if (f->prop) {
        double share = f->prop_lift * 10;
        fputs("<li><b>Who will buy.</b> ", h);
        fprintf(h,
                "Of the %zu customers, %zu bought %s in the %g days after the cutoff, a period "
                "the model never saw. The tenth of customers the model ranks highest held "
                "%.0f%% of those buyers: %.1f times what a random tenth holds (ROC AUC %.2f).",
                f->prop_n, f->prop_pos, f->prop_what, f->prop_horizon, share, f->prop_lift,
                f->prop_auc);
        fputs("</li>\n", h);
    } else {
        fputs("<li>No propensity model yet: <code>promo train --model propensity</code>.</li>\n",
              h);
    }
    if (f->uplift) {
        fputs("<li><b>Who buys because of the offer.</b> ", h);
        if (isfinite(f->up_at10) && isfinite(f->up_ate))
            fprintf(h,
                    "Among the 10%% of held-out customers the uplift model ranks highest, the "
                    "offer raised the buying rate by %.1f points, against %.1f points on average "
                    "over everyone: aim the discount at them, not at those who buy anyway.",
                    100 * f->up_at10, 100 * f->up_ate);
        else
            fputs("The uplift model is trained; its held-out figures are in the uplift section.",
                  h);
        fputs("</li>\n", h);
    } else {
        char hint[2600];
        int has = 0;
        promo_report_uplift_hint(c->s, hint, sizeof hint, &has);
        fputs(has ? "<li>No uplift model yet: <code>" : "<li>No uplift model yet: ", h);
        esc(h, hint);
        fputs(has ? "</code>.</li>\n" : ".</li>\n", h);
    }
    if (f->compare) {
        const promo_compare_row *o = &f->cmp.rows[PROMO_STRATEGY_OPTIMIZED],
                                *bc = &f->cmp.rows[PROMO_STRATEGY_BROADCAST];
        char a[64], b[64], al[64], ah[64], bl[64], bh[64];
        fputs("<li><b>Against broadcasting.</b> ", h);
        if (o->available && bc->available) {
            money(a, sizeof a, o->sim.incremental_profit.mean);
            money(al, sizeof al, o->sim.incremental_profit.lo);
            money(ah, sizeof ah, o->sim.incremental_profit.hi);
            money(b, sizeof b, bc->sim.incremental_profit.mean);
            money(bl, sizeof bl, bc->sim.incremental_profit.lo);
            money(bh, sizeof bh, bc->sim.incremental_profit.hi);
            fprintf(h,
                    "In the simulator, the optimized campaign for %s contacts %zu customers at "
                    "%.0f%% off and earns %s of incremental profit (%.0f%% interval %s to %s); "
                    "sending the %.0f%% offer to all %zu customers earns %s (%s to %s).",
                    f->cmp_what, o->contacts, o->discount_pct, a, 100 * f->interval, al, ah,
                    f->cmp.discount_pct, bc->contacts, b, bl, bh);
            if (isfinite(o->cost_per_incremental_conversion) &&
                isfinite(bc->cost_per_incremental_conversion))
                fprintf(h,
                        " Each extra buyer costs %.0f LKR of discount and contact, against %.0f "
                        "LKR when broadcasting (%.0f%% of it).",
                        o->cost_per_incremental_conversion, bc->cost_per_incremental_conversion,
                        100 * o->cost_per_incremental_conversion /
                            bc->cost_per_incremental_conversion);
        } else {
            fputs("The optimized strategy needs the uplift model: <code>promo train --model "
                  "uplift</code>.",
                  h);
        }
        fputs("</li>\n", h);
    } else {
        fputs("<li>No strategy comparison: it is played in a generated world's simulator (see "
              "below).</li>\n",
              h);
    }
    if (f->segments) {
        fprintf(h, "<li><b>Segments.</b> %d segments (%s); ", f->seg_n, f->seg_method);
        esc(h, f->seg_top);
        fputs(".</li>\n", h);
    }
    fputs("</ul>\n</section>\n", h);
}

/* --------------------------------------------------------------------- page ---- */

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;"
    "margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
    "h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #4a7;padding-bottom:.2em;"
    "margin-top:2em}h3{margin-bottom:.3em}"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.9em}"
    "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}"
    "th{background:#f0f4f0}td:first-child,th:first-child{text-align:left}"
    "tr.ours td{background:#eef8ee;font-weight:600}"
    "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}"
    ".figs{display:flex;flex-wrap:wrap;gap:0 1.5em}.figs figure{flex:0 1 520px;margin:.6em 0}"
    "figcaption{font-size:.9em;color:#444;max-width:900px}"
    ".todo{background:#fff8e0;border-left:4px solid #e0b000;padding:.5em .8em}"
    ".warn{background:#fde8e8;border-left:4px solid #c33;padding:.5em .8em}"
    "code{background:#f3f3f3;padding:0 .25em}.meta{color:#666;font-size:.9em}"
    "#summary li{margin:.4em 0}";

static int write_page(ctx *c, const char *body, size_t body_len)
{
    promo_outfile *o = NULL;
    int rc = promo_outfile_open(c->res->html_path, &o);
    if (rc)
        return rc;
    FILE *h = promo_outfile_stream(o);
    fprintf(h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
            "<title>promo evaluation report</title>\n<style>%s</style></head><body>\n",
            css);
    fputs("<h1>promo evaluation report</h1>\n<p class=\"meta\">Workspace ", h);
    esc(h, promo_store_ws_dir(c->s));
    char now[32];
    promo_time_format((int64_t)time(NULL), 0, now, sizeof now);
    fprintf(h,
            ", written %s. Every figure is on data the models did not train on. All the "
            "figures: <a href=\"%s\">%s</a>.</p>\n<nav>",
            now, PROMO_REPORT_TEXT_NAME, PROMO_REPORT_TEXT_NAME);
    for (int k = 0; k < PROMO_REPORT_SECTION_COUNT; k++)
        fprintf(h, "%s<a href=\"#%s\">%s</a>", k ? " | " : "", section_names[k], section_names[k]);
    fputs("</nav>\n", h);
    summary(c, h);
    fwrite(body, 1, body_len, h);
    fputs("<p class=\"meta\">Charts drawn by gnuplot (promo's plotting module). Regenerate with "
          "<code>promo report</code>.</p>\n</body></html>\n",
          h);
    return promo_outfile_commit(o);
}

/* Every stored figure of a task other than those the caller printed (propensity, expansion). */
static void text_other_rows(ctx *c)
{
    if (!c->ev)
        return;
    const promo_column *ct = promo_table_column(c->ev, "task"),
                       *cg = promo_table_column(c->ev, "target"),
                       *cm = promo_table_column(c->ev, "model"),
                       *cx = promo_table_column(c->ev, "metric"),
                       *cv = promo_table_column(c->ev, "value"),
                       *cs = promo_table_column(c->ev, "text");
    const char *last = "";
    for (size_t i = 0; i < c->ev->n_rows; i++) {
        const char *task = promo_column_str(ct, i);
        if (!strcmp(task, "propensity") || !strcmp(task, "expansion"))
            continue;
        if (strcmp(task, last)) {
            fprintf(c->text, "\n%s evaluation (task target model metric value)\n", task);
            last = task;
        }
        fprintf(c->text, "  %s %s %s %s ", task, promo_column_str(cg, i),
                *promo_column_str(cm, i) ? promo_column_str(cm, i) : "-", promo_column_str(cx, i));
        if (!promo_column_is_null(cs, i))
            fprintf(c->text, "%s\n", promo_column_str(cs, i));
        else
            fprintf(c->text, "%.10g\n", num_at(cv, i));
    }
}

int promo_report_out_dir_check(const char *dir)
{
    struct stat st;
    if (!dir || !*dir)
        return promo_fail(PROMO_EINPUT, "--out: empty directory name");
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return promo_fail(PROMO_EINPUT, "--out %s: %s", dir, strerror(errno));
        if (mkdir(dir, 0777) != 0)
            return promo_fail(PROMO_EINPUT, "--out %s: cannot create the directory: %s", dir,
                              strerror(errno));
        return PROMO_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return promo_fail(PROMO_EINPUT, "--out %s: not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return promo_fail(PROMO_EINPUT, "--out %s: cannot write there: %s", dir, strerror(errno));
    return PROMO_OK;
}

int promo_report_write_html(promo_store *s,
                            const promo_report_params *p,
                            const char *metrics_text,
                            size_t metrics_len,
                            promo_report_result *out)
{
    if (!s || !p || !out)
        return promo_fail(PROMO_EUSAGE, "report: NULL argument");
    memset(out, 0, sizeof *out);
    ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.p = p;
    c.res = out;
    snprintf(c.out_dir, sizeof c.out_dir, "%s", p->out_dir ? p->out_dir : promo_store_out_dir(s));
    int rc = promo_report_out_dir_check(c.out_dir);
    if (rc)
        return rc;
    c.same_out = same_dir(c.out_dir, promo_store_out_dir(s));
    join(out->html_path, sizeof out->html_path, c.out_dir, PROMO_REPORT_HTML_NAME);
    join(out->text_path, sizeof out->text_path, c.out_dir, PROMO_REPORT_TEXT_NAME);
    char *body = NULL, *text = NULL;
    size_t body_len = 0, text_len = 0;
    c.body = open_memstream(&body, &body_len);
    c.text = open_memstream(&text, &text_len);
    if (!c.body || !c.text) {
        rc = promo_fail(PROMO_ENOMEM, "report: out of memory");
        goto done;
    }
    if ((rc = promo_report_read(s, &c.ev)))
        goto done;
    if (promo_store_has_table(s, "products") &&
        (rc = promo_store_read_table(s, "products", &c.products)))
        goto done;
    out->present[PROMO_REPORT_SUMMARY] = 1;
    if ((rc = section_propensity(&c)) || (rc = section_uplift(&c)) ||
        (rc = section_strategies(&c)) || (rc = section_segments(&c)) ||
        (rc = section_recommenders(&c)))
        goto done;
    text_other_rows(&c);
    if (fflush(c.body) || fflush(c.text)) {
        rc = promo_fail(PROMO_ENOMEM, "report: out of memory");
        goto done;
    }
    /* evaluation_report.txt: what promo evaluate prints, then the other figures */
    promo_outfile *o = NULL;
    if ((rc = promo_outfile_open(out->text_path, &o)))
        goto done;
    FILE *tf = promo_outfile_stream(o);
    if (metrics_text && metrics_len)
        fwrite(metrics_text, 1, metrics_len, tf);
    else
        fputs("no propensity evaluation stored (promo train --model propensity)\n", tf);
    fwrite(text, 1, text_len, tf);
    if ((rc = promo_outfile_commit(o)))
        goto done;
    rc = write_page(&c, body, body_len);
done:
    if (c.body)
        fclose(c.body);
    if (c.text)
        fclose(c.text);
    free(body);
    free(text);
    promo_table_free(c.ev);
    promo_table_free(c.products);
    return rc;
}
