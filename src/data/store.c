/* The workspace store: a directory with promo.db (SQLite), models/ and out/.
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
 * - The key is checked in C (check_key) instead of by a UNIQUE index: one linear pass
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
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/store.h>

#include "data/store_rows.h"

#define DB_NAME "promo.db"

/* A file to publish at commit (live workspace) or to remove at rollback (staged one). */
typedef struct staged_file {
    char *path; /* destination */
    void *data; /* bytes to write at commit; NULL once written */
    size_t n;   /* bytes in data */
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
};

/* ---- small helpers ---- */

/* A growable string; all functions are no-ops after the first allocation failure. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
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
static void sb_ident(sbuf *b, const char *name)
{
    sb_add(b, "\"");
    for (const char *p = name; *p; p++)
        sb_add(b, *p == '"' ? "\"\"" : "%c", *p);
    sb_add(b, "\"");
}

static char *path_join(const char *a, const char *b)
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

static int db_fail(promo_store *s, int rc, const char *what)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int code = PROMO_EDB;
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

static int exec_sql(promo_store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? PROMO_OK : db_fail(s, rc, sql);
}

static int fsync_path(const char *path, int is_dir)
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

static char *dir_of(const char *path)
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
static int path_errno_status(int e)
{
    return e == ENOENT || e == ENOTDIR || e == EACCES || e == EPERM || e == EROFS || e == EEXIST ||
                   e == ENAMETOOLONG || e == ELOOP
               ? PROMO_EINPUT
               : PROMO_EIO;
}

int promo_atomic_write(const char *path, const void *data, size_t n)
{
    size_t len = strlen(path) + 32;
    char *tmp = promo_malloc(len);
    if (!tmp)
        return PROMO_ENOMEM;
    snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc =
            promo_fail(path_errno_status(errno), "%s: cannot create: %s", path, strerror(errno));
        promo_free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            goto io_fail;
        p += k;
        left -= (size_t)k;
    }
    if (fsync(fd) != 0)
        goto io_fail;
    if (close(fd) != 0) {
        fd = -1;
        goto io_fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto io_fail;
    promo_free(tmp);
    char *dir = dir_of(path);
    if (!dir)
        return PROMO_ENOMEM;
    int rc = fsync_path(dir, 1);
    promo_free(dir);
    return rc;
io_fail : {
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    promo_free(tmp);
    return promo_fail(PROMO_EIO, "%s: write failed: %s", path, strerror(e));
}
}

/* ---- opening ---- */

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
    char *db = path_join(root, DB_NAME);
    char *m = path_join(root, "models");
    char *o = path_join(root, "out");
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

static int query_int(promo_store *s, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, sql);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return PROMO_OK;
    }
    sqlite3_finalize(st);
    return db_fail(s, rc, sql);
}

static int db_connect(promo_store *s, int create)
{
    pthread_once(&sqlite_once, sqlite_setup);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(s->db_path, &s->db, flags, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot open");
    if ((rc = store_rows_register(s->db)) != SQLITE_OK)
        return db_fail(s, rc, "register promo_rows");
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    /* Large page cache (128 MiB) and in-memory sort space: index builds over millions of
     * rows are sorts, and spilling them to temp files costs more than the memory. */
    const char *common = "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY; "
                         "PRAGMA threads=2; PRAGMA foreign_keys=OFF;";
    if ((rc = exec_sql(s, common)))
        return rc;
    if (s->pending)
        return exec_sql(s, "PRAGMA page_size=16384; PRAGMA journal_mode=MEMORY; "
                           "PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;");
    return PROMO_OK;
}

static int check_version(promo_store *s)
{
    long long v = 0;
    int rc = query_int(s, "PRAGMA user_version", &v);
    if (rc)
        return rc;
    if (v == PROMO_SCHEMA_VERSION)
        return PROMO_OK;
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
             PROMO_SCHEMA_VERSION, PROMO_SCHEMA_VERSION);
    return exec_sql(s, sql);
}

/* Make the staging directory "<parent>/.<name>.tmp-<pid>" with models/ and out/. */
static int make_staging(promo_store *s)
{
    char *parent = dir_of(s->ws_dir);
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
        rc = promo_fail(path_errno_status(errno), "cannot create workspace %s: %s: %s", s->ws_dir,
                        parent, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = promo_fail(PROMO_EINPUT, "cannot create workspace %s: %s is not a directory",
                        s->ws_dir, parent);
    } else {
        struct stat old;
        if (lstat(stage, &old) == 0)
            rm_rf(stage); /* a leftover of a crashed run that had our pid */
        if (mkdir(stage, 0755) != 0)
            rc = promo_fail(path_errno_status(errno), "cannot create workspace %s: %s", s->ws_dir,
                            strerror(errno));
    }
    promo_free(parent);
    if (rc) {
        promo_free(stage);
        return rc;
    }
    s->pending = 1; /* from here on close() removes the staging directory */
    rc = set_paths(s, stage);
    promo_free(stage);
    if (rc)
        return rc;
    if (mkdir(s->models_dir, 0755) != 0 || mkdir(s->out_dir, 0755) != 0)
        return promo_fail(PROMO_EIO, "cannot create workspace %s: %s", s->ws_dir, strerror(errno));
    return PROMO_OK;
}

int promo_store_exists(const char *ws_dir)
{
    struct stat st;
    char *db = path_join(ws_dir, DB_NAME);
    int ok = db && stat(ws_dir, &st) == 0 && S_ISDIR(st.st_mode) && stat(db, &st) == 0;
    promo_free(db);
    return ok;
}

int promo_store_open(const char *ws_dir, int create, promo_store **out)
{
    *out = NULL;
    if (!ws_dir || !*ws_dir)
        return promo_fail(PROMO_EUSAGE, "empty workspace path");
    promo_store *s = promo_calloc(1, sizeof *s);
    if (!s)
        return PROMO_ENOMEM;
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
        if (promo_store_exists(s->ws_dir)) {
            if ((rc = set_paths(s, s->ws_dir)))
                goto fail;
            if ((rc = db_connect(s, 0)) || (rc = check_version(s))) {
                /* SQLITE_NOTADB surfaces at the first statement, whichever it is. */
                if (rc == PROMO_EINPUT && !strstr(promo_last_error(), "not a promo workspace"))
                    promo_fail_prefix(rc, "%s/%s is not a promo workspace database", s->ws_dir,
                                      DB_NAME);
                goto fail;
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
                             : promo_fail(path_errno_status(errno), "workspace %s: %s", s->ws_dir,
                                          strerror(errno));
        goto fail;
    }
    if ((rc = make_staging(s)) || (rc = db_connect(s, 1)) || (rc = init_schema(s)))
        goto fail;
    *out = s;
    return PROMO_OK;
fail:
    promo_store_close(s);
    return rc;
}

static void drop_staged_files(promo_store *s, int unlink_written)
{
    for (size_t i = 0; i < s->n_files; i++) {
        if (unlink_written && !s->files[i].data)
            unlink(s->files[i].path);
        promo_free(s->files[i].path);
        promo_free(s->files[i].data);
    }
    s->n_files = 0;
}

void promo_store_close(promo_store *s)
{
    if (!s)
        return;
    if (s->in_txn)
        promo_store_rollback(s);
    drop_staged_files(s, 0);
    promo_free(s->files);
    if (s->db)
        sqlite3_close_v2(s->db);
    if (s->pending && s->root)
        rm_rf(s->root);
    promo_free(s->ws_dir);
    promo_free(s->root);
    promo_free(s->db_path);
    promo_free(s->models_dir);
    promo_free(s->out_dir);
    promo_free(s);
}

/* ---- transactions ---- */

int promo_store_begin(promo_store *s)
{
    if (s->in_txn)
        return promo_fail(PROMO_EUSAGE, "%s: transaction already open", s->ws_dir);
    int rc = exec_sql(s, "BEGIN IMMEDIATE");
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
    char *parent = dir_of(s->ws_dir);
    int rc = parent ? set_paths(&fin, s->ws_dir) : PROMO_ENOMEM;
    if (!rc && (rc = sqlite3_close(s->db)) != SQLITE_OK)
        rc = db_fail(s, rc, "close before publishing");
    else if (!rc)
        s->db = NULL;
    if (!rc && !(rc = fsync_path(s->db_path, 0)) && !(rc = fsync_path(s->models_dir, 1)) &&
        !(rc = fsync_path(s->out_dir, 1)))
        rc = fsync_path(s->root, 1);
    if (!rc && s->replace_empty && rmdir(s->ws_dir) != 0)
        rc = promo_fail(PROMO_EIO, "cannot replace empty directory %s: %s", s->ws_dir,
                        strerror(errno));
    if (!rc && rename(s->root, s->ws_dir) != 0)
        rc = promo_fail(path_errno_status(errno), "cannot create workspace %s: %s", s->ws_dir,
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
        rc = fsync_path(parent, 1);
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
    int rc = exec_sql(s, "COMMIT");
    if (rc) {
        promo_store_rollback(s);
        return rc;
    }
    s->in_txn = 0;
    if (s->pending && (rc = publish(s))) {
        drop_staged_files(s, 0);
        return rc;
    }
    /* The tables are committed; now the files that belong with them. */
    for (size_t i = 0; i < s->n_files && !rc; i++)
        if (s->files[i].data)
            rc = promo_atomic_write(s->files[i].path, s->files[i].data, s->files[i].n);
    drop_staged_files(s, 0);
    return rc;
}

int promo_store_rollback(promo_store *s)
{
    int rc = PROMO_OK;
    /* SQLite may already have rolled back by itself (e.g. after SQLITE_FULL). */
    if (s->db && !sqlite3_get_autocommit(s->db))
        rc = exec_sql(s, "ROLLBACK");
    s->in_txn = 0;
    drop_staged_files(s, 1);
    return rc;
}

int promo_store_stage_file(promo_store *s, const char *path, const void *data, size_t n)
{
    if (!s->in_txn || s->pending) {
        int rc = promo_atomic_write(path, data, n);
        if (rc || !s->in_txn)
            return rc;
    }
    if (promo_grow((void **)&s->files, &s->files_cap, s->n_files + 1, sizeof *s->files))
        return PROMO_ENOMEM;
    staged_file *f = &s->files[s->n_files];
    f->path = promo_strdup(path);
    f->data = NULL;
    f->n = n;
    if (!f->path)
        return PROMO_ENOMEM;
    if (!s->pending) {
        f->data = promo_malloc(n ? n : 1);
        if (!f->data) {
            promo_free(f->path);
            return PROMO_ENOMEM;
        }
        memcpy(f->data, data, n);
    }
    s->n_files++;
    return PROMO_OK;
}

/* ---- tables ---- */

/* Names of the stored parts of a promo table T (see store.h): the rows, and one dictionary
 * per STRING column. Reserved-prefix names, so list_tables hides them and no user table
 * can collide with them. */
#define DATA_PREFIX "promo_data__"
#define DICT_PREFIX "promo_dict__"

static const char *sql_type(promo_col_type t)
{
    /* STRING columns hold dictionary codes in the data table. */
    return t == PROMO_COL_FLOAT64 ? "REAL" : "INTEGER";
}

static int type_from_name(const char *name, promo_col_type *out)
{
    for (int t = 0; t < PROMO_COL_TYPE_COUNT; t++)
        if (strcmp(name, promo_col_type_name((promo_col_type)t)) == 0) {
            *out = (promo_col_type)t;
            return 0;
        }
    return -1;
}

/* 1 if sqlite_master has an object `name` of one of the given types ("table", "view"). */
static int has_object(promo_store *s, const char *name, int views)
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
    return has_object(s, name, 1);
}

static int reserved_name(const char *name)
{
    return strncmp(name, "promo_", 6) == 0 || strncmp(name, "sqlite_", 7) == 0;
}

/* One output column: where its values come from and what it is. */
typedef struct out_col {
    const char *name;         /* SQL column name */
    promo_col_type type;      /* promo type */
    const promo_column *src;  /* source column, or NULL (all null) */
    const promo_field *field; /* canonical field, or NULL */
    char *dict;               /* STRING: name of its dictionary table (owned) */
    uint32_t *remap;          /* STRING: source code -> stored code, NULL = identity (owned) */
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
            c[k++] = (out_col){f->name, f->type, src, f, NULL, NULL};
        }
    }
    for (size_t j = 0; j < t->n_cols; j++) {
        const promo_column *src = t->cols[j];
        if (sc && promo_schema_field(sc, src->name))
            continue;
        c[k++] = (out_col){src->name, src->type, src, NULL, NULL, NULL};
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
        return db_fail(s, rc, sql);
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
    rc = rc == SQLITE_DONE ? PROMO_OK : rc == PROMO_ENOMEM ? rc : db_fail(s, rc, sql);
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
    sb_add(&b, "DROP %s IF EXISTS ", (const char *)what);
    sb_ident(&b, name);
    int rc = b.failed ? PROMO_ENOMEM : exec_sql(s, b.s);
    promo_free(b.s);
    return rc;
}

/* Remove table `name` in every form: view + data table + dictionaries, or a plain table. */
static int drop_table(promo_store *s, const char *name)
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
    sb_add(&b, DATA_PREFIX "%s", name);
    if (!rc)
        rc = b.failed ? PROMO_ENOMEM : drop_named(s, b.s, "TABLE");
    promo_free(b.s);
    sqlite3_stmt *st = NULL;
    const char *del = "DELETE FROM promo_columns WHERE table_name=?";
    if (!rc && (rc = sqlite3_prepare_v2(s->db, del, -1, &st, NULL)) != SQLITE_OK)
        return db_fail(s, rc, del);
    if (!rc) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        rc = rc == SQLITE_DONE ? PROMO_OK : db_fail(s, rc, del);
    }
    return rc;
}

int promo_store_drop_table(promo_store *s, const char *name)
{
    if (reserved_name(name))
        return promo_fail(PROMO_EUSAGE, "table name '%s' is reserved", name);
    int own_txn = !s->in_txn;
    int rc = own_txn ? promo_store_begin(s) : PROMO_OK;
    if (rc)
        return rc;
    rc = drop_table(s, name);
    if (own_txn)
        rc = rc ? (promo_store_rollback(s), rc) : promo_store_commit(s);
    return rc;
}

/* Pick the dictionary table name of column i: "promo_dict__T__C", or with "__<i>" appended
 * while that name is taken (T = "a__b", C = "c" and T = "a", C = "b__c" would collide). */
static int dict_name(promo_store *s, const char *table, const out_col *c, size_t i, char **out)
{
    sbuf b = {0};
    sb_add(&b, DICT_PREFIX "%s__%s", table, c->name);
    while (!b.failed && has_object(s, b.s, 1))
        sb_add(&b, "__%zu", i);
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
    sb_add(&b, "INSERT INTO %s SELECT ", into);
    for (int i = 0; i < n_cols; i++)
        sb_add(&b, i ? ", c%d" : "c%d", i);
    sb_add(&b, " FROM promo_rows WHERE src = ?1");
    if (b.failed) {
        promo_free(b.s);
        return PROMO_ENOMEM;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL);
    promo_free(b.s);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "prepare bulk insert");
    sqlite3_bind_pointer(st, 1, (void *)src, STORE_ROWS_PTR_TYPE, NULL);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? PROMO_OK : db_fail(s, rc, "insert");
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
    /* nulls hold code 0 but are not uses */
    for (size_t r = 0; r < t->n_rows; r++)
        if (!promo_column_is_null(src, r))
            map[src->codes[r]] = 1;
    uint32_t k = 0;
    for (uint32_t d = 0; d < nd; d++)
        map[d] = map[d] ? k++ : PROMO_DICT_NONE;
    if (k == nd)
        promo_free(map);
    else
        c->remap = map;
    return PROMO_OK;
}

static int write_dict(promo_store *s, out_col *c)
{
    sbuf b = {0};
    int rc;
    sb_add(&b, "CREATE TABLE ");
    sb_ident(&b, c->dict);
    sb_add(&b, " (code INTEGER PRIMARY KEY, value TEXT NOT NULL)");
    rc = b.failed ? PROMO_ENOMEM : exec_sql(s, b.s);
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
    sb_ident(&b, c->dict);
    if (!rc && n_stored)
        rc = b.failed ? PROMO_ENOMEM : bulk_insert(s, b.s, 2, &src);
    promo_free(b.s);
    promo_free(entry);
    return rc;
}

/* Append "promo_data__<name>" as a quoted identifier. */
static void sb_data_ident(sbuf *b, const char *name)
{
    sb_add(b, "\"" DATA_PREFIX);
    for (const char *p = name; *p; p++)
        sb_add(b, *p == '"' ? "\"\"" : "%c", *p);
    sb_add(b, "\"");
}

/* The view T: the data table with every code replaced by its string (LEFT JOIN: a null code
 * stays null). SQLite omits the joins a query does not use (they are on the dictionary's
 * INTEGER PRIMARY KEY), so count(*) or numeric columns cost no dictionary lookups. */
static int create_view(promo_store *s, const char *table, const out_col *c, size_t n)
{
    sbuf b = {0};
    sb_add(&b, "CREATE VIEW ");
    sb_ident(&b, table);
    sb_add(&b, " AS SELECT ");
    for (size_t i = 0; i < n; i++) {
        sb_add(&b, i ? ", " : "");
        if (c[i].dict)
            sb_add(&b, "d%zu.value AS ", i);
        else
            sb_add(&b, "t.");
        sb_ident(&b, c[i].name);
    }
    sb_add(&b, " FROM ");
    sb_data_ident(&b, table);
    sb_add(&b, " t");
    for (size_t i = 0; i < n; i++) {
        if (!c[i].dict)
            continue;
        sb_add(&b, " LEFT JOIN ");
        sb_ident(&b, c[i].dict);
        sb_add(&b, " d%zu ON d%zu.code = t.", i, i);
        sb_ident(&b, c[i].name);
    }
    int rc = b.failed ? PROMO_ENOMEM : exec_sql(s, b.s);
    promo_free(b.s);
    return rc;
}

static int create_table(promo_store *s, const promo_table *t, out_col *c, size_t n)
{
    int rc = drop_table(s, t->name);
    if (rc)
        return rc;
    sbuf b = {0};
    sb_add(&b, "CREATE TABLE ");
    sb_data_ident(&b, t->name);
    sb_add(&b, " (");
    for (size_t i = 0; i < n; i++) {
        sb_add(&b, i ? ", " : "");
        sb_ident(&b, c[i].name);
        sb_add(&b, " %s%s", sql_type(c[i].type),
               c[i].field && (c[i].field->required || c[i].field->key) ? " NOT NULL" : "");
    }
    sb_add(&b, ");");
    rc = b.failed ? PROMO_ENOMEM : exec_sql(s, b.s);
    promo_free(b.s);
    for (size_t i = 0; i < n && !rc; i++)
        if (c[i].type == PROMO_COL_STRING && !(rc = dict_name(s, t->name, &c[i], i, &c[i].dict)))
            rc = write_dict(s, &c[i]);
    if (!rc)
        rc = create_view(s, t->name, c, n);
    if (rc)
        return rc;
    /* Record the promo types and dictionaries. */
    sqlite3_stmt *st = NULL;
    const char *ins = "INSERT INTO promo_columns VALUES (?, ?, ?, ?, ?)";
    if ((rc = sqlite3_prepare_v2(s->db, ins, -1, &st, NULL)) != SQLITE_OK)
        return db_fail(s, rc, ins);
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
            return db_fail(s, rc, ins);
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

static int insert_rows(promo_store *s, const promo_table *t, const out_col *c, size_t n)
{
    sbuf b = {0};
    if (n <= STORE_ROWS_MAX_COLS) {
        promo_progress prog;
        promo_progress_begin(&prog, t->name, t->n_rows);
        data_rows dr = {c};
        store_row_source src = {t->n_rows, data_value, &dr, &prog};
        sb_data_ident(&b, t->name);
        int rc = b.failed ? PROMO_ENOMEM : t->n_rows ? bulk_insert(s, b.s, (int)n, &src) : 0;
        promo_free(b.s);
        promo_progress_update(&prog, t->n_rows);
        promo_progress_end(&prog);
        return rc;
    }
    /* Wider than promo_rows: one prepared INSERT stepped per row. */
    sb_add(&b, "INSERT INTO ");
    sb_data_ident(&b, t->name);
    sb_add(&b, " VALUES (");
    for (size_t i = 0; i < n; i++)
        sb_add(&b, i ? ", ?" : "?");
    sb_add(&b, ")");
    if (b.failed) {
        promo_free(b.s);
        return PROMO_ENOMEM;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL);
    promo_free(b.s);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "prepare insert");
    /* Absent columns are bound once: sqlite3_reset keeps bindings. */
    for (size_t i = 0; i < n; i++)
        if (!c[i].src)
            sqlite3_bind_null(st, (int)i + 1);
    promo_progress prog;
    promo_progress_begin(&prog, t->name, t->n_rows);
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < n; i++) {
            const promo_column *col = c[i].src;
            int p = (int)i + 1;
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
            rc = db_fail(s, rc, "insert");
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
static int check_key(const promo_table *t, const out_col *c, size_t n)
{
    key_ctx k = {.t = t};
    for (size_t i = 0; i < n && k.nk < 8; i++)
        if (c[i].field && c[i].field->key) {
            if (!c[i].src)
                return PROMO_OK; /* missing key fields were refused as required */
            k.kc[k.nk++] = c[i].src;
        }
    int rc = promo_table_find_duplicate_keys(k.kc, k.nk, t->n_rows, NULL, 0, on_duplicate, &k);
    if (rc == PROMO_EUSAGE)
        promo_fail_prefix(rc, "table '%s'", t->name);
    return rc;
}

int promo_store_write_table(promo_store *s, const promo_table *t)
{
    if (!t || !t->name || !*t->name)
        return promo_fail(PROMO_EUSAGE, "write_table: table without a name");
    if (reserved_name(t->name))
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
    int rc = plan_columns(t, sc, &c, &n);
    if (rc)
        return rc;
    /* Codes as stored first: the key check compares them. */
    for (size_t i = 0; i < n && !rc; i++)
        if (c[i].type == PROMO_COL_STRING)
            rc = plan_codes(&c[i], t);
    if (!rc)
        rc = check_key(t, c, n);
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
    double t0 = promo_now_s();
    if (!(rc = create_table(s, t, c, n)) && !(rc = insert_rows(s, t, c, n))) {
        promo_debug("store: %s: %zu rows: dictionaries + rows in %.2fs", t->name, t->n_rows,
                    promo_now_s() - t0);
    }
    free_plan(c, n);
    if (own_txn)
        rc = rc ? (promo_store_rollback(s), rc) : promo_store_commit(s);
    return rc;
}

/* How a stored table is read: its columns, their types and (STRING columns of tables
 * written by promo) dictionary tables, and the relation holding the rows. */
typedef struct read_plan {
    char **names;          /* column names */
    promo_col_type *types; /* promo types */
    char **dicts;          /* dictionary table per column, or NULL: strings stored as TEXT */
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
    sb_add(&b, DATA_PREFIX "%s", name);
    int ours = !b.failed && has_object(s, b.s, 0);
    p->rowid = ours || has_object(s, name, 0); /* a view of someone else's has no rowid */
    b.n = 0;
    if (ours)
        sb_data_ident(&b, name);
    else
        sb_ident(&b, name);
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
        return db_fail(s, rc, "table columns");
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
            if (!nt || !nd) {
                rc = PROMO_ENOMEM;
                break;
            }
        }
        const char *cn = (const char *)sqlite3_column_text(st, 0);
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        const char *pt = (const char *)sqlite3_column_text(st, 2);
        const char *dict = (const char *)sqlite3_column_text(st, 3);
        promo_col_type ty = PROMO_COL_STRING;
        if (!pt || type_from_name(pt, &ty)) {
            if (decl && !strcasecmp(decl, "INTEGER"))
                ty = PROMO_COL_INT64;
            else if (decl && !strcasecmp(decl, "REAL"))
                ty = PROMO_COL_FLOAT64;
        }
        p->names[p->n] = promo_strdup(cn ? cn : "");
        p->dicts[p->n] = dict ? promo_strdup(dict) : NULL;
        p->types[p->n] = ty;
        p->n++;
        if (!p->names[p->n - 1] || (dict && !p->dicts[p->n - 1])) {
            rc = PROMO_ENOMEM;
            break;
        }
    }
    if (rc == SQLITE_DONE)
        rc = PROMO_OK;
    else if (rc != PROMO_ENOMEM)
        rc = db_fail(s, rc, "table columns");
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
    sb_add(&b, "SELECT count(*) FROM ");
    sb_ident(&b, dict);
    long long count = 0;
    int rc = b.failed ? PROMO_ENOMEM : query_int(s, b.s, &count);
    if (!rc && count > 0 &&
        (count >= (long long)PROMO_DICT_NONE || promo_dict_reserve(c->dict, (size_t)count)))
        rc = PROMO_ENOMEM;
    b.n = 0;
    sb_add(&b, "SELECT code, value FROM ");
    sb_ident(&b, dict);
    sb_add(&b, " ORDER BY code");
    sqlite3_stmt *st = NULL;
    int src;
    if (!rc && b.failed)
        rc = PROMO_ENOMEM;
    if (!rc && (src = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL)) != SQLITE_OK)
        rc = db_fail(s, src, "read dictionary");
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
            rc = db_fail(s, src, "read dictionary");
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
    sb_add(&b, "SELECT count(*) FROM %s", p->from);
    long long count = 0;
    rc = PROMO_ENOMEM;
    if (b.failed || (rc = query_int(s, b.s, &count)))
        goto done;
    /* Sized once, then filled in place: no per-value push. */
    for (size_t j = 0; j < p->n; j++)
        if ((rc = promo_column_resize(t->cols[j], (size_t)count)))
            goto done;
    b.n = 0;
    sb_add(&b, "SELECT ");
    for (size_t j = 0; j < p->n; j++) {
        sb_add(&b, j ? ", " : "");
        sb_ident(&b, p->names[j]);
    }
    sb_add(&b, " FROM %s%s", p->from, p->rowid ? " ORDER BY rowid" : "");
    rc = PROMO_ENOMEM;
    if (b.failed)
        goto done;
    if ((rc = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL)) != SQLITE_OK) {
        rc = db_fail(s, rc, "read");
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
            case PROMO_COL_TIMESTAMP:
                c->i64[r] = sqlite3_column_int64(st, (int)j);
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
        rc = db_fail(s, rc, "read");
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

int promo_store_read_columns(promo_store *s,
                             const char *name,
                             const char *const *columns,
                             size_t n_columns,
                             promo_table **out)
{
    *out = NULL;
    read_plan p;
    int rc = table_columns(s, name, &p);
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
        }
        if (!rc) {
            for (size_t j = n_columns; j < p.n; j++) {
                promo_free(p.names[j]);
                promo_free(p.dicts[j]);
            }
            p.n = n_columns;
        }
    }
    if (!rc)
        rc = read_rows(s, name, &p, out);
    free_read_plan(&p);
    return rc;
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
        return db_fail(s, rc, "list tables");
    /* Two passes over the result: sizes, then one block (array + strings). */
    size_t count = 0, bytes = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        count++;
        bytes += (size_t)sqlite3_column_bytes(st, 0) + 1;
    }
    if (rc != SQLITE_DONE) {
        rc = db_fail(s, rc, "list tables");
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
    rc = rc == SQLITE_DONE ? PROMO_OK : db_fail(s, rc, "meta_set");
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
        db_fail(s, rc, "meta_get");
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
        db_fail(s, rc, "meta_get");
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

void *promo_store_db(promo_store *s)
{
    return s->db;
}
