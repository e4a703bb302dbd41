/* promo generate: draw a synthetic retail world with known ground truth into a workspace.
 *
 * Order of work (so a failure changes nothing): validate the flags, refuse a workspace that
 * already holds data unless --force, generate everything in memory while writing all tables
 * and the run metadata in one store transaction (include/promo/synth.h, store.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static size_t count_arm(const promo_table *e, const char *arm)
{
    const promo_column *c = promo_table_column(e, "arm");
    uint32_t code = promo_dict_find(c->dict, arm, strlen(arm));
    size_t n = 0;
    for (size_t r = 0; r < c->n && code != PROMO_DICT_NONE; r++)
        n += c->codes[r] == code;
    return n;
}

static size_t count_orders(const promo_table *t)
{
    const promo_column *c = promo_table_column(t, "order_id");
    return c ? promo_dict_size(c->dict) : 0;
}

static void print_summary(const promo_synth_params *p,
                          const promo_synth_tables *t,
                          const char *ws,
                          double gen_s,
                          double write_s,
                          int json)
{
    int64_t first = INT64_MAX, last = INT64_MIN;
    const promo_column *ts = promo_table_column(t->transactions, "ts");
    for (size_t r = 0; r < ts->n; r++) {
        first = ts->i64[r] < first ? ts->i64[r] : first;
        last = ts->i64[r] > last ? ts->i64[r] : last;
    }
    char d0[32] = "-", d1[32] = "-";
    if (ts->n) {
        promo_time_format(first, 1, d0, sizeof d0);
        promo_time_format(last, 1, d1, sizeof d1);
    }
    size_t n_treat = count_arm(t->exposures, "treatment"),
           n_ctrl = count_arm(t->exposures, "control"),
           n_targ = count_arm(t->exposures, "targeted");
    if (json) {
        printf("{\"ws\": ");
        cli_json_str(stdout, ws);
        printf(", \"seed\": %llu, \"customers\": %zu, \"products\": %zu, "
               "\"categories\": %u, \"stores\": %zu, \"promotions\": %zu, \"transactions\": %zu, "
               "\"orders\": %zu, \"exposures\": %zu, \"treatment\": %zu, \"control\": %zu, "
               "\"targeted\": %zu, \"responses\": %zu, \"events\": %zu, \"first_day\": \"%s\", "
               "\"last_day\": \"%s\", \"generate_s\": %.3f, \"write_s\": %.3f}\n",
               (unsigned long long)p->seed, t->customers->n_rows, t->products->n_rows,
               p->n_categories, t->stores->n_rows, t->promotions->n_rows, t->transactions->n_rows,
               count_orders(t->transactions), t->exposures->n_rows, n_treat, n_ctrl, n_targ,
               t->responses->n_rows, t->events->n_rows, d0, d1, gen_s, write_s);
        return;
    }
    printf("generated a world (seed %llu) into %s in %.2f s (write %.2f s)\n",
           (unsigned long long)p->seed, ws, gen_s + write_s, write_s);
    printf("  %-14s %10zu\n", "customers", t->customers->n_rows);
    printf("  %-14s %10zu  (%u categories)\n", "products", t->products->n_rows, p->n_categories);
    printf("  %-14s %10zu\n", "stores", t->stores->n_rows);
    printf("  %-14s %10zu\n", "promotions", t->promotions->n_rows);
    printf("  %-14s %10zu  (%zu orders, %s .. %s)\n", "transactions", t->transactions->n_rows,
           count_orders(t->transactions), d0, d1);
    printf("  %-14s %10zu  (treatment %zu, control %zu, targeted %zu)\n", "exposures",
           t->exposures->n_rows, n_treat, n_ctrl, n_targ);
    printf("  %-14s %10zu\n", "events", t->events->n_rows);
    printf("  ground truth in truth_customers, truth_products, truth_affinity,\n"
           "  truth_category_affinity, truth_exposures, truth_params (for the simulator)\n");
}

int cmd_generate(int argc, char **argv)
{
    promo_synth_params p = promo_synth_params_default();
    const char *ws = CLI_DEFAULT_WS;
    int force = 0, json = 0, rc;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_UINT("customers", "N", 1, 50000000, &p.n_customers), .help = "customers"},
        {CLI_UINT("products", "N", 1, 10000000, &p.n_products), .help = "products"},
        {CLI_UINT("categories", "N", 1, 15, &p.n_categories), .help = "product categories, 1-15"},
        {CLI_UINT("stores", "N", 1, 10000, &p.n_stores), .help = "stores (in Sri Lankan cities)"},
        {CLI_UINT("promotions", "N", 0, 1000000, &p.n_promotions),
         .help = "promotions in the history"},
        {CLI_UINT("transactions", "N", 0, 2000000000ULL, &p.n_transactions),
         .help = "transaction lines, exactly"},
        {CLI_UINT("months", "N", 1, 120, &p.n_months),
         .help = "history length in months from 2023-07-01"},
        {CLI_SEED(&p.seed), .help = "random seed"},
        {CLI_THREADS(&p.n_threads)},
        {CLI_FLAG_CLEAR("no-events", &p.with_events),
         .help = "skip the events table (views, carts, favourites)"},
        {CLI_FLAG("force", &force), .help = "replace the data of a workspace that has some (every "
                                            "table, and the models trained on it)"},
        {CLI_JSON(&json), .help = "print the summary as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "generate",
        .usage = "usage: promo generate --ws DIR [options]\n",
        .about = "Generate a synthetic retail world (customers, products, stores, promotions,\n"
                 "transactions, exposures, responses, events) plus its ground truth (truth_*\n"
                 "tables, read only by the simulator and evaluation) into the workspace DIR.\n"
                 "The same seed and flags give identical tables whatever the thread count.\n"
                 "Currency: LKR.\n",
        .opts = opts,
        .epilog = "exit status: 0 ok, 2 bad usage or a workspace with data (without --force),\n"
                  "1 internal failure\n",
    };
    if ((rc = cli_parse(&spec, argc, argv, NULL)) != CLI_CONTINUE)
        return rc;
    if (promo_synth_params_check(&p))
        return cli_usage_error("generate", "%s", promo_last_error());

    /* Refuse to mix a new world into existing data unless asked to replace it. */
    if (promo_store_exists(ws) && !force) {
        promo_store *s = NULL;
        if ((rc = promo_store_open(ws, 0, &s)))
            return cli_report(rc);
        char **names = NULL;
        size_t n = 0;
        rc = promo_store_list_tables(s, &names, &n);
        promo_free(names);
        promo_store_close(s);
        if (rc)
            return cli_report(rc);
        if (n)
            return cli_usage_error("generate",
                                   "workspace %s already has data (%zu tables); use --force to "
                                   "replace its tables",
                                   ws, n);
    }

    /* The store is opened first: the tables made before the history are written while the
     * history is generated (synth.h). */
    double t0 = promo_now_s(), tail = 0;
    promo_synth_tables t;
    memset(&t, 0, sizeof t);
    promo_store *s = NULL;
    if (!(rc = promo_store_open(ws, 1, &s)))
        rc = promo_synth_generate_into(s, &p, &t, &tail); /* removes the old models too */
    promo_store_close(s);
    double t2 = promo_now_s();
    if (!rc)
        print_summary(&p, &t, ws, t2 - t0 - tail, tail, json);
    promo_synth_tables_free(&t);
    return cli_report(rc);
}
