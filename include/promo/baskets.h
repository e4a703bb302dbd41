/* promo/baskets.h: market baskets read from a file, for association rules (assoc.h).
 *
 * Two layouts, the two that basket data comes in:
 *   - PROMO_BASKETS_LINES: one basket per line, its items separated by the delimiter, no
 *     header (the Groceries data of the arules package; "citrus fruit,margarine,ready soups").
 *     Items may be quoted as in CSV; empty items and blank lines are skipped.
 *   - PROMO_BASKETS_LONG: a CSV with a header, one (basket, item) pair per row
 *     (Instacart's order_products: order_id,product_id,...), columns named in the options.
 * Items are interned into a dictionary in order of first appearance; baskets keep file order
 * (LONG: order of each basket id's first row).
 *
 * Usage:
 *   promo_baskets_options o = promo_baskets_options_default();
 *   promo_basket_file *f = NULL;
 *   if (promo_baskets_read("groceries.csv", &o, &f)) fprintf(stderr, "%s\n", promo_last_error());
 *   promo_baskets b = promo_basket_file_view(f);   // for promo_assoc_mine
 *   ... promo_basket_file_item(f, b.item[0]) is the item's name ...
 *   promo_basket_file_free(f);
 */
#ifndef PROMO_BASKETS_H
#define PROMO_BASKETS_H

#include <stddef.h>
#include <stdint.h>

#include <promo/assoc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_baskets_layout {
    PROMO_BASKETS_LINES = 0,
    PROMO_BASKETS_LONG = 1
} promo_baskets_layout;

typedef struct promo_baskets_options {
    promo_baskets_layout layout;
    char delimiter;          /* LINES: ',' by default; LONG: 0 = detected */
    const char *basket_col;  /* LONG: the basket id column ("order_id") */
    const char *item_col;    /* LONG: the item column ("product_id") */
    size_t max_basket_items; /* a longer basket is an error naming its line (1,000,000) */
} promo_baskets_options;

promo_baskets_options promo_baskets_options_default(void);

typedef struct promo_basket_file promo_basket_file;

/* Errors: PROMO_EIO/PROMO_ENOTFOUND for the file, PROMO_EINPUT for malformed content (the
 * message names file:line:column), PROMO_EUSAGE for options, PROMO_ENOMEM. */
int promo_baskets_read(const char *path,
                       const promo_baskets_options *o,
                       promo_basket_file **out /* OUT */);
/* The same from a buffer (fuzzing, tests); name is used in messages. */
int promo_baskets_read_buffer(const char *data,
                              size_t n,
                              const char *name,
                              const promo_baskets_options *o,
                              promo_basket_file **out /* OUT */);
void promo_basket_file_free(promo_basket_file *f); /* NULL-safe */

/* The baskets, borrowed from f. */
promo_baskets promo_basket_file_view(const promo_basket_file *f);
const char *promo_basket_file_item(const promo_basket_file *f, uint32_t item);
/* Distinct items and item occurrences (an item repeated in a basket counted once). */
uint64_t promo_basket_file_occurrences(const promo_basket_file *f);

typedef struct promo_store promo_store;

/* The workspace's orders as baskets: transactions lines with ts < before (0: all) and a
 * quantity above 0 (returns are not purchases), grouped by order_id. Items are product ids,
 * or products' categories with by_category (a product without one is "unknown"). Each basket
 * remembers its customer (promo_basket_file_customer) and its time. Errors: PROMO_ENOTFOUND
 * without transactions (or products, by_category), the store's, PROMO_ENOMEM. */
int promo_baskets_from_store(promo_store *s,
                             int64_t before,
                             int by_category,
                             promo_basket_file **out /* OUT */);
/* Customers of a workspace basket file: the customer key of basket b (< n_customers), its id,
 * the number of distinct customers; PROMO_DICT_NONE / NULL / 0 for a file read from CSV. */
uint32_t promo_basket_file_customer(const promo_basket_file *f, size_t b);
const char *promo_basket_file_customer_id(const promo_basket_file *f, uint32_t key);
uint32_t promo_basket_file_n_customers(const promo_basket_file *f);
/* Key of a customer id, or PROMO_DICT_NONE; the same for an item name. */
uint32_t promo_basket_file_find_customer(const promo_basket_file *f, const char *id);
uint32_t promo_basket_file_find_item(const promo_basket_file *f, const char *name);

#ifdef __cplusplus
}
#endif
#endif
