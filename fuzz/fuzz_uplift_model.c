/* Fuzz target for the uplift model loader (promo_uplift_load, promo/uplift_io.h): any bytes
 * must give PROMO_OK or a clean error, never a crash, a hang or a leak. Every input is tried
 * twice: as it is (almost always refused by the checksum) and with its last 8 bytes replaced
 * by the checksum of the others, so that the fuzzer reaches the field checks behind it. A
 * model that loads must also predict effects, outcomes and propensities for two rows. The
 * same bytes (as they are and resealed) also go to the uplift tree/forest loader
 * (promo_uplift_forest_load, uplift_tree.h: the PROMOUFT section tree and forest models carry
 * inside the uplift file, or alone), so its node checks are reached directly.
 *
 * Built with clang-14 -fsanitize=fuzzer by `make fuzz` (PROMO_FUZZ defines the libFuzzer
 * entry point); linked into the test binary without it, where tests/test_uplift_ws.c replays
 * fuzz/corpus/uplift_model/ through fuzz_uplift_model_one. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/uplift_io.h>
#include <promo/uplift_tree.h>

int fuzz_uplift_model_one(const uint8_t *d, size_t n);

static void try_load(const uint8_t *d, size_t n)
{
    promo_uplift *m = NULL;
    char **kv = NULL;
    size_t nkv = 0;
    if (promo_uplift_load(d, n, &m, &kv, &nkv) != 0)
        return;
    (void)promo_uplift_attr(kv, nkv, "features");
    size_t nf = promo_uplift_n_features(m), K = (size_t)promo_uplift_n_arms(m);
    if (nf <= 4096) {
        float *x = promo_mallocn(2 * nf, sizeof *x);
        float *o = promo_mallocn(2 * K, sizeof *o);
        if (x && o) {
            for (size_t j = 0; j < nf; j++) {
                x[j] = NAN;
                x[nf + j] = (float)j - 1.0f;
            }
            promo_uplift_predict(m, x, 2, nf, o);
            promo_uplift_predict_outcomes(m, x, 2, nf, o);
            promo_uplift_predict_propensity(m, x, 2, nf, o);
        }
        promo_free(x);
        promo_free(o);
    }
    promo_free(kv);
    promo_uplift_free(m);
}

static void try_forest(const uint8_t *d, size_t n)
{
    promo_uplift_forest *f = NULL;
    if (promo_uplift_forest_load(d, n, &f) != 0)
        return;
    size_t nf = promo_uplift_forest_n_features(f), K = (size_t)promo_uplift_forest_n_arms(f);
    if (nf <= 4096) {
        float *x = promo_mallocn(2 * nf, sizeof *x);
        float *o = promo_mallocn(2 * K, sizeof *o);
        double *imp = promo_mallocn(nf, sizeof *imp);
        if (x && o && imp) {
            for (size_t j = 0; j < nf; j++) {
                x[j] = NAN;
                x[nf + j] = (float)j - 1.0f;
            }
            promo_uplift_forest_predict(f, x, 2, nf, o);
            promo_uplift_forest_importance(f, imp);
            (void)promo_uplift_forest_root_feature(f, 0);
        }
        promo_free(x);
        promo_free(o);
        promo_free(imp);
    }
    promo_uplift_forest_free(f);
}

int fuzz_uplift_model_one(const uint8_t *d, size_t n)
{
    try_load(d, n);
    try_forest(d, n);
    if (n < 16)
        return 0;
    uint8_t *c = promo_malloc(n);
    if (!c)
        return 0;
    memcpy(c, d, n);
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64, as uplift_io.c */
    for (size_t i = 0; i < n - 8; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    for (int i = 0; i < 8; i++)
        c[n - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
    try_load(c, n);
    try_forest(c, n);
    promo_free(c);
    return 0;
}

#ifdef PROMO_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_uplift_model_one(data, size);
}
#endif
