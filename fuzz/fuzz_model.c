/* Fuzz target for the model loaders (promo_learner_load_buffer, which dispatches to
 * promo_gbdt_load_buffer for XGBoost JSON and promo_logreg_load_buffer for promo's logistic
 * regression format): any bytes must give PROMO_OK or a clean error, never a crash, a hang or
 * a leak; a model that loads (binary, regression or multi-class) must also predict, and a
 * gbdt explain, a row without trouble, since damaged trees or a class count that disagrees
 * with the trees would surface there.
 *
 * Built with clang-14 -fsanitize=fuzzer by `make fuzz` (PROMO_FUZZ defines the libFuzzer
 * entry point); linked into the test binary without it, where tests/test_gbdt.c replays
 * fuzz/corpus/model/ through fuzz_model_one. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <promo/alloc.h>
#include <promo/gbdt.h>
#include <promo/learner.h>

int fuzz_model_one(const uint8_t *d, size_t n);

int fuzz_model_one(const uint8_t *d, size_t n)
{
    promo_learner *l = NULL;
    if (promo_learner_load_buffer(d, n, &l) != 0)
        return 0;
    size_t nf = promo_learner_n_features(l), k = promo_learner_n_outputs(l);
    promo_gbdt *g = promo_learner_gbdt(l);
    if (nf > 0 && nf <= 4096 && k >= 1 && k <= 1000) {
        float *x = promo_mallocn(2 * nf, sizeof *x);
        float *c = promo_mallocn(2 * k * (nf + 1), sizeof *c);
        float *p = promo_mallocn(2 * k, sizeof *p);
        if (x && c && p) {
            for (size_t j = 0; j < nf; j++) {
                x[j] = NAN;
                x[nf + j] = (float)j - 1.0f;
            }
            promo_learner_set_nthread(l, 1);
            promo_learner_predict(l, x, 2, nf, p);
            if (g) {
                promo_gbdt_predict(g, x, 2, nf, 1, p);
                promo_gbdt_contribs(g, x, 2, nf, c);
            }
        }
        promo_free(x);
        promo_free(c);
        promo_free(p);
    }
    promo_learner_free(l);
    return 0;
}

#ifdef PROMO_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_model_one(data, size);
}
#endif
