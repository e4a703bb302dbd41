/* promo measure: treated against holdout on a hand-made workspace whose answer is known, the
 * log it appends, and the bad campaign files it refuses without touching the workspace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/error.h>
#include <promo/measure.h>
#include <promo/panel.h>
#include <promo/store.h>

#include "t.h"

/* 40 customers; send 2021-02-01; C1-C20 treated, C21-C40 holdout. In the 14-day window C1-C15
 * and C21-C25 buy P (price 10, cost 6); C16 buys it too late, C17 before the send. */
static void make_ws(char *ws, size_t n, char *camp, size_t m)
{
    const char *dir = t_tmpdir();
    char path[1200], args[4000];
    FILE *f;
    snprintf(path, sizeof path, "%s/customers.csv", dir);
    f = fopen(path, "w");
    fprintf(f, "customer_id,name\n");
    for (int c = 1; c <= 40; c++)
        fprintf(f, "C%d,Name %d\n", c, c);
    fclose(f);
    snprintf(path, sizeof path, "%s/products.csv", dir);
    f = fopen(path, "w");
    fprintf(f, "product_id,name,category,price,cost\nP,Pasta,food,10,6\nQ,Sauce,food,4,2\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/transactions.csv", dir);
    f = fopen(path, "w");
    fprintf(f, "order_id,customer_id,product_id,ts,quantity,unit_price\n");
    for (int c = 1; c <= 40; c++)
        fprintf(f, "A%d,C%d,Q,2021-01-01 10:00:00,1,4\n", c, c);
    for (int c = 1; c <= 15; c++)
        fprintf(f, "B%d,C%d,P,2021-02-05 10:00:00,1,10\n", c, c);
    for (int c = 21; c <= 25; c++)
        fprintf(f, "B%d,C%d,P,2021-02-06 10:00:00,1,10\n", c, c);
    fprintf(f, "L1,C16,P,2021-03-01 10:00:00,1,10\nE1,C17,P,2021-01-20 10:00:00,1,10\n");
    fprintf(f, "Z1,C40,Q,2021-03-10 10:00:00,1,4\n");
    fclose(f);
    snprintf(ws, n, "%s/ws", dir);
    snprintf(args, sizeof args,
             "ingest --ws %s -q %s/customers.csv %s/products.csv %s/transactions.csv", ws, dir, dir,
             dir);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(camp, m, "%s/campaign.csv", dir);
    f = fopen(camp, "w");
    fprintf(f, "customer_id,product_id,discount_pct,holdout,send_date\n");
    for (int c = 1; c <= 40; c++)
        fprintf(f, "C%d,P,10,%d,2021-02-01\n", c, c > 20);
    fclose(f);
}

T_TEST(measure_treated_against_holdout_known_answer)
{
    char ws[1100], camp[1200];
    make_ws(ws, sizeof ws, camp, sizeof camp);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_measure_params p = promo_measure_params_default();
    p.campaign_path = camp;
    p.cost_per_contact = 1;
    promo_measure m;
    T_OK(promo_measure_run(s, &p, &m));
    T_ASSERT_EQ_INT(m.treated.n, 20);
    T_ASSERT_EQ_INT(m.holdout.n, 20);
    T_ASSERT_EQ_INT(m.treated.buyers, 15);
    T_ASSERT_EQ_INT(m.holdout.buyers, 5);
    T_ASSERT_NEAR(m.diff, 0.5, 1e-12);
    T_ASSERT_NEAR(m.inc_conversions, 10, 1e-9);
    T_ASSERT_NEAR(m.inc_revenue, 100, 1e-9);
    T_ASSERT_NEAR(m.margin, 0.4, 1e-12);
    T_ASSERT_NEAR(m.discount_cost, 15, 1e-9);
    T_ASSERT_NEAR(m.contact_cost, 20, 1e-9);
    T_ASSERT_NEAR(m.inc_profit, 100 * 0.4 - 15 - 20, 1e-9);
    /* Wald: se = sqrt(.75*.25/20 + .25*.75/20) = 0.1369 */
    T_ASSERT_NEAR(m.diff_lo, 0.5 - 1.959964 * 0.136931, 1e-5);
    T_ASSERT(m.complete);
    T_ASSERT(m.inc_profit_lo < 0 && m.inc_profit_hi > 0);
    T_ASSERT_EQ_INT(m.verdict, PROMO_MEASURE_UNCLEAR);
    T_ASSERT_EQ_INT(m.logged, 0);
    /* A window of 40 days takes C16's late purchase in. */
    p.window_days = 40;
    T_OK(promo_measure_run(s, &p, &m));
    T_ASSERT_EQ_INT(m.treated.buyers, 16);
    promo_store_close(s);
}

T_TEST(measure_log_joins_the_promotion_log_once)
{
    char ws[1100], camp[1200], args[3000];
    make_ws(ws, sizeof ws, camp, sizeof camp);
    char *out = NULL;
    snprintf(args, sizeof args, "measure --ws %s --campaign %s --log --json", ws, camp);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"logged\":40");
    T_ASSERT_CONTAINS(out, "\"verdict\":\"gain\""); /* no contact cost: [+2.97, +47.03] */
    free(out);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_panel d;
    T_OK(promo_panel_load_tables(s, 1, &d));
    promo_panel_exposures e;
    T_OK(promo_panel_exposure_rows(&d, NULL, &e));
    T_ASSERT_EQ_INT(e.n, 40);
    size_t conv = 0;
    for (size_t i = 0; i < e.n; i++)
        conv += e.y[i] > 0.5f;
    T_ASSERT_EQ_INT(conv, 20);
    promo_panel_exposures_free(&e);
    promo_panel_free(&d);
    promo_store_close(s);
    /* Twice: refused, nothing changes. */
    char *before = t_dir_digest(ws), *err = NULL;
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "already in the log");
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}

T_TEST(measure_bad_campaign_files_exit_2_and_change_nothing)
{
    char ws[1100], camp[1200], args[3000], path[1300];
    make_ws(ws, sizeof ws, camp, sizeof camp);
    static const char *const bad[][2] = {
        {"customer_id,product_id,discount_pct,send_date\nC1,P,10,2021-02-01\n", "holdout"},
        {"customer_id,product_id,discount_pct,holdout,send_date\nC1,P,10,2,2021-02-01\n",
         "expected 0 or 1"},
        {"customer_id,product_id,discount_pct,holdout,send_date\nC99,P,10,1,2021-02-01\n",
         "unknown customer 'C99'"},
        {"customer_id,product_id,discount_pct,holdout,send_date\nC1,NOPE,10,1,2021-02-01\n",
         "unknown product 'NOPE'"},
        {"customer_id,product_id,discount_pct,holdout\nC1,P,10,1\n", "--sent"},
        {"customer_id,product_id,discount_pct,holdout,send_date\nC1,P,10,0,2021-02-01\n",
         "no holdout row"},
        {"customer_id,product_id,discount_pct,holdout,send_date\nC1,P,10,1,2021-02-01\n"
         "C1,P,10,0,2021-02-01\n",
         "twice"},
        {"customer_id,product_id,discount_pct,holdout,send_date\nC1,P,abc,1,2021-02-01\n",
         "discount_pct"},
    };
    char *before = t_dir_digest(ws);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(path, sizeof path, "%s/bad%zu.csv", t_tmpdir(), k);
        t_write_file(path, bad[k][0], strlen(bad[k][0]));
        snprintf(args, sizeof args, "measure --ws %s --campaign %s --log", ws, path);
        char *err = NULL;
        T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
        T_ASSERT_CONTAINS(err, bad[k][1]);
        free(err);
    }
    snprintf(args, sizeof args, "measure --ws %s --campaign %s --window 0", ws, camp);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 2);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}
