/* CSV reader: RFC 4180 text straight into typed, dictionary-encoded columns, in parallel.
 *
 * Algorithm
 *  1. The header record is parsed serially: BOM, delimiter detection, and the column plan
 *     (which fields are kept, with a requested type or to be inferred).
 *  2. The body is cut into one chunk per thread at speculative record boundaries: the byte after
 *     the first '\n' past each even split point. Each thread parses the records that START in
 *     its chunk (the last may run past the chunk's end) into chunk-local column buffers and
 *     dictionaries. Parsing is a pure function of the position where it starts, so a chunk is
 *     right iff the previous chunk stopped exactly where it began; when a split point fell inside
 *     a quoted field the previous chunk stops elsewhere and this chunk is parsed again, serially,
 *     from the true boundary. This is the speculate-and-verify idea of Ge et al., "Speculative
 *     Distributed CSV Data Parsing for Big Data Analytics" (SIGMOD 2019), reduced to one guess
 *     and one check; there is no quote-counting pre-pass, so the data is read once.
 *     Within a chunk, records go one of two ways. When every column is typed, runs of common
 *     records (no quote, NUL, non-ASCII byte or lone CR; every value in a short form) go from
 *     the 64-byte structural masks straight into the columns (run_plain); any other record,
 *     and every record of a file with inferred columns, is scanned into a list of fields
 *     (scan_record) and stored from it (put_row). Both give the same table (tests and
 *     fuzz_csv compare them with the byte-by-byte scan).
 *  3. Inferred columns keep raw field spans and a bitmask of the types every value so far could
 *     be; once all chunks are done the masks are ANDed and the spans converted, per chunk.
 *  4. Chunks are concatenated into the table. Chunk dictionaries hold codes in first-appearance
 *     order, so interning chunk 0's keys, then chunk 1's, ... into the column's dictionary gives
 *     exactly the codes a serial parse gives; chunk codes are remapped through that.
 * Errors: a chunk stops at its first bad record (line relative to the chunk); the first chunk in
 * file order that stopped holds the first error of the file. Line numbers become absolute by a
 * prefix sum of the chunks' newline counts. With skip_bad_rows the chunks' rejects are joined in
 * chunk order the same way.
 *
 * Departures from RFC 4180, all common practice: LF or CRLF line ends; a quote inside an
 * unquoted field is kept literally (ab"c); empty lines are skipped (with a single column they are
 * null values, so that the writer's output reads back); an unquoted empty
 * field is null while a quoted one ("") is the empty string in STRING columns (as PostgreSQL's
 * COPY CSV), so the writer's output reads back exactly. Characters after a closing quote
 * ("ab"c) are an error: they usually mean an unescaped quote.
 */
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/infile.h>

#include "data/csv_internal.h"

#define DEFAULT_MAX_FIELD ((size_t)16 << 20)
#define DEFAULT_PAR_MIN   ((size_t)1 << 20)
#define REJECT_RAW_MAX    4096 /* bytes of a rejected record kept in promo_csv_reject.raw */
#define SHOW_MAX          40   /* bytes of a bad value quoted in a message */
#define REASON_BYTES      480  /* room for one reason ("column 'x': expected ...") */
#define STR_BLOCK         256  /* rows whose strings are interned together (see flush_strings) */
#define PREFETCH_AHEAD    16   /* dictionary slots requested this many values ahead */
#ifndef MADV_POPULATE_WRITE    /* Linux 5.14; older headers */
#define MADV_POPULATE_WRITE 23
#endif
#define PREFAULT_MIN     ((size_t)1 << 20) /* smaller arrays fault as they are written */
#define RUNS_IN_VAIN_MAX 8 /* run_plain calls that take nothing before a chunk stops trying */

promo_csv_options promo_csv_options_default(void)
{
    promo_csv_options o;
    memset(&o, 0, sizeof o);
    o.has_header = 1;
    o.date_order = PROMO_DATE_ISO;
    o.max_field_bytes = DEFAULT_MAX_FIELD;
    o.parallel_min_bytes = DEFAULT_PAR_MIN;
    return o;
}

void promo_csv_rejects_free(promo_csv_rejects *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        promo_free(r->items[i].reason);
        promo_free(r->items[i].raw);
    }
    promo_free(r->items);
    promo_free(r);
}

/* ======================================================================================== */
/* Scanning records                                                                         */
/* ======================================================================================== */

/* One field of a record, pointing into the input: the public promo_csv_field, so the walker
 * hands out the reader's own spans. */
typedef promo_csv_field fspan;

/* Structural problems found while scanning a record (the public promo_csv_problem). */
enum {
    E_NONE = PROMO_CSV_OK,
    E_NUL = PROMO_CSV_NUL,
    E_UTF8 = PROMO_CSV_UTF8,
    E_TOOLONG = PROMO_CSV_TOOLONG,
    E_AFTERQUOTE = PROMO_CSV_AFTERQUOTE,
    E_UNTERMINATED = PROMO_CSV_UNTERMINATED,
};

/* Bit masks of 64 input bytes (see scan_fast). */
typedef struct blockmask {
    uint64_t delim; /* bit i: byte i is the delimiter */
    uint64_t nl;    /* '\n' */
    uint64_t cr;    /* '\r' */
    uint64_t other; /* '"', NUL or >= 0x80: the record goes the byte path */
} blockmask;

typedef struct record {
    fspan *f;          /* fields, the first `cap` of them */
    size_t cap;        /* room in f */
    size_t nf;         /* fields in the record (may exceed cap) */
    int err;           /* first structural problem, E_* */
    size_t err_field;  /* its 0-based field */
    size_t err_at;     /* E_UTF8: byte offset of the bad sequence in the field */
    uint64_t lines;    /* newlines consumed, the terminator's included */
    const char *mbase; /* scan_fast: mm holds the masks of the 64 bytes at mbase (NULL: none), */
    blockmask mm;      /* so the next record, which starts inside them, does not redo them */
    int plain;         /* 1: scan_fast took it: no quote, NUL, byte >= 0x80 or lone CR in it */
} record;

/* Vector instructions scan_fast uses: chosen at run time (AVX-512BW, else AVX2, where the CPU
 * has it). */
enum {
    SIMD_OFF = CSV_SIMD_OFF,
    SIMD_NONE = CSV_SIMD_SCALAR,
    SIMD_SSE2 = CSV_SIMD_SSE2,
    SIMD_AVX2 = CSV_SIMD_AVX2,
    SIMD_AVX512 = CSV_SIMD_AVX512
};

static int simd_forced = CSV_SIMD_AUTO;

int csv_simd_force(int level)
{
    int old = simd_forced;
    simd_forced = level;
    return old;
}

/* The row loops compiled for AVX2 and AVX-512 also use BMI1/2 (variable shifts and masks in
 * one instruction each: field_word, the digit and date checks), which every CPU with AVX2
 * has; the CPU check asks for both all the same. */
#define TARGET_AVX2   __attribute__((target("avx2,bmi,bmi2")))
#define TARGET_AVX512 __attribute__((target("avx512bw,bmi,bmi2")))

static int simd_cpu(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    int bmi = __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    if (bmi && __builtin_cpu_supports("avx512bw"))
        return SIMD_AVX512;
    if (bmi && __builtin_cpu_supports("avx2"))
        return SIMD_AVX2;
#endif
#ifdef __SSE2__
    return SIMD_SSE2;
#else
    return SIMD_NONE;
#endif
}

static int simd_level(void)
{
    int cpu = simd_cpu();
    if (simd_forced == CSV_SIMD_AUTO)
        return cpu;
    return simd_forced < cpu ? simd_forced : cpu;
}

typedef struct scanner {
    char delim;
    int fast;                   /* SIMD_*: how scan_fast finds structure (OFF: it does not) */
    uint32_t max_field;         /* longer fields are E_TOOLONG */
    unsigned char plain[256];   /* 1: byte stops an unquoted-field scan */
    unsigned char inquote[256]; /* 1: byte stops a quoted-field scan */
} scanner;

static void scanner_init(scanner *sc, char delim, size_t max_field)
{
    sc->delim = delim;
    sc->max_field = max_field > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)max_field;
    memset(sc->plain, 0, sizeof sc->plain);
    memset(sc->inquote, 0, sizeof sc->inquote);
    for (int c = 0x80; c < 0x100; c++)
        sc->plain[c] = sc->inquote[c] = 1;
    sc->plain[(unsigned char)delim] = sc->plain['\n'] = sc->plain['\r'] = sc->plain[0] = 1;
    sc->inquote['"'] = sc->inquote['\n'] = sc->inquote[0] = 1;
    unsigned char d = (unsigned char)delim;
    sc->fast = d == '"' || d == '\n' || d == '\r' || d == 0 || d >= 0x80 ? SIMD_OFF : simd_level();
}

/* ---- Structural scan, 64 bytes at a time ------------------------------------------------
 *
 * Most records are short runs of plain bytes: no quote, no CR but the one before the LF, no
 * NUL, nothing >= 0x80. For those, one pass of vector compares over 64 bytes gives bit masks
 * of the delimiters and newlines (and of the bytes that need the careful path), and the fields
 * fall out of the delimiter mask with one count-trailing-zeros each, instead of a scan per
 * field (simdjson's and simdcsv's structural indexing, without the quote-mask arithmetic: a
 * record with a quote takes scan_record's byte path, which defines the grammar). */

#ifdef __SSE2__
static inline void masks_sse2(const char *p, char delim, blockmask *m)
{
    const __m128i vd = _mm_set1_epi8(delim), vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r'),
                  vq = _mm_set1_epi8('"'), vz = _mm_setzero_si128();
    uint64_t d = 0, n = 0, r = 0, o = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        unsigned sh = 16u * (unsigned)k;
        d |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vd)) << sh;
        n |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vn)) << sh;
        r |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vr)) << sh;
        __m128i x = _mm_or_si128(_mm_cmpeq_epi8(v, vq), _mm_cmpeq_epi8(v, vz));
        o |= (uint64_t)(unsigned)(_mm_movemask_epi8(x) | _mm_movemask_epi8(v)) << sh;
    }
    *m = (blockmask){d, n, r, o};
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static inline void
masks_avx2(const char *p, char delim, blockmask *m)
{
    const __m256i vd = _mm256_set1_epi8(delim), vn = _mm256_set1_epi8('\n'),
                  vr = _mm256_set1_epi8('\r'), vq = _mm256_set1_epi8('"'),
                  vz = _mm256_setzero_si256();
    uint64_t d = 0, n = 0, r = 0, o = 0;
    for (int k = 0; k < 2; k++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * k));
        unsigned sh = 32u * (unsigned)k;
        d |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vd)) << sh;
        n |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vn)) << sh;
        r |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vr)) << sh;
        __m256i x = _mm256_or_si256(_mm256_cmpeq_epi8(v, vq), _mm256_cmpeq_epi8(v, vz));
        o |= (uint64_t)((uint32_t)_mm256_movemask_epi8(x) | (uint32_t)_mm256_movemask_epi8(v))
             << sh;
    }
    *m = (blockmask){d, n, r, o};
}

/* AVX-512BW: each compare gives the 64-bit mask itself (no movemask, shift and or per half);
 * bytes >= 0x80 are the sign bits (movepi8_mask). */
__attribute__((target("avx512bw"))) static inline void
masks_avx512(const char *p, char delim, blockmask *m)
{
    __m512i v = _mm512_loadu_si512((const void *)p);
    uint64_t o = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"')) |
                 _mm512_cmpeq_epi8_mask(v, _mm512_setzero_si512()) | _mm512_movepi8_mask(v);
    *m = (blockmask){_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(delim)),
                     _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')),
                     _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r')), o};
}
#endif

/* Scalar masks: the reference the vector versions must equal (and the path without SIMD). */
static void masks_scalar(const char *p, char delim, blockmask *m)
{
    uint64_t d = 0, n = 0, r = 0, o = 0;
    for (unsigned i = 0; i < 64; i++) {
        unsigned char c = (unsigned char)p[i];
        uint64_t bit = (uint64_t)1 << i;
        d |= c == (unsigned char)delim ? bit : 0;
        n |= c == '\n' ? bit : 0;
        r |= c == '\r' ? bit : 0;
        o |= c == '"' || c == 0 || c >= 0x80 ? bit : 0;
    }
    *m = (blockmask){d, n, r, o};
}

/* The masks at a level known where this is inlined (scan_fast_at), so the choice costs
 * nothing and the vector code sits in the loop. */
static inline __attribute__((always_inline)) void
block_masks(int level, char delim, const char *p, blockmask *m)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (level == SIMD_AVX512) {
        masks_avx512(p, delim, m);
        return;
    }
    if (level == SIMD_AVX2) {
        masks_avx2(p, delim, m);
        return;
    }
#endif
#ifdef __SSE2__
    if (level == SIMD_SSE2) {
        masks_sse2(p, delim, m);
        return;
    }
#endif
    masks_scalar(p, delim, m);
}

enum { FAST_MAX_BLOCKS = 4 }; /* records longer than 256 bytes take the byte path */

/* A plain record at p (see above) into rec: returns the next record's start, or NULL when the
 * record is not plain, does not end in a newline within FAST_MAX_BLOCKS blocks that lie
 * wholly before end, or has a field longer than max_field. Then rec is garbage and the caller
 * scans the record byte by byte, which gives the same result for what this accepts. The last
 * block's masks stay in rec: the next record starts inside it, so each byte is masked about
 * once (a block starts where a record needed one, not at a fixed alignment). */
static inline __attribute__((always_inline)) const char *
scan_fast_at(const int level, const scanner *sc, const char *p, const char *end, record *rec)
{
    const char *fs = p, *blk = p;
    unsigned lo = 0; /* bits below lo are bytes before p */
    if (rec->mbase && p >= rec->mbase && p < rec->mbase + 64) {
        blk = rec->mbase;
        lo = (unsigned)(p - blk);
    }
    size_t nf = 0;
    for (int b = 0; b < FAST_MAX_BLOCKS; b++, blk += 64, lo = 0) {
        blockmask m;
        if (b == 0 && lo) {
            m = rec->mm;
        } else {
            if (end - blk < 64)
                return NULL;
            block_masks(level, sc->delim, blk, &m);
            rec->mbase = blk;
            rec->mm = m;
        }
        uint64_t from = ~(uint64_t)0 << lo, nl = m.nl & from;
        uint64_t before = (nl ? (nl & (0 - nl)) - 1 : ~(uint64_t)0) & from; /* up to the LF */
        uint64_t cr = m.cr & before;
        int crlf = 0;
        if (cr) { /* only the CR of a CRLF ending, in this block */
            if (!nl || cr != (nl & (0 - nl)) >> 1)
                return NULL;
            crlf = 1;
        }
        if (m.other & before)
            return NULL;
        uint64_t d = m.delim & before;
        if (sc->max_field >= FAST_MAX_BLOCKS * 64 &&
            nf + (size_t)__builtin_popcountll(d) <= rec->cap) {
            /* The common block: no field here can be too long (the record is shorter than
             * the limit) and every one has room, so neither is asked per field. */
            while (d) {
                const char *fe = blk + __builtin_ctzll(d);
                d &= d - 1;
                rec->f[nf++] = (fspan){fs, (uint32_t)(fe - fs), 0, 0, 0};
                fs = fe + 1;
            }
        }
        while (d) {
            const char *fe = blk + __builtin_ctzll(d);
            d &= d - 1;
            if ((size_t)(fe - fs) > sc->max_field)
                return NULL;
            if (nf < rec->cap)
                rec->f[nf] = (fspan){fs, (uint32_t)(fe - fs), 0, 0, 0};
            nf++;
            fs = fe + 1;
        }
        if (nl) {
            const char *nlp = blk + __builtin_ctzll(nl), *fe = nlp - crlf;
            if ((size_t)(fe - fs) > sc->max_field)
                return NULL;
            if (nf < rec->cap)
                rec->f[nf] = (fspan){fs, (uint32_t)(fe - fs), 0, 0, 0};
            rec->nf = nf + 1;
            rec->err = E_NONE;
            rec->lines = 1;
            rec->plain = 1;
            return nlp + 1;
        }
    }
    return NULL;
}

/* scan_fast_at compiled once per instruction set, so each copy has its mask code inline (the
 * vector functions need their target to be inlined). */
#if defined(__x86_64__) && defined(__GNUC__)
TARGET_AVX512 static const char *
scan_fast_avx512(const scanner *sc, const char *p, const char *end, record *rec)
{
    return scan_fast_at(SIMD_AVX512, sc, p, end, rec);
}

TARGET_AVX2 static const char *
scan_fast_avx2(const scanner *sc, const char *p, const char *end, record *rec)
{
    return scan_fast_at(SIMD_AVX2, sc, p, end, rec);
}
#endif

static inline const char *scan_fast(const scanner *sc, const char *p, const char *end, record *rec)
{
    switch (sc->fast) {
    case SIMD_OFF:
        return NULL;
#if defined(__x86_64__) && defined(__GNUC__)
    case SIMD_AVX512:
        return scan_fast_avx512(sc, p, end, rec);
    case SIMD_AVX2:
        return scan_fast_avx2(sc, p, end, rec);
#endif
#ifdef __SSE2__
    case SIMD_SSE2:
        return scan_fast_at(SIMD_SSE2, sc, p, end, rec);
#endif
    default:
        return scan_fast_at(SIMD_NONE, sc, p, end, rec);
    }
}

/* Offset of the first invalid UTF-8 sequence in s[0..n), or n if valid (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_bad_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return i;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
        i += len;
    }
    return n;
}

static void rec_err(record *rec, int err, size_t field)
{
    if (!rec->err) {
        rec->err = err;
        rec->err_field = field;
    }
}

/* Scan an unquoted field from p: stop at the delimiter, '\n', a '\r' that ends the line, or
 * the end. NUL bytes are noted and skipped; *hi is set if any byte >= 0x80 was passed. */
static const char *
scan_plain(const scanner *sc, const char *p, const char *end, int *hi, record *rec)
{
    for (;;) {
#ifdef __SSE2__
        const __m128i vd = _mm_set1_epi8(sc->delim), vn = _mm_set1_epi8('\n'),
                      vr = _mm_set1_epi8('\r'), vz = _mm_setzero_si128();
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i s = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vd), _mm_cmpeq_epi8(v, vn)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, vr), _mm_cmpeq_epi8(v, vz)));
            unsigned stop = (unsigned)_mm_movemask_epi8(s);
            unsigned high = (unsigned)_mm_movemask_epi8(v);
            if (stop) {
                unsigned k = (unsigned)__builtin_ctz(stop);
                if (high & ((1u << k) - 1))
                    *hi = 1;
                p += k;
                goto stopped;
            }
            if (high)
                *hi = 1;
            p += 16;
        }
#endif
        while (p < end && !sc->plain[(unsigned char)*p])
            p++;
        if (p == end)
            return p;
        if ((unsigned char)*p >= 0x80) {
            *hi = 1;
            p++;
            continue;
        }
#ifdef __SSE2__
    stopped:
#endif
        if (*p == '\r' && p + 1 < end && p[1] != '\n') {
            p++; /* a lone CR inside a field is data */
            continue;
        }
        if (*p == '\0') {
            rec_err(rec, E_NUL, rec->nf);
            p++;
            continue;
        }
        return p;
    }
}

/* Scan one record starting at p (p < end, not a blank line). Fills rec and returns the start
 * of the next record. Scanning goes on to the record's end after a problem, so that rejecting
 * it resumes exactly where a serial parse would. */
static const char *
scan_record_bytes(const scanner *sc, const char *p, const char *end, record *rec);

static inline const char *
scan_record(const scanner *sc, const char *p, const char *end, record *rec)
{
    const char *next = scan_fast(sc, p, end, rec);
    return next ? next : scan_record_bytes(sc, p, end, rec);
}

/* scan_record byte by byte: every record scan_fast does not take. */
static __attribute__((noinline)) const char *
scan_record_bytes(const scanner *sc, const char *p, const char *end, record *rec)
{
    rec->nf = 0;
    rec->err = E_NONE;
    rec->lines = 0;
    rec->plain = 0;
    const char delim = sc->delim;
    for (;;) {
        const char *fs;
        size_t fn;
        int hi = 0, quoted = 0, esc = 0;
        if (p < end && *p == '"') {
            quoted = 1;
            fs = ++p;
            for (;;) {
                while (p < end && !sc->inquote[(unsigned char)*p])
                    p++;
                if (p == end) {
                    rec_err(rec, E_UNTERMINATED, rec->nf);
                    break;
                }
                unsigned char c = (unsigned char)*p;
                if (c == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        esc = 1;
                        p += 2;
                        continue;
                    }
                    break;
                }
                if (c == '\n')
                    rec->lines++;
                else if (c == 0)
                    rec_err(rec, E_NUL, rec->nf);
                else
                    hi = 1;
                p++;
            }
            fn = (size_t)(p - fs);
            if (p < end) {
                p++; /* the closing quote */
                if (p < end && *p != delim && *p != '\n' &&
                    !(*p == '\r' && (p + 1 == end || p[1] == '\n'))) {
                    rec_err(rec, E_AFTERQUOTE, rec->nf);
                    int hi2 = 0;
                    p = scan_plain(sc, p, end, &hi2, rec);
                }
            }
        } else {
            fs = p;
            p = scan_plain(sc, p, end, &hi, rec);
            fn = (size_t)(p - fs);
        }
        if (fn > sc->max_field) {
            rec_err(rec, E_TOOLONG, rec->nf);
        } else if (hi && !rec->err) {
            size_t at = utf8_bad_at((const unsigned char *)fs, fn);
            if (at < fn) {
                rec_err(rec, E_UTF8, rec->nf);
                rec->err_at = at;
            }
        }
        if (rec->nf < rec->cap) {
            fspan *f = &rec->f[rec->nf];
            f->p = fs;
            f->n = fn > sc->max_field ? sc->max_field : (uint32_t)fn;
            f->quoted = (uint8_t)quoted;
            f->escaped = (uint8_t)esc;
        }
        rec->nf++;
        if (p >= end)
            return end;
        if (*p == delim) {
            p++;
            continue;
        }
        if (*p == '\r')
            p++;
        if (p < end && *p == '\n') {
            p++;
            rec->lines++;
        }
        return p;
    }
}

/* If p starts an empty line, return the start of the next line, else NULL. */
static const char *blank_line(const char *p, const char *end)
{
    if (*p == '\n')
        return p + 1;
    if (*p == '\r') {
        if (p + 1 == end)
            return end;
        if (p[1] == '\n')
            return p + 2;
    }
    return NULL;
}

/* Start of the first record of data[..end): after a UTF-8 BOM and blank lines; *line = its
 * 1-based line. The reader and the walker both start here. */
static const char *first_record(const char *data, const char *end, uint64_t *line)
{
    const char *p = data;
    if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    *line = 1;
    for (const char *next; p < end && (next = blank_line(p, end)); p = next)
        *line += next[-1] == '\n';
    return p;
}

/* End of a record's raw text [rs, re) without its line terminator: what a reject keeps as
 * its raw text and the walker hands out, so the two always agree. */
static const char *text_end(const char *rs, const char *re)
{
    if (re > rs && re[-1] == '\n')
        re--;
    if (re > rs && re[-1] == '\r')
        re--;
    return re;
}

/* Copy field text, undoubling quotes, into dst (room for f->n bytes). Returns the length. */
static size_t unescape(const fspan *f, char *dst)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        dst[k++] = f->p[i];
        if (f->p[i] == '"')
            i++;
    }
    return k;
}

/* ======================================================================================== */
/* Chunk dictionaries                                                                       */
/* ======================================================================================== */

/* A chunk-local string dictionary tuned for the parse loop: most keys (ids, codes, channels)
 * are short, so a slot holds the key's first 8 bytes and a tag (hash bits + length); a lookup
 * of a key of at most 8 bytes touches one slot and no key bytes. Keys never contain NUL (such
 * fields are rejected), so zero padding is unambiguous. Codes are dense, in insertion order;
 * the table's promo_dict is built from these at merge time. */
typedef struct sslot {
    uint64_t w0;    /* first 8 key bytes, zero padded */
    uint32_t tag;   /* hash bits 63..40, then min(len, 255) */
    uint32_t code1; /* code + 1; 0 = empty */
} sslot;

typedef struct skey {
    const char *p; /* key bytes, in the arena */
    uint32_t n;    /* length */
} skey;

typedef struct sdict {
    sslot *slots; /* cap entries, load <= 1/2 */
    size_t cap;   /* power of two */
    skey *keys;   /* keys[code] */
    size_t n, keys_cap;
    promo_arena *arena;
    size_t want_cap; /* capacity the next growth goes to at least (set by the caller) */
    size_t grow_n;   /* keys at the previous growth, and the chunk's bytes parsed then: */
    size_t grow_pos; /* the new-key rate since then projects the final size (see intern) */
    int sorted;      /* 1: every key so far was greater than the one before (sorted ids); the
                      * slots are empty then: a lookup is one compare with the last key */
} sdict;

static void sdict_free(sdict *d)
{
    if (!d)
        return;
    promo_free(d->slots);
    promo_free(d->keys);
    promo_arena_free(d->arena);
    promo_free(d);
}

static sdict *sdict_new(void)
{
    sdict *d = promo_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cap = 256;
    d->sorted = 1;
    d->slots = promo_calloc(d->cap, sizeof *d->slots);
    d->arena = promo_arena_new(64 * 1024);
    if (!d->slots || !d->arena) {
        sdict_free(d);
        return NULL;
    }
    return d;
}

/* The first min(n, 8) bytes of s as a word, zero above. wide: 8 bytes from s lie in the input
 * (run_plain leaves that much room), so one load and a mask do. */
static inline __attribute__((always_inline)) uint64_t field_word(const char *s, size_t n, int wide)
{
    if (wide) {
        uint64_t w;
        memcpy(&w, s, 8);
        return n < 8 ? w & (((uint64_t)1 << (8 * n)) - 1) : w;
    }
    return promo_load_upto8((const unsigned char *)s, n < 8 ? n : 8);
}

/* The hash of key s[0..n) whose first word (field_word) is w. */
static inline __attribute__((always_inline)) uint64_t
skey_hash_word(const char *s, size_t n, uint64_t w)
{
    if (n > 8)
        return promo_hash_bytes(s, n);
    /* A full finaliser: slots are the low bits, and one multiply leaves them blind to the
     * last bytes, where ids differ ("C132606", "C132607" shared a slot and chained). */
    return promo_fmix64(w ^ (n * 0x9e3779b97f4a7c15ULL));
}

static inline uint64_t skey_hash(const char *s, size_t n, uint64_t *w0)
{
    *w0 = field_word(s, n, 0);
    return skey_hash_word(s, n, *w0);
}

static inline uint32_t skey_tag(uint64_t h, size_t n)
{
    return (uint32_t)(h >> 40) << 8 | (uint32_t)(n < 255 ? n : 255);
}

static inline void sdict_prefetch(const sdict *d, uint64_t h)
{
    __builtin_prefetch(&d->slots[h & (d->cap - 1)]);
}

/* Rebuild the slots at capacity cap (a power of two > 2 n). Keys are hashed a block ahead and
 * their new slots prefetched: at millions of keys every placement is a cache miss, and this
 * keeps several in flight instead of one. */
static int sdict_rehash_to(sdict *d, size_t cap)
{
    enum { RB = 64 };
    /* Not calloc: placing reads a slot before writing it, so fresh zero pages would fault
     * twice each (read maps the zero page, the write copies it); memset faults them once. */
    sslot *ns = promo_mallocn(cap, sizeof *ns);
    if (!ns)
        return PROMO_ENOMEM;
    memset(ns, 0, cap * sizeof *ns);
    uint64_t hs[RB], ws[RB];
    for (size_t k0 = 0; k0 < d->n; k0 += RB) {
        size_t m = d->n - k0 < RB ? d->n - k0 : RB;
        for (size_t i = 0; i < m; i++) {
            hs[i] = skey_hash(d->keys[k0 + i].p, d->keys[k0 + i].n, &ws[i]);
            __builtin_prefetch(&ns[hs[i] & (cap - 1)], 1);
        }
        for (size_t i = 0; i < m; i++) {
            size_t j = hs[i] & (cap - 1);
            while (ns[j].code1)
                j = (j + 1) & (cap - 1);
            ns[j] = (sslot){ws[i], skey_tag(hs[i], d->keys[k0 + i].n), (uint32_t)(k0 + i) + 1};
        }
    }
    promo_free(d->slots);
    d->slots = ns;
    d->cap = cap;
    return PROMO_OK;
}

static int sdict_rehash(sdict *d)
{
    size_t cap = d->cap * 2;
    while (cap < d->want_cap)
        cap *= 2;
    if (sdict_rehash_to(d, cap) && (cap == d->cap * 2 || sdict_rehash_to(d, (cap = d->cap * 2))))
        return PROMO_ENOMEM;
    if (d->keys_cap < cap / 2) { /* room for the keys the growth was sized for */
        skey *nk = promo_reallocn(d->keys, cap / 2, sizeof *nk);
        if (nk) {
            d->keys = nk;
            d->keys_cap = cap / 2;
        }
    }
    return PROMO_OK;
}

static int skey_cmp(const char *a, size_t an, const skey *b)
{
    return promo_key_cmp(a, an, b->p, b->n);
}

/* Append s[0..n) as the next code (no slot). stable: s lies in the input, which outlives the
 * dictionary (the merge copies keys into the table's), so it is referred to, not copied: for
 * an id column of millions of values that is a copy of the column's bytes saved. */
static uint32_t sdict_add_key(sdict *d, const char *s, size_t n, int stable)
{
    if (d->n >= UINT32_MAX - 2 || n > UINT32_MAX) {
        promo_fail(PROMO_EINPUT, "too many distinct strings in one column");
        return PROMO_DICT_NONE;
    }
    if (d->n >= d->keys_cap &&
        promo_grow((void **)&d->keys, &d->keys_cap, d->n + 1, sizeof *d->keys))
        return PROMO_DICT_NONE;
    const char *copy = stable ? s : promo_arena_strndup(d->arena, s, n);
    if (!copy)
        return PROMO_DICT_NONE;
    uint32_t code = (uint32_t)d->n++;
    d->keys[code] = (skey){copy, (uint32_t)n};
    return code;
}

/* Leave sorted mode: index every key so far (room for one more). */
static int sdict_unsort(sdict *d)
{
    size_t cap = d->cap;
    while (cap < 2 * (d->n + 1) || cap < d->want_cap)
        cap *= 2;
    if (sdict_rehash_to(d, cap))
        return PROMO_ENOMEM;
    d->sorted = 0;
    return PROMO_OK;
}

/* Code of s[0..n), added if new (stable: as sdict_add_key); PROMO_DICT_NONE on allocation
 * failure. h and w0 come from skey_hash (computed early so the slot can be prefetched); h is
 * unused in sorted mode. */
static uint32_t sdict_intern(sdict *d, const char *s, size_t n, uint64_t h, uint64_t w0, int stable)
{
    if (d->sorted) {
        int c = d->n ? skey_cmp(s, n, &d->keys[d->n - 1]) : 1;
        if (c == 0)
            return (uint32_t)d->n - 1;
        if (c > 0)
            return sdict_add_key(d, s, n, stable);
        if (sdict_unsort(d))
            return PROMO_DICT_NONE;
        h = skey_hash(s, n, &w0);
    }
    uint32_t tag = skey_tag(h, n);
    size_t mask = d->cap - 1, j = h & mask;
    for (;;) {
        const sslot *sl = &d->slots[j];
        if (!sl->code1)
            break;
        if (sl->tag == tag && sl->w0 == w0) {
            uint32_t code = sl->code1 - 1;
            if (n <= 8 || (d->keys[code].n == n && memcmp(d->keys[code].p, s, n) == 0))
                return code;
        }
        j = (j + 1) & mask;
    }
    uint32_t code = sdict_add_key(d, s, n, stable);
    if (code == PROMO_DICT_NONE)
        return code;
    d->slots[j] = (sslot){w0, tag, code + 1};
    if (d->n * 2 > d->cap && sdict_rehash(d)) {
        d->n--; /* forget the key: the table is unchanged but for this slot */
        d->slots[j].code1 = 0;
        return PROMO_DICT_NONE;
    }
    return code;
}

/* ======================================================================================== */
/* Column plan, chunks and rows                                                             */
/* ======================================================================================== */

enum { M_INT = 1, M_FLOAT = 2, M_BOOL = 4, M_TS = 8, M_ALL = 15 };

typedef struct colplan {
    char *name;          /* output column name, owned */
    size_t field;        /* 0-based field index in each record */
    promo_col_type type; /* requested, or decided after inference */
    int inferred;        /* 1: the type comes from the data */
} colplan;

typedef struct reader {
    const char *end;              /* end of input */
    const char *name;             /* for messages */
    const promo_csv_options *opt; /* options (validated) */
    scanner sc;
    colplan *cols; /* kept columns, in output order */
    size_t n_cols;
    size_t n_fields;      /* fields every record must have */
    uint64_t header_line; /* 1-based line number of the header */
    uint64_t body_line;   /* 1-based line number of the first body byte */
    int all_typed;        /* 1: no inferred column (put_row_plain applies) */
    int runs_plain;       /* 1: run_plain applies (all typed, SIMD masks, a field per column) */
} reader;

/* The date part of the last timestamp a column converted: rows sorted by time repeat the
 * same day for thousands of rows, and then its digits, its validity and days_from_civil are
 * not worked out again. Only valid dates are kept (valid = 1). */
typedef struct ts_cache {
    uint64_t w;    /* bytes 0..7: "YYYY-MM-" */
    uint16_t dd;   /* bytes 8..9: "DD" */
    int valid;     /* 1: w/dd/day_s hold a valid date */
    int64_t day_s; /* its midnight, seconds since the epoch */
} ts_cache;

/* One kept column's values within one chunk. */
typedef struct ccol {
    void *vals;       /* row values of the (decided) type; NULL for inferred before conversion */
    int in_slab;      /* vals lies in the column's slab (see read_csv), not owned */
    uint64_t *nulls;  /* null bitmap, NULL until the first null */
    sdict *dict;      /* STRING: chunk-local dictionary, codes in first-appearance order */
    fspan *spans;     /* inferred: raw fields, converted once the type is known */
    unsigned mask;    /* inferred: M_* types every value so far can be */
    int seen;         /* inferred: a non-empty value was seen */
    uint64_t last_w0; /* STRING: the previous value if <= 8 bytes (w0, length + 1) and its */
    size_t last_n1;   /* code: sorted data repeats ids on consecutive rows; last_n1 0 = none */
    uint32_t last_code;
    fspan *pend;       /* STRING: fields of rows not interned yet (STR_BLOCK entries) */
    uint64_t *pend_hw; /* their skey_hash and w0 (2 per entry) when put_row_plain hashed them
                        * (and prefetched the slot a block ahead); hash 0: not hashed */
    ts_cache ts;       /* TIMESTAMP: the last date converted */
} ccol;

/* What put_row_plain needs of a column, in one place. */
typedef struct rowcol {
    ccol *cc;
    uint32_t field;
    promo_col_type type;
} rowcol;

typedef struct chunk {
    void **slabs;      /* per column: the table's array this chunk writes into, or NULL */
    size_t slab_at;    /* the row of the slab where this chunk's rows start */
    size_t slab_rows;  /* rows the slab holds for this chunk (0: no slab) */
    const char *start; /* first record start */
    const char *limit; /* parse records starting before this */
    const char *stop;  /* where parsing stopped: the next record's start */
    size_t n_rows;     /* rows kept */
    size_t flushed;    /* rows whose STRING fields are interned */
    size_t cap;        /* rows allocated in every ccol */
    int any_nulls;     /* some ccol has a null bitmap */
    uint64_t lines;    /* newlines consumed from start to stop */
    ccol *cols;        /* n_cols */
    rowcol *row;       /* n_cols */
    rowcol *byfield;   /* n_fields, the column each field fills (cc NULL: none); run_plain */
    fspan *f;          /* field buffer for scan_record: n_fields + 1 */
    char *text;        /* scratch for unescaped text */
    size_t text_cap;
    promo_csv_rejects rej;           /* rejects, lines relative to the chunk until joined */
    int status;                      /* PROMO_OK, or PROMO_EINPUT/PROMO_ENOMEM: stopped */
    uint64_t err_line;               /* relative line of the record that stopped the chunk */
    uint32_t err_col;                /* 1-based field */
    char err_msg[REASON_BYTES + 64]; /* its reason (EINPUT) or message (ENOMEM) */
} chunk;

static size_t type_size(promo_col_type t)
{
    switch (t) {
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        return sizeof(int64_t);
    case PROMO_COL_FLOAT64:
        return sizeof(double);
    case PROMO_COL_STRING:
        return sizeof(uint32_t);
    default:
        return 1;
    }
}

static void chunk_clear(const reader *rd, chunk *ch)
{
    for (size_t c = 0; ch->cols && c < rd->n_cols; c++) {
        if (!ch->cols[c].in_slab)
            promo_free(ch->cols[c].vals);
        promo_free(ch->cols[c].nulls);
        promo_free(ch->cols[c].spans);
        promo_free(ch->cols[c].pend);
        promo_free(ch->cols[c].pend_hw);
        sdict_free(ch->cols[c].dict);
    }
    promo_free(ch->cols);
    promo_free(ch->row);
    promo_free(ch->byfield);
    promo_free(ch->f);
    promo_free(ch->text);
    for (size_t i = 0; i < ch->rej.n; i++) {
        promo_free(ch->rej.items[i].reason);
        promo_free(ch->rej.items[i].raw);
    }
    promo_free(ch->rej.items);
    const char *start = ch->start, *limit = ch->limit;
    memset(ch, 0, sizeof *ch); /* also forgets the slab: a chunk parsed again owns its arrays */
    ch->start = start;
    ch->limit = limit;
}

static int chunk_nomem(chunk *ch)
{
    ch->status = PROMO_ENOMEM;
    snprintf(ch->err_msg, sizeof ch->err_msg, "%s", promo_last_error());
    return PROMO_ENOMEM;
}

/* Fault in the pages of [p, p + bytes) that lie wholly inside it, in one call: the columns of a
 * 5M-row file are 220 MB of fresh pages, and on these machines a page costs a quarter less faulted
 * that way than one store at a time. A chunk's columns are asked for the rows it expects, not the
 * 1/16 to spare that rows_estimate adds. Only a hint: a kernel without it (before 5.14) says
 * EINVAL, and the pages fault as they are written. */
static void prefault(const void *p, size_t bytes)
{
    if (bytes < PREFAULT_MIN)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), b = ((uintptr_t)p + bytes) & ~(page - 1);
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
}

static int chunk_init(const reader *rd, chunk *ch, size_t cap)
{
    ch->cols = promo_calloc(rd->n_cols ? rd->n_cols : 1, sizeof *ch->cols);
    ch->row = promo_mallocn(rd->n_cols ? rd->n_cols : 1, sizeof *ch->row);
    ch->f = promo_mallocn(rd->n_fields + 1, sizeof *ch->f);
    if (!ch->cols || !ch->row || !ch->f)
        return chunk_nomem(ch);
    for (size_t c = 0; c < rd->n_cols; c++)
        ch->row[c] = (rowcol){&ch->cols[c], (uint32_t)rd->cols[c].field, rd->cols[c].type};
    if (rd->runs_plain) {
        if (!(ch->byfield = promo_calloc(rd->n_fields, sizeof *ch->byfield)))
            return chunk_nomem(ch);
        for (size_t c = 0; c < rd->n_cols; c++)
            ch->byfield[rd->cols[c].field] = ch->row[c];
    }
    ch->cap = cap;
    for (size_t c = 0; c < rd->n_cols; c++) {
        ccol *cc = &ch->cols[c];
        const colplan *cp = &rd->cols[c];
        if (cp->inferred) {
            cc->mask = M_ALL;
            cc->spans = promo_mallocn(cap, sizeof *cc->spans);
            if (!cc->spans)
                return chunk_nomem(ch);
            continue;
        }
        if (ch->slab_rows && ch->slabs[c]) {
            cc->vals = (char *)ch->slabs[c] + ch->slab_at * type_size(cp->type);
            cc->in_slab = 1;
        } else if (!(cc->vals = promo_mallocn(cap, type_size(cp->type)))) {
            return chunk_nomem(ch);
        }
        prefault(cc->vals, (cap - cap / 17) * type_size(cp->type));
        if (cp->type == PROMO_COL_STRING &&
            (!(cc->dict = sdict_new()) ||
             !(cc->pend = promo_mallocn(STR_BLOCK, sizeof *cc->pend)) ||
             !(cc->pend_hw = promo_mallocn(2 * STR_BLOCK, sizeof *cc->pend_hw))))
            return chunk_nomem(ch);
    }
    return PROMO_OK;
}

static int chunk_grow(const reader *rd, chunk *ch)
{
    size_t cap = ch->cap * 2;
    for (size_t c = 0; c < rd->n_cols; c++) {
        ccol *cc = &ch->cols[c];
        if (cc->spans) {
            fspan *s = promo_reallocn(cc->spans, cap, sizeof *s);
            if (!s)
                return chunk_nomem(ch);
            cc->spans = s;
        } else if (cc->in_slab) { /* out of its room in the slab: its own array from now */
            void *v = promo_mallocn(cap, type_size(rd->cols[c].type));
            if (!v)
                return chunk_nomem(ch);
            memcpy(v, cc->vals, ch->cap * type_size(rd->cols[c].type));
            cc->vals = v;
            cc->in_slab = 0;
        } else {
            void *v = promo_reallocn(cc->vals, cap, type_size(rd->cols[c].type));
            if (!v)
                return chunk_nomem(ch);
            cc->vals = v;
        }
        if (cc->nulls) {
            size_t old_w = (ch->cap + 63) / 64, new_w = (cap + 63) / 64;
            uint64_t *nb = promo_reallocn(cc->nulls, new_w, sizeof *nb);
            if (!nb)
                return chunk_nomem(ch);
            memset(nb + old_w, 0, (new_w - old_w) * sizeof *nb);
            cc->nulls = nb;
        }
    }
    ch->cap = cap;
    return PROMO_OK;
}

static int set_null_slow(chunk *ch, ccol *cc, size_t r)
{
    if (!cc->nulls && !(cc->nulls = promo_calloc((ch->cap + 63) / 64, sizeof *cc->nulls)))
        return chunk_nomem(ch);
    ch->any_nulls = 1;
    cc->nulls[r >> 6] |= (uint64_t)1 << (r & 63);
    return PROMO_OK;
}

/* Mark row r null or not (a rejected row's slot is reused, so bits are also cleared). */
static inline int set_null(chunk *ch, ccol *cc, size_t r, int is_null)
{
    if (is_null)
        return set_null_slow(ch, cc, r);
    if (cc->nulls)
        cc->nulls[r >> 6] &= ~((uint64_t)1 << (r & 63));
    return PROMO_OK;
}

/* Field text with quotes undoubled (in ch->text when needed). */
static inline int field_text(chunk *ch, const fspan *f, const char **s, size_t *n)
{
    if (!f->escaped) {
        *s = f->p;
        *n = f->n;
        return PROMO_OK;
    }
    if (f->n > ch->text_cap) {
        char *t = promo_malloc(f->n);
        if (!t)
            return chunk_nomem(ch);
        promo_free(ch->text);
        ch->text = t;
        ch->text_cap = f->n;
    }
    *n = unescape(f, ch->text);
    *s = ch->text;
    return PROMO_OK;
}

/* A value for a message: at most SHOW_MAX bytes, control bytes as '?'. */
static void show_value(const char *s, size_t n, char *out, size_t cap)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    size_t k = 0, lim = n > SHOW_MAX ? SHOW_MAX : n;
    /* Do not cut a UTF-8 sequence in two. */
    while (lim < n && lim > 0 && ((unsigned char)s[lim] & 0xc0) == 0x80)
        lim--;
    for (size_t i = 0; i < lim && k + 4 < cap; i++)
        out[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (lim < n && k + 4 < cap) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

/* Describe why a record is bad, into reason; returns the 1-based field it concerns. */
static uint32_t record_reason(const reader *rd, const record *rec, char *reason, size_t cap)
{
    size_t fi = rec->err ? rec->err_field : (rec->nf < rd->n_fields ? rec->nf : rd->n_fields);
    if (!rec->err) {
        snprintf(reason, cap, "expected %zu fields, got %zu", rd->n_fields, rec->nf);
        return (uint32_t)(fi + 1);
    }
    char where[300];
    const colplan *cp = NULL;
    for (size_t c = 0; c < rd->n_cols; c++)
        if (rd->cols[c].field == fi)
            cp = &rd->cols[c];
    if (cp)
        snprintf(where, sizeof where, "column '%.200s'", cp->name);
    else
        snprintf(where, sizeof where, "field %zu", fi + 1);
    switch (rec->err) {
    case E_NUL:
        snprintf(reason, cap, "%s: NUL byte in field", where);
        break;
    case E_UTF8:
        if (fi < rec->cap)
            snprintf(reason, cap, "%s: invalid UTF-8 (byte 0x%02x at offset %zu of the field)",
                     where, (unsigned char)rec->f[fi].p[rec->err_at], rec->err_at);
        else
            snprintf(reason, cap, "%s: invalid UTF-8", where);
        break;
    case E_TOOLONG:
        snprintf(reason, cap, "%s: field longer than max_field_bytes (%u)", where,
                 (unsigned)rd->sc.max_field);
        break;
    case E_AFTERQUOTE:
        snprintf(reason, cap,
                 "%s: unexpected text after a closing quote (quotes inside a "
                 "quoted field must be doubled)",
                 where);
        break;
    default:
        snprintf(reason, cap, "%s: unterminated quoted field (reached the end of the input)",
                 where);
        break;
    }
    return (uint32_t)(fi + 1);
}

static const char *type_expect(promo_col_type t)
{
    switch (t) {
    case PROMO_COL_INT64:
        return "an integer";
    case PROMO_COL_FLOAT64:
        return "a number";
    case PROMO_COL_TIMESTAMP:
        return "a timestamp";
    case PROMO_COL_BOOL:
        return "a boolean (true/false)";
    default:
        return "a string";
    }
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* "YYYY-MM-DD" and "YYYY-MM-DD[ T]HH:MM:SS", the forms that fill most files, without the
 * general parser. Returns 1 and sets *out only for a valid date of exactly that form; for
 * anything else the caller asks promo_time_parse, so the results are the same. tc (may be
 * NULL): the column's last date. */
static inline __attribute__((always_inline)) int
fast_ts(const char *s, size_t n, int64_t *out, ts_cache *tc)
{
    if (n != 10 && n != 19)
        return 0;
    /* Fixed positions, no pattern loop: digit k is (byte - '0') <= 9 unsigned. */
    const unsigned char *u = (const unsigned char *)s;
#define TS_D(i) ((unsigned)(u[i] - '0'))
    uint64_t w;
    uint16_t dd;
    memcpy(&w, s, 8);
    memcpy(&dd, s + 8, 2);
    int64_t day_s;
    if (tc && tc->valid && w == tc->w && dd == tc->dd) {
        day_s = tc->day_s;
    } else {
        unsigned bad = (TS_D(0) > 9) | (TS_D(1) > 9) | (TS_D(2) > 9) | (TS_D(3) > 9) |
                       (u[4] != '-') | (TS_D(5) > 9) | (TS_D(6) > 9) | (u[7] != '-') |
                       (TS_D(8) > 9) | (TS_D(9) > 9);
        int y = (int)(TS_D(0) * 1000 + TS_D(1) * 100 + TS_D(2) * 10 + TS_D(3));
        int m = (int)(TS_D(5) * 10 + TS_D(6)), d = (int)(TS_D(8) * 10 + TS_D(9));
        if (bad || y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
            return 0;
        day_s = promo_days_from_civil(y, (unsigned)m, (unsigned)d) * PROMO_SECONDS_PER_DAY;
        if (tc)
            *tc = (ts_cache){w, dd, 1, day_s};
    }
#undef TS_D
    int hms = 0;
    if (n == 19) {
        /* "HH:MM:SS" as one word (byte 0 first): the digit bytes must be 0x30-0x39 (high
         * nibble 3, and still 3 after adding 6), the others ':'. Then byte k of
         * 10 * v + (v >> 8), v the digit values, is the two-digit number starting at byte k
         * (no byte carries: every product is below 100). */
        const uint64_t digits = 0xFFFF00FFFF00FFFFULL, colons = 0x00003A00003A0000ULL;
        const uint64_t threes = 0x3030303030303030ULL & digits;
        uint64_t t;
        memcpy(&t, s + 11, 8);
        if ((u[10] != ' ' && u[10] != 'T') || (t & ~digits) != colons ||
            (t & 0xF0F0F0F0F0F0F0F0ULL & digits) != threes ||
            ((t + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL & digits) != threes)
            return 0;
        uint64_t v = t & 0x0F0F0F0F0F0F0F0FULL, y = v * 10 + (v >> 8);
        int hh = (int)(y & 0xFF), mi = (int)(y >> 24 & 0xFF), ss = (int)(y >> 48 & 0xFF);
        if (hh > 23 || mi > 59 || ss > 60)
            return 0;
        hms = hh * 3600 + mi * 60 + ss;
    }
    *out = day_s + hms;
    return 1;
}

/* Convert text to a non-string type; CSV_CV_* result. */
static int convert(promo_col_type t,
                   const char *s,
                   size_t n,
                   promo_date_order order,
                   void *vals,
                   size_t r,
                   ts_cache *tc)
{
    switch (t) {
    case PROMO_COL_INT64:
        return csv_parse_i64(s, n, &((int64_t *)vals)[r]);
    case PROMO_COL_FLOAT64:
        return csv_parse_f64(s, n, &((double *)vals)[r]);
    case PROMO_COL_BOOL: {
        int b = 0;
        int rc = csv_parse_bool(s, n, 0, &b);
        ((uint8_t *)vals)[r] = (uint8_t)b;
        return rc;
    }
    default: {
        size_t i = 0;
        if (fast_ts(s, n, &((int64_t *)vals)[r], tc))
            return CSV_CV_OK;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            return CSV_CV_NULL;
        return promo_time_parse(s, n, order, &((int64_t *)vals)[r]) ? CSV_CV_BAD : CSV_CV_OK;
    }
    }
}

static void zero_slot(promo_col_type t, void *vals, size_t r)
{
    memset((char *)vals + r * type_size(t), 0, type_size(t));
}

/* The M_* types a non-empty value can be, among `want`. */
static unsigned value_mask(const char *s, size_t n, unsigned want, promo_date_order order)
{
    unsigned m = 0;
    int64_t i;
    double d;
    int b;
    if ((want & (M_INT | M_FLOAT)) && csv_parse_i64(s, n, &i) == CSV_CV_OK)
        m |= M_INT | M_FLOAT;
    else if ((want & M_FLOAT) && csv_parse_f64(s, n, &d) == CSV_CV_OK)
        m |= M_FLOAT;
    if ((want & M_BOOL) && csv_parse_bool(s, n, 1, &b) == CSV_CV_OK)
        m |= M_BOOL;
    /* A date has at least 8 characters (YYYYMMDD, d/m/yy with a time, ...): skip the call for
     * short numbers. */
    if ((want & M_TS) && n >= 6 && promo_time_parse(s, n, order, &i) == 0)
        m |= M_TS;
    return m & want;
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

static int add_reject(
    chunk *ch, uint64_t line, uint32_t col, const char *reason, const char *rs, const char *re)
{
    re = text_end(rs, re);
    size_t n = (size_t)(re - rs);
    if (n > REJECT_RAW_MAX)
        n = REJECT_RAW_MAX;
    if (promo_grow((void **)&ch->rej.items, &ch->rej.cap, ch->rej.n + 1, sizeof *ch->rej.items))
        return chunk_nomem(ch);
    promo_csv_reject *it = &ch->rej.items[ch->rej.n];
    it->line = line;
    it->col = col;
    it->reason = promo_strdup(reason);
    it->raw = promo_strndup(rs, n);
    if (!it->reason || !it->raw) {
        promo_free(it->reason);
        promo_free(it->raw);
        return chunk_nomem(ch);
    }
    ch->rej.n++;
    return PROMO_OK;
}

/* Before a large chunk dictionary grows, project its final size from the new-key rate since
 * its previous growth (keys per input byte) over the chunk's bytes still to parse, and size the
 * growth for that: a column of distinct ids (5M order ids) then rehashes once or twice instead
 * of at every doubling, each a pass of cache misses. Columns whose rate falls off (customer
 * ids) project low and grow by doubling. Only capacity depends on this, never codes. */
#define GROW_PROJECT_MIN ((size_t)1 << 16) /* keys before projecting: small tables just double */
#define GROW_JUMP_MAX    64                /* at most this factor in one growth */

static void plan_growth(const chunk *ch, sdict *d, const char *at)
{
    size_t total = (size_t)(ch->limit - ch->start);
    size_t pos = at >= ch->start && at < ch->limit ? (size_t)(at - ch->start) : total;
    d->want_cap = 0;
    if (d->n < GROW_PROJECT_MIN || pos <= d->grow_pos || pos >= total)
        return;
    double rate = (double)(d->n - d->grow_n) / (double)(pos - d->grow_pos);
    double est = (double)d->n + rate * (double)(total - pos);
    double lim = (double)d->cap * GROW_JUMP_MAX;
    d->want_cap = (size_t)(2.0 * (est < lim ? est : lim));
}

static uint32_t
intern(chunk *ch, ccol *cc, const char *s, size_t n, uint64_t h, uint64_t w0, const char *at)
{
    if (n <= 8 && n + 1 == cc->last_n1 && w0 == cc->last_w0)
        return cc->last_code;
    sdict *d = cc->dict;
    size_t cap0 = d->cap;
    if (!d->sorted && (d->n + 1) * 2 > cap0)
        plan_growth(ch, d, at);
    uint32_t code = sdict_intern(d, s, n, h, w0, s == at); /* unescaped: in the input */
    if (code == PROMO_DICT_NONE) {
        chunk_nomem(ch);
        return code;
    }
    if (d->cap != cap0) {
        d->grow_n = d->n;
        d->grow_pos = at >= ch->start ? (size_t)(at - ch->start) : 0;
    }
    cc->last_n1 = n <= 8 ? n + 1 : 0;
    cc->last_w0 = w0;
    cc->last_code = code;
    return code;
}

/* Hash a pending STRING field now and ask for its dictionary slot: the slot is read a block of
 * rows later, at the flush, by when it has arrived even from memory (a prefetch a few values
 * ahead in the flush loop left ids of a 50,000-key column waiting on the load). A sorted
 * dictionary reads no slot, and an escaped field is hashed once unescaped: both get hash 0. */
static inline __attribute__((always_inline)) void
pend_hash(ccol *cc, size_t pr, const fspan *f, int wide)
{
    if (!cc->dict->sorted && !f->escaped) {
        uint64_t w0 = field_word(f->p, f->n, wide), h = skey_hash_word(f->p, f->n, w0);
        sdict_prefetch(cc->dict, h);
        cc->pend_hw[2 * pr] = h;
        cc->pend_hw[2 * pr + 1] = w0;
    } else {
        cc->pend_hw[2 * pr] = 0;
    }
}

/* Intern the pending STRING fields of rows [flushed, n_rows), a block at a time (their slots
 * were requested when the rows were stored: pend_hash). */
static int flush_strings(const reader *rd, chunk *ch)
{
    size_t m = ch->n_rows - ch->flushed;
    for (size_t c = 0; c < rd->n_cols && m; c++) {
        ccol *cc = &ch->cols[c];
        if (!cc->pend)
            continue;
        uint32_t *codes = (uint32_t *)cc->vals + ch->flushed;
        const uint64_t *hw = cc->pend_hw;
        for (size_t i = 0; i < m; i++) {
            const sdict *d = cc->dict;
            if (!d->sorted) {
                /* Short keys hashed when parsed and already in the table: for ids the probe
                 * is the whole cost, and intern's bookkeeping (growth, the sorted mode, the
                 * last value) only matters for a new key, which goes the way below. The
                 * table does not change in this loop. */
                const sslot *slots = d->slots;
                size_t mask = d->cap - 1;
                for (; i < m; i++) {
                    uint64_t h = hw[2 * i], w0 = hw[2 * i + 1];
                    size_t n = cc->pend[i].n, j = h & mask;
                    if (!h || n > 8)
                        break;
                    uint32_t tag = skey_tag(h, n), code1;
                    while ((code1 = slots[j].code1) && (slots[j].tag != tag || slots[j].w0 != w0))
                        j = (j + 1) & mask;
                    if (!code1)
                        break;
                    codes[i] = code1 - 1;
                }
                if (i == m)
                    break;
            }
            const fspan *f = &cc->pend[i];
            const char *s = f->p;
            size_t n = f->n;
            if (f->escaped && field_text(ch, f, &s, &n))
                return PROMO_ENOMEM;
            uint64_t h = hw[2 * i], w0;
            if (d->sorted) /* no hash needed: a lookup is one compare with the last key */
                w0 = promo_load_upto8((const unsigned char *)s, n < 8 ? n : 8);
            else if (!h) /* escaped, or the dictionary left sorted mode since */
                h = skey_hash(s, n, &w0);
            else
                w0 = hw[2 * i + 1];
            uint32_t code = intern(ch, cc, s, n, h, w0, f->p);
            if (code == PROMO_DICT_NONE)
                return PROMO_ENOMEM;
            codes[i] = code;
        }
    }
    ch->flushed = ch->n_rows;
    return PROMO_OK;
}

/* Store one scanned record as row ch->n_rows, or reject it. Returns PROMO_OK (stored or
 * rejected) or the status that stops the chunk. */
static int put_row(
    const reader *rd, chunk *ch, const record *rec, const char *rs, const char *re, uint64_t line)
{
    char reason[REASON_BYTES];
    uint32_t col;
    if (rec->err || rec->nf != rd->n_fields) {
        col = record_reason(rd, rec, reason, sizeof reason);
        goto bad;
    }
    if (ch->n_rows == ch->cap && chunk_grow(rd, ch))
        return PROMO_ENOMEM;
    size_t r = ch->n_rows;
    promo_date_order order = rd->opt->date_order;

    /* Typed values first, strings and inference after: a record rejected for a bad value
     * leaves no trace in the dictionaries or the inferred types. */
    for (size_t c = 0; c < rd->n_cols; c++) {
        const colplan *cp = &rd->cols[c];
        ccol *cc = &ch->cols[c];
        const fspan *f = &rec->f[cp->field];
        if (cp->inferred)
            continue;
        if (cp->type == PROMO_COL_STRING)
            continue;
        const char *s;
        size_t n;
        if (field_text(ch, f, &s, &n))
            return PROMO_ENOMEM;
        int rc = convert(cp->type, s, n, order, cc->vals, r, &cc->ts);
        if (rc == CSV_CV_NOMEM)
            return chunk_nomem(ch);
        if (rc == CSV_CV_BAD || rc == CSV_CV_RANGE) {
            char shown[SHOW_MAX * 2 + 8];
            show_value(s, n, shown, sizeof shown);
            if (rc == CSV_CV_BAD)
                snprintf(reason, sizeof reason, "column '%.200s': expected %s, got \"%s\"",
                         cp->name, type_expect(cp->type), shown);
            else
                snprintf(reason, sizeof reason, "column '%.200s': %s out of range: \"%s\"",
                         cp->name, cp->type == PROMO_COL_INT64 ? "integer" : "number", shown);
            col = (uint32_t)(cp->field + 1);
            goto bad;
        }
        if (rc == CSV_CV_NULL)
            zero_slot(cp->type, cc->vals, r);
        if (set_null(ch, cc, r, rc == CSV_CV_NULL))
            return PROMO_ENOMEM;
    }
    for (size_t c = 0; c < rd->n_cols; c++) {
        const colplan *cp = &rd->cols[c];
        ccol *cc = &ch->cols[c];
        const fspan *f = &rec->f[cp->field];
        if (cp->inferred) {
            cc->spans[r] = *f;
            if (f->n && !only_space(f->p, f->n)) {
                cc->seen = 1;
                if (cc->mask)
                    cc->mask &= f->escaped ? 0 : value_mask(f->p, f->n, cc->mask, order);
            }
            continue;
        }
        if (cp->type != PROMO_COL_STRING)
            continue;
        cc->pend[r - ch->flushed] = *f;
        pend_hash(cc, r - ch->flushed, f, 0);
        if (set_null(ch, cc, r, !f->quoted && f->n == 0))
            return PROMO_ENOMEM;
    }
    ch->n_rows++;
    if (ch->n_rows - ch->flushed == STR_BLOCK)
        return flush_strings(rd, ch);
    return PROMO_OK;
bad:
    if (rd->opt->skip_bad_rows)
        return add_reject(ch, line, col, reason, rs, re);
    ch->status = PROMO_EINPUT;
    ch->err_line = line;
    ch->err_col = col;
    snprintf(ch->err_msg, sizeof ch->err_msg, "%s", reason);
    return PROMO_EINPUT;
}

/* One field of the common record into row r of its column: plain (no field quoted), non-empty
 * and in the short form that fast_ts, csv_parse_f64_short or a bare run of at most 18 digits
 * reads. Returns 1 (stored), or 0 when the value is not of that form (then nothing was stored
 * and put_row does the row, and reports it if it is bad). pr: the row's place in the pending
 * strings. */
static inline __attribute__((always_inline)) int put_field_plain(
    promo_col_type type, ccol *cc, const char *s, size_t n, size_t r, size_t pr, const int wide)
{
    switch (type) {
    case PROMO_COL_INT64: {
        uint64_t v = 0;
        if (n - 1 < 8) {
            if (!csv_digits_word(field_word(s, n, wide), n, &v))
                return 0;
        } else {
            if (n - 1 >= 18) /* 0 or more than 18 digits */
                return 0;
            for (size_t i = 0; i < n; i++) {
                unsigned d = (unsigned)((unsigned char)s[i] - '0');
                if (d > 9)
                    return 0;
                v = v * 10 + d;
            }
        }
        ((int64_t *)cc->vals)[r] = (int64_t)v;
        return 1;
    }
    case PROMO_COL_TIMESTAMP:
        return fast_ts(s, n, &((int64_t *)cc->vals)[r], &cc->ts);
    case PROMO_COL_FLOAT64:
        if (n - 1 < 8)
            return csv_parse_f64_word(field_word(s, n, wide), n, &((double *)cc->vals)[r]);
        return csv_parse_f64_short(s, n, &((double *)cc->vals)[r]);
    case PROMO_COL_STRING:
        if (!n) /* a null */
            return 0;
        cc->pend[pr] = (fspan){s, (uint32_t)n, 0, 0, 0};
        pend_hash(cc, pr, &cc->pend[pr], wide);
        return 1;
    default:
        return 0;
    }
}

/* Row r = ch->n_rows is stored: count it, and intern the pending strings every STR_BLOCK rows.
 * Returns PROMO_OK or the status that stops the chunk. */
static inline int commit_row_plain(const reader *rd, chunk *ch)
{
    size_t r = ch->n_rows;
    for (size_t c = 0; ch->any_nulls && c < rd->n_cols; c++) {
        ccol *cc = &ch->cols[c]; /* a rejected row's slot is reused: clear a bit it may have left */
        if (cc->nulls)
            cc->nulls[r >> 6] &= ~((uint64_t)1 << (r & 63));
    }
    ch->n_rows++;
    if (ch->n_rows - ch->flushed == STR_BLOCK)
        return flush_strings(rd, ch);
    return PROMO_OK;
}

/* put_row for the common record: plain (scan_fast took it), the right number of fields, every
 * column typed and every value of put_field_plain's form. One pass over the columns with no
 * per-field quote, escape or trim handling. Returns PROMO_OK (stored), PUT_GENERIC when some
 * value is not of that form (put_row then does the row), or the status that stops the chunk. */
enum { PUT_GENERIC = -1 };

static int put_row_plain(const reader *rd, chunk *ch, const record *rec)
{
    size_t r = ch->n_rows;
    if (r == ch->cap)
        return PUT_GENERIC;
    for (const rowcol *rc = ch->row, *rc_end = rc + rd->n_cols; rc < rc_end; rc++)
        if (!put_field_plain(rc->type, rc->cc, rec->f[rc->field].p, rec->f[rc->field].n, r,
                             r - ch->flushed, 0))
            return PUT_GENERIC;
    return commit_row_plain(rd, ch);
}

/* ---- Plain records straight from the masks ----------------------------------------------
 *
 * For a file whose columns are all typed, most records go from the block masks to the
 * columns in one pass: each delimiter or newline ends a field, which is converted there and
 * then (put_field_plain), with no list of fields in between and no per-record start-up (the
 * blocks run on across records). The first record that is not of the common kind stops the
 * run before anything of it is kept: a quote, NUL, byte >= 0x80 or CR other than a CRLF's in
 * it, a record longer than the field limit (so that no field needs asking), too many or too
 * few fields, a value not of the short forms, a full chunk. parse_chunk then takes that record the
 * usual way and starts a new run after it, so both ways give the same table. */
static inline __attribute__((always_inline)) const char *
run_plain_at(const int level, const reader *rd, chunk *ch, const char *p, int *status)
{
    const char *end = rd->end, *limit = ch->limit, *rs = p, *fs = p, *blk = p;
    const rowcol *byfield = ch->byfield;
    const size_t last = rd->n_fields - 1, max_field = rd->sc.max_field;
    size_t k = 0, r = ch->n_rows;
    if (r == ch->cap)
        return rs;
    /* 8 bytes to spare after the block: a field that ends in it can be read a word at a
     * time (field_word). */
    while (end - blk >= 64 + 8) {
        blockmask m;
        block_masks(level, rd->sc.delim, blk, &m);
        /* Only the bytes before the first one the run does not take (a CR must be right
         * before a LF) count. */
        uint64_t odd = m.other | (m.cr & ~(m.nl >> 1));
        uint64_t upto_odd = odd ? (odd & (0 - odd)) - 1 : ~(uint64_t)0;
        uint64_t delims = m.delim & upto_odd, nls = m.nl & upto_odd;
        for (;;) {
            /* The fields that end at a delimiter before the next newline: no line end to
             * ask about, and a field cannot be longer than its record (asked at the end). */
            uint64_t before_nl = nls ? (nls & (0 - nls)) - 1 : ~(uint64_t)0;
            uint64_t d = delims & before_nl;
            delims &= ~before_nl;
            while (d) {
                const char *at = blk + __builtin_ctzll(d);
                d &= d - 1;
                if (k >= last)
                    return rs;
                const rowcol *op = &byfield[k++];
                if (op->cc && !put_field_plain(op->type, op->cc, fs, (size_t)(at - fs), r,
                                               r - ch->flushed, 1))
                    return rs;
                fs = at + 1;
            }
            if (!nls)
                break;
            unsigned i = (unsigned)__builtin_ctzll(nls);
            nls &= nls - 1;
            const char *at = blk + i, *fe = at - (i && (m.cr >> (i - 1) & 1));
            if (k != last || (size_t)(fe - rs) > max_field)
                return rs;
            const rowcol *op = &byfield[k];
            if (op->cc &&
                !put_field_plain(op->type, op->cc, fs, (size_t)(fe - fs), r, r - ch->flushed, 1))
                return rs;
            ch->lines++;
            if ((*status = commit_row_plain(rd, ch)))
                return at + 1;
            rs = fs = at + 1;
            k = 0;
            if (rs >= limit || ++r == ch->cap)
                return rs;
        }
        if (odd)
            return rs;
        blk += 64;
    }
    return rs;
}

/* run_plain_at compiled once per instruction set, as scan_fast_at is. */
#if defined(__x86_64__) && defined(__GNUC__)
TARGET_AVX512 static const char *
run_plain_avx512(const reader *rd, chunk *ch, const char *p, int *status)
{
    return run_plain_at(SIMD_AVX512, rd, ch, p, status);
}

TARGET_AVX2 static const char *
run_plain_avx2(const reader *rd, chunk *ch, const char *p, int *status)
{
    return run_plain_at(SIMD_AVX2, rd, ch, p, status);
}
#endif

/* The records from p that run_plain_at takes; returns where it stopped (a record start, or
 * past the chunk's limit), with *status the status that stops the chunk, or PROMO_OK. */
static const char *run_plain(const reader *rd, chunk *ch, const char *p, int *status)
{
    *status = PROMO_OK;
    switch (rd->sc.fast) {
#if defined(__x86_64__) && defined(__GNUC__)
    case SIMD_AVX512:
        return run_plain_avx512(rd, ch, p, status);
    case SIMD_AVX2:
        return run_plain_avx2(rd, ch, p, status);
#endif
#ifdef __SSE2__
    case SIMD_SSE2:
        return run_plain_at(SIMD_SSE2, rd, ch, p, status);
#endif
    default:
        return run_plain_at(SIMD_NONE, rd, ch, p, status);
    }
}

/* Rows to allocate for a chunk of `bytes` at p: the newline density of its first 64 KiB, with
 * 1/16 to spare, so that the columns rarely grow (bytes / 64 was a fifth short for the 53-byte
 * records of a transactions file); a wrong guess only costs a growth. */
static size_t rows_estimate(const char *p, size_t bytes)
{
    size_t sample = bytes < ((size_t)64 << 10) ? bytes : (size_t)64 << 10, nl = 0;
    for (const char *q = p, *e = p + sample; (q = memchr(q, '\n', (size_t)(e - q))); q++)
        nl++;
    if (!nl)
        return bytes / 64 + 64;
    /* At most one row per 8 bytes: a sample of blank lines must not reserve a row per byte. */
    double rows = (double)bytes * (double)nl / (double)sample, most = (double)bytes / 8;
    rows += rows / 16;
    return (size_t)(rows < most ? rows : most) + 64;
}

/* Parse the records starting in [ch->start, ch->limit). */
static void parse_chunk(const reader *rd, chunk *ch)
{
    size_t bytes = (size_t)(ch->limit - ch->start);
    if (chunk_init(rd, ch, ch->slab_rows ? ch->slab_rows : rows_estimate(ch->start, bytes)))
        return;
    record rec = {.f = ch->f, .cap = rd->n_fields + 1};
    const char *p = ch->start, *end = rd->end;
    int runs_in_vain = 0; /* run_plain calls in a row that took no record */
    while (p < ch->limit) {
        /* A file where run_plain keeps stopping at once (quotes in every record, say) is
         * left to the usual way after a few tries. */
        if (ch->byfield && runs_in_vain < RUNS_IN_VAIN_MAX) {
            int status;
            size_t before = ch->n_rows;
            p = run_plain(rd, ch, p, &status);
            if (status)
                break;
            runs_in_vain = ch->n_rows == before ? runs_in_vain + 1 : 0;
            if (p >= ch->limit)
                break;
        }
        /* With one column a blank line is a null value, else it is skipped. */
        const char *next = rd->n_fields > 1 ? blank_line(p, end) : NULL;
        if (next) {
            ch->lines += next[-1] == '\n';
            p = next;
            continue;
        }
        const char *rs = p;
        uint64_t line = ch->lines;
        p = scan_record(&rd->sc, p, end, &rec);
        ch->lines += rec.lines;
        int rc = rec.plain && rd->all_typed && rec.nf == rd->n_fields ? put_row_plain(rd, ch, &rec)
                                                                      : PUT_GENERIC;
        if (rc == PUT_GENERIC)
            rc = put_row(rd, ch, &rec, rs, p, line);
        if (rc)
            break;
    }
    if (!ch->status)
        flush_strings(rd, ch);
    ch->stop = p;
}

/* Convert an inferred column's spans in one chunk, now that the type is decided. */
static int convert_inferred(const reader *rd, chunk *ch, size_t c)
{
    const colplan *cp = &rd->cols[c];
    ccol *cc = &ch->cols[c];
    size_t n_rows = ch->n_rows;
    if (ch->slabs && ch->slabs[c]) { /* its rows' place in the column (read_csv) */
        cc->vals = (char *)ch->slabs[c] + ch->slab_at * type_size(cp->type);
        cc->in_slab = 1;
    } else if (!(cc->vals = promo_mallocn(n_rows ? n_rows : 1, type_size(cp->type)))) {
        return chunk_nomem(ch);
    }
    ch->cap = n_rows; /* set_null sizes new bitmaps by cap; no more rows come */
    promo_free(cc->nulls);
    cc->nulls = NULL;
    if (cp->type == PROMO_COL_STRING && !(cc->dict = sdict_new()))
        return chunk_nomem(ch);
    for (size_t r = 0; r < n_rows; r++) {
        const fspan *f = &cc->spans[r];
        const char *s;
        size_t n;
        if (field_text(ch, f, &s, &n))
            return PROMO_ENOMEM;
        int is_null;
        if (cp->type == PROMO_COL_STRING) {
            if (r + PREFETCH_AHEAD < n_rows) {
                uint64_t w;
                const fspan *g = &cc->spans[r + PREFETCH_AHEAD];
                sdict_prefetch(cc->dict, skey_hash(g->p, g->n, &w));
            }
            is_null = !f->quoted && f->n == 0;
            uint64_t w0, h = skey_hash(s, n, &w0);
            uint32_t code = intern(ch, cc, s, n, h, w0, f->p);
            if (code == PROMO_DICT_NONE)
                return PROMO_ENOMEM;
            ((uint32_t *)cc->vals)[r] = code;
        } else {
            int rc = convert(cp->type, s, n, rd->opt->date_order, cc->vals, r, &cc->ts);
            if (rc == CSV_CV_NOMEM)
                return chunk_nomem(ch);
            PROMO_ASSERT(rc == CSV_CV_OK || rc == CSV_CV_NULL);
            is_null = rc == CSV_CV_NULL;
            if (is_null)
                zero_slot(cp->type, cc->vals, r);
        }
        if (is_null && set_null(ch, cc, r, 1))
            return PROMO_ENOMEM;
    }
    promo_free(cc->spans);
    cc->spans = NULL;
    return PROMO_OK;
}

static size_t skey_copy(void *ctx, size_t k, char *buf)
{
    const skey *key = &((const sdict *)ctx)->keys[k];
    memcpy(buf, key->p, key->n);
    return key->n;
}

/* map[k] = index in out of chunk key k, interning the keys in code order (what a serial parse
 * gives); or *shift = 1 and map untouched when that index is simply size-before + k. Keys known to
 * be new go as one bulk append, without a probe each: into an empty dictionary (a chunk's keys are
 * distinct), and when this chunk's keys are sorted and all greater than the last key of every
 * earlier chunk, all sorted too (*last: that key, or NULL once a chunk was not sorted). Else in
 * prefetching batches, the table sized once. */
static int merge_keys(const sdict *d, promo_dict *out, uint32_t *map, const skey **last, int *shift)
{
    enum { MB = 1024 };
    size_t nk = d->n, longest = 0;
    if (nk == 0)
        return PROMO_OK;
    for (size_t k = 0; k < nk; k++)
        longest = d->keys[k].n > longest ? d->keys[k].n : longest;
    uint32_t base = promo_dict_size(out);
    int fresh =
        base == 0 || (*last && d->sorted && skey_cmp(d->keys[0].p, d->keys[0].n, *last) > 0);
    *last = fresh && d->sorted ? &d->keys[nk - 1] : NULL;
    /* Sorted and after every earlier key: appended without a hash index, which no step of
     * a read needs (it is built if someone looks a key up later). The dictionary checks the
     * order itself; should it refuse, the keys go the general way below. */
    if (*last && longest <= PROMO_DICT_KEY_MAX &&
        promo_dict_append_sorted(out, nk, skey_copy, (void *)d) == PROMO_OK) {
        *shift = 1;
        return PROMO_OK;
    }
    if (fresh && longest <= PROMO_DICT_KEY_MAX) {
        int rc = promo_dict_append_distinct(out, nk, skey_copy, (void *)d, 1);
        if (rc)
            return rc;
        *shift = 1; /* code k is base + k: no map to go through */
        return PROMO_OK;
    }
    if (promo_dict_reserve(out, (size_t)base + nk))
        return PROMO_ENOMEM;
    const char *ptrs[MB];
    uint32_t lens[MB];
    for (size_t k0 = 0; k0 < nk; k0 += MB) {
        size_t m = nk - k0 < MB ? nk - k0 : MB;
        for (size_t i = 0; i < m; i++) {
            ptrs[i] = d->keys[k0 + i].p;
            lens[i] = d->keys[k0 + i].n;
        }
        int rc = promo_dict_intern_batch(out, ptrs, lens, m, map + k0);
        if (rc)
            return rc;
    }
    return PROMO_OK;
}

/* Append one chunk's rows of column c to the table column. in_place: the column's array is
 * the slab the chunk wrote into (its rows lie at or after where they go). */
static int merge_chunk(
    const reader *rd, chunk *ch, size_t c, promo_column *out, const skey **last, int in_place)
{
    const colplan *cp = &rd->cols[c];
    ccol *cc = &ch->cols[c];
    uint32_t *map = NULL, base = 0;
    int shift = 0; /* 1: out code = base + chunk code (map unused) */
    if (cp->type == PROMO_COL_STRING) {
        uint32_t nk = (uint32_t)cc->dict->n;
        base = promo_dict_size(out->dict);
        map = promo_mallocn(nk ? nk : 1, sizeof *map);
        if (!map)
            return PROMO_ENOMEM;
        if (merge_keys(cc->dict, out->dict, map, last, &shift)) {
            promo_free(map);
            return PROMO_ENOMEM;
        }
    }
    int rc = PROMO_OK;
    if (!cc->nulls && cp->type != PROMO_COL_BOOL && ch->n_rows && out->n + ch->n_rows <= out->cap) {
        /* No null in this chunk: whole arrays, no push per value. The first chunk's array
         * becomes the column's (realloc keeps its pages: no copy, no new page faults for half
         * of every column); later chunks are copied in one go. Chunks with nulls go the way
         * below, which interns "" for a null string at the point a serial parse would. */
        int is_string = cp->type == PROMO_COL_STRING;
        uint32_t *codes = cc->vals;
        if (is_string && shift)
            for (size_t r = 0; base && r < ch->n_rows; r++)
                codes[r] += base;
        else if (is_string)
            for (size_t r = 0; r < ch->n_rows; r++)
                codes[r] = map[codes[r]];
        size_t es = type_size(cp->type);
        void **dst = cp->type == PROMO_COL_FLOAT64 ? (void **)&out->f64
                     : is_string                   ? (void **)&out->codes
                                                   : (void **)&out->i64;
        if (in_place && cc->in_slab) {
            /* Down to where they go, over this chunk's own pages and the gap before them:
             * no page is faulted for a copy, and chunk 0 does not move. */
            if ((char *)*dst + out->n * es != (char *)cc->vals)
                memmove((char *)*dst + out->n * es, cc->vals, ch->n_rows * es);
        } else if (out->n == 0 && !cc->in_slab) {
            void *adopted = promo_reallocn(cc->vals, out->cap, es);
            if (!adopted) {
                promo_free(map);
                return PROMO_ENOMEM;
            }
            cc->vals = NULL; /* the column's now */
            promo_free(*dst);
            *dst = adopted;
        } else {
            memcpy((char *)*dst + out->n * es, cc->vals, ch->n_rows * es);
        }
        out->n += ch->n_rows;
        promo_free(map);
        return PROMO_OK;
    }
    for (size_t r = 0; r < ch->n_rows && !rc; r++) {
        if (cc->nulls && (cc->nulls[r >> 6] >> (r & 63) & 1)) {
            rc = promo_column_push_null(out);
            continue;
        }
        switch (cp->type) {
        case PROMO_COL_INT64:
        case PROMO_COL_TIMESTAMP:
            rc = promo_column_push_i64(out, ((int64_t *)cc->vals)[r]);
            break;
        case PROMO_COL_FLOAT64:
            rc = promo_column_push_f64(out, ((double *)cc->vals)[r]);
            break;
        case PROMO_COL_BOOL:
            rc = promo_column_push_bool(out, ((uint8_t *)cc->vals)[r]);
            break;
        default: {
            uint32_t code = ((uint32_t *)cc->vals)[r];
            rc = promo_column_push_code(out, shift ? base + code : map[code]);
            break;
        }
        }
    }
    promo_free(map);
    return rc;
}

/* ======================================================================================== */
/* Header and plan                                                                          */
/* ======================================================================================== */

/* The delimiter among , ; TAB | that occurs most often outside quotes in the first line. */
static char detect_delimiter(const char *p, const char *end)
{
    static const char cand[4] = {',', ';', '\t', '|'};
    size_t count[4] = {0, 0, 0, 0};
    int inq = 0;
    for (; p < end; p++) {
        if (*p == '"')
            inq = !inq;
        else if (!inq && *p == '\n')
            break;
        else if (!inq)
            for (int k = 0; k < 4; k++)
                count[k] += *p == cand[k];
    }
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (count[k] > count[best])
            best = k;
    return cand[best];
}

static void plan_free(reader *rd)
{
    for (size_t c = 0; c < rd->n_cols; c++)
        promo_free(rd->cols[c].name);
    promo_free(rd->cols);
    rd->cols = NULL;
    rd->n_cols = 0;
}

static int plan_add(reader *rd, const char *name, size_t field, promo_col_type type, int inferred)
{
    for (size_t c = 0; c < rd->n_cols; c++)
        if (strcmp(rd->cols[c].name, name) == 0)
            return promo_fail(PROMO_EINPUT, "%s:%llu: duplicate column '%s' in the header",
                              rd->name, (unsigned long long)rd->header_line, name);
    char *copy = promo_strdup(name);
    if (!copy)
        return PROMO_ENOMEM;
    rd->cols[rd->n_cols++] = (colplan){copy, field, type, inferred};
    return PROMO_OK;
}

/* Header names, or column_N / the caller's names when there is no header. */
static int header_names(reader *rd, const record *rec, char ***names_out)
{
    const promo_csv_options *o = rd->opt;
    char **names = promo_calloc(rec->nf, sizeof *names);
    if (!names)
        return PROMO_ENOMEM;
    *names_out = names;
    for (size_t i = 0; i < rec->nf; i++) {
        if (!o->has_header) {
            char buf[32];
            snprintf(buf, sizeof buf, "column_%zu", i + 1);
            names[i] = promo_strdup(o->field_names && i < o->n_field_names ? o->field_names[i]
                                    : o->columns && i < o->n_columns       ? o->columns[i].name
                                                                           : buf);
        } else {
            const fspan *f = &rec->f[i];
            char *t = promo_malloc((size_t)f->n + 1);
            if (!t)
                return PROMO_ENOMEM;
            size_t n = f->escaped ? unescape(f, t) : (memcpy(t, f->p, f->n), (size_t)f->n);
            size_t a = 0;
            while (a < n && (t[a] == ' ' || t[a] == '\t'))
                a++;
            while (n > a && (t[n - 1] == ' ' || t[n - 1] == '\t'))
                n--;
            memmove(t, t + a, n - a);
            t[n - a] = '\0';
            if (!t[0]) {
                promo_free(t);
                char buf[32];
                snprintf(buf, sizeof buf, "column_%zu", i + 1);
                t = promo_strdup(buf);
            }
            names[i] = t;
        }
        if (!names[i])
            return PROMO_ENOMEM;
    }
    return PROMO_OK;
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        promo_free(names[i]);
    promo_free(names);
}

static int build_plan(reader *rd, char **names, size_t nf)
{
    const promo_csv_options *o = rd->opt;
    rd->n_fields = nf;
    rd->cols = promo_calloc(nf + o->n_columns + 1, sizeof *rd->cols);
    if (!rd->cols)
        return PROMO_ENOMEM;
    uint8_t *used = promo_calloc(nf + 1, 1);
    if (!used)
        return PROMO_ENOMEM;
    int rc = PROMO_OK;
    for (size_t k = 0; o->columns && k < o->n_columns && !rc; k++) {
        const promo_csv_column *w = &o->columns[k];
        size_t hit = nf, n_hits = 0;
        for (size_t i = 0; i < nf; i++)
            if (strcmp(names[i], w->name) == 0) {
                if (!n_hits++)
                    hit = i;
            }
        if (n_hits > 1) {
            rc = promo_fail(PROMO_EINPUT, "%s:%llu: column '%s' appears %zu times in the header",
                            rd->name, (unsigned long long)rd->header_line, w->name, n_hits);
        } else if (!n_hits && w->required) {
            char list[1024];
            size_t at = 0;
            for (size_t i = 0; i < nf && at + 8 < sizeof list; i++) {
                int m = snprintf(list + at, sizeof list - at, "%s'%s'", i ? ", " : "", names[i]);
                at = m < 0 || (size_t)m >= sizeof list - at ? sizeof list : at + (size_t)m;
            }
            if (at >= sizeof list)
                memcpy(list + sizeof list - 5, "...", 4);
            rc =
                promo_fail(PROMO_EINPUT,
                           "%s:%llu: missing required column '%s' (the header has %zu columns: %s)",
                           rd->name, (unsigned long long)rd->header_line, w->name, nf, list);
        } else if (n_hits) {
            used[hit] = 1;
            rc = plan_add(rd, w->name, hit, w->type, 0);
        }
    }
    for (size_t i = 0; i < nf && !rc; i++)
        if (!used[i] && (!o->columns || o->keep_other_columns))
            rc = plan_add(rd, names[i], i, PROMO_COL_STRING, 1);
    promo_free(used);
    return rc;
}

static int check_options(const promo_csv_options *o)
{
    unsigned char d = (unsigned char)o->delimiter;
    if (d == '"' || d == '\n' || d == '\r' || d >= 0x80)
        return promo_fail(PROMO_EUSAGE, "csv: bad delimiter 0x%02x", d);
    if (o->n_threads < 0)
        return promo_fail(PROMO_EUSAGE, "csv: n_threads must be >= 0, got %d", o->n_threads);
    if ((unsigned)o->date_order >= PROMO_DATE_ORDER_COUNT)
        return promo_fail(PROMO_EUSAGE, "csv: bad date_order %d", (int)o->date_order);
    if (o->n_columns && !o->columns)
        return promo_fail(PROMO_EUSAGE, "csv: n_columns is %zu but columns is NULL", o->n_columns);
    for (size_t k = 0; o->columns && k < o->n_columns; k++) {
        if (!o->columns[k].name)
            return promo_fail(PROMO_EUSAGE, "csv: columns[%zu] has no name", k);
        if ((unsigned)o->columns[k].type >= PROMO_COL_TYPE_COUNT)
            return promo_fail(PROMO_EUSAGE, "csv: column '%s': bad type %d", o->columns[k].name,
                              (int)o->columns[k].type);
    }
    return PROMO_OK;
}

/* "dir/sales.2024.csv" -> "sales.2024" */
static char *table_name_of(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    return promo_strndup(n ? b : "csv", n ? n : 3);
}

/* ======================================================================================== */
/* The record walker (promo_csv_walker_*)                                                   */
/* ======================================================================================== */

struct promo_csv_walker {
    scanner sc;          /* the reader's scanner, same delimiter and field limit */
    const char *p, *end; /* next record, end of the buffer */
    uint64_t line;       /* 1-based line where the record at p starts */
    size_t n_first;      /* fields of the first record; 0 before it was walked */
    int first_done;      /* the first record was returned */
    record rec;          /* field buffer: room for n_first + 1 fields */
};

int promo_csv_walker_new(const char *data,
                         size_t n,
                         const promo_csv_options *opt,
                         promo_csv_walker **out)
{
    if (!out || (n && !data))
        return promo_fail(PROMO_EUSAGE, "promo_csv_walker_new: NULL argument");
    *out = NULL;
    if (!data)
        data = "";
    promo_csv_walker *w = promo_calloc(1, sizeof *w);
    if (!w)
        return PROMO_ENOMEM;
    w->end = data + n;
    w->p = first_record(data, w->end, &w->line);
    char delim = opt ? opt->delimiter : 0;
    size_t max_field = opt && opt->max_field_bytes ? opt->max_field_bytes : DEFAULT_MAX_FIELD;
    if (!delim)
        delim = w->p < w->end ? detect_delimiter(w->p, w->end) : ',';
    scanner_init(&w->sc, delim, max_field);
    if (w->p < w->end) {
        record probe = {0}; /* count the first record's fields, as the reader sizes its plan */
        scan_record(&w->sc, w->p, w->end, &probe);
        w->n_first = probe.nf;
    }
    w->rec.cap = w->n_first + 1;
    w->rec.f = promo_mallocn(w->rec.cap, sizeof *w->rec.f);
    if (!w->rec.f) {
        promo_free(w);
        return PROMO_ENOMEM;
    }
    *out = w;
    return PROMO_OK;
}

int promo_csv_walker_next(promo_csv_walker *w, promo_csv_record *rec)
{
    /* After the first record, a blank line is skipped unless there is one column (the
     * reader's rule in parse_chunk). */
    while (w->first_done && w->n_first > 1 && w->p < w->end) {
        const char *next = blank_line(w->p, w->end);
        if (!next)
            break;
        w->line += next[-1] == '\n';
        w->p = next;
    }
    if (w->p >= w->end)
        return 0;
    const char *start = w->p;
    w->p = scan_record(&w->sc, start, w->end, &w->rec);
    const char *te = text_end(start, w->p);
    rec->text = start;
    rec->n_text = (size_t)(te - start);
    rec->line = w->line;
    rec->n_lines = w->rec.lines;
    rec->n_fields = w->rec.nf;
    rec->n_stored = w->rec.nf < w->rec.cap ? w->rec.nf : w->rec.cap;
    rec->fields = w->rec.f;
    rec->problem = (promo_csv_problem)w->rec.err;
    rec->problem_field = w->rec.err ? w->rec.err_field : 0;
    rec->problem_offset = w->rec.err == E_UTF8 ? w->rec.err_at : 0;
    w->line += w->rec.lines;
    w->first_done = 1;
    return 1;
}

char promo_csv_walker_delimiter(const promo_csv_walker *w)
{
    return w->sc.delim;
}

void promo_csv_walker_free(promo_csv_walker *w)
{
    if (!w)
        return;
    promo_free(w->rec.f);
    promo_free(w);
}

size_t promo_csv_field_unescape(const promo_csv_field *f, char *dst)
{
    if (!f->escaped) {
        memcpy(dst, f->p, f->n);
        return f->n;
    }
    return unescape(f, dst);
}

/* ======================================================================================== */
/* The driver                                                                               */
/* ======================================================================================== */

/* One array per column (a slab) that every chunk writes its rows into: chunk k's
 * chunks[k].slab_rows rows from row chunks[k].slab_at on, so that the merge moves rows down
 * over the gaps, or nothing, instead of copying them into fresh memory. BOOL columns, and with
 * inferred_only the typed ones, get none (NULL). *slabs is set before any array is allocated,
 * so the caller frees what there is on failure; *rows is the slabs' length. */
static int make_slabs(const reader *rd,
                      chunk *chunks,
                      size_t n_chunks,
                      int inferred_only,
                      void ***slabs_out,
                      size_t *rows)
{
    *rows = 0;
    for (size_t k = 0; k < n_chunks; k++) {
        chunks[k].slab_at = *rows;
        *rows += chunks[k].slab_rows;
    }
    void **slabs = promo_calloc(rd->n_cols, sizeof *slabs);
    if (!(*slabs_out = slabs))
        return PROMO_ENOMEM;
    for (size_t c = 0; c < rd->n_cols; c++) {
        if ((inferred_only && !rd->cols[c].inferred) || rd->cols[c].type == PROMO_COL_BOOL)
            continue;
        if (!(slabs[c] = promo_mallocn(*rows ? *rows : 1, type_size(rd->cols[c].type))))
            return PROMO_ENOMEM;
    }
    for (size_t k = 0; k < n_chunks; k++)
        chunks[k].slabs = slabs;
    return PROMO_OK;
}

static int read_csv(const char *data,
                    size_t n,
                    const char *name,
                    const char *table_path,
                    const promo_csv_options *opt_in,
                    promo_table **out,
                    promo_csv_rejects **rejects)
{
    promo_csv_options o = opt_in ? *opt_in : promo_csv_options_default();
    int rc = check_options(&o);
    if (rc)
        return rc;
    if (!o.max_field_bytes)
        o.max_field_bytes = DEFAULT_MAX_FIELD;
    if (o.display_name)
        name = o.display_name;
    reader rd;
    memset(&rd, 0, sizeof rd);
    rd.name = name;
    rd.opt = &o;
    chunk *chunks = NULL;
    size_t n_chunks = 0;
    void **slabs = NULL; /* see the parse below */
    size_t slab_rows = 0;
    char **names = NULL;
    size_t n_names = 0;
    promo_table *t = NULL;
    promo_csv_rejects *rej = NULL;
    const char *end = data + n;
    rd.end = end;
    uint64_t line;
    const char *p = first_record(data, end, &line);
    if (p == end) {
        rc = promo_fail(PROMO_EINPUT, "%s: empty file (%s)", name,
                        n ? "only blank lines" : "0 bytes");
        goto done;
    }
    if (!o.delimiter)
        o.delimiter = detect_delimiter(p, end);
    scanner_init(&rd.sc, o.delimiter, o.max_field_bytes);

    /* The first record: count its fields, then scan it again into a buffer that fits. */
    record hrec = {0};
    scan_record(&rd.sc, p, end, &hrec);
    hrec.f = promo_mallocn(hrec.nf, sizeof *hrec.f);
    if (!hrec.f) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    hrec.cap = hrec.nf;
    const char *body = scan_record(&rd.sc, p, end, &hrec);
    if (hrec.err && o.has_header) {
        char reason[REASON_BYTES];
        rd.n_fields = hrec.nf;
        uint32_t col = record_reason(&rd, &hrec, reason, sizeof reason);
        promo_free(hrec.f);
        rc = promo_fail(PROMO_EINPUT, "%s:%llu:%u: header: %s", name, (unsigned long long)line, col,
                        reason);
        goto done;
    }
    n_names = hrec.nf;
    rd.header_line = line;
    rc = header_names(&rd, &hrec, &names);
    promo_free(hrec.f);
    if (rc)
        goto done;
    if (o.has_header) {
        line += hrec.lines;
        p = body;
    }
    rd.body_line = line;
    if ((rc = build_plan(&rd, names, n_names)))
        goto done;
    rd.all_typed = 1;
    for (size_t c = 0; c < rd.n_cols; c++)
        rd.all_typed &= !rd.cols[c].inferred;
    rd.runs_plain = rd.all_typed && rd.sc.fast != SIMD_OFF && rd.n_fields;
    for (size_t c = 0; c < rd.n_cols; c++)
        for (size_t c2 = 0; c2 < c; c2++)
            rd.runs_plain &= rd.cols[c2].field != rd.cols[c].field;

    /* Split the body: one chunk per thread when it is large enough. */
    size_t body_bytes = (size_t)(end - p);
    int nt = o.n_threads ? o.n_threads : omp_get_max_threads();
    size_t par_min = o.parallel_min_bytes ? o.parallel_min_bytes : DEFAULT_PAR_MIN;
    n_chunks = nt > 1 && body_bytes >= par_min ? (size_t)nt : 1;
    if (n_chunks > body_bytes)
        n_chunks = body_bytes ? body_bytes : 1;
    chunks = promo_calloc(n_chunks, sizeof *chunks);
    if (!chunks) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < n_chunks; k++) {
        const char *s = p + body_bytes / n_chunks * k;
        if (k) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            s = nl ? nl + 1 : end;
            if (s < chunks[k - 1].start)
                s = chunks[k - 1].start;
        }
        chunks[k].start = s;
        if (k)
            chunks[k - 1].limit = s;
    }
    chunks[n_chunks - 1].limit = end;

    /* With several chunks, each typed column gets one array (a slab) that every chunk writes
     * its rows into, at the room its estimate reserved: the merge then moves the rows of
     * chunk k > 0 down over the gaps instead of copying them into fresh memory (on 2 threads
     * that copy faulted in half of every column again). A chunk that outgrows its room, or is
     * parsed again, leaves the slab for arrays of its own. */
    if (n_chunks > 1 && rd.all_typed) {
        for (size_t k = 0; k < n_chunks; k++)
            chunks[k].slab_rows =
                rows_estimate(chunks[k].start, (size_t)(chunks[k].limit - chunks[k].start));
        if ((rc = make_slabs(&rd, chunks, n_chunks, 0, &slabs, &slab_rows)))
            goto done;
    }
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (n_chunks > 1)
    for (size_t k = 0; k < n_chunks; k++)
        parse_chunk(&rd, &chunks[k]);

    /* Verify the guesses: chunk k is right iff chunk k-1 stopped where it started. */
    size_t n_valid = n_chunks;
    for (size_t k = 1; k < n_chunks; k++) {
        if (chunks[k - 1].status) {
            n_valid = k;
            break;
        }
        if (chunks[k - 1].stop != chunks[k].start) {
            chunk_clear(&rd, &chunks[k]);
            chunks[k].start = chunks[k - 1].stop;
            if (chunks[k].limit < chunks[k].start)
                chunks[k].limit = chunks[k].start;
            parse_chunk(&rd, &chunks[k]);
        }
    }
    for (size_t k = 0; k < n_valid; k++) {
        chunk *ch = &chunks[k];
        if (ch->status == PROMO_ENOMEM) {
            rc = promo_fail(PROMO_ENOMEM, "%s", ch->err_msg);
            goto done;
        }
        if (ch->status) {
            uint64_t base = rd.body_line;
            for (size_t i = 0; i < k; i++)
                base += chunks[i].lines;
            rc = promo_fail(ch->status, "%s:%llu:%u: %s", name,
                            (unsigned long long)(base + ch->err_line), ch->err_col, ch->err_msg);
            goto done;
        }
    }

    /* Decide inferred types: what every value in every chunk can be. */
    for (size_t c = 0; c < rd.n_cols; c++) {
        colplan *cp = &rd.cols[c];
        if (!cp->inferred)
            continue;
        unsigned mask = M_ALL;
        int seen = 0;
        for (size_t k = 0; k < n_chunks; k++) {
            mask &= chunks[k].cols[c].mask;
            seen |= chunks[k].cols[c].seen;
        }
        cp->type = !seen              ? PROMO_COL_STRING
                   : (mask & M_INT)   ? PROMO_COL_INT64
                   : (mask & M_FLOAT) ? PROMO_COL_FLOAT64
                   : (mask & M_BOOL)  ? PROMO_COL_BOOL
                   : (mask & M_TS)    ? PROMO_COL_TIMESTAMP
                                      : PROMO_COL_STRING;
    }
    /* Inferred columns are converted straight into one array per column at each chunk's
     * exact row offset (the counts are known now): the merge then has nothing to move. */
    if (n_chunks > 1 && !rd.all_typed) {
        for (size_t k = 0; k < n_chunks; k++)
            chunks[k].slab_rows = chunks[k].n_rows;
        if ((rc = make_slabs(&rd, chunks, n_chunks, 1, &slabs, &slab_rows)))
            goto done;
    }
    int conv_rc = PROMO_OK;
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (n_chunks > 1)
    for (size_t k = 0; k < n_chunks; k++)
        for (size_t c = 0; c < rd.n_cols; c++)
            if (rd.cols[c].inferred && !chunks[k].status && convert_inferred(&rd, &chunks[k], c))
                break;
    for (size_t k = 0; k < n_chunks && !conv_rc; k++)
        if (chunks[k].status)
            conv_rc = promo_fail(chunks[k].status, "%s", chunks[k].err_msg);
    if ((rc = conv_rc))
        goto done;

    /* The table: columns are independent, so they are filled in parallel. */
    char *tname = table_name_of(table_path);
    if (!tname) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    t = promo_table_new(tname);
    promo_free(tname);
    if (!t) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    size_t total = 0;
    int in_place = slabs != NULL; /* every chunk's rows go at or below where they lie */
    for (size_t k = 0; k < n_chunks; k++) {
        total += chunks[k].n_rows;
        in_place &= total <= chunks[k].slab_at + chunks[k].slab_rows;
    }
    for (size_t c = 0; c < rd.n_cols && !rc; c++) {
        promo_column *col;
        rc = promo_table_add_column(t, rd.cols[c].name, rd.cols[c].type, &col);
        if (!rc)
            rc = promo_column_reserve(col, total ? total : 1);
    }
    if (rc)
        goto done;
    int merge_rc = PROMO_OK;
    char merge_msg[512] = "";
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (n_chunks > 1)
    for (size_t c = 0; c < rd.n_cols; c++) {
        const skey *last = NULL;
        /* The dictionary's table at its final size at once: growing it chunk by chunk
         * rehashes it and faults in every intermediate size (millions of order ids). */
        size_t nkeys = 0;
        for (size_t k = 0; rd.cols[c].type == PROMO_COL_STRING && k < n_chunks; k++)
            nkeys += chunks[k].cols[c].dict ? chunks[k].cols[c].dict->n : 0;
        int reserve_rc = nkeys > 1 ? promo_dict_reserve(t->cols[c]->dict, nkeys) : PROMO_OK;
        int col_in_place = in_place && slabs[c];
        if (col_in_place) { /* the slab becomes the column's array */
            promo_column *col = t->cols[c];
            void **dst = col->type == PROMO_COL_FLOAT64  ? (void **)&col->f64
                         : col->type == PROMO_COL_STRING ? (void **)&col->codes
                                                         : (void **)&col->i64;
            promo_free(*dst);
            *dst = slabs[c];
            col->cap = slab_rows;
            slabs[c] = NULL;
        }
        for (size_t k = 0; k < n_chunks; k++) {
            if (reserve_rc || merge_chunk(&rd, &chunks[k], c, t->cols[c], &last, col_in_place)) {
#pragma omp critical(promo_csv_merge)
                {
                    merge_rc = PROMO_ENOMEM;
                    snprintf(merge_msg, sizeof merge_msg, "%s", promo_last_error());
                }
                break;
            }
        }
    }
    if (merge_rc) {
        rc = promo_fail(merge_rc, "%s", merge_msg);
        goto done;
    }
    if ((rc = promo_table_seal(t)))
        goto done;

    if (rejects) {
        rej = promo_calloc(1, sizeof *rej);
        size_t n_rej = 0;
        for (size_t k = 0; k < n_chunks; k++)
            n_rej += chunks[k].rej.n;
        if (!rej || (n_rej && !(rej->items = promo_mallocn(n_rej, sizeof *rej->items)))) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        rej->cap = n_rej;
        uint64_t base = rd.body_line;
        for (size_t k = 0; k < n_chunks; k++) {
            chunk *ch = &chunks[k];
            for (size_t i = 0; i < ch->rej.n; i++) {
                rej->items[rej->n] = ch->rej.items[i];
                rej->items[rej->n++].line += base;
            }
            ch->rej.n = 0; /* moved */
            base += ch->lines;
        }
    }
done:
    for (size_t k = 0; chunks && k < n_chunks; k++)
        chunk_clear(&rd, &chunks[k]);
    for (size_t c = 0; slabs && c < rd.n_cols; c++)
        promo_free(slabs[c]);
    promo_free(slabs);
    promo_free(chunks);
    names_free(names, n_names);
    plan_free(&rd);
    if (rc) {
        promo_table_free(t);
        promo_csv_rejects_free(rej);
        return rc;
    }
    *out = t;
    if (rejects)
        *rejects = rej;
    return PROMO_OK;
}

int promo_csv_read_buffer(const char *data,
                          size_t n,
                          const char *name,
                          const promo_csv_options *opt,
                          promo_table **out,
                          promo_csv_rejects **rejects)
{
    if (out)
        *out = NULL;
    if (rejects)
        *rejects = NULL;
    if (!out || (!data && n))
        return promo_fail(PROMO_EUSAGE, "promo_csv_read_buffer: NULL argument");
    if (!name)
        name = "<buffer>";
    return read_csv(data ? data : "", n, name, name, opt, out, rejects);
}

int promo_csv_read(const char *path,
                   const promo_csv_options *opt,
                   promo_table **out,
                   promo_csv_rejects **rejects)
{
    if (out)
        *out = NULL;
    if (rejects)
        *rejects = NULL;
    if (!path || !out)
        return promo_fail(PROMO_EUSAGE, "promo_csv_read: NULL argument");
    /* Mapped (promo/infile.h): a file that shrinks meanwhile reads as zeros past its new end
     * and promo_infile_unmap says so, which outranks whatever the parse made of it. "-" and
     * FIFOs are read as streams on purpose; devices are refused before any blocking open. */
    const char *data = NULL;
    size_t n = 0;
    int rc = promo_infile_map(path, PROMO_INFILE_STREAM, &data, &n);
    if (rc)
        return rc;
    rc = read_csv(data, n, path, path, opt, out, rejects);
    int changed = promo_infile_unmap(data, n);
    if (changed && !rc) {
        promo_table_free(*out);
        *out = NULL;
        if (rejects) {
            promo_csv_rejects_free(*rejects);
            *rejects = NULL;
        }
    }
    return changed ? changed : rc;
}
