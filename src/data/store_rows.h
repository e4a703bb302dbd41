/* store_rows.h (internal to src/data/store*.c): a read-only, eponymous SQLite virtual table
 * "promo_rows" that yields the rows of a C row source, so a bulk load is one statement,
 *
 *   INSERT INTO t SELECT c0, c1, ... FROM promo_rows WHERE src = ?1   (?1 = the source)
 *
 * instead of one sqlite3_step per row: the statement opens its write cursor once and
 * appends, where a prepared INSERT re-opens the cursor, seeks to the end of the table and
 * halts the VM for every row. The source is passed with sqlite3_bind_pointer (type
 * STORE_ROWS_PTR_TYPE), so SQL text alone cannot reach C memory.
 */
#ifndef PROMO_STORE_ROWS_H
#define PROMO_STORE_ROWS_H

#include <sqlite3.h>
#include <stddef.h>

#include <promo/log.h>

#define STORE_ROWS_MAX_COLS 64 /* columns c0..c63; wider tables use a prepared INSERT */
#define STORE_ROWS_PTR_TYPE "promo_row_source"

typedef struct store_row_source store_row_source;
struct store_row_source {
    size_t n_rows; /* rows 0 .. n_rows-1 */
    /* Set the value of column `col` (< STORE_ROWS_MAX_COLS) of row `row` with sqlite3_result_*. */
    void (*value)(const store_row_source *src, size_t row, int col, sqlite3_context *ctx);
    const void *arg;      /* for value() */
    promo_progress *prog; /* updated every 64k rows, or NULL */
};

/* Register the module on a connection. SQLite status. */
int store_rows_register(sqlite3 *db);

#endif
