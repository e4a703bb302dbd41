/* `promo campaign`: the customers most likely to buy a product, as a campaign file.
 *
 * Targeting by propensity (the first strategy of DESIGN.md): score every customer with the
 * saved product model, keep the top N, explain each pick in one line (TreeSHAP, explain.h),
 * and write a CSV that `promo simulate` reads as it is (customer_id, product_id,
 * discount_pct, send_day, send_hour) with the marketer's columns beside them (name,
 * location, probability, reason). Budget-constrained optimisation and uplift-based targeting
 * come with the campaign-optimizer work; this command ranks by propensity only, and says so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/propensity.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

/* The product with the most order lines in the workspace (ties: the first in table order). */
static int best_selling(promo_store *s, char *out, size_t n)
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

int cli_best_selling_product(const char *ws, char *out, size_t n)
{
    promo_store *s = NULL;
    int rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = best_selling(s, out, n);
    promo_store_close(s);
    return rc;
}

/* name and location of each pick, from the customers table (empty when unknown). */
static int
customer_details(promo_store *s, const promo_campaign_pick *picks, size_t n, promo_table *out)
{
    static const char *const cols[] = {"customer_id", "name", "location"};
    promo_table *cust = NULL;
    int rc = promo_store_read_columns(s, "customers", cols, 3, &cust);
    if (rc)
        return rc;
    promo_column *id = cust->cols[0], *name = cust->cols[1], *loc = cust->cols[2];
    promo_column *o_name = promo_table_column(out, "name");
    promo_column *o_loc = promo_table_column(out, "location");
    uint32_t n_codes = promo_dict_size(id->dict);
    size_t *row_of = promo_mallocn(n_codes ? n_codes : 1, sizeof *row_of);
    if (!row_of) {
        promo_table_free(cust);
        return PROMO_ENOMEM;
    }
    for (uint32_t k = 0; k < n_codes; k++)
        row_of[k] = SIZE_MAX;
    for (size_t r = 0; r < id->n; r++)
        if (row_of[id->codes[r]] == SIZE_MAX)
            row_of[id->codes[r]] = r;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *nm = "", *lc = "";
        uint32_t k = promo_dict_find(id->dict, picks[i].customer_id, strlen(picks[i].customer_id));
        if (k != PROMO_DICT_NONE && row_of[k] != SIZE_MAX) {
            nm = promo_column_str(name, row_of[k]);
            lc = promo_column_str(loc, row_of[k]);
        }
        rc = promo_column_push_str(o_name, nm, strlen(nm));
        if (!rc)
            rc = promo_column_push_str(o_loc, lc, strlen(lc));
    }
    promo_free(row_of);
    promo_table_free(cust);
    return rc;
}

int cmd_campaign(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *product = NULL, *out_path = NULL;
    double discount = 10, target_n = 50, send_day = 0, send_hour = 10;
    int64_t as_of = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("product", "ID|best", &product), .required = 1,
         .help = "the product; `best` = the best-selling one (most order lines)"},
        {CLI_NUMBER("discount", "PCT", 0, 90, &discount), .help = "offered discount, 0-90"},
        {CLI_UINT("target", "N", 1, 10000000, &target_n), .help = "customers to contact"},
        {CLI_AS_OF(&as_of), .help = "score as of this date", .def = "after the last transaction"},
        {CLI_UINT("send-day", "D", 0, 3650, &send_day),
         .help = "days after the history's end to send"},
        {CLI_UINT("send-hour", "H", 0, 23, &send_hour), .help = "hour to send, 0-23"},
        {CLI_PATH("out", "FILE.csv", &out_path), .help = "the campaign file",
         .def = "DIR/out/campaign_<product>.csv"},
        {0},
    };
    const cli_spec spec = {
        .name = "campaign",
        .usage = "usage: promo campaign --ws DIR --product ID|best [--discount PCT] [--target N]\n"
                 "                      [--as-of DATE] [--send-day D] [--send-hour H] [--out "
                 "FILE.csv]\n",
        .about =
            "Rank every customer by the propensity model's probability of buying the product\n"
            "(train it first: promo train --model propensity --target product:ID), keep the top\n"
            "N with a one-line reason each, and write the campaign file (default\n"
            "DIR/out/campaign_<product>.csv), which `promo simulate` accepts as it is.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;

    promo_store *s = NULL;
    promo_campaign_pick *picks = NULL;
    promo_table *t = NULL;
    size_t n = 0;
    char pid[256], target[300], path[1300];
    int rc = promo_store_open(ws, 0, &s);
    if (rc)
        goto done;
    if (!strcmp(product, "best")) {
        if ((rc = best_selling(s, pid, sizeof pid)))
            goto done;
    } else {
        snprintf(pid, sizeof pid, "%s", product);
    }
    snprintf(target, sizeof target, "product:%s", pid);
    if ((rc = promo_explain_top_customers(s, target, as_of, (size_t)target_n, &picks, &n)))
        goto done;

    rc = PROMO_ENOMEM;
    if (!(t = promo_table_new("campaign")))
        goto done;
    promo_column *cid, *prob, *why, *prod, *disc, *day, *hour;
    if (promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &cid) ||
        promo_table_add_column(t, "name", PROMO_COL_STRING, NULL) ||
        promo_table_add_column(t, "location", PROMO_COL_STRING, NULL) ||
        promo_table_add_column(t, "probability", PROMO_COL_FLOAT64, &prob) ||
        promo_table_add_column(t, "reason", PROMO_COL_STRING, &why) ||
        promo_table_add_column(t, "product_id", PROMO_COL_STRING, &prod) ||
        promo_table_add_column(t, "discount_pct", PROMO_COL_FLOAT64, &disc) ||
        promo_table_add_column(t, "send_day", PROMO_COL_INT64, &day) ||
        promo_table_add_column(t, "send_hour", PROMO_COL_INT64, &hour))
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (promo_column_push_str(cid, picks[i].customer_id, strlen(picks[i].customer_id)) ||
            promo_column_push_f64(prob, picks[i].probability) ||
            promo_column_push_str(why, picks[i].reason, strlen(picks[i].reason)) ||
            promo_column_push_str(prod, pid, strlen(pid)) ||
            promo_column_push_f64(disc, discount) ||
            promo_column_push_i64(day, (int64_t)send_day) ||
            promo_column_push_i64(hour, (int64_t)send_hour))
            goto done;
    }
    if ((rc = customer_details(s, picks, n, t)) || (rc = promo_table_seal(t)))
        goto done;
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else
        snprintf(path, sizeof path, "%s/campaign_%s.csv", promo_store_out_dir(s), pid);
    if ((rc = promo_csv_write(path, t)))
        goto done;

    printf("campaign for %s: top %zu customers by propensity, %.0f%% discount\n", pid, n, discount);
    printf("  %-12s %-24s %-12s %11s  %s\n", "customer", "name", "location", "probability",
           "reason");
    for (size_t i = 0; i < n && i < 10; i++)
        printf("  %-12s %-24.24s %-12.12s %11.3f  %s\n", picks[i].customer_id,
               promo_column_str(promo_table_column(t, "name"), i),
               promo_column_str(promo_table_column(t, "location"), i), picks[i].probability,
               picks[i].reason);
    if (n > 10)
        printf("  ... %zu more\n", n - 10);
    double expected = 0;
    for (size_t i = 0; i < n; i++)
        expected += picks[i].probability;
    printf("expected buyers among them (model): %.1f\nwrote %s\n", expected, path);
    rc = PROMO_OK;
done:
    promo_table_free(t);
    promo_free(picks);
    promo_store_close(s);
    return cli_report(rc);
}
