/* The workspace store: a directory with promo.db (SQLite), models/ and out/. This file is its
 * lifecycle (open, close, transactions, metadata, directories); files committed with the
 * tables (staged files, atomic writes, leftover temporaries) are store_stage.c, writing
 * tables store_write.c, reading them store_read.c.
 *
 * Layout and SQL conventions are documented in include/promo/store.h. How the pieces work:
 *
 * - New workspaces are built in a staging directory beside the target and published by
 *   rename(2) at the first commit. While staged, nobody else can see the database, so it
 *   runs with journal_mode=MEMORY, synchronous=OFF and an exclusive lock (the rename is the
 *   commit point; we fsync the file and directories ourselves before it). A failed command
 *   removes the staging directory: nothing is left behind.
 * - Existing workspaces use SQLite's rollback journal (journal_mode=DELETE,
 *   synchronous=FULL): a rolled-back or interrupted transaction restores promo.db byte for
 *   byte. WAL would be faster for concurrent readers, but it rewrites the file header and
 *   leaves -wal/-shm files, and our writes are few and large.
 * - Tables are dictionary-encoded (layout in store.h): a view T over promo_data__T (codes)
 *   and promo_dict__T__C per STRING column, no index. Measured (bench/RESULTS.md, ## ingest,
 *   5M generated transactions, quiet machine): schema version 1 (TEXT ids, a UNIQUE key
 *   index, 4 foreign-key indexes and a ts index) spent 48 s in the write phase, mostly in
 *   SQLite's sorter building the indexes (per million rows, user CPU: key ~1 s, ts ~0.8 s,
 *   each random-id foreign key ~2-2.5 s even on integer codes); codes, no index and the
 *   bulk path below spend 8.4 s, ~0.9 us a row, which is SQLite's own VDBE + B-tree cost.
 * - Bulk load: each dictionary and the rows go in with one INSERT ... SELECT from the
 *   promo_rows virtual table (store_rows.c), which reads the promo_table in place: no
 *   per-row sqlite3_step, so no per-row cursor open/seek/halt; strings are bound
 *   SQLITE_STATIC straight from the column dictionaries, codes as integers. Tables wider
 *   than promo_rows fall back to one prepared INSERT stepped per row.
 * - The key is checked in C (check_key in store_write.c, over the check ingest uses too:
 *   promo_table_find_duplicate_keys) instead of by a UNIQUE index: one linear pass
 *   when keys increase row by row (the usual file order), a hash set of row numbers
 *   otherwise; both far cheaper than SQLite sorting the rows.
 * - Reads load each dictionary once into the column's promo_dict (entry k = code k), then
 *   walk the data table filling the column arrays in place (sized once from count(*)):
 *   integers only, no string hashing per row.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/store.h>

#include "data/store_internal.h"
#include "data/store_rows.h"

/* ---- small helpers ---- */

void store_sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && (size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        if (promo_grow((void **)&b->s, &b->cap, b->n + (size_t)k + 1, 1)) {
            b->failed = 1;
            return;
        }
    }
}

/* Append an SQL identifier in double quotes (embedded quotes doubled). */
void store_sb_ident(sbuf *b, const char *name)
{
    store_sb_add(b, "\"");
    for (const char *p = name; *p; p++)
        store_sb_add(b, *p == '"' ? "\"\"" : "%c", *p);
    store_sb_add(b, "\"");
}

/* Append "promo_data__<name>" as a quoted identifier. */
void store_sb_data_ident(sbuf *b, const char *name)
{
    store_sb_add(b, "\"" DATA_PREFIX);
    for (const char *p = name; *p; p++)
        store_sb_add(b, *p == '"' ? "\"\"" : "%c", *p);
    store_sb_add(b, "\"");
}

char *store_path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = promo_malloc(na + nb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

int store_sb_prepare(promo_store *s, sbuf *b, const char *what, sqlite3_stmt **st)
{
    *st = NULL;
    int failed = b->failed;
    int rc = failed ? SQLITE_OK : sqlite3_prepare_v2(s->db, b->s, -1, st, NULL);
    promo_free(b->s);
    memset(b, 0, sizeof *b);
    if (failed)
        return PROMO_ENOMEM;
    return rc == SQLITE_OK ? PROMO_OK : store_db_fail(s, rc, what);
}

int store_db_fail(promo_store *s, int rc, const char *what)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int code = PROMO_EDB;
    /* Another process (not promo: promo waits on the workspace lock first) holds SQLite's own
     * lock past our busy timeout: the same words as for the workspace lock, not raw SQL. */
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return promo_fail(PROMO_EDB,
                          "workspace %s is in use by another process (%s/%s: %s); try again "
                          "when it has finished",
                          s->ws_dir, s->ws_dir, DB_NAME, msg);
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        code = PROMO_ENOMEM;
        break;
    case SQLITE_FULL:
    case SQLITE_IOERR:
        code = PROMO_EIO;
        break;
    case SQLITE_CONSTRAINT:
        code = PROMO_EINPUT;
        break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        code = PROMO_EINPUT;
        break;
    default:
        break;
    }
    return promo_fail(code, "%s/%s: %s: %s", s->ws_dir, DB_NAME, what, msg);
}

int store_exec(promo_store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? PROMO_OK : store_db_fail(s, rc, sql);
}

int store_fsync_path(const char *path, int is_dir)
{
    int fd = open(path, (is_dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return promo_fail(PROMO_EIO, "%s: cannot open for fsync: %s", path, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0)
        return promo_fail(PROMO_EIO, "%s: fsync failed: %s", path, strerror(e));
    return PROMO_OK;
}

char *store_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return promo_strdup(".");
    if (slash == path)
        return promo_strdup("/");
    return promo_strndup(path, (size_t)(slash - path));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        promo_warn("could not remove %s: %s", path, strerror(errno));
}

static int dir_is_empty(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    /* fdopendir takes the fd */
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    int empty = 1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

/* Errors that mean "this path cannot be a workspace" are the user's (exit 2). */
int store_path_status(int e)
{
    return e == ENOENT || e == ENOTDIR || e == EACCES || e == EPERM || e == EROFS || e == EEXIST ||
                   e == ENAMETOOLONG || e == ELOOP
               ? PROMO_EINPUT
               : PROMO_EIO;
}

/* ---- opening ---- */

static void clear_tracked(promo_store *s);

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
    /* Memory statistics take a global mutex on every SQLite malloc; we never read them.
     * Fails harmlessly (SQLITE_MISUSE) if SQLite was already initialised by someone else. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int set_paths(promo_store *s, const char *root)
{
    char *r = promo_strdup(root);
    char *db = store_path_join(root, DB_NAME);
    char *m = store_path_join(root, "models");
    char *o = store_path_join(root, "out");
    if (!r || !db || !m || !o) {
        promo_free(r);
        promo_free(db);
        promo_free(m);
        promo_free(o);
        return PROMO_ENOMEM;
    }
    promo_free(s->root);
    promo_free(s->db_path);
    promo_free(s->models_dir);
    promo_free(s->out_dir);
    s->root = r;
    s->db_path = db;
    s->models_dir = m;
    s->out_dir = o;
    return PROMO_OK;
}

int store_query_int(promo_store *s, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, sql);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return PROMO_OK;
    }
    sqlite3_finalize(st);
    return store_db_fail(s, rc, sql);
}

static int db_connect(promo_store *s, int create)
{
    pthread_once(&sqlite_once, sqlite_setup);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(s->db_path, &s->db, flags, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "cannot open");
    if ((rc = store_rows_register(s->db)) != SQLITE_OK)
        return store_db_fail(s, rc, "register promo_rows");
    if ((rc = chunk_vtab_register(s->db)) != SQLITE_OK)
        return store_db_fail(s, rc, "register " CHUNK_MODULE);
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    /* Large page cache (128 MiB) and in-memory sort space: index builds over millions of
     * rows are sorts, and spilling them to temp files costs more than the memory. */
    const char *common = "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY; "
                         "PRAGMA threads=2; PRAGMA foreign_keys=OFF;";
    if ((rc = store_exec(s, common)))
        return rc;
    if (s->pending)
        return store_exec(s, "PRAGMA page_size=16384; PRAGMA journal_mode=MEMORY; "
                             "PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;");
    return PROMO_OK;
}

/* The schema version a new workspace gets: PROMO_SCHEMA_VERSION (chunks), or 2 when this store
 * writes the row layout (PROMO_STORE_LAYOUT=rows). */
static int layout_version(const promo_store *s)
{
    return s->rows_layout ? 2 : PROMO_SCHEMA_VERSION;
}

/* 1 if promo_stats holds rows for table `name` (0 also when there is no promo_stats). */
static int has_stats(promo_store *s, const char *name, int *out)
{
    *out = 0;
    if (!store_has_object(s, STATS_TABLE, 0))
        return PROMO_OK;
    sqlite3_stmt *st = NULL;
    const char *q = "SELECT count(*) FROM " STATS_TABLE " WHERE table_name = ?";
    int rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, q);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0) > 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? PROMO_OK : store_db_fail(s, rc, q);
}

/* The tables a version-2 workspace keeps as rows were written without statistics (promo_stats
 * came with version 3), so `promo info` would scan them on every call: write them once, in
 * the migration's transaction, from the rows as stored. Tables with statistics (written by
 * PROMO_STORE_LAYOUT=rows) and tables promo did not write (no promo_data__T) are left alone. */
static int migrate_stats(promo_store *s)
{
    char **names = NULL;
    size_t n = 0;
    int rc = promo_store_list_tables(s, &names, &n);
    for (size_t k = 0; k < n && !rc; k++) {
        sbuf b = {0};
        store_sb_add(&b, DATA_PREFIX "%s", names[k]);
        if (b.failed) {
            rc = PROMO_ENOMEM;
            break;
        }
        int rows = store_has_object(s, b.s, 0) && !store_is_chunked(s, names[k]);
        promo_free(b.s);
        int have = 0;
        if (!rows || (rc = has_stats(s, names[k], &have)) || have)
            continue;
        /* Statistics are an optimisation (info scans a table without them): a table that
         * cannot be read back here is left without, rather than holding the migration up. */
        promo_table *t = NULL;
        if (promo_store_read_table(s, names[k], &t)) {
            promo_warn("workspace %s: table %s: no statistics written (%s); promo info will "
                       "scan it",
                       s->ws_dir, names[k], promo_last_error());
            continue;
        }
        rc = store_migrate_stats(s, t);
        promo_table_free(t);
    }
    promo_free(names);
    return rc;
}

/* Record PROMO_SCHEMA_VERSION as the workspace's version (promo_meta and user_version), in
 * the caller's transaction: the last step of a migration. */
static int mark_current_version(promo_store *s)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO promo_meta VALUES ('schema_version', '%d'); PRAGMA "
             "user_version=%d;",
             PROMO_SCHEMA_VERSION, PROMO_SCHEMA_VERSION);
    return store_exec(s, sql);
}

/* Version 2 -> 3 (and 4: the chunks written are version-4 ones): the large canonical tables move
 * from rows to chunks, in one transaction (a kill or a failure leaves the version-2 workspace as it
 * was). The data version stays: the same data, so models made from it stay valid. */
static int migrate_v2(promo_store *s)
{
    static const char *const big[] = {"transactions", "events", "exposures", "responses"};
    double t0 = promo_now_s();
    int rc = promo_store_begin(s);
    if (rc)
        return rc;
    size_t rows = 0;
    for (size_t i = 0; i < sizeof big / sizeof *big && !rc; i++) {
        sbuf b = {0};
        store_sb_add(&b, DATA_PREFIX "%s", big[i]);
        if (b.failed) {
            rc = PROMO_ENOMEM;
            break;
        }
        int present = store_has_object(s, b.s, 0) && promo_schema_find(big[i]);
        promo_free(b.s);
        if (!present)
            continue;
        promo_table *t = NULL;
        if (!(rc = promo_store_read_table(s, big[i], &t)))
            rc = store_migrate_table(s, t);
        rows += t ? t->n_rows : 0;
        promo_table_free(t);
    }
    if (!rc)
        rc = migrate_stats(s);
    if (!rc)
        rc = mark_current_version(s);
    if (!rc)
        rc = promo_store_commit(s);
    else
        promo_store_rollback(s);
    if (rc)
        return promo_fail_prefix(rc, "workspace %s: migrating schema version 2 to %d", s->ws_dir,
                                 PROMO_SCHEMA_VERSION);
    /* The rows' pages are free now: give them back, so the file is no larger than before
     * (VACUUM is atomic on its own; if it fails the migrated file is still whole). */
    if (store_exec(s, "VACUUM"))
        promo_warn("workspace %s: migrated, but VACUUM failed (%s): the file keeps its free pages",
                   s->ws_dir, promo_last_error());
    promo_info("workspace %s: migrated from schema version 2 to %d (%zu rows into column chunks) "
               "in %.1fs",
               s->ws_dir, PROMO_SCHEMA_VERSION, rows, promo_now_s() - t0);
    return PROMO_OK;
}

/* Version 3 -> 4: the same chunks, and from now on 4-byte float chunks among them (promo/
 * schema.h): only the version moves, in one transaction, so that a version-3 promo refuses
 * the workspace by its version instead of calling the new chunks damaged. */
static int migrate_v3(promo_store *s)
{
    int rc = promo_store_begin(s);
    if (rc)
        return rc;
    if (!(rc = mark_current_version(s)))
        rc = promo_store_commit(s);
    else
        promo_store_rollback(s);
    return rc ? promo_fail_prefix(rc, "workspace %s: moving schema version 3 to %d", s->ws_dir,
                                  PROMO_SCHEMA_VERSION)
              : PROMO_OK;
}

static int check_version(promo_store *s)
{
    long long v = 0;
    int rc = store_query_int(s, "PRAGMA user_version", &v);
    if (rc)
        return rc;
    if (v == PROMO_SCHEMA_VERSION)
        return PROMO_OK;
    /* Version 2 (rows) is read as it is; a writer moves it to chunks first, unless it writes
     * rows itself. */
    if (v == 2)
        return s->read_only || s->rows_layout ? PROMO_OK : migrate_v2(s);
    if (v == 3)
        return s->read_only ? PROMO_OK : migrate_v3(s);
    if (v == 0 && !promo_store_has_table(s, "promo_meta"))
        return promo_fail(PROMO_EINPUT, "%s/%s is not a promo workspace database", s->ws_dir,
                          DB_NAME);
    return promo_fail(PROMO_EVERSION,
                      "workspace %s has schema version %lld; this promo reads "
                      "version %d",
                      s->ws_dir, v, PROMO_SCHEMA_VERSION);
}

static int init_schema(promo_store *s)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE promo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
             "CREATE TABLE promo_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,"
             " position INTEGER NOT NULL, type TEXT NOT NULL, dict TEXT,"
             " PRIMARY KEY (table_name, column_name));"
             "INSERT INTO promo_meta VALUES ('schema_version', '%d');"
             "PRAGMA user_version=%d;",
             layout_version(s), layout_version(s));
    return store_exec(s, sql);
}

/* Make the staging directory "<parent>/.<name>.tmp-<pid>" with models/ and out/. */
static int make_staging(promo_store *s)
{
    char *parent = store_dir_of(s->ws_dir);
    if (!parent)
        return PROMO_ENOMEM;
    const char *base = strrchr(s->ws_dir, '/');
    base = base ? base + 1 : s->ws_dir;
    size_t len = strlen(parent) + strlen(base) + 48;
    char *stage = promo_malloc(len);
    if (!stage) {
        promo_free(parent);
        return PROMO_ENOMEM;
    }
    snprintf(stage, len, "%s/.%s.tmp-%ld", parent, base, (long)getpid());
    int rc = PROMO_OK;
    struct stat st;
    if (stat(parent, &st) != 0) {
        rc = promo_fail(store_path_status(errno), "cannot create workspace %s: %s: %s", s->ws_dir,
                        parent, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = promo_fail(PROMO_EINPUT, "cannot create workspace %s: %s is not a directory",
                        s->ws_dir, parent);
    } else {
        struct stat old;
        if (lstat(stage, &old) == 0)
            rm_rf(stage); /* a leftover of a crashed run that had our pid */
        if (mkdir(stage, 0755) != 0)
            rc = promo_fail(store_path_status(errno), "cannot create workspace %s: %s", s->ws_dir,
                            strerror(errno));
    }
    promo_free(parent);
    if (rc) {
        promo_free(stage);
        return rc;
    }
    /* s->root may be ws_dir itself until set_paths succeeds: only then may close() remove it */
    rc = set_paths(s, stage);
    if (rc)
        rmdir(stage);
    promo_free(stage);
    if (rc)
        return rc;
    s->pending = 1; /* from here on close() removes the staging directory */
    if (mkdir(s->models_dir, 0755) != 0 || mkdir(s->out_dir, 0755) != 0)
        return promo_fail(PROMO_EIO, "cannot create workspace %s: %s", s->ws_dir, strerror(errno));
    return PROMO_OK;
}

int promo_store_exists(const char *ws_dir)
{
    struct stat st;
    char *db = store_path_join(ws_dir, DB_NAME);
    int ok = db && stat(ws_dir, &st) == 0 && S_ISDIR(st.st_mode) && stat(db, &st) == 0;
    promo_free(db);
    return ok;
}

/* Staging directories ".<base>.tmp-<pid>" beside ws_dir left by killed commands that were
 * creating it: removed when their process is gone (a live one may still publish). */
static void clean_stale_staging(const char *ws_dir)
{
    /* Stack buffers, not promo_malloc: best-effort cleanup must not swallow an allocation
     * failure (the allocation-failure tests count on every failure surfacing). */
    char parent[4096], path[4096 + 256];
    const char *slash = strrchr(ws_dir, '/');
    const char *base = slash ? slash + 1 : ws_dir;
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if ((size_t)(slash - ws_dir) >= sizeof parent)
        return;
    else
        snprintf(parent, sizeof parent, "%.*s", slash == ws_dir ? 1 : (int)(slash - ws_dir),
                 ws_dir);
    size_t nb = strlen(base);
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, nb) != 0 || strncmp(n + 1 + nb, ".tmp-", 5) != 0)
            continue;
        const char *p = n + 1 + nb + 5;
        char *end = NULL;
        long pid = strtol(p, &end, 10);
        if (end == p || *end || pid <= 0 || store_pid_alive(pid))
            continue;
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", parent, n);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            rm_rf(path);
            promo_info("removed %s, left by a killed command (pid %ld)", path, pid);
        }
    }
    if (d)
        closedir(d);
}

static int open_store(const char *ws_dir, int create, int writer, promo_store **out)
{
    *out = NULL;
    if (!ws_dir || !*ws_dir)
        return promo_fail(PROMO_EUSAGE, "empty workspace path");
    promo_store *s = promo_calloc(1, sizeof *s);
    if (!s)
        return PROMO_ENOMEM;
    s->read_only = !writer;
    const char *layout = getenv("PROMO_STORE_LAYOUT");
    s->rows_layout = layout && !strcmp(layout, "rows");
    int rc = PROMO_ENOMEM;
    /* Trailing slashes would make the staging name ".tmp" of an empty base. */
    size_t n = strlen(ws_dir);
    while (n > 1 && ws_dir[n - 1] == '/')
        n--;
    if (!(s->ws_dir = promo_strndup(ws_dir, n)))
        goto fail;
    struct stat st;
    if (stat(s->ws_dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            rc = promo_fail(PROMO_EINPUT, "workspace %s is not a directory", s->ws_dir);
            goto fail;
        }
        /* Not promo_store_exists: out of memory there would read as "no workspace". */
        if ((rc = set_paths(s, s->ws_dir)))
            goto fail;
        if (writer)
            clean_stale_staging(s->ws_dir);
        if (stat(s->db_path, &st) == 0) {
            /* The lock before the first read: nothing we read can change until close. */
            if ((rc = store_lock(s, writer)))
                goto fail;
            if ((rc = db_connect(s, 0)) || (rc = check_version(s))) {
                /* SQLITE_NOTADB surfaces at the first statement, whichever it is. */
                if (rc == PROMO_EINPUT && !strstr(promo_last_error(), "not a promo workspace"))
                    promo_fail_prefix(rc, "%s/%s is not a promo workspace database", s->ws_dir,
                                      DB_NAME);
                goto fail;
            }
            /* Temporaries of killed commands: finish what was committed, drop the rest. Only
             * with the lock exclusive (a reader tries for it without waiting): a reader beside
             * us may be reading the files we would move. */
            int ex = store_lock_try_exclusive(s);
            if (ex) {
                store_roll_forward(s);
                store_clean_temps(s->models_dir);
                store_clean_temps(s->out_dir);
                if (ex == 2)
                    store_lock_share(s);
            }
            *out = s;
            return PROMO_OK;
        }
        if (!create) {
            rc = promo_fail(PROMO_ENOTFOUND, "%s is not a promo workspace (no %s)", s->ws_dir,
                            DB_NAME);
            goto fail;
        }
        if (!dir_is_empty(s->ws_dir)) {
            rc = promo_fail(PROMO_EINPUT,
                            "%s exists, is not empty and has no %s: not a promo workspace "
                            "(refusing to create one there)",
                            s->ws_dir, DB_NAME);
            goto fail;
        }
        s->replace_empty = 1;
    } else if (errno != ENOENT || !create) {
        rc = errno == ENOENT ? promo_fail(PROMO_ENOTFOUND, "no workspace at %s", s->ws_dir)
                             : promo_fail(store_path_status(errno), "workspace %s: %s", s->ws_dir,
                                          strerror(errno));
        goto fail;
    } else {
        clean_stale_staging(s->ws_dir);
    }
    /* The lock file is made inside the staging directory and moves with it at the publish. */
    if ((rc = make_staging(s)) || (rc = store_lock(s, 1)) || (rc = db_connect(s, 1)) ||
        (rc = init_schema(s)))
        goto fail;
    *out = s;
    return PROMO_OK;
fail:
    promo_store_close(s);
    return rc;
}

int promo_store_open(const char *ws_dir, int create, promo_store **out)
{
    return open_store(ws_dir, create, 1, out);
}

int promo_store_open_read(const char *ws_dir, promo_store **out)
{
    return open_store(ws_dir, 0, 0, out);
}

void promo_store_close(promo_store *s)
{
    if (!s)
        return;
    if (s->in_txn)
        promo_store_rollback(s);
    promo_free(s->files); /* empty: commit and rollback both empty it */
    if (s->db)
        sqlite3_close_v2(s->db);
    if (s->pending && s->root)
        rm_rf(s->root);
    store_unlock(s);
    promo_free(s->removes); /* empty, as files */
    clear_tracked(s);
    promo_free(s->ws_dir);
    promo_free(s->root);
    promo_free(s->db_path);
    promo_free(s->models_dir);
    promo_free(s->out_dir);
    promo_free(s);
}

/* ---- data versions ---- */

/* What was written in a transaction is recorded at its commit with the data version it was
 * made from: promo_data_versions(name, version), name "table:T" for a derived table or a
 * workspace-relative file path ("models/x.json"). The version itself (promo_meta
 * "data.version") changes in every transaction that writes or drops a canonical table: a new
 * "<seconds>-<pid>-<random>", never reused. A model whose recorded version is not the current
 * one was trained on data that has since been replaced (promo_store_check_file). */

static void clear_tracked(promo_store *s)
{
    for (size_t i = 0; i < s->n_tracked; i++)
        promo_free(s->tracked[i]);
    promo_free(s->tracked);
    s->tracked = NULL;
    s->n_tracked = s->tracked_cap = 0;
    s->data_changed = 0;
}

void store_note_data_change(promo_store *s)
{
    s->data_changed = 1;
}

int store_track(promo_store *s, const char *name)
{
    for (size_t i = 0; i < s->n_tracked; i++)
        if (!strcmp(s->tracked[i], name))
            return PROMO_OK;
    char *copy = promo_strdup(name);
    if (!copy ||
        promo_grow((void **)&s->tracked, &s->tracked_cap, s->n_tracked + 1, sizeof *s->tracked)) {
        promo_free(copy);
        return PROMO_ENOMEM;
    }
    s->tracked[s->n_tracked++] = copy;
    return PROMO_OK;
}

/* The current data version into buf ("" when the workspace has none yet). */
static int current_version(promo_store *s, char *buf, size_t n)
{
    buf[0] = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM promo_meta WHERE key=?", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "read the data version");
    sqlite3_bind_text(st, 1, DATA_VERSION_KEY, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? PROMO_OK
                                                 : store_db_fail(s, rc, "read the data version");
}

static int write_versions(promo_store *s)
{
    if (!s->data_changed && !s->n_tracked)
        return PROMO_OK;
    char v[96];
    int rc = PROMO_OK;
    if (s->data_changed) {
        unsigned int r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (unsigned int)clock();
        snprintf(v, sizeof v, "%lld-%ld-%08x", (long long)time(NULL), (long)getpid(), r);
        rc = promo_store_meta_set(s, DATA_VERSION_KEY, v);
    } else {
        rc = current_version(s, v, sizeof v);
    }
    if (!rc && s->n_tracked)
        rc = store_exec(s, "CREATE TABLE IF NOT EXISTS promo_data_versions (name TEXT PRIMARY "
                           "KEY, version TEXT NOT NULL)");
    sqlite3_stmt *st = NULL;
    if (!rc && s->n_tracked) {
        int src = sqlite3_prepare_v2(
            s->db, "INSERT OR REPLACE INTO promo_data_versions VALUES (?, ?)", -1, &st, NULL);
        for (size_t i = 0; i < s->n_tracked && src == SQLITE_OK; i++) {
            sqlite3_bind_text(st, 1, s->tracked[i], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
            src = sqlite3_step(st) == SQLITE_DONE ? sqlite3_reset(st) : sqlite3_errcode(s->db);
        }
        if (src != SQLITE_OK)
            rc = store_db_fail(s, src, "record the data version");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Compare the recorded version of `name` with the current one. */
static int check_version_of(promo_store *s, const char *name, const char *shown)
{
    if (!store_has_object(s, "promo_data_versions", 0))
        return PROMO_OK; /* nothing recorded yet (a workspace older than the versions) */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT version FROM promo_data_versions WHERE name=?", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "read a data version");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    char was[96] = "", now[96] = "";
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        snprintf(was, sizeof was, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (!found)
        return PROMO_OK; /* not written through the store: not ours to judge */
    if ((rc = current_version(s, now, sizeof now)))
        return rc;
    if (!strcmp(was, now))
        return PROMO_OK;
    return promo_fail(PROMO_EINPUT,
                      "%s was made from data that has since been replaced in workspace %s (data "
                      "version %s, now %s): make it again from the current data (e.g. `promo "
                      "train --ws %s`)",
                      shown, s->ws_dir, *was ? was : "none", *now ? now : "none", s->ws_dir);
}

int store_file_is_current(promo_store *s, const char *rel)
{
    if (!store_has_object(s, "promo_data_versions", 0))
        return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT version FROM promo_data_versions WHERE name=?", -1, &st,
                           NULL) != SQLITE_OK)
        return 1; /* cannot tell: keep the file */
    sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
    char was[96] = "", now[96] = "";
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        snprintf(was, sizeof was, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (!found)
        return 0;
    if (current_version(s, now, sizeof now))
        return 1;
    return !strcmp(was, now);
}

int promo_store_check_file(promo_store *s, const char *path)
{
    const char *rel = store_under_root(s, path);
    return rel ? check_version_of(s, rel, path) : PROMO_OK;
}

int promo_store_check_table(promo_store *s, const char *name)
{
    sbuf b = {0};
    store_sb_add(&b, "table:%s", name);
    if (b.failed)
        return PROMO_ENOMEM;
    char shown[300];
    snprintf(shown, sizeof shown, "table %s", name);
    int rc = check_version_of(s, b.s, shown);
    promo_free(b.s);
    return rc;
}

/* ---- transactions ---- */

int promo_store_begin(promo_store *s)
{
    if (s->in_txn)
        return promo_fail(PROMO_EUSAGE, "%s: transaction already open", s->ws_dir);
    if (s->read_only)
        return promo_fail(PROMO_EUSAGE, "%s: opened for reading (promo_store_open_read)",
                          s->ws_dir);
    int rc = store_exec(s, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    s->in_txn = 1;
    return PROMO_OK;
}

/* Move the staged workspace into place: close the database, fsync everything, rename.
 * Everything that can fail for want of memory is done before the rename, so that a failed
 * commit never leaves a published workspace behind. */
static int publish(promo_store *s)
{
    promo_store fin = {0}; /* only for its paths at the final location */
    char *parent = store_dir_of(s->ws_dir);
    int rc = parent ? set_paths(&fin, s->ws_dir) : PROMO_ENOMEM;
    if (!rc && (rc = sqlite3_close(s->db)) != SQLITE_OK)
        rc = store_db_fail(s, rc, "close before publishing");
    else if (!rc)
        s->db = NULL;
    if (!rc && !(rc = store_fsync_path(s->db_path, 0)) &&
        !(rc = store_fsync_path(s->models_dir, 1)) && !(rc = store_fsync_path(s->out_dir, 1)))
        rc = store_fsync_path(s->root, 1);
    if (!rc && s->replace_empty && rmdir(s->ws_dir) != 0)
        rc = promo_fail(PROMO_EIO, "cannot replace empty directory %s: %s", s->ws_dir,
                        strerror(errno));
    if (!rc && rename(s->root, s->ws_dir) != 0)
        rc = promo_fail(store_path_status(errno), "cannot create workspace %s: %s", s->ws_dir,
                        strerror(errno));
    if (!rc) {
        s->pending = 0;
        /* take over fin's paths */
        promo_free(s->root);
        promo_free(s->db_path);
        promo_free(s->models_dir);
        promo_free(s->out_dir);
        s->root = fin.root;
        s->db_path = fin.db_path;
        s->models_dir = fin.models_dir;
        s->out_dir = fin.out_dir;
        fin = (promo_store){0};
        rc = store_fsync_path(parent, 1);
    }
    promo_free(parent);
    promo_free(fin.root);
    promo_free(fin.db_path);
    promo_free(fin.models_dir);
    promo_free(fin.out_dir);
    return rc ? rc : db_connect(s, 0);
}

int promo_store_commit(promo_store *s)
{
    if (!s->in_txn)
        return promo_fail(PROMO_EUSAGE, "%s: commit without begin", s->ws_dir);
    int rc = store_stage_sync(s); /* the staged files' bytes on disk before the tables' */
    if (!rc)
        rc = write_versions(s);
    if (!rc)
        rc = store_exec(s, "COMMIT");
    if (rc) {
        promo_store_rollback(s);
        return rc;
    }
    s->in_txn = 0;
    clear_tracked(s);
    /* The tables are committed; now the files staged with them. In a new workspace they are
     * still inside the staging directory, and a failure here means it is not published. */
    if ((rc = store_stage_publish(s)))
        return rc;
    return s->pending ? publish(s) : PROMO_OK;
}

int promo_store_rollback(promo_store *s)
{
    int rc = PROMO_OK;
    /* SQLite may already have rolled back by itself (e.g. after SQLITE_FULL). */
    if (s->db && !sqlite3_get_autocommit(s->db))
        rc = store_exec(s, "ROLLBACK");
    s->in_txn = 0;
    store_stage_discard(s);
    clear_tracked(s);
    return rc;
}

/* ---- tables ---- */

/* 1 if sqlite_master has an object `name` of one of the given types ("table", "view"). */
int store_has_object(promo_store *s, const char *name, int views)
{
    sqlite3_stmt *st = NULL;
    const char *sql = views ? "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND "
                              "name=?"
                            : "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

int promo_store_has_table(promo_store *s, const char *name)
{
    return store_has_object(s, name, 1);
}

int store_reserved_name(const char *name)
{
    return strncmp(name, "promo_", 6) == 0 || strncmp(name, "sqlite_", 7) == 0;
}

/* ---- metadata and directories ---- */

int promo_store_meta_set(promo_store *s, const char *key, const char *value)
{
    int own = !s->in_txn;
    int rc = own ? promo_store_begin(s) : PROMO_OK;
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    const char *sql = "INSERT OR REPLACE INTO promo_meta VALUES (?, ?)";
    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    rc = rc == SQLITE_DONE ? PROMO_OK : store_db_fail(s, rc, "meta_set");
    sqlite3_finalize(st);
    if (own)
        rc = rc ? (promo_store_rollback(s), rc) : promo_store_commit(s);
    return rc;
}

char *promo_store_meta_get(promo_store *s, const char *key)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT value FROM promo_meta WHERE key=?";
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        store_db_fail(s, rc, "meta_get");
        return NULL;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    char *v = NULL;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = promo_strdup((const char *)sqlite3_column_text(st, 0));
    else if (rc == SQLITE_DONE)
        promo_fail(PROMO_ENOTFOUND, "workspace %s: no metadata '%s'", s->ws_dir, key);
    else
        store_db_fail(s, rc, "meta_get");
    sqlite3_finalize(st);
    return v;
}

const char *promo_store_ws_dir(const promo_store *s)
{
    return s->ws_dir;
}

const char *promo_store_models_dir(const promo_store *s)
{
    return s->models_dir;
}

const char *promo_store_out_dir(const promo_store *s)
{
    return s->out_dir;
}

sqlite3 *promo_store_db(promo_store *s)
{
    return s->db;
}
