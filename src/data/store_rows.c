/* The "promo_rows" virtual table: see store_rows.h for why it exists. */
#include "data/store_rows.h"

#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>

typedef struct rows_cursor {
    sqlite3_vtab_cursor base;    /* must be first */
    const store_row_source *src; /* NULL until xFilter gets one: no rows */
    size_t row;                  /* current row */
} rows_cursor;

#define SRC_COL STORE_ROWS_MAX_COLS /* the hidden column that takes the source pointer */

static int rows_connect(
    sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
    (void)aux;
    (void)argc;
    (void)argv;
    (void)err;
    char sql[16 * STORE_ROWS_MAX_COLS + 64];
    size_t at = (size_t)snprintf(sql, sizeof sql, "CREATE TABLE x(");
    for (int i = 0; i < STORE_ROWS_MAX_COLS; i++)
        at += (size_t)snprintf(sql + at, sizeof sql - at, "c%d, ", i);
    snprintf(sql + at, sizeof sql - at, "src HIDDEN)");
    int rc = sqlite3_declare_vtab(db, sql);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vtab *v = promo_calloc(1, sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    *out = v;
    return SQLITE_OK;
}

static int rows_disconnect(sqlite3_vtab *v)
{
    promo_free(v);
    return SQLITE_OK;
}

/* Only "src = ?" is a usable plan: without a source there is nothing to scan. */
static int rows_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->iColumn == SRC_COL && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
            if (!c->usable)
                return SQLITE_CONSTRAINT;
            info->aConstraintUsage[i].argvIndex = 1;
            info->aConstraintUsage[i].omit = 1;
            info->idxNum = 1;
            info->estimatedCost = 1.0;
            return SQLITE_OK;
        }
    }
    info->idxNum = 0;
    info->estimatedCost = 1e12;
    return SQLITE_OK;
}

static int rows_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    rows_cursor *c = promo_calloc(1, sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    *out = &c->base;
    return SQLITE_OK;
}

static int rows_close(sqlite3_vtab_cursor *cur)
{
    promo_free(cur);
    return SQLITE_OK;
}

static int rows_filter(
    sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv)
{
    (void)idx_str;
    rows_cursor *c = (rows_cursor *)cur;
    c->src = idx_num == 1 && argc == 1 ? sqlite3_value_pointer(argv[0], STORE_ROWS_PTR_TYPE) : NULL;
    c->row = 0;
    return SQLITE_OK;
}

static int rows_next(sqlite3_vtab_cursor *cur)
{
    rows_cursor *c = (rows_cursor *)cur;
    c->row++;
    if (c->src->prog && (c->row & 0xffff) == 0)
        promo_progress_update(c->src->prog, c->row);
    return SQLITE_OK;
}

static int rows_eof(sqlite3_vtab_cursor *cur)
{
    rows_cursor *c = (rows_cursor *)cur;
    return !c->src || c->row >= c->src->n_rows;
}

static int rows_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    rows_cursor *c = (rows_cursor *)cur;
    if (col >= SRC_COL)
        sqlite3_result_null(ctx);
    else
        c->src->value(c->src, c->row, col, ctx);
    return SQLITE_OK;
}

static int rows_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((rows_cursor *)cur)->row;
    return SQLITE_OK;
}

static const sqlite3_module rows_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous-only: usable as "promo_rows" without CREATE VIRTUAL TABLE */
    .xConnect = rows_connect,
    .xBestIndex = rows_best_index,
    .xDisconnect = rows_disconnect,
    .xDestroy = rows_disconnect,
    .xOpen = rows_open,
    .xClose = rows_close,
    .xFilter = rows_filter,
    .xNext = rows_next,
    .xEof = rows_eof,
    .xColumn = rows_column,
    .xRowid = rows_rowid,
};

int store_rows_register(sqlite3 *db)
{
    return sqlite3_create_module_v2(db, "promo_rows", &rows_module, NULL, NULL);
}
