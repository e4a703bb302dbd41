/* The campaign module (promo/campaign.h) and its commands: one column definition for the
 * campaign file, writer/reader round trip, the reader's FILE:LINE:COL rejections, selection
 * through the scoring handle; and the CLI: the top-N campaign file is what `promo simulate`
 * reads, bad options exit 2, a workspace without a model is a clear error, the demo runs. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/timeutil.h>

#include "t.h"

/* A small generated workspace with a product model trained for its best seller. */
static const char *trained_ws(void)
{
    static char ws[600];
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    char cmd[1400];
    char *err = NULL;
    snprintf(cmd, sizeof cmd,
             "generate --ws %s --customers 150 --products 30 --transactions 6000 --seed 7", ws);
    int rc = t_promo(cmd, NULL, &err);
    T_ASSERT_MSG(rc == 0, "generate failed: %s", err);
    free(err);
    snprintf(cmd, sizeof cmd,
             "train --ws %s --target product:PROD00001 --no-baselines --no-plots --rounds 20 "
             "--windows 1",
             ws);
    rc = t_promo(cmd, NULL, &err);
    T_ASSERT_MSG(rc == 0, "train failed: %s", err);
    free(err);
    return ws;
}

T_TEST(campaign_top_n_file_feeds_simulate)
{
    const char *ws = trained_ws();
    char cmd[1400], path[700];
    char *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/out/c.csv", ws);
    snprintf(cmd, sizeof cmd,
             "campaign --ws %s --product PROD00001 --discount 15 --target 20 --out %s", ws, path);
    int rc = t_promo(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign failed: %s", err);
    T_ASSERT_CONTAINS(out, "top 20 customers by propensity, 15% discount");
    char *csv = t_read_file(path, NULL);
    T_ASSERT(csv != NULL);
    const char *header = "customer_id,name,location,probability,reason,product_id,discount_pct,"
                         "send_day,send_hour,holdout,send_date\n";
    T_ASSERT_MSG(strncmp(csv, header, strlen(header)) == 0, "header: %.120s", csv);
    int lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    T_ASSERT_EQ_INT(lines, 21);
    free(csv);
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "simulate --ws %s --campaign %s --draws 20 --json", ws, path);
    rc = t_promo(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "simulate failed: %s", err);
    T_ASSERT_CONTAINS(out, "\"contacts\"");
    T_ASSERT_CONTAINS(out, "\"incremental_profit\"");
    free(out);
    free(err);
}

T_TEST(campaign_bad_options_exit_2)
{
    char *err = NULL;
    T_ASSERT_EQ_INT(t_promo("campaign --ws /nonexistent/ws --discount 10", NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "--product");
    free(err);
    T_ASSERT_EQ_INT(t_promo("campaign --ws x --product best --discount 95", NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "--discount: expected a number from 0 to 90");
    free(err);
    T_ASSERT_EQ_INT(t_promo("campaign --ws x --product best --send-hour 24", NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "--send-hour");
    free(err);
    T_ASSERT_EQ_INT(t_promo("campaign --ws x --product best --target abc", NULL, &err), 2);
    free(err);
}

T_TEST(campaign_without_model_is_a_clear_error)
{
    char ws[600], cmd[1400];
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    snprintf(cmd, sizeof cmd, "generate --ws %s --customers 60 --products 20 --transactions 2000",
             ws);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, NULL), 0);
    char *before = t_dir_digest(ws), *err = NULL;
    snprintf(cmd, sizeof cmd, "campaign --ws %s --product best", ws);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "no propensity model");
    /* The command to run names the best seller itself, ready to paste. */
    T_ASSERT_CONTAINS(err, "--model propensity --target product:");
    T_ASSERT_MSG(!strstr(err, "product:ID"), "placeholder instead of the product: %s", err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    snprintf(cmd, sizeof cmd, "campaign --ws %s --product NOPE", ws);
    free(err);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, &err), 2);
    free(err);
    free(before);
    free(after);
}

T_TEST(demo_small_runs_every_step)
{
    char ws[600], cmd[1400];
    char *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/demo", t_tmpdir());
    snprintf(cmd, sizeof cmd, "demo --ws %s --small", ws);
    int rc = t_promo(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "demo failed (%d): %s", rc, err);
    T_ASSERT_CONTAINS(out, "== 9. what broadcasting earns");
    T_ASSERT_CONTAINS(out, "incremental profit");
    /* broadcasting is the naive practice: everyone at one time; the optimized campaign and the
     * targeted strategies of the comparison send at each customer's slot, without the
     * fatigued (issue 16) */
    T_ASSERT_CONTAINS(out, "--send-time fixed --fatigue off --out ");
    T_ASSERT_CONTAINS(out, "== 11. the optimized campaign");
    T_ASSERT_CONTAINS(out, "--product best --optimize --bundle auto --out ");
    T_ASSERT_CONTAINS(out, "send time: each customer's usual weekday and hour");
    T_ASSERT_CONTAINS(out, "== 12. what the optimized campaign and its bundle truly earn");
    T_ASSERT_CONTAINS(out, "send as promo campaign does: each customer at their usual weekday");
    /* it ends with the report and where everything is (cmd_demo.c, issue 17) */
    T_ASSERT_CONTAINS(out, "/out/report.html");
    T_ASSERT_CONTAINS(out, "optimized campaign for ");
    /* and the optimized campaign's simulated profit with its interval (issue 16) */
    T_ASSERT_CONTAINS(out, "== the optimized campaign for ");
    T_ASSERT_CONTAINS(out, "simulated incremental profit ");
    T_ASSERT_CONTAINS(out, "% interval ");
    T_ASSERT_CONTAINS(out, "promo serve --ws ");
    free(out);
    free(err);
}

/* ---- the campaign module (promo/campaign.h): one column definition, writer and reader ---- */

/* Names of the columns with all of `flags`, comma-joined. */
static void column_names(unsigned flags, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int c = 0; c < PROMO_CAMPAIGN_COL_COUNT; c++)
        if ((promo_campaign_columns[c].flags & flags) == flags)
            k += (size_t)snprintf(out + k, n - k, "%s%s", k ? "," : "",
                                  promo_campaign_columns[c].name);
}

T_TEST(campaign_columns_one_definition)
{
    char buf[400];
    column_names(PROMO_CAMPAIGN_WRITTEN, buf, sizeof buf);
    T_ASSERT_STR_EQ(buf, "customer_id,name,location,probability,reason,product_id,discount_pct,"
                         "send_day,send_hour,holdout,send_date");
    column_names(PROMO_CAMPAIGN_READ, buf, sizeof buf);
    T_ASSERT_STR_EQ(
        buf, "customer_id,product_id,discount_pct,send_day,send_hour,bundle_product_id,holdout");
    column_names(PROMO_CAMPAIGN_REQUIRED, buf, sizeof buf);
    T_ASSERT_STR_EQ(buf, "customer_id,product_id,discount_pct,send_day,send_hour");
    /* Everything the reader requires, the writer writes. */
    for (int c = 0; c < PROMO_CAMPAIGN_COL_COUNT; c++)
        if (promo_campaign_columns[c].flags & PROMO_CAMPAIGN_REQUIRED)
            T_ASSERT(promo_campaign_columns[c].flags & PROMO_CAMPAIGN_WRITTEN);
}

/* A generated world (no models), made once. */
static const char *world_ws(void)
{
    static char ws[600];
    if (ws[0])
        return ws;
    snprintf(ws, sizeof ws, "%s/world", t_tmpdir());
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "generate --ws %s --customers 120 --products 25 --transactions 3000 --seed 11", ws);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, NULL), 0);
    return ws;
}

T_TEST(campaign_file_round_trip)
{
    promo_store *s = NULL;
    promo_world *w = NULL;
    T_OK(promo_store_open(world_ws(), 0, &s));
    T_OK(promo_world_load(s, &w));
    /* A hand-made campaign; names that need quoting. */
    promo_campaign_pick picks[3] = {{"CUST0000003", 0.75, "bought it twice; likes \"deals\""},
                                    {"CUST0000001", 0.5, "no strong signal"},
                                    {"CUST0000002", 0.125, "shops on Saturday mornings"}};
    char *names[3] = {"Silva, Nimal", "\"Kumari\"", ""};
    char *locs[3] = {"Colombo", "", "Kandy"};
    uint8_t hold[3] = {0, 1, 0};
    promo_campaign c = {.product_id = "PROD00004",
                        .discount_pct = 12.5,
                        .send_day = 3,
                        .send_hour = 18,
                        .n = 3,
                        .picks = picks,
                        .name = names,
                        .location = locs,
                        .holdout = hold,
                        .n_holdout = 1,
                        .send_date = 1735689600 + 3 * 86400};
    char path[700];
    snprintf(path, sizeof path, "%s/c.csv", t_tmpdir());
    T_OK(promo_campaign_write(&c, path));
    char *text = t_read_file(path, NULL);
    T_ASSERT(text);
    T_ASSERT_STR_EQ(
        text, "customer_id,name,location,probability,reason,product_id,discount_pct,"
              "send_day,send_hour,holdout,send_date\n"
              "CUST0000003,\"Silva, Nimal\",Colombo,0.75,\"bought it twice; likes "
              "\"\"deals\"\"\",PROD00004,12.5,3,18,0,2025-01-04T00:00:00\n"
              "CUST0000001,\"\"\"Kumari\"\"\",\"\",0.5,no strong signal,PROD00004,12.5,3,18,1,"
              "2025-01-04T00:00:00\n"
              "CUST0000002,\"\",Kandy,0.125,shops on Saturday mornings,PROD00004,12.5,3,18,0,"
              "2025-01-04T00:00:00\n");
    free(text);
    promo_campaign_file *f = NULL;
    promo_offer *o = NULL;
    T_OK(promo_campaign_read(path, &f));
    T_ASSERT_EQ_INT(promo_campaign_file_rows(f), 3);
    T_ASSERT_EQ_INT(promo_campaign_file_contacts(f), 2); /* the held-out row is not an offer */
    T_OK(promo_campaign_file_offers(f, w, &o));
    for (size_t i = 0; i < 2; i++) {
        T_ASSERT_EQ_INT(o[i].customer, promo_world_customer_index(w, picks[i ? 2 : 0].customer_id));
        T_ASSERT_EQ_INT(o[i].product, promo_world_product_index(w, "PROD00004"));
        T_ASSERT_NEAR(o[i].discount_pct, 12.5, 0);
        T_ASSERT_EQ_INT(o[i].send_day, 3);
        T_ASSERT_EQ_INT(o[i].send_hour, 18);
        T_ASSERT_EQ_INT(o[i].bundle_product, PROMO_SYNTH_NONE);
    }
    promo_free(o);
    promo_campaign_file_free(f);
    /* A hand-written file: any column order, a bundle, extra columns ignored. */
    const char *hand = "note,send_hour,bundle_product_id,discount_pct,product_id,send_day,"
                       "customer_id\nhi,7,PROD00002,0,PROD00001,3650,CUST0000005\n"
                       "x,23,,90,PROD00003,0,CUST0000006\n";
    t_write_file(path, hand, strlen(hand));
    T_OK(promo_campaign_read(path, &f));
    T_OK(promo_campaign_file_offers(f, w, &o));
    T_ASSERT_EQ_INT(o[0].bundle_product, promo_world_product_index(w, "PROD00002"));
    T_ASSERT_EQ_INT(o[0].send_day, 3650);
    T_ASSERT_EQ_INT(o[1].bundle_product, PROMO_SYNTH_NONE);
    T_ASSERT_NEAR(o[1].discount_pct, 90, 0);
    promo_free(o);
    promo_campaign_file_free(f);
    promo_campaign_file_free(NULL);
    promo_world_free(w);
    promo_store_close(s);
}

T_TEST(campaign_file_rejections)
{
    promo_store *s = NULL;
    promo_world *w = NULL;
    T_OK(promo_store_open(world_ws(), 0, &s));
    T_OK(promo_world_load(s, &w));
    const char *hdr = "customer_id,product_id,discount_pct,send_day,send_hour\n";
    struct {
        const char *csv;  /* body after hdr (NULL: csv is the whole file in want's place) */
        const char *want; /* the message after "PATH" */
    } cases[] = {
        {"CUST0000001,PROD00001,10,0,18\nCUST9999999,PROD00001,10,0,18\n",
         ":3:1: column 'customer_id': unknown customer \"CUST9999999\""},
        {"CUST0000001,NOPE,10,0,18\n", ":2:2: column 'product_id': unknown product \"NOPE\""},
        {"CUST0000001,PROD00001,95,0,18\n",
         ":2:3: column 'discount_pct': expected a discount from 0 to 90 (percent), got 95"},
        {"CUST0000001,PROD00001,,0,18\n",
         ":2:3: column 'discount_pct': expected a discount from 0 to 90 (percent), got nothing"},
        {"CUST0000001,PROD00001,-1,0,18\n",
         ":2:3: column 'discount_pct': expected a discount from 0 to 90 (percent), got -1"},
        {"CUST0000001,PROD00001,5,3651,18\n",
         ":2:4: column 'send_day': expected a day from 0 to 3650, got 3651"},
        {"CUST0000001,PROD00001,5,,18\n",
         ":2:4: column 'send_day': expected a day from 0 to 3650, got -1"},
        {"CUST0000001,PROD00001,5,1,24\n",
         ":2:5: column 'send_hour': expected an hour from 0 to 23, got 24"},
        {"CUST0000001,PROD00001,5,1,\n",
         ":2:5: column 'send_hour': expected an hour from 0 to 23, got -1"},
    };
    char path[700], buf[1200];
    snprintf(path, sizeof path, "%s/bad.csv", t_tmpdir());
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        snprintf(buf, sizeof buf, "%s%s", hdr, cases[k].csv);
        t_write_file(path, buf, strlen(buf));
        promo_campaign_file *f = NULL;
        promo_offer *o = (promo_offer *)1;
        T_OK(promo_campaign_read(path, &f));
        T_ASSERT_EQ_INT(promo_campaign_file_offers(f, w, &o), PROMO_EINPUT);
        T_ASSERT(o == NULL);
        char want[800];
        snprintf(want, sizeof want, "%s%s", path, cases[k].want);
        T_ASSERT_STR_EQ(promo_last_error(), want);
        promo_campaign_file_free(f);
    }
    /* Column numbers come from the header: quoted names, spaces, a BOM, a bundle. */
    struct {
        const char *csv, *want;
    } moved[] = {
        {"send_hour,customer_id,product_id,discount_pct,send_day\n7,CUST0000001,PROD00001,95,0\n",
         ":2:4: column 'discount_pct': expected a discount from 0 to 90 (percent), got 95"},
        {"name,customer_id,\"x,y\", product_id ,discount_pct,send_day,send_hour\n"
         "n,CUST0000001,q,PROD00001,10,0,99\n",
         ":2:7: column 'send_hour': expected an hour from 0 to 23, got 99"},
        {"\xef\xbb\xbf"
         "customer_id,product_id,discount_pct,send_day,send_hour,bundle_product_id\n"
         "CUST0000001,PROD00001,10,0,18,\nCUST0000001,PROD00001,10,0,18,XX\n",
         ":3:6: column 'bundle_product_id': unknown product \"XX\""},
        /* Lines are physical lines, whatever the records look like: a reason spanning two
         * lines, blank lines, CRLF line ends (row + 2 said 3, 3 and 3). */
        {"customer_id,reason,product_id,discount_pct,send_day,send_hour\n"
         "CUST0000001,\"bought bread;\nlikes Saturdays\",PROD00001,10,0,18\n"
         "CUST0000001,ok,PROD00001,10,0,25\n",
         ":4:6: column 'send_hour': expected an hour from 0 to 23, got 25"},
        {"customer_id,product_id,discount_pct,send_day,send_hour\n\n"
         "CUST0000001,PROD00001,10,0,18\n\nCUST0000001,PROD00001,10,0,18\nCUST0000001,NOPE,1,0,1\n",
         ":6:2: column 'product_id': unknown product \"NOPE\""},
        {"customer_id,product_id,discount_pct,send_day,send_hour\r\n"
         "\"CUST\r\n0000001\",PROD00001,10,0,18\r\n",
         ":2:1: column 'customer_id': unknown customer \"CUST\r\n0000001\""},
    };
    for (size_t k = 0; k < sizeof moved / sizeof *moved; k++) {
        t_write_file(path, moved[k].csv, strlen(moved[k].csv));
        promo_campaign_file *f = NULL;
        promo_offer *o = NULL;
        T_OK(promo_campaign_read(path, &f));
        T_ASSERT_EQ_INT(promo_campaign_file_offers(f, w, &o), PROMO_EINPUT);
        char want[800];
        snprintf(want, sizeof want, "%s%s", path, moved[k].want);
        T_ASSERT_STR_EQ(promo_last_error(), want);
        promo_campaign_file_free(f);
    }
    /* The CSV layer's errors come from promo_campaign_read, before any world is needed. */
    const char *missing = "customer_id,product_id,send_day,send_hour\nCUST0000001,PROD00001,0,18\n";
    t_write_file(path, missing, strlen(missing));
    promo_campaign_file *f = (promo_campaign_file *)1;
    T_ASSERT_EQ_INT(promo_campaign_read(path, &f), PROMO_EINPUT);
    T_ASSERT(f == NULL);
    snprintf(buf, sizeof buf,
             "%s:1: missing required column 'discount_pct' (the header has 4 columns: "
             "'customer_id', 'product_id', 'send_day', 'send_hour')",
             path);
    T_ASSERT_STR_EQ(promo_last_error(), buf);
    const char *word = "customer_id,product_id,discount_pct,send_day,send_hour\n"
                       "CUST0000001,PROD00001,ten,0,18\n";
    t_write_file(path, word, strlen(word));
    T_ASSERT_EQ_INT(promo_campaign_read(path, &f), PROMO_EINPUT);
    snprintf(buf, sizeof buf, "%s:2:3: column 'discount_pct': expected a number, got \"ten\"",
             path);
    T_ASSERT_STR_EQ(promo_last_error(), buf);
    snprintf(buf, sizeof buf, "%s/none.csv", t_tmpdir());
    T_ASSERT_EQ_INT(promo_campaign_read(buf, &f), PROMO_ENOTFOUND);
    /* An empty campaign is no offers, not an error. */
    t_write_file(path, hdr, strlen(hdr));
    promo_offer *o = NULL;
    T_OK(promo_campaign_read(path, &f));
    T_ASSERT_EQ_INT(promo_campaign_file_rows(f), 0);
    T_OK(promo_campaign_file_offers(f, w, &o));
    promo_free(o);
    promo_campaign_file_free(f);
    promo_world_free(w);
    promo_store_close(s);
}

T_TEST(campaign_select_through_the_handle)
{
    const char *ws = trained_ws();
    promo_store *s = NULL;
    promo_world *w = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_world_load(s, &w));
    char best[64];
    T_OK(promo_campaign_best_seller(s, best, sizeof best));
    T_ASSERT(strncmp(best, "PROD", 4) == 0);
    /* A handle opened for another target is retargeted to the product. */
    promo_scorer *h = NULL;
    T_OK(promo_scorer_open(s, "product:PROD00002", 0, 0, &h));
    promo_campaign_params p = promo_campaign_params_default();
    T_ASSERT_NEAR(p.discount_pct, 10, 0);
    T_ASSERT_EQ_INT(p.n_target, 50);
    T_ASSERT_EQ_INT(p.send_hour, 10);
    p.product_id = "PROD00001";
    p.n_target = 15;
    p.discount_pct = 20;
    promo_campaign *c = NULL, *c2 = NULL;
    T_OK(promo_campaign_select(h, &p, &c));
    T_ASSERT_STR_EQ(promo_scorer_target(h), "product:PROD00001");
    T_ASSERT_EQ_INT(c->n, 15);
    double sum = 0;
    T_ASSERT_EQ_INT(c->n_holdout, 2); /* round(15 x 10%) kept back */
    size_t kept = 0;
    for (size_t i = 0; i < c->n; i++) {
        T_ASSERT(c->name[i][0] && c->location[i][0]); /* generated customers have both */
        kept += c->holdout[i];
        sum += c->holdout[i] ? 0 : c->picks[i].probability; /* the contacted ones' */
        if (i)
            T_ASSERT(c->picks[i].probability <= c->picks[i - 1].probability);
    }
    T_ASSERT_EQ_INT(kept, 2);
    T_ASSERT_NEAR(c->expected_buyers, sum, 0);
    /* The one-call form gives the same campaign. */
    T_OK(promo_campaign_build(s, &p, 0, &c2));
    T_ASSERT_EQ_INT(c2->n, c->n);
    for (size_t i = 0; i < c->n; i++) {
        T_ASSERT_STR_EQ(c2->picks[i].customer_id, c->picks[i].customer_id);
        T_ASSERT_STR_EQ(c2->picks[i].reason, c->picks[i].reason);
        T_ASSERT_STR_EQ(c2->name[i], c->name[i]);
    }
    promo_campaign_free(c2);
    /* Written, read back, simulated. */
    char path[700];
    promo_campaign_default_path(s, "PROD00001", path, sizeof path);
    T_ASSERT_CONTAINS(path, "/out/campaign_PROD00001.csv");
    T_OK(promo_campaign_write(c, path));
    promo_campaign_file *f = NULL;
    promo_offer *o = NULL;
    T_OK(promo_campaign_read(path, &f));
    T_ASSERT_EQ_INT(promo_campaign_file_rows(f), c->n);
    T_ASSERT_EQ_INT(promo_campaign_file_contacts(f), c->n - c->n_holdout);
    T_OK(promo_campaign_file_offers(f, w, &o));
    for (size_t i = 0, k = 0; i < c->n; i++)
        if (!c->holdout[i])
            T_ASSERT_EQ_INT(o[k++].customer,
                            promo_world_customer_index(w, c->picks[i].customer_id));
    promo_sim_params sp = promo_sim_params_default();
    sp.n_draws = 5;
    promo_sim_result r;
    T_OK(promo_simulate(w, o, promo_campaign_file_contacts(f), &sp, &r));
    T_ASSERT_NEAR(r.contacts.mean, 13, 0);
    promo_free(o);
    promo_campaign_file_free(f);
    /* Bad params are refused before any work. */
    p.discount_pct = 95;
    T_ASSERT_EQ_INT(promo_campaign_select(h, &p, &c2), PROMO_EUSAGE);
    p.discount_pct = 10;
    p.product_id = NULL;
    T_ASSERT_EQ_INT(promo_campaign_select(h, &p, &c2), PROMO_EUSAGE);
    p.product_id = "NOPE";
    T_ASSERT_EQ_INT(promo_campaign_select(h, &p, &c2), PROMO_ENOTFOUND);
    T_ASSERT(c2 == NULL);
    promo_campaign_free(c);
    promo_campaign_free(NULL);
    promo_scorer_free(h);
    promo_world_free(w);
    promo_store_close(s);
}

/* A retailer whose data has no customers table (Instacart, Taobao: transactions only) still
 * gets its campaign: names and locations are empty, every pick is there. */
T_TEST(campaign_without_customers_table_leaves_name_and_location_empty)
{
    char ws[600], cmd[1400], path[700];
    char *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/nocust", t_tmpdir());
    snprintf(cmd, sizeof cmd,
             "generate --ws %s --customers 150 --products 30 --transactions 6000 --seed 7", ws);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, NULL), 0);
    promo_store *st = NULL;
    T_OK(promo_store_open(ws, 0, &st));
    T_OK(promo_store_begin(st));
    T_OK(promo_store_drop_table(st, "customers"));
    T_OK(promo_store_commit(st));
    T_ASSERT(!promo_store_has_table(st, "customers"));
    promo_store_close(st);
    snprintf(cmd, sizeof cmd,
             "train --ws %s --target product:PROD00001 --no-baselines --no-plots --rounds 20 "
             "--windows 1",
             ws);
    int rc = t_promo(cmd, NULL, &err);
    T_ASSERT_MSG(rc == 0, "train failed: %s", err);
    free(err);
    snprintf(path, sizeof path, "%s/out/nocust.csv", ws);
    snprintf(cmd, sizeof cmd, "campaign --ws %s --product PROD00001 --target 12 --out %s", ws,
             path);
    rc = t_promo(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign failed: %s", err);
    char *csv = t_read_file(path, NULL);
    T_ASSERT(csv != NULL);
    int lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    T_ASSERT_EQ_INT(lines, 13);
    /* every data row: customer_id, then two empty fields (quoted: empty, not null) */
    const char *row = strchr(csv, '\n') + 1;
    T_ASSERT(strncmp(row, "CUST", 4) == 0);
    T_ASSERT_MSG(strstr(row, ",\"\",\"\",") != NULL, "row: %.80s", row);
    free(csv);
    free(out);
    free(err);
}

/* --bundle (bundle.c) on hand-made baskets: 60 orders; X is in 13, Y in 6 of those and no
 * other, Z in 8 of them and in 30 others (lift (8/13) / (38/60) = 0.97: bought with X no more
 * than with anything), W in 4 of X's (under the 5-order floor). auto -> Y (6 of 13, lift
 * (6/13) / (6/60) = 4.6); a named product gets its own figures; X itself and an unknown id are
 * refused. */
T_TEST(campaign_bundle_auto_is_the_most_confident_partner_with_lift)
{
    char ws[600], csv[700], cmd[1800], *err = NULL;
    snprintf(ws, sizeof ws, "%s/bundle-ws", t_tmpdir());
    snprintf(csv, sizeof csv, "%s/bundle-tx.csv", t_tmpdir());
    FILE *f = fopen(csv, "w");
    T_ASSERT(f != NULL);
    fputs("order_id,customer_id,product_id,ts,quantity,unit_price\n", f);
    for (int o = 0; o < 60; o++) {
        const char *items[4] = {0};
        int n = 0;
        if (o < 13)
            items[n++] = "X";
        if (o < 6)
            items[n++] = "Y";
        if ((o >= 5 && o < 13) || o >= 30)
            items[n++] = "Z";
        if (o >= 9 && o < 13)
            items[n++] = "W";
        if (!n)
            items[n++] = "V";
        for (int k = 0; k < n; k++)
            fprintf(f, "O%02d,C%d,%s,2024-03-%02d,1,10\n", o, o % 7, items[k], 1 + o % 28);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "ingest --ws %s --table transactions %s", ws, csv);
    int rc = t_promo(cmd, NULL, &err);
    T_ASSERT_MSG(rc == 0, "ingest: %s", err);
    free(err);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_campaign_bundle b;
    T_OK(promo_campaign_bundle_choose(s, "X", "auto", 0, &b));
    T_ASSERT_STR_EQ(b.product_id, "Y");
    T_ASSERT_EQ_INT(b.orders, 13);
    T_ASSERT_EQ_INT(b.together, 6);
    T_ASSERT_NEAR(b.confidence, 6.0 / 13, 1e-12);
    T_ASSERT_NEAR(b.lift, (6.0 / 13) / (6.0 / 60), 1e-9);
    T_OK(promo_campaign_bundle_choose(s, "X", "Z", 0, &b));
    T_ASSERT_STR_EQ(b.product_id, "Z");
    T_ASSERT_EQ_INT(b.together, 8);
    T_ASSERT_NEAR(b.lift, (8.0 / 13) / (38.0 / 60), 1e-9);
    /* the cutoff: before March 7 X's orders are O00 ... O05 (days 1-6) */
    int64_t cut;
    T_ASSERT_EQ_INT(promo_time_parse_iso("2024-03-07", 10, &cut), 0);
    T_OK(promo_campaign_bundle_choose(s, "X", "auto", cut, &b));
    T_ASSERT_EQ_INT(b.orders, 6);
    T_ASSERT_EQ_INT(promo_campaign_bundle_choose(s, "X", "X", 0, &b), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_campaign_bundle_choose(s, "X", "NOPE", 0, &b), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "bundle NOPE: no such product");
    /* V is never with X: auto finds nothing for V (its orders hold nothing else) */
    T_OK(promo_campaign_bundle_choose(s, "V", "auto", 0, &b));
    T_ASSERT_STR_EQ(b.product_id, "");
    promo_store_close(s);
}

/* promo campaign --bundle writes bundle_product_id on every row and promo simulate plays it. */
T_TEST(campaign_bundle_column_is_written_and_simulated)
{
    const char *ws = trained_ws();
    char cmd[1400], path[700], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/out/bundle.csv", ws);
    snprintf(cmd, sizeof cmd,
             "campaign --ws %s --product PROD00001 --target 20 --bundle PROD00002 --out %s", ws,
             path);
    int rc = t_promo(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "campaign failed: %s", err);
    T_ASSERT_CONTAINS(out, "bundle: PROD00002");
    free(out);
    free(err);
    char *csv = t_read_file(path, NULL);
    T_ASSERT(csv != NULL);
    T_ASSERT_CONTAINS(csv, "send_hour,bundle_product_id,holdout");
    int rows = 0, bundled = 0;
    for (const char *p = strchr(csv, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        rows++;
        const char *e = strchr(p + 1, '\n');
        const char *hit = strstr(p + 1, ",PROD00002,");
        bundled += hit && (!e || hit < e);
    }
    T_ASSERT_EQ_INT(rows, 20);
    T_ASSERT_EQ_INT(bundled, 20);
    free(csv);
    snprintf(cmd, sizeof cmd, "simulate --ws %s --campaign %s --draws 20 --json", ws, path);
    rc = t_promo(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "simulate failed: %s", err);
    T_ASSERT_CONTAINS(out, "\"incremental_profit\"");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "campaign --ws %s --product PROD00001 --bundle PROD00001", ws);
    T_ASSERT_EQ_INT(t_promo(cmd, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "the offered product itself");
    free(err);
}
