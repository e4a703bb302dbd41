/* Gradient-boosted trees and XGBoost's random-forest mode, through the XGBoost 1.7 C API, for
 * three objectives: binary:logistic, reg:squarederror and multi:softprob (one tree per class
 * per round, tree_info naming each tree's class).
 *
 * Training builds a DMatrix of the training set and boosts round by round so early stopping
 * can read the validation metric after each round; the kept model is
 * sliced at the best round (XGBoosterSlice), so a saved model holds exactly the trees that
 * are used and a reload predicts the same bits. The random forest is XGBoost's own RF mode:
 * one round of num_parallel_tree trees with eta 1, row subsampling and per-node column
 * sampling; XGBoost divides each tree's leaves by the forest size.
 *
 * Departures from XGBoost's defaults: base_score is the (weighted) positive rate of the
 * training set rather than 0.5 (binary), or the weighted mean label (regression), which saves
 * the first rounds (1.7 does not estimate it; 2.0 does much the same); multi-class keeps 0.5
 * for every class, since 1.7 has a single base_score and the softmax ignores a common shift.
 * The hist method is always used.
 *
 * Prediction does not go through XGBoost: the trees are copied out of the model JSON into
 * complete binary trees of the forest's depth (struct flat_forest), which a row walks in
 * `depth` branch-free steps, 8 rows at a time. XGBoost 1.7's CPU predictor refills a dense
 * feature vector per row and walks node structs with branches; this was 2-3x slower on 1M
 * rows. The sum (per output, over that output's trees in order), the comparisons and the
 * transform (sigmoid, identity, or softmax with its float max and double sum) are XGBoost's,
 * so results are bitwise its own (tests/test_gbdt_predict.c). The same walk keeps the
 * validation margins during training, one new round per round, so XGBoost's own evaluation (a
 * quarter of the training time) is not needed for the log loss, RMSE or multi-class log loss,
 * each computed as XGBoost's metric does (float loss times weight, summed in double).
 *
 * The loader is a parser of untrusted bytes: XGBoost trusts its model JSON (child indices are
 * followed unchecked at prediction time), so the JSON is parsed with cJSON and checked
 * (duplicate keys, array lengths, children after their parent, feature indices in range, one
 * of the three objectives, class counts that agree, each tree's class in range) before
 * XGBoost reads the same bytes.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/gbdt.h>
#include <promo/infile.h>
#include <promo/log.h>
#include <promo/store.h>

/* The trees flattened for prediction: every tree padded to a complete binary tree of the
 * forest's depth, so a row takes exactly `depth` branch-free steps per tree (node i has
 * children 2i+1 and 2i+2; a leaf above the last level is copied into both subtrees). */
/* One split: the row goes left when x[feature] < cond; the top bit of split says where a
 * missing value goes (set: right). */
typedef struct forest_node {
    float cond;
    uint32_t split;
} forest_node;
#define FOREST_FEATURE_MASK 0x7fffffffu

typedef struct flat_forest {
    int depth;           /* levels of splits in every (padded) tree, 0..FOREST_MAX_DEPTH */
    size_t n_trees;      /* trees, grouped by output, each group in XGBoost's order */
    size_t n_groups;     /* outputs per row: classes for MULTICLASS, else 1 */
    size_t *group_start; /* n_groups + 1: output g sums trees [start[g], start[g+1]) */
    promo_gbdt_objective objective; /* the output transform: sigmoid, identity or softmax */
    float base_margin;              /* starting margin, as XGBoost derives it from base_score */
    forest_node *node;              /* n_trees x (2^depth - 1) splits, tree by tree */
    float *leaf;                    /* n_trees x 2^depth: leaf values */
} flat_forest;

struct promo_gbdt {
    BoosterHandle h;                /* the XGBoost booster, owned */
    promo_gbdt_objective objective; /* what the trees predict */
    promo_gbdt_mode mode;           /* boosting, or a forest (parallel trees per round) */
    size_t n_outputs;               /* values per row: n_classes for MULTICLASS, else 1 */
    size_t n_features;              /* columns the model expects */
    int n_rounds;                   /* boosting rounds kept */
    double best_score; /* validation metric at the best round, NaN without validation */
    int nthread;       /* threads for prediction, 0 = default */
    flat_forest *f;    /* the same trees for promo_gbdt_predict; NULL: XGBoost predicts */
};

/* Deeper trees stay with XGBoost's predictor: padding costs 2^depth nodes per tree. */
enum { FOREST_MAX_DEPTH = 12 };

/* Classes at most (XGBoost grows one tree per class per round). */
#define MAX_CLASSES 1000

/* XGBoost's names of the objectives, by promo_gbdt_objective. */
static const char *const objective_names[PROMO_GBDT_OBJECTIVE_COUNT] = {
    "binary:logistic", "reg:squarederror", "multi:softprob"};
/* Each objective's own early-stopping metric. */
static const char *const default_metrics[PROMO_GBDT_OBJECTIVE_COUNT] = {"logloss", "rmse",
                                                                        "mlogloss"};

/* What the walk writes: probabilities, margins, or the trees added to the margins in out. */
typedef enum forest_out { FOREST_PROB, FOREST_MARGIN, FOREST_ADD } forest_out;

static void forest_free(flat_forest *f);
static void softmax(float *v, size_t k);
static void forest_add(
    const flat_forest *f, const float *x, size_t n_rows, size_t d, int nthread, float *margin);
static int forest_from_json(const cJSON *root, flat_forest **out);
static int json_objective(const cJSON *root, promo_gbdt_objective *objective, size_t *n_groups);
static int forest_from_booster(BoosterHandle h, flat_forest **out);

/* ---- errors and one-time setup ---- */

static int xgb_fail(const char *what)
{
    /* XGBoost's message carries a timestamp, a source line and a stack trace; keep the
     * first line, which names the problem. */
    const char *e = XGBGetLastError();
    const char *nl = e ? strchr(e, '\n') : NULL;
    int len = nl ? (int)(nl - e) : (int)strlen(e ? e : "");
    return promo_fail(PROMO_EMODEL, "xgboost %s: %.*s", what, len, e ? e : "");
}

#define XGB(call, what)          \
    do {                         \
        if ((call) != 0) {       \
            rc = xgb_fail(what); \
            goto fail;           \
        }                        \
    } while (0)

static void xgb_log(const char *msg)
{
    promo_debug("xgboost: %s", msg);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_xgb(void)
{
    /* XGBoost writes warnings to stdout by default; the library must not own stdout. */
    XGBRegisterLogCallback(xgb_log);
}

/* ---- parameters ---- */

promo_gbdt_params promo_gbdt_params_default(void)
{
    promo_gbdt_params p;
    memset(&p, 0, sizeof p);
    p.mode = PROMO_GBDT_BOOST;
    p.objective = PROMO_GBDT_BINARY;
    p.n_classes = 0;
    p.n_rounds = 500;
    p.early_stopping_rounds = 30;
    p.n_forest_trees = 100;
    p.max_depth = 6;
    p.eta = 0.1;
    p.min_child_weight = 1.0;
    p.subsample = 0.8;
    p.colsample_bytree = 0.8;
    p.colsample_bynode = 1.0;
    p.lambda = 1.0;
    p.alpha = 0.0;
    p.gamma = 0.0;
    p.max_bin = 256;
    p.scale_pos_weight = 1.0;
    p.eval_metric = NULL;
    p.nthread = 0;
    p.seed = 1;
    return p;
}

promo_gbdt_params promo_gbdt_params_forest(void)
{
    promo_gbdt_params p = promo_gbdt_params_default();
    p.mode = PROMO_GBDT_FOREST;
    p.n_rounds = 1;
    p.early_stopping_rounds = 0;
    p.n_forest_trees = 100;
    p.max_depth = 12;
    p.eta = 1.0;
    p.subsample = 0.632;
    p.colsample_bytree = 1.0;
    p.colsample_bynode = 0.0;
    p.lambda = 1e-5;
    return p;
}

static int in_unit(double v)
{
    return v > 0.0 && v <= 1.0;
}

static int check_params(const promo_gbdt_params *p)
{
    if (p->mode < 0 || p->mode >= PROMO_GBDT_MODE_COUNT)
        return promo_fail(PROMO_EUSAGE, "gbdt: unknown mode %d", (int)p->mode);
    if (p->mode == PROMO_GBDT_BOOST && (p->n_rounds < 1 || p->n_rounds > 100000))
        return promo_fail(PROMO_EUSAGE, "gbdt: n_rounds %d is not in [1, 100000]", p->n_rounds);
    if (p->mode == PROMO_GBDT_FOREST && (p->n_forest_trees < 1 || p->n_forest_trees > 100000))
        return promo_fail(PROMO_EUSAGE, "gbdt: n_forest_trees %d is not in [1, 100000]",
                          p->n_forest_trees);
    if (p->early_stopping_rounds < 0)
        return promo_fail(PROMO_EUSAGE, "gbdt: early_stopping_rounds must be >= 0");
    if (p->max_depth < 1 || p->max_depth > 30)
        return promo_fail(PROMO_EUSAGE, "gbdt: max_depth %d is not in [1, 30]", p->max_depth);
    if (p->mode == PROMO_GBDT_BOOST && !in_unit(p->eta))
        return promo_fail(PROMO_EUSAGE, "gbdt: eta %g is not in (0, 1]", p->eta);
    if (!in_unit(p->subsample) || !in_unit(p->colsample_bytree) ||
        !(p->colsample_bynode == 0.0 || in_unit(p->colsample_bynode)))
        return promo_fail(PROMO_EUSAGE, "gbdt: sampling rates must be in (0, 1]");
    if (!(p->min_child_weight >= 0.0) || !(p->lambda >= 0.0) || !(p->alpha >= 0.0) ||
        !(p->gamma >= 0.0) || !(p->scale_pos_weight >= 0.0))
        return promo_fail(PROMO_EUSAGE, "gbdt: regularisation and weights must be >= 0");
    if (p->max_bin < 2 || p->max_bin > 65536)
        return promo_fail(PROMO_EUSAGE, "gbdt: max_bin %d is not in [2, 65536]", p->max_bin);
    if (p->objective < 0 || p->objective >= PROMO_GBDT_OBJECTIVE_COUNT)
        return promo_fail(PROMO_EUSAGE, "gbdt: unknown objective %d", (int)p->objective);
    if (p->objective == PROMO_GBDT_MULTICLASS && (p->n_classes < 2 || p->n_classes > MAX_CLASSES))
        return promo_fail(PROMO_EUSAGE, "gbdt: n_classes %d is not in [2, %d]", p->n_classes,
                          MAX_CLASSES);
    if (p->objective == PROMO_GBDT_BINARY && p->eval_metric && strcmp(p->eval_metric, "logloss") &&
        strcmp(p->eval_metric, "auc"))
        return promo_fail(PROMO_EUSAGE, "gbdt: eval_metric '%s' is not logloss or auc",
                          p->eval_metric);
    if (p->objective != PROMO_GBDT_BINARY && p->eval_metric &&
        strcmp(p->eval_metric, default_metrics[p->objective]))
        return promo_fail(PROMO_EUSAGE, "gbdt: eval_metric '%s' with objective %s: only %s",
                          p->eval_metric, objective_names[p->objective],
                          default_metrics[p->objective]);
    if (p->objective != PROMO_GBDT_BINARY && p->scale_pos_weight != 1.0)
        return promo_fail(PROMO_EUSAGE, "gbdt: scale_pos_weight applies to the binary objective "
                                        "only (leave it at 1)");
    if (p->nthread < 0)
        return promo_fail(PROMO_EUSAGE, "gbdt: nthread must be >= 0");
    return PROMO_OK;
}

static int check_data(const promo_gbdt_params *p,
                      const promo_gbdt_data *d,
                      const char *name,
                      size_t n_cols_expected)
{
    if (!d->x || !d->y || d->n_rows == 0 || d->n_cols == 0)
        return promo_fail(PROMO_EUSAGE, "gbdt: %s set is empty", name);
    if (n_cols_expected && d->n_cols != n_cols_expected)
        return promo_fail(PROMO_EUSAGE, "gbdt: %s set has %zu columns, training has %zu", name,
                          d->n_cols, n_cols_expected);
    if (d->n_rows > (size_t)INT64_MAX / d->n_cols)
        return promo_fail(PROMO_EUSAGE, "gbdt: %s set is too large", name);
    for (size_t i = 0; i < d->n_rows; i++) {
        float y = d->y[i];
        if (p->objective == PROMO_GBDT_BINARY && !(y >= 0.0f && y <= 1.0f))
            return promo_fail(PROMO_EUSAGE, "gbdt: %s label %g at row %zu is not in [0, 1]", name,
                              (double)y, i);
        if (p->objective == PROMO_GBDT_REGRESSION && !isfinite(y))
            return promo_fail(PROMO_EUSAGE, "gbdt: %s label at row %zu is not finite", name, i);
        if (p->objective == PROMO_GBDT_MULTICLASS &&
            !(y >= 0.0f && y < (float)p->n_classes && y == floorf(y)))
            return promo_fail(PROMO_EUSAGE,
                              "gbdt: %s label %g at row %zu is not a class in [0, %d)", name,
                              (double)y, i, p->n_classes);
        if (d->w && !(d->w[i] >= 0.0f && isfinite(d->w[i])))
            return promo_fail(PROMO_EUSAGE, "gbdt: %s weight at row %zu is negative or not finite",
                              name, i);
    }
    return PROMO_OK;
}

static int make_dmatrix(const promo_gbdt_data *d, int nthread, DMatrixHandle *out)
{
    int rc = PROMO_OK;
    DMatrixHandle dm = NULL;
    XGB(XGDMatrixCreateFromMat_omp(d->x, (bst_ulong)d->n_rows, (bst_ulong)d->n_cols, NAN, &dm,
                                   nthread),
        "creating a DMatrix");
    XGB(XGDMatrixSetFloatInfo(dm, "label", d->y, (bst_ulong)d->n_rows), "setting labels");
    if (d->w)
        XGB(XGDMatrixSetFloatInfo(dm, "weight", d->w, (bst_ulong)d->n_rows), "setting weights");
    *out = dm;
    return PROMO_OK;
fail:
    if (dm)
        XGDMatrixFree(dm);
    return rc;
}

static int set_param(BoosterHandle h, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_param(BoosterHandle h, const char *name, const char *fmt, ...)
{
    char v[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    if (XGBoosterSetParam(h, name, v) != 0) {
        xgb_fail("setting a parameter");
        return promo_fail_prefix(PROMO_EMODEL, "gbdt: %s=%s", name, v);
    }
    return PROMO_OK;
}

/* Parse "[12]\tvalid-logloss:0.1234" from XGBoosterEvalOneIter. */
static int parse_eval(const char *s, double *out)
{
    const char *c = s ? strrchr(s, ':') : NULL;
    if (!c)
        return promo_fail(PROMO_EMODEL, "gbdt: unexpected evaluation output '%s'", s ? s : "");
    char *end;
    double v = strtod(c + 1, &end);
    if (end == c + 1 || isnan(v))
        return promo_fail(PROMO_EMODEL, "gbdt: unexpected evaluation output '%s'", s);
    *out = v;
    return PROMO_OK;
}

static int fill_meta(promo_gbdt *m)
{
    int rc = PROMO_OK;
    bst_ulong nf = 0;
    int rounds = 0;
    XGB(XGBoosterGetNumFeature(m->h, &nf), "reading the feature count");
    XGB(XGBoosterBoostedRounds(m->h, &rounds), "reading the round count");
    m->n_features = (size_t)nf;
    m->n_rounds = rounds;
    return PROMO_OK;
fail:
    return rc;
}

/* Add the trees of rounds [it, end) to the validation margins (a round: one tree, or the
 * forest's parallel trees; all summed in XGBoost's order, so adding several rounds at once
 * gives the bits of adding them one by one). */
static int add_rounds(
    BoosterHandle h, int it, int end, const promo_gbdt_data *valid, int nthread, float *margin)
{
    int rc = PROMO_OK;
    BoosterHandle round = NULL;
    flat_forest *f = NULL;
    XGB(XGBoosterSlice(h, it, end, 1, &round), "reading the new trees");
    rc = forest_from_booster(round, &f);
    XGBoosterFree(round);
    if (!rc && !f)
        rc = promo_fail(PROMO_EINTERNAL, "gbdt: a tree deeper than max_depth");
    if (!rc)
        forest_add(f, valid->x, valid->n_rows, valid->n_cols, nthread, margin);
    forest_free(f);
    return rc;
fail:
    return rc;
}

/* XGBoost's weighted validation log loss of the margins: its float sigmoid and per-row loss,
 * loss x weight in float, summed in double. The sum runs in row order, whatever nthread. */
static double logloss(const float *margin, const promo_gbdt_data *v)
{
    const float eps = 1e-16f;
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < v->n_rows; i++) {
        float py = 1.0f / (1.0f + expf(-margin[i])), pneg = 1.0f - py, y = v->y[i];
        float loss = py < eps     ? -y * logf(eps) - (1.0f - y) * logf(1.0f - eps)
                     : pneg < eps ? -y * logf(1.0f - eps) - (1.0f - y) * logf(eps)
                                  : -y * logf(py) - (1.0f - y) * logf(pneg);
        float w = v->w ? v->w[i] : 1.0f;
        sum += (double)(loss * w);
        wsum += (double)w;
    }
    return wsum > 0.0 ? sum / wsum : sum;
}

/* XGBoost's weighted RMSE of regression margins (its predictions): float residual squared
 * times weight, summed in double in row order. */
static double rmse(const float *margin, const promo_gbdt_data *v)
{
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < v->n_rows; i++) {
        float diff = v->y[i] - margin[i];
        float w = v->w ? v->w[i] : 1.0f;
        sum += (double)(diff * diff * w);
        wsum += (double)w;
    }
    return wsum > 0.0 ? sqrt(sum / wsum) : sqrt(sum);
}

/* XGBoost's weighted multi-class log loss: the softmax of each row's margins as its
 * prediction transform computes it, -log of the true class's probability (floored at 1e-16)
 * in float, times the weight, summed in double in row order. */
static double mlogloss(const float *margin, const promo_gbdt_data *v, size_t k)
{
    const float eps = 1e-16f;
    float prob[MAX_CLASSES];
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < v->n_rows; i++) {
        memcpy(prob, margin + i * k, k * sizeof *prob);
        softmax(prob, k);
        float pk = prob[(size_t)v->y[i]], w = v->w ? v->w[i] : 1.0f;
        float loss = pk > eps ? -logf(pk) : -logf(eps);
        sum += (double)(loss * w);
        wsum += (double)w;
    }
    return wsum > 0.0 ? sum / wsum : sum;
}

/* The objective's own validation metric of the margins (k per row). */
static double
own_metric(promo_gbdt_objective objective, const float *margin, const promo_gbdt_data *v, size_t k)
{
    return objective == PROMO_GBDT_BINARY       ? logloss(margin, v)
           : objective == PROMO_GBDT_REGRESSION ? rmse(margin, v)
                                                : mlogloss(margin, v, k);
}

/* The starting margin: XGBoost's base_score (as written to it, *base_str) is the effective
 * positive rate after weights and scale_pos_weight (BINARY), the weighted mean label
 * (REGRESSION) or XGBoost's 0.5 (MULTICLASS); *base_margin is what it becomes as a margin,
 * *spw the scale_pos_weight to set (0 in p: n_neg / n_pos of training). */
static int base_score(const promo_gbdt_params *p,
                      const promo_gbdt_data *train,
                      double *spw_out,
                      double *base_out,
                      float *base_margin_out,
                      char *base_str /* 40 bytes */)
{
    double spw = p->scale_pos_weight, base = 0.5;
    float base_margin = 0.5f; /* what base_score becomes as a margin (ProbToMargin) */
    if (p->objective == PROMO_GBDT_BINARY) {
        /* Effective positive rate after weights and scale_pos_weight: the starting margin. */
        double sw_pos = 0.0, sw_neg = 0.0;
        for (size_t i = 0; i < train->n_rows; i++) {
            double w = train->w ? train->w[i] : 1.0;
            sw_pos += w * train->y[i];
            sw_neg += w * (1.0 - train->y[i]);
        }
        if (spw == 0.0) {
            if (sw_pos <= 0.0 || sw_neg <= 0.0)
                return promo_fail(
                    PROMO_EUSAGE,
                    "gbdt: automatic scale_pos_weight needs both classes in training");
            spw = sw_neg / sw_pos;
        }
        base = (sw_pos * spw) / (sw_pos * spw + sw_neg);
        if (!(base > 1e-6))
            base = 1e-6;
        if (base > 1.0 - 1e-6)
            base = 1.0 - 1e-6;
        /* binary:logistic's ProbToMargin of base_score, in float as XGBoost computes it. */
        base_margin = -logf(1.0f / (float)base - 1.0f);
        snprintf(base_str, 40, "%.17g", base);
    } else if (p->objective == PROMO_GBDT_REGRESSION) {
        /* The weighted mean label, rounded to the float XGBoost keeps, written exactly. */
        double sy = 0.0, sw = 0.0;
        for (size_t i = 0; i < train->n_rows; i++) {
            double w = train->w ? train->w[i] : 1.0;
            sy += w * train->y[i];
            sw += w;
        }
        base_margin = (float)(sw > 0.0 ? sy / sw : 0.0);
        base = base_margin;
        snprintf(base_str, 40, "%.9g", (double)base_margin);
    } else {
        /* One base_score for every class (1.7 has no per-class one): XGBoost's 0.5. */
        snprintf(base_str, 40, "0.5");
    }
    *spw_out = spw;
    *base_out = base;
    *base_margin_out = base_margin;
    return PROMO_OK;
}

/* Every training parameter of the booster h (spw and base_str from base_score()). */
static int set_params(BoosterHandle h,
                      const promo_gbdt_params *p,
                      size_t n_cols,
                      double spw,
                      const char *base_str,
                      const char *metric)
{
    int rc = PROMO_OK;
    int forest = p->mode == PROMO_GBDT_FOREST;
    double bynode = p->colsample_bynode;
    if (bynode == 0.0) /* sqrt(d) of d features per split, as random forests do */
        bynode = fmin(1.0, ceil(sqrt((double)n_cols)) / (double)n_cols);
    if ((rc = set_param(h, "verbosity", "0")) ||
        (rc = set_param(h, "objective", "%s", objective_names[p->objective])) ||
        (rc = set_param(h, "tree_method", "hist")) ||
        (rc = set_param(h, "max_depth", "%d", p->max_depth)) ||
        (rc = set_param(h, "eta", "%.17g", forest ? 1.0 : p->eta)) ||
        (rc = set_param(h, "min_child_weight", "%.17g", p->min_child_weight)) ||
        (rc = set_param(h, "subsample", "%.17g", p->subsample)) ||
        (rc = set_param(h, "colsample_bytree", "%.17g", p->colsample_bytree)) ||
        (rc = set_param(h, "colsample_bynode", "%.17g", bynode)) ||
        (rc = set_param(h, "lambda", "%.17g", p->lambda)) ||
        (rc = set_param(h, "alpha", "%.17g", p->alpha)) ||
        (rc = set_param(h, "gamma", "%.17g", p->gamma)) ||
        (rc = set_param(h, "max_bin", "%d", p->max_bin)) ||
        (p->objective == PROMO_GBDT_BINARY &&
         (rc = set_param(h, "scale_pos_weight", "%.17g", spw))) ||
        (rc = set_param(h, "base_score", "%s", base_str)) ||
        (rc = set_param(h, "eval_metric", "%s", metric)) ||
        (rc = set_param(h, "nthread", "%d", p->nthread)) ||
        (rc = set_param(h, "seed", "%llu", (unsigned long long)(p->seed & 0x7fffffff))))
        return rc;
    if (forest && (rc = set_param(h, "num_parallel_tree", "%d", p->n_forest_trees)))
        return rc;
    if (p->objective == PROMO_GBDT_MULTICLASS &&
        (rc = set_param(h, "num_class", "%d", p->n_classes)))
        return rc;

    return PROMO_OK;
}

int promo_gbdt_train(const promo_gbdt_params *p,
                     const promo_gbdt_data *train,
                     const promo_gbdt_data *valid,
                     promo_gbdt **out)
{
    *out = NULL;
    pthread_once(&init_once, init_xgb);
    int rc = check_params(p);
    if (rc)
        return rc;
    if (!train)
        return promo_fail(PROMO_EUSAGE, "gbdt: no training set");
    if ((rc = check_data(p, train, "training", 0)) ||
        (valid && (rc = check_data(p, valid, "validation", train->n_cols))))
        return rc;

    double spw = 1.0, base = 0.5;
    float base_margin = 0.5f; /* what base_score becomes as a margin (ProbToMargin) */
    char base_str[40];
    if ((rc = base_score(p, train, &spw, &base, &base_margin, base_str)))
        return rc;
    size_t n_out = p->objective == PROMO_GBDT_MULTICLASS ? (size_t)p->n_classes : 1;

    DMatrixHandle dtr = NULL, dva = NULL;
    BoosterHandle h = NULL, best_h = NULL;
    promo_gbdt *m = NULL;
    const char *metric = p->eval_metric ? p->eval_metric : default_metrics[p->objective];
    /* Validation metric kept by us (own_eval): XGBoost's evaluation refills a dense vector
     * of every feature per validation row and round to walk one new tree, a quarter of the
     * training time; we add each new tree's leaves to the validation margins in float, in tree
     * order, as XGBoost's prediction cache does. Weighted AUC and trees too deep to flatten
     * stay with XGBoost's evaluation. */
    int own_eval = valid && strcmp(metric, "auc") && p->max_depth <= FOREST_MAX_DEPTH;
    float *vmargin = NULL;
    if ((rc = make_dmatrix(train, p->nthread, &dtr)))
        goto fail;
    if (valid && !own_eval && (rc = make_dmatrix(valid, p->nthread, &dva)))
        goto fail;
    if (own_eval) {
        if (!(vmargin = promo_mallocn(valid->n_rows, n_out * sizeof *vmargin))) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < valid->n_rows * n_out; i++)
            vmargin[i] = base_margin;
    }
    XGB(XGBoosterCreate(&dtr, 1, &h), "creating a booster");

    int forest = p->mode == PROMO_GBDT_FOREST;
    if ((rc = set_params(h, p, train->n_cols, spw, base_str, metric)))
        goto fail;

    int rounds = forest ? 1 : p->n_rounds;
    int higher_better = !strcmp(metric, "auc");
    int best_round = -1;
    double best = NAN;
    /* Round n of N with the validation metric, on a terminal (log.h: quiet when piped or
     * with -q), for trainings long enough to be watched. */
    char label[96];
    snprintf(label, sizeof label, "boosting");
    promo_progress bar;
    promo_progress_begin(&bar, label, (uint64_t)rounds);
    bar.enabled = bar.enabled && !forest && (double)train->n_rows * (double)train->n_cols > 2e6;
    for (int it = 0; it < rounds; it++) {
        if (it > 0 && isfinite(best))
            snprintf(label, sizeof label, "boosting (validation %s %.5g at round %d)", metric, best,
                     best_round + 1);
        promo_progress_update(&bar, (uint64_t)it);
        XGB(XGBoosterUpdateOneIter(h, it, dtr), "training");
        double v = NAN;
        if (own_eval) {
            if ((rc = add_rounds(h, it, it + 1, valid, p->nthread, vmargin)))
                goto fail;
            v = own_metric(p->objective, vmargin, valid, n_out);
        } else if (dva) {
            const char *names[] = {"valid"};
            const char *res = NULL;
            XGB(XGBoosterEvalOneIter(h, it, &dva, names, 1, &res), "evaluating");
            if ((rc = parse_eval(res, &v)))
                goto fail;
        } else {
            continue;
        }
        if (best_round < 0 || (higher_better ? v > best : v < best)) {
            best = v;
            best_round = it;
        } else if (p->early_stopping_rounds > 0 && it - best_round >= p->early_stopping_rounds) {
            break;
        }
    }
    int done = 0;
    XGB(XGBoosterBoostedRounds(h, &done), "reading the round count");
    bar.total = (uint64_t)done; /* early stopping: the bar ends at the rounds run */
    promo_progress_end(&bar);
    if (best_round >= 0 && best_round + 1 < done) {
        XGB(XGBoosterSlice(h, 0, best_round + 1, 1, &best_h), "cutting at the best round");
        XGBoosterFree(h);
        h = best_h;
        best_h = NULL;
        if ((rc = set_param(h, "nthread", "%d", p->nthread)))
            goto fail;
    }
    if (best_round >= 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%d", best_round);
        XGB(XGBoosterSetAttr(h, "best_iteration", buf), "setting an attribute");
        snprintf(buf, sizeof buf, "%.17g", best);
        XGB(XGBoosterSetAttr(h, "best_score", buf), "setting an attribute");
    }

    m = promo_calloc(1, sizeof *m);
    if (!m) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    m->h = h;
    h = NULL;
    m->objective = p->objective;
    m->mode = p->mode;
    m->n_outputs = n_out;
    m->best_score = best;
    m->nthread = p->nthread;
    if ((rc = fill_meta(m)) || (rc = forest_from_booster(m->h, &m->f)))
        goto fail;
    XGDMatrixFree(dtr);
    if (dva)
        XGDMatrixFree(dva);
    promo_free(vmargin);
    promo_debug("gbdt: %s, %d rounds kept (best validation %s %.6g, base_score %.6g), %zu features",
                objective_names[p->objective], m->n_rounds, metric, best, base, m->n_features);
    *out = m;
    return PROMO_OK;
fail:
    promo_gbdt_free(m);
    if (h)
        XGBoosterFree(h);
    if (best_h)
        XGBoosterFree(best_h);
    if (dtr)
        XGDMatrixFree(dtr);
    if (dva)
        XGDMatrixFree(dva);
    promo_free(vmargin);
    return rc;
}

void promo_gbdt_free(promo_gbdt *m)
{
    if (!m)
        return;
    if (m->h)
        XGBoosterFree(m->h);
    forest_free(m->f);
    promo_free(m);
}

size_t promo_gbdt_n_features(const promo_gbdt *m)
{
    return m->n_features;
}

int promo_gbdt_n_rounds(const promo_gbdt *m)
{
    return m->n_rounds;
}

double promo_gbdt_best_score(const promo_gbdt *m)
{
    return m->best_score;
}

promo_gbdt_objective promo_gbdt_get_objective(const promo_gbdt *m)
{
    return m->objective;
}

size_t promo_gbdt_n_outputs(const promo_gbdt *m)
{
    return m->n_outputs;
}

promo_gbdt_mode promo_gbdt_get_mode(const promo_gbdt *m)
{
    return m->mode;
}

int promo_gbdt_set_nthread(promo_gbdt *m, int nthread)
{
    if (nthread < 0)
        return promo_fail(PROMO_EUSAGE, "gbdt: nthread must be >= 0");
    int rc = set_param(m->h, "nthread", "%d", nthread);
    if (!rc)
        m->nthread = nthread;
    return rc;
}

/* ---- prediction ---- */

static int check_shape(const promo_gbdt *m, size_t n_rows, size_t n_cols)
{
    if (n_cols != m->n_features)
        return promo_fail(PROMO_EUSAGE, "gbdt: input has %zu features, the model expects %zu",
                          n_cols, m->n_features);
    if (n_rows == 0 || n_rows > (size_t)INT64_MAX / (n_cols + 1) / m->n_outputs)
        return promo_fail(PROMO_EUSAGE, "gbdt: bad row count %zu", n_rows);
    return PROMO_OK;
}

/* XGBoost's own in-place dense prediction: the path for forests too deep to flatten. */
static int
xgb_predict(promo_gbdt *m, const float *x, size_t n_rows, size_t n_cols, int margin, float *out)
{
    int rc = PROMO_OK;
    /* numpy's __array_interface__, which is what XGBoost's in-place prediction reads. */
    char arr[160], cfg[200];
    snprintf(arr, sizeof arr,
             "{\"data\":[%llu,true],\"shape\":[%zu,%zu],\"typestr\":\"<f4\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n_rows, n_cols);
    snprintf(cfg, sizeof cfg,
             "{\"type\":%d,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
             "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}",
             margin ? 1 : 0);
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    XGB(XGBoosterPredictFromDense(m->h, arr, cfg, NULL, &shape, &dim, &res), "predicting");
    size_t total = 1;
    for (bst_ulong k = 0; k < dim; k++)
        total *= (size_t)shape[k];
    if (total != n_rows * m->n_outputs)
        return promo_fail(PROMO_EINTERNAL, "gbdt: %zu predictions for %zu rows", total, n_rows);
    memcpy(out, res, total * sizeof *out);
    return PROMO_OK;
fail:
    return rc;
}

/* Rows per block: a block's rows (64 x n_cols floats) stay in L1 while every tree walks them,
 * as in XGBoost's own blocked predictor. */
enum { FOREST_BLOCK = 64, FOREST_LANES = 8 };

/* One step down: the child of node i for this row. NaN fails every comparison, so a missing
 * value goes right exactly when its default says so. `has_nan` is a constant after inlining:
 * rows known to hold no NaN skip that test. */
static inline __attribute__((always_inline)) size_t
forest_step(const forest_node *nd, const float *row, size_t i, int has_nan)
{
    forest_node n = nd[i];
    float v = row[n.split & FOREST_FEATURE_MASK];
    size_t right = (size_t)(v >= n.cond);
    if (has_nan)
        right |= (size_t)isnan(v) & (size_t)(n.split >> 31);
    return 2 * i + 1 + right;
}

/* FOREST_LANES consecutive rows walk one tree together so that their independent loads
 * overlap; with `depth` a constant after inlining, the walk unrolls into registers. */
static inline __attribute__((always_inline)) void forest_lanes(const forest_node *nd,
                                                               const float *leaf,
                                                               int depth,
                                                               const float *x,
                                                               size_t d,
                                                               int has_nan,
                                                               float *acc)
{
    size_t i[FOREST_LANES] = {0};
#pragma GCC unroll 8
    for (int level = 0; level < depth; level++)
#pragma GCC unroll 16
        for (int k = 0; k < FOREST_LANES; k++)
            i[k] = forest_step(nd, x + (size_t)k * d, i[k], has_nan);
#pragma GCC unroll 16
    for (int k = 0; k < FOREST_LANES; k++)
        acc[k] += leaf[i[k] - (((size_t)1 << depth) - 1)];
}

/* Add one tree's leaf values to acc for nb rows; clean[g] says lane group g has no NaN. */
static inline __attribute__((always_inline)) void forest_tree(const forest_node *nd,
                                                              const float *leaf,
                                                              int depth,
                                                              const float *x,
                                                              size_t d,
                                                              size_t nb,
                                                              const uint8_t *clean,
                                                              float *acc)
{
    size_t r = 0;
    for (; r + FOREST_LANES <= nb; r += FOREST_LANES) {
        if (clean[r / FOREST_LANES])
            forest_lanes(nd, leaf, depth, x + r * d, d, 0, acc + r);
        else
            forest_lanes(nd, leaf, depth, x + r * d, d, 1, acc + r);
    }
    for (; r < nb; r++) {
        size_t i = 0;
        for (int level = 0; level < depth; level++)
            i = forest_step(nd, x + r * d, i, 1);
        acc[r] += leaf[i - (((size_t)1 << depth) - 1)];
    }
}

/* All trees over nb <= FOREST_BLOCK rows, tree by tree in order. */
static inline __attribute__((always_inline)) void forest_trees(const flat_forest *f,
                                                               int depth,
                                                               size_t t0,
                                                               size_t t1,
                                                               const float *x,
                                                               size_t d,
                                                               size_t nb,
                                                               const uint8_t *clean,
                                                               float *acc)
{
    size_t n_split = ((size_t)1 << depth) - 1;
    for (size_t t = t0; t < t1; t++)
        forest_tree(f->node + t * n_split, f->leaf + t * (n_split + 1), depth, x, d, nb, clean,
                    acc);
}

/* XGBoost's softmax (common::Softmax): float max and exponentials, the sum in double, each
 * value divided by the sum rounded to float. */
static void softmax(float *v, size_t k)
{
    float wmax = v[0];
    for (size_t c = 1; c < k; c++)
        wmax = fmaxf(v[c], wmax);
    double wsum = 0.0;
    for (size_t c = 0; c < k; c++) {
        v[c] = expf(v[c] - wmax);
        wsum += v[c];
    }
    for (size_t c = 0; c < k; c++)
        v[c] /= (float)wsum;
}

/* Predictions, margins or added margins of nb <= FOREST_BLOCK rows; out holds n_groups values
 * per row. Bit-for-bit XGBoost's: per output the same float sum, base margin first and then
 * that output's trees in order, the same test (x < cond goes left, missing follows the
 * default), and the same float sigmoid or softmax. */
static void
forest_block(const flat_forest *f, const float *x, size_t d, size_t nb, forest_out mode, float *out)
{
    float acc[FOREST_BLOCK];
    uint8_t clean[FOREST_BLOCK / FOREST_LANES];
    size_t k = f->n_groups;
    for (size_t g = 0; g < FOREST_BLOCK / FOREST_LANES; g++) {
        int any_nan = 0;
        for (size_t j = g * FOREST_LANES * d; j < (g + 1) * FOREST_LANES * d && j < nb * d; j++)
            any_nan |= isnan(x[j]);
        clean[g] = !any_nan;
    }
    for (size_t g = 0; g < k; g++) {
        size_t t0 = f->group_start[g], t1 = f->group_start[g + 1];
        for (size_t r = 0; r < nb; r++)
            acc[r] = mode == FOREST_ADD ? out[r * k + g] : f->base_margin;
        switch (f->depth) { /* the usual depths get their own unrolled walk */
        case 1:
            forest_trees(f, 1, t0, t1, x, d, nb, clean, acc);
            break;
        case 2:
            forest_trees(f, 2, t0, t1, x, d, nb, clean, acc);
            break;
        case 3:
            forest_trees(f, 3, t0, t1, x, d, nb, clean, acc);
            break;
        case 4:
            forest_trees(f, 4, t0, t1, x, d, nb, clean, acc);
            break;
        case 5:
            forest_trees(f, 5, t0, t1, x, d, nb, clean, acc);
            break;
        case 6:
            forest_trees(f, 6, t0, t1, x, d, nb, clean, acc);
            break;
        default:
            forest_trees(f, f->depth, t0, t1, x, d, nb, clean, acc);
            break;
        }
        int sigmoid = mode == FOREST_PROB && f->objective == PROMO_GBDT_BINARY;
        for (size_t r = 0; r < nb; r++)
            out[r * k + g] = sigmoid ? 1.0f / (1.0f + expf(-acc[r])) : acc[r];
    }
    if (mode == FOREST_PROB && f->objective == PROMO_GBDT_MULTICLASS)
        for (size_t r = 0; r < nb; r++)
            softmax(out + r * k, k);
}

/* Add the forest's trees (not its base margin) to margin: one more round of XGBoost's
 * prediction cache. */
static void forest_add(
    const flat_forest *f, const float *x, size_t n_rows, size_t d, int nthread, float *margin)
{
    size_t n_blocks = (n_rows + FOREST_BLOCK - 1) / FOREST_BLOCK;
    int nt = nthread > 0 ? nthread : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (n_blocks > 1)
    for (size_t b = 0; b < n_blocks; b++) {
        size_t r0 = b * FOREST_BLOCK;
        size_t nb = n_rows - r0 < FOREST_BLOCK ? n_rows - r0 : FOREST_BLOCK;
        forest_block(f, x + r0 * d, d, nb, FOREST_ADD, margin + r0 * f->n_groups);
    }
}

int promo_gbdt_predict(
    promo_gbdt *m, const float *x, size_t n_rows, size_t n_cols, int margin, float *out)
{
    int rc = check_shape(m, n_rows, n_cols);
    if (rc)
        return rc;
    if (!m->f)
        return xgb_predict(m, x, n_rows, n_cols, margin, out);
    const flat_forest *f = m->f;
    size_t n_blocks = (n_rows + FOREST_BLOCK - 1) / FOREST_BLOCK;
    int nt = m->nthread > 0 ? m->nthread : omp_get_max_threads();
    /* Blocks handed out as threads free up, not in equal static shares: on a host busier than
     * the load average said, a thread that loses its core no longer holds the whole team up
     * (each block's rows are the same whoever computes them). */
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt) if (n_blocks > 1)
    for (size_t b = 0; b < n_blocks; b++) {
        size_t r0 = b * FOREST_BLOCK;
        size_t nb = n_rows - r0 < FOREST_BLOCK ? n_rows - r0 : FOREST_BLOCK;
        forest_block(f, x + r0 * n_cols, n_cols, nb, margin ? FOREST_MARGIN : FOREST_PROB,
                     out + r0 * f->n_groups);
    }
    return PROMO_OK;
}

int promo_gbdt_contribs(promo_gbdt *m, const float *x, size_t n_rows, size_t n_cols, float *out)
{
    int rc = check_shape(m, n_rows, n_cols);
    if (rc)
        return rc;
    DMatrixHandle dm = NULL;
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    XGB(XGDMatrixCreateFromMat_omp(x, (bst_ulong)n_rows, (bst_ulong)n_cols, NAN, &dm, m->nthread),
        "creating a DMatrix");
    XGB(XGBoosterPredictFromDMatrix(m->h, dm,
                                    "{\"type\":2,\"training\":false,\"iteration_begin\":0,"
                                    "\"iteration_end\":0,\"strict_shape\":false}",
                                    &shape, &dim, &res),
        "computing contributions");
    /* (rows, cols + 1), or (rows, classes, cols + 1) for a multi-class model. */
    int multi = m->objective == PROMO_GBDT_MULTICLASS;
    if (dim != (bst_ulong)(multi ? 3 : 2) || shape[0] != n_rows ||
        (multi && shape[1] != m->n_outputs) || shape[dim - 1] != n_cols + 1) {
        rc = promo_fail(PROMO_EINTERNAL, "gbdt: unexpected contribution shape");
        goto fail;
    }
    memcpy(out, res, n_rows * m->n_outputs * (n_cols + 1) * sizeof *out);
    XGDMatrixFree(dm);
    return PROMO_OK;
fail:
    if (dm)
        XGDMatrixFree(dm);
    return rc;
}

/* ---- attributes ---- */

int promo_gbdt_set_attr(promo_gbdt *m, const char *key, const char *value)
{
    int rc = PROMO_OK;
    if (!key || !*key)
        return promo_fail(PROMO_EUSAGE, "gbdt: empty attribute name");
    XGB(XGBoosterSetAttr(m->h, key, value), "setting an attribute");
    return PROMO_OK;
fail:
    return rc;
}

char *promo_gbdt_get_attr(promo_gbdt *m, const char *key)
{
    const char *v = NULL;
    int ok = 0;
    if (XGBoosterGetAttr(m->h, key, &v, &ok) != 0) {
        xgb_fail("reading an attribute");
        return NULL;
    }
    return ok && v ? promo_strdup(v) : NULL;
}

/* ---- save ---- */

int promo_gbdt_save_buffer(promo_gbdt *m, char **out, size_t *n)
{
    int rc = PROMO_OK;
    bst_ulong len = 0;
    const char *buf = NULL;
    *out = NULL;
    *n = 0;
    XGB(XGBoosterSaveModelToBuffer(m->h, "{\"format\":\"json\"}", &len, &buf), "saving");
    char *copy = promo_malloc((size_t)len);
    if (!copy)
        return PROMO_ENOMEM;
    memcpy(copy, buf, (size_t)len);
    *out = copy;
    *n = (size_t)len;
    return PROMO_OK;
fail:
    return rc;
}

int promo_gbdt_save(promo_gbdt *m, const char *path)
{
    char *buf = NULL;
    size_t n = 0;
    int rc = promo_gbdt_save_buffer(m, &buf, &n);
    if (rc)
        return rc;
    rc = promo_atomic_write(path, buf, n);
    promo_free(buf);
    return rc;
}

/* ---- load: check the JSON, then hand the same bytes to XGBoost ---- */

#define MAX_NODES    (1 << 24)
#define MAX_FEATURES (1 << 22)

static int bad(const char *what)
{
    return promo_fail(PROMO_EINPUT, "model: %s", what);
}

/* Objects with a repeated key would be read differently by cJSON (first) and XGBoost (last). */
static int has_duplicate_keys(const cJSON *node, int depth)
{
    if (depth > 64)
        return 1;
    for (const cJSON *a = node ? node->child : NULL; a; a = a->next) {
        if (cJSON_IsObject(node))
            for (const cJSON *b = a->next; b; b = b->next)
                if (a->string && b->string && !strcmp(a->string, b->string))
                    return 1;
        if ((cJSON_IsObject(a) || cJSON_IsArray(a)) && has_duplicate_keys(a, depth + 1))
            return 1;
    }
    return 0;
}

static const cJSON *obj(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsObject(v) ? v : NULL;
}

static const cJSON *arr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsArray(v) ? v : NULL;
}

/* An integer stored as a JSON string ("3"), as XGBoost writes its *_param objects. */
static int str_int(const cJSON *o, const char *key, long lo, long hi, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return -1;
    char *end;
    errno = 0;
    long x = strtol(v->valuestring, &end, 10);
    if (*end || errno || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static int num_int(const cJSON *v, long lo, long hi, long *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return -1;
    *out = (long)v->valuedouble;
    return 0;
}

static int check_tree(const cJSON *t, long id, long n_features)
{
    const cJSON *tp = obj(t, "tree_param");
    long n, nf, del, tid;
    if (!tp || str_int(tp, "num_nodes", 1, MAX_NODES, &n) ||
        str_int(tp, "num_feature", 0, MAX_FEATURES, &nf) || nf != n_features ||
        str_int(tp, "num_deleted", 0, 0, &del))
        return bad("a tree's tree_param is missing or out of range");
    if (num_int(cJSON_GetObjectItemCaseSensitive(t, "id"), id, id, &tid))
        return bad("a tree's id does not match its position");
    static const char *const per_node[] = {
        "left_children", "right_children", "parents",      "split_indices", "split_conditions",
        "default_left",  "base_weights",   "loss_changes", "sum_hessian",   "split_type"};
    for (size_t k = 0; k < sizeof per_node / sizeof *per_node; k++) {
        const cJSON *a = arr(t, per_node[k]);
        if (!a || cJSON_GetArraySize(a) != n)
            return promo_fail(PROMO_EINPUT, "model: tree %ld: '%s' missing or not %ld long", id,
                              per_node[k], n);
        for (const cJSON *e = a->child; e; e = e->next)
            if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
                return promo_fail(PROMO_EINPUT, "model: tree %ld: '%s' holds a non-number", id,
                                  per_node[k]);
    }
    static const char *const cats[] = {"categories", "categories_nodes", "categories_segments",
                                       "categories_sizes"};
    for (size_t k = 0; k < sizeof cats / sizeof *cats; k++) {
        const cJSON *a = arr(t, cats[k]);
        if (!a || cJSON_GetArraySize(a) != 0)
            return bad("categorical splits are not supported");
    }
    const cJSON *l = arr(t, "left_children")->child, *r = arr(t, "right_children")->child;
    const cJSON *si = arr(t, "split_indices")->child, *st = arr(t, "split_type")->child;
    const cJSON *dl = arr(t, "default_left")->child, *pa = arr(t, "parents")->child;
    /* Children come after their parent: traversal always moves forward, so it ends. The
     * parents array must agree, since XGBoost uses it too. */
    int *parent_of = promo_mallocn((size_t)n, sizeof *parent_of);
    if (!parent_of)
        return PROMO_ENOMEM;
    int rc = PROMO_OK;
    for (long i = 0; i < n; i++)
        parent_of[i] = -1;
    for (long i = 0; i < n && !rc; i++) {
        long lc, rcid, f, ty, d;
        if (num_int(l, -1, n - 1, &lc) || num_int(r, -1, n - 1, &rcid) ||
            num_int(si, 0, n_features > 0 ? n_features - 1 : 0, &f) || num_int(st, 0, 0, &ty) ||
            num_int(dl, 0, 1, &d)) {
            rc = promo_fail(PROMO_EINPUT, "model: tree %ld node %ld: index out of range", id, i);
            break;
        }
        if ((lc == -1) != (rcid == -1) || (lc != -1 && (lc <= i || rcid <= i || lc == rcid))) {
            rc = promo_fail(PROMO_EINPUT, "model: tree %ld node %ld: bad children", id, i);
            break;
        }
        if (lc != -1) {
            if (parent_of[lc] != -1 || parent_of[rcid] != -1) {
                rc = promo_fail(PROMO_EINPUT, "model: tree %ld node %ld: shared child", id, i);
                break;
            }
            parent_of[lc] = (int)i;
            parent_of[rcid] = (int)i;
        }
        l = l->next;
        r = r->next;
        si = si->next;
        st = st->next;
        dl = dl->next;
    }
    for (long i = 0; i < n && !rc; i++, pa = pa->next) {
        long pv;
        long want = i == 0 ? 2147483647L : parent_of[i];
        if (num_int(pa, -1, 2147483647L, &pv) || pv != want || (i > 0 && want < 0))
            rc = promo_fail(PROMO_EINPUT, "model: tree %ld node %ld: parent mismatch", id, i);
    }
    promo_free(parent_of);
    return rc;
}

static int check_model_json(const cJSON *root)
{
    const cJSON *learner = obj(root, "learner");
    const cJSON *ver = arr(root, "version");
    long major;
    if (!learner || !ver || cJSON_GetArraySize(ver) != 3 || num_int(ver->child, 1, 1, &major))
        return bad("not an XGBoost 1.x JSON model (no learner or version)");
    const cJSON *attrs = obj(learner, "attributes");
    if (!attrs)
        return bad("learner.attributes missing");
    for (const cJSON *a = attrs->child; a; a = a->next)
        if (!cJSON_IsString(a))
            return bad("learner.attributes holds a non-string");
    const cJSON *names = arr(learner, "feature_names"), *types = arr(learner, "feature_types");
    if (!names || !types)
        return bad("learner.feature_names or feature_types missing");
    const cJSON *mp = obj(learner, "learner_model_param");
    long nf, ncls, ntgt;
    if (!mp || str_int(mp, "num_feature", 1, MAX_FEATURES, &nf) ||
        str_int(mp, "num_class", 0, MAX_CLASSES, &ncls) || str_int(mp, "num_target", 1, 1, &ntgt))
        return bad("learner_model_param missing or out of range");
    promo_gbdt_objective kind;
    size_t n_groups = 1;
    if (json_objective(root, &kind, &n_groups))
        return bad("objective is not binary:logistic, reg:squarederror or multi:softprob (with "
                   "num_class >= 2)");
    if (kind == PROMO_GBDT_MULTICLASS) {
        /* XGBoost's softmax reads the objective's own class count: it must be the model's. */
        long ocls;
        const cJSON *sp = obj(obj(learner, "objective"), "softmax_multiclass_param");
        if (str_int(sp, "num_class", 2, MAX_CLASSES, &ocls) || ocls != ncls)
            return bad("softmax_multiclass_param.num_class does not match num_class");
    }
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(mp, "base_score");
    if (!cJSON_IsString(bs))
        return bad("base_score missing");
    char *end;
    double b = strtod(bs->valuestring, &end);
    if (*end || !isfinite(b) || fabs(b) > 1e30 ||
        (kind == PROMO_GBDT_BINARY && !(b > 0.0 && b < 1.0)))
        return bad(kind == PROMO_GBDT_BINARY ? "base_score out of (0, 1)"
                                             : "base_score not a finite number");
    if (cJSON_GetArraySize(names) != 0 && cJSON_GetArraySize(names) != nf)
        return bad("feature_names does not match num_feature");
    const cJSON *gb = obj(learner, "gradient_booster");
    const cJSON *gname = gb ? cJSON_GetObjectItemCaseSensitive(gb, "name") : NULL;
    if (!cJSON_IsString(gname) || strcmp(gname->valuestring, "gbtree"))
        return bad("booster is not gbtree");
    const cJSON *model = obj(gb, "model");
    const cJSON *gp = model ? obj(model, "gbtree_model_param") : NULL;
    const cJSON *trees = model ? arr(model, "trees") : NULL;
    const cJSON *info = model ? arr(model, "tree_info") : NULL;
    long n_trees, npt;
    if (!gp || !trees || !info || str_int(gp, "num_trees", 0, 10000000, &n_trees) ||
        str_int(gp, "num_parallel_tree", 1, 100000, &npt) || cJSON_GetArraySize(trees) != n_trees ||
        cJSON_GetArraySize(info) != n_trees || n_trees % (npt * (long)n_groups) != 0)
        return bad("gbtree model: tree count mismatch");
    long i = 0;
    for (const cJSON *t = trees->child, *ti = info->child; t; t = t->next, ti = ti->next, i++) {
        long grp;
        if (!cJSON_IsObject(t) || num_int(ti, 0, (long)n_groups - 1, &grp))
            return bad("gbtree model: bad tree or tree_info entry");
        int rc = check_tree(t, i, nf);
        if (rc)
            return rc;
    }
    return PROMO_OK;
}

/* ---- the flattened forest ---- */

static void forest_free(flat_forest *f)
{
    if (!f)
        return;
    promo_free(f->node);
    promo_free(f->leaf);
    promo_free(f->group_start);
    promo_free(f);
}

/* One tree's arrays from the (checked) JSON. */
typedef struct tree_arrays {
    long n;     /* nodes */
    int *left;  /* left child, -1 for a leaf */
    int *right; /* right child */
    uint32_t *feature;
    uint8_t *default_left;
    float *cond; /* threshold, or the leaf value at a leaf */
    int *depth;  /* depth of each node (root 0) */
} tree_arrays;

static void tree_arrays_free(tree_arrays *t)
{
    promo_free(t->left);
    promo_free(t->right);
    promo_free(t->feature);
    promo_free(t->default_left);
    promo_free(t->cond);
    promo_free(t->depth);
    memset(t, 0, sizeof *t);
}

static const cJSON *arr(const cJSON *o, const char *key);
static const cJSON *obj(const cJSON *o, const char *key);

/* The node arrays of tree t, and its depth (children come after their parent, as the loader
 * checks and XGBoost writes). */
static int tree_arrays_read(const cJSON *t, tree_arrays *a, int *depth)
{
    memset(a, 0, sizeof *a);
    const cJSON *l = arr(t, "left_children"), *r = arr(t, "right_children");
    const cJSON *si = arr(t, "split_indices"), *sc = arr(t, "split_conditions");
    const cJSON *dl = arr(t, "default_left");
    if (!l || !r || !si || !sc || !dl)
        return promo_fail(PROMO_EINTERNAL, "gbdt: a tree lacks its node arrays");
    long n = cJSON_GetArraySize(l);
    if (n < 1 || cJSON_GetArraySize(r) != n || cJSON_GetArraySize(si) != n ||
        cJSON_GetArraySize(sc) != n || cJSON_GetArraySize(dl) != n)
        return promo_fail(PROMO_EINTERNAL, "gbdt: a tree's node arrays disagree");
    a->n = n;
    a->left = promo_mallocn((size_t)n, sizeof *a->left);
    a->right = promo_mallocn((size_t)n, sizeof *a->right);
    a->feature = promo_mallocn((size_t)n, sizeof *a->feature);
    a->default_left = promo_mallocn((size_t)n, sizeof *a->default_left);
    a->cond = promo_mallocn((size_t)n, sizeof *a->cond);
    a->depth = promo_mallocn((size_t)n, sizeof *a->depth);
    if (!a->left || !a->right || !a->feature || !a->default_left || !a->cond || !a->depth) {
        tree_arrays_free(a);
        return PROMO_ENOMEM;
    }
    l = l->child;
    r = r->child;
    si = si->child;
    sc = sc->child;
    dl = dl->child;
    for (long i = 0; i < n;
         i++, l = l->next, r = r->next, si = si->next, sc = sc->next, dl = dl->next) {
        a->left[i] = (int)l->valuedouble;
        a->right[i] = (int)r->valuedouble;
        a->feature[i] = (uint32_t)si->valuedouble;
        a->default_left[i] = dl->valuedouble != 0.0;
        /* XGBoost writes each float in its shortest round-trip decimal form, so the double
         * cJSON reads rounds back to the very float. */
        a->cond[i] = (float)sc->valuedouble;
    }
    *depth = 0;
    a->depth[0] = 0;
    for (long i = 0; i < n; i++) {
        if (a->left[i] < 0) {
            *depth = a->depth[i] > *depth ? a->depth[i] : *depth;
            continue;
        }
        if (a->left[i] <= i || a->right[i] <= i || a->left[i] >= n || a->right[i] >= n ||
            a->feature[i] > FOREST_FEATURE_MASK) {
            tree_arrays_free(a);
            return promo_fail(PROMO_EINTERNAL, "gbdt: a tree's children are out of order");
        }
        a->depth[a->left[i]] = a->depth[a->right[i]] = a->depth[i] + 1;
    }
    return PROMO_OK;
}

/* Tree a into the complete layout of depth f->depth at slot t. */
static int forest_place(flat_forest *f, size_t t, const tree_arrays *a)
{
    size_t n_split = ((size_t)1 << f->depth) - 1;
    int *src = promo_mallocn(2 * n_split + 1, sizeof *src);
    if (!src)
        return PROMO_ENOMEM;
    forest_node *node = f->node + t * n_split;
    float *leaf = f->leaf + t * (n_split + 1);
    src[0] = 0;
    for (size_t pos = 0; pos < n_split; pos++) {
        int id = src[pos];
        if (a->left[id] < 0) { /* a leaf above the last level: the same leaf both ways */
            node[pos].split = 0;
            node[pos].cond = 0.0f;
            src[2 * pos + 1] = src[2 * pos + 2] = id;
        } else {
            node[pos].split = a->feature[id] | (a->default_left[id] ? 0u : ~FOREST_FEATURE_MASK);
            node[pos].cond = a->cond[id];
            src[2 * pos + 1] = a->left[id];
            src[2 * pos + 2] = a->right[id];
        }
    }
    for (size_t k = 0; k <= n_split; k++)
        leaf[k] = a->cond[src[n_split + k]];
    promo_free(src);
    return PROMO_OK;
}

/* The objective of a checked XGBoost JSON model and its outputs per row (num_class for
 * multi:softprob, else 1). -1 for an objective promo does not know. */
static int json_objective(const cJSON *root, promo_gbdt_objective *objective, size_t *n_groups)
{
    const cJSON *learner = obj(root, "learner");
    const cJSON *o = obj(learner, "objective");
    const cJSON *name = o ? cJSON_GetObjectItemCaseSensitive(o, "name") : NULL;
    long ncls = 0;
    if (!cJSON_IsString(name) ||
        str_int(obj(learner, "learner_model_param"), "num_class", 0, MAX_CLASSES, &ncls))
        return -1;
    for (int k = 0; k < PROMO_GBDT_OBJECTIVE_COUNT; k++)
        if (!strcmp(name->valuestring, objective_names[k])) {
            *objective = (promo_gbdt_objective)k;
            *n_groups = k == PROMO_GBDT_MULTICLASS ? (size_t)ncls : 1;
            return (k == PROMO_GBDT_MULTICLASS) == (ncls >= 2) ? 0 : -1;
        }
    return -1;
}

/* The forest of a checked XGBoost JSON model; *out stays NULL when its trees are too deep. */
static int forest_from_json(const cJSON *root, flat_forest **out)
{
    *out = NULL;
    const cJSON *learner = obj(root, "learner");
    const cJSON *mp = learner ? obj(learner, "learner_model_param") : NULL;
    const cJSON *gb = learner ? obj(learner, "gradient_booster") : NULL;
    const cJSON *model = gb ? obj(gb, "model") : NULL;
    const cJSON *trees = model ? arr(model, "trees") : NULL;
    const cJSON *info = model ? arr(model, "tree_info") : NULL;
    const cJSON *bs = mp ? cJSON_GetObjectItemCaseSensitive(mp, "base_score") : NULL;
    promo_gbdt_objective objective;
    size_t n_groups = 1;
    if (!trees || !info || !cJSON_IsString(bs) ||
        cJSON_GetArraySize(info) != cJSON_GetArraySize(trees) ||
        json_objective(root, &objective, &n_groups))
        return promo_fail(PROMO_EINTERNAL,
                          "gbdt: model JSON without trees, objective or base_score");
    size_t n_trees = (size_t)cJSON_GetArraySize(trees);
    int depth = 0, rc = PROMO_OK;
    for (const cJSON *t = trees->child; t; t = t->next) {
        tree_arrays a;
        int d = 0;
        if ((rc = tree_arrays_read(t, &a, &d)))
            return rc;
        tree_arrays_free(&a);
        depth = d > depth ? d : depth;
    }
    if (depth > FOREST_MAX_DEPTH)
        return PROMO_OK;
    flat_forest *f = promo_calloc(1, sizeof *f);
    if (!f)
        return PROMO_ENOMEM;
    size_t n_split = ((size_t)1 << depth) - 1;
    f->depth = depth;
    f->n_trees = n_trees;
    f->n_groups = n_groups;
    f->objective = objective;
    float base = strtof(bs->valuestring, NULL);
    /* ProbToMargin, in float as XGBoost computes it: binary:logistic's log-odds; squared error
     * and softprob take base_score as the margin itself. */
    f->base_margin = objective == PROMO_GBDT_BINARY ? -logf(1.0f / base - 1.0f) : base;
    f->node = promo_mallocn(n_trees * n_split + 1, sizeof *f->node);
    f->leaf = promo_mallocn(n_trees * (n_split + 1) + 1, sizeof *f->leaf);
    f->group_start = promo_calloc(n_groups + 1, sizeof *f->group_start);
    size_t *next = promo_calloc(n_groups + 1, sizeof *next);
    if (!f->node || !f->leaf || !f->group_start || !next)
        rc = PROMO_ENOMEM;
    /* Trees grouped by output (tree_info), each group keeping XGBoost's order: an output's sum
     * runs over its own trees in the order XGBoost adds them. */
    for (const cJSON *ti = info->child; ti && !rc; ti = ti->next) {
        double g = ti->valuedouble;
        if (!(g >= 0.0 && g < (double)n_groups))
            rc = promo_fail(PROMO_EINTERNAL, "gbdt: tree_info out of range");
        else
            f->group_start[(size_t)g + 1]++;
    }
    for (size_t g = 0; g < n_groups && !rc; g++) {
        f->group_start[g + 1] += f->group_start[g];
        next[g] = f->group_start[g];
    }
    const cJSON *ti = info->child;
    for (const cJSON *t = trees->child; t && !rc; t = t->next, ti = ti->next) {
        tree_arrays a;
        int d = 0;
        if (!(rc = tree_arrays_read(t, &a, &d))) {
            rc = forest_place(f, next[(size_t)ti->valuedouble]++, &a);
            tree_arrays_free(&a);
        }
    }
    promo_free(next);
    if (rc) {
        forest_free(f);
        return rc;
    }
    *out = f;
    return PROMO_OK;
}

/* The forest of a booster in memory, through its JSON. */
static int forest_from_booster(BoosterHandle h, flat_forest **out)
{
    int rc = PROMO_OK;
    bst_ulong len = 0;
    const char *buf = NULL;
    *out = NULL;
    XGB(XGBoosterSaveModelToBuffer(h, "{\"format\":\"json\"}", &len, &buf), "saving");
    cJSON *root = cJSON_ParseWithLength(buf, (size_t)len);
    if (!root)
        return promo_fail(PROMO_EINTERNAL, "gbdt: XGBoost wrote JSON cJSON cannot read");
    rc = forest_from_json(root, out);
    cJSON_Delete(root);
    return rc;
fail:
    return rc;
}

/* A checked model with more than one parallel tree per round: XGBoost's random forest. */
static int json_forest(const cJSON *root)
{
    const cJSON *gb = obj(obj(root, "learner"), "gradient_booster");
    const cJSON *gp = obj(obj(gb, "model"), "gbtree_model_param");
    long npt = 1;
    return !str_int(gp, "num_parallel_tree", 1, 100000, &npt) && npt > 1;
}

int promo_gbdt_load_buffer(const void *data, size_t n, promo_gbdt **out)
{
    *out = NULL;
    pthread_once(&init_once, init_xgb);
    if (n == 0 || n > ((size_t)1 << 32))
        return bad(n ? "file too large" : "empty file");
    if (memchr(data, '\0', n))
        return bad("NUL byte in the JSON");
    /* XGBoost reads text JSON only when the bytes open with '{' and '"' (anything else goes to
     * its UBJSON or legacy binary loaders, which trust sizes in the data), and cJSON skips any
     * control byte as whitespace where XGBoost's parser does not: both must see the same JSON. */
    const unsigned char *u = data;
    if (n < 2 || u[0] != '{' || u[1] != '"')
        return bad("not an XGBoost JSON model (must open with {\")");
    for (size_t i = 0; i < n; i++)
        if (u[i] < 0x20 && u[i] != '\n' && u[i] != '\r' && u[i] != '\t')
            return bad("control byte in the JSON");
    /* cJSON wants the terminator inside the length to reject trailing bytes. */
    char *z = promo_malloc(n + 1);
    if (!z)
        return PROMO_ENOMEM;
    memcpy(z, data, n);
    z[n] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(z, n + 1, &end, 1);
    int rc = PROMO_OK;
    promo_gbdt *m = NULL;
    BoosterHandle h = NULL;
    if (!root || !cJSON_IsObject(root)) {
        rc = promo_fail(PROMO_EINPUT, "model: not valid JSON (near byte %zu)",
                        end && end >= z ? (size_t)(end - z) : (size_t)0);
        goto fail;
    }
    if (has_duplicate_keys(root, 0)) {
        rc = bad("repeated key or nesting too deep");
        goto fail;
    }
    if ((rc = check_model_json(root)))
        goto fail;
    XGB(XGBoosterCreate(NULL, 0, &h), "creating a booster");
    XGB(XGBoosterLoadModelFromBuffer(h, z, (bst_ulong)n), "loading");
    m = promo_calloc(1, sizeof *m);
    if (!m) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    m->h = h;
    h = NULL;
    json_objective(root, &m->objective, &m->n_outputs); /* checked above */
    m->mode = json_forest(root) ? PROMO_GBDT_FOREST : PROMO_GBDT_BOOST;
    m->best_score = NAN;
    if ((rc = set_param(m->h, "verbosity", "0")) || (rc = fill_meta(m)) ||
        (rc = forest_from_json(root, &m->f)))
        goto fail;
    char *bs = promo_gbdt_get_attr(m, "best_score");
    if (bs) {
        m->best_score = strtod(bs, NULL);
        promo_free(bs);
    }
    cJSON_Delete(root);
    promo_free(z);
    *out = m;
    return PROMO_OK;
fail:
    promo_gbdt_free(m);
    if (h)
        XGBoosterFree(h);
    cJSON_Delete(root);
    promo_free(z);
    return rc;
}

int promo_gbdt_load(const char *path, promo_gbdt **out)
{
    *out = NULL;
    /* Regular files only, opened without blocking: a model path that is (or links to) a FIFO
     * or /dev/zero is refused at once instead of hanging (promo/infile.h). */
    char *buf = NULL;
    size_t n = 0;
    int rc = promo_infile_read(path, 0, &buf, &n);
    if (!rc) {
        rc = promo_gbdt_load_buffer(buf, n, out);
        if (rc)
            promo_fail_prefix(rc, "%s", path);
    }
    promo_free(buf);
    return rc;
}

/* ---- stepwise boosting ---- */

/* The training rows as one dense batch for XGBoost's quantile DMatrix (hist's own format: the
 * rows are binned once, no CSR copy). */
typedef struct dense_iter {
    DMatrixHandle proxy;
    char iface[256]; /* __array_interface__ of the borrowed rows */
    int done;
} dense_iter;

static int dense_next(DataIterHandle it)
{
    dense_iter *s = it;
    if (s->done)
        return 0;
    s->done = 1;
    return XGProxyDMatrixSetDataDense(s->proxy, s->iface) == 0;
}

static void dense_reset(DataIterHandle it)
{
    ((dense_iter *)it)->done = 0;
}

/* A quantile DMatrix of d: histogram bins from d's rows, or ref's bins when ref is not NULL. */
static int make_quantile_dmatrix(const promo_gbdt_params *p,
                                 const promo_gbdt_data *d,
                                 DMatrixHandle ref,
                                 DMatrixHandle *out)
{
    int rc = PROMO_OK;
    dense_iter it = {.proxy = NULL, .done = 0};
    DMatrixHandle dm = NULL;
    char config[128];
    snprintf(it.iface, sizeof it.iface,
             "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long long)(uintptr_t)d->x, d->n_rows, d->n_cols);
    snprintf(config, sizeof config, "{\"missing\": NaN, \"nthread\": %d, \"max_bin\": %d}",
             p->nthread, p->max_bin);
    XGB(XGProxyDMatrixCreate(&it.proxy), "creating a proxy DMatrix");
    XGB(XGQuantileDMatrixCreateFromCallback(&it, it.proxy, ref, dense_reset, dense_next, config,
                                            &dm),
        "creating a quantile DMatrix");
    XGB(XGDMatrixSetFloatInfo(dm, "label", d->y, (bst_ulong)d->n_rows), "setting labels");
    if (d->w)
        XGB(XGDMatrixSetFloatInfo(dm, "weight", d->w, (bst_ulong)d->n_rows), "setting weights");
    XGDMatrixFree(it.proxy);
    *out = dm;
    return PROMO_OK;
fail:
    if (it.proxy)
        XGDMatrixFree(it.proxy);
    if (dm)
        XGDMatrixFree(dm);
    return rc;
}

struct promo_gbdt_boost {
    promo_gbdt_params p;
    DMatrixHandle dtr;    /* quantile DMatrix of the training rows, owned */
    BoosterHandle h;      /* owned */
    size_t n_cols, n_out; /* features; values per row */
    promo_gbdt_data eval; /* rows whose margins are kept (x borrowed), may be empty */
    float *margin;        /* eval.n_rows x n_out */
    double base;          /* base_score, for the debug line */
    int rounds;           /* rounds boosted so far */
    int in_margin;        /* rounds added to margin: it is brought up to date when read */
};

int promo_gbdt_boost_begin(const promo_gbdt_params *p,
                           const promo_gbdt_data *train,
                           const float *x_eval,
                           size_t n_eval,
                           const promo_gbdt_boost *bins,
                           promo_gbdt_boost **out)
{
    *out = NULL;
    pthread_once(&init_once, init_xgb);
    int rc = check_params(p);
    if (rc)
        return rc;
    if (!train)
        return promo_fail(PROMO_EUSAGE, "gbdt: no training set");
    if (p->mode != PROMO_GBDT_BOOST)
        return promo_fail(PROMO_EUSAGE, "gbdt: stepwise training is for boosting (mode 0)");
    if (n_eval && !x_eval)
        return promo_fail(PROMO_EUSAGE, "gbdt: %zu evaluation rows without x", n_eval);
    if ((rc = check_data(p, train, "training", 0)))
        return rc;
    if (p->max_depth > FOREST_MAX_DEPTH)
        return promo_fail(PROMO_EUSAGE, "gbdt: stepwise training keeps depth <= %d, got %d",
                          FOREST_MAX_DEPTH, p->max_depth);
    if (bins && (bins->n_cols != train->n_cols || bins->p.max_bin != p->max_bin))
        return promo_fail(PROMO_EUSAGE,
                          "gbdt: bins from a booster of %zu columns and %d bins, training has "
                          "%zu columns and %d bins",
                          bins->n_cols, bins->p.max_bin, train->n_cols, p->max_bin);
    promo_gbdt_boost *b = promo_calloc(1, sizeof *b);
    if (!b)
        return PROMO_ENOMEM;
    b->p = *p;
    b->p.eval_metric = NULL; /* the caller evaluates; nothing borrowed beyond the call */
    b->n_cols = train->n_cols;
    b->n_out = p->objective == PROMO_GBDT_MULTICLASS ? (size_t)p->n_classes : 1;
    b->eval = (promo_gbdt_data){x_eval, n_eval, train->n_cols, NULL, NULL};
    double spw = 1.0;
    float base_margin = 0.5f;
    char base_str[40];
    if ((rc = base_score(p, train, &spw, &b->base, &base_margin, base_str)))
        goto fail;
    if (n_eval) {
        if (!(b->margin = promo_mallocn(n_eval, b->n_out * sizeof *b->margin))) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < n_eval * b->n_out; i++)
            b->margin[i] = base_margin;
    }
    if ((rc = make_quantile_dmatrix(p, train, bins ? bins->dtr : NULL, &b->dtr)))
        goto fail;
    XGB(XGBoosterCreate(&b->dtr, 1, &b->h), "creating a booster");
    if ((rc = set_params(b->h, p, train->n_cols, spw, base_str, default_metrics[p->objective])))
        goto fail;
    *out = b;
    return PROMO_OK;
fail:
    promo_gbdt_boost_free(b);
    return rc;
}

int promo_gbdt_boost_round(promo_gbdt_boost *b)
{
    int rc = PROMO_OK;
    XGB(XGBoosterUpdateOneIter(b->h, b->rounds, b->dtr), "training");
    b->rounds++;
    return PROMO_OK;
fail:
    return rc;
}

/* The evaluation margins are walked only when read, all new rounds at once: one slice of the
 * booster and one pass over the rows per look instead of one per round (the T-learner looks
 * every 5 rounds). */
int promo_gbdt_boost_margins(promo_gbdt_boost *b, const float **out)
{
    *out = NULL;
    int rc = PROMO_OK;
    if (b->eval.n_rows && b->in_margin < b->rounds) {
        if ((rc = add_rounds(b->h, b->in_margin, b->rounds, &b->eval, b->p.nthread, b->margin)))
            return rc;
        b->in_margin = b->rounds;
    }
    *out = b->margin;
    return PROMO_OK;
}

int promo_gbdt_boost_rounds(const promo_gbdt_boost *b)
{
    return b->rounds;
}

int promo_gbdt_boost_end(promo_gbdt_boost *b, int keep, promo_gbdt **out)
{
    *out = NULL;
    int rc = PROMO_OK;
    promo_gbdt *m = NULL;
    BoosterHandle cut = NULL;
    if (keep < 1 || keep > b->rounds) {
        rc = promo_fail(PROMO_EUSAGE, "gbdt: keep %d rounds of %d boosted", keep, b->rounds);
        goto fail;
    }
    if (keep < b->rounds) {
        XGB(XGBoosterSlice(b->h, 0, keep, 1, &cut), "cutting at the kept round");
        XGBoosterFree(b->h);
        b->h = cut;
        cut = NULL;
        if ((rc = set_param(b->h, "nthread", "%d", b->p.nthread)))
            goto fail;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%d", keep - 1);
    XGB(XGBoosterSetAttr(b->h, "best_iteration", buf), "setting an attribute");
    if (!(m = promo_calloc(1, sizeof *m))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    m->h = b->h;
    b->h = NULL;
    m->objective = b->p.objective;
    m->mode = PROMO_GBDT_BOOST;
    m->n_outputs = b->n_out;
    m->best_score = NAN;
    m->nthread = b->p.nthread;
    if ((rc = fill_meta(m)) || (rc = forest_from_booster(m->h, &m->f)))
        goto fail;
    promo_debug("gbdt: %s, %d rounds kept of %d boosted (stepwise, base_score %.6g), %zu features",
                objective_names[b->p.objective], m->n_rounds, b->rounds, b->base, m->n_features);
    promo_gbdt_boost_free(b);
    *out = m;
    return PROMO_OK;
fail:
    promo_gbdt_free(m);
    if (cut)
        XGBoosterFree(cut);
    promo_gbdt_boost_free(b);
    return rc;
}

void promo_gbdt_boost_free(promo_gbdt_boost *b)
{
    if (!b)
        return;
    if (b->h)
        XGBoosterFree(b->h);
    if (b->dtr)
        XGDMatrixFree(b->dtr);
    promo_free(b->margin);
    promo_free(b);
}
