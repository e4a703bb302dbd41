/* promo score: the calibrated propensity of every customer known at a cutoff for one target,
 * as CSV (customer_id, probability), from the saved model; one pass over all customers through
 * the scoring handle (promo/scorer.h). */
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
#include "cli/cli_uplift.h"

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
    const char *ws = CLI_DEFAULT_WS, *target = NULL, *out = NULL, *model = "propensity";
    int64_t as_of = 0;
    const cli_opt opts[] = {
        {CLI_STRING("model", "NAME", &model),
         .help = "propensity, or uplift (effect per arm vs control, best arm: cli_uplift.h)"},
        {CLI_WS(&ws)},
        {CLI_STRING("target", "T", &target), .required = 1,
         .help = "the target (any, product:ID, category:NAME)"},
        {CLI_AS_OF(&as_of), .help = "cutoff", .def = "the day after the last transaction"},
        {CLI_PATH("out", "FILE.csv", &out), .help = "output file", .def = "stdout"},
        {0},
    };
    const cli_spec spec = {
        .name = "score",
        .usage = "usage: promo score --ws DIR --target T [--as-of DATE] [--out FILE.csv]\n",
        .about = "Score every customer known at DATE (default: the day after the last\n"
                 "transaction) for target T (any, product:ID, category:NAME) with the model\n"
                 "promo train saved. CSV columns: customer_id, probability; to FILE.csv\n"
                 "(written atomically) or stdout.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (!strcmp(model, "uplift"))
        return cli_score_uplift(ws, target, as_of, out, 0);
    if (strcmp(model, "propensity") != 0)
        return cli_usage_error("score", "--model %s: expected propensity or uplift", model);
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
