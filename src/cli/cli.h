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

/* The subcommands, ended by {NULL} (cli.c). */
extern const cli_command cli_commands[];

/* Entry point used by main() and by in-process tests. */
int promo_cli_main(int argc, char **argv);

/* Map a promo status to an exit code, printing "promo: <last error>" to stderr when not ok. */
int cli_report(int status);
/* For short latency-bound commands (score, explain): sets OpenMP's team to the cores the
 * 1-minute load and the threads runnable now leave idle (logged under -v as `cmd`); an explicit
 * OMP_NUM_THREADS or OMP_DYNAMIC wins. Returns the previous team size, for
 * omp_set_num_threads afterwards. */
int cli_team_by_load(const char *cmd);
/* Print "promo <cmd>: <message>" and a hint to stderr (cmd NULL: "promo: ", the hint names
 * `promo --help`); returns CLI_EXIT_INPUT. */
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
/* ---- The options layer (cli_opts.c) ----
 *
 * Every subcommand describes its options in one table of cli_opt (name, kind, value range,
 * destination, help text); cli_parse reads argv against it and cli_help prints the --help
 * text from the same table, so help can never omit an accepted option. One rule for all:
 *   --name VALUE or --name=VALUE (short options: -x VALUE or -xVALUE); exact names only;
 *   a missing value ("--ws" last, or followed by something that looks like an option rather
 *   than a negative number), an unknown option, an option given twice, a value out of range
 *   or of the wrong form, and a missing required option are usage errors: exit 2 with
 *   "promo CMD: MESSAGE" naming the option and a hint to --help. Options and operands may
 *   mix; "--" ends the options. --threads is 0..1024 everywhere, 0 = all cores.
 * Every command also accepts -h/--help, -v/--verbose and -q/--quiet (the global log level).
 */
typedef enum cli_opt_kind {
    CLI_OPT_FLAG,   /* no value: the destination (int) becomes 1, or 0 with .clears */
    CLI_OPT_STRING, /* any text (borrowed from argv) */
    CLI_OPT_PATH,   /* a file or directory name: non-empty text (borrowed from argv) */
    CLI_OPT_UINT,   /* a decimal integer in [umin, umax], all 64 bits exact */
    CLI_OPT_NUMBER, /* a finite number in [lo, hi] (destination double) */
    CLI_OPT_DATE,   /* YYYY-MM-DD as seconds since the epoch (1970-01-01 is refused: 0 means
                       "the default cutoff" in the library's parameters) */
    CLI_OPT_ENUM,   /* one of words[]; the destination (an enum or int) gets the word's index */
} cli_opt_kind;

/* The C type a destination points to; set by CLI_DEST from the pointer's type. */
typedef enum cli_dest_type {
    CLI_DEST_NONE = 0,
    CLI_DEST_INT,
    CLI_DEST_UINT, /* unsigned int and the enums gcc gives that type */
    CLI_DEST_LONG,
    CLI_DEST_ULONG,
    CLI_DEST_LLONG,
    CLI_DEST_ULLONG,
    CLI_DEST_DOUBLE,
    CLI_DEST_STR, /* const char * */
} cli_dest_type;

/* clang-format off */
#define CLI_DEST(p)                                                                                \
    .dest = (p),                                                                                   \
    .dest_type = _Generic((p),                                                                     \
                          int *: CLI_DEST_INT,                                                     \
                          unsigned *: CLI_DEST_UINT,                                               \
                          long *: CLI_DEST_LONG,                                                   \
                          unsigned long *: CLI_DEST_ULONG,                                         \
                          long long *: CLI_DEST_LLONG,                                             \
                          unsigned long long *: CLI_DEST_ULLONG,                                   \
                          double *: CLI_DEST_DOUBLE,                                               \
                          const char **: CLI_DEST_STR)
/* clang-format on */

typedef struct cli_opt {
    const char *name;         /* long name without the dashes; NULL ends a table */
    char short_name;          /* -x, or 0 */
    cli_opt_kind kind;        /* what the value is */
    const char *metavar;      /* the value's name in help (DIR, N, DATE); ENUM: NULL = a|b|c */
    void *dest;               /* where the value goes (set with CLI_DEST) */
    cli_dest_type dest_type;  /* its C type (set with CLI_DEST) */
    unsigned long long umin;  /* UINT range */
    unsigned long long umax;  /* UINT range */
    double lo, hi;            /* NUMBER range */
    const char *const *words; /* ENUM: the allowed words, NULL-terminated */
    int clears;               /* FLAG: store 0 instead of 1 (--no-x flags) */
    int required;             /* must be given */
    const char *help;         /* help text; '\n' starts a new line */
    const char *def;          /* default shown in help: NULL = the destination's value before
                                 parsing (none for a NULL string, a zero date or a flag),
                                 "" = none */
} cli_opt;

/* Option kinds with the usual metavariables (add .help and the rest). */
#define CLI_FLAG(n, p)       .name = (n), .kind = CLI_OPT_FLAG, CLI_DEST(p)
#define CLI_FLAG_CLEAR(n, p) .name = (n), .kind = CLI_OPT_FLAG, .clears = 1, CLI_DEST(p)
#define CLI_STRING(n, m, p)  .name = (n), .kind = CLI_OPT_STRING, .metavar = (m), CLI_DEST(p)
#define CLI_PATH(n, m, p)    .name = (n), .kind = CLI_OPT_PATH, .metavar = (m), CLI_DEST(p)
#define CLI_UINT(n, m, a, b, p) \
    .name = (n), .kind = CLI_OPT_UINT, .metavar = (m), .umin = (a), .umax = (b), CLI_DEST(p)
#define CLI_NUMBER(n, m, a, b, p) \
    .name = (n), .kind = CLI_OPT_NUMBER, .metavar = (m), .lo = (a), .hi = (b), CLI_DEST(p)
#define CLI_DATE(n, p)    .name = (n), .kind = CLI_OPT_DATE, .metavar = "DATE", CLI_DEST(p)
#define CLI_ENUM(n, w, p) .name = (n), .kind = CLI_OPT_ENUM, .words = (w), CLI_DEST(p)
/* The common options, defined once: every command that has one uses these. */
#define CLI_WS(p)      CLI_PATH("ws", "DIR", p), .help = "workspace directory"
#define CLI_JSON(p)    CLI_FLAG("json", p)
#define CLI_THREADS(p) CLI_UINT("threads", "T", 0, 1024, p), .help = "worker threads, 0 = all cores"
#define CLI_SEED(p)    CLI_UINT("seed", "S", 0, UINT64_MAX, p)
#define CLI_AS_OF(p)   CLI_DATE("as-of", p)

typedef struct cli_spec {
    const char *name;             /* the command in messages ("train"); NULL: `promo` itself */
    const char *usage;            /* printed first, verbatim ("usage: promo train ...\n") */
    const char *about;            /* then this paragraph (or NULL) */
    void (*print_about)(FILE *f); /* or this, when the text is built at run time */
    const char *options_title;    /* a line before the options (or NULL) */
    const cli_opt *opts;          /* the command's options, ended by {0} */
    const char *operands;         /* name of the accepted operands ("FILE..."); NULL: none */
    const char *epilog;           /* printed after the options (exit status lines) or NULL */
} cli_spec;

/* cli_parse's "go on" result: not an exit code. */
#define CLI_CONTINUE (-1)

/* Parse argv[1..argc) against spec, storing each value into its destination. Returns
 * CLI_CONTINUE when the command should run; CLI_EXIT_OK after printing the help (-h/--help);
 * CLI_EXIT_INPUT after printing a usage error. Operands (spec->operands) are moved, in their
 * order, to argv[1..*n_operands] (n_operands may be NULL when the spec takes none). */
int cli_parse(const cli_spec *spec, int argc, char **argv, int *n_operands /* OUT */);
/* Print spec's help text (the defaults shown are the destinations' current values). */
void cli_help(const cli_spec *spec, FILE *f);
/* The options every command accepts besides its own (-v, -q, -h), ended by {0}. */
extern const cli_opt cli_builtin_opts[];
/* Called by cli_parse with each spec before parsing (NULL: nothing). For tests that iterate
 * the commands' options: the spec lives on the command's stack, copy what you keep. */
extern void (*cli_spec_hook)(const cli_spec *spec);

/* Write s as a JSON string literal (quotes, escapes for '"', '\\' and control bytes). */
void cli_json_str(FILE *f, const char *s);
struct promo_campaign_bundle; /* promo/campaign.h */
/* The bundle of campaign and compare --json: {"product_id": ... or null, "orders", "together",
 * "confidence", "lift"}, on stdout. */
void cli_bundle_json(const struct promo_campaign_bundle *b);
/* What the bundle is, for the commands' text: "in T of P's N orders of the last year (C%, lift
 * L)", "never in the same order as P in the last year", or, with none chosen, "no product is in
 * at least 5 of P's N orders of the last year with a lift above 1" (P: offered). */
void cli_bundle_why(char *buf,
                    size_t cap,
                    const char *offered,
                    const struct promo_campaign_bundle *b);
/* Default workspace directory when --ws is not given. */
#define CLI_DEFAULT_WS "./promo-ws"

/* Subcommands. */
int cmd_demo(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_campaign(int argc, char **argv);
int cmd_segment(int argc, char **argv);
int cmd_uplift(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_crosssell(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* promo train --model als|bpr|... (cmd_train_recommend.c): cmd_train delegates the whole argv
 * when cli_train_is_recommender(argc, argv) says --model names a recommender. */
int cmd_train_recommend(int argc, char **argv);
int cli_train_is_recommender(int argc, char **argv);
struct promo_sim_params;
struct promo_sim_result;
/* What promo simulate plays: the campaign file in workspace ws's generated world with sp
 * (cmd_simulate.c). *res gets the figures, *n_offers the offers played; discount and bundle
 * (NULL: not wanted) the first offer's discount and its bundle product's id ("" when none). */
int cli_simulate_file(const char *ws,
                      const char *campaign,
                      const struct promo_sim_params *sp,
                      struct promo_sim_result *res,
                      size_t *n_offers,
                      double *discount,
                      char *bundle,
                      size_t n_bundle);

struct promo_rec_train_report;
void cli_print_recommend_train(FILE *f, const struct promo_rec_train_report *r, int json);
/* promo train for a recommend.h kind on workspace ws: train, print (as promo train prints),
 * the exit status. */
struct promo_rec_train_params;
int cli_rec_train_run(const char *ws, const struct promo_rec_train_params *p, int json);
/* The value of argv's --model, or NULL. */
const char *cli_train_model_arg(int argc, char **argv);
/* promo evaluate's recommender part (cmd_train_recommend.c): the stored evaluations as
 * promo train printed them (table, or JSON: one object, or {"evaluations":[...]}), and one as
 * a JSON object without a line end. */
struct promo_rec_evaluation;
void cli_print_recommend_evals(FILE *f, const struct promo_rec_evaluation *e, size_t n, int json);
void cli_print_recommend_eval_json(FILE *f, const struct promo_rec_evaluation *e);

/* promo train --model mf|hybrid (cmd_train_rec.c), with its own options: cmd_train hands the
 * whole argv over when cli_train_is_rec(argc, argv) says --model names one of them. */
int cmd_train_rec(int argc, char **argv);
int cli_train_is_rec(int argc, char **argv);

/* Print propensity evaluations (promo train, promo evaluate, promo demo): a table per report,
 * or JSON (one object, or {"evaluations": [...]} for several). In cmd_evaluate.c. */
struct promo_propensity_report;
void cli_print_propensity(FILE *f, const struct promo_propensity_report *r, size_t n, int json);
/* Print an expansion evaluation (promo train --model expansion, promo evaluate): a table or
 * one JSON object. In cmd_evaluate.c. */
struct promo_expansion_report;
void cli_print_expansion(FILE *f, const struct promo_expansion_report *r, int json);

#endif
