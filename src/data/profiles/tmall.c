/* Profile `tmall` (include/promo/profile.h): the Tmall multi-behaviour pairs shipped with
 * MBGCN (`user item`, blank-separated, no header, no time) as events. The file's base name
 * gives the kind: buy, train, validation and test -> purchase, cart -> cart, collect ->
 * favorite, click -> view. The source has no timestamps but events.ts is part of the key, so
 * ts is a placeholder: 2015-01-01 plus the row's position in the ingest in seconds (unique,
 * in file order). Nothing should read time from it. The purchases also become transactions
 * (purchases.h), one order each. */
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>

#include "data/ingest_internal.h"
#include "data/profiles/purchases.h"

#define TMALL_EPOCH 1420070400 /* 2015-01-01 */

int ingest_read_tmall(promo_ingest *ing, const char *path)
{
    static const char *const kinds[][2] = {
        {"buy", "purchase"},  {"train", "purchase"}, {"validation", "purchase"},
        {"test", "purchase"}, {"cart", "cart"},      {"collect", "favorite"},
        {"click", "view"},
    };
    char *base = ingest_base_name(path);
    if (!base)
        return PROMO_ENOMEM;
    const char *kind = NULL;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !kind; k++)
        if (!strcmp(base, kinds[k][0]))
            kind = kinds[k][1];
    promo_free(base);
    if (!kind)
        return promo_fail(PROMO_EUSAGE,
                          "%s: tmall reads buy.txt, cart.txt, collect.txt, click.txt, "
                          "train.txt, validation.txt and test.txt (the name gives the kind)",
                          path);
    char set[64];
    snprintf(set, sizeof set, "kind=%s,ts=2015-01-01", kind);
    ingest_src src = {
        .table = "events",
        .no_header = 1,
        .sep = "space",
        .columns = "customer_id,product_id",
        .set = set,
        .quiet = 1,
        .append = 1,
    };
    return ingest_read_source(ing, path, &src, NULL);
}

/* ts: the placeholder, unique per row in the order the files were given. */
int ingest_finish_tmall(promo_ingest *ing)
{
    item *ev = ingest_find_item(ing, "events");
    promo_column *ts = ev ? promo_table_column(ev->t, "ts") : NULL;
    for (size_t r = 0; ts && r < ev->t->n_rows; r++)
        ts->i64[r] = TMALL_EPOCH + (int64_t)r;
    return ingest_purchases_as_transactions(ing, "tmall");
}
