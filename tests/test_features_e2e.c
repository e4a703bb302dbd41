/* The write path of `promo features` (bench/RESULTS.md, fe15): float64 chunks whose values are
 * floats stored as floats (bit for bit back, raw when one value is not), features_customers
 * rewritten beside the old chunks (which then hold the next rewrite: the file stops growing;
 * a rollback or a kill leaves the old table and no retired chunks), and large staged files
 * written with O_DIRECT (the same bytes, not left in the page cache). */
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>

#include "t.h"
#include "t_world.h"

/* A workspace path in a new temporary directory (t_tmpdir makes one per call). */
static char *ws_new(const char *name)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/%s", t_tmpdir(), name);
    return strdup(p);
}

/* features_customers with columns f (floats, some null; every special a float has), g (floats
 * but one double that is not, in the first chunk), h (floats and one NaN value in the second
 * chunk) and customer_id; `salt` changes every value. */
static promo_table *float_table(size_t n, unsigned salt)
{
    promo_table *t = promo_table_new("features_customers");
    promo_column *id = NULL, *f = NULL, *g = NULL, *h = NULL;
    T_OK(promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &id));
    T_OK(promo_table_add_column(t, "f", PROMO_COL_FLOAT64, &f));
    T_OK(promo_table_add_column(t, "g", PROMO_COL_FLOAT64, &g));
    T_OK(promo_table_add_column(t, "h", PROMO_COL_FLOAT64, &h));
    static const float special[] = {-0.0f,    0.0f,      FLT_MIN / 8, -FLT_MAX, FLT_MAX,
                                    INFINITY, -INFINITY, 1e-30f,      3.25f};
    uint32_t x = 12345u + salt;
    for (size_t r = 0; r < n; r++) {
        char cid[32];
        int len = snprintf(cid, sizeof cid, "C%07zu", r);
        x = x * 1664525u + 1013904223u;
        float v = (float)(x >> 8) / 65536.0f - 100.0f + (float)salt;
        float sv = special[r % (sizeof special / sizeof *special)];
        T_OK(promo_column_push_str(id, cid, (size_t)len));
        if (r % 97 == 5)
            T_OK(promo_column_push_null(f));
        else
            T_OK(promo_column_push_f64(f, r % 13 == 0 ? (double)sv : (double)v));
        T_OK(promo_column_push_f64(g, r == 70 ? 0.1 : (double)(v * 0.5f)));
        T_OK(promo_column_push_f64(h, r == 65536 + 3 ? NAN : (double)(v * 3.0f)));
    }
    T_OK(promo_table_seal(t));
    return t;
}

/* every value and null of `want` read back, bit for bit */
static void assert_bits_back(promo_store *s, const promo_table *want)
{
    const char *cols[] = {"customer_id", "f", "g", "h"};
    promo_table *back = NULL;
    T_OK(promo_store_read_columns(s, "features_customers", cols, 4, &back));
    T_ASSERT_EQ_INT(back->n_rows, want->n_rows);
    for (size_t j = 1; j < 4; j++) {
        const promo_column *a = want->cols[j], *b = back->cols[j];
        for (size_t r = 0; r < want->n_rows; r++) {
            int na = promo_column_is_null(a, r), nb = promo_column_is_null(b, r);
            T_ASSERT_MSG(na == nb, "column %s row %zu: null %d, back %d", a->name, r, na, nb);
            T_ASSERT_MSG(na || !memcmp(&a->f64[r], &b->f64[r], 8),
                         "column %s row %zu: %.17g, back %.17g", a->name, r, a->f64[r], b->f64[r]);
        }
    }
    promo_table_free(back);
}

T_TEST(features_e2e_float_chunks_stored_as_floats_bit_for_bit)
{
    size_t n = 65536 + 1000;
    promo_table *t = float_table(n, 0);
    promo_store *s = NULL;
    char *ws = ws_new("f32");
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    assert_bits_back(s, t);
    /* f: 4 bytes a value (with its null bitmap) in both chunks; g: raw in the chunk with 0.1,
     * floats in the other; h: floats, raw in the chunk with the NaN */
    long long n0 = 65536, n1 = (long long)n - 65536;
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT length(data) FROM promo_chunks__features_customers WHERE "
                                 "id = 1"),
                    16 + (n0 + 7) / 8 + 4 * n0);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT length(data) FROM promo_chunks__features_customers WHERE "
                                 "id = 4096 + 1"),
                    16 + (n1 + 7) / 8 + 4 * n1);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT length(data) FROM promo_chunks__features_customers WHERE "
                                 "id = 2"),
                    16 + 8 * n0);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT length(data) FROM promo_chunks__features_customers WHERE "
                                 "id = 4096 + 2"),
                    16 + 4 * n1);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT length(data) FROM promo_chunks__features_customers WHERE "
                                 "id = 3"),
                    16 + 4 * n0);
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT length(data) FROM promo_chunks__features_customers WHERE "
                                 "id = 4096 + 3"),
                    16 + 8 * n1);
    /* SQL reads the same values through the view (chunk_vtab.c decodes the floats) */
    sqlite3_stmt *st = NULL;
    T_ASSERT_EQ_INT(sqlite3_prepare_v2(promo_store_db(s),
                                       "SELECT g FROM features_customers LIMIT 1 OFFSET 66000", -1,
                                       &st, NULL),
                    SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    double g66000 = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    T_ASSERT_MSG(!memcmp(&g66000, &t->cols[2]->f64[66000], 8), "SQL: %.17g, want %.17g", g66000,
                 t->cols[2]->f64[66000]);
    promo_store_close(s);
    promo_table_free(t);
    free(ws);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

T_TEST(features_e2e_rewrite_takes_the_pages_the_last_one_freed)
{
    size_t n = 3 * 65536 + 17;
    promo_table *t[4];
    for (unsigned k = 0; k < 4; k++)
        t[k] = float_table(n, k);
    char *ws = ws_new("rewrite"), db[700];
    snprintf(db, sizeof db, "%s/promo.db", ws);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t[0]));
    promo_store_close(s);
    long long size[4] = {file_size(db), 0, 0, 0};
    for (unsigned k = 1; k < 4; k++) {
        T_OK(promo_store_open(ws, 0, &s));
        T_OK(promo_store_write_table(s, t[k]));
        T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
                                     "'promo_retired%'"),
                        0);
        assert_bits_back(s, t[k]);
        promo_store_close(s);
        size[k] = file_size(db);
    }
    /* the first rewrite adds the new chunks beside the old; later ones reuse what it freed */
    T_ASSERT_MSG(size[1] > size[0], "sizes %lld %lld", size[0], size[1]);
    T_ASSERT_MSG(size[2] == size[1] && size[3] == size[1], "sizes %lld %lld %lld", size[1], size[2],
                 size[3]);
    /* rolled back: the old table, the old file size, no retired chunks */
    char *before = t_dir_digest(ws);
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_write_table(s, t[0]));
    T_OK(promo_store_rollback(s));
    assert_bits_back(s, t[3]);
    promo_store_close(s);
    char *after = t_dir_digest(ws);
    T_ASSERT_MSG(!strcmp(before, after), "a rolled-back rewrite changed the workspace");
    free(after);
    free(before);
    for (unsigned k = 0; k < 4; k++)
        promo_table_free(t[k]);
    free(ws);
}

/* `promo features` killed once its new chunks are written (before the old ones are dropped and
 * the transaction commits): the next command finds the old features, no retired chunks, and
 * runs. */
T_TEST(features_e2e_killed_rewrite_leaves_the_old_features)
{
    char *ws = ws_new("killed"), cmd[1600], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd,
             "%s generate -q --ws %s --customers 300 --products 30 --transactions 6000 "
             "--months 6 && %s features --ws %s --as-of 2024-05-01 >/dev/null",
             t_promo_bin(), ws, t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s export --ws %s --table features_customers | md5sum",
             t_promo_bin(), ws);
    char *before = NULL;
    T_ASSERT_EQ_INT(t_sh(cmd, &before, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "PROMO_KILL_AT=chunk:1 %s features --ws %s --as-of 2024-06-01 >/dev/null",
             t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, &err), 128 + SIGKILL);
    free(err);
    snprintf(cmd, sizeof cmd, "%s export --ws %s --table features_customers | md5sum",
             t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, &out, NULL), 0);
    T_ASSERT_STR_EQ(out, before);
    free(out);
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_ASSERT_EQ_INT(t_sql_int(s, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
                                 "'promo_retired%'"),
                    0);
    promo_store_close(s);
    snprintf(cmd, sizeof cmd,
             "%s features --ws %s --as-of 2024-06-01 >/dev/null && %s export --ws %s --table "
             "features_customers | md5sum",
             t_promo_bin(), ws, t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, &out, NULL), 0);
    T_ASSERT_MSG(strcmp(out, before) != 0, "the features of another cutoff are the same");
    free(out);
    free(before);
    free(ws);
}

/* 1 if the file system under dir takes O_DIRECT writes */
static int direct_ok(const char *dir)
{
    char p[800];
    snprintf(p, sizeof p, "%s/direct-probe", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
    int ok = fd >= 0;
    if (fd >= 0)
        close(fd);
    unlink(p);
    return ok;
}

T_TEST(features_e2e_large_staged_file_written_direct_byte_for_byte)
{
    char *ws = ws_new("direct");
    promo_store *s = NULL;
    promo_table *one = float_table(10, 0);
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, one)); /* publishes the new workspace */
    promo_store_close(s);
    promo_table_free(one);
    char models[700];
    snprintf(models, sizeof models, "%s/models", ws);
    /* parts of odd sizes across the 4 MiB buffer and 4 KiB block boundaries, 20 MB in all */
    size_t sizes[] = {7, 9u << 20 | 13, 0, 1, (8u << 20) + 4093, 3u << 20};
    size_t np = sizeof sizes / sizeof *sizes, total = 0;
    for (size_t q = 0; q < np; q++)
        total += sizes[q];
    unsigned char *all = malloc(total);
    T_ASSERT(all != NULL);
    uint32_t x = 7;
    for (size_t i = 0; i < total; i++) {
        x = x * 1103515245u + 12345u;
        all[i] = (unsigned char)(x >> 16);
    }
    promo_store_part parts[6];
    for (size_t q = 0, o = 0; q < np; o += sizes[q], q++)
        parts[q] = (promo_store_part){sizes[q] ? all + o : NULL, sizes[q]};
    char m[700];
    for (int in_txn = 1; in_txn >= 0; in_txn--) {
        T_OK(promo_store_open(ws, 0, &s));
        snprintf(m, sizeof m, "%s/m.bin", promo_store_models_dir(s));
        if (in_txn) {
            T_OK(promo_store_begin(s));
            T_OK(promo_store_stage_parts(s, m, parts, np));
            T_ASSERT_EQ_INT(file_size(m), -1);
            T_OK(promo_store_commit(s));
        } else {
            all[0] ^= 0xff; /* other bytes, written at once */
            T_OK(promo_store_stage_parts(s, m, parts, np));
        }
        promo_store_close(s);
        size_t got_n = 0;
        char *got = t_read_file(m, &got_n);
        T_ASSERT_MSG(got && got_n == total && !memcmp(got, all, total),
                     "in_txn=%d: %zu bytes back of %zu, or different", in_txn, got_n, total);
        free(got);
        T_ASSERT_EQ_INT(t_count_temps(models), 0);
    }
    /* written direct, the file's pages are not in the page cache (but the tail's): where the
     * file system takes O_DIRECT */
    if (direct_ok(models)) {
        T_OK(promo_store_open(ws, 0, &s));
        T_OK(promo_store_begin(s));
        T_OK(promo_store_stage_parts(s, m, parts, np));
        T_OK(promo_store_commit(s));
        promo_store_close(s);
        int fd = open(m, O_RDONLY);
        T_ASSERT(fd >= 0);
        void *map = mmap(NULL, total, PROT_READ, MAP_SHARED, fd, 0);
        T_ASSERT(map != MAP_FAILED);
        size_t pages = (total + 4095) / 4096, resident = 0;
        unsigned char *vec = malloc(pages);
        T_ASSERT(vec && mincore(map, total, vec) == 0);
        for (size_t i = 0; i < pages; i++)
            resident += vec[i] & 1;
        munmap(map, total);
        close(fd);
        free(vec);
        T_ASSERT_MSG(resident < pages / 4, "%zu of %zu pages in the page cache", resident, pages);
    }
    free(all);
    free(ws);
}

static void count_done(void *arg)
{
    (*(int *)arg)++;
}

/* promo_store_stage_parts_async: the bytes at the commit, done called once (after the write,
 * or when nothing is written); a rollback leaves nothing; a write that fails on the writer's
 * thread (a bad address, EFAULT) fails the commit with the file named, and the workspace is as
 * it was. */
T_TEST(features_e2e_async_stage_commits_or_rolls_back_whole)
{
    char *ws = ws_new("async");
    promo_store *s = NULL;
    promo_table *one = float_table(10, 0);
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, one));
    promo_store_close(s);
    char m[800], models[700];
    snprintf(models, sizeof models, "%s/models", ws);
    snprintf(m, sizeof m, "%s/m.bin", models);
    t_write_file(m, "old", 3);
    size_t big = (17u << 20) + 5;
    char *data = malloc(big);
    T_ASSERT(data != NULL);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)(i * 31 + 7);
    promo_store_part parts[] = {{"head", 4}, {data, big}};
    int calls = 0;
    /* rolled back: nothing */
    char *before = t_dir_digest(ws);
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_stage_parts_async(s, m, parts, 2, count_done, &calls));
    T_OK(promo_store_write_table(s, one));
    T_OK(promo_store_rollback(s));
    T_ASSERT_EQ_INT(calls, 1);
    promo_store_close(s);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(after);
    /* a failed write: the commit fails, naming the file */
    promo_store_part bad[] = {{"ok", 2}, {(const void *)(uintptr_t)16, 4096}};
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_stage_parts_async(s, m, bad, 2, count_done, &calls));
    T_ASSERT_EQ_INT(promo_store_commit(s), PROMO_EIO);
    T_ASSERT_CONTAINS(promo_last_error(), "m.bin: write failed");
    T_ASSERT_EQ_INT(calls, 2);
    promo_store_close(s);
    after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(after);
    /* committed: the bytes */
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_stage_parts_async(s, m, parts, 2, count_done, &calls));
    T_OK(promo_store_commit(s));
    T_ASSERT_EQ_INT(calls, 3);
    promo_store_close(s);
    size_t got_n = 0;
    char *got = t_read_file(m, &got_n);
    T_ASSERT(got && got_n == big + 4 && !memcmp(got, "head", 4) && !memcmp(got + 4, data, big));
    free(got);
    T_ASSERT_EQ_INT(t_count_temps(models), 0);
    free(before);
    free(data);
    promo_table_free(one);
    free(ws);
}

/* promo_store_write_table_matrix stores what promo_store_write_table stores for the same values
 * as float64 columns, byte for byte in chunks (the blobs and their statistics) and value for
 * value in the row layout. */
T_TEST(features_e2e_matrix_write_equals_the_table_write)
{
    size_t n = 65536 + 333, nx = 3;
    float *x = malloc(n * nx * sizeof *x);
    T_ASSERT(x != NULL);
    uint32_t r32 = 99;
    for (size_t i = 0; i < n * nx; i++) {
        r32 = r32 * 1664525u + 1013904223u;
        x[i] = i % 17 == 3 ? NAN : (i % 3 == 0 ? (float)(r32 % 50) : (float)(r32 >> 8) / 1e4f);
    }
    static const char *const names[] = {"a", "b", "c"};
    promo_table *full = promo_table_new("features_customers");
    promo_table *keys = promo_table_new("features_customers");
    promo_column *id = NULL, *kid = NULL, *fc[3], *tail = NULL, *ktail = NULL;
    T_OK(promo_table_add_column(full, "customer_id", PROMO_COL_STRING, &id));
    for (size_t j = 0; j < nx; j++)
        T_OK(promo_table_add_column(full, names[j], PROMO_COL_FLOAT64, &fc[j]));
    T_OK(promo_table_add_column(full, "tier", PROMO_COL_STRING, &tail));
    T_OK(promo_table_add_column(keys, "customer_id", PROMO_COL_STRING, &kid));
    T_OK(promo_table_add_column(keys, "tier", PROMO_COL_STRING, &ktail));
    for (size_t i = 0; i < n; i++) {
        char cid[32];
        int len = snprintf(cid, sizeof cid, "C%zu", i);
        T_OK(promo_column_push_str(id, cid, (size_t)len));
        T_OK(promo_column_push_str(kid, cid, (size_t)len));
        T_OK(promo_column_push_str(tail, i % 2 ? "x" : "y", 1));
        T_OK(promo_column_push_str(ktail, i % 2 ? "x" : "y", 1));
        for (size_t j = 0; j < nx; j++) {
            double v = x[i * nx + j];
            if (isnan(v))
                T_OK(promo_column_push_null(fc[j]));
            else
                T_OK(promo_column_push_f64(fc[j], v));
        }
    }
    T_OK(promo_table_seal(full));
    T_OK(promo_table_seal(keys));
    promo_store_matrix m = {x, nx, 1, nx, names};
    static const char *const q[] = {
        "SELECT v FROM (SELECT group_concat(id || ':' || n_null || ':' || coalesce(min_v, '-') "
        "|| ':' || coalesce(max_v, '-') || ':' || coalesce(n_neg, '-') || ':' || hex(data), ',') "
        "v FROM (SELECT * FROM promo_chunks__features_customers ORDER BY id))",
        "SELECT group_concat(coalesce(a, 'null') || '/' || coalesce(b, 'null') || '/' || "
        "coalesce(c, 'null') || '/' || customer_id || tier, ',') FROM features_customers",
        /* the row layout's statistics (promo info): nulls, distinct counts, min and max */
        "SELECT group_concat(column_name || ':' || n_rows || ':' || n_null || ':' || "
        "coalesce(n_distinct, '-') || ':' || coalesce(min_v, '-') || ':' || coalesce(max_v, '-'), "
        "',') FROM (SELECT * FROM promo_stats WHERE table_name = 'features_customers' ORDER BY "
        "column_name)",
    };
    for (int rows = 0; rows < 2; rows++) {
        promo_store *s1 = NULL, *s2 = NULL;
        if (rows)
            setenv("PROMO_STORE_LAYOUT", "rows", 1);
        char *w1 = ws_new("full"), *w2 = ws_new("matrix");
        int o1 = promo_store_open(w1, 1, &s1), o2 = promo_store_open(w2, 1, &s2);
        unsetenv("PROMO_STORE_LAYOUT");
        T_OK(o1);
        T_OK(o2);
        T_OK(promo_store_write_table(s1, full));
        T_OK(promo_store_write_table_matrix(s2, keys, &m));
        promo_store_close(s1);
        promo_store_close(s2);
        T_OK(promo_store_open(w1, 0, &s1));
        T_OK(promo_store_open(w2, 0, &s2));
        sqlite3_stmt *st = NULL;
        for (int k = 0; k < 3; k++) {
            char *got[2] = {NULL, NULL};
            promo_store *ss[2] = {s1, s2};
            for (int w = 0; w < 2; w++) {
                if ((k == 0 && rows) || (k == 2 && !rows))
                    continue;
                T_ASSERT_EQ_INT(sqlite3_prepare_v2(promo_store_db(ss[w]), q[k], -1, &st, NULL),
                                SQLITE_OK);
                T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
                const char *txt = (const char *)sqlite3_column_text(st, 0);
                got[w] = strdup(txt ? txt : "");
                sqlite3_finalize(st);
            }
            T_ASSERT_MSG((!got[0] && !got[1]) ||
                             (got[0] && got[1] && strlen(got[0]) > (k == 2 ? 100u : 1000u) &&
                              !strcmp(got[0], got[1])),
                         "rows=%d query %d: the two writes differ: %.200s | %.200s", rows, k,
                         got[0] ? got[0] : "-", got[1] ? got[1] : "-");
            free(got[0]);
            free(got[1]);
        }
        promo_store_close(s1);
        promo_store_close(s2);
        free(w1);
        free(w2);
    }
    promo_table_free(full);
    promo_table_free(keys);
    free(x);
}
