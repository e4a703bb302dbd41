/* promo compare and the simulator's expected values (the oracle). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/compare.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/plot.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/table.h>
#include <promo/uplift_score.h>

#include "t.h"
#include "t_world.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The expected profit the oracle ranks by is what the simulator realises on average: summed
 * over a campaign, within four standard errors of the mean over many draws. */
T_TEST(compare_expected_profit_is_the_simulators_mean)
{
    char ws[1024];
    t_world_write(ws, sizeof ws, 300, 40, 5, 10, 15000);
    promo_store *s = NULL;
    promo_world *w = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_world_load(s, &w));
    uint32_t nc = promo_world_n_customers(w);
    promo_offer *o = promo_mallocn(nc, sizeof *o);
    double *profit = promo_mallocn(nc, sizeof *profit), *up = promo_mallocn(nc, sizeof *up);
    for (uint32_t i = 0; i < nc; i++)
        o[i] = (promo_offer){i, i % 7, 20, 0, 10, PROMO_SYNTH_NONE};
    promo_sim_params sp = promo_sim_params_default();
    sp.n_draws = 3000;
    T_OK(promo_simulate_expected(w, o, nc, &sp, profit, up));
    double sum = 0;
    for (uint32_t i = 0; i < nc; i++) {
        sum += profit[i];
        T_ASSERT(up[i] > -1 && up[i] < 1);
    }
    promo_sim_result r;
    sp.interval = 0.6827; /* one standard deviation of the draws */
    T_OK(promo_simulate(w, o, nc, &sp, &r));
    double sd = (r.incremental_profit.hi - r.incremental_profit.lo) / 2;
    double se = sd / sqrt((double)sp.n_draws);
    T_ASSERT_MSG(fabs(r.incremental_profit.mean - sum) < 4 * se + 1e-9,
                 "simulated %.2f vs expected %.2f (se %.2f)", r.incremental_profit.mean, sum, se);
    promo_free(o);
    promo_free(profit);
    promo_free(up);
    promo_world_free(w);
    promo_store_close(s);
}

T_TEST(compare_strategies_oracle_bounds_the_rest)
{
    char ws[1024], args[1300];
    t_world_write(ws, sizeof ws, 400, 40, 5, 10, 20000);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_compare_params p = promo_compare_params_default();
    p.product_id = "PROD00001";
    p.sim.n_draws = 50;
    promo_compare c, c2;
    T_OK(promo_compare_run(s, &p, &c));
    T_OK(promo_compare_run(s, &p, &c2));
    T_ASSERT_EQ_INT(c.n_target, 40);
    T_ASSERT_EQ_INT(c.rows[PROMO_STRATEGY_BROADCAST].contacts, 400);
    T_ASSERT_EQ_INT(c.rows[PROMO_STRATEGY_RANDOM].contacts, 40);
    T_ASSERT(c.rows[PROMO_STRATEGY_RFM].available);
    T_ASSERT(!c.rows[PROMO_STRATEGY_PROPENSITY].available); /* no model trained */
    T_ASSERT_CONTAINS(c.rows[PROMO_STRATEGY_PROPENSITY].note, "promo train");
    /* The oracle takes every customer of positive true value: no selection has more. */
    double best = c.rows[PROMO_STRATEGY_ORACLE].expected_profit;
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++) {
        if (!c.rows[k].available)
            continue;
        T_ASSERT_MSG(c.rows[k].expected_profit <= best + 1e-9, "%s: %.3f > oracle %.3f",
                     promo_strategy_name((promo_strategy)k), c.rows[k].expected_profit, best);
        /* the same params give the same numbers (seeded, paired draws) */
        T_ASSERT(c.rows[k].sim.incremental_profit.mean == c2.rows[k].sim.incremental_profit.mean);
    }
    T_ASSERT(!c.rows[PROMO_STRATEGY_UPLIFT].available);
    T_ASSERT_CONTAINS(c.rows[PROMO_STRATEGY_UPLIFT].note, "promo train --model uplift");
    promo_store_close(s);
    /* With the uplift model trained from the world's log, uplift and optimized play too. */
    snprintf(args, sizeof args, "train --ws %s --model uplift -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_compare_run(s, &p, &c));
    promo_store_close(s);
    T_ASSERT(c.rows[PROMO_STRATEGY_UPLIFT].available);
    T_ASSERT_EQ_INT(c.rows[PROMO_STRATEGY_UPLIFT].contacts, 40);
    T_ASSERT(c.rows[PROMO_STRATEGY_OPTIMIZED].available);
    T_ASSERT(c.rows[PROMO_STRATEGY_OPTIMIZED].contacts <= 400);
    T_ASSERT(c.optimized_discount_pct >= 5 && c.optimized_discount_pct <= 30);
    T_ASSERT(c.rows[PROMO_STRATEGY_UPLIFT].expected_profit <=
             c.rows[PROMO_STRATEGY_ORACLE].expected_profit + 1e-9);
    char *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "compare --ws %s --product best --draws 20 --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    static const char *const keys[] = {
        "\"broadcast\":", "\"random\":",    "\"rfm\":",   "\"propensity\":",
        "\"uplift\":",    "\"optimized\":", "\"oracle\":"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        T_ASSERT_CONTAINS(out, keys[k]);
    T_ASSERT_CONTAINS(out, "\"cost_per_incremental_conversion\":");
    free(out);
    if (promo_plot_available()) { /* the chart beside the figures */
        char png[1200];
        snprintf(png, sizeof png, "%s/out/strategy_comparison.png", ws);
        size_t n = 0;
        char *img = t_read_file(png, &n);
        T_ASSERT_MSG(img && n > 1000 && !memcmp(img, "\x89PNG", 4), "no chart at %s", png);
        free(img);
    }
    snprintf(args, sizeof args, "compare --ws %s --product NOPE", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "NOPE");
    free(err);
}

T_TEST(compare_refuses_a_workspace_without_truth)
{
    char ws[1100], args[1300];
    snprintf(ws, sizeof ws, "%s/real", t_tmpdir());
    snprintf(args, sizeof args,
             "ingest --ws %s -q tests/fixtures/ingest/customers.csv "
             "tests/fixtures/ingest/products.csv tests/fixtures/ingest/transactions.csv",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    char *err = NULL;
    snprintf(args, sizeof args, "compare --ws %s --product P1", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "promo generate");
    free(err);
}

/* The targeted strategies play by the campaign engine's send time and fatigue (issue 16): by
 * default each at the customers' own slots with the fatigued passed over (their places to the
 * next), broadcast and random at the fixed slot; the oracle is the true best policy under the
 * same rules, so it bounds every row with the rules on and off, and with send time it does at
 * least as well as the fixed-slot oracle (its slots include day 0 at a better hour). */
T_TEST(compare_targeted_strategies_use_send_time_and_fatigue)
{
    char ws[1024], args[1400];
    /* no uplift model here (the test above bounds uplift and optimized with the rules on): the
     * rules are the same for every targeted row, and rfm shows them */
    t_world_write(ws, sizeof ws, 400, 40, 5, 10, 20000);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_compare_params p = promo_compare_params_default();
    p.product_id = "PROD00001";
    p.sim.n_draws = 30;
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    tg.fatigue.max_contacts_30d = 1; /* many fatigued */
    p.targeting = &tg;
    promo_compare on, off;
    T_OK(promo_compare_run(s, &p, &on));
    T_ASSERT(on.send_time_best);
    T_ASSERT_EQ_INT(on.fatigue_mode, PROMO_FATIGUE_SUPPRESS);
    T_ASSERT(on.n_fatigued > 0 && on.n_contacted > 0);
    T_ASSERT(!on.rows[PROMO_STRATEGY_BROADCAST].targeted);
    T_ASSERT(!on.rows[PROMO_STRATEGY_RANDOM].targeted);
    T_ASSERT(on.rows[PROMO_STRATEGY_RFM].targeted);
    T_ASSERT(on.rows[PROMO_STRATEGY_OPTIMIZED].targeted);
    /* the fatigued are passed over, and the top-N strategies still fill their N */
    T_ASSERT(on.rows[PROMO_STRATEGY_RFM].suppressed > 0);
    T_ASSERT_EQ_INT(on.rows[PROMO_STRATEGY_RFM].contacts, on.n_target);
    T_ASSERT_EQ_INT(on.rows[PROMO_STRATEGY_BROADCAST].contacts, 400);
    tg.send_time_best = 0;
    tg.fatigue.mode = PROMO_FATIGUE_OFF;
    T_OK(promo_compare_run(s, &p, &off));
    T_ASSERT(!off.send_time_best);
    T_ASSERT_EQ_INT(off.rows[PROMO_STRATEGY_RFM].suppressed, 0);
    /* the untargeted baselines do not change with the rules */
    T_ASSERT(on.rows[PROMO_STRATEGY_BROADCAST].sim.incremental_profit.mean ==
             off.rows[PROMO_STRATEGY_BROADCAST].sim.incremental_profit.mean);
    T_ASSERT(on.rows[PROMO_STRATEGY_RANDOM].expected_profit ==
             off.rows[PROMO_STRATEGY_RANDOM].expected_profit);
    const promo_compare *both[2] = {&on, &off};
    for (int b = 0; b < 2; b++) {
        double best = both[b]->rows[PROMO_STRATEGY_ORACLE].expected_profit;
        for (int k = 0; k < PROMO_STRATEGY_COUNT; k++)
            if (both[b]->rows[k].available)
                T_ASSERT_MSG(both[b]->rows[k].expected_profit <= best + 1e-9,
                             "%s: %.3f > oracle %.3f (send time %d)",
                             promo_strategy_name((promo_strategy)k),
                             both[b]->rows[k].expected_profit, best, both[b]->send_time_best);
    }
    T_ASSERT_MSG(on.rows[PROMO_STRATEGY_ORACLE].expected_profit >=
                     off.rows[PROMO_STRATEGY_ORACLE].expected_profit - 1e-9,
                 "oracle with send time %.2f < fixed %.2f",
                 on.rows[PROMO_STRATEGY_ORACLE].expected_profit,
                 off.rows[PROMO_STRATEGY_ORACLE].expected_profit);
    /* cool-down: the fatigued stay in the rankings and are sent on or after their cool-down
     * day, after the week the others are sent in (30 days from their last offer); the oracle
     * has those days too, so it still bounds every row */
    promo_compare cd;
    tg.send_time_best = 1;
    tg.fatigue.mode = PROMO_FATIGUE_COOLDOWN;
    tg.fatigue.cooldown_days = 30;
    T_OK(promo_compare_run(s, &p, &cd));
    T_ASSERT_EQ_INT(cd.fatigue_mode, PROMO_FATIGUE_COOLDOWN);
    T_ASSERT(cd.n_cooled > 0 && cd.n_cooled <= cd.n_fatigued);
    T_ASSERT_EQ_INT(cd.rows[PROMO_STRATEGY_RFM].suppressed, 0);
    T_ASSERT(cd.rows[PROMO_STRATEGY_RFM].cooled > 0);
    T_ASSERT_EQ_INT(cd.rows[PROMO_STRATEGY_BROADCAST].cooled, 0);
    T_ASSERT(cd.rows[PROMO_STRATEGY_BROADCAST].sim.incremental_profit.mean ==
             on.rows[PROMO_STRATEGY_BROADCAST].sim.incremental_profit.mean);
    for (int k = 0; k < PROMO_STRATEGY_COUNT; k++)
        if (cd.rows[k].available)
            T_ASSERT_MSG(
                cd.rows[k].expected_profit <= cd.rows[PROMO_STRATEGY_ORACLE].expected_profit + 1e-9,
                "%s: %.3f > oracle %.3f (cool-down)", promo_strategy_name((promo_strategy)k),
                cd.rows[k].expected_profit, cd.rows[PROMO_STRATEGY_ORACLE].expected_profit);
    promo_store_close(s);
    /* the CLI: the rules in the text and in --json */
    char *out = NULL;
    snprintf(args, sizeof args, "compare --ws %s --product PROD00001 --draws 10 --no-chart", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "each customer at their usual weekday and hour");
    T_ASSERT_CONTAINS(out, "the fatigued left out");
    free(out);
    snprintf(args, sizeof args,
             "compare --ws %s --product PROD00001 --draws 10 --no-chart --json --send-time fixed "
             "--fatigue off",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"send_time\":\"fixed\"");
    T_ASSERT_CONTAINS(out, "\"fatigue\":\"off\"");
    T_ASSERT_CONTAINS(out, "\"targeted\":true");
    free(out);
}

/* The optimized row is what promo campaign --optimize sends under the same fatigue rule: the
 * same discount and the same number of customers (the campaign file's rows, nobody held out),
 * so compare plays the campaign, not a model's own idea of the optimum. Many customers
 * fatigued, so the rule matters. */
T_TEST(compare_optimized_is_the_campaign_optimum)
{
    char ws[1024], args[2400], csv[1100];
    t_world_write(ws, sizeof ws, 400, 40, 5, 10, 20000);
    snprintf(args, sizeof args, "train --ws %s --model uplift --rounds 40 --threads 1 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(csv, sizeof csv, "%s/opt.csv", ws);
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    tg.fatigue.max_contacts_30d = 1;
    size_t fatigued = 0, checked = 0;
    for (int k = 1; k <= 3; k++) {
        char pid[32];
        snprintf(pid, sizeof pid, "PROD%05d", k);
        promo_store *s = NULL;
        T_OK(promo_store_open(ws, 0, &s));
        promo_compare_params p = promo_compare_params_default();
        p.product_id = pid;
        p.sim.n_draws = 10;
        p.targeting = &tg;
        promo_compare c;
        T_OK(promo_compare_run(s, &p, &c));
        promo_store_close(s);
        fatigued = c.n_fatigued;
        const promo_compare_row *o = &c.rows[PROMO_STRATEGY_OPTIMIZED];
        T_ASSERT(o->available);
        snprintf(args, sizeof args,
                 "campaign --ws %s --product %s --optimize --holdout 0 "
                 "--fatigue-max-contacts-30d 1 --out %s -q",
                 ws, pid, csv);
        int rc = t_promo(args, NULL, NULL);
        if (rc != 0) { /* no customer worth a contact: nothing sent by either */
            T_ASSERT_EQ_INT(o->contacts, 0);
            continue;
        }
        size_t n = 0;
        char *text = t_read_file(csv, &n);
        size_t rows = 0;
        for (size_t i = 0; i < n; i++)
            rows += text[i] == '\n';
        const char *col = strstr(text, "discount_pct");
        T_ASSERT(col);
        free(text);
        T_ASSERT_MSG(o->contacts + 1 == rows, "%s: compare sends %zu, the campaign %zu", pid,
                     o->contacts, rows - 1);
        T_ASSERT_NEAR(o->discount_pct, c.optimized_discount_pct, 0);
        T_ASSERT(isfinite(c.optimized_model_profit));
        checked += o->contacts > 0;
    }
    T_ASSERT(fatigued > 0);
    T_ASSERT(checked > 0);
}

/* Cool-down (issue 16): compare's optimized row is what promo campaign --optimize --fatigue
 * cooldown sends, customer by customer: the same customers at the same discount, send day and
 * hour (the cooled on or after their cool-down day), and the file compare writes of that row
 * is what promo simulate plays to the same figures. */
T_TEST(compare_optimized_with_cooldown_is_the_campaign)
{
    char ws[1024], args[2400], csv[1100], opt[1100];
    t_world_write(ws, sizeof ws, 400, 40, 5, 10, 20000);
    snprintf(args, sizeof args, "train --ws %s --model uplift --rounds 40 --threads 1 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(csv, sizeof csv, "%s/camp.csv", ws);
    snprintf(opt, sizeof opt, "%s/opt.csv", ws);
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    tg.fatigue.mode = PROMO_FATIGUE_COOLDOWN;
    tg.fatigue.max_contacts_30d = 1;
    tg.fatigue.cooldown_days = 30;
    size_t checked = 0, late = 0;
    for (int k = 1; k <= 3; k++) {
        char pid[32];
        snprintf(pid, sizeof pid, "PROD%05d", k);
        promo_store *s = NULL;
        T_OK(promo_store_open(ws, 0, &s));
        promo_compare_params p = promo_compare_params_default();
        p.product_id = pid;
        p.sim.n_draws = 10;
        p.targeting = &tg;
        p.optimized_path = opt;
        promo_compare c;
        T_OK(promo_compare_run(s, &p, &c));
        promo_store_close(s);
        T_ASSERT(c.n_cooled > 0);
        const promo_compare_row *o = &c.rows[PROMO_STRATEGY_OPTIMIZED];
        T_ASSERT(o->available);
        T_ASSERT_EQ_INT(o->suppressed, 0);
        snprintf(args, sizeof args,
                 "campaign --ws %s --product %s --optimize --holdout 0 --fatigue cooldown "
                 "--fatigue-max-contacts-30d 1 --cooldown-days 30 --out %s -q",
                 ws, pid, csv);
        if (t_promo(args, NULL, NULL) != 0) { /* no customer worth a contact */
            T_ASSERT_EQ_INT(o->contacts, 0);
            continue;
        }
        /* each file's rows as "customer,discount,day,hour" lines, sorted */
        const char *files[2] = {csv, opt};
        char *rows[2][512];
        size_t nr[2] = {0, 0};
        for (int f = 0; f < 2; f++) {
            static const promo_csv_column want[] = {{"customer_id", PROMO_COL_STRING, 1},
                                                    {"discount_pct", PROMO_COL_FLOAT64, 1},
                                                    {"send_day", PROMO_COL_INT64, 1},
                                                    {"send_hour", PROMO_COL_INT64, 1}};
            promo_csv_options co = promo_csv_options_default();
            co.columns = want;
            co.n_columns = 4;
            promo_table *t = NULL;
            T_OK(promo_csv_read(files[f], &co, &t, NULL));
            const promo_column *ci = promo_table_column(t, "customer_id");
            const promo_column *cd = promo_table_column(t, "discount_pct");
            const promo_column *cy = promo_table_column(t, "send_day");
            const promo_column *ch = promo_table_column(t, "send_hour");
            T_ASSERT(ci && cd && cy && ch && t->n_rows <= 512);
            for (size_t r = 0; r < t->n_rows; r++) {
                char line[256];
                snprintf(line, sizeof line, "%s,%g,%lld,%lld", promo_column_str(ci, r), cd->f64[r],
                         (long long)cy->i64[r], (long long)ch->i64[r]);
                rows[f][nr[f]++] = strdup(line);
                late += f == 1 && cy->i64[r] >= 7;
            }
            qsort(rows[f], nr[f], sizeof rows[f][0], cmp_str);
            promo_table_free(t);
        }
        T_ASSERT_MSG(nr[0] == nr[1] && nr[1] == o->contacts,
                     "%s: compare sends %zu (file %zu), the campaign %zu", pid, o->contacts, nr[1],
                     nr[0]);
        for (size_t r = 0; r < nr[0]; r++)
            T_ASSERT_MSG(!strcmp(rows[0][r], rows[1][r]), "%s: campaign %s, compare %s", pid,
                         rows[0][r], rows[1][r]);
        for (int f = 0; f < 2; f++)
            for (size_t r = 0; r < nr[f]; r++)
                free(rows[f][r]);
        /* the file is the row: promo simulate plays it to compare's figure */
        char *out = NULL;
        snprintf(args, sizeof args, "simulate --ws %s --campaign %s --draws 10 --json", ws, opt);
        T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
        char want[64];
        snprintf(want, sizeof want, "\"contacts\": {\"mean\": %zu,", o->contacts);
        T_ASSERT_CONTAINS(out, want);
        free(out);
        checked += o->contacts > 0;
    }
    T_ASSERT(checked > 0);
    T_ASSERT(late > 0); /* some cooled customer sent after the first week */
}

/* --bundle: every strategy's offer comes with the product promo campaign --bundle would
 * choose, the oracle's too; the optimized row's file carries it and promo simulate plays that
 * file to the row's own incremental profit (the bundle's margin included). */
T_TEST(compare_with_a_bundle_plays_it_in_every_row)
{
    char ws[1024], args[2400], opt[1100], *out = NULL;
    t_world_write(ws, sizeof ws, 400, 40, 5, 10, 20000);
    snprintf(args, sizeof args, "train --ws %s --model uplift --rounds 40 --threads 1 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(opt, sizeof opt, "%s/opt.csv", ws);
    promo_campaign_targeting tg = promo_campaign_targeting_default();
    tg.bundle = "auto";
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_compare_params p = promo_compare_params_default();
    p.product_id = "PROD00001";
    p.sim.n_draws = 20;
    p.targeting = &tg;
    p.optimized_path = opt;
    promo_compare with, without;
    T_OK(promo_compare_run(s, &p, &with));
    p.targeting = NULL;
    p.optimized_path = NULL;
    T_OK(promo_compare_run(s, &p, &without));
    promo_store_close(s);
    T_ASSERT(with.has_bundle && !without.has_bundle);
    T_ASSERT(with.bundle.product_id[0]); /* this world's best seller has a partner */
    /* Every row whose customers do not depend on the offer (all but the optimized and the
     * oracle rows, checked below): the same customers and discounts, the bundle's margin on
     * top: the conversions of the offered product are the same draws, the profit is not. */
    static const int same_choice[] = {PROMO_STRATEGY_BROADCAST, PROMO_STRATEGY_RANDOM,
                                      PROMO_STRATEGY_RFM, PROMO_STRATEGY_PROPENSITY,
                                      PROMO_STRATEGY_UPLIFT};
    int checked = 0;
    for (size_t i = 0; i < sizeof same_choice / sizeof *same_choice; i++) {
        const promo_compare_row *bw = &with.rows[same_choice[i]],
                                *bo = &without.rows[same_choice[i]];
        T_ASSERT_EQ_INT(bw->available, bo->available);
        if (!bw->available) /* propensity: this world has no propensity model */
            continue;
        checked++;
        T_ASSERT_EQ_INT(bw->contacts, bo->contacts);
        T_ASSERT(bw->contacts > 0);
        T_ASSERT_NEAR(bw->sim.incremental_conversions.mean, bo->sim.incremental_conversions.mean,
                      1e-9);
        T_ASSERT_MSG(bw->sim.incremental_profit.mean != bo->sim.incremental_profit.mean, "row %d",
                     same_choice[i]);
    }
    T_ASSERT_EQ_INT(checked, 4); /* all but propensity */
    T_ASSERT(with.rows[PROMO_STRATEGY_ORACLE].available);
    T_ASSERT(with.rows[PROMO_STRATEGY_ORACLE].sim.incremental_profit.mean !=
             without.rows[PROMO_STRATEGY_ORACLE].sim.incremental_profit.mean);
    /* the file: bundle_product_id on every row, the row's figure when played */
    char *csv = t_read_file(opt, NULL);
    T_ASSERT(csv);
    static const char header[] = "customer_id,product_id,discount_pct,send_day,send_hour,"
                                 "bundle_product_id\n";
    T_ASSERT(strncmp(csv, header, sizeof header - 1) == 0);
    char tail[300];
    snprintf(tail, sizeof tail, ",%s\n", with.bundle.product_id);
    T_ASSERT_CONTAINS(csv, tail);
    free(csv);
    const promo_compare_row *o = &with.rows[PROMO_STRATEGY_OPTIMIZED];
    snprintf(args, sizeof args, "simulate --ws %s --campaign %s --draws 20 --json", ws, opt);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    char want[400];
    snprintf(want, sizeof want, "\"incremental_profit\": {\"mean\": %g,",
             o->sim.incremental_profit.mean);
    T_ASSERT_CONTAINS(out, want);
    free(out);
    /* the chosen bundle is promo campaign --bundle auto's */
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --optimize --holdout 0 --bundle auto "
             "--json --out %s/c.csv",
             ws, ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    snprintf(want, sizeof want, "\"bundle\":{\"product_id\":\"%s\"", with.bundle.product_id);
    T_ASSERT_CONTAINS(out, want);
    free(out);
}
