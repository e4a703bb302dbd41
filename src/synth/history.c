/* The transaction history and the events table.
 *
 * Three steps, so that exactly n_transactions lines are written straight into pre-sized
 * columns without per-row allocation and without depending on the thread count:
 *   1. allocate: the background lines (n_transactions minus the promotion purchases already
 *      drawn in the exposure log) are split among customers by one multinomial draw with
 *      probabilities proportional to each customer's expected lines (visit rate x basket size
 *      x active season); a customer's capacity (active days x max basket) is respected by
 *      carrying the excess to the next customers;
 *   2. plan (parallel over fixed customer blocks): basket sizes, distinct order days drawn from
 *      the season x the customer's weekday preference, promotion purchases merged into the
 *      order of their day, channel and browse counts; prefix sums over blocks then give every
 *      block its order, line and event offsets;
 *   3. fill (parallel): basket contents (the customer's staples with probability h_i, else
 *      taste x popularity, and complements of items already in the basket with probability
 *      0.4, which is what makes configured affinities the most co-purchased pairs), quantities,
 *      prices, store, and the online session's events (view, favourite, cart, purchase, plus
 *      products viewed and not bought).
 *
 * Events cover online orders only (sessions on the web shop). Within a customer there is at
 * most one order a day and the products of an order are distinct, which keeps the keys of
 * transactions (order_id, line) and events (customer_id, product_id, ts) unique. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/timeutil.h>

#include "synth/gen_internal.h"

#define FOLLOW_COMPLEMENT 0.4        /* chance a basket line is a complement of an earlier line */
#define NULL_CODE         UINT32_MAX /* placeholder for a null string during the fill */
#define MAX_BASKET        64         /* 40 background + GEN_MAX_CONV_PER_DAY + browse, rounded up */

static int weekday_of(int64_t epoch_day)
{
    return (int)((epoch_day + 3) % 7);
}

static double weekday_pref(int wd, int best)
{
    int d = abs(wd - best);
    if (d > 3)
        d = 7 - d;
    return d == 0 ? 2.0 : d == 1 ? 1.4 : 1.0;
}

/* ---- 1. allocation ---- */

static int allocate_lines(gen *g)
{
    promo_world *w = g->w;
    uint64_t n_conv = 0;
    for (size_t b = 0; b < g->n_blocks; b++)
        n_conv += g->blocks[b].n_cv;
    if (n_conv > g->p->n_transactions)
        return promo_fail(PROMO_EUSAGE,
                          "the promotions alone produce %llu purchases, more than the %llu "
                          "transactions asked for: raise transactions or lower promotions",
                          (unsigned long long)n_conv, (unsigned long long)g->p->n_transactions);
    unsigned n_bg = (unsigned)(g->p->n_transactions - n_conv);
    double *pr = promo_mallocn(w->n_cust, sizeof *pr);
    unsigned *cnt = promo_mallocn(w->n_cust, sizeof *cnt);
    g->alloc_lines = promo_mallocn(w->n_cust, sizeof *g->alloc_lines);
    gsl_rng *gr = promo_rng_gsl(g->p->seed, GEN_STREAM(ST_ALLOC, 0));
    int rc = PROMO_OK;
    if (!pr || !cnt || !g->alloc_lines || !gr) {
        rc = promo_fail(PROMO_ENOMEM, "out of memory allocating lines");
        goto done;
    }
    for (uint32_t i = 0; i < w->n_cust; i++)
        pr[i] = w->c_visit[i] * w->c_bmean[i] * syn_active_season(w, i, 0, w->n_days);
    gsl_ran_multinomial(gr, w->n_cust, n_bg, pr, cnt);
    uint64_t carry = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < w->n_cust && (pass == 0 || carry); i++) {
            int64_t b =
                w->c_churn[i] < (int32_t)w->n_days ? (int64_t)w->c_churn[i] : (int64_t)w->n_days;
            uint64_t days = b > w->c_from[i] ? (uint64_t)(b - w->c_from[i]) : 0;
            uint64_t cap = days * g->maxb;
            if (pass == 0) {
                uint64_t want = cnt[i] + carry;
                uint64_t take = want < cap ? want : cap;
                carry = want - take;
                g->alloc_lines[i] = (uint32_t)take;
            } else {
                uint64_t room = cap - g->alloc_lines[i];
                uint64_t add = room < carry ? room : carry;
                g->alloc_lines[i] += (uint32_t)add;
                carry -= add;
            }
        }
    }
    if (carry)
        rc = promo_fail(PROMO_EUSAGE,
                        "too many transactions for the customers' active days "
                        "(%llu lines do not fit)",
                        (unsigned long long)carry);
done:
    gsl_rng_free(gr);
    promo_free(pr);
    promo_free(cnt);
    return rc;
}

/* ---- 2. plan ---- */

typedef struct day_key {
    double key;
    int32_t day;
} day_key;

typedef struct plan_scratch {
    uint16_t *sizes; /* basket sizes of the customer */
    size_t cap_sizes;
    int32_t *days;  /* n_days: chosen order days */
    day_key *keys;  /* n_days: dense sampling keys */
    uint64_t *bits; /* n_days bits: days taken */
} plan_scratch;

static int day_key_cmp(const void *a, const void *b)
{
    const day_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->day < y->day ? -1 : x->day > y->day;
}

static int int_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* Choose k distinct days of [a, b) with probability ~ season x weekday preference. */
static void choose_days(
    const gen *g, uint32_t i, int32_t a, int32_t b, uint32_t k, plan_scratch *s, promo_rng *r)
{
    const promo_world *w = g->w;
    int best = w->c_bwd[i];
    uint32_t span = (uint32_t)(b - a);
    if (k * 2 > span) {
        /* Dense: weighted sampling without replacement by exponential keys (Efraimidis and
         * Spirakis 2006): keep the k largest log(U) / weight. */
        day_key *dk = s->keys;
        for (uint32_t d = 0; d < span; d++) {
            double wt = w->season[a + d] * weekday_pref(weekday_of(w->start_day + a + d), best);
            double u = promo_rng_uniform(r);
            dk[d].key = log(u > 0 ? u : 1e-300) / wt;
            dk[d].day = a + (int32_t)d;
        }
        qsort(dk, span, sizeof *dk, day_key_cmp);
        for (uint32_t j = 0; j < k; j++)
            s->days[j] = dk[j].day;
    } else {
        double lo = w->season_cum[a], hi = w->season_cum[b];
        uint32_t got = 0;
        while (got < k) {
            double x = lo + (hi - lo) * promo_rng_uniform(r);
            int32_t l = a, h = b - 1;
            while (l < h) { /* last day d with season_cum[d] <= x */
                int32_t m = l + (h - l + 1) / 2;
                if (w->season_cum[m] <= x)
                    l = m;
                else
                    h = m - 1;
            }
            int wd = weekday_of(w->start_day + l);
            if (promo_rng_uniform(r) * 2.0 >= weekday_pref(wd, best))
                continue;
            if (s->bits[l >> 6] >> (l & 63) & 1)
                continue;
            s->bits[l >> 6] |= (uint64_t)1 << (l & 63);
            s->days[got++] = l;
        }
        for (uint32_t j = 0; j < k; j++)
            s->bits[s->days[j] >> 6] &= ~((uint64_t)1 << (s->days[j] & 63));
    }
    if (k > 1)
        qsort(s->days, k, sizeof *s->days, int_cmp);
}

static int
plan_customer(gen *g, gen_block *bk, uint32_t i, plan_scratch *s, promo_rng *r, gsl_rng *gr)
{
    const promo_world *w = g->w;
    uint32_t L = g->alloc_lines[i];
    int32_t a = w->c_from[i];
    int32_t b = w->c_churn[i] < (int32_t)w->n_days ? w->c_churn[i] : (int32_t)w->n_days;
    uint32_t k = 0;
    if (L) {
        double mu = w->c_bmean[i] - 1.0;
        uint64_t sum = 0;
        while (sum < L) {
            uint32_t sz = 1 + gsl_ran_poisson(gr, mu);
            if (sz > g->maxb)
                sz = g->maxb;
            if (sum + sz > L)
                sz = (uint32_t)(L - sum);
            if (k + 1 > s->cap_sizes &&
                promo_grow((void **)&s->sizes, &s->cap_sizes, k + 1, sizeof *s->sizes))
                return PROMO_ENOMEM;
            s->sizes[k++] = (uint16_t)sz;
            sum += sz;
        }
        uint32_t span = (uint32_t)(b - a);
        if (k > span) { /* more baskets than days: fewer, fuller baskets */
            k = span;
            for (uint32_t j = 0; j < k; j++)
                s->sizes[j] = (uint16_t)(L / k + (j < L % k));
        }
        choose_days(g, i, a, b, k, s, r);
    }
    const gen_conv *cv = bk->cv + bk->cv_start[i - bk->c0];
    uint32_t n_cv = bk->cv_start[i - bk->c0 + 1] - bk->cv_start[i - bk->c0];
    uint32_t jb = 0, jc = 0;
    while (jb < k || jc < n_cv) {
        int32_t day;
        if (jc >= n_cv || (jb < k && s->days[jb] <= cv[jc].day))
            day = s->days[jb];
        else
            day = cv[jc].day;
        gen_order o;
        memset(&o, 0, sizeof o);
        o.day = day;
        if (jb < k && s->days[jb] == day)
            o.n_bg = s->sizes[jb++];
        while (jc < n_cv && cv[jc].day == day) {
            o.n_conv++;
            jc++;
        }
        gen_order_slot(g, i, day, &o.sec, &o.online);
        uint32_t lines = (uint32_t)o.n_bg + o.n_conv;
        if (o.online && g->p->with_events) {
            uint32_t nb = gsl_ran_poisson(gr, 0.8);
            uint32_t room = w->n_prod > lines ? w->n_prod - lines : 0;
            nb = nb > GEN_MAX_BROWSE ? GEN_MAX_BROWSE : nb;
            o.n_browse = (uint8_t)(nb > room ? room : nb);
            o.n_fav = (uint16_t)gsl_ran_binomial(gr, 0.05, lines);
            bk->n_events += 3 * (uint64_t)lines + o.n_fav + o.n_browse;
        }
        bk->n_lines += lines;
        if (bk->n_ord + 1 > bk->cap_ord &&
            promo_grow((void **)&bk->ord, &bk->cap_ord, bk->n_ord + 1, sizeof *bk->ord))
            return PROMO_ENOMEM;
        bk->ord[bk->n_ord++] = o;
    }
    return PROMO_OK;
}

static int plan_all(gen *g)
{
    int failed = 0;
    size_t words = (g->w->n_days + 63) / 64;
#pragma omp parallel num_threads(g->nt)
    {
        plan_scratch s;
        memset(&s, 0, sizeof s);
        s.days = promo_mallocn(g->w->n_days, sizeof *s.days);
        s.keys = promo_mallocn(g->w->n_days, sizeof *s.keys);
        s.bits = promo_calloc(words, sizeof *s.bits);
        if (!s.days || !s.keys || !s.bits) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < g->n_blocks; b++) {
            gen_block *bk = &g->blocks[b];
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop)
                continue;
            gsl_rng *gr = promo_rng_gsl(g->p->seed, GEN_STREAM(ST_PLAN_GSL, b));
            bk->ord_start = promo_calloc(bk->c1 - bk->c0 + 1, sizeof *bk->ord_start);
            if (!gr || !bk->ord_start) {
                gsl_rng_free(gr);
#pragma omp atomic write
                failed = 1;
                continue;
            }
            promo_rng r;
            promo_rng_init(&r, g->p->seed, GEN_STREAM(ST_PLAN, b));
            for (uint32_t i = bk->c0; i < bk->c1; i++) {
                if (plan_customer(g, bk, i, &s, &r, gr)) {
#pragma omp atomic write
                    failed = 1;
                    break;
                }
                bk->ord_start[i - bk->c0 + 1] = (uint32_t)bk->n_ord;
            }
            gsl_rng_free(gr);
        }
        promo_free(s.sizes);
        promo_free(s.days);
        promo_free(s.keys);
        promo_free(s.bits);
    }
    if (failed)
        return promo_fail(PROMO_ENOMEM, "out of memory planning orders");
    g->n_orders = g->n_lines = g->n_events = 0;
    for (size_t b = 0; b < g->n_blocks; b++) {
        gen_block *bk = &g->blocks[b];
        bk->ord_off = g->n_orders;
        bk->line_off = g->n_lines;
        bk->ev_off = g->n_events;
        g->n_orders += bk->n_ord;
        g->n_lines += bk->n_lines;
        g->n_events += bk->n_events;
    }
    PROMO_ASSERT(g->n_lines == g->p->n_transactions);
    if (g->n_orders > UINT32_MAX - 2)
        return promo_fail(PROMO_EUSAGE, "too many orders (%llu)", (unsigned long long)g->n_orders);
    return PROMO_OK;
}

/* ---- 3. fill ---- */

typedef struct fill_cols {
    promo_column *order_id, *line, *customer_id, *product_id, *store_id, *ts, *quantity,
        *unit_price, *discount, *promotion_id, *channel;
    promo_column *ev_customer, *ev_product, *ev_ts, *ev_kind;
} fill_cols;

static int in_list(const uint32_t *a, uint32_t n, uint32_t x)
{
    for (uint32_t k = 0; k < n; k++)
        if (a[k] == x)
            return 1;
    return 0;
}

/* A product not in basket[0..n): one of the customer's staples, else a complement of an earlier
 * line (bought lines only) or a taste draw; retried on duplicates, finally any free product.
 * A bought line is kept with the product's price acceptance a = m^e / A on that day; a refused
 * staple or complement turns the line into taste draws. The staple coin is h_i / E[a], so a
 * staple's share of the lines is h_i / |staples| * m^e / E[m^e], the true model's exactly, with
 * no renormalisation over the few staples (which would dampen their elasticity); taste draws
 * renormalise over the whole catalogue, where one product's price hardly moves the total. */
static uint32_t pick_line(const promo_world *w,
                          uint32_t i,
                          const uint32_t *basket,
                          uint32_t n,
                          int bought,
                          int64_t day,
                          promo_rng *r)
{
    uint32_t n_staples = syn_n_staples(w, i);
    double staple_p = bought ? w->c_habit[i] / SYN_MEAN_ACCEPT : w->c_habit[i];
    int taste_only = 0;
    for (int tries = 0; tries < 24; tries++) {
        uint32_t x = PROMO_SYNTH_NONE;
        if (taste_only) {
            /* a refused staple or complement: this line is a taste draw now */
        } else if (n_staples && promo_rng_uniform(r) < staple_p) {
            x = w->c_staple[(size_t)i * SYN_MAX_STAPLES + promo_rng_below(r, n_staples)];
        } else if (bought && n && promo_rng_uniform(r) < FOLLOW_COMPLEMENT) {
            uint32_t from = basket[promo_rng_below(r, n)];
            const uint32_t *cp = w->p_comp + (size_t)from * SYN_MAX_COMPLEMENTS;
            const float *cw = w->p_comp_w + (size_t)from * SYN_MAX_COMPLEMENTS;
            double tot = 0;
            for (int k = 0; k < SYN_MAX_COMPLEMENTS && cp[k] != PROMO_SYNTH_NONE; k++)
                tot += cw[k];
            if (tot > 0) {
                double t = promo_rng_uniform(r) * tot;
                for (int k = 0; k < SYN_MAX_COMPLEMENTS && cp[k] != PROMO_SYNTH_NONE; k++) {
                    x = cp[k];
                    t -= cw[k];
                    if (t < 0)
                        break;
                }
            }
        }
        if (x == PROMO_SYNTH_NONE)
            x = syn_taste_pick(w, i, r);
        if (in_list(basket, n, x))
            continue;
        if (!bought || promo_rng_uniform(r) < syn_price_accept(w, x, day))
            return x;
        taste_only = 1;
    }
    uint32_t x0 = (uint32_t)promo_rng_below(r, w->n_prod);
    for (uint32_t k = 0; k < w->n_prod; k++) {
        uint32_t x = (x0 + k) % w->n_prod;
        if (!in_list(basket, n, x))
            return x;
    }
    /* unreachable while baskets are smaller than the catalogue, which callers ensure */
    PROMO_ASSERT(n < w->n_prod);
    return x0;
}

static void fill_block(const gen *g, const gen_block *bk, const fill_cols *fc)
{
    const promo_world *w = g->w;
    promo_rng r;
    promo_rng_init(&r, g->p->seed, GEN_STREAM(ST_FILL, bk - g->blocks));
    uint64_t go = bk->ord_off, gl = bk->line_off, ge = bk->ev_off;
    uint32_t basket[MAX_BASKET];
    for (uint32_t i = bk->c0; i < bk->c1; i++) {
        const gen_conv *cv = bk->cv + bk->cv_start[i - bk->c0];
        for (uint32_t o = bk->ord_start[i - bk->c0]; o < bk->ord_start[i - bk->c0 + 1]; o++) {
            const gen_order *od = &bk->ord[o];
            uint8_t online = od->online;
            int64_t ts = (w->start_day + od->day) * PROMO_SECONDS_PER_DAY + od->sec;
            uint32_t store = NULL_CODE;
            if (!online)
                store = promo_rng_uniform(&r) < 0.85 ? w->c_store[i]
                                                     : (uint32_t)promo_rng_below(&r, g->n_stores);
            uint32_t n = (uint32_t)od->n_conv + od->n_bg;
            PROMO_ASSERT(n + od->n_browse <= MAX_BASKET);
            for (uint32_t j = 0; j < n; j++) {
                uint32_t x, promo = NULL_CODE;
                double qty, disc = 0;
                if (j < od->n_conv) {
                    x = cv->product;
                    qty = cv->qty;
                    disc = cv->discount;
                    promo = cv->promo == PROMO_SYNTH_NONE ? NULL_CODE : cv->promo;
                    cv++;
                } else {
                    x = pick_line(w, i, basket, j, 1, od->day, &r);
                    qty = syn_quantity(w->p_qmean[x], promo_rng_uniform(&r));
                }
                basket[j] = x;
                size_t row = gl + j;
                fc->order_id->codes[row] = (uint32_t)go;
                fc->line->i64[row] = j + 1;
                fc->customer_id->codes[row] = i;
                fc->product_id->codes[row] = x;
                fc->store_id->codes[row] = store;
                fc->ts->i64[row] = ts;
                fc->quantity->f64[row] = qty;
                fc->unit_price->f64[row] = syn_shelf_price(w, x, od->day);
                fc->discount->f64[row] = disc;
                fc->promotion_id->codes[row] = promo;
                fc->channel->codes[row] = online;
            }
            if (online && g->p->with_events) {
                /* A session before the order: each bought product viewed (10-40 min before),
                 * some favourited (30 s before the view), carted (1-6 min before), bought. */
                for (uint32_t j = 0; j < n; j++) {
                    int64_t view = ts - 600 - 60 * (int64_t)j - (int64_t)promo_rng_below(&r, 1200);
                    int64_t cart = ts - 60 - (int64_t)promo_rng_below(&r, 300);
                    int64_t times[4] = {view, view - 30, cart, ts};
                    for (uint32_t kind = 0; kind < 4; kind++) {
                        if (kind == 1 && j >= od->n_fav)
                            continue;
                        fc->ev_customer->codes[ge] = i;
                        fc->ev_product->codes[ge] = basket[j];
                        fc->ev_ts->i64[ge] = times[kind];
                        fc->ev_kind->codes[ge] = kind == 0 ? 0 : kind == 1 ? 2 : kind == 2 ? 1 : 3;
                        ge++;
                    }
                }
                for (uint32_t j = 0; j < od->n_browse; j++) {
                    uint32_t x = pick_line(w, i, basket, n + j, 0, od->day, &r);
                    basket[n + j] = x;
                    fc->ev_customer->codes[ge] = i;
                    fc->ev_product->codes[ge] = x;
                    fc->ev_ts->i64[ge] = ts - 300 - (int64_t)promo_rng_below(&r, 2100);
                    fc->ev_kind->codes[ge] = 0;
                    ge++;
                }
            }
            gl += n;
            go++;
        }
    }
    PROMO_ASSERT(gl == bk->line_off + bk->n_lines && ge == bk->ev_off + bk->n_events);
}

/* Replace NULL_CODE placeholders with real nulls: the bitmap written a word at a time (most
 * lines have no promotion: a call per null was 50M calls at the benchmark's size). */
static int fix_nulls(promo_column *c, int nt)
{
    PROMO_ASSERT(c->n_null == 0);
    uint32_t empty = promo_dict_intern(c->dict, "", 0);
    if (empty == PROMO_DICT_NONE)
        return PROMO_ENOMEM;
    size_t words = (c->n + 63) / 64, nn = 0;
    if (!c->nulls && !(c->nulls = promo_calloc((c->cap + 63) / 64, sizeof *c->nulls)))
        return PROMO_ENOMEM;
    uint32_t *codes = c->codes;
    uint64_t *nulls = c->nulls;
    size_t n = c->n;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : nn)
    for (size_t wd = 0; wd < words; wd++) {
        size_t r0 = wd * 64, r1 = r0 + 64 < n ? r0 + 64 : n;
        uint64_t bits = 0;
        for (size_t r = r0; r < r1; r++) {
            uint64_t is = codes[r] == NULL_CODE;
            codes[r] = is ? empty : codes[r];
            bits |= is << (r - r0);
        }
        nulls[wd] = bits;
        nn += (size_t)__builtin_popcountll(bits);
    }
    c->n_null = nn;
    return PROMO_OK;
}

int gen_history(gen *g, promo_synth_tables *t)
{
    int rc;
    double t0 = promo_now_s();
    if ((rc = allocate_lines(g)))
        return rc;
    promo_debug("history: allocate %.3f s", promo_now_s() - t0);
    if ((rc = plan_all(g)))
        return rc;
    promo_debug("history: plan %.3f s (%llu orders)", promo_now_s() - t0,
                (unsigned long long)g->n_orders);
    t->transactions = promo_schema_new_table(promo_schema_find("transactions"));
    t->events = promo_schema_new_table(promo_schema_find("events"));
    if (!t->transactions || !t->events)
        return PROMO_ENOMEM;
    fill_cols fc;
    promo_table *tt = t->transactions, *te = t->events;
    fc.order_id = promo_table_column(tt, "order_id");
    fc.line = promo_table_column(tt, "line");
    fc.customer_id = promo_table_column(tt, "customer_id");
    fc.product_id = promo_table_column(tt, "product_id");
    fc.store_id = promo_table_column(tt, "store_id");
    fc.ts = promo_table_column(tt, "ts");
    fc.quantity = promo_table_column(tt, "quantity");
    fc.unit_price = promo_table_column(tt, "unit_price");
    fc.discount = promo_table_column(tt, "discount");
    fc.promotion_id = promo_table_column(tt, "promotion_id");
    fc.channel = promo_table_column(tt, "channel");
    fc.ev_customer = promo_table_column(te, "customer_id");
    fc.ev_product = promo_table_column(te, "product_id");
    fc.ev_ts = promo_table_column(te, "ts");
    fc.ev_kind = promo_table_column(te, "kind");
    static const char *const kinds[4] = {"view", "cart", "favorite", "purchase"};
    static const char *const channels[2] = {"offline", "online"};
    for (uint32_t k = 0; k < 4; k++)
        if (promo_dict_intern(fc.ev_kind->dict, kinds[k], strlen(kinds[k])) != k)
            return PROMO_ENOMEM;
    for (uint32_t k = 0; k < 2; k++)
        if (promo_dict_intern(fc.channel->dict, channels[k], strlen(channels[k])) != k)
            return PROMO_ENOMEM;
    /* Id dictionaries so that codes are indices: copies of the world's, and the small ones. */
    if ((rc = gen_set_ids(fc.customer_id, g->w->cust_ids)) ||
        (rc = gen_set_ids(fc.product_id, g->w->prod_ids)) ||
        (rc = gen_set_ids(fc.ev_customer, g->w->cust_ids)) ||
        (rc = gen_set_ids(fc.ev_product, g->w->prod_ids)) ||
        (rc = gen_intern_ids(fc.store_id, g->n_stores, gen_store_id)) ||
        (rc = gen_intern_ids(fc.promotion_id, g->n_promo, gen_promo_id)))
        return rc;
    promo_debug("history: id dictionaries %.3f s", promo_now_s() - t0);
    /* Every row of every column is written by the fill: sized without zeroing (the fill's
     * first touch is then the only one, on both threads). */
    for (size_t c = 0; c < tt->n_cols; c++)
        if ((rc = gen_column_size(tt->cols[c], g->n_lines)))
            return rc;
    for (size_t c = 0; c < te->n_cols; c++)
        if ((rc = gen_column_size(te->cols[c], g->n_events)))
            return rc;
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1)
    for (size_t b = 0; b < g->n_blocks; b++)
        fill_block(g, &g->blocks[b], &fc);
    promo_debug("history: fill %.3f s", promo_now_s() - t0);
    /* The plan is spent: give its memory back before the order ids need theirs (peak RSS). */
    for (size_t b = 0; b < g->n_blocks; b++) {
        gen_block *bk = &g->blocks[b];
        promo_free(bk->ord);
        promo_free(bk->ord_start);
        promo_free(bk->cv);
        promo_free(bk->cv_start);
        bk->ord = NULL;
        bk->cv = NULL;
        bk->ord_start = bk->cv_start = NULL;
    }
    /* Order ids are distinct by construction: bulk-append them (no probe per key). */
    PROMO_ASSERT(promo_dict_size(fc.order_id->dict) == 0);
    if ((rc = promo_dict_append_distinct(fc.order_id->dict, g->n_orders, gen_key_order, NULL,
                                         g->nt)))
        return rc == PROMO_ENOMEM ? promo_fail(rc, "out of memory building the order ids") : rc;
    promo_debug("history: order ids %.3f s", promo_now_s() - t0);
    if ((rc = fix_nulls(fc.store_id, g->nt)) || (rc = fix_nulls(fc.promotion_id, g->nt)) ||
        (rc = promo_table_seal(tt)) || (rc = promo_table_seal(te)))
        return rc;
    return PROMO_OK;
}
