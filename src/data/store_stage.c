/* Files committed with the tables: promo_store_stage_file, promo_atomic_write and the
 * temporaries behind both (store.h says what is guaranteed).
 *
 * How: a file staged in a transaction is written to a temporary beside its destination,
 * ".NAME.tmp-<pid>-<n>" in the same directory, and fsynced; the store keeps only the two
 * names. The steps that need permission or memory, and the space (fallocate, where the file
 * system has it), happen at stage time, where a failure still rolls back cleanly; the bytes
 * are written then, or by promo_store_stage_parts_async on a thread of their own, whose
 * failure fails the commit before anything is renamed. After the SQL commit each
 * temporary is renamed onto its destination (same directory: no data copied) and the
 * directories are fsynced; a rollback unlinks them. The name is hidden (a leading dot), unique
 * (pid + a per-process sequence that starts at a random number, created O_EXCL so a leftover
 * of a dead process that had our pid is skipped, not truncated) and recognisable.
 *
 * A kill between the SQL commit and the last rename: each staged pair is also recorded, inside
 * the transaction, in the table promo_staged(tmp, dst) of an existing workspace (the rows of
 * the previous staging transaction are replaced). The rows are committed exactly when the
 * tables are, so they say which temporaries belong to a committed transaction: the next
 * promo_store_open renames those of dead processes into place (rolls the commit forward), then
 * removes every other temporary of a dead process (a transaction that never committed). The
 * rows are left behind afterwards (no second transaction after the commit; a reader could not
 * write anyway); the random sequence keeps a later temporary from ever matching an old row.
 * PROMO_KILL_AT=publish (or publish:N, after N renames) kills the process at that point, for
 * the tests and bench/soak.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
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
#include <promo/store.h>

#include "data/store_internal.h"

/* Sequence of this process's temporaries, from a random start: with the pid, a name no other
 * live writer uses, and no earlier process with our pid used (see promo_staged above). */
static atomic_ulong temp_seq;
static pthread_once_t seq_once = PTHREAD_ONCE_INIT;

static void seq_seed(void)
{
    unsigned int r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (unsigned int)ts.tv_nsec ^ (unsigned int)ts.tv_sec * 2654435761u;
    }
    atomic_store(&temp_seq, (unsigned long)r << 16);
}

/* ".NAME.tmp-<pid>-<seq>" in the directory of path. */
static char *temp_name(const char *path, unsigned long seq)
{
    const char *slash = strrchr(path, '/');
    int dlen = slash ? (int)(slash - path + 1) : 0;
    size_t len = strlen(path) + 64;
    char *t = promo_malloc(len);
    if (t)
        snprintf(t, len, "%.*s.%s.tmp-%ld-%lu", dlen, path, path + dlen, (long)getpid(), seq);
    return t;
}

/* Files of at least DIRECT_MIN bytes are written with O_DIRECT, through an aligned bounce
 * buffer of DIRECT_BUF bytes (the parts have no alignment in memory or in the file), the last
 * partial block through the page cache. Why: on this VM (bench/RESULTS.md, fe15) page-cache
 * pages are fresh memory that the host faults in on first write: the 72 MB matrix file of
 * `promo features` at 200k customers took 0.06-0.56 s of system CPU in write(2), against
 * 0.07 s wall and 0.015 s CPU written direct (the fsync at the commit then has nothing to
 * flush but the device cache). The price: the file is not in the page cache afterwards, so the
 * first command that reads it reads the disk. A file system that refuses O_DIRECT (tmpfs) is
 * written as before. */
enum { DIRECT_MIN = 16 << 20, DIRECT_BUF = 4 << 20, DIRECT_ALIGN = 4096 };

/* Write parts[0..n_parts) from file offset 0 to fd, opened O_DIRECT: full aligned blocks
 * direct, then O_DIRECT cleared for the tail. 0, or -1 with errno. */
static int write_direct(int fd, const promo_store_part *parts, size_t n_parts)
{
    char *raw = promo_malloc(DIRECT_BUF + DIRECT_ALIGN);
    if (!raw) {
        errno = ENOMEM;
        return -1;
    }
    char *buf = raw + (DIRECT_ALIGN - (uintptr_t)raw % DIRECT_ALIGN) % DIRECT_ALIGN;
    size_t fill = 0;
    off_t off = 0;
    int rc = 0;
    for (size_t q = 0; q <= n_parts && !rc; q++) {
        const char *p = q < n_parts ? parts[q].data : NULL;
        size_t left = q < n_parts ? parts[q].n : 0;
        while (left > 0 || (q == n_parts && fill > 0)) {
            size_t k = left < DIRECT_BUF - fill ? left : DIRECT_BUF - fill;
            if (k)
                memcpy(buf + fill, p, k);
            fill += k;
            p += k;
            left -= k;
            if (fill < DIRECT_BUF && q < n_parts)
                continue;
            /* a full buffer, or the end: its aligned part direct, the rest buffered */
            size_t aligned = fill / DIRECT_ALIGN * DIRECT_ALIGN, done = 0;
            if (aligned < fill && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT) != 0) {
                rc = -1;
                break;
            }
            while (done < fill) {
                ssize_t w = pwrite(fd, buf + done, (aligned > done ? aligned : fill) - done,
                                   off + (off_t)done);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    if (w == 0)
                        errno = EIO;
                    rc = -1;
                    break;
                }
                done += (size_t)w;
            }
            off += (off_t)fill;
            fill = 0;
            if (rc || q == n_parts)
                break;
        }
    }
    int e = errno;
    promo_free(raw);
    errno = e;
    return rc;
}

/* Create a new temporary beside path: *tmp_out its name, *fd_out open for writing. A file
 * that cannot be created is store_path_status(errno) for a path the user gave (user_path = 1:
 * a missing directory is their mistake) and PROMO_EIO inside the workspace. */
static int create_temp(const char *path, int user_path, char **tmp_out, int *fd_out)
{
    *tmp_out = NULL;
    *fd_out = -1;
    char *tmp = NULL;
    int fd = -1;
    pthread_once(&seq_once, seq_seed);
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        promo_free(tmp);
        if (!(tmp = temp_name(path, atomic_fetch_add(&temp_seq, 1))))
            return PROMO_ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        promo_free(tmp);
        return promo_fail(user_path ? store_path_status(e) : PROMO_EIO, "%s: cannot create: %s",
                          path, strerror(e));
    }
    *tmp_out = tmp;
    *fd_out = fd;
    return PROMO_OK;
}

/* Write parts[0..n_parts) in order to fd (a new file) and close it; with sync, fsync it first,
 * else start its writeback (sync_file_range: the fsync that comes later finds less to wait
 * for). 0, or -1 with errno (fd closed either way). No promo_fail: this runs on the writer
 * threads of promo_store_stage_parts_async too. */
static int write_fd_parts(int fd, const promo_store_part *parts, size_t n_parts, int sync)
{
    size_t total = 0;
    for (size_t q = 0; q < n_parts; q++)
        total += parts[q].n;
    int direct = total >= DIRECT_MIN && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_DIRECT) == 0;
    if (direct && write_direct(fd, parts, n_parts) != 0)
        goto io_fail;
    for (size_t q = 0; q < n_parts && !direct; q++) {
        const char *p = parts[q].data;
        size_t left = parts[q].n;
        while (left > 0) {
            ssize_t k = write(fd, p, left);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                if (k == 0)
                    errno = EIO;
                goto io_fail;
            }
            p += k;
            left -= (size_t)k;
        }
    }
    if (sync ? fsync(fd) != 0 : !direct && sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0)
        goto io_fail;
    return close(fd) == 0 ? 0 : -1;
io_fail : {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
}

/* Write parts[0..n_parts) in order to a new temporary beside path (write_fd_parts); *tmp_out
 * gets its name. On failure nothing is left behind; the message names path; a failed write is
 * PROMO_EIO. */
static int write_temp_parts(const char *path,
                            const promo_store_part *parts,
                            size_t n_parts,
                            int user_path,
                            int sync,
                            char **tmp_out /* OUT */)
{
    char *tmp = NULL;
    int fd = -1;
    int rc = create_temp(path, user_path, &tmp, &fd);
    if (rc)
        return rc;
    if (write_fd_parts(fd, parts, n_parts, sync) != 0) {
        int e = errno;
        unlink(tmp);
        promo_free(tmp);
        return promo_fail(PROMO_EIO, "%s: write failed: %s", path, strerror(e));
    }
    *tmp_out = tmp;
    return PROMO_OK;
}

/* ---- writers of promo_store_stage_parts_async ---- */

struct stage_writer {
    pthread_t thread;
    int started; /* a thread to join */
    int fd;      /* the temporary, closed by the write */
    promo_store_part *parts;
    size_t n_parts;
    void (*done)(void *); /* called once, when the parts are no longer needed */
    void *arg;
    int err; /* errno of a failed write, else 0 */
};

static void *writer_run(void *arg)
{
    stage_writer *w = arg;
    w->err = write_fd_parts(w->fd, w->parts, w->n_parts, 0) == 0 ? 0 : errno ? errno : EIO;
    w->fd = -1;
    if (w->done) /* on this thread: the caller's memory is freed beside its tables */
        w->done(w->arg);
    w->done = NULL;
    return NULL;
}

/* Free w (not started or joined), calling its done if it has not run. */
static void writer_free(stage_writer *w)
{
    if (w->done)
        w->done(w->arg);
    promo_free(w->parts);
    promo_free(w);
}

/* Wait for f's writer (if any), free it: errno of a failed write (kept in f), else 0. */
static int writer_join(staged_file *f)
{
    stage_writer *w = f->writer;
    if (!w)
        return f->write_err;
    if (w->started)
        pthread_join(w->thread, NULL);
    f->write_err = w->err;
    writer_free(w);
    f->writer = NULL;
    return f->write_err;
}

/* Written at once: a temporary beside path, fsynced, renamed over it, the directory fsynced. */
static int atomic_write_parts(const char *path, const promo_store_part *parts, size_t n_parts)
{
    char *tmp = NULL, *dir = store_dir_of(path);
    int rc = dir ? write_temp_parts(path, parts, n_parts, 1, 1, &tmp) : PROMO_ENOMEM;
    if (!rc && rename(tmp, path) != 0) {
        rc = promo_fail(PROMO_EIO, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
    }
    if (!rc)
        rc = store_fsync_path(dir, 1);
    promo_free(tmp);
    promo_free(dir);
    return rc;
}

int promo_atomic_write(const char *path, const void *data, size_t n)
{
    promo_store_part one = {data, n};
    return atomic_write_parts(path, &one, 1);
}

/* ---- staged files ---- */

/* path relative to the workspace root ("models/x.json"), or NULL if it is not under it. */
const char *store_under_root(const promo_store *s, const char *path)
{
    size_t n = strlen(s->root);
    return strncmp(path, s->root, n) == 0 && path[n] == '/' && path[n + 1] ? path + n + 1 : NULL;
}

/* 1 if rel (from promo_staged) stays inside the workspace: relative, no ".." component. */
static int safe_rel(const char *rel)
{
    if (!rel || !*rel || rel[0] == '/')
        return 0;
    for (const char *p = rel; p; p = strchr(p, '/')) {
        p += *p == '/';
        if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == 0))
            return 0;
    }
    return 1;
}

/* Record f in promo_staged (as paths relative to the workspace, which may be opened from
 * another directory next time), in the open transaction; the first file of a transaction
 * replaces the rows of the previous one. A file outside the workspace is not recorded. */
static int record(promo_store *s, const staged_file *f)
{
    const char *tmp = store_under_root(s, f->tmp), *dst = store_under_root(s, f->dst);
    if (!tmp || !dst)
        return PROMO_OK;
    int rc = PROMO_OK;
    if (s->n_files == 0)
        rc = store_exec(s, "CREATE TABLE IF NOT EXISTS promo_staged (tmp TEXT PRIMARY KEY, "
                           "dst TEXT NOT NULL); DELETE FROM promo_staged;");
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, "INSERT INTO promo_staged VALUES (?, ?)", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, dst, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? PROMO_OK : store_db_fail(s, src, "record a staged file");
}

/* PROMO_KILL_AT=publish[:N]: die here, after N renames of the commit (tests, soak runs). */
static void kill_point(size_t renamed)
{
    const char *k = getenv("PROMO_KILL_AT");
    if (!k || strncmp(k, "publish", 7) != 0)
        return;
    if ((k[7] == 0 && renamed == 0) || (k[7] == ':' && strtoul(k + 8, NULL, 10) == renamed))
        raise(SIGKILL);
}

/* promo_store_stage_file and promo_store_stage_parts: sync = 0 leaves the fsync to commit;
 * w (promo_store_stage_parts_async, sync = 0): the bytes written by w's thread, started once
 * the temporary is created and recorded (w is the store's from then on, freed on failure). */
static int stage(promo_store *s,
                 const char *path,
                 const promo_store_part *parts,
                 size_t n_parts,
                 int sync,
                 stage_writer *w)
{
    /* Everything that allocates comes before the file exists, so a failure leaves none. */
    if (promo_grow((void **)&s->files, &s->files_cap, s->n_files + 1, sizeof *s->files)) {
        if (w)
            writer_free(w);
        return PROMO_ENOMEM;
    }
    staged_file f = {promo_strdup(path), NULL, store_dir_of(path), !sync, w, 0};
    int rc = !f.dst || !f.dir ? PROMO_ENOMEM
             : w              ? create_temp(path, 0, &f.tmp, &w->fd)
                              : write_temp_parts(path, parts, n_parts, 0, sync, &f.tmp);
    /* The writer's space reserved now, so that a full disk or a size limit fails the stage
     * with the file's own message, as a write made here would (a file system without
     * fallocate finds out in the writer, and fails the commit). */
    size_t total = 0;
    for (size_t q = 0; w && q < n_parts; q++)
        total += parts[q].n;
    if (!rc && w && total && fallocate(w->fd, 0, 0, (off_t)total) != 0 && errno != EOPNOTSUPP &&
        errno != ENOSYS) {
        rc = promo_fail(PROMO_EIO, "%s: write failed: %s", path, strerror(errno));
        close(w->fd);
        unlink(f.tmp);
    }
    const char *rel = store_under_root(s, path);
    if (!rc && ((rel && (rc = store_track(s, rel))) || (!s->pending && (rc = record(s, &f))))) {
        if (w)
            close(w->fd);
        unlink(f.tmp);
    }
    if (rc) {
        writer_join(&f);
        promo_free(f.tmp);
        promo_free(f.dst);
        promo_free(f.dir);
        return rc;
    }
    if (w) {
        w->started = pthread_create(&w->thread, NULL, writer_run, w) == 0;
        if (!w->started) /* no thread: written now */
            writer_run(w);
    }
    /* Staged twice: the later bytes win, and only one temporary is kept on disk. */
    for (size_t i = 0; i < s->n_files; i++)
        if (!strcmp(s->files[i].dst, path)) {
            writer_join(&s->files[i]);
            unlink(s->files[i].tmp);
            promo_free(s->files[i].tmp);
            promo_free(s->files[i].dst);
            promo_free(s->files[i].dir);
            s->files[i] = f;
            return PROMO_OK;
        }
    s->files[s->n_files++] = f;
    return PROMO_OK;
}

int promo_store_stage_file(promo_store *s, const char *path, const void *data, size_t n)
{
    promo_store_part one = {data, n};
    return s->in_txn ? stage(s, path, &one, 1, 1, NULL) : atomic_write_parts(path, &one, 1);
}

int promo_store_stage_parts(promo_store *s,
                            const char *path,
                            const promo_store_part *parts,
                            size_t n_parts)
{
    return s->in_txn ? stage(s, path, parts, n_parts, 0, NULL)
                     : atomic_write_parts(path, parts, n_parts);
}

int promo_store_stage_parts_async(promo_store *s,
                                  const char *path,
                                  const promo_store_part *parts,
                                  size_t n_parts,
                                  void (*done)(void *arg),
                                  void *arg)
{
    if (!s->in_txn) {
        int rc = atomic_write_parts(path, parts, n_parts);
        if (done)
            done(arg);
        return rc;
    }
    stage_writer *w = promo_calloc(1, sizeof *w);
    promo_store_part *copy = promo_mallocn(n_parts ? n_parts : 1, sizeof *copy);
    if (!w || !copy) {
        promo_free(w);
        promo_free(copy);
        if (done)
            done(arg);
        return PROMO_ENOMEM;
    }
    memcpy(copy, parts, n_parts * sizeof *copy);
    *w = (stage_writer){.fd = -1, .parts = copy, .n_parts = n_parts, .done = done, .arg = arg};
    return stage(s, path, parts, n_parts, 0, w);
}

/* Wait for every writer of the transaction: the first failure as PROMO_EIO naming its file. */
int promo_store_stage_wait(promo_store *s)
{
    int rc = PROMO_OK;
    for (size_t i = 0; i < s->n_files; i++) {
        int err = writer_join(&s->files[i]);
        if (err && !rc)
            rc = promo_fail(PROMO_EIO, "%s: write failed: %s", s->files[i].dst, strerror(err));
    }
    return rc;
}

int store_stage_sync(promo_store *s)
{
    int rc = promo_store_stage_wait(s);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->n_files; i++) {
        staged_file *f = &s->files[i];
        if (!f->unsynced)
            continue;
        int fd = open(f->tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return promo_fail(PROMO_EIO, "%s: write failed: %s", f->dst, strerror(e));
        }
        if (close(fd) != 0)
            return promo_fail(PROMO_EIO, "%s: write failed: %s", f->dst, strerror(errno));
        f->unsynced = 0;
    }
    return PROMO_OK;
}

/* Record the pending removals in promo_staged_removes(path), in the open transaction, so that
 * they are committed exactly when the tables are: killed after the SQL commit and before the
 * unlinks, the next open finishes them (store_roll_forward). The rows of an earlier
 * transaction are replaced. */
static int record_removes(promo_store *s)
{
    int rc = store_exec(s, "CREATE TABLE IF NOT EXISTS promo_staged_removes (path TEXT PRIMARY "
                           "KEY); DELETE FROM promo_staged_removes;");
    sqlite3_stmt *st = NULL;
    int src =
        rc ? SQLITE_OK
           : sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO promo_staged_removes VALUES (?)", -1,
                                &st, NULL);
    for (size_t i = 0; !rc && src == SQLITE_OK && i < s->n_removes; i++) {
        const char *rel = store_under_root(s, s->removes[i]);
        if (!rel)
            continue;
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        src = sqlite3_step(st) == SQLITE_DONE ? sqlite3_reset(st) : sqlite3_errcode(s->db);
    }
    sqlite3_finalize(st);
    if (!rc && src != SQLITE_OK)
        rc = store_db_fail(s, src, "record the models to remove");
    return rc;
}

int promo_store_stage_remove_models(promo_store *s)
{
    if (!s->in_txn)
        return promo_fail(PROMO_EUSAGE, "%s: stage_remove_models outside a transaction", s->ws_dir);
    DIR *d = opendir(s->models_dir);
    if (!d)
        return errno == ENOENT
                   ? PROMO_OK
                   : promo_fail(store_path_status(errno), "%s: %s", s->models_dir, strerror(errno));
    int rc = PROMO_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            S_ISDIR(st.st_mode))
            continue;
        char *p = store_path_join(s->models_dir, e->d_name);
        if (!p || promo_grow((void **)&s->removes, &s->removes_cap, s->n_removes + 1,
                             sizeof *s->removes)) {
            promo_free(p);
            rc = PROMO_ENOMEM;
            break;
        }
        s->removes[s->n_removes++] = p;
    }
    closedir(d);
    /* The removal must not fail after the tables are committed: check that it can now. */
    if (!rc && s->n_removes && access(s->models_dir, W_OK) != 0)
        rc = promo_fail(store_path_status(errno),
                        "%s: cannot remove the models trained on the data being replaced: %s",
                        s->models_dir, strerror(errno));
    if (!rc)
        rc = record_removes(s);
    if (rc)
        store_stage_discard(s);
    return rc;
}

void store_stage_discard(promo_store *s)
{
    for (size_t i = 0; i < s->n_removes; i++)
        promo_free(s->removes[i]);
    s->n_removes = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        writer_join(&s->files[i]);
        unlink(s->files[i].tmp);
        promo_free(s->files[i].tmp);
        promo_free(s->files[i].dst);
        promo_free(s->files[i].dir);
    }
    s->n_files = 0;
}

int store_stage_publish(promo_store *s)
{
    /* No allocation from here on: the tables are committed, and an out-of-memory now would
     * leave them without their files. Only rename(2) can fail (see store.h). */
    int rc = PROMO_OK;
    if (s->n_removes)
        kill_point(0); /* PROMO_KILL_AT=publish: after the SQL commit, before the removals */
    /* Removals first, so a model staged in the same transaction is not removed. A kill
     * before them leaves the old models; the next open removes them (store_roll_forward, from
     * promo_staged_removes), and until then promo_store_check_file refuses them (their data
     * version is no longer the workspace's). */
    size_t removed = 0;
    for (size_t i = 0; i < s->n_removes; i++) {
        if (unlink(s->removes[i]) == 0)
            removed++;
        else if (errno != ENOENT && !rc)
            rc = promo_fail(PROMO_EIO,
                            "%s: the tables are committed, but this stale model could not be "
                            "removed: %s",
                            s->removes[i], strerror(errno));
        promo_free(s->removes[i]);
    }
    if (removed)
        promo_info("removed %zu model file(s) trained on the replaced data", removed);
    if (s->n_removes && s->models_dir) {
        int frc = store_fsync_path(s->models_dir, 1);
        rc = rc ? rc : frc;
    }
    s->n_removes = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        staged_file *f = &s->files[i];
        kill_point(i);
        if (rename(f->tmp, f->dst) == 0)
            continue;
        int e = errno;
        unlink(f->tmp);
        if (!rc)
            rc = promo_fail(PROMO_EIO,
                            "%s: the tables are committed, but this file could not be put in "
                            "place (the old one, if any, is still there): %s",
                            f->dst, strerror(e));
    }
    for (size_t i = 0; i < s->n_files; i++) {
        size_t j = 0;
        while (j < i && strcmp(s->files[j].dir, s->files[i].dir) != 0)
            j++;
        int frc = j == i ? store_fsync_path(s->files[i].dir, 1) : PROMO_OK;
        if (frc && !rc)
            rc = frc;
    }
    for (size_t i = 0; i < s->n_files; i++) {
        promo_free(s->files[i].tmp);
        promo_free(s->files[i].dst);
        promo_free(s->files[i].dir);
    }
    s->n_files = 0;
    return rc;
}

/* ---- leftovers of killed commands ---- */

/* The pid in a temporary's name: ".NAME.tmp-<pid>-<seq>" (ours), or "NAME.tmp-<pid>" (what
 * promo wrote before the store owned the temporaries); 0 for any other name. */
static long temp_pid(const char *name)
{
    const char *tag = NULL;
    for (const char *p = strstr(name, ".tmp-"); p; p = strstr(p + 1, ".tmp-"))
        tag = p;
    if (!tag || tag == name)
        return 0;
    const char *p = tag + 5, *digits = p;
    long pid = 0;
    while (*p >= '0' && *p <= '9' && pid < 100000000)
        pid = pid * 10 + (*p++ - '0');
    if (p == digits)
        return 0;
    if (*p == 0)
        return name[0] == '.' ? 0 : pid;
    if (*p != '-' || name[0] != '.' || !p[1])
        return 0;
    for (p++; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return pid;
}

int store_pid_alive(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The removals of a committed generate --force that was killed before it made them: a file
 * listed in promo_staged_removes goes unless it was written since from the current data (a
 * model trained after the replacement records the current version, and stays). */
static void roll_forward_removes(promo_store *s)
{
    if (!store_has_object(s, "promo_staged_removes", 0))
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT path FROM promo_staged_removes", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    size_t removed = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *rel = (const char *)sqlite3_column_text(st, 0);
        struct stat sb;
        char *path = safe_rel(rel) ? store_path_join(s->root, rel) : NULL;
        if (path && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
            !store_file_is_current(s, rel)) {
            if (unlink(path) == 0)
                removed++;
            else
                promo_warn("%s: cannot remove this model of replaced data: %s", path,
                           strerror(errno));
        }
        promo_free(path);
    }
    sqlite3_finalize(st);
    if (removed) {
        store_fsync_path(s->models_dir, 1);
        promo_info("removed %zu model file(s) of replaced data (the command that replaced it was "
                   "killed)",
                   removed);
    }
}

void store_roll_forward(promo_store *s)
{
    roll_forward_removes(s);
    if (!store_has_object(s, "promo_staged", 0))
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT tmp, dst FROM promo_staged", -1, &st, NULL) != SQLITE_OK)
        return;
    char *tmp = NULL, *dst = NULL, *dir = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *rt = (const char *)sqlite3_column_text(st, 0);
        const char *rd = (const char *)sqlite3_column_text(st, 1);
        const char *base = rt ? strrchr(rt, '/') : NULL;
        long pid = temp_pid(base ? base + 1 : rt ? rt : "");
        promo_free(tmp);
        promo_free(dst);
        promo_free(dir);
        tmp = dst = dir = NULL;
        struct stat sb;
        /* A live pid may be renaming it right now; a missing one was renamed long ago. */
        if (pid <= 0 || !safe_rel(rt) || !safe_rel(rd) || store_pid_alive(pid) ||
            !(tmp = store_path_join(s->root, rt)) || !(dst = store_path_join(s->root, rd)) ||
            !(dir = store_dir_of(dst)) || lstat(tmp, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (rename(tmp, dst) != 0) {
            promo_warn("%s: cannot finish the commit of a killed command: %s", dst,
                       strerror(errno));
            continue;
        }
        store_fsync_path(dir, 1);
        promo_info("%s: put in place (the command that committed it was killed)", dst);
    }
    promo_free(tmp);
    promo_free(dst);
    promo_free(dir);
    sqlite3_finalize(st);
}

void store_clean_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_pid(e->d_name);
        struct stat st;
        /* A live pid's temporary may be in use, even by another store of this process. */
        if (pid <= 0 || store_pid_alive(pid) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
            continue;
        unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}
