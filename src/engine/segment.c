/* Customer segments (promo/segment.h): spend tiers, the clustering matrix, k-means and HDBSCAN
 * runs over the workspace's customer features, cluster profiles, personas and the stored
 * `segments` table; and clustering of any numeric CSV.
 *
 * Nothing here recomputes a customer feature: tiers are features.h's spend_tier, profiles are
 * means of its columns, the clustering matrix is a transform of a subset of them. The fitting
 * is kmeans.h's and hdbscan.h's; this file decides what is fitted and how it is read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/hdbscan.h>
#include <promo/kmeans.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/segment.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>

/* ------------------------------------------------------------------------ names ---- */

const char *promo_segment_method_name(int method)
{
    static const char *const names[PROMO_SEGMENT_METHOD_COUNT] = {"kmeans", "hdbscan", "tiers",
                                                                  "personas"};
    return method >= 0 && method < PROMO_SEGMENT_METHOD_COUNT ? names[method] : "unknown";
}

const char *promo_segment_persona_name(int persona)
{
    static const char *const names[PROMO_PERSONA_COUNT] = {"loyal", "regular", "entry",
                                                           "churn-risk"};
    return persona >= 0 && persona < PROMO_PERSONA_COUNT ? names[persona] : "none";
}

promo_segment_params promo_segment_params_default(void)
{
    promo_segment_params p;
    memset(&p, 0, sizeof p);
    p.method = PROMO_SEGMENT_KMEANS;
    p.k_min = 2;
    p.k_max = 8;
    p.silhouette_sample = 5000;
    p.n_init = 4;
    p.seed = 1;
    p.clv = 1;
    return p;
}

/* Column index of a feature, or a PROMO_EINPUT failure. */
static int need_feature(const promo_features *f, const char *name, int *out)
{
    *out = promo_features_column(f, name);
    if (*out < 0)
        return promo_fail(PROMO_EINPUT, "segments: the features have no column '%s'", name);
    return PROMO_OK;
}

/* The clv_<H>d column (its horizon is a feature parameter), or -1. */
static int clv_column(const promo_features *f)
{
    for (size_t j = 0; j < f->n_features; j++)
        if (!strncmp(f->feature_names[j], "clv_", 4))
            return (int)j;
    return -1;
}

static float fx(const promo_features *f, size_t r, int col)
{
    return col < 0 ? NAN : f->X[r * f->n_features + (size_t)col];
}

/* -------------------------------------------------------------------- spend tiers ---- */

/* The (up to) three largest positive entries of v[0..n) (ties by index) and their share of
 * total; returns how many. One pass with an insertion into three slots. */
static size_t top3(const double *v, uint32_t n, double total, uint32_t *idx, double *share)
{
    size_t m = 0;
    for (uint32_t j = 0; j < n; j++) {
        if (!(v[j] > 0))
            continue;
        size_t at = m;
        while (at > 0 && v[j] > v[idx[at - 1]])
            at--;
        if (at >= PROMO_SEGMENT_TOP_CATEGORIES)
            continue;
        size_t last = m < PROMO_SEGMENT_TOP_CATEGORIES ? m : PROMO_SEGMENT_TOP_CATEGORIES - 1;
        for (size_t q = last; q > at; q--)
            idx[q] = idx[q - 1];
        idx[at] = j;
        if (m < PROMO_SEGMENT_TOP_CATEGORIES)
            m++;
    }
    for (size_t q = 0; q < m; q++)
        share[q] = total > 0 ? v[idx[q]] / total : NAN;
    return m;
}

int promo_segment_no_categories(const promo_features *f)
{
    return f->n_categories == 0 ||
           (f->n_categories == 1 && !strcmp(f->category_names[0], "unknown"));
}

int promo_segment_tiers(const promo_features *f, promo_segment_tier out[PROMO_TIER_COUNT])
{
    int c_mon, c_freq, rc;
    if ((rc = need_feature(f, "monetary", &c_mon)) || (rc = need_feature(f, "frequency", &c_freq)))
        return rc;
    uint32_t nc = f->n_categories;
    const promo_csr *ps = &f->interactions[PROMO_IX_SPEND];
    uint32_t np = ps->n_cols;
    double *cat = promo_calloc((size_t)PROMO_TIER_COUNT * (nc ? nc : 1), sizeof *cat);
    double *prod = promo_calloc((size_t)PROMO_TIER_COUNT * (np ? np : 1), sizeof *prod);
    if (!cat || !prod) {
        promo_free(cat);
        promo_free(prod);
        return PROMO_ENOMEM;
    }
    promo_segment_tier t[PROMO_TIER_COUNT];
    memset(t, 0, sizeof t);
    double total = 0;
    for (int k = 0; k < PROMO_TIER_COUNT; k++) {
        t[k].tier = k;
        t[k].spend_min = t[k].spend_max = NAN;
    }
    const promo_csr *cs = &f->category_share;
    for (size_t r = 0; r < f->n_customers; r++) {
        int k = f->spend_tier[r];
        PROMO_ASSERT(k >= 0 && k < PROMO_TIER_COUNT);
        t[k].n_customers++;
        if (!(fx(f, r, c_freq) > 0))
            continue;
        double m = fx(f, r, c_mon);
        t[k].n_buyers++;
        t[k].revenue += m;
        total += m;
        if (isnan(t[k].spend_min) || m < t[k].spend_min)
            t[k].spend_min = m;
        if (isnan(t[k].spend_max) || m > t[k].spend_max)
            t[k].spend_max = m;
        if (r < cs->n_rows)
            for (uint64_t e = cs->row_ptr[r]; e < cs->row_ptr[r + 1]; e++)
                if (cs->col_idx[e] < nc)
                    cat[(size_t)k * nc + cs->col_idx[e]] += (double)cs->values[e] * m;
        if (r < ps->n_rows)
            for (uint64_t e = ps->row_ptr[r]; e < ps->row_ptr[r + 1]; e++)
                if (ps->col_idx[e] < np)
                    prod[(size_t)k * np + ps->col_idx[e]] += (double)ps->values[e];
    }
    for (int k = 0; k < PROMO_TIER_COUNT; k++) {
        t[k].revenue_share = total > 0 ? t[k].revenue / total : NAN;
        t[k].n_top =
            top3(cat + (size_t)k * nc, nc, t[k].revenue, t[k].top_category, t[k].top_share);
        t[k].n_top_products =
            top3(prod + (size_t)k * np, np, t[k].revenue, t[k].top_product, t[k].top_product_share);
    }
    for (int k = 0; k < PROMO_TIER_COUNT; k++)
        out[k] = t[PROMO_TIER_COUNT - 1 - k];
    promo_free(cat);
    promo_free(prod);
    return PROMO_OK;
}

/* ---------------------------------------------------------- the clustering matrix ---- */

const char *const promo_segment_columns[PROMO_SEGMENT_N_COLUMNS] = {
    "log1p(monetary)", "log1p(frequency)",  "recency_days", "log1p(avg_order_value)",
    "ipg_mean_days",   "basket_items",      "n_categories", "n_stores",
    "online_share",    "promo_spend_share", "p_alive",
};

int promo_segment_matrix(const promo_features *f, float **X, uint32_t **rows, size_t *n)
{
    static const char *const src[PROMO_SEGMENT_N_COLUMNS] = {
        "monetary",      "frequency",         "recency_days", "avg_order_value",
        "ipg_mean_days", "basket_items",      "n_categories", "n_stores",
        "online_share",  "promo_spend_share", "p_alive",
    };
    static const int logged[PROMO_SEGMENT_N_COLUMNS] = {1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    *X = NULL;
    *rows = NULL;
    *n = 0;
    int col[PROMO_SEGMENT_N_COLUMNS], c_freq, rc;
    for (int j = 0; j < PROMO_SEGMENT_N_COLUMNS; j++)
        if ((rc = need_feature(f, src[j], &col[j])))
            return rc;
    if ((rc = need_feature(f, "frequency", &c_freq)))
        return rc;
    size_t nb = 0;
    for (size_t r = 0; r < f->n_customers; r++)
        nb += fx(f, r, c_freq) > 0;
    float *x = promo_mallocn((nb ? nb : 1) * PROMO_SEGMENT_N_COLUMNS, sizeof *x);
    uint32_t *rw = promo_mallocn(nb ? nb : 1, sizeof *rw);
    if (!x || !rw) {
        promo_free(x);
        promo_free(rw);
        return PROMO_ENOMEM;
    }
    size_t i = 0;
    for (size_t r = 0; r < f->n_customers; r++) {
        if (!(fx(f, r, c_freq) > 0))
            continue;
        rw[i] = (uint32_t)r;
        for (int j = 0; j < PROMO_SEGMENT_N_COLUMNS; j++) {
            float v = fx(f, r, col[j]);
            if (logged[j] && !isnan(v))
                v = log1pf(v > 0 ? v : 0);
            x[i * PROMO_SEGMENT_N_COLUMNS + (size_t)j] = v;
        }
        i++;
    }
    promo_standardize(x, nb, PROMO_SEGMENT_N_COLUMNS, NULL, NULL);
    *X = x;
    *rows = rw;
    *n = nb;
    return PROMO_OK;
}

/* --------------------------------------------------------- profiles and personas ---- */

/* Running mean that skips NaN. */
typedef struct mean_acc {
    double sum;
    size_t n;
} mean_acc;

static void acc_add(mean_acc *a, double v)
{
    if (!isnan(v)) {
        a->sum += v;
        a->n++;
    }
}

static double acc_mean(const mean_acc *a)
{
    return a->n ? a->sum / (double)a->n : NAN;
}

enum { P_SPEND, P_FREQ, P_REC, P_GAP, P_STORES, P_CATS, P_ONLINE, P_CLV, P_ALIVE, P_COUNT };

void promo_segment_describe(promo_segment_profile *s, const promo_segment_profile *pop)
{
    double m = pop->spend > 0 ? s->spend / pop->spend : NAN;
    const char *spend = isnan(m)    ? "no spend"
                        : m >= 1.5  ? "high spend"
                        : m >= 1.1  ? "above-average spend"
                        : m >= 0.75 ? "average spend"
                        : m >= 0.4  ? "below-average spend"
                                    : "low spend";
    const char *cadence;
    if (!(s->repeat_share >= 0.5) || isnan(s->gap_days))
        cadence = "mostly single orders";
    else if (s->gap_days < 1) /* a log of sessions (MovieLens' ratings): bursts, not weeks */
        cadence = "orders in bursts, several a day";
    else if (s->gap_days <= 10)
        cadence = "shops weekly";
    else if (s->gap_days <= 21)
        cadence = "shops fortnightly";
    else if (s->gap_days <= 45)
        cadence = "shops monthly";
    else if (s->gap_days <= 120)
        cadence = "shops every few months";
    else
        cadence = "shops rarely";
    /* BG/NBD puts P(alive) = 1 on every one-order customer: for a segment of mostly single
     * orders the mean says nothing, so it gets its recency instead; a quiet segment gets its
     * recency too, as "still active" alone would flatter it */
    int single = !(s->repeat_share >= 0.5);
    int quiet = pop->recency_days > 0 && s->recency_days >= 1.5 * pop->recency_days;
    char last[48] = "";
    if (quiet || single || isnan(s->p_alive))
        snprintf(last, sizeof last, ", last order %.0f days ago", s->recency_days);
    if (!isnan(s->p_alive) && !single)
        snprintf(s->description, sizeof s->description, "%s, %s%s, %.0f%% still active", spend,
                 cadence, last, 100 * s->p_alive);
    else
        snprintf(s->description, sizeof s->description, "%s, %s%s", spend, cadence, last);
}

int promo_segment_profiles(const promo_features *f,
                           const uint32_t *rows,
                           const int32_t *labels,
                           size_t n,
                           int n_labels,
                           promo_segment_profile **out,
                           size_t *n_out,
                           promo_segment_profile *pop)
{
    *out = NULL;
    *n_out = 0;
    memset(pop, 0, sizeof *pop);
    static const char *const names[P_COUNT] = {
        "monetary",     "frequency",    "recency_days", "ipg_mean_days", "n_stores",
        "n_categories", "online_share", NULL,           "p_alive",
    };
    int col[P_COUNT], rc;
    for (int j = 0; j < P_COUNT; j++)
        if (j == P_CLV)
            col[j] = clv_column(f);
        else if ((rc = need_feature(f, names[j], &col[j])))
            return rc;
    if (n_labels < 0)
        return promo_fail(PROMO_EUSAGE, "segments: %d labels", n_labels);
    /* slot n_labels = noise, n_labels + 1 = everyone */
    size_t n_slots = (size_t)n_labels + 2;
    mean_acc *acc = promo_calloc(n_slots * P_COUNT, sizeof *acc);
    size_t *size = promo_calloc(n_slots, sizeof *size), *rep = promo_calloc(n_slots, sizeof *rep);
    double *rev = promo_calloc(n_slots, sizeof *rev);
    promo_segment_profile *p = promo_calloc(n_slots, sizeof *p);
    rc = PROMO_ENOMEM;
    if (!acc || !size || !rep || !rev || !p)
        goto done;
    for (size_t i = 0; i < n; i++) {
        int32_t l = labels[i];
        if (l < -1 || l >= n_labels || rows[i] >= f->n_customers) {
            rc = promo_fail(PROMO_EINPUT, "segments: label %d of row %zu out of range", (int)l, i);
            goto done;
        }
        size_t slot[2] = {l < 0 ? (size_t)n_labels : (size_t)l, (size_t)n_labels + 1};
        for (int q = 0; q < 2; q++) {
            size_t sl = slot[q];
            size[sl]++;
            double freq = fx(f, rows[i], col[P_FREQ]);
            rep[sl] += freq >= 2;
            double mon = fx(f, rows[i], col[P_SPEND]);
            if (!isnan(mon))
                rev[sl] += mon;
            for (int j = 0; j < P_COUNT; j++)
                acc_add(&acc[sl * P_COUNT + (size_t)j], fx(f, rows[i], col[j]));
        }
    }
    for (size_t sl = 0; sl < n_slots; sl++) {
        promo_segment_profile *s = &p[sl];
        const mean_acc *a = acc + sl * P_COUNT;
        s->segment = sl < (size_t)n_labels ? (int32_t)sl : sl == (size_t)n_labels ? -1 : -2;
        s->size = size[sl];
        s->size_share = n ? (double)size[sl] / (double)n : NAN;
        s->revenue_share = rev[n_slots - 1] > 0 ? rev[sl] / rev[n_slots - 1] : NAN;
        s->spend = acc_mean(&a[P_SPEND]);
        s->frequency = acc_mean(&a[P_FREQ]);
        s->recency_days = acc_mean(&a[P_REC]);
        s->gap_days = acc_mean(&a[P_GAP]);
        s->n_stores = acc_mean(&a[P_STORES]);
        s->n_categories = acc_mean(&a[P_CATS]);
        s->online_share = acc_mean(&a[P_ONLINE]);
        s->clv = acc_mean(&a[P_CLV]);
        s->p_alive = acc_mean(&a[P_ALIVE]);
        s->repeat_share = size[sl] ? (double)rep[sl] / (double)size[sl] : NAN;
        s->persona = PROMO_PERSONA_NONE;
    }
    *pop = p[n_slots - 1];
    promo_segment_describe(pop, pop);
    size_t m = 0;
    for (size_t sl = 0; sl + 1 < n_slots; sl++)
        if (size[sl]) {
            promo_segment_describe(&p[sl], pop);
            p[m++] = p[sl];
        }
    *out = p;
    *n_out = m;
    p = NULL;
    rc = PROMO_OK;
done:
    promo_free(acc);
    promo_free(size);
    promo_free(rep);
    promo_free(rev);
    promo_free(p);
    return rc;
}

int promo_segment_persona_of(const promo_segment_profile *seg, const promo_segment_profile *pop)
{
    if (seg->segment == -1)
        return PROMO_PERSONA_NONE;
    double r = pop->recency_days > 0 ? seg->recency_days / pop->recency_days : NAN;
    double fr = pop->frequency > 0 ? seg->frequency / pop->frequency : NAN;
    double m = pop->spend > 0 ? seg->spend / pop->spend : NAN;
    if (r >= 1.5 ||
        (!isnan(seg->p_alive) && !isnan(pop->p_alive) && seg->p_alive <= pop->p_alive - 0.15))
        return PROMO_PERSONA_CHURN_RISK;
    if (fr >= 1.5 && m >= 1.25)
        return PROMO_PERSONA_LOYAL;
    if (fr <= 0.5 || m <= 0.4)
        return PROMO_PERSONA_ENTRY;
    return PROMO_PERSONA_REGULAR;
}

void promo_segment_personas(promo_segment_profile *profiles,
                            size_t n,
                            const promo_segment_profile *pop)
{
    for (size_t i = 0; i < n; i++)
        profiles[i].persona = promo_segment_persona_of(&profiles[i], pop);
}

/* ------------------------------------------------------------------ clustering ---- */

/* k-means of x (n x d) with K given or chosen; labels into lab (n). */
static int run_kmeans(const promo_segment_params *p,
                      const float *x,
                      size_t n,
                      size_t d,
                      int32_t *lab,
                      int *k_out,
                      double *inertia,
                      double *silhouette,
                      int *k_min,
                      int *k_max,
                      double **curve_inertia,
                      double **curve_sil)
{
    promo_kmeans_params kp = promo_kmeans_params_default();
    kp.seed = p->seed;
    kp.n_threads = p->n_threads;
    if (p->n_init > 0)
        kp.n_init = p->n_init;
    promo_kmeans *m = NULL;
    promo_kmeans_choice ch;
    memset(&ch, 0, sizeof ch);
    int rc, k = p->k;
    if (n < 2)
        return promo_fail(PROMO_EUSAGE, "segments: %zu rows to cluster; k-means needs 2 at least",
                          n);
    if (k > 0 && (size_t)k > n)
        return promo_fail(PROMO_EUSAGE, "segments: --k %d is more than the %zu rows clustered", k,
                          n);
    if (k <= 0) {
        int lo = p->k_min > 1 ? p->k_min : 2, hi = p->k_max;
        if (p->method == PROMO_SEGMENT_PERSONAS && lo < PROMO_PERSONA_COUNT)
            lo = PROMO_PERSONA_COUNT; /* room for every persona */
        if (hi < lo)
            hi = lo;
        if ((size_t)hi >= n)
            hi = (int)(n - 1);
        if (hi < lo)
            hi = lo = (int)(n < 3 ? 2 : n - 1);
        if ((size_t)lo >= n)
            return promo_fail(PROMO_EUSAGE,
                              "segments: %zu rows are too few to choose K by silhouette", n);
        if ((rc = promo_kmeans_choose_k(&kp, x, n, d, lo, hi, p->silhouette_sample, &ch)))
            return rc;
        k = ch.best_k;
        size_t nk = (size_t)(ch.k_max - ch.k_min + 1);
        *curve_inertia = promo_mallocn(nk, sizeof(double));
        *curve_sil = promo_mallocn(nk, sizeof(double));
        if (!*curve_inertia || !*curve_sil) {
            promo_kmeans_choice_free(&ch);
            return PROMO_ENOMEM;
        }
        memcpy(*curve_inertia, ch.inertia, nk * sizeof(double));
        memcpy(*curve_sil, ch.silhouette, nk * sizeof(double));
        *k_min = ch.k_min;
        *k_max = ch.k_max;
        promo_kmeans_choice_free(&ch);
    }
    kp.k = k;
    if ((rc = promo_kmeans_fit(&kp, x, n, d, &m)))
        return rc;
    for (size_t i = 0; i < n; i++)
        lab[i] = (int32_t)m->labels[i];
    *inertia = m->inertia;
    *silhouette = NAN;
    if (k >= 2 && (size_t)k < n) {
        double s;
        if (!promo_silhouette(x, n, d, m->labels, k, p->silhouette_sample, p->seed, p->n_threads,
                              &s))
            *silhouette = s;
    }
    *k_out = k;
    promo_kmeans_free(m);
    return PROMO_OK;
}

static int run_hdbscan(const promo_segment_params *p,
                       const float *x,
                       size_t n,
                       size_t d,
                       int32_t *lab,
                       float *prob,
                       float *outlier,
                       int *n_clusters)
{
    promo_hdbscan_params hp = promo_hdbscan_params_default();
    hp.n_threads = p->n_threads;
    if (p->min_cluster_size)
        hp.min_cluster_size = p->min_cluster_size;
    /* A density estimate from 10 neighbours is as good as from min_cluster_size (hundreds on
     * a large workspace) and far cheaper: 2.9 s instead of 18.8 s on 100k x 8 rows with
     * clusters of 1,000 (bench/hdbscan.sh); the clusters found were the same. */
    hp.min_samples = hp.min_cluster_size < 10 ? hp.min_cluster_size : 10;
    promo_hdbscan *h = NULL;
    int rc = promo_hdbscan_fit(&hp, x, n, d, &h);
    if (rc)
        return rc;
    memcpy(lab, h->labels, n * sizeof *lab);
    if (prob)
        memcpy(prob, h->probabilities, n * sizeof *prob);
    if (outlier)
        memcpy(outlier, h->outlier_scores, n * sizeof *outlier);
    *n_clusters = h->n_clusters;
    promo_hdbscan_free(h);
    return PROMO_OK;
}

/* --------------------------------------------------------------- the whole run ---- */

void promo_segment_result_free(promo_segment_result *r)
{
    if (!r)
        return;
    promo_features_free(r->f);
    promo_table_free(r->products);
    promo_free(r->segment);
    promo_free(r->clustered);
    promo_free(r->persona);
    promo_free(r->profiles);
    promo_free(r->curve_inertia);
    promo_free(r->curve_silhouette);
    memset(r, 0, sizeof *r);
}

const char *promo_segment_product_name(const promo_segment_result *r, uint32_t row)
{
    const promo_column *name = r->products ? promo_table_column(r->products, "name") : NULL,
                       *id = r->products ? promo_table_column(r->products, "product_id") : NULL;
    if (name && name->type == PROMO_COL_STRING && row < name->n && !promo_column_is_null(name, row))
        return promo_column_str(name, row);
    if (id && id->type == PROMO_COL_STRING && row < id->n)
        return promo_column_str(id, row);
    return "?";
}

/* The day after the last dated transaction (midnight), or 0 when there is none. */
static int64_t default_cutoff(const promo_table *tx)
{
    const promo_column *ts = tx ? promo_table_column(tx, "ts") : NULL;
    if (!ts || ts->type != PROMO_COL_TIMESTAMP)
        return 0;
    int64_t mx = INT64_MIN;
    for (size_t i = 0; i < ts->n; i++)
        if (!promo_column_is_null(ts, i) && ts->i64[i] > mx)
            mx = ts->i64[i];
    return mx == INT64_MIN ? 0 : promo_time_day(mx) + PROMO_PANEL_DAY;
}

int promo_segment_run(promo_store *s, const promo_segment_params *p, promo_segment_result *out)
{
    memset(out, 0, sizeof *out);
    if (p->method < 0 || p->method >= PROMO_SEGMENT_METHOD_COUNT)
        return promo_fail(PROMO_EUSAGE, "segments: unknown method %d", (int)p->method);
    if (p->k < 0)
        return promo_fail(PROMO_EUSAGE, "segments: k must be >= 1 (0 = choose), got %d", p->k);
    promo_panel d;
    memset(&d, 0, sizeof d);
    promo_segment_result r;
    memset(&r, 0, sizeof r);
    r.method = p->method;
    r.inertia = r.silhouette = NAN;
    float *X = NULL, *prob = NULL;
    uint32_t *rows = NULL;
    int32_t *lab = NULL;
    int rc = promo_panel_load_tables(s, p->n_threads, &d);
    if (rc)
        goto fail;
    promo_feature_params fp = promo_feature_params_default();
    fp.as_of = p->as_of ? p->as_of : default_cutoff(d.transactions);
    if (!fp.as_of) {
        rc = promo_fail(PROMO_EINPUT, "segments: no dated transaction to take a cutoff from");
        goto fail;
    }
    fp.products = 0;
    fp.clv = p->clv;
    fp.n_threads = p->n_threads;
    r.as_of = fp.as_of;
    if ((rc = promo_features_compute(&d.in, &fp, &r.f)))
        goto fail;
    r.products = d.products; /* kept for product names */
    d.products = NULL;
    promo_panel_free(&d);
    size_t nc = r.f->n_customers;
    r.segment = promo_mallocn(nc ? nc : 1, sizeof *r.segment);
    r.persona = promo_mallocn(nc ? nc : 1, sizeof *r.persona);
    r.clustered = promo_calloc(nc ? nc : 1, 1);
    if (!r.segment || !r.persona || !r.clustered)
        goto nomem;
    for (size_t i = 0; i < nc; i++) {
        r.segment[i] = -1;
        r.persona[i] = PROMO_PERSONA_NONE;
    }
    size_t n = 0;
    if ((rc = promo_segment_matrix(r.f, &X, &rows, &n)))
        goto fail;
    r.n_clustered = n;
    if (!n) {
        rc = promo_fail(PROMO_EINPUT, "segments: no customer bought anything before the cutoff");
        goto fail;
    }
    if (!(lab = promo_mallocn(n, sizeof *lab)))
        goto nomem;
    for (size_t i = 0; i < n; i++)
        r.clustered[rows[i]] = 1;
    if (p->method == PROMO_SEGMENT_TIERS || p->method == PROMO_SEGMENT_PERSONAS) {
        if ((rc = promo_segment_tiers(r.f, r.tiers)))
            goto fail;
        r.has_tiers = 1;
    }
    if (p->method == PROMO_SEGMENT_TIERS) {
        for (size_t i = 0; i < nc; i++)
            r.segment[i] = r.f->spend_tier[i];
        /* profiles of the tiers over the buyers, VIP first */
        for (size_t i = 0; i < n; i++)
            lab[i] = PROMO_TIER_COUNT - 1 - (int32_t)r.f->spend_tier[rows[i]];
        if ((rc = promo_segment_profiles(r.f, rows, lab, n, PROMO_TIER_COUNT, &r.profiles,
                                         &r.n_profiles, &r.population)))
            goto fail;
        for (size_t q = 0; q < r.n_profiles; q++)
            r.profiles[q].segment = PROMO_TIER_COUNT - 1 - r.profiles[q].segment;
        r.n_segments = PROMO_TIER_COUNT;
        goto ok;
    }
    int k = 0;
    if (p->method == PROMO_SEGMENT_HDBSCAN) {
        promo_segment_params hp = *p;
        if (!hp.min_cluster_size)
            hp.min_cluster_size = n / 100 > 5 ? n / 100 : 5;
        if (!(prob = promo_mallocn(n, sizeof *prob)))
            goto nomem;
        if ((rc = run_hdbscan(&hp, X, n, PROMO_SEGMENT_N_COLUMNS, lab, prob, NULL, &k)))
            goto fail;
        for (size_t i = 0; i < n; i++)
            r.n_noise += lab[i] < 0;
    } else if ((rc =
                    run_kmeans(p, X, n, PROMO_SEGMENT_N_COLUMNS, lab, &k, &r.inertia, &r.silhouette,
                               &r.k_min, &r.k_max, &r.curve_inertia, &r.curve_silhouette))) {
        goto fail;
    }
    r.n_segments = k;
    for (size_t i = 0; i < n; i++)
        r.segment[rows[i]] = lab[i];
    if ((rc = promo_segment_profiles(r.f, rows, lab, n, k, &r.profiles, &r.n_profiles,
                                     &r.population)))
        goto fail;
    if (p->method == PROMO_SEGMENT_PERSONAS) {
        promo_segment_personas(r.profiles, r.n_profiles, &r.population);
        for (size_t i = 0; i < n; i++)
            for (size_t q = 0; q < r.n_profiles; q++)
                if (r.profiles[q].segment == lab[i])
                    r.persona[rows[i]] = r.profiles[q].persona;
    }
ok:
    promo_free(X);
    promo_free(rows);
    promo_free(lab);
    promo_free(prob);
    *out = r;
    return PROMO_OK;
nomem:
    rc = PROMO_ENOMEM;
fail:
    promo_panel_free(&d);
    promo_free(X);
    promo_free(rows);
    promo_free(lab);
    promo_free(prob);
    promo_segment_result_free(&r);
    return rc;
}

/* ------------------------------------------------------------------- storing ---- */

/* New `segments` table with its columns. */
static int segments_table(promo_table **t, promo_column *c[5])
{
    static const char *const names[5] = {"customer_id", "method", "segment", "persona", "as_of"};
    static const promo_col_type types[5] = {PROMO_COL_STRING, PROMO_COL_STRING, PROMO_COL_INT64,
                                            PROMO_COL_STRING, PROMO_COL_TIMESTAMP};
    if (!(*t = promo_table_new("segments")))
        return PROMO_ENOMEM;
    for (int j = 0; j < 5; j++) {
        int rc = promo_table_add_column(*t, names[j], types[j], &c[j]);
        if (rc) {
            promo_table_free(*t);
            *t = NULL;
            return rc;
        }
    }
    return PROMO_OK;
}

static int push_row(promo_column *c[5],
                    const char *id,
                    const char *method,
                    int64_t segment,
                    const char *persona,
                    int has_as_of,
                    int64_t as_of)
{
    int rc;
    if ((rc = promo_column_push_str(c[0], id, strlen(id))) ||
        (rc = promo_column_push_str(c[1], method, strlen(method))) ||
        (rc = promo_column_push_i64(c[2], segment)) ||
        (rc = persona ? promo_column_push_str(c[3], persona, strlen(persona))
                      : promo_column_push_null(c[3])) ||
        (rc = has_as_of ? promo_column_push_i64(c[4], as_of) : promo_column_push_null(c[4])))
        return rc;
    return PROMO_OK;
}

static const char *persona_text(const promo_segment_result *r, size_t i)
{
    if (r->method == PROMO_SEGMENT_TIERS)
        return promo_spend_tier_name(r->segment[i]);
    return r->persona[i] >= 0 ? promo_segment_persona_name(r->persona[i]) : NULL;
}

int promo_segment_table(const promo_segment_result *r, promo_table **out)
{
    *out = NULL;
    promo_table *t = NULL;
    promo_column *c[5];
    int rc = segments_table(&t, c);
    if (rc)
        return rc;
    const char *method = promo_segment_method_name(r->method);
    for (size_t i = 0; i < r->f->n_customers; i++)
        if ((rc = push_row(c, promo_features_customer_id(r->f, i), method, r->segment[i],
                           persona_text(r, i), 1, r->as_of)))
            goto fail;
    if ((rc = promo_table_seal(t)))
        goto fail;
    *out = t;
    return PROMO_OK;
fail:
    promo_table_free(t);
    return rc;
}

int promo_segment_store(promo_store *s, const promo_segment_result *r)
{
    promo_table *old = NULL, *t = NULL;
    promo_column *c[5];
    int rc = segments_table(&t, c);
    if (rc)
        return rc;
    const char *method = promo_segment_method_name(r->method);
    if ((rc = promo_store_begin(s)))
        goto done;
    if (promo_store_has_table(s, "segments")) {
        if ((rc = promo_store_read_table(s, "segments", &old)))
            goto done;
        const promo_column *oc[5];
        static const char *const names[5] = {"customer_id", "method", "segment", "persona",
                                             "as_of"};
        for (int j = 0; j < 5; j++)
            if (!(oc[j] = promo_table_column(old, names[j]))) {
                rc = promo_fail(PROMO_EINPUT, "table segments: no column '%s'", names[j]);
                goto done;
            }
        for (size_t i = 0; i < old->n_rows; i++) {
            if (!strcmp(promo_column_str(oc[1], i), method))
                continue;
            if ((rc = push_row(c, promo_column_str(oc[0], i), promo_column_str(oc[1], i),
                               (int64_t)promo_column_num(oc[2], i),
                               promo_column_is_null(oc[3], i) ? NULL : promo_column_str(oc[3], i),
                               !promo_column_is_null(oc[4], i), oc[4]->i64 ? oc[4]->i64[i] : 0)))
                goto done;
        }
    }
    for (size_t i = 0; i < r->f->n_customers; i++)
        if ((rc = push_row(c, promo_features_customer_id(r->f, i), method, r->segment[i],
                           persona_text(r, i), 1, r->as_of)))
            goto done;
    if ((rc = promo_table_seal(t)) || (rc = promo_store_write_table(s, t)))
        goto done;
    char day[32];
    promo_time_format_cutoff(r->as_of, day, sizeof day);
    char key[64];
    snprintf(key, sizeof key, "segment.%s.as_of", method);
    if ((rc = promo_store_meta_set(s, key, day)) || (rc = promo_store_commit(s)))
        goto done;
done:
    if (rc)
        promo_store_rollback(s);
    promo_table_free(old);
    promo_table_free(t);
    return rc;
}

int promo_segment_truth(promo_store *s, const promo_segment_result *r, int32_t **truth)
{
    static const char *const cols[2] = {"customer_id", "segment_true"};
    static const char *const seg_names[4] = {"frequent", "regular", "occasional", "rare"};
    *truth = NULL;
    if (!promo_store_has_table(s, "truth_customers"))
        return promo_fail(PROMO_ENOTFOUND,
                          "the workspace has no truth_customers (not a generated world)");
    promo_table *t = NULL;
    int rc = promo_store_read_columns(s, "truth_customers", cols, 2, &t);
    if (rc)
        return rc;
    const promo_column *id = promo_table_column(t, "customer_id"),
                       *seg = promo_table_column(t, "segment_true");
    int32_t *tr = promo_mallocn(r->f->n_customers ? r->f->n_customers : 1, sizeof *tr);
    int32_t *by_row = promo_mallocn(t->n_rows ? t->n_rows : 1, sizeof *by_row);
    if (!tr || !by_row || !id || !seg || id->type != PROMO_COL_STRING ||
        seg->type != PROMO_COL_STRING) {
        rc = !tr || !by_row ? PROMO_ENOMEM
                            : promo_fail(PROMO_EINPUT, "truth_customers: bad columns");
        goto done;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *v = promo_column_str(seg, i);
        by_row[i] = -1;
        for (int k = 0; k < 4; k++)
            if (!strcmp(v, seg_names[k]))
                by_row[i] = k;
    }
    /* id -> truth row through the truth table's id dictionary (one row per id) */
    int32_t *by_code = promo_mallocn(promo_dict_size(id->dict) + 1, sizeof *by_code);
    if (!by_code) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (uint32_t k = 0; k < promo_dict_size(id->dict); k++)
        by_code[k] = -1;
    for (size_t i = 0; i < t->n_rows; i++)
        if (!promo_column_is_null(id, i))
            by_code[id->codes[i]] = by_row[i];
    for (size_t i = 0; i < r->f->n_customers; i++) {
        const char *cid = promo_features_customer_id(r->f, i);
        uint32_t k = promo_dict_find(id->dict, cid, strlen(cid));
        tr[i] = k == PROMO_DICT_NONE ? -1 : by_code[k];
    }
    promo_free(by_code);
    *truth = tr;
    tr = NULL;
    rc = PROMO_OK;
done:
    promo_free(tr);
    promo_free(by_row);
    promo_table_free(t);
    return rc;
}

/* ------------------------------------------------------------- any numeric CSV ---- */

void promo_segment_data_free(promo_segment_data *d)
{
    if (!d)
        return;
    for (size_t j = 0; d->names && j < d->d; j++)
        promo_free(d->names[j]);
    promo_free(d->names);
    promo_free(d->X);
    promo_free(d->labels);
    promo_free(d->probability);
    promo_free(d->outlier_score);
    promo_free(d->curve_inertia);
    promo_free(d->curve_silhouette);
    memset(d, 0, sizeof *d);
}

/* The physical line of data row `row` (0-based, after the header) of the file at path, as the
 * reader counts records; 0 when it cannot be found. */
static uint64_t row_line(const char *path, size_t row)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (promo_grow((void **)&buf, &cap, n + got, 1)) {
            n = 0;
            break;
        }
        memcpy(buf + n, chunk, got);
        n += got;
    }
    fclose(fp);
    uint64_t line = 0;
    promo_csv_walker *w = NULL;
    if (n && !promo_csv_walker_new(buf, n, NULL, &w)) {
        promo_csv_record rec;
        size_t k = 0;
        while (promo_csv_walker_next(w, &rec))
            if (k++ == row + 1) {
                line = rec.line;
                break;
            }
    }
    promo_csv_walker_free(w);
    promo_free(buf);
    return line;
}

int promo_segment_data_run(const char *path,
                           const promo_segment_params *p,
                           int standardize,
                           promo_segment_data *out)
{
    memset(out, 0, sizeof *out);
    if (p->method != PROMO_SEGMENT_KMEANS && p->method != PROMO_SEGMENT_HDBSCAN)
        return promo_fail(PROMO_EUSAGE, "--data clusters with kmeans or hdbscan, not %s",
                          promo_segment_method_name(p->method));
    if (p->k < 0)
        return promo_fail(PROMO_EUSAGE, "segments: k must be >= 1 (0 = choose), got %d", p->k);
    promo_segment_data r;
    memset(&r, 0, sizeof r);
    r.inertia = r.silhouette = NAN;
    promo_table *t = NULL;
    promo_csv_column *want = NULL;
    int rc = promo_csv_read(path, NULL, &t, NULL);
    if (rc)
        goto fail;
    int bad = 0;
    for (size_t j = 0; j < t->n_cols; j++)
        bad |= t->cols[j]->type != PROMO_COL_INT64 && t->cols[j]->type != PROMO_COL_FLOAT64;
    if (bad) {
        /* Read again with every column a number: the reader names the first bad field. */
        if (!(want = promo_mallocn(t->n_cols, sizeof *want)))
            goto nomem;
        for (size_t j = 0; j < t->n_cols; j++)
            want[j] = (promo_csv_column){t->cols[j]->name, PROMO_COL_FLOAT64, 1};
        promo_csv_options o = promo_csv_options_default();
        o.columns = want;
        o.n_columns = t->n_cols;
        promo_table *t2 = NULL;
        rc = promo_csv_read(path, &o, &t2, NULL);
        promo_table_free(t2);
        if (!rc) /* e.g. a column of empty fields only: numbers, but none given */
            for (size_t j = 0; j < t->n_cols && !rc; j++)
                if (t->cols[j]->type != PROMO_COL_INT64 && t->cols[j]->type != PROMO_COL_FLOAT64)
                    rc = promo_fail(PROMO_EINPUT, "%s: column '%s' has no numeric value", path,
                                    t->cols[j]->name);
        goto fail;
    }
    r.n = t->n_rows;
    r.d = t->n_cols;
    if (!r.n || !r.d) {
        rc = promo_fail(PROMO_EINPUT, "%s: no data rows", path);
        goto fail;
    }
    r.names = promo_calloc(r.d, sizeof *r.names);
    r.X = promo_mallocn(r.n * r.d, sizeof *r.X);
    r.labels = promo_mallocn(r.n, sizeof *r.labels);
    if (!r.names || !r.X || !r.labels)
        goto nomem;
    for (size_t j = 0; j < r.d; j++) {
        const promo_column *c = t->cols[j];
        if (!(r.names[j] = promo_strdup(c->name)))
            goto nomem;
        for (size_t i = 0; i < r.n; i++) {
            if (promo_column_is_null(c, i)) {
                rc = promo_fail(PROMO_EINPUT, "%s:%llu:%zu: column '%s': missing value", path,
                                (unsigned long long)row_line(path, i), j + 1, c->name);
                goto fail;
            }
            double v = promo_column_num(c, i);
            if (!isfinite((float)v)) {
                rc = promo_fail(PROMO_EINPUT, "%s:%llu:%zu: column '%s': %g does not fit a float",
                                path, (unsigned long long)row_line(path, i), j + 1, c->name, v);
                goto fail;
            }
            r.X[i * r.d + j] = (float)v;
        }
    }
    promo_table_free(t);
    t = NULL;
    if (standardize)
        promo_standardize(r.X, r.n, r.d, NULL, NULL);
    if (p->method == PROMO_SEGMENT_KMEANS) {
        if ((rc = run_kmeans(p, r.X, r.n, r.d, r.labels, &r.n_clusters, &r.inertia, &r.silhouette,
                             &r.k_min, &r.k_max, &r.curve_inertia, &r.curve_silhouette)))
            goto fail;
    } else {
        promo_segment_params hp = *p;
        if (!hp.min_cluster_size)
            hp.min_cluster_size = 5;
        r.probability = promo_mallocn(r.n, sizeof *r.probability);
        r.outlier_score = promo_mallocn(r.n, sizeof *r.outlier_score);
        if (!r.probability || !r.outlier_score)
            goto nomem;
        if ((rc = run_hdbscan(&hp, r.X, r.n, r.d, r.labels, r.probability, r.outlier_score,
                              &r.n_clusters)))
            goto fail;
    }
    promo_free(want);
    *out = r;
    return PROMO_OK;
nomem:
    rc = PROMO_ENOMEM;
fail:
    promo_free(want);
    promo_table_free(t);
    promo_segment_data_free(&r);
    return rc;
}
