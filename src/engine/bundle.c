/* The bundle a campaign offers with its product (promo campaign --bundle): the file's
 * bundle_product_id, which `promo simulate` plays and a CRM prints on the offer.
 *
 * "auto" takes the product most often in the same orders as the offered one over the year
 * before the cutoff: the highest confidence P(bundle | product) among products in at least
 * PROMO_CAMPAIGN_BUNDLE_MIN_ORDERS of its orders whose lift is above 1 (bought with it more than
 * with any order), ties to the higher lift. It is the one-antecedent rule `promo rules` would list
 * first for that product, computed on the product's orders alone so that a campaign does not
 * mine the whole basket table. A product named instead is checked against the catalogue and
 * gets the same figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#define BUNDLE_WINDOW_DAYS 365

typedef struct pair {
    uint32_t order, product;
} pair;

static int by_order_product(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return x->product < y->product ? -1 : x->product > y->product;
}

int promo_campaign_bundle_choose(promo_store *s,
                                 const char *product,
                                 const char *spec,
                                 int64_t as_of,
                                 promo_campaign_bundle *out)
{
    memset(out, 0, sizeof *out);
    int automatic = !strcmp(spec, "auto");
    if (!automatic && !strcmp(spec, product))
        return promo_fail(PROMO_EUSAGE, "bundle %s: the offered product itself", spec);
    static const char *const cols[] = {"order_id", "product_id", "ts"};
    promo_table *t = NULL;
    int rc = promo_store_read_range(s, "transactions", cols, 3, "ts", INT64_MIN,
                                    as_of ? as_of : INT64_MAX, &t);
    if (rc)
        return rc;
    const promo_column *oc = promo_table_column(t, "order_id"),
                       *pc = promo_table_column(t, "product_id"), *tc = promo_table_column(t, "ts");
    uint32_t x = promo_dict_find(pc->dict, product, strlen(product));
    uint32_t want = automatic ? PROMO_DICT_NONE : promo_dict_find(pc->dict, spec, strlen(spec));
    if (!automatic && want == PROMO_DICT_NONE) {
        /* not sold in the window: known to the catalogue at least? */
        static const char *const pcols[] = {"product_id"};
        promo_table *p = NULL;
        int found = 0;
        if (!promo_store_read_columns(s, "products", pcols, 1, &p)) {
            const promo_column *id = p->cols[0];
            found = promo_dict_find(id->dict, spec, strlen(spec)) != PROMO_DICT_NONE;
        }
        promo_table_free(p);
        if (!found) {
            promo_table_free(t);
            return promo_fail(PROMO_EINPUT, "bundle %s: no such product in the workspace", spec);
        }
    }
    int64_t last = INT64_MIN;
    for (size_t r = 0; r < t->n_rows; r++)
        if (!promo_column_is_null(tc, r) && tc->i64[r] > last)
            last = tc->i64[r];
    int64_t from = last - (int64_t)BUNDLE_WINDOW_DAYS * PROMO_SECONDS_PER_DAY;
    /* the orders holding the product, then every (order, product) pair of those orders */
    uint32_t n_orders = promo_dict_size(oc->dict), n_prod = promo_dict_size(pc->dict);
    uint8_t *has_x = promo_calloc(n_orders ? n_orders : 1, 1);
    uint8_t *seen = promo_calloc(n_orders ? n_orders : 1, 1);
    uint64_t *lines = promo_calloc(n_prod ? n_prod : 1, sizeof *lines);
    pair *pairs = NULL;
    uint32_t *together = NULL;
    size_t np = 0, n_all_orders = 0;
    rc = has_x && seen && lines ? PROMO_OK : PROMO_ENOMEM;
    for (size_t r = 0; !rc && r < t->n_rows; r++) {
        if (promo_column_is_null(oc, r) || promo_column_is_null(pc, r) ||
            promo_column_is_null(tc, r) || tc->i64[r] < from)
            continue;
        uint32_t o = oc->codes[r], p = pc->codes[r];
        n_all_orders += !seen[o];
        seen[o] = 1;
        lines[p]++;
        if (p == x)
            has_x[o] = 1;
    }
    for (size_t r = 0; !rc && r < t->n_rows; r++)
        if (!promo_column_is_null(oc, r) && !promo_column_is_null(pc, r) &&
            !promo_column_is_null(tc, r) && tc->i64[r] >= from && has_x[oc->codes[r]])
            np++;
    if (!rc && !(pairs = promo_mallocn(np ? np : 1, sizeof *pairs)))
        rc = PROMO_ENOMEM;
    size_t k = 0;
    for (size_t r = 0; !rc && r < t->n_rows; r++)
        if (!promo_column_is_null(oc, r) && !promo_column_is_null(pc, r) &&
            !promo_column_is_null(tc, r) && tc->i64[r] >= from && has_x[oc->codes[r]])
            pairs[k++] = (pair){oc->codes[r], pc->codes[r]};
    if (!rc) {
        qsort(pairs, np, sizeof *pairs, by_order_product);
        if (!(together = promo_calloc(n_prod ? n_prod : 1, sizeof *together)))
            rc = PROMO_ENOMEM;
    }
    size_t orders_x = 0;
    for (size_t i = 0; !rc && i < np; i++) {
        if (i > 0 && pairs[i].order == pairs[i - 1].order &&
            pairs[i].product == pairs[i - 1].product)
            continue; /* the same product twice in one order counts once */
        together[pairs[i].product]++;
        orders_x += pairs[i].product == x;
    }
    uint32_t best = PROMO_DICT_NONE;
    double best_conf = 0, best_lift = 0;
    for (uint32_t p = 0; !rc && orders_x && p < n_prod; p++) {
        if (p == x || (!automatic && p != want) ||
            (automatic && together[p] < PROMO_CAMPAIGN_BUNDLE_MIN_ORDERS))
            continue;
        double conf = (double)together[p] / (double)orders_x;
        /* the share of all orders holding p, from its lines (a repeated line counts twice) */
        double base = n_all_orders ? (double)lines[p] / (double)n_all_orders : 0;
        double lift = base > 0 ? conf / base : 0;
        if (automatic && !(lift > 1))
            continue;
        if (best == PROMO_DICT_NONE || conf > best_conf ||
            (conf == best_conf && lift > best_lift)) {
            best = p;
            best_conf = conf;
            best_lift = lift;
        }
    }
    if (!rc) {
        out->orders = orders_x;
        if (best != PROMO_DICT_NONE) {
            snprintf(out->product_id, sizeof out->product_id, "%s", promo_dict_key(pc->dict, best));
            out->together = together[best];
            out->confidence = best_conf;
            out->lift = best_lift;
        } else if (!automatic) {
            snprintf(out->product_id, sizeof out->product_id, "%s", spec); /* never together */
        }
    }
    promo_free(has_x);
    promo_free(seen);
    promo_free(lines);
    promo_free(pairs);
    promo_free(together);
    promo_table_free(t);
    return rc;
}
