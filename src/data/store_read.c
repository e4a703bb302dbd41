/* Reading tables from the workspace store (promo_store_read_table, promo_store_read_columns,
 * promo_store_list_tables): dictionaries once, then the rows into the column arrays in place.
 * How and why: the top of store.c. */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/store.h>

#include "data/store_internal.h"
#include "data/store_rows.h"

int store_type_from_name(const char *name, promo_col_type *out)
{
    for (int t = 0; t < PROMO_COL_TYPE_COUNT; t++)
        if (strcmp(name, promo_col_type_name((promo_col_type)t)) == 0) {
            *out = (promo_col_type)t;
            return 0;
        }
    return -1;
}

/* How a stored table is read: its columns, their types and (STRING columns of tables
 * written by promo) dictionary tables, and the relation holding the rows. */
typedef struct read_plan {
    char **names;          /* column names */
    promo_col_type *types; /* promo types */
    char **dicts;          /* dictionary table per column, or NULL: strings stored as TEXT */
    int *pos;              /* position of each column in the stored table */
    size_t n;              /* columns */
    char *from;            /* quoted relation: the data table, or the foreign table itself */
    int rowid;             /* 1: `from` has a rowid (insertion order) */
} read_plan;

static void free_read_plan(read_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        promo_free(p->names[i]);
        if (p->dicts)
            promo_free(p->dicts[i]);
    }
    promo_free(p->names);
    promo_free(p->types);
    promo_free(p->dicts);
    promo_free(p->pos);
    promo_free(p->from);
    memset(p, 0, sizeof *p);
}

/* Columns of a stored table: from promo_columns for tables written by promo, else from the
 * SQL schema (INTEGER int64, REAL float64, else string). */
static int table_columns(promo_store *s, const char *name, read_plan *p)
{
    memset(p, 0, sizeof *p);
    if (!promo_store_has_table(s, name))
        return promo_fail(PROMO_ENOTFOUND, "workspace %s has no table '%s'", s->ws_dir, name);
    sbuf b = {0};
    store_sb_add(&b, DATA_PREFIX "%s", name);
    int ours = !b.failed && store_has_object(s, b.s, 0);
    p->rowid = ours || store_has_object(s, name, 0); /* a view of someone else's has no rowid */
    b.n = 0;
    if (ours)
        store_sb_data_ident(&b, name);
    else
        store_sb_ident(&b, name);
    if (b.failed) {
        promo_free(b.s);
        return PROMO_ENOMEM;
    }
    p->from = b.s;
    const char *sql = ours ? "SELECT column_name, NULL, type, dict FROM promo_columns WHERE "
                             "table_name=?1 ORDER BY position"
                           : "SELECT c.name, c.type, NULL, NULL FROM pragma_table_info(?1) c "
                             "ORDER BY c.cid";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "table columns");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t old = cap;
        if (promo_grow((void **)&p->names, &cap, p->n + 1, sizeof *p->names)) {
            rc = PROMO_ENOMEM;
            break;
        }
        if (cap != old) {
            promo_col_type *nt = promo_reallocn(p->types, cap, sizeof *p->types);
            if (nt)
                p->types = nt;
            char **nd = nt ? promo_reallocn(p->dicts, cap, sizeof *p->dicts) : NULL;
            if (nd)
                p->dicts = nd;
            int *np = nd ? promo_reallocn(p->pos, cap, sizeof *p->pos) : NULL;
            if (np)
                p->pos = np;
            if (!nt || !nd || !np) {
                rc = PROMO_ENOMEM;
                break;
            }
        }
        const char *cn = (const char *)sqlite3_column_text(st, 0);
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        const char *pt = (const char *)sqlite3_column_text(st, 2);
        const char *dict = (const char *)sqlite3_column_text(st, 3);
        promo_col_type ty = PROMO_COL_STRING;
        if (!pt || store_type_from_name(pt, &ty)) {
            if (decl && !strcasecmp(decl, "INTEGER"))
                ty = PROMO_COL_INT64;
            else if (decl && !strcasecmp(decl, "REAL"))
                ty = PROMO_COL_FLOAT64;
        }
        p->names[p->n] = promo_strdup(cn ? cn : "");
        p->dicts[p->n] = dict ? promo_strdup(dict) : NULL;
        p->types[p->n] = ty;
        p->pos[p->n] = (int)p->n;
        p->n++;
        if (!p->names[p->n - 1] || (dict && !p->dicts[p->n - 1])) {
            rc = PROMO_ENOMEM;
            break;
        }
    }
    if (rc == SQLITE_DONE)
        rc = PROMO_OK;
    else if (rc != PROMO_ENOMEM)
        rc = store_db_fail(s, rc, "table columns");
    sqlite3_finalize(st);
    return rc;
}

/* Intern a batch of values that must get codes first .. first+n-1 (they are distinct).
 * PROMO_OK, PROMO_ENOMEM, or -1 if the values were not distinct. */
static int intern_batch(promo_column *c,
                        char *buf,
                        const uint32_t *off,
                        const uint32_t *lens,
                        size_t n,
                        uint32_t first,
                        const char **keys,
                        uint32_t *got)
{
    for (size_t i = 0; i < n; i++)
        keys[i] = buf + off[i];
    if (promo_dict_intern_batch(c->dict, keys, lens, n, got))
        return PROMO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (got[i] != first + i)
            return -1;
    return PROMO_OK;
}

/* Load dictionary table `dict` into c->dict: entry k of the table becomes code k. Values
 * are copied out in batches and interned with promo_dict_intern_batch, which overlaps the
 * hash-slot cache misses (a 1M-entry order_id dictionary is mostly misses). */
enum { DICT_BATCH = 512, DICT_BATCH_BYTES = 1 << 16 };

static int read_dict(promo_store *s, const char *table, const char *dict, promo_column *c)
{
    sbuf b = {0};
    store_sb_add(&b, "SELECT count(*) FROM ");
    store_sb_ident(&b, dict);
    long long count = 0;
    int rc = b.failed ? PROMO_ENOMEM : store_query_int(s, b.s, &count);
    if (!rc && count > 0 &&
        (count >= (long long)PROMO_DICT_NONE || promo_dict_reserve(c->dict, (size_t)count)))
        rc = PROMO_ENOMEM;
    b.n = 0;
    store_sb_add(&b, "SELECT code, value FROM ");
    store_sb_ident(&b, dict);
    store_sb_add(&b, " ORDER BY code");
    sqlite3_stmt *st = NULL;
    int src;
    if (!rc && b.failed)
        rc = PROMO_ENOMEM;
    if (!rc && (src = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL)) != SQLITE_OK)
        rc = store_db_fail(s, src, "read dictionary");
    promo_free(b.s);
    size_t buf_cap = DICT_BATCH_BYTES;
    char *buf = rc ? NULL : promo_malloc(buf_cap);
    uint32_t *off = rc ? NULL : promo_mallocn(DICT_BATCH, 3 * sizeof *off);
    const char **keys = rc ? NULL : promo_mallocn(DICT_BATCH, sizeof *keys);
    if (!rc && (!buf || !off || !keys))
        rc = PROMO_ENOMEM;
    uint32_t *lens = off ? off + DICT_BATCH : NULL, *got = off ? off + 2 * DICT_BATCH : NULL;
    uint32_t k = 0, first = 0;
    size_t nb = 0, used = 0;
    int bad = 0; /* the table is not 0..n-1 of distinct values */
    while (!rc) {
        if ((src = sqlite3_step(st)) == SQLITE_DONE) {
            rc = intern_batch(c, buf, off, lens, nb, first, keys, got);
            break;
        }
        if (src != SQLITE_ROW) {
            rc = store_db_fail(s, src, "read dictionary");
            break;
        }
        const char *v = (const char *)sqlite3_column_text(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (!v && sqlite3_column_type(st, 1) != SQLITE_NULL) {
            rc = PROMO_ENOMEM;
            break;
        }
        if (!v || sqlite3_column_int64(st, 0) != k || len >= UINT32_MAX) {
            bad = 1;
            break;
        }
        if (nb == DICT_BATCH || used + len + 1 > buf_cap) {
            if ((rc = intern_batch(c, buf, off, lens, nb, first, keys, got)))
                break;
            first += (uint32_t)nb;
            nb = used = 0;
        }
        if (len + 1 > buf_cap && promo_grow((void **)&buf, &buf_cap, len + 1, 1)) {
            rc = PROMO_ENOMEM;
            break;
        }
        memcpy(buf + used, v, len + 1);
        off[nb] = (uint32_t)used;
        lens[nb++] = (uint32_t)len;
        used += len + 1;
        k++;
    }
    if (bad || rc == -1)
        rc = promo_fail(PROMO_EINPUT,
                        "%s/%s: table '%s', column '%s': dictionary %s is not "
                        "0, 1, 2, ... of distinct values",
                        s->ws_dir, DB_NAME, table, c->name, dict);
    else if (rc == PROMO_ENOMEM)
        rc = promo_fail(PROMO_ENOMEM, "out of memory reading %s", table);
    promo_free(buf);
    promo_free(off);
    promo_free(keys);
    sqlite3_finalize(st);
    return rc;
}

static int read_rows(promo_store *s, const char *name, const read_plan *p, promo_table **out)
{
    promo_table *t = promo_table_new(name);
    sqlite3_stmt *st = NULL;
    sbuf b = {0};
    int rc = PROMO_ENOMEM;
    if (!t)
        goto done;
    for (size_t j = 0; j < p->n; j++) {
        promo_column *c = NULL;
        if ((rc = promo_table_add_column(t, p->names[j], p->types[j], &c)))
            goto done;
        if (p->dicts[j] && p->types[j] == PROMO_COL_STRING &&
            (rc = read_dict(s, name, p->dicts[j], c)))
            goto done;
    }
    store_sb_add(&b, "SELECT count(*) FROM %s", p->from);
    long long count = 0;
    rc = PROMO_ENOMEM;
    if (b.failed || (rc = store_query_int(s, b.s, &count)))
        goto done;
    /* Sized once, then filled in place: no per-value push. */
    for (size_t j = 0; j < p->n; j++)
        if ((rc = promo_column_resize(t->cols[j], (size_t)count)))
            goto done;
    b.n = 0;
    store_sb_add(&b, "SELECT ");
    for (size_t j = 0; j < p->n; j++) {
        store_sb_add(&b, j ? ", " : "");
        store_sb_ident(&b, p->names[j]);
    }
    store_sb_add(&b, " FROM %s%s", p->from, p->rowid ? " ORDER BY rowid" : "");
    rc = PROMO_ENOMEM;
    if (b.failed)
        goto done;
    if ((rc = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL)) != SQLITE_OK) {
        rc = store_db_fail(s, rc, "read");
        goto done;
    }
    size_t r = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r >= (size_t)count) {
            rc = promo_fail(PROMO_EDB, "%s/%s: table '%s' grew while read", s->ws_dir, DB_NAME,
                            name);
            goto done;
        }
        for (size_t j = 0; j < p->n; j++) {
            promo_column *c = t->cols[j];
            int ct = sqlite3_column_type(st, (int)j);
            if (ct == SQLITE_NULL) {
                if ((rc = promo_column_set_null(c, r)))
                    goto done;
                continue;
            }
            switch (c->type) {
            case PROMO_COL_INT64:
                c->i64[r] = sqlite3_column_int64(st, (int)j);
                break;
            case PROMO_COL_TIMESTAMP:
                /* The range write_table enforces: a promo.db changed by other means must not
                 * hand INT64_MIN to date arithmetic (store_write.c, check_values). */
                c->i64[r] = sqlite3_column_int64(st, (int)j);
                if (c->i64[r] < STORE_TS_MIN || c->i64[r] > STORE_TS_MAX) {
                    rc = promo_fail(PROMO_EINPUT,
                                    "%s/%s: table '%s', row %zu, column '%s': timestamp %lld is "
                                    "outside 1900-01-01 .. 2199-12-31",
                                    s->ws_dir, DB_NAME, name, r + 1, c->name, (long long)c->i64[r]);
                    goto done;
                }
                break;
            case PROMO_COL_FLOAT64:
                c->f64[r] = ct == SQLITE_TEXT ? NAN : sqlite3_column_double(st, (int)j);
                break;
            case PROMO_COL_BOOL:
                c->b[r] = sqlite3_column_int(st, (int)j) != 0;
                break;
            default:
                if (p->dicts[j]) {
                    sqlite3_int64 code = sqlite3_column_int64(st, (int)j);
                    if (code < 0 || code >= (sqlite3_int64)promo_dict_size(c->dict)) {
                        rc = promo_fail(PROMO_EINPUT,
                                        "%s/%s: table '%s', column '%s': code "
                                        "%lld is not in dictionary %s",
                                        s->ws_dir, DB_NAME, name, c->name, (long long)code,
                                        p->dicts[j]);
                        goto done;
                    }
                    c->codes[r] = (uint32_t)code;
                } else {
                    const char *txt = (const char *)sqlite3_column_text(st, (int)j);
                    int len = sqlite3_column_bytes(st, (int)j);
                    uint32_t code =
                        txt ? promo_dict_intern(c->dict, txt, (size_t)len) : PROMO_DICT_NONE;
                    if (code == PROMO_DICT_NONE) {
                        rc = promo_fail(PROMO_ENOMEM, "out of memory reading %s", name);
                        goto done;
                    }
                    c->codes[r] = code;
                }
            }
        }
        r++;
    }
    if (rc != SQLITE_DONE) {
        rc = store_db_fail(s, rc, "read");
        goto done;
    }
    if (r != (size_t)count) {
        rc =
            promo_fail(PROMO_EDB, "%s/%s: table '%s' changed while read", s->ws_dir, DB_NAME, name);
        goto done;
    }
    if ((rc = promo_table_seal(t)))
        goto done;
    *out = t;
    t = NULL;
done:
    sqlite3_finalize(st);
    promo_free(b.s);
    promo_table_free(t);
    return rc;
}

int promo_store_read_table(promo_store *s, const char *name, promo_table **out)
{
    return promo_store_read_columns(s, name, NULL, 0, out);
}

/* Keep the rows whose ts_col value is in [lo, hi) (a table in the row layout: read whole,
 * then filtered here). */
static int filter_range(promo_table **t, int ts_col, int64_t lo, int64_t hi)
{
    const promo_column *c = (*t)->cols[ts_col];
    size_t n = (*t)->n_rows, kept = 0;
    uint8_t *keep = promo_malloc(n ? n : 1);
    if (!keep)
        return PROMO_ENOMEM;
    for (size_t r = 0; r < n; r++) {
        keep[r] = !promo_column_is_null(c, r) && c->i64[r] >= lo && c->i64[r] < hi;
        kept += keep[r];
    }
    if (kept == n) {
        promo_free(keep);
        return PROMO_OK;
    }
    promo_table *f = promo_table_filter(*t, keep);
    promo_free(keep);
    if (!f)
        return PROMO_ENOMEM;
    promo_table_free(*t);
    *t = f;
    return PROMO_OK;
}

static int read_range(promo_store *s,
                      const char *name,
                      const char *const *columns,
                      size_t n_columns,
                      const char *ts_column,
                      int64_t lo,
                      int64_t hi,
                      promo_table **out)
{
    *out = NULL;
    read_plan p;
    int rc = table_columns(s, name, &p);
    int ts_pos = -1;
    if (!rc && ts_column) {
        for (size_t j = 0; j < p.n; j++)
            if (!strcmp(p.names[j], ts_column))
                ts_pos = (int)j;
        if (ts_pos < 0)
            rc = promo_fail(PROMO_ENOTFOUND, "workspace %s: table '%s' has no column '%s'",
                            s->ws_dir, name, ts_column);
        else if (p.types[ts_pos] != PROMO_COL_TIMESTAMP)
            rc =
                promo_fail(PROMO_EUSAGE, "workspace %s: table '%s': column '%s' is not a timestamp",
                           s->ws_dir, name, ts_column);
    }
    if (!rc && columns) {
        /* Keep the requested columns, in the requested order. */
        for (size_t k = 0; k < n_columns && !rc; k++) {
            size_t j = k;
            while (j < p.n && strcmp(p.names[j], columns[k]) != 0)
                j++;
            if (j == p.n) {
                rc = promo_fail(PROMO_ENOTFOUND, "workspace %s: table '%s' has no column '%s'",
                                s->ws_dir, name, columns[k]);
                break;
            }
            char *tn = p.names[k];
            p.names[k] = p.names[j];
            p.names[j] = tn;
            char *td = p.dicts[k];
            p.dicts[k] = p.dicts[j];
            p.dicts[j] = td;
            promo_col_type tt = p.types[k];
            p.types[k] = p.types[j];
            p.types[j] = tt;
            int tp = p.pos[k];
            p.pos[k] = p.pos[j];
            p.pos[j] = tp;
        }
        if (!rc) {
            for (size_t j = n_columns; j < p.n; j++) {
                promo_free(p.names[j]);
                promo_free(p.dicts[j]);
            }
            p.n = n_columns;
        }
    }
    int chunked = !rc && store_is_chunked(s, name);
    if (!rc && chunked) {
        rc = chunk_read(s, name, p.names, p.types, p.pos, p.n, ts_pos >= 0, ts_pos, lo, hi, out);
    } else if (!rc) {
        /* the row layout: the range column may not be among those read */
        int at = -1;
        for (size_t j = 0; j < p.n && ts_pos >= 0; j++)
            if (p.pos[j] == ts_pos)
                at = (int)j;
        int added = 0;
        if (ts_pos >= 0 && at < 0) {
            /* not asked for: read it for the filter, then drop it (the columns beyond p.n
             * were freed, their slots are free) */
            if (!(p.names[p.n] = promo_strdup(ts_column)))
                rc = PROMO_ENOMEM;
            p.types[p.n] = PROMO_COL_TIMESTAMP;
            p.dicts[p.n] = NULL;
            p.pos[p.n] = ts_pos;
            at = (int)p.n++;
            added = 1;
        }
        if (!rc)
            rc = read_rows(s, name, &p, out);
        if (!rc && ts_pos >= 0)
            rc = filter_range(out, at, lo, hi);
        if (!rc && added)
            rc = promo_table_drop_column(*out, ts_column);
        if (rc) {
            promo_table_free(*out);
            *out = NULL;
        }
    }
    free_read_plan(&p);
    return rc;
}

int promo_store_read_columns(promo_store *s,
                             const char *name,
                             const char *const *columns,
                             size_t n_columns,
                             promo_table **out)
{
    return read_range(s, name, columns, n_columns, NULL, 0, 0, out);
}

int promo_store_read_range(promo_store *s,
                           const char *name,
                           const char *const *columns,
                           size_t n_columns,
                           const char *ts_column,
                           int64_t lo,
                           int64_t hi,
                           promo_table **out)
{
    if (!ts_column)
        return promo_fail(PROMO_EUSAGE, "read_range: no range column");
    return read_range(s, name, columns, n_columns, ts_column, lo, hi, out);
}

int promo_store_list_tables(promo_store *s, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    /* Tables written by promo are views over promo_data__* (hidden, like the dictionaries). */
    const char *sql = "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name "
                      "NOT LIKE "
                      "'promo\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                      "ORDER BY name";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "list tables");
    /* Two passes over the result: sizes, then one block (array + strings). */
    size_t count = 0, bytes = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        count++;
        bytes += (size_t)sqlite3_column_bytes(st, 0) + 1;
    }
    if (rc != SQLITE_DONE) {
        rc = store_db_fail(s, rc, "list tables");
        sqlite3_finalize(st);
        return rc;
    }
    char **arr = promo_malloc(count * sizeof(char *) + bytes + 1);
    if (!arr) {
        sqlite3_finalize(st);
        return PROMO_ENOMEM;
    }
    char *strs = (char *)(arr + count);
    size_t k = 0;
    size_t n_schema = 0;
    const promo_schema *all = promo_schema_all(&n_schema);
    sqlite3_reset(st);
    /* Canonical tables first, in load order, then the rest by name. */
    char *p = strs;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < (pass == 0 ? n_schema : 1); i++) {
            sqlite3_reset(st);
            while (sqlite3_step(st) == SQLITE_ROW && k < count) {
                const char *nm = (const char *)sqlite3_column_text(st, 0);
                int canon = promo_schema_find(nm) != NULL;
                if (pass == 0 ? strcmp(nm, all[i].name) != 0 : canon)
                    continue;
                size_t len = strlen(nm);
                if ((size_t)(p - strs) + len + 1 > bytes)
                    break;
                memcpy(p, nm, len + 1);
                arr[k++] = p;
                p += len + 1;
            }
        }
    }
    sqlite3_finalize(st);
    *names = arr;
    *n = k;
    return PROMO_OK;
}

int promo_store_query(promo_store *s, const char *sql, promo_store_row_fn fn, void *ctx)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, &tail);
    if (src != SQLITE_OK)
        return promo_fail(PROMO_EINPUT, "%s: %s", sql, sqlite3_errmsg(s->db));
    if (!st)
        return promo_fail(PROMO_EUSAGE, "no SQL statement in \"%s\"", sql);
    while (tail &&
           (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
        tail++;
    int rc = PROMO_OK;
    if (tail && *tail)
        rc = promo_fail(PROMO_EUSAGE, "one SQL statement at a time (after it: \"%.40s\")", tail);
    else if (!sqlite3_stmt_readonly(st))
        rc = promo_fail(PROMO_EUSAGE,
                        "\"%s\" would change the workspace: promo sql runs queries only (change "
                        "data with promo ingest/generate)",
                        sql);
    int n = sqlite3_column_count(st);
    const char **names = rc ? NULL : promo_calloc((size_t)n + 1, 2 * sizeof *names);
    if (!rc && !names)
        rc = PROMO_ENOMEM;
    const char **vals = names ? names + n + 1 : NULL;
    for (int j = 0; !rc && j < n; j++)
        names[j] = sqlite3_column_name(st, j);
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        for (int j = 0; j < n; j++)
            vals[j] = (const char *)sqlite3_column_text(st, j);
        rc = fn(ctx, n, names, vals);
    }
    if (!rc && src != SQLITE_DONE)
        rc = store_db_fail(s, src, "query");
    promo_free(names);
    sqlite3_finalize(st);
    return rc;
}
