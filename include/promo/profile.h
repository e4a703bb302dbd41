/* promo/profile.h: format profiles, which map source files onto the canonical tables, and the
 * ingest that checks them and writes them into a workspace.
 *
 * Profiles (DESIGN.md):
 *   canonical      one CSV per table, the table chosen by the file's base name
 *                  (customers.csv, products.csv, stores.csv, promotions.csv, transactions.csv,
 *                  exposures.csv, responses.csv, events.csv) or by `table`; columns by
 *                  canonical name (schema.h), renamed first by `map`. Extra columns are
 *                  ignored. transactions may lack `line`: lines are then numbered 1, 2, ...
 *                  per order_id in file order.
 *   generic        as canonical, but `table` may also name a non-canonical table, whose
 *                  columns are all kept with inferred types.
 *   online-retail  UCI Online Retail I (InvoiceNo, UnitPrice, CustomerID) and II (Invoice,
 *                  Price, Customer ID): transactions with a line number per invoice in file
 *                  order; invoices starting with 'C' are cancellations, kept as returns
 *                  (negative quantity); rows without a customer are kept with a null
 *                  customer_id and counted. Derived: products (name = most frequent
 *                  non-empty description, price = median unit price of its sales), customers
 *                  (location = country of the customer's latest invoice) and one store
 *                  "online". InvoiceDate may be ISO or m/d/yyyy h:mm (the UCI export).
 *   dunnhumby, instacart, taobao, tmall, obd, cdnow, groceries, lenta, criteo: the public
 *                  datasets (README, one file each under src/data/profiles/ saying what it
 *                  reads and what it makes up where the source has nothing: synthetic order
 *                  ids, placeholder dates, unit prices of 1).
 *   Source options (canonical and generic only; the other profiles set them themselves):
 *                  sep (blank runs too), no_header + columns, set (constants), amount (a line
 *                  amount: unit_price = amount / quantity), ignore, ts_format (auto: ISO,
 *                  YYYYMMDD, epoch s / ms detected per file; slashed dates read one way for the
 *                  whole file, or refused when nothing decides), recode (events.kind values
 *                  that are not view/cart/favorite/purchase are refused). A file argument
 *                  "TABLE=PATH" names its table. Missing required columns are reported
 *                  together with the --map / --amount / --set that would fix them; source
 *                  columns not stored are named in a warning. `experiment` (a randomised
 *                  test: treatment column, outcomes, covariates) is taken with all columns.
 *   hillstrom      the MineThatData e-mail experiment, as the non-canonical table
 *                  `experiment`: row_id (1-based), the original columns (recency,
 *                  history_segment, history, mens, womens, zip_code, newbie, channel, segment,
 *                  visit, conversion, spend; 0/1 columns as bool) and treatment (= segment:
 *                  "Mens E-Mail", "Womens E-Mail", "No E-Mail").
 *
 * Rules, in the order they are checked (all in memory, before the workspace is touched):
 *   - a source row that does not parse, or lacks a required value, is an error
 *     "FILE:LINE:COL: ..." (or, with skip_bad_rows, a reject);
 *   - a duplicate key is an error naming both lines (or, with skip_bad_rows, the later row is
 *     rejected);
 *   - a dimension replacing the workspace's must hold every id the workspace's other tables
 *     use (products after transactions): an error, or with unknown=ADD the ids are added;
 *   - a reference to an unknown id (e.g. transactions.product_id not in products), checked
 *     when the referenced table is in the same ingest or in the workspace, follows `unknown`:
 *     ERROR names file, line, column and id; SKIP drops the row into the rejects; ADD creates
 *     the missing dimension row (id only, other columns null).
 *   A header-only file is valid and gives an empty table (a retailer may have no promotions);
 *   an empty file (0 bytes) is an error.
 *
 * Writing replaces each table it names (no appending) in one transaction, and stages
 * out/rejects-<table>.csv (file,line,column,reason,raw) for every table ingested with
 * skip_bad_rows or unknown=SKIP, so a failed ingest changes nothing.
 *
 * Usage:
 *   promo_ingest_options o = promo_ingest_options_default();
 *   o.format = "online-retail";
 *   promo_ingest *ing = NULL;
 *   if (promo_ingest_read(&o, files, n_files, &ing)) goto fail;     // nothing written yet
 *   if (promo_store_open(ws, 1, &s) || promo_ingest_commit(ing, s)) goto fail;
 *   const promo_ingest_stats *st = promo_ingest_get_stats(ing);
 *   promo_ingest_free(ing);
 */
#ifndef PROMO_PROFILE_H
#define PROMO_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <promo/store.h>
#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What to do with a reference to an id the referenced table does not have. */
typedef enum promo_unknown_policy {
    PROMO_UNKNOWN_ERROR = 0, /* stop with a located error (default) */
    PROMO_UNKNOWN_SKIP = 1,  /* drop the row, report it in the rejects */
    PROMO_UNKNOWN_ADD = 2,   /* add the id to the referenced table */
    PROMO_UNKNOWN_POLICY_COUNT
} promo_unknown_policy;

typedef struct promo_ingest_options {
    const char *format;           /* profile name (above); NULL = "canonical" */
    const char *table;            /* target table for every file; NULL = from the file name */
    const char *map;              /* "our_col=their_col,..." renames, or NULL */
    promo_unknown_policy unknown; /* policy for unknown references */
    int skip_bad_rows;            /* 1: bad rows go to the rejects instead of failing */
    int n_threads;                /* CSV parser threads; 0 = OpenMP default */
    /* Source options of the canonical and generic profiles (NULL / 0 = not given): */
    const char *sep;       /* field separator: "," ";" "|" "tab", or "space" (runs of blanks) */
    int no_header;         /* 1: the first line is data; names from `columns` */
    const char *columns;   /* "a,b,...": the fields' names, in order, with no_header */
    const char *set;       /* "col=value,...": a constant column (e.g. converted=true) */
    const char *amount;    /* source column with the line amount: unit_price = amount/quantity */
    const char *ignore;    /* "col,...": source columns not to read (nor warn about) */
    const char *ts_format; /* auto (default), iso, ymd, epoch, epoch-ms, dmy, mdy */
    const char *recode;    /* "col=from:to,...", e.g. kind=pv:view,fav:favorite,buy:purchase */
    /* A transactions file without order ids: "customer-second" (the lines of a customer in
     * one second are one order, order_id "<customer_id>@<epoch seconds>", as the behaviour
     * logs' purchases) or "customer-day" ("<customer_id>@<YYYY-MM-DD>": a shopping trip a
     * day); NULL: order_id is a required column. */
    const char *orders;
    /* 1: the rows of transactions, events, exposures and responses are added to the table of
     * that name in the workspace as new chunks (the stored chunks are not rewritten; the key
     * is checked over the stored and the new rows) instead of replacing it; other tables of
     * the input replace theirs as without it. */
    int append;
} promo_ingest_options;

/* Every field NULL / 0, unknown ERROR. */
promo_ingest_options promo_ingest_options_default(void);

/* Names of the profiles, NULL-terminated (for --help and error messages). Static. */
const char *const *promo_profile_names(void);
/* One line about profile `name` ("" if unknown). Static. */
const char *promo_profile_about(const char *name);
/* Parse "error" / "skip" / "add". Returns 0, or PROMO_EUSAGE naming the choices. */
int promo_unknown_policy_parse(const char *s, promo_unknown_policy *out /* OUT */);

/* Figures of one ingest, for the summary. Counts refer to what is written, after policies. */
typedef struct promo_ingest_stats {
    uint64_t rows_read;             /* data records in the source files, rejects included */
    uint64_t rows_rejected;         /* records sent to the rejects (bad, duplicate, unknown) */
    uint64_t transactions;          /* rows of the transactions table (0 if none ingested) */
    uint64_t cancellations;         /* online-retail: lines of invoices starting with 'C' */
    uint64_t returns;               /* transactions with quantity < 0 */
    uint64_t rows_without_customer; /* transactions with a null customer_id */
    uint64_t customers;             /* distinct customer_id in transactions */
    uint64_t products;              /* distinct product_id in transactions */
    uint64_t orders;                /* distinct order_id in transactions */
    uint64_t unknown_added;         /* dimension rows created by unknown=ADD */
    double read_s;                  /* seconds spent reading and checking the sources */
    double write_s;                 /* seconds spent writing the workspace (0 before commit) */
} promo_ingest_stats;

typedef struct promo_ingest promo_ingest;

/* Read `files` through the profile in o and run the in-memory checks. Touches no workspace.
 * Errors: PROMO_EUSAGE (unknown profile, a file name that names no table, two files for one
 * table, bad map), PROMO_EINPUT / PROMO_ENOTFOUND / PROMO_EIO with "FILE[:LINE:COL]: ...".
 * *out owned by the caller (promo_ingest_free); NULL on failure. */
int promo_ingest_read(const promo_ingest_options *o,
                      const char *const *files,
                      size_t n_files,
                      promo_ingest **out /* OUT */);

/* Check references against the ingest and the workspace, apply the unknown policy, then
 * write every table, the rejects files and run metadata ("ingest.format",
 * "ingest.<table>.source") in one transaction of s, and commit. On failure the transaction
 * is rolled back: the workspace is as before. Call once per ingest. */
int promo_ingest_commit(promo_ingest *ing, promo_store *s);

/* The tables read so far (after commit: as written), in load order. Borrowed. */
size_t promo_ingest_n_tables(const promo_ingest *ing);
const promo_table *promo_ingest_table(const promo_ingest *ing, size_t i);
/* Rejected rows of table i so far (count), and where they go once committed. */
size_t promo_ingest_n_rejects(const promo_ingest *ing, size_t i);
const promo_ingest_stats *promo_ingest_get_stats(const promo_ingest *ing);
/* The profile name in use ("canonical", ...). Borrowed. */
const char *promo_ingest_format(const promo_ingest *ing);

void promo_ingest_free(promo_ingest *ing); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
