/* promo/hash.h: the 64-bit integer mixes promo hashes and derives counter-based values with.
 *
 * Two finalisers, kept apart on purpose: each is pinned by outputs that must stay
 * bit-identical (generated worlds and simulations use promo_mix64; hash-table slots in ingest
 * and CLV use promo_fmix64), so neither may replace the other.
 *
 *   promo_mix64   splitmix64's output function (Steele, Lea & Flood 2014; Vigna's constants):
 *                 a bijection with full avalanche. The world's shelf prices, the simulator's
 *                 draw seeds and the RNG's seeding (rng.c) use it.
 *   promo_fmix64  MurmurHash3's fmix64 (Appleby): also a full-avalanche bijection. Hash tables
 *                 keyed by 64-bit values (duplicate-key checks, CLV's customer map) use it.
 *
 * Both are pure functions, thread-safe, and cost a few cycles; `static inline` so the hot
 * loops that call them per row keep them inlined.
 *
 *   size_t slot = (size_t)promo_fmix64(key) & (cap - 1);   // cap a power of two
 */
#ifndef PROMO_HASH_H
#define PROMO_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* splitmix64's finaliser of z (without splitmix64's counter increment). */
static inline uint64_t promo_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* MurmurHash3's 64-bit finaliser of h. */
static inline uint64_t promo_fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* s[0..n) (n <= 8) as a little-endian word, zero padded: memcpy(&w, s, n) without a call for a
 * variable length, and without reading outside s (two overlapping loads, or three bytes).
 * The short-key hashing of dictionaries (dict.c) and of the CSV reader's interning (csv.c)
 * load key tails with it. */
static inline uint64_t promo_load_upto8(const unsigned char *s, size_t n)
{
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << (8 * (n - 4));
    }
    if (n == 0)
        return 0;
    return (uint64_t)s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) |
           (uint64_t)s[n - 1] << (8 * (n - 1));
}

/* Byte order of a[0..an) and b[0..bn) (memcmp over the shorter, then the shorter first), as
 * -1, 0 or 1. Keys of up to 16 bytes are compared as two big-endian words, without a memcmp
 * call: the sorted-id checks of the CSV reader (csv.c) and dictionaries (dict.c) run it once a
 * row. Zero padding keeps the order: a prefix pads to at most its extension. */
static inline int promo_key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
    if (an <= 16 && bn <= 16) {
        uint64_t a0 = promo_load_upto8(ua, an < 8 ? an : 8),
                 b0 = promo_load_upto8(ub, bn < 8 ? bn : 8);
        if (a0 == b0) {
            a0 = an > 8 ? promo_load_upto8(ua + 8, an - 8) : 0;
            b0 = bn > 8 ? promo_load_upto8(ub + 8, bn - 8) : 0;
        }
        if (a0 != b0)
            return __builtin_bswap64(a0) < __builtin_bswap64(b0) ? -1 : 1;
        return (an > bn) - (an < bn);
    }
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? (c > 0) - (c < 0) : (an > bn) - (an < bn);
}

#ifdef __cplusplus
}
#endif

#endif
