/* The forecaster's reads of the transactions (promo/forecast.h, "Honest terms"): its windows of
 * the recent sales are, with stored features, the only reads of the transactions, so a damaged
 * chunk there must fail the command with the store's message, not silently drop a correction. */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>

#include "t.h"
#include "t_world.h"

/* The day after the last transaction, as promo features --as-of takes it. */
static void cutoff_date(const char *ws, char *out, size_t n)
{
    static const char *const cols[] = {"ts"};
    promo_store *s = NULL;
    promo_table *t = NULL;
    if (promo_store_open(ws, 0, &s) || promo_store_read_columns(s, "transactions", cols, 1, &t)) {
        t_fail_at(__FILE__, __LINE__, "cutoff: %s", promo_last_error());
    }
    int64_t max = INT64_MIN;
    for (size_t r = 0; r < t->n_rows; r++)
        max = t->cols[0]->i64[r] > max ? t->cols[0]->i64[r] : max;
    promo_table_free(t);
    promo_store_close(s);
    promo_time_format((max / PROMO_SECONDS_PER_DAY + 1) * PROMO_SECONDS_PER_DAY, 1, out, n);
}

/* What a failed command must leave as it was: promo.db's bytes, then the names in out/ and
 * models/ (new, free). */
static char *snapshot(const char *ws, size_t *n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/promo.db", ws);
    size_t nb = 0;
    char *db = t_read_file(path, &nb);
    if (!db)
        return NULL;
    size_t cap = nb + 1;
    static const char *const dirs[] = {"out", "models"};
    for (size_t k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", ws, dirs[k]);
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            size_t len = strlen(e->d_name) + 1;
            if (nb + len > cap) {
                cap = 2 * (nb + len);
                db = realloc(db, cap);
            }
            memcpy(db + nb, e->d_name, len);
            nb += len;
        }
        if (d)
            closedir(d);
    }
    *n = nb;
    return db;
}

T_TEST(forecast_damaged_transactions_chunk_fails_campaign_and_compare)
{
    char ws[1024], args[2400], date[40], out_csv[1200];
    t_world_write(ws, sizeof ws, 300, 40, 5, 10, 15000);
    snprintf(args, sizeof args, "train --ws %s --model uplift --rounds 30 --threads 1 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    cutoff_date(ws, date, sizeof date);
    snprintf(args, sizeof args, "features --ws %s --as-of %s -q", ws, date);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(out_csv, sizeof out_csv, "%s/damaged-campaign.csv", t_tmpdir());
    /* Before the damage: the campaign runs, and its features are the stored ones, so the
     * forecaster's windows are its only reads of the transactions (no send time or fatigue:
     * their profiles would read the whole table). */
    char *err = NULL;
    snprintf(args, sizeof args,
             "campaign --ws %s --product PROD00001 --optimize --send-time fixed --fatigue off "
             "--holdout 0 --out %s -v",
             ws, out_csv);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 0);
    T_ASSERT_CONTAINS(err, "the stored features of the cutoff");
    free(err);
    remove(out_csv);
    /* A damaged chunk of product_id (column 3: every window reads it) in the last chunk, the
     * one that holds the recent sales */
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    sqlite3 *db = promo_store_db(s);
    T_ASSERT_EQ_INT(sqlite3_exec(db,
                                 "UPDATE promo_chunks__transactions SET data = X'58' || "
                                 "substr(data, 2) WHERE id = (SELECT max(id) FROM "
                                 "promo_chunks__transactions WHERE id >= 0) / 4096 * 4096 + 3",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_changes(db), 1);
    promo_store_close(s);
    size_t n0 = 0, n1 = 0;
    char *before = snapshot(ws, &n0);
    T_ASSERT(before != NULL);
    static const char *const cmds[] = {
        "campaign --ws %s --product PROD00001 --optimize --send-time fixed --fatigue off "
        "--holdout 0 --out %s",
        "campaign --ws %s --product PROD00001 --optimize --holdout 0 --out %s",
        "compare --ws %s --product PROD00001 --draws 5 --no-chart --optimized-out %s",
    };
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
        snprintf(args, sizeof args, cmds[k], ws, out_csv);
        err = NULL;
        int rc = t_promo(args, NULL, &err);
        T_ASSERT_MSG(rc != 0, "%s: exit 0 on a damaged chunk", args);
        T_ASSERT_CONTAINS(err, "table 'transactions'");
        T_ASSERT_CONTAINS(err, "a column chunk is damaged");
        free(err);
        struct stat st;
        T_ASSERT_MSG(stat(out_csv, &st) != 0, "%s: wrote %s", args, out_csv);
        char *after = snapshot(ws, &n1);
        T_ASSERT(after && n1 == n0 && !memcmp(before, after, n0));
        free(after);
    }
    free(before);
}
