/* fuzz/fuzz_map.c: libFuzzer target for `promo ingest --map our_col=their_col,...`, built by
 * `make fuzz`; linked into the test binary without PROMO_FUZZ, where tests/test_safety.c
 * replays fuzz/corpus/map.
 *
 * The input is the --map string. It is applied through promo_ingest_read (which touches no
 * workspace) to one small customers file with odd column names, written once per process:
 * the parser, the renames against the header and every check after them run. Any status is
 * fine; a crash, a sanitizer report or a leak is not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/profile.h>

int fuzz_map_one(const uint8_t *data, size_t n);

static char g_path[256];

static const char *source_path(void)
{
    if (g_path[0])
        return g_path;
    snprintf(g_path, sizeof g_path, "%s/promo-fuzz-map-%ld-customers.csv",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    FILE *f = fopen(g_path, "w");
    if (!f)
        abort();
    fputs("cid,Full Name,age,g,loc,signup,=,x=y,,customer_id\n"
          "C1,Ann,34,f,Colombo,2023-01-02,a,b,c,K1\n"
          "C2,\"Bo, Jr\",,m,Kandy,2023-02-03,,,,K2\n",
          f);
    if (fclose(f) != 0)
        abort();
    return g_path;
}

int fuzz_map_one(const uint8_t *data, size_t n)
{
    if (n > 4096)
        return 0; /* a --map is a command-line argument */
    char *map = promo_malloc(n + 1);
    if (!map)
        return 0;
    memcpy(map, data, n);
    map[n] = 0; /* an argument ends at its first NUL */
    promo_log_level level = promo_log_get_level();
    promo_log_set_level(PROMO_LOG_ERROR);
    promo_ingest_options o = promo_ingest_options_default();
    o.map = map;
    o.table = "customers";
    o.n_threads = 1;
    const char *files[] = {source_path()};
    promo_ingest *ing = NULL;
    (void)promo_ingest_read(&o, files, 1, &ing);
    promo_ingest_free(ing);
    promo_free(map);
    promo_log_set_level(level);
    return 0;
}

#ifdef PROMO_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_map_one(data, size);
}
#endif
