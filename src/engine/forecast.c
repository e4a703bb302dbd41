/* src/engine/forecast.c: campaign forecasts, the response surface and its optimum from the
 * uplift model (include/promo/forecast.h).
 *
 * Everything rests on one cached object per (product, discount): every customer's p0, p1 and
 * contact arm, and the customers' order by expected profit (best first, ties by customer
 * index). A point forecast ranked by profit walks the first N of that order; the surface walks
 * the whole order once per discount. The order is an LSD radix sort of the profits' order-
 * preserving 64-bit images (8 passes of 8 bits, stable, so ties keep customer order): O(n) per
 * discount, against O(n log n) for a comparison sort, which matters on the surface's 51
 * discounts of a million customers. The model is called once per (product, discount) while
 * the object stays in the cache (least recently used first out past the byte limit).
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/rng.h>
#include <promo/uplift_score.h>

#define DEFAULT_CACHE_BYTES ((size_t)256 << 20)
#define MAX_GRID_DISCOUNTS  91

/* One scored (product, discount). */
typedef struct entry {
    char product[256];
    double discount_pct;
    double price, cost; /* cost 0 when unknown */
    double *p0, *p1;    /* n: outcome without and with the offer */
    uint8_t *arm;       /* n: contact arm (>= 1) */
    uint32_t *order;    /* n: customers by expected profit, best first */
    size_t bytes;
    uint64_t used; /* LRU clock */
} entry;

struct promo_forecaster {
    promo_uplift_scorer *h;
    size_t n;             /* customers */
    int n_arms;           /* control included */
    double *contact_cost; /* n_arms */
    const char **ids;     /* n customer ids, borrowed from the scorer */
    int outcomes;         /* the learner has outcome models */
    entry **cache;
    size_t n_cache, cap_cache;
    size_t cache_bytes, cache_limit;
    uint64_t clock;
};

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
    promo_free(f->cache);
    promo_free(f->contact_cost);
    promo_free(f->ids);
    promo_uplift_scorer_free(f->h);
    promo_free(f);
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

void promo_forecaster_set_cache_bytes(promo_forecaster *f, size_t bytes)
{
    f->cache_limit = bytes;
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

/* Indices 0..n-1 sorted by key ascending, ties by index (stable LSD radix, 8 x 8 bits). */
static int radix_order(const uint64_t *key, size_t n, uint32_t *order)
{
    uint32_t *tmp = promo_mallocn(n ? n : 1, sizeof *tmp);
    uint64_t *k = promo_mallocn(n ? n : 1, sizeof *k), *k2 = promo_mallocn(n ? n : 1, sizeof *k2);
    if (!tmp || !k || !k2) {
        promo_free(tmp);
        promo_free(k);
        promo_free(k2);
        return PROMO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = (uint32_t)i;
        k[i] = key[i];
    }
    uint32_t *src = order, *dst = tmp;
    uint64_t *ks = k, *kd = k2;
    for (int pass = 0; pass < 8; pass++) {
        size_t cnt[257] = {0};
        int shift = pass * 8;
        for (size_t i = 0; i < n; i++)
            cnt[((ks[i] >> shift) & 0xff) + 1]++;
        if (cnt[((ks[0] >> shift) & 0xff) + 1] == n) /* one digit value: nothing moves */
            continue;
        for (int b = 0; b < 256; b++)
            cnt[b + 1] += cnt[b];
        for (size_t i = 0; i < n; i++) {
            size_t at = cnt[(ks[i] >> shift) & 0xff]++;
            dst[at] = src[i];
            kd[at] = ks[i];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
        uint64_t *tk = ks;
        ks = kd;
        kd = tk;
    }
    if (src != order)
        memcpy(order, src, n * sizeof *order);
    promo_free(tmp);
    promo_free(k);
    promo_free(k2);
    return PROMO_OK;
}

static double clamp01(double p)
{
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* Margins and contact cost of one (product, discount). */
typedef struct margins {
    double m1, m0, d, price;
    const double *c; /* per arm */
} margins;

static margins entry_margins(const promo_forecaster *f, const entry *e)
{
    margins m;
    m.d = e->discount_pct / 100.0;
    m.price = e->price;
    m.m1 = e->price * (1.0 - m.d) - e->cost;
    m.m0 = e->price - e->cost;
    m.c = f->contact_cost;
    return m;
}

static double customer_profit(const margins *m, const entry *e, size_t i)
{
    return e->p1[i] * m->m1 - e->p0[i] * m->m0 - m->c[e->arm[i]];
}

/* Score (product, discount) and build its entry. */
static int entry_build(promo_forecaster *f, const char *product, double discount, entry **out)
{
    *out = NULL;
    char target[300];
    snprintf(target, sizeof target, "product:%s", product);
    promo_uplift_offer o = {.target = target, .discount_pct = discount};
    promo_uplift_scores *sc = NULL;
    uint64_t *key = NULL;
    int rc = promo_uplift_scorer_score(f->h, &o, &sc);
    if (rc == PROMO_EINPUT)
        return promo_fail(PROMO_EINPUT, "product_id: no product '%s' in the workspace", product);
    if (rc)
        return rc;
    entry *e = promo_calloc(1, sizeof *e);
    if (!e) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    if (!isfinite(sc->price) || sc->price < 0) {
        rc = promo_fail(PROMO_EINPUT, "product_id: product '%s' has no price", product);
        goto fail;
    }
    snprintf(e->product, sizeof e->product, "%s", product);
    e->discount_pct = discount;
    e->price = sc->price;
    e->cost = isfinite(sc->cost) ? sc->cost : 0.0;
    size_t n = f->n, K = (size_t)f->n_arms, E = K - 1, m = n ? n : 1;
    e->p0 = promo_mallocn(m, sizeof *e->p0);
    e->p1 = promo_mallocn(m, sizeof *e->p1);
    e->arm = promo_mallocn(m, sizeof *e->arm);
    e->order = promo_mallocn(m, sizeof *e->order);
    key = promo_mallocn(m, sizeof *key);
    if (!e->p0 || !e->p1 || !e->arm || !e->order || !key) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    e->bytes = sizeof *e + n * (2 * sizeof(double) + sizeof(uint8_t) + sizeof(uint32_t));
    margins mg = entry_margins(f, e);
    for (size_t i = 0; i < n; i++) {
        /* the arm of largest expected profit (ties: the first) */
        double best = -INFINITY;
        for (size_t a = 1; a < K; a++) {
            double tau = sc->effect[i * E + a - 1];
            double p0 = f->outcomes ? sc->outcome[i * K] : 0.0;
            double p1 = f->outcomes ? clamp01(sc->outcome[i * K + a]) : tau;
            double v = p1 * mg.m1 - p0 * mg.m0 - f->contact_cost[a];
            if (v > best || a == 1) {
                best = v;
                e->p0[i] = p0;
                e->p1[i] = p1;
                e->arm[i] = (uint8_t)a;
            }
        }
        key[i] = desc_key(customer_profit(&mg, e, i));
    }
    if ((rc = radix_order(key, n, e->order)))
        goto fail;
    promo_free(key);
    promo_uplift_scores_free(sc);
    *out = e;
    return PROMO_OK;
fail:
    promo_free(key);
    promo_uplift_scores_free(sc);
    entry_free(e);
    return rc;
}

/* The entry of (product, discount): cached, or scored and cached. Borrowed until the next
 * call that may evict. */
static int entry_get(promo_forecaster *f, const char *product, double discount, entry **out)
{
    f->clock++;
    for (size_t i = 0; i < f->n_cache; i++)
        if (f->cache[i]->discount_pct == discount && strcmp(f->cache[i]->product, product) == 0) {
            f->cache[i]->used = f->clock;
            *out = f->cache[i];
            return PROMO_OK;
        }
    entry *e = NULL;
    int rc = entry_build(f, product, discount, &e);
    if (rc)
        return rc;
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

/* Add customer i of entry e. */
static void acc_add(acc *a, const margins *m, const entry *e, size_t i)
{
    double p0 = e->p0[i], p1 = e->p1[i], c = m->c[e->arm[i]];
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

int promo_forecast_point(promo_forecaster *f, const promo_forecast_request *r, promo_forecast **out)
{
    *out = NULL;
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
    entry *e = NULL;
    if ((rc = entry_get(f, r->product_id, r->discount_pct, &e)))
        return rc;
    size_t n = f->n, want = r->n_target && r->n_target < n ? r->n_target : n;
    promo_forecast *fc = promo_calloc(1, sizeof *fc);
    uint32_t *ord = NULL;
    uint64_t *key = NULL;
    if (!fc)
        return PROMO_ENOMEM;
    rc = PROMO_ENOMEM;
    margins mg = entry_margins(f, e);
    const uint32_t *order = e->order;
    if (r->rank_by != PROMO_FORECAST_RANK_PROFIT) {
        if (!(ord = promo_mallocn(n ? n : 1, sizeof *ord)) ||
            !(key = promo_mallocn(n ? n : 1, sizeof *key)))
            goto fail;
        for (size_t i = 0; i < n; i++)
            key[i] =
                desc_key(r->rank_by == PROMO_FORECAST_RANK_UPLIFT ? e->p1[i] - e->p0[i] : e->p1[i]);
        if ((rc = radix_order(key, n, ord)))
            goto fail;
        order = ord;
    }
    /* the budget: the longest prefix of the ranking within it */
    size_t k = 0;
    double spent = 0;
    for (; k < want; k++) {
        double s = spend_of(&mg, e, order[k]);
        if (spent + s > r->budget)
            break;
        spent += s;
    }
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
        goto fail;
    for (size_t j = 0; j < k; j++) {
        uint32_t i = order[j];
        promo_forecast_pick *p = &fc->picks[j];
        p->customer = i;
        p->customer_id = f->ids[i];
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
            goto fail;
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
            acc_add(&a, &mg, e, order[j]);
    fc->figures = acc_figures(&a, r->interval);
    promo_free(ord);
    promo_free(key);
    *out = fc;
    return PROMO_OK;
fail:
    promo_free(ord);
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

/* The best count of one discount: the n in 1..cap (cap: max_target, and the budget's prefix)
 * of the largest cumulative profit (the first such n), and that profit; n = 0 when not even
 * one customer fits the budget. */
static void best_count(const promo_forecaster *f,
                       const entry *e,
                       size_t max_target,
                       double budget,
                       size_t *n_best,
                       double *profit_best)
{
    margins mg = entry_margins(f, e);
    double cum = 0, spent = 0, best = -INFINITY;
    size_t nb = 0;
    for (size_t j = 0; j < max_target; j++) {
        uint32_t i = e->order[j];
        double s = spend_of(&mg, e, i);
        if (spent + s > budget)
            break;
        spent += s;
        cum += customer_profit(&mg, e, i);
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
    size_t T = p->max_target ? p->max_target : n;
    if (T == 0)
        return promo_fail(PROMO_EINPUT, "product_id: the workspace has no customers to target");
    promo_surface *sf = promo_calloc(1, sizeof *sf);
    size_t *nbest = NULL;
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
    sf->n_discounts = nd;
    sf->outcomes = f->outcomes;

    /* Pass 1: every discount's best count; the optimum over them (ties: the first discount). */
    size_t oi = 0;
    double obest = -INFINITY;
    for (size_t i = 0; i < nd; i++) {
        entry *e = NULL;
        if ((rc = entry_get(f, p->product_id, sf->discounts[i], &e)))
            goto fail;
        sf->price = e->price;
        sf->cost = e->cost;
        double pb = 0;
        best_count(f, e, T, p->budget, &nbest[i], &pb);
        if (nbest[i] && pb > obest) {
            obest = pb;
            oi = i;
        }
    }
    size_t on = obest > -INFINITY ? nbest[oi] : 0;

    /* The count grid: max_points - 1 evenly spaced counts ending at T, and the optimum's. */
    rc = PROMO_ENOMEM;
    size_t P = p->max_points, nt = 0;
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
    if (!(sf->profit = promo_mallocn(cells, sizeof(double))) ||
        !(sf->revenue = promo_mallocn(cells, sizeof(double))) ||
        !(sf->conversions = promo_mallocn(cells, sizeof(double))) ||
        !(sf->incremental_conversions = promo_mallocn(cells, sizeof(double))) ||
        !(sf->roi = promo_mallocn(cells, sizeof(double))) ||
        !(sf->spend = promo_mallocn(cells, sizeof(double))))
        goto fail;

    /* Pass 2: the cells, latest-scored discounts first (those the cache most likely holds). */
    for (size_t ii = nd; ii-- > 0;) {
        entry *e = NULL;
        if ((rc = entry_get(f, p->product_id, sf->discounts[ii], &e)))
            goto fail;
        margins mg = entry_margins(f, e);
        acc a = {0};
        size_t j = 0;
        for (size_t k = 0; k < T && j < nt; k++) {
            acc_add(&a, &mg, e, e->order[k]);
            if (k + 1 == sf->targets[j]) {
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
    }
    sf->optimum.discount_index = oi;
    sf->optimum.discount_pct = sf->discounts[oi];
    sf->optimum.target = on;
    if (!on) /* nothing fits the budget: the empty campaign */
        sf->optimum.figures = acc_figures(&(acc){0}, p->interval);
    promo_free(nbest);
    *out = sf;
    return PROMO_OK;
fail:
    promo_free(nbest);
    promo_surface_free(sf);
    return rc;
}
