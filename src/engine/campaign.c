/* src/engine/campaign.c: targeted campaigns and the campaign file (promo/campaign.h).
 *
 * Selection: the scoring handle's top k (scorer.c), then name and location from the customers
 * table the handle's panel already holds. The file: promo_campaign_columns is the one
 * definition of its columns; the writer and the reader both derive their column lists from it.
 * The reader's checks name the offending cell as FILE:LINE:COL; where LINE and COL come from is
 * in one marked section below: csv.h's record walker over the same bytes the reader parsed.
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/csv.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/forecast.h>
#include <promo/infile.h>
#include <promo/panel.h>
#include <promo/propensity.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/timeutil.h>
#include <promo/uplift_ws.h>

#define W  PROMO_CAMPAIGN_WRITTEN
#define R  PROMO_CAMPAIGN_READ
#define RQ (PROMO_CAMPAIGN_READ | PROMO_CAMPAIGN_REQUIRED)

const promo_campaign_column promo_campaign_columns[PROMO_CAMPAIGN_COL_COUNT] = {
    [PROMO_CAMPAIGN_CUSTOMER_ID] = {"customer_id", PROMO_COL_STRING, W | RQ},
    [PROMO_CAMPAIGN_NAME] = {"name", PROMO_COL_STRING, W},
    [PROMO_CAMPAIGN_LOCATION] = {"location", PROMO_COL_STRING, W},
    [PROMO_CAMPAIGN_PROBABILITY] = {"probability", PROMO_COL_FLOAT64, W},
    [PROMO_CAMPAIGN_REASON] = {"reason", PROMO_COL_STRING, W},
    [PROMO_CAMPAIGN_PRODUCT_ID] = {"product_id", PROMO_COL_STRING, W | RQ},
    [PROMO_CAMPAIGN_DISCOUNT_PCT] = {"discount_pct", PROMO_COL_FLOAT64, W | RQ},
    [PROMO_CAMPAIGN_SEND_DAY] = {"send_day", PROMO_COL_INT64, W | RQ},
    [PROMO_CAMPAIGN_SEND_HOUR] = {"send_hour", PROMO_COL_INT64, W | RQ},
    [PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID] = {"bundle_product_id", PROMO_COL_STRING,
                                          R | PROMO_CAMPAIGN_OPTIONAL},
    [PROMO_CAMPAIGN_HOLDOUT] = {"holdout", PROMO_COL_INT64, W | R},
    [PROMO_CAMPAIGN_SEND_DATE] = {"send_date", PROMO_COL_TIMESTAMP, W},
    [PROMO_CAMPAIGN_UPLIFT] = {"uplift", PROMO_COL_FLOAT64, PROMO_CAMPAIGN_OPTIONAL},
    [PROMO_CAMPAIGN_EXPECTED_REVENUE] = {"expected_revenue", PROMO_COL_FLOAT64,
                                         PROMO_CAMPAIGN_OPTIONAL},
    [PROMO_CAMPAIGN_EXPECTED_PROFIT] = {"expected_profit", PROMO_COL_FLOAT64,
                                        PROMO_CAMPAIGN_OPTIONAL},
    [PROMO_CAMPAIGN_SEGMENT] = {"segment", PROMO_COL_STRING, PROMO_CAMPAIGN_OPTIONAL},
};

#undef W
#undef R
#undef RQ

/* ---------------------------------------------------------------- selection ---- */

int promo_campaign_best_seller(promo_store *s, char *out, size_t n)
{
    static const char *const cols[] = {"product_id"};
    promo_table *t = NULL;
    int rc = promo_store_read_columns(s, "transactions", cols, 1, &t);
    if (rc)
        return rc;
    promo_column *c = t->cols[0];
    uint32_t n_codes = promo_dict_size(c->dict);
    uint64_t *count = promo_calloc(n_codes ? n_codes : 1, sizeof *count);
    if (!count) {
        promo_table_free(t);
        return PROMO_ENOMEM;
    }
    for (size_t r = 0; r < c->n; r++)
        if (!promo_column_is_null(c, r))
            count[c->codes[r]]++;
    uint32_t best = 0;
    for (uint32_t k = 1; k < n_codes; k++)
        if (count[k] > count[best])
            best = k;
    if (!n_codes || !count[best])
        rc = promo_fail(PROMO_EINPUT, "workspace has no transactions to pick a best seller from");
    else
        snprintf(out, n, "%s", promo_dict_key(c->dict, best));
    promo_free(count);
    promo_table_free(t);
    return rc;
}

promo_campaign_params promo_campaign_params_default(void)
{
    promo_campaign_params p = {.product_id = NULL,
                               .discount_pct = 10,
                               .n_target = 50,
                               .send_day = 0,
                               .send_hour = 10,
                               .holdout_pct = 10,
                               .holdout_seed = 1};
    return p;
}

void promo_campaign_free(promo_campaign *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (c->name)
            promo_free(c->name[i]);
        if (c->location)
            promo_free(c->location[i]);
    }
    promo_free(c->name);
    promo_free(c->location);
    if (c->segment)
        for (size_t i = 0; i < c->n; i++)
            promo_free(c->segment[i]);
    promo_free(c->segment);
    promo_free(c->uplift);
    promo_free(c->expected_revenue);
    promo_free(c->expected_profit);
    promo_free(c->discount_row);
    promo_free(c->picks);
    promo_free(c->holdout);
    promo_free(c->send_day_row);
    promo_free(c->send_hour_row);
    promo_free(c->excluded);
    promo_free(c);
}

/* Name and location of each pick from the customers table ("" when unknown). The panel holds
 * the table already; otherwise it is read from the store. A workspace without a customers
 * table (Instacart, Taobao: only transactions) or without name/location columns still gets
 * its campaign, with those fields empty. */
static int customer_details(promo_scorer *h, promo_campaign *c)
{
    const promo_panel *d = promo_scorer_panel(h);
    promo_table *read = NULL;
    const promo_table *cust = d->customers;
    const promo_column *id = NULL, *name = NULL, *loc = NULL;
    if (cust) {
        id = promo_table_column(cust, "customer_id");
        name = promo_table_column(cust, "name");
        loc = promo_table_column(cust, "location");
    }
    if (!id || !name || !loc) {
        promo_store *s = promo_scorer_store(h);
        if (promo_store_has_table(s, "customers")) {
            int rc = promo_store_read_table(s, "customers", &read);
            if (rc)
                return rc;
            id = promo_table_column(read, "customer_id");
            name = promo_table_column(read, "name");
            loc = promo_table_column(read, "location");
        }
    }
    if (id && id->type != PROMO_COL_STRING)
        id = NULL;
    if (name && name->type != PROMO_COL_STRING)
        name = NULL;
    if (loc && loc->type != PROMO_COL_STRING)
        loc = NULL;
    if (!id) {
        for (size_t i = 0; i < c->n; i++)
            if (!(c->name[i] = promo_strdup("")) || !(c->location[i] = promo_strdup(""))) {
                promo_table_free(read);
                return PROMO_ENOMEM;
            }
        promo_table_free(read);
        return PROMO_OK;
    }
    uint32_t n_codes = promo_dict_size(id->dict);
    size_t *row_of = promo_mallocn(n_codes ? n_codes : 1, sizeof *row_of);
    int rc = PROMO_ENOMEM;
    if (!row_of)
        goto done;
    for (uint32_t k = 0; k < n_codes; k++)
        row_of[k] = SIZE_MAX;
    for (size_t r = 0; r < id->n; r++)
        if (row_of[id->codes[r]] == SIZE_MAX)
            row_of[id->codes[r]] = r;
    for (size_t i = 0; i < c->n; i++) {
        const char *nm = "", *lc = "", *cid = c->picks[i].customer_id;
        uint32_t k = promo_dict_find(id->dict, cid, strlen(cid));
        if (k != PROMO_DICT_NONE && row_of[k] != SIZE_MAX) {
            nm = name ? promo_column_str(name, row_of[k]) : "";
            lc = loc ? promo_column_str(loc, row_of[k]) : "";
        }
        if (!(c->name[i] = promo_strdup(nm)) || !(c->location[i] = promo_strdup(lc)))
            goto done;
    }
    rc = PROMO_OK;
done:
    promo_free(row_of);
    promo_table_free(read);
    return rc;
}

/* The holdout: a seeded random share of n picks, kept back so that the campaign's effect can be
 * measured on real data (promo measure); round(n x share) of them, chosen by a partial
 * Fisher-Yates shuffle. forecast.c draws its holdout the same way (same stream). */
static int draw_holdout(size_t n, double pct, uint64_t seed, uint8_t *flag, size_t *n_holdout)
{
    *n_holdout = (size_t)floor((double)n * pct / 100 + 0.5);
    if (!*n_holdout)
        return PROMO_OK;
    size_t *idx = promo_mallocn(n, sizeof *idx);
    if (!idx)
        return PROMO_ENOMEM;
    promo_rng r;
    promo_rng_init(&r, seed, 0x686f6c64u);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 0; i < *n_holdout; i++) {
        size_t j = i + (size_t)promo_rng_below(&r, n - i), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        flag[idx[i]] = 1;
    }
    promo_free(idx);
    return PROMO_OK;
}

static int select_targeted(promo_scorer *h,
                           const promo_campaign_params *p,
                           const promo_campaign_profiles *pr,
                           promo_campaign *c);

int promo_campaign_select(promo_scorer *h, const promo_campaign_params *p, promo_campaign **out)
{
    *out = NULL;
    if (!h || !p || !p->product_id || !*p->product_id)
        return promo_fail(PROMO_EUSAGE, "campaign: a scoring handle and a product are required");
    if (!(p->discount_pct >= 0 && p->discount_pct <= 90) || p->send_day < 0 || p->send_day > 3650 ||
        p->send_hour < 0 || p->send_hour > 23 || !(p->holdout_pct >= 0 && p->holdout_pct <= 50))
        return promo_fail(PROMO_EUSAGE,
                          "campaign: discount %g%%, send day %d, hour %d, holdout %g%%: expected "
                          "0-90, 0-3650, 0-23, 0-50",
                          p->discount_pct, (int)p->send_day, (int)p->send_hour, p->holdout_pct);
    char target[PROMO_PROP_TARGET_MAX];
    if ((size_t)snprintf(target, sizeof target, "product:%s", p->product_id) >= sizeof target)
        return promo_fail(PROMO_EUSAGE, "campaign: product id longer than %zu bytes",
                          sizeof target - 9);
    int rc = PROMO_OK;
    if (strcmp(promo_scorer_target(h), target) != 0 && (rc = promo_scorer_retarget(h, target)))
        return rc;
    promo_campaign_profiles *pr = NULL;
    promo_campaign *c = promo_calloc(1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    snprintf(c->product_id, sizeof c->product_id, "%s", p->product_id);
    c->discount_pct = p->discount_pct;
    c->send_day = p->send_day;
    c->send_hour = p->send_hour;
    const promo_campaign_profiles *use = p->profiles;
    if (p->targeting && !use) {
        if ((rc = promo_campaign_profiles_from_features(promo_scorer_features(h), p->targeting,
                                                        &pr)))
            goto fail;
        use = pr;
    }
    if (use) {
        if ((rc = select_targeted(h, p, use, c)))
            goto fail;
    } else if ((rc = promo_scorer_top(h, p->n_target, &c->picks, &c->n))) {
        goto fail;
    }
    rc = PROMO_ENOMEM;
    if (!(c->name = promo_calloc(c->n ? c->n : 1, sizeof *c->name)) ||
        !(c->location = promo_calloc(c->n ? c->n : 1, sizeof *c->location)))
        goto fail;
    if ((rc = customer_details(h, c)))
        goto fail;
    /* The holdout: a seeded random share of the picks, kept back so that the campaign's
     * effect can be measured on real data (promo measure); round(n x share) of them, chosen
     * by a partial Fisher-Yates shuffle. */
    if (!(c->holdout = promo_calloc(c->n ? c->n : 1, 1))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    if ((rc = draw_holdout(c->n, p->holdout_pct, p->holdout_seed, c->holdout, &c->n_holdout)))
        goto fail;
    c->send_date =
        (promo_scorer_as_of(h) / PROMO_SECONDS_PER_DAY + p->send_day) * PROMO_SECONDS_PER_DAY;
    for (size_t i = 0; i < c->n; i++)
        if (!c->holdout[i])
            c->expected_buyers += c->picks[i].probability;
    if (use) {
        promo_campaign_excluded *ex = c->excluded;
        size_t n_ex = c->n_excluded;
        c->excluded = NULL;
        c->n_excluded = 0;
        if ((rc = promo_campaign_schedule(c, use, promo_scorer_as_of(h), ex, n_ex))) {
            promo_free(ex);
            goto fail;
        }
    }
    promo_campaign_profiles_free(pr);
    *out = c;
    return PROMO_OK;
fail:
    promo_campaign_profiles_free(pr);
    promo_campaign_free(c);
    return rc;
}

int promo_campaign_build(promo_store *s,
                         const promo_campaign_params *p,
                         int64_t as_of,
                         promo_campaign **out)
{
    *out = NULL;
    if (!p || !p->product_id)
        return promo_fail(PROMO_EUSAGE, "campaign: a product is required");
    char target[PROMO_PROP_TARGET_MAX];
    if ((size_t)snprintf(target, sizeof target, "product:%s", p->product_id) >= sizeof target)
        return promo_fail(PROMO_EUSAGE, "campaign: product id longer than %zu bytes",
                          sizeof target - 9);
    promo_scorer *h = NULL;
    int rc = promo_scorer_open(s, target, as_of, 0, &h);
    if (!rc)
        rc = promo_campaign_select(h, p, out);
    promo_scorer_free(h);
    return rc;
}

/* ------------------------------------------------------- from a forecast ---- */

/* A row index per customer id code of column id (SIZE_MAX: none); *out: new. */
static int rows_by_code(const promo_column *id, size_t **out)
{
    uint32_t n_codes = promo_dict_size(id->dict);
    size_t *row_of = promo_mallocn(n_codes ? n_codes : 1, sizeof *row_of);
    if (!row_of)
        return PROMO_ENOMEM;
    for (uint32_t k = 0; k < n_codes; k++)
        row_of[k] = SIZE_MAX;
    for (size_t r = 0; r < id->n; r++)
        if (!promo_column_is_null(id, r) && row_of[id->codes[r]] == SIZE_MAX)
            row_of[id->codes[r]] = r;
    *out = row_of;
    return PROMO_OK;
}

static size_t row_of_id(const promo_column *id, const size_t *row_of, const char *cid)
{
    uint32_t k = promo_dict_find(id->dict, cid, strlen(cid));
    return k == PROMO_DICT_NONE ? SIZE_MAX : row_of[k];
}

/* Name and location from the customers table ("" when it or the customer is missing). */
static int forecast_details(promo_store *s, promo_campaign *c)
{
    static const char *const cols[] = {"customer_id", "name", "location"};
    promo_table *t = NULL;
    size_t *row_of = NULL;
    int rc = PROMO_OK;
    if (promo_store_has_table(s, "customers") &&
        (rc = promo_store_read_columns(s, "customers", cols, 3, &t)))
        return rc;
    if (t && t->cols[0]->type == PROMO_COL_STRING && (rc = rows_by_code(t->cols[0], &row_of)))
        goto done;
    rc = PROMO_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        const char *nm = "", *lc = "";
        size_t r = row_of ? row_of_id(t->cols[0], row_of, c->picks[i].customer_id) : SIZE_MAX;
        if (r != SIZE_MAX) {
            if (!promo_column_is_null(t->cols[1], r))
                nm = promo_column_str(t->cols[1], r);
            if (!promo_column_is_null(t->cols[2], r))
                lc = promo_column_str(t->cols[2], r);
        }
        if (!(c->name[i] = promo_strdup(nm)) || !(c->location[i] = promo_strdup(lc)))
            goto done;
    }
    rc = PROMO_OK;
done:
    promo_free(row_of);
    promo_table_free(t);
    return rc;
}

/* The stored segment of each pick, when the workspace has a `segments` table: the personas
 * method's persona first, then the tiers', then any method's persona or number. */
static int forecast_segments(promo_store *s, promo_campaign *c)
{
    static const char *const cols[] = {"customer_id", "method", "segment", "persona"};
    if (!promo_store_has_table(s, "segments"))
        return PROMO_OK;
    promo_table *t = NULL;
    int rc = promo_store_read_columns(s, "segments", cols, 4, &t);
    if (rc)
        return rc;
    const promo_column *id = t->cols[0], *me = t->cols[1], *sg = t->cols[2], *pe = t->cols[3];
    int *rank = NULL;
    size_t *best = NULL;
    if (id->type != PROMO_COL_STRING || me->type != PROMO_COL_STRING)
        goto done; /* not what segment.c writes: no segment column rather than an error */
    rc = PROMO_ENOMEM;
    uint32_t n_codes = promo_dict_size(id->dict);
    if (!(rank = promo_mallocn(n_codes ? n_codes : 1, sizeof *rank)) ||
        !(best = promo_mallocn(n_codes ? n_codes : 1, sizeof *best)) ||
        !(c->segment = promo_calloc(c->n ? c->n : 1, sizeof *c->segment)))
        goto done;
    for (uint32_t k = 0; k < n_codes; k++) {
        rank[k] = 99;
        best[k] = SIZE_MAX;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(id, r) || promo_column_is_null(me, r))
            continue;
        const char *m = promo_column_str(me, r);
        int q = !strcmp(m, "personas") ? 0 : !strcmp(m, "tiers") ? 1 : 2;
        if (q < rank[id->codes[r]]) {
            rank[id->codes[r]] = q;
            best[id->codes[r]] = r;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        char buf[64];
        const char *v = "";
        uint32_t k =
            promo_dict_find(id->dict, c->picks[i].customer_id, strlen(c->picks[i].customer_id));
        size_t r = k == PROMO_DICT_NONE ? SIZE_MAX : best[k];
        if (r != SIZE_MAX) {
            if (pe->type == PROMO_COL_STRING && !promo_column_is_null(pe, r))
                v = promo_column_str(pe, r);
            else if (!promo_column_is_null(sg, r)) {
                snprintf(buf, sizeof buf, "%.0f", promo_column_num(sg, r));
                v = buf;
            }
        }
        if (!(c->segment[i] = promo_strdup(v)))
            goto done;
    }
    rc = PROMO_OK;
done:
    promo_free(rank);
    promo_free(best);
    promo_table_free(t);
    return rc;
}

/* A campaign of picks (forecast.h) offering product at discount, or at row_discount[i] per
 * row when not NULL. */
static int from_picks(promo_store *s,
                      const char *product,
                      double discount,
                      const promo_forecast_pick *picks,
                      const double *row_discount,
                      size_t n,
                      int64_t as_of,
                      int32_t send_day,
                      int32_t send_hour,
                      promo_campaign **out)
{
    *out = NULL;
    if (send_day < 0 || send_day > 3650 || send_hour < 0 || send_hour > 23)
        return promo_fail(PROMO_EUSAGE, "campaign: send day %d, hour %d: expected 0-3650, 0-23",
                          (int)send_day, (int)send_hour);
    promo_campaign *c = promo_calloc(1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    int rc = PROMO_ENOMEM;
    size_t m = n ? n : 1;
    snprintf(c->product_id, sizeof c->product_id, "%s", product);
    c->discount_pct = discount;
    c->send_day = send_day;
    c->send_hour = send_hour;
    c->n = n;
    if (!(c->picks = promo_calloc(m, sizeof *c->picks)) ||
        !(c->name = promo_calloc(m, sizeof *c->name)) ||
        !(c->location = promo_calloc(m, sizeof *c->location)) ||
        !(c->holdout = promo_calloc(m, 1)) || !(c->uplift = promo_mallocn(m, sizeof *c->uplift)) ||
        !(c->expected_revenue = promo_mallocn(m, sizeof *c->expected_revenue)) ||
        !(c->expected_profit = promo_mallocn(m, sizeof *c->expected_profit)) ||
        (row_discount && !(c->discount_row = promo_mallocn(m, sizeof *c->discount_row))))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const promo_forecast_pick *p = &picks[i];
        double d = row_discount ? row_discount[i] : discount;
        if (row_discount)
            c->discount_row[i] = d;
        promo_campaign_pick *q = &c->picks[i];
        snprintf(q->customer_id, sizeof q->customer_id, "%s", p->customer_id);
        q->probability = p->probability;
        c->uplift[i] = p->uplift;
        c->expected_revenue[i] = p->expected_revenue;
        c->expected_profit[i] = p->expected_profit;
        c->holdout[i] = (uint8_t)p->holdout;
        c->n_holdout += p->holdout != 0;
        if (!p->holdout)
            c->expected_buyers += p->probability;
        snprintf(q->reason, sizeof q->reason,
                 "the uplift model expects %.0f%% to buy with the %.0f%% offer against %.0f%% "
                 "without it (%+.1f points), so contacting earns %.2f on average",
                 100 * p->probability, d, 100 * p->p0, 100 * p->uplift, p->expected_profit);
    }
    if ((rc = forecast_details(s, c)) || (rc = forecast_segments(s, c)))
        goto fail;
    c->send_date = (as_of / PROMO_SECONDS_PER_DAY + send_day) * PROMO_SECONDS_PER_DAY;
    *out = c;
    return PROMO_OK;
fail:
    promo_campaign_free(c);
    return rc;
}

int promo_campaign_from_forecast(promo_store *s,
                                 const promo_forecast *fc,
                                 int64_t as_of,
                                 int32_t send_day,
                                 int32_t send_hour,
                                 promo_campaign **out)
{
    return from_picks(s, fc->product_id, fc->discount_pct, fc->picks, NULL, fc->n, as_of, send_day,
                      send_hour, out);
}

int promo_campaign_from_personalized(promo_store *s,
                                     const promo_personalized *x,
                                     int64_t as_of,
                                     int32_t send_day,
                                     int32_t send_hour,
                                     promo_campaign **out)
{
    return from_picks(s, x->product_id, x->n ? x->discount_pct[0] : 0, x->picks, x->discount_pct,
                      x->n, as_of, send_day, send_hour, out);
}

void promo_campaign_default_path(promo_store *s, const char *product_id, char *out, size_t n)
{
    snprintf(out, n, "%s/campaign_%s.csv", promo_store_out_dir(s), product_id);
}

/* ------------------------------------------------ send time, fatigue, CLV ---- */

struct promo_campaign_profiles {
    promo_campaign_targeting t;
    promo_features *owned;          /* when built here */
    const promo_features *f;        /* owned or borrowed */
    promo_dict *ids;                /* customer id -> features row (the dict's index) */
    promo_send_slot *slot, pop;     /* f->n_customers */
    promo_fatigue_verdict *fatigue; /* f->n_customers */
    size_t n_fatigued;
    size_t n_contacted; /* customers with a contact before the cutoff (days_since_contact) */
    int jclv;           /* the CLV column, -1 when none */
};

promo_campaign_targeting promo_campaign_targeting_default(void)
{
    promo_campaign_targeting t = {.send_time_best = 1,
                                  .sendtime = promo_sendtime_params_default(),
                                  .fatigue = promo_fatigue_params_default(),
                                  .clv_weight = 0};
    return t;
}

void promo_campaign_profiles_free(promo_campaign_profiles *pr)
{
    if (!pr)
        return;
    promo_features_free(pr->owned);
    promo_dict_free(pr->ids);
    promo_free(pr->slot);
    promo_free(pr->fatigue);
    promo_free(pr);
}

int promo_campaign_profiles_from_features(const promo_features *f,
                                          const promo_campaign_targeting *t,
                                          promo_campaign_profiles **out)
{
    *out = NULL;
    if (!(t->clv_weight >= 0) || !isfinite(t->clv_weight))
        return promo_fail(PROMO_EUSAGE, "clv_weight: expected a number >= 0, got %g",
                          t->clv_weight);
    promo_campaign_profiles *pr = promo_calloc(1, sizeof *pr);
    if (!pr)
        return PROMO_ENOMEM;
    pr->t = *t;
    pr->f = f;
    pr->jclv = -1;
    for (size_t j = 0; j < f->n_features; j++)
        if (!strncmp(f->feature_names[j], "clv_", 4))
            pr->jclv = (int)j;
    int rc = promo_sendtime_compute(f, &t->sendtime, &pr->slot, &pr->pop);
    if (!rc)
        rc = promo_fatigue_compute(f, &t->fatigue, &pr->fatigue, &pr->n_fatigued);
    if (rc)
        goto fail;
    for (size_t i = 0; i < f->n_customers; i++)
        pr->n_contacted += isfinite(pr->fatigue[i].days_since_contact);
    rc = PROMO_ENOMEM;
    if (!(pr->ids = promo_dict_new()) || promo_dict_reserve(pr->ids, f->n_customers))
        goto fail;
    for (size_t i = 0; i < f->n_customers; i++) {
        const char *id = promo_features_customer_id(f, i);
        if (promo_dict_intern(pr->ids, id, strlen(id)) != (uint32_t)i)
            goto fail; /* ids are distinct (features.h), so only allocation fails here */
    }
    *out = pr;
    return PROMO_OK;
fail:
    promo_campaign_profiles_free(pr);
    return rc;
}

int promo_campaign_profiles_open(promo_store *s,
                                 int64_t as_of,
                                 const promo_campaign_targeting *t,
                                 promo_campaign_profiles **out)
{
    *out = NULL;
    promo_panel d;
    promo_features *f = NULL;
    int rc = promo_panel_load_tables(s, 0, &d);
    if (rc)
        return rc;
    promo_feature_params fp = promo_feature_params_default();
    fp.as_of = as_of ? as_of : promo_uplift_ws_default_as_of(&d);
    fp.products = 0;
    fp.clv = t->clv_weight > 0; /* the BG/NBD fit only when CLV is asked for */
    if (!(rc = promo_features_compute(&d.in, &fp, &f)) &&
        !(rc = promo_campaign_profiles_from_features(f, t, out))) {
        (*out)->owned = f;
        f = NULL;
    }
    promo_features_free(f);
    promo_panel_free(&d);
    return rc;
}

size_t promo_campaign_profiles_fatigued(const promo_campaign_profiles *pr)
{
    return pr ? pr->n_fatigued : 0;
}

size_t promo_campaign_profiles_contacted(const promo_campaign_profiles *pr)
{
    return pr ? pr->n_contacted : 0;
}

int promo_campaign_fatigue_applied(const promo_campaign_profiles *pr)
{
    return pr && pr->t.fatigue.mode != PROMO_FATIGUE_OFF && pr->n_contacted > 0;
}

/* The features row of a customer, or SIZE_MAX. */
static size_t profile_row(const promo_campaign_profiles *pr, const char *id)
{
    uint32_t k = promo_dict_find(pr->ids, id, strlen(id));
    return k == PROMO_DICT_NONE ? SIZE_MAX : k;
}

int promo_campaign_profile(const promo_campaign_profiles *pr,
                           const char *customer_id,
                           promo_send_slot *slot,
                           promo_fatigue_verdict *verdict,
                           double *clv)
{
    size_t r = profile_row(pr, customer_id);
    if (slot)
        *slot = r == SIZE_MAX ? pr->pop : pr->slot[r];
    if (verdict) {
        promo_fatigue_verdict none = {0, NAN, NAN, NAN};
        *verdict = r == SIZE_MAX ? none : pr->fatigue[r];
    }
    if (clv)
        *clv = r == SIZE_MAX || pr->jclv < 0 ? NAN
                                             : pr->f->X[r * pr->f->n_features + (size_t)pr->jclv];
    return r != SIZE_MAX;
}

int promo_campaign_suppressed(const promo_campaign_profiles *pr, const char *customer_id)
{
    promo_fatigue_verdict v;
    return pr && pr->t.fatigue.mode == PROMO_FATIGUE_SUPPRESS &&
           promo_campaign_profile(pr, customer_id, NULL, &v, NULL) && v.why != 0;
}

/* Whether fatigue leaves this customer out (suppress mode and fatigued). */
static int suppressed(const promo_campaign_profiles *pr, const char *id, promo_fatigue_verdict *v)
{
    if (!pr) {
        memset(v, 0, sizeof *v);
        return 0;
    }
    promo_campaign_profile(pr, id, NULL, v, NULL);
    return pr->t.fatigue.mode == PROMO_FATIGUE_SUPPRESS && v->why != 0;
}

/* Append a suppressed customer to *ex (grown by doubling). */
static int push_excluded(promo_campaign_excluded **ex,
                         size_t *n,
                         size_t *cap,
                         const char *id,
                         double probability,
                         double profit,
                         const promo_fatigue_verdict *v,
                         int32_t day)
{
    if (*n == *cap && promo_grow((void **)ex, cap, *n + 1, sizeof **ex))
        return PROMO_ENOMEM;
    promo_campaign_excluded *e = &(*ex)[(*n)++];
    memset(e, 0, sizeof *e);
    snprintf(e->customer_id, sizeof e->customer_id, "%s", id);
    e->probability = probability;
    e->expected_profit = profit;
    e->verdict = *v;
    e->send_day = day;
    return PROMO_OK;
}

promo_campaign_refine_params promo_campaign_refine_params_default(void)
{
    promo_campaign_refine_params p = {.n_target = 50,
                                      .budget = INFINITY,
                                      .positive_only = 0,
                                      .holdout_pct = 0,
                                      .holdout_seed = 1,
                                      .interval = 0.90};
    return p;
}

/* The figures of forecast.h over the contacted picks (holdout 0), each at discount disc[j] (or
 * d for all), for a product of price and cost. Sums in pick order, as forecast.c adds them. */
static promo_forecast_figures figures_of(const promo_forecast_pick *pk,
                                         size_t n,
                                         const double *disc,
                                         double d_all,
                                         double price,
                                         double cost,
                                         double level)
{
    double conv = 0, inc_conv = 0, inc_rev = 0, dcost = 0, ccost = 0, profit = 0, var = 0;
    size_t contacts = 0;
    for (size_t j = 0; j < n; j++) {
        const promo_forecast_pick *p = &pk[j];
        if (p->holdout)
            continue;
        double d = (disc ? disc[j] : d_all) / 100.0, m1 = price * (1.0 - d) - cost,
               m0 = price - cost, p0 = p->p0, p1 = p->probability, c = p->contact_cost;
        contacts++;
        conv += p1;
        inc_conv += p1 - p0;
        inc_rev += p1 * price * (1.0 - d) - p0 * price;
        dcost += p1 * price * d;
        ccost += c;
        profit += p1 * m1 - p0 * m0 - c;
        double q1 = p1 < 0 ? 0 : p1 > 1 ? 1 : p1, q0 = p0 < 0 ? 0 : p0 > 1 ? 1 : p0;
        var += q1 * (1 - q1) * m1 * m1 + q0 * (1 - q0) * m0 * m0;
    }
    promo_forecast_figures g;
    memset(&g, 0, sizeof g);
    g.contacts = contacts;
    g.expected_conversions = conv;
    g.incremental_conversions = inc_conv;
    g.incremental_revenue = inc_rev;
    g.discount_cost = dcost;
    g.contact_cost = ccost;
    g.incremental_profit = profit;
    double costs = dcost + ccost;
    g.roi = costs > 0 ? profit / costs : NAN;
    g.profit_var = var;
    g.interval = level;
    double half = gsl_cdf_ugaussian_Pinv(0.5 + level / 2) * sqrt(var > 0 ? var : 0);
    g.profit_lo = profit - half;
    g.profit_hi = profit + half;
    return g;
}

typedef struct scored {
    double key;
    size_t pos;
} scored;

static int by_key_desc(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The positions of picks[0..n) not suppressed, in the order of expected profit + w x CLV
 * (stable), into ord (n entries; *m kept); the suppressed go to ex with their position in
 * spos (the caller keeps those ranked above its last kept one). */
static int rank_kept(const promo_campaign_profiles *pr,
                     const promo_forecast_pick *pk,
                     size_t n,
                     int by_clv,
                     size_t *ord,
                     size_t *m,
                     promo_campaign_excluded **ex,
                     size_t **spos,
                     size_t *n_ex)
{
    size_t cap = 0, scap = 0, k = 0;
    scored *sc = promo_mallocn(n ? n : 1, sizeof *sc);
    if (!sc)
        return PROMO_ENOMEM;
    double w = pr ? pr->t.clv_weight : 0;
    for (size_t j = 0; j < n; j++) {
        promo_fatigue_verdict v;
        if (suppressed(pr, pk[j].customer_id, &v)) {
            if (*n_ex == scap && promo_grow((void **)spos, &scap, *n_ex + 1, sizeof **spos))
                goto oom;
            (*spos)[*n_ex] = j;
            if (push_excluded(ex, n_ex, &cap, pk[j].customer_id, pk[j].probability,
                              pk[j].expected_profit, &v, -1))
                goto oom;
            continue;
        }
        double clv = 0;
        if (by_clv && w > 0) {
            promo_campaign_profile(pr, pk[j].customer_id, NULL, NULL, &clv);
            if (!isfinite(clv))
                clv = 0;
        }
        sc[k].key = by_clv ? pk[j].expected_profit + w * clv : 0;
        sc[k].pos = j;
        k++;
    }
    if (by_clv && w > 0)
        qsort(sc, k, sizeof *sc, by_key_desc);
    for (size_t j = 0; j < k; j++)
        ord[j] = sc[j].pos;
    *m = k;
    promo_free(sc);
    return PROMO_OK;
oom:
    promo_free(sc);
    return PROMO_ENOMEM;
}

/* Keep of ex only the suppressed ranked above position last (in the input ranking): the ones
 * that took no place of the campaign were never going to be contacted. */
static void
trim_excluded(promo_campaign_excluded *ex, const size_t *spos, size_t *n_ex, size_t last)
{
    size_t k = 0;
    for (size_t j = 0; j < *n_ex; j++)
        if (spos[j] < last)
            ex[k++] = ex[j];
    *n_ex = k;
}

int promo_campaign_refine(const promo_campaign_profiles *pr,
                          const promo_forecast *all,
                          const promo_campaign_refine_params *rp,
                          promo_forecast **out,
                          promo_campaign_excluded **excluded,
                          size_t *n_excluded)
{
    *out = NULL;
    *excluded = NULL;
    *n_excluded = 0;
    if (pr && pr->t.clv_weight > 0 && all->rank_by != PROMO_FORECAST_RANK_PROFIT)
        return promo_fail(PROMO_EUSAGE,
                          "clv_weight: goes with the ranking by expected profit, "
                          "not by %s",
                          promo_forecast_rank_name(all->rank_by));
    if (!(rp->holdout_pct >= 0 && rp->holdout_pct <= 50) || !(rp->budget >= 0) ||
        !(rp->interval >= 0.5 && rp->interval <= 0.999))
        return promo_fail(PROMO_EUSAGE,
                          "campaign: holdout %g%% (0-50), budget %g (>= 0), "
                          "interval %g (0.5-0.999)",
                          rp->holdout_pct, rp->budget, rp->interval);
    size_t n = all->n, m = 0, *ord = promo_mallocn(n ? n : 1, sizeof *ord), *spos = NULL;
    promo_forecast *fc = promo_calloc(1, sizeof *fc);
    int rc = PROMO_ENOMEM;
    if (!ord || !fc)
        goto fail;
    *fc = *all;
    fc->picks = NULL;
    if ((rc = rank_kept(pr, all->picks, n, 1, ord, &m, excluded, &spos, n_excluded)))
        goto fail;
    rc = PROMO_ENOMEM;
    size_t want = rp->n_target && rp->n_target < m ? rp->n_target : m, k = 0, last = 0;
    double spent = 0, d = all->discount_pct / 100.0;
    int by_budget = 0;
    for (; k < want; k++) {
        const promo_forecast_pick *p = &all->picks[ord[k]];
        double sp = p->probability * all->price * d + p->contact_cost;
        if (rp->positive_only && !(p->expected_profit > 0))
            break;
        if (spent + sp > rp->budget) {
            by_budget = 1;
            break;
        }
        spent += sp;
        if (ord[k] + 1 > last)
            last = ord[k] + 1;
    }
    fc->n_target = want;
    fc->budget = rp->budget;
    fc->budget_bound = by_budget;
    fc->n = k;
    if (!(fc->picks = promo_calloc(k ? k : 1, sizeof *fc->picks)))
        goto fail;
    for (size_t j = 0; j < k; j++) {
        fc->picks[j] = all->picks[ord[j]];
        fc->picks[j].holdout = 0;
    }
    uint8_t *flag = promo_calloc(k ? k : 1, 1);
    if (!flag)
        goto fail;
    if ((rc = draw_holdout(k, rp->holdout_pct, rp->holdout_seed, flag, &fc->n_holdout))) {
        promo_free(flag);
        goto fail;
    }
    for (size_t j = 0; j < k; j++)
        fc->picks[j].holdout = flag[j];
    promo_free(flag);
    fc->figures =
        figures_of(fc->picks, k, NULL, all->discount_pct, all->price, all->cost, rp->interval);
    /* the suppressed that the ranking reached: above the last customer kept */
    trim_excluded(*excluded, spos, n_excluded, last);
    promo_free(spos);
    promo_free(ord);
    *out = fc;
    return PROMO_OK;
fail:
    promo_free(spos);
    promo_free(ord);
    promo_forecast_free(fc);
    promo_free(*excluded);
    *excluded = NULL;
    *n_excluded = 0;
    return rc;
}

int promo_campaign_refine_personalized(const promo_campaign_profiles *pr,
                                       const promo_personalized *x,
                                       double price,
                                       double cost,
                                       size_t max_contacts,
                                       double interval,
                                       promo_personalized **out,
                                       promo_campaign_excluded **excluded,
                                       size_t *n_excluded)
{
    *out = NULL;
    *excluded = NULL;
    *n_excluded = 0;
    size_t n = x->n, m = 0, *ord = promo_mallocn(n ? n : 1, sizeof *ord), *spos = NULL;
    promo_personalized *y = promo_calloc(1, sizeof *y);
    int rc = PROMO_ENOMEM;
    if (!ord || !y)
        goto fail;
    *y = *x;
    y->picks = NULL;
    y->discount_pct = NULL;
    if ((rc = rank_kept(pr, x->picks, n, 1, ord, &m, excluded, &spos, n_excluded)))
        goto fail;
    rc = PROMO_ENOMEM;
    size_t k = max_contacts && max_contacts < m ? max_contacts : m;
    if (!(y->picks = promo_calloc(k ? k : 1, sizeof *y->picks)) ||
        !(y->discount_pct = promo_mallocn(k ? k : 1, sizeof *y->discount_pct)))
        goto fail;
    /* The rungs: the input's distinct discounts, ascending, are its rungs of nonzero count in
     * order (the ladder itself is not in the result). */
    double dv[20];
    size_t nd = 0, rung_of[20], nr = 0, last = 0;
    for (size_t j = 0; j < n; j++) {
        size_t q = 0;
        while (q < nd && dv[q] != x->discount_pct[j])
            q++;
        if (q == nd && nd < 20)
            dv[nd++] = x->discount_pct[j];
    }
    for (size_t a = 1; a < nd; a++) /* insertion sort: at most 20 */
        for (size_t b = a; b > 0 && dv[b - 1] > dv[b]; b--) {
            double t = dv[b];
            dv[b] = dv[b - 1];
            dv[b - 1] = t;
        }
    for (size_t r = 0; r < 20; r++)
        if (x->n_by_rung[r] && nr < 20)
            rung_of[nr++] = r;
    memset(y->n_by_rung, 0, sizeof y->n_by_rung);
    for (size_t j = 0; j < k; j++) {
        y->picks[j] = x->picks[ord[j]];
        y->discount_pct[j] = x->discount_pct[ord[j]];
        for (size_t q = 0; q < nd && q < nr; q++)
            if (dv[q] == y->discount_pct[j])
                y->n_by_rung[rung_of[q]]++;
        if (ord[j] + 1 > last)
            last = ord[j] + 1;
    }
    y->n = k;
    y->figures = figures_of(y->picks, k, y->discount_pct, 0, price, cost, interval);
    y->gap = y->upper_bound - y->figures.incremental_profit;
    trim_excluded(*excluded, spos, n_excluded, last);
    promo_free(spos);
    promo_free(ord);
    *out = y;
    return PROMO_OK;
fail:
    promo_free(spos);
    promo_free(ord);
    promo_personalized_free(y);
    promo_free(*excluded);
    *excluded = NULL;
    *n_excluded = 0;
    return rc;
}

/* Append ", " + text to a reason (cut at the buffer's end). */
static void reason_append(char *r, size_t n, const char *text)
{
    size_t k = strlen(r);
    if (k + 1 < n)
        snprintf(r + k, n - k, "%s%s", k ? "; " : "", text);
}

int promo_campaign_schedule(promo_campaign *c,
                            const promo_campaign_profiles *pr,
                            int64_t as_of,
                            promo_campaign_excluded *excluded,
                            size_t n_excluded)
{
    size_t n = c->n, m = n ? n : 1;
    int32_t *day = promo_mallocn(m, sizeof *day), *hour = promo_mallocn(m, sizeof *hour);
    promo_campaign_excluded *ex = promo_mallocn(n_excluded + m, sizeof *ex);
    if (!day || !hour || !ex) {
        promo_free(day);
        promo_free(hour);
        promo_free(ex);
        return PROMO_ENOMEM;
    }
    if (n_excluded)
        memcpy(ex, excluded, n_excluded * sizeof *ex);
    promo_free(excluded);
    size_t n_ex = n_excluded, cooled = 0, match = 0;
    promo_campaign_targeting fixed = promo_campaign_targeting_default();
    fixed.send_time_best = 0;
    fixed.fatigue.mode = PROMO_FATIGUE_OFF;
    const promo_campaign_targeting *tg = pr ? &pr->t : &fixed;
    const promo_fatigue_params *fp = &tg->fatigue;
    int64_t day0 = as_of / PROMO_SECONDS_PER_DAY;
    for (size_t i = 0; i < n; i++) {
        promo_campaign_pick *q = &c->picks[i];
        promo_send_slot sl = {0};
        promo_fatigue_verdict v = {0, NAN, NAN, NAN};
        if (pr)
            promo_campaign_profile(pr, q->customer_id, &sl, &v, NULL);
        int32_t d = c->send_day;
        char text[256], why[160];
        if (fp->mode == PROMO_FATIGUE_COOLDOWN && v.why) {
            int32_t dc = promo_fatigue_cooldown_day(&v, fp, d);
            if (dc > d) {
                promo_fatigue_describe(&v, fp, why, sizeof why);
                snprintf(text, sizeof text, "cooled down to day %d (%s)", (int)dc, why);
                reason_append(q->reason, sizeof q->reason, text);
                promo_campaign_excluded *e = &ex[n_ex++];
                memset(e, 0, sizeof *e);
                snprintf(e->customer_id, sizeof e->customer_id, "%s", q->customer_id);
                e->probability = q->probability;
                e->expected_profit = c->expected_profit ? c->expected_profit[i] : NAN;
                e->verdict = v;
                e->send_day = dc;
                cooled++;
                d = dc;
            }
        }
        if (tg->send_time_best) {
            d += promo_sendtime_days_to((day0 + d) * PROMO_SECONDS_PER_DAY, sl.weekday);
            if (d > 3650)
                d = 3650;
            day[i] = d;
            hour[i] = sl.hour;
            match += !sl.population;
            promo_sendtime_phrase(&sl, why, sizeof why);
            snprintf(text, sizeof text, "send %s %02d:00: %s", promo_weekday_name(sl.weekday),
                     (int)sl.hour, why);
            reason_append(q->reason, sizeof q->reason, text);
        } else {
            day[i] = d;
            hour[i] = c->send_hour;
        }
    }
    promo_free(c->send_day_row);
    promo_free(c->send_hour_row);
    promo_free(c->excluded);
    c->send_day_row = day;
    c->send_hour_row = hour;
    c->send_time_best = tg->send_time_best;
    c->n_send_match = match;
    c->fatigue_mode = fp->mode;
    c->n_fatigued = promo_campaign_profiles_fatigued(pr);
    c->n_contacted = promo_campaign_profiles_contacted(pr);
    c->n_suppressed = n_excluded;
    c->n_cooled = cooled;
    c->n_excluded = n_ex;
    c->excluded = ex;
    return PROMO_OK;
}

int promo_campaign_write_excluded(const promo_campaign *c, const char *path)
{
    static const struct {
        const char *name;
        promo_col_type type;
    } cols[] = {{"customer_id", PROMO_COL_STRING},
                {"action", PROMO_COL_STRING},
                {"send_day", PROMO_COL_INT64},
                {"probability", PROMO_COL_FLOAT64},
                {"expected_profit", PROMO_COL_FLOAT64},
                {"contacts_30d", PROMO_COL_FLOAT64},
                {"response_trend", PROMO_COL_FLOAT64},
                {"days_since_contact", PROMO_COL_FLOAT64},
                {"reason", PROMO_COL_STRING}};
    enum { NC = sizeof cols / sizeof cols[0] };
    promo_table *t = promo_table_new("excluded");
    promo_column *col[NC];
    int rc = PROMO_ENOMEM;
    if (!t)
        return rc;
    for (size_t k = 0; k < NC; k++)
        if ((rc = promo_table_add_column(t, cols[k].name, cols[k].type, &col[k])))
            goto done;
    for (size_t i = 0; i < c->n_excluded; i++) {
        const promo_campaign_excluded *e = &c->excluded[i];
        const char *act = e->send_day < 0 ? "suppressed" : "cooled down";
        char why[160];
        promo_fatigue_describe(&e->verdict, NULL, why, sizeof why);
        if ((rc = promo_column_push_str(col[0], e->customer_id, strlen(e->customer_id))) ||
            (rc = promo_column_push_str(col[1], act, strlen(act))) ||
            (rc = promo_column_push_i64(col[2], e->send_day)) ||
            (rc = promo_column_push_f64(col[3], e->probability)) ||
            (rc = promo_column_push_f64(col[4], e->expected_profit)) ||
            (rc = promo_column_push_f64(col[5], e->verdict.contacts_30d)) ||
            (rc = promo_column_push_f64(col[6], e->verdict.response_trend)) ||
            (rc = promo_column_push_f64(col[7], e->verdict.days_since_contact)) ||
            (rc = promo_column_push_str(col[8], why, strlen(why))))
            goto done;
    }
    if (!(rc = promo_table_seal(t)))
        rc = promo_csv_write(path, t);
done:
    promo_table_free(t);
    return rc;
}

/* The propensity ranking without the fatigued (promo_campaign_select with targeting): every
 * customer scored, ranked as promo_scorer_top ranks them, the suppressed skipped (and listed
 * while the campaign is not full), the kept explained. */
static int select_targeted(promo_scorer *h,
                           const promo_campaign_params *p,
                           const promo_campaign_profiles *pr,
                           promo_campaign *c)
{
    if (pr->t.clv_weight > 0)
        return promo_fail(PROMO_EUSAGE, "clv_weight: the propensity ranking has no expected "
                                        "profit to add CLV to (use the uplift forecaster)");
    promo_prop_scores *sc = NULL;
    promo_prop_explanation **ex = NULL;
    scored *rk = NULL;
    const char **ids = NULL;
    size_t cap = 0, m = 0;
    int rc = promo_scorer_score(h, &sc);
    if (rc)
        return rc;
    size_t want = p->n_target < sc->n ? p->n_target : sc->n;
    rc = PROMO_ENOMEM;
    if (!(rk = promo_mallocn(sc->n ? sc->n : 1, sizeof *rk)) ||
        !(ids = promo_mallocn(want ? want : 1, sizeof *ids)) ||
        !(c->picks = promo_calloc(want ? want : 1, sizeof *c->picks)))
        goto done;
    for (size_t i = 0; i < sc->n; i++) {
        rk[i].key = sc->probability[i];
        rk[i].pos = i;
    }
    qsort(rk, sc->n, sizeof *rk, by_key_desc);
    for (size_t j = 0; j < sc->n && m < want; j++) {
        const char *id = sc->customer_id[rk[j].pos];
        promo_fatigue_verdict v;
        if (suppressed(pr, id, &v)) {
            if (push_excluded(&c->excluded, &c->n_excluded, &cap, id, rk[j].key, NAN, &v, -1))
                goto done;
            continue;
        }
        snprintf(c->picks[m].customer_id, sizeof c->picks[m].customer_id, "%s", id);
        c->picks[m].probability = rk[j].key;
        ids[m] = c->picks[m].customer_id;
        m++;
    }
    c->n = m;
    if ((rc = promo_scorer_explain(h, ids, m, &ex)))
        goto done;
    for (size_t j = 0; j < m; j++)
        if (ex[j])
            promo_explain_line(ex[j], c->picks[j].reason, sizeof c->picks[j].reason);
    rc = PROMO_OK;
done:
    if (ex)
        for (size_t j = 0; j < m; j++)
            promo_prop_explanation_free(ex[j]);
    promo_free(ex);
    promo_free(ids);
    promo_free(rk);
    promo_prop_scores_free(sc);
    return rc;
}

/* ---------------------------------------------------------------- writer ---- */

/* Append row i of c to column k. */
static int push_cell(promo_column *col, const promo_campaign *c, size_t i, int k)
{
    const char *s = NULL;
    switch (k) {
    case PROMO_CAMPAIGN_CUSTOMER_ID:
        s = c->picks[i].customer_id;
        break;
    case PROMO_CAMPAIGN_NAME:
        s = c->name[i];
        break;
    case PROMO_CAMPAIGN_LOCATION:
        s = c->location[i];
        break;
    case PROMO_CAMPAIGN_REASON:
        s = c->picks[i].reason;
        break;
    case PROMO_CAMPAIGN_PRODUCT_ID:
        s = c->product_id;
        break;
    case PROMO_CAMPAIGN_PROBABILITY:
        return promo_column_push_f64(col, c->picks[i].probability);
    case PROMO_CAMPAIGN_DISCOUNT_PCT:
        return promo_column_push_f64(col, c->discount_row ? c->discount_row[i] : c->discount_pct);
    case PROMO_CAMPAIGN_SEND_DAY:
        return promo_column_push_i64(col, c->send_day_row ? c->send_day_row[i] : c->send_day);
    case PROMO_CAMPAIGN_SEND_HOUR:
        return promo_column_push_i64(col, c->send_hour_row ? c->send_hour_row[i] : c->send_hour);
    case PROMO_CAMPAIGN_HOLDOUT:
        return promo_column_push_i64(col, c->holdout ? c->holdout[i] : 0);
    case PROMO_CAMPAIGN_SEND_DATE: /* the row's day counted from the campaign's start */
        return promo_column_push_i64(
            col,
            c->send_date + (c->send_day_row ? (int64_t)(c->send_day_row[i] - c->send_day) : 0) *
                               PROMO_SECONDS_PER_DAY);
    case PROMO_CAMPAIGN_UPLIFT:
        return promo_column_push_f64(col, c->uplift[i]);
    case PROMO_CAMPAIGN_EXPECTED_REVENUE:
        return promo_column_push_f64(col, c->expected_revenue[i]);
    case PROMO_CAMPAIGN_EXPECTED_PROFIT:
        return promo_column_push_f64(col, c->expected_profit[i]);
    case PROMO_CAMPAIGN_SEGMENT:
        s = c->segment[i] ? c->segment[i] : "";
        break;
    case PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID:
        s = c->bundle.product_id;
        break;
    default:
        return promo_fail(PROMO_EUSAGE, "campaign: column %d is not written", k);
    }
    return promo_column_push_str(col, s, strlen(s));
}

/* Whether c carries optional column k. */
static int optional_present(const promo_campaign *c, int k)
{
    if (!(promo_campaign_columns[k].flags & PROMO_CAMPAIGN_OPTIONAL))
        return 0;
    switch (k) {
    case PROMO_CAMPAIGN_UPLIFT:
        return c->uplift != NULL;
    case PROMO_CAMPAIGN_EXPECTED_REVENUE:
        return c->expected_revenue != NULL;
    case PROMO_CAMPAIGN_EXPECTED_PROFIT:
        return c->expected_profit != NULL;
    case PROMO_CAMPAIGN_SEGMENT:
        return c->segment != NULL;
    case PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID:
        return c->bundle.product_id[0] != '\0';
    default:
        return 0;
    }
}

int promo_campaign_write(const promo_campaign *c, const char *path)
{
    promo_table *t = promo_table_new("campaign");
    int rc = PROMO_ENOMEM;
    if (!t)
        return rc;
    for (int k = 0; k < PROMO_CAMPAIGN_COL_COUNT; k++) {
        const promo_campaign_column *cc = &promo_campaign_columns[k];
        promo_column *col = NULL;
        if (!(cc->flags & PROMO_CAMPAIGN_WRITTEN) && !(optional_present(c, k)))
            continue;
        if ((rc = promo_table_add_column(t, cc->name, cc->type, &col)))
            goto done;
        for (size_t i = 0; i < c->n; i++)
            if ((rc = push_cell(col, c, i, k)))
                goto done;
    }
    if (!(rc = promo_table_seal(t)))
        rc = promo_csv_write(path, t);
done:
    promo_table_free(t);
    return rc;
}

/* ---------------------------------------------------------------- reader ---- */

struct promo_campaign_file {
    char *path;                        /* as given: messages name it */
    promo_table *t;                    /* the READ columns, typed */
    int pos[PROMO_CAMPAIGN_COL_COUNT]; /* 1-based header field of each column */
    uint64_t *line;                    /* t->n_rows: physical line where each row starts */
};

/* ---- Where a cell is in the file: the one place that maps rows and columns to FILE:LINE:COL.
 * The reader parses the file's bytes once into the table, and csv.h's record walker goes over
 * the same bytes for positions, so the two agree by construction: table row r is the walker's
 * record r + 1 (the reader keeps every record when no bad-row policy is set; blank lines and a
 * BOM are skipped alike), LINE is that record's first physical line (a quoted field may span
 * lines), COL is the column's field number in the header. */

/* f->pos from the header record and f->line from the data records of data[0..n). */
static int locate(promo_campaign_file *f, const char *data, size_t n)
{
    for (int k = 0, j = 1; k < PROMO_CAMPAIGN_COL_COUNT; k++)
        f->pos[k] = promo_campaign_columns[k].flags & PROMO_CAMPAIGN_READ ? j++ : 0;
    size_t rows = f->t->n_rows;
    promo_csv_options co = promo_csv_options_default();
    co.delimiter = ',';
    promo_csv_walker *w = NULL;
    int rc = promo_csv_walker_new(data, n, &co, &w);
    if (rc)
        return rc;
    if (!(f->line = promo_mallocn(rows ? rows : 1, sizeof *f->line))) {
        promo_csv_walker_free(w);
        return PROMO_ENOMEM;
    }
    promo_csv_record rec;
    if (promo_csv_walker_next(w, &rec))
        for (size_t i = 0; i < rec.n_stored; i++) {
            const promo_csv_field *fd = &rec.fields[i];
            char name[256];
            if (fd->n >= sizeof name)
                continue;
            size_t m = promo_csv_field_unescape(fd, name), s0 = 0;
            while (s0 < m && (name[s0] == ' ' || name[s0] == '\t'))
                s0++;
            while (m > s0 && (name[m - 1] == ' ' || name[m - 1] == '\t'))
                m--;
            name[m] = 0;
            for (int k = 0; k < PROMO_CAMPAIGN_COL_COUNT; k++)
                if ((promo_campaign_columns[k].flags & PROMO_CAMPAIGN_READ) &&
                    !strcmp(name + s0, promo_campaign_columns[k].name))
                    f->pos[k] = (int)i + 1;
        }
    size_t r = 0;
    for (; r < rows && promo_csv_walker_next(w, &rec); r++)
        f->line[r] = rec.line;
    for (; r < rows; r++) /* cannot happen while reader and walker agree; stay defined */
        f->line[r] = (uint64_t)r + 2;
    promo_csv_walker_free(w);
    return PROMO_OK;
}

/* ---- end of the FILE:LINE:COL section. */

void promo_campaign_file_free(promo_campaign_file *f)
{
    if (!f)
        return;
    promo_free(f->path);
    promo_free(f->line);
    promo_table_free(f->t);
    promo_free(f);
}

int promo_campaign_read(const char *path, promo_campaign_file **out)
{
    *out = NULL;
    promo_csv_column cols[PROMO_CAMPAIGN_COL_COUNT];
    size_t n = 0;
    for (int k = 0; k < PROMO_CAMPAIGN_COL_COUNT; k++) {
        const promo_campaign_column *cc = &promo_campaign_columns[k];
        if (cc->flags & PROMO_CAMPAIGN_READ)
            cols[n++] =
                (promo_csv_column){cc->name, cc->type, (cc->flags & PROMO_CAMPAIGN_REQUIRED) != 0};
    }
    promo_csv_options co = promo_csv_options_default();
    co.columns = cols;
    co.n_columns = n;
    co.delimiter = ',';
    char *data = NULL;
    size_t n_data = 0;
    /* infile.h: no blocking open (a FIFO with no writer), a pipe read on purpose */
    int rc = promo_infile_read(path, PROMO_INFILE_STREAM, &data, &n_data);
    if (rc)
        return rc;
    promo_campaign_file *f = promo_calloc(1, sizeof *f);
    if (!f)
        rc = PROMO_ENOMEM;
    else if (!(rc = promo_csv_read_buffer(data, n_data, path, &co, &f->t, NULL)) &&
             !(f->path = promo_strdup(path)))
        rc = PROMO_ENOMEM;
    if (!rc)
        rc = locate(f, data, n_data);
    promo_free(data);
    if (rc) {
        promo_campaign_file_free(f);
        return rc;
    }
    *out = f;
    return PROMO_OK;
}

size_t promo_campaign_file_rows(const promo_campaign_file *f)
{
    return f->t->n_rows;
}

size_t promo_campaign_file_contacts(const promo_campaign_file *f)
{
    const promo_column *hc =
        promo_table_column(f->t, promo_campaign_columns[PROMO_CAMPAIGN_HOLDOUT].name);
    size_t n = f->t->n_rows;
    for (size_t r = 0; hc && r < f->t->n_rows; r++)
        n -= !promo_column_is_null(hc, r) && hc->i64[r] == 1;
    return n;
}

int promo_campaign_file_offers(const promo_campaign_file *f,
                               const promo_world *w,
                               promo_offer **out)
{
    *out = NULL;
    const promo_table *t = f->t;
#define COL(k) promo_table_column(t, promo_campaign_columns[k].name)
    const promo_column *cc = COL(PROMO_CAMPAIGN_CUSTOMER_ID), *pc = COL(PROMO_CAMPAIGN_PRODUCT_ID),
                       *dc = COL(PROMO_CAMPAIGN_DISCOUNT_PCT), *sd = COL(PROMO_CAMPAIGN_SEND_DAY),
                       *sh = COL(PROMO_CAMPAIGN_SEND_HOUR),
                       *bc = COL(PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID),
                       *hc = COL(PROMO_CAMPAIGN_HOLDOUT);
#undef COL
    promo_offer *o = promo_mallocn(t->n_rows ? t->n_rows : 1, sizeof *o);
    if (!o)
        return PROMO_ENOMEM;
    size_t k = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *cid = promo_column_str(cc, r), *pid = promo_column_str(pc, r);
        uint32_t ci = promo_world_customer_index(w, cid);
        uint32_t pi = promo_world_product_index(w, pid);
        int bad = -1; /* the offending column, a promo_campaign_col */
        char what[300];
        if (ci == PROMO_SYNTH_NONE) {
            bad = PROMO_CAMPAIGN_CUSTOMER_ID;
            snprintf(what, sizeof what, "unknown customer \"%.200s\"", cid);
        } else if (pi == PROMO_SYNTH_NONE) {
            bad = PROMO_CAMPAIGN_PRODUCT_ID;
            snprintf(what, sizeof what, "unknown product \"%.200s\"", pid);
        } else if (promo_column_is_null(dc, r) || !(dc->f64[r] >= 0 && dc->f64[r] <= 90)) {
            bad = PROMO_CAMPAIGN_DISCOUNT_PCT;
            if (promo_column_is_null(dc, r))
                snprintf(what, sizeof what,
                         "expected a discount from 0 to 90 (percent), got nothing");
            else
                snprintf(what, sizeof what, "expected a discount from 0 to 90 (percent), got %g",
                         dc->f64[r]);
        } else if (promo_column_is_null(sd, r) || sd->i64[r] < 0 || sd->i64[r] > 3650) {
            bad = PROMO_CAMPAIGN_SEND_DAY;
            snprintf(what, sizeof what, "expected a day from 0 to 3650, got %lld",
                     promo_column_is_null(sd, r) ? -1LL : (long long)sd->i64[r]);
        } else if (promo_column_is_null(sh, r) || sh->i64[r] < 0 || sh->i64[r] > 23) {
            bad = PROMO_CAMPAIGN_SEND_HOUR;
            snprintf(what, sizeof what, "expected an hour from 0 to 23, got %lld",
                     promo_column_is_null(sh, r) ? -1LL : (long long)sh->i64[r]);
        }
        if (bad < 0 && hc && !promo_column_is_null(hc, r) && hc->i64[r] != 0 && hc->i64[r] != 1) {
            bad = PROMO_CAMPAIGN_HOLDOUT;
            snprintf(what, sizeof what, "expected 0 or 1 (1: kept back, not sent), got %lld",
                     (long long)hc->i64[r]);
        }
        uint32_t bi = PROMO_SYNTH_NONE;
        if (bad < 0 && bc && !promo_column_is_null(bc, r) && *promo_column_str(bc, r)) {
            bi = promo_world_product_index(w, promo_column_str(bc, r));
            if (bi == PROMO_SYNTH_NONE) {
                bad = PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID;
                snprintf(what, sizeof what, "unknown product \"%.200s\"", promo_column_str(bc, r));
            }
        }
        if (bad >= 0) {
            promo_free(o);
            return promo_fail(PROMO_EINPUT, "%s:%llu:%d: column '%s': %s", f->path,
                              (unsigned long long)f->line[r], f->pos[bad],
                              promo_campaign_columns[bad].name, what);
        }
        if (hc && !promo_column_is_null(hc, r) && hc->i64[r] == 1)
            continue; /* kept back: not an offer */
        o[k++] = (promo_offer){ci, pi, dc->f64[r], (int32_t)sd->i64[r], (int32_t)sh->i64[r], bi};
    }
    *out = o;
    return PROMO_OK;
}
