/* Sections of the kNN, category-MF and hybrid model files (rec_sections.h). */
#include "models/rec_sections.h"

#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>

static void sec_name(char *out, const char *prefix, const char *suffix)
{
    snprintf(out, PROMO_REC_NAME_MAX, "%s_%s", prefix, suffix);
}

int rec_add_csr(promo_rec_file *f, const char *prefix, const promo_csr *m)
{
    char n[PROMO_REC_NAME_MAX];
    uint32_t shape[2] = {m->n_rows, m->n_cols};
    uint64_t zero = 0;
    int rc;
    sec_name(n, prefix, "shape");
    if ((rc = promo_rec_file_add(f, n, PROMO_REC_U32, 1, 2, shape)))
        return rc;
    sec_name(n, prefix, "ptr");
    if ((rc = promo_rec_file_add(f, n, PROMO_REC_U64, 1, (uint64_t)m->n_rows + 1,
                                 m->row_ptr ? (const void *)m->row_ptr : (const void *)&zero)))
        return rc;
    sec_name(n, prefix, "col");
    if ((rc = promo_rec_file_add(f, n, PROMO_REC_U32, 1, m->nnz, m->col_idx)))
        return rc;
    sec_name(n, prefix, "val");
    return promo_rec_file_add(f, n, PROMO_REC_F32, 1, m->nnz, m->values);
}

int rec_get_copy(
    const promo_rec_file *f, const char *name, promo_rec_dtype dtype, uint64_t n, void **out)
{
    static const size_t size[] = {4, 4, 8, 8, 1, 8};
    *out = NULL;
    uint64_t r = 0, c = 0;
    const void *p = promo_rec_file_get(f, name, dtype, &r, &c);
    if (!p || r * c != n)
        return promo_fail(PROMO_EINPUT, "%s model: section '%s' missing or of the wrong size",
                          promo_rec_file_kind(f), name);
    if (!(*out = promo_mallocn(n ? (size_t)n : 1, size[dtype])))
        return PROMO_ENOMEM;
    if (n)
        memcpy(*out, p, (size_t)n * size[dtype]);
    return PROMO_OK;
}

int rec_get_csr(const promo_rec_file *f, const char *prefix, promo_csr *m)
{
    memset(m, 0, sizeof *m);
    m->owned = 1;
    char n[PROMO_REC_NAME_MAX];
    uint64_t r = 0, c = 0;
    sec_name(n, prefix, "shape");
    const uint32_t *shape = promo_rec_file_get(f, n, PROMO_REC_U32, &r, &c);
    if (!shape || r * c != 2)
        return promo_fail(PROMO_EINPUT, "%s model: section '%s' missing", promo_rec_file_kind(f),
                          n);
    m->n_rows = shape[0];
    m->n_cols = shape[1];
    sec_name(n, prefix, "col");
    const void *cols = promo_rec_file_get(f, n, PROMO_REC_U32, &r, &c);
    if (!cols)
        return promo_fail(PROMO_EINPUT, "%s model: section '%s' missing", promo_rec_file_kind(f),
                          n);
    m->nnz = r * c;
    int rc;
    sec_name(n, prefix, "ptr");
    if ((rc = rec_get_copy(f, n, PROMO_REC_U64, (uint64_t)m->n_rows + 1, (void **)&m->row_ptr)))
        goto fail;
    sec_name(n, prefix, "col");
    if ((rc = rec_get_copy(f, n, PROMO_REC_U32, m->nnz, (void **)&m->col_idx)))
        goto fail;
    sec_name(n, prefix, "val");
    if ((rc = rec_get_copy(f, n, PROMO_REC_F32, m->nnz, (void **)&m->values)))
        goto fail;
    if (promo_csr_check(m)) {
        rc = promo_fail(PROMO_EINPUT, "%s model: bad sparse matrix '%s' (%s)",
                        promo_rec_file_kind(f), prefix, promo_last_error());
        goto fail;
    }
    return PROMO_OK;
fail:
    promo_csr_free(m);
    return rc;
}

int rec_file_to_bytes(promo_rec_file *f, void **buf, size_t *n)
{
    *buf = NULL;
    *n = 0;
    int rc = promo_rec_file_bytes(f, buf, n);
    promo_rec_file_free(f);
    return rc;
}

int rec_file_from_bytes(const void *buf, size_t n, const char *kind, promo_rec_file **out)
{
    char what[64];
    snprintf(what, sizeof what, "%s model", kind);
    int rc = promo_rec_file_parse(buf, n, what, out);
    if (rc)
        return rc;
    if (strcmp(promo_rec_file_kind(*out), kind) != 0) {
        rc = promo_fail(PROMO_EINPUT, "%s: the file holds a '%s' model", what,
                        promo_rec_file_kind(*out));
        promo_rec_file_free(*out);
        *out = NULL;
    }
    return rc;
}

int rec_save_bytes(const char *kind,
                   int (*add)(const void *m, promo_rec_file *f),
                   const void *m,
                   void **buf,
                   size_t *n)
{
    *buf = NULL;
    *n = 0;
    promo_rec_file *f = NULL;
    int rc = promo_rec_file_new(kind, &f);
    if (!rc && (rc = add(m, f))) {
        promo_rec_file_free(f);
        return rc;
    }
    return rc ? rc : rec_file_to_bytes(f, buf, n);
}

int rec_load_bytes(const void *buf,
                   size_t n,
                   const char *kind,
                   int (*read)(const promo_rec_file *f, void *out),
                   void *out)
{
    promo_rec_file *f = NULL;
    int rc = rec_file_from_bytes(buf, n, kind, &f);
    if (!rc)
        rc = read(f, out);
    promo_rec_file_free(f);
    return rc;
}
