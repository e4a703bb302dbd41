/* promo info: what a workspace holds. Per table: rows, columns with their promo types and
 * null counts, the date range of its first timestamp column; for transactions also returns,
 * rows without a customer and distinct customers, products and orders.
 *
 * The figures come from promo_store_describe (SQL in the store, one scan per table), so info
 * on millions of rows takes a second, not a load; this file only prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void print_text(const promo_store_table_info *ti, int brief)
{
    printf("%s: %lld rows", ti->name, (long long)ti->n_rows);
    if (ti->has_date_range) {
        char a[32], b[32];
        promo_time_format(ti->date_min, 0, a, sizeof a);
        promo_time_format(ti->date_max, 0, b, sizeof b);
        printf(", %s %s .. %s", ti->cols[ti->date_col].name, a, b);
    }
    printf("\n");
    if (ti->is_transactions)
        printf("  returns (quantity < 0) %lld, rows without customer %lld\n"
               "  distinct: customers %lld, products %lld, orders %lld\n",
               (long long)ti->n_returns, (long long)ti->n_without_customer,
               (long long)ti->n_customers, (long long)ti->n_products, (long long)ti->n_orders);
    if (brief)
        return;
    printf("  %-24s %-10s %12s\n", "column", "type", "nulls");
    for (size_t j = 0; j < ti->n_cols; j++)
        printf("  %-24s %-10s %12lld\n", ti->cols[j].name, promo_col_type_name(ti->cols[j].type),
               (long long)ti->cols[j].n_null);
}

static void print_json(const promo_store_table_info *ti)
{
    printf("{\"name\": ");
    cli_json_str(stdout, ti->name);
    printf(", \"rows\": %lld, \"columns\": [", (long long)ti->n_rows);
    for (size_t j = 0; j < ti->n_cols; j++) {
        printf(j ? ", {\"name\": " : "{\"name\": ");
        cli_json_str(stdout, ti->cols[j].name);
        printf(", \"type\": \"%s\", \"nulls\": %lld}", promo_col_type_name(ti->cols[j].type),
               (long long)ti->cols[j].n_null);
    }
    printf("]");
    if (ti->has_date_range) {
        char a[32], b[32];
        promo_time_format(ti->date_min, 0, a, sizeof a);
        promo_time_format(ti->date_max, 0, b, sizeof b);
        printf(", \"date_column\": ");
        cli_json_str(stdout, ti->cols[ti->date_col].name);
        printf(", \"date_min\": \"%s\", \"date_max\": \"%s\"", a, b);
    }
    if (ti->is_transactions)
        printf(", \"returns\": %lld, \"rows_without_customer\": %lld, \"distinct_customers\": "
               "%lld, \"distinct_products\": %lld, \"distinct_orders\": %lld",
               (long long)ti->n_returns, (long long)ti->n_without_customer,
               (long long)ti->n_customers, (long long)ti->n_products, (long long)ti->n_orders);
    printf("}");
}

int cmd_info(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS;
    int json = 0, brief = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_JSON(&json), .help = "print the description as JSON"},
        {CLI_FLAG("brief", &brief), .help = "one line per table"},
        {0},
    };
    const cli_spec spec = {
        .name = "info",
        .usage = "usage: promo info --ws DIR [--brief] [--json]\n",
        .about = "Describe the tables of workspace DIR: rows, columns with null counts, date\n"
                 "ranges; for transactions also returns, rows without customer and distinct\n"
                 "customers, products and orders.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    promo_store *s = NULL;
    int rc = promo_store_open_read(ws, &s);
    if (rc)
        return cli_report(rc);
    char **names = NULL;
    size_t n = 0;
    if ((rc = promo_store_list_tables(s, &names, &n))) {
        promo_store_close(s);
        return cli_report(rc);
    }
    promo_store_table_info **tis = promo_calloc(n ? n : 1, sizeof *tis);
    if (!tis)
        rc = PROMO_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++)
        rc = promo_store_describe(s, names[i], &tis[i]);
    if (!rc) {
        if (json) {
            printf("{\"ws\": ");
            cli_json_str(stdout, ws);
            printf(", \"schema_version\": %d, \"tables\": [", PROMO_SCHEMA_VERSION);
            for (size_t i = 0; i < n; i++) {
                printf(i ? ", " : "");
                print_json(tis[i]);
            }
            printf("]}\n");
        } else {
            printf("workspace %s: schema version %d, %zu table%s\n", ws, PROMO_SCHEMA_VERSION, n,
                   n == 1 ? "" : "s");
            for (size_t i = 0; i < n; i++)
                print_text(tis[i], brief);
        }
    }
    for (size_t i = 0; tis && i < n; i++)
        promo_store_table_info_free(tis[i]);
    promo_free(tis);
    promo_free(names);
    promo_store_close(s);
    return cli_report(rc);
}
