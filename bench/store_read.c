/* bench/store_read.c: promo_store_read_table throughput (the read every stage does first),
 * beside two bounds measured in the same process right after it:
 *
 *   store_read WS [TABLE]     (TABLE defaults to transactions)
 *
 * Reads the table twice (again_*: the second read, into memory the first one freed) and
 * prints one JSON line: rows, wall seconds, CPU seconds (user+sys of the process, every
 * thread), rows/s by wall and per CPU-second, the dictionary sizes of the STRING columns, and
 *   - fresh_s (fresh_cpu_s): writing the same number of output bytes (the columns' arrays and
 *     null bitmaps) into freshly allocated memory (4 KiB pages), on the same threads,
 *     as the reader does: the kernel's page faults and zeroing (on this VM also the host's),
 *     which any reader that hands out new columns pays;
 *   - populated_s (populated_cpu_s): the same with the pages faulted in first, a range at a time
 *     (MADV_POPULATE_WRITE), as the reader does now: the floor for handing out new columns;
 *   - memcpy_s: memcpy of the stored bytes of the table (its chunk blobs, SQL length(data);
 *     null for the row layout) between two warm buffers: the memory-bandwidth cost of merely
 *     moving what is read.
 * Built and run by bench/store_read.sh. */
#include <omp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

/* kB of anonymous memory in transparent huge pages now (smaps_rollup), -1 if unknown: says
 * whether a reader that advises huge pages got them (the reader before helper pfault's
 * change did; bench/store_read_ab.sh runs both). */
static long anon_huge_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "AnonHugePages:", 14))
            kb = atol(line + 14);
    if (f)
        fclose(f);
    return kb;
}

/* Minor page faults of the process so far. */
static long minflt(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

static size_t elem_size(promo_col_type t)
{
    return t == PROMO_COL_STRING ? 4 : t == PROMO_COL_BOOL ? 1 : 8;
}

/* Fresh memory of n bytes written once by every thread, as the reader's columns are (4 KiB
 * pages); wall seconds, *cpu_s the process CPU it took. */
static double fresh_write(size_t n, double *cpu_s)
{
    double w0 = wall(), c0 = cpu();
    char *p = malloc(n);
    if (!p)
        return -1;
    const size_t block = (size_t)2 << 20;
    size_t blocks = (n + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t b = 0; b < blocks; b++) {
        size_t lo = b * block, len = n - lo < block ? n - lo : block;
        memset(p + lo, 1, len);
    }
    double w = wall() - w0;
    *cpu_s = cpu() - c0;
    volatile char sink = p[n / 2];
    (void)sink;
    free(p);
    return w;
}

/* The same as fresh_write with the pages faulted in first (madvise MADV_POPULATE_WRITE, as
 * the reader does per chunk since helper read20: promo_prefault; here inline, so that the
 * bench also builds against older libraries): the floor of any reader that hands out n bytes
 * of new columns on this machine. */
static double fresh_populated_write(size_t n, double *cpu_s)
{
    double w0 = wall(), c0 = cpu();
    char *p = malloc(n);
    if (!p)
        return -1;
    const size_t block = (size_t)2 << 20;
    size_t blocks = (n + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t b = 0; b < blocks; b++) {
        size_t lo = b * block, len = n - lo < block ? n - lo : block;
#ifdef MADV_POPULATE_WRITE
        /* the whole pages inside the block (malloc's pointer is not page-aligned) */
        uintptr_t a = ((uintptr_t)(p + lo) + 4095) & ~(uintptr_t)4095,
                  z = ((uintptr_t)(p + lo) + len) & ~(uintptr_t)4095;
        if (z > a)
            (void)madvise((void *)a, z - a, MADV_POPULATE_WRITE);
#endif
        memset(p + lo, 1, len);
    }
    double w = wall() - w0;
    *cpu_s = cpu() - c0;
    volatile char sink = p[n / 2];
    (void)sink;
    free(p);
    return w;
}

/* memcpy of n bytes between two buffers already faulted in (best of 3). */
static double warm_memcpy(size_t n)
{
    char *a = malloc(n), *b = malloc(n);
    double best = -1;
    if (a && b) {
        memset(a, 1, n);
        memset(b, 2, n);
        for (int k = 0; k < 3; k++) {
            double w0 = wall();
            memcpy(b, a, n);
            double w = wall() - w0;
            best = best < 0 || w < best ? w : best;
        }
        volatile char sink = b[n / 3];
        (void)sink;
    }
    free(a);
    free(b);
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_read WS [TABLE]\n");
        return 2;
    }
    const char *name = argc > 2 ? argv[2] : "transactions";
    promo_store *s = NULL;
    /* a reader's open (shared lock: the worlds under /work/wt/data stay readable by others),
     * or with STORE_READ_OPEN=write a writer's, which migrates a version-2 workspace first
     * (store_read.sh's migration step) */
    const char *how = getenv("STORE_READ_OPEN");
    int writer = how && !strcmp(how, "write");
    if (writer ? promo_store_open(argv[1], 0, &s) : promo_store_open_read(argv[1], &s)) {
        fprintf(stderr, "store_read: %s\n", promo_last_error());
        return 1;
    }
    /* twice: the first read gets fresh memory from the kernel (a new process), the second
     * the memory the first one freed (a long-lived process, e.g. promo serve) */
    double w = 0, c = 0, w2 = 0, c2 = 0;
    long huge_kb = -1, faults = 0, faults2 = 0;
    promo_table *t = NULL;
    for (int k = 0; k < 2; k++) {
        promo_table_free(t);
        t = NULL;
        double w0 = wall(), c0 = cpu();
        long f0 = minflt();
        if (promo_store_read_table(s, name, &t)) {
            fprintf(stderr, "store_read: %s\n", promo_last_error());
            promo_store_close(s);
            return 1;
        }
        *(k ? &w2 : &w) = wall() - w0;
        *(k ? &c2 : &c) = cpu() - c0;
        *(k ? &faults2 : &faults) = minflt() - f0;
        if (!k)
            huge_kb = anon_huge_kb();
    }
    size_t out_bytes = 0;
    for (size_t j = 0; j < t->n_cols; j++)
        out_bytes += t->n_rows * elem_size(t->cols[j]->type) +
                     (t->cols[j]->nulls ? (t->n_rows + 63) / 64 * 8 : 0);
    long long stored = -1;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT sum(length(data)) FROM \"promo_chunks__%s\"", name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(promo_store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        stored = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    double fresh_cpu = 0, fresh = fresh_write(out_bytes, &fresh_cpu);
    double pop_cpu = 0, pop = fresh_populated_write(out_bytes, &pop_cpu);
    double mc = stored > 0 ? warm_memcpy((size_t)stored) : -1;
    printf("{\"bench\": \"store_read\", \"name\": \"promo_store_read_table\", \"table\": \"%s\", "
           "\"threads\": %d, \"rows\": %zu, \"seconds\": %.3f, \"cpu_s\": %.3f, \"rows_per_s\": "
           "%.0f, \"rows_per_cpu_s\": %.0f, \"out_bytes\": %zu, \"fresh_s\": %.3f, "
           "\"fresh_cpu_s\": %.3f, \"populated_s\": %.3f, \"populated_cpu_s\": %.3f, "
           "\"stored_bytes\": %lld, \"again_s\": %.3f, \"again_cpu_s\": %.3f, "
           "\"again_rows_per_s\": %.0f, \"page_faults\": %ld, \"again_page_faults\": %ld, "
           "\"anon_huge_kb\": %ld, \"memcpy_s\": ",
           name, omp_get_max_threads(), t->n_rows, w, c, (double)t->n_rows / (w > 0 ? w : 1e-9),
           (double)t->n_rows / (c > 0 ? c : 1e-9), out_bytes, fresh, fresh_cpu, pop, pop_cpu,
           stored, w2, c2, (double)t->n_rows / (w2 > 0 ? w2 : 1e-9), faults, faults2, huge_kb);
    if (mc >= 0)
        printf("%.4f", mc);
    else
        printf("null");
    printf(", \"dicts\": {");
    int first = 1;
    for (size_t j = 0; j < t->n_cols; j++)
        if (t->cols[j]->type == PROMO_COL_STRING) {
            printf("%s\"%s\": %u", first ? "" : ", ", t->cols[j]->name,
                   promo_dict_size(t->cols[j]->dict));
            first = 0;
        }
    printf("}}\n");
    promo_table_free(t);
    promo_store_close(s);
    return 0;
}
