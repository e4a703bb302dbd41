/* bench/csv_parse.c: CSV parsing throughput of promo_csv_read (JSON lines on stdout).
 *
 * Generates a deterministic transactions CSV if the file is absent (7 columns: order_id,
 * customer_id, product_id, store_id, ts (ISO), quantity, unit_price), then times
 * promo_csv_read with a typed schema at each thread count, best of --repeat runs (the file is
 * in the page cache after the first). --real FILE also times a real file with inferred types.
 * bench/csv_parse.sh builds this against $(BUILD)/libpromo.a and puts wc -l and pandas beside it.
 *
 *   csv_parse [--file PATH] [--rows N] [--threads 1,2] [--repeat K] [--real FILE] [--gen-only]
 *             [--typed-only]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <promo/csv.h>
#include <promo/error.h>
#include <promo/rng.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of all threads so far: on a shared machine the wall clock also measures the
 * neighbours, this does not. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int generate(const char *path, long rows)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    promo_rng rng;
    promo_rng_init(&rng, 20240101, 0);
    fputs("order_id,customer_id,product_id,store_id,ts,quantity,unit_price\n", f);
    long t0 = 1672560000; /* 2023-01-01 08:00:00 */
    for (long r = 0; r < rows; r++) {
        uint64_t u = promo_rng_u64(&rng);
        long t = t0 + r * 6;
        long days = t / 86400, sec = t % 86400;
        /* civil date from days since 1970 (Hinnant) */
        long z = days + 719468, era = z / 146097, doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
        long y = yoe + era * 400 + (m <= 2);
        fprintf(f, "%ld,C%05lu,P%04lu,S%02lu,%04ld-%02ld-%02ld %02ld:%02ld:%02ld,%lu,%lu.%02lu\n",
                1000000 + r / 4, (unsigned long)(u % 50000), (unsigned long)(u >> 20) % 5000,
                (unsigned long)(u >> 36) % 50, y, m, d, sec / 3600, sec / 60 % 60, sec % 60,
                1 + (unsigned long)(u >> 44) % 9, 1 + (unsigned long)(u >> 50) % 99,
                (unsigned long)(u >> 57) * 3 % 100);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int time_read(
    const char *path, const promo_csv_options *base, int threads, int repeat, const char *what)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    promo_csv_options o = *base;
    o.n_threads = threads;
    double best = 1e30, best_cpu = 1e30;
    size_t rows = 0;
    for (int k = 0; k < repeat; k++) {
        promo_table *t = NULL;
        double t0 = now_s(), c0 = cpu_s();
        int rc = promo_csv_read(path, &o, &t, NULL);
        double dt = now_s() - t0, dc = cpu_s() - c0;
        if (dc < best_cpu)
            best_cpu = dc;
        if (rc) {
            fprintf(stderr, "csv_parse: %s\n", promo_last_error());
            return 1;
        }
        rows = t->n_rows;
        promo_table_free(t);
        if (dt < best)
            best = dt;
    }
    double mb = (double)st.st_size / 1e6;
    printf("{\"bench\":\"csv_parse\",\"what\":\"%s\",\"file\":\"%s\",\"threads\":%d,\"rows\":%zu,"
           "\"mb\":%.1f,\"seconds\":%.4f,\"cpu_seconds\":%.4f,\"rows_per_s\":%.0f,"
           "\"mb_per_s\":%.1f}\n",
           what, path, threads, rows, mb, best, best_cpu, (double)rows / best, mb / best);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = "/tmp/promo_bench_transactions.csv", *real = NULL;
    long rows = 5000000;
    int repeat = 3, gen_only = 0, only_typed = 0;
    char threads_arg[64] = "1,2";
    static const struct option longopts[] = {
        {"file", required_argument, 0, 'f'},    {"rows", required_argument, 0, 'n'},
        {"threads", required_argument, 0, 't'}, {"repeat", required_argument, 0, 'r'},
        {"real", required_argument, 0, 'R'},    {"gen-only", no_argument, 0, 'g'},
        {"typed-only", no_argument, 0, 'T'},    {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            path = optarg;
            break;
        case 'n':
            rows = atol(optarg);
            break;
        case 't':
            snprintf(threads_arg, sizeof threads_arg, "%s", optarg);
            break;
        case 'r':
            repeat = atoi(optarg);
            break;
        case 'R':
            real = optarg;
            break;
        case 'g':
            gen_only = 1;
            break;
        case 'T':
            only_typed = 1;
            break;
        default:
            fprintf(stderr, "usage: csv_parse [--file P] [--rows N] [--threads 1,2] "
                            "[--repeat K] [--real FILE] [--gen-only]\n");
            return 2;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 && generate(path, rows))
        return 1;
    if (gen_only)
        return 0;

    static const promo_csv_column tx[] = {
        {"order_id", PROMO_COL_INT64, 1},     {"customer_id", PROMO_COL_STRING, 1},
        {"product_id", PROMO_COL_STRING, 1},  {"store_id", PROMO_COL_STRING, 1},
        {"ts", PROMO_COL_TIMESTAMP, 1},       {"quantity", PROMO_COL_INT64, 1},
        {"unit_price", PROMO_COL_FLOAT64, 1},
    };
    promo_csv_options typed = promo_csv_options_default();
    typed.columns = tx;
    typed.n_columns = sizeof tx / sizeof tx[0];
    promo_csv_options inferred = promo_csv_options_default();

    static const promo_csv_column retail[] = {
        {"InvoiceNo", PROMO_COL_STRING, 1},      {"StockCode", PROMO_COL_STRING, 1},
        {"Description", PROMO_COL_STRING, 1},    {"Quantity", PROMO_COL_INT64, 1},
        {"InvoiceDate", PROMO_COL_TIMESTAMP, 1}, {"UnitPrice", PROMO_COL_FLOAT64, 1},
        {"CustomerID", PROMO_COL_STRING, 1},     {"Country", PROMO_COL_STRING, 1},
    };
    promo_csv_options rtyped = promo_csv_options_default();
    rtyped.columns = retail;
    rtyped.n_columns = sizeof retail / sizeof retail[0];

    for (char *s = strtok(threads_arg, ","); s; s = strtok(NULL, ",")) {
        int nt = atoi(s);
        if (time_read(path, &typed, nt, repeat, "promo_csv_read typed") ||
            (!only_typed && time_read(path, &inferred, nt, repeat, "promo_csv_read inferred")))
            return 1;
        if (real &&
            (time_read(real, &rtyped, nt, repeat, "promo_csv_read typed") ||
             (!only_typed && time_read(real, &inferred, nt, repeat, "promo_csv_read inferred"))))
            return 1;
    }
    return 0;
}
