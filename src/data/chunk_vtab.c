/* The "promo_chunked" virtual table module: a chunked table (chunk.c) seen from SQL.
 *
 *   CREATE VIRTUAL TABLE "promo_data__T" USING promo_chunked(T, "c0" INTEGER, "c1" REAL, ...)
 *       the rows of T as the row layout's data table had them: integers, reals (a NaN as the
 *       TEXT 'NaN'), dictionary codes for strings; rowid = row number + 1 (insertion order).
 *   CREATE VIRTUAL TABLE "promo_dict__T__C" USING promo_chunked(T, dict, POSITION)
 *       the dictionary of the column at POSITION: (code INTEGER, value TEXT).
 *
 * With these two under their row-layout names, the view T (store_write.c, create_view) is the
 * same SQL as for the row layout, so every query written against it keeps working inside
 * promo. Comparisons (=, <, <=, >, >=) on integer columns (ts, codes, line) are pushed down:
 * chunks whose stored min/max cannot match are not read (SQLite still checks every row).
 * The module is registered on promo's own connections only: the sqlite3 shell reports "no
 * such module: promo_chunked" for these tables (store.h says what to use instead).
 */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/table.h>

#include "data/store_internal.h"

typedef struct cvtab {
    sqlite3_vtab base; /* must be first */
    sqlite3 *db;
    char *chunks;     /* quoted chunk table */
    int dict_mode;    /* 1: a dictionary (code, value) */
    int dict_col;     /* dict_mode: the column position */
    int n_cols;       /* data mode: columns */
    uint8_t *is_real; /* data mode: column i is REAL */
    /* dict_mode: the whole dictionary, loaded on the first statement and checked at each
     * statement start (a join looks a code up per row: one query per row would be hopeless) */
    char *keys;
    uint32_t *off; /* n_keys + 1 */
    int64_t n_keys;
    int loaded;
} cvtab;

typedef struct chunk_ref {
    int64_t chunk, first_row, n_rows;
} chunk_ref;

typedef struct ccursor {
    sqlite3_vtab_cursor base; /* must be first */
    chunk_ref *refs;          /* chunks to visit */
    size_t n_refs, k;         /* current chunk refs[k] */
    int64_t i;                /* row within it */
    /* decoded columns of the current chunk, on first use */
    int64_t **i64;
    double **f64;
    uint64_t **nulls;
    uint8_t *has_nulls, *ready;
    /* dict mode */
    int64_t code, code_end;
} ccursor;

static char *unquote(const char *a)
{
    size_t n = strlen(a);
    while (n && (*a == ' '))
        a++, n--;
    while (n && a[n - 1] == ' ')
        n--;
    if (n >= 2 && (a[0] == '"' || a[0] == '\'') && a[n - 1] == a[0]) {
        char q = a[0];
        char *o = sqlite3_malloc64(n);
        if (!o)
            return NULL;
        size_t k = 0;
        for (size_t i = 1; i + 1 < n; i++) {
            o[k++] = a[i];
            if (a[i] == q && a[i + 1] == q)
                i++;
        }
        o[k] = 0;
        return o;
    }
    return sqlite3_mprintf("%.*s", (int)n, a);
}

static int cv_connect(
    sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
    (void)aux;
    if (argc < 4) {
        *err = sqlite3_mprintf("promo_chunked: missing arguments");
        return SQLITE_ERROR;
    }
    cvtab *v = sqlite3_malloc64(sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->db = db;
    char *t = unquote(argv[3]);
    v->chunks = t ? sqlite3_mprintf("\"" CHUNK_PREFIX "%w\"", t) : NULL;
    sqlite3_free(t);
    int rc = v->chunks ? SQLITE_OK : SQLITE_NOMEM;
    char *decl = NULL;
    if (!rc && argc == 6 && !strcmp(argv[4], "dict")) {
        v->dict_mode = 1;
        v->dict_col = atoi(argv[5]);
        decl = sqlite3_mprintf("CREATE TABLE x(code INTEGER, value TEXT)");
    } else if (!rc) {
        v->n_cols = argc - 4;
        v->is_real = sqlite3_malloc64((size_t)v->n_cols + 1);
        decl = v->is_real ? sqlite3_mprintf("CREATE TABLE x(") : NULL;
        for (int i = 0; decl && i < v->n_cols; i++) {
            const char *a = argv[4 + i];
            size_t n = strlen(a);
            v->is_real[i] = n >= 4 && !strcmp(a + n - 4, "REAL");
            char *d2 = sqlite3_mprintf("%s%s%s", decl, i ? ", " : "", a);
            sqlite3_free(decl);
            decl = d2;
        }
        if (decl) {
            char *d2 = sqlite3_mprintf("%s)", decl);
            sqlite3_free(decl);
            decl = d2;
        }
    }
    if (!rc && !decl)
        rc = SQLITE_NOMEM;
    if (!rc)
        rc = sqlite3_declare_vtab(db, decl);
    sqlite3_free(decl);
    if (rc) {
        sqlite3_free(v->chunks);
        sqlite3_free(v->is_real);
        sqlite3_free(v);
        return rc;
    }
    *out = &v->base;
    return SQLITE_OK;
}

static void drop_dict(cvtab *v)
{
    sqlite3_free(v->keys);
    sqlite3_free(v->off);
    v->keys = NULL;
    v->off = NULL;
    v->n_keys = 0;
    v->loaded = 0;
}

static int cv_disconnect(sqlite3_vtab *vt)
{
    cvtab *v = (cvtab *)vt;
    drop_dict(v);
    sqlite3_free(v->chunks);
    sqlite3_free(v->is_real);
    sqlite3_free(v);
    return SQLITE_OK;
}

/* Constraint ops we prune on, as one character each in idxStr. */
static char op_char(unsigned char op)
{
    switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ:
        return '=';
    case SQLITE_INDEX_CONSTRAINT_GT:
        return '>';
    case SQLITE_INDEX_CONSTRAINT_GE:
        return 'g';
    case SQLITE_INDEX_CONSTRAINT_LT:
        return '<';
    case SQLITE_INDEX_CONSTRAINT_LE:
        return 'l';
    default:
        return 0;
    }
}

static int cv_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    cvtab *v = (cvtab *)vt;
    if (v->dict_mode) {
        for (int i = 0; i < info->nConstraint; i++) {
            const struct sqlite3_index_constraint *c = &info->aConstraint[i];
            if (c->usable && c->iColumn == 0 && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
                info->aConstraintUsage[i].argvIndex = 1;
                info->aConstraintUsage[i].omit = 1;
                info->idxNum = 1;
                info->estimatedCost = 1;
                info->estimatedRows = 1;
                info->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
                return SQLITE_OK;
            }
        }
        info->idxNum = 0;
        info->estimatedCost = 1e6;
        return SQLITE_OK;
    }
    /* idxStr: "<op><col>," per pushed constraint, argv in the same order */
    char *s = sqlite3_mprintf("");
    int k = 0;
    for (int i = 0; s && i < info->nConstraint && k < 16; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        char op = op_char(c->op);
        if (!c->usable || !op || c->iColumn < 0 || c->iColumn >= v->n_cols ||
            v->is_real[c->iColumn])
            continue;
        char *s2 = sqlite3_mprintf("%s%c%d,", s, op, c->iColumn);
        sqlite3_free(s);
        s = s2;
        info->aConstraintUsage[i].argvIndex = ++k;
        info->aConstraintUsage[i].omit = 0;
    }
    if (!s)
        return SQLITE_NOMEM;
    info->idxStr = s;
    info->needToFreeIdxStr = 1;
    info->idxNum = k;
    info->estimatedCost = k ? 1e5 : 1e7;
    return SQLITE_OK;
}

static int cv_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    cvtab *v = (cvtab *)vt;
    ccursor *c = sqlite3_malloc64(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    if (!v->dict_mode) {
        size_t n = (size_t)v->n_cols + 1;
        c->i64 = sqlite3_malloc64(n * sizeof *c->i64);
        c->f64 = sqlite3_malloc64(n * sizeof *c->f64);
        c->nulls = sqlite3_malloc64(n * sizeof *c->nulls);
        c->has_nulls = sqlite3_malloc64(n);
        c->ready = sqlite3_malloc64(n);
        if (!c->i64 || !c->f64 || !c->nulls || !c->has_nulls || !c->ready) {
            sqlite3_free(c->i64);
            sqlite3_free(c->f64);
            sqlite3_free(c->nulls);
            sqlite3_free(c->has_nulls);
            sqlite3_free(c->ready);
            sqlite3_free(c);
            return SQLITE_NOMEM;
        }
        memset(c->i64, 0, n * sizeof *c->i64);
        memset(c->f64, 0, n * sizeof *c->f64);
        memset(c->nulls, 0, n * sizeof *c->nulls);
        memset(c->ready, 0, n);
    } else {
        v->loaded = 0; /* a new statement: the dictionary may have grown since (append) */
    }
    *out = &c->base;
    return SQLITE_OK;
}

static int cv_close(sqlite3_vtab_cursor *cur)
{
    ccursor *c = (ccursor *)cur;
    cvtab *v = (cvtab *)cur->pVtab;
    for (int j = 0; !v->dict_mode && j < v->n_cols; j++) {
        sqlite3_free(c->i64[j]);
        sqlite3_free(c->f64[j]);
        sqlite3_free(c->nulls[j]);
    }
    sqlite3_free(c->i64);
    sqlite3_free(c->f64);
    sqlite3_free(c->nulls);
    sqlite3_free(c->has_nulls);
    sqlite3_free(c->ready);
    sqlite3_free(c->refs);
    sqlite3_free(c);
    return SQLITE_OK;
}

static int vt_error(cvtab *v, const char *what)
{
    sqlite3_free(v->base.zErrMsg);
    v->base.zErrMsg = sqlite3_mprintf("promo_chunked: %s", what);
    return SQLITE_ERROR;
}

static int load_dict(cvtab *v)
{
    drop_dict(v);
    char *sql = sqlite3_mprintf("SELECT data FROM %s WHERE id >= ?1 AND id < ?1 + 4294967296 "
                                "ORDER BY id",
                                v->chunks);
    sqlite3_stmt *st = NULL;
    int rc = sql ? sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, -((int64_t)(v->dict_col + 1) << 32));
    size_t nb = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t m;
        const uint8_t *o;
        const char *k;
        if (chunk_dict_blob(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &m, &o,
                            &k)) {
            sqlite3_finalize(st);
            return vt_error(v, "a dictionary chunk is damaged");
        }
        uint32_t kb = chunk_u32(o, m);
        char *nk = sqlite3_realloc64(v->keys, nb + kb + 1);
        if (nk)
            v->keys = nk;
        uint32_t *no = nk ? sqlite3_realloc64(v->off, ((size_t)v->n_keys + m + 1) * 4) : NULL;
        if (no)
            v->off = no;
        if (!nk || !no) {
            sqlite3_finalize(st);
            return SQLITE_NOMEM;
        }
        memcpy(v->keys + nb, k, kb);
        for (uint32_t i = 0; i < m; i++)
            v->off[v->n_keys + i] = (uint32_t)nb + chunk_u32(o, i);
        nb += kb;
        v->n_keys += m;
        v->off[v->n_keys] = (uint32_t)nb;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return rc;
    v->loaded = 1;
    return SQLITE_OK;
}

static int cmp_prunes(char op, sqlite3_value *val, sqlite3_stmt *st)
{
    /* 1 if no row of this chunk can satisfy "col op val" given min/max (columns 1, 2) */
    int vt = sqlite3_value_numeric_type(val);
    if (sqlite3_column_type(st, 1) == SQLITE_NULL)
        return 1; /* every value null: no comparison is true */
    if (vt == SQLITE_INTEGER) {
        int64_t x = sqlite3_value_int64(val);
        int64_t mn = sqlite3_column_int64(st, 1), mx = sqlite3_column_int64(st, 2);
        switch (op) {
        case '=':
            return x < mn || x > mx;
        case '>':
            return mx <= x;
        case 'g':
            return mx < x;
        case '<':
            return mn >= x;
        default:
            return mn > x;
        }
    }
    if (vt == SQLITE_FLOAT) {
        double x = sqlite3_value_double(val);
        double mn = (double)sqlite3_column_int64(st, 1), mx = (double)sqlite3_column_int64(st, 2);
        if (isnan(x))
            return 0;
        switch (op) {
        case '=':
            return x < mn || x > mx;
        case '>':
            return mx <= x;
        case 'g':
            return mx < x;
        case '<':
            return mn >= x;
        default:
            return mn > x;
        }
    }
    if (vt == SQLITE_NULL)
        return 1;
    return 0; /* text or blob: no pruning */
}

static int cv_filter(
    sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv)
{
    ccursor *c = (ccursor *)cur;
    cvtab *v = (cvtab *)cur->pVtab;
    if (v->dict_mode) {
        int rc = v->loaded ? SQLITE_OK : load_dict(v);
        if (rc)
            return rc;
        c->code = 0;
        c->code_end = v->n_keys;
        if (idx_num == 1 && argc == 1) {
            int t = sqlite3_value_numeric_type(argv[0]);
            int64_t x = sqlite3_value_int64(argv[0]);
            if (t != SQLITE_INTEGER || x < 0 || x >= v->n_keys)
                c->code = c->code_end = 0;
            else
                c->code = x, c->code_end = x + 1;
        }
        return SQLITE_OK;
    }
    sqlite3_free(c->refs);
    c->refs = NULL;
    c->n_refs = c->k = 0;
    c->i = 0;
    memset(c->ready, 0, (size_t)v->n_cols);
    char *sql = sqlite3_mprintf("SELECT chunk, first_row, n_rows FROM %s WHERE id >= 0 AND col = 0 "
                                "ORDER BY id",
                                v->chunks);
    sqlite3_stmt *st = NULL;
    int rc = sql ? sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc)
        return rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->n_refs == cap) {
            size_t nc = cap ? 2 * cap : 64;
            chunk_ref *nr = sqlite3_realloc64(c->refs, nc * sizeof *nr);
            if (!nr) {
                sqlite3_finalize(st);
                return SQLITE_NOMEM;
            }
            c->refs = nr;
            cap = nc;
        }
        c->refs[c->n_refs++] = (chunk_ref){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                           sqlite3_column_int64(st, 2)};
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return rc;
    /* prune: a chunk goes when one pushed constraint cannot hold for any of its rows */
    const char *p = idx_str;
    for (int a = 0; p && *p && a < argc && a < idx_num; a++) {
        char op = *p++;
        int col = atoi(p);
        while (*p && *p != ',')
            p++;
        if (*p == ',')
            p++;
        sql = sqlite3_mprintf("SELECT chunk, min_v, max_v FROM %s WHERE id >= 0 AND col = %d",
                              v->chunks, col);
        rc = sql ? sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
        sqlite3_free(sql);
        if (rc)
            return rc;
        size_t r = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t ch = sqlite3_column_int64(st, 0);
            if (!cmp_prunes(op, argv[a], st))
                continue;
            for (size_t q = 0; q < c->n_refs; q++)
                if (c->refs[q].chunk == ch)
                    c->refs[q].n_rows = 0; /* nothing to visit there */
            r++;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return rc;
    }
    /* drop the emptied chunks */
    size_t w = 0;
    for (size_t q = 0; q < c->n_refs; q++)
        if (c->refs[q].n_rows > 0)
            c->refs[w++] = c->refs[q];
    c->n_refs = w;
    return SQLITE_OK;
}

static int cv_next(sqlite3_vtab_cursor *cur)
{
    ccursor *c = (ccursor *)cur;
    cvtab *v = (cvtab *)cur->pVtab;
    if (v->dict_mode) {
        c->code++;
        return SQLITE_OK;
    }
    if (++c->i >= c->refs[c->k].n_rows) {
        c->k++;
        c->i = 0;
        memset(c->ready, 0, (size_t)v->n_cols);
    }
    return SQLITE_OK;
}

static int cv_eof(sqlite3_vtab_cursor *cur)
{
    ccursor *c = (ccursor *)cur;
    cvtab *v = (cvtab *)cur->pVtab;
    return v->dict_mode ? c->code >= c->code_end : c->k >= c->n_refs;
}

/* Decode column j of the current chunk into the cursor. */
static int load_col(ccursor *c, cvtab *v, int j)
{
    const chunk_ref *r = &c->refs[c->k];
    if (!c->i64[j] && !(c->i64[j] = sqlite3_malloc64(CHUNK_ROWS * sizeof(int64_t))))
        return SQLITE_NOMEM;
    if (!c->f64[j] && !(c->f64[j] = sqlite3_malloc64(CHUNK_ROWS * sizeof(double))))
        return SQLITE_NOMEM;
    if (!c->nulls[j] && !(c->nulls[j] = sqlite3_malloc64(CHUNK_ROWS / 8)))
        return SQLITE_NOMEM;
    char *sql = sqlite3_mprintf("SELECT data FROM %s WHERE id = ?", v->chunks);
    sqlite3_stmt *st = NULL;
    int rc = sql ? sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, r->chunk * CHUNK_MAX_COLS + j);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int hn = 0;
        const uint8_t *b = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        /* the stored type: float64, or an integer kind (int64, timestamp, codes, bool) */
        promo_col_type ty = b && len >= 2 ? (promo_col_type)b[1] : PROMO_COL_TYPE_COUNT;
        if (r->n_rows > CHUNK_ROWS || (ty == PROMO_COL_FLOAT64) != (v->is_real[j] != 0) ||
            chunk_decode_blob(b, (size_t)len, (size_t)r->n_rows, ty, c->i64[j], c->f64[j],
                              c->nulls[j], &hn))
            rc = vt_error(v, "a column chunk is damaged");
        else
            rc = SQLITE_OK;
        c->has_nulls[j] = (uint8_t)hn;
        c->ready[j] = rc == SQLITE_OK;
    } else {
        rc = rc == SQLITE_DONE ? vt_error(v, "a column chunk is missing") : rc;
    }
    sqlite3_finalize(st);
    return rc;
}

static int cv_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int j)
{
    ccursor *c = (ccursor *)cur;
    cvtab *v = (cvtab *)cur->pVtab;
    if (v->dict_mode) {
        if (j == 0)
            sqlite3_result_int64(ctx, c->code);
        else
            sqlite3_result_text(ctx, v->keys + v->off[c->code],
                                (int)(v->off[c->code + 1] - v->off[c->code]), SQLITE_TRANSIENT);
        return SQLITE_OK;
    }
    if (j < 0 || j >= v->n_cols) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    if (!c->ready[j]) {
        int rc = load_col(c, v, j);
        if (rc)
            return rc;
    }
    size_t i = (size_t)c->i;
    if (c->has_nulls[j] && (c->nulls[j][i >> 6] >> (i & 63) & 1)) {
        sqlite3_result_null(ctx);
    } else if (v->is_real[j]) {
        double d = c->f64[j][i];
        if (isnan(d))
            sqlite3_result_text(ctx, "NaN", 3, SQLITE_STATIC);
        else
            sqlite3_result_double(ctx, d);
    } else {
        sqlite3_result_int64(ctx, c->i64[j][i]);
    }
    return SQLITE_OK;
}

static int cv_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    ccursor *c = (ccursor *)cur;
    cvtab *v = (cvtab *)cur->pVtab;
    *rowid = v->dict_mode ? c->code : c->refs[c->k].first_row + c->i + 1;
    return SQLITE_OK;
}

static const sqlite3_module chunk_module = {
    .iVersion = 0,
    .xCreate = cv_connect, /* the chunks are made by the store, not by CREATE VIRTUAL TABLE */
    .xConnect = cv_connect,
    .xBestIndex = cv_best_index,
    .xDisconnect = cv_disconnect,
    .xDestroy = cv_disconnect,
    .xOpen = cv_open,
    .xClose = cv_close,
    .xFilter = cv_filter,
    .xNext = cv_next,
    .xEof = cv_eof,
    .xColumn = cv_column,
    .xRowid = cv_rowid,
};

int chunk_vtab_register(sqlite3 *db)
{
    return sqlite3_create_module_v2(db, CHUNK_MODULE, &chunk_module, NULL, NULL);
}
