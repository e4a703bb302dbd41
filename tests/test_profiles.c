/* The source options of `promo ingest` (--sep, --no-header/--columns, --set, --amount,
 * --ignore, --ts-format, --recode, TABLE=FILE) and the dataset profiles (cdnow, taobao, tmall,
 * groceries, obd, instacart, dunnhumby, lenta, criteo), on small cuts of the public files in
 * tests/fixtures/ingest/prof/ (first lines of the files in ../shared/data, see CATALOG.md).
 * Every bad input: exit 2, FILE[:LINE:COL] in the message, the workspace unchanged. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/profile.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>

#include "t.h"

#define PF "tests/fixtures/ingest/prof/"

static char *ws_path(const char *name)
{
    static char ws[8][600];
    static int k;
    char *w = ws[k++ % 8];
    snprintf(w, 600, "%s/%s", t_tmpdir(), name);
    return w;
}

/* Run `promo ARGS` (%s = ws); it must succeed. Returns stdout (free it). */
static char *ok(const char *ws, const char *fmt)
{
    char args[3000], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, fmt, ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d for %s: %s", rc, args, err);
    free(err);
    return out;
}

/* Run `promo ARGS` (%s = ws) against a workspace made by `setup` (or none); it must fail
 * with 2, `want` in stderr, and leave the workspace byte for byte as it was. */
static void bad(const char *setup, const char *fmt, const char *want)
{
    char *ws = ws_path("bad-ws");
    if (setup)
        free(ok(ws, setup));
    char *before = t_dir_digest(ws);
    char args[3000], *err = NULL;
    snprintf(args, sizeof args, fmt, ws);
    int rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 2, "exit %d (want 2) for %s: %s", rc, args, err);
    T_ASSERT_CONTAINS(err, want);
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    free(after);
    free(before);
}

static promo_table *table_of(const char *ws, const char *name)
{
    promo_store *s = NULL;
    promo_table *t = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_read_table(s, name, &t));
    promo_store_close(s);
    return t;
}

static long find_row(const promo_table *t, const char *col, const char *v)
{
    const promo_column *c = promo_table_column(t, col);
    for (size_t r = 0; c && r < t->n_rows; r++)
        if (!strcmp(promo_column_str(c, r), v))
            return (long)r;
    return -1;
}

/* ---- source options ---- */

T_TEST(ingest_opt_whitespace_no_header_amount_set)
{
    char *ws = ws_path("blanks");
    free(ok(ws, "ingest --ws %s --table transactions --sep space --no-header --columns "
                "customer_id,date,qty,value --map ts=date,quantity=qty --amount value --set "
                "product_id=CD,order_id=X " PF "blanks.txt"));
    promo_table *t = table_of(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 3);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "customer_id"), 0), "001");
    T_ASSERT_NEAR(promo_table_column(t, "unit_price")->f64[0], 5.0, 1e-12);
    T_ASSERT_NEAR(promo_table_column(t, "unit_price")->f64[2], 5.0, 1e-12);
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[2], 1609804800); /* 2021-01-05 */
    T_ASSERT_EQ_INT(promo_table_column(t, "line")->i64[2], 3);
    promo_table_free(t);
    /* --columns must name every field */
    bad(NULL,
        "ingest --ws %s --table transactions --sep space --no-header --columns a,b " PF
        "blanks.txt",
        PF "blanks.txt:1: --columns names 2 fields but the first line has 4");
    bad(NULL, "ingest --ws %s --table transactions --no-header " PF "blanks.txt",
        "--no-header needs --columns");
    bad(NULL, "ingest --ws %s --table transactions --sep ab " PF "blanks.txt", "--sep");
}

/* --orders: a transactions file without order ids (a rating log) gets one order of a
 * customer's lines in the same second, or day; lines numbered within each. */
T_TEST(ingest_opt_orders_made_from_customer_and_time)
{
    char *ws = ws_path("orders");
    free(ok(ws, "ingest --ws %s --table transactions --sep tab --no-header --columns "
                "customer_id,product_id,quantity,ts --ts-format epoch --set unit_price=1 "
                "--orders customer-second " PF "ratings.tsv"));
    promo_table *t = table_of(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 5);
    const promo_column *o = promo_table_column(t, "order_id"), *l = promo_table_column(t, "line");
    T_ASSERT_STR_EQ(promo_column_str(o, 0), "7@881250949");
    T_ASSERT_STR_EQ(promo_column_str(o, 1), "7@881250949");
    T_ASSERT_STR_EQ(promo_column_str(o, 2), "7@881251000");
    T_ASSERT_STR_EQ(promo_column_str(o, 3), "8@881250949");
    T_ASSERT_EQ_INT(l->i64[1], 2);
    T_ASSERT_EQ_INT(l->i64[2], 1);
    promo_table_free(t);
    free(ok(ws, "ingest --ws %s --table transactions --sep tab --no-header --columns "
                "customer_id,product_id,quantity,ts --ts-format epoch --set unit_price=1 "
                "--orders customer-day " PF "ratings.tsv"));
    t = table_of(ws, "transactions");
    o = promo_table_column(t, "order_id");
    l = promo_table_column(t, "line");
    T_ASSERT_STR_EQ(promo_column_str(o, 2), "7@1997-12-04"); /* 881251000 */
    T_ASSERT_EQ_INT(l->i64[2], 3);                           /* the day's third line */
    T_ASSERT_STR_EQ(promo_column_str(o, 4), "7@1997-12-05");
    T_ASSERT_EQ_INT(l->i64[4], 1);
    promo_table_free(t);
    /* without it, the missing order id says what makes one; the option's misuses */
    bad(NULL,
        "ingest --ws %s --table transactions --sep tab --no-header --columns "
        "customer_id,product_id,quantity,ts --ts-format epoch --set unit_price=1 " PF "ratings.tsv",
        "--orders customer-second (or customer-day)");
    bad(NULL,
        "ingest --ws %s --table transactions --sep tab --no-header --columns "
        "customer_id,product_id,quantity,ts --ts-format epoch --set unit_price=1 --orders "
        "weekly " PF "ratings.tsv",
        "--orders weekly: expected customer-second or customer-day");
    bad(NULL,
        "ingest --ws %s --table transactions --sep tab --no-header --columns "
        "order_id,product_id,quantity,ts --ts-format epoch --set unit_price=1,customer_id=c "
        "--orders customer-day " PF "ratings.tsv",
        "has an order id column");
    bad(NULL, "ingest --ws %s --table products --orders customer-day " PF "products_p1.csv",
        "--orders goes with the transactions table");
    bad(NULL, "ingest --ws %s --format taobao --orders customer-day " PF "taobao.csv",
        "--orders goes with --format canonical or generic");
}

T_TEST(ingest_opt_amount_is_a_line_amount)
{
    char *ws = ws_path("amount");
    char *err = NULL, *out = NULL;
    char args[1200];
    snprintf(args, sizeof args,
             "ingest --ws %s --table transactions --map "
             "order_id=basket_id,customer_id=household_id,ts=transaction_timestamp --amount "
             "sales_value " PF "amount.csv",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    /* the column not stored is named */
    T_ASSERT_CONTAINS(err, "not stored");
    T_ASSERT_CONTAINS(err, "'week'");
    free(out);
    free(err);
    promo_table *t = table_of(ws, "transactions");
    const promo_column *u = promo_table_column(t, "unit_price");
    T_ASSERT_NEAR(u->f64[0], 2.5, 1e-12);
    /* the fuel line: 98206 for 32623 units is about 3.01 a unit, not 98206 a unit */
    T_ASSERT_NEAR(u->f64[2], 98206.0 / 32623.0, 1e-12);
    promo_table_free(t);
    bad(NULL, "ingest --ws %s --table transactions --amount nosuch " PF "amount.csv",
        "--amount nosuch");
}

T_TEST(ingest_opt_missing_columns_reported_at_once)
{
    bad(NULL, "ingest --ws %s --table transactions " PF "amount.csv",
        PF "amount.csv:1: missing required columns 'order_id', 'ts', 'unit_price'");
    bad(NULL, "ingest --ws %s --table transactions " PF "amount.csv",
        "--amount sales_value gives unit_price");
    bad(NULL, "ingest --ws %s --table transactions " PF "amount.csv",
        "--map order_id=basket_id,ts=transaction_timestamp");
    bad(NULL, "ingest --ws %s --table transactions " PF "guessable.csv",
        "--map order_id=Basket,product_id=Item,ts=When,quantity=Qty");
}

T_TEST(ingest_opt_set_constant_and_ignore)
{
    const char *base = "ingest --ws %s --table responses --map "
                       "promotion_id=CAMPAIGN,customer_id=household_key,ts=DAY ";
    char fmt[800];
    snprintf(fmt, sizeof fmt, "%s--ignore COUPON_UPC " PF "redemptions.csv", base);
    bad(NULL, fmt, "--set converted=true");
    snprintf(fmt, sizeof fmt, "%s--ignore COUPON_UPC --set converted=true " PF "redemptions.csv",
             base);
    char *ws = ws_path("set");
    free(ok(ws, fmt));
    promo_table *t = table_of(ws, "responses");
    T_ASSERT_EQ_INT(t->n_rows, 2);
    T_ASSERT_EQ_INT(promo_table_column(t, "converted")->b[1], 1);
    promo_table_free(t);
    snprintf(fmt, sizeof fmt, "%s--set converted=maybe " PF "redemptions.csv", base);
    bad(NULL, fmt, "--set converted=maybe: expected true or false");
    snprintf(fmt, sizeof fmt, "%s--ignore nosuch --set converted=1 " PF "redemptions.csv", base);
    bad(NULL, fmt, "--ignore nosuch");
}

T_TEST(ingest_opt_epoch_ms_and_recode)
{
    char *ws = ws_path("events");
    free(ok(ws, "ingest --ws %s --table events --no-header --columns "
                "customer_id,product_id,ts,kind --recode kind=pv:view,fav:favorite,buy:purchase " PF
                "events_ms.csv"));
    promo_table *t = table_of(ws, "events");
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[0], 1511544070);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "kind"), 0), "view");
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "kind"), 1), "purchase");
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "kind"), 2), "favorite");
    promo_table_free(t);
    /* an unknown kind is refused where it is */
    bad(NULL,
        "ingest --ws %s --table events --no-header --columns customer_id,product_id,ts,kind "
        "--recode kind=pv:view " PF "events_badkind.csv",
        PF "events_badkind.csv:2:4: column 'kind': unknown event kind 'clk'");
    /* without --recode, source kinds that are not canonical are refused too */
    bad(NULL,
        "ingest --ws %s --table events --no-header --columns customer_id,product_id,ts,kind " PF
        "events_ms.csv",
        PF "events_ms.csv:1:4: column 'kind': unknown event kind 'pv'");
    bad(NULL,
        "ingest --ws %s --table events --no-header --columns customer_id,product_id,ts,kind "
        "--ts-format nope " PF "events_ms.csv",
        "--ts-format: expected");
}

T_TEST(ingest_opt_slashed_dates_one_reading_per_file)
{
    char *ws = ws_path("dmy");
    free(ok(ws, "ingest --ws %s --table transactions " PF "slashed_dmy.csv"));
    promo_table *t = table_of(ws, "transactions");
    int64_t want;
    T_OK(promo_time_parse_iso("2021-03-02", 10, &want) ? PROMO_EINPUT : PROMO_OK);
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[1], want); /* 02/03 day-first */
    promo_table_free(t);
    ws = ws_path("mdy");
    free(ok(ws, "ingest --ws %s --table transactions " PF "slashed_mdy.csv"));
    t = table_of(ws, "transactions");
    T_OK(promo_time_parse_iso("2021-02-03", 10, &want) ? PROMO_EINPUT : PROMO_OK);
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[1], want); /* 02/03 month-first */
    promo_table_free(t);
    bad(NULL, "ingest --ws %s --table transactions " PF "slashed_ambiguous.csv",
        "pass --ts-format dmy or --ts-format mdy");
    bad(NULL, "ingest --ws %s --table transactions " PF "slashed_mixed.csv",
        "mixes day-first (line 2) and month-first (line 3)");
    ws = ws_path("amb");
    free(ok(ws, "ingest --ws %s --table transactions --ts-format mdy " PF "slashed_ambiguous.csv"));
    t = table_of(ws, "transactions");
    T_OK(promo_time_parse_iso("2010-11-09", 10, &want) ? PROMO_EINPUT : PROMO_OK);
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[0], want);
    promo_table_free(t);
}

T_TEST(ingest_cli_dates_iso_only)
{
    char *err = NULL;
    int rc = t_promo("features --ws /nonexistent/ws --as-of 11/09/2010", NULL, &err);
    T_ASSERT_EQ_INT(rc, 2);
    T_ASSERT_CONTAINS(err, "expected a date YYYY-MM-DD, got \"11/09/2010\"");
    T_ASSERT_CONTAINS(err, "2010-09-11 (day first) or 2010-11-09 (month first)");
    free(err);
    rc = t_promo("features --ws /nonexistent/ws --as-of 2010/11/09", NULL, &err);
    T_ASSERT_EQ_INT(rc, 2);
    T_ASSERT_CONTAINS(err, "write 2010-11-09");
    free(err);
    int64_t t;
    T_ASSERT(promo_time_parse_iso("20101109", 8, &t) != 0);
    T_ASSERT(promo_time_parse_iso("2010-11-09T10:00", 16, &t) == 0);
}

T_TEST(ingest_table_file_arguments_and_backrefs)
{
    const char *setup =
        "ingest --ws %s transactions=" PF "slashed_dmy.csv products=" PF "products_p1.csv";
    char *ws = ws_path("multi");
    char *out = ok(ws, setup);
    T_ASSERT_CONTAINS(out, "products 1, transactions 2");
    free(out);
    /* products arriving after transactions must still hold every product they use */
    bad(setup, "ingest --ws %s products=" PF "products_p2.csv",
        PF "products_p2.csv: products has no product_id 'P1', which transactions in the "
           "workspace uses");
    ws = ws_path("multi2");
    free(ok(ws, setup));
    free(ok(ws, "ingest --ws %s --unknown add products=" PF "products_p2.csv"));
    promo_table *t = table_of(ws, "products");
    T_ASSERT_EQ_INT(t->n_rows, 2);
    promo_table_free(t);
    bad(NULL, "ingest --ws %s --table products products=" PF "products_p2.csv", "not both");
    bad(NULL, "ingest --ws %s nosuch=" PF "products_p2.csv", "'nosuch' is not a canonical table");
}

/* ---- experiments ---- */

T_TEST(ingest_experiment_table_and_info_arms)
{
    bad(NULL, "ingest --ws %s --table experiment " PF "my_experiment.csv",
        "needs a column 'treatment'");
    char *ws = ws_path("exp");
    free(ok(ws, "ingest --ws %s --table experiment --map treatment=is_treatment " PF
                "my_experiment.csv"));
    char *out = ok(ws, "info --ws %s");
    T_ASSERT_CONTAINS(out, "2 arms, control 0");
    T_ASSERT_CONTAINS(out, "response_att 0.5000 (+0.0000 [");
    T_ASSERT_CONTAINS(out, "it serves uplift");
    free(out);
    ws = ws_path("lenta");
    free(ok(ws, "ingest --ws %s --format lenta " PF "lenta.csv"));
    out = ok(ws, "info --ws %s --json");
    T_ASSERT_CONTAINS(out, "\"arm\": \"treatment\"");
    T_ASSERT_CONTAINS(out, "\"response_att\": {\"mean\": ");
    T_ASSERT_CONTAINS(out, "\"ci95\": [");
    free(out);
    ws = ws_path("criteo");
    free(ok(ws, "ingest --ws %s --format criteo " PF "criteo.csv"));
    promo_table *t = table_of(ws, "experiment");
    T_ASSERT_EQ_INT(t->n_rows, 30);
    T_ASSERT(promo_table_column(t, "treatment_flag") != NULL);
    T_ASSERT_EQ_INT(promo_table_column(t, "treatment")->type, PROMO_COL_STRING);
    promo_table_free(t);
}

/* ---- dataset profiles ---- */

T_TEST(ingest_profile_cdnow)
{
    char *ws = ws_path("cdnow");
    free(ok(ws, "ingest --ws %s --format cdnow " PF "cdnow_master.txt"));
    promo_table *t = table_of(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 12);
    long r = find_row(t, "order_id", "00001:19970101");
    T_ASSERT(r >= 0);
    T_ASSERT_NEAR(promo_table_column(t, "unit_price")->f64[r], 11.77, 1e-9);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "product_id"), 0), "CD");
    promo_table_free(t);
    ws = ws_path("cdnow-sample");
    free(ok(ws, "ingest --ws %s --format cdnow " PF "CDNOW_sample.txt"));
    t = table_of(ws, "customers");
    r = find_row(t, "customer_id", "00004");
    T_ASSERT(r >= 0);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "segment"), (size_t)r), "sample:0001");
    promo_table_free(t);
}

T_TEST(ingest_profile_taobao_and_tmall)
{
    char *ws = ws_path("taobao");
    free(ok(ws, "ingest --ws %s --format taobao " PF "taobao.csv"));
    promo_table *t = table_of(ws, "events");
    T_ASSERT_EQ_INT(t->n_rows, 12);
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[0], 1511544070);
    T_ASSERT(find_row(t, "kind", "pv") < 0);
    T_ASSERT(find_row(t, "kind", "view") >= 0);
    promo_table_free(t);
    t = table_of(ws, "products");
    long r = find_row(t, "product_id", "2268318");
    T_ASSERT(r >= 0);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "category"), (size_t)r), "2520377");
    promo_table_free(t);
    /* no buys: no transactions table */
    char *out = ok(ws, "info --ws %s");
    T_ASSERT_MSG(!strstr(out, "transactions"), "%s", out);
    free(out);
    /* the buys become order lines: one order per customer and second */
    ws = ws_path("taobao-buys");
    free(ok(ws, "ingest --ws %s --format taobao " PF "taobao_buys.csv"));
    t = table_of(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 4);
    const promo_column *oid = promo_table_column(t, "order_id"),
                       *ln = promo_table_column(t, "line");
    r = find_row(t, "product_id", "101");
    T_ASSERT(r >= 0);
    T_ASSERT_STR_EQ(promo_column_str(oid, (size_t)r), "7@1511750802");
    T_ASSERT_EQ_INT(ln->i64[r], 2);
    r = find_row(t, "product_id", "103");
    T_ASSERT_STR_EQ(promo_column_str(oid, (size_t)r), "7@1511790000");
    T_ASSERT_EQ_INT(ln->i64[r], 1);
    T_ASSERT_NEAR(promo_table_column(t, "unit_price")->f64[r], 1, 0);
    T_ASSERT(find_row(t, "product_id", "102") < 0); /* a cart is no purchase */
    promo_table_free(t);
    ws = ws_path("tmall");
    free(ok(ws, "ingest --ws %s --format tmall " PF "tmall/buy.txt " PF "tmall/collect.txt"));
    t = table_of(ws, "events");
    T_ASSERT_EQ_INT(t->n_rows, 10); /* 6 + 4 lines */
    T_ASSERT(find_row(t, "kind", "purchase") >= 0 && find_row(t, "kind", "favorite") >= 0);
    promo_table_free(t);
    t = table_of(ws, "transactions"); /* the 6 buys, one order each (the ts is per row) */
    T_ASSERT_EQ_INT(t->n_rows, 6);
    T_ASSERT_EQ_INT(promo_table_column(t, "line")->i64[5], 1);
    promo_table_free(t);
    bad(NULL, "ingest --ws %s --format tmall " PF "taobao.csv", "tmall reads buy.txt");
}

T_TEST(ingest_profile_groceries_obd)
{
    char *ws = ws_path("groceries");
    char *out = ok(ws, "ingest --ws %s --format groceries --json " PF "groceries.csv");
    T_ASSERT_CONTAINS(out, "\"orders\": 6");
    free(out);
    promo_table *t = table_of(ws, "transactions");
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "order_id"), 0), "B00001");
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "product_id"), 0), "citrus fruit");
    promo_table_free(t);
    ws = ws_path("obd");
    free(ok(ws,
            "ingest --ws %s --format obd " PF "obd/random/men/men.csv " PF "obd/bts/men/men.csv"));
    t = table_of(ws, "bandit");
    T_ASSERT_EQ_INT(t->n_rows, 9);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "policy"), 8), "bts");
    T_ASSERT(promo_table_column(t, "propensity") != NULL);
    T_ASSERT(promo_table_column(t, "column_1") == NULL);
    promo_table_free(t);
}

/* promo info on a bandit log: per campaign and policy the reward rate, and the random
 * policy's value estimated from the other log by IPS and SNIPS, against hand-computed figures.
 * Random: 2 actions (K), 4 rows, 2 clicks. bts: (action, click, propensity) (0,1,.8) (0,0,.8)
 * (1,1,.2) (0,0,.8): weights (1/K)/p = .625 .625 2.5 .625, IPS = (.625 + 2.5) / 4 = 0.78125,
 * SNIPS = 3.125 / 4.375 = 0.7143, effective rows 4.375^2 / 7.421875 = 2.58. */
T_TEST(info_bandit_log_estimates_the_random_policy_off_policy)
{
    char dir[600], path[700], cmd[1600];
    static const char *const logs[][2] = {
        {"random", "0,2019-11-24 00:00:01,0,1,1,0.5\n1,2019-11-24 00:00:02,1,1,0,0.5\n"
                   "2,2019-11-24 00:00:03,0,1,0,0.5\n3,2019-11-24 00:00:04,1,1,1,0.5\n"},
        {"bts", "0,2019-11-24 00:00:01,0,1,1,0.8\n1,2019-11-24 00:00:02,0,1,0,0.8\n"
                "2,2019-11-24 00:00:03,1,1,1,0.2\n3,2019-11-24 00:00:04,0,1,0,0.8\n"},
    };
    char *ws = ws_path("obd-info"), files[1500] = "";
    for (int k = 0; k < 2; k++) {
        snprintf(dir, sizeof dir, "%s/obdlog/%s/shop", t_tmpdir(), logs[k][0]);
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
        snprintf(path, sizeof path, "%s/shop.csv", dir);
        FILE *f = fopen(path, "w");
        T_ASSERT(f != NULL);
        fprintf(f, ",timestamp,item_id,position,click,propensity_score\n%s", logs[k][1]);
        fclose(f);
        snprintf(files + strlen(files), sizeof files - strlen(files), " %s", path);
    }
    snprintf(cmd, sizeof cmd, "ingest --ws %%s --format obd%s", files);
    free(ok(ws, cmd));
    snprintf(cmd, sizeof cmd, "info --ws %s", ws);
    char *out = NULL, *err = NULL;
    T_ASSERT_EQ_INT(t_promo(cmd, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "shop     random          4 rows    2 actions  reward 0.5000");
    T_ASSERT_CONTAINS(out, "random policy from this log: IPS 0.7812");
    T_ASSERT_CONTAINS(out, "SNIPS 0.7143 (3 effective rows of 4)");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "info --ws %s --json", ws);
    T_ASSERT_EQ_INT(t_promo(cmd, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"random_policy_ips\": 0.78125");
    free(out);
    free(err);
    /* --append cannot add to a bandit log: refused, not a silent replacement */
    char *before = t_dir_digest(ws);
    snprintf(cmd, sizeof cmd, "ingest --ws %s --format obd --append%s", ws, files);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "--append: the workspace's bandit table would be replaced");
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}

T_TEST(ingest_profile_instacart_join)
{
    char *ws = ws_path("instacart");
    free(ok(ws, "ingest --ws %s --format instacart " PF "instacart/orders.csv " PF
                "instacart/order_products__prior.csv " PF "instacart/products.csv " PF
                "instacart/aisles.csv " PF "instacart/departments.csv"));
    promo_table *t = table_of(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 254);
    /* order 2539329 is user 1's first: a Tuesday (order_dow 2) at 08:00 */
    long r = find_row(t, "order_id", "2539329");
    T_ASSERT(r >= 0);
    int64_t ts = promo_table_column(t, "ts")->i64[r];
    T_ASSERT_EQ_INT(promo_time_weekday(ts), 1); /* Monday = 0 */
    T_ASSERT_EQ_INT(promo_time_hour(ts), 8);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "customer_id"), (size_t)r), "1");
    promo_table_free(t);
    t = table_of(ws, "products");
    r = find_row(t, "product_id", "196");
    T_ASSERT(r >= 0);
    T_ASSERT_STR_EQ(promo_column_str(promo_table_column(t, "category"), (size_t)r), "beverages");
    promo_table_free(t);
    bad(NULL, "ingest --ws %s --format instacart " PF "instacart/order_products__prior.csv",
        "need orders.csv");
}

T_TEST(ingest_profile_dunnhumby)
{
    char *ws = ws_path("dunnhumby");
    free(ok(ws, "ingest --ws %s --format dunnhumby " PF "dunnhumby/transactions_sample.csv " PF
                "dunnhumby/products.csv " PF "dunnhumby/demographics.csv " PF
                "dunnhumby/campaign_descriptions.csv " PF "dunnhumby/campaigns.csv " PF
                "dunnhumby/coupon_redemptions.csv"));
    promo_table *t = table_of(ws, "transactions");
    T_ASSERT_EQ_INT(t->n_rows, 10);
    T_ASSERT_NEAR(promo_table_column(t, "unit_price")->f64[0], 3.86, 1e-9);
    promo_table_free(t);
    t = table_of(ws, "responses");
    T_ASSERT_EQ_INT(t->n_rows, 2); /* household 1's two coupons in campaign 1: one response */
    int64_t want;
    T_OK(promo_time_parse_iso("2017-03-04", 10, &want) ? PROMO_EINPUT : PROMO_OK);
    long r = find_row(t, "customer_id", "1");
    T_ASSERT_EQ_INT(promo_table_column(t, "ts")->i64[r], want);
    promo_table_free(t);
    t = table_of(ws, "customers");
    T_ASSERT(find_row(t, "customer_id", "2261") >= 0); /* buys, no demographics */
    T_ASSERT(find_row(t, "customer_id", "105") >= 0);  /* targeted, no demographics */
    promo_table_free(t);
    bad(NULL, "ingest --ws %s --format dunnhumby " PF "taobao.csv", "dunnhumby reads");
}

/* dunnhumby's original layout (upper-case columns, day numbers, TRANS_TIME as HHMM): the
 * fixture is the completejourney fixture above rewritten in it (day = date - 2016-03-22), so
 * the two workspaces must hold the same rows, transaction times to the minute. */
T_TEST(ingest_profile_dunnhumby_original_layout_matches_completejourney)
{
    char *v1 = ws_path("dunnhumby_v1"), *cj = ws_path("dunnhumby_cj");
    free(ok(v1, "ingest --ws %s --format dunnhumby " PF "dunnhumby_v1/transaction_data.csv " PF
                "dunnhumby_v1/product.csv " PF "dunnhumby_v1/hh_demographic.csv " PF
                "dunnhumby_v1/campaign_desc.csv " PF "dunnhumby_v1/campaign_table.csv " PF
                "dunnhumby_v1/coupon_redempt.csv"));
    free(ok(cj, "ingest --ws %s --format dunnhumby " PF "dunnhumby/transactions_sample.csv " PF
                "dunnhumby/products.csv " PF "dunnhumby/demographics.csv " PF
                "dunnhumby/campaign_descriptions.csv " PF "dunnhumby/campaigns.csv " PF
                "dunnhumby/coupon_redemptions.csv"));
    static const char *const tables[] = {"transactions", "products",  "customers",
                                         "promotions",   "exposures", "responses"};
    for (size_t k = 0; k < 6; k++) {
        promo_table *a = table_of(v1, tables[k]), *b = table_of(cj, tables[k]);
        T_ASSERT_MSG(a->n_rows == b->n_rows, "%s: %zu vs %zu rows", tables[k], a->n_rows,
                     b->n_rows);
        T_ASSERT(a->n_rows > 0);
        for (size_t j = 0; j < b->n_cols; j++) {
            const promo_column *cb = b->cols[j], *ca = promo_table_column(a, cb->name);
            T_ASSERT_MSG(ca != NULL, "%s.%s missing", tables[k], cb->name);
            T_ASSERT_EQ_INT(ca->type, cb->type);
            for (size_t r = 0; r < b->n_rows; r++) {
                int na = promo_column_is_null(ca, r), nb = promo_column_is_null(cb, r);
                T_ASSERT_MSG(na == nb, "%s.%s row %zu: null %d vs %d", tables[k], cb->name, r, na,
                             nb);
                if (na)
                    continue;
                if (cb->type == PROMO_COL_STRING)
                    T_ASSERT_STR_EQ(promo_column_str(ca, r), promo_column_str(cb, r));
                else if (cb->type == PROMO_COL_FLOAT64)
                    T_ASSERT_NEAR(ca->f64[r], cb->f64[r], 1e-9);
                else if (cb->type == PROMO_COL_TIMESTAMP)
                    T_ASSERT_EQ_INT(ca->i64[r], cb->i64[r] - cb->i64[r] % 60);
            }
        }
        T_ASSERT(promo_table_column(a, "TRANS_TIME") == NULL);
        promo_table_free(a);
        promo_table_free(b);
    }
    bad(NULL, "ingest --ws %s --format dunnhumby " PF "dunnhumby_v1/coupon.csv",
        "the original layout");
}

/* Every allocation of the new paths may fail: ENOMEM comes back cleanly (ASan finds leaks),
 * for a profile built on the source options (taobao: no header, epoch, recode, derived
 * products and transactions), one with blanks and a built column (cdnow), a join (instacart) and
 * the canonical options directly. */
static void alloc_loop(promo_ingest_options o, const char *const *files, size_t n)
{
    long total = 0;
    for (long k = 1;; k++) {
        promo_ingest *ing = NULL;
        promo_alloc_fail_at(k);
        int rc = promo_ingest_read(&o, files, n, &ing);
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
    T_ASSERT(total > 20);
}

T_TEST(ingest_profiles_alloc_failure_loop)
{
    promo_ingest_options o = promo_ingest_options_default();
    o.n_threads = 1;
    o.format = "taobao";
    const char *tb[] = {PF "taobao.csv"};
    alloc_loop(o, tb, 1);
    const char *tbb[] = {PF "taobao_buys.csv"}; /* and its purchases as transactions */
    alloc_loop(o, tbb, 1);
    o.format = "cdnow";
    const char *cd[] = {PF "CDNOW_sample.txt"};
    alloc_loop(o, cd, 1);
    o.format = "instacart";
    const char *ic[] = {PF "instacart/orders.csv", PF "instacart/order_products__prior.csv",
                        PF "instacart/departments.csv"};
    alloc_loop(o, ic, 3);
    o.format = "dunnhumby";
    const char *dh[] = {PF "dunnhumby/demographics.csv", PF "dunnhumby/coupon_redemptions.csv"};
    alloc_loop(o, dh, 2);
    o = promo_ingest_options_default();
    o.n_threads = 1;
    o.table = "transactions";
    o.sep = "space";
    o.no_header = 1;
    o.columns = "customer_id,date,qty,value";
    o.map = "ts=date,quantity=qty";
    o.amount = "value";
    o.set = "product_id=CD,order_id=X";
    const char *bl[] = {PF "blanks.txt"};
    alloc_loop(o, bl, 1);
}

T_TEST(ingest_opt_sep_variants)
{
    char *ws = ws_path("tabs");
    free(ok(ws, "ingest --ws %s --sep tab transactions=" PF "tabs.tsv"));
    promo_table *t = table_of(ws, "transactions");
    T_ASSERT_NEAR(promo_table_column(t, "unit_price")->f64[0], 2.5, 1e-12);
    promo_table_free(t);
    ws = ws_path("pipes");
    free(ok(ws, "ingest --ws %s --sep '|' transactions=" PF "pipes.txt"));
    /* a decimal comma is not a number: located, not guessed */
    bad(NULL, "ingest --ws %s --sep ';' transactions=" PF "semicolon.csv",
        PF "semicolon.csv:2:5: column 'unit_price': expected a number, got \"2,5\"");
    /* --map COL= is no way to drop a column, --ignore is; a --map onto a missing source
     * column is said */
    bad(NULL, "ingest --ws %s --map age= products=" PF "products_p1.csv",
        "expected A=B, got 'age=' (to leave a source column out: --ignore COL)");
    ws = ws_path("map-warn");
    char args[800], *err = NULL;
    snprintf(args, sizeof args, "ingest --ws %s --map brand=Brnd products=" PF "products_p1.csv",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 0);
    T_ASSERT_CONTAINS(err, "--map brand=Brnd: the file has no column 'Brnd'; brand stays empty");
    free(err);
    /* an experiment alone: the summary says what the workspace is for */
    ws = ws_path("exp-next");
    char *out = ok(ws, "ingest --ws %s --format lenta " PF "lenta.csv");
    T_ASSERT_CONTAINS(out, "next: promo info");
    free(out);
}
