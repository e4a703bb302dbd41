/* xoshiro256** with splitmix64 seeding, and a GSL generator type backed by it.
 * Reference: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number generators" (2018).
 * Streams: the state of stream k is splitmix64 applied to a mix of seed and k; with a 256-bit
 * state, overlapping sequences between streams are vanishingly unlikely. */
#include <gsl/gsl_rng.h>
#include <math.h>

#include <promo/hash.h>
#include <promo/rng.h>

/* splitmix64: a Weyl-sequence step, then its finaliser. */
static uint64_t splitmix64(uint64_t *x)
{
    return promo_mix64(*x += 0x9e3779b97f4a7c15ULL);
}

void promo_rng_init(promo_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    uint64_t k = splitmix64(&x) ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&k);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t promo_rng_u64(promo_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double promo_rng_uniform(promo_rng *r)
{
    return (double)(promo_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t promo_rng_below(promo_rng *r, uint64_t n)
{
    /* Lemire's multiply-shift with rejection. */
    uint64_t x = promo_rng_u64(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = promo_rng_u64(r);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double promo_rng_normal(promo_rng *r)
{
    double u, v, s;
    do {
        u = 2.0 * promo_rng_uniform(r) - 1.0;
        v = 2.0 * promo_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

int promo_rng_bernoulli(promo_rng *r, double p)
{
    return promo_rng_uniform(r) < p;
}

/* ---- GSL generator type ---- */

static void gsl_set(void *state, unsigned long seed)
{
    promo_rng_init(state, seed, 0);
}

static unsigned long gsl_get(void *state)
{
    return (unsigned long)(promo_rng_u64(state) >> 32);
}

static double gsl_get_double(void *state)
{
    return promo_rng_uniform(state);
}

static const gsl_rng_type promo_gsl_type = {
    "promo-xoshiro256", 0xffffffffUL, 0, sizeof(promo_rng), gsl_set, gsl_get, gsl_get_double,
};

gsl_rng *promo_rng_gsl(uint64_t seed, uint64_t stream)
{
    gsl_rng *g = gsl_rng_alloc(&promo_gsl_type);
    if (!g)
        return NULL;
    promo_rng_init(g->state, seed, stream);
    return g;
}
