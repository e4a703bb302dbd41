/* promo score: the calibrated propensity of every customer known at a cutoff for one target,
 * as CSV (customer_id, probability), from the saved model; one pass over all customers through
 * the scoring handle (promo/scorer.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/propensity.h>
#include <promo/scorer.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: promo score --ws DIR --target T [--as-of DATE] [--out FILE.csv]\n\n"
            "Score every customer known at DATE (default: the day after the last\n"
            "transaction) for target T (any, product:ID, category:NAME) with the model\n"
            "promo train saved. CSV columns: customer_id, probability; to FILE.csv\n"
            "(written atomically) or stdout.\n\n"
            "  --ws DIR        workspace (default %s)\n"
            "  --target T      the target (required)\n"
            "  --as-of DATE    cutoff, YYYY-MM-DD\n"
            "  --out FILE.csv  output file (default: stdout)\n"
            "  --help          this text\n",
            CLI_DEFAULT_WS);
}

/* CSV text of the scores (ids quoted when they need it). */
static char *to_csv(const promo_prop_scores *sc, size_t *len)
{
    size_t cap = 64 + sc->n * 48, n = 0;
    for (size_t i = 0; i < sc->n; i++)
        cap += 2 * strlen(sc->customer_id[i]);
    char *b = promo_malloc(cap);
    if (!b)
        return NULL;
    n += (size_t)snprintf(b, cap, "customer_id,probability\n");
    for (size_t i = 0; i < sc->n; i++) {
        const char *id = sc->customer_id[i];
        int quote = strpbrk(id, ",\"\r\n") != NULL;
        if (quote) {
            b[n++] = '"';
            for (const char *p = id; *p; p++) {
                if (*p == '"')
                    b[n++] = '"';
                b[n++] = *p;
            }
            b[n++] = '"';
        } else {
            size_t k = strlen(id);
            memcpy(b + n, id, k);
            n += k;
        }
        n += (size_t)snprintf(b + n, cap - n, ",%.6f\n", sc->probability[i]);
    }
    *len = n;
    return b;
}

int cmd_score(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ws", required_argument, NULL, 'w'},    {"target", required_argument, NULL, 't'},
        {"as-of", required_argument, NULL, 'a'}, {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *ws = CLI_DEFAULT_WS, *target = NULL, *out = NULL;
    int64_t as_of = 0;
    int c, ec;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            ws = optarg;
            break;
        case 't':
            target = optarg;
            break;
        case 'a':
            if ((ec = cli_parse_date("score", "--as-of", optarg, &as_of)))
                return ec;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("score", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("score", "unexpected argument '%s'", argv[optind]);
    if (!target)
        return cli_usage_error("score", "--target is required (any, product:ID, category:NAME)");
    promo_store *s = NULL;
    promo_scorer *h = NULL;
    promo_prop_scores *sc = NULL;
    int rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = promo_scorer_open(s, target, as_of, 0, &h);
    if (!rc)
        rc = promo_scorer_score(h, &sc);
    promo_scorer_free(h);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    size_t len = 0;
    char *csv = to_csv(sc, &len);
    if (!csv) {
        promo_prop_scores_free(sc);
        return cli_report(PROMO_ENOMEM);
    }
    if (out) {
        rc = promo_atomic_write(out, csv, len);
        if (!rc) {
            char d[24];
            promo_time_format(sc->as_of, 1, d, sizeof d);
            promo_info("scored %zu customers for %s as of %s into %s", sc->n, target, d, out);
        }
    } else if (fwrite(csv, 1, len, stdout) != len || fflush(stdout) != 0) {
        rc = promo_fail(PROMO_EIO, "writing to stdout failed");
    }
    promo_free(csv);
    promo_prop_scores_free(sc);
    return cli_report(rc);
}
