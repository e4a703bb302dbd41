/* promo explain: why the propensity model scores a customer as it does for a target: the
 * calibrated probability and the strongest TreeSHAP contributions as readable reasons. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/propensity.h>
#include <promo/scorer.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

int cmd_explain(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *target = NULL, *cust = NULL, *model = "propensity";
    int64_t as_of = 0;
    long top = 5;
    int json = 0;
    const cli_opt opts[] = {
        {CLI_STRING("model", "NAME", &model),
         .help = "propensity, or uplift (why the offer changes this customer)"},
        {CLI_WS(&ws)},
        {CLI_STRING("customer", "ID", &cust), .required = 1, .help = "the customer"},
        {CLI_STRING("target", "T", &target), .required = 1,
         .help = "the target (any, product:ID, category:NAME)"},
        {CLI_AS_OF(&as_of), .help = "cutoff", .def = "after the last transaction"},
        {CLI_UINT("top", "N", 1, 50, &top), .help = "reasons to show, 1-50"},
        {CLI_JSON(&json), .help = "JSON output"},
        {0},
    };
    const cli_spec spec = {
        .name = "explain",
        .usage = "usage: promo explain --ws DIR --customer ID --target T [--as-of DATE]\n"
                 "                     [--top N] [--json]\n",
        .about = "Explain customer ID's propensity for target T (any, product:ID,\n"
                 "category:NAME): the probability, what raises it most and what lowers it most\n"
                 "(TreeSHAP contributions of the saved XGBoost model), as sentences.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (!strcmp(model, "uplift"))
        return cli_explain_uplift(ws, cust, target, as_of, (int)top, json);
    if (strcmp(model, "propensity") != 0)
        return cli_usage_error("explain", "--model %s: expected propensity or uplift", model);
    promo_store *s = NULL;
    promo_scorer *h = NULL;
    promo_prop_explanation *e = NULL;
    int team = cli_team_by_load("explain");
    int rc = promo_store_open_read(ws, &s);
    if (!rc)
        rc = promo_scorer_open(s, target, as_of, 0, &h);
    if (!rc)
        rc = promo_scorer_explain_one(h, cust, &e);
    promo_scorer_free(h);
    promo_store_close(s);
    omp_set_num_threads(team);
    if (rc)
        return cli_report(rc);
    promo_reason r[50], lo[50];
    size_t n = 0, n_lo = 0;
    if ((rc = promo_explain_reasons(e, (size_t)top, r, &n)) ||
        (rc = promo_explain_lowering(e, (size_t)top, lo, &n_lo))) {
        promo_prop_explanation_free(e);
        return cli_report(rc);
    }
    char d[24];
    promo_time_format_cutoff(e->as_of, d, sizeof d);
    if (json) {
        printf("{\"customer_id\":");
        cli_json_str(stdout, e->customer_id);
        printf(",\"target\":");
        cli_json_str(stdout, e->target);
        printf(",\"as_of\":\"%s\",\"probability\":%.6f,\"reasons\":[", d, e->probability);
        for (size_t k = 0; k < n; k++) {
            printf("%s{\"text\":", k ? "," : "");
            cli_json_str(stdout, r[k].text);
            printf(",\"feature\":");
            cli_json_str(stdout, r[k].feature);
            printf(",\"contribution\":%.6f}", r[k].contribution);
        }
        printf("],\"lowering\":[");
        for (size_t k = 0; k < n_lo; k++) {
            printf("%s{\"text\":", k ? "," : "");
            cli_json_str(stdout, lo[k].text);
            printf(",\"feature\":");
            cli_json_str(stdout, lo[k].feature);
            printf(",\"contribution\":%.6f}", lo[k].contribution);
        }
        printf("]}\n");
    } else {
        printf("customer %s, target %s%s%s%s, as of %s: probability %.4f\n", e->customer_id,
               e->target, e->target_name[0] ? " (" : "", e->target_name,
               e->target_name[0] ? ")" : "", d, e->probability);
        if (n == 0)
            printf("  nothing raises this customer's score above the average customer's\n");
        else
            printf("  raises the score:\n");
        for (size_t k = 0; k < n; k++)
            printf("  + %s (%+.3f log-odds)\n", r[k].text, r[k].contribution);
        if (n_lo)
            printf("  lowers the score:\n");
        for (size_t k = 0; k < n_lo; k++)
            printf("  - %s (%+.3f log-odds)\n", lo[k].text, lo[k].contribution);
    }
    promo_prop_explanation_free(e);
    return CLI_EXIT_OK;
}
