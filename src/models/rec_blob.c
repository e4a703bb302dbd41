/* The recommenders' model container (rec_blob.h): a growable byte buffer for writing and a
 * bounds-checked cursor for reading, so no model file can make a reader run off its end. */
#include "models/rec_blob.h"

#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>

#define REC_MAGIC      "PROMOMDL"
#define REC_VERSION    1u
#define REC_KIND_BYTES 16
#define REC_HEADER     (8 + 4 + REC_KIND_BYTES + 4 + 8)

uint64_t rec_fnv1a64(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void put(rec_wbuf *w, const void *v, size_t n)
{
    if (w->failed || !n)
        return;
    void *p = w->p;
    if (promo_grow(&p, &w->cap, w->n + n, 1)) {
        w->failed = 1;
        return;
    }
    w->p = p;
    memcpy(w->p + w->n, v, n);
    w->n += n;
}

void rec_wbuf_begin(rec_wbuf *w, const char *kind, uint32_t version)
{
    memset(w, 0, sizeof *w);
    char k[REC_KIND_BYTES] = {0};
    strncpy(k, kind, REC_KIND_BYTES - 1);
    uint32_t cv = REC_VERSION;
    uint64_t len = 0;
    put(w, REC_MAGIC, 8);
    put(w, &cv, 4);
    put(w, k, REC_KIND_BYTES);
    put(w, &version, 4);
    put(w, &len, 8); /* patched by rec_wbuf_end */
}

void rec_put_u32(rec_wbuf *w, uint32_t v)
{
    put(w, &v, 4);
}
void rec_put_u64(rec_wbuf *w, uint64_t v)
{
    put(w, &v, 8);
}
void rec_put_f64(rec_wbuf *w, double v)
{
    put(w, &v, 8);
}
void rec_put_f32s(rec_wbuf *w, const float *v, size_t n)
{
    put(w, v, n * sizeof *v);
}
void rec_put_u32s(rec_wbuf *w, const uint32_t *v, size_t n)
{
    put(w, v, n * sizeof *v);
}
void rec_put_f64s(rec_wbuf *w, const double *v, size_t n)
{
    put(w, v, n * sizeof *v);
}

void rec_put_str(rec_wbuf *w, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : 0;
    rec_put_u32(w, n);
    put(w, s, n);
}

void rec_put_csr(rec_wbuf *w, const promo_csr *m)
{
    rec_put_u32(w, m->n_rows);
    rec_put_u32(w, m->n_cols);
    rec_put_u64(w, m->nnz);
    if (m->row_ptr)
        put(w, m->row_ptr, ((size_t)m->n_rows + 1) * sizeof *m->row_ptr);
    else
        rec_put_u64(w, 0); /* an empty matrix without arrays: row_ptr = {0} */
    rec_put_u32s(w, m->col_idx, m->nnz);
    rec_put_f32s(w, m->values, m->nnz);
}

int rec_wbuf_end(rec_wbuf *w, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!w->failed) {
        uint64_t len = w->n - REC_HEADER;
        memcpy(w->p + REC_HEADER - 8, &len, 8);
        uint64_t h = rec_fnv1a64(w->p, w->n);
        put(w, &h, 8);
    }
    if (w->failed) {
        promo_free(w->p);
        memset(w, 0, sizeof *w);
        return promo_fail(PROMO_ENOMEM, "model: out of memory while serialising");
    }
    *out = w->p;
    *n = w->n;
    memset(w, 0, sizeof *w);
    return PROMO_OK;
}

int rec_rbuf_open(rec_rbuf *r, const void *buf, size_t n, const char *kind, uint32_t *version)
{
    memset(r, 0, sizeof *r);
    r->what = kind;
    const unsigned char *b = buf;
    if (!b || n < REC_HEADER + 8 || memcmp(b, REC_MAGIC, 8) != 0)
        return promo_fail(PROMO_EINPUT, "%s model: not a promo recommender model file", kind);
    uint32_t cv;
    memcpy(&cv, b + 8, 4);
    if (cv != REC_VERSION)
        return promo_fail(PROMO_EVERSION, "%s model: container version %u (this build reads %u)",
                          kind, cv, REC_VERSION);
    char k[REC_KIND_BYTES + 1] = {0};
    memcpy(k, b + 12, REC_KIND_BYTES);
    if (strcmp(k, kind) != 0)
        return promo_fail(PROMO_EINPUT, "%s model: the file holds a '%s' model", kind, k);
    uint64_t h;
    memcpy(&h, b + n - 8, 8);
    if (h != rec_fnv1a64(b, n - 8))
        return promo_fail(PROMO_EINPUT, "%s model: checksum mismatch (damaged or cut)", kind);
    uint64_t len;
    memcpy(version, b + 12 + REC_KIND_BYTES, 4);
    memcpy(&len, b + REC_HEADER - 8, 8);
    if (len != n - 8 - REC_HEADER)
        return promo_fail(PROMO_EINPUT, "%s model: payload length does not match the file", kind);
    r->p = b + REC_HEADER;
    r->left = (size_t)len;
    return PROMO_OK;
}

static int get(rec_rbuf *r, void *v, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = 1;
        memset(v, 0, n);
        return -1;
    }
    memcpy(v, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

uint32_t rec_get_u32(rec_rbuf *r)
{
    uint32_t v;
    get(r, &v, 4);
    return v;
}
uint64_t rec_get_u64(rec_rbuf *r)
{
    uint64_t v;
    get(r, &v, 8);
    return v;
}
double rec_get_f64(rec_rbuf *r)
{
    double v;
    get(r, &v, 8);
    return v;
}

static void *get_array(rec_rbuf *r, size_t n, size_t size)
{
    if (r->bad || (size && n > r->left / size)) {
        r->bad = 1;
        return NULL;
    }
    void *a = promo_mallocn(n ? n : 1, size);
    if (!a)
        return NULL;
    get(r, a, n * size);
    return a;
}

float *rec_get_f32s(rec_rbuf *r, size_t n)
{
    return get_array(r, n, sizeof(float));
}
uint32_t *rec_get_u32s(rec_rbuf *r, size_t n)
{
    return get_array(r, n, sizeof(uint32_t));
}
double *rec_get_f64s(rec_rbuf *r, size_t n)
{
    return get_array(r, n, sizeof(double));
}

char *rec_get_str(rec_rbuf *r)
{
    uint32_t n = rec_get_u32(r);
    char *s = get_array(r, (size_t)n + 1, 1);
    if (!s)
        return NULL;
    /* get_array read n + 1 bytes; give the last one back and terminate */
    r->p--;
    r->left++;
    s[n] = '\0';
    return s;
}

int rec_get_csr(rec_rbuf *r, promo_csr *m)
{
    memset(m, 0, sizeof *m);
    m->owned = 1;
    m->n_rows = rec_get_u32(r);
    m->n_cols = rec_get_u32(r);
    m->nnz = rec_get_u64(r);
    if (r->bad || m->nnz > r->left)
        goto bad;
    m->row_ptr = get_array(r, (size_t)m->n_rows + 1, sizeof *m->row_ptr);
    if (!m->row_ptr && !r->bad)
        goto nomem;
    m->col_idx = rec_get_u32s(r, m->nnz);
    if (!m->col_idx && !r->bad)
        goto nomem;
    m->values = rec_get_f32s(r, m->nnz);
    if (!m->values && !r->bad)
        goto nomem;
    if (r->bad)
        goto bad;
    if (promo_csr_check(m)) {
        promo_csr_free(m);
        return promo_fail(PROMO_EINPUT, "%s model: bad sparse matrix (%s)", r->what,
                          promo_last_error());
    }
    return PROMO_OK;
bad:
    promo_csr_free(m);
    r->bad = 1;
    return promo_fail(PROMO_EINPUT, "%s model: truncated", r->what);
nomem:
    promo_csr_free(m);
    return PROMO_ENOMEM;
}

int rec_rbuf_finish(rec_rbuf *r)
{
    if (r->bad || r->left)
        return promo_fail(PROMO_EINPUT, "%s model: truncated or trailing bytes", r->what);
    return PROMO_OK;
}
