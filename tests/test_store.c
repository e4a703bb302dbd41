/* Tests of the workspace store (src/data/store*.c): round trips of every column type, the
 * canonical layout, schema versions, atomicity of new and existing workspaces, staged
 * files (visible only at commit, nothing left by a rollback or a failed stage, leftovers of
 * dead processes removed), and allocation failures. */
#include <dirent.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/schema.h>
#include <promo/store.h>
#include <promo/table.h>

#include "t.h"
#include "t_world.h"

/* A non-canonical table with one column of each type, nulls in each, a NaN and odd text. */
static promo_table *all_types_table(const char *name, size_t n_rows)
{
    promo_table *t = promo_table_new(name);
    promo_column *ci, *cf, *cs, *ct, *cb;
    if (!t || promo_table_add_column(t, "i", PROMO_COL_INT64, &ci) ||
        promo_table_add_column(t, "f", PROMO_COL_FLOAT64, &cf) ||
        promo_table_add_column(t, "s \"quoted\"", PROMO_COL_STRING, &cs) ||
        promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ct) ||
        promo_table_add_column(t, "b", PROMO_COL_BOOL, &cb))
        goto fail;
    for (size_t r = 0; r < n_rows; r++) {
        int null = r % 5 == 3;
        char buf[32];
        int len = snprintf(buf, sizeof buf, "v%zu,\"é\"", r % 7);
        if ((null ? promo_column_push_null(ci) : promo_column_push_i64(ci, (int64_t)r * -123457)) ||
            (null ? promo_column_push_null(cf)
                  : promo_column_push_f64(cf, r == 1 ? NAN : (double)r / 3.0)) ||
            (null     ? promo_column_push_null(cs)
             : r == 2 ? promo_column_push_str(cs, "", 0)
                      : promo_column_push_str(cs, buf, (size_t)len)) ||
            (null ? promo_column_push_null(ct)
                  : promo_column_push_i64(ct, 1291191960 + (int64_t)r * 86400)) ||
            (null ? promo_column_push_null(cb) : promo_column_push_bool(cb, (int)(r & 1))))
            goto fail;
    }
    if (promo_table_seal(t))
        goto fail;
    return t;
fail:
    promo_table_free(t);
    return NULL;
}

/* 1 if a and b have the same columns, types, nulls and values (NaN equals NaN). */
static int tables_equal(const promo_table *a, const promo_table *b, char *why, size_t n_why)
{
    if (a->n_rows != b->n_rows || a->n_cols != b->n_cols) {
        snprintf(why, n_why, "shape %zux%zu vs %zux%zu", a->n_rows, a->n_cols, b->n_rows,
                 b->n_cols);
        return 0;
    }
    for (size_t j = 0; j < a->n_cols; j++) {
        const promo_column *x = a->cols[j], *y = b->cols[j];
        if (strcmp(x->name, y->name) || x->type != y->type || x->n_null != y->n_null) {
            snprintf(why, n_why, "column %zu: %s/%s/%zu vs %s/%s/%zu", j, x->name,
                     promo_col_type_name(x->type), x->n_null, y->name, promo_col_type_name(y->type),
                     y->n_null);
            return 0;
        }
        for (size_t r = 0; r < a->n_rows; r++) {
            int nx = promo_column_is_null(x, r), ny = promo_column_is_null(y, r), eq = nx == ny;
            if (eq && !nx) {
                switch (x->type) {
                case PROMO_COL_STRING:
                    eq = !strcmp(promo_column_str(x, r), promo_column_str(y, r));
                    break;
                case PROMO_COL_FLOAT64:
                    eq = x->f64[r] == y->f64[r] || (isnan(x->f64[r]) && isnan(y->f64[r]));
                    break;
                case PROMO_COL_BOOL:
                    eq = x->b[r] == y->b[r];
                    break;
                default:
                    eq = x->i64[r] == y->i64[r];
                    break;
                }
            }
            if (!eq) {
                snprintf(why, n_why, "column %s row %zu differs", x->name, r);
                return 0;
            }
        }
    }
    return 1;
}

static char *ws_path(const char *name)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/%s", t_tmpdir(), name);
    return p;
}

T_TEST(store_roundtrip_all_types_noncanonical)
{
    const char *ws = ws_path("ws");
    promo_table *t = all_types_table("truth_things", 50);
    T_ASSERT(t != NULL);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    promo_store_close(s);
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(promo_store_has_table(s, "truth_things"), 1);
    T_ASSERT_EQ_INT(promo_store_has_table(s, "nope"), 0);
    promo_table *back = NULL;
    T_OK(promo_store_read_table(s, "truth_things", &back));
    char why[256] = "";
    T_ASSERT_MSG(tables_equal(t, back, why, sizeof why), "round trip: %s", why);
    T_ASSERT_STR_EQ(back->name, "truth_things");
    promo_table_free(back);
    /* A subset of columns, in the order asked. */
    const char *cols[] = {"ts", "i"};
    T_OK(promo_store_read_columns(s, "truth_things", cols, 2, &back));
    T_ASSERT_EQ_INT(back->n_cols, 2);
    T_ASSERT_STR_EQ(back->cols[0]->name, "ts");
    T_ASSERT_EQ_INT(back->cols[0]->type, PROMO_COL_TIMESTAMP);
    T_ASSERT_EQ_INT(back->cols[1]->i64[4], 4 * -123457);
    promo_table_free(back);
    const char *bad[] = {"nope"};
    T_ASSERT_EQ_INT(promo_store_read_columns(s, "truth_things", bad, 1, &back), PROMO_ENOTFOUND);
    T_ASSERT_EQ_INT(promo_store_read_table(s, "missing", &back), PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "no table 'missing'");
    promo_store_close(s);
    promo_table_free(t);
}

T_TEST(store_empty_table_roundtrip)
{
    const char *ws = ws_path("ws");
    promo_table *t = all_types_table("empty_one", 0);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    promo_table *back = NULL;
    T_OK(promo_store_read_table(s, "empty_one", &back));
    char why[256] = "";
    T_ASSERT_MSG(tables_equal(t, back, why, sizeof why), "round trip: %s", why);
    promo_table_free(back);
    promo_store_close(s);
    promo_table_free(t);
}

T_TEST(store_canonical_layout_keys_and_indexes)
{
    const char *ws = ws_path("ws");
    promo_table *t = promo_table_new("transactions");
    promo_column *o, *l, *p, *ts, *q, *u, *c;
    T_OK(promo_table_add_column(t, "order_id", PROMO_COL_STRING, &o));
    T_OK(promo_table_add_column(t, "line", PROMO_COL_INT64, &l));
    T_OK(promo_table_add_column(t, "product_id", PROMO_COL_STRING, &p));
    T_OK(promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ts));
    T_OK(promo_table_add_column(t, "quantity", PROMO_COL_FLOAT64, &q));
    T_OK(promo_table_add_column(t, "unit_price", PROMO_COL_FLOAT64, &u));
    T_OK(promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &c));
    for (int r = 0; r < 10; r++) {
        T_OK(promo_column_push_str(o, r < 5 ? "A" : "B", 1));
        T_OK(promo_column_push_i64(l, r % 5 + 1));
        T_OK(promo_column_push_str(p, "P1", 2));
        T_OK(promo_column_push_i64(ts, 1000 + r));
        T_OK(promo_column_push_f64(q, r == 3 ? -1 : 2));
        T_OK(promo_column_push_f64(u, 1.5));
        T_OK(r == 7 ? promo_column_push_null(c) : promo_column_push_str(c, "C1", 2));
    }
    T_OK(promo_table_seal(t));
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    promo_table *back = NULL;
    T_OK(promo_store_read_table(s, "transactions", &back));
    /* Every canonical column, in schema order; the missing ones all null. */
    const promo_schema *sc = promo_schema_find("transactions");
    T_ASSERT_EQ_INT(back->n_cols, sc->n_fields);
    for (size_t j = 0; j < sc->n_fields; j++) {
        T_ASSERT_STR_EQ(back->cols[j]->name, sc->fields[j].name);
        T_ASSERT_EQ_INT(back->cols[j]->type, sc->fields[j].type);
    }
    T_ASSERT_EQ_INT(promo_table_column(back, "store_id")->n_null, 10);
    T_ASSERT_EQ_INT(promo_table_column(back, "customer_id")->n_null, 1);
    promo_table_free(back);
    /* The SQL layout people query by hand: a view with the strings, over a data table of
     * integer codes and one dictionary per string column (distinct values only). */
    sqlite3 *db = promo_store_db(s);
    sqlite3_stmt *st = NULL;
    T_ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                                       "SELECT group_concat(order_id || ':' || line || ':' || "
                                       "coalesce(customer_id, 'NULL'), ' ') FROM transactions",
                                       -1, &st, NULL),
                    SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    T_ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 0),
                    "A:1:C1 A:2:C1 A:3:C1 A:4:C1 A:5:C1 B:1:C1 B:2:C1 B:3:NULL B:4:C1 B:5:C1");
    sqlite3_finalize(st);
    T_ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                                       "SELECT typeof(order_id), (SELECT group_concat(code || '=' "
                                       "|| value) FROM promo_dict__transactions__order_id), "
                                       "(SELECT count(*) FROM promo_dict__transactions__store_id), "
                                       "(SELECT count(*) FROM sqlite_master WHERE type='index' "
                                       "AND tbl_name LIKE '%transactions') "
                                       "FROM promo_data__transactions WHERE rowid=1",
                                       -1, &st, NULL),
                    SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    T_ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 0), "integer");
    T_ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 1), "0=A,1=B");
    T_ASSERT_EQ_INT(sqlite3_column_int(st, 2), 0);
    T_ASSERT_EQ_INT(sqlite3_column_int(st, 3), 0);
    sqlite3_finalize(st);
    /* A duplicate key is refused by the unique index, and the old table stays. */
    promo_column_push_str(o, "A", 1);
    promo_column_push_i64(l, 2);
    promo_column_push_str(p, "P1", 2);
    promo_column_push_i64(ts, 1);
    promo_column_push_f64(q, 1);
    promo_column_push_f64(u, 1);
    promo_column_push_str(c, "C1", 2);
    T_OK(promo_table_seal(t));
    T_ASSERT_EQ_INT(promo_store_write_table(s, t), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "duplicate primary key (order_id='A', line=2)");
    T_OK(promo_store_read_table(s, "transactions", &back));
    T_ASSERT_EQ_INT(back->n_rows, 10);
    promo_table_free(back);
    /* Wrong canonical type and null in a required field. */
    promo_table *bad = promo_table_new("products");
    promo_column *pid, *price;
    T_OK(promo_table_add_column(bad, "product_id", PROMO_COL_STRING, &pid));
    T_OK(promo_table_add_column(bad, "price", PROMO_COL_STRING, &price));
    T_OK(promo_column_push_str(pid, "P1", 2));
    T_OK(promo_column_push_str(price, "1", 1));
    T_OK(promo_table_seal(bad));
    T_ASSERT_EQ_INT(promo_store_write_table(s, bad), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "canonical type is float64");
    promo_table_free(bad);
    bad = promo_table_new("products");
    T_OK(promo_table_add_column(bad, "product_id", PROMO_COL_STRING, &pid));
    T_OK(promo_column_push_null(pid));
    T_OK(promo_table_seal(bad));
    T_ASSERT_EQ_INT(promo_store_write_table(s, bad), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "required column 'product_id' has 1 nulls");
    promo_table_free(bad);
    /* Reserved names. */
    promo_table *r = all_types_table("promo_x", 1);
    T_ASSERT_EQ_INT(promo_store_write_table(s, r), PROMO_EUSAGE);
    promo_table_free(r);
    promo_store_close(s);
    promo_table_free(t);
}

T_TEST(store_list_tables_and_meta)
{
    const char *ws = ws_path("ws");
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_begin(s));
    const char *names[] = {"zeta", "transactions", "alpha", "customers"};
    for (int i = 0; i < 4; i++) {
        promo_table *t = promo_schema_find(names[i])
                             ? promo_schema_new_table(promo_schema_find(names[i]))
                             : all_types_table(names[i], 3);
        T_ASSERT(t != NULL);
        T_OK(promo_table_seal(t));
        T_OK(promo_store_write_table(s, t));
        promo_table_free(t);
    }
    T_OK(promo_store_meta_set(s, "generate.seed", "42"));
    T_OK(promo_store_commit(s));
    char **list = NULL;
    size_t n = 0;
    T_OK(promo_store_list_tables(s, &list, &n));
    T_ASSERT_EQ_INT(n, 4);
    T_ASSERT_STR_EQ(list[0], "customers");
    T_ASSERT_STR_EQ(list[1], "transactions");
    T_ASSERT_STR_EQ(list[2], "alpha");
    T_ASSERT_STR_EQ(list[3], "zeta");
    promo_free(list);
    char *v = promo_store_meta_get(s, "generate.seed");
    T_ASSERT_STR_EQ(v, "42");
    promo_free(v);
    v = promo_store_meta_get(s, "schema_version");
    char want[16];
    snprintf(want, sizeof want, "%d", PROMO_SCHEMA_VERSION);
    T_ASSERT_STR_EQ(v, want);
    promo_free(v);
    T_ASSERT(promo_store_meta_get(s, "absent") == NULL);
    promo_store_close(s);
}

T_TEST(store_new_workspace_appears_only_at_commit)
{
    const char *dir = t_tmpdir();
    char ws[600];
    snprintf(ws, sizeof ws, "%s/ws", dir);
    char *before = t_dir_digest(dir);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_ASSERT_EQ_INT(promo_store_exists(ws), 0);
    promo_table *t = all_types_table("things", 10);
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, t));
    /* A file written into the staged out/ dir is published with the workspace. */
    char path[700];
    snprintf(path, sizeof path, "%s/note.txt", promo_store_out_dir(s));
    T_OK(promo_store_stage_file(s, path, "hi\n", 3));
    promo_store_close(s); /* no commit: nothing may remain */
    char *after = t_dir_digest(dir);
    T_ASSERT_STR_EQ(after, before);
    free(after);
    /* Now with a commit. */
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, t));
    snprintf(path, sizeof path, "%s/note.txt", promo_store_out_dir(s));
    T_OK(promo_store_stage_file(s, path, "hi\n", 3));
    T_OK(promo_store_commit(s));
    T_ASSERT_EQ_INT(promo_store_exists(ws), 1);
    snprintf(path, sizeof path, "%s/out/note.txt", ws);
    char *txt = t_read_file(path, NULL);
    T_ASSERT_STR_EQ(txt, "hi\n");
    free(txt);
    snprintf(path, sizeof path, "%s/out", ws);
    T_ASSERT_STR_EQ(promo_store_out_dir(s), path);
    /* The store keeps working at the final path. */
    promo_table *back = NULL;
    T_OK(promo_store_read_table(s, "things", &back));
    T_ASSERT_EQ_INT(back->n_rows, 10);
    promo_table_free(back);
    promo_store_close(s);
    promo_table_free(t);
    free(before);
}

T_TEST(store_existing_workspace_unchanged_after_rollback)
{
    const char *ws = ws_path("ws");
    promo_table *t = all_types_table("things", 2000);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    promo_store_close(s);
    char *before = t_dir_digest(ws);
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_begin(s));
    promo_table *t2 = all_types_table("things", 5000);
    T_OK(promo_store_write_table(s, t2));
    T_OK(promo_store_write_table(s, t));
    T_OK(promo_store_meta_set(s, "k", "v"));
    char path[700];
    snprintf(path, sizeof path, "%s/rejects.csv", promo_store_out_dir(s));
    T_OK(promo_store_stage_file(s, path, "x\n", 2));
    T_ASSERT(access(path, F_OK) != 0); /* deferred until commit */
    T_OK(promo_store_rollback(s));
    promo_store_close(s);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    free(after);
    /* Closing with an open transaction rolls back too. */
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, t2));
    promo_store_close(s);
    after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    free(after);
    free(before);
    promo_table_free(t);
    promo_table_free(t2);
}

/* A new workspace <tmp>/name holding meta x = y, then `sql` run on its database directly
 * (a version written by another promo). */
static const char *ws_then_sql(const char *name, const char *sql)
{
    const char *ws = ws_path(name);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_meta_set(s, "x", "y"));
    promo_store_close(s);
    char db_path[700];
    snprintf(db_path, sizeof db_path, "%s/promo.db", ws);
    sqlite3 *db = NULL;
    T_ASSERT_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    return ws;
}

T_TEST(store_schema_version_mismatch)
{
    const char *ws = ws_then_sql("ws", "PRAGMA user_version=99");
    promo_store *s = NULL;
    char *before = t_dir_digest(ws);
    T_ASSERT_EQ_INT(promo_store_open(ws, 1, &s), PROMO_EVERSION);
    T_ASSERT(s == NULL);
    char want[800];
    snprintf(want, sizeof want, "workspace %s has schema version 99; this promo reads version %d",
             ws, PROMO_SCHEMA_VERSION);
    T_ASSERT_STR_EQ(promo_last_error(), want);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    free(before);
    free(after);
}

T_TEST(store_refuses_paths_that_are_not_workspaces)
{
    const char *dir = t_tmpdir();
    char file[600], ws[700], other[600];
    snprintf(file, sizeof file, "%s/somefile", dir);
    t_write_file(file, "x", 1);
    promo_store *s = NULL;
    /* Through a regular file: fails even for root. */
    snprintf(ws, sizeof ws, "%s/ws", file);
    T_ASSERT_EQ_INT(promo_store_open(ws, 1, &s), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), ws);
    /* The file itself. */
    T_ASSERT_EQ_INT(promo_store_open(file, 1, &s), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "not a directory");
    /* A non-empty directory without promo.db. */
    T_ASSERT_EQ_INT(promo_store_open(dir, 1, &s), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "not a promo workspace");
    /* Missing parent; missing workspace without create. */
    snprintf(other, sizeof other, "%s/no/such/ws", dir);
    T_ASSERT_EQ_INT(promo_store_open(other, 1, &s), PROMO_EINPUT);
    snprintf(other, sizeof other, "%s/absent", dir);
    T_ASSERT_EQ_INT(promo_store_open(other, 0, &s), PROMO_ENOTFOUND);
    /* A promo.db that is not a database. */
    snprintf(other, sizeof other, "%s/junk", dir);
    mkdir(other, 0755);
    snprintf(ws, sizeof ws, "%s/promo.db", other);
    t_write_file(ws, "this is not sqlite, just text, long enough to have a header......\n", 66);
    T_ASSERT_EQ_INT(promo_store_open(other, 1, &s), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "not a promo workspace database");
    /* An existing empty directory becomes a workspace. */
    snprintf(other, sizeof other, "%s/empty", dir);
    mkdir(other, 0755);
    T_OK(promo_store_open(other, 1, &s));
    T_OK(promo_store_meta_set(s, "a", "b"));
    promo_store_close(s);
    T_ASSERT_EQ_INT(promo_store_exists(other), 1);
}

T_TEST(store_atomic_write)
{
    const char *dir = t_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    T_OK(promo_atomic_write(path, "one", 3));
    T_OK(promo_atomic_write(path, "two!", 4));
    char *s = t_read_file(path, NULL);
    T_ASSERT_STR_EQ(s, "two!");
    free(s);
    snprintf(path, sizeof path, "%s/missing/f.txt", dir);
    T_ASSERT(promo_atomic_write(path, "x", 1) != 0);
    T_ASSERT_CONTAINS(promo_last_error(), path);
}

/* ---- files staged with the tables ---- */

/* A committed workspace with table "things" and models/m.json = "old model". */
static const char *staging_ws(const char *name, promo_table *t)
{
    const char *ws = ws_path(name);
    promo_store *s = NULL;
    if (promo_store_open(ws, 1, &s) || promo_store_write_table(s, t))
        return NULL;
    promo_store_close(s);
    char path[700];
    snprintf(path, sizeof path, "%s/models/m.json", ws);
    t_write_file(path, "old model", 9);
    return ws;
}

static void assert_file(const char *dir, const char *name, const char *want)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *got = t_read_file(path, NULL);
    T_ASSERT_MSG(got && !strcmp(got, want), "%s: '%s', want '%s'", path, got ? got : "(none)",
                 want);
    free(got);
}

T_TEST(store_staged_files_appear_only_at_commit)
{
    promo_table *t = all_types_table("things", 50);
    const char *ws = staging_ws("ws", t);
    T_ASSERT(ws);
    promo_store *s = NULL, *other = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    const char *models = promo_store_models_dir(s), *out = promo_store_out_dir(s);
    char m[700], a[700], b[700];
    snprintf(m, sizeof m, "%s/m.json", models);
    snprintf(a, sizeof a, "%s/a.png", out);
    snprintf(b, sizeof b, "%s/b.csv", out);
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, t));
    T_OK(promo_store_stage_file(s, m, "new model", 9));
    T_OK(promo_store_stage_file(s, a, "A", 1));
    T_OK(promo_store_stage_file(s, b, "B", 1));
    T_OK(promo_store_stage_file(s, b, "B2", 2)); /* staged twice: the later bytes, one temp */
    /* Written beside the destinations already, but invisible under their names. */
    assert_file(models, "m.json", "old model");
    T_ASSERT(access(a, F_OK) != 0 && access(b, F_OK) != 0);
    T_ASSERT_EQ_INT(t_count_temps(models), 1);
    T_ASSERT_EQ_INT(t_count_temps(out), 2);
    /* Another store opened meanwhile leaves a live process's temporaries alone. */
    T_OK(promo_store_open(ws, 0, &other));
    promo_store_close(other);
    T_ASSERT_EQ_INT(t_count_temps(out), 2);
    T_OK(promo_store_commit(s));
    assert_file(models, "m.json", "new model");
    assert_file(out, "a.png", "A");
    assert_file(out, "b.csv", "B2");
    T_ASSERT_EQ_INT(t_count_temps(models), 0);
    T_ASSERT_EQ_INT(t_count_temps(out), 0);
    /* Outside a transaction: written at once. */
    T_OK(promo_store_stage_file(s, a, "A2", 2));
    assert_file(out, "a.png", "A2");
    T_ASSERT_EQ_INT(t_count_temps(out), 0);
    promo_store_close(s);
    promo_table_free(t);
}

T_TEST(store_staged_files_rollback_and_close_leave_nothing)
{
    promo_table *t = all_types_table("things", 50), *t2 = all_types_table("things", 80);
    const char *ws = staging_ws("ws", t);
    T_ASSERT(ws);
    char *before = t_dir_digest(ws);
    promo_store *s = NULL;
    char m[700], a[700];
    for (int close_it = 0; close_it < 2; close_it++) {
        T_OK(promo_store_open(ws, 0, &s));
        snprintf(m, sizeof m, "%s/m.json", promo_store_models_dir(s));
        snprintf(a, sizeof a, "%s/a.png", promo_store_out_dir(s));
        T_OK(promo_store_begin(s));
        T_OK(promo_store_write_table(s, t2));
        T_OK(promo_store_stage_file(s, m, "new model", 9));
        T_OK(promo_store_stage_file(s, a, "A", 1));
        if (!close_it) /* else close rolls back */
            T_OK(promo_store_rollback(s));
        promo_store_close(s);
        char *after = t_dir_digest(ws);
        T_ASSERT_MSG(!strcmp(after, before), "close_it=%d: workspace changed", close_it);
        free(after);
    }
    free(before);
    /* A new workspace: a rolled-back file is not published by a later commit. */
    char ws2[600];
    snprintf(ws2, sizeof ws2, "%s/new", t_tmpdir());
    T_OK(promo_store_open(ws2, 1, &s));
    snprintf(a, sizeof a, "%s/a.png", promo_store_out_dir(s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_stage_file(s, a, "A", 1));
    T_OK(promo_store_rollback(s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, t));
    T_OK(promo_store_commit(s));
    snprintf(a, sizeof a, "%s/out", ws2);
    T_ASSERT_EQ_INT(t_count_temps(a), 0);
    snprintf(a, sizeof a, "%s/out/a.png", ws2);
    T_ASSERT(access(a, F_OK) != 0);
    promo_store_close(s);
    promo_table_free(t);
    promo_table_free(t2);
}

/* models/ is a regular file (as root, a read-only directory would not stop the write): the
 * stage fails at once, before the commit, and the rolled-back workspace is byte-identical. */
T_TEST(store_stage_into_unwritable_directory_fails_at_stage_time)
{
    promo_table *t = all_types_table("things", 50), *t2 = all_types_table("things", 80);
    const char *ws = staging_ws("ws", t);
    T_ASSERT(ws);
    char models[700], m[800], a[800];
    snprintf(models, sizeof models, "%s/models", ws);
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "rm -r '%s' && echo x > '%s'", models, models);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    char *before = t_dir_digest(ws);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    snprintf(m, sizeof m, "%s/m.json", promo_store_models_dir(s));
    snprintf(a, sizeof a, "%s/a.png", promo_store_out_dir(s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, t2));
    T_OK(promo_store_stage_file(s, a, "A", 1));
    T_ASSERT_EQ_INT(promo_store_stage_file(s, m, "new model", 9), PROMO_EIO);
    T_ASSERT_CONTAINS(promo_last_error(), m);
    T_ASSERT_CONTAINS(promo_last_error(), "cannot create");
    T_OK(promo_store_rollback(s));
    /* Outside a transaction the same path is the user's: PROMO_EINPUT. */
    T_ASSERT_EQ_INT(promo_store_stage_file(s, m, "x", 1), PROMO_EINPUT);
    promo_store_close(s);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before);
    free(after);
    free(before);
    promo_table_free(t);
    promo_table_free(t2);
}

/* Allocation failures around staged files: each run either commits both files or leaves
 * the workspace byte-identical (no temporary, no half of the pair). */
T_TEST(store_stage_alloc_failure_loop)
{
    promo_table *t = all_types_table("things", 5);
    const char *ws = staging_ws("ws", t);
    T_ASSERT(ws);
    char *before = t_dir_digest(ws);
    int completed = 0;
    for (long k = 1; k < 500 && !completed; k++) {
        promo_store *s = NULL;
        char m[700], a[700];
        promo_alloc_fail_at(k);
        int rc = promo_store_open(ws, 0, &s);
        if (!rc) {
            snprintf(m, sizeof m, "%s/m.json", promo_store_models_dir(s));
            snprintf(a, sizeof a, "%s/a.png", promo_store_out_dir(s));
            rc = promo_store_begin(s);
        }
        if (!rc && !(rc = promo_store_stage_file(s, m, "new model", 9)) &&
            !(rc = promo_store_stage_file(s, a, "A", 1)))
            rc = promo_store_commit(s);
        long used = promo_alloc_fail_at(0);
        promo_store_close(s);
        completed = used < k;
        char *after = t_dir_digest(ws);
        if (rc) {
            T_ASSERT_MSG(rc == PROMO_ENOMEM, "k=%ld: status %d: %s", k, rc, promo_last_error());
            T_ASSERT_MSG(!strcmp(after, before), "k=%ld: a failed run changed the workspace", k);
        } else {
            T_ASSERT_MSG(completed, "k=%ld: committed although an allocation failed", k);
            snprintf(m, sizeof m, "%s/models", ws);
            snprintf(a, sizeof a, "%s/out", ws);
            assert_file(m, "m.json", "new model");
            assert_file(a, "a.png", "A");
            T_ASSERT(t_count_temps(m) == 0 && t_count_temps(a) == 0);
        }
        free(after);
    }
    T_ASSERT(completed);
    free(before);
    promo_table_free(t);
}

/* Temporaries left by a killed command: the next open removes those of dead processes (and
 * the older "NAME.tmp-<pid>" ones), keeps a live process's and anything else. */
T_TEST(store_open_removes_temporaries_of_dead_processes)
{
    promo_table *t = all_types_table("things", 5);
    const char *ws = staging_ws("ws", t);
    T_ASSERT(ws);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    T_ASSERT(child > 0);
    T_ASSERT(waitpid(child, NULL, 0) == child);
    long dead = (long)child, self = (long)getpid();
    char names[8][96];
    snprintf(names[0], sizeof names[0], "models/.m.json.tmp-%ld-0", dead); /* removed */
    snprintf(names[1], sizeof names[1], "models/m.json.tmp-%ld", dead);    /* removed */
    snprintf(names[2], sizeof names[2], "out/.a.png.tmp-%ld-12", dead);    /* removed */
    snprintf(names[3], sizeof names[3], "models/.m.json.tmp-%ld-5", self); /* live */
    snprintf(names[4], sizeof names[4], "out/notes.tmp-x");                /* not ours */
    snprintf(names[5], sizeof names[5], "out/.a.png.tmp-%ld-1x", dead);    /* not ours */
    snprintf(names[6], sizeof names[6], "out/.tmp-%ld", dead);             /* not ours */
    snprintf(names[7], sizeof names[7], "out/.a.png.tmp-%ld", dead);       /* not ours */
    char path[800];
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "%s/%s", ws, names[i]);
        t_write_file(path, "junk", 4);
    }
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_store_close(s);
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "%s/%s", ws, names[i]);
        T_ASSERT_MSG((access(path, F_OK) == 0) == (i >= 3), "%s %s", names[i],
                     i >= 3 ? "was removed" : "is still there");
    }
    assert_file(ws, "models/m.json", "old model");
    promo_table_free(t);
}

/* In a child: open ws, replace "things" by t2, stage models/m.json and out/a.png, then commit
 * with PROMO_KILL_AT=kill_at (commit = NULL: killed before the commit). */
static void child_stage_and_die(const char *ws, const promo_table *t2, const char *kill_at)
{
    promo_store *s = NULL;
    char m[700], a[700], dir[700];
    /* Opened by a relative path from its parent directory; the parent reopens it by the
     * absolute one (what a commit records must not depend on the working directory). */
    snprintf(dir, sizeof dir, "%s", ws);
    *strrchr(dir, '/') = 0;
    if (chdir(dir) != 0 || promo_store_open(strrchr(ws, '/') + 1, 0, &s))
        _exit(3);
    snprintf(m, sizeof m, "%s/m.json", promo_store_models_dir(s));
    snprintf(a, sizeof a, "%s/a.png", promo_store_out_dir(s));
    if (promo_store_begin(s) || promo_store_write_table(s, t2) ||
        promo_store_stage_file(s, m, "new model", 9) || promo_store_stage_file(s, a, "A", 1))
        _exit(4);
    if (!kill_at)
        raise(SIGKILL);
    setenv("PROMO_KILL_AT", kill_at, 1);
    promo_store_commit(s);
    _exit(5); /* not reached: the kill point is in the commit */
}

static int run_killed_child(const char *ws, const promo_table *t2, const char *kill_at)
{
    pid_t pid = fork();
    if (pid == 0)
        child_stage_and_die(ws, t2, kill_at);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 0;
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

/* kill -9 at chosen points of a commit with staged files: before the SQL commit, the next
 * open finds the old rows and old files (byte for byte) and removes the temporaries; after it
 * (before the first rename, or between two), the next open finishes the renames: new tables, new
 * files, never a mix, and no temporary left. */
T_TEST(store_kill_during_commit_old_or_new_never_mixed)
{
    promo_table *t = all_types_table("things", 50), *t2 = all_types_table("things", 80);
    static const char *const points[] = {NULL, "publish", "publish:1"};
    for (int k = 0; k < 3; k++) {
        char name[16];
        snprintf(name, sizeof name, "ws%d", k);
        const char *ws = staging_ws(name, t);
        T_ASSERT(ws);
        char models[700], out[700];
        snprintf(models, sizeof models, "%s/models", ws);
        snprintf(out, sizeof out, "%s/out", ws);
        char *before_m = t_dir_digest(models), *before_o = t_dir_digest(out);
        T_ASSERT_MSG(run_killed_child(ws, t2, points[k]), "%s: the child was not killed",
                     points[k] ? points[k] : "before commit");
        promo_store *s = NULL;
        T_OK(promo_store_open(ws, 0, &s));
        promo_table *back = NULL;
        T_OK(promo_store_read_table(s, "things", &back));
        if (!points[k]) {
            T_ASSERT_EQ_INT(back->n_rows, 50);
            assert_file(models, "m.json", "old model");
        } else {
            T_ASSERT_EQ_INT(back->n_rows, 80);
            assert_file(models, "m.json", "new model");
            assert_file(out, "a.png", "A");
        }
        T_ASSERT_EQ_INT(t_count_temps(models), 0);
        T_ASSERT_EQ_INT(t_count_temps(out), 0);
        promo_table_free(back);
        promo_store_close(s);
        /* (promo.db itself may keep a stale -journal that SQLite ignores: compared by rows.) */
        char *after_m = t_dir_digest(models), *after_o = t_dir_digest(out);
        if (!points[k]) {
            T_ASSERT_STR_EQ(after_m, before_m);
            T_ASSERT_STR_EQ(after_o, before_o);
        }
        free(before_m);
        free(before_o);
        free(after_m);
        free(after_o);
    }
    promo_table_free(t);
    promo_table_free(t2);
}

/* Every allocation of a small open/write/read/close made to fail in turn: each must end in a
 * clean PROMO_ENOMEM (or succeed when the failed allocation had a fallback), leak nothing
 * (LeakSanitizer checks at exit), and never leave a half-made workspace behind. */
T_TEST(store_alloc_failure_loop)
{
    promo_table *t = all_types_table("things", 20);
    T_ASSERT(t != NULL);
    int completed = 0;
    for (long k = 1; k < 2000 && !completed; k++) {
        const char *dir = t_tmpdir();
        char ws[600];
        snprintf(ws, sizeof ws, "%s/ws", dir);
        promo_store *s = NULL;
        promo_table *back = NULL;
        promo_alloc_fail_at(k);
        int rc = promo_store_open(ws, 1, &s);
        if (!rc)
            rc = promo_store_write_table(s, t);
        if (!rc)
            rc = promo_store_read_table(s, "things", &back);
        long used = promo_alloc_fail_at(0);
        if (rc) {
            T_ASSERT_MSG(rc == PROMO_ENOMEM, "k=%ld: status %d: %s", k, rc, promo_last_error());
        } else {
            char why[256] = "";
            T_ASSERT_MSG(tables_equal(t, back, why, sizeof why), "k=%ld: %s", k, why);
        }
        int committed = promo_store_exists(ws);
        promo_store_close(s);
        promo_table_free(back);
        if (rc && !committed) {
            struct stat st;
            T_ASSERT_MSG(stat(ws, &st) != 0, "k=%ld: failed run left %s", k, ws);
        }
        completed = used < k;
    }
    T_ASSERT(completed);
    promo_table_free(t);
}

/* Layout edge cases of the dictionary-encoded tables: a dictionary with entries no row uses
 * (stored compacted, codes renumbered), keys out of order (the hash path of the key check),
 * a table replaced by one with other columns (old dictionaries dropped), dictionary names
 * that would collide, a table wider than the bulk loader (per-row path), and a table made
 * by hand in SQL (read from its declared types). */
T_TEST(store_dictionary_layout_edges)
{
    const char *ws = ws_path("ws");
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    /* customers with keys in descending order and an unused dictionary entry */
    promo_table *c = promo_table_new("customers");
    promo_column *id, *loc;
    T_OK(promo_table_add_column(c, "customer_id", PROMO_COL_STRING, &id));
    T_OK(promo_table_add_column(c, "location", PROMO_COL_STRING, &loc));
    T_ASSERT(promo_dict_intern(loc->dict, "unused", 6) == 0);
    for (int r = 0; r < 300; r++) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "C%03d", 299 - r);
        T_OK(promo_column_push_str(id, buf, (size_t)n));
        T_OK(r % 3 ? promo_column_push_str(loc, r % 2 ? "Paris" : "Lyon", r % 2 ? 5 : 4)
                   : promo_column_push_null(loc));
    }
    T_OK(promo_table_seal(c));
    T_OK(promo_store_write_table(s, c));
    promo_table *back = NULL;
    T_OK(promo_store_read_columns(s, "customers", (const char *[]){"customer_id", "location"}, 2,
                                  &back));
    char why[256] = "";
    T_ASSERT_MSG(tables_equal(c, back, why, sizeof why), "round trip: %s", why);
    T_ASSERT_EQ_INT(promo_dict_size(promo_table_column(back, "location")->dict), 2);
    promo_table_free(back);
    /* a duplicate far from its twin, in unordered keys */
    promo_column_push_str(id, "C150", 4);
    promo_column_push_null(loc);
    T_OK(promo_table_seal(c));
    T_ASSERT_EQ_INT(promo_store_write_table(s, c), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "duplicate primary key (customer_id='C150')");
    promo_table_free(c);
    /* "a__b"."c" and "a"."b__c" would share promo_dict__a__b__c */
    promo_table *x = promo_table_new("a__b"), *y = promo_table_new("a");
    promo_column *xc, *yc;
    T_OK(promo_table_add_column(x, "c", PROMO_COL_STRING, &xc));
    T_OK(promo_table_add_column(y, "b__c", PROMO_COL_STRING, &yc));
    T_OK(promo_column_push_str(xc, "x", 1));
    T_OK(promo_column_push_str(yc, "y", 1));
    T_OK(promo_table_seal(x));
    T_OK(promo_table_seal(y));
    T_OK(promo_store_write_table(s, x));
    T_OK(promo_store_write_table(s, y));
    T_OK(promo_store_read_table(s, "a__b", &back));
    T_ASSERT_STR_EQ(promo_column_str(back->cols[0], 0), "x");
    promo_table_free(back);
    T_OK(promo_store_read_table(s, "a", &back));
    T_ASSERT_STR_EQ(promo_column_str(back->cols[0], 0), "y");
    promo_table_free(back);
    /* replacing "a__b" by a table without strings drops its dictionary, not a's */
    promo_table_free(x);
    x = all_types_table("a__b", 0);
    T_OK(promo_table_drop_column(x, "s \"quoted\""));
    T_OK(promo_store_write_table(s, x));
    promo_table_free(x);
    sqlite3 *db = promo_store_db(s);
    sqlite3_stmt *st = NULL;
    T_ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                                       "SELECT group_concat(name, ' ') FROM (SELECT name FROM "
                                       "sqlite_master WHERE name LIKE 'promo_dict__a%' "
                                       "ORDER BY name)",
                                       -1, &st, NULL),
                    SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    T_ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 0), "promo_dict__a__b__c__0");
    sqlite3_finalize(st);
    promo_table_free(y);
    /* 70 columns: wider than promo_rows */
    promo_table *w = promo_table_new("wide");
    for (int j = 0; j < 70; j++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", j);
        promo_column *col;
        T_OK(promo_table_add_column(w, name, j % 2 ? PROMO_COL_STRING : PROMO_COL_INT64, &col));
        for (int r = 0; r < 5; r++)
            T_OK(j % 2    ? promo_column_push_str(col, r == 2 ? "two" : "other", r == 2 ? 3 : 5)
                 : r == 4 ? promo_column_push_null(col)
                          : promo_column_push_i64(col, j * 100 + r));
    }
    T_OK(promo_table_seal(w));
    T_OK(promo_store_write_table(s, w));
    T_OK(promo_store_read_table(s, "wide", &back));
    T_ASSERT_MSG(tables_equal(w, back, why, sizeof why), "wide round trip: %s", why);
    promo_table_free(back);
    promo_table_free(w);
    /* a table made in SQL by someone else */
    T_ASSERT_EQ_INT(sqlite3_exec(db,
                                 "CREATE TABLE notes (n INTEGER, x REAL, t TEXT); INSERT INTO "
                                 "notes VALUES (1, 0.5, 'hi'), (NULL, 2, NULL)",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    T_OK(promo_store_read_table(s, "notes", &back));
    T_ASSERT_EQ_INT(back->n_rows, 2);
    T_ASSERT_EQ_INT(back->cols[0]->type, PROMO_COL_INT64);
    T_ASSERT_EQ_INT(back->cols[1]->type, PROMO_COL_FLOAT64);
    T_ASSERT_STR_EQ(promo_column_str(back->cols[2], 0), "hi");
    T_ASSERT_EQ_INT(back->cols[2]->n_null, 1);
    promo_table_free(back);
    char **list = NULL;
    size_t n = 0;
    T_OK(promo_store_list_tables(s, &list, &n));
    T_ASSERT_EQ_INT(n, 5);
    T_ASSERT_STR_EQ(list[0], "customers");
    T_ASSERT_STR_EQ(list[1], "a");
    T_ASSERT_STR_EQ(list[2], "a__b");
    T_ASSERT_STR_EQ(list[3], "notes");
    T_ASSERT_STR_EQ(list[4], "wide");
    promo_free(list);
    promo_store_close(s);
}

/* promo_store_describe (what `promo info` prints): rows, types and nulls per column, the
 * first timestamp column's range, the transactions' figures; on a table promo wrote (codes,
 * dictionaries) and on one made by hand in SQL (DISTINCT over the rows). */
T_TEST(store_describe_tables)
{
    const char *ws = ws_path("ws");
    promo_table *t = promo_table_new("transactions");
    promo_column *o, *l, *p, *ts, *q, *u, *c;
    T_OK(promo_table_add_column(t, "order_id", PROMO_COL_STRING, &o));
    T_OK(promo_table_add_column(t, "line", PROMO_COL_INT64, &l));
    T_OK(promo_table_add_column(t, "product_id", PROMO_COL_STRING, &p));
    T_OK(promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ts));
    T_OK(promo_table_add_column(t, "quantity", PROMO_COL_FLOAT64, &q));
    T_OK(promo_table_add_column(t, "unit_price", PROMO_COL_FLOAT64, &u));
    T_OK(promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &c));
    for (int r = 0; r < 6; r++) {
        T_OK(promo_column_push_str(o, r < 3 ? "A" : "B", 1));
        T_OK(promo_column_push_i64(l, r % 3 + 1));
        T_OK(promo_column_push_str(p, r % 2 ? "P1" : "P2", 2));
        T_OK(promo_column_push_i64(ts, 5000 - r));
        T_OK(promo_column_push_f64(q, r == 4 ? -1 : 2));
        T_OK(promo_column_push_f64(u, 1.5));
        T_OK(r >= 4 ? promo_column_push_null(c) : promo_column_push_str(c, r ? "C1" : "C2", 2));
    }
    T_OK(promo_table_seal(t));
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    promo_store_table_info *ti = NULL;
    T_OK(promo_store_describe(s, "transactions", &ti));
    T_ASSERT_STR_EQ(ti->name, "transactions");
    T_ASSERT_EQ_INT(ti->n_rows, 6);
    const promo_schema *sc = promo_schema_find("transactions");
    T_ASSERT_EQ_INT(ti->n_cols, sc->n_fields);
    for (size_t j = 0; j < ti->n_cols; j++) {
        T_ASSERT_STR_EQ(ti->cols[j].name, sc->fields[j].name);
        T_ASSERT_EQ_INT(ti->cols[j].type, sc->fields[j].type);
    }
    T_ASSERT_STR_EQ(ti->cols[ti->date_col].name, "ts");
    T_ASSERT(ti->has_date_range && ti->date_min == 4995 && ti->date_max == 5000);
    int64_t nulls_cust = -1, nulls_store = -1;
    for (size_t j = 0; j < ti->n_cols; j++) {
        if (!strcmp(ti->cols[j].name, "customer_id"))
            nulls_cust = ti->cols[j].n_null;
        if (!strcmp(ti->cols[j].name, "store_id"))
            nulls_store = ti->cols[j].n_null;
    }
    T_ASSERT_EQ_INT(nulls_cust, 2);
    T_ASSERT_EQ_INT(nulls_store, 6); /* a canonical column the table lacked */
    T_ASSERT(ti->is_transactions);
    T_ASSERT_EQ_INT(ti->n_returns, 1);
    T_ASSERT_EQ_INT(ti->n_without_customer, 2);
    T_ASSERT_EQ_INT(ti->n_customers, 2);
    T_ASSERT_EQ_INT(ti->n_products, 2);
    T_ASSERT_EQ_INT(ti->n_orders, 2);
    promo_store_table_info_free(ti);

    /* A table made by hand: SQL types, DISTINCT over the rows, no date column. */
    sqlite3 *db = promo_store_db(s);
    T_ASSERT_EQ_INT(sqlite3_exec(db,
                                 "CREATE TABLE hand(a INTEGER, b TEXT, \"c\"\"q\" REAL);"
                                 "INSERT INTO hand VALUES (1, 'x', NULL), (2, NULL, 0.5)",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    T_OK(promo_store_describe(s, "hand", &ti));
    T_ASSERT_EQ_INT(ti->n_rows, 2);
    T_ASSERT_EQ_INT(ti->n_cols, 3);
    T_ASSERT_EQ_INT(ti->cols[0].type, PROMO_COL_INT64);
    T_ASSERT_EQ_INT(ti->cols[1].type, PROMO_COL_STRING);
    T_ASSERT_STR_EQ(ti->cols[2].name, "c\"q");
    T_ASSERT_EQ_INT(ti->cols[2].type, PROMO_COL_FLOAT64);
    T_ASSERT_EQ_INT(ti->cols[1].n_null, 1);
    T_ASSERT_EQ_INT(ti->date_col, -1);
    T_ASSERT(!ti->has_date_range && !ti->is_transactions);
    promo_store_table_info_free(ti);

    T_ASSERT_EQ_INT(promo_store_describe(s, "missing", &ti), PROMO_ENOTFOUND);
    T_ASSERT(ti == NULL);
    promo_store_table_info_free(NULL);
    promo_store_close(s);
    promo_table_free(t);
}

/* ---- column chunks (the large canonical tables, store.h "Chunked tables") ---- */

/* A transactions table of n rows: the canonical required columns, plus every type as extra
 * columns (from all_types_table: nulls, a NaN, an empty string, odd names). ts goes round the
 * clock out of order when shuffle is set (so chunks overlap in time). */
static promo_table *chunk_table(size_t n, size_t first, int shuffle)
{
    promo_table *t = all_types_table("transactions", n);
    promo_column *o, *l, *p, *ts, *q, *u;
    if (!t || promo_table_rename_column(t, "ts", "ts2") ||
        promo_table_add_column(t, "order_id", PROMO_COL_STRING, &o) ||
        promo_table_add_column(t, "line", PROMO_COL_INT64, &l) ||
        promo_table_add_column(t, "product_id", PROMO_COL_STRING, &p) ||
        promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ts) ||
        promo_table_add_column(t, "quantity", PROMO_COL_FLOAT64, &q) ||
        promo_table_add_column(t, "unit_price", PROMO_COL_FLOAT64, &u))
        goto fail;
    /* all_types_table's ts2 goes a day a row: past 2199 after 69k rows */
    promo_column *t2 = promo_table_column(t, "ts2");
    for (size_t r = 0; r < n; r++)
        t2->i64[r] = 1291191960 + (int64_t)(r % 20000) * 86400;
    for (size_t r = 0; r < n; r++) {
        char buf[32];
        size_t k = first + r;
        int len = snprintf(buf, sizeof buf, "O%zu", k / 3);
        int lp = snprintf(buf + 16, 16, "P%zu", (k * 7919) % 1000);
        size_t day = shuffle ? (k * 48271) % 500 : k / 300;
        if (promo_column_push_str(o, buf, (size_t)len) ||
            promo_column_push_i64(l, (int64_t)(k % 3) + 1) ||
            promo_column_push_str(p, buf + 16, (size_t)lp) ||
            promo_column_push_i64(ts, 1700000000 + (int64_t)day * 86400 + (int64_t)(k % 86400)) ||
            promo_column_push_f64(q, k % 11 == 0 ? -1.0 : 1.0 + (double)(k % 4)) ||
            promo_column_push_f64(u, k == 7 ? 0.5 + (double)(k % 100) / 7.0
                                            : (double)((k * 37) % 10000) / 100.0))
            goto fail;
    }
    if (promo_table_seal(t))
        goto fail;
    return t;
fail:
    promo_table_free(t);
    return NULL;
}

/* The columns of `want` read back from ws (in want's order). */
static void assert_stored_equals(promo_store *s, const promo_table *want)
{
    const char *cols[32];
    for (size_t j = 0; j < want->n_cols && j < 32; j++)
        cols[j] = want->cols[j]->name;
    promo_table *back = NULL;
    T_OK(promo_store_read_columns(s, want->name, cols, want->n_cols, &back));
    char why[256] = "";
    T_ASSERT_MSG(tables_equal(want, back, why, sizeof why), "round trip: %s", why);
    promo_table_free(back);
}

static char *sql_text(promo_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (sqlite3_prepare_v2(promo_store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    else
        fprintf(stderr, "sql_text: %s: %s\n", sql, sqlite3_errmsg(promo_store_db(s)));
    sqlite3_finalize(st);
    return v;
}

T_TEST(store_chunks_round_trip_every_type_across_chunk_boundaries)
{
    /* three chunks, the last partial; nulls, NaN and "" fall on both sides of each boundary */
    size_t n = 2 * 65536 + 1237;
    promo_table *t = chunk_table(n, 0, 0);
    T_ASSERT(t != NULL);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws_path("chunks"), 1, &s));
    T_OK(promo_store_write_table(s, t));
    assert_stored_equals(s, t);
    T_ASSERT_EQ_INT(t_sql_int(s,
                              "SELECT count(*) FROM promo_chunks__transactions WHERE id >= 0 AND "
                              "col = 0"),
                    3);
    /* SQL through the view gives what the row layout gives (chunk_vtab.c): the same table
     * written as rows into another workspace, the same queries on both */
    promo_store *r = NULL;
    setenv("PROMO_STORE_LAYOUT", "rows", 1);
    int orc = promo_store_open(ws_path("chunks_rows"), 1, &r);
    unsetenv("PROMO_STORE_LAYOUT");
    T_OK(orc);
    T_OK(promo_store_write_table(r, t));
    T_ASSERT_EQ_INT(t_sql_int(r, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
                                 "'promo_chunks%'"),
                    0);
    static const char *const queries[] = {
        "SELECT count(*) || '/' || count(i) || '/' || count(customer_id) FROM transactions",
        "SELECT group_concat(coalesce(f, 'null') || '/' || coalesce(\"s \"\"quoted\"\"\", "
        "'null') || '/' || coalesce(b, 'null') || '/' || order_id, ' ') FROM transactions WHERE "
        "rowid <= 6 OR rowid BETWEEN 65535 AND 65538",
        "SELECT sum(quantity * unit_price) || '/' || min(ts) || '/' || max(ts2) FROM transactions",
        "SELECT count(*) || '/' || sum(line) FROM transactions WHERE ts < 1700000000 + 200 * 86400",
        "SELECT count(*) FROM transactions WHERE ts >= 1700000000 + 300 * 86400 AND ts <= "
        "1700000000 + 301 * 86400",
        "SELECT count(*) FROM transactions WHERE line = 2 AND ts > 1700000000",
        "SELECT group_concat(x, ',') FROM (SELECT product_id || ':' || count(*) x FROM "
        "transactions "
        "GROUP BY product_id ORDER BY count(*) DESC, product_id LIMIT 5)",
        "SELECT typeof(order_id) || '/' || typeof(f) || '/' || typeof(ts) FROM "
        "promo_data__transactions WHERE rowid = 70000",
        "SELECT group_concat(code || '=' || value) FROM promo_dict__transactions__product_id WHERE "
        "code < 3",
        "SELECT count(*) FROM promo_dict__transactions__order_id",
    };
    for (size_t k = 0; k < sizeof queries / sizeof *queries; k++) {
        char *a = sql_text(s, queries[k]), *b = sql_text(r, queries[k]);
        T_ASSERT_MSG(a && b, "query %zu failed", k);
        T_ASSERT_MSG(!strcmp(a, b), "query %zu: chunks %s, rows %s", k, a, b);
        free(a);
        free(b);
    }
    promo_store_close(r);
    promo_store_table_info *ti = NULL;
    T_OK(promo_store_describe(s, "transactions", &ti));
    T_ASSERT_EQ_INT(ti->n_rows, (long long)n);
    T_ASSERT_EQ_INT(ti->n_orders, (long long)((n - 1) / 3 + 1));
    T_ASSERT_EQ_INT(ti->n_products, 1000);
    T_ASSERT_EQ_INT(ti->n_returns, (long long)((n - 1) / 11 + 1));
    T_ASSERT_EQ_INT(ti->n_without_customer, (long long)n);
    promo_store_table_info_free(ti);
    promo_store_close(s);
    promo_table_free(t);
}

/* read_range = read_table filtered, on chunks (where whole chunks are skipped) and on rows,
 * for ts in order and out of order, ranges inside one chunk, across several, empty, all. */
T_TEST(store_chunks_range_equals_the_filtered_full_scan)
{
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        promo_table *t = chunk_table(3 * 65536 + 99, 0, shuffle);
        T_ASSERT(t != NULL);
        char name[32];
        snprintf(name, sizeof name, "range%d", shuffle);
        promo_store *s = NULL;
        T_OK(promo_store_open(ws_path(name), 1, &s));
        T_OK(promo_store_write_table(s, t));
        promo_table *all = NULL;
        T_OK(promo_store_read_table(s, "transactions", &all));
        const promo_column *ts = promo_table_column(all, "ts");
        const int64_t day = 86400, t0 = 1700000000;
        const int64_t ranges[][2] = {{t0, t0 + 100 * day},
                                     {t0 + 250 * day, t0 + 260 * day},
                                     {t0 - day, t0},
                                     {t0 + 10 * day, t0 + 10 * day},
                                     {t0 + 655 * day, t0 + 700 * day},
                                     {INT64_MIN, INT64_MAX},
                                     {t0 + 218 * day + 5, t0 + 219 * day + 7}};
        for (size_t k = 0; k < sizeof ranges / sizeof *ranges; k++) {
            int64_t lo = ranges[k][0], hi = ranges[k][1];
            uint8_t *keep = malloc(all->n_rows);
            for (size_t r = 0; r < all->n_rows; r++)
                keep[r] = ts->i64[r] >= lo && ts->i64[r] < hi;
            promo_table *want = promo_table_filter(all, keep), *got = NULL;
            free(keep);
            T_OK(promo_store_read_range(s, "transactions", NULL, 0, "ts", lo, hi, &got));
            char why[256] = "";
            T_ASSERT_MSG(tables_equal(want, got, why, sizeof why), "range %zu (shuffle %d): %s", k,
                         shuffle, why);
            promo_table_free(got);
            /* some columns only, without ts */
            const char *cols[] = {"quantity", "order_id"};
            T_OK(promo_store_read_range(s, "transactions", cols, 2, "ts", lo, hi, &got));
            T_ASSERT_EQ_INT(got->n_rows, want->n_rows);
            T_ASSERT_EQ_INT(got->n_cols, 2);
            for (size_t r = 0; r < got->n_rows; r++)
                T_ASSERT(!strcmp(promo_column_str(got->cols[1], r),
                                 promo_column_str(promo_table_column(want, "order_id"), r)));
            promo_table_free(got);
            promo_table_free(want);
        }
        promo_table *none = NULL;
        T_ASSERT_EQ_INT(promo_store_read_range(s, "transactions", NULL, 0, "quantity", 0, 1, &none),
                        PROMO_EUSAGE);
        promo_table_free(all);
        promo_store_close(s);
        promo_table_free(t);
    }
}

/* The chunk rows (id, data) of ws's transactions, as one string of hex, for ids in [lo, hi)
 * (negative ids: the dictionaries). */
static char *chunk_bytes(promo_store *s, long long lo, long long hi)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT group_concat(id || ':' || hex(data), ',') FROM (SELECT id, data FROM "
             "promo_chunks__transactions WHERE id >= %lld AND id < %lld ORDER BY id)",
             lo, hi);
    return sql_text(s, sql);
}

/* A chunk changed by other means is refused with what is wrong, whichever thread decodes it:
 * a code outside its dictionary, a timestamp outside 1900..2199, a damaged header; and the
 * same table reads back whole once the change is undone. */
T_TEST(store_chunks_damaged_chunk_is_refused_with_its_reason)
{
    promo_table *t = chunk_table(3 * 65536 + 11, 0, 0);
    T_ASSERT(t != NULL);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws_path("damaged"), 1, &s));
    T_OK(promo_store_write_table(s, t));
    sqlite3 *db = promo_store_db(s);
    /* chunk 1: order_id is column 0, ts column 5 (canonical order); the base is bytes 9-16 */
    static const struct {
        const char *edit, *want;
    } cases[] = {
        {"UPDATE promo_chunks__transactions SET data = substr(data, 1, 8) || "
         "X'0000000000010000' || substr(data, 17) WHERE id = 4096",
         "is not in its dictionary"},
        {"UPDATE promo_chunks__transactions SET data = substr(data, 1, 8) || "
         "X'00C0E0DC01000000' || substr(data, 17) WHERE id = 4096 + 5",
         "outside 1900-01-01 .. 2199-12-31"},
        {"UPDATE promo_chunks__transactions SET data = X'58' || substr(data, 2) WHERE id = "
         "2 * 4096 + 6",
         "a column chunk is damaged"},
        {"UPDATE promo_chunks__transactions SET data = substr(data, 1, 100) WHERE id = 4096 + 1",
         "a column chunk is damaged"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        T_ASSERT_EQ_INT(sqlite3_exec(db, "SAVEPOINT edit", NULL, NULL, NULL), SQLITE_OK);
        T_ASSERT_EQ_INT(sqlite3_exec(db, cases[k].edit, NULL, NULL, NULL), SQLITE_OK);
        T_ASSERT_EQ_INT(sqlite3_changes(db), 1);
        promo_table *back = NULL;
        T_ASSERT_EQ_INT(promo_store_read_table(s, "transactions", &back), PROMO_EINPUT);
        T_ASSERT(back == NULL);
        T_ASSERT_CONTAINS(promo_last_error(), cases[k].want);
        T_ASSERT_CONTAINS(promo_last_error(), "table 'transactions'");
        /* a range that cuts through the changed chunk goes the exact way: the same answer */
        T_ASSERT_EQ_INT(promo_store_read_range(s, "transactions", NULL, 0, "ts",
                                               1700000000 + 300 * 86400, INT64_MAX, &back),
                        PROMO_EINPUT);
        T_ASSERT_CONTAINS(promo_last_error(), cases[k].want);
        T_ASSERT_EQ_INT(sqlite3_exec(db, "ROLLBACK TO edit; RELEASE edit", NULL, NULL, NULL),
                        SQLITE_OK);
    }
    assert_stored_equals(s, t);
    promo_store_close(s);
    promo_table_free(t);
}

/* The read hands batches of chunks over between this thread (reading the next batch from
 * SQLite) and the decoding tasks (the previous one): with one and two chunks a batch, four
 * chunks are four and two hand-overs. A column whose first null is in the last chunk gets its
 * null bitmap while earlier chunks decode; a damaged chunk in a later batch is refused with
 * its reason while the next batch is being read; a range goes through the same batches. */
T_TEST(store_chunks_read_hands_batches_over)
{
    size_t n = 3 * 65536 + 11;
    promo_table *t = chunk_table(n, 0, 0);
    T_ASSERT(t != NULL);
    promo_column *late = NULL, *late_s = NULL;
    T_OK(promo_table_add_column(t, "late", PROMO_COL_FLOAT64, &late));
    T_OK(promo_table_add_column(t, "late_s", PROMO_COL_STRING, &late_s));
    size_t want_null = 0;
    for (size_t r = 0; r < n; r++) {
        int null = r >= 3 * 65536 && r % 5 == 0;
        want_null += null;
        char key[16];
        int len = snprintf(key, sizeof key, "k%zu", r % 7);
        T_OK(null ? promo_column_push_null(late) : promo_column_push_f64(late, (double)r / 4));
        T_OK(null ? promo_column_push_null(late_s)
                  : promo_column_push_str(late_s, key, (size_t)len));
    }
    T_OK(promo_table_seal(t));
    promo_store *s = NULL;
    T_OK(promo_store_open(ws_path("batches"), 1, &s));
    T_OK(promo_store_write_table(s, t));
    sqlite3 *db = promo_store_db(s);
    for (int per = 1; per <= 2; per++) {
        char v[16];
        snprintf(v, sizeof v, "%d", per);
        setenv("PROMO_CHUNK_BATCH", v, 1);
        assert_stored_equals(s, t);
        promo_table *back = NULL;
        T_OK(promo_store_read_table(s, "transactions", &back));
        T_ASSERT_EQ_INT(promo_table_column(back, "late")->n_null, (long long)want_null);
        T_ASSERT_EQ_INT(promo_table_column(back, "late_s")->n_null, (long long)want_null);
        promo_table_free(back);
        /* a range that starts in chunk 1 and ends in chunk 2: two cut chunks, two batches at one
         * chunk a batch */
        T_OK(promo_store_read_range(s, "transactions", NULL, 0, "ts", 1700000000 + 300 * 86400,
                                    1700000000 + 600 * 86400, &back));
        T_ASSERT_EQ_INT(back->n_rows, 300 * 300);
        promo_table_free(back);
        static const struct {
            const char *edit, *want;
        } cases[] = {
            {"UPDATE promo_chunks__transactions SET data = substr(data, 1, 8) || "
             "X'0000000000010000' || substr(data, 17) WHERE id = 4096",
             "is not in its dictionary"},
            {"UPDATE promo_chunks__transactions SET data = substr(data, 1, 8) || "
             "X'00C0E0DC01000000' || substr(data, 17) WHERE id = 3 * 4096 + 5",
             "outside 1900-01-01 .. 2199-12-31"},
            {"UPDATE promo_chunks__transactions SET data = X'58' || substr(data, 2) WHERE id = "
             "2 * 4096 + 6",
             "a column chunk is damaged"},
        };
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            T_ASSERT_EQ_INT(sqlite3_exec(db, "SAVEPOINT edit", NULL, NULL, NULL), SQLITE_OK);
            T_ASSERT_EQ_INT(sqlite3_exec(db, cases[k].edit, NULL, NULL, NULL), SQLITE_OK);
            T_ASSERT_EQ_INT(sqlite3_changes(db), 1);
            T_ASSERT_EQ_INT(promo_store_read_table(s, "transactions", &back), PROMO_EINPUT);
            T_ASSERT(back == NULL);
            T_ASSERT_CONTAINS(promo_last_error(), cases[k].want);
            T_ASSERT_EQ_INT(sqlite3_exec(db, "ROLLBACK TO edit; RELEASE edit", NULL, NULL, NULL),
                            SQLITE_OK);
        }
    }
    unsetenv("PROMO_CHUNK_BATCH");
    assert_stored_equals(s, t);
    promo_store_close(s);
    promo_table_free(t);
}

/* Dictionaries whose keys are stored in increasing order (generated and ingested order ids)
 * are read chunk by chunk without a hash build, whose index is made on the first lookup: they
 * read back equal, over two dictionary chunks; lookups and a new key after the read give the
 * codes a hash-built dictionary gives. Keys increasing for their first hundred and not after,
 * keys increasing over the first dictionary chunk and not in the second, and a sorted
 * dictionary changed to hold a key twice, go the hash way from where the order breaks: the
 * first two read back equal, the third is refused with its reason. */
T_TEST(store_chunks_sorted_dictionaries_read_as_stored)
{
    size_t n = 65536 + 600;
    promo_table *t = chunk_table(n, 0, 0);
    T_ASSERT(t != NULL);
    promo_column *sorted = NULL, *later = NULL, *second = NULL;
    T_OK(promo_table_add_column(t, "sorted_ids", PROMO_COL_STRING, &sorted));
    T_OK(promo_table_add_column(t, "later_unsorted", PROMO_COL_STRING, &later));
    T_OK(promo_table_add_column(t, "second_chunk_unsorted", PROMO_COL_STRING, &second));
    for (size_t r = 0; r < n; r++) {
        char a[16], b[16], c[16];
        int la = snprintf(a, sizeof a, "S%07zu", r);
        int lb = r < 100 ? snprintf(b, sizeof b, "K%03zu", r) : snprintf(b, sizeof b, "J%zu", r);
        /* sorted over the first dictionary chunk (65536 keys), then lower keys */
        int lc = r < 65536 ? snprintf(c, sizeof c, "T%07zu", r) : snprintf(c, sizeof c, "A%zu", r);
        T_OK(promo_column_push_str(sorted, a, (size_t)la));
        T_OK(promo_column_push_str(later, b, (size_t)lb));
        T_OK(promo_column_push_str(second, c, (size_t)lc));
    }
    T_OK(promo_table_seal(t));
    promo_store *s = NULL;
    T_OK(promo_store_open(ws_path("sorted_dicts"), 1, &s));
    T_OK(promo_store_write_table(s, t));
    for (int per = 1; per <= 2; per++) {
        setenv("PROMO_CHUNK_BATCH", per == 1 ? "1" : "8", 1);
        assert_stored_equals(s, t);
        promo_table *back = NULL;
        T_OK(promo_store_read_table(s, "transactions", &back));
        promo_column *bs = promo_table_column(back, "sorted_ids"),
                     *bl = promo_table_column(back, "later_unsorted");
        T_ASSERT(bs && bl);
        T_ASSERT_EQ_INT(promo_dict_size(bs->dict), (long long)n);
        T_ASSERT_EQ_INT(promo_dict_find(bs->dict, "S0000000", 8), 0);
        T_ASSERT_EQ_INT(promo_dict_find(bs->dict, "S0065999", 8), 65999);
        T_ASSERT_EQ_INT(promo_dict_find(bs->dict, "S0066135", 8), 66135);
        T_ASSERT_EQ_INT(promo_dict_find(bs->dict, "S0066136", 8), PROMO_DICT_NONE);
        T_ASSERT_EQ_INT(promo_dict_intern(bs->dict, "A", 1), (long long)n);
        T_ASSERT_EQ_INT(promo_dict_intern(bs->dict, "S0000007", 8), 7);
        T_ASSERT_EQ_INT(promo_dict_find(bl->dict, "K099", 4), 99);
        T_ASSERT_EQ_INT(promo_dict_find(bl->dict, "J100", 4), 100);
        T_ASSERT_EQ_INT(promo_dict_find(bl->dict, "J65000", 6), 65000);
        promo_column *b2 = promo_table_column(back, "second_chunk_unsorted");
        T_ASSERT(b2 != NULL);
        T_ASSERT_EQ_INT(promo_dict_find(b2->dict, "T0065535", 8), 65535);
        T_ASSERT_EQ_INT(promo_dict_find(b2->dict, "A65536", 6), 65536);
        T_ASSERT_EQ_INT(promo_dict_find(b2->dict, "A66135", 6), 66135);
        promo_table_free(back);
    }
    unsetenv("PROMO_CHUNK_BATCH");
    /* key 5 of sorted_ids made equal to key 4 in its first dictionary chunk (65536 keys of 8
     * bytes after the count and 65537 offsets) */
    char sql[512];
    long long col = t_sql_int(s, "SELECT count(*) FROM promo_columns WHERE table_name = "
                                 "'transactions' AND position < (SELECT position FROM "
                                 "promo_columns WHERE table_name = 'transactions' AND "
                                 "column_name = 'sorted_ids')");
    T_ASSERT(col > 0);
    long long keys_at = 4 + 4 * 65537;
    snprintf(sql, sizeof sql,
             "UPDATE promo_chunks__transactions SET data = substr(data, 1, %lld) || "
             "'S0000004' || substr(data, %lld) WHERE id = %lld",
             keys_at + 8 * 5, keys_at + 8 * 6 + 1, -((col + 1) << 32));
    sqlite3 *db = promo_store_db(s);
    T_ASSERT_EQ_INT(sqlite3_exec(db, "SAVEPOINT edit", NULL, NULL, NULL), SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_changes(db), 1);
    promo_table *back = NULL;
    T_ASSERT_EQ_INT(promo_store_read_table(s, "transactions", &back), PROMO_EINPUT);
    T_ASSERT(back == NULL);
    T_ASSERT_CONTAINS(promo_last_error(), "the dictionary holds a value twice");
    T_ASSERT_EQ_INT(sqlite3_exec(db, "ROLLBACK TO edit; RELEASE edit", NULL, NULL, NULL),
                    SQLITE_OK);
    assert_stored_equals(s, t);
    promo_store_close(s);
    promo_table_free(t);
}

T_TEST(store_chunks_append_adds_chunks_without_rewriting)
{
    promo_table *t1 = chunk_table(70000, 0, 0), *t2 = chunk_table(5000, 70000, 1);
    promo_table *dup = chunk_table(10, 69995, 0);
    T_ASSERT(t1 && t2 && dup);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws_path("append"), 1, &s));
    T_OK(promo_store_write_table(s, t1));
    char *before = chunk_bytes(s, 0, 2 * 4096);        /* chunks 0 and 1 */
    char *dicts_before = chunk_bytes(s, INT64_MIN, 0); /* the dictionary chunks */
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT max(chunk) FROM promo_chunks__transactions"), 1);
    T_OK(promo_store_append_table(s, t2));
    char *after = chunk_bytes(s, 0, 2 * 4096);
    T_ASSERT_STR_EQ(after, before);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT max(chunk) FROM promo_chunks__transactions"), 2);
    /* dictionaries grew by new chunks only: the old ones are byte for byte the same */
    char *dicts_after = chunk_bytes(s, INT64_MIN, 0);
    T_ASSERT(strlen(dicts_after) > strlen(dicts_before));
    for (char *item = strtok(dicts_before, ","); item; item = strtok(NULL, ","))
        T_ASSERT_MSG(strstr(dicts_after, item) != NULL, "dictionary chunk %.20s rewritten", item);
    free(dicts_after);
    free(after);
    /* the table is now t1 then t2 */
    promo_table *both = chunk_table(75000, 0, 0);
    promo_table *back = NULL;
    T_OK(promo_store_read_table(s, "transactions", &back));
    T_ASSERT_EQ_INT(back->n_rows, 75000);
    for (size_t r = 0; r < 75000; r += 997)
        T_ASSERT(!strcmp(promo_column_str(promo_table_column(back, "order_id"), r),
                         promo_column_str(promo_table_column(both, "order_id"), r)));
    T_ASSERT_EQ_INT(promo_table_column(back, "ts")->i64[70001],
                    promo_table_column(t2, "ts")->i64[1]);
    promo_table_free(back);
    promo_table_free(both);
    /* a key already stored: refused, nothing changes */
    char *whole = chunk_bytes(s, INT64_MIN, INT64_MAX);
    T_ASSERT_EQ_INT(promo_store_append_table(s, dup), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "duplicate primary key");
    after = chunk_bytes(s, INT64_MIN, INT64_MAX);
    T_ASSERT_STR_EQ(after, whole);
    free(after);
    /* new orders only (the stored keys are not read then), but twice among themselves */
    promo_table *twice = chunk_table(6, 90000, 0);
    T_ASSERT(twice != NULL);
    promo_table_column(twice, "line")->i64[1] = promo_table_column(twice, "line")->i64[0];
    T_ASSERT_EQ_INT(promo_store_append_table(s, twice), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "duplicate primary key");
    promo_table_free(twice);
    after = chunk_bytes(s, INT64_MIN, INT64_MAX);
    T_ASSERT_STR_EQ(after, whole);
    free(after);
    free(whole);
    free(before);
    free(dicts_before);
    promo_store_table_info *ti = NULL;
    T_OK(promo_store_describe(s, "transactions", &ti));
    T_ASSERT_EQ_INT(ti->n_rows, 75000);
    T_ASSERT_EQ_INT(ti->n_orders, 25000);
    promo_store_table_info_free(ti);
    promo_store_close(s);
    promo_table_free(t1);
    promo_table_free(t2);
    promo_table_free(dup);
}

T_TEST(store_version2_workspace_is_read_then_migrated_by_a_writer)
{
    promo_table *t = chunk_table(70000, 0, 1);
    T_ASSERT(t != NULL);
    const char *ws = ws_path("v2");
    promo_store *s = NULL;
    setenv("PROMO_STORE_LAYOUT", "rows", 1);
    int orc = promo_store_open(ws, 1, &s);
    if (!orc)
        orc = promo_store_write_table(s, t);
    if (!orc)
        orc = promo_store_meta_set(s, "x", "y");
    unsetenv("PROMO_STORE_LAYOUT");
    T_OK(orc);
    char *version = promo_store_meta_get(s, "data.version");
    T_ASSERT(version != NULL);
    T_ASSERT_EQ_INT(t_sql_int(s, "PRAGMA user_version"), 2);
    promo_store_close(s);
    /* a reader reads version 2 as it is */
    T_OK(promo_store_open_read(ws, &s));
    assert_stored_equals(s, t);
    T_ASSERT_EQ_INT(t_sql_int(s, "PRAGMA user_version"), 2);
    promo_store_close(s);
    /* a writer migrates it, in one transaction, keeping the data version */
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(t_sql_int(s, "PRAGMA user_version"), PROMO_SCHEMA_VERSION);
    T_ASSERT_EQ_INT(
        t_sql_int(s, "SELECT count(*) FROM promo_chunks__transactions WHERE id >= 0 AND col = 0"),
        2);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM sqlite_master WHERE name = "
                                 "'promo_data__transactions' AND sql LIKE 'CREATE VIRTUAL%'"),
                    1);
    char *v2 = promo_store_meta_get(s, "data.version");
    T_ASSERT_STR_EQ(v2, version);
    free(v2);
    free(version);
    assert_stored_equals(s, t);
    promo_store_close(s);
    promo_table_free(t);
}

/* kill -9 between two chunk writes (inside the SQL transaction) of a generate --force that
 * replaces a world: the next command finds the old tables exactly. (A forked child would
 * inherit the parent's OpenMP pool, which hangs libgomp: the CLI runs in its own process.) */
T_TEST(store_kill_between_chunk_writes_leaves_the_old_table)
{
    const char *ws = ws_path("killchunk");
    char cmd[1600], *err = NULL;
    snprintf(cmd, sizeof cmd,
             "%s generate -q --ws %s --customers 100 --products 20 --transactions 2000 --months 6",
             t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    promo_store *s = NULL;
    promo_table *before = NULL, *after = NULL;
    T_OK(promo_store_open_read(ws, &s));
    T_OK(promo_store_read_table(s, "transactions", &before));
    char *events = sql_text(s, "SELECT count(*) || '/' || sum(ts) FROM events");
    promo_store_close(s);
    for (int k = 1; k <= 2; k++) {
        snprintf(cmd, sizeof cmd,
                 "PROMO_KILL_AT=chunk:%d %s generate -q --ws %s --force --customers 150 --products "
                 "20 --transactions 100000 --months 6",
                 k, t_promo_bin(), ws);
        int rc = t_sh(cmd, NULL, &err);
        free(err);
        T_ASSERT_EQ_INT(rc, 128 + SIGKILL);
        T_OK(promo_store_open_read(ws, &s));
        T_OK(promo_store_read_table(s, "transactions", &after));
        char why[256] = "";
        T_ASSERT_MSG(tables_equal(before, after, why, sizeof why), "kill at chunk %d: %s", k, why);
        promo_table_free(after);
        char *ev = sql_text(s, "SELECT count(*) || '/' || sum(ts) FROM events");
        T_ASSERT_STR_EQ(ev, events);
        free(ev);
        promo_store_close(s);
        snprintf(cmd, sizeof cmd, "%s info --ws %s", t_promo_bin(), ws);
        T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    }
    free(events);
    promo_table_free(before);
}

/* SQL access as documented (store.h, README): promo sql reads every table, the chunked ones
 * included, refuses anything that writes; promo export writes a table as CSV. */
T_TEST(store_chunks_sql_and_export_commands)
{
    const char *ws = ws_path("sqlws");
    char args[2000], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "generate -q --ws %s --customers 80 --products 15 --transactions 1500 "
             "--months 6",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    promo_store *s = NULL;
    promo_table *tx = NULL;
    T_OK(promo_store_open_read(ws, &s));
    T_OK(promo_store_read_table(s, "transactions", &tx));
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM promo_chunks__transactions WHERE id >= 0"),
                    11);
    promo_store_close(s);
    const promo_column *ts = promo_table_column(tx, "ts");
    long long cut = ts->i64[tx->n_rows / 2], before = 0;
    for (size_t r = 0; r < tx->n_rows; r++)
        before += ts->i64[r] < cut;
    snprintf(args, sizeof args,
             "sql --ws %s \"SELECT count(*), min(order_id) FROM transactions "
             "WHERE ts < %lld\"",
             ws, cut);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    char want[200];
    snprintf(want, sizeof want, "%lld|%s\n", before,
             promo_column_str(promo_table_column(tx, "order_id"), 0));
    T_ASSERT_STR_EQ(out, want);
    free(out);
    snprintf(args, sizeof args,
             "sql --ws %s --csv \"SELECT order_id, line FROM transactions "
             "LIMIT 2\"",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT(!strncmp(out, "order_id,line\n", 14));
    free(out);
    /* nothing that writes, and the workspace stays byte for byte */
    char *digest = t_dir_digest(ws);
    snprintf(args, sizeof args, "sql --ws %s \"INSERT INTO promo_meta VALUES ('a', 'b')\"", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "queries only");
    free(err);
    snprintf(args, sizeof args, "sql --ws %s \"SELECT 1; DELETE FROM promo_meta\"", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    free(err);
    snprintf(args, sizeof args, "sql --ws %s \"SELECT nope FROM transactions\"", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "no such column");
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, digest);
    free(after);
    free(digest);
    /* export: a header and one line per row, in stored order */
    char csv[800];
    snprintf(csv, sizeof csv, "%s/tx.csv", t_tmpdir());
    snprintf(args, sizeof args, "export --ws %s --table transactions --out %s", ws, csv);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "wc -l < %s; head -c 14 %s", csv, csv);
    t_sh(args, &out, NULL);
    snprintf(want, sizeof want, "%zu\norder_id,line,", tx->n_rows + 1);
    T_ASSERT_STR_EQ(out, want);
    free(out);
    snprintf(args, sizeof args, "export --ws %s --table nope", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 2);
    promo_table_free(tx);
}

/* ---- promo info from stored statistics ---- */

/* Distinct non-null values of a STRING column, counted on its codes. */
static long long distinct_codes(const promo_column *c)
{
    uint32_t nd = promo_dict_size(c->dict);
    uint8_t *seen = calloc(nd ? nd : 1, 1);
    long long k = 0;
    for (size_t r = 0; r < c->n; r++)
        if (!promo_column_is_null(c, r) && !seen[c->codes[r]]) {
            seen[c->codes[r]] = 1;
            k++;
        }
    free(seen);
    return k;
}

/* promo_store_describe of `name` against the same figures computed by scanning the table as
 * read back: rows, nulls per column, the first timestamp column's range, the transactions'
 * returns, rows without customer and distinct ids. */
static void assert_info_equals_scan(promo_store *s, const char *name)
{
    promo_store_table_info *ti = NULL;
    promo_table *t = NULL;
    T_OK(promo_store_describe(s, name, &ti));
    T_OK(promo_store_read_table(s, name, &t));
    T_ASSERT_EQ_INT(ti->n_rows, (long long)t->n_rows);
    T_ASSERT_EQ_INT(ti->n_cols, (long long)t->n_cols);
    int date_col = -1;
    for (size_t j = 0; j < t->n_cols; j++) {
        const promo_column *c = t->cols[j];
        long long nn = 0;
        for (size_t r = 0; r < t->n_rows; r++)
            nn += promo_column_is_null(c, r);
        T_ASSERT_STR_EQ(ti->cols[j].name, c->name);
        T_ASSERT_MSG(ti->cols[j].n_null == nn, "%s.%s: %lld nulls stored, %lld scanned", name,
                     c->name, (long long)ti->cols[j].n_null, nn);
        if (date_col < 0 && c->type == PROMO_COL_TIMESTAMP)
            date_col = (int)j;
    }
    T_ASSERT_EQ_INT(ti->date_col, date_col);
    if (date_col >= 0) {
        const promo_column *c = t->cols[date_col];
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        for (size_t r = 0; r < t->n_rows; r++)
            if (!promo_column_is_null(c, r)) {
                mn = c->i64[r] < mn ? c->i64[r] : mn;
                mx = c->i64[r] > mx ? c->i64[r] : mx;
            }
        T_ASSERT_EQ_INT(ti->has_date_range, mn <= mx);
        if (mn <= mx) {
            T_ASSERT_EQ_INT(ti->date_min, mn);
            T_ASSERT_EQ_INT(ti->date_max, mx);
        }
    }
    if (!strcmp(name, "transactions")) {
        const promo_column *q = promo_table_column(t, "quantity");
        long long ret = 0;
        for (size_t r = 0; r < t->n_rows; r++)
            ret += !promo_column_is_null(q, r) && q->f64[r] < 0;
        T_ASSERT_EQ_INT(ti->n_returns, ret);
        T_ASSERT_EQ_INT(ti->n_without_customer,
                        (long long)promo_table_column(t, "customer_id")->n_null);
        T_ASSERT_EQ_INT(ti->n_customers, distinct_codes(promo_table_column(t, "customer_id")));
        T_ASSERT_EQ_INT(ti->n_products, distinct_codes(promo_table_column(t, "product_id")));
        T_ASSERT_EQ_INT(ti->n_orders, distinct_codes(promo_table_column(t, "order_id")));
    }
    promo_table_free(t);
    promo_store_table_info_free(ti);
}

/* A version-2 workspace (rows, written before promo_stats existed): the migration writes the
 * statistics of every table it keeps as rows, in its transaction, so info answers from them
 * (and they agree with a scan of the rows). */
/* Events customer by customer, products unordered inside (as generate writes them): the key
 * check goes run by run of the ordered column; a repeat inside a run is refused with its key,
 * the same products under another customer or at another time are not repeats. */
T_TEST(store_key_check_by_runs_of_an_ordered_column)
{
    promo_store *s = NULL;
    T_OK(promo_store_open(ws_path("keyruns"), 1, &s));
    promo_table *t = promo_table_new("events");
    promo_column *cu, *pr, *ts, *kind;
    T_OK(promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &cu));
    T_OK(promo_table_add_column(t, "product_id", PROMO_COL_STRING, &pr));
    T_OK(promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ts));
    T_OK(promo_table_add_column(t, "kind", PROMO_COL_STRING, &kind));
    for (int c = 0; c < 200; c++)
        for (int j = 0; j < 40; j++) {
            char cb[16], pb[16];
            int cn = snprintf(cb, sizeof cb, "C%03d", c);
            int pn = snprintf(pb, sizeof pb, "P%02d", (j * 7 + c) % 40);
            T_OK(promo_column_push_str(cu, cb, (size_t)cn));
            T_OK(promo_column_push_str(pr, pb, (size_t)pn));
            T_OK(promo_column_push_i64(ts, 1000 + j % 3));
            T_OK(promo_column_push_str(kind, "view", 4));
        }
    T_OK(promo_table_seal(t));
    T_OK(promo_store_write_table(s, t));
    /* customer C199's run gets a second (P03, ts 1000): the first was its 13th line */
    T_OK(promo_column_push_str(cu, "C199", 4));
    T_OK(promo_column_push_str(pr, "P03", 3));
    T_OK(promo_column_push_i64(ts, 1000));
    T_OK(promo_column_push_str(kind, "cart", 4));
    T_OK(promo_table_seal(t));
    T_ASSERT_EQ_INT(promo_store_write_table(s, t), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(),
                      "duplicate primary key (customer_id='C199', product_id='P03', ts=1000)");
    promo_table *back = NULL;
    T_OK(promo_store_read_table(s, "events", &back));
    T_ASSERT_EQ_INT(back->n_rows, 8000);
    promo_table_free(back);
    promo_table_free(t);
    promo_store_close(s);
}

T_TEST(store_version2_migration_writes_the_statistics_of_the_row_tables)
{
    const char *ws = ws_path("v2stats");
    char cmd[1600];
    snprintf(cmd, sizeof cmd,
             "PROMO_STORE_LAYOUT=rows %s generate -q --ws %s --customers 300 --products 40 "
             "--transactions 6000 --months 6",
             t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    promo_store *s = NULL;
    T_OK(promo_store_open_read(ws, &s));
    T_ASSERT_EQ_INT(t_sql_int(s, "PRAGMA user_version"), 2);
    promo_store_close(s);
    /* as version 2 was written before statistics: none */
    char db[700];
    snprintf(db, sizeof db, "%s/promo.db", ws);
    sqlite3 *raw = NULL;
    T_ASSERT_EQ_INT(sqlite3_open(db, &raw), SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_exec(raw, "DROP TABLE promo_stats", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(t_sql_int(s, "PRAGMA user_version"), PROMO_SCHEMA_VERSION);
    static const char *const rows[] = {"customers",      "products",        "stores",
                                       "promotions",     "truth_customers", "truth_products",
                                       "truth_affinity", "truth_params"};
    for (size_t k = 0; k < sizeof rows / sizeof *rows; k++) {
        char q[200];
        snprintf(q, sizeof q,
                 "SELECT count(*) = (SELECT count(*) FROM promo_columns WHERE table_name = '%s') "
                 "FROM promo_stats WHERE table_name = '%s'",
                 rows[k], rows[k]);
        T_ASSERT_MSG(t_sql_int(s, q) == 1, "%s: no statistics after the migration", rows[k]);
        assert_info_equals_scan(s, rows[k]);
    }
    /* the chunked tables keep theirs per chunk, not in promo_stats */
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM promo_stats WHERE table_name IN "
                                 "('transactions', 'events', 'exposures', 'responses')"),
                    0);
    assert_info_equals_scan(s, "transactions");
    promo_store_close(s);
}

T_TEST(store_info_from_stored_statistics_equals_a_full_scan)
{
    promo_store *s = NULL;
    T_OK(promo_store_open(ws_path("stats"), 1, &s));
    /* a table stored as rows: its statistics are written with it */
    promo_table *t = all_types_table("odd", 1000);
    T_ASSERT(t != NULL);
    T_OK(promo_store_write_table(s, t));
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM promo_stats WHERE table_name = 'odd'"), 5);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT n_distinct FROM promo_stats WHERE table_name = 'odd' AND "
                                 "column_name = 's \"quoted\"'"),
                    8); /* v0..v6 and "" */
    assert_info_equals_scan(s, "odd");
    /* rows added by hand: the statistics no longer match, info scans (and still agrees) */
    T_ASSERT_EQ_INT(sqlite3_exec(promo_store_db(s),
                                 "INSERT INTO promo_data__odd (i, ts) VALUES (NULL, -100)", NULL,
                                 NULL, NULL),
                    SQLITE_OK);
    assert_info_equals_scan(s, "odd");
    promo_store_table_info *ti = NULL;
    T_OK(promo_store_describe(s, "odd", &ti));
    T_ASSERT_EQ_INT(ti->n_rows, 1001);
    T_ASSERT_EQ_INT(ti->date_min, -100);
    promo_store_table_info_free(ti);
    /* replaced, then dropped: the statistics go with the table */
    promo_table_free(t);
    t = all_types_table("odd", 10);
    T_OK(promo_store_write_table(s, t));
    assert_info_equals_scan(s, "odd");
    T_OK(promo_store_drop_table(s, "odd"));
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM promo_stats WHERE table_name = 'odd'"), 0);
    promo_table_free(t);
    /* chunked: per-chunk statistics, written and appended */
    promo_table *t1 = chunk_table(2 * 65536 + 5, 0, 1), *t2 = chunk_table(70000, 2 * 65536 + 5, 0);
    T_ASSERT(t1 && t2);
    T_OK(promo_store_write_table(s, t1));
    assert_info_equals_scan(s, "transactions");
    T_OK(promo_store_append_table(s, t2));
    assert_info_equals_scan(s, "transactions");
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM promo_stats WHERE table_name = "
                                 "'transactions'"),
                    0);
    promo_table_free(t1);
    promo_table_free(t2);
    promo_store_close(s);
}

/* A version-3 workspace (chunks without 4-byte float ones) is read as it is and marked 4 by
 * its first writer, so that a version-3 promo refuses it by version, not as damaged. */
T_TEST(store_version_3_read_as_is_and_marked_4_by_a_writer)
{
    const char *ws = ws_then_sql("ws3", "PRAGMA user_version=3; UPDATE promo_meta SET value = "
                                        "'3' WHERE key = 'schema_version'");
    promo_store *s = NULL;
    char *before = t_dir_digest(ws);
    T_OK(promo_store_open_read(ws, &s));
    promo_store_close(s);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(after, before); /* a reader changes nothing */
    free(before);
    free(after);
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(t_sql_int(s, "PRAGMA user_version"), PROMO_SCHEMA_VERSION);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT CAST(value AS INTEGER) FROM promo_meta WHERE key = "
                                 "'schema_version'"),
                    PROMO_SCHEMA_VERSION);
    char *v = promo_store_meta_get(s, "x");
    T_ASSERT(v && !strcmp(v, "y"));
    promo_free(v);
    promo_store_close(s);
}
