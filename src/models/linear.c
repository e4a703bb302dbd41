/* L2-regularised logistic regression by Newton's method (IRLS).
 *
 * Each iteration forms the gradient and the Hessian Z' diag(w p (1 - p)) Z + l2 I over fixed
 * blocks of BLOCK rows (in parallel), adds the block results in block order (so the result is
 * the same at any thread count), solves with LAPACKE_dposv (Cholesky) and halves the step
 * until the objective does not increase. Features are standardised first (mean 0, sd 1 over
 * the training rows, constant columns left at 0) and NaN becomes 0 there, i.e. the training
 * mean: the penalty then treats every feature alike, and the Hessian is well conditioned.
 *
 * Saved models are a little-endian binary record (layout in promo/linear.h): the doubles are
 * copied bit for bit, so a reload predicts the same bits with no decimal round trip and no
 * locale, and an FNV-1a checksum over the record catches a flipped byte or a cut file.
 */
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/linear.h>
#include <promo/memguard.h>

#define BLOCK 2048

/* The saved format (promo/linear.h): header, 3d + 1 doubles, checksum. */
#define LR_MAGIC     "PRMLOGR"
#define LR_MAGIC_LEN 8
#define LR_VERSION   1u
#define LR_HEADER    24
#define LR_MAX_D     4096
#define LR_MAX_ATTRS 4096
#define LR_MAX_STR   (1u << 24) /* bytes in one attribute key or value */

struct promo_logreg {
    size_t d;       /* features */
    double *mean;   /* d training means (NaN rows excluded) */
    double *inv_sd; /* d reciprocal standard deviations (0 for a constant column) */
    double *beta;   /* d coefficients on standardised features */
    double b;       /* intercept */
    int iters;      /* Newton iterations run */
    size_t n_attrs; /* string attributes saved with the model, in the order first set */
    char **key;     /* n_attrs keys (owned) */
    char **value;   /* n_attrs values (owned) */
};

promo_logreg_params promo_logreg_params_default(void)
{
    promo_logreg_params p = {1.0, 50, 1e-8, 0};
    return p;
}

static double softplus(double t)
{
    return t > 0.0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static double sigmoid(double t)
{
    if (t >= 0.0)
        return 1.0 / (1.0 + exp(-t));
    double e = exp(t);
    return e / (1.0 + e);
}

double promo_logreg_objective(const double *z,
                              size_t n,
                              size_t d,
                              const float *y,
                              const float *w,
                              double l2,
                              const double *beta,
                              double b,
                              double *grad)
{
    size_t n_blocks = (n + BLOCK - 1) / BLOCK;
    double loss = 0.0;
    if (grad)
        memset(grad, 0, (d + 1) * sizeof *grad);
    /* Serial over blocks in order; each block's sums are local. Blocks keep the summation
     * order identical to the parallel Hessian pass in train. */
    for (size_t k = 0; k < n_blocks; k++) {
        size_t lo = k * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
        double bl = 0.0;
        for (size_t i = lo; i < hi; i++) {
            const double *zi = z + i * d;
            double m = b;
            for (size_t j = 0; j < d; j++)
                m += beta[j] * zi[j];
            double wi = w ? w[i] : 1.0;
            bl += wi * (softplus(m) - y[i] * m);
            if (grad) {
                double r = wi * (sigmoid(m) - y[i]);
                for (size_t j = 0; j < d; j++)
                    grad[j] += r * zi[j];
                grad[d] += r;
            }
        }
        loss += bl;
    }
    double pen = 0.0;
    for (size_t j = 0; j < d; j++) {
        pen += beta[j] * beta[j];
        if (grad)
            grad[j] += l2 * beta[j];
    }
    return loss + 0.5 * l2 * pen;
}

/* Per block: gradient (d+1) and the upper triangle of the Hessian ((d+1)^2, row-major). */
static void block_newton(const double *z,
                         size_t lo,
                         size_t hi,
                         size_t d,
                         const float *y,
                         const float *w,
                         const double *beta,
                         double b,
                         double *g,
                         double *h)
{
    size_t D = d + 1;
    memset(g, 0, D * sizeof *g);
    memset(h, 0, D * D * sizeof *h);
    for (size_t i = lo; i < hi; i++) {
        const double *zi = z + i * d;
        double m = b;
        for (size_t j = 0; j < d; j++)
            m += beta[j] * zi[j];
        double p = sigmoid(m), wi = w ? w[i] : 1.0;
        double r = wi * (p - y[i]), s = wi * p * (1.0 - p);
        for (size_t j = 0; j < d; j++) {
            g[j] += r * zi[j];
            double sj = s * zi[j];
            double *hj = h + j * D;
            for (size_t k = j; k < d; k++)
                hj[k] += sj * zi[k];
            hj[d] += sj;
        }
        g[d] += r;
        h[d * D + d] += s;
    }
}

static int check_xy(const float *x, size_t n, size_t d, const float *y, const float *w)
{
    if (!x || !y || n == 0 || d == 0)
        return promo_fail(PROMO_EUSAGE, "logreg: empty training set");
    if (d > 4096 || n > ((size_t)1 << 40) / d)
        return promo_fail(PROMO_EUSAGE, "logreg: %zu x %zu is too large", n, d);
    for (size_t i = 0; i < n; i++) {
        if (!(y[i] >= 0.0f && y[i] <= 1.0f))
            return promo_fail(PROMO_EUSAGE, "logreg: label %g at row %zu is not in [0, 1]",
                              (double)y[i], i);
        if (w && !(w[i] >= 0.0f && isfinite(w[i])))
            return promo_fail(PROMO_EUSAGE, "logreg: weight at row %zu is negative or not finite",
                              i);
    }
    return PROMO_OK;
}

static void standardise_row(const promo_logreg *m, const float *x, double *z)
{
    for (size_t j = 0; j < m->d; j++) {
        float v = x[j];
        z[j] = isnan(v) ? 0.0 : ((double)v - m->mean[j]) * m->inv_sd[j];
    }
}

int promo_logreg_train(const promo_logreg_params *p,
                       const float *x,
                       size_t n,
                       size_t d,
                       const float *y,
                       const float *w,
                       promo_logreg **out)
{
    *out = NULL;
    if (!(p->l2 >= 0.0) || p->max_iter < 1 || !(p->tol > 0.0) || p->nthread < 0)
        return promo_fail(PROMO_EUSAGE, "logreg: bad parameters (l2 >= 0, max_iter >= 1, tol > 0)");
    int rc = check_xy(x, n, d, y, w);
    if (rc)
        return rc;
    size_t D = d + 1, n_blocks = (n + BLOCK - 1) / BLOCK;
    promo_logreg *m = promo_calloc(1, sizeof *m);
    double *z = NULL, *gb = NULL, *hb = NULL, *g = NULL, *h = NULL, *step = NULL, *trial = NULL;
    if (!m)
        return PROMO_ENOMEM;
    m->d = d;
    m->mean = promo_calloc(d, sizeof *m->mean);
    m->inv_sd = promo_calloc(d, sizeof *m->inv_sd);
    m->beta = promo_calloc(d, sizeof *m->beta);
    z = promo_mallocn(n, d * sizeof *z);
    gb = promo_mallocn(n_blocks, D * sizeof *gb);
    hb = promo_mallocn(n_blocks, D * D * sizeof *hb);
    g = promo_mallocn(D, sizeof *g);
    h = promo_mallocn(D, D * sizeof *h);
    step = promo_mallocn(D, sizeof *step);
    trial = promo_mallocn(D, sizeof *trial);
    if (!m->mean || !m->inv_sd || !m->beta || !z || !gb || !hb || !g || !h || !step || !trial) {
        rc = PROMO_ENOMEM;
        goto done;
    }

    /* Means and standard deviations over the non-missing values (two passes, exact). */
    for (size_t j = 0; j < d; j++) {
        double s = 0.0, c = 0.0;
        for (size_t i = 0; i < n; i++) {
            float v = x[i * d + j];
            if (!isnan(v)) {
                s += v;
                c += 1.0;
            }
        }
        double mu = c > 0.0 ? s / c : 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++) {
            float v = x[i * d + j];
            if (!isnan(v))
                ss += ((double)v - mu) * ((double)v - mu);
        }
        double sd = c > 1.0 ? sqrt(ss / c) : 0.0;
        m->mean[j] = mu;
        m->inv_sd[j] = sd > 1e-12 * (fabs(mu) + 1.0) ? 1.0 / sd : 0.0;
    }
    for (size_t i = 0; i < n; i++)
        standardise_row(m, x + i * d, z + i * d);

    /* Start at the weighted base rate so the first step is small. */
    double sy = 0.0, sw = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        sy += wi * y[i];
        sw += wi;
    }
    double rate = sw > 0.0 ? sy / sw : 0.5;
    rate = rate < 1e-6 ? 1e-6 : (rate > 1.0 - 1e-6 ? 1.0 - 1e-6 : rate);
    m->b = log(rate / (1.0 - rate));
    double f = promo_logreg_objective(z, n, d, y, w, p->l2, m->beta, m->b, NULL);

    int nt = p->nthread > 0 ? p->nthread : omp_get_max_threads();
    for (m->iters = 0; m->iters < p->max_iter; m->iters++) {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (size_t k = 0; k < n_blocks; k++) {
            size_t lo = k * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
            block_newton(z, lo, hi, d, y, w, m->beta, m->b, gb + k * D, hb + k * D * D);
        }
        memset(g, 0, D * sizeof *g);
        memset(h, 0, D * D * sizeof *h);
        for (size_t k = 0; k < n_blocks; k++) {
            for (size_t j = 0; j < D; j++)
                g[j] += gb[k * D + j];
            for (size_t j = 0; j < D * D; j++)
                h[j] += hb[k * D * D + j];
        }
        for (size_t j = 0; j < d; j++) {
            g[j] += p->l2 * m->beta[j];
            h[j * D + j] += p->l2;
        }
        /* A tiny ridge keeps the system positive definite for constant or separable columns. */
        for (size_t j = 0; j < D; j++)
            h[j * D + j] += 1e-10 * (1.0 + h[j * D + j]);
        memcpy(step, g, D * sizeof *g);
        if ((rc = promo_blas_memory_check())) /* OpenBLAS would spin, not fail (memguard.h) */
            goto done;
        lapack_int info =
            LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)D, 1, h, (lapack_int)D, step, 1);
        if (info != 0) {
            rc = promo_fail(PROMO_EMODEL, "logreg: LAPACKE_dposv failed (info %d)", (int)info);
            goto done;
        }
        double t = 1.0, f_new = f, max_step = 0.0;
        for (int halvings = 0; halvings < 40; halvings++, t *= 0.5) {
            for (size_t j = 0; j < D; j++)
                trial[j] = (j < d ? m->beta[j] : m->b) - t * step[j];
            f_new = promo_logreg_objective(z, n, d, y, w, p->l2, trial, trial[d], NULL);
            if (f_new <= f + 1e-12 * fabs(f))
                break;
        }
        if (!(f_new <= f + 1e-12 * fabs(f)))
            break; /* no descent possible: at the optimum to rounding */
        for (size_t j = 0; j < D; j++)
            max_step = fmax(max_step, fabs(t * step[j]));
        memcpy(m->beta, trial, d * sizeof *m->beta);
        m->b = trial[d];
        f = f_new;
        if (max_step < p->tol) {
            m->iters++;
            break;
        }
    }
    *out = m;
    m = NULL;
done:
    promo_logreg_free(m);
    promo_free(z);
    promo_free(gb);
    promo_free(hb);
    promo_free(g);
    promo_free(h);
    promo_free(step);
    promo_free(trial);
    return rc;
}

void promo_logreg_free(promo_logreg *m)
{
    if (!m)
        return;
    promo_free(m->mean);
    promo_free(m->inv_sd);
    promo_free(m->beta);
    for (size_t i = 0; i < m->n_attrs; i++) {
        promo_free(m->key[i]);
        promo_free(m->value[i]);
    }
    promo_free(m->key);
    promo_free(m->value);
    promo_free(m);
}

int promo_logreg_predict(const promo_logreg *m, const float *x, size_t n, size_t d, float *out)
{
    if (d != m->d)
        return promo_fail(PROMO_EUSAGE, "logreg: input has %zu features, the model expects %zu", d,
                          m->d);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        double s = m->b;
        const float *xi = x + i * d;
        for (size_t j = 0; j < d; j++) {
            float v = xi[j];
            if (!isnan(v))
                s += m->beta[j] * ((double)v - m->mean[j]) * m->inv_sd[j];
        }
        out[i] = (float)sigmoid(s);
    }
    return PROMO_OK;
}

const double *promo_logreg_coef(const promo_logreg *m, size_t *d)
{
    *d = m->d;
    return m->beta;
}

double promo_logreg_intercept(const promo_logreg *m)
{
    return m->b;
}

int promo_logreg_iterations(const promo_logreg *m)
{
    return m->iters;
}

/* ---- save and load ---- */

/* FNV-1a, 64 bits: catches a flipped byte or a cut file; not a defence against forgery. */
static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v |= (uint32_t)p[k] << (8 * k);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static void put_f64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_u64(p, u);
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = get_u64(p);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* The record without attributes. */
static size_t lr_size(size_t d)
{
    return LR_HEADER + (3 * d + 1) * 8 + 8;
}

/* ---- attributes ---- */

static const char *find_attr(const promo_logreg *m, const char *key)
{
    for (size_t i = 0; i < m->n_attrs; i++)
        if (!strcmp(m->key[i], key))
            return m->value[i];
    return NULL;
}

/* Append (key, value), taking both strings. */
static int append_attr(promo_logreg *m, char *key, char *value)
{
    char **k = promo_reallocn(m->key, m->n_attrs + 1, sizeof *k);
    if (!k)
        return PROMO_ENOMEM;
    m->key = k;
    char **v = promo_reallocn(m->value, m->n_attrs + 1, sizeof *v);
    if (!v)
        return PROMO_ENOMEM;
    m->value = v;
    m->key[m->n_attrs] = key;
    m->value[m->n_attrs] = value;
    m->n_attrs++;
    return PROMO_OK;
}

int promo_logreg_set_attr(promo_logreg *m, const char *key, const char *value)
{
    if (!key || !*key || strlen(key) > LR_MAX_STR || (value && strlen(value) > LR_MAX_STR))
        return promo_fail(PROMO_EUSAGE, "logreg: attribute name empty or attribute too long");
    for (size_t i = 0; i < m->n_attrs; i++) {
        if (strcmp(m->key[i], key))
            continue;
        if (!value) { /* delete, keeping the order of the rest */
            promo_free(m->key[i]);
            promo_free(m->value[i]);
            memmove(m->key + i, m->key + i + 1, (m->n_attrs - i - 1) * sizeof *m->key);
            memmove(m->value + i, m->value + i + 1, (m->n_attrs - i - 1) * sizeof *m->value);
            m->n_attrs--;
            return PROMO_OK;
        }
        char *v = promo_strdup(value);
        if (!v)
            return PROMO_ENOMEM;
        promo_free(m->value[i]);
        m->value[i] = v;
        return PROMO_OK;
    }
    if (!value)
        return PROMO_OK;
    if (m->n_attrs >= LR_MAX_ATTRS)
        return promo_fail(PROMO_EUSAGE, "logreg: more than %d attributes", LR_MAX_ATTRS);
    char *k = promo_strdup(key), *v = promo_strdup(value);
    int rc = k && v ? append_attr(m, k, v) : PROMO_ENOMEM;
    if (rc) {
        promo_free(k);
        promo_free(v);
    }
    return rc;
}

char *promo_logreg_get_attr(const promo_logreg *m, const char *key)
{
    const char *v = key ? find_attr(m, key) : NULL;
    return v ? promo_strdup(v) : NULL;
}

int promo_logreg_save_buffer(const promo_logreg *m, char **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t len = lr_size(m->d);
    for (size_t i = 0; i < m->n_attrs; i++)
        len += 8 + strlen(m->key[i]) + strlen(m->value[i]);
    unsigned char *b = promo_malloc(len);
    if (!b)
        return PROMO_ENOMEM;
    memcpy(b, LR_MAGIC, LR_MAGIC_LEN); /* the terminating NUL is the eighth byte */
    put_u32(b + 8, LR_VERSION);
    put_u32(b + 12, (uint32_t)m->d);
    put_u32(b + 16, (uint32_t)m->iters);
    put_u32(b + 20, (uint32_t)m->n_attrs);
    unsigned char *p = b + LR_HEADER;
    const double *arrays[3] = {m->mean, m->inv_sd, m->beta};
    for (int a = 0; a < 3; a++)
        for (size_t j = 0; j < m->d; j++, p += 8)
            put_f64(p, arrays[a][j]);
    put_f64(p, m->b);
    p += 8;
    for (size_t i = 0; i < m->n_attrs; i++) {
        const char *str[2] = {m->key[i], m->value[i]};
        for (int k = 0; k < 2; k++) {
            size_t sl = strlen(str[k]);
            put_u32(p, (uint32_t)sl);
            memcpy(p + 4, str[k], sl);
            p += 4 + sl;
        }
    }
    put_u64(p, fnv1a64(b, (size_t)(p - b)));
    *out = (char *)b;
    *n = len;
    return PROMO_OK;
}

int promo_logreg_is_model(const void *data, size_t n)
{
    return data && n >= LR_MAGIC_LEN && memcmp(data, LR_MAGIC, LR_MAGIC_LEN) == 0;
}

int promo_logreg_load_buffer(const void *data, size_t n, promo_logreg **out)
{
    *out = NULL;
    const unsigned char *b = data;
    if (!promo_logreg_is_model(data, n) || n < LR_HEADER + 16)
        return promo_fail(PROMO_EINPUT, "logreg model: not a promo logistic regression");
    uint32_t version = get_u32(b + 8), d = get_u32(b + 12), iters = get_u32(b + 16);
    uint32_t n_attrs = get_u32(b + 20);
    if (version != LR_VERSION)
        return promo_fail(PROMO_EVERSION, "logreg model: format version %u, this build reads %u",
                          version, LR_VERSION);
    if (d < 1 || d > LR_MAX_D || n_attrs > LR_MAX_ATTRS || iters > 1000000)
        return promo_fail(PROMO_EINPUT, "logreg model: bad header (d %u, %u attributes)", d,
                          n_attrs);
    if (n < lr_size(d) + 8 * (size_t)n_attrs)
        return promo_fail(PROMO_EINPUT, "logreg model: %zu bytes, at least %zu expected", n,
                          lr_size(d) + 8 * (size_t)n_attrs);
    if (get_u64(b + n - 8) != fnv1a64(b, n - 8))
        return promo_fail(PROMO_EINPUT, "logreg model: checksum mismatch (damaged)");
    promo_logreg *m = promo_calloc(1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    m->d = d;
    m->iters = (int)iters;
    m->mean = promo_mallocn(d, sizeof *m->mean);
    m->inv_sd = promo_mallocn(d, sizeof *m->inv_sd);
    m->beta = promo_mallocn(d, sizeof *m->beta);
    if (!m->mean || !m->inv_sd || !m->beta) {
        promo_logreg_free(m);
        return PROMO_ENOMEM;
    }
    const unsigned char *p = b + LR_HEADER;
    double *arrays[3] = {m->mean, m->inv_sd, m->beta};
    int ok = 1;
    for (int a = 0; a < 3; a++)
        for (size_t j = 0; j < d; j++, p += 8) {
            arrays[a][j] = get_f64(p);
            ok &= isfinite(arrays[a][j]) && (a != 1 || arrays[a][j] >= 0.0);
        }
    m->b = get_f64(p);
    p += 8;
    if (!ok || !isfinite(m->b)) {
        promo_logreg_free(m);
        return promo_fail(PROMO_EINPUT, "logreg model: a coefficient or scale is not finite");
    }
    /* Attributes: length-prefixed strings, each inside the record, with no NUL, keys unique. */
    const unsigned char *end = b + n - 8;
    int rc = PROMO_OK;
    for (uint32_t i = 0; i < n_attrs && !rc; i++) {
        char *str[2] = {NULL, NULL};
        for (int k = 0; k < 2 && !rc; k++) {
            uint32_t sl = end - p >= 4 ? get_u32(p) : 0;
            if (end - p < 4 || sl > LR_MAX_STR || (size_t)(end - p - 4) < sl ||
                memchr(p + 4, '\0', sl) || (k == 0 && sl == 0))
                rc = promo_fail(PROMO_EINPUT, "logreg model: attribute %u is damaged", i);
            else if (!(str[k] = promo_strndup((const char *)p + 4, sl)))
                rc = PROMO_ENOMEM;
            else
                p += 4 + sl;
        }
        if (!rc && find_attr(m, str[0]))
            rc = promo_fail(PROMO_EINPUT, "logreg model: attribute '%s' repeated", str[0]);
        if (!rc)
            rc = append_attr(m, str[0], str[1]);
        if (rc) {
            promo_free(str[0]);
            promo_free(str[1]);
        }
    }
    if (!rc && p != end)
        rc = promo_fail(PROMO_EINPUT, "logreg model: %zu stray bytes after the attributes",
                        (size_t)(end - p));
    if (rc) {
        promo_logreg_free(m);
        return rc;
    }
    *out = m;
    return PROMO_OK;
}
