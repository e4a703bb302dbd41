/* src/engine/uplift_score.c: scoring, campaigns and explanations with the workspace's uplift
 * model (include/promo/uplift_score.h).
 *
 * Open: load DIR/models/uplift.bin (uplift_io.h), compute the customer features as of the
 * cutoff exactly as the training rows were computed (features.h defaults without the product
 * features, as panel_exposures.c does), and lay them out in the model's column order by name.
 * Each offer then fills the four offer columns and predicts. The what-if attribution of an
 * explanation predicts d x R rows (each feature replaced in turn by R reference customers'
 * values): a few thousand rows, one call.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/csv.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/learner.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/uplift_io.h>
#include <promo/uplift_score.h>
#include <promo/uplift_ws.h>

#define N_REFERENCE 64 /* reference customers of the what-if attribution */

/* One arm's outcome model of a T-learner, predicted once per offer it can tell apart. Its trees
 * send a row left when x < cond, so two discounts between the same two of its thresholds on the
 * discount column take every path alike: the model gives the same bits at both (the other offer
 * columns depend on the target only: its kind and category). col keeps the last prediction. */
typedef struct arm_memo {
    float *cut;   /* the thresholds of the arm's model on the discount column, ascending */
    size_t n_cut; /* (0 with known: the model never splits on it) */
    int known;    /* 0: the model could not be read (not XGBoost trees): every discount its
                     own */
    float *col;   /* n_customers predictions at the key below, or NULL */
    int kind;     /* the key: the offer's kind and category column (offer_ctx) ... */
    int cat_col;
    uint64_t slot; /* ... and the discount's interval among cut (its float's bits when not
                      known; UINT64_MAX for NaN) */
} arm_memo;

struct promo_uplift_scorer {
    double *scale; /* n_arms: calibration of each arm's effect: shift[a] + scale[a] x raw
                      (the model's effect_scale and effect_shift attributes,
                      report_uplift.c; 1 and 0 for older models) */
    double *shift;
    promo_panel d;          /* the workspace's tables */
    promo_features *f;      /* customer features as of as_of */
    promo_panel_fmap *fmap; /* the stored features' mapping f reads in place, or NULL */
    promo_uplift *m;        /* the model */
    char **kv;              /* its attributes (2 x n_kv strings, one allocation) */
    size_t n_kv;
    size_t dm;             /* model columns */
    char **names;          /* dm column names (one allocation with the strings) */
    size_t n_cust;         /* customer feature columns (dm - PROMO_UPLIFT_WS_N_OFFER) */
    float *X;              /* n_customers x dm, offer columns set per offer */
    const char **customer; /* n_customers ids (into f) */
    int n_arms;
    char **arm_names;       /* n_arms (one allocation) */
    double *contact_cost;   /* n_arms: mean exposures.cost of the arm's rows (0 if none) */
    double discount_median; /* of the training log */
    int64_t as_of;
    int n_threads;      /* as opened (0 = all): the per-customer loops of a score run on them */
    arm_memo *memo;     /* n_arms for a T-learner once a score needed it, else NULL */
    int reuse;          /* promo_uplift_scorer_set_reuse (default 1) */
    size_t predictions; /* outcome-model passes over every customer (one per model and arm) */
    int names_read;     /* opened with names (the campaign file's name and location) */
};

static void memo_free(promo_uplift_scorer *h)
{
    for (int a = 0; h->memo && a < h->n_arms; a++) {
        promo_free(h->memo[a].cut);
        promo_free(h->memo[a].col);
    }
    promo_free(h->memo);
    h->memo = NULL;
}

void promo_uplift_scorer_free(promo_uplift_scorer *h)
{
    if (!h)
        return;
    promo_panel_free(&h->d);
    promo_panel_stored_unmap(h->fmap, h->f); /* promo_features_free without a mapping */
    promo_uplift_free(h->m);
    promo_free(h->kv);
    promo_free(h->scale);
    promo_free(h->shift);
    promo_free(h->names);
    promo_free(h->X);
    promo_free(h->customer);
    promo_free(h->arm_names);
    promo_free(h->contact_cost);
    memo_free(h);
    promo_free(h);
}

int64_t promo_uplift_scorer_as_of(const promo_uplift_scorer *h)
{
    return h->as_of;
}

size_t promo_uplift_scorer_n_customers(const promo_uplift_scorer *h)
{
    return h->f ? h->f->n_customers : 0;
}

int promo_uplift_scorer_n_arms(const promo_uplift_scorer *h)
{
    return h->n_arms;
}

const char *promo_uplift_scorer_arm_name(const promo_uplift_scorer *h, int a)
{
    return a >= 0 && a < h->n_arms ? h->arm_names[a] : NULL;
}

promo_uplift_learner promo_uplift_scorer_learner(const promo_uplift_scorer *h)
{
    return promo_uplift_get_learner(h->m);
}

/* Split a comma-separated list into *out (array and strings in one allocation). */
static int split_csv(const char *s, char ***out, size_t *n)
{
    size_t k = 1, len = strlen(s);
    for (const char *c = s; *c; c++)
        k += *c == ',';
    char **a = promo_malloc(k * sizeof *a + len + 1);
    if (!a)
        return PROMO_ENOMEM;
    char *w = (char *)(a + k);
    memcpy(w, s, len + 1);
    size_t i = 0;
    a[i++] = w;
    for (; *w; w++)
        if (*w == ',') {
            *w = 0;
            a[i++] = w + 1;
        }
    *out = a;
    *n = k;
    return PROMO_OK;
}

/* Mean exposures.cost per model arm (by arm name). */
static int arm_costs(promo_uplift_scorer *h)
{
    h->contact_cost = promo_calloc((size_t)h->n_arms, sizeof *h->contact_cost);
    size_t *cnt = promo_calloc((size_t)h->n_arms, sizeof *cnt);
    if (!h->contact_cost || !cnt) {
        promo_free(cnt);
        return PROMO_ENOMEM;
    }
    const promo_table *et = h->d.exposures;
    const promo_column *arm = et ? promo_table_column(et, "arm") : NULL,
                       *cost = et ? promo_table_column(et, "cost") : NULL;
    /* The arm of each dictionary code once (names are distinct in the dictionary), then one
     * pass over the rows in order: the sums are those of a name compare per row, which was
     * most of this at 7.7M exposures. */
    uint32_t nd = arm && cost && arm->type == PROMO_COL_STRING ? promo_dict_size(arm->dict) : 0;
    int *arm_of = nd ? promo_mallocn(nd, sizeof *arm_of) : NULL;
    if (nd && !arm_of) {
        promo_free(cnt);
        return PROMO_ENOMEM;
    }
    for (uint32_t k = 0; k < nd; k++) {
        const char *an = promo_dict_key(arm->dict, k);
        arm_of[k] = -1;
        for (int a = 0; a < h->n_arms && arm_of[k] < 0; a++)
            if (strcmp(an, h->arm_names[a]) == 0)
                arm_of[k] = a;
    }
    for (size_t r = 0; nd && r < et->n_rows; r++) {
        if (promo_column_is_null(arm, r) || arm_of[arm->codes[r]] < 0)
            continue;
        int a = arm_of[arm->codes[r]];
        double v = promo_column_num(cost, r);
        if (isfinite(v)) {
            h->contact_cost[a] += v;
            cnt[a]++;
        }
    }
    promo_free(arm_of);
    for (int a = 0; a < h->n_arms; a++)
        h->contact_cost[a] = cnt[a] ? h->contact_cost[a] / (double)cnt[a] : 0.0;
    promo_free(cnt);
    return PROMO_OK;
}

int promo_uplift_scorer_open(promo_store *s,
                             int64_t as_of,
                             int n_threads,
                             promo_uplift_scorer **out)
{
    promo_uplift_scorer_params p = {.as_of = as_of, .n_threads = n_threads, .names = 1};
    return promo_uplift_scorer_open_params(s, &p, out);
}

int promo_uplift_scorer_open_params(promo_store *s,
                                    const promo_uplift_scorer_params *p,
                                    promo_uplift_scorer **out)
{
    *out = NULL;
    int64_t as_of = p->as_of;
    int n_threads = p->n_threads;
    char path[1200];
    snprintf(path, sizeof path, "%s/uplift.bin", promo_store_models_dir(s));
    FILE *in = fopen(path, "rb");
    if (!in)
        return promo_fail(PROMO_ENOTFOUND,
                          "%s: the workspace has no uplift model (run promo train --model uplift)",
                          path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = PROMO_OK;
    for (;;) {
        if (promo_grow((void **)&buf, &cap, len + 65536, 1)) {
            rc = PROMO_ENOMEM;
            break;
        }
        size_t got = fread(buf + len, 1, cap - len, in);
        len += got;
        if (got == 0) {
            if (ferror(in))
                rc = promo_fail(PROMO_EIO, "%s: read failed", path);
            break;
        }
    }
    fclose(in);
    promo_uplift_scorer *h = promo_calloc(1, sizeof *h);
    if (!rc && !h)
        rc = PROMO_ENOMEM;
    if (rc)
        goto fail;
    if ((rc = promo_uplift_load(buf, len, &h->m, &h->kv, &h->n_kv))) {
        promo_fail_prefix(rc, "%s", path);
        goto fail;
    }
    const char *feat = promo_uplift_attr(h->kv, h->n_kv, "features"),
               *arms = promo_uplift_attr(h->kv, h->n_kv, "arms"),
               *disc = promo_uplift_attr(h->kv, h->n_kv, "discount_pct_median"),
               *clv = promo_uplift_attr(h->kv, h->n_kv, "clv");
    size_t na = 0;
    if (!feat || !arms) {
        rc = promo_fail(PROMO_EINPUT, "%s: the model has no feature or arm names", path);
        goto fail;
    }
    if ((rc = split_csv(feat, &h->names, &h->dm)) || (rc = split_csv(arms, &h->arm_names, &na)))
        goto fail;
    if (h->dm != promo_uplift_n_features(h->m) || h->dm <= PROMO_UPLIFT_WS_N_OFFER ||
        na != (size_t)promo_uplift_n_arms(h->m)) {
        rc = promo_fail(PROMO_EINPUT,
                        "%s: %zu feature names and %zu arm names for a model of "
                        "%zu features and %d arms",
                        path, h->dm, na, promo_uplift_n_features(h->m), promo_uplift_n_arms(h->m));
        goto fail;
    }
    h->n_arms = (int)na;
    h->n_cust = h->dm - PROMO_UPLIFT_WS_N_OFFER;
    h->scale = promo_mallocn(na, sizeof *h->scale);
    h->shift = promo_mallocn(na, sizeof *h->shift);
    if (!h->scale || !h->shift) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (size_t a = 0; a < na; a++) {
        h->scale[a] = 1;
        h->shift[a] = 0;
    }
    const char *scale = promo_uplift_attr(h->kv, h->n_kv, "effect_scale");
    for (int a = 1; scale && *scale && a < h->n_arms; a++) {
        char *end = NULL;
        double v = strtod(scale, &end);
        if (end == scale || !(v >= 0 && v <= 1)) {
            rc = promo_fail(PROMO_EINPUT, "%s: a bad effect_scale attribute", path);
            goto fail;
        }
        h->scale[a] = v;
        scale = *end == ',' ? end + 1 : end;
    }
    const char *shift = promo_uplift_attr(h->kv, h->n_kv, "effect_shift");
    for (int a = 1; shift && *shift && a < h->n_arms; a++) {
        char *end = NULL;
        double v = strtod(shift, &end);
        if (end == shift || !(v >= -1e6 && v <= 1e6)) {
            rc = promo_fail(PROMO_EINPUT, "%s: a bad effect_shift attribute", path);
            goto fail;
        }
        h->shift[a] = v;
        shift = *end == ',' ? end + 1 : end;
    }
    h->discount_median = disc ? strtod(disc, NULL) : NAN;

    promo_feature_params fp = promo_feature_params_default();
    fp.as_of = as_of; /* 0: the default cutoff (promo_uplift_ws_default_as_of) */
    fp.products = 0;  /* as the training rows (panel_exposures.c) */
    fp.clv = !clv || strcmp(clv, "0") != 0;
    fp.n_threads = n_threads;
    /* The stored features when current (panel.h), mapped and read in place (the ids stay
     * there for the handle's life), else computed from the tables. */
    if ((rc = promo_panel_uplift_features(s, &fp, &h->d, &h->f, &h->fmap, p->names)))
        goto fail;
    h->names_read = p->names;
    h->as_of = h->f->as_of;
    h->n_threads = n_threads;
    size_t n = h->f->n_customers;
    rc = PROMO_ENOMEM;
    h->X = promo_mallocn(n ? n : 1, h->dm * sizeof *h->X);
    h->customer = promo_mallocn(n ? n : 1, sizeof *h->customer);
    int *cmap = promo_mallocn(h->n_cust, sizeof *cmap);
    if (!h->X || !h->customer || !cmap) {
        promo_free(cmap);
        goto fail;
    }
    for (size_t j = 0; j < h->n_cust; j++)
        cmap[j] = promo_features_column(h->f, h->names[j]);
    /* The model's layout, on the team: at a million customers this is 0.4 GB written into
     * fresh pages, whose first touch (the kernel zeroing them) is most of its cost. */
    int nt = n_threads > 0 ? n_threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (n > 4096)
    for (size_t i = 0; i < n; i++) {
        h->customer[i] = promo_features_customer_id(h->f, i);
        const float *src = h->f->X + i * h->f->n_features;
        float *dst = h->X + i * h->dm;
        for (size_t j = 0; j < h->dm; j++)
            dst[j] = j < h->n_cust && cmap[j] >= 0 ? src[cmap[j]] : NAN;
    }
    promo_free(cmap);
    if ((rc = arm_costs(h)))
        goto fail;
    promo_free(buf);
    h->reuse = 1;
    *out = h;
    return PROMO_OK;
fail:
    promo_free(buf);
    promo_uplift_scorer_free(h);
    return rc;
}

/* ------------------------------------------------------------------ offers ---- */

typedef struct offer_ctx {
    int kind;        /* 0 any, 1 product, 2 category */
    int cat_col;     /* customer column of the category's share, or -1 */
    double discount; /* pct */
    double price, cost;
} offer_ctx;

static int resolve_offer(const promo_uplift_scorer *h, const promo_uplift_offer *o, offer_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->cat_col = -1;
    c->price = c->cost = NAN;
    c->discount = isnan(o->discount_pct) ? h->discount_median : o->discount_pct;
    if (!isnan(c->discount) && !(c->discount >= 0.0 && c->discount <= 90.0))
        return promo_fail(PROMO_EUSAGE, "uplift: discount %g%% is not in 0-90", c->discount);
    const char *t = o->target ? o->target : "any";
    const char *cat = NULL;
    if (strcmp(t, "any") == 0) {
        c->kind = 0;
        return PROMO_OK;
    }
    if (strncmp(t, "product:", 8) == 0) {
        c->kind = 1;
        const promo_table *pt = h->d.products;
        const promo_column *id = pt ? promo_table_column(pt, "product_id") : NULL;
        const promo_column *pc = pt ? promo_table_column(pt, "category") : NULL;
        size_t row = SIZE_MAX;
        if (id && id->type == PROMO_COL_STRING) {
            uint32_t code = promo_dict_find(id->dict, t + 8, strlen(t + 8));
            for (size_t r = 0; code != PROMO_DICT_NONE && r < pt->n_rows; r++)
                if (!promo_column_is_null(id, r) && id->codes[r] == code) {
                    row = r;
                    break;
                }
        }
        if (row == SIZE_MAX)
            return promo_fail(PROMO_EINPUT, "uplift: unknown product '%s'", t + 8);
        c->price = promo_column_num(promo_table_column(pt, "price"), row);
        c->cost = promo_column_num(promo_table_column(pt, "cost"), row);
        if (pc && pc->type == PROMO_COL_STRING && !promo_column_is_null(pc, row))
            cat = promo_column_str(pc, row);
    } else if (strncmp(t, "category:", 9) == 0) {
        c->kind = 2;
        cat = t + 9;
    } else {
        return promo_fail(PROMO_EUSAGE,
                          "uplift: target '%s': expected any, product:ID or "
                          "category:NAME",
                          t);
    }
    if (cat) {
        char name[512];
        promo_uplift_ws_cat_column(cat, name, sizeof name);
        for (size_t j = 0; j < h->n_cust; j++)
            if (strcmp(h->names[j], name) == 0)
                c->cat_col = (int)j;
    }
    return PROMO_OK;
}

/* The offer columns of one row. */
static void fill_offer(const promo_uplift_scorer *h, const offer_ctx *c, float *row)
{
    float *o = row + h->n_cust;
    o[0] = (float)c->discount;
    o[1] = NAN;
    o[2] = NAN;
    o[3] = c->kind == 0 ? NAN : c->kind == 1 ? 0.0f : 1.0f;
    if (c->cat_col >= 0)
        o[2] = isnan(row[c->cat_col]) ? 0.0f : row[c->cat_col];
    if (c->kind == 0)
        o[0] = (float)c->discount;
}

static int has_outcomes(promo_uplift_learner l)
{
    return l == PROMO_UPLIFT_S || l == PROMO_UPLIFT_T || l == PROMO_UPLIFT_X ||
           l == PROMO_UPLIFT_DR;
}

/* ------------------------------------------------------- one arm at a time ---- */

static const cJSON *jget(const cJSON *o, const char *key)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* The thresholds of model l's splits on column j, read from its XGBoost JSON (every tree's
 * split_indices, split_conditions and left_children: the values promo's walker and XGBoost
 * compare with). Anything else (another kind, a layout not recognised, a categorical split on
 * j) leaves m->known 0: the arm is then predicted at every discount, as before. */
static int read_cuts(promo_learner *l, size_t j, arm_memo *m)
{
    m->known = 0;
    m->n_cut = 0;
    promo_learner_kind kind = promo_learner_get_kind(l);
    if (kind != PROMO_LEARNER_GBDT && kind != PROMO_LEARNER_FOREST)
        return PROMO_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0, nc = 0;
    int rc = promo_learner_save_buffer(l, &buf, &len);
    if (rc)
        return rc;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    promo_free(buf);
    if (!root)
        return PROMO_OK;
    const cJSON *gb = jget(jget(root, "learner"), "gradient_booster");
    const cJSON *model = jget(gb, "model") ? jget(gb, "model") : jget(jget(gb, "gbtree"), "model");
    const cJSON *trees = jget(model, "trees"), *t;
    float *cut = NULL;
    int ok = cJSON_IsArray(trees);
    rc = PROMO_OK;
    cJSON_ArrayForEach(t, trees)
    {
        const cJSON *si = jget(t, "split_indices"), *sc = jget(t, "split_conditions"),
                    *lc = jget(t, "left_children"), *st = jget(t, "split_type");
        if (!cJSON_IsArray(si) || !cJSON_IsArray(sc) || !cJSON_IsArray(lc) ||
            cJSON_GetArraySize(si) != cJSON_GetArraySize(lc) ||
            cJSON_GetArraySize(sc) != cJSON_GetArraySize(lc)) {
            ok = 0;
            break;
        }
        /* walk the arrays side by side (cJSON arrays are lists) */
        const cJSON *i = si->child, *c = sc->child, *k = lc->child,
                    *y = cJSON_IsArray(st) ? st->child : NULL;
        for (; i && c && k; i = i->next, c = c->next, k = k->next, y = y ? y->next : NULL) {
            if (!cJSON_IsNumber(k) || k->valuedouble < 0 || !cJSON_IsNumber(i) ||
                i->valuedouble != (double)j)
                continue; /* a leaf, or a split on another column */
            if (!cJSON_IsNumber(c) || (y && y->valuedouble != 0)) { /* categorical */
                ok = 0;
                break;
            }
            if (nc == cap && promo_grow((void **)&cut, &cap, nc + 1, sizeof *cut)) {
                rc = PROMO_ENOMEM;
                break;
            }
            cut[nc++] = (float)c->valuedouble;
        }
        if (!ok || rc)
            break;
    }
    cJSON_Delete(root);
    if (rc || !ok) {
        promo_free(cut);
        return rc;
    }
    if (nc)
        qsort(cut, nc, sizeof *cut, cmp_float);
    size_t w = 0;
    for (size_t q = 0; q < nc; q++)
        if (w == 0 || cut[q] != cut[w - 1])
            cut[w++] = cut[q];
    m->cut = cut;
    m->n_cut = w;
    m->known = 1;
    return PROMO_OK;
}

/* Where discount v falls for arm memo m: the number of its thresholds <= v (a tree sends v
 * right at every one of them, left at the others). */
static uint64_t memo_slot(const arm_memo *m, float v)
{
    if (isnan(v))
        return UINT64_MAX;
    if (!m->known) {
        uint32_t b;
        memcpy(&b, &v, sizeof b);
        return b;
    }
    size_t lo = 0, hi = m->n_cut; /* the first threshold > v */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cut[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* T-learner outcomes (n x n_arms, as promo_uplift_predict_outcomes gives them) with each arm's
 * model predicted only where its last prediction does not already answer (memo_slot): in a
 * world whose models split the discount at 25% only, 2 passes per arm for the surface's six
 * anchors instead of 6. */
static int outcomes_reused(promo_uplift_scorer *h, const offer_ctx *c, int nt, float *outcome)
{
    size_t n = h->f->n_customers, K = (size_t)h->n_arms;
    int rc = PROMO_OK;
    if (!h->memo) {
        if (!(h->memo = promo_calloc(K, sizeof *h->memo)))
            return PROMO_ENOMEM;
        for (size_t a = 0; a < K && !rc; a++) {
            promo_learner *l = promo_uplift_arm_model(h->m, (int)a);
            rc = l ? read_cuts(l, h->n_cust, &h->memo[a])
                   : promo_fail(PROMO_EINTERNAL, "uplift: arm %zu has no outcome model", a);
        }
        if (rc) {
            memo_free(h);
            return rc;
        }
    }
    float v = (float)c->discount; /* as fill_offer writes it */
    for (size_t a = 0; a < K; a++) {
        arm_memo *m = &h->memo[a];
        uint64_t slot = memo_slot(m, v);
        if (!m->col || m->kind != c->kind || m->cat_col != c->cat_col || m->slot != slot) {
            if (!m->col && !(m->col = promo_mallocn(n, sizeof *m->col)))
                return PROMO_ENOMEM;
            m->kind = -1; /* no key while col is overwritten (a failed call leaves none) */
            if ((rc = promo_learner_predict(promo_uplift_arm_model(h->m, (int)a), h->X, n, h->dm,
                                            m->col)))
                return rc;
            h->predictions++;
            m->kind = c->kind;
            m->cat_col = c->cat_col;
            m->slot = slot;
        }
        const float *col = m->col;
#pragma omp parallel for schedule(static) num_threads(nt) if (n > 4096)
        for (size_t i = 0; i < n; i++)
            outcome[i * K + a] = col[i];
    }
    return PROMO_OK;
}

void promo_uplift_scorer_set_reuse(promo_uplift_scorer *h, int on)
{
    h->reuse = !!on;
}

void promo_uplift_scorer_forget(promo_uplift_scorer *h)
{
    memo_free(h);
}

size_t promo_uplift_scorer_predictions(const promo_uplift_scorer *h)
{
    return h->predictions;
}

void promo_uplift_scores_free(promo_uplift_scores *sc)
{
    if (!sc)
        return;
    promo_free(sc->effect);
    promo_free(sc->outcome);
    promo_free(sc->profit);
    promo_free(sc->best_arm);
    promo_free(sc->contact_cost);
    promo_free(sc);
}

int promo_uplift_scorer_score(promo_uplift_scorer *h,
                              const promo_uplift_offer *o,
                              promo_uplift_scores **out)
{
    *out = NULL;
    offer_ctx c;
    int rc = resolve_offer(h, o, &c);
    if (rc)
        return rc;
    size_t n = h->f->n_customers, K = (size_t)h->n_arms, E = K - 1;
    /* the loops over customers below are elementwise (each customer's values from its own
     * row only): the same bits at any thread count; at a million customers they are a tenth
     * of a model call */
    int nt = h->n_threads > 0 ? h->n_threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (n > 4096)
    for (size_t i = 0; i < n; i++)
        fill_offer(h, &c, h->X + i * h->dm);
    promo_uplift_scores *sc = promo_calloc(1, sizeof *sc);
    if (!sc)
        return PROMO_ENOMEM;
    sc->n = n;
    sc->n_arms = h->n_arms;
    sc->customer = h->customer;
    sc->price = c.price;
    sc->cost = c.cost;
    sc->discount_pct = c.discount;
    sc->as_of = h->as_of;
    int outc = has_outcomes(promo_uplift_get_learner(h->m));
    sc->effect = promo_mallocn(n ? n : 1, E * sizeof *sc->effect);
    sc->outcome = outc ? promo_mallocn(n ? n : 1, K * sizeof *sc->outcome) : NULL;
    sc->profit = promo_mallocn(n ? n : 1, K * sizeof *sc->profit);
    sc->best_arm = promo_mallocn(n ? n : 1, sizeof *sc->best_arm);
    sc->contact_cost = promo_mallocn(K, sizeof *sc->contact_cost);
    rc = PROMO_ENOMEM;
    if (!sc->effect || (outc && !sc->outcome) || !sc->profit || !sc->best_arm || !sc->contact_cost)
        goto fail;
    memcpy(sc->contact_cost, h->contact_cost, K * sizeof *sc->contact_cost);
    /* S and T: the effect is mu_a - mu_0 (promo_uplift_predict's own formula), so one pass
     * over the outcome models gives both instead of two */
    promo_uplift_learner lr = promo_uplift_get_learner(h->m);
    int derive = outc && (lr == PROMO_UPLIFT_S || lr == PROMO_UPLIFT_T);
    if (n && derive) {
        if (lr == PROMO_UPLIFT_T && h->reuse)
            rc = outcomes_reused(h, &c, nt, sc->outcome);
        else if (!(rc = promo_uplift_predict_outcomes(h->m, h->X, n, h->dm, sc->outcome)))
            h->predictions += K;
        if (rc)
            goto fail;
#pragma omp parallel for schedule(static) num_threads(nt) if (n > 4096)
        for (size_t i = 0; i < n; i++)
            for (size_t a = 1; a < K; a++)
                sc->effect[i * E + a - 1] = sc->outcome[i * K + a] - sc->outcome[i * K];
    } else if (n && ((rc = promo_uplift_predict(h->m, h->X, n, h->dm, sc->effect)) ||
                     (outc &&
                      (rc = promo_uplift_predict_outcomes(h->m, h->X, n, h->dm, sc->outcome))))) {
        goto fail;
    }
    /* The calibrated effect (report_uplift.c: level and slope confirmed by the randomised
     * training rows, out of fold; ranking unchanged), and the treated outcome with it:
     * p1 = p0 + tau. */
#pragma omp parallel for schedule(static) num_threads(nt) if (n > 4096)
    for (size_t i = 0; i < n; i++)
        for (int a = 1; a < h->n_arms; a++) {
            float *e = &sc->effect[i * (size_t)(h->n_arms - 1) + (size_t)(a - 1)];
            *e = (float)(h->shift[a] + h->scale[a] * *e);
            if (outc)
                sc->outcome[i * (size_t)h->n_arms + (size_t)a] =
                    sc->outcome[i * (size_t)h->n_arms] + *e;
        }
    double d = isnan(c.discount) ? 0.0 : c.discount / 100.0;
    int priced = isfinite(c.price);
    double cost = isfinite(c.cost) ? c.cost : 0.0;
#pragma omp parallel for schedule(static) num_threads(nt) if (n > 4096)
    for (size_t i = 0; i < n; i++) {
        double best = 0.0;
        sc->best_arm[i] = 0;
        sc->profit[i * K] = 0.0;
        for (size_t a = 1; a < K; a++) {
            double tau = sc->effect[i * E + a - 1], v;
            if (!priced)
                v = tau;
            else if (outc) /* p1 = p0 + tau: the learner's own effect, its control outcome */
                v = tau * (c.price - cost) - (sc->outcome[i * K] + tau) * c.price * d;
            else
                v = tau * (c.price * (1.0 - d) - cost);
            v -= h->contact_cost[a];
            sc->profit[i * K + a] = v;
            if (v > best) {
                best = v;
                sc->best_arm[i] = (int32_t)a;
            }
        }
    }
    *out = sc;
    return PROMO_OK;
fail:
    promo_uplift_scores_free(sc);
    return rc;
}

/* ------------------------------------------------------------- explanation ---- */

void promo_uplift_explanation_free(promo_uplift_explanation *e)
{
    if (!e)
        return;
    promo_free(e->reasons);
    e->reasons = NULL;
    e->n = 0;
}

typedef struct contrib {
    size_t j;
    double c;
} contrib;

static int by_abs_desc(const void *a, const void *b)
{
    const contrib *x = a, *y = b;
    double u = fabs(x->c), v = fabs(y->c);
    if (u != v)
        return u > v ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

int promo_uplift_scorer_explain(promo_uplift_scorer *h,
                                const promo_uplift_offer *o,
                                const char *customer_id,
                                size_t top,
                                promo_uplift_explanation *out)
{
    memset(out, 0, sizeof *out);
    size_t n = h->f->n_customers, who = SIZE_MAX;
    for (size_t i = 0; i < n && customer_id; i++)
        if (strcmp(h->customer[i], customer_id) == 0) {
            who = i;
            break;
        }
    if (who == SIZE_MAX)
        return promo_fail(PROMO_EINPUT, "--customer %s: not a customer known as of the cutoff",
                          customer_id ? customer_id : "(null)");
    promo_uplift_scores *sc = NULL;
    int rc = promo_uplift_scorer_score(h, o, &sc);
    if (rc)
        return rc;
    size_t K = (size_t)h->n_arms, E = K - 1, dm = h->dm;
    /* The arm explained: the one with the largest effect for this customer. */
    int arm = 1;
    for (size_t a = 2; a < K; a++)
        if (sc->effect[who * E + a - 1] > sc->effect[who * E + (size_t)arm - 1])
            arm = (int)a;
    snprintf(out->customer, sizeof out->customer, "%s", customer_id);
    out->arm = arm;
    out->effect = sc->effect[who * E + (size_t)arm - 1];
    out->p_treated = sc->outcome ? sc->outcome[who * K + (size_t)arm] : NAN;
    out->p_control = sc->outcome ? sc->outcome[who * K] : NAN;
    out->n_customers = n;
    double sum = 0.0;
    size_t above = 0;
    for (size_t i = 0; i < n; i++) {
        double e = sc->effect[i * E + (size_t)arm - 1];
        sum += e;
        above += e > out->effect;
    }
    out->mean_effect = n ? sum / (double)n : NAN;
    out->rank = above + 1;

    /* Reference customers: evenly spaced through the customer order (deterministic). */
    size_t R = n < N_REFERENCE ? n : N_REFERENCE;
    out->n_reference = R;
    size_t nx = dm * R > 0 ? dm * R : 1;
    float *xs = promo_mallocn(nx, dm * sizeof *xs);
    float *eff = promo_mallocn(nx, E * sizeof *eff);
    float *vals = promo_mallocn(R ? R : 1, sizeof *vals);
    contrib *cb = promo_mallocn(dm, sizeof *cb);
    rc = PROMO_ENOMEM;
    if (!xs || !eff || !vals || !cb)
        goto done;
    const float *x = h->X + who * dm;
    for (size_t j = 0; j < dm; j++)
        for (size_t r = 0; r < R; r++) {
            float *row = xs + (j * R + r) * dm;
            memcpy(row, x, dm * sizeof *row);
            row[j] = h->X[(r * n / R) * dm + j];
        }
    if ((rc = promo_uplift_predict(h->m, xs, dm * R, dm, eff)))
        goto done;
    size_t nc = 0;
    for (size_t j = 0; j < dm; j++) {
        double s = 0.0;
        for (size_t r = 0; r < R; r++)
            s += eff[(j * R + r) * E + (size_t)arm - 1];
        /* on the calibrated scale of out->effect */
        double c = out->effect - (R ? h->shift[arm] + h->scale[arm] * s / (double)R : out->effect);
        if (c != 0.0)
            cb[nc++] = (contrib){j, c};
    }
    qsort(cb, nc, sizeof *cb, by_abs_desc);
    size_t k = nc < top ? nc : top;
    rc = PROMO_ENOMEM;
    out->reasons = promo_calloc(k ? k : 1, sizeof *out->reasons);
    if (!out->reasons)
        goto done;
    for (size_t q = 0; q < k; q++) {
        size_t j = cb[q].j, m = 0;
        promo_uplift_reason *r = &out->reasons[q];
        snprintf(r->feature, sizeof r->feature, "%s", h->names[j]);
        r->value = x[j];
        r->contribution = cb[q].c;
        for (size_t t = 0; t < R; t++) {
            float v = h->X[(t * n / R) * dm + j];
            if (!isnan(v))
                vals[m++] = v;
        }
        qsort(vals, m, sizeof *vals, by_float);
        r->typical = m ? vals[m / 2] : NAN;
    }
    out->n = k;
    rc = PROMO_OK;
done:
    promo_free(xs);
    promo_free(eff);
    promo_free(vals);
    promo_free(cb);
    promo_uplift_scores_free(sc);
    if (rc)
        promo_uplift_explanation_free(out);
    return rc;
}

void promo_uplift_explain_line(const promo_uplift_explanation *e, char *buf, size_t n)
{
    size_t k = 0;
    if (n == 0)
        return;
    buf[0] = 0;
#define ADD(...)                                            \
    do {                                                    \
        if (k < n) {                                        \
            int w_ = snprintf(buf + k, n - k, __VA_ARGS__); \
            k += w_ > 0 ? (size_t)w_ : 0;                   \
        }                                                   \
    } while (0)
    ADD("effect %+.1f pts", 100.0 * e->effect);
    for (size_t q = 0; q < e->n && q < 3; q++) {
        const promo_uplift_reason *r = &e->reasons[q];
        ADD("%s %s=%.3g (%+.1f)", q ? ";" : ":", r->feature, r->value, 100.0 * r->contribution);
    }
#undef ADD
    if (k >= n)
        buf[n - 1] = 0;
}

/* --------------------------------------------------------------- campaign ---- */

typedef struct ranked {
    size_t i;
    float e;
} ranked;

static int by_effect_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->e != y->e)
        return x->e > y->e ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* customers.<col> of customer id (""), through a code -> row map of customers.customer_id. */
static const char *
cust_col(const promo_table *ct, const uint32_t *row_of, const char *id, const char *col)
{
    const promo_column *idc = ct ? promo_table_column(ct, "customer_id") : NULL;
    const promo_column *c = ct ? promo_table_column(ct, col) : NULL;
    if (!idc || !c || !row_of || idc->type != PROMO_COL_STRING || c->type != PROMO_COL_STRING)
        return "";
    uint32_t code = promo_dict_find(idc->dict, id, strlen(id));
    if (code == PROMO_DICT_NONE || row_of[code] == UINT32_MAX ||
        promo_column_is_null(c, row_of[code]))
        return "";
    return promo_column_str(c, row_of[code]);
}

int promo_uplift_campaign(promo_uplift_scorer *h,
                          const promo_uplift_campaign_params *p,
                          const char *path,
                          size_t *n_written,
                          double *expected_incremental)
{
    *n_written = 0;
    if (expected_incremental)
        *expected_incremental = 0.0;
    if (!p->product_id || !(p->discount_pct >= 0.0 && p->discount_pct <= 90.0) || p->n_target == 0)
        return promo_fail(PROMO_EUSAGE, "uplift campaign: needs a product, a discount in 0-90 "
                                        "and n_target >= 1");
    if (!h->names_read)
        return promo_fail(PROMO_EUSAGE, "uplift campaign: the scorer was opened without the "
                                        "customers' names (promo_uplift_scorer_params.names)");
    char target[300];
    snprintf(target, sizeof target, "product:%s", p->product_id);
    promo_uplift_offer o = {target, p->discount_pct};
    promo_uplift_scores *sc = NULL;
    int rc = promo_uplift_scorer_score(h, &o, &sc);
    if (rc)
        return rc;
    size_t n = sc->n, K = (size_t)sc->n_arms, E = K - 1;
    ranked *rk = promo_mallocn(n ? n : 1, sizeof *rk);
    int32_t *arm_of = promo_mallocn(n ? n : 1, sizeof *arm_of);
    uint32_t *row_of = NULL;
    promo_table *t = promo_table_new("campaign");
    rc = PROMO_ENOMEM;
    if (!rk || !arm_of || !t)
        goto done;
    size_t n_rank = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 1;
        for (size_t a = 2; a < K; a++)
            if (p->by_profit ? sc->profit[i * K + a] > sc->profit[i * K + best]
                             : sc->effect[i * E + a - 1] > sc->effect[i * E + best - 1])
                best = a;
        arm_of[i] = (int32_t)best;
        if (!p->by_profit)
            rk[n_rank++] = (ranked){i, sc->effect[i * E + best - 1]};
        else if (sc->profit[i * K + best] > 0.0)
            rk[n_rank++] = (ranked){i, (float)sc->profit[i * K + best]};
    }
    qsort(rk, n_rank, sizeof *rk, by_effect_desc);
    const promo_table *ct = h->d.customers;
    const promo_column *idc = ct ? promo_table_column(ct, "customer_id") : NULL;
    if (idc && idc->type == PROMO_COL_STRING) {
        uint32_t nd = promo_dict_size(idc->dict);
        if (!(row_of = promo_mallocn(nd ? nd : 1, sizeof *row_of)))
            goto done;
        for (uint32_t k = 0; k < nd; k++)
            row_of[k] = UINT32_MAX;
        for (size_t r = 0; r < ct->n_rows; r++)
            if (!promo_column_is_null(idc, r))
                row_of[idc->codes[r]] = (uint32_t)r;
    }
    /* The campaign file's written columns (campaign.h), then uplift and expected_profit. */
    promo_column *cols[PROMO_CAMPAIGN_COL_COUNT] = {0}, *cu = NULL, *cpf = NULL;
    for (int k = 0; k < PROMO_CAMPAIGN_COL_COUNT; k++) {
        const promo_campaign_column *cc = &promo_campaign_columns[k];
        if ((cc->flags & PROMO_CAMPAIGN_WRITTEN) &&
            (rc = promo_table_add_column(t, cc->name, cc->type, &cols[k])))
            goto done;
    }
    if ((rc = promo_table_add_column(t, "uplift", PROMO_COL_FLOAT64, &cu)) ||
        (rc = promo_table_add_column(t, "expected_profit", PROMO_COL_FLOAT64, &cpf)))
        goto done;
    size_t m = n_rank < p->n_target ? n_rank : p->n_target;
    double inc = 0.0;
    for (size_t q = 0; q < m && !rc; q++) {
        size_t i = rk[q].i;
        int32_t a = arm_of[i];
        const char *id = sc->customer[i];
        double eff = sc->effect[i * E + (size_t)a - 1];
        inc += eff;
        char reason[160];
        snprintf(reason, sizeof reason, "uplift %+.1f pts (%s vs %s)", 100.0 * eff, h->arm_names[a],
                 h->arm_names[0]);
        for (int k = 0; k < PROMO_CAMPAIGN_COL_COUNT && !rc; k++) {
            promo_column *c = cols[k];
            if (!c)
                continue;
            const char *sv = NULL;
            switch (k) {
            case PROMO_CAMPAIGN_CUSTOMER_ID:
                sv = id;
                break;
            case PROMO_CAMPAIGN_NAME:
                sv = cust_col(ct, row_of, id, "name");
                break;
            case PROMO_CAMPAIGN_LOCATION:
                sv = cust_col(ct, row_of, id, "location");
                break;
            case PROMO_CAMPAIGN_REASON:
                sv = reason;
                break;
            case PROMO_CAMPAIGN_PRODUCT_ID:
                sv = p->product_id;
                break;
            case PROMO_CAMPAIGN_PROBABILITY:
                rc = sc->outcome ? promo_column_push_f64(c, sc->outcome[i * K + (size_t)a])
                                 : promo_column_push_null(c);
                continue;
            case PROMO_CAMPAIGN_DISCOUNT_PCT:
                rc = promo_column_push_f64(c, p->discount_pct);
                continue;
            case PROMO_CAMPAIGN_SEND_DAY:
                rc = promo_column_push_i64(c, p->send_day);
                continue;
            case PROMO_CAMPAIGN_SEND_HOUR:
                rc = promo_column_push_i64(c, p->send_hour);
                continue;
            default:
                break;
            }
            if (c->type == PROMO_COL_STRING)
                rc = sv ? promo_column_push_str(c, sv, strlen(sv)) : promo_column_push_null(c);
            else
                rc = promo_column_push_null(c);
        }
        if (!rc)
            rc = promo_column_push_f64(cu, eff);
        if (!rc)
            rc = promo_column_push_f64(cpf, sc->profit[i * K + (size_t)a]);
    }
    if (rc || (rc = promo_table_seal(t)) || (rc = promo_csv_write(path, t)))
        goto done;
    *n_written = m;
    if (expected_incremental)
        *expected_incremental = inc;
done:
    promo_table_free(t);
    promo_free(rk);
    promo_free(arm_of);
    promo_free(row_of);
    promo_uplift_scores_free(sc);
    return rc;
}
