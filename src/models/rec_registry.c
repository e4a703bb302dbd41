/* The recommender registry (recommend.h, promo_rec_kinds): one row per model kind, so that
 * promo train --model KIND, promo recommend --model KIND and promo_rec_model_load find it.
 * A new recommender adds its row here (keep "popularity" last: it is the baseline). */
#include <stddef.h>

#include <promo/hybrid.h>
#include <promo/knn.h>
#include <promo/recommend.h>

#include "models/rec_internal.h"

const promo_rec_kind promo_rec_kinds[] = {
    {"als", promo_als_fit, promo_als_load, "implicit ALS (Hu-Koren-Volinsky, conjugate gradient)"},
    {"bpr", promo_bpr_fit, promo_bpr_load, "Bayesian personalised ranking by SGD"},
    {"knn", promo_knn_rec_fit, promo_knn_rec_load,
     "item-kNN (cosine on BM25-weighted buyers, 100 neighbours per product)"},
    {"user-knn", promo_knn_user_rec_fit, promo_knn_rec_load,
     "user-kNN (cosine on BM25-weighted purchases, 100 neighbours per customer)"},
    {"hybrid", NULL, promo_hybrid_rec_load,
     "customer and product side features, WARP (trained by promo train --model hybrid)"},
    {"popularity", promo_rec_popularity_fit, promo_rec_popularity_load,
     "the most bought products (the baseline)"},
    {NULL, NULL, NULL, NULL},
};
