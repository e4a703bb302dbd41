/* The campaign simulator: plays offers forward in the world against the no-campaign
 * counterfactual with common random numbers (definitions in promo/synth.h).
 *
 * Cost: the model's probabilities depend only on the offer, so they are computed once per
 * offer (O(n log n) with the fatigue ordering); each draw then costs one RNG stream set-up and
 * two or three uniforms per offer. The uniforms of a draw come from a stream keyed by
 * (customer, product, send day) under a per-draw seed, so a customer-product pair sees the
 * same luck in every campaign: strategies compared on the same world are paired, and the
 * treated and counterfactual outcomes of one offer share their uniform. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>

#include "synth/synth_internal.h"

#define N_FIGS            9
#define MIN_PARALLEL_WORK 20000 /* offers x draws below which threads cost more than they save */

promo_sim_params promo_sim_params_default(void)
{
    promo_sim_params p;
    memset(&p, 0, sizeof p);
    p.n_draws = 200;
    p.seed = 0;
    p.cost_per_contact = 1.0;
    p.window_days = 14;
    p.interval = 0.90;
    p.n_threads = 0;
    return p;
}

/* Per-offer quantities that do not change between draws. */
typedef struct prep {
    uint64_t key;       /* RNG stream of the offer */
    double p0, p1;      /* buy probability without / with the offer */
    double price, cost; /* list price, unit cost */
    double qmean;       /* mean quantity */
    double d;           /* discount fraction */
    double pb0, pb1;    /* bundle purchase probability of a buyer without / with the offer */
    double bprice, bcost;
} prep;

typedef struct draw_out {
    double conv, inc_conv, rev, inc_rev, disc, margin_t, margin_b;
} draw_out;

static int check(const promo_world *w, const promo_offer *o, size_t n, const promo_sim_params *p)
{
    if (!p->n_draws || p->n_draws > 1000000)
        return promo_fail(PROMO_EUSAGE, "draws must be 1..1000000, got %u", p->n_draws);
    if (!(p->cost_per_contact >= 0) || !(p->interval > 0 && p->interval < 1))
        return promo_fail(PROMO_EUSAGE, "cost_per_contact must be >= 0 and interval in (0, 1)");
    if (p->window_days < 1 || p->window_days > 365)
        return promo_fail(PROMO_EUSAGE, "window_days must be 1..365, got %u", p->window_days);
    for (size_t k = 0; k < n; k++) {
        if (o[k].customer >= w->n_cust)
            return promo_fail(PROMO_EUSAGE, "offer %zu: customer index %u out of range", k,
                              o[k].customer);
        if (o[k].product >= w->n_prod)
            return promo_fail(PROMO_EUSAGE, "offer %zu: product index %u out of range", k,
                              o[k].product);
        if (o[k].bundle_product != PROMO_SYNTH_NONE && o[k].bundle_product >= w->n_prod)
            return promo_fail(PROMO_EUSAGE, "offer %zu: bundle product index %u out of range", k,
                              o[k].bundle_product);
        if (!(o[k].discount_pct >= 0 && o[k].discount_pct <= 90))
            return promo_fail(PROMO_EUSAGE, "offer %zu: discount %g%% outside 0..90", k,
                              o[k].discount_pct);
        if (o[k].send_hour < 0 || o[k].send_hour > 23)
            return promo_fail(PROMO_EUSAGE, "offer %zu: send hour %d outside 0..23", k,
                              o[k].send_hour);
        if (o[k].send_day < 0 || o[k].send_day > 3650)
            return promo_fail(PROMO_EUSAGE, "offer %zu: send day %d outside 0..3650", k,
                              o[k].send_day);
    }
    return PROMO_OK;
}

/* Sort key of an offer: customer, then send time, then row. */
typedef struct okey {
    uint32_t customer;
    int32_t day, hour;
    size_t row;
} okey;

static int okey_cmp(const void *a, const void *b)
{
    const okey *x = a, *y = b;
    if (x->customer != y->customer)
        return x->customer < y->customer ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->hour != y->hour)
        return x->hour < y->hour ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static double affinity(const promo_world *w, uint32_t x, uint32_t y)
{
    for (int k = 0; k < SYN_MAX_COMPLEMENTS; k++) {
        if (w->p_comp[(size_t)x * SYN_MAX_COMPLEMENTS + k] == y)
            return w->p_comp_w[(size_t)x * SYN_MAX_COMPLEMENTS + k];
        if (w->p_comp[(size_t)y * SYN_MAX_COMPLEMENTS + k] == x)
            return w->p_comp_w[(size_t)y * SYN_MAX_COMPLEMENTS + k];
    }
    return 0.0;
}

static uint64_t draw_seed(const promo_world *w, const promo_sim_params *p, uint32_t r)
{
    uint64_t base = p->seed ? p->seed : w->seed ^ 0x51a7u;
    return promo_mix64(base + 0x9e3779b97f4a7c15ULL * (r + 1));
}

/* Probabilities with fatigue from the history's contacts and from the campaign's earlier
 * offers to the same customer. */
static int
prepare(const promo_world *w, const promo_offer *o, size_t n, const promo_sim_params *p, prep *pp)
{
    okey *ok = promo_mallocn(n ? n : 1, sizeof *ok);
    if (!ok)
        return PROMO_ENOMEM;
    for (size_t k = 0; k < n; k++)
        ok[k] = (okey){o[k].customer, o[k].send_day, o[k].send_hour, k};
    qsort(ok, n, sizeof *ok, okey_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && ok[b].customer == ok[a].customer)
            b++;
        for (size_t j = a; j < b; j++) {
            const promo_offer *of = &o[ok[j].row];
            uint32_t i = of->customer;
            double fat = w->c_fat_end[i] * exp(-(of->send_day + 1.0) / SYN_FATIGUE_TAU_DAYS);
            for (size_t e = a; e < j; e++)
                fat += exp(-(double)(of->send_day - ok[e].day) / SYN_FATIGUE_TAU_DAYS);
            prep *q = &pp[ok[j].row];
            uint32_t x = of->product;
            int64_t send = (int64_t)w->n_days + of->send_day;
            syn_probs(w, i, w->p_cat[x], x, of->discount_pct, send, of->send_hour, fat,
                      (int)p->window_days, &q->p0, &q->p1);
            q->key = (((uint64_t)i * w->n_prod + x) << 12) | (uint32_t)of->send_day;
            q->price = syn_shelf_price(w, x, send);
            q->cost = w->p_cost[x];
            q->qmean = w->p_qmean[x];
            q->d = of->discount_pct / 100.0;
            q->pb0 = q->pb1 = q->bprice = q->bcost = 0;
            uint32_t y = of->bundle_product;
            if (y != PROMO_SYNTH_NONE && y != x) {
                double a_xy = affinity(w, x, y);
                q->pb1 = 0.1 + 0.5 * a_xy;
                q->pb0 = 0.25 * a_xy;
                q->bprice = syn_shelf_price(w, y, send);
                q->bcost = w->p_cost[y];
            }
        }
        a = b;
    }
    promo_free(ok);
    return PROMO_OK;
}

/* One offer in one draw. */
static void play(const prep *q,
                 uint64_t seed,
                 int *buy_t,
                 int *buy_b,
                 double *rev_t,
                 double *rev_b,
                 double *disc,
                 double *m_t,
                 double *m_b)
{
    promo_rng r;
    promo_rng_init(&r, seed, q->key);
    double u = promo_rng_uniform(&r);
    *buy_t = u < q->p1;
    *buy_b = u < q->p0;
    *rev_t = *rev_b = *disc = *m_t = *m_b = 0;
    if (!*buy_t && !*buy_b)
        return;
    double qty = syn_quantity(q->qmean, promo_rng_uniform(&r));
    double ub = promo_rng_uniform(&r);
    if (*buy_t) {
        double gross = qty * q->price;
        *rev_t = gross * (1.0 - q->d);
        *disc = gross * q->d;
        *m_t = *rev_t - qty * q->cost;
        if (ub < q->pb1) {
            *rev_t += q->bprice;
            *m_t += q->bprice - q->bcost;
        }
    }
    if (*buy_b) {
        *rev_b = qty * q->price;
        *m_b = *rev_b - qty * q->cost;
        if (ub < q->pb0) {
            *rev_b += q->bprice;
            *m_b += q->bprice - q->bcost;
        }
    }
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Mean and central interval (linear interpolation between order statistics). v is sorted. */
static promo_sim_figure figure(double *v, uint32_t n, double level)
{
    promo_sim_figure f;
    double s = 0;
    for (uint32_t k = 0; k < n; k++)
        s += v[k];
    f.mean = s / n;
    qsort(v, n, sizeof *v, dbl_cmp);
    double qs[2] = {(1.0 - level) / 2.0, 1.0 - (1.0 - level) / 2.0}, out[2];
    for (int j = 0; j < 2; j++) {
        double h = (n - 1) * qs[j];
        uint32_t lo = (uint32_t)floor(h);
        uint32_t hi = lo + 1 < n ? lo + 1 : lo;
        out[j] = v[lo] + (h - lo) * (v[hi] - v[lo]);
    }
    f.lo = out[0];
    f.hi = out[1];
    return f;
}

/* E[q] of syn_quantity at mean qmean: the average over evenly spaced quantiles of u (exact
 * to well under 0.1% for the quantity distributions the world uses). */
static double expected_quantity(double qmean)
{
    enum { GRID = 2048 };
    double s = 0;
    for (int k = 0; k < GRID; k++)
        s += syn_quantity(qmean, (k + 0.5) / GRID);
    return s / GRID;
}

int promo_simulate_expected(const promo_world *w,
                            const promo_offer *offers,
                            size_t n,
                            const promo_sim_params *p,
                            double *profit,
                            double *uplift)
{
    int rc = check(w, offers, n, p);
    if (rc)
        return rc;
    if (!profit && n)
        return promo_fail(PROMO_EUSAGE, "promo_simulate_expected: NULL profit");
    prep *pp = promo_mallocn(n ? n : 1, sizeof *pp);
    if (!pp)
        return PROMO_ENOMEM;
    if ((rc = prepare(w, offers, n, p, pp))) {
        promo_free(pp);
        return rc;
    }
    /* E[q] depends on the product alone and costs 2,048 quantile draws: offers of one product
     * come in runs (an oracle scans every customer for one product), so it is computed once
     * per run of equal means, the same value as before. */
    double eq = 0, eq_of = NAN;
    for (size_t k = 0; k < n; k++) {
        const prep *q = &pp[k];
        if (!(q->qmean == eq_of)) {
            eq = expected_quantity(q->qmean);
            eq_of = q->qmean;
        }
        double bundle = (q->p1 * q->pb1 - q->p0 * q->pb0) * (q->bprice - q->bcost);
        profit[k] =
            eq * (q->p1 * (q->price * (1 - q->d) - q->cost) - q->p0 * (q->price - q->cost)) +
            bundle - p->cost_per_contact;
        if (uplift)
            uplift[k] = q->p1 - q->p0;
    }
    promo_free(pp);
    return PROMO_OK;
}

int promo_simulate(const promo_world *w,
                   const promo_offer *offers,
                   size_t n,
                   const promo_sim_params *p,
                   promo_sim_result *out)
{
    memset(out, 0, sizeof *out);
    int rc = check(w, offers, n, p);
    if (rc)
        return rc;
    prep *pp = promo_mallocn(n ? n : 1, sizeof *pp);
    draw_out *dr = promo_mallocn(p->n_draws, sizeof *dr);
    double *v = promo_mallocn(p->n_draws, sizeof *v);
    if (!pp || !dr || !v) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if ((rc = prepare(w, offers, n, p, pp)))
        goto done;
    int nt = p->n_threads > 0 ? p->n_threads : 0;
    int par = (double)n * p->n_draws >= MIN_PARALLEL_WORK;
#pragma omp parallel for schedule(static) if (par) num_threads(nt ? nt : omp_get_max_threads())
    for (uint32_t r = 0; r < p->n_draws; r++) {
        uint64_t seed = draw_seed(w, p, r);
        draw_out d;
        memset(&d, 0, sizeof d);
        for (size_t k = 0; k < n; k++) {
            int bt, bb;
            double rt, rb, ds, mt, mb;
            play(&pp[k], seed, &bt, &bb, &rt, &rb, &ds, &mt, &mb);
            d.conv += bt;
            d.inc_conv += bt - bb;
            d.rev += rt;
            d.inc_rev += rt - rb;
            d.disc += ds;
            d.margin_t += mt;
            d.margin_b += mb;
        }
        dr[r] = d;
    }
    double contact_cost = (double)n * p->cost_per_contact;
    promo_sim_figure *figs[N_FIGS] = {
        &out->contacts,     &out->conversions,         &out->incremental_conversions,
        &out->revenue,      &out->incremental_revenue, &out->discount_cost,
        &out->contact_cost, &out->incremental_profit,  &out->roi};
    for (int f = 0; f < N_FIGS; f++) {
        for (uint32_t r = 0; r < p->n_draws; r++) {
            const draw_out *d = &dr[r];
            double profit = d->margin_t - d->margin_b - contact_cost;
            double spend = d->disc + contact_cost;
            double vals[N_FIGS] = {(double)n,    d->conv,    d->inc_conv,
                                   d->rev,       d->inc_rev, d->disc,
                                   contact_cost, profit,     spend > 0 ? profit / spend : 0.0};
            v[r] = vals[f];
        }
        *figs[f] = figure(v, p->n_draws, p->interval);
    }
    out->n_draws = p->n_draws;
done:
    promo_free(pp);
    promo_free(dr);
    promo_free(v);
    return rc;
}

int promo_simulate_outcomes(const promo_world *w,
                            const promo_offer *offers,
                            size_t n,
                            const promo_sim_params *p,
                            uint32_t draw,
                            promo_sim_outcome *out)
{
    int rc = check(w, offers, n, p);
    if (rc)
        return rc;
    prep *pp = promo_mallocn(n ? n : 1, sizeof *pp);
    if (!pp)
        return PROMO_ENOMEM;
    if ((rc = prepare(w, offers, n, p, pp))) {
        promo_free(pp);
        return rc;
    }
    uint64_t seed = draw_seed(w, p, draw);
    for (size_t k = 0; k < n; k++) {
        int bt, bb;
        double rt, rb, ds, mt, mb;
        play(&pp[k], seed, &bt, &bb, &rt, &rb, &ds, &mt, &mb);
        out[k].converted = (uint8_t)bt;
        out[k].converted_baseline = (uint8_t)bb;
        out[k].revenue = rt;
        out[k].profit = mt - mb - p->cost_per_contact;
    }
    promo_free(pp);
    return PROMO_OK;
}
