/* promo/store.h: the workspace and its SQLite database.
 *
 * A workspace is a directory (DESIGN.md): promo.db (tables + run metadata), models/, out/.
 * promo_store_open creates the layout when asked, checks the recorded schema version
 * (PROMO_EVERSION with a clear message on mismatch) and gives typed access: a promo_table is
 * written as one SQL table and read back with exactly the same column types.
 *
 * SQL layout (documented here because people will query promo.db by hand), schema version 2:
 *   - a table T written by promo is a VIEW named T with the promo column names, so
 *     `sqlite3 promo.db "SELECT * FROM transactions"` shows the strings as they came in. The
 *     view joins (LEFT JOIN, nulls stay null) a data table "promo_data__T" with one
 *     dictionary table per STRING column, "promo_dict__T__C" (code INTEGER PRIMARY KEY,
 *     value TEXT NOT NULL); the name gets "__<column position>" appended if it is taken, and
 *     promo_columns.dict records it. A dictionary holds exactly the distinct values of its
 *     column, numbered 0, 1, 2, ... in order of first use (the in-memory promo_dict codes),
 *     and the data table stores those codes. Why: ids are written once per distinct value,
 *     rows are all-numeric (smaller, faster to write, scan and sort), and read_table gets
 *     the codes back without hashing a string per row. In SQL, filter on strings through
 *     the view, or look the code up in the dictionary and filter promo_data__T on it.
 *   - promo type -> SQL type in the data table: int64 INTEGER, float64 REAL, string INTEGER
 *     (a code), bool INTEGER (0/1), timestamp INTEGER = seconds since 1970-01-01 in
 *     wall-clock time (timeutil.h); integers over ISO TEXT because they are 8 bytes instead of
 *     19, compare cheaply, and read back without parsing. In SQL: datetime(ts, 'unixepoch').
 *     A null is SQL NULL; a float64 NaN (a value, not a null) is stored as the TEXT 'NaN'.
 *   - canonical tables (schema.h) always carry every canonical column, in schema order
 *     (columns the promo_table lacks are stored as NULL), then any extra columns; required
 *     fields are NOT NULL. The key is unique: write_table checks it (PROMO_EINPUT
 *     "duplicate primary key") instead of a UNIQUE index. There are no indexes: every
 *     reader in promo loads whole tables in rowid (= insertion) order, and index builds
 *     cost more than the whole insert (bench/RESULTS.md, ## ingest). For ad-hoc lookups,
 *     add one by hand, e.g. CREATE INDEX tx_cust ON promo_data__transactions(customer_id);
 *     write_table drops it with the table when the table is replaced.
 *   - every table written through the store is described in promo_columns(table_name,
 *     column_name, position, type, dict) with the promo type name (promo_col_type_name), so
 *     read_table restores e.g. timestamp vs int64 and bool vs int64. Tables and views made
 *     by other means are read from their declared SQL types (see read_table).
 *   - promo_staged(tmp, dst): the files staged by the last transaction that staged any (see
 *     promo_store_stage_file), so that a commit killed before its renames is finished by the
 *     next open. Made on first use; older promo versions ignore it.
 *   - promo_meta(key, value): run metadata; key "schema_version" = PROMO_SCHEMA_VERSION, also
 *     kept in PRAGMA user_version. Version 1 workspaces (TEXT ids, indexes) are refused with
 *     PROMO_EVERSION: re-run the ingest/generate into a new workspace.
 *
 * Atomicity: writes happen inside promo_store_begin/commit (write_table outside a
 * transaction wraps itself in one); a failure before commit leaves promo.db byte for byte as
 * it was. A workspace that does not exist yet is built in a hidden staging directory beside
 * it (".<name>.tmp-<pid>") and renamed into place by the first commit, so a command that
 * fails before committing leaves nothing behind; an existing empty directory is treated the
 * same way. Files that belong with the tables (a model, charts, a rejects file) are staged
 * in the same transaction (promo_store_stage_file) and appear with the commit. An existing
 * non-empty directory without promo.db is refused (it is not a workspace, and we will not
 * litter it).
 *
 * Threads: a promo_store is used by one thread at a time (the connection is opened
 * SQLITE_OPEN_NOMUTEX); open one store per thread.
 *
 * Usage:
 *   promo_store *s = NULL;
 *   if (promo_store_open("ws", 1, &s)) goto fail;
 *   if (promo_store_begin(s) || promo_store_write_table(s, t) || promo_store_commit(s))
 *       goto fail;   // promo_store_close rolls back what was not committed
 *   promo_store_close(s);
 */
#ifndef PROMO_STORE_H
#define PROMO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

/* Open the workspace at ws_dir. create = 1 makes it if absent (staged until the first
 * commit, see above); create = 0 fails with PROMO_ENOTFOUND if there is no workspace.
 * Errors: PROMO_EVERSION "workspace DIR has schema version N; this promo reads version M";
 * PROMO_EINPUT when ws_dir cannot be a workspace (a path through a regular file, a
 * non-empty directory without promo.db, a parent directory that does not exist, no write
 * permission); PROMO_EDB/PROMO_EIO otherwise. *out is NULL on failure. */
int promo_store_open(const char *ws_dir, int create, promo_store **out /* OUT */);
/* Open an existing workspace for reading only: a shared workspace lock (readers run side by
 * side, writers wait for them), and promo_store_begin is refused (PROMO_EUSAGE). For
 * commands that read the workspace and write nothing into it (score, explain, campaign,
 * evaluate, info). Errors as promo_store_open with create = 0. */
int promo_store_open_read(const char *ws_dir, promo_store **out /* OUT */);
/* Rolls back an open transaction, removes an uncommitted new workspace, releases the
 * workspace lock, frees. NULL-safe. */
void promo_store_close(promo_store *s);

/* The workspace lock. Every open store holds "<ws>/.lock" with flock(2) from open to close:
 * exclusive for promo_store_open (a writer: nothing it read can change before its commit),
 * shared for promo_store_open_read (a reader sees one state: tables with their model files).
 * A lock held by another process is waited for, with one message on stderr ("workspace WS is
 * in use by another promo command (it holds the workspace lock); waiting ..."); after
 * promo_store_set_wait(0) (the CLI's --no-wait) the open fails at once instead, PROMO_EIO
 * "workspace WS is in use by another promo command ...; try again when it has finished".
 * SQLite's own "database is locked" (another program holding promo.db) is reported in the
 * same words. The lock dies with its process (kill -9 leaves no stale lock). Stores of one
 * process share its lock. Process-wide; default 1 (wait). */
void promo_store_set_wait(int wait);

/* 1 if ws_dir holds a promo workspace (a directory with promo.db), else 0. No side effects. */
int promo_store_exists(const char *ws_dir);

/* Transactions do not nest: begin inside a transaction is PROMO_EUSAGE. commit puts the
 * files staged with promo_store_stage_file into place after the SQL commit (see there for
 * what can fail then); on a new workspace it also moves the workspace into place (and
 * fsyncs it); after that the directory accessors return the final paths. A failed SQL commit
 * rolls back. rollback discards table writes and files staged since begin. */
int promo_store_begin(promo_store *s);
int promo_store_commit(promo_store *s);
int promo_store_rollback(promo_store *s);

/* Write t as table t->name, replacing any table of that name (and its indexes). Names
 * starting with "promo_" or "sqlite_" are reserved (PROMO_EUSAGE). A canonical table must
 * use the canonical type for each canonical column (else PROMO_EUSAGE) and have no null in
 * a required field (PROMO_EINPUT). Inside a transaction when one is open, else in its own.
 * Cost: one pass per STRING column (used codes), one for the key check (a hash set only if
 * keys do not increase row by row), one INSERT ... SELECT per dictionary and one for the
 * rows (a C row source behind a virtual table, no per-row statement), no index. */
int promo_store_write_table(promo_store *s, const promo_table *t);

/* A float matrix written as float64 columns of a table: value (row i, column j) =
 * x[i * stride + j] widened to double, NaN a null; the table's n_rows rows. */
typedef struct promo_store_matrix {
    const float *x;
    size_t stride;
    size_t first;             /* the matrix's columns come before the table's column `first` */
    size_t n;                 /* columns */
    const char *const *names; /* their names */
} promo_store_matrix;
/* promo_store_write_table of t with the columns of m inserted at m->first: what writing the
 * table with those columns as float64 columns writes, bit for bit, without them existing as
 * 8-byte values (`promo features`: 144 MB of fresh memory at 200k customers x 91 features,
 * built for one write; the chunk encoder widens a chunk at a time). Derived tables only (a
 * canonical one: PROMO_EUSAGE). */
int promo_store_write_table_matrix(promo_store *s,
                                   const promo_table *t,
                                   const promo_store_matrix *m);
/* Remove table `name` (rows and dictionaries); no error if it does not exist. Reserved names
 * are PROMO_EUSAGE. Inside a transaction when one is open, else in its own. */
int promo_store_drop_table(promo_store *s, const char *name);
/* Read table `name` with the types it was written with (tables not written by promo get
 * types from their declared SQL types: INTEGER int64, REAL float64, else string). Rows come
 * back in insertion order. STRING columns get the stored dictionary as their promo_dict
 * (same codes as written when every value was used) and codes read as integers: no string
 * hashing per row. PROMO_ENOTFOUND if absent; PROMO_EINPUT if a dictionary is damaged (not
 * 0..n-1 of distinct values, or a code outside it). *out owned by the caller. */
int promo_store_read_table(promo_store *s, const char *name, promo_table **out /* OUT */);
/* Read only some columns of table `name` (e.g. the id column for a referential check).
 * Unknown column: PROMO_ENOTFOUND. */
int promo_store_read_columns(promo_store *s,
                             const char *name,
                             const char *const *columns,
                             size_t n_columns,
                             promo_table **out /* OUT */);
/* Read the rows of table `name` whose timestamp column ts_column lies in [lo, hi) (seconds,
 * timeutil.h; a null is outside every range), in insertion order: columns as read_columns
 * (NULL: all; ts_column need not be among them). On a chunked table the chunks whose stored
 * ts range misses [lo, hi) are not read at all, so "everything before the cutoff" costs what
 * it reads. The result equals read_table followed by the filter. Errors as read_columns;
 * PROMO_EUSAGE if ts_column is not a timestamp column. */
int promo_store_read_range(promo_store *s,
                           const char *name,
                           const char *const *columns,
                           size_t n_columns,
                           const char *ts_column,
                           int64_t lo,
                           int64_t hi,
                           promo_table **out /* OUT */);
/* Append the rows of t to the chunked table t->name as new chunks (the chunks already there
 * are not rewritten); new strings are added to the dictionaries. If the table does not exist
 * it is written as by write_table. t must have the stored table's columns with the same
 * types (by name, any order; a missing one is stored as null). Checks as write_table, the
 * key over the old and new rows together (PROMO_EINPUT "duplicate primary key"). A table in
 * the row layout (or a table that is not chunked) is PROMO_EUSAGE. Inside a transaction when
 * one is open, else in its own. */
int promo_store_append_table(promo_store *s, const promo_table *t);
/* Run one read-only SQL statement on the workspace (promo's connection, where the chunked
 * tables are readable through their views), calling fn once per result row with the column
 * count, the column names and the values as text (NULL for an SQL NULL). A statement that
 * would change the database, or more than one statement, is PROMO_EUSAGE; one SQLite rejects
 * is PROMO_EINPUT with SQLite's message. fn returning nonzero stops the query with that
 * status. For `promo sql`. */
typedef int (*promo_store_row_fn)(void *ctx,
                                  int n_cols,
                                  const char *const *names,
                                  const char *const *values);
int promo_store_query(promo_store *s, const char *sql, promo_store_row_fn fn, void *ctx);
/* 1 if the table exists (a table or view that read_table can read), else 0. */
int promo_store_has_table(promo_store *s, const char *name);
/* Names of the data tables (not promo_* / sqlite_*), sorted: canonical tables first in
 * load order (schema.h), then the others by name. *names is one allocation (array and
 * strings), freed with promo_free. */
int promo_store_list_tables(promo_store *s, char ***names /* OUT */, size_t *n /* OUT */);

/* Run metadata: key/value strings (e.g. "generate.seed"). meta_get returns a copy owned by
 * the caller (promo_free), or NULL if the key is absent (promo_last_error() then says so). */
int promo_store_meta_set(promo_store *s, const char *key, const char *value);
char *promo_store_meta_get(promo_store *s, const char *key);

/* Paths inside the workspace: "<ws>/models", "<ws>/out". While a new workspace is staged
 * they point into the staging directory (files written there become part of the workspace
 * at commit). Borrowed: valid until the next commit or close. ws_dir is the path as given. */
const char *promo_store_ws_dir(const promo_store *s);
const char *promo_store_models_dir(const promo_store *s);
const char *promo_store_out_dir(const promo_store *s);

/* Write data to `path` (a file of the workspace, usually under models_dir or out_dir) as part
 * of the current transaction, so that the file and the tables are committed as one unit.
 *
 * Inside a transaction the bytes go at once to a temporary beside path (same directory,
 * ".NAME.tmp-<pid>-<n>"), which is fsynced before this returns; the store keeps only the
 * names, not the bytes. Every failure that space, permissions, a missing directory or memory
 * can cause happens here, as PROMO_EIO (PROMO_ENOMEM) naming path, with nothing left on
 * disk: the caller rolls back and the workspace is as it was. Staging the same path twice
 * keeps the later bytes. Until the commit, path is untouched (readers see the old file).
 * promo_store_commit, after the SQL commit succeeded, renames every temporary onto its
 * destination and fsyncs the directories; rollback, and close with an open transaction,
 * unlink them. In a new (staged) workspace the renames happen inside the staging
 * directory, before it is published.
 *
 * What can still fail after the SQL commit: only rename(2) within one directory, which
 * writes no file data (at worst it needs a directory entry), and the directory fsync. That
 * takes someone changing the workspace under us (the directory removed, a directory put at
 * path) or a failing disk. Then commit returns PROMO_EIO ("PATH: the tables are committed,
 * but this file could not be put in place ..."): the tables ARE committed, the other files
 * are still renamed into place, the failed file's temporary is removed and its old version
 * (if any) stays. In a new workspace the workspace is then not published at all.
 *
 * A command killed (kill -9, power loss) before the SQL commit leaves the old tables and old
 * files; killed after it, before or between the renames, it leaves the new tables and the
 * committed temporaries, recorded in promo_staged in the same transaction: the next
 * promo_store_open renames them into place (rolls forward). Either way that open then
 * removes the other temporaries in models/ and out/ whose pid is no longer a live process
 * (and the older "NAME.tmp-<pid>" names). So old tables with old files, or new with new.
 * "Live" is judged in this machine's PID namespace: do not write one workspace from two
 * containers at once. PROMO_KILL_AT=publish (publish:N: after N renames) kills the process
 * at that point of the commit, for tests.
 *
 * Outside a transaction the file is written at once with promo_atomic_write. */
int promo_store_stage_file(promo_store *s, const char *path, const void *data, size_t n);

/* As promo_store_stage_file, with the bytes given as parts written in order (no buffer to
 * assemble them in: `promo features` stages 0.4 GB of features for 1M customers straight from
 * its arrays), and the temporary's fsync deferred: writeback is started now, and the fsync
 * made by promo_store_commit just before the SQL commit, so the disk writes overlap what the
 * transaction does meanwhile (the tables). A failed fsync then fails the commit, which rolls
 * back as any failed commit: same guarantees as promo_store_stage_file, the only difference
 * being that an I/O error of the file's writeback is reported by the commit. Outside a
 * transaction: written at once, as promo_atomic_write. */
typedef struct promo_store_part {
    const void *data;
    size_t n;
} promo_store_part;
int promo_store_stage_parts(promo_store *s,
                            const char *path,
                            const promo_store_part *parts,
                            size_t n_parts);

/* As promo_store_stage_parts, the bytes written on a thread of their own while the caller goes
 * on with the transaction (`promo features` writes its tables meanwhile): the temporary is
 * created and recorded now, so that a failure to create it is reported here. The parts' memory
 * must stay valid and unchanged until done(arg) is called (done may be NULL): once, on the
 * writer's thread after the write, or before this returns when nothing is written (a failure,
 * or outside a transaction), or at the latest by promo_store_commit, promo_store_rollback or
 * promo_store_close, each of which waits for the write first. A failed write fails the commit
 * (PROMO_EIO naming path), which rolls back as any failed commit: the same guarantees. Outside
 * a transaction: written at once, as promo_atomic_write. */
int promo_store_stage_parts_async(promo_store *s,
                                  const char *path,
                                  const promo_store_part *parts,
                                  size_t n_parts,
                                  void (*done)(void *arg),
                                  void *arg);
/* Wait for the writes of promo_store_stage_parts_async in the open transaction: PROMO_OK, or
 * PROMO_EIO naming the first file whose write failed (the commit then fails the same way).
 * After another failure of the transaction (SQLite's "disk I/O error" says less than the
 * file's errno, as "File too large"), this tells whether the disk was the cause. */
int promo_store_stage_wait(promo_store *s);

/* In the current transaction: remove every file of models/ at the commit (the removals come
 * before the staged files are renamed, so a model staged in the same transaction stays).
 * For commands that replace the data (generate --force): the models trained on the old data
 * go in the same unit. Fails now (PROMO_EINPUT naming models/) if models/ is not writable.
 * The pending removals are recorded in the transaction: killed between the SQL commit and the
 * removals, the next open of the workspace makes them (except for a file written since from
 * the current data), and until then promo_store_check_file refuses the old models (below). */
int promo_store_stage_remove_models(promo_store *s);

/* Data versions. The workspace meta key "data.version" changes in every transaction that
 * writes or drops a canonical table (schema.h): a new "<seconds>-<pid>-<random>". Every
 * derived table written and every file staged in a transaction is recorded at the commit with
 * the version it was made from (table promo_data_versions(name, version); name "table:T" or
 * the workspace-relative path). promo_store_check_file (a file of the workspace, e.g. a model)
 * and promo_store_check_table: PROMO_EINPUT "PATH was made from data that has since been
 * replaced in workspace WS (...): make it again ..." when the recorded version is not the
 * current one; PROMO_OK when it is, or when nothing is recorded (a file not written through
 * the store, or a workspace older than the versions). */
int promo_store_check_file(promo_store *s, const char *path);
int promo_store_check_table(promo_store *s, const char *name);

/* ---- describing a table (promo info) ---- */

/* One column of a stored table. */
typedef struct promo_store_column_info {
    char *name;          /* column name (owned by the table info) */
    promo_col_type type; /* promo type: as written, or from the declared SQL type */
    int64_t n_null;      /* rows where it is null */
} promo_store_column_info;

/* What a stored table holds, computed in SQL without loading it. */
typedef struct promo_store_table_info {
    char *name;                    /* table name (owned) */
    int64_t n_rows;                /* rows */
    size_t n_cols;                 /* columns */
    promo_store_column_info *cols; /* n_cols columns in table order (owned) */
    int date_col;                  /* index of the first timestamp column, -1 if none */
    int has_date_range;            /* 1: date_min/date_max are set (a non-null timestamp) */
    int64_t date_min, date_max;    /* range of that column, seconds (timeutil.h) */
    int is_transactions;           /* 1: the canonical transactions, the figures below set */
    int64_t n_returns;             /* rows with quantity < 0 */
    int64_t n_without_customer;    /* rows with a null customer_id */
    int64_t n_customers;           /* distinct non-null customer_id */
    int64_t n_products;            /* distinct non-null product_id */
    int64_t n_orders;              /* distinct non-null order_id */
} promo_store_table_info;

/* Describe table `name` into a new *out (free with promo_store_table_info_free): rows, each
 * column's promo type and null count, the range of the first timestamp column, and for
 * transactions the returns, rows without a customer and distinct customers, products and
 * orders. One scan of the rows for the counts and range; a distinct count of a column promo
 * wrote reads its dictionary table (which holds exactly the values in use) instead of the
 * rows. Errors: PROMO_ENOTFOUND if there is no such table, PROMO_EDB, PROMO_ENOMEM. */
int promo_store_describe(promo_store *s, const char *name, promo_store_table_info **out /* OUT */);
void promo_store_table_info_free(promo_store_table_info *ti); /* NULL-safe */

/* The underlying SQLite connection, for tests and benchmarks that poke at promo.db; library
 * and CLI code go through the functions above. Declared with the struct tag, so this header
 * does not need <sqlite3.h>: assign it to a `sqlite3 *` where <sqlite3.h> is included.
 * Borrowed: valid until the next commit or close (the first commit of a new workspace
 * reopens the database at its final path). */
struct sqlite3;
struct sqlite3 *promo_store_db(promo_store *s);

/* Write a file atomically: a temporary ".NAME.tmp-<pid>-<n>" beside it, fsync, rename, fsync
 * the directory. On failure the old file (if any) is untouched and no temporary is left.
 * PROMO_EINPUT with the path when it cannot be created (missing directory, not a directory,
 * no permission), else PROMO_EIO. */
int promo_atomic_write(const char *path, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
