/* promo sql: one read-only SQL query on a workspace, through promo's own connection, where
 * the chunked tables (transactions, events, exposures, responses, and a generated world's
 * truth_exposures and truth_customers: schema version 3) are
 * readable through their usual views; the sqlite3 shell cannot read those (it lacks the
 * promo_chunked module). Output as the sqlite3 shell prints it ('|'-separated, no header),
 * or --csv (a header, RFC 4180 quoting). */
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/store.h>

#include "cli/cli.h"

typedef struct sql_out {
    int csv, header_done;
} sql_out;

static void csv_field(const char *v)
{
    if (!v)
        return;
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, stdout);
        return;
    }
    putchar('"');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            putchar('"');
        putchar(*p);
    }
    putchar('"');
}

static int print_row(void *ctx, int n, const char *const *names, const char *const *vals)
{
    sql_out *o = ctx;
    if (o->csv && !o->header_done) {
        for (int j = 0; j < n; j++) {
            if (j)
                putchar(',');
            csv_field(names[j]);
        }
        putchar('\n');
        o->header_done = 1;
    }
    for (int j = 0; j < n; j++) {
        if (j)
            putchar(o->csv ? ',' : '|');
        if (o->csv)
            csv_field(vals[j]);
        else if (vals[j])
            fputs(vals[j], stdout);
    }
    putchar('\n');
    return ferror(stdout) ? promo_fail(PROMO_EIO, "writing the result failed") : PROMO_OK;
}

int cmd_sql(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS;
    int csv = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_FLAG("csv", &csv), .help = "CSV with a header instead of '|'-separated values"},
        {0},
    };
    const cli_spec spec = {
        .name = "sql",
        .usage = "usage: promo sql --ws DIR [--csv] \"SELECT ...\"\n",
        .about = "Run one read-only SQL query on workspace DIR and print the rows. Every table\n"
                 "is there under its name, the chunked ones (transactions, events, exposures,\n"
                 "responses; truth_exposures and truth_customers of a generated world)\n"
                 "included, which `sqlite3 DIR/promo.db` cannot read; a comparison\n"
                 "on ts (or another integer column) skips the chunks it rules out. Statements\n"
                 "that would change the workspace are refused.\n",
        .opts = opts,
        .operands = "\"SELECT ...\"",
    };
    int n_ops = 0;
    int ec = cli_parse(&spec, argc, argv, &n_ops);
    if (ec != CLI_CONTINUE)
        return ec;
    if (n_ops != 1)
        return cli_usage_error("sql", "expected one SQL query, got %d operands", n_ops);
    promo_store *s = NULL;
    int rc = promo_store_open_read(ws, &s);
    sql_out o = {csv, 0};
    if (!rc)
        rc = promo_store_query(s, argv[1], print_row, &o);
    if (!rc && fflush(stdout) != 0)
        rc = promo_fail(PROMO_EIO, "writing the result failed");
    promo_store_close(s);
    return cli_report(rc);
}
