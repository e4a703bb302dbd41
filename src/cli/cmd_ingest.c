/* promo ingest: read source files through a format profile into the workspace.
 *
 * Order of work (so a failure changes nothing): read and check every file in memory, then
 * open (or stage) the workspace, check references against it, and write all tables in one
 * transaction (include/promo/profile.h, include/promo/store.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/profile.h>
#include <promo/store.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: promo ingest --ws DIR [--format PROFILE] [options] FILE...\n\n"
            "Read FILEs through a format profile into the workspace DIR (created if absent).\n"
            "Tables named by the input replace those in the workspace; nothing is written\n"
            "unless every file passes the checks.\n\n"
            "  --ws DIR             workspace directory (default %s)\n"
            "  --format PROFILE     canonical (default), generic, online-retail, hillstrom\n"
            "  --table NAME         the table of the (single) FILE instead of its base name\n"
            "  --map OUR=THEIR,...  rename source columns onto canonical ones\n"
            "  --unknown POLICY     ids missing from a referenced table: error (default),\n"
            "                       skip (drop the row into the rejects) or add (create it)\n"
            "  --skip-bad-rows      reject unparsable rows into out/rejects-TABLE.csv and go on\n"
            "  --threads N          CSV parser threads (default: all cores)\n"
            "  --json               print the summary as JSON\n"
            "  --help               this text\n\n"
            "exit status: 0 ok, 2 bad input or usage (FILE:LINE:COL: message), 1 internal\n",
            CLI_DEFAULT_WS);
}

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
        printf("  %-24s %12llu\n", "customers", (unsigned long long)st->customers);
        printf("  %-24s %12llu\n", "products", (unsigned long long)st->products);
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
    static const struct option opts[] = {
        {"ws", required_argument, NULL, 'w'},      {"format", required_argument, NULL, 'f'},
        {"table", required_argument, NULL, 't'},   {"map", required_argument, NULL, 'm'},
        {"unknown", required_argument, NULL, 'u'}, {"skip-bad-rows", no_argument, NULL, 's'},
        {"threads", required_argument, NULL, 'j'}, {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    promo_ingest_options o = promo_ingest_options_default();
    const char *ws = CLI_DEFAULT_WS;
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            ws = optarg;
            break;
        case 'f':
            o.format = optarg;
            break;
        case 't':
            o.table = optarg;
            break;
        case 'm':
            o.map = optarg;
            break;
        case 'u':
            if (promo_unknown_policy_parse(optarg, &o.unknown))
                return cli_usage_error("ingest", "--unknown: %s", promo_last_error());
            break;
        case 's':
            o.skip_bad_rows = 1;
            break;
        case 'j': {
            double n;
            int ec = cli_parse_number("ingest", "--threads", optarg, 0, 1024, 1, &n);
            if (ec)
                return ec;
            o.n_threads = (int)n;
            break;
        }
        case 'J':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("ingest", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    int n_files = argc - optind;
    if (n_files <= 0)
        return cli_usage_error("ingest", "no input FILE");
    char **files = argv + optind;
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
