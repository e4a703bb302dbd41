/* Tests of the CLI options layer (src/cli/cli_opts.c), in-process through promo_cli_main.
 *
 * The table-driven ones walk every subcommand of cli_commands: cli_spec_hook hands over each
 * command's option table when it parses, so a new command or option is covered without
 * touching this file. For each: --help lists exactly the options the table has (and the
 * built-ins), each listed option is accepted and nothing else is, and a missing value, an
 * out-of-range number, a bad date or word, an empty path, a repeated or unknown option exit 2
 * naming the option, before the workspace is touched. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/log.h>

#include "cli/cli.h"
#include "t.h"

#define MAX_ARGV 32
#define MAX_SEEN 64

/* The spec the last command parsed against (copied: it lived on the command's stack). */
static struct {
    int n_calls;
    const char *name;
    cli_opt opts[MAX_SEEN];
    size_t n_opts;
    const char *operands;
} seen;

static void capture_spec(const cli_spec *spec)
{
    if (!spec->name)
        return; /* promo's own options, before the command */
    seen.n_calls++;
    seen.name = spec->name;
    seen.operands = spec->operands;
    seen.n_opts = 0;
    for (const cli_opt *o = spec->opts; o && o->name && seen.n_opts < MAX_SEEN; o++)
        seen.opts[seen.n_opts++] = *o;
}

/* Run `promo ARGS` in-process (args split on spaces; "''" is an empty argument), capturing
 * stdout and stderr (malloc'd, caller frees; may pass NULL). Restores the log level. */
static int run(char **out, char **err, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char *argv[MAX_ARGV + 1];
    int argc = 0;
    argv[argc++] = "promo";
    for (char *tok = strtok(line, " "); tok && argc < MAX_ARGV; tok = strtok(NULL, " "))
        argv[argc++] = strcmp(tok, "''") ? tok : "";
    argv[argc] = NULL;

    char of[600], ef[600];
    const char *dir = t_tmpdir();
    snprintf(of, sizeof of, "%s/out", dir);
    snprintf(ef, sizeof ef, "%s/err", dir);
    fflush(stdout);
    fflush(stderr);
    int save_out = dup(1), save_err = dup(2);
    int fo = open(of, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(ef, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    T_ASSERT(save_out >= 0 && save_err >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    promo_log_level level = promo_log_get_level();
    int rc = promo_cli_main(argc, argv);
    promo_log_set_level(level);
    fflush(stdout);
    fflush(stderr);
    dup2(save_out, 1);
    dup2(save_err, 2);
    close(save_out);
    close(save_err);
    if (out)
        *out = t_read_file(of, NULL);
    if (err)
        *err = t_read_file(ef, NULL);
    return rc;
}

/* Capture the spec of command `name` by asking for its help. */
static void spec_of(const char *name)
{
    seen.n_calls = 0;
    cli_spec_hook = capture_spec;
    char *out = NULL;
    int rc = run(&out, NULL, "%s --help", name);
    cli_spec_hook = NULL;
    T_ASSERT_MSG(rc == 0, "%s --help exited %d", name, rc);
    T_ASSERT_MSG(seen.n_calls == 1 && seen.name && !strcmp(seen.name, name),
                 "%s does not parse its options through cli_parse", name);
    free(out);
}

/* A value option o accepts. */
static const char *good_value(const cli_opt *o, char *buf, size_t n)
{
    switch (o->kind) {
    case CLI_OPT_UINT:
        snprintf(buf, n, "%llu", o->umin);
        return buf;
    case CLI_OPT_NUMBER:
        snprintf(buf, n, "%.17g", o->lo);
        return buf;
    case CLI_OPT_DATE:
        return "2024-03-01";
    case CLI_OPT_ENUM:
        return o->words[0];
    default:
        return "x";
    }
}

/* The workspace argument for a command line: none when the option tested is --ws itself. */
static const char *ws_args(const cli_opt *o, const char *ws, char *buf, size_t n)
{
    if (o && !strcmp(o->name, "ws"))
        return "";
    /* commands that work on files, not a workspace (promo uplift), have no --ws */
    int has_ws = 0;
    for (size_t k = 0; k < seen.n_opts; k++)
        has_ws |= !strcmp(seen.opts[k].name, "ws");
    if (!has_ws)
        return "";
    snprintf(buf, n, "--ws %s", ws);
    return buf;
}

/* Is the line an option line of the help listing option `name` (and short s)? */
static int lists(const char *help, const char *name, char short_name)
{
    char want[200];
    if (short_name)
        snprintf(want, sizeof want, "\n  -%c, --%s", short_name, name);
    else
        snprintf(want, sizeof want, "\n  --%s", name);
    const char *p = strstr(help, want);
    if (!p)
        return 0;
    char end = p[strlen(want)];
    return end == ' ' || end == '\n';
}

static int known(const char *name, size_t len)
{
    for (size_t k = 0; k < seen.n_opts; k++)
        if (strlen(seen.opts[k].name) == len && !strncmp(seen.opts[k].name, name, len))
            return 1;
    for (const cli_opt *b = cli_builtin_opts; b->name; b++)
        if (strlen(b->name) == len && !strncmp(b->name, name, len))
            return 1;
    return 0;
}

T_TEST(cli_help_of_every_command_lists_exactly_its_options)
{
    for (const cli_command *c = cli_commands; c->name; c++) {
        spec_of(c->name);
        char *out = NULL;
        T_ASSERT_EQ_INT(run(&out, NULL, "%s --help", c->name), 0);
        char usage[64];
        snprintf(usage, sizeof usage, "usage: promo %s", c->name);
        T_ASSERT_MSG(!strncmp(out, usage, strlen(usage)), "%s --help: %s", c->name, out);
        T_ASSERT_MSG(seen.n_opts > 0, "%s has no options", c->name);
        for (size_t k = 0; k < seen.n_opts; k++) {
            const cli_opt *o = &seen.opts[k];
            T_ASSERT_MSG(lists(out, o->name, o->short_name), "%s --help omits --%s:\n%s", c->name,
                         o->name, out);
        }
        for (const cli_opt *b = cli_builtin_opts; b->name; b++)
            T_ASSERT_MSG(lists(out, b->name, b->short_name), "%s --help omits --%s", c->name,
                         b->name);
        /* and lists nothing else: every option line names a known option */
        for (const char *p = strstr(out, "\n  -"); p; p = strstr(p + 1, "\n  -")) {
            const char *l = strstr(p, "--");
            T_ASSERT(l);
            l += 2;
            size_t len = strcspn(l, " \n");
            T_ASSERT_MSG(known(l, len), "%s --help lists an unknown option --%.*s", c->name,
                         (int)len, l);
        }
        T_ASSERT_MSG(strstr(out, "exit status:"), "%s --help says nothing of the exit status",
                     c->name);
        /* --help wins wherever it is, -h too, and `promo help CMD` prints the same */
        char *same = NULL;
        T_ASSERT_EQ_INT(run(&same, NULL, "help %s", c->name), 0);
        T_ASSERT_STR_EQ(same, out);
        free(same);
        free(out);
        T_ASSERT_EQ_INT(run(&out, NULL, "%s --no-such-option -h", c->name), 0);
        T_ASSERT_CONTAINS(out, usage);
        free(out);
    }
}

T_TEST(cli_every_command_accepts_exactly_its_options)
{
    char ws[700], wsa[800], val[64], *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    for (const cli_command *c = cli_commands; c->name; c++) {
        spec_of(c->name);
        /* Each option (with a good value) is accepted: parsing goes on to the next argument. */
        for (size_t k = 0; k < seen.n_opts; k++) {
            const cli_opt *o = &seen.opts[k];
            const char *v = o->kind == CLI_OPT_FLAG ? "" : good_value(o, val, sizeof val);
            T_ASSERT_EQ_INT(run(NULL, &err, "%s %s --%s %s --no-such-option", c->name,
                                ws_args(o, ws, wsa, sizeof wsa), o->name, v),
                            2);
            T_ASSERT_MSG(strstr(err, "unknown option '--no-such-option'"), "%s --%s %s: %s",
                         c->name, o->name, v, err);
            free(err);
            /* --name=value too */
            if (o->kind != CLI_OPT_FLAG) {
                T_ASSERT_EQ_INT(run(NULL, &err, "%s %s --%s=%s --no-such-option", c->name,
                                    ws_args(o, ws, wsa, sizeof wsa), o->name, v),
                                2);
                T_ASSERT_CONTAINS(err, "unknown option '--no-such-option'");
                free(err);
            }
            /* no abbreviations: a prefix of a name is not that option */
            size_t len = strlen(o->name);
            if (len > 1 && !known(o->name, len - 1)) {
                T_ASSERT_EQ_INT(
                    run(NULL, &err, "%s --%.*s %s", c->name, (int)(len - 1), o->name, v), 2);
                T_ASSERT_CONTAINS(err, "unknown option");
                free(err);
            }
        }
        /* the built-ins, short and long */
        T_ASSERT_EQ_INT(run(NULL, &err, "%s -v --quiet --no-such-option", c->name), 2);
        T_ASSERT_CONTAINS(err, "unknown option '--no-such-option'");
        free(err);
        T_ASSERT_EQ_INT(run(NULL, &err, "%s -q --verbose --no-such-option", c->name), 2);
        T_ASSERT_CONTAINS(err, "unknown option '--no-such-option'");
        free(err);
        T_ASSERT_EQ_INT(run(NULL, &err, "%s %s -Z", c->name, ws_args(NULL, ws, wsa, sizeof wsa)),
                        2);
        T_ASSERT_CONTAINS(err, "unknown option '-Z'");
        free(err);
    }
    T_ASSERT_MSG(access(ws, F_OK) != 0, "a refused command line created %s", ws);
}

/* One bad command line and the message it must give. */
typedef struct bad_case {
    char args[256];
    char want[256];
} bad_case;

static size_t bad_cases(const cli_opt *o, bad_case *bc, size_t cap)
{
    size_t n = 0;
#define ADD(msg, ...)                                             \
    do {                                                          \
        if (n < cap) {                                            \
            snprintf(bc[n].args, sizeof bc[n].args, __VA_ARGS__); \
            snprintf(bc[n].want, sizeof bc[n].want, "%s", msg);   \
            n++;                                                  \
        }                                                         \
    } while (0)
    char want[200], v[64];
    const char *name = o->name;
    if (o->kind == CLI_OPT_FLAG) {
        snprintf(want, sizeof want, "--%s: takes no value", name);
        ADD(want, "--%s=1", name);
        snprintf(want, sizeof want, "--%s: given more than once", name);
        ADD(want, "--%s --%s", name, name);
        return n;
    }
    snprintf(want, sizeof want, "--%s: missing value", name);
    ADD(want, "--%s", name);
    ADD(want, "--%s --json", name);
    snprintf(want, sizeof want, "--%s: given more than once", name);
    const char *gv = good_value(o, v, sizeof v);
    ADD(want, "--%s %s --%s %s", name, gv, name, gv);
    switch (o->kind) {
    case CLI_OPT_UINT:
        snprintf(want, sizeof want, "--%s: expected an integer from %llu to %llu", name, o->umin,
                 o->umax);
        if (o->umax < UINT64_MAX)
            ADD(want, "--%s %llu", name, o->umax + 1);
        else
            ADD(want, "--%s 18446744073709551616", name);
        if (o->umin > 0)
            ADD(want, "--%s %llu", name, o->umin - 1);
        ADD(want, "--%s -1", name);
        ADD(want, "--%s 1.5", name);
        ADD(want, "--%s abc", name);
        ADD(want, "--%s=", name);
        break;
    case CLI_OPT_NUMBER:
        snprintf(want, sizeof want, "--%s: expected a number from", name);
        ADD(want, "--%s %.17g", name, o->hi * 2 + 1);
        ADD(want, "--%s %.17g", name, o->lo - 1);
        ADD(want, "--%s nan", name);
        ADD(want, "--%s abc", name);
        break;
    case CLI_OPT_DATE:
        snprintf(want, sizeof want, "--%s: expected a date YYYY-MM-DD", name);
        ADD(want, "--%s 2024-02-30", name);
        ADD(want, "--%s yesterday", name);
        ADD(want, "--%s=", name);
        break;
    case CLI_OPT_ENUM:
        snprintf(want, sizeof want, "--%s: expected %s", name, o->words[0]);
        ADD(want, "--%s no-such-word", name);
        break;
    case CLI_OPT_PATH:
        snprintf(want, sizeof want, "--%s: expected a path", name);
        ADD(want, "--%s ''", name);
        break;
    default:
        break;
    }
#undef ADD
    return n;
}

T_TEST(cli_bad_options_exit_2_naming_the_option_for_every_command)
{
    const char *dir = t_tmpdir();
    char ws[700], wsa[800], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws", dir);
    size_t n_checked = 0;
    for (const cli_command *c = cli_commands; c->name; c++) {
        spec_of(c->name);
        for (size_t k = 0; k < seen.n_opts; k++) {
            const cli_opt *o = &seen.opts[k];
            bad_case bc[16];
            size_t n = bad_cases(o, bc, 16);
            for (size_t i = 0; i < n; i++) {
                int rc = run(&out, &err, "%s %s %s", c->name, ws_args(o, ws, wsa, sizeof wsa),
                             bc[i].args);
                T_ASSERT_MSG(rc == 2, "promo %s %s: exit %d", c->name, bc[i].args, rc);
                T_ASSERT_MSG(strstr(err, bc[i].want), "promo %s %s: want \"%s\", got: %s", c->name,
                             bc[i].args, bc[i].want, err);
                char hint[100];
                snprintf(hint, sizeof hint, "(see `promo %s --help`)", c->name);
                T_ASSERT_CONTAINS(err, hint);
                T_ASSERT_STR_EQ(out, "");
                free(out);
                free(err);
                n_checked++;
            }
        }
        /* unknown options, and operands of commands that take none */
        T_ASSERT_EQ_INT(
            run(NULL, &err, "%s %s --bogus", c->name, ws_args(NULL, ws, wsa, sizeof wsa)), 2);
        T_ASSERT_CONTAINS(err, "unknown option '--bogus'");
        free(err);
        T_ASSERT_EQ_INT(
            run(NULL, &err, "%s %s --bogus=1", c->name, ws_args(NULL, ws, wsa, sizeof wsa)), 2);
        T_ASSERT_CONTAINS(err, "unknown option '--bogus'");
        free(err);
        if (!seen.operands) {
            T_ASSERT_EQ_INT(
                run(NULL, &err, "%s %s stray", c->name, ws_args(NULL, ws, wsa, sizeof wsa)), 2);
            T_ASSERT_CONTAINS(err, "unexpected argument 'stray'");
            free(err);
        }
        /* a required option that is missing is named */
        for (size_t k = 0; k < seen.n_opts; k++) {
            if (!seen.opts[k].required)
                continue;
            char line[1024] = "";
            size_t at = 0;
            for (size_t j = 0; j < seen.n_opts; j++) {
                const cli_opt *o = &seen.opts[j];
                char v[64];
                if (j == k || !o->required)
                    continue;
                at += (size_t)snprintf(line + at, sizeof line - at, " --%s %s", o->name,
                                       good_value(o, v, sizeof v));
            }
            T_ASSERT_EQ_INT(
                run(NULL, &err, "%s %s%s", c->name, ws_args(NULL, ws, wsa, sizeof wsa), line), 2);
            char want[100];
            snprintf(want, sizeof want, "--%s %s is required", seen.opts[k].name,
                     seen.opts[k].metavar);
            T_ASSERT_CONTAINS(err, want);
            free(err);
        }
    }
    T_ASSERT(n_checked > 100);
    T_ASSERT_MSG(access(ws, F_OK) != 0, "a refused command line created %s", ws);
}

T_TEST(cli_threads_is_one_rule_everywhere)
{
    /* --threads 0 (all cores) .. 1024 in every command that has it; they all use CLI_THREADS */
    int n = 0;
    for (const cli_command *c = cli_commands; c->name; c++) {
        spec_of(c->name);
        for (size_t k = 0; k < seen.n_opts; k++) {
            const cli_opt *o = &seen.opts[k];
            if (!strcmp(o->name, "threads")) {
                T_ASSERT_EQ_INT(o->kind, CLI_OPT_UINT);
                T_ASSERT_EQ_INT(o->umin, 0);
                T_ASSERT_EQ_INT(o->umax, 1024);
                n++;
            }
            if (!strcmp(o->name, "seed")) {
                T_ASSERT_EQ_INT(o->kind, CLI_OPT_UINT);
                T_ASSERT(o->umax == UINT64_MAX);
            }
            if (!strcmp(o->name, "as-of"))
                T_ASSERT_EQ_INT(o->kind, CLI_OPT_DATE);
            if (!strcmp(o->name, "ws"))
                T_ASSERT_EQ_INT(o->kind, CLI_OPT_PATH);
            if (!strcmp(o->name, "json"))
                T_ASSERT_EQ_INT(o->kind, CLI_OPT_FLAG);
        }
    }
    T_ASSERT(n >= 4);
}

/* ---- the parser on a table of every kind ---- */

typedef enum { COLOR_RED, COLOR_GREEN, COLOR_BLUE } color;

static struct {
    const char *name, *path;
    unsigned long long seed;
    unsigned count;
    int threads, flag, on;
    double rate, whole;
    int64_t day;
    color col;
} v;

static int parse_all(int argc, char **argv, int *n_operands)
{
    static const char *const colors[] = {"red", "green", "blue", NULL};
    memset(&v, 0, sizeof v);
    v.on = 1;
    v.rate = 0.5;
    v.col = COLOR_GREEN;
    const cli_opt opts[] = {
        {CLI_STRING("name", "NAME", &v.name), .short_name = 'n', .help = "a name"},
        {CLI_PATH("path", "FILE", &v.path), .required = 1, .help = "a file"},
        {CLI_SEED(&v.seed), .help = "a seed"},
        {CLI_UINT("count", "N", 1, 10, &v.count), .help = "a count"},
        {CLI_THREADS(&v.threads)},
        {CLI_FLAG("flag", &v.flag), .help = "a flag"},
        {CLI_FLAG_CLEAR("no-on", &v.on), .help = "off"},
        {CLI_NUMBER("rate", "R", 0, 1, &v.rate), .help = "a rate"},
        {CLI_UINT("whole", "W", 0, 100, &v.whole), .help = "an integer into a double"},
        {CLI_AS_OF(&v.day), .help = "a day", .def = "today"},
        {CLI_ENUM("color", colors, &v.col), .help = "a color"},
        {0},
    };
    const cli_spec spec = {.name = "test",
                           .usage = "usage: promo test [options] FILE...\n",
                           .about = "A test.\n",
                           .opts = opts,
                           .operands = "FILE...",
                           .epilog = "the end\n"};
    return cli_parse(&spec, argc, argv, n_operands);
}

T_TEST(cli_parse_stores_every_kind_and_moves_operands)
{
    char *argv[] = {"test",
                    "a.csv",
                    "--path=p",
                    "-n",
                    "N1",
                    "--seed",
                    "18446744073709551615",
                    "b.csv",
                    "--count",
                    "10",
                    "--threads",
                    "0",
                    "--flag",
                    "--no-on",
                    "--rate",
                    "1e-3",
                    "--whole=7",
                    "--as-of",
                    "2024-02-29",
                    "--color",
                    "blue",
                    "--",
                    "--c.csv",
                    NULL};
    int argc = (int)(sizeof argv / sizeof *argv) - 1, n = -1;
    T_ASSERT_EQ_INT(parse_all(argc, argv, &n), CLI_CONTINUE);
    T_ASSERT_STR_EQ(v.name, "N1");
    T_ASSERT_STR_EQ(v.path, "p");
    T_ASSERT(v.seed == UINT64_MAX);
    T_ASSERT_EQ_INT(v.count, 10);
    T_ASSERT_EQ_INT(v.threads, 0);
    T_ASSERT_EQ_INT(v.flag, 1);
    T_ASSERT_EQ_INT(v.on, 0);
    T_ASSERT_NEAR(v.rate, 1e-3, 0);
    T_ASSERT_NEAR(v.whole, 7, 0);
    T_ASSERT_EQ_INT(v.day, 1709164800);
    T_ASSERT_EQ_INT(v.col, COLOR_BLUE);
    T_ASSERT_EQ_INT(n, 3);
    T_ASSERT_STR_EQ(argv[1], "a.csv");
    T_ASSERT_STR_EQ(argv[2], "b.csv");
    T_ASSERT_STR_EQ(argv[3], "--c.csv");
    /* -nVALUE, defaults kept */
    char *argv2[] = {"test", "-nX", "--path", "p", NULL};
    T_ASSERT_EQ_INT(parse_all(4, argv2, &n), CLI_CONTINUE);
    T_ASSERT_STR_EQ(v.name, "X");
    T_ASSERT_EQ_INT(v.col, COLOR_GREEN);
    T_ASSERT_EQ_INT(v.on, 1);
    T_ASSERT_EQ_INT(n, 0);
}

T_TEST(cli_generated_help_shows_kinds_defaults_and_epilog)
{
    char *argv[] = {"test", "--help", NULL};
    const char *dir = t_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/help", dir);
    fflush(stdout);
    int save = dup(1), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
    int rc = parse_all(2, argv, NULL);
    fflush(stdout);
    dup2(save, 1);
    close(save);
    T_ASSERT_EQ_INT(rc, CLI_EXIT_OK);
    char *help = t_read_file(path, NULL);
    const char *head = "usage: promo test [options] FILE...\n\nA test.\n\n";
    T_ASSERT_MSG(!strncmp(help, head, strlen(head)), "%s", help);
    T_ASSERT_CONTAINS(help, "\n  -n, --name NAME ");
    T_ASSERT_CONTAINS(help, "a file (required)\n");
    T_ASSERT_CONTAINS(help, "a rate (default: 0.5)\n");
    T_ASSERT_CONTAINS(help, "--color red|green|blue");
    T_ASSERT_CONTAINS(help, "a color (default: green)\n");
    T_ASSERT_CONTAINS(help, "a day (default: today)\n");
    T_ASSERT_CONTAINS(help, "worker threads, 0 = all cores (default: 0)\n");
    T_ASSERT_CONTAINS(help, "\n  -h, --help ");
    T_ASSERT_CONTAINS(help, "\n\nthe end\n");
    free(help);
}

T_TEST(cli_global_options)
{
    char *out = NULL, *err = NULL;
    T_ASSERT_EQ_INT(run(&out, &err, "--version"), 0);
    T_ASSERT_CONTAINS(out, "promo " PROMO_VERSION);
    free(out);
    free(err);
    T_ASSERT_EQ_INT(run(&out, &err, "--help"), 0);
    for (const cli_command *c = cli_commands; c->name; c++) {
        char line[256];
        snprintf(line, sizeof line, "\n  %-10s %s\n", c->name, c->summary);
        T_ASSERT_CONTAINS(out, line);
    }
    T_ASSERT_CONTAINS(out, "\n  --version ");
    T_ASSERT_CONTAINS(out, "\n  -q, --quiet ");
    free(out);
    free(err);
    T_ASSERT_EQ_INT(run(&out, &err, "--bogus info"), 2);
    T_ASSERT_CONTAINS(err, "promo: unknown option '--bogus'");
    free(out);
    free(err);
    T_ASSERT_EQ_INT(run(&out, &err, "help nosuch"), 2);
    T_ASSERT_CONTAINS(err, "unknown command 'nosuch'");
    free(out);
    free(err);
    T_ASSERT_EQ_INT(run(&out, &err, "nosuch"), 2);
    T_ASSERT_CONTAINS(err, "unknown command 'nosuch'");
    free(out);
    free(err);
    T_ASSERT_EQ_INT(run(&out, &err, "-q"), 2);
    T_ASSERT_CONTAINS(err, "usage: promo");
    free(out);
    free(err);
}
