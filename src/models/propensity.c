/* src/models/propensity.c: propensity training.
 *
 * The windows, rows and models are described in include/promo/propensity.h; the rows are
 * built by the panel (panel.h); scoring and explanations are in propensity_score.c; the
 * figures, charts and the stored evaluation are the evaluation report's (src/eval/report*.c).
 * This file runs the pipeline: cutoffs -> sampled, weighted training and validation rows ->
 * XGBoost (early stopping on validation) -> calibration on validation -> every model's
 * calibrated scores on the same test rows -> the model JSON (metadata as attributes) as bytes.
 * It writes nothing to the workspace: the caller commits the model with its evaluation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/learner.h>
#include <promo/log.h>
#include <promo/metrics.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "models/propensity_internal.h"

#define MODEL_VERSION "1"

static const char *const model_names[PROMO_PROP_MODEL_COUNT] = {"xgboost", "popularity", "rfm",
                                                                "logreg", "random_forest"};

const char *promo_prop_model_name(int model)
{
    return model >= 0 && model < PROMO_PROP_MODEL_COUNT ? model_names[model] : "unknown";
}

const char *const prop_kind_names[3] = {"any", "product", "category"};

promo_propensity_params promo_propensity_params_default(void)
{
    promo_propensity_params p;
    memset(&p, 0, sizeof p);
    p.target = "any";
    p.horizon_days = 30.0;
    p.n_train_windows = 3;
    p.scope = PROMO_PROP_SCOPE_ALL;
    p.neg_per_pos = 5.0;
    p.calibration = PROMO_CALIB_PLATT;
    p.baselines = PROMO_PROP_BASELINES_HEURISTIC;
    p.reuse = 0;
    p.plots = 1;
    p.save = 1;
    p.gbdt = promo_gbdt_params_default();
    /* Tuned on the synthetic world (seeds 42 and 7): scale_pos_weight 10 made the validation
     * log loss keep falling to the round cap while the ranking got worse; unweighted, smaller,
     * more regularized trees stop early and match logistic regression's AUC, 3x faster.
     * Patience 20 rounds keeps the same best round as 50 on UCI (any and 20 products) and on
     * the default world (seeds 42, 7, 11), and spends 18% less time after it. 32 histogram
     * bins instead of 64: UCI AUC 0.7414 -> 0.7413 (any), 0.8683 -> 0.8693 (20 products), the
     * default world 0.858/0.879/0.878 -> 0.856/0.877/0.879, and 30% less training time. */
    p.gbdt.max_depth = 4;
    p.gbdt.eta = 0.05;
    p.gbdt.n_rounds = 600;
    p.gbdt.early_stopping_rounds = 20;
    p.gbdt.min_child_weight = 20.0;
    p.gbdt.colsample_bytree = 0.3;
    p.gbdt.lambda = 10.0;
    p.gbdt.max_bin = 32;
    p.gbdt.scale_pos_weight = 1.0;
    p.forest = promo_gbdt_params_forest();
    /* A forest of regression trees on the 0/1 label (leaf = the share of buyers in it, as
     * scikit-learn's forest averages): XGBoost's RF mode on the logistic objective takes one
     * Newton step from the tiny base rate, so pure leaves reach +-500 log-odds, most scores
     * saturate to exactly 0 or 1 (P@50 = P@500 from mass ties) and the validation log loss is
     * NaN. Leaves of at least 20 (weighted) rows keep the averages smooth. */
    p.forest.max_depth = 10;
    p.forest.min_child_weight = 20.0;
    p.forest.n_forest_trees = 100;
    p.forest.max_bin = 64;
    p.logreg = promo_logreg_params_default();
    p.max_logreg_rows = 200000;
    /* UCI Online Retail, cutoff 2011-11-09, product model of every product, mean AUC over
     * the 20 best sellers: all 858k training rows 0.8755 (53 s CPU, 3.3 GB); 240k rows (every
     * positive, a fifth of the negatives) 0.8763 (23 s, 0.94 GB); 120k 0.8746 (13 s, 0.61 GB).
     * 120k keeps the quality and a third of the memory limit in hand (bench/RESULTS.md). */
    p.max_train_rows = 120000;
    p.max_valid_rows = 100000;
    p.gbdt_large_eta = 0;
    p.small_data_rows = 50000;
    p.seed = 1;
    return p;
}

void promo_prop_scores_free(promo_prop_scores *s)
{
    if (!s)
        return;
    if (s->customer_id)
        for (size_t i = 0; i < s->n; i++)
            promo_free(s->customer_id[i]);
    promo_free(s->customer_id);
    promo_free(s->probability);
    promo_free(s);
}

void promo_prop_explanation_free(promo_prop_explanation *e)
{
    if (!e)
        return;
    if (e->feature_names)
        for (size_t j = 0; j < e->n_features; j++)
            promo_free(e->feature_names[j]);
    promo_free(e->feature_names);
    promo_free(e->values);
    promo_free(e->contribs);
    promo_free(e);
}

int64_t promo_prop_scoring_cutoff(const promo_panel *d)
{
    int64_t day = promo_time_day(d->max_ts); /* saturating: max_ts may be INT64_MAX */
    return day > INT64_MAX - PROMO_PANEL_DAY ? INT64_MAX : day + PROMO_PANEL_DAY;
}

int64_t prop_horizon_s(double h)
{
    return (int64_t)llround(h * (double)PROMO_PANEL_DAY);
}

int promo_propensity_default_as_of(promo_store *s, double horizon_days, int64_t *out)
{
    *out = 0;
    if (!(horizon_days >= 0))
        return promo_fail(PROMO_EUSAGE, "propensity: horizon must be >= 0 days");
    promo_panel d;
    int rc = promo_panel_load(s, 1, &d);
    if (rc)
        return rc;
    *out = promo_prop_scoring_cutoff(&d) - prop_horizon_s(horizon_days);
    promo_panel_free(&d);
    return PROMO_OK;
}

void promo_prop_slug(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '.';
        out[k++] = ok ? (char)ch : '_';
    }
    out[k] = 0;
}

void promo_prop_digest(const void *data, size_t n, char out[17])
{
    /* FNV-1a over the bytes, finished with MurmurHash3's fmix64 so that every bit of the
     * digest depends on every byte. An identity, not a defence against forgery. */
    const unsigned char *b = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    h ^= (uint64_t)n;
    snprintf(out, 17, "%016llx", (unsigned long long)promo_fmix64(h));
}

int promo_prop_file_digest(const char *path, char out[17])
{
    out[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return promo_fail(PROMO_ENOTFOUND, "%s: no such model file", path);
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = promo_malloc(cap);
    int rc = buf ? PROMO_OK : PROMO_ENOMEM;
    while (!rc) {
        if (len == cap) {
            unsigned char *nb = promo_reallocn(buf, cap * 2, 1);
            if (!nb) {
                rc = PROMO_ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (k == 0) {
            if (ferror(f))
                rc = promo_fail(PROMO_EIO, "%s: read failed", path);
            break;
        }
    }
    fclose(f);
    if (!rc)
        promo_prop_digest(buf, len, out);
    promo_free(buf);
    return rc;
}

void prop_model_path(
    promo_store *s, promo_panel_kind kind, const char *scope_cat, char *out, size_t n)
{
    if (scope_cat && *scope_cat) {
        char sl[200];
        promo_prop_slug(scope_cat, sl, sizeof sl);
        snprintf(out, n, "%s/propensity_%s_%s.json", promo_store_models_dir(s),
                 prop_kind_names[kind], sl);
    } else {
        snprintf(out, n, "%s/propensity_%s.json", promo_store_models_dir(s), prop_kind_names[kind]);
    }
}

/* ---------------------------------------------------------------- matrices ---- */

/* A design matrix with labels and weights. */
typedef struct mat {
    size_t n, d;
    float *X, *y, *w;
} mat;

static void mat_free(mat *m)
{
    promo_free(m->X);
    promo_free(m->y);
    promo_free(m->w);
    memset(m, 0, sizeof *m);
}

/* Append the rows r of cut c to m. */
static int mat_append(mat *m,
                      const promo_panel *d,
                      const promo_panel_cut *c,
                      const promo_panel_layout *l,
                      const promo_panel_rows *r)
{
    size_t n = m->n + r->n;
    float *X = promo_reallocn(m->X, n ? n * l->n : 1, sizeof *X);
    if (!X)
        return PROMO_ENOMEM;
    m->X = X;
    float *y = promo_reallocn(m->y, n ? n : 1, sizeof *y);
    if (!y)
        return PROMO_ENOMEM;
    m->y = y;
    float *w = promo_reallocn(m->w, n ? n : 1, sizeof *w);
    if (!w)
        return PROMO_ENOMEM;
    m->w = w;
    int rc = promo_panel_rows_matrix(d, c, l, r, m->X + m->n * l->n);
    if (rc)
        return rc;
    memcpy(m->y + m->n, r->y, r->n * sizeof *y);
    memcpy(m->w + m->n, r->w, r->n * sizeof *w);
    m->n = n;
    m->d = l->n;
    return PROMO_OK;
}

static int write_bin(const char *dir, const char *name, const void *data, size_t n_bytes)
{
    char path[PROMO_PROP_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return promo_fail(PROMO_EIO, "%s: cannot create", path);
    int bad = n_bytes && fwrite(data, 1, n_bytes, f) != n_bytes;
    if (fclose(f) != 0 || bad)
        return promo_fail(PROMO_EIO, "%s: write failed", path);
    return PROMO_OK;
}

/* X as name.f32, (label, weight) pairs as name.lab. */
static int export_mat(const char *dir, const char *name, const mat *m)
{
    char fn[256];
    snprintf(fn, sizeof fn, "%s.f32", name);
    int rc = write_bin(dir, fn, m->X, m->n * m->d * sizeof(float));
    if (rc)
        return rc;
    float *lw = promo_mallocn(m->n ? 2 * m->n : 1, sizeof *lw);
    if (!lw)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        lw[2 * i] = m->y[i];
        lw[2 * i + 1] = m->w[i];
    }
    snprintf(fn, sizeof fn, "%s.lab", name);
    rc = write_bin(dir, fn, lw, 2 * m->n * sizeof(float));
    promo_free(lw);
    return rc;
}

/* ---------------------------------------------------------------- scoring ---- */

/* Heuristic scores (>= 0) as numbers in [0, 1) for the calibrator, order kept. */
static void squash(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = v[i] > 0 ? v[i] / (1.0 + v[i]) : 0.0;
}

/* Fit kind on (vp, vy, vw) and apply it to tp in place. */
static int calibrate(promo_calib_kind kind,
                     const double *vp,
                     const mat *v,
                     double *tp,
                     size_t nt,
                     promo_calib **keep /* OUT, may be NULL */)
{
    uint8_t *lab = promo_mallocn(v->n ? v->n : 1, 1);
    double *w = promo_mallocn(v->n ? v->n : 1, sizeof *w);
    promo_calib *c = NULL;
    int rc = PROMO_ENOMEM;
    if (!lab || !w)
        goto done;
    for (size_t i = 0; i < v->n; i++) {
        lab[i] = v->y[i] > 0.5f;
        w[i] = v->w[i];
    }
    if ((rc = promo_calib_fit(kind, vp, lab, w, v->n, &c)))
        goto done;
    promo_calib_apply(c, tp, nt, tp);
    if (keep) {
        *keep = c;
        c = NULL;
    }
done:
    promo_calib_free(c);
    promo_free(lab);
    promo_free(w);
    return rc;
}

static void to_double(const float *in, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i];
}

/* The per-target test data every model is scored on. */
typedef struct test_set {
    promo_panel_target t;
    promo_panel_rows rows;
    mat m;
} test_set;

static void test_free(test_set *ts)
{
    promo_panel_rows_free(&ts->rows);
    mat_free(&ts->m);
}

void prop_copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* ---------------------------------------------------------------- training ---- */

static int check_params(const promo_propensity_params *p)
{
    if (!(p->horizon_days >= 1 && p->horizon_days <= 3650))
        return promo_fail(PROMO_EUSAGE, "propensity: horizon must be 1..3650 days");
    if (p->n_train_windows < 1 || p->n_train_windows > 24)
        return promo_fail(PROMO_EUSAGE, "propensity: training windows must be 1..24");
    if (!(p->neg_per_pos >= 0))
        return promo_fail(PROMO_EUSAGE, "propensity: negatives per positive must be >= 0");
    if ((int)p->calibration < 0 || p->calibration >= PROMO_CALIB_KIND_COUNT)
        return promo_fail(PROMO_EUSAGE, "propensity: unknown calibration method");
    if (p->scope < 0 || p->scope >= PROMO_PROP_SCOPE_COUNT)
        return promo_fail(PROMO_EUSAGE, "propensity: unknown scope");
    if (p->n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "propensity: threads must be >= 0");
    if (p->baselines < PROMO_PROP_BASELINES_NONE || p->baselines > PROMO_PROP_BASELINES_HEURISTIC)
        return promo_fail(PROMO_EUSAGE, "propensity: unknown baselines setting %d", p->baselines);
    return PROMO_OK;
}

/* Candidate items of a pair model at cut c: scope and max_items; targets always in. */
static int items_mask_make(const promo_panel *d,
                           const promo_panel_cut *c,
                           promo_panel_kind kind,
                           const promo_propensity_params *p,
                           const test_set *ts,
                           size_t n_targets,
                           uint8_t **out)
{
    *out = NULL;
    if (kind != PROMO_PANEL_PRODUCT || (p->scope == PROMO_PROP_SCOPE_ALL && p->max_items == 0))
        return PROMO_OK;
    uint8_t *m = promo_calloc(d->n_products ? d->n_products : 1, 1);
    if (!m)
        return PROMO_ENOMEM;
    uint32_t cat = d->prod_cat[ts[0].t.item];
    for (uint32_t x = 0; x < d->n_products; x++)
        m[x] = p->scope == PROMO_PROP_SCOPE_ALL || d->prod_cat[x] == cat;
    if (p->max_items > 0) {
        /* Keep the max_items candidates with the most orders in the 90 days before c. */
        size_t n_c = 0;
        for (uint32_t x = 0; x < d->n_products; x++)
            n_c += m[x];
        if (n_c > p->max_items) {
            float *v = promo_mallocn(n_c, sizeof *v);
            if (!v) {
                promo_free(m);
                return PROMO_ENOMEM;
            }
            size_t k = 0;
            for (uint32_t x = 0; x < d->n_products; x++)
                if (m[x])
                    v[k++] = c->item_pop90[x];
            /* The max_items-th largest value, by a partial selection sort on a copy: cheap
             * for the sizes at hand (a few thousand products). */
            float thr = 0.0f;
            for (size_t a = 0; a < p->max_items && a < k; a++) {
                size_t best = a;
                for (size_t b = a + 1; b < k; b++)
                    if (v[b] > v[best])
                        best = b;
                float tmp = v[a];
                v[a] = v[best];
                v[best] = tmp;
                thr = v[a];
            }
            promo_free(v);
            size_t kept = 0;
            for (uint32_t x = 0; x < d->n_products; x++) {
                if (!m[x])
                    continue;
                m[x] = c->item_pop90[x] > thr || (c->item_pop90[x] == thr && kept < p->max_items);
                kept += m[x];
            }
        }
    }
    for (size_t k = 0; k < n_targets; k++)
        m[ts[k].t.item] = 1;
    *out = m;
    return PROMO_OK;
}

/* At most about max rows of r (0 = no limit): every positive, the negatives thinned at one
 * rate q with their weight divided by q, so weighted sums (the calibration, the base rate the
 * trees start from) still see the population. Deterministic in (seed, stream). */
static int thin_rows(promo_panel_rows *r, size_t max, uint64_t seed, uint64_t stream)
{
    if (max == 0 || r->n <= max)
        return PROMO_OK;
    size_t n_pos = 0;
    for (size_t i = 0; i < r->n; i++)
        n_pos += r->y[i] > 0.5f;
    size_t n_neg = r->n - n_pos;
    size_t want = max > n_pos + n_neg / 100 ? max - n_pos : n_neg / 100;
    double q = n_neg ? fmin(1.0, (double)want / (double)n_neg) : 1.0;
    promo_rng rng;
    promo_rng_init(&rng, seed, 0x7468696eULL ^ (stream << 40));
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++) {
        int pos = r->y[i] > 0.5f;
        if (!pos && promo_rng_uniform(&rng) >= q)
            continue;
        r->cust[m] = r->cust[i];
        r->item[m] = r->item[i];
        r->y[m] = r->y[i];
        r->w[m] = pos ? r->w[i] : (float)(r->w[i] / q);
        m++;
    }
    r->n = m;
    return PROMO_OK;
}

/* Sampled rows of cut c (at most about max_rows, thin_rows) appended to m; the rows go to
 * keep (may be NULL) too. */
static int build_sampled(const promo_panel *d,
                         const promo_panel_cut *c,
                         promo_panel_kind kind,
                         const promo_propensity_params *p,
                         const test_set *ts,
                         size_t n_targets,
                         const promo_panel_layout *l,
                         uint64_t stream,
                         size_t max_rows,
                         mat *m,
                         promo_panel_rows *keep)
{
    uint8_t *mask = NULL;
    promo_panel_rows r;
    memset(&r, 0, sizeof r);
    int rc = items_mask_make(d, c, kind, p, ts, n_targets, &mask);
    if (!rc)
        rc = promo_panel_rows_sampled(d, c, kind, p->horizon_days, mask, p->neg_per_pos, p->seed,
                                      stream, &r);
    if (!rc && kind != PROMO_PANEL_ANY)
        rc = thin_rows(&r, max_rows, p->seed, stream);
    if (!rc)
        rc = mat_append(m, d, c, l, &r);
    if (!rc && keep) {
        *keep = r;
        memset(&r, 0, sizeof r);
    }
    promo_panel_rows_free(&r);
    promo_free(mask);
    return rc;
}

/* Scores of a heuristic on rows built from a matrix's cut: recompute from rows. */
typedef void (*heur_fn)(const promo_panel *,
                        const promo_panel_cut *,
                        promo_panel_kind,
                        const promo_panel_rows *,
                        double *);

static void heur_pop(const promo_panel *d,
                     const promo_panel_cut *c,
                     promo_panel_kind k,
                     const promo_panel_rows *r,
                     double *out)
{
    promo_panel_rows_popularity(d, c, k, r, out);
}

static void heur_rfm(const promo_panel *d,
                     const promo_panel_cut *c,
                     promo_panel_kind k,
                     const promo_panel_rows *r,
                     double *out)
{
    (void)d;
    (void)k;
    promo_panel_rows_rfm(c, r, out);
}

/* What the model's stored evaluation figures need when the model is reused: the windows and
 * sizes of the training run, as "promo.fit". The training time is written as 0, not measured:
 * the model file must be a function of the data and the parameters alone (the same training
 * gives the same bytes, the same digest; a reused model took no training time). */
static void fit_stats_format(const promo_prop_fit *F, char *out, size_t n)
{
    snprintf(out, n, "%d %lld %zu %zu %zu %zu %d %.17g %.17g", F->n_train_windows,
             (long long)F->first_train_as_of, F->n_train_rows, F->n_train_pos, F->n_valid_rows,
             F->n_features, F->n_rounds, F->valid_logloss, 0.0);
}

static int fit_stats_parse(const char *s, promo_prop_fit *F)
{
    long long first = 0;
    if (!s || sscanf(s, "%d %lld %zu %zu %zu %zu %d %lg %lg", &F->n_train_windows, &first,
                     &F->n_train_rows, &F->n_train_pos, &F->n_valid_rows, &F->n_features,
                     &F->n_rounds, &F->valid_logloss, &F->train_seconds[PROMO_PROP_XGBOOST]) != 9)
        return 0;
    F->first_train_as_of = first;
    return 1;
}

/* Everything a trained model depends on, as one string (attribute promo.train_key): a model
 * whose key equals the one a new run would have is the model that run would train (same
 * windows, rows, parameters and data), so it is reused instead (p->reuse). The data part is
 * the purchase index's size and time range and the catalogue's size: an ingest that changes
 * any of them changes the key. */
static void train_key_format(const promo_propensity_params *p,
                             const promo_panel *d,
                             promo_panel_kind kind,
                             const char *scope_cat,
                             int64_t T,
                             int nw,
                             char *out,
                             size_t n)
{
    const promo_gbdt_params *g = &p->gbdt;
    snprintf(out, n,
             "v2 kind=%s scope=%s as_of=%lld h=%.17g w=%d neg=%.17g items=%zu cal=%d seed=%llu "
             "rounds=%d es=%d depth=%d eta=%.17g mcw=%.17g cs=%.17g ss=%.17g l2=%.17g bins=%d "
             "spw=%.17g small=%zu data=%llu/%u/%u/%lld/%lld",
             prop_kind_names[kind], scope_cat ? scope_cat : "", (long long)T, p->horizon_days, nw,
             p->neg_per_pos, p->max_items, (int)p->calibration, (unsigned long long)p->seed,
             g->n_rounds, g->early_stopping_rounds, g->max_depth, g->eta, g->min_child_weight,
             g->colsample_bytree, g->subsample, g->lambda, g->max_bin, g->scale_pos_weight,
             p->small_data_rows, (unsigned long long)d->by_prod.ptr[d->n_keys], d->n_products,
             d->n_keys, (long long)d->min_ts, (long long)d->max_ts);
}

static int set_attrs(promo_learner *g,
                     const promo_propensity_params *p,
                     promo_panel_kind kind,
                     const char *target,
                     const char *scope_cat,
                     int64_t as_of,
                     const promo_panel_layout *l,
                     const promo_calib *cal,
                     const char *train_key,
                     const promo_prop_fit *F)
{
    char stats[256];
    fit_stats_format(F, stats, sizeof stats);
    char buf[64], *names = promo_panel_layout_join(l), *cs = NULL;
    if (!names)
        return PROMO_ENOMEM;
    int rc = promo_calib_to_string(cal, &cs);
    if (rc) {
        promo_free(names);
        return rc;
    }
    char day[24];
    promo_time_format_cutoff(as_of, day, sizeof day);
    snprintf(buf, sizeof buf, "%.17g", p->horizon_days);
    rc = promo_learner_set_attr(g, "promo.version", MODEL_VERSION);
    if (!rc)
        rc =
            promo_learner_set_attr(g, "promo.kind", prop_kind_names[kind]) ||
                    promo_learner_set_attr(g, "promo.target", target) ||
                    promo_learner_set_attr(g, "promo.scope_category", scope_cat ? scope_cat : "") ||
                    promo_learner_set_attr(g, "promo.as_of", day) ||
                    promo_learner_set_attr(g, "promo.horizon_days", buf) ||
                    promo_learner_set_attr(g, "promo.features", names) ||
                    promo_learner_set_attr(g, "promo.calibration", cs) ||
                    promo_learner_set_attr(g, "promo.train_key", train_key) ||
                    promo_learner_set_attr(g, "promo.fit", stats)
                ? PROMO_EMODEL
                : PROMO_OK;
    promo_free(names);
    promo_free(cs);
    return rc;
}

/* Everything one training run holds, freed in one place. */
typedef struct run {
    promo_panel d;
    promo_panel_cut *cuts; /* [0] test, [1] validation, [2..] training */
    int n_cuts;
    promo_panel_layout l;
    mat tr, va;
    promo_panel_rows va_rows; /* the validation rows (heuristic baselines recompute from them) */
    test_set *ts;
    size_t n_ts;
    promo_learner *xgb, *rf, *lr; /* the model and the learnt baselines */
    promo_calib *cal;
    double *vp;
    uint8_t *vlab; /* validation labels, for the validation AUC of each model */
    promo_progress prog;
} run;

static void run_free(run *r)
{
    for (int i = 0; i < r->n_cuts; i++)
        promo_panel_cut_free(&r->cuts[i]);
    promo_free(r->cuts);
    promo_panel_layout_free(&r->l);
    mat_free(&r->tr);
    mat_free(&r->va);
    promo_panel_rows_free(&r->va_rows);
    if (r->ts)
        for (size_t k = 0; k < r->n_ts; k++)
            test_free(&r->ts[k]);
    promo_free(r->ts);
    promo_learner_free(r->xgb);
    promo_learner_free(r->rf);
    promo_learner_free(r->lr);
    promo_calib_free(r->cal);
    promo_free(r->vp);
    promo_free(r->vlab);
    if (r->prog.done < r->prog.total) /* a failure mid-way: end the bar's line */
        promo_progress_end(&r->prog);
    promo_panel_free(&r->d);
}

/* A new test-row array of model mi for target k (freed with the fit). */
static double *test_probs(promo_prop_fit *F, size_t k, int mi)
{
    promo_prop_test *t = &F->tests[k];
    t->prob[mi] = promo_mallocn(t->n ? t->n : 1, sizeof *t->prob[mi]);
    return t->prob[mi];
}

static int score_model(
    run *R, const promo_propensity_params *p, int mi, promo_learner *model, promo_prop_fit *F)
{
    float *buf = promo_mallocn(R->va.n ? R->va.n : 1, sizeof *buf);
    int rc = PROMO_ENOMEM;
    if (!buf)
        goto done;
    if ((rc = promo_learner_predict(model, R->va.X, R->va.n, R->va.d, buf)))
        goto done;
    to_double(buf, R->va.n, R->vp);
    if (promo_roc_auc(R->vp, R->vlab, R->va.n, &F->valid_auc[mi]))
        F->valid_auc[mi] = NAN;
    for (size_t k = 0; k < R->n_ts; k++) {
        test_set *ts = &R->ts[k];
        double *tp = test_probs(F, k, mi);
        float *tb = promo_reallocn(buf, ts->m.n ? ts->m.n : 1, sizeof *tb);
        if (!tp || !tb) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        buf = tb;
        if ((rc = promo_learner_predict(model, ts->m.X, ts->m.n, ts->m.d, buf)))
            goto done;
        to_double(buf, ts->m.n, tp);
        if ((rc = calibrate(p->calibration, R->vp, &R->va, tp, ts->m.n,
                            mi == PROMO_PROP_XGBOOST && k == 0 ? &R->cal : NULL)))
            goto done;
    }
    rc = PROMO_OK;
done:
    promo_free(buf);
    return rc;
}

/* A heuristic baseline: squashed scores on validation and test rows, calibrated. */
static int score_heuristic(run *R,
                           const promo_propensity_params *p,
                           int mi,
                           heur_fn fn,
                           promo_panel_kind kind,
                           promo_prop_fit *F)
{
    fn(&R->d, &R->cuts[1], kind, &R->va_rows, R->vp);
    squash(R->vp, R->va.n);
    if (promo_roc_auc(R->vp, R->vlab, R->va.n, &F->valid_auc[mi]))
        F->valid_auc[mi] = NAN;
    int rc = PROMO_OK;
    for (size_t k = 0; k < R->n_ts && !rc; k++) {
        test_set *ts = &R->ts[k];
        double *tp = test_probs(F, k, mi);
        if (!tp)
            return PROMO_ENOMEM;
        fn(&R->d, &R->cuts[0], kind, &ts->rows, tp);
        squash(tp, ts->m.n);
        rc = calibrate(p->calibration, R->vp, &R->va, tp, ts->m.n, NULL);
    }
    return rc;
}

/* A fixed-seed subsample of at most max rows of m (weights scaled so sums are kept). */
static int subsample(const mat *m, size_t max, uint64_t seed, mat *out)
{
    memset(out, 0, sizeof *out);
    size_t n = m->n <= max || max == 0 ? m->n : max;
    out->X = promo_mallocn(n ? n * m->d : 1, sizeof *out->X);
    out->y = promo_mallocn(n ? n : 1, sizeof *out->y);
    out->w = promo_mallocn(n ? n : 1, sizeof *out->w);
    if (!out->X || !out->y || !out->w) {
        mat_free(out);
        return PROMO_ENOMEM;
    }
    out->n = n;
    out->d = m->d;
    /* Selection sampling (Knuth's algorithm S): exactly n rows, in order. */
    promo_rng rng;
    promo_rng_init(&rng, seed, 77);
    size_t k = 0;
    float scale = (float)((double)m->n / (double)n);
    for (size_t i = 0; i < m->n && k < n; i++) {
        if ((double)(m->n - i) * promo_rng_uniform(&rng) >= (double)(n - k))
            continue;
        memcpy(out->X + k * m->d, m->X + i * m->d, m->d * sizeof *out->X);
        out->y[k] = m->y[i];
        out->w[k] = m->w[i] * scale;
        k++;
    }
    return PROMO_OK;
}

static int export_all(const run *R, const char *dir)
{
    int rc;
    if ((rc = export_mat(dir, "train", &R->tr)) || (rc = export_mat(dir, "valid", &R->va)))
        return rc;
    for (size_t k = 0; k < R->n_ts; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "test_%zu", k);
        if ((rc = export_mat(dir, nm, &R->ts[k].m)))
            return rc;
    }
    char path[PROMO_PROP_PATH_MAX];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return promo_fail(PROMO_EIO, "%s: cannot create", path);
    fprintf(f, "{\"n_features\":%zu,\"train_rows\":%zu,\"valid_rows\":%zu,\"test_rows\":[", R->l.n,
            R->tr.n, R->va.n);
    for (size_t k = 0; k < R->n_ts; k++)
        fprintf(f, "%s%zu", k ? "," : "", R->ts[k].m.n);
    fprintf(f, "],\"features\":[");
    for (size_t j = 0; j < R->l.n; j++)
        fprintf(f, "%s\"%s\"", j ? "," : "", R->l.names[j]);
    fprintf(f, "]}\n");
    if (fclose(f) != 0)
        return promo_fail(PROMO_EIO, "%s: write failed", path);
    return PROMO_OK;
}

static void weighted_counts(const mat *m, double *pos, double *neg, size_t *n_pos)
{
    *pos = *neg = 0.0;
    *n_pos = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->y[i] > 0.5f) {
            *pos += m->w[i];
            (*n_pos)++;
        } else {
            *neg += m->w[i];
        }
    }
}

void promo_prop_fit_free(promo_prop_fit *f)
{
    if (!f)
        return;
    for (size_t k = 0; f->tests && k < f->n_tests; k++) {
        promo_free(f->tests[k].label);
        promo_free(f->tests[k].weight);
        for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++)
            promo_free(f->tests[k].prob[mi]);
    }
    promo_free(f->tests);
    promo_free(f->model);
    promo_free(f);
}

int promo_propensity_fit(promo_store *s,
                         const promo_propensity_params *p,
                         const char *const *targets,
                         size_t n_targets,
                         promo_prop_fit **out)
{
    run R;
    memset(&R, 0, sizeof R);
    promo_prop_fit *F = NULL;
    promo_prop_loaded *old = NULL; /* a model on disk that serves the targets as it is */
    *out = NULL;
    int rc = check_params(p);
    if (rc)
        return rc;
    if (n_targets == 0 || !targets)
        return promo_fail(PROMO_EUSAGE, "propensity: no target");
    if ((rc = promo_panel_load(s, p->n_threads, &R.d)))
        return rc;
    promo_panel *d = &R.d;
    rc = PROMO_ENOMEM;
    if (!(R.ts = promo_calloc(n_targets, sizeof *R.ts)) || !(F = promo_calloc(1, sizeof *F)) ||
        !(F->tests = promo_calloc(n_targets, sizeof *F->tests)))
        goto fail;
    F->n_tests = n_targets;
    R.n_ts = n_targets;
    for (size_t k = 0; k < n_targets; k++) {
        if ((rc = promo_panel_target_parse(d, targets[k], &R.ts[k].t)))
            goto fail;
        if (R.ts[k].t.kind != R.ts[0].t.kind) {
            rc = promo_fail(PROMO_EUSAGE, "propensity: targets %s and %s are of different kinds",
                            targets[0], targets[k]);
            goto fail;
        }
        if (strlen(targets[k]) >= PROMO_PROP_TARGET_MAX) {
            rc = promo_fail(PROMO_EUSAGE, "propensity: target name too long");
            goto fail;
        }
    }
    promo_panel_kind kind = R.ts[0].t.kind;
    const char *scope_cat = NULL;
    if (kind == PROMO_PANEL_PRODUCT && p->scope == PROMO_PROP_SCOPE_CATEGORY) {
        uint32_t cat = d->prod_cat[R.ts[0].t.item];
        for (size_t k = 1; k < n_targets; k++)
            if (d->prod_cat[R.ts[k].t.item] != cat) {
                rc = promo_fail(PROMO_EUSAGE, "propensity: per-category scope needs targets of "
                                              "one category");
                goto fail;
            }
        scope_cat = d->cat_names[cat];
    }

    /* The windows. */
    int64_t H = prop_horizon_s(p->horizon_days);
    int64_t T = p->as_of ? p->as_of : promo_prop_scoring_cutoff(d) - H;
    if (T > d->max_ts) {
        char a[24], b[24];
        promo_time_format(T, 1, a, sizeof a);
        promo_time_format(d->max_ts, 1, b, sizeof b);
        rc = promo_fail(PROMO_EINPUT,
                        "propensity: no purchase on or after the test cutoff %s "
                        "(last one %s): choose an earlier --as-of",
                        a, b);
        goto fail;
    }
    int nw = p->n_train_windows;
    while (nw > 1 && T - (int64_t)(nw + 1) * H < d->min_ts + H)
        nw--;
    if (T - 2 * H <= d->min_ts) {
        char a[24];
        promo_time_format(d->min_ts, 1, a, sizeof a);
        rc = promo_fail(PROMO_EINPUT,
                        "propensity: too little history before the test cutoff: "
                        "need more than %g days of purchases (from %s) for a "
                        "training and a validation window",
                        2 * p->horizon_days, a);
        goto fail;
    }
    if (nw < p->n_train_windows)
        promo_warn("propensity: history allows %d training window(s) of %g days, not %d", nw,
                   p->horizon_days, p->n_train_windows);
    char key[1024];
    train_key_format(p, d, kind, scope_cat, T, nw, key, sizeof key);
    prop_model_path(s, kind, scope_cat, F->model_path, sizeof F->model_path);
    for (int mi = 0; mi < PROMO_PROP_MODEL_COUNT; mi++)
        F->valid_auc[mi] = NAN;
    F->as_of = T;
    F->valid_as_of = T - H;
    F->horizon_days = p->horizon_days;
    F->calibration = p->calibration;

    /* A model trained before with the same key serves these targets as it is: only the test
     * rows (and the validation rows the heuristics calibrate on) are built. */
    if (p->reuse && p->baselines != PROMO_PROP_BASELINES_ALL && !p->export_dir &&
        p->max_items == 0 && prop_load_path(F->model_path, kind, p->n_threads, &old) == PROMO_OK) {
        char *ok = prop_loaded_attr(old, "promo.train_key");
        char *st = prop_loaded_attr(old, "promo.fit");
        int same = ok && !strcmp(ok, key) && fit_stats_parse(st, F);
        promo_free(ok);
        promo_free(st);
        if (!same) {
            promo_debug("propensity: %s was trained otherwise: training again", F->model_path);
            promo_prop_loaded_free(old);
            old = NULL;
        }
    }
    promo_clear_error();
    R.n_cuts = old ? 2 : nw + 2;
    if (!(R.cuts = promo_calloc((size_t)R.n_cuts, sizeof *R.cuts))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    promo_progress_begin(&R.prog, old ? "propensity: features" : "propensity: features and rows",
                         (uint64_t)R.n_cuts);
    /* The test and validation cuts now; a training window's cut only while its rows are
     * built (below), so that at most three are held at once. */
    for (int i = 0; i < 2; i++) {
        char a[24];
        promo_time_format(T - i * H, 1, a, sizeof a);
        promo_debug("propensity: features as of %s", a);
        if ((rc = promo_panel_cut_build(d, T - i * H, &R.cuts[i])))
            goto fail;
        promo_progress_update(&R.prog, (uint64_t)i + 1);
    }
    if (!old && (rc = promo_panel_layout_make(kind, R.cuts[0].f, &R.l)))
        goto fail;
    const promo_panel_layout *lay = old ? promo_prop_loaded_layout(old) : &R.l;

    /* Test rows: every customer known at T, per target. */
    for (size_t k = 0; k < n_targets; k++) {
        test_set *ts = &R.ts[k];
        if ((rc = promo_panel_rows_target(d, &R.cuts[0], ts->t, p->horizon_days, &ts->rows)))
            goto fail;
        if (!old && (rc = mat_append(&ts->m, d, &R.cuts[0], lay, &ts->rows)))
            goto fail;
        ts->m.n = ts->rows.n;
        promo_prop_test *ft = &F->tests[k];
        ft->n = ts->rows.n;
        if (!(ft->label = promo_mallocn(ft->n ? ft->n : 1, 1)) ||
            !(ft->weight = promo_mallocn(ft->n ? ft->n : 1, sizeof *ft->weight))) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < ft->n; i++)
            ft->label[i] = ts->rows.y[i] > 0.5f;
        memcpy(ft->weight, ts->rows.w, ft->n * sizeof *ft->weight);
        prop_copy_str(ft->target, sizeof ft->target, targets[k]);
        if (ts->t.kind == PROMO_PANEL_PRODUCT)
            prop_copy_str(ft->target_name, sizeof ft->target_name,
                          d->prod_name && !promo_column_is_null(d->prod_name, ts->t.item)
                              ? promo_column_str(d->prod_name, ts->t.item)
                              : "");
        else if (ts->t.kind == PROMO_PANEL_CATEGORY)
            prop_copy_str(ft->target_name, sizeof ft->target_name, d->cat_names[ts->t.item]);
        if (old) {
            double *tp = test_probs(F, k, PROMO_PROP_XGBOOST);
            if (!tp) {
                rc = PROMO_ENOMEM;
                goto fail;
            }
            if ((rc = promo_prop_loaded_predict(old, d, &R.cuts[0], &ts->rows, tp)))
                goto fail;
        }
    }
    if (old) {
        /* The validation rows, labels only: what the heuristics calibrate on. */
        uint8_t *mask = NULL;
        if ((rc = items_mask_make(d, &R.cuts[1], kind, p, R.ts, n_targets, &mask)))
            goto fail;
        rc = promo_panel_rows_sampled(d, &R.cuts[1], kind, p->horizon_days, mask, p->neg_per_pos,
                                      p->seed, 1, &R.va_rows);
        promo_free(mask);
        if (rc || (kind != PROMO_PANEL_ANY &&
                   (rc = thin_rows(&R.va_rows, p->max_valid_rows, p->seed, 1))))
            goto fail;
        R.va.n = R.va_rows.n;
        if (!(R.va.y = promo_mallocn(R.va.n ? R.va.n : 1, sizeof *R.va.y)) ||
            !(R.va.w = promo_mallocn(R.va.n ? R.va.n : 1, sizeof *R.va.w))) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        memcpy(R.va.y, R.va_rows.y, R.va.n * sizeof *R.va.y);
        memcpy(R.va.w, R.va_rows.w, R.va.n * sizeof *R.va.w);
    } else {
        /* Training (stacked, oldest last) and validation rows. */
        for (int i = 2; i < R.n_cuts; i++) {
            char a[24];
            promo_time_format(T - i * H, 1, a, sizeof a);
            promo_debug("propensity: features as of %s", a);
            if ((rc = promo_panel_cut_build(d, T - i * H, &R.cuts[i])))
                goto fail;
            if ((rc = build_sampled(d, &R.cuts[i], kind, p, R.ts, n_targets, &R.l, (uint64_t)i,
                                    p->max_train_rows / (size_t)nw, &R.tr, NULL)))
                goto fail;
            /* A training window's features are in its rows now: 50-60 MB per cut on UCI
             * Online Retail, a third of the peak. */
            promo_panel_cut_free(&R.cuts[i]);
            promo_progress_update(&R.prog, (uint64_t)i + 1);
        }
        if ((rc = build_sampled(d, &R.cuts[1], kind, p, R.ts, n_targets, &R.l, 1, p->max_valid_rows,
                                &R.va, &R.va_rows)))
            goto fail;
    }
    promo_progress_end(&R.prog);
    double wpos = 0, wneg = 0, vpos, vneg;
    size_t n_pos = F->n_train_pos, n_vpos;
    if (!old)
        weighted_counts(&R.tr, &wpos, &wneg, &n_pos);
    weighted_counts(&R.va, &vpos, &vneg, &n_vpos);
    if (!old && (n_pos == 0 || n_pos == R.tr.n || n_vpos == 0 || n_vpos == R.va.n)) {
        rc = promo_fail(PROMO_EINPUT,
                        "propensity: the %s window has only one class (%zu of %zu "
                        "rows positive): too little data for this target/horizon",
                        n_pos == 0 || n_pos == R.tr.n ? "training" : "validation",
                        n_pos == 0 || n_pos == R.tr.n ? n_pos : n_vpos,
                        n_pos == 0 || n_pos == R.tr.n ? R.tr.n : R.va.n);
        goto fail;
    }
    if (!(R.vp = promo_mallocn(R.va.n ? R.va.n : 1, sizeof *R.vp)) ||
        !(R.vlab = promo_mallocn(R.va.n ? R.va.n : 1, 1))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < R.va.n; i++)
        R.vlab[i] = R.va.y[i] > 0.5f;

    if (old) {
        promo_info("propensity: the %s model of %s serves %s: reused, not trained again "
                   "(--retrain trains it anew)",
                   prop_kind_names[kind], F->model_path, n_targets == 1 ? targets[0] : "them");
        if (p->baselines != PROMO_PROP_BASELINES_NONE &&
            ((rc = score_heuristic(&R, p, PROMO_PROP_POPULARITY, heur_pop, kind, F)) ||
             (rc = score_heuristic(&R, p, PROMO_PROP_RFM, heur_rfm, kind, F))))
            goto fail;
        if ((rc = promo_prop_file_digest(F->model_path, F->model_digest)))
            goto fail;
        F->reused = 1;
        promo_prop_loaded_free(old);
        old = NULL;
        run_free(&R);
        *out = F;
        return PROMO_OK;
    }

    promo_info("propensity: %zu training rows (%zu positive, %d windows), %zu validation rows, "
               "%zu features",
               R.tr.n, n_pos, nw, R.va.n, R.l.n);
    F->first_train_as_of = T - (int64_t)(nw + 1) * H;
    F->n_train_windows = nw;
    F->n_train_rows = R.tr.n;
    F->n_train_pos = n_pos;
    F->n_valid_rows = R.va.n;
    F->n_features = R.l.n;

    /* XGBoost, the model promo uses. */
    promo_gbdt_params gp = p->gbdt;
    gp.nthread = p->n_threads;
    gp.seed = p->seed;
    if (gp.scale_pos_weight == 0.0)
        gp.scale_pos_weight = fmin(10.0, wneg / wpos);
    /* Small training sets (customer-level targets: one row per customer and window) overfit
     * depth-5 trees; shallower, slower-learning trees with bigger leaves do better there. */
    if (p->small_data_rows > 0 && R.tr.n < p->small_data_rows) {
        gp.max_depth = gp.max_depth > 3 ? 3 : gp.max_depth;
        gp.eta = fmin(gp.eta, 0.05);
        gp.min_child_weight = fmax(gp.min_child_weight, 5.0);
        /* A few thousand rows: thread start-up and barriers cost more than they save (10x
         * slower on a busy 2-core machine); the trees do not depend on the thread count. */
        gp.nthread = 1;
    } else if (p->gbdt_large_eta > 0) {
        gp.eta = p->gbdt_large_eta;
    }
    promo_learner_data dtr = {R.tr.X, R.tr.n, R.tr.d, R.tr.y, R.tr.w, 0};
    promo_learner_data dva = {R.va.X, R.va.n, R.va.d, R.va.y, R.va.w, 0};
    promo_learner_params lxp = promo_learner_params_default(PROMO_LEARNER_GBDT);
    lxp.gbdt = gp;
    double t0 = promo_now_s();
    if ((rc = promo_learner_train(&lxp, &dtr, &dva, &R.xgb)))
        goto fail;
    F->train_seconds[PROMO_PROP_XGBOOST] = promo_now_s() - t0;
    F->n_rounds = promo_gbdt_n_rounds(promo_learner_gbdt(R.xgb));
    F->valid_logloss = promo_gbdt_best_score(promo_learner_gbdt(R.xgb));
    if ((rc = score_model(&R, p, PROMO_PROP_XGBOOST, R.xgb, F)))
        goto fail;

    /* The heuristics cost nothing: always there, for the guardrail and the charts. */
    if (p->baselines != PROMO_PROP_BASELINES_NONE &&
        ((rc = score_heuristic(&R, p, PROMO_PROP_POPULARITY, heur_pop, kind, F)) ||
         (rc = score_heuristic(&R, p, PROMO_PROP_RFM, heur_rfm, kind, F))))
        goto fail;
    if (p->baselines == PROMO_PROP_BASELINES_ALL) {
        /* Logistic regression and the forest on a subsample (IRLS costs n d^2 per iteration;
         * a forest of deep trees on every row takes minutes and ranks no better). */
        mat sub;
        if ((rc = subsample(&R.tr, p->max_logreg_rows, p->seed, &sub)))
            goto fail;
        promo_learner_params llp = promo_learner_params_default(PROMO_LEARNER_LOGREG);
        llp.logreg = p->logreg;
        llp.logreg.nthread = p->n_threads;
        promo_learner_data dsub = {sub.X, sub.n, sub.d, sub.y, sub.w, 0};
        promo_info("propensity: baseline logistic regression on %zu rows", sub.n);
        t0 = promo_now_s();
        rc = promo_learner_train(&llp, &dsub, NULL, &R.lr);
        F->train_seconds[PROMO_PROP_LOGREG] = promo_now_s() - t0;
        if (!rc)
            rc = score_model(&R, p, PROMO_PROP_LOGREG, R.lr, F);
        if (!rc) {
            promo_learner_params lfp = promo_learner_params_default(PROMO_LEARNER_FOREST);
            lfp.objective = PROMO_LEARNER_REGRESSION;
            lfp.gbdt = p->forest;
            lfp.gbdt.nthread = p->n_threads;
            lfp.gbdt.seed = p->seed;
            promo_info("propensity: baseline random forest (%d trees) on %zu rows",
                       p->forest.n_forest_trees, sub.n);
            t0 = promo_now_s();
            rc = promo_learner_train(&lfp, &dsub, NULL, &R.rf);
            F->train_seconds[PROMO_PROP_RANDOM_FOREST] = promo_now_s() - t0;
            if (!rc)
                rc = score_model(&R, p, PROMO_PROP_RANDOM_FOREST, R.rf, F);
        }
        mat_free(&sub);
        if (rc)
            goto fail;
    }
    if (p->export_dir && (rc = export_all(&R, p->export_dir)))
        goto fail;
    /* The model as the bytes its file will hold: storing it is the caller's transaction. */
    if ((rc = set_attrs(R.xgb, p, kind, targets[0], scope_cat, T, &R.l, R.cal, key, F)) ||
        (rc = promo_learner_save_buffer(R.xgb, &F->model, &F->model_size)))
        goto fail;
    promo_prop_digest(F->model, F->model_size, F->model_digest);
    run_free(&R);
    *out = F;
    return PROMO_OK;
fail:
    promo_prop_loaded_free(old);
    run_free(&R);
    promo_prop_fit_free(F);
    return rc;
}
