/* Platt scaling and isotonic regression (pool-adjacent-violators) for probability calibration.
 *
 * Platt (1999), on logit(p) rather than an SVM margin: minimise the log-likelihood of
 * sigmoid(a * logit(p) + b) against smoothed targets by Newton's method on (a, b), with step
 * halving. Isotonic: sort by score, pool ties, then PAV in one stack pass (O(n) after the
 * sort); the fitted function keeps two knots per block (its lowest and highest score) so it
 * is flat inside a block and linear between blocks, as scikit-learn does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/calibrate.h>
#include <promo/error.h>

struct promo_calib {
    promo_calib_kind kind;
    double a, b;    /* Platt: p = sigmoid(a * logit(s) + b) */
    size_t n_knots; /* isotonic: knots (x strictly increasing, y non-decreasing) */
    double *x;
    double *y;
};

static const char *const kind_names[PROMO_CALIB_KIND_COUNT] = {"none", "platt", "isotonic"};

const char *promo_calib_kind_name(promo_calib_kind k)
{
    return k >= 0 && k < PROMO_CALIB_KIND_COUNT ? kind_names[k] : "?";
}

int promo_calib_kind_parse(const char *s)
{
    for (int k = 0; k < PROMO_CALIB_KIND_COUNT; k++)
        if (s && !strcmp(s, kind_names[k]))
            return k;
    return -1;
}

promo_calib_kind promo_calib_get_kind(const promo_calib *c)
{
    return c->kind;
}

void promo_calib_free(promo_calib *c)
{
    if (!c)
        return;
    promo_free(c->x);
    promo_free(c->y);
    promo_free(c);
}

static double clamp_logit(double p)
{
    const double eps = 1e-7;
    p = p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
    return log(p / (1.0 - p));
}

static double sigmoid(double t)
{
    if (t >= 0.0)
        return 1.0 / (1.0 + exp(-t));
    double e = exp(t);
    return e / (1.0 + e);
}

static double softplus(double t)
{
    return t > 0.0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static double
platt_loss(const double *f, const double *t, const double *w, size_t n, double a, double b)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double m = a * f[i] + b;
        s += (w ? w[i] : 1.0) * (softplus(m) - t[i] * m);
    }
    return s;
}

static int
fit_platt(const double *prob, const uint8_t *label, const double *w, size_t n, promo_calib *c)
{
    double *f = promo_mallocn(n, sizeof *f), *t = promo_mallocn(n, sizeof *t);
    if (!f || !t) {
        promo_free(f);
        promo_free(t);
        return PROMO_ENOMEM;
    }
    double np = 0.0, nn = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        np += wi * label[i];
        nn += wi * !label[i];
    }
    double hi = (np + 1.0) / (np + 2.0), lo = 1.0 / (nn + 2.0);
    for (size_t i = 0; i < n; i++) {
        f[i] = clamp_logit(prob[i]);
        t[i] = label[i] ? hi : lo;
    }
    double a = 1.0, b = 0.0, L = platt_loss(f, t, w, n, a, b);
    for (int it = 0; it < 100; it++) {
        double g0 = 0.0, g1 = 0.0, h00 = 0.0, h01 = 0.0, h11 = 0.0;
        for (size_t i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            double p = sigmoid(a * f[i] + b), r = wi * (p - t[i]), s = wi * p * (1.0 - p);
            g0 += r * f[i];
            g1 += r;
            h00 += s * f[i] * f[i];
            h01 += s * f[i];
            h11 += s;
        }
        h00 += 1e-12;
        h11 += 1e-12;
        double det = h00 * h11 - h01 * h01;
        if (!(det > 0.0))
            break;
        double da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det;
        double step = 1.0, Ln = L;
        for (int k = 0; k < 40; k++, step *= 0.5) {
            Ln = platt_loss(f, t, w, n, a - step * da, b - step * db);
            if (Ln <= L)
                break;
        }
        if (!(Ln <= L))
            break;
        a -= step * da;
        b -= step * db;
        double moved = fmax(fabs(step * da), fabs(step * db));
        L = Ln;
        if (moved < 1e-10)
            break;
    }
    c->a = a;
    c->b = b;
    promo_free(f);
    promo_free(t);
    return PROMO_OK;
}

typedef struct pt {
    double s; /* score */
    double y; /* label * weight */
    double w; /* weight */
} pt;

static int by_s(const void *p, const void *q)
{
    double a = ((const pt *)p)->s, b = ((const pt *)q)->s;
    return (a > b) - (a < b);
}

static int
fit_isotonic(const double *prob, const uint8_t *label, const double *w, size_t n, promo_calib *c)
{
    pt *v = promo_mallocn(n, sizeof *v);
    /* Blocks on a stack: mean value, total weight, lowest and highest score. */
    double *val = promo_mallocn(n, sizeof *val), *wt = promo_mallocn(n, sizeof *wt);
    double *xlo = promo_mallocn(n, sizeof *xlo), *xhi = promo_mallocn(n, sizeof *xhi);
    int rc = PROMO_OK;
    if (!v || !val || !wt || !xlo || !xhi) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].s = prob[i];
        v[i].w = w ? w[i] : 1.0;
        v[i].y = v[i].w * label[i];
    }
    qsort(v, n, sizeof *v, by_s);
    size_t top = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double sy = 0.0, sw = 0.0;
        while (j < n && v[j].s == v[i].s) {
            sy += v[j].y;
            sw += v[j++].w;
        }
        val[top] = sw > 0.0 ? sy / sw : 0.0;
        wt[top] = sw;
        xlo[top] = xhi[top] = v[i].s;
        top++;
        while (top > 1 && val[top - 2] >= val[top - 1]) {
            /* Merge the violator into its left neighbour (ties merge too: fewer knots). */
            double ws = wt[top - 2] + wt[top - 1];
            if (ws > 0.0)
                val[top - 2] = (val[top - 2] * wt[top - 2] + val[top - 1] * wt[top - 1]) / ws;
            wt[top - 2] = ws;
            xhi[top - 2] = xhi[top - 1];
            top--;
        }
        i = j;
    }
    c->x = promo_mallocn(2 * top, sizeof *c->x);
    c->y = promo_mallocn(2 * top, sizeof *c->y);
    if (!c->x || !c->y) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    size_t k = 0;
    for (size_t b = 0; b < top; b++) {
        c->x[k] = xlo[b];
        c->y[k++] = val[b];
        if (xhi[b] > xlo[b]) {
            c->x[k] = xhi[b];
            c->y[k++] = val[b];
        }
    }
    c->n_knots = k;
done:
    promo_free(v);
    promo_free(val);
    promo_free(wt);
    promo_free(xlo);
    promo_free(xhi);
    return rc;
}

int promo_calib_fit(promo_calib_kind kind,
                    const double *prob,
                    const uint8_t *label,
                    const double *weight,
                    size_t n,
                    promo_calib **out)
{
    *out = NULL;
    if (kind < 0 || kind >= PROMO_CALIB_KIND_COUNT)
        return promo_fail(PROMO_EUSAGE, "calibrate: unknown method %d", (int)kind);
    if (n == 0)
        return promo_fail(PROMO_EUSAGE, "calibrate: no rows to fit on");
    for (size_t i = 0; i < n; i++) {
        if (label[i] > 1)
            return promo_fail(PROMO_EUSAGE, "calibrate: label at row %zu is not 0 or 1", i);
        if (!(prob[i] >= 0.0 && prob[i] <= 1.0))
            return promo_fail(PROMO_EUSAGE,
                              "calibrate: probability %g at row %zu is outside [0, 1]", prob[i], i);
        if (weight && !(weight[i] >= 0.0 && isfinite(weight[i])))
            return promo_fail(PROMO_EUSAGE, "calibrate: weight at row %zu is negative", i);
    }
    promo_calib *c = promo_calloc(1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    c->kind = kind;
    c->a = 1.0;
    int rc = PROMO_OK;
    if (kind == PROMO_CALIB_PLATT)
        rc = fit_platt(prob, label, weight, n, c);
    else if (kind == PROMO_CALIB_ISOTONIC)
        rc = fit_isotonic(prob, label, weight, n, c);
    if (rc) {
        promo_calib_free(c);
        return rc;
    }
    *out = c;
    return PROMO_OK;
}

double promo_calib_one(const promo_calib *c, double p)
{
    if (isnan(p) || !c || c->kind == PROMO_CALIB_NONE)
        return p;
    if (c->kind == PROMO_CALIB_PLATT)
        return sigmoid(c->a * clamp_logit(p) + c->b);
    const double *x = c->x, *y = c->y;
    size_t n = c->n_knots;
    if (p <= x[0])
        return y[0];
    if (p >= x[n - 1])
        return y[n - 1];
    /* Binary search for x[lo] <= p < x[lo + 1]. */
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (x[mid] <= p)
            lo = mid;
        else
            hi = mid;
    }
    double t = (p - x[lo]) / (x[hi] - x[lo]);
    return y[lo] + t * (y[hi] - y[lo]);
}

void promo_calib_apply(const promo_calib *c, const double *in, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = promo_calib_one(c, in[i]);
}

int promo_calib_to_string(const promo_calib *c, char **out)
{
    *out = NULL;
    size_t cap = 64 + (c->kind == PROMO_CALIB_ISOTONIC ? c->n_knots * 52 : 0);
    char *s = promo_malloc(cap);
    if (!s)
        return PROMO_ENOMEM;
    size_t at = 0;
    if (c->kind == PROMO_CALIB_NONE) {
        at = (size_t)snprintf(s, cap, "none");
    } else if (c->kind == PROMO_CALIB_PLATT) {
        at = (size_t)snprintf(s, cap, "platt %.17g %.17g", c->a, c->b);
    } else {
        at = (size_t)snprintf(s, cap, "isotonic %zu", c->n_knots);
        for (size_t k = 0; k < c->n_knots; k++)
            at += (size_t)snprintf(s + at, cap - at, " %.17g %.17g", c->x[k], c->y[k]);
    }
    (void)at;
    *out = s;
    return PROMO_OK;
}

static int read_num(const char **p, double *v)
{
    char *end;
    *v = strtod(*p, &end);
    if (end == *p || !isfinite(*v))
        return -1;
    *p = end;
    return 0;
}

int promo_calib_from_string(const char *s, promo_calib **out)
{
    *out = NULL;
    promo_calib *c = promo_calloc(1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    c->a = 1.0;
    const char *p = s;
    int rc = PROMO_OK;
    if (!strncmp(p, "none", 4) && p[4] == '\0') {
        c->kind = PROMO_CALIB_NONE;
    } else if (!strncmp(p, "platt ", 6)) {
        c->kind = PROMO_CALIB_PLATT;
        p += 6;
        if (read_num(&p, &c->a) || read_num(&p, &c->b) || *p)
            rc = promo_fail(PROMO_EINPUT, "calibration: bad Platt parameters in '%.40s'", s);
    } else if (!strncmp(p, "isotonic ", 9)) {
        c->kind = PROMO_CALIB_ISOTONIC;
        p += 9;
        char *end;
        unsigned long long k = strtoull(p, &end, 10);
        if (end == p || k == 0 || k > 10000000ULL) {
            rc = promo_fail(PROMO_EINPUT, "calibration: bad knot count in '%.40s'", s);
            goto done;
        }
        p = end;
        c->n_knots = (size_t)k;
        c->x = promo_mallocn(c->n_knots, sizeof *c->x);
        c->y = promo_mallocn(c->n_knots, sizeof *c->y);
        if (!c->x || !c->y) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < c->n_knots && !rc; i++) {
            if (read_num(&p, &c->x[i]) || read_num(&p, &c->y[i]) || c->y[i] < 0.0 ||
                c->y[i] > 1.0 || (i > 0 && (c->x[i] <= c->x[i - 1] || c->y[i] < c->y[i - 1])))
                rc = promo_fail(PROMO_EINPUT, "calibration: bad isotonic knot %zu", i);
        }
        if (!rc && *p)
            rc = promo_fail(PROMO_EINPUT, "calibration: trailing text after the knots");
    } else {
        rc = promo_fail(PROMO_EINPUT, "calibration: unknown form '%.40s'", s);
    }
done:
    if (rc) {
        promo_calib_free(c);
        return rc;
    }
    *out = c;
    return PROMO_OK;
}
