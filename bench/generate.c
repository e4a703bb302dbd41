/* bench/generate: the synthetic world generator at benchmark scale.
 *
 * Prints JSON lines: with ws "-", generation into columnar memory (transactions per second);
 * with a workspace, what `promo generate` does, generation and the write of every table into
 * a fresh workspace overlapped (promo_synth_generate_into), end to end; then the peak RSS of
 * the process.
 * usage: generate [customers] [products] [transactions] [threads] [ws|-]
 *        (defaults 1000000 50000 50000000 2 -)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/synth.h>

/* CPU seconds of the process so far (user, system): on a shared machine the wall clock measures
 * the other tenants as much as the code, the CPU time much less so. */
static void cpu_s(double *user, double *sys)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    *user = u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6;
    *sys = u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static double peak_rss_gib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0 / 1024.0; /* ru_maxrss is in KiB on Linux */
}

int main(int argc, char **argv)
{
    promo_synth_params p = promo_synth_params_default();
    p.n_customers = argc > 1 ? (uint32_t)atol(argv[1]) : 1000000;
    p.n_products = argc > 2 ? (uint32_t)atol(argv[2]) : 50000;
    p.n_transactions = argc > 3 ? (uint64_t)atoll(argv[3]) : 50000000;
    p.n_threads = argc > 4 ? atoi(argv[4]) : 2;
    const char *ws = argc > 5 ? argv[5] : "-";
    if (getenv("PROMO_BENCH_DEBUG")) /* phase timings of the generator on stderr */
        promo_log_set_level(PROMO_LOG_DEBUG);
    promo_synth_tables t;
    double u0, s0, u1, s1;
    if (strcmp(ws, "-") != 0) {
        /* what `promo generate` does: generate and write, overlapped (synth.h) */
        promo_store *s = NULL;
        double tail = 0;
        cpu_s(&u0, &s0);
        double t0 = promo_now_s();
        if (promo_store_open(ws, 1, &s) || promo_synth_generate_into(s, &p, &t, &tail)) {
            fprintf(stderr, "generate: %s\n", promo_last_error());
            promo_store_close(s);
            return 1;
        }
        promo_store_close(s);
        double t1 = promo_now_s();
        cpu_s(&u1, &s1);
        const promo_table *all[PROMO_SYNTH_N_TABLES];
        size_t n = promo_synth_tables_list(&t, all), rows = 0;
        for (size_t k = 0; k < n; k++)
            rows += all[k] ? all[k]->n_rows : 0;
        printf("{\"bench\":\"generate\",\"what\":\"generate_and_write\",\"customers\":%u,"
               "\"products\":%u,\"transactions\":%zu,\"rows_all_tables\":%zu,\"threads\":%d,"
               "\"seconds\":%.3f,\"write_after_generation_s\":%.3f,\"transactions_per_s\":%.0f,"
               "\"user_cpu_s\":%.2f,\"sys_cpu_s\":%.2f}\n",
               p.n_customers, p.n_products, t.transactions->n_rows, rows, p.n_threads, t1 - t0,
               tail, t.transactions->n_rows / (t1 - t0), u1 - u0, s1 - s0);
    } else {
        cpu_s(&u0, &s0);
        double t0 = promo_now_s();
        if (promo_synth_generate(&p, NULL, &t)) {
            fprintf(stderr, "generate: %s\n", promo_last_error());
            return 1;
        }
        double t1 = promo_now_s();
        cpu_s(&u1, &s1);
        printf("{\"bench\":\"generate\",\"what\":\"columnar\",\"customers\":%u,\"products\":%u,"
               "\"transactions\":%zu,\"events\":%zu,\"exposures\":%zu,\"threads\":%d,"
               "\"seconds\":%.3f,\"transactions_per_s\":%.0f,\"user_cpu_s\":%.2f,"
               "\"sys_cpu_s\":%.2f}\n",
               p.n_customers, p.n_products, t.transactions->n_rows, t.events->n_rows,
               t.exposures->n_rows, p.n_threads, t1 - t0, t.transactions->n_rows / (t1 - t0),
               u1 - u0, s1 - s0);
    }
    fflush(stdout);
    printf("{\"bench\":\"generate\",\"what\":\"peak_rss\",\"gib\":%.2f}\n", peak_rss_gib());
    promo_synth_tables_free(&t);
    return 0;
}
