/* Reading a whole input file safely (include/promo/infile.h says what and why). */
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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

/* Open path as the module accepts it (promo/infile.h). On success *fd is open (0 for "-"),
 * *st describes it and *regular says whether it is a regular file (else a stream, already
 * switched to blocking reads). */
static int open_input(const char *path, unsigned flags, int *fd, struct stat *st, int *regular)
{
    *fd = -1;
    *regular = 0;
    if (!path || !*path)
        return promo_fail(PROMO_EUSAGE, "empty input path");
    int streams = (flags & PROMO_INFILE_STREAM) != 0;
    if (!strcmp(path, "-")) {
        if (!streams)
            return promo_fail(PROMO_EINPUT, "-: standard input cannot be read here (a file is "
                                            "read more than once)");
        *fd = 0;
        return PROMO_OK;
    }
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (f < 0) {
        int e = errno;
        return promo_fail(promo_infile_status(e), "%s: %s", path, strerror(e));
    }
    int rc = PROMO_OK;
    if (fstat(f, st) != 0) {
        rc = promo_fail(PROMO_EIO, "%s: %s", path, strerror(errno));
    } else if (S_ISREG(st->st_mode)) {
        /* O_NONBLOCK means nothing for a regular file; reads stay whole. */
        *regular = 1;
    } else if (S_ISFIFO(st->st_mode) && streams) {
        /* A FIFO read on purpose waits for its writer, which may come after us (`promo ... f &
         * cat data > f`): a read now would see end-of-file. poll on a FIFO opened without
         * blocking waits until a writer has written or has come and gone (Linux). Then
         * blocking reads to the end. */
        struct pollfd pf = {.fd = f, .events = POLLIN};
        while (poll(&pf, 1, -1) < 0 && errno == EINTR)
            ;
        int fl = fcntl(f, F_GETFL);
        if (fl == -1 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) == -1)
            rc = promo_fail(PROMO_EIO, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(st->st_mode)) {
        rc = promo_fail(PROMO_EINPUT, "%s: %s", path, strerror(EISDIR));
    } else {
        rc = promo_fail(PROMO_EINPUT, "%s: %s, not a regular file%s", path, kind_name(st->st_mode),
                        streams ? " or a FIFO" : "");
    }
    if (rc)
        close(f);
    else
        *fd = f;
    return rc;
}

static int changed_while_read(const char *path, long long had, long long now)
{
    return promo_fail(PROMO_EINPUT,
                      "%s: the file changed while it was read (%lld of %lld bytes): is something "
                      "still writing or truncating it?",
                      path, now, had);
}

/* Read an input open_input opened, and close it. */
static int
read_opened(int fd, const char *path, int regular, const struct stat *st, char **data, size_t *n)
{
    if (fd == 0)
        return read_all(0, "<stdin>", 0, data, n);
    int rc = read_all(fd, path, regular ? (size_t)st->st_size : 0, data, n);
    if (!rc && regular && *n < (size_t)st->st_size) {
        rc = changed_while_read(path, (long long)st->st_size, (long long)*n);
        promo_free(*data);
        *data = NULL;
        *n = 0;
    }
    close(fd);
    return rc;
}

int promo_infile_read(const char *path, unsigned flags, char **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    int fd, regular;
    struct stat st;
    int rc = open_input(path, flags, &fd, &st, &regular);
    return rc ? rc : read_opened(fd, path, regular, &st, data, n);
}

/* ---- mapped files and their SIGBUS guard ------------------------------------------------ */

#define MAX_MAPS        64                 /* mappings alive at once; more are read instead */
#define UNMAP_SPLIT_MIN ((size_t)32 << 20) /* mappings this large are taken down by all threads */

/* One live mapping. The handler reads base and len without a lock: len is set before base is
 * published (release) and base cleared before the mapping goes. */
typedef struct {
    _Atomic uintptr_t base;     /* 0: free slot */
    size_t len;                 /* mapped bytes (whole pages) */
    volatile sig_atomic_t lost; /* the handler put zero pages over a part of it */
    int fd;                     /* kept open to stat the file again at unmap */
    long long size;             /* bytes when mapped */
    char *path;                 /* for the message */
} map_guard;

static map_guard guards[MAX_MAPS];
static pthread_mutex_t guards_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static struct sigaction previous_bus;
static uintptr_t page_bytes = 4096;
static int handler_ok;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    for (int i = 0; i < MAX_MAPS; i++) {
        uintptr_t b = __atomic_load_n(&guards[i].base, __ATOMIC_ACQUIRE);
        if (!b || a < b || a - b >= guards[i].len)
            continue;
        uintptr_t pg = a & ~(page_bytes - 1);
        if (mmap((void *)pg, b + guards[i].len - pg, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
            guards[i].lost = 1;
            return; /* the access is retried and reads a zero */
        }
        break;
    }
    if ((previous_bus.sa_flags & SA_SIGINFO) && previous_bus.sa_sigaction) {
        previous_bus.sa_sigaction(sig, si, uc);
    } else if (previous_bus.sa_handler != SIG_DFL && previous_bus.sa_handler != SIG_IGN) {
        previous_bus.sa_handler(sig);
    } else {
        /* Not ours: the default action, when the access is retried on return. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
    }
}

static void install_handler(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0)
        page_bytes = (uintptr_t)ps;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    handler_ok = sigaction(SIGBUS, &sa, &previous_bus) == 0;
}

static const char empty_file[1];

int promo_infile_map(const char *path, unsigned flags, const char **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    int fd, regular;
    struct stat st;
    int rc = open_input(path, flags, &fd, &st, &regular);
    if (rc)
        return rc;
    if (regular && st.st_size == 0) {
        close(fd);
        *data = empty_file;
        return PROMO_OK;
    }
    pthread_once(&handler_once, install_handler);
    map_guard *g = NULL;
    if (regular && handler_ok && (uintmax_t)st.st_size <= SIZE_MAX) {
        pthread_mutex_lock(&guards_lock);
        for (int i = 0; i < MAX_MAPS && !g; i++)
            if (!__atomic_load_n(&guards[i].base, __ATOMIC_RELAXED) && !guards[i].path)
                g = &guards[i];
        char *copy = g ? promo_strdup(path) : NULL;
        if (g && !copy)
            g = NULL;
        if (g)
            g->path = copy; /* claims the slot */
        pthread_mutex_unlock(&guards_lock);
    }
    if (!g) { /* a stream, or no slot: read */
        char *buf = NULL;
        rc = read_opened(fd, path, regular, &st, &buf, n);
        *data = buf;
        return rc;
    }
    size_t len = (size_t)st.st_size;
    /* Not MAP_POPULATE: that fills the page tables on this thread before anything starts,
     * where the parser's threads fault their own parts in parallel (16 pages a fault) in half
     * the time (bench/RESULTS.md). MADV_WILLNEED starts reading a file that is not cached
     * yet in the background; not for a file that is a large part of memory (it would read it
     * all ahead, evicting as it goes). */
    void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    long phys = sysconf(_SC_PHYS_PAGES);
    if (base != MAP_FAILED && phys > 0 && len / page_bytes < (size_t)phys / 4)
        (void)madvise(base, len, MADV_WILLNEED);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        pthread_mutex_lock(&guards_lock);
        promo_free(g->path);
        g->path = NULL;
        pthread_mutex_unlock(&guards_lock);
        return promo_fail(e == ENOMEM ? PROMO_ENOMEM : PROMO_EIO, "%s: cannot map: %s", path,
                          strerror(e));
    }
    g->len = (len + page_bytes - 1) & ~(page_bytes - 1);
    g->lost = 0;
    g->fd = fd;
    g->size = (long long)st.st_size;
    __atomic_store_n(&g->base, (uintptr_t)base, __ATOMIC_RELEASE);
    *data = base;
    *n = len;
    return PROMO_OK;
}

int promo_infile_unmap(const char *data, size_t n)
{
    if (!data || data == empty_file)
        return PROMO_OK;
    map_guard *g = NULL;
    for (int i = 0; i < MAX_MAPS && !g; i++)
        if (__atomic_load_n(&guards[i].base, __ATOMIC_ACQUIRE) == (uintptr_t)data)
            g = &guards[i];
    if (!g) {
        promo_free((void *)data);
        return PROMO_OK;
    }
    (void)n;
    struct stat st;
    long long now = fstat(g->fd, &st) == 0 ? (long long)st.st_size : -1;
    int rc = g->lost || now < g->size ? changed_while_read(g->path, g->size, now < 0 ? 0 : now)
                                      : PROMO_OK;
    /* Taking down the page tables of a large mapping is most of munmap's time (0.01 s for
     * 264 MB); MADV_DONTNEED does that part under the mm's read lock, so the threads share
     * it, and munmap is left with little. */
    int parts = g->len >= UNMAP_SPLIT_MIN ? omp_get_max_threads() : 1;
    if (parts > 1) {
        size_t step = (g->len / (size_t)parts + page_bytes - 1) & ~(page_bytes - 1);
#pragma omp parallel for num_threads(parts) schedule(static, 1)
        for (int k = 0; k < parts; k++) {
            size_t from = (size_t)k * step, to = from + step < g->len ? from + step : g->len;
            if (from < to)
                madvise((char *)data + from, to - from, MADV_DONTNEED);
        }
    }
    __atomic_store_n(&g->base, 0, __ATOMIC_RELEASE);
    munmap((void *)data, g->len);
    close(g->fd);
    pthread_mutex_lock(&guards_lock);
    promo_free(g->path);
    g->path = NULL;
    pthread_mutex_unlock(&guards_lock);
    return rc;
}
