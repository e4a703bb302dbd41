/* Profile `dunnhumby` (include/promo/profile.h): dunnhumby's The Complete Journey in the
 * layout of the `completejourney` R package (84.51°), by file name:
 *   transactions*.csv        -> transactions: order_id = basket_id, customer_id = household_id,
 *                               ts = transaction_timestamp, unit_price = sales_value /
 *                               quantity (sales_value is the line amount); discounts and
 *                               week not stored. A line with quantity 0 and a non-zero amount
 *                               has no unit price: an error, or a reject with --skip-bad-rows.
 *   products.csv             -> products: category = department, subcategory =
 *                               product_category, name = product_type, brand
 *   demographics.csv         -> customers (customer_id = household_id; the bracketed age
 *                               "65+" and the other brackets are not stored)
 *   campaign_descriptions.csv-> promotions (promotion_id = campaign_id, start, end)
 *   campaigns.csv            -> exposures (who was sent each campaign)
 *   coupon_redemptions.csv   -> responses: converted = true, ts = the first redemption of
 *                               the household in the campaign (several coupons of one
 *                               campaign are one response)
 * and in dunnhumby's original (v1, Kaggle) layout, upper-case columns and day numbers:
 *   transaction_data*.csv    -> transactions (BASKET_ID, household_key, DAY + TRANS_TIME,
 *                               unit_price = SALES_VALUE / QUANTITY)
 *   product.csv              -> products: category = DEPARTMENT, subcategory =
 *                               COMMODITY_DESC, name = SUB_COMMODITY_DESC, brand
 *   hh_demographic.csv       -> customers (the bracketed AGE_DESC is not stored)
 *   campaign_desc.csv        -> promotions (START_DAY, END_DAY)
 *   campaign_table.csv       -> exposures
 *   coupon_redempt.csv       -> responses (DAY; one per campaign and household as above)
 * v1 gives day numbers, no dates: day d is read as 2016-03-22 + d days, the offset that puts
 * campaigns 1-23 exactly on completejourney's dates (campaign 1: day 346 = 2017-03-03; its
 * campaigns 24-27 are others under reused numbers), so the two layouts of the same data agree.
 * coupon.csv and causal_data.csv have no canonical table. Households that buy or are targeted but
 * have no demographics are added to customers (ids only) when demographics.csv (hh_demographic.csv)
 * is in the call. Each file is one canonical command; e.g. promo ingest --table transactions --map
 * order_id=basket_id,customer_id=household_id, ts=transaction_timestamp --amount sales_value FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>
#include <promo/timeutil.h>

#include "data/ingest_internal.h"

/* v1's day numbers (read as epoch seconds) become dates; TRANS_TIME (HHMM) adds the time of
 * day to a transaction and is dropped. */
static int v1_days_to_dates(promo_table *t)
{
    int64_t day0 = promo_days_from_civil(2016, 3, 22) * PROMO_SECONDS_PER_DAY;
    static const char *const cols[] = {"ts", "start", "end"};
    promo_column *hhmm = promo_table_column(t, "TRANS_TIME");
    for (size_t k = 0; k < 3; k++) {
        promo_column *c = promo_table_column(t, cols[k]);
        if (!c)
            continue;
        for (size_t r = 0; r < t->n_rows; r++) {
            if (promo_column_is_null(c, r))
                continue;
            int64_t at = day0 + c->i64[r] * PROMO_SECONDS_PER_DAY;
            if (hhmm && k == 0 && !promo_column_is_null(hhmm, r)) {
                long v = strtol(promo_column_str(hhmm, r), NULL, 10);
                if (v >= 0 && v < 2400 && v % 100 < 60)
                    at += v / 100 * 3600 + v % 100 * 60;
            }
            c->i64[r] = at;
        }
    }
    return hhmm ? promo_table_drop_column(t, "TRANS_TIME") : PROMO_OK;
}

int ingest_read_dunnhumby(promo_ingest *ing, const char *path)
{
    char *base = ingest_base_name(path);
    if (!base)
        return PROMO_ENOMEM;
    ingest_src src = {.quiet = 1};
    int v1 = 0; /* the original layout */
    if (!strncmp(base, "transactions", 12)) {
        src.table = "transactions";
        src.map = "order_id=basket_id,customer_id=household_id,ts=transaction_timestamp";
        src.amount = "sales_value";
    } else if (!strcmp(base, "products")) {
        src.table = "products";
        src.map = "category=department,subcategory=product_category,name=product_type";
    } else if (!strcmp(base, "demographics")) {
        src.table = "customers";
        src.map = "customer_id=household_id";
        src.ignore = "age";
    } else if (!strcmp(base, "campaign_descriptions")) {
        src.table = "promotions";
        src.map = "promotion_id=campaign_id,start=start_date,end=end_date";
    } else if (!strcmp(base, "campaigns")) {
        src.table = "exposures";
        src.map = "promotion_id=campaign_id,customer_id=household_id";
    } else if (!strcmp(base, "coupon_redemptions")) {
        src.table = "responses";
        src.map = "promotion_id=campaign_id,customer_id=household_id,ts=redemption_date";
        src.set = "converted=true";
    } else if (!strncmp(base, "transaction_data", 16)) {
        v1 = 1;
        src.table = "transactions";
        src.map = "order_id=BASKET_ID,customer_id=household_key,product_id=PRODUCT_ID,"
                  "store_id=STORE_ID,quantity=QUANTITY,ts=DAY";
        src.amount = "SALES_VALUE";
        src.keep = "TRANS_TIME";
    } else if (!strcmp(base, "product")) {
        v1 = 1;
        src.table = "products";
        src.map = "product_id=PRODUCT_ID,category=DEPARTMENT,subcategory=COMMODITY_DESC,"
                  "name=SUB_COMMODITY_DESC,brand=BRAND";
    } else if (!strcmp(base, "hh_demographic")) {
        v1 = 1;
        src.table = "customers";
        src.map = "customer_id=household_key";
    } else if (!strcmp(base, "campaign_desc")) {
        v1 = 1;
        src.table = "promotions";
        src.map = "promotion_id=CAMPAIGN,start=START_DAY,end=END_DAY";
    } else if (!strcmp(base, "campaign_table")) {
        v1 = 1;
        src.table = "exposures";
        src.map = "promotion_id=CAMPAIGN,customer_id=household_key";
    } else if (!strcmp(base, "coupon_redempt")) {
        v1 = 1;
        src.table = "responses";
        src.map = "promotion_id=CAMPAIGN,customer_id=household_key,ts=DAY";
        src.set = "converted=true";
    }
    if (v1)
        src.ts_format = "epoch"; /* day numbers, made dates below */
    int rc = PROMO_OK;
    if (!src.table)
        rc = promo_fail(PROMO_EUSAGE,
                        "%s: dunnhumby reads transactions*.csv, products.csv, demographics.csv, "
                        "campaign_descriptions.csv, campaigns.csv and coupon_redemptions.csv "
                        "(completejourney layout) or transaction_data.csv, product.csv, "
                        "hh_demographic.csv, campaign_desc.csv, campaign_table.csv and "
                        "coupon_redempt.csv (the original layout); coupons, promotions and "
                        "causal data have no canonical table",
                        path);
    promo_free(base);
    item *it = NULL;
    if (!rc)
        rc = ingest_read_source(ing, path, &src, &it);
    return rc || !v1 ? rc : v1_days_to_dates(it->t);
}

/* One response per (campaign, household): the earliest redemption. */
static int dedupe_responses(promo_ingest *ing)
{
    item *it = ingest_find_item(ing, "responses");
    if (!it)
        return PROMO_OK;
    promo_table *t = it->t;
    const promo_column *p = promo_table_column(t, "promotion_id");
    const promo_column *c = promo_table_column(t, "customer_id");
    const promo_column *ts = promo_table_column(t, "ts");
    size_t n = t->n_rows;
    uint8_t *keep = promo_malloc(n ? n : 1);
    promo_dict *keys = promo_dict_new();
    size_t *first = promo_mallocn(n ? n : 1, sizeof *first);
    int rc = keep && keys && first ? PROMO_OK : PROMO_ENOMEM;
    for (size_t r = 0; r < n && !rc; r++) {
        char k[256];
        int len = snprintf(k, sizeof k, "%s\x1f%s", promo_column_str(p, r), promo_column_str(c, r));
        uint32_t before = promo_dict_size(keys);
        uint32_t code = promo_dict_intern(keys, k, (size_t)len);
        if (code == PROMO_DICT_NONE) {
            rc = PROMO_ENOMEM;
            break;
        }
        keep[r] = code == before;
        if (keep[r]) {
            first[code] = r;
        } else if (ts && !promo_column_is_null(ts, r) &&
                   (promo_column_is_null(ts, first[code]) || ts->i64[r] < ts->i64[first[code]])) {
            keep[first[code]] = 0;
            keep[r] = 1;
            first[code] = r;
        }
    }
    promo_table *nt = rc ? NULL : promo_table_filter(t, keep);
    if (!rc && !nt)
        rc = PROMO_ENOMEM;
    promo_free(keep);
    promo_free(first);
    promo_dict_free(keys);
    if (rc)
        return rc;
    promo_table_free(it->t);
    it->t = nt;
    /* rows no longer match source lines one to one */
    promo_free(it->path);
    it->path = NULL;
    return PROMO_OK;
}

/* Households referenced by transactions, exposures and responses but without demographics
 * join customers with their id only. */
static int complete_customers(promo_ingest *ing)
{
    item *ci = ingest_find_item(ing, "customers");
    if (!ci)
        return PROMO_OK;
    static const char *const from[] = {"transactions", "exposures", "responses"};
    int rc = PROMO_OK;
    for (size_t f = 0; f < 3 && !rc; f++) {
        item *si = ingest_find_item(ing, from[f]);
        ci = ingest_find_item(ing, "customers");
        const promo_column *s = si ? promo_table_column(si->t, "customer_id") : NULL;
        if (!s)
            continue;
        promo_column *id = promo_table_column(ci->t, "customer_id");
        uint32_t nd = promo_dict_size(s->dict);
        for (uint32_t k = 0; k < nd && !rc; k++) {
            const char *v = promo_dict_key(s->dict, k);
            size_t len = promo_dict_key_len(s->dict, k);
            if (promo_dict_find(id->dict, v, len) != PROMO_DICT_NONE)
                continue;
            for (size_t j = 0; j < ci->t->n_cols && !rc; j++)
                rc = ci->t->cols[j] == id ? promo_column_push_str(id, v, len)
                                          : promo_column_push_null(ci->t->cols[j]);
        }
        if (!rc)
            rc = promo_table_seal(ci->t);
    }
    return rc;
}

int ingest_finish_dunnhumby(promo_ingest *ing)
{
    int rc = dedupe_responses(ing);
    return rc ? rc : complete_customers(ing);
}
