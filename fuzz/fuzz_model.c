/* Fuzz target for the model loader (promo_gbdt_load_buffer): any bytes must give PROMO_OK or a
 * clean error, never a crash, a hang or a leak; a model that loads (binary, regression or
 * multi-class) must also predict and explain a row without trouble, since damaged trees or a
 * class count that disagrees with the trees would surface there.
 *
 * Built with clang-14 -fsanitize=fuzzer by `make fuzz` (PROMO_FUZZ defines the libFuzzer
 * entry point); linked into the test binary without it, where tests/test_gbdt.c replays
 * fuzz/corpus/model/ through fuzz_model_one. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <promo/alloc.h>
#include <promo/gbdt.h>

int fuzz_model_one(const uint8_t *d, size_t n);

int fuzz_model_one(const uint8_t *d, size_t n)
{
    promo_gbdt *m = NULL;
    if (promo_gbdt_load_buffer(d, n, &m) != 0)
        return 0;
    size_t nf = promo_gbdt_n_features(m), k = promo_gbdt_n_outputs(m);
    if (nf > 0 && nf <= 4096 && k >= 1 && k <= 1000) {
        float *x = promo_mallocn(2 * nf, sizeof *x);
        float *c = promo_mallocn(2 * k * (nf + 1), sizeof *c);
        float *p = promo_mallocn(2 * k, sizeof *p);
        if (x && c && p) {
            for (size_t j = 0; j < nf; j++) {
                x[j] = NAN;
                x[nf + j] = (float)j - 1.0f;
            }
            promo_gbdt_set_nthread(m, 1);
            promo_gbdt_predict(m, x, 2, nf, 0, p);
            promo_gbdt_predict(m, x, 2, nf, 1, p);
            promo_gbdt_contribs(m, x, 2, nf, c);
        }
        promo_free(x);
        promo_free(c);
        promo_free(p);
    }
    promo_gbdt_free(m);
    return 0;
}

#ifdef PROMO_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_model_one(data, size);
}
#endif
