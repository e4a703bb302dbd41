/* The options layer: one table per command drives both parsing and --help (cli.h).
 *
 * Not getopt: getopt_long accepts abbreviations (so a new option can silently change what an
 * old abbreviation means), takes "--ws --json" as a workspace named "--json", keeps state in
 * globals (the demo runs commands in a row) and leaves missing values, repeats and ranges to
 * each caller, which is how twelve copies drifted apart. Here each of those is decided once.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/log.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

/* A command's own options at most; more is a programming error caught on every run. */
#define MAX_OPTS 64
/* Help: descriptions start at this column at most, and wrap before WRAP_COL. */
#define DESC_COL 24
#define WRAP_COL 80
/* A space print_wrapped never breaks at (inside "(default: X)"). */
#define NBSP '\x01'

enum { BUILTIN_VERBOSE, BUILTIN_QUIET, BUILTIN_HELP };

const cli_opt cli_builtin_opts[] = {
    {.name = "verbose", .short_name = 'v', .kind = CLI_OPT_FLAG, .help = "more log output (debug)"},
    {.name = "quiet", .short_name = 'q', .kind = CLI_OPT_FLAG, .help = "errors only"},
    {.name = "help", .short_name = 'h', .kind = CLI_OPT_FLAG, .help = "this text"},
    {0},
};

void (*cli_spec_hook)(const cli_spec *spec);

static size_t count_opts(const cli_opt *o)
{
    size_t n = 0;
    while (o && o[n].name)
        n++;
    return n;
}

/* The largest value a destination holds (UINT ranges must fit it). */
static unsigned long long dest_max(cli_dest_type t)
{
    switch (t) {
    case CLI_DEST_INT:
        return INT32_MAX;
    case CLI_DEST_UINT:
        return UINT32_MAX;
    case CLI_DEST_LONG:
    case CLI_DEST_LLONG:
        return INT64_MAX;
    case CLI_DEST_ULONG:
    case CLI_DEST_ULLONG:
        return UINT64_MAX;
    case CLI_DEST_DOUBLE:
        return 1ULL << 53; /* integers a double holds exactly */
    default:
        return 0;
    }
}

/* Programming errors in a table abort on every run (and so in every test of the command). */
static void check_opt(const cli_opt *o)
{
    PROMO_ASSERT(o->name && o->name[0] && o->help);
    switch (o->kind) {
    case CLI_OPT_FLAG:
        PROMO_ASSERT(o->dest_type == CLI_DEST_INT);
        break;
    case CLI_OPT_STRING:
    case CLI_OPT_PATH:
        PROMO_ASSERT(o->dest_type == CLI_DEST_STR && o->metavar);
        break;
    case CLI_OPT_UINT:
        PROMO_ASSERT(o->metavar && o->umin <= o->umax && o->umax <= dest_max(o->dest_type));
        break;
    case CLI_OPT_NUMBER:
        PROMO_ASSERT(o->dest_type == CLI_DEST_DOUBLE && o->metavar && o->lo <= o->hi);
        break;
    case CLI_OPT_DATE:
        PROMO_ASSERT(o->dest_type == CLI_DEST_LONG || o->dest_type == CLI_DEST_LLONG);
        break;
    case CLI_OPT_ENUM:
        PROMO_ASSERT(o->words && o->words[0] &&
                     (o->dest_type == CLI_DEST_INT || o->dest_type == CLI_DEST_UINT));
        break;
    }
    PROMO_ASSERT(o->dest);
}

static void store_uint(const cli_opt *o, unsigned long long v)
{
    switch (o->dest_type) {
    case CLI_DEST_INT:
        *(int *)o->dest = (int)v;
        break;
    case CLI_DEST_UINT:
        *(unsigned *)o->dest = (unsigned)v;
        break;
    case CLI_DEST_LONG:
        *(long *)o->dest = (long)v;
        break;
    case CLI_DEST_ULONG:
        *(unsigned long *)o->dest = (unsigned long)v;
        break;
    case CLI_DEST_LLONG:
        *(long long *)o->dest = (long long)v;
        break;
    case CLI_DEST_ULLONG:
        *(unsigned long long *)o->dest = v;
        break;
    case CLI_DEST_DOUBLE:
        *(double *)o->dest = (double)v;
        break;
    default:
        PROMO_ASSERT(!"integer option with a non-numeric destination");
    }
}

/* The destination's value as an unsigned integer (for the default shown in help). */
static unsigned long long load_uint(const cli_opt *o)
{
    switch (o->dest_type) {
    case CLI_DEST_INT:
        return (unsigned long long)*(const int *)o->dest;
    case CLI_DEST_UINT:
        return *(const unsigned *)o->dest;
    case CLI_DEST_LONG:
        return (unsigned long long)*(const long *)o->dest;
    case CLI_DEST_ULONG:
        return *(const unsigned long *)o->dest;
    case CLI_DEST_LLONG:
        return (unsigned long long)*(const long long *)o->dest;
    case CLI_DEST_ULLONG:
        return *(const unsigned long long *)o->dest;
    case CLI_DEST_DOUBLE:
        return (unsigned long long)*(const double *)o->dest;
    default:
        return 0;
    }
}

/* The default shown in help for o, into buf ("" = none). */
static void default_text(const cli_opt *o, char *buf, size_t n)
{
    buf[0] = '\0';
    if (o->def) {
        snprintf(buf, n, "%s", o->def);
        return;
    }
    if (!o->dest)
        return;
    switch (o->kind) {
    case CLI_OPT_FLAG:
        break;
    case CLI_OPT_STRING:
    case CLI_OPT_PATH: {
        const char *s = *(const char *const *)o->dest;
        if (s)
            snprintf(buf, n, "%s", s);
        break;
    }
    case CLI_OPT_UINT:
        snprintf(buf, n, "%llu", load_uint(o));
        break;
    case CLI_OPT_NUMBER:
        snprintf(buf, n, "%g", *(const double *)o->dest);
        break;
    case CLI_OPT_DATE: {
        int64_t t = o->dest_type == CLI_DEST_LONG ? *(const long *)o->dest
                                                  : (int64_t) * (const long long *)o->dest;
        if (t)
            promo_time_format(t, 1, buf, n);
        break;
    }
    case CLI_OPT_ENUM: {
        unsigned long long k = load_uint(o);
        size_t nw = 0;
        while (o->words[nw])
            nw++;
        if (k < nw)
            snprintf(buf, n, "%s", o->words[k]);
        break;
    }
    }
}

/* "a|b|c" for an enum without a metavariable. */
static void metavar_text(const cli_opt *o, char *buf, size_t n)
{
    buf[0] = '\0';
    if (o->kind == CLI_OPT_FLAG)
        return;
    if (o->metavar || o->kind != CLI_OPT_ENUM) {
        snprintf(buf, n, "%s", o->metavar ? o->metavar : "VALUE");
        return;
    }
    size_t at = 0;
    for (size_t k = 0; o->words[k] && at < n; k++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", k ? "|" : "", o->words[k]);
}

/* Print text from column col, wrapping at WRAP_COL; continuation lines start at indent. */
static void print_wrapped(FILE *f, const char *text, size_t col, size_t indent)
{
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
            p++;
            continue;
        }
        if (*p == ' ') {
            p++;
            continue;
        }
        size_t w = strcspn(p, " \n");
        if (col > indent && col + 1 + w >= WRAP_COL) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        for (size_t k = 0; k < w; k++)
            fputc(p[k] == NBSP ? ' ' : p[k], f);
        col += w;
        p += w;
    }
}

static void opt_left(const cli_opt *o, char *buf, size_t n)
{
    char meta[256];
    metavar_text(o, meta, sizeof meta);
    if (o->short_name)
        snprintf(buf, n, "-%c, --%s%s%s", o->short_name, o->name, meta[0] ? " " : "", meta);
    else
        snprintf(buf, n, "--%s%s%s", o->name, meta[0] ? " " : "", meta);
}

static void print_opt(FILE *f, const cli_opt *o, size_t desc_col)
{
    char left[300], def[256], text[1024];
    opt_left(o, left, sizeof left);
    default_text(o, def, sizeof def);
    if (o->required)
        def[0] = '\0'; /* no default to show: it must be given */
    for (char *c = def; *c; c++)
        if (*c == ' ')
            *c = NBSP;
    snprintf(text, sizeof text, "%s%s%s%s%s", o->help, o->required ? " (required)" : "",
             def[0] ? " (default:\x01" : "", def, def[0] ? ")" : "");
    size_t col = 2 + strlen(left);
    fprintf(f, "  %s", left);
    if (col + 2 > desc_col) {
        fprintf(f, "\n%*s", (int)desc_col, "");
    } else {
        fprintf(f, "%*s", (int)(desc_col - col), "");
    }
    print_wrapped(f, text, desc_col, desc_col);
    fputc('\n', f);
}

void cli_help(const cli_spec *spec, FILE *f)
{
    fputs(spec->usage, f);
    if (spec->print_about) {
        fputc('\n', f);
        spec->print_about(f);
    } else if (spec->about) {
        fprintf(f, "\n%s", spec->about);
    }
    fputc('\n', f);
    if (spec->options_title)
        fprintf(f, "%s\n", spec->options_title);
    /* One description column for the command: after its longest option that is not too long. */
    size_t desc_col = 0;
    const cli_opt *tabs[2] = {spec->opts, cli_builtin_opts};
    for (int t = 0; t < 2; t++)
        for (const cli_opt *o = tabs[t]; o && o->name; o++) {
            char left[300];
            opt_left(o, left, sizeof left);
            size_t c = 2 + strlen(left) + 2;
            if (c <= DESC_COL && c > desc_col)
                desc_col = c;
        }
    for (int t = 0; t < 2; t++)
        for (const cli_opt *o = tabs[t]; o && o->name; o++)
            print_opt(f, o, desc_col);
    if (spec->epilog)
        fprintf(f, "\n%s", spec->epilog);
    else if (spec->name) /* every command says what its exit status means */
        fprintf(f, "\nexit status: 0 ok, 2 bad input or usage (the file, line and column, or the "
                   "option,\nnamed), 1 internal failure (or the workspace held by another "
                   "command with --no-wait)\n");
}

/* Does s look like an option rather than a value? ("-" and negative numbers are values.) */
static int looks_like_option(const char *s)
{
    return s[0] == '-' && s[1] && !isdigit((unsigned char)s[1]) && s[1] != '.';
}

/* Words of an enum as "a, b or c". */
static void words_text(const cli_opt *o, char *buf, size_t n)
{
    size_t nw = 0, at = 0;
    while (o->words[nw])
        nw++;
    buf[0] = '\0';
    for (size_t k = 0; k < nw && at < n; k++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s",
                               k == 0        ? ""
                               : k + 1 == nw ? " or "
                                             : ", ",
                               o->words[k]);
}

/* Check the value v of option o and store it. */
static int take_value(const cli_spec *spec, const cli_opt *o, const char *v)
{
    char opt[160];
    snprintf(opt, sizeof opt, "--%s", o->name);
    switch (o->kind) {
    case CLI_OPT_FLAG:
        return cli_usage_error(spec->name, "%s: takes no value, got \"%s\"", opt, v);
    case CLI_OPT_PATH:
        if (!v[0])
            return cli_usage_error(spec->name, "%s: expected a path, got \"\"", opt);
        /* fall through */
    case CLI_OPT_STRING:
        *(const char **)o->dest = v;
        return CLI_EXIT_OK;
    case CLI_OPT_UINT: {
        unsigned long long x;
        int ec = cli_parse_uint(spec->name, opt, v, o->umin, o->umax, &x);
        if (!ec)
            store_uint(o, x);
        return ec;
    }
    case CLI_OPT_NUMBER:
        return cli_parse_number(spec->name, opt, v, o->lo, o->hi, 0, (double *)o->dest);
    case CLI_OPT_DATE: {
        int64_t t;
        int ec = cli_parse_date(spec->name, opt, v, &t);
        if (ec)
            return ec;
        if (o->dest_type == CLI_DEST_LONG)
            *(long *)o->dest = (long)t;
        else
            *(long long *)o->dest = (long long)t;
        return CLI_EXIT_OK;
    }
    case CLI_OPT_ENUM:
        for (size_t k = 0; o->words[k]; k++)
            if (!strcmp(v, o->words[k])) {
                store_uint(o, k);
                return CLI_EXIT_OK;
            }
        char words[512];
        words_text(o, words, sizeof words);
        return cli_usage_error(spec->name, "%s: expected %s, got \"%s\"", opt, words, v);
    }
    return CLI_EXIT_FAIL;
}

/* Find a long name (length len) or a short one (len 0) among opts; index or -1. */
static int find_opt(const cli_opt *opts, const char *name, size_t len, char short_name)
{
    for (int k = 0; opts && opts[k].name; k++) {
        if (len ? strlen(opts[k].name) == len && !strncmp(opts[k].name, name, len)
                : short_name && opts[k].short_name == short_name)
            return k;
    }
    return -1;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, int *n_operands)
{
    if (cli_spec_hook)
        cli_spec_hook(spec);
    size_t n_opts = count_opts(spec->opts);
    PROMO_ASSERT(n_opts <= MAX_OPTS);
    for (size_t k = 0; k < n_opts; k++) {
        check_opt(&spec->opts[k]);
        /* a name or short name twice, or one of the built-ins, would make one unreachable */
        PROMO_ASSERT(find_opt(spec->opts, spec->opts[k].name, strlen(spec->opts[k].name), 0) ==
                     (int)k);
        PROMO_ASSERT(find_opt(cli_builtin_opts, spec->opts[k].name, strlen(spec->opts[k].name), 0) <
                     0);
        PROMO_ASSERT(!spec->opts[k].short_name ||
                     (find_opt(spec->opts, NULL, 0, spec->opts[k].short_name) == (int)k &&
                      find_opt(cli_builtin_opts, NULL, 0, spec->opts[k].short_name) < 0));
    }
    /* -h/--help anywhere before "--" wins over everything else (it can never be a value:
     * it looks like an option), and help shows the destinations' values before any option. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_help(spec, stdout);
            return CLI_EXIT_OK;
        }
    unsigned char seen[MAX_OPTS + 3] = {0};
    int n_ops = 0, only_operands = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_operands || !looks_like_option(a)) {
            if (!spec->operands)
                return cli_usage_error(spec->name, "unexpected argument '%s'", a);
            /* move it to argv[1 + n_ops], keeping the option slots it passes in order */
            char *op = argv[i];
            memmove(argv + 2 + n_ops, argv + 1 + n_ops, (size_t)(i - 1 - n_ops) * sizeof *argv);
            argv[1 + n_ops++] = op;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_operands = 1;
            continue;
        }
        const char *name, *value = NULL;
        size_t len;
        char shown[160];
        int k, builtin = 0;
        if (a[1] == '-') {
            name = a + 2;
            const char *eq = strchr(name, '=');
            len = eq ? (size_t)(eq - name) : strlen(name);
            if (eq)
                value = eq + 1;
            snprintf(shown, sizeof shown, "--%.*s", (int)len, name);
            k = find_opt(spec->opts, name, len, 0);
            if (k < 0 && (k = find_opt(cli_builtin_opts, name, len, 0)) >= 0)
                builtin = 1;
        } else {
            snprintf(shown, sizeof shown, "%s", a);
            k = find_opt(spec->opts, NULL, 0, a[1]);
            if (k < 0 && (k = find_opt(cli_builtin_opts, NULL, 0, a[1])) >= 0)
                builtin = 1;
            if (k >= 0) {
                const cli_opt *o = builtin ? &cli_builtin_opts[k] : &spec->opts[k];
                if (a[2] && o->kind == CLI_OPT_FLAG)
                    k = -1; /* no bundling: -vq is not -v -q */
                else if (a[2])
                    value = a + 2;
            }
        }
        if (k < 0)
            return cli_usage_error(spec->name, "unknown option '%s'", shown);
        const cli_opt *o = builtin ? &cli_builtin_opts[k] : &spec->opts[k];
        size_t slot = builtin ? MAX_OPTS + (size_t)k : (size_t)k;
        if (seen[slot]++)
            return cli_usage_error(spec->name, "--%s: given more than once", o->name);
        if (builtin) {
            if (value)
                return cli_usage_error(spec->name, "--%s: takes no value, got \"%s\"", o->name,
                                       value);
            promo_log_set_level(k == BUILTIN_VERBOSE ? PROMO_LOG_DEBUG : PROMO_LOG_ERROR);
            continue;
        }
        if (o->kind == CLI_OPT_FLAG) {
            if (value)
                return cli_usage_error(spec->name, "--%s: takes no value, got \"%s\"", o->name,
                                       value);
            *(int *)o->dest = !o->clears;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc || looks_like_option(argv[i + 1])) {
                char meta[256];
                metavar_text(o, meta, sizeof meta);
                return cli_usage_error(spec->name, "--%s: missing value (%s)", o->name, meta);
            }
            value = argv[++i];
        }
        int ec = take_value(spec, o, value);
        if (ec)
            return ec;
    }
    for (size_t k = 0; k < n_opts; k++)
        if (spec->opts[k].required && !seen[k]) {
            char meta[256];
            metavar_text(&spec->opts[k], meta, sizeof meta);
            return cli_usage_error(spec->name, "--%s %s is required", spec->opts[k].name, meta);
        }
    if (n_operands)
        *n_operands = n_ops;
    return CLI_CONTINUE;
}
