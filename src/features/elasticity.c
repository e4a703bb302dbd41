/* Price elasticity by log-log OLS with time controls (see promo/elasticity.h for the model).
 *
 * Observations are bucketed by product (counting sort, stable), each product's regression runs
 * independently (parallel, one result slot per product, so no reduction order to worry about),
 * then each category's pooled fixed-effects regression runs on its products' observations.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/elasticity.h>
#include <promo/error.h>
#include <promo/memguard.h>

#define K_CTRL 3 /* trend, sin, cos */

promo_elasticity_params promo_elasticity_params_default(void)
{
    promo_elasticity_params p;
    p.min_weeks = 12;
    p.min_log_price_sd = 0.01;
    p.n_threads = 0;
    return p;
}

const char *promo_elasticity_source_name(int source)
{
    switch (source) {
    case PROMO_ELASTICITY_OWN:
        return "own";
    case PROMO_ELASTICITY_POOLED:
        return "pooled";
    default:
        return "none";
    }
}

void promo_elasticity_result_free(promo_elasticity_result *r)
{
    if (!r)
        return;
    promo_free(r->product);
    promo_free(r->category);
    memset(r, 0, sizeof *r);
}

static void set_none(promo_elasticity *e)
{
    e->elasticity = NAN;
    e->se = NAN;
    e->n_obs = 0;
    e->source = PROMO_ELASTICITY_NONE;
}

/* Regressors of one observation: log price, then the controls. */
static void regressors(const promo_price_obs *o, double *row)
{
    double ang = 2 * M_PI * o->day_of_year / 365.25;
    row[0] = log(o->price);
    row[1] = o->week / 52.0;
    row[2] = sin(ang);
    row[3] = cos(ang);
}

/* OLS of y on X (n x k, column 0 = log price); coefficient 0 and its SE into *e. dof_extra
 * removes further degrees of freedom (fixed effects). Returns 0, or -1 when singular/too few. */
static int
ols(const double *X, const double *y, size_t n, size_t k, size_t dof_extra, promo_elasticity *e)
{
    if (n <= k + dof_extra + 1)
        return -1;
    gsl_matrix *m = gsl_matrix_alloc(n, k), *cov = gsl_matrix_alloc(k, k);
    gsl_vector *v = gsl_vector_alloc(n), *c = gsl_vector_alloc(k);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, k);
    int rc = -1;
    if (!m || !cov || !v || !c || !w)
        goto done;
    for (size_t i = 0; i < n; i++) {
        gsl_vector_set(v, i, y[i]);
        for (size_t j = 0; j < k; j++)
            gsl_matrix_set(m, i, j, X[i * k + j]);
    }
    double chisq;
    size_t rank;
    /* Near-collinear controls (e.g. one season only) must not blow up the price coefficient:
     * the truncated SVD drops directions with singular values below 1e-10 of the largest. */
    if (gsl_multifit_linear_tsvd(m, v, 1e-10, c, cov, &chisq, &rank, w) != GSL_SUCCESS)
        goto done;
    /* gsl scales cov by chisq / (n - rank); correct for the fixed effects as well. */
    double s = (double)(n - rank) / (double)(n - rank - dof_extra);
    double var = gsl_matrix_get(cov, 0, 0) * s;
    if (!isfinite(gsl_vector_get(c, 0)) || !(var >= 0))
        goto done;
    e->elasticity = gsl_vector_get(c, 0);
    e->se = sqrt(var);
    e->n_obs = (uint32_t)n;
    rc = 0;
done:
    gsl_multifit_linear_free(w);
    gsl_vector_free(c);
    gsl_vector_free(v);
    gsl_matrix_free(cov);
    gsl_matrix_free(m);
    return rc;
}

/* Own regression of one product's observations (intercept + regressors). */
static int fit_product(const promo_price_obs *obs,
                       const uint32_t *idx,
                       size_t n,
                       const promo_elasticity_params *p,
                       promo_elasticity *e)
{
    const size_t k = 2 + K_CTRL;
    double *X = promo_mallocn(n * k + n, sizeof *X);
    if (!X)
        return -1;
    double *y = X + n * k, s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        const promo_price_obs *o = &obs[idx[i]];
        regressors(o, X + i * k);
        X[i * k + 4] = 1.0; /* intercept last, so column 0 stays log price */
        y[i] = log(o->quantity);
        s += X[i * k];
        s2 += X[i * k] * X[i * k];
    }
    double mean = s / (double)n, sd = sqrt(fmax(0, s2 / (double)n - mean * mean));
    int rc = -1;
    if ((int)n >= p->min_weeks && sd >= p->min_log_price_sd)
        rc = ols(X, y, n, k, 0, e);
    promo_free(X);
    if (rc == 0)
        e->source = PROMO_ELASTICITY_OWN;
    return rc;
}

/* Pooled within-product regression over a category's observations, grouped by product. */
static int
fit_category(const promo_price_obs *obs, const uint32_t *idx, size_t n, promo_elasticity *e)
{
    const size_t k = 1 + K_CTRL;
    double *X = promo_mallocn(n * k + n, sizeof *X);
    if (!X)
        return -1;
    double *y = X + n * k;
    size_t groups = 0, m = 0;
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo;
        while (hi < n && obs[idx[hi]].product == obs[idx[lo]].product)
            hi++;
        if (hi - lo >= 2) { /* a single week carries no within-product information */
            double mean[1 + K_CTRL + 1] = {0};
            for (size_t i = lo; i < hi; i++) {
                regressors(&obs[idx[i]], X + (m + i - lo) * k);
                y[m + i - lo] = log(obs[idx[i]].quantity);
                for (size_t j = 0; j < k; j++)
                    mean[j] += X[(m + i - lo) * k + j];
                mean[k] += y[m + i - lo];
            }
            for (size_t i = 0; i < hi - lo; i++) {
                for (size_t j = 0; j < k; j++)
                    X[(m + i) * k + j] -= mean[j] / (double)(hi - lo);
                y[m + i] -= mean[k] / (double)(hi - lo);
            }
            m += hi - lo;
            groups++;
        }
        lo = hi;
    }
    int rc = groups ? ols(X, y, m, k, groups, e) : -1;
    promo_free(X);
    if (rc == 0)
        e->source = PROMO_ELASTICITY_POOLED;
    return rc;
}

int promo_elasticity_fit(const promo_price_obs *obs,
                         size_t n,
                         uint32_t n_products,
                         uint32_t n_categories,
                         const promo_elasticity_params *params,
                         promo_elasticity_result *out)
{
    promo_elasticity_params def = promo_elasticity_params_default();
    const promo_elasticity_params *p = params ? params : &def;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (obs[i].product >= n_products || obs[i].category >= n_categories)
            return promo_fail(PROMO_EUSAGE, "elasticity: observation %zu: index out of range", i);
        if (!(obs[i].quantity > 0) || !(obs[i].price > 0) || !isfinite(obs[i].quantity) ||
            !isfinite(obs[i].price))
            return promo_fail(PROMO_EUSAGE,
                              "elasticity: observation %zu: quantity %g and price %g must be > 0",
                              i, obs[i].quantity, obs[i].price);
    }
    uint32_t *by_prod = promo_mallocn(n ? n : 1, sizeof *by_prod);
    uint32_t *by_cat = promo_mallocn(n ? n : 1, sizeof *by_cat);
    uint64_t *poff = promo_calloc((size_t)n_products + 1, sizeof *poff);
    uint64_t *coff = promo_calloc((size_t)n_categories + 1, sizeof *coff);
    out->product = promo_mallocn(n_products ? n_products : 1, sizeof *out->product);
    out->category = promo_mallocn(n_categories ? n_categories : 1, sizeof *out->category);
    int rc = PROMO_ENOMEM;
    if (!by_prod || !by_cat || !poff || !coff || !out->product || !out->category)
        goto fail;
    out->n_products = n_products;
    out->n_categories = n_categories;
    /* Stable counting sorts: by product, then (stably) by category, giving category-major,
     * product-minor order for the pooled fits. */
    for (size_t i = 0; i < n; i++)
        poff[obs[i].product + 1]++;
    for (uint32_t j = 0; j < n_products; j++)
        poff[j + 1] += poff[j];
    for (size_t i = 0; i < n; i++)
        by_prod[poff[obs[i].product]++] = (uint32_t)i;
    for (uint32_t j = n_products; j > 0; j--)
        poff[j] = poff[j - 1];
    poff[0] = 0;
    for (size_t i = 0; i < n; i++)
        coff[obs[i].category + 1]++;
    for (uint32_t j = 0; j < n_categories; j++)
        coff[j + 1] += coff[j];
    for (size_t i = 0; i < n; i++) {
        uint32_t o = by_prod[i];
        by_cat[coff[obs[o].category]++] = o;
    }
    for (uint32_t j = n_categories; j > 0; j--)
        coff[j] = coff[j - 1];
    coff[0] = 0;
    int nt = p->n_threads > 0 ? p->n_threads : omp_get_max_threads();
    /* Each thread's first fit makes OpenBLAS allocate a work buffer, and a failed one would
     * spin (memguard.h): under an address-space limit, fewer threads, or a clean failure. */
    if (promo_blas_memory_check_for(nt)) {
        promo_clear_error();
        nt = 1;
        if (promo_blas_memory_check_for(1))
            goto fail;
    }
    /* One category at a time: there are few, and a pooled fit costs as much as hundreds of
     * product fits. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (uint32_t c = 0; c < n_categories; c++) {
        set_none(&out->category[c]);
        fit_category(obs, by_cat + coff[c], coff[c + 1] - coff[c], &out->category[c]);
    }
#pragma omp parallel for schedule(dynamic, 64) num_threads(nt)
    for (uint32_t j = 0; j < n_products; j++) {
        promo_elasticity *e = &out->product[j];
        set_none(e);
        size_t m = poff[j + 1] - poff[j];
        if (m == 0)
            continue;
        if (fit_product(obs, by_prod + poff[j], m, p, e) != 0) {
            *e = out->category[obs[by_prod[poff[j]]].category];
            if (e->source != PROMO_ELASTICITY_NONE)
                e->source = PROMO_ELASTICITY_POOLED;
        }
    }
    rc = PROMO_OK;
fail:
    promo_free(by_prod);
    promo_free(by_cat);
    promo_free(poff);
    promo_free(coff);
    if (rc)
        promo_elasticity_result_free(out);
    return rc;
}
