/* fuzz/fuzz_baskets.c: libFuzzer target for the basket readers and the miner (make fuzz), also
 * linked into the test binary so `make test` replays fuzz/corpus/baskets (tests/test_assoc.c).
 *
 * The first byte picks the layout (even: lines, odd: long CSV) and, for lines, the separator;
 * the rest is the file. Whatever reads is mined at a support of one basket with a small
 * itemset limit, and every rule's confidence is checked to lie in (0, 1]. */
#include <stdint.h>
#include <stdlib.h>

#include <promo/assoc.h>
#include <promo/baskets.h>

int fuzz_baskets_one(const uint8_t *data, size_t n);

int fuzz_baskets_one(const uint8_t *data, size_t n)
{
    if (n == 0)
        return 0;
    static const char seps[] = {',', ';', '\t', ' '};
    promo_baskets_options o = promo_baskets_options_default();
    o.layout = data[0] & 1 ? PROMO_BASKETS_LONG : PROMO_BASKETS_LINES;
    o.delimiter = o.layout == PROMO_BASKETS_LONG ? 0 : seps[(data[0] >> 1) & 3];
    o.max_basket_items = 1000;
    promo_basket_file *f = NULL;
    if (promo_baskets_read_buffer((const char *)data + 1, n - 1, "fuzz", &o, &f))
        return 0;
    promo_baskets b = promo_basket_file_view(f);
    promo_assoc_params p = promo_assoc_params_default();
    p.min_support = b.n ? 1.0 / (double)b.n : 1;
    p.min_confidence = 0;
    p.max_len = 4;
    p.max_itemsets = 20000;
    p.n_threads = 1;
    promo_assoc *a = NULL;
    if (!promo_assoc_mine(&p, &b, &a)) {
        for (size_t r = 0; r < promo_assoc_n_rules(a); r++) {
            const promo_assoc_rule *x = promo_assoc_rule_at(a, r);
            if (!(x->confidence > 0 && x->confidence <= 1) || x->lhs_len == 0)
                abort();
        }
        promo_assoc_free(a);
    }
    promo_basket_file_free(f);
    return 0;
}

#ifdef PROMO_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_baskets_one(data, size);
}
#endif
