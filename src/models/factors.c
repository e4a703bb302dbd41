/* The recommenders' common layer (recommend.h): the binary file container, the interaction
 * matrix of a window (built from the panel's purchase index, stored in the workspace), the
 * model handle over a model's table of functions, and the popularity baseline.
 *
 * The file is a header, a section table and a payload of 8-aligned arrays, followed by a
 * checksum over everything before it. The checksum is FNV-1a 64 taken over 64-bit
 * little-endian words instead of bytes (every part of the file is a multiple of 8 bytes):
 * eight times fewer multiplications, so checking a 100 MB factor file costs milliseconds, and
 * any single flipped bit still changes it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "models/rec_internal.h"

int promo_rec_sorted_contains(const uint32_t *sorted, uint64_t n, uint32_t x)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && sorted[lo] == x;
}

/* ===================================================================== file format === */

#define MAGIC        "PROMOREC"
#define HEADER_BYTES 56u
#define ENTRY_BYTES  64u
#define FNV_OFFSET   0xcbf29ce484222325ULL
#define FNV_PRIME    0x100000001b3ULL

typedef struct section {
    char name[PROMO_REC_NAME_MAX];
    promo_rec_dtype dtype;
    uint64_t rows, cols;
    void *data; /* rows * cols * dtype size bytes, owned */
} section;

struct promo_rec_file {
    char kind[PROMO_REC_NAME_MAX];
    size_t n, cap;
    section *s;
};

static size_t dtype_size(promo_rec_dtype t)
{
    switch (t) {
    case PROMO_REC_F32:
    case PROMO_REC_U32:
        return 4;
    case PROMO_REC_U64:
    case PROMO_REC_I64:
    case PROMO_REC_F64:
        return 8;
    case PROMO_REC_BYTES:
        return 1;
    default:
        return 0;
    }
}

static uint64_t pad8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static uint64_t checksum(const unsigned char *p, size_t n_words)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n_words; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        h = (h ^ w) * FNV_PRIME;
    }
    return h;
}

static int name_ok(const char *name)
{
    return name && *name && strlen(name) < PROMO_REC_NAME_MAX;
}

int promo_rec_file_new(const char *kind, promo_rec_file **out)
{
    *out = NULL;
    if (!name_ok(kind))
        return promo_fail(PROMO_EUSAGE, "recommend: file kind must have 1..%d bytes",
                          PROMO_REC_NAME_MAX - 1);
    promo_rec_file *f = promo_calloc(1, sizeof *f);
    if (!f)
        return PROMO_ENOMEM;
    snprintf(f->kind, sizeof f->kind, "%s", kind);
    *out = f;
    return PROMO_OK;
}

void promo_rec_file_free(promo_rec_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        promo_free(f->s[i].data);
    promo_free(f->s);
    promo_free(f);
}

const char *promo_rec_file_kind(const promo_rec_file *f)
{
    return f->kind;
}

static const section *find_section(const promo_rec_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->s[i].name, name) == 0)
            return &f->s[i];
    return NULL;
}

int promo_rec_file_add(promo_rec_file *f,
                       const char *name,
                       promo_rec_dtype dtype,
                       uint64_t rows,
                       uint64_t cols,
                       const void *data)
{
    size_t es = dtype_size(dtype);
    if (!name_ok(name) || !es)
        return promo_fail(PROMO_EUSAGE, "recommend: bad section name or type");
    if (find_section(f, name))
        return promo_fail(PROMO_EUSAGE, "recommend: section '%s' added twice", name);
    if (cols && rows > UINT64_MAX / cols / es)
        return promo_fail(PROMO_EUSAGE, "recommend: section '%s' too large", name);
    size_t bytes = (size_t)(rows * cols * es);
    if (promo_grow((void **)&f->s, &f->cap, f->n + 1, sizeof *f->s))
        return PROMO_ENOMEM;
    void *copy = promo_malloc(bytes ? bytes : 1);
    if (!copy)
        return PROMO_ENOMEM;
    if (bytes)
        memcpy(copy, data, bytes);
    section *s = &f->s[f->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dtype = dtype;
    s->rows = rows;
    s->cols = cols;
    s->data = copy;
    return PROMO_OK;
}

int promo_rec_file_add_i64(promo_rec_file *f, const char *name, int64_t v)
{
    return promo_rec_file_add(f, name, PROMO_REC_I64, 1, 1, &v);
}

int promo_rec_file_add_f64(promo_rec_file *f, const char *name, double v)
{
    return promo_rec_file_add(f, name, PROMO_REC_F64, 1, 1, &v);
}

int promo_rec_file_add_str(promo_rec_file *f, const char *name, const char *s)
{
    return promo_rec_file_add(f, name, PROMO_REC_BYTES, 1, strlen(s) + 1, s);
}

int promo_rec_file_add_dict(promo_rec_file *f, const char *name, const promo_dict *d)
{
    uint32_t n = d ? promo_dict_size(d) : 0;
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += promo_dict_key_len(d, i) + 1;
    char *buf = promo_malloc(total ? total : 1), *p = buf;
    if (!buf)
        return PROMO_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = promo_dict_key_len(d, i);
        memcpy(p, promo_dict_key(d, i), len);
        p[len] = '\0';
        p += len + 1;
    }
    int rc = promo_rec_file_add(f, name, PROMO_REC_BYTES, 1, total, buf);
    promo_free(buf);
    return rc;
}

const void *promo_rec_file_get(const promo_rec_file *f,
                               const char *name,
                               promo_rec_dtype dtype,
                               uint64_t *rows,
                               uint64_t *cols)
{
    const section *s = find_section(f, name);
    if (!s) {
        promo_fail(PROMO_ENOTFOUND, "recommend: %s file has no section '%s'", f->kind, name);
        return NULL;
    }
    if (s->dtype != dtype) {
        promo_fail(PROMO_EINPUT, "recommend: %s file: section '%s' has another type", f->kind,
                   name);
        return NULL;
    }
    if (rows)
        *rows = s->rows;
    if (cols)
        *cols = s->cols;
    return s->data;
}

int promo_rec_file_get_i64(const promo_rec_file *f, const char *name, int64_t *out)
{
    uint64_t r, c;
    const int64_t *v = promo_rec_file_get(f, name, PROMO_REC_I64, &r, &c);
    if (!v || r * c != 1)
        return promo_fail(PROMO_EINPUT, "recommend: %s file: no integer '%s'", f->kind, name);
    *out = *v;
    return PROMO_OK;
}

int promo_rec_file_get_f64(const promo_rec_file *f, const char *name, double *out)
{
    uint64_t r, c;
    const double *v = promo_rec_file_get(f, name, PROMO_REC_F64, &r, &c);
    if (!v || r * c != 1)
        return promo_fail(PROMO_EINPUT, "recommend: %s file: no number '%s'", f->kind, name);
    *out = *v;
    return PROMO_OK;
}

int promo_rec_file_get_dict(const promo_rec_file *f, const char *name, promo_dict **out)
{
    *out = NULL;
    uint64_t r, c;
    const char *p = promo_rec_file_get(f, name, PROMO_REC_BYTES, &r, &c);
    if (!p)
        return promo_fail(PROMO_EINPUT, "recommend: %s file: no id list '%s'", f->kind, name);
    if (c && p[c - 1] != '\0')
        return promo_fail(PROMO_EINPUT, "recommend: %s file: id list '%s' is not terminated",
                          f->kind, name);
    promo_dict *d = promo_dict_new();
    if (!d)
        return PROMO_ENOMEM;
    uint32_t expect = 0;
    for (uint64_t i = 0; i < c;) {
        size_t len = strlen(p + i);
        uint32_t code = promo_dict_intern(d, p + i, len);
        if (code == PROMO_DICT_NONE) {
            promo_dict_free(d);
            return PROMO_ENOMEM;
        }
        if (code != expect++) {
            promo_dict_free(d);
            return promo_fail(PROMO_EINPUT, "recommend: %s file: duplicate id '%s' in '%s'",
                              f->kind, p + i, name);
        }
        i += len + 1;
    }
    *out = d;
    return PROMO_OK;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4); /* x86-64 and every platform we build on are little-endian */
}

static void put_u64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

int promo_rec_file_bytes(const promo_rec_file *f, void **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    uint64_t payload = 0;
    for (size_t i = 0; i < f->n; i++)
        payload += pad8(f->s[i].rows * f->s[i].cols * dtype_size(f->s[i].dtype));
    uint64_t total = HEADER_BYTES + ENTRY_BYTES * (uint64_t)f->n + payload + 8;
    unsigned char *b = promo_calloc(1, (size_t)total);
    if (!b)
        return PROMO_ENOMEM;
    memcpy(b, MAGIC, 8);
    put_u32(b + 8, PROMO_REC_FILE_VERSION);
    put_u32(b + 12, (uint32_t)f->n);
    put_u64(b + 16, payload);
    memcpy(b + 24, f->kind, strlen(f->kind));
    unsigned char *e = b + HEADER_BYTES, *pl = b + HEADER_BYTES + ENTRY_BYTES * f->n;
    uint64_t off = 0;
    for (size_t i = 0; i < f->n; i++, e += ENTRY_BYTES) {
        const section *s = &f->s[i];
        uint64_t bytes = s->rows * s->cols * dtype_size(s->dtype);
        memcpy(e, s->name, strlen(s->name));
        put_u32(e + 32, (uint32_t)s->dtype);
        put_u64(e + 40, s->rows);
        put_u64(e + 48, s->cols);
        put_u64(e + 56, off);
        if (bytes)
            memcpy(pl + off, s->data, (size_t)bytes);
        off += pad8(bytes);
    }
    put_u64(b + total - 8, checksum(b, (size_t)(total - 8) / 8));
    *data = b;
    *n = (size_t)total;
    return PROMO_OK;
}

int promo_rec_file_parse(const void *data, size_t n, const char *path, promo_rec_file **out)
{
    *out = NULL;
    const unsigned char *b = data;
    const char *where = path ? path : "recommender file";
    if (n < HEADER_BYTES + 8 || memcmp(b, MAGIC, 8) != 0)
        return promo_fail(PROMO_EINPUT, "%s: not a promo recommender file", where);
    uint32_t version = get_u32(b + 8);
    if (version != PROMO_REC_FILE_VERSION)
        return promo_fail(PROMO_EVERSION,
                          "%s: recommender file version %u; this promo reads version %d "
                          "(re-run promo train)",
                          where, version, PROMO_REC_FILE_VERSION);
    uint64_t n_sec = get_u32(b + 12), payload = get_u64(b + 16);
    if (n % 8 != 0 || n_sec > (n - HEADER_BYTES) / ENTRY_BYTES ||
        payload != n - 8 - HEADER_BYTES - ENTRY_BYTES * n_sec)
        return promo_fail(PROMO_EINPUT, "%s: truncated or damaged (sizes do not add up)", where);
    if (checksum(b, (n - 8) / 8) != get_u64(b + n - 8))
        return promo_fail(PROMO_EINPUT, "%s: checksum mismatch (the file is damaged)", where);
    if (b[24 + PROMO_REC_NAME_MAX - 1] != '\0')
        return promo_fail(PROMO_EINPUT, "%s: damaged kind", where);
    promo_rec_file *f = NULL;
    int rc = promo_rec_file_new((const char *)b + 24, &f);
    if (rc)
        return rc == PROMO_ENOMEM ? rc : promo_fail(PROMO_EINPUT, "%s: damaged kind", where);
    const unsigned char *e = b + HEADER_BYTES, *pl = b + HEADER_BYTES + ENTRY_BYTES * n_sec;
    for (uint64_t i = 0; i < n_sec; i++, e += ENTRY_BYTES) {
        char name[PROMO_REC_NAME_MAX];
        memcpy(name, e, PROMO_REC_NAME_MAX);
        uint32_t dt = get_u32(e + 32);
        uint64_t rows = get_u64(e + 40), cols = get_u64(e + 48), off = get_u64(e + 56);
        size_t es = dt < PROMO_REC_DTYPE_COUNT ? dtype_size((promo_rec_dtype)dt) : 0;
        if (name[PROMO_REC_NAME_MAX - 1] != '\0' || !es || off % 8 || off > payload ||
            (cols && rows > (payload - off) / cols / es)) {
            promo_rec_file_free(f);
            return promo_fail(PROMO_EINPUT, "%s: damaged section table (entry %llu)", where,
                              (unsigned long long)i);
        }
        if ((rc = promo_rec_file_add(f, name, (promo_rec_dtype)dt, rows, cols, pl + off))) {
            promo_rec_file_free(f);
            return rc == PROMO_ENOMEM
                       ? rc
                       : promo_fail(PROMO_EINPUT, "%s: damaged section '%s'", where, name);
        }
    }
    *out = f;
    return PROMO_OK;
}

int promo_rec_file_load(const char *path, promo_rec_file **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return promo_fail(PROMO_ENOTFOUND, "%s: cannot open (no such model? run promo train)",
                          path);
    unsigned char *buf = NULL;
    int rc = PROMO_OK;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0) {
        rc = promo_fail(PROMO_EIO, "%s: cannot stat", path);
        goto done;
    }
    size_t n = (size_t)st.st_size;
    if (!(buf = promo_malloc(n ? n : 1))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if (n && fread(buf, 1, n, fp) != n) {
        rc = promo_fail(PROMO_EIO, "%s: read failed", path);
        goto done;
    }
    rc = promo_rec_file_parse(buf, n, path, out);
done:
    promo_free(buf);
    fclose(fp);
    return rc;
}

int promo_rec_file_save(const promo_rec_file *f, promo_store *s, const char *path)
{
    void *b = NULL;
    size_t n = 0;
    int rc = promo_rec_file_bytes(f, &b, &n);
    if (rc)
        return rc;
    rc = s ? promo_store_stage_file(s, path, b, n) : promo_atomic_write(path, b, n);
    promo_free(b);
    return rc;
}

/* ============================================================== interaction matrix === */

void promo_rec_data_free(promo_rec_data *d)
{
    if (!d)
        return;
    promo_csr_free(&d->m);
    promo_dict_free(d->customers);
    promo_dict_free(d->items);
    memset(d, 0, sizeof *d);
}

int promo_rec_data_from_panel(const promo_panel *d, int64_t from, int64_t to, promo_rec_data *out)
{
    memset(out, 0, sizeof *out);
    if (from >= to)
        return promo_fail(PROMO_EUSAGE, "recommend: empty window (from >= to)");
    if (!d->by_prod.ptr)
        return promo_fail(PROMO_EUSAGE, "recommend: the panel has no purchase index");
    const promo_panel_index *ix = &d->by_prod;
    uint32_t nk = d->n_keys, np = d->n_products;
    int rc = PROMO_ENOMEM;
    out->from = from;
    out->to = to;
    out->m.owned = 1;
    out->m.n_rows = nk;
    out->m.n_cols = np;
    if (!(out->m.row_ptr = promo_calloc((size_t)nk + 1, sizeof *out->m.row_ptr)))
        goto fail;
        /* Entries of a key are sorted by (item, ts), one per (item, order): a row's distinct items
         * in the window are runs of equal items with ts in [from, to). */
#pragma omp parallel for schedule(dynamic, 1024) num_threads(promo_rec_threads(d->n_threads))
    for (uint32_t k = 0; k < nk; k++) {
        uint64_t c = 0;
        uint32_t last = PROMO_REC_NONE;
        for (uint64_t e = ix->ptr[k]; e < ix->ptr[k + 1]; e++)
            if (ix->ts[e] >= from && ix->ts[e] < to && ix->item[e] != last) {
                last = ix->item[e];
                c++;
            }
        out->m.row_ptr[k + 1] = c;
    }
    for (uint32_t k = 0; k < nk; k++)
        out->m.row_ptr[k + 1] += out->m.row_ptr[k];
    out->m.nnz = out->m.row_ptr[nk];
    out->m.col_idx = promo_mallocn(out->m.nnz ? out->m.nnz : 1, sizeof *out->m.col_idx);
    out->m.values = promo_mallocn(out->m.nnz ? out->m.nnz : 1, sizeof *out->m.values);
    if (!out->m.col_idx || !out->m.values)
        goto fail;
#pragma omp parallel for schedule(dynamic, 1024) num_threads(promo_rec_threads(d->n_threads))
    for (uint32_t k = 0; k < nk; k++) {
        uint64_t o = out->m.row_ptr[k];
        uint32_t last = PROMO_REC_NONE;
        for (uint64_t e = ix->ptr[k]; e < ix->ptr[k + 1]; e++) {
            if (ix->ts[e] < from || ix->ts[e] >= to)
                continue;
            if (ix->item[e] != last) {
                last = ix->item[e];
                out->m.col_idx[o] = last;
                out->m.values[o++] = 1.0f;
            } else {
                out->m.values[o - 1] += 1.0f;
            }
        }
    }
    if (!(out->customers = promo_dict_clone(d->tx_cust->dict)))
        goto fail;
    if (!(out->items = promo_dict_new()) || promo_dict_reserve(out->items, np))
        goto fail;
    for (uint32_t r = 0; r < np; r++) {
        const char *id = promo_dict_key(d->prod_id->dict, d->prod_id->codes[r]);
        uint32_t c = promo_dict_intern(out->items, id, strlen(id));
        if (c == PROMO_DICT_NONE)
            goto fail;
        if (c != r) {
            rc = promo_fail(PROMO_EINPUT, "recommend: products.product_id '%s' is not unique", id);
            goto fail;
        }
    }
    out->source_rows = d->transactions ? d->transactions->n_rows : 0;
    out->source_max_ts = d->max_ts;
    return PROMO_OK;
fail:
    promo_rec_data_free(out);
    return rc;
}

int promo_rec_data_from_csr(promo_csr *m, promo_rec_data *out)
{
    memset(out, 0, sizeof *out);
    int rc = promo_csr_check(m);
    if (rc)
        return promo_fail_prefix(PROMO_EINPUT, "recommend: interaction matrix");
    out->from = PROMO_REC_BEGIN;
    out->to = INT64_MAX;
    out->m = *m;
    out->m.owned = 1;
    memset(m, 0, sizeof *m);
    return PROMO_OK;
}

uint32_t promo_rec_data_customer(const promo_rec_data *d, const char *id)
{
    if (!d->customers)
        return PROMO_REC_NONE;
    uint32_t c = promo_dict_find(d->customers, id, strlen(id));
    return c == PROMO_DICT_NONE || c >= d->m.n_rows ? PROMO_REC_NONE : c;
}

uint32_t promo_rec_data_item(const promo_rec_data *d, const char *id)
{
    if (!d->items)
        return PROMO_REC_NONE;
    uint32_t c = promo_dict_find(d->items, id, strlen(id));
    return c == PROMO_DICT_NONE || c >= d->m.n_cols ? PROMO_REC_NONE : c;
}

int promo_rec_data_to_file(const promo_rec_data *d, promo_rec_file **out)
{
    promo_rec_file *f = NULL;
    int rc = promo_rec_file_new("interactions", &f);
    uint64_t shape[2] = {d->m.n_rows, d->m.n_cols};
    if (!rc)
        rc = promo_rec_file_add_i64(f, "from", d->from);
    if (!rc)
        rc = promo_rec_file_add_i64(f, "to", d->to);
    if (!rc)
        rc = promo_rec_file_add_i64(f, "source_rows", (int64_t)d->source_rows);
    if (!rc)
        rc = promo_rec_file_add_i64(f, "source_max_ts", d->source_max_ts);
    if (!rc)
        rc = promo_rec_file_add(f, "shape", PROMO_REC_U64, 1, 2, shape);
    if (!rc)
        rc = promo_rec_file_add(f, "row_ptr", PROMO_REC_U64, 1, (uint64_t)d->m.n_rows + 1,
                                d->m.row_ptr);
    if (!rc)
        rc = promo_rec_file_add(f, "col_idx", PROMO_REC_U32, 1, d->m.nnz, d->m.col_idx);
    if (!rc)
        rc = promo_rec_file_add(f, "values", PROMO_REC_F32, 1, d->m.nnz, d->m.values);
    if (!rc && d->customers)
        rc = promo_rec_file_add_dict(f, "customers", d->customers);
    if (!rc && d->items)
        rc = promo_rec_file_add_dict(f, "items", d->items);
    if (rc) {
        promo_rec_file_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

int promo_rec_data_from_file(const promo_rec_file *f, promo_rec_data *out)
{
    memset(out, 0, sizeof *out);
    int64_t src_rows = 0;
    uint64_t r, c, nrp, nnz, nv;
    if (strcmp(promo_rec_file_kind(f), "interactions") != 0)
        return promo_fail(PROMO_EINPUT, "recommend: a '%s' file is not an interaction matrix",
                          promo_rec_file_kind(f));
    const uint64_t *shape = promo_rec_file_get(f, "shape", PROMO_REC_U64, &r, &c);
    const uint64_t *rp = promo_rec_file_get(f, "row_ptr", PROMO_REC_U64, &r, &nrp);
    const uint32_t *ci = promo_rec_file_get(f, "col_idx", PROMO_REC_U32, &r, &nnz);
    const float *v = promo_rec_file_get(f, "values", PROMO_REC_F32, &r, &nv);
    if (!shape || !rp || !ci || !v || promo_rec_file_get_i64(f, "from", &out->from) ||
        promo_rec_file_get_i64(f, "to", &out->to) ||
        promo_rec_file_get_i64(f, "source_rows", &src_rows) ||
        promo_rec_file_get_i64(f, "source_max_ts", &out->source_max_ts))
        return promo_fail(PROMO_EINPUT, "recommend: interaction file: missing sections");
    if (shape[0] > UINT32_MAX || shape[1] > UINT32_MAX || nrp != shape[0] + 1 || nnz != nv)
        return promo_fail(PROMO_EINPUT, "recommend: interaction file: inconsistent shape");
    int rc = PROMO_ENOMEM;
    out->source_rows = (uint64_t)src_rows;
    out->m.owned = 1;
    out->m.n_rows = (uint32_t)shape[0];
    out->m.n_cols = (uint32_t)shape[1];
    out->m.nnz = nnz;
    out->m.row_ptr = promo_mallocn(nrp, sizeof *rp);
    out->m.col_idx = promo_mallocn(nnz ? nnz : 1, sizeof *ci);
    out->m.values = promo_mallocn(nnz ? nnz : 1, sizeof *v);
    if (!out->m.row_ptr || !out->m.col_idx || !out->m.values)
        goto fail;
    memcpy(out->m.row_ptr, rp, nrp * sizeof *rp);
    memcpy(out->m.col_idx, ci, nnz * sizeof *ci);
    memcpy(out->m.values, v, nnz * sizeof *v);
    if (promo_csr_check(&out->m)) {
        rc = promo_fail_prefix(PROMO_EINPUT, "recommend: interaction file");
        goto fail;
    }
    if (find_section(f, "customers") &&
        (rc = promo_rec_file_get_dict(f, "customers", &out->customers)))
        goto fail;
    if (find_section(f, "items") && (rc = promo_rec_file_get_dict(f, "items", &out->items)))
        goto fail;
    if ((out->customers && promo_dict_size(out->customers) != out->m.n_rows) ||
        (out->items && promo_dict_size(out->items) != out->m.n_cols)) {
        rc = promo_fail(PROMO_EINPUT, "recommend: interaction file: ids do not match the shape");
        goto fail;
    }
    return PROMO_OK;
fail:
    promo_rec_data_free(out);
    return rc;
}

char *promo_rec_data_path(promo_store *s, int64_t as_of)
{
    char day[32], buf[4096];
    promo_time_format_cutoff(as_of, day, sizeof day);
    snprintf(buf, sizeof buf, "%s/interactions_%s.bin", promo_store_models_dir(s), day);
    return promo_strdup(buf);
}

int promo_rec_data_workspace(promo_store *s,
                             const promo_panel *d,
                             int64_t as_of,
                             promo_rec_data *out)
{
    memset(out, 0, sizeof *out);
    char *path = s ? promo_rec_data_path(s, as_of) : NULL;
    if (s && !path)
        return PROMO_ENOMEM;
    int rc;
    struct stat st;
    if (path && stat(path, &st) == 0) {
        promo_rec_file *f = NULL;
        rc = promo_rec_file_load(path, &f);
        if (!rc)
            rc = promo_rec_data_from_file(f, out);
        promo_rec_file_free(f);
        if (!rc && out->to == as_of && out->from == PROMO_REC_BEGIN &&
            (!d || (out->source_rows == (d->transactions ? d->transactions->n_rows : 0) &&
                    out->source_max_ts == d->max_ts && out->m.n_rows == d->n_keys &&
                    out->m.n_cols == d->n_products))) {
            promo_free(path);
            return PROMO_OK; /* reuse */
        }
        promo_rec_data_free(out);
        if (!d) {
            promo_free(path);
            return rc ? rc : promo_fail(PROMO_EINPUT, "recommend: stored matrix does not match");
        }
    } else if (!d) {
        promo_free(path);
        return promo_fail(PROMO_ENOTFOUND,
                          "recommend: no stored interaction matrix for this cutoff (run promo "
                          "train first)");
    }
    rc = promo_rec_data_from_panel(d, PROMO_REC_BEGIN, as_of, out);
    if (!rc && s) {
        promo_rec_file *f = NULL;
        rc = promo_rec_data_to_file(out, &f);
        if (!rc)
            rc = promo_rec_file_save(f, s, path);
        promo_rec_file_free(f);
        if (rc)
            promo_rec_data_free(out);
    }
    promo_free(path);
    return rc;
}

int promo_rec_data_split_random(const promo_rec_data *m,
                                double test_frac,
                                uint64_t seed,
                                promo_rec_data *train,
                                promo_rec_data *test)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!(test_frac > 0 && test_frac < 1))
        return promo_fail(PROMO_EUSAGE, "recommend: test fraction must be in (0, 1)");
    const promo_csr *a = &m->m;
    promo_rec_data *o[2] = {train, test};
    int rc = PROMO_ENOMEM;
    uint64_t cut = (uint64_t)(test_frac * 18446744073709551615.0);
    for (int s = 0; s < 2; s++) {
        o[s]->from = m->from;
        o[s]->to = m->to;
        o[s]->m.owned = 1;
        o[s]->m.n_rows = a->n_rows;
        o[s]->m.n_cols = a->n_cols;
        o[s]->m.row_ptr = promo_calloc((size_t)a->n_rows + 1, sizeof *a->row_ptr);
        o[s]->m.col_idx = promo_mallocn(a->nnz ? a->nnz : 1, sizeof *a->col_idx);
        o[s]->m.values = promo_mallocn(a->nnz ? a->nnz : 1, sizeof *a->values);
        if (!o[s]->m.row_ptr || !o[s]->m.col_idx || !o[s]->m.values)
            goto fail;
        if (m->customers && !(o[s]->customers = promo_dict_clone(m->customers)))
            goto fail;
        if (m->items && !(o[s]->items = promo_dict_clone(m->items)))
            goto fail;
    }
    for (uint32_t i = 0; i < a->n_rows; i++) {
        for (uint64_t e = a->row_ptr[i]; e < a->row_ptr[i + 1]; e++) {
            uint64_t h = promo_fmix64(seed * 0x9e3779b97f4a7c15ULL ^
                                      promo_fmix64(((uint64_t)i << 32) | a->col_idx[e]));
            promo_csr *t = &o[h < cut]->m;
            t->col_idx[t->nnz] = a->col_idx[e];
            t->values[t->nnz++] = a->values[e];
        }
        train->m.row_ptr[i + 1] = train->m.nnz;
        test->m.row_ptr[i + 1] = test->m.nnz;
    }
    return PROMO_OK;
fail:
    promo_rec_data_free(train);
    promo_rec_data_free(test);
    return rc;
}

/* ===================================================================== model handle === */

struct promo_rec_model {
    const promo_rec_ops *ops;
    void *impl;
    uint32_t n_users, n_items;
    int64_t from, as_of;
    promo_dict *customers, *items;
};

int promo_rec_model_new(const promo_rec_ops *ops,
                        void *impl,
                        const promo_rec_data *train,
                        promo_rec_model **out)
{
    *out = NULL;
    promo_rec_model *m = promo_calloc(1, sizeof *m);
    if (!m) {
        ops->free(impl);
        return PROMO_ENOMEM;
    }
    m->ops = ops;
    m->impl = impl;
    m->n_users = train->m.n_rows;
    m->n_items = train->m.n_cols;
    m->from = train->from;
    m->as_of = train->to;
    if ((train->customers && !(m->customers = promo_dict_clone(train->customers))) ||
        (train->items && !(m->items = promo_dict_clone(train->items)))) {
        promo_rec_model_free(m);
        return PROMO_ENOMEM;
    }
    *out = m;
    return PROMO_OK;
}

void promo_rec_model_free(promo_rec_model *m)
{
    if (!m)
        return;
    if (m->impl)
        m->ops->free(m->impl);
    promo_dict_free(m->customers);
    promo_dict_free(m->items);
    promo_free(m);
}

const char *promo_rec_model_kind(const promo_rec_model *m)
{
    return m->ops->kind;
}
uint32_t promo_rec_model_n_users(const promo_rec_model *m)
{
    return m->n_users;
}
uint32_t promo_rec_model_n_items(const promo_rec_model *m)
{
    return m->n_items;
}
int64_t promo_rec_model_as_of(const promo_rec_model *m)
{
    return m->as_of;
}
const promo_dict *promo_rec_model_customers(const promo_rec_model *m)
{
    return m->customers;
}
const promo_dict *promo_rec_model_items(const promo_rec_model *m)
{
    return m->items;
}
const void *promo_rec_model_impl(const promo_rec_model *m)
{
    return m->impl;
}
const promo_rec_ops *promo_rec_model_ops(const promo_rec_model *m)
{
    return m->ops;
}

int promo_rec_model_score_user(const promo_rec_model *m, uint32_t user, float *scores)
{
    if (user >= m->n_users)
        return promo_fail(PROMO_EUSAGE, "recommend: user %u out of range", user);
    return m->ops->score_user(m->impl, user, scores);
}

int promo_rec_model_score_history(
    const promo_rec_model *m, const uint32_t *items, const float *values, size_t n, float *scores)
{
    for (size_t i = 0; i < n; i++)
        if (items[i] >= m->n_items)
            return promo_fail(PROMO_EUSAGE, "recommend: item %u out of range", items[i]);
    return m->ops->score_history(m->impl, items, values, n, scores);
}

int promo_rec_model_to_file(const promo_rec_model *m, promo_rec_file **out)
{
    promo_rec_file *f = NULL;
    int rc = promo_rec_file_new(m->ops->kind, &f);
    if (!rc)
        rc = promo_rec_file_add_i64(f, "as_of", m->as_of);
    if (!rc)
        rc = promo_rec_file_add_i64(f, "from", m->from);
    if (!rc)
        rc = promo_rec_file_add_i64(f, "n_users", m->n_users);
    if (!rc)
        rc = promo_rec_file_add_i64(f, "n_items", m->n_items);
    if (!rc && m->customers)
        rc = promo_rec_file_add_dict(f, "customers", m->customers);
    if (!rc && m->items)
        rc = promo_rec_file_add_dict(f, "items", m->items);
    if (!rc)
        rc = m->ops->save(m->impl, f);
    if (rc) {
        promo_rec_file_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

int promo_rec_model_from_file(const promo_rec_file *f, promo_rec_model **out)
{
    *out = NULL;
    const promo_rec_kind *k = promo_rec_kind_find(promo_rec_file_kind(f));
    if (!k || !k->load)
        return promo_fail(PROMO_ENOTFOUND, "recommend: unknown model kind '%s'",
                          promo_rec_file_kind(f));
    promo_rec_data shape;
    memset(&shape, 0, sizeof shape);
    int64_t nu = 0, ni = 0;
    int rc = promo_rec_file_get_i64(f, "as_of", &shape.to);
    if (!rc)
        rc = promo_rec_file_get_i64(f, "from", &shape.from);
    if (!rc)
        rc = promo_rec_file_get_i64(f, "n_users", &nu);
    if (!rc)
        rc = promo_rec_file_get_i64(f, "n_items", &ni);
    if (!rc && (nu < 0 || nu > UINT32_MAX || ni < 0 || ni > UINT32_MAX))
        rc = promo_fail(PROMO_EINPUT, "recommend: model file: bad shape");
    if (!rc && find_section(f, "customers"))
        rc = promo_rec_file_get_dict(f, "customers", &shape.customers);
    if (!rc && find_section(f, "items"))
        rc = promo_rec_file_get_dict(f, "items", &shape.items);
    if (!rc && ((shape.customers && promo_dict_size(shape.customers) != (uint64_t)nu) ||
                (shape.items && promo_dict_size(shape.items) != (uint64_t)ni)))
        rc = promo_fail(PROMO_EINPUT, "recommend: model file: ids do not match the shape");
    shape.m.n_rows = (uint32_t)nu;
    shape.m.n_cols = (uint32_t)ni;
    if (!rc)
        rc = k->load(f, &shape, out);
    promo_dict_free(shape.customers);
    promo_dict_free(shape.items);
    return rc;
}

int promo_rec_model_save(const promo_rec_model *m, promo_store *s, const char *path)
{
    promo_rec_file *f = NULL;
    int rc = promo_rec_model_to_file(m, &f);
    if (!rc)
        rc = promo_rec_file_save(f, s, path);
    promo_rec_file_free(f);
    return rc;
}

int promo_rec_model_load(const char *path, promo_rec_model **out)
{
    *out = NULL;
    promo_rec_file *f = NULL;
    int rc = promo_rec_file_load(path, &f);
    if (!rc) {
        rc = promo_rec_model_from_file(f, out);
        if (rc && rc != PROMO_ENOMEM)
            promo_fail_prefix(rc, "%s", path);
    }
    promo_rec_file_free(f);
    return rc;
}

char *promo_rec_model_path(promo_store *s, const char *kind)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/rec_%s.bin", promo_store_models_dir(s), kind);
    return promo_strdup(buf);
}

/* ======================================================================= training ==== */

promo_rec_params promo_rec_params_default(void)
{
    promo_rec_params p;
    memset(&p, 0, sizeof p);
    p.factors = 64;
    p.iterations = 15;
    p.cg_steps = 3;
    p.regularization = -1.0; /* each model's own default */
    p.alpha = 2.0;
    p.confidence = 1;
    p.epochs = 100;
    p.learning_rate = 0.05;
    p.hogwild = 0;
    p.init_scale = 0.1;
    p.seed = 1;
    return p;
}

const promo_rec_kind *promo_rec_kind_find(const char *kind)
{
    for (const promo_rec_kind *k = promo_rec_kinds; k->kind; k++)
        if (strcmp(k->kind, kind) == 0)
            return k;
    return NULL;
}

int promo_rec_fit(const char *kind,
                  const promo_rec_data *train,
                  const promo_rec_params *p,
                  promo_rec_model **out)
{
    *out = NULL;
    const promo_rec_kind *k = promo_rec_kind_find(kind);
    if (!k || !k->fit)
        return promo_fail(PROMO_ENOTFOUND, "recommend: unknown model '%s'", kind);
    promo_rec_params def = promo_rec_params_default();
    return k->fit(train, p ? p : &def, out);
}

/* ==================================================================== popularity ==== */

typedef struct popularity {
    uint32_t n_items;
    float *score; /* buyers per item (+ a tiny index tie-break is left to top-K) */
} popularity;

static void pop_free(void *impl)
{
    popularity *p = impl;
    if (p)
        promo_free(p->score);
    promo_free(p);
}

static int pop_score_user(const void *impl, uint32_t user, float *scores)
{
    (void)user;
    const popularity *p = impl;
    memcpy(scores, p->score, p->n_items * sizeof *scores);
    return PROMO_OK;
}

static int pop_score_history(
    const void *impl, const uint32_t *items, const float *values, size_t n, float *scores)
{
    (void)items;
    (void)values;
    (void)n;
    return pop_score_user(impl, 0, scores);
}

static int pop_save(const void *impl, promo_rec_file *f)
{
    const popularity *p = impl;
    return promo_rec_file_add(f, "popularity", PROMO_REC_F32, 1, p->n_items, p->score);
}

static const promo_rec_ops pop_ops = {
    .kind = "popularity",
    .score_user = pop_score_user,
    .score_history = pop_score_history,
    .factors = NULL,
    .save = pop_save,
    .free = pop_free,
};

int promo_rec_popularity_fit(const promo_rec_data *train,
                             const promo_rec_params *p,
                             promo_rec_model **out)
{
    (void)p;
    *out = NULL;
    popularity *pop = promo_calloc(1, sizeof *pop);
    if (!pop)
        return PROMO_ENOMEM;
    pop->n_items = train->m.n_cols;
    if (!(pop->score = promo_calloc(pop->n_items ? pop->n_items : 1, sizeof *pop->score))) {
        pop_free(pop);
        return PROMO_ENOMEM;
    }
    for (uint64_t e = 0; e < train->m.nnz; e++)
        pop->score[train->m.col_idx[e]] += 1.0f;
    return promo_rec_model_new(&pop_ops, pop, train, out);
}

int promo_rec_popularity_load(const promo_rec_file *f,
                              const promo_rec_data *shape,
                              promo_rec_model **out)
{
    *out = NULL;
    uint64_t r, c;
    const float *s = promo_rec_file_get(f, "popularity", PROMO_REC_F32, &r, &c);
    if (!s || r * c != shape->m.n_cols)
        return promo_fail(PROMO_EINPUT, "recommend: popularity file: bad scores");
    popularity *pop = promo_calloc(1, sizeof *pop);
    if (!pop)
        return PROMO_ENOMEM;
    pop->n_items = shape->m.n_cols;
    if (!(pop->score = promo_mallocn(pop->n_items ? pop->n_items : 1, sizeof *pop->score))) {
        pop_free(pop);
        return PROMO_ENOMEM;
    }
    memcpy(pop->score, s, pop->n_items * sizeof *s);
    return promo_rec_model_new(&pop_ops, pop, shape, out);
}
