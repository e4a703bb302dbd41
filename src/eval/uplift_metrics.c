/* Uplift metrics: uplift and Qini curves, Qini coefficient, AUUC, uplift@k (as scikit-uplift
 * 0.5 defines them; the formulas are in uplift_metrics.h), policy value by IPS and doubly
 * robust estimators, the four groups, incremental ROI, and the uplift/Qini chart.
 *
 * Curves: one sort of (key, row) pairs, descending key, ties by descending row (a stable radix
 * sort of the rows in reverse), which is numpy's argsort(kind="mergesort")[::-1] that sklift
 * uses, so uplift@k cuts a tied block at
 * the same rows as sklift. Then one pass accumulates N_T, Y_T, N_C, Y_C and emits a point at
 * the end of each block of equal keys. The same routine draws the two oracle curves from
 * their oracle keys. Areas are trapezoids over those exact points, as sklearn.metrics.auc;
 * the n_points-sampled curve handed back is only for plots and reports.
 *
 * Departure from sklift: we refuse a set without treated or without control rows (sklift
 * divides by zero and returns NaN with a warning).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/plot.h>
#include <promo/uplift_metrics.h>

const double promo_uplift_at_frac[PROMO_UPLIFT_N_AT] = {0.1, 0.2, 0.3};

/* ---- sorting ---- */

typedef struct keyed {
    uint64_t b; /* the key's bits, mapped so that ascending b = descending key */
    size_t i;   /* row */
} keyed;

/* Order-preserving map of a finite double to 64 bits, reversed (larger key = smaller b);
 * -0.0 and 0.0 are one key, as they compare equal. */
static uint64_t desc_bits(double k)
{
    if (k == 0.0)
        k = 0.0;
    uint64_t u;
    memcpy(&u, &k, sizeof u);
    u = (u >> 63) ? ~u : (u | UINT64_C(0x8000000000000000));
    return ~u;
}

/* Rows sorted by key, descending, ties later row first: an LSD radix sort (8 passes of 8
 * bits, passes where every key has the same byte skipped), stable, fed the rows in reverse,
 * which is numpy's argsort(kind="mergesort")[::-1]. Radix rather than qsort because the
 * metrics sort three times and the CLI evaluates a million rows (qsort: 0.9 s there). */
static keyed *sort_keys(const double *key, size_t n)
{
    keyed *v = promo_mallocn(n, sizeof *v), *tmp = promo_mallocn(n, sizeof *tmp);
    size_t(*cnt)[256] = promo_calloc(8, sizeof *cnt);
    if (!v || !tmp || !cnt) {
        promo_free(v);
        promo_free(tmp);
        promo_free(cnt);
        return NULL;
    }
    for (size_t j = 0; j < n; j++) {
        size_t r = n - 1 - j;
        v[j].b = desc_bits(key[r]);
        v[j].i = r;
        for (int p = 0; p < 8; p++)
            cnt[p][(v[j].b >> (8 * p)) & 0xff]++;
    }
    for (int p = 0; p < 8; p++) {
        size_t *c = cnt[p];
        if (n == 0 || c[(v[0].b >> (8 * p)) & 0xff] == n)
            continue; /* one bucket: the pass would not move anything */
        size_t sum = 0;
        for (int d = 0; d < 256; d++) {
            size_t t = c[d];
            c[d] = sum;
            sum += t;
        }
        for (size_t j = 0; j < n; j++)
            tmp[c[(v[j].b >> (8 * p)) & 0xff]++] = v[j];
        keyed *sw = v;
        v = tmp;
        tmp = sw;
    }
    promo_free(tmp);
    promo_free(cnt);
    return v;
}

/* ---- exact curves ---- */

/* A curve at the block ends: m points (x[0] = 0, values 0), x = rows so far. */
typedef struct points {
    size_t m;
    double *x, *u, *q; /* N, uplift curve U(N), Qini curve Q(N) */
} points;

static void points_free(points *p)
{
    promo_free(p->x);
    promo_free(p->u);
    promo_free(p->q);
    p->x = p->u = p->q = NULL;
    p->m = 0;
}

/* Accumulates the curves over rows in sorted order v. */
static int
curve_points(const keyed *v, const int32_t *treated, const double *y, size_t n, points *out)
{
    points p = {0, NULL, NULL, NULL};
    p.x = promo_mallocn(n + 1, sizeof *p.x);
    p.u = promo_mallocn(n + 1, sizeof *p.u);
    p.q = promo_mallocn(n + 1, sizeof *p.q);
    if (!p.x || !p.u || !p.q) {
        points_free(&p);
        return PROMO_ENOMEM;
    }
    p.x[0] = p.u[0] = p.q[0] = 0.0;
    p.m = 1;
    double nt = 0.0, yt = 0.0, yc = 0.0;
    for (size_t j = 0; j < n; j++) {
        size_t r = v[j].i;
        if (treated[r]) {
            nt += 1.0;
            yt += y[r];
        } else {
            yc += y[r];
        }
        if (j + 1 < n && v[j + 1].b == v[j].b)
            continue; /* inside a block of equal keys: no threshold here */
        double all = (double)(j + 1), nc = all - nt;
        double rt = nt > 0.0 ? yt / nt : 0.0, rc = nc > 0.0 ? yc / nc : 0.0;
        p.x[p.m] = all;
        p.u[p.m] = (rt - rc) * all;
        p.q[p.m] = yt - yc * (nc > 0.0 ? nt / nc : 0.0);
        p.m++;
    }
    *out = p;
    return PROMO_OK;
}

/* Trapezoidal area under (x, c), as sklearn.metrics.auc. */
static double trapz(const double *x, const double *c, size_t m)
{
    double a = 0.0;
    for (size_t j = 1; j < m; j++)
        a += (x[j] - x[j - 1]) * (c[j] + c[j - 1]) * 0.5;
    return a;
}

/* Area above the random line from (0, 0) to the last point. */
static double area_over_random(const double *x, const double *c, size_t m)
{
    return trapz(x, c, m) - 0.5 * x[m - 1] * c[m - 1];
}

/* The curve c linearly interpolated at X = frac * n for each of the k sample points. */
static void sample(const points *p, const double *c, const double *frac, size_t k, double *out)
{
    double n = p->x[p->m - 1];
    size_t s = 0;
    for (size_t j = 0; j < k; j++) {
        double x = frac[j] * n;
        while (s + 2 < p->m && p->x[s + 1] < x)
            s++;
        if (p->m == 1 || x <= p->x[s]) {
            out[j] = c[s];
            continue;
        }
        double x0 = p->x[s], x1 = p->x[s + 1];
        double t = x >= x1 ? 1.0 : (x - x0) / (x1 - x0);
        out[j] = c[s] + t * (c[s + 1] - c[s]);
    }
}

/* ---- evaluate ---- */

static int check_uplift_inputs(
    const double *score, const int32_t *treated, const double *y, size_t n, size_t *n_treated)
{
    if (n == 0)
        return promo_fail(PROMO_EUSAGE, "uplift metrics: no rows");
    if (!score || !treated || !y)
        return promo_fail(PROMO_EUSAGE, "uplift metrics: NULL scores, treatment or outcomes");
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (treated[i] != 0 && treated[i] != 1)
            return promo_fail(PROMO_EUSAGE, "uplift metrics: treatment %d at row %zu is not 0 or 1",
                              (int)treated[i], i);
        if (!isfinite(score[i]))
            return promo_fail(PROMO_EUSAGE, "uplift metrics: score at row %zu is %g", i, score[i]);
        if (!isfinite(y[i]))
            return promo_fail(PROMO_EUSAGE, "uplift metrics: outcome at row %zu is %g", i, y[i]);
        nt += (size_t)treated[i];
    }
    if (nt == 0 || nt == n)
        return promo_fail(PROMO_EUSAGE,
                          "uplift metrics: need treated and control rows (%zu of "
                          "%zu rows treated)",
                          nt, n);
    *n_treated = nt;
    return PROMO_OK;
}

/* Normalised area: sklift's (actual - random) / (perfect - random); NaN on a 0 denominator. */
static double normalised(double actual, double perfect)
{
    return perfect != 0.0 ? actual / perfect : NAN;
}

int promo_uplift_evaluate(const double *score,
                          const int32_t *treated,
                          const double *y,
                          size_t n,
                          size_t n_points,
                          promo_uplift_metrics *out,
                          promo_uplift_curve *curve)
{
    keyed *v = NULL;
    double *key = NULL;
    points p = {0, NULL, NULL, NULL};
    promo_uplift_curve c = {0, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t nt = 0;
    int rc;

    if (!out)
        return promo_fail(PROMO_EUSAGE, "uplift metrics: NULL output");
    if ((rc = check_uplift_inputs(score, treated, y, n, &nt)) != PROMO_OK)
        return rc;
    if (curve && n_points == 0)
        n_points = 101;
    if (curve && n_points < 2)
        return promo_fail(PROMO_EUSAGE, "uplift metrics: a curve needs at least 2 points");

    promo_uplift_metrics m;
    m.n_treated = nt;
    m.n_control = n - nt;
    double st = 0.0, sc = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (treated[i])
            st += y[i];
        else
            sc += y[i];
    }
    m.ate = st / (double)nt - sc / (double)(n - nt);

    if (curve) {
        c.n_points = n_points;
        double **arr[] = {&c.frac,          &c.uplift,       &c.qini,          &c.random_qini,
                          &c.random_uplift, &c.perfect_qini, &c.perfect_uplift};
        for (size_t a = 0; a < sizeof arr / sizeof arr[0]; a++)
            if (!(*arr[a] = promo_mallocn(n_points, sizeof(double)))) {
                rc = PROMO_ENOMEM;
                goto fail;
            }
        for (size_t j = 0; j < n_points; j++)
            c.frac[j] = (double)j / (double)(n_points - 1);
        c.frac[n_points - 1] = 1.0;
    }

    /* The model's ranking. */
    if (!(v = sort_keys(score, n))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (int k = 0; k < PROMO_UPLIFT_N_AT; k++) {
        size_t top = (size_t)((double)n * promo_uplift_at_frac[k]);
        double a = 0.0, b = 0.0, na = 0.0, nb = 0.0;
        for (size_t j = 0; j < top; j++) {
            size_t r = v[j].i;
            if (treated[r]) {
                a += y[r];
                na += 1.0;
            } else {
                b += y[r];
                nb += 1.0;
            }
        }
        m.uplift_at[k] = na > 0.0 && nb > 0.0 ? a / na - b / nb : NAN;
    }
    if ((rc = curve_points(v, treated, y, n, &p)) != PROMO_OK)
        goto fail;
    m.qini_area = area_over_random(p.x, p.q, p.m);
    m.uplift_area = area_over_random(p.x, p.u, p.m);
    if (curve) {
        sample(&p, p.u, c.frac, n_points, c.uplift);
        sample(&p, p.q, c.frac, n_points, c.qini);
        double qn = p.q[p.m - 1], un = p.u[p.m - 1];
        for (size_t j = 0; j < n_points; j++) {
            c.random_qini[j] = c.frac[j] * qn;
            c.random_uplift[j] = c.frac[j] * un;
        }
    }
    points_free(&p);
    promo_free(v);
    v = NULL;

    /* Oracle Qini: treated by outcome descending, control by outcome ascending. */
    if (!(key = promo_mallocn(n, sizeof *key))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        key[i] = treated[i] ? y[i] : -y[i];
    if (!(v = sort_keys(key, n))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    if ((rc = curve_points(v, treated, y, n, &p)) != PROMO_OK)
        goto fail;
    m.qini_coef = normalised(m.qini_area, area_over_random(p.x, p.q, p.m));
    if (curve)
        sample(&p, p.q, c.frac, n_points, c.perfect_qini);
    points_free(&p);
    promo_free(v);
    v = NULL;

    /* Oracle uplift curve: sklift's key 2 * (y == t) + (y or t). */
    size_t ctrl_resp = 0, trt_nonresp = 0;
    for (size_t i = 0; i < n; i++) {
        ctrl_resp += !treated[i] && y[i] == 1.0;
        trt_nonresp += treated[i] && y[i] == 0.0;
    }
    for (size_t i = 0; i < n; i++) {
        double t = (double)treated[i];
        key[i] = 2.0 * (y[i] == t) + (ctrl_resp > trt_nonresp ? y[i] : t);
    }
    if (!(v = sort_keys(key, n))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    if ((rc = curve_points(v, treated, y, n, &p)) != PROMO_OK)
        goto fail;
    m.auuc = normalised(m.uplift_area, area_over_random(p.x, p.u, p.m));
    if (curve)
        sample(&p, p.u, c.frac, n_points, c.perfect_uplift);
    points_free(&p);
    promo_free(v);
    promo_free(key);

    *out = m;
    if (curve)
        *curve = c;
    return PROMO_OK;

fail:
    points_free(&p);
    promo_free(v);
    promo_free(key);
    promo_uplift_curve_free(&c);
    return rc == PROMO_ENOMEM ? promo_fail(rc, "uplift metrics: out of memory") : rc;
}

void promo_uplift_curve_free(promo_uplift_curve *c)
{
    if (!c)
        return;
    promo_free(c->frac);
    promo_free(c->uplift);
    promo_free(c->qini);
    promo_free(c->random_qini);
    promo_free(c->random_uplift);
    promo_free(c->perfect_qini);
    promo_free(c->perfect_uplift);
    *c = (promo_uplift_curve){0, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
}

/* ---- policy value ---- */

/* Mean and 95% normal interval of per-row terms (their sum and sum of squares). */
static void
mean_ci(double sum, double sumsq, size_t n, double *mean, double *lo, double *hi, double *se)
{
    double dn = (double)n, mu = sum / dn;
    double var = (sumsq - dn * mu * mu) / (dn - 1.0);
    double s = sqrt(var > 0.0 ? var / dn : 0.0);
    *mean = mu;
    *se = s;
    *lo = mu - 1.959963984540054 * s;
    *hi = mu + 1.959963984540054 * s;
}

int promo_policy_value_estimate(const int32_t *policy,
                                const int32_t *arm,
                                const double *y,
                                const double *e,
                                const double *mu,
                                size_t n,
                                int n_arms,
                                promo_policy_value *out)
{
    double *share = NULL;
    int rc = PROMO_OK;
    if (!policy || !arm || !y || !out)
        return promo_fail(PROMO_EUSAGE, "policy value: NULL policy, arms, outcomes or output");
    if (n < 2)
        return promo_fail(PROMO_EUSAGE, "policy value: need at least 2 rows, got %zu", n);
    if (n_arms < 2)
        return promo_fail(PROMO_EUSAGE, "policy value: need at least 2 arms, got %d", n_arms);
    size_t k = (size_t)n_arms;
    for (size_t i = 0; i < n; i++) {
        if (arm[i] < 0 || arm[i] >= n_arms || policy[i] < 0 || policy[i] >= n_arms)
            return promo_fail(PROMO_EUSAGE,
                              "policy value: row %zu: arm %d or policy arm %d is not in 0..%d", i,
                              (int)arm[i], (int)policy[i], n_arms - 1);
        if (!isfinite(y[i]))
            return promo_fail(PROMO_EUSAGE, "policy value: outcome at row %zu is %g", i, y[i]);
    }
    if (!e) {
        /* A randomised test: P(arm a) = its share of the rows. */
        if (!(share = promo_calloc(k, sizeof *share)))
            return promo_fail(PROMO_ENOMEM, "policy value: out of memory");
        for (size_t i = 0; i < n; i++)
            share[arm[i]] += 1.0;
        for (size_t a = 0; a < k; a++)
            share[a] /= (double)n;
    }
    double s_ips = 0.0, q_ips = 0.0, s_dr = 0.0, q_dr = 0.0;
    size_t matched = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = (size_t)policy[i];
        double p = e ? e[i * k + a] : share[a];
        if (!(p > 0.0 && p <= 1.0)) {
            rc = promo_fail(PROMO_EUSAGE,
                            "policy value: row %zu: P(arm %zu) = %g: the policy's arm has no "
                            "chance of being logged there (no overlap)",
                            i, a, p);
            goto done;
        }
        int hit = arm[i] == policy[i];
        matched += (size_t)hit;
        double t = hit ? y[i] / p : 0.0;
        s_ips += t;
        q_ips += t * t;
        if (mu) {
            double m = mu[i * k + a];
            if (!isfinite(m)) {
                rc = promo_fail(PROMO_EUSAGE, "policy value: prediction mu[%zu][%zu] is %g", i, a,
                                m);
                goto done;
            }
            double d = m + (hit ? (y[i] - m) / p : 0.0);
            s_dr += d;
            q_dr += d * d;
        }
    }
    promo_policy_value v;
    mean_ci(s_ips, q_ips, n, &v.ips, &v.ips_lo, &v.ips_hi, &v.ips_se);
    if (mu)
        mean_ci(s_dr, q_dr, n, &v.dr, &v.dr_lo, &v.dr_hi, &v.dr_se);
    else
        v.dr = v.dr_lo = v.dr_hi = v.dr_se = NAN;
    v.n_matched = matched;
    *out = v;
done:
    promo_free(share);
    return rc;
}

/* ---- the four groups ---- */

const char *promo_uplift_group_name(int group)
{
    static const char *const names[PROMO_UPLIFT_GROUP_COUNT] = {"persuadables", "sure things",
                                                                "lost causes", "sleeping dogs"};
    return group >= 0 && group < PROMO_UPLIFT_GROUP_COUNT ? names[group] : "?";
}

int promo_uplift_groups(const double *p_treated,
                        const double *p_control,
                        size_t n,
                        double threshold,
                        int32_t *group,
                        size_t counts[4])
{
    if (!p_treated || !p_control || !counts)
        return promo_fail(PROMO_EUSAGE, "uplift groups: NULL predictions or counts");
    if (isnan(threshold))
        threshold = 0.5;
    for (size_t i = 0; i < n; i++)
        if (isnan(p_treated[i]) || isnan(p_control[i]))
            return promo_fail(PROMO_EUSAGE, "uplift groups: prediction at row %zu is NaN", i);
    /* Indexed by (treated high, control high). */
    static const int32_t of[2][2] = {{PROMO_UPLIFT_LOST_CAUSE, PROMO_UPLIFT_SLEEPING_DOG},
                                     {PROMO_UPLIFT_PERSUADABLE, PROMO_UPLIFT_SURE_THING}};
    for (int g = 0; g < 4; g++)
        counts[g] = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t g = of[p_treated[i] >= threshold][p_control[i] >= threshold];
        counts[g]++;
        if (group)
            group[i] = g;
    }
    return PROMO_OK;
}

int promo_uplift_group_profile(
    const double *x, size_t n, size_t d, const int32_t *group, double *mean)
{
    if (!x || !group || !mean)
        return promo_fail(PROMO_EUSAGE, "uplift group profile: NULL argument");
    if (d == 0)
        return PROMO_OK;
    double *cnt = promo_calloc(4 * d, sizeof *cnt);
    if (!cnt)
        return promo_fail(PROMO_ENOMEM, "uplift group profile: out of memory");
    for (size_t j = 0; j < 4 * d; j++)
        mean[j] = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (group[i] < 0 || group[i] >= PROMO_UPLIFT_GROUP_COUNT) {
            promo_free(cnt);
            return promo_fail(PROMO_EUSAGE, "uplift group profile: group %d at row %zu",
                              (int)group[i], i);
        }
        size_t g = (size_t)group[i];
        for (size_t j = 0; j < d; j++) {
            double v = x[i * d + j];
            if (isnan(v))
                continue;
            mean[g * d + j] += v;
            cnt[g * d + j] += 1.0;
        }
    }
    for (size_t j = 0; j < 4 * d; j++)
        mean[j] = cnt[j] > 0.0 ? mean[j] / cnt[j] : NAN;
    promo_free(cnt);
    return PROMO_OK;
}

/* ---- incremental ROI ---- */

int promo_uplift_roi_compute(const promo_uplift_roi_params *p,
                             double n_contacted,
                             double conversions,
                             double incremental,
                             promo_uplift_roi *out)
{
    if (!p || !out)
        return promo_fail(PROMO_EUSAGE, "uplift ROI: NULL parameters or output");
    if (!(p->margin >= 0.0) || !(p->discount_cost >= 0.0) || !(p->contact_cost >= 0.0))
        return promo_fail(PROMO_EUSAGE,
                          "uplift ROI: margin %g, discount cost %g and contact cost %g must be "
                          ">= 0",
                          p->margin, p->discount_cost, p->contact_cost);
    /* The incremental count may be negative (sleeping dogs); the counts may not. */
    if (!(n_contacted >= 0.0) || !(conversions >= 0.0) || !isfinite(incremental))
        return promo_fail(PROMO_EUSAGE,
                          "uplift ROI: contacted %g and conversions %g must be >= 0, incremental "
                          "%g finite",
                          n_contacted, conversions, incremental);
    promo_uplift_roi r;
    r.n_contacted = n_contacted;
    r.conversions = conversions;
    r.incremental = incremental;
    r.incremental_revenue = incremental * p->margin;
    r.discount_total = conversions * p->discount_cost;
    r.contact_total = n_contacted * p->contact_cost;
    r.profit = r.incremental_revenue - r.discount_total - r.contact_total;
    double spent = r.discount_total + r.contact_total;
    r.roi = spent > 0.0 ? r.profit / spent : NAN;
    *out = r;
    return PROMO_OK;
}

int promo_uplift_roi_at(const double *score,
                        const int32_t *treated,
                        const double *y,
                        size_t n,
                        double frac,
                        const promo_uplift_roi_params *p,
                        promo_uplift_roi *out)
{
    size_t nt = 0;
    int rc = check_uplift_inputs(score, treated, y, n, &nt);
    if (rc)
        return rc;
    if (!(frac > 0.0 && frac <= 1.0))
        return promo_fail(PROMO_EUSAGE, "uplift ROI: share %g is not in (0, 1]", frac);
    keyed *v = sort_keys(score, n);
    if (!v)
        return promo_fail(PROMO_ENOMEM, "uplift ROI: out of memory");
    size_t top = (size_t)((double)n * frac);
    double a = 0.0, b = 0.0, na = 0.0, nb = 0.0;
    for (size_t j = 0; j < top; j++) {
        size_t r = v[j].i;
        if (treated[r]) {
            a += y[r];
            na += 1.0;
        } else {
            b += y[r];
            nb += 1.0;
        }
    }
    promo_free(v);
    if (!(na > 0.0 && nb > 0.0))
        return promo_fail(PROMO_EUSAGE,
                          "uplift ROI: the top %zu rows have %g treated and %g control rows; "
                          "need both",
                          top, na, nb);
    double rt = a / na, rc_ = b / nb, dn = (double)top;
    return promo_uplift_roi_compute(p, dn, rt * dn, (rt - rc_) * dn, out);
}

/* ---- chart ---- */

int promo_plot_uplift(const promo_uplift_curve *c, const char *title, const char *path)
{
    if (!c || !c->frac || c->n_points < 2 || !path)
        return promo_fail(PROMO_EUSAGE, "uplift plot: no curve or no path");
    char t[256];
    snprintf(t, sizeof t, "Uplift and Qini curves%s%s", title ? ": " : "", title ? title : "");
    promo_plot p = promo_plot_default();
    p.title = t;
    p.xlabel = "share of customers targeted (by predicted uplift)";
    p.ylabel = "incremental outcome";
    p.xmin = 0.0;
    p.xmax = 1.0;
    size_t m = c->n_points;
    promo_plot_series s[4] = {{"uplift curve", c->frac, c->uplift, m, "lines"},
                              {"uplift, random", c->frac, c->random_uplift, m, "lines"},
                              {"Qini curve", c->frac, c->qini, m, "lines"},
                              {"Qini, random", c->frac, c->random_qini, m, "lines"}};
    return promo_plot_lines(&p, s, 4, path);
}
