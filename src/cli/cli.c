/* Global options, the subcommand table and the status-to-exit-code mapping. */
#include "cli/cli.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <locale.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/timeutil.h>

const cli_command cli_commands[] = {
    /* Add each subcommand here as it lands (keep DESIGN.md's order). */
    {"demo", cmd_demo, "generate the default world and run the whole pipeline on it"},
    {"generate", cmd_generate, "generate a synthetic retail world with known ground truth"},
    {"ingest", cmd_ingest, "read source files (CSV) through a format profile into a workspace"},
    {"features", cmd_features, "build customer and product features as of a cutoff date"},
    {"train", cmd_train, "train a model (propensity) and evaluate it against baselines"},
    {"evaluate", cmd_evaluate, "print the stored evaluation of the trained models"},
    {"score", cmd_score, "score every customer for a target (CSV of probabilities)"},
    {"explain", cmd_explain, "why a customer gets their propensity score, in sentences"},
    {"segment", cmd_segment, "customer segments: k-means, HDBSCAN, spend tiers, personas"},
    {"uplift", cmd_uplift, "uplift: who each treatment arm changes, from a treatment/outcome CSV"},
    {"rules", cmd_rules, "association rules (FP-growth) from baskets: what is bought together"},
    {"crosssell", cmd_crosssell, "bundle offers to buyers of a rule's antecedents (FP-growth)"},
    {"recommend", cmd_recommend, "top-K products per customer, or top customers for a product"},
    {"similar", cmd_similar, "products like one never sold, and the customers to target with it"},
    {"campaign", cmd_campaign, "the top customers by propensity for a product, as a campaign file"},
    {"measure", cmd_measure, "a campaign's realised effect: treated against its random holdout"},
    {"compare", cmd_compare, "targeting strategies side by side in the simulator (paired draws)"},
    {"info", cmd_info, "describe the tables of a workspace"},
    {"sql", cmd_sql, "run a read-only SQL query on a workspace (chunked tables included)"},
    {"export", cmd_export, "write a table of a workspace as CSV"},
    {"simulate", cmd_simulate, "simulate a campaign file in the generated world (true uplift)"},
    {"report", cmd_report, "the evaluation report: report.html with charts, every figure as text"},
    {"serve", cmd_serve, "serve the JSON API and the web page over HTTP (loopback by default)"},
    {NULL, NULL, NULL},
};

static void print_commands(FILE *f)
{
    fprintf(f, "commands:\n");
    for (size_t i = 0; cli_commands[i].name; i++)
        fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
}

int cli_report(int status)
{
    if (status == PROMO_OK)
        return CLI_EXIT_OK;
    const char *msg = promo_last_error();
    fprintf(stderr, "promo: %s\n", msg && *msg ? msg : promo_strerror(status));
    return status == PROMO_EINPUT || status == PROMO_EUSAGE || status == PROMO_ENOTFOUND ||
                   status == PROMO_EVERSION
               ? CLI_EXIT_INPUT
               : CLI_EXIT_FAIL;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void cli_bundle_json(const promo_campaign_bundle *b)
{
    printf("{\"product_id\":");
    if (b->product_id[0])
        cli_json_str(stdout, b->product_id);
    else
        printf("null");
    printf(",\"orders\":%zu,\"together\":%zu,\"confidence\":%.6g,\"lift\":%.6g}", b->orders,
           b->together, b->confidence, b->lift);
}

void cli_bundle_why(char *buf, size_t cap, const char *offered, const promo_campaign_bundle *b)
{
    if (!b->product_id[0])
        snprintf(buf, cap,
                 "no product is in at least %d of %s's %zu orders of the last year with a lift "
                 "above 1",
                 PROMO_CAMPAIGN_BUNDLE_MIN_ORDERS, offered, b->orders);
    else if (b->together)
        snprintf(buf, cap, "in %zu of %s's %zu orders of the last year (%.0f%%, lift %.2f)",
                 b->together, offered, b->orders, 100 * b->confidence, b->lift);
    else
        snprintf(buf, cap, "never in the same order as %s in the last year", offered);
}

int cli_parse_number(const char *cmd,
                     const char *opt,
                     const char *arg,
                     double lo,
                     double hi,
                     int integer,
                     double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (!*arg || *end || errno == ERANGE || !(v >= lo && v <= hi) || (integer && v != floor(v)))
        return cli_usage_error(cmd, "%s: expected %s from %g to %g, got \"%s\"", opt,
                               integer ? "an integer" : "a number", lo, hi, arg);
    *out = v;
    return CLI_EXIT_OK;
}

int cli_parse_uint(const char *cmd,
                   const char *opt,
                   const char *arg,
                   unsigned long long lo,
                   unsigned long long hi,
                   unsigned long long *out)
{
    const char *p = arg;
    while (*p == ' ')
        p++;
    char *end = NULL;
    errno = 0;
    unsigned long long v = *p >= '0' && *p <= '9' ? strtoull(p, &end, 10) : 0;
    if (!end || *end || errno == ERANGE || v < lo || v > hi)
        return cli_usage_error(cmd, "%s: expected an integer from %llu to %llu, got \"%s\"", opt,
                               lo, hi, arg);
    *out = v;
    return CLI_EXIT_OK;
}

int cli_parse_date(const char *cmd, const char *opt, const char *arg, int64_t *out)
{
    /* 0 means "the default cutoff" in the library's parameters, so 1970-01-01 is refused. */
    if (promo_time_parse_iso(arg, strlen(arg), out) || *out == 0) {
        char hint[160];
        promo_time_iso_hint(arg, hint, sizeof hint);
        return cli_usage_error(cmd, "%s: expected a date YYYY-MM-DD, got \"%s\" (%s)", opt, arg,
                               hint);
    }
    return CLI_EXIT_OK;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "promo%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see `promo%s%s --help`)\n", cmd ? " " : "", cmd ? cmd : "");
    va_end(ap);
    return CLI_EXIT_INPUT;
}

int promo_cli_main(int argc, char **argv)
{
    /* Numbers are read and written in the C locale whatever the environment says. */
    setlocale(LC_ALL, "C");
    /* GSL must report errors as return codes, never abort the process. */
    gsl_set_error_handler_off();
    /* Global options come before the command and take no values: they end at the first
     * argument that is not an option, the command. */
    /* A file over RLIMIT_FSIZE must be a write error we report, not a silent death. */
    signal(SIGXFSZ, SIG_IGN);
    int version = 0, no_wait = 0;
    const cli_opt opts[] = {
        {CLI_FLAG("version", &version), .help = "print the version"},
        {CLI_FLAG("no-wait", &no_wait),
         .help = "fail at once (exit 1) when another command holds the workspace lock,\n"
                 "instead of waiting for it"},
        {0},
    };
    const cli_spec spec = {
        .usage = "promo " PROMO_VERSION ": a personalized promotion engine for retailers\n\n"
                 "usage: promo [-v|-q] COMMAND [OPTIONS]\n",
        .print_about = print_commands,
        .options_title = "global options:",
        .opts = opts,
        .epilog = "`promo COMMAND --help` (or `promo help COMMAND`) describes a command.\n"
                  "exit status: 0 ok, 2 bad input or usage, 1 internal failure\n",
    };
    int i = 1;
    while (i < argc && argv[i][0] == '-')
        i++;
    int ec = cli_parse(&spec, i, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    promo_store_set_wait(!no_wait && !getenv("PROMO_NO_WAIT"));
    if (version) {
        printf("promo %s\n", PROMO_VERSION);
        return CLI_EXIT_OK;
    }
    if (i >= argc) {
        cli_help(&spec, stderr);
        return CLI_EXIT_INPUT;
    }
    /* `promo help [COMMAND]`: the same text as `promo [COMMAND] --help`. */
    if (!strcmp(argv[i], "help")) {
        if (i + 1 >= argc) {
            cli_help(&spec, stdout);
            return CLI_EXIT_OK;
        }
        for (size_t k = 0; cli_commands[k].name; k++)
            if (!strcmp(argv[i + 1], cli_commands[k].name)) {
                char *hargv[] = {argv[i + 1], "--help", NULL};
                return cli_commands[k].fn(2, hargv);
            }
        fprintf(stderr, "promo help: unknown command '%s' (see `promo --help`)\n", argv[i + 1]);
        return CLI_EXIT_INPUT;
    }
    for (size_t k = 0; cli_commands[k].name; k++)
        if (!strcmp(argv[i], cli_commands[k].name))
            return cli_commands[k].fn(argc - i, argv + i);
    fprintf(stderr, "promo: unknown command '%s' (see `promo --help`)\n", argv[i]);
    return CLI_EXIT_INPUT;
}

/* Threads runnable on the host right now, this one included (/proc/stat's procs_running), or
 * -1 when unknown. */
static int running_now(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "procs_running %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* score and explain are short (about 0.5 s of CPU on Online Retail, 2-3 s at a million
 * customers) and latency-bound: on a host with more runnable threads than cores, OpenMP's teams
 * mostly spin waiting for a descheduled member (2.3-2.6 s wall at load 14 on 2 cores against
 * 1.0-1.4 s on one thread). So the team is sized by the cores left idle: the 1-minute load
 * average (getloadavg), not OpenMP's dynamic mode, which reads the 15-minute one and so kept one
 * thread for a quarter of an hour after any work on an idle machine. A core counts as taken
 * when the load reaches it (floor: at load 0.8 on 2 cores, 2 threads) and the threads runnable
 * right now say so too: a minute's average still counts work that just ended (the previous
 * score of a script scoring in turn). Results do not depend on the thread count. An explicit
 * OMP_NUM_THREADS or OMP_DYNAMIC wins. Returns the previous team size for omp_set_num_threads. */
int cli_team_by_load(const char *cmd)
{
    int was = omp_get_max_threads();
    double load;
    if (getenv("OMP_NUM_THREADS") || getenv("OMP_DYNAMIC") || getloadavg(&load, 1) != 1)
        return was;
    int cores = omp_get_num_procs(), busy = (int)load, others = running_now() - 1;
    if (others >= 0 && others < busy)
        busy = others;
    int n = busy <= 0 ? cores : busy >= cores ? 1 : cores - busy;
    omp_set_num_threads(n);
    promo_debug("%s: %d thread%s (%d cores, 1-minute load %.2f, %d other threads runnable)", cmd, n,
                n == 1 ? "" : "s", cores, load, others);
    return was;
}
