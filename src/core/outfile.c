/* Output files the user names (--out): temp-and-rename for regular files, direct checked
 * writes for devices and FIFOs, symlinks followed. The contract and the reasons are in
 * include/promo/outfile.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/outfile.h>

struct promo_outfile {
    FILE *f;      /* the stream written to */
    char *path;   /* the path as given (for messages) */
    char *target; /* the file replaced at commit (the path, or where its link points) */
    char *tmp;    /* the temporary beside target, or NULL when writing in place */
    char *dir;    /* target's directory (fsynced after the rename) */
    int fd;       /* the descriptor under f (not stdout) */
    int err;      /* errno of the first failed write(2), 0 if none */
    int is_stdout;
};

/* The stream writes through this, so the errno of a failed write (ENOSPC, EFBIG under
 * RLIMIT_FSIZE, EIO) is kept for the message: stdio's buffering would lose it. */
static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    promo_outfile *o = c;
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(o->fd, buf + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!o->err)
                o->err = k < 0 ? errno : EIO;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)k;
    }
    return (ssize_t)n;
}

static int cookie_close(void *c)
{
    promo_outfile *o = c;
    int rc = close(o->fd);
    if (rc != 0 && !o->err)
        o->err = errno;
    o->fd = -1;
    return rc;
}

/* A stream over fd (taken: closed with the stream). */
static int open_stream(promo_outfile *o, int fd)
{
    o->fd = fd;
    cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
    if (!(o->f = fopencookie(o, "w", io))) {
        close(fd);
        o->fd = -1;
        return PROMO_ENOMEM;
    }
    setvbuf(o->f, NULL, _IOFBF, 1 << 16);
    return PROMO_OK;
}

static int user_status(int e)
{
    return e == ENOENT || e == ENOTDIR || e == EACCES || e == EPERM || e == EROFS || e == ELOOP ||
                   e == ENAMETOOLONG || e == EISDIR || e == ENXIO
               ? PROMO_EINPUT
               : PROMO_EIO;
}

static void free_outfile(promo_outfile *o)
{
    if (!o)
        return;
    promo_free(o->path);
    promo_free(o->target);
    promo_free(o->tmp);
    promo_free(o->dir);
    promo_free(o);
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

/* Remove ".BASE.tmp-<pid>-<n>" in dir whose pid is gone: what a killed writer left. */
static void clean_dead_temps(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t nb = strlen(base);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, nb) || strncmp(n + 1 + nb, ".tmp-", 5))
            continue;
        char *end = NULL;
        long pid = strtol(n + 1 + nb + 5, &end, 10);
        if (pid <= 0 || !end || *end != '-' || (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}

/* The temporary beside target: created O_EXCL, mode of the file it replaces (or 0644). */
static int open_temp(promo_outfile *o, mode_t mode)
{
    const char *slash = strrchr(o->target, '/');
    const char *base = slash ? slash + 1 : o->target;
    int dlen = slash ? (int)(slash - o->target + 1) : 0;
    clean_dead_temps(o->dir, base);
    size_t len = strlen(o->target) + 64;
    if (!(o->tmp = promo_malloc(len)))
        return PROMO_ENOMEM;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        unsigned int r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (unsigned int)clock() + (unsigned int)tries;
        snprintf(o->tmp, len, "%.*s.%s.tmp-%ld-%u", dlen, o->target, base, (long)getpid(), r);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        promo_free(o->tmp);
        o->tmp = NULL;
        return promo_fail(user_status(e), "%s: cannot create: %s", o->path, strerror(e));
    }
    (void)fchmod(fd, mode); /* the umask must not change a replaced file's bits */
    int rc = open_stream(o, fd);
    if (rc)
        unlink(o->tmp);
    return rc;
}

int promo_outfile_open(const char *path, promo_outfile **out)
{
    *out = NULL;
    if (!path || !*path)
        return promo_fail(PROMO_EUSAGE, "empty output path");
    promo_outfile *o = promo_calloc(1, sizeof *o);
    if (!o || !(o->path = promo_strdup(path))) {
        free_outfile(o);
        return PROMO_ENOMEM;
    }
    o->fd = -1;
    int rc = PROMO_OK;
    if (!strcmp(path, "-")) {
        o->f = stdout;
        o->is_stdout = 1;
        *out = o;
        return PROMO_OK;
    }
    struct stat lst, st;
    if (lstat(path, &lst) != 0) {
        if (errno != ENOENT) {
            rc = promo_fail(user_status(errno), "%s: %s", path, strerror(errno));
            goto fail;
        }
        /* A new file: its directory must exist (checked by the create below). */
        if (!(o->target = promo_strdup(path)) || !(o->dir = dir_of(path))) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        if ((rc = open_temp(o, 0644)))
            goto fail;
        *out = o;
        return PROMO_OK;
    }
    if (S_ISLNK(lst.st_mode)) {
        if (stat(path, &st) != 0) {
            rc = promo_fail(PROMO_EINPUT, "%s: a symbolic link to %s: %s", path,
                            errno == ENOENT ? "a missing file" : "nothing usable", strerror(errno));
            goto fail;
        }
        char *real = realpath(path, NULL);
        if (!real) {
            rc = promo_fail(user_status(errno), "%s: %s", path, strerror(errno));
            goto fail;
        }
        o->target = promo_strdup(real);
        free(real);
        if (!o->target) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
    } else {
        st = lst;
        if (!(o->target = promo_strdup(path))) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
    }
    if (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode)) {
        rc = promo_fail(PROMO_EINPUT, "%s: is a %s, not a file to write", path,
                        S_ISDIR(st.st_mode) ? "directory" : "socket");
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A device or FIFO: written in place (a FIFO waits for its reader, as asked). */
        int fd = open(o->target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            rc = promo_fail(user_status(errno), "%s: cannot open: %s", path, strerror(errno));
            goto fail;
        }
        if ((rc = open_stream(o, fd)))
            goto fail;
        *out = o;
        return PROMO_OK;
    }
    if (!(o->dir = dir_of(o->target))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    if ((rc = open_temp(o, st.st_mode & 07777)))
        goto fail;
    *out = o;
    return PROMO_OK;
fail:
    free_outfile(o);
    return rc;
}

FILE *promo_outfile_stream(promo_outfile *o)
{
    return o->f;
}

int promo_outfile_commit(promo_outfile *o)
{
    int e = 0;
    errno = 0;
    if (ferror(o->f) || fflush(o->f) != 0)
        e = o->err ? o->err : errno ? errno : EIO;
    if (o->is_stdout) {
        int rc = e ? promo_fail(PROMO_EIO, "writing to stdout failed: %s", strerror(e)) : PROMO_OK;
        free_outfile(o);
        return rc;
    }
    if (!e && o->tmp && fsync(o->fd) != 0)
        e = errno;
    if (fclose(o->f) != 0 && !e)
        e = o->err ? o->err : errno ? errno : EIO;
    o->f = NULL;
    if (!e && o->tmp && rename(o->tmp, o->target) != 0)
        e = errno;
    if (e) {
        if (o->tmp)
            unlink(o->tmp);
        int rc = promo_fail(PROMO_EIO, "%s: write failed: %s", o->path, strerror(e));
        free_outfile(o);
        return rc;
    }
    if (o->tmp) {
        int fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd); /* best effort: the file itself is durable already */
            close(fd);
        }
    }
    free_outfile(o);
    return PROMO_OK;
}

void promo_outfile_abort(promo_outfile *o)
{
    if (!o)
        return;
    if (o->is_stdout)
        fflush(o->f);
    else if (o->f)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    free_outfile(o);
}

int promo_outfile_write(const char *path, const void *data, size_t n)
{
    promo_outfile *o = NULL;
    int rc = promo_outfile_open(path, &o);
    if (rc)
        return rc;
    if (n && fwrite(data, 1, n, o->f) != n && !ferror(o->f)) {
        promo_outfile_abort(o);
        return promo_fail(PROMO_EIO, "%s: write failed", path);
    }
    return promo_outfile_commit(o);
}
