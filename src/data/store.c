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
 * - Bulk load: one prepared INSERT, values bound by index, strings bound SQLITE_STATIC
 *   straight from the column dictionaries (no copy per row), a large page cache, indexes
 *   created after the rows are in (one sort per index instead of a B-tree insert per row).
 * - Reads walk sqlite3_column_* in a tight loop and intern strings into the new column's
 *   dictionary, so an id column of 5M rows with 100k distinct ids stores 100k strings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/store.h>

#define DB_NAME "promo.db"

/* A file to publish at commit (live workspace) or to remove at rollback (staged one). */
typedef struct staged_file {
    char *path;    /* destination */
    void *data;    /* bytes to write at commit; NULL once written */
    size_t n;      /* bytes in data */
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
    case SQLITE_NOMEM: code = PROMO_ENOMEM; break;
    case SQLITE_FULL:
    case SQLITE_IOERR: code = PROMO_EIO; break;
    case SQLITE_CONSTRAINT: code = PROMO_EINPUT; break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: code = PROMO_EINPUT; break;
    default: break;
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
    return e == ENOENT || e == ENOTDIR || e == EACCES || e == EPERM || e == EROFS ||
                   e == EEXIST || e == ENAMETOOLONG || e == ELOOP
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
        int rc = promo_fail(path_errno_status(errno), "%s: cannot create: %s", path,
                            strerror(errno));
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
io_fail: {
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
    return promo_fail(PROMO_EVERSION, "workspace %s has schema version %lld; this promo reads "
                                      "version %d",
                      s->ws_dir, v, PROMO_SCHEMA_VERSION);
}

static int init_schema(promo_store *s)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE promo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
             "CREATE TABLE promo_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,"
             " position INTEGER NOT NULL, type TEXT NOT NULL,"
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
        rc = promo_fail(path_errno_status(errno), "cannot create workspace %s: %s: %s",
                        s->ws_dir, parent, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = promo_fail(PROMO_EINPUT, "cannot create workspace %s: %s is not a directory",
                        s->ws_dir, parent);
    } else {
        struct stat old;
        if (lstat(stage, &old) == 0)
            rm_rf(stage); /* a leftover of a crashed run that had our pid */
        if (mkdir(stage, 0755) != 0)
            rc = promo_fail(path_errno_status(errno), "cannot create workspace %s: %s",
                            s->ws_dir, strerror(errno));
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
        return promo_fail(PROMO_EIO, "cannot create workspace %s: %s", s->ws_dir,
                          strerror(errno));
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
                             : promo_fail(path_errno_status(errno), "workspace %s: %s",
                                          s->ws_dir, strerror(errno));
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

/* Move the staged workspace into place: close the database, fsync everything, rename. */
static int publish(promo_store *s)
{
    int rc = sqlite3_close(s->db);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "close before publishing");
    s->db = NULL;
    if ((rc = fsync_path(s->db_path, 0)) || (rc = fsync_path(s->models_dir, 1)) ||
        (rc = fsync_path(s->out_dir, 1)) || (rc = fsync_path(s->root, 1)))
        return rc;
    if (s->replace_empty && rmdir(s->ws_dir) != 0)
        return promo_fail(PROMO_EIO, "cannot replace empty directory %s: %s", s->ws_dir,
                          strerror(errno));
    if (rename(s->root, s->ws_dir) != 0)
        return promo_fail(path_errno_status(errno), "cannot create workspace %s: %s",
                          s->ws_dir, strerror(errno));
    s->pending = 0;
    char *parent = dir_of(s->ws_dir);
    if (!parent)
        return PROMO_ENOMEM;
    rc = fsync_path(parent, 1);
    promo_free(parent);
    if (rc || (rc = set_paths(s, s->ws_dir)))
        return rc;
    return db_connect(s, 0);
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

static const char *sql_type(promo_col_type t)
{
    switch (t) {
    case PROMO_COL_FLOAT64: return "REAL";
    case PROMO_COL_STRING: return "TEXT";
    default: return "INTEGER";
    }
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

int promo_store_has_table(promo_store *s, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
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
} out_col;

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
                return promo_fail(PROMO_EUSAGE,
                                  "table '%s': column '%s' is %s, the canonical type is %s",
                                  t->name, f->name, promo_col_type_name(src->type),
                                  promo_col_type_name(f->type));
            }
            if (f->required && (!src || src->n_null > 0)) {
                promo_free(c);
                if (!src)
                    return promo_fail(PROMO_EINPUT, "table '%s': required column '%s' is missing",
                                      t->name, f->name);
                return promo_fail(PROMO_EINPUT, "table '%s': required column '%s' has %zu nulls",
                                  t->name, f->name, src->n_null);
            }
            c[k++] = (out_col){f->name, f->type, src, f};
        }
    }
    for (size_t j = 0; j < t->n_cols; j++) {
        const promo_column *src = t->cols[j];
        if (sc && promo_schema_field(sc, src->name))
            continue;
        c[k++] = (out_col){src->name, src->type, src, NULL};
    }
    *out = c;
    *n = k;
    return PROMO_OK;
}

static int create_table(promo_store *s, const promo_table *t, const out_col *c, size_t n)
{
    sbuf b = {0};
    sb_add(&b, "DROP TABLE IF EXISTS ");
    sb_ident(&b, t->name);
    sb_add(&b, "; CREATE TABLE ");
    sb_ident(&b, t->name);
    sb_add(&b, " (");
    for (size_t i = 0; i < n; i++) {
        sb_add(&b, i ? ", " : "");
        sb_ident(&b, c[i].name);
        sb_add(&b, " %s%s", sql_type(c[i].type),
               c[i].field && (c[i].field->required || c[i].field->key) ? " NOT NULL" : "");
    }
    sb_add(&b, ");");
    int rc = b.failed ? PROMO_ENOMEM : exec_sql(s, b.s);
    promo_free(b.s);
    if (rc)
        return rc;
    /* Record the promo types. */
    sqlite3_stmt *st = NULL;
    const char *del = "DELETE FROM promo_columns WHERE table_name=?";
    if ((rc = sqlite3_prepare_v2(s->db, del, -1, &st, NULL)) != SQLITE_OK)
        return db_fail(s, rc, del);
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, rc, del);
    const char *ins = "INSERT INTO promo_columns VALUES (?, ?, ?, ?)";
    if ((rc = sqlite3_prepare_v2(s->db, ins, -1, &st, NULL)) != SQLITE_OK)
        return db_fail(s, rc, ins);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
        sqlite3_bind_text(st, 4, promo_col_type_name(c[i].type), -1, SQLITE_STATIC);
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

static int insert_rows(promo_store *s, const promo_table *t, const out_col *c, size_t n)
{
    sbuf b = {0};
    sb_add(&b, "INSERT INTO ");
    sb_ident(&b, t->name);
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
    if (rc != SQLITE_OK) {
        rc = db_fail(s, rc, "prepare insert");
        promo_free(b.s);
        return rc;
    }
    promo_free(b.s);
    promo_progress prog;
    promo_progress_begin(&prog, t->name, t->n_rows);
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < n; i++) {
            const promo_column *col = c[i].src;
            int p = (int)i + 1;
            if (!col || promo_column_is_null(col, r)) {
                sqlite3_bind_null(st, p);
                continue;
            }
            switch (col->type) {
            case PROMO_COL_INT64:
            case PROMO_COL_TIMESTAMP: sqlite3_bind_int64(st, p, col->i64[r]); break;
            case PROMO_COL_FLOAT64:
                /* SQLite turns a bound NaN into NULL; keep it a value. */
                if (isnan(col->f64[r]))
                    sqlite3_bind_text(st, p, "NaN", 3, SQLITE_STATIC);
                else
                    sqlite3_bind_double(st, p, col->f64[r]);
                break;
            case PROMO_COL_STRING: {
                uint32_t code = col->codes[r];
                /* The dictionary outlives the statement step: no copy. */
                sqlite3_bind_text(st, p, promo_dict_key(col->dict, code),
                                  (int)promo_dict_key_len(col->dict, code), SQLITE_STATIC);
                break;
            }
            default: sqlite3_bind_int(st, p, col->b[r]); break;
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

static int create_indexes(promo_store *s, const promo_table *t, const promo_schema *sc)
{
    if (!sc)
        return PROMO_OK;
    sbuf b = {0};
    int n_key = 0;
    for (size_t i = 0; i < sc->n_fields; i++)
        if (sc->fields[i].key) {
            if (!n_key++) {
                sb_add(&b, "CREATE UNIQUE INDEX \"%s_pk\" ON ", sc->name);
                sb_ident(&b, t->name);
                sb_add(&b, " (");
            } else {
                sb_add(&b, ", ");
            }
            sb_ident(&b, sc->fields[i].name);
        }
    if (n_key)
        sb_add(&b, ");");
    for (size_t i = 0; i < sc->n_fields; i++) {
        const promo_field *f = &sc->fields[i];
        /* A foreign key that leads the primary key is served by the key's index. */
        int leads_key = f->key && i == 0;
        int want = (f->ref && !leads_key) || (!strcmp(sc->name, "transactions") &&
                                              !strcmp(f->name, "ts"));
        if (!want)
            continue;
        sb_add(&b, " CREATE INDEX \"%s_%s_idx\" ON ", sc->name, f->name);
        sb_ident(&b, t->name);
        sb_add(&b, " (");
        sb_ident(&b, f->name);
        sb_add(&b, ")");
        if (!f->required && !f->key) {
            sb_add(&b, " WHERE ");
            sb_ident(&b, f->name);
            sb_add(&b, " IS NOT NULL");
        }
        sb_add(&b, ";");
    }
    int rc = b.failed ? PROMO_ENOMEM : b.s ? exec_sql(s, b.s) : PROMO_OK;
    if (rc == PROMO_EINPUT && n_key)
        rc = promo_fail(PROMO_EINPUT, "table '%s': duplicate primary key (%s)", t->name,
                        promo_last_error());
    promo_free(b.s);
    return rc;
}

int promo_store_write_table(promo_store *s, const promo_table *t)
{
    if (!t || !t->name || !*t->name)
        return promo_fail(PROMO_EUSAGE, "write_table: table without a name");
    if (reserved_name(t->name))
        return promo_fail(PROMO_EUSAGE, "table name '%s' is reserved (promo_*, sqlite_*)",
                          t->name);
    for (size_t j = 0; j < t->n_cols; j++)
        if (t->cols[j]->n != t->n_rows)
            return promo_fail(PROMO_EUSAGE, "table '%s': column '%s' has %zu rows, table %zu "
                                            "(not sealed?)",
                              t->name, t->cols[j]->name, t->cols[j]->n, t->n_rows);
    const promo_schema *sc = promo_schema_find(t->name);
    out_col *c = NULL;
    size_t n = 0;
    int rc = plan_columns(t, sc, &c, &n);
    if (rc)
        return rc;
    if (n == 0) {
        promo_free(c);
        return promo_fail(PROMO_EUSAGE, "table '%s' has no columns", t->name);
    }
    int own_txn = !s->in_txn;
    if (own_txn && (rc = promo_store_begin(s))) {
        promo_free(c);
        return rc;
    }
    double t0 = promo_now_s();
    if (!(rc = create_table(s, t, c, n)) && !(rc = insert_rows(s, t, c, n))) {
        double t1 = promo_now_s();
        rc = create_indexes(s, t, sc);
        promo_debug("store: %s: %zu rows inserted in %.2fs, indexed in %.2fs", t->name,
                    t->n_rows, t1 - t0, promo_now_s() - t1);
    }
    promo_free(c);
    if (own_txn)
        rc = rc ? (promo_store_rollback(s), rc) : promo_store_commit(s);
    return rc;
}

/* Column names and types of a stored table, from promo_columns or else the SQL schema. */
static int table_columns(promo_store *s, const char *name, char ***names, promo_col_type **types,
                         size_t *n)
{
    *names = NULL;
    *types = NULL;
    *n = 0;
    if (!promo_store_has_table(s, name))
        return promo_fail(PROMO_ENOTFOUND, "workspace %s has no table '%s'", s->ws_dir, name);
    sqlite3_stmt *st = NULL;
    sbuf b = {0};
    sb_add(&b, "SELECT c.name, c.type, p.type FROM pragma_table_info(?) c LEFT JOIN "
               "promo_columns p ON p.table_name=? AND p.column_name=c.name ORDER BY c.cid");
    if (b.failed) {
        promo_free(b.s);
        return PROMO_ENOMEM;
    }
    int rc = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL);
    promo_free(b.s);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "table_info");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    size_t cap = 0;
    rc = PROMO_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (promo_grow((void **)names, &cap, *n + 1, sizeof **names)) {
            rc = PROMO_ENOMEM;
            break;
        }
        /* types grows in step with names */
        promo_col_type *nt = promo_reallocn(*types, cap, sizeof **types);
        if (!nt) {
            rc = PROMO_ENOMEM;
            break;
        }
        *types = nt;
        const char *cn = (const char *)sqlite3_column_text(st, 0);
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        const char *pt = (const char *)sqlite3_column_text(st, 2);
        promo_col_type ty = PROMO_COL_STRING;
        if (!pt || type_from_name(pt, &ty)) {
            if (decl && !strcasecmp(decl, "INTEGER"))
                ty = PROMO_COL_INT64;
            else if (decl && !strcasecmp(decl, "REAL"))
                ty = PROMO_COL_FLOAT64;
        }
        (*names)[*n] = promo_strdup(cn ? cn : "");
        if (!(*names)[*n]) {
            rc = PROMO_ENOMEM;
            break;
        }
        (*types)[*n] = ty;
        (*n)++;
    }
    if (rc == SQLITE_DONE)
        rc = PROMO_OK;
    else if (rc != PROMO_ENOMEM)
        rc = db_fail(s, rc, "table_info");
    sqlite3_finalize(st);
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        promo_free(names[i]);
    promo_free(names);
}

static int read_rows(promo_store *s, const char *name, char **names, const promo_col_type *types,
                     size_t n, promo_table **out)
{
    promo_table *t = promo_table_new(name);
    sqlite3_stmt *st = NULL;
    sbuf b = {0};
    int rc = PROMO_ENOMEM;
    if (!t)
        goto done;
    for (size_t j = 0; j < n; j++)
        if ((rc = promo_table_add_column(t, names[j], types[j], NULL)))
            goto done;
    sb_add(&b, "SELECT count(*) FROM ");
    sb_ident(&b, name);
    long long count = 0;
    rc = PROMO_ENOMEM;
    if (b.failed || (rc = query_int(s, b.s, &count)))
        goto done;
    if ((rc = promo_table_reserve(t, (size_t)count)))
        goto done;
    b.n = 0;
    sb_add(&b, "SELECT ");
    for (size_t j = 0; j < n; j++) {
        sb_add(&b, j ? ", " : "");
        sb_ident(&b, names[j]);
    }
    sb_add(&b, " FROM ");
    sb_ident(&b, name);
    sb_add(&b, " ORDER BY rowid");
    rc = PROMO_ENOMEM;
    if (b.failed)
        goto done;
    if ((rc = sqlite3_prepare_v2(s->db, b.s, -1, &st, NULL)) != SQLITE_OK) {
        rc = db_fail(s, rc, "read");
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t j = 0; j < n; j++) {
            promo_column *c = t->cols[j];
            int ct = sqlite3_column_type(st, (int)j);
            int prc;
            if (ct == SQLITE_NULL) {
                prc = promo_column_push_null(c);
            } else {
                switch (c->type) {
                case PROMO_COL_INT64:
                case PROMO_COL_TIMESTAMP:
                    prc = promo_column_push_i64(c, sqlite3_column_int64(st, (int)j));
                    break;
                case PROMO_COL_FLOAT64:
                    prc = promo_column_push_f64(c, ct == SQLITE_TEXT
                                                       ? NAN
                                                       : sqlite3_column_double(st, (int)j));
                    break;
                case PROMO_COL_BOOL:
                    prc = promo_column_push_bool(c, sqlite3_column_int(st, (int)j));
                    break;
                default: {
                    const char *txt = (const char *)sqlite3_column_text(st, (int)j);
                    int len = sqlite3_column_bytes(st, (int)j);
                    prc = txt ? promo_column_push_str(c, txt, (size_t)len) : PROMO_ENOMEM;
                    if (!txt)
                        promo_fail(PROMO_ENOMEM, "out of memory reading %s", name);
                }
                }
            }
            if (prc) {
                rc = prc;
                goto done;
            }
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_fail(s, rc, "read");
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

int promo_store_read_columns(promo_store *s, const char *name, const char *const *columns,
                             size_t n_columns, promo_table **out)
{
    *out = NULL;
    char **names = NULL;
    promo_col_type *types = NULL;
    size_t n = 0;
    int rc = table_columns(s, name, &names, &types, &n);
    if (!rc && columns) {
        /* Keep the requested columns, in the requested order. */
        for (size_t k = 0; k < n_columns && !rc; k++) {
            size_t j = k;
            while (j < n && strcmp(names[j], columns[k]) != 0)
                j++;
            if (j == n) {
                rc = promo_fail(PROMO_ENOTFOUND, "workspace %s: table '%s' has no column '%s'",
                                s->ws_dir, name, columns[k]);
                break;
            }
            char *tn = names[k];
            names[k] = names[j];
            names[j] = tn;
            promo_col_type tt = types[k];
            types[k] = types[j];
            types[j] = tt;
        }
        if (!rc) {
            for (size_t j = n_columns; j < n; j++)
                promo_free(names[j]);
            n = n_columns;
        }
    }
    if (!rc)
        rc = read_rows(s, name, names, types, n, out);
    free_names(names, n);
    promo_free(types);
    return rc;
}

int promo_store_list_tables(promo_store *s, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    const char *sql = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
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
