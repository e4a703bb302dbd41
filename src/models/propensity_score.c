/* src/models/propensity_score.c: scoring and explaining with a saved propensity model.
 *
 * The model of the target's kind is loaded from <ws>/models (the category-scoped one first
 * for a product whose category has one), its feature layout and calibration read from its
 * attributes; the panel builds the rows of every customer known at the cutoff, and the
 * predictions go through the calibration. Explanations are XGBoost's TreeSHAP contributions
 * of the same rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/store.h>

#include "models/propensity_internal.h"

/* ---------------------------------------------------------------- scoring ---- */

typedef struct loaded {
    promo_gbdt *g;
    promo_panel_layout l;
    promo_calib *cal;
} loaded;

static void loaded_free(loaded *m)
{
    promo_gbdt_free(m->g);
    promo_panel_layout_free(&m->l);
    promo_calib_free(m->cal);
    memset(m, 0, sizeof *m);
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static int load_model(promo_store *s, const promo_panel *d, promo_panel_target t, int n_threads, loaded *m)
{
    memset(m, 0, sizeof *m);
    char path[PROMO_PROP_PATH_MAX];
    path[0] = 0;
    if (t.kind == PROMO_PANEL_PRODUCT)
        prop_model_path(s, t.kind, d->cat_names[d->prod_cat[t.item]], path, sizeof path);
    if (!path[0] || !file_exists(path))
        prop_model_path(s, t.kind, NULL, path, sizeof path);
    int rc = promo_gbdt_load(path, &m->g);
    if (rc == PROMO_ENOTFOUND)
        return promo_fail(PROMO_ENOTFOUND,
                          "no propensity model for %s targets in %s (run `promo "
                          "train --model propensity --target %s`)",
                          prop_kind_names[t.kind], promo_store_ws_dir(s),
                          t.kind == PROMO_PANEL_ANY       ? "any"
                          : t.kind == PROMO_PANEL_PRODUCT ? "product:ID"
                                                   : "category:NAME");
    if (rc)
        return rc;
    char *kind = promo_gbdt_get_attr(m->g, "promo.kind"),
         *names = promo_gbdt_get_attr(m->g, "promo.features"),
         *cal = promo_gbdt_get_attr(m->g, "promo.calibration");
    if (!kind || !names || !cal || strcmp(kind, prop_kind_names[t.kind]) != 0)
        rc = promo_fail(PROMO_EINPUT, "%s: not a promo propensity model for %s targets", path,
                        prop_kind_names[t.kind]);
    else if (!(rc = promo_panel_layout_parse(t.kind, names, &m->l)) &&
             !(rc = promo_calib_from_string(cal, &m->cal)) && m->l.n != promo_gbdt_n_features(m->g))
        rc = promo_fail(PROMO_EINPUT, "%s: %zu feature names for %zu model features", path, m->l.n,
                        promo_gbdt_n_features(m->g));
    promo_free(kind);
    promo_free(names);
    promo_free(cal);
    if (!rc)
        rc = promo_gbdt_set_nthread(m->g, n_threads);
    if (rc)
        loaded_free(m);
    return rc;
}

/* Rows r of cut c through model m in blocks (bounded memory): calibrated probabilities. */
static int predict_rows(
    const promo_panel *d, const promo_panel_cut *c, const loaded *m, const promo_panel_rows *r, double *prob)
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

int promo_propensity_score(promo_store *s,
                           const char *target,
                           int64_t as_of,
                           promo_prop_scores **out)
{
    *out = NULL;
    promo_panel d;
    promo_panel_cut c;
    loaded m;
    promo_panel_rows r;
    memset(&c, 0, sizeof c);
    memset(&m, 0, sizeof m);
    memset(&r, 0, sizeof r);
    promo_prop_scores *sc = NULL;
    promo_panel_target t;
    int rc = promo_panel_load(s, 0, &d);
    if (rc)
        return rc;
    if ((rc = promo_panel_target_parse(&d, target, &t)) || (rc = load_model(s, &d, t, 0, &m)))
        goto done;
    if (!as_of)
        as_of = prop_last_day_after(&d);
    if ((rc = promo_panel_cut_build(&d, as_of, &c)) || (rc = promo_panel_rows_target(&d, &c, t, 0, &r)))
        goto done;
    rc = PROMO_ENOMEM;
    if (!(sc = promo_calloc(1, sizeof *sc)) ||
        !(sc->customer_id = promo_calloc(r.n ? r.n : 1, sizeof *sc->customer_id)) ||
        !(sc->probability = promo_mallocn(r.n ? r.n : 1, sizeof *sc->probability)))
        goto done;
    sc->n = r.n;
    sc->as_of = as_of;
    prop_copy_str(sc->target, sizeof sc->target, target);
    for (size_t i = 0; i < r.n; i++)
        if (!(sc->customer_id[i] = promo_strdup(promo_features_customer_id(c.f, i))))
            goto done;
    if ((rc = predict_rows(&d, &c, &m, &r, sc->probability)))
        goto done;
    *out = sc;
    sc = NULL;
done:
    promo_prop_scores_free(sc);
    promo_panel_rows_free(&r);
    promo_panel_cut_free(&c);
    loaded_free(&m);
    promo_panel_free(&d);
    return rc;
}

/* ---------------------------------------------------------------- explanations ---- */

static const char *target_name(const promo_panel *d, promo_panel_target t)
{
    if (t.kind == PROMO_PANEL_PRODUCT)
        return d->prod_name ? promo_column_str(d->prod_name, t.item)
                            : promo_column_str(d->prod_id, t.item);
    if (t.kind == PROMO_PANEL_CATEGORY)
        return d->cat_names[t.item];
    return "";
}

int promo_propensity_explain_many(promo_store *s,
                                  const char *target,
                                  int64_t as_of,
                                  const char *const *ids,
                                  size_t n,
                                  promo_prop_explanation ***out)
{
    *out = NULL;
    promo_panel d;
    promo_panel_cut c;
    loaded m;
    promo_panel_rows r;
    memset(&c, 0, sizeof c);
    memset(&m, 0, sizeof m);
    memset(&r, 0, sizeof r);
    promo_prop_explanation **ex = NULL;
    float *X = NULL, *contrib = NULL;
    double *prob = NULL;
    uint32_t *row_of = NULL;
    promo_panel_target t;
    promo_dict *idd = NULL;
    int rc = promo_panel_load(s, 0, &d);
    if (rc)
        return rc;
    if ((rc = promo_panel_target_parse(&d, target, &t)) || (rc = load_model(s, &d, t, 0, &m)))
        goto done;
    if (!as_of)
        as_of = prop_last_day_after(&d);
    if ((rc = promo_panel_cut_build(&d, as_of, &c)))
        goto done;
    rc = PROMO_ENOMEM;
    if (!(ex = promo_calloc(n ? n : 1, sizeof *ex)) || !(idd = promo_dict_new()) ||
        !(row_of = promo_mallocn(n ? n : 1, sizeof *row_of)))
        goto done;
    /* Customer rows of the requested ids (one dictionary of the ids, one pass over f). */
    for (size_t k = 0; k < n; k++) {
        row_of[k] = PROMO_PANEL_NONE;
        if (promo_dict_intern(idd, ids[k], strlen(ids[k])) == PROMO_DICT_NONE)
            goto done;
    }
    for (size_t i = 0; i < c.f->n_customers; i++) {
        const char *id = promo_features_customer_id(c.f, i);
        uint32_t k = promo_dict_find(idd, id, strlen(id));
        if (k != PROMO_DICT_NONE)
            for (size_t j = 0; j < n; j++)
                if (strcmp(ids[j], id) == 0)
                    row_of[j] = (uint32_t)i;
    }
    size_t nr = 0;
    for (size_t k = 0; k < n; k++)
        nr += row_of[k] != PROMO_PANEL_NONE;
    memset(&r, 0, sizeof r);
    if (!(r.cust = promo_mallocn(nr ? nr : 1, sizeof *r.cust)) ||
        !(r.item = promo_mallocn(nr ? nr : 1, sizeof *r.item)) ||
        !(r.w = promo_mallocn(nr ? nr : 1, sizeof *r.w)) ||
        !(r.y = promo_mallocn(nr ? nr : 1, sizeof *r.y)))
        goto done;
    for (size_t k = 0; k < n; k++)
        if (row_of[k] != PROMO_PANEL_NONE) {
            r.cust[r.n] = row_of[k];
            r.item[r.n] = t.item;
            r.w[r.n] = 1.0f;
            r.y[r.n] = 0.0f;
            r.n++;
        }
    size_t dn = m.l.n;
    if (!(X = promo_mallocn(nr ? nr * dn : 1, sizeof *X)) ||
        !(contrib = promo_mallocn(nr ? nr * (dn + 1) : 1, sizeof *contrib)) ||
        !(prob = promo_mallocn(nr ? nr : 1, sizeof *prob)))
        goto done;
    if ((rc = promo_panel_rows_matrix(&d, &c, &m.l, &r, X)) ||
        (nr && (rc = promo_gbdt_contribs(m.g, X, nr, dn, contrib))) ||
        (rc = predict_rows(&d, &c, &m, &r, prob)))
        goto done;
    rc = PROMO_ENOMEM;
    size_t j = 0;
    for (size_t k = 0; k < n; k++) {
        if (row_of[k] == PROMO_PANEL_NONE)
            continue;
        promo_prop_explanation *e = promo_calloc(1, sizeof *e);
        if (!e)
            goto done;
        ex[k] = e;
        prop_copy_str(e->customer_id, sizeof e->customer_id, ids[k]);
        prop_copy_str(e->target, sizeof e->target, target);
        prop_copy_str(e->target_name, sizeof e->target_name, target_name(&d, t));
        prop_copy_str(e->category_name, sizeof e->category_name,
                 t.kind == PROMO_PANEL_PRODUCT ? d.cat_names[d.prod_cat[t.item]] : "");
        e->as_of = as_of;
        e->probability = prob[j];
        e->bias = contrib[j * (dn + 1) + dn];
        if (!(e->feature_names = promo_calloc(dn, sizeof *e->feature_names)) ||
            !(e->values = promo_mallocn(dn, sizeof *e->values)) ||
            !(e->contribs = promo_mallocn(dn, sizeof *e->contribs)))
            goto done;
        e->n_features = dn;
        for (size_t f = 0; f < dn; f++)
            if (!(e->feature_names[f] = promo_strdup(m.l.names[f])))
                goto done;
        memcpy(e->values, X + j * dn, dn * sizeof *X);
        memcpy(e->contribs, contrib + j * (dn + 1), dn * sizeof *contrib);
        j++;
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
    promo_dict_free(idd);
    promo_free(row_of);
    promo_free(X);
    promo_free(contrib);
    promo_free(prob);
    promo_panel_rows_free(&r);
    promo_panel_cut_free(&c);
    loaded_free(&m);
    promo_panel_free(&d);
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
