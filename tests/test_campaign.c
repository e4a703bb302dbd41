/* CLI tests of `promo campaign` and `promo demo`: the top-N campaign file is what `promo
 * simulate` reads, bad options exit 2, a workspace without a model is a clear error. */
#include <stdlib.h>

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
                         "send_day,send_hour\n";
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
    free(out);
    free(err);
}
