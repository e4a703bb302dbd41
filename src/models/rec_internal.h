/* src/models/rec_internal.h: what the recommender files share that is not public API: the
 * thread count rule and the loaders the registry (rec_registry.c) points at. */
#ifndef PROMO_REC_INTERNAL_H
#define PROMO_REC_INTERNAL_H

#include <omp.h>

#include <promo/recommend.h>

/* n > 0: n threads; else OpenMP's default. */
static inline int promo_rec_threads(int n)
{
    return n > 0 ? n : omp_get_max_threads();
}

int promo_rec_popularity_load(const promo_rec_file *f,
                              const promo_rec_data *shape,
                              promo_rec_model **out /* OUT */);
int promo_als_load(const promo_rec_file *f, const promo_rec_data *shape, promo_rec_model **out);
int promo_bpr_load(const promo_rec_file *f, const promo_rec_data *shape, promo_rec_model **out);

#endif
