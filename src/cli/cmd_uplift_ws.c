/* The --model uplift branches of promo score and promo explain and the --rank-by uplift branch
 * of promo campaign: they print what the uplift scorer (uplift_score.h) computes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/timeutil.h>
#include <promo/uplift_score.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

static int open_scorer(const char *ws, int64_t as_of, promo_store **s, promo_uplift_scorer **h)
{
    *h = NULL;
    int rc = promo_store_open(ws, 0, s);
    if (!rc)
        rc = promo_uplift_scorer_open(*s, as_of, 0, h);
    return rc;
}

int cli_explain_uplift(
    const char *ws, const char *customer, const char *target, int64_t as_of, int top, int json)
{
    promo_store *s = NULL;
    promo_uplift_scorer *h = NULL;
    promo_uplift_explanation e;
    memset(&e, 0, sizeof e);
    int rc = open_scorer(ws, as_of, &s, &h);
    promo_uplift_offer o = {target, NAN};
    if (!rc)
        rc = promo_uplift_scorer_explain(h, &o, customer, (size_t)top, &e);
    if (rc)
        goto done;
    char d[24];
    promo_time_format_cutoff(promo_uplift_scorer_as_of(h), d, sizeof d);
    const char *arm = promo_uplift_scorer_arm_name(h, e.arm),
               *ctl = promo_uplift_scorer_arm_name(h, 0),
               *L = promo_uplift_learner_name(promo_uplift_scorer_learner(h));
    if (json) {
        printf("{\"customer_id\": ");
        cli_json_str(stdout, e.customer);
        printf(", \"target\": ");
        cli_json_str(stdout, target);
        printf(", \"model\": \"uplift\", \"learner\": \"%s\", \"as_of\": \"%s\", \"arm\": ", L, d);
        cli_json_str(stdout, arm);
        printf(", \"effect\": %.6g, \"p_treated\": ", e.effect);
        if (isfinite(e.p_treated))
            printf("%.6g, \"p_control\": %.6g", e.p_treated, e.p_control);
        else
            printf("null, \"p_control\": null");
        printf(", \"mean_effect\": %.6g, \"rank\": %zu, \"n_customers\": %zu, "
               "\"method\": \"what-if against %zu reference customers\", \"reasons\": [",
               e.mean_effect, e.rank, e.n_customers, e.n_reference);
        for (size_t k = 0; k < e.n; k++) {
            const promo_uplift_reason *r = &e.reasons[k];
            printf("%s{\"feature\": ", k ? ", " : "");
            cli_json_str(stdout, r->feature);
            printf(", \"value\": ");
            isfinite(r->value) ? printf("%.6g", r->value) : printf("null");
            printf(", \"typical\": ");
            isfinite(r->typical) ? printf("%.6g", r->typical) : printf("null");
            printf(", \"contribution\": %.6g}", r->contribution);
        }
        printf("]}\n");
        goto done;
    }
    printf("customer %s, offer %s ('%s' vs '%s'), %s-learner uplift model, as of %s\n", e.customer,
           target, arm, ctl, L, d);
    if (isfinite(e.p_treated))
        printf("  expected to buy with probability %.1f%% with the offer and %.1f%% without:\n"
               "  the offer %s the chance by %.1f points",
               100.0 * e.p_treated, 100.0 * e.p_control, e.effect >= 0 ? "raises" : "lowers",
               100.0 * fabs(e.effect));
    else
        printf("  the offer %s the chance of buying by %.1f points",
               e.effect >= 0 ? "raises" : "lowers", 100.0 * fabs(e.effect));
    printf(" (average customer %+.1f; rank %zu of %zu)\n", 100.0 * e.mean_effect, e.rank,
           e.n_customers);
    if (e.n == 0)
        printf("  no feature moves this customer's effect away from typical customers'\n");
    else
        printf("  why (each value against %zu other customers' values of the same feature, "
               "everything else kept):\n",
               e.n_reference);
    for (size_t k = 0; k < e.n; k++) {
        const promo_uplift_reason *r = &e.reasons[k];
        char v[32], t[32];
        snprintf(v, sizeof v, isfinite(r->value) ? "%.4g" : "missing", r->value);
        snprintf(t, sizeof t, isfinite(r->typical) ? "%.4g" : "missing", r->typical);
        printf("  %s %s = %s (others' median %s) %s the effect by %.2f points\n",
               r->contribution >= 0 ? "+" : "-", r->feature, v, t,
               r->contribution >= 0 ? "raises" : "lowers", 100.0 * fabs(r->contribution));
    }
done:
    promo_uplift_explanation_free(&e);
    promo_uplift_scorer_free(h);
    promo_store_close(s);
    return cli_report(rc);
}

int cli_campaign_uplift(const char *ws,
                        const char *product,
                        double discount_pct,
                        size_t n_target,
                        int64_t as_of,
                        int send_day,
                        int send_hour,
                        int by_profit,
                        const char *out_path)
{
    promo_store *s = NULL;
    promo_uplift_scorer *h = NULL;
    char pid[256], path[1400];
    size_t n = 0;
    double inc = 0;
    int rc = open_scorer(ws, as_of, &s, &h);
    if (rc)
        goto done;
    if (!strcmp(product, "best")) {
        if ((rc = promo_campaign_best_seller(s, pid, sizeof pid)))
            goto done;
    } else {
        snprintf(pid, sizeof pid, "%s", product);
    }
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else
        snprintf(path, sizeof path, "%s/campaign_%s_uplift.csv", promo_store_out_dir(s), pid);
    promo_uplift_campaign_params p = {pid, discount_pct, n_target, send_day, send_hour, by_profit};
    if ((rc = promo_uplift_campaign(h, &p, path, &n, &inc)))
        goto done;
    printf("campaign for %s: top %zu customers by %s (%s-learner), %.0f%% discount\n", pid, n,
           by_profit ? "expected incremental profit (positive only)" : "predicted uplift",
           promo_uplift_learner_name(promo_uplift_scorer_learner(h)), discount_pct);
    printf("expected incremental buyers among them (model): %.1f\nwrote %s\n", inc, path);
done:
    promo_uplift_scorer_free(h);
    promo_store_close(s);
    return cli_report(rc);
}
