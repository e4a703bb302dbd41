/* Profile `cdnow` (include/promo/profile.h): the CDNOW purchase logs of Fader & Hardie, as
 * transactions. CDNOW_master.txt has `customer_id date number_of_cds dollar_value`, the 1/10
 * sample CDNOW_sample.txt `customer_id sample_id date number_of_cds dollar_value`: blanks
 * between fields, no header, dates YYYYMMDD, a line amount. The same as
 *   promo ingest --table transactions --sep space --no-header
 *     --columns customer_id,date,number_of_cds,dollar_value --map ts=date,quantity=number_of_cds
 *     --amount dollar_value --set product_id=CD,order_id=... FILE
 * with order_id = customer_id:YYYYMMDD (one order per customer and day: the data have no
 * order ids, and FHL count repeat purchases per day), product_id "CD" (no product ids), and
 * unit_price = dollar_value / number_of_cds. The sample's sample_id is kept as the customer
 * segment ("sample:0001"), so summaries can be checked against the published ID. */
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>
#include <promo/timeutil.h>

#include "data/ingest_internal.h"

/* Fields of the first non-blank line, and whether it is a header (the lifetimes copy of the
 * master file has one: "customer_id  date number_of_cds  dollar_value"). */
static int first_line_fields(const char *path, size_t *nf, int *header)
{
    const char *p;
    size_t n;
    int rc = ingest_map_file(path, &p, &n);
    if (rc)
        return rc;
    *nf = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n') {
            if (*nf)
                break;
            continue;
        }
        int blank = c == ' ' || c == '\t' || c == '\r';
        if (!blank && !in && (*nf)++ == 0)
            *header = !(c >= '0' && c <= '9');
        in = !blank;
    }
    ingest_unmap_file(p, n);
    return PROMO_OK;
}

int ingest_read_cdnow(promo_ingest *ing, const char *path)
{
    if (ingest_find_item(ing, "transactions"))
        return promo_fail(PROMO_EUSAGE, "%s: cdnow takes one file per ingest", path);
    size_t nf = 0;
    int header = 0;
    int rc = first_line_fields(path, &nf, &header);
    if (rc)
        return rc;
    if (nf != 4 && nf != 5)
        return promo_fail(PROMO_EINPUT,
                          "%s:1: expected the CDNOW master layout (customer_id date "
                          "number_of_cds dollar_value) or the sample's (with sample_id), got %zu "
                          "fields",
                          path, nf);
    ingest_src src = {
        .table = "transactions",
        .sep = "space",
        .no_header = !header,
        .columns = header    ? NULL
                   : nf == 4 ? "customer_id,date,number_of_cds,dollar_value"
                             : "customer_id,sample_id,date,number_of_cds,dollar_value",
        .map = "ts=date,quantity=number_of_cds",
        .amount = "dollar_value",
        .set = "product_id=CD,order_id=-",
        .ts_format = "ymd",
        .keep = nf == 5 ? "sample_id" : NULL,
        .quiet = 1,
    };
    item *it = NULL;
    if ((rc = ingest_read_source(ing, path, &src, &it)))
        return rc;
    promo_table *t = it->t;
    if ((rc = promo_table_drop_column(t, "order_id")) || (rc = promo_table_drop_column(t, "line")))
        return rc;
    promo_column *oid = NULL;
    if ((rc = promo_table_add_column(t, "order_id", PROMO_COL_STRING, &oid)) ||
        (rc = promo_column_reserve(oid, t->n_rows)))
        return rc;
    const promo_column *cust = promo_table_column(t, "customer_id");
    const promo_column *ts = promo_table_column(t, "ts");
    /* rows of one customer and day are one order, and they are adjacent in the file */
    uint32_t last_cust = PROMO_DICT_NONE;
    int64_t last_day = -1;
    for (size_t r = 0; r < t->n_rows && !rc; r++) {
        int64_t day = ts->i64[r] / PROMO_SECONDS_PER_DAY;
        if (r && cust->codes[r] == last_cust && day == last_day) {
            rc = promo_column_push_code(oid, oid->codes[r - 1]);
            continue;
        }
        last_cust = cust->codes[r];
        last_day = day;
        int y;
        unsigned m, d;
        promo_civil_from_days(day, &y, &m, &d);
        const char *cs = promo_column_str(cust, r);
        size_t cl = strlen(cs);
        char key[96];
        if (cl > sizeof key - 10)
            cl = sizeof key - 10;
        memcpy(key, cs, cl);
        unsigned v = (unsigned)y * 10000u + m * 100u + d;
        key[cl] = ':';
        for (int k = 8; k >= 1; k--, v /= 10)
            key[cl + (size_t)k] = (char)('0' + v % 10);
        rc = promo_column_push_str(oid, key, cl + 9);
    }
    if (!rc)
        rc = promo_table_seal(t);
    if (!rc)
        rc = ingest_number_lines(it, "order_id");
    if (!rc && nf == 5) {
        /* the published summaries use the sample id: keep it on the customers */
        promo_table *c = promo_table_new("customers");
        promo_column *cid = NULL, *seg = NULL;
        if (!c)
            return PROMO_ENOMEM;
        const promo_column *sid = promo_table_column(t, "sample_id");
        if ((rc = promo_table_add_column(c, "customer_id", PROMO_COL_STRING, &cid)) ||
            (rc = promo_table_add_column(c, "segment", PROMO_COL_STRING, &seg))) {
            promo_table_free(c);
            return rc;
        }
        uint32_t nd = promo_dict_size(cust->dict);
        uint8_t *seen = promo_calloc(nd ? nd : 1, 1);
        if (!seen) {
            promo_table_free(c);
            return PROMO_ENOMEM;
        }
        for (size_t r = 0; r < t->n_rows && !rc; r++) {
            if (seen[cust->codes[r]])
                continue;
            seen[cust->codes[r]] = 1;
            char s[64];
            int k = snprintf(s, sizeof s, "sample:%s", promo_column_str(sid, r));
            rc = promo_column_push_str(cid, promo_column_str(cust, r),
                                       strlen(promo_column_str(cust, r)));
            if (!rc)
                rc = promo_column_push_str(seg, s, (size_t)k);
        }
        promo_free(seen);
        if (!rc)
            rc = promo_table_seal(c);
        if (!rc)
            rc = promo_table_drop_column(t, "sample_id");
        if ((rc = ingest_add_table(ing, rc, c, "customers", 1)))
            return rc;
    }
    return rc;
}
