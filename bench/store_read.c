/* bench/store_read.c: promo_store_read_table throughput (the read every stage does first).
 *
 *   store_read WS [TABLE]     (TABLE defaults to transactions)
 *
 * Prints one JSON line: rows, wall seconds, CPU seconds (user+sys of the process), rows/s,
 * and the dictionary sizes of the STRING columns read. Built and run by bench/ingest.sh. */
#include <stdio.h>
#include <string.h>
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_read WS [TABLE]\n");
        return 2;
    }
    const char *name = argc > 2 ? argv[2] : "transactions";
    promo_store *s = NULL;
    if (promo_store_open(argv[1], 0, &s)) {
        fprintf(stderr, "store_read: %s\n", promo_last_error());
        return 1;
    }
    double w0 = wall(), c0 = cpu();
    promo_table *t = NULL;
    if (promo_store_read_table(s, name, &t)) {
        fprintf(stderr, "store_read: %s\n", promo_last_error());
        promo_store_close(s);
        return 1;
    }
    double w = wall() - w0, c = cpu() - c0;
    printf("{\"bench\": \"ingest\", \"name\": \"promo_store_read_table\", \"table\": \"%s\", "
           "\"rows\": %zu, \"seconds\": %.3f, \"cpu_s\": %.3f, \"rows_per_s\": %.0f, \"dicts\": {",
           name, t->n_rows, w, c, (double)t->n_rows / (w > 0 ? w : 1e-9));
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
