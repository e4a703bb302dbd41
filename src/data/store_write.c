/* Writing tables into the workspace store (promo_store_write_table, promo_store_drop_table):
 * the dictionary-encoded layout, the bulk load through promo_rows and the key check. How
 * and why: the top of store.c. */
#include <math.h>
#include <omp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/store.h>

#include "data/store_internal.h"
#include "data/store_rows.h"

static int untrack_table(promo_store *s, const char *name);

static const char *sql_type(promo_col_type t)
{
    /* STRING columns hold dictionary codes in the data table. */
    return t == PROMO_COL_FLOAT64 ? "REAL" : "INTEGER";
}

/* One output column: where its values come from and what it is. */
typedef struct out_col {
    const char *name;         /* SQL column name */
    promo_col_type type;      /* promo type */
    const promo_column *src;  /* source column, or NULL (all null) */
    const promo_field *field; /* canonical field, or NULL */
    char *dict;               /* STRING: name of its dictionary table (owned) */
    uint32_t *remap;          /* STRING: source code -> stored code, NULL = identity (owned) */
    uint32_t stored_before;   /* append: entries the stored dictionary had before (STRING) */
    const float *x32;         /* a matrix column (promo_store_write_table_matrix), src NULL */
    size_t x_stride;
} out_col;

static void free_plan(out_col *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        promo_free(c[i].dict);
        promo_free(c[i].remap);
    }
    promo_free(c);
}

static int plan_columns(const promo_table *t, const promo_schema *sc, out_col **out, size_t *n)
{
    size_t cap = t->n_cols + (sc ? sc->n_fields : 0);
    out_col *c = promo_calloc(cap ? cap : 1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    size_t k = 0;
    if (sc) {
        for (size_t i = 0; i < sc->n_fields; i++) {
            const promo_field *f = &sc->fields[i];
            const promo_column *src = promo_table_column(t, f->name);
            if (src && src->type != f->type) {
                promo_free(c);
                return promo_fail(
                    PROMO_EUSAGE, "table '%s': column '%s' is %s, the canonical type is %s",
                    t->name, f->name, promo_col_type_name(src->type), promo_col_type_name(f->type));
            }
            if (f->required && (!src || src->n_null > 0)) {
                promo_free(c);
                if (!src)
                    return promo_fail(PROMO_EINPUT, "table '%s': required column '%s' is missing",
                                      t->name, f->name);
                return promo_fail(PROMO_EINPUT, "table '%s': required column '%s' has %zu nulls",
                                  t->name, f->name, src->n_null);
            }
            c[k++] = (out_col){f->name, f->type, src, f, NULL, NULL, 0, NULL, 0};
        }
    }
    for (size_t j = 0; j < t->n_cols; j++) {
        const promo_column *src = t->cols[j];
        if (sc && promo_schema_field(sc, src->name))
            continue;
        c[k++] = (out_col){src->name, src->type, src, NULL, NULL, NULL, 0, NULL, 0};
    }
    *out = c;
    *n = k;
    return PROMO_OK;
}

/* Run `sql` with ?1 bound to `name`, calling fn(s, text of column 0, arg) for each row. */
static int each_row(promo_store *s,
                    const char *sql,
                    const char *name,
                    int (*fn)(promo_store *, const char *, void *),
                    void *arg)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, sql);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    /* Collect first: the callback may change the schema, which would reset the cursor. */
    char **vals = NULL;
    size_t n = 0, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (promo_grow((void **)&vals, &cap, n + 1, sizeof *vals) ||
            !(vals[n] = promo_strdup(v ? v : ""))) {
            rc = PROMO_ENOMEM;
            break;
        }
        n++;
    }
    rc = rc == SQLITE_DONE ? PROMO_OK : rc == PROMO_ENOMEM ? rc : store_db_fail(s, rc, sql);
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = fn(s, vals[i], arg);
        promo_free(vals[i]);
    }
    promo_free(vals);
    return rc;
}

static int drop_named(promo_store *s, const char *name, void *what)
{
    sbuf b = {0};
    store_sb_add(&b, "DROP %s IF EXISTS ", (const char *)what);
    store_sb_ident(&b, name);
    int rc = b.failed ? PROMO_ENOMEM : store_exec(s, b.s);
    promo_free(b.s);
    return rc;
}

/* Remove table `name` in every form: view + data table + dictionaries, or a plain table. */
int store_drop_table(promo_store *s, const char *name)
{
    int rc = each_row(s, "SELECT dict FROM promo_columns WHERE table_name=?1 AND dict IS NOT NULL",
                      name, drop_named, "TABLE");
    if (!rc)
        rc = each_row(s, "SELECT name FROM sqlite_master WHERE name=?1 AND type='view'", name,
                      drop_named, "VIEW");
    if (!rc)
        rc = each_row(s, "SELECT name FROM sqlite_master WHERE name=?1 AND type='table'", name,
                      drop_named, "TABLE");
    sbuf b = {0};
    store_sb_add(&b, DATA_PREFIX "%s", name);
    if (!rc)
        rc = b.failed ? PROMO_ENOMEM : drop_named(s, b.s, "TABLE");
    b.n = 0;
    store_sb_add(&b, CHUNK_PREFIX "%s", name);
    if (!rc)
        rc = b.failed ? PROMO_ENOMEM : drop_named(s, b.s, "TABLE");
    promo_free(b.s);
    if (!rc && store_has_object(s, STATS_TABLE, 0)) {
        sqlite3_stmt *ds = NULL;
        const char *dq = "DELETE FROM " STATS_TABLE " WHERE table_name=?";
        if ((rc = sqlite3_prepare_v2(s->db, dq, -1, &ds, NULL)) != SQLITE_OK)
            return store_db_fail(s, rc, dq);
        sqlite3_bind_text(ds, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(ds);
        sqlite3_finalize(ds);
        rc = rc == SQLITE_DONE ? PROMO_OK : store_db_fail(s, rc, dq);
    }
    sqlite3_stmt *st = NULL;
    const char *del = "DELETE FROM promo_columns WHERE table_name=?";
    if (!rc && (rc = sqlite3_prepare_v2(s->db, del, -1, &st, NULL)) != SQLITE_OK)
        return store_db_fail(s, rc, del);
    if (!rc) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        rc = rc == SQLITE_DONE ? PROMO_OK : store_db_fail(s, rc, del);
    }
    return rc;
}

int promo_store_drop_table(promo_store *s, const char *name)
{
    if (store_reserved_name(name))
        return promo_fail(PROMO_EUSAGE, "table name '%s' is reserved", name);
    int own_txn = !s->in_txn;
    int rc = own_txn ? promo_store_begin(s) : PROMO_OK;
    if (rc)
        return rc;
    if (promo_store_has_table(s, name)) {
        if (promo_schema_find(name))
            store_note_data_change(s);
        rc = untrack_table(s, name);
    }
    if (!rc)
        rc = store_drop_table(s, name);
    if (own_txn)
        rc = rc ? (promo_store_rollback(s), rc) : promo_store_commit(s);
    return rc;
}

/* Pick the dictionary table name of column i: "promo_dict__T__C", or with "__<i>" appended
 * while that name is taken (T = "a__b", C = "c" and T = "a", C = "b__c" would collide). */
static int dict_name(promo_store *s, const char *table, const out_col *c, size_t i, char **out)
{
    sbuf b = {0};
    store_sb_add(&b, DICT_PREFIX "%s__%s", table, c->name);
    while (!b.failed && store_has_object(s, b.s, 1))
        store_sb_add(&b, "__%zu", i);
    if (b.failed) {
        promo_free(b.s);
        return PROMO_ENOMEM;
    }
    *out = b.s;
    return PROMO_OK;
}

/* INSERT INTO `into` (quoted) SELECT c0..c{n-1} FROM promo_rows: one statement for all
 * rows of src (store_rows.h). */
static int bulk_insert(promo_store *s, const char *into, int n_cols, const store_row_source *src)
{
    sbuf b = {0};
    store_sb_add(&b, "INSERT INTO %s SELECT ", into);
    for (int i = 0; i < n_cols; i++)
        store_sb_add(&b, i ? ", c%d" : "c%d", i);
    store_sb_add(&b, " FROM promo_rows WHERE src = ?1");
    sqlite3_stmt *st = NULL;
    int rc = store_sb_prepare(s, &b, "prepare bulk insert", &st);
    if (rc)
        return rc;
    sqlite3_bind_pointer(st, 1, (void *)src, STORE_ROWS_PTR_TYPE, NULL);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? PROMO_OK : store_db_fail(s, rc, "insert");
    sqlite3_finalize(st);
    return rc;
}

/* A dictionary as a row source: (stored code, value) for each used entry. */
typedef struct dict_rows {
    const promo_dict *d;
    const uint32_t *entry; /* stored code k -> source code, NULL = identity */
} dict_rows;

static void dict_value(const store_row_source *src, size_t row, int col, sqlite3_context *ctx)
{
    const dict_rows *dr = src->arg;
    if (col == 0) {
        sqlite3_result_int64(ctx, (sqlite3_int64)row);
        return;
    }
    uint32_t code = dr->entry ? dr->entry[row] : (uint32_t)row;
    /* The dictionary outlives the statement: no copy. */
    sqlite3_result_text(ctx, promo_dict_key(dr->d, code), (int)promo_dict_key_len(dr->d, code),
                        SQLITE_STATIC);
}

/* Codes of a STRING column as stored: the dictionary entries that rows use, renumbered
 * densely in dictionary order (unused entries, e.g. left by a filter, are not stored, so a
 * dictionary table holds exactly the distinct values). Sets c->remap unless every entry is
 * used (the usual case: then stored codes = in-memory codes). */
static int plan_codes(out_col *c, const promo_table *t)
{
    const promo_column *src = c->src;
    if (!src)
        return PROMO_OK;
    uint32_t nd = promo_dict_size(src->dict);
    uint32_t *map = promo_calloc(nd ? nd : 1, sizeof *map);
    if (!map)
        return PROMO_ENOMEM;
    /* nulls hold code 0 but are not uses. Once every entry is seen the rest cannot change the
     * map (a column of 10 stores stops after a few rows). */
    uint32_t seen = 0;
    for (size_t r = 0; r < t->n_rows && seen < nd; r++) {
        if (promo_column_is_null(src, r))
            continue;
        uint32_t *m = &map[src->codes[r]];
        seen += !*m;
        *m = 1;
    }
    uint32_t k = 0;
    for (uint32_t d = 0; d < nd; d++)
        map[d] = map[d] ? k++ : PROMO_DICT_NONE;
    if (k == nd)
        promo_free(map);
    else
        c->remap = map;
    return PROMO_OK;
}

/* stored code -> source code for the used entries of c (NULL: identity), and their count */
static int dict_entries(const out_col *c, uint32_t **entry, uint32_t *n_stored)
{
    const promo_dict *d = c->src ? c->src->dict : NULL;
    uint32_t nd = d ? promo_dict_size(d) : 0;
    *entry = NULL;
    *n_stored = nd;
    if (!c->remap)
        return PROMO_OK;
    if (!(*entry = promo_mallocn(nd ? nd : 1, sizeof **entry)))
        return PROMO_ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < nd; i++)
        if (c->remap[i] != PROMO_DICT_NONE)
            (*entry)[k++] = i;
    *n_stored = k;
    return PROMO_OK;
}

/* A chunked table's dictionary: chunks of entries, seen from SQL as a virtual table under
 * the dictionary's name (chunk_vtab.c). */
static int write_chunked_dict(promo_store *s, const char *table, out_col *c, size_t i)
{
    sbuf b = {0};
    store_sb_add(&b, "CREATE VIRTUAL TABLE ");
    store_sb_ident(&b, c->dict);
    store_sb_add(&b, " USING " CHUNK_MODULE "('");
    for (const char *p = table; *p; p++)
        store_sb_add(&b, *p == '\'' ? "''" : "%c", *p);
    store_sb_add(&b, "', dict, %zu)", i);
    int rc = b.failed ? PROMO_ENOMEM : store_exec(s, b.s);
    promo_free(b.s);
    uint32_t *entry = NULL, n = 0;
    if (!rc)
        rc = dict_entries(c, &entry, &n);
    if (!rc && n)
        rc = chunk_write_dict(s, table, i, c->src->dict, entry, n, 0);
    promo_free(entry);
    return rc;
}

/* The data table of a chunked table: a virtual table over its chunks, with the row layout's
 * column names and SQL types. */
static int create_chunked_data(promo_store *s, const char *table, const out_col *c, size_t n)
{
    sbuf b = {0};
    store_sb_add(&b, "CREATE VIRTUAL TABLE ");
    store_sb_data_ident(&b, table);
    store_sb_add(&b, " USING " CHUNK_MODULE "('");
    for (const char *p = table; *p; p++)
        store_sb_add(&b, *p == '\'' ? "''" : "%c", *p);
    store_sb_add(&b, "'");
    for (size_t i = 0; i < n; i++) {
        store_sb_add(&b, ", ");
        store_sb_ident(&b, c[i].name);
        store_sb_add(&b, " %s", sql_type(c[i].type));
    }
    store_sb_add(&b, ")");
    int rc = b.failed ? PROMO_ENOMEM : store_exec(s, b.s);
    promo_free(b.s);
    return rc;
}

static int write_dict(promo_store *s, out_col *c)
{
    sbuf b = {0};
    int rc;
    store_sb_add(&b, "CREATE TABLE ");
    store_sb_ident(&b, c->dict);
    store_sb_add(&b, " (code INTEGER PRIMARY KEY, value TEXT NOT NULL)");
    rc = b.failed ? PROMO_ENOMEM : store_exec(s, b.s);
    const promo_dict *d = c->src ? c->src->dict : NULL;
    uint32_t nd = d ? promo_dict_size(d) : 0, n_stored = nd;
    uint32_t *entry = NULL;
    if (!rc && c->remap) {
        /* invert remap: stored code -> source code */
        if (!(entry = promo_mallocn(nd ? nd : 1, sizeof *entry)))
            rc = PROMO_ENOMEM;
        n_stored = 0;
        for (uint32_t k = 0; !rc && k < nd; k++)
            if (c->remap[k] != PROMO_DICT_NONE)
                entry[n_stored++] = k;
    }
    dict_rows dr = {d, entry};
    store_row_source src = {n_stored, dict_value, &dr, NULL};
    b.n = 0;
    store_sb_ident(&b, c->dict);
    if (!rc && n_stored)
        rc = b.failed ? PROMO_ENOMEM : bulk_insert(s, b.s, 2, &src);
    promo_free(b.s);
    promo_free(entry);
    return rc;
}

/* The view T: the data table with every code replaced by its string (LEFT JOIN: a null code
 * stays null). SQLite omits the joins a query does not use (they are on the dictionary's
 * INTEGER PRIMARY KEY), so count(*) or numeric columns cost no dictionary lookups. */
static int create_view(promo_store *s, const char *table, const out_col *c, size_t n)
{
    sbuf b = {0};
    store_sb_add(&b, "CREATE VIEW ");
    store_sb_ident(&b, table);
    store_sb_add(&b, " AS SELECT ");
    for (size_t i = 0; i < n; i++) {
        store_sb_add(&b, i ? ", " : "");
        if (c[i].dict)
            store_sb_add(&b, "d%zu.value AS ", i);
        else
            store_sb_add(&b, "t.");
        store_sb_ident(&b, c[i].name);
    }
    store_sb_add(&b, " FROM ");
    store_sb_data_ident(&b, table);
    store_sb_add(&b, " t");
    for (size_t i = 0; i < n; i++) {
        if (!c[i].dict)
            continue;
        store_sb_add(&b, " LEFT JOIN ");
        store_sb_ident(&b, c[i].dict);
        store_sb_add(&b, " d%zu ON d%zu.code = t.", i, i);
        store_sb_ident(&b, c[i].name);
    }
    int rc = b.failed ? PROMO_ENOMEM : store_exec(s, b.s);
    promo_free(b.s);
    return rc;
}

/* The old chunk table of a table rewritten whole by every run (the customer features), renamed
 * out of the way before the new chunks are written and dropped after them (drop_retired)
 * instead of dropped first. Why: dropped first, its pages are free again within the
 * transaction, the new chunks land on them, and SQLite's rollback journal copies each such
 * page before it is overwritten: a second write of the whole table and its fdatasync (112 MB
 * at 200k customers x 91 features, measured: bench/RESULTS.md, fe15). Pages that were free
 * when the transaction began, or past the file's end, need no copy. So the new chunks take
 * the pages the previous run freed, and the old ones join the freelist for the next run: the
 * file keeps one table's worth of free pages, and no page of the table is journaled. The
 * rollback and crash safety are SQLite's as before (the rename and the drop are in the
 * transaction). */
#define RETIRED_PREFIX "promo_retired__"

static int retire_first(const promo_store *s, const char *name)
{
    return store_chunked_name(s, name) && !strcmp(name, "features_customers");
}

/* Rename CHUNK_PREFIX name to RETIRED_PREFIX name if it exists; *done = 1 if so. */
static int retire_chunks(promo_store *s, const char *name, int *done)
{
    *done = 0;
    sbuf from = {0}, to = {0}, b = {0};
    store_sb_add(&from, CHUNK_PREFIX "%s", name);
    store_sb_add(&to, RETIRED_PREFIX "%s", name);
    int rc = from.failed || to.failed ? PROMO_ENOMEM : PROMO_OK;
    if (!rc && store_has_object(s, from.s, 0)) {
        rc = drop_named(s, to.s, "TABLE"); /* none: it never outlives its write */
        store_sb_add(&b, "ALTER TABLE ");
        store_sb_ident(&b, from.s);
        store_sb_add(&b, " RENAME TO ");
        store_sb_ident(&b, to.s);
        if (!rc)
            rc = b.failed ? PROMO_ENOMEM : store_exec(s, b.s);
        *done = !rc;
    }
    promo_free(from.s);
    promo_free(to.s);
    promo_free(b.s);
    return rc;
}

/* Drop the retired chunks without overwriting them: Debian's SQLite is built with
 * SECURE_DELETE, which zeroes every freed page, so that the drop alone journals and rewrites
 * the whole table (twice its size in writes). The content it would erase is derived from
 * tables the file keeps anyway, and the next run's chunks overwrite these pages. */
static int drop_retired(promo_store *s, const char *name)
{
    sbuf b = {0};
    store_sb_add(&b, RETIRED_PREFIX "%s", name);
    /* the connection's setting (1 in Debian's build), restored after the drop */
    int old = 1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA secure_delete", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        old = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int rc = b.failed ? PROMO_ENOMEM : store_exec(s, "PRAGMA secure_delete=0");
    if (!rc) {
        rc = drop_named(s, b.s, "TABLE");
        char restore[48];
        snprintf(restore, sizeof restore, "PRAGMA secure_delete=%d", old);
        int rc2 = store_exec(s, restore);
        rc = rc ? rc : rc2;
    }
    promo_free(b.s);
    return rc;
}

static int create_table(promo_store *s, const promo_table *t, out_col *c, size_t n, int *retired)
{
    *retired = 0;
    int rc = retire_first(s, t->name) ? retire_chunks(s, t->name, retired) : PROMO_OK;
    if (!rc)
        rc = store_drop_table(s, t->name);
    if (rc)
        return rc;
    int chunked = store_chunked_name(s, t->name);
    if (chunked && n > CHUNK_MAX_COLS)
        return promo_fail(PROMO_EUSAGE, "table '%s': more than %d columns", t->name,
                          CHUNK_MAX_COLS);
    sbuf b = {0};
    if (chunked) {
        rc = chunk_create(s, t->name);
        if (!rc)
            rc = create_chunked_data(s, t->name, c, n);
    } else {
        store_sb_add(&b, "CREATE TABLE ");
        store_sb_data_ident(&b, t->name);
        store_sb_add(&b, " (");
        for (size_t i = 0; i < n; i++) {
            store_sb_add(&b, i ? ", " : "");
            store_sb_ident(&b, c[i].name);
            store_sb_add(&b, " %s%s", sql_type(c[i].type),
                         c[i].field && (c[i].field->required || c[i].field->key) ? " NOT NULL"
                                                                                 : "");
        }
        store_sb_add(&b, ");");
        rc = b.failed ? PROMO_ENOMEM : store_exec(s, b.s);
        promo_free(b.s);
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (c[i].type == PROMO_COL_STRING && !(rc = dict_name(s, t->name, &c[i], i, &c[i].dict)))
            rc = chunked ? write_chunked_dict(s, t->name, &c[i], i) : write_dict(s, &c[i]);
    if (!rc)
        rc = create_view(s, t->name, c, n);
    if (rc)
        return rc;
    /* Record the promo types and dictionaries. */
    sqlite3_stmt *st = NULL;
    const char *ins = "INSERT INTO promo_columns VALUES (?, ?, ?, ?, ?)";
    if ((rc = sqlite3_prepare_v2(s->db, ins, -1, &st, NULL)) != SQLITE_OK)
        return store_db_fail(s, rc, ins);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
        sqlite3_bind_text(st, 4, promo_col_type_name(c[i].type), -1, SQLITE_STATIC);
        if (c[i].dict)
            sqlite3_bind_text(st, 5, c[i].dict, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(st);
            return store_db_fail(s, rc, ins);
        }
    }
    sqlite3_finalize(st);
    return PROMO_OK;
}

/* One value of the data table as a row source (arg = the plan, out_col[]). */
typedef struct data_rows {
    const out_col *c;
} data_rows;

static void data_value(const store_row_source *src, size_t r, int i, sqlite3_context *ctx)
{
    const out_col *oc = &((const data_rows *)src->arg)->c[i];
    const promo_column *col = oc->src;
    if (oc->x32) {
        double v = oc->x32[r * oc->x_stride];
        if (isnan(v))
            sqlite3_result_null(ctx);
        else
            sqlite3_result_double(ctx, v);
        return;
    }
    if (!col || promo_column_is_null(col, r)) {
        sqlite3_result_null(ctx);
        return;
    }
    switch (col->type) {
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        sqlite3_result_int64(ctx, col->i64[r]);
        break;
    case PROMO_COL_FLOAT64:
        /* SQLite turns a NaN into NULL; keep it a value. */
        if (isnan(col->f64[r]))
            sqlite3_result_text(ctx, "NaN", 3, SQLITE_STATIC);
        else
            sqlite3_result_double(ctx, col->f64[r]);
        break;
    case PROMO_COL_STRING: {
        uint32_t code = col->codes[r];
        sqlite3_result_int64(ctx, oc->remap ? oc->remap[code] : code);
        break;
    }
    default:
        sqlite3_result_int(ctx, col->b[r]);
        break;
    }
}

/* The rows of a chunked table as chunks first_chunk, ... numbered from first_row on. */
static int insert_chunks(promo_store *s,
                         const promo_table *t,
                         const out_col *c,
                         size_t n,
                         int64_t first_chunk,
                         int64_t first_row)
{
    chunk_col *cc = promo_calloc(n ? n : 1, sizeof *cc);
    if (!cc)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        cc[i] = (chunk_col){c[i].src, c[i].type, c[i].remap, c[i].x32, c[i].x_stride};
    promo_progress prog;
    promo_progress_begin(&prog, t->name, t->n_rows);
    int rc = chunk_write_rows(s, t->name, cc, n, t->n_rows, first_chunk, first_row, &prog);
    promo_progress_end(&prog);
    promo_free(cc);
    return rc;
}

static int insert_rows(promo_store *s, const promo_table *t, const out_col *c, size_t n)
{
    sbuf b = {0};
    if (store_chunked_name(s, t->name))
        return insert_chunks(s, t, c, n, 0, 0);
    if (n <= STORE_ROWS_MAX_COLS) {
        promo_progress prog;
        promo_progress_begin(&prog, t->name, t->n_rows);
        data_rows dr = {c};
        store_row_source src = {t->n_rows, data_value, &dr, &prog};
        store_sb_data_ident(&b, t->name);
        int rc = b.failed ? PROMO_ENOMEM : t->n_rows ? bulk_insert(s, b.s, (int)n, &src) : 0;
        promo_free(b.s);
        promo_progress_update(&prog, t->n_rows);
        promo_progress_end(&prog);
        return rc;
    }
    /* Wider than promo_rows: one prepared INSERT stepped per row. */
    store_sb_add(&b, "INSERT INTO ");
    store_sb_data_ident(&b, t->name);
    store_sb_add(&b, " VALUES (");
    for (size_t i = 0; i < n; i++)
        store_sb_add(&b, i ? ", ?" : "?");
    store_sb_add(&b, ")");
    sqlite3_stmt *st = NULL;
    int rc = store_sb_prepare(s, &b, "prepare insert", &st);
    if (rc)
        return rc;
    /* Absent columns are bound once: sqlite3_reset keeps bindings. */
    for (size_t i = 0; i < n; i++)
        if (!c[i].src && !c[i].x32)
            sqlite3_bind_null(st, (int)i + 1);
    promo_progress prog;
    promo_progress_begin(&prog, t->name, t->n_rows);
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < n; i++) {
            const promo_column *col = c[i].src;
            int p = (int)i + 1;
            if (c[i].x32) {
                double v = c[i].x32[r * c[i].x_stride];
                if (isnan(v))
                    sqlite3_bind_null(st, p);
                else
                    sqlite3_bind_double(st, p, v);
                continue;
            }
            if (!col)
                continue;
            if (promo_column_is_null(col, r)) {
                sqlite3_bind_null(st, p);
                continue;
            }
            switch (col->type) {
            case PROMO_COL_INT64:
            case PROMO_COL_TIMESTAMP:
                sqlite3_bind_int64(st, p, col->i64[r]);
                break;
            case PROMO_COL_FLOAT64:
                /* SQLite turns a bound NaN into NULL; keep it a value. */
                if (isnan(col->f64[r]))
                    sqlite3_bind_text(st, p, "NaN", 3, SQLITE_STATIC);
                else
                    sqlite3_bind_double(st, p, col->f64[r]);
                break;
            case PROMO_COL_STRING: {
                uint32_t code = col->codes[r];
                sqlite3_bind_int64(st, p, c[i].remap ? c[i].remap[code] : code);
                break;
            }
            default:
                sqlite3_bind_int(st, p, col->b[r]);
                break;
            }
        }
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            rc = store_db_fail(s, rc, "insert");
            sqlite3_finalize(st);
            promo_progress_end(&prog);
            return rc;
        }
        sqlite3_reset(st);
        if ((r & 0xffff) == 0)
            promo_progress_update(&prog, r);
    }
    promo_progress_update(&prog, t->n_rows);
    promo_progress_end(&prog);
    sqlite3_finalize(st);
    return PROMO_OK;
}

/* The key columns of the table being written, for the duplicate-key callback. */
typedef struct key_ctx {
    const promo_table *t;
    const promo_column *kc[8];
    size_t nk;
} key_ctx;

/* A repeated key stops the write; the message names the key. */
static int on_duplicate(void *ctx, size_t first, size_t dup)
{
    const key_ctx *k = ctx;
    (void)first;
    char key[1024];
    promo_table_key_text(k->kc, k->nk, dup, key, sizeof key);
    return promo_fail(PROMO_EINPUT, "table '%s': duplicate primary key (%s)", k->t->name, key);
}

/* The key of a canonical table must be unique. Checked here in C rather than by a UNIQUE
 * index: the index cost as much CPU as the whole insert (bench/RESULTS.md, ## ingest), and
 * through the view (strings) SQLite could not use an index on codes anyway. The check is
 * ingest's (promo_table_find_duplicate_keys); STRING columns compare by the table's own codes,
 * which identify strings as the stored codes do. Key fields are required (never null), so
 * nulls need no care. */
/* The key check by runs in parts of about KEY_PART_ROWS rows, at most KEY_PARTS. */
#define KEY_PART_ROWS ((size_t)1 << 20)
#define KEY_PARTS     64

/* 1 if column c never decreases over rows 0..n (as raw key values). */
static int never_decreases(const promo_column *c, size_t n)
{
    if (c->type == PROMO_COL_STRING) {
        for (size_t r = 1; r < n; r++)
            if (c->codes[r] < c->codes[r - 1])
                return 0;
        return 1;
    }
    for (size_t r = 1; r < n; r++)
        if (promo_column_key_bits(c, r) < promo_column_key_bits(c, r - 1))
            return 0;
    return 1;
}

/* 1 if rows a..b-1 are in strictly increasing order of the key columns other than column m
 * (compared in key order): then no two of them are equal on the whole key. */
static int run_increases(const key_ctx *k, size_t m, size_t a, size_t b)
{
    for (size_t r = a + 1; r < b; r++) {
        size_t j = 0;
        for (; j < k->nk; j++) {
            if (j == m)
                continue;
            uint64_t x = promo_column_key_bits(k->kc[j], r - 1),
                     y = promo_column_key_bits(k->kc[j], r);
            if (x != y) {
                if (x > y)
                    return 0;
                break;
            }
        }
        if (j == k->nk)
            return 0;
    }
    return 1;
}

/* The key check when a key column never decreases over the rows (generated tables: events,
 * exposures and responses come customer by customer, transactions order by order): a repeated
 * key can only sit inside a run of equal values of that column, so each run is checked on its
 * own with a hash set the size of the run, which stays in cache, instead of one set over all the
 * rows (35M events: a 512 MB set and a cache miss per row). The first repeated row reported is
 * the one promo_table_find_duplicate_keys reports. *applied = 0 when no column qualifies. */
/* The key column whose runs the check can use (never decreases), or k->nk if none does (or
 * the table is too large for the row numbers of the run sets). */
static size_t key_run_column(const key_ctx *k, size_t n_rows)
{
    size_t m = 0;
    while (m < k->nk && !never_decreases(k->kc[m], n_rows))
        m++;
    return n_rows >= UINT32_MAX / 2 ? k->nk : m;
}

/* The runs of key column m from row a0 (a run's first row) to b0 (another's, or the end):
 * *dup_r = the first row that repeats an earlier one (*dup_o), SIZE_MAX if none. No message:
 * this may run on any thread. */
static int
key_scan_runs(const key_ctx *k, size_t m, size_t a0, size_t b0, size_t *dup_o, size_t *dup_r)
{
    const promo_column *mc = k->kc[m];
    uint32_t *slots = NULL; /* row + 1, 0 = empty */
    size_t cap = 0;
    *dup_o = *dup_r = SIZE_MAX;
    for (size_t a = a0, b; a < b0 && *dup_r == SIZE_MAX; a = b) {
        uint64_t v = promo_column_key_bits(mc, a);
        for (b = a + 1; b < b0 && promo_column_key_bits(mc, b) == v;)
            b++;
        /* order lines 1, 2, 3 of one order: in order, so no repeat, and no hash set */
        if (b - a < 2 || run_increases(k, m, a, b))
            continue;
        size_t want = 16;
        while (want < 2 * (b - a))
            want *= 2;
        if (want > cap) {
            promo_free(slots);
            cap = want;
            if (!(slots = promo_mallocn(cap, sizeof *slots)))
                return PROMO_ENOMEM;
        }
        memset(slots, 0, want * sizeof *slots);
        for (size_t r = a; r < b && *dup_r == SIZE_MAX; r++) {
            uint64_t h = 0x9e3779b97f4a7c15ULL;
            for (size_t j = 0; j < k->nk; j++)
                h = promo_fmix64(h ^ promo_column_key_bits(k->kc[j], r));
            for (size_t sl = (size_t)h & (want - 1);; sl = (sl + 1) & (want - 1)) {
                if (!slots[sl]) {
                    slots[sl] = (uint32_t)r + 1;
                    break;
                }
                size_t o = slots[sl] - 1, j = 0;
                while (j < k->nk &&
                       promo_column_key_bits(k->kc[j], o) == promo_column_key_bits(k->kc[j], r))
                    j++;
                if (j == k->nk) {
                    *dup_o = o;
                    *dup_r = r;
                    break;
                }
            }
        }
    }
    promo_free(slots);
    return PROMO_OK;
}

static int check_key_runs(key_ctx *k, size_t n_rows, int *applied)
{
    size_t m = key_run_column(k, n_rows);
    *applied = m < k->nk;
    if (!*applied)
        return PROMO_OK;
    size_t o, r;
    int rc = key_scan_runs(k, m, 0, n_rows, &o, &r);
    return rc ? rc : r != SIZE_MAX ? on_duplicate(k, o, r) : PROMO_OK;
}

/* The key columns of the plan into k; 0 when there is nothing to check. */
static int key_columns(const promo_table *t, const out_col *c, size_t n, key_ctx *k)
{
    *k = (key_ctx){.t = t};
    for (size_t i = 0; i < n && k->nk < 8; i++)
        if (c[i].field && c[i].field->key) {
            if (!c[i].src)
                return 0; /* missing key fields were refused as required */
            k->kc[k->nk++] = c[i].src;
        }
    return k->nk > 0;
}

static int check_key(const promo_table *t, const out_col *c, size_t n)
{
    key_ctx k;
    if (!key_columns(t, c, n, &k))
        return PROMO_OK;
    int applied = 0;
    int rc = check_key_runs(&k, t->n_rows, &applied);
    if (!applied)
        rc = promo_table_find_duplicate_keys(k.kc, k.nk, t->n_rows, NULL, 0, on_duplicate, &k);
    if (rc == PROMO_EUSAGE)
        promo_fail_prefix(rc, "table '%s'", t->name);
    return rc;
}

/* The range of values the store accepts (checked for every row before anything is written):
 * timestamps from 1900 to 2199, whatever table they are in (later arithmetic on them, days,
 * months, windows, may then never overflow), and in the canonical number columns (prices,
 * quantities, costs) finite numbers of at most 1e12 in magnitude, so that sums over millions
 * of rows stay finite. A null is not a value and passes. */
#define NUM_LIMIT 1e12

static int out_of_range(const promo_table *t, const out_col *c, size_t n, size_t j, size_t r)
{
    const promo_column *kc[8];
    size_t nk = 0;
    for (size_t i = 0; i < n && nk < 8; i++)
        if (c[i].field && c[i].field->key && c[i].src)
            kc[nk++] = c[i].src;
    char key[512] = "";
    if (nk) {
        char k[480];
        promo_table_key_text(kc, nk, r, k, sizeof k);
        snprintf(key, sizeof key, " (%s)", k);
    }
    const promo_column *col = c[j].src;
    if (col->type == PROMO_COL_TIMESTAMP)
        return promo_fail(PROMO_EINPUT,
                          "table '%s', row %zu%s: column '%s': timestamp %lld is outside "
                          "1900-01-01 .. 2199-12-31",
                          t->name, r + 1, key, c[j].name, (long long)col->i64[r]);
    return promo_fail(PROMO_EINPUT,
                      "table '%s', row %zu%s: column '%s': %g is not a finite number of at most "
                      "1e12 in magnitude",
                      t->name, r + 1, key, c[j].name, col->f64[r]);
}

static int check_values(const promo_table *t, const out_col *c, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        const promo_column *col = c[j].src;
        if (!col)
            continue;
        if (col->type == PROMO_COL_TIMESTAMP) {
            for (size_t r = 0; r < col->n; r++)
                if ((col->i64[r] < STORE_TS_MIN || col->i64[r] > STORE_TS_MAX) &&
                    !promo_column_is_null(col, r))
                    return out_of_range(t, c, n, j, r);
        } else if (col->type == PROMO_COL_FLOAT64 && c[j].field) {
            for (size_t r = 0; r < col->n; r++)
                if (!(fabs(col->f64[r]) <= NUM_LIMIT) && !promo_column_is_null(col, r))
                    return out_of_range(t, c, n, j, r);
        }
    }
    return PROMO_OK;
}

/* Forget the data version recorded for a derived table that is dropped or replaced by a
 * canonical one. */
static int untrack_table(promo_store *s, const char *name)
{
    if (!store_has_object(s, "promo_data_versions", 0))
        return PROMO_OK;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "DELETE FROM promo_data_versions WHERE name='table:'||?", -1,
                                &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? PROMO_OK : store_db_fail(s, rc, "forget a data version");
}

/* Record what this write means for the data version (store.c): a canonical table changes
 * the data, a derived one is recorded with the version it was made from. */
static int note_write(promo_store *s, const char *name)
{
    if (promo_schema_find(name)) {
        store_note_data_change(s);
        return untrack_table(s, name);
    }
    sbuf b = {0};
    store_sb_add(&b, "table:%s", name);
    int rc = b.failed ? PROMO_ENOMEM : store_track(s, b.s);
    promo_free(b.s);
    return rc;
}

/* ---- statistics written with a table (promo info reads them instead of the rows) ----
 * promo_stats(table_name, column_name, n_rows, n_null, n_distinct, min_v, max_v), one row per
 * column of a table stored as rows, written in the transaction that writes the table (so they
 * cannot disagree with it) and deleted with it. n_distinct: the dictionary entries of a STRING
 * column (exactly the values in use), NULL for other types; min_v/max_v: of the non-null values
 * of int64, timestamp and bool columns, and of float64 ones without NaN (NULL if none).
 * Chunked tables keep theirs per chunk instead (chunk.c). Made on first use; older promo
 * versions ignore it. */
static int write_stats(promo_store *s, const promo_table *t, const out_col *c, size_t n)
{
    int rc = store_exec(s, "CREATE TABLE IF NOT EXISTS " STATS_TABLE
                           " (table_name TEXT NOT NULL, column_name TEXT NOT NULL, n_rows "
                           "INTEGER NOT NULL, n_null INTEGER NOT NULL, n_distinct INTEGER, min_v, "
                           "max_v, PRIMARY KEY (table_name, column_name))");
    sqlite3_stmt *st = NULL;
    const char *ins = "INSERT OR REPLACE INTO " STATS_TABLE " VALUES (?, ?, ?, ?, ?, ?, ?)";
    if (!rc && (rc = sqlite3_prepare_v2(s->db, ins, -1, &st, NULL)) != SQLITE_OK)
        return store_db_fail(s, rc, ins);
    for (size_t i = 0; i < n && !rc; i++) {
        const promo_column *p = c[i].src;
        size_t nn = p ? p->n_null : c[i].x32 ? 0 : t->n_rows;
        double xmn = INFINITY, xmx = -INFINITY; /* a matrix column: NaN is a null */
        for (size_t r = 0; c[i].x32 && r < t->n_rows; r++) {
            double v = c[i].x32[r * c[i].x_stride];
            nn += isnan(v);
            xmn = v < xmn ? v : xmn;
            xmx = v > xmx ? v : xmx;
        }
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)t->n_rows);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)nn);
        sqlite3_bind_null(st, 5);
        sqlite3_bind_null(st, 6);
        sqlite3_bind_null(st, 7);
        if (c[i].type == PROMO_COL_STRING) {
            uint32_t nd = p ? promo_dict_size(p->dict) : 0, k = nd;
            if (c[i].remap)
                for (uint32_t d = k = 0; d < nd; d++)
                    k += c[i].remap[d] != PROMO_DICT_NONE;
            sqlite3_bind_int64(st, 5, k);
        } else if (c[i].x32) {
            if (xmn <= xmx) {
                sqlite3_bind_double(st, 6, xmn);
                sqlite3_bind_double(st, 7, xmx);
            }
        } else if (p && c[i].type == PROMO_COL_FLOAT64) {
            double mn = INFINITY, mx = -INFINITY;
            int nan = 0;
            for (size_t r = 0; r < t->n_rows; r++) {
                if (promo_column_is_null(p, r))
                    continue;
                double v = p->f64[r];
                nan |= v != v;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            if (!nan && mn <= mx) {
                sqlite3_bind_double(st, 6, mn);
                sqlite3_bind_double(st, 7, mx);
            }
        } else if (p) {
            int64_t mn = INT64_MAX, mx = INT64_MIN;
            for (size_t r = 0; r < t->n_rows; r++) {
                if (promo_column_is_null(p, r))
                    continue;
                int64_t v = c[i].type == PROMO_COL_BOOL ? p->b[r] : p->i64[r];
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            if (mn <= mx) {
                sqlite3_bind_int64(st, 6, mn);
                sqlite3_bind_int64(st, 7, mx);
            }
        }
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            rc = store_db_fail(s, src, ins);
    }
    sqlite3_finalize(st);
    return rc;
}

/* write_table proper; note = 0 for a migration (the same data in a new layout: the data
 * version stays, so models made from it stay valid). */
/* The plan c[0..*n) of t with the matrix columns of m inserted at m->first (c has room). */
static void plan_matrix(out_col *c, size_t *n, const promo_store_matrix *m)
{
    memmove(c + m->first + m->n, c + m->first, (*n - m->first) * sizeof *c);
    for (size_t j = 0; j < m->n; j++)
        c[m->first + j] = (out_col){
            .name = m->names[j], .type = PROMO_COL_FLOAT64, .x32 = m->x + j, .x_stride = m->stride};
    *n += m->n;
}

static int write_table(promo_store *s, const promo_table *t, int note, const promo_store_matrix *mx)
{
    if (!t || !t->name || !*t->name)
        return promo_fail(PROMO_EUSAGE, "write_table: table without a name");
    if (store_reserved_name(t->name))
        return promo_fail(PROMO_EUSAGE, "table name '%s' is reserved (promo_*, sqlite_*)", t->name);
    for (size_t j = 0; j < t->n_cols; j++)
        if (t->cols[j]->n != t->n_rows)
            return promo_fail(PROMO_EUSAGE,
                              "table '%s': column '%s' has %zu rows, table %zu "
                              "(not sealed?)",
                              t->name, t->cols[j]->name, t->cols[j]->n, t->n_rows);
    const promo_schema *sc = promo_schema_find(t->name);
    out_col *c = NULL;
    size_t n = 0;
    double tp = promo_now_s();
    if (mx && (sc || mx->first > t->n_cols || !mx->x || !mx->names))
        return promo_fail(PROMO_EUSAGE,
                          "table '%s': a matrix only beside a derived table's columns", t->name);
    int rc = plan_columns(t, sc, &c, &n);
    if (rc)
        return rc;
    if (mx && mx->n) {
        out_col *wider = promo_reallocn(c, n + mx->n, sizeof *c);
        if (!wider) {
            free_plan(c, n);
            return PROMO_ENOMEM;
        }
        c = wider;
        plan_matrix(c, &n, mx);
    }
    /* The codes as stored (a pass over every row per string column, five of them in
     * transactions), the key check and the value check read the rows and are independent (the
     * key check compares the table's own codes, which identify strings as the stored ones do):
     * all at once. The key check by runs is cut into parts of whole runs, one work item each
     * beside the string columns; the calling thread first runs the value check (and a key
     * check that cannot go by runs), whose messages are per thread, then joins the others.
     * The first repeated key is reported, as the one-pass check does. */
    key_ctx k;
    int has_key = key_columns(t, c, n, &k);
    size_t m = has_key ? key_run_column(&k, t->n_rows) : 0, n_parts = 0;
    struct {
        size_t a, b, o, r;
        int rc;
    } part[KEY_PARTS];
    if (has_key && m < k.nk) {
        const promo_column *mc = k.kc[m];
        n_parts = t->n_rows / KEY_PART_ROWS + 1;
        n_parts = n_parts < KEY_PARTS ? n_parts : KEY_PARTS;
        for (size_t p = 0; p < n_parts; p++) {
            size_t a = p ? t->n_rows / n_parts * p : 0;
            if (p && a < part[p - 1].a)
                a = part[p - 1].a;
            while (a > 0 && a < t->n_rows &&
                   promo_column_key_bits(mc, a) == promo_column_key_bits(mc, a - 1))
                a++;
            part[p].a = a;
            if (p)
                part[p - 1].b = a;
        }
        if (n_parts)
            part[n_parts - 1].b = t->n_rows;
    }
    int crc = PROMO_OK;
    size_t next = 0, n_items = n_parts + n;
#pragma omp parallel if (t->n_rows >= 65536)
    {
        if (omp_get_thread_num() == 0) {
            if (has_key && !n_parts)
                crc = check_key(t, c, n);
            if (!crc)
                crc = check_values(t, c, n);
        }
        for (;;) {
            size_t i;
#pragma omp atomic capture
            i = next++;
            if (i >= n_items)
                break;
            if (i < n_parts) {
                part[i].rc = key_scan_runs(&k, m, part[i].a, part[i].b, &part[i].o, &part[i].r);
                continue;
            }
            i -= n_parts;
            int prc = c[i].type == PROMO_COL_STRING ? plan_codes(&c[i], t) : PROMO_OK;
            if (prc) {
#pragma omp atomic write
                rc = prc;
            }
        }
    }
    for (size_t p = 0; p < n_parts && !rc; p++) {
        if (part[p].rc)
            rc = part[p].rc;
        else if (part[p].r != SIZE_MAX)
            rc = on_duplicate(&k, part[p].o, part[p].r);
    }
    if (!rc)
        rc = crc;
    if (rc) {
        free_plan(c, n);
        return rc;
    }
    if (n == 0) {
        promo_free(c);
        return promo_fail(PROMO_EUSAGE, "table '%s' has no columns", t->name);
    }
    int own_txn = !s->in_txn;
    if (own_txn && (rc = promo_store_begin(s))) {
        free_plan(c, n);
        return rc;
    }
    double t0 = promo_now_s(), t1 = t0, t2 = t0;
    int retired = 0;
    if (!(rc = note ? note_write(s, t->name) : PROMO_OK) &&
        !(rc = create_table(s, t, c, n, &retired)) && (t1 = promo_now_s()) &&
        !(rc = insert_rows(s, t, c, n)) && (t2 = promo_now_s()) &&
        !(rc = retired ? drop_retired(s, t->name) : PROMO_OK) &&
        !(rc = store_chunked_name(s, t->name) ? PROMO_OK : write_stats(s, t, c, n))) {
        promo_debug("store: %s: %zu rows: codes and checks %.2fs, dictionaries %.2fs, rows "
                    "%.2fs, the old chunks dropped %.2fs",
                    t->name, t->n_rows, t0 - tp, t1 - t0, t2 - t1, promo_now_s() - t2);
    }
    free_plan(c, n);
    if (own_txn)
        rc = rc ? (promo_store_rollback(s), rc) : promo_store_commit(s);
    return rc;
}

int promo_store_write_table(promo_store *s, const promo_table *t)
{
    return write_table(s, t, 1, NULL);
}

int promo_store_write_table_matrix(promo_store *s,
                                   const promo_table *t,
                                   const promo_store_matrix *m)
{
    return write_table(s, t, 1, m);
}

int store_migrate_table(promo_store *s, const promo_table *t)
{
    return write_table(s, t, 0, NULL);
}

int store_migrate_stats(promo_store *s, const promo_table *t)
{
    /* The plan write_table made for these rows, from the rows as stored: the same columns in
     * the same order, and the codes of the stored dictionary (exactly the values in use). */
    out_col *c = NULL;
    size_t n = 0;
    int rc = plan_columns(t, promo_schema_find(t->name), &c, &n);
    for (size_t i = 0; i < n && !rc; i++)
        if (c[i].type == PROMO_COL_STRING)
            rc = plan_codes(&c[i], t);
    if (!rc)
        rc = write_stats(s, t, c, n);
    free_plan(c, n);
    return rc;
}

/* ---- appending to a chunked table ---- */

/* The stored columns of `name` in position order (promo_columns): names and types. */
static int
stored_columns(promo_store *s, const char *name, char ***names, promo_col_type **types, size_t *n)
{
    *names = NULL;
    *types = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db, "SELECT column_name, type FROM promo_columns WHERE table_name=? ORDER BY position",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "stored columns");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    size_t cap = 0, tcap = 0;
    rc = PROMO_OK;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const char *cn = (const char *)sqlite3_column_text(st, 0);
        const char *ty = (const char *)sqlite3_column_text(st, 1);
        promo_col_type t = PROMO_COL_STRING;
        if (promo_grow((void **)names, &cap, *n + 1, sizeof **names) ||
            promo_grow((void **)types, &tcap, *n + 1, sizeof **types) ||
            !((*names)[*n] = promo_strdup(cn ? cn : ""))) {
            rc = PROMO_ENOMEM;
            break;
        }
        if (ty)
            store_type_from_name(ty, &t);
        (*types)[(*n)++] = t;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Stored codes for the strings of column c appended to the stored dictionary of column
 * `pos`: c->remap (source code -> stored code) for every used entry, and the new entries
 * written as dictionary chunks. */
static int append_codes(promo_store *s, const char *table, size_t pos, out_col *c, size_t n_rows)
{
    const promo_column *src = c->src;
    if (!src)
        return PROMO_OK;
    uint32_t nd = promo_dict_size(src->dict);
    uint32_t *map = promo_mallocn(nd ? nd : 1, sizeof *map);
    uint32_t *fresh = promo_mallocn(nd ? nd : 1, sizeof *fresh);
    uint8_t *used = promo_calloc(nd ? nd : 1, 1);
    uint32_t base = 0, k = 0;
    int rc = !map || !fresh || !used ? PROMO_ENOMEM : PROMO_OK;
    if (!rc) {
        for (uint32_t d = 0; d < nd; d++)
            map[d] = PROMO_DICT_NONE;
        /* the stored entries found among the new values (looked up in the new dictionary,
         * whose hash index exists, instead of building one for the stored entries) */
        rc = chunk_dict_map(s, table, pos, src->dict, map, &base);
    }
    if (!rc) {
        c->stored_before = base;
        for (size_t r = 0; r < n_rows; r++)
            if (!promo_column_is_null(src, r))
                used[src->codes[r]] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            if (!used[d])
                map[d] = PROMO_DICT_NONE;
            else if (map[d] == PROMO_DICT_NONE) {
                map[d] = base + k;
                fresh[k++] = d;
            }
        }
        if (k)
            rc = chunk_write_dict(s, table, pos, src->dict, fresh, k, base);
    }
    promo_free(fresh);
    promo_free(used);
    promo_free(c->remap);
    c->remap = rc ? NULL : map;
    if (rc)
        promo_free(map);
    return rc;
}

typedef struct append_key_ctx {
    const promo_table *t;
    const promo_column *kc[8]; /* the new table's key columns, for the message */
    size_t nk, n_old;
} append_key_ctx;

static int on_append_duplicate(void *ctx, size_t first, size_t dup)
{
    const append_key_ctx *k = ctx;
    (void)first;
    char key[1024];
    promo_table_key_text(k->kc, k->nk, dup - k->n_old, key, sizeof key);
    return promo_fail(PROMO_EINPUT,
                      "table '%s': duplicate primary key (%s): row %zu of the appended rows is "
                      "already stored",
                      k->t->name, key, dup - k->n_old + 1);
}

/* The key over the stored rows and the new ones (stored codes), through the check
 * write_table uses. */
static int check_append_key(promo_store *s, const promo_table *t, const out_col *c, size_t n)
{
    append_key_ctx k = {.t = t};
    char *names[8];
    promo_col_type types[8];
    int pos[8];
    size_t idx[8];
    for (size_t i = 0; i < n && k.nk < 8; i++)
        if (c[i].field && c[i].field->key) {
            if (!c[i].src)
                return PROMO_OK;
            names[k.nk] = (char *)c[i].name;
            types[k.nk] = c[i].type;
            pos[k.nk] = (int)i;
            idx[k.nk] = i;
            k.kc[k.nk++] = c[i].src;
        }
    if (!k.nk)
        return PROMO_OK;
    /* A new row whose first key value is new to the stored dictionary cannot repeat a stored
     * key. When every row is such (next month's orders), the new rows are checked among
     * themselves only, and the stored keys are not read at all. */
    const out_col *first = &c[idx[0]];
    if (first->type == PROMO_COL_STRING && first->src) {
        size_t r = 0;
        for (; r < t->n_rows; r++)
            if (!promo_column_is_null(first->src, r) &&
                (first->remap ? first->remap[first->src->codes[r]] : first->src->codes[r]) <
                    first->stored_before)
                break;
        if (r == t->n_rows)
            return check_key(t, c, n);
    }
    promo_table *old = NULL;
    int rc = chunk_read(s, t->name, names, types, pos, k.nk, 0, -1, 0, 0, &old);
    if (rc)
        return rc;
    k.n_old = old->n_rows;
    size_t total = old->n_rows + t->n_rows;
    /* old rows then new ones, in stored codes */
    for (size_t j = 0; j < k.nk && !rc; j++) {
        promo_column *oc = old->cols[j];
        if ((rc = promo_column_resize(oc, total)))
            break;
        const out_col *nc = &c[idx[j]];
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t o = k.n_old + r;
            switch (oc->type) {
            case PROMO_COL_STRING:
                oc->codes[o] = nc->remap ? nc->remap[nc->src->codes[r]] : nc->src->codes[r];
                break;
            case PROMO_COL_FLOAT64:
                oc->f64[o] = nc->src->f64[r];
                break;
            case PROMO_COL_BOOL:
                oc->b[o] = nc->src->b[r];
                break;
            default:
                oc->i64[o] = nc->src->i64[r];
            }
        }
    }
    const promo_column *all[8];
    for (size_t j = 0; j < k.nk; j++)
        all[j] = old->cols[j];
    if (!rc)
        rc = promo_table_find_duplicate_keys(all, k.nk, total, NULL, 0, on_append_duplicate, &k);
    promo_table_free(old);
    return rc;
}

int promo_store_append_table(promo_store *s, const promo_table *t)
{
    if (!t || !t->name || !*t->name)
        return promo_fail(PROMO_EUSAGE, "append_table: table without a name");
    if (store_reserved_name(t->name))
        return promo_fail(PROMO_EUSAGE, "table name '%s' is reserved (promo_*, sqlite_*)", t->name);
    if (!promo_store_has_table(s, t->name))
        return promo_store_write_table(s, t);
    if (!store_is_chunked(s, t->name))
        return promo_fail(PROMO_EUSAGE,
                          "table '%s' is stored as rows, not chunks: appending needs a chunked "
                          "table (write it anew)",
                          t->name);
    for (size_t j = 0; j < t->n_cols; j++)
        if (t->cols[j]->n != t->n_rows)
            return promo_fail(PROMO_EUSAGE, "table '%s': column '%s' has %zu rows, table %zu",
                              t->name, t->cols[j]->name, t->cols[j]->n, t->n_rows);
    const promo_schema *sc = promo_schema_find(t->name);
    out_col *c = NULL;
    size_t n = 0, n_st = 0;
    char **st_names = NULL;
    promo_col_type *st_types = NULL;
    int rc = plan_columns(t, sc, &c, &n);
    if (!rc)
        rc = stored_columns(s, t->name, &st_names, &st_types, &n_st);
    /* the stored columns, in their order: the plan must be the same list */
    for (size_t i = 0; !rc && i < n_st; i++) {
        size_t j = i;
        while (j < n && strcmp(c[j].name, st_names[i]))
            j++;
        if (j == n) {
            /* a stored extra column the new rows lack: all null */
            out_col *nc = promo_reallocn(c, n + 1, sizeof *c);
            if (!nc)
                rc = PROMO_ENOMEM;
            else
                (c = nc)[n++] =
                    (out_col){st_names[i], st_types[i], NULL, NULL, NULL, NULL, 0, NULL, 0};
            j = n - 1;
        }
        if (!rc && c[j].type != st_types[i])
            rc = promo_fail(PROMO_EUSAGE, "table '%s': column '%s' is %s, stored as %s", t->name,
                            c[j].name, promo_col_type_name(c[j].type),
                            promo_col_type_name(st_types[i]));
        if (!rc && j != i) {
            out_col tmp = c[i];
            c[i] = c[j];
            c[j] = tmp;
        }
    }
    if (!rc && n != n_st)
        rc = promo_fail(PROMO_EUSAGE, "table '%s': column '%s' is not in the stored table", t->name,
                        c[n_st].name);
    if (!rc)
        rc = check_values(t, c, n);
    int own_txn = !s->in_txn;
    if (!rc && own_txn)
        rc = promo_store_begin(s);
    for (size_t i = 0; i < n && !rc; i++)
        if (c[i].type == PROMO_COL_STRING)
            rc = append_codes(s, t->name, i, &c[i], t->n_rows);
    if (!rc)
        rc = check_append_key(s, t, c, n);
    int64_t rows = 0, chunks = 0;
    if (!rc)
        rc = chunk_extent(s, t->name, &rows, &chunks, NULL, 0);
    if (!rc && !(rc = note_write(s, t->name)))
        rc = insert_chunks(s, t, c, n, chunks, rows);
    if (own_txn && s->in_txn)
        rc = rc ? (promo_store_rollback(s), rc) : promo_store_commit(s);
    free_plan(c, n);
    for (size_t i = 0; i < n_st; i++)
        promo_free(st_names[i]);
    promo_free(st_names);
    promo_free(st_types);
    return rc;
}
