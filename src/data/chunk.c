/* Column chunks: the large canonical tables stored as typed column blobs inside promo.db
 * (layout in include/promo/store.h, "Chunked tables").
 *
 * A chunk is a row group of up to CHUNK_ROWS rows; each of its columns is one row of
 * promo_chunks__T holding statistics (rows, nulls, min/max, negatives) and a blob:
 *
 *   u8 'C', u8 promo type, u8 width, u8 flags (1: a null bitmap follows the header)
 *   u32 n (values), i64 base
 *   [(n + 7) / 8 bytes of null bitmap, bit set = null]
 *   n values of `width` bytes, little-endian
 *
 * Integers (int64, timestamp, bool, the dictionary codes of strings) are stored as the
 * offset from base = the chunk's minimum, in the fewest bytes of 0, 1, 2, 4, 8 that hold the
 * range (frame of reference): decoding is one add per value, with no branch, and a chunk of
 * codes under 65536 takes 2 bytes a value. A null's slot holds offset 0 and reads back as 0.
 * float64 is stored raw (width 8), NaN included as its bits, unless it is one of the two cases
 * below (scaled decimals, floats widened to double).
 *
 * Why not zstd/lz4 on top: measured in bench/RESULTS.md (## columnar workspace).
 *
 * The row id of a chunk's column is chunk * CHUNK_MAX_COLS + column, so one chunk is a rowid
 * range and one column of one chunk a rowid lookup. Dictionaries of STRING columns are rows
 * with negative ids, -(column + 1) * 2^32 + k for the k-th dictionary chunk: blobs of
 *
 *   u32 n, u32 offsets[n + 1] (into the bytes), the n keys back to back (no NUL)
 *
 * holding codes first_row .. first_row + n - 1 of the column.
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/store.h>

#include "data/store_internal.h"

enum { HDR = 16, F_NULLS = 1, F_SCALED = 2, F_F32 = 4 };

/* float64 chunks that are not scaled integers but whose every value is a float widened to
 * double (the customer features: computed as float, stored as REAL) are stored as the floats,
 * width 4 and flag F_F32: half the bytes, and (double)(float)x gives back every value bit for
 * bit (checked as written; NaN, which would not keep its payload, leaves the chunk raw; the
 * range test keeps the conversion of a finite double defined). */
static inline int is_f32(double v)
{
    return (isinf(v) || fabs(v) <= FLT_MAX) && (double)(float)v == v;
}

/* 2 if every slot of rows [r0, r0 + n) of p, nulls' included, is a float (one branch-free
 * pass: a null's slot is usually 0.0), 1 if every non-null one is, 0 if not. */
static int all_f32(const promo_column *p, size_t r0, size_t n)
{
    const double *f = p->f64 + r0;
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= is_f32(f[i]);
    if (ok || !p->nulls)
        return ok ? 2 : 0;
    for (size_t i = 0; i < n && ok; i++)
        ok = promo_column_is_null(p, r0 + i) || is_f32(f[i]);
    return ok;
}

/* Null bits of rows [r0 + 64 w, r0 + 64 w + 64) of p, r0 a multiple of 64 (chunks start at
 * multiples of CHUNK_ROWS), the rows from n on cleared: whole words instead of a bit test per
 * value (features_customers has a null bitmap in most of its 91 columns). p NULL (a column the
 * table lacks): every row null. */
static inline uint64_t null_word(const promo_column *p, size_t r0, size_t w, size_t n)
{
    size_t left = n - 64 * w;
    uint64_t rows = left < 64 ? ((uint64_t)1 << left) - 1 : ~(uint64_t)0;
    return p ? (p->nulls ? p->nulls[r0 / 64 + w] : 0) & rows : rows;
}

/* float64 chunks whose every value is a decimal with at most 4 places (prices in cents,
 * whole quantities, a constant discount) are stored as integers v * 10^k, frame of
 * reference like the integers, k in bits 4-6 of the flags: 1-4 bytes a value instead of 8.
 * Used only when (double)x / 10^k gives back every value bit for bit (checked as written);
 * decoding is the same expression. */
static const double P10[5] = {1, 10, 100, 1000, 10000};

/* llround(m) for |m| < 2^53 (the only case scaled_ints rounds), without the libm call: the
 * fraction m - trunc(m) is exact, and so is the step away from zero at one half. */
static inline int64_t round_half_away(double m)
{
    double t = trunc(m), f = m - t;
    t += f >= 0.5 ? 1.0 : f <= -0.5 ? -1.0 : 0.0;
    return (int64_t)t;
}

/* The smallest k for which every non-null value of rows [r0, r0 + n) of p survives
 * v -> llround(v * 10^k) -> / 10^k exactly, with the integers in tmp and their range (of the
 * non-null rows) in *mn, *mx; -1 if none. */
static int
scaled_ints(const promo_column *p, size_t r0, size_t n, int64_t *tmp, int64_t *mn, int64_t *mx)
{
    const double *f = p->f64 + r0;
    for (int k = 0; k < 5; k++) {
        size_t i = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (; i < n; i++) {
            if (p->nulls && promo_column_is_null(p, r0 + i)) {
                tmp[i] = 0;
                continue;
            }
            double v = f[i], m = v * P10[k];
            if (!(fabs(m) < 9007199254740992.0) || (v == 0 && signbit(v)))
                return -1; /* NaN, infinities, huge, -0.0: stored raw */
            int64_t x = round_half_away(m);
            if ((k ? (double)x / P10[k] : (double)x) != v)
                break;
            tmp[i] = x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        if (i == n) {
            *mn = lo;
            *mx = hi;
            return k;
        }
    }
    return -1;
}

static int64_t dict_id(size_t col, int64_t k)
{
    return -((int64_t)(col + 1) << 32) + k;
}

int store_chunked_name(const promo_store *s, const char *name)
{
    if (s->rows_layout)
        return 0;
    /* the four large canonical tables, the customer features (a derived table as wide as
     * ~90 columns x every customer: as rows its write cost a third of `promo features`), and
     * the generated world's truth per exposure and per customer (as rows, a quarter of
     * `promo generate`'s write: 7.7M and 1M rows at the benchmark's size) */
    return !strcmp(name, "transactions") || !strcmp(name, "events") || !strcmp(name, "exposures") ||
           !strcmp(name, "responses") || !strcmp(name, "features_customers") ||
           !strcmp(name, "truth_exposures") || !strcmp(name, "truth_customers");
}

int store_is_chunked(promo_store *s, const char *name)
{
    sbuf b = {0};
    store_sb_add(&b, CHUNK_PREFIX "%s", name);
    int yes = !b.failed && store_has_object(s, b.s, 0);
    promo_free(b.s);
    return yes;
}

static int prepare_on(promo_store *s, const char *table, const char *fmt, sqlite3_stmt **st)
{
    /* fmt has one %s: the quoted chunk table */
    sbuf q = {0};
    store_sb_add(&q, CHUNK_PREFIX "%s", table);
    sbuf b = {0};
    if (!q.failed) {
        sbuf id = {0};
        store_sb_ident(&id, q.s);
        if (!id.failed)
            store_sb_add(&b, fmt, id.s);
        else
            b.failed = 1;
        promo_free(id.s);
    } else {
        b.failed = 1;
    }
    promo_free(q.s);
    return store_sb_prepare(s, &b, "chunks", st);
}

int chunk_create(promo_store *s, const char *table)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table,
                        "CREATE TABLE %s (id INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, col "
                        "INTEGER NOT NULL, first_row INTEGER NOT NULL, n_rows INTEGER NOT NULL, "
                        "n_null INTEGER NOT NULL, min_v, max_v, n_neg INTEGER, data BLOB NOT NULL)",
                        &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? PROMO_OK : store_db_fail(s, rc, "create chunk table");
}

/* ---- encoding ---- */

static int width_for(uint64_t range)
{
    return range == 0 ? 0 : range < 256 ? 1 : range < 65536 ? 2 : range <= UINT32_MAX ? 4 : 8;
}

/* The integer value of row r of an integer-like column as stored. */
static inline int64_t int_at(const chunk_col *c, size_t r)
{
    const promo_column *p = c->src;
    switch (c->type) {
    case PROMO_COL_STRING:
        return c->remap ? c->remap[p->codes[r]] : p->codes[r];
    case PROMO_COL_BOOL:
        return p->b[r];
    default:
        return p->i64[r];
    }
}

typedef struct enc_stats {
    int64_t n_null, n_neg;
    int has_mm;
    int64_t imin, imax;
    double fmin, fmax;
} enc_stats;

/* Range of the stored integers of rows [r0, r0 + n) of a column without nulls: one loop per
 * source type, so that the type test is not paid per value. */
static void int_range(const chunk_col *c, size_t r0, size_t n, int64_t *mn_out, int64_t *mx_out)
{
    const promo_column *p = c->src;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
#define RANGE_LOOP(VAL)              \
    for (size_t i = 0; i < n; i++) { \
        int64_t v_ = (int64_t)(VAL); \
        mn = v_ < mn ? v_ : mn;      \
        mx = v_ > mx ? v_ : mx;      \
    }
    if (c->type == PROMO_COL_STRING && c->remap) {
        RANGE_LOOP(c->remap[p->codes[r0 + i]])
    } else if (c->type == PROMO_COL_STRING) {
        RANGE_LOOP(p->codes[r0 + i])
    } else if (c->type == PROMO_COL_BOOL) {
        RANGE_LOOP(p->b[r0 + i])
    } else {
        RANGE_LOOP(p->i64[r0 + i])
    }
#undef RANGE_LOOP
    *mn_out = mn;
    *mx_out = mx;
}

/* The n values VAL (an expression of i) less base into v, `width` bytes each. */
#define PACK_T(T, VAL)                                         \
    for (size_t i = 0; i < n; i++) {                           \
        T x_ = (T)((uint64_t)(int64_t)(VAL) - (uint64_t)base); \
        memcpy(v + sizeof(T) * i, &x_, sizeof(T));             \
    }
#define PACK(VAL)                    \
    switch (width) {                 \
    case 1:                          \
        PACK_T(uint8_t, VAL) break;  \
    case 2:                          \
        PACK_T(uint16_t, VAL) break; \
    case 4:                          \
        PACK_T(uint32_t, VAL) break; \
    default:                         \
        PACK_T(uint64_t, VAL)        \
    }

/* Values of rows [r0, r0 + n) of a column without nulls (tmp: the scaled integers of a
 * float64 column, else NULL) into v. */
static void pack_values(const chunk_col *c,
                        size_t r0,
                        size_t n,
                        const int64_t *tmp,
                        int64_t base,
                        int width,
                        uint8_t *v)
{
    const promo_column *p = c->src;
    if (tmp) {
        PACK(tmp[i])
    } else if (c->type == PROMO_COL_STRING && c->remap) {
        PACK(c->remap[p->codes[r0 + i]])
    } else if (c->type == PROMO_COL_STRING) {
        PACK(p->codes[r0 + i])
    } else if (c->type == PROMO_COL_BOOL) {
        PACK(p->b[r0 + i])
    } else {
        PACK(p->i64[r0 + i])
    }
}
#undef PACK
#undef PACK_T

/* Encode rows [r0, r0 + n) of c into buf (grown as needed), r0 a multiple of 64 (a chunk's first
 * row); *len its size. tmp/tmp_cap: the caller's scratch for the scaled integers of float64
 * chunks (grown as needed, reused). */
static int encode(const chunk_col *c,
                  size_t r0,
                  size_t n,
                  uint8_t **buf,
                  size_t *cap,
                  size_t *len,
                  int64_t **tmp_buf,
                  size_t *tmp_cap,
                  enc_stats *es)
{
    memset(es, 0, sizeof *es);
    const promo_column *p = c->src;
    PROMO_ASSERT(r0 % 64 == 0); /* null bits are read a word at a time */
    int has_nulls = !p || p->n_null > 0;
    for (size_t w = 0; has_nulls && w < (n + 63) / 64; w++)
        es->n_null += __builtin_popcountll(null_word(p, r0, w, n));
    int isf = c->type == PROMO_COL_FLOAT64;
    int64_t base = 0;
    int width = 8, scale = -1, f32_slots = 0;
    int64_t *tmp = NULL;
    if (isf && p && n) {
        if (n * sizeof **tmp_buf > *tmp_cap &&
            promo_grow((void **)tmp_buf, tmp_cap, n * sizeof **tmp_buf, 1))
            return PROMO_ENOMEM;
        tmp = *tmp_buf;
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        if ((scale = scaled_ints(p, r0, n, tmp, &mn, &mx)) >= 0) {
            base = mn <= mx ? mn : 0;
            width = mn <= mx ? width_for((uint64_t)mx - (uint64_t)mn) : 0;
        } else if ((f32_slots = all_f32(p, r0, n)) != 0) {
            width = 4;
        }
    }
    if (!isf && p) {
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        if (!has_nulls) {
            int_range(c, r0, n, &mn, &mx);
        } else {
            for (size_t i = 0; i < n; i++) {
                if (promo_column_is_null(p, r0 + i))
                    continue;
                int64_t v = int_at(c, r0 + i);
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        }
        if (mn <= mx) {
            es->has_mm = 1;
            es->imin = mn;
            es->imax = mx;
            base = mn;
            width = width_for((uint64_t)mx - (uint64_t)mn);
        } else {
            width = 0;
        }
    } else if (!isf) {
        width = 0;
    } else if (p) {
        double mn = INFINITY, mx = -INFINITY;
        int64_t neg = 0;
        const double *f = p->f64 + r0;
        if (!has_nulls) {
            for (size_t i = 0; i < n; i++) {
                double v = f[i];
                neg += v < 0;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        } else {
            for (size_t w = 0; w < (n + 63) / 64; w++) {
                uint64_t m = null_word(p, r0, w, n);
                size_t i1 = n - 64 * w < 64 ? n : 64 * w + 64;
                for (size_t i = 64 * w; i < i1; i++) {
                    if (m >> (i & 63) & 1)
                        continue;
                    double v = f[i];
                    neg += v < 0;
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                }
            }
        }
        es->n_neg = neg;
        if (mn <= mx) {
            es->has_mm = 1;
            es->fmin = mn;
            es->fmax = mx;
        }
    }
    int nulls_in = es->n_null > 0;
    size_t need = HDR + (nulls_in ? (n + 7) / 8 : 0) + n * (size_t)width;
    if (need > *cap && promo_grow((void **)buf, cap, need, 1))
        return PROMO_ENOMEM;
    uint8_t *b = *buf;
    b[0] = 'C';
    b[1] = (uint8_t)c->type;
    b[2] = (uint8_t)width;
    int f32 = isf && scale < 0 && width == 4;
    b[3] = (uint8_t)((nulls_in ? F_NULLS : 0) | (scale >= 0 ? F_SCALED | scale << 4 : 0) |
                     (f32 ? F_F32 : 0));
    uint32_t n32 = (uint32_t)n;
    memcpy(b + 4, &n32, 4);
    memcpy(b + 8, &base, 8);
    uint8_t *v = b + HDR;
    if (nulls_in) {
        /* bit i of byte i / 8 is row i: the words' bytes in little-endian order */
        for (size_t w = 0; w < (n + 63) / 64; w++) {
            uint64_t m = null_word(p, r0, w, n);
            for (size_t b8 = 0; b8 < 8 && 8 * w + b8 < (n + 7) / 8; b8++)
                v[8 * w + b8] = (uint8_t)(m >> (8 * b8));
        }
        v += (n + 7) / 8;
    }
    if (f32 && f32_slots == 2) {
        /* every slot converts: all of them, then the nulls' slots zeroed */
        const double *f = p->f64 + r0;
        for (size_t i = 0; i < n; i++) {
            float x = (float)f[i];
            memcpy(v + 4 * i, &x, 4);
        }
        for (size_t w = 0; nulls_in && w < (n + 63) / 64; w++)
            for (uint64_t m = null_word(p, r0, w, n); m; m &= m - 1)
                memset(v + 4 * (64 * w + (size_t)__builtin_ctzll(m)), 0, 4);
    } else if (f32) {
        for (size_t i = 0; i < n; i++) {
            float x = !nulls_in || !promo_column_is_null(p, r0 + i) ? (float)p->f64[r0 + i] : 0.0f;
            memcpy(v + 4 * i, &x, 4);
        }
    } else if (isf && scale < 0) {
        if (!nulls_in) {
            memcpy(v, p->f64 + r0, n * 8);
        } else {
            for (size_t i = 0; i < n; i++) {
                double d = !p || promo_column_is_null(p, r0 + i) ? 0.0 : p->f64[r0 + i];
                memcpy(v + 8 * i, &d, 8);
            }
        }
    } else if (width && !nulls_in) {
        pack_values(c, r0, n, isf ? tmp : NULL, base, width, v);
    } else if (width) {
        for (size_t i = 0; i < n; i++) {
            uint64_t d = nulls_in && promo_column_is_null(p, r0 + i)
                             ? 0
                             : (uint64_t)(isf ? tmp[i] : int_at(c, r0 + i)) - (uint64_t)base;
            switch (width) {
            case 1:
                v[i] = (uint8_t)d;
                break;
            case 2: {
                uint16_t x = (uint16_t)d;
                memcpy(v + 2 * i, &x, 2);
                break;
            }
            case 4: {
                uint32_t x = (uint32_t)d;
                memcpy(v + 4 * i, &x, 4);
                break;
            }
            default:
                memcpy(v + 8 * i, &d, 8);
            }
        }
    }
    *len = need;
    return PROMO_OK;
}

/* PROMO_KILL_AT=chunk:N: die after N chunks of rows were written (inside the SQL
 * transaction: the next open must find the old table), for tests and soak runs. */
static void chunk_kill_point(int64_t written)
{
    const char *k = getenv("PROMO_KILL_AT");
    if (k && !strncmp(k, "chunk:", 6) && atoll(k + 6) == written)
        raise(SIGKILL);
}

static const char *INSERT_SQL = "INSERT INTO %s (id, chunk, col, first_row, n_rows, n_null, min_v, "
                                "max_v, n_neg, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Chunks encoded together before they are inserted. The items of one batch are inserted (one
 * thread: SQLite) while every other thread encodes the next batch, and the inserting thread
 * joins them when it is done: the encoding, most of the write's CPU, overlaps the inserts
 * and the page-cache writes behind them instead of alternating with them.
 *
 * An item is one column of one chunk, numbered k = chunk * n_cols + column in the order they
 * are inserted; a batch is a run of items: WRITE_BATCH whole chunks of a narrow table, and
 * WIDE_ITEMS items of a wide one (features_customers: 94 columns), which may end inside a
 * chunk. Why not whole chunks there: each item's buffer is written once per batch it is used
 * in, and fresh memory costs a host fault per page on this VM (bench/RESULTS.md, fe15): two
 * banks of 94 blobs of 256 KiB were 48 MB faulted in for a table of 60 MB, 2 x 24 are 12 MB
 * reused four times. */
enum { WRITE_BATCH = 8, WRITE_ITEMS = 96, WIDE_ITEMS = 24 };

typedef struct enc_item {
    uint8_t *buf;
    size_t cap, len;
    int64_t *tmp; /* scaled integers of float64 chunks (encode's scratch) */
    size_t tmp_cap;
    double *xs; /* a column given as floats (chunk_col.x32): its chunk widened, and nulls */
    uint64_t *xn;
    size_t xs_cap, xn_cap;
    enc_stats es;
    int rc;
} enc_item;

/* Rows [rr, rr + n) of a column given as floats (x32, stride), widened into e's scratch as a
 * FLOAT64 column of n rows (a NaN a null with 0.0 in its slot, as the customer features'
 * table has it): then encoded as any column. The scratch is reused from batch to batch, so
 * the table's 8-byte values never exist whole (144 MB at 200k customers x 91 features). */
static int widen_floats(const chunk_col *c, size_t rr, size_t n, enc_item *e, promo_column *out)
{
    size_t nw = (n + 63) / 64;
    if ((n * sizeof *e->xs > e->xs_cap && promo_grow((void **)&e->xs, &e->xs_cap, n * 8, 1)) ||
        (nw * 8 > e->xn_cap && promo_grow((void **)&e->xn, &e->xn_cap, nw * 8, 1)))
        return PROMO_ENOMEM;
    size_t nn = 0;
    for (size_t w = 0; w < nw; w++) {
        uint64_t m = 0;
        size_t i1 = n - 64 * w < 64 ? n : 64 * w + 64;
        for (size_t i = 64 * w; i < i1; i++) {
            double v = c->x32[(rr + i) * c->x_stride];
            int isn = isnan(v);
            m |= (uint64_t)isn << (i & 63);
            e->xs[i] = isn ? 0.0 : v;
        }
        e->xn[w] = m;
        nn += (size_t)__builtin_popcountll(m);
    }
    *out = (promo_column){.type = PROMO_COL_FLOAT64,
                          .n = n,
                          .cap = n,
                          .f64 = e->xs,
                          .nulls = nn ? e->xn : NULL,
                          .n_null = nn};
    return PROMO_OK;
}

/* What the encoders of one batch share: its first item k0 and item count, and the next item to
 * take. */
typedef struct enc_batch {
    enc_item *items;
    size_t k0, n_items;
    size_t next;
} enc_batch;

/* rows of item k: its chunk's first row and count */
static size_t item_rows(size_t k, size_t n_cols, size_t n_rows, size_t *rr)
{
    *rr = k / n_cols * CHUNK_ROWS;
    return n_rows - *rr < CHUNK_ROWS ? n_rows - *rr : CHUNK_ROWS;
}

static void encode_items(const chunk_col *c, size_t n_cols, size_t n_rows, enc_batch *eb)
{
    for (;;) {
        size_t it;
#pragma omp atomic capture
        it = eb->next++;
        if (it >= eb->n_items)
            break;
        size_t k = eb->k0 + it, rr, n = item_rows(k, n_cols, n_rows, &rr);
        enc_item *e = &eb->items[it];
        const chunk_col *cc = &c[k % n_cols];
        promo_column wide;
        chunk_col wc;
        if (cc->x32) {
            if ((e->rc = widen_floats(cc, rr, n, e, &wide)))
                continue;
            wc = (chunk_col){&wide, PROMO_COL_FLOAT64, NULL, NULL, 0};
            cc = &wc;
            rr = 0;
        }
        e->rc = encode(cc, rr, n, &e->buf, &e->cap, &e->len, &e->tmp, &e->tmp_cap, &e->es);
    }
}

/* Insert the encoded items of batch eb (chunks numbered from first_chunk, rows from
 * first_row). */
static int insert_items(promo_store *s,
                        sqlite3_stmt *st,
                        const chunk_col *c,
                        size_t n_cols,
                        size_t n_rows,
                        const enc_batch *eb,
                        int64_t first_chunk,
                        int64_t first_row,
                        promo_progress *prog)
{
    int rc = PROMO_OK;
    for (size_t it = 0; it < eb->n_items && !rc; it++) {
        size_t k = eb->k0 + it, j = k % n_cols, rr, n = item_rows(k, n_cols, n_rows, &rr);
        int64_t chunk = first_chunk + (int64_t)(k / n_cols);
        const enc_item *e = &eb->items[it];
        if ((rc = e->rc))
            break;
        sqlite3_bind_int64(st, 1, chunk * CHUNK_MAX_COLS + (int64_t)j);
        sqlite3_bind_int64(st, 2, chunk);
        sqlite3_bind_int64(st, 3, (int64_t)j);
        sqlite3_bind_int64(st, 4, first_row + (int64_t)rr);
        sqlite3_bind_int64(st, 5, (int64_t)n);
        sqlite3_bind_int64(st, 6, e->es.n_null);
        if (!e->es.has_mm) {
            sqlite3_bind_null(st, 7);
            sqlite3_bind_null(st, 8);
        } else if (c[j].type == PROMO_COL_FLOAT64) {
            /* NaN is not a value SQLite keeps: no bound then (NULL) */
            sqlite3_bind_double(st, 7, e->es.fmin);
            sqlite3_bind_double(st, 8, e->es.fmax);
        } else {
            sqlite3_bind_int64(st, 7, e->es.imin);
            sqlite3_bind_int64(st, 8, e->es.imax);
        }
        if (c[j].type == PROMO_COL_FLOAT64)
            sqlite3_bind_int64(st, 9, e->es.n_neg);
        else
            sqlite3_bind_null(st, 9);
        sqlite3_bind_blob(st, 10, e->buf, (int)e->len, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            rc = store_db_fail(s, src, "write chunk");
        if (!rc && j == n_cols - 1) { /* a chunk's last column: the chunk is written */
            if (prog)
                promo_progress_update(prog, rr + n);
            chunk_kill_point((int64_t)(k / n_cols) + 1);
        }
    }
    return rc;
}

int chunk_write_rows(promo_store *s,
                     const char *table,
                     const chunk_col *c,
                     size_t n_cols,
                     size_t n_rows,
                     int64_t first_chunk,
                     int64_t first_row,
                     promo_progress *prog)
{
    if (n_cols > CHUNK_MAX_COLS)
        return promo_fail(PROMO_EUSAGE, "table '%s': more than %d columns", table, CHUNK_MAX_COLS);
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table, INSERT_SQL, &st);
    size_t per_bank =
        n_cols && n_cols <= WRITE_ITEMS / WRITE_BATCH ? WRITE_BATCH * n_cols : WIDE_ITEMS;
    size_t n_total = n_cols ? (n_rows + CHUNK_ROWS - 1) / CHUNK_ROWS * n_cols : 0;
    enc_item *items = promo_calloc(2 * per_bank, sizeof *items);
    if (!rc && !items)
        rc = PROMO_ENOMEM;
    int nt = omp_get_max_threads();
    /* batch i lives in bank i % 2 */
    enc_batch cur = {items, 0, 0, 0};
    if (!rc && n_total) {
        cur.n_items = n_total < per_bank ? n_total : per_bank;
#pragma omp parallel num_threads(nt) if (nt > 1 && cur.n_items > 1)
        encode_items(c, n_cols, n_rows, &cur);
    }
    for (size_t bank = 0; !rc && cur.k0 < n_total; bank ^= 1) {
        enc_batch next = {items + (bank ^ 1) * per_bank, cur.k0 + cur.n_items, 0, 0};
        if (next.k0 < n_total)
            next.n_items = n_total - next.k0 < per_bank ? n_total - next.k0 : per_bank;
        int irc = PROMO_OK;
        /* the calling thread inserts (SQLite) and then encodes; the others encode */
#pragma omp parallel num_threads(nt) if (nt > 1 && next.n_items > 0)
        {
            if (omp_get_thread_num() == 0)
                irc = insert_items(s, st, c, n_cols, n_rows, &cur, first_chunk, first_row, prog);
            encode_items(c, n_cols, n_rows, &next);
        }
        rc = irc;
        cur = next;
    }
    sqlite3_finalize(st);
    for (size_t it = 0; items && it < 2 * per_bank; it++) {
        promo_free(items[it].buf);
        promo_free(items[it].tmp);
        promo_free(items[it].xs);
        promo_free(items[it].xn);
    }
    promo_free(items);
    return rc;
}

int chunk_write_dict(promo_store *s,
                     const char *table,
                     size_t col,
                     const promo_dict *d,
                     const uint32_t *entry,
                     size_t n,
                     int64_t first_code)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table, INSERT_SQL, &st);
    uint8_t *buf = NULL;
    size_t cap = 0;
    /* continue the numbering of the column's dictionary chunks */
    int64_t k0 = 0;
    if (!rc && first_code > 0) {
        sqlite3_stmt *q = NULL;
        if (!(rc = prepare_on(s, table, "SELECT count(*) FROM %s WHERE id >= ? AND id < ?", &q))) {
            sqlite3_bind_int64(q, 1, dict_id(col, 0));
            sqlite3_bind_int64(q, 2, dict_id(col, 0) + ((int64_t)1 << 32));
            if (sqlite3_step(q) == SQLITE_ROW)
                k0 = sqlite3_column_int64(q, 0);
            else
                rc = store_db_fail(s, sqlite3_errcode(s->db), "dictionary chunks");
        }
        sqlite3_finalize(q);
    }
    for (size_t e0 = 0, k = 0; !rc && e0 < n; e0 += CHUNK_DICT_ENTRIES, k++) {
        size_t m = n - e0 < CHUNK_DICT_ENTRIES ? n - e0 : CHUNK_DICT_ENTRIES;
        size_t bytes = 0;
        for (size_t i = 0; i < m; i++)
            bytes += promo_dict_key_len(d, entry ? entry[e0 + i] : (uint32_t)(e0 + i));
        size_t need = 4 + 4 * (m + 1) + bytes;
        if (need > INT32_MAX) {
            rc = promo_fail(PROMO_EUSAGE, "table '%s': dictionary keys too long", table);
            break;
        }
        if (need > cap && promo_grow((void **)&buf, &cap, need, 1)) {
            rc = PROMO_ENOMEM;
            break;
        }
        uint32_t m32 = (uint32_t)m, o = 0;
        memcpy(buf, &m32, 4);
        uint8_t *keys = buf + 4 + 4 * (m + 1);
        for (size_t i = 0; i < m; i++) {
            uint32_t code = entry ? entry[e0 + i] : (uint32_t)(e0 + i);
            size_t len = promo_dict_key_len(d, code);
            memcpy(buf + 4 + 4 * i, &o, 4);
            memcpy(keys + o, promo_dict_key(d, code), len);
            o += (uint32_t)len;
        }
        memcpy(buf + 4 + 4 * m, &o, 4);
        sqlite3_bind_int64(st, 1, dict_id(col, k0 + (int64_t)k));
        sqlite3_bind_int64(st, 2, -1);
        sqlite3_bind_int64(st, 3, (int64_t)col);
        sqlite3_bind_int64(st, 4, first_code + (int64_t)e0);
        sqlite3_bind_int64(st, 5, (int64_t)m);
        sqlite3_bind_int64(st, 6, 0);
        sqlite3_bind_null(st, 7);
        sqlite3_bind_null(st, 8);
        sqlite3_bind_null(st, 9);
        sqlite3_bind_blob(st, 10, buf, (int)need, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            rc = store_db_fail(s, src, "write dictionary chunk");
    }
    sqlite3_finalize(st);
    promo_free(buf);
    return rc;
}

/* ---- decoding ---- */

typedef struct blob_view {
    int type, width, has_nulls, scale; /* scale: -1 raw float64 (width 8) or floats (width 4,
                                        * F_F32), else 10^scale ints */
    uint32_t n;
    int64_t base;
    const uint8_t *nulls; /* bitmap bytes or NULL */
    const uint8_t *v;     /* values */
} blob_view;

static int parse_blob(const void *blob, size_t len, blob_view *bv)
{
    const uint8_t *b = blob;
    if (!b || len < HDR || b[0] != 'C')
        return -1;
    bv->type = b[1];
    bv->width = b[2];
    bv->has_nulls = b[3] & F_NULLS;
    bv->scale = b[3] & F_SCALED ? (b[3] >> 4 & 7) : -1;
    int f32 = b[3] & F_F32;
    if (bv->scale > 4 || (bv->scale >= 0 && bv->type != PROMO_COL_FLOAT64) ||
        (f32 && (bv->type != PROMO_COL_FLOAT64 || bv->scale >= 0 || bv->width != 4)) ||
        (bv->type == PROMO_COL_FLOAT64 && bv->scale < 0 && bv->width != (f32 ? 4 : 8)))
        return -1;
    memcpy(&bv->n, b + 4, 4);
    memcpy(&bv->base, b + 8, 8);
    if (bv->width != 0 && bv->width != 1 && bv->width != 2 && bv->width != 4 && bv->width != 8)
        return -1;
    size_t nb = bv->has_nulls ? ((size_t)bv->n + 7) / 8 : 0;
    if (len != HDR + nb + (size_t)bv->n * (size_t)bv->width)
        return -1;
    bv->nulls = bv->has_nulls ? b + HDR : NULL;
    bv->v = b + HDR + nb;
    return 0;
}

/* Loads through memcpy: a blob in SQLite's page buffer has no alignment (x86 loads it all the
 * same, and the compiler turns these into plain moves). */
static inline uint16_t ld16(const uint8_t *p)
{
    uint16_t x;
    memcpy(&x, p, 2);
    return x;
}

static inline uint32_t ld32(const uint8_t *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}

static inline float ldf32(const uint8_t *p)
{
    float x;
    memcpy(&x, p, 4);
    return x;
}

static inline uint64_t raw_at(const blob_view *bv, size_t i)
{
    switch (bv->width) {
    case 0:
        return 0;
    case 1:
        return bv->v[i];
    case 2: {
        uint16_t x;
        memcpy(&x, bv->v + 2 * i, 2);
        return x;
    }
    case 4: {
        uint32_t x;
        memcpy(&x, bv->v + 4 * i, 4);
        return x;
    }
    default: {
        uint64_t x;
        memcpy(&x, bv->v + 8 * i, 8);
        return x;
    }
    }
}

static inline int null_at(const blob_view *bv, size_t i)
{
    return bv->nulls && (bv->nulls[i >> 3] >> (i & 7) & 1);
}

/* Decode the values of bv into dst (elements of `esize` bytes: 8 int64/double, 4 codes, 1 bool)
 * keeping the rows where keep[i] (keep NULL: all). Null slots are 0. Returns rows written. The
 * loops are per width so that the common case compiles to a tight add-and-store loop. */
#define DECODE_LOOP(T, RAW)                                             \
    do {                                                                \
        T *d = dst;                                                     \
        if (!keep) {                                                    \
            for (size_t i = 0; i < n; i++)                              \
                d[i] = (T)((uint64_t)bv->base + (uint64_t)(RAW));       \
            o = n;                                                      \
        } else {                                                        \
            for (size_t i = 0; i < n; i++)                              \
                if (keep[i])                                            \
                    d[o++] = (T)((uint64_t)bv->base + (uint64_t)(RAW)); \
        }                                                               \
    } while (0)

static size_t decode_ints(const blob_view *bv, void *dst, int esize, const uint8_t *keep)
{
    size_t n = bv->n, o = 0;
    const uint8_t *v = bv->v;
#define BY_WIDTH(T)                      \
    switch (bv->width) {                 \
    case 0:                              \
        DECODE_LOOP(T, 0);               \
        break;                           \
    case 1:                              \
        DECODE_LOOP(T, v[i]);            \
        break;                           \
    case 2:                              \
        DECODE_LOOP(T, ld16(v + 2 * i)); \
        break;                           \
    case 4:                              \
        DECODE_LOOP(T, ld32(v + 4 * i)); \
        break;                           \
    default:                             \
        DECODE_LOOP(T, raw_at(bv, i));   \
    }
    if (esize == 8) {
        BY_WIDTH(int64_t)
    } else if (esize == 4) {
        BY_WIDTH(uint32_t)
    } else {
        BY_WIDTH(uint8_t)
    }
#undef BY_WIDTH
    return o;
}

/* float64 values of bv into dst (keep as decode_ints): raw, or scaled integers. */
static size_t decode_floats(const blob_view *bv, double *dst, const uint8_t *keep)
{
    size_t n = bv->n, o = 0;
    if (bv->scale < 0 && bv->width == 4) {
        for (size_t i = 0; i < n; i++)
            if (!keep || keep[i])
                dst[o++] = (double)ldf32(bv->v + 4 * i);
        return o;
    }
    if (bv->scale < 0) {
        if (!keep) {
            memcpy(dst, bv->v, n * 8);
            return n;
        }
        for (size_t i = 0; i < n; i++)
            if (keep[i])
                memcpy(dst + o++, bv->v + 8 * i, 8);
        return o;
    }
    double div = P10[bv->scale];
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep[i])
            continue;
        int64_t x = (int64_t)((uint64_t)bv->base + raw_at(bv, i));
        dst[o++] = bv->scale ? (double)x / div : (double)x;
    }
    return o;
}

int chunk_decode_blob(const void *blob,
                      size_t len,
                      size_t n,
                      promo_col_type type,
                      int64_t *i64,
                      double *f64,
                      uint64_t *nulls,
                      int *has_nulls)
{
    blob_view bv;
    if (parse_blob(blob, len, &bv) || bv.n != n || bv.type != (int)type)
        return -1;
    if (type == PROMO_COL_FLOAT64) {
        decode_floats(&bv, f64, NULL);
    } else {
        for (size_t i = 0; i < n; i++)
            i64[i] = (int64_t)((uint64_t)bv.base + raw_at(&bv, i));
    }
    *has_nulls = bv.has_nulls;
    if (bv.has_nulls) {
        memset(nulls, 0, (n + 63) / 64 * 8);
        for (size_t i = 0; i < n; i++)
            if (null_at(&bv, i)) {
                nulls[i >> 6] |= (uint64_t)1 << (i & 63);
                if (type == PROMO_COL_FLOAT64)
                    f64[i] = 0;
                else
                    i64[i] = 0;
            }
    }
    return 0;
}

int chunk_dict_blob(
    const void *blob, size_t len, uint32_t *n, const uint8_t **off, const char **bytes)
{
    const uint8_t *b = blob;
    if (!b || len < 8)
        return -1;
    uint32_t m;
    memcpy(&m, b, 4);
    if ((size_t)m + 1 > (len - 4) / 4)
        return -1;
    const uint8_t *o = b + 4;
    size_t kb = len - 4 - 4 * ((size_t)m + 1);
    if (chunk_u32(o, 0) != 0 || chunk_u32(o, m) != kb)
        return -1;
    for (uint32_t i = 0; i < m; i++)
        if (chunk_u32(o, i) > chunk_u32(o, i + 1))
            return -1;
    *n = m;
    *off = o;
    *bytes = (const char *)(b + 4 + 4 * ((size_t)m + 1));
    return 0;
}

/* ---- reading ---- */

int chunk_extent(promo_store *s,
                 const char *table,
                 int64_t *n_rows,
                 int64_t *n_chunks,
                 int64_t *dict_size,
                 size_t n_cols)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table,
                        "SELECT coalesce(sum(n_rows), 0), coalesce(max(chunk) + 1, 0) FROM %s "
                        "WHERE id >= 0 AND col = 0",
                        &st);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *n_rows = sqlite3_column_int64(st, 0);
        *n_chunks = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_ROW)
        return store_db_fail(s, src, "chunk extent");
    for (size_t j = 0; dict_size && j < n_cols && !rc; j++)
        rc = chunk_dict_size(s, table, j, &dict_size[j]);
    return rc;
}

int chunk_dict_size(promo_store *s, const char *table, size_t col, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table,
                        "SELECT coalesce(sum(n_rows), 0) FROM %s WHERE id >= ? AND id < ?", &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, dict_id(col, 0));
    sqlite3_bind_int64(st, 2, dict_id(col, 0) + ((int64_t)1 << 32));
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return src == SQLITE_ROW ? PROMO_OK : store_db_fail(s, src, "dictionary size");
}

typedef struct key_src {
    const char *bytes;
    const uint32_t *off;
} key_src;

static size_t key_of(void *ctx, size_t k, char *buf)
{
    const key_src *ks = ctx;
    size_t len = ks->off[k + 1] - ks->off[k];
    memcpy(buf, ks->bytes + ks->off[k], len);
    return len;
}

static int damaged(promo_store *s, const char *table, size_t col, const char *what)
{
    return promo_fail(PROMO_EINPUT, "%s/%s: table '%s', column %zu: %s", s->ws_dir, DB_NAME, table,
                      col + 1, what);
}

/* A dictionary's keys as read from its chunks, before its hash index is built: reading needs
 * the SQLite connection (one thread), building does not (it runs beside the decoding). */
typedef struct dict_keys {
    char *bytes;
    uint32_t *off; /* nk + 1 offsets into bytes */
    size_t nk;
    int long_key; /* a key longer than append_distinct takes */
} dict_keys;

static void dict_keys_free(dict_keys *dk)
{
    promo_free(dk->bytes);
    promo_free(dk->off);
    memset(dk, 0, sizeof *dk);
}

static int dict_load(promo_store *s, const char *table, size_t col, dict_keys *dk)
{
    memset(dk, 0, sizeof *dk);
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table,
                        "SELECT first_row, data FROM %s WHERE id >= ? AND id < ? ORDER BY id", &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, dict_id(col, 0));
    sqlite3_bind_int64(st, 2, dict_id(col, 0) + ((int64_t)1 << 32));
    /* All keys into one block, then one bulk build of the hash index; both arrays at their
     * final size from the chunks' lengths (length() of a blob reads no overflow page), so
     * that growing them copies nothing (3.7M order ids: 60 MB of doubling copies and fresh
     * pages otherwise). */
    size_t nb = 0, bcap = 0, ocap = 0;
    int src;
    sqlite3_stmt *sz = NULL;
    if (!(rc = prepare_on(s, table,
                          "SELECT coalesce(sum(length(data)), 0), coalesce(sum(n_rows), 0) FROM %s "
                          "WHERE id >= ? AND id < ?",
                          &sz))) {
        sqlite3_bind_int64(sz, 1, dict_id(col, 0));
        sqlite3_bind_int64(sz, 2, dict_id(col, 0) + ((int64_t)1 << 32));
        if ((src = sqlite3_step(sz)) != SQLITE_ROW) {
            rc = store_db_fail(s, src, "read dictionary");
        } else {
            /* the blob lengths bound the key bytes from above; a damaged count is caught by
             * the checks below, so only a sane one is used */
            int64_t bytes = sqlite3_column_int64(sz, 0), keys = sqlite3_column_int64(sz, 1);
            if (bytes > 0 && bytes < UINT32_MAX && keys > 0 && keys < PROMO_DICT_NONE) {
                if (promo_grow((void **)&dk->bytes, &bcap, (size_t)bytes + 1, 1) ||
                    promo_grow((void **)&dk->off, &ocap, (size_t)keys + 1, sizeof *dk->off))
                    rc = PROMO_ENOMEM;
                else { /* both written whole next: faulted in at once */
                    promo_prefault(dk->bytes, bcap);
                    promo_prefault(dk->off, ocap * sizeof *dk->off);
                }
            }
        }
    }
    sqlite3_finalize(sz);
    if (rc) {
        sqlite3_finalize(st);
        dict_keys_free(dk);
        return rc;
    }
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t m;
        const uint8_t *o;
        const char *k;
        const void *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (!blob && len) {
            rc = PROMO_ENOMEM;
            break;
        }
        if (chunk_dict_blob(blob, len, &m, &o, &k) ||
            sqlite3_column_int64(st, 0) != (int64_t)dk->nk) {
            rc = damaged(s, table, col, "a dictionary chunk is damaged or missing");
            break;
        }
        uint32_t kb = chunk_u32(o, m);
        if (promo_grow((void **)&dk->bytes, &bcap, nb + kb + 1, 1) ||
            promo_grow((void **)&dk->off, &ocap, dk->nk + m + 1, sizeof *dk->off)) {
            rc = PROMO_ENOMEM;
            break;
        }
        memcpy(dk->bytes + nb, k, kb);
        for (uint32_t i = 0; i < m; i++) {
            dk->off[dk->nk + i] = (uint32_t)nb + chunk_u32(o, i);
            dk->long_key |= chunk_u32(o, i + 1) - chunk_u32(o, i) > PROMO_DICT_KEY_MAX;
        }
        nb += kb;
        dk->nk += m;
        if (nb >= UINT32_MAX || dk->nk >= PROMO_DICT_NONE) {
            rc = damaged(s, table, col, "dictionary too large");
            break;
        }
    }
    if (!rc && src != SQLITE_DONE)
        rc = store_db_fail(s, src, "read dictionary");
    sqlite3_finalize(st);
    if (!rc && dk->nk)
        dk->off[dk->nk] = (uint32_t)nb;
    if (rc)
        dict_keys_free(dk);
    return rc;
}

/* 1 when the first (up to) 64 keys of dk are each greater than the one before
 * (promo_key_cmp: the order promo_dict_append_sorted takes, which checks the rest itself): a
 * cheap way to send the unsorted dictionaries (ids in order of first appearance) straight to
 * the hash build. */
static int keys_start_increasing(const dict_keys *dk)
{
    for (size_t i = 1; i < dk->nk && i < 64; i++)
        if (promo_key_cmp(dk->bytes + dk->off[i - 1], dk->off[i] - dk->off[i - 1],
                          dk->bytes + dk->off[i], dk->off[i + 1] - dk->off[i]) >= 0)
            return 0;
    return 1;
}

/* The keys of dk into the empty d, entry k = code k. No error message (it may run on a worker
 * thread): 0, PROMO_ENOMEM, or 1 when a key is there twice. */
static int dict_build(const dict_keys *dk, promo_dict *d, int n_threads)
{
    if (!dk->nk)
        return 0;
    if (promo_dict_reserve(d, dk->nk))
        return PROMO_ENOMEM;
    if (!dk->long_key && keys_start_increasing(dk)) {
        /* Strictly increasing keys are distinct without a probe, and the hash index is built
         * on the first lookup, if any: generated and ingested order ids (1.8M of the 5M
         * world's transactions) are stored sorted and only their codes are read, so building
         * their index was a fifth of the read's CPU (bench/RESULTS.md, helper read20). Keys
         * found out of order later leave d empty (its message on this thread is not the
         * read's: the hash build below decides). */
        key_src ks = {dk->bytes, dk->off};
        int rc = promo_dict_append_sorted(d, dk->nk, key_of, &ks);
        if (rc != PROMO_EINPUT)
            return rc;
    }
    if (!dk->long_key) {
        key_src ks = {dk->bytes, dk->off};
        int rc = promo_dict_append_distinct(d, dk->nk, key_of, &ks, n_threads);
        return rc == PROMO_EINPUT ? 1 : rc;
    }
    for (size_t i = 0; i < dk->nk; i++)
        if (promo_dict_intern(d, dk->bytes + dk->off[i], dk->off[i + 1] - dk->off[i]) !=
            (uint32_t)i)
            return promo_dict_size(d) > i ? 1 : PROMO_ENOMEM;
    return 0;
}

static int dict_build_fail(promo_store *s, const char *table, size_t col, int rc)
{
    if (rc == 1)
        return damaged(s, table, col, "the dictionary holds a value twice");
    return rc ? promo_fail(rc, "out of memory reading table '%s'", table) : PROMO_OK;
}

int chunk_dict_map(
    promo_store *s, const char *table, size_t col, const promo_dict *d, uint32_t *map, uint32_t *n)
{
    dict_keys dk;
    int rc = dict_load(s, table, col, &dk);
    if (rc)
        return rc;
    /* the stored keys looked up in d (its hash index exists): no index is built for them */
    for (size_t k = 0; k < dk.nk; k++) {
        uint32_t j = promo_dict_find(d, dk.bytes + dk.off[k], dk.off[k + 1] - dk.off[k]);
        if (j != PROMO_DICT_NONE)
            map[j] = (uint32_t)k;
    }
    *n = (uint32_t)dk.nk;
    dict_keys_free(&dk);
    return PROMO_OK;
}

int chunk_read_dict(promo_store *s, const char *table, size_t col, promo_dict *d)
{
    dict_keys dk;
    int rc = dict_load(s, table, col, &dk);
    if (!rc)
        rc = dict_build_fail(s, table, col, dict_build(&dk, d, 0));
    dict_keys_free(&dk);
    return rc;
}

typedef struct chunk_meta {
    int64_t chunk, first_row, n_rows;
    int sel;       /* 0 skip, 1 every row, 2 rows filtered by the range */
    size_t at;     /* first output row */
    size_t kept;   /* rows it gives */
    uint8_t *keep; /* sel 2: which rows (into the keep block) */
} chunk_meta;

static int load_meta(promo_store *s,
                     const char *table,
                     int has_range,
                     int ts_pos,
                     int64_t lo,
                     int64_t hi,
                     chunk_meta **out,
                     size_t *n_out)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table,
                        "SELECT chunk, first_row, n_rows, n_null, min_v, max_v FROM %s WHERE id >= "
                        "0 AND col = ? ORDER BY id",
                        &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, has_range ? ts_pos : 0);
    chunk_meta *m = NULL;
    size_t n = 0, cap = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (promo_grow((void **)&m, &cap, n + 1, sizeof *m)) {
            rc = PROMO_ENOMEM;
            break;
        }
        chunk_meta *c = &m[n++];
        memset(c, 0, sizeof *c);
        c->chunk = sqlite3_column_int64(st, 0);
        c->first_row = sqlite3_column_int64(st, 1);
        c->n_rows = sqlite3_column_int64(st, 2);
        c->sel = 1;
        if (has_range) {
            int64_t nn = sqlite3_column_int64(st, 3);
            int all_null = sqlite3_column_type(st, 4) == SQLITE_NULL;
            int64_t mn = sqlite3_column_int64(st, 4), mx = sqlite3_column_int64(st, 5);
            if (all_null || mx < lo || mn >= hi)
                c->sel = 0;
            else if (nn || mn < lo || mx >= hi)
                c->sel = 2;
        }
    }
    if (!rc && src != SQLITE_DONE)
        rc = store_db_fail(s, src, "read chunk statistics");
    sqlite3_finalize(st);
    if (rc) {
        promo_free(m);
        return rc;
    }
    *out = m;
    *n_out = n;
    return PROMO_OK;
}

/* Decode one column chunk blob into column c at rows [at, at + kept): the exact path, with
 * the message for what is wrong (the fast path below hands a chunk here when its checks are
 * not clearly passed). */
static int decode_into(promo_store *s,
                       const char *table,
                       promo_column *c,
                       size_t pos,
                       const chunk_meta *cm,
                       const void *blob,
                       size_t len,
                       const uint8_t *keep,
                       size_t at,
                       uint32_t n_dict,
                       size_t *kept)
{
    blob_view bv;
    if (parse_blob(blob, len, &bv) || bv.n != (uint64_t)cm->n_rows || bv.type != (int)c->type)
        return damaged(s, table, pos, "a column chunk is damaged");
    size_t o = 0, n = bv.n;
    switch (c->type) {
    case PROMO_COL_FLOAT64:
        o = decode_floats(&bv, c->f64 + at, keep);
        break;
    case PROMO_COL_STRING:
        o = decode_ints(&bv, c->codes + at, 4, keep);
        break;
    case PROMO_COL_BOOL:
        o = decode_ints(&bv, c->b + at, 1, keep);
        break;
    default:
        o = decode_ints(&bv, c->i64 + at, 8, keep);
    }
    if (bv.has_nulls) {
        for (size_t i = 0, r = at; i < n; i++) {
            if (keep && !keep[i])
                continue;
            if (null_at(&bv, i)) {
                if (promo_column_set_null(c, r))
                    return PROMO_ENOMEM;
                switch (c->type) {
                case PROMO_COL_FLOAT64:
                    c->f64[r] = 0;
                    break;
                case PROMO_COL_STRING:
                    c->codes[r] = 0;
                    break;
                case PROMO_COL_BOOL:
                    c->b[r] = 0;
                    break;
                default:
                    c->i64[r] = 0;
                }
            }
            r++;
        }
    }
    /* What the row layout's reader refuses too (store_read.c): codes outside the dictionary,
     * timestamps outside 1900..2199 (a promo.db changed by other means). */
    if (c->type == PROMO_COL_STRING) {
        /* on the stored 64-bit values: a code past 2^32 must not pass as its low half */
        for (size_t i = 0; i < n; i++) {
            uint64_t v = (uint64_t)bv.base + raw_at(&bv, i);
            if ((keep && !keep[i]) || null_at(&bv, i) || v < n_dict)
                continue;
            return promo_fail(PROMO_EINPUT,
                              "%s/%s: table '%s', column '%s': code %llu is not in its "
                              "dictionary",
                              s->ws_dir, DB_NAME, table, c->name, (unsigned long long)v);
        }
    } else if (c->type == PROMO_COL_TIMESTAMP) {
        for (size_t i = 0; i < o; i++) {
            int64_t v = c->i64[at + i];
            if (v < STORE_TS_MIN || v > STORE_TS_MAX) {
                /* the row number in the table, counting the rows a range left out */
                size_t r = 0, seen = 0;
                for (r = 0; r < n; r++)
                    if (!keep || keep[r])
                        if (seen++ == i)
                            break;
                return promo_fail(PROMO_EINPUT,
                                  "%s/%s: table '%s', row %lld, column '%s': timestamp %lld is "
                                  "outside 1900-01-01 .. 2199-12-31",
                                  s->ws_dir, DB_NAME, table,
                                  (long long)(cm->first_row + (int64_t)r + 1), c->name,
                                  (long long)v);
            }
        }
    }
    *kept = o;
    return PROMO_OK;
}

/* ---- the fast path: whole chunks, any thread ----
 * One loop per (output type, stored width), written so that GCC vectorises it (omp simd):
 * widen, add the base, store; the largest offset is reduced in the same pass for the checks.
 * A null's slot decodes to base and is set to 0 afterwards (nulls are rare). */
#define FAST_LOOP(TD, LOAD)                                                    \
    do {                                                                       \
        TD *d = dst;                                                           \
        _Pragma("omp simd reduction(max : mx)") for (size_t i = 0; i < n; i++) \
        {                                                                      \
            uint64_t x = (uint64_t)(LOAD);                                     \
            mx = x > mx ? x : mx;                                              \
            d[i] = (TD)(base + x);                                             \
        }                                                                      \
    } while (0)

#define FAST_BY_WIDTH(TD)               \
    switch (bv->width) {                \
    case 0:                             \
        FAST_LOOP(TD, 0);               \
        break;                          \
    case 1:                             \
        FAST_LOOP(TD, v[i]);            \
        break;                          \
    case 2:                             \
        FAST_LOOP(TD, ld16(v + 2 * i)); \
        break;                          \
    case 4:                             \
        FAST_LOOP(TD, ld32(v + 4 * i)); \
        break;                          \
    default:                            \
        FAST_LOOP(TD, ld64(v + 8 * i)); \
    }

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* Values of bv (all rows) into dst of esize-byte elements; returns the largest offset. */
static uint64_t fast_ints(const blob_view *bv, void *dst, int esize)
{
    size_t n = bv->n;
    const uint8_t *v = bv->v;
    uint64_t base = (uint64_t)bv->base, mx = 0;
    if (esize == 8) {
        FAST_BY_WIDTH(uint64_t)
    } else if (esize == 4) {
        FAST_BY_WIDTH(uint32_t)
    } else {
        FAST_BY_WIDTH(uint8_t)
    }
    return mx;
}

/* x exactly as a double: the bits of 2^52 + x, less 2^52. */
static inline double u32_to_double(uint32_t x)
{
    uint64_t b = 0x4330000000000000ULL | x;
    double d;
    memcpy(&d, &b, 8);
    return d - 4503599627370496.0;
}

static void fast_floats(const blob_view *bv, double *dst)
{
    size_t n = bv->n;
    const uint8_t *v = bv->v;
    if (bv->scale < 0 && bv->width == 4) {
        _Pragma("omp simd") for (size_t i = 0; i < n; i++) dst[i] = (double)ldf32(v + 4 * i);
        return;
    }
    if (bv->scale < 0) {
        memcpy(dst, v, n * 8);
        return;
    }
    /* (double)(base + x) as (double)x + (double)base: both are integers below 2^53 (the
     * encoder checked every value), so the sum is exact and equals the scalar expression bit
     * for bit; x goes to double through int32 (cvtdq2pd) or the 2^52 trick for 32-bit
     * offsets, which SSE has no instruction for. */
    const double fbase = (double)bv->base, div = P10[bv->scale];
#define SCALED(XD) _Pragma("omp simd") for (size_t i = 0; i < n; i++) dst[i] = ((XD) + fbase) / div;
    switch (bv->width) {
    case 0:
        SCALED(0.0);
        break;
    case 1:
        SCALED((double)(int32_t)v[i]);
        break;
    case 2:
        SCALED((double)(int32_t)ld16(v + 2 * i));
        break;
    case 4:
        SCALED(u32_to_double(ld32(v + 4 * i)));
        break;
    default: {
        uint64_t base = (uint64_t)bv->base;
        for (size_t i = 0; i < n; i++)
            dst[i] = (double)(int64_t)(base + ld64(v + 8 * i)) / div;
    }
    }
#undef SCALED
}

/* Chunk cm of column c from its blob, every row, at rows [cm->at, ...). Safe to run for
 * different chunks at once (null bits are set atomically: chunks may share a bitmap word).
 * 0 on success with *n_null the nulls set; -1 when the blob is damaged or a check does not
 * clearly pass: the caller then runs decode_into for the exact answer and message. */
static int decode_fast(promo_column *c,
                       const chunk_meta *cm,
                       const uint8_t *blob,
                       size_t len,
                       uint32_t n_dict,
                       size_t *n_null)
{
    blob_view bv;
    *n_null = 0;
    if (parse_blob(blob, len, &bv) || bv.n != (uint64_t)cm->n_rows || bv.type != (int)c->type)
        return -1;
    size_t at = cm->at, n = bv.n;
    if (!n)
        return 0;
    size_t esize = c->type == PROMO_COL_STRING ? 4 : c->type == PROMO_COL_BOOL ? 1 : 8;
    uint8_t *vals = c->type == PROMO_COL_FLOAT64  ? (uint8_t *)c->f64
                    : c->type == PROMO_COL_STRING ? (uint8_t *)c->codes
                    : c->type == PROMO_COL_BOOL   ? c->b
                                                  : (uint8_t *)c->i64;
    /* The rows' pages are fresh: faulted in with one call, on the thread that writes them. */
    promo_prefault(vals + at * esize, n * esize);
    switch (c->type) {
    case PROMO_COL_FLOAT64:
        fast_floats(&bv, c->f64 + at);
        break;
    case PROMO_COL_STRING: {
        uint64_t mx = fast_ints(&bv, c->codes + at, 4);
        /* every slot (nulls hold the base) inside the dictionary */
        if ((uint64_t)bv.base + mx >= n_dict || bv.base < 0)
            return -1;
        break;
    }
    case PROMO_COL_BOOL:
        fast_ints(&bv, c->b + at, 1);
        break;
    case PROMO_COL_TIMESTAMP: {
        uint64_t mx = fast_ints(&bv, c->i64 + at, 8);
        if (bv.base < STORE_TS_MIN || bv.base > STORE_TS_MAX ||
            mx > (uint64_t)(STORE_TS_MAX - bv.base))
            return -1;
        break;
    }
    default:
        fast_ints(&bv, c->i64 + at, 8);
    }
    if (!bv.has_nulls)
        return 0;
    size_t nn = 0;
    for (size_t w = 0; w < (n + 7) / 8; w++) {
        unsigned byte = bv.nulls[w];
        while (byte) {
            size_t i = w * 8 + (size_t)__builtin_ctz(byte);
            byte &= byte - 1;
            if (i >= n)
                break;
            size_t r = at + i;
            memset(vals + r * esize, 0, esize);
            __atomic_fetch_or(&c->nulls[r >> 6], (uint64_t)1 << (r & 63), __ATOMIC_RELAXED);
            nn++;
        }
    }
    *n_null = nn;
    return 0;
}

/* SQLite's memory map of promo.db for the length of one read, the previous size kept in
 * *old (-1: none to restore). Why: through the page cache (128 MiB, store.c) every blob page
 * is copied twice, file -> cache -> batch buffer, and the cache's own 128 MiB are fresh memory
 * the kernel faults and zeroes for a single pass; mapped, sqlite3_blob_read copies straight
 * from the file's pages. SQLite maps only for reads outside a write transaction (a writer's
 * pages come from its cache as before), and caps the size at its compile-time maximum (2 GiB
 * in Debian's build: past it pages are read as before). Best effort: a failure leaves the
 * read on the page cache. The map's known hazard (a file truncated under it faults) needs a
 * writer beside this reader, which the workspace lock keeps out (store_lock.c). */
static void mmap_begin(promo_store *s, long long *old)
{
    /* sqlite3 directly: neither call may touch promo_last_error() (mmap_end runs on the
     * error path, after the message that matters) */
    sqlite3_stmt *st = NULL;
    *old = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA mmap_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *old = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (*old < 0 || *old >= ((long long)1 << 40) ||
        sqlite3_exec(s->db, "PRAGMA mmap_size=1099511627776", NULL, NULL, NULL) != SQLITE_OK)
        *old = -1;
}

static void mmap_end(promo_store *s, long long old)
{
    char sql[64];
    if (old < 0)
        return;
    snprintf(sql, sizeof sql, "PRAGMA mmap_size=%lld", old);
    (void)sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* One column of one chunk read into the batch buffer. */
typedef struct read_item {
    size_t k, j;     /* chunk (meta index), column */
    size_t off, len; /* bytes in the batch buffer */
    size_t n_null;
    int rc;
} read_item;

/* Rows of a batch: the blobs of at most this many chunks are read (one thread, SQLite) while
 * the batches before it are decoded (every thread); RING batches are in flight. */
enum { BATCH_CHUNKS = 8, RING = 3 };

/* Chunks per batch: two per thread up to BATCH_CHUNKS, or PROMO_CHUNK_BATCH=N
 * (1..BATCH_CHUNKS) so that tests of a few chunks go through the hand-over between batches
 * too. Why no more: a batch is decoded soon after it is copied, the smaller the likelier
 * still in the cache, and the RING buffers are fresh memory once (the 5M transactions: 1.9
 * MB a chunk). */
static size_t batch_chunks(int nt)
{
    const char *e = getenv("PROMO_CHUNK_BATCH");
    long v = e ? atol(e) : 0;
    if (v >= 1 && v <= BATCH_CHUNKS)
        return (size_t)v;
    return nt <= 1 ? 1 : 2 * (size_t)nt < BATCH_CHUNKS ? 2 * (size_t)nt : BATCH_CHUNKS;
}

/* One batch's blobs, back to back, and what each is. Reused from batch to batch: after the
 * first RING batches no memory is fresh. */
typedef struct read_batch_buf {
    uint8_t *buf;
    size_t cap;
    read_item *items; /* BATCH_CHUNKS * columns */
    size_t ni;
} read_batch_buf;

/* Where a read stands: the next chunk (meta index) k0, and the open blob handle. */
typedef struct batch_reader {
    promo_store *s;
    const char *table;
    const chunk_meta *meta;
    size_t n_meta, per_batch;
    const int *pos;
    size_t n;
    promo_table *t;
    const char *chunks_name;
    sqlite3_blob **blob;
    size_t k0;
} batch_reader;

/* The next batch of chunks (every column) into b; the calling thread only (SQLite). */
static int read_batch(batch_reader *r, read_batch_buf *b)
{
    promo_store *s = r->s;
    size_t used = 0, k = r->k0, nk = 0;
    int rc = PROMO_OK;
    b->ni = 0;
    for (; k < r->n_meta && nk < r->per_batch && !rc; k++) {
        const chunk_meta *cm = &r->meta[k];
        if (!cm->sel)
            continue;
        nk++;
        for (size_t j = 0; j < r->n && !rc; j++) {
            int64_t id = cm->chunk * CHUNK_MAX_COLS + r->pos[j];
            int src =
                *r->blob ? sqlite3_blob_reopen(*r->blob, id)
                         : sqlite3_blob_open(s->db, "main", r->chunks_name, "data", id, 0, r->blob);
            if (src != SQLITE_OK) {
                rc = src == SQLITE_ERROR
                         ? damaged(s, r->table, (size_t)r->pos[j], "a column chunk is missing")
                         : store_db_fail(s, src, "read chunk");
                break;
            }
            size_t len = (size_t)sqlite3_blob_bytes(*r->blob);
            if (used + len > b->cap) {
                if (promo_grow((void **)&b->buf, &b->cap, used + len, 1)) {
                    rc = PROMO_ENOMEM;
                    break;
                }
                promo_prefault(b->buf + used, b->cap - used); /* fresh, written next */
            }
            if ((src = sqlite3_blob_read(*r->blob, b->buf + used, (int)len, 0)) != SQLITE_OK) {
                rc = store_db_fail(s, src, "read chunk");
                break;
            }
            /* a bitmap for a column with nulls, before any thread sets a bit (a decoding
             * task only touches the bitmap of a chunk with nulls, allocated when that chunk
             * was read: the pointer is set once, before the task exists) */
            promo_column *c = r->t->cols[j];
            if (len >= HDR && (b->buf[used + 3] & F_NULLS) && !c->nulls &&
                !(c->nulls = promo_calloc((c->cap + 63) / 64, sizeof *c->nulls))) {
                rc = PROMO_ENOMEM;
                break;
            }
            b->items[b->ni++] = (read_item){k, j, used, len, 0, 0};
            used += len;
        }
    }
    r->k0 = k;
    return rc;
}

/* A dictionary read chunk by chunk straight into its promo_dict (the connection's thread),
 * when its keys are stored in increasing order (generated and ingested order ids): no copy
 * of all its keys first, and its chunks are read between the batches of column chunks, so
 * the decoding threads are never short of work. Keys found out of order (or longer than
 * promo_dict_append_sorted takes) after the first chunk are interned from there on. */
typedef struct dict_stream {
    int64_t *ids;       /* the dictionary chunks' row ids, in order, and their keys: */
    int64_t *rows;      /* their n_rows (each chunk's first_row checked to follow on) */
    size_t n_ids, next; /* chunks, the next to read */
    size_t nk;          /* keys in the dictionary so far */
    int on;             /* 1: read this way (else dict_keys and a dict_build task) */
    int sorted;         /* 1: appending sorted keys so far; 0: interning */
} dict_stream;

static void dict_streams_free(dict_stream *ds, size_t n)
{
    for (size_t j = 0; ds && j < n; j++) {
        promo_free(ds[j].ids);
        promo_free(ds[j].rows);
    }
}

/* Keys of one dictionary chunk blob, for promo_dict_append_sorted (called in key order). */
typedef struct blob_keys {
    const uint8_t *off;
    const char *bytes;
} blob_keys;

static size_t blob_key_of(void *ctx, size_t k, char *buf)
{
    const blob_keys *bk = ctx;
    uint32_t a = chunk_u32(bk->off, k), len = chunk_u32(bk->off, k + 1) - a;
    memcpy(buf, bk->bytes + a, len); /* len <= PROMO_DICT_KEY_MAX: checked by the caller */
    return len;
}

/* The row ids of column col's dictionary chunks into ds. */
static int dict_stream_open(promo_store *s, const char *table, size_t col, dict_stream *ds)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(
        s, table, "SELECT id, first_row, n_rows FROM %s WHERE id >= ? AND id < ? ORDER BY id", &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, dict_id(col, 0));
    sqlite3_bind_int64(st, 2, dict_id(col, 0) + ((int64_t)1 << 32));
    size_t cap = 0, cap2 = 0;
    int64_t keys = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (promo_grow((void **)&ds->ids, &cap, ds->n_ids + 1, sizeof *ds->ids) ||
            promo_grow((void **)&ds->rows, &cap2, ds->n_ids + 1, sizeof *ds->rows)) {
            rc = PROMO_ENOMEM;
            break;
        }
        int64_t rows = sqlite3_column_int64(st, 2);
        if (sqlite3_column_int64(st, 1) != keys || rows < 0 || rows >= PROMO_DICT_NONE) {
            rc = damaged(s, table, col, "a dictionary chunk is damaged or missing");
            break;
        }
        keys += rows;
        ds->ids[ds->n_ids] = sqlite3_column_int64(st, 0);
        ds->rows[ds->n_ids++] = rows;
    }
    if (!rc && src != SQLITE_DONE)
        rc = store_db_fail(s, src, "read dictionary");
    sqlite3_finalize(st);
    return rc;
}

/* The next chunk of ds into d, through blob handle *blob and the reused buffer *buf. */
static int dict_stream_step(promo_store *s,
                            const char *table,
                            const char *chunks_name,
                            size_t col,
                            dict_stream *ds,
                            promo_dict *d,
                            sqlite3_blob **blob,
                            uint8_t **buf,
                            size_t *cap)
{
    int64_t id = ds->ids[ds->next], rows = ds->rows[ds->next];
    ds->next++;
    int src = *blob ? sqlite3_blob_reopen(*blob, id)
                    : sqlite3_blob_open(s->db, "main", chunks_name, "data", id, 0, blob);
    if (src != SQLITE_OK)
        return src == SQLITE_ERROR ? damaged(s, table, col, "a dictionary chunk is missing")
                                   : store_db_fail(s, src, "read dictionary");
    size_t len = (size_t)sqlite3_blob_bytes(*blob);
    if (len > *cap && promo_grow((void **)buf, cap, len, 1))
        return PROMO_ENOMEM;
    if ((src = sqlite3_blob_read(*blob, *buf, (int)len, 0)) != SQLITE_OK)
        return store_db_fail(s, src, "read dictionary");
    uint32_t m;
    const uint8_t *o;
    const char *k;
    if (chunk_dict_blob(*buf, len, &m, &o, &k) || m != rows || ds->nk + m >= PROMO_DICT_NONE)
        return damaged(s, table, col, "a dictionary chunk is damaged or missing");
    for (uint32_t i = 0; i < m && ds->sorted; i++)
        ds->sorted = chunk_u32(o, i + 1) - chunk_u32(o, i) <= PROMO_DICT_KEY_MAX;
    if (ds->sorted) {
        blob_keys bk = {o, k};
        int rc = promo_dict_append_sorted(d, m, blob_key_of, &bk);
        if (rc != PROMO_EINPUT) {
            ds->nk += m;
            return rc ? promo_fail(rc, "out of memory reading table '%s'", table) : PROMO_OK;
        }
        ds->sorted = 0; /* out of order: d holds the keys before this chunk */
    }
    /* interned: each key must be new (code = keys so far) */
    enum { IB = 256 };
    const char *keys[IB];
    uint32_t lens[IB], got[IB];
    for (uint32_t i0 = 0; i0 < m; i0 += IB) {
        uint32_t b = m - i0 < IB ? m - i0 : IB;
        for (uint32_t i = 0; i < b; i++) {
            keys[i] = k + chunk_u32(o, i0 + i);
            lens[i] = chunk_u32(o, i0 + i + 1) - chunk_u32(o, i0 + i);
        }
        if (promo_dict_intern_batch(d, keys, lens, b, got))
            return promo_fail(PROMO_ENOMEM, "out of memory reading table '%s'", table);
        for (uint32_t i = 0; i < b; i++)
            if (got[i] != ds->nk + i0 + i)
                return dict_build_fail(s, table, col, 1);
    }
    ds->nk += m;
    return PROMO_OK;
}

/* The dictionaries of the STRING columns, begun while the first batch decodes: for each,
 * its first chunk decides. Keys increasing (its first 64) and short: streamed (dict_stream,
 * first chunk now, the rest by dicts_advance). Else every key read into dk and a task builds
 * the dictionary (dict_build: a hash index) beside the decoding; drc[j] its result, known
 * after the parallel region; created outside any batch's taskgroup, so no batch waits. */
static int dicts_begin(promo_store *s,
                       const char *table,
                       const char *chunks_name,
                       promo_table *t,
                       const promo_col_type *types,
                       const int *pos,
                       size_t n,
                       const uint32_t *n_dict,
                       dict_keys *dk,
                       dict_stream *ds,
                       int *drc,
                       sqlite3_blob **blob,
                       uint8_t **buf,
                       size_t *cap)
{
    for (size_t j = 0; j < n; j++) {
        if (types[j] != PROMO_COL_STRING)
            continue;
        size_t col = (size_t)pos[j];
        int rc = dict_stream_open(s, table, col, &ds[j]);
        if (rc)
            return rc;
        if (ds[j].n_ids) {
            /* the first chunk's first keys, through the same step (no key appended yet) */
            int64_t id = ds[j].ids[0];
            int src = *blob ? sqlite3_blob_reopen(*blob, id)
                            : sqlite3_blob_open(s->db, "main", chunks_name, "data", id, 0, blob);
            size_t len = src == SQLITE_OK ? (size_t)sqlite3_blob_bytes(*blob) : 0;
            if (src == SQLITE_OK && len > *cap && promo_grow((void **)buf, cap, len, 1))
                return PROMO_ENOMEM;
            uint32_t m;
            const uint8_t *o;
            const char *k;
            if (src == SQLITE_OK && sqlite3_blob_read(*blob, *buf, (int)len, 0) == SQLITE_OK &&
                !chunk_dict_blob(*buf, len, &m, &o, &k)) {
                ds[j].on = 1;
                for (uint32_t i = 0; i < m && i < 64 && ds[j].on; i++)
                    ds[j].on = chunk_u32(o, i + 1) - chunk_u32(o, i) <= PROMO_DICT_KEY_MAX &&
                               (i == 0 || promo_key_cmp(k + chunk_u32(o, i - 1),
                                                        chunk_u32(o, i) - chunk_u32(o, i - 1),
                                                        k + chunk_u32(o, i),
                                                        chunk_u32(o, i + 1) - chunk_u32(o, i)) < 0);
            }
            /* (a chunk that cannot be read goes the dict_load way, which says what is wrong) */
        }
        if (ds[j].on) {
            ds[j].sorted = 1;
            if (promo_dict_reserve(t->cols[j]->dict, n_dict[j]))
                return promo_fail(PROMO_ENOMEM, "out of memory reading table '%s'", table);
            if ((rc = dict_stream_step(s, table, chunks_name, col, &ds[j], t->cols[j]->dict, blob,
                                       buf, cap)))
                return rc;
            continue;
        }
        if ((rc = dict_load(s, table, col, &dk[j])))
            return rc;
        if (dk[j].nk != n_dict[j])
            return damaged(s, table, col, "a dictionary chunk is damaged or missing");
#pragma omp task firstprivate(j) shared(drc, dk, t)
        {
            drc[j] = dict_build(&dk[j], t->cols[j]->dict, 1);
            dict_keys_free(&dk[j]); /* the keys are the dictionary's now */
        }
    }
    return PROMO_OK;
}

/* Streamed dictionaries read on until the share of their chunks read reaches done / total
 * (done = total: all of them, and each checked to hold n_dict[j] keys). */
static int dicts_advance(promo_store *s,
                         const char *table,
                         const char *chunks_name,
                         promo_table *t,
                         const int *pos,
                         size_t n,
                         const uint32_t *n_dict,
                         dict_stream *ds,
                         size_t done,
                         size_t total,
                         sqlite3_blob **blob,
                         uint8_t **buf,
                         size_t *cap)
{
    for (size_t j = 0; j < n; j++) {
        if (!ds[j].on)
            continue;
        while (ds[j].next < ds[j].n_ids &&
               (done >= total || ds[j].next * total < done * ds[j].n_ids)) {
            int rc = dict_stream_step(s, table, chunks_name, (size_t)pos[j], &ds[j],
                                      t->cols[j]->dict, blob, buf, cap);
            if (rc)
                return rc;
        }
        if (done >= total && ds[j].nk != n_dict[j])
            return damaged(s, table, (size_t)pos[j], "a dictionary chunk is damaged or missing");
    }
    return PROMO_OK;
}

/* A batch after its tasks: the nulls they set counted, and the exact path for the items the
 * fast path handed back (a chunk a range cuts through, or a check it did not clearly pass:
 * the codes are checked against the dictionary's size, its keys may still be building). */
static int batch_check(promo_store *s,
                       const char *table,
                       promo_table *t,
                       const int *pos,
                       const chunk_meta *meta,
                       const uint32_t *n_dict,
                       size_t *nulls,
                       const read_batch_buf *b)
{
    int rc = PROMO_OK;
    for (size_t i = 0; i < b->ni && !rc; i++) {
        const read_item *it = &b->items[i];
        const chunk_meta *cm = &meta[it->k];
        size_t kept = 0;
        nulls[it->j] += it->n_null;
        if (!it->rc)
            continue;
        rc = decode_into(s, table, t->cols[it->j], (size_t)pos[it->j], cm, b->buf + it->off,
                         it->len, cm->keep, cm->at, n_dict[it->j], &kept);
        if (!rc && kept != cm->kept)
            rc = damaged(s, table, (size_t)pos[it->j], "a column chunk is damaged");
    }
    return rc;
}

int chunk_read(promo_store *s,
               const char *table,
               char *const *names,
               const promo_col_type *types,
               const int *pos,
               size_t n,
               int has_range,
               int ts_pos,
               int64_t lo,
               int64_t hi,
               promo_table **out)
{
    *out = NULL;
    double t0 = promo_now_s();
    chunk_meta *meta = NULL;
    size_t n_meta = 0;
    int rc = load_meta(s, table, has_range, ts_pos, lo, hi, &meta, &n_meta);
    if (rc)
        return rc;
    promo_table *t = promo_table_new(table);
    int64_t *tsbuf = promo_mallocn(CHUNK_ROWS, sizeof *tsbuf);
    dict_keys *dk = promo_calloc(n ? n : 1, sizeof *dk);
    dict_stream *ds = promo_calloc(n ? n : 1, sizeof *ds);
    uint8_t *dbuf = NULL; /* a dictionary chunk's blob */
    size_t dcap = 0;
    int *drc = promo_calloc(n ? n : 1, sizeof *drc);
    uint32_t *n_dict = promo_calloc(n ? n : 1, sizeof *n_dict);
    size_t *nulls = promo_calloc(n ? n : 1, sizeof *nulls);
    read_batch_buf bat[RING] = {{0}};
    int no_items = 0;
    for (int b = 0; b < RING; b++)
        no_items |= !(bat[b].items =
                          promo_mallocn((size_t)BATCH_CHUNKS * (n ? n : 1), sizeof *bat[b].items));
    uint8_t *keeps = NULL;
    sqlite3_stmt *one = NULL;
    sqlite3_blob *blob = NULL;
    char *chunks_name = NULL;
    long long mmap_old = -1;
    if (!t || !tsbuf || !dk || !ds || !drc || !n_dict || !nulls || no_items) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    /* The chunks the range cuts through: their range column first, which rows are in. */
    size_t n_cut = 0;
    for (size_t k = 0; k < n_meta; k++) {
        if (meta[k].n_rows < 0 || meta[k].n_rows > CHUNK_ROWS) {
            rc = damaged(s, table, 0, "a chunk holds too many rows");
            goto done;
        }
        n_cut += meta[k].sel == 2;
    }
    if (n_cut && !(keeps = promo_mallocn(n_cut, CHUNK_ROWS))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if ((rc = prepare_on(s, table, "SELECT data FROM %s WHERE id = ?", &one)))
        goto done;
    mmap_begin(s, &mmap_old);
    size_t total = 0;
    for (size_t k = 0, cut = 0; k < n_meta; k++) {
        chunk_meta *cm = &meta[k];
        cm->at = total;
        cm->kept = cm->sel ? (size_t)cm->n_rows : 0;
        if (cm->sel == 2) {
            cm->keep = keeps + (size_t)CHUNK_ROWS * cut++;
            sqlite3_bind_int64(one, 1, cm->chunk * CHUNK_MAX_COLS + ts_pos);
            int src = sqlite3_step(one);
            if (src != SQLITE_ROW) {
                sqlite3_reset(one);
                rc = src == SQLITE_DONE ? damaged(s, table, (size_t)ts_pos, "a chunk is missing")
                                        : store_db_fail(s, src, "read chunk");
                goto done;
            }
            blob_view bv;
            if (parse_blob(sqlite3_column_blob(one, 0), (size_t)sqlite3_column_bytes(one, 0),
                           &bv) ||
                bv.n != (uint64_t)cm->n_rows || bv.type != PROMO_COL_TIMESTAMP) {
                sqlite3_reset(one);
                rc = damaged(s, table, (size_t)ts_pos, "a column chunk is damaged");
                goto done;
            }
            decode_ints(&bv, tsbuf, 8, NULL);
            cm->kept = 0;
            for (size_t i = 0; i < bv.n; i++)
                cm->kept += cm->keep[i] = !null_at(&bv, i) && tsbuf[i] >= lo && tsbuf[i] < hi;
            sqlite3_reset(one);
        }
        total += cm->kept;
    }
    /* The columns at their final size, without zeroing (every row is decoded into), and the
     * keys of their dictionaries. In ordinary 4 KiB pages, not advised to transparent huge
     * pages: on this VM a huge page comes from a free 2 MiB block, which the guest has
     * usually handed back to the host (free page reporting), so its first touch waits for
     * the host to back and zero it; `promo features` on 10M lines took 7.2-8.8 s of CPU with
     * huge pages and 5.0-6.0 s without, alternated (bench/RESULTS.md, helper pfault). */
    for (size_t j = 0; j < n; j++) {
        promo_column *c = NULL;
        if (pos[j] < 0 || pos[j] >= CHUNK_MAX_COLS) {
            rc = damaged(s, table, j, "column position out of range");
            goto done;
        }
        if ((rc = promo_table_add_column(t, names[j], types[j], &c)))
            goto done;
        if (types[j] == PROMO_COL_STRING) {
            /* the size now (the decoding checks codes against it), the keys later */
            int64_t nd = 0;
            if ((rc = chunk_dict_size(s, table, (size_t)pos[j], &nd)))
                goto done;
            if (nd < 0 || nd >= (int64_t)PROMO_DICT_NONE) {
                rc = damaged(s, table, (size_t)pos[j], "dictionary too large");
                goto done;
            }
            n_dict[j] = (uint32_t)nd;
        }
        if ((rc = promo_column_reserve(c, total)))
            goto done;
        c->n = total;
    }
    chunks_name = promo_malloc(strlen(CHUNK_PREFIX) + strlen(table) + 1);
    if (!chunks_name) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    strcpy(chunks_name, CHUNK_PREFIX);
    strcat(chunks_name, table);
    /* Threads: the dictionaries' hash indexes are built as tasks beside the decoding; a batch
     * of chunks is read by one thread (the connection), its columns decoded as tasks. Small
     * reads stay on one thread. */
    int nt = omp_get_max_threads();
    nt = nt > 16 ? 16 : nt < 1 ? 1 : nt;
    if (total <= (size_t)CHUNK_ROWS)
        nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
#pragma omp master
    {
        /* RING batches in flight: the tasks decode the earlier ones while this thread reads
         * the next (SQLite's part, one thread), so the read is not a serial step between
         * decodes; before a buffer is reused, this thread waits for its batch's tasks only
         * (helping with any task meanwhile), not for the batch just handed out. */
        batch_reader br = {s, table,       meta,  n_meta, batch_chunks(nt), pos, n,
                           t, chunks_name, &blob, 0};
        size_t n_read = 0, n_checked = 0;
        int read_rc = 0; /* reported after the errors of the batches before it */
        while (!rc && !read_rc) {
            read_batch_buf *b = &bat[n_read % RING];
            if (n_read >= RING) {
#pragma omp taskwait depend(inout : bat[n_read % RING])
                rc = batch_check(s, table, t, pos, meta, n_dict, nulls, b);
                n_checked++;
                if (rc)
                    break;
            }
            b->ni = 0;
            if (br.k0 >= n_meta || (read_rc = read_batch(&br, b)) || !b->ni)
                break;
            /* decode: whole chunks as tasks; the chunks a range cuts through (few) in
             * batch_check */
            for (size_t i = 0; i < b->ni; i++) {
                if (meta[b->items[i].k].sel == 2) {
                    b->items[i].rc = -1;
                    continue;
                }
#pragma omp task firstprivate(i, b) shared(meta, t, n_dict) depend(in : bat[n_read % RING])
                {
                    read_item *it = &b->items[i];
                    it->rc = decode_fast(t->cols[it->j], &meta[it->k], b->buf + it->off, it->len,
                                         n_dict[it->j], &it->n_null);
                }
            }
            /* the dictionaries, begun while the first batch decodes, then read on in step
             * with the batches */
            if (n_read++ == 0)
                read_rc = dicts_begin(s, table, chunks_name, t, types, pos, n, n_dict, dk, ds, drc,
                                      &blob, &dbuf, &dcap);
            if (!read_rc)
                read_rc = dicts_advance(s, table, chunks_name, t, pos, n, n_dict, ds, br.k0, n_meta,
                                        &blob, &dbuf, &dcap);
        }
#pragma omp taskwait
        for (; n_checked < n_read; n_checked++) {
            int crc = batch_check(s, table, t, pos, meta, n_dict, nulls, &bat[n_checked % RING]);
            if (!rc)
                rc = crc;
        }
        if (!rc)
            rc = read_rc;
        if (!rc && !n_read) /* no chunk selected: the dictionaries all the same */
            rc = dicts_begin(s, table, chunks_name, t, types, pos, n, n_dict, dk, ds, drc, &blob,
                             &dbuf, &dcap);
        if (!rc)
            rc = dicts_advance(s, table, chunks_name, t, pos, n, n_dict, ds, 1, 1, &blob, &dbuf,
                               &dcap);
    }
    for (size_t j = 0; j < n && !rc; j++) {
        t->cols[j]->n_null += nulls[j];
        if (types[j] == PROMO_COL_STRING && drc[j])
            rc = dict_build_fail(s, table, (size_t)pos[j], drc[j]);
    }
    if (!rc)
        rc = promo_table_seal(t);
    if (!rc) {
        promo_debug("store: read %s: %zu rows x %zu columns from chunks in %.2fs", table, t->n_rows,
                    t->n_cols, promo_now_s() - t0);
        *out = t;
        t = NULL;
    }
done:
    sqlite3_blob_close(blob);
    sqlite3_finalize(one);
    mmap_end(s, mmap_old);
    for (int b = 0; b < RING; b++) {
        promo_free(bat[b].buf);
        promo_free(bat[b].items);
    }
    promo_free(chunks_name);
    promo_table_free(t);
    for (size_t j = 0; dk && j < n; j++)
        dict_keys_free(&dk[j]);
    promo_free(dk);
    dict_streams_free(ds, n);
    promo_free(ds);
    promo_free(dbuf);
    promo_free(drc);
    promo_free(n_dict);
    promo_free(nulls);
    promo_free(keeps);
    promo_free(tsbuf);
    promo_free(meta);
    return rc;
}

int chunk_stats(promo_store *s,
                const char *table,
                size_t n_cols,
                int64_t *n_rows,
                int64_t *n_null,
                int mm_col,
                int *has_mm,
                int64_t *mn,
                int64_t *mx,
                int neg_col,
                int64_t *n_neg)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare_on(s, table,
                        "SELECT col, sum(n_rows), sum(n_null), min(min_v), max(max_v), "
                        "coalesce(sum(n_neg), 0) FROM %s WHERE id >= 0 GROUP BY col",
                        &st);
    if (rc)
        return rc;
    *n_rows = 0;
    *has_mm = 0;
    if (n_neg)
        *n_neg = 0;
    for (size_t j = 0; j < n_cols; j++)
        n_null[j] = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t col = sqlite3_column_int64(st, 0);
        if (col == 0)
            *n_rows = sqlite3_column_int64(st, 1);
        if (col >= 0 && (size_t)col < n_cols)
            n_null[col] = sqlite3_column_int64(st, 2);
        if (col == mm_col && sqlite3_column_type(st, 3) != SQLITE_NULL) {
            *has_mm = 1;
            *mn = sqlite3_column_int64(st, 3);
            *mx = sqlite3_column_int64(st, 4);
        }
        if (col == neg_col && n_neg)
            *n_neg = sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? PROMO_OK : store_db_fail(s, src, "chunk statistics");
}
