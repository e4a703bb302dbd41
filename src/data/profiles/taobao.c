/* Profile `taobao` (include/promo/profile.h): Alibaba's UserBehavior log
 * (`user_id,item_id,category_id,behavior_type,timestamp`, no header, epoch seconds) as events,
 * and products derived from it (product_id with its category_id as category). The same as
 *   promo ingest --table events --no-header
 *     --columns user_id,item_id,category_id,behavior_type,timestamp
 *     --map customer_id=user_id,product_id=item_id,kind=behavior_type,ts=timestamp
 *     --ts-format epoch --recode kind=pv:view,fav:favorite,buy:purchase FILE
 * plus the products table and the purchases as transactions (purchases.h). Timestamps stay as
 * recorded (UTC; Beijing wall clock is 8 h later); rows outside the official 9 days are kept. */
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>

#include "data/ingest_internal.h"
#include "data/profiles/purchases.h"

int ingest_read_taobao(promo_ingest *ing, const char *path)
{
    if (ingest_find_item(ing, "events"))
        return promo_fail(PROMO_EUSAGE, "%s: taobao takes one file per ingest", path);
    ingest_src src = {
        .table = "events",
        .no_header = 1,
        .sep = ",",
        .columns = "user_id,item_id,category_id,behavior_type,timestamp",
        .map = "customer_id=user_id,product_id=item_id,kind=behavior_type,ts=timestamp",
        .ts_format = "epoch",
        .recode = "kind=pv:view,fav:favorite,buy:purchase,cart:cart",
        .keep = "category_id",
        .quiet = 1,
    };
    return ingest_read_source(ing, path, &src, NULL);
}

/* products(product_id, category) from the events' item and category ids; the first category
 * seen for an item is kept (an item has one category in this data). */
int ingest_finish_taobao(promo_ingest *ing)
{
    item *ev = ingest_find_item(ing, "events");
    if (!ev)
        return PROMO_OK;
    const promo_column *pid = promo_table_column(ev->t, "product_id");
    const promo_column *cat = promo_table_column(ev->t, "category_id");
    promo_table *p = promo_table_new("products");
    promo_column *ip = NULL, *ic = NULL;
    uint8_t *seen = NULL;
    int rc = p ? PROMO_OK : PROMO_ENOMEM;
    if (!rc && !(rc = promo_table_add_column(p, "product_id", PROMO_COL_STRING, &ip)))
        rc = promo_table_add_column(p, "category", PROMO_COL_STRING, &ic);
    uint32_t nd = promo_dict_size(pid->dict);
    if (!rc && !(seen = promo_calloc(nd ? nd : 1, 1)))
        rc = PROMO_ENOMEM;
    for (size_t r = 0; r < ev->t->n_rows && !rc; r++) {
        if (seen[pid->codes[r]])
            continue;
        seen[pid->codes[r]] = 1;
        const char *a = promo_column_str(pid, r), *b = promo_column_str(cat, r);
        if (!(rc = promo_column_push_str(ip, a, strlen(a))))
            rc = promo_column_push_str(ic, b, strlen(b));
    }
    promo_free(seen);
    if (!rc)
        rc = promo_table_seal(p);
    if (!rc)
        rc = promo_table_drop_column(ev->t, "category_id");
    if ((rc = ingest_add_table(ing, rc, p, "products", 1)))
        return rc;
    return ingest_purchases_as_transactions(ing, "taobao");
}
