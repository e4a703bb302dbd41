/* promo/table.h: typed columnar tables with null bitmaps.
 *
 * Every stage passes data as promo_table: the CSV reader produces them, the SQLite store
 * writes and reads them, features and models consume them. A column is one typed array:
 *
 *   INT64      int64_t  i64[row]
 *   FLOAT64    double   f64[row]     (NaN is a value; null is the bitmap)
 *   STRING     uint32_t codes[row]   indices into the column's own promo_dict
 *   TIMESTAMP  int64_t  i64[row]     seconds since the epoch, wall clock (timeutil.h)
 *   BOOL       uint8_t  b[row]       0 or 1
 *
 * Nulls: `nulls` is NULL while the column has none; otherwise bit r set means row r is null
 * (its value slot holds 0). Structs are public so hot loops can read the arrays directly;
 * their fields are read-only outside table.c: mutate only through the functions here.
 *
 * Usage:
 *   promo_table *t = promo_table_new("transactions");
 *   promo_column *qty;
 *   if (promo_table_add_column(t, "quantity", PROMO_COL_FLOAT64, &qty)) goto fail;
 *   promo_column_push_f64(qty, 2.0); ...; promo_table_seal(t);
 *   promo_table_free(t);
 */
#ifndef PROMO_TABLE_H
#define PROMO_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <promo/dict.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_col_type {
    PROMO_COL_INT64 = 0,
    PROMO_COL_FLOAT64 = 1,
    PROMO_COL_STRING = 2,
    PROMO_COL_TIMESTAMP = 3,
    PROMO_COL_BOOL = 4,
    PROMO_COL_TYPE_COUNT
} promo_col_type;

typedef struct promo_column {
    char *name;          /* column name, owned */
    promo_col_type type; /* element type */
    size_t n;            /* rows pushed */
    size_t cap;          /* rows allocated */
    int64_t *i64;        /* INT64 and TIMESTAMP values, else NULL */
    double *f64;         /* FLOAT64 values, else NULL */
    uint32_t *codes;     /* STRING codes into dict, else NULL */
    uint8_t *b;          /* BOOL values, else NULL */
    promo_dict *dict;    /* STRING dictionary, owned; else NULL */
    uint64_t *nulls;     /* null bitmap (bit set = null), NULL while no null was pushed */
    size_t n_null;       /* number of null rows */
} promo_column;

typedef struct promo_table {
    char *name;          /* table name, owned */
    size_t n_rows;       /* rows, set by promo_table_seal */
    size_t n_cols;       /* columns */
    promo_column **cols; /* n_cols columns, owned */
    size_t cols_cap;     /* capacity of cols */
} promo_table;

/* A static name for a type ("int64", "float64", "string", "timestamp", "bool"). */
const char *promo_col_type_name(promo_col_type t);

promo_table *promo_table_new(const char *name);
void promo_table_free(promo_table *t); /* NULL-safe */

/* Add an empty column. Fails with PROMO_EINPUT if the name exists. *out (may be NULL) is
 * borrowed: valid until the table is freed. */
int promo_table_add_column(promo_table *t,
                           const char *name,
                           promo_col_type type,
                           promo_column **out /* OUT */);
/* Column by name, or NULL. Borrowed. */
promo_column *promo_table_column(const promo_table *t, const char *name);
/* Index of a column by name, or -1. */
int promo_table_column_index(const promo_table *t, const char *name);

/* Reserve room for n rows in every column. */
int promo_table_reserve(promo_table *t, size_t n_rows);
/* Check every column has the same number of rows and set n_rows. PROMO_EINTERNAL if not. */
int promo_table_seal(promo_table *t);

/* Append one value. Each returns 0 or PROMO_ENOMEM. push_str interns s[0..n). */
int promo_column_push_i64(promo_column *c, int64_t v);
int promo_column_push_f64(promo_column *c, double v);
int promo_column_push_str(promo_column *c, const char *s, size_t n);
int promo_column_push_code(promo_column *c, uint32_t code); /* code already in c->dict */
int promo_column_push_bool(promo_column *c, int v);
int promo_column_push_null(promo_column *c);
int promo_column_reserve(promo_column *c, size_t n_rows);

static inline int promo_column_is_null(const promo_column *c, size_t row)
{
    return c->nulls && (c->nulls[row >> 6] >> (row & 63) & 1);
}
/* String value of a STRING row ("" for null). Borrowed. */
const char *promo_column_str(const promo_column *c, size_t row);
/* Any value as a number: INT64/TIMESTAMP/BOOL as double, FLOAT64 as is; NaN for null/STRING. */
double promo_column_num(const promo_column *c, size_t row);

/* Map each row of a STRING column onto the indices of another dictionary (a join key):
 * out[r] = index of c's string at r in `target`, or PROMO_DICT_NONE if absent or null.
 * out must hold c->n entries. Cost: one lookup per distinct string, not per row. */
int promo_column_map_to(const promo_column *c, const promo_dict *target, uint32_t *out /* OUT */);

/* Bulk fill (used by the generator): set the row count to n_rows, growing capacity, so
 * parallel code can write the value arrays (i64/f64/codes/b) in place at known offsets. New
 * rows are zero and not null; for a STRING column the caller must write codes that exist in
 * c->dict before sealing. Returns 0 or PROMO_ENOMEM. */
int promo_column_resize(promo_column *c, size_t n_rows);
/* Replace a STRING column's dictionary by d (ownership passes to the column; the old one is
 * freed). Codes already in the column are read against d from now on, so use it on an empty
 * column or when the codes were written for d's indices (the generator gives every customer_id
 * column a promo_dict_clone of one id dictionary instead of interning per column). */
void promo_column_set_dict(promo_column *c, promo_dict *d);
/* Mark an existing row null (its value slot is left as is). Not thread-safe. */
int promo_column_set_null(promo_column *c, size_t row);

/* Rename the table (used by ingest profiles: the CSV reader names tables after files). */
int promo_table_set_name(promo_table *t, const char *name);
/* Rename a column: PROMO_ENOTFOUND if absent, PROMO_EINPUT if new_name exists. */
int promo_table_rename_column(promo_table *t, const char *old_name, const char *new_name);
/* Remove and free a column: PROMO_ENOTFOUND if absent. Pointers to it become invalid. */
int promo_table_drop_column(promo_table *t, const char *name);

/* Deep copy of the rows where keep[r] != 0 (keep may be NULL: copy all). */
promo_table *promo_table_filter(const promo_table *t, const uint8_t *keep);

/* Called for each row `dup` whose key an earlier row `first` (the key's first occurrence)
 * already has, in row order. Return PROMO_OK to go on, anything else to stop: the search
 * then returns that value. */
typedef int (*promo_key_dup_fn)(void *ctx, size_t first, size_t dup);

/* Row r's value of key column c as 64 bits, as promo_table_find_duplicate_keys compares keys:
 * the code of a string, the bits of a float, the value of an integer, time or flag. Inline:
 * the store's key checks call it several times per row. */
static inline uint64_t promo_column_key_bits(const promo_column *c, size_t r)
{
    switch (c->type) {
    case PROMO_COL_STRING:
        return c->codes[r];
    case PROMO_COL_FLOAT64: {
        uint64_t u;
        memcpy(&u, &c->f64[r], sizeof u);
        return u;
    }
    case PROMO_COL_BOOL:
        return c->b[r];
    default:
        return (uint64_t)c->i64[r];
    }
}

/* Duplicate keys: the one check ingest (before it writes) and the store (as it writes) share.
 * A key is the tuple of values of columns key[0..n_key) (all with at least n_rows rows; key
 * values are not null: callers check required fields first). Rows r < n_skip with
 * skip[r] != 0 are ignored (skip may be NULL). STRING values compare by code, which is the
 * string's identity within a column; FLOAT64 by bit pattern.
 * Calls on_dup for every repeated key, in row order (the result does not depend on the
 * hashing); returns PROMO_OK when every key is unique or on_dup always returned PROMO_OK.
 * Keys that increase row after row (orders in file order, lines 1, 2, ...: the usual case)
 * are proven unique in one sequential pass; otherwise an open-addressing hash set of rows.
 * Errors: on_dup's status; PROMO_ENOMEM; PROMO_EUSAGE "too many rows (N)" for
 * n_rows >= 2^31. */
int promo_table_find_duplicate_keys(const promo_column *const *key,
                                    size_t n_key,
                                    size_t n_rows,
                                    const uint8_t *skip,
                                    size_t n_skip,
                                    promo_key_dup_fn on_dup,
                                    void *ctx);

/* The key of row `row` as text, for messages: "order_id='A', line=2" (strings quoted, floats
 * %g, bools 0/1), cut to fit buf[cap] (always NUL-terminated, cap > 0). */
void promo_table_key_text(
    const promo_column *const *key, size_t n_key, size_t row, char *buf /* OUT */, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
