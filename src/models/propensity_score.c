/* src/models/propensity_score.c: scoring and explaining with a saved propensity model.
 *
 * Two layers. The lower one is a loaded model (promo_prop_loaded): the booster of the target's
 * kind read from <ws>/models (the category-scoped one first for a product whose category has
 * one), its feature layout and calibration read from its attributes. Given a panel and a cut
 * the caller already holds, it predicts calibrated probabilities for any rows, scores every
 * customer, and explains chosen customers with XGBoost's TreeSHAP contributions of the same
 * rows. The scoring handle (promo/scorer.h) holds one panel, one cut and such models, so a
 * campaign or a server builds the features once.
 *
 * The upper layer, promo_propensity_score / _explain / _explain_many, is one call each: load
 * the panel, load the model, build the cut, run the lower layer, free everything. Same order
 * of steps (and so the same error when several things are wrong) as before the split.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/store.h>

#include "models/propensity_internal.h"

/* ---------------------------------------------------------------- loaded model ---- */

struct promo_prop_loaded {
    promo_panel_kind kind;          /* the kind of targets it serves */
    promo_gbdt *g;                  /* the booster */
    promo_panel_layout l;           /* its feature columns */
    promo_calib *cal;               /* its calibration */
    char path[PROMO_PROP_PATH_MAX]; /* the file it came from */
};

void promo_prop_loaded_free(promo_prop_loaded *m)
{
    if (!m)
        return;
    promo_gbdt_free(m->g);
    promo_panel_layout_free(&m->l);
    promo_calib_free(m->cal);
    promo_free(m);
}

static int file_exists(const char *path)
{
    struct stat st; /* not fopen: a FIFO there would block until a writer came */
    return stat(path, &st) == 0;
}

void promo_prop_model_file(
    promo_store *s, const promo_panel *d, promo_panel_target t, char *out, size_t n)
{
    out[0] = 0;
    if (t.kind == PROMO_PANEL_PRODUCT)
        prop_model_path(s, t.kind, d->cat_names[d->prod_cat[t.item]], out, n);
    if (!out[0] || !file_exists(out))
        prop_model_path(s, t.kind, NULL, out, n);
}

int prop_load_path(const char *path, promo_panel_kind kind, int n_threads, promo_prop_loaded **out)
{
    *out = NULL;
    promo_prop_loaded *m = promo_calloc(1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    m->kind = kind;
    prop_copy_str(m->path, sizeof m->path, path);
    int rc = promo_gbdt_load(path, &m->g);
    if (rc) {
        promo_prop_loaded_free(m);
        return rc;
    }
    char *kd = promo_gbdt_get_attr(m->g, "promo.kind"),
         *names = promo_gbdt_get_attr(m->g, "promo.features"),
         *cal = promo_gbdt_get_attr(m->g, "promo.calibration");
    if (!kd || !names || !cal || strcmp(kd, prop_kind_names[kind]) != 0)
        rc = promo_fail(PROMO_EINPUT, "%s: not a promo propensity model for %s targets", path,
                        prop_kind_names[kind]);
    else if (!(rc = promo_panel_layout_parse(kind, names, &m->l)) &&
             !(rc = promo_calib_from_string(cal, &m->cal)) && m->l.n != promo_gbdt_n_features(m->g))
        rc = promo_fail(PROMO_EINPUT, "%s: %zu feature names for %zu model features", path, m->l.n,
                        promo_gbdt_n_features(m->g));
    promo_free(kd);
    promo_free(names);
    promo_free(cal);
    if (!rc)
        rc = promo_gbdt_set_nthread(m->g, n_threads);
    if (rc) {
        promo_prop_loaded_free(m);
        return rc;
    }
    *out = m;
    return PROMO_OK;
}

char *prop_loaded_attr(const promo_prop_loaded *m, const char *key)
{
    return promo_gbdt_get_attr(m->g, key);
}

int promo_prop_load(promo_store *s,
                    const promo_panel *d,
                    promo_panel_target t,
                    int n_threads,
                    promo_prop_loaded **out)
{
    *out = NULL;
    char path[PROMO_PROP_PATH_MAX];
    promo_prop_model_file(s, d, t, path, sizeof path);
    /* A model made from data that has since been replaced is refused (store.h: data versions). */
    int rc = file_exists(path) ? promo_store_check_file(s, path) : PROMO_OK;
    if (!rc)
        rc = prop_load_path(path, t.kind, n_threads, out);
    if (rc != PROMO_ENOTFOUND)
        return rc;
    /* The command to run names this very target, so it can be pasted as it is. */
    const char *id = t.kind == PROMO_PANEL_ANY ? "any" : NULL;
    if (t.kind == PROMO_PANEL_PRODUCT && d->prod_id && t.item < d->n_products)
        id = promo_column_str(d->prod_id, t.item);
    else if (t.kind == PROMO_PANEL_CATEGORY && d->cat_names && t.item < d->n_cats)
        id = d->cat_names[t.item];
    return promo_fail(PROMO_ENOTFOUND,
                      "no propensity model for %s targets in %s (run `promo train --ws %s "
                      "--model propensity --target %s%s`)",
                      prop_kind_names[t.kind], promo_store_ws_dir(s), promo_store_ws_dir(s),
                      t.kind == PROMO_PANEL_PRODUCT    ? "product:"
                      : t.kind == PROMO_PANEL_CATEGORY ? "category:"
                                                       : "",
                      id                              ? id
                      : t.kind == PROMO_PANEL_PRODUCT ? "ID"
                                                      : "NAME");
}

const char *promo_prop_loaded_path(const promo_prop_loaded *m)
{
    return m->path;
}

promo_panel_kind promo_prop_loaded_kind(const promo_prop_loaded *m)
{
    return m->kind;
}

const promo_panel_layout *promo_prop_loaded_layout(const promo_prop_loaded *m)
{
    return &m->l;
}

/* Rows r of cut c through model m in blocks (bounded memory): calibrated probabilities. */
int promo_prop_loaded_predict(const promo_prop_loaded *m,
                              const promo_panel *d,
                              const promo_panel_cut *c,
                              const promo_panel_rows *r,
                              double *prob)
{
    enum { BLOCK = 65536 };
    size_t dn = m->l.n, bn = r->n < BLOCK ? r->n : BLOCK;
    float *X = promo_mallocn(bn ? bn * dn : 1, sizeof *X);
    float *o = promo_mallocn(bn ? bn : 1, sizeof *o);
    int rc = PROMO_ENOMEM;
    if (!X || !o)
        goto done;
    for (size_t i0 = 0; i0 < r->n; i0 += BLOCK) {
        size_t nb = r->n - i0 < BLOCK ? r->n - i0 : BLOCK;
        promo_panel_rows v = {nb, r->cust + i0, r->item + i0, r->w + i0, r->y + i0};
        if ((rc = promo_panel_rows_matrix(d, c, &m->l, &v, X)) ||
            (rc = promo_gbdt_predict(m->g, X, nb, dn, 0, o)))
            goto done;
        for (size_t i = 0; i < nb; i++)
            prob[i0 + i] = o[i];
    }
    promo_calib_apply(m->cal, prob, r->n, prob);
    rc = PROMO_OK;
done:
    promo_free(X);
    promo_free(o);
    return rc;
}

/* Rows of n customers of the cut for target t (weight 1, label 0). */
static int customer_rows(const uint32_t *cust, size_t n, promo_panel_target t, promo_panel_rows *r)
{
    memset(r, 0, sizeof *r);
    if (!(r->cust = promo_mallocn(n ? n : 1, sizeof *r->cust)) ||
        !(r->item = promo_mallocn(n ? n : 1, sizeof *r->item)) ||
        !(r->w = promo_mallocn(n ? n : 1, sizeof *r->w)) ||
        !(r->y = promo_mallocn(n ? n : 1, sizeof *r->y))) {
        promo_panel_rows_free(r);
        return PROMO_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        r->cust[k] = cust[k];
        r->item[k] = t.item;
        r->w[k] = 1.0f;
        r->y[k] = 0.0f;
    }
    r->n = n;
    return PROMO_OK;
}

int promo_prop_loaded_score(const promo_prop_loaded *m,
                            const promo_panel *d,
                            const promo_panel_cut *c,
                            promo_panel_target t,
                            const char *target,
                            promo_prop_scores **out)
{
    *out = NULL;
    promo_panel_rows r;
    memset(&r, 0, sizeof r);
    promo_prop_scores *sc = NULL;
    int rc = promo_panel_rows_target(d, c, t, 0, &r);
    if (rc)
        return rc;
    rc = PROMO_ENOMEM;
    if (!(sc = promo_calloc(1, sizeof *sc)) ||
        !(sc->customer_id = promo_calloc(r.n ? r.n : 1, sizeof *sc->customer_id)) ||
        !(sc->probability = promo_mallocn(r.n ? r.n : 1, sizeof *sc->probability)))
        goto done;
    sc->n = r.n;
    sc->as_of = c->as_of;
    prop_copy_str(sc->target, sizeof sc->target, target);
    /* A million copies are a tenth of a second alone: split over the team. A failed copy is
     * reported here, on the calling thread (the error message is per thread). */
    int failed = 0;
#pragma omp parallel for schedule(static) reduction(| : failed) if (r.n > 65536)
    for (size_t i = 0; i < r.n; i++)
        if (!(sc->customer_id[i] = promo_strdup(promo_features_customer_id(c->f, i))))
            failed = 1;
    if (failed) {
        rc = promo_fail(PROMO_ENOMEM, "out of memory copying %zu customer ids", r.n);
        goto done;
    }
    if ((rc = promo_prop_loaded_predict(m, d, c, &r, sc->probability)))
        goto done;
    *out = sc;
    sc = NULL;
done:
    promo_prop_scores_free(sc);
    promo_panel_rows_free(&r);
    return rc;
}

static const char *target_name(const promo_panel *d, promo_panel_target t)
{
    if (t.kind == PROMO_PANEL_PRODUCT)
        return d->prod_name ? promo_column_str(d->prod_name, t.item)
                            : promo_column_str(d->prod_id, t.item);
    if (t.kind == PROMO_PANEL_CATEGORY)
        return d->cat_names[t.item];
    return "";
}

int promo_prop_loaded_explain(const promo_prop_loaded *m,
                              const promo_panel *d,
                              const promo_panel_cut *c,
                              promo_panel_target t,
                              const char *target,
                              const uint32_t *cust,
                              size_t n,
                              promo_prop_explanation **out)
{
    for (size_t k = 0; k < n; k++)
        out[k] = NULL;
    promo_panel_rows r;
    float *X = NULL, *contrib = NULL;
    double *prob = NULL;
    int rc = customer_rows(cust, n, t, &r);
    if (rc)
        return rc;
    size_t dn = m->l.n;
    rc = PROMO_ENOMEM;
    if (!(X = promo_mallocn(n ? n * dn : 1, sizeof *X)) ||
        !(contrib = promo_mallocn(n ? n * (dn + 1) : 1, sizeof *contrib)) ||
        !(prob = promo_mallocn(n ? n : 1, sizeof *prob)))
        goto done;
    if ((rc = promo_panel_rows_matrix(d, c, &m->l, &r, X)) ||
        (n && (rc = promo_gbdt_contribs(m->g, X, n, dn, contrib))) ||
        (rc = promo_prop_loaded_predict(m, d, c, &r, prob)))
        goto done;
    rc = PROMO_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        promo_prop_explanation *e = promo_calloc(1, sizeof *e);
        if (!e)
            goto done;
        out[k] = e;
        prop_copy_str(e->customer_id, sizeof e->customer_id,
                      promo_features_customer_id(c->f, cust[k]));
        prop_copy_str(e->target, sizeof e->target, target);
        prop_copy_str(e->target_name, sizeof e->target_name, target_name(d, t));
        prop_copy_str(e->category_name, sizeof e->category_name,
                      t.kind == PROMO_PANEL_PRODUCT ? d->cat_names[d->prod_cat[t.item]] : "");
        e->as_of = c->as_of;
        e->probability = prob[k];
        e->bias = contrib[k * (dn + 1) + dn];
        if (!(e->feature_names = promo_calloc(dn, sizeof *e->feature_names)) ||
            !(e->values = promo_mallocn(dn, sizeof *e->values)) ||
            !(e->contribs = promo_mallocn(dn, sizeof *e->contribs)))
            goto done;
        e->n_features = dn;
        for (size_t f = 0; f < dn; f++)
            if (!(e->feature_names[f] = promo_strdup(m->l.names[f])))
                goto done;
        memcpy(e->values, X + k * dn, dn * sizeof *X);
        memcpy(e->contribs, contrib + k * (dn + 1), dn * sizeof *contrib);
    }
    rc = PROMO_OK;
done:
    if (rc)
        for (size_t k = 0; k < n; k++) {
            promo_prop_explanation_free(out[k]);
            out[k] = NULL;
        }
    promo_free(X);
    promo_free(contrib);
    promo_free(prob);
    promo_panel_rows_free(&r);
    return rc;
}

/* ---------------------------------------------------------------- one-call wrappers ---- */

/* What one call holds: the panel, the target's model, the cut. */
typedef struct session {
    promo_panel d;
    promo_panel_cut c;
    promo_prop_loaded *m;
    promo_panel_target t;
} session;

static void session_free(session *x)
{
    promo_panel_cut_free(&x->c);
    promo_prop_loaded_free(x->m);
    promo_panel_free(&x->d);
}

/* Panel, target, model, cut: in that order (the first failure is the one reported). */
static int session_open(promo_store *s, const char *target, int64_t as_of, session *x)
{
    memset(x, 0, sizeof *x);
    int rc = promo_panel_load(s, 0, &x->d);
    if (rc)
        return rc;
    if (!(rc = promo_panel_target_parse(&x->d, target, &x->t)) &&
        !(rc = promo_prop_load(s, &x->d, x->t, 0, &x->m)))
        rc = promo_panel_cut_build(&x->d, as_of ? as_of : promo_prop_scoring_cutoff(&x->d), &x->c);
    if (rc)
        session_free(x);
    return rc;
}

int promo_propensity_score(promo_store *s,
                           const char *target,
                           int64_t as_of,
                           promo_prop_scores **out)
{
    *out = NULL;
    session x;
    int rc = session_open(s, target, as_of, &x);
    if (rc)
        return rc;
    rc = promo_prop_loaded_score(x.m, &x.d, &x.c, x.t, target, out);
    session_free(&x);
    return rc;
}

int promo_propensity_explain_many(promo_store *s,
                                  const char *target,
                                  int64_t as_of,
                                  const char *const *ids,
                                  size_t n,
                                  promo_prop_explanation ***out)
{
    *out = NULL;
    session x;
    promo_prop_explanation **ex = NULL, **found = NULL;
    uint32_t *row_of = NULL, *rows = NULL;
    promo_dict *idd = NULL;
    int rc = session_open(s, target, as_of, &x);
    if (rc)
        return rc;
    rc = PROMO_ENOMEM;
    if (!(ex = promo_calloc(n ? n : 1, sizeof *ex)) || !(idd = promo_dict_new()) ||
        !(row_of = promo_mallocn(n ? n : 1, sizeof *row_of)) ||
        !(rows = promo_mallocn(n ? n : 1, sizeof *rows)) ||
        !(found = promo_calloc(n ? n : 1, sizeof *found)))
        goto done;
    /* Customer rows of the requested ids (one dictionary of the ids, one pass over the cut). */
    for (size_t k = 0; k < n; k++) {
        row_of[k] = PROMO_PANEL_NONE;
        if (promo_dict_intern(idd, ids[k], strlen(ids[k])) == PROMO_DICT_NONE)
            goto done;
    }
    for (size_t i = 0; i < x.c.f->n_customers; i++) {
        const char *id = promo_features_customer_id(x.c.f, i);
        if (promo_dict_find(idd, id, strlen(id)) != PROMO_DICT_NONE)
            for (size_t j = 0; j < n; j++)
                if (strcmp(ids[j], id) == 0)
                    row_of[j] = (uint32_t)i;
    }
    size_t nr = 0;
    for (size_t k = 0; k < n; k++)
        if (row_of[k] != PROMO_PANEL_NONE)
            rows[nr++] = row_of[k];
    if ((rc = promo_prop_loaded_explain(x.m, &x.d, &x.c, x.t, target, rows, nr, found)))
        goto done;
    char cur[8];
    promo_prop_currency(s, cur);
    for (size_t j = 0; j < nr; j++)
        snprintf(found[j]->currency, sizeof found[j]->currency, "%s", cur);
    for (size_t k = 0, j = 0; k < n; k++)
        if (row_of[k] != PROMO_PANEL_NONE) {
            ex[k] = found[j];
            found[j++] = NULL;
        }
    *out = ex;
    ex = NULL;
    rc = PROMO_OK;
done:
    if (ex) {
        for (size_t k = 0; k < n; k++)
            promo_prop_explanation_free(ex[k]);
        promo_free(ex);
    }
    promo_free(found); /* every entry moved out, or freed by promo_prop_loaded_explain */
    promo_dict_free(idd);
    promo_free(row_of);
    promo_free(rows);
    session_free(&x);
    return rc;
}

int promo_propensity_explain(promo_store *s,
                             const char *target,
                             int64_t as_of,
                             const char *customer_id,
                             promo_prop_explanation **out)
{
    *out = NULL;
    promo_prop_explanation **ex = NULL;
    int rc = promo_propensity_explain_many(s, target, as_of, &customer_id, 1, &ex);
    if (rc)
        return rc;
    *out = ex[0];
    promo_free(ex);
    if (!*out)
        return promo_fail(PROMO_ENOTFOUND, "propensity: customer '%s' is not known at the cutoff",
                          customer_id);
    return PROMO_OK;
}

void promo_prop_currency(promo_store *s, char out[8])
{
    out[0] = 0;
    static const char *const keys[] = {"currency", "generate.currency"};
    for (int k = 0; k < 2 && !out[0]; k++) {
        char *v = promo_store_meta_get(s, keys[k]);
        if (v && *v)
            snprintf(out, 8, "%s", v);
        promo_free(v);
    }
    if (!out[0]) {
        char *fmt = promo_store_meta_get(s, "ingest.format");
        if (fmt && !strcmp(fmt, "online-retail"))
            snprintf(out, 8, "GBP");
        promo_free(fmt);
    }
    promo_clear_error();
}
