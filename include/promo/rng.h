/* promo/rng.h: the only source of randomness in promo. Seeded, splittable, reproducible.
 *
 * xoshiro256** (Blackman & Vigna 2018) seeded through splitmix64. promo_rng_init(seed, stream)
 * gives statistically independent streams for the same seed: parallel code gives each block
 * (not each thread) its own stream, so results do not depend on the thread count.
 *
 * For distributions (gamma, Poisson, beta, ...) use GSL's gsl_ran_* with promo_rng_gsl(),
 * a gsl_rng driven by a promo stream; we do not hand-write samplers GSL already has.
 */
#ifndef PROMO_RNG_H
#define PROMO_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} promo_rng;

/* Initialise stream `stream` of `seed`. Distinct (seed, stream) pairs give independent streams. */
void promo_rng_init(promo_rng *r, uint64_t seed, uint64_t stream);
uint64_t promo_rng_u64(promo_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double promo_rng_uniform(promo_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t promo_rng_below(promo_rng *r, uint64_t n);
/* Standard normal (Marsaglia polar method). */
double promo_rng_normal(promo_rng *r);
/* Bernoulli(p). */
int promo_rng_bernoulli(promo_rng *r, double p);

#include <gsl/gsl_rng.h>
/* A gsl_rng that draws from stream (seed, stream); free with gsl_rng_free(). NULL on failure. */
gsl_rng *promo_rng_gsl(uint64_t seed, uint64_t stream);

#ifdef __cplusplus
}
#endif
#endif
