/* promo ingest: read source files through a format profile into the workspace.
 *
 * Order of work (so a failure changes nothing): read and check every file in memory, then
 * open (or stage) the workspace, check references against it, and write all tables in one
 * transaction (include/promo/profile.h, include/promo/store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/profile.h>
#include <promo/store.h>

#include "cli/cli.h"

static void print_text(
    const promo_ingest *ing, const char *ws, const char *out_dir, int n_files, int show_rejects)
{
    const promo_ingest_stats *st = promo_ingest_get_stats(ing);
    printf("ingested %d file%s (%s) into %s in %.1f s\n", n_files, n_files == 1 ? "" : "s",
           promo_ingest_format(ing), ws, st->read_s + st->write_s);
    printf("  %-24s %12llu\n", "rows read", (unsigned long long)st->rows_read);
    printf("  %-24s %12llu\n", "rows rejected", (unsigned long long)st->rows_rejected);
    if (st->transactions || promo_ingest_n_tables(ing) == 0 ||
        !strcmp(promo_ingest_format(ing), "online-retail")) {
        printf("  %-24s %12llu\n", "transactions", (unsigned long long)st->transactions);
        if (!strcmp(promo_ingest_format(ing), "online-retail"))
            printf("  %-24s %12llu\n", "cancellation lines", (unsigned long long)st->cancellations);
        printf("  %-24s %12llu\n", "returns (quantity < 0)", (unsigned long long)st->returns);
        printf("  %-24s %12llu\n", "rows without customer",
               (unsigned long long)st->rows_without_customer);
        /* distinct in the transactions read: a products table may list many more */
        printf("  %-24s %12llu\n", "customers who bought", (unsigned long long)st->customers);
        printf("  %-24s %12llu\n", "products sold", (unsigned long long)st->products);
        printf("  %-24s %12llu\n", "orders", (unsigned long long)st->orders);
    }
    if (st->unknown_added)
        printf("  %-24s %12llu\n", "unknown ids added", (unsigned long long)st->unknown_added);
    printf("  tables:");
    for (size_t i = 0; i < promo_ingest_n_tables(ing); i++) {
        const promo_table *t = promo_ingest_table(ing, i);
        printf("%s %s %zu", i ? "," : "", t->name, t->n_rows);
    }
    printf("\n");
    /* a workspace of an experiment or a bandit log alone: say what it is for */
    int tx = 0, exp = 0, bandit = 0;
    for (size_t i = 0; i < promo_ingest_n_tables(ing); i++) {
        const char *nm = promo_ingest_table(ing, i)->name;
        tx |= !strcmp(nm, "transactions") || !strcmp(nm, "events");
        exp |= !strcmp(nm, "experiment");
        bandit |= !strcmp(nm, "bandit");
    }
    if ((exp || bandit) && !tx)
        printf("  next: promo info --ws %s (%s); promo uplift --data FILE --treatment COL "
               "--outcome COL models who responds; features, train and campaign need "
               "transactions and products\n",
               ws,
               exp ? "per arm: size, outcome means, effect vs control with 95% intervals"
                   : "per campaign and logging policy: reward rate with 95% intervals, and the "
                     "random policy's value estimated off-policy from the other logs");
    for (size_t i = 0; show_rejects && i < promo_ingest_n_tables(ing); i++)
        if (promo_ingest_n_rejects(ing, i))
            printf("  rejects: %s/rejects-%s.csv (%zu rows)\n", out_dir,
                   promo_ingest_table(ing, i)->name, promo_ingest_n_rejects(ing, i));
}

static void
print_json(const promo_ingest *ing, const char *ws, const char *out_dir, char **files, int n_files)
{
    const promo_ingest_stats *st = promo_ingest_get_stats(ing);
    printf("{\"ws\": ");
    cli_json_str(stdout, ws);
    printf(", \"format\": ");
    cli_json_str(stdout, promo_ingest_format(ing));
    printf(", \"files\": [");
    for (int i = 0; i < n_files; i++) {
        printf(i ? ", " : "");
        cli_json_str(stdout, files[i]);
    }
    printf("], \"rows_read\": %llu, \"rows_rejected\": %llu, \"transactions\": %llu, "
           "\"cancellations\": %llu, \"returns\": %llu, \"rows_without_customer\": %llu, "
           "\"customers\": %llu, \"products\": %llu, \"orders\": %llu, \"unknown_added\": %llu, "
           "\"read_s\": %.3f, \"write_s\": %.3f, \"tables\": {",
           (unsigned long long)st->rows_read, (unsigned long long)st->rows_rejected,
           (unsigned long long)st->transactions, (unsigned long long)st->cancellations,
           (unsigned long long)st->returns, (unsigned long long)st->rows_without_customer,
           (unsigned long long)st->customers, (unsigned long long)st->products,
           (unsigned long long)st->orders, (unsigned long long)st->unknown_added, st->read_s,
           st->write_s);
    for (size_t i = 0; i < promo_ingest_n_tables(ing); i++) {
        const promo_table *t = promo_ingest_table(ing, i);
        printf(i ? ", " : "");
        cli_json_str(stdout, t->name);
        printf(": %zu", t->n_rows);
    }
    printf("}, \"rejects\": {");
    int first = 1;
    for (size_t i = 0; i < promo_ingest_n_tables(ing); i++) {
        if (!promo_ingest_n_rejects(ing, i))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/rejects-%s.csv", out_dir, promo_ingest_table(ing, i)->name);
        printf(first ? "" : ", ");
        first = 0;
        cli_json_str(stdout, path);
        printf(": %zu", promo_ingest_n_rejects(ing, i));
    }
    printf("}}\n");
}

int cmd_ingest(int argc, char **argv)
{
    static const char *const unknown_words[] = {"error", "skip", "add", NULL};
    promo_ingest_options o = promo_ingest_options_default();
    const char *ws = CLI_DEFAULT_WS;
    int json = 0, n_files = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("format", "PROFILE", &o.format),
         .help = "canonical, generic, online-retail, dunnhumby, instacart, taobao, tmall, obd, "
                 "cdnow, groceries, hillstrom, lenta, criteo (README: what each reads)",
         .def = "canonical"},
        {CLI_STRING("table", "NAME", &o.table),
         .help = "the table of the (single) FILE instead of its base name (several files: "
                 "write TABLE=FILE)"},
        {CLI_STRING("map", "OUR=THEIR,...", &o.map),
         .help = "rename source columns onto canonical ones"},
        {CLI_STRING("sep", "SEP", &o.sep),
         .help = "field separator: , ; | tab, or space (runs of blanks); default: detected"},
        {CLI_FLAG("no-header", &o.no_header),
         .help = "the first line is data; name the fields with --columns"},
        {CLI_STRING("columns", "A,B,...", &o.columns),
         .help = "names of the fields, in order, of a file without a header"},
        {CLI_STRING("set", "COL=VALUE,...", &o.set),
         .help = "a constant column, e.g. converted=true for a file of redemptions"},
        {CLI_STRING("amount", "COL", &o.amount),
         .help = "COL is the line amount: unit_price = COL / quantity"},
        {CLI_STRING("ignore", "COL,...", &o.ignore),
         .help = "source columns not to read (and not to warn about)"},
        {CLI_STRING("ts-format", "FORMAT", &o.ts_format),
         .help = "timestamps: auto (default: ISO, YYYYMMDD or epoch seconds/ms detected per "
                 "file), iso, ymd, epoch, epoch-ms, dmy, mdy"},
        {CLI_STRING("orders", "customer-second|customer-day", &o.orders),
         .help = "a transactions file without order ids: a customer's lines in the same second\n"
                 "(day) are one order, order_id CUSTOMER@EPOCH (CUSTOMER@YYYY-MM-DD)"},
        {CLI_STRING("recode", "COL=FROM:TO,...", &o.recode),
         .help = "recode values, e.g. kind=pv:view,fav:favorite,buy:purchase; values left "
                 "unmapped are refused"},
        {CLI_ENUM("unknown", unknown_words, &o.unknown), .metavar = "POLICY",
         .help = "ids missing from a referenced table: error, skip (drop the row into the "
                 "rejects) or add (create it)"},
        {CLI_FLAG("skip-bad-rows", &o.skip_bad_rows),
         .help = "reject unparsable rows into out/rejects-TABLE.csv and go on"},
        {CLI_FLAG("append", &o.append),
         .help = "add the rows of transactions, events, exposures and responses to those in "
                 "the workspace (new chunks; the stored ones are not rewritten) instead of "
                 "replacing them; other tables are replaced as usual"},
        {CLI_THREADS(&o.n_threads)},
        {CLI_JSON(&json), .help = "print the summary as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "ingest",
        .usage = "usage: promo ingest --ws DIR [--format PROFILE] [options] [TABLE=]FILE...\n",
        .about = "Read FILEs through a format profile into the workspace DIR (created if absent).\n"
                 "Tables named by the input replace those in the workspace (--append: added to\n"
                 "them); nothing is written unless every file passes the checks. TABLE=FILE\n"
                 "names a file's table.\n",
        .opts = opts,
        .operands = "[TABLE=]FILE...",
        .epilog = "exit status: 0 ok, 2 bad input or usage (FILE:LINE:COL: message), 1 internal\n",
    };
    int ec = cli_parse(&spec, argc, argv, &n_files);
    if (ec != CLI_CONTINUE)
        return ec;
    if (n_files <= 0)
        return cli_usage_error("ingest", "no input FILE");
    char **files = argv + 1;
    promo_ingest *ing = NULL;
    promo_store *s = NULL;
    int rc = promo_ingest_read(&o, (const char *const *)files, (size_t)n_files, &ing);
    if (!rc)
        rc = promo_store_open(ws, 1, &s);
    if (!rc)
        rc = promo_ingest_commit(ing, s);
    if (rc) {
        promo_store_close(s);
        promo_ingest_free(ing);
        return cli_report(rc);
    }
    if (json)
        print_json(ing, ws, promo_store_out_dir(s), files, n_files);
    else
        print_text(ing, ws, promo_store_out_dir(s), n_files, 1);
    promo_store_close(s);
    promo_ingest_free(ing);
    return CLI_EXIT_OK;
}
