/* promo/knn.h: item-kNN and user-kNN recommenders on a customer x product matrix.
 *
 * Item-kNN: each product is the vector of its buyers (a column of the customer x product
 * matrix R), optionally re-weighted (TF-IDF or BM25, the product playing the document and its
 * buyers the terms, so a buyer who buys everything counts less), and two products are as
 * similar as the cosine of their vectors. Only the n_neighbours most similar products of each
 * product are kept (a sparse product x product matrix S, rows sorted by column). A customer's
 * score for product j is sum over the products i they bought of r(u,i) * S(i,j): any
 * purchase history scores, including a customer who was not in training (fold-in is free).
 *
 * User-kNN: the same with customers as the vectors (their products the terms); the
 * n_neighbours most similar customers are kept and a customer's score for j is
 * sum over neighbours v of S(u,v) * r(v,j), read from the training matrix.
 *
 * Weightings (x = r(u,i), binary when params.binary; df = how many documents a term occurs
 * in; N = documents; len = the document's total weight, avglen its mean):
 *   NONE  w = x
 *   TFIDF w = sqrt(x) * log((N + 1) / df)                  (tf as in Lucene's classic)
 *   BM25  w = x (k1 + 1) / (k1 (1 - b + b len / avglen) + x) * log((N + 1) / df)
 * (the +1 keeps a term that occurs in every document from weighing exactly 0)
 * (benfred/implicit's bm25_weight; we then take the cosine, implicit's BM25Recommender a raw
 * dot product: normalising keeps a long product's many buyers from dominating its row.)
 * With binary values BM25's length normalisation is one factor per document, which the cosine
 * cancels: BM25 and TF-IDF then give the same similarities (they differ on counts).
 *
 * Usage:
 *   promo_knn_params p = promo_knn_params_default();      // item-kNN, BM25, 100 neighbours
 *   promo_knn *m = NULL;
 *   if (promo_knn_fit(&R, &p, &m)) fprintf(stderr, "%s\n", promo_last_error());
 *   float *s = promo_mallocn(R.n_cols, sizeof *s);
 *   promo_knn_score(m, &R, u, s);                          // scores of every product for u
 *   void *buf; size_t n; promo_knn_save(m, &buf, &n);     // versioned, checksummed bytes
 *   promo_knn_free(m);
 *
 * Ownership: the model owns its arrays; promo_knn_neighbours borrows them. Thread-safety: a
 * fitted model is read-only (score from many threads at once). The fit does not depend on the
 * thread count (each row is computed by one thread in a fixed order, ties broken by index).
 */
#ifndef PROMO_KNN_H
#define PROMO_KNN_H

#include <stddef.h>
#include <stdint.h>

#include <promo/csr.h>
#include <promo/recommend.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which vectors are compared (append only). */
typedef enum promo_knn_kind {
    PROMO_KNN_ITEM = 0, /* products by their buyers */
    PROMO_KNN_USER = 1, /* customers by their products */
    PROMO_KNN_KIND_COUNT
} promo_knn_kind;

/* Weighting before the cosine (append only). */
typedef enum promo_knn_weighting {
    PROMO_KNN_WEIGHT_NONE = 0,
    PROMO_KNN_WEIGHT_TFIDF = 1,
    PROMO_KNN_WEIGHT_BM25 = 2,
    PROMO_KNN_WEIGHT_COUNT
} promo_knn_weighting;

typedef struct promo_knn_params {
    promo_knn_kind kind;           /* default PROMO_KNN_ITEM */
    promo_knn_weighting weighting; /* default PROMO_KNN_WEIGHT_BM25 */
    uint32_t n_neighbours;         /* kept per row (default 100); >= 1 */
    int binary;                    /* 1 (default): every stored value counts as 1 */
    double bm25_k1;                /* term saturation (default 1.2) */
    double bm25_b;                 /* length normalisation in [0, 1] (default 0.75) */
    double shrink;                 /* similarity = dot / (|a| |b| + shrink) (default 0) */
    int n_threads;                 /* 0 = OpenMP default */
} promo_knn_params;

promo_knn_params promo_knn_params_default(void);
/* "item"/"user"; "none"/"tfidf"/"bm25". Static strings ("?" when out of range). */
const char *promo_knn_kind_name(int kind);
const char *promo_knn_weighting_name(int weighting);

typedef struct promo_knn promo_knn;

/* Fit on R (customers x products; values are counts or any non-negative weight; rows sorted
 * as csr.h requires). Errors: PROMO_EUSAGE for bad params, PROMO_EINPUT for a negative or
 * non-finite value, PROMO_ENOMEM. */
int promo_knn_fit(const promo_csr *R, const promo_knn_params *p, promo_knn **out /* OUT */);
void promo_knn_free(promo_knn *m); /* NULL-safe */

/* The kept neighbours: a square CSR (products or customers), row i holds i's neighbours
 * (i itself excluded) with their similarity, columns increasing. Borrowed. */
const promo_csr *promo_knn_neighbours(const promo_knn *m);
promo_knn_params promo_knn_params_of(const promo_knn *m);
uint32_t promo_knn_n_items(const promo_knn *m); /* products the model knows */

/* Scores of every product (out: n_items floats, 0 for products nothing points to) for row u
 * of R. Item-kNN: R is any customers x products matrix with the model's products (the
 * training one, or new customers' histories); user-kNN: R must be the training matrix and
 * u < its rows. Errors: PROMO_EUSAGE when R does not fit the model. Thread-safe. */
int promo_knn_score(const promo_knn *m, const promo_csr *R, uint32_t u, float *out /* OUT */);

/* Item-kNN only: scores from a bare purchase history (n products with weights; weights NULL
 * = all 1), for a customer the model never saw. */
int promo_knn_score_items(const promo_knn *m,
                          const uint32_t *items,
                          const float *weights,
                          size_t n,
                          float *out /* OUT */);

/* Serialise to a new buffer (*buf owned by the caller, promo_free) in recommend.h's
 * versioned, checksummed file (kind "knn"); load checks it all. Saving then loading
 * gives a bit-identical model (same bytes when saved again). Errors: PROMO_EINPUT for a
 * damaged or foreign file, PROMO_EVERSION, PROMO_ENOMEM. */
int promo_knn_save(const promo_knn *m, void **buf /* OUT */, size_t *n /* OUT */);
int promo_knn_load(const void *buf, size_t n, promo_knn **out /* OUT */);

/* ---- in recommend.h's layer (registry rows "knn" and "user-knn") ----
 * A handle over the model and a copy of the training matrix (the histories it scores from):
 * promo train --model knn / user-knn, promo recommend, the evaluation against popularity.
 * p->extra may point to a promo_knn_params (its kind is overridden); else the defaults with
 * p->n_threads. The model file holds the neighbour lists and the training matrix. Item-kNN
 * scores a new customer from their purchases (score_history); user-kNN cannot. */
int promo_knn_rec_fit(const promo_rec_data *train,
                      const promo_rec_params *p,
                      promo_rec_model **out /* OUT */);
int promo_knn_user_rec_fit(const promo_rec_data *train,
                           const promo_rec_params *p,
                           promo_rec_model **out /* OUT */);
int promo_knn_rec_load(const promo_rec_file *f,
                       const promo_rec_data *shape,
                       promo_rec_model **out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
