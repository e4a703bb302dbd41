/* src/data/store_internal.h: what the store's files share (store.c: lifecycle,
 * store_stage.c: files committed with the tables, store_write.c: writing tables,
 * store_read.c: reading them). Private to src/data; not part
 * of the public API. */
#ifndef PROMO_STORE_INTERNAL_H
#define PROMO_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include <promo/log.h>
#include <promo/store.h>

#define DB_NAME "promo.db"
/* The timestamps the store accepts, written or read: 1900-01-01 .. 2199-12-31 (seconds). */
#define STORE_TS_MIN (-2208988800LL)
#define STORE_TS_MAX 7258118399LL
/* The workspace lock file (store_lock.c). */
#define STORE_LOCK_NAME ".lock"
/* promo_meta key of the data version (store.h). */
#define DATA_VERSION_KEY "data.version"

/* Names of the stored parts of a promo table T (see store.h): the rows, and one dictionary
 * per STRING column. Reserved-prefix names, so list_tables hides them and no user table
 * can collide with them. */
#define DATA_PREFIX "promo_data__"
#define DICT_PREFIX "promo_dict__"

/* A file staged in the current transaction (store_stage.c): its bytes are in tmp, fsynced (or,
 * unsynced, fsynced by store_stage_sync before the SQL commit), or still being written by its
 * writer (joined before the commit, which fails with it); commit renames tmp onto dst,
 * rollback unlinks tmp. */
typedef struct stage_writer stage_writer; /* store_stage.c */
typedef struct staged_file {
    char *dst;            /* destination */
    char *tmp;            /* ".NAME.tmp-<pid>-<n>" beside dst */
    char *dir;            /* their directory, fsynced after the rename */
    int unsynced;         /* promo_store_stage_parts: not fsynced yet */
    stage_writer *writer; /* promo_store_stage_parts_async: still being written (joined by
                           * promo_store_stage_wait, store_stage_sync, store_stage_discard) */
    int write_err;        /* errno of its failed write, once joined */
} staged_file;

struct promo_store {
    char *ws_dir;       /* the workspace path as given */
    char *root;         /* where the files are now: ws_dir, or the staging dir */
    char *db_path;      /* root/promo.db */
    char *models_dir;   /* root/models */
    char *out_dir;      /* root/out */
    sqlite3 *db;        /* open connection */
    int pending;        /* 1: new workspace still in the staging directory */
    int replace_empty;  /* pending over an existing empty directory (rmdir it at publish) */
    int in_txn;         /* inside promo_store_begin .. commit/rollback */
    staged_file *files; /* files staged in the current transaction */
    size_t n_files;     /* entries in files */
    size_t files_cap;   /* capacity of files */
    char **removes;     /* files to remove at the commit (promo_store_stage_remove_models) */
    size_t n_removes;   /* entries in removes */
    size_t removes_cap; /* capacity of removes */
    char **tracked;     /* tables and files (workspace-relative) written in this transaction,
                           recorded with the data version at commit (promo_data_versions) */
    size_t n_tracked;   /* entries in tracked */
    size_t tracked_cap; /* capacity of tracked */
    int data_changed;   /* a canonical table was written or dropped in this transaction */
    int read_only;      /* opened with promo_store_open_read: begin is refused */
    int rows_layout;    /* PROMO_STORE_LAYOUT=rows: write the version-2 row layout, no chunks */
    int locked;         /* holds (a share of) the process's workspace lock */
    dev_t lock_dev;     /* identity of the lock file */
    ino_t lock_ino;
};

/* A growable string; all functions are no-ops after the first allocation failure. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int failed;
} sbuf;

void store_sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append an SQL identifier in double quotes (embedded quotes doubled). */
void store_sb_ident(sbuf *b, const char *name);
/* Append "promo_data__<name>" (the rows of table name) as a quoted identifier. */
void store_sb_data_ident(sbuf *b, const char *name);

/* Prepare the statement built in b into *st, freeing b's text either way: PROMO_ENOMEM when
 * building it failed, store_db_fail(what) when SQLite refuses it. */
int store_sb_prepare(promo_store *s, sbuf *b, const char *what, sqlite3_stmt **st /* OUT */);
/* Leave a message "WS/promo.db: what: SQLite's message" and return the promo status for
 * SQLite result rc. */
int store_db_fail(promo_store *s, int rc, const char *what);
/* The first column of the first row of `sql`, as an integer. */
int store_query_int(promo_store *s, const char *sql, long long *out /* OUT */);
/* Run SQL without results. */
int store_exec(promo_store *s, const char *sql);
/* 1 if sqlite_master has an object `name`: a table, or with views = 1 a table or a view. */
int store_has_object(promo_store *s, const char *name, int views);
/* The promo type named `name` (promo_col_type_name) into *out: 0, or -1 if none is. */
int store_type_from_name(const char *name, promo_col_type *out /* OUT */);
/* 1 for the reserved prefixes promo_ and sqlite_. */
int store_reserved_name(const char *name);
/* "a/b", allocated. */
char *store_path_join(const char *a, const char *b);
/* The directory part of path ("." for none), allocated. */
char *store_dir_of(const char *path);
/* fsync a file or (is_dir) a directory; PROMO_EIO with the path. */
int store_fsync_path(const char *path, int is_dir);
/* The status for a path that cannot be used (errno e): PROMO_EINPUT when it is the user's
 * (missing, not a directory, no permission, read-only...), else PROMO_EIO. */
int store_path_status(int e);

/* Staged files (store_stage.c). publish: rename every temporary onto its destination and
 * fsync their directories, after the SQL commit (allocates nothing); discard: unlink them
 * (rollback, close). Both empty the list. */
int store_stage_publish(promo_store *s);
/* fsync the staged temporaries not yet synced (promo_store_stage_parts): called by commit
 * before the SQL commit, whose failure it then is (PROMO_EIO naming the file). */
int store_stage_sync(promo_store *s);
void store_stage_discard(promo_store *s);
/* After a kill between a commit and its renames: put the committed temporaries of dead
 * processes into place (promo_staged, see store_stage.c). Before store_clean_temps. */
void store_roll_forward(promo_store *s);
/* 1 if the workspace file rel (relative to the root) was recorded with the current data
 * version (or the version cannot be read: keep it); 0 if recorded with another, or not at all. */
int store_file_is_current(promo_store *s, const char *rel);
/* Remove leftover temporaries of dead processes from dir (see store_stage.c). */
void store_clean_temps(const char *dir);

/* The workspace lock (store_lock.c). store_lock: take it (exclusive or shared) on
 * root/.lock, waiting with a message or failing with store_busy_fail by the policy of
 * promo_store_set_wait. store_lock_try_exclusive: 1 if the lock is already exclusive, 2 if a
 * shared lock could be made exclusive now without waiting (give it back with
 * store_lock_share), 0 otherwise. store_unlock: release (NULL-safe on an unlocked store). */
int store_lock(promo_store *s, int exclusive);
int store_lock_try_exclusive(promo_store *s);
void store_lock_share(promo_store *s);
void store_unlock(promo_store *s);
/* "workspace WS is in use by another promo command ...": the one message for a held lock. */
int store_busy_fail(const char *ws_dir);

/* Data versions (store.c): note that a canonical table changed in this transaction
 * (store_note_data_change), that a table or file was written in it (store_track, name
 * workspace-relative: "table:NAME" or "models/x.json"), or removed (store_untrack). */
void store_note_data_change(promo_store *s);
int store_track(promo_store *s, const char *name);
/* path relative to the workspace root, or NULL if it is not under it (store_stage.c). */
const char *store_under_root(const promo_store *s, const char *path);
/* 1 if process pid exists in this PID namespace (store_stage.c). */
int store_pid_alive(long pid);

/* Remove table `name` in every form (view + data table + dictionaries, or a plain table),
 * inside the caller's transaction. */
int store_drop_table(promo_store *s, const char *name);

/* ---- column chunks (chunk.c, chunk_vtab.c; layout in store.h) ---- */

/* The table of chunks of a chunked table T: "promo_chunks__T". */
#define CHUNK_PREFIX "promo_chunks__"
/* Statistics of the tables stored as rows, written with them (store_write.c). */
#define STATS_TABLE "promo_stats"
/* Rows per chunk (row group). 64k rows: a chunk's column is 64 KiB-512 KiB, big enough that
 * the per-chunk costs (one SQLite row, one blob header) vanish, small enough that a ts range
 * skips most of what it does not need and that decoding stays in cache. */
#define CHUNK_ROWS 65536
/* Dictionary entries per dictionary chunk. */
#define CHUNK_DICT_ENTRIES 65536
/* Columns a chunked table may have (the chunk id is chunk * CHUNK_MAX_COLS + column). */
#define CHUNK_MAX_COLS 4096
/* The virtual table module that shows chunks to SQL (chunk_vtab.c). */
#define CHUNK_MODULE "promo_chunked"

/* 1 if tables named `name` are stored as chunks by this store (the large canonical tables:
 * transactions, events, exposures, responses), unless the store writes the row layout
 * (PROMO_STORE_LAYOUT=rows, for benchmarks and tests of version-2 workspaces). */
int store_chunked_name(const promo_store *s, const char *name);
/* 1 if table `name` is stored as chunks in this workspace (its chunk table exists). */
int store_is_chunked(promo_store *s, const char *name);

/* One column as written into chunks: the values of src (NULL: all null), as `type`; STRING
 * codes through remap (source code -> stored code; NULL = identity). */
typedef struct chunk_col {
    const promo_column *src;
    promo_col_type type;
    const uint32_t *remap;
    const float *x32; /* instead of src: FLOAT64 values x32[r * x_stride], NaN a null */
    size_t x_stride;
} chunk_col;

/* Create the (empty) chunk table of `table`. */
int chunk_create(promo_store *s, const char *table);
/* Rows [0, n_rows) of the columns c[0..n_cols) as chunks first_chunk, first_chunk + 1, ...
 * with row numbers from first_row on (append: the next free ones). */
int chunk_write_rows(promo_store *s,
                     const char *table,
                     const chunk_col *c,
                     size_t n_cols,
                     size_t n_rows,
                     int64_t first_chunk,
                     int64_t first_row,
                     promo_progress *prog);
/* Dictionary entries of column `col`: the keys of d at entry[0..n) (entry NULL: 0..n-1), as
 * stored codes first_code, first_code + 1, ... */
int chunk_write_dict(promo_store *s,
                     const char *table,
                     size_t col,
                     const promo_dict *d,
                     const uint32_t *entry,
                     size_t n,
                     int64_t first_code);
/* Rows, chunks and dictionary sizes of a chunked table so far: *n_rows, *n_chunks (the next
 * chunk number), and dict_size[col] for col < n_cols (NULL: not wanted). */
int chunk_extent(promo_store *s,
                 const char *table,
                 int64_t *n_rows,
                 int64_t *n_chunks,
                 int64_t *dict_size,
                 size_t n_cols);
/* Load the dictionary of column `col` into d (empty): entry k = code k. */
int chunk_read_dict(promo_store *s, const char *table, size_t col, promo_dict *d);
/* For each stored entry k of column `col`'s dictionary found in d as j: map[j] = k (map has
 * promo_dict_size(d) slots; the others are left as they are); *n = the stored entries. */
int chunk_dict_map(
    promo_store *s, const char *table, size_t col, const promo_dict *d, uint32_t *map, uint32_t *n);
/* Read columns pos[0..n) (positions in the table, named names[], typed types[]) of a chunked
 * table into a new table. has_range: only rows whose column ts_pos lies in [lo, hi), chunks
 * whose range misses it are not read at all. */
int chunk_read(promo_store *s,
               const char *table,
               char *const *names,
               const promo_col_type *types,
               const int *pos,
               size_t n,
               int has_range,
               int ts_pos,
               int64_t lo,
               int64_t hi,
               promo_table **out /* OUT */);
/* What promo info needs, from the statistics stored with the chunks: rows, nulls per
 * column (n_null[0..n_cols)), min/max of column mm_col (*has_mm = 0 if all null), negatives
 * of column neg_col (-1: none), entries of the dictionary of column dict_col. */
int chunk_stats(promo_store *s,
                const char *table,
                size_t n_cols,
                int64_t *n_rows,
                int64_t *n_null,
                int mm_col,
                int *has_mm,
                int64_t *mn,
                int64_t *mx,
                int neg_col,
                int64_t *n_neg);
int chunk_dict_size(promo_store *s, const char *table, size_t col, int64_t *n);
/* Write t in the current layout inside the caller's transaction, keeping the data version
 * (schema migration, store.c). */
int store_migrate_table(promo_store *s, const promo_table *t);
/* Write the promo_stats rows of t, a table stored as rows and read back as it is (schema
 * migration: workspaces of version 2 were written without them), inside the caller's
 * transaction. */
int store_migrate_stats(promo_store *s, const promo_table *t);
/* Register the promo_chunked module on a connection (SQLite status). */
int chunk_vtab_register(sqlite3 *db);

/* A blob of one column chunk decoded (chunk.c): n values; ints into i64 (NULL slots 0),
 * floats into f64, nulls as a bitmap of (n + 63) / 64 words or NULL for none. For the
 * virtual table, which decodes one chunk at a time. */
int chunk_decode_blob(const void *blob,
                      size_t len,
                      size_t n,
                      promo_col_type type,
                      int64_t *i64,
                      double *f64,
                      uint64_t *nulls,
                      int *has_nulls);
/* A dictionary chunk blob: its n entries; offset i (chunk_u32(off, i), i <= n) into bytes. */
int chunk_dict_blob(
    const void *blob, size_t len, uint32_t *n, const uint8_t **off, const char **bytes);
/* The i-th u32 at p, whatever its alignment. */
static inline uint32_t chunk_u32(const void *p, size_t i)
{
    uint32_t x;
    memcpy(&x, (const char *)p + 4 * i, 4);
    return x;
}

#endif
