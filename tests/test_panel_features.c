/* promo_panel_load_for_features on a small generated world: the pruned load (only the columns
 * the features read) gives the same stored features and labels, byte for byte, as the full
 * load, and really reads fewer columns (every row). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/panel.h>
#include <promo/store.h>

#include "t.h"
#include "t_world.h"

static char g_ws[512];

static const char *world(void)
{
    return g_ws[0] ? g_ws : t_world_write(g_ws, sizeof g_ws, 300, 30, 4, 8, 9000);
}

/* Table t as CSV text (promo_free). */
static char *as_csv(const promo_table *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    T_ASSERT(mem != NULL);
    T_OK(promo_csv_write_stream(mem, t));
    fclose(mem);
    char *out = promo_strdup(buf);
    free(buf);
    T_ASSERT(out != NULL);
    return out;
}

/* What `promo features --as-of as_of [--label any --horizon 30]` would store, as CSV text of
 * the customers table then the products table (promo_free). */
static char *features_csv(const promo_panel *d, int64_t as_of, int label)
{
    promo_feature_params fp = promo_feature_params_default();
    fp.as_of = as_of;
    fp.n_threads = 2;
    promo_features *f = NULL;
    T_OK(promo_features_compute(&d->in, &fp, &f));
    uint8_t *y = NULL;
    if (label)
        T_OK(promo_features_labels(f, &d->in, "any", 30, &y));
    promo_table *ct = NULL, *pt = NULL;
    T_OK(promo_features_customers_table(f, y, &ct));
    T_OK(promo_features_products_table(f, d->products, &pt));
    char *a = as_csv(ct), *b = as_csv(pt);
    size_t na = strlen(a), nb = strlen(b);
    char *out = promo_malloc(na + nb + 1);
    T_ASSERT(out != NULL);
    memcpy(out, a, na);
    memcpy(out + na, b, nb + 1);
    promo_free(a);
    promo_free(b);
    promo_table_free(ct);
    promo_table_free(pt);
    promo_free(y);
    promo_features_free(f);
    return out;
}

static int64_t max_ts(const promo_table *t)
{
    const promo_column *c = promo_table_column(t, "ts");
    T_ASSERT(c != NULL);
    int64_t m = INT64_MIN;
    for (size_t r = 0; r < t->n_rows; r++)
        if (!promo_column_is_null(c, r) && c->i64[r] > m)
            m = c->i64[r];
    return m;
}

static int64_t min_ts(const promo_table *t)
{
    const promo_column *c = promo_table_column(t, "ts");
    T_ASSERT(c != NULL);
    int64_t m = INT64_MAX;
    for (size_t r = 0; r < t->n_rows; r++)
        if (!promo_column_is_null(c, r) && c->i64[r] < m)
            m = c->i64[r];
    return m;
}

T_TEST(panel_features_load_matches_the_full_load)
{
    promo_store *s = NULL;
    T_OK(promo_store_open(world(), 0, &s));
    promo_panel full, part;
    T_OK(promo_panel_load_tables(s, 2, &full));
    T_ASSERT(full.exposures && full.exposures->n_rows > 100);
    T_OK(promo_panel_load_for_features(s, 2, &part));
    /* It read less: not every column (every row). */
    T_ASSERT_EQ_INT(part.transactions->n_rows, full.transactions->n_rows);
    T_ASSERT_EQ_INT(part.exposures->n_rows, full.exposures->n_rows);
    T_ASSERT(part.transactions->n_cols < full.transactions->n_cols);
    T_ASSERT(part.exposures->n_cols < full.exposures->n_cols);
    T_ASSERT(part.responses->n_cols < full.responses->n_cols);
    T_ASSERT_EQ_INT(part.customers->n_cols, 2);
    int64_t lo = min_ts(full.transactions), hi = max_ts(full.transactions);
    for (int k = 0; k < 2; k++) {
        /* Two cutoffs at midnight, 60% and 85% of the way through the history. */
        int64_t as_of = lo + (hi - lo) / 100 * (k ? 85 : 60);
        as_of -= as_of % PROMO_PANEL_DAY;
        for (int label = 0; label < 2; label++) {
            char *a = features_csv(&full, as_of, label), *b = features_csv(&part, as_of, label);
            T_ASSERT_MSG(strcmp(a, b) == 0, "cutoff %d label %d: features differ", k, label);
            promo_free(a);
            promo_free(b);
        }
    }
    promo_panel_free(&part);
    promo_panel_free(&full);
    promo_store_close(s);
}

/* A workspace whose data has no products table (CDNOW: customers, dates and amounts only) gets
 * its products from the transactions' distinct product ids: features and training work, where
 * they used to stop at "no products table". */
T_TEST(panel_products_derived_from_transactions_without_a_catalogue)
{
    char dir[600], csv[700], cmd[2000], *out = NULL, *err = NULL;
    snprintf(dir, sizeof dir, "%s/nocat", t_tmpdir());
    snprintf(csv, sizeof csv, "%s/transactions.csv", t_tmpdir());
    FILE *f = fopen(csv, "w");
    T_ASSERT(f != NULL);
    fputs("order_id,customer_id,product_id,ts,quantity,unit_price\n", f);
    for (int k = 0; k < 300; k++)
        fprintf(f, "O%d,C%d,P%d,2024-%02d-%02d,1,%d.5\n", k, k % 40, k % 3, 1 + k % 12, 1 + k % 28,
                2 + k % 7);
    fclose(f);
    snprintf(cmd, sizeof cmd, "ingest --ws %s %s", dir, csv);
    int rc = t_promo(cmd, NULL, &err);
    T_ASSERT_MSG(rc == 0, "ingest: %s", err);
    free(err);
    promo_store *s = NULL;
    T_OK(promo_store_open(dir, 0, &s));
    T_ASSERT(!promo_store_has_table(s, "products"));
    promo_panel d;
    T_OK(promo_panel_load_tables(s, 1, &d));
    T_ASSERT(d.in.products != NULL);
    T_ASSERT_EQ_INT((long long)d.in.products->n_rows, 3);
    promo_panel_free(&d);
    promo_store_close(s);
    snprintf(cmd, sizeof cmd, "features --ws %s --as-of 2024-12-01", dir);
    rc = t_promo(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "features: %s", err);
    T_ASSERT_CONTAINS(out, "3 products");
    free(out);
    free(err);
}

/* `promo features` builds its tables on a second thread while the matrix file is staged: a
 * write that fails meanwhile (RLIMIT_FSIZE 1 KiB; SIGXFSZ is ignored, so an error) ends the
 * command with exit 1, the thread joined, and the workspace as it was (no staged temporary). */
T_TEST(panel_features_cli_failed_write_leaves_the_workspace_as_it_was)
{
    char ws[700], cmd[2200], *err = NULL;
    snprintf(ws, sizeof ws, "%s/ws-copy", t_tmpdir());
    snprintf(cmd, sizeof cmd, "cp -r %s %s", world(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    char *before = t_dir_digest(ws);
    snprintf(cmd, sizeof cmd, "ulimit -f 1; %s features --ws %s --as-of 2024-01-01", t_promo_bin(),
             ws);
    int rc = t_sh(cmd, NULL, &err);
    T_ASSERT_MSG(rc == 1, "features: %d: %s", rc, err ? err : "");
    T_ASSERT_CONTAINS(err, "File too large");
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(after);
    /* The same command without the limit stores the features (so the limit was the cause). */
    snprintf(cmd, sizeof cmd, "%s features --ws %s --as-of 2024-01-01", t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    after = t_dir_digest(ws);
    T_ASSERT(strcmp(before, after) != 0);
    free(before);
    free(after);
    snprintf(cmd, sizeof cmd, "test -s %s/models/features_customers.bin", ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
}
