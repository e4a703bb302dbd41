/* src/cli/cli.h: the `promo` command's internals shared by its subcommand files.
 *
 * Each subcommand lives in src/cli/cmd_<name>.c as `int cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand name) and returns an exit code: 0 ok, 2 bad input or usage,
 * 1 internal failure. Only src/cli may print to stdout or choose exit codes.
 */
#ifndef PROMO_CLI_H
#define PROMO_CLI_H

#include <stdio.h>

#define PROMO_VERSION "0.1.0"

/* Exit codes (DESIGN.md). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1  /* internal failure */
#define CLI_EXIT_INPUT 2 /* bad input or usage */

typedef int (*cli_cmd_fn)(int argc, char **argv);

typedef struct cli_command {
    const char *name;    /* subcommand name */
    cli_cmd_fn fn;       /* entry point */
    const char *summary; /* one line for `promo --help` */
} cli_command;

/* Entry point used by main() and by in-process tests. */
int promo_cli_main(int argc, char **argv);

/* Map a promo status to an exit code, printing "promo: <last error>" to stderr when not ok. */
int cli_report(int status);
/* Print "promo <cmd>: <message>" and a hint to stderr; returns CLI_EXIT_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Default workspace directory when --ws is not given. */
#define CLI_DEFAULT_WS "./promo-ws"

/* Subcommands. */
int cmd_demo(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
