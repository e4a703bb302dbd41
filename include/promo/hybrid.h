/* promo/hybrid.h: a hybrid recommender with customer and product side features (LightFM,
 * Kula 2015), so that new customers and new products get recommendations.
 *
 * Every customer and every product is a weighted set of features (its identity, plus
 * attributes: location, gender, age band for customers; category, price band, brand, name
 * words for products). Each feature f has an embedding e_f (dim floats) and a bias b_f; an
 * entity's embedding is the weighted sum of its features' (weights L1-normalised per entity,
 * as LightFM's normalize). The score of customer u for product i is
 *     s(u, i) = (sum_f w_uf e_f) . (sum_g w_ig e_g) + sum_g w_ig b_g.
 * A customer never seen in training is scored from their attributes alone (their identity
 * feature is simply absent); a new product likewise.
 *
 * Losses (per positive pair (u, i) of the training matrix, pairs visited in a seeded random
 * order each epoch):
 *   WARP (Weston et al. 2011): draw products j not bought by u until one violates
 *        s(u,j) > s(u,i) - 1 (at most max_sampled draws); on a violation after N draws, a
 *        gradient step on the hinge 1 - s(u,i) + s(u,j) scaled by log(floor((n_items-1)/N));
 *   BPR (Rendle et al. 2009): one non-bought j, a step on -ln sigmoid(s(u,i) - s(u,j)).
 * Steps are Adagrad per embedding element (LightFM's default), with an L2 penalty on every
 * feature row touched. Training is sequential SGD: deterministic for a seed.
 *
 * Usage:
 *   promo_hybrid_params p = promo_hybrid_params_default();
 *   promo_hybrid *m = NULL;
 *   promo_hybrid_fit(&R, &UF, &IF, &p, &m);   // R users x items, UF users x F_u, IF items x F_i
 *   promo_hybrid_score(m, feats, weights, n, NULL, scores);  // a customer by features
 *   promo_hybrid_free(m);
 *
 * Ownership: the model owns its arrays (a copy of the item features). Thread-safety: a fitted
 * model is read-only.
 */
#ifndef PROMO_HYBRID_H
#define PROMO_HYBRID_H

#include <stddef.h>
#include <stdint.h>

#include <promo/csr.h>
#include <promo/dict.h>
#include <promo/recommend.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_hybrid_loss {
    PROMO_HYBRID_WARP = 0,
    PROMO_HYBRID_BPR = 1,
    PROMO_HYBRID_LOSS_COUNT
} promo_hybrid_loss;

typedef struct promo_hybrid_params {
    uint32_t dim;           /* embedding size (default 32) */
    promo_hybrid_loss loss; /* default WARP */
    uint32_t epochs;        /* passes over the positive pairs (default 20) */
    double learning_rate;   /* Adagrad step (default 0.05) */
    double l2;              /* L2 penalty per touched feature row (default 1e-6) */
    uint32_t max_sampled;   /* WARP draws per positive at most (default 10) */
    double init_scale;      /* embeddings start U(-s, s) / dim (default 1) */
    uint64_t seed;          /* default 1 */
} promo_hybrid_params;

promo_hybrid_params promo_hybrid_params_default(void);
const char *promo_hybrid_loss_name(int loss); /* "warp", "bpr" */

typedef struct promo_hybrid promo_hybrid;

/* Fit. R: users x items, stored entries are positives (values ignored). UF: users x
 * n_user_features, IF: items x n_item_features (feature weights >= 0; a row with no feature
 * scores 0). Errors: PROMO_EUSAGE for bad params or shapes that do not match, PROMO_EINPUT for
 * a negative or non-finite weight, PROMO_ENOMEM. */
int promo_hybrid_fit(const promo_csr *R,
                     const promo_csr *UF,
                     const promo_csr *IF,
                     const promo_hybrid_params *p,
                     promo_hybrid **out /* OUT */);
void promo_hybrid_free(promo_hybrid *m); /* NULL-safe */

uint32_t promo_hybrid_dim(const promo_hybrid *m);
uint32_t promo_hybrid_n_items(const promo_hybrid *m); /* rows of the training IF */
uint32_t promo_hybrid_n_user_features(const promo_hybrid *m);
/* The training item features, rows L1-normalised (borrowed). */
const promo_csr *promo_hybrid_item_features(const promo_hybrid *m);
uint32_t promo_hybrid_n_item_features(const promo_hybrid *m);

/* The embedding (dim floats) of an entity given by its features (indices into the user or
 * item feature space, weights NULL = all 1; normalised here). */
int promo_hybrid_user_vector(const promo_hybrid *m,
                             const uint32_t *feats,
                             const float *weights,
                             size_t n,
                             float *out /* OUT: dim */);
int promo_hybrid_item_vector(const promo_hybrid *m,
                             const uint32_t *feats,
                             const float *weights,
                             size_t n,
                             float *vec /* OUT: dim */,
                             float *bias /* OUT */);

/* Scores of every item for the customer with the given features: items of IF (NULL = the
 * training item features; another matrix with the same feature space scores new products).
 * out: IF's rows floats. Errors: PROMO_EUSAGE for a feature index out of range. */
int promo_hybrid_score(const promo_hybrid *m,
                       const uint32_t *feats,
                       const float *weights,
                       size_t n,
                       const promo_csr *IF,
                       float *out /* OUT */);

/* Serialise / load (recommenders' container, kind "hybrid"); bit-identical round trip.
 * Errors: PROMO_EINPUT for a damaged or foreign file, PROMO_EVERSION, PROMO_ENOMEM. */
int promo_hybrid_save(const promo_hybrid *m, void **buf /* OUT */, size_t *n /* OUT */);
int promo_hybrid_load(const void *buf, size_t n, promo_hybrid **out /* OUT */);

/* Scores of every item of IF (NULL = the training items) for a customer given directly by
 * an embedding (dim floats). */
int promo_hybrid_score_vector(const promo_hybrid *m,
                              const float *user_vec,
                              const promo_csr *IF,
                              float *out /* OUT */);

/* ------------------------------------------------------------ on a workspace ---- */

/* The side features of a workspace, aligned with an interaction matrix (recommend.h):
 *   customers: "user:ID" for customers with a purchase in the matrix (so one who has none is
 *              scored from attributes alone), and from the customers table "location:X",
 *              "gender:X", "age:30s" (decade), "segment:X" when present;
 *   products:  "item:ID" for products bought in the matrix, "category:X", "brand:X",
 *              "price:N" (N = round(2 log2 price): half-octave bands) and "word:w" for each
 *              lower-cased word of 3+ letters of the name that at least two products share
 *              (the words together weigh at most as much as one other feature).
 * Vocabularies are kept (names -> columns) to describe a new customer or product later. */
typedef struct promo_hybrid_features {
    promo_csr UF;           /* matrix rows x user features (owned) */
    promo_csr IF;           /* matrix columns x item features (owned) */
    promo_dict *user_vocab; /* user feature names (owned) */
    promo_dict *item_vocab; /* item feature names (owned) */
} promo_hybrid_features;

/* Build them for train (its customers/items dictionaries name the rows) from the panel's
 * customers and products tables. Errors: PROMO_EINPUT when train has no ids, PROMO_ENOMEM. */
int promo_hybrid_features_build(const promo_panel *d,
                                const promo_rec_data *train,
                                promo_hybrid_features *out /* OUT */);
void promo_hybrid_features_free(promo_hybrid_features *f); /* NULL-safe on a zeroed struct */

/* A recommend.h handle (kind "hybrid") over a fitted model and the features of its training
 * matrix: score_user from the customer's features, score_history from the mean of the bought
 * products' embeddings (a new customer with a few purchases), the factor view (every
 * customer's and product's embedding, computed once) for top-K and the reverse query.
 * The factor view has one more column than the embeddings: the customer's activity
 * log(1 + products bought in training) minus the log-sum-exp of their scores over every
 * product (the product side is 1). One number per customer, so no customer's list changes;
 * across customers a score becomes log(expected purchases) = log(activity) + log softmax,
 * which is what ranking customers for one product (the reverse query) needs. The activity
 * is saved with the model. Consumes m and feats (also on failure). */
int promo_hybrid_rec_new(promo_hybrid *m /* consumed */,
                         promo_hybrid_features *feats /* consumed */,
                         const promo_rec_data *train,
                         promo_rec_model **out /* OUT */);
/* The registry's loader (promo recommend --model hybrid). */
int promo_hybrid_rec_load(const promo_rec_file *f,
                          const promo_rec_data *shape,
                          promo_rec_model **out /* OUT */);

typedef struct promo_hybrid_train_params {
    promo_hybrid_params model;
    int64_t as_of;       /* 0: the last horizon of the data is held out */
    double horizon_days; /* default 30 */
    size_t k;            /* evaluation K (default 20) */
    size_t k_cold;       /* cold-start K (default 10) */
    int save;            /* 1 (default): <models>/rec_hybrid.bin */
    int n_threads;
} promo_hybrid_train_params;

promo_hybrid_train_params promo_hybrid_train_params_default(void);

typedef struct promo_hybrid_report {
    promo_rec_train_report base; /* as promo train --model als prints it (K = k) */
    /* cold start, on the held-out window: */
    size_t n_cold_users; /* customers with no purchase before the cutoff, one after */
    double cold_user_p, cold_user_p_pop; /* mean Precision@k_cold over them: hybrid (from
                                            their attributes alone), popularity */
    size_t n_cold_items;                 /* products never bought before the cutoff, bought after */
    double cold_item_p, cold_item_p_pop; /* mean Precision@k_cold of the reverse query (the
                                            k_cold customers it targets) over those products:
                                            hybrid (from the product's attributes), the most
                                            active customers */
    double cold_item_p_similar;          /* the same for promo similar's customers (buyers
                                            of the 10 registered products most like it) */
    size_t k_cold;
    uint32_t n_user_features, n_item_features;
} promo_hybrid_report;

/* Fit on the purchases before the cutoff, evaluate beside popularity (recommend.h), measure
 * cold start, save the model (one store transaction with the evaluation rows). */
int promo_hybrid_train_workspace(promo_store *s,
                                 const promo_hybrid_train_params *p,
                                 promo_hybrid_report *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
