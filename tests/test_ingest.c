/* End-to-end tests of `promo ingest` and `promo info` (the binary under PROMO_BIN), one test
 * per bad-input rule: exit status 2, a message naming the file (and line:column where there
 * is one), and a workspace left byte for byte as it was (t_dir_digest), or not created at
 * all when it did not exist. Fixtures: tests/fixtures/ingest/ (Online Retail and Hillstrom
 * cuts are from the CC BY 4.0 / public originals in ../shared/data). */
#include "t.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/profile.h>
#include <promo/store.h>
#include <promo/table.h>

#include "t_world.h"

#define FX "tests/fixtures/ingest/"

/* A workspace with customers, products and transactions from the canonical fixtures. */
static const char *good_ws(void)
{
    static char ws[600];
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    char args[1400];
    snprintf(args, sizeof args,
             "ingest --ws %s " FX "customers.csv " FX "products.csv " FX "transactions.csv", ws);
    char *err = NULL;
    int rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "setup ingest failed (%d): %s", rc, err);
    free(err);
    return ws;
}

/* Run `promo ARGS` (ARGS containing %s for the workspace) against an existing workspace and
 * (when also_fresh) against a path that does not exist; both must fail with status 2 and
 * `want` in stderr, leave the first unchanged and not create the second. */
static void expect_fail_ws(const char *args_fmt, const char *want, int also_fresh)
{
    const char *ws = good_ws();
    char *before = t_dir_digest(ws);
    char args[2400];
    snprintf(args, sizeof args, args_fmt, ws);
    char *err = NULL;
    int rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 2, "exit %d (want 2) for %s: %s", rc, args, err);
    T_ASSERT_CONTAINS(err, want);
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    free(after);
    free(before);
    if (!also_fresh)
        return;
    char fresh[600];
    snprintf(fresh, sizeof fresh, "%s/new-ws", t_tmpdir());
    snprintf(args, sizeof args, args_fmt, fresh);
    err = NULL;
    rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 2, "exit %d (want 2) for %s: %s", rc, args, err);
    T_ASSERT_CONTAINS(err, want);
    free(err);
    struct stat st;
    T_ASSERT_MSG(stat(fresh, &st) != 0, "a failed ingest created %s", fresh);
    /* nor any staging directory beside it */
    char *dir = t_dir_digest(fresh);
    T_ASSERT_STR_EQ(dir, "");
    free(dir);
}

static void sqlite3_exec_user_version(promo_store *s)
{
    T_ASSERT_EQ_INT(sqlite3_exec(promo_store_db(s), "PRAGMA user_version=99", NULL, NULL, NULL),
                    SQLITE_OK);
}

static void expect_fail(const char *args_fmt, const char *want)
{
    expect_fail_ws(args_fmt, want, 1);
}

static promo_table *read_ws_table(const char *ws, const char *name)
{
    promo_store *s = NULL;
    promo_table *t = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_read_table(s, name, &t));
    promo_store_close(s);
    return t;
}

/* ---- success paths ---- */

T_TEST(ingest_canonical_three_tables)
{
    const char *ws = good_ws();
    promo_table *t = read_ws_table(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 5);
    /* line numbered per order in file order when the file has none */
    const promo_column *line = promo_table_column(t, "line");
    T_ASSERT_EQ_INT(line->i64[0], 1);
    T_ASSERT_EQ_INT(line->i64[1], 2);
    T_ASSERT_EQ_INT(line->i64[2], 1);
    T_ASSERT_EQ_INT(promo_table_column(t, "customer_id")->n_null, 1);
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->type, PROMO_COL_TIMESTAMP);
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[2], 1609673400); /* 2021-01-03T11:30 */
    promo_table_free(t);
    t = read_ws_table(ws, "customers");
    T_ASSERT_EQ_INT(t->n_rows, 3);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "name"), 2), "Smith, Jo");
    T_ASSERT_EQ_INT(promo_table_column(t, "age")->n_null, 1);
    promo_table_free(t);
    char args[800], *out = NULL;
    snprintf(args, sizeof args, "info --ws %s --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"name\": \"transactions\", \"rows\": 5");
    T_ASSERT_CONTAINS(out, "\"returns\": 1, \"rows_without_customer\": 1, \"distinct_customers\": "
                           "3, \"distinct_products\": 3, \"distinct_orders\": 4");
    T_ASSERT_CONTAINS(out, "\"date_min\": \"2021-01-02T10:00:00\"");
    T_ASSERT_CONTAINS(out, "{\"name\": \"age\", \"type\": \"int64\", \"nulls\": 1}");
    free(out);
}

T_TEST(ingest_header_only_gives_empty_table)
{
    const char *ws = good_ws();
    char args[800], *out = NULL;
    snprintf(args, sizeof args, "ingest --ws %s --table transactions " FX "header_only.csv", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "transactions 0");
    free(out);
    promo_table *t = read_ws_table(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 0);
    promo_table_free(t);
}

T_TEST(ingest_map_renames_columns)
{
    const char *ws = good_ws();
    char args[900], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "ingest --ws %s --table transactions --map order_id=Invoice,customer_id=Client,"
             "product_id=SKU,ts=When,quantity=Qty,unit_price=Price --json " FX "sales_export.csv",
             ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "\"transactions\": 2");
    free(out);
    free(err);
    promo_table *t = read_ws_table(ws, "transactions");
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "product_id"), 1), "P3");
    promo_table_free(t);
    /* a mapped name that is no column at all is a usage error */
    snprintf(args, sizeof args,
             "ingest --ws %%s --table transactions --map order_id=Invoice,customer_id=Client,"
             "product_id=SKU,ts=When,quantity=Qty,unit_price=Price,nosuch=Qty " FX
             "sales_export.csv");
    expect_fail(args, "'nosuch' is not a column");
}

T_TEST(ingest_online_retail_fixture)
{
    char ws[600], args[900], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    snprintf(args, sizeof args,
             "ingest --ws %s --format online-retail --json " FX "online_retail_small.csv", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "\"rows_read\": 45, \"rows_rejected\": 0, \"transactions\": 45, "
                           "\"cancellations\": 3, \"returns\": 3, \"rows_without_customer\": 3, "
                           "\"customers\": 6, \"products\": 45, \"orders\": 11");
    T_ASSERT_CONTAINS(out, "\"stores\": 1");
    free(out);
    free(err);
    promo_table *p = read_ws_table(ws, "products");
    int k = -1;
    const promo_column *id = promo_table_column(p, "product_id");
    for (size_t r = 0; r < p->n_rows; r++)
        if (!strcmp(promo_column_str(id, r), "85123A"))
            k = (int)r;
    T_ASSERT(k >= 0);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(p, "name"), (size_t)k),
                    "WHITE HANGING HEART T-LIGHT HOLDER");
    T_ASSERT_NEAR(promo_table_column(p, "price")->f64[k], 2.55, 1e-9);
    promo_table_free(p);
    promo_table *c = read_ws_table(ws, "customers");
    T_ASSERT_EQ_INT(c->n_rows, 6);
    T_ASSERT_EQ_INT(promo_table_column(c, "location")->n_null, 0);
    promo_table_free(c);
}

T_TEST(ingest_online_retail_ii_fixture)
{
    char ws[600], args[900], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    snprintf(args, sizeof args,
             "ingest --ws %s --format online-retail --json " FX "online_retail_ii_small.csv", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "\"transactions\": 20, \"cancellations\": 0, \"returns\": 0, "
                           "\"rows_without_customer\": 0, \"customers\": 2, \"products\": 20, "
                           "\"orders\": 3");
    free(out);
    free(err);
}

T_TEST(ingest_hillstrom_fixture)
{
    char ws[600], args[900], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    snprintf(args, sizeof args, "ingest --ws %s --format hillstrom " FX "hillstrom_small.csv", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    free(out);
    free(err);
    promo_table *t = read_ws_table(ws, "experiment");
    T_ASSERT_EQ_INT(t->n_rows, 20);
    T_ASSERT_EQ_INT(promo_table_column(t, "row_id")->i64[19], 20);
    T_ASSERT_EQ_INT(promo_table_column(t, "mens")->type, PROMO_COL_BOOL);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "treatment"), 0), "Womens E-Mail");
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "history_segment"), 0),
                    "2) $100 - $200");
    promo_table_free(t);
}

/* ---- bad input: each rule its own test ---- */

T_TEST(ingest_fails_missing_required_column)
{
    expect_fail("ingest --ws %s --table transactions " FX "missing_column.csv",
                FX "missing_column.csv:1: missing required column 'product_id'");
}

T_TEST(ingest_fails_empty_file)
{
    expect_fail("ingest --ws %s --table transactions " FX "empty.csv", FX "empty.csv: empty file");
}

T_TEST(ingest_fails_duplicate_primary_key)
{
    expect_fail("ingest --ws %s --table transactions " FX "duplicate_key.csv",
                FX "duplicate_key.csv:5: duplicate key (order_id='O1', line=2): the same key is on "
                   "line 3");
}

T_TEST(ingest_fails_unknown_product)
{
    /* products in the same ingest: the file must be called transactions.csv */
    char path[600], args[1400], want[800];
    snprintf(path, sizeof path, "%s/transactions.csv", t_tmpdir());
    size_t n = 0;
    char *data = t_read_file(FX "unknown_product.csv", &n);
    t_write_file(path, data, n);
    free(data);
    snprintf(args, sizeof args, "ingest --ws %%s " FX "products.csv " FX "customers.csv %s", path);
    snprintf(want, sizeof want,
             "%s:4:3: column 'product_id': unknown product_id 'P9' (not in products from " FX
             "products.csv",
             path);
    expect_fail(args, want);
}

T_TEST(ingest_fails_unknown_product_in_workspace)
{
    /* only the workspace has products: a fresh one has nothing to check against */
    expect_fail_ws("ingest --ws %s --table transactions " FX "unknown_product.csv",
                   FX "unknown_product.csv:4:3: column 'product_id': unknown product_id 'P9' (not "
                      "in products from the workspace",
                   0);
}

T_TEST(ingest_fails_unknown_customer)
{
    expect_fail_ws("ingest --ws %s --table transactions --unknown error " FX "unknown_customer.csv",
                   FX "unknown_customer.csv:3:2: column 'customer_id': unknown customer_id 'C7'",
                   0);
}

T_TEST(ingest_unknown_skip_reports_rejects)
{
    const char *ws = good_ws();
    char args[900], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "ingest --ws %s --table transactions --unknown skip " FX "unknown_product.csv", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "rows rejected                       1");
    free(out);
    free(err);
    promo_table *t = read_ws_table(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 3);
    promo_table_free(t);
    char path[700];
    snprintf(path, sizeof path, "%s/out/rejects-transactions.csv", ws);
    char *rej = t_read_file(path, NULL);
    T_ASSERT_CONTAINS(rej, "file,line,column,reason,raw\n");
    T_ASSERT_CONTAINS(rej, "unknown_product.csv\",4,3,\"column 'product_id': unknown "
                           "product_id 'P9' (not in products)\",\"O3,C2,P9,2021-01-04 "
                           "11:30:00,1,9.99\"");
    free(rej);
}

T_TEST(ingest_unknown_add_creates_dimension_rows)
{
    const char *ws = good_ws();
    char args[900], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "ingest --ws %s --table transactions --unknown add --json " FX "unknown_product.csv",
             ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "\"unknown_added\": 1");
    free(out);
    free(err);
    promo_table *p = read_ws_table(ws, "products");
    T_ASSERT_EQ_INT(p->n_rows, 4);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(p, "product_id"), 3), "P9");
    T_ASSERT(promo_column_is_null(promo_table_column(p, "name"), 3));
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(p, "name"), 0), "Mug"); /* kept */
    promo_table_free(p);
}

T_TEST(ingest_fails_nul_byte)
{
    char path[600];
    snprintf(path, sizeof path, "%s/transactions.csv", t_tmpdir());
    const char data[] = "order_id,customer_id,product_id,ts,quantity,unit_price\n"
                        "O1,C1,P1,2021-01-02 10:00:00,2,4.5\n"
                        "O2,C2,P\0003,2021-01-03 11:30:00,1,7\n";
    t_write_file(path, data, sizeof data - 1);
    char args[900], want[700];
    snprintf(args, sizeof args, "ingest --ws %%s %s", path);
    snprintf(want, sizeof want, "%s:3:3:", path);
    expect_fail(args, want);
    expect_fail(args, "NUL");
}

T_TEST(ingest_fails_10mb_line)
{
    char path[600];
    snprintf(path, sizeof path, "%s/transactions.csv", t_tmpdir());
    const char head[] = "order_id,customer_id,product_id,ts,quantity,unit_price\n"
                        "O1,C1,P1,2021-01-02 10:00:00,2,4.5\nO2,C2,";
    size_t big = (size_t)10 << 20, n = sizeof head - 1;
    char *data = malloc(n + big + 64);
    memcpy(data, head, n);
    memset(data + n, 'x', big);
    n += big;
    const char tail[] = ",2021-01-03 11:30:00,1,7\n";
    memcpy(data + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    t_write_file(path, data, n);
    free(data);
    char args[900], want[700];
    snprintf(args, sizeof args, "ingest --ws %%s %s", path);
    snprintf(want, sizeof want, "%s:3:3:", path);
    expect_fail(args, want);
}

T_TEST(ingest_fails_invalid_utf8)
{
    expect_fail("ingest --ws %s --table transactions " FX "invalid_utf8.csv",
                FX "invalid_utf8.csv:3:2:");
}

T_TEST(ingest_fails_missing_file)
{
    expect_fail("ingest --ws %s " FX "no_such_file.csv",
                FX "no_such_file.csv: cannot open: No such file or directory");
}

T_TEST(ingest_fails_unwritable_workspace)
{
    /* A path through a regular file cannot be created, even by root. */
    const char *dir = t_tmpdir();
    char file[600], args[1400], *err = NULL;
    snprintf(file, sizeof file, "%s/somefile", dir);
    t_write_file(file, "x\n", 2);
    char *before = t_dir_digest(dir);
    snprintf(args, sizeof args, "ingest --ws %s/ws " FX "customers.csv", file);
    int rc = t_promo(args, NULL, &err);
    T_ASSERT_EQ_INT(rc, 2);
    T_ASSERT_CONTAINS(err, "somefile/ws");
    T_ASSERT_CONTAINS(err, "Not a directory");
    free(err);
    char *after = t_dir_digest(dir);
    T_ASSERT_STR_EQ(after, before);
    free(before);
    free(after);
}

T_TEST(ingest_fails_schema_version_mismatch)
{
    const char *ws = good_ws();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    sqlite3_exec_user_version(s);
    promo_store_close(s);
    char *before = t_dir_digest(ws);
    char args[900], *err = NULL, want[800];
    snprintf(args, sizeof args, "ingest --ws %s " FX "customers.csv", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    snprintf(want, sizeof want, "workspace %s has schema version 99; this promo reads version", ws);
    T_ASSERT_CONTAINS(err, want);
    free(err);
    snprintf(args, sizeof args, "info --ws %s", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, want);
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    free(before);
    free(after);
}

T_TEST(ingest_skip_bad_rows_writes_rejects)
{
    const char *ws = good_ws();
    char args[900], *out = NULL, *err = NULL;
    /* without the flag: the first bad row stops everything */
    snprintf(args, sizeof args, "ingest --ws %%s --table transactions " FX "bad_rows.csv");
    expect_fail(args, FX "bad_rows.csv:3:5: column 'quantity': expected a number");
    snprintf(args, sizeof args,
             "ingest --ws %s --table transactions --skip-bad-rows " FX "bad_rows.csv", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "rows rejected                       2");
    T_ASSERT_CONTAINS(out, "rejects-transactions.csv (2 rows)");
    free(out);
    free(err);
    char path[700];
    snprintf(path, sizeof path, "%s/out/rejects-transactions.csv", ws);
    char *rej = t_read_file(path, NULL);
    T_ASSERT(rej != NULL);
    T_ASSERT_CONTAINS(rej, "bad_rows.csv\",3,5,\"column 'quantity': expected a number");
    T_ASSERT_CONTAINS(rej, "bad_rows.csv\",4,4,\"column 'ts'");
    free(rej);
    promo_table *t = read_ws_table(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 2);
    promo_table_free(t);
}

T_TEST(ingest_usage_errors)
{
    char *err = NULL, *out = NULL;
    T_ASSERT_EQ_INT(t_promo("ingest --help", &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "usage: promo ingest");
    free(out);
    T_ASSERT_EQ_INT(
        t_promo("ingest --ws /nonexistent/x --format nope " FX "customers.csv", NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "unknown format 'nope'");
    free(err);
    T_ASSERT_EQ_INT(t_promo("ingest --unknown maybe " FX "customers.csv", NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "expected error, skip or add");
    free(err);
    T_ASSERT_EQ_INT(t_promo("ingest --ws /tmp/x", NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "no input FILE");
    free(err);
    char args[700];
    snprintf(args, sizeof args, "info --ws %s/absent", t_tmpdir());
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "absent");
    free(err);
}

/* ---- the real data sets (skipped when absent) ---- */

/* The optimised binary beside the sanitized one, when it is built: a 540k-row file under
 * ASan takes a long time and the code paths are the fixture tests' own. */
static void fast_promo(const char *args, int *rc, char **out, char **err)
{
    char bin[600];
    snprintf(bin, sizeof bin, "%s", t_promo_bin());
    char *asan = strstr(bin, "/asan/");
    if (asan)
        memmove(asan, asan + 5, strlen(asan + 5) + 1);
    if (access(bin, X_OK) != 0)
        snprintf(bin, sizeof bin, "%s", t_promo_bin());
    size_t len = strlen(bin) + strlen(args) + 8;
    char *cmd = malloc(len);
    snprintf(cmd, len, "%s %s", bin, args);
    *rc = t_sh(cmd, out, err);
    free(cmd);
}

T_TEST(ingest_real_online_retail)
{
    const char *src = t_shared_data("online_retail/online_retail.csv");
    if (!src)
        T_SKIP("../shared/data/online_retail/online_retail.csv is absent");
    char ws[600], args[1400], *out = NULL, *err = NULL;
    int rc;
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    snprintf(args, sizeof args, "ingest --ws %s --format online-retail --json %s", ws, src);
    fast_promo(args, &rc, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    /* The catalogue's figures (CATALOG.md): 541,909 lines, 9,288 cancellation lines, 135,080
     * without customer, 4,372 customers, 25,900 invoices, 4,070 stock codes. */
    T_ASSERT_CONTAINS(out, "\"rows_read\": 541909, \"rows_rejected\": 0, \"transactions\": 541909, "
                           "\"cancellations\": 9288");
    T_ASSERT_CONTAINS(out, "\"rows_without_customer\": 135080, \"customers\": 4372, "
                           "\"products\": 4070, \"orders\": 25900");
    free(out);
    free(err);
    snprintf(args, sizeof args, "info --ws %s --json", ws);
    fast_promo(args, &rc, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "\"date_min\": \"2010-12-01T08:26:00\", \"date_max\": "
                           "\"2011-12-09T12:50:00\"");
    T_ASSERT_CONTAINS(out, "\"rows_without_customer\": 135080, \"distinct_customers\": 4372, "
                           "\"distinct_products\": 4070, \"distinct_orders\": 25900");
    free(out);
    free(err);
}

T_TEST(ingest_real_online_retail_ii)
{
    const char *src = t_shared_data("online_retail_ii/online_retail_ii_2009-2010.csv");
    if (!src)
        T_SKIP("../shared/data/online_retail_ii/online_retail_ii_2009-2010.csv is absent");
    char ws[600], args[1400], *out = NULL, *err = NULL;
    int rc;
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    snprintf(args, sizeof args, "ingest --ws %s --format online-retail --json %s", ws, src);
    fast_promo(args, &rc, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    /* CATALOG.md: 525,461 lines, 107,927 without customer, 28,816 invoices, 4,383 customers */
    T_ASSERT_CONTAINS(out, "\"rows_read\": 525461, \"rows_rejected\": 0, \"transactions\": 525461");
    T_ASSERT_CONTAINS(out, "\"rows_without_customer\": 107927, \"customers\": 4383");
    T_ASSERT_CONTAINS(out, "\"orders\": 28816");
    free(out);
    free(err);
}

/* Allocation failures inside the profile code: every allocation of reading the Online Retail
 * fixture made to fail in turn (clean PROMO_ENOMEM, no leak), then a sample of those of the
 * commit into a new workspace (clean error, no workspace left behind). */
T_TEST(ingest_alloc_failure_loop)
{
    const char *files[] = {FX "online_retail_small.csv"};
    promo_ingest_options o = promo_ingest_options_default();
    o.format = "online-retail";
    o.n_threads = 1;
    long total = 0;
    for (long k = 1;; k++) {
        promo_ingest *ing = NULL;
        promo_alloc_fail_at(k);
        int rc = promo_ingest_read(&o, files, 1, &ing);
        long used = promo_alloc_fail_at(0);
        T_ASSERT_MSG(rc == PROMO_OK || rc == PROMO_ENOMEM, "k=%ld: %d %s", k, rc,
                     promo_last_error());
        T_ASSERT_MSG((rc == 0) == (ing != NULL), "k=%ld: result and status disagree", k);
        promo_ingest_free(ing);
        if (used < k) {
            total = used;
            break;
        }
    }
    T_ASSERT(total > 50);
    for (long k = 1;; k += 17) {
        promo_ingest *ing = NULL;
        T_OK(promo_ingest_read(&o, files, 1, &ing));
        char ws[600];
        snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
        promo_store *s = NULL;
        promo_alloc_fail_at(k);
        int rc = promo_store_open(ws, 1, &s);
        if (!rc)
            rc = promo_ingest_commit(ing, s);
        long used = promo_alloc_fail_at(0);
        T_ASSERT_MSG(rc == PROMO_OK || rc == PROMO_ENOMEM, "k=%ld: %d %s", k, rc,
                     promo_last_error());
        promo_store_close(s);
        promo_ingest_free(ing);
        struct stat st;
        T_ASSERT_MSG(rc == 0 || stat(ws, &st) != 0, "k=%ld: failed commit left %s", k, ws);
        if (used < k)
            break;
    }
}

/* Re-ingesting the data under a trained model: the model is refused and the stored evaluation
 * is flagged as describing data that is gone (issue 11's "derived tables and models"). */
T_TEST(ingest_replacing_data_flags_evaluations_and_refuses_models)
{
    char ws[1024], args[3000];
    t_world_write(ws, sizeof ws, 200, 20, 4, 10, 6000);
    snprintf(args, sizeof args, "train --ws %s -q --no-baselines", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    char *err = NULL;
    snprintf(args, sizeof args, "evaluate --ws %s", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 0);
    T_ASSERT(!strstr(err, "replaced"));
    free(err);
    snprintf(args, sizeof args,
             "ingest --ws %s -q --table transactions --unknown add " FX "transactions.csv", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "evaluate --ws %s", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 0);
    T_ASSERT_CONTAINS(err, "made from data that has since been replaced");
    free(err);
    snprintf(args, sizeof args, "score --ws %s --target any", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "replaced");
    free(err);
}

/* ---- --append: a second month's file adds chunks ---- */

/* Every row of the chunk table of transactions (id and bytes), one string per row. */
static char *chunk_rows(const char *ws)
{
    promo_store *s = NULL;
    T_OK(promo_store_open_read(ws, &s));
    sqlite3_stmt *st = NULL;
    T_ASSERT_EQ_INT(sqlite3_prepare_v2(promo_store_db(s),
                                       "SELECT group_concat(x, ',') FROM (SELECT id || ':' || "
                                       "hex(data) x FROM promo_chunks__transactions ORDER BY id)",
                                       -1, &st, NULL),
                    SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    promo_store_close(s);
    return v;
}

#define MONTH2                                                         \
    "order_id,customer_id,product_id,ts,quantity,unit_price,channel\n" \
    "O5,C1,P3,2021-02-02 10:00:00,1,7,phone\n"                         \
    "O5,C1,P1,2021-02-02 10:00:00,2,4.5,phone\n"                       \
    "O6,,P2,2021-02-03 10:00:00,1,3.25,store\n"

T_TEST(ingest_append_adds_chunks_and_leaves_the_stored_ones)
{
    const char *ws = good_ws();
    char feb[700], args[2000], *out = NULL, *err = NULL;
    snprintf(feb, sizeof feb, "%s/feb.csv", t_tmpdir());
    t_write_file(feb, MONTH2, strlen(MONTH2));
    char *before = chunk_rows(ws);
    snprintf(args, sizeof args, "ingest --ws %s --append transactions=%s", ws, feb);
    T_ASSERT_MSG(t_promo(args, &out, &err) == 0, "append failed: %s", err);
    free(out);
    free(err);
    /* the first ingest's chunk rows are all there, same ids, same bytes */
    char *after = chunk_rows(ws);
    T_ASSERT(strlen(after) > strlen(before));
    for (char *item = strtok(before, ","); item; item = strtok(NULL, ","))
        T_ASSERT_MSG(strstr(after, item) != NULL, "chunk row %.30s was rewritten", item);
    free(after);
    free(before);
    /* the table is January then February */
    promo_table *t = read_ws_table(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 8);
    static const char *const orders[] = {"O1", "O1", "O2", "O3", "O4", "O5", "O5", "O6"};
    static const char *const channels[] = {"online", "online", "store", "store",
                                           "online", "phone",  "phone", "store"};
    for (size_t r = 0; r < 8; r++) {
        T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "order_id"), r), orders[r]);
        T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "channel"), r), channels[r]);
    }
    T_ASSERT_EQ_INT(promo_table_column(t, "line")->i64[6], 2);
    T_ASSERT_EQ_INT(promo_table_column(t, "customer_id")->n_null, 2);
    promo_table_free(t);
    /* promo info adds the new chunks' statistics up */
    snprintf(args, sizeof args, "info --ws %s --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"name\": \"transactions\", \"rows\": 8");
    T_ASSERT_CONTAINS(out, "\"returns\": 1, \"rows_without_customer\": 2, \"distinct_customers\": "
                           "3, \"distinct_products\": 3, \"distinct_orders\": 6");
    T_ASSERT_CONTAINS(out, "\"date_max\": \"2021-02-03T10:00:00\"");
    free(out);
    /* the same month again: its keys are stored already; refused, nothing changes */
    char *digest = t_dir_digest(ws);
    snprintf(args, sizeof args, "ingest --ws %s --append transactions=%s", ws, feb);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(
        err, "feb.csv: table 'transactions': duplicate primary key (order_id='O5', line=1)");
    T_ASSERT_CONTAINS(err, "already stored (--append)");
    free(err);
    char *now = t_dir_digest(ws);
    T_ASSERT_STR_EQ(now, digest);
    free(now);
    free(digest);
}

T_TEST(ingest_append_killed_leaves_the_old_table)
{
    const char *ws = good_ws();
    char feb[700], db[700], cmd[3000], *out = NULL;
    snprintf(feb, sizeof feb, "%s/feb.csv", t_tmpdir());
    snprintf(db, sizeof db, "%s/promo.db", ws);
    t_write_file(feb, MONTH2, strlen(MONTH2));
    size_t n0 = 0, n1 = 0;
    char *old = t_read_file(db, &n0);
    /* killed after its chunk rows were written, before the commit */
    snprintf(cmd, sizeof cmd,
             "PROMO_KILL_AT=chunk:1 %s ingest -q --ws %s --append transactions=%s "
             ">/dev/null 2>&1",
             t_promo_bin(), ws, feb);
    int st = system(cmd);
    T_ASSERT_MSG(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) >= 128),
                 "not killed: status %d", st);
    /* promo.db is byte for byte the old one (SQLite's rollback journal may be left beside it:
     * the next writer removes it), info works and shows the old table */
    char *now = t_read_file(db, &n1);
    T_ASSERT(n0 == n1 && !memcmp(old, now, n0));
    free(now);
    free(old);
    snprintf(cmd, sizeof cmd, "info --ws %s", ws);
    T_ASSERT_EQ_INT(t_promo(cmd, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "transactions: 5 rows");
    free(out);
    /* and the append done again goes through */
    snprintf(cmd, sizeof cmd, "ingest -q --ws %s --append transactions=%s", ws, feb);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, NULL), 0);
    promo_table *t = read_ws_table(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 8);
    promo_table_free(t);
}
