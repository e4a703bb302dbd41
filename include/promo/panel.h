/* promo/panel.h: the workspace's tables read once, as model rows.
 *
 * The panel is what every model learns from. Loaded once per command (promo_panel_load), it
 * holds the canonical tables and a per-customer purchase index (one entry per (customer,
 * item, order), sorted by item then time; one keyed by product, one by category). From it:
 *   - a cut (promo_panel_cut_build): the customer features of features.h as of a cutoff,
 *     plus item popularity, aligned with the customers known at that cutoff;
 *   - labelled rows (promo_panel_rows_target, promo_panel_rows_sampled): one row per customer
 *     ("any") or per customer x item pair (product and category targets), labels from
 *     [cutoff, cutoff + horizon), with weighted negative sampling for pair models;
 *   - a design matrix for any rows (promo_panel_rows_matrix) in a named column layout
 *     (promo_panel_layout), the same for training, evaluation and scoring;
 *   - promotion outcomes (promo_panel_exposure_rows, for uplift): one row per exposure
 *     (promotion x customer) with its arm, its response (converted, revenue) and the cutoff
 *     its features are taken at; promo_panel_exposure_matrix gives the customer features as
 *     of each row's cutoff, computed once per distinct cutoff.
 * Everything windowed is two binary searches in the index, so any number of cutoffs reuse
 * one load. promo_panel_load_tables reads the tables without the purchase index, for what
 * needs only them (promo features, the exposure rows).
 *
 * Usage:
 *   promo_panel d;
 *   if (promo_panel_load(store, 0, &d)) fprintf(stderr, "%s\n", promo_last_error());
 *   promo_panel_target t;  promo_panel_target_parse(&d, "product:PROD00001", &t);
 *   promo_panel_cut c;     promo_panel_cut_build(&d, as_of, &c);
 *   promo_panel_rows r;    promo_panel_rows_target(&d, &c, t, 30, &r);
 *   promo_panel_layout l;  promo_panel_layout_make(t.kind, c.f, &l);
 *   float *X = promo_mallocn(r.n * l.n, sizeof *X);
 *   promo_panel_rows_matrix(&d, &c, &l, &r, X);
 *   ...; promo_free(X); promo_panel_layout_free(&l); promo_panel_rows_free(&r);
 *   promo_panel_cut_free(&c); promo_panel_free(&d);
 *
 * Promotion outcomes (uplift):
 *   promo_panel_exposures e;  promo_panel_exposure_rows(&d, NULL, &e);  // every promotion
 *   promo_panel_layout l = {0};  float *X = NULL;
 *   promo_panel_exposure_matrix(&d, &e, NULL, &l, &X);   // e.n x l.n, features as of e.cutoff[i]
 *   // treatment e.arm[i] (0 = control when e.has_control), outcome e.y[i], e.revenue[i]
 *   promo_free(X); promo_panel_layout_free(&l); promo_panel_exposures_free(&e);
 *
 * Ownership: the structs below are the caller's (on its stack); their arrays are owned by them
 * and freed by the matching _free (NULL-safe on zeroed structs). A cut borrows its panel, rows
 * borrow nothing. Thread-safety: a loaded panel and a built cut are read-only; the store
 * follows store.h. Results do not depend on the thread count (per-customer RNG streams).
 */
#ifndef PROMO_PANEL_H
#define PROMO_PANEL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/features.h>
#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

#define PROMO_PANEL_NONE UINT32_MAX
#define PROMO_PANEL_DAY  ((int64_t)86400) /* seconds */

/* Target kinds; also the model kinds (one model serves every target of a kind). */
typedef enum promo_panel_kind {
    PROMO_PANEL_ANY = 0,
    PROMO_PANEL_PRODUCT = 1,
    PROMO_PANEL_CATEGORY = 2
} promo_panel_kind;

typedef struct promo_panel_target {
    promo_panel_kind kind;
    uint32_t item; /* products-table row (PRODUCT) or category index (CATEGORY); else NONE */
} promo_panel_target;

/* Purchases indexed per customer: for customer key k, entries ptr[k] .. ptr[k+1] sorted by
 * (item, ts), one entry per (item, order). */
typedef struct promo_panel_index {
    uint64_t *ptr;  /* n_keys + 1 */
    uint32_t *item; /* product row or category index */
    int64_t *ts;    /* seconds */
} promo_panel_index;

/* The workspace's tables and what is derived once from them. */
typedef struct promo_panel {
    promo_table *customers, *products, *transactions, *stores, *promotions, *exposures,
        *responses;                /* owned; NULL when absent (only products and
                                      transactions are required) */
    promo_feature_input in;        /* borrowed views of the tables above */
    uint32_t n_keys;               /* distinct transactions.customer_id strings */
    const promo_column *tx_cust;   /* transactions.customer_id (its dict gives keys) */
    uint32_t n_products;           /* products-table rows */
    uint32_t n_cats;               /* categories (products.category values + "unknown") */
    char **cat_names;              /* n_cats names (owned) */
    uint32_t *prod_cat;            /* n_products category index */
    const promo_column *prod_id;   /* products.product_id */
    const promo_column *prod_name; /* products.name or NULL */
    promo_panel_index by_prod;     /* per customer, by product */
    promo_panel_index by_cat;      /* per customer, by category */
    int64_t min_ts, max_ts;        /* purchase lines' range */
    int n_threads;
} promo_panel;

/* Read the workspace's tables and build the purchase index. Errors: PROMO_ENOTFOUND without
 * products or transactions, PROMO_EINPUT for missing columns or no purchase line, the store's
 * errors, PROMO_ENOMEM. */
int promo_panel_load(promo_store *s, int n_threads, promo_panel *d /* OUT */);
/* The tables only (the table pointers and d->in; everything else zero): enough for
 * promo_features_compute(&d->in, ...) and the exposure rows, not for cuts or purchase rows. */
int promo_panel_load_tables(promo_store *s, int n_threads, promo_panel *d /* OUT */);
/* What `promo features` (and its labels) needs: like promo_panel_load_tables, but
 * transactions, exposures, responses and customers hold only the columns src/features/ reads
 * (products, stores, promotions whole), so promo_features_compute and promo_features_labels
 * give bit for bit what they give on the full load. Every row is read: the store checks every
 * row as read_table does (rows at or after a cutoff are not skipped, which would leave them
 * unchecked). Errors as promo_panel_load_tables. */
int promo_panel_load_for_features(promo_store *s, int n_threads, promo_panel *d /* OUT */);
void promo_panel_free(promo_panel *d);

/* The key nearest to s among keys[0..n_keys) (NULL entries skipped) for "did you mean"
 * messages: an equal one ignoring case first, else the smallest edit distance up to
 * max(2, len/3); "" when none is that near. Into out (n bytes). */
void promo_panel_nearest(
    const char *const *keys, size_t n_keys, const char *s, char *out, size_t n);

/* Parse "any" / "product:ID" / "category:NAME" against d; an unknown product or category is
 * PROMO_ENOTFOUND with the nearest known one suggested. */
int promo_panel_target_parse(const promo_panel *d,
                             const char *s,
                             promo_panel_target *out /* OUT */);

/* Features of one cutoff plus the maps the row builders need. */
typedef struct promo_panel_cut {
    int64_t as_of;
    promo_features *f;              /* owned */
    uint32_t *key;                  /* f->n_customers: customer key (transactions dict) or NONE */
    uint32_t *fcat;                 /* d->n_cats: column of f->category_share, or NONE */
    float *item_pop30, *item_pop90; /* per item (product or category): orders, all customers */
    float *cat_pop30, *cat_pop90;   /* per category: orders in the last 30 / 90 days */
} promo_panel_cut;

int promo_panel_cut_build(const promo_panel *d, int64_t as_of, promo_panel_cut *out /* OUT */);
void promo_panel_cut_free(promo_panel_cut *c);

/* The model's column layout for a kind: customer feature names (those of the first cut
 * seen), then the kind's pair and item features. */
typedef struct promo_panel_layout {
    promo_panel_kind kind;
    size_t n_cust; /* customer feature columns */
    size_t n;      /* all columns */
    char **names;  /* n names (owned) */
} promo_panel_layout;

int promo_panel_layout_make(promo_panel_kind kind,
                            const promo_features *f,
                            promo_panel_layout *out /* OUT */);
/* From a saved comma-separated list. */
int promo_panel_layout_parse(promo_panel_kind kind,
                             const char *names_csv,
                             promo_panel_layout *out /* OUT */);
/* Comma-separated names (promo_free). */
char *promo_panel_layout_join(const promo_panel_layout *l);
void promo_panel_layout_free(promo_panel_layout *l);

/* Rows to build: customer row `cust` of the cut, item (ignored for ANY), weight, label. */
typedef struct promo_panel_rows {
    size_t n;
    uint32_t *cust;
    uint32_t *item;
    float *w;
    float *y;
} promo_panel_rows;

void promo_panel_rows_free(promo_panel_rows *r);

/* Every customer of the cut for one target, labels from [as_of, as_of + horizon). */
int promo_panel_rows_target(const promo_panel *d,
                            const promo_panel_cut *c,
                            promo_panel_target t,
                            double horizon_days,
                            promo_panel_rows *out /* OUT */);
/* Training/validation rows of a kind: ANY = every customer; pairs = positives, items bought
 * before, and sampled other items (rate so that about neg_per_pos per positive; weight 1/r).
 * items_mask (may be NULL = all) restricts the candidate items. stream separates the RNG
 * streams of windows. */
int promo_panel_rows_sampled(const promo_panel *d,
                             const promo_panel_cut *c,
                             promo_panel_kind kind,
                             double horizon_days,
                             const uint8_t *items_mask,
                             double neg_per_pos,
                             uint64_t seed,
                             uint64_t stream,
                             promo_panel_rows *out /* OUT */);

/* Fill X (rows->n x l->n float32, row-major) for the rows of cut c. */
int promo_panel_rows_matrix(const promo_panel *d,
                            const promo_panel_cut *c,
                            const promo_panel_layout *l,
                            const promo_panel_rows *r,
                            float *X /* OUT */);

/* Baseline heuristic scores (>= 0) for rows: popularity = past orders of the row's item
 * (ANY: all orders) by the customer; rfm = r + f + m scores with a recency tie-break. */
void promo_panel_rows_popularity(const promo_panel *d,
                                 const promo_panel_cut *c,
                                 promo_panel_kind kind,
                                 const promo_panel_rows *r,
                                 double *out /* OUT */);
void promo_panel_rows_rfm(const promo_panel_cut *c,
                          const promo_panel_rows *r,
                          double *out /* OUT */);

/* ------------------------------------------------------------ promotion outcomes ---- */

#define PROMO_PANEL_NO_TIME INT64_MIN /* a row without an exposure time or a cutoff */

/* Where a row's features are taken. Either way features read only rows strictly before the
 * cutoff (features.h), and the cutoff is never after the exposure, so nothing the exposure
 * caused leaks into them. */
typedef enum promo_panel_cutoff {
    PROMO_PANEL_CUT_EXPOSURE = 0, /* the exposure's ts */
    PROMO_PANEL_CUT_START = 1,    /* its promotion's start (the exposure's ts when the
                                     promotion or its start is unknown, or is later) */
} promo_panel_cutoff;

typedef struct promo_panel_exposure_params {
    const char *promotion_id; /* only this promotion's exposures; NULL = every promotion */
    promo_panel_cutoff cutoff;
    int64_t bucket_s; /* cutoffs floored to a multiple of this many seconds, so that rows share
                         feature computations (PROMO_PANEL_DAY: midnight UTC); 0 = exact */
} promo_panel_exposure_params;

/* Every promotion, cutoff at the exposure, floored to the day. */
promo_panel_exposure_params promo_panel_exposure_params_default(void);

/* One row per selected exposures-table row, in table order. Arms: "control" is arm 0 when
 * present, the other arm names follow in the arm column's dictionary order; a null or absent
 * arm is "treatment". The outcome is the response of the row's (promotion, customer): converted
 * if any of its responses has converted > 0, revenue their sum (null = 0); no response = 0, 0. */
typedef struct promo_panel_exposures {
    size_t n;
    uint32_t *erow;   /* exposures-table row */
    uint32_t *promo;  /* promotions-table row, or PROMO_PANEL_NONE */
    uint32_t *arm;    /* index into arm_names */
    float *y;         /* converted, 0/1 */
    double *revenue;  /* response revenue */
    int64_t *ts;      /* exposure time (seconds), PROMO_PANEL_NO_TIME if null */
    int64_t *cutoff;  /* features cutoff (seconds), PROMO_PANEL_NO_TIME if none */
    uint32_t n_arms;  /* arms among the rows */
    char **arm_names; /* n_arms names (owned) */
    int has_control;  /* arm 0 is "control" */
} promo_panel_exposures;

/* The exposure rows of d (loaded with either loader). p may be NULL (defaults). Errors:
 * PROMO_ENOTFOUND without exposures or responses tables or for an unknown promotion_id,
 * PROMO_EINPUT for missing columns (promotion_id, customer_id in both; exposures.ts;
 * responses.converted), PROMO_ENOMEM. */
int promo_panel_exposure_rows(const promo_panel *d,
                              const promo_panel_exposure_params *p,
                              promo_panel_exposures *out /* OUT */);
void promo_panel_exposures_free(promo_panel_exposures *r);

/* Customer features of each row as of its cutoff: X (r->n x l->n float32, row-major, promo_free)
 * in layout l (kind ANY). l is IN/OUT: a zeroed l is made from the first cut's feature names
 * (the caller frees it); a given one (e.g. a saved model's) is followed by name. Rows whose
 * customer is not known at the cutoff, or without a cutoff, are NaN. fp: feature parameters
 * (NULL = defaults with d's thread count; as_of and products are ignored). Cost: one
 * promo_features_compute per distinct cutoff, in increasing order (the generator's exposures
 * fall on their promotion's start day, so day buckets give one per promotion; fp->clv = 0
 * skips the CLV fits, a large share of each). Errors: those of promo_features_compute. */
int promo_panel_exposure_matrix(const promo_panel *d,
                                const promo_panel_exposures *r,
                                const promo_feature_params *fp,
                                promo_panel_layout *l /* IN/OUT */,
                                float **X /* OUT */);

/* ------------------------------------------------------------ stored features ---- */

/* `promo features` stores the customer features of a cutoff twice: as the table
 * features_customers (for SQL and export) and as a matrix file made to be mapped and used in
 * place, <ws>/models/features_customers.bin (float32 rows, ids, segments; staged in the same
 * transaction), with a fingerprint of what they were computed from (meta
 * PROMO_PANEL_FEATURES_SOURCE, also in the file's header). A reader takes them instead of
 * recomputing only when they are provably what it would compute:
 *   - the workspace's data version (store.h: it changes in every transaction that writes or
 *     appends to a canonical table, ingest --append included) is the one read before the
 *     tables were loaded, so no table has changed since, and the store records the file as
 *     made from the current data;
 *   - the same feature code: PROMO_PANEL_FEATURES_CODE, which whoever changes what
 *     src/features/ computes for X (a column, a definition, a default) must change, so that
 *     features stored by the old code are not taken for the new one's (an executable's build
 *     id would do it without the discipline, but the library in another executable, a test
 *     runner or a server, could then never read what the CLI stored);
 *   - the same feature parameters (those that change X: half-life, priors, CLV on/off and
 *     its fit parameters, category columns) and the same cutoff (the caller compares as_of);
 *   - the file's header carries the same fingerprint and its sizes add up.
 * Else the reader computes as before; `why` says which check failed (shown under -v). */
#define PROMO_PANEL_FEATURES_SOURCE "features.source"
#define PROMO_PANEL_FEATURES_CODE   "features-2026-12-05a"

/* The max ts of d's purchase lines (promo_panel_load's d->max_ts) on tables loaded any way
 * (promo_panel_load_for_features included); INT64_MIN when there is none. */
int64_t promo_panel_purchase_max_ts(const promo_panel *d);

/* The fingerprint to store with features f computed with fp (fp->as_of their cutoff) from
 * the tables of d, read while the data version was data_version (promo_store_meta_get
 * "data.version" before loading d). uplift_cutoff: promo_uplift_ws_default_as_of(d), kept
 * so that the uplift scorer's default cutoff needs no table. New string (promo_free), NULL
 * on ENOMEM. */
char *promo_panel_stored_source(const char *data_version,
                                const promo_feature_params *fp,
                                const promo_panel *d,
                                const promo_features *f,
                                int64_t uplift_cutoff);

/* Stage the matrix file of f with its fingerprint in the store's open transaction, written on
 * a thread of its own while the caller writes the tables (promo_store_stage_parts_async); the
 * caller also sets the meta key to source. f must stay valid and unchanged until done(arg) is
 * called (once: on the writer's thread once the file is written, before this returns if it fails,
 * at the latest by the store's commit, rollback or close); done may free f. */
int promo_panel_stored_write_async(promo_store *s,
                                   const promo_features *f,
                                   const char *source,
                                   void (*done)(void *arg),
                                   void *arg);

/* What the fingerprint says when the stored features are current. */
typedef struct promo_panel_stored {
    int current;           /* 1: every check passed; the figures below are set */
    int64_t as_of;         /* their cutoff */
    int64_t max_ts;        /* the tables' purchase_max_ts (INT64_MIN: none) */
    int64_t uplift_cutoff; /* promo_uplift_ws_default_as_of of the tables */
    uint32_t n_keys;       /* distinct transactions.customer_id strings (panel n_keys) */
    size_t n_customers;    /* rows */
} promo_panel_stored;

/* Check the stored features against the workspace and fp (its as_of ignored): out->current
 * = 1, or 0 with why (n_why bytes) saying why not. Reads the metadata and the file's header
 * only. Errors: the store's (PROMO_EDB); stale or absent features are not an error. */
int promo_panel_stored_check(promo_store *s,
                             const promo_feature_params *fp,
                             promo_panel_stored *out /* OUT */,
                             char *why,
                             size_t n_why);

/* The stored customer features (st current): X, feature names, customer ids, rfm_segment and
 * spend_tier, as_of; nothing else (no interactions, product features, categories or CLV
 * fits: what reads X, the names and the ids can use them, e.g. scoring "any" targets).
 * copy = 1: *out owns everything (promo_features_free), map may be NULL. copy = 0: X, the ids
 * and the segments are read in place from the mapped file (no copy: 0.04 s for 1M customers
 * x 91 features); *map holds the mapping and both are released together by
 * promo_panel_stored_unmap, never by promo_features_free. Errors: PROMO_EIO (file), PROMO_EINPUT
 * (a damaged file), PROMO_ENOMEM. */
typedef struct promo_panel_fmap promo_panel_fmap;
int promo_panel_stored_map(promo_store *s,
                           const promo_panel_stored *st,
                           int copy,
                           promo_features **out /* OUT */,
                           promo_panel_fmap **map /* OUT */);
void promo_panel_stored_unmap(promo_panel_fmap *m, promo_features *f); /* NULL-safe; frees f */

/* The uplift scorer's features and tables (src/engine/uplift_score.c): the customer features
 * as of fp->as_of (0 = promo_uplift_ws_default_as_of of the tables) with fp, and into d the
 * tables the scorer reads beside them. When the stored features are current for that cutoff
 * and fp: them (with map: mapped in place, *map set; without: a copy), and the tables
 * customers (only with customers = 1), products, stores, promotions, and exposures' arm and
 * cost only (d->transactions and d->responses stay NULL). Else promo_panel_load_tables and
 * promo_features_compute, as before (*map stays NULL). The same features bit for bit either way.
 * *f: new; released by promo_panel_stored_unmap(*map, *f) (which is promo_features_free when *map
 * is NULL); d: promo_panel_free. */
int promo_panel_uplift_features(promo_store *s,
                                const promo_feature_params *fp,
                                promo_panel *d /* OUT */,
                                promo_features **f /* OUT */,
                                promo_panel_fmap **map /* OUT, may be NULL */,
                                int customers);

#ifdef __cplusplus
}
#endif
#endif
