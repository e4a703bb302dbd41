/* The learner interface (promo/learner.h): a tagged union over promo_gbdt (boosting and forest)
 * and promo_logreg, with one dispatch per call.
 *
 * The checks that depend on the objective (label ranges, n_classes, shapes of the validation
 * set) run here once for every kind, so each kind's own checks see consistent data and a
 * caller gets the same message whichever learner it chose. The buffer format is the
 * learner's own: no wrapper around it, so a file written by promo_gbdt_save stays loadable
 * here and XGBoost (or any JSON tool) still reads a saved gbdt model directly.
 */
#include <math.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/learner.h>

struct promo_learner {
    promo_learner_kind kind;           /* which of the pointers below is set */
    promo_learner_objective objective; /* what it predicts */
    size_t n_features;                 /* columns expected */
    size_t n_outputs;                  /* values per row */
    promo_gbdt *g;                     /* GBDT, FOREST */
    promo_logreg *lr;                  /* LOGREG */
};

/* Classes at most: XGBoost grows a tree per class per round. */
enum { MAX_CLASSES = 1000 };

static const char *const kind_names[PROMO_LEARNER_KIND_COUNT] = {"gbdt", "forest", "logreg"};

promo_learner_params promo_learner_params_default(promo_learner_kind kind)
{
    promo_learner_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.objective = PROMO_LEARNER_BINARY;
    p.gbdt =
        kind == PROMO_LEARNER_FOREST ? promo_gbdt_params_forest() : promo_gbdt_params_default();
    p.logreg = promo_logreg_params_default();
    return p;
}

const char *promo_learner_kind_name(promo_learner_kind kind)
{
    return kind >= 0 && kind < PROMO_LEARNER_KIND_COUNT ? kind_names[kind] : "?";
}

/* Shapes and labels of one set for the objective; n_classes is the training set's. */
static int check_data(const promo_learner_params *p,
                      const promo_learner_data *d,
                      const char *name,
                      size_t n_cols,
                      int n_classes)
{
    if (!d->x || !d->y || d->n_rows == 0 || d->n_cols == 0)
        return promo_fail(PROMO_EUSAGE, "learner: %s set is empty", name);
    if (n_cols && d->n_cols != n_cols)
        return promo_fail(PROMO_EUSAGE, "learner: %s set has %zu columns, training has %zu", name,
                          d->n_cols, n_cols);
    if (p->objective == PROMO_LEARNER_MULTICLASS) {
        if (d->n_classes != n_classes && !(n_cols && d->n_classes == 0))
            return promo_fail(PROMO_EUSAGE, "learner: %s set has n_classes %d, expected %d", name,
                              d->n_classes, n_classes);
    } else if (d->n_classes != 0) {
        return promo_fail(PROMO_EUSAGE, "learner: n_classes %d given for a %s objective",
                          d->n_classes,
                          p->objective == PROMO_LEARNER_BINARY ? "binary" : "regression");
    }
    for (size_t i = 0; i < d->n_rows; i++) {
        float y = d->y[i];
        int ok = p->objective == PROMO_LEARNER_BINARY ? y >= 0.0f && y <= 1.0f
                 : p->objective == PROMO_LEARNER_REGRESSION
                     ? isfinite(y)
                     : y >= 0.0f && y < (float)n_classes && y == floorf(y);
        if (!ok)
            return promo_fail(PROMO_EUSAGE, "learner: %s label %g at row %zu is not %s", name,
                              (double)y, i,
                              p->objective == PROMO_LEARNER_BINARY       ? "in [0, 1]"
                              : p->objective == PROMO_LEARNER_REGRESSION ? "finite"
                                                                         : "a class index");
        if (d->w && !(d->w[i] >= 0.0f && isfinite(d->w[i])))
            return promo_fail(PROMO_EUSAGE,
                              "learner: %s weight at row %zu is negative or not finite", name, i);
    }
    return PROMO_OK;
}

static int check_params(const promo_learner_params *p, const promo_learner_data *train)
{
    if (p->kind < 0 || p->kind >= PROMO_LEARNER_KIND_COUNT)
        return promo_fail(PROMO_EUSAGE, "learner: unknown kind %d", (int)p->kind);
    if (p->objective < 0 || p->objective >= PROMO_LEARNER_OBJECTIVE_COUNT)
        return promo_fail(PROMO_EUSAGE, "learner: unknown objective %d", (int)p->objective);
    if (p->kind == PROMO_LEARNER_LOGREG && p->objective != PROMO_LEARNER_BINARY)
        return promo_fail(PROMO_EUSAGE,
                          "learner: logreg is binary only (use gbdt or forest for regression "
                          "and multi-class)");
    if (p->objective == PROMO_LEARNER_MULTICLASS &&
        (train->n_classes < 2 || train->n_classes > MAX_CLASSES))
        return promo_fail(PROMO_EUSAGE, "learner: multi-class needs n_classes in [2, %d], got %d",
                          MAX_CLASSES, train->n_classes);
    return PROMO_OK;
}

int promo_learner_train(const promo_learner_params *p,
                        const promo_learner_data *train,
                        const promo_learner_data *valid,
                        promo_learner **out)
{
    *out = NULL;
    if (!p || !train)
        return promo_fail(PROMO_EUSAGE, "learner: no parameters or no training set");
    int rc = check_params(p, train);
    if (rc || (rc = check_data(p, train, "training", 0, train->n_classes)) ||
        (valid && (rc = check_data(p, valid, "validation", train->n_cols, train->n_classes))))
        return rc;
    promo_learner *l = promo_calloc(1, sizeof *l);
    if (!l)
        return PROMO_ENOMEM;
    l->kind = p->kind;
    l->objective = p->objective;
    l->n_features = train->n_cols;
    l->n_outputs = p->objective == PROMO_LEARNER_MULTICLASS ? (size_t)train->n_classes : 1;
    if (p->kind == PROMO_LEARNER_LOGREG) {
        rc = promo_logreg_train(&p->logreg, train->x, train->n_rows, train->n_cols, train->y,
                                train->w, &l->lr);
    } else {
        promo_gbdt_params gp = p->gbdt;
        gp.mode = p->kind == PROMO_LEARNER_FOREST ? PROMO_GBDT_FOREST : PROMO_GBDT_BOOST;
        gp.objective = (promo_gbdt_objective)p->objective;
        gp.n_classes = p->objective == PROMO_LEARNER_MULTICLASS ? train->n_classes : 0;
        promo_gbdt_data tr = {train->x, train->n_rows, train->n_cols, train->y, train->w};
        promo_gbdt_data va = {0};
        if (valid)
            va = (promo_gbdt_data){valid->x, valid->n_rows, valid->n_cols, valid->y, valid->w};
        /* A forest is one round: nothing to stop early, so the validation set is not used. */
        int use_valid = valid && p->kind == PROMO_LEARNER_GBDT;
        rc = promo_gbdt_train(&gp, &tr, use_valid ? &va : NULL, &l->g);
    }
    if (rc) {
        promo_learner_free(l);
        return rc;
    }
    *out = l;
    return PROMO_OK;
}

void promo_learner_free(promo_learner *l)
{
    if (!l)
        return;
    promo_gbdt_free(l->g);
    promo_logreg_free(l->lr);
    promo_free(l);
}

int promo_learner_predict(
    promo_learner *l, const float *x, size_t n_rows, size_t n_cols, float *out)
{
    if (!x || !out || n_rows == 0)
        return promo_fail(PROMO_EUSAGE, "learner: nothing to predict");
    if (n_cols != l->n_features)
        return promo_fail(PROMO_EUSAGE, "learner: input has %zu features, the model expects %zu",
                          n_cols, l->n_features);
    if (l->lr)
        return promo_logreg_predict(l->lr, x, n_rows, n_cols, out);
    return promo_gbdt_predict(l->g, x, n_rows, n_cols, 0, out);
}

int promo_learner_save_buffer(promo_learner *l, char **out, size_t *n)
{
    if (l->lr)
        return promo_logreg_save_buffer(l->lr, out, n);
    return promo_gbdt_save_buffer(l->g, out, n);
}

int promo_learner_load_buffer(const void *data, size_t n, promo_learner **out)
{
    *out = NULL;
    /* XGBoost's JSON opens with '{' (no leading space: XGBoost itself dispatches on byte 0). */
    int is_lr = promo_logreg_is_model(data, n),
        is_json = data && n > 0 && *(const char *)data == '{';
    if (!is_lr && !is_json)
        return promo_fail(PROMO_EINPUT,
                          "learner: neither an XGBoost JSON model nor a promo logreg model");
    promo_learner *l = promo_calloc(1, sizeof *l);
    if (!l)
        return PROMO_ENOMEM;
    int rc;
    if (is_lr) {
        rc = promo_logreg_load_buffer(data, n, &l->lr);
        if (!rc) {
            l->kind = PROMO_LEARNER_LOGREG;
            l->objective = PROMO_LEARNER_BINARY;
            promo_logreg_coef(l->lr, &l->n_features);
            l->n_outputs = 1;
        }
    } else {
        rc = promo_gbdt_load_buffer(data, n, &l->g);
        if (!rc) {
            l->kind = promo_gbdt_get_mode(l->g) == PROMO_GBDT_FOREST ? PROMO_LEARNER_FOREST
                                                                     : PROMO_LEARNER_GBDT;
            l->objective = (promo_learner_objective)promo_gbdt_get_objective(l->g);
            l->n_features = promo_gbdt_n_features(l->g);
            l->n_outputs = promo_gbdt_n_outputs(l->g);
        }
    }
    if (rc) {
        promo_learner_free(l);
        return rc;
    }
    *out = l;
    return PROMO_OK;
}

int promo_learner_from_gbdt(promo_gbdt *g, promo_learner **out)
{
    *out = NULL;
    if (!g)
        return promo_fail(PROMO_EUSAGE, "learner: no model");
    promo_learner *l = promo_calloc(1, sizeof *l);
    if (!l) {
        promo_gbdt_free(g);
        return PROMO_ENOMEM;
    }
    l->g = g;
    l->kind =
        promo_gbdt_get_mode(g) == PROMO_GBDT_FOREST ? PROMO_LEARNER_FOREST : PROMO_LEARNER_GBDT;
    l->objective = (promo_learner_objective)promo_gbdt_get_objective(g);
    l->n_features = promo_gbdt_n_features(g);
    l->n_outputs = promo_gbdt_n_outputs(g);
    *out = l;
    return PROMO_OK;
}

promo_learner_kind promo_learner_get_kind(const promo_learner *l)
{
    return l->kind;
}

promo_learner_objective promo_learner_get_objective(const promo_learner *l)
{
    return l->objective;
}

size_t promo_learner_n_features(const promo_learner *l)
{
    return l->n_features;
}

size_t promo_learner_n_outputs(const promo_learner *l)
{
    return l->n_outputs;
}

const char *promo_learner_name(const promo_learner *l)
{
    return promo_learner_kind_name(l->kind);
}

int promo_learner_set_nthread(promo_learner *l, int nthread)
{
    if (nthread < 0)
        return promo_fail(PROMO_EUSAGE, "learner: nthread must be >= 0");
    /* logreg's prediction is a dot product per row; it uses OpenMP's default team. */
    return l->g ? promo_gbdt_set_nthread(l->g, nthread) : PROMO_OK;
}

int promo_learner_set_attr(promo_learner *l, const char *key, const char *value)
{
    return l->lr ? promo_logreg_set_attr(l->lr, key, value) : promo_gbdt_set_attr(l->g, key, value);
}

char *promo_learner_get_attr(promo_learner *l, const char *key)
{
    return l->lr ? promo_logreg_get_attr(l->lr, key) : promo_gbdt_get_attr(l->g, key);
}

promo_gbdt *promo_learner_gbdt(promo_learner *l)
{
    return l->g;
}

const promo_logreg *promo_learner_logreg(const promo_learner *l)
{
    return l->lr;
}
