/* The workspace lock: flock(2) on "<ws>/.lock", held by a promo_store from its open (before
 * the first read) to its close, so that a command that writes sees no other writer between
 * what it reads and what it commits, and a reader sees one consistent state (tables with their
 * model files).
 *
 * Why flock on a file of its own and not SQLite's locks: SQLite locks promo.db only for the
 * length of a transaction, and a command's reads (panel, features) come before its write
 * transaction; the model files are outside SQLite altogether. flock locks belong to the open
 * file, so a killed process releases its lock with it: there is no stale lock to clean up.
 *
 * Modes: a store opened to write (promo_store_open) takes an exclusive lock; one opened with
 * promo_store_open_read a shared one, so readers run side by side. A lock that is taken waits
 * with one message on stderr (or, after promo_store_set_wait(0), fails at once with the same
 * words). Several stores of one process on the same workspace share the process's lock (a
 * second flock on another descriptor would wait for ourselves): which of them writes when is
 * the process's own business, as before.
 *
 * A new workspace locks ".lock" inside its staging directory; rename(2) moves the locked file
 * with the directory, so the lock stays held across the publish.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>

#include "data/store_internal.h"

/* One lock this process holds: the file's identity, the descriptor that holds it, how. */
typedef struct held_lock {
    dev_t dev;
    ino_t ino;
    int fd;
    int exclusive;
    int refs;
} held_lock;

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static held_lock held[16];
static size_t n_held;
static atomic_int wait_policy = 1;

void promo_store_set_wait(int wait)
{
    atomic_store(&wait_policy, wait ? 1 : 0);
}

int store_busy_fail(const char *ws_dir)
{
    return promo_fail(PROMO_EIO,
                      "workspace %s is in use by another promo command (it holds the workspace "
                      "lock); try again when it has finished",
                      ws_dir);
}

int store_lock(promo_store *s, int exclusive)
{
    char *path = store_path_join(s->root, STORE_LOCK_NAME);
    if (!path)
        return PROMO_ENOMEM;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && !exclusive && (errno == EACCES || errno == EROFS))
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        promo_free(path);
        /* A reader of a workspace it may not write (and that has no lock file): nothing to
         * coordinate with, since no one with our permissions can write it either. */
        if (!exclusive && (e == EACCES || e == EROFS || e == ENOENT))
            return PROMO_OK;
        return promo_fail(store_path_status(e), "workspace %s: cannot open its lock file: %s",
                          s->ws_dir, strerror(e));
    }
    promo_free(path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return promo_fail(PROMO_EIO, "workspace %s: lock file: %s", s->ws_dir, strerror(e));
    }
    pthread_mutex_lock(&held_mu);
    for (size_t i = 0; i < n_held; i++)
        if (held[i].dev == st.st_dev && held[i].ino == st.st_ino) {
            held[i].refs++;
            pthread_mutex_unlock(&held_mu);
            close(fd);
            s->lock_dev = st.st_dev;
            s->lock_ino = st.st_ino;
            s->locked = 1;
            return PROMO_OK;
        }
    if (n_held == sizeof held / sizeof *held) {
        pthread_mutex_unlock(&held_mu);
        close(fd);
        return promo_fail(PROMO_EINTERNAL, "too many workspaces open at once");
    }
    /* Keep held_mu while waiting: another thread of ours opening the same workspace must not
     * queue a second flock behind ours. */
    int op = exclusive ? LOCK_EX : LOCK_SH;
    int rc = flock(fd, op | LOCK_NB);
    if (rc != 0 && errno == EWOULDBLOCK) {
        if (!atomic_load(&wait_policy)) {
            pthread_mutex_unlock(&held_mu);
            close(fd);
            return store_busy_fail(s->ws_dir);
        }
        promo_warn("workspace %s is in use by another promo command (it holds the workspace "
                   "lock); waiting for it to finish (promo --no-wait refuses instead)",
                   s->ws_dir);
        while ((rc = flock(fd, op)) != 0 && errno == EINTR)
            ;
    }
    if (rc != 0) {
        int e = errno;
        pthread_mutex_unlock(&held_mu);
        close(fd);
        return promo_fail(PROMO_EIO, "workspace %s: cannot lock: %s", s->ws_dir, strerror(e));
    }
    held[n_held++] = (held_lock){st.st_dev, st.st_ino, fd, exclusive, 1};
    pthread_mutex_unlock(&held_mu);
    s->lock_dev = st.st_dev;
    s->lock_ino = st.st_ino;
    s->locked = 1;
    return PROMO_OK;
}

int store_lock_try_exclusive(promo_store *s)
{
    int got = 0;
    pthread_mutex_lock(&held_mu);
    for (size_t i = 0; i < n_held; i++)
        if (s->locked && held[i].dev == s->lock_dev && held[i].ino == s->lock_ino) {
            if (held[i].exclusive)
                got = 1;
            else if (held[i].refs == 1 && flock(held[i].fd, LOCK_EX | LOCK_NB) == 0)
                got = 2; /* converted: give it back with store_lock_share */
        }
    pthread_mutex_unlock(&held_mu);
    return got;
}

void store_lock_share(promo_store *s)
{
    pthread_mutex_lock(&held_mu);
    for (size_t i = 0; i < n_held; i++)
        if (s->locked && held[i].dev == s->lock_dev && held[i].ino == s->lock_ino)
            flock(held[i].fd, LOCK_SH);
    pthread_mutex_unlock(&held_mu);
}

void store_unlock(promo_store *s)
{
    if (!s->locked)
        return;
    pthread_mutex_lock(&held_mu);
    for (size_t i = 0; i < n_held; i++)
        if (held[i].dev == s->lock_dev && held[i].ino == s->lock_ino) {
            if (--held[i].refs == 0) {
                close(held[i].fd); /* releases the flock */
                held[i] = held[--n_held];
            }
            break;
        }
    pthread_mutex_unlock(&held_mu);
    s->locked = 0;
}
