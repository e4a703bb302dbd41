/* The generator's driver and its first phases: parameters, the latent world (products with
 * affinities, customers with their true response), calibration of visit rates to the wanted
 * number of lines, promotions, and the exposure log (randomised arms + a naive targeted share,
 * with responses drawn from the true model). history.c then plays the transactions.
 *
 * Parallelism: customers are cut into fixed blocks of GEN_BLOCK; each block draws from its own
 * RNG streams and writes into its own buffers or at offsets fixed by prefix sums, so the tables
 * are byte-identical for any thread count. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/timeutil.h>

#include "synth/gen_internal.h"

const char *const gen_channel_names[3] = {"email", "sms", "app"};
const char *const gen_arm_names[3] = {"treatment", "control", "targeted"};
const char *const gen_tier_names[4] = {"gold", "silver", "bronze", "basic"};

promo_synth_params promo_synth_params_default(void)
{
    promo_synth_params p;
    memset(&p, 0, sizeof p);
    p.seed = 42;
    p.n_customers = 1000;
    p.n_products = 250;
    p.n_categories = 15;
    p.n_stores = 10;
    p.n_promotions = 200;
    p.n_transactions = 50000;
    p.n_months = 18;
    p.start_date = promo_days_from_civil(2023, 7, 1) * PROMO_SECONDS_PER_DAY;
    p.contacts_per_customer = 10.0;
    p.targeted_share = 0.3;
    p.control_share = 0.5;
    p.with_events = 1;
    p.n_threads = 0;
    return p;
}

int promo_synth_params_check(const promo_synth_params *p)
{
    if (p->n_customers < 1 || p->n_customers > 50000000)
        return promo_fail(PROMO_EUSAGE, "customers must be 1..50000000, got %u", p->n_customers);
    if (p->n_categories < 1 || p->n_categories > SYN_MAX_CATEGORIES)
        return promo_fail(PROMO_EUSAGE, "categories must be 1..%d, got %u", SYN_MAX_CATEGORIES,
                          p->n_categories);
    uint32_t min_prod = p->n_categories > 10 ? p->n_categories : 10;
    if (p->n_products < min_prod || p->n_products > 10000000)
        return promo_fail(PROMO_EUSAGE, "products must be %u..10000000, got %u", min_prod,
                          p->n_products);
    if (p->n_stores < 1 || p->n_stores > 10000)
        return promo_fail(PROMO_EUSAGE, "stores must be 1..10000, got %u", p->n_stores);
    if (p->n_promotions > 1000000)
        return promo_fail(PROMO_EUSAGE, "promotions must be 0..1000000, got %u", p->n_promotions);
    if (p->n_months < 1 || p->n_months > 120)
        return promo_fail(PROMO_EUSAGE, "months must be 1..120, got %u", p->n_months);
    if (p->n_transactions > 2000000000ULL)
        return promo_fail(PROMO_EUSAGE, "transactions must be 0..2000000000, got %llu",
                          (unsigned long long)p->n_transactions);
    /* Each customer-day holds at most one order of at most maxb lines; keep well inside. */
    double cap = (double)p->n_customers * p->n_months * 30.0 * 4.0;
    if ((double)p->n_transactions > cap)
        return promo_fail(PROMO_EUSAGE,
                          "transactions %llu is too many for %u customers over %u months "
                          "(at most %.0f)",
                          (unsigned long long)p->n_transactions, p->n_customers, p->n_months, cap);
    if (!(p->contacts_per_customer >= 0 && p->contacts_per_customer <= 100))
        return promo_fail(PROMO_EUSAGE, "contacts_per_customer must be 0..100");
    if (!(p->targeted_share >= 0 && p->targeted_share <= 1) ||
        !(p->control_share >= 0 && p->control_share <= 1))
        return promo_fail(PROMO_EUSAGE, "targeted_share and control_share must be 0..1");
    if (p->n_threads < 0 || p->n_threads > 1024)
        return promo_fail(PROMO_EUSAGE, "threads must be 0..1024, got %d", p->n_threads);
    return PROMO_OK;
}

int gen_threads(int n_threads)
{
    return n_threads > 0 ? n_threads : omp_get_max_threads();
}

void gen_store_id(uint32_t s, char *buf, size_t n)
{
    snprintf(buf, n, "ST%02u", s + 1);
}

void gen_promo_id(uint32_t k, char *buf, size_t n)
{
    snprintf(buf, n, "PROMO%04u", k + 1);
}

size_t gen_fmt_id(char *buf, const char *prefix, size_t plen, unsigned width, uint64_t v)
{
    char tmp[24];
    unsigned len = 0;
    while (v || len < width) {
        tmp[len++] = (char)('0' + v % 10);
        v /= 10;
    }
    memcpy(buf, prefix, plen);
    for (unsigned j = 0; j < len; j++)
        buf[plen + j] = tmp[len - 1 - j];
    return plen + len;
}

/* "ORD" + at least 8 digits of k + 1, without printf (20M of them in the benchmark). */
void gen_order_id(uint32_t k, char *buf, size_t n)
{
    PROMO_ASSERT(n >= 24);
    buf[gen_fmt_id(buf, "ORD", 3, 8, (uint64_t)k + 1)] = 0;
}

size_t gen_key_order(void *ctx, size_t k, char *buf)
{
    (void)ctx;
    return gen_fmt_id(buf, "ORD", 3, 8, (uint64_t)k + 1);
}

static size_t key_customer(void *ctx, size_t k, char *buf)
{
    (void)ctx;
    return gen_fmt_id(buf, "CUST", 4, 7, (uint64_t)k + 1);
}

static size_t key_product(void *ctx, size_t k, char *buf)
{
    (void)ctx;
    return gen_fmt_id(buf, "PROD", 4, 5, (uint64_t)k + 1);
}

int gen_column_size(promo_column *c, size_t n)
{
    PROMO_ASSERT(c->n == 0);
    if (promo_column_reserve(c, n))
        return promo_fail(PROMO_ENOMEM, "out of memory sizing column %s", c->name);
    c->n = n;
    return PROMO_OK;
}

int gen_set_ids(promo_column *c, const promo_dict *ids)
{
    PROMO_ASSERT(c->type == PROMO_COL_STRING && promo_dict_size(c->dict) == 0);
    promo_dict *d = promo_dict_clone(ids);
    if (!d)
        return promo_fail(PROMO_ENOMEM, "out of memory copying an id dictionary");
    promo_column_set_dict(c, d);
    return PROMO_OK;
}

/* Intern the ids of 0..n-1 in order, so id k gets code k (dictionary codes are insertion
 * order): bulk fills can then write indices as codes. */
static int intern_dict(promo_dict *d, uint32_t n, void (*fmt)(uint32_t, char *, size_t))
{
    enum { CHUNK = 256, KEY = 24 };
    char buf[CHUNK * KEY];
    const char *keys[CHUNK];
    uint32_t lens[CHUNK];
    uint32_t start = promo_dict_size(d);
    if (promo_dict_reserve(d, start + (size_t)n))
        return promo_fail(PROMO_ENOMEM, "out of memory interning ids");
    for (uint32_t k0 = 0; k0 < n; k0 += CHUNK) {
        uint32_t m = n - k0 < CHUNK ? n - k0 : CHUNK;
        for (uint32_t k = 0; k < m; k++) {
            fmt(k0 + k, buf + (size_t)k * KEY, KEY);
            keys[k] = buf + (size_t)k * KEY;
            lens[k] = (uint32_t)strlen(keys[k]);
        }
        if (promo_dict_intern_batch(d, keys, lens, m, NULL))
            return promo_fail(PROMO_ENOMEM, "out of memory interning ids");
    }
    if (promo_dict_size(d) != start + n)
        return promo_fail(PROMO_EINTERNAL, "duplicate generated ids");
    return PROMO_OK;
}

int gen_intern_ids(promo_column *c, uint32_t n, void (*fmt)(uint32_t, char *, size_t))
{
    PROMO_ASSERT(c->type == PROMO_COL_STRING && promo_dict_size(c->dict) == 0);
    return intern_dict(c->dict, n, fmt);
}

size_t promo_synth_tables_list(const promo_synth_tables *t, const promo_table **out)
{
    const promo_table *all[PROMO_SYNTH_N_TABLES] = {
        t->customers,       t->products,       t->stores,         t->promotions,
        t->transactions,    t->exposures,      t->responses,      t->events,
        t->truth_customers, t->truth_products, t->truth_affinity, t->truth_category_affinity,
        t->truth_exposures, t->truth_params,
    };
    memcpy(out, all, sizeof all);
    return PROMO_SYNTH_N_TABLES;
}

void promo_synth_tables_free(promo_synth_tables *t)
{
    if (!t)
        return;
    promo_table *all[PROMO_SYNTH_N_TABLES] = {
        t->customers,       t->products,       t->stores,         t->promotions,
        t->transactions,    t->exposures,      t->responses,      t->events,
        t->truth_customers, t->truth_products, t->truth_affinity, t->truth_category_affinity,
        t->truth_exposures, t->truth_params,
    };
    for (int k = 0; k < PROMO_SYNTH_N_TABLES; k++)
        promo_table_free(all[k]);
    memset(t, 0, sizeof *t);
}

/* ---- products ---- */

static uint32_t item_index(const syn_category *c, const char *name)
{
    for (uint32_t k = 0; k < c->n_items; k++)
        if (strcmp(c->items[k].name, name) == 0)
            return k;
    return UINT32_MAX;
}

/* Product x is the (x / n_cat)-th product of category x % n_cat; its base item cycles through
 * the category's items, so the first products of a category are its distinct, most popular
 * items and later ones are other brands of the same items. */
static void product_layout(const promo_world *w,
                           uint32_t x,
                           uint32_t *cat,
                           uint32_t *rank,
                           uint32_t *item,
                           uint32_t *variant)
{
    *cat = x % w->n_cat;
    *rank = x / w->n_cat;
    *item = *rank % syn_categories[*cat].n_items;
    *variant = *rank / syn_categories[*cat].n_items;
}

static void add_complement(promo_world *w, uint32_t x, uint32_t y, double strength)
{
    if (y == x || y >= w->n_prod)
        return;
    uint32_t *slot = w->p_comp + (size_t)x * SYN_MAX_COMPLEMENTS;
    for (int k = 0; k < SYN_MAX_COMPLEMENTS; k++) {
        if (slot[k] == y)
            return;
        if (slot[k] == PROMO_SYNTH_NONE) {
            slot[k] = y;
            w->p_comp_w[(size_t)x * SYN_MAX_COMPLEMENTS + k] = (float)strength;
            return;
        }
    }
}

static int gen_products(gen *g)
{
    promo_world *w = g->w;
    promo_rng r;
    promo_rng_init(&r, g->p->seed, GEN_STREAM(ST_PRODUCTS, 0));
    double cat_sum[SYN_MAX_CATEGORIES] = {0};
    for (uint32_t x = 0; x < w->n_prod; x++) {
        uint32_t c, rank, item, variant;
        product_layout(w, x, &c, &rank, &item, &variant);
        const syn_category *cat = &syn_categories[c];
        double jitter =
            variant ? 0.85 + 0.4 * promo_rng_uniform(&r) : 0.95 + 0.1 * promo_rng_uniform(&r);
        double price = floor(cat->items[item].price * jitter / 5.0 + 0.5) * 5.0;
        if (price < 10)
            price = 10;
        double margin = cat->margin * (0.75 + 0.5 * promo_rng_uniform(&r));
        w->p_cat[x] = (uint16_t)c;
        w->p_price[x] = price;
        w->p_cost[x] = floor(price * (1.0 - margin) * 100.0 + 0.5) / 100.0;
        w->p_qmean[x] = cat->quantity_mean;
        w->p_elast[x] = -(0.5 + (SYN_MAX_ELASTICITY - 0.5) * promo_rng_uniform(&r));
        /* Zipf-like popularity within the category, with noise. */
        w->p_share[x] = pow(rank + 1.0, -0.9) * exp(0.35 * promo_rng_normal(&r));
        cat_sum[c] += w->p_share[x];
    }
    int rc = promo_dict_append_distinct(w->prod_ids, w->n_prod, key_product, NULL, g->nt);
    if (rc)
        return rc;
    for (uint32_t x = 0; x < w->n_prod; x++)
        w->p_share[x] /= cat_sum[w->p_cat[x]];
    /* Affinities: named item pairs first (bread -> butter), then the configured category pairs
     * (both directions) towards the partner category's top products. */
    for (uint32_t x = 0; x < w->n_prod; x++) {
        uint32_t c, rank, item, variant;
        product_layout(w, x, &c, &rank, &item, &variant);
        const char *name = syn_categories[c].items[item].name;
        for (uint32_t k = 0; k < syn_n_named_pairs; k++) {
            if (strcmp(syn_named_pairs[k].from, name) != 0)
                continue;
            for (uint32_t d = 0; d < w->n_cat; d++) {
                uint32_t it = item_index(&syn_categories[d], syn_named_pairs[k].to);
                if (it != UINT32_MAX)
                    add_complement(w, x, it * w->n_cat + d, 0.6);
            }
        }
        for (uint32_t k = 0; k < syn_n_category_pairs; k++) {
            const syn_pair *pr = &syn_category_pairs[k];
            uint32_t d = pr->a == c ? pr->b : pr->b == c ? pr->a : UINT32_MAX;
            if (d >= w->n_cat)
                continue;
            add_complement(w, x, (rank % 3) * w->n_cat + d, 0.8 * pr->strength);
        }
    }
    return PROMO_OK;
}

/* ---- customers ---- */

static uint32_t pick_weighted(const double *wt, uint32_t n, double u)
{
    double sum = 0;
    for (uint32_t k = 0; k < n; k++)
        sum += wt[k];
    double t = u * sum;
    for (uint32_t k = 0; k < n; k++) {
        if (t < wt[k])
            return k;
        t -= wt[k];
    }
    return n - 1;
}

static void gen_customer(gen *g, uint32_t i, promo_rng *r, gsl_rng *gr, const double *store_wt)
{
    promo_world *w = g->w;
    const promo_synth_params *p = g->p;
    static const double seg_share[4] = {0.12, 0.28, 0.35, 0.25};
    static const double seg_visits_week[4] = {2.2, 0.9, 0.35, 0.1};
    static const double seg_basket[4] = {3.2, 2.6, 2.2, 1.8};
    static const double seg_churn[4] = {0.08, 0.15, 0.25, 0.35};
    static const double seg_sure[4] = {1.8, 1.3, 0.8, 0.5};
    static const double wd_pref[7] = {1, 1, 1, 1, 1.2, 1.8, 1.5};

    double gw[8];
    for (uint32_t k = 0; k < syn_n_name_groups; k++)
        gw[k] = syn_name_groups[k].weight;
    uint32_t grp = pick_weighted(gw, syn_n_name_groups, promo_rng_uniform(r));
    const syn_names *nm = &syn_name_groups[grp];
    g->c_group[i] = (uint8_t)grp;
    g->c_gender[i] = (uint8_t)promo_rng_bernoulli(r, 0.5);
    g->c_first[i] = (uint16_t)promo_rng_below(r, g->c_gender[i] ? nm->n_male : nm->n_female);
    g->c_last[i] = (uint16_t)promo_rng_below(r, nm->n_last);
    double age = 40 + 13 * promo_rng_normal(r);
    g->c_age[i] = (uint8_t)(age < 18 ? 18 : age > 85 ? 85 : age);
    w->c_store[i] = pick_weighted(store_wt, g->n_stores, promo_rng_uniform(r));

    uint32_t seg = pick_weighted(seg_share, 4, promo_rng_uniform(r));
    w->c_seg[i] = (uint8_t)seg;
    /* The observed loyalty tier is the true segment, blurred. */
    int tier = (int)seg;
    double u = promo_rng_uniform(r);
    if (u < 0.15)
        tier = tier > 0 ? tier - 1 : tier;
    else if (u < 0.30)
        tier = tier < 3 ? tier + 1 : tier;
    g->c_tier[i] = (uint8_t)tier;
    w->c_visit[i] = seg_visits_week[seg] / 7.0 * exp(0.45 * promo_rng_normal(r));
    double bm = seg_basket[seg] * exp(0.2 * promo_rng_normal(r));
    w->c_bmean[i] = bm < 1.0 ? 1.0 : bm;

    int32_t n_days = (int32_t)w->n_days;
    if (promo_rng_uniform(r) < 0.65 || n_days < 30)
        g->c_signup[i] = -(int32_t)(30 + promo_rng_below(r, 1770));
    else
        g->c_signup[i] = (int32_t)promo_rng_below(r, (uint64_t)(n_days - 14));
    w->c_from[i] = g->c_signup[i] > 0 ? g->c_signup[i] : 0;
    w->c_churn[i] = INT32_MAX;
    if (promo_rng_uniform(r) < seg_churn[seg] && n_days - w->c_from[i] >= 10) {
        double f = 0.15 + 0.8 * promo_rng_uniform(r);
        w->c_churn[i] = w->c_from[i] + 1 + (int32_t)(f * (n_days - w->c_from[i] - 1));
    }

    double tw[PROMO_RESP_TYPE_COUNT] = {0.30, 0.20 * seg_sure[seg], 0.38, 0.12};
    uint32_t type = pick_weighted(tw, PROMO_RESP_TYPE_COUNT, promo_rng_uniform(r));
    w->c_type[i] = (uint8_t)type;
    switch (type) {
    case PROMO_RESP_PERSUADABLE:
        w->c_effect[i] = 0.08 + 0.5 * gsl_ran_beta(gr, 2, 4);
        break;
    case PROMO_RESP_SURE_THING:
        w->c_effect[i] = 0.01 * fabs(promo_rng_normal(r));
        break;
    case PROMO_RESP_LOST_CAUSE:
        w->c_effect[i] = 0.005 * fabs(promo_rng_normal(r));
        break;
    default:
        w->c_effect[i] = -(0.04 + 0.25 * gsl_ran_beta(gr, 2, 4));
        break;
    }
    w->c_psens[i] = gsl_ran_beta(gr, 2, 2);
    w->c_dsens[i] = (6.0 + 20.0 * (1.0 - w->c_psens[i])) * exp(0.15 * promo_rng_normal(r));
    w->c_fsens[i] = gsl_ran_gamma(gr, 2.0, 0.15);
    w->c_bwd[i] = (uint8_t)pick_weighted(wd_pref, 7, promo_rng_uniform(r));
    double hu = promo_rng_uniform(r);
    double bh = hu < 0.3   ? 8 + 3 * promo_rng_uniform(r)
                : hu < 0.5 ? 12 + 2 * promo_rng_uniform(r)
                           : 17 + 4 * promo_rng_uniform(r);
    w->c_bhour[i] = (uint8_t)bh;
    double on = gsl_ran_beta(gr, 1.2, 4.0) * (1.3 - g->c_age[i] / 100.0);
    w->c_online[i] = on > 0.95 ? 0.95 : on;

    double alpha[SYN_MAX_CATEGORIES], theta[SYN_MAX_CATEGORIES], mean_w = 0;
    for (uint32_t c = 0; c < w->n_cat; c++)
        mean_w += syn_categories[c].weight / w->n_cat;
    for (uint32_t c = 0; c < w->n_cat; c++)
        alpha[c] = 1.2 * syn_categories[c].weight / mean_w;
    gsl_ran_dirichlet(gr, w->n_cat, alpha, theta);
    for (uint32_t c = 0; c < w->n_cat; c++)
        w->c_taste[(size_t)i * w->n_cat + c] = (float)theta[c];
    /* Habits: many of a shopper's lines are products they buy again and again (in Instacart's
     * public orders 59% of the lines are reorders, staples or not), so each customer gets 3-6
     * staples drawn from their taste, and a share of their lines (mean 0.41, at most
     * SYN_MAX_HABIT) goes to them. */
    w->c_habit[i] = SYN_MAX_HABIT * gsl_ran_beta(gr, 3, 2);
    uint32_t *st = w->c_staple + (size_t)i * SYN_MAX_STAPLES;
    uint32_t want = 3 + (uint32_t)promo_rng_below(r, SYN_MAX_STAPLES - 2), have = 0;
    for (int tries = 0; have < want && tries < 8 * SYN_MAX_STAPLES; tries++) {
        uint32_t x = syn_taste_pick(w, i, r);
        uint32_t k = 0;
        while (k < have && st[k] != x)
            k++;
        if (k == have)
            st[have++] = x;
    }
    (void)p;
}

static int gen_customers(gen *g)
{
    promo_world *w = g->w;
    double *store_wt = promo_mallocn(g->n_stores, sizeof *store_wt);
    if (!store_wt)
        return PROMO_ENOMEM;
    /* Stores sit in the first cities; customers live near a store in proportion to the city's
     * weight shared among its stores. */
    for (uint32_t s = 0; s < g->n_stores; s++) {
        uint32_t city = s % syn_n_cities;
        uint32_t in_city = g->n_stores / syn_n_cities + (city < g->n_stores % syn_n_cities);
        store_wt[s] = syn_cities[city].weight / in_city;
    }
    int failed = 0;
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1)
    for (size_t b = 0; b < g->n_blocks; b++) {
        gsl_rng *gr = promo_rng_gsl(g->p->seed, GEN_STREAM(ST_CUST_GSL, b));
        if (!gr) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        promo_rng r;
        promo_rng_init(&r, g->p->seed, GEN_STREAM(ST_CUST, b));
        for (uint32_t i = g->blocks[b].c0; i < g->blocks[b].c1; i++)
            gen_customer(g, i, &r, gr, store_wt);
        gsl_rng_free(gr);
    }
    promo_free(store_wt);
    if (failed)
        return promo_fail(PROMO_ENOMEM, "out of memory creating random generators");
    PROMO_ASSERT(promo_dict_size(w->cust_ids) == 0);
    return promo_dict_append_distinct(w->cust_ids, w->n_cust, key_customer, NULL, g->nt);
}

/* Scale visit rates so the expected number of lines over the history is n_transactions. */
static void calibrate(gen *g)
{
    promo_world *w = g->w;
    double total = 0;
    for (uint32_t i = 0; i < w->n_cust; i++)
        total += w->c_visit[i] * w->c_bmean[i] * syn_active_season(w, i, 0, w->n_days);
    double k = total > 0 ? (double)g->p->n_transactions / total : 1.0;
    for (uint32_t i = 0; i < w->n_cust; i++)
        w->c_visit[i] *= k;
}

/* ---- promotions ---- */

static int gen_promotions(gen *g)
{
    promo_world *w = g->w;
    uint32_t n = g->n_promo;
    size_t m = n ? n : 1;
    g->pr_start = promo_calloc(m, sizeof *g->pr_start);
    g->pr_end = promo_calloc(m, sizeof *g->pr_end);
    g->pr_prod = promo_calloc(m, sizeof *g->pr_prod);
    g->pr_catlevel = promo_calloc(m, 1);
    g->pr_pct = promo_calloc(m, sizeof *g->pr_pct);
    g->pr_coupon = promo_calloc(m, sizeof *g->pr_coupon);
    g->pr_channel = promo_calloc(m, 1);
    g->pr_hour = promo_calloc(m, 1);
    g->pr_cost = promo_calloc(m, sizeof *g->pr_cost);
    g->prc_start = promo_calloc(w->n_cat + 1, sizeof *g->prc_start);
    g->prc_list = promo_calloc(m, sizeof *g->prc_list);
    if (!g->pr_start || !g->pr_end || !g->pr_prod || !g->pr_catlevel || !g->pr_pct ||
        !g->pr_coupon || !g->pr_channel || !g->pr_hour || !g->pr_cost || !g->prc_start ||
        !g->prc_list)
        return PROMO_ENOMEM;
    promo_rng r;
    promo_rng_init(&r, g->p->seed, GEN_STREAM(ST_PROMOS, 0));
    double cat_w[SYN_MAX_CATEGORIES];
    for (uint32_t c = 0; c < w->n_cat; c++)
        cat_w[c] = syn_categories[c].weight;
    static const double pcts[6] = {5, 10, 15, 20, 25, 30};
    static const double ch_cost[3] = {0.5, 1.5, 0.2}; /* LKR: e-mail, SMS, app push */
    static const double ch_w[3] = {0.45, 0.35, 0.20};
    static const uint8_t hours[5] = {8, 10, 12, 17, 19};
    int32_t nd = (int32_t)w->n_days;
    for (uint32_t k = 0; k < n; k++) {
        int32_t dur = 7 + (int32_t)promo_rng_below(&r, 15);
        int32_t lo = nd > 40 ? 7 : 0, hi = nd > 40 ? nd - dur - 1 : nd;
        g->pr_start[k] = lo + (int32_t)promo_rng_below(&r, (uint64_t)(hi - lo));
        g->pr_end[k] = g->pr_start[k] + dur - 1 < nd - 1 ? g->pr_start[k] + dur - 1 : nd - 1;
        uint32_t c = pick_weighted(cat_w, w->n_cat, promo_rng_uniform(&r));
        g->pr_prod[k] = syn_pick_in_cat(w, c, &r);
        g->pr_catlevel[k] = (uint8_t)promo_rng_bernoulli(&r, 0.3);
        if (promo_rng_uniform(&r) < 0.8) {
            g->pr_pct[k] = pcts[promo_rng_below(&r, 6)];
        } else {
            double v = w->p_price[g->pr_prod[k]] * (0.05 + 0.25 * promo_rng_uniform(&r));
            g->pr_coupon[k] = v < 50 ? 50 : floor(v / 50.0 + 0.5) * 50.0;
        }
        g->pr_channel[k] = (uint8_t)pick_weighted(ch_w, 3, promo_rng_uniform(&r));
        g->pr_cost[k] = ch_cost[g->pr_channel[k]];
        g->pr_hour[k] = hours[promo_rng_below(&r, 5)];
        g->prc_start[c + 1]++;
    }
    for (uint32_t c = 0; c < w->n_cat; c++)
        g->prc_start[c + 1] += g->prc_start[c];
    uint32_t fill[SYN_MAX_CATEGORIES];
    memcpy(fill, g->prc_start, w->n_cat * sizeof *fill);
    for (uint32_t k = 0; k < n; k++)
        g->prc_list[fill[w->p_cat[g->pr_prod[k]]]++] = k;
    return PROMO_OK;
}

/* Effective discount percent of promotion k on product x bought q at a time. */
static double promo_pct(const gen *g, uint32_t k, uint32_t x)
{
    if (g->pr_coupon[k] <= 0)
        return g->pr_pct[k];
    double pct = 100.0 * g->pr_coupon[k] / g->w->p_price[x];
    return pct > 50 ? 50 : pct;
}

/* ---- exposures and responses ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap ? PROMO_OK : promo_grow(p, cap, need, elem);
}

void gen_order_slot(const gen *g, uint32_t i, int32_t day, int32_t *sec, uint8_t *online)
{
    promo_rng r;
    promo_rng_init(&r, g->p->seed, GEN_STREAM(ST_SLOT, ((uint64_t)i << 13) | (uint32_t)day));
    *online = (uint8_t)(promo_rng_uniform(&r) < g->w->c_online[i]);
    double h = g->w->c_bhour[i] + 1.7 * promo_rng_normal(&r);
    double lo = *online ? 6 : 8, hi = *online ? 23 : 21;
    h = h < lo ? lo : h > hi ? hi : h;
    *sec = (int32_t)h * 3600 + (int32_t)promo_rng_below(&r, 3600);
}

/* Place a promotion purchase of product x by customer i on a day in [lo, hi), avoiding a day
 * that already has x or GEN_MAX_CONV_PER_DAY promotion lines. Returns the day or -1. */
static int32_t
conv_day(const gen_conv *cv, size_t n, uint32_t x, int32_t lo, int32_t hi, promo_rng *r)
{
    if (hi <= lo)
        return -1;
    int32_t span = hi - lo, d0 = (int32_t)promo_rng_below(r, (uint64_t)span);
    for (int32_t k = 0; k < span; k++) {
        int32_t d = lo + (d0 + k) % span;
        int same_day = 0, clash = 0;
        for (size_t j = 0; j < n; j++) {
            if (cv[j].day != d)
                continue;
            same_day++;
            clash |= cv[j].product == x;
        }
        if (!clash && same_day < GEN_MAX_CONV_PER_DAY)
            return d;
    }
    return -1;
}

static int expo_cmp(const void *a, const void *b)
{
    const gen_expo *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->promo < y->promo ? -1 : x->promo > y->promo;
}

static int conv_cmp(const void *a, const void *b)
{
    const gen_conv *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->product < y->product ? -1 : x->product > y->product;
}

static int
expo_customer(gen *g, gen_block *bk, uint32_t i, promo_rng *r, gsl_rng *gr, double mean_act)
{
    promo_world *w = g->w;
    const promo_synth_params *p = g->p;
    size_t e0 = bk->n_ex;
    if (g->n_promo) {
        double act = w->c_visit[i] / mean_act;
        act = act > 4 ? 4 : act;
        unsigned n_rand = gsl_ran_poisson(gr, p->contacts_per_customer * (1 - p->targeted_share));
        unsigned n_targ = gsl_ran_poisson(gr, p->contacts_per_customer * p->targeted_share * act);
        for (unsigned k = 0; k < n_rand + n_targ; k++) {
            uint32_t pr;
            uint8_t arm;
            if (k < n_rand) {
                pr = (uint32_t)promo_rng_below(r, g->n_promo);
                arm = promo_rng_uniform(r) < p->control_share ? 1 : 0;
            } else {
                /* The naive rule: customers with a taste for the category. */
                double t = promo_rng_uniform(r);
                uint32_t c = 0;
                for (; c + 1 < w->n_cat; c++) {
                    t -= w->c_taste[(size_t)i * w->n_cat + c];
                    if (t < 0)
                        break;
                }
                uint32_t a = g->prc_start[c], n = g->prc_start[c + 1] - a;
                if (!n)
                    continue;
                pr = g->prc_list[a + promo_rng_below(r, n)];
                arm = 2;
            }
            if (g->c_signup[i] > g->pr_start[pr])
                continue; /* not a customer yet */
            int dup = 0;
            for (size_t j = e0; j < bk->n_ex && !dup; j++)
                dup = bk->ex[j].promo == pr;
            if (dup)
                continue;
            if (grow((void **)&bk->ex, &bk->cap_ex, bk->n_ex + 1, sizeof *bk->ex))
                return PROMO_ENOMEM;
            gen_expo *e = &bk->ex[bk->n_ex++];
            memset(e, 0, sizeof *e);
            e->promo = pr;
            e->arm = arm;
            e->ts = (w->start_day + g->pr_start[pr]) * PROMO_SECONDS_PER_DAY +
                    g->pr_hour[pr] * 3600 + (int64_t)promo_rng_below(r, 60) * 60;
        }
    }
    size_t n = bk->n_ex - e0;
    if (n > 1)
        qsort(bk->ex + e0, n, sizeof *bk->ex, expo_cmp);
    size_t c0 = bk->n_cv;
    double fat_end = 0, fat = 0;
    for (size_t j = e0; j < bk->n_ex; j++) {
        gen_expo *e = &bk->ex[j];
        uint32_t pr = e->promo, x = g->pr_prod[pr];
        int contacted = e->arm != 1;
        /* F over earlier contacts, by recurrence (exposures are sorted by time): decay the
         * previous F to this send and add the previous contact. */
        if (j > e0)
            fat = (fat + (bk->ex[j - 1].arm != 1)) *
                  exp(-(double)(e->ts - bk->ex[j - 1].ts) / PROMO_SECONDS_PER_DAY /
                      SYN_FATIGUE_TAU_DAYS);
        int32_t start = g->pr_start[pr], len = g->pr_end[pr] - start + 1;
        uint32_t offered = g->pr_catlevel[pr] ? PROMO_SYNTH_NONE : x;
        double pct = promo_pct(g, pr, x);
        syn_probs(w, i, w->p_cat[x], offered, pct, start, g->pr_hour[pr], fat, len, &e->p0, &e->p1);
        double u = promo_rng_uniform(r);
        if (contacted)
            fat_end += exp(-(double)((w->start_day + w->n_days) * PROMO_SECONDS_PER_DAY - e->ts) /
                           PROMO_SECONDS_PER_DAY / SYN_FATIGUE_TAU_DAYS);
        if (u >= (contacted ? e->p1 : e->p0))
            continue;
        uint32_t buy = g->pr_catlevel[pr] ? syn_pick_in_cat(w, w->p_cat[x], r) : x;
        int32_t lo = start + 1 > w->c_from[i] ? start + 1 : w->c_from[i];
        int32_t hi = g->pr_end[pr] + 1;
        if (hi > w->c_churn[i])
            hi = w->c_churn[i];
        if (hi > (int32_t)w->n_days)
            hi = (int32_t)w->n_days;
        int32_t d = conv_day(bk->cv + c0, bk->n_cv - c0, buy, lo, hi, r);
        if (d < 0)
            continue; /* no room left in the window: counted as not converted */
        if (grow((void **)&bk->cv, &bk->cap_cv, bk->n_cv + 1, sizeof *bk->cv))
            return PROMO_ENOMEM;
        gen_conv *cv = &bk->cv[bk->n_cv++];
        cv->day = d;
        cv->product = buy;
        cv->promo = contacted ? pr : PROMO_SYNTH_NONE;
        cv->qty = syn_quantity(w->p_qmean[buy], promo_rng_uniform(r));
        double gross = cv->qty * syn_shelf_price(w, buy, d);
        cv->discount = 0;
        if (contacted) {
            double off = g->pr_coupon[pr] > 0 ? g->pr_coupon[pr] : gross * g->pr_pct[pr] / 100.0;
            cv->discount = off > 0.5 * gross ? 0.5 * gross : off;
            cv->discount = floor(cv->discount * 100.0 + 0.5) / 100.0;
        }
        int32_t sec;
        uint8_t online;
        gen_order_slot(g, i, d, &sec, &online);
        e->converted = 1;
        e->conv_ts = (w->start_day + d) * PROMO_SECONDS_PER_DAY + sec;
        e->revenue = gross - cv->discount;
    }
    w->c_fat_end[i] = fat_end;
    if (bk->n_cv - c0 > 1)
        qsort(bk->cv + c0, bk->n_cv - c0, sizeof *bk->cv, conv_cmp);
    return PROMO_OK;
}

static int gen_exposures(gen *g)
{
    promo_world *w = g->w;
    double mean_act = 0;
    for (uint32_t i = 0; i < w->n_cust; i++)
        mean_act += w->c_visit[i];
    mean_act = mean_act > 0 ? mean_act / w->n_cust : 1.0;
    int failed = 0;
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1)
    for (size_t b = 0; b < g->n_blocks; b++) {
        gen_block *bk = &g->blocks[b];
        uint32_t nc = bk->c1 - bk->c0;
        gsl_rng *gr = promo_rng_gsl(g->p->seed, GEN_STREAM(ST_EXPO, (b << 1) | 1));
        bk->ex_start = promo_calloc(nc + 1, sizeof *bk->ex_start);
        bk->cv_start = promo_calloc(nc + 1, sizeof *bk->cv_start);
        if (!gr || !bk->ex_start || !bk->cv_start) {
            gsl_rng_free(gr);
#pragma omp atomic write
            failed = 1;
            continue;
        }
        promo_rng r;
        promo_rng_init(&r, g->p->seed, GEN_STREAM(ST_EXPO, b << 1));
        for (uint32_t i = bk->c0; i < bk->c1; i++) {
            if (expo_customer(g, bk, i, &r, gr, mean_act)) {
#pragma omp atomic write
                failed = 1;
                break;
            }
            bk->ex_start[i - bk->c0 + 1] = (uint32_t)bk->n_ex;
            bk->cv_start[i - bk->c0 + 1] = (uint32_t)bk->n_cv;
        }
        gsl_rng_free(gr);
    }
    if (failed)
        return promo_fail(PROMO_ENOMEM, "out of memory drawing exposures");
    g->n_ex = 0;
    for (size_t b = 0; b < g->n_blocks; b++) {
        g->blocks[b].ex_off = g->n_ex;
        g->n_ex += g->blocks[b].n_ex;
    }
    return PROMO_OK;
}

/* ---- canonical tables: customers, products, stores, promotions, exposures, responses ---- */

static int new_table(const char *name, promo_table **out)
{
    *out = promo_schema_new_table(promo_schema_find(name));
    return *out ? PROMO_OK : PROMO_ENOMEM;
}

#define COL(t, name) promo_table_column((t), (name))
#define TRY(x)                      \
    do {                            \
        if ((rc = (x)) != PROMO_OK) \
            goto fail;              \
    } while (0)

static int push_cstr(promo_column *c, const char *s)
{
    return promo_column_push_str(c, s, strlen(s));
}

static int tables_static(gen *g, promo_synth_tables *t)
{
    promo_world *w = g->w;
    int rc;
    char buf[128];
    TRY(new_table("customers", &t->customers));
    TRY(new_table("products", &t->products));
    TRY(new_table("stores", &t->stores));
    TRY(new_table("promotions", &t->promotions));
    promo_table *tc = t->customers;
    TRY(promo_table_reserve(tc, w->n_cust));
    TRY(gen_set_ids(COL(tc, "customer_id"), w->cust_ids));
    for (uint32_t i = 0; i < w->n_cust; i++) {
        const syn_names *nm = &syn_name_groups[g->c_group[i]];
        snprintf(buf, sizeof buf, "%s %s",
                 g->c_gender[i] ? nm->male[g->c_first[i]] : nm->female[g->c_first[i]],
                 nm->last[g->c_last[i]]);
        TRY(promo_column_push_code(COL(tc, "customer_id"), i));
        TRY(push_cstr(COL(tc, "name"), buf));
        TRY(promo_column_push_i64(COL(tc, "age"), g->c_age[i]));
        TRY(push_cstr(COL(tc, "gender"), g->c_gender[i] ? "M" : "F"));
        TRY(push_cstr(COL(tc, "location"), syn_cities[w->c_store[i] % syn_n_cities].name));
        TRY(promo_column_push_i64(COL(tc, "signup_date"),
                                  (w->start_day + g->c_signup[i]) * PROMO_SECONDS_PER_DAY));
        TRY(push_cstr(COL(tc, "segment"), gen_tier_names[g->c_tier[i]]));
    }
    TRY(promo_table_seal(tc));

    promo_table *tp = t->products;
    TRY(promo_table_reserve(tp, w->n_prod));
    TRY(gen_set_ids(COL(tp, "product_id"), w->prod_ids));
    for (uint32_t x = 0; x < w->n_prod; x++) {
        uint32_t c, rank, item, variant;
        product_layout(w, x, &c, &rank, &item, &variant);
        const char *name = syn_categories[c].items[item].name;
        uint32_t brand = (c * 7 + item * 3 + variant) % syn_n_brands;
        TRY(promo_column_push_code(COL(tp, "product_id"), x));
        TRY(push_cstr(COL(tp, "name"), name));
        TRY(push_cstr(COL(tp, "category"), syn_categories[c].name));
        TRY(push_cstr(COL(tp, "subcategory"), name));
        TRY(push_cstr(COL(tp, "brand"), syn_brands[brand]));
        TRY(promo_column_push_f64(COL(tp, "price"), w->p_price[x]));
        TRY(promo_column_push_f64(COL(tp, "cost"), w->p_cost[x]));
    }
    TRY(promo_table_seal(tp));

    promo_table *ts = t->stores;
    for (uint32_t s = 0; s < g->n_stores; s++) {
        uint32_t city = s % syn_n_cities, round = s / syn_n_cities;
        gen_store_id(s, buf, sizeof buf);
        TRY(push_cstr(COL(ts, "store_id"), buf));
        if (round)
            snprintf(buf, sizeof buf, "%s Superstore %u", syn_cities[city].name, round + 1);
        else
            snprintf(buf, sizeof buf, "%s Superstore", syn_cities[city].name);
        TRY(push_cstr(COL(ts, "name"), buf));
        TRY(push_cstr(COL(ts, "city"), syn_cities[city].name));
        TRY(push_cstr(COL(ts, "channel"), "offline"));
    }
    TRY(promo_table_seal(ts));

    promo_table *tr = t->promotions;
    for (uint32_t k = 0; k < g->n_promo; k++) {
        gen_promo_id(k, buf, sizeof buf);
        TRY(push_cstr(COL(tr, "promotion_id"), buf));
        uint32_t x = g->pr_prod[k];
        if (g->pr_catlevel[k]) {
            TRY(promo_column_push_null(COL(tr, "product_id")));
            TRY(push_cstr(COL(tr, "category"), syn_categories[w->p_cat[x]].name));
        } else {
            syn_product_id(x, buf, sizeof buf);
            TRY(push_cstr(COL(tr, "product_id"), buf));
            TRY(promo_column_push_null(COL(tr, "category")));
        }
        if (g->pr_coupon[k] > 0) {
            TRY(promo_column_push_null(COL(tr, "discount_pct")));
            TRY(promo_column_push_f64(COL(tr, "coupon_value"), g->pr_coupon[k]));
        } else {
            TRY(promo_column_push_f64(COL(tr, "discount_pct"), g->pr_pct[k]));
            TRY(promo_column_push_null(COL(tr, "coupon_value")));
        }
        TRY(promo_column_push_i64(COL(tr, "start"),
                                  (w->start_day + g->pr_start[k]) * PROMO_SECONDS_PER_DAY));
        TRY(promo_column_push_i64(COL(tr, "end"),
                                  (w->start_day + g->pr_end[k]) * PROMO_SECONDS_PER_DAY +
                                      PROMO_SECONDS_PER_DAY - 1));
        TRY(push_cstr(COL(tr, "channel"), gen_channel_names[g->pr_channel[k]]));
        TRY(promo_column_push_f64(COL(tr, "cost_per_contact"), g->pr_cost[k]));
    }
    TRY(promo_table_seal(tr));
    return PROMO_OK;
fail:
    return rc;
}

static int tables_exposures(gen *g, promo_synth_tables *t)
{
    int rc;
    TRY(new_table("exposures", &t->exposures));
    TRY(new_table("responses", &t->responses));
    promo_table *te = t->exposures, *tr = t->responses;
    size_t n = g->n_ex;
    promo_column *e_pid = COL(te, "promotion_id"), *e_cid = COL(te, "customer_id"),
                 *e_ts = COL(te, "ts"), *e_arm = COL(te, "arm"), *e_ch = COL(te, "channel"),
                 *e_cost = COL(te, "cost"), *r_pid = COL(tr, "promotion_id"),
                 *r_cid = COL(tr, "customer_id"), *r_ts = COL(tr, "ts"),
                 *r_conv = COL(tr, "converted"), *r_rev = COL(tr, "revenue");
    TRY(gen_intern_ids(e_pid, g->n_promo, gen_promo_id));
    TRY(gen_intern_ids(r_pid, g->n_promo, gen_promo_id));
    TRY(gen_set_ids(e_cid, g->w->cust_ids));
    TRY(gen_set_ids(r_cid, g->w->cust_ids));
    for (int k = 0; k < 3; k++) {
        const char *a = gen_arm_names[k], *c = gen_channel_names[k];
        if (promo_dict_intern(e_arm->dict, a, strlen(a)) != (uint32_t)k ||
            promo_dict_intern(e_ch->dict, c, strlen(c)) != (uint32_t)k)
            TRY(PROMO_ENOMEM);
    }
    promo_column *all[] = {e_pid, e_cid, e_ts, e_arm,  e_ch, e_cost,
                           r_pid, r_cid, r_ts, r_conv, r_rev};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        TRY(promo_column_resize(all[k], n));
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1)
    for (size_t b = 0; b < g->n_blocks; b++) {
        const gen_block *bk = &g->blocks[b];
        for (uint32_t i = bk->c0; i < bk->c1; i++) {
            for (uint32_t j = bk->ex_start[i - bk->c0]; j < bk->ex_start[i - bk->c0 + 1]; j++) {
                const gen_expo *e = &bk->ex[j];
                size_t r = bk->ex_off + j;
                e_pid->codes[r] = r_pid->codes[r] = e->promo;
                e_cid->codes[r] = r_cid->codes[r] = i;
                e_ts->i64[r] = e->ts;
                e_arm->codes[r] = e->arm;
                e_ch->codes[r] = g->pr_channel[e->promo];
                e_cost->f64[r] = e->arm == 1 ? 0.0 : g->pr_cost[e->promo];
                r_ts->i64[r] = e->converted ? e->conv_ts : 0;
                r_conv->b[r] = e->converted;
                r_rev->f64[r] = e->converted ? e->revenue : 0.0;
            }
        }
    }
    for (size_t r = 0; r < n; r++)
        if (!r_conv->b[r])
            TRY(promo_column_set_null(r_ts, r));
    TRY(promo_table_seal(te));
    TRY(promo_table_seal(tr));
    return PROMO_OK;
fail:
    return rc;
}

/* ---- driver ---- */

static void gen_free(gen *g)
{
    promo_free(g->c_group);
    promo_free(g->c_gender);
    promo_free(g->c_age);
    promo_free(g->c_tier);
    promo_free(g->c_first);
    promo_free(g->c_last);
    promo_free(g->c_signup);
    promo_free(g->pr_start);
    promo_free(g->pr_end);
    promo_free(g->pr_prod);
    promo_free(g->pr_catlevel);
    promo_free(g->pr_pct);
    promo_free(g->pr_coupon);
    promo_free(g->pr_channel);
    promo_free(g->pr_hour);
    promo_free(g->pr_cost);
    promo_free(g->prc_start);
    promo_free(g->prc_list);
    promo_free(g->alloc_lines);
    if (g->blocks) {
        for (size_t b = 0; b < g->n_blocks; b++) {
            gen_block *bk = &g->blocks[b];
            promo_free(bk->ex);
            promo_free(bk->ex_start);
            promo_free(bk->cv);
            promo_free(bk->cv_start);
            promo_free(bk->ord);
            promo_free(bk->ord_start);
        }
    }
    promo_free(g->blocks);
}

static uint32_t months_to_days(int64_t start_day, uint32_t months)
{
    int y;
    unsigned m, d;
    promo_civil_from_days(start_day, &y, &m, &d);
    unsigned mm = m - 1 + months;
    int64_t end = promo_days_from_civil(y + (int)(mm / 12), mm % 12 + 1, d);
    return (uint32_t)(end - start_day);
}

/* The first part of the generation (gen_internal.h): the world, and every table but the
 * history's (transactions, events). On failure everything is freed and *g is zeroed. */
int gen_start(gen *g, const promo_synth_params *p, promo_synth_tables *tables)
{
    memset(tables, 0, sizeof *tables);
    memset(g, 0, sizeof *g);
    int rc = promo_synth_params_check(p);
    if (rc)
        return rc;
    g->p = p;
    g->nt = gen_threads(p->n_threads);
    g->n_stores = p->n_stores;
    g->n_promo = p->n_promotions;
    g->maxb = p->n_products / 2 < 40 ? p->n_products / 2 : 40;
    int64_t start_day = promo_time_day(p->start_date) / PROMO_SECONDS_PER_DAY;
    uint32_t n_days = months_to_days(start_day, p->n_months);
    double t0 = promo_now_s();
    g->t0 = t0;
    g->w = syn_world_alloc(p->n_customers, p->n_products, p->n_categories, n_days);
    size_t nc = p->n_customers;
    g->n_blocks = (nc + GEN_BLOCK - 1) / GEN_BLOCK;
    rc = PROMO_ENOMEM;
    if (!g->w || !(g->c_group = promo_calloc(nc, 1)) || !(g->c_gender = promo_calloc(nc, 1)) ||
        !(g->c_age = promo_calloc(nc, 1)) || !(g->c_tier = promo_calloc(nc, 1)) ||
        !(g->c_first = promo_calloc(nc, sizeof *g->c_first)) ||
        !(g->c_last = promo_calloc(nc, sizeof *g->c_last)) ||
        !(g->c_signup = promo_calloc(nc, sizeof *g->c_signup)) ||
        !(g->blocks = promo_calloc(g->n_blocks, sizeof *g->blocks)))
        goto fail;
    for (size_t b = 0; b < g->n_blocks; b++) {
        g->blocks[b].c0 = (uint32_t)(b * GEN_BLOCK);
        g->blocks[b].c1 = (uint32_t)((b + 1) * GEN_BLOCK < nc ? (b + 1) * GEN_BLOCK : nc);
    }
    promo_world *w = g->w;
    w->seed = p->seed;
    w->start_day = start_day;
    for (uint32_t c = 0; c < w->n_cat; c++)
        if (!(w->cat_names[c] = promo_strdup(syn_categories[c].name)))
            goto fail;
    /* Products need alias tables before promotions pick products: finish the world once the
     * products exist (customers do not enter the alias tables). */
    if ((rc = gen_products(g)) || (rc = syn_world_finish(w)) ||
        (rc = syn_world_price_cache(w, g->nt)) || (rc = gen_customers(g)))
        goto fail;
    promo_debug("generate: products and customers %.3f s", promo_now_s() - t0);
    calibrate(g);
    if ((rc = gen_promotions(g)) || (rc = gen_exposures(g)))
        goto fail;
    promo_debug("generate: world and exposures %.3f s", promo_now_s() - t0);
    if ((rc = tables_static(g, tables)))
        goto fail;
    promo_debug("generate: static tables %.3f s", promo_now_s() - t0);
    if ((rc = tables_exposures(g, tables)))
        goto fail;
    promo_debug("generate: exposure tables %.3f s", promo_now_s() - t0);
    /* Truth tables before the history, so the exposure log can be freed before the largest
     * tables are allocated (peak RSS). */
    if ((rc = gen_truth_tables(g, tables)))
        goto fail;
    promo_debug("generate: truth tables %.3f s", promo_now_s() - t0);
    for (size_t b = 0; b < g->n_blocks; b++) {
        promo_free(g->blocks[b].ex);
        promo_free(g->blocks[b].ex_start);
        g->blocks[b].ex = NULL;
        g->blocks[b].ex_start = NULL;
    }
    return PROMO_OK;
fail:
    gen_abort(g, tables, rc);
    return rc;
}

/* The second part: the history (transactions, events) into tables; then g is spent. On
 * failure the caller calls gen_abort (once nothing else reads the tables). */
int gen_finish(gen *g, promo_world **world, promo_synth_tables *tables)
{
    int rc = gen_history(g, tables);
    if (rc)
        return rc;
    promo_debug("generate: history %.3f s", promo_now_s() - g->t0);
    gen_free(g);
    if (world)
        *world = g->w;
    else
        promo_world_free(g->w);
    memset(g, 0, sizeof *g);
    return PROMO_OK;
}

void gen_abort(gen *g, promo_synth_tables *tables, int rc)
{
    if (rc == PROMO_ENOMEM && !*promo_last_error())
        promo_fail(PROMO_ENOMEM, "out of memory generating the world");
    promo_world_free(g->w);
    gen_free(g);
    memset(g, 0, sizeof *g);
    promo_synth_tables_free(tables);
}

int promo_synth_generate(const promo_synth_params *p,
                         promo_world **world,
                         promo_synth_tables *tables)
{
    if (world)
        *world = NULL;
    gen g;
    int rc = gen_start(&g, p, tables);
    if (rc)
        return rc;
    if ((rc = gen_finish(&g, world, tables)))
        gen_abort(&g, tables, rc);
    return rc;
}
