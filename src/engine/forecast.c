/* src/engine/forecast.c: campaign forecasts, the response surface and its optimum from the
 * uplift model (include/promo/forecast.h).
 *
 * Point forecasts rest on one cached object per (product, discount): every customer's p0, p1
 * and contact arm, and the customers' order by expected profit (best first, ties by customer
 * index): a partial selection for a short list, else an LSD radix sort of the profits' order-
 * preserving 64-bit images (radix_order). The surface sorts each of its discounts once more,
 * without entries: 16-byte rows (key, p0, p1) into per-thread buffers, a histogram of the keys'
 * top 20 bits merged into cache-sized buckets, one scatter, then each bucket by its own digits
 * (surface_rows): the same order, so the same sums as a point forecast's. The model is called
 * once per (product, anchor discount) while its scores stay in the handle.
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/log.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>
#include <promo/uplift_score.h>

#define DEFAULT_CACHE_BYTES ((size_t)256 << 20)
#define MAX_GRID_DISCOUNTS  91
#define MAX_SLOTS           16 /* score sets kept between calls (forecast.h: Anchors) */
#define SLOT_CAP            MAX_GRID_DISCOUNTS /* ... and during a surface: one per discount */
#define MAX_ANCHORS         64                 /* more distinct log discounts: no anchors */

/* One scored (product, discount). */
typedef struct entry {
    char product[256];
    double discount_pct;
    double price, cost; /* cost 0 when unknown */
    /* Once sorted (entry_sort), stored in profit order (position k = the k-th best customer),
     * so that every walk over the best N reads memory in sequence. */
    double *p0, *p1; /* n: outcome without and with the offer */
    uint8_t *arm;    /* n: contact arm (>= 1) */
    uint32_t *order; /* n: the customer at each position (by expected profit, best first);
                        NULL until sorted: positions are then customer indices */
    size_t bytes;
    uint64_t used; /* LRU clock */
} entry;

/* The model's scores of one (product, anchor discount): what a model call returns. */
typedef struct score_slot {
    char product[256];
    double anchor;
    double price, cost;
    float *effect;  /* n x (arms - 1), NULL = free slot */
    float *outcome; /* n x arms, NULL without outcome models */
    uint64_t used;
} score_slot;

struct promo_forecaster {
    promo_uplift_scorer *h;
    size_t n;                /* customers */
    int n_arms;              /* control included */
    double *contact_cost;    /* n_arms */
    const char **ids;        /* n customer ids, borrowed from the scorer */
    int outcomes;            /* the learner has outcome models */
    double disc_lo, disc_hi; /* the promotions log's discount range */
    entry **cache;
    size_t n_cache, cap_cache;
    size_t cache_bytes, cache_limit;
    uint64_t clock;
    score_slot slots[SLOT_CAP];
    int n_threads;               /* as opened (0 = all) */
    size_t slot_limit;           /* slots kept (MAX_SLOTS; a surface raises it while it runs) */
    double anchors[MAX_ANCHORS]; /* the log's distinct discounts, ascending */
    size_t n_anchors;            /* 0: anchors not usable (see forecast.h) */
    int anchors_on;              /* promo_forecaster_set_anchors (default 1) */
    size_t model_calls;
    /* The log's corrections (forecast.h: Honest terms), PROMO_FORECAST_CORRECT_* bits. */
    unsigned corrections;
    promo_dict *econ_ids; /* products sold in the recent window */
    double *econ_units;   /* per econ_ids code: mean quantity of a purchase line */
    double *econ_price;   /* ... the latest line's unit price (the shelf price now) */
    promo_forecast_discount_response dr;
    promo_dict *hist_ids; /* products of the history window's lines */
    uint32_t *hist_cust;  /* hist_n lines: customer index */
    uint32_t *hist_prod;  /* ... product code in hist_ids */
    size_t hist_n;        /* */
    double hist_days;     /* the window's length */
    float *season;        /* per hist_ids code: the sales of the campaign's days a year ago
                             against those of the history window then (1 without a year) */
    float *base_p0;       /* n: the no-offer rates of base_product (base_rates) */
    char base_product[256];
};

static void slot_clear(score_slot *sl)
{
    promo_free(sl->effect);
    promo_free(sl->outcome);
    memset(sl, 0, sizeof *sl);
}

static void entry_free(entry *e)
{
    if (!e)
        return;
    promo_free(e->p0);
    promo_free(e->p1);
    promo_free(e->arm);
    promo_free(e->order);
    promo_free(e);
}

void promo_forecaster_free(promo_forecaster *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_cache; i++)
        entry_free(f->cache[i]);
    for (size_t i = 0; i < SLOT_CAP; i++)
        slot_clear(&f->slots[i]);
    promo_free(f->cache);
    promo_free(f->contact_cost);
    promo_dict_free(f->econ_ids);
    promo_free(f->econ_units);
    promo_free(f->econ_price);
    promo_dict_free(f->hist_ids);
    promo_free(f->hist_cust);
    promo_free(f->hist_prod);
    promo_free(f->season);
    promo_free(f->base_p0);
    promo_free(f->ids);
    promo_uplift_scorer_free(f->h);
    promo_free(f);
}

/* Min and max of promotions.discount_pct (0, 90 without a table, a column or a value). */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ... and its distinct values, ascending, into anchors (MAX_ANCHORS; *n_anchors = 0 when
 * there are more). */
static int
log_discount_range(promo_store *s, double *lo, double *hi, double *anchors, size_t *n_anchors)
{
    static const char *const cols[] = {"discount_pct"};
    *lo = 0;
    *hi = 90;
    *n_anchors = 0;
    if (!promo_store_has_table(s, "promotions"))
        return PROMO_OK;
    promo_table *t = NULL;
    int rc = promo_store_read_columns(s, "promotions", cols, 1, &t);
    /* no such column: no range known (a damaged table, PROMO_EINPUT, fails: read_window) */
    if (rc == PROMO_ENOTFOUND) {
        promo_clear_error();
        return PROMO_OK;
    }
    if (rc)
        return rc;
    double a = INFINITY, b = -INFINITY;
    size_t m = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(t->cols[0], r))
            continue;
        double v = promo_column_num(t->cols[0], r);
        if (v >= 0 && v <= 90) {
            a = v < a ? v : a;
            b = v > b ? v : b;
            size_t j = 0;
            while (j < m && j < MAX_ANCHORS && anchors[j] != v)
                j++;
            if (j == m && m <= MAX_ANCHORS) { /* new; past MAX_ANCHORS: the anchors are off */
                if (m < MAX_ANCHORS)
                    anchors[m] = v;
                m++;
            }
        }
    }
    if (m > MAX_ANCHORS)
        m = 0;
    qsort(anchors, m, sizeof *anchors, cmp_double);
    *n_anchors = m;
    if (a <= b) {
        *lo = a;
        *hi = b;
    }
    promo_table_free(t);
    return PROMO_OK;
}

/* ------------------------------------------------------------ honest terms ---- */

#define ECON_WINDOW_DAYS 28  /* the recent sales the price and units of a purchase come from */
#define ECON_MIN_LINES   5   /* fewer recent lines: one unit (the price is still the latest) */
#define DR_WINDOW_DAYS   30  /* an exposure's outcome window (uplift_ws.h's default) */
#define DR_MIN_ARM_ROWS  20  /* per discount and arm, for a discount to enter the fit */
#define DR_MIN_DISCOUNTS 3   /* distinct discounts the fit needs */
#define DR_MAX_DISCOUNTS 64  /* more distinct discounts: no fit */
#define DR_SHAPE_STEP    2.5 /* the curve's S grid: 2.5, 5, ..., 100 and infinity */
#define DR_SHAPE_STEPS   40

/* The rows of the transactions' columns cols whose ts lies in [lo, hi), for an honest term.
 * *t NULL (PROMO_OK) when the workspace's shape leaves the term out: no transactions table, or
 * a table made by other means than promo's ingest (whose canonical transactions have every
 * column asked here, ts a timestamp): a missing column is the store's PROMO_ENOTFOUND, a ts
 * that is not a timestamp its PROMO_EUSAGE (store.h: those two say what the table is, never
 * what its rows hold). Anything else fails the forecast with the store's message: a damaged
 * chunk or dictionary (PROMO_EINPUT) must not silently drop a correction, since with stored
 * features these windows are the only reads of the transactions. */
static int read_window(
    promo_store *s, const char *const *cols, size_t n, int64_t lo, int64_t hi, promo_table **t)
{
    *t = NULL;
    if (!promo_store_has_table(s, "transactions"))
        return PROMO_OK;
    int rc = promo_store_read_range(s, "transactions", cols, n, "ts", lo, hi, t);
    if (rc == PROMO_ENOTFOUND || rc == PROMO_EUSAGE) {
        promo_debug("forecast: no window of the transactions (%s): a term left out",
                    promo_last_error());
        promo_clear_error();
        *t = NULL;
        return PROMO_OK;
    }
    return rc;
}

/* What a purchase of each product brings now (forecast.h: Honest terms): the mean quantity of
 * its lines and the unit price of its latest line, over the ECON_WINDOW_DAYS before as_of. A
 * workspace without those columns keeps the products table's price and one unit. */
static int log_economics(promo_forecaster *f, promo_store *s, int64_t as_of)
{
    static const char *const cols[] = {"product_id", "quantity", "unit_price", "ts"};
    promo_table *t = NULL;
    int rc = read_window(s, cols, 4, as_of - (int64_t)ECON_WINDOW_DAYS * PROMO_SECONDS_PER_DAY,
                         as_of, &t);
    if (rc || !t) /* no such columns: the list price, one unit */
        return rc;
    const promo_column *pid = t->cols[0], *qty = t->cols[1], *up = t->cols[2], *ts = t->cols[3];
    size_t np = pid->type == PROMO_COL_STRING && pid->dict ? promo_dict_size(pid->dict) : 0;
    double *sq = NULL, *nl = NULL;
    int64_t *last = NULL;
    if (!np)
        goto done;
    rc = PROMO_ENOMEM;
    if (!(f->econ_ids = promo_dict_clone(pid->dict)) ||
        !(f->econ_units = promo_mallocn(np, sizeof *f->econ_units)) ||
        !(f->econ_price = promo_mallocn(np, sizeof *f->econ_price)) ||
        !(sq = promo_calloc(np, sizeof *sq)) || !(nl = promo_calloc(np, sizeof *nl)) ||
        !(last = promo_mallocn(np, sizeof *last)))
        goto done;
    for (size_t k = 0; k < np; k++) {
        f->econ_price[k] = NAN;
        last[k] = INT64_MIN;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(pid, r))
            continue;
        uint32_t k = pid->codes[r];
        double q = promo_column_num(qty, r), u = promo_column_num(up, r);
        if (isfinite(q) && q > 0) {
            sq[k] += q;
            nl[k] += 1;
        }
        int64_t when = promo_column_is_null(ts, r) ? INT64_MIN : ts->i64[r];
        if (isfinite(u) && u > 0 && when >= last[k]) {
            last[k] = when;
            f->econ_price[k] = u;
        }
    }
    for (size_t k = 0; k < np; k++)
        f->econ_units[k] = nl[k] >= ECON_MIN_LINES ? sq[k] / nl[k] : 1.0;
    rc = PROMO_OK;
done:
    promo_free(sq);
    promo_free(nl);
    promo_free(last);
    promo_table_free(t);
    return rc;
}

static int cmp_u64_plain(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The effect's dependence on the discount, from the log's randomised exposures alone (forecast.h:
 * Honest terms): per distinct discount the treated-minus-control conversion rate of the
 * exposures whose DR_WINDOW_DAYS window closed by as_of (converted = a converted response of the
 * (promotion, customer)), and the saturating curve through them. The pooled arm ("targeted":
 * chosen by a rule) is no part of it. Not enough rows, no responses or no positive effect: no
 * fit (d->fitted 0, the model's effect as it is). */
static int log_discount_response(promo_forecaster *f, promo_store *s, int64_t as_of)
{
    promo_forecast_discount_response *d = &f->dr;
    memset(d, 0, sizeof *d);
    if (!promo_store_has_table(s, "exposures") || !promo_store_has_table(s, "promotions") ||
        !promo_store_has_table(s, "responses"))
        return PROMO_OK;
    static const char *const pc[] = {"promotion_id", "discount_pct"};
    static const char *const ec[] = {"promotion_id", "customer_id", "arm", "ts"};
    static const char *const rcol[] = {"promotion_id", "customer_id", "converted"};
    promo_table *pt = NULL, *et = NULL, *rt = NULL;
    uint32_t *e2p = NULL, *r2p = NULL, *r2c = NULL;
    uint64_t *conv = NULL;
    double *p_disc = NULL;
    int rc = promo_store_read_columns(s, "promotions", pc, 2, &pt);
    if (!rc)
        rc = promo_store_read_columns(s, "exposures", ec, 4, &et);
    if (!rc)
        rc = promo_store_read_columns(s, "responses", rcol, 3, &rt);
    if (rc == PROMO_ENOTFOUND) { /* no such column: no fit (damage fails: read_window) */
        promo_clear_error();
        rc = PROMO_OK;
        goto done;
    }
    if (rc)
        goto done;
    const promo_column *ppid = pt->cols[0], *pdisc = pt->cols[1];
    const promo_column *epid = et->cols[0], *ecus = et->cols[1], *earm = et->cols[2],
                       *ets = et->cols[3];
    const promo_column *rpid = rt->cols[0], *rcus = rt->cols[1], *rconv = rt->cols[2];
    if (ppid->type != PROMO_COL_STRING || epid->type != PROMO_COL_STRING ||
        ecus->type != PROMO_COL_STRING || earm->type != PROMO_COL_STRING ||
        rpid->type != PROMO_COL_STRING || rcus->type != PROMO_COL_STRING ||
        ets->type != PROMO_COL_TIMESTAMP || !rt->n_rows)
        goto done;
    rc = PROMO_ENOMEM;
    if (!(e2p = promo_mallocn(et->n_rows ? et->n_rows : 1, sizeof *e2p)) ||
        !(r2p = promo_mallocn(rt->n_rows, sizeof *r2p)) ||
        !(r2c = promo_mallocn(rt->n_rows, sizeof *r2c)) ||
        !(conv = promo_mallocn(rt->n_rows, sizeof *conv)))
        goto done;
    /* exposures' promotions onto the promotions table; responses' keys onto the exposures'
     * dictionaries, so that a (promotion, customer) pair is one 64-bit key */
    if ((rc = promo_column_map_to(epid, ppid->dict, e2p)) ||
        (rc = promo_column_map_to(rpid, epid->dict, r2p)) ||
        (rc = promo_column_map_to(rcus, ecus->dict, r2c)))
        goto done;
    /* each promotion's discount by its id's code */
    size_t npc = promo_dict_size(ppid->dict);
    if (!(p_disc = promo_mallocn(npc ? npc : 1, sizeof *p_disc))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < npc; k++)
        p_disc[k] = NAN;
    for (size_t r = 0; r < pt->n_rows; r++)
        if (!promo_column_is_null(ppid, r))
            p_disc[ppid->codes[r]] = promo_column_num(pdisc, r);
    size_t nconv = 0;
    for (size_t r = 0; r < rt->n_rows; r++)
        if (r2p[r] != PROMO_DICT_NONE && r2c[r] != PROMO_DICT_NONE &&
            promo_column_num(rconv, r) > 0)
            conv[nconv++] = (uint64_t)r2p[r] << 32 | r2c[r];
    qsort(conv, nconv, sizeof *conv, cmp_u64_plain);
    uint32_t control = promo_dict_find(earm->dict, "control", 7);
    uint32_t pooled = promo_dict_find(earm->dict, "targeted", 8);
    double disc[DR_MAX_DISCOUNTS], cnt[DR_MAX_DISCOUNTS][2][2];
    size_t nd = 0;
    memset(cnt, 0, sizeof cnt);
    int64_t closed = as_of - (int64_t)DR_WINDOW_DAYS * PROMO_SECONDS_PER_DAY;
    for (size_t r = 0; r < et->n_rows; r++) {
        if (control == PROMO_DICT_NONE || promo_column_is_null(earm, r) ||
            promo_column_is_null(ets, r) || ets->i64[r] > closed || e2p[r] == PROMO_DICT_NONE ||
            promo_column_is_null(epid, r) || promo_column_is_null(ecus, r))
            continue;
        uint32_t a = earm->codes[r];
        if (a == pooled)
            continue;
        double v = p_disc[e2p[r]];
        if (!(v > 0 && v <= 90))
            continue;
        size_t j = 0;
        while (j < nd && disc[j] != v)
            j++;
        if (j == nd) {
            if (nd == DR_MAX_DISCOUNTS) {
                rc = PROMO_OK;
                goto done;
            }
            disc[nd++] = v;
        }
        uint64_t key = (uint64_t)epid->codes[r] << 32 | ecus->codes[r];
        int y = bsearch(&key, conv, nconv, sizeof *conv, cmp_u64_plain) != NULL;
        int t = a != control;
        cnt[j][t][0] += 1;
        cnt[j][t][1] += y;
        d->n_rows++;
    }
    /* the saturating curve A (1 - exp(-d / S)) through the per-discount differences, weighted
     * by their precision: for each S of a grid, A by weighted least squares; the S of the
     * smallest weighted error (S = infinity: a line through the origin) */
    double xs[DR_MAX_DISCOUNTS], as[DR_MAX_DISCOUNTS], ws[DR_MAX_DISCOUNTS], ns[DR_MAX_DISCOUNTS];
    double sw = 0, swa = 0, lo = INFINITY, hi = -INFINITY;
    size_t m = 0;
    for (size_t j = 0; j < nd; j++) {
        double n1 = cnt[j][1][0], n0 = cnt[j][0][0];
        if (n1 < DR_MIN_ARM_ROWS || n0 < DR_MIN_ARM_ROWS)
            continue;
        double r1 = cnt[j][1][1] / n1, r0 = cnt[j][0][1] / n0;
        /* the variance with rates pulled off 0 (a cell without a conversion is not certain) */
        double q1 = (cnt[j][1][1] + 0.5) / (n1 + 1), q0 = (cnt[j][0][1] + 0.5) / (n0 + 1);
        double var = q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0;
        xs[m] = disc[j];
        as[m] = r1 - r0;
        ws[m] = 1 / var;
        ns[m] = n1 + n0;
        sw += ws[m];
        swa += ws[m] * as[m];
        lo = disc[j] < lo ? disc[j] : lo;
        hi = disc[j] > hi ? disc[j] : hi;
        m++;
    }
    d->n_discounts = m;
    rc = PROMO_OK;
    if (m < DR_MIN_DISCOUNTS || !(swa > 0))
        goto done;
    double best_err = INFINITY;
    for (int g = 1; g <= DR_SHAPE_STEPS + 1; g++) {
        double S = g <= DR_SHAPE_STEPS ? DR_SHAPE_STEP * g : INFINITY, sgg = 0, sga = 0;
        for (size_t j = 0; j < m; j++) {
            double gj = isinf(S) ? xs[j] / 100 : 1 - exp(-xs[j] / S);
            sgg += ws[j] * gj * gj;
            sga += ws[j] * gj * as[j];
        }
        double A = sga / sgg, err = 0;
        for (size_t j = 0; j < m; j++) {
            double gj = isinf(S) ? xs[j] / 100 : 1 - exp(-xs[j] / S);
            err += ws[j] * (as[j] - A * gj) * (as[j] - A * gj);
        }
        if (A > 0 && err < best_err) {
            best_err = err;
            d->shape = S;
            d->amplitude = A;
            d->amplitude_se = sqrt(1 / sgg);
        }
    }
    if (!(best_err < INFINITY))
        goto done;
    /* the curve's mean over the log's rows: the level the model's calibration stands for */
    double sn = 0, sng = 0;
    for (size_t j = 0; j < m; j++) {
        double S = d->shape, gj = isinf(S) ? xs[j] / 100 : 1 - exp(-xs[j] / S);
        sn += ns[j];
        sng += ns[j] * gj;
    }
    d->fitted = 1;
    d->level = swa / sw;
    d->level_se = sqrt(1 / sw);
    d->mean_curve = sng / sn;
    d->lo = lo;
    d->hi = hi;
done:
    promo_free(p_disc);
    promo_free(e2p);
    promo_free(r2p);
    promo_free(r2c);
    promo_free(conv);
    promo_table_free(pt);
    promo_table_free(et);
    promo_table_free(rt);
    return rc;
}

#define BASE_WINDOW_DAYS 112 /* the purchase history a customer's no-offer rate comes from */
#define BASE_MAX_PRIOR_DAYS                                                                \
    1120.0                   /* the gamma prior's weight at most (days of pseudo-history): \
                                counts no more spread than Poisson's */
#define BASE_OUTCOME_DAYS 14 /* a campaign's window (promo simulate's and promo measure's) */

#define SEASON_PSEUDO_LINES 5.0 /* a product's seasonal ratio shrunk toward the store's */

/* Seasonality (Honest terms): the history window ends where the campaign begins, and the year
 * may turn there (a December history before a January campaign). A year before as_of, each
 * product's lines in the campaign's BASE_OUTCOME_DAYS against its lines in the
 * BASE_WINDOW_DAYS before them, per day: the ratio, shrunk toward the store's over every product
 * by SEASON_PSEUDO_LINES, kept in [0.25, 4]. Without a year of history: 1. */
static int log_season(promo_forecaster *f, promo_store *s, int64_t as_of)
{
    static const char *const cols[] = {"product_id", "ts"};
    size_t np = promo_dict_size(f->hist_ids);
    if (!(f->season = promo_mallocn(np ? np : 1, sizeof *f->season)))
        return PROMO_ENOMEM;
    for (size_t k = 0; k < np; k++)
        f->season[k] = 1;
    int64_t day = PROMO_SECONDS_PER_DAY, mid = as_of - 365 * day;
    promo_table *t = NULL;
    double *before = NULL, *after = NULL;
    uint32_t *code = NULL;
    int rc = read_window(s, cols, 2, mid - (int64_t)BASE_WINDOW_DAYS * day,
                         mid + (int64_t)BASE_OUTCOME_DAYS * day, &t);
    if (rc || !t) /* no window: no seasonal ratio */
        return rc;
    const promo_column *pid = t->cols[0], *ts = t->cols[1];
    rc = PROMO_ENOMEM;
    if (!(before = promo_calloc(np ? np : 1, sizeof *before)) ||
        !(after = promo_calloc(np ? np : 1, sizeof *after)) ||
        !(code = promo_mallocn(t->n_rows ? t->n_rows : 1, sizeof *code)))
        goto done;
    if (t->n_rows && (rc = promo_column_map_to(pid, f->hist_ids, code)))
        goto done;
    double all_b = 0, all_a = 0;
    int64_t first = INT64_MAX;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(ts, r))
            continue;
        first = ts->i64[r] < first ? ts->i64[r] : first;
        int late = ts->i64[r] >= mid;
        all_b += !late;
        all_a += late;
        if (code[r] == PROMO_DICT_NONE)
            continue;
        before[code[r]] += !late;
        after[code[r]] += late;
    }
    rc = PROMO_OK;
    /* no history a year back, or one that begins inside the window (its first week has no
     * line), or none after it: no seasonal ratio */
    if (!(all_b > 0) || !(all_a > 0) || first >= mid - (int64_t)(BASE_WINDOW_DAYS - 7) * day)
        goto done;
    double per = (double)BASE_OUTCOME_DAYS / BASE_WINDOW_DAYS, F = all_a / (all_b * per);
    for (size_t k = 0; k < np; k++) {
        double v = (after[k] + SEASON_PSEUDO_LINES * F) / (before[k] * per + SEASON_PSEUDO_LINES);
        f->season[k] = (float)(v < 0.25 ? 0.25 : v > 4 ? 4 : v);
    }
done:
    promo_free(before);
    promo_free(after);
    promo_free(code);
    promo_table_free(t);
    return rc;
}

/* The purchase lines of the last BASE_WINDOW_DAYS before as_of as (customer index, product
 * code) pairs, for the no-offer rate of any product asked later (Honest terms). Called once the
 * customer ids are known. */
static int log_history(promo_forecaster *f, promo_store *s, int64_t as_of)
{
    static const char *const cols[] = {"customer_id", "product_id"};
    if (!f->outcomes)
        return PROMO_OK;
    promo_table *t = NULL;
    promo_dict *ids = NULL;
    uint32_t *cu = NULL;
    int rc = read_window(s, cols, 2, as_of - (int64_t)BASE_WINDOW_DAYS * PROMO_SECONDS_PER_DAY,
                         as_of, &t);
    if (rc || !t) /* no window: the model's p0 */
        return rc;
    const promo_column *cid = t->cols[0], *pid = t->cols[1];
    if (cid->type != PROMO_COL_STRING || pid->type != PROMO_COL_STRING || !t->n_rows)
        goto done;
    rc = PROMO_ENOMEM;
    if (!(ids = promo_dict_new()) || promo_dict_reserve(ids, f->n))
        goto done;
    for (size_t i = 0; i < f->n; i++)
        if (promo_dict_intern(ids, f->ids[i], strlen(f->ids[i])) == PROMO_DICT_NONE)
            goto done;
    if (!(cu = promo_mallocn(t->n_rows, sizeof *cu)) ||
        !(f->hist_cust = promo_mallocn(t->n_rows, sizeof *f->hist_cust)) ||
        !(f->hist_prod = promo_mallocn(t->n_rows, sizeof *f->hist_prod)) ||
        !(f->hist_ids = promo_dict_clone(pid->dict)))
        goto done;
    if ((rc = promo_column_map_to(cid, ids, cu)))
        goto done;
    size_t m = 0;
    for (size_t r = 0; r < t->n_rows; r++)
        if (cu[r] != PROMO_DICT_NONE && !promo_column_is_null(pid, r)) {
            f->hist_cust[m] = cu[r];
            f->hist_prod[m] = pid->codes[r];
            m++;
        }
    f->hist_n = m;
    f->hist_days = BASE_WINDOW_DAYS;
    rc = log_season(f, s, as_of);
done:
    promo_free(cu);
    promo_dict_free(ids);
    promo_table_free(t);
    return rc;
}

/* Every customer's no-offer probability of buying `product` in BASE_OUTCOME_DAYS, from their own
 * lines of it in the history window, shrunk toward the product's rate over all customers
 * (gamma-Poisson: (k_i + a) / (T + b) per day, a / b the product's rate m, the prior's shape a
 * by the method of moments, b = a / m days of pseudo-history): into
 * f->base_p0 (kept for the last product asked). 0: no history (the model's own p0 stays). */
static int base_rates(promo_forecaster *f, const char *product)
{
    if (!(f->corrections & PROMO_FORECAST_CORRECT_BASELINE) || !f->hist_ids || !f->n)
        return 0;
    if (f->base_p0 && strcmp(f->base_product, product) == 0)
        return 1;
    uint32_t code = promo_dict_find(f->hist_ids, product, strlen(product));
    if (!f->base_p0 && !(f->base_p0 = promo_mallocn(f->n, sizeof *f->base_p0)))
        return -1;
    float *k = f->base_p0;
    memset(k, 0, f->n * sizeof *k);
    double total = 0;
    for (size_t j = 0; code != PROMO_DICT_NONE && j < f->hist_n; j++)
        if (f->hist_prod[j] == code) {
            k[f->hist_cust[j]] += 1;
            total += 1;
        }
    /* the gamma prior by the method of moments over the customers' counts: mean rate m per
     * day, shape alpha from the counts' variance beyond Poisson (a product a few customers buy
     * often and most never has a small alpha: a customer without a line of it gets little) */
    double T = f->hist_days, nn = (double)f->n, s2 = 0;
    for (size_t i = 0; i < f->n; i++)
        s2 += (double)k[i] * k[i];
    double m = total / (nn * T), mean_k = total / nn, excess = s2 / nn - mean_k * mean_k - mean_k;
    double b = excess > 0 ? mean_k * mean_k / excess / (m > 0 ? m : 1) : BASE_MAX_PRIOR_DAYS;
    b = b > BASE_MAX_PRIOR_DAYS ? BASE_MAX_PRIOR_DAYS : b;
    double a = m * b;
    double season = code != PROMO_DICT_NONE && f->season ? f->season[code] : 1.0;
    for (size_t i = 0; i < f->n; i++)
        k[i] = (float)(1 - exp(-BASE_OUTCOME_DAYS * season * (k[i] + a) / (T + b)));
    snprintf(f->base_product, sizeof f->base_product, "%s", product);
    return 1;
}

double promo_forecaster_effect_factor(const promo_forecaster *f, double discount_pct)
{
    const promo_forecast_discount_response *d = &f->dr;
    if (!(f->corrections & PROMO_FORECAST_CORRECT_DISCOUNT) || !d->fitted)
        return 1.0;
    /* below the log's discounts the curve itself (it passes through 0: an offer of nothing
     * moves no one); above them it is held at the largest (no saturation is seen there) */
    double x = discount_pct > d->hi ? d->hi : discount_pct < 0 ? 0 : discount_pct;
    double g = isinf(d->shape) ? x / 100 : 1 - exp(-x / d->shape);
    return g / d->mean_curve;
}

const promo_forecast_discount_response *
promo_forecaster_discount_response(const promo_forecaster *f)
{
    return &f->dr;
}

int promo_forecaster_product_economics(const promo_forecaster *f,
                                       const char *product_id,
                                       double *units,
                                       double *price)
{
    *units = 1.0;
    *price = NAN;
    if (!(f->corrections & PROMO_FORECAST_CORRECT_ECONOMICS) || !f->econ_ids || !product_id)
        return 0;
    uint32_t k = promo_dict_find(f->econ_ids, product_id, strlen(product_id));
    if (k == PROMO_DICT_NONE)
        return 0;
    *units = f->econ_units[k];
    *price = f->econ_price[k];
    return 1;
}

void promo_forecaster_set_corrections(promo_forecaster *f, unsigned flags)
{
    if (f->corrections == flags)
        return;
    f->corrections = flags;
    /* every cached figure rests on them */
    for (size_t i = 0; i < f->n_cache; i++)
        entry_free(f->cache[i]);
    f->n_cache = 0;
    f->cache_bytes = 0;
    for (size_t i = 0; i < SLOT_CAP; i++)
        slot_clear(&f->slots[i]);
    f->base_product[0] = '\0';
    promo_free(f->base_p0);
    f->base_p0 = NULL;
}

unsigned promo_forecaster_corrections(const promo_forecaster *f)
{
    return f->corrections;
}

int promo_forecaster_open(promo_store *s, int64_t as_of, int n_threads, promo_forecaster **out)
{
    *out = NULL;
    promo_forecaster *f = promo_calloc(1, sizeof *f);
    if (!f)
        return PROMO_ENOMEM;
    int rc = promo_uplift_scorer_open(s, as_of, n_threads, &f->h);
    if (rc)
        goto fail;
    f->n = promo_uplift_scorer_n_customers(f->h);
    f->n_arms = promo_uplift_scorer_n_arms(f->h);
    if (f->n_arms < 2 || f->n_arms > 255) {
        rc = promo_fail(PROMO_EINPUT, "forecast: the uplift model has %d arms (2-255 expected)",
                        f->n_arms);
        goto fail;
    }
    if (f->n > UINT32_MAX) {
        rc = promo_fail(PROMO_EINPUT, "forecast: %zu customers (at most 2^32 - 1)", f->n);
        goto fail;
    }
    promo_uplift_learner l = promo_uplift_scorer_learner(f->h);
    f->outcomes =
        l == PROMO_UPLIFT_S || l == PROMO_UPLIFT_T || l == PROMO_UPLIFT_X || l == PROMO_UPLIFT_DR;
    f->cache_limit = DEFAULT_CACHE_BYTES;
    if ((rc = log_discount_range(s, &f->disc_lo, &f->disc_hi, f->anchors, &f->n_anchors)))
        goto fail;
    f->corrections = PROMO_FORECAST_CORRECT_ALL;
    int64_t at = promo_uplift_scorer_as_of(f->h);
    if ((rc = log_economics(f, s, at)) || (rc = log_discount_response(f, s, at)))
        goto fail;
    /* anchors stand for XGBoost's histogram splits (forecast.h): the meta-learners' base models;
     * the uplift trees and forests choose their own thresholds */
    if (l == PROMO_UPLIFT_TREE || l == PROMO_UPLIFT_FOREST)
        f->n_anchors = 0;
    f->anchors_on = 1;
    f->slot_limit = MAX_SLOTS;
    f->n_threads = n_threads;
    /* The customer ids and the arms' contact costs come with a scoring: one of the "any"
     * target at the log's median discount (one model call) gives them before any forecast. */
    promo_uplift_offer o = {.target = "any", .discount_pct = NAN};
    promo_uplift_scores *sc = NULL;
    if ((rc = promo_uplift_scorer_score(f->h, &o, &sc)))
        goto fail;
    f->ids = promo_mallocn(f->n ? f->n : 1, sizeof *f->ids);
    f->contact_cost = promo_mallocn((size_t)f->n_arms, sizeof *f->contact_cost);
    if (!f->ids || !f->contact_cost) {
        promo_uplift_scores_free(sc);
        rc = PROMO_ENOMEM;
        goto fail;
    }
    memcpy(f->ids, sc->customer, f->n * sizeof *f->ids);
    memcpy(f->contact_cost, sc->contact_cost, (size_t)f->n_arms * sizeof *f->contact_cost);
    promo_uplift_scores_free(sc);
    if ((rc = log_history(f, s, promo_uplift_scorer_as_of(f->h))))
        goto fail;
    *out = f;
    return PROMO_OK;
fail:
    promo_forecaster_free(f);
    return rc;
}

int64_t promo_forecaster_as_of(const promo_forecaster *f)
{
    return promo_uplift_scorer_as_of(f->h);
}

promo_uplift_scorer *promo_forecaster_scorer(promo_forecaster *f)
{
    return f->h;
}

size_t promo_forecaster_n_customers(const promo_forecaster *f)
{
    return f->n;
}

const char *promo_forecaster_customer_id(const promo_forecaster *f, size_t i)
{
    if (i >= f->n)
        return NULL;
    return f->ids[i];
}

static void cache_trim(promo_forecaster *f, const entry *keep);

void promo_forecaster_discount_range(const promo_forecaster *f, double *lo, double *hi)
{
    *lo = f->disc_lo;
    *hi = f->disc_hi;
}

void promo_forecaster_set_cache_bytes(promo_forecaster *f, size_t bytes)
{
    f->cache_limit = bytes;
    cache_trim(f, NULL);
    if (!bytes) {
        for (size_t i = 0; i < SLOT_CAP; i++)
            slot_clear(&f->slots[i]);
        promo_uplift_scorer_forget(f->h); /* the scorer's kept arm predictions too */
    }
}

void promo_forecaster_set_anchors(promo_forecaster *f, int on)
{
    if (f->anchors_on != !!on) { /* the cached figures came from the other rule */
        size_t keep = f->cache_limit;
        promo_forecaster_set_cache_bytes(f, 0);
        f->cache_limit = keep;
    }
    f->anchors_on = !!on;
}

size_t promo_forecaster_model_calls(const promo_forecaster *f)
{
    return f->model_calls;
}

size_t promo_forecaster_model_passes(const promo_forecaster *f)
{
    return promo_uplift_scorer_predictions(f->h);
}

/* ------------------------------------------------------------------- cache ---- */

/* Drop least recently used entries until the cache is within its limit, never `keep`. */
static void cache_trim(promo_forecaster *f, const entry *keep)
{
    while (f->cache_bytes > f->cache_limit) {
        size_t victim = SIZE_MAX;
        for (size_t i = 0; i < f->n_cache; i++)
            if (f->cache[i] != keep &&
                (victim == SIZE_MAX || f->cache[i]->used < f->cache[victim]->used))
                victim = i;
        if (victim == SIZE_MAX)
            return;
        f->cache_bytes -= f->cache[victim]->bytes;
        entry_free(f->cache[victim]);
        f->cache[victim] = f->cache[--f->n_cache];
    }
}

/* The order-preserving image of a double, descending: smaller keys for larger values; NaN
 * after everything. */
static uint64_t desc_key(double v)
{
    if (isnan(v))
        return UINT64_MAX;
    v += 0.0; /* -0 -> +0 */
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    b = (b >> 63) ? ~b : b | ((uint64_t)1 << 63); /* ascending image */
    return ~b;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Indices 0..n-1 sorted by key ascending, ties by index. A stable LSD radix sort on the keys'
 * high 32 bits (3 passes of 11 bits, a digit that is the same everywhere skipped), moving 8
 * bytes per element, then runs of equal high halves put in order by the full key (insertion,
 * stable): the same order as a sort on all 64 bits, at under half the memory traffic. The high
 * half of a double's image holds its sign, exponent and 20 bits of mantissa, so such runs are
 * short unless values repeat exactly. */
static int radix_order(const uint64_t *key, size_t n, uint32_t *order)
{
    uint64_t *a = promo_mallocn(n ? n : 1, sizeof *a), *b = promo_mallocn(n ? n : 1, sizeof *b);
    if (!a || !b) {
        promo_free(a);
        promo_free(b);
        return PROMO_ENOMEM;
    }
    /* element = high 32 bits of the key << 32 | index */
    for (size_t i = 0; i < n; i++)
        a[i] = (key[i] & 0xffffffff00000000ull) | (uint64_t)i;
    static const int shift[3] = {32, 43, 54}, width[3] = {11, 11, 10};
    uint64_t *src = a, *dst = b;
    for (int pass = 0; pass < 3; pass++) {
        size_t cnt[2049] = {0};
        uint64_t mask = ((uint64_t)1 << width[pass]) - 1;
        int sh = shift[pass];
        for (size_t i = 0; i < n; i++)
            cnt[((src[i] >> sh) & mask) + 1]++;
        if (n && cnt[((src[0] >> sh) & mask) + 1] == n) /* one digit value: nothing moves */
            continue;
        for (size_t d = 0; d < 2048; d++)
            cnt[d + 1] += cnt[d];
        for (size_t i = 0; i < n; i++)
            dst[cnt[(src[i] >> sh) & mask]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)src[i];
    /* runs of one high half (found on the sorted elements, in sequence): by the full key, ties
     * keeping index order */
    uint64_t *run = NULL;
    size_t run_cap = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && (src[j] >> 32) == (src[i] >> 32))
            j++;
        if (j - i == 1) {
            i = j;
            continue;
        }
        size_t same = i + 1; /* exact ties are in index order already */
        while (same < j && key[order[same]] == key[order[i]])
            same++;
        if (same == j) {
            i = j;
            continue;
        }
        if (j - i > 64) { /* a long run: by (low key half, rank in the run) */
            size_t m = j - i;
            if (m > run_cap) {
                promo_free(run);
                run_cap = m;
                if (!(run = promo_mallocn(2 * m, sizeof *run))) {
                    promo_free(a);
                    promo_free(b);
                    return PROMO_ENOMEM;
                }
            }
            for (size_t p = 0; p < m; p++)
                run[p] = (key[order[i + p]] << 32) | (uint64_t)p;
            qsort(run, m, sizeof *run, cmp_u64);
            for (size_t p = 0; p < m; p++)
                run[m + p] = order[i + (uint32_t)run[p]];
            for (size_t p = 0; p < m; p++)
                order[i + p] = (uint32_t)run[m + p];
        } else {
            for (size_t p = i + 1; p < j; p++) {
                uint32_t x = order[p];
                size_t q = p;
                while (q > i && key[order[q - 1]] > key[x]) {
                    order[q] = order[q - 1];
                    q--;
                }
                order[q] = x;
            }
        }
        i = j;
    }
    promo_free(run);
    promo_free(a);
    promo_free(b);
    return PROMO_OK;
}

static double clamp01(double p)
{
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* Margins and contact cost of one (product, discount). */
typedef struct margins {
    double m1, m0, d, price;
    double r;        /* the effect's factor at d (promo_forecaster_effect_factor) */
    const double *c; /* per arm */
} margins;

static margins entry_margins(const promo_forecaster *f, const entry *e)
{
    margins m;
    m.d = e->discount_pct / 100.0;
    m.price = e->price;
    m.m1 = e->price * (1.0 - m.d) - e->cost;
    m.m0 = e->price - e->cost;
    m.r = promo_forecaster_effect_factor(f, e->discount_pct);
    m.c = f->contact_cost;
    return m;
}

static double customer_profit(const margins *m, const entry *e, size_t i)
{
    return e->p1[i] * m->m1 - e->p0[i] * m->m0 - m->c[e->arm[i]];
}

/* The customer at position i of an entry (its profit order once sorted, else customer order). */
static inline uint32_t cust_at(const entry *e, size_t i)
{
    return e->order ? e->order[i] : (uint32_t)i;
}

/* The discount whose model scores are those of d (the header's "Anchors"): the largest log
 * discount <= d (the smallest for d below it), d itself above twice the largest or when
 * anchors are off. Compared as the model compares: in float. */
static double anchor_of(const promo_forecaster *f, double d)
{
    if (!f->anchors_on || !f->n_anchors)
        return d;
    float x = (float)d;
    const double *v = f->anchors;
    size_t m = f->n_anchors;
    if (x > (float)(2 * v[m - 1]))
        return d;
    double a = v[0];
    for (size_t j = 1; j < m; j++)
        if ((float)v[j] <= x)
            a = v[j];
    return a;
}

/* Free the least recently used score sets until at most `limit` are held. */
static void slots_trim(promo_forecaster *f, size_t limit)
{
    for (;;) {
        size_t used = 0, victim = SIZE_MAX;
        for (size_t i = 0; i < SLOT_CAP; i++)
            if (f->slots[i].effect) {
                used++;
                if (victim == SIZE_MAX || f->slots[i].used < f->slots[victim].used)
                    victim = i;
            }
        if (used <= limit)
            return;
        slot_clear(&f->slots[victim]);
    }
}

/* The model's scores of (product, anchor): kept (at most slot_limit sets, least recently used
 * first out), else one model call. Borrowed until the next call that may evict. */
static int scores_get(promo_forecaster *f, const char *product, double anchor, score_slot **out)
{
    f->clock++;
    size_t free_at = SIZE_MAX;
    for (size_t i = 0; i < SLOT_CAP; i++) {
        score_slot *sl = &f->slots[i];
        if (sl->effect && sl->anchor == anchor && strcmp(sl->product, product) == 0) {
            sl->used = f->clock;
            *out = sl;
            return PROMO_OK;
        }
        if (!sl->effect && free_at == SIZE_MAX)
            free_at = i;
    }
    slots_trim(f, f->slot_limit ? f->slot_limit - 1 : 0);
    for (size_t i = 0; free_at == SIZE_MAX && i < SLOT_CAP; i++)
        if (!f->slots[i].effect)
            free_at = i;
    size_t victim = free_at;
    char target[300];
    snprintf(target, sizeof target, "product:%s", product);
    promo_uplift_offer o = {.target = target, .discount_pct = anchor};
    promo_uplift_scores *sc = NULL;
    int rc = promo_uplift_scorer_score(f->h, &o, &sc);
    if (rc == PROMO_EINPUT)
        return promo_fail(PROMO_EINPUT, "product_id: no product '%s' in the workspace", product);
    if (rc)
        return rc;
    f->model_calls++;
    if (!isfinite(sc->price) || sc->price < 0) {
        promo_uplift_scores_free(sc);
        return promo_fail(PROMO_EINPUT, "product_id: product '%s' has no price", product);
    }
    score_slot *sl = &f->slots[victim];
    slot_clear(sl);
    /* the scorer's arrays are kept as they are: taken over, not copied */
    sl->effect = sc->effect;
    sl->outcome = sc->outcome;
    sc->effect = NULL;
    sc->outcome = NULL;
    snprintf(sl->product, sizeof sl->product, "%s", product);
    sl->anchor = anchor;
    /* the no-offer outcome from the customers' own purchases of the product, the effect the
     * model's (Honest terms): p0 and every arm's outcome moved by the same amount */
    int br = f->outcomes ? base_rates(f, product) : 0;
    if (br < 0) {
        slot_clear(sl);
        promo_uplift_scores_free(sc);
        return PROMO_ENOMEM;
    }
    if (br) {
        size_t K = (size_t)f->n_arms;
        for (size_t i = 0; i < f->n; i++) {
            float *ov = sl->outcome + i * K, shift = f->base_p0[i] - ov[0];
            for (size_t a = 0; a < K; a++)
                ov[a] += shift;
        }
    }
    /* a conversion's money: units per purchase at the shelf price now (Honest terms) */
    double units = 1, now = NAN, cost = isfinite(sc->cost) ? sc->cost : 0.0;
    promo_forecaster_product_economics(f, product, &units, &now);
    sl->price = units * (isfinite(now) ? now : sc->price);
    sl->cost = units * cost;
    sl->used = f->clock;
    promo_uplift_scores_free(sc);
    *out = sl;
    return PROMO_OK;
}

/* Sort an entry into profit order (best first, ties by customer index). */
static int entry_sort(const promo_forecaster *f, entry *e)
{
    size_t n = f->n, m = n ? n : 1;
    uint64_t *key = promo_mallocn(m, sizeof *key);
    uint32_t *order = promo_mallocn(m, sizeof *order);
    if (!key || !order) {
        promo_free(key);
        promo_free(order);
        return PROMO_ENOMEM;
    }
    margins mg = entry_margins(f, e);
    for (size_t i = 0; i < n; i++)
        key[i] = desc_key(customer_profit(&mg, e, i));
    int rc = radix_order(key, n, order);
    if (rc) {
        promo_free(key);
        promo_free(order);
        return rc;
    }
    /* into profit order: one gather pass into new arrays */
    promo_free(key);
    double *q0 = promo_mallocn(m, sizeof *q0), *q1 = promo_mallocn(m, sizeof *q1);
    uint8_t *qa = promo_mallocn(m, 1);
    if (!q0 || !q1 || !qa) {
        promo_free(q0);
        promo_free(q1);
        promo_free(qa);
        promo_free(order);
        return PROMO_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        uint32_t i = order[k];
        q0[k] = e->p0[i];
        q1[k] = e->p1[i];
        qa[k] = e->arm[i];
    }
    promo_free(e->p0);
    promo_free(e->p1);
    promo_free(e->arm);
    e->p0 = q0;
    e->p1 = q1;
    e->arm = qa;
    e->order = order;
    e->bytes += n * sizeof *order;
    return PROMO_OK;
}

/* Margins of a score set at a discount (as entry_margins). */
static margins slot_margins(const promo_forecaster *f, const score_slot *sl, double discount)
{
    margins m;
    m.d = discount / 100.0;
    m.price = sl->price;
    m.m1 = sl->price * (1.0 - m.d) - sl->cost;
    m.m0 = sl->price - sl->cost;
    m.r = promo_forecaster_effect_factor(f, discount);
    m.c = f->contact_cost;
    return m;
}

/* Customer i's contact arm at these margins: the arm of largest expected profit (ties: the
 * first), with its p0 and p1. */
static inline void best_arm(const promo_forecaster *f,
                            const score_slot *sl,
                            const margins *mg,
                            size_t i,
                            double *p0_out,
                            double *p1_out,
                            uint8_t *arm_out)
{
    size_t K = (size_t)f->n_arms, E = K - 1;
    double best = -INFINITY;
    for (size_t a = 1; a < K; a++) {
        double tau = sl->effect[i * E + a - 1];
        double p0 = f->outcomes ? sl->outcome[i * K] : 0.0;
        double p1;
        if (mg->r == 1.0) /* no correction: the model's own figures, bit for bit */
            p1 = f->outcomes ? clamp01(sl->outcome[i * K + a]) : tau;
        else /* the effect at this discount (Honest terms), rounded to float as the model's
              * outputs are: the surface keeps p0 and p1 as floats, and a cell must equal the
              * point forecast of its (discount, n) bit for bit */
            p1 = (float)(f->outcomes ? clamp01(p0 + mg->r * (sl->outcome[i * K + a] - p0))
                                     : mg->r * tau);
        double v = p1 * mg->m1 - p0 * mg->m0 - f->contact_cost[a];
        if (v > best || a == 1) {
            best = v;
            *p0_out = p0;
            *p1_out = p1;
            *arm_out = (uint8_t)a;
        }
    }
}

/* The entry of (product, discount) from the scores of its anchor, in customer order. Reads the
 * handle only (the surface calls it from several threads). */
static int entry_from_slot(const promo_forecaster *f,
                           const score_slot *sl,
                           const char *product,
                           double discount,
                           entry **out)
{
    *out = NULL;
    entry *e = promo_calloc(1, sizeof *e);
    if (!e)
        return PROMO_ENOMEM;
    snprintf(e->product, sizeof e->product, "%s", product);
    e->discount_pct = discount;
    e->price = sl->price;
    e->cost = sl->cost;
    size_t n = f->n, m = n ? n : 1;
    e->p0 = promo_mallocn(m, sizeof *e->p0);
    e->p1 = promo_mallocn(m, sizeof *e->p1);
    e->arm = promo_mallocn(m, sizeof *e->arm);
    if (!e->p0 || !e->p1 || !e->arm) {
        entry_free(e);
        return PROMO_ENOMEM;
    }
    e->bytes = sizeof *e + n * (2 * sizeof(double) + sizeof(uint8_t));
    margins mg = entry_margins(f, e);
    for (size_t i = 0; i < n; i++)
        best_arm(f, sl, &mg, i, &e->p0[i], &e->p1[i], &e->arm[i]);
    *out = e;
    return PROMO_OK;
}

static int entry_build(promo_forecaster *f, const char *product, double discount, entry **out)
{
    *out = NULL;
    score_slot *sl = NULL;
    int rc = scores_get(f, product, anchor_of(f, discount), &sl);
    if (rc)
        return rc;
    return entry_from_slot(f, sl, product, discount, out);
}

/* The entry of (product, discount): cached, or built and cached; sorted into profit order
 * when `sorted`. Borrowed until the next call that may evict. */
static int
entry_get(promo_forecaster *f, const char *product, double discount, int sorted, entry **out)
{
    f->clock++;
    for (size_t i = 0; i < f->n_cache; i++)
        if (f->cache[i]->discount_pct == discount && strcmp(f->cache[i]->product, product) == 0) {
            entry *e = f->cache[i];
            e->used = f->clock;
            if (sorted && !e->order) {
                size_t before = e->bytes;
                int rc = entry_sort(f, e);
                if (rc)
                    return rc;
                f->cache_bytes += e->bytes - before;
                cache_trim(f, e);
            }
            *out = e;
            return PROMO_OK;
        }
    entry *e = NULL;
    int rc = entry_build(f, product, discount, &e);
    if (!rc && sorted)
        rc = entry_sort(f, e);
    if (rc) {
        entry_free(e);
        return rc;
    }
    if (f->n_cache == f->cap_cache &&
        promo_grow((void **)&f->cache, &f->cap_cache, f->n_cache + 1, sizeof *f->cache)) {
        entry_free(e);
        return PROMO_ENOMEM;
    }
    e->used = f->clock;
    f->cache[f->n_cache++] = e;
    f->cache_bytes += e->bytes;
    cache_trim(f, e);
    *out = e;
    return PROMO_OK;
}

/* ----------------------------------------------------------------- figures ---- */

typedef struct acc {
    size_t contacts;
    double conv, inc_conv, inc_rev, disc_cost, contact_cost, profit, var;
} acc;

/* Add one customer of outcomes p0, p1 and contact cost c (the arithmetic of every figure: the
 * surface's walk and the point forecast share it, so that their sums agree bit for bit). */
static inline void acc_add_p(acc *a, const margins *m, double p0, double p1, double c)
{
    a->contacts++;
    a->conv += p1;
    a->inc_conv += p1 - p0;
    a->inc_rev += p1 * m->price * (1.0 - m->d) - p0 * m->price;
    a->disc_cost += p1 * m->price * m->d;
    a->contact_cost += c;
    a->profit += p1 * m->m1 - p0 * m->m0 - c;
    double q1 = clamp01(p1), q0 = clamp01(p0);
    a->var += q1 * (1 - q1) * m->m1 * m->m1 + q0 * (1 - q0) * m->m0 * m->m0;
}

/* Add customer i of entry e. */
static void acc_add(acc *a, const margins *m, const entry *e, size_t i)
{
    acc_add_p(a, m, e->p0[i], e->p1[i], m->c[e->arm[i]]);
}

/* The spend of customer i: expected discount cost + contact cost. */
static double spend_of(const margins *m, const entry *e, size_t i)
{
    return e->p1[i] * m->price * m->d + m->c[e->arm[i]];
}

static promo_forecast_figures acc_figures(const acc *a, double level)
{
    promo_forecast_figures g;
    memset(&g, 0, sizeof g);
    g.contacts = a->contacts;
    g.expected_conversions = a->conv;
    g.incremental_conversions = a->inc_conv;
    g.incremental_revenue = a->inc_rev;
    g.discount_cost = a->disc_cost;
    g.contact_cost = a->contact_cost;
    g.incremental_profit = a->profit;
    double costs = a->disc_cost + a->contact_cost;
    g.roi = costs > 0 ? a->profit / costs : NAN;
    g.profit_var = a->var;
    g.interval = level;
    double z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2);
    double half = z * sqrt(a->var > 0 ? a->var : 0);
    g.profit_lo = a->profit - half;
    g.profit_hi = a->profit + half;
    return g;
}

/* ----------------------------------------------------------- point forecast ---- */

static const char *const rank_names[PROMO_FORECAST_RANK_COUNT] = {"profit", "uplift",
                                                                  "probability"};

const char *promo_forecast_rank_name(promo_forecast_rank r)
{
    return (int)r >= 0 && r < PROMO_FORECAST_RANK_COUNT ? rank_names[r] : "?";
}

int promo_forecast_rank_parse(const char *name, promo_forecast_rank *out)
{
    for (int r = 0; name && r < PROMO_FORECAST_RANK_COUNT; r++)
        if (strcmp(name, rank_names[r]) == 0) {
            *out = (promo_forecast_rank)r;
            return PROMO_OK;
        }
    return promo_fail(PROMO_EUSAGE, "rank_by: expected profit, uplift or probability, got '%s'",
                      name ? name : "(null)");
}

promo_forecast_request promo_forecast_request_default(void)
{
    promo_forecast_request r = {.discount_pct = 10,
                                .n_target = 50,
                                .rank_by = PROMO_FORECAST_RANK_PROFIT,
                                .budget = INFINITY,
                                .interval = 0.90,
                                .holdout_pct = 0,
                                .holdout_seed = 1};
    return r;
}

void promo_forecast_free(promo_forecast *fc)
{
    if (!fc)
        return;
    promo_free(fc->picks);
    promo_free(fc);
}

static int check_product(const char *product)
{
    if (!product || !*product)
        return promo_fail(PROMO_EUSAGE, "product_id: required");
    if (strlen(product) > 250)
        return promo_fail(PROMO_EUSAGE, "product_id: longer than 250 bytes");
    return PROMO_OK;
}

static int check_interval(double level)
{
    if (!(level >= 0.5 && level <= 0.999))
        return promo_fail(PROMO_EUSAGE, "interval: expected a level from 0.5 to 0.999, got %g",
                          level);
    return PROMO_OK;
}

static int check_budget(double budget)
{
    if (!(budget >= 0)) /* NaN too */
        return promo_fail(PROMO_EUSAGE, "budget: expected an amount >= 0, got %g", budget);
    return PROMO_OK;
}

/* The picks of a forecast: entry positions pos[0..k) in rank order (NULL = the profit order
 * itself), the holdout, the figures. */
static int fill_forecast(const promo_forecaster *f,
                         const entry *e,
                         const promo_forecast_request *r,
                         const uint32_t *pos,
                         size_t k,
                         size_t want,
                         promo_forecast *fc)
{
    margins mg = entry_margins(f, e);
    snprintf(fc->product_id, sizeof fc->product_id, "%s", r->product_id);
    fc->discount_pct = r->discount_pct;
    fc->price = e->price;
    fc->cost = e->cost;
    fc->rank_by = r->rank_by;
    fc->n_target = want;
    fc->budget = r->budget;
    fc->budget_bound = k < want;
    fc->outcomes = f->outcomes;
    fc->n = k;
    if (!(fc->picks = promo_calloc(k ? k : 1, sizeof *fc->picks)))
        return PROMO_ENOMEM;
    for (size_t j = 0; j < k; j++) {
        size_t i = pos ? pos[j] : j;
        promo_forecast_pick *p = &fc->picks[j];
        p->customer = cust_at(e, i);
        p->customer_id = f->ids[cust_at(e, i)];
        p->probability = e->p1[i];
        p->p0 = e->p0[i];
        p->uplift = e->p1[i] - e->p0[i];
        p->expected_profit = customer_profit(&mg, e, i);
        p->expected_revenue = e->p1[i] * mg.price * (1.0 - mg.d);
        p->arm = e->arm[i];
        p->contact_cost = mg.c[e->arm[i]];
    }
    /* the holdout, drawn as campaign.c draws it (same stream, same partial shuffle) */
    fc->n_holdout = (size_t)floor((double)k * r->holdout_pct / 100 + 0.5);
    if (fc->n_holdout) {
        size_t *idx = promo_mallocn(k, sizeof *idx);
        if (!idx)
            return PROMO_ENOMEM;
        promo_rng rg;
        promo_rng_init(&rg, r->holdout_seed, 0x686f6c64u);
        for (size_t i = 0; i < k; i++)
            idx[i] = i;
        for (size_t i = 0; i < fc->n_holdout; i++) {
            size_t j = i + (size_t)promo_rng_below(&rg, k - i), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            fc->picks[idx[i]].holdout = 1;
        }
        promo_free(idx);
    }
    acc a = {0};
    for (size_t j = 0; j < k; j++)
        if (!fc->picks[j].holdout)
            acc_add(&a, &mg, e, pos ? pos[j] : j);
    fc->figures = acc_figures(&a, r->interval);
    return PROMO_OK;
}

/* The request's fields (those of the point forecast and of a given selection). */
static int check_request(const promo_forecast_request *r)
{
    int rc = check_product(r->product_id);
    if (rc)
        return rc;
    if (!(r->discount_pct >= 0 && r->discount_pct <= 90))
        return promo_fail(PROMO_EUSAGE, "discount_pct: expected a number from 0 to 90, got %g",
                          r->discount_pct);
    if ((int)r->rank_by < 0 || r->rank_by >= PROMO_FORECAST_RANK_COUNT)
        return promo_fail(PROMO_EUSAGE, "rank_by: expected profit, uplift or probability");
    if ((rc = check_budget(r->budget)) || (rc = check_interval(r->interval)))
        return rc;
    if (!(r->holdout_pct >= 0 && r->holdout_pct <= 50))
        return promo_fail(PROMO_EUSAGE, "holdout_pct: expected 0 to 50, got %g", r->holdout_pct);
    return PROMO_OK;
}

/* One candidate of a partial selection: its rank keys (ascending = better) and position. */
typedef struct sel_item {
    uint64_t k1, k2; /* the ranking's key; the profit key (ties of the other rankings) */
    uint32_t i;      /* position in the entry (customer order while unsorted) */
} sel_item;

static int sel_less(const sel_item *x, const sel_item *y)
{
    if (x->k1 != y->k1)
        return x->k1 < y->k1;
    if (x->k2 != y->k2)
        return x->k2 < y->k2;
    return x->i < y->i;
}

static int sel_cmp(const void *a, const void *b)
{
    const sel_item *x = a, *y = b;
    return sel_less(x, y) ? -1 : sel_less(y, x) ? 1 : 0;
}

static void sel_swap(sel_item *a, sel_item *b)
{
    sel_item t = *a;
    *a = *b;
    *b = t;
}

/* Rearrange v[0..n) so that v[0..k) are its k smallest (in any order): quickselect with a
 * median-of-three pivot; the items are distinct (positions), so it always progresses. */
static void select_smallest(sel_item *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the k-th boundary lies in [lo, hi) */
    while (hi - lo > 16 && k > lo && k < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sel_less(&v[mid], &v[lo]))
            sel_swap(&v[mid], &v[lo]);
        if (sel_less(&v[hi - 1], &v[lo]))
            sel_swap(&v[hi - 1], &v[lo]);
        if (sel_less(&v[hi - 1], &v[mid]))
            sel_swap(&v[hi - 1], &v[mid]);
        sel_item pivot = v[mid];
        size_t i = lo, j = hi - 1;
        for (;;) { /* Hoare partition: [lo, i) <= pivot <= (j, hi) */
            while (sel_less(&v[i], &pivot))
                i++;
            while (sel_less(&pivot, &v[j]))
                j--;
            if (i >= j)
                break;
            sel_swap(&v[i], &v[j]);
            i++;
            j--;
        }
        if (k <= j)
            hi = j + 1;
        else
            lo = j + 1;
    }
    if (k > lo && k < hi)
        qsort(v + lo, hi - lo, sizeof *v, sel_cmp);
}

int promo_forecast_point(promo_forecaster *f, const promo_forecast_request *r, promo_forecast **out)
{
    *out = NULL;
    int rc = check_request(r);
    if (rc)
        return rc;
    size_t n = f->n, want = r->n_target && r->n_target < n ? r->n_target : n;
    /* A short list is a partial selection over the customers (O(n)); a long one, or an entry
     * already sorted, walks the profit order. */
    int partial = want <= n / 8;
    entry *e = NULL;
    if ((rc = entry_get(f, r->product_id, r->discount_pct, !partial, &e)))
        return rc;
    if (e->order)
        partial = 0;
    promo_forecast *fc = promo_calloc(1, sizeof *fc);
    uint32_t *ord = NULL;
    uint64_t *key = NULL;
    sel_item *it = NULL;
    if (!fc)
        return PROMO_ENOMEM;
    rc = PROMO_ENOMEM;
    margins mg = entry_margins(f, e);
    /* pos: the entry positions in rank order; NULL = the profit order itself */
    const uint32_t *pos = NULL;
    if (partial) {
        if (!(it = promo_mallocn(n ? n : 1, sizeof *it)) ||
            !(ord = promo_mallocn(want ? want : 1, sizeof *ord)))
            goto fail;
        for (size_t i = 0; i < n; i++) {
            uint64_t kp = desc_key(customer_profit(&mg, e, i));
            it[i].i = (uint32_t)i;
            if (r->rank_by == PROMO_FORECAST_RANK_PROFIT) {
                it[i].k1 = kp;
                it[i].k2 = 0;
            } else {
                it[i].k1 = desc_key(r->rank_by == PROMO_FORECAST_RANK_UPLIFT ? e->p1[i] - e->p0[i]
                                                                             : e->p1[i]);
                it[i].k2 = kp;
            }
        }
        select_smallest(it, n, want);
        qsort(it, want, sizeof *it, sel_cmp);
        for (size_t j = 0; j < want; j++)
            ord[j] = it[j].i;
        pos = ord;
    } else if (r->rank_by != PROMO_FORECAST_RANK_PROFIT) {
        if (!(ord = promo_mallocn(n ? n : 1, sizeof *ord)) ||
            !(key = promo_mallocn(n ? n : 1, sizeof *key)))
            goto fail;
        for (size_t i = 0; i < n; i++)
            key[i] =
                desc_key(r->rank_by == PROMO_FORECAST_RANK_UPLIFT ? e->p1[i] - e->p0[i] : e->p1[i]);
        if ((rc = radix_order(key, n, ord)))
            goto fail;
        pos = ord;
    }
    /* the budget: the longest prefix of the ranking within it */
    size_t k = 0;
    double spent = 0;
    for (; k < want; k++) {
        double s = spend_of(&mg, e, pos ? pos[k] : k);
        if (spent + s > r->budget)
            break;
        spent += s;
    }
    if ((rc = fill_forecast(f, e, r, pos, k, want, fc)))
        goto fail;
    promo_free(ord);
    promo_free(key);
    promo_free(it);
    *out = fc;
    return PROMO_OK;
fail:
    promo_free(ord);
    promo_free(key);
    promo_free(it);
    promo_forecast_free(fc);
    return rc;
}

void promo_forecast_values_free(promo_forecast_values *v)
{
    if (!v)
        return;
    promo_free(v->profit);
    promo_free(v->uplift);
    promo_free(v->probability);
    promo_free(v);
}

int promo_forecast_customer_values(promo_forecaster *f,
                                   const char *product_id,
                                   double discount_pct,
                                   promo_forecast_values **out)
{
    *out = NULL;
    int rc = check_product(product_id);
    if (rc)
        return rc;
    if (!(discount_pct >= 0 && discount_pct <= 90))
        return promo_fail(PROMO_EUSAGE, "discount_pct: expected a number from 0 to 90, got %g",
                          discount_pct);
    entry *e = NULL;
    if ((rc = entry_get(f, product_id, discount_pct, 0, &e)))
        return rc;
    size_t n = f->n, m = n ? n : 1;
    promo_forecast_values *v = promo_calloc(1, sizeof *v);
    if (!v || !(v->profit = promo_mallocn(m, sizeof *v->profit)) ||
        !(v->uplift = promo_mallocn(m, sizeof *v->uplift)) ||
        !(v->probability = promo_mallocn(m, sizeof *v->probability))) {
        promo_forecast_values_free(v);
        return PROMO_ENOMEM;
    }
    v->n = n;
    v->discount_pct = discount_pct;
    margins mg = entry_margins(f, e);
    for (size_t k = 0; k < n; k++) {
        uint32_t i = cust_at(e, k);
        v->profit[i] = customer_profit(&mg, e, k);
        v->uplift[i] = e->p1[k] - e->p0[k];
        v->probability[i] = e->p1[k];
    }
    *out = v;
    return PROMO_OK;
}

int promo_forecast_select(promo_forecaster *f,
                          const promo_forecast_request *r,
                          const uint32_t *customers,
                          size_t n_customers,
                          promo_forecast **out)
{
    *out = NULL;
    int rc = check_request(r);
    if (rc)
        return rc;
    size_t n = f->n;
    for (size_t j = 0; j < n_customers; j++)
        if (customers[j] >= n)
            return promo_fail(PROMO_EUSAGE, "customers: index %u out of the %zu customers",
                              customers[j], n);
    entry *e = NULL;
    if ((rc = entry_get(f, r->product_id, r->discount_pct, 0, &e)))
        return rc;
    uint32_t *pos_of = NULL, *pos = NULL, *perm = NULL;
    uint64_t *key = NULL;
    promo_forecast *fc = promo_calloc(1, sizeof *fc);
    rc = PROMO_ENOMEM;
    size_t m = n_customers ? n_customers : 1;
    if (!fc || !(pos_of = promo_mallocn(n ? n : 1, sizeof *pos_of)) ||
        !(pos = promo_mallocn(m, sizeof *pos)) || !(perm = promo_mallocn(m, sizeof *perm)) ||
        !(key = promo_mallocn(m, sizeof *key)))
        goto fail;
    for (size_t k = 0; k < n; k++)
        pos_of[cust_at(e, k)] = (uint32_t)k;
    /* the given customers in the request's rank order (profit: their entry position; ties of
     * the other ranks: the given order) */
    for (size_t j = 0; j < n_customers; j++) {
        uint32_t k = pos_of[customers[j]];
        key[j] = r->rank_by == PROMO_FORECAST_RANK_PROFIT   ? k
                 : r->rank_by == PROMO_FORECAST_RANK_UPLIFT ? desc_key(e->p1[k] - e->p0[k])
                                                            : desc_key(e->p1[k]);
    }
    if ((rc = radix_order(key, n_customers, perm)))
        goto fail;
    for (size_t j = 0; j < n_customers; j++)
        pos[j] = pos_of[customers[perm[j]]];
    if ((rc = fill_forecast(f, e, r, pos, n_customers, n_customers, fc)))
        goto fail;
    fc->budget_bound = 0;
    rc = PROMO_OK;
    *out = fc;
    fc = NULL;
fail:
    promo_free(pos_of);
    promo_free(pos);
    promo_free(perm);
    promo_free(key);
    promo_forecast_free(fc);
    return rc;
}

/* ------------------------------------------------------------------ surface ---- */

promo_surface_params promo_surface_params_default(void)
{
    promo_surface_params p = {.max_points = 200, .budget = INFINITY, .interval = 0.90};
    return p;
}

void promo_surface_free(promo_surface *sf)
{
    if (!sf)
        return;
    promo_free(sf->discounts);
    promo_free(sf->targets);
    promo_free(sf->profit);
    promo_free(sf->revenue);
    promo_free(sf->conversions);
    promo_free(sf->incremental_conversions);
    promo_free(sf->roi);
    promo_free(sf->spend);
    promo_free(sf);
}

/* ------------------------------------------------------- the surface's order ---- */

/* One customer at one discount as the surface sorts and walks it: the profit's descending key
 * (desc_key) and p0, p1. Both are floats from the model (p1 clamped to 0 or 1 at worst), so a
 * float holds them exactly and the walk adds the very doubles a sorted entry holds; the arm
 * moves along in a byte array beside. 16 bytes against the 21 of an entry's position plus the
 * 8 of its radix elements. */
typedef struct srow {
    uint64_t key;
    float p0, p1;
} srow;

/* One thread's buffers for the surface: rows and arms, and as much scratch. */
typedef struct sbuf {
    srow *a, *t;
    uint8_t *arm, *armt;
    uint32_t *hist;   /* SROW_CELLS: keys by their top SROW_CELL_BITS bits */
    uint32_t *bstart; /* SROW_CELLS + 1: the buckets' starts */
    uint32_t *bucket; /* SROW_CELLS: each cell's bucket */
} sbuf;

#define SROW_CELL_BITS 20
#define SROW_CELLS     ((size_t)1 << SROW_CELL_BITS)
#define SROW_CELL(k)   ((k) >> (64 - SROW_CELL_BITS))

static void sbuf_free(sbuf *b)
{
    promo_free(b->a);
    promo_free(b->t);
    promo_free(b->arm);
    promo_free(b->armt);
    promo_free(b->hist);
    promo_free(b->bstart);
    promo_free(b->bucket);
    memset(b, 0, sizeof *b);
}

#define SROW_SMALL  32   /* below: insertion sort */
#define SROW_BUCKET 8192 /* keys of a first-level bucket (128 KiB of rows: cache size) */

/* Stable sort of a[0..n) by key (the arms moving along) when every key has the same bits above
 * bit hi: most significant digit first, 11 bits at a time, each bucket in turn (a bucket of a
 * million customers shrinks to cache size after a level or two, where the lower levels run),
 * a digit that is the same everywhere skipped. Equal keys keep their order (the scatter is
 * stable and insertion moves only past larger keys), so ties stay in customer order as in
 * radix_order. Returns 1 when the result is in t/armt (the scratch of n), 0 when in a/arm. */
static int srow_sort(srow *a, uint8_t *arm, srow *t, uint8_t *armt, size_t n, int hi)
{
    while (n > SROW_SMALL && hi >= 0) {
        /* a digit of about n / 4 values (at most 11 bits): a wide digit over few keys
         * would cost more in counts than in keys */
        int w = 63 - __builtin_clzll((unsigned long long)n) - 2;
        w = w < 3 ? 3 : w > 11 ? 11 : w;
        w = w > hi + 1 ? hi + 1 : w;
        int sh = hi + 1 - w;
        size_t nd = (size_t)1 << w, mask = nd - 1;
        size_t cnt[2049];
        memset(cnt, 0, (nd + 1) * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            cnt[((a[i].key >> sh) & mask) + 1]++;
        if (cnt[((a[0].key >> sh) & mask) + 1] == n) { /* one digit: nothing moves */
            hi = sh - 1;
            continue;
        }
        for (size_t d = 0; d < nd; d++)
            cnt[d + 1] += cnt[d];
        for (size_t i = 0; i < n; i++) {
            size_t at = cnt[(a[i].key >> sh) & mask]++;
            t[at] = a[i];
            armt[at] = arm[i];
        }
        /* cnt[d] is now the end of bucket d: each bucket sorted in t, a as its scratch */
        for (size_t d = 0, b0 = 0; d < nd; d++) {
            size_t b1 = cnt[d];
            if (b1 - b0 > 1 && srow_sort(t + b0, armt + b0, a + b0, arm + b0, b1 - b0, sh - 1)) {
                memcpy(t + b0, a + b0, (b1 - b0) * sizeof *t);
                memcpy(armt + b0, arm + b0, b1 - b0);
            }
            b0 = b1;
        }
        return 1;
    }
    for (size_t p = 1; p < n; p++) {
        srow x = a[p];
        uint8_t ax = arm[p];
        size_t q = p;
        while (q > 0 && a[q - 1].key > x.key) {
            a[q] = a[q - 1];
            arm[q] = arm[q - 1];
            q--;
        }
        a[q] = x;
        arm[q] = ax;
    }
    return 0;
}

/* Every customer of score set sl at margins mg in profit order (best first, ties by customer
 * index: the order entry_sort gives), into b's buffers (allocated on first use: n rows each);
 * *rows and *arms point at the sorted arrays, *n_rows the customers not excluded (exclude:
 * NULL or promo_surface_params.exclude; the excluded are no rows, the others keep their
 * order, so ties stay in customer order). The same profits and keys as a sorted entry's,
 * without its gather into new arrays: one pass over the scores, one over the keys to count,
 * one scatter, then the buckets in cache. */
static int surface_rows(const promo_forecaster *f,
                        const score_slot *sl,
                        const margins *mg,
                        const uint8_t *exclude,
                        sbuf *b,
                        const srow **rows,
                        const uint8_t **arms,
                        size_t *n_rows)
{
    size_t n = f->n, m = n ? n : 1;
    if (!b->a) {
        b->a = promo_mallocn(m, sizeof *b->a);
        b->t = promo_mallocn(m, sizeof *b->t);
        b->arm = promo_mallocn(m, 1);
        b->armt = promo_mallocn(m, 1);
        b->hist = promo_mallocn(SROW_CELLS, sizeof *b->hist);
        b->bstart = promo_mallocn(SROW_CELLS + 1, sizeof *b->bstart);
        b->bucket = promo_mallocn(SROW_CELLS, sizeof *b->bucket);
        if (!b->a || !b->t || !b->arm || !b->armt || !b->hist || !b->bstart || !b->bucket) {
            sbuf_free(b);
            return PROMO_ENOMEM;
        }
    }
    uint32_t *hist = b->hist;
    memset(hist, 0, SROW_CELLS * sizeof *hist);
    uint64_t kor = 0, kand = UINT64_MAX;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (exclude && exclude[i])
            continue;
        double p0 = 0, p1 = 0;
        uint8_t arm = 1;
        best_arm(f, sl, mg, i, &p0, &p1, &arm);
        uint64_t k = desc_key(p1 * mg->m1 - p0 * mg->m0 - mg->c[arm]);
        b->a[w].key = k;
        b->a[w].p0 = (float)p0;
        b->a[w].p1 = (float)p1;
        b->arm[w] = arm;
        w++;
        kor |= k;
        kand &= k;
        hist[SROW_CELL(k)]++;
    }
    n = w; /* the rows: the customers not excluded */
    *n_rows = n;
    /* the bits every key shares need no pass */
    int hi = kor == kand ? -1 : 63 - __builtin_clzll(kor ^ kand);
    /* buckets of n / 64 keys up to SROW_BUCKET (small worlds take this path too) */
    size_t target = n / 64 < 128 ? 128 : n / 64 > SROW_BUCKET ? SROW_BUCKET : n / 64;
    if (n <= 2 * target || hi < 64 - SROW_CELL_BITS) { /* small, or one cell: from the top */
        int in_t = srow_sort(b->a, b->arm, b->t, b->armt, n, hi);
        *rows = in_t ? b->t : b->a;
        *arms = in_t ? b->armt : b->arm;
        return PROMO_OK;
    }
    /* A key's top 20 bits are the profit's sign, exponent and 8 bits of mantissa. Profits
     * crowd into a few binades (at a million customers of the generated world, 22 buckets of
     * top-16-bit cells held them all), so a first digit of fixed bits would leave buckets of
     * a quarter million. Instead adjacent cells of the top-20-bit histogram (counted in the
     * pass above; the crowded cells are few, so the counts stay in cache) are merged into
     * buckets of about `target` keys (a crowded cell alone), one stable scatter puts every key
     * in its bucket, and each bucket, a contiguous key range of cache size, is sorted on the
     * bits its keys do not share. */
    uint32_t nb = 0, fill = 0;
    for (size_t c = 0; c < SROW_CELLS; c++) {
        if (!hist[c])
            continue;
        if (nb == 0 || (fill && fill + hist[c] > target)) {
            b->bstart[nb++] = 0;
            fill = 0;
        }
        fill += hist[c];
        b->bucket[c] = nb - 1;
        b->bstart[nb - 1] += hist[c];
    }
    /* bucket sizes -> starts (bstart[nb] = n) */
    uint32_t run = 0;
    for (uint32_t q = 0; q < nb; q++) {
        uint32_t sz = b->bstart[q];
        b->bstart[q] = run;
        run += sz;
    }
    b->bstart[nb] = run;
    uint32_t *pos = hist; /* reused: the buckets' write positions */
    memcpy(pos, b->bstart, nb * sizeof *pos);
    for (size_t i = 0; i < n; i++) {
        uint32_t at = pos[b->bucket[SROW_CELL(b->a[i].key)]]++;
        b->t[at] = b->a[i];
        b->armt[at] = b->arm[i];
    }
    for (uint32_t q = 0; q < nb; q++) {
        size_t b0 = b->bstart[q], b1 = b->bstart[q + 1];
        if (b1 - b0 < 2)
            continue;
        uint64_t bo = 0, ba = UINT64_MAX;
        for (size_t i = b0; i < b1; i++) {
            bo |= b->t[i].key;
            ba &= b->t[i].key;
        }
        int bh = bo == ba ? -1 : 63 - __builtin_clzll(bo ^ ba);
        if (srow_sort(b->t + b0, b->armt + b0, b->a + b0, b->arm + b0, b1 - b0, bh)) {
            memcpy(b->t + b0, b->a + b0, (b1 - b0) * sizeof *b->t);
            memcpy(b->armt + b0, b->arm + b0, b1 - b0);
        }
    }
    *rows = b->t;
    *arms = b->armt;
    return PROMO_OK;
}

/* best_count over sorted rows. */
static void best_count_rows(const margins *mg,
                            const srow *r,
                            const uint8_t *arm,
                            size_t max_target,
                            double budget,
                            size_t *n_best,
                            double *profit_best)
{
    double cum = 0, spent = 0, best = -INFINITY;
    size_t nb = 0;
    for (size_t j = 0; j < max_target; j++) {
        double p0 = r[j].p0, p1 = r[j].p1, c = mg->c[arm[j]];
        double s = p1 * mg->price * mg->d + c;
        if (spent + s > budget)
            break;
        spent += s;
        cum += p1 * mg->m1 - p0 * mg->m0 - c;
        if (cum > best) {
            best = cum;
            nb = j + 1;
        }
    }
    *n_best = nb;
    *profit_best = nb ? best : 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int promo_forecast_surface(promo_forecaster *f, const promo_surface_params *p, promo_surface **out)
{
    *out = NULL;
    int rc = check_product(p->product_id);
    if (rc)
        return rc;
    if ((rc = check_budget(p->budget)) || (rc = check_interval(p->interval)))
        return rc;
    if (p->max_points < 2 || p->max_points > 1000)
        return promo_fail(PROMO_EUSAGE, "max_points: expected 2 to 1000, got %zu", p->max_points);
    size_t nd = p->discounts ? p->n_discounts : 51;
    if (nd == 0 || nd > MAX_GRID_DISCOUNTS)
        return promo_fail(PROMO_EUSAGE, "discounts: expected 1 to %d values, got %zu",
                          MAX_GRID_DISCOUNTS, nd);
    for (size_t i = 0; p->discounts && i < nd; i++) {
        double d = p->discounts[i];
        if (!(d >= 0 && d <= 90))
            return promo_fail(PROMO_EUSAGE, "discounts: expected numbers from 0 to 90, got %g", d);
        if (i && !(d > p->discounts[i - 1]))
            return promo_fail(PROMO_EUSAGE, "discounts: expected strictly ascending values");
    }
    size_t n = f->n;
    if (p->max_target > n)
        return promo_fail(PROMO_EUSAGE, "max_target: %zu is more than the %zu customers",
                          p->max_target, n);
    if (n == 0)
        return promo_fail(PROMO_EINPUT, "product_id: the workspace has no customers to target");
    /* the candidates: the customers not excluded, the surface's rows */
    size_t n_cand = n;
    for (size_t i = 0; p->exclude && i < n; i++)
        n_cand -= p->exclude[i] != 0;
    if (n_cand == 0)
        return promo_fail(PROMO_EINPUT, "exclude: every one of the %zu customers is excluded", n);
    size_t T = p->max_target ? p->max_target : n_cand;
    if (T > n_cand) /* a count past the candidates: the surface ends at all of them */
        T = n_cand;
    promo_surface *sf = promo_calloc(1, sizeof *sf);
    size_t *nbest = NULL, *wnb = NULL;
    double *wpb = NULL, *pb_of = NULL;
    score_slot **slot_of = NULL;
    int *rcs = NULL;
    sbuf *bufs = NULL; /* one per thread */
    int nth = f->n_threads > 0 ? f->n_threads : omp_get_max_threads();
    if (!sf)
        return PROMO_ENOMEM;
    rc = PROMO_ENOMEM;
    if (!(sf->discounts = promo_mallocn(nd, sizeof *sf->discounts)) ||
        !(nbest = promo_mallocn(nd, sizeof *nbest)))
        goto fail;
    for (size_t i = 0; i < nd; i++)
        sf->discounts[i] = p->discounts ? p->discounts[i] : (double)i;
    snprintf(sf->product_id, sizeof sf->product_id, "%s", p->product_id);
    sf->n_customers = n;
    sf->n_candidates = n_cand;
    sf->n_discounts = nd;
    sf->outcomes = f->outcomes;

    /* Pass 1: every discount's best count; the optimum over those inside the log's range
     * (ties: the first discount). */
    sf->support_lo = p->extrapolate ? 0 : f->disc_lo;
    sf->support_hi = p->extrapolate ? 90 : f->disc_hi;
    int any_inside = 0;
    for (size_t i = 0; i < nd; i++)
        any_inside |= sf->discounts[i] >= sf->support_lo && sf->discounts[i] <= sf->support_hi;
    if (!any_inside) {
        sf->support_lo = 0;
        sf->support_hi = 90;
    }
    /* Without a budget and over every customer, a discount's best count is (up to rounding)
     * its number of customers of positive profit, which needs no order: pass 1 then reads the
     * unsorted figures, pass 2 sorts each discount once and checks the guess against the walk
     * (the old rule: the first count of the largest cumulative profit); a miss (a near-tie in
     * rounding) runs pass 2 again with the walked counts. With a budget or a smaller
     * max_target, pass 1 sorts and walks as pass 2 does. */
    int guess = !isfinite(p->budget) && T == n_cand;
    rc = PROMO_ENOMEM;
    if (!(wpb = promo_mallocn(nd, sizeof *wpb)) || !(wnb = promo_mallocn(nd, sizeof *wnb)) ||
        !(pb_of = promo_mallocn(nd, sizeof *pb_of)) ||
        !(slot_of = promo_mallocn(nd, sizeof *slot_of)) || !(rcs = promo_calloc(nd, sizeof *rcs)) ||
        !(bufs = promo_calloc((size_t)nth, sizeof *bufs)))
        goto fail;
    /* every discount's score set, loaded once here (one model call per anchor) and held for
     * the call; the discounts are then independent and run in parallel (each row of cells
     * written by one thread: the same figures whatever the thread count) */
    f->slot_limit = SLOT_CAP;
    for (size_t i = 0; i < nd; i++)
        if ((rc = scores_get(f, p->product_id, anchor_of(f, sf->discounts[i]), &slot_of[i])))
            goto fail;
    sf->price = slot_of[0]->price;
    sf->cost = slot_of[0]->cost;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
    for (size_t i = 0; i < nd; i++) {
        /* only the discounts the optimum is sought among need their best count (outside the
         * log's range: 25 of the default 51 with a 5-30% log) */
        if (!(sf->discounts[i] >= sf->support_lo && sf->discounts[i] <= sf->support_hi)) {
            nbest[i] = 0;
            pb_of[i] = 0;
            continue;
        }
        if (guess) {
            margins mg = slot_margins(f, slot_of[i], sf->discounts[i]);
            size_t pos = 0;
            double sum = 0, top = -INFINITY;
            const uint8_t *ex = p->exclude;
            for (size_t k = 0; k < n; k++) {
                if (ex && ex[k])
                    continue;
                double p0 = 0, p1 = 0;
                uint8_t arm = 1;
                best_arm(f, slot_of[i], &mg, k, &p0, &p1, &arm);
                double v = p1 * mg.m1 - p0 * mg.m0 - mg.c[arm];
                if (v > 0) {
                    pos++;
                    sum += v;
                }
                top = v > top ? v : top;
            }
            nbest[i] = pos ? pos : 1;
            pb_of[i] = pos ? sum : top;
        } else {
            margins mg = slot_margins(f, slot_of[i], sf->discounts[i]);
            const srow *rows = NULL;
            const uint8_t *arms = NULL;
            size_t nr = 0;
            rcs[i] = surface_rows(f, slot_of[i], &mg, p->exclude, &bufs[omp_get_thread_num()],
                                  &rows, &arms, &nr);
            if (!rcs[i])
                best_count_rows(&mg, rows, arms, T < nr ? T : nr, p->budget, &nbest[i], &pb_of[i]);
        }
    }
    for (size_t i = 0; i < nd; i++)
        if ((rc = rcs[i]))
            goto fail;
    size_t oi = 0;
    double obest = -INFINITY;
    for (size_t i = 0; i < nd; i++) {
        int inside = sf->discounts[i] >= sf->support_lo && sf->discounts[i] <= sf->support_hi;
        if (inside && nbest[i] && pb_of[i] > obest) {
            obest = pb_of[i];
            oi = i;
        }
    }
    size_t on = obest > -INFINITY ? nbest[oi] : 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        /* The count grid: max_points - 1 evenly spaced counts ending at T, and the optimum's. */
        rc = PROMO_ENOMEM;
        size_t P = p->max_points, nt = 0;
        promo_free(sf->targets);
        if (!(sf->targets = promo_mallocn(P + 1, sizeof *sf->targets)))
            goto fail;
        if (T <= P - 1) {
            for (size_t t = 1; t <= T; t++)
                sf->targets[nt++] = t;
        } else {
            for (size_t k = 1; k <= P - 1; k++) {
                size_t t = (size_t)floor((double)T * (double)k / (double)(P - 1) + 0.5);
                if (t >= 1 && (nt == 0 || t > sf->targets[nt - 1]))
                    sf->targets[nt++] = t;
            }
        }
        if (on) {
            int found = 0;
            for (size_t j = 0; j < nt; j++)
                found |= sf->targets[j] == on;
            if (!found) {
                sf->targets[nt++] = on;
                qsort(sf->targets, nt, sizeof *sf->targets, cmp_size);
            }
        }
        /* at most max_points: a grid of exactly P - 1 points plus the optimum's count, or all
         * counts up to T <= P - 1 */
        sf->n_targets = nt;
        size_t cells = nd * nt;
        if (!sf->profit &&
            (!(sf->profit = promo_mallocn(cells + nd, sizeof(double))) ||
             !(sf->revenue = promo_mallocn(cells + nd, sizeof(double))) ||
             !(sf->conversions = promo_mallocn(cells + nd, sizeof(double))) ||
             !(sf->incremental_conversions = promo_mallocn(cells + nd, sizeof(double))) ||
             !(sf->roi = promo_mallocn(cells + nd, sizeof(double))) ||
             !(sf->spend = promo_mallocn(cells + nd, sizeof(double)))))
            goto fail;

        /* Pass 2: each discount sorted once, its row of cells, and the walk's own best count
         * (for the guess's check) */
        const size_t *tg = sf->targets;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
        for (size_t ii = 0; ii < nd; ii++) {
            margins mg = slot_margins(f, slot_of[ii], sf->discounts[ii]);
            const srow *rows = NULL;
            const uint8_t *arms = NULL;
            size_t nr = 0;
            rcs[ii] = surface_rows(f, slot_of[ii], &mg, p->exclude, &bufs[omp_get_thread_num()],
                                   &rows, &arms, &nr);
            if (rcs[ii])
                continue;
            acc a = {0};
            size_t j = 0;
            double cum_best = -INFINITY;
            wnb[ii] = 0;
            for (size_t k = 0; k < T && k < nr && j < nt; k++) {
                acc_add_p(&a, &mg, rows[k].p0, rows[k].p1, mg.c[arms[k]]);
                if (a.profit > cum_best) {
                    cum_best = a.profit;
                    wnb[ii] = k + 1;
                }
                if (k + 1 == tg[j]) {
                    promo_forecast_figures g = acc_figures(&a, p->interval);
                    size_t c = ii * nt + j;
                    sf->profit[c] = g.incremental_profit;
                    sf->revenue[c] = g.incremental_revenue;
                    sf->conversions[c] = g.expected_conversions;
                    sf->incremental_conversions[c] = g.incremental_conversions;
                    sf->roi[c] = g.roi;
                    sf->spend[c] = g.discount_cost + g.contact_cost;
                    if (ii == oi && k + 1 == on) {
                        sf->optimum.figures = g;
                        sf->optimum.target_index = j;
                    }
                    j++;
                }
            }
            wpb[ii] = cum_best;
        }
        for (size_t i = 0; i < nd; i++)
            if ((rc = rcs[i]))
                goto fail;
        if (!guess)
            break;
        /* the guess against the walk: the optimum as the old rule finds it */
        size_t oi2 = 0;
        double ob2 = -INFINITY;
        for (size_t i = 0; i < nd; i++) {
            int inside = sf->discounts[i] >= sf->support_lo && sf->discounts[i] <= sf->support_hi;
            if (inside && wnb[i] && wpb[i] > ob2) {
                ob2 = wpb[i];
                oi2 = i;
            }
        }
        size_t on2 = ob2 > -INFINITY ? wnb[oi2] : 0;
        if (oi2 == oi && on2 == on)
            break;
        oi = oi2;
        on = on2;
        guess = 0; /* the second pass takes the walked optimum as it is */
    }
    sf->optimum.discount_index = oi;
    sf->optimum.discount_pct = sf->discounts[oi];
    sf->optimum.target = on;
    if (!on) /* nothing fits the budget: the empty campaign */
        sf->optimum.figures = acc_figures(&(acc){0}, p->interval);
    rc = PROMO_OK;
    *out = sf;
    sf = NULL;
fail:
    f->slot_limit = MAX_SLOTS;
    slots_trim(f, MAX_SLOTS);
    promo_free(nbest);
    promo_free(wnb);
    promo_free(wpb);
    promo_free(pb_of);
    promo_free(slot_of);
    promo_free(rcs);
    for (int t = 0; bufs && t < nth; t++)
        sbuf_free(&bufs[t]);
    promo_free(bufs);
    promo_surface_free(sf);
    return rc;
}

/* ---------------------------------------------------- personalised discounts ---- */

promo_personalize_params promo_personalize_params_default(void)
{
    promo_personalize_params p = {.budget = INFINITY, .interval = 0.90};
    return p;
}

void promo_personalized_free(promo_personalized *x)
{
    if (!x)
        return;
    promo_free(x->picks);
    promo_free(x->discount_pct);
    promo_free(x);
}

/* One customer's options: rung k's profit and spend, and what the pick needs. */
typedef struct rung_data {
    double *profit, *spend, *p0, *p1, *c; /* n x K */
    uint8_t *arm;                         /* n x K */
} rung_data;

/* Every customer's choice at lambda (-1: none); the choice's profit, spend, contacts and the
 * Lagrangian's value. */
static void choose_at(const rung_data *d,
                      size_t n,
                      size_t K,
                      double lambda,
                      int8_t *pick,
                      double *profit,
                      double *spend,
                      size_t *contacts,
                      double *lagr)
{
    double pr = 0, sp = 0, lv = 0;
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        double best = 0;
        int8_t b = -1;
        for (size_t k = 0; k < K; k++) {
            double v = d->profit[i * K + k] - lambda * d->spend[i * K + k];
            if (v > best) {
                best = v;
                b = (int8_t)k;
            }
        }
        pick[i] = b;
        if (b >= 0) {
            pr += d->profit[i * K + (size_t)b];
            sp += d->spend[i * K + (size_t)b];
            lv += best;
            nc++;
        }
    }
    *profit = pr;
    *spend = sp;
    *contacts = nc;
    *lagr = lv;
}

typedef struct upgrade {
    double ratio; /* marginal profit per marginal spend */
    uint32_t i;
    int8_t to;
} upgrade;

static int by_ratio_desc(const void *a, const void *b)
{
    const upgrade *x = a, *y = b;
    if (x->ratio != y->ratio)
        return x->ratio > y->ratio ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

typedef struct by_profit_item {
    double profit;
    uint32_t i;
} by_profit_item;

static int by_profit_desc(const void *a, const void *b)
{
    const by_profit_item *x = a, *y = b;
    if (x->profit != y->profit)
        return x->profit > y->profit ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int promo_forecast_personalize(promo_forecaster *f,
                               const promo_personalize_params *p,
                               promo_personalized **out)
{
    *out = NULL;
    static const double def_ladder[] = {5, 10, 15, 20, 25};
    int rc = check_product(p->product_id);
    if (rc)
        return rc;
    if ((rc = check_budget(p->budget)) || (rc = check_interval(p->interval)))
        return rc;
    const double *ladder = p->ladder ? p->ladder : def_ladder;
    size_t K = p->ladder ? p->n_ladder : 5, n = f->n;
    if (K == 0 || K > 20)
        return promo_fail(PROMO_EUSAGE, "ladder: expected 1 to 20 discounts, got %zu", K);
    for (size_t k = 0; k < K; k++)
        if (!(ladder[k] >= 0 && ladder[k] <= 90) || (k && !(ladder[k] > ladder[k - 1])))
            return promo_fail(PROMO_EUSAGE,
                              "ladder: expected strictly ascending discounts from 0 to 90");
    rung_data d = {0};
    int8_t *pick = NULL, *best_pick = NULL;
    upgrade *up = NULL;
    by_profit_item *bp = NULL;
    promo_personalized *x = NULL;
    size_t nk = (n ? n : 1) * K;
    rc = PROMO_ENOMEM;
    if (!(d.profit = promo_mallocn(nk, sizeof(double))) ||
        !(d.spend = promo_mallocn(nk, sizeof(double))) ||
        !(d.p0 = promo_mallocn(nk, sizeof(double))) ||
        !(d.p1 = promo_mallocn(nk, sizeof(double))) || !(d.c = promo_mallocn(nk, sizeof(double))) ||
        !(d.arm = promo_mallocn(nk, 1)) || !(pick = promo_mallocn(n ? n : 1, 1)) ||
        !(best_pick = promo_mallocn(n ? n : 1, 1)))
        goto done;
    /* every rung's figures per customer, copied out of the cache (which may evict) */
    double price = 0, cost = 0;
    for (size_t k = 0; k < K; k++) {
        entry *e = NULL;
        if ((rc = entry_get(f, p->product_id, ladder[k], 0, &e)))
            goto done;
        price = e->price;
        cost = e->cost;
        margins mg = entry_margins(f, e);
        for (size_t j = 0; j < n; j++) {
            size_t at = (size_t)cust_at(e, j) * K + k;
            d.profit[at] = customer_profit(&mg, e, j);
            d.spend[at] = spend_of(&mg, e, j);
            d.p0[at] = e->p0[j];
            d.p1[at] = e->p1[j];
            d.arm[at] = e->arm[j];
            d.c[at] = mg.c[e->arm[j]];
        }
    }
    /* the excluded are no candidates: no rung of theirs is ever worth taking */
    for (size_t i = 0; p->exclude && i < n; i++)
        if (p->exclude[i])
            for (size_t k = 0; k < K; k++)
                d.profit[i * K + k] = -INFINITY;
    rc = PROMO_ENOMEM;
    if (!(x = promo_calloc(1, sizeof *x)))
        goto done;
    double B = p->budget, pr = 0, sp = 0, lv = 0;
    size_t nc = 0;
    choose_at(&d, n, K, 0, pick, &pr, &sp, &nc, &lv);
    x->upper_bound = lv; /* L(0): the unconstrained optimum */
    double lambda = 0;
    if (sp > B) {
        /* the smallest lambda that fits: bracket, then bisect */
        double lo = 0, hi = 1;
        for (int it = 0; it < 200; it++) {
            choose_at(&d, n, K, hi, pick, &pr, &sp, &nc, &lv);
            if (lv + hi * B < x->upper_bound)
                x->upper_bound = lv + hi * B;
            if (sp <= B)
                break;
            lo = hi;
            hi *= 2;
        }
        memcpy(best_pick, pick, n);
        for (int it = 0; it < 60; it++) {
            double mid = (lo + hi) / 2;
            choose_at(&d, n, K, mid, pick, &pr, &sp, &nc, &lv);
            if (lv + mid * B < x->upper_bound)
                x->upper_bound = lv + mid * B;
            if (sp <= B) {
                hi = mid;
                memcpy(best_pick, pick, n);
            } else {
                lo = mid;
            }
        }
        lambda = hi;
        memcpy(pick, best_pick, n);
    }
    /* the contact limit: keep the customers of largest profit */
    size_t chosen = 0;
    for (size_t i = 0; i < n; i++)
        chosen += pick[i] >= 0;
    if (p->max_contacts && chosen > p->max_contacts) {
        if (!(bp = promo_mallocn(chosen, sizeof *bp)))
            goto done;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (pick[i] >= 0)
                bp[m++] = (by_profit_item){d.profit[i * K + (size_t)pick[i]], (uint32_t)i};
        qsort(bp, m, sizeof *bp, by_profit_desc);
        for (size_t q = p->max_contacts; q < m; q++)
            pick[bp[q].i] = -1;
        chosen = p->max_contacts;
    }
    /* the greedy pass over what the budget has left: new customers and rungs up, by marginal
     * profit per marginal spend, each applied when it still fits and its base is unchanged */
    double spent = 0;
    for (size_t i = 0; i < n; i++)
        if (pick[i] >= 0)
            spent += d.spend[i * K + (size_t)pick[i]];
    if (isfinite(B)) {
        size_t nu = 0;
        if (!(up = promo_mallocn(nk, sizeof *up)))
            goto done;
        for (size_t i = 0; i < n; i++) {
            double p_cur = pick[i] >= 0 ? d.profit[i * K + (size_t)pick[i]] : 0;
            double s_cur = pick[i] >= 0 ? d.spend[i * K + (size_t)pick[i]] : 0;
            for (size_t k = 0; k < K; k++) {
                double dp = d.profit[i * K + k] - p_cur, ds = d.spend[i * K + k] - s_cur;
                if (dp > 0 && ds > 0)
                    up[nu++] = (upgrade){dp / ds, (uint32_t)i, (int8_t)k};
            }
        }
        qsort(up, nu, sizeof *up, by_ratio_desc);
        memcpy(best_pick, pick, n); /* the base of each upgrade */
        for (size_t u = 0; u < nu; u++) {
            uint32_t i = up[u].i;
            if (pick[i] != best_pick[i])
                continue; /* already moved */
            int newc = pick[i] < 0;
            if (newc && p->max_contacts && chosen >= p->max_contacts)
                continue;
            double s_cur = pick[i] >= 0 ? d.spend[(size_t)i * K + (size_t)pick[i]] : 0;
            double ds = d.spend[(size_t)i * K + (size_t)up[u].to] - s_cur;
            if (spent + ds > B)
                continue;
            spent += ds;
            pick[i] = up[u].to;
            chosen += (size_t)newc;
        }
    }
    /* the allocation */
    snprintf(x->product_id, sizeof x->product_id, "%s", p->product_id);
    x->budget = B;
    x->lambda = lambda;
    rc = PROMO_ENOMEM;
    promo_free(bp);
    bp = NULL;
    if (!(bp = promo_mallocn(chosen ? chosen : 1, sizeof *bp)) ||
        !(x->picks = promo_calloc(chosen ? chosen : 1, sizeof *x->picks)) ||
        !(x->discount_pct = promo_mallocn(chosen ? chosen : 1, sizeof *x->discount_pct)))
        goto done;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (pick[i] >= 0)
            bp[m++] = (by_profit_item){d.profit[i * K + (size_t)pick[i]], (uint32_t)i};
    qsort(bp, m, sizeof *bp, by_profit_desc);
    acc a = {0};
    for (size_t q = 0; q < m; q++) {
        size_t i = bp[q].i, at = i * K + (size_t)pick[i];
        double dd = ladder[pick[i]] / 100.0;
        margins mg = {.m1 = price * (1.0 - dd) - cost,
                      .m0 = price - cost,
                      .d = dd,
                      .price = price,
                      .c = f->contact_cost};
        /* a one-customer entry view for acc_add */
        double p0v = d.p0[at], p1v = d.p1[at];
        uint8_t armv = d.arm[at];
        uint32_t ord = (uint32_t)i;
        entry one = {.p0 = &p0v, .p1 = &p1v, .arm = &armv, .order = &ord};
        acc_add(&a, &mg, &one, 0);
        promo_forecast_pick *pk = &x->picks[q];
        pk->customer = (uint32_t)i;
        pk->customer_id = f->ids[i];
        pk->probability = p1v;
        pk->p0 = p0v;
        pk->uplift = p1v - p0v;
        pk->expected_profit = d.profit[at];
        pk->expected_revenue = p1v * price * (1.0 - dd);
        pk->arm = armv;
        pk->contact_cost = d.c[at];
        x->discount_pct[q] = ladder[pick[i]];
        x->n_by_rung[pick[i]]++;
    }
    x->n = m;
    x->figures = acc_figures(&a, p->interval);
    if (x->upper_bound < x->figures.incremental_profit) /* rounding only */
        x->upper_bound = x->figures.incremental_profit;
    x->gap = x->upper_bound - x->figures.incremental_profit;
    *out = x;
    x = NULL;
    rc = PROMO_OK;
done:
    promo_free(d.profit);
    promo_free(d.spend);
    promo_free(d.p0);
    promo_free(d.p1);
    promo_free(d.c);
    promo_free(d.arm);
    promo_free(pick);
    promo_free(best_pick);
    promo_free(up);
    promo_free(bp);
    promo_personalized_free(x);
    return rc;
}
