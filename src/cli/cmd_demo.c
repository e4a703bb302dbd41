/* `promo demo`: the whole pipeline on the embedded default world, one step after another.
 *
 * Each step is the same subcommand a user would type (so the demo shows exactly what the CLI
 * does); the demo only chooses the arguments and prints a banner per step. It stops at the
 * first failing step with that step's exit code. */
#include <stdio.h>
#include <string.h>

#include <promo/campaign.h>
#include <promo/store.h>
#include <promo/synth.h>

#include "cli/cli.h"

#define MAX_ARGS 24

typedef struct demo_step {
    const char *title; /* banner */
    cli_cmd_fn fn;     /* subcommand */
    const char *argv[MAX_ARGS];
} demo_step;

/* Values the steps' arguments refer to as "$NAME". */
typedef struct demo_ctx {
    const char *ws;
    const char *seed;
    int small;
    char product[128];      /* the best-selling product, known after generation */
    char target[160];       /* "product:<product>" */
    char campaign[1400];    /* the targeted campaign file */
    char broadcast[1400];   /* the everyone campaign file */
    char optimized[1400];   /* the optimized campaign file */
    char uplift_pred[1400]; /* the uplift model's held-out predictions (the report's Qini) */
} demo_ctx;

static const char *expand(const char *a, const demo_ctx *c)
{
    if (!strcmp(a, "$WS"))
        return c->ws;
    if (!strcmp(a, "$SEED"))
        return c->seed;
    if (!strcmp(a, "$CUST"))
        return c->small ? "200" : "1000";
    if (!strcmp(a, "$PROD"))
        return c->small ? "60" : "250";
    if (!strcmp(a, "$TX"))
        return c->small ? "8000" : "50000";
    if (!strcmp(a, "$TARGET"))
        return c->target;
    if (!strcmp(a, "$CAMPAIGN"))
        return c->campaign;
    if (!strcmp(a, "$BROADCAST"))
        return c->broadcast;
    if (!strcmp(a, "$OPTIMIZED"))
        return c->optimized;
    if (!strcmp(a, "$UPLIFT_PRED"))
        return c->uplift_pred;
    return a;
}

/* The optimized campaign file of step 11, simulated again (as step 12 did) for the closing
 * line. */
static int closing_figure(const demo_ctx *c)
{
    promo_sim_params sp = promo_sim_params_default();
    promo_sim_result res;
    size_t n = 0;
    double discount = 0;
    char bundle[256];
    int rc =
        cli_simulate_file(c->ws, c->optimized, &sp, &res, &n, &discount, bundle, sizeof bundle);
    if (!rc && n > 0)
        printf("\n== the optimized campaign for %s: %.0f contacts at %g%% off%s%s: simulated "
               "incremental profit %.0f LKR (%.0f%% interval %.0f to %.0f), ROI %.2f; the "
               "comparison above plays its targeting without the bundle and the holdout\n",
               c->product, res.contacts.mean, discount, bundle[0] ? ", bundled with " : "", bundle,
               res.incremental_profit.mean, 100 * sp.interval, res.incremental_profit.lo,
               res.incremental_profit.hi, res.roi.mean);
    return rc;
}

static int run_step(const demo_step *st, const demo_ctx *ctx)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (int i = 0; i < MAX_ARGS && st->argv[i]; i++)
        argv[argc++] = (char *)expand(st->argv[i], ctx);
    argv[argc] = NULL;
    printf("\n== %s\n$ promo", st->title);
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    fflush(stdout);
    int rc = st->fn(argc, argv);
    fflush(stdout);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    demo_ctx ctx = {.ws = CLI_DEFAULT_WS};
    unsigned long long seed = 42;
    char seed_text[24];
    const cli_opt opts[] = {
        {CLI_WS(&ctx.ws)},
        {CLI_FLAG("small", &ctx.small),
         .help = "a 200-customer world (for valgrind and quick looks)"},
        {CLI_SEED(&seed), .help = "world seed"},
        {0},
    };
    const cli_spec spec = {
        .name = "demo",
        .usage = "usage: promo demo [--ws DIR] [--small] [--seed S]\n",
        .about = "Generate the default synthetic retail world into the workspace and run the\n"
                 "pipeline on it, printing each step's output. The workspace's tables are\n"
                 "replaced.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    snprintf(seed_text, sizeof seed_text, "%llu", seed);
    ctx.seed = seed_text;

    /* The world's history ends on 2024-12-31; features are built as of the start of the last
     * 30-day window, the one the propensity model is tested on. */
    const demo_step steps[] = {
        {"1. generate the synthetic retail world (ground truth kept in truth_* tables)",
         cmd_generate,
         {"generate", "--ws", "$WS", "--force", "--seed", "$SEED", "--customers", "$CUST",
          "--products", "$PROD", "--transactions", "$TX", NULL}},
        {"2. what the workspace holds", cmd_info, {"info", "--ws", "$WS", "--brief", NULL}},
        {"3. features as of the last month (nothing after the cutoff is read)",
         cmd_features,
         {"features", "--ws", "$WS", "--as-of", "2024-12-02", NULL}},
        {"4. train the propensity model for the best-selling product, with baselines; "
         "evaluated on the last 30 days, which no model saw",
         cmd_train,
         {"train", "--ws", "$WS", "--model", "propensity", "--target", "$TARGET", NULL}},
        {"5. the stored evaluation", cmd_evaluate, {"evaluate", "--ws", "$WS", NULL}},
        {"6. the campaign: the 50 customers most likely to buy it, at 10% off",
         cmd_campaign,
         {"campaign", "--ws", "$WS", "--product", "best", "--discount", "10", "--target", "50",
          "--out", "$CAMPAIGN", NULL}},
        {"7. what that campaign truly earns, simulated against the no-campaign world",
         cmd_simulate,
         {"simulate", "--ws", "$WS", "--campaign", "$CAMPAIGN", NULL}},
        {"8. the same offer broadcast to every customer, all at one time, nobody spared",
         cmd_campaign,
         {"campaign", "--ws", "$WS", "--product", "best", "--discount", "10", "--target",
          "10000000", "--holdout", "0", "--send-time", "fixed", "--fatigue", "off", "--out",
          "$BROADCAST", NULL}},
        {"9. what broadcasting earns",
         cmd_simulate,
         {"simulate", "--ws", "$WS", "--campaign", "$BROADCAST", NULL}},
        {"10. uplift: who buys BECAUSE of an offer, learnt from the promotion log",
         cmd_train,
         {"train", "--ws", "$WS", "--model", "uplift", "--predictions-out", "$UPLIFT_PRED", NULL}},
        {"11. the optimized campaign: the discount and the customers of the largest expected\n"
         "profit under the uplift model, each sent at their usual weekday and hour, the fatigued\n"
         "left out, with the product most often in the same orders offered as a bundle",
         cmd_campaign,
         {"campaign", "--ws", "$WS", "--product", "best", "--optimize", "--bundle", "auto", "--out",
          "$OPTIMIZED", NULL}},
        {"12. what the optimized campaign and its bundle truly earn",
         cmd_simulate,
         {"simulate", "--ws", "$WS", "--campaign", "$OPTIMIZED", NULL}},
        {"13. customer segments: k-means clusters named as personas (the report profiles them)",
         cmd_segment,
         {"segment", "--ws", "$WS", "--method", "personas", NULL}},
        {"14. every strategy for the same offer, played with the same draws: broadcast, random,\n"
         "RFM, propensity, uplift, optimized (the targeted ones sent as the campaign sends), and\n"
         "the oracle that knows the truth",
         cmd_compare,
         {"compare", "--ws", "$WS", "--product", "best", "--discount", "10", "--target", "100",
          NULL}},
        {"15. the evaluation report: a web page with every model's figures and charts",
         cmd_report,
         {"report", "--ws", "$WS", "--discount", "10", "--target", "100", NULL}},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].fn == cmd_features) {
            /* generation is done: name the product the later steps are about */
            promo_store *s = NULL;
            int rc = promo_store_open(ctx.ws, 0, &s);
            if (!rc)
                rc = promo_campaign_best_seller(s, ctx.product, sizeof ctx.product);
            promo_store_close(s);
            if (rc)
                return cli_report(rc);
            snprintf(ctx.target, sizeof ctx.target, "product:%s", ctx.product);
            snprintf(ctx.campaign, sizeof ctx.campaign, "%s/out/campaign_%s.csv", ctx.ws,
                     ctx.product);
            snprintf(ctx.broadcast, sizeof ctx.broadcast, "%s/out/broadcast_%s.csv", ctx.ws,
                     ctx.product);
            snprintf(ctx.optimized, sizeof ctx.optimized, "%s/out/optimized_%s.csv", ctx.ws,
                     ctx.product);
            snprintf(ctx.uplift_pred, sizeof ctx.uplift_pred, "%s/out/uplift_predictions.csv",
                     ctx.ws);
        }
        int rc = run_step(&steps[i], &ctx);
        if (rc != CLI_EXIT_OK) {
            fprintf(stderr, "promo demo: step %zu failed (exit %d)\n", i + 1, rc);
            return rc;
        }
    }
    /* The last screen: the optimized campaign's simulated result (the comparison above plays
     * its customers and discount without the bundle), then where everything is. */
    int rc = closing_figure(&ctx);
    if (rc)
        return cli_report(rc);
    printf("\n== where it all is (workspace %s)\n", ctx.ws);
    printf("  report      %s/out/report.html  (every figure: %s/out/evaluation_report.txt)\n",
           ctx.ws, ctx.ws);
    printf("  campaigns   %s\n              %s\n              %s\n", ctx.campaign, ctx.optimized,
           ctx.broadcast);
    printf("  comparison  %s/out/strategy_comparison.png\n", ctx.ws);
    printf("  web page    promo serve --ws %s   then open the URL it prints\n", ctx.ws);
    return CLI_EXIT_OK;
}
