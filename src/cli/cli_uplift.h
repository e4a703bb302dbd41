/* src/cli/cli_uplift.h: the workspace uplift commands and branches (cmd_train_uplift.c,
 * cmd_uplift_ws.c): `promo train --model uplift`, and the --model uplift / --rank-by uplift
 * branches of promo score, explain and campaign. */
#ifndef PROMO_CLI_UPLIFT_H
#define PROMO_CLI_UPLIFT_H

#include <stddef.h>
#include <stdint.h>

/* 1 if argv holds "--model uplift" or "--model=uplift" (cmd_train routes on it before its own
 * option table, which does not know the uplift options). */
int cli_wants_uplift(int argc, char **argv);

/* promo train --model uplift: parses its own options. */
int cmd_train_uplift(int argc, char **argv);

/* promo evaluate's uplift part: the stored evaluation of the workspace's uplift model
 * (report_uplift.h), printed as promo train --model uplift prints it (--json alike). Returns
 * the exit code; with quiet_if_none, -1 (nothing printed) when there is none. */
int cli_evaluate_uplift(const char *ws, int json, int quiet_if_none);

/* promo score --model uplift: every customer's effects as of as_of (0 = default) for target,
 * as CSV to out (NULL = stdout) or JSON. Returns the exit code. */
int cli_score_uplift(const char *ws, const char *target, int64_t as_of, const char *out, int json);

/* promo explain --model uplift: why this customer is expected to respond. */
int cli_explain_uplift(
    const char *ws, const char *customer, const char *target, int64_t as_of, int top, int json);

/* promo campaign --rank-by uplift|profit: the top n by predicted effect (or, by_profit, by
 * expected incremental profit, positive only), written to out_path (NULL =
 * DIR/out/campaign_<product>_uplift.csv). */
int cli_campaign_uplift(const char *ws,
                        const char *product,
                        double discount_pct,
                        size_t n_target,
                        int64_t as_of,
                        int send_day,
                        int send_hour,
                        int by_profit,
                        const char *out_path);

#endif
