/* The recommender registry (recommend.h, promo_rec_kinds): one row per model kind, so that
 * promo train --model KIND, promo recommend --model KIND and promo_rec_model_load find it.
 * A new recommender adds its row here (keep "popularity" last: it is the baseline). */
#include <stddef.h>

#include <promo/recommend.h>

#include "models/rec_internal.h"

const promo_rec_kind promo_rec_kinds[] = {
    {"als", promo_als_fit, promo_als_load, "implicit ALS (Hu-Koren-Volinsky, conjugate gradient)"},
    {"bpr", promo_bpr_fit, promo_bpr_load, "Bayesian personalised ranking by SGD"},
    {"popularity", promo_rec_popularity_fit, promo_rec_popularity_load,
     "the most bought products (the baseline)"},
    {NULL, NULL, NULL, NULL},
};
