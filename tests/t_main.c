/* The test runner's main: runs registered tests in name order, times each, prints a summary. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>

#include "t.h"

typedef struct t_case {
    const char *name;
    const char *file;
    t_fn fn;
} t_case;

static t_case *cases;
static size_t n_cases, cap_cases;
static jmp_buf jb;
static int outcome; /* 0 pass, 1 fail, 2 skip */
static char tmp_root[256];
static int tmp_seq;

void t_register(const char *name, const char *file, t_fn fn)
{
    if (n_cases == cap_cases) {
        cap_cases = cap_cases ? cap_cases * 2 : 64;
        cases = realloc(cases, cap_cases * sizeof *cases);
        if (!cases)
            abort();
    }
    cases[n_cases++] = (t_case){name, file, fn};
}

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\n    %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    outcome = 1;
    longjmp(jb, 1);
}

void t_skip(const char *reason)
{
    fprintf(stderr, "\n    skipped: %s\n", reason);
    outcome = 2;
    longjmp(jb, 1);
}

static int by_name(const void *a, const void *b)
{
    const t_case *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *t_promo_bin(void)
{
    const char *b = getenv("PROMO_BIN");
    return b && *b ? b : "build/asan/promo";
}

const char *t_tmpdir(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/d%d", tmp_root, ++tmp_seq);
    if (mkdir(path, 0755) != 0) {
        fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
        abort();
    }
    return path;
}

static char *slurp_fd(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t k = read(fd, buf + n, cap - n - 1);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int t_sh(const char *cmd, char **out, char **err)
{
    char of[600], ef[600];
    snprintf(of, sizeof of, "%s/.out", tmp_root);
    snprintf(ef, sizeof ef, "%s/.err", tmp_root);
    size_t len = strlen(cmd) + 1300;
    char *full = malloc(len);
    snprintf(full, len, "( %s ) >'%s' 2>'%s' </dev/null", cmd, of, ef);
    int st = system(full);
    free(full);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (out)
        *out = t_read_file(of, NULL);
    if (err)
        *err = t_read_file(ef, NULL);
    return code;
}

int t_promo(const char *args, char **out, char **err)
{
    size_t len = strlen(args) + strlen(t_promo_bin()) + 8;
    char *cmd = malloc(len);
    snprintf(cmd, len, "%s %s", t_promo_bin(), args);
    int rc = t_sh(cmd, out, err);
    free(cmd);
    return rc;
}

void t_write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
}

char *t_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = slurp_fd(fileno(f), n);
    fclose(f);
    return s;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static void digest_dir(const char *dir, uint64_t *h)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent **list;
    int k = scandir(dir, &list, NULL, alphasort);
    closedir(d);
    for (int i = 0; i < k; i++) {
        const char *nm = list[i]->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..")) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, nm);
            *h = fnv(nm, strlen(nm), *h);
            struct stat st;
            if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                digest_dir(p, h);
            } else {
                FILE *f = fopen(p, "rb");
                if (f) {
                    char buf[65536];
                    size_t r;
                    while ((r = fread(buf, 1, sizeof buf, f)) > 0)
                        *h = fnv(buf, r, *h);
                    fclose(f);
                }
            }
        }
        free(list[i]);
    }
    free(list);
}

int t_count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

char *t_dir_digest(const char *dir)
{
    uint64_t h = 1469598103934665603ULL;
    struct stat st;
    char *s = malloc(32);
    if (stat(dir, &st) != 0) {
        s[0] = '\0';
        return s;
    }
    digest_dir(dir, &h);
    snprintf(s, 32, "%016llx", (unsigned long long)h);
    return s;
}

const char *t_shared_data(const char *rel)
{
    static char path[1024];
    const char *root = getenv("PROMO_SHARED_DATA");
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : "../shared/data", rel);
    return access(path, R_OK) == 0 ? path : NULL;
}

int main(int argc, char **argv)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/promo-tests.%d", (int)getpid());
    if (mkdir(tmp_root, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s\n", tmp_root);
        return 1;
    }
    qsort(cases, n_cases, sizeof *cases, by_name);
    int passed = 0, failed = 0, skipped = 0;
    double t_all = now_s();
    for (size_t i = 0; i < n_cases; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strstr(cases[i].name, argv[a]) || strstr(cases[i].file, argv[a]))
                selected = 1;
        if (!selected)
            continue;
        outcome = 0;
        promo_clear_error();
        promo_alloc_fail_at(0);
        double t0 = now_s();
        fprintf(stderr, "%-48s ", cases[i].name);
        if (setjmp(jb) == 0)
            cases[i].fn();
        promo_alloc_fail_at(0);
        double dt = now_s() - t0;
        const char *word = outcome == 0 ? "ok" : outcome == 1 ? "FAIL" : "skip";
        if (outcome == 0)
            fprintf(stderr, "%s (%.2fs)\n", word, dt);
        else
            fprintf(stderr, "%-48s %s (%.2fs)\n", cases[i].name, word, dt);
        if (outcome == 0)
            passed++;
        else if (outcome == 1)
            failed++;
        else
            skipped++;
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
    free(cases);
    fprintf(stderr, "time %.1fs\n", now_s() - t_all);
    fflush(stderr);
    printf("promo: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    /* LeakSanitizer's report at exit ends the process with _exit: a failed test's leaks (its
     * assertion returned early) would otherwise drop the buffered closing line CI reads. */
    fflush(stdout);
    return failed ? 1 : 0;
}

size_t t_replay_corpus(const char *dir, int (*one)(const uint8_t *data, size_t n))
{
    DIR *d = opendir(dir);
    if (!d) {
        char why[1100];
        snprintf(why, sizeof why, "%s is absent", dir);
        t_skip(why);
    }
    size_t n_files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n = 0;
        char *data = t_read_file(path, &n);
        T_ASSERT_MSG(data != NULL, "cannot read %s", path);
        one((const uint8_t *)data, n);
        free(data);
        n_files++;
    }
    closedir(d);
    return n_files;
}
