/* promo export: one table of a workspace as CSV (promo_csv_write: what ingest reads back),
 * to stdout or --out FILE. The way out for tables the sqlite3 shell cannot read (the chunked
 * ones, schema version 3). */
#include <stdio.h>

#include <promo/csv.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>

#include "cli/cli.h"

int cmd_export(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *table = NULL, *out = "-";
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("table", "T", &table), .help = "the table to export"},
        {CLI_PATH("out", "FILE.csv", &out), .help = "write here instead of stdout"},
        {0},
    };
    const cli_spec spec = {
        .name = "export",
        .usage = "usage: promo export --ws DIR --table T [--out FILE.csv]\n",
        .about = "Write table T of workspace DIR as CSV (header, ISO timestamps, nulls empty),\n"
                 "in the order the rows were stored.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (!table)
        return cli_usage_error("export", "--table is required");
    promo_store *s = NULL;
    promo_table *t = NULL;
    int rc = promo_store_open_read(ws, &s);
    if (!rc)
        rc = promo_store_read_table(s, table, &t);
    promo_store_close(s);
    if (!rc)
        rc = promo_csv_write(out, t);
    promo_table_free(t);
    return cli_report(rc);
}
