/* promo generate: draw a synthetic retail world with known ground truth into a workspace.
 *
 * Order of work (so a failure changes nothing): validate the flags, refuse a workspace that
 * already holds data unless --force, generate everything in memory, then write all tables
 * and the run metadata in one store transaction (include/promo/synth.h, store.h). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
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

static void usage(FILE *f)
{
    promo_synth_params d = promo_synth_params_default();
    fprintf(f,
            "usage: promo generate --ws DIR [options]\n\n"
            "Generate a synthetic retail world (customers, products, stores, promotions,\n"
            "transactions, exposures, responses, events) plus its ground truth (truth_*\n"
            "tables, read only by the simulator and evaluation) into the workspace DIR.\n"
            "The same seed and flags give identical tables whatever the thread count.\n"
            "Currency: LKR.\n\n"
            "  --ws DIR            workspace directory (default %s)\n"
            "  --customers N       customers (default %u)\n"
            "  --products N        products (default %u)\n"
            "  --categories N      product categories, 1-15 (default %u)\n"
            "  --stores N          stores (default %u, in Sri Lankan cities)\n"
            "  --promotions N      promotions in the history (default %u)\n"
            "  --transactions N    transaction lines, exactly (default %llu)\n"
            "  --months N          history length in months from 2023-07-01 (default %u)\n"
            "  --seed S            random seed (default %llu)\n"
            "  --threads T         worker threads (default: all cores)\n"
            "  --no-events         skip the events table (views, carts, favourites)\n"
            "  --force             replace the data of a workspace that has some (every table,\n"
            "                      and the models trained on it)\n"
            "  --json              print the summary as JSON\n"
            "  --help              this text\n\n"
            "exit status: 0 ok, 2 bad usage or a workspace with data (without --force),\n"
            "1 internal failure\n",
            CLI_DEFAULT_WS, d.n_customers, d.n_products, d.n_categories, d.n_stores, d.n_promotions,
            (unsigned long long)d.n_transactions, d.n_months, (unsigned long long)d.seed);
}

/* Parse a non-negative integer in [lo, hi]; prints the usage error itself. */
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

/* Models trained on the replaced world would score the new one as if nothing had changed. The
 * tables are already committed, so a file that cannot be removed is a warning, not a failure. */
static void remove_stale_models(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return; /* no models directory yet */
    struct dirent *e;
    size_t removed = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0)
            removed++;
        else
            promo_warn("generate: could not remove the stale model %s: %s", path, strerror(errno));
    }
    closedir(d);
    if (removed)
        promo_info("generate: removed %zu model file(s) trained on the replaced data", removed);
}

int cmd_generate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ws", required_argument, NULL, 'w'},
        {"customers", required_argument, NULL, 'c'},
        {"products", required_argument, NULL, 'p'},
        {"categories", required_argument, NULL, 'k'},
        {"stores", required_argument, NULL, 's'},
        {"promotions", required_argument, NULL, 'r'},
        {"transactions", required_argument, NULL, 't'},
        {"months", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 'S'},
        {"threads", required_argument, NULL, 'T'},
        {"no-events", no_argument, NULL, 'E'},
        {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    promo_synth_params p = promo_synth_params_default();
    const char *ws = CLI_DEFAULT_WS;
    int force = 0, json = 0, c, rc;
    unsigned long long v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            ws = optarg;
            break;
        case 'c':
            if ((rc = cli_parse_uint("generate", "--customers", optarg, 1, 50000000, &v)))
                return rc;
            p.n_customers = (uint32_t)v;
            break;
        case 'p':
            if ((rc = cli_parse_uint("generate", "--products", optarg, 1, 10000000, &v)))
                return rc;
            p.n_products = (uint32_t)v;
            break;
        case 'k':
            if ((rc = cli_parse_uint("generate", "--categories", optarg, 1, 15, &v)))
                return rc;
            p.n_categories = (uint32_t)v;
            break;
        case 's':
            if ((rc = cli_parse_uint("generate", "--stores", optarg, 1, 10000, &v)))
                return rc;
            p.n_stores = (uint32_t)v;
            break;
        case 'r':
            if ((rc = cli_parse_uint("generate", "--promotions", optarg, 0, 1000000, &v)))
                return rc;
            p.n_promotions = (uint32_t)v;
            break;
        case 't':
            if ((rc = cli_parse_uint("generate", "--transactions", optarg, 0, 2000000000ULL, &v)))
                return rc;
            p.n_transactions = v;
            break;
        case 'm':
            if ((rc = cli_parse_uint("generate", "--months", optarg, 1, 120, &v)))
                return rc;
            p.n_months = (uint32_t)v;
            break;
        case 'S':
            if ((rc = cli_parse_uint("generate", "--seed", optarg, 0, UINT64_MAX, &v)))
                return rc;
            p.seed = v;
            break;
        case 'T':
            if ((rc = cli_parse_uint("generate", "--threads", optarg, 1, 1024, &v)))
                return rc;
            p.n_threads = (int)v;
            break;
        case 'E':
            p.with_events = 0;
            break;
        case 'f':
            force = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case ':':
            return cli_usage_error("generate", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("generate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("generate", "unexpected argument '%s'", argv[optind]);
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

    double t0 = promo_now_s();
    promo_synth_tables t;
    if ((rc = promo_synth_generate(&p, NULL, &t)))
        return cli_report(rc);
    double t1 = promo_now_s();
    promo_store *s = NULL;
    if (!(rc = promo_store_open(ws, 1, &s)) && !(rc = promo_synth_write(s, &t, &p)))
        remove_stale_models(promo_store_models_dir(s));
    promo_store_close(s);
    double t2 = promo_now_s();
    if (!rc)
        print_summary(&p, &t, ws, t1 - t0, t2 - t1, json);
    promo_synth_tables_free(&t);
    return cli_report(rc);
}
