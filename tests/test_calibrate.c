/* Tests of src/models/calibrate.c: PAV against a hand-computed fit, Platt recovering a known
 * distortion, monotonicity, text round trip and rejects. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/calibrate.h>
#include <promo/error.h>
#include <promo/metrics.h>
#include <promo/rng.h>

#include "t.h"

T_TEST(calib_isotonic_hand)
{
    /* scores 0.1..0.6, labels 0 1 0 0 1 1: PAV pools (0.2, 0.3, 0.4) -> 1/3. */
    const double s[] = {0.6, 0.1, 0.2, 0.3, 0.4, 0.5};
    const uint8_t y[] = {1, 0, 1, 0, 0, 1};
    promo_calib *c = NULL;
    T_OK(promo_calib_fit(PROMO_CALIB_ISOTONIC, s, y, NULL, 6, &c));
    T_ASSERT_NEAR(promo_calib_one(c, 0.1), 0.0, 1e-12);
    T_ASSERT_NEAR(promo_calib_one(c, 0.2), 1.0 / 3.0, 1e-12);
    T_ASSERT_NEAR(promo_calib_one(c, 0.35), 1.0 / 3.0, 1e-12); /* flat inside a block */
    T_ASSERT_NEAR(promo_calib_one(c, 0.45), 2.0 / 3.0, 1e-12); /* linear between blocks */
    T_ASSERT_NEAR(promo_calib_one(c, 0.9), 1.0, 1e-12);         /* clamped */
    T_ASSERT_NEAR(promo_calib_one(c, 0.0), 0.0, 1e-12);
    char *txt = NULL;
    T_OK(promo_calib_to_string(c, &txt));
    promo_calib *c2 = NULL;
    T_OK(promo_calib_from_string(txt, &c2));
    for (double p = 0.0; p <= 1.0; p += 0.01)
        T_ASSERT(promo_calib_one(c, p) == promo_calib_one(c2, p));
    promo_free(txt);
    promo_calib_free(c);
    promo_calib_free(c2);
}

T_TEST(calib_platt_and_isotonic_fix_distortion)
{
    /* True p uniform; the model reports p^3 (overconfident low). Both methods should bring the
     * ECE down on fresh data. */
    promo_rng r;
    promo_rng_init(&r, 5, 0);
    size_t n = 20000;
    double *s = promo_mallocn(2 * n, sizeof *s), *out = promo_mallocn(n, sizeof *out);
    uint8_t *y = promo_mallocn(2 * n, sizeof *y);
    T_ASSERT(s && y && out);
    for (size_t i = 0; i < 2 * n; i++) {
        double p = promo_rng_uniform(&r);
        y[i] = (uint8_t)promo_rng_bernoulli(&r, p);
        s[i] = p * p * p;
    }
    double ece_raw, ece;
    T_OK(promo_reliability(s + n, y + n, n, 10, NULL, NULL, NULL, &ece_raw));
    T_ASSERT(ece_raw > 0.15);
    for (int kind = PROMO_CALIB_PLATT; kind <= PROMO_CALIB_ISOTONIC; kind++) {
        promo_calib *c = NULL;
        T_OK(promo_calib_fit((promo_calib_kind)kind, s, y, NULL, n, &c));
        promo_calib_apply(c, s + n, n, out);
        T_OK(promo_reliability(out, y + n, n, 10, NULL, NULL, NULL, &ece));
        T_ASSERT_MSG(ece < 0.05, "%s ece %g (raw %g)", promo_calib_kind_name((promo_calib_kind)kind),
                     ece, ece_raw);
        /* Monotone: calibration never reorders customers. */
        for (double p = 0.0; p < 1.0; p += 0.001)
            T_ASSERT(promo_calib_one(c, p) <= promo_calib_one(c, p + 0.001) + 1e-15);
        char *txt = NULL;
        promo_calib *c2 = NULL;
        T_OK(promo_calib_to_string(c, &txt));
        T_OK(promo_calib_from_string(txt, &c2));
        T_ASSERT(promo_calib_one(c, 0.123) == promo_calib_one(c2, 0.123));
        promo_free(txt);
        promo_calib_free(c2);
        promo_calib_free(c);
    }
    promo_free(s);
    promo_free(y);
    promo_free(out);
}

T_TEST(calib_rejects)
{
    promo_calib *c = NULL;
    T_ASSERT_EQ_INT(promo_calib_from_string("isotonic 2 0.5 0.1 0.4 0.2", &c), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_calib_from_string("isotonic 2 0.1 0.1", &c), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_calib_from_string("platt 1", &c), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_calib_from_string("platt 1 2 3", &c), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_calib_from_string("magic", &c), PROMO_EINPUT);
    T_OK(promo_calib_from_string("none", &c));
    T_ASSERT(promo_calib_one(c, 0.3) == 0.3);
    promo_calib_free(c);
    const double s[] = {0.5, 1.5};
    const uint8_t y[] = {0, 1};
    T_ASSERT_EQ_INT(promo_calib_fit(PROMO_CALIB_PLATT, s, y, NULL, 2, &c), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(promo_calib_kind_parse("isotonic"), PROMO_CALIB_ISOTONIC);
    T_ASSERT_EQ_INT(promo_calib_kind_parse("x"), -1);

    /* Weights act as repeated rows: weight 2 on a row equals the row twice. */
    const double s3[] = {0.1, 0.2, 0.3}, s4[] = {0.1, 0.2, 0.2, 0.3}, w3[] = {1, 2, 1};
    const uint8_t y3[] = {1, 0, 1}, y4[] = {1, 0, 0, 1};
    promo_calib *a = NULL, *b = NULL;
    for (int kind = PROMO_CALIB_PLATT; kind <= PROMO_CALIB_ISOTONIC; kind++) {
        T_OK(promo_calib_fit((promo_calib_kind)kind, s3, y3, w3, 3, &a));
        T_OK(promo_calib_fit((promo_calib_kind)kind, s4, y4, NULL, 4, &b));
        for (double p = 0.05; p < 0.4; p += 0.05)
            T_ASSERT_NEAR(promo_calib_one(a, p), promo_calib_one(b, p), 1e-6);
        promo_calib_free(a);
        promo_calib_free(b);
    }
}
