/* The latent world: its arrays, the seasonality curve, the per-category alias samplers, the true
 * response model of promo/synth.h, and the round trip world <-> truth_* tables (so a workspace
 * can rebuild the exact world the history was drawn from).
 *
 * Sampling products by popularity uses Walker's alias method (Vose's O(n) construction,
 * M. D. Vose, "A linear algorithm for generating random numbers with a given distribution",
 * IEEE TSE 1991): O(1) per draw, which the 50M-line generator needs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/timeutil.h>

#include "synth/synth_internal.h"

promo_world *syn_world_alloc(uint32_t n_cust, uint32_t n_prod, uint32_t n_cat, uint32_t n_days)
{
    promo_world *w = promo_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->n_cust = n_cust;
    w->n_prod = n_prod;
    w->n_cat = n_cat;
    w->n_days = n_days;
    size_t nc = n_cust ? n_cust : 1, np = n_prod ? n_prod : 1;
    int ok = (w->cat_names = promo_calloc(n_cat, sizeof *w->cat_names)) &&
             (w->p_cat = promo_calloc(np, sizeof *w->p_cat)) &&
             (w->p_share = promo_calloc(np, sizeof *w->p_share)) &&
             (w->p_price = promo_calloc(np, sizeof *w->p_price)) &&
             (w->p_cost = promo_calloc(np, sizeof *w->p_cost)) &&
             (w->p_qmean = promo_calloc(np, sizeof *w->p_qmean)) &&
             (w->p_elast = promo_calloc(np, sizeof *w->p_elast)) &&
             (w->p_comp = promo_calloc(np * SYN_MAX_COMPLEMENTS, sizeof *w->p_comp)) &&
             (w->p_comp_w = promo_calloc(np * SYN_MAX_COMPLEMENTS, sizeof *w->p_comp_w)) &&
             (w->cat_start = promo_calloc(n_cat + 1, sizeof *w->cat_start)) &&
             (w->cat_prods = promo_calloc(np, sizeof *w->cat_prods)) &&
             (w->alias_p = promo_calloc(np, sizeof *w->alias_p)) &&
             (w->alias_j = promo_calloc(np, sizeof *w->alias_j)) &&
             (w->c_seg = promo_calloc(nc, 1)) && (w->c_type = promo_calloc(nc, 1)) &&
             (w->c_bwd = promo_calloc(nc, 1)) && (w->c_bhour = promo_calloc(nc, 1)) &&
             (w->c_store = promo_calloc(nc, sizeof *w->c_store)) &&
             (w->c_from = promo_calloc(nc, sizeof *w->c_from)) &&
             (w->c_churn = promo_calloc(nc, sizeof *w->c_churn)) &&
             (w->c_visit = promo_calloc(nc, sizeof(double))) &&
             (w->c_bmean = promo_calloc(nc, sizeof(double))) &&
             (w->c_effect = promo_calloc(nc, sizeof(double))) &&
             (w->c_dsens = promo_calloc(nc, sizeof(double))) &&
             (w->c_fsens = promo_calloc(nc, sizeof(double))) &&
             (w->c_psens = promo_calloc(nc, sizeof(double))) &&
             (w->c_online = promo_calloc(nc, sizeof(double))) &&
             (w->c_fat_end = promo_calloc(nc, sizeof(double))) &&
             (w->c_taste = promo_calloc(nc * n_cat, sizeof(float))) &&
             (w->c_habit = promo_calloc(nc, sizeof(double))) &&
             (w->c_staple = promo_calloc(nc * SYN_MAX_STAPLES, sizeof(uint32_t))) &&
             (w->cust_ids = promo_dict_new()) && (w->prod_ids = promo_dict_new());
    if (!ok) {
        promo_world_free(w);
        return NULL;
    }
    for (size_t k = 0; k < np * SYN_MAX_COMPLEMENTS; k++)
        w->p_comp[k] = PROMO_SYNTH_NONE;
    for (size_t k = 0; k < nc * SYN_MAX_STAPLES; k++)
        w->c_staple[k] = PROMO_SYNTH_NONE;
    return w;
}

void promo_world_free(promo_world *w)
{
    if (!w)
        return;
    promo_free(w->season);
    promo_free(w->season_cum);
    if (w->cat_names)
        for (uint32_t c = 0; c < w->n_cat; c++)
            promo_free(w->cat_names[c]);
    promo_free(w->cat_names);
    promo_free(w->p_cat);
    promo_free(w->p_share);
    promo_free(w->p_price);
    promo_free(w->p_cost);
    promo_free(w->p_qmean);
    promo_free(w->p_elast);
    promo_free(w->p_comp);
    promo_free(w->p_comp_w);
    promo_free(w->cat_start);
    promo_free(w->cat_prods);
    promo_free(w->alias_p);
    promo_free(w->alias_j);
    promo_free(w->c_seg);
    promo_free(w->c_type);
    promo_free(w->c_bwd);
    promo_free(w->c_bhour);
    promo_free(w->c_store);
    promo_free(w->c_from);
    promo_free(w->c_churn);
    promo_free(w->c_visit);
    promo_free(w->c_bmean);
    promo_free(w->c_effect);
    promo_free(w->c_dsens);
    promo_free(w->c_fsens);
    promo_free(w->c_psens);
    promo_free(w->c_online);
    promo_free(w->c_fat_end);
    promo_free(w->c_taste);
    promo_free(w->c_habit);
    promo_free(w->c_staple);
    promo_dict_free(w->cust_ids);
    promo_dict_free(w->prod_ids);
    promo_free(w->px);
    promo_free(w);
}

/* ---- seasonality ---- */

static int weekday_of(int64_t epoch_day)
{
    int64_t r = (epoch_day + 3) % 7; /* 1970-01-01 was a Thursday */
    return (int)(r < 0 ? r + 7 : r);
}

double syn_season_at(int64_t start_day, int64_t d)
{
    /* Month shape of a Sri Lankan grocer: a December peak (Christmas, year-end bonuses), an
     * April bump (Sinhala and Tamil New Year), quieter January-February after the holidays. */
    static const double month[12] = {0.90, 0.90, 0.95, 1.08, 0.97, 0.95,
                                     0.96, 0.97, 0.95, 0.98, 1.05, 1.35};
    static const double wday[7] = {0.92, 0.90, 0.92, 0.96, 1.08, 1.24, 1.00};
    int y;
    unsigned m, dd;
    promo_civil_from_days(start_day + d, &y, &m, &dd);
    double s = month[m - 1] * wday[weekday_of(start_day + d)];
    if (m == 12 && dd >= 15 && dd <= 24)
        s *= 1.25;
    if (m == 4 && dd >= 8 && dd <= 14)
        s *= 1.2;
    return s * (1.0 + 0.08 * (double)d / 365.0);
}

/* Vose's alias table over weights wt[0..n) (sum > 0), written to prob/alias. scratch: 2n. */
static void
build_alias(const double *wt, uint32_t n, double *prob, uint32_t *alias, uint32_t *scratch)
{
    double sum = 0;
    for (uint32_t k = 0; k < n; k++)
        sum += wt[k];
    uint32_t *small = scratch, *large = scratch + n;
    uint32_t ns = 0, nl = 0;
    for (uint32_t k = 0; k < n; k++) {
        prob[k] = sum > 0 ? wt[k] * n / sum : 1.0;
        alias[k] = k;
        if (prob[k] < 1.0)
            small[ns++] = k;
        else
            large[nl++] = k;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[--nl];
        alias[s] = l;
        prob[l] -= 1.0 - prob[s];
        if (prob[l] < 1.0)
            small[ns++] = l;
        else
            large[nl++] = l;
    }
    while (nl)
        prob[large[--nl]] = 1.0;
    while (ns)
        prob[small[--ns]] = 1.0;
}

int syn_world_finish(promo_world *w)
{
    w->n_season = w->n_days + SYN_FUTURE_DAYS;
    w->season = promo_mallocn(w->n_season, sizeof *w->season);
    w->season_cum = promo_mallocn(w->n_season + 1, sizeof *w->season_cum);
    uint32_t *scratch = promo_mallocn(2 * (size_t)(w->n_prod ? w->n_prod : 1), sizeof *scratch);
    double *wt = promo_mallocn(w->n_prod ? w->n_prod : 1, sizeof *wt);
    if (!w->season || !w->season_cum || !scratch || !wt) {
        promo_free(scratch);
        promo_free(wt);
        return PROMO_ENOMEM;
    }
    double hist = 0;
    for (uint32_t d = 0; d < w->n_season; d++) {
        w->season[d] = syn_season_at(w->start_day, d);
        if (d < w->n_days)
            hist += w->season[d];
    }
    double norm = w->n_days ? hist / w->n_days : 1.0;
    w->season_cum[0] = 0;
    for (uint32_t d = 0; d < w->n_season; d++) {
        w->season[d] /= norm;
        w->season_cum[d + 1] = w->season_cum[d] + w->season[d];
    }
    /* Group products by category in index order (counting sort: deterministic). */
    memset(w->cat_start, 0, (w->n_cat + 1) * sizeof *w->cat_start);
    for (uint32_t x = 0; x < w->n_prod; x++)
        w->cat_start[w->p_cat[x] + 1]++;
    for (uint32_t c = 0; c < w->n_cat; c++)
        w->cat_start[c + 1] += w->cat_start[c];
    uint32_t *fill = scratch;
    memcpy(fill, w->cat_start, w->n_cat * sizeof *fill);
    for (uint32_t x = 0; x < w->n_prod; x++)
        w->cat_prods[fill[w->p_cat[x]]++] = x;
    for (uint32_t c = 0; c < w->n_cat; c++) {
        uint32_t a = w->cat_start[c], n = w->cat_start[c + 1] - a;
        if (!n)
            continue;
        for (uint32_t k = 0; k < n; k++)
            wt[k] = w->p_share[w->cat_prods[a + k]];
        build_alias(wt, n, w->alias_p + a, w->alias_j + a, scratch);
        for (uint32_t k = 0; k < n; k++)
            w->alias_j[a + k] += a;
    }
    promo_free(scratch);
    promo_free(wt);
    return PROMO_OK;
}

/* ---- the response model ---- */

double syn_type_base(int type)
{
    switch (type) {
    case PROMO_RESP_SURE_THING:
        return 2.5;
    case PROMO_RESP_LOST_CAUSE:
        return 0.25;
    default:
        return 1.0;
    }
}

/* ---- shelf prices ---- */

/* Prices change on Mondays, every fourth week, as a retailer's weekly price cycle does (epoch
 * day 0 was a Thursday, so epoch day + 3 counts from a Monday). */
static int64_t price_period(const promo_world *w, int64_t hday)
{
    int64_t d = w->start_day + hday + 3;
    return d >= 0 ? d / SYN_PRICE_PERIOD_DAYS
                  : -((-d + SYN_PRICE_PERIOD_DAYS - 1) / SYN_PRICE_PERIOD_DAYS);
}

/* A counter-based draw (splitmix64's finaliser, promo_mix64): the price of product x in period
 * k is a pure function of (seed, x, k) that the history, the simulator and a reloaded world
 * agree on without storing a price table. */
static double period_multiplier(const promo_world *w, uint32_t x, int64_t period)
{
    uint64_t k = ((uint64_t)x << 32) ^ (uint64_t)(period + 0x40000000);
    uint64_t h = promo_mix64(w->seed ^ promo_mix64(k));
    double u1 = ((double)(h >> 11) + 0.5) * 0x1p-53, u2 = (double)(promo_mix64(h) >> 11) * 0x1p-53;
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    z = z > SYN_PRICE_Z_MAX ? SYN_PRICE_Z_MAX : z < -SYN_PRICE_Z_MAX ? -SYN_PRICE_Z_MAX : z;
    return exp(SYN_PRICE_SD * z);
}

double syn_price_multiplier(const promo_world *w, uint32_t x, int64_t hday)
{
    return period_multiplier(w, x, price_period(w, hday));
}

static double shelf_price(const promo_world *w, uint32_t x, int64_t period)
{
    return floor(w->p_price[x] * period_multiplier(w, x, period) * 100.0 + 0.5) / 100.0;
}

static double price_accept(const promo_world *w, uint32_t x, int64_t period)
{
    /* m^e is at most exp(|e| sd z_max); one bound for every product keeps their mean
     * acceptance, hence their long-run shares, within a few percent of each other. */
    return pow(period_multiplier(w, x, period), w->p_elast[x]) /
           exp(SYN_MAX_ELASTICITY * SYN_PRICE_SD * SYN_PRICE_Z_MAX);
}

/* The slot of (x, period) in the price cache, or -1 when it is not there. */
static int64_t px_slot(const promo_world *w, uint32_t x, int64_t period)
{
    int64_t j = period - w->px_k0;
    return w->px && j >= 0 && j < (int64_t)w->px_n ? 2 * ((int64_t)x * w->px_n + j) : -1;
}

double syn_shelf_price(const promo_world *w, uint32_t x, int64_t hday)
{
    int64_t k = price_period(w, hday), at = px_slot(w, x, k);
    return at >= 0 ? w->px[at] : shelf_price(w, x, k);
}

int syn_world_price_cache(promo_world *w, int n_threads)
{
    int64_t k0 = price_period(w, 0), k1 = price_period(w, w->n_days ? w->n_days - 1 : 0);
    uint32_t n = (uint32_t)(k1 - k0 + 1);
    size_t cells = (size_t)w->n_prod * n;
    double *px = promo_mallocn(2 * (cells ? cells : 1), sizeof *px);
    if (!px)
        return PROMO_ENOMEM;
#pragma omp parallel for num_threads(n_threads > 0 ? n_threads : 1) schedule(static)
    for (uint32_t x = 0; x < w->n_prod; x++)
        for (uint32_t j = 0; j < n; j++) {
            px[2 * ((size_t)x * n + j)] = shelf_price(w, x, k0 + j);
            px[2 * ((size_t)x * n + j) + 1] = price_accept(w, x, k0 + j);
        }
    promo_free(w->px);
    w->px_k0 = k0;
    w->px_n = n;
    w->px = px;
    return PROMO_OK;
}

/* The demand factor m^e / E[m^e]: 1 on average over periods, so pi_x stays the long-run share
 * (the clipping of z at 2 sd is ignored in E[m^e] = exp(e^2 sd^2 / 2)). */
static double demand_factor(const promo_world *w, uint32_t x, int64_t period)
{
    double e = w->p_elast[x];
    return pow(period_multiplier(w, x, period), e) *
           exp(-0.5 * e * e * SYN_PRICE_SD * SYN_PRICE_SD);
}

double syn_price_accept(const promo_world *w, uint32_t x, int64_t hday)
{
    int64_t k = price_period(w, hday), at = px_slot(w, x, k);
    return at >= 0 ? w->px[at + 1] : price_accept(w, x, k);
}

/* Sum over the active days of [a, b) of season x the product's demand factor (x =
 * PROMO_SYNTH_NONE: a category, factor 1), period by period. */
static double season_demand(const promo_world *w, uint32_t x, int64_t a, int64_t b)
{
    if (x == PROMO_SYNTH_NONE)
        return w->season_cum[b] - w->season_cum[a];
    double sum = 0;
    for (int64_t d = a; d < b;) {
        int64_t k = price_period(w, d), end = (k + 1) * SYN_PRICE_PERIOD_DAYS - 3 - w->start_day;
        if (end > b)
            end = b;
        sum += (w->season_cum[end] - w->season_cum[d]) * demand_factor(w, x, k);
        d = end;
    }
    return sum;
}

static int
active_range(const promo_world *w, uint32_t i, int64_t d0, int64_t len, int64_t *a, int64_t *b)
{
    *a = d0 > w->c_from[i] ? d0 : w->c_from[i];
    *b = d0 + len;
    if (*b > w->c_churn[i])
        *b = w->c_churn[i];
    if (*b > (int64_t)w->n_season)
        *b = w->n_season;
    if (*a < 0)
        *a = 0;
    return *b > *a;
}

double syn_active_season(const promo_world *w, uint32_t i, int64_t d0, int64_t len)
{
    int64_t a, b;
    return active_range(w, i, d0, len, &a, &b) ? w->season_cum[b] - w->season_cum[a] : 0.0;
}

double syn_effect(
    const promo_world *w, uint32_t i, double discount_pct, int64_t hday, int hour, double fatigue)
{
    double g = 1.0 - exp(-discount_pct / w->c_dsens[i]);
    double f = exp(-w->c_fsens[i] * fatigue);
    int dh = abs(hour - (int)w->c_bhour[i]);
    if (dh > 12)
        dh = 24 - dh;
    double m = 0.6 + 0.4 * exp(-(double)(dh * dh) / 8.0);
    if (weekday_of(w->start_day + hday) != w->c_bwd[i])
        m *= 0.8;
    return w->c_effect[i] * g * f * m;
}

uint32_t syn_n_staples(const promo_world *w, uint32_t i)
{
    const uint32_t *st = w->c_staple + (size_t)i * SYN_MAX_STAPLES;
    uint32_t n = 0;
    while (n < SYN_MAX_STAPLES && st[n] != PROMO_SYNTH_NONE)
        n++;
    return n;
}

double syn_line_share(const promo_world *w, uint32_t i, uint32_t cat, uint32_t x)
{
    double taste = (double)w->c_taste[(size_t)i * w->n_cat + cat] *
                   (x == PROMO_SYNTH_NONE ? 1.0 : w->p_share[x]);
    uint32_t ns = syn_n_staples(w, i), hits = 0;
    if (ns == 0)
        return taste; /* the history falls back to taste draws */
    const uint32_t *st = w->c_staple + (size_t)i * SYN_MAX_STAPLES;
    for (uint32_t k = 0; k < ns; k++)
        hits += x == PROMO_SYNTH_NONE ? w->p_cat[st[k]] == cat : st[k] == x;
    return (1.0 - w->c_habit[i]) * taste + w->c_habit[i] * hits / ns;
}

uint32_t syn_taste_pick(const promo_world *w, uint32_t i, promo_rng *r)
{
    const float *th = w->c_taste + (size_t)i * w->n_cat;
    double t = promo_rng_uniform(r);
    uint32_t c = 0;
    for (; c + 1 < w->n_cat; c++) {
        t -= th[c];
        if (t < 0)
            break;
    }
    return syn_pick_in_cat(w, c, r);
}

void syn_probs(const promo_world *w,
               uint32_t i,
               uint32_t cat,
               uint32_t x,
               double discount_pct,
               int64_t hday,
               int hour,
               double fatigue,
               int window,
               double *p0,
               double *p1)
{
    double lam =
        w->c_visit[i] * w->c_bmean[i] * syn_line_share(w, i, cat, x) * syn_type_base(w->c_type[i]);
    int64_t a, b_end;
    double s = active_range(w, i, hday, window, &a, &b_end) ? season_demand(w, x, a, b_end) : 0.0;
    if (s <= 0.0) {
        *p0 = *p1 = 0.0; /* churned or not yet a customer: no purchase, no response */
        return;
    }
    double b = 1.0 - exp(-lam * s);
    double u = syn_effect(w, i, discount_pct, hday, hour, fatigue);
    if (u > 1.0)
        u = 1.0;
    if (u < -1.0)
        u = -1.0;
    *p0 = b;
    *p1 = u >= 0 ? b + u * (1.0 - b) : b * (1.0 + u);
}

int syn_quantity(double qmean, double u)
{
    if (qmean <= 1.0)
        return 1;
    /* 1 + Geometric with success probability 1/qmean has mean qmean. */
    double r = (qmean - 1.0) / qmean;
    double k = floor(log(1.0 - u) / log(r));
    if (!(k >= 0))
        k = 0;
    return k > 11 ? 12 : 1 + (int)k;
}

void promo_world_offer_probs(const promo_world *w,
                             uint32_t customer,
                             uint32_t product,
                             double discount_pct,
                             int day,
                             int hour,
                             double fatigue,
                             int window_days,
                             double *p0,
                             double *p1)
{
    PROMO_ASSERT(customer < w->n_cust && product < w->n_prod);
    syn_probs(w, customer, w->p_cat[product], product, discount_pct, (int64_t)w->n_days + day, hour,
              fatigue, window_days, p0, p1);
}

double promo_world_true_uplift(const promo_world *w,
                               uint32_t customer,
                               uint32_t product,
                               double discount_pct,
                               int day,
                               int hour)
{
    /* The history's fatigue decays from the end of the history; inside the history it is not
     * reconstructed here (truth_exposures holds each logged exposure's exact p0, p1). */
    double gap = day >= 0 ? day + 1.0 : 0.0;
    double f = w->c_fat_end[customer] * exp(-gap / SYN_FATIGUE_TAU_DAYS);
    double p0, p1;
    promo_world_offer_probs(w, customer, product, discount_pct, day, hour, f, 14, &p0, &p1);
    return p1 - p0;
}

/* ---- accessors ---- */

uint32_t promo_world_n_customers(const promo_world *w)
{
    return w->n_cust;
}

uint32_t promo_world_n_products(const promo_world *w)
{
    return w->n_prod;
}

uint32_t promo_world_n_days(const promo_world *w)
{
    return w->n_days;
}

uint64_t promo_world_seed(const promo_world *w)
{
    return w->seed;
}

const char *promo_world_customer_id(const promo_world *w, uint32_t i)
{
    return promo_dict_key(w->cust_ids, i);
}

const char *promo_world_product_id(const promo_world *w, uint32_t x)
{
    return promo_dict_key(w->prod_ids, x);
}

uint32_t promo_world_customer_index(const promo_world *w, const char *id)
{
    uint32_t k = promo_dict_find(w->cust_ids, id, strlen(id));
    return k == PROMO_DICT_NONE ? PROMO_SYNTH_NONE : k;
}

uint32_t promo_world_product_index(const promo_world *w, const char *id)
{
    uint32_t k = promo_dict_find(w->prod_ids, id, strlen(id));
    return k == PROMO_DICT_NONE ? PROMO_SYNTH_NONE : k;
}

double promo_world_product_price(const promo_world *w, uint32_t x)
{
    PROMO_ASSERT(x < w->n_prod);
    return w->p_price[x];
}

double promo_world_product_cost(const promo_world *w, uint32_t x)
{
    PROMO_ASSERT(x < w->n_prod);
    return w->p_cost[x];
}

promo_response_type promo_world_response_type(const promo_world *w, uint32_t i)
{
    PROMO_ASSERT(i < w->n_cust);
    return (promo_response_type)w->c_type[i];
}

void syn_customer_id(uint32_t i, char *buf, size_t n)
{
    snprintf(buf, n, "CUST%07u", i + 1);
}

void syn_product_id(uint32_t x, char *buf, size_t n)
{
    snprintf(buf, n, "PROD%05u", x + 1);
}

/* ---- rebuilding the world from truth_* tables ---- */

static int
need_col(const promo_table *t, const char *name, promo_col_type type, const promo_column **out)
{
    const promo_column *c = promo_table_column(t, name);
    if (!c)
        return promo_fail(PROMO_EINPUT, "table '%s': missing column '%s'", t->name, name);
    int ok = c->type == type || (type == PROMO_COL_FLOAT64 && c->type == PROMO_COL_INT64) ||
             (type == PROMO_COL_INT64 && c->type == PROMO_COL_FLOAT64);
    if (!ok)
        return promo_fail(PROMO_EINPUT, "table '%s': column '%s' is %s, expected %s", t->name, name,
                          promo_col_type_name(c->type), promo_col_type_name(type));
    *out = c;
    return PROMO_OK;
}

static double num(const promo_column *c, size_t r)
{
    return promo_column_num(c, r);
}

static const char *param_get(const promo_table *params, const char *key)
{
    const promo_column *k = promo_table_column(params, "key");
    const promo_column *v = promo_table_column(params, "value");
    if (!k || !v || k->type != PROMO_COL_STRING || v->type != PROMO_COL_STRING)
        return NULL;
    for (size_t r = 0; r < params->n_rows; r++)
        if (strcmp(promo_column_str(k, r), key) == 0)
            return promo_column_str(v, r);
    return NULL;
}

static int category_index(const char *name, uint32_t n_cat)
{
    for (uint32_t c = 0; c < n_cat; c++)
        if (strcmp(syn_categories[c].name, name) == 0)
            return (int)c;
    return -1;
}

static int segment_index(const char *s)
{
    for (int k = 0; k < 4; k++)
        if (strcmp(syn_segment_names[k], s) == 0)
            return k;
    return -1;
}

static int type_index(const char *s)
{
    for (int k = 0; k < PROMO_RESP_TYPE_COUNT; k++)
        if (strcmp(syn_type_names[k], s) == 0)
            return k;
    return -1;
}

int promo_world_from_tables(const promo_synth_tables *t, promo_world **out)
{
    *out = NULL;
    const promo_table *tc = t->truth_customers, *tp = t->truth_products, *ta = t->truth_affinity,
                      *tpar = t->truth_params;
    if (!tc || !tp || !ta || !tpar)
        return promo_fail(PROMO_ENOTFOUND, "no generated world (truth_* tables missing)");
    const char *s_seed = param_get(tpar, "seed"), *s_start = param_get(tpar, "start_date"),
               *s_days = param_get(tpar, "n_days"), *s_ncat = param_get(tpar, "n_categories");
    if (!s_seed || !s_start || !s_days || !s_ncat)
        return promo_fail(PROMO_EINPUT, "table 'truth_params': missing seed, start_date, "
                                        "n_days or n_categories");
    unsigned long long seed = strtoull(s_seed, NULL, 10);
    long n_days = strtol(s_days, NULL, 10), n_cat = strtol(s_ncat, NULL, 10);
    int64_t start_ts;
    if (promo_time_parse(s_start, strlen(s_start), PROMO_DATE_ISO, &start_ts) || n_days <= 0 ||
        n_cat < 1 || n_cat > SYN_MAX_CATEGORIES)
        return promo_fail(PROMO_EINPUT, "table 'truth_params': bad start_date, n_days or "
                                        "n_categories");
    const promo_column *cid, *cseg, *cvis, *cbm, *cfrom, *cchurn, *ctype, *ceff, *cds, *cfs, *cbwd,
        *cbh, *cps, *con, *cfat, *pid, *pcat, *psh, *pqm, *ppr, *pco, *pel, *aid, *acid, *astr;
    int rc;
    if ((rc = need_col(tc, "customer_id", PROMO_COL_STRING, &cid)) ||
        (rc = need_col(tc, "segment_true", PROMO_COL_STRING, &cseg)) ||
        (rc = need_col(tc, "visit_rate", PROMO_COL_FLOAT64, &cvis)) ||
        (rc = need_col(tc, "basket_mean", PROMO_COL_FLOAT64, &cbm)) ||
        (rc = need_col(tc, "active_from", PROMO_COL_INT64, &cfrom)) ||
        (rc = need_col(tc, "churn_day", PROMO_COL_INT64, &cchurn)) ||
        (rc = need_col(tc, "response_type", PROMO_COL_STRING, &ctype)) ||
        (rc = need_col(tc, "effect_size", PROMO_COL_FLOAT64, &ceff)) ||
        (rc = need_col(tc, "discount_sensitivity", PROMO_COL_FLOAT64, &cds)) ||
        (rc = need_col(tc, "fatigue_sensitivity", PROMO_COL_FLOAT64, &cfs)) ||
        (rc = need_col(tc, "best_weekday", PROMO_COL_INT64, &cbwd)) ||
        (rc = need_col(tc, "best_hour", PROMO_COL_INT64, &cbh)) ||
        (rc = need_col(tc, "price_sensitivity", PROMO_COL_FLOAT64, &cps)) ||
        (rc = need_col(tc, "online_affinity", PROMO_COL_FLOAT64, &con)) ||
        (rc = need_col(tc, "fatigue_end", PROMO_COL_FLOAT64, &cfat)) ||
        (rc = need_col(tp, "product_id", PROMO_COL_STRING, &pid)) ||
        (rc = need_col(tp, "category", PROMO_COL_STRING, &pcat)) ||
        (rc = need_col(tp, "share", PROMO_COL_FLOAT64, &psh)) ||
        (rc = need_col(tp, "quantity_mean", PROMO_COL_FLOAT64, &pqm)) ||
        (rc = need_col(tp, "price", PROMO_COL_FLOAT64, &ppr)) ||
        (rc = need_col(tp, "cost", PROMO_COL_FLOAT64, &pco)) ||
        (rc = need_col(tp, "elasticity", PROMO_COL_FLOAT64, &pel)) ||
        (rc = need_col(ta, "product_id", PROMO_COL_STRING, &aid)) ||
        (rc = need_col(ta, "complement_id", PROMO_COL_STRING, &acid)) ||
        (rc = need_col(ta, "strength", PROMO_COL_FLOAT64, &astr)))
        return rc;
    const promo_column *taste[SYN_MAX_CATEGORIES];
    for (long c = 0; c < n_cat; c++) {
        char name[64];
        snprintf(name, sizeof name, "taste_%s", syn_categories[c].slug);
        if ((rc = need_col(tc, name, PROMO_COL_FLOAT64, &taste[c])))
            return rc;
    }
    const promo_column *habit, *staple[SYN_MAX_STAPLES];
    if ((rc = need_col(tc, "habit_share", PROMO_COL_FLOAT64, &habit)))
        return rc;
    for (uint32_t k = 0; k < SYN_MAX_STAPLES; k++) {
        char name[32];
        snprintf(name, sizeof name, "staple_%u", k + 1);
        if ((rc = need_col(tc, name, PROMO_COL_STRING, &staple[k])))
            return rc;
    }
    if (tc->n_rows == 0 || tp->n_rows == 0 || tc->n_rows > UINT32_MAX - 1 ||
        tp->n_rows > UINT32_MAX - 1)
        return promo_fail(PROMO_EINPUT, "truth tables: no customers or no products");
    promo_world *w = syn_world_alloc((uint32_t)tc->n_rows, (uint32_t)tp->n_rows, (uint32_t)n_cat,
                                     (uint32_t)n_days);
    if (!w)
        return PROMO_ENOMEM;
    w->seed = seed;
    w->start_day = promo_time_day(start_ts) / PROMO_SECONDS_PER_DAY;
    rc = PROMO_ENOMEM;
    for (uint32_t c = 0; c < w->n_cat; c++)
        if (!(w->cat_names[c] = promo_strdup(syn_categories[c].name)))
            goto fail;
    for (uint32_t x = 0; x < w->n_prod; x++) {
        const char *id = promo_column_str(pid, x);
        if (promo_dict_intern(w->prod_ids, id, strlen(id)) != x) {
            rc = promo_fail(PROMO_EINPUT, "truth_products: duplicate product_id '%s'", id);
            goto fail;
        }
        int c = category_index(promo_column_str(pcat, x), w->n_cat);
        if (c < 0) {
            rc = promo_fail(PROMO_EINPUT, "truth_products: unknown category '%s'",
                            promo_column_str(pcat, x));
            goto fail;
        }
        w->p_cat[x] = (uint16_t)c;
        w->p_share[x] = num(psh, x);
        w->p_qmean[x] = num(pqm, x);
        w->p_price[x] = num(ppr, x);
        w->p_cost[x] = num(pco, x);
        w->p_elast[x] = num(pel, x);
        if (!(w->p_elast[x] >= -SYN_MAX_ELASTICITY && w->p_elast[x] < 0)) {
            rc = promo_fail(PROMO_EINPUT, "truth_products: elasticity of '%s' must be in [%g, 0)",
                            id, -SYN_MAX_ELASTICITY);
            goto fail;
        }
    }
    for (size_t r = 0; r < ta->n_rows; r++) {
        const char *a = promo_column_str(aid, r), *b = promo_column_str(acid, r);
        uint32_t xa = promo_dict_find(w->prod_ids, a, strlen(a));
        uint32_t xb = promo_dict_find(w->prod_ids, b, strlen(b));
        if (xa == PROMO_DICT_NONE || xb == PROMO_DICT_NONE) {
            rc = promo_fail(PROMO_EINPUT, "truth_affinity: unknown product '%s'",
                            xa == PROMO_DICT_NONE ? a : b);
            goto fail;
        }
        uint32_t *slot = w->p_comp + (size_t)xa * SYN_MAX_COMPLEMENTS;
        for (int k = 0; k < SYN_MAX_COMPLEMENTS; k++) {
            if (slot[k] == PROMO_SYNTH_NONE) {
                slot[k] = xb;
                w->p_comp_w[(size_t)xa * SYN_MAX_COMPLEMENTS + k] = (float)num(astr, r);
                break;
            }
        }
    }
    for (uint32_t i = 0; i < w->n_cust; i++) {
        const char *id = promo_column_str(cid, i);
        if (promo_dict_intern(w->cust_ids, id, strlen(id)) != i) {
            rc = promo_fail(PROMO_EINPUT, "truth_customers: duplicate customer_id '%s'", id);
            goto fail;
        }
        int seg = segment_index(promo_column_str(cseg, i));
        int ty = type_index(promo_column_str(ctype, i));
        double bwd = num(cbwd, i), bh = num(cbh, i);
        if (seg < 0 || ty < 0 || !(bwd >= 0 && bwd <= 6) || !(bh >= 0 && bh <= 23)) {
            rc = promo_fail(PROMO_EINPUT,
                            "truth_customers: bad segment, type, weekday or hour "
                            "for '%s'",
                            id);
            goto fail;
        }
        w->c_seg[i] = (uint8_t)seg;
        w->c_type[i] = (uint8_t)ty;
        w->c_bwd[i] = (uint8_t)bwd;
        w->c_bhour[i] = (uint8_t)bh;
        w->c_from[i] = (int32_t)num(cfrom, i);
        w->c_churn[i] = promo_column_is_null(cchurn, i) ? INT32_MAX : (int32_t)num(cchurn, i);
        w->c_visit[i] = num(cvis, i);
        w->c_bmean[i] = num(cbm, i);
        w->c_effect[i] = num(ceff, i);
        w->c_dsens[i] = num(cds, i);
        w->c_fsens[i] = num(cfs, i);
        w->c_psens[i] = num(cps, i);
        w->c_online[i] = num(con, i);
        w->c_fat_end[i] = num(cfat, i);
        if (!(w->c_dsens[i] > 0)) {
            rc = promo_fail(PROMO_EINPUT,
                            "truth_customers: discount_sensitivity must be > 0 "
                            "for '%s'",
                            id);
            goto fail;
        }
        for (uint32_t c = 0; c < w->n_cat; c++)
            w->c_taste[(size_t)i * w->n_cat + c] = (float)num(taste[c], i);
        w->c_habit[i] = num(habit, i);
        if (!(w->c_habit[i] >= 0 && w->c_habit[i] <= 1)) {
            rc = promo_fail(PROMO_EINPUT, "truth_customers: habit_share must be in [0, 1] for '%s'",
                            id);
            goto fail;
        }
        uint32_t n_st = 0;
        for (uint32_t k = 0; k < SYN_MAX_STAPLES; k++) {
            if (promo_column_is_null(staple[k], i))
                continue;
            const char *sid = promo_column_str(staple[k], i);
            uint32_t x = promo_dict_find(w->prod_ids, sid, strlen(sid));
            if (x == PROMO_DICT_NONE) {
                rc = promo_fail(PROMO_EINPUT,
                                "truth_customers: unknown staple product '%s' for '%s'", sid, id);
                goto fail;
            }
            w->c_staple[(size_t)i * SYN_MAX_STAPLES + n_st++] = x;
        }
    }
    if ((rc = syn_world_finish(w)))
        goto fail;
    *out = w;
    return PROMO_OK;
fail:
    promo_world_free(w);
    return rc;
}
