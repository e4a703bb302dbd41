/* bench/features_ws.c: promo_features_compute on a workspace's own tables (e.g. UCI Online
 * Retail after promo ingest) at a cutoff, timed (wall, user and system CPU, repeated), with the
 * FNV digest of every output that bench/features_bench.c prints: a change to the feature code
 * that is meant to be a pure speed-up must leave the digest as it was. JSON lines.
 *
 * usage: features_ws WS YYYY-MM-DD [repeats] [threads]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "features_digest.h"

static void cpu_s(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
    *sys = (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: features_ws WS YYYY-MM-DD [repeats] [threads]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3, threads = argc > 4 ? atoi(argv[4]) : 0;
    promo_store *s = NULL;
    promo_panel d = {0};
    promo_feature_params fp = promo_feature_params_default();
    fp.n_threads = threads;
    if (promo_time_parse(argv[2], strlen(argv[2]), PROMO_DATE_ISO, &fp.as_of) ||
        promo_store_open(argv[1], 0, &s) || promo_panel_load_tables(s, threads, &d)) {
        fprintf(stderr, "features_ws: %s\n", promo_last_error());
        return 1;
    }
    for (int r = 0; r < reps; r++) {
        promo_features *f = NULL;
        double u0, s0, u1, s1, t0 = promo_now_s();
        cpu_s(&u0, &s0);
        if (promo_features_compute(&d.in, &fp, &f)) {
            fprintf(stderr, "features_ws: %s\n", promo_last_error());
            return 1;
        }
        double t1 = promo_now_s();
        cpu_s(&u1, &s1);
        printf("{\"bench\":\"features_ws\",\"ws\":\"%s\",\"as_of\":\"%s\",\"customers\":%zu,"
               "\"seconds\":%.3f,\"user_s\":%.3f,\"sys_s\":%.3f,\"copurchase_nnz\":%llu,"
               "\"digest\":\"%016llx\"}\n",
               argv[1], argv[2], f->n_customers, t1 - t0, u1 - u0, s1 - s0,
               (unsigned long long)f->copurchase.nnz, (unsigned long long)digest(f));
        promo_features_free(f);
    }
    promo_panel_free(&d);
    promo_store_close(s);
    return 0;
}
