/* src/models/rec_blob.h (private to src/models): the small binary container the recommender
 * models of this directory (knn, mf_category, hybrid) are saved in.
 *
 * Layout, little-endian (the only byte order promo builds for):
 *     8 bytes  magic "PROMOMDL" (not recommend.h's "PROMOREC" container)
 *     u32      container version (1)
 *     16 bytes model kind, NUL-padded ("knn", "mf_category", "hybrid")
 *     u32      model format version (each model's own)
 *     u64      payload bytes
 *     payload  (each model's fields, written with the put_* calls below)
 *     u64      FNV-1a 64 of every byte before it
 * Why a container of our own: each file says what it is and which version wrote it, and a
 * flipped byte or a cut file is refused (PROMO_EINPUT naming the model) before any field is
 * trusted. Readers also bound every count they read by the bytes that remain. */
#ifndef PROMO_REC_BLOB_H
#define PROMO_REC_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include <promo/csr.h>

typedef struct rec_wbuf {
    unsigned char *p; /* bytes written so far (promo_malloc'd) */
    size_t n, cap;    /* bytes used / allocated */
    int failed;       /* an allocation failed: every later put is a no-op */
} rec_wbuf;

/* Start a container of `kind` (<= 15 chars) at model format version `version`. */
void rec_wbuf_begin(rec_wbuf *w, const char *kind, uint32_t version);
void rec_put_u32(rec_wbuf *w, uint32_t v);
void rec_put_u64(rec_wbuf *w, uint64_t v);
void rec_put_f64(rec_wbuf *w, double v);
void rec_put_f32s(rec_wbuf *w, const float *v, size_t n);
void rec_put_u32s(rec_wbuf *w, const uint32_t *v, size_t n);
void rec_put_f64s(rec_wbuf *w, const double *v, size_t n);
void rec_put_str(rec_wbuf *w, const char *s); /* u32 length + bytes (NULL as length 0) */
void rec_put_csr(rec_wbuf *w, const promo_csr *m);
/* Close the container: payload length and checksum. On success out and n hold the bytes (the
 * caller promo_frees the bytes); PROMO_ENOMEM if any put failed (w is freed either way). */
int rec_wbuf_end(rec_wbuf *w, void **out /* OUT */, size_t *n /* OUT */);

typedef struct rec_rbuf {
    const unsigned char *p; /* payload cursor */
    size_t left;            /* payload bytes left */
    const char *what;       /* model name for messages */
    int bad;                /* a read ran past the end: every later get returns 0 */
} rec_rbuf;

/* Check magic, container version, kind, checksum and length of buf; on success r reads the
 * payload and *version is the model format version. Errors: PROMO_EINPUT (not a model of
 * this kind, damaged, cut), PROMO_EVERSION (a container version we do not read). */
int rec_rbuf_open(rec_rbuf *r, const void *buf, size_t n, const char *kind, uint32_t *version);
uint32_t rec_get_u32(rec_rbuf *r);
uint64_t rec_get_u64(rec_rbuf *r);
double rec_get_f64(rec_rbuf *r);
/* Arrays: n elements into a new promo_malloc'd array (NULL and r->bad set when the payload is
 * short; NULL without bad when allocation fails: check promo_last_error). n may be 0. */
float *rec_get_f32s(rec_rbuf *r, size_t n);
uint32_t *rec_get_u32s(rec_rbuf *r, size_t n);
double *rec_get_f64s(rec_rbuf *r, size_t n);
char *rec_get_str(rec_rbuf *r); /* new string (promo_free) */
/* A CSR written by rec_put_csr, checked (promo_csr_check) into *m (owned). */
int rec_get_csr(rec_rbuf *r, promo_csr *m /* OUT */);
/* PROMO_EINPUT "<what>: truncated" when a read ran short or bytes remain; else 0. */
int rec_rbuf_finish(rec_rbuf *r);

/* FNV-1a 64. */
uint64_t rec_fnv1a64(const void *p, size_t n);

#endif
