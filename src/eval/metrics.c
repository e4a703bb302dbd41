/* Binary-score metrics: ROC AUC, average precision, log loss, Brier, @K metrics, lift,
 * reliability.
 *
 * Every ranking metric works on the scores sorted once in descending order and grouped into
 * blocks of equal score. A block is indivisible: its positives are spread evenly over its
 * positions, which is the expectation over a random order within the block. This gives the
 * Mann-Whitney AUC with average ranks, scikit-learn's average precision (one threshold per
 * distinct score), and @K figures that do not depend on input order.
 */
#include <math.h>
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/metrics.h>

const size_t promo_metrics_k[PROMO_METRICS_N_K] = {50, 100, 500};

typedef struct scored {
    double s;  /* score */
    uint8_t y; /* label */
} scored;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

static int check_inputs(const double *score, const uint8_t *label, size_t n, int need_prob)
{
    if (n == 0)
        return promo_fail(PROMO_EUSAGE, "metrics: no rows");
    if (!score || !label)
        return promo_fail(PROMO_EUSAGE, "metrics: NULL scores or labels");
    for (size_t i = 0; i < n; i++) {
        if (label[i] > 1)
            return promo_fail(PROMO_EUSAGE, "metrics: label %u at row %zu is not 0 or 1",
                              (unsigned)label[i], i);
        if (isnan(score[i]))
            return promo_fail(PROMO_EUSAGE, "metrics: score at row %zu is NaN", i);
        if (need_prob && !(score[i] >= 0.0 && score[i] <= 1.0))
            return promo_fail(PROMO_EUSAGE, "metrics: probability %g at row %zu is outside [0, 1]",
                              score[i], i);
    }
    return PROMO_OK;
}

/* Sorted copy; counts positives. */
static int sort_scores(
    const double *score, const uint8_t *label, size_t n, int need_prob, scored **out, size_t *n_pos)
{
    int rc = check_inputs(score, label, n, need_prob);
    if (rc)
        return rc;
    scored *v = promo_mallocn(n, sizeof *v);
    if (!v)
        return PROMO_ENOMEM;
    size_t p = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = score[i];
        v[i].y = label[i];
        p += label[i];
    }
    qsort(v, n, sizeof *v, by_score_desc);
    *out = v;
    *n_pos = p;
    return PROMO_OK;
}

/* End (exclusive) of the block of equal scores starting at i; its positives in *pos. */
static size_t block_end(const scored *v, size_t n, size_t i, size_t *pos)
{
    size_t j = i, p = 0;
    while (j < n && v[j].s == v[i].s) {
        p += v[j].y;
        j++;
    }
    *pos = p;
    return j;
}

static double auc_sorted(const scored *v, size_t n, size_t n_pos)
{
    size_t n_neg = n - n_pos;
    if (n_pos == 0 || n_neg == 0)
        return NAN;
    double u = 0.0;
    size_t neg_above = 0;
    for (size_t i = 0; i < n;) {
        size_t p;
        size_t j = block_end(v, n, i, &p);
        size_t q = (j - i) - p;
        /* Positives here beat every negative below the block and tie with those inside. */
        u += (double)p * (double)(n_neg - neg_above - q) + 0.5 * (double)p * (double)q;
        neg_above += q;
        i = j;
    }
    return u / ((double)n_pos * (double)n_neg);
}

static double ap_sorted(const scored *v, size_t n, size_t n_pos)
{
    if (n_pos == 0)
        return NAN;
    double ap = 0.0;
    size_t tp = 0;
    for (size_t i = 0; i < n;) {
        size_t p;
        size_t j = block_end(v, n, i, &p);
        tp += p;
        if (p)
            ap += (double)p / (double)n_pos * ((double)tp / (double)j);
        i = j;
    }
    return ap;
}

/* Expected positives and DCG among the first k positions. */
static void top_k_sorted(const scored *v, size_t n, size_t k, double *hits, double *dcg)
{
    double h = 0.0, d = 0.0;
    for (size_t i = 0; i < n && i < k;) {
        size_t p;
        size_t j = block_end(v, n, i, &p);
        size_t m = j - i;
        size_t take = (j <= k) ? m : k - i;
        double share = (double)p / (double)m;
        h += share * (double)take;
        if (p && dcg) {
            double disc = 0.0;
            for (size_t t = 0; t < take; t++)
                disc += 1.0 / log2((double)(i + t) + 2.0);
            d += share * disc;
        }
        i = j;
    }
    *hits = h;
    if (dcg)
        *dcg = d;
}

static void at_k_sorted(const scored *v,
                        size_t n,
                        size_t n_pos,
                        size_t k,
                        double *precision,
                        double *recall,
                        double *ndcg)
{
    if (k > n)
        k = n;
    double hits, dcg;
    top_k_sorted(v, n, k, &hits, ndcg ? &dcg : NULL);
    if (precision)
        *precision = k ? hits / (double)k : NAN;
    if (recall)
        *recall = n_pos ? hits / (double)n_pos : NAN;
    if (ndcg) {
        double idcg = 0.0;
        size_t m = n_pos < k ? n_pos : k;
        for (size_t t = 0; t < m; t++)
            idcg += 1.0 / log2((double)t + 2.0);
        *ndcg = n_pos ? dcg / idcg : NAN;
    }
}

static size_t frac_rows(size_t n, double frac)
{
    double r = floor(frac * (double)n + 0.5);
    size_t k = r < 1.0 ? 1 : (size_t)r;
    return k > n ? n : k;
}

static double lift_sorted(const scored *v, size_t n, size_t n_pos, double frac)
{
    if (n_pos == 0)
        return NAN;
    size_t k = frac_rows(n, frac);
    double hits;
    top_k_sorted(v, n, k, &hits, NULL);
    return (hits / (double)k) / ((double)n_pos / (double)n);
}

int promo_roc_auc(const double *score, const uint8_t *label, size_t n, double *out)
{
    scored *v = NULL;
    size_t n_pos;
    int rc = sort_scores(score, label, n, 0, &v, &n_pos);
    if (rc)
        return rc;
    *out = auc_sorted(v, n, n_pos);
    promo_free(v);
    return PROMO_OK;
}

int promo_pr_auc(const double *score, const uint8_t *label, size_t n, double *out)
{
    scored *v = NULL;
    size_t n_pos;
    int rc = sort_scores(score, label, n, 0, &v, &n_pos);
    if (rc)
        return rc;
    *out = ap_sorted(v, n, n_pos);
    promo_free(v);
    return PROMO_OK;
}

int promo_log_loss(const double *prob, const uint8_t *label, size_t n, double *out)
{
    int rc = check_inputs(prob, label, n, 1);
    if (rc)
        return rc;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p = prob[i];
        p = p < 1e-15 ? 1e-15 : (p > 1.0 - 1e-15 ? 1.0 - 1e-15 : p);
        s -= label[i] ? log(p) : log1p(-p);
    }
    *out = s / (double)n;
    return PROMO_OK;
}

int promo_brier(const double *prob, const uint8_t *label, size_t n, double *out)
{
    int rc = check_inputs(prob, label, n, 1);
    if (rc)
        return rc;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = prob[i] - (double)label[i];
        s += d * d;
    }
    *out = s / (double)n;
    return PROMO_OK;
}

int promo_at_k(const double *score,
               const uint8_t *label,
               size_t n,
               size_t k,
               double *precision,
               double *recall,
               double *ndcg)
{
    if (k == 0)
        return promo_fail(PROMO_EUSAGE, "metrics: K must be at least 1");
    scored *v = NULL;
    size_t n_pos;
    int rc = sort_scores(score, label, n, 0, &v, &n_pos);
    if (rc)
        return rc;
    at_k_sorted(v, n, n_pos, k, precision, recall, ndcg);
    promo_free(v);
    return PROMO_OK;
}

int promo_lift_at(const double *score, const uint8_t *label, size_t n, double frac, double *out)
{
    if (!(frac > 0.0 && frac <= 1.0))
        return promo_fail(PROMO_EUSAGE, "metrics: lift fraction %g is not in (0, 1]", frac);
    scored *v = NULL;
    size_t n_pos;
    int rc = sort_scores(score, label, n, 0, &v, &n_pos);
    if (rc)
        return rc;
    *out = lift_sorted(v, n, n_pos, frac);
    promo_free(v);
    return PROMO_OK;
}

int promo_reliability(const double *prob,
                      const uint8_t *label,
                      size_t n,
                      size_t n_bins,
                      double *mean_prob,
                      double *frac_pos,
                      size_t *count,
                      double *ece)
{
    if (n_bins == 0)
        return promo_fail(PROMO_EUSAGE, "metrics: reliability needs at least one bin");
    int rc = check_inputs(prob, label, n, 1);
    if (rc)
        return rc;
    double *sp = promo_calloc(n_bins, sizeof *sp);
    double *sy = promo_calloc(n_bins, sizeof *sy);
    size_t *c = promo_calloc(n_bins, sizeof *c);
    if (!sp || !sy || !c) {
        promo_free(sp);
        promo_free(sy);
        promo_free(c);
        return PROMO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(prob[i] * (double)n_bins);
        if (b >= n_bins)
            b = n_bins - 1;
        sp[b] += prob[i];
        sy[b] += label[i];
        c[b]++;
    }
    double e = 0.0;
    for (size_t b = 0; b < n_bins; b++) {
        double mp = c[b] ? sp[b] / (double)c[b] : NAN;
        double fp = c[b] ? sy[b] / (double)c[b] : NAN;
        if (c[b])
            e += (double)c[b] / (double)n * fabs(mp - fp);
        if (mean_prob)
            mean_prob[b] = mp;
        if (frac_pos)
            frac_pos[b] = fp;
        if (count)
            count[b] = c[b];
    }
    if (ece)
        *ece = e;
    promo_free(sp);
    promo_free(sy);
    promo_free(c);
    return PROMO_OK;
}

int promo_pr_curve(const double *score,
                   const uint8_t *label,
                   size_t n,
                   double **recall,
                   double **precision,
                   size_t *n_points)
{
    *recall = NULL;
    *precision = NULL;
    *n_points = 0;
    scored *v = NULL;
    size_t n_pos;
    int rc = sort_scores(score, label, n, 0, &v, &n_pos);
    if (rc)
        return rc;
    size_t m = 0;
    for (size_t i = 0; i < n; m++) {
        size_t p;
        i = block_end(v, n, i, &p);
    }
    double *r = promo_mallocn(m, sizeof *r);
    double *pr = promo_mallocn(m, sizeof *pr);
    if (!r || !pr) {
        promo_free(r);
        promo_free(pr);
        promo_free(v);
        return PROMO_ENOMEM;
    }
    size_t tp = 0, t = 0;
    for (size_t i = 0; i < n; t++) {
        size_t p;
        size_t j = block_end(v, n, i, &p);
        tp += p;
        r[t] = n_pos ? (double)tp / (double)n_pos : NAN;
        pr[t] = (double)tp / (double)j;
        i = j;
    }
    promo_free(v);
    *recall = r;
    *precision = pr;
    *n_points = m;
    return PROMO_OK;
}

int promo_gains_curve(
    const double *score, const uint8_t *label, size_t n, size_t n_steps, double *gain, double *lift)
{
    if (n_steps == 0)
        return promo_fail(PROMO_EUSAGE, "metrics: gains curve needs at least one step");
    scored *v = NULL;
    size_t n_pos;
    int rc = sort_scores(score, label, n, 0, &v, &n_pos);
    if (rc)
        return rc;
    /* One pass over the blocks, reading the expected hits at each step's cut-off. */
    size_t i = 0, step = 0;
    double hits_before = 0.0; /* expected hits in blocks ending at or before i */
    while (step < n_steps) {
        size_t k = frac_rows(n, (double)(step + 1) / (double)n_steps);
        size_t p = 0, j = i < n ? block_end(v, n, i, &p) : n;
        if (i < n && j <= k) {
            hits_before += (double)p;
            i = j;
            continue;
        }
        double hits = hits_before;
        if (i < n && k > i)
            hits += (double)p * (double)(k - i) / (double)(j - i);
        if (gain)
            gain[step] = n_pos ? hits / (double)n_pos : NAN;
        if (lift)
            lift[step] = n_pos ? (hits / (double)k) / ((double)n_pos / (double)n) : NAN;
        step++;
    }
    promo_free(v);
    return PROMO_OK;
}

int promo_metrics_binary(const double *prob,
                         const uint8_t *label,
                         size_t n,
                         promo_binary_metrics *out)
{
    scored *v = NULL;
    size_t n_pos;
    int rc = sort_scores(prob, label, n, 1, &v, &n_pos);
    if (rc)
        return rc;
    promo_binary_metrics m;
    m.n = n;
    m.n_pos = n_pos;
    m.base_rate = (double)n_pos / (double)n;
    m.auc = auc_sorted(v, n, n_pos);
    m.pr_auc = ap_sorted(v, n, n_pos);
    for (size_t t = 0; t < PROMO_METRICS_N_K; t++)
        at_k_sorted(v, n, n_pos, promo_metrics_k[t], &m.precision_at[t], &m.recall_at[t],
                    &m.ndcg_at[t]);
    m.lift_top_decile = lift_sorted(v, n, n_pos, 0.1);
    promo_free(v);
    if ((rc = promo_log_loss(prob, label, n, &m.log_loss)) ||
        (rc = promo_brier(prob, label, n, &m.brier)) ||
        (rc = promo_reliability(prob, label, n, 10, NULL, NULL, NULL, &m.ece)))
        return rc;
    *out = m;
    return PROMO_OK;
}

/* ---- adjusted Rand index ---- */

typedef struct ari_pair {
    int64_t a, b; /* labels, a negative one replaced by a unique key past every int32 */
} ari_pair;

static int by_pair(const void *x, const void *y)
{
    const ari_pair *p = x, *q = y;
    if (p->a != q->a)
        return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}

static int by_b(const void *x, const void *y)
{
    const ari_pair *p = x, *q = y;
    return (p->b > q->b) - (p->b < q->b);
}

/* Sum of squared run lengths of equal keys along v (sorted by the key `which` looks at). */
static double sum_sq_runs(const ari_pair *v, size_t n, int which)
{
    double s = 0.0;
    size_t run = 1;
    for (size_t i = 1; i <= n; i++) {
        int same = i < n && (which == 0   ? v[i].a == v[i - 1].a
                             : which == 1 ? v[i].b == v[i - 1].b
                                          : v[i].a == v[i - 1].a && v[i].b == v[i - 1].b);
        if (same) {
            run++;
        } else {
            s += (double)run * (double)run;
            run = 1;
        }
    }
    return s;
}

int promo_adjusted_rand_index(const int32_t *a, const int32_t *b, size_t n, double *out)
{
    if (!a || !b || !out || n == 0)
        return promo_fail(PROMO_EUSAGE, "adjusted rand index: NULL arrays or no items");
    ari_pair *v = promo_mallocn(n, sizeof *v);
    if (!v)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i].a = a[i] >= 0 ? a[i] : (int64_t)INT32_MAX + 1 + (int64_t)i;
        v[i].b = b[i] >= 0 ? b[i] : (int64_t)INT32_MAX + 1 + (int64_t)i;
    }
    /* Pair counts (scikit-learn's pair_confusion_matrix): with n_ij the contingency table,
     * sum_sq = sum n_ij^2, tp = sum_sq - n, fp = sum_j n_.j^2 - sum_sq, fn = sum_i n_i.^2 -
     * sum_sq, tn = n^2 - tp - fp - fn - n (ordered pairs). Sums of squares are exact in
     * double up to n = 9e7. */
    qsort(v, n, sizeof *v, by_pair);
    double s_ab = sum_sq_runs(v, n, 2), s_a = sum_sq_runs(v, n, 0);
    qsort(v, n, sizeof *v, by_b);
    double s_b = sum_sq_runs(v, n, 1), nn = (double)n;
    promo_free(v);
    double tp = s_ab - nn, fp = s_b - s_ab, fn = s_a - s_ab;
    double tn = nn * nn - fp - fn - s_ab;
    if (fn == 0.0 && fp == 0.0) {
        *out = 1.0;
        return PROMO_OK;
    }
    long double num = 2.0L * ((long double)tp * tn - (long double)fn * fp);
    long double den = (long double)(tp + fn) * (fn + tn) + (long double)(tp + fp) * (fp + tn);
    *out = (double)(num / den);
    return PROMO_OK;
}
