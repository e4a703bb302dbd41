/* promo/recommend.h: recommenders: which products each customer should be offered, and which
 * customers most likely want product X.
 *
 * One common layer that every recommender (ALS, BPR here; kNN, category MF, hybrid beside
 * them) plugs into:
 *   - promo_rec_data: the customer x product interaction matrix of a time window, with the
 *     customer and product ids; built once from the panel's purchase index and stored in the
 *     workspace (models/interactions_<as-of>.bin) so that every model reuses it;
 *   - promo_rec_file: the versioned, checksummed binary container of every recommender file
 *     (factor matrices, neighbour lists, interaction matrices): named typed sections;
 *   - promo_rec_model: a recommender handle (a small table of functions over the model's own
 *     state): score a customer over every item, score a new customer from a few purchases
 *     (fold-in, no retraining), save; the engine gives top-K per customer (blocked GEMM +
 *     partial selection for factor models), the reverse query (top customers for item X) and
 *     the evaluation on a time split against popularity;
 *   - implicit ALS (Hu, Koren & Volinsky 2008, conjugate-gradient solver of Takacs et al.
 *     2011) and BPR (Rendle et al. 2009) by SGD.
 *
 * Rows and columns: a model's users are the rows of the matrix it was trained on (customer
 * ids in promo_rec_data.customers), its items the columns (product ids in .items). Every
 * score is "higher = more likely"; scores of different models are not comparable.
 *
 * Usage (train, query, evaluate):
 *   promo_panel d;        promo_panel_load(store, 0, &d);
 *   promo_rec_data tr, te;
 *   promo_rec_data_from_panel(&d, PROMO_REC_BEGIN, as_of, &tr);          // history
 *   promo_rec_data_from_panel(&d, as_of, as_of + 30 * 86400, &te);       // held-out window
 *   promo_rec_params p = promo_rec_params_default();  p.factors = 64;
 *   promo_rec_model *m = NULL;
 *   if (promo_rec_fit("als", &tr, &p, &m)) fprintf(stderr, "%s\n", promo_last_error());
 *   promo_rec_query q = promo_rec_query_default();  q.k = 10;  q.history = &tr.m;
 *   promo_rec_topk top;   promo_rec_topk_all(m, &q, &top);   // every customer
 *   promo_rec_metrics e;  promo_rec_evaluate(m, &tr, &te, &q, &e);
 *   promo_rec_topk_free(&top); promo_rec_model_free(m); promo_rec_data_free(&te); ...
 *
 * Ownership: handles (promo_rec_model, promo_rec_file) from _new/_load/_fit, freed by
 * NULL-safe _free; structs the caller holds (promo_rec_data, promo_rec_topk) own their arrays
 * and are freed by the matching _free (NULL-safe on zeroed structs). Thread-safety: a built
 * model is read-only and may be queried from several threads at once; training and
 * evaluation take n_threads and their results do not depend on it (except BPR with
 * hogwild = 1, which says so).
 *
 * Errors: PROMO_EUSAGE for bad parameters (message names the parameter), PROMO_EINPUT for a
 * matrix that breaks the CSR invariants or ids that do not match, PROMO_EVERSION / PROMO_EINPUT
 * for a model file of another version / a damaged one (checksum, truncation; message names
 * the path), PROMO_ENOTFOUND for an unknown customer, product or model kind, PROMO_EIO,
 * PROMO_ENOMEM.
 */
#ifndef PROMO_RECOMMEND_H
#define PROMO_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include <promo/csr.h>
#include <promo/dict.h>
#include <promo/panel.h>
#include <promo/report.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;
typedef struct promo_panel promo_panel;

#define PROMO_REC_NONE  UINT32_MAX /* "no item / no customer" in top-K padding */
#define PROMO_REC_BEGIN INT64_MIN  /* window start: from the beginning of the data */

/* ================================================================ interaction matrix === */

/* The customer x product purchases of one window [from, to): value = distinct orders that
 * contain the product (the features' PROMO_IX_COUNT definition of a purchase line: ts known,
 * quantity > 0, unit_price >= 0, a known product). Rows are the panel's customer keys (every
 * transactions.customer_id, so a customer whose first purchase is after `to` has an empty
 * row: a cold-start customer), columns the products-table rows, both in the panel's order,
 * so matrices of different windows of one panel align row for row. */
typedef struct promo_rec_data {
    int64_t from, to;      /* the window, seconds (PROMO_REC_BEGIN = from the start) */
    promo_csr m;           /* n_customers x n_items, owned */
    promo_dict *customers; /* id of row i = promo_dict_key(customers, i); owned; NULL = unnamed
                             (rows are numbers, e.g. a benchmark matrix) */
    promo_dict *items;     /* id of column j; owned; NULL = unnamed */
    uint64_t source_rows;  /* transactions rows of the panel it came from (0 = not from one);
                              with source_max_ts, what a stored matrix is checked against */
    int64_t source_max_ts; /* the panel's last purchase time */
} promo_rec_data;

/* Purchases in [from, to) from the panel's index (one pass, parallel over customers).
 * Errors: PROMO_EUSAGE if from >= to or the panel has no purchase index, PROMO_ENOMEM. */
int promo_rec_data_from_panel(const promo_panel *d,
                              int64_t from,
                              int64_t to,
                              promo_rec_data *out /* OUT */);
/* Events as implicit feedback (rec_events.c): the kinds view, cart, favorite, in this order. */
#define PROMO_REC_EVENT_KINDS 3
/* "view=0.1,cart=0.5,favorite=0.5" (any subset) into w (0 for a kind not named). A purchase
 * kind, an unknown kind or a weight outside (0, 1000]: PROMO_EUSAGE naming --events. */
int promo_rec_event_weights_parse(const char *spec, double w[PROMO_REC_EVENT_KINDS]);
/* out = the purchase matrix plus, for each event of a weighted kind in the matrix's window on
 * one of its customers and products, that kind's weight: same shape and ids (a customer who
 * only browsed has no row). *n_events is the number of events added. No events table:
 * PROMO_EUSAGE. */
int promo_rec_data_add_events(promo_store *s,
                              const promo_rec_data *purchases,
                              const double w[PROMO_REC_EVENT_KINDS],
                              promo_rec_data *out /* OUT */,
                              uint64_t *n_events /* OUT */);
/* Wrap a matrix: out takes over m's arrays (m is zeroed: consumed); ids NULL. The matrix is
 * checked (promo_csr_check). */
int promo_rec_data_from_csr(promo_csr *m /* consumed */, promo_rec_data *out /* OUT */);
void promo_rec_data_free(promo_rec_data *d); /* NULL-safe */

/* Row of customer `id`, or PROMO_REC_NONE. Column of product `id`, or PROMO_REC_NONE. */
uint32_t promo_rec_data_customer(const promo_rec_data *d, const char *id);
uint32_t promo_rec_data_item(const promo_rec_data *d, const char *id);

/* The training matrix of cutoff as_of for the workspace (purchases before as_of): read from
 * <models>/interactions_<YYYYMMDD>.bin when that file exists and was built from the same
 * transactions (rows and last purchase time of d), else built from d and, when s is not
 * NULL, staged into the store's open transaction (or written at once without one). d may be
 * NULL: then an existing file is used unchecked (what promo recommend does: no table load),
 * and PROMO_ENOTFOUND without one. */
int promo_rec_data_workspace(promo_store *s,
                             const promo_panel *d,
                             int64_t as_of,
                             promo_rec_data *out /* OUT */);
/* The path that function uses (a new string, promo_free). */
char *promo_rec_data_path(promo_store *s, int64_t as_of);

/* Random split of each row's entries: an entry goes to test with probability test_frac
 * (counter-based RNG per entry: the split depends on seed and the entry only). Both outputs
 * have m's shape; ids are copied. */
int promo_rec_data_split_random(const promo_rec_data *m,
                                double test_frac,
                                uint64_t seed,
                                promo_rec_data *train /* OUT */,
                                promo_rec_data *test /* OUT */);

/* ======================================================================= file format === */

/* A recommender file: little-endian binary,
 *   "PROMOREC" (8 bytes) | u32 version (PROMO_REC_FILE_VERSION) | u32 n_sections |
 *   u64 payload bytes | kind: 32 bytes, NUL-padded |
 *   n_sections x { name: 32 bytes NUL-padded | u32 dtype | u32 pad | u64 rows | u64 cols |
 *                  u64 offset (from the payload start, 8-aligned) } |
 *   payload | u64 checksum (FNV-1a 64 of every byte before it).
 * The checksum, the sizes and the offsets are verified before anything is read, so a truncated
 * or damaged file is refused (PROMO_EINPUT naming the path) instead of half-loaded; another
 * version is PROMO_EVERSION. Sections: typed 2-D arrays (rows x cols) or raw bytes (ids as
 * NUL-separated strings). */
#define PROMO_REC_FILE_VERSION 1
#define PROMO_REC_NAME_MAX     32 /* bytes of a kind or section name, NUL included */

typedef enum promo_rec_dtype {
    PROMO_REC_F32 = 0,   /* float */
    PROMO_REC_U32 = 1,   /* uint32_t */
    PROMO_REC_U64 = 2,   /* uint64_t */
    PROMO_REC_I64 = 3,   /* int64_t */
    PROMO_REC_BYTES = 4, /* raw bytes (rows = 1, cols = length) */
    PROMO_REC_F64 = 5,   /* double */
    PROMO_REC_DTYPE_COUNT
} promo_rec_dtype;

typedef struct promo_rec_file promo_rec_file;

/* An empty file of kind `kind` ("als", "bpr", "knn", "interactions", ...). */
int promo_rec_file_new(const char *kind, promo_rec_file **out /* OUT */);
void promo_rec_file_free(promo_rec_file *f); /* NULL-safe */
const char *promo_rec_file_kind(const promo_rec_file *f);

/* Add a section. The bytes are copied. A name used twice is PROMO_EUSAGE. */
int promo_rec_file_add(promo_rec_file *f,
                       const char *name,
                       promo_rec_dtype dtype,
                       uint64_t rows,
                       uint64_t cols,
                       const void *data);
/* Convenience: an int64 / a double scalar (1 x 1), a NUL-terminated string (BYTES), a
 * dictionary's keys (BYTES, NUL-separated, in index order). */
int promo_rec_file_add_i64(promo_rec_file *f, const char *name, int64_t v);
int promo_rec_file_add_f64(promo_rec_file *f, const char *name, double v);
int promo_rec_file_add_str(promo_rec_file *f, const char *name, const char *s);
int promo_rec_file_add_dict(promo_rec_file *f, const char *name, const promo_dict *d);

/* Section `name` with its shape; NULL (and PROMO_ENOTFOUND / PROMO_EINPUT in the message)
 * when absent or of another dtype. Borrowed: valid until f is freed. Data are 8-aligned. */
const void *promo_rec_file_get(const promo_rec_file *f,
                               const char *name,
                               promo_rec_dtype dtype,
                               uint64_t *rows /* OUT, may be NULL */,
                               uint64_t *cols /* OUT, may be NULL */);
/* Scalars and strings as added above; a missing/mistyped section is PROMO_EINPUT naming it. */
int promo_rec_file_get_i64(const promo_rec_file *f, const char *name, int64_t *out /* OUT */);
int promo_rec_file_get_f64(const promo_rec_file *f, const char *name, double *out /* OUT */);
/* A new dictionary of the NUL-separated keys of section name (promo_dict_free). */
int promo_rec_file_get_dict(const promo_rec_file *f, const char *name, promo_dict **out /* OUT */);

/* Serialise (a new buffer, promo_free) / parse bytes (path only names the source in
 * messages). */
int promo_rec_file_bytes(const promo_rec_file *f, void **data /* OUT */, size_t *n /* OUT */);
int promo_rec_file_parse(const void *data, size_t n, const char *path, promo_rec_file **out);
/* Read and parse a file; write one atomically (promo_atomic_write) or stage it into the
 * store's open transaction (promo_store_stage_file; s NULL = write at once). */
int promo_rec_file_load(const char *path, promo_rec_file **out /* OUT */);
int promo_rec_file_save(const promo_rec_file *f, promo_store *s, const char *path);

/* The interaction matrix as a file (kind "interactions") and back. */
int promo_rec_data_to_file(const promo_rec_data *d, promo_rec_file **out /* OUT */);
int promo_rec_data_from_file(const promo_rec_file *f, promo_rec_data *out /* OUT */);

/* =================================================================== the model handle === */

/* A factor model's scores are U V^T (+ item_bias): what top-K multiplies in blocks. */
typedef struct promo_rec_factors {
    uint32_t n_users, n_items, k; /* shapes */
    const float *U;               /* n_users x k, row-major (user factors) */
    const float *V;               /* n_items x k, row-major (item factors) */
    const float *item_bias;       /* n_items, or NULL */
} promo_rec_factors;

/* What a recommender implements. `impl` is the model's own state. */
typedef struct promo_rec_ops {
    const char *kind; /* "als", "bpr", "knn", ... (the file kind and the --model name) */
    /* Scores of every item (n_items) for training row `user`. Required. Thread-safe. */
    int (*score_user)(const void *impl, uint32_t user, float *scores /* OUT: n_items */);
    /* Scores of every item for a customer known only by a few purchases (items[i] bought
     * values[i] times; items distinct): the fold-in / cold start, no retraining. Required
     * (a model that cannot may return PROMO_EUSAGE with a message). Thread-safe. */
    int (*score_history)(const void *impl,
                         const uint32_t *items,
                         const float *values,
                         size_t n,
                         float *scores /* OUT: n_items */);
    /* The factor view, when the model is a dot product (then top-K and the reverse query use
     * BLAS); NULL otherwise. */
    int (*factors)(const void *impl, promo_rec_factors *out /* OUT */);
    /* Add the model's sections to f (the handle adds the common ones). Required. */
    int (*save)(const void *impl, promo_rec_file *f);
    void (*free)(void *impl);
} promo_rec_ops;

typedef struct promo_rec_model promo_rec_model;

/* Wrap a model's state into a handle. The handle takes ownership of impl (freed with
 * ops->free, also on failure) and copies train's shape, window and id dictionaries (the
 * names top-K prints). ops must outlive the handle (a static table). */
int promo_rec_model_new(const promo_rec_ops *ops,
                        void *impl /* consumed */,
                        const promo_rec_data *train,
                        promo_rec_model **out /* OUT */);
void promo_rec_model_free(promo_rec_model *m); /* NULL-safe */

const char *promo_rec_model_kind(const promo_rec_model *m);
uint32_t promo_rec_model_n_users(const promo_rec_model *m);
uint32_t promo_rec_model_n_items(const promo_rec_model *m);
/* The training window's end (the cutoff the model learnt before). */
int64_t promo_rec_model_as_of(const promo_rec_model *m);
/* Id dictionaries (borrowed; NULL when the training matrix had none). */
const promo_dict *promo_rec_model_customers(const promo_rec_model *m);
const promo_dict *promo_rec_model_items(const promo_rec_model *m);
/* The model's state and ops, for its own module's accessors (e.g. promo_als_user_vector). */
const void *promo_rec_model_impl(const promo_rec_model *m);
const promo_rec_ops *promo_rec_model_ops(const promo_rec_model *m);

/* Dispatch to ops. */
int promo_rec_model_score_user(const promo_rec_model *m, uint32_t user, float *scores /* OUT */);
int promo_rec_model_score_history(const promo_rec_model *m,
                                  const uint32_t *items,
                                  const float *values,
                                  size_t n,
                                  float *scores /* OUT */);

/* Save to a file (kind, the common sections "as_of", "from", "customers", "items",
 * "n_users", "n_items", then the model's); load dispatches on the kind through the
 * registry below. Errors: see the top; an unknown kind is PROMO_ENOTFOUND. */
int promo_rec_model_save(const promo_rec_model *m, promo_store *s, const char *path);
int promo_rec_model_load(const char *path, promo_rec_model **out /* OUT */);
int promo_rec_model_to_file(const promo_rec_model *m, promo_rec_file **out /* OUT */);
int promo_rec_model_from_file(const promo_rec_file *f, promo_rec_model **out /* OUT */);
/* <models>/rec_<kind>.bin (a new string, promo_free). */
char *promo_rec_model_path(promo_store *s, const char *kind);

/* ====================================================================== training ==== */

/* Parameters shared by the recommenders (each reads what it uses; the rest is ignored). */
typedef struct promo_rec_params {
    uint32_t factors;      /* latent factors k (default 64) */
    uint32_t iterations;   /* ALS sweeps / BPR epochs (default ALS 15; BPR: see epochs) */
    uint32_t cg_steps;     /* ALS conjugate-gradient steps per row (default 3); 0 = exact
                              Cholesky solve (slow, for tests) */
    double regularization; /* L2 weight lambda; < 0 (the default) = the model's own default:
                              ALS 30 (tuned on MovieLens 100k, Online Retail and the generated
                              world: bench/RESULTS.md), BPR 0.01 */
    double alpha;          /* ALS confidence c = 1 + alpha * t(r), r = the matrix value
                              (default 2; t: see confidence) */
    int confidence;        /* ALS value transform before alpha: 0 = r as is, 1 (default) =
                              log(1 + r / eps) (Hu-Koren-Volinsky's log scaling, eps 1) */
    uint32_t epochs;       /* BPR: passes over the nnz (default 100) */
    double learning_rate;  /* BPR SGD step (default 0.05) */
    int hogwild;           /* BPR: 1 = lock-free parallel SGD over threads (fast, result
                              depends on scheduling); 0 (default) = deterministic: the same
                              result for any thread count */
    double init_scale;     /* initial factors ~ N(0, init_scale^2) / sqrt(k)... (default 0.1) */
    uint64_t seed;         /* RNG seed (default 1) */
    int n_threads;         /* 0 = OpenMP default */
    int verbose;           /* 1: log the loss per iteration (log.h, info level) */
    const void *extra;     /* model-specific parameters (a model's own struct) or NULL */
} promo_rec_params;

promo_rec_params promo_rec_params_default(void);

/* Fit model `kind` on train (through the registry). Errors: PROMO_ENOTFOUND for an unknown
 * kind, the model's own. */
int promo_rec_fit(const char *kind,
                  const promo_rec_data *train,
                  const promo_rec_params *p,
                  promo_rec_model **out /* OUT */);

/* The registry: one row per model kind (src/models/rec_registry.c; a new recommender adds its
 * row there). fit may be NULL for kinds that cannot be trained from a matrix alone. */
typedef struct promo_rec_kind {
    const char *kind;
    int (*fit)(const promo_rec_data *train, const promo_rec_params *p, promo_rec_model **out);
    int (*load)(const promo_rec_file *f, const promo_rec_data *shape, promo_rec_model **out);
    const char *summary; /* one line for --help */
} promo_rec_kind;
extern const promo_rec_kind promo_rec_kinds[]; /* ended by {NULL} */
const promo_rec_kind *promo_rec_kind_find(const char *kind);

/* ---- implicit ALS ----
 * Minimises sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + lambda (|x_u|^2 + |y_i|^2), p = 1 for
 * observed entries, c_ui = 1 + alpha * r_ui. Each half-sweep solves every row's k x k system
 * (Y^T Y + Y^T (C_u - I) Y + lambda I) x_u = Y^T C_u p_u by cg_steps of conjugate gradient
 * warm-started from the previous x_u; Y^T Y is computed once per half-sweep. */
int promo_als_fit(const promo_rec_data *train,
                  const promo_rec_params *p,
                  promo_rec_model **out /* OUT */);
/* The training loss (the objective above, over every cell) of an ALS model on train, for
 * tests and the verbose log. */
int promo_als_loss(const promo_rec_model *m,
                   const promo_rec_data *train,
                   const promo_rec_params *p,
                   double *out /* OUT */);
/* Fold-in: the user vector a customer with purchases (items, values) would get from one
 * exact least-squares step against the fixed item factors (k floats into x). */
int promo_als_fold_in(const promo_rec_model *m,
                      const uint32_t *items,
                      const float *values,
                      size_t n,
                      float *x /* OUT: k */);

/* ---- BPR ----
 * Maximises sum over (u, i bought, j not bought) of ln sigma(x_u . y_i + b_i - x_u . y_j - b_j)
 * - lambda |theta|^2 by SGD over sampled triples (epochs x nnz samples). Deterministic mode:
 * each epoch's samples come from per-block RNG streams and blocks are applied in a fixed
 * order; hogwild: threads update shared factors without locks (Recht et al. 2011). */
int promo_bpr_fit(const promo_rec_data *train,
                  const promo_rec_params *p,
                  promo_rec_model **out /* OUT */);
/* Fold-in: the user vector for purchases (items, values) by a few SGD epochs of BPR on that
 * one user against the fixed item factors (deterministic, seeded by the items). */
int promo_bpr_fold_in(const promo_rec_model *m,
                      const uint32_t *items,
                      const float *values,
                      size_t n,
                      float *x /* OUT: k */);

/* ---- popularity (the baseline) ----
 * Every customer gets the items by number of buyers in train (ties by index). */
int promo_rec_popularity_fit(const promo_rec_data *train,
                             const promo_rec_params *p,
                             promo_rec_model **out /* OUT */);

/* ======================================================================= queries ===== */

typedef struct promo_rec_query {
    size_t k;                 /* list length (default 10) */
    const promo_csr *history; /* purchases per user (rows aligned with the model's users,
                                 columns with its items), for exclusion; NULL = none */
    int exclude_bought;       /* 1 (default): items in the user's history row are not
                                 recommended; reverse query: customers who bought the item
                                 are not returned */
    const uint8_t *item_mask; /* n_items: 0 = never recommend; NULL = all items */
    int n_threads;            /* 0 = OpenMP default */
} promo_rec_query;

promo_rec_query promo_rec_query_default(void);

/* Top-K lists: row r is user users[r], its items items[r*k .. r*k+k) by decreasing score
 * (ties by item index), PROMO_REC_NONE (score -inf) padding when fewer candidates. */
typedef struct promo_rec_topk {
    size_t n, k;     /* lists, length */
    uint32_t *users; /* n user rows */
    uint32_t *items; /* n x k */
    float *scores;   /* n x k */
} promo_rec_topk;

void promo_rec_topk_free(promo_rec_topk *t); /* NULL-safe */

/* Top-K for the given users (users NULL = every user, n ignored). Factor models: blocks of
 * users x all items by SGEMM, then a partial selection per row; others: score_user per user.
 * Results do not depend on the thread count. */
int promo_rec_topk_users(const promo_rec_model *m,
                         const promo_rec_query *q,
                         const uint32_t *users,
                         size_t n,
                         promo_rec_topk *out /* OUT */);
int promo_rec_topk_all(const promo_rec_model *m,
                       const promo_rec_query *q,
                       promo_rec_topk *out /* OUT */);
/* Top-K for a customer not in the model (or with new purchases): score_history, excluding
 * the given items when q->exclude_bought (q->history is not used). items_out/scores_out
 * hold q->k entries; *n_out = how many are real. */
int promo_rec_topk_history(const promo_rec_model *m,
                           const promo_rec_query *q,
                           const uint32_t *items,
                           const float *values,
                           size_t n,
                           uint32_t *items_out /* OUT: q->k */,
                           float *scores_out /* OUT: q->k */,
                           size_t *n_out /* OUT */);
/* The reverse query: the q->k users with the highest score for `item` (ties by user index),
 * skipping users who bought it when q->exclude_bought and q->history is given. */
int promo_rec_top_customers(const promo_rec_model *m,
                            const promo_rec_query *q,
                            uint32_t item,
                            uint32_t *users_out /* OUT: q->k */,
                            float *scores_out /* OUT: q->k */,
                            size_t *n_out /* OUT */);
/* Every user's score for one item (n_users floats), e.g. as a targeting score. */
int promo_rec_item_scores(const promo_rec_model *m,
                          uint32_t item,
                          int n_threads,
                          float *scores /* OUT: n_users */);

/* ==================================================================== evaluation ===== */

/* Ranking metrics at K over the evaluated users (those with at least one relevant item),
 * averaged per user: Precision@K = hits / K, Recall@K = hits / |relevant|, NDCG@K (binary
 * gains, log2 discount, ideal = min(K, |relevant|) hits first), MAP@K = sum over hits at rank
 * r of precision@r, divided by min(K, |relevant|); hit_rate = share of users with >= 1 hit;
 * coverage = distinct items recommended to the evaluated users / n_items. */
typedef struct promo_rec_metrics {
    size_t k;         /* list length */
    size_t n_users;   /* evaluated users */
    double precision; /* mean Precision@K */
    double recall;    /* mean Recall@K */
    double ndcg;      /* mean NDCG@K */
    double map;       /* mean MAP@K */
    double hit_rate;  /* users with a hit / n_users */
    double coverage;  /* catalogue coverage */
} promo_rec_metrics;

/* One user's figures: ranked (n_ranked items, best first, PROMO_REC_NONE ends the list early)
 * against the sorted distinct relevant items. Any OUT may be NULL. */
void promo_rec_metrics_user(const uint32_t *ranked,
                            size_t k,
                            const uint32_t *relevant,
                            size_t n_relevant,
                            double *precision /* OUT */,
                            double *recall /* OUT */,
                            double *ndcg /* OUT */,
                            double *ap /* OUT */);

/* Evaluate m on a held-out matrix: for every user with a relevant item, the top q->k list
 * (excluding train items when q->exclude_bought; q->history is set to &train->m for that),
 * relevant = the user's test items (minus their train items when q->exclude_bought: only new
 * purchases count). train and test must have the model's shape. */
int promo_rec_evaluate(const promo_rec_model *m,
                       const promo_rec_data *train,
                       const promo_rec_data *test,
                       const promo_rec_query *q,
                       promo_rec_metrics *out /* OUT */);

/* 1 if x is among the n ascending values of sorted (binary search). */
int promo_rec_sorted_contains(const uint32_t *sorted, uint64_t n, uint32_t x);

/* Add a model's figures as evaluation rows (report.h): task "recommend", target as given
 * (e.g. "all"), metrics precision_at_K, recall_at_K, ndcg_at_K, map_at_K, hit_rate_at_K,
 * coverage_at_K, n_users. */
int promo_report_rows_add_recommend(promo_report_rows *r,
                                    const char *target,
                                    const char *model,
                                    const promo_rec_metrics *m);

/* ============================================================ workspace training ===== */

/* promo train --model KIND (any registered kind): load the panel, take (and store) the
 * interaction matrix before as_of, fit, evaluate beside popularity on [as_of, as_of +
 * horizon) when that window holds purchases, and commit the model file
 * (<models>/rec_<kind>.bin), the matrix and the evaluation rows as one unit. */
typedef struct promo_rec_train_params {
    const char *kind;       /* "als", "bpr", ... */
    int64_t as_of;          /* cutoff; 0 = the last purchase day + 1 day - horizon */
    double horizon_days;    /* held-out window (default 30) */
    size_t k;               /* evaluation K (default 20) */
    int exclude_bought;     /* evaluation: only new items count (default 1) */
    const char *events;     /* "view=0.1,cart=0.5": the model also learns from these events
                               before the cutoff (NULL: purchases only); the evaluation and
                               the exclusion of bought products stay on purchases */
    promo_rec_params model; /* the model's parameters */
} promo_rec_train_params;

promo_rec_train_params promo_rec_train_params_default(void);

typedef struct promo_rec_train_report {
    char kind[PROMO_REC_NAME_MAX];
    int64_t as_of; /* the cutoff */
    double horizon_days;
    uint32_t n_users, n_items;    /* matrix shape */
    uint64_t nnz;                 /* training entries */
    uint64_t n_events;            /* events the model learnt from besides the purchases */
    double train_seconds;         /* fit wall time */
    int evaluated;                /* 1 if the held-out window had purchases */
    promo_rec_metrics model;      /* the model's figures */
    promo_rec_metrics popularity; /* the baseline's */
    char model_path[512];         /* where the model was saved */
} promo_rec_train_report;

int promo_rec_train_workspace(promo_store *s,
                              const promo_rec_train_params *p,
                              promo_rec_train_report *out /* OUT */);

/* The split every workspace trainer (promo train --model KIND, the hybrid's) learns and is
 * evaluated on: the panel, the cutoff, the purchases before it (the matrix stored in the
 * workspace) and the held-out window after it. */
typedef struct promo_rec_split {
    promo_panel panel;
    int64_t as_of;        /* the cutoff */
    double horizon_days;  /* the held-out window's length */
    promo_rec_data train; /* purchases before as_of */
    promo_rec_data test;  /* purchases in [as_of, as_of + horizon) */
} promo_rec_split;

/* Load the panel, resolve the cutoff (as_of 0: the last purchase day + 1 day - horizon),
 * begin a store transaction and build both matrices (the training one stored inside the
 * transaction). On success the transaction is open: the caller commits or rolls back, then
 * calls promo_rec_split_free. On failure nothing is left open or allocated. `who` names the
 * caller in messages ("recommend", "hybrid"). A horizon outside (0, 3650] days is
 * PROMO_EUSAGE. */
int promo_rec_split_open(promo_store *s,
                         int64_t as_of,
                         double horizon_days,
                         int n_threads,
                         const char *who,
                         promo_rec_split *out /* OUT */);
void promo_rec_split_free(promo_rec_split *sp); /* NULL-safe, idempotent */

/* Fill r's window and shape (as_of, horizon_days, n_users, n_items, nnz) from sp, and when
 * the held-out window has purchases evaluate m and popularity (fitted on sp->train) at q:
 * r->model, r->popularity, r->evaluated. The popularity model goes to *pop when pop is not
 * NULL (the caller frees it; fitted also when nothing was evaluated). */
int promo_rec_split_evaluate(const promo_rec_split *sp,
                             const promo_rec_model *m,
                             const promo_rec_query *q,
                             promo_rec_train_report *r /* IN/OUT */,
                             promo_rec_model **pop /* OUT, may be NULL */);

/* The evaluation rows of a training (task "recommend", target r->kind): the run's as_of,
 * horizon_days, n_users, n_items, nnz and model_path (model ""), the model's train_seconds,
 * and when evaluated the model's and popularity's figures (promo_report_rows_add_recommend). */
int promo_rec_rows_add_train(promo_report_rows *rows, const promo_rec_train_report *r);

/* What `promo evaluate` prints of the recommenders: one per trained kind, read back from the
 * stored rows. */
typedef struct promo_rec_evaluation {
    promo_rec_train_report r;      /* figures not stored (an older workspace) are 0 / "" */
    size_t k_cold;                 /* hybrid: K of the cold-start figures; 0 when none */
    double cold_user_precision[2]; /* hybrid: model, popularity; NAN when not stored */
    double cold_item_precision[2]; /* hybrid: model, most active customers; NAN likewise */
} promo_rec_evaluation;

/* Every recommender evaluation in the workspace (table evaluations, task "recommend"), in the
 * order first stored; *out = NULL, *n = 0 when there is none. *out: promo_free. */
int promo_rec_evaluations_read(promo_store *s,
                               promo_rec_evaluation **out /* OUT */,
                               size_t *n /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
