/* promo info: what a workspace holds. Per table: rows, columns with their promo types and
 * null counts, the date range of its first timestamp column; for transactions also returns,
 * rows without a customer and distinct customers, products and orders.
 *
 * Everything is computed in SQL (one scan per table for the counts; the indexes serve the
 * ranges and distinct counts), so info on millions of rows takes a second, not a load.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

#define MAX_COLS 512

typedef struct col_info {
    char name[128];  /* column name */
    char type[16];   /* promo type name */
    long long nulls; /* null rows */
} col_info;

typedef struct table_info {
    char name[128];
    long long rows;
    col_info *cols;
    int n_cols;
    int ts_col;               /* index of the first timestamp column, -1 if none */
    long long ts_min, ts_max; /* its range (when rows > 0 and not all null) */
    int has_range;
    int is_tx; /* transactions: the extra figures below are set */
    long long returns, no_customer, customers, products, orders;
} table_info;

/* Append a double-quoted SQL identifier. */
static size_t put_ident(char *buf, size_t at, size_t cap, const char *name)
{
    if (at < cap)
        buf[at++] = '"';
    for (const char *p = name; *p && at + 2 < cap; p++) {
        if (*p == '"')
            buf[at++] = '"';
        buf[at++] = *p;
    }
    if (at < cap)
        buf[at++] = '"';
    if (at < cap)
        buf[at] = '\0';
    return at;
}

static int db_error(sqlite3 *db, const char *ws, const char *what)
{
    return promo_fail(PROMO_EDB, "%s/promo.db: %s: %s", ws, what, sqlite3_errmsg(db));
}

/* Tables promo wrote are views joining dictionaries back onto promo_data__T (store.h); counts,
 * nulls, ranges and distinct counts are the same on the codes, and far cheaper there. */
static void data_source(sqlite3 *db, const char *table, char *out, size_t n)
{
    snprintf(out, n, "%s", table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM sqlite_master WHERE type='table' AND "
                           "name='promo_data__' || ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, n, "promo_data__%s", table);
    sqlite3_finalize(st);
}

/* Distinct non-null values of a column. A table promo wrote keeps exactly the values its rows
 * use in the column's dictionary table (store.c), so counting that table replaces a DISTINCT
 * over every row (most of `info`'s time on millions of orders); other tables get the DISTINCT. */
static int distinct_count(sqlite3 *db,
                          const char *ws,
                          const char *table,
                          const char *source,
                          const char *column,
                          long long *out)
{
    sqlite3_stmt *st = NULL;
    char dict[300] = "";
    if (sqlite3_prepare_v2(db,
                           "SELECT dict FROM promo_columns WHERE table_name=?1 AND column_name=?2 "
                           "AND dict IS NOT NULL",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(dict, sizeof dict, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st); /* a workspace without promo_columns has no dictionaries */
    char q[1024];
    size_t at = (size_t)snprintf(q, sizeof q, "SELECT count(*) FROM ");
    if (dict[0]) {
        put_ident(q, at, sizeof q, dict);
    } else {
        at = (size_t)snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT DISTINCT ");
        at = put_ident(q, at, sizeof q, column);
        at += (size_t)snprintf(q + at, sizeof q - at, " FROM ");
        at = put_ident(q, at, sizeof q, source);
        at += (size_t)snprintf(q + at, sizeof q - at, " WHERE ");
        at = put_ident(q, at, sizeof q, column);
        snprintf(q + at, sizeof q - at, " IS NOT NULL)");
    }
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, ws, "distinct counts");
    int rc = PROMO_OK;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_error(db, ws, "distinct counts");
    sqlite3_finalize(st);
    return rc;
}

static int describe(sqlite3 *db, const char *ws, const char *table, table_info *ti)
{
    char source[300];
    data_source(db, table, source, sizeof source);
    memset(ti, 0, sizeof *ti);
    snprintf(ti->name, sizeof ti->name, "%s", table);
    ti->ts_col = -1;
    sqlite3_stmt *st = NULL;
    const char *q = "SELECT c.name, coalesce(p.type, CASE upper(c.type) WHEN 'INTEGER' THEN "
                    "'int64' WHEN 'REAL' THEN 'float64' ELSE 'string' END) FROM "
                    "pragma_table_info(?1) c LEFT JOIN promo_columns p ON p.table_name=?1 AND "
                    "p.column_name=c.name ORDER BY c.cid";
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, ws, "columns");
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    ti->cols = promo_calloc(MAX_COLS, sizeof *ti->cols);
    if (!ti->cols) {
        sqlite3_finalize(st);
        return PROMO_ENOMEM;
    }
    while (sqlite3_step(st) == SQLITE_ROW && ti->n_cols < MAX_COLS) {
        col_info *c = &ti->cols[ti->n_cols];
        snprintf(c->name, sizeof c->name, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(c->type, sizeof c->type, "%s", (const char *)sqlite3_column_text(st, 1));
        if (ti->ts_col < 0 && !strcmp(c->type, "timestamp"))
            ti->ts_col = ti->n_cols;
        ti->n_cols++;
    }
    sqlite3_finalize(st);
    /* One scan: count(*), count(col) per column, and the timestamp range. */
    size_t cap = 256 + (size_t)ti->n_cols * 300, at = 0;
    char *sql = promo_malloc(cap);
    if (!sql)
        return PROMO_ENOMEM;
    at += (size_t)snprintf(sql, cap, "SELECT count(*)");
    for (int j = 0; j < ti->n_cols; j++) {
        at += (size_t)snprintf(sql + at, cap - at, ", count(");
        at = put_ident(sql, at, cap, ti->cols[j].name);
        at += (size_t)snprintf(sql + at, cap - at, ")");
    }
    if (ti->ts_col >= 0) {
        for (int k = 0; k < 2; k++) {
            at += (size_t)snprintf(sql + at, cap - at, k ? ", max(" : ", min(");
            at = put_ident(sql, at, cap, ti->cols[ti->ts_col].name);
            at += (size_t)snprintf(sql + at, cap - at, ")");
        }
    }
    at += (size_t)snprintf(sql + at, cap - at, " FROM ");
    put_ident(sql, at, cap, source);
    int rc = PROMO_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        promo_free(sql);
        return db_error(db, ws, "count");
    }
    promo_free(sql);
    if (sqlite3_step(st) == SQLITE_ROW) {
        ti->rows = sqlite3_column_int64(st, 0);
        for (int j = 0; j < ti->n_cols; j++)
            ti->cols[j].nulls = ti->rows - sqlite3_column_int64(st, j + 1);
        if (ti->ts_col >= 0 && sqlite3_column_type(st, ti->n_cols + 1) != SQLITE_NULL) {
            ti->has_range = 1;
            ti->ts_min = sqlite3_column_int64(st, ti->n_cols + 1);
            ti->ts_max = sqlite3_column_int64(st, ti->n_cols + 2);
        }
    } else {
        rc = db_error(db, ws, "count");
    }
    sqlite3_finalize(st);
    if (rc || strcmp(table, "transactions") != 0)
        return rc;
    ti->is_tx = 1;
    char tq[2048];
    snprintf(tq, sizeof tq,
             "SELECT (SELECT count(*) FROM \"%s\" WHERE quantity < 0), "
             "(SELECT count(*) FROM \"%s\" WHERE customer_id IS NULL)",
             source, source);
    if (sqlite3_prepare_v2(db, tq, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, ws, "transactions figures");
    if (sqlite3_step(st) == SQLITE_ROW) {
        ti->returns = sqlite3_column_int64(st, 0);
        ti->no_customer = sqlite3_column_int64(st, 1);
    } else {
        rc = db_error(db, ws, "transactions figures");
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = distinct_count(db, ws, table, source, "customer_id", &ti->customers);
    if (!rc)
        rc = distinct_count(db, ws, table, source, "product_id", &ti->products);
    if (!rc)
        rc = distinct_count(db, ws, table, source, "order_id", &ti->orders);
    return rc;
}

static void print_text(const table_info *ti, int brief)
{
    printf("%s: %lld rows", ti->name, ti->rows);
    if (ti->has_range) {
        char a[32], b[32];
        promo_time_format(ti->ts_min, 0, a, sizeof a);
        promo_time_format(ti->ts_max, 0, b, sizeof b);
        printf(", %s %s .. %s", ti->cols[ti->ts_col].name, a, b);
    }
    printf("\n");
    if (ti->is_tx)
        printf("  returns (quantity < 0) %lld, rows without customer %lld\n"
               "  distinct: customers %lld, products %lld, orders %lld\n",
               ti->returns, ti->no_customer, ti->customers, ti->products, ti->orders);
    if (brief)
        return;
    printf("  %-24s %-10s %12s\n", "column", "type", "nulls");
    for (int j = 0; j < ti->n_cols; j++)
        printf("  %-24s %-10s %12lld\n", ti->cols[j].name, ti->cols[j].type, ti->cols[j].nulls);
}

static void print_json(const table_info *ti)
{
    printf("{\"name\": ");
    cli_json_str(stdout, ti->name);
    printf(", \"rows\": %lld, \"columns\": [", ti->rows);
    for (int j = 0; j < ti->n_cols; j++) {
        printf(j ? ", {\"name\": " : "{\"name\": ");
        cli_json_str(stdout, ti->cols[j].name);
        printf(", \"type\": \"%s\", \"nulls\": %lld}", ti->cols[j].type, ti->cols[j].nulls);
    }
    printf("]");
    if (ti->has_range) {
        char a[32], b[32];
        promo_time_format(ti->ts_min, 0, a, sizeof a);
        promo_time_format(ti->ts_max, 0, b, sizeof b);
        printf(", \"date_column\": ");
        cli_json_str(stdout, ti->cols[ti->ts_col].name);
        printf(", \"date_min\": \"%s\", \"date_max\": \"%s\"", a, b);
    }
    if (ti->is_tx)
        printf(", \"returns\": %lld, \"rows_without_customer\": %lld, \"distinct_customers\": "
               "%lld, \"distinct_products\": %lld, \"distinct_orders\": %lld",
               ti->returns, ti->no_customer, ti->customers, ti->products, ti->orders);
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
    int rc = promo_store_open(ws, 0, &s);
    if (rc)
        return cli_report(rc);
    char **names = NULL;
    size_t n = 0;
    if ((rc = promo_store_list_tables(s, &names, &n))) {
        promo_store_close(s);
        return cli_report(rc);
    }
    table_info *tis = promo_calloc(n ? n : 1, sizeof *tis);
    if (!tis)
        rc = PROMO_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++)
        rc = describe(promo_store_db(s), ws, names[i], &tis[i]);
    if (!rc) {
        if (json) {
            printf("{\"ws\": ");
            cli_json_str(stdout, ws);
            printf(", \"schema_version\": %d, \"tables\": [", PROMO_SCHEMA_VERSION);
            for (size_t i = 0; i < n; i++) {
                printf(i ? ", " : "");
                print_json(&tis[i]);
            }
            printf("]}\n");
        } else {
            printf("workspace %s: schema version %d, %zu table%s\n", ws, PROMO_SCHEMA_VERSION, n,
                   n == 1 ? "" : "s");
            for (size_t i = 0; i < n; i++)
                print_text(&tis[i], brief);
        }
    }
    for (size_t i = 0; tis && i < n; i++)
        promo_free(tis[i].cols);
    promo_free(tis);
    promo_free(names);
    promo_store_close(s);
    return cli_report(rc);
}
