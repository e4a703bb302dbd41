/* src/models/uplift_internal.h: the fitted uplift model's layout, shared by uplift.c (fitting,
 * predicting) and uplift_io.c (saving and loading). Private to src/models. */
#ifndef PROMO_UPLIFT_INTERNAL_H
#define PROMO_UPLIFT_INTERNAL_H

#include <stddef.h>

#include <promo/learner.h>
#include <promo/uplift.h>

#define N_FOLDS 2 /* cross-fitting folds of R and DR (DR keeps N_FOLDS x n_arms outcome models) */

struct promo_uplift {
    promo_uplift_learner learner;
    int n_arms;
    size_t d;
    int binary;
    int weighting;               /* propensity_weighting at fit */
    double clip;                 /* propensity clipping */
    double *share;               /* n_arms observed (weighted) arm shares */
    promo_learner *prop;         /* MULTICLASS P(arm | x) on all training rows, or NULL */
    promo_learner *s;            /* S: the outcome model on [x | one-hot arm] */
    promo_learner **mu;          /* T, X: n_arms outcome models; DR: N_FOLDS x n_arms */
    promo_learner **tau;         /* X: 2 per treatment arm (tau0, tau1); R, DR: 1 per arm */
    promo_uplift_forest *forest; /* TREE, FOREST */
    promo_uplift_overlap overlap;
};

#endif
