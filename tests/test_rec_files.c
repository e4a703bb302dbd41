/* Model files written by an earlier build still load, and saving what was loaded gives the
 * same bytes: the recommenders' file formats (recommend.h's container and every model's
 * sections) are unchanged by later refactoring.
 *
 * tests/fixtures/rec_models/ was written at commit 950f31d (before the recommenders' save/load
 * glue was folded into shared functions) by
 *   promo generate --ws W --customers 60 --products 30 --categories 5 --stores 2
 *                  --promotions 10 --transactions 1500 --months 6 --no-events
 *   promo train --ws W --model als|bpr|knn|user-knn --factors 8 --iterations 3
 *   promo train --ws W --model hybrid --factors 8 --epochs 3
 *   promo train --ws W --model mf --epochs 50
 * (the .bin files of W/models; the interaction matrix renamed interactions.bin). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/mf_category.h>
#include <promo/recommend.h>

#include "t.h"

#define DIR "tests/fixtures/rec_models/"

static char *fixture(const char *name, size_t *n)
{
    char *b = t_read_file(name, n);
    T_ASSERT_MSG(b != NULL, "cannot read %s", name);
    return b;
}

static void same_bytes(const char *name, const void *old, size_t n_old, const void *now, size_t n)
{
    T_ASSERT_MSG(n == n_old, "%s: %zu bytes written again, %zu in the old file", name, n, n_old);
    T_ASSERT_MSG(memcmp(old, now, n) == 0, "%s: the bytes written again differ", name);
}

T_TEST(rec_model_files_of_an_earlier_build_load_and_save_unchanged)
{
    static const char *const kinds[] = {"als", "bpr", "knn", "user-knn", "hybrid"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        char path[256];
        snprintf(path, sizeof path, DIR "rec_%s.bin", kinds[i]);
        size_t n_old = 0;
        char *old = fixture(path, &n_old);
        promo_rec_model *m = NULL;
        T_OK(promo_rec_model_load(path, &m));
        T_ASSERT_STR_EQ(promo_rec_model_kind(m), kinds[i]);
        /* it scores: every item of the first customer gets a finite score */
        uint32_t ni = promo_rec_model_n_items(m);
        float *sc = promo_mallocn(ni, sizeof *sc);
        T_ASSERT(sc && ni > 0);
        T_OK(promo_rec_model_score_user(m, 0, sc));
        for (uint32_t j = 0; j < ni; j++)
            T_ASSERT_MSG(isfinite(sc[j]), "%s: item %u scores %g", kinds[i], j, sc[j]);
        promo_free(sc);
        promo_rec_file *f = NULL;
        void *now = NULL;
        size_t n = 0;
        T_OK(promo_rec_model_to_file(m, &f));
        T_OK(promo_rec_file_bytes(f, &now, &n));
        same_bytes(path, old, n_old, now, n);
        promo_free(now);
        promo_rec_file_free(f);
        promo_rec_model_free(m);
        free(old);
    }
}

T_TEST(rec_category_mf_and_interaction_files_of_an_earlier_build_round_trip)
{
    size_t n_old = 0, n = 0;
    char *old = fixture(DIR "mf_category.bin", &n_old);
    promo_mf *mf = NULL;
    T_OK(promo_mf_load(old, n_old, &mf));
    void *now = NULL;
    T_OK(promo_mf_save(mf, &now, &n));
    same_bytes("mf_category.bin", old, n_old, now, n);
    promo_free(now);
    promo_mf_free(mf);
    free(old);

    old = fixture(DIR "interactions.bin", &n_old);
    promo_rec_file *f = NULL, *g = NULL;
    T_OK(promo_rec_file_parse(old, n_old, "interactions.bin", &f));
    promo_rec_data d;
    T_OK(promo_rec_data_from_file(f, &d));
    T_ASSERT(d.m.n_rows > 0 && d.m.n_cols > 0 && d.m.nnz > 0);
    T_OK(promo_rec_data_to_file(&d, &g));
    T_OK(promo_rec_file_bytes(g, &now, &n));
    same_bytes("interactions.bin", old, n_old, now, n);
    promo_free(now);
    promo_rec_file_free(f);
    promo_rec_file_free(g);
    promo_rec_data_free(&d);
    free(old);
}
