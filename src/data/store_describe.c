/* promo_store_describe: what a stored table holds, in SQL, without loading it (promo info).
 *
 * Per table: the statistics written with it when there are (chunked tables: per chunk, chunk.c;
 * tables stored as rows: promo_stats, store_write.c), so that info answers at once on any size;
 * else (a workspace written before them, a table changed by other means) one scan for
 * count(*), count(column) per column and the min/max of the first timestamp column. Tables promo
 * wrote are views joining the dictionaries back onto promo_data__T (store.h); counts, nulls and
 * ranges are the same on the codes and far cheaper there, so the scan reads the data table. A
 * distinct count of a dictionary-encoded column counts its dictionary table, which holds exactly
 * the values the rows use (store_write.c): that replaces a DISTINCT over every row, most of the
 * time on millions of orders.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/store.h>

#include "data/store_internal.h"

void promo_store_table_info_free(promo_store_table_info *ti)
{
    if (!ti)
        return;
    for (size_t j = 0; j < ti->n_cols; j++)
        promo_free(ti->cols[j].name);
    promo_free(ti->cols);
    promo_free(ti->name);
    promo_free(ti);
}

/* The first column of the single row of b->s as an integer (NULL reads as 0); *is_null
 * (may be NULL) says whether it was NULL. */
static int query_i64(promo_store *s, const sbuf *b, const char *what, int64_t *out, int *is_null)
{
    if (b->failed)
        return PROMO_ENOMEM;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, b->s, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, what);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        if (is_null)
            *is_null = sqlite3_column_type(st, 0) == SQLITE_NULL;
        rc = PROMO_OK;
    } else {
        rc = store_db_fail(s, rc, what);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The dictionary table of column `column` of `table`, or NULL (not a dictionary-encoded
 * column, or a workspace without promo_columns). Owned by the caller. */
static char *dict_of(promo_store *s, const char *table, const char *column)
{
    sqlite3_stmt *st = NULL;
    char *dict = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT dict FROM promo_columns WHERE table_name=?1 AND column_name=?2 "
                           "AND dict IS NOT NULL",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            dict = promo_strdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return dict;
}

/* Distinct non-null values of `column` (rows in `source`). */
static int distinct_count(
    promo_store *s, const char *table, const char *source, const char *column, int64_t *out)
{
    sbuf b = {0};
    char *dict = dict_of(s, table, column);
    if (dict) {
        store_sb_add(&b, "SELECT count(*) FROM ");
        store_sb_ident(&b, dict);
    } else {
        store_sb_add(&b, "SELECT count(*) FROM (SELECT DISTINCT ");
        store_sb_ident(&b, column);
        store_sb_add(&b, " FROM ");
        store_sb_ident(&b, source);
        store_sb_add(&b, " WHERE ");
        store_sb_ident(&b, column);
        store_sb_add(&b, " IS NOT NULL)");
    }
    int rc = query_i64(s, &b, "distinct counts", out, NULL);
    promo_free(dict);
    promo_free(b.s);
    return rc;
}

/* Columns and their promo types: from promo_columns for tables promo wrote, else from the
 * declared SQL types. */
static int list_columns(promo_store *s, const char *name, promo_store_table_info *ti)
{
    sqlite3_stmt *st = NULL;
    const char *q = "SELECT c.name, coalesce(p.type, CASE upper(c.type) WHEN 'INTEGER' THEN "
                    "'int64' WHEN 'REAL' THEN 'float64' ELSE 'string' END) FROM "
                    "pragma_table_info(?1) c LEFT JOIN promo_columns p ON p.table_name=?1 AND "
                    "p.column_name=c.name ORDER BY c.cid";
    int rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "columns");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    size_t cap = 0;
    rc = PROMO_OK;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (promo_grow((void **)&ti->cols, &cap, ti->n_cols + 1, sizeof *ti->cols)) {
            rc = PROMO_ENOMEM;
            break;
        }
        promo_store_column_info *c = &ti->cols[ti->n_cols];
        memset(c, 0, sizeof *c);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        if (!type || store_type_from_name(type, &c->type))
            c->type = PROMO_COL_STRING;
        if (!(c->name = promo_strdup((const char *)sqlite3_column_text(st, 0))))
            rc = PROMO_ENOMEM;
        else if (ti->date_col < 0 && c->type == PROMO_COL_TIMESTAMP)
            ti->date_col = (int)ti->n_cols;
        ti->n_cols += c->name != NULL;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Rows, nulls per column and the date range, in one scan of `source`. */
static int scan_counts(promo_store *s, const char *source, promo_store_table_info *ti)
{
    sbuf b = {0};
    store_sb_add(&b, "SELECT count(*)");
    for (size_t j = 0; j < ti->n_cols; j++) {
        store_sb_add(&b, ", count(");
        store_sb_ident(&b, ti->cols[j].name);
        store_sb_add(&b, ")");
    }
    for (int k = 0; ti->date_col >= 0 && k < 2; k++) {
        store_sb_add(&b, k ? ", max(" : ", min(");
        store_sb_ident(&b, ti->cols[ti->date_col].name);
        store_sb_add(&b, ")");
    }
    store_sb_add(&b, " FROM ");
    store_sb_ident(&b, source);
    sqlite3_stmt *st = NULL;
    int rc = store_sb_prepare(s, &b, "count", &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int n = (int)ti->n_cols;
        ti->n_rows = sqlite3_column_int64(st, 0);
        for (int j = 0; j < n; j++)
            ti->cols[j].n_null = ti->n_rows - sqlite3_column_int64(st, j + 1);
        if (ti->date_col >= 0 && sqlite3_column_type(st, n + 1) != SQLITE_NULL) {
            ti->has_date_range = 1;
            ti->date_min = sqlite3_column_int64(st, n + 1);
            ti->date_max = sqlite3_column_int64(st, n + 2);
        }
        rc = PROMO_OK;
    } else {
        rc = store_db_fail(s, rc, "count");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The transactions' figures: returns, rows without a customer, distinct ids. */
static int transactions_figures(promo_store *s,
                                const char *name,
                                const char *source,
                                promo_store_table_info *ti)
{
    sbuf b = {0};
    store_sb_add(&b, "SELECT count(*) FROM ");
    store_sb_ident(&b, source);
    store_sb_add(&b, " WHERE quantity < 0");
    int rc = query_i64(s, &b, "transactions figures", &ti->n_returns, NULL);
    promo_free(b.s);
    if (rc)
        return rc;
    b = (sbuf){0};
    store_sb_add(&b, "SELECT count(*) FROM ");
    store_sb_ident(&b, source);
    store_sb_add(&b, " WHERE customer_id IS NULL");
    rc = query_i64(s, &b, "transactions figures", &ti->n_without_customer, NULL);
    promo_free(b.s);
    if (!rc)
        rc = distinct_count(s, name, source, "customer_id", &ti->n_customers);
    if (!rc)
        rc = distinct_count(s, name, source, "product_id", &ti->n_products);
    if (!rc)
        rc = distinct_count(s, name, source, "order_id", &ti->n_orders);
    return rc;
}

static int col_index(const promo_store_table_info *ti, const char *name)
{
    for (size_t j = 0; j < ti->n_cols; j++)
        if (!strcmp(ti->cols[j].name, name))
            return (int)j;
    return -1;
}

/* A chunked table: every figure is in the statistics stored with its chunks (chunk.c), so
 * this reads a few hundred small rows whatever the table's size. Columns are in position
 * order (the view's), which is the chunks' column numbering. */
static int chunked_figures(promo_store *s, const char *name, promo_store_table_info *ti)
{
    int64_t *nn = promo_calloc(ti->n_cols ? ti->n_cols : 1, sizeof *nn);
    if (!nn)
        return PROMO_ENOMEM;
    int is_tx = strcmp(name, "transactions") == 0;
    int q = is_tx ? col_index(ti, "quantity") : -1;
    int has_mm = 0;
    int64_t mn = 0, mx = 0;
    int rc = chunk_stats(s, name, ti->n_cols, &ti->n_rows, nn, ti->date_col, &has_mm, &mn, &mx, q,
                         &ti->n_returns);
    for (size_t j = 0; !rc && j < ti->n_cols; j++)
        ti->cols[j].n_null = nn[j];
    if (!rc && ti->date_col >= 0 && has_mm) {
        ti->has_date_range = 1;
        ti->date_min = mn;
        ti->date_max = mx;
    }
    if (!rc && is_tx) {
        ti->is_transactions = 1;
        const char *ids[] = {"customer_id", "product_id", "order_id"};
        int64_t *dst[] = {&ti->n_customers, &ti->n_products, &ti->n_orders};
        int c = col_index(ti, "customer_id");
        ti->n_without_customer = c >= 0 ? nn[c] : 0;
        for (int k = 0; k < 3 && !rc; k++) {
            int j = col_index(ti, ids[k]);
            *dst[k] = 0;
            if (j >= 0)
                rc = chunk_dict_size(s, name, (size_t)j, dst[k]);
        }
    }
    promo_free(nn);
    return rc;
}

/* A table stored as rows whose statistics were written with it (store_write.c): every
 * figure from promo_stats, a few rows whatever the table's size. 1 if they were used; 0 when
 * there are none, or they do not match the table (rows added or removed by other means than
 * promo: its data table's largest rowid is not the row count), and the caller scans. */
static int stored_figures(promo_store *s, const char *source, promo_store_table_info *ti, int *used)
{
    *used = 0;
    if (!store_has_object(s, STATS_TABLE, 0) || strncmp(source, DATA_PREFIX, strlen(DATA_PREFIX)))
        return PROMO_OK;
    sqlite3_stmt *st = NULL;
    const char *q = "SELECT column_name, n_rows, n_null, min_v, max_v FROM " STATS_TABLE
                    " WHERE table_name = ?";
    int rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "table statistics");
    sqlite3_bind_text(st, 1, ti->name, -1, SQLITE_STATIC);
    size_t seen = 0;
    int64_t rows = -1;
    int ok = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *col = (const char *)sqlite3_column_text(st, 0);
        int j = col ? col_index(ti, col) : -1;
        int64_t r = sqlite3_column_int64(st, 1);
        if (j < 0 || (rows >= 0 && r != rows)) {
            ok = 0;
            continue;
        }
        rows = r;
        seen++;
        ti->cols[j].n_null = sqlite3_column_int64(st, 2);
        if (j == ti->date_col && sqlite3_column_type(st, 3) != SQLITE_NULL) {
            ti->has_date_range = 1;
            ti->date_min = sqlite3_column_int64(st, 3);
            ti->date_max = sqlite3_column_int64(st, 4);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_db_fail(s, rc, "table statistics");
    if (!ok || seen != ti->n_cols || rows < 0)
        goto stale;
    /* rows come in with rowids 1..n (a fresh table): a cheap check that nobody changed them */
    sbuf b = {0};
    int64_t max_rowid = 0;
    store_sb_add(&b, "SELECT coalesce(max(rowid), 0) FROM ");
    store_sb_ident(&b, source);
    rc = query_i64(s, &b, "table statistics", &max_rowid, NULL);
    promo_free(b.s);
    if (rc)
        return rc;
    if (max_rowid != rows)
        goto stale;
    ti->n_rows = rows;
    *used = 1;
    return PROMO_OK;
stale:
    for (size_t j = 0; j < ti->n_cols; j++)
        ti->cols[j].n_null = 0;
    ti->has_date_range = 0;
    return PROMO_OK;
}

int promo_store_describe(promo_store *s, const char *name, promo_store_table_info **out)
{
    *out = NULL;
    if (!promo_store_has_table(s, name))
        return promo_fail(PROMO_ENOTFOUND, "workspace %s has no table '%s'", s->ws_dir, name);
    promo_store_table_info *ti = promo_calloc(1, sizeof *ti);
    sbuf src = {0};
    int rc = PROMO_ENOMEM;
    if (!ti || !(ti->name = promo_strdup(name)))
        goto done;
    ti->date_col = -1;
    /* The rows: promo_data__T for a table promo wrote, else the table itself. */
    store_sb_add(&src, DATA_PREFIX "%s", name);
    if (src.failed)
        goto done;
    if (!store_has_object(s, src.s, 0)) {
        src.n = 0;
        store_sb_add(&src, "%s", name);
        if (src.failed)
            goto done;
    }
    if (store_is_chunked(s, name)) {
        if (!(rc = list_columns(s, name, ti)))
            rc = chunked_figures(s, name, ti);
        goto done;
    }
    if ((rc = list_columns(s, name, ti)))
        goto done;
    /* the transactions' own figures (returns, distinct ids) need the rows in this layout */
    int used = 0;
    if (strcmp(name, "transactions") && (rc = stored_figures(s, src.s, ti, &used)))
        goto done;
    if (!used && (rc = scan_counts(s, src.s, ti)))
        goto done;
    if (strcmp(name, "transactions") == 0) {
        ti->is_transactions = 1;
        rc = transactions_figures(s, name, src.s, ti);
    }
done:
    promo_free(src.s);
    if (rc) {
        promo_store_table_info_free(ti);
        return rc;
    }
    *out = ti;
    return PROMO_OK;
}
