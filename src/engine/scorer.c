/* src/engine/scorer.c: the scoring handle (promo/scorer.h).
 *
 * A panel and one cut, built at open, plus the loaded propensity models (propensity.h's
 * lower layer) of the targets seen so far, keyed by their file: "product:A" and "product:B"
 * share the product model unless one of their categories has its own. The current target
 * points at one of them. Every call is the loaded model's call on the held panel and cut, so
 * the results are those of the one-call functions in propensity_score.c bit for bit.
 *
 * The id -> customer-row dictionary is built at the first lookup or explanation: `promo
 * score` and campaigns never need it.
 *
 * Opened with params.stored for "any", the cut may instead be the features `promo features`
 * stored (panel.h), mapped in place: then nothing is read from the tables but, for names,
 * two columns of customers. Only "any" rows are built on such a cut (they read X alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/scorer.h>
#include <promo/store.h>
#include <promo/timeutil.h>

struct promo_scorer {
    promo_store *s;                     /* borrowed: to load further model files */
    int n_threads;                      /* as given to open */
    int stored;                         /* 1: the cut holds the stored features (any only) */
    promo_panel_fmap *fmap;             /* their mapping (c.f reads from it), or NULL */
    promo_panel d;                      /* the workspace's tables */
    promo_panel_cut c;                  /* the features of the cutoff */
    promo_prop_loaded **models;         /* n_models loaded models (owned) */
    size_t n_models, cap_models;        /* count and capacity of models */
    promo_prop_loaded *m;               /* the current target's model (one of models), or NULL */
    promo_panel_target t;               /* the current target */
    char target[PROMO_PROP_TARGET_MAX]; /* its text ("" = none) */
    promo_dict *ids;                    /* customer ids of the cut (lazy), code -> row_of */
    uint32_t *row_of;                   /* ids code -> cut row */
};

void promo_scorer_free(promo_scorer *h)
{
    if (!h)
        return;
    for (size_t k = 0; k < h->n_models; k++)
        promo_prop_loaded_free(h->models[k]);
    promo_free(h->models);
    promo_dict_free(h->ids);
    promo_free(h->row_of);
    if (h->fmap) { /* the features are read in place from the mapping: released with it */
        promo_panel_stored_unmap(h->fmap, h->c.f);
        h->c.f = NULL;
    }
    promo_panel_cut_free(&h->c);
    promo_panel_free(&h->d);
    promo_free(h);
}

/* The held model serving t, loading it when none is. */
static int model_for(promo_scorer *h, promo_panel_target t, promo_prop_loaded **out)
{
    char path[PROMO_PROP_PATH_MAX];
    if (!h->s)
        return promo_fail(PROMO_EUSAGE, "scorer: no store lent (promo_scorer_set_store)");
    promo_prop_model_file(h->s, &h->d, t, path, sizeof path);
    for (size_t k = 0; k < h->n_models; k++)
        if (promo_prop_loaded_kind(h->models[k]) == t.kind &&
            !strcmp(promo_prop_loaded_path(h->models[k]), path)) {
            *out = h->models[k];
            return PROMO_OK;
        }
    if (h->n_models == h->cap_models) {
        size_t cap = h->cap_models ? 2 * h->cap_models : 4;
        promo_prop_loaded **m = promo_reallocn(h->models, cap, sizeof *m);
        if (!m)
            return PROMO_ENOMEM;
        h->models = m;
        h->cap_models = cap;
    }
    int rc = promo_prop_load(h->s, &h->d, t, h->n_threads, &h->models[h->n_models]);
    if (rc)
        return rc;
    *out = h->models[h->n_models++];
    return PROMO_OK;
}

/* A handle on stored features holds no purchase index: "any" targets only. */
static int stored_any(const promo_scorer *h, const char *target)
{
    if (h->stored && strcmp(target, "any") != 0)
        return promo_fail(PROMO_EUSAGE,
                          "scorer: opened on the stored features, which serve only the target "
                          "any, not '%s' (open it without promo_scorer_params.stored)",
                          target);
    return PROMO_OK;
}

int promo_scorer_retarget(promo_scorer *h, const char *target)
{
    if (!h || !target)
        return promo_fail(PROMO_EUSAGE, "scorer: NULL handle or target");
    if (strlen(target) >= sizeof h->target)
        return promo_fail(PROMO_EUSAGE, "scorer: target longer than %d bytes",
                          PROMO_PROP_TARGET_MAX - 1);
    promo_panel_target t = {PROMO_PANEL_ANY, PROMO_PANEL_NONE};
    promo_prop_loaded *m = NULL;
    int rc = stored_any(h, target);
    if (!rc)
        rc = promo_panel_target_parse(&h->d, target, &t);
    if (!rc)
        rc = model_for(h, t, &m);
    if (rc)
        return rc;
    h->t = t;
    h->m = m;
    snprintf(h->target, sizeof h->target, "%s", target);
    return PROMO_OK;
}

/* The customers' ids and names, for callers that print names (promo score --reasons): the
 * two columns, when the workspace has them. */
static int read_names(promo_store *s, promo_panel *d)
{
    static const char *const cols[] = {"customer_id", "name"};
    if (!promo_store_has_table(s, "customers"))
        return PROMO_OK;
    int rc = promo_store_read_columns(s, "customers", cols, 2, &d->customers);
    return rc == PROMO_ENOTFOUND ? PROMO_OK : rc; /* a table without names: none to print */
}

/* Open on the stored features when they are current and serve this call: 1 = done (*rc its
 * status), 0 = not usable (why says why), the caller computes as before. */
static int open_stored(promo_scorer *h, const promo_scorer_params *p, int *rc, char *why, size_t nw)
{
    promo_feature_params fp = promo_feature_params_default(); /* promo_panel_cut_build's */
    fp.n_threads = p->n_threads;
    promo_panel_stored st;
    const char *target = p->target ? p->target : "";
    if (strcmp(target, "any") != 0) {
        snprintf(why, nw, "the target is not any");
        return 0;
    }
    if ((*rc = promo_panel_stored_check(h->s, &fp, &st, why, nw)))
        return 1;
    if (!st.current)
        return 0;
    if (st.max_ts == INT64_MIN) {
        snprintf(why, nw, "no purchase line");
        return 0;
    }
    h->d.max_ts = st.max_ts;
    int64_t as_of = p->as_of ? p->as_of : promo_prop_scoring_cutoff(&h->d);
    if (as_of != st.as_of) {
        char a[24], b[24];
        promo_time_format_cutoff(st.as_of, a, sizeof a);
        promo_time_format_cutoff(as_of, b, sizeof b);
        snprintf(why, nw, "stored as of %s, the score is as of %s", a, b);
        return 0;
    }
    /* The model before the features, as the computed path loads it before the cut: the same
     * error comes first when it is missing. */
    h->stored = 1;
    h->d.n_keys = st.n_keys;
    h->d.n_threads = p->n_threads;
    if (!p->baseline && (*rc = promo_scorer_retarget(h, target)))
        return 1;
    int mrc = promo_panel_stored_map(h->s, &st, 0, &h->c.f, &h->fmap);
    if (mrc == PROMO_EIO || mrc == PROMO_EINPUT) { /* unreadable: computing them still works */
        promo_warn("score: the stored features are not used: %s", promo_last_error());
        snprintf(why, nw, "unreadable");
        return 0;
    }
    if ((*rc = mrc) || (p->names && (*rc = read_names(h->s, &h->d))))
        return 1;
    h->c.as_of = as_of;
    /* No purchase index: no customer has a key (only pair and category rows read keys). */
    size_t n = h->c.f->n_customers;
    if (!(h->c.key = promo_mallocn(n ? n : 1, sizeof *h->c.key))) {
        *rc = PROMO_ENOMEM;
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        h->c.key[i] = PROMO_PANEL_NONE;
    char day[24];
    promo_time_format_cutoff(as_of, day, sizeof day);
    promo_debug("score: the stored features as of %s (%zu customers x %zu): the tables are "
                "unchanged since promo features",
                day, n, h->c.f->n_features);
    *rc = PROMO_OK;
    return 1;
}

int promo_scorer_open_params(promo_store *s, const promo_scorer_params *p, promo_scorer **out)
{
    *out = NULL;
    promo_scorer *h = promo_calloc(1, sizeof *h);
    if (!h)
        return PROMO_ENOMEM;
    h->s = s;
    h->n_threads = p->n_threads;
    int rc = PROMO_OK;
    char why[256] = "";
    if (p->stored && open_stored(h, p, &rc, why, sizeof why)) {
        if (rc) {
            promo_scorer_free(h);
            return rc;
        }
        *out = h;
        return PROMO_OK;
    }
    if (p->stored)
        promo_debug("score: computing the features from the tables (stored ones not used: %s)",
                    why);
    /* Not stored: start again from a clean handle (open_stored may have set fields). */
    promo_scorer_free(h);
    if (!(h = promo_calloc(1, sizeof *h)))
        return PROMO_ENOMEM;
    h->s = s;
    h->n_threads = p->n_threads;
    const char *target = p->baseline ? NULL : p->target;
    /* Panel, target and model, cut: the order of promo_propensity_score, so the same error is
     * reported first when several things are wrong. */
    rc = promo_panel_load(s, p->n_threads, &h->d);
    if (rc) {
        promo_free(h);
        return rc;
    }
    if ((target && (rc = promo_scorer_retarget(h, target))) ||
        (rc = promo_panel_cut_build(&h->d, p->as_of ? p->as_of : promo_prop_scoring_cutoff(&h->d),
                                    &h->c))) {
        promo_scorer_free(h);
        return rc;
    }
    *out = h;
    return PROMO_OK;
}

int promo_scorer_open(
    promo_store *s, const char *target, int64_t as_of, int n_threads, promo_scorer **out)
{
    promo_scorer_params p = {.target = target, .as_of = as_of, .n_threads = n_threads};
    return promo_scorer_open_params(s, &p, out);
}

int promo_scorer_stored(const promo_scorer *h)
{
    return h->stored;
}

const char *promo_scorer_target(const promo_scorer *h)
{
    return h->target;
}

int64_t promo_scorer_as_of(const promo_scorer *h)
{
    return h->c.as_of;
}

size_t promo_scorer_n_customers(const promo_scorer *h)
{
    return h->c.f->n_customers;
}

const promo_panel *promo_scorer_panel(const promo_scorer *h)
{
    return &h->d;
}

promo_store *promo_scorer_store(const promo_scorer *h)
{
    return h->s;
}

const promo_features *promo_scorer_features(const promo_scorer *h)
{
    return h->c.f;
}

void promo_scorer_set_store(promo_scorer *h, promo_store *s)
{
    if (h)
        h->s = s;
}

static int need_target(const promo_scorer *h)
{
    if (!h->m)
        return promo_fail(PROMO_EUSAGE, "scorer: no target (promo_scorer_retarget first)");
    return PROMO_OK;
}

int promo_scorer_score(promo_scorer *h, promo_prop_scores **out)
{
    *out = NULL;
    int rc = need_target(h);
    if (rc)
        return rc;
    return promo_prop_loaded_score(h->m, &h->d, &h->c, h->t, h->target, out);
}

/* The cut row of a customer id, or PROMO_PANEL_NONE; builds the dictionary on first use. */
static int row_of(promo_scorer *h, const char *id, uint32_t *row)
{
    if (!h->ids) {
        size_t n = h->c.f->n_customers;
        promo_dict *d = promo_dict_new();
        uint32_t *r = promo_mallocn(n ? n : 1, sizeof *r);
        if (!d || !r || promo_dict_reserve(d, n)) {
            promo_dict_free(d);
            promo_free(r);
            return PROMO_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            const char *cid = promo_features_customer_id(h->c.f, i);
            uint32_t code = promo_dict_intern(d, cid, strlen(cid));
            if (code == PROMO_DICT_NONE) {
                promo_dict_free(d);
                promo_free(r);
                return PROMO_ENOMEM;
            }
            r[code] = (uint32_t)i; /* ids are unique: the features are keyed by customer */
        }
        h->ids = d;
        h->row_of = r;
    }
    uint32_t code = promo_dict_find(h->ids, id, strlen(id));
    *row = code == PROMO_DICT_NONE ? PROMO_PANEL_NONE : h->row_of[code];
    return PROMO_OK;
}

/* The error for an unknown customer, with the nearest known id (case, typing) suggested. */
static int not_known(const promo_scorer *h, const char *id)
{
    char near[256] = "";
    if (h && h->ids) {
        size_t nk = promo_dict_size(h->ids);
        const char **keys = promo_mallocn(nk ? nk : 1, sizeof *keys);
        if (keys) {
            for (size_t k = 0; k < nk; k++)
                keys[k] = promo_dict_key(h->ids, (uint32_t)k);
            promo_panel_nearest(keys, nk, id, near, sizeof near);
            promo_free(keys);
        }
    }
    if (near[0])
        return promo_fail(PROMO_ENOTFOUND,
                          "propensity: customer '%s' is not known at the cutoff (did you mean "
                          "'%s'?)",
                          id, near);
    return promo_fail(PROMO_ENOTFOUND, "propensity: customer '%s' is not known at the cutoff", id);
}

int promo_scorer_lookup(promo_scorer *h, const char *customer_id, double *probability)
{
    uint32_t row;
    int rc = need_target(h);
    if (rc || (rc = row_of(h, customer_id, &row)))
        return rc;
    if (row == PROMO_PANEL_NONE)
        return not_known(h, customer_id);
    uint32_t item = h->t.item;
    float w = 1.0f, y = 0.0f;
    promo_panel_rows r = {1, &row, &item, &w, &y};
    return promo_prop_loaded_predict(h->m, &h->d, &h->c, &r, probability);
}

int promo_scorer_explain(promo_scorer *h,
                         const char *const *ids,
                         size_t n,
                         promo_prop_explanation ***out)
{
    *out = NULL;
    promo_prop_explanation **ex = NULL, **found = NULL;
    uint32_t *rows = NULL, *row = NULL;
    int rc = need_target(h);
    if (rc)
        return rc;
    rc = PROMO_ENOMEM;
    if (!(ex = promo_calloc(n ? n : 1, sizeof *ex)) ||
        !(found = promo_calloc(n ? n : 1, sizeof *found)) ||
        !(rows = promo_mallocn(n ? n : 1, sizeof *rows)) ||
        !(row = promo_mallocn(n ? n : 1, sizeof *row)))
        goto done;
    size_t nr = 0;
    for (size_t k = 0; k < n; k++) {
        if ((rc = row_of(h, ids[k], &row[k])))
            goto done;
        if (row[k] != PROMO_PANEL_NONE)
            rows[nr++] = row[k];
    }
    if ((rc = promo_prop_loaded_explain(h->m, &h->d, &h->c, h->t, h->target, rows, nr, found)))
        goto done;
    for (size_t j = 0; j < nr; j++)
        if (h->s)
            promo_prop_currency(h->s, found[j]->currency);
    for (size_t k = 0, j = 0; k < n; k++)
        if (row[k] != PROMO_PANEL_NONE) {
            ex[k] = found[j];
            found[j++] = NULL;
        }
    *out = ex;
    ex = NULL;
    rc = PROMO_OK;
done:
    promo_free(ex); /* only on failure, when every entry is still NULL */
    promo_free(found);
    promo_free(rows);
    promo_free(row);
    return rc;
}

int promo_scorer_explain_one(promo_scorer *h, const char *customer_id, promo_prop_explanation **out)
{
    *out = NULL;
    promo_prop_explanation **ex = NULL;
    int rc = promo_scorer_explain(h, &customer_id, 1, &ex);
    if (rc)
        return rc;
    *out = ex[0];
    promo_free(ex);
    return *out ? PROMO_OK : not_known(h, customer_id);
}

typedef struct ranked {
    double p; /* probability */
    size_t i; /* customer row */
} ranked;

static int by_prob_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

int promo_scorer_top(promo_scorer *h, size_t k, promo_campaign_pick **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    promo_prop_scores *sc = NULL;
    promo_prop_explanation **ex = NULL;
    ranked *rk = NULL;
    uint32_t *rows = NULL;
    promo_campaign_pick *picks = NULL;
    int rc = promo_scorer_score(h, &sc);
    if (rc)
        return rc;
    size_t m = k < sc->n ? k : sc->n;
    rc = PROMO_ENOMEM;
    if (!(rk = promo_mallocn(sc->n ? sc->n : 1, sizeof *rk)) ||
        !(rows = promo_mallocn(m ? m : 1, sizeof *rows)) ||
        !(ex = promo_calloc(m ? m : 1, sizeof *ex)) ||
        !(picks = promo_calloc(m ? m : 1, sizeof *picks)))
        goto done;
    /* Score i is customer row i of the cut (promo_prop_loaded_score keeps the cut's order). */
    for (size_t i = 0; i < sc->n; i++) {
        rk[i].p = sc->probability[i];
        rk[i].i = i;
    }
    qsort(rk, sc->n, sizeof *rk, by_prob_desc);
    for (size_t j = 0; j < m; j++)
        rows[j] = (uint32_t)rk[j].i;
    if ((rc = promo_prop_loaded_explain(h->m, &h->d, &h->c, h->t, h->target, rows, m, ex)))
        goto done;
    char cur[8] = "";
    if (h->s)
        promo_prop_currency(h->s, cur);
    for (size_t j = 0; j < m; j++)
        snprintf(ex[j]->currency, sizeof ex[j]->currency, "%s", cur);
    for (size_t j = 0; j < m; j++) {
        snprintf(picks[j].customer_id, sizeof picks[j].customer_id, "%s", sc->customer_id[rk[j].i]);
        picks[j].probability = rk[j].p;
        promo_explain_line(ex[j], picks[j].reason, sizeof picks[j].reason);
    }
    *out = picks;
    *n = m;
    picks = NULL;
    rc = PROMO_OK;
done:
    if (ex)
        for (size_t j = 0; j < m; j++)
            promo_prop_explanation_free(ex[j]);
    promo_free(ex);
    promo_free(picks);
    promo_free(rows);
    promo_free(rk);
    promo_prop_scores_free(sc);
    return rc;
}

int promo_scorer_score_baseline(promo_scorer *h,
                                const char *target,
                                int model,
                                promo_prop_scores **out)
{
    *out = NULL;
    if (model != PROMO_PROP_POPULARITY && model != PROMO_PROP_RFM)
        return promo_fail(PROMO_EUSAGE, "scorer: baseline must be popularity or rfm");
    if (!target || strlen(target) >= PROMO_PROP_TARGET_MAX)
        return promo_fail(PROMO_EUSAGE, "scorer: no target or target too long");
    promo_panel_target t = {PROMO_PANEL_ANY, PROMO_PANEL_NONE};
    int rc = stored_any(h, target);
    if (!rc)
        rc = promo_panel_target_parse(&h->d, target, &t);
    if (rc)
        return rc;
    promo_panel_rows r;
    memset(&r, 0, sizeof r);
    promo_prop_scores *sc = NULL;
    if ((rc = promo_panel_rows_target(&h->d, &h->c, t, 0, &r)))
        return rc;
    rc = PROMO_ENOMEM;
    if (!(sc = promo_calloc(1, sizeof *sc)) ||
        !(sc->customer_id = promo_calloc(r.n ? r.n : 1, sizeof *sc->customer_id)) ||
        !(sc->probability = promo_mallocn(r.n ? r.n : 1, sizeof *sc->probability)))
        goto done;
    sc->n = r.n;
    if (model == PROMO_PROP_POPULARITY)
        promo_panel_rows_popularity(&h->d, &h->c, t.kind, &r, sc->probability);
    else
        promo_panel_rows_rfm(&h->c, &r, sc->probability);
    const promo_features *f = h->c.f;
    for (size_t i = 0; i < r.n; i++)
        if (!(sc->customer_id[i] = promo_strdup(promo_features_customer_id(f, r.cust[i]))))
            goto done;
    sc->as_of = h->c.as_of;
    snprintf(sc->target, sizeof sc->target, "%s", target);
    *out = sc;
    sc = NULL;
    rc = PROMO_OK;
done:
    promo_prop_scores_free(sc);
    promo_panel_rows_free(&r);
    return rc;
}
