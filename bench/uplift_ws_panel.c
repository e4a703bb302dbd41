/* bench/uplift_ws_panel: the training rows of `promo train --model uplift` on a workspace
 * (promo_uplift_ws_rows_build: every exposure with its features as of its day), timed apart
 * from the fit, for bench/uplift_ws_panel.sh.
 *   uplift_ws_panel WS LABEL [threads=2] [clv=1] [v=1]
 * Prints one JSON line: rows, columns, wall and CPU seconds of loading the tables and of the
 * rows, and a 64-bit digest of every cell's bits (X, arms, outcomes, parts), so that two builds
 * can be shown to give the same rows. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/log.h>
#include <promo/panel.h>
#include <promo/store.h>
#include <promo/uplift_ws.h>

#define BENCH_NAME "uplift_ws_panel"
#include "uplift_truth.h"

static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return NAN;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: uplift_ws_panel WS LABEL [threads=N] [clv=0|1] [v=1]\n");
        return 2;
    }
    const char *ws = argv[1], *label = argv[2];
    int nt = 2, clv = 1;
    for (int a = 3; a < argc; a++) {
        if (strncmp(argv[a], "threads=", 8) == 0)
            nt = atoi(argv[a] + 8);
        else if (strncmp(argv[a], "clv=", 4) == 0)
            clv = atoi(argv[a] + 4);
        else if (strcmp(argv[a], "v=1") == 0)
            promo_log_set_level(PROMO_LOG_DEBUG);
    }
    double w0 = now(), c0 = cpu_s();
    promo_store *s = NULL;
    if (promo_store_open(ws, 0, &s))
        die("open");
    promo_panel d;
    if (promo_panel_load_tables(s, nt, &d))
        die("panel");
    double w1 = now(), c1 = cpu_s();
    promo_uplift_ws_params p = promo_uplift_ws_params_default();
    p.clv = clv;
    p.n_threads = nt;
    promo_uplift_ws_rows r;
    if (promo_uplift_ws_rows_build(&d, &p, &r))
        die("rows");
    double w2 = now(), c2 = cpu_s();
    uint64_t h = 0xcbf29ce484222325ull;
    h = mix(h, r.X, r.n * r.d * sizeof *r.X);
    h = mix(h, r.arm, r.n * sizeof *r.arm);
    h = mix(h, r.y, r.n * sizeof *r.y);
    h = mix(h, r.part, r.n);
    for (size_t j = 0; j < r.d; j++)
        h = mix(h, r.names[j], strlen(r.names[j]) + 1);
    printf("{\"bench\":\"uplift_ws_panel\",\"label\":\"%s\",\"threads\":%d,\"clv\":%d,"
           "\"rows\":%zu,\"cols\":%zu,\"load_wall_s\":%.2f,\"load_cpu_s\":%.2f,"
           "\"rows_wall_s\":%.2f,\"rows_cpu_s\":%.2f,\"digest\":\"%016" PRIx64 "\"}\n",
           label, nt, clv, r.n, r.d, w1 - w0, c1 - c0, w2 - w1, c2 - c1, h);
    promo_uplift_ws_rows_free(&r);
    promo_panel_free(&d);
    promo_store_close(s);
    return 0;
}
