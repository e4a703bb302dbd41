/* src/cli/cli.h: the `promo` command's internals shared by its subcommand files.
 *
 * Each subcommand lives in src/cli/cmd_<name>.c as `int cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand name) and returns an exit code: 0 ok, 2 bad input or usage,
 * 1 internal failure. Only src/cli may print to stdout or choose exit codes.
 */
#ifndef PROMO_CLI_H
#define PROMO_CLI_H

#include <stdint.h>
#include <stdio.h>

#define PROMO_VERSION "0.1.0"

/* Exit codes (DESIGN.md). */
#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* internal failure */
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
/* Parse a numeric option into *out: a finite number in [lo, hi] (an integer when `integer`);
 * on failure print the usage error for `cmd` naming `opt` and return CLI_EXIT_INPUT. */
int cli_parse_number(const char *cmd,
                     const char *opt,
                     const char *arg,
                     double lo,
                     double hi,
                     int integer,
                     double *out /* OUT */);
/* Parse a non-negative integer option in [lo, hi] into *out, all 64 bits exact (seeds do not
 * fit a double); on failure print the usage error and return CLI_EXIT_INPUT. */
int cli_parse_uint(const char *cmd,
                   const char *opt,
                   const char *arg,
                   unsigned long long lo,
                   unsigned long long hi,
                   unsigned long long *out /* OUT */);
/* Parse a date option (ISO 8601) into *out; on failure print the usage error for `cmd`
 * naming `opt` and return CLI_EXIT_INPUT, else CLI_EXIT_OK. */
int cli_parse_date(const char *cmd, const char *opt, const char *arg, int64_t *out /* OUT */);
/* Write s as a JSON string literal (quotes, escapes for '"', '\\' and control bytes). */
void cli_json_str(FILE *f, const char *s);
/* Default workspace directory when --ws is not given. */
#define CLI_DEFAULT_WS "./promo-ws"

/* Subcommands. */
int cmd_demo(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_campaign(int argc, char **argv);

/* Print propensity evaluations (promo train, promo evaluate, promo demo): a table per report,
 * or JSON (one object, or {"evaluations": [...]} for several). In cmd_evaluate.c. */
struct promo_propensity_report;
void cli_print_propensity(FILE *f, const struct promo_propensity_report *r, size_t n, int json);

#endif
