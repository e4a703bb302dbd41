/* Reading a whole input file safely (include/promo/infile.h says what and why). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/infile.h>

int promo_infile_status(int e)
{
    if (e == ENOENT)
        return PROMO_ENOTFOUND;
    return e == EACCES || e == EPERM || e == ELOOP || e == ENOTDIR || e == EISDIR ||
                   e == ENAMETOOLONG || e == ENXIO || e == ENODEV || e == EOVERFLOW
               ? PROMO_EINPUT
               : PROMO_EIO;
}

static const char *kind_name(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
           : S_ISFIFO(m) ? "a FIFO"
                         : "not a regular file";
}

/* Read fd to its end into a buffer that starts with room for `hint` bytes. */
static int read_all(int fd, const char *path, size_t hint, char **data, size_t *n)
{
    size_t cap = hint + 1 > 65536 ? hint + 1 : 65536, len = 0;
    char *b = promo_malloc(cap);
    if (!b)
        return PROMO_ENOMEM;
    for (;;) {
        if (len + 1 >= cap) {
            /* Full: probe before growing, so a regular file read to its size (the usual
             * case) is never copied into a buffer twice as large. */
            char probe[4096];
            ssize_t k = read(fd, probe, sizeof probe);
            if (k < 0 && errno == EINTR)
                continue;
            if (k == 0)
                break;
            char *nb = k < 0 ? b : promo_reallocn(b, cap + sizeof probe, 2);
            if (!nb) {
                promo_free(b);
                return PROMO_ENOMEM;
            }
            if (k < 0) {
                int e = errno;
                promo_free(b);
                return promo_fail(PROMO_EIO, "%s: read failed: %s", path, strerror(e));
            }
            b = nb;
            cap = (cap + sizeof probe) * 2;
            memcpy(b + len, probe, (size_t)k);
            len += (size_t)k;
            continue;
        }
        ssize_t got = read(fd, b + len, cap - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            promo_free(b);
            return promo_fail(promo_infile_status(e) == PROMO_EINPUT ? PROMO_EINPUT : PROMO_EIO,
                              "%s: read failed: %s", path, strerror(e));
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    b[len] = 0;
    *data = b;
    *n = len;
    return PROMO_OK;
}

int promo_infile_read(const char *path, unsigned flags, char **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    if (!path || !*path)
        return promo_fail(PROMO_EUSAGE, "empty input path");
    int streams = (flags & PROMO_INFILE_STREAM) != 0;
    if (!strcmp(path, "-")) {
        if (!streams)
            return promo_fail(PROMO_EINPUT, "-: standard input cannot be read here (a file is "
                                            "read more than once)");
        return read_all(0, "<stdin>", 0, data, n);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return promo_fail(promo_infile_status(e), "%s: %s", path, strerror(e));
    }
    struct stat st;
    int rc = PROMO_OK;
    if (fstat(fd, &st) != 0) {
        rc = promo_fail(PROMO_EIO, "%s: %s", path, strerror(errno));
    } else if (S_ISREG(st.st_mode)) {
        /* O_NONBLOCK means nothing for a regular file; reads stay whole. */
        rc = read_all(fd, path, (size_t)st.st_size, data, n);
        if (!rc && *n < (size_t)st.st_size) {
            rc = promo_fail(PROMO_EINPUT,
                            "%s: the file changed while it was read (%zu of %lld bytes): is "
                            "something still writing or truncating it?",
                            path, *n, (long long)st.st_size);
            promo_free(*data);
            *data = NULL;
            *n = 0;
        }
    } else if (S_ISFIFO(st.st_mode) && streams) {
        /* A FIFO read on purpose waits for its writer, which may come after us (`promo ... f &
         * cat data > f`): a read now would see end-of-file. poll on a FIFO opened without
         * blocking waits until a writer has written or has come and gone (Linux). Then
         * blocking reads to the end. */
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        while (poll(&pf, 1, -1) < 0 && errno == EINTR)
            ;
        int fl = fcntl(fd, F_GETFL);
        if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
            rc = promo_fail(PROMO_EIO, "%s: %s", path, strerror(errno));
        else
            rc = read_all(fd, path, 0, data, n);
    } else if (S_ISDIR(st.st_mode)) {
        rc = promo_fail(PROMO_EINPUT, "%s: %s", path, strerror(EISDIR));
    } else {
        rc = promo_fail(PROMO_EINPUT, "%s: %s, not a regular file%s", path, kind_name(st.st_mode),
                        streams ? " or a FIFO" : "");
    }
    close(fd);
    return rc;
}
