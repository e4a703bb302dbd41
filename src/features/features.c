/* Customer features as of a cutoff (see promo/features.h for what and why).
 *
 * Algorithm, O(n) in the transactions apart from tiny per-customer sorts:
 *   1. map string ids to dense indices once per distinct string (dictionary codes), never per
 *      row: customers/products rows, order codes, store codes;
 *   2. one parallel pass counts the purchase lines (ts < as_of, ...) per customer code and
 *      part of the rows: the counts give the universe (who bought) and the bucket offsets;
 *      a second pass copies the lines into customer buckets of 40-byte records (a stable
 *      counting sort: part boundaries do not change the output, so neither does the thread
 *      count);
 *   3. one pass per customer (parallel over fixed chunks of rows): sort its lines by
 *      (order, product), walk orders, write its CSR row (sorted, deduplicated by product)
 *      straight into the output arrays and its row of X, then overwrite its line records
 *      with the order slots that products.c reads;
 *   4. global steps: RFM quintiles by rank (radix sort), tiers, segments; BG/NBD and
 *      Gamma-Gamma fits on the customers' (x, t_x, T, mean spend); closing the CSR gaps.
 * Each chunk writes its CSR rows from the offset of its first line (an upper bound of its
 * entries) and the gaps are closed in chunk order, so the output is byte-identical for any
 * thread count. Scratch memory is kept to the line records: on a fresh 10M-line input, page
 * faults on first touch cost as much as the computing.
 */
#include <ctype.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/timeutil.h>

#include "features/features_internal.h"

#define N_CHUNK_ROWS 2048 /* rows per chunk of the customer pass */
#define PF_ROWS      16   /* prefetch distance of the bucketing passes, in rows */

/* ---------------------------------------------------------------- names and defaults ---- */

promo_feature_params promo_feature_params_default(void)
{
    promo_feature_params p;
    memset(&p, 0, sizeof p);
    p.as_of = INT64_MIN;
    p.half_life_days = 30;
    p.confidence_alpha = 40;
    p.confidence_eps = 1;
    p.response_prior_strength = 10;
    p.lift_prior_strength = 4;
    p.max_category_columns = 64;
    p.clv = 1;
    p.expected_days = 30;
    p.clv_horizon_days = 365;
    p.products = 1;
    p.elasticity = 1;
    p.clv_params = promo_clv_params_default();
    p.elasticity_params = promo_elasticity_params_default();
    return p;
}

static const char *const segment_names[PROMO_RFM_SEGMENT_COUNT] = {
    "prospect",     "champions",   "loyal",          "potential_loyalist",
    "new_customer", "promising",   "need_attention", "about_to_sleep",
    "at_risk",      "cannot_lose", "hibernating",
};

const char *promo_rfm_segment_name(int segment)
{
    return segment >= 0 && segment < PROMO_RFM_SEGMENT_COUNT ? segment_names[segment] : "unknown";
}

const char *promo_spend_tier_name(int tier)
{
    static const char *const names[PROMO_TIER_COUNT] = {"G1", "G2", "G3", "VIP"};
    return tier >= 0 && tier < PROMO_TIER_COUNT ? names[tier] : "unknown";
}

/* The usual R x F segment map (scores 1..5). */
static uint8_t rfm_segment(int r, int f)
{
    if (r >= 5 && f >= 4)
        return PROMO_RFM_CHAMPIONS;
    if (r >= 3 && f >= 4)
        return PROMO_RFM_LOYAL;
    if (r >= 4 && f >= 2)
        return PROMO_RFM_POTENTIAL_LOYALIST;
    if (r == 5)
        return PROMO_RFM_NEW_CUSTOMER;
    if (r == 4)
        return PROMO_RFM_PROMISING;
    if (r == 3)
        return f == 3 ? PROMO_RFM_NEED_ATTENTION : PROMO_RFM_ABOUT_TO_SLEEP;
    if (f == 5)
        return PROMO_RFM_CANNOT_LOSE;
    return f >= 3 ? PROMO_RFM_AT_RISK : PROMO_RFM_HIBERNATING;
}

static const char *const base_names[C_BASE_COUNT] = {
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "tenure_days",
    "avg_order_value",
    "ipg_mean_days",
    "ipg_sd_days",
    "basket_items",
    "basket_lines",
    "n_products",
    "n_categories",
    "n_stores",
    "online_share",
    "spend_30d",
    "spend_90d",
    "orders_30d",
    "orders_90d",
    "promo_spend_share",
    "n_exposures",
    "n_conversions",
    "response_rate",
    "contacts_7d",
    "contacts_30d",
    "contacts_90d",
    "days_since_contact",
    "response_trend",
    "spend_tier",
    "dow_mon",
    "dow_tue",
    "dow_wed",
    "dow_thu",
    "dow_fri",
    "dow_sat",
    "dow_sun",
    "hour_00",
    "hour_01",
    "hour_02",
    "hour_03",
    "hour_04",
    "hour_05",
    "hour_06",
    "hour_07",
    "hour_08",
    "hour_09",
    "hour_10",
    "hour_11",
    "hour_12",
    "hour_13",
    "hour_14",
    "hour_15",
    "hour_16",
    "hour_17",
    "hour_18",
    "hour_19",
    "hour_20",
    "hour_21",
    "hour_22",
    "hour_23",
    "best_dow",
    "best_hour",
    "best_slot",
    "purchase_days",
    "p_alive",
    NULL /* exp_purchases_<N>d */,
    "exp_spend_per_order",
    NULL /* clv_<N>d */,
    "n_control_exposures",
    "control_conversions",
    "baseline_rate",
    "response_lift",
    "promo_line_share",
    "discount_depth",
};

void promo_features_free(promo_features *f)
{
    if (!f)
        return;
    promo_free(f->X);
    if (f->feature_names)
        for (size_t j = 0; j < f->n_features; j++)
            promo_free(f->feature_names[j]);
    promo_free(f->feature_names);
    promo_free(f->rfm_segment);
    promo_free(f->spend_tier);
    if (f->category_names)
        for (uint32_t j = 0; j < f->n_categories; j++)
            promo_free(f->category_names[j]);
    promo_free(f->category_names);
    for (int k = 0; k < 4; k++)
        promo_csr_free(&f->interactions[k]);
    promo_csr_free(&f->category_share);
    promo_csr_free(&f->copurchase);
    promo_product_features *pf = &f->products;
    promo_free(pf->n_buyers);
    promo_free(pf->n_orders);
    promo_free(pf->units);
    promo_free(pf->revenue);
    promo_free(pf->avg_price);
    promo_free(pf->list_price);
    promo_free(pf->n_price_changes);
    promo_free(pf->category);
    promo_free(pf->repeat_rate);
    promo_free(pf->avg_discount);
    promo_free(pf->n_copurchased);
    promo_free(pf->copurchase_orders);
    promo_elasticity_result_free(&f->elasticity);
    promo_free(f->clv_status);
    promo_free(f->id_pool);
    promo_free(f->id_off);
    promo_free(f->universe_index);
    promo_free(f);
}

int promo_features_column(const promo_features *f, const char *name)
{
    for (size_t j = 0; j < f->n_features; j++)
        if (strcmp(f->feature_names[j], name) == 0)
            return (int)j;
    return -1;
}

const char *promo_features_customer_id(const promo_features *f, size_t i)
{
    return i < f->n_customers ? f->id_pool + f->id_off[i] : NULL;
}

/* ---------------------------------------------------------------- stage clocks ---- */

/* Wall time, process CPU and page faults at a point: the debug line reports each stage's
 * CPU next to its wall time because the machines we measure on are shared, and its minor
 * faults because first-touch of fresh memory is a large share of the system time. */
typedef struct stage_clock {
    double wall_s, user_s, sys_s;
    long faults;
} stage_clock;

static stage_clock stage_now(void)
{
    struct rusage ru;
    stage_clock c = {promo_now_s(), 0, 0, 0};
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        c.user_s = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
        c.sys_s = (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
        c.faults = ru.ru_minflt;
    }
    return c;
}

/* "NAME W.WWWs (U.UUu S.SSs Fk flt)" for the stage from a to b, appended at buf[*len]. */
static void
stage_print(char *buf, size_t cap, size_t *len, const char *name, stage_clock a, stage_clock b)
{
    int k = snprintf(buf + *len, cap - *len, " %s %.3fs (%.2fu %.2fs %ldk flt)", name,
                     b.wall_s - a.wall_s, b.user_s - a.user_s, b.sys_s - a.sys_s,
                     (b.faults - a.faults) / 1000);
    if (k > 0 && (size_t)k < cap - *len)
        *len += (size_t)k;
}

/* ---------------------------------------------------------------- prefaulting ---- */

/* First touch of fresh memory costs a page fault per 4 KB page, a large share of this
 * module's time on big inputs; asking the kernel to populate a whole range is about a third
 * cheaper (Linux >= 5.14). Arrays below 1 MB are not worth the calls. */
void fx_prefault(void *p, size_t bytes, int nt)
{
#ifdef MADV_POPULATE_WRITE
    long page_size = sysconf(_SC_PAGESIZE);
    uintptr_t page = page_size > 0 ? (uintptr_t)page_size : 4096;
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1),
              hi = ((uintptr_t)p + bytes) & ~(page - 1);
    if (hi < lo + ((uintptr_t)1 << 20))
        return;
    size_t n_pages = (hi - lo) / page, n_parts = (size_t)nt * 4;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t q = 0; q < n_parts; q++) {
        uintptr_t a = lo + n_pages * q / n_parts * page,
                  b = lo + n_pages * (q + 1) / n_parts * page;
        if (b > a)
            (void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
    }
#else
    (void)p;
    (void)bytes;
    (void)nt;
#endif
}

/* ---------------------------------------------------------------- column access ---- */

static int nthreads(int n)
{
    return n > 0 ? n : omp_get_max_threads();
}

int fx_need_col(const promo_table *t,
                const char *table,
                const char *name,
                int type_mask,
                const promo_column **out)
{
    const promo_column *c = t ? promo_table_column(t, name) : NULL;
    if (!c)
        return promo_fail(PROMO_EINPUT, "features: table '%s' has no column '%s'", table, name);
    if (!(type_mask & (1 << c->type)))
        return promo_fail(PROMO_EINPUT, "features: table '%s', column '%s': unexpected type %s",
                          table, name, promo_col_type_name(c->type));
    *out = c;
    return PROMO_OK;
}

/* Optional column of an accepted type, else NULL. */
const promo_column *fx_opt_col(const promo_table *t, const char *name, int type_mask)
{
    const promo_column *c = t ? promo_table_column(t, name) : NULL;
    return c && (type_mask & (1 << c->type)) ? c : NULL;
}

/* Dictionary code of c's key k in target, mapped through code_row (target code -> row) when
 * given. One lookup per distinct string, on nt threads (a million customer ids take a
 * visible share of the serial time otherwise). */
uint32_t *
fx_code_map(const promo_column *c, const promo_dict *target, const uint32_t *code_row, int nt)
{
    uint32_t n = promo_dict_size(c->dict);
    uint32_t *m = promo_mallocn(n ? n : 1, sizeof *m);
    if (!m)
        return NULL;
#pragma omp parallel for schedule(static) num_threads(nt) if (n >= 65536)
    for (uint32_t k = 0; k < n; k++) {
        uint32_t t =
            promo_dict_find(target, promo_dict_key(c->dict, k), promo_dict_key_len(c->dict, k));
        m[k] = t == PROMO_DICT_NONE ? FX_NONE : code_row ? code_row[t] : t;
    }
    return m;
}

/* Code -> row of a key column; fails on duplicate or null keys. */
static int key_rows(const promo_column *c, const char *table, uint32_t **out)
{
    uint32_t n = promo_dict_size(c->dict);
    uint32_t *m = promo_mallocn(n ? n : 1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    memset(m, 0xff, (size_t)n * sizeof *m);
    for (size_t r = 0; r < c->n; r++) {
        if (promo_column_is_null(c, r)) {
            promo_free(m);
            return promo_fail(PROMO_EINPUT, "features: table '%s', row %zu: null %s", table, r + 1,
                              c->name);
        }
        uint32_t k = c->codes[r];
        if (m[k] != FX_NONE) {
            promo_free(m);
            return promo_fail(PROMO_EINPUT,
                              "features: table '%s': duplicate %s \"%s\" (rows %u and %zu)", table,
                              c->name, promo_dict_key(c->dict, k), m[k] + 1, r + 1);
        }
        m[k] = (uint32_t)r;
    }
    *out = m;
    return PROMO_OK;
}

/* ---------------------------------------------------------------- the universe ---- */

int fx_get_tx_cols(const promo_table *t, tx_cols *x)
{
    int rc;
    memset(x, 0, sizeof *x);
    if ((rc = fx_need_col(t, "transactions", "order_id", T_STR, &x->order)) ||
        (rc = fx_need_col(t, "transactions", "customer_id", T_STR, &x->cust)) ||
        (rc = fx_need_col(t, "transactions", "product_id", T_STR, &x->prod)) ||
        (rc = fx_need_col(t, "transactions", "ts", T_TIME, &x->ts)) ||
        (rc = fx_need_col(t, "transactions", "quantity", T_NUM, &x->qty)) ||
        (rc = fx_need_col(t, "transactions", "unit_price", T_NUM, &x->price)))
        return rc;
    x->store = fx_opt_col(t, "store_id", T_STR);
    x->disc = fx_opt_col(t, "discount", T_NUM);
    x->promo = fx_opt_col(t, "promotion_id", T_STR);
    x->chan = fx_opt_col(t, "channel", T_STR);
    return PROMO_OK;
}

void fx_universe_free(universe *u)
{
    promo_free(u->tx_cust);
    promo_free(u->id_code);
    promo_free(u->signup);
    promo_free(u->known);
    memset(u, 0, sizeof *u);
}

typedef struct keyed {
    const promo_dict *d;
    uint32_t code;
} keyed;

static int by_key(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    return strcmp(promo_dict_key(x->d, x->code), promo_dict_key(y->d, y->code));
}

/* First row of part q of n_parts: an even split rounded down to a multiple of 64 rows, so that
 * no word of a row bitmap straddles two parts. */
static size_t part_row(size_t n_rows, int q, int n_parts)
{
    return q >= n_parts ? n_rows : n_rows * (size_t)q / (size_t)n_parts & ~(size_t)63;
}

/* Purchase lines before the cutoff per transactions.customer_id code, counted separately for
 * each of n_parts contiguous parts of the rows (the parts are fixed by n_parts alone, so the
 * bucketing below is the same for any thread count). cnt: n_parts x (n_codes + 1) zeroed
 * counters; the last of each part counts the lines without a customer. This one parallel pass
 * tells both who bought before the cutoff (the universe) and where each bucket starts. keep,
 * unless NULL: a zeroed bitmap of n_rows bits, set for the purchase lines (the bucketing then
 * tests a bit instead of the filter). */
void fx_count_lines(const tx_cols *x,
                    size_t n_rows,
                    const uint32_t *tx_prod,
                    int64_t as_of,
                    int n_parts,
                    uint32_t n_codes,
                    uint32_t *cnt,
                    uint64_t *keep)
{
#pragma omp parallel for schedule(static, 1) num_threads(n_parts)
    for (int q = 0; q < n_parts; q++) {
        uint32_t *my = cnt + (size_t)q * (n_codes + 1);
        size_t hi = part_row(n_rows, q + 1, n_parts);
        for (size_t r = part_row(n_rows, q, n_parts); r < hi; r++) {
            /* Customers are scattered over the rows: fetch a later row's counter early. */
            if (r + PF_ROWS < hi)
                __builtin_prefetch(&my[x->cust->codes[r + PF_ROWS]], 1);
            if (tx_prod[x->prod->codes[r]] == FX_NONE || !purchase_line(x, r, INT64_MIN, as_of))
                continue;
            my[promo_column_is_null(x->cust, r) ? n_codes : x->cust->codes[r]]++;
            if (keep)
                keep[r >> 6] |= (uint64_t)1 << (r & 63);
        }
    }
}

/* cnt: count_lines' counters over n_parts parts. */
int fx_build_universe(const promo_feature_input *in,
                      const tx_cols *x,
                      const uint32_t *cnt,
                      int n_parts,
                      int64_t as_of,
                      int nt,
                      universe *u)
{
    memset(u, 0, sizeof *u);
    const promo_table *ct = in->customers;
    int rc = PROMO_ENOMEM;
    uint8_t *has = NULL;
    uint32_t n_codes = promo_dict_size(x->cust->dict);
    has = promo_calloc(n_codes ? n_codes : 1, 1);
    if (!has)
        goto fail;
    for (int q = 0; q < n_parts; q++)
        for (uint32_t k = 0; k < n_codes; k++)
            has[k] |= cnt[(size_t)q * (n_codes + 1) + k] != 0;
    if (ct && ct->n_rows > 0) {
        const promo_column *id, *su = fx_opt_col(ct, "signup_date", T_TIME);
        uint32_t *rows = NULL;
        if ((rc = fx_need_col(ct, "customers", "customer_id", T_STR, &id)) ||
            (rc = key_rows(id, "customers", &rows)))
            goto fail;
        u->n = ct->n_rows;
        u->id_col = id;
        u->tx_cust = fx_code_map(x->cust, id->dict, rows, nt);
        u->id_code = promo_mallocn(u->n, sizeof *u->id_code);
        u->known = promo_mallocn(u->n, sizeof *u->known);
        promo_free(rows);
        rc = PROMO_ENOMEM;
        if (!u->tx_cust || !u->id_code || !u->known)
            goto fail;
        for (size_t r = 0; r < u->n; r++)
            u->id_code[r] = id->codes[r];
        uint8_t *buys = promo_calloc(u->n, 1);
        if (!buys)
            goto fail;
        for (uint32_t k = 0; k < n_codes; k++)
            if (has[k] && u->tx_cust[k] != FX_NONE)
                buys[u->tx_cust[k]] = 1;
        if (su) {
            u->signup = promo_mallocn(u->n, sizeof *u->signup);
            if (!u->signup) {
                promo_free(buys);
                goto fail;
            }
            for (size_t r = 0; r < u->n; r++)
                u->signup[r] = promo_column_is_null(su, r) ? INT64_MAX : su->i64[r];
        }
        for (size_t r = 0; r < u->n; r++)
            if (buys[r] || (u->signup && u->signup[r] < as_of))
                u->known[u->n_known++] = (uint32_t)r;
        promo_free(buys);
    } else {
        /* Derived universe: buyers before the cutoff, ordered by id. */
        size_t n = 0;
        for (uint32_t k = 0; k < n_codes; k++)
            n += has[k];
        keyed *ks = promo_mallocn(n ? n : 1, sizeof *ks);
        u->tx_cust = promo_mallocn(n_codes ? n_codes : 1, sizeof *u->tx_cust);
        u->id_code = promo_mallocn(n ? n : 1, sizeof *u->id_code);
        u->known = promo_mallocn(n ? n : 1, sizeof *u->known);
        if (!ks || !u->tx_cust || !u->id_code || !u->known) {
            promo_free(ks);
            goto fail;
        }
        n = 0;
        for (uint32_t k = 0; k < n_codes; k++)
            if (has[k])
                ks[n++] = (keyed){x->cust->dict, k};
        qsort(ks, n, sizeof *ks, by_key);
        memset(u->tx_cust, 0xff, (size_t)n_codes * sizeof *u->tx_cust);
        for (size_t i = 0; i < n; i++) {
            u->tx_cust[ks[i].code] = (uint32_t)i;
            u->id_code[i] = ks[i].code;
            u->known[i] = (uint32_t)i;
        }
        promo_free(ks);
        u->n = u->n_known = n;
        u->id_col = x->cust;
    }
    promo_free(has);
    return PROMO_OK;
fail:
    promo_free(has);
    fx_universe_free(u);
    return rc;
}

/* ---------------------------------------------------------------- bucketing ---- */

static inline int32_t week_of(int64_t ts)
{
    int64_t day = ts >= 0 ? ts / 86400 : -((-ts + 86399) / 86400);
    return (int32_t)((day + 3 >= 0 ? day + 3 : day + 3 - 6) / 7);
}

static uint8_t *online_by_code(const promo_column *c)
{
    uint32_t n = promo_dict_size(c->dict);
    uint8_t *m = promo_calloc(n ? n : 1, 1);
    if (!m)
        return NULL;
    for (uint32_t k = 0; k < n; k++)
        m[k] = strcasecmp(promo_dict_key(c->dict, k), "online") == 0 ? 1 : 0;
    return m;
}

/* Purchase lines before the cutoff into customer buckets: a stable counting sort, parallel
 * over count_lines' parts (bucket-major, part-minor offsets keep each bucket in row order).
 * cnt (count_lines' counters) is turned into write positions; keep is its row bitmap. */
static int bucket_lines(fx_ctx *c,
                        const tx_cols *x,
                        const universe *u,
                        const uint32_t *tx_prod,
                        uint32_t *cnt,
                        const uint64_t *keep,
                        int n_parts)
{
    const promo_table *t = c->in->transactions;
    size_t n_rows = t->n_rows, nb = u->n + 1; /* last bucket: anonymous lines */
    uint32_t n_codes = promo_dict_size(x->cust->dict);
    size_t stride = (size_t)n_codes + 1;
    int rc = PROMO_ENOMEM;
    uint32_t *code_of = promo_mallocn(u->n ? u->n : 1, sizeof *code_of);
    uint32_t *anon = promo_mallocn((size_t)n_parts, sizeof *anon);
    uint8_t *store_online = NULL, *chan_online = NULL;
    if (!code_of || !anon)
        goto done;
    c->n_store_codes = x->store ? promo_dict_size(x->store->dict) : 0;
    if (x->store && c->in->stores) {
        const promo_column *sid = fx_opt_col(c->in->stores, "store_id", T_STR);
        const promo_column *sch = fx_opt_col(c->in->stores, "channel", T_STR);
        if (sid && sch) {
            uint8_t *row_online = online_by_code(sch);
            uint32_t *m = fx_code_map(x->store, sid->dict, NULL, c->nt);
            store_online = promo_calloc(c->n_store_codes ? c->n_store_codes : 1, 1);
            if (!row_online || !m || !store_online) {
                promo_free(row_online);
                promo_free(m);
                goto done;
            }
            /* store code -> stores dict code -> its row's channel */
            uint32_t nsd = promo_dict_size(sid->dict);
            uint8_t *code_online = promo_calloc(nsd ? nsd : 1, 1);
            if (!code_online) {
                promo_free(row_online);
                promo_free(m);
                goto done;
            }
            for (size_t r = 0; r < sid->n; r++)
                if (!promo_column_is_null(sid, r) && !promo_column_is_null(sch, r))
                    code_online[sid->codes[r]] = row_online[sch->codes[r]];
            for (uint32_t k = 0; k < c->n_store_codes; k++)
                store_online[k] = m[k] != FX_NONE && code_online[m[k]];
            promo_free(code_online);
            promo_free(row_online);
            promo_free(m);
        }
    }
    if (x->chan && !(chan_online = online_by_code(x->chan)))
        goto done;
    /* Bucket b is customer code code_of[b]; the anonymous bucket gathers the lines without a
     * customer and those of customers outside the universe. */
    memset(code_of, 0xff, u->n * sizeof *code_of);
    for (uint32_t k = 0; k < n_codes; k++)
        if (u->tx_cust[k] != FX_NONE)
            code_of[u->tx_cust[k]] = k;
    c->off = promo_calloc(nb + 1, sizeof *c->off);
    if (!c->off)
        goto done;
    uint64_t run = 0;
    for (size_t b = 0; b < u->n; b++) {
        c->off[b] = run;
        uint32_t k = code_of[b];
        for (int q = 0; k != FX_NONE && q < n_parts; q++) {
            uint32_t v = cnt[(size_t)q * stride + k];
            cnt[(size_t)q * stride + k] = (uint32_t)run;
            run += v;
        }
    }
    c->off[u->n] = run;
    /* Customers outside the universe write through the anonymous counter: FX_NONE marks
     * them in cnt itself, which spares the scatter a lookup in tx_cust per row. */
    for (int q = 0; q < n_parts; q++) {
        uint32_t *my = cnt + (size_t)q * stride;
        uint64_t v = my[n_codes];
        for (uint32_t k = 0; k < n_codes; k++)
            if (u->tx_cust[k] == FX_NONE) {
                v += my[k];
                my[k] = FX_NONE;
            }
        anon[q] = (uint32_t)run;
        run += v;
    }
    c->off[nb] = run;
    c->n_lines = run;
    c->n_univ = u->n;
    c->rec = promo_mallocn(run ? run : 1, sizeof *c->rec);
    if (!c->rec)
        goto done;
    fx_prefault(c->rec, run * sizeof *c->rec, c->nt);
    int32_t wmin = INT32_MAX, wmax = INT32_MIN;
#pragma omp parallel for num_threads(n_parts) reduction(min : wmin) reduction(max : wmax)
    for (int part = 0; part < n_parts; part++) {
        uint32_t *my = cnt + (size_t)part * stride;
        size_t hi = part_row(n_rows, part + 1, n_parts);
        for (size_t r = part_row(n_rows, part, n_parts); r < hi; r++) {
            /* Two random accesses per row (the customer's write position, then its
             * record): fetch them a few rows ahead, the position first. */
            if (r + PF_ROWS < hi) {
                __builtin_prefetch(&my[x->cust->codes[r + PF_ROWS]], 0);
                uint32_t ahead = my[x->cust->codes[r + PF_ROWS / 2]];
                if (ahead != FX_NONE)
                    __builtin_prefetch(&c->rec[ahead], 1);
            }
            if (!(keep[r >> 6] >> (r & 63) & 1))
                continue;
            uint32_t k = x->cust->codes[r];
            size_t dest =
                promo_column_is_null(x->cust, r) || my[k] == FX_NONE ? anon[part]++ : my[k]++;
            fx_line *L = &c->rec[dest].line;
            double q = num_at(x->qty, r), pr = num_at(x->price, r), gross = q * pr;
            double d = x->disc ? num_at(x->disc, r) : 0;
            d = isnan(d) ? 0 : d < 0 ? 0 : d > gross ? gross : d;
            int64_t ts = x->ts->i64[r];
            L->ts = ts;
            L->list = (float)gross;
            L->rev = gross - d;
            L->qty = (float)q;
            L->product = tx_prod[x->prod->codes[r]];
            L->order = promo_column_is_null(x->order, r) ? FX_NONE : x->order->codes[r];
            uint32_t aux = AUX_STORE_MASK;
            int online = 0;
            if (x->store && !promo_column_is_null(x->store, r)) {
                aux = x->store->codes[r] & AUX_STORE_MASK;
                online = store_online ? store_online[x->store->codes[r]] : 0;
            }
            if (x->chan && !promo_column_is_null(x->chan, r))
                online = chan_online[x->chan->codes[r]];
            if (online)
                aux |= AUX_ONLINE;
            if (d > 0 || (x->promo && !promo_column_is_null(x->promo, r)))
                aux |= AUX_PROMO;
            L->aux = aux;
            L->pad = 0;
            int32_t w = week_of(ts);
            if (w < wmin)
                wmin = w;
            if (w > wmax)
                wmax = w;
        }
    }
    c->week_min = wmin;
    c->week_max = wmax;
    rc = PROMO_OK;
done:
    promo_free(code_of);
    promo_free(anon);
    promo_free(store_online);
    promo_free(chan_online);
    return rc;
}

/* ---------------------------------------------------------------- the customer pass ---- */

static int line_cmp(const fx_line *a, const fx_line *b)
{
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    if (a->product != b->product)
        return a->product < b->product ? -1 : 1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return (a->rev > b->rev) - (a->rev < b->rev);
}

/* A stable merge sort of v[0..n) with an inline "less than", tmp[0..n) scratch; the result is
 * in v. glibc's qsort (a merge sort as well, so the order of equal elements is the same)
 * reached its comparator through a pointer per comparison: a tenth of `promo score` on Online
 * Retail. Runs of up to 16 by insertion first. */
#define DEFINE_MERGE_SORT(name, type, less)                                                 \
    static void name(type *v, type *tmp, size_t n)                                          \
    {                                                                                       \
        enum { RUN = 16 };                                                                  \
        for (size_t lo = 0; lo < n; lo += RUN) {                                            \
            size_t hi = lo + RUN < n ? lo + RUN : n;                                        \
            for (size_t i = lo + 1; i < hi; i++) {                                          \
                type t = v[i];                                                              \
                size_t j = i;                                                               \
                for (; j > lo && less(&t, &v[j - 1]); j--)                                  \
                    v[j] = v[j - 1];                                                        \
                v[j] = t;                                                                   \
            }                                                                               \
        }                                                                                   \
        type *src = v, *dst = tmp;                                                          \
        for (size_t w = RUN; w < n; w *= 2) {                                               \
            for (size_t lo = 0; lo < n; lo += 2 * w) {                                      \
                size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n; \
                size_t i = lo, j = mid, k = lo;                                             \
                while (i < mid && j < hi)                                                   \
                    dst[k++] = less(&src[j], &src[i]) ? src[j++] : src[i++];                \
                while (i < mid)                                                             \
                    dst[k++] = src[i++];                                                    \
                while (j < hi)                                                              \
                    dst[k++] = src[j++];                                                    \
            }                                                                               \
            type *t = src;                                                                  \
            src = dst;                                                                      \
            dst = t;                                                                        \
        }                                                                                   \
        if (src != v)                                                                       \
            memcpy(v, src, n * sizeof *v);                                                  \
    }

static inline int line_less(const fx_rec *a, const fx_rec *b)
{
    return line_cmp(&a->line, &b->line) < 0;
}

DEFINE_MERGE_SORT(sort_lines, fx_rec, line_less)

typedef struct fx_order {
    int64_t ts;       /* earliest line of the order */
    double rev;       /* spend */
    double promo_rev; /* spend on promotion */
    double qty;       /* units */
    uint32_t lines;   /* lines */
    uint8_t online;   /* any line online */
} fx_order;

/* One slot of a customer, for its interactions row. */
static inline int ord_less(const fx_order *x, const fx_order *y)
{
    if (x->ts != y->ts)
        return x->ts < y->ts;
    return x->rev < y->rev;
}

static inline int prow_less(const fx_prow *x, const fx_prow *y)
{
    if (x->product != y->product)
        return x->product < y->product;
    return x->ts < y->ts;
}

DEFINE_MERGE_SORT(sort_orders, fx_order, ord_less)
DEFINE_MERGE_SORT(sort_prows, fx_prow, prow_less)

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sort lines [base, base + n) by (order, product), aggregate them into order slots in sl (n
 * entries, the unused tail marked FX_NONE), and, unless pr is NULL, the slots with their
 * order's time into pr. Returns the number of orders, in ord (unsorted by time). */
static size_t
walk_orders(fx_ctx *c, size_t base, size_t n, fx_order *ord, fx_slot *sl, fx_prow *pr, fx_rec *tmp)
{
    double as_of = (double)c->p->as_of, hl = c->p->half_life_days;
    fx_rec *L = c->rec + base;
    if (!c->presorted)
        sort_lines(L, tmp, n);
    size_t n_ord = 0, k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        fx_order o = {L[i].line.ts, 0, 0, 0, 0, 0};
        /* A null order_id makes every line its own order. */
        do {
            j++;
        } while (j < n && L[j].line.order == L[i].line.order && L[i].line.order != FX_NONE);
        size_t g0 = k;
        for (size_t a = i; a < j;) {
            size_t b = a;
            float q = 0, li = 0;
            double rv = 0;
            while (b < j && L[b].line.product == L[a].line.product) {
                const fx_line *ln = &L[b].line;
                q += ln->qty;
                li += ln->list;
                rv += ln->rev;
                if (ln->ts < o.ts)
                    o.ts = ln->ts;
                if (ln->aux & AUX_ONLINE)
                    o.online = 1;
                if (ln->aux & AUX_PROMO)
                    o.promo_rev += ln->rev;
                b++;
            }
            sl[k].product = L[a].line.product;
            sl[k].qty = q;
            sl[k].rev = rv;
            sl[k].list = li;
            o.rev += rv;
            o.qty += q;
            k++;
            a = b;
        }
        int32_t w = week_of(o.ts);
        for (size_t m = g0; m < k; m++) {
            sl[m].gn = (uint32_t)(k - g0);
            sl[m].week = w;
        }
        if (pr) {
            /* One weight per order, not per slot: exp2 was a visible share of the pass. */
            double weight = exp2(-(as_of - (double)o.ts) / DAY / hl);
            for (size_t m = g0; m < k; m++)
                pr[m] = (fx_prow){sl[m].product, 0, o.ts, sl[m].rev, weight};
        }
        o.lines = (uint32_t)(j - i);
        ord[n_ord++] = o;
        i = j;
    }
    for (; k < n; k++)
        sl[k] = (fx_slot){0, 0, 0, FX_NONE, 0, 0};
    return n_ord;
}

/* Once the customer pass is done with a bucket's lines, its slots take their place. */
static void store_slots(fx_ctx *c, size_t base, size_t n, const fx_slot *sl)
{
    for (size_t i = 0; i < n; i++)
        c->rec[base + i].slot = sl[i];
}

/* The customer pass writes CSR entries straight into the output arrays, each chunk of rows
 * from the offset of its first customer's first line: a customer has at most as many
 * distinct products, and categories, as lines, so chunks never collide, and no per-chunk
 * buffers are grown, copied and freed. finish_csr then closes the gaps between chunks. */
typedef struct csr_fill {
    uint32_t *ix_col; /* interactions columns */
    float *ix_val[4]; /* interactions values (PROMO_IX_*) */
    uint32_t *cs_col; /* category share columns */
    float *cs_val;    /* category share values */
    uint64_t ix, cs;  /* next entry of the current chunk */
} csr_fill;

/* Per-thread scratch of the customer pass. */
typedef struct scratch {
    fx_order *ord;
    fx_prow *pr;
    fx_slot *sl;
    fx_rec *tmp;          /* the sorts' scratch (as large as any of the three) */
    size_t cap;           /* entries of ord, pr, sl and tmp */
    double *cat_spend;    /* n_cat */
    uint32_t *cat_seen;   /* n_cat stamps */
    uint32_t *cat_list;   /* n_cat touched */
    uint32_t *store_seen; /* n_store_codes stamps */
    uint32_t stamp;
} scratch;

static void scratch_free(scratch *w)
{
    promo_free(w->ord);
    promo_free(w->pr);
    promo_free(w->sl);
    promo_free(w->tmp);
    promo_free(w->cat_spend);
    promo_free(w->cat_seen);
    promo_free(w->cat_list);
    promo_free(w->store_seen);
}

static int scratch_init(scratch *w, const fx_ctx *c)
{
    memset(w, 0, sizeof *w);
    w->cat_spend = promo_calloc(c->n_cat + 1, sizeof *w->cat_spend);
    w->cat_seen = promo_calloc(c->n_cat + 1, sizeof *w->cat_seen);
    w->cat_list = promo_calloc(c->n_cat + 1, sizeof *w->cat_list);
    w->store_seen = promo_calloc(c->n_store_codes + 1, sizeof *w->store_seen);
    return w->cat_spend && w->cat_seen && w->cat_list && w->store_seen ? 0 : -1;
}

static int scratch_reserve(scratch *w, size_t n)
{
    if (n <= w->cap)
        return 0;
    size_t cap = n < 64 ? 64 : n * 2;
    fx_order *o = promo_reallocn(w->ord, cap, sizeof *o);
    if (!o)
        return -1;
    w->ord = o;
    fx_prow *p = promo_reallocn(w->pr, cap, sizeof *p);
    if (!p)
        return -1;
    w->pr = p;
    fx_slot *sl = promo_reallocn(w->sl, cap, sizeof *sl);
    if (!sl)
        return -1;
    w->sl = sl;
    fx_rec *t = promo_reallocn(w->tmp, cap, sizeof *t);
    if (!t)
        return -1;
    w->tmp = t;
    w->cap = cap;
    return 0;
}

/* Per-customer outputs the global steps need. */
typedef struct cust_out {
    double *bg_x, *bg_tx, *bg_T; /* BG/NBD inputs in days */
    double *gg_m;                /* mean spend per repeat purchase day */
    uint32_t *ix_nnz, *cs_nnz;   /* CSR row lengths */
} cust_out;

/* BG/NBD inputs of customer row r from its orders (sorted by time, n_ord > 0): purchase
 * occasions are distinct days (FHL count transactions per period). */
static void
bgnbd_inputs(const fx_order *ord, size_t n_ord, double as_of, size_t r, float *x, cust_out *co)
{
    double d0 = floor((double)ord[0].ts / DAY), dl = d0, days = 1, rep_rev = 0;
    for (size_t i = 0; i < n_ord; i++) {
        double d = floor((double)ord[i].ts / DAY);
        if (d != dl) {
            days++;
            dl = d;
        }
        if (d != d0)
            rep_rev += ord[i].rev;
    }
    x[C_PURCHASE_DAYS] = (float)days;
    co->bg_x[r] = days - 1;
    co->bg_tx[r] = dl - d0;
    co->bg_T[r] = as_of / DAY - d0;
    co->gg_m[r] = days > 1 ? rep_rev / (days - 1) : NAN;
}

/* One customer: row r of X, universe index u. full = 0: only what the global steps read
 * (params.only), computed exactly as in a full row. */
static int one_customer(fx_ctx *c,
                        const contacts *ct,
                        const int64_t *signup,
                        size_t r,
                        uint32_t u,
                        int full,
                        float *x,
                        scratch *w,
                        csr_fill *b,
                        cust_out *co)
{
    const promo_feature_params *p = c->p;
    double as_of = (double)p->as_of;
    size_t base = c->off[u], n = c->off[u + 1] - base;
    for (int j = 0; j < C_BASE_COUNT; j++)
        x[j] = NAN;
    if (scratch_reserve(w, n))
        return -1;
    size_t n_ord = walk_orders(c, base, n, w->ord, w->sl, full ? w->pr : NULL, w->tmp);
    fx_order *ord = w->ord;
    _Static_assert(sizeof(fx_order) <= sizeof(fx_rec) && sizeof(fx_prow) <= sizeof(fx_rec),
                   "the sorts share tmp");
    sort_orders(ord, (fx_order *)(void *)w->tmp, n_ord);
    co->bg_x[r] = co->bg_tx[r] = co->bg_T[r] = co->gg_m[r] = NAN;
    co->ix_nnz[r] = co->cs_nnz[r] = 0;
    int64_t first = n_ord ? ord[0].ts : INT64_MAX;
    if (signup && signup[u] < first)
        first = signup[u];
    if (first != INT64_MAX)
        x[C_TENURE] = (float)((as_of - (double)first) / DAY);
    x[C_FREQUENCY] = (float)n_ord;
    x[C_PURCHASE_DAYS] = 0;
    x[C_MONETARY] = 0;
    x[C_N_PRODUCTS] = x[C_N_CATEGORIES] = x[C_N_STORES] = 0;
    x[C_SPEND_30] = x[C_SPEND_90] = x[C_ORDERS_30] = x[C_ORDERS_90] = 0;
    if (n_ord && !full) {
        double rev = 0; /* summed in the same order as below: the same bits */
        for (size_t i = 0; i < n_ord; i++)
            rev += ord[i].rev;
        x[C_RECENCY] = (float)((as_of - (double)ord[n_ord - 1].ts) / DAY);
        x[C_MONETARY] = (float)rev;
        bgnbd_inputs(ord, n_ord, as_of, r, x, co);
    } else if (n_ord) {
        double rev = 0, promo_rev = 0, qty = 0, lines = 0, online = 0, s30 = 0, s90 = 0;
        double o30 = 0, o90 = 0, dow[7] = {0}, hour[24] = {0};
        double gap_s = 0, gap_s2 = 0;
        for (size_t i = 0; i < n_ord; i++) {
            rev += ord[i].rev;
            promo_rev += ord[i].promo_rev;
            qty += ord[i].qty;
            lines += ord[i].lines;
            online += ord[i].online;
            double age = (as_of - (double)ord[i].ts) / DAY;
            if (age <= 30) {
                s30 += ord[i].rev;
                o30++;
            }
            if (age <= 90) {
                s90 += ord[i].rev;
                o90++;
            }
            dow[promo_time_weekday(ord[i].ts)]++;
            hour[promo_time_hour(ord[i].ts)]++;
            if (i) {
                double g = (double)(ord[i].ts - ord[i - 1].ts) / DAY;
                gap_s += g;
                gap_s2 += g * g;
            }
        }
        double no = (double)n_ord;
        x[C_RECENCY] = (float)((as_of - (double)ord[n_ord - 1].ts) / DAY);
        x[C_MONETARY] = (float)rev;
        x[C_AOV] = (float)(rev / no);
        if (n_ord >= 2) {
            double m = gap_s / (no - 1);
            x[C_IPG_MEAN] = (float)m;
            if (n_ord >= 3)
                x[C_IPG_SD] = (float)sqrt(fmax(0, gap_s2 / (no - 1) - m * m));
        }
        x[C_BASKET_ITEMS] = (float)(qty / no);
        x[C_BASKET_LINES] = (float)(lines / no);
        x[C_ONLINE_SHARE] = (float)(online / no);
        x[C_SPEND_30] = (float)s30;
        x[C_SPEND_90] = (float)s90;
        x[C_ORDERS_30] = (float)o30;
        x[C_ORDERS_90] = (float)o90;
        x[C_PROMO_SHARE] = rev > 0 ? (float)(promo_rev / rev) : NAN;
        int bd = 0, bh = 0;
        for (int k = 0; k < 7; k++) {
            x[C_DOW0 + k] = (float)(dow[k] / no);
            if (dow[k] > dow[bd])
                bd = k;
        }
        for (int k = 0; k < 24; k++) {
            x[C_HOUR0 + k] = (float)(hour[k] / no);
            if (hour[k] > hour[bh])
                bh = k;
        }
        x[C_BEST_DOW] = (float)bd;
        x[C_BEST_HOUR] = (float)bh;
        x[C_BEST_SLOT] = (float)(bd * 24 + bh);
        bgnbd_inputs(ord, n_ord, as_of, r, x, co);
    }
    if (!full) { /* the rest is for the listed customers only */
        store_slots(c, base, n, w->sl);
        return 0;
    }
    /* Interactions row: the slots of this customer, by product. */
    fx_prow *pr = w->pr;
    size_t m = 0;
    while (m < n && w->sl[m].product != FX_NONE)
        m++;
    sort_prows(pr, (fx_prow *)(void *)w->tmp, m);
    double total = 0;
    uint32_t n_cat_touched = 0, nnz = 0;
    if (++w->stamp == 0) {
        memset(w->cat_seen, 0, (c->n_cat + 1) * sizeof *w->cat_seen);
        memset(w->store_seen, 0, (c->n_store_codes + 1) * sizeof *w->store_seen);
        w->stamp = 1;
    }
    for (size_t i = 0; i < m;) {
        size_t j = i;
        double cnt = 0, sp = 0, rw = 0;
        while (j < m && pr[j].product == pr[i].product) {
            cnt++;
            sp += pr[j].rev;
            rw += pr[j].recency;
            j++;
        }
        b->ix_col[b->ix] = pr[i].product;
        b->ix_val[PROMO_IX_COUNT][b->ix] = (float)cnt;
        b->ix_val[PROMO_IX_SPEND][b->ix] = (float)sp;
        b->ix_val[PROMO_IX_RECENCY][b->ix] = (float)rw;
        b->ix_val[PROMO_IX_CONFIDENCE][b->ix] =
            cnt < N_CONF_TABLE ? c->confidence[(int)cnt]
                               : (float)(1 + p->confidence_alpha * log1p(cnt / p->confidence_eps));
        b->ix++;
        nnz++;
        uint32_t cat = c->prod_cat[pr[i].product];
        if (w->cat_seen[cat] != w->stamp) {
            w->cat_seen[cat] = w->stamp;
            w->cat_spend[cat] = 0;
            w->cat_list[n_cat_touched++] = cat;
        }
        w->cat_spend[cat] += sp;
        total += sp;
        i = j;
    }
    co->ix_nnz[r] = nnz;
    x[C_N_PRODUCTS] = (float)nnz;
    x[C_N_CATEGORIES] = (float)n_cat_touched;
    if (n_cat_touched > 32)
        qsort(w->cat_list, n_cat_touched, sizeof *w->cat_list, by_u32);
    for (uint32_t i = 1; i < n_cat_touched && n_cat_touched <= 32; i++) { /* insertion sort */
        uint32_t t = w->cat_list[i], j = i;
        while (j > 0 && w->cat_list[j - 1] > t) {
            w->cat_list[j] = w->cat_list[j - 1];
            j--;
        }
        w->cat_list[j] = t;
    }
    for (uint32_t i = 0; i < n_cat_touched; i++) {
        uint32_t cat = w->cat_list[i];
        b->cs_col[b->cs] = cat;
        b->cs_val[b->cs++] = total > 0 ? (float)(w->cat_spend[cat] / total) : 0.0f;
    }
    co->cs_nnz[r] = n_cat_touched;
    uint32_t n_st = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t st = c->rec[base + i].line.aux & AUX_STORE_MASK;
        if (st == AUX_STORE_MASK)
            continue;
        if (w->store_seen[st] != w->stamp) {
            w->store_seen[st] = w->stamp;
            n_st++;
        }
    }
    x[C_N_STORES] = (float)n_st;
    /* Discount sensitivity: how much of the history was bought on promotion, and how deep. */
    double promo_lines = 0, depth = 0;
    for (size_t i = 0; i < n; i++) {
        const fx_line *ln = &c->rec[base + i].line;
        if (!(ln->aux & AUX_PROMO))
            continue;
        promo_lines++;
        if (ln->list > 0)
            depth += fmin(1.0, fmax(0.0, 1.0 - ln->rev / (double)ln->list));
    }
    x[C_PROMO_LINE_SHARE] = n ? (float)(promo_lines / (double)n) : NAN;
    x[C_DISCOUNT_DEPTH] = promo_lines > 0 ? (float)(depth / promo_lines) : NAN;
    store_slots(c, base, n, w->sl);
    fx_contact_features(ct, u, p, pr, m, c->prod_cat, x);
    return 0;
}

/* ---------------------------------------------------------------- global steps ---- */

/* Order-preserving u32 key of a float (NaN never reaches here). */
static inline uint32_t float_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* Quantile scores 1..nq[k] of X[:, col] over the rows in idx into score[k], k < n_score, by
 * mid-rank (ties share a score, so the result does not depend on row order). LSD radix sort
 * on (key, row) pairs, once for all k. */
static int quantile_scores(const float *X,
                           size_t nf,
                           int col,
                           const uint32_t *idx,
                           size_t n,
                           const int *nq,
                           uint8_t *const *score /* per row of X */,
                           int n_score)
{
    if (!n)
        return 0;
    uint64_t *a = promo_mallocn(n, sizeof *a), *t = promo_mallocn(n, sizeof *t);
    uint32_t *cnt = promo_calloc(65536, sizeof *cnt);
    if (!a || !t || !cnt) {
        promo_free(a);
        promo_free(t);
        promo_free(cnt);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = (uint64_t)float_key(X[(size_t)idx[i] * nf + (size_t)col]) << 32 | idx[i];
    for (int shift = 32; shift < 64; shift += 16) {
        memset(cnt, 0, 65536 * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(a[i] >> shift) & 0xffff]++;
        uint32_t run = 0;
        for (size_t d = 0; d < 65536; d++) {
            uint32_t v = cnt[d];
            cnt[d] = run;
            run += v;
        }
        for (size_t i = 0; i < n; i++)
            t[cnt[(a[i] >> shift) & 0xffff]++] = a[i];
        uint64_t *sw = a;
        a = t;
        t = sw;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && (a[j] >> 32) == (a[i] >> 32))
            j++;
        double mid = ((double)i + (double)j - 1) / 2.0 + 0.5; /* mean 0-based rank + 1/2 */
        for (int q = 0; q < n_score; q++) {
            int sc = 1 + (int)floor((double)nq[q] * mid / (double)n);
            if (sc > nq[q])
                sc = nq[q];
            for (size_t k = i; k < j; k++)
                score[q][(uint32_t)a[k]] = (uint8_t)sc;
        }
        i = j;
    }
    promo_free(a);
    promo_free(t);
    promo_free(cnt);
    return 0;
}

/* Shrink an array to n elements (n = 0 keeps one). */
static int shrink(void **a, uint64_t n, size_t size)
{
    void *p = promo_reallocn(*a, n ? n : 1, size);
    if (!p)
        return -1;
    *a = p;
    return 0;
}

/* Row offsets from row lengths, as a new array. */
static uint64_t *row_offsets(const uint32_t *len, size_t n_rows)
{
    uint64_t *rp = promo_mallocn(n_rows + 1, sizeof *rp);
    if (!rp)
        return NULL;
    rp[0] = 0;
    for (size_t r = 0; r < n_rows; r++)
        rp[r + 1] = rp[r] + len[r];
    return rp;
}

/* Move chunk q's entries [start[q], end[q]) of a 4-byte array down to follow chunk q - 1's.
 * Returns the entries kept. */
static uint64_t close_gaps(void *a, const uint64_t *start, const uint64_t *end, size_t n_chunks)
{
    uint32_t *v = a; /* columns (uint32_t) or values (float): only the bytes move */
    uint64_t at = 0;
    for (size_t q = 0; q < n_chunks; q++) {
        uint64_t len = end[q] - start[q];
        if (at != start[q] && len)
            memmove(v + at, v + start[q], len * sizeof *v);
        at += len;
    }
    return at;
}

/* Close the gaps that the customer pass left between chunks (see csr_fill): chunk q wrote
 * entries [start[q], ix_end[q]) and [start[q], cs_end[q]). Then shrink the arrays to size and
 * give every interactions matrix its own row offsets and columns. */
static int finish_csr(promo_features *f,
                      const csr_fill *b,
                      const uint32_t *ix_nnz,
                      const uint32_t *cs_nnz,
                      const uint64_t *start,
                      const uint64_t *ix_end,
                      const uint64_t *cs_end,
                      size_t n_chunks,
                      int nt)
{
    size_t n = f->n_customers;
    void *arrays[7] = {b->ix_col,    b->ix_val[0], b->ix_val[1], b->ix_val[2],
                       b->ix_val[3], b->cs_col,    b->cs_val};
    uint64_t kept[7];
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int k = 0; k < 7; k++)
        kept[k] = close_gaps(arrays[k], start, k < 5 ? ix_end : cs_end, n_chunks);
    uint64_t ix = kept[0], cs = kept[5];
    promo_csr *m0 = &f->interactions[0], *mc = &f->category_share;
    for (int k = 0; k < 4; k++) {
        promo_csr *m = &f->interactions[k];
        m->n_rows = (uint32_t)n;
        m->nnz = ix;
        if (shrink((void **)&m->values, ix, sizeof *m->values))
            return -1;
    }
    if (shrink((void **)&m0->col_idx, ix, sizeof *m0->col_idx) ||
        !(m0->row_ptr = row_offsets(ix_nnz, n)))
        return -1;
    for (int k = 1; k < 4; k++) {
        promo_csr *m = &f->interactions[k];
        m->row_ptr = promo_mallocn(n + 1, sizeof *m->row_ptr);
        m->col_idx = promo_mallocn(ix ? ix : 1, sizeof *m->col_idx);
        if (!m->row_ptr || !m->col_idx)
            return -1;
        fx_prefault(m->col_idx, ix * sizeof *m->col_idx, nt);
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int k = 1; k < 4; k++) {
        promo_csr *m = &f->interactions[k];
        memcpy(m->row_ptr, m0->row_ptr, (n + 1) * sizeof *m->row_ptr);
        memcpy(m->col_idx, m0->col_idx, ix * sizeof *m->col_idx);
    }
    mc->n_rows = (uint32_t)n;
    mc->nnz = cs;
    if (shrink((void **)&mc->col_idx, cs, sizeof *mc->col_idx) ||
        shrink((void **)&mc->values, cs, sizeof *mc->values) ||
        !(mc->row_ptr = row_offsets(cs_nnz, n)))
        return -1;
    return 0;
}

static char *cat_column_name(const char *cat)
{
    size_t n = strlen(cat);
    char *s = promo_malloc(n + 11);
    if (!s)
        return NULL;
    memcpy(s, "cat_share_", 10);
    size_t k = 10;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)cat[i];
        char o = isalnum(ch) ? (char)tolower(ch) : '_';
        if (o == '_' && k > 10 && s[k - 1] == '_')
            continue;
        s[k++] = o;
    }
    s[k] = 0;
    return s;
}

/* full: NULL, or the rows whose CLV columns are wanted (params.only). */
static int fit_clv(promo_features *f,
                   const cust_out *co,
                   const uint8_t *full,
                   const promo_feature_params *p,
                   int nt)
{
    size_t n = f->n_customers, m = 0;
    for (size_t r = 0; r < n; r++)
        m += !isnan(co->bg_x[r]);
    double *buf = promo_mallocn(4 * (m ? m : 1), sizeof *buf);
    if (!buf)
        return -1;
    double *bx = buf, *btx = buf + m, *bT = buf + 2 * m, *bm = buf + 3 * m;
    for (size_t r = 0, k = 0; r < n; r++)
        if (!isnan(co->bg_x[r])) {
            bx[k] = co->bg_x[r];
            btx[k] = co->bg_tx[r];
            bT[k] = co->bg_T[r];
            bm[k] = isnan(co->gg_m[r]) ? 0 : co->gg_m[r];
            k++;
        }
    promo_clv_params cp = p->clv_params;
    if (cp.n_threads == 0)
        cp.n_threads = nt;
    double t0 = promo_now_s();
    int rc = promo_bgnbd_fit(bx, btx, bT, m, &cp, &f->bgnbd);
    promo_debug("features: bgnbd fit %.3fs, %d iterations%s (r=%g alpha=%g a=%g b=%g)",
                promo_now_s() - t0, f->bgnbd.iterations, f->bgnbd.used_fallback ? ", fallback" : "",
                f->bgnbd.r, f->bgnbd.alpha, f->bgnbd.a, f->bgnbd.b);
    int have_gg = 0;
    if (rc == PROMO_OK) {
        t0 = promo_now_s();
        if (promo_gamma_gamma_fit(bx, bm, m, &cp, &f->gamma_gamma) == PROMO_OK)
            have_gg = 1;
        else
            f->clv_status = promo_strdup(promo_last_error());
        promo_debug("features: gamma-gamma fit %.3fs, %d iterations", promo_now_s() - t0,
                    f->gamma_gamma.iterations);
    } else {
        memset(&f->bgnbd, 0, sizeof f->bgnbd);
        f->clv_status = promo_strdup(promo_last_error());
        if (!f->clv_status) {
            promo_free(buf);
            return -1;
        }
    }
    if (rc != PROMO_OK) {
        promo_free(buf);
        promo_warn("features: CLV columns left empty: %s", f->clv_status);
        return 0;
    }
    const promo_bgnbd *bg = &f->bgnbd;
    const promo_gamma_gamma *gg = &f->gamma_gamma;
    size_t nf = f->n_features;
    size_t *pos = promo_mallocn(m ? m : 1, sizeof *pos);
    if (!pos) {
        promo_free(buf);
        return -1;
    }
    /* The customers evaluated (every fitted one, or the wanted ones) move to the front of
     * the fit's arrays: each one's figures depend on its own inputs and the fit only. */
    size_t me = 0;
    for (size_t r = 0, k = 0; r < n; r++)
        if (!isnan(co->bg_x[r])) {
            if (!full || full[r]) {
                bx[me] = bx[k];
                btx[me] = btx[k];
                bT[me] = bT[k];
                bm[me] = bm[k];
                pos[me++] = r;
            }
            k++;
        }
    m = me;
    double *e_short = promo_mallocn(2 * (m ? m : 1), sizeof *e_short);
    double *e_long = e_short ? e_short + m : NULL;
    if (!e_short || promo_bgnbd_expected_many(bg, p->expected_days, bx, btx, bT, m, nt, e_short) ||
        (have_gg &&
         promo_bgnbd_expected_many(bg, p->clv_horizon_days, bx, btx, bT, m, nt, e_long))) {
        promo_free(e_short);
        promo_free(pos);
        promo_free(buf);
        return -1;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t k = 0; k < m; k++) {
        size_t r = pos[k];
        float *x = f->X + r * nf;
        x[C_P_ALIVE] = (float)promo_bgnbd_p_alive(bg, bx[k], btx[k], bT[k]);
        x[C_EXP_PURCHASES] = (float)e_short[k];
        if (have_gg) {
            /* Gamma-Gamma describes repeat spend; first-time buyers get the population mean. */
            double es = promo_gamma_gamma_expected_spend(gg, bx[k], bm[k]);
            x[C_EXP_SPEND] = (float)es;
            x[C_CLV] = (float)(e_long[k] * es);
        }
    }
    promo_free(pos);
    promo_free(e_short);
    promo_free(buf);
    return 0;
}

/* ---------------------------------------------------------------- entry points ---- */

int fx_map_products(const promo_feature_input *in, const tx_cols *x, int nt, prod_map *pm)
{
    memset(pm, 0, sizeof *pm);
    uint32_t *rows = NULL;
    int rc;
    if ((rc = fx_need_col(in->products, "products", "product_id", T_STR, &pm->pid)) ||
        (rc = key_rows(pm->pid, "products", &rows)))
        return rc;
    pm->n_prod = (uint32_t)in->products->n_rows;
    pm->tx_prod = fx_code_map(x->prod, pm->pid->dict, rows, nt);
    promo_free(rows);
    return pm->tx_prod ? PROMO_OK : PROMO_ENOMEM;
}

/* 1 for the known rows (u->known order) whose customer id is listed in ids, else 0. */
static uint8_t *wanted_rows(const universe *u, const char *const *ids, size_t n_ids)
{
    uint32_t nd = promo_dict_size(u->id_col->dict);
    uint32_t *row_of = promo_mallocn(nd ? nd : 1, sizeof *row_of); /* id code -> known row */
    uint8_t *full = promo_calloc(u->n_known ? u->n_known : 1, 1);
    if (!row_of || !full) {
        promo_free(row_of);
        promo_free(full);
        return NULL;
    }
    memset(row_of, 0xff, (size_t)nd * sizeof *row_of);
    for (size_t r = 0; r < u->n_known; r++)
        row_of[u->id_code[u->known[r]]] = (uint32_t)r;
    for (size_t i = 0; i < n_ids; i++) {
        uint32_t k =
            ids[i] ? promo_dict_find(u->id_col->dict, ids[i], strlen(ids[i])) : PROMO_DICT_NONE;
        if (k != PROMO_DICT_NONE && row_of[k] != FX_NONE)
            full[row_of[k]] = 1;
    }
    promo_free(row_of);
    return full;
}

int fx_check_params(const promo_feature_input *in, const promo_feature_params *p)
{
    if (!in || !in->transactions || !in->products)
        return promo_fail(PROMO_EUSAGE, "features: transactions and products tables are required");
    if (p->as_of == INT64_MIN)
        return promo_fail(PROMO_EUSAGE, "features: no cutoff (params.as_of) given");
    if (in->transactions->n_rows >= UINT32_MAX) /* line positions are 32-bit */
        return promo_fail(PROMO_EINPUT, "features: %zu transactions: at most %u are supported",
                          in->transactions->n_rows, UINT32_MAX - 1);
    if (!(p->half_life_days > 0) || !(p->confidence_eps > 0) || !(p->confidence_alpha >= 0) ||
        !(p->response_prior_strength >= 0) || !(p->lift_prior_strength >= 0) ||
        !(p->expected_days > 0) || !(p->clv_horizon_days > 0))
        return promo_fail(PROMO_EUSAGE, "features: half_life_days, confidence_eps, expected_days "
                                        "and clv_horizon_days must be > 0");
    return PROMO_OK;
}

/* ---------------------------------------------------------------- many cutoffs ---- */

/* The purchase lines before the latest cutoff, bucketed by transactions.customer_id code and
 * each bucket sorted once as the customer pass sorts it (sort_lines: a stable sort, so the
 * lines of an earlier cutoff, a subsequence in row order, come out of it as the same
 * subsequence: what sorting them afresh would give). A cut then copies each known customer's
 * lines before its cutoff instead of counting, bucketing and sorting all the rows again. */
struct promo_features_days {
    const promo_feature_input *in;
    int64_t last; /* the latest cutoff asked for */
    tx_cols x;
    prod_map pm;
    uint32_t n_codes; /* transactions.customer_id codes */
    uint64_t *off;    /* n_codes + 1: code k's lines are rec[off[k] .. off[k + 1]) */
    fx_rec *rec;      /* their lines, sorted */
    int64_t *ts;      /* the same lines' times, increasing within each code */
    uint32_t n_store_codes;
    int32_t week_min, week_max;
};

static inline int ts_less(const int64_t *a, const int64_t *b)
{
    return *a < *b;
}

DEFINE_MERGE_SORT(sort_ts, int64_t, ts_less)

void promo_features_days_free(promo_features_days *h)
{
    if (!h)
        return;
    promo_free(h->pm.tx_prod);
    promo_free(h->off);
    promo_free(h->rec);
    promo_free(h->ts);
    promo_free(h);
}

int promo_features_days_open(const promo_feature_input *in,
                             const promo_feature_params *params,
                             promo_features_days **out)
{
    promo_feature_params def = promo_feature_params_default();
    const promo_feature_params *p = params ? params : &def;
    *out = NULL;
    int rc = fx_check_params(in, p);
    if (rc)
        return rc;
    promo_features_days *h = promo_calloc(1, sizeof *h);
    if (!h)
        return promo_fail(PROMO_ENOMEM, "features: out of memory");
    h->in = in;
    h->last = p->as_of;
    fx_ctx c;
    memset(&c, 0, sizeof c);
    c.in = in;
    c.p = p;
    c.nt = nthreads(p->n_threads);
    universe u;
    memset(&u, 0, sizeof u);
    uint32_t *cnt = NULL;
    uint64_t *keep = NULL;
    if ((rc = fx_get_tx_cols(in->transactions, &h->x)) ||
        (rc = fx_map_products(in, &h->x, c.nt, &h->pm)))
        goto fail;
    rc = PROMO_ENOMEM;
    h->n_codes = promo_dict_size(h->x.cust->dict);
    size_t n_rows = in->transactions->n_rows;
    cnt = promo_calloc((size_t)c.nt * ((size_t)h->n_codes + 1), sizeof *cnt);
    keep = promo_calloc(n_rows / 64 + 1, sizeof *keep);
    /* Every code its own bucket (bucket_lines reads u.n and u.tx_cust only). */
    u.n = h->n_codes;
    u.tx_cust = promo_mallocn(h->n_codes ? h->n_codes : 1, sizeof *u.tx_cust);
    if (!cnt || !keep || !u.tx_cust)
        goto fail;
    for (uint32_t k = 0; k < h->n_codes; k++)
        u.tx_cust[k] = k;
    fx_count_lines(&h->x, n_rows, h->pm.tx_prod, h->last, c.nt, h->n_codes, cnt, keep);
    if (bucket_lines(&c, &h->x, &u, h->pm.tx_prod, cnt, keep, c.nt))
        goto fail;
    h->off = c.off; /* n_codes + 2 entries; the last bucket (no customer) is not used */
    h->rec = c.rec;
    c.off = NULL;
    c.rec = NULL;
    h->n_store_codes = c.n_store_codes;
    h->week_min = c.week_min;
    h->week_max = c.week_max;
    size_t n_lines = h->off[h->n_codes];
    h->ts = promo_mallocn(n_lines ? n_lines : 1, sizeof *h->ts);
    if (!h->ts)
        goto fail;
    int bad = 0;
#pragma omp parallel num_threads(c.nt) reduction(| : bad)
    {
        fx_rec *tmp = NULL;
        int64_t *tt = NULL;
        size_t cap = 0;
#pragma omp for schedule(dynamic, 256)
        for (uint32_t k = 0; k < h->n_codes; k++) {
            size_t b = h->off[k], n = h->off[k + 1] - b;
            if (bad || n < 2) {
                if (n == 1)
                    h->ts[b] = h->rec[b].line.ts;
                continue;
            }
            if (n > cap) {
                promo_free(tmp);
                promo_free(tt);
                cap = 2 * n;
                tmp = promo_mallocn(cap, sizeof *tmp);
                tt = promo_mallocn(cap, sizeof *tt);
                if (!tmp || !tt) {
                    bad = 1;
                    cap = 0;
                    continue;
                }
            }
            sort_lines(h->rec + b, tmp, n);
            for (size_t i = 0; i < n; i++)
                h->ts[b + i] = h->rec[b + i].line.ts;
            sort_ts(h->ts + b, tt, n);
        }
        promo_free(tmp);
        promo_free(tt);
    }
    if (bad)
        goto fail;
    *out = h;
    h = NULL;
    rc = PROMO_OK;
fail:
    if (rc == PROMO_ENOMEM)
        promo_fail(PROMO_ENOMEM, "features: out of memory");
    promo_free(cnt);
    promo_free(keep);
    promo_free(u.tx_cust);
    promo_free(c.off);
    promo_free(c.rec);
    promo_features_days_free(h);
    return rc;
}

/* Lines of code k before as_of: how many (the times are sorted). */
static size_t days_count(const promo_features_days *h, uint32_t k, int64_t as_of)
{
    size_t lo = h->off[k], hi = h->off[k + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->ts[mid] < as_of)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - h->off[k];
}

/* The cut's buckets from the days' lines: the known customers' lines before as_of, in their
 * sorted order (no anonymous lines: they feed the product side only, off here). */
static int days_buckets(fx_ctx *c, const promo_features_days *h, const universe *u)
{
    int64_t as_of = c->p->as_of;
    uint32_t *code_of = promo_mallocn(u->n ? u->n : 1, sizeof *code_of);
    c->off = promo_calloc(u->n + 2, sizeof *c->off);
    if (!code_of || !c->off) {
        promo_free(code_of);
        return -1;
    }
    memset(code_of, 0xff, u->n * sizeof *code_of);
    for (uint32_t k = 0; k < h->n_codes; k++)
        if (u->tx_cust[k] != FX_NONE)
            code_of[u->tx_cust[k]] = k;
    uint64_t run = 0;
    for (size_t b = 0; b < u->n; b++) {
        c->off[b] = run;
        if (code_of[b] != FX_NONE)
            run += days_count(h, code_of[b], as_of);
    }
    c->off[u->n] = c->off[u->n + 1] = run;
    c->n_lines = run;
    c->n_univ = u->n;
    c->n_store_codes = h->n_store_codes;
    c->week_min = h->week_min;
    c->week_max = h->week_max;
    c->presorted = 1;
    c->rec = promo_mallocn(run ? run : 1, sizeof *c->rec);
    if (!c->rec) {
        promo_free(code_of);
        return -1;
    }
    fx_prefault(c->rec, run * sizeof *c->rec, c->nt);
#pragma omp parallel for schedule(dynamic, 1024) num_threads(c->nt)
    for (size_t b = 0; b < u->n; b++) {
        uint32_t k = code_of[b];
        if (k == FX_NONE)
            continue;
        fx_rec *dst = c->rec + c->off[b];
        size_t want = c->off[b + 1] - c->off[b];
        for (uint64_t i = h->off[k]; want && i < h->off[k + 1]; i++)
            if (h->rec[i].line.ts < as_of) {
                *dst++ = h->rec[i];
                want--;
            }
    }
    promo_free(code_of);
    return 0;
}

static int compute_at(const promo_feature_input *in,
                      const promo_feature_params *params,
                      const promo_features_days *days,
                      promo_features **out)
{
    promo_feature_params def = promo_feature_params_default();
    const promo_feature_params *p = params ? params : &def;
    *out = NULL;
    int rc = fx_check_params(in, p);
    if (rc)
        return rc;
    if (days && (p->products || p->as_of > days->last))
        return promo_fail(PROMO_EUSAGE, "features: a cut of the days needs products = 0 and a "
                                        "cutoff not after the latest one they were opened for");
    tx_cols x;
    if (days)
        x = days->x;
    else if ((rc = fx_get_tx_cols(in->transactions, &x)))
        return rc;
    fx_ctx c;
    memset(&c, 0, sizeof c);
    c.in = in;
    c.p = p;
    c.nt = nthreads(p->n_threads);
    for (int k = 0; k < N_CONF_TABLE; k++)
        c.confidence[k] = (float)(1 + p->confidence_alpha * log1p(k / p->confidence_eps));
    prod_map pm;
    universe u;
    memset(&u, 0, sizeof u);
    contacts ct;
    memset(&ct, 0, sizeof ct);
    cust_out co;
    memset(&co, 0, sizeof co);
    csr_fill out_csr;
    memset(&out_csr, 0, sizeof out_csr);
    uint64_t *chunk_at = NULL; /* per chunk: first CSR entry, end of interactions, of shares */
    size_t n_chunks = 0;
    uint32_t *line_cnt = NULL, n_codes = 0;
    uint64_t *keep = NULL; /* purchase lines, a bit per transaction row */
    uint8_t *full = NULL;  /* params.only: 1 for the rows wanted in full */
    promo_features *f = NULL;
    stage_clock t0 = stage_now();
    if (days)
        pm = days->pm; /* borrowed: not freed below */
    else if ((rc = fx_map_products(in, &x, c.nt, &pm)))
        return rc;
    const uint32_t *tx_prod = pm.tx_prod;
    rc = PROMO_ENOMEM;
    c.n_prod = pm.n_prod;
    /* Categories: products.category codes, plus "unknown" for null or absent. */
    const promo_column *pcat = fx_opt_col(in->products, "category", T_STR);
    uint32_t n_dict_cat = pcat ? promo_dict_size(pcat->dict) : 0;
    int need_unknown = !pcat || pcat->n_null > 0;
    c.n_cat = n_dict_cat + (need_unknown ? 1 : 0);
    c.prod_cat = promo_mallocn(c.n_prod ? c.n_prod : 1, sizeof *c.prod_cat);
    f = promo_calloc(1, sizeof *f);
    if (!c.prod_cat || !f)
        goto fail;
    for (uint32_t j = 0; j < c.n_prod; j++)
        c.prod_cat[j] = pcat && !promo_column_is_null(pcat, j) ? pcat->codes[j] : n_dict_cat;
    f->as_of = p->as_of;
    f->n_categories = c.n_cat;
    f->category_names = promo_calloc(c.n_cat ? c.n_cat : 1, sizeof *f->category_names);
    if (!f->category_names)
        goto fail;
    for (uint32_t k = 0; k < c.n_cat; k++)
        if (!(f->category_names[k] =
                  promo_strdup(k < n_dict_cat ? promo_dict_key(pcat->dict, k) : "unknown")))
            goto fail;
    n_codes = promo_dict_size(x.cust->dict);
    int n_parts = days ? 1 : c.nt;
    line_cnt = promo_calloc((size_t)n_parts * ((size_t)n_codes + 1), sizeof *line_cnt);
    keep = days ? NULL : promo_calloc(in->transactions->n_rows / 64 + 1, sizeof *keep);
    if (!line_cnt || (!days && !keep))
        goto fail;
    if (days)
        for (uint32_t k = 0; k < n_codes; k++)
            line_cnt[k] = (uint32_t)days_count(days, k, p->as_of);
    else
        fx_count_lines(&x, in->transactions->n_rows, tx_prod, p->as_of, c.nt, n_codes, line_cnt,
                       keep);
    if ((rc = fx_build_universe(in, &x, line_cnt, n_parts, p->as_of, c.nt, &u)))
        goto fail;
    rc = PROMO_ENOMEM;
    if (days ? days_buckets(&c, days, &u) : bucket_lines(&c, &x, &u, tx_prod, line_cnt, keep, c.nt))
        goto fail;
    promo_free(line_cnt);
    promo_free(keep);
    line_cnt = NULL;
    keep = NULL;
    if ((rc = fx_build_contacts(in, &pm, c.prod_cat, &u, p->as_of, c.nt, &ct)))
        goto fail;
    rc = PROMO_ENOMEM;
    size_t n = u.n_known;
    if (p->only && !(full = wanted_rows(&u, p->only, p->n_only)))
        goto fail;
    stage_clock t1 = stage_now();
    /* X and its names. */
    int cat_cols = c.n_cat <= p->max_category_columns;
    size_t nf = C_BASE_COUNT + (cat_cols ? c.n_cat : 0);
    f->n_customers = n;
    f->feature_names = promo_calloc(nf, sizeof *f->feature_names);
    if (!f->feature_names)
        goto fail;
    f->n_features = nf;
    for (size_t j = 0; j < C_BASE_COUNT; j++) {
        char buf[64];
        const char *nm = base_names[j];
        if (j == C_EXP_PURCHASES || j == C_CLV) {
            snprintf(buf, sizeof buf, "%s_%gd", j == C_CLV ? "clv" : "exp_purchases",
                     j == C_CLV ? p->clv_horizon_days : p->expected_days);
            nm = buf;
        }
        if (!(f->feature_names[j] = promo_strdup(nm)))
            goto fail;
    }
    for (uint32_t k = 0; cat_cols && k < c.n_cat; k++)
        if (!(f->feature_names[C_BASE_COUNT + k] = cat_column_name(f->category_names[k])))
            goto fail;
    f->X = promo_mallocn(n ? n * nf : 1, sizeof *f->X);
    f->rfm_segment = promo_calloc(n ? n : 1, 1);
    f->spend_tier = promo_calloc(n ? n : 1, 1);
    f->universe_index = promo_mallocn(n ? n : 1, sizeof *f->universe_index);
    co.bg_x = promo_mallocn(4 * (n ? n : 1), sizeof *co.bg_x);
    co.ix_nnz = promo_mallocn(2 * (n ? n : 1), sizeof *co.ix_nnz);
    if (!f->X || !f->rfm_segment || !f->spend_tier || !f->universe_index || !co.bg_x || !co.ix_nnz)
        goto fail;
    fx_prefault(f->X, n * nf * sizeof *f->X, c.nt);
    co.bg_tx = co.bg_x + n;
    co.bg_T = co.bg_x + 2 * n;
    co.gg_m = co.bg_x + 3 * n;
    co.cs_nnz = co.ix_nnz + n;
    memcpy(f->universe_index, u.known, n * sizeof *u.known);
    /* The CSR arrays at their upper bound (see csr_fill): the known customers' lines. */
    {
        uint64_t bound = c.off[u.n] ? c.off[u.n] : 1;
        for (int k = 0; k < 4; k++) {
            f->interactions[k].owned = 1;
            f->interactions[k].n_cols = c.n_prod;
            if (!(out_csr.ix_val[k] = f->interactions[k].values =
                      promo_mallocn(bound, sizeof(float))))
                goto fail;
        }
        f->category_share.owned = 1;
        f->category_share.n_cols = c.n_cat;
        out_csr.ix_col = f->interactions[0].col_idx = promo_mallocn(bound, sizeof(uint32_t));
        out_csr.cs_col = f->category_share.col_idx = promo_mallocn(bound, sizeof(uint32_t));
        out_csr.cs_val = f->category_share.values = promo_mallocn(bound, sizeof(float));
        if (!out_csr.ix_col || !out_csr.cs_col || !out_csr.cs_val)
            goto fail;
        /* With params.only most of the bound stays unwritten: its pages are never touched. */
        for (int k = 0; k < 4 && !full; k++)
            fx_prefault(out_csr.ix_val[k], bound * sizeof(float), c.nt);
        if (!full) {
            fx_prefault(out_csr.ix_col, bound * sizeof(uint32_t), c.nt);
            fx_prefault(out_csr.cs_col, bound * sizeof(uint32_t), c.nt);
            fx_prefault(out_csr.cs_val, bound * sizeof(float), c.nt);
        }
    }
    /* The customer pass. */
    n_chunks = (n + N_CHUNK_ROWS - 1) / N_CHUNK_ROWS;
    chunk_at = promo_mallocn(3 * (n_chunks ? n_chunks : 1), sizeof *chunk_at);
    if (!chunk_at)
        goto fail;
    int failed = 0;
#pragma omp parallel num_threads(c.nt)
    {
        scratch w;
        csr_fill b = out_csr;
        int bad = scratch_init(&w, &c);
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < n_chunks; q++) {
            size_t r0 = q * N_CHUNK_ROWS, r1 = r0 + N_CHUNK_ROWS < n ? r0 + N_CHUNK_ROWS : n;
            b.ix = b.cs = chunk_at[q] = c.off[u.known[r0]];
            for (size_t r = r0; r < r1 && !bad; r++)
                bad = one_customer(&c, &ct, u.signup, r, u.known[r], !full || full[r],
                                   f->X + r * nf, &w, &b, &co);
            chunk_at[n_chunks + q] = b.ix;
            chunk_at[2 * n_chunks + q] = b.cs;
        }
        if (bad) {
#pragma omp atomic write
            failed = 1;
        }
        scratch_free(&w);
    }
    if (failed)
        goto fail;
    /* Anonymous lines only feed the product side. */
    {
        size_t base = c.off[u.n], na = c.off[u.n + 1] - base;
        fx_order *ord = promo_mallocn(na ? na : 1, sizeof *ord);
        fx_slot *sl = promo_mallocn(na ? na : 1, sizeof *sl);
        fx_rec *tmp = promo_mallocn(na ? na : 1, sizeof *tmp);
        if (ord && sl && tmp) {
            walk_orders(&c, base, na, ord, sl, NULL, tmp);
            store_slots(&c, base, na, sl);
        }
        promo_free(ord);
        promo_free(sl);
        promo_free(tmp);
        if (!ord || !sl || !tmp)
            goto fail;
    }
    stage_clock t2 = stage_now();
    if (finish_csr(f, &out_csr, co.ix_nnz, co.cs_nnz, chunk_at, chunk_at + n_chunks,
                   chunk_at + 2 * n_chunks, n_chunks, c.nt))
        goto fail;
    /* RFM scores among buyers; tiers; segments. */
    {
        uint32_t *buyers = promo_mallocn(n ? n : 1, sizeof *buyers);
        uint8_t *sr = promo_calloc(n ? n : 1, 3);
        if (!buyers || !sr) {
            promo_free(buyers);
            promo_free(sr);
            goto fail;
        }
        size_t nb = 0;
        for (size_t r = 0; r < n; r++)
            if (f->X[r * nf + C_FREQUENCY] > 0)
                buyers[nb++] = (uint32_t)r;
        uint8_t *sf = sr + n, *sm = sr + 2 * n;
        /* Recency, frequency, monetary (quintiles and tier quartiles from one sort): three
         * independent sorts, run side by side. */
        const int cols[3] = {C_RECENCY, C_FREQUENCY, C_MONETARY}, n_q[3][2] = {{5}, {5}, {5, 4}};
        uint8_t *const outs[3][2] = {{sr, NULL}, {sf, NULL}, {sm, f->spend_tier}};
        int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c.nt) reduction(| : bad)
        for (int k = 0; k < 3; k++)
            bad |= quantile_scores(f->X, nf, cols[k], buyers, nb, n_q[k], outs[k], k == 2 ? 2 : 1);
        promo_free(buyers);
        if (bad) {
            promo_free(sr);
            goto fail;
        }
        /* Scores, tier and category shares into X, one row at a time. */
        const promo_csr *cs = &f->category_share;
#pragma omp parallel for schedule(static) num_threads(c.nt)
        for (size_t r = 0; r < n; r++) {
            float *xr = f->X + r * nf;
            int buyer = xr[C_FREQUENCY] > 0;
            if (buyer) {
                int rs = 6 - sr[r]; /* smaller recency is better */
                xr[C_R_SCORE] = (float)rs;
                xr[C_F_SCORE] = sf[r];
                xr[C_M_SCORE] = sm[r];
                xr[C_RFM_SCORE] = (float)(rs + sf[r] + sm[r]);
                f->spend_tier[r] = (uint8_t)(f->spend_tier[r] - 1);
                f->rfm_segment[r] = rfm_segment(rs, sf[r]);
            }
            xr[C_SPEND_TIER] = f->spend_tier[r];
            if (!cat_cols)
                continue;
            float *xc = xr + C_BASE_COUNT;
            for (uint32_t k = 0; k < c.n_cat; k++)
                xc[k] = buyer ? 0.0f : NAN;
            for (uint64_t k = cs->row_ptr[r]; k < cs->row_ptr[r + 1]; k++)
                xc[cs->col_idx[k]] = cs->values[k];
        }
        promo_free(sr);
    }
    stage_clock t3 = stage_now();
    if (p->clv && fit_clv(f, &co, full, p, c.nt))
        goto fail;
    if (!p->clv && !(f->clv_status = promo_strdup("not requested")))
        goto fail;
    stage_clock t4 = stage_now();
    /* Customer ids. */
    {
        size_t bytes = 0;
        for (size_t r = 0; r < n; r++)
            bytes += promo_dict_key_len(u.id_col->dict, u.id_code[u.known[r]]) + 1;
        f->id_pool = promo_malloc(bytes ? bytes : 1);
        f->id_off = promo_mallocn(n ? n : 1, sizeof *f->id_off);
        if (!f->id_pool || !f->id_off)
            goto fail;
        size_t o = 0;
        for (size_t r = 0; r < n; r++) {
            uint32_t code = u.id_code[u.known[r]];
            size_t len = promo_dict_key_len(u.id_col->dict, code);
            f->id_off[r] = o;
            memcpy(f->id_pool + o, promo_dict_key(u.id_col->dict, code), len + 1);
            o += len + 1;
        }
    }
    if (p->products && (rc = fx_products(&c, f)))
        goto fail;
    stage_clock t5 = stage_now();
    {
        char buf[512];
        size_t len = 0;
        stage_print(buf, sizeof buf, &len, "bucket", t0, t1);
        stage_print(buf, sizeof buf, &len, "customers", t1, t2);
        stage_print(buf, sizeof buf, &len, "csr+rfm", t2, t3);
        stage_print(buf, sizeof buf, &len, "clv", t3, t4);
        stage_print(buf, sizeof buf, &len, "products", t4, t5);
        promo_debug("features: %zu customers, %zu lines:%s", n, c.n_lines, buf);
    }
    rc = PROMO_OK;
    *out = f;
    f = NULL;
fail:
    if (rc == PROMO_ENOMEM && !*promo_last_error())
        promo_fail(PROMO_ENOMEM, "features: out of memory");
    promo_free(line_cnt);
    promo_free(keep);
    promo_free(chunk_at);
    promo_free(full);
    promo_free(co.bg_x);
    promo_free(co.ix_nnz);
    fx_contacts_free(&ct);
    fx_universe_free(&u);
    if (!days)
        promo_free(pm.tx_prod);
    promo_free(c.prod_cat);
    promo_free(c.off);
    promo_free(c.rec);
    promo_features_free(f);
    return rc;
}

int promo_features_compute(const promo_feature_input *in,
                           const promo_feature_params *params,
                           promo_features **out)
{
    return compute_at(in, params, NULL, out);
}

int promo_features_days_compute(const promo_features_days *days,
                                const promo_feature_params *params,
                                promo_features **out)
{
    *out = NULL;
    if (!days)
        return promo_fail(PROMO_EUSAGE, "features: no days handle");
    return compute_at(days->in, params, days, out);
}
