/* promo info: what a workspace holds. Per table: rows, columns with their promo types and
 * null counts, the date range of its first timestamp column; for transactions also returns,
 * rows without a customer and distinct customers, products and orders.
 *
 * The figures come from promo_store_describe (SQL in the store, one scan per table), so info
 * on millions of rows takes a second, not a load; this file only prints them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void print_text(const promo_store_table_info *ti, int brief)
{
    printf("%s: %lld rows", ti->name, (long long)ti->n_rows);
    if (ti->has_date_range) {
        char a[32], b[32];
        promo_time_format(ti->date_min, 0, a, sizeof a);
        promo_time_format(ti->date_max, 0, b, sizeof b);
        printf(", %s %s .. %s", ti->cols[ti->date_col].name, a, b);
    }
    printf("\n");
    if (ti->is_transactions)
        printf("  returns (quantity < 0) %lld, rows without customer %lld\n"
               "  distinct: customers %lld, products %lld, orders %lld\n",
               (long long)ti->n_returns, (long long)ti->n_without_customer,
               (long long)ti->n_customers, (long long)ti->n_products, (long long)ti->n_orders);
    if (brief)
        return;
    printf("  %-24s %-10s %12s\n", "column", "type", "nulls");
    for (size_t j = 0; j < ti->n_cols; j++)
        printf("  %-24s %-10s %12lld\n", ti->cols[j].name, promo_col_type_name(ti->cols[j].type),
               (long long)ti->cols[j].n_null);
}

static void print_json(const promo_store_table_info *ti)
{
    printf("{\"name\": ");
    cli_json_str(stdout, ti->name);
    printf(", \"rows\": %lld, \"columns\": [", (long long)ti->n_rows);
    for (size_t j = 0; j < ti->n_cols; j++) {
        printf(j ? ", {\"name\": " : "{\"name\": ");
        cli_json_str(stdout, ti->cols[j].name);
        printf(", \"type\": \"%s\", \"nulls\": %lld}", promo_col_type_name(ti->cols[j].type),
               (long long)ti->cols[j].n_null);
    }
    printf("]");
    if (ti->has_date_range) {
        char a[32], b[32];
        promo_time_format(ti->date_min, 0, a, sizeof a);
        promo_time_format(ti->date_max, 0, b, sizeof b);
        printf(", \"date_column\": ");
        cli_json_str(stdout, ti->cols[ti->date_col].name);
        printf(", \"date_min\": \"%s\", \"date_max\": \"%s\"", a, b);
    }
    if (ti->is_transactions)
        printf(", \"returns\": %lld, \"rows_without_customer\": %lld, \"distinct_customers\": "
               "%lld, \"distinct_products\": %lld, \"distinct_orders\": %lld",
               (long long)ti->n_returns, (long long)ti->n_without_customer,
               (long long)ti->n_customers, (long long)ti->n_products, (long long)ti->n_orders);
    /* the caller closes the object (an experiment adds its arms first) */
}

/* ---- experiments ----
 * An experiment table (hillstrom, lenta, criteo, or --table experiment) is summarised per arm:
 * size, and for each outcome its mean (a rate for 0/1 outcomes), then each arm's average
 * effect against control: the difference of means with a 95% interval from the normal
 * approximation, se = sqrt(s1^2/n1 + s0^2/n0) (Welch), which is what a randomised test
 * supports without a model. */

typedef struct arm_stat {
    double n, sum[8], sq[8];
} arm_stat;

/* Outcomes: experiment.outcomes, else every 0/1 column named like an outcome. */
static size_t pick_outcomes(promo_store *s, const promo_table *t, const promo_column **out)
{
    size_t n = 0;
    char *meta = promo_store_meta_get(s, "experiment.outcomes");
    if (meta) {
        char *save = NULL;
        for (char *tok = strtok_r(meta, ",", &save); tok && n < 8;
             tok = strtok_r(NULL, ",", &save)) {
            const promo_column *c = promo_table_column(t, tok);
            if (c && c->type != PROMO_COL_STRING && c->type != PROMO_COL_TIMESTAMP)
                out[n++] = c;
        }
        promo_free(meta);
        return n;
    }
    static const char *const names[] = {"visit",   "conversion", "converted", "response",
                                        "outcome", "spend",      "revenue",   "y"};
    for (size_t k = 0; k < sizeof names / sizeof names[0] && n < 8; k++)
        for (size_t j = 0; j < t->n_cols && n < 8; j++)
            if (!strncmp(t->cols[j]->name, names[k], strlen(names[k])) &&
                t->cols[j]->type != PROMO_COL_STRING && t->cols[j]->type != PROMO_COL_TIMESTAMP)
                out[n++] = t->cols[j];
    return n;
}

static int print_experiment(promo_store *s, const char *table, int json)
{
    promo_table *t = NULL;
    int rc = promo_store_read_table(s, table, &t);
    if (rc)
        return rc;
    char *tcol = promo_store_meta_get(s, "experiment.treatment");
    char *ctrl = promo_store_meta_get(s, "experiment.control");
    const promo_column *arm = promo_table_column(t, tcol ? tcol : "treatment");
    const promo_column *oc[8];
    size_t no = pick_outcomes(s, t, oc);
    if (!arm || arm->type != PROMO_COL_STRING) {
        if (!json)
            printf("  (no text column 'treatment': arms not summarised)\n");
        goto done;
    }
    uint32_t na = promo_dict_size(arm->dict);
    arm_stat *st = promo_calloc(na ? na : 1, sizeof *st);
    if (!st) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(arm, r))
            continue;
        arm_stat *a = &st[arm->codes[r]];
        a->n++;
        for (size_t k = 0; k < no; k++) {
            double v = promo_column_num(oc[k], r);
            if (v == v) {
                a->sum[k] += v;
                a->sq[k] += v * v;
            }
        }
    }
    /* control: the meta value, else "control", "No E-Mail" or "0" */
    uint32_t c0 = PROMO_DICT_NONE;
    const char *cands[] = {ctrl ? ctrl : "control", "control", "No E-Mail", "0"};
    for (size_t k = 0; k < 4 && c0 == PROMO_DICT_NONE; k++)
        c0 = promo_dict_find(arm->dict, cands[k], strlen(cands[k]));
    if (json)
        printf(", \"arms\": [");
    else
        printf("  experiment: %u arms%s%s; outcome means (rates for 0/1), effect vs control "
               "with 95%% interval\n",
               na, c0 != PROMO_DICT_NONE ? ", control " : "",
               c0 != PROMO_DICT_NONE ? promo_dict_key(arm->dict, c0) : "");
    for (uint32_t a = 0; a < na; a++) {
        const arm_stat *x = &st[a];
        if (json) {
            printf(a ? ", {\"arm\": " : "{\"arm\": ");
            cli_json_str(stdout, promo_dict_key(arm->dict, a));
            printf(", \"rows\": %.0f, \"outcomes\": {", x->n);
        } else {
            printf("  %-20s %8.0f rows", promo_dict_key(arm->dict, a), x->n);
        }
        for (size_t k = 0; k < no; k++) {
            double m = x->n ? x->sum[k] / x->n : NAN;
            double eff = NAN, lo = NAN, hi = NAN;
            if (c0 != PROMO_DICT_NONE && a != c0 && x->n > 1 && st[c0].n > 1) {
                const arm_stat *c = &st[c0];
                double mc = c->sum[k] / c->n;
                double v1 = (x->sq[k] - x->n * m * m) / (x->n - 1);
                double v0 = (c->sq[k] - c->n * mc * mc) / (c->n - 1);
                double se = sqrt((v1 > 0 ? v1 : 0) / x->n + (v0 > 0 ? v0 : 0) / c->n);
                eff = m - mc;
                lo = eff - 1.959964 * se;
                hi = eff + 1.959964 * se;
            }
            if (json) {
                printf("%s", k ? ", " : "");
                cli_json_str(stdout, oc[k]->name);
                printf(": {\"mean\": %.6g", m);
                if (eff == eff)
                    printf(", \"effect\": %.6g, \"ci95\": [%.6g, %.6g]", eff, lo, hi);
                printf("}");
            } else {
                printf("  %s %.4f", oc[k]->name, m);
                if (eff == eff)
                    printf(" (%+.4f [%+.4f, %+.4f])", eff, lo, hi);
            }
        }
        printf(json ? "}}" : "\n");
    }
    if (json)
        printf("]");
    promo_free(st);
done:
    promo_free(tcol);
    promo_free(ctrl);
    promo_table_free(t);
    return rc;
}

/* ---- bandit logs ----
 * A bandit log (obd: one row per impression with the logging policy's propensity) is
 * summarised per campaign and logging policy: impressions, actions, the reward rate with a 95%
 * interval, the propensity range. Where a campaign was also logged by a uniformly random policy,
 * the other policies' logs estimate that policy's value off-policy (IPS: reward x (1/K) /
 * propensity, and its self-normalised form SNIPS), beside the random log's own on-policy rate:
 * the check the Open Bandit paper makes of an estimator, on the data. */

typedef struct bandit_group {
    uint32_t campaign, policy;
    double n, reward, ips, ips_sq, w_sum, w_sq, p_min, p_max;
    uint8_t *acted; /* actions seen */
    uint32_t n_actions;
} bandit_group;

static int print_bandit(promo_store *s, int json)
{
    promo_table *t = NULL;
    int rc = promo_store_read_table(s, "bandit", &t);
    if (rc)
        return rc;
    const promo_column *pol = promo_table_column(t, "policy"),
                       *cam = promo_table_column(t, "campaign"),
                       *act = promo_table_column(t, "action"),
                       *rew = promo_table_column(t, "reward"),
                       *pro = promo_table_column(t, "propensity");
    if (!pol || !cam || !act || !rew || !pro || pol->type != PROMO_COL_STRING ||
        cam->type != PROMO_COL_STRING || act->type != PROMO_COL_INT64) {
        if (!json)
            printf("  (not the obd layout: policy, campaign, action, reward, propensity)\n");
        promo_table_free(t);
        return PROMO_OK;
    }
    uint32_t np = promo_dict_size(pol->dict), nc = promo_dict_size(cam->dict);
    int64_t amax = 0;
    for (size_t r = 0; r < t->n_rows; r++)
        if (!promo_column_is_null(act, r) && act->i64[r] > amax)
            amax = act->i64[r];
    size_t ng = (size_t)np * nc, na = amax < 1000000 ? (size_t)amax + 1 : 0;
    bandit_group *g = promo_calloc(ng ? ng : 1, sizeof *g);
    rc = g && na ? PROMO_OK : PROMO_ENOMEM;
    for (size_t k = 0; !rc && k < ng; k++) {
        g[k].campaign = (uint32_t)(k / np);
        g[k].policy = (uint32_t)(k % np);
        g[k].p_min = INFINITY;
        if (!(g[k].acted = promo_calloc(na, 1)))
            rc = PROMO_ENOMEM;
    }
    for (size_t r = 0; !rc && r < t->n_rows; r++) {
        if (promo_column_is_null(pol, r) || promo_column_is_null(cam, r) ||
            promo_column_is_null(act, r) || act->i64[r] < 0)
            continue;
        bandit_group *x = &g[(size_t)cam->codes[r] * np + pol->codes[r]];
        double y = promo_column_num(rew, r), p = promo_column_num(pro, r);
        x->n++;
        x->reward += y == y ? y : 0;
        x->p_min = p < x->p_min ? p : x->p_min;
        x->p_max = p > x->p_max ? p : x->p_max;
        x->n_actions += !x->acted[act->i64[r]];
        x->acted[act->i64[r]] = 1;
    }
    /* per campaign: the random policy's action count K; then each other log's IPS terms */
    const char *random_name = "random";
    uint32_t rnd = promo_dict_find(pol->dict, random_name, strlen(random_name));
    for (size_t r = 0; !rc && rnd != PROMO_DICT_NONE && r < t->n_rows; r++) {
        if (promo_column_is_null(pol, r) || promo_column_is_null(cam, r) || pol->codes[r] == rnd)
            continue;
        const bandit_group *ref = &g[(size_t)cam->codes[r] * np + rnd];
        bandit_group *x = &g[(size_t)cam->codes[r] * np + pol->codes[r]];
        double y = promo_column_num(rew, r), p = promo_column_num(pro, r);
        if (!ref->n || !(p > 0) || y != y)
            continue;
        double w = 1.0 / ref->n_actions / p;
        x->ips += y * w;
        x->ips_sq += y * w * y * w;
        x->w_sum += w;
        x->w_sq += w * w;
    }
    if (!rc && json)
        printf(", \"logs\": [");
    else if (!rc)
        printf("  bandit log: per campaign and logging policy, reward rate with 95%% interval"
               "%s\n",
               rnd != PROMO_DICT_NONE ? "; the random policy's value estimated from the other "
                                        "logs (IPS, SNIPS) beside its own"
                                      : "");
    int first = 1;
    for (size_t k = 0; !rc && k < ng; k++) {
        const bandit_group *x = &g[k];
        if (!x->n)
            continue;
        double m = x->reward / x->n, h = 1.959964 * sqrt(m * (1 - m) / x->n);
        const char *c = promo_dict_key(cam->dict, x->campaign),
                   *pn = promo_dict_key(pol->dict, x->policy);
        int off = rnd != PROMO_DICT_NONE && x->policy != rnd && x->w_sum > 0;
        double ips = off ? x->ips / x->n : NAN, snips = off ? x->ips / x->w_sum : NAN;
        double ips_h = off ? 1.959964 * sqrt(fmax(x->ips_sq / x->n - ips * ips, 0) / x->n) : NAN;
        double ess = off ? x->w_sum * x->w_sum / x->w_sq : NAN;
        if (json) {
            printf("%s{\"campaign\": ", first ? "" : ", ");
            cli_json_str(stdout, c);
            printf(", \"policy\": ");
            cli_json_str(stdout, pn);
            printf(", \"rows\": %.0f, \"actions\": %u, \"reward_rate\": %.6g, \"ci95\": [%.6g, "
                   "%.6g], \"propensity_min\": %.6g, \"propensity_max\": %.6g",
                   x->n, x->n_actions, m, m - h, m + h, x->p_min, x->p_max);
            if (off)
                printf(", \"random_policy_ips\": %.6g, \"random_policy_ips_ci95\": [%.6g, %.6g], "
                       "\"random_policy_snips\": %.6g, \"effective_rows\": %.1f",
                       ips, ips - ips_h, ips + ips_h, snips, ess);
            printf("}");
        } else {
            printf("  %-8s %-8s %8.0f rows %4u actions  reward %.4f [%.4f, %.4f]  propensity "
                   "%.3g..%.3g\n",
                   c, pn, x->n, x->n_actions, m, m - h, m + h, x->p_min, x->p_max);
            if (off)
                printf("  %-17s random policy from this log: IPS %.4f [%.4f, %.4f], SNIPS %.4f "
                       "(%.0f effective rows of %.0f)\n",
                       "", ips, ips - ips_h, ips + ips_h, snips, ess, x->n);
        }
        first = 0;
    }
    if (!rc && json)
        printf("]");
    for (size_t k = 0; g && k < ng; k++)
        promo_free(g[k].acted);
    promo_free(g);
    promo_table_free(t);
    return rc;
}

int cmd_info(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS;
    int json = 0, brief = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_JSON(&json), .help = "print the description as JSON"},
        {CLI_FLAG("brief", &brief), .help = "one line per table"},
        {0},
    };
    const cli_spec spec = {
        .name = "info",
        .usage = "usage: promo info --ws DIR [--brief] [--json]\n",
        .about = "Describe the tables of workspace DIR: rows, columns with null counts, date\n"
                 "ranges; for transactions also returns, rows without customer and distinct\n"
                 "customers, products and orders.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    promo_store *s = NULL;
    int rc = promo_store_open_read(ws, &s);
    if (rc)
        return cli_report(rc);
    char **names = NULL;
    size_t n = 0;
    if ((rc = promo_store_list_tables(s, &names, &n))) {
        promo_store_close(s);
        return cli_report(rc);
    }
    promo_store_table_info **tis = promo_calloc(n ? n : 1, sizeof *tis);
    if (!tis)
        rc = PROMO_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++)
        rc = promo_store_describe(s, names[i], &tis[i]);
    if (!rc) {
        if (json) {
            printf("{\"ws\": ");
            cli_json_str(stdout, ws);
            printf(", \"schema_version\": %d, \"tables\": [", PROMO_SCHEMA_VERSION);
            for (size_t i = 0; i < n && !rc; i++) {
                printf(i ? ", " : "");
                print_json(tis[i]);
                if (!strcmp(tis[i]->name, "experiment"))
                    rc = print_experiment(s, tis[i]->name, 1);
                else if (!strcmp(tis[i]->name, "bandit"))
                    rc = print_bandit(s, 1);
                printf("}");
            }
            printf("]}\n");
        } else {
            printf("workspace %s: schema version %d, %zu table%s\n", ws, PROMO_SCHEMA_VERSION, n,
                   n == 1 ? "" : "s");
            int has_tx = 0, has_exp = 0;
            for (size_t i = 0; i < n && !rc; i++) {
                print_text(tis[i], brief);
                has_tx |= !strcmp(tis[i]->name, "transactions") || !strcmp(tis[i]->name, "events");
                if (!strcmp(tis[i]->name, "experiment")) {
                    has_exp = 1;
                    rc = print_experiment(s, tis[i]->name, 0);
                } else if (!strcmp(tis[i]->name, "bandit")) {
                    rc = print_bandit(s, 0);
                }
            }
            if (has_exp && !has_tx)
                printf("this workspace holds an experiment and no transactions: it serves uplift "
                       "(promo uplift --data FILE --treatment treatment --outcome COL on the "
                       "source CSV) and the arm figures above; features, train, campaign and "
                       "simulate need transactions and products\n");
        }
    }
    for (size_t i = 0; tis && i < n; i++)
        promo_store_table_info_free(tis[i]);
    promo_free(tis);
    promo_free(names);
    promo_store_close(s);
    return cli_report(rc);
}
