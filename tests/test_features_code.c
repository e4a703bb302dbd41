/* The stored features' fingerprint names the feature code (PROMO_PANEL_FEATURES_CODE): a
 * score maps models/features_customers.bin only while that name matches the binary's. The name
 * is a promise that the same tables give the same matrix, and nothing else keeps it: this test
 * pins the matrix of a small world to the name. When it fails, the features changed: bump
 * PROMO_PANEL_FEATURES_CODE in include/promo/panel.h (so workspaces stored by the old code
 * recompute instead of scoring stale rows) and put the new name and digest below. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/panel.h>

#include "t.h"
#include "t_world.h"

#define PINNED_CODE   "features-2026-12-05a"
#define PINNED_DIGEST 0xf447d6cc2a8e05ddULL

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* A digest of the stored matrix (layout in panel.c, promo_panel_stored_write_async) that a change of
 * the features moves and another CPU does not: the names, ids and segments as bytes, each
 * feature column as its sum and NaN count to 6 significant digits (libm and BLAS may differ in
 * the last bits between machines; a feature that changes moves a sum far more). The
 * fingerprint (bytes 64-575, unique per write) is left out. */
static uint64_t matrix_digest(const char *path, size_t *n_out, size_t *nf_out)
{
    FILE *f = fopen(path, "rb");
    T_ASSERT_MSG(f != NULL, "cannot open %s", path);
    T_ASSERT(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    T_ASSERT(len >= 576);
    rewind(f);
    unsigned char *b = malloc((size_t)len);
    T_ASSERT(b != NULL && fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    uint64_t hdr[8];
    memcpy(hdr, b, sizeof hdr);
    size_t n = hdr[1], nf = hdr[2], names = pad8(hdr[4]), ids = pad8(hdr[5]);
    size_t off_x = 576 + names + 8 * n + ids + pad8(2 * n);
    T_ASSERT_EQ_INT((long long)(off_x + 4 * n * nf), len);
    uint64_t h = fnv(0xcbf29ce484222325ULL, b + 576, off_x - 576 - pad8(2 * n));
    h = fnv(h, b + off_x - pad8(2 * n), 2 * n);
    for (size_t j = 0; j < nf; j++) {
        double sum = 0;
        size_t nan = 0;
        for (size_t i = 0; i < n; i++) {
            float v;
            memcpy(&v, b + off_x + 4 * (i * nf + j), 4);
            if (isnan(v))
                nan++;
            else
                sum += v;
        }
        char col[64];
        int k = snprintf(col, sizeof col, "%.5e/%zu;", sum, nan);
        h = fnv(h, col, (size_t)k);
    }
    free(b);
    *n_out = n;
    *nf_out = nf;
    return h;
}

T_TEST(features_code_names_the_stored_matrix)
{
    char ws[512], cmd[1200], path[1200], *err = NULL;
    t_world_write(ws, sizeof ws, 300, 30, 4, 8, 9000);
    snprintf(cmd, sizeof cmd, "features --ws %s --as-of 2024-01-01", ws);
    int rc = t_promo(cmd, NULL, &err);
    T_ASSERT_MSG(rc == 0, "features: %s", err);
    free(err);
    snprintf(path, sizeof path, "%s/models/features_customers.bin", ws);
    size_t n = 0, nf = 0;
    uint64_t h = matrix_digest(path, &n, &nf);
    T_ASSERT(n > 0 && nf > 0);
    T_ASSERT_MSG(strcmp(PROMO_PANEL_FEATURES_CODE, PINNED_CODE) == 0 && h == PINNED_DIGEST,
                 "the stored features (%zu x %zu) are %s with digest 0x%016llxULL, pinned as %s "
                 "with 0x%016llxULL: if the features changed, bump PROMO_PANEL_FEATURES_CODE and "
                 "pin the new pair in this test",
                 n, nf, PROMO_PANEL_FEATURES_CODE, (unsigned long long)h, PINNED_CODE,
                 (unsigned long long)PINNED_DIGEST);
}
