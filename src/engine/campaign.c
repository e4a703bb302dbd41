/* src/engine/campaign.c: targeted campaigns and the campaign file (promo/campaign.h).
 *
 * Selection: the scoring handle's top k (scorer.c), then name and location from the customers
 * table the handle's panel already holds. The file: promo_campaign_columns is the one
 * definition of its columns; the writer and the reader both derive their column lists from it.
 * The reader's checks name the offending cell as FILE:LINE:COL; where LINE and COL come from is
 * in one marked section below: csv.h's record walker over the same bytes the reader parsed.
 */
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
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/timeutil.h>

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
    [PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID] = {"bundle_product_id", PROMO_COL_STRING, R},
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
    promo_free(c);
}

/* Name and location of each pick from the customers table ("" when unknown). The panel holds
 * the table already; a workspace whose customers table is absent or lacks the columns is read
 * from the store, so its error is the store's ("no table", "no column"). */
static int customer_details(promo_scorer *h, promo_campaign *c)
{
    static const char *const cols[] = {"customer_id", "name", "location"};
    const promo_panel *d = promo_scorer_panel(h);
    promo_table *read = NULL;
    const promo_table *cust = d->customers;
    const promo_column *id = NULL, *name = NULL, *loc = NULL;
    if (cust) {
        id = promo_table_column(cust, cols[0]);
        name = promo_table_column(cust, cols[1]);
        loc = promo_table_column(cust, cols[2]);
    }
    if (!id || !name || !loc) {
        int rc = promo_store_read_columns(promo_scorer_store(h), "customers", cols, 3, &read);
        if (rc)
            return rc;
        id = read->cols[0];
        name = read->cols[1];
        loc = read->cols[2];
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
            nm = promo_column_str(name, row_of[k]);
            lc = promo_column_str(loc, row_of[k]);
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
    promo_campaign *c = promo_calloc(1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    snprintf(c->product_id, sizeof c->product_id, "%s", p->product_id);
    c->discount_pct = p->discount_pct;
    c->send_day = p->send_day;
    c->send_hour = p->send_hour;
    if ((rc = promo_scorer_top(h, p->n_target, &c->picks, &c->n)))
        goto fail;
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
    c->n_holdout = (size_t)floor((double)c->n * p->holdout_pct / 100 + 0.5);
    if (c->n_holdout) {
        size_t *idx = promo_mallocn(c->n, sizeof *idx);
        if (!idx) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        promo_rng r;
        promo_rng_init(&r, p->holdout_seed, 0x686f6c64u);
        for (size_t i = 0; i < c->n; i++)
            idx[i] = i;
        for (size_t i = 0; i < c->n_holdout; i++) {
            size_t j = i + (size_t)promo_rng_below(&r, c->n - i), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            c->holdout[idx[i]] = 1;
        }
        promo_free(idx);
    }
    c->send_date =
        (promo_scorer_as_of(h) / PROMO_SECONDS_PER_DAY + p->send_day) * PROMO_SECONDS_PER_DAY;
    for (size_t i = 0; i < c->n; i++)
        if (!c->holdout[i])
            c->expected_buyers += c->picks[i].probability;
    *out = c;
    return PROMO_OK;
fail:
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
        return promo_column_push_i64(col, c->send_day);
    case PROMO_CAMPAIGN_SEND_HOUR:
        return promo_column_push_i64(col, c->send_hour);
    case PROMO_CAMPAIGN_HOLDOUT:
        return promo_column_push_i64(col, c->holdout ? c->holdout[i] : 0);
    case PROMO_CAMPAIGN_SEND_DATE:
        return promo_column_push_i64(col, c->send_date);
    case PROMO_CAMPAIGN_UPLIFT:
        return promo_column_push_f64(col, c->uplift[i]);
    case PROMO_CAMPAIGN_EXPECTED_REVENUE:
        return promo_column_push_f64(col, c->expected_revenue[i]);
    case PROMO_CAMPAIGN_EXPECTED_PROFIT:
        return promo_column_push_f64(col, c->expected_profit[i]);
    case PROMO_CAMPAIGN_SEGMENT:
        s = c->segment[i] ? c->segment[i] : "";
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
